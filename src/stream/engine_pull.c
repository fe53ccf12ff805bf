/* Pull queries: SELECT without EMIT CHANGES answers with a source's
 * current contents and ends, as ksqlDB's pull queries do.
 *
 * A table's state is the latest record per key of its topic (a tombstone
 * deletes), as of the query's start: the end offset of every partition is
 * taken first and nothing after it is read. The engine keeps that state in
 * memory per table (a view) and only reads what was appended since the
 * last pull query, so a query costs the new records plus a scan of the
 * keys, not a read of the whole topic. A lookup of a single key (WHERE
 * key = literal, or key IN (...)) goes to its entries directly.
 *
 * A stream's pull query scans the records its partitions hold at the start
 * (ksqlDB 0.23's stream pull queries) and ends.
 *
 * Views are guarded by the engine's lock; rows are handed to the sink
 * after it is released. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "stream/engine_internal.h"

#define FETCH_BYTES (1u << 20)

/* ---- a table's materialised state: key bytes -> latest record ---- */

typedef struct pentry {
    struct pentry *next;
    uint64_t hash;
    int32_t partition;
    int64_t offset, ts;
    int32_t klen, vlen;
    uint8_t *key, *value; /* one allocation: key then value */
} pentry;

struct mp_pull_view {
    struct mp_pull_view *next;
    char *name, *sql, *topic; /* the source it materialises, as it was created */
    int32_t nparts;
    int64_t *next_off;        /* per partition: the next record to apply */
    size_t nbuckets, n;
    pentry **buckets;
};

static uint64_t bytes_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static void view_clear(mp_pull_view *v)
{
    for (size_t i = 0; v->buckets && i < v->nbuckets; i++)
        for (pentry *x = v->buckets[i], *nx; x; x = nx) {
            nx = x->next;
            free(x);
        }
    free(v->buckets);
    v->buckets = NULL;
    v->n = v->nbuckets = 0;
    free(v->next_off);
    v->next_off = NULL;
    v->nparts = 0;
}

static void view_free(mp_pull_view *v)
{
    view_clear(v);
    free(v->name);
    free(v->sql);
    free(v->topic);
    free(v);
}

void mp_pull_views_free(mp_engine *en)
{
    while (en->pull_views) {
        mp_pull_view *v = en->pull_views;
        en->pull_views = v->next;
        view_free(v);
    }
}

static pentry **view_slot(mp_pull_view *v, const uint8_t *key, int32_t klen, uint64_t h)
{
    pentry **link = &v->buckets[h & (v->nbuckets - 1)];
    for (; *link; link = &(*link)->next)
        if ((*link)->hash == h && (*link)->klen == klen && !memcmp((*link)->key, key, (size_t)klen))
            break;
    return link;
}

static int view_grow(mp_pull_view *v)
{
    size_t nb = v->nbuckets ? v->nbuckets * 2 : 1024;
    pentry **b = calloc(nb, sizeof *b);
    if (!b)
        return MP_ENOMEM;
    for (size_t i = 0; i < v->nbuckets; i++)
        for (pentry *x = v->buckets[i], *nx; x; x = nx) {
            nx = x->next;
            x->next = b[x->hash & (nb - 1)];
            b[x->hash & (nb - 1)] = x;
        }
    free(v->buckets);
    v->buckets = b;
    v->nbuckets = nb;
    return 0;
}

/* Applies one record of the table's topic. */
static int view_apply(mp_pull_view *v, const mp_record *r, int32_t partition)
{
    if (r->key_len < 0)
        return 0; /* a table ignores records without a key */
    if (v->n >= v->nbuckets && view_grow(v))
        return MP_ENOMEM;
    uint64_t h = bytes_hash(r->key, (size_t)r->key_len);
    pentry **link = view_slot(v, r->key, r->key_len, h);
    pentry *old = *link;
    if (old) {
        *link = old->next;
        free(old);
        v->n--;
    }
    if (r->value_len < 0)
        return 0;
    size_t vlen = (size_t)r->value_len;
    pentry *x = malloc(sizeof *x + (size_t)r->key_len + vlen + 1);
    if (!x)
        return MP_ENOMEM;
    x->hash = h;
    x->partition = partition;
    x->offset = r->offset;
    x->ts = r->timestamp;
    x->klen = r->key_len;
    x->vlen = r->value_len;
    x->key = (uint8_t *)(x + 1);
    x->value = x->key + r->key_len;
    memcpy(x->key, r->key, (size_t)r->key_len);
    if (vlen)
        memcpy(x->value, r->value, vlen);
    x->next = v->buckets[h & (v->nbuckets - 1)];
    v->buckets[h & (v->nbuckets - 1)] = x;
    v->n++;
    return 0;
}

