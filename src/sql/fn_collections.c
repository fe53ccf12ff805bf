/* ARRAY and MAP built-ins. Indexes are 1-based; set operations keep the
 * order of first occurrence and treat NULL as a value (equal to NULL), as
 * ksqlDB's List.contains does. Maps keep their entries in insertion order
 * (ksqlDB's HashMap order is unspecified; a repeated key keeps its first
 * position and takes its last value). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql/fn_builtin.h"

/* ---- bind helpers ---- */

static bool is_primitive(mp_type_kind k)
{
    return k == MP_TYPE_BOOLEAN || k == MP_TYPE_INTEGER || k == MP_TYPE_BIGINT ||
           k == MP_TYPE_DOUBLE || k == MP_TYPE_DECIMAL || k == MP_TYPE_STRING;
}

/* Sortable element kinds (ARRAY_MAX, ARRAY_MIN, ARRAY_SORT). */
static bool is_comparable(mp_type_kind k)
{
    return is_primitive(k) || k == MP_TYPE_BYTES || k == MP_TYPE_TIMESTAMP || k == MP_TYPE_DATE ||
           k == MP_TYPE_TIME;
}

static int set_impl(mp_scalar_impl *out, mp_scalar_fn fn, mp_type *ret, bool keep_nulls,
                    const char *name, mp_error *e)
{
    if (!ret)
        return mp_error_set(e, MP_ENOMEM, "%s: out of memory", name);
    out->fn = fn;
    out->ret = ret;
    out->data = ret;
    out->null_in_null_out = !keep_nulls;
    return 0;
}

/* The common ARRAY type of args[0..n) (NULL literals allowed, but not all). */
static int common_array(const char *name, const char *alts, const mp_type *const *args, size_t n,
                        mp_type **out, mp_error *e)
{
    for (size_t i = 0; i < n; i++)
        if (args[i]->kind != MP_TYPE_ARRAY && args[i]->kind != MP_TYPE_NULL)
            return mp_fn_bind_refuse(e, name, args, n, alts);
    mp_type *t = NULL;
    int rc = mp_fn_common_type(name, args, n, &t, e);
    if (rc)
        return rc;
    if (t->kind != MP_TYPE_ARRAY) {
        mp_type_free(t);
        return mp_fn_bind_refuse(e, name, args, n, alts);
    }
    *out = t;
    return 0;
}

/* ---- helpers for values ---- */

static bool contains(const mp_value *items, size_t n, const mp_value *v)
{
    for (size_t i = 0; i < n; i++)
        if (mp_value_equal(&items[i], v))
            return true;
    return false;
}

/* The elements kept in keep[0..*nk), copied into a new array of type rt. */
static int array_of(mp_fn_ctx *cx, const mp_value *const *keep, size_t nk, const mp_type *rt,
                    mp_value *out)
{
    mp_value arr;
    if (mp_v_array(cx->arena, nk, rt->elem, &arr))
        return mp_fn_oom(cx);
    for (size_t i = 0; i < nk; i++) {
        int rc = mp_fn_coerce(keep[i], rt->elem, cx->arena, &arr.u.items[i], cx->e);
        if (rc)
            return rc;
    }
    *out = arr;
    return 0;
}

/* A scratch list of element pointers in the arena. */
static const mp_value **scratch(mp_fn_ctx *cx, size_t n)
{
    return mp_arena_alloc(cx->arena, (n ? n : 1) * sizeof(const mp_value *));
}

/* ---- ARRAY_LENGTH ---- */

static int array_length_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    *out = mp_v_int((int32_t)a[0].len);
    return 0;
}

static int bind_array_length(const mp_type *const *args, const mp_value *const *lits, size_t n,
                             mp_scalar_impl *out, mp_error *e)
{
    if (n != 1 || args[0]->kind != MP_TYPE_ARRAY)
        return mp_fn_bind_refuse(e, "ARRAY_LENGTH", args, n, "ARRAY_LENGTH(ARRAY<T>)");
    return set_impl(out, array_length_fn, mp_fn_type(MP_TYPE_INTEGER), false, "ARRAY_LENGTH", e);
}

/* ---- ARRAY_CONCAT ---- */

static int array_concat_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    const mp_type *rt = d;
    if (a[0].null && a[1].null) {
        *out = mp_v_null_of(rt);
        return 0;
    }
    size_t n0 = a[0].null ? 0 : a[0].len, n1 = a[1].null ? 0 : a[1].len;
    const mp_value **keep = scratch(cx, n0 + n1);
    if (!keep)
        return mp_fn_oom(cx);
    for (size_t i = 0; i < n0; i++)
        keep[i] = &a[0].u.items[i];
    for (size_t i = 0; i < n1; i++)
        keep[n0 + i] = &a[1].u.items[i];
    return array_of(cx, keep, n0 + n1, rt, out);
}

