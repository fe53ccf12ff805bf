/* mp_h2_serve against real clients: curl --http2-prior-knowledge, Node's
 * http2 module (what ksqlDB's npm client is built on) and raw sockets that
 * send garbage. Each test runs its own listener on 127.0.0.1:0 with an
 * accept thread that hands every connection to mp_h2_serve on a thread of
 * its own. */
#include "server/http2.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "test.h"

extern char **environ;

/* ---- Counters the producers keep, for checking that they end. ---- */

static atomic_int endless_started, endless_ended, endless_failed_write;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits up to ms for *flag to reach want. */
static int wait_for(atomic_int *flag, int want, int ms)
{
    double until = mp_clock_now() + ms / 1000.0;
    while (atomic_load(flag) < want) {
        if (mp_clock_now() > until)
            return 0;
        sleep_ms(10);
    }
    return 1;
}

/* ---- The handler under test ---- */

typedef struct {
    int n;     /* number of pieces */
    int big;   /* also a piece larger than one DATA frame */
} stream_arg;

/* The i-th piece the node test expects: a JSON row of varying size, so
 * that together they overrun the client's 64 KiB flow-control window. */
static void make_piece(mp_buf *b, int i, int big)
{
    mp_buf_reset(b);
    size_t pad = big && i == 2 ? 40000 : (size_t)((i * 397) % 3000);
    mp_buf_printf(b, "{\"i\":%d,\"pad\":\"", i);
    for (size_t k = 0; k < pad; k++)
        mp_buf_putc(b, (char)('a' + (int)(k % 26)));
    mp_buf_puts(b, "\"}");
}

static void produce_pieces(void *arg, mp_http_writer *w)
{
    stream_arg *a = arg;
    mp_buf b = {0};
    for (int i = 0; i < a->n; i++) {
        make_piece(&b, i, a->big);
        if (b.oom || mp_http_write(w, b.data, b.len) != 0)
            break;
        if (i % 7 == 0)
            sleep_ms(2); /* let some pieces find the stream deferred */
    }
    mp_buf_free(&b);
}

static void produce_endless(void *arg, mp_http_writer *w)
{
    atomic_fetch_add(&endless_started, 1);
    for (long i = 0;; i++) {
        char row[64];
        int n = snprintf(row, sizeof row, "{\"tick\":%ld}\n", i);
        if (mp_http_write(w, row, (size_t)n) != 0) {
            atomic_fetch_add(&endless_failed_write, 1);
            break;
        }
        sleep_ms(5);
    }
    atomic_fetch_add(&endless_ended, 1);
}

static void test_handler(void *ctx, const mp_http_request *req, mp_http_response *resp)
{
    if (strcmp(req->path, "/json") == 0) {
        const char *body = "{\"hello\":\"world\"}";
        mp_http_respond(resp, 200, "application/json", body, strlen(body));
        mp_http_add_header(resp, "X-Test", "yes");
    } else if (strcmp(req->path, "/echo") == 0) {
        mp_buf b = {0};
        mp_buf_printf(&b, "method=%s path=%s query=%s ctype=%s accept=%s auth=%s "
                                       "version=%d len=%zu body=",
                      req->method, req->path, req->query,
                      req->content_type ? req->content_type : "-",
                      req->accept ? req->accept : "-",
                      req->authorization ? req->authorization : "-", req->http_version,
                      req->body_len);
        mp_buf_append(&b, req->body, req->body_len);
        if (b.oom) {
            mp_buf_free(&b);
            mp_http_respond_error(resp, 500, "out of memory");
            return;
        }
        size_t len = b.len;
        mp_http_respond_owned(resp, 200, "text/plain", mp_buf_take(&b), len);
    } else if (strcmp(req->path, "/stream") == 0 || strcmp(req->path, "/x") == 0) {
        stream_arg *a = malloc(sizeof *a);
        if (!a) {
            mp_http_respond_error(resp, 500, "out of memory");
            return;
        }
        a->n = 5;
        a->big = strcmp(req->path, "/stream") == 0;
        const char *n = strstr(req->body, "\"n\":");
        if (n)
            a->n = atoi(n + 4);
        mp_http_respond_stream(resp, 200, "application/json", produce_pieces, a, free);
    } else if (strcmp(req->path, "/endless") == 0) {
        mp_http_respond_stream(resp, 200, "application/json", produce_endless, NULL, NULL);
    } else if (strcmp(req->path, "/ended") == 0) {
        char body[64];
        int n = snprintf(body, sizeof body, "{\"ended\":%d}", atomic_load(&endless_ended));
        mp_http_respond(resp, 200, "application/json", body, (size_t)n);
    } else {
        mp_http_respond_error(resp, 404, "no such path");
    }
}

