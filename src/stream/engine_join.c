/* Joins: stream-table, stream-stream (windowed) and table-table, with
 * ksqlDB's semantics, in one loop that push and persistent queries share.
 *
 * Input. Both sources' partitions are read together; among the partitions
 * that have records fetched, the one whose next record has the earliest
 * timestamp goes first (ties: the right input, then the lower partition),
 * which is how Kafka Streams picks between a task's partitions. A round
 * ends when a partition that had records runs out of them; the caller
 * writes the round's output and commits, and the next round fetches again.
 * A partition with nothing new does not hold the others back.
 *
 * State. A table input is materialised as the latest row per key (a
 * tombstone deletes). A stream input of a stream-stream join is kept for
 * its join window (before + after + grace, in stream time: the largest
 * timestamp seen). Neither has a changelog: a persistent query rebuilds
 * its state at start by reading its inputs again up to the committed
 * offsets, without emitting (a table from its first offset, as Kafka
 * Streams restores a source table; a stream from the retention before the
 * last committed record).
 *
 * Not thread-safe: one run per thread. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stream/engine_internal.h"

#define FETCH_BYTES (1u << 20)
#define WAIT_MS 100

/* ---- a materialised table: key -> latest row ---- */

typedef struct trow {
    struct trow *next;
    uint64_t hash;
    int64_t ts;
    mp_arena arena;
    mp_value key;
    mp_value *cols; /* the source's columns */
} trow;

typedef struct jtable {
    size_t ncols, nbuckets, n;
    trow **buckets;
} jtable;

static int jtable_init(jtable *t, size_t ncols)
{
    t->ncols = ncols;
    t->nbuckets = 1024;
    t->n = 0;
    t->buckets = calloc(t->nbuckets, sizeof *t->buckets);
    return t->buckets ? 0 : MP_ENOMEM;
}

static void jtable_free(jtable *t)
{
    for (size_t i = 0; t->buckets && i < t->nbuckets; i++)
        for (trow *r = t->buckets[i], *nx; r; r = nx) {
            nx = r->next;
            mp_arena_free(&r->arena);
            free(r);
        }
    free(t->buckets);
    t->buckets = NULL;
}

static trow *jtable_find(const jtable *t, const mp_value *key, uint64_t h)
{
    for (trow *r = t->buckets[h & (t->nbuckets - 1)]; r; r = r->next)
        if (r->hash == h && mp_value_equal(&r->key, key))
            return r;
    return NULL;
}

static int jtable_grow(jtable *t)
{
    size_t nb = t->nbuckets * 2;
    trow **b = calloc(nb, sizeof *b);
    if (!b)
        return MP_ENOMEM;
    for (size_t i = 0; i < t->nbuckets; i++)
        for (trow *r = t->buckets[i], *nx; r; r = nx) {
            nx = r->next;
            r->next = b[r->hash & (nb - 1)];
            b[r->hash & (nb - 1)] = r;
        }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = nb;
    return 0;
}

/* Stores a copy of cols as key's row. */
static int jtable_put(jtable *t, const mp_value *key, const mp_value *cols, int64_t ts)
{
    uint64_t h = mp_values_hash(key, 1);
    trow *r = jtable_find(t, key, h);
    if (!r) {
        if (t->n >= t->nbuckets && jtable_grow(t))
            return MP_ENOMEM;
        if (!(r = calloc(1, sizeof *r)))
            return MP_ENOMEM;
        mp_arena_init(&r->arena, 256);
        r->hash = h;
        r->next = t->buckets[h & (t->nbuckets - 1)];
        t->buckets[h & (t->nbuckets - 1)] = r;
        t->n++;
    } else {
        /* The new values come from the caller's arena, never this one. */
        mp_arena_reset(&r->arena);
    }
    r->ts = ts;
    r->cols = mp_arena_alloc(&r->arena, (t->ncols + 1) * sizeof *r->cols);
    if (!r->cols || mp_value_copy(key, &r->arena, &r->key))
        return MP_ENOMEM;
    for (size_t i = 0; i < t->ncols; i++)
        if (mp_value_copy(&cols[i], &r->arena, &r->cols[i]))
            return MP_ENOMEM;
    return 0;
}

static void jtable_del(jtable *t, const mp_value *key)
{
    uint64_t h = mp_values_hash(key, 1);
    trow **link = &t->buckets[h & (t->nbuckets - 1)];
    while (*link) {
        trow *r = *link;
        if (r->hash == h && mp_value_equal(&r->key, key)) {
            *link = r->next;
            mp_arena_free(&r->arena);
            free(r);
            t->n--;
            return;
        }
        link = &r->next;
    }
}

/* ---- a stream-stream join's window buffer ---- */

