/* Training: losses and optimizer steps against hand-computed numbers, then
 * whole runs that must reach known answers (XOR, separable blobs, a linear
 * regression's coefficients, an autoencoder), early stopping restoring the
 * best epoch's weights, bit-for-bit reproducibility, callbacks, and every
 * rejected option with its message. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "nn/net.h"
#include "nn/nn_loss.h"
#include "nn/nn_optim.h"
#include "nn/train.h"
#include "test.h"

static mp_nn_shape shape1(size_t a) { return (mp_nn_shape){1, {a, 0, 0}}; }

static void test_losses_by_hand(void)
{
    /* cross-entropy: logits [1,2,3] class 2, logits [0,0,0] class 0 */
    const float z[6] = {1, 2, 3, 0, 0, 0};
    const float p[6] = {0.09003057f, 0.24472847f, 0.66524096f, 1.0f / 3, 1.0f / 3, 1.0f / 3};
    const float y[2] = {2, 0};
    float g[6];
    CHECK_NEAR(mp_nn_loss_ce(z, p, y, 2, 3, g), 0.4076059644443806 + 1.0986122886681098, 1e-6);
    const float want_ce[6] = {0.04501529f, 0.12236424f, -0.16737952f,
                              -1.0f / 3, 1.0f / 6, 1.0f / 6};
    for (int i = 0; i < 6; i++)
        CHECK_NEAR(g[i], want_ce[i], 1e-7);
    CHECK_NEAR(mp_nn_loss_ce(z, p, y, 2, 3, NULL), 1.5062182531124904, 1e-6);
    /* a logit far from the target class: the loss stays finite and exact */
    const float zbig[2] = {1000, 0}, pbig[2] = {1, 0}, ybig[1] = {1};
    CHECK_NEAR(mp_nn_loss_ce(zbig, pbig, ybig, 1, 2, g), 1000, 1e-9);
    CHECK_NEAR(g[0], 1, 0);
    CHECK_NEAR(g[1], -1, 0);

    /* binary cross-entropy: b = 2, k = 2 */
    const float bz[4] = {0, 2, -3, 50};
    const float bs[4] = {0.5f, 0.88079708f, 0.04742587f, 1.0f};
    const float bt[4] = {1, 0, 0.5f, 1};
    CHECK_NEAR(mp_nn_loss_bce(bz, bs, bt, 2, 2, g), 2.18433127158833, 1e-6);
    const float want_bce[4] = {-0.125f, 0.22019927f, -0.11314353f, 0};
    for (int i = 0; i < 4; i++)
        CHECK_NEAR(g[i], want_bce[i], 1e-7);

    /* squared error: per sample the mean over outputs, gradient of the mean
     * over all b*k elements (PyTorch's MSELoss) */
    const float out[4] = {1, 2, 3, 4}, t[4] = {0, 2, 5, 3};
    CHECK_NEAR(mp_nn_loss_mse(out, t, 2, 2, g), 3.0, 1e-12);
    const float want_mse[4] = {0.5f, 0, -1, 0.5f};
    for (int i = 0; i < 4; i++)
        CHECK_NEAR(g[i], want_mse[i], 1e-7);

    const float pr[6] = {0.2f, 0.5f, 0.3f, 0.6f, 0.2f, 0.2f}, cls[2] = {1, 2};
    CHECK(mp_nn_count_correct(pr, cls, 2, 3) == 1);
}

