/* Evaluating compiled expressions: one function per node kind and operand
 * type class, chosen by the binder, so a row is evaluated with no name
 * lookup and no type dispatch beyond what the node's function does. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql/sql_expr_internal.h"

#define MS_PER_DAY INT64_C(86400000)

/* ---- helpers ---- */

/* A run-time error at node n ("line 1:8: division by zero"). */
static int rt_err(const mp_sql_cexpr *n, mp_fn_ctx *cx, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int rt_err(const mp_sql_cexpr *n, mp_fn_ctx *cx, int code, const char *fmt, ...)
{
    char msg[MP_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mp_error_set(cx->e, code, "line %u:%u: %s", (unsigned)n->pos.line,
                        (unsigned)n->pos.col, msg);
}

/* Adds node n's position to an error a helper reported. */
static int at(const mp_sql_cexpr *n, mp_fn_ctx *cx, int rc)
{
    if (cx->e && rc != MP_ENOMEM)
        mp_error_prefix(cx->e, "line %u:%u", (unsigned)n->pos.line, (unsigned)n->pos.col);
    return rc;
}

static int no_arena(const mp_sql_cexpr *n, mp_fn_ctx *cx)
{
    return rt_err(n, cx, MP_EINVAL, "evaluation needs an arena for its result");
}

static inline int64_t int_of(const mp_value *v)
{
    return v->kind == MP_TYPE_INTEGER ? v->u.i32 : v->u.i64;
}

static inline double dbl_of(const mp_value *v)
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

static inline mp_decimal dec_of(const mp_value *v)
{
    if (v->kind == MP_TYPE_DECIMAL)
        return mp_v_get_decimal(v);
    mp_decimal d = {.unscaled = int_of(v),
                    .precision = v->kind == MP_TYPE_INTEGER ? 10 : 19,
                    .scale = 0};
    return d;
}

/* Results are written field by field: building a value in a temporary and
 * copying it (as mp_v_int() does) makes the CPU reload 16 bytes it just
 * stored in pieces, a store-forwarding stall that costs more than the
 * arithmetic. */
static inline void put_scalar(mp_value *o, mp_type_kind kind)
{
    o->kind = (uint8_t)kind;
    o->null = 0;
    o->precision = 0;
    o->scale = 0;
    o->len = 0;
    o->u.dec.lo = 0;
    o->u.dec.hi = 0;
}

static inline void put_null(mp_value *o, mp_type_kind kind)
{
    put_scalar(o, kind);
    o->null = 1;
}

static inline void put_bool(mp_value *o, bool b)
{
    put_scalar(o, MP_TYPE_BOOLEAN);
    o->u.b = b;
}

static inline void put_i32(mp_value *o, int32_t x)
{
    put_scalar(o, MP_TYPE_INTEGER);
    o->u.i32 = x;
}

static inline void put_i64(mp_value *o, int64_t x)
{
    put_scalar(o, MP_TYPE_BIGINT);
    o->u.i64 = x;
}

static inline void put_f64(mp_value *o, double x)
{
    put_scalar(o, MP_TYPE_DOUBLE);
    o->u.f64 = x;
}

/* Whether comparison result r (-1, 0, 1, MP_SQL_UNORDERED) satisfies op. */
static inline bool holds(int op, int r)
{
    switch (op) {
    case MP_SQL_OP_EQ: return r == 0;
    case MP_SQL_OP_NE: return r == -1 || r == 1;
    case MP_SQL_OP_LT: return r == -1;
    case MP_SQL_OP_LE: return r == -1 || r == 0;
    case MP_SQL_OP_GT: return r == 1;
    case MP_SQL_OP_GE: return r == 1 || r == 0;
    default: return false;
    }
}

/* ---- leaves ---- */

int mp_sql_ev_lit(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    (void)row, (void)cx;
    *out = n->lit;
    return 0;
}

int mp_sql_ev_col(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    (void)cx;
    *out = row[n->slot];
    return 0;
}

int mp_sql_ev_null(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    (void)row, (void)cx;
    put_null(out, n->type->kind);
    return 0;
}

/* ---- access ---- */

int mp_sql_ev_deref(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    mp_value s;
    int rc = mp_sql_kid(n->kids[0], row, cx, &s);
    if (rc)
        return rc;
    if (s.null || (uint32_t)n->field >= s.len)
        put_null(out, n->type->kind);
    else
        *out = s.u.st.fields[n->field];
    return 0;
}

int mp_sql_ev_sub_array(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx,
                        mp_value *out)
{
    mp_value a, i;
    int rc;
    if ((rc = mp_sql_kid(n->kids[0], row, cx, &a)) || (rc = mp_sql_kid(n->kids[1], row, cx, &i)))
        return rc;
    put_null(out, n->type->kind);
    if (a.null || i.null)
        return 0;
    /* 1-based; negative counts from the end (-1 is the last); else NULL */
    int64_t k = int_of(&i), len = a.len;
    int64_t at_ = k >= 0 ? k - 1 : len + k;
    if (at_ >= 0 && at_ < len)
        *out = a.u.items[at_];
    return 0;
}

int mp_sql_ev_sub_map(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    mp_value m, k;
    int rc;
    if ((rc = mp_sql_kid(n->kids[0], row, cx, &m)) || (rc = mp_sql_kid(n->kids[1], row, cx, &k)))
        return rc;
    put_null(out, n->type->kind);
    if (m.null || k.null)
        return 0;
    for (uint32_t j = m.len; j-- > 0;) {
        if (mp_value_equal(&m.u.items[2 * j], &k)) {
            *out = m.u.items[2 * j + 1];
            break;
        }
    }
    return 0;
}

/* ---- arithmetic ---- */

int mp_sql_ev_neg(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    mp_value a;
    int rc = mp_sql_kid(n->kids[0], row, cx, &a);
    if (rc)
        return rc;
    if (a.null) {
        put_null(out, n->type->kind);
        return 0;
    }
    switch (a.kind) {
    case MP_TYPE_INTEGER: put_i32(out, (int32_t)(0u - (uint32_t)a.u.i32)); break;
    case MP_TYPE_BIGINT: put_i64(out, (int64_t)(UINT64_C(0) - (uint64_t)a.u.i64)); break;
    case MP_TYPE_DOUBLE: put_f64(out, -a.u.f64); break;
    default: {
        mp_decimal d = mp_v_get_decimal(&a);
        d.unscaled = -d.unscaled; /* |unscaled| < 10^38, so this can't overflow */
        *out = mp_v_decimal(&d);
        break;
    }
    }
    return 0;
}

#define BIN_OPERANDS                                                                         \
    mp_value a, b;                                                                           \
    int rc;                                                                                  \
    if ((rc = mp_sql_kid(n->kids[0], row, cx, &a)) ||                                        \
        (rc = mp_sql_kid(n->kids[1], row, cx, &b)))                                          \
        return rc;                                                                           \
    if (a.null || b.null) {                                                                  \
        put_null(out, n->type->kind);                                                     \
        return 0;                                                                            \
    }

#define DEF_ARITH(name, ...)                                                                 \
    static int name(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out) \
    {                                                                                        \
        BIN_OPERANDS                                                                         \
        __VA_ARGS__                                                                          \
        return 0;                                                                            \
    }

static int div0(const mp_sql_cexpr *n, mp_fn_ctx *cx)
{
    return rt_err(n, cx, MP_EINPUT, "division by zero");
}

/* INTEGER: wraps on overflow as Java's int does (computed unsigned). */
DEF_ARITH(add_i32, put_i32(out, (int32_t)((uint32_t)a.u.i32 + (uint32_t)b.u.i32));)
DEF_ARITH(sub_i32, put_i32(out, (int32_t)((uint32_t)a.u.i32 - (uint32_t)b.u.i32));)
DEF_ARITH(mul_i32, put_i32(out, (int32_t)((uint32_t)a.u.i32 * (uint32_t)b.u.i32));)
DEF_ARITH(div_i32, {
    if (b.u.i32 == 0)
        return div0(n, cx);
    put_i32(out, b.u.i32 == -1 ? (int32_t)(0u - (uint32_t)a.u.i32) : a.u.i32 / b.u.i32);
})
DEF_ARITH(mod_i32, {
    if (b.u.i32 == 0)
        return div0(n, cx);
    put_i32(out, b.u.i32 == -1 ? 0 : a.u.i32 % b.u.i32);
})

/* BIGINT (either operand may be INTEGER, widened). */
DEF_ARITH(add_i64, put_i64(out, (int64_t)((uint64_t)int_of(&a) + (uint64_t)int_of(&b)));)
DEF_ARITH(sub_i64, put_i64(out, (int64_t)((uint64_t)int_of(&a) - (uint64_t)int_of(&b)));)
DEF_ARITH(mul_i64, put_i64(out, (int64_t)((uint64_t)int_of(&a) * (uint64_t)int_of(&b)));)
DEF_ARITH(div_i64, {
    int64_t x = int_of(&a), y = int_of(&b);
    if (y == 0)
        return div0(n, cx);
    put_i64(out, y == -1 ? (int64_t)(UINT64_C(0) - (uint64_t)x) : x / y);
})
DEF_ARITH(mod_i64, {
    int64_t x = int_of(&a), y = int_of(&b);
    if (y == 0)
        return div0(n, cx);
    put_i64(out, y == -1 ? 0 : x % y);
})

/* DOUBLE: IEEE, as Java (x / 0.0 is Infinity or NaN, % is fmod). */
DEF_ARITH(add_f64, put_f64(out, dbl_of(&a) + dbl_of(&b));)
DEF_ARITH(sub_f64, put_f64(out, dbl_of(&a) - dbl_of(&b));)
DEF_ARITH(mul_f64, put_f64(out, dbl_of(&a) * dbl_of(&b));)
DEF_ARITH(div_f64, put_f64(out, dbl_of(&a) / dbl_of(&b));)
DEF_ARITH(mod_f64, put_f64(out, fmod(dbl_of(&a), dbl_of(&b)));)

/* DECIMAL: exact, typed by mp_decimal_result_type (INTEGER as DECIMAL(10, 0),
 * BIGINT as DECIMAL(19, 0)); results that need rounding or more digits are
 * run-time errors as in ksqlDB. */
static int dec_operand(const mp_sql_cexpr *n, const mp_sql_cexpr *kid, const mp_value *v,
                       mp_decimal *d, mp_fn_ctx *cx)
{
    *d = dec_of(v);
    const mp_type *t = kid->type;
    if (t->kind == MP_TYPE_DECIMAL && (d->precision != t->precision || d->scale != t->scale)) {
        mp_decimal x = *d;
        int rc = mp_decimal_rescale(&x, t->precision, t->scale, MP_ROUND_UNNECESSARY, d, cx->e);
        if (rc)
            return at(n, cx, rc);
    }
    return 0;
}

static int arith_dec(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out,
                     mp_decimal_op op)
{
    BIN_OPERANDS
    mp_decimal x, y, r;
    if ((rc = dec_operand(n, n->kids[0], &a, &x, cx)) ||
        (rc = dec_operand(n, n->kids[1], &b, &y, cx)))
        return rc;
    if ((rc = mp_decimal_arith(op, &x, &y, &r, cx->e)))
        return at(n, cx, rc);
    if (r.precision != n->type->precision || r.scale != n->type->scale) {
        mp_decimal t = r;
        if ((rc = mp_decimal_rescale(&t, n->type->precision, n->type->scale,
                                     MP_ROUND_UNNECESSARY, &r, cx->e)))
            return at(n, cx, rc);
    }
    *out = mp_v_decimal(&r);
    return 0;
}

#define DEF_DEC(name, op)                                                                    \
    static int name(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out) \
    {                                                                                        \
        return arith_dec(n, row, cx, out, op);                                               \
    }
DEF_DEC(add_dec, MP_DEC_ADD)
DEF_DEC(sub_dec, MP_DEC_SUB)
DEF_DEC(mul_dec, MP_DEC_MUL)
DEF_DEC(div_dec, MP_DEC_DIV)
DEF_DEC(mod_dec, MP_DEC_MOD)

mp_sql_eval_fn mp_sql_arith_fn(int cls, mp_sql_op op)
{
    static const mp_sql_eval_fn table[4][5] = {
        {add_i32, sub_i32, mul_i32, div_i32, mod_i32},
        {add_i64, sub_i64, mul_i64, div_i64, mod_i64},
        {add_f64, sub_f64, mul_f64, div_f64, mod_f64},
        {add_dec, sub_dec, mul_dec, div_dec, mod_dec},
    };
    int k;
    switch (op) {
    case MP_SQL_OP_ADD: k = 0; break;
    case MP_SQL_OP_SUB: k = 1; break;
    case MP_SQL_OP_MUL: k = 2; break;
    case MP_SQL_OP_DIV: k = 3; break;
    case MP_SQL_OP_MOD: k = 4; break;
    default: return NULL;
    }
    if (cls < 0 || cls > 3)
        return NULL;
    return table[cls][k];
}

static int join2(const mp_sql_cexpr *n, mp_fn_ctx *cx, const mp_value *a, const mp_value *b,
                 mp_value *out)
{
    size_t la = a->null ? 0 : a->len, lb = b->null ? 0 : b->len;
    if (!cx->arena)
        return no_arena(n, cx);
    if (la + lb > UINT32_MAX)
        return rt_err(n, cx, MP_EINPUT, "concatenation longer than 4 GiB");
    char *p = mp_arena_alloc(cx->arena, la + lb + 1);
    if (!p)
        return mp_error_set(cx->e, MP_ENOMEM, "out of memory");
    if (la)
        memcpy(p, a->u.str, la);
    if (lb)
        memcpy(p + la, b->u.str, lb);
    p[la + lb] = '\0';
    mp_value r = {0};
    r.kind = n->type->kind;
    r.len = (uint32_t)(la + lb);
    r.u.str = p;
    *out = r;
    return 0;
}

/* `+` on strings: NULL when either side is NULL. */
int mp_sql_ev_plus_str(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    BIN_OPERANDS
    return join2(n, cx, &a, &b, out);
}

/* `||` is ksqlDB's CONCAT: NULL operands count as empty strings. */
int mp_sql_ev_concat(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    mp_value a, b;
    int rc;
    if ((rc = mp_sql_kid(n->kids[0], row, cx, &a)) || (rc = mp_sql_kid(n->kids[1], row, cx, &b)))
        return rc;
    if (a.null && !b.null && b.kind == n->type->kind) {
        *out = b;
        return 0;
    }
    if (b.null && !a.null && a.kind == n->type->kind) {
        *out = a;
        return 0;
    }
    return join2(n, cx, &a, &b, out);
}

/* ---- comparators ---- */

int mp_sql_cmp_i32(const mp_value *a, const mp_value *b, int *r, mp_fn_ctx *cx)
{
    (void)cx;
    *r = (a->u.i32 > b->u.i32) - (a->u.i32 < b->u.i32);
    return 0;
}

int mp_sql_cmp_int(const mp_value *a, const mp_value *b, int *r, mp_fn_ctx *cx)
{
    (void)cx;
    int64_t x = int_of(a), y = int_of(b);
    *r = (x > y) - (x < y);
    return 0;
}

/* Java's primitive double comparisons: NaN is unordered and unequal. */
static inline int cmp_dbl(double x, double y)
{
    return x < y ? -1 : x > y ? 1 : x == y ? 0 : MP_SQL_UNORDERED;
}

int mp_sql_cmp_f64(const mp_value *a, const mp_value *b, int *r, mp_fn_ctx *cx)
{
    (void)cx;
    *r = cmp_dbl(dbl_of(a), dbl_of(b));
    return 0;
}

int mp_sql_cmp_dec(const mp_value *a, const mp_value *b, int *r, mp_fn_ctx *cx)
{
    (void)cx;
    mp_decimal x = dec_of(a), y = dec_of(b);
    *r = mp_decimal_cmp(&x, &y);
    return 0;
}

int mp_sql_cmp_str(const mp_value *a, const mp_value *b, int *r, mp_fn_ctx *cx)
{
    (void)cx;
    if (a->len == b->len && memcmp(a->u.str, b->u.str, a->len) == 0)
        *r = 0;
    else
        *r = mp_value_cmp(a, b); /* Java's order: UTF-16 code units */
    return 0;
}

int mp_sql_cmp_bool(const mp_value *a, const mp_value *b, int *r, mp_fn_ctx *cx)
{
    (void)cx;
    *r = a->u.b != b->u.b;
    return 0;
}

int mp_sql_cmp_bytes(const mp_value *a, const mp_value *b, int *r, mp_fn_ctx *cx)
{
    (void)cx;
    *r = mp_value_cmp(a, b);
    return 0;
}

int mp_sql_cmp_equal(const mp_value *a, const mp_value *b, int *r, mp_fn_ctx *cx)
{
    (void)cx;
    *r = mp_value_equal(a, b) ? 0 : 1;
    return 0;
}

static int ts_of(const mp_value *v, int64_t *ms, mp_fn_ctx *cx)
{
    switch (v->kind) {
    case MP_TYPE_TIMESTAMP: *ms = v->u.i64; return 0;
    case MP_TYPE_DATE: *ms = (int64_t)v->u.i32 * MS_PER_DAY; return 0;
    case MP_TYPE_STRING: return mp_sql_parse_timestamp(v->u.str, v->len, ms, cx->e);
    default: return mp_error_set(cx->e, MP_EINVAL, "not a TIMESTAMP");
    }
}

int mp_sql_cmp_ts(const mp_value *a, const mp_value *b, int *r, mp_fn_ctx *cx)
{
    int64_t x, y;
    int rc;
    if ((rc = ts_of(a, &x, cx)) || (rc = ts_of(b, &y, cx)))
        return rc;
    *r = (x > y) - (x < y);
    return 0;
}

static int day_of(const mp_value *v, int32_t *d, mp_fn_ctx *cx)
{
    if (v->kind == MP_TYPE_DATE) {
        *d = v->u.i32;
        return 0;
    }
    return mp_sql_parse_date(v->u.str, v->len, d, cx->e);
}

int mp_sql_cmp_date(const mp_value *a, const mp_value *b, int *r, mp_fn_ctx *cx)
{
    int32_t x, y;
    int rc;
    if ((rc = day_of(a, &x, cx)) || (rc = day_of(b, &y, cx)))
        return rc;
    *r = (x > y) - (x < y);
    return 0;
}

static int tod_of(const mp_value *v, int32_t *t, mp_fn_ctx *cx)
{
    if (v->kind == MP_TYPE_TIME) {
        *t = v->u.i32;
        return 0;
    }
    return mp_sql_parse_time(v->u.str, v->len, t, cx->e);
}

int mp_sql_cmp_time(const mp_value *a, const mp_value *b, int *r, mp_fn_ctx *cx)
{
    int32_t x, y;
    int rc;
    if ((rc = tod_of(a, &x, cx)) || (rc = tod_of(b, &y, cx)))
        return rc;
    *r = (x > y) - (x < y);
    return 0;
}

/* ---- comparisons ----
 *
 * ksqlDB's rule, not SQL's three-valued one: a comparison with a NULL
 * operand is FALSE, never NULL (its generated code tests each side for
 * null first and answers false; its test "null - null equals" expects
 * `ID = COL0` to be false when either is null), so NOT (col = 1) is TRUE
 * for a NULL col. Comparing with a NULL literal is refused at bind time. */

int mp_sql_ev_cmp(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    mp_value a, b;
    int rc, r;
    if ((rc = mp_sql_kid(n->kids[0], row, cx, &a)) || (rc = mp_sql_kid(n->kids[1], row, cx, &b)))
        return rc;
    if (a.null || b.null) {
        put_bool(out, false);
        return 0;
    }
    if ((rc = n->cmp(&a, &b, &r, cx)))
        return at(n, cx, rc);
    put_bool(out, holds(n->op, r));
    return 0;
}

#define CMP_OPERANDS                                                                         \
    mp_value a, b;                                                                           \
    int rc;                                                                                  \
    if ((rc = mp_sql_kid(n->kids[0], row, cx, &a)) ||                                        \
        (rc = mp_sql_kid(n->kids[1], row, cx, &b)))                                          \
        return rc;                                                                           \
    if (a.null || b.null) {                                                                  \
        put_bool(out, false);                                                                \
        return 0;                                                                            \
    }

#define CMP_SWITCH(x, y)                                                                     \
    bool t;                                                                                  \
    switch (n->op) {                                                                         \
    case MP_SQL_OP_EQ: t = (x) == (y); break;                                                \
    case MP_SQL_OP_NE: t = (x) < (y) || (x) > (y); break;                                    \
    case MP_SQL_OP_LT: t = (x) < (y); break;                                                 \
    case MP_SQL_OP_LE: t = (x) <= (y); break;                                                \
    case MP_SQL_OP_GT: t = (x) > (y); break;                                                 \
    default: t = (x) >= (y); break;                                                          \
    }                                                                                        \
    put_bool(out, t);                                                                     \
    return 0;

static int ev_cmp_i32(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    CMP_OPERANDS
    int32_t x = a.u.i32, y = b.u.i32;
    CMP_SWITCH(x, y)
}

static int ev_cmp_int(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    CMP_OPERANDS
    int64_t x = int_of(&a), y = int_of(&b);
    CMP_SWITCH(x, y)
}

static int ev_cmp_f64(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    CMP_OPERANDS
    double x = dbl_of(&a), y = dbl_of(&b);
    CMP_SWITCH(x, y)
}

static int ev_cmp_str(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    CMP_OPERANDS
    if (n->op == MP_SQL_OP_EQ || n->op == MP_SQL_OP_NE) {
        bool eq = a.len == b.len && memcmp(a.u.str, b.u.str, a.len) == 0;
        put_bool(out, eq == (n->op == MP_SQL_OP_EQ));
        return 0;
    }
    put_bool(out, holds(n->op, mp_value_cmp(&a, &b)));
    return 0;
}

mp_sql_eval_fn mp_sql_cmp_node_fn(mp_sql_cmp_fn cmp)
{
    if (cmp == mp_sql_cmp_i32)
        return ev_cmp_i32;
    if (cmp == mp_sql_cmp_int)
        return ev_cmp_int;
    if (cmp == mp_sql_cmp_f64)
        return ev_cmp_f64;
    if (cmp == mp_sql_cmp_str)
        return ev_cmp_str;
    return mp_sql_ev_cmp;
}

/* ---- logic (three-valued, short-circuit) ---- */

int mp_sql_ev_and(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    mp_value a, b;
    int rc = mp_sql_kid(n->kids[0], row, cx, &a);
    if (rc)
        return rc;
    if (!a.null && !a.u.b) {
        put_bool(out, false);
        return 0;
    }
    if ((rc = mp_sql_kid(n->kids[1], row, cx, &b)))
        return rc;
    if (!b.null && !b.u.b)
        put_bool(out, false);
    else if (a.null || b.null)
        put_null(out, MP_TYPE_BOOLEAN);
    else
        put_bool(out, true);
    return 0;
}

int mp_sql_ev_or(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    mp_value a, b;
    int rc = mp_sql_kid(n->kids[0], row, cx, &a);
    if (rc)
        return rc;
    if (!a.null && a.u.b) {
        put_bool(out, true);
        return 0;
    }
    if ((rc = mp_sql_kid(n->kids[1], row, cx, &b)))
        return rc;
    if (!b.null && b.u.b)
        put_bool(out, true);
    else if (a.null || b.null)
        put_null(out, MP_TYPE_BOOLEAN);
    else
        put_bool(out, false);
    return 0;
}

int mp_sql_ev_not(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    mp_value a;
    int rc = mp_sql_kid(n->kids[0], row, cx, &a);
    if (rc)
        return rc;
    if (a.null)
        put_null(out, MP_TYPE_BOOLEAN);
    else
        put_bool(out, !a.u.b);
    return 0;
}

int mp_sql_ev_is_null(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    mp_value a;
    int rc = mp_sql_kid(n->kids[0], row, cx, &a);
    if (rc)
        return rc;
    put_bool(out, (bool)a.null != (bool)n->negated);
    return 0;
}

int mp_sql_ev_distinct(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    mp_value a, b;
    int rc, r;
    if ((rc = mp_sql_kid(n->kids[0], row, cx, &a)) || (rc = mp_sql_kid(n->kids[1], row, cx, &b)))
        return rc;
    bool distinct;
    if (a.null || b.null) {
        distinct = a.null != b.null;
    } else {
        if ((rc = n->cmp(&a, &b, &r, cx)))
            return at(n, cx, rc);
        distinct = !holds(MP_SQL_OP_EQ, r);
    }
    put_bool(out, distinct != (bool)n->negated);
    return 0;
}

/* a BETWEEN lo AND hi is (a >= lo AND a <= hi), a evaluated once, each
 * comparison FALSE with a NULL operand (as ksqlDB's); NOT BETWEEN is the
 * negation, so TRUE when a is NULL. */
int mp_sql_ev_between(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    mp_value a, lo, hi;
    int rc, r;
    if ((rc = mp_sql_kid(n->kids[0], row, cx, &a)) ||
        (rc = mp_sql_kid(n->kids[1], row, cx, &lo)) ||
        (rc = mp_sql_kid(n->kids[2], row, cx, &hi)))
        return rc;
    bool ge = false, le = false;
    if (!a.null && !lo.null) {
        if ((rc = n->cmp(&a, &lo, &r, cx)))
            return at(n, cx, rc);
        ge = holds(MP_SQL_OP_GE, r);
    }
    if (ge && !hi.null) {
        if ((rc = n->cmp2(&a, &hi, &r, cx)))
            return at(n, cx, rc);
        le = holds(MP_SQL_OP_LE, r);
    }
    put_bool(out, (ge && le) != (bool)n->negated);
    return 0;
}

/* a IN (x, y, ...): TRUE on a match, else FALSE; NOT IN negates that. As
 * in ksqlDB (its InListEvaluator: "SQL NULL never matches anything"), a
 * NULL on either side never matches and the result is never NULL. */
int mp_sql_ev_in(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    mp_value a, x;
    int rc, r;
    if ((rc = mp_sql_kid(n->kids[0], row, cx, &a)))
        return rc;
    if (a.null) {
        put_bool(out, n->negated);
        return 0;
    }
    for (size_t i = 1; i < n->n; i++) {
        if ((rc = mp_sql_kid(n->kids[i], row, cx, &x)))
            return rc;
        if (x.null)
            continue;
        if ((rc = n->cmp(&a, &x, &r, cx)))
            return at(n, cx, rc);
        if (r == 0) {
            put_bool(out, !n->negated);
            return 0;
        }
    }
    put_bool(out, n->negated);
    return 0;
}

/* ---- LIKE ---- */

size_t mp_sql_utf8_next(const char *s, size_t n, uint32_t *cp)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned c = p[0];
    size_t len;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c < 0xE0) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c < 0xF0) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c < 0xF5) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        *cp = c;
        return 1;
    }
    if (n < len) {
        *cp = c;
        return 1;
    }
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80) {
            *cp = c;
            return 1;
        }
        v = (v << 6) | (p[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v < 0xE000)) {
        *cp = c;
        return 1;
    }
    *cp = v;
    return len;
}