typedef struct srec {
    struct srec *chain;     /* same hash bucket */
    struct srec *older, *newer; /* arrival order, per side */
    uint64_t hash;
    int side;
    int pending;            /* unmatched, waiting for its window to close (outer sides) */
    int64_t ts, offset;
    int32_t partition;
    uint64_t seq;
    mp_arena arena;
    mp_value key;
    mp_value *cols;
} srec;

typedef struct sbuf {
    size_t nbuckets, n;
    srec **buckets;
    srec *oldest, *newest;
} sbuf;

static int sbuf_init(sbuf *b)
{
    memset(b, 0, sizeof *b);
    b->nbuckets = 1024;
    b->buckets = calloc(b->nbuckets, sizeof *b->buckets);
    return b->buckets ? 0 : MP_ENOMEM;
}

static void srec_free(srec *r)
{
    mp_arena_free(&r->arena);
    free(r);
}

static void sbuf_free(sbuf *b)
{
    for (srec *r = b->oldest, *nx; r; r = nx) {
        nx = r->newer;
        srec_free(r);
    }
    free(b->buckets);
    b->buckets = NULL;
}

static void sbuf_unlink(sbuf *b, srec *r)
{
    srec **link = &b->buckets[r->hash & (b->nbuckets - 1)];
    while (*link && *link != r)
        link = &(*link)->chain;
    if (*link)
        *link = r->chain;
    if (r->older)
        r->older->newer = r->newer;
    else
        b->oldest = r->newer;
    if (r->newer)
        r->newer->older = r->older;
    else
        b->newest = r->older;
    b->n--;
}

static int sbuf_grow(sbuf *b)
{
    size_t nb = b->nbuckets * 2;
    srec **nbk = calloc(nb, sizeof *nbk);
    if (!nbk)
        return MP_ENOMEM;
    for (srec *r = b->oldest; r; r = r->newer) {
        r->chain = nbk[r->hash & (nb - 1)];
        nbk[r->hash & (nb - 1)] = r;
    }
    free(b->buckets);
    b->buckets = nbk;
    b->nbuckets = nb;
    return 0;
}

/* ---- the run ---- */

typedef struct jpart {
    const mp_source *src;
    int side;
    int32_t partition;
    int64_t fetch_at;  /* where the next fetch starts */
    int64_t limit;     /* records at or past it wait (restoring); -1: none */
    mp_log_fetch_result fr;
    size_t i, n;       /* next record, records usable in fr */
} jpart;

typedef struct jrun {
    mp_engine *en;
    const mp_splan *p;
    const mp_join_io *io;
    int emitting;      /* 0 while rebuilding state */
    jtable tab[2];     /* table inputs */
    jtable *xtab;      /* a multi-way join's further tables (p->nsteps) */
    sbuf buf[2];       /* stream-stream inputs */
    int64_t stream_time;
    uint64_t seq;
    size_t nparts;
    jpart *parts;
    mp_log_offset *pos;
    mp_value *srow;    /* a decoded input record: pseudo + the larger schema */
    mp_value *jrow;    /* the joined row (p->nscope) */
    mp_value *out;     /* projected (p->nout) */
    mp_arena arena;    /* per round */
    mp_error *e;
    int stop;
} jrun;

static const mp_source *side_src(const jrun *j, int side) { return side ? j->p->rsrc : j->p->src; }

static size_t side_col(const jrun *j, int side) { return side ? j->p->rcol : j->p->lcol; }

/* Sources of a multi-way join: 0 left, 1 right, 2 + k step k. */
static const mp_source *any_src(const jrun *j, int side)
{
    return side < 2 ? side_src(j, side) : j->p->steps[side - 2].src;
}

static size_t any_col(const jrun *j, int side)
{
    return side < 2 ? side_col(j, side) : j->p->steps[side - 2].rcol;
}

static size_t any_base(const jrun *j, int side)
{
    return side == 0 ? j->p->lbase : side == 1 ? j->p->rbase : j->p->steps[side - 2].base;
}

static jtable *any_tab(jrun *j, int side) { return side < 2 ? &j->tab[side] : &j->xtab[side - 2]; }

/* After a stream result: each further table is looked up by its join
 * column's value in the row so far. 0: the row is dropped (an INNER step
 * without a match, or a NULL key that ksqlDB's repartition drops). */
static int lookup_steps(jrun *j)
{
    const mp_splan *p = j->p;
    for (size_t k = 0; k < p->nsteps; k++) {
        const mp_join_step *st = &p->steps[k];
        const mp_value *key = &j->jrow[st->lslot];
        if (key->null && st->rekey)
            return 0;
        trow *r = key->null ? NULL : jtable_find(&j->xtab[k], key, mp_values_hash(key, 1));
        if (!r && st->jtype == MP_SQL_JOIN_INNER)
            return 0;
        for (size_t i = 0; i < st->src->schema->ncols; i++)
            j->jrow[st->base + i] = r ? r->cols[i] : mp_v_null_of(st->src->schema->cols[i].type);
    }
    return 1;
}

