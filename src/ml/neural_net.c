/* Neural networks as estimators: the presets mlp, cnn, lstm, gru and
 * autoencoder, and `nn`, a network written as a spec (src/nn/net.h).
 *
 * The estimator interface hands over rows of doubles; a network wants
 * float32 samples of a shape (C x H x W images, T x F sequences). This file
 * converts between the two, chooses the loss from the task, and keeps what
 * a network needs besides its weights:
 *  - a global input normalisation (mean and standard deviation over every
 *    training value), the way image pipelines normalise pixels, so IDX
 *    images can be used unscaled and stay images;
 *  - for regression, the target's mean and standard deviation: the network
 *    learns a standardised target, which makes one learning rate work for
 *    targets in any unit;
 *  - for anomaly detection (autoencoder), the score threshold: a
 *    percentile of the reconstruction errors of held-out normal rows.
 *
 * The training history (loss and accuracy per epoch) is kept in fit_info,
 * where `mlpipe eval --report` finds it for the training curves. */
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "ml/algo.h"
#include "nn/net.h"
#include "nn/train.h"

typedef enum { P_MLP, P_CNN, P_LSTM, P_GRU, P_AUTOENCODER, P_NN } preset;

static const char *const preset_names[] = {"mlp", "cnn", "lstm", "gru", "autoencoder", "nn"};

static const char *const known_params[] = {
    "layers",       "input_shape", "epochs",   "batch_size",       "learning_rate",
    "optimizer",    "momentum",    "weight_decay", "validation_split", "patience",
    "hidden",       "threshold_percentile", NULL,
};

static const char *const optimizer_names[] = {"adam", "sgd", NULL};

/* Rows converted and predicted per step: bounds the float copy. */
#define PREDICT_CHUNK 4096

typedef struct nn_state {
    mp_nn_net *net;
    mp_task task;
    size_t d;         /* features per row */
    int hwc;          /* rows hold H x W x C images, the network wants C x H x W */
    float in_mean, in_std;
    double y_mean, y_std; /* regression */
    double threshold;     /* anomaly detection */
    char *params_json;
    char *fit_info;
} nn_state;

static void state_free(void *p)
{
    nn_state *s = p;
    if (!s)
        return;
    mp_nn_net_free(s->net);
    free(s->params_json);
    free(s->fit_info);
    free(s);
}

/* ---- shapes and specs ---- */

/* The per-sample shape of the network's input for rows of d features. */
static int input_shape(preset pr, const mp_fit_input *in, const char *given, mp_nn_shape *s,
                       int *hwc, mp_error *e)
{
    *hwc = 0;
    if (given) {
        int rc = mp_nn_shape_parse(given, s, e);
        if (rc)
            return rc;
        if (mp_nn_shape_size(*s) != in->d) {
            char b[64];
            return mp_error_set(e, MP_EINVAL,
                                "input_shape %s holds %zu values but the rows have %zu features",
                                mp_nn_shape_str(*s, b, sizeof b), mp_nn_shape_size(*s), in->d);
        }
        return 0;
    }
    if (in->nshape >= 2) {
        size_t c = in->nshape == 3 ? in->shape[2] : 1;
        *s = (mp_nn_shape){3, {c, in->shape[0], in->shape[1]}};
        *hwc = c > 1;
        return 0;
    }
    switch (pr) {
    case P_CNN:
        return mp_error_set(e, MP_EINVAL,
                            "cnn needs images: train on IDX image data, or give the shape of a "
                            "row with --input-shape CxHxW");
    case P_LSTM:
    case P_GRU:
        /* A row of tabular data read as a sequence: a window of past
         * values, one value per step. */
        *s = (mp_nn_shape){2, {in->d, 1, 0}};
        return 0;
    default:
        *s = (mp_nn_shape){1, {in->d, 0, 0}};
        return 0;
    }
}

/* Appends to a spec being built. */
static int cat(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int cat(char *buf, size_t cap, const char *fmt, ...)
{
    size_t len = strlen(buf);
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + len, cap - len, fmt, ap);
    va_end(ap);
    return w < 0 || (size_t)w >= cap - len ? -1 : 0;
}

