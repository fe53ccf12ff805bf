/* Conversions between SQL values: CAST (ksqlDB's supported pairs and their
 * Java semantics), implicit coercion (widening), and the text forms and
 * parsers they rely on. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/sql_text.h"
#include "sql/sql_expr_internal.h"

#define MS_PER_DAY INT64_C(86400000)

/* ---- small helpers ---- */

const char *mp_sql_type_str(const mp_type *t, char *out, size_t cap)
{
    mp_buf b = {0};
    if (!t)
        mp_buf_puts(&b, "NULL");
    else
        mp_type_print(t, &b);
    snprintf(out, cap, "%s", b.data && !b.oom ? b.data : "?");
    mp_buf_free(&b);
    return out;
}

/* Java's String.trim(): strips every char <= ' ' at both ends. */
static void trim(const char **s, size_t *n)
{
    while (*n > 0 && (unsigned char)(*s)[0] <= ' ') {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && (unsigned char)(*s)[*n - 1] <= ' ')
        (*n)--;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads exactly k digits at s into *v. */
static bool digits(const char *s, size_t k, int *v)
{
    int x = 0;
    for (size_t i = 0; i < k; i++) {
        if (!is_digit(s[i]))
            return false;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return true;
}

/* How much of the input an error message echoes. */
#define ECHO 64

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
    static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : md[m - 1];
}

/* "yyyy-MM-dd" (4 to 9 year digits) into days since the epoch. */
static bool parse_ymd(const char *s, size_t n, int64_t *days)
{
    size_t yd = 0;
    while (yd < n && is_digit(s[yd]))
        yd++;
    if (yd < 4 || yd > 9 || n != yd + 6 || s[yd] != '-' || s[yd + 3] != '-')
        return false;
    int64_t y = 0;
    for (size_t i = 0; i < yd; i++)
        y = y * 10 + (s[i] - '0');
    int m = 0, d = 0;
    if (!digits(s + yd + 1, 2, &m) || !digits(s + yd + 4, 2, &d))
        return false;
    if (m < 1 || m > 12 || d < 1 || d > month_days(y, m))
        return false;
    *days = days_from_civil(y, m, d);
    return true;
}

/* "HH:mm:ss.SSS" exactly, into ms of the day. */
static bool parse_hms_ms(const char *s, size_t n, int64_t *ms)
{
    int h = 0, mi = 0, se = 0, f = 0;
    if (n != 12 || s[2] != ':' || s[5] != ':' || s[8] != '.' || !digits(s, 2, &h) ||
        !digits(s + 3, 2, &mi) || !digits(s + 6, 2, &se) || !digits(s + 9, 3, &f))
        return false;
    if (h > 23 || mi > 59 || se > 59)
        return false;
    *ms = ((int64_t)h * 3600 + mi * 60 + se) * 1000 + f;
    return true;
}

/* A zone offset as java.time.ZoneOffset.of reads it: +h, +hh, +hh:mm,
 * +hhmm, +hh:mm:ss, +hhmmss (or '-'). */
static bool parse_offset(const char *s, size_t n, int64_t *ms)
{
    if (n < 2 || (s[0] != '+' && s[0] != '-'))
        return false;
    int sign = s[0] == '-' ? -1 : 1;
    const char *p = s + 1;
    size_t k = n - 1;
    int h = 0, m = 0, sec = 0;
    if (k == 1) {
        if (!digits(p, 1, &h))
            return false;
    } else if (k == 2) {
        if (!digits(p, 2, &h))
            return false;
    } else if (k == 5 && p[2] == ':') {
        if (!digits(p, 2, &h) || !digits(p + 3, 2, &m))
            return false;
    } else if (k == 4) {
        if (!digits(p, 2, &h) || !digits(p + 2, 2, &m))
            return false;
    } else if (k == 8 && p[2] == ':' && p[5] == ':') {
        if (!digits(p, 2, &h) || !digits(p + 3, 2, &m) || !digits(p + 6, 2, &sec))
            return false;
    } else if (k == 6) {
        if (!digits(p, 2, &h) || !digits(p + 2, 2, &m) || !digits(p + 4, 2, &sec))
            return false;
    } else {
        return false;
    }
    if (h > 18 || m > 59 || sec > 59 || (h == 18 && (m || sec)))
        return false;
    *ms = sign * (((int64_t)h * 3600 + m * 60 + sec) * 1000);
    return true;
}

/* ksqlDB's partial timestamp form: yyyy[-MM[-dd]], or
 * yyyy-MM-ddT[HH[:mm[:ss[.SSS]]]] with an optional trailing Z or numeric
 * offset; missing parts are zero (and month/day 01), times are UTC. */
int mp_sql_parse_timestamp(const char *s, size_t n, int64_t *ms, mp_error *e)
{
    static const char pattern[] = "HH:mm:ss.SSS";
    char buf[40];
    const char *t = memchr(s, 'T', n);
    int64_t days = 0, tod = 0, off = 0;
    bool ok = false;
    if (t) {
        size_t dl = (size_t)(t - s);
        const char *rest = t + 1;
        size_t rl = n - dl - 1;
        const char *tz = memchr(rest, '+', rl);
        if (!tz)
            tz = memchr(rest, '-', rl);
        size_t tl = tz ? (size_t)(tz - rest) : rl;
        if (tl > 0 && rest[tl - 1] == 'Z')
            tl--;
        if (tl < sizeof buf && parse_ymd(s, dl, &days) &&
            (!tz || parse_offset(tz, rl - (size_t)(tz - rest), &off))) {
            memcpy(buf, rest, tl);
            size_t bl = tl;
            for (size_t i = tl; i < sizeof pattern - 1; i++)
                buf[bl++] = (pattern[i] >= 'A' && pattern[i] <= 'z') ? '0' : pattern[i];
            ok = parse_hms_ms(buf, bl, &tod);
        }
    } else {
        /* yyyy -> yyyy-01-01, yyyy-MM -> yyyy-MM-01 */
        size_t dashes = 0;
        for (size_t i = 0; i < n; i++)
            dashes += s[i] == '-';
        if (n + 6 < sizeof buf) {
            memcpy(buf, s, n);
            size_t bl = n;
            if (dashes == 0) {
                memcpy(buf + bl, "-01-01", 6);
                bl += 6;
            } else if (dashes == 1) {
                memcpy(buf + bl, "-01", 3);
                bl += 3;
            }
            ok = parse_ymd(buf, bl, &days);
            tod = 0;
        }
    }
    if (!ok)
        return mp_error_set(e, MP_EINPUT,
                            "cannot parse '%.*s' as a TIMESTAMP: the format is "
                            "yyyy-MM-dd'T'HH:mm:ss.SSS with an optional Z or numeric offset "
                            "(+0200); partial forms such as 2020-05-26 are accepted",
                            (int)(n > ECHO ? ECHO : n), s);
    /* A year far outside what milliseconds since 1970 can hold overflows
     * the product: refuse it rather than wrap. */
    if (days > (INT64_MAX - 2 * MS_PER_DAY) / MS_PER_DAY ||
        days < (INT64_MIN + 2 * MS_PER_DAY) / MS_PER_DAY)
        return mp_error_set(e, MP_EINPUT, "cannot parse '%.*s' as a TIMESTAMP: out of range",
                            (int)(n > ECHO ? ECHO : n), s);
    *ms = days * MS_PER_DAY + tod - off;
    return 0;
}

int mp_sql_parse_date(const char *s, size_t n, int32_t *days, mp_error *e)
{
    int64_t d;
    if (!parse_ymd(s, n, &d) || d < INT32_MIN || d > INT32_MAX)
        return mp_error_set(e, MP_EINPUT, "cannot parse '%.*s' as a DATE: the format is yyyy-MM-dd",
                            (int)(n > ECHO ? ECHO : n), s);
    *days = (int32_t)d;
    return 0;
}

/* ISO local time: HH:mm, HH:mm:ss or HH:mm:ss.f (1 to 9 fraction digits,
 * truncated to milliseconds). */
int mp_sql_parse_time(const char *s, size_t n, int32_t *ms, mp_error *e)
{
    int h = 0, m = 0, sec = 0, frac = 0;
    bool ok = n >= 5 && s[2] == ':' && digits(s, 2, &h) && digits(s + 3, 2, &m);
    if (ok && n > 5) {
        ok = n >= 8 && s[5] == ':' && digits(s + 6, 2, &sec);
        if (ok && n > 8) {
            ok = s[8] == '.' && n >= 10 && n <= 18;
            for (size_t i = 9; ok && i < n; i++) {
                ok = is_digit(s[i]);
                if (i < 12)
                    frac = frac * 10 + (s[i] - '0');
            }
            for (size_t i = n; ok && i < 12; i++)
                frac *= 10;
        }
    }
    if (!ok || h > 23 || m > 59 || sec > 59)
        return mp_error_set(e, MP_EINPUT,
                            "cannot parse '%.*s' as a TIME: the format is HH:mm[:ss[.SSS]]",
                            (int)(n > ECHO ? ECHO : n), s);
    *ms = (h * 3600 + m * 60 + sec) * 1000 + frac;
    return 0;
}

int mp_sql_parse_int64(const char *s, size_t n, int64_t lo, int64_t hi, int64_t *out,
                       mp_error *e)
{
    size_t i = 0;
    bool neg = false;
    if (n > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    }
    bool ok = i < n;
    /* Accumulate the magnitude as unsigned so the most negative value fits. */
    uint64_t v = 0, lim = neg ? (uint64_t)0 - (uint64_t)lo : (uint64_t)hi;
    for (; ok && i < n; i++) {
        if (!is_digit(s[i])) {
            ok = false;
            break;
        }
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (lim - d) / 10) {
            ok = false;
            break;
        }
        v = v * 10 + d;
    }
    if (!ok)
        return mp_error_set(e, MP_EINPUT, "cannot parse '%.*s' as %s",
                            (int)(n > ECHO ? ECHO : n), s,
                            hi == INT32_MAX ? "an INTEGER" : "a BIGINT");
    *out = neg ? (int64_t)((uint64_t)0 - v) : (int64_t)v;
    return 0;
}