static int is_outer_side(const mp_splan *p, int side)
{
    return p->jtype == MP_SQL_JOIN_FULL || (p->jtype == MP_SQL_JOIN_LEFT && side == 0) ||
           (p->jtype == MP_SQL_JOIN_RIGHT && side == 1);
}

/* WHERE, projection and hand-over of one joined row. */
static int emit(jrun *j, int64_t ts, int tombstone)
{
    if (!j->emitting)
        return 0;
    const mp_splan *p = j->p;
    mp_fn_ctx cx = {&j->arena, j->e};
    if (p->nsteps && p->jkind != MP_JOIN_TABLE_TABLE && !lookup_steps(j))
        return 0;
    j->jrow[MP_ROW_ROWTIME] = mp_v_bigint(ts);
    if (p->where && !tombstone) {
        int ok = mp_sql_eval_cond(p->where, j->jrow, &cx);
        if (ok < 0 && j->io->error)
            j->io->error(j->io->ctx, NULL, j->jrow[MP_ROW_ROWPARTITION].u.i32,
                         j->jrow[MP_ROW_ROWOFFSET].u.i64, j->e->msg);
        if (ok <= 0)
            return 0;
    }
    mp_tfn_rows tr;
    if (mp_splan_tfn_expand(p, j->jrow, &cx, &tr) < 0 && j->io->error)
        j->io->error(j->io->ctx, NULL, j->jrow[MP_ROW_ROWPARTITION].u.i32,
                     j->jrow[MP_ROW_ROWOFFSET].u.i64, j->e->msg);
    for (size_t t = 0; t < tr.nrows && !j->stop; t++) {
        mp_splan_tfn_row(p, &tr, t, j->jrow);
        for (size_t c = 0; c < p->nout; c++)
            if (mp_sql_eval(p->proj[c], j->jrow, &cx, &j->out[c]) < 0 && j->io->error)
                j->io->error(j->io->ctx, NULL, j->jrow[MP_ROW_ROWPARTITION].u.i32,
                             j->jrow[MP_ROW_ROWOFFSET].u.i64, j->e->msg);
        if (j->io->row && j->io->row(j->io->ctx, j->out, ts, tombstone))
            j->stop = 1;
    }
    return 0;
}

/* Fills the joined row from each side's columns (NULL: that side is
 * missing) and the triggering record's partition and offset. */
static void join_row(jrun *j, const mp_value *lcols, const mp_value *rcols, int32_t partition,
                     int64_t offset)
{
    const mp_splan *p = j->p;
    j->jrow[MP_ROW_ROWPARTITION] = mp_v_int(partition);
    j->jrow[MP_ROW_ROWOFFSET] = mp_v_bigint(offset);
    for (int s = 0; s < 2; s++) {
        const mp_source *src = side_src(j, s);
        const mp_value *cols = s ? rcols : lcols;
        mp_value *dst = j->jrow + (s ? p->rbase : p->lbase);
        for (size_t i = 0; i < src->schema->ncols; i++)
            dst[i] = cols ? cols[i] : mp_v_null_of(src->schema->cols[i].type);
    }
    if (p->has_rowkey) {
        const mp_value *lk = lcols ? &lcols[p->lcol] : NULL, *rk = rcols ? &rcols[p->rcol] : NULL;
        j->jrow[MP_ROW_PSEUDO] = lk && !lk->null ? *lk
                                 : rk           ? *rk
                                                : mp_v_null_of(p->src->schema->cols[p->lcol].type);
    }
}

/* Stream-table: a table record updates the table; a stream record looks
 * it up as of now. */
static int stream_table(jrun *j, int side, const mp_value *cols, int64_t ts, int tombstone,
                        int32_t partition, int64_t offset)
{
    const mp_splan *p = j->p;
    if (side == 1) {
        const mp_value *key = &cols[p->rcol];
        if (key->null)
            return 0;
        if (tombstone) {
            jtable_del(&j->tab[1], key);
            return 0;
        }
        return jtable_put(&j->tab[1], key, cols, ts) ? mp_error_set(j->e, MP_ENOMEM, "out of memory") : 0;
    }
    const mp_value *key = &cols[p->lcol];
    trow *r = key->null ? NULL : jtable_find(&j->tab[1], key, mp_values_hash(key, 1));
    if (!r && p->jtype != MP_SQL_JOIN_LEFT)
        return 0;
    join_row(j, cols, r ? r->cols : NULL, partition, offset);
    return emit(j, ts, 0);
}

