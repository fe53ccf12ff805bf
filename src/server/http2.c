/* HTTP/2 with prior knowledge on one connection, over nghttp2's server
 * session.
 *
 * One thread per connection runs a poll loop on the socket and on a
 * self-pipe. Bytes from the socket go into nghttp2_session_mem_recv, whose
 * callbacks collect each stream's request and call the handler once the
 * request is complete; whatever nghttp2 wants to send is taken with
 * nghttp2_session_mem_send and written without blocking, so a client that
 * stops reading cannot wedge the thread.
 *
 * Streamed responses run their producer through an mp_http_pipe. The
 * producer's notify writes a byte to the self-pipe; a stream whose producer
 * has nothing ready is deferred (NGHTTP2_ERR_DEFERRED) and resumed on the
 * next wake. Each piece the producer writes leaves as one DATA frame, since
 * ksqlDB's clients parse every DATA frame as one JSON row; only a piece
 * larger than a frame is split. */
#include "server/http2.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"

#define MP_H2_MAX_STREAMS 100
/* Bytes a producer may run ahead of the client before mp_http_write blocks. */
#define MP_H2_PIPE_CAP (256 * 1024)
/* nghttp2 never asks for more than 16 KiB per DATA frame, so a piece is
 * staged in a buffer of that size; a larger piece arrives in parts. */
#define MP_H2_CHUNK 16384
/* Request headers kept per stream; beyond this the stream is reset, so a
 * client cannot make the server hold arbitrary amounts of header text. */
#define MP_H2_MAX_HEADER_BYTES (64 * 1024)
/* How often *stopping is looked at while nothing else happens. */
#define MP_H2_TICK_MS 200
/* How long a GOAWAY may take to leave before the socket is closed anyway. */
#define MP_H2_LINGER_MS 1000
/* After a 413 the rest of an upload is read and dropped rather than reset:
 * curl (7.88) discards a complete response when RST_STREAM(NO_ERROR)
 * follows it. Only an upload that goes on past this is reset. */
#define MP_H2_DRAIN_MAX (4 * 1024 * 1024)
/* Stop asking nghttp2 for more output while this much is still unsent. */
#define MP_H2_OUT_HIGH (64 * 1024)

typedef struct mp_h2_conn mp_h2_conn;

typedef struct mp_h2_stream {
    struct mp_h2_stream *prev, *next;
    mp_h2_conn *conn;
    int32_t id;

    /* The request as it arrives. */
    char *method, *path, *content_type, *accept, *authorization;
    size_t header_bytes;
    mp_buf body;
    int too_large;     /* body (or its content-length) passed max_body */
    int remote_closed; /* the client sent END_STREAM */
    int responded;     /* a response has been submitted */
    int sent_all;      /* ... and has gone out with END_STREAM */
    size_t dropped;    /* upload bytes dropped after a 413 */
    int reset;         /* RST_STREAM submitted */

    /* A whole response body, sent from resp.body. */
    mp_http_response resp;
    size_t body_off;

    /* A streamed response: the piece being sent sits in chunk. */
    mp_http_pipe *pipe;
    char *chunk;
    size_t chunk_len, chunk_off;
    int pipe_done;       /* producer finished and everything was taken */
    int waiting_data;    /* deferred until the producer writes */
    int waiting_window;  /* deferred until the client widens its window */
} mp_h2_stream;

/* A producer whose stream closed early: cancelled, kept until it returns so
 * that freeing it does not stall the connection on a join. */
typedef struct mp_h2_zombie {
    struct mp_h2_zombie *next;
    mp_http_pipe *pipe;
} mp_h2_zombie;

struct mp_h2_conn {
    nghttp2_session *session;
    int fd;
    int wake[2];
    const char *peer;
    mp_http_handler handler;
    void *ctx;
    size_t max_body;

    mp_h2_stream *streams;
    mp_h2_zombie *zombies;
    int terminating; /* GOAWAY submitted; no new requests are served */
    int failed;      /* a GOAWAY with an error code went out */

    mp_buf out; /* encoded frames not yet accepted by the socket */
    size_t out_off;
    double last_activity;
};

static double now_ms(void) { return mp_clock_now() * 1000.0; }

/* ---- Streams ---- */

static mp_h2_stream *stream_get(mp_h2_conn *c, int32_t id)
{
    return nghttp2_session_get_stream_user_data(c->session, id);
}