int mp_sql_parse_double(const char *s, size_t n, double *out, mp_error *e)
{
    size_t i = 0;
    bool neg = false;
    if (n > 0 && (s[0] == '+' || s[0] == '-')) {
        neg = s[0] == '-';
        i = 1;
    }
    if (n - i == 3 && memcmp(s + i, "NaN", 3) == 0) {
        *out = NAN;
        return 0;
    }
    if (n - i == 8 && memcmp(s + i, "Infinity", 8) == 0) {
        *out = neg ? -INFINITY : INFINITY;
        return 0;
    }
    size_t j = i, nd = 0;
    while (j < n && is_digit(s[j]))
        j++, nd++;
    if (j < n && s[j] == '.') {
        j++;
        while (j < n && is_digit(s[j]))
            j++, nd++;
    }
    bool ok = nd > 0;
    if (ok && j < n && (s[j] == 'e' || s[j] == 'E')) {
        j++;
        if (j < n && (s[j] == '+' || s[j] == '-'))
            j++;
        size_t ed = 0;
        while (j < n && is_digit(s[j]))
            j++, ed++;
        ok = ed > 0;
    }
    size_t num_end = j;
    if (ok && j < n && (s[j] == 'f' || s[j] == 'F' || s[j] == 'd' || s[j] == 'D'))
        j++;
    ok = ok && j == n;
    if (!ok)
        return mp_error_set(e, MP_EINPUT, "cannot parse '%.*s' as a DOUBLE",
                            (int)(n > ECHO ? ECHO : n), s);
    char small[128];
    char *copy = num_end < sizeof small ? small : malloc(num_end + 1);
    if (!copy)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    memcpy(copy, s, num_end);
    copy[num_end] = '\0';
    *out = strtod(copy, NULL);
    if (copy != small)
        free(copy);
    return 0;
}

