/* Aggregate built-ins: COUNT, SUM, AVG, MIN, MAX, COUNT_DISTINCT,
 * COLLECT_LIST, COLLECT_SET, TOPK, TOPKDISTINCT, EARLIEST_BY_OFFSET,
 * LATEST_BY_OFFSET, STDDEV_SAMP and HISTOGRAM.
 *
 * States are plain values the codecs can store: a number, an ARRAY, or a
 * MAP (never a STRUCT, whose values would need a type pointer). A new
 * state is built in cx->arena and may share elements with the old state
 * and with the row's arguments; the engine copies it (mp_value_copy)
 * before it releases either.
 *
 * Parameters that must be literals (TOPK's k, LATEST_BY_OFFSET's n and
 * ignoreNulls) are read from `lits` at bind time and carried in impl.data
 * as an integer (MP_FN_AGG_PARAM): mp_agg_impl has no destructor, so bind
 * cannot allocate. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include "core/clock.h"
#include "sql/fn_builtin.h"

#define MP_FN_AGG_PARAM(v) ((const void *)(uintptr_t)(v))
#define MP_FN_AGG_GET(d) ((uint64_t)(uintptr_t)(d))

/* HISTOGRAM counts at most this many distinct values, as ksqlDB. */
#define HISTOGRAM_LIMIT 1000

static int agg_set(mp_agg_impl *out, mp_type *state, mp_type *ret, const char *name, mp_error *e)
{
    if (!state || !ret) {
        mp_type_free(state);
        mp_type_free(ret);
        return mp_error_set(e, MP_ENOMEM, "%s: out of memory", name);
    }
    out->state_type = state;
    out->ret = ret;
    return 0;
}

static bool comparable_kind(mp_type_kind k)
{
    return mp_type_kind_is_numeric(k) || k == MP_TYPE_STRING || k == MP_TYPE_BYTES ||
           k == MP_TYPE_TIMESTAMP || k == MP_TYPE_DATE || k == MP_TYPE_TIME;
}

/* A new array holding the first n items of old followed by extra (may be NULL). */
static int array_plus(mp_fn_ctx *cx, const mp_value *old, size_t n, const mp_value *extra,
                      mp_value *out)
{
    mp_value arr;
    if (mp_v_array(cx->arena, n + (extra ? 1 : 0), NULL, &arr))
        return mp_fn_oom(cx);
    if (n)
        memcpy(arr.u.items, old->u.items, n * sizeof *arr.u.items);
    if (extra)
        arr.u.items[n] = *extra;
    *out = arr;
    return 0;
}

static bool array_has(const mp_value *arr, const mp_value *v)
{
    for (uint32_t i = 0; i < arr->len; i++)
        if (mp_value_equal(&arr->u.items[i], v))
            return true;
    return false;
}

/* ---- COUNT ---- */

static int count_init(mp_fn_ctx *cx, mp_value *s, const void *d)
{
    *s = mp_v_bigint(0);
    return 0;
}

static int count_add(mp_fn_ctx *cx, mp_value *s, const mp_value *a, size_t n, const void *d)
{
    if (n == 0 || !a[0].null)
        s->u.i64++;
    return 0;
}

static int count_merge(mp_fn_ctx *cx, mp_value *s, const mp_value *o, const void *d)
{
    s->u.i64 += o->u.i64;
    return 0;
}

static int count_undo(mp_fn_ctx *cx, mp_value *s, const mp_value *a, size_t n, const void *d)
{
    if (n == 0 || !a[0].null)
        s->u.i64--;
    return 0;
}

static int identity_result(mp_fn_ctx *cx, const mp_value *s, mp_value *out, const void *d)
{
    *out = *s;
    return 0;
}

static int bind_count(const mp_type *const *args, const mp_value *const *lits, size_t n,
                      mp_agg_impl *out, mp_error *e)
{
    if (n > 1)
        return mp_fn_bind_refuse(e, "COUNT", args, n, "COUNT(*), COUNT(T)");
    *out = (mp_agg_impl){0};
    out->init = count_init;
    out->add = count_add;
    out->merge = count_merge;
    out->undo = count_undo;
    out->result = identity_result;
    return agg_set(out, mp_fn_type(MP_TYPE_BIGINT), mp_fn_type(MP_TYPE_BIGINT), "COUNT", e);
}

/* ---- SUM ---- */

static int sum_init(mp_fn_ctx *cx, mp_value *s, const void *d)
{
    const mp_type *rt = d;
    switch (rt->kind) {
    case MP_TYPE_INTEGER: *s = mp_v_int(0); break;
    case MP_TYPE_BIGINT: *s = mp_v_bigint(0); break;
    case MP_TYPE_DOUBLE: *s = mp_v_double(0); break;
    default: {
        mp_decimal z = {0, rt->precision, rt->scale};
        *s = mp_v_decimal(&z);
        break;
    }
    }
    return 0;
}

static int sum_fold(mp_fn_ctx *cx, mp_value *s, const mp_value *x)
{
    switch (s->kind) {
    case MP_TYPE_INTEGER:
        /* Java int arithmetic wraps */
        s->u.i32 = (int32_t)((uint32_t)s->u.i32 + (uint32_t)x->u.i32);
        return 0;
    case MP_TYPE_BIGINT:
        s->u.i64 = (int64_t)((uint64_t)s->u.i64 + (uint64_t)mp_fn_num_int64(x));
        return 0;
    case MP_TYPE_DOUBLE: s->u.f64 += mp_fn_num_double(x); return 0;
    default: {
        mp_decimal a = mp_v_get_decimal(s), b = mp_fn_num_decimal(x), r;
        mp_decimal w = {a.unscaled, MP_DECIMAL_MAX_PRECISION, a.scale};
        mp_decimal bx;
        int rc = mp_decimal_rescale(&b, MP_DECIMAL_MAX_PRECISION, a.scale, MP_ROUND_UNNECESSARY,
                                    &bx, cx->e);
        if (!rc) {
            r.unscaled = w.unscaled + bx.unscaled;
            r.precision = a.precision;
            r.scale = a.scale;
            mp_i128 lim = mp_i128_pow10(a.precision);
            if (r.unscaled >= lim || r.unscaled <= -lim)
                rc = 1;
        }
        if (rc) {
            char txt[MP_DECIMAL_STR_MAX];
            mp_decimal_format(&a, txt);
            return mp_fn_fail(cx, MP_EINPUT, "SUM",
                              "Numeric field overflow: A field with precision %d and scale %d must "
                              "round to an absolute value less than 10^%d (adding to %s)",
                              a.precision, a.scale, a.precision - a.scale, txt);
        }
        *s = mp_v_decimal(&r);
        return 0;
    }
    }
}

