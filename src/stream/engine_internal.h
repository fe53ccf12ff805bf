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
} mp_splan;

/* Most windows one record may fall in (SIZE / ADVANCE BY is checked). */
#define MP_MAX_WINDOWS 1000

/* The window starts a record at ts falls in (at most max), oldest first;
 * returns how many. */
size_t mp_splan_windows(const mp_splan *p, int64_t ts, int64_t *starts, size_t max);

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
/* Pops a group changed since the last call (1), or returns 0 when none is
 * left: what a round of processing must write to the changelog (only a
 * group's latest state matters in a compacted topic). */
int mp_aggregator_take_dirty(mp_aggregator *a, const mp_value **key, const mp_value **state);
/* Windowed aggregations: forgets the groups whose window closed before
 * stream time `closed_before` (end + grace <= it): no record can change
 * them any more. on_evict (may be NULL) sees each one's key values first
 * (to write a changelog tombstone); a nonzero return stops the eviction. */
int mp_aggregator_evict(mp_aggregator *a, int64_t closed_before,
                        int (*on_evict)(void *ctx, const mp_value *key), void *ctx);
/* Forgets the group with these key values, if any (a changelog tombstone). */
void mp_aggregator_remove(mp_aggregator *a, const mp_value *key);
/* Restores a group from a changelog record: its key values and states. */
int mp_aggregator_restore(mp_aggregator *a, const mp_value *key, const mp_value *state,
                          mp_error *e);

int mp_splan_build(mp_engine *en, const mp_sql_query *q, mp_splan *p, mp_error *e);
void mp_splan_free(mp_splan *p);
/* The plan's output as a schema (keys first as they were marked). */
int mp_splan_schema(const mp_splan *p, mp_schema **out, mp_error *e);

/* Decodes record r of partition into row (MP_ROW_PSEUDO + schema columns).
 * MP_EINPUT for a bad record (message says where). */
int mp_row_decode(const mp_source *s, const mp_record *r, int32_t partition, mp_arena *a,
                  mp_value *row, mp_error *e);

/* Writes a processing-log entry for a record or an expression that failed. */
void mp_engine_processing_log(mp_engine *en, const char *query_id, const char *topic,
                              int32_t partition, int64_t offset, const char *message);

/* Property lookup (NULL if unset). Caller holds en->mu or is the only user. */
const char *mp_engine_prop(const mp_engine *en, const char *name);

/* Persistent queries (engine_pquery.c). */
int mp_pquery_start(mp_engine *en, const char *id, const char *sql, mp_splan *plan,
                    mp_source *sink, mp_error *e);
void mp_pquery_stop(mp_pquery *q);
const char *mp_pquery_id(const mp_pquery *q);
const char *mp_pquery_sql(const mp_pquery *q);
const char *mp_pquery_sink(const mp_pquery *q);
const char *mp_pquery_source(const mp_pquery *q);
void mp_pquery_stats(const mp_pquery *q, uint64_t *in, uint64_t *out, uint64_t *errors);
/* 1 when a write failed and the query stopped (status ERROR). */
int mp_pquery_failed(const mp_pquery *q);
/* Records dropped because their window had closed (past the grace period). */
uint64_t mp_pquery_late(const mp_pquery *q);

#endif
