/* Table functions: EXPLODE, which turns an array into one row per
 * element (none for a NULL or empty array). ksqlDB documents EXPLODE for
 * arrays only, so maps are refused at bind time. */
#include "sql/fn_builtin.h"

static int explode_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value **rows, size_t *nrows,
                      const void *d)
{
    *rows = NULL;
    *nrows = 0;
    if (a[0].null || a[0].len == 0)
        return 0;
    mp_value *r = mp_arena_alloc(cx->arena, a[0].len * sizeof *r);
    if (!r)
        return mp_fn_oom(cx);
    for (uint32_t i = 0; i < a[0].len; i++)
        r[i] = a[0].u.items[i];
    *rows = r;
    *nrows = a[0].len;
    return 0;
}

static int bind_explode(const mp_type *const *args, const mp_value *const *lits, size_t n,
                        mp_table_impl *out, mp_error *e)
{
    if (n != 1 || args[0]->kind != MP_TYPE_ARRAY)
        return mp_fn_bind_refuse(e, "EXPLODE", args, n, "EXPLODE(ARRAY<T>)");
    mp_type *t = mp_type_clone(args[0]->elem);
    if (!t)
        return mp_error_set(e, MP_ENOMEM, "EXPLODE: out of memory");
    out->fn = explode_fn;
    out->ret = t;
    out->data = t;
    return 0;
}

static const mp_fn_doc docs_explode[] = {
    {"(a ARRAY<T>)", "T", "One row for each element of a, in order; none for NULL or []."}};

const mp_fn_def mp_fn_table_defs[] = {
    {"EXPLODE", MP_FN_TABLE, "TABLE", "One output row per element of an array.", docs_explode,
     MP_FN_COUNT(docs_explode), NULL, NULL, NULL, NULL, bind_explode},
};
const size_t mp_fn_table_count = MP_FN_COUNT(mp_fn_table_defs);
