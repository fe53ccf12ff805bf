/* Naive Bayes: Gaussian and categorical likelihoods computed by hand and
 * checked against scikit-learn 1.2's GaussianNB / CategoricalNB, unseen
 * levels, extreme inputs, parameter checks, save/load, and rejection of
 * inconsistent model tensors. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ml/algo.h"
#include "test.h"

static int fit_with(const double *X, size_t n, size_t d, const size_t *ncats, const double *y,
                    size_t nclasses, const char *const *params, void **state, mp_error *e)
{
    mp_params p = {0};
    for (int i = 0; params && params[i]; i++)
        if (mp_params_add(&p, params[i], e))
            return -100;
    mp_fit_input in = {.task = MP_TASK_CLASSIFY, .X = X, .n = n, .d = d, .ncats = ncats, .y = y, .nclasses = nclasses, .seed = 1};
    int rc = mp_algo_naive_bayes.fit(&in, &p, state, e);
    if (!rc) {
        rc = mp_params_check_unused(&p, mp_algo_naive_bayes.name, mp_algo_naive_bayes.params, e);
        if (rc) {
            mp_algo_naive_bayes.destroy(*state);
            *state = NULL;
        }
    }
    mp_params_free(&p);
    return rc;
}

/* Two numeric features, two classes. Class 0 rows 0-2, class 1 rows 3-6. */
static const double GX[] = {1.0, 2.0, 2.0, 1.5, 3.0, 3.5, 6.0, 5.0, 7.0, 8.0, 8.5, 6.0, 4.0, 4.0};
static const double GY[] = {0, 0, 0, 1, 1, 1, 1};
static const double GQ[] = {4.0, 3.0, 2.5, 2.5, 100.0, -50.0};

/* log N(x; mean, var) */
static double lnorm(double x, double mean, double var)
{
    return -0.5 * log(2 * M_PI * var) - 0.5 * (x - mean) * (x - mean) / var;
}

static void hand_gaussian(double vs, const double *q, double *p)
{
    /* Means and population variances worked out on paper:
     * class 0: x1 {1,2,3} -> 2, 2/3; x2 {2,1.5,3.5} -> 7/3, 13/18
     * class 1: x1 {6,7,8.5,4} -> 6.375, 2.671875; x2 {5,8,6,4} -> 5.75, 2.1875
     * largest column variance: x1 over all rows = 6.5. */
    double eps = vs * 6.5;
    double j0 = log(3.0 / 7) + lnorm(q[0], 2, 2.0 / 3 + eps) + lnorm(q[1], 7.0 / 3, 13.0 / 18 + eps);
    double j1 = log(4.0 / 7) + lnorm(q[0], 6.375, 2.671875 + eps) + lnorm(q[1], 5.75, 2.1875 + eps);
    double m = j0 > j1 ? j0 : j1;
    p[0] = exp(j0 - m) / (exp(j0 - m) + exp(j1 - m));
    p[1] = exp(j1 - m) / (exp(j0 - m) + exp(j1 - m));
}

