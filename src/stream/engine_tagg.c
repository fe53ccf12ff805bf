/* GROUP BY over a table: Kafka Streams' KGroupedTable.aggregate with an
 * adder and a subtractor. A table record replaces its key's row, so the
 * row it replaces must first leave its group: each source key's previous
 * row is kept here (by the record's key bytes), and the aggregates' undo
 * takes it back out before the new row is added.
 *
 * The whole input row is kept, not just the aggregates' arguments: the
 * old group's result row is projected from it like any other. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream/engine_internal.h"

typedef struct tentry {
    struct tentry *next;
    struct tentry *next_dirty;
    int dirty;
    int gone; /* deleted, kept until its changelog tombstone is taken */
    uint64_t hash;
    size_t klen;
    uint8_t *key;
    mp_arena arena;
    mp_value *row; /* nvals values, in arena */
} tentry;

struct mp_tprev {
    const mp_splan *p;
    int changelog;
    size_t nvals, nbuckets, n;
    tentry **buckets;
    tentry *dirty;
    tentry *taken; /* the last gone entry handed out: freed at the next call */
};

int mp_splan_table_agg_check(const mp_splan *p, mp_error *e)
{
    const mp_sql_agg_call *first = NULL;
    size_t nbad = 0;
    char names[512] = "";
    size_t len = 0;
    for (size_t j = 0; j < p->aggs.n; j++) {
        const mp_sql_agg_call *c = &p->aggs.calls[j];
        if (c->impl.undo)
            continue;
        int seen = 0;
        for (size_t i = 0; i < j && !seen; i++)
            seen = !p->aggs.calls[i].impl.undo && !strcmp(p->aggs.calls[i].def->name, c->def->name);
        if (seen)
            continue;
        if (!first)
            first = c;
        nbad++;
    }
    if (!first)
        return 0;
    /* Named as ksqlDB joins them: "A", "A and B", "A, B and C". */
    size_t k = 0;
    for (size_t j = 0; j < p->aggs.n; j++) {
        const mp_sql_agg_call *c = &p->aggs.calls[j];
        if (c->impl.undo)
            continue;
        int seen = 0;
        for (size_t i = 0; i < j && !seen; i++)
            seen = !p->aggs.calls[i].impl.undo && !strcmp(p->aggs.calls[i].def->name, c->def->name);
        if (seen)
            continue;
        const char *sep = k == 0 ? "" : k + 1 == nbad ? " and " : ", ";
        int w = snprintf(names + len, sizeof names - len, "%s%s", sep, c->def->name);
        if (w > 0 && (size_t)w < sizeof names - len)
            len += (size_t)w;
        k++;
    }
    return mp_error_set(e, MP_EINVAL,
                        "line %u:%u: The aggregation function%s %s cannot be applied to a table "
                        "source, only to a stream source.",
                        first->call->pos.line, first->call->pos.col, nbad == 1 ? "" : "s", names);
}

static uint64_t key_hash(const void *key, size_t klen)
{
    const uint8_t *b = key;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < klen; i++) {
        h ^= b[i];
        h *= 1099511628211ull;
    }
    return h;
}

int mp_tprev_new(const mp_splan *p, int changelog, mp_tprev **out, mp_error *e)
{
    mp_tprev *t = calloc(1, sizeof *t);
    if (!t)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    t->p = p;
    t->changelog = changelog;
    t->nvals = p->nscope;
    t->nbuckets = 1024;
    if (!(t->buckets = calloc(t->nbuckets, sizeof *t->buckets))) {
        free(t);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    *out = t;
    return 0;
}

static void entry_free(tentry *x)
{
    if (!x)
        return;
    mp_arena_free(&x->arena);
    free(x->key);
    free(x);
}

void mp_tprev_free(mp_tprev *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nbuckets; i++)
        for (tentry *x = t->buckets[i], *nx; x; x = nx) {
            nx = x->next;
            entry_free(x);
        }
    entry_free(t->taken);
    free(t->buckets);
    free(t);
}

size_t mp_tprev_nvals(const mp_tprev *t) { return t->nvals; }

static tentry *find(const mp_tprev *t, const void *key, size_t klen, uint64_t h)
{
    for (tentry *x = t->buckets[h & (t->nbuckets - 1)]; x; x = x->next)
        if (x->hash == h && x->klen == klen && (!klen || !memcmp(x->key, key, klen)))
            return x;
    return NULL;
}

static void unlink_entry(mp_tprev *t, tentry *x)
{
    tentry **link = &t->buckets[x->hash & (t->nbuckets - 1)];
    while (*link != x)
        link = &(*link)->next;
    *link = x->next;
    t->n--;
}

static int grow(mp_tprev *t)
{
    size_t nb = t->nbuckets * 2;
    tentry **b = calloc(nb, sizeof *b);
    if (!b)
        return MP_ENOMEM;
    for (size_t i = 0; i < t->nbuckets; i++)
        for (tentry *x = t->buckets[i], *nx; x; x = nx) {
            nx = x->next;
            x->next = b[x->hash & (nb - 1)];
            b[x->hash & (nb - 1)] = x;
        }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = nb;
    return 0;
}

