/* DELIMITED format: one record per message, fields separated by a single
 * character, quoted per RFC 4180 ("a ""b"", c" holds a "b", c), as
 * ksqlDB reads and writes it with Commons CSV. An empty field, quoted or
 * not, is NULL. The number of fields must equal the number of columns.
 *
 * Field text by type: BOOLEAN true/false (any case; anything else is an
 * error, where ksqlDB would read it as false), INTEGER/BIGINT decimal
 * digits with an optional sign (no spaces), DOUBLE as Java reads it,
 * DECIMAL exact, TIMESTAMP milliseconds, DATE days, TIME milliseconds of
 * the day, BYTES base64, STRING as is (valid UTF-8). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "data/codec_internal.h"
#include "data/sql_text.h"

int mp_codec_delimited_check(mp_codec *c, mp_error *e)
{
    char d = c->opts.delimiter;
    if (d == '"' || d == '\r' || d == '\n' || d == '\0')
        return mp_error_set(e, MP_EINVAL, "invalid delimiter 0x%02x", (unsigned char)d);
    for (size_t i = 0; i < c->ncols; i++) {
        const mp_schema_column *col = &c->schema->cols[c->cols[i]];
        mp_type_kind k = col->type->kind;
        if (k == MP_TYPE_ARRAY || k == MP_TYPE_MAP || k == MP_TYPE_STRUCT) {
            char tn[128];
            mp_codec_type_name(col->type, tn, sizeof tn);
            return mp_error_set(e, MP_EINVAL, "column `%s`: DELIMITED does not support %s",
                                col->name, tn);
        }
    }
    return 0;
}

typedef struct span {
    size_t start, len; /* the field's text, quotes excluded */
    bool escaped;      /* holds "" pairs to collapse */
} span;

/* A short, printable excerpt of a field for messages. */
static void snippet(const char *s, size_t n, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 8 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\'')
            out[k++] = (char)c;
        else
            k += (size_t)snprintf(out + k, cap - k, "\\x%02x", c);
    }
    if (k + 8 >= cap && n > 0) {
        out[k++] = '.';
        out[k++] = '.';
        out[k++] = '.';
    }
    out[k] = '\0';
}

static int field_error(const mp_schema_column *col, size_t fieldno, const char *s, size_t n,
                       const char *what, mp_error *e)
{
    char sn[72];
    snippet(s, n, sn, sizeof sn);
    return mp_error_set(e, MP_EINPUT, "column `%s` (field %zu): %s, got '%s'", col->name,
                        fieldno + 1, what, sn);
}