static void test_gaussian_by_hand_and_sklearn(void)
{
    /* scikit-learn 1.2 GaussianNB(var_smoothing=...).predict_proba(GQ). */
    static const double sk[2][3][2] = {
        {{0.60753591956246922, 0.39246408043753056},
         {0.99747258603729627, 0.0025274139627036027},
         {0, 1}},
        {{0.73864882598750414, 0.26135117401249564},
         {0.98959042535408126, 0.010409574645918683},
         {0, 1}},
    };
    const char *vsp[2] = {NULL, "var_smoothing=0.1"};
    const double vs[2] = {1e-9, 0.1};
    for (int v = 0; v < 2; v++) {
        const char *p[] = {vsp[v], NULL};
        void *s = NULL;
        mp_error e = {0};
        REQUIRE(fit_with(GX, 7, 2, NULL, GY, 2, p, &s, &e) == 0);
        double out[6];
        REQUIRE(mp_algo_naive_bayes.predict(s, GQ, 3, 2, out, &e) == 0);
        for (int i = 0; i < 2; i++) {
            double h[2];
            hand_gaussian(vs[v], GQ + 2 * i, h);
            CHECK_NEAR(out[2 * i], h[0], 1e-13);
            CHECK_NEAR(out[2 * i + 1], h[1], 1e-13);
        }
        for (int i = 0; i < 3; i++) {
            CHECK_NEAR(out[2 * i], sk[v][i][0], 1e-13);
            CHECK_NEAR(out[2 * i + 1], sk[v][i][1], 1e-13);
            CHECK_NEAR(out[2 * i] + out[2 * i + 1], 1.0, 1e-15);
        }
        /* (100, -50): both joint log-likelihoods are below -1000, where a
         * plain exp() gives 0/0; log-sum-exp still gives a clean answer. */
        CHECK(out[5] == 1.0 && out[4] >= 0 && out[4] < 1e-300);
        mp_algo_naive_bayes.destroy(s);
    }
}

static void test_far_points_no_nan(void)
{
    void *s = NULL;
    mp_error e = {0};
    REQUIRE(fit_with(GX, 7, 2, NULL, GY, 2, NULL, &s, &e) == 0);
    double q[] = {1e150, -1e150, 1e300, 1e300, -1e307, 2.0}, out[6];
    REQUIRE(mp_algo_naive_bayes.predict(s, q, 3, 2, out, &e) == 0);
    for (int i = 0; i < 6; i++)
        CHECK(isfinite(out[i]) && out[i] >= 0 && out[i] <= 1);
    for (int i = 0; i < 3; i++)
        CHECK_NEAR(out[2 * i] + out[2 * i + 1], 1.0, 1e-15);
    mp_algo_naive_bayes.destroy(s);
}

/* One categorical feature with 3 levels: class 0 has {0,0,1}, class 1 has
 * {2,2,1,2}. */
static const double CX[] = {0, 0, 1, 2, 2, 1, 2};
static const size_t CK[] = {3};

static void test_categorical_alpha(void)
{
    const char *p[] = {"alpha=0.5", NULL};
    void *s = NULL;
    mp_error e = {0};
    REQUIRE(fit_with(CX, 7, 1, CK, GY, 2, p, &s, &e) == 0);
    double q[] = {0, 1, 2}, out[6];
    REQUIRE(mp_algo_naive_bayes.predict(s, q, 3, 1, out, &e) == 0);
    /* P(v|c) = (count + 0.5) / (n_c + 1.5), priors 3/7 and 4/7. */
    const double c0[] = {2, 1, 0}, c1[] = {0, 1, 3};
    for (int v = 0; v < 3; v++) {
        double a = 3.0 / 7 * (c0[v] + 0.5) / 4.5, b = 4.0 / 7 * (c1[v] + 0.5) / 5.5;
        CHECK_NEAR(out[2 * v], a / (a + b), 1e-14);
        CHECK_NEAR(out[2 * v + 1], b / (a + b), 1e-14);
    }
    /* scikit-learn 1.2 CategoricalNB(alpha=0.5). */
    CHECK_NEAR(out[0], 0.82089552238805963, 1e-14);
    CHECK_NEAR(out[3], 0.52173913043478248, 1e-14);
    CHECK_NEAR(out[4], 0.11578947368421055, 1e-14);
    mp_algo_naive_bayes.destroy(s);

    /* alpha=0 is raised to 1e-10 as scikit-learn does, so a level never
     * seen with a class still has a (tiny) finite probability. */
    const char *p0[] = {"alpha=0", NULL};
    REQUIRE(fit_with(CX, 7, 1, CK, GY, 2, p0, &s, &e) == 0);
    REQUIRE(mp_algo_naive_bayes.predict(s, q, 1, 1, out, &e) == 0);
    double a = 3.0 / 7 * (2 + 1e-10) / (3 + 3e-10), b = 4.0 / 7 * 1e-10 / (4 + 3e-10);
    CHECK_NEAR(out[1], b / (a + b), 1e-22);
    CHECK(out[1] > 0);
    mp_algo_naive_bayes.destroy(s);
}

