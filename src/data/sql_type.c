#include "data/sql_type.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ======================================================================
 * Types
 * ====================================================================== */

static const char *const KIND_NAMES[] = {
    [MP_TYPE_NULL] = "NULL",         [MP_TYPE_BOOLEAN] = "BOOLEAN",
    [MP_TYPE_INTEGER] = "INTEGER",   [MP_TYPE_BIGINT] = "BIGINT",
    [MP_TYPE_DOUBLE] = "DOUBLE",     [MP_TYPE_DECIMAL] = "DECIMAL",
    [MP_TYPE_STRING] = "STRING",     [MP_TYPE_BYTES] = "BYTES",
    [MP_TYPE_TIMESTAMP] = "TIMESTAMP", [MP_TYPE_DATE] = "DATE",
    [MP_TYPE_TIME] = "TIME",         [MP_TYPE_ARRAY] = "ARRAY",
    [MP_TYPE_MAP] = "MAP",           [MP_TYPE_STRUCT] = "STRUCT",
};

const char *mp_type_kind_name(mp_type_kind kind)
{
    if ((unsigned)kind > MP_TYPE_STRUCT)
        return "?";
    return KIND_NAMES[kind];
}

static mp_type *type_alloc(mp_type_kind kind)
{
    mp_type *t = calloc(1, sizeof *t);
    if (t)
        t->kind = kind;
    return t;
}

mp_type *mp_type_new(mp_type_kind kind)
{
    if ((unsigned)kind > MP_TYPE_STRUCT || kind == MP_TYPE_DECIMAL || kind == MP_TYPE_ARRAY ||
        kind == MP_TYPE_MAP)
        return NULL;
    return type_alloc(kind);
}

int mp_type_new_decimal(int precision, int scale, mp_type **out, mp_error *e)
{
    *out = NULL;
    if (precision < 1 || precision > MP_DECIMAL_MAX_PRECISION)
        return mp_error_set(e, MP_EINVAL, "DECIMAL precision must be between 1 and %d, got %d",
                            MP_DECIMAL_MAX_PRECISION, precision);
    if (scale < 0 || scale > precision)
        return mp_error_set(e, MP_EINVAL,
                            "DECIMAL scale must be between 0 and the precision (%d), got %d",
                            precision, scale);
    mp_type *t = type_alloc(MP_TYPE_DECIMAL);
    if (!t)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    t->precision = precision;
    t->scale = scale;
    *out = t;
    return 0;
}

mp_type *mp_type_new_array(mp_type *elem)
{
    if (!elem)
        return NULL;
    mp_type *t = type_alloc(MP_TYPE_ARRAY);
    if (!t) {
        mp_type_free(elem);
        return NULL;
    }
    t->elem = elem;
    return t;
}

mp_type *mp_type_new_map(mp_type *key, mp_type *value)
{
    mp_type *t = (key && value) ? type_alloc(MP_TYPE_MAP) : NULL;
    if (!t) {
        mp_type_free(key);
        mp_type_free(value);
        return NULL;
    }
    t->key = key;
    t->elem = value;
    return t;
}

mp_type *mp_type_new_struct(void)
{
    return type_alloc(MP_TYPE_STRUCT);
}

int mp_type_struct_find(const mp_type *st, const char *name)
{
    if (!st || st->kind != MP_TYPE_STRUCT)
        return -1;
    for (size_t i = 0; i < st->nfields; i++)
        if (strcmp(st->fields[i].name, name) == 0)
            return (int)i;
    return -1;
}

int mp_type_struct_add(mp_type *st, const char *name, mp_type *ft, mp_error *e)
{
    if (!st || st->kind != MP_TYPE_STRUCT || !ft || !name || !*name) {
        mp_type_free(ft);
        return mp_error_set(e, MP_EINVAL, "struct field needs a struct, a name and a type");
    }
    if (mp_type_struct_find(st, name) >= 0) {
        mp_type_free(ft);
        return mp_error_set(e, MP_EEXIST, "duplicate field name `%s` in STRUCT", name);
    }
    mp_type_field *f = realloc(st->fields, (st->nfields + 1) * sizeof *f);
    char *copy = strdup(name);
    if (f)
        st->fields = f;
    if (!f || !copy) {
        free(copy);
        mp_type_free(ft);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    st->fields[st->nfields].name = copy;
    st->fields[st->nfields].type = ft;
    st->nfields++;
    return 0;
}

void mp_type_free(mp_type *t)
{
    if (!t)
        return;
    mp_type_free(t->key);
    mp_type_free(t->elem);
    for (size_t i = 0; i < t->nfields; i++) {
        free(t->fields[i].name);
        mp_type_free(t->fields[i].type);
    }
    free(t->fields);
    free(t);
}

mp_type *mp_type_clone(const mp_type *t)
{
    if (!t)
        return NULL;
    mp_type *c = type_alloc(t->kind);
    if (!c)
        return NULL;
    c->precision = t->precision;
    c->scale = t->scale;
    if (t->key && !(c->key = mp_type_clone(t->key)))
        goto fail;
    if (t->elem && !(c->elem = mp_type_clone(t->elem)))
        goto fail;
    if (t->nfields) {
        c->fields = calloc(t->nfields, sizeof *c->fields);
        if (!c->fields)
            goto fail;
        c->nfields = t->nfields;
        for (size_t i = 0; i < t->nfields; i++) {
            c->fields[i].name = strdup(t->fields[i].name);
            c->fields[i].type = mp_type_clone(t->fields[i].type);
            if (!c->fields[i].name || !c->fields[i].type)
                goto fail;
        }
    }
    return c;
fail:
    mp_type_free(c);
    return NULL;
}

bool mp_type_equal(const mp_type *a, const mp_type *b)
{
    if (a == b)
        return true;
    if (!a || !b || a->kind != b->kind)
        return false;
    switch (a->kind) {
    case MP_TYPE_DECIMAL:
        return a->precision == b->precision && a->scale == b->scale;
    case MP_TYPE_ARRAY:
        return mp_type_equal(a->elem, b->elem);
    case MP_TYPE_MAP:
        return mp_type_equal(a->key, b->key) && mp_type_equal(a->elem, b->elem);
    case MP_TYPE_STRUCT:
        if (a->nfields != b->nfields)
            return false;
        for (size_t i = 0; i < a->nfields; i++)
            if (strcmp(a->fields[i].name, b->fields[i].name) != 0 ||
                !mp_type_equal(a->fields[i].type, b->fields[i].type))
                return false;
        return true;
    default:
        return true;
    }
}

static void print_rec(const mp_type *t, mp_buf *out)
{
    switch (t->kind) {
    case MP_TYPE_DECIMAL:
        mp_buf_printf(out, "DECIMAL(%d, %d)", t->precision, t->scale);
        break;
    case MP_TYPE_ARRAY:
        mp_buf_puts(out, "ARRAY<");
        print_rec(t->elem, out);
        mp_buf_putc(out, '>');
        break;
    case MP_TYPE_MAP:
        mp_buf_puts(out, "MAP<");
        print_rec(t->key, out);
        mp_buf_puts(out, ", ");
        print_rec(t->elem, out);
        mp_buf_putc(out, '>');
        break;
    case MP_TYPE_STRUCT:
        if (t->nfields == 0) {
            mp_buf_puts(out, "STRUCT< >");
            break;
        }
        mp_buf_puts(out, "STRUCT<");
        for (size_t i = 0; i < t->nfields; i++) {
            if (i)
                mp_buf_puts(out, ", ");
            mp_buf_putc(out, '`');
            for (const char *c = t->fields[i].name; *c; c++) {
                if (*c == '`')
                    mp_buf_putc(out, '`');
                mp_buf_putc(out, *c);
            }
            mp_buf_puts(out, "` ");
            print_rec(t->fields[i].type, out);
        }
        mp_buf_putc(out, '>');
        break;
    default:
        mp_buf_puts(out, mp_type_kind_name(t->kind));
        break;
    }
}

int mp_type_print(const mp_type *t, mp_buf *out)
{
    if (!t)
        return MP_EINVAL;
    print_rec(t, out);
    return out->oom ? MP_ENOMEM : 0;
}

/* ---- parsing ---- */

typedef struct tparser {
    const char *s;
    size_t pos;
    int depth;
    mp_error *e;
} tparser;

static void tp_ws(tparser *p)
{
    while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
           p->s[p->pos] == '\r')
        p->pos++;
}