static int bind_array_concat(const mp_type *const *args, const mp_value *const *lits, size_t n,
                             mp_scalar_impl *out, mp_error *e)
{
    static const char alts[] = "ARRAY_CONCAT(ARRAY<T>, ARRAY<T>)";
    if (n != 2)
        return mp_fn_bind_refuse(e, "ARRAY_CONCAT", args, n, alts);
    mp_type *t = NULL;
    int rc = common_array("ARRAY_CONCAT", alts, args, n, &t, e);
    return rc ? rc : set_impl(out, array_concat_fn, t, true, "ARRAY_CONCAT", e);
}

/* ---- ARRAY_CONTAINS ---- */

static int array_contains_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out,
                             const void *d)
{
    bool r = !a[0].null && contains(a[0].u.items, a[0].len, &a[1]);
    *out = mp_v_bool(r);
    return 0;
}

static int bind_array_contains(const mp_type *const *args, const mp_value *const *lits, size_t n,
                               mp_scalar_impl *out, mp_error *e)
{
    static const char alts[] = "ARRAY_CONTAINS(ARRAY<T>, T)";
    if (n != 2 || (args[0]->kind != MP_TYPE_ARRAY && args[0]->kind != MP_TYPE_NULL))
        return mp_fn_bind_refuse(e, "ARRAY_CONTAINS", args, n, alts);
    if (args[0]->kind == MP_TYPE_ARRAY) {
        mp_type *t = NULL;
        const mp_type *pair[2] = {args[0]->elem, args[1]};
        if (mp_type_common(pair[0], pair[1], &t, NULL))
            return mp_fn_bind_refuse(e, "ARRAY_CONTAINS", args, n, alts);
        mp_type_free(t);
    }
    return set_impl(out, array_contains_fn, mp_fn_type(MP_TYPE_BOOLEAN), true, "ARRAY_CONTAINS", e);
}

/* ---- ARRAY_DISTINCT, ARRAY_EXCEPT, ARRAY_INTERSECT, ARRAY_UNION ---- */

typedef enum { SET_DISTINCT, SET_EXCEPT, SET_INTERSECT, SET_UNION } set_op;

static int set_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const mp_type *rt,
                  set_op op)
{
    size_t n0 = a[0].len, n1 = n > 1 ? a[1].len : 0;
    const mp_value **keep = scratch(cx, n0 + n1);
    if (!keep)
        return mp_fn_oom(cx);
    size_t nk = 0;
    for (size_t pass = 0; pass < (op == SET_UNION ? 2u : 1u); pass++) {
        const mp_value *src = pass ? &a[1] : &a[0];
        for (uint32_t i = 0; i < src->len; i++) {
            const mp_value *v = &src->u.items[i];
            bool dup = false;
            for (size_t k = 0; k < nk && !dup; k++)
                dup = mp_value_equal(keep[k], v);
            if (dup)
                continue;
            if (op == SET_EXCEPT && contains(a[1].u.items, a[1].len, v))
                continue;
            if (op == SET_INTERSECT && !contains(a[1].u.items, a[1].len, v))
                continue;
            keep[nk++] = v;
        }
    }
    return array_of(cx, keep, nk, rt, out);
}

static int array_distinct_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out,
                             const void *d)
{
    return set_fn(cx, a, n, out, d, SET_DISTINCT);
}
static int array_except_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return set_fn(cx, a, n, out, d, SET_EXCEPT);
}
static int array_intersect_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out,
                              const void *d)
{
    return set_fn(cx, a, n, out, d, SET_INTERSECT);
}
static int array_union_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return set_fn(cx, a, n, out, d, SET_UNION);
}

static int bind_set(const char *name, size_t arity, mp_scalar_fn fn, const mp_type *const *args,
                    size_t n, mp_scalar_impl *out, mp_error *e)
{
    char alts[96];
    snprintf(alts, sizeof alts, arity == 1 ? "%s(ARRAY<T>)" : "%s(ARRAY<T>, ARRAY<T>)", name);
    if (n != arity)
        return mp_fn_bind_refuse(e, name, args, n, alts);
    mp_type *t = NULL;
    int rc = common_array(name, alts, args, n, &t, e);
    return rc ? rc : set_impl(out, fn, t, false, name, e);
}

