/* ksqlDB's REST API over an mp_engine.
 *
 *   POST /ksql            statements; one entity per statement ("currentStatus",
 *                         "streams", "tables", "queries", "kafka_topics",
 *                         "properties", "function_names", "sourceDescription",
 *                         "describe_function"), errors as "statement_error"
 *   POST /query           a push query or PRINT as a chunked JSON array:
 *                         {"header"}, {"row"}..., {"finalMessage"}
 *   POST /query-stream    a push query: a header line then one JSON array per
 *                         row (application/vnd.ksqlapi.delimited.v1), or one
 *                         JSON array (application/json)
 *   POST /inserts-stream  {"target": name} then one JSON object per line:
 *                         one ack per row
 *   POST /close-query     {"queryId": id}: stops a push query
 *   GET  /info, /healthcheck, /status[/type/entity/action]
 *
 * Errors are ksqlDB's: {"@type": "statement_error" | "generic_error",
 * "error_code": 40001, "message": ..., "statementText": ...} with the HTTP
 * status in the code's first three digits. Request JSON nested deeper than
 * a limit is refused before it is parsed. In headless mode (statements
 * came from a queries file) /ksql, /query and the inserts are refused, as
 * ksqlDB's headless servers refuse interactive use. */
#ifndef MP_SERVER_KSQL_API_H
#define MP_SERVER_KSQL_API_H

#include "core/buf.h"
#include "core/error.h"
#include "server/http.h"
#include "stream/engine.h"

typedef struct mp_ksql_api mp_ksql_api;

typedef struct mp_ksql_api_opts {
    mp_engine *engine; /* borrowed; must outlive the API */
    int headless;
    size_t max_json_depth; /* 0: 64 */
} mp_ksql_api_opts;

int mp_ksql_api_new(const mp_ksql_api_opts *o, mp_ksql_api **out, mp_error *e);
/* 1 when the path is one of the API's (resp filled), 0 otherwise. */
int mp_ksql_api_handle(mp_ksql_api *api, const mp_http_request *req, mp_http_response *resp);
/* Appends per-query and processing-log metrics in Prometheus text format. */
void mp_ksql_api_metrics(mp_ksql_api *api, mp_buf *out);
/* Stops push queries still running (their streams end) and frees the API.
 * Call after the server has stopped. */
void mp_ksql_api_free(mp_ksql_api *api);

/* The deepest nesting of arrays and objects in a JSON text (strings are
 * skipped correctly), stopping early once limit is exceeded. */
size_t mp_json_depth(const char *s, size_t len, size_t limit);

#endif