static int sum_add(mp_fn_ctx *cx, mp_value *s, const mp_value *a, size_t n, const void *d)
{
    return a[0].null ? 0 : sum_fold(cx, s, &a[0]);
}

static int sum_merge(mp_fn_ctx *cx, mp_value *s, const mp_value *o, const void *d)
{
    return sum_fold(cx, s, o);
}

/* Adds -x: the same wrapping (and decimal overflow check) as adding. */
static int sum_undo(mp_fn_ctx *cx, mp_value *s, const mp_value *a, size_t n, const void *d)
{
    if (a[0].null)
        return 0;
    mp_value nx;
    switch (s->kind) {
    case MP_TYPE_INTEGER: nx = mp_v_int((int32_t)(0u - (uint32_t)a[0].u.i32)); break;
    case MP_TYPE_BIGINT: nx = mp_v_bigint((int64_t)(0u - (uint64_t)mp_fn_num_int64(&a[0]))); break;
    case MP_TYPE_DOUBLE: nx = mp_v_double(-mp_fn_num_double(&a[0])); break;
    default: {
        mp_decimal x = mp_fn_num_decimal(&a[0]);
        x.unscaled = -x.unscaled;
        nx = mp_v_decimal(&x);
        break;
    }
    }
    return sum_fold(cx, s, &nx);
}

static int bind_sum(const mp_type *const *args, const mp_value *const *lits, size_t n,
                    mp_agg_impl *out, mp_error *e)
{
    if (n != 1 || !mp_type_kind_is_numeric(args[0]->kind))
        return mp_fn_bind_refuse(e, "SUM", args, n,
                                 "SUM(INTEGER), SUM(BIGINT), SUM(DECIMAL), SUM(DOUBLE)");
    *out = (mp_agg_impl){0};
    out->init = sum_init;
    out->add = sum_add;
    out->merge = sum_merge;
    out->undo = sum_undo;
    out->result = identity_result;
    int rc = agg_set(out, mp_type_clone(args[0]), mp_type_clone(args[0]), "SUM", e);
    out->data = out->ret;
    return rc;
}

/* ---- AVG: state [sum, count] as BIGINTs (integers) or DOUBLEs ---- */

static int pair_init(mp_fn_ctx *cx, mp_value *s, const void *d)
{
    const mp_type *st = d;
    if (mp_v_array(cx->arena, 2, st->elem, s))
        return mp_fn_oom(cx);
    bool dbl = st->elem->kind == MP_TYPE_DOUBLE;
    s->u.items[0] = dbl ? mp_v_double(0) : mp_v_bigint(0);
    s->u.items[1] = dbl ? mp_v_double(0) : mp_v_bigint(0);
    return 0;
}

static int avg_add(mp_fn_ctx *cx, mp_value *s, const mp_value *a, size_t n, const void *d)
{
    if (a[0].null)
        return 0;
    mp_value nv;
    if (array_plus(cx, s, 2, NULL, &nv))
        return mp_fn_oom(cx);
    if (nv.u.items[0].kind == MP_TYPE_DOUBLE) {
        nv.u.items[0].u.f64 += mp_fn_num_double(&a[0]);
        nv.u.items[1].u.f64 += 1;
    } else {
        nv.u.items[0].u.i64 =
            (int64_t)((uint64_t)nv.u.items[0].u.i64 + (uint64_t)mp_fn_num_int64(&a[0]));
        nv.u.items[1].u.i64++;
    }
    *s = nv;
    return 0;
}

static int avg_merge(mp_fn_ctx *cx, mp_value *s, const mp_value *o, const void *d)
{
    mp_value nv;
    if (array_plus(cx, s, 2, NULL, &nv))
        return mp_fn_oom(cx);
    for (int i = 0; i < 2; i++) {
        if (nv.u.items[i].kind == MP_TYPE_DOUBLE)
            nv.u.items[i].u.f64 += o->u.items[i].u.f64;
        else
            nv.u.items[i].u.i64 =
                (int64_t)((uint64_t)nv.u.items[i].u.i64 + (uint64_t)o->u.items[i].u.i64);
    }
    *s = nv;
    return 0;
}

static int avg_undo(mp_fn_ctx *cx, mp_value *s, const mp_value *a, size_t n, const void *d)
{
    if (a[0].null)
        return 0;
    mp_value nv;
    if (array_plus(cx, s, 2, NULL, &nv))
        return mp_fn_oom(cx);
    if (nv.u.items[0].kind == MP_TYPE_DOUBLE) {
        nv.u.items[0].u.f64 -= mp_fn_num_double(&a[0]);
        nv.u.items[1].u.f64 -= 1;
    } else {
        nv.u.items[0].u.i64 =
            (int64_t)((uint64_t)nv.u.items[0].u.i64 - (uint64_t)mp_fn_num_int64(&a[0]));
        nv.u.items[1].u.i64--;
    }
    *s = nv;
    return 0;
}