/* The view of table s, brought up to the end offsets its partitions have
 * now. Rebuilt from the start when the table was re-created or its topic
 * no longer holds what the view read (deleted, or retention passed it). */
static int view_get(mp_engine *en, const mp_source *s, mp_pull_view **out, mp_error *e)
{
    mp_pull_view *v = en->pull_views;
    while (v && strcmp(v->name, s->name))
        v = v->next;
    if (v && (strcmp(v->sql, s->sql) || strcmp(v->topic, s->topic)))
        view_clear(v);
    if (!v) {
        if (!(v = calloc(1, sizeof *v)))
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        if (!(v->name = strdup(s->name))) {
            free(v);
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        }
        v->next = en->pull_views;
        en->pull_views = v;
    }
    if (!v->sql || strcmp(v->sql, s->sql)) {
        free(v->sql);
        v->sql = strdup(s->sql);
    }
    if (!v->topic || strcmp(v->topic, s->topic)) {
        free(v->topic);
        v->topic = strdup(s->topic);
    }
    if (!v->sql || !v->topic)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    int32_t np = 0;
    int rc = mp_log_partition_count(en->log, s->topic, &np, e);
    if (rc)
        return rc;
    int64_t *earliest = calloc((size_t)np + 1, sizeof *earliest);
    int64_t *latest = calloc((size_t)np + 1, sizeof *latest);
    if (!earliest || !latest) {
        free(earliest);
        free(latest);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    int stale = np != v->nparts;
    for (int32_t p = 0; p < np; p++) {
        mp_log_offsets(en->log, s->topic, p, &earliest[p], &latest[p], NULL);
        if (!stale && (latest[p] < v->next_off[p] || earliest[p] > v->next_off[p]))
            stale = 1;
    }
    if (stale) {
        view_clear(v);
        if (!(v->next_off = calloc((size_t)np + 1, sizeof *v->next_off)))
            rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        v->nparts = np;
        for (int32_t p = 0; !rc && p < np; p++)
            v->next_off[p] = earliest[p];
    }
    if (!rc && !v->buckets && view_grow(v))
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
    mp_log_fetch_result fr = {0};
    for (int32_t p = 0; !rc && p < np; p++) {
        while (!rc && v->next_off[p] < latest[p]) {
            if ((rc = mp_log_fetch(en->log, s->topic, p, v->next_off[p], FETCH_BYTES, &fr, e)))
                break;
            for (size_t i = 0; i < fr.n && !rc; i++)
                if (fr.recs[i].offset < latest[p] && view_apply(v, &fr.recs[i], p))
                    rc = mp_error_set(e, MP_ENOMEM, "out of memory");
            if (fr.next_offset <= v->next_off[p])
                break; /* nothing more to read: a gap (compaction) at the end */
            v->next_off[p] = fr.next_offset < latest[p] ? fr.next_offset : latest[p];
        }
    }
    mp_log_fetch_result_free(&fr);
    free(earliest);
    free(latest);
    if (rc)
        view_clear(v); /* half-applied: read it again next time */
    *out = v;
    return rc;
}

/* ---- checking a pull query ---- */

#define PUSH_HINT "Add EMIT CHANGES if you intended to issue a push query."

static int refuse(const mp_sql_query *q, const char *what, mp_error *e)
{
    return mp_error_set(e, MP_EINVAL, "line %u:%u: Pull queries don't support %s clauses. " PUSH_HINT,
                        q->pos.line, q->pos.col, what);
}

/* ksqlDB's rules: no JOIN, GROUP BY, WINDOW or PARTITION BY; a table must
 * be materialised (CREATE TABLE AS SELECT, or CREATE SOURCE TABLE). */
static int check(mp_engine *en, const mp_sql_query *q, mp_source **src, mp_error *e)
{
    if (q->emit == MP_SQL_EMIT_FINAL)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: EMIT FINAL is only for windowed aggregations "
                            "(push queries)", q->pos.line, q->pos.col);
    if (q->njoins)
        return refuse(q, "JOIN", e);
    if (q->window)
        return refuse(q, "WINDOW", e);
    if (q->has_group_by)
        return refuse(q, "GROUP BY", e);
    if (q->has_partition_by)
        return refuse(q, "PARTITION BY", e);
    if (q->having)
        return refuse(q, "HAVING", e);
    mp_source *s = mp_catalog_find(&en->cat, q->from.name);
    if (!s)
        return mp_error_set(e, MP_ENOTFOUND, "line %u:%u: %s does not exist", q->from.pos.line,
                            q->from.pos.col, q->from.name);
    if (s->kind == MP_SRC_TABLE && !s->derived && !s->is_source)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: The `%s` table isn't queryable. To derive a "
                            "queryable table, you can do 'CREATE TABLE QUERYABLE_%s AS SELECT * FROM "
                            "%s'. " PUSH_HINT, q->from.pos.line, q->from.pos.col, s->name, s->name,
                            s->name);
    *src = s;
    return 0;
}