/* ksqlDB's booleans from text: any non-empty prefix of true / yes / false /
 * no, case-insensitive. */
static int parse_bool(const char *s, size_t n, bool *out, mp_error *e)
{
    static const char *const words[] = {"true", "yes", "false", "no"};
    for (int w = 0; w < 4 && n > 0; w++) {
        size_t wl = strlen(words[w]);
        if (n > wl)
            continue;
        size_t i = 0;
        while (i < n && (s[i] | 0x20) == words[w][i])
            i++;
        if (i == n) {
            *out = w < 2;
            return 0;
        }
    }
    return mp_error_set(e, MP_EINPUT,
                        "cannot parse '%.*s' as a BOOLEAN: expected true, false, yes or no",
                        (int)(n > ECHO ? ECHO : n), s);
}

/* ---- text forms ---- */

static void text_of(const mp_value *v, bool nested, mp_buf *b)
{
    char tmp[64];
    if (v->null) {
        mp_buf_puts(b, "null");
        return;
    }
    switch ((mp_type_kind)v->kind) {
    case MP_TYPE_BOOLEAN: mp_buf_puts(b, v->u.b ? "true" : "false"); break;
    case MP_TYPE_INTEGER: mp_buf_printf(b, "%d", (int)v->u.i32); break;
    case MP_TYPE_BIGINT: mp_buf_printf(b, "%lld", (long long)v->u.i64); break;
    case MP_TYPE_DOUBLE: mp_buf_append(b, tmp, mp_format_double_java(v->u.f64, tmp)); break;
    case MP_TYPE_DECIMAL: {
        char d[MP_DECIMAL_STR_MAX];
        mp_decimal x = mp_v_get_decimal(v);
        mp_buf_append(b, d, mp_decimal_format(&x, d));
        break;
    }
    case MP_TYPE_STRING: mp_buf_append(b, v->u.str, v->len); break;
    case MP_TYPE_BYTES: mp_base64_encode(v->u.bytes, v->len, b); break;
    case MP_TYPE_TIMESTAMP: mp_buf_append(b, tmp, mp_format_timestamp(v->u.i64, tmp)); break;
    case MP_TYPE_DATE: mp_buf_append(b, tmp, mp_format_date(v->u.i32, tmp)); break;
    case MP_TYPE_TIME: mp_buf_append(b, tmp, mp_format_time(v->u.i32, tmp)); break;
    case MP_TYPE_ARRAY:
        /* Java's List.toString */
        mp_buf_putc(b, '[');
        for (uint32_t i = 0; i < v->len; i++) {
            if (i)
                mp_buf_puts(b, ", ");
            text_of(&v->u.items[i], true, b);
        }
        mp_buf_putc(b, ']');
        break;
    case MP_TYPE_MAP:
        /* Java's Map.toString, in entry order */
        mp_buf_putc(b, '{');
        for (uint32_t i = 0; i < v->len; i++) {
            if (i)
                mp_buf_puts(b, ", ");
            text_of(&v->u.items[2 * i], true, b);
            mp_buf_putc(b, '=');
            text_of(&v->u.items[2 * i + 1], true, b);
        }
        mp_buf_putc(b, '}');
        break;
    case MP_TYPE_STRUCT: {
        /* Kafka Connect's Struct.toString: non-null fields only */
        const mp_type *st = v->u.st.type;
        bool first = true;
        mp_buf_puts(b, "Struct{");
        for (uint32_t i = 0; i < v->len; i++) {
            if (v->u.st.fields[i].null)
                continue;
            if (!first)
                mp_buf_putc(b, ',');
            first = false;
            if (st && i < st->nfields)
                mp_buf_puts(b, st->fields[i].name);
            mp_buf_putc(b, '=');
            text_of(&v->u.st.fields[i], true, b);
        }
        mp_buf_putc(b, '}');
        break;
    }
    default: mp_buf_puts(b, "null"); break;
    }
    (void)nested;
}

