/* Networks: the spec language (good specs, every kind of syntax error with
 * its position, unknown layers), building (shapes passed along, He
 * initialisation before ReLUs, shape errors naming the layer), the summary,
 * prediction (chunking, determinism) and seeding. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/layers.h"
#include "nn/net.h"
#include "nn/nn_spec.h"
#include "test.h"

static mp_nn_shape shape1(size_t a) { return (mp_nn_shape){1, {a, 0, 0}}; }

static void test_spec_parse_args(void)
{
    mp_nn_spec s;
    mp_error e = {0};
    REQUIRE(mp_nn_spec_parse("  Dense( 16 )\tleaky_relu ( slope = 2e-1 )  lstm(64, sequences) "
                             "relu() softmax  ",
                             &s, &e) == 0);
    REQUIRE(s.n == 5);
    CHECK(s.layers[0].ops == &mp_nn_dense_ops);
    CHECK_STR_CONTAINS(s.layers[0].text, "dense(16)");
    CHECK(strcmp(s.layers[0].text, "dense(16)") == 0);
    CHECK(s.layers[0].nargs == 1 && s.layers[0].args[0].key == NULL &&
          s.layers[0].args[0].word == NULL && s.layers[0].args[0].num == 16);
    CHECK(s.layers[0].pos == 3);
    CHECK(s.layers[1].ops == &mp_nn_leaky_relu_ops);
    CHECK(strcmp(s.layers[1].text, "leaky_relu(slope=2e-1)") == 0);
    REQUIRE(s.layers[1].nargs == 1);
    CHECK(s.layers[1].args[0].key && strcmp(s.layers[1].args[0].key, "slope") == 0);
    CHECK_NEAR(s.layers[1].args[0].num, 0.2, 1e-15);
    CHECK(s.layers[2].ops == &mp_nn_lstm_ops);
    CHECK(strcmp(s.layers[2].text, "lstm(64,sequences)") == 0);
    REQUIRE(s.layers[2].nargs == 2);
    CHECK(s.layers[2].args[0].num == 64);
    CHECK(s.layers[2].args[1].word && strcmp(s.layers[2].args[1].word, "sequences") == 0);
    CHECK(s.layers[3].ops == &mp_nn_relu_ops && s.layers[3].nargs == 0);
    CHECK(strcmp(s.layers[3].text, "relu") == 0);
    CHECK(s.layers[4].ops == &mp_nn_softmax_ops && s.layers[4].nargs == 0);
    mp_nn_spec_free(&s);

    REQUIRE(mp_nn_spec_parse("conv2d(8,3,stride=2,padding=-1.5e+0)", &s, &e) == 0);
    REQUIRE(s.n == 1 && s.layers[0].nargs == 4);
    CHECK(strcmp(s.layers[0].args[2].key, "stride") == 0 && s.layers[0].args[2].num == 2);
    CHECK(strcmp(s.layers[0].args[3].key, "padding") == 0 && s.layers[0].args[3].num == -1.5);
    mp_nn_spec_free(&s);

    REQUIRE(mp_nn_spec_parse(" \t ", &s, &e) == 0);
    CHECK(s.n == 0);
    mp_nn_spec_free(&s);
}

/* Parses a bad spec; checks the code and that the message holds `want`. */
static void bad_spec(const char *spec, const char *want)
{
    mp_nn_spec s;
    mp_error e = {0};
    int rc = mp_nn_spec_parse(spec, &s, &e);
    CHECK(rc == MP_EINVAL);
    if (rc != MP_EINVAL)
        fprintf(stderr, "  spec \"%s\" was accepted\n", spec);
    CHECK_STR_CONTAINS(e.msg, want);
    mp_nn_spec_free(&s);
}