/* Cancels the producer and parks it until it has returned. */
static void retire_pipe(mp_h2_conn *c, mp_http_pipe *p)
{
    mp_http_pipe_cancel(p);
    mp_h2_zombie *z = malloc(sizeof *z);
    if (!z) {
        /* Without a place to park it, wait for it here; the producer has
         * been told that nobody listens, so this ends soon. */
        mp_http_pipe_free(p);
        return;
    }
    z->pipe = p;
    z->next = c->zombies;
    c->zombies = z;
}

/* Frees cancelled producers that have returned. */
static void reap_zombies(mp_h2_conn *c)
{
    char scratch[4096];
    mp_h2_zombie **pp = &c->zombies;
    while (*pp) {
        mp_h2_zombie *z = *pp;
        ssize_t r;
        while ((r = mp_http_pipe_read(z->pipe, scratch, sizeof scratch, 0)) > 0) {
        }
        if (r < 0) {
            mp_http_pipe_free(z->pipe);
            *pp = z->next;
            free(z);
        } else {
            pp = &z->next;
        }
    }
}

static void stream_free(mp_h2_conn *c, mp_h2_stream *s)
{
    if (s->pipe) {
        if (s->pipe_done)
            mp_http_pipe_free(s->pipe);
        else
            retire_pipe(c, s->pipe);
    }
    free(s->method);
    free(s->path);
    free(s->content_type);
    free(s->accept);
    free(s->authorization);
    free(s->chunk);
    mp_buf_free(&s->body);
    mp_http_response_clear(&s->resp);
    free(s);
}

static void stream_unlink(mp_h2_conn *c, mp_h2_stream *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        c->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
}

/* ---- Responses ---- */

static void notify_wake(void *arg);

