/* Unit tests for maxpool and avgpool (src/nn/nn_pool.c). */
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

/* Configures and initialises l as layer 2. */
static int mk(mp_nn_layer *l, const mp_nn_layer_ops *ops, const char *text, const mp_nn_arg *args,
              size_t nargs, mp_nn_shape in, mp_error *e)
{
    memset(l, 0, sizeof *l);
    l->ops = ops;
    l->text = (char *)text;
    l->index = 2;
    l->in = in;
    mp_error_clear(e);
    int rc = ops->configure(l, args, nargs, e);
    if (rc < 0)
        return rc;
    return ops->init(l, NULL, e);
}

static int mkpool(mp_nn_layer *l, const mp_nn_layer_ops *ops, size_t size, size_t stride,
                  mp_nn_shape in)
{
    mp_error e;
    char text[64];
    static char keep[8][64];
    static int slot;
    mp_nn_arg a[2] = {num((double)size), kv("stride", (double)stride)};
    snprintf(text, sizeof text, "%s(%zu,stride=%zu)", ops->name, size, stride);
    char *t = keep[slot++ % 8];
    memcpy(t, text, sizeof text);
    int rc = mk(l, ops, t, a, 2, in, &e);
    if (rc < 0)
        fprintf(stderr, "%s\n", e.msg);
    return rc;
}

/* The 4x4 example:
 *   1 3 | 2 4
 *   5 6 | 1 0
 *   ----+----
 *   7 2 | 9 8
 *   0 1 | 3 4 */
static const float X44[16] = {1, 3, 2, 4, 5, 6, 1, 0, 7, 2, 9, 8, 0, 1, 3, 4};

static void test_maxpool_4x4(void)
{
    mp_nn_layer l;
    mp_error e;
    mp_nn_arg a[1] = {num(2)};
    REQUIRE(mk(&l, &mp_nn_maxpool_ops, "maxpool(2)", a, 1, shp(3, 1, 4, 4), &e) == 0);
    CHECK(l.out.ndim == 3 && l.out.d[0] == 1 && l.out.d[1] == 2 && l.out.d[2] == 2);
    CHECK(l.nparams == 0);
    mp_nn_run run = {0, NULL};
    REQUIRE(l.ops->workspace(&l, 1, &run) == 4);
    float y[4], ws[4], dy[4] = {1, 2, 3, 4}, dx[16];
    l.ops->forward(&l, X44, y, 1, ws, &run);
    CHECK(y[0] == 6 && y[1] == 4 && y[2] == 7 && y[3] == 9);
    l.ops->backward(&l, X44, y, dy, dx, 1, ws, &run);
    const float want[16] = {0, 0, 0, 2, 0, 1, 0, 0, 3, 0, 4, 0, 0, 0, 0, 0};
    for (int i = 0; i < 16; i++)
        CHECK(dx[i] == want[i]);
    mp_nn_layer_clear(&l);

    /* overlapping: size 2 stride 1 gives 3x3 windows maxima
     *   6 6 4 / 7 9 9 / 7 9 9; with dout all ones 6 gets 2, 4 gets 1,
     *   7 gets 2 and 9 gets 4. */
    mp_nn_arg a2[2] = {num(2), num(1)};
    REQUIRE(mk(&l, &mp_nn_maxpool_ops, "maxpool(2,1)", a2, 2, shp(3, 1, 4, 4), &e) == 0);
    CHECK(l.out.d[1] == 3 && l.out.d[2] == 3);
    float y9[9], ws9[9], ones[9], dx2[16];
    for (int i = 0; i < 9; i++)
        ones[i] = 1;
    l.ops->forward(&l, X44, y9, 1, ws9, &run);
    const float want9[9] = {6, 6, 4, 7, 9, 9, 7, 9, 9};
    for (int i = 0; i < 9; i++)
        CHECK(y9[i] == want9[i]);
    l.ops->backward(&l, X44, y9, ones, dx2, 1, ws9, &run);
    const float wantd[16] = {0, 0, 0, 1, 0, 2, 0, 0, 2, 0, 4, 0, 0, 0, 0, 0};
    for (int i = 0; i < 16; i++)
        CHECK(dx2[i] == wantd[i]);
    mp_nn_layer_clear(&l);

    /* size 3 on 4x4: floor((4-3)/3)+1 = 1 window, the top-left 3x3 */
    mp_nn_arg a3[1] = {num(3)};
    REQUIRE(mk(&l, &mp_nn_maxpool_ops, "maxpool(3)", a3, 1, shp(3, 1, 4, 4), &e) == 0);
    CHECK(l.out.d[1] == 1 && l.out.d[2] == 1);
    l.ops->forward(&l, X44, y, 1, ws, &run);
    CHECK(y[0] == 9);
    mp_nn_layer_clear(&l);
}