enum { LK_LIT, LK_ONE, LK_ANY };
enum { SH_GENERAL, SH_EXACT, SH_PREFIX, SH_SUFFIX, SH_CONTAINS, SH_ALL };

typedef struct like_tok {
    uint8_t kind;
    uint32_t off, len; /* LK_LIT: bytes in the decoded buffer */
} like_tok;

struct mp_sql_like {
    size_t n;
    int shape;
    char *buf; /* literal bytes, escapes removed */
    like_tok t[];
};

int mp_sql_like_compile(const char *p, size_t n, uint32_t escape, mp_arena *a,
                        mp_sql_like **out, mp_error *e)
{
    size_t sz = sizeof(mp_sql_like) + (n + 1) * sizeof(like_tok);
    mp_sql_like *l = a ? mp_arena_alloc(a, sz + n + 1) : malloc(sz + n + 1);
    if (!l)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    l->n = 0;
    l->buf = (char *)l + sz;
    size_t bl = 0, i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = mp_sql_utf8_next(p + i, n - i, &cp);
        bool literal = true;
        if (escape != UINT32_MAX && cp == escape) {
            i += k;
            if (i >= n) {
                if (!a)
                    free(l);
                return mp_error_set(e, MP_EINPUT,
                                    "LIKE pattern must not end with the escape character");
            }
            k = mp_sql_utf8_next(p + i, n - i, &cp);
        } else if (cp == '%' || cp == '_') {
            literal = false;
        }
        if (literal) {
            like_tok *last = l->n ? &l->t[l->n - 1] : NULL;
            if (!last || last->kind != LK_LIT || last->off + last->len != bl)
                l->t[l->n++] = (like_tok){.kind = LK_LIT, .off = (uint32_t)bl, .len = 0};
            memcpy(l->buf + bl, p + i, k);
            bl += k;
            l->t[l->n - 1].len += (uint32_t)k;
        } else if (cp == '%') {
            if (!l->n || l->t[l->n - 1].kind != LK_ANY)
                l->t[l->n++] = (like_tok){.kind = LK_ANY};
        } else {
            l->t[l->n++] = (like_tok){.kind = LK_ONE};
        }
        i += k;
    }
    l->buf[bl] = '\0';
    const like_tok *t = l->t;
    l->shape = SH_GENERAL;
    if (l->n == 1 && t[0].kind == LK_LIT)
        l->shape = SH_EXACT;
    else if (l->n == 1 && t[0].kind == LK_ANY)
        l->shape = SH_ALL;
    else if (l->n == 2 && t[0].kind == LK_LIT && t[1].kind == LK_ANY)
        l->shape = SH_PREFIX;
    else if (l->n == 2 && t[0].kind == LK_ANY && t[1].kind == LK_LIT)
        l->shape = SH_SUFFIX;
    else if (l->n == 3 && t[0].kind == LK_ANY && t[1].kind == LK_LIT && t[2].kind == LK_ANY)
        l->shape = SH_CONTAINS;
    *out = l;
    return 0;
}

