/* Shared between the engine's files: the engine's state, stream-query
 * plans and the record <-> row step. */
#ifndef MP_STREAM_ENGINE_INTERNAL_H
#define MP_STREAM_ENGINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "data/arena.h"
#include "data/codec.h"
#include "sql/sql_ast.h"
#include "sql/sql_catalog.h"
#include "sql/sql_expr.h"
#include "sql/sql_func.h"
#include "stream/engine.h"

#define MP_COMMAND_TOPIC "_mlpipe_commands"
#define MP_PROCESSING_LOG_TOPIC "mlpipe_processing_log"

/* Pseudo columns every source row starts with, before the schema's. */
enum { MP_ROW_ROWTIME, MP_ROW_ROWPARTITION, MP_ROW_ROWOFFSET, MP_ROW_PSEUDO };

typedef struct mp_pquery mp_pquery;
typedef struct mp_pull_view mp_pull_view;

/* Which inputs a join has (the left one first). */
typedef enum mp_join_kind {
    MP_JOIN_STREAM_TABLE = 1,
    MP_JOIN_STREAM_STREAM,
    MP_JOIN_TABLE_TABLE,
} mp_join_kind;

/* A join of more than two sources is a left-deep chain: the first two
 * sources are joined as a two-way join, then each step joins the result
 * so far with one more table on a column of an earlier source. */
typedef struct mp_join_step {
    mp_source *src;        /* a table; borrowed from the catalog */
    char *qual;            /* its alias (or name) */
    mp_sql_join_type jtype;
    size_t lslot;          /* the left join column: a slot of an earlier source */
    size_t rcol;           /* the join column in src's schema (its key) */
    size_t base;           /* first slot of src's columns */
    int rekey;             /* lslot is not what the result so far is keyed by:
                            * ksqlDB repartitions, which drops NULL keys */
} mp_join_step;

typedef struct mp_prop {
    char *name, *value;
} mp_prop;

struct mp_engine {
    mp_log *log;
    pthread_mutex_t mu; /* catalog, queries, properties */
    mp_catalog cat;
    mp_fn_registry *fns;
    size_t nprops;
    mp_prop *props;
    size_t nqueries;
    mp_pquery **queries;
    long query_seq;      /* transient (push) queries */
    int replaying;
    int64_t replay_offset; /* the command being replayed */
    mp_type *pseudo_types[MP_ROW_PSEUDO];
    char *registry_dir;
    /* Test support: while set, join queries read nothing, so input
     * produced meanwhile is all there when they start (ordered by time). */
    atomic_int hold;
    mp_pull_view *pull_views; /* tables' state for pull queries (engine_pull.c) */
};

