/* The neural-network estimators (src/ml/neural_net.c): every preset fits,
 * and a state saved and loaded back predicts bit for bit the same; bad
 * model files are refused; parameters are validated. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "ml/algo.h"
#include "test.h"

#define N 120

/* Three classes of 4x4 "images" (a bright row band) as rows of 16. */
static void images(double *X, double *y, uint64_t seed)
{
    mp_rng r;
    mp_rng_seed(&r, seed);
    for (size_t i = 0; i < N; i++) {
        int c = (int)(i % 3);
        for (size_t p = 0; p < 16; p++)
            X[i * 16 + p] = ((int)(p / 4) == c ? 200.0 : 40.0) + 30.0 * mp_rng_normal(&r);
        y[i] = c;
    }
}

typedef struct fitted {
    void *state;
    int rc;
    mp_error e;
} fitted;

static fitted fit(const mp_algo *a, mp_task task, const double *X, size_t d, const double *y,
                  size_t k, const size_t *shape, size_t nshape, const char *const *params)
{
    fitted f = {0};
    mp_params p = {0};
    for (int i = 0; params && params[i]; i++)
        mp_params_add(&p, params[i], &f.e);
    mp_fit_input in = {.task = task, .X = X, .n = N, .d = d, .y = y, .nclasses = k, .seed = 7,
                       .nshape = nshape};
    if (shape)
        memcpy(in.shape, shape, nshape * sizeof *shape);
    f.rc = a->fit(&in, &p, &f.state, &f.e);
    if (!f.rc)
        f.rc = mp_params_check_unused(&p, a->name, a->params, &f.e);
    mp_params_free(&p);
    return f;
}

/* Saves, loads, and compares predictions bit for bit. */
static void round_trip(const mp_algo *a, mp_task task, void *state, const double *X, size_t d,
                       size_t k)
{
    size_t nout = task == MP_TASK_CLASSIFY ? k : 1;
    double *p1 = malloc(N * nout * sizeof *p1), *p2 = malloc(N * nout * sizeof *p2);
    mp_error e = {0};
    REQUIRE(a->predict(state, X, N, d, p1, &e) == 0);
    mp_tensors b = {0};
    REQUIRE(a->save(state, &b, &e) == 0);
    void *back = NULL;
    int rc = a->load(&b, task, d, task == MP_TASK_CLASSIFY ? k : 0, &back, &e);
    CHECK(rc == 0);
    if (rc == 0) {
        CHECK(a->predict(back, X, N, d, p2, &e) == 0);
        CHECK(memcmp(p1, p2, N * nout * sizeof *p1) == 0);
        if (a->threshold)
            CHECK(a->threshold(back) == a->threshold(state));
        a->destroy(back);
    }
    mp_tensors_free(&b);
    free(p1);
    free(p2);
}

static double accuracy(const mp_algo *a, void *state, const double *X, size_t d, const double *y,
                       size_t k)
{
    double *p = malloc(N * k * sizeof *p);
    mp_error e = {0};
    a->predict(state, X, N, d, p, &e);
    size_t ok = 0;
    for (size_t i = 0; i < N; i++) {
        size_t best = 0;
        for (size_t c = 1; c < k; c++)
            if (p[i * k + c] > p[i * k + best])
                best = c;
        ok += best == (size_t)y[i];
    }
    free(p);
    return (double)ok / N;
}

