/* Persistent queries: a thread per query reads its source's partitions
 * from the offsets its consumer group (named after the query) committed,
 * writes the projected rows into the sink's topic, and commits the input
 * offsets only after the output is written: at-least-once, so a process
 * killed between the two re-reads and re-writes a little, and never loses
 * a record. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "log/log.h"
#include "stream/engine_internal.h"

/* Bytes fetched per partition per round, and the longest wait. */
#define FETCH_BYTES (1u << 20)
#define WAIT_MS 200

struct mp_pquery {
    mp_engine *en;
    char *id, *sql;
    mp_splan plan;
    mp_source *sink; /* borrowed from the catalog */
    pthread_t thread;
    atomic_int stop, failed;
    atomic_uint_least64_t in, out, errors, late;
    int64_t *resume; /* per partition: the input position the changelog covers */
    int32_t nresume;
    /* GROUP BY: the groups, and their changelog (a compacted topic whose
     * records are a group's key and aggregate states, read back at start). */
    mp_aggregator *agg;
    mp_sessions *sess; /* WINDOW SESSION: the sessions instead of agg */
    int64_t stream_time; /* restored from the changelog's position markers */
    char *changelog;
    mp_schema *cl_schema; /* G0.. (keys), S0.. (states) */
    mp_codec *cl_key, *cl_value;
    /* GROUP BY over a table: each source key's previous row, kept in the
     * same changelog under "__prev_" and the record key's bytes. */
    mp_tprev *tprev;
    mp_schema *cl_prev_schema; /* P0.. (the input row) */
    mp_codec *cl_prev;
};

#define PREV_PREFIX "__prev_"
#define PREV_PREFIX_LEN 7

/* Key columns of a changelog record: the grouping expressions, then the
 * window start (and a session's end). */
static size_t cl_nkey(const mp_splan *p)
{
    return p->ngroup + (p->windowed ? (p->session ? 2 : 1) : 0);
}

/* Grows an array of records to hold at least need. */
static int reserve(mp_record **recs, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 64;
    while (nc < need)
        nc *= 2;
    mp_record *nr = realloc(*recs, nc * sizeof *nr);
    if (!nr)
        return MP_ENOMEM;
    *recs = nr;
    *cap = nc;
    return 0;
}

/* Schema and codecs of a grouped query's changelog. */
static int changelog_setup(mp_pquery *q, mp_error *e)
{
    const mp_splan *p = &q->plan;
    char name[64];
    int rc;
    if (!(q->cl_schema = mp_schema_create()))
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    for (size_t i = 0; i < p->ngroup; i++) {
        snprintf(name, sizeof name, "G%zu", i);
        mp_type *t = mp_type_clone(mp_sql_cexpr_type(p->group[i]));
        if ((rc = mp_schema_add(q->cl_schema, name, t, MP_COL_KEY, e)))
            return rc;
    }
    if (p->windowed && (rc = mp_schema_add(q->cl_schema, "WINDOWSTART", mp_type_new(MP_TYPE_BIGINT),
                                           MP_COL_KEY, e)))
        return rc;
    if (p->session && (rc = mp_schema_add(q->cl_schema, "WINDOWEND", mp_type_new(MP_TYPE_BIGINT),
                                          MP_COL_KEY, e)))
        return rc;
    for (size_t i = 0; i < p->aggs.n; i++) {
        snprintf(name, sizeof name, "S%zu", i);
        mp_type *t = mp_type_clone(p->aggs.calls[i].impl.state_type);
        if (!t)
            t = mp_type_new(MP_TYPE_BIGINT);
        if ((rc = mp_schema_add(q->cl_schema, name, t, MP_COL_VALUE, e)))
            return rc;
    }
    mp_codec_opts o = {.format = MP_FORMAT_JSON, .internal = true};
    if ((rc = mp_codec_create(q->cl_schema, MP_COL_KEY, &o, &q->cl_key, e)) ||
        (rc = mp_codec_create(q->cl_schema, MP_COL_VALUE, &o, &q->cl_value, e)))
        return rc;
    if (q->tprev) {
        if (!(q->cl_prev_schema = mp_schema_create()))
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        for (size_t i = 0; i < mp_tprev_nvals(q->tprev); i++) {
            snprintf(name, sizeof name, "P%zu", i);
            mp_type *t = mp_type_clone(p->scope[i].type);
            if ((rc = mp_schema_add(q->cl_prev_schema, name, t, MP_COL_VALUE, e)))
                return rc;
        }
        if ((rc = mp_codec_create(q->cl_prev_schema, MP_COL_VALUE, &o, &q->cl_prev, e)))
            return rc;
    }
    size_t len = strlen(q->id) + 32;
    if (!(q->changelog = malloc(len)))
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    snprintf(q->changelog, len, "_mlpipe_%s_changelog", q->id);
    int32_t have = 0;
    if (mp_log_partition_count(q->en->log, q->changelog, &have, NULL) == 0)
        return 0;
    const char *cfg[] = {"cleanup.policy=compact"};
    return mp_log_topic_create(q->en->log, q->changelog, 1, cfg, 1, e);
}

