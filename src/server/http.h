/* Transport-neutral HTTP for mlpipe's server.
 *
 * A request reaches a handler the same way whether it came over HTTP/1.1
 * (libmicrohttpd, http_server.c) or HTTP/2 with prior knowledge (nghttp2,
 * http2.c): the handler reads an mp_http_request and fills an
 * mp_http_response, either a whole body or a producer that streams one.
 *
 * A producer runs on a thread of its own and hands the body over piece by
 * piece with mp_http_write; each write reaches the client as one chunk
 * (HTTP/1.1 chunked encoding) or one DATA frame (HTTP/2), so a client that
 * reads a row per chunk sees whole rows. Writes block while the client
 * reads slowly (bounded memory) and fail once it has gone, which is how a
 * push query learns that nobody listens any more. */
#ifndef MP_SERVER_HTTP_H
#define MP_SERVER_HTTP_H

#include <stddef.h>
#include <sys/types.h>

typedef struct mp_http_request {
    const char *method;        /* "GET", "POST", ... */
    const char *path;          /* without the query string, not decoded */
    const char *query;         /* the raw query string, "" when none */
    const char *content_type;  /* NULL when absent */
    const char *accept;        /* NULL when absent */
    const char *authorization; /* NULL when absent */
    const char *body;          /* NUL-terminated; "" when none */
    size_t body_len;
    const char *peer;          /* "127.0.0.1:54321", for the access log */
    int http_version;          /* 10, 11 or 20 */
} mp_http_request;

typedef struct mp_http_writer mp_http_writer;

/* Streams one piece of the body. Returns 0, or -1 once the client has gone
 * or the server is stopping (the producer should then return). */
int mp_http_write(mp_http_writer *w, const char *data, size_t len);
/* Nonzero once the client has gone or the server is stopping. */
int mp_http_writer_closed(mp_http_writer *w);

typedef void (*mp_http_producer)(void *arg, mp_http_writer *w);

#define MP_HTTP_MAX_HEADERS 4

typedef struct mp_http_response {
    int status;
    char content_type[96];
    /* A whole body (malloc'd; the transport frees it) ... */
    char *body;
    size_t body_len;
    /* ... or a streamed one: produce(arg, w) on its own thread, then
     * arg_free(arg) (may be NULL), whether or not the client stayed. */
    mp_http_producer produce;
    void *produce_arg;
    void (*produce_arg_free)(void *arg);
    /* Extra response headers, e.g. {"WWW-Authenticate", "Basic realm=..."}. */
    size_t nheaders;
    char header_name[MP_HTTP_MAX_HEADERS][32];
    char header_value[MP_HTTP_MAX_HEADERS][128];
} mp_http_response;

/* Fills resp from a request. Must not block for long: anything slow or
 * unbounded belongs in a producer. */
typedef void (*mp_http_handler)(void *ctx, const mp_http_request *req, mp_http_response *resp);

/* Sets a whole body (copied). Returns 0 or -1 when out of memory, in which
 * case resp becomes a bodiless 500. */
int mp_http_respond(mp_http_response *resp, int status, const char *content_type,
                    const char *body, size_t len);
/* Takes a body already malloc'd (ownership passes to resp). */
void mp_http_respond_owned(mp_http_response *resp, int status, const char *content_type,
                           char *body, size_t len);
/* {"error": message} with the given status, as TensorFlow Serving and the
 * transports' own errors (413, 400) answer. */
void mp_http_respond_error(mp_http_response *resp, int status, const char *message);
/* Adds a response header (silently ignored beyond MP_HTTP_MAX_HEADERS). */
void mp_http_add_header(mp_http_response *resp, const char *name, const char *value);
/* Sets a streamed body. */
void mp_http_respond_stream(mp_http_response *resp, int status, const char *content_type,
                            mp_http_producer fn, void *arg, void (*arg_free)(void *));
/* Frees what a response owns (body, producer argument never started). */
void mp_http_response_clear(mp_http_response *resp);

/* The standard reason phrase of a status code ("Not Found"). */
const char *mp_http_reason(int status);

/* ---- For transports: running a producer and taking its output. ---- */

typedef struct mp_http_pipe mp_http_pipe;

/* Starts resp's producer on its own thread. notify(notify_arg), if given,
 * is called (from the producer's thread) whenever output becomes ready or
 * the producer finishes, for transports that wait in a poll loop. At most
 * cap bytes are buffered before mp_http_write blocks. */
int mp_http_pipe_start(mp_http_response *resp, size_t cap, void (*notify)(void *),
                       void *notify_arg, mp_http_pipe **out);
/* Takes the next piece (one write, or its first max bytes) into buf.
 * Returns its length (> 0); 0 when nothing is ready within timeout_ms
 * (0: don't wait, -1: wait until something is); -1 when the producer has
 * finished and everything has been taken. */
ssize_t mp_http_pipe_read(mp_http_pipe *p, char *buf, size_t max, int timeout_ms);
/* The client has gone: writes fail from now on. */
void mp_http_pipe_cancel(mp_http_pipe *p);
/* Cancels, waits for the producer to return and frees everything. */
void mp_http_pipe_free(mp_http_pipe *p);

#endif
