/* conv2d: argument and shape checking, hand-computed passes, a naive
 * reference convolution, and gradient checks over many shapes. The shapes
 * are chosen to reach each way the layer computes (nn_conv2d.c): direct
 * (one input channel, stride 1, rows of 8 or more), per-sample GEMMs, and
 * batch GEMMs (over 262144 multiply-adds a sample) in one chunk or
 * several, and batches big enough to be split over threads when OpenBLAS
 * has more than one (run the test with OPENBLAS_NUM_THREADS=1 too). */
#include "test.h"

#include "nn_gradcheck.h"
#include "nn/layers.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

/* A layer built by hand as nn_spec.c would: configure, then init for `in`. */
typedef struct conv_case {
    mp_nn_layer l;
    char text[64];
} conv_case;

static int conv_make(conv_case *cc, mp_nn_shape in, const mp_nn_arg *args, size_t nargs,
                     int he, uint64_t seed, mp_error *e)
{
    memset(cc, 0, sizeof *cc);
    snprintf(cc->text, sizeof cc->text, "conv2d(test)");
    cc->l.ops = &mp_nn_conv2d_ops;
    cc->l.text = cc->text;
    cc->l.index = 3;
    cc->l.he = he;
    cc->l.in = in;
    int rc = cc->l.ops->configure(&cc->l, args, nargs, e);
    if (rc)
        return rc;
    mp_rng rng;
    mp_rng_seed(&rng, seed);
    return cc->l.ops->init(&cc->l, &rng, e);
}

static mp_nn_shape img(size_t c, size_t h, size_t w)
{
    mp_nn_shape s = {3, {c, h, w}};
    return s;
}

/* conv2d(oc, k, stride=s, padding=p) */
static int conv_make4(conv_case *cc, mp_nn_shape in, size_t oc, size_t k, size_t s, size_t p,
                      uint64_t seed, mp_error *e)
{
    mp_nn_arg args[4] = {{NULL, NULL, (double)oc},
                         {NULL, NULL, (double)k},
                         {"stride", NULL, (double)s},
                         {"padding", NULL, (double)p}};
    return conv_make(cc, in, args, 4, 1, seed, e);
}

/* Runs forward (and backward when dout is given) on b samples with a
 * workspace of the size the layer asks for. */
static void conv_run(mp_nn_layer *l, const float *x, float *y, const float *dout, float *din,
                     size_t b, int training)
{
    mp_nn_run run = {training, NULL};
    size_t n = l->ops->workspace(l, b, &run);
    float *ws = malloc((n ? n : 1) * sizeof *ws);
    for (size_t i = 0; i < n; i++)
        ws[i] = 12345.0f; /* garbage the layer must not depend on */
    l->ops->forward(l, x, y, b, ws, &run);
    if (dout)
        l->ops->backward(l, x, y, dout, din, b, ws, &run);
    free(ws);
}

/* ---- arguments ---------------------------------------------------------- */

static void test_configure_good(void)
{
    mp_error e;
    conv_case cc;
    mp_nn_arg a1[2] = {{NULL, NULL, 8}, {NULL, NULL, 3}};
    REQUIRE(conv_make(&cc, img(1, 28, 28), a1, 2, 1, 1, &e) == 0);
    CHECK(cc.l.out.ndim == 3);
    CHECK(cc.l.out.d[0] == 8 && cc.l.out.d[1] == 26 && cc.l.out.d[2] == 26);
    mp_nn_layer_clear(&cc.l);

    /* PyTorch's formula with stride and padding, non-square input */
    mp_nn_arg a2[4] = {{NULL, NULL, 5}, {NULL, NULL, 3}, {"padding", NULL, 1},
                       {"stride", NULL, 2}};
    REQUIRE(conv_make(&cc, img(3, 28, 20), a2, 4, 1, 1, &e) == 0);
    CHECK(cc.l.out.d[0] == 5 && cc.l.out.d[1] == 14 && cc.l.out.d[2] == 10);
    REQUIRE(cc.l.nparams == 2);
    mp_nn_param *w = &cc.l.params[0], *b = &cc.l.params[1];
    CHECK(strcmp(w->name, "weight") == 0 && strcmp(b->name, "bias") == 0);
    CHECK(w->ndim == 4 && w->shape[0] == 5 && w->shape[1] == 3 && w->shape[2] == 3 &&
          w->shape[3] == 3 && w->n == 135);
    CHECK(b->ndim == 1 && b->shape[0] == 5 && b->n == 5);
    CHECK(w->decay == 1 && b->decay == 0);
    CHECK(w->g != NULL && b->g != NULL);
    mp_nn_layer_clear(&cc.l);

    /* floor in the formula: (7 + 0 - 3) / 3 + 1 = 2; named kernel and
     * out_channels work too */
    mp_nn_arg a3[3] = {{"kernel", NULL, 3}, {"out_channels", NULL, 2}, {"stride", NULL, 3}};
    REQUIRE(conv_make(&cc, img(2, 7, 8), a3, 3, 1, 1, &e) == 0);
    CHECK(cc.l.out.d[0] == 2 && cc.l.out.d[1] == 2 && cc.l.out.d[2] == 2);
    mp_nn_layer_clear(&cc.l);

    /* a kernel exactly as large as the padded input gives 1x1 */
    REQUIRE(conv_make4(&cc, img(1, 4, 4), 1, 6, 1, 1, 1, &e) == 0);
    CHECK(cc.l.out.d[1] == 1 && cc.l.out.d[2] == 1);
    mp_nn_layer_clear(&cc.l);
}