static void test_adam_two_steps(void)
{
    /* six values, so that both the 4-wide and the scalar path are used:
     * the pattern (1, -2) repeats with gradients (0.5, -0.1) then (0.2, 0.3) */
    float w[6], g[6], wd_w[1] = {1.0f}, wd_g[1];
    for (int i = 0; i < 6; i++)
        w[i] = i % 2 ? -2.0f : 1.0f;
    mp_nn_param p = {"weight", w, g, 6, 1, {6}, 0};
    mp_nn_param q = {"decayed", wd_w, wd_g, 1, 1, {1}, 1};
    mp_nn_param buffer = {"running", wd_w, NULL, 1, 1, {1}, 0};
    mp_nn_param *ps[3] = {&p, &buffer, &q};
    mp_nn_optim o;
    mp_error e = {0};
    REQUIRE(mp_nn_optim_init(&o, MP_NN_OPT_ADAM, ps, 3, 0.1, 0, 0.1, &e) == 0);
    CHECK(o.n == 2); /* the buffer is not trained */
    /* p has decay 0, so weight_decay 0.1 must not touch it */
    for (int i = 0; i < 6; i++)
        g[i] = i % 2 ? -0.1f : 0.5f;
    wd_g[0] = 0.5f;
    mp_nn_optim_step(&o);
    for (int i = 0; i < 6; i++)
        CHECK_NEAR(w[i], i % 2 ? -1.90000001 : 0.900000002, 1e-6);
    CHECK_NEAR(wd_w[0], 0.9000000016666666, 1e-6);
    for (int i = 0; i < 6; i++)
        g[i] = i % 2 ? 0.3f : 0.2f;
    wd_g[0] = 0.2f;
    mp_nn_optim_step(&o);
    for (int i = 0; i < 6; i++)
        CHECK_NEAR(w[i], i % 2 ? -1.9494189911200654 : 0.8101424839029282, 1e-6);
    CHECK_NEAR(wd_w[0], 0.8072814605072346, 1e-6);
    /* the vector and the scalar path agree bit for bit */
    CHECK(w[0] == w[4] && w[1] == w[5]);
    CHECK(o.t == 2);
    mp_nn_optim_free(&o);
}

static void test_sgd_momentum_two_steps(void)
{
    float w[1] = {1}, g[1], b[1] = {1}, gb[1];
    mp_nn_param pw = {"weight", w, g, 1, 1, {1}, 1}, pb = {"bias", b, gb, 1, 1, {1}, 0};
    mp_nn_param *ps[2] = {&pw, &pb};
    mp_nn_optim o;
    mp_error e = {0};
    REQUIRE(mp_nn_optim_init(&o, MP_NN_OPT_SGD, ps, 2, 0.1, 0.9, 0.01, &e) == 0);
    g[0] = gb[0] = 0.5f;
    mp_nn_optim_step(&o);
    CHECK_NEAR(w[0], 0.949, 1e-7); /* buf = 0.5 + 0.01 */
    CHECK_NEAR(b[0], 0.95, 1e-7);
    g[0] = gb[0] = 0.2f;
    mp_nn_optim_step(&o);
    CHECK_NEAR(w[0], 0.882151, 1e-6); /* buf = 0.9 * 0.51 + 0.2 + 0.01 * 0.949 */
    CHECK_NEAR(b[0], 0.885, 1e-6);
    mp_nn_optim_free(&o);
    /* without momentum: plain steps */
    w[0] = 1;
    REQUIRE(mp_nn_optim_init(&o, MP_NN_OPT_SGD, ps, 1, 0.5, 0, 0, &e) == 0);
    g[0] = 0.2f;
    mp_nn_optim_step(&o);
    mp_nn_optim_step(&o);
    CHECK_NEAR(w[0], 0.8, 1e-7);
    mp_nn_optim_free(&o);
}

/* Predicted class of each of n samples. */
static void predict_classes(const mp_nn_net *net, const float *X, size_t n, size_t k, int *cls)
{
    float *p = malloc(n * k * sizeof *p);
    mp_error e = {0};
    if (mp_nn_net_predict(net, X, n, p, &e)) {
        fprintf(stderr, "predict: %s\n", e.msg);
        exit(2);
    }
    for (size_t i = 0; i < n; i++) {
        size_t best = 0;
        for (size_t j = 1; j < k; j++)
            if (p[i * k + j] > p[i * k + best])
                best = j;
        cls[i] = (int)best;
    }
    free(p);
}