/* Rebuilds the groups from the changelog: the last record per key wins. */
static int changelog_restore(mp_pquery *q, mp_error *e)
{
    mp_log *log = q->en->log;
    size_t ncols = q->cl_schema->ncols, nk = cl_nkey(&q->plan);
    mp_value *row = calloc(ncols ? ncols : 1, sizeof *row);
    mp_arena a;
    mp_arena_init(&a, 0);
    mp_log_fetch_result fr = {0};
    int64_t off = 0, latest = 0;
    int rc = row ? mp_log_offsets(log, q->changelog, 0, &off, &latest, e)
                 : mp_error_set(e, MP_ENOMEM, "out of memory");
    while (!rc && off < latest) {
        if ((rc = mp_log_fetch(log, q->changelog, 0, off, 1u << 20, &fr, e)))
            break;
        for (size_t i = 0; i < fr.n && !rc; i++) {
            const mp_record *r = &fr.recs[i];
            mp_arena_reset(&a);
            if (r->key_len > 11 && !memcmp(r->key, "__position_", 11) && r->value_len > 0) {
                /* A position marker: the states so far include every
                 * input record before this offset, and stream time was
                 * what it says (older markers have none). */
                int part = -1;
                long long o = -1, st = 0;
                char buf[160];
                size_t l = (size_t)r->value_len < sizeof buf - 1 ? (size_t)r->value_len : sizeof buf - 1;
                memcpy(buf, r->value, l);
                buf[l] = 0;
                int got = sscanf(buf, "{\"partition\":%d,\"offset\":%lld,\"stream_time\":%lld}",
                                 &part, &o, &st);
                if (got == 3 && st > q->stream_time)
                    q->stream_time = st;
                if (got >= 2 && part >= 0 && part < 100000) {
                    if (part >= q->nresume) {
                        int64_t *nr = realloc(q->resume, (size_t)(part + 1) * sizeof *nr);
                        if (!nr) {
                            rc = mp_error_set(e, MP_ENOMEM, "out of memory");
                            break;
                        }
                        for (int32_t k = q->nresume; k <= part; k++)
                            nr[k] = -1;
                        q->resume = nr;
                        q->nresume = part + 1;
                    }
                    q->resume[part] = o;
                }
                continue;
            }
            if (r->key_len < 0)
                continue;
            if (q->tprev && r->key_len >= PREV_PREFIX_LEN &&
                !memcmp(r->key, PREV_PREFIX, PREV_PREFIX_LEN)) {
                /* A table source key's previous row (or its deletion). */
                const uint8_t *k = r->key + PREV_PREFIX_LEN;
                size_t kl = (size_t)r->key_len - PREV_PREFIX_LEN;
                mp_value *prow = NULL;
                if (r->value_len >= 0) {
                    size_t nv = mp_tprev_nvals(q->tprev);
                    prow = mp_arena_alloc(&a, (nv + 1) * sizeof *prow);
                    if (!prow) {
                        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
                        break;
                    }
                    if (mp_codec_decode(q->cl_prev, r->value, (size_t)r->value_len, &a, prow, e) < 0) {
                        mp_error_prefix(e, "%s@%lld", q->changelog, (long long)r->offset);
                        rc = MP_EFORMAT;
                        break;
                    }
                }
                rc = mp_tprev_put(q->tprev, k, kl, prow, e);
                continue;
            }
            if (r->value_len < 0) {
                /* An evicted window's tombstone. */
                if (mp_codec_decode(q->cl_key, r->key, (size_t)r->key_len, &a, row, e) >= 0) {
                    if (q->sess)
                        mp_sessions_restore(q->sess, row, NULL, e);
                    else
                        mp_aggregator_remove(q->agg, row);
                }
                continue;
            }
            if (mp_codec_decode(q->cl_key, r->key, (size_t)r->key_len, &a, row, e) < 0 ||
                mp_codec_decode(q->cl_value, r->value, (size_t)r->value_len, &a, row, e) < 0) {
                mp_error_prefix(e, "%s@%lld", q->changelog, (long long)r->offset);
                rc = MP_EFORMAT;
                break;
            }
            rc = q->sess ? mp_sessions_restore(q->sess, row, row + nk, e)
                         : mp_aggregator_restore(q->agg, row, row + nk, e);
        }
        off = fr.next_offset;
    }
    mp_log_fetch_result_free(&fr);
    mp_arena_free(&a);
    free(row);
    /* What was restored is already in the changelog. */
    const void *pk;
    size_t pkl;
    const mp_value *pr;
    while (q->tprev && mp_tprev_take_change(q->tprev, &pk, &pkl, &pr))
        ;
    return rc;
}

const char *mp_pquery_id(const mp_pquery *q) { return q->id; }
const char *mp_pquery_sql(const mp_pquery *q) { return q->sql; }
const char *mp_pquery_sink(const mp_pquery *q) { return q->sink->name; }
const char *mp_pquery_source(const mp_pquery *q) { return q->plan.src->name; }
const char *mp_pquery_source2(const mp_pquery *q) { return q->plan.rsrc ? q->plan.rsrc->name : NULL; }

const char *mp_pquery_source_at(const mp_pquery *q, size_t k)
{
    if (k == 0)
        return q->plan.src->name;
    if (k == 1)
        return mp_pquery_source2(q);
    return k - 2 < q->plan.nsteps ? q->plan.steps[k - 2].src->name : NULL;
}

void mp_pquery_stats(const mp_pquery *q, uint64_t *in, uint64_t *out, uint64_t *errors)
{
    *in = atomic_load(&q->in);
    *out = atomic_load(&q->out);
    *errors = atomic_load(&q->errors);
}

