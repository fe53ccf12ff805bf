/* The listening socket, the per-connection protocol sniffer, the HTTP/1.1
 * side on libmicrohttpd, and the checks every request passes through. */
#define _GNU_SOURCE /* accept4, pipe2, POLLRDHUP */
#include "server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "server/auth.h"
#include "server/http2.h"
#include "server/server_metrics.h"

/* Bytes a streamed response may buffer ahead of a slow client. */
#define STREAM_BUFFER (1u << 20)

struct mp_server {
    mp_server_opts o;
    char listen_host[256];
    int port;
    int listen_fd;
    int stop_pipe[2];
    volatile int stopping;
    pthread_t acceptor;
    int acceptor_started;
    struct MHD_Daemon *mhd;
    mp_http_handler handler;
    void *ctx;
    mp_auth *auth;
    mp_server_metrics_t *metrics;
    /* Connections being sniffed or served over HTTP/2 (threads we own);
     * libmicrohttpd counts its own. */
    pthread_mutex_t mu;
    pthread_cond_t idle;
    size_t own_threads;
    atomic_size_t open_connections;
};

int mp_server_port(const mp_server *s) { return s->port; }

/* ---- Every request: authentication, the handler, metrics, access log. ---- */

static void unauthorized(mp_server *s, mp_http_response *resp)
{
    static const char body[] =
        "{\"@type\":\"generic_error\",\"error_code\":40100,"
        "\"message\":\"Unauthorized: HTTP Basic credentials missing or wrong\"}";
    mp_http_respond(resp, 401, "application/json", body, sizeof body - 1);
    char v[128];
    snprintf(v, sizeof v, "Basic realm=\"%s\"", s->o.realm ? s->o.realm : "mlpipe");
    mp_http_add_header(resp, "WWW-Authenticate", v);
}