static int bind_array_distinct(const mp_type *const *args, const mp_value *const *lits, size_t n,
                               mp_scalar_impl *out, mp_error *e)
{
    return bind_set("ARRAY_DISTINCT", 1, array_distinct_fn, args, n, out, e);
}
static int bind_array_except(const mp_type *const *args, const mp_value *const *lits, size_t n,
                             mp_scalar_impl *out, mp_error *e)
{
    return bind_set("ARRAY_EXCEPT", 2, array_except_fn, args, n, out, e);
}
static int bind_array_intersect(const mp_type *const *args, const mp_value *const *lits, size_t n,
                                mp_scalar_impl *out, mp_error *e)
{
    return bind_set("ARRAY_INTERSECT", 2, array_intersect_fn, args, n, out, e);
}
static int bind_array_union(const mp_type *const *args, const mp_value *const *lits, size_t n,
                            mp_scalar_impl *out, mp_error *e)
{
    return bind_set("ARRAY_UNION", 2, array_union_fn, args, n, out, e);
}

/* ---- ARRAY_JOIN ---- */

static int array_join_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    if (a[0].null) {
        *out = mp_v_null(MP_TYPE_STRING);
        return 0;
    }
    const char *del = ",";
    size_t dl = 1;
    if (n > 1) {
        del = a[1].null ? "" : a[1].u.str;
        dl = a[1].null ? 0 : a[1].len;
    }
    mp_buf b = {0};
    for (uint32_t i = 0; i < a[0].len; i++) {
        if (i)
            mp_buf_append(&b, del, dl);
        mp_value_format(&a[0].u.items[i], &b); /* NULL prints as null, as StringJoiner does */
    }
    return mp_fn_ret_buf(cx, &b, out);
}

static int bind_array_join(const mp_type *const *args, const mp_value *const *lits, size_t n,
                           mp_scalar_impl *out, mp_error *e)
{
    static const char alts[] = "ARRAY_JOIN(ARRAY<T>), ARRAY_JOIN(ARRAY<T>, STRING)";
    int cost;
    if (n < 1 || n > 2 || args[0]->kind != MP_TYPE_ARRAY ||
        !(is_primitive(args[0]->elem->kind) || args[0]->elem->kind == MP_TYPE_NULL) ||
        (n == 2 && !mp_fn_kind_accepts(args[1], MP_TYPE_STRING, &cost)))
        return mp_fn_bind_refuse(e, "ARRAY_JOIN", args, n, alts);
    return set_impl(out, array_join_fn, mp_fn_type(MP_TYPE_STRING), true, "ARRAY_JOIN", e);
}

/* ---- ARRAY_MAX, ARRAY_MIN ---- */

static int array_extreme(mp_fn_ctx *cx, const mp_value *a, mp_value *out, const mp_type *rt,
                         int want)
{
    const mp_value *best = NULL;
    for (uint32_t i = 0; i < a[0].len; i++) {
        const mp_value *v = &a[0].u.items[i];
        if (v->null)
            continue;
        if (!best || mp_value_cmp(v, best) * want > 0)
            best = v;
    }
    if (!best) {
        *out = mp_v_null_of(rt);
        return 0;
    }
    return mp_fn_coerce(best, rt, cx->arena, out, cx->e);
}

static int array_max_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return array_extreme(cx, a, out, d, 1);
}
static int array_min_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return array_extreme(cx, a, out, d, -1);
}

static int bind_array_extreme(const char *name, mp_scalar_fn fn, const mp_type *const *args,
                              size_t n, mp_scalar_impl *out, mp_error *e)
{
    char alts[64];
    snprintf(alts, sizeof alts, "%s(ARRAY<T>) for a primitive T", name);
    if (n != 1 || args[0]->kind != MP_TYPE_ARRAY || !is_comparable(args[0]->elem->kind))
        return mp_fn_bind_refuse(e, name, args, n, alts);
    return set_impl(out, fn, mp_type_clone(args[0]->elem), false, name, e);
}

static int bind_array_max(const mp_type *const *args, const mp_value *const *lits, size_t n,
                          mp_scalar_impl *out, mp_error *e)
{
    return bind_array_extreme("ARRAY_MAX", array_max_fn, args, n, out, e);
}
static int bind_array_min(const mp_type *const *args, const mp_value *const *lits, size_t n,
                          mp_scalar_impl *out, mp_error *e)
{
    return bind_array_extreme("ARRAY_MIN", array_min_fn, args, n, out, e);
}

/* ---- ARRAY_REMOVE ---- */

static int array_remove_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    const mp_type *rt = d;
    if (a[0].null) {
        *out = mp_v_null_of(rt);
        return 0;
    }
    const mp_value **keep = scratch(cx, a[0].len);
    if (!keep)
        return mp_fn_oom(cx);
    size_t nk = 0;
    for (uint32_t i = 0; i < a[0].len; i++)
        if (!mp_value_equal(&a[0].u.items[i], &a[1]))
            keep[nk++] = &a[0].u.items[i];
    return array_of(cx, keep, nk, rt, out);
}