void mp_sql_like_free(mp_sql_like *l)
{
    free(l);
}

/* Whether needle (m > 0 bytes) occurs in s[0..n). */
static bool contains(const char *s, size_t n, const char *needle, size_t m)
{
    const char *end = s + n;
    while ((size_t)(end - s) >= m) {
        const char *p = memchr(s, needle[0], (size_t)(end - s) - m + 1);
        if (!p)
            return false;
        if (memcmp(p, needle, m) == 0)
            return true;
        s = p + 1;
    }
    return false;
}

bool mp_sql_like_match(const mp_sql_like *l, const char *s, size_t n)
{
    const like_tok *t = l->t;
    const char *b = l->buf;
    switch (l->shape) {
    case SH_ALL: return true;
    case SH_EXACT: return n == t[0].len && memcmp(s, b + t[0].off, n) == 0;
    case SH_PREFIX: return n >= t[0].len && memcmp(s, b + t[0].off, t[0].len) == 0;
    case SH_SUFFIX:
        return n >= t[1].len && memcmp(s + n - t[1].len, b + t[1].off, t[1].len) == 0;
    case SH_CONTAINS:
        return t[1].len == 0 || contains(s, n, b + t[1].off, t[1].len);
    default: break;
    }
    /* Greedy matching with backtracking to the last '%': linear for most
     * patterns, O(n * m) at worst, no recursion. */
    size_t ti = 0, si = 0, star_ti = SIZE_MAX, star_si = 0;
    for (;;) {
        if (ti < l->n) {
            const like_tok *k = &t[ti];
            if (k->kind == LK_ANY) {
                star_ti = ti++;
                star_si = si;
                continue;
            }
            if (k->kind == LK_ONE && si < n) {
                uint32_t cp;
                si += mp_sql_utf8_next(s + si, n - si, &cp);
                ti++;
                continue;
            }
            if (k->kind == LK_LIT && n - si >= k->len && memcmp(s + si, b + k->off, k->len) == 0) {
                si += k->len;
                ti++;
                continue;
            }
        } else if (si == n) {
            return true;
        }
        if (star_ti == SIZE_MAX || star_si >= n)
            return false;
        uint32_t cp;
        star_si += mp_sql_utf8_next(s + star_si, n - star_si, &cp);
        si = star_si;
        ti = star_ti + 1;
    }
}

