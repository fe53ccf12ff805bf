/* JSON format: a purpose-built decoder for the record path. It reads the
 * bytes once, straight into typed values in the caller's arena (no DOM, no
 * malloc), matching object keys to columns through a plan compiled from
 * the schema when the codec is made.
 *
 * Conversions follow ksqlDB's JSON deserializer, a little stricter where
 * ksqlDB would silently change data:
 *   BOOLEAN    true / false only (a string "true" is an error, as in ksqlDB)
 *   INTEGER, BIGINT, TIMESTAMP (ms), DATE (days), TIME (ms)
 *              a JSON number that is an exact integer in range (1, 1.0,
 *              1e2), or a string holding [+-]digits; ksqlDB truncates 1.5
 *              and wraps out-of-range numbers, we report them
 *   DOUBLE     a number, or a string Java's Double.parseDouble accepts
 *   DECIMAL    a number or a string, exactly from its text; digits beyond
 *              the scale or the precision are an error (ksqlDB: ensureFit)
 *   STRING     a string; a number or boolean as its JSON text; an object
 *              as compact JSON; an array as "[a, b]" of its elements'
 *              texts (ksqlDB's processString)
 *   BYTES      a base64 string
 *   ARRAY, MAP, STRUCT   arrays and objects, recursively; MAP keys are the
 *              object's keys (duplicate keys: the last wins), STRUCT fields
 *              match keys case-insensitively like columns.
 * Syntax is RFC 8259 strict (plus a leading UTF-8 BOM and the 5-byte
 * JSON_SR schema-registry prefix, which ksqlDB's JSON format also skips):
 * invalid UTF-8, lone surrogates in \u escapes, control characters in
 * strings, leading zeros and data after the value are errors (Jackson
 * would ignore trailing data). Nesting deeper than max_depth is an error. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/codec_internal.h"
#include "data/sql_text.h"

/* ======================================================================
 * The plan: one node per type position, with a name index for structs.
 * ====================================================================== */

typedef struct jnode jnode;

typedef struct jfield {
    const char *name;
    size_t len;
    uint32_t hash; /* of name */
    jnode *node;
    size_t slot; /* where the value goes: schema index (top) or field index */
} jfield;

struct jnode {
    const mp_type *type;
    jnode *elem; /* ARRAY element, MAP value */
    size_t nfields;
    jfield *fields;
    uint32_t *table; /* open addressing: field index + 1, 0 = empty */
    uint32_t mask;
    bool all_upper;  /* no field name has a lower-case ASCII letter */
};

struct mp_json_plan {
    jnode root;     /* the record: fields are the codec's columns */
    jnode *single;  /* unwrapped: the only column's node */
    size_t single_slot;
};

static uint32_t fnv1a(const void *p, size_t n)
{
    const uint8_t *s = p;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * 16777619u;
    return h;
}

static uint8_t ascii_upper(uint8_t c)
{
    return (c >= 'a' && c <= 'z') ? (uint8_t)(c - 32) : c;
}

static void node_free(jnode *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->nfields; i++) {
        node_free(n->fields[i].node);
        free(n->fields[i].node);
    }
    free(n->fields);
    free(n->table);
    node_free(n->elem);
    free(n->elem);
}

static int node_build(jnode *n, const mp_type *t, bool any_keys, mp_error *e);

/* Fills n's field table from (name, type, slot) triples. */
static int node_fields(jnode *n, size_t count, const char *const *names,
                       const mp_type *const *types, const size_t *slots, bool any_keys,
                       mp_error *e)
{
    n->fields = calloc(count ? count : 1, sizeof *n->fields);
    uint32_t size = 8;
    while (size < 2 * count)
        size *= 2;
    n->table = calloc(size, sizeof *n->table);
    n->mask = size - 1;
    if (!n->fields || !n->table)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    n->nfields = count; /* only now: node_free walks the fields */
    n->all_upper = true;
    for (size_t i = 0; i < count; i++) {
        for (const char *c = names[i]; *c; c++)
            if (*c >= 'a' && *c <= 'z')
                n->all_upper = false;
        jfield *f = &n->fields[i];
        f->name = names[i];
        f->len = strlen(names[i]);
        f->hash = fnv1a(f->name, f->len);
        f->slot = slots[i];
        f->node = calloc(1, sizeof *f->node);
        if (!f->node)
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        int rc = node_build(f->node, types[i], any_keys, e);
        if (rc) {
            mp_error_prefix(e, "`%s`", f->name);
            return rc;
        }
        uint32_t h = f->hash & n->mask;
        while (n->table[h])
            h = (h + 1) & n->mask;
        n->table[h] = (uint32_t)i + 1;
    }
    return 0;
}

/* Map keys an internal topic may carry besides STRING, as their text. */
static bool text_key_kind(mp_type_kind k)
{
    return k == MP_TYPE_INTEGER || k == MP_TYPE_BIGINT || k == MP_TYPE_DOUBLE || k == MP_TYPE_BOOLEAN;
}

static int node_build(jnode *n, const mp_type *t, bool any_keys, mp_error *e)
{
    n->type = t;
    switch (t->kind) {
    case MP_TYPE_ARRAY:
        n->elem = calloc(1, sizeof *n->elem);
        if (!n->elem)
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        return node_build(n->elem, t->elem, any_keys, e);
    case MP_TYPE_MAP:
        if (t->key->kind != MP_TYPE_STRING && !(any_keys && text_key_kind(t->key->kind))) {
            char tn[128];
            mp_codec_type_name(t, tn, sizeof tn);
            return mp_error_set(e, MP_EINVAL, "JSON supports only MAPs with STRING keys, not %s",
                                tn);
        }
        n->elem = calloc(1, sizeof *n->elem);
        if (!n->elem)
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        return node_build(n->elem, t->elem, any_keys, e);
    case MP_TYPE_STRUCT: {
        size_t k = t->nfields;
        const char **names = malloc((k ? k : 1) * sizeof *names);
        const mp_type **types = malloc((k ? k : 1) * sizeof *types);
        size_t *slots = malloc((k ? k : 1) * sizeof *slots);
        int rc;
        if (!names || !types || !slots) {
            rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        } else {
            for (size_t i = 0; i < k; i++) {
                names[i] = t->fields[i].name;
                types[i] = t->fields[i].type;
                slots[i] = i;
            }
            rc = node_fields(n, k, names, types, slots, any_keys, e);
        }
        free(names);
        free(types);
        free(slots);
        return rc;
    }
    default:
        return 0;
    }
}