static void test_avgpool_4x4(void)
{
    mp_nn_layer l;
    mp_error e;
    mp_nn_arg a[1] = {num(2)};
    REQUIRE(mk(&l, &mp_nn_avgpool_ops, "avgpool(2)", a, 1, shp(3, 1, 4, 4), &e) == 0);
    CHECK(l.out.d[1] == 2 && l.out.d[2] == 2);
    mp_nn_run run = {0, NULL};
    CHECK(l.ops->workspace(&l, 1, &run) == 0);
    float y[4], dy[4] = {1, 2, 3, 4}, dx[16];
    l.ops->forward(&l, X44, y, 1, NULL, &run);
    CHECK(y[0] == 3.75f && y[1] == 1.75f && y[2] == 2.5f && y[3] == 6.0f);
    l.ops->backward(&l, X44, y, dy, dx, 1, NULL, &run);
    const float want[16] = {0.25f, 0.25f, 0.5f, 0.5f, 0.25f, 0.25f, 0.5f, 0.5f,
                            0.75f, 0.75f, 1,    1,    0.75f, 0.75f, 1,    1};
    for (int i = 0; i < 16; i++)
        CHECK(dx[i] == want[i]);
    mp_nn_layer_clear(&l);

    /* 3x3 windows with stride 1 -> 2x2; top-left (1+3+2+5+6+1+7+2+9)/9 = 4 */
    mp_nn_arg a2[2] = {num(3), kv("stride", 1)};
    REQUIRE(mk(&l, &mp_nn_avgpool_ops, "avgpool(3,stride=1)", a2, 2, shp(3, 1, 4, 4), &e) == 0);
    CHECK(l.out.d[1] == 2 && l.out.d[2] == 2);
    l.ops->forward(&l, X44, y, 1, NULL, &run);
    CHECK_NEAR(y[0], 36.0 / 9, 1e-6);
    CHECK_NEAR(y[1], (3 + 2 + 4 + 6 + 1 + 0 + 2 + 9 + 8) / 9.0, 1e-6);
    CHECK_NEAR(y[3], (6 + 1 + 0 + 2 + 9 + 8 + 1 + 3 + 4) / 9.0, 1e-6);
    /* the centre four values are in all four windows */
    float ones[4] = {1, 1, 1, 1};
    l.ops->backward(&l, X44, y, ones, dx, 1, NULL, &run);
    CHECK_NEAR(dx[5], 4.0 / 9, 1e-7);
    CHECK_NEAR(dx[0], 1.0 / 9, 1e-7);
    CHECK_NEAR(dx[1], 2.0 / 9, 1e-7);
    mp_nn_layer_clear(&l);
}

/* Reference pooling, plainly written, to compare the fast paths against. */
static void ref_pool(int max, const float *x, size_t P, size_t H, size_t W, size_t k, size_t st,
                     float *y)
{
    size_t Ho = (H - k) / st + 1, Wo = (W - k) / st + 1;
    for (size_t p = 0; p < P; p++)
        for (size_t oh = 0; oh < Ho; oh++)
            for (size_t ow = 0; ow < Wo; ow++) {
                double acc = max ? -INFINITY : 0;
                for (size_t i = 0; i < k; i++)
                    for (size_t j = 0; j < k; j++) {
                        double v = x[p * H * W + (oh * st + i) * W + ow * st + j];
                        acc = max ? fmax(acc, v) : acc + v;
                    }
                y[(p * Ho + oh) * Wo + ow] = (float)(max ? acc : acc / (double)(k * k));
            }
}

/* Reference backward: maxpool routes each gradient to the window's first
 * maximum, avgpool spreads it evenly. */
static void ref_pool_back(int max, const float *x, const float *dy, size_t P, size_t H, size_t W,
                          size_t k, size_t st, double *dx)
{
    size_t Ho = (H - k) / st + 1, Wo = (W - k) / st + 1;
    memset(dx, 0, P * H * W * sizeof *dx);
    for (size_t p = 0; p < P; p++)
        for (size_t oh = 0; oh < Ho; oh++)
            for (size_t ow = 0; ow < Wo; ow++) {
                double g = dy[(p * Ho + oh) * Wo + ow];
                size_t best = 0;
                float bv = -INFINITY;
                for (size_t i = 0; i < k; i++)
                    for (size_t j = 0; j < k; j++) {
                        size_t at = p * H * W + (oh * st + i) * W + ow * st + j;
                        if (!max)
                            dx[at] += g / (double)(k * k);
                        else if (x[at] > bv)
                            bv = x[at], best = at;
                    }
                if (max)
                    dx[best] += g;
            }
}