/* Encodes one output row as a record for the sink. */
static int encode_row(const mp_source *sink, const mp_value *row, mp_buf *kb, mp_buf *vb,
                      mp_record *rec, int64_t ts, mp_error *e)
{
    memset(rec, 0, sizeof *rec);
    rec->timestamp = ts;
    rec->key_len = -1;
    rec->value_len = -1;
    int rc;
    if (sink->key_codec && mp_codec_ncols(sink->key_codec) &&
        !mp_codec_encode_is_null(sink->key_codec, row)) {
        size_t k0 = kb->len;
        if ((rc = mp_codec_encode(sink->key_codec, row, kb, e)))
            return rc;
        rec->key = (const uint8_t *)(uintptr_t)k0; /* an offset until the buffer stops moving */
        rec->key_len = (int32_t)(kb->len - k0);
    }
    if (sink->value_codec && !mp_codec_encode_is_null(sink->value_codec, row)) {
        size_t v0 = vb->len;
        if ((rc = mp_codec_encode(sink->value_codec, row, vb, e)))
            return rc;
        rec->value = (const uint8_t *)(uintptr_t)v0;
        rec->value_len = (int32_t)(vb->len - v0);
    }
    return 0;
}

/* Tombstones for evicted windows, collected then written in one batch. */
typedef struct evict_ctx {
    mp_pquery *q;
    mp_buf keys;
    size_t n, cap;
    size_t *off, *len;
    mp_value *row;
    mp_error *e;
} evict_ctx;

static int on_evict(void *ctx, const mp_value *key)
{
    evict_ctx *x = ctx;
    if (x->n == x->cap) {
        size_t nc = x->cap ? 2 * x->cap : 64;
        size_t *no = realloc(x->off, nc * sizeof *no), *nl = no ? realloc(x->len, nc * sizeof *nl) : NULL;
        if (no)
            x->off = no;
        if (!nl)
            return MP_ENOMEM;
        x->len = nl;
        x->cap = nc;
    }
    size_t nk = cl_nkey(&x->q->plan);
    memcpy(x->row, key, nk * sizeof *x->row);
    size_t k0 = x->keys.len;
    int rc = mp_codec_encode(x->q->cl_key, x->row, &x->keys, x->e);
    if (rc)
        return rc;
    x->off[x->n] = k0;
    x->len[x->n] = x->keys.len - k0;
    x->n++;
    return 0;
}

/* Windowed aggregations: forgets windows closed in stream time, and writes
 * a tombstone for each to the changelog so a restart does not bring them
 * back (memory stays bounded by the open windows). */
static int evict_closed(mp_pquery *q, int64_t stream_time, mp_value *row, mp_error *e)
{
    evict_ctx x = {.q = q, .row = row, .e = e};
    int rc = q->sess ? mp_sessions_evict(q->sess, stream_time, on_evict, &x)
                     : mp_aggregator_evict(q->agg, stream_time, on_evict, &x);
    mp_record *recs = rc || !x.n ? NULL : calloc(x.n, sizeof *recs);
    if (!rc && x.n && !recs)
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
    for (size_t i = 0; recs && i < x.n; i++)
        recs[i] = (mp_record){.timestamp = -1, .key = (const uint8_t *)x.keys.data + x.off[i],
                              .key_len = (int32_t)x.len[i], .value_len = -1};
    if (recs)
        rc = mp_log_produce_batch(q->en->log, q->changelog, 0, recs, x.n, NULL, e);
    free(recs);
    free(x.off);
    free(x.len);
    mp_buf_free(&x.keys);
    return rc;
}

/* Counts a record that failed (decode, expression, encode) and says why
 * in the processing log; the query goes on. */
static void record_error(mp_pquery *q, const char *topic, int32_t partition, int64_t offset,
                         const char *msg)
{
    atomic_fetch_add(&q->errors, 1);
    mp_engine_processing_log(q->en, q->id, topic, partition, offset, msg);
}

/* A write failed: the query stops (its uncommitted input is read again
 * when it next starts) and says why in the processing log. */
static void fail_query(mp_pquery *q, const char *topic, const mp_error *e)
{
    record_error(q, topic, -1, -1, e->msg);
    atomic_store(&q->failed, 1);
}

int mp_pquery_failed(const mp_pquery *q) { return atomic_load(&q->failed); }

uint64_t mp_pquery_late(const mp_pquery *q) { return atomic_load(&q->late); }


/* ---- a persistent join: the shared join loop, writing into the sink ---- */

typedef struct jsink {
    mp_pquery *q;
    mp_value *sout;   /* the sink's columns */
    size_t *slot;     /* output column -> sink column */
    mp_record *recs;
    size_t n, cap;
    mp_buf kb, vb;
    mp_error e;
} jsink;

static int jsink_row(void *ctx, const mp_value *out, int64_t ts, int tombstone)
{
    jsink *x = ctx;
    mp_pquery *q = x->q;
    if (x->n == x->cap) {
        size_t nc = x->cap ? 2 * x->cap : 1024;
        mp_record *nr = realloc(x->recs, nc * sizeof *nr);
        if (!nr) {
            mp_error_set(&x->e, MP_ENOMEM, "out of memory");
            fail_query(q, q->sink->topic, &x->e);
            return 1;
        }
        x->recs = nr;
        x->cap = nc;
    }
    for (size_t c = 0; c < q->plan.nout; c++)
        x->sout[x->slot[c]] = out[c];
    if (encode_row(q->sink, x->sout, &x->kb, &x->vb, &x->recs[x->n], ts, &x->e)) {
        record_error(q, q->sink->topic, -1, -1, x->e.msg);
        return 0;
    }
    /* A table-table result that no longer exists: its key's tombstone. */
    if (tombstone)
        x->recs[x->n].value_len = -1;
    x->n++;
    return 0;
}