int mp_sql_ev_like(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    mp_value v, p;
    int rc;
    if ((rc = mp_sql_kid(n->kids[0], row, cx, &v)))
        return rc;
    const mp_sql_like *l = n->like;
    if (!l) {
        if ((rc = mp_sql_kid(n->kids[1], row, cx, &p)))
            return rc;
        if (v.null || p.null) {
            put_null(out, MP_TYPE_BOOLEAN);
            return 0;
        }
        if (!cx->arena)
            return no_arena(n, cx);
        mp_sql_like *dyn;
        if ((rc = mp_sql_like_compile(p.u.str, p.len, n->escape, cx->arena, &dyn, cx->e)))
            return at(n, cx, rc);
        l = dyn;
    }
    if (v.null) {
        put_null(out, MP_TYPE_BOOLEAN);
        return 0;
    }
    put_bool(out, mp_sql_like_match(l, v.u.str, v.len) != (bool)n->negated);
    return 0;
}

/* ---- CASE ---- */

/* kids: WHEN, THEN pairs, then ELSE when has_else. */
int mp_sql_ev_case(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    size_t pairs = (n->n - n->has_else) / 2;
    mp_value w;
    int rc;
    for (size_t i = 0; i < pairs; i++) {
        if ((rc = mp_sql_kid(n->kids[2 * i], row, cx, &w)))
            return rc;
        if (!w.null && w.u.b)
            return mp_sql_kid(n->kids[2 * i + 1], row, cx, out);
    }
    if (n->has_else)
        return mp_sql_kid(n->kids[n->n - 1], row, cx, out);
    put_null(out, n->type->kind);
    return 0;
}