/* ---- A listener with a thread per connection ---- */

#define MAX_CONNS 64

typedef struct {
    int lfd;
    int port;
    size_t max_body;
    int idle_ms;
    volatile int stopping;
    pthread_t acceptor;
    pthread_mutex_t mu;
    pthread_t conns[MAX_CONNS];
    int nconns;
    atomic_int active;
    atomic_int served;
    atomic_int errors;
} server;

typedef struct {
    server *srv;
    int fd;
} conn_arg;

static void *conn_main(void *p)
{
    conn_arg *a = p;
    server *srv = a->srv;
    int rc = mp_h2_serve(a->fd, "127.0.0.1:test", test_handler, NULL, srv->max_body,
                         srv->idle_ms, &srv->stopping);
    if (rc != 0)
        atomic_fetch_add(&srv->errors, 1);
    free(a);
    atomic_fetch_add(&srv->served, 1);
    atomic_fetch_sub(&srv->active, 1);
    return NULL;
}

static void *accept_main(void *p)
{
    server *srv = p;
    while (!srv->stopping) {
        struct pollfd pfd = {srv->lfd, POLLIN, 0};
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        int fd = accept(srv->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        conn_arg *a = malloc(sizeof *a);
        pthread_mutex_lock(&srv->mu);
        int room = srv->nconns < MAX_CONNS;
        if (!a || !room) {
            pthread_mutex_unlock(&srv->mu);
            free(a);
            close(fd);
            continue;
        }
        a->srv = srv;
        a->fd = fd;
        atomic_fetch_add(&srv->active, 1);
        if (pthread_create(&srv->conns[srv->nconns], NULL, conn_main, a) != 0) {
            atomic_fetch_sub(&srv->active, 1);
            free(a);
            close(fd);
        } else {
            srv->nconns++;
        }
        pthread_mutex_unlock(&srv->mu);
    }
    return NULL;
}

static int server_start(server *srv, size_t max_body, int idle_ms)
{
    memset(srv, 0, sizeof *srv);
    srv->max_body = max_body;
    srv->idle_ms = idle_ms;
    pthread_mutex_init(&srv->mu, NULL);
    srv->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (srv->lfd < 0)
        return -1;
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    if (bind(srv->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(srv->lfd, 16) != 0 ||
        getsockname(srv->lfd, (struct sockaddr *)&sa, &sl) != 0) {
        close(srv->lfd);
        return -1;
    }
    srv->port = ntohs(sa.sin_port);
    if (pthread_create(&srv->acceptor, NULL, accept_main, srv) != 0) {
        close(srv->lfd);
        return -1;
    }
    return 0;
}

static void server_stop(server *srv)
{
    srv->stopping = 1;
    pthread_join(srv->acceptor, NULL);
    for (int i = 0; i < srv->nconns; i++)
        pthread_join(srv->conns[i], NULL);
    close(srv->lfd);
    pthread_mutex_destroy(&srv->mu);
}

/* ---- Running clients ---- */

/* Runs argv with stdout captured into out (and stdin from stdin_path, if
 * given), killing it after timeout_ms. Returns its exit status, 128+signal
 * when killed, or -1 when it could not start. */
static int run(char *const argv[], const char *stdin_path, mp_buf *out, int timeout_ms)
{
    int pfd[2];
    if (pipe(pfd) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, pfd[1], 1);
    posix_spawn_file_actions_addclose(&fa, pfd[0]);
    posix_spawn_file_actions_addclose(&fa, pfd[1]);
    if (stdin_path)
        posix_spawn_file_actions_addopen(&fa, 0, stdin_path, O_RDONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(pfd[1]);
    if (rc != 0) {
        fprintf(stderr, "could not run %s: %s (these tests need curl and node)\n", argv[0],
                strerror(rc));
        close(pfd[0]);
        return -1;
    }
    double until = mp_clock_now() + timeout_ms / 1000.0;
    int killed = 0;
    for (;;) {
        int left = (int)((until - mp_clock_now()) * 1000);
        if (left <= 0) {
            kill(pid, SIGKILL);
            killed = 1;
            break;
        }
        struct pollfd p = {pfd[0], POLLIN, 0};
        if (poll(&p, 1, left) <= 0)
            continue;
        char buf[8192];
        ssize_t n = read(pfd[0], buf, sizeof buf);
        if (n <= 0)
            break;
        mp_buf_append(out, buf, (size_t)n);
    }
    close(pfd[0]);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (killed)
        return 128 + SIGKILL;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static int curl(server *srv, const char *path, const char *max_time, mp_buf *out,
                const char *stdin_path, const char *const extra[])
{
    char url[128];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", srv->port, path);
    const char *argv[32] = {"curl", "-s", "--http2-prior-knowledge", "-m", max_time};
    int n = 5;
    for (int i = 0; extra && extra[i] && n < 30; i++)
        argv[n++] = extra[i];
    argv[n++] = url;
    argv[n] = NULL;
    return run((char *const *)argv, stdin_path, out, 10000);
}

static int node(server *srv, const char *script, const char *mode, mp_buf *out)
{
    char port[16];
    snprintf(port, sizeof port, "%d", srv->port);
    const char *argv[] = {"node", "-e", script, port, mode, NULL};
    return run((char *const *)argv, NULL, out, 20000);
}

/* ---- Raw sockets ---- */

static int connect_raw(server *srv)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)srv->port);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0)
            return; /* the server may hang up first; that is allowed */
        c += w;
        n -= (size_t)w;
    }
}

