/* Request counts and latency histograms per endpoint, in Prometheus text
 * format (mlpipe_http_requests_total, mlpipe_http_request_duration_seconds).
 * Thread-safe. */
#ifndef MP_SERVER_METRICS_H
#define MP_SERVER_METRICS_H

#include "core/buf.h"
#include "server/http.h"

typedef struct mp_server_metrics_t mp_server_metrics_t;

mp_server_metrics_t *mp_server_metrics_new(void);
void mp_server_metrics_free(mp_server_metrics_t *m);
/* Records one request to endpoint (a label, copied) answered with status
 * after secs seconds (time to the response head for streamed ones). */
void mp_server_metrics_observe(mp_server_metrics_t *m, const char *endpoint, int status,
                               double secs);
void mp_server_metrics_write(mp_server_metrics_t *m, mp_buf *out);

/* The endpoint label of a request: the path for the server's fixed
 * endpoints, "/v1/models/:predict" style for model paths (so model names
 * don't multiply series), "other" for anything else. */
const char *mp_server_default_label(const mp_http_request *req);

#endif