static int to_string(const mp_value *v, mp_arena *a, mp_value *out, mp_error *e)
{
    char tmp[64];
    size_t n;
    switch ((mp_type_kind)v->kind) {
    case MP_TYPE_STRING: *out = *v; return 0;
    case MP_TYPE_BOOLEAN:
        *out = mp_v_string_ref(v->u.b ? "true" : "false", v->u.b ? 4 : 5);
        return 0;
    case MP_TYPE_INTEGER: n = (size_t)snprintf(tmp, sizeof tmp, "%d", (int)v->u.i32); break;
    case MP_TYPE_BIGINT: n = (size_t)snprintf(tmp, sizeof tmp, "%lld", (long long)v->u.i64); break;
    case MP_TYPE_DOUBLE: n = mp_format_double_java(v->u.f64, tmp); break;
    case MP_TYPE_TIMESTAMP: n = mp_format_timestamp(v->u.i64, tmp); break;
    case MP_TYPE_DATE: n = mp_format_date(v->u.i32, tmp); break;
    case MP_TYPE_TIME: n = mp_format_time(v->u.i32, tmp); break;
    case MP_TYPE_DECIMAL: {
        char d[MP_DECIMAL_STR_MAX];
        mp_decimal x = mp_v_get_decimal(v);
        n = mp_decimal_format(&x, d);
        int rc = mp_v_string(a, d, n, out);
        return rc ? mp_error_set(e, rc, "out of memory") : 0;
    }
    default: {
        mp_buf b = {0};
        text_of(v, false, &b);
        int rc = b.oom ? MP_ENOMEM : mp_v_string(a, b.data ? b.data : "", b.len, out);
        mp_buf_free(&b);
        return rc ? mp_error_set(e, rc, rc == MP_ENOMEM ? "out of memory" : "string too long")
                  : 0;
    }
    }
    int rc = mp_v_string(a, tmp, n, out);
    return rc ? mp_error_set(e, rc, "out of memory") : 0;
}

