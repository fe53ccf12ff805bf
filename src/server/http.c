/* Response helpers and the producer pipe shared by both transports. */
#include "server/http.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void set_content_type(mp_http_response *resp, const char *ct)
{
    snprintf(resp->content_type, sizeof resp->content_type, "%s", ct ? ct : "application/json");
}

void mp_http_respond_owned(mp_http_response *resp, int status, const char *content_type,
                           char *body, size_t len)
{
    free(resp->body);
    resp->status = status;
    set_content_type(resp, content_type);
    resp->body = body;
    resp->body_len = body ? len : 0;
}

int mp_http_respond(mp_http_response *resp, int status, const char *content_type,
                    const char *body, size_t len)
{
    char *copy = malloc(len + 1);
    if (!copy) {
        mp_http_respond_owned(resp, 500, "application/json", NULL, 0);
        return -1;
    }
    if (len)
        memcpy(copy, body, len);
    copy[len] = '\0';
    mp_http_respond_owned(resp, status, content_type, copy, len);
    return 0;
}

void mp_http_respond_error(mp_http_response *resp, int status, const char *message)
{
    json_t *o = json_pack("{s:s}", "error", message ? message : mp_http_reason(status));
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s) {
        mp_http_respond_owned(resp, status, "application/json", NULL, 0);
        return;
    }
    mp_http_respond_owned(resp, status, "application/json", s, strlen(s));
}

void mp_http_add_header(mp_http_response *resp, const char *name, const char *value)
{
    if (resp->nheaders >= MP_HTTP_MAX_HEADERS)
        return;
    snprintf(resp->header_name[resp->nheaders], sizeof resp->header_name[0], "%s", name);
    snprintf(resp->header_value[resp->nheaders], sizeof resp->header_value[0], "%s", value);
    resp->nheaders++;
}

void mp_http_respond_stream(mp_http_response *resp, int status, const char *content_type,
                            mp_http_producer fn, void *arg, void (*arg_free)(void *))
{
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    resp->status = status;
    set_content_type(resp, content_type);
    resp->produce = fn;
    resp->produce_arg = arg;
    resp->produce_arg_free = arg_free;
}

void mp_http_response_clear(mp_http_response *resp)
{
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    if (resp->produce_arg_free && resp->produce_arg)
        resp->produce_arg_free(resp->produce_arg);
    resp->produce = NULL;
    resp->produce_arg = NULL;
    resp->produce_arg_free = NULL;
}

const char *mp_http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return status < 400 ? "OK" : "Error";
    }
}

/* ---- The pipe: a producer thread feeding a bounded queue of pieces. ---- */

typedef struct piece {
    struct piece *next;
    size_t len, off;
    char data[];
} piece;

struct mp_http_writer {
    mp_http_pipe *pipe;
};

struct mp_http_pipe {
    pthread_mutex_t mu;
    pthread_cond_t can_read, can_write;
    piece *head, *tail;
    size_t queued, cap;
    int finished;  /* the producer has returned */
    int cancelled; /* the client has gone */
    void (*notify)(void *);
    void *notify_arg;
    mp_http_producer fn;
    void *arg;
    void (*arg_free)(void *);
    mp_http_writer writer;
    pthread_t thread;
};

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

int mp_http_write(mp_http_writer *w, const char *data, size_t len)
{
    mp_http_pipe *p = w->pipe;
    if (len == 0)
        return mp_http_writer_closed(w) ? -1 : 0;
    piece *pc = malloc(sizeof *pc + len);
    if (!pc)
        return -1;
    pc->next = NULL;
    pc->len = len;
    pc->off = 0;
    memcpy(pc->data, data, len);
    pthread_mutex_lock(&p->mu);
    /* One piece larger than the cap still goes through once the queue has
     * drained, so a big row can't wedge the stream. */
    while (!p->cancelled && p->queued > 0 && p->queued + len > p->cap)
        pthread_cond_wait(&p->can_write, &p->mu);
    if (p->cancelled) {
        pthread_mutex_unlock(&p->mu);
        free(pc);
        return -1;
    }
    if (p->tail)
        p->tail->next = pc;
    else
        p->head = pc;
    p->tail = pc;
    p->queued += len;
    pthread_cond_signal(&p->can_read);
    pthread_mutex_unlock(&p->mu);
    if (p->notify)
        p->notify(p->notify_arg);
    return 0;
}