static ssize_t read_whole(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                          size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                          void *user_data)
{
    mp_h2_stream *s = source->ptr;
    size_t left = s->resp.body_len - s->body_off;
    size_t n = left < length ? left : length;
    if (n)
        memcpy(buf, s->resp.body + s->body_off, n);
    s->body_off += n;
    if (s->body_off == s->resp.body_len)
        *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* Takes the producer's next piece into chunk, if one is ready. */
static void fill_chunk(mp_h2_stream *s)
{
    ssize_t r = mp_http_pipe_read(s->pipe, s->chunk, MP_H2_CHUNK, 0);
    s->chunk_off = 0;
    s->chunk_len = r > 0 ? (size_t)r : 0;
    if (r < 0)
        s->pipe_done = 1;
}

static ssize_t read_pipe(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
                         size_t length, uint32_t *data_flags, nghttp2_data_source *source,
                         void *user_data)
{
    mp_h2_stream *s = source->ptr;
    if (s->chunk_off == s->chunk_len && !s->pipe_done)
        fill_chunk(s);
    if (s->chunk_off == s->chunk_len) {
        if (s->pipe_done) {
            *data_flags |= NGHTTP2_DATA_FLAG_EOF;
            return 0;
        }
        s->waiting_data = 1;
        return NGHTTP2_ERR_DEFERRED;
    }

    size_t avail = s->chunk_len - s->chunk_off;
    if (avail > length && s->chunk_off == 0) {
        /* Only flow control makes length smaller than a staged piece.
         * Splitting would hand the client half a row, so wait for a
         * WINDOW_UPDATE instead -- but only when the piece is small next
         * to the client's window: then the client has consumed at least
         * half its window and is bound to send one. */
        uint32_t win = nghttp2_session_get_remote_settings(
            session, NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE);
        if (win > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE)
            win = NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE;
        if (avail <= win / 2) {
            s->waiting_window = 1;
            return NGHTTP2_ERR_DEFERRED;
        }
    }
    size_t n = avail < length ? avail : length;
    memcpy(buf, s->chunk + s->chunk_off, n);
    s->chunk_off += n;
    if (s->chunk_off == s->chunk_len) {
        /* Look one piece ahead so that the last piece carries END_STREAM
         * itself: an empty final DATA frame would reach clients that parse
         * every frame as an empty row. */
        fill_chunk(s);
        if (s->pipe_done)
            *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    return (ssize_t)n;
}

static int is_connection_header(const char *name)
{
    static const char *const banned[] = {"connection", "keep-alive", "proxy-connection",
                                         "transfer-encoding", "upgrade", "content-length"};
    for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++)
        if (strcmp(name, banned[i]) == 0)
            return 1;
    return name[0] == ':' || name[0] == '\0';
}

static nghttp2_nv make_nv(const char *name, const char *value)
{
    nghttp2_nv nv;
    nv.name = (uint8_t *)(uintptr_t)name;
    nv.namelen = strlen(name);
    nv.value = (uint8_t *)(uintptr_t)value;
    nv.valuelen = strlen(value);
    nv.flags = NGHTTP2_NV_FLAG_NONE;
    return nv;
}

/* Submits s->resp. Returns 0 or a negative nghttp2 error. */
static int submit(mp_h2_conn *c, mp_h2_stream *s)
{
    mp_http_response *r = &s->resp;
    s->responded = 1;

    int status = r->status;
    if (status < 200 || status > 999)
        status = 500;
    int bodiless = status == 204 || status == 304 ||
                   (s->method && strcmp(s->method, "HEAD") == 0);
    if (r->produce && bodiless) {
        /* Nothing may follow the headers, so the producer never runs. */
        mp_http_response_clear(r);
    }

    if (r->produce) {
        s->chunk = malloc(MP_H2_CHUNK);
        if (!s->chunk ||
            mp_http_pipe_start(r, MP_H2_PIPE_CAP, notify_wake, c, &s->pipe) != 0) {
            /* The pipe never started, so the response still owns the
             * producer's argument and clearing it frees it. */
            s->pipe = NULL;
            free(s->chunk);
            s->chunk = NULL;
            mp_http_response_clear(r);
            mp_http_respond_error(r, 500, "could not start the response");
            status = 500;
        } else {
            /* From here the pipe owns the argument. */
            r->produce = NULL;
            r->produce_arg = NULL;
            r->produce_arg_free = NULL;
        }
    }

    char status_s[8], len_s[24];
    snprintf(status_s, sizeof status_s, "%d", status);
    char names[MP_HTTP_MAX_HEADERS][32];
    nghttp2_nv nva[3 + MP_HTTP_MAX_HEADERS];
    size_t n = 0;
    nva[n++] = make_nv(":status", status_s);
    if (r->content_type[0])
        nva[n++] = make_nv("content-type", r->content_type);
    if (!s->pipe && status != 204 && status != 304) {
        snprintf(len_s, sizeof len_s, "%zu", r->body ? r->body_len : (size_t)0);
        nva[n++] = make_nv("content-length", len_s);
    }
    size_t nh = r->nheaders < MP_HTTP_MAX_HEADERS ? r->nheaders : MP_HTTP_MAX_HEADERS;
    for (size_t i = 0; i < nh; i++) {
        /* HTTP/2 field names are lowercase; clients reject others. */
        size_t k = 0;
        for (; k + 1 < sizeof names[i] && r->header_name[i][k]; k++) {
            char ch = r->header_name[i][k];
            names[i][k] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
        }
        names[i][k] = '\0';
        if (!is_connection_header(names[i]))
            nva[n++] = make_nv(names[i], r->header_value[i]);
    }

    nghttp2_data_provider prd;
    nghttp2_data_provider *p = NULL;
    prd.source.ptr = s;
    if (s->pipe) {
        prd.read_callback = read_pipe;
        p = &prd;
    } else if (!bodiless && r->body && r->body_len > 0) {
        prd.read_callback = read_whole;
        p = &prd;
    }
    return nghttp2_submit_response(c->session, s->id, nva, n, p);
}

/* Sends an error of the transport's own (413, 500) on s. */
static int submit_error(mp_h2_conn *c, mp_h2_stream *s, int status, const char *message)
{
    mp_http_response_clear(&s->resp);
    memset(&s->resp, 0, sizeof s->resp);
    mp_http_respond_error(&s->resp, status, message);
    return submit(c, s);
}

static void dispatch(mp_h2_conn *c, mp_h2_stream *s)
{
    if (s->responded || c->terminating)
        return;
    if (s->body.oom) {
        mp_buf_free(&s->body);
        submit_error(c, s, 500, "out of memory");
        return;
    }
    const char *path = s->path ? s->path : "";
    const char *query = "";
    char *q = s->path ? strchr(s->path, '?') : NULL;
    if (q) {
        *q = '\0';
        query = q + 1;
    }
    mp_http_request req = {
        .method = s->method ? s->method : "",
        .path = path,
        .query = query,
        .content_type = s->content_type,
        .accept = s->accept,
        .authorization = s->authorization,
        .body = s->body.data ? s->body.data : "",
        .body_len = s->body.len,
        .peer = c->peer ? c->peer : "",
        .http_version = 20,
    };
    memset(&s->resp, 0, sizeof s->resp);
    c->handler(c->ctx, &req, &s->resp);
    mp_buf_free(&s->body);
    if (submit(c, s) != 0)
        nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
}

/* ---- nghttp2 callbacks ---- */

static int on_begin_headers(nghttp2_session *session, const nghttp2_frame *frame,
                            void *user_data)
{
    mp_h2_conn *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    mp_h2_stream *s = calloc(1, sizeof *s);
    if (!s)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    s->conn = c;
    s->id = frame->hd.stream_id;
    if (nghttp2_session_set_stream_user_data(session, s->id, s) != 0) {
        free(s);
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    s->next = c->streams;
    if (c->streams)
        c->streams->prev = s;
    c->streams = s;
    return 0;
}

/* Stores a header value, joining repeats with ", " as HTTP allows. */
static int set_field(char **field, const uint8_t *value, size_t len)
{
    size_t old = *field ? strlen(*field) : 0;
    size_t sep = *field ? 2 : 0;
    char *v = realloc(*field, old + sep + len + 1);
    if (!v)
        return -1;
    if (sep)
        memcpy(v + old, ", ", 2);
    memcpy(v + old + sep, value, len);
    v[old + sep + len] = '\0';
    *field = v;
    return 0;
}

static int name_is(const uint8_t *name, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(name, want, len) == 0;
}

static int on_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data)
{
    mp_h2_conn *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0; /* trailers carry nothing a handler reads */
    mp_h2_stream *s = stream_get(c, frame->hd.stream_id);
    if (!s)
        return 0;
    s->header_bytes += namelen + valuelen;
    if (s->header_bytes > MP_H2_MAX_HEADER_BYTES)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;

    char **field = NULL;
    if (name_is(name, namelen, ":method"))
        field = &s->method;
    else if (name_is(name, namelen, ":path"))
        field = &s->path;
    else if (name_is(name, namelen, "content-type"))
        field = &s->content_type;
    else if (name_is(name, namelen, "accept"))
        field = &s->accept;
    else if (name_is(name, namelen, "authorization"))
        field = &s->authorization;
    else if (name_is(name, namelen, "content-length")) {
        /* A declared length above the cap is refused before any body
         * arrives; nghttp2 itself checks the length against the DATA. */
        size_t v = 0;
        int over = 0;
        for (size_t i = 0; i < valuelen && !over; i++) {
            if (value[i] < '0' || value[i] > '9')
                return 0;
            if (v > (SIZE_MAX - 9) / 10)
                over = 1;
            else
                v = v * 10 + (size_t)(value[i] - '0');
        }
        if (over || v > c->max_body)
            s->too_large = 1;
        return 0;
    }
    if (!field)
        return 0;
    if ((field == &s->method || field == &s->path) && *field) {
        free(*field); /* a pseudo-header appears once; nghttp2 enforces it */
        *field = NULL;
    }
    if (set_field(field, value, valuelen) != 0)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    return 0;
}

static int on_data_chunk_recv(nghttp2_session *session, uint8_t flags, int32_t stream_id,
                              const uint8_t *data, size_t len, void *user_data)
{
    mp_h2_conn *c = user_data;
    mp_h2_stream *s = stream_get(c, stream_id);
    if (!s)
        return 0;
    if (s->too_large || s->responded) {
        /* RFC 9113 section 8.1 lets a server that has answered stop the
         * upload with RST_STREAM(NO_ERROR); that is kept for uploads that
         * would otherwise go on for long. */
        s->dropped += len;
        if (s->dropped > MP_H2_DRAIN_MAX && s->sent_all && !s->reset) {
            s->reset = 1;
            nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_NO_ERROR);
        }
        return 0;
    }
    if (len > c->max_body - s->body.len) {
        s->too_large = 1;
        mp_buf_free(&s->body);
        if (submit_error(c, s, 413, "request body too large") != 0)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        return 0;
    }
    mp_buf_append(&s->body, data, len);
    return 0;
}

