#include "data/sql_value.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "data/sql_text.h"

_Static_assert(sizeof(mp_value) == 24, "mp_value should stay compact");

/* ---- construction ---- */

static int copy_blob(mp_arena *a, const void *p, size_t len, mp_value *out, mp_type_kind kind)
{
    if (len > UINT32_MAX)
        return MP_EINVAL;
    char *d = mp_arena_alloc(a, len + 1);
    if (!d)
        return MP_ENOMEM;
    if (len)
        memcpy(d, p, len);
    d[len] = '\0';
    memset(out, 0, sizeof *out);
    out->kind = (uint8_t)kind;
    out->len = (uint32_t)len;
    out->u.str = d;
    return 0;
}

int mp_v_string(mp_arena *a, const char *s, size_t len, mp_value *out)
{
    return copy_blob(a, s, len, out, MP_TYPE_STRING);
}

int mp_v_bytes(mp_arena *a, const void *p, size_t len, mp_value *out)
{
    return copy_blob(a, p, len, out, MP_TYPE_BYTES);
}

static mp_value *alloc_nulls(mp_arena *a, size_t n, const mp_type *t1, const mp_type *t2)
{
    if (n > UINT32_MAX / 2)
        return NULL;
    size_t count = t2 ? 2 * n : n;
    mp_value *items = mp_arena_alloc(a, count * sizeof *items);
    if (!items)
        return NULL;
    for (size_t i = 0; i < count; i++)
        items[i] = mp_v_null_of(t2 && (i & 1) ? t2 : t1);
    return items;
}

int mp_v_array(mp_arena *a, size_t n, const mp_type *elem_type, mp_value *out)
{
    mp_value *items = alloc_nulls(a, n, elem_type, NULL);
    if (!items)
        return MP_ENOMEM;
    memset(out, 0, sizeof *out);
    out->kind = MP_TYPE_ARRAY;
    out->len = (uint32_t)n;
    out->u.items = items;
    return 0;
}

int mp_v_map(mp_arena *a, size_t n, const mp_type *key_type, const mp_type *value_type,
             mp_value *out)
{
    static const mp_type untyped = {.kind = MP_TYPE_NULL};
    mp_value *items = alloc_nulls(a, n, key_type, value_type ? value_type : &untyped);
    if (!items)
        return MP_ENOMEM;
    memset(out, 0, sizeof *out);
    out->kind = MP_TYPE_MAP;
    out->len = (uint32_t)n;
    out->u.items = items;
    return 0;
}

int mp_v_struct(mp_arena *a, const mp_type *st, mp_value *out)
{
    if (!st || st->kind != MP_TYPE_STRUCT)
        return MP_EINVAL;
    mp_value *f = mp_arena_alloc(a, (st->nfields ? st->nfields : 1) * sizeof *f);
    if (!f)
        return MP_ENOMEM;
    for (size_t i = 0; i < st->nfields; i++)
        f[i] = mp_v_null_of(st->fields[i].type);
    memset(out, 0, sizeof *out);
    out->kind = MP_TYPE_STRUCT;
    out->len = (uint32_t)st->nfields;
    out->u.st.fields = f;
    out->u.st.type = st;
    return 0;
}

int mp_value_copy(const mp_value *src, mp_arena *dst, mp_value *out)
{
    if (src->null) {
        *out = *src;
        return 0;
    }
    switch (src->kind) {
    case MP_TYPE_STRING:
    case MP_TYPE_BYTES:
        return copy_blob(dst, src->u.str, src->len, out, (mp_type_kind)src->kind);
    case MP_TYPE_ARRAY:
    case MP_TYPE_MAP:
    case MP_TYPE_STRUCT: {
        size_t n = src->kind == MP_TYPE_MAP ? 2 * (size_t)src->len : src->len;
        const mp_value *from = src->kind == MP_TYPE_STRUCT ? src->u.st.fields : src->u.items;
        mp_value *items = mp_arena_alloc(dst, (n ? n : 1) * sizeof *items);
        if (!items)
            return MP_ENOMEM;
        for (size_t i = 0; i < n; i++) {
            int rc = mp_value_copy(&from[i], dst, &items[i]);
            if (rc)
                return rc;
        }
        *out = *src;
        if (src->kind == MP_TYPE_STRUCT)
            out->u.st.fields = items;
        else
            out->u.items = items;
        return 0;
    }
    default:
        *out = *src;
        return 0;
    }
}