int mp_codec_json_build(mp_codec *c, mp_error *e)
{
    mp_json_plan *pl = calloc(1, sizeof *pl);
    if (!pl)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    c->json = pl;
    size_t k = c->ncols;
    const char **names = malloc((k ? k : 1) * sizeof *names);
    const mp_type **types = malloc((k ? k : 1) * sizeof *types);
    int rc;
    if (!names || !types) {
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
    } else {
        for (size_t i = 0; i < k; i++) {
            names[i] = c->schema->cols[c->cols[i]].name;
            types[i] = c->schema->cols[c->cols[i]].type;
        }
        static const mp_type record = {.kind = MP_TYPE_STRUCT};
        pl->root.type = &record;
        rc = node_fields(&pl->root, k, names, types, c->cols, c->opts.internal, e);
        if (!rc && c->opts.unwrapped) {
            pl->single = pl->root.fields[0].node;
            pl->single_slot = c->cols[0];
        }
    }
    free(names);
    free(types);
    return rc;
}

void mp_codec_json_free(mp_codec *c)
{
    if (!c->json)
        return;
    node_free(&c->json->root);
    free(c->json);
    c->json = NULL;
}

/* ======================================================================
 * The decoder.
 * ====================================================================== */

typedef struct jpath {
    const char *name; /* NULL for an array index */
    uint32_t len;
    uint32_t idx;
} jpath;

#define PATH_INLINE 66

typedef struct jd {
    const uint8_t *p, *end, *base;
    mp_arena *a;
    mp_error *e;
    const mp_codec *c;
    int depth, max_depth;
    int plen;
    jpath *path;
} jd;

static const mp_type STRING_TYPE = {.kind = MP_TYPE_STRING};
static const jnode STRING_NODE = {.type = &STRING_TYPE};

static inline void ws(jd *d)
{
    const uint8_t *p = d->p, *end = d->end;
    /* Compact JSON has no whitespace: one comparison in the common case. */
    if (p < end && *p > ' ')
        return;
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    d->p = p;
}

static void path_text(const jd *d, char *out, size_t cap)
{
    size_t k = (size_t)snprintf(out, cap, "$");
    for (int i = 0; i < d->plen && k + 1 < cap; i++) {
        const jpath *pp = &d->path[i];
        int n;
        if (pp->name)
            n = snprintf(out + k, cap - k, ".%.*s", (int)(pp->len > 64 ? 64 : pp->len), pp->name);
        else
            n = snprintf(out + k, cap - k, "[%u]", pp->idx);
        if (n < 0)
            break;
        k += (size_t)n;
        if (k >= cap)
            k = cap - 1;
    }
}

/* The column being decoded, for messages. */
static void column_text(const jd *d, char *out, size_t cap)
{
    if (d->c->opts.unwrapped)
        snprintf(out, cap, "%s", d->c->schema->cols[d->c->cols[0]].name);
    else if (d->plen > 0 && d->path[0].name)
        snprintf(out, cap, "%.*s", (int)(d->path[0].len > 64 ? 64 : d->path[0].len),
                 d->path[0].name);
    else
        out[0] = '\0';
}

static int syntax_error(jd *d, const char *what)
{
    char path[256];
    path_text(d, path, sizeof path);
    size_t at = (size_t)(d->p - d->base);
    if (d->plen > 0)
        return mp_error_set(d->e, MP_EINPUT, "invalid JSON at byte %zu (in %s): %s", at, path,
                            what);
    return mp_error_set(d->e, MP_EINPUT, "invalid JSON at byte %zu: %s", at, what);
}