static void test_xor(void)
{
    const float X[8] = {0, 0, 0, 1, 1, 0, 1, 1}, Y[4] = {0, 1, 1, 0};
    mp_nn_net *net = NULL;
    mp_error e = {0};
    REQUIRE(mp_nn_net_build("dense(8) tanh dense(2) softmax", shape1(2), 1, &net, &e) == 0);
    mp_nn_train_opts o;
    mp_nn_train_defaults(&o);
    o.epochs = 400;
    o.batch_size = 4;
    o.learning_rate = 0.05;
    mp_nn_history h;
    int rc = mp_nn_train(net, X, Y, 4, &o, &h, &e);
    REQUIRE(rc == 0);
    CHECK(h.n == 400 && h.best_epoch == 400 && !h.stopped_early);
    CHECK(h.ep[399].loss < 0.05);
    CHECK(h.ep[399].acc == 1.0);
    CHECK(h.ep[0].loss > 0.5);
    CHECK(isnan(h.ep[0].val_loss) && isnan(h.ep[0].val_acc));
    int cls[4];
    predict_classes(net, X, 4, 2, cls);
    for (int i = 0; i < 4; i++)
        CHECK(cls[i] == (int)Y[i]);
    mp_nn_history_free(&h);
    mp_nn_net_free(net);
}

/* Two Gaussian blobs, N(-2, 0.5^2) and N(+2, 0.5^2) per coordinate,
 * alternating classes. */
static void blobs(size_t n, uint64_t seed, float *X, float *Y)
{
    mp_rng r;
    mp_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        int c = (int)(i % 2);
        X[2 * i] = (float)((c ? 2 : -2) + 0.5 * mp_rng_normal(&r));
        X[2 * i + 1] = (float)((c ? 2 : -2) + 0.5 * mp_rng_normal(&r));
        Y[i] = (float)c;
    }
}

typedef struct calls {
    size_t epochs, progress, last_epoch, bad;
} calls;

static void on_progress(void *ctx, const mp_nn_progress *p)
{
    calls *c = ctx;
    c->progress++;
    if (p->done > p->total || p->total != 160 || p->epochs != 20 || !(p->loss >= 0) ||
        !(p->acc >= 0 && p->acc <= 1))
        c->bad++;
}

static void on_epoch(void *ctx, const mp_nn_epoch *ep)
{
    calls *c = ctx;
    c->epochs++;
    if (ep->epoch != c->last_epoch + 1 || !(ep->val_acc >= 0 && ep->val_acc <= 1) ||
        !(ep->seconds >= 0))
        c->bad++;
    c->last_epoch = ep->epoch;
}

static void test_blobs_with_validation_and_callbacks(void)
{
    enum { N = 200 };
    float X[2 * N], Y[N];
    blobs(N, 5, X, Y);
    mp_nn_net *net = NULL;
    mp_error e = {0};
    REQUIRE(mp_nn_net_build("dense(4) relu dense(2) softmax", shape1(2), 2, &net, &e) == 0);
    mp_nn_train_opts o;
    mp_nn_train_defaults(&o);
    o.epochs = 20;
    o.batch_size = 16;
    o.learning_rate = 0.01;
    o.validation_split = 0.2; /* 40 held out, 160 trained on: 10 batches */
    calls c = {0};
    o.on_progress = on_progress;
    o.on_epoch = on_epoch;
    o.ctx = &c;
    mp_nn_history h;
    REQUIRE(mp_nn_train(net, X, Y, N, &o, &h, &e) == 0);
    CHECK(c.epochs == 20 && c.last_epoch == 20 && c.bad == 0);
    CHECK(c.progress >= 20); /* at least the end of every epoch */
    CHECK(h.ep[19].acc == 1.0);
    CHECK(h.ep[19].val_acc == 1.0);
    CHECK(h.ep[19].val_loss < h.ep[0].val_loss);
    CHECK(h.ep[19].samples_per_s > 0);
    int cls[N];
    predict_classes(net, X, N, 2, cls);
    int right = 0;
    for (int i = 0; i < N; i++)
        right += cls[i] == (int)Y[i];
    CHECK(right == N);
    mp_nn_history_free(&h);
    mp_nn_net_free(net);

    /* the same problem as logistic regression with binary cross-entropy */
    REQUIRE(mp_nn_net_build("dense(1) sigmoid", shape1(2), 2, &net, &e) == 0);
    mp_nn_train_defaults(&o);
    o.loss = MP_NN_LOSS_BCE;
    o.epochs = 10;
    o.batch_size = 8;
    o.learning_rate = 0.05;
    REQUIRE(mp_nn_train(net, X, Y, N, &o, &h, &e) == 0);
    CHECK(isnan(h.ep[9].acc));
    CHECK(h.ep[9].loss < 0.05);
    float p[N];
    REQUIRE(mp_nn_net_predict(net, X, N, p, &e) == 0);
    right = 0;
    for (int i = 0; i < N; i++)
        right += (p[i] > 0.5f) == (Y[i] == 1);
    CHECK(right == N);
    mp_nn_history_free(&h);
    mp_nn_net_free(net);
}