/* ---- type check ---- */

static int check_rec(const mp_value *v, const mp_type *t, mp_buf *path, mp_error *e)
{
    if (v->null)
        return 0;
    if (v->kind != t->kind)
        return mp_error_set(e, MP_EINVAL, "%s: value of kind %s where %s expected",
                            path->data ? path->data : "$", mp_type_kind_name(v->kind),
                            mp_type_kind_name(t->kind));
    size_t mark = path->len;
    int rc = 0;
    switch (t->kind) {
    case MP_TYPE_DECIMAL: {
        mp_decimal d = mp_v_get_decimal(v);
        mp_i128 lim = mp_i128_pow10(t->precision);
        if (v->precision != t->precision || v->scale != t->scale || d.unscaled >= lim ||
            d.unscaled <= -lim)
            return mp_error_set(e, MP_EINVAL, "%s: DECIMAL value does not match DECIMAL(%d, %d)",
                                path->data ? path->data : "$", t->precision, t->scale);
        break;
    }
    case MP_TYPE_STRING: {
        size_t bad;
        if (!mp_utf8_valid(v->u.str, v->len, &bad))
            return mp_error_set(e, MP_EINVAL, "%s: invalid UTF-8 at byte %zu",
                                path->data ? path->data : "$", bad);
        break;
    }
    case MP_TYPE_ARRAY:
        for (uint32_t i = 0; i < v->len && !rc; i++) {
            mp_buf_printf(path, "[%u]", i);
            rc = check_rec(&v->u.items[i], t->elem, path, e);
            path->len = mark;
        }
        break;
    case MP_TYPE_MAP:
        for (uint32_t i = 0; i < v->len && !rc; i++) {
            mp_buf_printf(path, "{%u}.key", i);
            rc = check_rec(&v->u.items[2 * i], t->key, path, e);
            path->len = mark;
            if (rc)
                break;
            mp_buf_printf(path, "{%u}.value", i);
            rc = check_rec(&v->u.items[2 * i + 1], t->elem, path, e);
            path->len = mark;
        }
        break;
    case MP_TYPE_STRUCT:
        if (v->len != t->nfields)
            return mp_error_set(e, MP_EINVAL, "%s: struct has %u fields, type has %zu",
                                path->data ? path->data : "$", v->len, t->nfields);
        for (size_t i = 0; i < t->nfields && !rc; i++) {
            mp_buf_printf(path, ".%s", t->fields[i].name);
            rc = check_rec(&v->u.st.fields[i], t->fields[i].type, path, e);
            path->len = mark;
        }
        break;
    default:
        break;
    }
    if (path->data)
        path->data[mark] = '\0';
    return rc;
}

int mp_value_check(const mp_value *v, const mp_type *t, mp_error *e)
{
    mp_buf path = {0};
    mp_buf_putc(&path, '$');
    int rc = check_rec(v, t, &path, e);
    mp_buf_free(&path);
    return rc;
}

/* ---- comparison ---- */

static int family(mp_type_kind k)
{
    switch (k) {
    case MP_TYPE_INTEGER:
    case MP_TYPE_BIGINT:
    case MP_TYPE_DECIMAL:
    case MP_TYPE_DOUBLE:
        return 1;
    default:
        return 10 + (int)k;
    }
}

static int64_t int_of(const mp_value *v)
{
    return v->kind == MP_TYPE_INTEGER ? v->u.i32 : v->u.i64;
}

static mp_decimal dec_of(const mp_value *v)
{
    if (v->kind == MP_TYPE_DECIMAL)
        return mp_v_get_decimal(v);
    mp_decimal d = {.unscaled = int_of(v), .precision = 19, .scale = 0};
    return d;
}

static int cmp_double(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) ? (isnan(b) ? 0 : 1) : -1;
    return a < b ? -1 : a > b;
}

/* Exact comparison of a double with an int64. */
static int cmp_double_int(double d, int64_t i)
{
    if (isnan(d))
        return 1;
    if (d < -9223372036854775808.0)
        return -1;
    if (d >= 9223372036854775808.0)
        return 1;
    double t = trunc(d);
    int64_t ti = (int64_t)t;
    if (ti != i)
        return ti < i ? -1 : 1;
    return d > t ? 1 : d < t ? -1 : 0;
}

