/* Tests for the recurrent layers lstm and gru: arguments and shapes,
 * initialisation, a hand-computed one-unit case, a naive per-sample
 * per-step reference, and gradient checks over the shapes and modes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "nn/layers.h"
#include "nn/nn_rnn.h"
#include "test.h"
#include "nn_gradcheck.h"

/* A layer built as the network would: configure, then init. The text is
 * owned by the test (the layer never frees it). */
typedef struct rnn_case {
    mp_nn_layer l;
    char text[64];
} rnn_case;

static int build(rnn_case *c, const mp_nn_layer_ops *ops, const char *text, const mp_nn_arg *args,
                 size_t nargs, mp_nn_shape in, uint64_t seed, mp_error *e)
{
    memset(c, 0, sizeof *c);
    snprintf(c->text, sizeof c->text, "%s", text);
    c->l.ops = ops;
    c->l.text = c->text;
    c->l.index = 2;
    c->l.in = in;
    int rc = ops->configure(&c->l, args, nargs, e);
    if (rc < 0)
        return rc;
    mp_rng rng;
    mp_rng_seed(&rng, seed);
    return ops->init(&c->l, &rng, e);
}

static mp_nn_shape shape2(size_t a, size_t b)
{
    mp_nn_shape s = {2, {a, b, 0}};
    return s;
}

static mp_nn_shape shape3(size_t a, size_t b, size_t c)
{
    mp_nn_shape s = {3, {a, b, c}};
    return s;
}

/* Runs forward (and optionally backward with dout) on b samples. */
static void run(mp_nn_layer *l, const float *x, float *out, size_t b, int training)
{
    mp_nn_run r = {training, NULL};
    size_t nws = l->ops->workspace(l, b, &r);
    float *ws = calloc(nws ? nws : 1, sizeof *ws);
    if (!ws)
        return;
    l->ops->forward(l, x, out, b, ws, &r);
    free(ws);
}

/* ---- arguments and shapes ---- */

static void expect_config_error(const mp_nn_layer_ops *ops, const char *text,
                                const mp_nn_arg *args, size_t nargs, const char *needle)
{
    rnn_case c;
    mp_error e;
    mp_error_clear(&e);
    int rc = build(&c, ops, text, args, nargs, shape2(5, 3), 1, &e);
    CHECK(rc == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, needle);
    CHECK_STR_CONTAINS(e.msg, text);
    CHECK_STR_CONTAINS(e.msg, ops->usage);
    mp_nn_layer_clear(&c.l);
}

static void test_bad_arguments(void)
{
    const mp_nn_layer_ops *ops[2] = {&mp_nn_lstm_ops, &mp_nn_gru_ops};
    for (int k = 0; k < 2; k++) {
        mp_nn_arg zero = {NULL, NULL, 0};
        mp_nn_arg neg = {NULL, NULL, -4};
        mp_nn_arg frac = {NULL, NULL, 2.5};
        mp_nn_arg huge = {NULL, NULL, 1e9};
        mp_nn_arg nan_units = {NULL, NULL, NAN};
        mp_nn_arg four = {NULL, NULL, 4};
        mp_nn_arg word_bad[2] = {{NULL, NULL, 4}, {NULL, "sequence", 0}};
        mp_nn_arg word_twice[3] = {{NULL, NULL, 4}, {NULL, "sequences", 0},
                                   {NULL, "sequences", 0}};
        mp_nn_arg two_nums[2] = {{NULL, NULL, 4}, {NULL, NULL, 5}};
        mp_nn_arg keyed[2] = {{NULL, NULL, 4}, {"dropout", NULL, 0.5}};
        mp_nn_arg only_word = {NULL, "sequences", 0};
        expect_config_error(ops[k], k ? "gru(0)" : "lstm(0)", &zero, 1, "units must be");
        expect_config_error(ops[k], "rnn(-4)", &neg, 1, "got -4");
        expect_config_error(ops[k], "rnn(2.5)", &frac, 1, "got 2.5");
        expect_config_error(ops[k], "rnn(1e9)", &huge, 1, "units must be an integer from 1");
        expect_config_error(ops[k], "rnn(nan)", &nan_units, 1, "units must be");
        expect_config_error(ops[k], "rnn(4,sequence)", word_bad, 2, "unknown word 'sequence'");
        expect_config_error(ops[k], "rnn(4,sequences,sequences)", word_twice, 3, "twice");
        expect_config_error(ops[k], "rnn(4,5)", two_nums, 2, "too many numbers");
        expect_config_error(ops[k], "rnn(4,dropout=0.5)", keyed, 2, "unknown argument 'dropout'");
        expect_config_error(ops[k], "rnn()", NULL, 0, "missing the number of units");
        expect_config_error(ops[k], "rnn(sequences)", &only_word, 1,
                            "missing the number of units");
        /* The good ones, for contrast. */
        rnn_case c;
        mp_error e;
        CHECK(build(&c, ops[k], "rnn(4)", &four, 1, shape2(5, 3), 1, &e) == 0);
        mp_nn_layer_clear(&c.l);
    }
}

