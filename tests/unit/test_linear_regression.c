#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "ml/algo.h"
#include "test.h"

static const mp_algo *A = &mp_algo_linear_regression;

static int fit(const double *X, const double *y, size_t n, size_t d, const char *const *params,
               void **st, mp_error *e)
{
    mp_params p = {0};
    for (int i = 0; params && params[i]; i++)
        mp_params_add(&p, params[i], NULL);
    mp_fit_input in = {.task = MP_TASK_REGRESS, .X = X, .n = n, .d = d, .y = y};
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

/* coef (d values) and intercept as saved; returns fit_info (caller frees). */
static char *coefs(const void *st, double *coef, size_t d, double *b)
{
    mp_tensors bag = {0};
    mp_error e = {0};
    char *fi = NULL;
    if (A->save(st, &bag, &e) == 0) {
        const mp_tensor *c = mp_tensors_get(&bag, "coef"), *i = mp_tensors_get(&bag, "intercept");
        if (c && c->nelems == d && d)
            memcpy(coef, c->data, d * sizeof *coef);
        if (i && i->nelems == 1)
            *b = *(const double *)i->data;
        if (mp_tensors_meta(&bag, "fit_info"))
            fi = strdup(mp_tensors_meta(&bag, "fit_info"));
    }
    mp_tensors_free(&bag);
    return fi;
}

/* y = 1.5 + 2 x1 - 0.5 x2, exactly. */
static const double X5[] = {1, 2, 2, 1, 3, 5, 4, 3, 0, 1};
static const double Y5[] = {1.5 + 2 - 1, 1.5 + 4 - 0.5, 1.5 + 6 - 2.5, 1.5 + 8 - 1.5, 1.5 - 0.5};

static void test_ols_exact(void)
{
    const char *const solvers[][2] = {{NULL, NULL}, {"solver=gram", NULL}, {"solver=lstsq", NULL}};
    const char *method[] = {"\"method\":\"gram\"", "\"method\":\"gram\"", "\"method\":\"lstsq\""};
    for (int s = 0; s < 3; s++) {
        void *st = NULL;
        mp_error e = {0};
        REQUIRE(fit(X5, Y5, 5, 2, solvers[s], &st, &e) == 0);
        double c[2] = {0}, b = 0;
        char *fi = coefs(st, c, 2, &b);
        CHECK_NEAR(c[0], 2.0, 1e-10);
        CHECK_NEAR(c[1], -0.5, 1e-10);
        CHECK_NEAR(b, 1.5, 1e-10);
        CHECK_STR_CONTAINS(fi, method[s]);
        CHECK_STR_CONTAINS(fi, "\"rank\":2");
        free(fi);
        double out[5];
        REQUIRE(A->predict(st, X5, 5, 2, out, &e) == 0);
        for (int i = 0; i < 5; i++)
            CHECK_NEAR(out[i], Y5[i], 1e-10);
        A->destroy(st);
    }
    /* Through the origin: y = 2 x1 - 0.5 x2. */
    double y0[5];
    for (int i = 0; i < 5; i++)
        y0[i] = Y5[i] - 1.5;
    const char *const noint[][3] = {{"fit_intercept=false", NULL, NULL},
                                    {"fit_intercept=false", "solver=lstsq", NULL}};
    for (int s = 0; s < 2; s++) {
        void *st = NULL;
        mp_error e = {0};
        REQUIRE(fit(X5, y0, 5, 2, noint[s], &st, &e) == 0);
        double c[2] = {0}, b = 1;
        free(coefs(st, c, 2, &b));
        CHECK_NEAR(c[0], 2.0, 1e-10);
        CHECK_NEAR(c[1], -0.5, 1e-10);
        CHECK(b == 0.0);
        A->destroy(st);
    }
    /* Without intercept on data with one: least squares through the origin,
     * here by hand: w = (X'X)^-1 X'y for the 2 x 2 normal equations. */
    double a11 = 0, a12 = 0, a22 = 0, r1 = 0, r2 = 0;
    for (int i = 0; i < 5; i++) {
        a11 += X5[2 * i] * X5[2 * i];
        a12 += X5[2 * i] * X5[2 * i + 1];
        a22 += X5[2 * i + 1] * X5[2 * i + 1];
        r1 += X5[2 * i] * Y5[i];
        r2 += X5[2 * i + 1] * Y5[i];
    }
    double det = a11 * a22 - a12 * a12;
    void *st = NULL;
    mp_error e = {0};
    const char *const ni[] = {"fit_intercept=false", NULL};
    REQUIRE(fit(X5, Y5, 5, 2, ni, &st, &e) == 0);
    double c[2] = {0}, b = 1;
    free(coefs(st, c, 2, &b));
    CHECK_NEAR(c[0], (a22 * r1 - a12 * r2) / det, 1e-12);
    CHECK_NEAR(c[1], (a11 * r2 - a12 * r1) / det, 1e-12);
    A->destroy(st);
}

static void test_collinear_columns(void)
{
    /* Column 3 is 3.7 x column 1: the minimum-norm solution splits the
     * slope 2 of column 1 as w1 + 3.7 w3 = 2 with (w1, w3) ~ (1, 3.7), and
     * predictions stay exact. */
    double X[15];
    for (int i = 0; i < 5; i++) {
        X[3 * i] = X5[2 * i];
        X[3 * i + 1] = X5[2 * i + 1];
        X[3 * i + 2] = 3.7 * X5[2 * i];
    }
    const double w1 = 2 / (1 + 3.7 * 3.7), w3 = 3.7 * w1;
    const char *const solvers[][2] = {{NULL, NULL}, {"solver=lstsq", NULL}, {"solver=gram", NULL}};
    for (int s = 0; s < 3; s++) {
        void *st = NULL;
        mp_error e = {0};
        REQUIRE(fit(X, Y5, 5, 3, solvers[s], &st, &e) == 0);
        double c[3] = {0}, b = 0;
        char *fi = coefs(st, c, 3, &b);
        double tol = s == 2 ? 1e-7 : 1e-10; /* forced Gram: pseudo-inverse of X'X */
        CHECK_NEAR(c[0], w1, tol);
        CHECK_NEAR(c[2], w3, tol);
        CHECK_NEAR(c[1], -0.5, tol);
        CHECK_NEAR(b, 1.5, tol);
        CHECK_STR_CONTAINS(fi, "\"rank\":2");
        /* auto sees the singular Gram matrix and takes the SVD route. */
        if (s == 0)
            CHECK_STR_CONTAINS(fi, "\"method\":\"lstsq\"");
        free(fi);
        double out[5];
        REQUIRE(A->predict(st, X, 5, 3, out, &e) == 0);
        for (int i = 0; i < 5; i++)
            CHECK_NEAR(out[i], Y5[i], tol);
        A->destroy(st);
    }
}

static void test_ridge_closed_form(void)
{
    /* Ridge by hand: centre, then solve (Xc'Xc + alpha I) w = Xc'yc by
     * Cramer's rule; b = mean(y) - mean(x).w. */
    static const double X[] = {1, 0.5, 2, -1, 3, 2.5, 4, 1, 5, 3, 6, 2};
    static const double y[] = {1.2, 0.7, 3.9, 3.1, 5.6, 5.0};
    const double alpha = 0.7;
    double m1 = 0, m2 = 0, my = 0;
    for (int i = 0; i < 6; i++) {
        m1 += X[2 * i] / 6;
        m2 += X[2 * i + 1] / 6;
        my += y[i] / 6;
    }
    double a11 = alpha, a12 = 0, a22 = alpha, r1 = 0, r2 = 0;
    for (int i = 0; i < 6; i++) {
        double u = X[2 * i] - m1, v = X[2 * i + 1] - m2, t = y[i] - my;
        a11 += u * u;
        a12 += u * v;
        a22 += v * v;
        r1 += u * t;
        r2 += v * t;
    }
    double det = a11 * a22 - a12 * a12;
    double w1 = (a22 * r1 - a12 * r2) / det, w2 = (a11 * r2 - a12 * r1) / det;
    double b = my - m1 * w1 - m2 * w2;
    const char *const solvers[][3] = {{"alpha=0.7", NULL, NULL},
                                      {"alpha=0.7", "solver=lstsq", NULL},
                                      {"alpha=0.7", "solver=gram", NULL}};
    for (int s = 0; s < 3; s++) {
        void *st = NULL;
        mp_error e = {0};
        REQUIRE(fit(X, y, 6, 2, solvers[s], &st, &e) == 0);
        double c[2] = {0}, bb = 0;
        free(coefs(st, c, 2, &bb));
        CHECK_NEAR(c[0], w1, 1e-12);
        CHECK_NEAR(c[1], w2, 1e-12);
        CHECK_NEAR(bb, b, 1e-12);
        A->destroy(st);
    }
    /* The penalty shrinks: the OLS slope is larger in norm. */
    void *st = NULL;
    mp_error e = {0};
    REQUIRE(fit(X, y, 6, 2, NULL, &st, &e) == 0);
    double c[2] = {0}, bb = 0;
    free(coefs(st, c, 2, &bb));
    CHECK(c[0] * c[0] + c[1] * c[1] > w1 * w1 + w2 * w2);
    A->destroy(st);
    /* Ridge without intercept penalises every coefficient, also on a
     * singular design (duplicate column): (X'X + alpha I) is still
     * invertible and both copies get the same coefficient. */
    double Xd[18];
    for (int i = 0; i < 6; i++) {
        Xd[3 * i] = X[2 * i];
        Xd[3 * i + 1] = X[2 * i + 1];
        Xd[3 * i + 2] = X[2 * i];
    }
    const char *const nd[] = {"alpha=0.7", "fit_intercept=false", NULL};
    REQUIRE(fit(Xd, y, 6, 3, nd, &st, &e) == 0);
    double cd[3] = {0};
    free(coefs(st, cd, 3, &bb));
    CHECK_NEAR(cd[0], cd[2], 1e-12);
    CHECK(bb == 0.0);
    A->destroy(st);
}

static double *random_design(mp_rng *r, size_t n, size_t d, double noise, double **y,
                             double *w_true)
{
    double *X = malloc(n * d * sizeof *X);
    *y = malloc(n * sizeof **y);
    if (!X || !*y)
        return X;
    for (size_t j = 0; j < d; j++)
        w_true[j] = mp_rng_normal(r);
    for (size_t i = 0; i < n; i++) {
        double s = 3.0;
        for (size_t j = 0; j < d; j++) {
            /* Different scales and offsets per column. */
            X[i * d + j] = mp_rng_normal(r) * (double)(j + 1) * 10 + (double)j * 100;
            s += X[i * d + j] * w_true[j];
        }
        (*y)[i] = s + noise * mp_rng_normal(r);
    }
    return X;
}

static void test_gram_agrees_with_lstsq(void)
{
    mp_rng r;
    mp_rng_seed(&r, 42);
    enum { N = 2000, D = 8 };
    double *y = NULL, w[D];
    double *X = random_design(&r, N, D, 0.5, &y, w);
    REQUIRE(X && y);
    const char *const g[] = {"solver=gram", NULL}, *const l[] = {"solver=lstsq", NULL};
    void *sa = NULL, *sg = NULL, *sl = NULL;
    mp_error e = {0};
    REQUIRE(fit(X, y, N, D, NULL, &sa, &e) == 0);
    REQUIRE(fit(X, y, N, D, g, &sg, &e) == 0);
    REQUIRE(fit(X, y, N, D, l, &sl, &e) == 0);
    double ca[D], cg[D], cl[D], ba = 0, bg = 0, bl = 0;
    char *fa = coefs(sa, ca, D, &ba), *fg = coefs(sg, cg, D, &bg), *fl = coefs(sl, cl, D, &bl);
    CHECK_STR_CONTAINS(fa, "\"method\":\"gram\"");
    CHECK_STR_CONTAINS(fl, "\"method\":\"lstsq\"");
    for (int j = 0; j < D; j++) {
        CHECK_NEAR(cg[j], cl[j], 1e-10 * fabs(cl[j]) + 1e-12);
        CHECK_NEAR(ca[j], cg[j], 0);
        CHECK_NEAR(cl[j], w[j], 0.01); /* and the truth, up to the noise */
    }
    CHECK_NEAR(bg, bl, 1e-9 * fabs(bl) + 1e-9);
    free(fa);
    free(fg);
    free(fl);
    A->destroy(sa);
    A->destroy(sg);
    A->destroy(sl);
    /* Ridge: the same agreement between the two routes. */
    const char *const rg[] = {"alpha=50", "solver=gram", NULL},
                      *const rl[] = {"alpha=50", "solver=lstsq", NULL};
    REQUIRE(fit(X, y, N, D, rg, &sg, &e) == 0);
    REQUIRE(fit(X, y, N, D, rl, &sl, &e) == 0);
    free(coefs(sg, cg, D, &bg));
    free(coefs(sl, cl, D, &bl));
    for (int j = 0; j < D; j++)
        CHECK_NEAR(cg[j], cl[j], 1e-10 * fabs(cl[j]) + 1e-12);
    A->destroy(sg);
    A->destroy(sl);
    free(X);
    free(y);
}

static void test_ill_conditioned_falls_back(void)
{
    /* Column 2 = column 1 + 1e-6 noise: cond(Xc)^2 ~ 1e12, beyond the Gram
     * route's limit, so auto must take dgelsd and still fit the exact
     * relation y = x1 + 3 x2 - 1. */
    mp_rng r;
    mp_rng_seed(&r, 5);
    enum { N = 400 };
    double X[2 * N], y[N];
    for (int i = 0; i < N; i++) {
        X[2 * i] = mp_rng_normal(&r);
        X[2 * i + 1] = X[2 * i] + 1e-6 * mp_rng_normal(&r);
        y[i] = X[2 * i] + 3 * X[2 * i + 1] - 1;
    }
    void *st = NULL;
    mp_error e = {0};
    REQUIRE(fit(X, y, N, 2, NULL, &st, &e) == 0);
    double c[2] = {0}, b = 0;
    char *fi = coefs(st, c, 2, &b);
    CHECK_STR_CONTAINS(fi, "\"method\":\"lstsq\"");
    CHECK_NEAR(c[0], 1.0, 1e-6);
    CHECK_NEAR(c[1], 3.0, 1e-6);
    CHECK_NEAR(b, -1.0, 1e-9);
    free(fi);
    A->destroy(st);
}

static void test_constant_column(void)
{
    /* A constant column carries nothing once centred: coefficient 0 on the
     * Gram route, like the minimum-norm lstsq solution. 0.7 six times does
     * not average to exactly 0.7, so the centred column is rounding noise,
     * not zeros. */
    static const double x12[] = {1, 0.5, 2, -1, 3, 2.5, 4, 1, 5, 3, 6, 2};
    double X[18], y[6];
    for (int i = 0; i < 6; i++) {
        X[3 * i] = x12[2 * i];
        X[3 * i + 1] = 0.7;
        X[3 * i + 2] = x12[2 * i + 1];
        y[i] = 1.5 + 2 * x12[2 * i] - 0.5 * x12[2 * i + 1];
    }
    const char *const solvers[][2] = {{NULL, NULL}, {"solver=gram", NULL}, {"solver=lstsq", NULL}};
    for (int s = 0; s < 3; s++) {
        void *st = NULL;
        mp_error e = {0};
        REQUIRE(fit(X, y, 6, 3, solvers[s], &st, &e) == 0);
        double c[3] = {9, 9, 9}, b = 0;
        char *fi = coefs(st, c, 3, &b);
        CHECK_NEAR(c[0], 2.0, 1e-10);
        CHECK_NEAR(c[1], 0.0, 1e-10);
        CHECK_NEAR(c[2], -0.5, 1e-10);
        CHECK_NEAR(b, 1.5, 1e-10);
        if (s == 0)
            CHECK_STR_CONTAINS(fi, "\"method\":\"gram\"");
        free(fi);
        A->destroy(st);
    }
    /* No features at all: the mean. */
    void *st = NULL;
    mp_error e = {0};
    REQUIRE(fit(NULL, Y5, 5, 0, NULL, &st, &e) == 0);
    double b = 0, out[5];
    free(coefs(st, NULL, 0, &b));
    CHECK_NEAR(b, (Y5[0] + Y5[1] + Y5[2] + Y5[3] + Y5[4]) / 5, 1e-12);
    REQUIRE(A->predict(st, NULL, 5, 0, out, &e) == 0);
    CHECK(out[3] == b);
    A->destroy(st);
}

static void test_wide_data(void)
{
    /* More features than rows: underdetermined, minimum-norm solution that
     * interpolates the targets. */
    static const double X[] = {1, 0, 2, 1, 0, 1, 1, 3, 2, 2, 0, 1};
    static const double y[] = {1, 2, 3};
    void *st = NULL;
    mp_error e = {0};
    REQUIRE(fit(X, y, 3, 4, NULL, &st, &e) == 0);
    double out[3];
    REQUIRE(A->predict(st, X, 3, 4, out, &e) == 0);
    for (int i = 0; i < 3; i++)
        CHECK_NEAR(out[i], y[i], 1e-10);
    A->destroy(st);
}

static void test_bad_input_and_params(void)
{
    void *st = NULL;
    mp_error e = {0};
    mp_params p = {0};
    mp_fit_input in = {.task = MP_TASK_CLASSIFY, .X = X5, .n = 5, .d = 2, .y = Y5, .nclasses = 2};
    CHECK(A->fit(&in, &p, &st, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "regression");
    CHECK(fit(X5, Y5, 0, 2, NULL, &st, &e) == MP_EINPUT);
    double y[5];
    memcpy(y, Y5, sizeof y);
    y[2] = NAN;
    CHECK(fit(X5, y, 5, 2, NULL, &st, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "row 3");
    CHECK(st == NULL);

    const char *const bad[] = {"alpha=-1",   "alpha=x",        "alpha=inf",     "fit_intercept=1",
                               "solver=qr",  "C=1",            "max_iter=10",   NULL};
    for (int i = 0; bad[i]; i++) {
        const char *const one[] = {bad[i], NULL};
        int rc = fit(X5, Y5, 5, 2, one, &st, &e);
        CHECK(rc == MP_EINVAL);
        CHECK(st == NULL);
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)strcspn(bad[i], "="), bad[i]);
        CHECK_STR_CONTAINS(e.msg, name);
    }
    CHECK_STR_CONTAINS(e.msg, "known: alpha, fit_intercept, solver");
}

static void test_roundtrip_bitwise(void)
{
    mp_rng r;
    mp_rng_seed(&r, 9);
    enum { N = 200, D = 4 };
    double *y = NULL, w[D];
    double *X = random_design(&r, N, D, 1.0, &y, w);
    REQUIRE(X && y);
    const char *const p[] = {"alpha=2.5", NULL};
    void *st = NULL, *st2 = NULL;
    mp_error e = {0};
    REQUIRE(fit(X, y, N, D, p, &st, &e) == 0);
    mp_tensors bag = {0};
    REQUIRE(A->save(st, &bag, &e) == 0);
    CHECK_STR_CONTAINS(mp_tensors_meta(&bag, "params"), "\"alpha\":2.5");
    CHECK_STR_CONTAINS(mp_tensors_meta(&bag, "params"), "\"fit_intercept\":true");
    REQUIRE(A->load(&bag, MP_TASK_REGRESS, D, 0, &st2, &e) == 0);
    double o1[N], o2[N];
    REQUIRE(A->predict(st, X, N, D, o1, &e) == 0);
    REQUIRE(A->predict(st2, X, N, D, o2, &e) == 0);
    CHECK(memcmp(o1, o2, sizeof o1) == 0);
    mp_tensors bag2 = {0};
    REQUIRE(A->save(st2, &bag2, &e) == 0);
    CHECK(!strcmp(mp_tensors_meta(&bag, "params"), mp_tensors_meta(&bag2, "params")));
    mp_tensors_free(&bag2);
    CHECK(A->predict(st2, X, N, D + 1, o2, &e) == MP_EINVAL);
    mp_tensors_free(&bag);
    A->destroy(st);
    A->destroy(st2);
    free(X);
    free(y);
}

static void test_load_inconsistent(void)
{
    const char *P = "{\"alpha\":0,\"fit_intercept\":true,\"solver\":\"auto\"}";
    struct {
        mp_dtype dt;
        int64_t ncoef, nb;
        double c0, b0;
        const char *params;
        mp_task task;
        int want;
    } cases[] = {
        {MP_DT_F64, 3, 1, 1.0, 0.5, P, MP_TASK_REGRESS, 0},
        {MP_DT_F64, 4, 1, 1.0, 0.5, P, MP_TASK_REGRESS, MP_EFORMAT},  /* d mismatch */
        {MP_DT_F64, 2, 1, 1.0, 0.5, P, MP_TASK_REGRESS, MP_EFORMAT},
        {MP_DT_F32, 3, 1, 1.0, 0.5, P, MP_TASK_REGRESS, MP_EFORMAT},  /* dtype */
        {MP_DT_F64, 3, 2, 1.0, 0.5, P, MP_TASK_REGRESS, MP_EFORMAT},  /* intercept shape */
        {MP_DT_F64, 3, -1, 1.0, 0.5, P, MP_TASK_REGRESS, MP_EFORMAT}, /* no intercept */
        {MP_DT_F64, -1, 1, 1.0, 0.5, P, MP_TASK_REGRESS, MP_EFORMAT}, /* no coef */
        {MP_DT_F64, 3, 1, NAN, 0.5, P, MP_TASK_REGRESS, MP_EFORMAT},
        {MP_DT_F64, 3, 1, 1.0, INFINITY, P, MP_TASK_REGRESS, MP_EFORMAT},
        {MP_DT_F64, 3, 1, 1.0, 0.5, NULL, MP_TASK_REGRESS, MP_EFORMAT},
        {MP_DT_F64, 3, 1, 1.0, 0.5, "[1,2]", MP_TASK_REGRESS, MP_EFORMAT},
        {MP_DT_F64, 3, 1, 1.0, 0.5, "{\"alpha\":-1,\"fit_intercept\":true,\"solver\":\"auto\"}",
         MP_TASK_REGRESS, MP_EFORMAT},
        {MP_DT_F64, 3, 1, 1.0, 0.5, "{\"alpha\":0,\"fit_intercept\":1,\"solver\":\"auto\"}",
         MP_TASK_REGRESS, MP_EFORMAT},
        {MP_DT_F64, 3, 1, 1.0, 0.5, P, MP_TASK_CLASSIFY, MP_EFORMAT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mp_tensors b = {0};
        double c[8] = {cases[i].c0, 2, 3, 4}, bb[2] = {cases[i].b0, 0};
        float cf[8] = {1, 2, 3, 4};
        int64_t sc[1] = {cases[i].ncoef}, sb[1] = {cases[i].nb};
        if (cases[i].ncoef >= 0)
            mp_tensors_add(&b, "coef", cases[i].dt, 1, sc,
                           cases[i].dt == MP_DT_F64 ? (const void *)c : (const void *)cf, NULL);
        if (cases[i].nb >= 0)
            mp_tensors_add(&b, "intercept", MP_DT_F64, 1, sb, bb, NULL);
        if (cases[i].params)
            mp_tensors_set_meta(&b, "params", cases[i].params);
        void *st = NULL;
        mp_error e = {0};
        int rc = A->load(&b, cases[i].task, 3, 0, &st, &e);
        CHECK(rc == cases[i].want);
        if (rc != cases[i].want)
            fprintf(stderr, "  case %zu: rc %d (%s)\n", i, rc, e.msg);
        if (rc == 0) {
            double x[3] = {1, 1, 1}, out = 0;
            CHECK(A->predict(st, x, 1, 3, &out, &e) == 0);
            CHECK_NEAR(out, 1 + 2 + 3 + 0.5, 1e-15);
        } else {
            CHECK(st == NULL);
            CHECK(e.msg[0] != '\0');
        }
        A->destroy(st);
        mp_tensors_free(&b);
    }
}

int main(void)
{
    RUN(test_ols_exact);
    RUN(test_collinear_columns);
    RUN(test_ridge_closed_form);
    RUN(test_gram_agrees_with_lstsq);
    RUN(test_ill_conditioned_falls_back);
    RUN(test_constant_column);
    RUN(test_wide_data);
    RUN(test_bad_input_and_params);
    RUN(test_roundtrip_bitwise);
    RUN(test_load_inconsistent);
    return TEST_SUMMARY();
}
