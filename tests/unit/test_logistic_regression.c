#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "ml/algo.h"
#include "test.h"

static const mp_algo *A = &mp_algo_logistic_regression;

/* A tiny non-separable binary problem and a 3-class one. The reference
 * coefficients are scikit-learn 1.2.1's LogisticRegression(tol=1e-12,
 * max_iter=10000) on the same numbers. */
static const double XB[] = {0.5,  1.0,  1.5, -0.5, -1.0, 0.3,  2.0,  1.2, 0.1, -1.1,
                            -0.7, 0.8,  1.1, 0.4,  -1.5, -0.9, 0.9,  2.1, -0.2, -0.4};
static const double YB[] = {1, 1, 0, 1, 0, 0, 1, 0, 0, 1};
static const double X3[] = {0.2,  1.1,  1.4,  -0.3, -1.2, 0.5, 2.2, 1.0, 0.3,  -1.3, -0.8, 0.9,
                            1.0,  0.2,  -1.4, -1.0, 0.7,  2.0, -0.1, -0.6, 0.4, 0.4,  -0.5, 1.5};
static const double Y3[] = {0, 1, 2, 1, 0, 2, 1, 0, 2, 0, 1, 2};

static int fit(const double *X, const double *y, size_t n, size_t d, size_t K,
               const char *const *params, void **st, mp_error *e)
{
    mp_params p = {0};
    for (int i = 0; params && params[i]; i++)
        mp_params_add(&p, params[i], NULL);
    mp_fit_input in = {.task = MP_TASK_CLASSIFY, .X = X, .n = n, .d = d, .y = y, .nclasses = K};
    int rc = A->fit(&in, &p, st, e);
    if (!rc) {
        rc = mp_params_check_unused(&p, A->name, A->params, e);
        if (rc) {
            A->destroy(*st);
            *st = NULL;
        }
    }
    mp_params_free(&p);
    return rc;
}

/* coef and intercept as saved. */
static void coefs(const void *st, double *coef, size_t ncoef, double *b, size_t nb)
{
    mp_tensors bag = {0};
    mp_error e = {0};
    if (A->save(st, &bag, &e) == 0) {
        const mp_tensor *c = mp_tensors_get(&bag, "coef"), *i = mp_tensors_get(&bag, "intercept");
        if (c && c->nelems == ncoef)
            memcpy(coef, c->data, ncoef * sizeof *coef);
        if (i && i->nelems == nb)
            memcpy(b, i->data, nb * sizeof *b);
    }
    mp_tensors_free(&bag);
}

static char *fit_info(const void *st)
{
    mp_tensors bag = {0};
    mp_error e = {0};
    char *s = NULL;
    if (A->save(st, &bag, &e) == 0 && mp_tensors_meta(&bag, "fit_info"))
        s = strdup(mp_tensors_meta(&bag, "fit_info"));
    mp_tensors_free(&bag);
    return s;
}

/* A number in fit_info, or NAN. */
static double fit_info_number(const void *st, const char *key)
{
    char *fi = fit_info(st), pat[64];
    double v = NAN;
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *at = fi ? strstr(fi, pat) : NULL;
    if (at)
        v = strtod(at + strlen(pat), NULL);
    free(fi);
    return v;
}

/* Independent reference for the binary problem: plain Newton iterations on
 * f(w, b) = sum s_i logloss_i + |w|^2 / (2C), with the 3 x 3 system solved
 * by Gaussian elimination. */
static void newton_reference(const double *X, const double *y, size_t n, double C,
                             const double *s, double *out)
{
    double t[3] = {0, 0, 0};
    for (int it = 0; it < 50; it++) {
        double g[3] = {t[0] / C, t[1] / C, 0}, H[3][4] = {{1 / C, 0, 0}, {0, 1 / C, 0}, {0}};
        for (size_t i = 0; i < n; i++) {
            double x[3] = {X[2 * i], X[2 * i + 1], 1.0};
            double z = t[0] * x[0] + t[1] * x[1] + t[2], p = 1 / (1 + exp(-z));
            double w = s ? s[i] : 1.0;
            for (int a = 0; a < 3; a++) {
                g[a] += w * (p - y[i]) * x[a];
                for (int b = 0; b < 3; b++)
                    H[a][b] += w * p * (1 - p) * x[a] * x[b];
            }
        }
        for (int a = 0; a < 3; a++)
            H[a][3] = -g[a];
        for (int c = 0; c < 3; c++)
            for (int r = c + 1; r < 3; r++) {
                double f = H[r][c] / H[c][c];
                for (int k = c; k < 4; k++)
                    H[r][k] -= f * H[c][k];
            }
        double dlt[3];
        for (int r = 2; r >= 0; r--) {
            double v = H[r][3];
            for (int k = r + 1; k < 3; k++)
                v -= H[r][k] * dlt[k];
            dlt[r] = v / H[r][r];
        }
        for (int a = 0; a < 3; a++)
            t[a] += dlt[a];
    }
    memcpy(out, t, sizeof t);
}

/* The true optimum of the binary problem (C = 1), from an independent
 * Newton iteration in numpy to machine precision. */
static const double OPT_B[3] = {1.0841732312974102, -0.2346833490486405, -0.22517121393188358};
/* What scikit-learn 1.2.1 returns for it with tol=1e-12: SciPy's L-BFGS-B
 * stops on its relative-reduction test (gradient still ~1e-6), and so does
 * our lbfgs, on the same iterate. */
