/* A trained model: preprocessing + an algorithm's state + the meaning of its
 * outputs (task, class labels). Immutable once trained or loaded, and
 * shared by reference count, so a server can keep answering on an old
 * version while a new one loads. All functions are thread-safe on a model
 * (retain/release use atomics). */
#ifndef MP_ML_MODEL_H
#define MP_ML_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"
#include "ml/algo.h"
#include "ml/preprocess.h"

#define MP_MODEL_FORMAT_VERSION "1"

typedef struct mp_model {
    int refs;
    const mp_algo *algo;
    void *state;
    mp_task task;
    mp_prep prep;
    size_t nclasses;
    char **classes;     /* class labels as written in the training target */
    char *target;       /* target column name */
    char *id_name;      /* id column name */
    char *params_json;  /* effective hyper-parameters */
    char *metrics_json; /* training metrics */
    char *fit_info_json; /* optional solver report (iterations, convergence) */
    char *created;      /* ISO 8601 UTC */
    size_t ntrain;
    double train_seconds;
    size_t nimage_dims; /* input images: their shape, for documentation */
    size_t image_dims[3];
} mp_model;

typedef struct mp_train_opts {
    const char *algorithm;
    mp_params *params;         /* may be NULL; consumed parameters are marked */
    int scale;                 /* mp_scale, or -1 for the algorithm's default */
    mp_missing_policy missing; /* as the dataset was loaded */
    int task;                  /* mp_task, or 0 to infer from algorithm and target */
    uint64_t seed;
    const mp_fit_observer *observer; /* progress of iterative fits; may be NULL */
} mp_train_opts;

/* The task a training run will have: the algorithm's only task, else
 * classification for text targets or integer targets with few values. */
int mp_model_infer_task(const mp_algo *a, const mp_dataset *d, int requested, mp_task *task,
                        mp_error *e);
/* The default scaling of an algorithm on d (may be NULL) when --scale is
 * not given. */
mp_scale mp_model_default_scale(const mp_algo *a, const mp_dataset *d);

/* Trains on rows[0..n) of d (all rows when rows is NULL). */
int mp_model_train(const mp_dataset *d, const size_t *rows, size_t n, const mp_train_opts *o,
                   mp_model **out, mp_error *e);

typedef struct mp_predictions {
    size_t n;
    size_t nclasses;  /* 0 for regression and anomaly detection */
    double *value;    /* regression: predicted values; anomaly: scores */
    size_t *label;    /* classification: predicted class index; anomaly: 1 if flagged */
    double *proba;    /* classification: n*nclasses */
    size_t unseen;    /* categorical cells with levels unseen in training */
} mp_predictions;

/* Predicts rows[0..n) of d (all when rows is NULL). `impute` fills missing
 * numeric cells with training means. */
int mp_model_predict(const mp_model *m, const mp_dataset *d, const size_t *rows, size_t n,
                     int impute, mp_predictions *out, mp_error *e);
void mp_predictions_free(mp_predictions *p);

/* Maps the target of rows of d to class indexes of m (MP_EINPUT naming an
 * unknown label); for regression copies the numeric values. */
int mp_model_targets(const mp_model *m, const mp_dataset *d, const size_t *rows, size_t n,
                     double *y, mp_error *e);

/* Writes <dir>/model.safetensors. */
int mp_model_save(const mp_model *m, const char *dir, mp_error *e);
/* Publishes as the next version of model_dir (see registry.h). */
int mp_model_publish(const mp_model *m, const char *model_dir, long *version, mp_error *e);
/* Loads "DIR" (newest version) or "DIR/N". version may be NULL. */
int mp_model_load(const char *path, mp_model **out, long *version, mp_error *e);

/* Anomaly detectors: the score above which a row is flagged; NaN otherwise. */
double mp_model_threshold(const mp_model *m);
/* "classification", "regression" or "anomaly". */
const char *mp_task_name(mp_task t);

mp_model *mp_model_retain(mp_model *m);
void mp_model_release(mp_model *m);



/* Accuracy (classification), R² (regression) or the share of rows flagged
 * (anomaly detection) of m on the given rows of d, whose target must be
 * present except for anomaly detection. Used for training and cross-validation
 * scores. */
int mp_model_score(const mp_model *m, const mp_dataset *d, const size_t *rows, size_t n,
                   double *score, mp_error *e);
#endif