static int tp_err(tparser *p, const char *what)
{
    return mp_error_set(p->e, MP_EINPUT, "type: %s at offset %zu", what, p->pos);
}

static int tp_expect(tparser *p, char c)
{
    tp_ws(p);
    if (p->s[p->pos] != c) {
        char msg[32];
        snprintf(msg, sizeof msg, "expected '%c'", c);
        return tp_err(p, msg);
    }
    p->pos++;
    return 0;
}

/* A bare word [A-Za-z_][A-Za-z0-9_]*; returns its length (0 if none). */
static size_t tp_word(tparser *p)
{
    tp_ws(p);
    size_t n = 0;
    const char *w = p->s + p->pos;
    if (isalpha((unsigned char)w[0]) || w[0] == '_')
        while (isalnum((unsigned char)w[n]) || w[n] == '_')
            n++;
    return n;
}

static bool word_is(const char *w, size_t n, const char *kw)
{
    return strlen(kw) == n && strncasecmp(w, kw, n) == 0;
}

static int tp_int(tparser *p, int *v)
{
    tp_ws(p);
    if (!isdigit((unsigned char)p->s[p->pos]))
        return tp_err(p, "expected a number");
    long x = 0;
    while (isdigit((unsigned char)p->s[p->pos])) {
        x = x * 10 + (p->s[p->pos++] - '0');
        if (x > 1000000)
            return tp_err(p, "number too large");
    }
    *v = (int)x;
    return 0;
}

static int tp_type(tparser *p, mp_type **out);

static int tp_field_name(tparser *p, char **name)
{
    tp_ws(p);
    mp_buf b = {0};
    if (p->s[p->pos] == '`') {
        p->pos++;
        for (;;) {
            char c = p->s[p->pos];
            if (!c) {
                mp_buf_free(&b);
                return tp_err(p, "unterminated `name`");
            }
            p->pos++;
            if (c == '`') {
                if (p->s[p->pos] != '`')
                    break;
                p->pos++;
            }
            mp_buf_putc(&b, c);
        }
        if (b.len == 0) {
            mp_buf_free(&b);
            return tp_err(p, "empty field name");
        }
    } else {
        size_t n = tp_word(p);
        if (!n)
            return tp_err(p, "expected a field name");
        for (size_t i = 0; i < n; i++)
            mp_buf_putc(&b, (char)toupper((unsigned char)p->s[p->pos + i]));
        p->pos += n;
    }
    if (b.oom) {
        mp_buf_free(&b);
        return mp_error_set(p->e, MP_ENOMEM, "out of memory");
    }
    *name = mp_buf_take(&b);
    return *name ? 0 : mp_error_set(p->e, MP_ENOMEM, "out of memory");
}