static const double SK_B[3] = {1.0841737463724894, -0.234683158772729, -0.2251720095856114};

static void test_binary_matches_reference(void)
{
    double ref[3];
    newton_reference(XB, YB, 10, 1.0, NULL, ref);
    for (int j = 0; j < 3; j++)
        CHECK_NEAR(ref[j], OPT_B[j], 1e-12);

    const char *const solvers[][3] = {{"tol=1e-12", NULL, NULL},
                                      {"tol=1e-10", "solver=newton", NULL},
                                      {"tol=1e-12", "precision=mixed", NULL}};
    /* lbfgs: scikit-learn's iterate; newton: the optimum; mixed: near it. */
    const double *want[3] = {SK_B, OPT_B, OPT_B};
    const double tol[3] = {1e-10, 1e-9, 1e-5};
    for (int s = 0; s < 3; s++) {
        void *st = NULL;
        mp_error e = {0};
        REQUIRE(fit(XB, YB, 10, 2, 2, solvers[s], &st, &e) == 0);
        double c[2] = {0}, b = 0;
        coefs(st, c, 2, &b, 1);
        CHECK_NEAR(c[0], want[s][0], tol[s]);
        CHECK_NEAR(c[1], want[s][1], tol[s]);
        CHECK_NEAR(b, want[s][2], tol[s]);
        /* ... and all within 1e-5 of the optimum. */
        CHECK_NEAR(c[0], OPT_B[0], 1e-5);
        char *fi = fit_info(st);
        CHECK_STR_CONTAINS(fi, "\"converged\":true");
        CHECK_STR_CONTAINS(fi, s == 1 ? "\"solver_used\":\"newton\"" : "\"solver_used\":\"lbfgs\"");
        CHECK_STR_CONTAINS(fi, s == 1 ? "\"stop\":\"gtol\"" : "\"stop\":\"ftol\"");
        free(fi);
        /* Probabilities: [1 - p, p] with p = sigmoid(x.w + b). */
        double out[20];
        REQUIRE(A->predict(st, XB, 10, 2, out, &e) == 0);
        for (int i = 0; i < 10; i++) {
            double p = 1 / (1 + exp(-(XB[2 * i] * c[0] + XB[2 * i + 1] * c[1] + b)));
            CHECK_NEAR(out[2 * i + 1], p, 1e-15);
            CHECK_NEAR(out[2 * i] + out[2 * i + 1], 1.0, 1e-15);
        }
        A->destroy(st);
    }
    /* Stronger regularisation, default tolerance: scikit-learn's answer. */
    const char *const c03[] = {"C=0.3", NULL};
    void *st = NULL;
    mp_error e = {0};
    REQUIRE(fit(XB, YB, 10, 2, 2, c03, &st, &e) == 0);
    double c[2] = {0}, b = 0;
    coefs(st, c, 2, &b, 1);
    CHECK_NEAR(c[0], 0.5945666060186873, 1e-5);
    CHECK_NEAR(c[1], -0.05984395351213353, 1e-5);
    CHECK_NEAR(b, -0.14388627382968286, 1e-5);
    A->destroy(st);
}

/* Gradient of the multinomial objective at (W, b), computed here from the
 * definition; zero at the optimum. */
static double multinomial_grad_max(const double *X, const double *y, size_t n, size_t d, size_t K,
                                   const double *W, const double *b, double C)
{
    double *g = calloc(K * d + 1, sizeof *g), gb[8] = {0};
    if (!g || K > 8)
        return INFINITY;
    for (size_t i = 0; i < n; i++) {
        double z[8], m = -1e300, sum = 0;
        for (size_t k = 0; k < K; k++) {
            z[k] = b[k];
            for (size_t j = 0; j < d; j++)
                z[k] += W[k * d + j] * X[i * d + j];
            if (z[k] > m)
                m = z[k];
        }
        for (size_t k = 0; k < K; k++)
            sum += exp(z[k] - m);
        for (size_t k = 0; k < K; k++) {
            double r = exp(z[k] - m) / sum - ((size_t)y[i] == k);
            for (size_t j = 0; j < d; j++)
                g[k * d + j] += r * X[i * d + j];
            gb[k] += r;
        }
    }
    double mx = 0;
    for (size_t k = 0; k < K; k++) {
        for (size_t j = 0; j < d; j++)
            mx = fmax(mx, fabs(g[k * d + j] + W[k * d + j] / C));
        mx = fmax(mx, fabs(gb[k]));
    }
    free(g);
    return mx;
}