/* ---- which conversions exist ---- */

static bool is_num(mp_type_kind k)
{
    return mp_type_kind_is_numeric(k);
}

bool mp_sql_conv_ok(const mp_type *from, const mp_type *to, int mode)
{
    if (!from || !to)
        return false;
    if (from->kind == MP_TYPE_NULL)
        return true;
    if (mp_type_can_coerce(from, to))
        return true;
    if (mode != MP_SQL_CONV_CAST)
        return false;
    mp_type_kind f = from->kind, t = to->kind;
    switch (t) {
    case MP_TYPE_STRING:
        /* ksqlDB casts everything but BYTES to STRING; mlpipe adds BYTES (base64) */
        return true;
    case MP_TYPE_BOOLEAN: return f == MP_TYPE_BOOLEAN || f == MP_TYPE_STRING;
    case MP_TYPE_INTEGER:
    case MP_TYPE_BIGINT:
    case MP_TYPE_DECIMAL:
    case MP_TYPE_DOUBLE: return is_num(f) || f == MP_TYPE_STRING;
    case MP_TYPE_BYTES: return f == MP_TYPE_BYTES || f == MP_TYPE_STRING;
    case MP_TYPE_TIMESTAMP:
        return f == MP_TYPE_TIMESTAMP || f == MP_TYPE_STRING || f == MP_TYPE_DATE;
    case MP_TYPE_DATE: return f == MP_TYPE_DATE || f == MP_TYPE_STRING || f == MP_TYPE_TIMESTAMP;
    case MP_TYPE_TIME: return f == MP_TYPE_TIME || f == MP_TYPE_STRING || f == MP_TYPE_TIMESTAMP;
    case MP_TYPE_ARRAY: return f == MP_TYPE_ARRAY && mp_sql_conv_ok(from->elem, to->elem, mode);
    case MP_TYPE_MAP:
        return f == MP_TYPE_MAP && mp_sql_conv_ok(from->key, to->key, mode) &&
               mp_sql_conv_ok(from->elem, to->elem, mode);
    case MP_TYPE_STRUCT:
        if (f != MP_TYPE_STRUCT)
            return false;
        for (size_t i = 0; i < from->nfields; i++) {
            int j = mp_type_struct_find(to, from->fields[i].name);
            if (j >= 0 && !mp_sql_conv_ok(from->fields[i].type, to->fields[j].type, mode))
                return false;
        }
        return true;
    default: return false;
    }
}

/* ---- converting values ---- */

static int64_t int_of(const mp_value *v)
{
    return v->kind == MP_TYPE_INTEGER ? v->u.i32 : v->u.i64;
}

/* Java's (int) / (long) casts of a double: truncation, saturating, NaN 0. */
static int32_t d2i(double d)
{
    if (isnan(d))
        return 0;
    if (d >= 2147483647.0)
        return INT32_MAX;
    if (d <= -2147483648.0)
        return INT32_MIN;
    return (int32_t)d;
}

static int64_t d2l(double d)
{
    if (isnan(d))
        return 0;
    if (d >= 9223372036854775807.0)
        return INT64_MAX;
    if (d <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)d;
}

/* BigDecimal.longValue(): the integer part's low 64 bits. */
static uint64_t dec_low_bits(const mp_value *v)
{
    mp_decimal d = mp_v_get_decimal(v);
    mp_i128 q = d.unscaled / mp_i128_pow10(d.scale);
    return (uint64_t)(mp_u128)q;
}

