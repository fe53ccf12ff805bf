/* Codec creation and dispatch to the per-format files. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/codec_internal.h"

static const char *const FORMAT_NAMES[] = {"NONE", "KAFKA", "JSON", "DELIMITED"};

int mp_format_parse(const char *name, mp_format *out, mp_error *e)
{
    for (int i = 0; i < 4; i++) {
        if (name && strcasecmp(name, FORMAT_NAMES[i]) == 0) {
            *out = (mp_format)i;
            return 0;
        }
    }
    return mp_error_set(e, MP_EINVAL,
                        "unknown format '%s' (expected NONE, KAFKA, JSON or DELIMITED)",
                        name ? name : "");
}

const char *mp_format_name(mp_format f)
{
    return (unsigned)f < 4 ? FORMAT_NAMES[f] : "?";
}

int mp_delimiter_parse(const char *text, char *out, mp_error *e)
{
    if (text && strcasecmp(text, "TAB") == 0) {
        *out = '\t';
        return 0;
    }
    if (text && strcasecmp(text, "SPACE") == 0) {
        *out = ' ';
        return 0;
    }
    if (!text || strlen(text) != 1)
        return mp_error_set(e, MP_EINVAL,
                            "invalid delimiter '%s': use a single character, or TAB or SPACE",
                            text ? text : "");
    if (text[0] == ' ' || text[0] == '\t')
        return mp_error_set(e, MP_EINVAL,
                            "invalid delimiter: write SPACE or TAB instead of the character");
    if (text[0] == '"' || text[0] == '\r' || text[0] == '\n')
        return mp_error_set(e, MP_EINVAL, "invalid delimiter: a quote or line break cannot "
                                          "separate fields");
    *out = text[0];
    return 0;
}

void mp_codec_type_name(const mp_type *t, char *out, size_t n)
{
    mp_buf b = {0};
    mp_type_print(t, &b);
    snprintf(out, n, "%s", b.data ? b.data : mp_type_kind_name(t->kind));
    mp_buf_free(&b);
}

int mp_codec_create(const mp_schema *schema, mp_column_ns ns, const mp_codec_opts *opts,
                    mp_codec **out, mp_error *e)
{
    *out = NULL;
    if (ns != MP_COL_KEY && ns != MP_COL_VALUE)
        return mp_error_set(e, MP_EINVAL, "codecs read KEY or VALUE columns");
    mp_codec *c = calloc(1, sizeof *c);
    if (!c)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    c->opts = *opts;
    c->format = opts->format;
    c->schema = schema;
    c->ns = ns;
    if (c->opts.format == MP_FORMAT_DELIMITED && c->opts.delimiter == 0)
        c->opts.delimiter = ',';
    if (c->opts.max_depth <= 0)
        c->opts.max_depth = MP_JSON_DEFAULT_MAX_DEPTH;
    if (c->opts.max_depth > MP_JSON_MAX_DEPTH_LIMIT)
        c->opts.max_depth = MP_JSON_MAX_DEPTH_LIMIT;
    c->cols = malloc((schema->ncols ? schema->ncols : 1) * sizeof *c->cols);
    if (!c->cols) {
        free(c);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < schema->ncols; i++)
        if (schema->cols[i].ns == ns)
            c->cols[c->ncols++] = i;
    const char *what = ns == MP_COL_KEY ? "key" : "value";
    int rc = 0;
    if (c->opts.unwrapped && c->ncols != 1 && c->format == MP_FORMAT_JSON)
        rc = mp_error_set(e, MP_EINVAL,
                          "an unwrapped %s needs exactly one column, the schema has %zu", what,
                          c->ncols);
    else if (c->format == MP_FORMAT_NONE && c->ncols != 0)
        rc = mp_error_set(e, MP_EINVAL, "format NONE cannot carry %s columns (%zu declared)",
                          what, c->ncols);
    else if (c->format == MP_FORMAT_KAFKA)
        rc = mp_codec_kafka_check(c, e);
    else if (c->format == MP_FORMAT_DELIMITED)
        rc = mp_codec_delimited_check(c, e);
    else if (c->format == MP_FORMAT_JSON)
        rc = mp_codec_json_build(c, e);
    else if ((unsigned)c->format > MP_FORMAT_DELIMITED)
        rc = mp_error_set(e, MP_EINVAL, "unknown format %d", (int)c->format);
    if (rc) {
        mp_error_prefix(e, "%s format %s", what, mp_format_name(c->format));
        mp_codec_destroy(c);
        return rc;
    }
    *out = c;
    return 0;
}

void mp_codec_destroy(mp_codec *c)
{
    if (!c)
        return;
    if (c->format == MP_FORMAT_JSON)
        mp_codec_json_free(c);
    free(c->cols);
    free(c);
}

mp_format mp_codec_format(const mp_codec *c)
{
    return c->format;
}

size_t mp_codec_ncols(const mp_codec *c)
{
    return c->ncols;
}

size_t mp_codec_column(const mp_codec *c, size_t i)
{
    return c->cols[i];
}

static void set_nulls(const mp_codec *c, mp_value *row)
{
    for (size_t i = 0; i < c->ncols; i++)
        row[c->cols[i]] = mp_v_null_of(c->schema->cols[c->cols[i]].type);
}

int mp_codec_decode(const mp_codec *c, const void *data, size_t len, mp_arena *a,
                    mp_value *row, mp_error *e)
{
    if (c->format == MP_FORMAT_NONE)
        return 0;
    if (!data) {
        set_nulls(c, row);
        return MP_CODEC_NULL;
    }
    switch (c->format) {
    case MP_FORMAT_KAFKA:
        return mp_codec_kafka_decode(c, data, len, a, row, e);
    case MP_FORMAT_DELIMITED:
        return mp_codec_delimited_decode(c, data, len, a, row, e);
    case MP_FORMAT_JSON:
        return mp_codec_json_decode(c, data, len, a, row, e);
    default:
        return mp_error_set(e, MP_EINVAL, "unknown format");
    }
}

int mp_codec_encode(const mp_codec *c, const mp_value *row, mp_buf *out, mp_error *e)
{
    int rc;
    switch (c->format) {
    case MP_FORMAT_NONE:
        return 0;
    case MP_FORMAT_KAFKA:
        rc = mp_codec_kafka_encode(c, row, out, e);
        break;
    case MP_FORMAT_DELIMITED:
        rc = mp_codec_delimited_encode(c, row, out, e);
        break;
    case MP_FORMAT_JSON:
        rc = mp_codec_json_encode(c, row, out, e);
        break;
    default:
        return mp_error_set(e, MP_EINVAL, "unknown format");
    }
    if (!rc && out->oom)
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
    return rc;
}

bool mp_codec_encode_is_null(const mp_codec *c, const mp_value *row)
{
    if (c->format == MP_FORMAT_NONE)
        return true;
    if (c->format == MP_FORMAT_KAFKA || (c->format == MP_FORMAT_JSON && c->opts.unwrapped))
        return c->ncols == 1 && row[c->cols[0]].null;
    return false;
}

int mp_parse_int64_strict(const char *s, size_t n, int64_t lo, int64_t hi, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i == n)
        return -1;
    /* Accumulate negatively so INT64_MIN parses without overflow. */
    int64_t v = 0;
    bool range = false;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        int d = s[i] - '0';
        if (v < (INT64_MIN + d) / 10)
            range = true;
        else
            v = v * 10 - d;
    }
    if (range)
        return -2;
    if (!neg) {
        if (v == INT64_MIN)
            return -2;
        v = -v;
    }
    if (v < lo || v > hi)
        return -2;
    *out = v;
    return 0;
}

