/* Helpers shared by the built-in functions: signature binding, numeric
 * access across kinds, implicit widening of values, text and Unicode. */
#include <locale.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "sql/fn_builtin.h"

/* ---- types ---- */

mp_type *mp_fn_type(mp_type_kind k)
{
    return mp_type_new(k);
}

static mp_type *type_code_rec(const char **p)
{
    char c = **p;
    (*p)++;
    switch (c) {
    case 'b': return mp_type_new(MP_TYPE_BOOLEAN);
    case 'i': return mp_type_new(MP_TYPE_INTEGER);
    case 'l': return mp_type_new(MP_TYPE_BIGINT);
    case 'd': return mp_type_new(MP_TYPE_DOUBLE);
    case 's': return mp_type_new(MP_TYPE_STRING);
    case 'y': return mp_type_new(MP_TYPE_BYTES);
    case 't': return mp_type_new(MP_TYPE_TIMESTAMP);
    case 'a': return mp_type_new(MP_TYPE_DATE);
    case 'm': return mp_type_new(MP_TYPE_TIME);
    case '[': {
        mp_type *el = type_code_rec(p);
        return el ? mp_type_new_array(el) : NULL;
    }
    case '{': {
        mp_type *k = type_code_rec(p);
        if (!k)
            return NULL;
        mp_type *v = type_code_rec(p);
        if (!v) {
            mp_type_free(k);
            return NULL;
        }
        return mp_type_new_map(k, v);
    }
    default: return NULL;
    }
}

mp_type *mp_fn_type_code(const char *code)
{
    return type_code_rec(&code);
}

static mp_type_kind code_kind(char c)
{
    switch (c) {
    case 'b': return MP_TYPE_BOOLEAN;
    case 'i': return MP_TYPE_INTEGER;
    case 'l': return MP_TYPE_BIGINT;
    case 'n': return MP_TYPE_DECIMAL;
    case 'd': return MP_TYPE_DOUBLE;
    case 's': return MP_TYPE_STRING;
    case 'y': return MP_TYPE_BYTES;
    case 't': return MP_TYPE_TIMESTAMP;
    case 'a': return MP_TYPE_DATE;
    case 'm': return MP_TYPE_TIME;
    default: return MP_TYPE_NULL; /* 'x': any */
    }
}

static int num_rank(mp_type_kind k)
{
    switch (k) {
    case MP_TYPE_INTEGER: return 0;
    case MP_TYPE_BIGINT: return 1;
    case MP_TYPE_DECIMAL: return 2;
    case MP_TYPE_DOUBLE: return 3;
    default: return -1;
    }
}

bool mp_fn_kind_accepts(const mp_type *from, mp_type_kind to, int *cost)
{
    *cost = 0;
    if (to == MP_TYPE_NULL || from->kind == MP_TYPE_NULL || from->kind == to)
        return true;
    int a = num_rank(from->kind), b = num_rank(to);
    if (a >= 0 && b > a) {
        *cost = b - a;
        return true;
    }
    return false;
}

/* The type an argument takes when passed to a parameter of kind `to`. */
static mp_type *coerced_type(const mp_type *from, char code)
{
    mp_type_kind to = code_kind(code);
    if (to == MP_TYPE_NULL || from->kind == to)
        return mp_type_clone(from);
    if (to == MP_TYPE_DECIMAL) {
        mp_type *t = NULL;
        int p = from->kind == MP_TYPE_BIGINT ? 19 : 10;
        if (mp_type_new_decimal(p, 0, &t, NULL))
            return NULL;
        return t;
    }
    return mp_type_new(to);
}

void mp_fn_print_args(mp_buf *b, const mp_type *const *args, size_t n)
{
    mp_buf_putc(b, '(');
    for (size_t i = 0; i < n; i++) {
        if (i)
            mp_buf_puts(b, ", ");
        if (args[i]->kind == MP_TYPE_NULL)
            mp_buf_puts(b, "NULL");
        else
            mp_type_print(args[i], b);
    }
    mp_buf_putc(b, ')');
}

int mp_fn_bind_refuse(mp_error *e, const char *name, const mp_type *const *args, size_t n,
                      const char *expected)
{
    mp_buf b = {0};
    mp_fn_print_args(&b, args, n);
    int rc = mp_error_set(e, MP_EINVAL,
                          "Function '%s' does not accept parameters %s. Valid alternatives are: %s",
                          name, b.data ? b.data : "()", expected);
    mp_buf_free(&b);
    return rc;
}

