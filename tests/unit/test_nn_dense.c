/* Dense, activation and flatten layers: hand-computed forward and backward
 * values, gradient checks against central differences, initialisation
 * ranges, numerical stability at extreme inputs, and argument and shape
 * errors. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/layers.h"
#include "test.h"
#include "nn_gradcheck.h"

/* Configures and initialises one layer on its own, as mp_nn_net_build
 * would for a layer at position 1. */
static int make_layer(mp_nn_layer *l, const mp_nn_layer_ops *ops, const char *text,
                      const mp_nn_arg *args, size_t nargs, mp_nn_shape in, int he, uint64_t seed,
                      mp_error *e)
{
    memset(l, 0, sizeof *l);
    l->ops = ops;
    l->text = (char *)text;
    l->index = 1;
    l->he = he;
    l->in = in;
    int rc = ops->configure(l, args, nargs, e);
    if (rc)
        return rc;
    mp_rng rng;
    mp_rng_seed(&rng, seed);
    return ops->init(l, &rng, e);
}

static mp_nn_shape shape1(size_t a) { return (mp_nn_shape){1, {a, 0, 0}}; }
static mp_nn_shape shape3(size_t a, size_t b, size_t c) { return (mp_nn_shape){3, {a, b, c}}; }

static void test_dense_forward_backward_by_hand(void)
{
    mp_nn_layer l;
    mp_error e = {0};
    mp_nn_arg a = {NULL, NULL, 2};
    REQUIRE(make_layer(&l, &mp_nn_dense_ops, "dense(2)", &a, 1, shape1(3), 0, 1, &e) == 0);
    CHECK(l.out.ndim == 1 && l.out.d[0] == 2);
    REQUIRE(l.nparams == 2);
    CHECK_STR_CONTAINS(l.params[0].name, "weight");
    CHECK(l.params[0].ndim == 2 && l.params[0].shape[0] == 2 && l.params[0].shape[1] == 3);
    CHECK(l.params[0].decay == 1 && l.params[1].decay == 0);
    const float W[6] = {1, 2, 3, -1, 0, 0.5f}, B[2] = {0.5f, -1};
    memcpy(l.params[0].w, W, sizeof W);
    memcpy(l.params[1].w, B, sizeof B);
    const float x[6] = {1, 1, 1, 2, 0, -2};
    float y[4];
    mp_nn_run run = {0, NULL};
    l.ops->forward(&l, x, y, 2, NULL, &run);
    CHECK_NEAR(y[0], 6.5, 1e-6);
    CHECK_NEAR(y[1], -1.5, 1e-6);
    CHECK_NEAR(y[2], -3.5, 1e-6);
    CHECK_NEAR(y[3], -4.0, 1e-6);

    const float dout[4] = {1, 0, 0, 1};
    float din[6];
    memset(l.params[0].g, 0, 6 * sizeof(float));
    memset(l.params[1].g, 0, 2 * sizeof(float));
    l.ops->backward(&l, x, y, dout, din, 2, NULL, &run);
    const float dw[6] = {1, 1, 1, 2, 0, -2}, dx[6] = {1, 2, 3, -1, 0, 0.5f};
    for (int i = 0; i < 6; i++) {
        CHECK_NEAR(l.params[0].g[i], dw[i], 1e-6);
        CHECK_NEAR(din[i], dx[i], 1e-6);
    }
    CHECK_NEAR(l.params[1].g[0], 1, 1e-6);
    CHECK_NEAR(l.params[1].g[1], 1, 1e-6);
    /* backward adds: a second call doubles the parameter gradients */
    l.ops->backward(&l, x, y, dout, NULL, 2, NULL, &run);
    CHECK_NEAR(l.params[0].g[5], -4, 1e-6);
    CHECK_NEAR(l.params[1].g[1], 2, 1e-6);
    mp_nn_layer_clear(&l);
}

static void test_dense_gradcheck_and_init(void)
{
    for (int he = 0; he <= 1; he++) {
        mp_nn_layer l;
        mp_error e = {0};
        mp_nn_arg a = {"units", NULL, 5};
        REQUIRE(make_layer(&l, &mp_nn_dense_ops, "dense(units=5)", &a, 1, shape1(7), he, 3,
                           &e) == 0);
        /* Xavier bound sqrt(6/12) ~ 0.707, He bound sqrt(6/7) ~ 0.926 */
        double bound = he ? sqrt(6.0 / 7) : sqrt(6.0 / 12), maxw = 0;
        for (size_t i = 0; i < l.params[0].n; i++)
            maxw = fmax(maxw, fabs(l.params[0].w[i]));
        CHECK(maxw <= bound);
        CHECK(maxw > 0.6 * bound);
        if (he)
            CHECK(maxw > sqrt(6.0 / 12));
        for (size_t i = 0; i < l.params[1].n; i++)
            CHECK(l.params[1].w[i] == 0);
        /* non-zero bias, so its gradient path matters */
        for (size_t i = 0; i < 5; i++)
            l.params[1].w[i] = 0.1f * (float)i;
        CHECK(nn_gradcheck(&l, 4, 1, 11, 100, 2e-2) == 0);
        mp_nn_layer_clear(&l);
    }
}