static void test_linear_regression(void)
{
    enum { N = 256 };
    float X[3 * N], Y[N];
    mp_rng r;
    mp_rng_seed(&r, 17);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < 3; j++)
            X[3 * i + j] = (float)(2 * mp_rng_uniform(&r) - 1);
        Y[i] = 2 * X[3 * i] - 3 * X[3 * i + 1] + 0.5f * X[3 * i + 2] + 1;
    }
    mp_nn_net *net = NULL;
    mp_error e = {0};
    REQUIRE(mp_nn_net_build("dense(1)", shape1(3), 4, &net, &e) == 0);
    mp_nn_train_opts o;
    mp_nn_train_defaults(&o);
    o.loss = MP_NN_LOSS_MSE;
    o.optimizer = MP_NN_OPT_SGD;
    o.momentum = 0.9;
    o.learning_rate = 0.05;
    o.batch_size = 32;
    o.epochs = 60;
    mp_nn_history h;
    REQUIRE(mp_nn_train(net, X, Y, N, &o, &h, &e) == 0);
    const float *w = net->layers[0].params[0].w, *b = net->layers[0].params[1].w;
    CHECK_NEAR(w[0], 2, 1e-2);
    CHECK_NEAR(w[1], -3, 1e-2);
    CHECK_NEAR(w[2], 0.5, 1e-2);
    CHECK_NEAR(b[0], 1, 1e-2);
    CHECK(h.ep[59].loss < 1e-4);
    CHECK(isnan(h.ep[59].acc));
    mp_nn_history_free(&h);
    mp_nn_net_free(net);
}

static double mse_of(const mp_nn_net *net, const float *X, size_t n, size_t d)
{
    float *out = malloc(n * d * sizeof *out);
    mp_error e = {0};
    if (mp_nn_net_predict(net, X, n, out, &e))
        return NAN;
    double s = 0;
    for (size_t i = 0; i < n * d; i++)
        s += (double)(out[i] - X[i]) * (out[i] - X[i]);
    free(out);
    return s / (double)(n * d);
}

static void test_autoencoder(void)
{
    enum { N = 256, D = 8 };
    float X[N * D], A[D * 2];
    mp_rng r;
    mp_rng_seed(&r, 23);
    for (int i = 0; i < D * 2; i++)
        A[i] = (float)(2 * mp_rng_normal(&r));
    /* 8 values driven by 2 latent factors: a 3-unit bottleneck suffices */
    for (int i = 0; i < N; i++) {
        double u = mp_rng_normal(&r), v = mp_rng_normal(&r);
        for (int j = 0; j < D; j++)
            X[i * D + j] = (float)(1 / (1 + exp(-(A[2 * j] * u + A[2 * j + 1] * v))));
    }
    mp_nn_net *net = NULL;
    mp_error e = {0};
    REQUIRE(mp_nn_net_build("dense(3) tanh dense(8) sigmoid", shape1(D), 6, &net, &e) == 0);
    double before = mse_of(net, X, N, D);
    mp_nn_train_opts o;
    mp_nn_train_defaults(&o);
    o.loss = MP_NN_LOSS_MSE;
    o.epochs = 150;
    o.batch_size = 32;
    o.learning_rate = 0.01;
    mp_nn_history h;
    REQUIRE(mp_nn_train(net, X, NULL, N, &o, &h, &e) == 0);
    double after = mse_of(net, X, N, D);
    CHECK(after < 0.1 * before);
    CHECK(h.ep[149].loss < 0.2 * h.ep[0].loss);
    /* the history's MSE is the same quantity (mean over every element) */
    CHECK_NEAR(h.ep[149].loss, after, 0.2 * after);
    mp_nn_history_free(&h);

    /* binary cross-entropy works without targets too (inputs in [0, 1]) */
    o.loss = MP_NN_LOSS_BCE;
    o.epochs = 5;
    REQUIRE(mp_nn_train(net, X, NULL, N, &o, &h, &e) == 0);
    CHECK(h.n == 5 && h.ep[4].loss > 0);
    mp_nn_history_free(&h);
    mp_nn_net_free(net);
}

