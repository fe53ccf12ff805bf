/* Persistent queries: a thread per query reads its source's partitions
 * from the offsets its consumer group (named after the query) committed,
 * writes the projected rows into the sink's topic, and commits the input
 * offsets only after the output is written: at-least-once, so a process
 * killed between the two re-reads and re-writes a little, and never loses
 * a record. */
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
    atomic_int stop;
    atomic_uint_least64_t in, out, errors;
};

const char *mp_pquery_id(const mp_pquery *q) { return q->id; }
const char *mp_pquery_sql(const mp_pquery *q) { return q->sql; }
const char *mp_pquery_sink(const mp_pquery *q) { return q->sink->name; }
const char *mp_pquery_source(const mp_pquery *q) { return q->plan.src->name; }

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

static void *run(void *arg)
{
    mp_pquery *q = arg;
    mp_engine *en = q->en;
    const mp_source *src = q->plan.src;
    int32_t np = src->partitions > 0 ? src->partitions : 1;
    mp_log_offset *pos = calloc((size_t)np, sizeof *pos);
    mp_value *row = calloc(q->plan.nscope, sizeof *row);
    mp_value *out = calloc(q->sink->schema->ncols ? q->sink->schema->ncols : 1, sizeof *out);
    size_t *slot = calloc(q->plan.nout ? q->plan.nout : 1, sizeof *slot);
    mp_record *recs = NULL;
    size_t cap = 0;
    mp_arena arena;
    mp_arena_init(&arena, 0);
    mp_buf kb = {0}, vb = {0};
    mp_log_fetch_result fr = {0};
    mp_error e = {0};
    if (!pos || !row || !out || !slot)
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
    }
    while (!atomic_load(&q->stop)) {
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
            if (fr.n > cap) {
                mp_record *nr = realloc(recs, fr.n * sizeof *nr);
                if (!nr)
                    goto done;
                recs = nr;
                cap = fr.n;
            }
            size_t nout = 0;
            kb.len = vb.len = 0;
            mp_arena_reset(&arena);
            for (size_t i = 0; i < fr.n; i++) {
                const mp_record *r = &fr.recs[i];
                atomic_fetch_add(&q->in, 1);
                mp_fn_ctx cx = {&arena, &e};
                if (mp_row_decode(src, r, p, &arena, row, &e)) {
                    atomic_fetch_add(&q->errors, 1);
                    mp_engine_processing_log(en, q->id, src->topic, p, r->offset, e.msg);
                    continue;
                }
                if (q->plan.where) {
                    int ok = mp_sql_eval_cond(q->plan.where, row, &cx);
                    if (ok < 0) {
                        atomic_fetch_add(&q->errors, 1);
                        mp_engine_processing_log(en, q->id, src->topic, p, r->offset, e.msg);
                    }
                    if (ok <= 0)
                        continue;
                }
                for (size_t c = 0; c < q->plan.nout; c++) {
                    mp_value v;
                    if (mp_sql_eval(q->plan.proj[c], row, &cx, &v) < 0) {
                        atomic_fetch_add(&q->errors, 1);
                        mp_engine_processing_log(en, q->id, src->topic, p, r->offset, e.msg);
                    }
                    out[slot[c]] = v;
                }
                if (encode_row(q->sink, out, &kb, &vb, &recs[nout], row[MP_ROW_ROWTIME].u.i64, &e)) {
                    atomic_fetch_add(&q->errors, 1);
                    mp_engine_processing_log(en, q->id, src->topic, p, r->offset, e.msg);
                    continue;
                }
                nout++;
            }
            /* Offsets into the buffers become pointers once both are final. */
            for (size_t i = 0; i < nout; i++) {
                if (recs[i].key_len >= 0)
                    recs[i].key = (const uint8_t *)kb.data + (uintptr_t)recs[i].key;
                if (recs[i].value_len >= 0)
                    recs[i].value = (const uint8_t *)vb.data + (uintptr_t)recs[i].value;
            }
            if (nout && mp_log_produce_batch(en->log, q->sink->topic, MP_LOG_ANY_PARTITION, recs,
                                             nout, NULL, &e)) {
                /* Not committed: the next round re-reads these records. */
                atomic_fetch_add(&q->errors, 1);
                mp_engine_processing_log(en, q->id, q->sink->topic, -1, -1, e.msg);
                continue;
            }
            atomic_fetch_add(&q->out, nout);
            got += fr.n;
            pos[p].offset = fr.next_offset;
            mp_log_commit(en->log, q->id, &pos[p], 1, NULL);
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
    mp_arena_free(&arena);
    free(recs);
    free(pos);
    free(row);
    free(out);
    free(slot);
    return NULL;
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
    q->sink = sink;
    if (pthread_create(&q->thread, NULL, run, q)) {
        *plan = q->plan;
        free(q->id);
        free(q->sql);
        free(q);
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
    free(q->id);
    free(q->sql);
    free(q);
}
