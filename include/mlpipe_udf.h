/* mlpipe user-defined functions: the stable C API for extensions.
 *
 * An extension is a shared library that adds scalar functions (one row in,
 * one value out), aggregate functions (many rows in, one value per group)
 * and table functions (one row in, zero or more rows out) to mlpipe's
 * streaming SQL, as ksqlDB's UDFs, UDAFs and UDTFs do. mlpipe
 * loads every *.so in its extension directory (`mlpipe sql --ext-dir DIR`)
 * at start, in name order, and calls each library's entry point, which
 * declares its functions:
 *
 *     #include "mlpipe_udf.h"
 *
 *     MP_UDF_MODULE;   // the API version this library was built for
 *
 *     static int shout(mp_udf_ctx *ctx, const mp_udf_args *args, void *user)
 *     {
 *         size_t n;
 *         const char *s = mp_udf_arg_string(args, 0, &n);
 *         ...
 *         return mp_udf_result_string(ctx, out, n);
 *     }
 *
 *     MP_UDF_EXPORT int mlpipe_udf_init(mp_udf_registrar *r)
 *     {
 *         static const char *const params[] = {"STRING"};
 *         mp_udf_scalar f = {.name = "SHOUT", .description = "Upper-cases a string.",
 *                            .author = "me", .version = "1.0", .returns = "STRING",
 *                            .params = params, .nparams = 1, .fn = shout};
 *         return mp_udf_register_scalar(r, &f);
 *     }
 *
 * Build it with `cc -shared -fPIC -I<mlpipe>/include shout.c -o shout.so`;
 * it needs nothing from mlpipe at link time.
 *
 * Types are written as in ksqlDB: "BOOLEAN", "INT", "BIGINT", "DOUBLE",
 * "DECIMAL(10, 2)", "STRING" (or "VARCHAR"), "BYTES", "TIMESTAMP", "DATE",
 * "TIME", "ARRAY<STRING>", "MAP<STRING, BIGINT>", "STRUCT<A INT, B STRING>".
 * A call binds when each argument's type is a parameter's type or widens
 * to it implicitly (INT -> BIGINT -> DECIMAL -> DOUBLE, element-wise in
 * ARRAY and MAP); the implementation then sees every argument converted to
 * its parameter's type. Registering the same name again adds an overload;
 * the variant needing the least widening wins. Names are case-insensitive
 * and may not be those of built-in functions (as in ksqlDB, extensions
 * cannot replace them) nor of another extension's.
 *
 * Values: an implementation reads its arguments through accessors
 * (mp_udf_arg_*, mp_udf_value_*) and writes its result through setters
 * (mp_udf_result_*, mp_udf_set_*); it never sees mlpipe's value layout.
 * Pointers the accessors return (strings, bytes, nested values) are valid
 * until the call returns. Setters copy what they are given. A setter
 * converts to the declared type where that is lossless (an int64 into an
 * INT result is range-checked; a string into a DECIMAL, TIMESTAMP, DATE or
 * TIME result is parsed as CAST would), and the result is checked against
 * the declared type when the call returns. A setter that cannot convert
 * returns a negative code and fails the call (even if the function then
 * returns 0).
 *
 * Errors at run time: return mp_udf_error(ctx, "message"). The row's
 * result is NULL and the message goes to the processing log, naming the
 * function, as for a built-in that fails. Registration errors (an unknown
 * type, a clashing name) fail the library's load, naming the file.
 *
 * Threads: implementations are called from several query threads at once
 * and must be reentrant; `user` pointers are shared between those calls.
 * Libraries stay loaded until the process exits.
 *
 * Compatibility: MP_UDF_API_VERSION counts incompatible changes; mlpipe
 * refuses a library built for another version. Later versions of this
 * header may append fields to the definition structs (the setters pass
 * their size, so older libraries keep working) and functions to the end of
 * the function table, never reorder them. */
#ifndef MLPIPE_UDF_H
#define MLPIPE_UDF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MP_UDF_API_VERSION 1

#if defined(__GNUC__)
#define MP_UDF_EXPORT __attribute__((visibility("default")))
#else
#define MP_UDF_EXPORT
#endif

/* Return codes (the library's own MP_E* values). */
#define MP_UDF_OK 0
#define MP_UDF_EINVAL (-1) /* misuse: bad definition, wrong kind of value for a setter */
#define MP_UDF_EINPUT (-2) /* bad data: the function could not compute a result */
#define MP_UDF_ENOMEM (-4)