static const char *code_name(char c)
{
    switch (c) {
    case 'b': return "BOOLEAN";
    case 'i': return "INTEGER";
    case 'l': return "BIGINT";
    case 'n': return "DECIMAL";
    case 'd': return "DOUBLE";
    case 's': return "STRING";
    case 'y': return "BYTES";
    case 't': return "TIMESTAMP";
    case 'a': return "DATE";
    case 'm': return "TIME";
    default: return "ANY";
    }
}

/* Cost of passing args to sig, or -1 when it does not fit. */
static int sig_cost(const mp_fn_sig *s, const mp_type *const *args, size_t n)
{
    size_t np = strlen(s->params);
    bool var = np > 0 && s->params[np - 1] == '*';
    size_t fixed = var ? np - 1 : np;
    if (var ? n < fixed - 1 : n != fixed)
        return -1;
    int total = 0;
    for (size_t i = 0; i < n; i++) {
        char c = i < fixed ? s->params[i] : s->params[fixed - 1];
        int cost;
        if (!mp_fn_kind_accepts(args[i], code_kind(c), &cost))
            return -1;
        total += cost;
    }
    return total;
}

static char sig_param(const mp_fn_sig *s, size_t i)
{
    size_t np = strlen(s->params);
    bool var = np > 0 && s->params[np - 1] == '*';
    size_t fixed = var ? np - 1 : np;
    return i < fixed ? s->params[i] : s->params[fixed - 1];
}

int mp_fn_bind_sigs(const char *name, const mp_fn_sig *sigs, size_t nsigs,
                    const mp_type *const *args, size_t n, mp_scalar_impl *out, mp_error *e)
{
    int best = -1, best_cost = 0;
    for (size_t k = 0; k < nsigs; k++) {
        int c = sig_cost(&sigs[k], args, n);
        if (c >= 0 && (best < 0 || c < best_cost)) {
            best = (int)k;
            best_cost = c;
        }
    }
    if (best < 0) {
        mp_buf alt = {0};
        for (size_t k = 0; k < nsigs; k++) {
            if (k)
                mp_buf_puts(&alt, ", ");
            mp_buf_printf(&alt, "%s(", name);
            const char *p = sigs[k].params;
            for (size_t i = 0; p[i]; i++) {
                if (p[i] == '*') {
                    mp_buf_puts(&alt, "...");
                    continue;
                }
                if (i)
                    mp_buf_puts(&alt, ", ");
                mp_buf_puts(&alt, code_name(p[i]));
            }
            mp_buf_putc(&alt, ')');
        }
        int rc = mp_fn_bind_refuse(e, name, args, n, alt.data ? alt.data : "");
        mp_buf_free(&alt);
        return rc;
    }
    const mp_fn_sig *s = &sigs[best];
    mp_type *ret;
    if (s->ret[0] >= '0' && s->ret[0] <= '9') {
        size_t k = (size_t)(s->ret[0] - '0');
        if (k >= n)
            return mp_error_set(e, MP_EINVAL, "%s: bad signature table", name);
        ret = coerced_type(args[k], sig_param(s, k));
        /* a NULL literal where any type is accepted: the parameter's kind */
        if (ret && ret->kind == MP_TYPE_NULL && code_kind(sig_param(s, k)) != MP_TYPE_NULL) {
            mp_type_free(ret);
            ret = mp_type_new(code_kind(sig_param(s, k)));
        }
    } else {
        ret = mp_fn_type_code(s->ret);
    }
    if (!ret)
        return mp_error_set(e, MP_ENOMEM, "%s: out of memory", name);
    out->fn = s->fn;
    out->ret = ret;
    out->data = ret;
    out->null_in_null_out = !s->keep_nulls;
    return 0;
}

int mp_fn_common_type(const char *name, const mp_type *const *args, size_t n, mp_type **out,
                      mp_error *e)
{
    mp_type *acc = mp_type_new(MP_TYPE_NULL);
    if (!acc)
        return mp_error_set(e, MP_ENOMEM, "%s: out of memory", name);
    for (size_t i = 0; i < n; i++) {
        mp_type *next = NULL;
        int rc = mp_type_common(acc, args[i], &next, e);
        mp_type_free(acc);
        if (rc) {
            if (e)
                mp_error_prefix(e, "%s: argument %zu", name, i + 1);
            return rc;
        }
        acc = next;
    }
    *out = acc;
    return 0;
}

/* ---- run time ---- */

int mp_fn_oom(mp_fn_ctx *cx)
{
    return mp_error_set(cx->e, MP_ENOMEM, "out of memory");
}