static void test_shapes_and_reference(void)
{
    struct {
        size_t C, H, W, k, st, Ho, Wo;
    } cases[] = {
        {8, 26, 26, 2, 2, 13, 13}, {16, 11, 11, 2, 2, 5, 5}, {2, 5, 7, 2, 2, 2, 3},
        {3, 7, 7, 3, 2, 3, 3},     {2, 9, 8, 3, 3, 3, 2},    {1, 6, 6, 2, 3, 2, 2},
        {2, 5, 5, 5, 1, 1, 1},     {1, 3, 4, 1, 1, 3, 4},
    };
    mp_rng rng;
    mp_rng_seed(&rng, 77);
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        for (int max = 0; max < 2; max++) {
            mp_nn_layer l;
            const mp_nn_layer_ops *ops = max ? &mp_nn_maxpool_ops : &mp_nn_avgpool_ops;
            REQUIRE(mkpool(&l, ops, cases[t].k, cases[t].st,
                           shp(3, cases[t].C, cases[t].H, cases[t].W)) == 0);
            CHECK(l.out.d[0] == cases[t].C && l.out.d[1] == cases[t].Ho &&
                  l.out.d[2] == cases[t].Wo);
            const size_t b = 3, P = b * cases[t].C, ni = P * cases[t].H * cases[t].W;
            const size_t no = P * cases[t].Ho * cases[t].Wo;
            mp_nn_run run = {1, NULL};
            size_t nws = l.ops->workspace(&l, b, &run);
            CHECK(nws == (max ? no : 0));
            float *x = malloc(ni * sizeof *x), *y = malloc(no * sizeof *y);
            float *r = malloc(no * sizeof *r), *dy = malloc(no * sizeof *dy);
            float *dx = malloc(ni * sizeof *dx), *ws = malloc((nws + 1) * sizeof *ws);
            REQUIRE(x && y && r && dy && dx && ws);
            for (size_t i = 0; i < ni; i++)
                x[i] = (float)(2 * mp_rng_uniform(&rng) - 1);
            for (size_t i = 0; i < no; i++)
                dy[i] = (float)(2 * mp_rng_uniform(&rng) - 1);
            l.ops->forward(&l, x, y, b, ws, &run);
            ref_pool(max, x, P, cases[t].H, cases[t].W, cases[t].k, cases[t].st, r);
            int bad = 0;
            for (size_t i = 0; i < no; i++)
                if (fabsf(y[i] - r[i]) > 1e-6f)
                    bad++;
            CHECK(bad == 0);
            l.ops->backward(&l, x, y, dy, dx, b, ws, &run);
            double *rdx = malloc(ni * sizeof *rdx);
            REQUIRE(rdx);
            ref_pool_back(max, x, dy, P, cases[t].H, cases[t].W, cases[t].k, cases[t].st, rdx);
            for (size_t i = 0; i < ni; i++)
                if (fabs(dx[i] - rdx[i]) > 1e-5)
                    bad++;
            free(rdx);
            CHECK(bad == 0);
            /* rows and columns no window reaches get no gradient */
            size_t H = cases[t].H, W = cases[t].W;
            size_t usedH = (cases[t].Ho - 1) * cases[t].st + cases[t].k;
            size_t usedW = (cases[t].Wo - 1) * cases[t].st + cases[t].k;
            for (size_t p = 0; p < P; p++)
                for (size_t h = 0; h < H; h++)
                    for (size_t w = 0; w < W; w++)
                        if ((h >= usedH || w >= usedW) && dx[p * H * W + h * W + w] != 0)
                            bad++;
            CHECK(bad == 0);
            free(x);
            free(y);
            free(r);
            free(dy);
            free(dx);
            free(ws);
            mp_nn_layer_clear(&l);
        }
    }
}

