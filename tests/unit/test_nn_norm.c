/* Unit tests for dropout and batchnorm (src/nn/nn_dropout.c, nn_batchnorm.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "nn/layers.h"
#include "test.h"
#include "nn_gradcheck.h"

static mp_nn_shape shp(int ndim, size_t a, size_t b, size_t c)
{
    mp_nn_shape s = {ndim, {a, b, c}};
    return s;
}

/* Configures and initialises l as layer 3 with the given text. */
static int mk(mp_nn_layer *l, const mp_nn_layer_ops *ops, const char *text, const mp_nn_arg *args,
              size_t nargs, mp_nn_shape in, mp_error *e)
{
    memset(l, 0, sizeof *l);
    l->ops = ops;
    l->text = (char *)text;
    l->index = 3;
    l->in = in;
    mp_error_clear(e);
    int rc = ops->configure(l, args, nargs, e);
    if (rc < 0)
        return rc;
    mp_rng rng;
    mp_rng_seed(&rng, 1);
    return ops->init(l, &rng, e);
}

static mp_nn_arg num(double v)
{
    mp_nn_arg a = {NULL, NULL, v};
    return a;
}

static mp_nn_arg kv(const char *k, double v)
{
    mp_nn_arg a = {k, NULL, v};
    return a;
}

static mp_nn_arg word(const char *w)
{
    mp_nn_arg a = {NULL, w, 0};
    return a;
}

/* ---- dropout ---- */

static void test_dropout_inference_identity(void)
{
    mp_nn_layer l;
    mp_error e;
    mp_nn_arg a[1] = {num(0.5)};
    REQUIRE(mk(&l, &mp_nn_dropout_ops, "dropout(0.5)", a, 1, shp(2, 3, 4, 0), &e) == 0);
    CHECK(l.out.ndim == 2 && l.out.d[0] == 3 && l.out.d[1] == 4);
    CHECK(l.nparams == 0);
    mp_nn_run run = {0, NULL};
    CHECK(l.ops->workspace(&l, 5, &run) == 0);
    float x[60], y[60], dy[60], dx[60];
    for (int i = 0; i < 60; i++)
        x[i] = (float)i - 30.5f, dy[i] = (float)i * 0.25f;
    l.ops->forward(&l, x, y, 5, NULL, &run);
    CHECK(memcmp(x, y, sizeof x) == 0);
    l.ops->backward(&l, x, y, dy, dx, 5, NULL, &run);
    CHECK(memcmp(dx, dy, sizeof dx) == 0);
    mp_nn_layer_clear(&l);
}

static void dropout_mask(mp_nn_layer *l, uint64_t seed, size_t n, float *y, float *ws)
{
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = 1.0f + (float)(i % 7);
    mp_rng rng;
    mp_rng_seed(&rng, seed);
    mp_nn_run run = {1, &rng};
    l->ops->forward(l, x, y, 1, ws, &run);
    for (size_t i = 0; i < n; i++)
        y[i] /= x[i];
    free(x);
}

static void test_dropout_training(void)
{
    mp_nn_layer l;
    mp_error e;
    mp_nn_arg a[1] = {kv("p", 0.3)};
    const size_t n = 20001; /* odd: exercises the last half of a 64-bit draw */
    REQUIRE(mk(&l, &mp_nn_dropout_ops, "dropout(p=0.3)", a, 1, shp(1, n, 0, 0), &e) == 0);
    mp_nn_run run = {1, NULL};
    REQUIRE(l.ops->workspace(&l, 1, &run) == n);
    float *ws = calloc(n, sizeof *ws), *y1 = malloc(n * sizeof *y1), *y2 = malloc(n * sizeof *y2);
    float *y3 = malloc(n * sizeof *y3);
    REQUIRE(ws && y1 && y2 && y3);
    dropout_mask(&l, 42, n, y1, ws);
    size_t zeros = 0, scaled = 0, other = 0;
    const float keep = (float)(1.0 / 0.7);
    for (size_t i = 0; i < n; i++) {
        if (y1[i] == 0.0f)
            zeros++;
        else if (fabsf(y1[i] - keep) < 1e-6f)
            scaled++;
        else
            other++;
    }
    CHECK(other == 0);
    /* 0.3 * 20001 = 6000; the standard deviation is about 65. */
    CHECK(zeros > 5700 && zeros < 6300);
    CHECK(zeros + scaled == n);

    dropout_mask(&l, 42, n, y2, ws);
    CHECK(memcmp(y1, y2, n * sizeof *y1) == 0);
    dropout_mask(&l, 43, n, y3, ws);
    CHECK(memcmp(y1, y3, n * sizeof *y1) != 0);

    /* backward uses the forward's mask */
    float *dy = malloc(n * sizeof *dy), *dx = malloc(n * sizeof *dx);
    REQUIRE(dy && dx);
    for (size_t i = 0; i < n; i++)
        dy[i] = 2.0f;
    l.ops->backward(&l, NULL, NULL, dy, dx, 1, ws, &run);
    for (size_t i = 0; i < n; i++)
        if (dx[i] != 2.0f * ws[i] || (dx[i] == 0) != (y3[i] == 0)) {
            CHECK(dx[i] == 2.0f * ws[i]);
            CHECK((dx[i] == 0) == (y3[i] == 0));
            break;
        }
    free(dy);
    free(dx);
    free(ws);
    free(y1);
    free(y2);
    free(y3);
    mp_nn_layer_clear(&l);
}

