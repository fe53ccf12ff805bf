/* The streaming-SQL engine: runs statements in ksqlDB's dialect over the
 * event log.
 *
 * An engine owns a catalog of streams and tables, the persistent queries
 * writing into them (each on its own thread), the session properties, and
 * the command topic: every statement that changes the catalog or starts or
 * stops a persistent query is appended to the topic `_mlpipe_commands`
 * once it has been accepted, and replayed when an engine opens the same
 * data directory, so a restarted engine comes back with the same streams,
 * tables and queries, which resume from their committed offsets.
 *
 * Results reach the caller through a sink: messages ("Stream created"),
 * tables (SHOW, DESCRIBE) and the rows of queries, streamed as they come
 * until the query's LIMIT or until the sink asks to stop.
 *
 * A statement that fails changes nothing: its error names the SQL position
 * (line:column) where there is one. Records that cannot be decoded are
 * skipped, counted and written to the processing-log topic
 * (`mlpipe_processing_log`, as ksqlDB's KSQL_PROCESSING_LOG), and the query
 * keeps running.
 *
 * Thread-safety: mp_engine_execute may be called from several threads; the
 * engine serialises catalog changes. */
#ifndef MP_STREAM_ENGINE_H
#define MP_STREAM_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "data/sql_value.h"
#include "log/log.h"

typedef struct mp_engine mp_engine;

typedef struct mp_engine_opts {
    const char *registry_dir; /* models for PREDICT (may be NULL) */
    int quiet_replay;         /* 1: say nothing about replayed statements */
    const char *ext_dir;      /* user-defined functions: every *.so in it (may be NULL) */
} mp_engine_opts;

/* Where results go. Any callback may be NULL (that output is dropped). */
typedef struct mp_engine_sink {
    void *ctx;
    /* A statement's status line. */
    void (*message)(void *ctx, const char *text);
    /* A result table: ncols column names, nrows rows of ncols cells. */
    void (*table)(void *ctx, const char *title, size_t ncols, const char *const *header,
                  size_t nrows, const char *const *cells);
    /* A query's columns, before its first row. */
    void (*header)(void *ctx, const char *query_id, size_t ncols, const char *const *names,
                   const char *const *types);
    /* One row of a query; return nonzero to stop the query. */
    int (*row)(void *ctx, size_t ncols, const mp_value *values);
    /* Polled while a push query waits for data: nonzero stops it
     * (Ctrl-C in the shell, a closed connection). */
    int (*cancelled)(void *ctx);
} mp_engine_sink;

/* Opens an engine over log (which must outlive it), replaying the command
 * topic and restarting persistent queries. */
int mp_engine_open(mp_log *log, const mp_engine_opts *o, mp_engine **out, mp_error *e);
/* Stops every persistent query (each commits what it has written) and
 * frees the engine. */
void mp_engine_close(mp_engine *en);

/* Runs a script of one or more ';'-separated statements, in order; stops
 * at the first failing statement (earlier ones stay done). */
int mp_engine_execute(mp_engine *en, const char *sql, const mp_engine_sink *sink, mp_error *e);

/* Checks one query or PRINT statement as mp_engine_execute would before
 * its first row (parse, names, types, models), without running it: a
 * server answers a bad query with an error status instead of an empty
 * stream. Other statements are only parsed. */
int mp_engine_validate(mp_engine *en, const char *sql, mp_error *e);

/* Properties that override the engine's SET ones for statements run by
 * the calling thread, until called again (NULL, NULL, 0 clears them): a
 * server passes each request's properties ("auto.offset.reset") this way
 * without changing other clients' sessions. The arrays must stay valid
 * while in use. Persistent queries record them with their statement. */
void mp_engine_thread_props(const char *const *names, const char *const *values, size_t n);
/* The command-topic offset of the last statement the calling thread had
 * accepted (ksqlDB's commandSequenceNumber), or -1 when none. */
int64_t mp_engine_thread_last_command(void);

/* A persistent query's counters, for monitoring. */
typedef struct mp_engine_query_stat {
    char id[128];
    char sink[128];
    uint64_t records_in, records_out, errors, late;
    int64_t lag; /* input records not yet committed, over all partitions */
    int failed;
} mp_engine_query_stat;

/* A snapshot of every persistent query's counters; *out is malloc'd (the
 * caller frees it), NULL when *n is 0. Also the processing log's size. */
int mp_engine_stats(mp_engine *en, mp_engine_query_stat **out, size_t *n,
                    int64_t *processing_log_records, mp_error *e);

/* The number of running persistent queries. */
size_t mp_engine_query_count(mp_engine *en);

#endif