static int on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    mp_h2_conn *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    mp_h2_stream *s = stream_get(c, frame->hd.stream_id);
    if (!s)
        return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST &&
        s->too_large && !s->responded) {
        if (submit_error(c, s, 413, "request body too large") != 0)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
        s->remote_closed = 1;
        dispatch(c, s);
    }
    return 0;
}

static int on_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    mp_h2_conn *c = user_data;
    /* nghttp2 answers most protocol errors with a GOAWAY of its own. */
    if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR)
        c->failed = 1;
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
        return 0;
    if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
        return 0;
    mp_h2_stream *s = stream_get(c, frame->hd.stream_id);
    if (s)
        s->sent_all = 1;
    return 0;
}

static int on_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code,
                           void *user_data)
{
    mp_h2_conn *c = user_data;
    mp_h2_stream *s = stream_get(c, stream_id);
    if (!s)
        return 0;
    nghttp2_session_set_stream_user_data(session, stream_id, NULL);
    stream_unlink(c, s);
    stream_free(c, s);
    return 0;
}

/* ---- The connection ---- */

static void notify_wake(void *arg)
{
    mp_h2_conn *c = arg;
    char b = 1;
    /* A full pipe already means a wake is pending. */
    ssize_t r = write(c->wake[1], &b, 1);
    (void)r;
}