int mp_pull_validate(mp_engine *en, const mp_sql_query *q, mp_error *e)
{
    mp_source *s = NULL;
    mp_splan plan;
    int rc = check(en, q, &s, e);
    if (!rc && !(rc = mp_splan_build(en, q, &plan, e)))
        mp_splan_free(&plan);
    return rc;
}

/* ---- key lookups ---- */

/* When WHERE is `key = literal` or `key IN (literals)` over a table with
 * one key column (possibly ANDed with other conditions, which WHERE still
 * checks), the literals' key bytes: only those entries can match. Returns
 * the number of keys (0: not a lookup, scan everything). */
static size_t lookup_keys(mp_engine *en, const mp_source *s, const mp_sql_expr *w, mp_buf *keys,
                          size_t *len, size_t max)
{
    if (!w || mp_source_windowed(s) || mp_schema_count(s->schema, MP_COL_KEY) != 1 || !s->key_codec)
        return 0;
    if (w->kind == MP_SQL_EXPR_BINARY && w->op == MP_SQL_OP_AND) {
        size_t n = lookup_keys(en, s, w->a, keys, len, max);
        return n ? n : lookup_keys(en, s, w->b, keys, len, max);
    }
    const mp_sql_expr *col = NULL;
    const mp_sql_expr *const *vals = NULL;
    const mp_sql_expr *one = NULL;
    size_t nvals = 0;
    if (w->kind == MP_SQL_EXPR_BINARY && w->op == MP_SQL_OP_EQ) {
        col = w->a->kind == MP_SQL_EXPR_COLUMN ? w->a : w->b;
        one = col == w->a ? w->b : w->a;
        vals = &one;
        nvals = 1;
    } else if (w->kind == MP_SQL_EXPR_IN && !w->negated && w->a) {
        col = w->a;
        vals = (const mp_sql_expr *const *)w->items;
        nvals = w->n;
    }
    if (!col || col->kind != MP_SQL_EXPR_COLUMN || !nvals || nvals > max)
        return 0;
    int ci = mp_schema_find(s->schema, col->name);
    if (ci < 0 || s->schema->cols[ci].ns != MP_COL_KEY)
        return 0;
    mp_value *row = calloc(s->schema->ncols + 1, sizeof *row);
    if (!row)
        return 0;
    mp_arena a;
    mp_arena_init(&a, 0);
    mp_sql_scope empty = {.fns = en->fns};
    size_t n = 0, start = keys->len;
    for (size_t i = 0; i < nvals; i++) {
        mp_sql_cexpr *ce = NULL;
        mp_value v, cv;
        mp_error ie = {0};
        mp_fn_ctx cx = {&a, &ie};
        for (size_t c = 0; c < s->schema->ncols; c++)
            row[c] = mp_v_null_of(s->schema->cols[c].type);
        /* Only constants: anything else (a column, a failed conversion)
         * leaves the query to the scan. */
        int ok = vals[i]->kind != MP_SQL_EXPR_COLUMN && mp_sql_compile(vals[i], &empty, &ce, &ie) == 0 &&
                 mp_sql_eval(ce, NULL, &cx, &v) == 0 && !v.null &&
                 mp_sql_coerce(&v, s->schema->cols[ci].type, &a, &cv, &ie) == 0;
        if (ok) {
            row[ci] = cv;
            size_t k0 = keys->len;
            ok = mp_codec_encode(s->key_codec, row, keys, &ie) == 0;
            len[n] = keys->len - k0;
        }
        mp_sql_cexpr_free(ce);
        if (!ok) {
            n = 0;
            keys->len = start; /* the other side of an AND starts afresh */
            break;
        }
        n++;
    }
    mp_arena_free(&a);
    free(row);
    return n;
}

/* ---- running ---- */

static int cmp_entry(const void *a, const void *b)
{
    const pentry *x = *(const pentry *const *)a, *y = *(const pentry *const *)b;
    if (x->partition != y->partition)
        return x->partition < y->partition ? -1 : 1;
    int32_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, (size_t)n);
    return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

