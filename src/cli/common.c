#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/fileio.h"
#include "ml/preprocess.h"

int mp_cli_exit_code(int rc)
{
    switch (rc) {
    case 0:
        return 0;
    case MP_EINVAL:
    case MP_EINPUT:
    case MP_EFORMAT:
    case MP_ENOTFOUND:
    case MP_EEXIST:
        return 2;
    default:
        return 1;
    }
}

int mp_cli_fail(const char *cmd, const mp_error *e)
{
    fprintf(stderr, "mlpipe %s: %s\n", cmd, e->msg[0] ? e->msg : mp_strerror(e->code));
    return mp_cli_exit_code(e->code ? e->code : MP_EIO);
}

int mp_cli_delimiter(const mp_args *a, const char *cmd, char *out)
{
    const char *d = mp_args_get(a, "delimiter");
    *out = 0;
    if (!d)
        return 0;
    if (!strcmp(d, "tab") || !strcmp(d, "\\t") || !strcmp(d, "\t"))
        *out = '\t';
    else if (strlen(d) == 1 && d[0] != '"' && d[0] != '\n' && d[0] != '\r')
        *out = d[0];
    else {
        fprintf(stderr, "mlpipe %s: --delimiter '%s': give one character, or 'tab'\n", cmd, d);
        return 2;
    }
    return 0;
}

int mp_cli_missing(const mp_args *a, const char *cmd, mp_missing_policy def, mp_missing_policy *out)
{
    const char *m = mp_args_get(a, "missing");
    if (!m)
        *out = def;
    else if (!strcmp(m, "error"))
        *out = MP_MISSING_ERROR;
    else if (!strcmp(m, "drop"))
        *out = MP_MISSING_DROP;
    else if (!strcmp(m, "mean"))
        *out = MP_MISSING_MEAN;
    else {
        fprintf(stderr, "mlpipe %s: --missing '%s': expected error, drop or mean\n", cmd, m);
        return 2;
    }
    return 0;
}

int mp_cli_write_output(const char *path, const mp_buf *b, mp_error *e)
{
    if (b->oom)
        return mp_error_set(e, MP_ENOMEM, "out of memory while formatting output");
    if (!path || !strcmp(path, "-")) {
        size_t n = b->len;
        if (n && fwrite(b->data, 1, n, stdout) != n)
            return mp_error_set(e, MP_EIO, "cannot write to standard output");
        return fflush(stdout) ? mp_error_set(e, MP_EIO, "cannot write to standard output") : 0;
    }
    return mp_write_atomic(path, b->data ? b->data : "", b->len, e);
}

int mp_cli_training_parse(const mp_args *a, const char *cmd, const char *usage, mp_cli_training *t)
{
    memset(t, 0, sizeof *t);
    const char *algorithm = mp_args_get(a, "algorithm"), *target = mp_args_get(a, "target");
    const char *labels = mp_args_get(a, "labels");
    const mp_algo *alg = algorithm ? mp_algo_find(algorithm) : NULL;
    if (algorithm && !alg) {
        fprintf(stderr, "mlpipe %s: unknown algorithm '%s' (known: %s)\n", cmd, algorithm, mp_algo_names());
        return 2;
    }
    /* An anomaly detector learns from unlabelled rows. */
    int unlabelled = alg && alg->tasks == MP_TASK_ANOMALY;
    if (a->npos != 1 || !algorithm || (!target && !labels && !unlabelled)) {
        fprintf(stderr, "mlpipe %s: %s\n%s", cmd,
                a->npos != 1 ? "expected one DATA file" : "--algorithm and --target (or --labels) are required",
                usage);
        return 2;
    }
    t->data = a->pos[0];
    t->train.algorithm = algorithm;
    t->train.params = &t->params;
    t->train.scale = -1;
    const char *s = mp_args_get(a, "scale"), *task = mp_args_get(a, "task");
    if (s) {
        static const char *const names[] = {"none", "standard", "minmax"};
        for (int i = 0; i < 3; i++)
            if (!strcmp(s, names[i]))
                t->train.scale = i;
        if (t->train.scale < 0) {
            fprintf(stderr, "mlpipe %s: --scale '%s': expected standard, minmax or none\n", cmd, s);
            return 2;
        }
    }
    if (task && !strcmp(task, "classification"))
        t->train.task = MP_TASK_CLASSIFY;
    else if (task && !strcmp(task, "regression"))
        t->train.task = MP_TASK_REGRESS;
    else if (task) {
        fprintf(stderr, "mlpipe %s: --task '%s': expected classification or regression\n", cmd, task);
        return 2;
    }
    unsigned long limit, seed;
    char delim;
    if (mp_cli_missing(a, cmd, MP_MISSING_ERROR, &t->train.missing) ||
        mp_args_ulong(a, cmd, "limit", 0, &limit) || mp_args_ulong(a, cmd, "seed", 42, &seed) ||
        mp_cli_delimiter(a, cmd, &delim))
        return 2;
    t->train.seed = seed;
    const char *pv[MP_ARGS_MAX_REPEAT];
    size_t np = mp_args_all(a, "param", pv, MP_ARGS_MAX_REPEAT);
    for (size_t i = 0; i < np; i++) {
        mp_error e = {0};
        if (mp_params_add(&t->params, pv[i], &e)) {
            fprintf(stderr, "mlpipe %s: --param: %s\n", cmd, e.msg);
            mp_cli_training_free(t);
            return 2;
        }
    }
    /* The neural-network flags are spellings of parameters; given as a
     * flag they win over --param. */
    static const char *const nn_flags[][2] = {
        {"layers", "layers"},         {"input-shape", "input_shape"},
        {"epochs", "epochs"},         {"batch-size", "batch_size"},
        {"learning-rate", "learning_rate"}, {"optimizer", "optimizer"},
    };
    for (size_t i = 0; i < sizeof nn_flags / sizeof nn_flags[0]; i++) {
        const char *v = mp_args_get(a, nn_flags[i][0]);
        if (!v)
            continue;
        if (!alg->neural) {
            fprintf(stderr, "mlpipe %s: --%s is for neural networks (mlp, cnn, lstm, gru, "
                            "autoencoder, nn), not %s\n", cmd, nn_flags[i][0], algorithm);
            mp_cli_training_free(t);
            return 2;
        }
        if (mp_params_set(&t->params, nn_flags[i][1], v)) {
            fprintf(stderr, "mlpipe %s: out of memory\n", cmd);
            mp_cli_training_free(t);
            return 2;
        }
    }
    t->load = (mp_load_opts){
        .delimiter = delim, .target = target ? target : unlabelled && !labels ? NULL : "label",
        .target_optional = unlabelled, .id = mp_args_get(a, "id"),
        .missing = t->train.missing, .limit = limit, .labels = labels, .categorical = t->cats,
        .ncategorical = mp_args_all(a, "categorical", t->cats, MP_ARGS_MAX_REPEAT),
    };
    return 0;
}