/* The kind of a value (the base type, without parameters). */
typedef enum mp_udf_kind {
    MP_UDF_NULL = 0, /* a bare NULL literal's type; never a declared type */
    MP_UDF_BOOLEAN,
    MP_UDF_INTEGER,
    MP_UDF_BIGINT,
    MP_UDF_DOUBLE,
    MP_UDF_DECIMAL,
    MP_UDF_STRING,
    MP_UDF_BYTES,
    MP_UDF_TIMESTAMP, /* milliseconds since the epoch */
    MP_UDF_DATE,      /* days since the epoch */
    MP_UDF_TIME,      /* milliseconds of the day */
    MP_UDF_ARRAY,
    MP_UDF_MAP,
    MP_UDF_STRUCT,
} mp_udf_kind;

/* Handles; all opaque. A registrar lives during the entry point, a
 * context, its arguments and values during one call. */
typedef struct mp_udf_registrar mp_udf_registrar;
typedef struct mp_udf_ctx mp_udf_ctx;
typedef struct mp_udf_args mp_udf_args;
typedef struct mp_udf_value mp_udf_value; /* a value to read */
typedef struct mp_udf_slot mp_udf_slot;   /* a place to write a value (a result, an element) */

/* ---- definitions ---- */

/* Flags. */
#define MP_UDF_VARIADIC 1u /* the last parameter repeats zero or more times */
/* Call the function when an argument is NULL (it reads mp_udf_arg_is_null).
 * Without it a NULL argument gives a NULL result without a call (scalar)
 * or leaves the state unchanged (aggregate `add`). */
#define MP_UDF_CALLED_ON_NULL_INPUT 2u

typedef int (*mp_udf_scalar_fn)(mp_udf_ctx *ctx, const mp_udf_args *args, void *user);

/* One scalar function (or one overload of it). The definition is copied:
 * strings and arrays need to live only during the registration call. */
typedef struct mp_udf_scalar {
    const char *name;        /* letters, digits and '_' (not first): "REVERSE" */
    const char *description; /* one sentence, for DESCRIBE FUNCTION */
    const char *author;      /* may be NULL */
    const char *version;     /* may be NULL */
    const char *category;    /* for SHOW FUNCTIONS; NULL: "OTHER" */
    const char *returns;     /* the result type: "STRING" */
    const char *const *params;      /* nparams parameter types */
    const char *const *param_names; /* nparams names for DESCRIBE FUNCTION, or NULL */
    size_t nparams;
    unsigned flags; /* MP_UDF_VARIADIC, MP_UDF_CALLED_ON_NULL_INPUT */
    mp_udf_scalar_fn fn;
    void *user; /* passed to fn */
} mp_udf_scalar;

/* One aggregate function (or overload). The state is a value of the
 * declared state type (no STRUCTs in it: mlpipe stores states with its
 * ordinary codecs). Each callback writes its output with the result
 * setters (mp_udf_result_*, or mp_udf_result() and mp_udf_set_*):
 *   init    the initial state (NULL if init is NULL or writes nothing);
 *   add     the state after one more row (the output starts as the old
 *           state, so writing nothing keeps it);
 *   merge   the state of two merged groups (optional: NULL);
 *   result  the aggregate's value for a state (NULL: the state itself,
 *           converted to the result type). */
typedef struct mp_udf_aggregate {
    const char *name;
    const char *description;
    const char *author;
    const char *version;
    const char *category; /* NULL: "AGGREGATE" */
    const char *returns;
    const char *state; /* the state type: "BIGINT", "ARRAY<DOUBLE>" */
    const char *const *params;
    const char *const *param_names;
    size_t nparams;
    unsigned flags;
    int (*init)(mp_udf_ctx *ctx, void *user);
    int (*add)(mp_udf_ctx *ctx, const mp_udf_value *state, const mp_udf_args *args, void *user);
    int (*merge)(mp_udf_ctx *ctx, const mp_udf_value *a, const mp_udf_value *b, void *user);
    int (*result)(mp_udf_ctx *ctx, const mp_udf_value *state, void *user);
    void *user;
} mp_udf_aggregate;