static int value_error(jd *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int value_error(jd *d, const char *fmt, ...)
{
    char what[512], path[256], col[80];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    path_text(d, path, sizeof path);
    column_text(d, col, sizeof col);
    return mp_error_set(d->e, MP_EINPUT, "column `%s` (%s): %s", col, path, what);
}

static const char *token_kind(jd *d)
{
    if (d->p >= d->end)
        return "end of input";
    switch (*d->p) {
    case '"': return "a string";
    case '{': return "an object";
    case '[': return "an array";
    case 't':
    case 'f': return "a boolean";
    case 'n': return "null";
    default: return (*d->p == '-' || (*d->p >= '0' && *d->p <= '9')) ? "a number" : "invalid JSON";
    }
}

static int skip_value(jd *d);

/* The value at d->p does not fit type t. A malformed token is reported as
 * the syntax error it is rather than as a type mismatch. */
static int type_error(jd *d, const mp_type *t)
{
    char tn[128];
    const uint8_t *at = d->p;
    int rc = skip_value(d);
    if (rc)
        return rc;
    d->p = at;
    const char *got = token_kind(d);
    mp_codec_type_name(t, tn, sizeof tn);
    return value_error(d, "expected %s, got %s", tn, got);
}

static int oom(jd *d)
{
    return mp_error_set(d->e, MP_ENOMEM, "out of memory");
}

static int literal(jd *d, const char *word, size_t n)
{
    if ((size_t)(d->end - d->p) < n || memcmp(d->p, word, n) != 0)
        return syntax_error(d, "invalid literal");
    d->p += n;
    return 0;
}

static int push(jd *d)
{
    if (d->depth >= d->max_depth)
        return value_error(d, "nested deeper than %d levels", d->max_depth);
    d->depth++;
    return 0;
}

/* ---- numbers ---- */

typedef struct jnum {
    const uint8_t *s;
    size_t n;
    bool neg, is_int;
    uint64_t mant;   /* the first 19 significant digits (int and fraction) */
    int mant_digits; /* how many digits went into mant */
    bool truncated;  /* more significant digits than mant holds */
    long frac_in_mant;
    long exp;        /* the exponent part (clamped) */
} jnum;

static int scan_number(jd *d, jnum *t)
{
    const uint8_t *p = d->p, *end = d->end;
    memset(t, 0, sizeof *t);
    t->s = p;
    if (p < end && *p == '-') {
        t->neg = true;
        p++;
    }
    if (p >= end || *p < '0' || *p > '9') {
        d->p = p;
        return syntax_error(d, "invalid number");
    }
    t->is_int = true;
    if (*p == '0') {
        p++;
        if (p < end && *p >= '0' && *p <= '9') {
            d->p = p;
            return syntax_error(d, "invalid number: leading zero");
        }
    } else {
        while (p < end && *p >= '0' && *p <= '9') {
            if (t->mant_digits < 19) {
                t->mant = t->mant * 10 + (uint64_t)(*p - '0');
                t->mant_digits++;
            } else {
                t->truncated = true;
                t->exp++; /* the dropped integer digit still scales the value */
            }
            p++;
        }
    }
    if (p < end && *p == '.') {
        p++;
        if (p >= end || *p < '0' || *p > '9') {
            d->p = p;
            return syntax_error(d, "invalid number: no digits after '.'");
        }
        t->is_int = false;
        while (p < end && *p >= '0' && *p <= '9') {
            if (t->mant_digits < 19) {
                /* Leading zeros scale the value but take no digit slot. */
                t->mant = t->mant * 10 + (uint64_t)(*p - '0');
                if (t->mant != 0)
                    t->mant_digits++;
                t->frac_in_mant++;
            } else {
                t->truncated = true;
            }
            p++;
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        bool eneg = false;
        if (p < end && (*p == '+' || *p == '-'))
            eneg = *p++ == '-';
        if (p >= end || *p < '0' || *p > '9') {
            d->p = p;
            return syntax_error(d, "invalid number: no digits in the exponent");
        }
        t->is_int = false;
        long x = 0;
        while (p < end && *p >= '0' && *p <= '9') {
            if (x < 100000000)
                x = x * 10 + (*p - '0');
            p++;
        }
        t->exp += eneg ? -x : x;
    }
    t->n = (size_t)(p - t->s);
    d->p = p;
    return 0;
}

static const double POW10_EXACT[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                       1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                       1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static double number_to_double(const jnum *t)
{
    long e10 = t->exp - t->frac_in_mant;
    if (!t->truncated && t->mant < (1ULL << 53) && e10 >= -22 && e10 <= 22) {
        /* Both operands exact: one correctly rounded operation. */
        double m = (double)t->mant;
        double v = e10 >= 0 ? m * POW10_EXACT[e10] : m / POW10_EXACT[-e10];
        return t->neg ? -v : v;
    }
    char local[128];
    char *buf = local;
    if (t->n >= sizeof local) {
        buf = malloc(t->n + 1);
        if (!buf)
            return NAN;
    }
    memcpy(buf, t->s, t->n);
    buf[t->n] = '\0';
    double v = strtod(buf, NULL);
    if (buf != local)
        free(buf);
    return v;
}

/* An exact integer in [lo, hi] from a number token. */
static int number_to_int(jd *d, const jnum *t, const mp_type *type, int64_t lo, int64_t hi,
                         int64_t *out)
{
    int len = t->n > 40 ? 40 : (int)t->n;
    const char *more = t->n > 40 ? "..." : "";
    if (t->is_int && !t->truncated) {
        uint64_t m = t->mant;
        if (t->neg ? m > (uint64_t)INT64_MAX + 1 : m > (uint64_t)INT64_MAX)
            goto range;
        int64_t v = t->neg ? (int64_t)(0 - m) : (int64_t)m;
        if (v < lo || v > hi)
            goto range;
        *out = v;
        return 0;
    }
    mp_decimal dec;
    if (mp_decimal_parse((const char *)t->s, t->n, 38, 0, MP_ROUND_UNNECESSARY, &dec, NULL) == 0) {
        if (dec.unscaled < lo || dec.unscaled > hi)
            goto range;
        *out = (int64_t)dec.unscaled;
        return 0;
    }
    if (mp_decimal_parse((const char *)t->s, t->n, 38, 0, MP_ROUND_HALF_UP, &dec, NULL) == 0)
        return value_error(d, "%.*s%s is not an integer (%s)", len, (const char *)t->s, more,
                           mp_type_kind_name(type->kind));
range:
    return value_error(d, "%.*s%s is out of range for %s", len, (const char *)t->s, more,
                       mp_type_kind_name(type->kind));
}

/* ---- strings ---- */

static int hex4(const uint8_t *p, uint32_t *v)
{
    uint32_t x = 0;
    for (int i = 0; i < 4; i++) {
        uint8_t c = p[i];
        x <<= 4;
        if (c >= '0' && c <= '9')
            x |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            x |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            x |= (uint32_t)(c - 'A' + 10);
        else
            return -1;
    }
    *v = x;
    return 0;
}

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0. */
static size_t utf8_seq(const uint8_t *p, size_t avail)
{
    size_t bad;
    size_t need = p[0] >= 0xF0 ? 4 : p[0] >= 0xE0 ? 3 : 2;
    if (avail < need)
        need = avail;
    return mp_utf8_valid(p, need, &bad) && (p[0] >= 0xC2) ? need : 0;
}

/* Scans the string at d->p (which is '"'), validating escapes and UTF-8.
 * On return *s, *n cover the raw text between the quotes. */
static int scan_string(jd *d, const uint8_t **s, size_t *n, bool *esc)
{
    const uint8_t *p = d->p + 1, *end = d->end;
    bool has_esc = false;
    for (;;) {
        /* Eight plain bytes at a time: none is '"', '\\', a control
         * character or non-ASCII (each test flags a byte's top bit). */
        while (end - p >= 8) {
            uint64_t w;
            memcpy(&w, p, 8);
            const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
            uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
            uint64_t special = (((q - ones) & ~q) | ((b - ones) & ~b) | (w - ones * 0x20) | w) & high;
            if (special) {
                /* Borrows only flag bytes above a truly special one, so
                 * the lowest flag is exact. */
                p += __builtin_ctzll(special) >> 3;
                break;
            }
            p += 8;
        }
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        if (p >= end) {
            d->p = p;
            return syntax_error(d, "unterminated string");
        }
        uint8_t c = *p;
        if (c == '"')
            break;
        if (c == '\\') {
            has_esc = true;
            if (end - p < 2) {
                d->p = end;
                return syntax_error(d, "unterminated string");
            }
            uint8_t x = p[1];
            if (x == 'u') {
                uint32_t cp;
                if (end - p < 6 || hex4(p + 2, &cp)) {
                    d->p = p;
                    return syntax_error(d, "invalid \\u escape");
                }
                if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    d->p = p;
                    return syntax_error(d, "invalid \\u escape: unpaired low surrogate");
                }
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    uint32_t lo;
                    if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || hex4(p + 8, &lo) ||
                        lo < 0xDC00 || lo > 0xDFFF) {
                        d->p = p;
                        return syntax_error(d, "invalid \\u escape: unpaired high surrogate");
                    }
                    p += 12;
                } else {
                    p += 6;
                }
                continue;
            }
            if (x == '"' || x == '\\' || x == '/' || x == 'b' || x == 'f' || x == 'n' ||
                x == 'r' || x == 't') {
                p += 2;
                continue;
            }
            d->p = p;
            return syntax_error(d, "invalid escape in string");
        }
        if (c < 0x20) {
            d->p = p;
            return syntax_error(d, "control character in string (must be escaped)");
        }
        size_t k = utf8_seq(p, (size_t)(end - p));
        if (!k) {
            d->p = p;
            return syntax_error(d, "invalid UTF-8 in string");
        }
        p += k;
    }
    *s = d->p + 1;
    *n = (size_t)(p - *s);
    *esc = has_esc;
    d->p = p + 1;
    return 0;
}