static void expect_shape_error(const mp_nn_layer_ops *ops, mp_nn_shape in, const char *got,
                               const char *hint)
{
    rnn_case c;
    mp_error e;
    mp_error_clear(&e);
    mp_nn_arg a = {NULL, NULL, 64};
    const char *text = ops == &mp_nn_lstm_ops ? "lstm(64)" : "gru(64)";
    int rc = build(&c, ops, text, &a, 1, in, 1, &e);
    CHECK(rc == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "layer 2 (");
    CHECK_STR_CONTAINS(e.msg, text);
    CHECK_STR_CONTAINS(e.msg, "expects a sequence T x F (or 1 x T x F)");
    CHECK_STR_CONTAINS(e.msg, got);
    CHECK_STR_CONTAINS(e.msg, hint);
    CHECK(c.l.nparams == 0);
    mp_nn_layer_clear(&c.l);
}

static void test_bad_shapes(void)
{
    const mp_nn_layer_ops *ops[2] = {&mp_nn_lstm_ops, &mp_nn_gru_ops};
    for (int k = 0; k < 2; k++) {
        mp_nn_shape flat = {1, {784, 0, 0}};
        expect_shape_error(ops[k], flat, "got 784", "no time axis");
        expect_shape_error(ops[k], shape3(3, 28, 28), "got 3x28x28", "only one channel");
        expect_shape_error(ops[k], shape3(8, 13, 13), "got 8x13x13", "");
        expect_shape_error(ops[k], shape2(0, 5), "got 0x5", "");
    }
}