int mp_http_writer_closed(mp_http_writer *w)
{
    mp_http_pipe *p = w->pipe;
    pthread_mutex_lock(&p->mu);
    int c = p->cancelled;
    pthread_mutex_unlock(&p->mu);
    return c;
}

static void *pipe_main(void *arg)
{
    mp_http_pipe *p = arg;
    p->fn(p->arg, &p->writer);
    if (p->arg_free)
        p->arg_free(p->arg);
    p->arg = NULL;
    pthread_mutex_lock(&p->mu);
    p->finished = 1;
    pthread_cond_broadcast(&p->can_read);
    pthread_mutex_unlock(&p->mu);
    if (p->notify)
        p->notify(p->notify_arg);
    return NULL;
}

int mp_http_pipe_start(mp_http_response *resp, size_t cap, void (*notify)(void *),
                       void *notify_arg, mp_http_pipe **out)
{
    *out = NULL;
    mp_http_pipe *p = calloc(1, sizeof *p);
    if (!p)
        return -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->can_read, NULL);
    pthread_cond_init(&p->can_write, NULL);
    p->cap = cap ? cap : 1 << 20;
    p->notify = notify;
    p->notify_arg = notify_arg;
    p->fn = resp->produce;
    p->arg = resp->produce_arg;
    p->arg_free = resp->produce_arg_free;
    p->writer.pipe = p;
    if (pthread_create(&p->thread, NULL, pipe_main, p) != 0) {
        pthread_cond_destroy(&p->can_write);
        pthread_cond_destroy(&p->can_read);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return -1; /* resp still owns the argument */
    }
    /* The pipe owns the producer and its argument now. */
    resp->produce = NULL;
    resp->produce_arg = NULL;
    resp->produce_arg_free = NULL;
    *out = p;
    return 0;
}

ssize_t mp_http_pipe_read(mp_http_pipe *p, char *buf, size_t max, int timeout_ms)
{
    struct timespec deadline;
    if (timeout_ms > 0)
        deadline_in(&deadline, timeout_ms);
    pthread_mutex_lock(&p->mu);
    while (!p->head && !p->finished) {
        if (timeout_ms == 0) {
            pthread_mutex_unlock(&p->mu);
            return 0;
        }
        if (timeout_ms < 0) {
            pthread_cond_wait(&p->can_read, &p->mu);
        } else if (pthread_cond_timedwait(&p->can_read, &p->mu, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&p->mu);
            return 0;
        }
    }
    if (!p->head) {
        pthread_mutex_unlock(&p->mu);
        return -1;
    }
    piece *pc = p->head;
    size_t n = pc->len - pc->off;
    if (n > max)
        n = max;
    memcpy(buf, pc->data + pc->off, n);
    pc->off += n;
    p->queued -= n;
    if (pc->off == pc->len) {
        p->head = pc->next;
        if (!p->head)
            p->tail = NULL;
        free(pc);
    }
    pthread_cond_signal(&p->can_write);
    pthread_mutex_unlock(&p->mu);
    return (ssize_t)n;
}

void mp_http_pipe_cancel(mp_http_pipe *p)
{
    pthread_mutex_lock(&p->mu);
    p->cancelled = 1;
    pthread_cond_broadcast(&p->can_write);
    pthread_mutex_unlock(&p->mu);
}

void mp_http_pipe_free(mp_http_pipe *p)
{
    if (!p)
        return;
    mp_http_pipe_cancel(p);
    pthread_join(p->thread, NULL);
    while (p->head) {
        piece *n = p->head->next;
        free(p->head);
        p->head = n;
    }
    pthread_cond_destroy(&p->can_write);
    pthread_cond_destroy(&p->can_read);
    pthread_mutex_destroy(&p->mu);
    free(p);
}
