/* Internals shared by the expression binder (sql_expr_bind.c), the
 * evaluator (sql_expr_eval.c) and the conversions (sql_cast.c). Not part of
 * the public interface: other modules use sql_expr.h.
 *
 * A compiled expression is a tree of nodes. Each node carries the evaluation
 * function the binder chose for its operand types, its result type (owned)
 * and whatever that function needs (a column slot, a literal, a comparator,
 * a compiled LIKE pattern, a function implementation). Invariant: the value
 * a node produces conforms to the node's type (STRUCT values point at a type
 * equal to it), so parents never re-check kinds at run time.
 *
 * Literal payloads (strings, folded constants) live in the node's own arena
 * (`mem`), so results may point into the compiled expression: they stay
 * valid as long as it does. */
#ifndef MP_SQL_EXPR_INTERNAL_H
#define MP_SQL_EXPR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "sql/sql_expr.h"

typedef int (*mp_sql_eval_fn)(const mp_sql_cexpr *n, const mp_value *row, mp_fn_ctx *cx,
                              mp_value *out);

/* How a node is read: literals and column slots are read inline by their
 * parent (no call); everything else through fn. */
enum { MP_SQL_N_OP = 0, MP_SQL_N_LIT = 1, MP_SQL_N_COL = 2 };

/* A comparison of two non-NULL values: *r = -1, 0, 1, or MP_SQL_UNORDERED
 * when neither order nor equality holds (NaN, as Java's primitive double
 * comparisons). Types that only support equality return 0 or 1. Returns 0
 * or a negative code (a STRING that does not parse as a TIMESTAMP). */
#define MP_SQL_UNORDERED 2
typedef int (*mp_sql_cmp_fn)(const mp_value *a, const mp_value *b, int *r, mp_fn_ctx *cx);

typedef struct mp_sql_like mp_sql_like;

struct mp_sql_cexpr {
    mp_sql_eval_fn fn;
    uint8_t nk;       /* MP_SQL_N_* */
    uint8_t constant; /* a literal, or built only from literals by operators */
    uint8_t op;       /* mp_sql_op of comparisons and arithmetic */
    uint8_t negated;  /* NOT LIKE, NOT IN, NOT BETWEEN, IS NOT NULL, IS NOT DISTINCT */
    uint8_t has_else; /* CASE */
    uint8_t mode;     /* casts: MP_SQL_CONV_* */
    uint32_t slot;    /* MP_SQL_N_COL: index into the row */
    int field;        /* struct dereference: field index */
    mp_value lit;     /* MP_SQL_N_LIT */
    mp_type *type;    /* owned */
    size_t n;         /* children */
    mp_sql_cexpr **kids;
    mp_sql_cmp_fn cmp, cmp2; /* comparisons; BETWEEN uses both */
    mp_sql_like *like;       /* LIKE with a literal pattern (owned) */
    uint32_t escape;         /* LIKE: escape code point, or UINT32_MAX */
    mp_scalar_impl fimpl;    /* scalar function call (fimpl.ret is `type`) */
    mp_arena *mem;           /* owns literal payloads; NULL until needed */
    mp_sql_pos pos;
};

/* Reads a child: inline for literals and slots, else through its function. */
static inline int mp_sql_kid(const mp_sql_cexpr *k, const mp_value *row, mp_fn_ctx *cx,
                             mp_value *out)
{
    if (k->nk == MP_SQL_N_COL) {
        *out = row[k->slot];
        return 0;
    }
    if (k->nk == MP_SQL_N_LIT) {
        *out = k->lit;
        return 0;
    }
    return k->fn(k, row, cx, out);
}

/* ---- evaluation functions (sql_expr_eval.c), chosen by the binder ---- */