static void test_presets_on_images(void)
{
    double X[N * 16], y[N];
    images(X, y, 1);
    size_t shape[2] = {4, 4};
    const char *const params[] = {"epochs=30", "learning_rate=0.01", "hidden=16", NULL};
    const mp_algo *algos[] = {&mp_algo_mlp, &mp_algo_cnn, &mp_algo_lstm, &mp_algo_gru};
    for (size_t i = 0; i < 4; i++) {
        const char *const cnn_params[] = {"epochs=30", "learning_rate=0.01",
                                          "layers=conv2d(4,3,padding=1) relu maxpool(2) flatten dense(3) softmax",
                                          NULL};
        fitted f = fit(algos[i], MP_TASK_CLASSIFY, X, 16, y, 3, shape, 2,
                       algos[i] == &mp_algo_cnn ? cnn_params : params);
        if (f.rc)
            fprintf(stderr, "%s: %s\n", algos[i]->name, f.e.msg);
        REQUIRE(f.rc == 0);
        double acc = accuracy(algos[i], f.state, X, 16, y, 3);
        if (acc < 0.95)
            fprintf(stderr, "%s: accuracy %g\n", algos[i]->name, acc);
        CHECK(acc >= 0.95);
        round_trip(algos[i], MP_TASK_CLASSIFY, f.state, X, 16, 3);
        algos[i]->destroy(f.state);
    }
}

static void test_regression_in_original_units(void)
{
    double X[N * 2], y[N];
    for (size_t i = 0; i < N; i++) {
        X[i * 2] = (double)i / N;
        X[i * 2 + 1] = (double)(i % 7) / 7.0;
        y[i] = 5000.0 + 2000.0 * X[i * 2] - 700.0 * X[i * 2 + 1];
    }
    const char *const params[] = {"epochs=300", "learning_rate=0.01", NULL};
    fitted f = fit(&mp_algo_mlp, MP_TASK_REGRESS, X, 2, y, 0, NULL, 0, params);
    REQUIRE(f.rc == 0);
    double p[N];
    mp_error e = {0};
    REQUIRE(mp_algo_mlp.predict(f.state, X, N, 2, p, &e) == 0);
    double worst = 0;
    for (size_t i = 0; i < N; i++)
        worst = fmax(worst, fabs(p[i] - y[i]));
    if (worst >= 60)
        fprintf(stderr, "worst regression error %g\n", worst);
    CHECK(worst < 60); /* targets span 5000 +- 1000 */
    round_trip(&mp_algo_mlp, MP_TASK_REGRESS, f.state, X, 2, 0);
    mp_algo_mlp.destroy(f.state);
}

static void test_autoencoder_scores_outliers_higher(void)
{
    double X[N * 3];
    mp_rng r;
    mp_rng_seed(&r, 3);
    for (size_t i = 0; i < N; i++) {
        double a = mp_rng_normal(&r);
        X[i * 3] = a;
        X[i * 3 + 1] = 2 * a;
        X[i * 3 + 2] = -a;
    }
    const char *const params[] = {"epochs=200", "learning_rate=0.01", "hidden=1",
                                  "threshold_percentile=95", NULL};
    fitted f = fit(&mp_algo_autoencoder, MP_TASK_ANOMALY, X, 3, NULL, 0, NULL, 0, params);
    if (f.rc)
        fprintf(stderr, "%s\n", f.e.msg);
    REQUIRE(f.rc == 0);
    double thr = mp_algo_autoencoder.threshold(f.state);
    CHECK(isfinite(thr) && thr > 0);
    double odd[3] = {1.0, -2.0, 1.0}, fine[3] = {1.0, 2.0, -1.0}, s_odd, s_fine;
    mp_error e = {0};
    REQUIRE(mp_algo_autoencoder.predict(f.state, odd, 1, 3, &s_odd, &e) == 0);
    REQUIRE(mp_algo_autoencoder.predict(f.state, fine, 1, 3, &s_fine, &e) == 0);
    CHECK(s_odd > thr);
    CHECK(s_fine < thr);
    CHECK(s_odd > 10 * s_fine);
    round_trip(&mp_algo_autoencoder, MP_TASK_ANOMALY, f.state, X, 3, 0);
    mp_algo_autoencoder.destroy(f.state);
}

