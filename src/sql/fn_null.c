/* NULL handling: COALESCE, IFNULL, NULLIF. The arguments of COALESCE and
 * IFNULL may be of different numeric types: they bind to their common
 * supertype (mp_type_common) and the chosen value is widened to it. */
#include "sql/fn_builtin.h"

static int coalesce_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    const mp_type *rt = d;
    for (size_t i = 0; i < n; i++)
        if (!a[i].null)
            return mp_fn_coerce(&a[i], rt, cx->arena, out, cx->e);
    *out = mp_v_null_of(rt);
    return 0;
}

static int bind_common(const char *name, const char *alts, size_t min, size_t max, mp_scalar_fn fn,
                       const mp_type *const *args, size_t n, mp_scalar_impl *out, mp_error *e)
{
    if (n < min || n > max)
        return mp_fn_bind_refuse(e, name, args, n, alts);
    mp_type *t = NULL;
    int rc = mp_fn_common_type(name, args, n, &t, e);
    if (rc)
        return rc;
    if (t->kind == MP_TYPE_NULL) {
        mp_type_free(t);
        return mp_error_set(e, MP_EINVAL, "%s: cannot infer a type when every argument is NULL",
                            name);
    }
    out->fn = fn;
    out->ret = t;
    out->data = t;
    out->null_in_null_out = 0;
    return 0;
}

static int bind_coalesce(const mp_type *const *args, const mp_value *const *lits, size_t n,
                         mp_scalar_impl *out, mp_error *e)
{
    return bind_common("COALESCE", "COALESCE(T, T, ...)", 1, (size_t)-1, coalesce_fn, args, n, out,
                       e);
}

static int bind_ifnull(const mp_type *const *args, const mp_value *const *lits, size_t n,
                       mp_scalar_impl *out, mp_error *e)
{
    return bind_common("IFNULL", "IFNULL(T, T)", 2, 2, coalesce_fn, args, n, out, e);
}

/* NULLIF(a, b): NULL when a equals b, else a (with a's type). */
static int nullif_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    const mp_type *rt = d;
    if (a[0].null || (!a[1].null && mp_value_equal(&a[0], &a[1]))) {
        *out = mp_v_null_of(rt);
        return 0;
    }
    return mp_fn_coerce(&a[0], rt, cx->arena, out, cx->e);
}

static int bind_nullif(const mp_type *const *args, const mp_value *const *lits, size_t n,
                       mp_scalar_impl *out, mp_error *e)
{
    if (n != 2)
        return mp_fn_bind_refuse(e, "NULLIF", args, n, "NULLIF(T, T)");
    /* the two must be comparable: they need a common type */
    mp_type *t = NULL;
    int rc = mp_fn_common_type("NULLIF", args, n, &t, e);
    if (rc)
        return rc;
    if (t->kind == MP_TYPE_NULL) {
        mp_type_free(t);
        return mp_error_set(e, MP_EINVAL,
                            "NULLIF: cannot infer a type when every argument is NULL");
    }
    if (args[0]->kind != MP_TYPE_NULL) {
        mp_type_free(t);
        t = mp_type_clone(args[0]);
        if (!t)
            return mp_error_set(e, MP_ENOMEM, "NULLIF: out of memory");
    }
    out->fn = nullif_fn;
    out->ret = t;
    out->data = t;
    out->null_in_null_out = 0;
    return 0;
}

static const mp_fn_doc docs_coalesce[] = {
    {"(a T, b T, ...)", "T", "The first argument that is not NULL, NULL if all are."}};
static const mp_fn_doc docs_ifnull[] = {
    {"(expression T, alternative T)", "T", "expression, or alternative when it is NULL."}};
static const mp_fn_doc docs_nullif[] = {{"(a T, b T)", "T", "NULL when a equals b, otherwise a."}};

#define SCALAR(NAME, desc, docs, bind)                                                             \
    {                                                                                              \
        NAME, MP_FN_SCALAR, "NULL", desc, docs, MP_FN_COUNT(docs), NULL, NULL, bind, NULL, NULL    \
    }

const mp_fn_def mp_fn_null_defs[] = {
    SCALAR("COALESCE", "The first non-NULL argument.", docs_coalesce, bind_coalesce),
    SCALAR("IFNULL", "A value, or an alternative when it is NULL.", docs_ifnull, bind_ifnull),
    SCALAR("NULLIF", "NULL when two values are equal, else the first.", docs_nullif, bind_nullif),
};
const size_t mp_fn_null_count = MP_FN_COUNT(mp_fn_null_defs);