/* Whether the table-table result for a key exists, given which sides
 * have a row. */
static int tt_exists(const mp_splan *p, int have_l, int have_r)
{
    switch (p->jtype) {
    case MP_SQL_JOIN_INNER:
        return have_l && have_r;
    case MP_SQL_JOIN_LEFT:
        return have_l;
    case MP_SQL_JOIN_RIGHT:
        return have_r;
    default:
        return have_l || have_r;
    }
}

/* Table-table: every change on either side re-evaluates the key's result:
 * a row when it exists, a tombstone when it existed and no longer does. */
static int table_table(jrun *j, int side, const mp_value *cols, int64_t ts, int tombstone,
                       int32_t partition, int64_t offset)
{
    const mp_splan *p = j->p;
    const mp_value *key = &cols[side_col(j, side)];
    if (key->null)
        return 0;
    uint64_t h = mp_values_hash(key, 1);
    trow *mine = jtable_find(&j->tab[side], key, h), *other = jtable_find(&j->tab[!side], key, h);
    int before = side ? tt_exists(p, other != NULL, mine != NULL) : tt_exists(p, mine != NULL, other != NULL);
    int present = !tombstone;
    int after = side ? tt_exists(p, other != NULL, present) : tt_exists(p, present, other != NULL);
    if (tombstone) {
        if (!mine)
            return 0;
        jtable_del(&j->tab[side], key);
    } else if (jtable_put(&j->tab[side], key, cols, ts)) {
        return mp_error_set(j->e, MP_ENOMEM, "out of memory");
    }
    mine = present ? jtable_find(&j->tab[side], key, h) : NULL;
    if (after) {
        const mp_value *mc = mine ? mine->cols : NULL, *oc = other ? other->cols : NULL;
        join_row(j, side ? oc : mc, side ? mc : oc, partition, offset);
        int64_t rts = other && other->ts > ts ? other->ts : ts;
        return emit(j, rts, 0);
    }
    if (!before)
        return 0;
    /* Only the key is meant; both join columns hold it. */
    join_row(j, NULL, NULL, partition, offset);
    j->jrow[p->lbase + p->lcol] = *key;
    j->jrow[p->rbase + p->rcol] = *key;
    if (p->has_rowkey)
        j->jrow[MP_ROW_PSEUDO] = *key;
    return emit(j, ts, 1);
}

/* A chain of tables on one primary key: which sources' rows are in the
 * key's result (inc), and whether it exists. */
static int chain_eval(jrun *j, const mp_value *key, uint64_t h, trow **rows, int *inc)
{
    const mp_splan *p = j->p;
    int n = 2 + (int)p->nsteps;
    for (int s = 0; s < n; s++)
        rows[s] = jtable_find(any_tab(j, s), key, h);
    int ex = tt_exists(p, rows[0] != NULL, rows[1] != NULL);
    inc[0] = ex && rows[0];
    inc[1] = ex && rows[1];
    for (size_t k = 0; k < p->nsteps; k++) {
        int have = rows[2 + k] != NULL;
        mp_sql_join_type t = p->steps[k].jtype;
        int now = t == MP_SQL_JOIN_INNER ? ex && have : t == MP_SQL_JOIN_LEFT ? ex : have;
        if (!now || !ex)
            for (int s = 0; s < 2 + (int)k; s++)
                inc[s] = 0;
        inc[2 + k] = now && have;
        ex = now;
    }
    return ex;
}

/* Table-table with further tables: every change to any of them
 * re-evaluates the key's result, as table_table does for two. */
static int table_chain(jrun *j, int side, const mp_value *cols, int64_t ts, int tombstone,
                       int32_t partition, int64_t offset)
{
    const mp_splan *p = j->p;
    int n = 2 + (int)p->nsteps;
    const mp_value *key = &cols[any_col(j, side)];
    if (key->null)
        return 0;
    uint64_t h = mp_values_hash(key, 1);
    trow **rows = mp_arena_alloc(&j->arena, (size_t)n * sizeof *rows);
    int *inc = mp_arena_alloc(&j->arena, (size_t)n * sizeof *inc);
    if (!rows || !inc)
        return mp_error_set(j->e, MP_ENOMEM, "out of memory");
    int before = chain_eval(j, key, h, rows, inc);
    if (tombstone) {
        if (!rows[side])
            return 0;
        jtable_del(any_tab(j, side), key);
    } else if (jtable_put(any_tab(j, side), key, cols, ts)) {
        return mp_error_set(j->e, MP_ENOMEM, "out of memory");
    }
    int after = chain_eval(j, key, h, rows, inc);
    if (!after && !before)
        return 0;
    j->jrow[MP_ROW_ROWPARTITION] = mp_v_int(partition);
    j->jrow[MP_ROW_ROWOFFSET] = mp_v_bigint(offset);
    int64_t rts = ts;
    for (int s = 0; s < n; s++) {
        const mp_source *src = any_src(j, s);
        int in = after && inc[s];
        for (size_t i = 0; i < src->schema->ncols; i++)
            j->jrow[any_base(j, s) + i] = in ? rows[s]->cols[i] : mp_v_null_of(src->schema->cols[i].type);
        if (in && rows[s]->ts > rts)
            rts = rows[s]->ts;
    }
    if (after)
        return emit(j, rts, 0);
    /* Gone: only the key is meant; every join column holds it. */
    for (int s = 0; s < n; s++)
        j->jrow[any_base(j, s) + any_col(j, s)] = *key;
    return emit(j, ts, 1);
}

