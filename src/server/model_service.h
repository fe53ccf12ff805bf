/* TensorFlow-Serving-compatible model endpoints over the model registry.
 *
 *   GET  /v1/models/NAME[/versions/V | /labels/L]            model status
 *   GET  /v1/models/NAME[/versions/V | /labels/L]/metadata   signatures: inputs, outputs
 *   POST /v1/models/NAME[/versions/V | /labels/L]:predict    {"instances"} or {"inputs"}
 *   POST /v1/models/NAME[/versions/V | /labels/L]:classify   {"examples"} (classifiers)
 *   POST /v1/models/NAME[/versions/V | /labels/L]:regress    {"examples"} (regressors)
 *
 * docs/serving.md describes the request and response shapes and errors.
 *
 * Models come from a registry directory (every subdirectory is a model), one
 * model directory served under a name, or a model config file listing
 * models with their version policies. A watcher thread polls the
 * directories, loads new versions and unloads versions the policy no longer
 * wants. A request takes a reference on the version it resolves to, so it
 * finishes on that version even when the version is unloaded meanwhile.
 *
 * Thread-safety: mp_model_service_handle and mp_model_service_metrics may
 * run concurrently from any number of threads. mp_model_service_close must
 * run after every handle call has returned (stop the server first). */
#ifndef MP_SERVER_MODEL_SERVICE_H
#define MP_SERVER_MODEL_SERVICE_H

#include <stddef.h>

#include "core/buf.h"
#include "core/error.h"
#include "server/http.h"

typedef struct mp_model_service mp_model_service;

typedef struct mp_model_service_opts {
    const char *registry_dir;      /* every subdirectory is a model: <name>/<version>/ */
    const char *model_base_path;   /* OR one model: its directory of versions ... */
    const char *model_name;        /* ... served under this name (serve-models mode) */
    const char *model_config_file; /* optional: per-model version policy (docs/serving.md) */
    double poll_seconds;           /* watcher interval; 0 = no watching, < 0 = 1 second */
    int enable_batching;
    size_t max_batch_size;         /* instances per model call; 0 = 32 */
    long batch_timeout_micros;     /* how long a batch waits for more requests;
                                      0 = 1000, < 0 = no waiting */
    size_t max_json_depth;         /* deeper request JSON is refused; 0 = 64 */
} mp_model_service_opts;

/* Opens the service and loads the versions the policies select (a version
 * that fails to load is reported in the status, not here). Errors: MP_EINVAL
 * for contradictory or missing options, MP_ENOTFOUND for a missing registry
 * or base path, MP_EINPUT for a bad config file (message "FILE:LINE: ..."). */
int mp_model_service_open(const mp_model_service_opts *o, mp_model_service **out, mp_error *e);

/* Returns 1 when the request was for /v1/models... and resp is filled, 0
 * when the path is not ours (resp untouched). */
int mp_model_service_handle(mp_model_service *s, const mp_http_request *req,
                            mp_http_response *resp);

/* Appends Prometheus text-format metric lines (predictions per model and
 * version, requests, batch sizes, load failures, versions loaded). */
void mp_model_service_metrics(mp_model_service *s, mp_buf *out);

/* Scans the directories now (what the watcher does every poll_seconds). */
void mp_model_service_poll(mp_model_service *s);

/* Stops the watcher and drops the service's references; requests still
 * holding a model keep it alive until they finish. NULL is a no-op. */
void mp_model_service_close(mp_model_service *s);

/* Reads a TensorFlow Serving batching parameters file (text proto subset:
 * `max_batch_size { value: 32 }`, `batch_timeout_micros { value: 1000 }`;
 * num_batch_threads, max_enqueued_batches, allowed_batch_sizes,
 * pad_variable_length_inputs and enable_large_batch_splitting are accepted
 * and ignored) into o. A timeout of 0 becomes -1 (no waiting). Unknown
 * fields and bad values are MP_EINPUT "FILE:LINE: ...". */
int mp_model_service_read_batching_file(const char *path, mp_model_service_opts *o, mp_error *e);

#endif
