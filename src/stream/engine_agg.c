/* GROUP BY state: a hash table from group key to aggregate states.
 *
 * Each group owns a small arena holding its key values and states. An
 * aggregate's `add` may build the new state out of the old one, so an
 * update copies the new states into a scratch arena first, then resets
 * the group's arena and copies them back: a group's memory stays the size
 * of its current state however many records it has seen. */
#include <stdlib.h>
#include <string.h>

#include "stream/engine_internal.h"

typedef struct group {
    struct group *next;
    struct group *next_dirty; /* changed since the last take */
    int dirty;
    uint64_t hash;
    mp_arena arena;
    mp_value *key;   /* ngroup */
    mp_value *state; /* naggs */
} group;

struct mp_aggregator {
    const mp_splan *p;
    size_t nbuckets, n;
    group **buckets;
    mp_arena scratch;
    mp_value *tmpkey;
    group *dirty; /* groups changed since the last mp_aggregator_take_dirty */
};

int mp_aggregator_new(const mp_splan *p, mp_aggregator **out, mp_error *e)
{
    mp_aggregator *a = calloc(1, sizeof *a);
    if (!a)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    a->p = p;
    a->nbuckets = 1024;
    a->buckets = calloc(a->nbuckets, sizeof *a->buckets);
    a->tmpkey = calloc(p->ngroup + 2, sizeof *a->tmpkey);
    mp_arena_init(&a->scratch, 0);
    if (!a->buckets || !a->tmpkey) {
        mp_aggregator_free(a);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    *out = a;
    return 0;
}

void mp_aggregator_free(mp_aggregator *a)
{
    if (!a)
        return;
    for (size_t i = 0; a->buckets && i < a->nbuckets; i++)
        for (group *g = a->buckets[i], *nx; g; g = nx) {
            nx = g->next;
            mp_arena_free(&g->arena);
            free(g);
        }
    free(a->buckets);
    free(a->tmpkey);
    mp_arena_free(&a->scratch);
    free(a);
}

static int grow(mp_aggregator *a)
{
    size_t nb = a->nbuckets * 2;
    group **b = calloc(nb, sizeof *b);
    if (!b)
        return MP_ENOMEM;
    for (size_t i = 0; i < a->nbuckets; i++)
        for (group *g = a->buckets[i], *nx; g; g = nx) {
            nx = g->next;
            g->next = b[g->hash & (nb - 1)];
            b[g->hash & (nb - 1)] = g;
        }
    free(a->buckets);
    a->buckets = b;
    a->nbuckets = nb;
    return 0;
}

/* Key values per group: the grouping expressions, then the window start. */
static size_t nkey(const mp_splan *p) { return p->ngroup + (p->windowed ? 1 : 0); }

static group *find(mp_aggregator *a, const mp_value *key, uint64_t h)
{
    size_t k = nkey(a->p);
    for (group *g = a->buckets[h & (a->nbuckets - 1)]; g; g = g->next) {
        if (g->hash != h)
            continue;
        size_t i = 0;
        while (i < k && mp_value_equal(&g->key[i], &key[i]))
            i++;
        if (i == k)
            return g;
    }
    return NULL;
}

/* Stores states (from anywhere) as the group's own copy. */
static int keep_states(mp_aggregator *a, group *g, const mp_value *key, const mp_value *states)
{
    size_t k = nkey(a->p), na = a->p->aggs.n;
    mp_arena_reset(&a->scratch);
    mp_value *tk = mp_arena_alloc(&a->scratch, (k + na + 1) * sizeof *tk);
    if (!tk)
        return MP_ENOMEM;
    for (size_t i = 0; i < k; i++)
        if (mp_value_copy(&key[i], &a->scratch, &tk[i]))
            return MP_ENOMEM;
    for (size_t i = 0; i < na; i++)
        if (mp_value_copy(&states[i], &a->scratch, &tk[k + i]))
            return MP_ENOMEM;
    mp_arena_reset(&g->arena);
    g->key = mp_arena_alloc(&g->arena, (k + 1) * sizeof *g->key);
    g->state = mp_arena_alloc(&g->arena, (na + 1) * sizeof *g->state);
    if (!g->key || !g->state)
        return MP_ENOMEM;
    for (size_t i = 0; i < k; i++)
        if (mp_value_copy(&tk[i], &g->arena, &g->key[i]))
            return MP_ENOMEM;
    for (size_t i = 0; i < na; i++)
        if (mp_value_copy(&tk[k + i], &g->arena, &g->state[i]))
            return MP_ENOMEM;
    return 0;
}

static group *insert(mp_aggregator *a, uint64_t h)
{
    if (a->n >= a->nbuckets && grow(a))
        return NULL;
    group *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    mp_arena_init(&g->arena, 256);
    g->hash = h;
    g->next = a->buckets[h & (a->nbuckets - 1)];
    a->buckets[h & (a->nbuckets - 1)] = g;
    a->n++;
    return g;
}

/* Adds row to its group, or (undo) takes it back out. */
static int fold(mp_aggregator *a, mp_value *row, mp_fn_ctx *cx, const mp_value **key,
                const mp_value **state, int undo, mp_error *e)
{
    const mp_splan *p = a->p;
    size_t k = nkey(p), na = p->aggs.n;
    int rc;
    for (size_t i = 0; i < p->ngroup; i++)
        if ((rc = mp_sql_eval(p->group[i], row, cx, &a->tmpkey[i])) < 0)
            return rc;
    if (p->windowed)
        a->tmpkey[p->ngroup] = row[p->ws_slot];
    uint64_t h = mp_values_hash(a->tmpkey, k);
    group *g = find(a, a->tmpkey, h);
    mp_value *st = mp_arena_alloc(cx->arena, (na + 1) * sizeof *st);
    if (!st)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    if (g) {
        memcpy(st, g->state, na * sizeof *st);
    } else {
        for (size_t j = 0; j < na; j++) {
            const mp_agg_impl *im = &p->aggs.calls[j].impl;
            st[j] = mp_v_null_of(im->state_type);
            if (im->init && (rc = im->init(cx, &st[j], im->data)))
                return rc;
        }
    }
    for (size_t j = 0; j < na; j++) {
        const mp_sql_agg_call *c = &p->aggs.calls[j];
        mp_value args[8];
        if (c->nargs > 8)
            return mp_error_set(e, MP_EINVAL, "%s: too many arguments", c->def->name);
        for (size_t i = 0; i < c->nargs; i++)
            if ((rc = mp_sql_eval(c->args[i], row, cx, &args[i])) < 0)
                return rc;
        if (undo && !c->impl.undo)
            return mp_error_set(e, MP_EINVAL, "%s cannot take a row back out of its state",
                                c->def->name);
        if ((rc = (undo ? c->impl.undo : c->impl.add)(cx, &st[j], args, c->nargs, c->impl.data)))
            return rc;
    }
    if (!g && !(g = insert(a, h)))
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    if (keep_states(a, g, a->tmpkey, st))
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    for (size_t j = 0; j < na; j++) {
        const mp_agg_impl *im = &p->aggs.calls[j].impl;
        if ((rc = im->result(cx, &g->state[j], &row[p->nscope + j], im->data)))
            return rc;
    }
    if (!g->dirty) {
        g->dirty = 1;
        g->next_dirty = a->dirty;
        a->dirty = g;
    }
    *key = g->key;
    *state = g->state;
    return 0;
}

int mp_aggregator_add(mp_aggregator *a, mp_value *row, mp_fn_ctx *cx, const mp_value **key,
                      const mp_value **state, mp_error *e)
{
    return fold(a, row, cx, key, state, 0, e);
}

int mp_aggregator_undo(mp_aggregator *a, mp_value *row, mp_fn_ctx *cx, const mp_value **key,
                       const mp_value **state, mp_error *e)
{
    return fold(a, row, cx, key, state, 1, e);
}

int mp_aggregator_take_dirty(mp_aggregator *a, const mp_value **key, const mp_value **state)
{
    group *g = a->dirty;
    if (!g)
        return 0;
    a->dirty = g->next_dirty;
    g->dirty = 0;
    g->next_dirty = NULL;
    *key = g->key;
    *state = g->state;
    return 1;
}

int mp_aggregator_evict(mp_aggregator *a, int64_t closed_before,
                        int (*on_evict)(void *ctx, const mp_value *key), void *ctx)
{
    const mp_splan *p = a->p;
    if (!p->windowed)
        return 0;
    int rc = 0;
    for (size_t i = 0; i < a->nbuckets; i++) {
        group **link = &a->buckets[i];
        while (*link) {
            group *g = *link;
            const mp_value *ws = &g->key[p->ngroup];
            /* Changed groups stay until their change is in the changelog. */
            if (!g->dirty && !ws->null &&
                mp_splan_window_expired(p, ws->u.i64, ws->u.i64 + p->win_size, closed_before)) {
                if (on_evict && (rc = on_evict(ctx, g->key)))
                    return rc;
                *link = g->next;
                mp_arena_free(&g->arena);
                free(g);
                a->n--;
                continue;
            }
            link = &g->next;
        }
    }
    return 0;
}

void mp_aggregator_remove(mp_aggregator *a, const mp_value *key)
{
    uint64_t h = mp_values_hash(key, nkey(a->p));
    group *g = find(a, key, h);
    if (!g || g->dirty)
        return;
    group **link = &a->buckets[h & (a->nbuckets - 1)];
    while (*link != g)
        link = &(*link)->next;
    *link = g->next;
    mp_arena_free(&g->arena);
    free(g);
    a->n--;
}

int mp_aggregator_restore(mp_aggregator *a, const mp_value *key, const mp_value *state,
                          mp_error *e)
{
    uint64_t h = mp_values_hash(key, nkey(a->p));
    group *g = find(a, key, h);
    if (!g && !(g = insert(a, h)))
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    if (keep_states(a, g, key, state))
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    return 0;
}