/* One table function (or overload), as ksqlDB's UDTFs: one row in, zero
 * or more rows out, used in a select list like EXPLODE
 * (`SELECT id, TOKENS(text) AS word FROM s EMIT CHANGES`). `returns` is
 * the type of one output value; fn writes all of a row's values as an
 * ARRAY of that type into the result:
 *
 *     mp_udf_slot *out = mp_udf_result(ctx);
 *     mp_udf_set_array(ctx, out, n);
 *     for (size_t i = 0; i < n; i++)
 *         mp_udf_set_string(ctx, mp_udf_slot_item(ctx, out, i), word[i], len[i]);
 *
 * Each element becomes one output row, in order; writing nothing, NULL or
 * an empty array gives no rows. Without MP_UDF_CALLED_ON_NULL_INPUT a NULL
 * argument gives no rows without a call. Several table functions in one
 * SELECT are zipped as ksqlDB does (the longest sets the row count). */
typedef struct mp_udf_table {
    const char *name;
    const char *description;
    const char *author;
    const char *version;
    const char *category; /* NULL: "TABLE" */
    const char *returns;  /* the type of each produced value: "STRING" */
    const char *const *params;
    const char *const *param_names;
    size_t nparams;
    unsigned flags;
    mp_udf_scalar_fn fn;
    void *user;
} mp_udf_table;

/* ---- the entry point ----
 *
 * Each extension exports mlpipe_udf_init, which registers its functions
 * and returns 0 (or a negative code, failing the load), and states the API
 * version it was built for by writing MP_UDF_MODULE; once at file scope
 * in one of its sources. */
MP_UDF_EXPORT extern const int mlpipe_udf_api_version;
/* (The definition inherits the declaration's linkage and visibility.) */
#ifdef __cplusplus
#define MP_UDF_MODULE extern "C" const int mlpipe_udf_api_version = MP_UDF_API_VERSION
#else
#define MP_UDF_MODULE const int mlpipe_udf_api_version = MP_UDF_API_VERSION
#endif
MP_UDF_EXPORT int mlpipe_udf_init(mp_udf_registrar *r);

/* ---- the function table ----
 *
 * Extensions call mlpipe through this table, reached from every handle, so
 * a library needs no symbols from the program that loads it. Use the
 * functions below rather than the table. */
struct mp_udf_api {
    unsigned version; /* MP_UDF_API_VERSION of the host */
    size_t size;      /* sizeof(struct mp_udf_api) of the host */
    int (*register_scalar)(mp_udf_registrar *r, const mp_udf_scalar *def, size_t def_size);
    int (*register_aggregate)(mp_udf_registrar *r, const mp_udf_aggregate *def, size_t def_size);
    int (*registrar_fail)(mp_udf_registrar *r, const char *message);
    size_t (*arg_count)(const mp_udf_args *a);
    const mp_udf_value *(*arg)(const mp_udf_args *a, size_t i);
    int (*value_kind)(const mp_udf_value *v);
    int (*value_is_null)(const mp_udf_value *v);
    int (*value_bool)(const mp_udf_value *v);
    int64_t (*value_int64)(const mp_udf_value *v);
    double (*value_double)(const mp_udf_value *v);
    const char *(*value_string)(const mp_udf_value *v, size_t *len);
    const void *(*value_bytes)(const mp_udf_value *v, size_t *len);
    size_t (*value_len)(const mp_udf_value *v);
    const mp_udf_value *(*value_item)(const mp_udf_value *v, size_t i);
    const mp_udf_value *(*value_map_key)(const mp_udf_value *v, size_t i);
    const mp_udf_value *(*value_map_value)(const mp_udf_value *v, size_t i);
    const mp_udf_value *(*value_field)(const mp_udf_value *v, const char *name);
    const char *(*value_text)(mp_udf_ctx *ctx, const mp_udf_value *v, size_t *len);
    mp_udf_slot *(*result)(mp_udf_ctx *ctx);
    int (*set_null)(mp_udf_ctx *ctx, mp_udf_slot *s);
    int (*set_bool)(mp_udf_ctx *ctx, mp_udf_slot *s, int b);
    int (*set_int64)(mp_udf_ctx *ctx, mp_udf_slot *s, int64_t v);
    int (*set_double)(mp_udf_ctx *ctx, mp_udf_slot *s, double v);
    int (*set_string)(mp_udf_ctx *ctx, mp_udf_slot *s, const char *str, size_t len);
    int (*set_bytes)(mp_udf_ctx *ctx, mp_udf_slot *s, const void *p, size_t len);
    int (*set_value)(mp_udf_ctx *ctx, mp_udf_slot *s, const mp_udf_value *v);
    int (*set_array)(mp_udf_ctx *ctx, mp_udf_slot *s, size_t n);
    int (*set_map)(mp_udf_ctx *ctx, mp_udf_slot *s, size_t n);
    int (*set_struct)(mp_udf_ctx *ctx, mp_udf_slot *s);
    mp_udf_slot *(*slot_item)(mp_udf_ctx *ctx, mp_udf_slot *s, size_t i);
    mp_udf_slot *(*slot_key)(mp_udf_ctx *ctx, mp_udf_slot *s, size_t i);
    mp_udf_slot *(*slot_value)(mp_udf_ctx *ctx, mp_udf_slot *s, size_t i);
    mp_udf_slot *(*slot_field)(mp_udf_ctx *ctx, mp_udf_slot *s, const char *name);
    int (*error)(mp_udf_ctx *ctx, const char *message);
    /* appended after version 1's first release (check `size` before use) */
    int (*register_table)(mp_udf_registrar *r, const mp_udf_table *def, size_t def_size);
};