static int bind_array_remove(const mp_type *const *args, const mp_value *const *lits, size_t n,
                             mp_scalar_impl *out, mp_error *e)
{
    static const char alts[] = "ARRAY_REMOVE(ARRAY<T>, T)";
    if (n != 2 || args[0]->kind != MP_TYPE_ARRAY)
        return mp_fn_bind_refuse(e, "ARRAY_REMOVE", args, n, alts);
    mp_type *t = NULL;
    if (mp_type_common(args[0]->elem, args[1], &t, NULL))
        return mp_fn_bind_refuse(e, "ARRAY_REMOVE", args, n, alts);
    mp_type_free(t);
    return set_impl(out, array_remove_fn, mp_type_clone(args[0]), true, "ARRAY_REMOVE", e);
}

/* ---- ARRAY_SORT ---- */

static int cmp_asc(const void *x, const void *y)
{
    const mp_value *a = *(const mp_value *const *)x, *b = *(const mp_value *const *)y;
    if (a->null || b->null)
        return a->null && b->null ? 0 : a->null ? 1 : -1; /* NULLs last */
    return mp_value_cmp(a, b);
}

static int cmp_desc(const void *x, const void *y)
{
    const mp_value *a = *(const mp_value *const *)x, *b = *(const mp_value *const *)y;
    if (a->null || b->null)
        return a->null && b->null ? 0 : a->null ? 1 : -1;
    return mp_value_cmp(b, a);
}

/* Stable merge sort of element pointers (qsort is not stable). */
static void msort(const mp_value **v, const mp_value **tmp, size_t n,
                  int (*cmp)(const void *, const void *))
{
    if (n < 2)
        return;
    size_t h = n / 2;
    msort(v, tmp, h, cmp);
    msort(v + h, tmp, n - h, cmp);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n)
        tmp[k++] = cmp(&v[j], &v[i]) < 0 ? v[j++] : v[i++];
    while (i < h)
        tmp[k++] = v[i++];
    while (j < n)
        tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

static int array_sort_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    const mp_type *rt = d;
    if (a[0].null) {
        *out = mp_v_null_of(rt);
        return 0;
    }
    bool desc = false;
    if (n > 1) {
        if (a[1].null)
            return mp_fn_fail(cx, MP_EINPUT, "ARRAY_SORT", "the sort direction is NULL");
        const char *s = a[1].u.str;
        size_t l = a[1].len;
        if (mp_fn_ieq(s, l, "DESC") || mp_fn_ieq(s, l, "DESCENDING"))
            desc = true;
        else if (!mp_fn_ieq(s, l, "ASC") && !mp_fn_ieq(s, l, "ASCENDING")) {
            *out = mp_v_null_of(rt);
            return 0;
        }
    }
    size_t len = a[0].len;
    const mp_value **v = scratch(cx, len), **tmp = scratch(cx, len);
    if (!v || !tmp)
        return mp_fn_oom(cx);
    for (size_t i = 0; i < len; i++)
        v[i] = &a[0].u.items[i];
    msort(v, tmp, len, desc ? cmp_desc : cmp_asc);
    return array_of(cx, v, len, rt, out);
}

static int bind_array_sort(const mp_type *const *args, const mp_value *const *lits, size_t n,
                           mp_scalar_impl *out, mp_error *e)
{
    static const char alts[] = "ARRAY_SORT(ARRAY<T>), ARRAY_SORT(ARRAY<T>, STRING)";
    int cost;
    if (n < 1 || n > 2 || args[0]->kind != MP_TYPE_ARRAY || !is_comparable(args[0]->elem->kind) ||
        (n == 2 && !mp_fn_kind_accepts(args[1], MP_TYPE_STRING, &cost)))
        return mp_fn_bind_refuse(e, "ARRAY_SORT", args, n, alts);
    return set_impl(out, array_sort_fn, mp_type_clone(args[0]), true, "ARRAY_SORT", e);
}

/* ---- SLICE ---- */

/* Java's List.subList(from - 1, to): out of range is NULL, not clamped. */
static int slice_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    const mp_type *rt = d;
    if (a[0].null) {
        *out = mp_v_null_of(rt);
        return 0;
    }
    int64_t len = a[0].len;
    int64_t start = a[1].null ? 0 : (int64_t)a[1].u.i32 - 1;
    int64_t end = a[2].null ? len : (int64_t)a[2].u.i32;
    if (start < 0 || end > len || start > end) {
        *out = mp_v_null_of(rt);
        return 0;
    }
    mp_value arr;
    if (mp_v_array(cx->arena, (size_t)(end - start), rt->elem, &arr))
        return mp_fn_oom(cx);
    for (int64_t i = start; i < end; i++)
        arr.u.items[i - start] = a[0].u.items[i];
    *out = arr;
    return 0;
}