static int parse_field(const mp_schema_column *col, size_t fieldno, const char *s, size_t n,
                       mp_arena *a, mp_value *out, mp_error *e)
{
    mp_type_kind k = col->type->kind;
    int64_t iv;
    int r;
    switch (k) {
    case MP_TYPE_STRING: {
        size_t bad;
        if (!mp_utf8_valid(s, n, &bad))
            return mp_error_set(e, MP_EINPUT, "column `%s` (field %zu): invalid UTF-8 at byte %zu "
                                "of the field", col->name, fieldno + 1, bad);
        return mp_v_string(a, s, n, out) ? mp_error_set(e, MP_ENOMEM, "out of memory") : 0;
    }
    case MP_TYPE_BOOLEAN:
        if (n == 4 && strncasecmp(s, "true", 4) == 0)
            *out = mp_v_bool(true);
        else if (n == 5 && strncasecmp(s, "false", 5) == 0)
            *out = mp_v_bool(false);
        else
            return field_error(col, fieldno, s, n, "expected BOOLEAN (true or false)", e);
        return 0;
    case MP_TYPE_INTEGER:
    case MP_TYPE_DATE:
    case MP_TYPE_TIME:
        r = mp_parse_int64_strict(s, n, INT32_MIN, INT32_MAX, &iv);
        if (r)
            return field_error(col, fieldno, s, n,
                               r == -2 ? (k == MP_TYPE_INTEGER ? "out of range for INTEGER"
                                                               : "out of range")
                               : k == MP_TYPE_INTEGER ? "expected an INTEGER"
                               : k == MP_TYPE_DATE    ? "expected a DATE as days since 1970-01-01"
                                                      : "expected a TIME as milliseconds of the day",
                               e);
        *out = k == MP_TYPE_INTEGER ? mp_v_int((int32_t)iv)
               : k == MP_TYPE_DATE  ? mp_v_date((int32_t)iv)
                                    : mp_v_time((int32_t)iv);
        return 0;
    case MP_TYPE_BIGINT:
    case MP_TYPE_TIMESTAMP:
        r = mp_parse_int64_strict(s, n, INT64_MIN, INT64_MAX, &iv);
        if (r)
            return field_error(col, fieldno, s, n,
                               r == -2 ? "out of range for BIGINT"
                               : k == MP_TYPE_BIGINT
                                   ? "expected a BIGINT"
                                   : "expected a TIMESTAMP as milliseconds since the epoch",
                               e);
        *out = k == MP_TYPE_BIGINT ? mp_v_bigint(iv) : mp_v_timestamp(iv);
        return 0;
    case MP_TYPE_DOUBLE: {
        double d;
        if (mp_parse_double_text(s, n, &d))
            return field_error(col, fieldno, s, n, "expected a DOUBLE", e);
        *out = mp_v_double(d);
        return 0;
    }
    case MP_TYPE_DECIMAL: {
        mp_decimal d;
        mp_error sub;
        if (mp_decimal_parse(s, n, col->type->precision, col->type->scale, MP_ROUND_UNNECESSARY,
                             &d, &sub))
            return mp_error_set(e, MP_EINPUT, "column `%s` (field %zu): %s", col->name,
                                fieldno + 1, sub.msg);
        *out = mp_v_decimal(&d);
        return 0;
    }
    case MP_TYPE_BYTES: {
        uint8_t *buf = mp_arena_alloc(a, mp_base64_decoded_max(n));
        size_t outlen, bad;
        if (!buf)
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        if (mp_base64_decode(s, n, buf, &outlen, &bad))
            return mp_error_set(e, MP_EINPUT, "column `%s` (field %zu): invalid base64 at offset "
                                "%zu", col->name, fieldno + 1, bad);
        *out = (mp_value){.kind = MP_TYPE_BYTES, .len = (uint32_t)outlen};
        out->u.bytes = buf;
        return 0;
    }
    default:
        return mp_error_set(e, MP_EINVAL, "column `%s`: type not supported by DELIMITED",
                            col->name);
    }
}

int mp_codec_delimited_decode(const mp_codec *c, const void *data, size_t len, mp_arena *a,
                              mp_value *row, mp_error *e)
{
    const char *s = data;
    const char delim = c->opts.delimiter;
    /* One record per message; a single trailing line break is tolerated. */
    if (len > 0 && s[len - 1] == '\n')
        len--;
    if (len > 0 && s[len - 1] == '\r')
        len--;
    if (len == 0) {
        if (c->ncols == 0)
            return 0; /* nothing expected, nothing there */
        return mp_error_set(e, MP_EINPUT, "empty record: no fields (expected %zu)", c->ncols);
    }
    span local[32];
    span *sp = local;
    size_t cap = 32, nf = 0;
    size_t i = 0;
    for (;;) {
        span f = {0};
        if (i < len && s[i] == '"') {
            size_t j = i + 1;
            f.start = j;
            for (;;) {
                const char *q = j < len ? memchr(s + j, '"', len - j) : NULL;
                if (!q)
                    return mp_error_set(e, MP_EINPUT,
                                        "field %zu: unterminated quoted field starting at byte %zu",
                                        nf + 1, i);
                j = (size_t)(q - s);
                if (j + 1 < len && s[j + 1] == '"') {
                    f.escaped = true;
                    j += 2;
                    continue;
                }
                break;
            }
            f.len = j - f.start;
            i = j + 1;
            if (i < len && s[i] != delim)
                return mp_error_set(e, MP_EINPUT,
                                    "field %zu: unexpected character after the closing quote at "
                                    "byte %zu",
                                    nf + 1, i);
        } else {
            f.start = i;
            while (i < len && s[i] != delim) {
                if (s[i] == '\n' || s[i] == '\r')
                    return mp_error_set(e, MP_EINPUT,
                                        "field %zu: line break at byte %zu outside quotes (one "
                                        "record per message)",
                                        nf + 1, i);
                i++;
            }
            f.len = i - f.start;
        }
        if (nf == cap) {
            span *bigger = mp_arena_alloc(a, 2 * cap * sizeof *bigger);
            if (!bigger)
                return mp_error_set(e, MP_ENOMEM, "out of memory");
            memcpy(bigger, sp, nf * sizeof *sp);
            sp = bigger;
            cap *= 2;
        }
        sp[nf++] = f;
        if (i < len) {
            i++; /* the delimiter; a trailing one starts an empty last field */
            continue;
        }
        break;
    }
    if (nf != c->ncols)
        return mp_error_set(e, MP_EINPUT, "wrong number of fields: expected %zu column%s, got %zu",
                            c->ncols, c->ncols == 1 ? "" : "s", nf);
    for (size_t f = 0; f < nf; f++) {
        const mp_schema_column *col = &c->schema->cols[c->cols[f]];
        mp_value *out = &row[c->cols[f]];
        if (sp[f].len == 0) {
            *out = mp_v_null_of(col->type);
            continue;
        }
        const char *text = s + sp[f].start;
        size_t n = sp[f].len;
        if (sp[f].escaped) {
            char *u = mp_arena_alloc(a, n);
            if (!u)
                return mp_error_set(e, MP_ENOMEM, "out of memory");
            size_t k = 0;
            for (size_t j = 0; j < n; j++) {
                u[k++] = text[j];
                if (text[j] == '"')
                    j++; /* skip the second of the pair */
            }
            text = u;
            n = k;
        }
        int rc = parse_field(col, f, text, n, a, out, e);
        if (rc)
            return rc;
    }
    return 0;
}