static int tp_type(tparser *p, mp_type **out)
{
    *out = NULL;
    if (++p->depth > 64)
        return tp_err(p, "type nested too deeply");
    size_t n = tp_word(p);
    const char *w = p->s + p->pos;
    if (!n)
        return tp_err(p, "expected a type name");
    p->pos += n;
    static const struct {
        const char *name;
        mp_type_kind kind;
    } prims[] = {
        {"BOOLEAN", MP_TYPE_BOOLEAN}, {"INT", MP_TYPE_INTEGER},     {"INTEGER", MP_TYPE_INTEGER},
        {"BIGINT", MP_TYPE_BIGINT},   {"DOUBLE", MP_TYPE_DOUBLE},   {"STRING", MP_TYPE_STRING},
        {"VARCHAR", MP_TYPE_STRING},  {"BYTES", MP_TYPE_BYTES},     {"TIMESTAMP", MP_TYPE_TIMESTAMP},
        {"DATE", MP_TYPE_DATE},       {"TIME", MP_TYPE_TIME},
    };
    for (size_t i = 0; i < sizeof prims / sizeof prims[0]; i++) {
        if (word_is(w, n, prims[i].name)) {
            *out = mp_type_new(prims[i].kind);
            p->depth--;
            return *out ? 0 : mp_error_set(p->e, MP_ENOMEM, "out of memory");
        }
    }
    int rc;
    if (word_is(w, n, "DECIMAL")) {
        int prec, scale;
        if ((rc = tp_expect(p, '(')) || (rc = tp_int(p, &prec)) || (rc = tp_expect(p, ',')) ||
            (rc = tp_int(p, &scale)) || (rc = tp_expect(p, ')')))
            return rc;
        rc = mp_type_new_decimal(prec, scale, out, p->e);
    } else if (word_is(w, n, "ARRAY")) {
        mp_type *elem;
        if ((rc = tp_expect(p, '<')) || (rc = tp_type(p, &elem)))
            return rc;
        if ((rc = tp_expect(p, '>'))) {
            mp_type_free(elem);
            return rc;
        }
        *out = mp_type_new_array(elem);
        rc = *out ? 0 : mp_error_set(p->e, MP_ENOMEM, "out of memory");
    } else if (word_is(w, n, "MAP")) {
        mp_type *k = NULL, *v = NULL;
        if ((rc = tp_expect(p, '<')) || (rc = tp_type(p, &k)))
            return rc;
        if ((rc = tp_expect(p, ',')) || (rc = tp_type(p, &v)) || (rc = tp_expect(p, '>'))) {
            mp_type_free(k);
            mp_type_free(v);
            return rc;
        }
        *out = mp_type_new_map(k, v);
        rc = *out ? 0 : mp_error_set(p->e, MP_ENOMEM, "out of memory");
    } else if (word_is(w, n, "STRUCT")) {
        if ((rc = tp_expect(p, '<')))
            return rc;
        mp_type *st = mp_type_new_struct();
        if (!st)
            return mp_error_set(p->e, MP_ENOMEM, "out of memory");
        tp_ws(p);
        if (p->s[p->pos] == '>') {
            p->pos++;
        } else {
            for (;;) {
                char *name = NULL;
                mp_type *ft = NULL;
                if ((rc = tp_field_name(p, &name)) || (rc = tp_type(p, &ft))) {
                    free(name);
                    mp_type_free(st);
                    return rc;
                }
                size_t at = p->pos;
                rc = mp_type_struct_add(st, name, ft, p->e);
                free(name);
                if (rc) {
                    mp_type_free(st);
                    mp_error_prefix(p->e, "type: at offset %zu", at);
                    return rc;
                }
                tp_ws(p);
                if (p->s[p->pos] == ',') {
                    p->pos++;
                    continue;
                }
                if ((rc = tp_expect(p, '>'))) {
                    mp_type_free(st);
                    return rc;
                }
                break;
            }
        }
        *out = st;
        rc = 0;
    } else {
        p->pos -= n;
        return tp_err(p, "unknown type name");
    }
    p->depth--;
    return rc;
}

int mp_type_parse(const char *text, mp_type **out, mp_error *e)
{
    *out = NULL;
    tparser p = {.s = text, .e = e};
    int rc = tp_type(&p, out);
    if (rc)
        return rc;
    tp_ws(&p);
    if (text[p.pos]) {
        mp_type_free(*out);
        *out = NULL;
        return tp_err(&p, "unexpected text after the type");
    }
    return 0;
}

/* ---- coercion ---- */

static int numeric_rank(mp_type_kind k)
{
    switch (k) {
    case MP_TYPE_INTEGER: return 1;
    case MP_TYPE_BIGINT: return 2;
    case MP_TYPE_DECIMAL: return 3;
    case MP_TYPE_DOUBLE: return 4;
    default: return 0;
    }
}

/* INTEGER and BIGINT as DECIMAL, per ksqlDB (10, 0) and (19, 0). */
static void as_decimal(const mp_type *t, int *p, int *s)
{
    if (t->kind == MP_TYPE_INTEGER) {
        *p = 10, *s = 0;
    } else if (t->kind == MP_TYPE_BIGINT) {
        *p = 19, *s = 0;
    } else {
        *p = t->precision, *s = t->scale;
    }
}

bool mp_type_can_coerce(const mp_type *from, const mp_type *to)
{
    if (!from || !to)
        return false;
    if (from->kind == MP_TYPE_NULL)
        return true;
    int rf = numeric_rank(from->kind), rt = numeric_rank(to->kind);
    if (rf && rt) {
        if (rf > rt)
            return false;
        if (to->kind == MP_TYPE_DECIMAL) {
            int pf, sf;
            as_decimal(from, &pf, &sf);
            return sf <= to->scale && pf - sf <= to->precision - to->scale;
        }
        return true;
    }
    if (from->kind != to->kind)
        return false;
    switch (from->kind) {
    case MP_TYPE_ARRAY:
        return mp_type_can_coerce(from->elem, to->elem);
    case MP_TYPE_MAP:
        return mp_type_can_coerce(from->key, to->key) && mp_type_can_coerce(from->elem, to->elem);
    case MP_TYPE_STRUCT:
        for (size_t i = 0; i < from->nfields; i++) {
            int j = mp_type_struct_find(to, from->fields[i].name);
            if (j >= 0 && !mp_type_can_coerce(from->fields[i].type, to->fields[j].type))
                return false;
        }
        return true;
    default:
        return true;
    }
}

static int incompatible(const mp_type *a, const mp_type *b, mp_error *e)
{
    mp_buf ba = {0}, bb = {0};
    mp_type_print(a, &ba);
    mp_type_print(b, &bb);
    int rc = mp_error_set(e, MP_EINVAL, "incompatible types %s and %s", ba.data ? ba.data : "?",
                          bb.data ? bb.data : "?");
    mp_buf_free(&ba);
    mp_buf_free(&bb);
    return rc;
}