static void drain_wake(mp_h2_conn *c)
{
    char b[64];
    while (read(c->wake[0], b, sizeof b) > 0) {
    }
}

static int set_nonblocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
    int fdfl = fcntl(fd, F_GETFD);
    if (fdfl >= 0)
        fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC);
    return 0;
}

/* Hands nghttp2's output to the socket until either has nothing more.
 * Returns 0, 1 when the client has gone (the socket refuses writes), or -1
 * when nghttp2 gave up or memory ran out. */
static int flush_out(mp_h2_conn *c)
{
    for (;;) {
        while (c->out_off < c->out.len) {
            ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
                             MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    return 0;
                return 1;
            }
            c->out_off += (size_t)n;
            c->last_activity = now_ms();
        }
        mp_buf_reset(&c->out);
        c->out_off = 0;
        /* Several frames are gathered before a send so that a burst of
         * small rows costs few system calls. */
        while (c->out.len < MP_H2_OUT_HIGH) {
            const uint8_t *data;
            ssize_t n = nghttp2_session_mem_send(c->session, &data);
            if (n < 0)
                return -1;
            if (n == 0)
                break;
            mp_buf_append(&c->out, data, (size_t)n);
            if (c->out.oom)
                return -1;
        }
        if (c->out.len == 0)
            return 0;
    }
}

static void resume_streams(mp_h2_conn *c, int data, int window)
{
    for (mp_h2_stream *s = c->streams; s; s = s->next) {
        if ((data && s->waiting_data) || (window && s->waiting_window)) {
            s->waiting_data = s->waiting_window = 0;
            nghttp2_session_resume_data(c->session, s->id);
        }
    }
}

static int streaming(const mp_h2_conn *c)
{
    for (const mp_h2_stream *s = c->streams; s; s = s->next)
        if (s->pipe && !s->pipe_done)
            return 1;
    return 0;
}

static void shut_down(mp_h2_conn *c, uint32_t code)
{
    if (c->terminating)
        return;
    c->terminating = 1;
    nghttp2_session_terminate_session(c->session, code);
    /* Producers learn at once that nobody will read what they write. */
    for (mp_h2_stream *s = c->streams; s; s = s->next)
        if (s->pipe)
            mp_http_pipe_cancel(s->pipe);
}

static int setup_session(mp_h2_conn *c)
{
    nghttp2_session_callbacks *cb;
    if (nghttp2_session_callbacks_new(&cb) != 0)
        return -1;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, on_data_chunk_recv);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, on_frame_recv);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, on_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, on_stream_close);
    int rv = nghttp2_session_server_new(&c->session, cb, c);
    nghttp2_session_callbacks_del(cb);
    if (rv != 0) {
        c->session = NULL;
        return -1;
    }
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, MP_H2_MAX_STREAMS},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, MP_H2_MAX_HEADER_BYTES},
    };
    if (nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, sizeof iv / sizeof iv[0]) != 0)
        return -1;
    return 0;
}