static void test_unseen_level_and_mixed(void)
{
    /* Feature 0 numeric (GX's first column), feature 1 categorical (CX). */
    double X[14];
    for (int i = 0; i < 7; i++) {
        X[2 * i] = GX[2 * i];
        X[2 * i + 1] = CX[i];
    }
    const size_t nk[] = {0, 3};
    void *s = NULL, *sg = NULL;
    mp_error e = {0};
    REQUIRE(fit_with(X, 7, 2, nk, GY, 2, NULL, &s, &e) == 0);
    double q[] = {4.0, -1, 4.0, 3, 4.0, 7, 4.0, 2}, out[8];
    REQUIRE(mp_algo_naive_bayes.predict(s, q, 4, 2, out, &e) == 0);
    /* Unseen codes (-1, 3, 7) leave only the numeric feature, whose
     * variance epsilon uses the numeric column alone (var 6.5). */
    double eps = 1e-9 * 6.5;
    double j0 = log(3.0 / 7) + lnorm(4.0, 2, 2.0 / 3 + eps);
    double j1 = log(4.0 / 7) + lnorm(4.0, 6.375, 2.671875 + eps);
    double p1 = 1 / (1 + exp(j0 - j1));
    for (int i = 0; i < 3; i++)
        CHECK_NEAR(out[2 * i + 1], p1, 1e-13);
    /* Code 2: plus log((count + 1) / (n_c + 3)) with alpha=1. */
    double k0 = j0 + log(1.0 / 6), k1 = j1 + log(4.0 / 7);
    CHECK_NEAR(out[7], 1 / (1 + exp(k0 - k1)), 1e-13);

    mp_algo_naive_bayes.destroy(s);

    /* Epsilon comes from numeric columns only: a categorical column whose
     * codes vary far more than the numeric one must not change it, so on
     * rows with an unseen level the mixed model equals a numeric-only one. */
    const double wide[] = {0, 25, 0, 25, 25, 0, 25};
    const size_t nk2[] = {0, 26};
    for (int i = 0; i < 7; i++)
        X[2 * i + 1] = wide[i];
    const char *pv[] = {"var_smoothing=0.1", NULL};
    REQUIRE(fit_with(X, 7, 2, nk2, GY, 2, pv, &s, &e) == 0);
    double Xg[7];
    for (int i = 0; i < 7; i++)
        Xg[i] = GX[2 * i];
    REQUIRE(fit_with(Xg, 7, 1, NULL, GY, 2, pv, &sg, &e) == 0);
    double qm[] = {4.0, -1}, qg[] = {4.0}, om[2], og[2];
    REQUIRE(mp_algo_naive_bayes.predict(s, qm, 1, 2, om, &e) == 0);
    REQUIRE(mp_algo_naive_bayes.predict(sg, qg, 1, 1, og, &e) == 0);
    CHECK(og[0] == om[0] && og[1] == om[1]);
    mp_algo_naive_bayes.destroy(sg);
    mp_algo_naive_bayes.destroy(s);
}