/* The time after which a buffered record's window has closed: a left
 * record waits `after` for right records, a right one `before`. */
static int64_t lookahead(const mp_splan *p, int side)
{
    return side ? p->within_before : p->within_after;
}

static void emit_unmatched(jrun *j, srec *r)
{
    join_row(j, r->side ? NULL : r->cols, r->side ? r->cols : NULL, r->partition, r->offset);
    emit(j, r->ts, 0);
}

static int cmp_srec(const void *a, const void *b)
{
    const srec *x = *(srec *const *)a, *y = *(srec *const *)b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Emits, in timestamp order, the unmatched records whose window has
 * closed (ts + lookahead + grace < stream time), then forgets records
 * older than the retention. */
static int close_windows(jrun *j)
{
    const mp_splan *p = j->p;
    size_t n = 0, cap = 0;
    srec **due = NULL;
    for (int s = 0; s < 2; s++)
        for (srec *r = j->buf[s].oldest; r; r = r->newer) {
            if (!r->pending || r->ts + lookahead(p, s) + p->join_grace >= j->stream_time)
                continue;
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 64;
                srec **nd = realloc(due, nc * sizeof *nd);
                if (!nd) {
                    free(due);
                    return mp_error_set(j->e, MP_ENOMEM, "out of memory");
                }
                due = nd;
                cap = nc;
            }
            due[n++] = r;
        }
    if (n > 1)
        qsort(due, n, sizeof *due, cmp_srec);
    for (size_t i = 0; i < n; i++) {
        due[i]->pending = 0;
        emit_unmatched(j, due[i]);
    }
    free(due);
    int64_t retention = p->within_before + p->within_after + p->join_grace;
    for (int s = 0; s < 2; s++) {
        sbuf *b = &j->buf[s];
        while (b->oldest && b->oldest->ts < j->stream_time - retention && !b->oldest->pending) {
            srec *r = b->oldest;
            sbuf_unlink(b, r);
            srec_free(r);
        }
    }
    return 0;
}