static int bind_slice(const mp_type *const *args, const mp_value *const *lits, size_t n,
                      mp_scalar_impl *out, mp_error *e)
{
    static const char alts[] = "SLICE(ARRAY<T>, INTEGER, INTEGER)";
    int c1, c2;
    if (n != 3 || args[0]->kind != MP_TYPE_ARRAY ||
        !mp_fn_kind_accepts(args[1], MP_TYPE_INTEGER, &c1) ||
        !mp_fn_kind_accepts(args[2], MP_TYPE_INTEGER, &c2))
        return mp_fn_bind_refuse(e, "SLICE", args, n, alts);
    return set_impl(out, slice_fn, mp_type_clone(args[0]), true, "SLICE", e);
}

/* ---- GENERATE_SERIES ---- */

#define MAX_SERIES ((int64_t)1 << 24)

static int generate_series_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out,
                              const void *d)
{
    const mp_type *rt = d;
    bool big = rt->elem->kind == MP_TYPE_BIGINT;
    int64_t start = mp_fn_num_int64(&a[0]), end = mp_fn_num_int64(&a[1]);
    int64_t step = n > 2 ? a[2].u.i32 : (end > start ? 1 : -1);
    if (step == 0)
        return mp_fn_fail(cx, MP_EINPUT, "GENERATE_SERIES", "GENERATE_SERIES step cannot be zero");
    /* the difference of two BIGINTs can overflow: compare in 128 bits */
    mp_i128 diff = (mp_i128)end - (mp_i128)start;
    if ((diff > 0 && step < 0) || (diff < 0 && step > 0))
        return mp_fn_fail(cx, MP_EINPUT, "GENERATE_SERIES", "GENERATE_SERIES step has wrong sign");
    mp_i128 size = diff / step + 1;
    if (size > MAX_SERIES)
        return mp_fn_fail(cx, MP_EINPUT, "GENERATE_SERIES",
                          "a series of more than %lld values is refused", (long long)MAX_SERIES);
    mp_value arr;
    if (mp_v_array(cx->arena, (size_t)size, rt->elem, &arr))
        return mp_fn_oom(cx);
    mp_i128 v = start;
    for (size_t i = 0; i < (size_t)size; i++, v += step)
        arr.u.items[i] = big ? mp_v_bigint((int64_t)v) : mp_v_int((int32_t)v);
    *out = arr;
    return 0;
}

static const mp_fn_sig sigs_generate_series[] = {
    {"ii", "[i", generate_series_fn, false},
    {"iii", "[i", generate_series_fn, false},
    {"ll", "[l", generate_series_fn, false},
    {"lli", "[l", generate_series_fn, false},
};
MP_FN_SIG_BIND(generate_series, "GENERATE_SERIES")

/* ---- maps ---- */

static int map_keys_values(mp_fn_ctx *cx, const mp_value *m, mp_value *out, const mp_type *rt,
                           int which)
{
    mp_value arr;
    if (mp_v_array(cx->arena, m->len, rt->elem, &arr))
        return mp_fn_oom(cx);
    for (uint32_t i = 0; i < m->len; i++)
        arr.u.items[i] = m->u.items[2 * i + (uint32_t)which];
    *out = arr;
    return 0;
}

static int map_keys_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return map_keys_values(cx, &a[0], out, d, 0);
}
static int map_values_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return map_keys_values(cx, &a[0], out, d, 1);
}

static int bind_map_kv(const char *name, mp_scalar_fn fn, int which, const mp_type *const *args,
                       size_t n, mp_scalar_impl *out, mp_error *e)
{
    char alts[48];
    snprintf(alts, sizeof alts, "%s(MAP<K, V>)", name);
    if (n != 1 || args[0]->kind != MP_TYPE_MAP)
        return mp_fn_bind_refuse(e, name, args, n, alts);
    mp_type *el = mp_type_clone(which ? args[0]->elem : args[0]->key);
    return set_impl(out, fn, el ? mp_type_new_array(el) : NULL, false, name, e);
}

static int bind_map_keys(const mp_type *const *args, const mp_value *const *lits, size_t n,
                         mp_scalar_impl *out, mp_error *e)
{
    return bind_map_kv("MAP_KEYS", map_keys_fn, 0, args, n, out, e);
}
static int bind_map_values(const mp_type *const *args, const mp_value *const *lits, size_t n,
                           mp_scalar_impl *out, mp_error *e)
{
    return bind_map_kv("MAP_VALUES", map_values_fn, 1, args, n, out, e);
}