void mp_cli_training_free(mp_cli_training *t) { mp_params_free(&t->params); }

/* ---- the event-log commands ---- */

const char *mp_cli_data_dir(const mp_args *a)
{
    const char *d = mp_args_get(a, "data-dir");
    if (d)
        return d;
    d = getenv("MLPIPE_DATA_DIR");
    return d && d[0] ? d : "./mlpipe-data";
}

/* The closest existing ancestor of path (for a permission check before
 * creating it), written into out. */
static void existing_ancestor(const char *path, char *out, size_t n)
{
    snprintf(out, n, "%s", path);
    for (;;) {
        size_t len = strlen(out);
        while (len > 1 && out[len - 1] == '/')
            out[--len] = 0;
        char *slash = strrchr(out, '/');
        if (!slash) {
            snprintf(out, n, ".");
            return;
        }
        if (slash == out)
            out[1] = 0;
        else
            *slash = 0;
        struct stat st;
        if (stat(out, &st) == 0 || errno != ENOENT)
            return;
    }
}

int mp_cli_open_log(const mp_args *a, int create, mp_log **out, mp_error *e)
{
    const char *dir = mp_cli_data_dir(a);
    *out = NULL;
    if (!dir[0])
        return mp_error_set(e, MP_EINVAL, "--data-dir: empty directory name");
    /* The log would report these as I/O failures deep inside; checked here
     * they are what they are, a data directory the user must fix. */
    int reader = create == MP_CLI_LOG_READ;
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return mp_error_set(e, MP_EINVAL, "data directory '%s' is not a directory", dir);
        if (access(dir, reader ? R_OK | X_OK : R_OK | W_OK | X_OK))
            return mp_error_set(e, MP_EINVAL, "data directory '%s': %s (the log needs to %s it)",
                                dir, strerror(errno), reader ? "read" : "read and write");
    } else if (errno == ENOENT) {
        if (create != MP_CLI_LOG_CREATE)
            return mp_error_set(e, MP_ENOTFOUND,
                                "data directory '%s' does not exist (give --data-dir DIR or set "
                                "MLPIPE_DATA_DIR; 'mlpipe topic create' creates it)",
                                dir);
        char anc[4096];
        existing_ancestor(dir, anc, sizeof anc);
        if (access(anc, W_OK | X_OK))
            return mp_error_set(e, MP_EINVAL, "cannot create data directory '%s': '%s': %s", dir, anc,
                                strerror(errno));
    } else {
        return mp_error_set(e, MP_EINVAL, "data directory '%s': %s", dir, strerror(errno));
    }
    mp_log_options opts = MP_LOG_OPTIONS_INIT;
    opts.background = 0;
    /* One writer at a time: a second one (say a produce started while
     * another is finishing) waits a little before it gives up. */
    const char *w = getenv("MLPIPE_LOCK_WAIT_MS");
    char *end = NULL;
    long long ms = w && w[0] ? strtoll(w, &end, 10) : 3000;
    opts.lock_wait_ms = end && *end ? 3000 : ms < 0 ? 0 : ms;
    opts.read_only = reader;
    opts.read_if_locked = create == MP_CLI_LOG_READ_IF_LOCKED;
    if (opts.read_if_locked)
        opts.lock_wait_ms = 0; /* no need to wait: reading beside a writer is fine */
    return mp_log_open_embedded(dir, &opts, out, e);
}

int mp_cli_partition_flag(const mp_args *a, const char *cmd, int32_t *out)
{
    const char *v = mp_args_get(a, "partition");
    *out = -1;
    if (!v)
        return 0;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < 0 || x >= MP_LOG_MAX_PARTITIONS) {
        fprintf(stderr, "mlpipe %s: --partition: '%s' is not a partition number (0..%d)\n", cmd, v,
                MP_LOG_MAX_PARTITIONS - 1);
        return 2;
    }
    *out = (int32_t)x;
    return 0;
}