static size_t put_utf8(uint8_t *w, uint32_t cp)
{
    if (cp < 0x80) {
        w[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        w[0] = (uint8_t)(0xC0 | cp >> 6);
        w[1] = (uint8_t)(0x80 | (cp & 63));
        return 2;
    }
    if (cp < 0x10000) {
        w[0] = (uint8_t)(0xE0 | cp >> 12);
        w[1] = (uint8_t)(0x80 | ((cp >> 6) & 63));
        w[2] = (uint8_t)(0x80 | (cp & 63));
        return 3;
    }
    w[0] = (uint8_t)(0xF0 | cp >> 18);
    w[1] = (uint8_t)(0x80 | ((cp >> 12) & 63));
    w[2] = (uint8_t)(0x80 | ((cp >> 6) & 63));
    w[3] = (uint8_t)(0x80 | (cp & 63));
    return 4;
}

/* Unescapes already-validated raw string text into the arena (escapes only
 * shrink, so n + 1 bytes suffice). */
static char *unescape(mp_arena *a, const uint8_t *s, size_t n, size_t *outn)
{
    uint8_t *w = mp_arena_alloc(a, n + 1);
    if (!w)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        if (s[i] != '\\') {
            w[k++] = s[i++];
            continue;
        }
        uint8_t x = s[i + 1];
        i += 2;
        switch (x) {
        case 'b': w[k++] = '\b'; break;
        case 'f': w[k++] = '\f'; break;
        case 'n': w[k++] = '\n'; break;
        case 'r': w[k++] = '\r'; break;
        case 't': w[k++] = '\t'; break;
        case 'u': {
            uint32_t cp = 0, lo = 0xDC00; /* set by hex4: the text was validated */
            hex4(s + i, &cp);
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                hex4(s + i + 2, &lo);
                i += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            k += put_utf8(w + k, cp);
            break;
        }
        default: w[k++] = x; break; /* " \ / */
        }
    }
    w[k] = '\0';
    *outn = k;
    return (char *)w;
}

/* The string's value as a STRING in the arena. */
static int string_value(jd *d, mp_value *out)
{
    const uint8_t *s;
    size_t n;
    bool esc;
    int rc = scan_string(d, &s, &n, &esc);
    if (rc)
        return rc;
    if (!esc)
        return mp_v_string(d->a, (const char *)s, n, out) ? oom(d) : 0;
    size_t k;
    char *u = unescape(d->a, s, n, &k);
    if (!u)
        return oom(d);
    *out = mp_v_string_ref(u, k);
    return 0;
}

/* The text of the string at d->p, unescaped when needed (into the arena). */
static int string_text(jd *d, const uint8_t **s, size_t *n)
{
    bool esc;
    int rc = scan_string(d, s, n, &esc);
    if (rc || !esc)
        return rc;
    char *u = unescape(d->a, *s, *n, n);
    if (!u)
        return oom(d);
    *s = (const uint8_t *)u;
    return 0;
}

/* ---- skipping (still validating) ---- */