/* Every handle begins with a pointer to the table. */
#define MP_UDF_API_OF(h) (*(const struct mp_udf_api *const *)(const void *)(h))

/* ---- registering (in mlpipe_udf_init) ---- */

/* Declares a scalar function or overload. MP_UDF_EINVAL (with the reason
 * kept for the load error) on a bad name or type, a clash, or a missing
 * fn. Any failed registration fails the library's load. */
static inline int mp_udf_register_scalar(mp_udf_registrar *r, const mp_udf_scalar *def)
{
    return MP_UDF_API_OF(r)->register_scalar(r, def, sizeof *def);
}
static inline int mp_udf_register_aggregate(mp_udf_registrar *r, const mp_udf_aggregate *def)
{
    return MP_UDF_API_OF(r)->register_aggregate(r, def, sizeof *def);
}
/* Declares a table function or overload; MP_UDF_EINVAL on an mlpipe too
 * old to have table functions. */
static inline int mp_udf_register_table(mp_udf_registrar *r, const mp_udf_table *def)
{
    const struct mp_udf_api *a = MP_UDF_API_OF(r);
    if (a->size < offsetof(struct mp_udf_api, register_table) + sizeof a->register_table)
        return MP_UDF_EINVAL;
    return a->register_table(r, def, sizeof *def);
}
/* Fails the load with a message (a missing resource, a bad setting);
 * returns MP_UDF_EINVAL for `return mp_udf_registrar_fail(r, "...");`. */
static inline int mp_udf_registrar_fail(mp_udf_registrar *r, const char *message)
{
    return MP_UDF_API_OF(r)->registrar_fail(r, message);
}

/* ---- reading arguments ----
 *
 * Each argument has its parameter's declared type (variadic ones the last
 * parameter's). Reading with the accessor of another kind gives 0 / NULL;
 * an index past the end reads as NULL. */

static inline size_t mp_udf_arg_count(const mp_udf_args *a)
{
    return MP_UDF_API_OF(a)->arg_count(a);
}
/* The argument as a value handle, for the mp_udf_value_* accessors. */
static inline const mp_udf_value *mp_udf_arg(const mp_udf_args *a, size_t i)
{
    return MP_UDF_API_OF(a)->arg(a, i);
}
static inline int mp_udf_arg_is_null(const mp_udf_args *a, size_t i)
{
    return MP_UDF_API_OF(a)->value_is_null(mp_udf_arg(a, i));
}
static inline int mp_udf_arg_bool(const mp_udf_args *a, size_t i)
{
    return MP_UDF_API_OF(a)->value_bool(mp_udf_arg(a, i));
}
/* INT, BIGINT, TIMESTAMP (ms), DATE (days), TIME (ms). */
static inline int64_t mp_udf_arg_int64(const mp_udf_args *a, size_t i)
{
    return MP_UDF_API_OF(a)->value_int64(mp_udf_arg(a, i));
}
/* Any number (INT, BIGINT, DECIMAL, DOUBLE) as a double. */
static inline double mp_udf_arg_double(const mp_udf_args *a, size_t i)
{
    return MP_UDF_API_OF(a)->value_double(mp_udf_arg(a, i));
}
/* A STRING: valid UTF-8, *len bytes followed by a NUL (len may be NULL). */
static inline const char *mp_udf_arg_string(const mp_udf_args *a, size_t i, size_t *len)
{
    return MP_UDF_API_OF(a)->value_string(mp_udf_arg(a, i), len);
}
static inline const void *mp_udf_arg_bytes(const mp_udf_args *a, size_t i, size_t *len)
{
    return MP_UDF_API_OF(a)->value_bytes(mp_udf_arg(a, i), len);
}