static void test_gradcheck(void)
{
    /* Inputs are uniform in [-1, 1], so two values of a window can fall
     * within h = 0.01 of each other and a nudge then moves the maximum;
     * these seeds avoid that (a near tie breaks the numeric derivative, not
     * backward; test_shapes_and_reference checks backward exactly on any
     * data). */
    struct {
        size_t C, H, W, k, st, b;
        uint64_t seed;
    } cases[] = {
        {2, 6, 6, 2, 2, 2, 1000},  /* stride = size */
        {2, 7, 7, 3, 2, 2, 1141},  /* overlapping */
        {1, 5, 4, 2, 1, 2, 1002},  /* overlapping */
        {3, 5, 7, 2, 2, 2, 1003},  /* odd sizes: last row and column unused */
        {1, 11, 11, 2, 2, 2, 1014},
        {2, 7, 8, 2, 3, 2, 1005},  /* stride > size: gaps */
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++)
        for (int max = 0; max < 2; max++) {
            mp_nn_layer l;
            const mp_nn_layer_ops *ops = max ? &mp_nn_maxpool_ops : &mp_nn_avgpool_ops;
            REQUIRE(mkpool(&l, ops, cases[t].k, cases[t].st,
                           shp(3, cases[t].C, cases[t].H, cases[t].W)) == 0);
            int bad = nn_gradcheck(&l, cases[t].b, 1, cases[t].seed, 500, 2e-2);
            if (bad)
                fprintf(stderr, "%s gradcheck case %zu failed\n", ops->name, t);
            CHECK(bad == 0);
            mp_nn_layer_clear(&l);
        }
}

/* Ties take the first maximum in row-major order; NaN propagates. */
static void test_maxpool_ties_nan(void)
{
    mp_nn_layer l;
    mp_error e;
    mp_nn_arg a[1] = {num(2)};
    REQUIRE(mk(&l, &mp_nn_maxpool_ops, "maxpool(2)", a, 1, shp(3, 1, 2, 4), &e) == 0);
    float x[8] = {3, 3, 1, NAN, 3, 3, 5, 2}, y[2], ws[2], dy[2] = {1, 1}, dx[8];
    mp_nn_run run = {0, NULL};
    l.ops->forward(&l, x, y, 1, ws, &run);
    CHECK(y[0] == 3);
    CHECK(isnan(y[1]));
    l.ops->backward(&l, x, y, dy, dx, 1, ws, &run);
    CHECK(dx[0] == 1 && dx[1] == 0 && dx[4] == 0 && dx[5] == 0);
    CHECK(dx[3] == 1 && dx[6] == 0);
    mp_nn_layer_clear(&l);

    /* the same on a map wide enough for the four-at-a-time loop: ties in
     * every window position, NaN in the second row */
    REQUIRE(mk(&l, &mp_nn_maxpool_ops, "maxpool(2)", a, 1, shp(3, 1, 2, 10), &e) == 0);
    float xw[20] = {1, 2, 7, 7, 0, 0, 4, 1, 9, 9, /* row 0 */
                    2, 2, 7, 7, 0, 5, 4, NAN, 1, 9};
    float yw[5], wsw[5], dyw[5] = {1, 2, 3, 4, 5}, dxw[20];
    l.ops->forward(&l, xw, yw, 1, wsw, &run);
    CHECK(yw[0] == 2 && wsw[0] == 1);
    CHECK(yw[1] == 7 && wsw[1] == 2);
    CHECK(yw[2] == 5 && wsw[2] == 15);
    CHECK(isnan(yw[3]) && wsw[3] == 17);
    CHECK(yw[4] == 9 && wsw[4] == 8);
    l.ops->backward(&l, xw, yw, dyw, dxw, 1, wsw, &run);
    const float wantw[20] = {0, 1, 2, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 3, 0, 4, 0, 0};
    for (int i = 0; i < 20; i++)
        CHECK(dxw[i] == wantw[i]);
    mp_nn_layer_clear(&l);

    /* the general path follows the same rule */
    mp_nn_arg a3[2] = {num(2), num(1)};
    REQUIRE(mk(&l, &mp_nn_maxpool_ops, "maxpool(2,1)", a3, 2, shp(3, 1, 2, 4), &e) == 0);
    float y3[3], ws3[3];
    l.ops->forward(&l, x, y3, 1, ws3, &run);
    CHECK(y3[0] == 3 && ws3[0] == 0);
    CHECK(y3[1] == 5 && ws3[1] == 6);
    CHECK(isnan(y3[2]) && ws3[2] == 3);
    mp_nn_layer_clear(&l);
}