static void copy_weights(const mp_nn_net *net, float *dst, size_t *n)
{
    size_t k = 0;
    for (size_t i = 0; i < net->nlayers; i++)
        for (size_t p = 0; p < net->layers[i].nparams; p++)
            for (size_t j = 0; j < net->layers[i].params[p].n; j++)
                dst[k++] = net->layers[i].params[p].w[j];
    *n = k;
}

static void test_early_stopping_restores_best(void)
{
    /* A weak signal in strong noise: the validation loss first falls, then
     * rises as a wide network memorises the noise of the training part. */
    enum { N = 40, D = 5 };
    float X[N * D], Y[N];
    mp_rng r;
    mp_rng_seed(&r, 31);
    for (int i = 0; i < N * D; i++)
        X[i] = (float)mp_rng_normal(&r);
    for (int i = 0; i < N; i++)
        Y[i] = X[i * D] + (float)mp_rng_normal(&r);
    const char *spec = "dense(64) tanh dense(1)";
    mp_nn_net *net = NULL, *ref = NULL;
    mp_error e = {0};
    REQUIRE(mp_nn_net_build(spec, shape1(D), 8, &net, &e) == 0);
    mp_nn_train_opts o;
    mp_nn_train_defaults(&o);
    o.loss = MP_NN_LOSS_MSE;
    o.epochs = 300;
    o.batch_size = 8;
    o.learning_rate = 0.01;
    o.validation_split = 0.25;
    o.patience = 5;
    o.seed = 3;
    mp_nn_history h;
    REQUIRE(mp_nn_train(net, X, Y, N, &o, &h, &e) == 0);
    CHECK(h.stopped_early == 1);
    CHECK(h.n < 300);
    CHECK(h.n == h.best_epoch + 5);
    CHECK(h.best_epoch > 1);
    size_t argmin = 0;
    for (size_t i = 0; i < h.n; i++)
        if (h.ep[i].val_loss < h.ep[argmin].val_loss)
            argmin = i;
    CHECK(h.best_epoch == argmin + 1);
    CHECK(h.ep[h.n - 1].val_loss > h.ep[argmin].val_loss);
    fprintf(stderr, "early stopping: ran %zu epochs, best %zu\n", h.n, h.best_epoch);

    /* The kept weights are those after epoch best_epoch: training the same
     * network for exactly that many epochs gives them bit for bit. */
    REQUIRE(mp_nn_net_build(spec, shape1(D), 8, &ref, &e) == 0);
    o.epochs = h.best_epoch;
    o.patience = 0;
    mp_nn_history h2;
    REQUIRE(mp_nn_train(ref, X, Y, N, &o, &h2, &e) == 0);
    CHECK(h2.best_epoch == h.best_epoch && !h2.stopped_early);
    CHECK(h2.ep[h2.n - 1].val_loss == h.ep[argmin].val_loss);
    float wa[1024], wb[1024];
    size_t na, nb;
    copy_weights(net, wa, &na);
    copy_weights(ref, wb, &nb);
    CHECK(na == 5 * 64 + 64 + 64 + 1 && na == nb);
    CHECK(memcmp(wa, wb, na * sizeof *wa) == 0);
    mp_nn_history_free(&h);
    mp_nn_history_free(&h2);
    mp_nn_net_free(net);
    mp_nn_net_free(ref);
}

