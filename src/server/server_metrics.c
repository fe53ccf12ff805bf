#include "server/server_metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Upper bounds in seconds; the last bucket is +Inf. */
static const double bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                0.1,    0.25,  0.5,    1,     2.5,  5,     10};
#define NBOUNDS (sizeof bounds / sizeof bounds[0])
#define MAX_ENDPOINTS 32
#define MAX_CODES 12

typedef struct endpoint {
    char label[48];
    int codes[MAX_CODES];
    unsigned long long code_count[MAX_CODES];
    size_t ncodes;
    unsigned long long buckets[NBOUNDS + 1];
    unsigned long long count;
    double sum;
} endpoint;

struct mp_server_metrics_t {
    pthread_mutex_t mu;
    endpoint ep[MAX_ENDPOINTS];
    size_t n;
};

mp_server_metrics_t *mp_server_metrics_new(void)
{
    mp_server_metrics_t *m = calloc(1, sizeof *m);
    if (m)
        pthread_mutex_init(&m->mu, NULL);
    return m;
}

void mp_server_metrics_free(mp_server_metrics_t *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

void mp_server_metrics_observe(mp_server_metrics_t *m, const char *label, int status,
                               double secs)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->mu);
    endpoint *ep = NULL;
    for (size_t i = 0; i < m->n && !ep; i++)
        if (strcmp(m->ep[i].label, label) == 0)
            ep = &m->ep[i];
    if (!ep && m->n < MAX_ENDPOINTS) {
        ep = &m->ep[m->n++];
        snprintf(ep->label, sizeof ep->label, "%s", label);
    }
    if (ep) {
        size_t c = 0;
        while (c < ep->ncodes && ep->codes[c] != status)
            c++;
        if (c == ep->ncodes && c < MAX_CODES)
            ep->codes[ep->ncodes++] = status;
        if (c < MAX_CODES)
            ep->code_count[c]++;
        size_t b = 0;
        while (b < NBOUNDS && secs > bounds[b])
            b++;
        ep->buckets[b]++;
        ep->count++;
        ep->sum += secs;
    }
    pthread_mutex_unlock(&m->mu);
}

void mp_server_metrics_write(mp_server_metrics_t *m, mp_buf *out)
{
    pthread_mutex_lock(&m->mu);
    mp_buf_puts(out, "# HELP mlpipe_http_requests_total HTTP requests by endpoint and status.\n"
                     "# TYPE mlpipe_http_requests_total counter\n");
    for (size_t i = 0; i < m->n; i++)
        for (size_t c = 0; c < m->ep[i].ncodes; c++)
            mp_buf_printf(out, "mlpipe_http_requests_total{endpoint=\"%s\",code=\"%d\"} %llu\n",
                          m->ep[i].label, m->ep[i].codes[c], m->ep[i].code_count[c]);
    mp_buf_puts(out, "# HELP mlpipe_http_request_duration_seconds Time to the response head.\n"
                     "# TYPE mlpipe_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < m->n; i++) {
        const endpoint *ep = &m->ep[i];
        unsigned long long cum = 0;
        for (size_t b = 0; b <= NBOUNDS; b++) {
            cum += ep->buckets[b];
            char le[32];
            if (b < NBOUNDS)
                snprintf(le, sizeof le, "%g", bounds[b]);
            else
                snprintf(le, sizeof le, "+Inf");
            mp_buf_printf(out,
                          "mlpipe_http_request_duration_seconds_bucket{endpoint=\"%s\",le=\"%s\"} "
                          "%llu\n",
                          ep->label, le, cum);
        }
        mp_buf_printf(out, "mlpipe_http_request_duration_seconds_sum{endpoint=\"%s\"} %.9g\n",
                      ep->label, ep->sum);
        mp_buf_printf(out, "mlpipe_http_request_duration_seconds_count{endpoint=\"%s\"} %llu\n",
                      ep->label, ep->count);
    }
    pthread_mutex_unlock(&m->mu);
}

const char *mp_server_default_label(const mp_http_request *req)
{
    static const char *fixed[] = {"/ksql", "/query", "/query-stream", "/inserts-stream",
                                  "/close-query", "/info", "/healthcheck", "/status",
                                  "/metrics", "/"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        if (strcmp(req->path, fixed[i]) == 0)
            return fixed[i];
    if (strncmp(req->path, "/status/", 8) == 0)
        return "/status";
    if (strncmp(req->path, "/v1/models", 10) == 0) {
        const char *colon = strrchr(req->path, ':');
        if (colon && strcmp(colon, ":predict") == 0)
            return "/v1/models/:predict";
        if (colon && strcmp(colon, ":classify") == 0)
            return "/v1/models/:classify";
        if (colon && strcmp(colon, ":regress") == 0)
            return "/v1/models/:regress";
        size_t n = strlen(req->path);
        if (n >= 9 && strcmp(req->path + n - 9, "/metadata") == 0)
            return "/v1/models/metadata";
        return "/v1/models";
    }
    return "other";
}
