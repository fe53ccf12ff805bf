/* User-defined functions: the public extension API (include/mlpipe_udf.h)
 * implemented over the function registry.
 *
 * Extensions reach mlpipe only through one function table (`api` below)
 * whose address every handle starts with, so a loaded library needs no
 * symbols from the program: the `mlpipe` binary need not export any, and
 * a program linking libmlpipe statically can load extensions too.
 *
 * Binding: the registry calls a function's bind with the argument types
 * only — no pointer saying which function it is — so each function gets a
 * bind of its own from a fixed pool of trampolines (bind_s_XX, bind_a_XX),
 * each reading its entry of a slot table. That caps the process at
 * MAX_SLOTS scalar and MAX_SLOTS aggregate UDF names, far beyond what
 * ksqlDB deployments load. A `const void *` for bind in mp_fn_def would
 * make the pool unnecessary.
 *
 * Calling: the chosen variant (overload) travels in impl.data. Arguments
 * are converted to the declared parameter types (the binder does not
 * convert values), the extension writes its result through typed slots
 * that convert and range-check, and the result is checked against the
 * declared type before the engine sees it, so a buggy extension gives a
 * run-time error, never a malformed value. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "sql/fn_builtin.h"
#include "sql/sql_expr_internal.h"
#include "sql/udf.h"

#define MAX_SLOTS 256
#define MAX_NAME 128

_Static_assert(MP_UDF_NULL == (int)MP_TYPE_NULL && MP_UDF_BOOLEAN == (int)MP_TYPE_BOOLEAN &&
                   MP_UDF_INTEGER == (int)MP_TYPE_INTEGER && MP_UDF_BIGINT == (int)MP_TYPE_BIGINT &&
                   MP_UDF_DOUBLE == (int)MP_TYPE_DOUBLE && MP_UDF_DECIMAL == (int)MP_TYPE_DECIMAL &&
                   MP_UDF_STRING == (int)MP_TYPE_STRING && MP_UDF_BYTES == (int)MP_TYPE_BYTES &&
                   MP_UDF_TIMESTAMP == (int)MP_TYPE_TIMESTAMP && MP_UDF_DATE == (int)MP_TYPE_DATE &&
                   MP_UDF_TIME == (int)MP_TYPE_TIME && MP_UDF_ARRAY == (int)MP_TYPE_ARRAY &&
                   MP_UDF_MAP == (int)MP_TYPE_MAP && MP_UDF_STRUCT == (int)MP_TYPE_STRUCT,
               "mp_udf_kind mirrors mp_type_kind");
_Static_assert(MP_UDF_EINVAL == MP_EINVAL && MP_UDF_EINPUT == MP_EINPUT &&
                   MP_UDF_ENOMEM == MP_ENOMEM,
               "public codes are the library's");

/* ---- what a library declared ---- */

typedef struct udf_fn udf_fn;

typedef struct udf_variant {
    const udf_fn *fn;
    mp_type **params;
    size_t nparams;
    unsigned flags;
    mp_type *ret;
    mp_type *state; /* aggregates */
    char *description;
    mp_udf_scalar_fn scalar;
    int (*init)(mp_udf_ctx *, void *);
    int (*add)(mp_udf_ctx *, const mp_udf_value *, const mp_udf_args *, void *);
    int (*merge)(mp_udf_ctx *, const mp_udf_value *, const mp_udf_value *, void *);
    int (*result)(mp_udf_ctx *, const mp_udf_value *, void *);
    void *user;
} udf_variant;

struct udf_fn {
    mp_fn_def def; /* what the registry holds; points into this struct */
    const mp_udf_lib *lib;
    char *name; /* upper case */
    char *description, *author, *version, *category;
    char *title;      /* the description DESCRIBE FUNCTION shows (see compose_title) */
    char *alts;       /* "REVERSE(STRING), REVERSE(ARRAY<STRING>)" for bind refusals */
    mp_fn_doc *docs;  /* one per variant */
    char **doc_text;  /* 2 per variant: args, ret */
    udf_variant **vars;
    size_t nvars;
    int slot; /* index in the scalar or aggregate slot table, -1 before finishing */
};

struct mp_udf_lib {
    char *origin;
    udf_fn **fns;
    size_t n;
};

/* ---- handles ---- */

struct mp_udf_slot {
    mp_value *v;
    const mp_type *t;
};

struct mp_udf_ctx {
    const struct mp_udf_api *api;
    mp_fn_ctx *cx;
    const char *name;
    struct mp_udf_slot out;
    int failed; /* a setter or mp_udf_error failed the call; cx->e holds why */
    int code;
};

struct mp_udf_args {
    const struct mp_udf_api *api;
    const mp_value *v;
    size_t n;
};

struct mp_udf_registrar {
    const struct mp_udf_api *api;
    mp_udf_lib *lib;
    int failed;
    mp_error err; /* the first failure */
};

static const struct mp_udf_api api;

static const mp_value *V(const mp_udf_value *v)
{
    return (const mp_value *)(const void *)v;
}

static const mp_udf_value *U(const mp_value *v)
{
    return (const mp_udf_value *)(const void *)v;
}

/* ---- reading values ---- */

static size_t api_arg_count(const mp_udf_args *a)
{
    return a ? a->n : 0;
}

static const mp_udf_value *api_arg(const mp_udf_args *a, size_t i)
{
    return a && i < a->n ? U(&a->v[i]) : NULL;
}

static int api_value_kind(const mp_udf_value *uv)
{
    const mp_value *v = V(uv);
    return v ? v->kind : MP_UDF_NULL;
}

static int api_value_is_null(const mp_udf_value *uv)
{
    const mp_value *v = V(uv);
    return !v || v->null;
}

static int api_value_bool(const mp_udf_value *uv)
{
    const mp_value *v = V(uv);
    return v && !v->null && v->kind == MP_TYPE_BOOLEAN && v->u.b;
}

static int64_t api_value_int64(const mp_udf_value *uv)
{
    const mp_value *v = V(uv);
    if (!v || v->null)
        return 0;
    switch (v->kind) {
    case MP_TYPE_INTEGER:
    case MP_TYPE_DATE:
    case MP_TYPE_TIME: return v->u.i32;
    case MP_TYPE_BIGINT:
    case MP_TYPE_TIMESTAMP: return v->u.i64;
    default: return 0;
    }
}

static double api_value_double(const mp_udf_value *uv)
{
    const mp_value *v = V(uv);
    return v && !v->null && mp_fn_is_num(v) ? mp_fn_num_double(v) : 0.0;
}

static const char *api_value_string(const mp_udf_value *uv, size_t *len)
{
    const mp_value *v = V(uv);
    int ok = v && !v->null && v->kind == MP_TYPE_STRING;
    if (len)
        *len = ok ? v->len : 0;
    return ok ? v->u.str : NULL;
}

static const void *api_value_bytes(const mp_udf_value *uv, size_t *len)
{
    const mp_value *v = V(uv);
    int ok = v && !v->null && v->kind == MP_TYPE_BYTES;
    if (len)
        *len = ok ? v->len : 0;
    return ok ? (const void *)v->u.bytes : NULL;
}