static int skip_container(jd *d, uint8_t close)
{
    int rc = push(d);
    if (rc)
        return rc;
    d->p++;
    ws(d);
    if (d->p < d->end && *d->p == close) {
        d->p++;
        d->depth--;
        return 0;
    }
    for (;;) {
        if (close == '}') {
            if (d->p >= d->end || *d->p != '"')
                return syntax_error(d, "expected a string key");
            const uint8_t *s;
            size_t n;
            bool esc;
            if ((rc = scan_string(d, &s, &n, &esc)))
                return rc;
            ws(d);
            if (d->p >= d->end || *d->p != ':')
                return syntax_error(d, "expected ':' after an object key");
            d->p++;
            ws(d);
        }
        if ((rc = skip_value(d)))
            return rc;
        ws(d);
        if (d->p < d->end && *d->p == ',') {
            d->p++;
            ws(d);
            continue;
        }
        if (d->p < d->end && *d->p == close) {
            d->p++;
            d->depth--;
            return 0;
        }
        return syntax_error(d, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static int skip_value(jd *d)
{
    if (d->p >= d->end)
        return syntax_error(d, "unexpected end of input, expected a value");
    switch (*d->p) {
    case '"': {
        const uint8_t *s;
        size_t n;
        bool esc;
        return scan_string(d, &s, &n, &esc);
    }
    case '{': return skip_container(d, '}');
    case '[': return skip_container(d, ']');
    case 't': return literal(d, "true", 4);
    case 'f': return literal(d, "false", 5);
    case 'n': return literal(d, "null", 4);
    default: {
        if (*d->p != '-' && (*d->p < '0' || *d->p > '9'))
            return syntax_error(d, "expected a value");
        jnum t;
        return scan_number(d, &t);
    }
    }
}

/* ---- typed values ---- */

static int value(jd *d, const jnode *n, mp_value *out);

/* Compact JSON text of the value at d->p (an object): whitespace outside
 * strings dropped. */
static int compact_text(jd *d, mp_value *out)
{
    const uint8_t *start = d->p;
    int rc = skip_value(d);
    if (rc)
        return rc;
    size_t n = (size_t)(d->p - start);
    char *w = mp_arena_alloc(d->a, n + 1);
    if (!w)
        return oom(d);
    size_t k = 0;
    bool in_str = false;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = start[i];
        if (in_str) {
            w[k++] = (char)c;
            if (c == '\\') {
                w[k++] = (char)start[++i];
            } else if (c == '"') {
                in_str = false;
            }
        } else if (c == '"') {
            in_str = true;
            w[k++] = (char)c;
        } else if (c != ' ' && c != '\n' && c != '\r' && c != '\t') {
            w[k++] = (char)c;
        }
    }
    w[k] = '\0';
    *out = mp_v_string_ref(w, k);
    return 0;
}

static int array_value(jd *d, const jnode *n, mp_value *out);

/* STRING from any JSON value, as ksqlDB's processString does. */
static int string_from_any(jd *d, mp_value *out)
{
    uint8_t c = *d->p;
    if (c == '"')
        return string_value(d, out);
    if (c == '{')
        return compact_text(d, out);
    if (c == 't' || c == 'f') {
        int rc = c == 't' ? literal(d, "true", 4) : literal(d, "false", 5);
        if (rc)
            return rc;
        return mp_v_string(d->a, c == 't' ? "true" : "false", c == 't' ? 4 : 5, out) ? oom(d)
                                                                                      : 0;
    }
    if (c == '[') {
        /* "[" + the elements as strings joined by ", " + "]". */
        static const mp_type arr_t = {.kind = MP_TYPE_ARRAY, .elem = (mp_type *)&STRING_TYPE};
        static const jnode arr_n = {.type = &arr_t, .elem = (jnode *)&STRING_NODE};
        mp_value arr;
        int rc = array_value(d, &arr_n, &arr);
        if (rc)
            return rc;
        size_t total = 2;
        for (uint32_t i = 0; i < arr.len; i++)
            total += (arr.u.items[i].null ? 4 : arr.u.items[i].len) + (i ? 2 : 0);
        char *w = mp_arena_alloc(d->a, total + 1);
        if (!w)
            return oom(d);
        size_t k = 0;
        w[k++] = '[';
        for (uint32_t i = 0; i < arr.len; i++) {
            if (i) {
                w[k++] = ',';
                w[k++] = ' ';
            }
            if (arr.u.items[i].null) {
                memcpy(w + k, "null", 4);
                k += 4;
            } else {
                memcpy(w + k, arr.u.items[i].u.str, arr.u.items[i].len);
                k += arr.u.items[i].len;
            }
        }
        w[k++] = ']';
        w[k] = '\0';
        *out = mp_v_string_ref(w, k);
        return 0;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        jnum t;
        int rc = scan_number(d, &t);
        if (rc)
            return rc;
        return mp_v_string(d->a, (const char *)t.s, t.n, out) ? oom(d) : 0;
    }
    return syntax_error(d, "expected a value");
}

static int array_value(jd *d, const jnode *n, mp_value *out)
{
    int rc = push(d);
    if (rc)
        return rc;
    d->p++;
    ws(d);
    size_t cap = 0, count = 0;
    mp_value *items = NULL;
    if (d->p < d->end && *d->p == ']') {
        d->p++;
    } else {
        d->path[d->plen++] = (jpath){.name = NULL, .idx = 0};
        for (;;) {
            if (count == cap) {
                size_t ncap = cap ? cap * 2 : 8;
                if (ncap > UINT32_MAX)
                    return value_error(d, "array too long");
                mp_value *bigger = mp_arena_realloc(d->a, items, cap * sizeof *items,
                                                    ncap * sizeof *items);
                if (!bigger)
                    return oom(d);
                items = bigger;
                cap = ncap;
            }
            d->path[d->plen - 1].idx = (uint32_t)count;
            if ((rc = value(d, n->elem, &items[count])))
                return rc;
            count++;
            ws(d);
            if (d->p < d->end && *d->p == ',') {
                d->p++;
                ws(d);
                continue;
            }
            if (d->p < d->end && *d->p == ']') {
                d->p++;
                break;
            }
            d->plen--;
            return syntax_error(d, "expected ',' or ']'");
        }
        d->plen--;
    }
    d->depth--;
    memset(out, 0, sizeof *out);
    out->kind = MP_TYPE_ARRAY;
    out->len = (uint32_t)count;
    out->u.items = items;
    return 0;
}

/* Drops earlier duplicates of map keys (the last one wins, as when ksqlDB
 * fills a HashMap), keeping the order of the survivors. */
static int dedupe_map(jd *d, mp_value *items, size_t *count)
{
    size_t n = *count;
    if (n < 2)
        return 0;
    size_t size = 16;
    while (size < 2 * n)
        size *= 2;
    uint32_t *tab = mp_arena_calloc(d->a, size * sizeof *tab);
    uint8_t *dead = mp_arena_calloc(d->a, n);
    if (!tab || !dead)
        return oom(d);
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        const mp_value *k = &items[2 * i];
        uint32_t h = fnv1a(k->u.str, k->len) & (uint32_t)(size - 1);
        for (;;) {
            uint32_t slot = tab[h];
            if (!slot) {
                tab[h] = (uint32_t)i + 1;
                break;
            }
            const mp_value *o = &items[2 * (slot - 1)];
            if (o->len == k->len && memcmp(o->u.str, k->u.str, k->len) == 0) {
                dead[slot - 1] = 1;
                tab[h] = (uint32_t)i + 1;
                any = true;
                break;
            }
            h = (h + 1) & (uint32_t)(size - 1);
        }
    }
    if (!any)
        return 0;
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (dead[i])
            continue;
        items[2 * w] = items[2 * i];
        items[2 * w + 1] = items[2 * i + 1];
        w++;
    }
    *count = w;
    return 0;
}