static void test_spec_syntax_errors(void)
{
    bad_spec("dense(10", "spec position 9: expected ',' or ')', got the end of the spec");
    bad_spec("dense(10))", "spec position 10: expected a space between layers, got ')'");
    bad_spec("dense(10)relu", "spec position 10: expected a space between layers, got 'r'");
    bad_spec("dense(,)", "spec position 7: expected a number or a word, got ','");
    bad_spec("dense(10,)", "spec position 10: expected a number or a word, got ')'");
    bad_spec("dense(1e)", "spec position 8: expected a number, got 'e'");
    bad_spec("dense(10x)", "spec position 9: expected a number, got 'x'");
    bad_spec("dense(1.2.3)", "spec position 10: expected a number, got '.'");
    bad_spec("dense(10 20)", "spec position 10: expected ',' or ')', got '2'");
    bad_spec("relu, dense(3)", "spec position 5: expected a space between layers, got ','");
    bad_spec("relu 3", "spec position 6: expected a layer name, got '3'");
    bad_spec("dropout(p=)", "spec position 11: expected a number or a word after '=', got ')'");
    bad_spec("dense(1e999)", "spec position 7: number 1e999 is out of range");
    bad_spec("dense(10) \x01", "spec position 11: expected a layer name, got byte 0x01");
    bad_spec("relu dense(3) foo(2) bar",
             "layer 3: unknown layer \"foo\"; known: dense, conv2d, maxpool, avgpool, lstm, gru, "
             "flatten, dropout, batchnorm, relu, leaky_relu, sigmoid, tanh, softmax");
    mp_nn_spec s;
    mp_error e = {0};
    CHECK(mp_nn_spec_parse(NULL, &s, &e) == MP_EINVAL);
    mp_nn_spec_free(&s);
}

static void test_shape_parse(void)
{
    mp_nn_shape s;
    mp_error e = {0};
    REQUIRE(mp_nn_shape_parse("1x28x28", &s, &e) == 0);
    CHECK(s.ndim == 3 && s.d[0] == 1 && s.d[1] == 28 && s.d[2] == 28);
    REQUIRE(mp_nn_shape_parse("784", &s, &e) == 0);
    CHECK(s.ndim == 1 && s.d[0] == 784);
    REQUIRE(mp_nn_shape_parse("28x14", &s, &e) == 0);
    CHECK(s.ndim == 2 && s.d[0] == 28 && s.d[1] == 14);
    const char *bad[] = {"", "x", "0", "28x", "x28", "1x2x3x4", "-5", "2x0", "3.5", "28 x 28",
                         "99999999999999999999999", "2xa"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(mp_nn_shape_parse(bad[i], &s, &e) == MP_EINVAL);
        CHECK_STR_CONTAINS(e.msg, "bad shape");
    }
    CHECK_STR_CONTAINS(e.msg, "\"2xa\"");
}

static void test_build_shapes_and_he(void)
{
    mp_nn_net *n = NULL;
    mp_error e = {0};
    mp_nn_shape in;
    REQUIRE(mp_nn_shape_parse("2x3x4", &in, &e) == 0);
    REQUIRE(mp_nn_net_build("  flatten   dense( 16 )  leaky_relu( slope = 0.5 )   dense(3) "
                            "relu dense(units = 4)  softmax ",
                            in, 7, &n, &e) == 0);
    REQUIRE(n->nlayers == 7);
    CHECK(strcmp(n->spec,
                 "flatten dense(16) leaky_relu(slope=0.5) dense(3) relu dense(units=4) softmax") ==
          0);
    CHECK(n->layers[0].out.ndim == 1 && n->layers[0].out.d[0] == 24);
    CHECK(n->layers[1].in.d[0] == 24 && n->layers[1].out.d[0] == 16);
    CHECK(n->layers[6].out.d[0] == 4);
    mp_nn_shape o = mp_nn_net_out(n);
    CHECK(o.ndim == 1 && o.d[0] == 4);
    for (size_t i = 0; i < 7; i++)
        CHECK(n->layers[i].index == (int)i + 1);
    /* He initialisation exactly for the layers a ReLU-family layer follows */
    CHECK(n->layers[0].he == 0);
    CHECK(n->layers[1].he == 1);
    CHECK(n->layers[3].he == 1);
    CHECK(n->layers[5].he == 0);
    CHECK(n->layers[6].he == 0);
    /* 24*16+16 + 16*3+3 + 3*4+4 */
    CHECK(mp_nn_net_count_params(n) == 400 + 51 + 16);
    mp_nn_net_free(n);
    /* the configured slope is the one used */
    REQUIRE(mp_nn_net_build("leaky_relu( slope = 0.5 )", shape1(3), 7, &n, &e) == 0);
    const float x[3] = {-2, 0, 4};
    float y[3];
    REQUIRE(mp_nn_net_predict(n, x, 1, y, &e) == 0);
    CHECK(y[0] == -1 && y[1] == 0 && y[2] == 4);
    mp_nn_net_free(n);
}