/* ksqlDB returns 0.0 (not NULL) when nothing was averaged. */
static int avg_result(mp_fn_ctx *cx, const mp_value *s, mp_value *out, const void *d)
{
    double sum = mp_fn_num_double(&s->u.items[0]), count = mp_fn_num_double(&s->u.items[1]);
    *out = mp_v_double(count == 0 ? 0.0 : sum / count);
    return 0;
}

static int bind_avg(const mp_type *const *args, const mp_value *const *lits, size_t n,
                    mp_agg_impl *out, mp_error *e)
{
    if (n != 1 || !mp_type_kind_is_numeric(args[0]->kind))
        return mp_fn_bind_refuse(e, "AVG", args, n, "AVG(INTEGER), AVG(BIGINT), AVG(DOUBLE)");
    bool integral = args[0]->kind == MP_TYPE_INTEGER || args[0]->kind == MP_TYPE_BIGINT;
    *out = (mp_agg_impl){0};
    out->init = pair_init;
    out->add = avg_add;
    out->merge = avg_merge;
    out->undo = avg_undo;
    out->result = avg_result;
    mp_type *el = mp_fn_type(integral ? MP_TYPE_BIGINT : MP_TYPE_DOUBLE);
    int rc = agg_set(out, el ? mp_type_new_array(el) : NULL, mp_fn_type(MP_TYPE_DOUBLE), "AVG", e);
    out->data = out->state_type;
    return rc;
}

/* ---- STDDEV_SAMP: state [count, sum, m2] (Youngs-Cramer, as ksqlDB) ---- */

static int triple_init(mp_fn_ctx *cx, mp_value *s, const void *d)
{
    if (mp_v_array(cx->arena, 3, NULL, s))
        return mp_fn_oom(cx);
    for (int i = 0; i < 3; i++)
        s->u.items[i] = mp_v_double(0);
    return 0;
}

static int stddev_add(mp_fn_ctx *cx, mp_value *s, const mp_value *a, size_t n, const void *d)
{
    if (a[0].null)
        return 0;
    double x = mp_fn_num_double(&a[0]);
    double count = s->u.items[0].u.f64, sum = s->u.items[1].u.f64, m2 = s->u.items[2].u.f64;
    double nc = count + 1;
    if (count > 0) {
        double delta = x * nc - (sum + x);
        m2 += delta * delta / (nc * (nc - 1));
    }
    mp_value nv;
    if (triple_init(cx, &nv, d))
        return mp_fn_oom(cx);
    nv.u.items[0].u.f64 = nc;
    nv.u.items[1].u.f64 = sum + x;
    nv.u.items[2].u.f64 = m2;
    *s = nv;
    return 0;
}

static int stddev_merge(mp_fn_ctx *cx, mp_value *s, const mp_value *o, const void *d)
{
    double c1 = s->u.items[0].u.f64, s1 = s->u.items[1].u.f64, m1 = s->u.items[2].u.f64;
    double c2 = o->u.items[0].u.f64, s2 = o->u.items[1].u.f64, m2 = o->u.items[2].u.f64;
    double m = m1 + m2;
    if (c1 > 0 && c2 > 0) {
        double inner = s1 / c1 - s2 / c2;
        m += c1 * c2 * inner * inner / (c1 + c2);
    }
    mp_value nv;
    if (triple_init(cx, &nv, d))
        return mp_fn_oom(cx);
    nv.u.items[0].u.f64 = c1 + c2;
    nv.u.items[1].u.f64 = s1 + s2;
    nv.u.items[2].u.f64 = m;
    *s = nv;
    return 0;
}

/* The inverse of stddev_add's step: with the value's count and sum still
 * in the state, the m2 it added is known exactly. */
static int stddev_undo(mp_fn_ctx *cx, mp_value *s, const mp_value *a, size_t n, const void *d)
{
    if (a[0].null)
        return 0;
    double x = mp_fn_num_double(&a[0]);
    double count = s->u.items[0].u.f64, sum = s->u.items[1].u.f64, m2 = s->u.items[2].u.f64;
    mp_value nv;
    if (triple_init(cx, &nv, d))
        return mp_fn_oom(cx);
    if (count > 1) {
        double delta = x * count - sum;
        m2 -= delta * delta / (count * (count - 1));
        nv.u.items[0].u.f64 = count - 1;
        nv.u.items[1].u.f64 = sum - x;
        nv.u.items[2].u.f64 = m2 > 0 ? m2 : 0;
    }
    *s = nv;
    return 0;
}

/* The documented sample standard deviation: sqrt(m2 / (n - 1)), 0 for
 * fewer than two values (ksqlDB's code returns the variance itself). */
static int stddev_result(mp_fn_ctx *cx, const mp_value *s, mp_value *out, const void *d)
{
    double count = s->u.items[0].u.f64, m2 = s->u.items[2].u.f64;
    *out = mp_v_double(count < 2 ? 0.0 : sqrt(m2 / (count - 1)));
    return 0;
}

static int bind_stddev(const mp_type *const *args, const mp_value *const *lits, size_t n,
                       mp_agg_impl *out, mp_error *e)
{
    if (n != 1 || !mp_type_kind_is_numeric(args[0]->kind))
        return mp_fn_bind_refuse(e, "STDDEV_SAMP", args, n,
                                 "STDDEV_SAMP(INTEGER), STDDEV_SAMP(BIGINT), STDDEV_SAMP(DOUBLE)");
    *out = (mp_agg_impl){0};
    out->init = triple_init;
    out->add = stddev_add;
    out->merge = stddev_merge;
    out->undo = stddev_undo;
    out->result = stddev_result;
    mp_type *el = mp_fn_type(MP_TYPE_DOUBLE);
    return agg_set(out, el ? mp_type_new_array(el) : NULL, mp_fn_type(MP_TYPE_DOUBLE),
                   "STDDEV_SAMP", e);
}

