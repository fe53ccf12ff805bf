/* mlpipe consume: prints a topic's records, one a line, optionally reading
 * as a consumer group (resuming from and committing its offsets). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "log/log.h"

static const char usage[] =
    "usage: mlpipe consume TOPIC [--from-beginning | --offset O] [--partition P]\n"
    "                            [--group G] [--max-messages N] [--follow]\n"
    "                            [--print-partition] [--print-offset]\n"
    "                            [--print-timestamp] [--print-key] [--timeout-ms T]\n"
    "\n"
    "Prints the records of TOPIC, one a line: the fields asked for, then the\n"
    "value, separated by tabs in the order partition, offset, timestamp, key,\n"
    "value. A null key or value prints as the empty string (or --null-marker).\n"
    "Without --follow, stops at the end of every partition as it was at the\n"
    "start; with --follow, waits for new records until interrupted (SIGINT or\n"
    "SIGTERM end it cleanly) or --timeout-ms passes without any. consume only\n"
    "reads: it runs beside a producer in another process (mlpipe produce).\n"
    "\n"
    "  --data-dir DIR       the log's directory (default: $MLPIPE_DATA_DIR, else\n"
    "                       ./mlpipe-data)\n"
    "  --from-beginning     start at each partition's earliest offset (default:\n"
    "                       at its end, so only new records)\n"
    "  --offset O           start at offset O (needs --partition), or at\n"
    "                       'earliest' or 'latest' of every partition\n"
    "  --partition P        read only partition P (default: all, in turn)\n"
    "  --group G            resume from group G's committed offsets (falling back\n"
    "                       to --from-beginning or the end), and commit the\n"
    "                       offsets read, after each round of fetches and at exit\n"
    "  --max-messages N     stop after N records\n"
    "  --follow             keep waiting for new records\n"
    "  --timeout-ms T       with --follow: stop after T ms without new records\n"
    "  --print-partition    print the partition\n"
    "  --print-offset       print the offset\n"
    "  --print-timestamp    print the timestamp (ms since the epoch)\n"
    "  --print-key          print the key\n"
    "  --null-marker TEXT   print a null key or value as TEXT (default: empty)\n";

static const mp_flag flags[] = {
    {"data-dir", 1, 0},       {"from-beginning", 0, 0}, {"offset", 1, 0},        {"partition", 1, 0},
    {"group", 1, 0},          {"max-messages", 1, 0},   {"follow", 0, 0},        {"print-key", 0, 0},
    {"print-partition", 0, 0}, {"print-offset", 0, 0},  {"print-timestamp", 0, 0}, {"timeout-ms", 1, 0},
    {"null-marker", 1, 0},    {NULL, 0, 0},
};

/* Largest batch bytes per fetch: Kafka's max.partition.fetch.bytes. */
#define FETCH_BYTES ((size_t)1 << 20)

/* ---- stopping on SIGINT / SIGTERM -------------------------------------
 * Blocking the signals and taking them with sigwait is not enough here:
 * libraries start threads before main (OpenBLAS's pool) with the signals
 * unblocked, and the kernel may deliver a process signal to one of them,
 * where the default action ends the process. So a handler catches them in
 * whatever thread, and does only async-signal-safe things: it sets a flag
 * and writes a byte to a pipe. A thread reading the pipe calls mp_log_wake
 * (not async-signal-safe) and keeps calling it until the main loop has seen
 * the request, because a wake that comes just before the main thread enters
 * mp_log_wait would be lost. A SIGINT that was ignored when we started (a
 * background job of a script) stays ignored, as with the JVM's consumer. */

static int stop_pipe[2] = {-1, -1};
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    int saved = errno;
    stop_signal = sig;
    char c = 1;
    ssize_t w = write(stop_pipe[1], &c, 1);
    (void)w;
    errno = saved;
}

typedef struct stopper {
    pthread_t tid;
    mp_log *log;
    atomic_int stop;     /* a signal asked to stop */
    atomic_int quitting; /* the main loop is done: the thread must end */
} stopper;