/* A compiled SELECT over one stream: filter and projection. */
typedef struct mp_splan {
    mp_source *src;           /* borrowed from the catalog */
    size_t nscope;
    mp_sql_scope_col *scope;  /* pseudo columns, then the source's columns */
    mp_sql_scope sc;
    mp_sql_cexpr *where;      /* may be NULL */
    size_t nout;
    mp_sql_cexpr **proj;
    char **names;
    int *is_key;              /* output column i is a key column */
    int64_t limit;            /* -1: none */
    int from_earliest;
    /* GROUP BY (grouped = 1): the select list and HAVING read the input
     * row followed by the aggregate results (aggs.n slots from nscope). */
    int grouped;
    size_t ngroup;
    mp_sql_cexpr **group;     /* group-by expressions, in the input scope */
    mp_sql_aggs aggs;
    mp_sql_scope agg_sc;      /* the input scope plus the aggregate slots */
    mp_sql_cexpr *having;     /* may be NULL */
    /* WINDOW TUMBLING / HOPPING (windowed = 1): the input scope ends with
     * WINDOWSTART and WINDOWEND (slots ws_slot, ws_slot + 1), set for each
     * window a record falls in; the window start is part of the group key. */
    int windowed;
    size_t ws_slot;
    int64_t win_size, win_advance, win_grace;
    /* The source is a windowed table (src_windowed = 1): the input scope
     * ends with its rows' WINDOWSTART and WINDOWEND, at ws_slot. */
    int src_windowed;
    /* PARTITION BY (partitioned = 1): the output column marked is_key is
     * the partitioning expression, the new key (records go to the
     * partition its bytes hash to, as Kafka's partitioner does). */
    int partitioned;
    /* WINDOW SESSION (session = 1): win_size is the inactivity gap; the
     * group key is the grouping expressions only and each key holds its
     * sessions (engine_session.c). */
    int session;
    /* How long a window stays in state: until start + retention (time
     * windows) or end + retention (sessions) in stream time; size + grace
     * (gap + grace) unless RETENTION says otherwise. */
    int64_t win_retention;
    /* JOIN (joined = 1): src is the left source, rsrc the right one. The
     * input scope is the joined row: ROWTIME, ROWPARTITION and ROWOFFSET
     * of the record that produced it (ROWTIME is the result's time), then
     * ROWKEY for a FULL OUTER join (the first non-null join key), then the
     * left source's columns from lbase and the right's from rbase. */
    int joined;
    mp_join_kind jkind;
    mp_sql_join_type jtype;   /* INNER, LEFT or FULL */
    mp_source *rsrc;          /* borrowed from the catalog */
    char *lqual, *rqual;      /* the aliases (or names) that qualify each side */
    size_t lcol, rcol;        /* the join column in each source's schema */
    size_t lbase, rbase;      /* first slot of each side's columns */
    int has_rowkey;           /* FULL OUTER: slot MP_ROW_PSEUDO is ROWKEY */
    /* Stream-stream: a right record joins a left one when
     * left.ts - before <= right.ts <= left.ts + after. With GRACE PERIOD
     * (has_grace), unmatched LEFT/FULL rows wait until their window closes;
     * without, they are emitted at once (ksqlDB's older behaviour). */
    int64_t within_before, within_after, join_grace;
    int has_grace;
    /* Joins of more than two sources: the steps after the first join,
     * whose columns follow the right source's in the scope. After a
     * stream result, each is a lookup as of the result's time (INNER or
     * LEFT); after a table-table join, every table is joined on the same
     * primary key and a change to any re-evaluates the key's result. */
    size_t nsteps;
    mp_join_step *steps;
    /* The result's viable key columns (slots), in source order: ROWKEY
     * for a two-way FULL OUTER join, else the join columns the result is
     * keyed by (all of a chain on one key); the first selected is the key. */
    size_t njkeys;
    size_t *jkeys;
    /* Table functions in the select list (EXPLODE): their slots follow the
     * input scope (and the aggregate slots, which never coexist with
     * them); each input row gives as many output rows as the longest
     * result (engine_tfn.c). */
    mp_sql_tfns tfns;
} mp_splan;

/* The results of a plan's table functions for one input row, in the
 * context's arena: nrows output rows (1 when the plan has none, 0 when
 * every table function gave nothing). */
typedef struct mp_tfn_rows {
    size_t nrows;
    mp_value **vals; /* per table function */
    size_t *cnt;
} mp_tfn_rows;

/* Runs the plan's table functions on row. A failure (cx->e) gives no rows. */
int mp_splan_tfn_expand(const mp_splan *p, const mp_value *row, mp_fn_ctx *cx, mp_tfn_rows *r);
/* Sets the table-function slots of row for output row k (NULL where a
 * function's result has fewer values). */
void mp_splan_tfn_row(const mp_splan *p, const mp_tfn_rows *r, size_t k, mp_value *row);
/* The slots a row of the plan needs: input, aggregates, table functions. */
size_t mp_splan_row_slots(const mp_splan *p);

/* Most windows one record may fall in (SIZE / ADVANCE BY is checked). */
#define MP_MAX_WINDOWS 1000

/* The window starts a record at ts falls in (at most max), oldest first;
 * returns how many. */
size_t mp_splan_windows(const mp_splan *p, int64_t ts, int64_t *starts, size_t max);

/* The WINDOW clause of q into p (engine_window.c): durations, defaults and
 * ksqlDB's checks (RETENTION >= size + grace). */