/* Output first, then the input positions it includes (at-least-once). */
static int jsink_round_end(void *ctx, const mp_log_offset *pos, size_t n)
{
    jsink *x = ctx;
    mp_pquery *q = x->q;
    for (size_t i = 0; i < x->n; i++) {
        if (x->recs[i].key_len >= 0)
            x->recs[i].key = (const uint8_t *)x->kb.data + (uintptr_t)x->recs[i].key;
        if (x->recs[i].value_len >= 0)
            x->recs[i].value = (const uint8_t *)x->vb.data + (uintptr_t)x->recs[i].value;
    }
    if (x->n && mp_log_produce_batch(q->en->log, q->sink->topic, MP_LOG_ANY_PARTITION, x->recs, x->n,
                                     NULL, &x->e)) {
        fail_query(q, q->sink->topic, &x->e);
        return 1;
    }
    atomic_fetch_add(&q->out, x->n);
    x->n = 0;
    x->kb.len = x->vb.len = 0;
    mp_log_commit(q->en->log, q->id, pos, n, NULL);
    return 0;
}

static int jsink_stopped(void *ctx)
{
    jsink *x = ctx;
    return atomic_load(&x->q->stop) || atomic_load(&x->q->failed);
}

static void jsink_error(void *ctx, const char *topic, int32_t partition, int64_t offset, const char *msg)
{
    jsink *x = ctx;
    record_error(x->q, topic ? topic : x->q->plan.src->topic, partition, offset, msg);
}

static void *run_join(void *arg)
{
    mp_pquery *q = arg;
    jsink x = {.q = q};
    x.sout = calloc(q->sink->schema->ncols + 1, sizeof *x.sout);
    x.slot = calloc(q->plan.nout + 1, sizeof *x.slot);
    if (x.sout && x.slot) {
        for (size_t i = 0; i < q->plan.nout; i++)
            x.slot[i] = (size_t)mp_schema_find(q->sink->schema, q->plan.names[i]);
        mp_join_io io = {.ctx = &x, .row = jsink_row, .round_end = jsink_round_end,
                         .stopped = jsink_stopped, .error = jsink_error, .in = &q->in,
                         .late = &q->late};
        mp_error e = {0};
        if (mp_join_run(q->en, &q->plan, q->id, &io, &e))
            fail_query(q, q->plan.src->topic, &e);
    }
    free(x.sout);
    free(x.slot);
    free(x.recs);
    mp_buf_free(&x.kb);
    mp_buf_free(&x.vb);
    return NULL;
}

/* Appends the window to the key bytes [k0, kb->len) as Kafka's windowed
 * serializers do: a session's end then start (8 bytes big-endian each), a
 * time window's start. */
static void put_window(mp_buf *kb, int64_t start, int64_t end, int session)
{
    uint64_t v[2] = {(uint64_t)(session ? end : start), (uint64_t)start};
    for (int i = 0; i < (session ? 2 : 1); i++)
        for (int b = 7; b >= 0; b--)
            mp_buf_putc(kb, (char)(v[i] >> (8 * b)));
}

/* One record of a session-windowed aggregation: the new session's row
 * (at its end time), preceded by a tombstone for each session it replaced
 * (at that session's end time), as Kafka Streams forwards them. Returns
 * a negative code only when the query cannot go on. */
static int session_record(mp_pquery *q, mp_value *row, int64_t *stream_time, mp_fn_ctx *cx,
                          mp_value *out, const size_t *slot, mp_buf *kb, mp_buf *vb,
                          mp_record **recs, size_t *cap, size_t *nout, int32_t part,
                          int64_t offset, mp_error *e)
{
    const mp_splan *p = &q->plan;
    const char *topic = p->src->topic;
    int64_t ts = row[MP_ROW_ROWTIME].u.i64;
    if (ts > *stream_time)
        *stream_time = ts;
    const mp_session_win *rep = NULL;
    size_t nrep = 0;
    int added = mp_sessions_add(q->sess, row, *stream_time, cx, &rep, &nrep, e);
    if (added < 0) {
        record_error(q, topic, part, offset, e->msg);
        return 0;
    }
    if (added == 0) {
        atomic_fetch_add(&q->late, 1);
        return 0;
    }
    int tombstone = 0;
    if (p->having) {
        int ok = mp_sql_eval_cond(p->having, row, cx);
        if (ok < 0)
            record_error(q, topic, part, offset, e->msg);
        tombstone = ok <= 0;
    }
    for (size_t c = 0; c < p->nout; c++) {
        mp_value v;
        if (mp_sql_eval(p->proj[c], row, cx, &v) < 0)
            record_error(q, topic, part, offset, e->msg);
        out[slot[c]] = v;
    }
    if (reserve(recs, cap, *nout + nrep + 1)) {
        mp_error_set(e, MP_ENOMEM, "out of memory");
        fail_query(q, q->sink->topic, e);
        return MP_ENOMEM;
    }
    int64_t start = row[p->ws_slot].u.i64, end = row[p->ws_slot + 1].u.i64;
    mp_record *nr = &(*recs)[*nout + nrep];
    if (encode_row(q->sink, out, kb, vb, nr, end, e)) {
        record_error(q, topic, part, offset, e->msg);
        return 0;
    }
    if (tombstone)
        nr->value_len = -1;
    if (nr->key_len < 0) {
        /* No key: nothing to window, nothing to replace. */
        (*recs)[*nout] = *nr;
        (*nout)++;
        return 0;
    }
    size_t k0 = (size_t)(uintptr_t)nr->key, klen = (size_t)nr->key_len;
    char small[256], *key = klen <= sizeof small ? small : malloc(klen);
    if (!key) {
        mp_error_set(e, MP_ENOMEM, "out of memory");
        fail_query(q, q->sink->topic, e);
        return MP_ENOMEM;
    }
    memcpy(key, kb->data + k0, klen);
    put_window(kb, start, end, 1);
    nr->key_len += 16;
    for (size_t i = 0; i < nrep; i++) {
        size_t t0 = kb->len;
        mp_buf_append(kb, key, klen);
        put_window(kb, rep[i].start, rep[i].end, 1);
        (*recs)[*nout + i] = (mp_record){.timestamp = rep[i].end,
                                         .key = (const uint8_t *)(uintptr_t)t0,
                                         .key_len = (int32_t)(klen + 16), .value_len = -1};
    }
    if (key != small)
        free(key);
    if (kb->oom) {
        mp_error_set(e, MP_ENOMEM, "out of memory");
        fail_query(q, q->sink->topic, e);
        return MP_ENOMEM;
    }
    *nout += nrep + 1;
    return 0;
}