static double num_to_double(const mp_value *v)
{
    switch (v->kind) {
    case MP_TYPE_INTEGER: return v->u.i32;
    case MP_TYPE_BIGINT: return (double)v->u.i64;
    case MP_TYPE_DOUBLE: return v->u.f64;
    default: {
        mp_decimal d = mp_v_get_decimal(v);
        return mp_decimal_to_double(&d);
    }
    }
}

static int mismatch(const mp_value *v, const mp_type *to, mp_error *e)
{
    char tb[128];
    return mp_error_set(e, MP_EINVAL, "cannot convert %s to %s",
                        mp_type_kind_name((mp_type_kind)v->kind), mp_sql_type_str(to, tb, sizeof tb));
}

static int to_decimal(const mp_value *v, const mp_type *to, int mode, mp_value *out, mp_error *e)
{
    mp_decimal d;
    int rc;
    switch (v->kind) {
    case MP_TYPE_INTEGER:
    case MP_TYPE_BIGINT:
        rc = mp_decimal_from_int64(int_of(v), to->precision, to->scale, &d, e);
        break;
    case MP_TYPE_DECIMAL: {
        mp_decimal x = mp_v_get_decimal(v);
        rc = mp_decimal_rescale(&x, to->precision, to->scale,
                                mode == MP_SQL_CONV_CAST ? MP_ROUND_HALF_UP : MP_ROUND_UNNECESSARY,
                                &d, e);
        break;
    }
    case MP_TYPE_DOUBLE:
        if (mode != MP_SQL_CONV_CAST)
            return mismatch(v, to, e);
        rc = mp_decimal_from_double(v->u.f64, to->precision, to->scale, &d, e);
        break;
    case MP_TYPE_STRING: {
        if (mode != MP_SQL_CONV_CAST)
            return mismatch(v, to, e);
        const char *s = v->u.str;
        size_t n = v->len;
        trim(&s, &n);
        rc = mp_decimal_parse(s, n, to->precision, to->scale, MP_ROUND_HALF_UP, &d, e);
        break;
    }
    default: return mismatch(v, to, e);
    }
    if (rc) {
        /* a value that does not fit is bad data, whatever code the helper chose */
        if (rc != MP_ENOMEM) {
            rc = MP_EINPUT;
            if (e)
                e->code = rc;
        }
        return rc;
    }
    *out = mp_v_decimal(&d);
    return 0;
}