static void test_init_ranges(void)
{
    mp_error e;
    conv_case cc;
    /* He: |w| <= sqrt(6 / fan_in), fan_in = C*k*k = 27; bias zero */
    REQUIRE(conv_make4(&cc, img(3, 8, 8), 5, 3, 1, 0, 7, &e) == 0);
    double a = sqrt(6.0 / 27), mx = 0;
    for (size_t i = 0; i < cc.l.params[0].n; i++)
        mx = fmax(mx, fabs(cc.l.params[0].w[i]));
    CHECK(mx <= a && mx > 0.7 * a);
    for (size_t i = 0; i < cc.l.params[1].n; i++)
        CHECK(cc.l.params[1].w[i] == 0.0f);
    mp_nn_layer_clear(&cc.l);
    /* Xavier: sqrt(6 / (fan_in + fan_out)), fan_out = OC*k*k = 45 */
    mp_nn_arg args[2] = {{NULL, NULL, 5}, {NULL, NULL, 3}};
    REQUIRE(conv_make(&cc, img(3, 8, 8), args, 2, 0, 7, &e) == 0);
    a = sqrt(6.0 / (27 + 45));
    mx = 0;
    for (size_t i = 0; i < cc.l.params[0].n; i++)
        mx = fmax(mx, fabs(cc.l.params[0].w[i]));
    CHECK(mx <= a && mx > 0.7 * a);
    mp_nn_layer_clear(&cc.l);
}

static void expect_config_error(const mp_nn_arg *args, size_t nargs, const char *needle)
{
    mp_error e;
    conv_case cc;
    mp_error_clear(&e);
    int rc = conv_make(&cc, img(1, 8, 8), args, nargs, 1, 1, &e);
    CHECK(rc == MP_EINVAL);
    CHECK(e.code == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "layer 3 (conv2d(test))");
    CHECK_STR_CONTAINS(e.msg, needle);
    CHECK_STR_CONTAINS(e.msg, "usage: conv2d(out_channels, kernel[, stride=1, padding=0])");
    mp_nn_layer_clear(&cc.l);
}

