#include "core/buf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int reserve(mp_buf *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (extra > (size_t)-1 / 2 - b->len) {
        b->oom = 1;
        return -1;
    }
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) {
        if (cap > (size_t)-1 / 2) {
            b->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void *mp_buf_reserve(mp_buf *b, size_t extra)
{
    return reserve(b, extra) ? NULL : b->data + b->len;
}

void mp_buf_append(mp_buf *b, const void *p, size_t n)
{
    if (reserve(b, n))
        return;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void mp_buf_puts(mp_buf *b, const char *s) { mp_buf_append(b, s, strlen(s)); }

void mp_buf_putc(mp_buf *b, char c) { mp_buf_append(b, &c, 1); }

void mp_buf_printf(mp_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        mp_buf_append(b, small, (size_t)n);
        return;
    }
    if (reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void mp_format_double(char *out, size_t n, double v)
{
    if (isnan(v)) {
        snprintf(out, n, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(out, n, v > 0 ? "inf" : "-inf");
        return;
    }
    /* The shortest %.Ng that reads back to the same double. */
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, n, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

void mp_buf_double(mp_buf *b, double v)
{
    char tmp[40];
    mp_format_double(tmp, sizeof tmp, v);
    mp_buf_puts(b, tmp);
}

void mp_buf_csv_field(mp_buf *b, const char *s, char delim)
{
    if (!strchr(s, delim) && !strchr(s, '"') && !strchr(s, '\n') && !strchr(s, '\r')) {
        mp_buf_puts(b, s);
        return;
    }
    mp_buf_putc(b, '"');
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            mp_buf_putc(b, '"');
        mp_buf_putc(b, *p);
    }
    mp_buf_putc(b, '"');
}

void mp_buf_reset(mp_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void mp_buf_free(mp_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

char *mp_buf_take(mp_buf *b)
{
    char *p = b->data;
    if (!p)
        p = calloc(1, 1);
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