/* ---- reading values (arguments, elements, aggregate states) ---- */

static inline mp_udf_kind mp_udf_value_kind(mp_udf_ctx *ctx, const mp_udf_value *v)
{
    return (mp_udf_kind)MP_UDF_API_OF(ctx)->value_kind(v);
}
static inline int mp_udf_value_is_null(mp_udf_ctx *ctx, const mp_udf_value *v)
{
    return MP_UDF_API_OF(ctx)->value_is_null(v);
}
static inline int mp_udf_value_bool(mp_udf_ctx *ctx, const mp_udf_value *v)
{
    return MP_UDF_API_OF(ctx)->value_bool(v);
}
static inline int64_t mp_udf_value_int64(mp_udf_ctx *ctx, const mp_udf_value *v)
{
    return MP_UDF_API_OF(ctx)->value_int64(v);
}
static inline double mp_udf_value_double(mp_udf_ctx *ctx, const mp_udf_value *v)
{
    return MP_UDF_API_OF(ctx)->value_double(v);
}
static inline const char *mp_udf_value_string(mp_udf_ctx *ctx, const mp_udf_value *v, size_t *len)
{
    return MP_UDF_API_OF(ctx)->value_string(v, len);
}
static inline const void *mp_udf_value_bytes(mp_udf_ctx *ctx, const mp_udf_value *v, size_t *len)
{
    return MP_UDF_API_OF(ctx)->value_bytes(v, len);
}
/* Elements of an ARRAY, entries of a MAP, fields of a STRUCT, bytes of a
 * STRING or BYTES; 0 for NULL and other kinds. */
static inline size_t mp_udf_value_len(mp_udf_ctx *ctx, const mp_udf_value *v)
{
    return MP_UDF_API_OF(ctx)->value_len(v);
}
/* Element i (from 0) of an ARRAY, or NULL. */
static inline const mp_udf_value *mp_udf_value_item(mp_udf_ctx *ctx, const mp_udf_value *v,
                                                    size_t i)
{
    return MP_UDF_API_OF(ctx)->value_item(v, i);
}
/* Key and value of entry i of a MAP, or NULL. */
static inline const mp_udf_value *mp_udf_value_map_key(mp_udf_ctx *ctx, const mp_udf_value *v,
                                                       size_t i)
{
    return MP_UDF_API_OF(ctx)->value_map_key(v, i);
}
static inline const mp_udf_value *mp_udf_value_map_value(mp_udf_ctx *ctx, const mp_udf_value *v,
                                                         size_t i)
{
    return MP_UDF_API_OF(ctx)->value_map_value(v, i);
}
/* A STRUCT's field by name (exact, else case-insensitive), or NULL. */
static inline const mp_udf_value *mp_udf_value_field(mp_udf_ctx *ctx, const mp_udf_value *v,
                                                     const char *name)
{
    return MP_UDF_API_OF(ctx)->value_field(v, name);
}
/* Any value as ksqlDB prints it ("12.50" for a DECIMAL, JSON for an
 * ARRAY); NULL for SQL NULL or when out of memory. */
static inline const char *mp_udf_value_text(mp_udf_ctx *ctx, const mp_udf_value *v, size_t *len)
{
    return MP_UDF_API_OF(ctx)->value_text(ctx, v, len);
}

/* ---- writing results ---- */

/* The slot for the call's output (the result, or the new state). */
static inline mp_udf_slot *mp_udf_result(mp_udf_ctx *ctx)
{
    return MP_UDF_API_OF(ctx)->result(ctx);
}
static inline int mp_udf_set_null(mp_udf_ctx *ctx, mp_udf_slot *s)
{
    return MP_UDF_API_OF(ctx)->set_null(ctx, s);
}
static inline int mp_udf_set_bool(mp_udf_ctx *ctx, mp_udf_slot *s, int b)
{
    return MP_UDF_API_OF(ctx)->set_bool(ctx, s, b);
}
/* Into INT (range-checked), BIGINT, DECIMAL, DOUBLE, TIMESTAMP, DATE, TIME. */
static inline int mp_udf_set_int64(mp_udf_ctx *ctx, mp_udf_slot *s, int64_t v)
{
    return MP_UDF_API_OF(ctx)->set_int64(ctx, s, v);
}
/* Into DOUBLE or DECIMAL (rounded half up to its scale). */
static inline int mp_udf_set_double(mp_udf_ctx *ctx, mp_udf_slot *s, double v)
{
    return MP_UDF_API_OF(ctx)->set_double(ctx, s, v);
}
/* Into STRING (must be UTF-8), or parsed into another primitive type. */
static inline int mp_udf_set_string(mp_udf_ctx *ctx, mp_udf_slot *s, const char *str, size_t len)
{
    return MP_UDF_API_OF(ctx)->set_string(ctx, s, str, len);
}
static inline int mp_udf_set_bytes(mp_udf_ctx *ctx, mp_udf_slot *s, const void *p, size_t len)
{
    return MP_UDF_API_OF(ctx)->set_bytes(ctx, s, p, len);
}
/* A copy of a value read from the arguments or state, widened to the
 * slot's type. */