static void test_configure_bad(void)
{
    mp_nn_arg none[1] = {{NULL, NULL, 0}};
    expect_config_error(none, 0, "missing out_channels");
    mp_nn_arg one[1] = {{NULL, NULL, 8}};
    expect_config_error(one, 1, "missing kernel");
    mp_nn_arg zero_oc[2] = {{NULL, NULL, 0}, {NULL, NULL, 3}};
    expect_config_error(zero_oc, 2, "out_channels must be an integer in [1, 65536], got 0");
    mp_nn_arg neg_k[2] = {{NULL, NULL, 4}, {NULL, NULL, -3}};
    expect_config_error(neg_k, 2, "kernel must be an integer in [1, 65536], got -3");
    mp_nn_arg frac[2] = {{NULL, NULL, 4.5}, {NULL, NULL, 3}};
    expect_config_error(frac, 2, "out_channels must be an integer in [1, 65536], got 4.5");
    mp_nn_arg zero_s[3] = {{NULL, NULL, 4}, {NULL, NULL, 3}, {"stride", NULL, 0}};
    expect_config_error(zero_s, 3, "stride must be an integer in [1, 65536], got 0");
    mp_nn_arg neg_p[3] = {{NULL, NULL, 4}, {NULL, NULL, 3}, {"padding", NULL, -1}};
    expect_config_error(neg_p, 3, "padding must be an integer in [0, 65536], got -1");
    mp_nn_arg nan_p[3] = {{NULL, NULL, 4}, {NULL, NULL, 3}, {"padding", NULL, NAN}};
    expect_config_error(nan_p, 3, "padding must be an integer");
    mp_nn_arg word[2] = {{NULL, NULL, 4}, {NULL, "same", 0}};
    expect_config_error(word, 2, "kernel must be a number, got 'same'");
    mp_nn_arg unknown[3] = {{NULL, NULL, 4}, {NULL, NULL, 3}, {"dilation", NULL, 2}};
    expect_config_error(unknown, 3, "unknown argument 'dilation'");
    mp_nn_arg twice[3] = {{NULL, NULL, 4}, {NULL, NULL, 3}, {"kernel", NULL, 5}};
    expect_config_error(twice, 3, "kernel given twice");
    mp_nn_arg many[5] = {{NULL, NULL, 4}, {NULL, NULL, 3}, {NULL, NULL, 1}, {NULL, NULL, 0},
                         {NULL, NULL, 1}};
    expect_config_error(many, 5, "too many arguments");
    mp_nn_arg huge[2] = {{NULL, NULL, 1e9}, {NULL, NULL, 3}};
    expect_config_error(huge, 2, "out_channels must be an integer");
}