/* kids: the operand, WHEN value, THEN pairs, then ELSE when has_else. */
int mp_sql_ev_case_simple(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx,
                          mp_value *out)
{
    size_t pairs = (n->n - 1 - n->has_else) / 2;
    mp_value a, w;
    int rc, r;
    if ((rc = mp_sql_kid(n->kids[0], row, cx, &a)))
        return rc;
    for (size_t i = 0; !a.null && i < pairs; i++) {
        if ((rc = mp_sql_kid(n->kids[1 + 2 * i], row, cx, &w)))
            return rc;
        if (w.null)
            continue;
        if ((rc = n->cmp(&a, &w, &r, cx)))
            return at(n, cx, rc);
        if (r == 0)
            return mp_sql_kid(n->kids[2 + 2 * i], row, cx, out);
    }
    if (n->has_else)
        return mp_sql_kid(n->kids[n->n - 1], row, cx, out);
    put_null(out, n->type->kind);
    return 0;
}

/* ---- conversions ---- */

int mp_sql_ev_convert(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    mp_value v;
    int rc = mp_sql_kid(n->kids[0], row, cx, &v);
    if (rc)
        return rc;
    if (v.null) {
        put_null(out, n->type->kind);
        return 0;
    }
    if ((rc = mp_sql_convert(&v, n->type, n->mode, cx->arena, out, cx->e)))
        return at(n, cx, rc);
    return 0;
}

