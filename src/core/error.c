#include "core/error.h"

#include <stdio.h>
#include <string.h>

int mp_error_vset(mp_error *e, int code, const char *fmt, va_list ap)
{
    if (e) {
        e->code = code;
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    }
    return code;
}

int mp_error_set(mp_error *e, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mp_error_vset(e, code, fmt, ap);
    va_end(ap);
    return code;
}

void mp_error_prefix(mp_error *e, const char *fmt, ...)
{
    if (!e)
        return;
    char pre[MP_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    char old[MP_ERROR_MSG_MAX];
    memcpy(old, e->msg, sizeof old);
    /* A message longer than the record is cut at its end; the place it
     * names comes first, so what is lost is the least useful part. */
    int n = snprintf(e->msg, sizeof e->msg, "%s: ", pre);
    if (n >= 0 && (size_t)n < sizeof e->msg)
        snprintf(e->msg + n, sizeof e->msg - (size_t)n, "%.*s", (int)(sizeof e->msg - (size_t)n - 1), old);
}

void mp_error_clear(mp_error *e)
{
    if (e) {
        e->code = 0;
        e->msg[0] = '\0';
    }
}

const char *mp_strerror(int code)
{
    switch (code) {
    case MP_OK: return "ok";
    case MP_EINVAL: return "invalid argument";
    case MP_EINPUT: return "bad input";
    case MP_EIO: return "I/O error";
    case MP_ENOMEM: return "out of memory";
    case MP_EFORMAT: return "bad model file";
    case MP_ENOTFOUND: return "not found";
    case MP_EEXIST: return "already exists";
    case MP_ENUMERIC: return "numerical failure";
    default: return "unknown error";
    }
}