/* ---- MIN, MAX ---- */

static int null_init(mp_fn_ctx *cx, mp_value *s, const void *d)
{
    *s = mp_v_null_of(d);
    return 0;
}

static int extreme_fold(mp_value *s, const mp_value *x, int want)
{
    if (x->null)
        return 0;
    if (s->null || mp_value_cmp(x, s) * want > 0)
        *s = *x;
    return 0;
}

static int max_add(mp_fn_ctx *cx, mp_value *s, const mp_value *a, size_t n, const void *d)
{
    return extreme_fold(s, &a[0], 1);
}
static int max_merge(mp_fn_ctx *cx, mp_value *s, const mp_value *o, const void *d)
{
    return extreme_fold(s, o, 1);
}
static int min_add(mp_fn_ctx *cx, mp_value *s, const mp_value *a, size_t n, const void *d)
{
    return extreme_fold(s, &a[0], -1);
}
static int min_merge(mp_fn_ctx *cx, mp_value *s, const mp_value *o, const void *d)
{
    return extreme_fold(s, o, -1);
}

static int bind_extreme(const char *name, bool max, const mp_type *const *args, size_t n,
                        mp_agg_impl *out, mp_error *e)
{
    char alts[160];
    snprintf(alts, sizeof alts, "%s(T) for T a number, STRING, BYTES, TIMESTAMP, DATE or TIME",
             name);
    if (n != 1 || !comparable_kind(args[0]->kind))
        return mp_fn_bind_refuse(e, name, args, n, alts);
    *out = (mp_agg_impl){0};
    out->init = null_init;
    out->add = max ? max_add : min_add;
    out->merge = max ? max_merge : min_merge;
    out->result = identity_result;
    int rc = agg_set(out, mp_type_clone(args[0]), mp_type_clone(args[0]), name, e);
    out->data = out->ret;
    return rc;
}

static int bind_max(const mp_type *const *args, const mp_value *const *lits, size_t n,
                    mp_agg_impl *out, mp_error *e)
{
    return bind_extreme("MAX", true, args, n, out, e);
}
static int bind_min(const mp_type *const *args, const mp_value *const *lits, size_t n,
                    mp_agg_impl *out, mp_error *e)
{
    return bind_extreme("MIN", false, args, n, out, e);
}

/* ---- arrays as states: COLLECT_LIST, COLLECT_SET, COUNT_DISTINCT ---- */

static int empty_array_init(mp_fn_ctx *cx, mp_value *s, const void *d)
{
    if (mp_v_array(cx->arena, 0, NULL, s))
        return mp_fn_oom(cx);
    return 0;
}

static int collect_list_add(mp_fn_ctx *cx, mp_value *s, const mp_value *a, size_t n, const void *d)
{
    return array_plus(cx, s, s->len, &a[0], s);
}

/* Removes the last occurrence of the value, as ksqlDB's undo does. */
static int collect_list_undo(mp_fn_ctx *cx, mp_value *s, const mp_value *a, size_t n,
                             const void *d)
{
    for (uint32_t i = s->len; i-- > 0;) {
        if (!mp_value_equal(&s->u.items[i], &a[0]))
            continue;
        mp_value arr;
        if (mp_v_array(cx->arena, s->len - 1u, NULL, &arr))
            return mp_fn_oom(cx);
        memcpy(arr.u.items, s->u.items, i * sizeof *arr.u.items);
        memcpy(arr.u.items + i, s->u.items + i + 1, (s->len - i - 1u) * sizeof *arr.u.items);
        *s = arr;
        return 0;
    }
    return 0;
}

static int concat_merge(mp_fn_ctx *cx, mp_value *s, const mp_value *o, const void *d)
{
    mp_value arr;
    if (mp_v_array(cx->arena, (size_t)s->len + o->len, NULL, &arr))
        return mp_fn_oom(cx);
    memcpy(arr.u.items, s->u.items, s->len * sizeof *arr.u.items);
    memcpy(arr.u.items + s->len, o->u.items, o->len * sizeof *arr.u.items);
    *s = arr;
    return 0;
}

/* COLLECT_SET keeps NULL as a value, as ksqlDB's List.contains does. */
static int collect_set_add(mp_fn_ctx *cx, mp_value *s, const mp_value *a, size_t n, const void *d)
{
    if (array_has(s, &a[0]))
        return 0;
    return array_plus(cx, s, s->len, &a[0], s);
}

static int set_merge(mp_fn_ctx *cx, mp_value *s, const mp_value *o, const void *d)
{
    for (uint32_t i = 0; i < o->len; i++) {
        if (array_has(s, &o->u.items[i]))
            continue;
        int rc = array_plus(cx, s, s->len, &o->u.items[i], s);
        if (rc)
            return rc;
    }
    return 0;
}

/* COUNT_DISTINCT counts exactly (ksqlDB estimates with HyperLogLog); the
 * state is the distinct non-NULL values seen. */
static int count_distinct_add(mp_fn_ctx *cx, mp_value *s, const mp_value *a, size_t n,
                              const void *d)
{
    if (a[0].null || array_has(s, &a[0]))
        return 0;
    return array_plus(cx, s, s->len, &a[0], s);
}

static int count_distinct_result(mp_fn_ctx *cx, const mp_value *s, mp_value *out, const void *d)
{
    *out = mp_v_bigint(s->len);
    return 0;
}