/* One record of an aggregation over a table: the previous row's group
 * (after the row left it) and the new row's group (after it joined),
 * each a row of the result, or a tombstone where HAVING refuses it.
 * row: NULL for a deletion. Negative only when the query cannot go on. */
static int table_agg_record(mp_pquery *q, const mp_record *r, mp_value *row, mp_fn_ctx *cx,
                            mp_value *out, const size_t *slot, mp_buf *kb, mp_buf *vb,
                            mp_record **recs, size_t *cap, size_t *nout, int32_t part,
                            mp_error *e)
{
    const mp_splan *p = &q->plan;
    const char *topic = p->src->topic;
    int64_t ts = r->timestamp;
    mp_tagg_out to;
    if (mp_tagg_update(q->agg, q->tprev, r->key, (size_t)r->key_len, row, ts, cx, &to, e) < 0)
        record_error(q, topic, part, r->offset, e->msg);
    if (reserve(recs, cap, *nout + to.n + 1)) {
        mp_error_set(e, MP_ENOMEM, "out of memory");
        fail_query(q, q->sink->topic, e);
        return MP_ENOMEM;
    }
    for (size_t k = 0; k < to.n; k++) {
        mp_value *orow = to.rows[k];
        int tombstone = 0;
        if (p->having) {
            int ok = mp_sql_eval_cond(p->having, orow, cx);
            if (ok < 0)
                record_error(q, topic, part, r->offset, e->msg);
            tombstone = ok <= 0;
        }
        for (size_t c = 0; c < p->nout; c++) {
            mp_value v;
            if (mp_sql_eval(p->proj[c], orow, cx, &v) < 0)
                record_error(q, topic, part, r->offset, e->msg);
            out[slot[c]] = v;
        }
        mp_record *nr = &(*recs)[*nout];
        if (encode_row(q->sink, out, kb, vb, nr, ts, e)) {
            record_error(q, topic, part, r->offset, e->msg);
            continue;
        }
        if (tombstone)
            nr->value_len = -1;
        (*nout)++;
    }
    return 0;
}