static void test_dropout_zero_rate(void)
{
    mp_nn_layer l;
    mp_error e;
    mp_nn_arg a[1] = {num(0)};
    REQUIRE(mk(&l, &mp_nn_dropout_ops, "dropout(0)", a, 1, shp(1, 8, 0, 0), &e) == 0);
    mp_rng rng;
    mp_rng_seed(&rng, 5);
    mp_nn_run run = {1, &rng};
    CHECK(l.ops->workspace(&l, 2, &run) == 0);
    float x[16], y[16];
    for (int i = 0; i < 16; i++)
        x[i] = (float)i;
    l.ops->forward(&l, x, y, 2, NULL, &run);
    CHECK(memcmp(x, y, sizeof x) == 0);
    mp_nn_layer_clear(&l);
}

static void test_dropout_gradcheck(void)
{
    mp_nn_layer l;
    mp_error e;
    mp_nn_arg a[1] = {num(0.4)};
    REQUIRE(mk(&l, &mp_nn_dropout_ops, "dropout(0.4)", a, 1, shp(3, 2, 3, 3), &e) == 0);
    CHECK(nn_gradcheck(&l, 4, 1, 7, 200, 2e-2) == 0);
    CHECK(nn_gradcheck(&l, 4, 0, 7, 200, 2e-2) == 0);
    mp_nn_layer_clear(&l);
}