static void dispatch(void *ctx, const mp_http_request *req, mp_http_response *resp)
{
    mp_server *s = ctx;
    double t0 = mp_clock_now();
    if (s->auth && strcmp(req->path, "/healthcheck") != 0 &&
        !mp_auth_check(s->auth, req->authorization))
        unauthorized(s, resp);
    else
        s->handler(s->ctx, req, resp);
    if (resp->status == 0)
        resp->status = 200;
    double secs = mp_clock_now() - t0;
    const char *label = s->o.endpoint_label ? s->o.endpoint_label(req) : NULL;
    mp_server_metrics_observe(s->metrics, label ? label : mp_server_default_label(req),
                              resp->status, secs);
    if (s->o.verbose) {
        char when[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        fprintf(stderr, "%s %s \"%s %s%s%s HTTP/%s\" %d %zu %.3fms%s\n", when, req->peer,
                req->method, req->path, *req->query ? "?" : "", req->query,
                req->http_version == 20 ? "2" : req->http_version == 10 ? "1.0" : "1.1",
                resp->status, resp->body_len, secs * 1e3, resp->produce ? " (streamed)" : "");
    }
}

/* ---- HTTP/1.1 through libmicrohttpd. ---- */

typedef struct h1_request {
    char *body;
    size_t len, cap;
    int too_big;
    int answered; /* a response is already queued (413 during upload) */
} h1_request;

typedef struct h1_stream {
    mp_server *srv;
    mp_http_pipe *pipe;
    int fd;
} h1_stream;

static int peer_gone(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLRDHUP};
    return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

static ssize_t h1_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    h1_stream *st = cls;
    for (;;) {
        ssize_t n = mp_http_pipe_read(st->pipe, buf, max, 250);
        if (n > 0)
            return n;
        if (n < 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (st->srv->stopping || (st->fd >= 0 && peer_gone(st->fd)))
            return MHD_CONTENT_READER_END_WITH_ERROR;
    }
}

static void h1_stream_free(void *cls)
{
    h1_stream *st = cls;
    mp_http_pipe_free(st->pipe);
    free(st);
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    mp_buf *q = cls;
    if (q->len)
        mp_buf_putc(q, '&');
    mp_buf_puts(q, key);
    if (value) {
        mp_buf_putc(q, '=');
        mp_buf_puts(q, value);
    }
    return MHD_YES;
}

static enum MHD_Result queue(struct MHD_Connection *c, mp_server *s, mp_http_response *resp)
{
    struct MHD_Response *r = NULL;
    if (resp->produce) {
        h1_stream *st = calloc(1, sizeof *st);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (st) {
            st->srv = s;
            st->fd = ci ? ci->connect_fd : -1;
        }
        if (!st || mp_http_pipe_start(resp, STREAM_BUFFER, NULL, NULL, &st->pipe) != 0) {
            free(st);
            mp_http_response_clear(resp);
            mp_http_respond_error(resp, 503, "cannot start a response stream");
        } else {
            r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, h1_stream_read,
                                                  st, h1_stream_free);
            if (!r)
                h1_stream_free(st);
        }
    }
    if (!r) {
        r = MHD_create_response_from_buffer(resp->body_len, resp->body ? resp->body : (char *)"",
                                            resp->body ? MHD_RESPMEM_MUST_FREE
                                                       : MHD_RESPMEM_PERSISTENT);
        if (r)
            resp->body = NULL; /* libmicrohttpd frees it */
    }
    if (!r) {
        mp_http_response_clear(resp);
        return MHD_NO;
    }
    if (resp->content_type[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
    for (size_t i = 0; i < resp->nheaders; i++)
        MHD_add_response_header(r, resp->header_name[i], resp->header_value[i]);
    enum MHD_Result rc = MHD_queue_response(c, (unsigned)resp->status, r);
    MHD_destroy_response(r);
    mp_http_response_clear(resp);
    return rc;
}

static void peer_name(struct MHD_Connection *c, char *out, size_t n)
{
    snprintf(out, n, "-");
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ci->client_addr->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ci->client_addr;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        port = ntohs(a->sin_port);
    } else if (ci->client_addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ci->client_addr;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        port = ntohs(a->sin6_port);
    }
    snprintf(out, n, "%s:%d", host, port);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    mp_server *s = cls;
    h1_request *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        *con_cls = rq;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > s->o.max_body)
            rq->too_big = 1;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (rq->too_big || rq->len + n > s->o.max_body) {
            rq->too_big = 1;
            free(rq->body);
            rq->body = NULL;
            rq->len = rq->cap = 0;
            return MHD_YES;
        }
        if (rq->len + n + 1 > rq->cap) {
            size_t cap = rq->cap ? rq->cap : 1024;
            while (cap < rq->len + n + 1)
                cap *= 2;
            char *b = realloc(rq->body, cap);
            if (!b)
                return MHD_NO;
            rq->body = b;
            rq->cap = cap;
        }
        memcpy(rq->body + rq->len, upload_data, n);
        rq->len += n;
        rq->body[rq->len] = '\0';
        return MHD_YES;
    }
    if (rq->answered)
        return MHD_YES;
    rq->answered = 1;

    mp_http_response resp;
    memset(&resp, 0, sizeof resp);
    char peer[80];
    peer_name(c, peer, sizeof peer);
    mp_buf q = {0};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &q);
    mp_http_request req = {
        .method = method,
        .path = url,
        .query = q.data ? q.data : "",
        .content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"),
        .accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept"),
        .authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"),
        .body = rq->body ? rq->body : "",
        .body_len = rq->len,
        .peer = peer,
        .http_version = strcmp(version, MHD_HTTP_VERSION_1_0) == 0 ? 10 : 11,
    };
    if (rq->too_big) {
        char msg[96];
        snprintf(msg, sizeof msg, "request body larger than the limit of %zu bytes",
                 s->o.max_body);
        mp_http_respond_error(&resp, 413, msg);
        if (s->o.verbose)
            fprintf(stderr, "%s \"%s %s\" 413\n", peer, method, url);
        mp_server_metrics_observe(s->metrics, mp_server_default_label(&req), 413, 0);
    } else {
        dispatch(s, &req, &resp);
    }
    mp_buf_free(&q);
    return queue(c, s, &resp);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    h1_request *rq = *con_cls;
    if (rq) {
        free(rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)c;
    (void)socket_context;
    mp_server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_CLOSED)
        atomic_fetch_sub(&s->open_connections, 1);
}

/* ---- Accepting and sniffing. ---- */

typedef struct sniff_job {
    mp_server *srv;
    int fd;
    struct sockaddr_storage addr;
    socklen_t addrlen;
} sniff_job;

static void own_thread_done(mp_server *s)
{
    pthread_mutex_lock(&s->mu);
    s->own_threads--;
    pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->mu);
}