/* An internal topic's non-STRING map key, written as its text. */
static int key_from_text(jd *d, mp_type_kind kind, mp_value *k)
{
    char buf[64];
    if (k->len >= sizeof buf)
        return value_error(d, "map key too long for %s", mp_type_kind_name(kind));
    memcpy(buf, k->u.str, k->len);
    buf[k->len] = '\0';
    char *end = NULL;
    errno = 0;
    if (kind == MP_TYPE_BOOLEAN) {
        if (strcmp(buf, "true") && strcmp(buf, "false"))
            return value_error(d, "map key '%s' is not a BOOLEAN", buf);
        *k = mp_v_bool(buf[0] == 't');
        return 0;
    }
    if (kind == MP_TYPE_DOUBLE) {
        double v = strtod(buf, &end);
        if (!buf[0] || *end)
            return value_error(d, "map key '%s' is not a DOUBLE", buf);
        *k = mp_v_double(v);
        return 0;
    }
    long long v = strtoll(buf, &end, 10);
    if (!buf[0] || *end || errno == ERANGE ||
        (kind == MP_TYPE_INTEGER && (v < INT32_MIN || v > INT32_MAX)))
        return value_error(d, "map key '%s' is not %s %s", buf,
                           kind == MP_TYPE_INTEGER ? "an" : "a", mp_type_kind_name(kind));
    *k = kind == MP_TYPE_INTEGER ? mp_v_int((int32_t)v) : mp_v_bigint(v);
    return 0;
}

static int map_value(jd *d, const jnode *n, mp_value *out)
{
    int rc = push(d);
    if (rc)
        return rc;
    d->p++;
    ws(d);
    size_t cap = 0, count = 0;
    mp_value *items = NULL;
    if (d->p < d->end && *d->p == '}') {
        d->p++;
    } else {
        for (;;) {
            if (d->p >= d->end || *d->p != '"')
                return syntax_error(d, "expected a string key");
            if (count == cap) {
                size_t ncap = cap ? cap * 2 : 8;
                if (ncap > UINT32_MAX / 2)
                    return value_error(d, "map too large");
                mp_value *bigger = mp_arena_realloc(d->a, items, 2 * cap * sizeof *items,
                                                    2 * ncap * sizeof *items);
                if (!bigger)
                    return oom(d);
                items = bigger;
                cap = ncap;
            }
            if ((rc = string_value(d, &items[2 * count])))
                return rc;
            ws(d);
            if (d->p >= d->end || *d->p != ':')
                return syntax_error(d, "expected ':' after an object key");
            d->p++;
            ws(d);
            d->path[d->plen++] = (jpath){.name = items[2 * count].u.str,
                                         .len = items[2 * count].len};
            if ((rc = value(d, n->elem, &items[2 * count + 1])))
                return rc;
            d->plen--;
            count++;
            ws(d);
            if (d->p < d->end && *d->p == ',') {
                d->p++;
                ws(d);
                continue;
            }
            if (d->p < d->end && *d->p == '}') {
                d->p++;
                break;
            }
            return syntax_error(d, "expected ',' or '}'");
        }
        if ((rc = dedupe_map(d, items, &count)))
            return rc;
        /* Typed keys only now: duplicates were found by their text. */
        for (size_t i = 0; n->type->key->kind != MP_TYPE_STRING && i < count; i++)
            if ((rc = key_from_text(d, n->type->key->kind, &items[2 * i])))
                return rc;
    }
    d->depth--;
    memset(out, 0, sizeof *out);
    out->kind = MP_TYPE_MAP;
    out->len = (uint32_t)count;
    out->u.items = items;
    return 0;
}

/* Finds the fields a key feeds: *exact whose name equals the key, and
 * *upper whose name equals the key upper-cased (ksqlDB tries the exact key
 * for each field first, then the upper-cased keys). Either may be NULL. */
static void lookup(const jnode *n, const uint8_t *k, size_t len, size_t guess,
                   const jfield **exact, const jfield **upper)
{
    *exact = *upper = NULL;
    if (guess < n->nfields && n->all_upper && n->fields[guess].len == len) {
        /* Fields usually come in schema order, and column names are upper
         * case: when no name has a lower-case letter, a key equal to the
         * guessed name upper-cased matches it and nothing else. */
        const jfield *f = &n->fields[guess];
        size_t i = 0;
        bool lower = false;
        for (; i < len; i++) {
            uint8_t u = ascii_upper(k[i]);
            if ((uint8_t)f->name[i] != u)
                break;
            lower |= u != k[i];
        }
        if (i == len) {
            if (lower)
                *upper = f;
            else
                *exact = f;
            return;
        }
    } else if (guess < n->nfields) {
        const jfield *f = &n->fields[guess];
        if (f->len == len && memcmp(f->name, k, len) == 0) {
            *exact = f;
            /* Only a key with lower-case letters can also match another
             * field upper-cased. */
            bool lower = false;
            for (size_t i = 0; i < len && !lower; i++)
                lower = k[i] >= 'a' && k[i] <= 'z';
            if (!lower)
                return;
        }
    }
    uint32_t he = 2166136261u, hu = 2166136261u;
    bool lower = false;
    for (size_t i = 0; i < len; i++) {
        uint8_t u = ascii_upper(k[i]);
        lower |= u != k[i];
        he = (he ^ k[i]) * 16777619u;
        hu = (hu ^ u) * 16777619u;
    }
    if (!*exact) {
        for (uint32_t h = he & n->mask; n->table[h]; h = (h + 1) & n->mask) {
            const jfield *f = &n->fields[n->table[h] - 1];
            if (f->hash == he && f->len == len && memcmp(f->name, k, len) == 0) {
                *exact = f;
                break;
            }
        }
    }
    if (!lower)
        return; /* upper-casing changes nothing: same as the exact match */
    for (uint32_t h = hu & n->mask; n->table[h]; h = (h + 1) & n->mask) {
        const jfield *f = &n->fields[n->table[h] - 1];
        if (f->hash != hu || f->len != len)
            continue;
        size_t i = 0;
        while (i < len && (uint8_t)f->name[i] == ascii_upper(k[i]))
            i++;
        if (i == len) {
            *upper = f;
            break;
        }
    }
}