static int stream_stream(jrun *j, int side, const mp_value *cols, int64_t ts, int32_t partition,
                         int64_t offset)
{
    const mp_splan *p = j->p;
    int64_t retention = p->within_before + p->within_after + p->join_grace;
    if (j->stream_time != INT64_MIN && ts < j->stream_time - retention) {
        /* Past every window it could join: dropped, as Kafka Streams
         * drops writes to expired window segments. */
        if (j->emitting && j->io->late)
            atomic_fetch_add(j->io->late, 1);
        return 0;
    }
    int rc;
    if (ts >= j->stream_time) {
        j->stream_time = ts;
        if ((rc = close_windows(j)))
            return rc;
    }
    const mp_value *key = &cols[side_col(j, side)];
    int matched = 0;
    if (!key->null) {
        uint64_t h = mp_values_hash(key, 1);
        sbuf *ob = &j->buf[!side];
        /* A left record at t joins right records in [t - before, t + after];
         * a right one at t joins left records in [t - after, t + before]. */
        int64_t lo = side ? ts - p->within_after : ts - p->within_before;
        int64_t hi = side ? ts + p->within_before : ts + p->within_after;
        /* The chain is newest first; results go out oldest first. */
        size_t nm = 0;
        for (srec *o = ob->buckets[h & (ob->nbuckets - 1)]; o; o = o->chain)
            nm += o->hash == h && o->ts >= lo && o->ts <= hi && mp_value_equal(&o->key, key);
        srec **ms = nm ? calloc(nm, sizeof *ms) : NULL;
        if (nm && !ms)
            return mp_error_set(j->e, MP_ENOMEM, "out of memory");
        size_t k = 0;
        for (srec *o = ob->buckets[h & (ob->nbuckets - 1)]; o && k < nm; o = o->chain)
            if (o->hash == h && o->ts >= lo && o->ts <= hi && mp_value_equal(&o->key, key))
                ms[k++] = o;
        if (nm > 1)
            qsort(ms, nm, sizeof *ms, cmp_srec);
        for (size_t i = 0; i < nm && !j->stop; i++) {
            srec *o = ms[i];
            o->pending = 0;
            matched = 1;
            join_row(j, side ? o->cols : cols, side ? cols : o->cols, partition, offset);
            emit(j, o->ts > ts ? o->ts : ts, 0);
        }
        free(ms);
    }
    int pending = 0;
    if (!matched && is_outer_side(p, side)) {
        /* Without a grace period the NULL row goes out at once (ksqlDB's
         * older semantics); with one, it waits for the window to close,
         * unless that has already happened. */
        if (!p->has_grace || ts + lookahead(p, side) < j->stream_time) {
            join_row(j, side ? NULL : cols, side ? cols : NULL, partition, offset);
            emit(j, ts, 0);
        } else {
            pending = 1;
        }
    }
    if (key->null && !pending)
        return 0;
    sbuf *b = &j->buf[side];
    if (b->n >= b->nbuckets && sbuf_grow(b))
        return mp_error_set(j->e, MP_ENOMEM, "out of memory");
    srec *r = calloc(1, sizeof *r);
    if (!r)
        return mp_error_set(j->e, MP_ENOMEM, "out of memory");
    const mp_source *src = side_src(j, side);
    mp_arena_init(&r->arena, 256);
    r->side = side;
    r->pending = pending;
    r->ts = ts;
    r->offset = offset;
    r->partition = partition;
    r->seq = j->seq++;
    r->cols = mp_arena_alloc(&r->arena, (src->schema->ncols + 1) * sizeof *r->cols);
    int bad = !r->cols || mp_value_copy(key, &r->arena, &r->key);
    for (size_t i = 0; !bad && i < src->schema->ncols; i++)
        bad = mp_value_copy(&cols[i], &r->arena, &r->cols[i]) != 0;
    if (bad) {
        srec_free(r);
        return mp_error_set(j->e, MP_ENOMEM, "out of memory");
    }
    /* A NULL key never joins, but a pending one must still close. */
    r->hash = key->null ? 0 : mp_values_hash(key, 1);
    if (!key->null) {
        r->chain = b->buckets[r->hash & (b->nbuckets - 1)];
        b->buckets[r->hash & (b->nbuckets - 1)] = r;
    }
    r->older = b->newest;
    if (b->newest)
        b->newest->newer = r;
    else
        b->oldest = r;
    b->newest = r;
    b->n++;
    return 0;
}

/* One input record: decoded, then through the join. */
static int process(jrun *j, jpart *pt, const mp_record *rec)
{
    const mp_source *src = pt->src;
    const mp_splan *p = j->p;
    int table = src->kind == MP_SRC_TABLE;
    int tombstone = table && rec->value_len < 0;
    if (j->emitting && j->io->in)
        atomic_fetch_add(j->io->in, 1);
    int rc = tombstone ? mp_row_decode_key(src, rec, pt->partition, &j->arena, j->srow, j->e)
                       : mp_row_decode(src, rec, pt->partition, &j->arena, j->srow, j->e);
    if (rc) {
        if (j->emitting && j->io->error)
            j->io->error(j->io->ctx, src->topic, pt->partition, rec->offset, j->e->msg);
        return 0;
    }
    const mp_value *cols = j->srow + MP_ROW_PSEUDO;
    int64_t ts = j->srow[MP_ROW_ROWTIME].u.i64;
    if (p->nsteps && p->jkind == MP_JOIN_TABLE_TABLE)
        return table_chain(j, pt->side, cols, ts, tombstone, pt->partition, rec->offset);
    if (pt->side >= 2) {
        /* A further table of a stream result: only kept for lookups. */
        const mp_value *key = &cols[any_col(j, pt->side)];
        if (key->null)
            return 0;
        if (tombstone) {
            jtable_del(any_tab(j, pt->side), key);
            return 0;
        }
        return jtable_put(any_tab(j, pt->side), key, cols, ts) ? mp_error_set(j->e, MP_ENOMEM, "out of memory")
                                                               : 0;
    }
    switch (p->jkind) {
    case MP_JOIN_STREAM_TABLE:
        return stream_table(j, pt->side, cols, ts, tombstone, pt->partition, rec->offset);
    case MP_JOIN_TABLE_TABLE:
        return table_table(j, pt->side, cols, ts, tombstone, pt->partition, rec->offset);
    default:
        return stream_stream(j, pt->side, cols, ts, pt->partition, rec->offset);
    }
}

/* Fetches for every partition that has used up its records. Returns how
 * many records are ready. */