int mp_parse_double_text(const char *s, size_t n, double *out)
{
    /* Java trims characters <= ' ' from both ends. */
    while (n > 0 && (unsigned char)s[0] <= ' ') {
        s++;
        n--;
    }
    while (n > 0 && (unsigned char)s[n - 1] <= ' ')
        n--;
    if (n == 0 || n > 400)
        return -1;
    size_t i = 0;
    bool neg = false;
    if (s[i] == '+' || s[i] == '-')
        neg = s[i++] == '-';
    if (n - i == 3 && memcmp(s + i, "NaN", 3) == 0) {
        *out = NAN;
        return 0;
    }
    if (n - i == 8 && memcmp(s + i, "Infinity", 8) == 0) {
        *out = neg ? -INFINITY : INFINITY;
        return 0;
    }
    size_t digits = 0;
    size_t j = i;
    /* The mantissa's first 19 digits and the fraction digits among them,
     * for the exact fast path below. */
    uint64_t mant = 0;
    int kept = 0, frac = 0;
    bool lost = false;
    while (j < n && s[j] >= '0' && s[j] <= '9') {
        if (kept < 19) {
            mant = mant * 10 + (uint64_t)(s[j] - '0');
            kept += mant != 0;
        } else {
            lost = true;
        }
        j++, digits++;
    }
    if (j < n && s[j] == '.') {
        j++;
        while (j < n && s[j] >= '0' && s[j] <= '9') {
            if (kept < 19) {
                mant = mant * 10 + (uint64_t)(s[j] - '0');
                kept += mant != 0;
                frac++;
            } else {
                lost = true;
            }
            j++, digits++;
        }
    }
    if (digits == 0)
        return -1;
    long ex = 0;
    if (j < n && (s[j] == 'e' || s[j] == 'E')) {
        j++;
        bool eneg = false;
        if (j < n && (s[j] == '+' || s[j] == '-'))
            eneg = s[j++] == '-';
        size_t ed = 0;
        while (j < n && s[j] >= '0' && s[j] <= '9') {
            if (ex < 100000)
                ex = ex * 10 + (s[j] - '0');
            j++, ed++;
        }
        if (ed == 0)
            return -1;
        if (eneg)
            ex = -ex;
    }
    if (j != n)
        return -1;
    long e10 = ex - frac;
    if (!lost && mant < (1ULL << 53) && e10 >= -22 && e10 <= 22) {
        /* Exact operands, one correctly rounded operation: as strtod. */
        static const double p10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
        double v = e10 >= 0 ? (double)mant * p10[e10] : (double)mant / p10[-e10];
        *out = neg ? -v : v;
        return 0;
    }
    char buf[408];
    memcpy(buf, s, n);
    buf[n] = '\0';
    *out = strtod(buf, NULL);
    return 0;
}