static int cmp_numbers(const mp_value *a, const mp_value *b)
{
    mp_type_kind ka = a->kind, kb = b->kind;
    bool da = ka == MP_TYPE_DOUBLE, db = kb == MP_TYPE_DOUBLE;
    if (!da && !db) {
        if (ka != MP_TYPE_DECIMAL && kb != MP_TYPE_DECIMAL) {
            int64_t x = int_of(a), y = int_of(b);
            return x < y ? -1 : x > y;
        }
        mp_decimal x = dec_of(a), y = dec_of(b);
        return mp_decimal_cmp(&x, &y);
    }
    if (da && db)
        return cmp_double(a->u.f64, b->u.f64);
    const mp_value *d = da ? a : b, *o = da ? b : a;
    int c;
    if (o->kind == MP_TYPE_DECIMAL) {
        mp_decimal x = mp_v_get_decimal(o);
        c = cmp_double(d->u.f64, mp_decimal_to_double(&x));
    } else {
        c = cmp_double_int(d->u.f64, int_of(o));
    }
    return da ? c : -c;
}

/* The first UTF-16 code unit of the code point starting at p (Java orders
 * strings by code units, so U+10000.. sort below U+E000..U+FFFF). */
static uint32_t utf16_first_unit(const uint8_t *p, size_t n, uint32_t *cp_out)
{
    uint32_t cp = p[0];
    if (cp >= 0xF0 && n >= 4)
        cp = ((cp & 7u) << 18) | ((p[1] & 63u) << 12) | ((p[2] & 63u) << 6) | (p[3] & 63u);
    else if (cp >= 0xE0 && n >= 3)
        cp = ((cp & 15u) << 12) | ((p[1] & 63u) << 6) | (p[2] & 63u);
    else if (cp >= 0xC0 && n >= 2)
        cp = ((cp & 31u) << 6) | (p[1] & 63u);
    *cp_out = cp;
    return cp >= 0x10000 ? 0xD800 + ((cp - 0x10000) >> 10) : cp;
}

static int cmp_strings(const mp_value *a, const mp_value *b)
{
    const uint8_t *x = (const uint8_t *)a->u.str, *y = (const uint8_t *)b->u.str;
    size_t n = a->len < b->len ? a->len : b->len;
    size_t i = 0;
    while (i < n && x[i] == y[i])
        i++;
    if (i == n)
        return a->len < b->len ? -1 : a->len > b->len;
    /* Back up to the start of the differing code point in both (they share
     * the prefix, so the same offset). */
    size_t s = i;
    while (s > 0 && (x[s] & 0xC0) == 0x80)
        s--;
    uint32_t ca, cb;
    uint32_t ua = utf16_first_unit(x + s, a->len - s, &ca);
    uint32_t ub = utf16_first_unit(y + s, b->len - s, &cb);
    if (ua != ub)
        return ua < ub ? -1 : 1;
    if (ca != cb)
        return ca < cb ? -1 : 1;
    return x[i] < y[i] ? -1 : 1;
}

static int cmp_bytes(const mp_value *a, const mp_value *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    for (size_t i = 0; i < n; i++) {
        int8_t x = (int8_t)a->u.bytes[i], y = (int8_t)b->u.bytes[i];
        if (x != y)
            return x < y ? -1 : 1;
    }
    return a->len < b->len ? -1 : a->len > b->len;
}

static bool map_has(const mp_value *m, const mp_value *k, const mp_value *v)
{
    for (uint32_t i = 0; i < m->len; i++)
        if (mp_value_equal(&m->u.items[2 * i], k))
            return mp_value_equal(&m->u.items[2 * i + 1], v);
    return false;
}

