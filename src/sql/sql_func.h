/* The function registry: scalar, aggregate and table functions callable
 * from SQL, built in or added by users (C API and extension libraries).
 *
 * Binding and running are separate. When a statement is accepted, the
 * binder calls a function's `bind` with the argument types; it picks the
 * variant (overload) and says the result type, or refuses with a message
 * naming the function and the types. The chosen implementation is then
 * called per record with no further type checks: that is what "compiled
 * once per query" means for calls.
 *
 * Values and memory: arguments and results are mp_values (data/sql_value.h).
 * A result that needs memory (a string, an array) is allocated in the
 * context's arena, which lives as long as the record being processed.
 *
 * Errors at run time (division by zero, a failed conversion): return a
 * negative code with cx->e filled; the engine then uses NULL as the
 * result and writes the message to the processing log, as ksqlDB does.
 *
 * Thread-safety: the registry is built at start (and when extensions load)
 * under a lock and read concurrently afterwards; implementations must be
 * reentrant (state lives in the aggregate's value, not in globals). */
#ifndef MP_SQL_FUNC_H
#define MP_SQL_FUNC_H

#include <stddef.h>

#include "core/error.h"
#include "data/arena.h"
#include "data/sql_type.h"
#include "data/sql_value.h"

typedef struct mp_fn_ctx {
    mp_arena *arena; /* for results; reset after the record */
    mp_error *e;     /* for run-time errors */
} mp_fn_ctx;

/* ---- scalar functions ---- */

typedef int (*mp_scalar_fn)(mp_fn_ctx *cx, const mp_value *args, size_t n, mp_value *out,
                            const void *data);

/* What bind chose. */
typedef struct mp_scalar_impl {
    mp_scalar_fn fn;
    const void *data;  /* passed to fn (e.g. a model handle, a UDF's user data) */
    mp_type *ret;      /* result type, owned by the caller after bind */
    int null_in_null_out; /* 1: any NULL argument gives NULL without calling fn */
} mp_scalar_impl;

/* Chooses a variant for these argument types (literal NULLs have kind
 * MP_TYPE_NULL). `lits` holds, per argument, the value when the argument
 * is a literal (else NULL) — functions whose result type depends on an
 * argument's value (e.g. a model name in PREDICT, a format string) read it.
 * MP_EINVAL naming the function and the types when no variant fits. */
typedef int (*mp_scalar_bind)(const mp_type *const *args, const mp_value *const *lits, size_t n,
                              mp_scalar_impl *out, mp_error *e);

/* One documented variant, for SHOW FUNCTIONS / DESCRIBE FUNCTION. */
typedef struct mp_fn_doc {
    const char *args;        /* "(str STRING, pos INTEGER, len INTEGER)" */
    const char *ret;         /* "STRING" */
    const char *description; /* one sentence */
} mp_fn_doc;

typedef enum {
    MP_FN_SCALAR = 1,
    MP_FN_AGGREGATE = 2,
    MP_FN_TABLE = 3,
} mp_fn_kind;

/* ---- aggregate functions ----
 *
 * An aggregate's state is itself an mp_value (a BIGINT count, a STRUCT of
 * sum and count, an ARRAY...), so the engine can keep it in a state store
 * and write it to a changelog topic with the ordinary codecs. */
typedef struct mp_agg_impl {
    mp_type *state_type; /* owned by the caller after bind */
    mp_type *ret;        /* owned by the caller after bind */
    /* The initial state (COUNT: 0; SUM: NULL or 0 as ksqlDB). */
    int (*init)(mp_fn_ctx *cx, mp_value *state, const void *data);
    /* Folds one row's arguments into *state (write the new state into the
     * context's arena; the engine copies it where it keeps it). */
    int (*add)(mp_fn_ctx *cx, mp_value *state, const mp_value *args, size_t n, const void *data);
    /* Merges two states (session windows); NULL if not supported. */
    int (*merge)(mp_fn_ctx *cx, mp_value *state, const mp_value *other, const void *data);
    /* The result for a state. */
    int (*result)(mp_fn_ctx *cx, const mp_value *state, mp_value *out, const void *data);
    const void *data;
    /* Takes one row's arguments, once added, back out of *state (GROUP BY
     * over a table: an updated or deleted row leaves its old group, as
     * ksqlDB's TableUdaf undo); NULL if not supported, and the function
     * then cannot aggregate a table. Declared last so initialisers that
     * name the fields above stay valid. */
    int (*undo)(mp_fn_ctx *cx, mp_value *state, const mp_value *args, size_t n, const void *data);
    /* Literal (constant) arguments such as TOPK's k are passed at bind
     * time through `lits` and may be stored in data by bind. */
} mp_agg_impl;

typedef int (*mp_agg_bind)(const mp_type *const *args, const mp_value *const *lits, size_t n,
                           mp_agg_impl *out, mp_error *e);

/* ---- table functions (EXPLODE) ---- */

typedef int (*mp_table_fn)(mp_fn_ctx *cx, const mp_value *args, size_t n, mp_value **rows,
                           size_t *nrows, const void *data);

typedef struct mp_table_impl {
    mp_table_fn fn;
    const void *data;
    mp_type *ret; /* the type of each produced value; owned by the caller after bind */
} mp_table_impl;

typedef int (*mp_table_bind)(const mp_type *const *args, const mp_value *const *lits, size_t n,
                             mp_table_impl *out, mp_error *e);

/* ---- the registry ---- */

typedef struct mp_fn_def {
    const char *name;        /* upper case: "SUBSTRING" */
    mp_fn_kind kind;
    const char *category;    /* "STRING", "MATH", "DATE / TIME", "JSON", "ARRAY", "MAP",
                                "NULL", "CONVERSION", "AGGREGATE", "TABLE", "ML", "OTHER" */
    const char *description;
    const mp_fn_doc *docs;   /* variants */
    size_t ndocs;
    const char *author;      /* NULL for built-ins */
    const char *version;
    mp_scalar_bind scalar;   /* by kind */
    mp_agg_bind aggregate;
    mp_table_bind table;
} mp_fn_def;

typedef struct mp_fn_registry mp_fn_registry;

/* A registry holding every built-in function. */
int mp_fn_registry_new(mp_fn_registry **out, mp_error *e);
void mp_fn_registry_free(mp_fn_registry *r);
/* Adds a function (the definition and what it points to must outlive the
 * registry). A name already present is MP_EEXIST unless `replace`. */
int mp_fn_register(mp_fn_registry *r, const mp_fn_def *def, int replace, mp_error *e);
/* The function called name (case-insensitive), or NULL. */
const mp_fn_def *mp_fn_lookup(const mp_fn_registry *r, const char *name);
/* All functions sorted by name (for SHOW FUNCTIONS); *n receives the count.
 * The array is the caller's to free (not the definitions). */
const mp_fn_def **mp_fn_list(const mp_fn_registry *r, size_t *n);

#endif