static size_t fill(jrun *j)
{
    size_t ready = 0;
    for (size_t k = 0; k < j->nparts; k++) {
        jpart *pt = &j->parts[k];
        if (pt->i >= pt->n && (pt->limit < 0 || pt->fetch_at < pt->limit)) {
            mp_error fe = {0};
            if (mp_log_fetch(j->en->log, pt->src->topic, pt->partition, pt->fetch_at, FETCH_BYTES,
                             &pt->fr, &fe)) {
                pt->i = pt->n = 0;
                if (fe.code == MP_ENOTFOUND) {
                    /* Retention moved the start past us: continue from it. */
                    int64_t earliest = 0;
                    mp_log_offsets(j->en->log, pt->src->topic, pt->partition, &earliest, NULL, NULL);
                    if (earliest > pt->fetch_at)
                        pt->fetch_at = earliest;
                }
                continue;
            }
            pt->i = 0;
            pt->n = pt->fr.n;
            if (pt->limit >= 0)
                while (pt->n && pt->fr.recs[pt->n - 1].offset >= pt->limit)
                    pt->n--;
            pt->fetch_at = pt->n < pt->fr.n ? pt->limit : pt->fr.next_offset;
        }
        ready += pt->n - pt->i;
    }
    return ready;
}

/* Where the next record of each partition is. */
static void positions(jrun *j)
{
    for (size_t k = 0; k < j->nparts; k++) {
        jpart *pt = &j->parts[k];
        j->pos[k] = (mp_log_offset){pt->src->topic, pt->partition,
                                    pt->i < pt->n ? pt->fr.recs[pt->i].offset : pt->fetch_at};
    }
}

/* Processes the ready records in timestamp order until a partition that
 * had records runs out. Returns how many were processed, or < 0. */
static long round_of(jrun *j)
{
    long done = 0;
    mp_arena_reset(&j->arena);
    while (!j->stop) {
        jpart *best = NULL;
        for (size_t k = 0; k < j->nparts; k++) {
            jpart *pt = &j->parts[k];
            if (pt->i >= pt->n)
                continue;
            int64_t ts = pt->fr.recs[pt->i].timestamp;
            if (!best) {
                best = pt;
                continue;
            }
            int64_t bts = best->fr.recs[best->i].timestamp;
            if (ts < bts || (ts == bts && pt->side > best->side))
                best = pt;
        }
        if (!best)
            break;
        int rc = process(j, best, &best->fr.recs[best->i]);
        best->i++;
        done++;
        if (rc)
            return rc;
        if (best->i >= best->n)
            break;
    }
    return done;
}

/* The offset of the first record at or after ts - back, given a
 * partition's last processed record before `upto` (restoring a stream
 * side's window). */
static int64_t window_start(jrun *j, const jpart *pt, int64_t upto, int64_t back)
{
    int64_t earliest = 0;
    mp_log_offsets(j->en->log, pt->src->topic, pt->partition, &earliest, NULL, NULL);
    if (upto <= earliest)
        return upto;
    mp_log_fetch_result fr = {0};
    int64_t last_ts = INT64_MIN;
    /* The record just before upto gives the time reached. */
    if (mp_log_fetch(j->en->log, pt->src->topic, pt->partition, upto - 1, 1, &fr, NULL) == 0)
        for (size_t i = 0; i < fr.n; i++)
            if (fr.recs[i].offset == upto - 1)
                last_ts = fr.recs[i].timestamp;
    mp_log_fetch_result_free(&fr);
    if (last_ts == INT64_MIN)
        return earliest;
    int64_t off = -1;
    if (mp_log_offset_for_time(j->en->log, pt->src->topic, pt->partition,
                               last_ts > INT64_MIN + back ? last_ts - back : INT64_MIN, &off, NULL,
                               NULL) || off < 0 || off > upto)
        return earliest;
    return off;
}

static void jrun_free(jrun *j)
{
    for (size_t k = 0; j->parts && k < j->nparts; k++)
        mp_log_fetch_result_free(&j->parts[k].fr);
    free(j->parts);
    free(j->pos);
    free(j->srow);
    free(j->jrow);
    free(j->out);
    for (int s = 0; s < 2; s++) {
        if (j->tab[s].buckets)
            jtable_free(&j->tab[s]);
        if (j->buf[s].buckets)
            sbuf_free(&j->buf[s]);
    }
    for (size_t k = 0; j->xtab && k < j->p->nsteps; k++)
        if (j->xtab[k].buckets)
            jtable_free(&j->xtab[k]);
    free(j->xtab);
    mp_arena_free(&j->arena);
}