int mp_splan_window(const mp_sql_query *q, mp_splan *p, mp_error *e);
/* 1 when a record for window [start, end] comes too late at stream_time
 * (INT64_MIN: none seen yet): a time window closed at end + grace; a
 * (merged) session ending before stream time - grace - gap. */
int mp_splan_window_late(const mp_splan *p, int64_t start, int64_t end, int64_t stream_time);
/* 1 when window [start, end] has outlived its retention at stream_time:
 * it leaves state (and a session can no longer be merged with). */
int mp_splan_window_expired(const mp_splan *p, int64_t start, int64_t end, int64_t stream_time);

/* Session windows (engine_session.c): per group key, its sessions, each
 * [start, end] (the first and last record time) with aggregate states.
 * Not thread-safe: one per query. */
typedef struct mp_sessions mp_sessions;

/* A session's window. */
typedef struct mp_session_win {
    int64_t start, end;
} mp_session_win;

/* changelog = 0: no changes are tracked (a push query). */
int mp_sessions_new(const mp_splan *p, int changelog, mp_sessions **out, mp_error *e);
void mp_sessions_free(mp_sessions *s);
/* Folds row (the plan's input scope, at time ROWTIME) into its group's
 * sessions as Kafka Streams does: the sessions of the key within the
 * inactivity gap of the record (and not expired) merge with it into one.
 * stream_time must already include the record. Returns 0 when the record
 * was dropped as late (nothing changes), 1 when it was added: row's
 * WINDOWSTART/WINDOWEND and aggregate slots then hold the new session's,
 * and *replaced (n_replaced) the windows of the sessions it replaced
 * (their results are gone: tombstones), valid until the next call.
 * Negative on an error (e). */
int mp_sessions_add(mp_sessions *s, mp_value *row, int64_t stream_time, mp_fn_ctx *cx,
                    const mp_session_win **replaced, size_t *n_replaced, mp_error *e);
/* Changelog records owed since the last call, one per call: *key gets the
 * group's key values then WINDOWSTART and WINDOWEND (ngroup + 2), *state
 * the states, or NULL for a session that is gone (a tombstone). Returns 0
 * when none is left. Values stay valid until the next add or evict. */
int mp_sessions_take_change(mp_sessions *s, const mp_value **key, const mp_value **state);
/* Forgets the sessions expired at stream_time (mp_splan_window_expired);
 * on_evict (may be NULL) sees each one's key first (ngroup + 2 values). */
int mp_sessions_evict(mp_sessions *s, int64_t stream_time,
                      int (*on_evict)(void *ctx, const mp_value *key), void *ctx);
/* Restores (state != NULL) or forgets (NULL) a session from a changelog
 * record whose key is ngroup + 2 values. */
int mp_sessions_restore(mp_sessions *s, const mp_value *key, const mp_value *state, mp_error *e);

/* The state of a GROUP BY: one entry per group with its key values and
 * aggregate states (engine_agg.c). Not thread-safe: one per query. */
typedef struct mp_aggregator mp_aggregator;

int mp_aggregator_new(const mp_splan *p, mp_aggregator **out, mp_error *e);
void mp_aggregator_free(mp_aggregator *a);
/* Folds row (the plan's input scope) into its group and fills row's
 * aggregate slots (row must have nscope + aggs.n values) with the group's
 * results. *key and *state receive the group's key values (ngroup) and
 * states (aggs.n), which stay valid until the next call. */
int mp_aggregator_add(mp_aggregator *a, mp_value *row, mp_fn_ctx *cx, const mp_value **key,
                      const mp_value **state, mp_error *e);
/* Takes row (a table's previous row for a key, as added before) back out
 * of its group with the aggregates' undo, and fills row's aggregate slots
 * with the group's results; otherwise as mp_aggregator_add. */
int mp_aggregator_undo(mp_aggregator *a, mp_value *row, mp_fn_ctx *cx, const mp_value **key,
                       const mp_value **state, mp_error *e);
/* Pops a group changed since the last call (1), or returns 0 when none is
 * left: what a round of processing must write to the changelog (only a
 * group's latest state matters in a compacted topic). */