/* Builds and trains on the blobs with a given training seed; returns the
 * predictions (caller frees). */
static float *train_blobs(uint64_t seed)
{
    enum { N = 120 };
    float X[2 * N], Y[N];
    blobs(N, 7, X, Y);
    mp_nn_net *net = NULL;
    mp_error e = {0};
    if (mp_nn_net_build("dense(8) relu dense(2) softmax", shape1(2), 1, &net, &e))
        return NULL;
    mp_nn_train_opts o;
    mp_nn_train_defaults(&o);
    o.epochs = 3;
    o.batch_size = 10;
    o.validation_split = 0.1;
    o.seed = seed;
    float *p = malloc(2 * N * sizeof *p);
    if (mp_nn_train(net, X, Y, N, &o, NULL, &e) || mp_nn_net_predict(net, X, N, p, &e)) {
        free(p);
        p = NULL;
    }
    mp_nn_net_free(net);
    return p;
}

static void test_reproducible(void)
{
    float *a = train_blobs(11), *b = train_blobs(11), *c = train_blobs(12);
    REQUIRE(a && b && c);
    CHECK(memcmp(a, b, 2 * 120 * sizeof *a) == 0);
    CHECK(memcmp(a, c, 2 * 120 * sizeof *a) != 0);
    free(a);
    free(b);
    free(c);
}

/* Trains with one option changed; checks the error and that no weight
 * moved. */