static void test_params_and_bad_input(void)
{
    const char *bad[][2] = {
        {"var_smoothing=-1", NULL}, {"var_smoothing=x", NULL}, {"alpha=-0.5", NULL},
        {"alpha=nan", NULL},        {"k=3", NULL},
    };
    const char *want[] = {"var_smoothing=-1", "var_smoothing=x", "alpha=-0.5", "alpha=nan",
                          "unknown parameter 'k' for naive-bayes"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *s = NULL;
        mp_error e = {0};
        CHECK(fit_with(GX, 7, 2, NULL, GY, 2, bad[i], &s, &e) == MP_EINVAL);
        CHECK(s == NULL);
        CHECK_STR_CONTAINS(e.msg, want[i]);
    }
    void *s = NULL;
    mp_error e = {0};
    /* Regression is not supported. */
    mp_params p = {0};
    mp_fit_input in = {.task = MP_TASK_REGRESS, .X = GX, .n = 7, .d = 2, .y = GY, .seed = 1};
    CHECK(mp_algo_naive_bayes.fit(&in, &p, &s, &e) == MP_EINVAL);
    /* Training codes must be levels 0..k-1; classes must be in range. */
    const double cbad[] = {0, 0, 3, 2, 2, 1, 2}, cfrac[] = {0, 0, 1.5, 2, 2, 1, 2};
    CHECK(fit_with(cbad, 7, 1, CK, GY, 2, NULL, &s, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "row 2, feature 0");
    CHECK(fit_with(cfrac, 7, 1, CK, GY, 2, NULL, &s, &e) == MP_EINPUT);
    CHECK(fit_with(GX, 0, 2, NULL, GY, 2, NULL, &s, &e) == MP_EINPUT);
    CHECK(fit_with(GX, 7, 2, NULL, GY, 0, NULL, &s, &e) == MP_EINPUT);
    const double ybad[] = {0, 0, 0, 1, 1, 1, 2};
    CHECK(fit_with(GX, 7, 2, NULL, ybad, 2, NULL, &s, &e) == MP_EINPUT);
    double xnan[14];
    memcpy(xnan, GX, sizeof xnan);
    xnan[5] = NAN;
    CHECK(fit_with(xnan, 7, 2, NULL, GY, 2, NULL, &s, &e) == MP_EINPUT);
    CHECK(s == NULL);

    /* Predict: wrong width, non-finite numeric, a code that is no code. */
    REQUIRE(fit_with(CX, 7, 1, CK, GY, 2, NULL, &s, &e) == 0);
    double q[] = {1, 2}, out[4];
    CHECK(mp_algo_naive_bayes.predict(s, q, 1, 2, out, &e) == MP_EINVAL);
    q[1] = 0.5;
    CHECK(mp_algo_naive_bayes.predict(s, q, 2, 1, out, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "row 1");
    q[1] = NAN;
    CHECK(mp_algo_naive_bayes.predict(s, q, 2, 1, out, &e) == MP_EINPUT);
    mp_algo_naive_bayes.destroy(s);
    REQUIRE(fit_with(GX, 7, 2, NULL, GY, 2, NULL, &s, &e) == 0);
    double qn[] = {1, INFINITY};
    CHECK(mp_algo_naive_bayes.predict(s, qn, 1, 2, out, &e) == MP_EINPUT);
    mp_algo_naive_bayes.destroy(s);
}

static void test_empty_class_and_zero_variance(void)
{
    /* Class 2 never occurs; var_smoothing=0 with a feature constant within
     * each class. */
    const double X[] = {1, 1, 1, 5, 5, 5};
    const double y[] = {0, 0, 0, 1, 1, 1};
    const char *p[] = {"var_smoothing=0", NULL};
    void *s = NULL;
    mp_error e = {0};
    REQUIRE(fit_with(X, 6, 1, NULL, y, 3, p, &s, &e) == 0);
    double q[] = {1, 5, 3}, out[9];
    REQUIRE(mp_algo_naive_bayes.predict(s, q, 3, 1, out, &e) == 0);
    CHECK(out[0] == 1 && out[1] == 0 && out[2] == 0);
    CHECK(out[3] == 0 && out[4] == 1 && out[5] == 0);
    /* Between the two point masses nothing is likely: back to the priors. */
    CHECK_NEAR(out[6], 0.5, 1e-15);
    CHECK_NEAR(out[7], 0.5, 1e-15);
    CHECK(out[8] == 0);
    mp_algo_naive_bayes.destroy(s);
}

static void test_save_load_roundtrip(void)
{
    double X[14];
    for (int i = 0; i < 7; i++) {
        X[2 * i] = GX[2 * i + 1];
        X[2 * i + 1] = CX[i];
    }
    const size_t nk[] = {0, 3};
    const char *p[] = {"alpha=0.25", "var_smoothing=0.01", NULL};
    void *s = NULL, *s2 = NULL;
    mp_error e = {0};
    REQUIRE(fit_with(X, 7, 2, nk, GY, 2, p, &s, &e) == 0);
    double q[] = {3.3, 0, 5.1, 2, -1, 1, 9, -1}, o1[8], o2[8];
    REQUIRE(mp_algo_naive_bayes.predict(s, q, 4, 2, o1, &e) == 0);
    mp_tensors b = {0};
    REQUIRE(mp_algo_naive_bayes.save(s, &b, &e) == 0);
    CHECK_STR_CONTAINS(mp_tensors_meta(&b, "params"), "{\"var_smoothing\":0.01,\"alpha\":0.25}");
    CHECK(mp_tensors_get(&b, "nb.cat.1") != NULL);
    CHECK(mp_tensors_get(&b, "nb.cat.0") == NULL);
    REQUIRE(mp_algo_naive_bayes.load(&b, MP_TASK_CLASSIFY, 2, 2, &s2, &e) == 0);
    REQUIRE(mp_algo_naive_bayes.predict(s2, q, 4, 2, o2, &e) == 0);
    CHECK(memcmp(o1, o2, sizeof o1) == 0);
    /* Saving the loaded model gives the same tensors. */
    mp_tensors b2 = {0};
    REQUIRE(mp_algo_naive_bayes.save(s2, &b2, &e) == 0);
    CHECK(b2.n == b.n);
    for (size_t i = 0; i < b.n && i < b2.n; i++) {
        CHECK(!strcmp(b.t[i].name, b2.t[i].name));
        CHECK(b.t[i].nelems == b2.t[i].nelems &&
              !memcmp(b.t[i].data, b2.t[i].data, b.t[i].nelems * mp_dtype_size(b.t[i].dtype)));
    }
    mp_tensors_free(&b2);
    mp_tensors_free(&b);
    mp_algo_naive_bayes.destroy(s2);
    mp_algo_naive_bayes.destroy(s);
}

/* A consistent bag for d=2 (feature 1 categorical with 3 levels), 2
 * classes; each bad case below changes one thing. */
typedef struct {
    double cc[2], theta[4], var[4];
    int64_t nk[2];
    double cat[6];
    int64_t sh_cc, sh_td[2], sh_cat[2];
    const char *params;
    int drop_cat;
} bag_spec;

static bag_spec good_spec(void)
{
    bag_spec b = {{3, 4}, {1, 0, 2, 0}, {0.5, 1, 0.7, 1}, {0, 3},
                  {-1, -1.5, -0.9, -2, -0.1, -3}, 2, {2, 2}, {2, 3},
                  "{\"var_smoothing\":1e-09,\"alpha\":1}", 0};
    return b;
}

static int load_spec(const bag_spec *sp, size_t d, size_t nc)
{
    mp_tensors b = {0};
    mp_error e = {0};
    int64_t shd[1] = {2};
    int rc = mp_tensors_add(&b, "nb.class_count", MP_DT_F64, 1, &sp->sh_cc, sp->cc, &e);
    rc |= mp_tensors_add(&b, "nb.theta", MP_DT_F64, 2, sp->sh_td, sp->theta, &e);
    rc |= mp_tensors_add(&b, "nb.var", MP_DT_F64, 2, sp->sh_td, sp->var, &e);
    rc |= mp_tensors_add(&b, "nb.ncats", MP_DT_I64, 1, shd, sp->nk, &e);
    if (!sp->drop_cat)
        rc |= mp_tensors_add(&b, "nb.cat.1", MP_DT_F64, 2, sp->sh_cat, sp->cat, &e);
    if (sp->params)
        rc |= mp_tensors_set_meta(&b, "params", sp->params);
    if (rc) {
        mp_tensors_free(&b);
        return -100;
    }
    void *s = (void *)1;
    rc = mp_algo_naive_bayes.load(&b, MP_TASK_CLASSIFY, d, nc, &s, &e);
    if (rc == 0) {
        /* It must also predict sensibly. */
        double q[] = {1.2, 2}, out[2];
        if (mp_algo_naive_bayes.predict(s, q, 1, 2, out, &e) ||
            !(fabs(out[0] + out[1] - 1) < 1e-12))
            rc = -200;
        mp_algo_naive_bayes.destroy(s);
    } else if (s != NULL) {
        rc = -300;
    }
    mp_tensors_free(&b);
    return rc;
}

static void test_load_rejects_inconsistent(void)
{
    bag_spec g = good_spec();
    CHECK(load_spec(&g, 2, 2) == 0);
    CHECK(load_spec(&g, 3, 2) == MP_EFORMAT); /* d mismatch */
    CHECK(load_spec(&g, 2, 3) == MP_EFORMAT); /* nclasses mismatch */
    bag_spec b;
    b = good_spec(), b.sh_cc = 1;
    CHECK(load_spec(&b, 2, 2) == MP_EFORMAT);
    b = good_spec(), b.sh_td[1] = 1;
    CHECK(load_spec(&b, 2, 2) == MP_EFORMAT);
    b = good_spec(), b.cc[1] = -1;
    CHECK(load_spec(&b, 2, 2) == MP_EFORMAT);
    b = good_spec(), b.cc[0] = 0, b.cc[1] = 0;
    CHECK(load_spec(&b, 2, 2) == MP_EFORMAT);
    b = good_spec(), b.var[2] = 0;
    CHECK(load_spec(&b, 2, 2) == MP_EFORMAT);
    b = good_spec(), b.theta[0] = NAN;
    CHECK(load_spec(&b, 2, 2) == MP_EFORMAT);
    b = good_spec(), b.nk[1] = 4; /* table is [2, 3] */
    CHECK(load_spec(&b, 2, 2) == MP_EFORMAT);
    b = good_spec(), b.nk[0] = -1;
    CHECK(load_spec(&b, 2, 2) == MP_EFORMAT);
    b = good_spec(), b.drop_cat = 1;
    CHECK(load_spec(&b, 2, 2) == MP_EFORMAT);
    b = good_spec(), b.cat[4] = 0.5; /* not a log probability */
    CHECK(load_spec(&b, 2, 2) == MP_EFORMAT);
    b = good_spec(), b.params = NULL;
    CHECK(load_spec(&b, 2, 2) == MP_EFORMAT);
    b = good_spec(), b.params = "{\"var_smoothing\":-1,\"alpha\":1}";
    CHECK(load_spec(&b, 2, 2) == MP_EFORMAT);
    b = good_spec(), b.params = "{\"alpha\":1}";
    CHECK(load_spec(&b, 2, 2) == MP_EFORMAT);
    b = good_spec(), b.params = "not json";
    CHECK(load_spec(&b, 2, 2) == MP_EFORMAT);
}

int main(void)
{
    RUN(test_gaussian_by_hand_and_sklearn);
    RUN(test_far_points_no_nan);
    RUN(test_categorical_alpha);
    RUN(test_unseen_level_and_mixed);
    RUN(test_params_and_bad_input);
    RUN(test_empty_class_and_zero_variance);
    RUN(test_save_load_roundtrip);
    RUN(test_load_rejects_inconsistent);
    return TEST_SUMMARY();
}