int mp_fn_fail(mp_fn_ctx *cx, int code, const char *name, const char *fmt, ...)
{
    char msg[MP_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mp_error_set(cx->e, code, "%s: %s", name, msg);
}

double mp_fn_num_double(const mp_value *v)
{
    switch (v->kind) {
    case MP_TYPE_INTEGER: return v->u.i32;
    case MP_TYPE_BIGINT: return (double)v->u.i64;
    case MP_TYPE_DOUBLE: return v->u.f64;
    case MP_TYPE_DECIMAL: {
        mp_decimal d = mp_v_get_decimal(v);
        return mp_decimal_to_double(&d);
    }
    default: return 0;
    }
}

/* Java's (long) cast of a double: truncation, saturating, NaN -> 0. */
static int64_t java_d2l(double d)
{
    if (d != d)
        return 0;
    if (d >= 9223372036854775807.0)
        return INT64_MAX;
    if (d <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)d;
}

int64_t mp_fn_num_int64(const mp_value *v)
{
    switch (v->kind) {
    case MP_TYPE_INTEGER: return v->u.i32;
    case MP_TYPE_BIGINT: return v->u.i64;
    case MP_TYPE_DOUBLE: return java_d2l(v->u.f64);
    case MP_TYPE_DECIMAL: {
        mp_decimal d = mp_v_get_decimal(v);
        mp_i128 q = d.unscaled / mp_i128_pow10(d.scale);
        return q > INT64_MAX ? INT64_MAX : q < INT64_MIN ? INT64_MIN : (int64_t)q;
    }
    default: return 0;
    }
}

mp_decimal mp_fn_num_decimal(const mp_value *v)
{
    mp_decimal d = {0, 10, 0};
    switch (v->kind) {
    case MP_TYPE_INTEGER:
        d.unscaled = v->u.i32;
        d.precision = 10;
        break;
    case MP_TYPE_BIGINT:
        d.unscaled = v->u.i64;
        d.precision = 19;
        break;
    case MP_TYPE_DECIMAL: d = mp_v_get_decimal(v); break;
    default: break;
    }
    return d;
}

int mp_fn_coerce(const mp_value *v, const mp_type *t, mp_arena *a, mp_value *out, mp_error *e)
{
    if (v->null || t->kind == MP_TYPE_NULL) {
        *out = v->null ? mp_v_null_of(t) : *v;
        return 0;
    }
    switch (t->kind) {
    case MP_TYPE_BIGINT:
        if (v->kind == MP_TYPE_INTEGER) {
            *out = mp_v_bigint(v->u.i32);
            return 0;
        }
        break;
    case MP_TYPE_DOUBLE:
        if (mp_fn_is_num(v)) {
            *out = mp_v_double(mp_fn_num_double(v));
            return 0;
        }
        break;
    case MP_TYPE_DECIMAL:
        if (v->kind == MP_TYPE_INTEGER || v->kind == MP_TYPE_BIGINT || v->kind == MP_TYPE_DECIMAL) {
            if (v->kind == MP_TYPE_DECIMAL && v->precision == t->precision &&
                v->scale == t->scale) {
                *out = *v;
                return 0;
            }
            mp_decimal d = mp_fn_num_decimal(v), r;
            int rc = mp_decimal_rescale(&d, t->precision, t->scale, MP_ROUND_UNNECESSARY, &r, e);
            if (rc)
                return rc;
            *out = mp_v_decimal(&r);
            return 0;
        }
        break;
    case MP_TYPE_ARRAY:
        if (v->kind == MP_TYPE_ARRAY) {
            mp_value arr;
            if (mp_v_array(a, v->len, t->elem, &arr))
                return mp_error_set(e, MP_ENOMEM, "out of memory");
            for (uint32_t i = 0; i < v->len; i++) {
                int rc = mp_fn_coerce(&v->u.items[i], t->elem, a, &arr.u.items[i], e);
                if (rc)
                    return rc;
            }
            *out = arr;
            return 0;
        }
        break;
    case MP_TYPE_MAP:
        if (v->kind == MP_TYPE_MAP) {
            mp_value m;
            if (mp_v_map(a, v->len, t->key, t->elem, &m))
                return mp_error_set(e, MP_ENOMEM, "out of memory");
            for (uint32_t i = 0; i < v->len; i++) {
                int rc = mp_fn_coerce(&v->u.items[2 * i], t->key, a, &m.u.items[2 * i], e);
                if (!rc)
                    rc = mp_fn_coerce(&v->u.items[2 * i + 1], t->elem, a, &m.u.items[2 * i + 1], e);
                if (rc)
                    return rc;
            }
            *out = m;
            return 0;
        }
        break;
    case MP_TYPE_STRUCT:
        if (v->kind == MP_TYPE_STRUCT) {
            mp_value s;
            if (mp_v_struct(a, t, &s))
                return mp_error_set(e, MP_ENOMEM, "out of memory");
            const mp_type *st = v->u.st.type;
            for (size_t i = 0; i < t->nfields; i++) {
                int k = st ? mp_type_struct_find(st, t->fields[i].name) : -1;
                if (k < 0 || (uint32_t)k >= v->len)
                    continue; /* absent fields are NULL */
                int rc =
                    mp_fn_coerce(&v->u.st.fields[k], t->fields[i].type, a, &s.u.st.fields[i], e);
                if (rc)
                    return rc;
            }
            *out = s;
            return 0;
        }
        break;
    default: break;
    }
    if (v->kind == t->kind) {
        *out = *v;
        return 0;
    }
    return mp_error_set(e, MP_EINVAL, "cannot convert a %s value to %s", mp_type_kind_name(v->kind),
                        mp_type_kind_name(t->kind));
}

int mp_fn_ret_str(mp_fn_ctx *cx, const char *s, size_t n, mp_value *out)
{
    if (mp_v_string(cx->arena, s, n, out))
        return mp_fn_oom(cx);
    return 0;
}

int mp_fn_ret_buf(mp_fn_ctx *cx, mp_buf *b, mp_value *out)
{
    int rc = b->oom ? MP_ENOMEM : mp_v_string(cx->arena, b->data ? b->data : "", b->len, out);
    mp_buf_free(b);
    return rc ? mp_fn_oom(cx) : 0;
}

int mp_fn_ret_bytes_buf(mp_fn_ctx *cx, mp_buf *b, mp_value *out)
{
    int rc = b->oom ? MP_ENOMEM : mp_v_bytes(cx->arena, b->data ? b->data : "", b->len, out);
    mp_buf_free(b);
    return rc ? mp_fn_oom(cx) : 0;
}

bool mp_fn_lit_str(const mp_value *const *lits, size_t i, const char **s, size_t *len)
{
    if (!lits || !lits[i] || lits[i]->null || lits[i]->kind != MP_TYPE_STRING)
        return false;
    *s = lits[i]->u.str;
    *len = lits[i]->len;
    return true;
}

bool mp_fn_lit_int(const mp_value *const *lits, size_t i, int64_t *v)
{
    if (!lits || !lits[i] || lits[i]->null ||
        (lits[i]->kind != MP_TYPE_INTEGER && lits[i]->kind != MP_TYPE_BIGINT))
        return false;
    *v = mp_fn_num_int64(lits[i]);
    return true;
}

bool mp_fn_lit_bool(const mp_value *const *lits, size_t i, bool *v)
{
    if (!lits || !lits[i] || lits[i]->null || lits[i]->kind != MP_TYPE_BOOLEAN)
        return false;
    *v = lits[i]->u.b;
    return true;
}

/* ---- text ---- */

uint32_t mp_fn_utf8_next(const char *str, size_t n, size_t *i)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t p = *i;
    unsigned char c = s[p];
    uint32_t cp;
    size_t len;
    if (c < 0x80) {
        *i = p + 1;
        return c;
    } else if (c >= 0xC2 && c <= 0xDF) {
        cp = c & 0x1F;
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        cp = c & 0x0F;
        len = 3;
    } else if (c >= 0xF0 && c <= 0xF4) {
        cp = c & 0x07;
        len = 4;
    } else {
        *i = p + 1;
        return 0xFFFD;
    }
    if (p + len > n) {
        *i = p + 1;
        return 0xFFFD;
    }
    for (size_t k = 1; k < len; k++) {
        if ((s[p + k] & 0xC0) != 0x80) {
            *i = p + 1;
            return 0xFFFD;
        }
        cp = (cp << 6) | (s[p + k] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
        *i = p + 1;
        return 0xFFFD;
    }
    *i = p + len;
    return cp;
}

void mp_fn_utf8_put(mp_buf *b, uint32_t cp)
{
    char t[4];
    if (cp < 0x80) {
        mp_buf_putc(b, (char)cp);
    } else if (cp < 0x800) {
        t[0] = (char)(0xC0 | (cp >> 6));
        t[1] = (char)(0x80 | (cp & 0x3F));
        mp_buf_append(b, t, 2);
    } else if (cp >= 0xD800 && cp <= 0xDFFF) {
        mp_buf_putc(b, '?');
    } else if (cp < 0x10000) {
        t[0] = (char)(0xE0 | (cp >> 12));
        t[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[2] = (char)(0x80 | (cp & 0x3F));
        mp_buf_append(b, t, 3);
    } else if (cp <= 0x10FFFF) {
        t[0] = (char)(0xF0 | (cp >> 18));
        t[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        t[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[3] = (char)(0x80 | (cp & 0x3F));
        mp_buf_append(b, t, 4);
    } else {
        mp_buf_putc(b, '?');
    }
}

size_t mp_fn_u16_len(const char *s, size_t n)
{
    size_t i = 0, units = 0;
    while (i < n) {
        uint32_t cp = mp_fn_utf8_next(s, n, &i);
        units += cp >= 0x10000 ? 2 : 1;
    }
    return units;
}

uint16_t *mp_fn_u16_from(mp_arena *a, const char *s, size_t n, size_t *len)
{
    size_t units = mp_fn_u16_len(s, n);
    uint16_t *u = mp_arena_alloc(a, (units ? units : 1) * sizeof *u);
    if (!u)
        return NULL;
    size_t i = 0, k = 0;
    while (i < n) {
        uint32_t cp = mp_fn_utf8_next(s, n, &i);
        if (cp >= 0x10000) {
            cp -= 0x10000;
            u[k++] = (uint16_t)(0xD800 | (cp >> 10));
            u[k++] = (uint16_t)(0xDC00 | (cp & 0x3FF));
        } else {
            u[k++] = (uint16_t)cp;
        }
    }
    *len = units;
    return u;
}

void mp_fn_u16_put(mp_buf *b, const uint16_t *u, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t c = u[i];
        if (c >= 0xD800 && c <= 0xDBFF && i + 1 < n && u[i + 1] >= 0xDC00 && u[i + 1] <= 0xDFFF) {
            c = 0x10000 + ((c - 0xD800) << 10) + (u[i + 1] - 0xDC00);
            i++;
        }
        mp_fn_utf8_put(b, c);
    }
}

/* glibc's C.UTF-8 has full Unicode case tables; loaded once, immutable,
 * used through the thread-safe *_l functions. */
static pthread_once_t loc_once = PTHREAD_ONCE_INIT;
static locale_t loc_utf8;

static void loc_init(void)
{
    loc_utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static locale_t utf8_locale(void)
{
    pthread_once(&loc_once, loc_init);
    return loc_utf8;
}

uint32_t mp_fn_upper(uint32_t cp)
{
    if (cp < 0x80)
        return cp >= 'a' && cp <= 'z' ? cp - 32 : cp;
    locale_t l = utf8_locale();
    return l ? (uint32_t)towupper_l((wint_t)cp, l) : cp;
}

uint32_t mp_fn_lower(uint32_t cp)
{
    if (cp < 0x80)
        return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
    locale_t l = utf8_locale();
    return l ? (uint32_t)towlower_l((wint_t)cp, l) : cp;
}

bool mp_fn_is_upper(uint32_t cp)
{
    if (cp < 0x80)
        return cp >= 'A' && cp <= 'Z';
    locale_t l = utf8_locale();
    /* titlecase letters (U+01C5) are both in glibc; Java calls them neither */
    return l && iswupper_l((wint_t)cp, l) && !iswlower_l((wint_t)cp, l);
}

bool mp_fn_is_lower(uint32_t cp)
{
    if (cp < 0x80)
        return cp >= 'a' && cp <= 'z';
    locale_t l = utf8_locale();
    return l && iswlower_l((wint_t)cp, l) && !iswupper_l((wint_t)cp, l);
}

bool mp_fn_is_digit(uint32_t cp)
{
    if (cp < 0x80)
        return cp >= '0' && cp <= '9';
    locale_t l = utf8_locale();
    /* glibc's digit class is ASCII only; other decimal digits are the
     * alphanumerics that are not letters */
    return l && iswalnum_l((wint_t)cp, l) && !iswalpha_l((wint_t)cp, l);
}

bool mp_fn_is_space(uint32_t cp)
{
    /* Java regex \s: [ \t\n\x0B\f\r] */
    return cp == ' ' || (cp >= 9 && cp <= 13);
}

bool mp_fn_ieq(const char *s, size_t n, const char *w)
{
    size_t m = strlen(w);
    if (m != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        char a = s[i], b = w[i];
        if (a >= 'a' && a <= 'z')
            a = (char)(a - 32);
        if (b >= 'a' && b <= 'z')
            b = (char)(b - 32);
        if (a != b)
            return false;
    }
    return true;
}