static int bind_array_state(
    const char *name, const mp_type *const *args, size_t n, mp_agg_impl *out, mp_error *e,
    int (*add)(mp_fn_ctx *, mp_value *, const mp_value *, size_t, const void *),
    int (*merge)(mp_fn_ctx *, mp_value *, const mp_value *, const void *), bool count_result)
{
    char alts[48];
    snprintf(alts, sizeof alts, "%s(T)", name);
    if (n != 1 || args[0]->kind == MP_TYPE_NULL)
        return mp_fn_bind_refuse(e, name, args, n, alts);
    *out = (mp_agg_impl){0};
    out->init = empty_array_init;
    out->add = add;
    out->merge = merge;
    out->result = count_result ? count_distinct_result : identity_result;
    mp_type *el = mp_type_clone(args[0]);
    mp_type *st = el ? mp_type_new_array(el) : NULL;
    return agg_set(out, st, count_result ? mp_fn_type(MP_TYPE_BIGINT) : mp_type_clone(st), name, e);
}

static int bind_collect_list(const mp_type *const *args, const mp_value *const *lits, size_t n,
                             mp_agg_impl *out, mp_error *e)
{
    int rc = bind_array_state("COLLECT_LIST", args, n, out, e, collect_list_add, concat_merge, false);
    if (!rc)
        out->undo = collect_list_undo;
    return rc;
}
static int bind_collect_set(const mp_type *const *args, const mp_value *const *lits, size_t n,
                            mp_agg_impl *out, mp_error *e)
{
    return bind_array_state("COLLECT_SET", args, n, out, e, collect_set_add, set_merge, false);
}
static int bind_count_distinct(const mp_type *const *args, const mp_value *const *lits, size_t n,
                               mp_agg_impl *out, mp_error *e)
{
    return bind_array_state("COUNT_DISTINCT", args, n, out, e, count_distinct_add, set_merge, true);
}

/* ---- TOPK, TOPKDISTINCT: the k largest, descending ---- */

static int topk_insert(mp_fn_ctx *cx, mp_value *s, const mp_value *x, size_t k, bool distinct)
{
    if (x->null)
        return 0;
    if (distinct && array_has(s, x))
        return 0;
    size_t len = s->len;
    if (len == k && mp_value_cmp(x, &s->u.items[len - 1]) <= 0)
        return 0;
    /* position: after every element >= x (stable for equal values) */
    size_t pos = 0;
    while (pos < len && mp_value_cmp(&s->u.items[pos], x) >= 0)
        pos++;
    size_t nl = len < k ? len + 1 : k;
    mp_value arr;
    if (mp_v_array(cx->arena, nl, NULL, &arr))
        return mp_fn_oom(cx);
    memcpy(arr.u.items, s->u.items, pos * sizeof *arr.u.items);
    arr.u.items[pos] = *x;
    if (nl > pos + 1)
        memcpy(arr.u.items + pos + 1, s->u.items + pos, (nl - pos - 1) * sizeof *arr.u.items);
    *s = arr;
    return 0;
}

static int topk_add(mp_fn_ctx *cx, mp_value *s, const mp_value *a, size_t n, const void *d)
{
    return topk_insert(cx, s, &a[0], (size_t)MP_FN_AGG_GET(d), false);
}
static int topk_merge(mp_fn_ctx *cx, mp_value *s, const mp_value *o, const void *d)
{
    for (uint32_t i = 0; i < o->len; i++) {
        int rc = topk_insert(cx, s, &o->u.items[i], (size_t)MP_FN_AGG_GET(d), false);
        if (rc)
            return rc;
    }
    return 0;
}
static int topkd_add(mp_fn_ctx *cx, mp_value *s, const mp_value *a, size_t n, const void *d)
{
    return topk_insert(cx, s, &a[0], (size_t)MP_FN_AGG_GET(d), true);
}
static int topkd_merge(mp_fn_ctx *cx, mp_value *s, const mp_value *o, const void *d)
{
    for (uint32_t i = 0; i < o->len; i++) {
        int rc = topk_insert(cx, s, &o->u.items[i], (size_t)MP_FN_AGG_GET(d), true);
        if (rc)
            return rc;
    }
    return 0;
}

static int bind_topk_common(const char *name, bool distinct, const mp_type *const *args,
                            const mp_value *const *lits, size_t n, mp_agg_impl *out, mp_error *e)
{
    char alts[128];
    snprintf(alts, sizeof alts, "%s(T, k INTEGER) for T INTEGER, BIGINT, DECIMAL, DOUBLE or STRING",
             name);
    int cost;
    if (n != 2 || !(mp_type_kind_is_numeric(args[0]->kind) || args[0]->kind == MP_TYPE_STRING) ||
        !mp_fn_kind_accepts(args[1], MP_TYPE_INTEGER, &cost))
        return mp_fn_bind_refuse(e, name, args, n, alts);
    int64_t k;
    if (!mp_fn_lit_int(lits, 1, &k))
        return mp_error_set(e, MP_EINVAL, "%s: k must be an INTEGER literal", name);
    if (k < 1 || k > 100000)
        return mp_error_set(e, MP_EINVAL, "%s: k must be between 1 and 100000, not %lld", name,
                            (long long)k);
    *out = (mp_agg_impl){0};
    out->init = empty_array_init;
    out->add = distinct ? topkd_add : topk_add;
    out->merge = distinct ? topkd_merge : topk_merge;
    out->result = identity_result;
    out->data = MP_FN_AGG_PARAM(k);
    mp_type *el = mp_type_clone(args[0]);
    mp_type *st = el ? mp_type_new_array(el) : NULL;
    return agg_set(out, st, mp_type_clone(st), name, e);
}

static int bind_topk(const mp_type *const *args, const mp_value *const *lits, size_t n,
                     mp_agg_impl *out, mp_error *e)
{
    return bind_topk_common("TOPK", false, args, lits, n, out, e);
}
static int bind_topkdistinct(const mp_type *const *args, const mp_value *const *lits, size_t n,
                             mp_agg_impl *out, mp_error *e)
{
    return bind_topk_common("TOPKDISTINCT", true, args, lits, n, out, e);
}