int mp_aggregator_take_dirty(mp_aggregator *a, const mp_value **key, const mp_value **state);
/* Windowed aggregations: forgets the groups whose window has outlived its
 * retention at stream time `closed_before` (start + retention <= it; the
 * default retention, size + grace, is when the window closes). on_evict (may be NULL) sees each one's key values first
 * (to write a changelog tombstone); a nonzero return stops the eviction. */
int mp_aggregator_evict(mp_aggregator *a, int64_t closed_before,
                        int (*on_evict)(void *ctx, const mp_value *key), void *ctx);
/* Forgets the group with these key values, if any (a changelog tombstone). */
void mp_aggregator_remove(mp_aggregator *a, const mp_value *key);
/* Restores a group from a changelog record: its key values and states. */
int mp_aggregator_restore(mp_aggregator *a, const mp_value *key, const mp_value *state,
                          mp_error *e);

/* GROUP BY over a table (engine_tagg.c), as Kafka Streams' KGroupedTable
 * aggregates: an update of a source key first takes the key's previous
 * row back out of its group (the aggregates' undo), then adds the new row
 * to its group; a deletion (or a row WHERE no longer admits) only takes
 * the previous row out. mp_tprev keeps each source key's previous row. */
typedef struct mp_tprev mp_tprev;

/* 0, or MP_EINVAL with ksqlDB's message naming the aggregates that have
 * no undo (they cannot aggregate a table). */
int mp_splan_table_agg_check(const mp_splan *p, mp_error *e);

/* changelog = 0: no changes are tracked (a push query). */
int mp_tprev_new(const mp_splan *p, int changelog, mp_tprev **out, mp_error *e);
void mp_tprev_free(mp_tprev *t);
/* Values kept per key: the plan's input row (nscope values). */
size_t mp_tprev_nvals(const mp_tprev *t);
/* Sets (row != NULL: its first nscope values) or forgets (NULL) the
 * previous row of the source key (its record key bytes). */
int mp_tprev_put(mp_tprev *t, const void *key, size_t klen, const mp_value *row, mp_error *e);
/* Changelog records owed since the last call, one per call: the source
 * key's bytes and its row, or NULL for a key that is gone. Returns 0 when
 * none is left. Valid until the next call or put. */
int mp_tprev_take_change(mp_tprev *t, const void **key, size_t *klen, const mp_value **row);

/* The rows one table record gives (at most two), in cx's arena, each
 * mp_splan_row_slots values with the aggregate slots filled: the previous
 * row's, after it left its group (when the key had one and its group is
 * not the new row's group), then the new row's, after it joined its group
 * (when row is not NULL). row: the decoded record admitted by WHERE, or
 * NULL for a deletion; ts: the record's time, which both rows take. */
typedef struct mp_tagg_out {
    size_t n;
    mp_value *rows[2];
} mp_tagg_out;
int mp_tagg_update(mp_aggregator *a, mp_tprev *t, const void *key, size_t klen, const mp_value *row,
                   int64_t ts, mp_fn_ctx *cx, mp_tagg_out *out, mp_error *e);

int mp_splan_build(mp_engine *en, const mp_sql_query *q, mp_splan *p, mp_error *e);
void mp_splan_free(mp_splan *p);
/* The plan's output as a schema (keys first as they were marked). */
int mp_splan_schema(const mp_splan *p, mp_schema **out, mp_error *e);

/* The key ksqlDB gives a join's result must be selected by a persistent
 * query: 0, or MP_EINVAL with ksqlDB's message naming the join columns. */
int mp_splan_join_key_check(const mp_splan *p, const char *sink, mp_error *e);

/* A persistent query over a table must select the table's key columns:
 * 0, or MP_EINVAL with ksqlDB's message naming them. */
int mp_splan_table_key_check(const mp_splan *p, const char *sink, mp_error *e);

/* Decodes only the key of record r (the value columns are NULL): a
 * table's tombstone. */
int mp_row_decode_key(const mp_source *s, const mp_record *r, int32_t partition, mp_arena *a,
                      mp_value *row, mp_error *e);

