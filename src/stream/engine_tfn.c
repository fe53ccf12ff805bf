/* Table functions in a select list: the flat map from one input row to
 * the output rows its table functions give. As ksqlDB, several table
 * functions in one SELECT are zipped: the row count is the longest
 * result's, and a shorter one gives NULL in the rows past its end; a NULL
 * or empty input gives no values (so a row whose every table function
 * gives none produces nothing). Scalar columns repeat in every row. */
#include "stream/engine_internal.h"

size_t mp_splan_row_slots(const mp_splan *p)
{
    return p->nscope + p->aggs.n + p->tfns.n;
}

int mp_splan_tfn_expand(const mp_splan *p, const mp_value *row, mp_fn_ctx *cx, mp_tfn_rows *r)
{
    r->nrows = 1;
    r->vals = NULL;
    r->cnt = NULL;
    size_t n = p->tfns.n;
    if (!n)
        return 0;
    r->nrows = 0;
    r->vals = mp_arena_alloc(cx->arena, n * sizeof *r->vals);
    r->cnt = mp_arena_alloc(cx->arena, n * sizeof *r->cnt);
    if (!r->vals || !r->cnt)
        return mp_error_set(cx->e, MP_ENOMEM, "out of memory");
    for (size_t k = 0; k < n; k++) {
        int rc = mp_sql_tfn_eval(&p->tfns, k, row, cx, &r->vals[k], &r->cnt[k]);
        if (rc) {
            r->nrows = 0;
            return rc;
        }
        if (r->cnt[k] > r->nrows)
            r->nrows = r->cnt[k];
    }
    return 0;
}

void mp_splan_tfn_row(const mp_splan *p, const mp_tfn_rows *r, size_t k, mp_value *row)
{
    for (size_t t = 0; t < p->tfns.n; t++) {
        const mp_type *ty = p->tfns.calls[t].impl.ret;
        row[p->tfns.first_slot + t] = k < r->cnt[t] ? r->vals[t][k] : mp_v_null_of(ty);
    }
}