int mp_sql_convert(const mp_value *v, const mp_type *to, int mode, mp_arena *a, mp_value *out,
                   mp_error *e)
{
    if (v->null) {
        *out = mp_v_null(to->kind);
        return 0;
    }
    bool cast = mode == MP_SQL_CONV_CAST;
    mp_type_kind k = (mp_type_kind)v->kind;
    int rc;
    switch (to->kind) {
    case MP_TYPE_NULL: return mismatch(v, to, e);
    case MP_TYPE_BOOLEAN:
        if (k == MP_TYPE_BOOLEAN) {
            *out = *v;
            return 0;
        }
        if (cast && k == MP_TYPE_STRING) {
            const char *s = v->u.str;
            size_t n = v->len;
            bool b = false;
            trim(&s, &n);
            if ((rc = parse_bool(s, n, &b, e)))
                return rc;
            *out = mp_v_bool(b);
            return 0;
        }
        return mismatch(v, to, e);
    case MP_TYPE_INTEGER:
        if (k == MP_TYPE_INTEGER) {
            *out = *v;
            return 0;
        }
        if (!cast)
            return mismatch(v, to, e);
        switch (k) {
        case MP_TYPE_BIGINT: *out = mp_v_int((int32_t)(uint32_t)(uint64_t)v->u.i64); return 0;
        case MP_TYPE_DECIMAL: *out = mp_v_int((int32_t)(uint32_t)dec_low_bits(v)); return 0;
        case MP_TYPE_DOUBLE: *out = mp_v_int(d2i(v->u.f64)); return 0;
        case MP_TYPE_STRING: {
            const char *s = v->u.str;
            size_t n = v->len;
            int64_t x = 0;
            trim(&s, &n);
            if ((rc = mp_sql_parse_int64(s, n, INT32_MIN, INT32_MAX, &x, e)))
                return rc;
            *out = mp_v_int((int32_t)x);
            return 0;
        }
        default: return mismatch(v, to, e);
        }
    case MP_TYPE_BIGINT:
        if (k == MP_TYPE_INTEGER || k == MP_TYPE_BIGINT) {
            *out = mp_v_bigint(int_of(v));
            return 0;
        }
        if (!cast)
            return mismatch(v, to, e);
        switch (k) {
        case MP_TYPE_DECIMAL: *out = mp_v_bigint((int64_t)dec_low_bits(v)); return 0;
        case MP_TYPE_DOUBLE: *out = mp_v_bigint(d2l(v->u.f64)); return 0;
        case MP_TYPE_STRING: {
            const char *s = v->u.str;
            size_t n = v->len;
            int64_t x = 0;
            trim(&s, &n);
            if ((rc = mp_sql_parse_int64(s, n, INT64_MIN, INT64_MAX, &x, e)))
                return rc;
            *out = mp_v_bigint(x);
            return 0;
        }
        default: return mismatch(v, to, e);
        }
    case MP_TYPE_DOUBLE:
        if (is_num(k)) {
            *out = mp_v_double(num_to_double(v));
            return 0;
        }
        if (cast && k == MP_TYPE_STRING) {
            const char *s = v->u.str;
            size_t n = v->len;
            double d = 0;
            trim(&s, &n);
            if ((rc = mp_sql_parse_double(s, n, &d, e)))
                return rc;
            *out = mp_v_double(d);
            return 0;
        }
        return mismatch(v, to, e);
    case MP_TYPE_DECIMAL:
        if (k == MP_TYPE_DECIMAL && v->precision == to->precision && v->scale == to->scale) {
            *out = *v;
            return 0;
        }
        return to_decimal(v, to, mode, out, e);
    case MP_TYPE_STRING:
        if (k == MP_TYPE_STRING) {
            *out = *v;
            return 0;
        }
        if (!cast)
            return mismatch(v, to, e);
        if (!a)
            return mp_error_set(e, MP_EINVAL, "no arena for the result");
        return to_string(v, a, out, e);
    case MP_TYPE_BYTES:
        if (k == MP_TYPE_BYTES) {
            *out = *v;
            return 0;
        }
        if (cast && k == MP_TYPE_STRING) {
            const char *s = v->u.str;
            size_t n = v->len, got, bad;
            trim(&s, &n);
            if (!a)
                return mp_error_set(e, MP_EINVAL, "no arena for the result");
            uint8_t *p = mp_arena_alloc(a, mp_base64_decoded_max(n));
            if (!p)
                return mp_error_set(e, MP_ENOMEM, "out of memory");
            if (mp_base64_decode(s, n, p, &got, &bad))
                return mp_error_set(e, MP_EINPUT, "cannot decode '%.*s' as base64 (offset %zu)",
                                    (int)(n > ECHO ? ECHO : n), s, bad);
            mp_value r = {0};
            r.kind = MP_TYPE_BYTES;
            r.len = (uint32_t)got;
            r.u.bytes = p;
            *out = r;
            return 0;
        }
        return mismatch(v, to, e);
    case MP_TYPE_TIMESTAMP:
        if (k == MP_TYPE_TIMESTAMP) {
            *out = *v;
            return 0;
        }
        if (cast && k == MP_TYPE_DATE) {
            *out = mp_v_timestamp((int64_t)v->u.i32 * MS_PER_DAY);
            return 0;
        }
        if (cast && k == MP_TYPE_STRING) {
            const char *s = v->u.str;
            size_t n = v->len;
            int64_t ms = 0;
            trim(&s, &n);
            if ((rc = mp_sql_parse_timestamp(s, n, &ms, e)))
                return rc;
            *out = mp_v_timestamp(ms);
            return 0;
        }
        return mismatch(v, to, e);
    case MP_TYPE_DATE:
        if (k == MP_TYPE_DATE) {
            *out = *v;
            return 0;
        }
        if (cast && k == MP_TYPE_TIMESTAMP) {
            int64_t ms = v->u.i64, d = ms / MS_PER_DAY;
            if (ms % MS_PER_DAY < 0)
                d--;
            if (d < INT32_MIN || d > INT32_MAX)
                return mp_error_set(e, MP_EINPUT, "TIMESTAMP %lld is out of the DATE range",
                                    (long long)ms);
            *out = mp_v_date((int32_t)d);
            return 0;
        }
        if (cast && k == MP_TYPE_STRING) {
            const char *s = v->u.str;
            size_t n = v->len;
            int32_t d = 0;
            trim(&s, &n);
            if ((rc = mp_sql_parse_date(s, n, &d, e)))
                return rc;
            *out = mp_v_date(d);
            return 0;
        }
        return mismatch(v, to, e);
    case MP_TYPE_TIME:
        if (k == MP_TYPE_TIME) {
            *out = *v;
            return 0;
        }
        if (cast && k == MP_TYPE_TIMESTAMP) {
            int64_t r = v->u.i64 % MS_PER_DAY;
            if (r < 0)
                r += MS_PER_DAY;
            *out = mp_v_time((int32_t)r);
            return 0;
        }
        if (cast && k == MP_TYPE_STRING) {
            const char *s = v->u.str;
            size_t n = v->len;
            int32_t t = 0;
            trim(&s, &n);
            if ((rc = mp_sql_parse_time(s, n, &t, e)))
                return rc;
            *out = mp_v_time(t);
            return 0;
        }
        return mismatch(v, to, e);
    case MP_TYPE_ARRAY: {
        if (k != MP_TYPE_ARRAY)
            return mismatch(v, to, e);
        if (!a)
            return mp_error_set(e, MP_EINVAL, "no arena for the result");
        mp_value r;
        if ((rc = mp_v_array(a, v->len, to->elem, &r)))
            return mp_error_set(e, rc, "out of memory");
        for (uint32_t i = 0; i < v->len; i++)
            if ((rc = mp_sql_convert(&v->u.items[i], to->elem, mode, a, &r.u.items[i], e)))
                return rc;
        *out = r;
        return 0;
    }
    case MP_TYPE_MAP: {
        if (k != MP_TYPE_MAP)
            return mismatch(v, to, e);
        if (!a)
            return mp_error_set(e, MP_EINVAL, "no arena for the result");
        mp_value r;
        if ((rc = mp_v_map(a, v->len, to->key, to->elem, &r)))
            return mp_error_set(e, rc, "out of memory");
        for (uint32_t i = 0; i < 2 * v->len; i++)
            if ((rc = mp_sql_convert(&v->u.items[i], (i & 1) ? to->elem : to->key, mode, a,
                                     &r.u.items[i], e)))
                return rc;
        *out = r;
        return 0;
    }
    case MP_TYPE_STRUCT: {
        if (k != MP_TYPE_STRUCT)
            return mismatch(v, to, e);
        if (!a)
            return mp_error_set(e, MP_EINVAL, "no arena for the result");
        mp_value r;
        if ((rc = mp_v_struct(a, to, &r)))
            return mp_error_set(e, rc, "out of memory");
        const mp_type *st = v->u.st.type;
        for (size_t j = 0; j < to->nfields; j++) {
            int i = st ? mp_type_struct_find(st, to->fields[j].name) : (int)j;
            if (i < 0 || (uint32_t)i >= v->len)
                continue; /* a field the value lacks stays NULL */
            if ((rc = mp_sql_convert(&v->u.st.fields[i], to->fields[j].type, mode, a,
                                     &r.u.st.fields[j], e)))
                return rc;
        }
        *out = r;
        return 0;
    }
    }
    return mismatch(v, to, e);
}

/* ---- public: assignment conversion ---- */

int mp_sql_coerce(const mp_value *v, const mp_type *t, mp_arena *a, mp_value *out, mp_error *err)
{
    if (!v || !t || !out)
        return mp_error_set(err, MP_EINVAL, "mp_sql_coerce: missing argument");
    int rc = mp_sql_convert(v, t, MP_SQL_CONV_COERCE, a, out, err);
    if (rc && rc != MP_ENOMEM) {
        char tb[128];
        *out = mp_v_null(t->kind);
        if (rc == MP_EINVAL && err && strncmp(err->msg, "cannot convert", 14) == 0)
            return rc;
        mp_error_prefix(err, "cannot convert %s to %s", mp_type_kind_name((mp_type_kind)v->kind),
                        mp_sql_type_str(t, tb, sizeof tb));
        if (err)
            err->code = MP_EINVAL;
        return MP_EINVAL;
    }
    return rc;
}
