/* Binding and compiling SQL expressions.
 *
 * The binder resolves an expression tree (sql_ast.h) against a scope —
 * the columns a row holds, with their types — and the function registry:
 * names to column slots, literals to typed values, operators to
 * implementations chosen for their operand types (with ksqlDB's implicit
 * widening INTEGER -> BIGINT -> DECIMAL -> DOUBLE), function calls to the
 * variant their argument types select. The result is a compiled
 * expression: a tree whose nodes carry the chosen implementation, so
 * evaluating it per record does no name lookup and no type dispatch.
 *
 * Semantics follow ksqlDB: a comparison (=, <>, <, <=, >, >=, BETWEEN,
 * IN) with a NULL operand is FALSE, never NULL, and one with a NULL
 * literal is a bind error; AND / OR / NOT on a NULL BOOLEAN stay
 * three-valued (NULL AND FALSE is FALSE, NULL AND TRUE is NULL), which
 * ksqlDB does not document; arithmetic on NULL gives NULL,
 * integer overflow wraps as Java's does, integer division by zero is a
 * run-time error (result NULL plus a processing-log entry), DOUBLE
 * division by zero gives Infinity/NaN as Java, string concatenation with
 * `+` or `||`, LIKE with % and _ (and ESCAPE), CASE, CAST between the
 * documented type pairs, struct `->`, array `[i]` (1-based; negative counts
 * from the end; out of range is NULL), map `['k']`.
 *
 * Errors at bind time name the SQL position: "line 1:27: cannot compare
 * STRING with INTEGER", "line 1:8: column 'FOO' cannot be resolved".
 *
 * Thread-safety: a compiled expression is immutable; evaluation from
 * several threads at once is fine (each with its own context arena). */
#ifndef MP_SQL_EXPR_H
#define MP_SQL_EXPR_H

#include <stddef.h>

#include "core/error.h"
#include "data/arena.h"
#include "data/sql_type.h"
#include "data/sql_value.h"
#include "sql/sql_ast.h"
#include "sql/sql_func.h"

/* One column of the row an expression reads. */
typedef struct mp_sql_scope_col {
    const char *name;   /* upper case unless quoted: "USERID", "ROWTIME" */
    const char *source; /* the source name or alias that qualifies it ("PV"), or NULL */
    const mp_type *type;
} mp_sql_scope_col;

/* Aggregate calls found while binding (SUM(x), COUNT(*)): the binder adds
 * each distinct call (compared as syntax trees) once, with its arguments
 * compiled against the input scope, and the expression reads its result
 * from slot `first_slot + k` of the row it is evaluated on. */
typedef struct mp_sql_agg_call {
    mp_sql_expr *call;       /* a clone of the call's syntax */
    const mp_fn_def *def;
    mp_agg_impl impl;        /* owns impl.state_type and impl.ret */
    size_t nargs;
    struct mp_sql_cexpr **args; /* compiled against the input scope */
} mp_sql_agg_call;

typedef struct mp_sql_aggs {
    const struct mp_sql_scope *input; /* the scope aggregate arguments are bound in */
    size_t first_slot;
    size_t n;
    mp_sql_agg_call *calls;
} mp_sql_aggs;

/* Table-function calls in a select list (EXPLODE(x)), collected like
 * aggregates: each distinct call once, with its arguments compiled in the
 * same scope; the expression reads the call's current value from slot
 * `first_slot + k`, which the engine sets for each output row it makes
 * from one input row (the calls' results zipped: as many rows as the
 * longest, NULL where a shorter one has run out). */
typedef struct mp_sql_tfn_call {
    mp_sql_expr *call;          /* a clone of the call's syntax */
    const mp_fn_def *def;
    mp_table_impl impl;         /* owns impl.ret */
    size_t nargs;
    struct mp_sql_cexpr **args; /* compiled in the scope */
} mp_sql_tfn_call;

typedef struct mp_sql_tfns {
    size_t first_slot;
    size_t n;
    mp_sql_tfn_call *calls;
} mp_sql_tfns;

typedef struct mp_sql_scope {
    size_t ncols;
    const mp_sql_scope_col *cols; /* a row holds ncols values in this order */
    const mp_fn_registry *fns;
    /* When not NULL, aggregate calls are allowed and collected here;
     * otherwise an aggregate call is a bind error ("aggregate functions
     * need GROUP BY"). */
    mp_sql_aggs *aggs;
    /* When not NULL (a select list), table-function calls are allowed and
     * collected here; otherwise a table-function call is a bind error. */
    mp_sql_tfns *tfns;
} mp_sql_scope;

typedef struct mp_sql_cexpr mp_sql_cexpr;

/* Binds and compiles e in scope s. */
int mp_sql_compile(const mp_sql_expr *e, const mp_sql_scope *s, mp_sql_cexpr **out,
                   mp_error *err);
/* The expression's type (owned by the compiled expression). */
const mp_type *mp_sql_cexpr_type(const mp_sql_cexpr *c);
/* 1 if the expression is a literal or built only from literals (constant
 * folding candidates, literal arguments such as TOPK's k). */
int mp_sql_cexpr_is_constant(const mp_sql_cexpr *c);
void mp_sql_cexpr_free(mp_sql_cexpr *c);
void mp_sql_aggs_free(mp_sql_aggs *a);
void mp_sql_tfns_free(mp_sql_tfns *t);
/* Calls table function k of t on row: its values (in cx->arena) and their
 * number (0 for a NULL or empty input). */
int mp_sql_tfn_eval(const mp_sql_tfns *t, size_t k, const mp_value *row, mp_fn_ctx *cx,
                    mp_value **vals, size_t *n);

/* Evaluates c on row (the scope's ncols values, plus aggregate slots when
 * the scope had aggs). Results needing memory go to cx->arena. A run-time
 * error returns a negative code with cx->e filled and *out set to NULL of
 * the expression's type, so callers that only log errors can use *out. */
int mp_sql_eval(const mp_sql_cexpr *c, const mp_value *row, mp_fn_ctx *cx, mp_value *out);
/* For WHERE / HAVING / ON: 1 when the condition is TRUE, 0 when FALSE or
 * NULL, negative on a run-time error (cx->e). */
int mp_sql_eval_cond(const mp_sql_cexpr *c, const mp_value *row, mp_fn_ctx *cx);

/* The runtime type of a syntax-tree type (parser -> engine). */
int mp_sql_type_from_ast(const mp_sql_type *t, mp_type **out, mp_error *err);

/* Converts v to type t as an implicit assignment would (INSERT VALUES into a
 * column, a persistent query's output column): widening numbers, NULL to
 * anything; MP_EINVAL naming both types otherwise. */
int mp_sql_coerce(const mp_value *v, const mp_type *t, mp_arena *a, mp_value *out, mp_error *err);

#endif