static void test_shapes_and_init(void)
{
    const mp_nn_layer_ops *ops[2] = {&mp_nn_lstm_ops, &mp_nn_gru_ops};
    const int64_t gates[2] = {4, 3};
    for (int k = 0; k < 2; k++) {
        for (int seq = 0; seq < 2; seq++) {
            for (int three = 0; three < 2; three++) {
                rnn_case c;
                mp_error e;
                mp_nn_arg a[2] = {{NULL, NULL, 16}, {NULL, "sequences", 0}};
                mp_nn_shape in = three ? shape3(1, 28, 12) : shape2(28, 12);
                REQUIRE(build(&c, ops[k], "rnn(16)", a, seq ? 2 : 1, in, 7, &e) == 0);
                if (seq) {
                    CHECK(c.l.out.ndim == 2 && c.l.out.d[0] == 28 && c.l.out.d[1] == 16);
                } else {
                    CHECK(c.l.out.ndim == 1 && c.l.out.d[0] == 16);
                }
                REQUIRE(c.l.nparams == 4);
                const char *names[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
                const int64_t cols[2] = {12, 16};
                const float bound = 0.25f; /* 1 / sqrt(16) */
                for (int p = 0; p < 4; p++) {
                    mp_nn_param *pr = &c.l.params[p];
                    CHECK(strcmp(pr->name, names[p]) == 0);
                    CHECK(pr->g != NULL);
                    CHECK(pr->decay == (p < 2));
                    CHECK(pr->shape[0] == gates[k] * 16);
                    if (p < 2) {
                        CHECK(pr->ndim == 2 && pr->shape[1] == cols[p]);
                    } else {
                        CHECK(pr->ndim == 1);
                    }
                    float lo = 1, hi = -1;
                    for (size_t i = 0; i < pr->n; i++) {
                        lo = fminf(lo, pr->w[i]);
                        hi = fmaxf(hi, pr->w[i]);
                    }
                    /* Every tensor, biases too, spans most of [-1/sqrt(H), 1/sqrt(H)]. */
                    CHECK(lo >= -bound && hi <= bound);
                    CHECK(lo < -0.6f * bound && hi > 0.6f * bound);
                }
                mp_nn_layer_clear(&c.l);
            }
        }
    }
}

/* ---- a hand-computed one-unit case ---- */

static void set_params(mp_nn_layer *l, const float *wih, const float *whh, const float *bih,
                       const float *bhh)
{
    const float *src[4] = {wih, whh, bih, bhh};
    for (int p = 0; p < 4; p++)
        memcpy(l->params[p].w, src[p], l->params[p].n * sizeof(float));
}

static void test_lstm_by_hand(void)
{
    rnn_case c;
    mp_error e;
    mp_nn_arg a[2] = {{NULL, NULL, 1}, {NULL, "sequences", 0}};
    REQUIRE(build(&c, &mp_nn_lstm_ops, "lstm(1,sequences)", a, 2, shape2(2, 1), 1, &e) == 0);
    /* Gates i f g o. */
    const float wih[4] = {0.5f, -0.5f, 1.0f, 0.25f}, whh[4] = {0.1f, 0.2f, -0.3f, 0.4f};
    const float bih[4] = {0.1f, 0.2f, 0.3f, 0.4f}, bhh[4] = {0.0f, 0.1f, -0.1f, 0.05f};
    set_params(&c.l, wih, whh, bih, bhh);
    const float x[2] = {1.0f, -0.5f};
    float out[2] = {0, 0};
    run(&c.l, x, out, 1, 0);
    /* Step 1 (h = c = 0, x = 1): pre-activations i 0.6, f -0.2, g 1.2,
     * o 0.7; i = 0.645656, f = 0.450166, g = 0.833655, o = 0.668188;
     * c = i g = 0.538254; h = o tanh(c) = 0.328525.
     * Step 2 (x = -0.5): pre i = -0.25 + 0.1 + 0.1 h = -0.117148,
     * f = 0.25 + 0.3 + 0.2 h = 0.615705, g = -0.5 + 0.2 - 0.3 h = -0.398557,
     * o = -0.125 + 0.45 + 0.4 h = 0.456410; i = 0.470747, f = 0.649241,
     * g = -0.378714, o = 0.612162; c = f 0.538254 + i g = 0.171179;
     * h = o tanh(c) = 0.103777. */
    CHECK_NEAR(out[0], 0.32852483557676077, 1e-6);
    CHECK_NEAR(out[1], 0.10377736349614695, 1e-6);
    mp_nn_layer_clear(&c.l);

    /* Many-to-one gives the last state only. */
    REQUIRE(build(&c, &mp_nn_lstm_ops, "lstm(1)", a, 1, shape3(1, 2, 1), 1, &e) == 0);
    set_params(&c.l, wih, whh, bih, bhh);
    out[0] = out[1] = -7;
    run(&c.l, x, out, 1, 0);
    CHECK_NEAR(out[0], 0.10377736349614695, 1e-6);
    CHECK(out[1] == -7); /* nothing written past the one output */
    mp_nn_layer_clear(&c.l);
}

static void test_gru_by_hand(void)
{
    rnn_case c;
    mp_error e;
    mp_nn_arg a[2] = {{NULL, NULL, 1}, {NULL, "sequences", 0}};
    REQUIRE(build(&c, &mp_nn_gru_ops, "gru(1,sequences)", a, 2, shape2(2, 1), 1, &e) == 0);
    /* Gates r z n. */
    const float wih[3] = {0.5f, -0.4f, 0.9f}, whh[3] = {0.3f, -0.2f, 0.6f};
    const float bih[3] = {0.1f, 0.0f, -0.2f}, bhh[3] = {0.05f, 0.1f, 0.3f};
    set_params(&c.l, wih, whh, bih, bhh);
    const float x[2] = {1.0f, -0.5f};
    float out[2] = {0, 0};
    run(&c.l, x, out, 1, 1);
    /* Step 1 (h = 0, x = 1): r = sigmoid(0.65) = 0.657010,
     * z = sigmoid(-0.3) = 0.425557, n = tanh(0.7 + r 0.3) = 0.714884,
     * h = (1 - z) n = 0.410660.
     * Step 2 (x = -0.5): r = sigmoid(-0.1 + 0.3 h) = 0.505799,
     * z = sigmoid(0.3 - 0.2 h) = 0.554253,
     * n = tanh(-0.65 + r (0.6 h + 0.3)) = -0.357166,
     * h' = (1 - z) n + z h = 0.068404. PyTorch puts b_hn inside r's
     * product, which this case notices: with b_hn outside it, step 1's n
     * would be tanh(0.7 + 0.3) = 0.761594. */
    CHECK_NEAR(out[0], 0.41065999924407126, 1e-6);
    CHECK_NEAR(out[1], 0.06840369346541747, 1e-6);
    mp_nn_layer_clear(&c.l);
}

/* Saturated gates: pre-activations of +-500 must give exact 0/1 gates and
 * finite states, not the garbage an overflowing exponent would. */
static void test_saturation(void)
{
    rnn_case c;
    mp_error e;
    mp_nn_arg a[2] = {{NULL, NULL, 1}, {NULL, "sequences", 0}};
    const float x[3] = {10.0f, -10.0f, 1e30f};
    float out[3];
    REQUIRE(build(&c, &mp_nn_lstm_ops, "lstm(1,sequences)", a, 2, shape2(3, 1), 1, &e) == 0);
    const float lw[4] = {50, 50, 50, 50}, lz[4] = {0, 0, 0, 0};
    set_params(&c.l, lw, lz, lz, lz);
    run(&c.l, x, out, 1, 0);
    /* x = 10: i = f = o = 1, g = 1, c = 1, h = tanh(1); x = -10: every
     * gate 0, so c = 0 and h = 0; x = 1e30: back to c = 1. */
    CHECK_NEAR(out[0], 0.7615941559557649, 1e-6);
    CHECK(out[1] == 0.0f);
    CHECK_NEAR(out[2], 0.7615941559557649, 1e-6);
    mp_nn_layer_clear(&c.l);

    REQUIRE(build(&c, &mp_nn_gru_ops, "gru(1,sequences)", a, 2, shape2(3, 1), 1, &e) == 0);
    const float gw[3] = {50, -50, 50}, gz[3] = {0, 0, 0};
    set_params(&c.l, gw, gz, gz, gz);
    run(&c.l, x, out, 1, 0);
    /* x = 10: r = 1, z = 0, n = 1, h = 1; x = -10: z = 1 keeps h = 1. */
    CHECK(out[0] == 1.0f);
    CHECK(out[1] == 1.0f);
    CHECK(out[2] == 1.0f);
    mp_nn_layer_clear(&c.l);
}

/* The shared vector activations against libm, including the clamped ends. */
static void test_activations(void)
{
    double worst_exp = 0, worst_sig = 0, worst_tanh = 0;
    for (double v = -120; v <= 120; v += 0.0037) {
        float f = (float)v;
        mp_v4 x = {f, -f, 0.5f * f, f + 0.001f};
        mp_v4 ex = mp_v4_exp(x), sg = mp_v4_sigmoid(x), th = mp_v4_tanh(x);
        for (int k = 0; k < 4; k++) {
            double xd = x[k];
            if (xd >= -87 && xd <= 88)
                worst_exp = fmax(worst_exp, fabs(ex[k] - exp(xd)) / exp(xd));
            worst_sig = fmax(worst_sig, fabs(sg[k] - 1 / (1 + exp(-xd))));
            worst_tanh = fmax(worst_tanh, fabs(th[k] - tanh(xd)));
        }
    }
    CHECK(worst_exp < 2.5e-7);
    CHECK(worst_sig < 2e-7);
    CHECK(worst_tanh < 3e-7);
    mp_v4 ends = {INFINITY, -INFINITY, 1e30f, -1e30f};
    mp_v4 sg = mp_v4_sigmoid(ends), th = mp_v4_tanh(ends);
    CHECK(sg[0] == 1.0f && sg[2] == 1.0f && sg[1] >= 0.0f && sg[1] < 1e-37f && sg[3] == sg[1]);
    CHECK(th[0] == 1.0f && th[1] == -1.0f && th[2] == 1.0f && th[3] == -1.0f);
    mp_v4 nan = mp_v4_splat(NAN);
    CHECK(isnan(mp_v4_exp(nan)[0]) && isnan(mp_v4_sigmoid(nan)[1]) && isnan(mp_v4_tanh(nan)[2]));
    /* Partial loads and stores touch only the first n floats. */
    float src[3] = {1, 2, 3}, dst[4] = {9, 9, 9, 9};
    mp_v4 v = mp_v4_load(src, 3);
    CHECK(v[0] == 1 && v[1] == 2 && v[2] == 3 && v[3] == 0);
    mp_v4_store(dst, v + 1.0f, 3);
    CHECK(dst[0] == 2 && dst[1] == 3 && dst[2] == 4 && dst[3] == 9);
}

/* ---- a naive reference: one sample, one step, one unit at a time ---- */

static double sigm(double v)
{
    return 1.0 / (1.0 + exp(-v));
}

/* h_all: T x H states of one sample; x: T x F. */
static void ref_lstm(const mp_nn_layer *l, size_t T, size_t F, size_t H, const float *x,
                     double *h_all)
{
    const float *wih = l->params[0].w, *whh = l->params[1].w, *bih = l->params[2].w,
                *bhh = l->params[3].w;
    double h[64] = {0}, c[64] = {0}, hn[64], pre[4];
    for (size_t t = 0; t < T; t++) {
        for (size_t j = 0; j < H; j++) {
            for (size_t g = 0; g < 4; g++) {
                size_t row = g * H + j;
                double v = (double)bih[row] + (double)bhh[row];
                for (size_t k = 0; k < F; k++)
                    v += (double)wih[row * F + k] * x[t * F + k];
                for (size_t k = 0; k < H; k++)
                    v += (double)whh[row * H + k] * h[k];
                pre[g] = v;
            }
            double ig = sigm(pre[0]), fg = sigm(pre[1]), gg = tanh(pre[2]), og = sigm(pre[3]);
            c[j] = fg * c[j] + ig * gg; /* c[j] is read only by unit j */
            hn[j] = og * tanh(c[j]);
        }
        memcpy(h, hn, H * sizeof *h);
        memcpy(h_all + t * H, h, H * sizeof *h);
    }
}

static void ref_gru(const mp_nn_layer *l, size_t T, size_t F, size_t H, const float *x,
                    double *h_all)
{
    const float *wih = l->params[0].w, *whh = l->params[1].w, *bih = l->params[2].w,
                *bhh = l->params[3].w;
    double h[64] = {0}, hn[64], xi[3], hh[3];
    for (size_t t = 0; t < T; t++) {
        for (size_t j = 0; j < H; j++) {
            for (size_t g = 0; g < 3; g++) {
                size_t row = g * H + j;
                xi[g] = bih[row];
                hh[g] = bhh[row];
                for (size_t k = 0; k < F; k++)
                    xi[g] += (double)wih[row * F + k] * x[t * F + k];
                for (size_t k = 0; k < H; k++)
                    hh[g] += (double)whh[row * H + k] * h[k];
            }
            double r = sigm(xi[0] + hh[0]), z = sigm(xi[1] + hh[1]);
            double n = tanh(xi[2] + r * hh[2]);
            hn[j] = (1 - z) * n + z * h[j];
        }
        memcpy(h, hn, H * sizeof *h);
        memcpy(h_all + t * H, h, H * sizeof *h);
    }
}

static void compare_with_reference(const mp_nn_layer_ops *ops, int three)
{
    const size_t T = 6, F = 5, H = 9, b = 4;
    mp_nn_arg a[2] = {{NULL, NULL, (double)H}, {NULL, "sequences", 0}};
    mp_nn_shape in = three ? shape3(1, T, F) : shape2(T, F);
    rnn_case cs, cl;
    mp_error e;
    REQUIRE(build(&cs, ops, "rnn(9,sequences)", a, 2, in, 99, &e) == 0);
    REQUIRE(build(&cl, ops, "rnn(9)", a, 1, in, 99, &e) == 0);
    /* Larger weights than the default init, so the gates saturate unevenly. */
    mp_rng rng;
    mp_rng_seed(&rng, 5);
    for (int p = 0; p < 4; p++)
        for (size_t i = 0; i < cs.l.params[p].n; i++)
            cl.l.params[p].w[i] = cs.l.params[p].w[i] = (float)(1.6 * mp_rng_uniform(&rng) - 0.8);
    float x[4 * 6 * 5], seq[4 * 6 * 9], last[4 * 9];
    for (size_t i = 0; i < b * T * F; i++)
        x[i] = (float)(4 * mp_rng_uniform(&rng) - 2);
    run(&cs.l, x, seq, b, 1);
    run(&cl.l, x, last, b, 0);
    double ref[6 * 9];
    double worst = 0;
    for (size_t s = 0; s < b; s++) {
        if (ops == &mp_nn_lstm_ops)
            ref_lstm(&cs.l, T, F, H, x + s * T * F, ref);
        else
            ref_gru(&cs.l, T, F, H, x + s * T * F, ref);
        for (size_t i = 0; i < T * H; i++)
            worst = fmax(worst, fabs(seq[s * T * H + i] - ref[i]));
        for (size_t j = 0; j < H; j++)
            worst = fmax(worst, fabs(last[s * H + j] - ref[(T - 1) * H + j]));
    }
    CHECK_NEAR(worst, 0, 1e-5);
    mp_nn_layer_clear(&cs.l);
    mp_nn_layer_clear(&cl.l);
}

static void test_reference_lstm(void)
{
    compare_with_reference(&mp_nn_lstm_ops, 0);
    compare_with_reference(&mp_nn_lstm_ops, 1);
}

static void test_reference_gru(void)
{
    compare_with_reference(&mp_nn_gru_ops, 0);
    compare_with_reference(&mp_nn_gru_ops, 1);
}

/* ---- gradients ---- */

static void gradcheck_all(const mp_nn_layer_ops *ops)
{
    const size_t Ts[2] = {1, 5}, bs[2] = {1, 3};
    for (int seq = 0; seq < 2; seq++)
        for (int three = 0; three < 2; three++)
            for (int ti = 0; ti < 2; ti++)
                for (int bi = 0; bi < 2; bi++) {
                    size_t T = Ts[ti], F = 4, H = 5; /* one full block of 4 and a tail */
                    mp_nn_arg a[2] = {{NULL, NULL, (double)H}, {NULL, "sequences", 0}};
                    mp_nn_shape in = three ? shape3(1, T, F) : shape2(T, F);
                    char text[64];
                    snprintf(text, sizeof text, "%s(5%s) T=%zu b=%zu%s", ops->name,
                             seq ? ",sequences" : "", T, bs[bi], three ? " 1xTxF" : "");
                    rnn_case c;
                    mp_error e;
                    REQUIRE(build(&c, ops, text, a, seq ? 2 : 1, in, 11 + (uint64_t)ti, &e) == 0);
                    /* Weights of a trained size, so every term matters. */
                    mp_rng rng;
                    mp_rng_seed(&rng, 3 + (uint64_t)bi);
                    for (int p = 0; p < 4; p++)
                        for (size_t i = 0; i < c.l.params[p].n; i++)
                            c.l.params[p].w[i] = (float)(1.2 * mp_rng_uniform(&rng) - 0.6);
                    int bad = nn_gradcheck(&c.l, bs[bi], 1, 21, 200, 2e-2);
                    if (bad)
                        fprintf(stderr, "  in %s\n", text);
                    CHECK(bad == 0);
                    mp_nn_layer_clear(&c.l);
                }
}

static void test_gradcheck_lstm(void)
{
    gradcheck_all(&mp_nn_lstm_ops);
}

static void test_gradcheck_gru(void)
{
    gradcheck_all(&mp_nn_gru_ops);
}

/* backward adds to the gradients and leaves the workspace's forward state
 * usable: a second backward adds the same amounts again. */
static void test_backward_accumulates(void)
{
    const mp_nn_layer_ops *ops[2] = {&mp_nn_lstm_ops, &mp_nn_gru_ops};
    for (int k = 0; k < 2; k++) {
        rnn_case c;
        mp_error e;
        mp_nn_arg a[2] = {{NULL, NULL, 5}, {NULL, "sequences", 0}};
        REQUIRE(build(&c, ops[k], "rnn(5,sequences)", a, 2, shape2(4, 3), 3, &e) == 0);
        const size_t b = 2, ni = b * 12, no = b * 20;
        float x[24], out[40], dout[40], din1[24], din2[24];
        mp_rng rng;
        mp_rng_seed(&rng, 8);
        for (size_t i = 0; i < ni; i++)
            x[i] = (float)(2 * mp_rng_uniform(&rng) - 1);
        for (size_t i = 0; i < no; i++)
            dout[i] = (float)(2 * mp_rng_uniform(&rng) - 1);
        mp_nn_run r = {1, NULL};
        size_t nws = c.l.ops->workspace(&c.l, b, &r);
        float *ws = calloc(nws, sizeof *ws);
        REQUIRE(ws);
        c.l.ops->forward(&c.l, x, out, b, ws, &r);
        c.l.ops->backward(&c.l, x, out, dout, din1, b, ws, &r);
        float *g1[4];
        int ok = 1;
        for (int p = 0; p < 4; p++) {
            g1[p] = malloc(c.l.params[p].n * sizeof(float));
            if (g1[p])
                memcpy(g1[p], c.l.params[p].g, c.l.params[p].n * sizeof(float));
            else
                ok = 0;
        }
        if (ok) {
            c.l.ops->backward(&c.l, x, out, dout, din2, b, ws, &r);
            double worst = 0, norm = 0;
            for (int p = 0; p < 4; p++)
                for (size_t i = 0; i < c.l.params[p].n; i++) {
                    worst = fmax(worst, fabs(c.l.params[p].g[i] - 2 * g1[p][i]));
                    norm += fabs(g1[p][i]);
                }
            for (size_t i = 0; i < ni; i++)
                worst = fmax(worst, fabs(din1[i] - din2[i]));
            CHECK(norm > 0.1);
            CHECK_NEAR(worst, 0, 1e-6);
            /* The first layer needs no din: backward must cope with NULL. */
            c.l.ops->backward(&c.l, x, out, dout, NULL, b, ws, &r);
            CHECK_NEAR(c.l.params[1].g[0], 3 * g1[1][0], 1e-5);
        }
        CHECK(ok);
        for (int p = 0; p < 4; p++)
            free(g1[p]);
        free(ws);
        mp_nn_layer_clear(&c.l);
    }
}

int main(void)
{
    RUN(test_bad_arguments);
    RUN(test_bad_shapes);
    RUN(test_shapes_and_init);
    RUN(test_lstm_by_hand);
    RUN(test_gru_by_hand);
    RUN(test_saturation);
    RUN(test_activations);
    RUN(test_reference_lstm);
    RUN(test_reference_gru);
    RUN(test_gradcheck_lstm);
    RUN(test_gradcheck_gru);
    RUN(test_backward_accumulates);
    return TEST_SUMMARY();
}