static void test_dense_errors(void)
{
    mp_nn_layer l;
    mp_error e = {0};
    mp_nn_arg zero = {NULL, NULL, 0}, frac = {NULL, NULL, 2.5}, word = {NULL, "ten", NAN};
    mp_nn_arg badkey = {"size", NULL, 3}, two[2] = {{NULL, NULL, 3}, {NULL, NULL, 4}};
    CHECK(make_layer(&l, &mp_nn_dense_ops, "dense", NULL, 0, shape1(3), 0, 1, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "layer 1 (dense)");
    CHECK_STR_CONTAINS(e.msg, "usage: dense(units)");
    CHECK(make_layer(&l, &mp_nn_dense_ops, "dense(0)", &zero, 1, shape1(3), 0, 1, &e) ==
          MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "units must be an integer");
    CHECK(make_layer(&l, &mp_nn_dense_ops, "dense(2.5)", &frac, 1, shape1(3), 0, 1, &e) ==
          MP_EINVAL);
    CHECK(make_layer(&l, &mp_nn_dense_ops, "dense(ten)", &word, 1, shape1(3), 0, 1, &e) ==
          MP_EINVAL);
    CHECK(make_layer(&l, &mp_nn_dense_ops, "dense(size=3)", &badkey, 1, shape1(3), 0, 1, &e) ==
          MP_EINVAL);
    CHECK(make_layer(&l, &mp_nn_dense_ops, "dense(3,4)", two, 2, shape1(3), 0, 1, &e) ==
          MP_EINVAL);
    mp_nn_arg ten = {NULL, NULL, 10};
    CHECK(make_layer(&l, &mp_nn_dense_ops, "dense(10)", &ten, 1, shape3(8, 13, 13), 0, 1, &e) ==
          MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg,
                       "layer 1 (dense(10)): expects a flat input, got 8x13x13; add flatten "
                       "before it");
    mp_nn_layer_clear(&l);
}

static void test_activation_values(void)
{
    const float x[6] = {-100, -1, 0, 0.5f, 1, 100};
    float y[6];
    mp_nn_run run = {0, NULL};
    mp_nn_layer l;
    mp_error e = {0};

    REQUIRE(make_layer(&l, &mp_nn_relu_ops, "relu", NULL, 0, shape1(6), 0, 1, &e) == 0);
    l.ops->forward(&l, x, y, 1, NULL, &run);
    const float relu[6] = {0, 0, 0, 0.5f, 1, 100};
    for (int i = 0; i < 6; i++)
        CHECK_NEAR(y[i], relu[i], 0);
    mp_nn_layer_clear(&l);

    mp_nn_arg slope = {"slope", NULL, 0.2};
    REQUIRE(make_layer(&l, &mp_nn_leaky_relu_ops, "leaky_relu(slope=0.2)", &slope, 1, shape1(6),
                       0, 1, &e) == 0);
    l.ops->forward(&l, x, y, 1, NULL, &run);
    CHECK_NEAR(y[0], -20, 1e-5);
    CHECK_NEAR(y[1], -0.2, 1e-7);
    CHECK_NEAR(y[4], 1, 0);
    mp_nn_layer_clear(&l);
    /* default slope: PyTorch's 0.01 */
    REQUIRE(make_layer(&l, &mp_nn_leaky_relu_ops, "leaky_relu", NULL, 0, shape1(6), 0, 1, &e) ==
            0);
    l.ops->forward(&l, x, y, 1, NULL, &run);
    CHECK_NEAR(y[1], -0.01, 1e-8);
    mp_nn_layer_clear(&l);

    REQUIRE(make_layer(&l, &mp_nn_sigmoid_ops, "sigmoid", NULL, 0, shape1(6), 0, 1, &e) == 0);
    l.ops->forward(&l, x, y, 1, NULL, &run);
    CHECK(y[0] >= 0 && y[0] < 1e-40); /* exp(-100) ~ 3.7e-44, no NaN */
    CHECK_NEAR(y[1], 0.2689414213699951, 1e-7);
    CHECK_NEAR(y[2], 0.5, 0);
    CHECK_NEAR(y[3], 0.6224593312018546, 1e-7);
    CHECK_NEAR(y[5], 1, 0);
    mp_nn_layer_clear(&l);

    REQUIRE(make_layer(&l, &mp_nn_tanh_ops, "tanh", NULL, 0, shape1(6), 0, 1, &e) == 0);
    l.ops->forward(&l, x, y, 1, NULL, &run);
    CHECK_NEAR(y[0], -1, 0);
    CHECK_NEAR(y[1], -0.7615941559557649, 1e-7);
    CHECK_NEAR(y[3], 0.46211715726000974, 1e-7);
    mp_nn_layer_clear(&l);

    /* softmax, including logits far too large for a naive exp */
    const float z[6] = {1, 2, 3, 1000, 1000, -1000};
    REQUIRE(make_layer(&l, &mp_nn_softmax_ops, "softmax", NULL, 0, shape1(3), 0, 1, &e) == 0);
    l.ops->forward(&l, z, y, 2, NULL, &run);
    CHECK_NEAR(y[0], 0.09003057317038046, 1e-7);
    CHECK_NEAR(y[1], 0.24472847105479764, 1e-7);
    CHECK_NEAR(y[2], 0.6652409557748218, 1e-7);
    CHECK_NEAR(y[3], 0.5, 1e-7);
    CHECK_NEAR(y[4], 0.5, 1e-7);
    CHECK_NEAR(y[5], 0, 0);
    mp_nn_layer_clear(&l);
}

static void test_activation_gradchecks(void)
{
    mp_error e = {0};
    mp_nn_layer l;
    /* Elementwise layers on a 3-D input keep their shape. Central
     * differences are wrong for relu within h = 0.01 of its kink, so the
     * seed is one whose inputs keep clear of 0 (about half of the seeds do). */
    const mp_nn_layer_ops *ew[] = {&mp_nn_relu_ops, &mp_nn_sigmoid_ops, &mp_nn_tanh_ops};
    for (int k = 0; k < 3; k++) {
        REQUIRE(make_layer(&l, ew[k], ew[k]->name, NULL, 0, shape3(2, 3, 4), 0, 1, &e) == 0);
        CHECK(l.out.ndim == 3 && l.out.d[0] == 2 && l.out.d[1] == 3 && l.out.d[2] == 4);
        CHECK(nn_gradcheck(&l, 3, 1, 13, 200, 2e-2) == 0);
        mp_nn_layer_clear(&l);
    }
    mp_nn_arg slope = {NULL, NULL, 0.1};
    REQUIRE(make_layer(&l, &mp_nn_leaky_relu_ops, "leaky_relu(0.1)", &slope, 1, shape1(10), 0, 1,
                       &e) == 0);
    CHECK(nn_gradcheck(&l, 4, 1, 5, 200, 2e-2) == 0);
    mp_nn_layer_clear(&l);

    REQUIRE(make_layer(&l, &mp_nn_softmax_ops, "softmax", NULL, 0, shape1(6), 0, 1, &e) == 0);
    CHECK(nn_gradcheck(&l, 4, 1, 7, 200, 2e-2) == 0);
    mp_nn_layer_clear(&l);

    REQUIRE(make_layer(&l, &mp_nn_flatten_ops, "flatten", NULL, 0, shape3(2, 3, 4), 0, 1, &e) ==
            0);
    CHECK(l.out.ndim == 1 && l.out.d[0] == 24);
    CHECK(nn_gradcheck(&l, 3, 1, 9, 200, 2e-2) == 0);
    mp_nn_layer_clear(&l);
}

/* The gradient check itself must catch a wrong backward. */
static void broken_backward(mp_nn_layer *l, const float *in, const float *out, const float *dout,
                            float *din, size_t b, float *ws, const mp_nn_run *run)
{
    mp_nn_tanh_ops.backward(l, in, out, dout, din, b, ws, run);
    din[1] *= 1.5f;
}

static void test_gradcheck_catches_a_bug(void)
{
    mp_error e = {0};
    mp_nn_layer l;
    mp_nn_layer_ops ops = mp_nn_tanh_ops;
    ops.backward = broken_backward;
    REQUIRE(make_layer(&l, &ops, "tanh", NULL, 0, shape1(4), 0, 1, &e) == 0);
    CHECK(nn_gradcheck(&l, 2, 1, 5, 100, 2e-2) == 1);
    mp_nn_layer_clear(&l);
}

static void test_activation_errors(void)
{
    mp_error e = {0};
    mp_nn_layer l;
    mp_nn_arg one = {NULL, NULL, 1}, neg = {NULL, NULL, -0.5}, key = {"alpha", NULL, 0.1};
    CHECK(make_layer(&l, &mp_nn_relu_ops, "relu(1)", &one, 1, shape1(3), 0, 1, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "layer 1 (relu(1)): takes no arguments; usage: relu");
    CHECK(make_layer(&l, &mp_nn_flatten_ops, "flatten(1)", &one, 1, shape1(3), 0, 1, &e) ==
          MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "takes no arguments");
    CHECK(make_layer(&l, &mp_nn_leaky_relu_ops, "leaky_relu(-0.5)", &neg, 1, shape1(3), 0, 1,
                     &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "slope must be in [0, 1]");
    CHECK(make_layer(&l, &mp_nn_leaky_relu_ops, "leaky_relu(alpha=0.1)", &key, 1, shape1(3), 0, 1,
                     &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "usage: leaky_relu[(slope=0.01)]");
    CHECK(make_layer(&l, &mp_nn_softmax_ops, "softmax", NULL, 0, shape3(1, 2, 5), 0, 1, &e) ==
          MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "layer 1 (softmax): expects a flat input, got 1x2x5");
    mp_nn_layer_clear(&l);
}

int main(void)
{
    RUN(test_dense_forward_backward_by_hand);
    RUN(test_dense_gradcheck_and_init);
    RUN(test_dense_errors);
    RUN(test_activation_values);
    RUN(test_activation_gradchecks);
    RUN(test_gradcheck_catches_a_bug);
    RUN(test_activation_errors);
    return TEST_SUMMARY();
}