int mp_sql_ev_lit(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_col(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_deref(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_sub_array(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_sub_map(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_neg(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_concat(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_plus_str(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_null(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_cmp(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_and(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_or(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_not(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_is_null(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_distinct(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_between(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_in(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_like(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_case(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_case_simple(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_convert(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_array(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_map(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_struct(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_call(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);

/* ---- lambdas (sql_expr_lambda.c) ----
 *
 * A lambda parameter is read from slot `slot` of the frame its body is
 * evaluated with (sql_expr_lambda.c).
 * An invocation node (TRANSFORM, FILTER, REDUCE) has the collection as
 * kids[0], REDUCE's initial state as kids[1], then the lambda bodies; its
 * `slot` is the number of parameters of the lambdas around it, where its
 * own lambdas' parameters start in the frame. */
int mp_sql_ev_lvar(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_transform_array(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_transform_map(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_filter_array(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_filter_map(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_reduce_array(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
int mp_sql_ev_reduce_map(const mp_sql_cexpr *, const mp_value *, mp_fn_ctx *, mp_value *);
/* Parameters of all the lambdas around an expression, at most. */
#define MP_SQL_MAX_LAMBDA_VARS 64

/* Binary arithmetic for a result class and an operator (ADD..MOD), or NULL. */
enum { MP_SQL_AR_I32, MP_SQL_AR_I64, MP_SQL_AR_F64, MP_SQL_AR_DEC };
mp_sql_eval_fn mp_sql_arith_fn(int cls, mp_sql_op op);
/* A comparison node's function specialised for its comparator (falls back
 * to mp_sql_ev_cmp). */
mp_sql_eval_fn mp_sql_cmp_node_fn(mp_sql_cmp_fn cmp);

/* Comparators (sql_expr_eval.c). */
int mp_sql_cmp_i32(const mp_value *, const mp_value *, int *, mp_fn_ctx *);
int mp_sql_cmp_int(const mp_value *, const mp_value *, int *, mp_fn_ctx *);
int mp_sql_cmp_f64(const mp_value *, const mp_value *, int *, mp_fn_ctx *);
int mp_sql_cmp_dec(const mp_value *, const mp_value *, int *, mp_fn_ctx *);
int mp_sql_cmp_str(const mp_value *, const mp_value *, int *, mp_fn_ctx *);
int mp_sql_cmp_bool(const mp_value *, const mp_value *, int *, mp_fn_ctx *);
int mp_sql_cmp_bytes(const mp_value *, const mp_value *, int *, mp_fn_ctx *);
int mp_sql_cmp_ts(const mp_value *, const mp_value *, int *, mp_fn_ctx *);
int mp_sql_cmp_date(const mp_value *, const mp_value *, int *, mp_fn_ctx *);
int mp_sql_cmp_time(const mp_value *, const mp_value *, int *, mp_fn_ctx *);
int mp_sql_cmp_equal(const mp_value *, const mp_value *, int *, mp_fn_ctx *);

/* ---- LIKE (sql_expr_eval.c) ---- */

/* Compiles pattern p[0..n) with an escape code point (UINT32_MAX: none).
 * The result points into p (keep p alive) and is allocated in arena a when
 * not NULL, else on the heap (free with mp_sql_like_free). MP_EINPUT for a
 * pattern ending in the escape character. */
int mp_sql_like_compile(const char *p, size_t n, uint32_t escape, mp_arena *a,
                        mp_sql_like **out, mp_error *e);
bool mp_sql_like_match(const mp_sql_like *l, const char *s, size_t n);
void mp_sql_like_free(mp_sql_like *l);
/* Decodes one UTF-8 code point at s (n > 0 bytes): its length (1 for an
 * invalid byte, which stands for itself). */
size_t mp_sql_utf8_next(const char *s, size_t n, uint32_t *cp);

/* ---- conversions (sql_cast.c) ---- */

enum {
    MP_SQL_CONV_COERCE = 0, /* implicit: widening numbers, element-wise for ARRAY/MAP/STRUCT */
    MP_SQL_CONV_CAST = 1,   /* CAST(x AS t): ksqlDB's supported pairs */
};

/* Whether a value of type `from` converts to `to` in this mode. */
bool mp_sql_conv_ok(const mp_type *from, const mp_type *to, int mode);
/* Converts v to type `to` (STRUCT results point at `to` and its subtypes,
 * which must outlive them). Errors (a STRING that does not parse, a number
 * that does not fit a DECIMAL) are MP_EINPUT; a kind pair the mode does not
 * allow is MP_EINVAL naming both types. */
int mp_sql_convert(const mp_value *v, const mp_type *to, int mode, mp_arena *a, mp_value *out,
                   mp_error *e);

/* ksqlDB's text forms and parsers, used by CAST and by comparisons of
 * STRING with TIMESTAMP / DATE / TIME. All MP_EINPUT on bad text. */
int mp_sql_parse_timestamp(const char *s, size_t n, int64_t *ms, mp_error *e);
int mp_sql_parse_date(const char *s, size_t n, int32_t *days, mp_error *e);
int mp_sql_parse_time(const char *s, size_t n, int32_t *ms, mp_error *e);
/* Java's Integer.parseInt / Long.parseLong (range-checked). */
int mp_sql_parse_int64(const char *s, size_t n, int64_t lo, int64_t hi, int64_t *out,
                       mp_error *e);
/* Java's Double.parseDouble (decimal forms, NaN, Infinity, f/d suffix). */
int mp_sql_parse_double(const char *s, size_t n, double *out, mp_error *e);

/* Writes the type as ksqlDB prints it into out (truncated to cap bytes). */
const char *mp_sql_type_str(const mp_type *t, char *out, size_t cap);

#endif
