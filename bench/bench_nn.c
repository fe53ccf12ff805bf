/* mlpipe's side of `make bench-nn`: trains one of the benchmark's networks
 * on Fashion-MNIST with the library (mp_model_train, as `mlpipe train`
 * does) and prints one JSON document for bench/run-bench-nn: seconds per
 * training epoch (from the trainer's own epoch timings, data loading
 * excluded), inference images per second on the 10000 test images
 * (mp_model_predict), and test accuracy, or for the autoencoder the mean
 * squared reconstruction error on the test images.
 *
 * usage: bench_nn FASHION_DIR MODEL EPOCHS
 *   MODEL: mlp | cnn | autoencoder | lstm (the networks of
 *   bench/torch_side.py); batch 64, Adam 1e-3, seed 42. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/error.h"
#include "data/dataset.h"
#include "ml/model.h"
#include "ml/params.h"

typedef struct net_row {
    const char *model, *algorithm, *layers;
} net_row;

static const net_row nets[] = {
    {"mlp", "nn", "flatten dense(128) relu dense(10) softmax"},
    {"cnn", "nn", "conv2d(8,3) relu maxpool(2) conv2d(16,3) relu maxpool(2) flatten dense(10) softmax"},
    {"autoencoder", "autoencoder", "flatten dense(64) relu dense(784)"},
    {"lstm", "nn", "lstm(64) dense(10) softmax"},
};

typedef struct epochs_seen {
    double seconds[1000];
    size_t n;
} epochs_seen;

static void on_event(void *ctx, const mp_fit_event *ev)
{
    epochs_seen *s = ctx;
    if (ev->epoch_end && s->n < 1000) {
        s->seconds[s->n++] = ev->elapsed;
        fprintf(stderr, "bench_nn: epoch %zu: %.2f s, loss %.4f\n", ev->epoch, ev->elapsed, ev->loss);
    }
}

static int fail(const mp_error *e)
{
    fprintf(stderr, "bench_nn: %s\n", e->msg);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_nn FASHION_DIR MODEL EPOCHS\n");
        return 2;
    }
    const net_row *row = NULL;
    for (size_t i = 0; i < sizeof nets / sizeof nets[0]; i++)
        if (!strcmp(nets[i].model, argv[2]))
            row = &nets[i];
    long epochs = strtol(argv[3], NULL, 10);
    if (!row || epochs < 1) {
        fprintf(stderr, "bench_nn: unknown model '%s' or bad epoch count\n", argv[2]);
        return 2;
    }
    char tr[4096], trl[4096], te[4096], tel[4096], ep[32];
    snprintf(tr, sizeof tr, "%s/train-images-idx3-ubyte.gz", argv[1]);
    snprintf(trl, sizeof trl, "%s/train-labels-idx1-ubyte.gz", argv[1]);
    snprintf(te, sizeof te, "%s/t10k-images-idx3-ubyte.gz", argv[1]);
    snprintf(tel, sizeof tel, "%s/t10k-labels-idx1-ubyte.gz", argv[1]);
    snprintf(ep, sizeof ep, "%ld", epochs);
    mp_error e = {0};
    mp_dataset *train = NULL, *test = NULL;
    mp_load_opts o = {.labels = trl, .missing = MP_MISSING_ERROR};
    if (mp_dataset_load(tr, &o, &train, &e))
        return fail(&e);
    o.labels = tel;
    if (mp_dataset_load(te, &o, &test, &e))
        return fail(&e);
    mp_params params = {0};
    mp_params_set(&params, "layers", row->layers);
    mp_params_set(&params, "epochs", ep);
    mp_params_set(&params, "batch_size", "64");
    mp_params_set(&params, "learning_rate", "0.001");
    if (!strcmp(row->algorithm, "autoencoder"))
        mp_params_set(&params, "validation_split", "0");
    epochs_seen seen = {.n = 0};
    mp_fit_observer obs = {on_event, &seen};
    mp_train_opts to = {
        .algorithm = row->algorithm, .params = &params, .scale = -1,
        .missing = MP_MISSING_ERROR, .seed = 42, .observer = &obs,
    };
    mp_model *m = NULL;
    if (mp_model_train(train, NULL, 0, &to, &m, &e))
        return fail(&e);
    mp_predictions p;
    double t0 = mp_clock_now();
    if (mp_model_predict(m, test, NULL, 0, 0, &p, &e))
        return fail(&e);
    double infer = mp_clock_now() - t0;
    double value = 0;
    if (m->task == MP_TASK_ANOMALY) {
        for (size_t i = 0; i < p.n; i++)
            value += p.value[i];
        value /= (double)p.n;
    } else if (mp_model_score(m, test, NULL, 0, &value, &e)) {
        return fail(&e);
    }
    json_t *o2 = json_object(), *arr = json_array();
    for (size_t i = 0; i < seen.n; i++)
        json_array_append_new(arr, json_real(seen.seconds[i]));
    json_object_set_new(o2, "side", json_string("mlpipe"));
    json_object_set_new(o2, "model", json_string(row->model));
    json_object_set_new(o2, "layers", json_string(row->layers));
    json_object_set_new(o2, "epochs", json_integer(epochs));
    json_object_set_new(o2, "epoch_seconds", arr);
    json_object_set_new(o2, "infer_per_s", json_real((double)test->nrows / infer));
    json_object_set_new(o2, "metric", json_string(m->task == MP_TASK_ANOMALY ? "test_mse" : "test_accuracy"));
    json_object_set_new(o2, "value", json_real(value));
    char *s = json_dumps(o2, JSON_COMPACT);
    puts(s);
    free(s);
    json_decref(o2);
    mp_predictions_free(&p);
    mp_model_release(m);
    mp_params_free(&params);
    mp_dataset_destroy(train);
    mp_dataset_destroy(test);
    return 0;
}