/* ---- constructors ---- */

int mp_sql_ev_array(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    mp_value r;
    int rc;
    if (!cx->arena)
        return no_arena(n, cx);
    if ((rc = mp_v_array(cx->arena, n->n, n->type->elem, &r)))
        return mp_error_set(cx->e, rc, "out of memory");
    for (size_t i = 0; i < n->n; i++)
        if ((rc = mp_sql_kid(n->kids[i], row, cx, &r.u.items[i])))
            return rc;
    *out = r;
    return 0;
}

/* Later duplicates of a key replace the earlier value (Java's Map.put). */
int mp_sql_ev_map(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    mp_value r, k, v;
    int rc;
    size_t pairs = n->n / 2, m = 0;
    if (!cx->arena)
        return no_arena(n, cx);
    if ((rc = mp_v_map(cx->arena, pairs, n->type->key, n->type->elem, &r)))
        return mp_error_set(cx->e, rc, "out of memory");
    for (size_t i = 0; i < pairs; i++) {
        if ((rc = mp_sql_kid(n->kids[2 * i], row, cx, &k)) ||
            (rc = mp_sql_kid(n->kids[2 * i + 1], row, cx, &v)))
            return rc;
        size_t j = 0;
        while (j < m && !mp_value_equal(&r.u.items[2 * j], &k))
            j++;
        r.u.items[2 * j] = k;
        r.u.items[2 * j + 1] = v;
        if (j == m)
            m++;
    }
    r.len = (uint32_t)m;
    *out = r;
    return 0;
}