static void bad_build(const char *spec, mp_nn_shape in, int code, const char *want)
{
    mp_nn_net *n = (mp_nn_net *)&n; /* must be reset to NULL on failure */
    mp_error e = {0};
    int rc = mp_nn_net_build(spec, in, 1, &n, &e);
    CHECK(rc == code);
    CHECK(n == NULL);
    CHECK_STR_CONTAINS(e.msg, want);
    if (rc == 0)
        mp_nn_net_free(n);
}

static void test_build_errors(void)
{
    mp_nn_shape img = {3, {1, 28, 28}};
    bad_build("dense(10) softmax", img, MP_EINVAL,
              "layer 1 (dense(10)): expects a flat input, got 1x28x28; add flatten before it");
    bad_build("relu flatten relu dense(0)", img, MP_EINVAL, "layer 4 (dense(0)): units must be");
    bad_build("flatten dense(4) relu(2)", img, MP_EINVAL, "layer 3 (relu(2)): takes no arguments");
    bad_build("", shape1(4), MP_EINVAL, "network spec \"\" has no layers");
    bad_build("   ", shape1(4), MP_EINVAL, "has no layers");
    bad_build("dense(4) frob", shape1(4), MP_EINVAL, "layer 2: unknown layer \"frob\"; known: ");
    bad_build("dense(4", shape1(4), MP_EINVAL, "spec position 8");
    bad_build("dense(4)", (mp_nn_shape){0, {0, 0, 0}}, MP_EINVAL, "bad network input shape");
    bad_build("dense(4)", (mp_nn_shape){2, {3, 0, 0}}, MP_EINVAL, "bad network input shape 3x0");
    mp_error e = {0};
    CHECK(mp_nn_net_build("dense(4)", shape1(4), 1, NULL, &e) == MP_EINVAL);
}

static void test_summary(void)
{
    mp_nn_net *n = NULL;
    mp_error e = {0};
    REQUIRE(mp_nn_net_build("flatten dense(128) relu dense(10) softmax",
                            (mp_nn_shape){3, {1, 28, 28}}, 1, &n, &e) == 0);
    CHECK(mp_nn_net_count_params(n) == 101770);
    char *s = mp_nn_net_summary(n);
    REQUIRE(s);
    CHECK_STR_CONTAINS(s, "input 1x28x28\n");
    CHECK_STR_CONTAINS(s, "  #  layer       output        params\n");
    CHECK_STR_CONTAINS(s, "  1  flatten     784           0\n");
    CHECK_STR_CONTAINS(s, "  2  dense(128)  128           100480\n");
    CHECK_STR_CONTAINS(s, "  3  relu        128           0\n");
    CHECK_STR_CONTAINS(s, "  4  dense(10)   10            1290\n");
    CHECK_STR_CONTAINS(s, "  5  softmax     10            0\n");
    CHECK_STR_CONTAINS(s, "101770 trainable parameters\n");
    free(s);
    mp_nn_net_free(n);
}

