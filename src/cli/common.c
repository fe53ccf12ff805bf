#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/fileio.h"

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