int mp_type_common(const mp_type *a, const mp_type *b, mp_type **out, mp_error *e)
{
    *out = NULL;
    if (!a || !b)
        return mp_error_set(e, MP_EINVAL, "common type of a missing type");
    if (a->kind == MP_TYPE_NULL || b->kind == MP_TYPE_NULL) {
        *out = mp_type_clone(a->kind == MP_TYPE_NULL ? b : a);
        return *out ? 0 : mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    int ra = numeric_rank(a->kind), rb = numeric_rank(b->kind);
    if (ra && rb) {
        int top = ra > rb ? ra : rb;
        if (top == 3) {
            int pa, sa, pb, sb;
            as_decimal(a, &pa, &sa);
            as_decimal(b, &pb, &sb);
            int whole = (pa - sa) > (pb - sb) ? pa - sa : pb - sb;
            int scale = sa > sb ? sa : sb;
            if (whole + scale > MP_DECIMAL_MAX_PRECISION) {
                int rc = incompatible(a, b, e);
                mp_error_prefix(e, "no common DECIMAL within %d digits", MP_DECIMAL_MAX_PRECISION);
                return rc;
            }
            return mp_type_new_decimal(whole + scale, scale, out, e);
        }
        *out = mp_type_clone(ra >= rb ? a : b);
        return *out ? 0 : mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    if (a->kind != b->kind)
        return incompatible(a, b, e);
    int rc;
    switch (a->kind) {
    case MP_TYPE_ARRAY: {
        mp_type *el;
        if ((rc = mp_type_common(a->elem, b->elem, &el, e)))
            return rc;
        *out = mp_type_new_array(el);
        break;
    }
    case MP_TYPE_MAP: {
        mp_type *k, *v;
        if ((rc = mp_type_common(a->key, b->key, &k, e)))
            return rc;
        if ((rc = mp_type_common(a->elem, b->elem, &v, e))) {
            mp_type_free(k);
            return rc;
        }
        *out = mp_type_new_map(k, v);
        break;
    }
    case MP_TYPE_STRUCT: {
        mp_type *st = mp_type_new_struct();
        if (!st)
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        for (size_t i = 0; i < a->nfields; i++) {
            int j = mp_type_struct_find(b, a->fields[i].name);
            mp_type *ft;
            if (j >= 0)
                rc = mp_type_common(a->fields[i].type, b->fields[j].type, &ft, e);
            else
                rc = (ft = mp_type_clone(a->fields[i].type)) ? 0 : MP_ENOMEM;
            if (!rc)
                rc = mp_type_struct_add(st, a->fields[i].name, ft, e);
            if (rc) {
                mp_type_free(st);
                if (j >= 0 && rc == MP_EINVAL)
                    mp_error_prefix(e, "field `%s`", a->fields[i].name);
                return rc == MP_ENOMEM ? mp_error_set(e, rc, "out of memory") : rc;
            }
        }
        for (size_t j = 0; j < b->nfields; j++) {
            if (mp_type_struct_find(a, b->fields[j].name) >= 0)
                continue;
            mp_type *ft = mp_type_clone(b->fields[j].type);
            if (!ft || mp_type_struct_add(st, b->fields[j].name, ft, e)) {
                mp_type_free(st);
                return mp_error_set(e, MP_ENOMEM, "out of memory");
            }
        }
        *out = st;
        return 0;
    }
    default:
        *out = mp_type_clone(a);
        break;
    }
    return *out ? 0 : mp_error_set(e, MP_ENOMEM, "out of memory");
}

/* ======================================================================
 * 256-bit unsigned helpers: products of two 38-digit numbers and scaled
 * dividends need up to 77 digits, beyond __int128.
 * ====================================================================== */

typedef struct u256 {
    uint64_t w[4]; /* little-endian limbs */
} u256;

static u256 u256_from_u128(mp_u128 v)
{
    u256 r = {{(uint64_t)v, (uint64_t)(v >> 64), 0, 0}};
    return r;
}

static bool u256_is_zero(const u256 *a)
{
    return !(a->w[0] | a->w[1] | a->w[2] | a->w[3]);
}

static bool u256_fits_u128(const u256 *a)
{
    return !(a->w[2] | a->w[3]);
}

static mp_u128 u256_lo128(const u256 *a)
{
    return ((mp_u128)a->w[1] << 64) | a->w[0];
}

static int u256_cmp(const u256 *a, const u256 *b)
{
    for (int i = 3; i >= 0; i--)
        if (a->w[i] != b->w[i])
            return a->w[i] < b->w[i] ? -1 : 1;
    return 0;
}

static uint64_t u256_add(u256 *r, const u256 *a, const u256 *b)
{
    uint64_t carry = 0;
    for (int i = 0; i < 4; i++) {
        mp_u128 s = (mp_u128)a->w[i] + b->w[i] + carry;
        r->w[i] = (uint64_t)s;
        carry = (uint64_t)(s >> 64);
    }
    return carry;
}

/* r = a - b, requires a >= b. */
static void u256_sub(u256 *r, const u256 *a, const u256 *b)
{
    uint64_t borrow = 0;
    for (int i = 0; i < 4; i++) {
        mp_u128 d = (mp_u128)a->w[i] - b->w[i] - borrow;
        r->w[i] = (uint64_t)d;
        borrow = (uint64_t)(d >> 64) ? 1 : 0;
    }
}

/* a *= m; returns nonzero on overflow (a is then garbage). */
static int u256_mul_u64(u256 *a, uint64_t m)
{
    uint64_t carry = 0;
    for (int i = 0; i < 4; i++) {
        mp_u128 p = (mp_u128)a->w[i] * m + carry;
        a->w[i] = (uint64_t)p;
        carry = (uint64_t)(p >> 64);
    }
    return carry != 0;
}

static const uint64_t POW10_U64[20] = {
    1ULL,
    10ULL,
    100ULL,
    1000ULL,
    10000ULL,
    100000ULL,
    1000000ULL,
    10000000ULL,
    100000000ULL,
    1000000000ULL,
    10000000000ULL,
    100000000000ULL,
    1000000000000ULL,
    10000000000000ULL,
    100000000000000ULL,
    1000000000000000ULL,
    10000000000000000ULL,
    100000000000000000ULL,
    1000000000000000000ULL,
    10000000000000000000ULL,
};

/* a *= 10^k; nonzero on overflow. */
static int u256_mul_pow10(u256 *a, int k)
{
    while (k > 0) {
        int step = k > 19 ? 19 : k;
        if (u256_mul_u64(a, POW10_U64[step]))
            return 1;
        k -= step;
    }
    return 0;
}

/* 10^k for 0 <= k <= 77 (the largest power below 2^256). */
static u256 u256_pow10(int k)
{
    u256 r = u256_from_u128(1);
    u256_mul_pow10(&r, k);
    return r;
}

static u256 u256_mul_u128(mp_u128 a, mp_u128 b)
{
    uint64_t x[2] = {(uint64_t)a, (uint64_t)(a >> 64)};
    uint64_t y[2] = {(uint64_t)b, (uint64_t)(b >> 64)};
    u256 r = {{0, 0, 0, 0}};
    for (int i = 0; i < 2; i++) {
        uint64_t carry = 0;
        for (int j = 0; j < 2; j++) {
            mp_u128 t = (mp_u128)x[i] * y[j] + r.w[i + j] + carry;
            r.w[i + j] = (uint64_t)t;
            carry = (uint64_t)(t >> 64);
        }
        r.w[i + 2] = carry;
    }
    return r;
}

static int u256_bitlen(const u256 *a)
{
    for (int i = 3; i >= 0; i--)
        if (a->w[i])
            return i * 64 + (64 - __builtin_clzll(a->w[i]));
    return 0;
}

/* q = n / d, r = n % d; d must be nonzero. */
static void u256_divmod(const u256 *n, const u256 *d, u256 *q, u256 *r)
{
    if (u256_fits_u128(n) && u256_fits_u128(d)) {
        mp_u128 a = u256_lo128(n), b = u256_lo128(d);
        *q = u256_from_u128(a / b);
        *r = u256_from_u128(a % b);
        return;
    }
    if (!(d->w[1] | d->w[2] | d->w[3])) {
        /* Single-limb divisor: schoolbook with 128/64 steps. */
        uint64_t dv = d->w[0];
        mp_u128 rem = 0;
        u256 qq;
        for (int i = 3; i >= 0; i--) {
            mp_u128 cur = (rem << 64) | n->w[i];
            qq.w[i] = (uint64_t)(cur / dv);
            rem = cur % dv;
        }
        *q = qq;
        *r = u256_from_u128(rem);
        return;
    }
    u256 qq = {{0, 0, 0, 0}}, rr = {{0, 0, 0, 0}};
    for (int bit = u256_bitlen(n) - 1; bit >= 0; bit--) {
        /* rr = rr << 1 | bit. When a bit falls off the top the true value
         * exceeds d, and the wrapping subtraction below is still exact. */
        uint64_t top = rr.w[3] >> 63;
        for (int i = 3; i > 0; i--)
            rr.w[i] = (rr.w[i] << 1) | (rr.w[i - 1] >> 63);
        rr.w[0] = (rr.w[0] << 1) | ((n->w[bit / 64] >> (bit % 64)) & 1);
        if (top || u256_cmp(&rr, d) >= 0) {
            u256_sub(&rr, &rr, d);
            qq.w[bit / 64] |= 1ULL << (bit % 64);
        }
    }
    *q = qq;
    *r = rr;
}

/* Decimal digits of a (no sign); returns the length. out holds >= 80. */
static size_t u256_format(const u256 *a, char *out)
{
    char tmp[96];
    size_t n = 0;
    u256 v = *a;
    const u256 chunk = u256_from_u128(POW10_U64[19]);
    do {
        u256 q, r;
        u256_divmod(&v, &chunk, &q, &r);
        uint64_t part = r.w[0];
        bool last = u256_is_zero(&q);
        for (int i = 0; i < 19 && (!last || part); i++) {
            tmp[n++] = (char)('0' + part % 10);
            part /= 10;
        }
        v = q;
    } while (!u256_is_zero(&v));
    if (n == 0)
        tmp[n++] = '0';
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

/* ======================================================================
 * DECIMAL
 * ====================================================================== */

static const mp_u128 TEN19 = 10000000000000000000ULL;

mp_i128 mp_i128_pow10(int k)
{
    if (k < 0 || k > 38)
        return 0;
    if (k <= 19)
        return (mp_i128)POW10_U64[k];
    return (mp_i128)(TEN19 * POW10_U64[k - 19]);
}

static mp_u128 u128_pow10(int k)
{
    return (mp_u128)mp_i128_pow10(k);
}

static size_t u128_format(mp_u128 u, char *out);

size_t mp_i128_format(mp_i128 v, char *out)
{
    size_t k = 0;
    if (v < 0)
        out[k++] = '-';
    return k + u128_format(v < 0 ? (mp_u128)0 - (mp_u128)v : (mp_u128)v, out + k);
}

static mp_u128 i128_abs(mp_i128 v)
{
    return v < 0 ? (mp_u128)0 - (mp_u128)v : (mp_u128)v;
}

/* Plain text of (neg ? -1 : 1) * mag * 10^exp for messages. */
static void format_exact(bool neg, const u256 *mag, int exp, char *out, size_t n)
{
    char digits[96];
    size_t nd = u256_format(mag, digits);
    size_t k = 0;
    if (neg && !u256_is_zero(mag) && k + 1 < n)
        out[k++] = '-';
    if (exp >= 0) {
        for (size_t i = 0; i < nd && k + 1 < n; i++)
            out[k++] = digits[i];
        if (!(nd == 1 && digits[0] == '0'))
            for (int i = 0; i < exp && k + 1 < n; i++)
                out[k++] = '0';
    } else {
        size_t frac = (size_t)-exp;
        if (nd <= frac) {
            if (k + 2 < n) {
                out[k++] = '0';
                out[k++] = '.';
            }
            for (size_t i = nd; i < frac && k + 1 < n; i++)
                out[k++] = '0';
            for (size_t i = 0; i < nd && k + 1 < n; i++)
                out[k++] = digits[i];
        } else {
            for (size_t i = 0; i < nd && k + 1 < n; i++) {
                if (i == nd - frac)
                    out[k++] = '.';
                if (k + 1 < n)
                    out[k++] = digits[i];
            }
        }
    }
    out[k] = '\0';
}

/* Fits the exact value (neg ? -1 : 1) * mag * 10^exp into DECIMAL(p, s).
 * lost_nonzero says nonzero digits below mag's last one were already
 * dropped (they only matter for rounding). */
static int dec_pack(bool neg, const u256 *mag_in, int exp, bool lost_nonzero, int p, int s,
                    mp_rounding rnd, mp_decimal *out, mp_error *e)
{
    u256 mag = *mag_in;
    long shift = (long)exp + s;
    char txt[128];
    if (u256_is_zero(&mag) && !lost_nonzero) {
        out->unscaled = 0;
        out->precision = p;
        out->scale = s;
        return 0;
    }
    if (shift >= 0) {
        if (shift > 77 || u256_mul_pow10(&mag, (int)shift))
            goto overflow;
        u256 lim = u256_pow10(p);
        if (u256_cmp(&mag, &lim) >= 0)
            goto overflow;
        if (lost_nonzero && rnd == MP_ROUND_UNNECESSARY) {
            /* Unreachable in practice (dropped digits mean 77 kept ones,
             * which overflow above), but never silently lose them. */
            format_exact(neg, mag_in, exp, txt, sizeof txt);
            return mp_error_set(e, MP_EINPUT,
                                "cannot fit %s... into DECIMAL(%d, %d) without rounding", txt, p,
                                s);
        }
    } else {
        long k = -shift;
        u256 q, r, half_cmp;
        int cmp_half; /* remainder vs half the divisor: -1, 0, 1 */
        if (k > 77) {
            q = (u256){{0, 0, 0, 0}};
            r = mag;
            cmp_half = -1; /* mag < 2^256 < 10^78 / 2 */
        } else {
            u256 d = u256_pow10((int)k);
            u256_divmod(&mag, &d, &q, &r);
            /* compare 2r with d */
            half_cmp = r;
            u256_add(&half_cmp, &r, &r); /* r < d < 2^255: no carry */
            cmp_half = u256_cmp(&half_cmp, &d);
            if (cmp_half == 0 && lost_nonzero)
                cmp_half = 1;
        }
        bool inexact = !u256_is_zero(&r) || lost_nonzero;
        if (inexact && rnd == MP_ROUND_UNNECESSARY) {
            format_exact(neg, mag_in, exp, txt, sizeof txt);
            return mp_error_set(e, MP_EINPUT,
                                "cannot fit %s%s into DECIMAL(%d, %d) without rounding", txt,
                                lost_nonzero ? "..." : "", p, s);
        }
        if (inexact && cmp_half >= 0) {
            u256 one = u256_from_u128(1);
            u256_add(&q, &q, &one);
        }
        mag = q;
    }
    u256 lim = u256_pow10(p);
    if (u256_cmp(&mag, &lim) >= 0)
        goto overflow;
    mp_u128 m = u256_lo128(&mag);
    out->unscaled = neg ? -(mp_i128)m : (mp_i128)m;
    out->precision = p;
    out->scale = s;
    return 0;
overflow:
    format_exact(neg, mag_in, exp, txt, sizeof txt);
    return mp_error_set(e, MP_EINPUT,
                        "numeric overflow: %s%s does not fit DECIMAL(%d, %d) (at most %d integer "
                        "digits)",
                        txt, lost_nonzero ? "..." : "", p, s, p - s);
}

static bool valid_ps(int p, int s)
{
    return p >= 1 && p <= MP_DECIMAL_MAX_PRECISION && s >= 0 && s <= p;
}

static int bad_ps(int p, int s, mp_error *e)
{
    return mp_error_set(e, MP_EINVAL, "invalid DECIMAL(%d, %d): precision must be 1..%d and "
                        "scale 0..precision", p, s, MP_DECIMAL_MAX_PRECISION);
}

void mp_decimal_result_type(mp_decimal_op op, int p1, int s1, int p2, int s2, int *p, int *s)
{
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
    int rp, rs;
    switch (op) {
    case MP_DEC_ADD:
    case MP_DEC_SUB:
        rs = MAX(s1, s2);
        rp = rs + MAX(p1 - s1, p2 - s2) + 1;
        break;
    case MP_DEC_MUL:
        rp = p1 + p2 + 1;
        rs = s1 + s2;
        break;
    case MP_DEC_DIV:
        rs = MAX(6, s1 + p2 + 1);
        rp = p1 - s1 + s2 + rs;
        break;
    case MP_DEC_MOD:
    default:
        rs = MAX(s1, s2);
        rp = MIN(p1 - s1, p2 - s2) + rs;
        break;
    }
    if (rp > MP_DECIMAL_MAX_PRECISION) {
        int whole = rp - rs;
        int keep = MIN(rs, 6);
        rs = MAX(MP_DECIMAL_MAX_PRECISION - whole, keep);
        rp = MP_DECIMAL_MAX_PRECISION;
    }
    if (rs > rp)
        rs = rp;
    if (rp < 1)
        rp = 1;
    *p = rp;
    *s = rs;
#undef MAX
#undef MIN
}

int mp_decimal_arith(mp_decimal_op op, const mp_decimal *a, const mp_decimal *b,
                     mp_decimal *out, mp_error *e)
{
    if (!valid_ps(a->precision, a->scale))
        return bad_ps(a->precision, a->scale, e);
    if (!valid_ps(b->precision, b->scale))
        return bad_ps(b->precision, b->scale, e);
    int p, s;
    mp_decimal_result_type(op, a->precision, a->scale, b->precision, b->scale, &p, &s);
    bool na = a->unscaled < 0, nb = b->unscaled < 0;
    mp_u128 ma = i128_abs(a->unscaled), mb = i128_abs(b->unscaled);
    int sa = a->scale, sb = b->scale;
    int rc;

    switch (op) {
    case MP_DEC_ADD:
    case MP_DEC_SUB: {
        if (op == MP_DEC_SUB)
            nb = !nb && mb != 0;
        /* Fast path: same scales, result at that scale, sum fits 128 bits. */
        if (sa == sb && s == sa) {
            mp_i128 x = a->unscaled, y = op == MP_DEC_SUB ? -b->unscaled : b->unscaled, r;
            if (!__builtin_add_overflow(x, y, &r)) {
                mp_i128 lim = mp_i128_pow10(p);
                if (r < lim && r > -lim) {
                    out->unscaled = r;
                    out->precision = p;
                    out->scale = s;
                    return 0;
                }
            }
        }
        int sc = sa > sb ? sa : sb;
        u256 xa = u256_from_u128(ma), xb = u256_from_u128(mb), r;
        u256_mul_pow10(&xa, sc - sa); /* < 10^76: no overflow */
        u256_mul_pow10(&xb, sc - sb);
        bool neg;
        if (na == nb) {
            u256_add(&r, &xa, &xb);
            neg = na;
        } else if (u256_cmp(&xa, &xb) >= 0) {
            u256_sub(&r, &xa, &xb);
            neg = na;
        } else {
            u256_sub(&r, &xb, &xa);
            neg = nb;
        }
        rc = dec_pack(neg && !u256_is_zero(&r), &r, -sc, false, p, s, MP_ROUND_UNNECESSARY, out,
                      e);
        break;
    }
    case MP_DEC_MUL: {
        u256 r = u256_mul_u128(ma, mb);
        rc = dec_pack(na != nb && !u256_is_zero(&r), &r, -(sa + sb), false, p, s,
                      MP_ROUND_UNNECESSARY, out, e);
        break;
    }
    case MP_DEC_DIV: {
        if (mb == 0)
            return mp_error_set(e, MP_EINPUT, "DECIMAL division by zero");
        /* q = ma * 10^(s + sb - sa) / mb, exactly. */
        int k = s + sb - sa;
        u256 q;
        bool exact;
        if (k >= 0) {
            /* Long division one decimal digit at a time keeps every step
             * within 128 bits (remainder < mb < 10^38). */
            mp_u128 qi = ma / mb, r = ma % mb;
            q = u256_from_u128(qi);
            u256 lim = u256_pow10(p);
            for (int i = 0; i < k; i++) {
                uint64_t digit;
                if (r <= ~(mp_u128)0 / 10) {
                    mp_u128 t = r * 10;
                    digit = (uint64_t)(t / mb);
                    r = t % mb;
                } else {
                    /* r * 10 needs 129 bits; the digit is below 10. */
                    u256 t = u256_from_u128(r), d = u256_from_u128(mb);
                    u256_mul_u64(&t, 10);
                    for (digit = 0; u256_cmp(&t, &d) >= 0; digit++)
                        u256_sub(&t, &t, &d);
                    r = u256_lo128(&t);
                }
                u256 dd = u256_from_u128(digit);
                u256_mul_u64(&q, 10);
                u256_add(&q, &q, &dd);
                if (u256_cmp(&q, &lim) >= 0) {
                    char ta[MP_DECIMAL_STR_MAX], tb[MP_DECIMAL_STR_MAX];
                    mp_decimal_format(a, ta);
                    mp_decimal_format(b, tb);
                    return mp_error_set(e, MP_EINPUT,
                                        "numeric overflow: %s / %s does not fit DECIMAL(%d, %d)",
                                        ta, tb, p, s);
                }
            }
            exact = r == 0;
        } else {
            u256 n = u256_from_u128(ma), d = u256_from_u128(mb), r;
            u256_mul_pow10(&d, -k); /* -k <= sa <= 38: < 10^76 */
            u256_divmod(&n, &d, &q, &r);
            exact = u256_is_zero(&r);
        }
        if (!exact) {
            char ta[MP_DECIMAL_STR_MAX], tb[MP_DECIMAL_STR_MAX];
            mp_decimal_format(a, ta);
            mp_decimal_format(b, tb);
            return mp_error_set(e, MP_EINPUT,
                                "DECIMAL division %s / %s is not exact at scale %d (rounding "
                                "necessary; CAST an operand to DOUBLE or round explicitly)",
                                ta, tb, s);
        }
        rc = dec_pack(na != nb && !u256_is_zero(&q), &q, -s, false, p, s, MP_ROUND_UNNECESSARY,
                      out, e);
        break;
    }
    case MP_DEC_MOD:
    default: {
        if (mb == 0)
            return mp_error_set(e, MP_EINPUT, "DECIMAL modulus by zero");
        int sc = sa > sb ? sa : sb;
        u256 xa = u256_from_u128(ma), xb = u256_from_u128(mb), q, r;
        u256_mul_pow10(&xa, sc - sa);
        u256_mul_pow10(&xb, sc - sb);
        u256_divmod(&xa, &xb, &q, &r);
        /* The remainder takes the dividend's sign (BigDecimal.remainder). */
        rc = dec_pack(na && !u256_is_zero(&r), &r, -sc, false, p, s, MP_ROUND_UNNECESSARY, out,
                      e);
        break;
    }
    }
    return rc;
}

int mp_decimal_add(const mp_decimal *a, const mp_decimal *b, mp_decimal *out, mp_error *e)
{
    return mp_decimal_arith(MP_DEC_ADD, a, b, out, e);
}

int mp_decimal_sub(const mp_decimal *a, const mp_decimal *b, mp_decimal *out, mp_error *e)
{
    return mp_decimal_arith(MP_DEC_SUB, a, b, out, e);
}

int mp_decimal_mul(const mp_decimal *a, const mp_decimal *b, mp_decimal *out, mp_error *e)
{
    return mp_decimal_arith(MP_DEC_MUL, a, b, out, e);
}

int mp_decimal_div(const mp_decimal *a, const mp_decimal *b, mp_decimal *out, mp_error *e)
{
    return mp_decimal_arith(MP_DEC_DIV, a, b, out, e);
}

int mp_decimal_mod(const mp_decimal *a, const mp_decimal *b, mp_decimal *out, mp_error *e)
{
    return mp_decimal_arith(MP_DEC_MOD, a, b, out, e);
}

int mp_decimal_cmp(const mp_decimal *a, const mp_decimal *b)
{
    if (a->scale == b->scale)
        return a->unscaled < b->unscaled ? -1 : a->unscaled > b->unscaled;
    bool na = a->unscaled < 0, nb = b->unscaled < 0;
    if (na != nb)
        return na ? -1 : 1;
    int sc = a->scale > b->scale ? a->scale : b->scale;
    u256 xa = u256_from_u128(i128_abs(a->unscaled)), xb = u256_from_u128(i128_abs(b->unscaled));
    u256_mul_pow10(&xa, sc - a->scale);
    u256_mul_pow10(&xb, sc - b->scale);
    int c = u256_cmp(&xa, &xb);
    return na ? -c : c;
}

int mp_decimal_rescale(const mp_decimal *a, int p, int s, mp_rounding r, mp_decimal *out,
                       mp_error *e)
{
    if (!valid_ps(p, s))
        return bad_ps(p, s, e);
    if (a->scale == s) {
        /* Common case: only the precision check. */
        mp_i128 lim = mp_i128_pow10(p);
        if (a->unscaled < lim && a->unscaled > -lim) {
            out->unscaled = a->unscaled;
            out->precision = p;
            out->scale = s;
            return 0;
        }
    }
    u256 m = u256_from_u128(i128_abs(a->unscaled));
    return dec_pack(a->unscaled < 0, &m, -a->scale, false, p, s, r, out, e);
}

int mp_decimal_from_int64(int64_t v, int p, int s, mp_decimal *out, mp_error *e)
{
    if (!valid_ps(p, s))
        return bad_ps(p, s, e);
    mp_decimal d = {.unscaled = v, .precision = 38, .scale = 0};
    return mp_decimal_rescale(&d, p, s, MP_ROUND_UNNECESSARY, out, e);
}

int mp_decimal_parse(const char *text, size_t len, int p, int s, mp_rounding rnd,
                     mp_decimal *out, mp_error *e)
{
    if (!valid_ps(p, s))
        return bad_ps(p, s, e);
    size_t i = 0;
    bool neg = false;
    if (i < len && (text[i] == '+' || text[i] == '-'))
        neg = text[i++] == '-';
    u256 mant = {{0, 0, 0, 0}};
    mp_u128 fast = 0;         /* the first 38 significant digits, for the fast path */
    int nsig = 0;             /* significant digits kept in mant (<= 77) */
    long dropped = 0;         /* significant digits beyond 77, dropped */
    bool lost_nonzero = false;
    long frac = 0;            /* digits after the point that were kept or were zero-skipped */
    int ndigits = 0;
    bool seen_point = false;
    for (; i < len; i++) {
        char c = text[i];
        if (c == '.') {
            if (seen_point)
                break;
            seen_point = true;
            continue;
        }
        if (c < '0' || c > '9')
            break;
        ndigits++;
        int d = c - '0';
        if (nsig == 0 && d == 0) {
            if (seen_point)
                frac++;
            continue; /* leading zero */
        }
        if (nsig < 38) {
            fast = fast * 10 + (mp_u128)d; /* 128 bits hold 38 digits */
            nsig++;
            if (seen_point)
                frac++;
        } else if (nsig < 77) {
            if (nsig == 38)
                mant = u256_from_u128(fast);
            u256_mul_u64(&mant, 10);
            u256 dd = u256_from_u128((mp_u128)d);
            u256_add(&mant, &mant, &dd);
            nsig++;
            if (seen_point)
                frac++;
        } else {
            /* Too many digits to keep; remember whether any was nonzero. */
            if (d)
                lost_nonzero = true;
            if (!seen_point)
                dropped++;
        }
    }
    if (ndigits == 0)
        return mp_error_set(e, MP_EINPUT, "not a number: no digits");
    long exp = 0;
    if (i < len && (text[i] == 'e' || text[i] == 'E')) {
        i++;
        bool eneg = false;
        if (i < len && (text[i] == '+' || text[i] == '-'))
            eneg = text[i++] == '-';
        size_t start = i;
        for (; i < len && text[i] >= '0' && text[i] <= '9'; i++)
            if (exp < 100000000)
                exp = exp * 10 + (text[i] - '0');
        if (i == start)
            return mp_error_set(e, MP_EINPUT, "not a number: exponent without digits");
        if (eneg)
            exp = -exp;
    }
    if (i != len)
        return mp_error_set(e, MP_EINPUT, "not a number: unexpected '%c' at offset %zu",
                            text[i], i);
    /* Fast path: at most 38 digits, no exponent, scale change by zeros. */
    if (nsig <= 38 && exp == 0 && !lost_nonzero && dropped == 0) {
        mp_u128 v = fast;
        long shift = (long)s - frac;
        if (nsig == 0) {
            out->unscaled = 0, out->precision = p, out->scale = s;
            return 0;
        }
        if (shift >= 0 && shift <= 38 && nsig + shift <= 38) {
            v *= u128_pow10((int)shift);
            if (v < u128_pow10(p)) {
                out->unscaled = neg ? -(mp_i128)v : (mp_i128)v;
                out->precision = p;
                out->scale = s;
                return 0;
            }
        }
    }
    if (nsig <= 38)
        mant = u256_from_u128(fast);
    long e10 = exp - frac + dropped;
    if (e10 > 1000000)
        e10 = 1000000;
    if (e10 < -1000000)
        e10 = -1000000;
    int rc = dec_pack(neg && (nsig > 0 || lost_nonzero), &mant, (int)e10, lost_nonzero, p, s,
                      rnd, out, e);
    if (rc == 0 && out->unscaled == 0)
        out->unscaled = 0; /* no negative zero */
    return rc;
}

int mp_decimal_from_double(double v, int p, int s, mp_decimal *out, mp_error *e)
{
    if (!valid_ps(p, s))
        return bad_ps(p, s, e);
    if (!isfinite(v))
        return mp_error_set(e, MP_EINPUT, "cannot convert %s to DECIMAL(%d, %d)",
                            isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity", p, s);
    if (v == 0) {
        out->unscaled = 0, out->precision = p, out->scale = s;
        return 0;
    }
    /* The exact binary value, rounded HALF_UP to p significant digits
     * (BigDecimal(double, MathContext(p))). Printing p + 25 digits makes
     * the decision digit exact unless 25 nines follow it. */
    char buf[160];
    int nd = p + 25;
    snprintf(buf, sizeof buf, "%.*e", nd - 1, v);
    const char *c = buf;
    bool neg = false;
    if (*c == '-') {
        neg = true;
        c++;
    }
    char digits[80];
    int n = 0;
    for (; *c && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9')
            digits[n++] = *c;
    int e10 = atoi(c + 1); /* value = d0.d1d2... * 10^e10 */
    u256 mant = {{0, 0, 0, 0}};
    for (int k = 0; k < p && k < n; k++) {
        u256 dd = u256_from_u128((mp_u128)(digits[k] - '0'));
        u256_mul_u64(&mant, 10);
        u256_add(&mant, &mant, &dd);
    }
    if (p < n && digits[p] >= '5') {
        u256 one = u256_from_u128(1);
        u256_add(&mant, &mant, &one);
    }
    /* mant holds p digits (p + 1 after a carry): value = mant * 10^(e10 - p + 1). */
    return dec_pack(neg, &mant, e10 - p + 1, false, p, s, MP_ROUND_HALF_UP, out, e);
}

double mp_decimal_to_double(const mp_decimal *d)
{
    char buf[MP_DECIMAL_STR_MAX + 8];
    size_t n = mp_i128_format(d->unscaled, buf);
    snprintf(buf + n, sizeof buf - n, "e-%d", d->scale);
    return strtod(buf, NULL);
}

static size_t u128_format(mp_u128 u, char *out)
{
    char tmp[48];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(u % 10));
        u /= 10;
    } while (u);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
    return n;
}

size_t mp_decimal_format(const mp_decimal *d, char *out)
{
    char digits[48];
    size_t nd = u128_format(i128_abs(d->unscaled), digits);
    size_t k = 0;
    if (d->unscaled < 0)
        out[k++] = '-';
    int sc = d->scale;
    if (sc < 0 || sc > MP_DECIMAL_MAX_PRECISION || nd > 39) {
        /* Not a valid DECIMAL: still say something, within bounds. */
        memcpy(out + k, digits, nd);
        k += nd;
        k += (size_t)snprintf(out + k, MP_DECIMAL_STR_MAX - k, "E%d", -sc);
        return k;
    }
    if (sc == 0) {
        memcpy(out + k, digits, nd);
        k += nd;
    } else if (nd <= (size_t)sc) {
        out[k++] = '0';
        out[k++] = '.';
        for (size_t i = nd; i < (size_t)sc; i++)
            out[k++] = '0';
        memcpy(out + k, digits, nd);
        k += nd;
    } else {
        memcpy(out + k, digits, nd - (size_t)sc);
        k += nd - (size_t)sc;
        out[k++] = '.';
        memcpy(out + k, digits + nd - (size_t)sc, (size_t)sc);
        k += (size_t)sc;
    }
    out[k] = '\0';
    return k;
}