static void test_multinomial(void)
{
    static const double ref_w[] = {-0.2803980968214814, -0.7502307883985352, 1.0605564007765684,
                                   -0.20525342412616196, -0.780158303955087, 0.9554842125246973};
    static const double ref_b[] = {0.4634417681383117, -0.11304674459906679, -0.3503950235392446};
    const char *const params[] = {"tol=1e-10", NULL};
    void *st = NULL;
    mp_error e = {0};
    REQUIRE(fit(X3, Y3, 12, 2, 3, params, &st, &e) == 0);
    double W[6] = {0}, b[3] = {0};
    coefs(st, W, 6, b, 3);
    /* scikit-learn's answer has a gradient of 7e-6 (relative-reduction
     * stop); ours is as close to the optimum. */
    for (int j = 0; j < 6; j++)
        CHECK_NEAR(W[j], ref_w[j], 1e-5);
    for (int k = 0; k < 3; k++)
        CHECK_NEAR(b[k], ref_b[k], 1e-5);
    CHECK(multinomial_grad_max(X3, Y3, 12, 2, 3, W, b, 1.0) < 1e-4);
    /* The intercepts are unpenalised and the softmax is invariant to a
     * common shift: starting from 0 they keep summing to 0, as in
     * scikit-learn. */
    CHECK_NEAR(b[0] + b[1] + b[2], 0.0, 1e-12);
    double out[36];
    REQUIRE(A->predict(st, X3, 12, 2, out, &e) == 0);
    CHECK_NEAR(out[0], 0.20176626924481444, 1e-5);
    CHECK_NEAR(out[1], 0.26996368015329897, 1e-5);
    CHECK_NEAR(out[5], 0.03104722440564702, 1e-5);
    for (int i = 0; i < 12; i++) {
        double s = out[3 * i] + out[3 * i + 1] + out[3 * i + 2];
        CHECK_NEAR(s, 1.0, 1e-14);
        for (int k = 0; k < 3; k++)
            CHECK(out[3 * i + k] > 0 && out[3 * i + k] < 1);
    }
    A->destroy(st);

    /* newton falls back to lbfgs for multinomial and says so. */
    const char *const nt[] = {"tol=1e-10", "solver=newton", NULL};
    REQUIRE(fit(X3, Y3, 12, 2, 3, nt, &st, &e) == 0);
    coefs(st, W, 6, b, 3);
    CHECK_NEAR(W[2], ref_w[2], 1e-5);
    char *fi = fit_info(st);
    CHECK_STR_CONTAINS(fi, "\"solver_used\":\"lbfgs\"");
    free(fi);
    A->destroy(st);
}

static void test_class_weight_balanced(void)
{
    /* 3 of 10 rows are class 1: balanced weights raise the minority, and
     * with it the intercept (scikit-learn: -1.3878 -> -0.7172). */
    static const double y[] = {1, 1, 0, 1, 0, 0, 0, 0, 0, 0};
    const char *const none[] = {"tol=1e-10", NULL};
    const char *const bal[] = {"tol=1e-10", "class_weight=balanced", NULL};
    void *s1 = NULL, *s2 = NULL;
    mp_error e = {0};
    REQUIRE(fit(XB, y, 10, 2, 2, none, &s1, &e) == 0);
    REQUIRE(fit(XB, y, 10, 2, 2, bal, &s2, &e) == 0);
    double c1[2], b1 = 0, c2[2], b2 = 0;
    coefs(s1, c1, 2, &b1, 1);
    coefs(s2, c2, 2, &b2, 1);
    CHECK_NEAR(b1, -1.387759020542351, 1e-5);
    CHECK_NEAR(b2, -0.7172161000011386, 1e-5);
    CHECK_NEAR(c2[0], 1.1103336457307909, 1e-5);
    CHECK_NEAR(c2[1], 0.09302197583333943, 1e-5);
    CHECK(b2 > b1 + 0.5);
    /* The independent Newton with weights n / (2 count) agrees. */
    double sw[10], ref[3];
    for (int i = 0; i < 10; i++)
        sw[i] = y[i] ? 10.0 / (2 * 3) : 10.0 / (2 * 7);
    newton_reference(XB, y, 10, 1.0, sw, ref);
    CHECK_NEAR(ref[2], b2, 1e-5);
    A->destroy(s2);
    const char *const baln[] = {"tol=1e-10", "class_weight=balanced", "solver=newton", NULL};
    REQUIRE(fit(XB, y, 10, 2, 2, baln, &s2, &e) == 0);
    coefs(s2, c2, 2, &b2, 1);
    CHECK_NEAR(c2[0], ref[0], 1e-9);
    CHECK_NEAR(c2[1], ref[1], 1e-9);
    CHECK_NEAR(b2, ref[2], 1e-9);
    A->destroy(s1);
    A->destroy(s2);

    /* Multinomial balanced against scikit-learn. */
    static const double y3[] = {0, 1, 2, 1, 0, 2, 1, 0, 2, 0, 0, 0};
    REQUIRE(fit(X3, y3, 12, 2, 3, bal, &s1, &e) == 0);
    double W[6], b[3];
    coefs(s1, W, 6, b, 3);
    CHECK_NEAR(W[0], -0.3820344182319738, 1e-5);
    CHECK_NEAR(W[3], -0.33980529163123796, 1e-5);
    CHECK_NEAR(b[0], 0.5715086494270006, 1e-5);
    CHECK_NEAR(b[2], -0.1600063201934237, 1e-5);
    A->destroy(s1);
}

static void test_separable_stays_finite(void)
{
    static const double X[] = {-3, -2, -1, 1, 2, 3};
    static const double y[] = {0, 0, 0, 1, 1, 1};
    const char *const solvers[][3] = {{"C=1000", NULL, NULL}, {"C=1000", "solver=newton", NULL}};
    for (int s = 0; s < 2; s++) {
        void *st = NULL;
        mp_error e = {0};
        REQUIRE(fit(X, y, 6, 1, 2, solvers[s], &st, &e) == 0);
        double c = 0, b = 1;
        coefs(st, &c, 1, &b, 1);
        CHECK(isfinite(c) && c > 1 && c < 100);
        CHECK(fabs(b) < 1e-6); /* symmetric data */
        double out[12];
        REQUIRE(A->predict(st, X, 6, 1, out, &e) == 0);
        CHECK(out[1] < 0.01 && out[11] > 0.99);
        A->destroy(st);
    }
}

