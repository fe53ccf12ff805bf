/* A growable byte buffer, always NUL-terminated, for building strings and
 * output files. Zero-initialise (`mp_buf b = {0};`), append, then
 * mp_buf_free(). Allocation failure is sticky: after one, `b.oom` is set,
 * later appends do nothing, and the caller reports MP_ENOMEM once. */
#ifndef MP_CORE_BUF_H
#define MP_CORE_BUF_H

#include <stddef.h>

typedef struct mp_buf {
    char *data;
    size_t len;
    size_t cap;
    int oom;
} mp_buf;

void mp_buf_append(mp_buf *b, const void *p, size_t n);
void mp_buf_puts(mp_buf *b, const char *s);
void mp_buf_putc(mp_buf *b, char c);
void mp_buf_printf(mp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends a double in the shortest form that reads back exactly ("0.1", "3"). */
void mp_buf_double(mp_buf *b, double v);
/* Appends a CSV field, quoted per RFC 4180 when it holds delim, quote, CR or LF. */
void mp_buf_csv_field(mp_buf *b, const char *s, char delim);
/* Makes room for extra more bytes (and the NUL) without changing len, and
 * returns where they go (data + len), or NULL after an allocation failure
 * (which, as always, sets oom). For callers that write in place. */
void *mp_buf_reserve(mp_buf *b, size_t extra);
void mp_buf_reset(mp_buf *b);
void mp_buf_free(mp_buf *b);
/* Hands the string to the caller (who frees it) and resets the buffer. */
char *mp_buf_take(mp_buf *b);

/* Formats v like mp_buf_double into out (at least 32 bytes). */
void mp_format_double(char *out, size_t n, double v);

#endif
