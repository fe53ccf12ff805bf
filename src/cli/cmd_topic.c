/* mlpipe topic: create, list, describe, delete and compact the topics of the
 * embedded event log. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "log/log.h"

static const char usage[] =
    "usage: mlpipe topic create NAME [--partitions N] [--config KEY=VALUE]...\n"
    "       mlpipe topic list\n"
    "       mlpipe topic describe NAME\n"
    "       mlpipe topic delete NAME\n"
    "       mlpipe topic compact NAME\n"
    "\n"
    "Manages the topics of the event log kept in the data directory.\n"
    "\n"
    "  create    creates a topic (NAME: 1 to 249 characters of [A-Za-z0-9._-])\n"
    "  list      prints the topic names, one a line\n"
    "  describe  prints each partition's earliest and latest offsets, bytes and\n"
    "            segment count, then the topic's configuration\n"
    "  delete    deletes a topic, its data and consumer groups' offsets in it\n"
    "  compact   compacts the topic's closed segments now, keeping the latest\n"
    "            record per key (needs cleanup.policy=compact or compact,delete)\n"
    "\n"
    "  --data-dir DIR      the log's directory (default: $MLPIPE_DATA_DIR, else\n"
    "                      ./mlpipe-data); 'create' creates it when missing\n"
    "  --partitions N      create: the number of partitions (default 1)\n"
    "  --config KEY=VALUE  create: a topic setting with Kafka's name and value,\n"
    "                      e.g. cleanup.policy=compact, retention.ms=86400000,\n"
    "                      flush.messages=1 (fsync every batch); repeatable.\n"
    "                      'mlpipe topic describe' lists every key.\n";

static const mp_flag create_flags[] = {
    {"data-dir", 1, 0}, {"partitions", 1, 0}, {"config", 1, 1}, {NULL, 0, 0},
};
static const mp_flag plain_flags[] = {{"data-dir", 1, 0}, {NULL, 0, 0}};

static int do_create(const mp_args *a, const char *cmd, mp_log *log, mp_error *e)
{
    unsigned long parts = 0;
    if (mp_args_has(a, "partitions")) {
        if (mp_args_ulong(a, cmd, "partitions", 0, &parts))
            return MP_EINVAL;
        if (parts < 1 || parts > MP_LOG_MAX_PARTITIONS)
            return mp_error_set(e, MP_EINVAL, "--partitions: %lu is out of range 1..%d", parts,
                                MP_LOG_MAX_PARTITIONS);
    }
    const char *configs[MP_ARGS_MAX_REPEAT];
    size_t n = mp_args_all(a, "config", configs, MP_ARGS_MAX_REPEAT);
    int rc = mp_log_topic_create(log, a->pos[1], (int32_t)parts, configs, n, e);
    if (rc)
        return rc;
    int32_t count = 0;
    if (mp_log_partition_count(log, a->pos[1], &count, NULL) == 0)
        printf("created topic %s with %d partition%s\n", a->pos[1], (int)count, count == 1 ? "" : "s");
    else
        printf("created topic %s\n", a->pos[1]);
    return 0;
}

static int do_list(mp_log *log, mp_error *e)
{
    char **names = NULL;
    size_t n = 0;
    int rc = mp_log_topic_list(log, &names, &n, e);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++)
        printf("%s\n", names[i]);
    mp_log_names_free(names, n);
    return 0;
}

static int do_describe(mp_log *log, const char *name, mp_error *e)
{
    mp_log_topic_info *info = NULL;
    int rc = mp_log_topic_describe(log, name, &info, e);
    if (rc)
        return rc;
    printf("topic: %s\n", info->name);
    printf("partitions: %d\n", (int)info->partitions);
    printf("%9s %14s %14s %16s %9s\n", "partition", "earliest", "latest", "bytes", "segments");
    for (int32_t i = 0; i < info->partitions; i++) {
        const mp_log_partition_info *p = &info->parts[i];
        printf("%9d %14" PRId64 " %14" PRId64 " %16" PRId64 " %9d\n", (int)p->partition, p->earliest,
               p->latest, p->size_bytes, (int)p->segments);
    }
    printf("config:\n");
    size_t nkeys = 0;
    const char *const *keys = mp_log_config_keys(&nkeys);
    for (size_t k = 0; k < nkeys; k++) {
        char v[256];
        if (mp_log_config_get(&info->config, keys[k], v, sizeof v) == 0)
            printf("  %s=%s\n", keys[k], v);
    }
    /* Opening the log (just now, for this command) cut a torn tail: say so,
     * since it means an earlier writer died mid-write. */
    for (int32_t i = 0; i < info->partitions; i++)
        if (info->parts[i].truncated_bytes > 0)
            printf("note: partition %d: %" PRId64 " bytes of a torn or corrupt tail were truncated "
                   "when the log was opened\n",
                   (int)info->parts[i].partition, info->parts[i].truncated_bytes);
    mp_log_topic_info_free(info);
    return 0;
}