static size_t api_value_len(const mp_udf_value *uv)
{
    const mp_value *v = V(uv);
    if (!v || v->null)
        return 0;
    switch (v->kind) {
    case MP_TYPE_STRING:
    case MP_TYPE_BYTES:
    case MP_TYPE_ARRAY:
    case MP_TYPE_MAP:
    case MP_TYPE_STRUCT: return v->len;
    default: return 0;
    }
}

static const mp_udf_value *api_value_item(const mp_udf_value *uv, size_t i)
{
    const mp_value *v = V(uv);
    if (!v || v->null || v->kind != MP_TYPE_ARRAY || i >= v->len)
        return NULL;
    return U(&v->u.items[i]);
}

static const mp_udf_value *map_part(const mp_udf_value *uv, size_t i, size_t part)
{
    const mp_value *v = V(uv);
    if (!v || v->null || v->kind != MP_TYPE_MAP || i >= v->len)
        return NULL;
    return U(&v->u.items[2 * i + part]);
}

static const mp_udf_value *api_value_map_key(const mp_udf_value *uv, size_t i)
{
    return map_part(uv, i, 0);
}

static const mp_udf_value *api_value_map_value(const mp_udf_value *uv, size_t i)
{
    return map_part(uv, i, 1);
}

/* Field index by exact name, else case-insensitively; -1 if none. */
static int field_index(const mp_type *st, const char *name)
{
    if (!st || st->kind != MP_TYPE_STRUCT || !name)
        return -1;
    int k = mp_type_struct_find(st, name);
    for (size_t i = 0; k < 0 && i < st->nfields; i++)
        if (!strcasecmp(st->fields[i].name, name))
            k = (int)i;
    return k;
}

static const mp_udf_value *api_value_field(const mp_udf_value *uv, const char *name)
{
    const mp_value *v = V(uv);
    if (!v || v->null || v->kind != MP_TYPE_STRUCT)
        return NULL;
    int k = field_index(v->u.st.type, name);
    return k >= 0 && (uint32_t)k < v->len ? U(&v->u.st.fields[k]) : NULL;
}

static const char *api_value_text(mp_udf_ctx *ctx, const mp_udf_value *uv, size_t *len)
{
    const mp_value *v = V(uv);
    if (len)
        *len = 0;
    if (!ctx || !v || v->null)
        return NULL;
    mp_buf b = {0};
    char *s = NULL;
    if (mp_value_format(v, &b) == 0 && !b.oom)
        s = mp_arena_strndup(ctx->cx->arena, b.data ? b.data : "", b.len);
    if (s && len)
        *len = b.len;
    mp_buf_free(&b);
    return s;
}

/* ---- writing values ---- */