/* Builds a map from (key, value) pointer pairs: a repeated key keeps its
 * first position and its last value. */
static int map_of(mp_fn_ctx *cx, const mp_value **kv, size_t npairs, const mp_type *rt,
                  mp_value *out)
{
    const mp_value **uniq = scratch(cx, 2 * npairs);
    if (!uniq)
        return mp_fn_oom(cx);
    size_t nu = 0;
    for (size_t i = 0; i < npairs; i++) {
        size_t k;
        for (k = 0; k < nu; k++)
            if (mp_value_equal(uniq[2 * k], kv[2 * i]))
                break;
        if (k < nu) {
            uniq[2 * k + 1] = kv[2 * i + 1];
        } else {
            uniq[2 * nu] = kv[2 * i];
            uniq[2 * nu + 1] = kv[2 * i + 1];
            nu++;
        }
    }
    mp_value m;
    if (mp_v_map(cx->arena, nu, rt->key, rt->elem, &m))
        return mp_fn_oom(cx);
    for (size_t i = 0; i < nu; i++) {
        int rc = mp_fn_coerce(uniq[2 * i], rt->key, cx->arena, &m.u.items[2 * i], cx->e);
        if (!rc)
            rc = mp_fn_coerce(uniq[2 * i + 1], rt->elem, cx->arena, &m.u.items[2 * i + 1], cx->e);
        if (rc)
            return rc;
    }
    *out = m;
    return 0;
}

static int map_union_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    const mp_type *rt = d;
    if (a[0].null && a[1].null) {
        *out = mp_v_null_of(rt);
        return 0;
    }
    size_t n0 = a[0].null ? 0 : a[0].len, n1 = a[1].null ? 0 : a[1].len;
    const mp_value **kv = scratch(cx, 2 * (n0 + n1));
    if (!kv)
        return mp_fn_oom(cx);
    for (size_t i = 0; i < 2 * n0; i++)
        kv[i] = &a[0].u.items[i];
    for (size_t i = 0; i < 2 * n1; i++)
        kv[2 * n0 + i] = &a[1].u.items[i];
    return map_of(cx, kv, n0 + n1, rt, out);
}

static int bind_map_union(const mp_type *const *args, const mp_value *const *lits, size_t n,
                          mp_scalar_impl *out, mp_error *e)
{
    static const char alts[] = "MAP_UNION(MAP<K, V>, MAP<K, V>)";
    if (n != 2)
        return mp_fn_bind_refuse(e, "MAP_UNION", args, n, alts);
    for (size_t i = 0; i < n; i++)
        if (args[i]->kind != MP_TYPE_MAP && args[i]->kind != MP_TYPE_NULL)
            return mp_fn_bind_refuse(e, "MAP_UNION", args, n, alts);
    mp_type *t = NULL;
    int rc = mp_fn_common_type("MAP_UNION", args, n, &t, e);
    if (rc)
        return rc;
    if (t->kind != MP_TYPE_MAP) {
        mp_type_free(t);
        return mp_fn_bind_refuse(e, "MAP_UNION", args, n, alts);
    }
    return set_impl(out, map_union_fn, t, true, "MAP_UNION", e);
}

static int as_map_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    const mp_type *rt = d;
    size_t nk = a[0].len;
    const mp_value **kv = scratch(cx, 2 * nk);
    if (!kv)
        return mp_fn_oom(cx);
    static const mp_value null_value = {.kind = MP_TYPE_NULL, .null = 1};
    for (size_t i = 0; i < nk; i++) {
        kv[2 * i] = &a[0].u.items[i];
        kv[2 * i + 1] = i < a[1].len ? &a[1].u.items[i] : &null_value;
    }
    return map_of(cx, kv, nk, rt, out);
}

static int bind_as_map(const mp_type *const *args, const mp_value *const *lits, size_t n,
                       mp_scalar_impl *out, mp_error *e)
{
    static const char alts[] = "AS_MAP(ARRAY<STRING>, ARRAY<T>)";
    int cost;
    if (n != 2 || args[0]->kind != MP_TYPE_ARRAY || args[1]->kind != MP_TYPE_ARRAY ||
        !mp_fn_kind_accepts(args[0]->elem, MP_TYPE_STRING, &cost))
        return mp_fn_bind_refuse(e, "AS_MAP", args, n, alts);
    mp_type *k = mp_fn_type(MP_TYPE_STRING), *v = mp_type_clone(args[1]->elem);
    mp_type *m = k && v ? mp_type_new_map(k, v) : NULL;
    if (!m) {
        if (!(k && v)) {
            mp_type_free(k);
            mp_type_free(v);
        }
    }
    return set_impl(out, as_map_fn, m, false, "AS_MAP", e);
}