static int cmp_same_family(const mp_value *a, const mp_value *b)
{
    switch (a->kind) {
    case MP_TYPE_INTEGER:
    case MP_TYPE_BIGINT:
    case MP_TYPE_DECIMAL:
    case MP_TYPE_DOUBLE:
        return cmp_numbers(a, b);
    case MP_TYPE_BOOLEAN:
        return (int)a->u.b - (int)b->u.b;
    case MP_TYPE_STRING:
        return cmp_strings(a, b);
    case MP_TYPE_BYTES:
        return cmp_bytes(a, b);
    case MP_TYPE_TIMESTAMP:
        return a->u.i64 < b->u.i64 ? -1 : a->u.i64 > b->u.i64;
    case MP_TYPE_DATE:
    case MP_TYPE_TIME:
        return a->u.i32 < b->u.i32 ? -1 : a->u.i32 > b->u.i32;
    case MP_TYPE_ARRAY: {
        uint32_t n = a->len < b->len ? a->len : b->len;
        for (uint32_t i = 0; i < n; i++) {
            int c = mp_value_cmp(&a->u.items[i], &b->u.items[i]);
            if (c)
                return c;
        }
        return a->len < b->len ? -1 : a->len > b->len;
    }
    case MP_TYPE_STRUCT: {
        uint32_t n = a->len < b->len ? a->len : b->len;
        for (uint32_t i = 0; i < n; i++) {
            int c = mp_value_cmp(&a->u.st.fields[i], &b->u.st.fields[i]);
            if (c)
                return c;
        }
        return a->len < b->len ? -1 : a->len > b->len;
    }
    case MP_TYPE_MAP: {
        if (a->len != b->len)
            return a->len < b->len ? -1 : 1;
        for (uint32_t i = 0; i < a->len; i++)
            if (!map_has(b, &a->u.items[2 * i], &a->u.items[2 * i + 1]))
                return 1;
        return 0;
    }
    default:
        return 0;
    }
}

int mp_value_cmp(const mp_value *a, const mp_value *b)
{
    if (a->null || b->null)
        return a->null && b->null ? 0 : a->null ? -1 : 1;
    int fa = family(a->kind), fb = family(b->kind);
    if (fa != fb)
        return fa < fb ? -1 : 1;
    int c = cmp_same_family(a, b);
    return c < 0 ? -1 : c > 0;
}

bool mp_value_equal(const mp_value *a, const mp_value *b)
{
    return mp_value_cmp(a, b) == 0;
}

int mp_value_compare(const mp_value *a, const mp_value *b, int *cmp, mp_error *e)
{
    if (a->null || b->null)
        return MP_CMP_NULL;
    if (family(a->kind) != family(b->kind))
        return mp_error_set(e, MP_EINVAL, "cannot compare %s with %s",
                            mp_type_kind_name(a->kind), mp_type_kind_name(b->kind));
    *cmp = mp_value_cmp(a, b);
    return 0;
}

/* ---- hashing ---- */

static uint64_t mix64(uint64_t x)
{
    /* splitmix64's finaliser: cheap and well distributed. */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint64_t hash_bytes(const void *data, size_t n, uint64_t seed)
{
    const uint8_t *p = data;
    uint64_t h = seed ^ (n * 0x9E3779B97F4A7C15ULL);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = mix64(h ^ w) + 0x9E3779B97F4A7C15ULL;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, n);
    return mix64(h ^ w ^ ((uint64_t)n << 56));
}

#define H_NULL 0x6e756c6c6e756c6cULL
#define H_NAN 0x7ff8000000000001ULL

static uint64_t hash_int(int64_t v)
{
    return mix64((uint64_t)v ^ 0x243F6A8885A308D3ULL);
}

/* Canonical hash of unscaled * 10^-scale: trailing zeros stripped, so 1.50
 * hashes as 1.5 and 2.00 as the integer 2. */
static uint64_t hash_decimal(mp_i128 u, int scale)
{
    while (scale > 0 && u % 10 == 0) {
        u /= 10;
        scale--;
    }
    if (scale == 0 && u >= INT64_MIN && u <= INT64_MAX)
        return hash_int((int64_t)u);
    mp_u128 x = (mp_u128)u;
    return mix64(mix64((uint64_t)x ^ 0x13198A2E03707344ULL) ^ (uint64_t)(x >> 64) ^
                 ((uint64_t)scale << 48));
}