/* Decodes record r of partition into row (MP_ROW_PSEUDO + schema columns,
 * then for a windowed table its record's WINDOWSTART and WINDOWEND: the
 * key ends with the window start as 8 bytes big-endian).
 * MP_EINPUT for a bad record (message says where). */
int mp_row_decode(const mp_source *s, const mp_record *r, int32_t partition, mp_arena *a,
                  mp_value *row, mp_error *e);

/* Writes a processing-log entry for a record or an expression that failed. */
void mp_engine_processing_log(mp_engine *en, const char *query_id, const char *topic,
                              int32_t partition, int64_t offset, const char *message);

/* Property lookup (NULL if unset). Caller holds en->mu or is the only user. */
const char *mp_engine_prop(const mp_engine *en, const char *name);

/* Running a join (engine_join.c): one loop for push and persistent
 * queries, reading both inputs in timestamp order (the earliest next
 * record first, as Kafka Streams does), keeping the join's state, and
 * handing each result row, after WHERE and the projection, to row(). */
typedef struct mp_join_io {
    void *ctx;
    /* A result: the plan's nout projected values at time ts; tombstone: a
     * table-table result that no longer exists (only the key is meant).
     * Nonzero stops the run. */
    int (*row)(void *ctx, const mp_value *out, int64_t ts, int tombstone);
    /* The end of a round of reading: pos (n entries) is where the next
     * record of each input partition is. Nonzero stops the run. */
    int (*round_end)(void *ctx, const mp_log_offset *pos, size_t n);
    /* Polled between rounds; nonzero stops the run. */
    int (*stopped)(void *ctx);
    /* A record or expression that failed; the run goes on. */
    void (*error)(void *ctx, const char *topic, int32_t partition, int64_t offset, const char *msg);
    atomic_uint_least64_t *in, *late; /* counters (may be NULL) */
} mp_join_io;

/* Runs the join in p until io stops it. group: the consumer group whose
 * committed offsets to resume from, after rebuilding the state from the
 * inputs up to them (NULL: a push query, starting at the earliest or
 * latest offsets). Returns 0 or the error that stopped it. */
int mp_join_run(mp_engine *en, const mp_splan *p, const char *group, const mp_join_io *io,
                mp_error *e);

/* Pull queries (engine_pull.c): SELECT without EMIT CHANGES. Called with
 * en->mu held (released while rows are sent). */
int mp_pull_run(mp_engine *en, const mp_sql_query *q, const mp_engine_sink *sink, mp_error *e);
/* Checks a pull query as mp_pull_run would before its first row. */
int mp_pull_validate(mp_engine *en, const mp_sql_query *q, mp_error *e);
/* Frees the tables' pull-query state (at close). */
void mp_pull_views_free(mp_engine *en);

/* CREATE MODEL ... AS SELECT (engine_model.c): trains on the source's
 * current contents and publishes the next version in the registry. Not a
 * command: it is never written to the command topic. */
int mp_engine_create_model(mp_engine *en, const mp_sql_stmt *st, const mp_engine_sink *sink,
                           mp_error *e);

/* Persistent queries (engine_pquery.c). */
int mp_pquery_start(mp_engine *en, const char *id, const char *sql, mp_splan *plan,
                    mp_source *sink, mp_error *e);
void mp_pquery_stop(mp_pquery *q);
const char *mp_pquery_id(const mp_pquery *q);
const char *mp_pquery_sql(const mp_pquery *q);
const char *mp_pquery_sink(const mp_pquery *q);
const char *mp_pquery_source(const mp_pquery *q);
/* A join's right source, or NULL. */
const char *mp_pquery_source2(const mp_pquery *q);
/* Source k of the query (0: the FROM source, 1: a join's right source,
 * then a multi-way join's further sources), or NULL past the last. */
const char *mp_pquery_source_at(const mp_pquery *q, size_t k);
void mp_pquery_stats(const mp_pquery *q, uint64_t *in, uint64_t *out, uint64_t *errors);
/* 1 when a write failed and the query stopped (status ERROR). */
int mp_pquery_failed(const mp_pquery *q);
/* Records dropped because their window had closed (past the grace period). */
uint64_t mp_pquery_late(const mp_pquery *q);

#endif
