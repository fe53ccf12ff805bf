/* Session windows: per group key, the key's sessions sorted by end (then
 * start), as Kafka Streams' session store iterates them.
 *
 * A record at ts finds the sessions of its key that are still retained and
 * lie within the inactivity gap (end >= ts - gap and start <= ts + gap),
 * merges their states in that order (the aggregate functions' merge),
 * folds the record in, and replaces them with one session spanning all of
 * them and ts. The replaced sessions' windows are handed back so the
 * caller can write their tombstones. Each session owns an arena holding
 * its states; a new session gets a fresh one and the replaced ones are
 * freed once the new states are copied, so nothing shares memory with a
 * freed arena. */
#include <stdlib.h>
#include <string.h>

#include "stream/engine_internal.h"

typedef struct sess {
    int64_t start, end;
    mp_arena arena;
    mp_value *state; /* naggs */
    size_t dirty;    /* 1 + its index in the dirty list, 0: written */
} sess;

typedef struct skey {
    struct skey *next;
    uint64_t hash;
    mp_arena arena; /* the key values */
    mp_value *key;  /* ngroup */
    size_t n, cap;
    sess **v;       /* by (end, start) */
} skey;

typedef struct dirty_ref {
    skey *k;
    sess *s; /* NULL once the session is gone */
} dirty_ref;

struct mp_sessions {
    const mp_splan *p;
    int changelog; /* 0: no change tracking (push queries) */
    size_t nbuckets, nkeys;
    skey **buckets;
    mp_value *tmpkey; /* ngroup */
    mp_value *outkey; /* ngroup + 2 */
    size_t *hits;     /* indices of the sessions a record merges with */
    size_t hcap;
    mp_session_win *replaced;
    size_t rcap;
    /* Changes owed to the changelog: tombstones (ngroup + 2 values each,
     * copied into tomb_arena) first, then the changed sessions. */
    mp_arena tomb_arena;
    mp_value *tombs;
    size_t ntombs, tcap, tnext;
    dirty_ref *dirty;
    size_t ndirty, dcap, dnext;
};

static size_t nkey(const mp_sessions *s) { return s->p->ngroup; }

int mp_sessions_new(const mp_splan *p, int changelog, mp_sessions **out, mp_error *e)
{
    mp_sessions *s = calloc(1, sizeof *s);
    if (!s)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    s->p = p;
    s->changelog = changelog;
    s->nbuckets = 1024;
    s->buckets = calloc(s->nbuckets, sizeof *s->buckets);
    s->tmpkey = calloc(p->ngroup + 1, sizeof *s->tmpkey);
    s->outkey = calloc(p->ngroup + 2, sizeof *s->outkey);
    mp_arena_init(&s->tomb_arena, 0);
    if (!s->buckets || !s->tmpkey || !s->outkey) {
        mp_sessions_free(s);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    *out = s;
    return 0;
}

static void sess_free(sess *x)
{
    mp_arena_free(&x->arena);
    free(x);
}

static void skey_free(skey *k)
{
    for (size_t i = 0; i < k->n; i++)
        sess_free(k->v[i]);
    free(k->v);
    mp_arena_free(&k->arena);
    free(k);
}

void mp_sessions_free(mp_sessions *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->buckets && i < s->nbuckets; i++)
        for (skey *k = s->buckets[i], *nx; k; k = nx) {
            nx = k->next;
            skey_free(k);
        }
    free(s->buckets);
    free(s->tmpkey);
    free(s->outkey);
    free(s->hits);
    free(s->replaced);
    free(s->tombs);
    free(s->dirty);
    mp_arena_free(&s->tomb_arena);
    free(s);
}

static int grow_buckets(mp_sessions *s)
{
    size_t nb = s->nbuckets * 2;
    skey **b = calloc(nb, sizeof *b);
    if (!b)
        return MP_ENOMEM;
    for (size_t i = 0; i < s->nbuckets; i++)
        for (skey *k = s->buckets[i], *nx; k; k = nx) {
            nx = k->next;
            k->next = b[k->hash & (nb - 1)];
            b[k->hash & (nb - 1)] = k;
        }
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = nb;
    return 0;
}