static uint64_t hash_double(double d)
{
    if (isnan(d))
        return H_NAN;
    if (isinf(d))
        return d > 0 ? 0x7ff0000000000000ULL : 0xfff0000000000000ULL;
    if (d == trunc(d)) {
        if (fabs(d) < 9223372036854775808.0)
            return hash_int((int64_t)d); /* -0.0 lands on 0 too */
        if (fabs(d) < 1e38)
            return hash_decimal((mp_i128)d, 0);
        uint64_t bits;
        memcpy(&bits, &d, 8);
        return mix64(bits);
    }
    /* d = m * 2^-k with m odd equals m * 5^k / 10^k: hash it as that
     * DECIMAL when it has at most 38 digits, so 0.5 and DECIMAL 0.50 agree. */
    int ex;
    double fr = frexp(d, &ex);
    int64_t m = (int64_t)ldexp(fr, 53);
    int k = 53 - ex;
    while ((m & 1) == 0) {
        m /= 2;
        k--;
    }
    if (k > 0 && k <= 55) {
        mp_u128 mag = (mp_u128)(m < 0 ? -m : m), p5 = 1, prod;
        for (int i = 0; i < k; i++)
            p5 *= 5;
        if (!__builtin_mul_overflow(mag, p5, &prod) && prod < (mp_u128)mp_i128_pow10(38))
            return hash_decimal(m < 0 ? -(mp_i128)prod : (mp_i128)prod, k);
    }
    uint64_t bits;
    memcpy(&bits, &d, 8);
    return mix64(bits);
}

uint64_t mp_value_hash(const mp_value *v)
{
    if (v->null)
        return H_NULL;
    switch (v->kind) {
    case MP_TYPE_BOOLEAN:
        return mix64(v->u.b ? 0x0B00100001ULL : 0x0B00100000ULL);
    case MP_TYPE_INTEGER:
        return hash_int(v->u.i32);
    case MP_TYPE_BIGINT:
        return hash_int(v->u.i64);
    case MP_TYPE_DECIMAL: {
        mp_decimal d = mp_v_get_decimal(v);
        return hash_decimal(d.unscaled, d.scale);
    }
    case MP_TYPE_DOUBLE:
        return hash_double(v->u.f64);
    case MP_TYPE_STRING:
        return hash_bytes(v->u.str, v->len, 0x5354524eULL);
    case MP_TYPE_BYTES:
        return hash_bytes(v->u.bytes, v->len, 0x42595445ULL);
    case MP_TYPE_TIMESTAMP:
        return mix64((uint64_t)v->u.i64 ^ 0x54535450ULL << 32);
    case MP_TYPE_DATE:
        return mix64((uint64_t)(int64_t)v->u.i32 ^ 0x44415445ULL << 32);
    case MP_TYPE_TIME:
        return mix64((uint64_t)(int64_t)v->u.i32 ^ 0x54494d45ULL << 32);
    case MP_TYPE_ARRAY: {
        uint64_t h = 0x41525259ULL;
        for (uint32_t i = 0; i < v->len; i++)
            h = mix64(h ^ mp_value_hash(&v->u.items[i])) + i;
        return h;
    }
    case MP_TYPE_STRUCT: {
        uint64_t h = 0x53545255ULL;
        for (uint32_t i = 0; i < v->len; i++)
            h = mix64(h ^ mp_value_hash(&v->u.st.fields[i])) + i;
        return h;
    }
    case MP_TYPE_MAP: {
        /* Order-independent, as map equality is. */
        uint64_t h = 0;
        for (uint32_t i = 0; i < v->len; i++)
            h += mix64(mp_value_hash(&v->u.items[2 * i]) * 31 ^
                       mp_value_hash(&v->u.items[2 * i + 1]));
        return mix64(h ^ 0x4d4150ULL ^ v->len);
    }
    default:
        return H_NULL;
    }
}

uint64_t mp_values_hash(const mp_value *v, size_t n)
{
    uint64_t h = 0x6b657973ULL ^ n;
    for (size_t i = 0; i < n; i++)
        h = mix64(h ^ mp_value_hash(&v[i])) + i;
    return h;
}

/* ---- text ---- */