static void rejected(mp_nn_net *net, const float *X, const float *Y, size_t n,
                     const mp_nn_train_opts *o, const char *want)
{
    float before[64], after[64];
    size_t nb, na;
    copy_weights(net, before, &nb);
    mp_error e = {0};
    mp_nn_history h;
    h.n = 99;
    CHECK(mp_nn_train(net, X, Y, n, o, &h, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, want);
    CHECK(h.n == 0 && h.ep == NULL);
    copy_weights(net, after, &na);
    CHECK(na == nb && memcmp(before, after, na * sizeof *after) == 0);
}

static void test_bad_options(void)
{
    const float X[8] = {0, 0, 0, 1, 1, 0, 1, 1}, Y[4] = {0, 1, 1, 0};
    mp_nn_net *net = NULL, *reg = NULL;
    mp_error e = {0};
    REQUIRE(mp_nn_net_build("dense(3) relu dense(2) softmax", shape1(2), 1, &net, &e) == 0);
    REQUIRE(mp_nn_net_build("dense(3) relu dense(2)", shape1(2), 1, &reg, &e) == 0);
    mp_nn_train_opts d, o;
    mp_nn_train_defaults(&d);
    CHECK(d.optimizer == MP_NN_OPT_ADAM && d.learning_rate == 1e-3 && d.epochs == 10 &&
          d.batch_size == 64 && d.validation_split == 0 && d.patience == 0);

    o = d, o.epochs = 0;
    rejected(net, X, Y, 4, &o, "epochs must be at least 1, got 0");
    o = d, o.batch_size = 0;
    rejected(net, X, Y, 4, &o, "batch_size must be from 1");
    o = d, o.learning_rate = 0;
    rejected(net, X, Y, 4, &o, "learning_rate must be a positive number, got 0");
    o = d, o.learning_rate = NAN;
    rejected(net, X, Y, 4, &o, "learning_rate must be a positive number, got nan");
    o = d, o.optimizer = MP_NN_OPT_SGD, o.momentum = 1;
    rejected(net, X, Y, 4, &o, "momentum must be in [0, 1), got 1");
    o = d, o.weight_decay = -1;
    rejected(net, X, Y, 4, &o, "weight_decay must be 0 or more, got -1");
    o = d, o.validation_split = 1.0;
    rejected(net, X, Y, 4, &o, "validation_split must be in [0, 0.9], got 1");
    o = d, o.validation_split = 0.5, o.patience = 0;
    rejected(net, X, Y, 1, &o, "validation_split 0.5 of 1 samples leaves none for training");
    o = d, o.patience = 3;
    rejected(net, X, Y, 4, &o, "patience (early stopping) watches the validation loss");
    o = d, o.loss = (mp_nn_loss)7;
    rejected(net, X, Y, 4, &o, "unknown loss 7");
    o = d;
    rejected(net, X, Y, 0, &o, "at least one sample");

    const float out_of_range[4] = {0, 1, 2, 0};
    rejected(net, X, out_of_range, 4, &d,
             "target of sample 2 (from 0): class index 2 is outside 0..1 (the softmax has 2 "
             "outputs)");
    const float fractional[4] = {0, 0.5f, 1, 0}, negative[4] = {0, 1, -1, 0};
    rejected(net, X, fractional, 4, &d, "class index 0.5 is outside 0..1");
    rejected(net, X, negative, 4, &d, "class index -1 is outside");
    const float nan_target[4] = {0, 1, NAN, 0};
    rejected(net, X, nan_target, 4, &d, "target of sample 2 (from 0) is nan, not a class index");
    const float nan_input[8] = {0, 0, 0, 1, 1, INFINITY, 1, 1};
    rejected(net, nan_input, Y, 4, &d, "input of sample 2 (from 0), value 1: inf is not a finite");
    rejected(net, X, NULL, 4, &d, "cross-entropy needs class targets");

    o = d, o.loss = MP_NN_LOSS_BCE;
    rejected(net, X, Y, 4, &o, "binary cross-entropy needs sigmoid as the last layer, got layer 4 "
                               "(softmax)");
    o = d;
    rejected(reg, X, Y, 4, &o, "cross-entropy needs softmax as the last layer, got layer 3 "
                               "(dense(2))");
    o = d, o.loss = MP_NN_LOSS_MSE;
    const float nan_reg[8] = {0, 0, 0, 0, 0, NAN, 0, 0};
    rejected(reg, X, nan_reg, 4, &o, "target of sample 2 (from 0), value 1: nan is not a finite");
    mp_nn_net *wide = NULL;
    REQUIRE(mp_nn_net_build("dense(3)", shape1(2), 1, &wide, &e) == 0);
    rejected(wide, X, NULL, 4, &o, "gives 3 values per sample for an input of 2");
    mp_nn_net_free(wide);
    mp_nn_net_free(net);
    mp_nn_net_free(reg);
}

static void test_divergence_is_reported(void)
{
    /* A learning rate this large sends a regression to infinity. */
    enum { N = 64 };
    float X[N], Y[N];
    for (int i = 0; i < N; i++)
        X[i] = (float)i, Y[i] = 1e6f * (float)i;
    mp_nn_net *net = NULL;
    mp_error e = {0};
    REQUIRE(mp_nn_net_build("dense(1)", shape1(1), 1, &net, &e) == 0);
    mp_nn_train_opts o;
    mp_nn_train_defaults(&o);
    o.loss = MP_NN_LOSS_MSE;
    o.optimizer = MP_NN_OPT_SGD;
    o.learning_rate = 10;
    o.epochs = 50;
    mp_nn_history h;
    CHECK(mp_nn_train(net, X, Y, N, &o, &h, &e) == MP_ENUMERIC);
    CHECK_STR_CONTAINS(e.msg, "training diverged in epoch");
    CHECK(h.n == 0 && h.ep == NULL);
    mp_nn_net_free(net);
}

int main(void)
{
    RUN(test_losses_by_hand);
    RUN(test_adam_two_steps);
    RUN(test_sgd_momentum_two_steps);
    RUN(test_xor);
    RUN(test_blobs_with_validation_and_callbacks);
    RUN(test_linear_regression);
    RUN(test_autoencoder);
    RUN(test_early_stopping_restores_best);
    RUN(test_reproducible);
    RUN(test_bad_options);
    RUN(test_divergence_is_reported);
    return TEST_SUMMARY();
}
