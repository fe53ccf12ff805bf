/* ksqlDB's /ksql answer entities turned back into what `mlpipe sql` prints
 * for the same statement: "currentStatus" becomes its status message;
 * "streams", "tables", "kafka_topics", "queries", "function_names",
 * "properties", "sourceDescription" and "describe_function" become the
 * tables of the local engine's SHOW and DESCRIBE, with the same titles and
 * columns (DESCRIBE lists ROWTIME, which the REST answer leaves out).
 * Anything else shows its "message", or its JSON.
 *
 * Thread-safety: no state; call from any thread. */
#ifndef MP_CLI_KSQL_ENTITIES_H
#define MP_CLI_KSQL_ENTITIES_H

#include <jansson.h>

#include "core/error.h"
#include "stream/engine.h"

/* Sends one entity to the sink. 0, or MP_ENOMEM. */
int mp_ksql_show_entity(json_t *ent, const mp_engine_sink *sink, mp_error *e);

#endif