static skey *find_key(mp_sessions *s, const mp_value *key, uint64_t h)
{
    size_t n = nkey(s);
    for (skey *k = s->buckets[h & (s->nbuckets - 1)]; k; k = k->next) {
        if (k->hash != h)
            continue;
        size_t i = 0;
        while (i < n && mp_value_equal(&k->key[i], &key[i]))
            i++;
        if (i == n)
            return k;
    }
    return NULL;
}

static skey *insert_key(mp_sessions *s, const mp_value *key, uint64_t h)
{
    if (s->nkeys >= s->nbuckets && grow_buckets(s))
        return NULL;
    skey *k = calloc(1, sizeof *k);
    if (!k)
        return NULL;
    mp_arena_init(&k->arena, 128);
    size_t n = nkey(s);
    k->key = mp_arena_alloc(&k->arena, (n + 1) * sizeof *k->key);
    for (size_t i = 0; k->key && i < n; i++)
        if (mp_value_copy(&key[i], &k->arena, &k->key[i])) {
            k->key = NULL;
            break;
        }
    if (!k->key) {
        skey_free(k);
        return NULL;
    }
    k->hash = h;
    k->next = s->buckets[h & (s->nbuckets - 1)];
    s->buckets[h & (s->nbuckets - 1)] = k;
    s->nkeys++;
    return k;
}

static void unlink_key(mp_sessions *s, skey *k)
{
    skey **link = &s->buckets[k->hash & (s->nbuckets - 1)];
    while (*link != k)
        link = &(*link)->next;
    *link = k->next;
    s->nkeys--;
    skey_free(k);
}

static int before(const sess *a, int64_t start, int64_t end)
{
    return a->end < end || (a->end == end && a->start < start);
}

/* Puts x into k's sorted list, replacing a session with the same window. */
static int place(skey *k, sess *x, sess **old)
{
    size_t lo = 0, hi = k->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (before(k->v[mid], x->start, x->end))
            lo = mid + 1;
        else
            hi = mid;
    }
    *old = NULL;
    if (lo < k->n && k->v[lo]->start == x->start && k->v[lo]->end == x->end) {
        *old = k->v[lo];
        k->v[lo] = x;
        return 0;
    }
    if (k->n == k->cap) {
        size_t nc = k->cap ? 2 * k->cap : 4;
        sess **nv = realloc(k->v, nc * sizeof *nv);
        if (!nv)
            return MP_ENOMEM;
        k->v = nv;
        k->cap = nc;
    }
    memmove(k->v + lo + 1, k->v + lo, (k->n - lo) * sizeof *k->v);
    k->v[lo] = x;
    k->n++;
    return 0;
}

/* Forgets session x, which no longer needs writing. */
static void drop_dirty(mp_sessions *s, sess *x)
{
    if (x->dirty)
        s->dirty[x->dirty - 1].s = NULL;
    x->dirty = 0;
}

static int mark_dirty(mp_sessions *s, skey *k, sess *x)
{
    if (!s->changelog || x->dirty)
        return 0;
    if (s->ndirty == s->dcap) {
        size_t nc = s->dcap ? 2 * s->dcap : 64;
        dirty_ref *nd = realloc(s->dirty, nc * sizeof *nd);
        if (!nd)
            return MP_ENOMEM;
        s->dirty = nd;
        s->dcap = nc;
    }
    s->dirty[s->ndirty++] = (dirty_ref){k, x};
    x->dirty = s->ndirty;
    return 0;
}

static int add_tomb(mp_sessions *s, const skey *k, int64_t start, int64_t end)
{
    if (!s->changelog)
        return 0;
    size_t n = nkey(s) + 2;
    if (s->ntombs == s->tcap) {
        size_t nc = s->tcap ? 2 * s->tcap : 16;
        mp_value *nt = realloc(s->tombs, nc * n * sizeof *nt);
        if (!nt)
            return MP_ENOMEM;
        s->tombs = nt;
        s->tcap = nc;
    }
    mp_value *t = s->tombs + s->ntombs * n;
    for (size_t i = 0; i < nkey(s); i++)
        if (mp_value_copy(&k->key[i], &s->tomb_arena, &t[i]))
            return MP_ENOMEM;
    t[n - 2] = mp_v_bigint(start);
    t[n - 1] = mp_v_bigint(end);
    s->ntombs++;
    return 0;
}

static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

