/* mlpipe: machine-learning data pipelines, embeddable.
 *
 * The public C API of libmlpipe: load labelled data, train a model, save it
 * as a numbered version in a model directory, load a version back, and
 * score rows one at a time or in batches. Handles are opaque.
 *
 * Errors: every function returns 0 on success or a negative code (MP_E*
 * below). Functions taking `char **err` store a message naming the place
 * (file:line:column, column or tensor name) there on failure, which the
 * caller frees with mp_free(); pass NULL to ignore it.
 *
 * Threads: a loaded or trained mp_model is immutable and may be used for
 * prediction from any number of threads at once. Datasets are not shared
 * between threads while being created. */
#ifndef MLPIPE_H
#define MLPIPE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MLPIPE_VERSION_MAJOR 0
#define MLPIPE_VERSION_MINOR 1
#define MLPIPE_VERSION_PATCH 0
#define MLPIPE_VERSION "0.1.0"

/* Return codes (same values as the library's internal codes). */
#define MP_API_OK 0
#define MP_API_EINVAL (-1)   /* bad argument or parameter */
#define MP_API_EINPUT (-2)   /* bad input data */
#define MP_API_EIO (-3)      /* I/O failure */
#define MP_API_ENOMEM (-4)   /* out of memory */
#define MP_API_EFORMAT (-5)  /* truncated, altered or foreign model file */
#define MP_API_ENOTFOUND (-6) /* no such file, column, model or version */

typedef struct mp_dataset mp_dataset;
typedef struct mp_model mp_model;

/* The library's version string, e.g. "0.1.0". */
const char *mp_version(void);
/* Frees a string returned by the library (error messages, JSON). */
void mp_free(void *p);

/* ---- data ---- */

/* Reads a CSV file (header row, delimiter detected) or an IDX image file.
 * target: the label column, or NULL for unlabelled rows. id: the row-id
 * column, or NULL to number rows from 0. Missing cells are an error. */
int mp_dataset_read(const char *path, const char *target, const char *id, mp_dataset **out,
                    char **err);
size_t mp_dataset_rows(const mp_dataset *d);
/* Feature columns (id and target excluded). */
size_t mp_dataset_columns(const mp_dataset *d);
void mp_dataset_free(mp_dataset *d);

/* ---- training and model files ---- */

/* Trains algorithm ("knn", "naive-bayes", "linear-regression",
 * "logistic-regression") on a dataset with a target. params is a
 * NULL-terminated list of "name=value" strings, or NULL for defaults. */
int mp_train(const mp_dataset *d, const char *algorithm, const char *const *params,
             mp_model **out, char **err);
/* Saves the model as the next version of model_dir (created if needed);
 * *version (may be NULL) receives its number. The version appears
 * atomically: readers never see half a model. */
int mp_model_save_version(const mp_model *m, const char *model_dir, long *version, char **err);
/* Loads "DIR" (its newest version) or "DIR/N". Validates the whole file. */
int mp_model_open(const char *path, mp_model **out, char **err);
/* Releases the caller's reference. */
void mp_model_free(mp_model *m);

/* ---- describing a model ---- */

/* 1 for a classifier, 0 for a regressor. */
int mp_model_is_classifier(const mp_model *m);
/* The input columns the model reads, by name, in its order. */
size_t mp_model_num_inputs(const mp_model *m);
const char *mp_model_input_name(const mp_model *m, size_t i);
/* Class labels of a classifier (0 for a regressor). */
size_t mp_model_num_classes(const mp_model *m);
const char *mp_model_class_label(const mp_model *m, size_t i);
/* An anomaly detector's threshold: rows scoring above it are anomalies.
 * NaN for other models. */
double mp_model_anomaly_threshold(const mp_model *m);

/* ---- prediction ---- */

/* Scores one row given as text cells, one per input column in the order of
 * mp_model_input_name ("" or "NA" for missing). For a classifier,
 * *label receives the predicted class index (may be NULL) and proba (may be
 * NULL) mp_model_num_classes() probabilities; for a regressor *value
 * receives the prediction, and for an anomaly detector (autoencoder) the
 * row's anomaly score (see mp_model_anomaly_threshold). */
int mp_predict_row(const mp_model *m, const char *const *cells, size_t *label, double *proba,
                   double *value, char **err);
/* Scores every row of a dataset (matched to the model's columns by name).
 * out receives n class indexes (classifier), n values (regressor) or n
 * anomaly scores (anomaly detector) as doubles; proba (may be NULL) n * num_classes probabilities. */
int mp_predict_dataset(const mp_model *m, const mp_dataset *d, double *out, double *proba,
                       char **err);

/* ---- evaluation ---- */

/* Predicts the labelled dataset d and compares with its target: returns a
 * JSON object in *json (free with mp_free) with "accuracy" and per-class
 * metrics for a classifier, or "mae", "rmse", "r2" for a regressor. */
int mp_evaluate(const mp_model *m, const mp_dataset *d, char **json, char **err);

#ifdef __cplusplus
}
#endif

#endif
