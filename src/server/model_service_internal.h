/* The pieces of the model service (model_service.c) that live in their own
 * files: the config-file reader (model_config.c), request rows and their
 * JSON forms (model_rows.c) and request batching (model_batcher.c). Not a
 * public interface; the unit tests include it. */
#ifndef MP_SERVER_MODEL_SERVICE_INTERNAL_H
#define MP_SERVER_MODEL_SERVICE_INTERNAL_H

#include <stddef.h>

#include <jansson.h>

#include "core/buf.h"
#include "core/error.h"
#include "ml/model.h"

/* ---- model config files (model_config.c) ---- */

typedef enum { MS_POLICY_LATEST = 0, MS_POLICY_ALL, MS_POLICY_SPECIFIC } ms_policy_kind;

typedef struct ms_policy {
    ms_policy_kind kind;
    long num_versions; /* latest: how many (default 1) */
    long *versions;    /* specific: ascending, no duplicates */
    size_t nversions;
} ms_policy;

typedef struct ms_label {
    char *label;
    long version;
} ms_label;

typedef struct ms_model_config {
    char *name;
    char *base_path; /* NULL: <registry_dir>/<name> */
    ms_policy policy;
    ms_label *labels;
    size_t nlabels;
    int line; /* where the config starts, for messages */
} ms_model_config;

typedef struct ms_config {
    ms_model_config *models;
    size_t n;
} ms_config;

/* Parses a model_config_list text proto; errors are MP_EINPUT
 * "SOURCE:LINE: ...". */
int ms_config_parse(const char *text, size_t len, const char *source, ms_config *out, mp_error *e);
int ms_config_read(const char *path, ms_config *out, mp_error *e);
void ms_config_free(ms_config *c);
void ms_policy_free(ms_policy *p);

/* Parses a batching parameters text proto into the two values we use. */
int ms_batching_parse(const char *text, size_t len, const char *source, size_t *max_batch_size,
                      long *batch_timeout_micros, mp_error *e);

/* 1 when name is a servable model name: [A-Za-z0-9._-]{1,255}, not
 * starting with '.' and without "..". */
int ms_name_valid(const char *name);

/* ---- request rows (model_rows.c) ---- */

/* The instances of one request, checked against a model's input columns
 * (in the model's order). Numeric cells are in num (NaN: missing);
 * categorical cells are offsets of their text in `text` (SIZE_MAX:
 * missing). */
typedef struct ms_rows {
    size_t n, ncols;
    double *num;
    size_t *off;
    mp_buf text;
} ms_rows;

void ms_rows_free(ms_rows *r);

/* The request forms. Each returns 0, or an HTTP status (400, 500) with a
 * message in msg saying which instance and feature is wrong. */
int ms_rows_from_instances(const mp_model *m, json_t *instances, ms_rows *out, char *msg,
                           size_t msglen);
int ms_rows_from_inputs(const mp_model *m, json_t *inputs, ms_rows *out, char *msg, size_t msglen);
int ms_rows_from_examples(const mp_model *m, json_t *examples, json_t *context, ms_rows *out,
                          char *msg, size_t msglen);

/* Predicts the rows of nsets requests with one mp_model_predict call. */
int ms_rows_predict(const mp_model *m, ms_rows *const *sets, size_t nsets, mp_predictions *out,
                    mp_error *e);

/* Copies predictions [off, off+n) of all into out. */
int ms_predictions_slice(const mp_predictions *all, size_t off, size_t n, mp_predictions *out);

/* Appends a JSON string literal. */
void ms_json_string(mp_buf *b, const char *s);
/* Appends a JSON number; NaN and infinities as TensorFlow Serving writes
 * them (NaN, Infinity, -Infinity). */
void ms_json_number(mp_buf *b, double v);
/* 1 when every class label of m is a JSON number (the label column held
 * numbers), so predictions carry them as numbers. */
int ms_labels_numeric(const mp_model *m);

/* ---- batching (model_batcher.c) ---- */

typedef struct ms_batcher ms_batcher;

/* max_batch instances per model call, waiting up to timeout_us (0: none). */
int ms_batcher_create(size_t max_batch, long timeout_us, ms_batcher **out);
/* Predicts rows with m, merged with concurrent calls that pass the same key
 * (a version; m must then be the same model). *batch_size receives the
 * instances of the model call when this caller made it, else 0, so each
 * call is counted once. */
int ms_batcher_predict(ms_batcher *b, const void *key, const mp_model *m, ms_rows *rows,
                       mp_predictions *out, size_t *batch_size, mp_error *e);
void ms_batcher_destroy(ms_batcher *b);

#endif