static void test_max_iter_not_converged(void)
{
    const char *const p[] = {"max_iter=1", NULL};
    void *st = NULL;
    mp_error e = {0};
    REQUIRE(fit(X3, Y3, 12, 2, 3, p, &st, &e) == 0);
    char *fi = fit_info(st);
    CHECK_STR_CONTAINS(fi, "\"converged\":false");
    CHECK_STR_CONTAINS(fi, "\"n_iter\":1,");
    CHECK_STR_CONTAINS(fi, "\"stop\":\"max_iter\"");
    free(fi);
    double out[36];
    CHECK(A->predict(st, X3, 12, 2, out, &e) == 0);
    CHECK_NEAR(out[0] + out[1] + out[2], 1.0, 1e-14);
    A->destroy(st);
    const char *const nt[] = {"max_iter=1", "solver=newton", NULL};
    REQUIRE(fit(XB, YB, 10, 2, 2, nt, &st, &e) == 0);
    fi = fit_info(st);
    CHECK_STR_CONTAINS(fi, "\"converged\":false");
    free(fi);
    A->destroy(st);
    /* max_iter=0 keeps the zero model: probabilities 1/K. */
    const char *const z[] = {"max_iter=0", NULL};
    REQUIRE(fit(X3, Y3, 12, 2, 3, z, &st, &e) == 0);
    CHECK(A->predict(st, X3, 12, 2, out, &e) == 0);
    CHECK_NEAR(out[4], 1.0 / 3, 1e-15);
    A->destroy(st);
}

static void test_fit_intercept_false(void)
{
    const char *const p[] = {"fit_intercept=false", "tol=1e-10", "solver=newton", NULL};
    void *st = NULL;
    mp_error e = {0};
    REQUIRE(fit(XB, YB, 10, 2, 2, p, &st, &e) == 0);
    double c[2], b = 1;
    coefs(st, c, 2, &b, 1);
    CHECK(b == 0.0);
    /* Optimality without intercept: X'(p - y) + w = 0. */
    double g0 = c[0], g1 = c[1];
    for (int i = 0; i < 10; i++) {
        double pr = 1 / (1 + exp(-(XB[2 * i] * c[0] + XB[2 * i + 1] * c[1])));
        g0 += (pr - YB[i]) * XB[2 * i];
        g1 += (pr - YB[i]) * XB[2 * i + 1];
    }
    CHECK(fabs(g0) < 1e-9 && fabs(g1) < 1e-9);
    A->destroy(st);
}

static void test_absent_class(void)
{
    /* 4 classes, class 2 never in the training rows: probability 0. */
    static const double y[] = {0, 1, 3, 1, 0, 3, 1, 0, 3, 0, 1, 3};
    void *st = NULL;
    mp_error e = {0};
    REQUIRE(fit(X3, y, 12, 2, 4, NULL, &st, &e) == 0);
    double out[48];
    REQUIRE(A->predict(st, X3, 12, 2, out, &e) == 0);
    for (int i = 0; i < 12; i++) {
        CHECK(out[4 * i + 2] == 0.0);
        CHECK_NEAR(out[4 * i] + out[4 * i + 1] + out[4 * i + 3], 1.0, 1e-14);
    }
    /* Same coefficients as a 3-class fit on the relabelled rows. */
    static const double yc[] = {0, 1, 2, 1, 0, 2, 1, 0, 2, 0, 1, 2};
    void *s3 = NULL;
    REQUIRE(fit(X3, yc, 12, 2, 3, NULL, &s3, &e) == 0);
    double o3[36];
    REQUIRE(A->predict(s3, X3, 12, 2, o3, &e) == 0);
    CHECK_NEAR(out[3], o3[2], 1e-12);
    CHECK_NEAR(out[1], o3[1], 1e-12);
    A->destroy(s3);
    /* Balanced weights count the classes present (n / (3 count_k)), as
     * scikit-learn, which only knows the classes it saw. */
    const char *const bal[] = {"class_weight=balanced", NULL};
    void *b4 = NULL;
    REQUIRE(fit(X3, y, 12, 2, 4, bal, &b4, &e) == 0);
    REQUIRE(fit(X3, yc, 12, 2, 3, bal, &s3, &e) == 0);
    double ob4[48];
    REQUIRE(A->predict(b4, X3, 12, 2, ob4, &e) == 0);
    REQUIRE(A->predict(s3, X3, 12, 2, o3, &e) == 0);
    CHECK_NEAR(ob4[3], o3[2], 1e-12);
    CHECK_NEAR(ob4[0], o3[0], 1e-12);
    A->destroy(s3);
    A->destroy(b4);
    /* Round trip keeps the -inf intercept meaning. */
    mp_tensors bag = {0};
    REQUIRE(A->save(st, &bag, &e) == 0);
    void *st2 = NULL;
    REQUIRE(A->load(&bag, MP_TASK_CLASSIFY, 2, 4, &st2, &e) == 0);
    double out2[48];
    REQUIRE(A->predict(st2, X3, 12, 2, out2, &e) == 0);
    CHECK(memcmp(out, out2, sizeof out) == 0);
    A->destroy(st2);
    mp_tensors_free(&bag);
    A->destroy(st);
}