/* Commons CSV's minimal quoting: quote when the text starts with a
 * character <= '#', ends with one <= ' ', or holds the delimiter, a quote
 * or a line break; an empty first field is written as "". */
static void put_field(mp_buf *out, const char *s, size_t n, char delim, bool first)
{
    bool quote = false;
    if (n == 0) {
        quote = first;
    } else if ((unsigned char)s[0] <= '#') {
        quote = true;
    } else {
        for (size_t i = 0; i < n && !quote; i++)
            quote = s[i] == delim || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
        if (!quote && (unsigned char)s[n - 1] <= ' ')
            quote = true;
    }
    if (!quote) {
        mp_buf_append(out, s, n);
        return;
    }
    mp_buf_putc(out, '"');
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') {
            mp_buf_append(out, s + from, i + 1 - from);
            mp_buf_putc(out, '"');
            from = i + 1;
        }
    }
    mp_buf_append(out, s + from, n - from);
    mp_buf_putc(out, '"');
}

int mp_codec_delimited_encode(const mp_codec *c, const mp_value *row, mp_buf *out, mp_error *e)
{
    const char delim = c->opts.delimiter;
    for (size_t f = 0; f < c->ncols; f++) {
        const mp_schema_column *col = &c->schema->cols[c->cols[f]];
        const mp_value *v = &row[c->cols[f]];
        if (f)
            mp_buf_putc(out, delim);
        if (v->null)
            continue;
        if (v->kind != col->type->kind)
            return mp_error_set(e, MP_EINVAL, "column `%s`: value of kind %s, column is %s",
                                col->name, mp_type_kind_name(v->kind),
                                mp_type_kind_name(col->type->kind));
        if (v->kind == MP_TYPE_STRING) {
            put_field(out, v->u.str, v->len, delim, f == 0);
        } else if (v->kind == MP_TYPE_BYTES) {
            mp_buf tmp = {0};
            mp_base64_encode(v->u.bytes, v->len, &tmp);
            put_field(out, tmp.data ? tmp.data : "", tmp.len, delim, f == 0);
            if (tmp.oom)
                out->oom = 1;
            mp_buf_free(&tmp);
        } else {
            char tmp[64];
            size_t n;
            switch (v->kind) {
            case MP_TYPE_BOOLEAN:
                n = (size_t)snprintf(tmp, sizeof tmp, "%s", v->u.b ? "true" : "false");
                break;
            case MP_TYPE_INTEGER:
            case MP_TYPE_DATE:
            case MP_TYPE_TIME:
                n = mp_format_int64(v->u.i32, tmp);
                break;
            case MP_TYPE_BIGINT:
            case MP_TYPE_TIMESTAMP:
                n = mp_format_int64(v->u.i64, tmp);
                break;
            case MP_TYPE_DOUBLE:
                n = mp_format_double_java(v->u.f64, tmp);
                break;
            case MP_TYPE_DECIMAL: {
                mp_decimal d = mp_v_get_decimal(v);
                n = mp_decimal_format(&d, tmp);
                break;
            }
            default:
                return mp_error_set(e, MP_EINVAL, "column `%s`: type not supported by DELIMITED",
                                    col->name);
            }
            put_field(out, tmp, n, delim, f == 0);
        }
    }
    return 0;
}