/* The preset's spec for an input shape and output size. */
static int preset_spec(preset pr, mp_nn_shape s, mp_task task, size_t nout, long hidden,
                       char *buf, size_t cap)
{
    buf[0] = '\0';
    int rc = 0;
    switch (pr) {
    case P_MLP:
        if (s.ndim > 1)
            rc |= cat(buf, cap, "flatten ");
        rc |= cat(buf, cap, "dense(%ld) relu ", hidden > 0 ? hidden : 128);
        break;
    case P_CNN:
        /* Dropout keeps the 1.6 k-feature dense layer from memorising:
         * Fashion-MNIST test accuracy 90.96% -> 91.36% after 10 epochs. */
        rc |= cat(buf, cap, "conv2d(32,3) relu maxpool(2) conv2d(64,3) relu maxpool(2) flatten "
                            "dropout(0.25) dense(%ld) relu dropout(0.25) ",
                  hidden > 0 ? hidden : 128);
        break;
    case P_LSTM:
    case P_GRU:
        rc |= cat(buf, cap, "%s(%ld) ", pr == P_LSTM ? "lstm" : "gru", hidden > 0 ? hidden : 64);
        break;
    case P_AUTOENCODER: {
        size_t d = mp_nn_shape_size(s);
        long h = hidden > 0 ? hidden : d >= 128 ? 64 : (long)(d / 2 > 2 ? d / 2 : 2);
        if (s.ndim > 1)
            rc |= cat(buf, cap, "flatten ");
        /* tanh, not relu, in the bottleneck: a narrow relu layer loses
         * every row that drives a unit negative. */
        rc |= cat(buf, cap, "dense(%ld) tanh ", h);
        break;
    }
    case P_NN:
        return -1;
    }
    rc |= cat(buf, cap, "dense(%zu)", nout);
    if (task == MP_TASK_CLASSIFY)
        rc |= cat(buf, cap, " softmax");
    return rc;
}

static size_t outputs_for(mp_task task, size_t nclasses, size_t d)
{
    return task == MP_TASK_CLASSIFY ? nclasses : task == MP_TASK_REGRESS ? 1 : d;
}

static const mp_nn_layer *last_layer(const mp_nn_net *n) { return &n->layers[n->nlayers - 1]; }

/* A user's network must end in what the task needs. */
static int check_head(const mp_nn_net *n, mp_task task, size_t want, mp_error *e)
{
    size_t got = mp_nn_shape_size(mp_nn_net_out(n));
    char b[64];
    if (task == MP_TASK_CLASSIFY && last_layer(n)->ops != NULL &&
        strcmp(last_layer(n)->ops->name, "softmax"))
        return mp_error_set(e, MP_EINVAL,
                            "a classifier's network must end with softmax (it ends with %s); "
                            "e.g. ... dense(%zu) softmax",
                            last_layer(n)->text, want);
    if (got != want || mp_nn_net_out(n).ndim != 1)
        return mp_error_set(e, MP_EINVAL,
                            "the network's output is %s but %s needs %zu value%s per row "
                            "(end the spec with dense(%zu)%s)",
                            mp_nn_shape_str(mp_nn_net_out(n), b, sizeof b),
                            task == MP_TASK_CLASSIFY ? "the target's classes need"
                            : task == MP_TASK_REGRESS ? "regression"
                                                      : "reconstruction",
                            want, want == 1 ? "" : "s", want,
                            task == MP_TASK_CLASSIFY ? " softmax" : "");
    return 0;
}

/* ---- conversion ---- */

/* Writes rows [0, n) of X (n x d doubles) as normalised float samples in
 * the network's layout. */
static void to_float(const nn_state *s, const double *X, size_t n, float *out)
{
    const mp_nn_shape in = s->net->in;
    float inv = 1.0f / s->in_std;
    for (size_t r = 0; r < n; r++) {
        const double *x = X + r * s->d;
        float *o = out + r * s->d;
        if (!s->hwc) {
            for (size_t j = 0; j < s->d; j++)
                o[j] = ((float)x[j] - s->in_mean) * inv;
            continue;
        }
        size_t c = in.d[0], h = in.d[1], w = in.d[2];
        for (size_t y = 0; y < h; y++)
            for (size_t xx = 0; xx < w; xx++)
                for (size_t k = 0; k < c; k++)
                    o[(k * h + y) * w + xx] = ((float)x[(y * w + xx) * c + k] - s->in_mean) * inv;
    }
}