static void *run(void *arg)
{
    mp_pquery *q = arg;
    mp_engine *en = q->en;
    const mp_source *src = q->plan.src;
    int is_table = src->kind == MP_SRC_TABLE;
    int32_t np = src->partitions > 0 ? src->partitions : 1;
    mp_log_offset *pos = calloc((size_t)np, sizeof *pos);
    mp_value *row = calloc(mp_splan_row_slots(&q->plan), sizeof *row);
    mp_value *clrow = calloc(q->cl_schema ? q->cl_schema->ncols + 1 : 1, sizeof *clrow);
    mp_record *clrecs = NULL;
    mp_buf ckb = {0}, cvb = {0};
    size_t maxw = q->plan.windowed
                      ? (size_t)((q->plan.win_size + q->plan.win_advance - 1) / q->plan.win_advance)
                      : 1;
    /* Stream time goes on from where the changelog says it was, so a
     * record is late or not the same way with or without a restart. */
    int64_t stream_time = q->stream_time, evicted_at = INT64_MIN;
    mp_value *out = calloc(q->sink->schema->ncols ? q->sink->schema->ncols : 1, sizeof *out);
    size_t *slot = calloc(q->plan.nout ? q->plan.nout : 1, sizeof *slot);
    mp_record *recs = NULL;
    size_t cap = 0, clcap = 0;
    mp_arena arena;
    mp_arena_init(&arena, 0);
    mp_buf kb = {0}, vb = {0};
    mp_log_fetch_result fr = {0};
    mp_error e = {0};
    if (!pos || !row || !out || !slot || !clrow)
        goto done;
    for (size_t i = 0; i < q->plan.nout; i++)
        slot[i] = (size_t)mp_schema_find(q->sink->schema, q->plan.names[i]);
    for (int32_t p = 0; p < np; p++) {
        int64_t committed = -1, earliest = 0, latest = 0;
        pos[p].topic = src->topic;
        pos[p].partition = p;
        mp_log_committed(en->log, q->id, src->topic, p, &committed, NULL);
        mp_log_offsets(en->log, src->topic, p, &earliest, &latest, NULL);
        pos[p].offset = committed >= 0 ? committed : q->plan.from_earliest ? earliest : latest;
        if (q->resume && p < q->nresume && q->resume[p] > pos[p].offset)
            pos[p].offset = q->resume[p];
    }
    while (!atomic_load(&q->stop) && !atomic_load(&q->failed)) {
        size_t got = 0;
        for (int32_t p = 0; p < np && !atomic_load(&q->stop); p++) {
            if (mp_log_fetch(en->log, src->topic, p, pos[p].offset, FETCH_BYTES, &fr, &e)) {
                if (e.code == MP_ENOTFOUND) {
                    /* Retention moved the start past us: continue from it. */
                    int64_t earliest = 0;
                    mp_log_offsets(en->log, src->topic, p, &earliest, NULL, NULL);
                    if (earliest > pos[p].offset)
                        pos[p].offset = earliest;
                }
                continue;
            }
            if (fr.n == 0 && fr.next_offset == pos[p].offset)
                continue; /* nothing new: no marker, no commit */
            /* A record updates up to maxw windows; + 1: the changelog's
             * position marker. */
            if (reserve(&recs, &cap, fr.n * maxw + 1))
                goto done;
            size_t nout = 0, ncl = 0;
            kb.len = vb.len = ckb.len = cvb.len = 0;
            mp_arena_reset(&arena);
            for (size_t i = 0; i < fr.n; i++) {
                const mp_record *r = &fr.recs[i];
                atomic_fetch_add(&q->in, 1);
                mp_fn_ctx cx = {&arena, &e};
                /* A table's update that deletes its key, or (filtered out)
                 * takes it out of the result: a tombstone, as Kafka
                 * Streams' table filter forwards. */
                int drop = is_table && r->value_len < 0;
                if (drop ? mp_row_decode_key(src, r, p, &arena, row, &e)
                         : mp_row_decode(src, r, p, &arena, row, &e)) {
                    record_error(q, src->topic, p, r->offset, e.msg);
                    continue;
                }
                if ((drop || q->tprev) && r->key_len < 0)
                    continue; /* a table's row needs a key */
                if (q->plan.where && !drop) {
                    int ok = mp_sql_eval_cond(q->plan.where, row, &cx);
                    if (ok < 0) {
                        record_error(q, src->topic, p, r->offset, e.msg);
                    }
                    if (ok <= 0 && !is_table)
                        continue;
                    drop = ok <= 0;
                }
                if (q->tprev) {
                    if (table_agg_record(q, r, drop ? NULL : row, &cx, out, slot, &kb, &vb, &recs,
                                         &cap, &nout, p, &e) < 0)
                        goto done;
                    continue;
                }
                if (q->plan.session) {
                    int rc = session_record(q, row, &stream_time, &cx, out, slot, &kb, &vb, &recs,
                                            &cap, &nout, p, r->offset, &e);
                    if (rc < 0)
                        goto done;
                    continue;
                }
                int64_t starts[MP_MAX_WINDOWS];
                size_t nw = 1;
                if (q->plan.windowed) {
                    int64_t ts = row[MP_ROW_ROWTIME].u.i64;
                    if (ts > stream_time)
                        stream_time = ts;
                    nw = mp_splan_windows(&q->plan, ts, starts, MP_MAX_WINDOWS);
                }
                for (size_t w = 0; w < nw; w++) {
                    if (q->plan.windowed) {
                        /* A window closes grace after its end, in stream time;
                         * records for a closed window are dropped and counted. */
                        if (starts[w] + q->plan.win_size + q->plan.win_grace <= stream_time) {
                            atomic_fetch_add(&q->late, 1);
                            continue;
                        }
                        row[q->plan.ws_slot] = mp_v_bigint(starts[w]);
                        row[q->plan.ws_slot + 1] = mp_v_bigint(starts[w] + q->plan.win_size);
                    }
                    int tombstone = 0;
                    if (q->agg) {
                        const mp_value *gk, *gs;
                        if (mp_aggregator_add(q->agg, row, &cx, &gk, &gs, &e) < 0) {
                            record_error(q, src->topic, p, r->offset, e.msg);
                            continue;
                        }
                        (void)gk;
                        (void)gs;
                        if (q->plan.having) {
                            int ok = mp_sql_eval_cond(q->plan.having, row, &cx);
                            if (ok < 0) {
                                record_error(q, src->topic, p, r->offset, e.msg);
                            }
                            tombstone = ok <= 0;
                        }
                    }
                    mp_tfn_rows tr;
                    if (mp_splan_tfn_expand(&q->plan, row, &cx, &tr) < 0)
                        record_error(q, src->topic, p, r->offset, e.msg);
                    for (size_t t = 0; t < tr.nrows; t++) {
                        if (nout + 1 >= cap) {
                            /* table functions: more output rows than the round planned for */
                            mp_record *nr = realloc(recs, 2 * cap * sizeof *nr);
                            if (!nr)
                                goto done;
                            recs = nr;
                            mp_record *nc = realloc(clrecs, 2 * cap * sizeof *nc);
                            if (!nc)
                                goto done;
                            clrecs = nc;
                            cap *= 2;
                        }
                        mp_splan_tfn_row(&q->plan, &tr, t, row);
                        for (size_t c = 0; c < q->plan.nout; c++) {
                            mp_value v;
                            if (drop && !q->plan.is_key[c]) {
                                out[slot[c]] = mp_v_null_of(mp_sql_cexpr_type(q->plan.proj[c]));
                                continue;
                            }
                            if (mp_sql_eval(q->plan.proj[c], row, &cx, &v) < 0) {
                                record_error(q, src->topic, p, r->offset, e.msg);
                            }
                            out[slot[c]] = v;
                        }
                        if (encode_row(q->sink, out, &kb, &vb, &recs[nout], row[MP_ROW_ROWTIME].u.i64, &e)) {
                            record_error(q, src->topic, p, r->offset, e.msg);
                            continue;
                        }
                        /* A windowed table's key carries its window, as Kafka's
                         * time-windowed serializer writes it: the key's bytes, then
                         * the window start as 8 bytes big-endian. */
                        if (q->plan.windowed && recs[nout].key_len >= 0) {
                            uint64_t ws = (uint64_t)starts[w];
                            for (int b = 7; b >= 0; b--)
                                mp_buf_putc(&kb, (char)(ws >> (8 * b)));
                            recs[nout].key_len += 8;
                        }
                        /* A group HAVING no longer admits leaves the table: a
                         * tombstone for its key, as ksqlDB writes. */
                        if (tombstone || drop)
                            recs[nout].value_len = -1;
                        nout++;
                    }
                }
            }
            /* Offsets into the buffers become pointers once both are final. */
            for (size_t i = 0; i < nout; i++) {
                if (recs[i].key_len >= 0)
                    recs[i].key = (const uint8_t *)kb.data + (uintptr_t)recs[i].key;
                if (recs[i].value_len >= 0)
                    recs[i].value = (const uint8_t *)vb.data + (uintptr_t)recs[i].value;
            }
            /* The changelog gets each changed group's latest state once
             * per round: the topic is compacted, older states are dead. */
            const mp_value *gk, *gs;
            while ((q->agg && mp_aggregator_take_dirty(q->agg, &gk, &gs)) ||
                   (q->sess && mp_sessions_take_change(q->sess, &gk, &gs))) {
                size_t nk = cl_nkey(&q->plan);
                memcpy(clrow, gk, nk * sizeof *clrow);
                if (gs)
                    memcpy(clrow + nk, gs, q->plan.aggs.n * sizeof *clrow);
                size_t k0 = ckb.len, v0 = cvb.len;
                if (reserve(&clrecs, &clcap, ncl + 2)) {
                    mp_error_set(&e, MP_ENOMEM, "out of memory");
                    fail_query(q, q->changelog, &e);
                    break;
                }
                if (mp_codec_encode(q->cl_key, clrow, &ckb, &e) ||
                    (gs && mp_codec_encode(q->cl_value, clrow, &cvb, &e))) {
                    fail_query(q, q->changelog, &e);
                    break;
                }
                /* A session merged away: its tombstone. */
                clrecs[ncl++] = (mp_record){.timestamp = -1,
                                            .key = (const uint8_t *)(uintptr_t)k0,
                                            .key_len = (int32_t)(ckb.len - k0),
                                            .value = (const uint8_t *)(uintptr_t)v0,
                                            .value_len = gs ? (int32_t)(cvb.len - v0) : -1};
            }
            /* The table's previous rows that changed, in the same batch as
             * the groups and the position marker, so a restart never has
             * one without the other. */
            const void *pk;
            size_t pkl;
            const mp_value *pr;
            while (!atomic_load(&q->failed) && q->tprev &&
                   mp_tprev_take_change(q->tprev, &pk, &pkl, &pr)) {
                size_t k0 = ckb.len, v0 = cvb.len;
                if (reserve(&clrecs, &clcap, ncl + 2)) {
                    mp_error_set(&e, MP_ENOMEM, "out of memory");
                    fail_query(q, q->changelog, &e);
                    break;
                }
                mp_buf_append(&ckb, PREV_PREFIX, PREV_PREFIX_LEN);
                mp_buf_append(&ckb, pk, pkl);
                if (pr && mp_codec_encode(q->cl_prev, pr, &cvb, &e)) {
                    fail_query(q, q->changelog, &e);
                    break;
                }
                clrecs[ncl++] = (mp_record){.timestamp = -1,
                                            .key = (const uint8_t *)(uintptr_t)k0,
                                            .key_len = (int32_t)(ckb.len - k0),
                                            .value = (const uint8_t *)(uintptr_t)v0,
                                            .value_len = pr ? (int32_t)(cvb.len - v0) : -1};
            }
            if (ckb.oom || cvb.oom) {
                mp_error_set(&e, MP_ENOMEM, "out of memory");
                fail_query(q, q->changelog, &e);
            }
            if (atomic_load(&q->failed))
                break;
            if (reserve(&clrecs, &clcap, ncl + 1))
                goto done;
            for (size_t i = 0; i < ncl; i++) {
                clrecs[i].key = (const uint8_t *)ckb.data + (uintptr_t)clrecs[i].key;
                if (clrecs[i].value_len >= 0)
                    clrecs[i].value = (const uint8_t *)cvb.data + (uintptr_t)clrecs[i].value;
            }
            /* Order matters for a crash between any two steps: output
             * first (at-least-once: a crash before the commit re-emits
             * it), then the new states together with the input position
             * they include (a marker record with no key), then the commit.
             * A restart resumes from the later of the commit and the
             * changelog's marker, so no record is counted twice. */
            if (nout && mp_log_produce_batch(en->log, q->sink->topic, MP_LOG_ANY_PARTITION, recs,
                                             nout, NULL, &e)) {
                fail_query(q, q->sink->topic, &e);
                break;
            }
            if (q->agg || q->sess) {
                /* Keyed per partition, so compaction keeps the latest; a
                 * group's key is a JSON object and never looks like this. */
                char mark[128], mkey[32];
                int ml = stream_time == INT64_MIN
                             ? snprintf(mark, sizeof mark, "{\"partition\":%d,\"offset\":%lld}", (int)p,
                                        (long long)fr.next_offset)
                             : snprintf(mark, sizeof mark,
                                        "{\"partition\":%d,\"offset\":%lld,\"stream_time\":%lld}",
                                        (int)p, (long long)fr.next_offset, (long long)stream_time);
                int kl = snprintf(mkey, sizeof mkey, "__position_%d", (int)p);
                clrecs[ncl++] = (mp_record){.timestamp = -1, .key = (const uint8_t *)mkey,
                                            .key_len = kl, .value = (const uint8_t *)mark,
                                            .value_len = ml};
                if (mp_log_produce_batch(en->log, q->changelog, 0, clrecs, ncl, NULL, &e)) {
                    fail_query(q, q->changelog, &e);
                    break;
                }
            }
            atomic_fetch_add(&q->out, nout);
            got += fr.n;
            pos[p].offset = fr.next_offset;
            mp_log_commit(en->log, q->id, &pos[p], 1, NULL);
            /* Every time stream time moves on by a window advance. */
            if ((q->agg || q->sess) && q->plan.windowed && stream_time != INT64_MIN &&
                (evicted_at == INT64_MIN || stream_time - evicted_at >= q->plan.win_advance)) {
                evicted_at = stream_time;
                if (evict_closed(q, stream_time, clrow, &e)) {
                    fail_query(q, q->changelog, &e);
                    break;
                }
            }
        }
        mp_log_fetch_result_free(&fr);
        memset(&fr, 0, sizeof fr);
        if (!got && !atomic_load(&q->stop))
            mp_log_wait(en->log, pos, (size_t)np, WAIT_MS, NULL);
    }
done:
    mp_log_fetch_result_free(&fr);
    mp_buf_free(&kb);
    mp_buf_free(&vb);
    mp_buf_free(&ckb);
    mp_buf_free(&cvb);
    mp_arena_free(&arena);
    free(recs);
    free(clrecs);
    free(clrow);
    free(pos);
    free(row);
    free(out);
    free(slot);
    return NULL;
}