typedef struct results {
    size_t n, cap, ncols;
    mp_value *v;
    mp_arena arena;
} results;

static int one_output(const mp_splan *p, mp_value *row, mp_value *out, mp_fn_ctx *cx,
                      results *res, const mp_engine_sink *sink, int64_t *emitted, int *failed);

/* Filters and projects one decoded row into res (or the sink directly
 * when res is NULL). Returns 1 when the query is done. */
static int one_row(const mp_splan *p, mp_value *row, mp_value *out, mp_fn_ctx *cx, results *res,
                   const mp_engine_sink *sink, int64_t *emitted, int *failed)
{
    if (p->where && mp_sql_eval_cond(p->where, row, cx) <= 0)
        return 0;
    /* Table functions (EXPLODE) make zero or more rows of each one. */
    mp_tfn_rows tr;
    if (mp_splan_tfn_expand(p, row, cx, &tr) < 0)
        return 0;
    for (size_t t = 0; t < tr.nrows; t++) {
        mp_splan_tfn_row(p, &tr, t, row);
        if (one_output(p, row, out, cx, res, sink, emitted, failed))
            return 1;
    }
    return 0;
}

/* Projects one (expanded) row into res or the sink. */
static int one_output(const mp_splan *p, mp_value *row, mp_value *out, mp_fn_ctx *cx,
                      results *res, const mp_engine_sink *sink, int64_t *emitted, int *failed)
{
    for (size_t c = 0; c < p->nout; c++)
        if (mp_sql_eval(p->proj[c], row, cx, &out[c]) < 0)
            out[c] = mp_v_null_of(mp_sql_cexpr_type(p->proj[c]));
    if (res) {
        if (res->n == res->cap) {
            size_t nc = res->cap ? res->cap * 2 : 64;
            mp_value *nv = realloc(res->v, nc * (p->nout ? p->nout : 1) * sizeof *nv);
            if (!nv) {
                *failed = 1;
                return 1;
            }
            res->v = nv;
            res->cap = nc;
        }
        for (size_t c = 0; c < p->nout; c++)
            if (mp_value_copy(&out[c], &res->arena, &res->v[res->n * p->nout + c])) {
                *failed = 1;
                return 1;
            }
        res->n++;
    } else if (sink && sink->row && sink->row(sink->ctx, p->nout, out)) {
        return 1;
    }
    return p->limit >= 0 && ++*emitted >= p->limit;
}

static void send_header(const mp_engine_sink *sink, const char *qid, const mp_splan *p)
{
    if (!sink || !sink->header)
        return;
    char **types = calloc(p->nout + 1, sizeof *types);
    for (size_t i = 0; types && i < p->nout; i++) {
        mp_buf b = {0};
        mp_type_print(mp_sql_cexpr_type(p->proj[i]), &b);
        types[i] = b.data ? b.data : strdup("?");
    }
    if (types)
        sink->header(sink->ctx, qid, p->nout, (const char *const *)p->names,
                     (const char *const *)types);
    for (size_t i = 0; types && i < p->nout; i++)
        free(types[i]);
    free(types);
}

/* A table: the matching rows are collected under the engine's lock, then
 * sent without it. */