static int jrun_init(jrun *j, mp_engine *en, const mp_splan *p, const mp_join_io *io, mp_error *e)
{
    memset(j, 0, sizeof *j);
    j->en = en;
    j->p = p;
    j->io = io;
    j->e = e;
    j->stream_time = INT64_MIN;
    mp_arena_init(&j->arena, 0);
    int nsrc = 2 + (int)p->nsteps;
    size_t widest = 0;
    j->nparts = 0;
    for (int s = 0; s < nsrc; s++) {
        const mp_source *src = any_src(j, s);
        j->nparts += (size_t)(src->partitions > 0 ? src->partitions : 1);
        if (src->schema->ncols > widest)
            widest = src->schema->ncols;
    }
    if (p->nsteps && !(j->xtab = calloc(p->nsteps, sizeof *j->xtab)))
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    for (size_t k = 0; k < p->nsteps; k++)
        if (jtable_init(&j->xtab[k], p->steps[k].src->schema->ncols))
            return mp_error_set(e, MP_ENOMEM, "out of memory");
    j->parts = calloc(j->nparts, sizeof *j->parts);
    j->pos = calloc(j->nparts, sizeof *j->pos);
    /* + 2: a windowed table's WINDOWSTART and WINDOWEND. */
    j->srow = calloc(MP_ROW_PSEUDO + widest + 3, sizeof *j->srow);
    j->jrow = calloc(mp_splan_row_slots(p) + 1, sizeof *j->jrow);
    j->out = calloc(p->nout + 1, sizeof *j->out);
    if (!j->parts || !j->pos || !j->srow || !j->jrow || !j->out)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    for (int s = 0; s < 2; s++) {
        const mp_source *src = s ? p->rsrc : p->src;
        int rc = src->kind == MP_SRC_TABLE ? jtable_init(&j->tab[s], src->schema->ncols)
                 : p->jkind == MP_JOIN_STREAM_STREAM ? sbuf_init(&j->buf[s])
                                                     : 0;
        if (rc)
            return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    size_t k = 0;
    for (int s = 0; s < nsrc; s++) {
        const mp_source *src = any_src(j, s);
        int32_t np = src->partitions > 0 ? src->partitions : 1;
        for (int32_t q = 0; q < np; q++, k++)
            j->parts[k] = (jpart){.src = src, .side = s, .partition = q, .limit = -1};
    }
    return 0;
}

/* Sets where each partition starts; for a persistent query with commits,
 * rebuilds the state from the inputs up to them first. */
static int start(jrun *j, const char *group)
{
    const mp_splan *p = j->p;
    int restore = 0;
    for (size_t k = 0; k < j->nparts; k++) {
        jpart *pt = &j->parts[k];
        int64_t earliest = 0, latest = 0, committed = -1;
        mp_log_offsets(j->en->log, pt->src->topic, pt->partition, &earliest, &latest, NULL);
        if (group)
            mp_log_committed(j->en->log, group, pt->src->topic, pt->partition, &committed, NULL);
        int64_t from = committed >= 0 ? committed : p->from_earliest ? earliest : latest;
        /* While restoring, every partition stops at its start (limit). */
        pt->fetch_at = pt->limit = from;
        if (committed > earliest) {
            int64_t back = p->within_before + p->within_after + p->join_grace;
            pt->fetch_at = pt->src->kind == MP_SRC_TABLE         ? earliest
                           : p->jkind == MP_JOIN_STREAM_STREAM ? window_start(j, pt, committed, back)
                                                               : committed;
            restore |= pt->fetch_at < committed;
        }
    }
    j->emitting = 0;
    while (restore && !j->stop) {
        if (!fill(j))
            break;
        long n = round_of(j);
        if (n < 0)
            return (int)n;
    }
    for (size_t k = 0; k < j->nparts; k++) {
        jpart *pt = &j->parts[k];
        pt->fetch_at = pt->limit;
        pt->i = pt->n = 0;
        pt->limit = -1;
    }
    j->emitting = 1;
    return 0;
}

int mp_join_run(mp_engine *en, const mp_splan *p, const char *group, const mp_join_io *io,
                mp_error *e)
{
    jrun j;
    int rc = jrun_init(&j, en, p, io, e);
    while (!rc && atomic_load(&en->hold) && !(io->stopped && io->stopped(io->ctx)))
        usleep(5000);
    if (!rc)
        rc = start(&j, group);
    while (!rc && !j.stop && !(io->stopped && io->stopped(io->ctx))) {
        size_t ready = fill(&j);
        if (!ready) {
            positions(&j);
            mp_log_wait(en->log, j.pos, j.nparts, WAIT_MS, NULL);
            continue;
        }
        long n = round_of(&j);
        if (n < 0) {
            rc = (int)n;
            break;
        }
        positions(&j);
        if (io->round_end && io->round_end(io->ctx, j.pos, j.nparts))
            break;
    }
    jrun_free(&j);
    return rc;
}