int mp_sql_ev_struct(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    mp_value r;
    int rc;
    if (!cx->arena)
        return no_arena(n, cx);
    if ((rc = mp_v_struct(cx->arena, n->type, &r)))
        return mp_error_set(cx->e, rc, "out of memory");
    for (size_t i = 0; i < n->n; i++)
        if ((rc = mp_sql_kid(n->kids[i], row, cx, &r.u.st.fields[i])))
            return rc;
    *out = r;
    return 0;
}

/* ---- function calls ---- */

int mp_sql_ev_call(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    mp_value local[8], *args = local;
    int rc;
    if (n->n > 8) {
        if (!cx->arena)
            return no_arena(n, cx);
        if (!(args = mp_arena_alloc(cx->arena, n->n * sizeof *args)))
            return mp_error_set(cx->e, MP_ENOMEM, "out of memory");
    }
    bool any_null = false;
    for (size_t i = 0; i < n->n; i++) {
        if ((rc = mp_sql_kid(n->kids[i], row, cx, &args[i])))
            return rc;
        any_null |= args[i].null;
    }
    if (any_null && n->fimpl.null_in_null_out) {
        put_null(out, n->type->kind);
        return 0;
    }
    if ((rc = n->fimpl.fn(cx, args, n->n, out, n->fimpl.data))) {
        put_null(out, n->type->kind);
        return at(n, cx, rc < 0 ? rc : MP_EINPUT);
    }
    return 0;
}

/* ---- public ---- */

int mp_sql_eval(const mp_sql_cexpr *c, const mp_value *row, mp_fn_ctx *cx, mp_value *out)
{
    int rc = c->fn(c, row, cx, out);
    if (rc) {
        *out = mp_v_null(c->type->kind);
        return rc < 0 ? rc : MP_EINPUT;
    }
    return 0;
}

int mp_sql_eval_cond(const mp_sql_cexpr *c, const mp_value *row, mp_fn_ctx *cx)
{
    mp_value v;
    int rc = mp_sql_eval(c, row, cx, &v);
    if (rc)
        return rc;
    if (v.null)
        return 0;
    if (v.kind != MP_TYPE_BOOLEAN)
        return mp_error_set(cx->e, MP_EINVAL, "line %u:%u: the condition is %s, not BOOLEAN",
                            (unsigned)c->pos.line, (unsigned)c->pos.col,
                            mp_type_kind_name((mp_type_kind)v.kind));
    return v.u.b ? 1 : 0;
}