/* ENTRIES(map, sorted): ARRAY<STRUCT<K STRING, V T>>, by key when sorted. */
static int entries_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    const mp_type *rt = d, *st = rt->elem;
    size_t len = a[0].len;
    const mp_value **keys = scratch(cx, len), **tmp = scratch(cx, len);
    if (!keys || !tmp)
        return mp_fn_oom(cx);
    for (size_t i = 0; i < len; i++)
        keys[i] = &a[0].u.items[2 * i];
    if (a[1].u.b)
        msort(keys, tmp, len, cmp_asc);
    mp_value arr;
    if (mp_v_array(cx->arena, len, st, &arr))
        return mp_fn_oom(cx);
    for (size_t i = 0; i < len; i++) {
        mp_value s;
        if (mp_v_struct(cx->arena, st, &s))
            return mp_fn_oom(cx);
        s.u.st.fields[0] = *keys[i];
        int rc = mp_fn_coerce(keys[i] + 1, st->fields[1].type, cx->arena, &s.u.st.fields[1], cx->e);
        if (rc)
            return rc;
        arr.u.items[i] = s;
    }
    *out = arr;
    return 0;
}

static int bind_entries(const mp_type *const *args, const mp_value *const *lits, size_t n,
                        mp_scalar_impl *out, mp_error *e)
{
    static const char alts[] = "ENTRIES(MAP<STRING, T>, BOOLEAN)";
    int cost;
    if (n != 2 || args[0]->kind != MP_TYPE_MAP || args[0]->key->kind != MP_TYPE_STRING ||
        !mp_fn_kind_accepts(args[1], MP_TYPE_BOOLEAN, &cost))
        return mp_fn_bind_refuse(e, "ENTRIES", args, n, alts);
    mp_type *st = mp_type_new_struct();
    if (!st || mp_type_struct_add(st, "K", mp_fn_type(MP_TYPE_STRING), NULL) ||
        mp_type_struct_add(st, "V", mp_type_clone(args[0]->elem), NULL)) {
        mp_type_free(st);
        return mp_error_set(e, MP_ENOMEM, "ENTRIES: out of memory");
    }
    return set_impl(out, entries_fn, mp_type_new_array(st), false, "ENTRIES", e);
}

/* ---- the table ---- */

static const mp_fn_doc docs_array_length[] = {
    {"(a ARRAY<T>)", "INTEGER", "The number of elements of a."}};
static const mp_fn_doc docs_array_concat[] = {
    {"(a ARRAY<T>, b ARRAY<T>)", "ARRAY<T>",
     "a followed by b; a NULL array counts as empty unless both are NULL."}};
static const mp_fn_doc docs_array_contains[] = {
    {"(a ARRAY<T>, x T)", "BOOLEAN", "Whether a holds x (NULL finds NULL); false for a NULL a."}};
static const mp_fn_doc docs_array_distinct[] = {
    {"(a ARRAY<T>)", "ARRAY<T>", "The distinct elements of a in order of first appearance."}};
static const mp_fn_doc docs_array_except[] = {
    {"(a ARRAY<T>, b ARRAY<T>)", "ARRAY<T>", "The distinct elements of a that are not in b."}};
static const mp_fn_doc docs_array_intersect[] = {
    {"(a ARRAY<T>, b ARRAY<T>)", "ARRAY<T>", "The distinct elements of a that are also in b."}};
static const mp_fn_doc docs_array_union[] = {
    {"(a ARRAY<T>, b ARRAY<T>)", "ARRAY<T>", "The distinct elements of a, then of b."}};
static const mp_fn_doc docs_array_join[] = {
    {"(a ARRAY<T>)", "STRING", "The elements as text joined by commas."},
    {"(a ARRAY<T>, delimiter STRING)", "STRING", "The elements as text joined by delimiter."},
};
static const mp_fn_doc docs_array_max[] = {
    {"(a ARRAY<T>)", "T", "The largest non-NULL element, NULL if there is none."}};
static const mp_fn_doc docs_array_min[] = {
    {"(a ARRAY<T>)", "T", "The smallest non-NULL element, NULL if there is none."}};
static const mp_fn_doc docs_array_remove[] = {
    {"(a ARRAY<T>, x T)", "ARRAY<T>", "a without the elements equal to x (x NULL: the NULLs)."}};