/* ---- EARLIEST_BY_OFFSET, LATEST_BY_OFFSET ----
 *
 * The engine passes rows in offset order, so "earliest" is the first value
 * folded in and "latest" the last. To merge two states (session windows)
 * the order the values were folded in must survive, so the state is a
 * MAP<STRING, T> from a process-wide sequence number to the value, oldest
 * first; like ksqlDB's, the sequence restarts with the process (here from
 * the wall clock, so it keeps increasing across restarts). The number is
 * written as 20 zero-padded digits, so the strings order as the numbers
 * do, and a changelog's JSON (whose maps have STRING keys) can hold it. */

static atomic_uint_fast64_t seq_next;

static int next_seq(mp_fn_ctx *cx, mp_value *out)
{
    uint_fast64_t cur = atomic_load(&seq_next);
    if (cur == 0) {
        uint_fast64_t start = (uint_fast64_t)mp_clock_wall_ms() << 20;
        atomic_compare_exchange_strong(&seq_next, &cur, start);
    }
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%020llu", (unsigned long long)atomic_fetch_add(&seq_next, 1));
    if (mp_v_string(cx->arena, buf, (size_t)n, out))
        return mp_fn_oom(cx);
    return 0;
}

/* impl.data: bit 0 ignoreNulls, bits 1-4 the value's kind (for a typed
 * NULL result), bits 5 and up n (0 for the single-value forms). */
#define OFFSET_N(d) ((size_t)(MP_FN_AGG_GET(d) >> 5))
#define OFFSET_IGNORE(d) ((MP_FN_AGG_GET(d) & 1) != 0)
#define OFFSET_KIND(d) ((mp_type_kind)((MP_FN_AGG_GET(d) >> 1) & 15))

static int empty_map_init(mp_fn_ctx *cx, mp_value *s, const void *d)
{
    if (mp_v_map(cx->arena, 0, NULL, NULL, s))
        return mp_fn_oom(cx);
    return 0;
}

/* Entries [from, from + count) of map m plus an optional new one at the end. */
static int map_slice(mp_fn_ctx *cx, const mp_value *m, size_t from, size_t count,
                     const mp_value *key, const mp_value *val, mp_value *out)
{
    size_t total = count + (key ? 1 : 0);
    mp_value nm;
    if (mp_v_map(cx->arena, total, NULL, NULL, &nm))
        return mp_fn_oom(cx);
    if (count)
        memcpy(nm.u.items, m->u.items + 2 * from, 2 * count * sizeof *nm.u.items);
    if (key) {
        nm.u.items[2 * count] = *key;
        nm.u.items[2 * count + 1] = *val;
    }
    *out = nm;
    return 0;
}

static int earliest_add(mp_fn_ctx *cx, mp_value *s, const mp_value *a, size_t n, const void *d)
{
    size_t cap = OFFSET_N(d) ? OFFSET_N(d) : 1;
    if ((a[0].null && OFFSET_IGNORE(d)) || s->len >= cap)
        return 0;
    mp_value key;
    int rc = next_seq(cx, &key);
    if (rc)
        return rc;
    return map_slice(cx, s, 0, s->len, &key, &a[0], s);
}

static int latest_add(mp_fn_ctx *cx, mp_value *s, const mp_value *a, size_t n, const void *d)
{
    size_t cap = OFFSET_N(d) ? OFFSET_N(d) : 1;
    if (a[0].null && OFFSET_IGNORE(d))
        return 0;
    mp_value key;
    int rc = next_seq(cx, &key);
    if (rc)
        return rc;
    size_t keep = s->len < cap ? s->len : cap - 1;
    return map_slice(cx, s, s->len - keep, keep, &key, &a[0], s);
}

/* Both states' entries by sequence, keeping the first (earliest) or last
 * (latest) cap of them. */
static int offset_merge(mp_fn_ctx *cx, mp_value *s, const mp_value *o, size_t cap, bool latest)
{
    size_t total = (size_t)s->len + o->len;
    mp_value all;
    if (mp_v_map(cx->arena, total, NULL, NULL, &all))
        return mp_fn_oom(cx);
    size_t i = 0, j = 0, k = 0;
    while (i < s->len || j < o->len) {
        bool take_s =
            j >= o->len || (i < s->len && mp_value_cmp(&s->u.items[2 * i], &o->u.items[2 * j]) <= 0);
        const mp_value *src = take_s ? &s->u.items[2 * i++] : &o->u.items[2 * j++];
        all.u.items[2 * k] = src[0];
        all.u.items[2 * k + 1] = src[1];
        k++;
    }
    size_t keep = total < cap ? total : cap;
    return map_slice(cx, &all, latest ? total - keep : 0, keep, NULL, NULL, s);
}

static int earliest_merge(mp_fn_ctx *cx, mp_value *s, const mp_value *o, const void *d)
{
    return offset_merge(cx, s, o, OFFSET_N(d) ? OFFSET_N(d) : 1, false);
}
static int latest_merge(mp_fn_ctx *cx, mp_value *s, const mp_value *o, const void *d)
{
    return offset_merge(cx, s, o, OFFSET_N(d) ? OFFSET_N(d) : 1, true);
}

static int offset_result_one(mp_fn_ctx *cx, const mp_value *s, mp_value *out, const void *d)
{
    if (s->len == 0)
        *out = mp_v_null(OFFSET_KIND(d));
    else
        *out = s->u.items[1];
    return 0;
}

static int offset_result_n(mp_fn_ctx *cx, const mp_value *s, mp_value *out, const void *d)
{
    mp_value arr;
    if (mp_v_array(cx->arena, s->len, NULL, &arr))
        return mp_fn_oom(cx);
    for (uint32_t i = 0; i < s->len; i++)
        arr.u.items[i] = s->u.items[2 * i + 1];
    *out = arr;
    return 0;
}