static void test_bad_model_files_refused(void)
{
    double X[N * 16], y[N];
    images(X, y, 2);
    const char *const params[] = {"epochs=1", "hidden=8", NULL};
    fitted f = fit(&mp_algo_mlp, MP_TASK_CLASSIFY, X, 16, y, 3, NULL, 0, params);
    REQUIRE(f.rc == 0);
    mp_tensors b = {0};
    mp_error e = {0};
    REQUIRE(mp_algo_mlp.save(f.state, &b, &e) == 0);
    void *back = NULL;
    /* wrong feature count, wrong class count */
    CHECK(mp_algo_mlp.load(&b, MP_TASK_CLASSIFY, 15, 3, &back, &e) == MP_EFORMAT);
    CHECK(mp_algo_mlp.load(&b, MP_TASK_CLASSIFY, 16, 4, &back, &e) == MP_EFORMAT);
    /* a weight of the wrong shape */
    for (size_t i = 0; i < b.n; i++)
        if (!strcmp(b.t[i].name, "nn.1.weight"))
            b.t[i].shape[0] = 7;
    CHECK(mp_algo_mlp.load(&b, MP_TASK_CLASSIFY, 16, 3, &back, &e) == MP_EFORMAT);
    CHECK_STR_CONTAINS(e.msg, "nn.1.weight");
    mp_tensors_free(&b);
    /* a spec that no longer parses */
    REQUIRE(mp_algo_mlp.save(f.state, &b, &e) == 0);
    mp_tensors_set_meta(&b, "nn_spec", "dense(8) wobble");
    CHECK(mp_algo_mlp.load(&b, MP_TASK_CLASSIFY, 16, 3, &back, &e) != 0);
    CHECK_STR_CONTAINS(e.msg, "wobble");
    mp_tensors_free(&b);
    mp_algo_mlp.destroy(f.state);
}

static void test_parameters_validated(void)
{
    double X[N * 16], y[N];
    images(X, y, 4);
    const char *const bad1[] = {"epochs=0", NULL};
    fitted f = fit(&mp_algo_mlp, MP_TASK_CLASSIFY, X, 16, y, 3, NULL, 0, bad1);
    CHECK(f.rc == MP_EINVAL);
    CHECK_STR_CONTAINS(f.e.msg, "epochs");
    const char *const bad2[] = {"optimizer=lbfgs", NULL};
    f = fit(&mp_algo_mlp, MP_TASK_CLASSIFY, X, 16, y, 3, NULL, 0, bad2);
    CHECK(f.rc == MP_EINVAL);
    const char *const bad3[] = {"input_shape=2x2x2", NULL};
    f = fit(&mp_algo_mlp, MP_TASK_CLASSIFY, X, 16, y, 3, NULL, 0, bad3);
    CHECK(f.rc == MP_EINVAL);
    CHECK_STR_CONTAINS(f.e.msg, "holds 8 values but the rows have 16 features");
    const char *const bad4[] = {"layers=dense(3)", NULL};
    f = fit(&mp_algo_nn, MP_TASK_CLASSIFY, X, 16, y, 3, NULL, 0, bad4);
    CHECK(f.rc == MP_EINVAL);
    CHECK_STR_CONTAINS(f.e.msg, "softmax");
    f = fit(&mp_algo_nn, MP_TASK_CLASSIFY, X, 16, y, 3, NULL, 0, NULL);
    CHECK(f.rc == MP_EINVAL);
    CHECK_STR_CONTAINS(f.e.msg, "layers");
    const char *const bad5[] = {"frobs=3", "epochs=1", NULL};
    f = fit(&mp_algo_mlp, MP_TASK_CLASSIFY, X, 16, y, 3, NULL, 0, bad5);
    CHECK(f.rc == MP_EINVAL);
    CHECK_STR_CONTAINS(f.e.msg, "frobs");
    if (f.state)
        mp_algo_mlp.destroy(f.state);
}

int main(void)
{
    RUN(test_presets_on_images);
    RUN(test_regression_in_original_units);
    RUN(test_autoencoder_scores_outliers_higher);
    RUN(test_bad_model_files_refused);
    RUN(test_parameters_validated);
    return TEST_SUMMARY();
}