int mp_h2_serve(int fd, const char *peer, mp_http_handler handler, void *ctx, size_t max_body,
                int idle_timeout_ms, const volatile int *stopping)
{
    mp_h2_conn c = {0};
    c.fd = fd;
    c.wake[0] = c.wake[1] = -1;
    c.peer = peer;
    c.handler = handler;
    c.ctx = ctx;
    c.max_body = max_body;
    c.last_activity = now_ms();
    int rc = -1;
    double linger_until = 0;

    if (fd < 0 || !handler)
        goto done;
    if (set_nonblocking(fd) != 0)
        goto done;
    /* Rows leave as small frames; Nagle would hold each one back. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (pipe(c.wake) != 0) {
        c.wake[0] = c.wake[1] = -1;
        goto done;
    }
    if (set_nonblocking(c.wake[0]) != 0 || set_nonblocking(c.wake[1]) != 0)
        goto done;
    if (setup_session(&c) != 0)
        goto done;

    rc = 0;
    uint8_t in[16384];
    for (;;) {
        if (!c.terminating && stopping && *stopping)
            shut_down(&c, NGHTTP2_NO_ERROR);
        if (c.terminating && linger_until == 0)
            linger_until = now_ms() + MP_H2_LINGER_MS;

        int fr = flush_out(&c);
        if (fr != 0) {
            if (fr < 0 && !c.terminating)
                rc = -1;
            break;
        }
        int want_read = nghttp2_session_want_read(c.session);
        int want_write = nghttp2_session_want_write(c.session);
        int pending = c.out_off < c.out.len;
        if (!want_read && !want_write && !pending)
            break;
        double now = now_ms();
        if (linger_until != 0 && now >= linger_until)
            break;

        int timeout = MP_H2_TICK_MS;
        int idle_applies = idle_timeout_ms > 0 && !c.terminating && !streaming(&c);
        if (idle_applies) {
            double left = c.last_activity + idle_timeout_ms - now;
            if (left <= 0) {
                shut_down(&c, NGHTTP2_NO_ERROR);
                continue;
            }
            if (left < timeout)
                timeout = (int)left + 1;
        }

        struct pollfd pfd[2];
        pfd[0].fd = fd;
        pfd[0].events = (short)((want_read ? POLLIN : 0) | (pending ? POLLOUT : 0));
        pfd[0].revents = 0;
        pfd[1].fd = c.wake[0];
        pfd[1].events = POLLIN;
        pfd[1].revents = 0;
        int pr = poll(pfd, 2, timeout);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            rc = -1;
            break;
        }

        if (pfd[1].revents & POLLIN) {
            drain_wake(&c);
            resume_streams(&c, 1, 0);
            reap_zombies(&c);
        }

        if (pfd[0].revents & POLLIN) {
            ssize_t n = recv(fd, in, sizeof in, 0);
            if (n == 0)
                break; /* the client closed */
            if (n < 0) {
                if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
                    continue;
                break; /* reset by the client: it has gone */
            }
            c.last_activity = now_ms();
            ssize_t used = nghttp2_session_mem_recv(c.session, in, (size_t)n);
            if (used < 0) {
                /* Not HTTP/2, or beyond repair: say so and hang up. */
                if (!c.terminating) {
                    shut_down(&c, used == NGHTTP2_ERR_NOMEM ? NGHTTP2_INTERNAL_ERROR
                                                             : NGHTTP2_PROTOCOL_ERROR);
                    rc = -1;
                }
                continue;
            }
            /* Whatever arrived may have widened a flow-control window. */
            resume_streams(&c, 0, 1);
        } else if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
            break; /* the client has gone */
        }
    }

done:
    if (c.failed)
        rc = -1;
    if (c.session)
        nghttp2_session_del(c.session);
    /* Cancel every producer first so that they wind down together, then
     * wait for each. */
    for (mp_h2_stream *s = c.streams; s; s = s->next)
        if (s->pipe)
            mp_http_pipe_cancel(s->pipe);
    while (c.streams) {
        mp_h2_stream *s = c.streams;
        stream_unlink(&c, s);
        if (s->pipe) {
            mp_http_pipe_free(s->pipe);
            s->pipe = NULL;
        }
        stream_free(&c, s);
    }
    while (c.zombies) {
        mp_h2_zombie *z = c.zombies;
        c.zombies = z->next;
        mp_http_pipe_free(z->pipe);
        free(z);
    }
    mp_buf_free(&c.out);
    if (c.wake[0] >= 0)
        close(c.wake[0]);
    if (c.wake[1] >= 0)
        close(c.wake[1]);
    if (fd >= 0)
        close(fd);
    return rc;
}