static void write_scalar_text(const mp_value *v, bool json, int flags, mp_buf *out)
{
    char tmp[64];
    size_t n;
    switch (v->kind) {
    case MP_TYPE_BOOLEAN:
        mp_buf_puts(out, v->u.b ? "true" : "false");
        return;
    case MP_TYPE_INTEGER:
        n = mp_format_int64(v->u.i32, tmp);
        mp_buf_append(out, tmp, n);
        return;
    case MP_TYPE_BIGINT:
        n = mp_format_int64(v->u.i64, tmp);
        mp_buf_append(out, tmp, n);
        return;
    case MP_TYPE_DOUBLE:
        n = mp_format_double_java(v->u.f64, tmp);
        if (json && !isfinite(v->u.f64))
            mp_json_quote(tmp, n, out);
        else
            mp_buf_append(out, tmp, n);
        return;
    case MP_TYPE_DECIMAL: {
        mp_decimal d = mp_v_get_decimal(v);
        n = mp_decimal_format(&d, tmp);
        mp_buf_append(out, tmp, n);
        return;
    }
    case MP_TYPE_STRING:
        if (json)
            mp_json_quote(v->u.str, v->len, out);
        else
            mp_buf_append(out, v->u.str, v->len);
        return;
    case MP_TYPE_BYTES:
        if (json)
            mp_buf_putc(out, '"');
        mp_base64_encode(v->u.bytes, v->len, out);
        if (json)
            mp_buf_putc(out, '"');
        return;
    case MP_TYPE_TIMESTAMP:
    case MP_TYPE_DATE:
    case MP_TYPE_TIME:
        if (json && !(flags & MP_JSON_TIME_TEXT)) {
            n = mp_format_int64(v->kind == MP_TYPE_TIMESTAMP ? v->u.i64 : v->u.i32, tmp);
        } else {
            n = v->kind == MP_TYPE_TIMESTAMP ? mp_format_timestamp(v->u.i64, tmp)
                : v->kind == MP_TYPE_DATE    ? mp_format_date(v->u.i32, tmp)
                                             : mp_format_time(v->u.i32, tmp);
            if (json) {
                mp_json_quote(tmp, n, out);
                return;
            }
        }
        mp_buf_append(out, tmp, n);
        return;
    default:
        mp_buf_puts(out, "null");
        return;
    }
}

static void write_json_rec(const mp_value *v, int flags, mp_buf *out)
{
    if (v->null) {
        mp_buf_puts(out, "null");
        return;
    }
    switch (v->kind) {
    case MP_TYPE_ARRAY:
        mp_buf_putc(out, '[');
        for (uint32_t i = 0; i < v->len; i++) {
            if (i)
                mp_buf_putc(out, ',');
            write_json_rec(&v->u.items[i], flags, out);
        }
        mp_buf_putc(out, ']');
        return;
    case MP_TYPE_MAP:
        mp_buf_putc(out, '{');
        for (uint32_t i = 0; i < v->len; i++) {
            const mp_value *k = &v->u.items[2 * i];
            if (i)
                mp_buf_putc(out, ',');
            if (k->kind == MP_TYPE_STRING && !k->null) {
                mp_json_quote(k->u.str, k->len, out);
            } else {
                /* JSON keys are strings: write other key types as text. */
                mp_buf t = {0};
                if (k->null)
                    mp_buf_puts(&t, "null");
                else
                    write_scalar_text(k, false, flags, &t);
                mp_json_quote(t.data ? t.data : "", t.len, out);
                if (t.oom)
                    out->oom = 1;
                mp_buf_free(&t);
            }
            mp_buf_putc(out, ':');
            write_json_rec(&v->u.items[2 * i + 1], flags, out);
        }
        mp_buf_putc(out, '}');
        return;
    case MP_TYPE_STRUCT:
        mp_buf_putc(out, '{');
        for (uint32_t i = 0; i < v->len; i++) {
            const char *name = v->u.st.type && i < v->u.st.type->nfields
                                   ? v->u.st.type->fields[i].name
                                   : "?";
            if (i)
                mp_buf_putc(out, ',');
            mp_json_quote(name, strlen(name), out);
            mp_buf_putc(out, ':');
            write_json_rec(&v->u.st.fields[i], flags, out);
        }
        mp_buf_putc(out, '}');
        return;
    default:
        write_scalar_text(v, true, flags, out);
        return;
    }
}

int mp_value_write_json(const mp_value *v, int flags, mp_buf *out)
{
    write_json_rec(v, flags, out);
    return out->oom ? MP_ENOMEM : 0;
}

int mp_value_format(const mp_value *v, mp_buf *out)
{
    if (v->null)
        mp_buf_puts(out, "null");
    else if (v->kind == MP_TYPE_ARRAY || v->kind == MP_TYPE_MAP || v->kind == MP_TYPE_STRUCT)
        write_json_rec(v, MP_JSON_TIME_TEXT, out);
    else
        write_scalar_text(v, false, 0, out);
    return out->oom ? MP_ENOMEM : 0;
}
