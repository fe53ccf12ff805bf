/* A client of ksqlDB's REST API, as `mlpipe server` serves it, shaped as
 * the SQL shell's executor (sql_shell.h), so `mlpipe ksql` is the same
 * shell as `mlpipe sql` with the engine on the other side of HTTP.
 *
 * A script is parsed here first (a parse error is reported with its
 * line:col before anything is sent), then each statement goes out on its
 * own: SELECT and PRINT to POST /query, whose chunked answer is read line
 * by line as it arrives so rows reach the sink live; everything else to
 * POST /ksql, whose entities become the sink's messages and tables with
 * the columns the local engine prints. SET and UNSET stay in the client
 * and travel as "streamsProperties" with every request, as in ksqlDB's
 * CLI; RUN SCRIPT reads the file here. The server's "line L:C:" errors
 * are moved from the statement to its place in the script.
 *
 * Rows arrive as JSON; each cell reaches the sink as a STRING holding its
 * display text (a number keeps the server's spelling, "1.50" stays
 * "1.50"; arrays and objects are their JSON), a BOOLEAN, or a NULL, so
 * the shell prints what the local engine would.
 *
 * Errors: MP_EIO for transport failures ("cannot reach URL: ...") and
 * server errors (5xx), MP_EINVAL for refused statements (4xx) with the
 * server's message, "authentication failed" on 401.
 *
 * Thread-safety: a client is used by one thread at a time. */
#ifndef MP_CLI_KSQL_CLIENT_H
#define MP_CLI_KSQL_CLIENT_H

#include "core/error.h"
#include "stream/engine.h"

typedef struct mp_ksql_client mp_ksql_client;

typedef struct mp_ksql_client_opts {
    const char *url;      /* "http://host:port" (a trailing '/' is ignored) */
    const char *user;     /* HTTP Basic authentication when not NULL */
    const char *password;
} mp_ksql_client_opts;

int mp_ksql_client_new(const mp_ksql_client_opts *o, mp_ksql_client **out, mp_error *e);
void mp_ksql_client_free(mp_ksql_client *c);

/* GET /info: *version gets the server's version (the caller frees it). */
int mp_ksql_client_info(mp_ksql_client *c, char **version, mp_error *e);

/* The HTTP status of the last answer, 0 when none came (unreachable). */
long mp_ksql_client_status(const mp_ksql_client *c);

/* The shell's executor (mp_shell_exec_fn); client is the mp_ksql_client. */
int mp_ksql_client_execute(void *client, const char *sql, const mp_engine_sink *sink, mp_error *e);

#endif
