/* The catalog: the streams and tables the engine knows, with their schemas
 * and the topics and formats behind them.
 *
 * Pure data (no I/O): the engine changes it when a CREATE or DROP is
 * accepted and rebuilds it at start by replaying the command topic.
 * Names are compared exactly (the parser upper-cases unquoted names).
 * Not thread-safe: the engine guards it with its own lock. */
#ifndef MP_SQL_CATALOG_H
#define MP_SQL_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "data/codec.h"
#include "data/sql_schema.h"

typedef enum { MP_SRC_STREAM = 1, MP_SRC_TABLE = 2 } mp_source_kind;
typedef enum { MP_SRC_UNWINDOWED = 0, MP_SRC_TIME_WINDOWED, MP_SRC_SESSION_WINDOWED } mp_source_window;

typedef struct mp_source {
    char *name;
    mp_source_kind kind;
    mp_schema *schema;   /* key and value columns, in declaration order */
    char *topic;
    mp_format key_format, value_format;
    char value_delimiter; /* DELIMITED */
    char *timestamp_col;  /* TIMESTAMP property: event time from this column; NULL: ROWTIME */
    char *timestamp_format; /* TIMESTAMP_FORMAT for a STRING timestamp column */
    char *sql;            /* the statement that created it */
    char *writer_query;   /* the persistent query writing it (CSAS/CTAS), or NULL */
    int is_source;        /* CREATE SOURCE STREAM/TABLE: read-only */
    int32_t partitions;   /* of the topic, when known */
    int derived;          /* made by CREATE ... AS SELECT (materialised: pull queries read it) */
    mp_codec *key_codec, *value_codec; /* made from schema and formats */
    /* A windowed aggregation's table: its record keys end with the window
     * (Kafka's windowed serializers: a time window's start, or a session's
     * end then start, 8 bytes big-endian each). */
    mp_source_window window;
    int64_t window_size; /* time windows: SIZE in ms (0 for sessions) */
} mp_source;

/* Whether the source's record keys end with a window, and how many bytes
 * it takes. */
static inline int mp_source_windowed(const mp_source *s) { return s->window != MP_SRC_UNWINDOWED; }
static inline int32_t mp_source_window_bytes(const mp_source *s)
{
    return s->window == MP_SRC_SESSION_WINDOWED ? 16 : s->window == MP_SRC_TIME_WINDOWED ? 8 : 0;
}

typedef struct mp_catalog {
    size_t n;
    mp_source **sources; /* in creation order */
} mp_catalog;

/* Adds src (the catalog takes ownership, also on failure). MP_EEXIST
 * naming the existing stream or table. */
int mp_catalog_add(mp_catalog *c, mp_source *src, mp_error *e);
/* The source called name, or NULL. */
mp_source *mp_catalog_find(const mp_catalog *c, const char *name);
/* Removes and frees it; MP_ENOTFOUND. */
int mp_catalog_drop(mp_catalog *c, const char *name, mp_error *e);
void mp_source_free(mp_source *s);
void mp_catalog_clear(mp_catalog *c);

#endif
