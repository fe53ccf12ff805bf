/* mlpipe's HTTP server: one listening port speaking HTTP/1.1 (GNU
 * libmicrohttpd) and HTTP/2 with prior knowledge (nghttp2), as ksqlDB's
 * port does, in front of one handler.
 *
 * Each accepted connection is sniffed on a short-lived thread: the HTTP/2
 * client preface sends it to http2.c, anything else to libmicrohttpd, which
 * gives each connection a thread of its own (streamed responses block in
 * their reader, and the thread notices a client that hangs up). The server
 * adds what every endpoint needs around the handler: HTTP Basic
 * authentication against a users file (all paths but /healthcheck), request
 * counts and latency histograms per endpoint (mp_server_metrics), and an
 * access log on stderr when verbose.
 *
 * Limits: request bodies above max_body get 413; a connection that sends
 * nothing for idle_timeout_s seconds (including one that never finishes its
 * request line: slowloris) is closed; at most max_connections are open at
 * once, beyond which new ones are closed straight away. */
#ifndef MP_SERVER_SERVER_H
#define MP_SERVER_SERVER_H

#include <stddef.h>

#include "core/buf.h"
#include "core/error.h"
#include "server/http.h"

typedef struct mp_server mp_server;

typedef struct mp_server_opts {
    const char *listen;     /* "127.0.0.1:8088" (default), "host:port" or ":port" */
    size_t max_body;        /* 0: 8 MiB */
    int idle_timeout_s;     /* 0: 30 */
    size_t max_connections; /* 0: 512 */
    const char *users_file; /* NULL: no authentication */
    const char *realm;      /* for WWW-Authenticate; NULL: "mlpipe" */
    int verbose;            /* access log on stderr */
    /* Maps a request to the endpoint label used in metrics ("/ksql",
     * "/v1/models/:predict"); NULL: the path itself for a fixed set. */
    const char *(*endpoint_label)(const mp_http_request *req);
} mp_server_opts;

/* Binds and starts serving; returns once the port is listening. The bound
 * port (useful with port 0) is mp_server_port. */
int mp_server_start(const mp_server_opts *o, mp_http_handler h, void *ctx, mp_server **out,
                    mp_error *e);
int mp_server_port(const mp_server *s);
/* Appends the request metrics in Prometheus text format. */
void mp_server_metrics(mp_server *s, mp_buf *out);
/* Stops accepting, closes every connection (streamed responses see their
 * writes fail), waits for connection threads and frees the server. */
void mp_server_stop(mp_server *s);

#endif