/* An object's keys into the fields of node n: slots[f->slot] receives
 * field f. An exact key always fills its field (a later exact duplicate
 * replaces an earlier one, as Jackson keeps the last); a key matching
 * only once upper-cased fills a field nothing has filled yet (seen[]), so
 * the first such key wins and an exact key anywhere beats it. */
static int object_fields(jd *d, const jnode *n, mp_value *slots)
{
    int rc = push(d);
    if (rc)
        return rc;
    d->p++;
    ws(d);
    if (d->p < d->end && *d->p == '}') {
        d->p++;
        d->depth--;
        return 0;
    }
    uint8_t seen_local[64];
    uint8_t *seen = seen_local;
    if (n->nfields > sizeof seen_local) {
        seen = mp_arena_calloc(d->a, n->nfields);
        if (!seen)
            return oom(d);
    } else {
        memset(seen_local, 0, n->nfields);
    }
    size_t guess = 0;
    for (;;) {
        if (d->p >= d->end || *d->p != '"')
            return syntax_error(d, "expected a string key");
        const uint8_t *ks;
        size_t kn;
        bool esc;
        if ((rc = scan_string(d, &ks, &kn, &esc)))
            return rc;
        if (esc) {
            size_t k2;
            char *u = unescape(d->a, ks, kn, &k2);
            if (!u)
                return oom(d);
            ks = (const uint8_t *)u;
            kn = k2;
        }
        ws(d);
        if (d->p >= d->end || *d->p != ':')
            return syntax_error(d, "expected ':' after an object key");
        d->p++;
        ws(d);
        const jfield *fe, *fu;
        lookup(n, ks, kn, guess, &fe, &fu);
        const jfield *take[2];
        int ntake = 0;
        if (fe) {
            take[ntake++] = fe;
            guess = (size_t)(fe - n->fields) + 1;
        }
        if (fu && fu != fe && seen[fu - n->fields] == 0)
            take[ntake++] = fu;
        if (ntake == 0) {
            d->path[d->plen++] = (jpath){.name = (const char *)ks, .len = (uint32_t)kn};
            if ((rc = skip_value(d)))
                return rc;
            d->plen--;
        } else {
            const uint8_t *start = d->p;
            for (int i = 0; i < ntake; i++) {
                const jfield *f = take[i];
                d->p = start; /* a key feeding two fields is read twice */
                d->path[d->plen++] = (jpath){.name = f->name, .len = (uint32_t)f->len};
                if ((rc = value(d, f->node, &slots[f->slot])))
                    return rc;
                d->plen--;
                seen[f - n->fields] = 1;
            }
        }
        ws(d);
        if (d->p < d->end && *d->p == ',') {
            d->p++;
            ws(d);
            continue;
        }
        if (d->p < d->end && *d->p == '}') {
            d->p++;
            break;
        }
        return syntax_error(d, "expected ',' or '}'");
    }
    d->depth--;
    return 0;
}

