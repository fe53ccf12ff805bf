/* HTTP/2 with prior knowledge (cleartext, no upgrade) for mlpipe's server.
 *
 * ksqlDB's clients open a connection and send the HTTP/2 preface at once,
 * so the acceptor peeks at the first bytes and hands such connections here;
 * requests then reach the same mp_http_handler as HTTP/1.1 ones. */
#ifndef MP_SERVER_HTTP2_H
#define MP_SERVER_HTTP2_H

#include <stddef.h>

#include "server/http.h"

/* The 24 bytes every HTTP/2 prior-knowledge connection starts with. */
#define MP_H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define MP_H2_PREFACE_LEN 24

/* Serves one HTTP/2 connection (prior knowledge) on the connected socket fd
 * until the client closes it, it stays idle longer than idle_timeout_ms, or
 * *stopping becomes nonzero; then closes fd. Requests go to handler(ctx,...);
 * request bodies above max_body get 413 with a JSON {"error": ...} body.
 *
 * The connection counts as idle while no response is streaming and no
 * bytes move; idle_timeout_ms <= 0 disables the timeout. stopping may be
 * NULL. Returns 0 when the connection ended normally (client closed, idle,
 * stopping) and -1 when it ended on an error (protocol error, I/O failure,
 * out of memory). */
int mp_h2_serve(int fd, const char *peer, mp_http_handler handler, void *ctx,
                size_t max_body, int idle_timeout_ms, const volatile int *stopping);

#endif