/* 1: the client sent the HTTP/2 preface; 0: something else; -1: it sent
 * nothing in time or went away. */
static int sniff(mp_server *s, int fd)
{
    char buf[MP_H2_PREFACE_LEN];
    double deadline = mp_clock_now() + s->o.idle_timeout_s;
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, MSG_PEEK);
        if (n == 0)
            return -1;
        if (n > 0) {
            if (memcmp(buf, MP_H2_PREFACE, (size_t)n) != 0)
                return 0;
            if (n == MP_H2_PREFACE_LEN)
                return 1;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return -1;
        }
        double left = deadline - mp_clock_now();
        if (left <= 0 || s->stopping)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        /* A partial preface leaves POLLIN set: wait a little instead. */
        if (n > 0)
            usleep(2000);
        else
            poll(&p, 1, left > 0.2 ? 200 : (int)(left * 1000) + 1);
    }
}

static void *sniff_main(void *arg)
{
    sniff_job *j = arg;
    mp_server *s = j->srv;
    int kind = sniff(s, j->fd);
    if (kind == 1) {
        char peer[80] = "-";
        char host[INET6_ADDRSTRLEN];
        if (j->addr.ss_family == AF_INET) {
            struct sockaddr_in *a = (struct sockaddr_in *)&j->addr;
            if (inet_ntop(AF_INET, &a->sin_addr, host, sizeof host))
                snprintf(peer, sizeof peer, "%s:%d", host, ntohs(a->sin_port));
        }
        mp_h2_serve(j->fd, peer, dispatch, s, s->o.max_body, s->o.idle_timeout_s * 1000,
                    &s->stopping);
        atomic_fetch_sub(&s->open_connections, 1);
    } else if (kind == 0) {
        /* Blocking from here on: libmicrohttpd's per-connection thread
         * expects it, and does its own timeouts. */
        int fl = fcntl(j->fd, F_GETFL);
        if (fl >= 0)
            fcntl(j->fd, F_SETFL, fl & ~O_NONBLOCK);
        if (MHD_add_connection(s->mhd, j->fd, (struct sockaddr *)&j->addr, j->addrlen) != MHD_YES)
            atomic_fetch_sub(&s->open_connections, 1); /* closed by libmicrohttpd */
    } else {
        close(j->fd);
        atomic_fetch_sub(&s->open_connections, 1);
    }
    free(j);
    own_thread_done(s);
    return NULL;
}

static void *acceptor_main(void *arg)
{
    mp_server *s = arg;
    struct pollfd p[2] = {{.fd = s->listen_fd, .events = POLLIN},
                          {.fd = s->stop_pipe[0], .events = POLLIN}};
    while (!s->stopping) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[1].revents)
            break;
        if (!(p[0].revents & POLLIN))
            continue;
        sniff_job *j = calloc(1, sizeof *j);
        if (!j) {
            usleep(10000);
            continue;
        }
        j->srv = s;
        j->addrlen = sizeof j->addr;
        j->fd = accept4(s->listen_fd, (struct sockaddr *)&j->addr, &j->addrlen,
                        SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (j->fd < 0) {
            free(j);
            if (errno == EMFILE || errno == ENFILE)
                usleep(10000); /* let connections close rather than spin */
            continue;
        }
        if (atomic_fetch_add(&s->open_connections, 1) >= s->o.max_connections) {
            atomic_fetch_sub(&s->open_connections, 1);
            close(j->fd);
            free(j);
            continue;
        }
        int one = 1;
        setsockopt(j->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pthread_mutex_lock(&s->mu);
        s->own_threads++;
        pthread_mutex_unlock(&s->mu);
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, sniff_main, j) != 0) {
            close(j->fd);
            free(j);
            atomic_fetch_sub(&s->open_connections, 1);
            own_thread_done(s);
        }
        pthread_attr_destroy(&attr);
    }
    return NULL;
}