static int value(jd *d, const jnode *n, mp_value *out)
{
    if (d->p >= d->end)
        return syntax_error(d, "unexpected end of input, expected a value");
    uint8_t c = *d->p;
    const mp_type *t = n->type;
    if (c == 'n') {
        int rc = literal(d, "null", 4);
        if (!rc)
            *out = mp_v_null_of(t);
        return rc;
    }
    bool is_num = c == '-' || (c >= '0' && c <= '9');
    switch (t->kind) {
    case MP_TYPE_BOOLEAN:
        if (c == 't' || c == 'f') {
            int rc = c == 't' ? literal(d, "true", 4) : literal(d, "false", 5);
            if (!rc)
                *out = mp_v_bool(c == 't');
            return rc;
        }
        return type_error(d, t);
    case MP_TYPE_INTEGER:
    case MP_TYPE_BIGINT:
    case MP_TYPE_TIMESTAMP:
    case MP_TYPE_DATE:
    case MP_TYPE_TIME: {
        bool wide = t->kind == MP_TYPE_BIGINT || t->kind == MP_TYPE_TIMESTAMP;
        int64_t lo = wide ? INT64_MIN : INT32_MIN, hi = wide ? INT64_MAX : INT32_MAX;
        int64_t v;
        int rc;
        if (is_num) {
            jnum num;
            if ((rc = scan_number(d, &num)) || (rc = number_to_int(d, &num, t, lo, hi, &v)))
                return rc;
        } else if (c == '"') {
            const uint8_t *s;
            size_t n2;
            const uint8_t *at = d->p;
            if ((rc = string_text(d, &s, &n2)))
                return rc;
            int r = mp_parse_int64_strict((const char *)s, n2, lo, hi, &v);
            if (r) {
                d->p = at;
                return value_error(d, "cannot convert string \"%.*s%s\" to %s",
                                   (int)(n2 > 40 ? 40 : n2), (const char *)s, n2 > 40 ? "..." : "",
                                   mp_type_kind_name(t->kind));
            }
        } else {
            return type_error(d, t);
        }
        switch (t->kind) {
        case MP_TYPE_INTEGER: *out = mp_v_int((int32_t)v); break;
        case MP_TYPE_BIGINT: *out = mp_v_bigint(v); break;
        case MP_TYPE_TIMESTAMP: *out = mp_v_timestamp(v); break;
        case MP_TYPE_DATE: *out = mp_v_date((int32_t)v); break;
        default: *out = mp_v_time((int32_t)v); break;
        }
        return 0;
    }
    case MP_TYPE_DOUBLE: {
        int rc;
        if (is_num) {
            jnum num;
            if ((rc = scan_number(d, &num)))
                return rc;
            *out = mp_v_double(number_to_double(&num));
            return 0;
        }
        if (c == '"') {
            const uint8_t *s;
            size_t n2;
            double v;
            if ((rc = string_text(d, &s, &n2)))
                return rc;
            if (mp_parse_double_text((const char *)s, n2, &v))
                return value_error(d, "cannot convert string \"%.*s%s\" to DOUBLE",
                                   (int)(n2 > 40 ? 40 : n2), (const char *)s, n2 > 40 ? "..." : "");
            *out = mp_v_double(v);
            return 0;
        }
        return type_error(d, t);
    }
    case MP_TYPE_DECIMAL: {
        const uint8_t *s;
        size_t n2;
        int rc;
        if (is_num) {
            jnum num;
            if ((rc = scan_number(d, &num)))
                return rc;
            s = num.s;
            n2 = num.n;
        } else if (c == '"') {
            if ((rc = string_text(d, &s, &n2)))
                return rc;
        } else {
            return type_error(d, t);
        }
        mp_decimal dec;
        mp_error sub;
        if (mp_decimal_parse((const char *)s, n2, t->precision, t->scale, MP_ROUND_UNNECESSARY,
                             &dec, &sub))
            return value_error(d, "%s", sub.msg);
        *out = mp_v_decimal(&dec);
        return 0;
    }
    case MP_TYPE_STRING:
        return string_from_any(d, out);
    case MP_TYPE_BYTES: {
        if (c != '"')
            return type_error(d, t);
        const uint8_t *s;
        size_t n2, outlen, bad;
        int rc = string_text(d, &s, &n2);
        if (rc)
            return rc;
        uint8_t *buf = mp_arena_alloc(d->a, mp_base64_decoded_max(n2));
        if (!buf)
            return oom(d);
        if (mp_base64_decode((const char *)s, n2, buf, &outlen, &bad))
            return value_error(d, "invalid base64 at offset %zu of the string", bad);
        *out = (mp_value){.kind = MP_TYPE_BYTES, .len = (uint32_t)outlen};
        out->u.bytes = buf;
        return 0;
    }
    case MP_TYPE_ARRAY:
        if (c != '[')
            return type_error(d, t);
        return array_value(d, n, out);
    case MP_TYPE_MAP:
        if (c != '{')
            return type_error(d, t);
        return map_value(d, n, out);
    case MP_TYPE_STRUCT: {
        if (c != '{')
            return type_error(d, t);
        int rc = mp_v_struct(d->a, t, out);
        if (rc)
            return oom(d);
        return object_fields(d, n, out->u.st.fields);
    }
    default:
        return value_error(d, "unsupported type");
    }
}

int mp_codec_json_decode(const mp_codec *c, const void *data, size_t len, mp_arena *a,
                         mp_value *row, mp_error *e)
{
    jpath inline_path[PATH_INLINE];
    jd d = {.p = data, .end = (const uint8_t *)data + len, .base = data, .a = a, .e = e, .c = c,
            .max_depth = c->opts.max_depth, .path = inline_path};
    if (d.max_depth + 2 > PATH_INLINE) {
        d.path = mp_arena_alloc(a, (size_t)(d.max_depth + 2) * sizeof *d.path);
        if (!d.path)
            return oom(&d);
    }
    /* ksqlDB's JSON also reads JSON_SR data: magic byte 0 and a 4-byte
     * schema id before the document. */
    if (len >= 5 && d.p[0] == 0)
        d.p += 5;
    if (d.end - d.p >= 3 && d.p[0] == 0xEF && d.p[1] == 0xBB && d.p[2] == 0xBF)
        d.p += 3;
    for (size_t i = 0; i < c->ncols; i++)
        row[c->cols[i]] = mp_v_null_of(c->schema->cols[c->cols[i]].type);
    ws(&d);
    if (d.p >= d.end)
        return syntax_error(&d, "empty record: no JSON value");
    int rc;
    const mp_json_plan *pl = c->json;
    if (c->opts.unwrapped) {
        rc = value(&d, pl->single, &row[pl->single_slot]);
    } else if (*d.p == 'n') {
        rc = literal(&d, "null", 4);
        if (!rc) {
            ws(&d);
            if (d.p != d.end)
                return syntax_error(&d, "unexpected data after the JSON value");
            return MP_CODEC_NULL;
        }
    } else if (*d.p == '{') {
        rc = object_fields(&d, &pl->root, row);
    } else {
        const char *got = token_kind(&d);
        if (strcmp(got, "invalid JSON") == 0)
            return syntax_error(&d, "expected a value");
        return mp_error_set(e, MP_EINPUT,
                            "expected a JSON object holding the %zu column%s, got %s",
                            c->ncols, c->ncols == 1 ? "" : "s", got);
    }
    if (rc)
        return rc;
    ws(&d);
    if (d.p != d.end)
        return syntax_error(&d, "unexpected data after the JSON value");
    return 0;
}

int mp_codec_json_encode(const mp_codec *c, const mp_value *row, mp_buf *out, mp_error *e)
{
    for (size_t i = 0; i < c->ncols; i++) {
        const mp_schema_column *col = &c->schema->cols[c->cols[i]];
        const mp_value *v = &row[c->cols[i]];
        if (!v->null && v->kind != col->type->kind)
            return mp_error_set(e, MP_EINVAL, "column `%s`: value of kind %s, column is %s",
                                col->name, mp_type_kind_name(v->kind),
                                mp_type_kind_name(col->type->kind));
    }
    if (c->opts.unwrapped)
        return mp_value_write_json(&row[c->cols[0]], 0, out);
    mp_buf_putc(out, '{');
    for (size_t i = 0; i < c->ncols; i++) {
        const mp_schema_column *col = &c->schema->cols[c->cols[i]];
        if (i)
            mp_buf_putc(out, ',');
        mp_json_quote(col->name, strlen(col->name), out);
        mp_buf_putc(out, ':');
        mp_value_write_json(&row[c->cols[i]], 0, out);
    }
    mp_buf_putc(out, '}');
    return 0;
}