/* Frees what a query owns besides its plan and thread. */
static void pquery_free(mp_pquery *q)
{
    free(q->resume);
    mp_aggregator_free(q->agg);
    mp_sessions_free(q->sess);
    mp_tprev_free(q->tprev);
    mp_codec_destroy(q->cl_prev);
    mp_schema_destroy(q->cl_prev_schema);
    mp_codec_destroy(q->cl_key);
    mp_codec_destroy(q->cl_value);
    mp_schema_destroy(q->cl_schema);
    free(q->changelog);
    free(q->id);
    free(q->sql);
    free(q);
}

int mp_pquery_start(mp_engine *en, const char *id, const char *sql, mp_splan *plan,
                    mp_source *sink, mp_error *e)
{
    mp_pquery *q = calloc(1, sizeof *q);
    mp_pquery **nq = q ? realloc(en->queries, (en->nqueries + 1) * sizeof *nq) : NULL;
    if (nq)
        en->queries = nq;
    if (!q || !nq || !(q->id = strdup(id)) || !(q->sql = strdup(sql))) {
        if (q) {
            free(q->id);
            free(q);
        }
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    q->en = en;
    q->plan = *plan;
    memset(plan, 0, sizeof *plan);
    /* The plan moved: its self-references follow it. */
    q->plan.aggs.input = &q->plan.sc;
    q->plan.agg_sc.aggs = &q->plan.aggs;
    q->sink = sink;
    q->stream_time = INT64_MIN;
    int rc = 0;
    if (q->plan.grouped &&
        ((rc = q->plan.session ? mp_sessions_new(&q->plan, 1, &q->sess, e)
                               : mp_aggregator_new(&q->plan, &q->agg, e)) ||
         (q->plan.src->kind == MP_SRC_TABLE && (rc = mp_tprev_new(&q->plan, 1, &q->tprev, e))) ||
         (rc = changelog_setup(q, e)) || (rc = changelog_restore(q, e)))) {
        *plan = q->plan;
        pquery_free(q);
        return rc;
    }
    if (pthread_create(&q->thread, NULL, q->plan.joined ? run_join : run, q)) {
        *plan = q->plan;
        pquery_free(q);
        return mp_error_set(e, MP_EIO, "cannot start a thread for query %s", id);
    }
    en->queries[en->nqueries++] = q;
    return 0;
}

void mp_pquery_stop(mp_pquery *q)
{
    atomic_store(&q->stop, 1);
    mp_log_wake(q->en->log);
    pthread_join(q->thread, NULL);
    mp_splan_free(&q->plan);
    pquery_free(q);
}
