/* Text forms shared by value printing and the record codecs: UTF-8
 * validation, base64, JSON string escaping, and the way ksqlDB (Java)
 * writes doubles, timestamps, dates and times. Pure functions,
 * thread-safe. */
#ifndef MP_DATA_SQL_TEXT_H
#define MP_DATA_SQL_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* True when p[0..n) is well-formed UTF-8 (no overlongs, surrogates or code
 * points above U+10FFFF). On failure *bad (if not NULL) is the offset of
 * the first byte of the bad sequence. */
bool mp_utf8_valid(const void *p, size_t n, size_t *bad);

/* Standard base64 with '=' padding (java.util.Base64's basic encoder). */
void mp_base64_encode(const void *p, size_t n, mp_buf *out);
/* Decodes standard base64; padding optional, no whitespace or other
 * characters. out must hold mp_base64_decoded_max(n) bytes. Returns 0 and
 * sets *outlen, or -1 with *bad the offset of the offending character. */
int mp_base64_decode(const char *s, size_t n, uint8_t *out, size_t *outlen, size_t *bad);
static inline size_t mp_base64_decoded_max(size_t n)
{
    return n / 4 * 3 + 3;
}

/* Appends s[0..n) as a JSON string with quotes: '"', '\\' and control
 * characters escaped (\n \r \t \b \f, else \u00XX), all else verbatim. */
void mp_json_quote(const char *s, size_t n, mp_buf *out);

/* Decimal digits of v, '-' first when negative, NUL-terminated; out holds
 * >= 21 bytes. Returns the length. */
size_t mp_format_int64(int64_t v, char *out);

/* Java's Double.toString: shortest digits that read back exactly, plain
 * for 1e-3 <= |v| < 1e7 with at least one fraction digit ("1.0", "0.001",
 * "1234567.0"), otherwise "d.dddE[-]n" ("1.0E7", "1.0E-4"); "NaN",
 * "Infinity", "-Infinity", "-0.0". out holds >= 32 bytes; returns length. */
size_t mp_format_double_java(double v, char *out);

/* ksqlDB's text forms (UTC, proleptic Gregorian): TIMESTAMP as
 * "yyyy-MM-ddTHH:mm:ss.SSS", DATE as ISO "yyyy-MM-dd", TIME as Java's
 * LocalTime at second precision ("HH:mm" when the seconds are zero, else
 * "HH:mm:ss"). out holds >= 40 bytes; returns the length. */
size_t mp_format_timestamp(int64_t ms, char *out);
size_t mp_format_date(int32_t days, char *out);
size_t mp_format_time(int32_t ms, char *out);

#endif