static void test_dropout_bad_args(void)
{
    mp_nn_layer l;
    mp_error e;
    mp_nn_arg one[1] = {num(1)};
    CHECK(mk(&l, &mp_nn_dropout_ops, "dropout(1)", one, 1, shp(1, 4, 0, 0), &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "layer 3 (dropout(1))");
    CHECK_STR_CONTAINS(e.msg, "[0, 1)");
    CHECK_STR_CONTAINS(e.msg, "dropout(p)");
    mp_nn_layer_clear(&l);

    mp_nn_arg neg[1] = {num(-0.1)};
    CHECK(mk(&l, &mp_nn_dropout_ops, "dropout(-0.1)", neg, 1, shp(1, 4, 0, 0), &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "layer 3 (dropout(-0.1))");
    CHECK_STR_CONTAINS(e.msg, "-0.1");
    mp_nn_layer_clear(&l);

    mp_nn_arg nan[1] = {num(NAN)};
    CHECK(mk(&l, &mp_nn_dropout_ops, "dropout(nan)", nan, 1, shp(1, 4, 0, 0), &e) == MP_EINVAL);
    mp_nn_layer_clear(&l);

    CHECK(mk(&l, &mp_nn_dropout_ops, "dropout", NULL, 0, shp(1, 4, 0, 0), &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "layer 3 (dropout)");
    CHECK_STR_CONTAINS(e.msg, "missing");
    mp_nn_layer_clear(&l);

    mp_nn_arg two[2] = {num(0.1), num(0.2)};
    CHECK(mk(&l, &mp_nn_dropout_ops, "dropout(0.1,0.2)", two, 2, shp(1, 4, 0, 0), &e) ==
          MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "layer 3 (dropout(0.1,0.2))");
    CHECK_STR_CONTAINS(e.msg, "too many");
    mp_nn_layer_clear(&l);

    mp_nn_arg w[1] = {word("half")};
    CHECK(mk(&l, &mp_nn_dropout_ops, "dropout(half)", w, 1, shp(1, 4, 0, 0), &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "'half'");
    mp_nn_layer_clear(&l);

    mp_nn_arg k[1] = {kv("rate", 0.5)};
    CHECK(mk(&l, &mp_nn_dropout_ops, "dropout(rate=0.5)", k, 1, shp(1, 4, 0, 0), &e) ==
          MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "unknown argument 'rate'");
    mp_nn_layer_clear(&l);
}

/* ---- batchnorm ---- */

static void fill(float *w, size_t n, mp_rng *rng, double lo, double hi)
{
    for (size_t i = 0; i < n; i++)
        w[i] = (float)(lo + (hi - lo) * mp_rng_uniform(rng));
}

static void bn_perturb(mp_nn_layer *l, uint64_t seed)
{
    mp_rng rng;
    mp_rng_seed(&rng, seed);
    fill(l->params[0].w, l->params[0].n, &rng, 0.5, 1.5);   /* gamma */
    fill(l->params[1].w, l->params[1].n, &rng, -0.5, 0.5);  /* beta */
    fill(l->params[2].w, l->params[2].n, &rng, -0.3, 0.3);  /* running_mean */
    fill(l->params[3].w, l->params[3].n, &rng, 0.2, 0.6);   /* running_var */
}

static void test_bn_params(void)
{
    mp_nn_layer l;
    mp_error e;
    REQUIRE(mk(&l, &mp_nn_batchnorm_ops, "batchnorm", NULL, 0, shp(3, 4, 5, 6), &e) == 0);
    CHECK(l.out.ndim == 3 && l.out.d[0] == 4 && l.out.d[1] == 5 && l.out.d[2] == 6);
    REQUIRE(l.nparams == 4);
    const char *names[4] = {"gamma", "beta", "running_mean", "running_var"};
    const float init[4] = {1, 0, 0, 1};
    for (int p = 0; p < 4; p++) {
        CHECK(strcmp(l.params[p].name, names[p]) == 0);
        CHECK(l.params[p].n == 4 && l.params[p].ndim == 1 && l.params[p].shape[0] == 4);
        CHECK(l.params[p].decay == 0);
        CHECK((l.params[p].g != NULL) == (p < 2));
        for (int i = 0; i < 4; i++)
            CHECK(l.params[p].w[i] == init[p]);
    }
    mp_nn_layer_clear(&l);

    /* T x F: one statistic per feature */
    REQUIRE(mk(&l, &mp_nn_batchnorm_ops, "batchnorm", NULL, 0, shp(2, 7, 3, 0), &e) == 0);
    CHECK(l.params[0].n == 3);
    mp_nn_layer_clear(&l);
    REQUIRE(mk(&l, &mp_nn_batchnorm_ops, "batchnorm", NULL, 0, shp(1, 9, 0, 0), &e) == 0);
    CHECK(l.params[0].n == 9);
    mp_nn_layer_clear(&l);
}

static void test_bn_gradcheck(void)
{
    struct {
        mp_nn_shape s;
        size_t b;
    } cases[] = {
        {{1, {5, 0, 0}}, 6},   /* BatchNorm1d */
        {{2, {3, 4, 0}}, 4},   /* per feature over batch and time */
        {{3, {3, 4, 5}}, 3},   /* BatchNorm2d, S = 20 (vectorised runs + tail) */
        {{3, {2, 3, 3}}, 2},   /* S = 9 */
        {{1, {4, 0, 0}}, 2},   /* the smallest batch with variance */
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        mp_nn_layer l;
        mp_error e;
        REQUIRE(mk(&l, &mp_nn_batchnorm_ops, "batchnorm", NULL, 0, cases[t].s, &e) == 0);
        bn_perturb(&l, 100 + t);
        int bad_train = nn_gradcheck(&l, cases[t].b, 1, 11 + t, 400, 2e-2);
        int bad_infer = nn_gradcheck(&l, cases[t].b, 0, 11 + t, 400, 2e-2);
        if (bad_train || bad_infer)
            fprintf(stderr, "batchnorm gradcheck case %zu failed\n", t);
        CHECK(bad_train == 0);
        CHECK(bad_infer == 0);
        mp_nn_layer_clear(&l);
    }
}

/* Hand-computed: two features over a batch of four.
 *   feature 0: 1 2 3 4  mean 2.5, biased var 1.25, unbiased 5/3
 *   feature 1: 0 0 2 2  mean 1,   biased var 1,    unbiased 4/3 */
static void test_bn_running_stats_1d(void)
{
    mp_nn_layer l;
    mp_error e;
    REQUIRE(mk(&l, &mp_nn_batchnorm_ops, "batchnorm", NULL, 0, shp(1, 2, 0, 0), &e) == 0);
    float x[8] = {1, 0, 2, 0, 3, 2, 4, 2}, y[8];
    mp_nn_run run = {1, NULL};
    float *ws = calloc(l.ops->workspace(&l, 4, &run), sizeof *ws);
    REQUIRE(ws);
    l.ops->forward(&l, x, y, 4, ws, &run);
    CHECK_NEAR(l.params[2].w[0], 0.25, 1e-6);
    CHECK_NEAR(l.params[2].w[1], 0.1, 1e-6);
    CHECK_NEAR(l.params[3].w[0], 0.9 + 0.1 * 5.0 / 3.0, 1e-6);
    CHECK_NEAR(l.params[3].w[1], 0.9 + 0.1 * 4.0 / 3.0, 1e-6);
    double s0 = 1 / sqrt(1.25 + 1e-5), s1 = 1 / sqrt(1 + 1e-5);
    for (int i = 0; i < 4; i++) {
        CHECK_NEAR(y[2 * i], (x[2 * i] - 2.5) * s0, 1e-5);
        CHECK_NEAR(y[2 * i + 1], (x[2 * i + 1] - 1) * s1, 1e-5);
    }
    /* a second step with the same batch: running = 0.9 * running + 0.1 * batch */
    l.ops->forward(&l, x, y, 4, ws, &run);
    CHECK_NEAR(l.params[2].w[0], 0.9 * 0.25 + 0.25, 1e-6);
    CHECK_NEAR(l.params[3].w[1], 0.9 * (0.9 + 0.4 / 3.0) + 0.4 / 3.0, 1e-6);

    /* inference uses the running statistics and leaves them alone */
    float rm0 = l.params[2].w[0], rv0 = l.params[3].w[0];
    l.params[0].w[0] = 2.0f;
    l.params[1].w[0] = 0.5f;
    mp_nn_run inf = {0, NULL};
    l.ops->forward(&l, x, y, 4, ws, &inf);
    for (int i = 0; i < 4; i++)
        CHECK_NEAR(y[2 * i], 2.0 * (x[2 * i] - rm0) / sqrt(rv0 + 1e-5) + 0.5, 1e-5);
    CHECK(l.params[2].w[0] == rm0 && l.params[3].w[0] == rv0);
    free(ws);
    mp_nn_layer_clear(&l);
}

/* Channel images with custom momentum and eps: C = 2, 1 x 2 maps, batch 2.
 *   channel 0 values: 1 3 | 5 7   mean 4, biased var 5, unbiased 20/3
 *   channel 1 values: 2 2 | 2 6   mean 3, biased var 3, unbiased 4 */
static void test_bn_running_stats_2d(void)
{
    mp_nn_layer l;
    mp_error e;
    mp_nn_arg a[2] = {kv("momentum", 0.5), kv("eps", 0.01)};
    REQUIRE(mk(&l, &mp_nn_batchnorm_ops, "batchnorm(momentum=0.5,eps=0.01)", a, 2,
               shp(3, 2, 1, 2), &e) == 0);
    float x[8] = {1, 3, 2, 2, 5, 7, 2, 6}, y[8];
    mp_nn_run run = {1, NULL};
    float *ws = calloc(l.ops->workspace(&l, 2, &run), sizeof *ws);
    REQUIRE(ws);
    l.ops->forward(&l, x, y, 2, ws, &run);
    CHECK_NEAR(l.params[2].w[0], 2.0, 1e-6);
    CHECK_NEAR(l.params[2].w[1], 1.5, 1e-6);
    CHECK_NEAR(l.params[3].w[0], 0.5 + 0.5 * 20.0 / 3.0, 1e-5);
    CHECK_NEAR(l.params[3].w[1], 0.5 + 0.5 * 4.0, 1e-5);
    CHECK_NEAR(y[0], (1 - 4) / sqrt(5.01), 1e-5);
    CHECK_NEAR(y[5], (7 - 4) / sqrt(5.01), 1e-5);
    CHECK_NEAR(y[7], (6 - 3) / sqrt(3.01), 1e-5);
    free(ws);
    mp_nn_layer_clear(&l);

    /* the same numbers as a T x F sequence (T = 2, F = 2) with positional args */
    mp_nn_arg p[2] = {num(0.5), num(0.01)};
    REQUIRE(mk(&l, &mp_nn_batchnorm_ops, "batchnorm(0.5,0.01)", p, 2, shp(2, 2, 2, 0), &e) == 0);
    float xs[8] = {1, 2, 3, 2, 5, 2, 7, 6};
    ws = calloc(l.ops->workspace(&l, 2, &run), sizeof *ws);
    REQUIRE(ws);
    l.ops->forward(&l, xs, y, 2, ws, &run);
    CHECK_NEAR(l.params[2].w[0], 2.0, 1e-6);
    CHECK_NEAR(l.params[2].w[1], 1.5, 1e-6);
    CHECK_NEAR(l.params[3].w[0], 0.5 + 0.5 * 20.0 / 3.0, 1e-5);
    CHECK_NEAR(l.params[3].w[1], 0.5 + 0.5 * 4.0, 1e-5);
    CHECK_NEAR(y[7], (6 - 3) / sqrt(3.01), 1e-5);
    free(ws);
    mp_nn_layer_clear(&l);
}

/* Training output has mean ~0 and variance ~1 per channel (gamma 1, beta 0). */
static void test_bn_normalises(void)
{
    mp_nn_layer l;
    mp_error e;
    const size_t C = 3, H = 11, W = 13, b = 8, n = b * C * H * W;
    REQUIRE(mk(&l, &mp_nn_batchnorm_ops, "batchnorm", NULL, 0, shp(3, C, H, W), &e) == 0);
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
    mp_nn_run run = {1, NULL};
    float *ws = calloc(l.ops->workspace(&l, b, &run), sizeof *ws);
    REQUIRE(x && y && ws);
    mp_rng rng;
    mp_rng_seed(&rng, 3);
    for (size_t i = 0; i < n; i++) {
        size_t c = (i / (H * W)) % C;
        x[i] = (float)(100.0 * (double)c + (1.0 + (double)c) * mp_rng_normal(&rng));
    }
    l.ops->forward(&l, x, y, b, ws, &run);
    for (size_t c = 0; c < C; c++) {
        double s = 0, ss = 0;
        for (size_t i = 0; i < b; i++)
            for (size_t j = 0; j < H * W; j++)
                s += y[(i * C + c) * H * W + j];
        double m = s / (double)(b * H * W);
        for (size_t i = 0; i < b; i++)
            for (size_t j = 0; j < H * W; j++) {
                double d = y[(i * C + c) * H * W + j] - m;
                ss += d * d;
            }
        CHECK_NEAR(m, 0, 1e-5);
        CHECK_NEAR(ss / (double)(b * H * W), 1, 1e-3);
        /* running mean moved a tenth of the way to ~100c */
        CHECK_NEAR(l.params[2].w[c], 10.0 * (double)c, 0.05);
    }
    free(x);
    free(y);
    free(ws);
    mp_nn_layer_clear(&l);
}

/* A batch with one value per channel: output is beta, running stats kept. */
static void test_bn_single_value(void)
{
    mp_nn_layer l;
    mp_error e;
    REQUIRE(mk(&l, &mp_nn_batchnorm_ops, "batchnorm", NULL, 0, shp(1, 3, 0, 0), &e) == 0);
    l.params[1].w[1] = 0.75f;
    float x[3] = {5, -2, 9}, y[3];
    mp_nn_run run = {1, NULL};
    float *ws = calloc(l.ops->workspace(&l, 1, &run), sizeof *ws);
    REQUIRE(ws);
    l.ops->forward(&l, x, y, 1, ws, &run);
    CHECK(y[0] == 0.0f && y[1] == 0.75f && y[2] == 0.0f);
    for (int i = 0; i < 3; i++)
        CHECK(l.params[2].w[i] == 0.0f && l.params[3].w[i] == 1.0f);
    free(ws);
    mp_nn_layer_clear(&l);
}

/* Inference writes nothing to the layer, and its workspace is small. */
static void test_bn_inference_readonly(void)
{
    mp_nn_layer l;
    mp_error e;
    REQUIRE(mk(&l, &mp_nn_batchnorm_ops, "batchnorm", NULL, 0, shp(2, 5, 4, 0), &e) == 0);
    bn_perturb(&l, 9);
    mp_nn_run inf = {0, NULL}, tr = {1, NULL};
    CHECK(l.ops->workspace(&l, 10, &inf) == 5 * 4);
    CHECK(l.ops->workspace(&l, 10, &tr) == 5 * 4 + 10 * 20);
    float before[4][4];
    for (int p = 0; p < 4; p++)
        memcpy(before[p], l.params[p].w, 4 * sizeof(float));
    float x[200], y[200];
    mp_rng rng;
    mp_rng_seed(&rng, 2);
    fill(x, 200, &rng, -3, 3);
    float ws[20];
    l.ops->forward(&l, x, y, 10, ws, &inf);
    for (int p = 0; p < 4; p++)
        CHECK(memcmp(before[p], l.params[p].w, 4 * sizeof(float)) == 0);
    for (int i = 0; i < 200; i++) {
        int f = i % 4;
        double ref = l.params[0].w[f] * (x[i] - l.params[2].w[f]) /
                         sqrt(l.params[3].w[f] + 1e-5) +
                     l.params[1].w[f];
        if (fabs(y[i] - ref) > 1e-5) {
            CHECK_NEAR(y[i], ref, 1e-5);
            break;
        }
    }
    mp_nn_layer_clear(&l);
}

static void test_bn_bad_args(void)
{
    mp_nn_layer l;
    mp_error e;
    mp_nn_arg m[1] = {kv("momentum", 2)};
    CHECK(mk(&l, &mp_nn_batchnorm_ops, "batchnorm(momentum=2)", m, 1, shp(1, 4, 0, 0), &e) ==
          MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "layer 3 (batchnorm(momentum=2))");
    CHECK_STR_CONTAINS(e.msg, "momentum");
    CHECK_STR_CONTAINS(e.msg, "batchnorm[(momentum=0.1, eps=1e-5)]");
    mp_nn_layer_clear(&l);

    mp_nn_arg ep[1] = {kv("eps", 0)};
    CHECK(mk(&l, &mp_nn_batchnorm_ops, "batchnorm(eps=0)", ep, 1, shp(1, 4, 0, 0), &e) ==
          MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "eps");
    mp_nn_layer_clear(&l);

    mp_nn_arg three[3] = {num(0.1), num(1e-5), num(3)};
    CHECK(mk(&l, &mp_nn_batchnorm_ops, "batchnorm(0.1,1e-5,3)", three, 3, shp(1, 4, 0, 0), &e) ==
          MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "layer 3 (batchnorm(0.1,1e-5,3))");
    CHECK_STR_CONTAINS(e.msg, "too many");
    mp_nn_layer_clear(&l);

    mp_nn_arg dup[2] = {num(0.2), kv("momentum", 0.3)};
    CHECK(mk(&l, &mp_nn_batchnorm_ops, "batchnorm(0.2,momentum=0.3)", dup, 2, shp(1, 4, 0, 0),
             &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "twice");
    mp_nn_layer_clear(&l);

    mp_nn_arg unk[1] = {kv("affine", 0)};
    CHECK(mk(&l, &mp_nn_batchnorm_ops, "batchnorm(affine=0)", unk, 1, shp(1, 4, 0, 0), &e) ==
          MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "unknown argument 'affine'");
    mp_nn_layer_clear(&l);

    mp_nn_arg w[1] = {word("fast")};
    CHECK(mk(&l, &mp_nn_batchnorm_ops, "batchnorm(fast)", w, 1, shp(1, 4, 0, 0), &e) ==
          MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "'fast'");
    mp_nn_layer_clear(&l);
}

int main(void)
{
    RUN(test_dropout_inference_identity);
    RUN(test_dropout_training);
    RUN(test_dropout_zero_rate);
    RUN(test_dropout_gradcheck);
    RUN(test_dropout_bad_args);
    RUN(test_bn_params);
    RUN(test_bn_gradcheck);
    RUN(test_bn_running_stats_1d);
    RUN(test_bn_running_stats_2d);
    RUN(test_bn_normalises);
    RUN(test_bn_single_value);
    RUN(test_bn_inference_readonly);
    RUN(test_bn_bad_args);
    return TEST_SUMMARY();
}