static const mp_fn_doc docs_array_sort[] = {
    {"(a ARRAY<T>)", "ARRAY<T>", "a sorted ascending, NULLs last."},
    {"(a ARRAY<T>, direction STRING)", "ARRAY<T>",
     "a sorted ASC or DESC, NULLs last; NULL for another direction."},
};
static const mp_fn_doc docs_slice[] = {
    {"(a ARRAY<T>, from INTEGER, to INTEGER)", "ARRAY<T>",
     "Elements from..to of a (1-based, inclusive); NULL when out of range."}};
static const mp_fn_doc docs_generate_series[] = {
    {"(start INTEGER, end INTEGER)", "ARRAY<INTEGER>", "start..end inclusive, by 1 or -1."},
    {"(start INTEGER, end INTEGER, step INTEGER)", "ARRAY<INTEGER>", "start..end by step."},
    {"(start BIGINT, end BIGINT)", "ARRAY<BIGINT>", "start..end inclusive, by 1 or -1."},
    {"(start BIGINT, end BIGINT, step INTEGER)", "ARRAY<BIGINT>", "start..end by step."},
};
static const mp_fn_doc docs_map_keys[] = {{"(m MAP<K, V>)", "ARRAY<K>", "The keys of m."}};
static const mp_fn_doc docs_map_values[] = {{"(m MAP<K, V>)", "ARRAY<V>", "The values of m."}};
static const mp_fn_doc docs_map_union[] = {
    {"(a MAP<K, V>, b MAP<K, V>)", "MAP<K, V>",
     "The entries of both maps, b's value winning for a shared key."}};
static const mp_fn_doc docs_as_map[] = {
    {"(keys ARRAY<STRING>, values ARRAY<T>)", "MAP<STRING, T>",
     "A map pairing keys with values by position (missing values are NULL)."}};
static const mp_fn_doc docs_entries[] = {
    {"(m MAP<STRING, T>, sorted BOOLEAN)", "ARRAY<STRUCT<K STRING, V T>>",
     "The entries of m as structs, by key when sorted is true."}};

#define DEF(NAME, cat, desc, docs, bind)                                                           \
    {                                                                                              \
        NAME, MP_FN_SCALAR, cat, desc, docs, MP_FN_COUNT(docs), NULL, NULL, bind, NULL, NULL       \
    }

const mp_fn_def mp_fn_collections_defs[] = {
    DEF("ARRAY_LENGTH", "ARRAY", "The number of elements of an array.", docs_array_length,
        bind_array_length),
    DEF("ARRAY_CONCAT", "ARRAY", "Two arrays one after the other.", docs_array_concat,
        bind_array_concat),
    DEF("ARRAY_CONTAINS", "ARRAY", "Whether an array holds a value.", docs_array_contains,
        bind_array_contains),
    DEF("ARRAY_DISTINCT", "ARRAY", "The distinct elements of an array.", docs_array_distinct,
        bind_array_distinct),
    DEF("ARRAY_EXCEPT", "ARRAY", "The elements of one array missing from another.",
        docs_array_except, bind_array_except),
    DEF("ARRAY_INTERSECT", "ARRAY", "The elements two arrays share.", docs_array_intersect,
        bind_array_intersect),
    DEF("ARRAY_UNION", "ARRAY", "The distinct elements of two arrays.", docs_array_union,
        bind_array_union),
    DEF("ARRAY_JOIN", "ARRAY", "The elements of an array joined into a string.", docs_array_join,
        bind_array_join),
    DEF("ARRAY_MAX", "ARRAY", "The largest element of an array.", docs_array_max, bind_array_max),
    DEF("ARRAY_MIN", "ARRAY", "The smallest element of an array.", docs_array_min, bind_array_min),
    DEF("ARRAY_REMOVE", "ARRAY", "An array without the elements equal to a value.",
        docs_array_remove, bind_array_remove),
    DEF("ARRAY_SORT", "ARRAY", "An array sorted.", docs_array_sort, bind_array_sort),
    DEF("SLICE", "ARRAY", "A range of an array's elements.", docs_slice, bind_slice),
    DEF("GENERATE_SERIES", "ARRAY", "An array of the integers in a range.", docs_generate_series,
        bind_generate_series),
    DEF("MAP_KEYS", "MAP", "The keys of a map.", docs_map_keys, bind_map_keys),
    DEF("MAP_VALUES", "MAP", "The values of a map.", docs_map_values, bind_map_values),
    DEF("MAP_UNION", "MAP", "Two maps merged.", docs_map_union, bind_map_union),
    DEF("AS_MAP", "MAP", "A map from an array of keys and an array of values.", docs_as_map,
        bind_as_map),
    DEF("ENTRIES", "MAP", "The entries of a map as an array of structs.", docs_entries,
        bind_entries),
};
const size_t mp_fn_collections_count = MP_FN_COUNT(mp_fn_collections_defs);