static void test_seeding(void)
{
    mp_nn_net *a = NULL, *b = NULL, *c = NULL;
    mp_error e = {0};
    const char *spec = "dense(32) tanh dense(5) sigmoid";
    REQUIRE(mp_nn_net_build(spec, shape1(9), 42, &a, &e) == 0);
    REQUIRE(mp_nn_net_build(spec, shape1(9), 42, &b, &e) == 0);
    REQUIRE(mp_nn_net_build(spec, shape1(9), 43, &c, &e) == 0);
    size_t same_ab = 0, same_ac = 0, total = 0;
    for (size_t i = 0; i < a->nlayers; i++)
        for (size_t p = 0; p < a->layers[i].nparams; p++) {
            const mp_nn_param *pa = &a->layers[i].params[p], *pb = &b->layers[i].params[p],
                              *pc = &c->layers[i].params[p];
            REQUIRE(pa->n == pb->n && pa->n == pc->n);
            for (size_t k = 0; k < pa->n; k++) {
                same_ab += pa->w[k] == pb->w[k];
                same_ac += pa->w[k] == pc->w[k];
            }
            total += pa->n;
        }
    CHECK(total == 9 * 32 + 32 + 32 * 5 + 5);
    CHECK(same_ab == total);
    /* only the zero biases agree */
    CHECK(same_ac == 37);
    mp_nn_net_free(a);
    mp_nn_net_free(b);
    mp_nn_net_free(c);
}

static void test_predict(void)
{
    mp_nn_net *n = NULL;
    mp_error e = {0};
    REQUIRE(mp_nn_net_build("dense(16) relu dense(3) softmax", shape1(5), 3, &n, &e) == 0);
    /* 600 samples: two full chunks of 256 and a partial one */
    const size_t N = 600;
    float *x = malloc(N * 5 * sizeof *x), *y1 = malloc(N * 3 * sizeof *y1),
          *y2 = malloc(N * 3 * sizeof *y2), one[3];
    mp_rng r;
    mp_rng_seed(&r, 9);
    for (size_t i = 0; i < N * 5; i++)
        x[i] = (float)(4 * mp_rng_uniform(&r) - 2);
    REQUIRE(mp_nn_net_predict(n, x, N, y1, &e) == 0);
    REQUIRE(mp_nn_net_predict(n, x, N, y2, &e) == 0);
    CHECK(memcmp(y1, y2, N * 3 * sizeof *y1) == 0);
    int sums_ok = 1, single_ok = 1;
    for (size_t i = 0; i < N; i++) {
        double s = (double)y1[3 * i] + y1[3 * i + 1] + y1[3 * i + 2];
        if (fabs(s - 1) > 1e-5)
            sums_ok = 0;
    }
    CHECK(sums_ok);
    /* sample by sample gives the same answers as in chunks */
    for (size_t i = 0; i < N; i += 37) {
        REQUIRE(mp_nn_net_predict(n, x + 5 * i, 1, one, &e) == 0);
        for (int k = 0; k < 3; k++)
            if (fabs(one[k] - y1[3 * i + k]) > 1e-6)
                single_ok = 0;
    }
    CHECK(single_ok);
    /* a hand-computed forward through the whole network */
    mp_nn_net *d = NULL;
    REQUIRE(mp_nn_net_build("dense(2) relu", shape1(2), 1, &d, &e) == 0);
    const float W[4] = {1, -1, 2, 0.5f}, B[2] = {0, -10}, xin[2] = {3, 1};
    memcpy(d->layers[0].params[0].w, W, sizeof W);
    memcpy(d->layers[0].params[1].w, B, sizeof B);
    float out[2];
    REQUIRE(mp_nn_net_predict(d, xin, 1, out, &e) == 0);
    CHECK_NEAR(out[0], 2, 1e-6);
    CHECK_NEAR(out[1], 0, 0); /* 6.5 - 10 < 0 */
    CHECK(mp_nn_net_predict(d, xin, 0, out, &e) == 0);
    CHECK(mp_nn_net_predict(d, NULL, 1, out, &e) == MP_EINVAL);
    mp_nn_net_free(d);
    free(x);
    free(y1);
    free(y2);
    mp_nn_net_free(n);
}

int main(void)
{
    RUN(test_spec_parse_args);
    RUN(test_spec_syntax_errors);
    RUN(test_shape_parse);
    RUN(test_build_shapes_and_he);
    RUN(test_build_errors);
    RUN(test_summary);
    RUN(test_seeding);
    RUN(test_predict);
    return TEST_SUMMARY();
}