static int bind_by_offset(const char *name, bool latest, const mp_type *const *args,
                          const mp_value *const *lits, size_t n, mp_agg_impl *out, mp_error *e)
{
    char alts[200];
    snprintf(alts, sizeof alts,
             "%s(T), %s(T, ignoreNulls BOOLEAN), %s(T, n INTEGER), "
             "%s(T, n INTEGER, ignoreNulls BOOLEAN)",
             name, name, name, name);
    if (n < 1 || n > 3 || args[0]->kind == MP_TYPE_NULL)
        return mp_fn_bind_refuse(e, name, args, n, alts);
    int64_t count = 0;
    bool ignore = true;
    int cost;
    if (n >= 2 && args[1]->kind == MP_TYPE_BOOLEAN && n == 2) {
        if (!mp_fn_lit_bool(lits, 1, &ignore))
            return mp_error_set(e, MP_EINVAL, "%s: ignoreNulls must be a BOOLEAN literal", name);
    } else if (n >= 2) {
        if (!mp_fn_kind_accepts(args[1], MP_TYPE_INTEGER, &cost) ||
            (n == 3 && args[2]->kind != MP_TYPE_BOOLEAN))
            return mp_fn_bind_refuse(e, name, args, n, alts);
        if (!mp_fn_lit_int(lits, 1, &count))
            return mp_error_set(e, MP_EINVAL, "%s: n must be an INTEGER literal", name);
        if (count < 1 || count > 100000)
            return mp_error_set(e, MP_EINVAL, "%s: n must be between 1 and 100000, not %lld", name,
                                (long long)count);
        if (n == 3 && !mp_fn_lit_bool(lits, 2, &ignore))
            return mp_error_set(e, MP_EINVAL, "%s: ignoreNulls must be a BOOLEAN literal", name);
    }
    *out = (mp_agg_impl){0};
    out->init = empty_map_init;
    out->add = latest ? latest_add : earliest_add;
    out->merge = latest ? latest_merge : earliest_merge;
    out->result = count ? offset_result_n : offset_result_one;
    out->data = MP_FN_AGG_PARAM(((uint64_t)count << 5) | ((uint64_t)args[0]->kind << 1) |
                                (ignore ? 1u : 0u));
    mp_type *k = mp_fn_type(MP_TYPE_STRING), *v = mp_type_clone(args[0]);
    mp_type *st = k && v ? mp_type_new_map(k, v) : NULL;
    if (!(k && v)) {
        mp_type_free(k);
        mp_type_free(v);
    }
    mp_type *ret = mp_type_clone(args[0]);
    if (count && ret)
        ret = mp_type_new_array(ret);
    return agg_set(out, st, ret, name, e);
}

static int bind_earliest(const mp_type *const *args, const mp_value *const *lits, size_t n,
                         mp_agg_impl *out, mp_error *e)
{
    return bind_by_offset("EARLIEST_BY_OFFSET", false, args, lits, n, out, e);
}
static int bind_latest(const mp_type *const *args, const mp_value *const *lits, size_t n,
                       mp_agg_impl *out, mp_error *e)
{
    return bind_by_offset("LATEST_BY_OFFSET", true, args, lits, n, out, e);
}

/* ---- HISTOGRAM ---- */

static int histogram_bump(mp_fn_ctx *cx, mp_value *s, const mp_value *key, int64_t by)
{
    for (uint32_t i = 0; i < s->len; i++) {
        if (mp_value_equal(&s->u.items[2 * i], key)) {
            mp_value nm;
            int rc = map_slice(cx, s, 0, s->len, NULL, NULL, &nm);
            if (rc)
                return rc;
            nm.u.items[2 * i + 1].u.i64 += by;
            *s = nm;
            return 0;
        }
    }
    if (s->len >= HISTOGRAM_LIMIT)
        return 0; /* ksqlDB ignores values past the limit */
    mp_value cnt = mp_v_bigint(by);
    return map_slice(cx, s, 0, s->len, key, &cnt, s);
}

/* NULL values are not counted (ksqlDB would count them under a NULL key,
 * which a MAP<STRING, BIGINT> cannot be written with). */
static int histogram_add(mp_fn_ctx *cx, mp_value *s, const mp_value *a, size_t n, const void *d)
{
    return a[0].null ? 0 : histogram_bump(cx, s, &a[0], 1);
}

static int histogram_merge(mp_fn_ctx *cx, mp_value *s, const mp_value *o, const void *d)
{
    for (uint32_t i = 0; i < o->len; i++) {
        int rc = histogram_bump(cx, s, &o->u.items[2 * i], o->u.items[2 * i + 1].u.i64);
        if (rc)
            return rc;
    }
    return 0;
}

/* One occurrence fewer; a value counted no more leaves the map (ksqlDB). */
static int histogram_undo(mp_fn_ctx *cx, mp_value *s, const mp_value *a, size_t n, const void *d)
{
    if (a[0].null)
        return 0;
    for (uint32_t i = 0; i < s->len; i++) {
        if (!mp_value_equal(&s->u.items[2 * i], &a[0]))
            continue;
        if (s->u.items[2 * i + 1].u.i64 > 1)
            return histogram_bump(cx, s, &a[0], -1);
        mp_value nm;
        if (mp_v_map(cx->arena, s->len - 1u, NULL, NULL, &nm))
            return mp_fn_oom(cx);
        memcpy(nm.u.items, s->u.items, 2 * i * sizeof *nm.u.items);
        memcpy(nm.u.items + 2 * i, s->u.items + 2 * (i + 1),
               2 * (s->len - i - 1u) * sizeof *nm.u.items);
        *s = nm;
        return 0;
    }
    return 0;
}