static int pull_table(mp_engine *en, const mp_splan *p, const char *qid, const mp_sql_query *q,
                      const mp_engine_sink *sink, mp_error *e)
{
    mp_pull_view *v = NULL;
    int rc = view_get(en, p->src, &v, e);
    if (rc)
        return rc;
    enum { MAX_LOOKUP = 1024 };
    mp_buf keys = {0};
    size_t klen[MAX_LOOKUP];
    size_t nkeys = lookup_keys(en, p->src, q->where, &keys, klen, MAX_LOOKUP);
    size_t cap = nkeys ? nkeys : v->n;
    pentry **sel = calloc(cap + 1, sizeof *sel);
    mp_value *row = calloc(mp_splan_row_slots(p) + 1, sizeof *row),
             *out = calloc(p->nout + 1, sizeof *out);
    results res = {0};
    mp_arena_init(&res.arena, 0);
    mp_arena a;
    mp_arena_init(&a, 0);
    if (!sel || !row || !out) {
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        goto done;
    }
    size_t n = 0;
    if (nkeys) {
        size_t off = 0;
        for (size_t i = 0; i < nkeys; off += klen[i], i++) {
            const uint8_t *k = (const uint8_t *)keys.data + off;
            pentry *x = *view_slot(v, k, (int32_t)klen[i], bytes_hash(k, klen[i]));
            int dup = 0;
            for (size_t j = 0; x && j < n; j++)
                dup |= sel[j] == x;
            if (x && !dup)
                sel[n++] = x;
        }
    } else {
        for (size_t b = 0; b < v->nbuckets; b++)
            for (pentry *x = v->buckets[b]; x; x = x->next)
                sel[n++] = x;
    }
    /* Partition, then key order, as a scan of ksqlDB's stores gives. */
    qsort(sel, n, sizeof *sel, cmp_entry);
    int64_t emitted = 0;
    int failed = 0;
    for (size_t i = 0; i < n && p->limit != 0; i++) {
        const pentry *x = sel[i];
        mp_record r = {.offset = x->offset, .timestamp = x->ts, .key = x->key, .key_len = x->klen,
                       .value = x->value, .value_len = x->vlen};
        mp_error re = {0};
        mp_fn_ctx cx = {&a, &re};
        mp_arena_reset(&a);
        if (mp_row_decode(p->src, &r, x->partition, &a, row, &re))
            continue; /* the table's own reader logged it */
        if (one_row(p, row, out, &cx, &res, sink, &emitted, &failed))
            break;
    }
    if (failed) {
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        goto done;
    }
    send_header(sink, qid, p);
    pthread_mutex_unlock(&en->mu);
    for (size_t i = 0; i < res.n; i++)
        if (sink && sink->row && sink->row(sink->ctx, p->nout, res.v + i * p->nout))
            break;
    pthread_mutex_lock(&en->mu);
done:
    mp_buf_free(&keys);
    mp_arena_free(&a);
    mp_arena_free(&res.arena);
    free(res.v);
    free(sel);
    free(row);
    free(out);
    return rc;
}

/* A stream: every record its partitions hold now, in partition order. */
static int pull_stream(mp_engine *en, const mp_splan *p, const char *qid, const mp_engine_sink *sink,
                       mp_error *e)
{
    const mp_source *s = p->src;
    int32_t np = s->partitions > 0 ? s->partitions : 1;
    int64_t *from = calloc((size_t)np, sizeof *from), *to = calloc((size_t)np, sizeof *to);
    mp_value *row = calloc(mp_splan_row_slots(p) + 1, sizeof *row),
             *out = calloc(p->nout + 1, sizeof *out);
    if (!from || !to || !row || !out) {
        free(from);
        free(to);
        free(row);
        free(out);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    for (int32_t q = 0; q < np; q++)
        mp_log_offsets(en->log, s->topic, q, &from[q], &to[q], NULL);
    send_header(sink, qid, p);
    pthread_mutex_unlock(&en->mu);
    mp_arena a;
    mp_arena_init(&a, 0);
    mp_log_fetch_result fr = {0};
    int64_t emitted = 0;
    int stop = p->limit == 0, failed = 0;
    for (int32_t q = 0; q < np && !stop; q++) {
        while (!stop && from[q] < to[q]) {
            mp_error fe = {0};
            if (mp_log_fetch(en->log, s->topic, q, from[q], FETCH_BYTES, &fr, &fe) ||
                fr.next_offset <= from[q])
                break;
            for (size_t i = 0; i < fr.n && !stop; i++) {
                if (fr.recs[i].offset >= to[q])
                    break;
                mp_error re = {0};
                mp_fn_ctx cx = {&a, &re};
                mp_arena_reset(&a);
                if (mp_row_decode(s, &fr.recs[i], q, &a, row, &re))
                    continue; /* the stream's readers log bad records */
                stop = one_row(p, row, out, &cx, NULL, sink, &emitted, &failed);
            }
            from[q] = fr.next_offset;
            if (sink && sink->cancelled && sink->cancelled(sink->ctx))
                stop = 1;
        }
    }
    mp_log_fetch_result_free(&fr);
    mp_arena_free(&a);
    pthread_mutex_lock(&en->mu);
    free(from);
    free(to);
    free(row);
    free(out);
    return 0;
}

int mp_pull_run(mp_engine *en, const mp_sql_query *q, const mp_engine_sink *sink, mp_error *e)
{
    mp_source *s = NULL;
    int rc = check(en, q, &s, e);
    if (rc)
        return rc;
    mp_splan plan;
    if ((rc = mp_splan_build(en, q, &plan, e)))
        return rc;
    char qid[300];
    snprintf(qid, sizeof qid, "transient_%s_%ld", s->name, ++en->query_seq);
    rc = s->kind == MP_SRC_TABLE ? pull_table(en, &plan, qid, q, sink, e)
                                 : pull_stream(en, &plan, qid, sink, e);
    if (!rc && sink && sink->message)
        sink->message(sink->ctx, "Query terminated");
    mp_splan_free(&plan);
    return rc;
}