static void test_bad_args(void)
{
    mp_nn_layer l;
    mp_error e;
    const mp_nn_shape in = shp(3, 1, 8, 8);

    mp_nn_arg neg[1] = {num(-2)};
    CHECK(mk(&l, &mp_nn_maxpool_ops, "maxpool(-2)", neg, 1, in, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "layer 2 (maxpool(-2))");
    CHECK_STR_CONTAINS(e.msg, "-2");
    CHECK_STR_CONTAINS(e.msg, "maxpool(size[, stride=size])");
    mp_nn_layer_clear(&l);

    mp_nn_arg zero[1] = {num(0)};
    CHECK(mk(&l, &mp_nn_avgpool_ops, "avgpool(0)", zero, 1, in, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "layer 2 (avgpool(0))");
    CHECK_STR_CONTAINS(e.msg, "avgpool(size[, stride=size])");
    mp_nn_layer_clear(&l);

    mp_nn_arg frac[1] = {num(2.5)};
    CHECK(mk(&l, &mp_nn_maxpool_ops, "maxpool(2.5)", frac, 1, in, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "whole number");
    mp_nn_layer_clear(&l);

    CHECK(mk(&l, &mp_nn_maxpool_ops, "maxpool", NULL, 0, in, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "layer 2 (maxpool)");
    CHECK_STR_CONTAINS(e.msg, "missing");
    mp_nn_layer_clear(&l);

    mp_nn_arg only_stride[1] = {kv("stride", 2)};
    CHECK(mk(&l, &mp_nn_avgpool_ops, "avgpool(stride=2)", only_stride, 1, in, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "missing");
    mp_nn_layer_clear(&l);

    mp_nn_arg extra[3] = {num(2), num(2), num(1)};
    CHECK(mk(&l, &mp_nn_maxpool_ops, "maxpool(2,2,1)", extra, 3, in, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "layer 2 (maxpool(2,2,1))");
    CHECK_STR_CONTAINS(e.msg, "too many");
    mp_nn_layer_clear(&l);

    mp_nn_arg st0[2] = {num(2), kv("stride", 0)};
    CHECK(mk(&l, &mp_nn_maxpool_ops, "maxpool(2,stride=0)", st0, 2, in, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "stride");
    mp_nn_layer_clear(&l);

    mp_nn_arg dup[2] = {num(2), kv("size", 3)};
    CHECK(mk(&l, &mp_nn_maxpool_ops, "maxpool(2,size=3)", dup, 2, in, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "twice");
    mp_nn_layer_clear(&l);

    mp_nn_arg unk[2] = {num(2), kv("padding", 1)};
    CHECK(mk(&l, &mp_nn_maxpool_ops, "maxpool(2,padding=1)", unk, 2, in, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "unknown argument 'padding'");
    mp_nn_layer_clear(&l);

    mp_nn_arg w[1] = {{NULL, "two", 0}};
    CHECK(mk(&l, &mp_nn_maxpool_ops, "maxpool(two)", w, 1, in, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "'two'");
    mp_nn_layer_clear(&l);
}

static void test_bad_shapes(void)
{
    mp_nn_layer l;
    mp_error e;
    mp_nn_arg a[1] = {num(2)};
    CHECK(mk(&l, &mp_nn_maxpool_ops, "maxpool(2)", a, 1, shp(1, 10, 0, 0), &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "layer 2 (maxpool(2))");
    CHECK_STR_CONTAINS(e.msg, "C x H x W");
    CHECK_STR_CONTAINS(e.msg, "got 10");
    mp_nn_layer_clear(&l);

    CHECK(mk(&l, &mp_nn_avgpool_ops, "avgpool(2)", a, 1, shp(2, 28, 28, 0), &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "layer 2 (avgpool(2))");
    CHECK_STR_CONTAINS(e.msg, "got 28x28");
    mp_nn_layer_clear(&l);

    mp_nn_arg five[1] = {num(5)};
    CHECK(mk(&l, &mp_nn_maxpool_ops, "maxpool(5)", five, 1, shp(3, 8, 4, 6), &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "layer 2 (maxpool(5))");
    CHECK_STR_CONTAINS(e.msg, "5x5");
    CHECK_STR_CONTAINS(e.msg, "8x4x6");
    mp_nn_layer_clear(&l);

    /* fits exactly */
    CHECK(mk(&l, &mp_nn_maxpool_ops, "maxpool(5)", five, 1, shp(3, 8, 5, 6), &e) == 0);
    CHECK(l.out.d[1] == 1 && l.out.d[2] == 1);
    mp_nn_layer_clear(&l);
}

int main(void)
{
    RUN(test_maxpool_4x4);
    RUN(test_avgpool_4x4);
    RUN(test_shapes_and_reference);
    RUN(test_gradcheck);
    RUN(test_maxpool_ties_nan);
    RUN(test_bad_args);
    RUN(test_bad_shapes);
    return TEST_SUMMARY();
}
