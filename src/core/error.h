/* Error codes and the error record every fallible function can fill.
 *
 * Convention: functions return 0 on success or a negative MP_E* code, and
 * fill an optional `mp_error *` (may be NULL) with the same code and a
 * message naming the place: file:line:column, a tensor name, a column name. */
#ifndef MP_CORE_ERROR_H
#define MP_CORE_ERROR_H

#include <stdarg.h>

enum {
    MP_OK = 0,
    MP_EINVAL = -1,    /* bad argument or usage (unknown parameter, bad flag) */
    MP_EINPUT = -2,    /* bad input data: ragged row, unparsable number, ... */
    MP_EIO = -3,       /* operating-system I/O failure */
    MP_ENOMEM = -4,    /* allocation failed */
    MP_EFORMAT = -5,   /* a model file that is truncated, altered or foreign */
    MP_ENOTFOUND = -6, /* no such file, column, model or version */
    MP_EEXIST = -7,    /* already exists */
    MP_ENUMERIC = -8,  /* numerical failure (singular system, no convergence) */
};

#define MP_ERROR_MSG_MAX 1024

typedef struct mp_error {
    int code;
    char msg[MP_ERROR_MSG_MAX];
} mp_error;

/* Fills `e` (if not NULL) and returns `code`, so callers can write
 * `return mp_error_set(e, MP_EINPUT, "%s:%d:%d: ...", ...);`. */
int mp_error_set(mp_error *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int mp_error_vset(mp_error *e, int code, const char *fmt, va_list ap);

/* Prepends "prefix: " to an existing message (adds context on the way up). */
void mp_error_prefix(mp_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void mp_error_clear(mp_error *e);

/* A short constant name for a code ("invalid argument", "bad input", ...). */
const char *mp_strerror(int code);

#endif