static void test_shape_errors(void)
{
    mp_error e;
    conv_case cc;
    /* after flatten: a vector */
    mp_nn_shape flat = {1, {784, 0, 0}};
    mp_error_clear(&e);
    CHECK(conv_make4(&cc, flat, 8, 3, 1, 0, 1, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "layer 3 (conv2d(test))");
    CHECK_STR_CONTAINS(e.msg, "got 784; conv2d must come before flatten");
    CHECK_STR_CONTAINS(e.msg, "channels x height x width");
    CHECK(cc.l.nparams == 0);
    mp_nn_layer_clear(&cc.l);
    /* a sequence is not an image either */
    mp_nn_shape seq = {2, {28, 28, 0}};
    mp_error_clear(&e);
    CHECK(conv_make4(&cc, seq, 8, 3, 1, 0, 1, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "got 28x28; give images as CxHxW");
    mp_nn_layer_clear(&cc.l);
    /* kernel larger than the (padded) input, in either direction */
    mp_error_clear(&e);
    CHECK(conv_make4(&cc, img(1, 4, 6), 2, 5, 1, 0, 1, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "layer 3 (conv2d(test))");
    CHECK_STR_CONTAINS(e.msg, "kernel 5x5 is larger than the input 1x4x6 padded by 0 (4x6)");
    CHECK(cc.l.nparams == 0);
    mp_nn_layer_clear(&cc.l);
    mp_error_clear(&e);
    CHECK(conv_make4(&cc, img(2, 9, 3), 2, 6, 2, 1, 1, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "kernel 6x6 is larger than the input 2x9x3 padded by 1 (11x5)");
    mp_nn_layer_clear(&cc.l);
    /* the same kernel fits once padded */
    CHECK(conv_make4(&cc, img(1, 4, 6), 2, 5, 1, 1, 1, &e) == 0);
    CHECK(cc.l.out.d[1] == 2 && cc.l.out.d[2] == 4);
    mp_nn_layer_clear(&cc.l);
    /* too large for the GEMMs' int dimensions */
    mp_error_clear(&e);
    CHECK(conv_make4(&cc, img(1, 70000, 70000), 1, 1, 1, 0, 1, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "layer 3 (conv2d(test)): input 1x70000x70000 is too large");
    mp_nn_layer_clear(&cc.l);
    mp_error_clear(&e);
    CHECK(conv_make4(&cc, img(3000, 300, 300), 4, 3, 1, 0, 1, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "is too large");
    mp_nn_layer_clear(&cc.l);
    /* an empty dimension */
    mp_error_clear(&e);
    CHECK(conv_make4(&cc, img(0, 4, 6), 2, 3, 1, 0, 1, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "empty input 0x4x6");
    mp_nn_layer_clear(&cc.l);
}

/* ---- hand-computed passes ------------------------------------------------ */

static void set_params(mp_nn_layer *l, const float *w, const float *b)
{
    memcpy(l->params[0].w, w, l->params[0].n * sizeof(float));
    memcpy(l->params[1].w, b, l->params[1].n * sizeof(float));
    memset(l->params[0].g, 0, l->params[0].n * sizeof(float));
    memset(l->params[1].g, 0, l->params[1].n * sizeof(float));
}

static void test_hand_forward(void)
{
    mp_error e;
    conv_case cc;
    const float x[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    const float w[4] = {1, 2, 3, 4}, bias[1] = {0.5f};
    float y[4], din[9];
    const float ones[4] = {1, 1, 1, 1};

    /* 1x3x3 with a 2x2 kernel, stride 1, no padding */
    REQUIRE(conv_make4(&cc, img(1, 3, 3), 1, 2, 1, 0, 1, &e) == 0);
    set_params(&cc.l, w, bias);
    conv_run(&cc.l, x, y, ones, din, 1, 1);
    CHECK_NEAR(y[0], 37.5, 1e-5);
    CHECK_NEAR(y[1], 47.5, 1e-5);
    CHECK_NEAR(y[2], 67.5, 1e-5);
    CHECK_NEAR(y[3], 77.5, 1e-5);
    /* with dout = 1: dW = sum of the windows, db = 4, din counts the
     * kernel entries covering each pixel */
    const float *dw = cc.l.params[0].g;
    CHECK_NEAR(dw[0], 12, 1e-5);
    CHECK_NEAR(dw[1], 16, 1e-5);
    CHECK_NEAR(dw[2], 24, 1e-5);
    CHECK_NEAR(dw[3], 28, 1e-5);
    CHECK_NEAR(cc.l.params[1].g[0], 4, 1e-5);
    const float din_want[9] = {1, 3, 2, 4, 10, 6, 3, 7, 4};
    for (int i = 0; i < 9; i++)
        CHECK_NEAR(din[i], din_want[i], 1e-5);
    mp_nn_layer_clear(&cc.l);

    /* padding 1, stride 2: windows over the zero-padded 5x5 image at
     * (0,0) [0 0; 0 1], (0,2) [0 0; 2 3], (2,0) [0 4; 0 7], (2,2) [5 6; 8 9] */
    REQUIRE(conv_make4(&cc, img(1, 3, 3), 1, 2, 2, 1, 1, &e) == 0);
    REQUIRE(cc.l.out.d[1] == 2 && cc.l.out.d[2] == 2);
    set_params(&cc.l, w, bias);
    conv_run(&cc.l, x, y, ones, din, 1, 1);
    CHECK_NEAR(y[0], 4.5, 1e-5);
    CHECK_NEAR(y[1], 18.5, 1e-5);
    CHECK_NEAR(y[2], 36.5, 1e-5);
    CHECK_NEAR(y[3], 77.5, 1e-5);
    /* each pixel is in exactly one window here: din is the kernel entry it
     * met (pixel (r,c) sits at padded (r+1,c+1)) */
    const float din2[9] = {4, 3, 4, 2, 1, 2, 4, 3, 4};
    for (int i = 0; i < 9; i++)
        CHECK_NEAR(din[i], din2[i], 1e-5);
    CHECK_NEAR(cc.l.params[0].g[0], 0 + 0 + 0 + 5, 1e-5);
    CHECK_NEAR(cc.l.params[0].g[3], 1 + 3 + 7 + 9, 1e-5);
    mp_nn_layer_clear(&cc.l);

    /* two channels, two filters, 1x1 kernel: a per-pixel matrix product */
    REQUIRE(conv_make4(&cc, img(2, 1, 2), 2, 1, 1, 0, 1, &e) == 0);
    const float x2[4] = {1, 2, 3, 4}; /* ch0 = (1,2), ch1 = (3,4) */
    const float w2[4] = {1, 10, -1, 0.5f}, b2[2] = {0, 1};
    set_params(&cc.l, w2, b2);
    conv_run(&cc.l, x2, y, NULL, NULL, 1, 0);
    CHECK_NEAR(y[0], 31, 1e-5);
    CHECK_NEAR(y[1], 42, 1e-5);
    CHECK_NEAR(y[2], -1 + 1.5 + 1, 1e-5);
    CHECK_NEAR(y[3], -2 + 2 + 1, 1e-5);
    mp_nn_layer_clear(&cc.l);
}

/* ---- a naive reference -------------------------------------------------- */

typedef struct ref_geom {
    int c, h, w, oc, k, s, p, oh, ow;
} ref_geom;

static float ref_x(const float *x, const ref_geom *g, int n, int c, int i, int j)
{
    if (i < 0 || j < 0 || i >= g->h || j >= g->w)
        return 0;
    return x[((n * g->c + c) * g->h + i) * g->w + j];
}

static void ref_forward(const ref_geom *g, const float *w, const float *b, const float *x,
                        float *y, int nb)
{
    for (int n = 0; n < nb; n++)
        for (int o = 0; o < g->oc; o++)
            for (int i = 0; i < g->oh; i++)
                for (int j = 0; j < g->ow; j++) {
                    double a = b[o];
                    for (int c = 0; c < g->c; c++)
                        for (int u = 0; u < g->k; u++)
                            for (int v = 0; v < g->k; v++)
                                a += (double)w[((o * g->c + c) * g->k + u) * g->k + v] *
                                     ref_x(x, g, n, c, i * g->s + u - g->p, j * g->s + v - g->p);
                    y[((n * g->oc + o) * g->oh + i) * g->ow + j] = (float)a;
                }
}

/* dw, db, dx from dy by the definition (scatter form). */
static void ref_backward(const ref_geom *g, const float *w, const float *x, const float *dy,
                         double *dw, double *db, double *dx, int nb)
{
    memset(dw, 0, sizeof(double) * (size_t)(g->oc * g->c * g->k * g->k));
    memset(db, 0, sizeof(double) * (size_t)g->oc);
    memset(dx, 0, sizeof(double) * (size_t)(nb * g->c * g->h * g->w));
    for (int n = 0; n < nb; n++)
        for (int o = 0; o < g->oc; o++)
            for (int i = 0; i < g->oh; i++)
                for (int j = 0; j < g->ow; j++) {
                    double d = dy[((n * g->oc + o) * g->oh + i) * g->ow + j];
                    db[o] += d;
                    for (int c = 0; c < g->c; c++)
                        for (int u = 0; u < g->k; u++)
                            for (int v = 0; v < g->k; v++) {
                                int ii = i * g->s + u - g->p, jj = j * g->s + v - g->p;
                                if (ii < 0 || jj < 0 || ii >= g->h || jj >= g->w)
                                    continue;
                                size_t wi = (size_t)(((o * g->c + c) * g->k + u) * g->k + v);
                                dw[wi] += d * ref_x(x, g, n, c, ii, jj);
                                dx[((n * g->c + c) * g->h + ii) * g->w + jj] += d * w[wi];
                            }
                }
}

/* Layer against the reference, forward and backward, on random data; once
 * after a training forward (which may keep state for backward) and once
 * after an inference forward (backward must then rebuild what it needs). */
static void check_against_ref(int c, int h, int w, int oc, int k, int s, int p, int nb,
                              uint64_t seed)
{
    mp_error e;
    conv_case cc;
    REQUIRE(conv_make4(&cc, img((size_t)c, (size_t)h, (size_t)w), (size_t)oc, (size_t)k,
                       (size_t)s, (size_t)p, seed, &e) == 0);
    ref_geom g = {c, h, w, oc, k, s, p, (h + 2 * p - k) / s + 1, (w + 2 * p - k) / s + 1};
    REQUIRE(cc.l.out.d[1] == (size_t)g.oh && cc.l.out.d[2] == (size_t)g.ow);
    size_t ni = (size_t)(nb * c * h * w), no = (size_t)(nb * oc * g.oh * g.ow);
    size_t nw = cc.l.params[0].n;
    float *x = malloc(ni * sizeof *x), *dx = malloc(ni * sizeof *dx);
    float *y = malloc(no * sizeof *y), *yr = malloc(no * sizeof *yr), *dy = malloc(no * sizeof *dy);
    float *w0 = malloc(nw * sizeof *w0);
    double *rdw = malloc(nw * sizeof *rdw), *rdb = malloc((size_t)oc * sizeof *rdb);
    double *rdx = malloc(ni * sizeof *rdx);
    REQUIRE(x && dx && y && yr && dy && w0 && rdw && rdb && rdx);
    mp_rng rng;
    mp_rng_seed(&rng, seed + 1);
    for (size_t i = 0; i < ni; i++)
        x[i] = (float)(2 * mp_rng_uniform(&rng) - 1);
    for (size_t i = 0; i < no; i++)
        dy[i] = (float)(2 * mp_rng_uniform(&rng) - 1);
    for (int o = 0; o < oc; o++)
        cc.l.params[1].w[o] = (float)(mp_rng_uniform(&rng) - 0.5);
    memcpy(w0, cc.l.params[0].w, nw * sizeof *w0);
    ref_forward(&g, cc.l.params[0].w, cc.l.params[1].w, x, yr, nb);
    ref_backward(&g, cc.l.params[0].w, x, dy, rdw, rdb, rdx, nb);

    for (int training = 1; training >= 0; training--) {
        for (size_t i = 0; i < nw; i++)
            cc.l.params[0].g[i] = 0.25f; /* backward must add to what is there */
        for (int o = 0; o < oc; o++)
            cc.l.params[1].g[o] = o == 0 ? -1.0f : 0.0f;
        for (size_t i = 0; i < ni; i++)
            dx[i] = 777.0f; /* and overwrite din */
        conv_run(&cc.l, x, y, dy, dx, (size_t)nb, training);
        int bad = 0;
        for (size_t i = 0; i < no; i++)
            bad += !(fabs(y[i] - yr[i]) <= 1e-4);
        for (size_t i = 0; i < nw; i++)
            bad += !(fabs(cc.l.params[0].g[i] - 0.25 - rdw[i]) <= 1e-4 * fmax(1, fabs(rdw[i])));
        for (int o = 0; o < oc; o++)
            bad += !(fabs(cc.l.params[1].g[o] - (o == 0 ? -1.0 : 0.0) - rdb[o]) <=
                     1e-4 * fmax(1, fabs(rdb[o])));
        for (size_t i = 0; i < ni; i++)
            bad += !(fabs(dx[i] - rdx[i]) <= 1e-4 * fmax(1, fabs(rdx[i])));
        if (bad)
            fprintf(stderr,
                    "reference mismatch (%d values) for %dx%dx%d oc=%d k=%d s=%d p=%d b=%d "
                    "training=%d\n",
                    bad, c, h, w, oc, k, s, p, nb, training);
        CHECK(bad == 0);
        /* passes never change the parameters themselves */
        CHECK(memcmp(w0, cc.l.params[0].w, nw * sizeof *w0) == 0);
    }
    free(w0);
    free(x);
    free(dx);
    free(y);
    free(yr);
    free(dy);
    free(rdw);
    free(rdb);
    free(rdx);
    mp_nn_layer_clear(&cc.l);
}

static void test_reference(void)
{
    /* the brief's case: 3x11x9, 5 filters, k=3, stride 2, padding 1 */
    check_against_ref(3, 11, 9, 5, 3, 2, 1, 2, 11);
    /* one channel, stride 1: the direct path, with rows long enough for
     * its vector loops and padding on both sides */
    check_against_ref(1, 28, 28, 8, 3, 1, 0, 3, 12);
    check_against_ref(1, 13, 21, 3, 5, 1, 2, 2, 13);
    check_against_ref(1, 10, 19, 2, 4, 1, 3, 2, 14);
    check_against_ref(1, 9, 17, 2, 2, 1, 0, 1, 19);
    check_against_ref(1, 10, 17, 2, 2, 1, 0, 2, 27); /* odd OH, unpadded: no over-read */
    /* im2col with stride 1 and long rows */
    check_against_ref(8, 13, 13, 16, 3, 1, 0, 4, 15);
    check_against_ref(2, 7, 20, 3, 3, 1, 1, 3, 16);
    /* stride larger than the kernel skips pixels */
    check_against_ref(2, 12, 10, 3, 2, 3, 1, 2, 17);
    /* one channel but stride 2: im2col */
    check_against_ref(1, 12, 15, 4, 3, 2, 0, 2, 18);
    /* 1x1 kernels */
    check_against_ref(6, 9, 11, 4, 1, 1, 0, 3, 21);
    check_against_ref(5, 9, 11, 4, 1, 2, 1, 2, 22);
    /* batches large enough to be split over threads (when OpenBLAS has
     * more than one), for each path */
    check_against_ref(1, 28, 28, 16, 3, 1, 1, 5, 23);
    check_against_ref(4, 12, 10, 8, 3, 1, 1, 9, 24);
    check_against_ref(3, 21, 17, 8, 3, 2, 1, 13, 25);
    check_against_ref(16, 12, 12, 16, 1, 1, 0, 12, 26);
    /* layers large enough for whole-batch GEMMs (more than 262144
     * multiply-adds per sample), with stride and padding */
    check_against_ref(16, 13, 13, 32, 3, 1, 1, 3, 28);
    check_against_ref(16, 20, 18, 32, 3, 2, 1, 3, 29);
    /* ... and columns too large for one chunk (289 x 576 floats a sample:
     * chunks of 3 samples), evenly split and not */
    check_against_ref(32, 24, 24, 2, 3, 1, 1, 30, 30);
    check_against_ref(32, 24, 24, 2, 3, 1, 1, 7, 31);
}

/* ---- gradient checks ----------------------------------------------------- */

static void gc(size_t c, size_t h, size_t w, size_t oc, size_t k, size_t s, size_t p, size_t b,
               int training)
{
    mp_error e;
    conv_case cc;
    REQUIRE(conv_make4(&cc, img(c, h, w), oc, k, s, p, 100 + c * h * w + k, &e) == 0);
    /* nonzero biases so they take part */
    for (size_t o = 0; o < oc; o++)
        cc.l.params[1].w[o] = 0.1f * (float)o - 0.05f;
    int bad = nn_gradcheck(&cc.l, b, training, 5 + b, 300, 2e-2);
    if (bad)
        fprintf(stderr, "gradcheck failed: %zux%zux%zu oc=%zu k=%zu s=%zu p=%zu b=%zu\n", c, h, w,
                oc, k, s, p, b);
    CHECK(bad == 0);
    mp_nn_layer_clear(&cc.l);
}

static void test_gradcheck(void)
{
    /* C, H, W, OC, k, stride, padding, batch, training; one channel with
     * rows of 8 or more and stride 1 is the direct path */
    gc(1, 5, 5, 2, 3, 1, 0, 1, 1);
    gc(1, 6, 5, 4, 3, 1, 1, 3, 1);
    gc(1, 7, 12, 2, 5, 1, 2, 3, 1);
    gc(1, 6, 11, 2, 1, 1, 0, 3, 1);
    gc(1, 9, 7, 2, 5, 2, 2, 3, 1);
    gc(1, 8, 9, 4, 3, 2, 1, 1, 1);
    gc(3, 5, 7, 2, 1, 1, 0, 3, 1);
    gc(3, 7, 6, 4, 5, 1, 2, 1, 1);
    gc(3, 8, 7, 2, 3, 2, 1, 3, 1);
    gc(3, 6, 12, 4, 3, 1, 1, 3, 1);
    gc(3, 6, 9, 4, 3, 1, 0, 1, 1);
    gc(3, 9, 6, 2, 5, 2, 0, 3, 1);
    gc(3, 5, 6, 2, 3, 1, 2, 1, 1);
    /* with training off (the layer must not depend on it) */
    gc(3, 6, 7, 2, 3, 1, 1, 3, 0);
    gc(1, 6, 7, 2, 3, 1, 1, 3, 0);
    /* whole-batch GEMMs (over 262144 multiply-adds per sample) */
    gc(16, 8, 8, 32, 3, 1, 1, 2, 1);
    gc(16, 8, 8, 32, 3, 1, 1, 2, 0);
}

/* A large layer batches its GEMMs while OpenBLAS has threads and works per
 * sample on threads of its own while OpenBLAS is set to one (as the
 * trainer may do between batches, even between a forward and its
 * backward): same results either way, within rounding. */
static void test_blas_threads_change(void)
{
    int nt0 = openblas_get_num_threads();
    if (nt0 < 2)
        return; /* nothing to switch */
    mp_error e;
    conv_case cc;
    REQUIRE(conv_make4(&cc, img(16, 13, 13), 32, 3, 1, 1, 5, &e) == 0);
    size_t b = 6, ni = b * 16 * 169, no = b * 32 * 169, nw = cc.l.params[0].n;
    mp_nn_run run = {1, NULL};
    size_t nws = cc.l.ops->workspace(&cc.l, b, &run);
    float *x = malloc(ni * sizeof *x), *dy = malloc(no * sizeof *dy), *ws = malloc(nws * sizeof *ws);
    float *y[2], *dx[2], *dw[2];
    for (int i = 0; i < 2; i++) {
        y[i] = malloc(no * sizeof(float));
        dx[i] = malloc(ni * sizeof(float));
        dw[i] = malloc(nw * sizeof(float));
    }
    REQUIRE(x && dy && ws && y[0] && y[1] && dx[0] && dx[1] && dw[0] && dw[1]);
    mp_rng rng;
    mp_rng_seed(&rng, 77);
    for (size_t i = 0; i < ni; i++)
        x[i] = (float)(2 * mp_rng_uniform(&rng) - 1);
    for (size_t i = 0; i < no; i++)
        dy[i] = (float)(2 * mp_rng_uniform(&rng) - 1);
    for (int i = 0; i < 2; i++) {
        memset(cc.l.params[0].g, 0, nw * sizeof(float));
        cc.l.ops->forward(&cc.l, x, y[i], b, ws, &run);
        if (i == 1)
            openblas_set_num_threads(1);
        cc.l.ops->backward(&cc.l, x, y[i], dy, dx[i], b, ws, &run);
        openblas_set_num_threads(nt0);
        memcpy(dw[i], cc.l.params[0].g, nw * sizeof(float));
    }
    /* and a forward with one OpenBLAS thread */
    float *y1 = malloc(no * sizeof *y1);
    REQUIRE(y1);
    openblas_set_num_threads(1);
    cc.l.ops->forward(&cc.l, x, y1, b, ws, &run);
    openblas_set_num_threads(nt0);
    int bad = 0;
    for (size_t i = 0; i < no; i++)
        bad += !(fabs(y[0][i] - y[1][i]) <= 1e-5 && fabs(y1[i] - y[0][i]) <= 1e-4);
    for (size_t i = 0; i < ni; i++)
        bad += !(fabs(dx[0][i] - dx[1][i]) <= 1e-4);
    for (size_t i = 0; i < nw; i++)
        bad += !(fabs(dw[0][i] - dw[1][i]) <= 1e-3 * fmax(1, fabs(dw[0][i])));
    CHECK(bad == 0);
    free(y1);
    for (int i = 0; i < 2; i++) {
        free(y[i]);
        free(dx[i]);
        free(dw[i]);
    }
    free(x);
    free(dy);
    free(ws);
    mp_nn_layer_clear(&cc.l);
}

/* Workspace sizes: at least one sample's columns for im2col, the padded
 * image for the direct path, none for zero samples; inference never needs
 * more than training. */
static void test_workspace(void)
{
    mp_error e;
    conv_case cc;
    mp_nn_run tr = {1, NULL}, inf = {0, NULL};
    REQUIRE(conv_make4(&cc, img(8, 13, 13), 16, 3, 1, 0, 1, &e) == 0);
    size_t a = cc.l.ops->workspace(&cc.l, 64, &tr), b = cc.l.ops->workspace(&cc.l, 64, &inf);
    CHECK(a >= (size_t)72 * 121);
    CHECK(b <= a);
    CHECK(cc.l.ops->workspace(&cc.l, 0, &tr) == 0);
    mp_nn_layer_clear(&cc.l);
    REQUIRE(conv_make4(&cc, img(1, 28, 28), 8, 3, 1, 2, 1, &e) == 0);
    CHECK(cc.l.ops->workspace(&cc.l, 1, &tr) >= (size_t)32 * 32);
    mp_nn_layer_clear(&cc.l);
}

int main(void)
{
    RUN(test_configure_good);
    RUN(test_init_ranges);
    RUN(test_configure_bad);
    RUN(test_shape_errors);
    RUN(test_hand_forward);
    RUN(test_reference);
    RUN(test_gradcheck);
    RUN(test_blas_threads_change);
    RUN(test_workspace);
    return TEST_SUMMARY();
}