static void *stopper_main(void *arg)
{
    stopper *s = arg;
    char c = 0;
    for (;;) {
        ssize_t r = read(stop_pipe[0], &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || c == 0 || atomic_load(&s->quitting))
            return NULL; /* c == 0: the main thread's "quit" */
        break;
    }
    atomic_store(&s->stop, 1);
    while (!atomic_load(&s->quitting)) {
        mp_log_wake(s->log);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* Installs the handlers; returns 0 or -1 (errno set). */
static int stopper_install(void)
{
    if (pipe(stop_pipe))
        return -1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    struct sigaction old;
    if (sigaction(SIGINT, NULL, &old) == 0 && old.sa_handler != SIG_IGN)
        sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    return 0;
}

static int stopper_start(stopper *s, mp_log *log)
{
    s->log = log;
    return pthread_create(&s->tid, NULL, stopper_main, s) == 0;
}

static void stopper_end(stopper *s)
{
    atomic_store(&s->quitting, 1);
    char c = 0;
    ssize_t w = write(stop_pipe[1], &c, 1);
    (void)w;
    pthread_join(s->tid, NULL);
}

static int stop_requested(stopper *s) { return atomic_load(&s->stop) || stop_signal; }

/* ---- consuming ---------------------------------------------------------- */

typedef struct part {
    int32_t id;
    int64_t pos;      /* the next offset to read */
    int64_t end;      /* the latest offset at the start (without --follow) */
    int64_t earliest; /* at the start */
} part;

typedef struct consumer {
    mp_log *log;
    const char *topic;
    const char *group;
    part *parts;
    size_t nparts;
    int follow;
    int64_t timeout_ms; /* -1: none */
    unsigned long long max, count; /* max 0: no limit */
    int print_partition, print_offset, print_timestamp, print_key;
    const char *null_marker;
    size_t null_len;
    int out_closed; /* stdout went away (EPIPE): stop quietly */
} consumer;

static void put_bytes(consumer *c, const uint8_t *p, int32_t len)
{
    if (len < 0)
        fwrite(c->null_marker, 1, c->null_len, stdout);
    else if (len > 0)
        fwrite(p, 1, (size_t)len, stdout);
}

static void print_record(consumer *c, int32_t partition, const mp_record *r)
{
    if (c->print_partition)
        printf("%d\t", (int)partition);
    if (c->print_offset)
        printf("%" PRId64 "\t", r->offset);
    if (c->print_timestamp)
        printf("%" PRId64 "\t", r->timestamp);
    if (c->print_key) {
        put_bytes(c, r->key, r->key_len);
        putchar('\t');
    }
    put_bytes(c, r->value, r->value_len);
    putchar('\n');
}

static int commit(consumer *c, mp_error *e)
{
    if (!c->group || c->nparts == 0)
        return 0;
    mp_log_offset *pos = malloc(c->nparts * sizeof *pos);
    if (!pos)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    for (size_t i = 0; i < c->nparts; i++)
        pos[i] = (mp_log_offset){c->topic, c->parts[i].id, c->parts[i].pos};
    int rc = mp_log_commit(c->log, c->group, pos, c->nparts, e);
    free(pos);
    return rc;
}

/* Flushes what was printed. 1 when stdout is gone (EPIPE: the reader, e.g.
 * `head`, has had enough), 0 when written, negative on other errors. */
static int flush_out(consumer *c, mp_error *e)
{
    if (fflush(stdout) == 0)
        return 0;
    if (errno == EPIPE) {
        c->out_closed = 1;
        return 1;
    }
    return mp_error_set(e, MP_EIO, "cannot write to standard output: %s", strerror(errno));
}

static int consume(consumer *c, stopper *s, mp_error *e)
{
    mp_log_fetch_result r = {0};
    mp_log_offset *waits = NULL;
    int rc = 0;
    if (c->follow && !(waits = malloc(c->nparts * sizeof *waits))) {
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        goto done;
    }
    for (;;) {
        int progress = 0, limit_hit = 0, pending = 0;
        for (size_t i = 0; i < c->nparts && !limit_hit && !stop_requested(s); i++) {
            part *p = &c->parts[i];
            if (!c->follow && p->pos >= p->end)
                continue;
            if ((rc = mp_log_fetch(c->log, c->topic, p->id, p->pos, FETCH_BYTES, &r, e)))
                break;
            for (size_t k = 0; k < r.n; k++) {
                const mp_record *rec = &r.recs[k];
                if (!c->follow && rec->offset >= p->end)
                    break;
                print_record(c, p->id, rec);
                p->pos = rec->offset + 1;
                progress = 1;
                if (c->max && ++c->count >= c->max) {
                    limit_hit = 1;
                    break;
                }
            }
            /* Past the last record, up to the end of the batches read
             * (compaction leaves gaps), unless the limit stopped us midway. */
            if (!limit_hit && r.next_offset > p->pos)
                p->pos = c->follow || r.next_offset < p->end ? r.next_offset : p->end;
            if (!c->follow && p->pos < p->end) {
                if (r.n == 0 && r.next_offset <= p->pos)
                    p->pos = p->end; /* nothing more to read below the end */
                else
                    pending = 1;
            }
        }
        int frc = flush_out(c, e);
        if (frc < 0 && !rc)
            rc = frc;
        if (frc)
            break; /* the records just printed may not have been read: no commit */
        if (progress && !rc)
            rc = commit(c, e);
        if (rc || limit_hit || stop_requested(s))
            break;
        if (!c->follow) {
            if (!pending)
                break;
            continue;
        }
        if (progress)
            continue;
        for (size_t i = 0; i < c->nparts; i++)
            waits[i] = (mp_log_offset){c->topic, c->parts[i].id, c->parts[i].pos};
        int w = mp_log_wait(c->log, waits, c->nparts, c->timeout_ms, e);
        if (w < 0) {
            rc = w;
            break;
        }
        if (w == 0 && (c->timeout_ms >= 0 || stop_requested(s)))
            break; /* timed out, or woken to stop */
    }
done:
    mp_log_fetch_result_free(&r);
    free(waits);
    /* Kafka's consumer commits its position on close even when it read
     * nothing, so a group that started at the end resumes from there. */
    if (!c->out_closed) {
        mp_error ce = {0};
        int crc = commit(c, rc ? &ce : e);
        if (crc && !rc)
            rc = crc;
        else if (crc)
            fprintf(stderr, "mlpipe consume: %s\n", ce.msg);
    }
    return rc;
}

/* Parses --offset: a non-negative number, "earliest" (-2) or "latest" (-1). */
static int parse_offset(const char *v, int64_t *out)
{
    if (!strcmp(v, "earliest") || !strcmp(v, "beginning")) {
        *out = -2;
        return 0;
    }
    if (!strcmp(v, "latest") || !strcmp(v, "end")) {
        *out = -1;
        return 0;
    }
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (errno || end == v || *end || x < 0 || v[0] == '-' || v[0] == '+')
        return -1;
    *out = x;
    return 0;
}

/* Decides each partition's starting offset. */
static int start_positions(consumer *c, int from_beginning, int64_t offset, int have_offset, mp_error *e)
{
    for (size_t i = 0; i < c->nparts; i++) {
        part *p = &c->parts[i];
        int rc = mp_log_offsets(c->log, c->topic, p->id, &p->earliest, &p->end, e);
        if (rc)
            return rc;
        int64_t fallback = from_beginning ? p->earliest : p->end;
        if (have_offset) {
            if (offset == -2)
                p->pos = p->earliest;
            else if (offset == -1)
                p->pos = p->end;
            else if (offset < p->earliest || offset > p->end)
                return mp_error_set(e, MP_EINVAL,
                                    "--offset %" PRId64 ": %s-%d holds offsets %" PRId64 "..%" PRId64
                                    " (the next one written will be %" PRId64 ")",
                                    offset, c->topic, (int)p->id, p->earliest,
                                    p->end > p->earliest ? p->end - 1 : p->earliest, p->end);
            else
                p->pos = offset;
            continue;
        }
        p->pos = fallback;
        if (!c->group)
            continue;
        int64_t committed = -1;
        if ((rc = mp_log_committed(c->log, c->group, c->topic, p->id, &committed, e)))
            return rc;
        if (committed < 0)
            continue;
        if (committed >= p->earliest && committed <= p->end)
            p->pos = committed;
        else
            fprintf(stderr,
                    "mlpipe consume: warning: group %s's committed offset %" PRId64 " of %s-%d is outside "
                    "%" PRId64 "..%" PRId64 "; starting at %" PRId64 "\n",
                    c->group, committed, c->topic, (int)p->id, p->earliest, p->end, fallback);
    }
    return 0;
}

int mp_cmd_consume(int argc, char **argv)
{
    mp_args a;
    int rc = mp_args_parse(argc, argv, flags, &a, usage);
    if (rc)
        return rc;
    if (a.help) {
        fputs(usage, stdout);
        return 0;
    }
    if (a.npos != 1) {
        fprintf(stderr, "mlpipe consume: expected one TOPIC\n%s", usage);
        return 2;
    }
    int32_t partition;
    if (mp_cli_partition_flag(&a, "consume", &partition))
        return 2;
    int from_beginning = mp_args_has(&a, "from-beginning");
    const char *ov = mp_args_get(&a, "offset");
    int64_t offset = 0;
    if (ov && from_beginning) {
        fprintf(stderr, "mlpipe consume: give --from-beginning or --offset, not both\n");
        return 2;
    }
    if (ov && parse_offset(ov, &offset)) {
        fprintf(stderr, "mlpipe consume: --offset: '%s' is not an offset (a number >= 0, earliest or "
                        "latest)\n", ov);
        return 2;
    }
    if (ov && offset >= 0 && partition < 0) {
        fprintf(stderr, "mlpipe consume: --offset %s needs --partition (offsets are per partition)\n", ov);
        return 2;
    }
    unsigned long max = 0, timeout = 0;
    if (mp_args_ulong(&a, "consume", "max-messages", 0, &max) ||
        mp_args_ulong(&a, "consume", "timeout-ms", 0, &timeout))
        return 2;
    if (mp_args_has(&a, "max-messages") && max == 0) {
        fprintf(stderr, "mlpipe consume: --max-messages: give at least 1\n");
        return 2;
    }
    if (timeout > (unsigned long)INT64_MAX) {
        fprintf(stderr, "mlpipe consume: --timeout-ms: %lu is too large\n", timeout);
        return 2;
    }
    const char *group = mp_args_get(&a, "group");
    if (group && (!group[0] || strlen(group) > 255)) {
        fprintf(stderr, "mlpipe consume: --group: a group name has 1 to 255 bytes\n");
        return 2;
    }
    const char *marker = mp_args_get(&a, "null-marker");
    consumer c = {
        .topic = a.pos[0], .group = group, .follow = mp_args_has(&a, "follow"),
        .timeout_ms = mp_args_has(&a, "timeout-ms") ? (int64_t)timeout : -1, .max = max,
        .print_partition = mp_args_has(&a, "print-partition"),
        .print_offset = mp_args_has(&a, "print-offset"),
        .print_timestamp = mp_args_has(&a, "print-timestamp"), .print_key = mp_args_has(&a, "print-key"),
        .null_marker = marker ? marker : "", .null_len = marker ? strlen(marker) : 0,
    };

    /* A write to a closed pipe becomes EPIPE, handled where output is
     * flushed. */
    stopper s = {0};
    if (stopper_install()) {
        fprintf(stderr, "mlpipe consume: cannot set up signal handling: %s\n", strerror(errno));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    static char outbuf[1 << 16];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);

    mp_error e = {0};
    /* A reader: consuming never needs the writer's lock, so producers can
     * write while this runs (and one may start after it). */
    if ((rc = mp_cli_open_log(&a, MP_CLI_LOG_READ, &c.log, &e)))
        return mp_cli_fail("consume", &e);
    int started = 0;
    int32_t count = 0;
    if ((rc = mp_log_partition_count(c.log, c.topic, &count, &e)))
        goto done;
    if (partition >= count) {
        rc = mp_error_set(&e, MP_EINVAL, "--partition %d: topic %s has partitions 0..%d", (int)partition,
                          c.topic, (int)count - 1);
        goto done;
    }
    c.nparts = partition >= 0 ? 1 : (size_t)count;
    if (!(c.parts = calloc(c.nparts, sizeof *c.parts))) {
        rc = mp_error_set(&e, MP_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < c.nparts; i++)
        c.parts[i].id = partition >= 0 ? partition : (int32_t)i;
    if ((rc = start_positions(&c, from_beginning, offset, ov != NULL, &e)))
        goto done;
    if (!stopper_start(&s, c.log)) {
        rc = mp_error_set(&e, MP_EIO, "cannot start the signal thread");
        goto done;
    }
    started = 1;
    rc = consume(&c, &s, &e);
done:
    if (started)
        stopper_end(&s);
    free(c.parts);
    mp_error ce = {0};
    int crc = mp_log_close(c.log, &ce);
    if (rc)
        return mp_cli_fail("consume", &e);
    return crc ? mp_cli_fail("consume", &ce) : 0;
}