/* Reads until the server closes (returns 1) or timeout_ms pass (0). */
static int read_until_closed(int fd, mp_buf *got, int timeout_ms)
{
    double until = mp_clock_now() + timeout_ms / 1000.0;
    for (;;) {
        int left = (int)((until - mp_clock_now()) * 1000);
        if (left <= 0)
            return 0;
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, left) <= 0)
            continue;
        char buf[4096];
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
            return 1;
        if (n > 0)
            mp_buf_append(got, buf, (size_t)n);
    }
}

/* Whether the frames the server sent include a GOAWAY. */
static int has_goaway(const mp_buf *b)
{
    const unsigned char *p = (const unsigned char *)b->data;
    size_t off = 0;
    while (p && off + 9 <= b->len) {
        size_t len = ((size_t)p[off] << 16) | ((size_t)p[off + 1] << 8) | p[off + 2];
        if (p[off + 3] == 0x7)
            return 1;
        off += 9 + len;
    }
    return 0;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* ---- Tests ---- */

static void test_get_json(void)
{
    server srv;
    REQUIRE(server_start(&srv, 1024, 2000) == 0);
    mp_buf out = {0};
    const char *extra[] = {"-i", NULL};
    int rc = curl(&srv, "/json?a=1", "5", &out, NULL, extra);
    CHECK(rc == 0);
    CHECK_STR_CONTAINS(out.data, "HTTP/2 200");
    CHECK_STR_CONTAINS(out.data, "content-type: application/json");
    CHECK_STR_CONTAINS(out.data, "x-test: yes");
    CHECK_STR_CONTAINS(out.data, "content-length: 17");
    CHECK_STR_CONTAINS(out.data, "\r\n\r\n{\"hello\":\"world\"}");

    mp_buf_reset(&out);
    rc = curl(&srv, "/nope", "5", &out, NULL, extra);
    CHECK(rc == 0);
    CHECK_STR_CONTAINS(out.data, "HTTP/2 404");
    CHECK_STR_CONTAINS(out.data, "\"error\"");
    mp_buf_free(&out);
    server_stop(&srv);
    CHECK(atomic_load(&srv.errors) == 0);
}

static void test_head(void)
{
    server srv;
    REQUIRE(server_start(&srv, 1024, 2000) == 0);
    atomic_store(&endless_started, 0);
    mp_buf out = {0};
    const char *extra[] = {"-I", NULL};
    CHECK(curl(&srv, "/json", "5", &out, NULL, extra) == 0);
    CHECK_STR_CONTAINS(out.data, "HTTP/2 200");
    CHECK_STR_CONTAINS(out.data, "content-length: 17");
    CHECK(!strstr(out.data ? out.data : "", "world"));
    /* A streamed answer to HEAD never starts its producer. */
    mp_buf_reset(&out);
    CHECK(curl(&srv, "/endless", "5", &out, NULL, extra) == 0);
    CHECK_STR_CONTAINS(out.data, "HTTP/2 200");
    CHECK(atomic_load(&endless_started) == 0);
    mp_buf_free(&out);
    server_stop(&srv);
}

static void test_post_echo(void)
{
    server srv;
    REQUIRE(server_start(&srv, 1024, 2000) == 0);
    mp_buf out = {0};
    const char *extra[] = {"-H", "Content-Type: application/vnd.ksql.v1+json",
                           "-H", "Accept: application/json",
                           "-H", "Authorization: Basic dXNlcjpwYXNz",
                           "--data-binary", "{\"ksql\":\"SHOW STREAMS;\"}", NULL};
    int rc = curl(&srv, "/echo?x=1&y=2", "5", &out, NULL, extra);
    CHECK(rc == 0);
    CHECK_STR_CONTAINS(out.data, "method=POST path=/echo query=x=1&y=2 ");
    CHECK_STR_CONTAINS(out.data, "ctype=application/vnd.ksql.v1+json ");
    CHECK_STR_CONTAINS(out.data, "accept=application/json ");
    CHECK_STR_CONTAINS(out.data, "auth=Basic dXNlcjpwYXNz ");
    CHECK_STR_CONTAINS(out.data, "version=20 len=24 body={\"ksql\":\"SHOW STREAMS;\"}");

    /* Exactly max_body bytes are still accepted. */
    char body[1025];
    memset(body, 'z', 1024);
    body[1024] = '\0';
    const char *extra2[] = {"--data-binary", body, NULL};
    mp_buf_reset(&out);
    rc = curl(&srv, "/echo", "5", &out, NULL, extra2);
    CHECK(rc == 0);
    CHECK_STR_CONTAINS(out.data, "len=1024 body=zzzz");
    mp_buf_free(&out);
    server_stop(&srv);
}

static int write_temp(char *path, size_t n)
{
    strcpy(path, "/tmp/mp_h2_body_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    char block[4096];
    memset(block, 'q', sizeof block);
    while (n > 0) {
        size_t k = n < sizeof block ? n : sizeof block;
        if (write(fd, block, k) != (ssize_t)k) {
            close(fd);
            unlink(path);
            return -1;
        }
        n -= k;
    }
    close(fd);
    return 0;
}

static void test_body_too_large(void)
{
    server srv;
    REQUIRE(server_start(&srv, 1024, 2000) == 0);
    mp_buf out = {0};

    /* Declared length above the cap: refused from the headers. */
    char body[1026];
    memset(body, 'z', 1025);
    body[1025] = '\0';
    const char *extra[] = {"-i", "--data-binary", body, NULL};
    int rc = curl(&srv, "/echo", "5", &out, NULL, extra);
    CHECK(rc == 0);
    CHECK_STR_CONTAINS(out.data, "HTTP/2 413");
    CHECK_STR_CONTAINS(out.data, "{\"error\":");
    CHECK(!strstr(out.data ? out.data : "", "method="));

    /* Unknown length (streamed upload), far beyond the window: refused
     * once the cap is passed, while the client is still sending. */
    char path[64];
    REQUIRE(write_temp(path, 1 << 20) == 0);
    const char *extra2[] = {"-i", "-X", "POST", "-T", "-", NULL};
    mp_buf_reset(&out);
    rc = curl(&srv, "/echo", "5", &out, path, extra2);
    unlink(path);
    CHECK_STR_CONTAINS(out.data, "HTTP/2 413");
    CHECK_STR_CONTAINS(out.data, "{\"error\":");

    /* The connection thread is not wedged: a new request works. */
    mp_buf_reset(&out);
    rc = curl(&srv, "/json", "5", &out, NULL, NULL);
    CHECK(rc == 0);
    CHECK_STR_CONTAINS(out.data, "world");
    mp_buf_free(&out);
    server_stop(&srv);
}

static void test_streamed(void)
{
    server srv;
    REQUIRE(server_start(&srv, 1024, 2000) == 0);
    mp_buf out = {0}, want = {0}, piece = {0};
    for (int i = 0; i < 30; i++) {
        make_piece(&piece, i, 1);
        mp_buf_append(&want, piece.data, piece.len);
    }
    const char *extra[] = {"--data-binary", "{\"n\":30}", NULL};
    int rc = curl(&srv, "/stream", "5", &out, NULL, extra);
    CHECK(rc == 0);
    CHECK(out.len == want.len);
    CHECK(out.data && want.data && out.len == want.len &&
          memcmp(out.data, want.data, want.len) == 0);
    mp_buf_free(&out);
    mp_buf_free(&want);
    mp_buf_free(&piece);
    server_stop(&srv);
    CHECK(atomic_load(&srv.errors) == 0);
}

static void test_client_disconnects(void)
{
    server srv;
    REQUIRE(server_start(&srv, 1024, 2000) == 0);
    atomic_store(&endless_started, 0);
    atomic_store(&endless_ended, 0);
    atomic_store(&endless_failed_write, 0);
    mp_buf out = {0};
    int rc = curl(&srv, "/endless", "1", &out, NULL, NULL);
    CHECK(rc == 28); /* curl's "operation timed out" */
    CHECK_STR_CONTAINS(out.data, "{\"tick\":0}\n{\"tick\":1}\n");
    CHECK(atomic_load(&endless_started) == 1);
    /* The server learns that the client went and tells the producer. */
    CHECK(wait_for(&endless_ended, 1, 3000));
    CHECK(atomic_load(&endless_failed_write) == 1);
    CHECK(wait_for(&srv.served, 1, 3000));
    CHECK(atomic_load(&srv.active) == 0);
    mp_buf_free(&out);
    server_stop(&srv);
    CHECK(atomic_load(&srv.errors) == 0); /* a client leaving is no error */
}

static void test_garbage(void)
{
    server srv;
    REQUIRE(server_start(&srv, 1024, 5000) == 0);
    static const char preface[] = MP_H2_PREFACE;
    uint32_t x = 12345;
    char junk[8192];
    for (size_t i = 0; i < sizeof junk; i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (char)(x >> 16);
    }
    /* A HEADERS frame (stream 1, END_HEADERS) whose block is not HPACK. */
    static const unsigned char bad_hpack[] = {0, 0, 4, 1, 4, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff};
    /* A frame that claims 16 MiB. */
    static const unsigned char huge[] = {0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1};
    /* DATA on stream 0. */
    static const unsigned char data0[] = {0, 0, 1, 0, 0, 0, 0, 0, 0, 'x'};

    struct {
        const char *name;
        const void *after;
        size_t after_len;
        int with_preface;
        int expect_goaway;
    } cases[] = {
        {"http/1.1", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27, 0, 0},
        {"random", junk, sizeof junk, 1, 1},
        {"bad hpack", bad_hpack, sizeof bad_hpack, 1, 1},
        {"huge frame", huge, sizeof huge, 1, 1},
        {"data on stream 0", data0, sizeof data0, 1, 1},
        {"half preface", "PRI * HTTP/2.0\r\n", 16, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int fd = connect_raw(&srv);
        REQUIRE(fd >= 0);
        if (cases[i].with_preface)
            send_all(fd, preface, MP_H2_PREFACE_LEN);
        send_all(fd, cases[i].after, cases[i].after_len);
        if (!cases[i].with_preface && cases[i].after_len == 16)
            shutdown(fd, SHUT_WR); /* then the client gives up */
        mp_buf got = {0};
        int closed = read_until_closed(fd, &got, 3000);
        if (!closed)
            fprintf(stderr, "case %s: server did not close\n", cases[i].name);
        CHECK(closed);
        if (cases[i].expect_goaway) {
            if (!has_goaway(&got))
                fprintf(stderr, "case %s: no GOAWAY\n", cases[i].name);
            CHECK(has_goaway(&got));
        }
        mp_buf_free(&got);
        close(fd);
    }
    /* Each case but the half preface ends as a failed connection. */
    CHECK(wait_for(&srv.served, (int)(sizeof cases / sizeof cases[0]), 3000));
    CHECK(atomic_load(&srv.errors) == (int)(sizeof cases / sizeof cases[0]) - 1);

    /* Random frames with well-formed frame headers reach deeper than
     * random bytes: random HPACK, flags, stream ids and settings. */
    int fuzz_closed = 0;
    for (int round = 0; round < 40; round++) {
        int fd = connect_raw(&srv);
        REQUIRE(fd >= 0);
        mp_buf frames = {0};
        mp_buf_append(&frames, preface, MP_H2_PREFACE_LEN);
        for (int f = 0; f < 8; f++) {
            x = x * 1103515245u + 12345u;
            unsigned len = (x >> 8) % 48;
            unsigned char hd[9] = {0, 0, (unsigned char)len, (unsigned char)((x >> 4) % 10),
                                   (unsigned char)(x >> 20), 0, 0, 0,
                                   (unsigned char)((x >> 12) % 6)};
            mp_buf_append(&frames, hd, sizeof hd);
            for (unsigned k = 0; k < len; k++) {
                x = x * 1103515245u + 12345u;
                mp_buf_putc(&frames, (char)(x >> 16));
            }
        }
        send_all(fd, frames.data, frames.len);
        shutdown(fd, SHUT_WR);
        mp_buf got = {0};
        fuzz_closed += read_until_closed(fd, &got, 3000);
        mp_buf_free(&got);
        mp_buf_free(&frames);
        close(fd);
    }
    CHECK(fuzz_closed == 40);
    CHECK(wait_for(&srv.served, (int)(sizeof cases / sizeof cases[0]) + 40, 3000));

    /* Still serving. */
    mp_buf out = {0};
    CHECK(curl(&srv, "/json", "5", &out, NULL, NULL) == 0);
    CHECK_STR_CONTAINS(out.data, "world");
    mp_buf_free(&out);
    server_stop(&srv);
}

static void test_idle_and_stopping(void)
{
    server srv;
    REQUIRE(server_start(&srv, 1024, 300) == 0);
    static const unsigned char settings[] = {0, 0, 0, 4, 0, 0, 0, 0, 0};

    /* Preface and SETTINGS, then silence: closed after the idle timeout. */
    int fd = connect_raw(&srv);
    REQUIRE(fd >= 0);
    send_all(fd, MP_H2_PREFACE, MP_H2_PREFACE_LEN);
    send_all(fd, settings, sizeof settings);
    double t0 = mp_clock_now();
    mp_buf got = {0};
    CHECK(read_until_closed(fd, &got, 3000));
    double took = mp_clock_now() - t0;
    CHECK(took >= 0.25 && took < 2.0);
    CHECK(has_goaway(&got));
    close(fd);
    mp_buf_free(&got);

    /* A streaming response keeps the connection from counting as idle,
     * and *stopping ends it (and its producer) promptly. */
    atomic_store(&endless_ended, 0);
    fd = connect_raw(&srv);
    REQUIRE(fd >= 0);
    send_all(fd, MP_H2_PREFACE, MP_H2_PREFACE_LEN);
    send_all(fd, settings, sizeof settings);
    /* HEADERS on stream 1, END_STREAM: :method GET, :scheme http, then
     * literals without indexing (0x01 :authority "x", 0x04 :path). */
    static const unsigned char hdrs[] = {0,   0,   15,  1,   5,   0,   0,    0,    1,
                                         0x82, 0x86, 0x01, 1,  'x', 0x04, 8,   '/', 'e',
                                         'n', 'd', 'l', 'e', 's', 's'};
    send_all(fd, hdrs, sizeof hdrs);
    mp_buf_reset(&got);
    CHECK(read_until_closed(fd, &got, 800) == 0); /* well past the 300 ms */
    CHECK(got.len > 100);
    t0 = mp_clock_now();
    srv.stopping = 1;
    CHECK(read_until_closed(fd, &got, 3000));
    CHECK(mp_clock_now() - t0 < 1.5);
    CHECK(has_goaway(&got));
    CHECK(wait_for(&endless_ended, 1, 3000));
    close(fd);
    mp_buf_free(&got);
    server_stop(&srv);
    CHECK(atomic_load(&srv.errors) == 0);
}

/* Node's http2 client, as ksqlDB's npm client uses it. Mode "pieces" POSTs
 * to /x and prints each DATA event on a line of its own. Mode "cancel"
 * reads an endless stream, fetches /json on the same connection while that
 * stream stays live, then resets the stream and polls /ended until the
 * producer has stopped. */
static const char node_script[] =
    "const http2 = require('http2');\n"
    "const [port, mode] = process.argv.slice(1);\n"
    "const s = http2.connect('http://127.0.0.1:' + port);\n"
    "s.on('error', e => { console.log('ERR ' + e.message); process.exit(2); });\n"
    "function get(path, cb) {\n"
    "  const r = s.request({':method': 'GET', ':path': path});\n"
    "  let body = ''; r.setEncoding('utf8');\n"
    "  r.on('data', d => body += d); r.on('end', () => cb(body));\n"
    "}\n"
    "if (mode === 'pieces') {\n"
    "  const r = s.request({':method': 'POST', ':path': '/x', 'content-type': 'application/json'});\n"
    "  r.on('response', h => console.log('STATUS ' + h[':status'] + ' ' + h['content-type']));\n"
    "  r.on('data', d => console.log('D ' + d.toString('utf8')));\n"
    /* A slow reader at first, so that the server runs into the window. */
    "  r.pause(); setTimeout(() => r.resume(), 300);\n"
    "  r.on('end', () => { console.log('END'); s.close(); });\n"
    "  r.end(JSON.stringify({n: 80}));\n"
    "} else if (mode === 'cancel') {\n"
    "  const r = s.request({':method': 'GET', ':path': '/endless'});\n"
    "  let rows = 0, rowsAtJson = -1;\n"
    "  let tries = 0;\n"
    "  const poll = () => get('/ended', e => {\n"
    "    if (JSON.parse(e).ended >= 1) { console.log('STOPPED'); s.close(); }\n"
    "    else if (++tries > 30) { console.log('STILL RUNNING'); s.close(); }\n"
    "    else setTimeout(poll, 100);\n"
    "  });\n"
    "  r.on('data', d => {\n"
    "    JSON.parse(d.toString());\n" /* throws unless one whole row */
    "    rows++;\n"
    "    if (rows === 3)\n"
    "      get('/json', body => { console.log('JSON ' + body); rowsAtJson = rows; });\n"
    "    if (rowsAtJson >= 0 && rows === rowsAtJson + 3) {\n"
    "      console.log('LIVE');\n"
    "      r.close(http2.constants.NGHTTP2_CANCEL);\n"
    "      poll();\n"
    "    }\n"
    "  });\n"
    "  r.on('error', () => {});\n"
    "}\n";

static void test_node_pieces(void)
{
    server srv;
    REQUIRE(server_start(&srv, 1024, 2000) == 0);
    mp_buf out = {0}, line = {0}, piece = {0};
    int rc = node(&srv, node_script, "pieces", &out);
    CHECK(rc == 0);
    CHECK_STR_CONTAINS(out.data, "STATUS 200 application/json\n");
    CHECK_STR_CONTAINS(out.data, "\nEND\n");
    /* Every DATA event is exactly one piece, in order. */
    int i = 0, bad = 0;
    const char *p = out.data ? out.data : "";
    while ((p = strstr(p, "\nD ")) != NULL) {
        p += 3;
        const char *end = strchr(p, '\n');
        if (!end)
            break;
        make_piece(&piece, i, 0);
        if ((size_t)(end - p) != piece.len || memcmp(p, piece.data, piece.len) != 0) {
            if (!bad)
                fprintf(stderr, "DATA event %d is not piece %d (%zu bytes vs %zu)\n", i, i,
                        (size_t)(end - p), piece.len);
            bad++;
        }
        i++;
        p = end;
    }
    CHECK(i == 80);
    CHECK(bad == 0);
    mp_buf_free(&out);
    mp_buf_free(&line);
    mp_buf_free(&piece);
    server_stop(&srv);
    CHECK(atomic_load(&srv.errors) == 0);
}

static void test_node_cancel_while_serving(void)
{
    server srv;
    REQUIRE(server_start(&srv, 1024, 2000) == 0);
    atomic_store(&endless_ended, 0);
    mp_buf out = {0};
    int rc = node(&srv, node_script, "cancel", &out);
    CHECK(rc == 0);
    CHECK_STR_CONTAINS(out.data, "JSON {\"hello\":\"world\"}\nLIVE\n");
    CHECK_STR_CONTAINS(out.data, "\nSTOPPED\n");
    if (rc != 0 || !out.data || !strstr(out.data, "\nSTOPPED\n"))
        fprintf(stderr, "node said: %s\n", out.data ? out.data : "(nothing)");
    mp_buf_free(&out);
    server_stop(&srv);
}

static void test_bad_arguments(void)
{
    volatile int stopping = 0;
    CHECK(mp_h2_serve(-1, "x", test_handler, NULL, 10, 100, &stopping) == -1);
    int sv[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(mp_h2_serve(sv[0], "x", NULL, NULL, 10, 100, &stopping) == -1);
    /* A socket that is not TCP is served all the same; the peer closing
     * ends it. sv[0] was closed by the call above. */
    int sv2[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv2) == 0);
    close(sv2[1]);
    CHECK(mp_h2_serve(sv2[0], NULL, test_handler, NULL, 10, 100, NULL) == 0);
    close(sv[1]);
}

static int fds_at_start;

static void test_no_fd_leaked(void)
{
    CHECK(count_fds() == fds_at_start); /* every socket and pipe was closed */
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    fds_at_start = count_fds();
    RUN(test_get_json);
    RUN(test_head);
    RUN(test_post_echo);
    RUN(test_body_too_large);
    RUN(test_streamed);
    RUN(test_client_disconnects);
    RUN(test_garbage);
    RUN(test_idle_and_stopping);
    RUN(test_node_pieces);
    RUN(test_node_cancel_while_serving);
    RUN(test_bad_arguments);
    RUN(test_no_fd_leaked);
    return TEST_SUMMARY();
}
