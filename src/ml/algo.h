/* The estimator interface every learning algorithm implements.
 *
 * An algorithm sees only numbers: the preprocessing step (preprocess.h) has
 * already imputed, scaled and encoded the features, and mapped class labels
 * to indexes 0..nclasses-1. An algorithm's state is immutable after fit, so
 * predict may be called from several threads at once on the same state.
 *
 * Adding an algorithm: implement the functions, add it to the table in
 * algo.c. */
#ifndef MP_ML_ALGO_H
#define MP_ML_ALGO_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"
#include "ml/params.h"
#include "ml/tensors.h"

/* Anomaly detection learns what normal rows look like (no target) and
 * scores how far a row is from them. */
typedef enum { MP_TASK_CLASSIFY = 1, MP_TASK_REGRESS = 2, MP_TASK_ANOMALY = 4 } mp_task;

/* Progress of an iterative fit (neural networks), for a live display. */
typedef struct mp_fit_event {
    int epoch_end;          /* 0: inside an epoch; 1: the epoch just finished */
    size_t epoch, epochs;   /* epoch from 1 */
    size_t done, total;     /* samples seen in this epoch, of total */
    double loss, acc;       /* training loss and accuracy (NaN when not classifying) */
    double val_loss, val_acc; /* epoch end only; NaN without validation rows */
    double elapsed;         /* seconds since the epoch began */
    double samples_per_s;
} mp_fit_event;

typedef struct mp_fit_observer {
    void (*fn)(void *ctx, const mp_fit_event *ev);
    void *ctx;
} mp_fit_observer;

typedef struct mp_fit_input {
    mp_task task;
    const double *X;      /* n*d row-major, finite */
    size_t n, d;
    /* Per feature: 0 for a numeric feature, k > 0 for a categorical one
     * holding codes 0..k-1. Only algorithms with raw_categories = 1 ever see
     * k > 0; the others get categorical columns one-hot encoded. */
    const size_t *ncats;
    const double *y;      /* n targets: class index (classification) or value */
    size_t nclasses;      /* classification only */
    uint64_t seed;
    /* Images: the shape of one row (rows, cols[, channels]) as the IDX file
     * stores it, row-major; nshape 0 for tabular data. */
    size_t nshape;
    size_t shape[3];
    const mp_fit_observer *observer; /* may be NULL */
} mp_fit_input;

typedef struct mp_algo {
    const char *name;           /* "knn", "naive-bayes", ... */
    unsigned tasks;             /* bitwise OR of the mp_task values supported */
    int raw_categories;         /* 1: wants categorical codes, not one-hot */
    int neural;                 /* 1: a network that normalises its own input (images
                                   are then left unscaled by default) */
    const char *const *params;  /* NULL-terminated names of its parameters */

    /* Reads its hyper-parameters from p (unknown ones are rejected by the
     * caller afterwards), fits, and returns a new state in *state. */
    int (*fit)(const mp_fit_input *in, mp_params *p, void **state, mp_error *e);
    /* For n rows of d features writes n*nclasses probabilities
     * (classification, rows sum to 1), n values (regression) or n anomaly
     * scores (anomaly detection). A categorical
     * code of -1 means a level unseen in training. */
    int (*predict)(const void *state, const double *X, size_t n, size_t d, double *out,
                   mp_error *e);
    /* Writes its state as tensors plus what describe writes. */
    int (*save)(const void *state, mp_tensors *b, mp_error *e);
    /* Writes only the metadata of save ("params", and "fit_info" where the
     * solver reports one), without copying the state: cheap enough to call
     * right after fit. */
    int (*describe)(const void *state, mp_tensors *b, mp_error *e);
    /* Rebuilds a state from a bag written by save; validates shapes against
     * task, d and nclasses, and rejects anything inconsistent (MP_EFORMAT). */
    int (*load)(const mp_tensors *b, mp_task task, size_t d, size_t nclasses, void **state,
                mp_error *e);
    void (*destroy)(void *state);
    /* Anomaly detectors only (else NULL): the score above which a row is
     * flagged, chosen at fit time. */
    double (*threshold)(const void *state);
} mp_algo;

extern const mp_algo mp_algo_knn;
extern const mp_algo mp_algo_naive_bayes;
extern const mp_algo mp_algo_linear_regression;
extern const mp_algo mp_algo_logistic_regression;
/* Neural networks (neural_net.c over src/nn): presets and a free spec. */
extern const mp_algo mp_algo_mlp;
extern const mp_algo mp_algo_cnn;
extern const mp_algo mp_algo_lstm;
extern const mp_algo mp_algo_gru;
extern const mp_algo mp_algo_autoencoder;
extern const mp_algo mp_algo_nn;

/* What every describe writes: "params" (params_json, which this frees) and,
 * when not NULL, "fit_info". A NULL params_json means its formatting ran out
 * of memory. For algorithms' describe functions. */
int mp_algo_write_meta(mp_tensors *b, char *params_json, const char *fit_info, const char *algo,
                       mp_error *e);

/* The algorithm called name, or NULL. */
const mp_algo *mp_algo_find(const char *name);
/* "knn|naive-bayes|...|nn" for messages. */
const char *mp_algo_names(void);

#endif