/* Mean squared reconstruction error per row: the anomaly score. */
static void recon_scores(const float *x, const float *rec, size_t n, size_t d, double *score)
{
    for (size_t r = 0; r < n; r++) {
        double acc = 0;
        for (size_t j = 0; j < d; j++) {
            double diff = (double)rec[r * d + j] - (double)x[r * d + j];
            acc += diff * diff;
        }
        score[r] = acc / (double)(d ? d : 1);
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* numpy's default (linear) percentile of v[0..n), sorting v. */
static double percentile(double *v, size_t n, double q)
{
    qsort(v, n, sizeof *v, cmp_double);
    double pos = q / 100.0 * (double)(n - 1);
    size_t lo = (size_t)floor(pos);
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    return v[lo] + (v[hi] - v[lo]) * (pos - (double)lo);
}

/* ---- progress ---- */

typedef struct observer_bridge {
    const mp_fit_observer *obs;
} observer_bridge;

static void on_progress(void *ctx, const mp_nn_progress *p)
{
    const mp_fit_observer *o = ((observer_bridge *)ctx)->obs;
    mp_fit_event ev = {
        .epoch_end = 0, .epoch = p->epoch, .epochs = p->epochs, .done = p->done,
        .total = p->total, .loss = p->loss, .acc = p->acc, .val_loss = NAN, .val_acc = NAN,
        .elapsed = p->elapsed,
        .samples_per_s = p->elapsed > 0 ? (double)p->done / p->elapsed : 0,
    };
    o->fn(o->ctx, &ev);
}

static void on_epoch(void *ctx, const mp_nn_epoch *ep)
{
    const mp_fit_observer *o = ((observer_bridge *)ctx)->obs;
    mp_fit_event ev = {
        .epoch_end = 1, .epoch = ep->epoch, .loss = ep->loss, .acc = ep->acc,
        .val_loss = ep->val_loss, .val_acc = ep->val_acc, .elapsed = ep->seconds,
        .samples_per_s = ep->samples_per_s,
    };
    o->fn(o->ctx, &ev);
}

/* ---- metadata ---- */

static json_t *num_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static char *history_json(const mp_nn_history *h, size_t nparams, double threshold)
{
    json_t *o = json_object(), *arr = json_array();
    for (size_t i = 0; i < h->n; i++) {
        const mp_nn_epoch *ep = &h->ep[i];
        json_t *x = json_object();
        json_object_set_new(x, "epoch", json_integer((json_int_t)ep->epoch));
        json_object_set_new(x, "loss", num_or_null(ep->loss));
        json_object_set_new(x, "accuracy", num_or_null(ep->acc));
        json_object_set_new(x, "val_loss", num_or_null(ep->val_loss));
        json_object_set_new(x, "val_accuracy", num_or_null(ep->val_acc));
        json_object_set_new(x, "seconds", json_real(ep->seconds));
        json_array_append_new(arr, x);
    }
    json_object_set_new(o, "parameters", json_integer((json_int_t)nparams));
    json_object_set_new(o, "epochs_run", json_integer((json_int_t)h->n));
    json_object_set_new(o, "best_epoch", json_integer((json_int_t)h->best_epoch));
    json_object_set_new(o, "stopped_early", json_boolean(h->stopped_early));
    if (isfinite(threshold))
        json_object_set_new(o, "threshold", json_real(threshold));
    json_object_set_new(o, "history", arr);
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* ---- fit ---- */

typedef struct fit_opts {
    const char *layers, *shape_text;
    long hidden;
    double threshold_pct;
    mp_nn_train_opts t;
} fit_opts;

static int read_params(preset pr, mp_task task, mp_params *p, fit_opts *o, mp_error *e)
{
    long epochs, batch, patience;
    double vs_default = task == MP_TASK_ANOMALY ? 0.1 : 0.0;
    int opt, rc;
    mp_nn_train_defaults(&o->t);
    o->layers = mp_params_get(p, "layers");
    o->shape_text = mp_params_get(p, "input_shape");
    if ((rc = mp_param_int(p, "epochs", 10, 1, 100000, &epochs, e)) ||
        (rc = mp_param_int(p, "batch_size", 64, 1, 1 << 20, &batch, e)) ||
        (rc = mp_param_double(p, "learning_rate", 1e-3, 1e-12, 100, &o->t.learning_rate, e)) ||
        (rc = mp_param_choice(p, "optimizer", optimizer_names, 0, &opt, e)) ||
        (rc = mp_param_double(p, "momentum", 0.9, 0, 0.999999, &o->t.momentum, e)) ||
        (rc = mp_param_double(p, "weight_decay", 0, 0, 1e6, &o->t.weight_decay, e)) ||
        (rc = mp_param_double(p, "validation_split", vs_default, 0, 0.9, &o->t.validation_split, e)) ||
        (rc = mp_param_int(p, "patience", 0, 0, 100000, &patience, e)) ||
        (rc = mp_param_int(p, "hidden", 0, 0, 1 << 20, &o->hidden, e)) ||
        (rc = mp_param_double(p, "threshold_percentile", 99, 0, 100, &o->threshold_pct, e)))
        return rc;
    if (pr == P_NN && !o->layers)
        return mp_error_set(e, MP_EINVAL,
                            "nn needs its layers: --layers \"dense(64) relu dense(10) softmax\" "
                            "(or use a preset: mlp, cnn, lstm, gru, autoencoder)");
    o->t.epochs = (size_t)epochs;
    o->t.batch_size = (size_t)batch;
    o->t.optimizer = opt == 0 ? MP_NN_OPT_ADAM : MP_NN_OPT_SGD;
    o->t.patience = (size_t)patience;
    o->t.loss = task == MP_TASK_CLASSIFY ? MP_NN_LOSS_CE : MP_NN_LOSS_MSE;
    return 0;
}

static char *params_json(const fit_opts *o, const nn_state *s)
{
    char shape[64];
    json_t *j = json_object();
    json_object_set_new(j, "layers", json_string(s->net->spec));
    json_object_set_new(j, "input_shape", json_string(mp_nn_shape_str(s->net->in, shape, sizeof shape)));
    json_object_set_new(j, "epochs", json_integer((json_int_t)o->t.epochs));
    json_object_set_new(j, "batch_size", json_integer((json_int_t)o->t.batch_size));
    json_object_set_new(j, "learning_rate", json_real(o->t.learning_rate));
    json_object_set_new(j, "optimizer", json_string(optimizer_names[o->t.optimizer == MP_NN_OPT_ADAM ? 0 : 1]));
    if (o->t.optimizer == MP_NN_OPT_SGD)
        json_object_set_new(j, "momentum", json_real(o->t.momentum));
    json_object_set_new(j, "weight_decay", json_real(o->t.weight_decay));
    json_object_set_new(j, "validation_split", json_real(o->t.validation_split));
    json_object_set_new(j, "patience", json_integer((json_int_t)o->t.patience));
    if (s->task == MP_TASK_ANOMALY)
        json_object_set_new(j, "threshold_percentile", json_real(o->threshold_pct));
    char *out = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return out;
}

static int fit_common(preset pr, const mp_fit_input *in, mp_params *p, void **state, mp_error *e)
{
    fit_opts o;
    int rc = read_params(pr, in->task, p, &o, e);
    if (rc)
        return rc;
    nn_state *s = calloc(1, sizeof *s);
    float *X = NULL, *Y = NULL, *rec = NULL;
    double *scores = NULL;
    mp_nn_history h = {0};
    if (!s)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    s->task = in->task;
    s->d = in->d;
    s->threshold = NAN;
    mp_nn_shape shape;
    if ((rc = input_shape(pr, in, o.shape_text, &shape, &s->hwc, e)))
        goto fail;
    size_t nout = outputs_for(in->task, in->nclasses, in->d);
    char spec[1024];
    if (o.layers) {
        snprintf(spec, sizeof spec, "%s", o.layers);
    } else if (preset_spec(pr, shape, in->task, nout, o.hidden, spec, sizeof spec)) {
        rc = mp_error_set(e, MP_EINVAL, "%s: cannot build the network", preset_names[pr]);
        goto fail;
    }
    if ((rc = mp_nn_net_build(spec, shape, in->seed, &s->net, e)))
        goto fail;
    if ((rc = check_head(s->net, in->task, nout, e)))
        goto fail;

    /* Global input normalisation from the training rows. */
    size_t n = in->n, d = in->d;
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n * d; i++) {
        sum += in->X[i];
        sq += in->X[i] * in->X[i];
    }
    double cnt = (n && d) ? (double)n * (double)d : 1.0, mean = sum / cnt, var = sq / cnt - mean * mean;
    s->in_mean = (float)mean;
    s->in_std = var > 1e-12 ? (float)sqrt(var) : 1.0f;

    /* Anomaly detection holds out its own validation rows: their scores
     * choose the threshold. */
    size_t ntrain = n, nhold = 0;
    size_t *order = NULL;
    if (in->task == MP_TASK_ANOMALY && o.t.validation_split > 0 && n >= 2) {
        nhold = (size_t)floor(o.t.validation_split * (double)n);
        if (nhold == 0)
            nhold = 1;
        ntrain = n - nhold;
    }
    X = malloc(n * d * sizeof *X);
    if (!X) {
        rc = mp_error_set(e, MP_ENOMEM, "out of memory for %zu x %zu training values", n, d);
        goto fail;
    }
    if (nhold) {
        order = malloc(n * sizeof *order);
        if (!order) {
            rc = mp_error_set(e, MP_ENOMEM, "out of memory");
            goto fail;
        }
        mp_rng rng;
        mp_rng_seed(&rng, in->seed ^ 0xa5a5a5a5ULL);
        for (size_t i = 0; i < n; i++)
            order[i] = i;
        mp_rng_shuffle(&rng, order, n);
        for (size_t i = 0; i < n; i++)
            to_float(s, in->X + order[i] * d, 1, X + i * d);
        free(order);
    } else {
        to_float(s, in->X, n, X);
    }
    if (in->task == MP_TASK_CLASSIFY) {
        if (!(Y = malloc(n * sizeof *Y))) {
            rc = mp_error_set(e, MP_ENOMEM, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < n; i++)
            Y[i] = (float)in->y[i];
    } else if (in->task == MP_TASK_REGRESS) {
        double ym = 0, yv = 0;
        for (size_t i = 0; i < n; i++)
            ym += in->y[i];
        ym /= (double)n;
        for (size_t i = 0; i < n; i++)
            yv += (in->y[i] - ym) * (in->y[i] - ym);
        yv /= (double)n;
        s->y_mean = ym;
        s->y_std = yv > 1e-24 ? sqrt(yv) : 1.0;
        if (!(Y = malloc(n * sizeof *Y))) {
            rc = mp_error_set(e, MP_ENOMEM, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < n; i++)
            Y[i] = (float)((in->y[i] - s->y_mean) / s->y_std);
    }
    observer_bridge bridge = {in->observer};
    if (in->observer && in->observer->fn) {
        o.t.on_progress = on_progress;
        o.t.on_epoch = on_epoch;
        o.t.ctx = &bridge;
    }
    o.t.seed = in->seed;
    mp_nn_train_opts t = o.t;
    /* The held-out rows choose the threshold; early stopping, if asked
     * for, watches a split of the remaining rows. */
    if (nhold && !t.patience)
        t.validation_split = 0;
    if ((rc = mp_nn_train(s->net, X, Y, ntrain, &t, &h, e)))
        goto fail;
    if (in->task == MP_TASK_ANOMALY) {
        /* Scores of the held-out rows, or of the training rows when there
         * are too few to hold any out. */
        const float *xs = nhold ? X + ntrain * d : X;
        size_t ns = nhold ? nhold : ntrain;
        rec = malloc(ns * d * sizeof *rec);
        scores = malloc(ns * sizeof *scores);
        if (!rec || !scores) {
            rc = mp_error_set(e, MP_ENOMEM, "out of memory");
            goto fail;
        }
        if ((rc = mp_nn_net_predict(s->net, xs, ns, rec, e)))
            goto fail;
        recon_scores(xs, rec, ns, d, scores);
        s->threshold = percentile(scores, ns, o.threshold_pct);
    }
    s->params_json = params_json(&o, s);
    s->fit_info = history_json(&h, mp_nn_net_count_params(s->net), s->threshold);
    if (!s->params_json || !s->fit_info) {
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        goto fail;
    }
    mp_nn_history_free(&h);
    free(X);
    free(Y);
    free(rec);
    free(scores);
    *state = s;
    return 0;
fail:
    mp_nn_history_free(&h);
    free(X);
    free(Y);
    free(rec);
    free(scores);
    state_free(s);
    return rc;
}

/* ---- predict ---- */

static int nn_predict(const void *state, const double *X, size_t n, size_t d, double *out,
                      mp_error *e)
{
    const nn_state *s = state;
    if (d != s->d)
        return mp_error_set(e, MP_EINVAL, "rows have %zu features, the network takes %zu", d, s->d);
    size_t nout = mp_nn_shape_size(mp_nn_net_out(s->net));
    size_t chunk = n < PREDICT_CHUNK ? n : PREDICT_CHUNK;
    float *x = malloc((chunk ? chunk : 1) * d * sizeof *x);
    float *y = malloc((chunk ? chunk : 1) * nout * sizeof *y);
    double *sc = s->task == MP_TASK_ANOMALY ? malloc((chunk ? chunk : 1) * sizeof *sc) : NULL;
    int rc = 0;
    if (!x || !y || (s->task == MP_TASK_ANOMALY && !sc)) {
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t r0 = 0; r0 < n; r0 += chunk) {
        size_t m = n - r0 < chunk ? n - r0 : chunk;
        to_float(s, X + r0 * d, m, x);
        if ((rc = mp_nn_net_predict(s->net, x, m, y, e)))
            goto done;
        if (s->task == MP_TASK_CLASSIFY) {
            for (size_t i = 0; i < m * nout; i++)
                out[r0 * nout + i] = y[i];
        } else if (s->task == MP_TASK_REGRESS) {
            for (size_t i = 0; i < m; i++)
                out[r0 + i] = (double)y[i] * s->y_std + s->y_mean;
        } else {
            recon_scores(x, y, m, d, sc);
            memcpy(out + r0, sc, m * sizeof *sc);
        }
    }
done:
    free(x);
    free(y);
    free(sc);
    return rc;
}

/* ---- files ---- */

static int describe(const void *state, mp_tensors *b, mp_error *e)
{
    const nn_state *s = state;
    char shape[64];
    int rc = mp_algo_write_meta(b, strdup(s->params_json), s->fit_info, "neural network", e);
    if (rc)
        return rc;
    if (mp_tensors_set_meta(b, "nn_spec", s->net->spec) ||
        mp_tensors_set_meta(b, "nn_input_shape", mp_nn_shape_str(s->net->in, shape, sizeof shape)) ||
        mp_tensors_set_meta(b, "nn_layout", s->hwc ? "hwc" : "chw"))
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    return 0;
}

static int save(const void *state, mp_tensors *b, mp_error *e)
{
    const nn_state *s = state;
    int rc = describe(state, b, e);
    if (rc)
        return rc;
    float norm[2] = {s->in_mean, s->in_std};
    int64_t two = 2, one = 1;
    if ((rc = mp_tensors_add(b, "nn.input_norm", MP_DT_F32, 1, &two, norm, e)))
        return rc;
    if (s->task == MP_TASK_REGRESS) {
        double yn[2] = {s->y_mean, s->y_std};
        if ((rc = mp_tensors_add(b, "nn.target_norm", MP_DT_F64, 1, &two, yn, e)))
            return rc;
    }
    if (s->task == MP_TASK_ANOMALY &&
        (rc = mp_tensors_add(b, "nn.threshold", MP_DT_F64, 1, &one, &s->threshold, e)))
        return rc;
    for (size_t i = 0; i < s->net->nlayers; i++) {
        const mp_nn_layer *l = &s->net->layers[i];
        for (size_t j = 0; j < l->nparams; j++) {
            char name[64];
            snprintf(name, sizeof name, "nn.%zu.%s", i + 1, l->params[j].name);
            if ((rc = mp_tensors_add(b, name, MP_DT_F32, l->params[j].ndim, l->params[j].shape,
                                     l->params[j].w, e)))
                return rc;
        }
    }
    return 0;
}

static int load(const mp_tensors *b, mp_task task, size_t d, size_t nclasses, void **state,
                mp_error *e)
{
    const char *spec = mp_tensors_meta(b, "nn_spec"), *shape_text = mp_tensors_meta(b, "nn_input_shape");
    const char *layout = mp_tensors_meta(b, "nn_layout"), *pj = mp_tensors_meta(b, "params");
    if (!spec || !shape_text || !layout || !pj)
        return mp_error_set(e, MP_EFORMAT, "a neural network needs metadata nn_spec, "
                                           "nn_input_shape, nn_layout and params");
    nn_state *s = calloc(1, sizeof *s);
    if (!s)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    s->task = task;
    s->d = d;
    s->threshold = NAN;
    s->hwc = !strcmp(layout, "hwc");
    const char *fi = mp_tensors_meta(b, "fit_info");
    s->params_json = strdup(pj);
    s->fit_info = fi ? strdup(fi) : NULL;
    mp_nn_shape shape;
    const mp_tensor *t;
    int rc;
    if (!s->params_json || (fi && !s->fit_info)) {
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        goto fail;
    }
    /* A spec or shape that does not build is a damaged file here, not a
     * user's mistake. */
    if ((rc = mp_nn_shape_parse(shape_text, &shape, e)) ||
        (rc = mp_nn_net_build(spec, shape, 0, &s->net, e)) ||
        (rc = check_head(s->net, task, outputs_for(task, nclasses, d), e))) {
        if (e)
            e->code = MP_EFORMAT;
        rc = MP_EFORMAT;
        goto fail;
    }
    if (mp_nn_shape_size(shape) != d || (s->hwc && shape.ndim != 3)) {
        rc = mp_error_set(e, MP_EFORMAT, "input shape %s does not match %zu features", shape_text, d);
        goto fail;
    }
    if ((rc = mp_tensors_expect(b, "nn.input_norm", MP_DT_F32, 1, (int64_t[]){2}, &t, e)))
        goto fail;
    s->in_mean = ((const float *)t->data)[0];
    s->in_std = ((const float *)t->data)[1];
    if (!isfinite(s->in_mean) || !(s->in_std > 0) || !isfinite(s->in_std)) {
        rc = mp_error_set(e, MP_EFORMAT, "nn.input_norm holds an invalid mean or deviation");
        goto fail;
    }
    if (task == MP_TASK_REGRESS) {
        if ((rc = mp_tensors_expect(b, "nn.target_norm", MP_DT_F64, 1, (int64_t[]){2}, &t, e)))
            goto fail;
        s->y_mean = ((const double *)t->data)[0];
        s->y_std = ((const double *)t->data)[1];
    }
    if (task == MP_TASK_ANOMALY) {
        if ((rc = mp_tensors_expect(b, "nn.threshold", MP_DT_F64, 1, (int64_t[]){1}, &t, e)))
            goto fail;
        s->threshold = ((const double *)t->data)[0];
    }
    for (size_t i = 0; i < s->net->nlayers; i++) {
        mp_nn_layer *l = &s->net->layers[i];
        for (size_t j = 0; j < l->nparams; j++) {
            char name[64];
            snprintf(name, sizeof name, "nn.%zu.%s", i + 1, l->params[j].name);
            if ((rc = mp_tensors_expect(b, name, MP_DT_F32, l->params[j].ndim, l->params[j].shape,
                                        &t, e)))
                goto fail;
            memcpy(l->params[j].w, t->data, l->params[j].n * sizeof(float));
        }
    }
    *state = s;
    return 0;
fail:
    state_free(s);
    return rc;
}

static double threshold(const void *state) { return ((const nn_state *)state)->threshold; }

#define PRESET_FIT(fn, pr)                                                                 \
    static int fn(const mp_fit_input *in, mp_params *p, void **state, mp_error *e)         \
    {                                                                                      \
        return fit_common(pr, in, p, state, e);                                            \
    }
PRESET_FIT(fit_mlp, P_MLP)
PRESET_FIT(fit_cnn, P_CNN)
PRESET_FIT(fit_lstm, P_LSTM)
PRESET_FIT(fit_gru, P_GRU)
PRESET_FIT(fit_autoencoder, P_AUTOENCODER)
PRESET_FIT(fit_nn, P_NN)

#define NN_ALGO(var, nm, fitfn, task_mask, thr)                                            \
    const mp_algo var = {                                                                  \
        .name = nm, .tasks = task_mask, .raw_categories = 0, .neural = 1,                  \
        .params = known_params, .fit = fitfn, .predict = nn_predict, .save = save,         \
        .describe = describe, .load = load, .destroy = state_free, .threshold = thr,       \
    };
NN_ALGO(mp_algo_mlp, "mlp", fit_mlp, MP_TASK_CLASSIFY | MP_TASK_REGRESS, NULL)
NN_ALGO(mp_algo_cnn, "cnn", fit_cnn, MP_TASK_CLASSIFY | MP_TASK_REGRESS, NULL)
NN_ALGO(mp_algo_lstm, "lstm", fit_lstm, MP_TASK_CLASSIFY | MP_TASK_REGRESS, NULL)
NN_ALGO(mp_algo_gru, "gru", fit_gru, MP_TASK_CLASSIFY | MP_TASK_REGRESS, NULL)
NN_ALGO(mp_algo_autoencoder, "autoencoder", fit_autoencoder, MP_TASK_ANOMALY, threshold)
NN_ALGO(mp_algo_nn, "nn", fit_nn, MP_TASK_CLASSIFY | MP_TASK_REGRESS, NULL)