static void mark_dirty(mp_tprev *t, tentry *x)
{
    if (!t->changelog || x->dirty)
        return;
    x->dirty = 1;
    x->next_dirty = t->dirty;
    t->dirty = x;
}

int mp_tprev_put(mp_tprev *t, const void *key, size_t klen, const mp_value *row, mp_error *e)
{
    uint64_t h = key_hash(key, klen);
    tentry *x = find(t, key, klen, h);
    if (!row) {
        if (!x || x->gone)
            return 0;
        if (!t->changelog) {
            unlink_entry(t, x);
            entry_free(x);
            return 0;
        }
        /* Kept (without its row) until its tombstone is in the changelog. */
        x->gone = 1;
        x->row = NULL;
        mp_arena_reset(&x->arena);
        mark_dirty(t, x);
        return 0;
    }
    if (!x) {
        if (t->n >= t->nbuckets && grow(t))
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        x = calloc(1, sizeof *x);
        if (!x || (klen && !(x->key = malloc(klen)))) {
            free(x);
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        }
        if (klen)
            memcpy(x->key, key, klen);
        x->klen = klen;
        x->hash = h;
        mp_arena_init(&x->arena, 256);
        x->next = t->buckets[h & (t->nbuckets - 1)];
        t->buckets[h & (t->nbuckets - 1)] = x;
        t->n++;
    }
    /* row never points into x's arena (callers pass a decoded record). */
    mp_arena_reset(&x->arena);
    x->gone = 0;
    x->row = mp_arena_alloc(&x->arena, (t->nvals + 1) * sizeof *x->row);
    if (!x->row)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    for (size_t i = 0; i < t->nvals; i++)
        if (mp_value_copy(&row[i], &x->arena, &x->row[i]))
            return mp_error_set(e, MP_ENOMEM, "out of memory");
    mark_dirty(t, x);
    return 0;
}

int mp_tprev_take_change(mp_tprev *t, const void **key, size_t *klen, const mp_value **row)
{
    entry_free(t->taken);
    t->taken = NULL;
    tentry *x = t->dirty;
    if (!x)
        return 0;
    t->dirty = x->next_dirty;
    x->dirty = 0;
    x->next_dirty = NULL;
    *key = x->key;
    *klen = x->klen;
    *row = x->gone ? NULL : x->row;
    if (x->gone) {
        unlink_entry(t, x);
        t->taken = x;
    }
    return 1;
}

/* A copy of n values in the context's arena (the group's own values move
 * when the group is next updated). */
static mp_value *copy_values(mp_fn_ctx *cx, const mp_value *v, size_t n)
{
    mp_value *c = mp_arena_alloc(cx->arena, (n + 1) * sizeof *c);
    for (size_t i = 0; c && i < n; i++)
        if (mp_value_copy(&v[i], cx->arena, &c[i]))
            return NULL;
    return c;
}

int mp_tagg_update(mp_aggregator *a, mp_tprev *t, const void *key, size_t klen, const mp_value *row,
                   int64_t ts, mp_fn_ctx *cx, mp_tagg_out *out, mp_error *e)
{
    const mp_splan *p = t->p;
    size_t ns = mp_splan_row_slots(p);
    out->n = 0;
    tentry *x = find(t, key, klen, key_hash(key, klen));
    mp_value *oldrow = NULL, *oldkey = NULL, *newrow = NULL;
    const mp_value *gk, *gs;
    int rc;
    if (x && !x->gone) {
        oldrow = mp_arena_alloc(cx->arena, (ns + 1) * sizeof *oldrow);
        if (!oldrow)
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        for (size_t i = 0; i < ns; i++) {
            if (i >= t->nvals)
                oldrow[i] = mp_v_null(MP_TYPE_BIGINT);
            else if (mp_value_copy(&x->row[i], cx->arena, &oldrow[i]))
                return mp_error_set(e, MP_ENOMEM, "out of memory");
        }
        /* Both results of the update carry its time. */
        oldrow[MP_ROW_ROWTIME].u.i64 = ts;
        oldrow[MP_ROW_ROWTIME].null = 0;
        if ((rc = mp_aggregator_undo(a, oldrow, cx, &gk, &gs, e)) < 0)
            return rc;
        if (!(oldkey = copy_values(cx, gk, p->ngroup)))
            return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    int add_rc = 0;
    if (row) {
        newrow = mp_arena_alloc(cx->arena, (ns + 1) * sizeof *newrow);
        if (!newrow)
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        memcpy(newrow, row, ns * sizeof *newrow);
        if ((add_rc = mp_aggregator_add(a, newrow, cx, &gk, &gs, e)) < 0)
            newrow = NULL; /* not in any group: nothing to take back later */
    }
    int same = 0;
    if (oldrow && newrow) {
        size_t i = 0;
        while (i < p->ngroup && mp_value_equal(&oldkey[i], &gk[i]))
            i++;
        same = i == p->ngroup;
    }
    if (oldrow && !same)
        out->rows[out->n++] = oldrow;
    if (newrow)
        out->rows[out->n++] = newrow;
    if ((rc = mp_tprev_put(t, key, klen, newrow ? row : NULL, e)))
        return rc;
    return add_rc < 0 ? add_rc : 0;
}