static sess *new_session(int64_t start, int64_t end, const mp_value *states, size_t na)
{
    sess *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    mp_arena_init(&x->arena, 256);
    x->start = start;
    x->end = end;
    x->state = mp_arena_alloc(&x->arena, (na + 1) * sizeof *x->state);
    for (size_t i = 0; x->state && i < na; i++)
        if (mp_value_copy(&states[i], &x->arena, &x->state[i])) {
            x->state = NULL;
            break;
        }
    if (!x->state) {
        sess_free(x);
        return NULL;
    }
    return x;
}

int mp_sessions_add(mp_sessions *s, mp_value *row, int64_t stream_time, mp_fn_ctx *cx,
                    const mp_session_win **replaced, size_t *n_replaced, mp_error *e)
{
    const mp_splan *p = s->p;
    size_t na = p->aggs.n;
    int64_t ts = row[MP_ROW_ROWTIME].u.i64, gap = p->win_size;
    int rc;
    *replaced = NULL;
    *n_replaced = 0;
    for (size_t i = 0; i < p->ngroup; i++)
        if ((rc = mp_sql_eval(p->group[i], row, cx, &s->tmpkey[i])) < 0)
            return rc;
    uint64_t h = mp_values_hash(s->tmpkey, nkey(s));
    skey *k = find_key(s, s->tmpkey, h);
    int64_t start = ts, end = ts;
    size_t nh = 0;
    for (size_t i = 0; k && i < k->n; i++) {
        const sess *x = k->v[i];
        if (mp_splan_window_expired(p, x->start, x->end, stream_time) ||
            sat_add(x->end, gap) < ts || x->start > sat_add(ts, gap))
            continue;
        if (nh == s->hcap) {
            size_t nc = s->hcap ? 2 * s->hcap : 8;
            size_t *hv = realloc(s->hits, nc * sizeof *hv);
            if (!hv)
                return mp_error_set(e, MP_ENOMEM, "out of memory");
            s->hits = hv;
            s->hcap = nc;
        }
        s->hits[nh++] = i;
        if (x->start < start)
            start = x->start;
        if (x->end > end)
            end = x->end;
    }
    if (mp_splan_window_late(p, start, end, stream_time))
        return 0;
    /* The states of the sessions merged (oldest end first), then the
     * record: everything is computed before anything changes, so an error
     * leaves the sessions as they were. */
    mp_value *st = mp_arena_alloc(cx->arena, (na + 1) * sizeof *st);
    if (!st)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    row[p->ws_slot] = mp_v_bigint(start);
    row[p->ws_slot + 1] = mp_v_bigint(end);
    for (size_t j = 0; j < na; j++) {
        const mp_sql_agg_call *c = &p->aggs.calls[j];
        st[j] = mp_v_null_of(c->impl.state_type);
        if (c->impl.init && (rc = c->impl.init(cx, &st[j], c->impl.data)))
            return rc;
        for (size_t i = 0; i < nh; i++)
            if ((rc = c->impl.merge(cx, &st[j], &k->v[s->hits[i]]->state[j], c->impl.data)))
                return rc;
        mp_value args[8];
        if (c->nargs > 8)
            return mp_error_set(e, MP_EINVAL, "%s: too many arguments", c->def->name);
        for (size_t i = 0; i < c->nargs; i++)
            if ((rc = mp_sql_eval(c->args[i], row, cx, &args[i])) < 0)
                return rc;
        if ((rc = c->impl.add(cx, &st[j], args, c->nargs, c->impl.data)))
            return rc;
    }
    sess *x = new_session(start, end, st, na);
    if (!x)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    if (!k && !(k = insert_key(s, s->tmpkey, h))) {
        sess_free(x);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    /* A record alone at the time of an existing single-point session
     * updates it in place; anything else replaces what it merged. */
    int same = start == ts && end == ts;
    if (!same && nh > s->rcap) {
        mp_session_win *nr = realloc(s->replaced, nh * sizeof *nr);
        if (!nr) {
            sess_free(x);
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        }
        s->replaced = nr;
        s->rcap = nh;
    }
    size_t nrep = 0;
    for (size_t i = nh; i-- > 0;) {
        size_t at = s->hits[i];
        sess *old = k->v[at];
        if (!same) {
            s->replaced[i] = (mp_session_win){old->start, old->end};
            nrep++;
            if (add_tomb(s, k, old->start, old->end)) {
                sess_free(x);
                return mp_error_set(e, MP_ENOMEM, "out of memory");
            }
        }
        drop_dirty(s, old);
        sess_free(old);
        memmove(k->v + at, k->v + at + 1, (k->n - at - 1) * sizeof *k->v);
        k->n--;
    }
    sess *old = NULL;
    if (place(k, x, &old) || mark_dirty(s, k, x)) {
        sess_free(x);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    if (old) {
        drop_dirty(s, old);
        sess_free(old);
    }
    for (size_t j = 0; j < na; j++) {
        const mp_agg_impl *im = &p->aggs.calls[j].impl;
        if ((rc = im->result(cx, &x->state[j], &row[p->nscope + j], im->data)))
            return rc;
    }
    *replaced = s->replaced;
    *n_replaced = nrep;
    return 1;
}

int mp_sessions_take_change(mp_sessions *s, const mp_value **key, const mp_value **state)
{
    size_t n = nkey(s) + 2;
    if (s->tnext < s->ntombs) {
        *key = s->tombs + s->tnext++ * n;
        *state = NULL;
        return 1;
    }
    while (s->dnext < s->ndirty) {
        dirty_ref d = s->dirty[s->dnext++];
        if (!d.s)
            continue;
        d.s->dirty = 0;
        memcpy(s->outkey, d.k->key, nkey(s) * sizeof *s->outkey);
        s->outkey[n - 2] = mp_v_bigint(d.s->start);
        s->outkey[n - 1] = mp_v_bigint(d.s->end);
        *key = s->outkey;
        *state = d.s->state;
        return 1;
    }
    s->ntombs = s->tnext = 0;
    s->ndirty = s->dnext = 0;
    mp_arena_reset(&s->tomb_arena);
    return 0;
}

int mp_sessions_evict(mp_sessions *s, int64_t stream_time,
                      int (*on_evict)(void *ctx, const mp_value *key), void *ctx)
{
    size_t n = nkey(s) + 2;
    for (size_t b = 0; b < s->nbuckets; b++) {
        skey *k = s->buckets[b], *nx;
        for (; k; k = nx) {
            nx = k->next;
            size_t w = 0;
            for (size_t i = 0; i < k->n; i++) {
                sess *x = k->v[i];
                /* Changed sessions stay until their change is written. */
                if (x->dirty || !mp_splan_window_expired(s->p, x->start, x->end, stream_time)) {
                    k->v[w++] = x;
                    continue;
                }
                if (on_evict) {
                    memcpy(s->outkey, k->key, nkey(s) * sizeof *s->outkey);
                    s->outkey[n - 2] = mp_v_bigint(x->start);
                    s->outkey[n - 1] = mp_v_bigint(x->end);
                    int rc = on_evict(ctx, s->outkey);
                    if (rc) {
                        /* Keep the rest as they are. */
                        for (size_t j = i; j < k->n; j++)
                            k->v[w++] = k->v[j];
                        k->n = w;
                        return rc;
                    }
                }
                sess_free(x);
            }
            k->n = w;
            if (!k->n)
                unlink_key(s, k);
        }
    }
    return 0;
}

int mp_sessions_restore(mp_sessions *s, const mp_value *key, const mp_value *state, mp_error *e)
{
    size_t n = nkey(s);
    int64_t start = key[n].u.i64, end = key[n + 1].u.i64;
    if (key[n].null || key[n + 1].null)
        return 0;
    uint64_t h = mp_values_hash(key, n);
    skey *k = find_key(s, key, h);
    if (!state) {
        for (size_t i = 0; k && i < k->n; i++) {
            if (k->v[i]->start != start || k->v[i]->end != end)
                continue;
            sess_free(k->v[i]);
            memmove(k->v + i, k->v + i + 1, (k->n - i - 1) * sizeof *k->v);
            if (!--k->n)
                unlink_key(s, k);
            break;
        }
        return 0;
    }
    sess *x = new_session(start, end, state, s->p->aggs.n);
    if (!x || (!k && !(k = insert_key(s, key, h)))) {
        if (x)
            sess_free(x);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    sess *old = NULL;
    if (place(k, x, &old)) {
        sess_free(x);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    if (old)
        sess_free(old);
    return 0;
}