static int bind_histogram(const mp_type *const *args, const mp_value *const *lits, size_t n,
                          mp_agg_impl *out, mp_error *e)
{
    int cost;
    if (n != 1 || !mp_fn_kind_accepts(args[0], MP_TYPE_STRING, &cost))
        return mp_fn_bind_refuse(e, "HISTOGRAM", args, n, "HISTOGRAM(STRING)");
    *out = (mp_agg_impl){0};
    out->init = empty_map_init;
    out->add = histogram_add;
    out->merge = histogram_merge;
    out->undo = histogram_undo;
    out->result = identity_result;
    mp_type *k = mp_fn_type(MP_TYPE_STRING), *v = mp_fn_type(MP_TYPE_BIGINT);
    mp_type *st = k && v ? mp_type_new_map(k, v) : NULL;
    if (!(k && v)) {
        mp_type_free(k);
        mp_type_free(v);
    }
    return agg_set(out, st, mp_type_clone(st), "HISTOGRAM", e);
}

/* ---- the table ---- */

static const mp_fn_doc docs_count[] = {
    {"(*)", "BIGINT", "The number of rows."},
    {"(x T)", "BIGINT", "The number of rows where x is not NULL."},
};
static const mp_fn_doc docs_sum[] = {
    {"(x INTEGER)", "INTEGER", "The sum of the non-NULL values (0 when there are none)."},
    {"(x BIGINT)", "BIGINT", "The sum of the non-NULL values."},
    {"(x DECIMAL(p, s))", "DECIMAL(p, s)", "The sum; an error when it needs more digits."},
    {"(x DOUBLE)", "DOUBLE", "The sum of the non-NULL values."},
};
static const mp_fn_doc docs_avg[] = {
    {"(x INTEGER|BIGINT|DOUBLE)", "DOUBLE",
     "The mean of the non-NULL values (0.0 when there are none)."}};
static const mp_fn_doc docs_min[] = {{"(x T)", "T", "The smallest non-NULL value."}};
static const mp_fn_doc docs_max[] = {{"(x T)", "T", "The largest non-NULL value."}};
static const mp_fn_doc docs_count_distinct[] = {
    {"(x T)", "BIGINT", "The number of distinct non-NULL values, counted exactly."}};
static const mp_fn_doc docs_collect_list[] = {
    {"(x T)", "ARRAY<T>", "Every value (NULLs included) in arrival order."}};
static const mp_fn_doc docs_collect_set[] = {
    {"(x T)", "ARRAY<T>", "The distinct values (NULL included once) in order of first arrival."}};
static const mp_fn_doc docs_topk[] = {
    {"(x T, k INTEGER)", "ARRAY<T>", "The k largest non-NULL values, largest first."}};
static const mp_fn_doc docs_topkdistinct[] = {
    {"(x T, k INTEGER)", "ARRAY<T>", "The k largest distinct non-NULL values, largest first."}};
static const mp_fn_doc docs_earliest[] = {
    {"(x T)", "T", "The first non-NULL value by offset."},
    {"(x T, ignoreNulls BOOLEAN)", "T", "The first value by offset, NULLs counted unless ignored."},
    {"(x T, n INTEGER)", "ARRAY<T>", "The first n non-NULL values by offset."},
    {"(x T, n INTEGER, ignoreNulls BOOLEAN)", "ARRAY<T>", "The first n values by offset."},
};
static const mp_fn_doc docs_latest[] = {
    {"(x T)", "T", "The last non-NULL value by offset."},
    {"(x T, ignoreNulls BOOLEAN)", "T", "The last value by offset, NULLs counted unless ignored."},
    {"(x T, n INTEGER)", "ARRAY<T>", "The last n non-NULL values by offset, oldest first."},
    {"(x T, n INTEGER, ignoreNulls BOOLEAN)", "ARRAY<T>", "The last n values by offset."},
};
static const mp_fn_doc docs_stddev[] = {
    {"(x INTEGER|BIGINT|DOUBLE)", "DOUBLE",
     "The sample standard deviation of the non-NULL values (0.0 for fewer than two)."}};
static const mp_fn_doc docs_histogram[] = {
    {"(x STRING)", "MAP<STRING, BIGINT>",
     "How many times each non-NULL value occurs (at most 1000 distinct values)."}};

#define AGG(NAME, desc, docs, bind)                                                                \
    {                                                                                              \
        NAME, MP_FN_AGGREGATE, "AGGREGATE", desc, docs, MP_FN_COUNT(docs), NULL, NULL, NULL, bind, \
            NULL                                                                                   \
    }

const mp_fn_def mp_fn_aggregate_defs[] = {
    AGG("COUNT", "Counts rows, or the rows where a value is not NULL.", docs_count, bind_count),
    AGG("SUM", "The sum of a column.", docs_sum, bind_sum),
    AGG("AVG", "The mean of a column.", docs_avg, bind_avg),
    AGG("MIN", "The smallest value of a column.", docs_min, bind_min),
    AGG("MAX", "The largest value of a column.", docs_max, bind_max),
    AGG("COUNT_DISTINCT", "The number of distinct values of a column.", docs_count_distinct,
        bind_count_distinct),
    AGG("COLLECT_LIST", "Every value of a column as an array.", docs_collect_list,
        bind_collect_list),
    AGG("COLLECT_SET", "The distinct values of a column as an array.", docs_collect_set,
        bind_collect_set),
    AGG("TOPK", "The k largest values of a column.", docs_topk, bind_topk),
    AGG("TOPKDISTINCT", "The k largest distinct values of a column.", docs_topkdistinct,
        bind_topkdistinct),
    AGG("EARLIEST_BY_OFFSET", "The earliest value(s) of a column by offset.", docs_earliest,
        bind_earliest),
    AGG("LATEST_BY_OFFSET", "The latest value(s) of a column by offset.", docs_latest, bind_latest),
    AGG("STDDEV_SAMP", "The sample standard deviation of a column.", docs_stddev, bind_stddev),
    AGG("HISTOGRAM", "How often each value of a column occurs.", docs_histogram, bind_histogram),
};
const size_t mp_fn_aggregate_count = MP_FN_COUNT(mp_fn_aggregate_defs);