static int parse_listen(const char *spec, char *host, size_t hostn, int *port, mp_error *e)
{
    const char *colon = strrchr(spec, ':');
    if (!colon)
        return mp_error_set(e, MP_EINVAL, "--listen '%s': expected HOST:PORT", spec);
    size_t hl = (size_t)(colon - spec);
    /* Brackets around an IPv6 address. */
    const char *h = spec;
    if (hl >= 2 && spec[0] == '[' && spec[hl - 1] == ']') {
        h++;
        hl -= 2;
    }
    if (hl >= hostn)
        return mp_error_set(e, MP_EINVAL, "--listen '%s': host too long", spec);
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (!*host)
        snprintf(host, hostn, "127.0.0.1");
    char *end;
    long p = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || p < 0 || p > 65535)
        return mp_error_set(e, MP_EINVAL, "--listen '%s': bad port", spec);
    *port = (int)p;
    return 0;
}

static int open_listener(mp_server *s, mp_error *e)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    int rc = getaddrinfo(s->listen_host, port, &hints, &res);
    if (rc)
        return mp_error_set(e, MP_EINVAL, "--listen %s:%d: %s", s->listen_host, s->port,
                            gai_strerror(rc));
    int fd = -1, err = 0;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 512) == 0)
            break;
        err = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return mp_error_set(e, MP_EIO, "cannot listen on %s:%d: %s", s->listen_host, s->port,
                            strerror(err));
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
        s->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                           : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    s->listen_fd = fd;
    return 0;
}

int mp_server_start(const mp_server_opts *o, mp_http_handler h, void *ctx, mp_server **out,
                    mp_error *e)
{
    *out = NULL;
    mp_server *s = calloc(1, sizeof *s);
    if (!s)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    s->o = *o;
    if (!s->o.listen)
        s->o.listen = "127.0.0.1:8088";
    if (!s->o.max_body)
        s->o.max_body = 8u << 20;
    if (s->o.idle_timeout_s <= 0)
        s->o.idle_timeout_s = 30;
    if (!s->o.max_connections)
        s->o.max_connections = 512;
    s->handler = h;
    s->ctx = ctx;
    s->listen_fd = -1;
    s->stop_pipe[0] = s->stop_pipe[1] = -1;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->idle, NULL);
    int rc = parse_listen(s->o.listen, s->listen_host, sizeof s->listen_host, &s->port, e);
    if (!rc && s->o.users_file)
        rc = mp_auth_load(s->o.users_file, &s->auth, e);
    if (!rc && !(s->metrics = mp_server_metrics_new()))
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
    if (!rc)
        rc = open_listener(s, e);
    if (!rc && pipe2(s->stop_pipe, O_CLOEXEC) != 0)
        rc = mp_error_set(e, MP_EIO, "pipe: %s", strerror(errno));
    if (!rc) {
        s->mhd = MHD_start_daemon(
            MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
                MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC,
            0, NULL, NULL, on_request, s, MHD_OPTION_CONNECTION_TIMEOUT,
            (unsigned)s->o.idle_timeout_s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
            MHD_OPTION_NOTIFY_CONNECTION, on_connection, s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
            (size_t)64 * 1024, MHD_OPTION_END);
        if (!s->mhd)
            rc = mp_error_set(e, MP_EIO, "cannot start the HTTP/1.1 server");
    }
    if (!rc) {
        if (pthread_create(&s->acceptor, NULL, acceptor_main, s) != 0)
            rc = mp_error_set(e, MP_EIO, "cannot start the acceptor thread");
        else
            s->acceptor_started = 1;
    }
    if (rc) {
        mp_server_stop(s);
        return rc;
    }
    *out = s;
    return 0;
}

void mp_server_metrics(mp_server *s, mp_buf *out) { mp_server_metrics_write(s->metrics, out); }

void mp_server_stop(mp_server *s)
{
    if (!s)
        return;
    s->stopping = 1;
    if (s->stop_pipe[1] >= 0) {
        ssize_t w = write(s->stop_pipe[1], "x", 1);
        (void)w;
    }
    if (s->acceptor_started)
        pthread_join(s->acceptor, NULL);
    /* Sniffers and HTTP/2 connections see `stopping` within a poll tick. */
    pthread_mutex_lock(&s->mu);
    while (s->own_threads > 0)
        pthread_cond_wait(&s->idle, &s->mu);
    pthread_mutex_unlock(&s->mu);
    if (s->mhd)
        MHD_stop_daemon(s->mhd);
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    for (int i = 0; i < 2; i++)
        if (s->stop_pipe[i] >= 0)
            close(s->stop_pipe[i]);
    mp_auth_free(s->auth);
    mp_server_metrics_free(s->metrics);
    pthread_cond_destroy(&s->idle);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