static void test_bad_input(void)
{
    void *st = NULL;
    mp_error e = {0};
    /* Regression task. */
    mp_params p = {0};
    mp_fit_input in = {.task = MP_TASK_REGRESS, .X = XB, .n = 10, .d = 2, .y = YB};
    CHECK(A->fit(&in, &p, &st, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "classification");
    /* Labels outside 0..K-1, fractional, NaN. */
    double y[10];
    memcpy(y, YB, sizeof y);
    y[4] = 2;
    CHECK(fit(XB, y, 10, 2, 2, NULL, &st, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "row 5");
    y[4] = 0.5;
    CHECK(fit(XB, y, 10, 2, 2, NULL, &st, &e) == MP_EINPUT);
    y[4] = NAN;
    CHECK(fit(XB, y, 10, 2, 2, NULL, &st, &e) == MP_EINPUT);
    /* One class only; fewer than two classes; no rows. */
    double ones[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    CHECK(fit(XB, ones, 10, 2, 2, NULL, &st, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "one class");
    CHECK(fit(XB, YB, 10, 2, 1, NULL, &st, &e) == MP_EINPUT);
    CHECK(fit(XB, YB, 0, 2, 2, NULL, &st, &e) == MP_EINPUT);
    CHECK(st == NULL);
}

static void test_params_rejected(void)
{
    const char *const bad[][2] = {{"C=0", NULL},          {"C=-1", NULL},
                                  {"C=abc", NULL},        {"max_iter=-1", NULL},
                                  {"max_iter=1.5", NULL}, {"tol=-1e-4", NULL},
                                  {"solver=sgd", NULL},   {"class_weight=auto", NULL},
                                  {"fit_intercept=yes", NULL}, {"precision=half", NULL},
                                  {"alpha=1", NULL},      {"penalty=l1", NULL}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *st = NULL;
        mp_error e = {0};
        int rc = fit(XB, YB, 10, 2, 2, bad[i], &st, &e);
        CHECK(rc == MP_EINVAL);
        CHECK(st == NULL);
        if (rc != MP_EINVAL)
            fprintf(stderr, "  accepted %s\n", bad[i][0]);
        /* The message names the parameter. */
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(bad[i][0], "="), bad[i][0]);
        CHECK_STR_CONTAINS(e.msg, name);
    }
    void *st = NULL;
    mp_error e = {0};
    const char *const ok[] = {"C=2.5",           "solver=lbfgs",     "max_iter=50",
                              "tol=1e-6",        "class_weight=none", "fit_intercept=true",
                              "precision=double", NULL};
    CHECK(fit(XB, YB, 10, 2, 2, ok, &st, &e) == 0);
    mp_tensors bag = {0};
    REQUIRE(st && A->save(st, &bag, &e) == 0);
    CHECK_STR_CONTAINS(mp_tensors_meta(&bag, "params"), "\"C\":2.5");
    CHECK_STR_CONTAINS(mp_tensors_meta(&bag, "params"), "\"max_iter\":50");
    mp_tensors_free(&bag);
    A->destroy(st);
}

static void test_roundtrip_bitwise(void)
{
    mp_rng r;
    mp_rng_seed(&r, 7);
    enum { N = 300, D = 5 };
    double *X = malloc(N * D * sizeof *X), y2[N], y4[N];
    REQUIRE(X);
    for (int i = 0; i < N; i++) {
        double s = 0;
        for (int j = 0; j < D; j++) {
            X[i * D + j] = mp_rng_normal(&r);
            s += (j + 1) * X[i * D + j];
        }
        y2[i] = s + mp_rng_normal(&r) > 0;
        y4[i] = (double)((int)(fabs(s) + mp_rng_uniform(&r) * 2) % 4);
    }
    const double *ys[2] = {y2, y4};
    size_t Ks[2] = {2, 4};
    for (int c = 0; c < 2; c++) {
        void *st = NULL, *st2 = NULL;
        mp_error e = {0};
        if (fit(X, ys[c], N, D, Ks[c], NULL, &st, &e) != 0) {
            CHECK(0);
            continue;
        }
        mp_tensors bag = {0};
        CHECK(A->save(st, &bag, &e) == 0);
        CHECK(A->load(&bag, MP_TASK_CLASSIFY, D, Ks[c], &st2, &e) == 0);
        double *o1 = malloc(N * Ks[c] * sizeof *o1), *o2 = malloc(N * Ks[c] * sizeof *o2);
        if (st2 && o1 && o2) {
            CHECK(A->predict(st, X, N, D, o1, &e) == 0);
            CHECK(A->predict(st2, X, N, D, o2, &e) == 0);
            CHECK(memcmp(o1, o2, N * Ks[c] * sizeof *o1) == 0);
            /* Saving the loaded model gives the same metadata. */
            mp_tensors bag2 = {0};
            CHECK(A->save(st2, &bag2, &e) == 0);
            CHECK(!strcmp(mp_tensors_meta(&bag, "params"), mp_tensors_meta(&bag2, "params")));
            CHECK(!strcmp(mp_tensors_meta(&bag, "fit_info"), mp_tensors_meta(&bag2, "fit_info")));
            mp_tensors_free(&bag2);
            /* Wrong feature count at predict time. */
            CHECK(A->predict(st2, X, N, D - 1, o2, &e) == MP_EINVAL);
        }
        free(o1);
        free(o2);
        mp_tensors_free(&bag);
        A->destroy(st);
        A->destroy(st2);
    }
    free(X);
}

/* A bag like save writes, with the given pieces. */
static void make_bag(mp_tensors *b, mp_dtype dt, int64_t rows, int64_t cols, int64_t nb,
                     double coef0, double b0, const char *params)
{
    double c[64] = {0}, bb[8] = {0};
    c[0] = coef0;
    bb[0] = b0;
    int64_t sc[2] = {rows, cols}, sb[1] = {nb};
    if (dt == MP_DT_F64)
        mp_tensors_add(b, "coef", dt, 2, sc, c, NULL);
    else
        mp_tensors_add(b, "coef", dt, 2, sc, (float[64]){0}, NULL);
    if (nb >= 0)
        mp_tensors_add(b, "intercept", MP_DT_F64, 1, sb, bb, NULL);
    if (params)
        mp_tensors_set_meta(b, "params", params);
}

static void test_load_inconsistent(void)
{
    const char *P = "{\"C\":1,\"solver\":\"lbfgs\",\"max_iter\":100,\"tol\":0.0001,"
                    "\"class_weight\":\"none\",\"fit_intercept\":true,\"precision\":\"auto\"}";
    struct {
        mp_dtype dt;
        int64_t rows, cols, nb;
        double c0, b0;
        const char *params;
        mp_task task;
        size_t K;
        int want;
    } cases[] = {
        {MP_DT_F64, 1, 2, 1, 0.5, 0.1, P, MP_TASK_CLASSIFY, 2, 0},          /* valid binary */
        {MP_DT_F64, 3, 2, 3, 0.5, 0.1, P, MP_TASK_CLASSIFY, 3, 0},          /* valid 3-class */
        {MP_DT_F64, 2, 2, 2, 0.5, 0.1, P, MP_TASK_CLASSIFY, 2, MP_EFORMAT}, /* 2 rows for binary */
        {MP_DT_F64, 1, 2, 1, 0.5, 0.1, P, MP_TASK_CLASSIFY, 3, MP_EFORMAT}, /* 1 row for 3 */
        {MP_DT_F64, 1, 3, 1, 0.5, 0.1, P, MP_TASK_CLASSIFY, 2, MP_EFORMAT}, /* d mismatch */
        {MP_DT_F32, 1, 2, 1, 0.5, 0.1, P, MP_TASK_CLASSIFY, 2, MP_EFORMAT}, /* dtype */
        {MP_DT_F64, 1, 2, -1, 0.5, 0.1, P, MP_TASK_CLASSIFY, 2, MP_EFORMAT}, /* no intercept */
        {MP_DT_F64, 1, 2, 2, 0.5, 0.1, P, MP_TASK_CLASSIFY, 2, MP_EFORMAT},  /* intercept len */
        {MP_DT_F64, 1, 2, 1, NAN, 0.1, P, MP_TASK_CLASSIFY, 2, MP_EFORMAT},  /* NaN coef */
        {MP_DT_F64, 1, 2, 1, INFINITY, 0.1, P, MP_TASK_CLASSIFY, 2, MP_EFORMAT},
        {MP_DT_F64, 1, 2, 1, 0.5, NAN, P, MP_TASK_CLASSIFY, 2, MP_EFORMAT},
        {MP_DT_F64, 3, 2, 3, 0.5, INFINITY, P, MP_TASK_CLASSIFY, 3, MP_EFORMAT},
        {MP_DT_F64, 1, 2, 1, 0.5, 0.1, NULL, MP_TASK_CLASSIFY, 2, MP_EFORMAT}, /* no params */
        {MP_DT_F64, 1, 2, 1, 0.5, 0.1, "{\"C\":1", MP_TASK_CLASSIFY, 2, MP_EFORMAT},
        {MP_DT_F64, 1, 2, 1, 0.5, 0.1, "{\"C\":-1}", MP_TASK_CLASSIFY, 2, MP_EFORMAT},
        {MP_DT_F64, 1, 2, 1, 0.5, 0.1, P, MP_TASK_REGRESS, 2, MP_EFORMAT},
        {MP_DT_F64, 1, 2, 1, 0.5, 0.1, P, MP_TASK_CLASSIFY, 1, MP_EFORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mp_tensors b = {0};
        make_bag(&b, cases[i].dt, cases[i].rows, cases[i].cols, cases[i].nb, cases[i].c0,
                 cases[i].b0, cases[i].params);
        void *st = NULL;
        mp_error e = {0};
        int rc = A->load(&b, cases[i].task, 2, cases[i].K, &st, &e);
        CHECK(rc == cases[i].want);
        if (rc != cases[i].want)
            fprintf(stderr, "  case %zu: rc %d (%s)\n", i, rc, e.msg);
        if (rc == 0) {
            double out[6], x[2] = {1, 2};
            CHECK(A->predict(st, x, 1, 2, out, &e) == 0);
            if (cases[i].K == 2)
                CHECK_NEAR(out[1], 1 / (1 + exp(-(0.5 + 0.1))), 1e-15);
        } else {
            CHECK(st == NULL);
            CHECK(e.msg[0] != '\0');
        }
        A->destroy(st);
        mp_tensors_free(&b);
    }
}

/* Larger random problems: mixed precision ends at the same optimum as
 * double, both solvers agree, and the threaded row pass (n > 16384) gives
 * a true optimum (gradient checked here). */
static void test_larger_problem(void)
{
    enum { N = 20000, D = 6, K = 3 };
    double *X = malloc(N * D * sizeof *X), *y = malloc(N * sizeof *y),
           *yb = malloc(N * sizeof *yb);
    REQUIRE(X && y && yb);
    mp_rng r;
    mp_rng_seed(&r, 11);
    for (int i = 0; i < N; i++) {
        double s = 0, t = 0;
        for (int j = 0; j < D; j++) {
            X[i * D + j] = mp_rng_normal(&r) * (j + 1);
            s += X[i * D + j] * (j % 2 ? 0.3 : -0.2);
            t += X[i * D + j] * 0.1 * j;
        }
        s += mp_rng_normal(&r);
        y[i] = s > 0.5 ? 2 : s > -0.5 ? 1 : 0;
        yb[i] = t + mp_rng_normal(&r) > 0;
    }
    const char *const dbl[] = {"tol=1e-6", "precision=double", NULL};
    const char *const mix[] = {"tol=1e-6", "precision=mixed", NULL};
    const char *const nwt[] = {"tol=1e-6", "solver=newton", NULL};
    void *s1 = NULL, *s2 = NULL, *s3 = NULL;
    mp_error e = {0};
    REQUIRE(fit(X, y, N, D, K, dbl, &s1, &e) == 0);
    REQUIRE(fit(X, y, N, D, K, mix, &s2, &e) == 0);
    double W1[K * D], b1[K], W2[K * D], b2[K];
    coefs(s1, W1, K * D, b1, K);
    coefs(s2, W2, K * D, b2, K);
    for (int j = 0; j < K * D; j++)
        CHECK_NEAR(W1[j], W2[j], 1e-4);
    /* The relative-reduction stop leaves a gradient far below the initial
     * one; the gradient the solver reports (threaded row pass, BLAS) is the
     * one computed here from the definition. */
    double zero[K * D + K];
    memset(zero, 0, sizeof zero);
    double g0 = multinomial_grad_max(X, y, N, D, K, zero, zero, 1.0);
    double g1 = multinomial_grad_max(X, y, N, D, K, W1, b1, 1.0);
    double g2 = multinomial_grad_max(X, y, N, D, K, W2, b2, 1.0);
    CHECK(g0 > 1000);
    CHECK(g1 < 1e-3 * g0 && g2 < 1e-3 * g0);
    CHECK_NEAR(fit_info_number(s1, "grad_max"), g1, 1e-9 * g0);
    CHECK_NEAR(fit_info_number(s2, "grad_max"), g2, 1e-9 * g0);
    char *fi = fit_info(s2);
    CHECK_STR_CONTAINS(fi, "\"precision\":\"mixed\"");
    CHECK_STR_CONTAINS(fi, "\"converged\":true");
    free(fi);
    /* Most of the work was done in single precision. */
    CHECK(fit_info_number(s2, "n_iter_single") >= 0.5 * fit_info_number(s2, "n_iter"));
    A->destroy(s1);
    A->destroy(s2);
    REQUIRE(fit(X, yb, N, D, 2, dbl, &s1, &e) == 0);
    REQUIRE(fit(X, yb, N, D, 2, nwt, &s3, &e) == 0);
    double c1[D], c3[D], d1 = 0, d3 = 0;
    coefs(s1, c1, D, &d1, 1);
    coefs(s3, c3, D, &d3, 1);
    for (int j = 0; j < D; j++)
        CHECK_NEAR(c1[j], c3[j], 1e-4);
    CHECK_NEAR(d1, d3, 1e-4);
    A->destroy(s1);
    A->destroy(s3);
    free(X);
    free(y);
    free(yb);
}

/* W too big for the fused pass (nv*d > 32768) goes to BLAS: few rows,
 * many columns. The reported gradient must be the definition's, in double
 * and mixed precision. */
static void test_big_w_blas_path(void)
{
    enum { N = 40, D = 11000, K = 3 };
    double *X = malloc((size_t)N * D * sizeof *X), *y = malloc(N * sizeof *y),
           *W = malloc((size_t)K * D * sizeof *W), *zero = calloc(K * D + K, sizeof *zero);
    REQUIRE(X && y && W && zero);
    mp_rng r;
    mp_rng_seed(&r, 8);
    for (int i = 0; i < N; i++) {
        y[i] = i % 3;
        for (int j = 0; j < D; j++)
            X[(size_t)i * D + j] = mp_rng_normal(&r) + (j % 50 == 0 ? y[i] : 0.0);
    }
    double g0 = multinomial_grad_max(X, y, N, D, K, zero, zero, 1.0);
    const char *const modes[][3] = {{"tol=1e-6", "precision=double", NULL},
                                    {"tol=1e-6", "precision=mixed", NULL}};
    for (int m = 0; m < 2; m++) {
        void *st = NULL;
        mp_error e = {0};
        REQUIRE(fit(X, y, N, D, K, modes[m], &st, &e) == 0);
        double b[K];
        coefs(st, W, (size_t)K * D, b, K);
        double g = multinomial_grad_max(X, y, N, D, K, W, b, 1.0);
        CHECK(g < 1e-3 * g0);
        CHECK_NEAR(fit_info_number(st, "grad_max"), g, 1e-9 * g0);
        double out[N * K];
        CHECK(A->predict(st, X, N, D, out, &e) == 0);
        for (int i = 0; i < N; i++)
            CHECK(out[i * K + (int)y[i]] > 0.5); /* fits its training rows */
        A->destroy(st);
    }
    free(X);
    free(y);
    free(W);
    free(zero);
}

/* Without features the unpenalised intercepts make the predicted
 * probabilities the class frequencies: P(1) = 3/10 here, and for three
 * classes the softmax of the intercepts equals 4/12, 5/12, 3/12. */
static void test_no_features(void)
{
    static const double y[] = {1, 1, 0, 1, 0, 0, 0, 0, 0, 0};
    const char *const p[] = {"tol=1e-12", NULL};
    void *st = NULL;
    mp_error e = {0};
    REQUIRE(fit(NULL, y, 10, 0, 2, p, &st, &e) == 0);
    double out[36];
    REQUIRE(A->predict(st, NULL, 10, 0, out, &e) == 0);
    CHECK_NEAR(out[1], 0.3, 1e-7);
    CHECK_NEAR(out[18], 0.7, 1e-7);
    A->destroy(st);
    static const double y3[] = {0, 1, 2, 1, 0, 2, 1, 0, 1, 0, 1, 2};
    REQUIRE(fit(NULL, y3, 12, 0, 3, p, &st, &e) == 0);
    REQUIRE(A->predict(st, NULL, 12, 0, out, &e) == 0);
    CHECK_NEAR(out[0], 4.0 / 12, 1e-7);
    CHECK_NEAR(out[1], 5.0 / 12, 1e-7);
    CHECK_NEAR(out[2], 3.0 / 12, 1e-7);
    A->destroy(st);
}

/* Wider rows (d = 70: vector loops with a scalar tail in both precisions):
 * the reported gradient is the definition's, in double and in mixed
 * precision, and lbfgs agrees with newton for two classes. */
static void test_wide_rows(void)
{
    enum { N = 600, D = 70, K = 3 };
    double *X = malloc(N * D * sizeof *X), *y = malloc(N * sizeof *y),
           *yb = malloc(N * sizeof *yb), *W = malloc(K * D * sizeof *W),
           *zero = calloc(K * D + K, sizeof *zero);
    REQUIRE(X && y && yb && W && zero);
    mp_rng r;
    mp_rng_seed(&r, 3);
    for (int i = 0; i < N; i++) {
        double s = 0;
        for (int j = 0; j < D; j++) {
            X[i * D + j] = mp_rng_normal(&r);
            s += X[i * D + j] * ((j % 7) - 3) * 0.05;
        }
        s += mp_rng_normal(&r);
        y[i] = s > 0.4 ? 2 : s > -0.4 ? 1 : 0;
        yb[i] = s > 0;
    }
    double g0 = multinomial_grad_max(X, y, N, D, K, zero, zero, 1.0);
    const char *const modes[][3] = {{"tol=1e-8", "precision=double", NULL},
                                    {"tol=1e-8", "precision=mixed", NULL}};
    for (int m = 0; m < 2; m++) {
        void *st = NULL;
        mp_error e = {0};
        REQUIRE(fit(X, y, N, D, K, modes[m], &st, &e) == 0);
        double b[K];
        coefs(st, W, K * D, b, K);
        double g = multinomial_grad_max(X, y, N, D, K, W, b, 1.0);
        CHECK(g < 1e-3 * g0);
        CHECK_NEAR(fit_info_number(st, "grad_max"), g, 1e-9 * g0);
        A->destroy(st);
    }
    const char *const lb[] = {"tol=1e-8", NULL}, *const nt[] = {"tol=1e-8", "solver=newton", NULL};
    void *s1 = NULL, *s2 = NULL;
    mp_error e = {0};
    REQUIRE(fit(X, yb, N, D, 2, lb, &s1, &e) == 0);
    REQUIRE(fit(X, yb, N, D, 2, nt, &s2, &e) == 0);
    double c1[D], c2[D], b1 = 0, b2 = 0;
    coefs(s1, c1, D, &b1, 1);
    coefs(s2, c2, D, &b2, 1);
    for (int j = 0; j < D; j++)
        CHECK_NEAR(c1[j], c2[j], 1e-4);
    CHECK(fit_info_number(s2, "grad_max") <= 1e-8);
    A->destroy(s1);
    A->destroy(s2);
    free(X);
    free(y);
    free(yb);
    free(W);
    free(zero);
}

int main(void)
{
    RUN(test_binary_matches_reference);
    RUN(test_multinomial);
    RUN(test_class_weight_balanced);
    RUN(test_separable_stays_finite);
    RUN(test_max_iter_not_converged);
    RUN(test_fit_intercept_false);
    RUN(test_absent_class);
    RUN(test_bad_input);
    RUN(test_params_rejected);
    RUN(test_roundtrip_bitwise);
    RUN(test_load_inconsistent);
    RUN(test_larger_problem);
    RUN(test_wide_rows);
    RUN(test_no_features);
    RUN(test_big_w_blas_path);
    return TEST_SUMMARY();
}