static inline int mp_udf_set_value(mp_udf_ctx *ctx, mp_udf_slot *s, const mp_udf_value *v)
{
    return MP_UDF_API_OF(ctx)->set_value(ctx, s, v);
}
/* An ARRAY of n NULL elements; fill them through mp_udf_slot_item. */
static inline int mp_udf_set_array(mp_udf_ctx *ctx, mp_udf_slot *s, size_t n)
{
    return MP_UDF_API_OF(ctx)->set_array(ctx, s, n);
}
/* A MAP of n entries (keys and values NULL); fill them through
 * mp_udf_slot_key and mp_udf_slot_value. Keys must differ. */
static inline int mp_udf_set_map(mp_udf_ctx *ctx, mp_udf_slot *s, size_t n)
{
    return MP_UDF_API_OF(ctx)->set_map(ctx, s, n);
}
/* A STRUCT of the slot's type with every field NULL; fill them through
 * mp_udf_slot_field. */
static inline int mp_udf_set_struct(mp_udf_ctx *ctx, mp_udf_slot *s)
{
    return MP_UDF_API_OF(ctx)->set_struct(ctx, s);
}
/* Slots inside what the setters above built; NULL when the slot does not
 * hold that kind or the index or name does not exist. */
static inline mp_udf_slot *mp_udf_slot_item(mp_udf_ctx *ctx, mp_udf_slot *s, size_t i)
{
    return MP_UDF_API_OF(ctx)->slot_item(ctx, s, i);
}
static inline mp_udf_slot *mp_udf_slot_key(mp_udf_ctx *ctx, mp_udf_slot *s, size_t i)
{
    return MP_UDF_API_OF(ctx)->slot_key(ctx, s, i);
}
static inline mp_udf_slot *mp_udf_slot_value(mp_udf_ctx *ctx, mp_udf_slot *s, size_t i)
{
    return MP_UDF_API_OF(ctx)->slot_value(ctx, s, i);
}
static inline mp_udf_slot *mp_udf_slot_field(mp_udf_ctx *ctx, mp_udf_slot *s, const char *name)
{
    return MP_UDF_API_OF(ctx)->slot_field(ctx, s, name);
}

/* Shorthands for the call's output. */
static inline int mp_udf_result_null(mp_udf_ctx *ctx)
{
    return mp_udf_set_null(ctx, mp_udf_result(ctx));
}
static inline int mp_udf_result_bool(mp_udf_ctx *ctx, int b)
{
    return mp_udf_set_bool(ctx, mp_udf_result(ctx), b);
}
static inline int mp_udf_result_int64(mp_udf_ctx *ctx, int64_t v)
{
    return mp_udf_set_int64(ctx, mp_udf_result(ctx), v);
}
static inline int mp_udf_result_double(mp_udf_ctx *ctx, double v)
{
    return mp_udf_set_double(ctx, mp_udf_result(ctx), v);
}
static inline int mp_udf_result_string(mp_udf_ctx *ctx, const char *s, size_t len)
{
    return mp_udf_set_string(ctx, mp_udf_result(ctx), s, len);
}
static inline int mp_udf_result_bytes(mp_udf_ctx *ctx, const void *p, size_t len)
{
    return mp_udf_set_bytes(ctx, mp_udf_result(ctx), p, len);
}

/* ---- errors ---- */

/* Fails the call with a message (copied); returns MP_UDF_EINPUT, for
 * `return mp_udf_error(ctx, "...");`. */
static inline int mp_udf_error(mp_udf_ctx *ctx, const char *message)
{
    return MP_UDF_API_OF(ctx)->error(ctx, message);
}

#ifdef __cplusplus
}
#endif

#endif
