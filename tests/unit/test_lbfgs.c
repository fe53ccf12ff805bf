#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ml/lbfgs.h"
#include "test.h"

typedef struct counter {
    int calls;
    int fail_at; /* return MP_ENOMEM on this call (0: never) */
} counter;

static int rosenbrock(void *ctx, const double *x, double *f, double *g)
{
    counter *c = ctx;
    if (++c->calls == c->fail_at)
        return MP_ENOMEM;
    double a = 1 - x[0], b = x[1] - x[0] * x[0];
    *f = a * a + 100 * b * b;
    g[0] = -2 * a - 400 * x[0] * b;
    g[1] = 200 * b;
    return 0;
}

/* f = sum_i (i+1) (x_i - 1)^2 / 2 over 50 variables: condition 50. */
static int quadratic(void *ctx, const double *x, double *f, double *g)
{
    (void)ctx;
    *f = 0;
    for (int i = 0; i < 50; i++) {
        double t = x[i] - 1;
        *f += 0.5 * (i + 1) * t * t;
        g[i] = (i + 1) * t;
    }
    return 0;
}

/* -log(x) + x: minimum at 1, undefined (NaN) for x <= 0, which a long
 * first step lands in. */
static int log_barrier(void *ctx, const double *x, double *f, double *g)
{
    (void)ctx;
    *f = x[0] > 0 ? -log(x[0]) + x[0] : NAN;
    g[0] = x[0] > 0 ? -1 / x[0] + 1 : NAN;
    return 0;
}

static void test_rosenbrock(void)
{
    mp_lbfgs s;
    mp_error e = {0};
    REQUIRE(mp_lbfgs_init(&s, 2, 0, &e) == 0);
    double x[2] = {-1.2, 1.0};
    counter c = {0, 0};
    mp_lbfgs_opts o = {.max_iter = 500, .gtol = 1e-9, .ftol = 0};
    CHECK(mp_lbfgs_run(&s, x, rosenbrock, &c, &o, &e) == 0);
    CHECK(s.stop == MP_LBFGS_GTOL);
    CHECK_NEAR(x[0], 1.0, 1e-8);
    CHECK_NEAR(x[1], 1.0, 1e-8);
    CHECK(s.gmax <= 1e-9);
    CHECK(s.iters > 10 && s.iters < 200);
    CHECK(s.nfev == c.calls);
    CHECK(!strcmp(mp_lbfgs_stop_name(s.stop), "gtol"));
    mp_lbfgs_free(&s);
}

static void test_quadratic_and_budget(void)
{
    mp_lbfgs s;
    mp_error e = {0};
    REQUIRE(mp_lbfgs_init(&s, 50, 5, &e) == 0);
    double x[50] = {0};
    mp_lbfgs_opts o = {.max_iter = 3, .gtol = 1e-10, .ftol = 0};
    CHECK(mp_lbfgs_run(&s, x, quadratic, NULL, &o, &e) == 0);
    CHECK(s.stop == MP_LBFGS_MAXITER);
    CHECK(s.iters == 3);
    /* Continue on the same workspace: the pairs are kept, totals add up. */
    o.max_iter = 200;
    CHECK(mp_lbfgs_run(&s, x, quadratic, NULL, &o, &e) == 0);
    CHECK(s.stop == MP_LBFGS_GTOL);
    for (int i = 0; i < 50; i++)
        CHECK_NEAR(x[i], 1.0, 1e-10);
    CHECK(s.iters > 3 && s.iters < 150);
    /* Already optimal: stops before any iteration. */
    long before = s.iters;
    CHECK(mp_lbfgs_run(&s, x, quadratic, NULL, &o, &e) == 0);
    CHECK(s.iters == before && s.stop == MP_LBFGS_GTOL);
    mp_lbfgs_free(&s);
}

static void test_ftol_stop(void)
{
    /* With gtol 0 only the relative-reduction test can stop a converging
     * run (as SciPy's factr). */
    mp_lbfgs s;
    mp_error e = {0};
    REQUIRE(mp_lbfgs_init(&s, 50, 10, &e) == 0);
    double x[50] = {0};
    mp_lbfgs_opts o = {.max_iter = 1000, .gtol = 0, .ftol = 2.220446049250313e-09};
    CHECK(mp_lbfgs_run(&s, x, quadratic, NULL, &o, &e) == 0);
    CHECK(s.stop == MP_LBFGS_FTOL || s.stop == MP_LBFGS_GTOL);
    CHECK(s.iters < 1000);
    CHECK_NEAR(x[49], 1.0, 1e-3);
    mp_lbfgs_free(&s);
}

static void test_nan_region(void)
{
    mp_lbfgs s;
    mp_error e = {0};
    REQUIRE(mp_lbfgs_init(&s, 1, 0, &e) == 0);
    double x[1] = {0.01}; /* gradient -99: the unit first step lands at 1.01 */
    mp_lbfgs_opts o = {.max_iter = 100, .gtol = 1e-10, .ftol = 0};
    CHECK(mp_lbfgs_run(&s, x, log_barrier, NULL, &o, &e) == 0);
    CHECK(s.stop == MP_LBFGS_GTOL);
    CHECK_NEAR(x[0], 1.0, 1e-9);
    /* From the other side: the slope is small, so the search extrapolates
     * towards 0 and must not accept a NaN point on the way. */
    x[0] = 30;
    CHECK(mp_lbfgs_run(&s, x, log_barrier, NULL, &o, &e) == 0);
    CHECK_NEAR(x[0], 1.0, 1e-9);
    mp_lbfgs_free(&s);
}

static void test_errors(void)
{
    mp_lbfgs s;
    mp_error e = {0};
    REQUIRE(mp_lbfgs_init(&s, 2, 0, &e) == 0);
    double x[2] = {-1.2, 1.0};
    counter c = {0, 5};
    mp_lbfgs_opts o = {.max_iter = 100, .gtol = 1e-9, .ftol = 0};
    CHECK(mp_lbfgs_run(&s, x, rosenbrock, &c, &o, &e) == MP_ENOMEM);
    CHECK(isfinite(x[0]) && isfinite(x[1]));
    /* NaN at the start point is a numerical error, not a hang. */
    double bad[1] = {-1};
    mp_lbfgs s1;
    REQUIRE(mp_lbfgs_init(&s1, 1, 0, &e) == 0);
    CHECK(mp_lbfgs_run(&s1, bad, log_barrier, NULL, &o, &e) == MP_ENUMERIC);
    CHECK_STR_CONTAINS(e.msg, "not finite");
    mp_lbfgs_free(&s1);
    mp_lbfgs_free(&s);
}

int main(void)
{
    RUN(test_rosenbrock);
    RUN(test_quadratic_and_budget);
    RUN(test_ftol_stop);
    RUN(test_nan_region);
    RUN(test_errors);
    return TEST_SUMMARY();
}