static int ctx_fail(mp_udf_ctx *ctx, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int ctx_fail(mp_udf_ctx *ctx, int code, const char *fmt, ...)
{
    if (!ctx)
        return code;
    if (!ctx->failed) {
        char msg[MP_ERROR_MSG_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        mp_error_set(ctx->cx->e, code, "%s: %s", ctx->name, msg);
        ctx->failed = 1;
        ctx->code = code;
    }
    return code;
}

static int bad_slot(mp_udf_ctx *ctx, const mp_udf_slot *s, const char *what)
{
    if (!s)
        return ctx_fail(ctx, MP_EINVAL, "no slot to write %s into", what);
    char tb[128];
    return ctx_fail(ctx, MP_EINVAL, "cannot store %s where %s is declared", what,
                    mp_sql_type_str(s->t, tb, sizeof tb));
}

static int oom(mp_udf_ctx *ctx)
{
    return ctx_fail(ctx, MP_ENOMEM, "out of memory");
}

static mp_udf_slot *api_result(mp_udf_ctx *ctx)
{
    return ctx ? &ctx->out : NULL;
}

static int api_set_null(mp_udf_ctx *ctx, mp_udf_slot *s)
{
    if (!s)
        return bad_slot(ctx, s, "NULL");
    *s->v = mp_v_null_of(s->t);
    return 0;
}

static int api_set_bool(mp_udf_ctx *ctx, mp_udf_slot *s, int b)
{
    if (!s || s->t->kind != MP_TYPE_BOOLEAN)
        return bad_slot(ctx, s, "a BOOLEAN");
    *s->v = mp_v_bool(b != 0);
    return 0;
}

static int api_set_int64(mp_udf_ctx *ctx, mp_udf_slot *s, int64_t x)
{
    if (!s)
        return bad_slot(ctx, s, "an integer");
    switch (s->t->kind) {
    case MP_TYPE_INTEGER:
        if (x < INT32_MIN || x > INT32_MAX)
            return ctx_fail(ctx, MP_EINPUT, "%lld does not fit an INTEGER result", (long long)x);
        *s->v = mp_v_int((int32_t)x);
        return 0;
    case MP_TYPE_BIGINT: *s->v = mp_v_bigint(x); return 0;
    case MP_TYPE_TIMESTAMP: *s->v = mp_v_timestamp(x); return 0;
    case MP_TYPE_DATE:
        if (x < INT32_MIN || x > INT32_MAX)
            return ctx_fail(ctx, MP_EINPUT, "%lld days is out of the DATE range", (long long)x);
        *s->v = mp_v_date((int32_t)x);
        return 0;
    case MP_TYPE_TIME:
        if (x < 0 || x >= 86400000)
            return ctx_fail(ctx, MP_EINPUT, "%lld ms is not a TIME of day", (long long)x);
        *s->v = mp_v_time((int32_t)x);
        return 0;
    case MP_TYPE_DOUBLE: *s->v = mp_v_double((double)x); return 0;
    case MP_TYPE_DECIMAL: {
        mp_decimal d;
        mp_error e = {0};
        if (mp_decimal_from_int64(x, s->t->precision, s->t->scale, &d, &e))
            return ctx_fail(ctx, MP_EINPUT, "%s", e.msg);
        *s->v = mp_v_decimal(&d);
        return 0;
    }
    default: return bad_slot(ctx, s, "an integer");
    }
}

static int api_set_double(mp_udf_ctx *ctx, mp_udf_slot *s, double x)
{
    if (s && s->t->kind == MP_TYPE_DOUBLE) {
        *s->v = mp_v_double(x);
        return 0;
    }
    if (s && s->t->kind == MP_TYPE_DECIMAL) {
        mp_decimal d;
        mp_error e = {0};
        if (mp_decimal_from_double(x, s->t->precision, s->t->scale, &d, &e))
            return ctx_fail(ctx, MP_EINPUT, "%s", e.msg);
        *s->v = mp_v_decimal(&d);
        return 0;
    }
    return bad_slot(ctx, s, "a DOUBLE");
}

static bool is_primitive(mp_type_kind k)
{
    return k != MP_TYPE_ARRAY && k != MP_TYPE_MAP && k != MP_TYPE_STRUCT && k != MP_TYPE_NULL;
}

static int api_set_string(mp_udf_ctx *ctx, mp_udf_slot *s, const char *str, size_t len)
{
    if (!s || !is_primitive(s->t->kind) || s->t->kind == MP_TYPE_BYTES)
        return bad_slot(ctx, s, "a STRING");
    if (!str && len)
        return ctx_fail(ctx, MP_EINVAL, "a NULL string pointer with length %zu", len);
    if (len > UINT32_MAX)
        return ctx_fail(ctx, MP_EINPUT, "a string of %zu bytes is too long", len);
    mp_error e = {0};
    if (s->t->kind == MP_TYPE_STRING) {
        mp_value v;
        if (mp_v_string(ctx->cx->arena, str ? str : "", len, &v))
            return oom(ctx);
        if (mp_value_check(&v, s->t, &e))
            return ctx_fail(ctx, MP_EINPUT, "the string is not valid UTF-8");
        *s->v = v;
        return 0;
    }
    /* another primitive: parsed as CAST('...' AS type) would */
    mp_value in = mp_v_string_ref(str ? str : "", len), out;
    int rc = mp_sql_convert(&in, s->t, MP_SQL_CONV_CAST, ctx->cx->arena, &out, &e);
    if (rc)
        return ctx_fail(ctx, rc == MP_ENOMEM ? rc : MP_EINPUT, "%s", e.msg);
    *s->v = out;
    return 0;
}

static int api_set_bytes(mp_udf_ctx *ctx, mp_udf_slot *s, const void *p, size_t len)
{
    if (!s || s->t->kind != MP_TYPE_BYTES)
        return bad_slot(ctx, s, "BYTES");
    if (!p && len)
        return ctx_fail(ctx, MP_EINVAL, "a NULL bytes pointer with length %zu", len);
    if (len > UINT32_MAX)
        return ctx_fail(ctx, MP_EINPUT, "%zu bytes are too many", len);
    if (mp_v_bytes(ctx->cx->arena, p ? p : "", len, s->v))
        return oom(ctx);
    return 0;
}

static int api_set_value(mp_udf_ctx *ctx, mp_udf_slot *s, const mp_udf_value *uv)
{
    const mp_value *v = V(uv);
    if (!s || !v)
        return bad_slot(ctx, s, "a missing value");
    mp_value tmp, out;
    mp_error e = {0};
    /* copy first: the value may live in an argument the engine reuses */
    if (mp_value_copy(v, ctx->cx->arena, &tmp))
        return oom(ctx);
    int rc = mp_sql_convert(&tmp, s->t, MP_SQL_CONV_COERCE, ctx->cx->arena, &out, &e);
    if (rc)
        return ctx_fail(ctx, rc == MP_ENOMEM ? rc : MP_EINVAL, "%s", e.msg);
    *s->v = out;
    return 0;
}

static int api_set_array(mp_udf_ctx *ctx, mp_udf_slot *s, size_t n)
{
    if (!s || s->t->kind != MP_TYPE_ARRAY)
        return bad_slot(ctx, s, "an ARRAY");
    if (n > UINT32_MAX)
        return ctx_fail(ctx, MP_EINPUT, "an ARRAY of %zu elements is too long", n);
    if (mp_v_array(ctx->cx->arena, n, s->t->elem, s->v))
        return oom(ctx);
    return 0;
}

static int api_set_map(mp_udf_ctx *ctx, mp_udf_slot *s, size_t n)
{
    if (!s || s->t->kind != MP_TYPE_MAP)
        return bad_slot(ctx, s, "a MAP");
    if (n > UINT32_MAX / 2)
        return ctx_fail(ctx, MP_EINPUT, "a MAP of %zu entries is too large", n);
    if (mp_v_map(ctx->cx->arena, n, s->t->key, s->t->elem, s->v))
        return oom(ctx);
    return 0;
}

static int api_set_struct(mp_udf_ctx *ctx, mp_udf_slot *s)
{
    if (!s || s->t->kind != MP_TYPE_STRUCT)
        return bad_slot(ctx, s, "a STRUCT");
    if (mp_v_struct(ctx->cx->arena, s->t, s->v))
        return oom(ctx);
    return 0;
}

static mp_udf_slot *new_slot(mp_udf_ctx *ctx, mp_value *v, const mp_type *t)
{
    mp_udf_slot *s = mp_arena_alloc(ctx->cx->arena, sizeof *s);
    if (!s) {
        oom(ctx);
        return NULL;
    }
    s->v = v;
    s->t = t;
    return s;
}

static mp_udf_slot *api_slot_item(mp_udf_ctx *ctx, mp_udf_slot *s, size_t i)
{
    if (!ctx || !s || s->t->kind != MP_TYPE_ARRAY || s->v->null || s->v->kind != MP_TYPE_ARRAY ||
        i >= s->v->len)
        return NULL;
    return new_slot(ctx, &s->v->u.items[i], s->t->elem);
}

static mp_udf_slot *map_slot(mp_udf_ctx *ctx, mp_udf_slot *s, size_t i, size_t part)
{
    if (!ctx || !s || s->t->kind != MP_TYPE_MAP || s->v->null || s->v->kind != MP_TYPE_MAP ||
        i >= s->v->len)
        return NULL;
    return new_slot(ctx, &s->v->u.items[2 * i + part], part ? s->t->elem : s->t->key);
}

static mp_udf_slot *api_slot_key(mp_udf_ctx *ctx, mp_udf_slot *s, size_t i)
{
    return map_slot(ctx, s, i, 0);
}

static mp_udf_slot *api_slot_value(mp_udf_ctx *ctx, mp_udf_slot *s, size_t i)
{
    return map_slot(ctx, s, i, 1);
}

static mp_udf_slot *api_slot_field(mp_udf_ctx *ctx, mp_udf_slot *s, const char *name)
{
    if (!ctx || !s || s->t->kind != MP_TYPE_STRUCT || s->v->null || s->v->kind != MP_TYPE_STRUCT)
        return NULL;
    int k = field_index(s->t, name);
    if (k < 0 || (uint32_t)k >= s->v->len)
        return NULL;
    return new_slot(ctx, &s->v->u.st.fields[k], s->t->fields[k].type);
}

static int api_error(mp_udf_ctx *ctx, const char *message)
{
    return ctx_fail(ctx, MP_EINPUT, "%s", message && *message ? message : "failed");
}

/* ---- calling ---- */

static const mp_type *param_type(const udf_variant *v, size_t i)
{
    return v->params[i < v->nparams ? i : v->nparams - 1];
}

/* The arguments converted to the parameter types, in cv. */
static int convert_args(mp_udf_ctx *ctx, const udf_variant *v, const mp_value *a, size_t n,
                        mp_value *cv)
{
    for (size_t i = 0; i < n; i++) {
        const mp_type *pt = param_type(v, i);
        if (a[i].null) {
            cv[i] = mp_v_null_of(pt);
            continue;
        }
        if (a[i].kind == pt->kind && is_primitive(pt->kind) &&
            (pt->kind != MP_TYPE_DECIMAL ||
             (a[i].precision == pt->precision && a[i].scale == pt->scale))) {
            cv[i] = a[i];
            continue;
        }
        mp_error e = {0};
        int rc = mp_sql_convert(&a[i], pt, MP_SQL_CONV_COERCE, ctx->cx->arena, &cv[i], &e);
        if (rc)
            return ctx_fail(ctx, rc, "argument %zu: %s", i + 1, e.msg);
    }
    return 0;
}

/* After the extension returned rc: the call's outcome, with the output
 * checked against its declared type. */
static int finish(mp_udf_ctx *ctx, int rc)
{
    if (ctx->failed)
        return ctx->code < 0 ? ctx->code : MP_EINPUT;
    if (rc)
        return ctx_fail(ctx, rc < 0 ? rc : MP_EINPUT, "failed (returned %d)", rc);
    mp_error e = {0};
    if (mp_value_check(ctx->out.v, ctx->out.t, &e)) {
        char tb[128];
        return ctx_fail(ctx, MP_EINPUT, "the result is not a valid %s: %s",
                        mp_sql_type_str(ctx->out.t, tb, sizeof tb), e.msg);
    }
    return 0;
}

static void ctx_init(mp_udf_ctx *ctx, mp_fn_ctx *cx, const udf_variant *v, mp_value *out,
                     const mp_type *t)
{
    ctx->api = &api;
    ctx->cx = cx;
    ctx->name = v->fn->name;
    ctx->out.v = out;
    ctx->out.t = t;
    ctx->failed = 0;
    ctx->code = 0;
}

/* Converted arguments: on the stack for few, else in the arena. */
static mp_value *args_space(mp_udf_ctx *ctx, mp_value *local, size_t nlocal, size_t n)
{
    if (n <= nlocal)
        return local;
    mp_value *p = mp_arena_alloc(ctx->cx->arena, n * sizeof *p);
    if (!p)
        oom(ctx);
    return p;
}

static int no_arena(mp_fn_ctx *cx, const udf_variant *v)
{
    return mp_error_set(cx->e, MP_EINVAL, "%s: called without an arena", v->fn->name);
}

static int call_scalar(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *data)
{
    const udf_variant *v = data;
    if (!cx->arena)
        return no_arena(cx, v);
    mp_udf_ctx ctx;
    ctx_init(&ctx, cx, v, out, v->ret);
    *out = mp_v_null_of(v->ret);
    mp_value local[8], *cv = args_space(&ctx, local, 8, n);
    if (!cv || convert_args(&ctx, v, a, n, cv))
        return finish(&ctx, 0);
    struct mp_udf_args args = {&api, cv, n};
    int rc = v->scalar(&ctx, &args, v->user);
    return finish(&ctx, rc);
}

/* A table function writes its rows as an ARRAY (v->state) into the result. */
static int call_table(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value **rows, size_t *nrows,
                      const void *data)
{
    const udf_variant *v = data;
    *rows = NULL;
    *nrows = 0;
    if (!(v->flags & MP_UDF_CALLED_ON_NULL_INPUT))
        for (size_t i = 0; i < n; i++)
            if (a[i].null)
                return 0;
    if (!cx->arena)
        return no_arena(cx, v);
    mp_value out = mp_v_null_of(v->state);
    mp_udf_ctx ctx;
    ctx_init(&ctx, cx, v, &out, v->state);
    mp_value local[8], *cv = args_space(&ctx, local, 8, n);
    int rc = 0;
    if (cv && !convert_args(&ctx, v, a, n, cv)) {
        struct mp_udf_args args = {&api, cv, n};
        rc = v->scalar(&ctx, &args, v->user);
    }
    if ((rc = finish(&ctx, rc)))
        return rc;
    if (!out.null) {
        *rows = out.u.items;
        *nrows = out.len;
    }
    return 0;
}

static int agg_init(mp_fn_ctx *cx, mp_value *state, const void *data)
{
    const udf_variant *v = data;
    *state = mp_v_null_of(v->state);
    if (!v->init)
        return 0;
    if (!cx->arena)
        return no_arena(cx, v);
    mp_udf_ctx ctx;
    ctx_init(&ctx, cx, v, state, v->state);
    int rc = v->init(&ctx, v->user);
    if ((rc = finish(&ctx, rc)))
        *state = mp_v_null_of(v->state);
    return rc;
}

static int agg_add(mp_fn_ctx *cx, mp_value *state, const mp_value *a, size_t n, const void *data)
{
    const udf_variant *v = data;
    if (!(v->flags & MP_UDF_CALLED_ON_NULL_INPUT))
        for (size_t i = 0; i < n; i++)
            if (a[i].null)
                return 0;
    if (!cx->arena)
        return no_arena(cx, v);
    mp_value old = *state;
    mp_udf_ctx ctx;
    ctx_init(&ctx, cx, v, state, v->state);
    mp_value local[8], *cv = args_space(&ctx, local, 8, n);
    int rc = 0;
    if (cv && !convert_args(&ctx, v, a, n, cv)) {
        struct mp_udf_args args = {&api, cv, n};
        rc = v->add(&ctx, U(&old), &args, v->user);
    }
    if ((rc = finish(&ctx, rc)))
        *state = old;
    return rc;
}

static int agg_merge(mp_fn_ctx *cx, mp_value *state, const mp_value *other, const void *data)
{
    const udf_variant *v = data;
    if (!cx->arena)
        return no_arena(cx, v);
    mp_value old = *state;
    mp_udf_ctx ctx;
    ctx_init(&ctx, cx, v, state, v->state);
    int rc = v->merge(&ctx, U(&old), U(other), v->user);
    if ((rc = finish(&ctx, rc)))
        *state = old;
    return rc;
}

static int agg_result(mp_fn_ctx *cx, const mp_value *state, mp_value *out, const void *data)
{
    const udf_variant *v = data;
    if (!cx->arena)
        return no_arena(cx, v);
    mp_udf_ctx ctx;
    ctx_init(&ctx, cx, v, out, v->ret);
    *out = mp_v_null_of(v->ret);
    if (!v->result) {
        mp_error e = {0};
        int rc = mp_sql_convert(state, v->ret, MP_SQL_CONV_COERCE, cx->arena, out, &e);
        if (rc)
            ctx_fail(&ctx, rc, "%s", e.msg);
        return finish(&ctx, 0);
    }
    return finish(&ctx, v->result(&ctx, U(state), v->user));
}

/* ---- binding ---- */

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

/* Widening steps to pass args to v, or -1 when they do not fit. */
static int variant_cost(const udf_variant *v, const mp_type *const *args, size_t n)
{
    bool variadic = v->flags & MP_UDF_VARIADIC;
    if (variadic ? n + 1 < v->nparams : n != v->nparams)
        return -1;
    int cost = 0;
    for (size_t i = 0; i < n; i++) {
        const mp_type *pt = param_type(v, i), *at = args[i];
        if (at->kind == MP_TYPE_NULL || mp_type_equal(at, pt))
            continue;
        if (!mp_type_can_coerce(at, pt))
            return -1;
        int a = num_rank(at->kind), b = num_rank(pt->kind);
        cost += a >= 0 && b > a ? b - a : 1;
    }
    return cost;
}

static int pick(const udf_fn *f, const mp_type *const *args, size_t n, const udf_variant **out,
                mp_error *e)
{
    int best = -1;
    for (size_t k = 0; k < f->nvars; k++) {
        int c = variant_cost(f->vars[k], args, n);
        if (c >= 0 && (best < 0 || c < best)) {
            best = c;
            *out = f->vars[k];
        }
    }
    if (best < 0)
        return mp_fn_bind_refuse(e, f->name, args, n, f->alts);
    return 0;
}

static pthread_mutex_t slots_mu = PTHREAD_MUTEX_INITIALIZER;
/* Written under slots_mu before the function reaches a registry; read by
 * bind after a registry lookup, which orders the two. */
static const udf_fn *scalar_slots[MAX_SLOTS], *agg_slots[MAX_SLOTS], *table_slots[MAX_SLOTS];

static const udf_fn **slots_of(mp_fn_kind kind)
{
    return kind == MP_FN_SCALAR ? scalar_slots : kind == MP_FN_AGGREGATE ? agg_slots : table_slots;
}

static int bind_scalar_at(int slot, const mp_type *const *args, size_t n, mp_scalar_impl *out,
                          mp_error *e)
{
    const udf_fn *f = scalar_slots[slot];
    const udf_variant *v = NULL;
    if (!f)
        return mp_error_set(e, MP_EINVAL, "user-defined function was unloaded");
    int rc = pick(f, args, n, &v, e);
    if (rc)
        return rc;
    if (!(out->ret = mp_type_clone(v->ret)))
        return mp_error_set(e, MP_ENOMEM, "%s: out of memory", f->name);
    out->fn = call_scalar;
    out->data = v;
    out->null_in_null_out = !(v->flags & MP_UDF_CALLED_ON_NULL_INPUT);
    return 0;
}

static int bind_agg_at(int slot, const mp_type *const *args, size_t n, mp_agg_impl *out,
                       mp_error *e)
{
    const udf_fn *f = agg_slots[slot];
    const udf_variant *v = NULL;
    if (!f)
        return mp_error_set(e, MP_EINVAL, "user-defined function was unloaded");
    int rc = pick(f, args, n, &v, e);
    if (rc)
        return rc;
    out->ret = mp_type_clone(v->ret);
    out->state_type = mp_type_clone(v->state);
    if (!out->ret || !out->state_type) {
        mp_type_free(out->ret);
        mp_type_free(out->state_type);
        out->ret = out->state_type = NULL;
        return mp_error_set(e, MP_ENOMEM, "%s: out of memory", f->name);
    }
    out->init = agg_init;
    out->add = agg_add;
    out->merge = v->merge ? agg_merge : NULL;
    out->result = agg_result;
    out->data = v;
    return 0;
}

static int bind_table_at(int slot, const mp_type *const *args, size_t n, mp_table_impl *out,
                         mp_error *e)
{
    const udf_fn *f = table_slots[slot];
    const udf_variant *v = NULL;
    if (!f)
        return mp_error_set(e, MP_EINVAL, "user-defined function was unloaded");
    int rc = pick(f, args, n, &v, e);
    if (rc)
        return rc;
    if (!(out->ret = mp_type_clone(v->ret)))
        return mp_error_set(e, MP_ENOMEM, "%s: out of memory", f->name);
    out->fn = call_table;
    out->data = v;
    return 0;
}

/* The trampolines: one bind per slot. */
#define BIND_S(h, l)                                                                               \
    static int bind_s_##h##l(const mp_type *const *a, const mp_value *const *lits, size_t n,       \
                             mp_scalar_impl *o, mp_error *e)                                       \
    {                                                                                              \
        (void)lits;                                                                                \
        return bind_scalar_at(0x##h##l, a, n, o, e);                                               \
    }                                                                                              \
    static int bind_a_##h##l(const mp_type *const *a, const mp_value *const *lits, size_t n,       \
                             mp_agg_impl *o, mp_error *e)                                          \
    {                                                                                              \
        (void)lits;                                                                                \
        return bind_agg_at(0x##h##l, a, n, o, e);                                                  \
    }                                                                                              \
    static int bind_t_##h##l(const mp_type *const *a, const mp_value *const *lits, size_t n,       \
                             mp_table_impl *o, mp_error *e)                                        \
    {                                                                                              \
        (void)lits;                                                                                \
        return bind_table_at(0x##h##l, a, n, o, e);                                                \
    }
#define BIND_S16(h)                                                                                \
    BIND_S(h, 0) BIND_S(h, 1) BIND_S(h, 2) BIND_S(h, 3) BIND_S(h, 4) BIND_S(h, 5) BIND_S(h, 6)     \
    BIND_S(h, 7) BIND_S(h, 8) BIND_S(h, 9) BIND_S(h, a) BIND_S(h, b) BIND_S(h, c) BIND_S(h, d)     \
    BIND_S(h, e) BIND_S(h, f)
BIND_S16(0) BIND_S16(1) BIND_S16(2) BIND_S16(3) BIND_S16(4) BIND_S16(5) BIND_S16(6) BIND_S16(7)
BIND_S16(8) BIND_S16(9) BIND_S16(a) BIND_S16(b) BIND_S16(c) BIND_S16(d) BIND_S16(e) BIND_S16(f)

#define REF(p, h, l) p##h##l,
#define REF16(p, h)                                                                                \
    REF(p, h, 0) REF(p, h, 1) REF(p, h, 2) REF(p, h, 3) REF(p, h, 4) REF(p, h, 5) REF(p, h, 6)     \
    REF(p, h, 7) REF(p, h, 8) REF(p, h, 9) REF(p, h, a) REF(p, h, b) REF(p, h, c) REF(p, h, d)     \
    REF(p, h, e) REF(p, h, f)
#define REF256(p)                                                                                  \
    REF16(p, 0) REF16(p, 1) REF16(p, 2) REF16(p, 3) REF16(p, 4) REF16(p, 5) REF16(p, 6)            \
    REF16(p, 7) REF16(p, 8) REF16(p, 9) REF16(p, a) REF16(p, b) REF16(p, c) REF16(p, d)            \
    REF16(p, e) REF16(p, f)

static const mp_scalar_bind scalar_binds[MAX_SLOTS] = {REF256(bind_s_)};
static const mp_agg_bind agg_binds[MAX_SLOTS] = {REF256(bind_a_)};
static const mp_table_bind table_binds[MAX_SLOTS] = {REF256(bind_t_)};

static udf_fn *fn_of_def(const mp_fn_def *def)
{
    return (udf_fn *)(void *)((char *)(uintptr_t)def - offsetof(udf_fn, def));
}

/* Whether def is one of ours: its bind is one of the trampolines. */
static bool is_udf_def(const mp_fn_def *def)
{
    if (!def)
        return false;
    for (int i = 0; i < MAX_SLOTS; i++)
        if ((def->kind == MP_FN_SCALAR && def->scalar == scalar_binds[i]) ||
            (def->kind == MP_FN_AGGREGATE && def->aggregate == agg_binds[i]) ||
            (def->kind == MP_FN_TABLE && def->table == table_binds[i]))
            return true;
    return false;
}

const char *mp_udf_origin(const mp_fn_def *def)
{
    return is_udf_def(def) ? fn_of_def(def)->lib->origin : NULL;
}

static const char *kind_word(mp_fn_kind kind)
{
    return kind == MP_FN_SCALAR ? "scalar" : kind == MP_FN_AGGREGATE ? "aggregate" : "table";
}

static int take_slot(udf_fn *f, mp_error *e)
{
    const udf_fn **table = slots_of(f->def.kind);
    pthread_mutex_lock(&slots_mu);
    int slot = -1;
    for (int i = 0; i < MAX_SLOTS && slot < 0; i++)
        if (!table[i])
            slot = i;
    if (slot >= 0)
        table[slot] = f;
    pthread_mutex_unlock(&slots_mu);
    if (slot < 0)
        return mp_error_set(e, MP_EINVAL, "%s: too many user-defined %s functions (at most %d)",
                            f->name, kind_word(f->def.kind), MAX_SLOTS);
    f->slot = slot;
    if (f->def.kind == MP_FN_SCALAR)
        f->def.scalar = scalar_binds[slot];
    else if (f->def.kind == MP_FN_AGGREGATE)
        f->def.aggregate = agg_binds[slot];
    else
        f->def.table = table_binds[slot];
    return 0;
}

static void release_slot(udf_fn *f)
{
    if (f->slot < 0)
        return;
    const udf_fn **table = slots_of(f->def.kind);
    pthread_mutex_lock(&slots_mu);
    if (table[f->slot] == f)
        table[f->slot] = NULL;
    pthread_mutex_unlock(&slots_mu);
    f->slot = -1;
}

/* ---- building a library ---- */

static void variant_free(udf_variant *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->nparams; i++)
        mp_type_free(v->params[i]);
    free(v->params);
    mp_type_free(v->ret);
    mp_type_free(v->state);
    free(v->description);
    free(v);
}

static void fn_free(udf_fn *f)
{
    if (!f)
        return;
    release_slot(f);
    for (size_t i = 0; i < f->nvars; i++)
        variant_free(f->vars[i]);
    free(f->vars);
    for (size_t i = 0; f->doc_text && i < 2 * f->nvars; i++)
        free(f->doc_text[i]);
    free(f->doc_text);
    free(f->docs);
    free(f->name);
    free(f->description);
    free(f->author);
    free(f->version);
    free(f->category);
    free(f->title);
    free(f->alts);
    free(f);
}

void mp_udf_lib_free(mp_udf_lib *lib)
{
    if (!lib)
        return;
    for (size_t i = 0; i < lib->n; i++)
        fn_free(lib->fns[i]);
    free(lib->fns);
    free(lib->origin);
    free(lib);
}

size_t mp_udf_lib_count(const mp_udf_lib *lib)
{
    return lib ? lib->n : 0;
}

static int reg_fail(mp_udf_registrar *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int reg_fail(mp_udf_registrar *r, int code, const char *fmt, ...)
{
    if (!r->failed) {
        va_list ap;
        va_start(ap, fmt);
        mp_error_vset(&r->err, code, fmt, ap);
        va_end(ap);
        r->failed = 1;
    }
    return code;
}

static int api_registrar_fail(mp_udf_registrar *r, const char *message)
{
    if (!r)
        return MP_EINVAL;
    return reg_fail(r, MP_EINVAL, "%s", message && *message ? message : "failed");
}

static char *dup_or_null(const char *s, bool *oom_flag)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom_flag = true;
    return d;
}

static bool valid_name(const char *s)
{
    if (!s || !*s || strlen(s) > MAX_NAME || (*s >= '0' && *s <= '9'))
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return false;
    return true;
}

static int parse_type(mp_udf_registrar *r, const char *name, const char *what, const char *text,
                      mp_type **out)
{
    *out = NULL;
    if (!text || !*text)
        return reg_fail(r, MP_EINVAL, "%s: no type given for %s", name, what);
    mp_error e = {0};
    if (mp_type_parse(text, out, &e))
        return reg_fail(r, MP_EINVAL, "%s: %s type '%s': %s", name, what, text, e.msg);
    return 0;
}

static bool has_struct(const mp_type *t)
{
    if (!t)
        return false;
    if (t->kind == MP_TYPE_STRUCT)
        return true;
    return has_struct(t->key) || has_struct(t->elem);
}

/* The common part of a scalar or aggregate definition. */
typedef struct common_def {
    const char *name, *description, *author, *version, *category, *returns;
    const char *const *params;
    const char *const *param_names;
    size_t nparams;
    unsigned flags;
} common_def;

static bool same_signature(const udf_variant *a, const udf_variant *b)
{
    if (a->nparams != b->nparams ||
        (a->flags & MP_UDF_VARIADIC) != (b->flags & MP_UDF_VARIADIC))
        return false;
    for (size_t i = 0; i < a->nparams; i++)
        if (!mp_type_equal(a->params[i], b->params[i]))
            return false;
    return true;
}

/* Appends "(name TYPE, ...)" or "NAME(TYPE, ...)" for a variant. */
static void print_signature(mp_buf *b, const udf_variant *v, const char *const *names)
{
    mp_buf_putc(b, '(');
    for (size_t i = 0; i < v->nparams; i++) {
        if (i)
            mp_buf_append(b, ", ", 2);
        if (names && names[i] && *names[i]) {
            mp_buf_append(b, names[i], strlen(names[i]));
            mp_buf_putc(b, ' ');
        }
        mp_type_print(v->params[i], b);
        if (i + 1 == v->nparams && (v->flags & MP_UDF_VARIADIC))
            mp_buf_append(b, "...", 3);
    }
    mp_buf_putc(b, ')');
}

/* Adds a variant to the library's function `name`, creating the function
 * on its first variant. Takes ownership of v (freed on failure). */
static int add_variant(mp_udf_registrar *r, const common_def *d, mp_fn_kind kind, udf_variant *v)
{
    mp_udf_lib *lib = r->lib;
    udf_fn *f = NULL;
    for (size_t i = 0; i < lib->n && !f; i++)
        if (lib->fns[i]->name && !strcasecmp(lib->fns[i]->name, d->name))
            f = lib->fns[i];
    if (f && f->def.kind != kind) {
        variant_free(v);
        return reg_fail(r, MP_EINVAL, "%s is declared both as a %s and as a%s %s function",
                        f->name, kind_word(f->def.kind), kind == MP_FN_AGGREGATE ? "n" : "",
                        kind_word(kind));
    }
    for (size_t i = 0; f && i < f->nvars; i++)
        if (same_signature(f->vars[i], v)) {
            mp_buf b = {0};
            print_signature(&b, v, NULL);
            int rc = reg_fail(r, MP_EINVAL, "%s%s is declared twice", f->name,
                              b.data ? b.data : "()");
            mp_buf_free(&b);
            variant_free(v);
            return rc;
        }
    bool oom_flag = false;
    if (!f) {
        udf_fn **grown = realloc(lib->fns, (lib->n + 1) * sizeof *grown);
        if (!grown || !(f = calloc(1, sizeof *f))) {
            if (grown)
                lib->fns = grown;
            variant_free(v);
            return reg_fail(r, MP_ENOMEM, "out of memory");
        }
        lib->fns = grown;
        lib->fns[lib->n++] = f;
        f->lib = lib;
        f->slot = -1;
        f->def.kind = kind;
        f->name = dup_or_null(d->name, &oom_flag);
        for (char *p = f->name; p && *p; p++)
            if (*p >= 'a' && *p <= 'z')
                *p = (char)(*p - 'a' + 'A');
        f->description = dup_or_null(d->description ? d->description : "", &oom_flag);
        f->author = dup_or_null(d->author, &oom_flag);
        f->version = dup_or_null(d->version, &oom_flag);
        f->category = dup_or_null(
            d->category && *d->category ? d->category
            : kind == MP_FN_AGGREGATE   ? "AGGREGATE"
            : kind == MP_FN_TABLE       ? "TABLE"
                                        : "OTHER",
            &oom_flag);
    }
    udf_variant **vars = realloc(f->vars, (f->nvars + 1) * sizeof *vars);
    if (!vars || oom_flag) {
        if (vars)
            f->vars = vars;
        variant_free(v);
        return reg_fail(r, MP_ENOMEM, "out of memory");
    }
    f->vars = vars;
    v->fn = f;
    f->vars[f->nvars++] = v;
    /* the variant's documentation: (args), returns, description */
    char **text = realloc(f->doc_text, 2 * f->nvars * sizeof *text);
    if (!text)
        return reg_fail(r, MP_ENOMEM, "out of memory");
    f->doc_text = text;
    mp_buf a = {0}, t = {0};
    print_signature(&a, v, d->param_names);
    mp_type_print(v->ret, &t);
    text[2 * f->nvars - 2] = a.oom ? NULL : strdup(a.data ? a.data : "()");
    text[2 * f->nvars - 1] = t.oom ? NULL : strdup(t.data ? t.data : "");
    mp_buf_free(&a);
    mp_buf_free(&t);
    if (!text[2 * f->nvars - 2] || !text[2 * f->nvars - 1])
        return reg_fail(r, MP_ENOMEM, "out of memory");
    return 0;
}

/* Parses the common part into a new variant (NULL and a failure recorded
 * on error). */
static udf_variant *new_variant(mp_udf_registrar *r, const common_def *d)
{
    if (!valid_name(d->name))
        return reg_fail(r, MP_EINVAL, "'%s' is not a valid function name (letters, digits and "
                        "'_', not starting with a digit, at most %d characters)",
                        d->name ? d->name : "(null)", MAX_NAME), NULL;
    if (d->flags & ~(MP_UDF_VARIADIC | MP_UDF_CALLED_ON_NULL_INPUT))
        return reg_fail(r, MP_EINVAL, "%s: unknown flags 0x%x", d->name, d->flags), NULL;
    if (d->nparams && !d->params)
        return reg_fail(r, MP_EINVAL, "%s: %zu parameters but no parameter types", d->name,
                        d->nparams), NULL;
    if ((d->flags & MP_UDF_VARIADIC) && !d->nparams)
        return reg_fail(r, MP_EINVAL, "%s: variadic without a parameter to repeat", d->name),
               NULL;
    if (d->nparams > 64)
        return reg_fail(r, MP_EINVAL, "%s: %zu parameters is too many (at most 64)", d->name,
                        d->nparams), NULL;
    udf_variant *v = calloc(1, sizeof *v);
    if (v && d->nparams)
        v->params = calloc(d->nparams, sizeof *v->params);
    if (!v || (d->nparams && !v->params)) {
        free(v);
        return reg_fail(r, MP_ENOMEM, "out of memory"), NULL;
    }
    v->flags = d->flags;
    v->nparams = d->nparams;
    for (size_t i = 0; i < d->nparams; i++) {
        char what[64];
        snprintf(what, sizeof what, "parameter %zu", i + 1);
        if (parse_type(r, d->name, what, d->params[i], &v->params[i])) {
            variant_free(v);
            return NULL;
        }
    }
    if (parse_type(r, d->name, "return", d->returns, &v->ret)) {
        variant_free(v);
        return NULL;
    }
    bool oom_flag = false;
    v->description = dup_or_null(d->description ? d->description : "", &oom_flag);
    if (oom_flag) {
        variant_free(v);
        return reg_fail(r, MP_ENOMEM, "out of memory"), NULL;
    }
    return v;
}

/* Copies a definition struct of `size` bytes (the caller's header
 * version) into one of ours, zero-filling fields it does not know. */
static int copy_def(mp_udf_registrar *r, void *dst, size_t dst_size, const void *src,
                    size_t size, size_t min_size, const char *what)
{
    if (!src)
        return reg_fail(r, MP_EINVAL, "%s: no definition", what);
    if (size < min_size)
        return reg_fail(r, MP_EINVAL, "%s: definition of %zu bytes is smaller than version 1's "
                        "(%zu): rebuild the extension", what, size, min_size);
    memset(dst, 0, dst_size);
    memcpy(dst, src, size < dst_size ? size : dst_size);
    return 0;
}

static int api_register_scalar(mp_udf_registrar *r, const mp_udf_scalar *def, size_t size)
{
    if (!r)
        return MP_EINVAL;
    mp_udf_scalar s;
    int rc = copy_def(r, &s, sizeof s, def, size, sizeof(mp_udf_scalar), "mp_udf_register_scalar");
    if (rc)
        return rc;
    common_def d = {s.name,    s.description, s.author,      s.version, s.category,
                    s.returns, s.params,      s.param_names, s.nparams, s.flags};
    udf_variant *v = new_variant(r, &d);
    if (!v)
        return r->err.code ? r->err.code : MP_EINVAL;
    if (!s.fn) {
        variant_free(v);
        return reg_fail(r, MP_EINVAL, "%s: no implementation (fn is NULL)", s.name);
    }
    v->scalar = s.fn;
    v->user = s.user;
    return add_variant(r, &d, MP_FN_SCALAR, v);
}

static int api_register_aggregate(mp_udf_registrar *r, const mp_udf_aggregate *def, size_t size)
{
    if (!r)
        return MP_EINVAL;
    mp_udf_aggregate s;
    int rc = copy_def(r, &s, sizeof s, def, size, sizeof(mp_udf_aggregate),
                      "mp_udf_register_aggregate");
    if (rc)
        return rc;
    common_def d = {s.name,    s.description, s.author,      s.version, s.category,
                    s.returns, s.params,      s.param_names, s.nparams, s.flags};
    udf_variant *v = new_variant(r, &d);
    if (!v)
        return r->err.code ? r->err.code : MP_EINVAL;
    if (!s.add) {
        variant_free(v);
        return reg_fail(r, MP_EINVAL, "%s: no add function", s.name);
    }
    if (s.nparams > 8) {
        variant_free(v);
        return reg_fail(r, MP_EINVAL, "%s: an aggregate takes at most 8 arguments", s.name);
    }
    if (parse_type(r, s.name, "state", s.state, &v->state)) {
        variant_free(v);
        return r->err.code;
    }
    if (has_struct(v->state)) {
        variant_free(v);
        return reg_fail(r, MP_EINVAL, "%s: a state type cannot hold a STRUCT ('%s')", s.name,
                        s.state);
    }
    if (!s.result && !mp_sql_conv_ok(v->state, v->ret, MP_SQL_CONV_COERCE)) {
        variant_free(v);
        return reg_fail(r, MP_EINVAL, "%s: without a result function the state type '%s' must "
                        "convert to the return type '%s'", s.name, s.state, s.returns);
    }
    v->init = s.init;
    v->add = s.add;
    v->merge = s.merge;
    v->result = s.result;
    v->user = s.user;
    return add_variant(r, &d, MP_FN_AGGREGATE, v);
}

static int api_register_table(mp_udf_registrar *r, const mp_udf_table *def, size_t size)
{
    if (!r)
        return MP_EINVAL;
    mp_udf_table s;
    int rc = copy_def(r, &s, sizeof s, def, size, sizeof(mp_udf_table), "mp_udf_register_table");
    if (rc)
        return rc;
    common_def d = {s.name,    s.description, s.author,      s.version, s.category,
                    s.returns, s.params,      s.param_names, s.nparams, s.flags};
    udf_variant *v = new_variant(r, &d);
    if (!v)
        return r->err.code ? r->err.code : MP_EINVAL;
    if (!s.fn) {
        variant_free(v);
        return reg_fail(r, MP_EINVAL, "%s: no implementation (fn is NULL)", s.name);
    }
    mp_type *el = mp_type_clone(v->ret);
    if (!el || !(v->state = mp_type_new_array(el))) {
        variant_free(v);
        return reg_fail(r, MP_ENOMEM, "out of memory");
    }
    v->scalar = s.fn;
    v->user = s.user;
    return add_variant(r, &d, MP_FN_TABLE, v);
}

/* DESCRIBE FUNCTION prints a function's description after its name, type
 * and category, "Name: X | Type: SCALAR | Category: C | description"; for
 * an extension the description carries the author, version and library
 * the same way, as ksqlDB's DESCRIBE FUNCTION shows them. */
static char *compose_title(const udf_fn *f)
{
    mp_buf b = {0};
    if (*f->description)
        mp_buf_printf(&b, "%s | ", f->description);
    if (f->author && *f->author)
        mp_buf_printf(&b, "Author: %s | ", f->author);
    if (f->version && *f->version)
        mp_buf_printf(&b, "Version: %s | ", f->version);
    mp_buf_printf(&b, "Library: %s", f->lib->origin);
    char *s = b.oom ? NULL : strdup(b.data ? b.data : "");
    mp_buf_free(&b);
    return s;
}

/* Fills each function's registry definition once init has returned. */
static int finish_fn(udf_fn *f, mp_error *e)
{
    f->docs = calloc(f->nvars, sizeof *f->docs);
    f->title = compose_title(f);
    mp_buf alts = {0};
    for (size_t i = 0; i < f->nvars; i++) {
        if (i)
            mp_buf_append(&alts, ", ", 2);
        mp_buf_append(&alts, f->name, strlen(f->name));
        print_signature(&alts, f->vars[i], NULL);
    }
    f->alts = alts.oom ? NULL : strdup(alts.data ? alts.data : "");
    mp_buf_free(&alts);
    if (!f->docs || !f->title || !f->alts)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    for (size_t i = 0; i < f->nvars; i++) {
        f->docs[i].args = f->doc_text[2 * i];
        f->docs[i].ret = f->doc_text[2 * i + 1];
        f->docs[i].description = *f->vars[i]->description ? f->vars[i]->description
                                                            : f->description;
    }
    f->def.name = f->name;
    f->def.category = f->category;
    f->def.description = f->title;
    f->def.docs = f->docs;
    f->def.ndocs = f->nvars;
    f->def.author = f->author;
    f->def.version = f->version;
    return take_slot(f, e);
}

int mp_udf_lib_build(mp_udf_init_fn init, const char *origin, mp_udf_lib **out, mp_error *e)
{
    *out = NULL;
    if (!init || !origin)
        return mp_error_set(e, MP_EINVAL, "mp_udf_lib_build: missing argument");
    mp_udf_lib *lib = calloc(1, sizeof *lib);
    if (!lib || !(lib->origin = strdup(origin))) {
        free(lib);
        return mp_error_set(e, MP_ENOMEM, "%s: out of memory", origin);
    }
    mp_udf_registrar r = {.api = &api, .lib = lib};
    int rc = init(&r);
    if (r.failed) {
        rc = mp_error_set(e, r.err.code == MP_ENOMEM ? MP_ENOMEM : MP_EINVAL, "%s: %s", origin,
                          r.err.msg);
    } else if (rc) {
        rc = mp_error_set(e, MP_EINVAL, "%s: mlpipe_udf_init failed (returned %d)", origin, rc);
    } else if (!lib->n) {
        rc = mp_error_set(e, MP_EINVAL, "%s: mlpipe_udf_init registered no functions", origin);
    }
    for (size_t i = 0; !rc && i < lib->n; i++)
        if ((rc = finish_fn(lib->fns[i], e)))
            mp_error_prefix(e, "%s", origin);
    if (rc) {
        mp_udf_lib_free(lib);
        return rc;
    }
    *out = lib;
    return 0;
}

/* ---- adding to a registry ---- */

static int clash(const mp_fn_def *have, const udf_fn *f, mp_error *e)
{
    const char *other = mp_udf_origin(have);
    if (other)
        return mp_error_set(e, MP_EEXIST, "%s: function %s is already defined by %s",
                            f->lib->origin, f->name, other);
    return mp_error_set(e, MP_EEXIST, "%s: function %s clashes with the built-in function %s "
                        "(extensions cannot replace built-in functions)", f->lib->origin, f->name,
                        have->name);
}

int mp_udf_libs_register(mp_fn_registry *r, const mp_udf_lib *const *libs, size_t nlibs,
                         mp_error *e)
{
    for (size_t l = 0; l < nlibs; l++)
        for (size_t i = 0; i < libs[l]->n; i++) {
            const udf_fn *f = libs[l]->fns[i];
            const mp_fn_def *have = mp_fn_lookup(r, f->name);
            if (have && have != &f->def)
                return clash(have, f, e);
            for (size_t k = 0; k < l; k++)
                for (size_t j = 0; j < libs[k]->n; j++)
                    if (libs[k] != libs[l] && !strcasecmp(libs[k]->fns[j]->name, f->name))
                        return clash(&libs[k]->fns[j]->def, f, e);
        }
    for (size_t l = 0; l < nlibs; l++)
        for (size_t i = 0; i < libs[l]->n; i++) {
            const udf_fn *f = libs[l]->fns[i];
            if (mp_fn_lookup(r, f->name) == &f->def)
                continue;
            int rc = mp_fn_register(r, &f->def, 0, e);
            if (rc) {
                mp_error_prefix(e, "%s", f->lib->origin);
                return rc;
            }
        }
    return 0;
}

int mp_udf_lib_register(mp_fn_registry *r, const mp_udf_lib *lib, mp_error *e)
{
    if (!r || !lib)
        return mp_error_set(e, MP_EINVAL, "mp_udf_lib_register: missing argument");
    return mp_udf_libs_register(r, &lib, 1, e);
}

/* ---- the table ---- */

static const struct mp_udf_api api = {
    .version = MP_UDF_API_VERSION,
    .size = sizeof(struct mp_udf_api),
    .register_scalar = api_register_scalar,
    .register_aggregate = api_register_aggregate,
    .registrar_fail = api_registrar_fail,
    .arg_count = api_arg_count,
    .arg = api_arg,
    .value_kind = api_value_kind,
    .value_is_null = api_value_is_null,
    .value_bool = api_value_bool,
    .value_int64 = api_value_int64,
    .value_double = api_value_double,
    .value_string = api_value_string,
    .value_bytes = api_value_bytes,
    .value_len = api_value_len,
    .value_item = api_value_item,
    .value_map_key = api_value_map_key,
    .value_map_value = api_value_map_value,
    .value_field = api_value_field,
    .value_text = api_value_text,
    .result = api_result,
    .set_null = api_set_null,
    .set_bool = api_set_bool,
    .set_int64 = api_set_int64,
    .set_double = api_set_double,
    .set_string = api_set_string,
    .set_bytes = api_set_bytes,
    .set_value = api_set_value,
    .set_array = api_set_array,
    .set_map = api_set_map,
    .set_struct = api_set_struct,
    .slot_item = api_slot_item,
    .slot_key = api_slot_key,
    .slot_value = api_slot_value,
    .slot_field = api_slot_field,
    .error = api_error,
    .register_table = api_register_table,
};
