/* What `mlpipe test-runner` needs from an engine beyond its public API:
 * writing and reading a topic's records the way the stream (or table)
 * over that topic does, with keys and values given as JSON text as
 * ksql-test-runner's input and output files give them, and knowing when
 * the persistent queries have caught up with their input.
 *
 * The stream over a topic is the first one in the catalog (creation
 * order) whose KAFKA_TOPIC it is. Calls take the engine's lock for their
 * duration; call them from the thread that runs statements, not from a
 * sink callback. */
#ifndef MP_STREAM_ENGINE_TEST_SUPPORT_H
#define MP_STREAM_ENGINE_TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"
#include "stream/engine.h"

/* Serialises a key (is_key = 1) or value given as JSON text json[0..len)
 * into the bytes the topic's stream reads, appended to out:
 *   JSON        the JSON text as given (so missing and extra fields stay);
 *   DELIMITED   a JSON string is the line itself; an object is converted
 *               column by column (names matched as in the JSON format) and
 *               written as a delimited line; other JSON values as their text;
 *   KAFKA       the single column's value converted to its type and written
 *               as Kafka's serializers do (BIGINT: 8 bytes big-endian);
 *   NONE        nothing: *is_null = 1.
 * JSON null gives *is_null = 1 (a null key, a tombstone). MP_ENOTFOUND when
 * no stream or table reads topic; MP_EINPUT (message naming the column)
 * when the JSON does not fit the columns. */
int mp_engine_test_serialize(mp_engine *en, const char *topic, int is_key, const char *json,
                             size_t len, mp_buf *out, int *is_null, mp_error *e);

/* The reverse, for comparing a record with an expected one: appends to
 * out the JSON text of the key or value bytes data[0..len) (len < 0: null):
 * JSON: the bytes as they are (the caller parses them); DELIMITED: a JSON
 * string holding the line; KAFKA: the decoded column as a JSON value (a
 * number, a string, base64 for BYTES); NONE or null: `null`.
 * MP_ENOTFOUND when no stream or table reads topic; MP_EINPUT when the
 * bytes cannot be decoded. */
int mp_engine_test_deserialize(mp_engine *en, const char *topic, int is_key, const void *data,
                               int32_t len, mp_buf *out, mp_error *e);

/* The window at the end of the key bytes data[0..len) of a record of a
 * windowed table's topic: *key_len receives the length of the key proper,
 * *session 1 for a session window (the key ends with end and start) or 0
 * for a time window (start; the end is start + the window's size).
 * Returns 1 with the window, 0 when the topic's keys carry none (or len < 0),
 * MP_EINPUT when the bytes are too short to hold one. */
int mp_engine_test_key_window(mp_engine *en, const char *topic, const void *data, int32_t len,
                              int32_t *key_len, int *session, int64_t *start, int64_t *end,
                              mp_error *e);

/* 1 when every running persistent query has committed its input up to
 * the end of each partition of its source (everything written before
 * the call has been processed and its output written), else 0.
 * *progress (may be NULL) receives a number that changes whenever any
 * query's committed position or the end of its source or sink topic
 * moves: equal values from two calls mean nothing happened in between. */
int mp_engine_test_idle(mp_engine *en, uint64_t *progress);

/* on = 1: join queries wait before reading anything (test-runner sets it
 * before running the statements and clears it once the inputs are all
 * produced, so a join sees both inputs and reads them in timestamp order,
 * as ksql-test-runner's records are processed in order). */
void mp_engine_test_hold(mp_engine *en, int on);

#endif