int mp_cmd_topic(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "mlpipe topic: expected a subcommand (create, list, describe, delete, compact)\n%s",
                usage);
        return 2;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !strcmp(sub, "help")) {
        fputs(usage, stdout);
        return 0;
    }
    static const char *const subs[] = {"create", "list", "describe", "delete", "compact"};
    size_t which = 5;
    for (size_t i = 0; i < 5; i++)
        if (!strcmp(sub, subs[i]))
            which = i;
    if (which == 5) {
        fprintf(stderr, "mlpipe topic: unknown subcommand '%s' (expected create, list, describe, delete "
                        "or compact)\n%s",
                sub, usage);
        return 2;
    }
    /* Parsed as "topic SUB ..." so that flag errors name the subcommand. */
    char cmd[32];
    snprintf(cmd, sizeof cmd, "topic %s", subs[which]);
    char *sub_argv0 = argv[1];
    argv[1] = cmd;
    mp_args a;
    int rc = mp_args_parse(argc - 1, argv + 1, which == 0 ? create_flags : plain_flags, &a, usage);
    argv[1] = sub_argv0;
    if (rc)
        return rc;
    if (a.help) {
        fputs(usage, stdout);
        return 0;
    }
    size_t want = which == 1 ? 0 : 1;
    if (a.npos != want) {
        fprintf(stderr, "mlpipe %s: %s\n%s", cmd,
                want ? "expected one topic NAME" : "takes no arguments", usage);
        return 2;
    }
    /* a.pos[1] below: shift so pos[1] is NAME for every subcommand. */
    a.pos[1] = want ? a.pos[0] : NULL;
    mp_error e = {0};
    mp_log *log = NULL;
    /* list and describe read, beside a writer if there is one. */
    int mode = which == 0 ? MP_CLI_LOG_CREATE
               : which == 1 || which == 2 ? MP_CLI_LOG_READ_IF_LOCKED
                                          : 0;
    if ((rc = mp_cli_open_log(&a, mode, &log, &e)))
        return mp_cli_fail(cmd, &e);
    switch (which) {
    case 0:
        rc = do_create(&a, cmd, log, &e);
        if (rc && !e.msg[0]) { /* mp_args_ulong already printed it */
            mp_log_close(log, NULL);
            return 2;
        }
        break;
    case 1:
        rc = do_list(log, &e);
        break;
    case 2:
        rc = do_describe(log, a.pos[1], &e);
        break;
    case 3:
        if ((rc = mp_log_topic_delete(log, a.pos[1], &e)) == 0)
            printf("deleted topic %s\n", a.pos[1]);
        break;
    case 4:
        if ((rc = mp_log_compact(log, a.pos[1], &e)) == 0)
            printf("compacted topic %s\n", a.pos[1]);
        break;
    }
    if (fflush(stdout) && !rc)
        rc = mp_error_set(&e, MP_EIO, "cannot write to standard output");
    mp_error ce = {0};
    int crc = mp_log_close(log, &ce);
    if (rc)
        return mp_cli_fail(cmd, &e);
    return crc ? mp_cli_fail(cmd, &ce) : 0;
}
