#include "ml/lbfgs.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Wolfe constants: c1 small so that almost any decrease is accepted, c2
 * loose (0.9) as is usual for quasi-Newton methods, where the unit step is
 * the one to take most of the time. */
#define WOLFE_C1 1e-4
#define WOLFE_C2 0.9
#define STEP_MAX 1e20

int mp_lbfgs_init(mp_lbfgs *s, size_t n, int m, mp_error *e)
{
    memset(s, 0, sizeof *s);
    if (m <= 0)
        m = 10;
    s->n = n;
    s->m = m;
    size_t nn = n ? n : 1;
    s->s = malloc((size_t)m * nn * sizeof *s->s);
    s->y = malloc((size_t)m * nn * sizeof *s->y);
    s->rho = malloc((size_t)m * sizeof *s->rho);
    s->alpha = malloc((size_t)m * sizeof *s->alpha);
    s->g = malloc(nn * sizeof *s->g);
    s->d = malloc(nn * sizeof *s->d);
    s->xt = malloc(nn * sizeof *s->xt);
    s->gt = malloc(nn * sizeof *s->gt);
    s->xlo = malloc(nn * sizeof *s->xlo);
    s->glo = malloc(nn * sizeof *s->glo);
    if (!s->s || !s->y || !s->rho || !s->alpha || !s->g || !s->d || !s->xt || !s->gt || !s->xlo ||
        !s->glo) {
        mp_lbfgs_free(s);
        return mp_error_set(e, MP_ENOMEM, "lbfgs: out of memory for %zu variables", n);
    }
    return 0;
}

void mp_lbfgs_free(mp_lbfgs *s)
{
    free(s->s);
    free(s->y);
    free(s->rho);
    free(s->alpha);
    free(s->g);
    free(s->d);
    free(s->xt);
    free(s->gt);
    free(s->xlo);
    free(s->glo);
    memset(s, 0, sizeof *s);
}

void mp_lbfgs_reset(mp_lbfgs *s)
{
    s->count = 0;
    s->head = 0;
}

const char *mp_lbfgs_stop_name(mp_lbfgs_stop stop)
{
    switch (stop) {
    case MP_LBFGS_GTOL: return "gtol";
    case MP_LBFGS_FTOL: return "ftol";
    case MP_LBFGS_MAXITER: return "max_iter";
    case MP_LBFGS_LINESEARCH: return "line_search";
    }
    return "?";
}

static double dot(const double *a, const double *b, size_t n)
{
    return cblas_ddot((int)n, a, 1, b, 1);
}

static double max_abs(const double *a, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double v = fabs(a[i]);
        if (v > m || isnan(v))
            m = v;
    }
    return m;
}

/* d = -H g by the two-loop recursion over the stored pairs. */
static void direction(mp_lbfgs *s)
{
    size_t n = s->n;
    for (size_t i = 0; i < n; i++)
        s->d[i] = -s->g[i];
    if (!s->count)
        return;
    for (int j = s->count - 1; j >= 0; j--) {
        int k = (s->head + j) % s->m;
        double a = s->rho[k] * dot(s->s + (size_t)k * n, s->d, n);
        s->alpha[k] = a;
        cblas_daxpy((int)n, -a, s->y + (size_t)k * n, 1, s->d, 1);
    }
    int newest = (s->head + s->count - 1) % s->m;
    const double *sy = s->s + (size_t)newest * n, *yy = s->y + (size_t)newest * n;
    double gamma = dot(sy, yy, n) / dot(yy, yy, n);
    cblas_dscal((int)n, gamma, s->d, 1);
    for (int j = 0; j < s->count; j++) {
        int k = (s->head + j) % s->m;
        double b = s->rho[k] * dot(s->y + (size_t)k * n, s->d, n);
        cblas_daxpy((int)n, s->alpha[k] - b, s->s + (size_t)k * n, 1, s->d, 1);
    }
}

/* Minimiser of the cubic through (a0, f0, d0) and (a1, f1, d1), or NAN when
 * it does not exist (the caller then bisects). */
static double cubic_min(double a0, double f0, double d0, double a1, double f1, double d1)
{
    double t1 = d0 + d1 - 3 * (f0 - f1) / (a0 - a1);
    double disc = t1 * t1 - d0 * d1;
    if (!(disc >= 0) || !isfinite(disc))
        return NAN;
    double t2 = sqrt(disc);
    if (a1 < a0)
        t2 = -t2;
    double den = d1 - d0 + 2 * t2;
    if (den == 0)
        return NAN;
    return a1 - (a1 - a0) * (d1 + t2 - t1) / den;
}

typedef struct ls_point {
    double a, f, dg;
} ls_point;

/* One trial point: xt = x + a d, evaluated into ft, gt. */
static int trial(mp_lbfgs *s, const double *x, double a, mp_lbfgs_fn fn, void *ctx, ls_point *p)
{
    size_t n = s->n;
    for (size_t i = 0; i < n; i++)
        s->xt[i] = x[i] + a * s->d[i];
    double f = NAN;
    int rc = fn(ctx, s->xt, &f, s->gt);
    s->nfev++;
    if (rc)
        return rc;
    p->a = a;
    p->f = f;
    p->dg = isfinite(f) ? dot(s->gt, s->d, n) : NAN;
    return 0;
}

static void keep_lo(mp_lbfgs *s)
{
    memcpy(s->xlo, s->xt, s->n * sizeof *s->xt);
    memcpy(s->glo, s->gt, s->n * sizeof *s->gt);
}

/* Searches along s->d from x (objective f0, slope dg0 < 0) for a step
 * satisfying the strong Wolfe conditions (Nocedal & Wright, algorithms 3.5
 * and 3.6, with safeguarded cubic interpolation). On success returns 1 with
 * the new point in xt/gt (or xlo/glo when *use_lo) and its step and value
 * in *acc; returns 0 when no acceptable step was found, or fn's error. */
static int line_search(mp_lbfgs *s, const double *x, double f0, double dg0, double a1,
                       int max_ls, mp_lbfgs_fn fn, void *ctx, ls_point *acc, int *use_lo)
{
    ls_point lo = {0, f0, dg0}, hi = {0}, prev = lo, cur;
    int have_lo_x = 0; /* xlo/glo hold lo (else lo is the start point) */
    int evals = 0, rc;
    double a = a1;
    *use_lo = 0;

    /* Bracketing: grow the step until it overshoots or satisfies Wolfe. */
    for (;;) {
        if (evals >= max_ls) {
            lo = prev;
            goto exhausted;
        }
        if ((rc = trial(s, x, a, fn, ctx, &cur)))
            return rc;
        evals++;
        if (!(cur.f <= f0 + WOLFE_C1 * a * dg0) || (evals > 1 && cur.f >= prev.f)) {
            lo = prev;
            hi = cur;
            break;
        }
        if (fabs(cur.dg) <= -WOLFE_C2 * dg0) {
            *acc = cur;
            return 1;
        }
        if (cur.dg >= 0) {
            hi = prev;
            lo = cur;
            keep_lo(s);
            have_lo_x = 1;
            break;
        }
        /* Sufficient decrease but still going down steeply: go further. */
        prev = cur;
        keep_lo(s);
        have_lo_x = 1;
        if (a >= STEP_MAX) {
            lo = prev;
            goto exhausted;
        }
        a = fmin(4 * a, STEP_MAX);
    }
    /* The lo recorded by the loop above may be `prev`, whose point is in
     * xlo/glo exactly when prev.a > 0. */
    have_lo_x = lo.a > 0;

    /* Zoom: shrink [lo, hi] keeping lo the best point with sufficient
     * decrease and the minimiser in between. */
    while (evals < max_ls) {
        double left = fmin(lo.a, hi.a), right = fmax(lo.a, hi.a), w = right - left;
        if (w <= 1e-16 * right)
            break;
        double t = isfinite(hi.f) ? cubic_min(lo.a, lo.f, lo.dg, hi.a, hi.f, hi.dg) : NAN;
        if (!(t >= left + 0.1 * w && t <= right - 0.1 * w))
            t = 0.5 * (lo.a + hi.a);
        if ((rc = trial(s, x, t, fn, ctx, &cur)))
            return rc;
        evals++;
        if (!(cur.f <= f0 + WOLFE_C1 * t * dg0) || cur.f >= lo.f) {
            hi = cur;
        } else {
            if (fabs(cur.dg) <= -WOLFE_C2 * dg0) {
                *acc = cur;
                return 1;
            }
            if (cur.dg * (hi.a - lo.a) >= 0)
                hi = lo;
            lo = cur;
            keep_lo(s);
            have_lo_x = 1;
        }
    }
exhausted:
    /* No strong-Wolfe point within the budget: still take the best point
     * with sufficient decrease, if any, rather than stall. */
    if (have_lo_x && lo.a > 0 && lo.f < f0) {
        *acc = lo;
        *use_lo = 1;
        return 1;
    }
    return 0;
}

int mp_lbfgs_run(mp_lbfgs *s, double *x, mp_lbfgs_fn fn, void *ctx, const mp_lbfgs_opts *o,
                 mp_error *e)
{
    size_t n = s->n;
    int max_ls = o->max_ls > 0 ? o->max_ls : 20;
    double f;
    int rc = fn(ctx, x, &f, s->g);
    s->nfev++;
    if (rc)
        return rc;
    if (!isfinite(f))
        return mp_error_set(e, MP_ENUMERIC, "lbfgs: objective is not finite at the start");
    long it = 0;
    int retried = 0;
    for (;;) {
        s->f = f;
        s->gmax = max_abs(s->g, n);
        if (s->gmax <= o->gtol) {
            s->stop = MP_LBFGS_GTOL;
            break;
        }
        if (isnan(s->gmax))
            return mp_error_set(e, MP_ENUMERIC, "lbfgs: gradient is not finite");
        if (it >= o->max_iter) {
            s->stop = MP_LBFGS_MAXITER;
            break;
        }
        direction(s);
        double dg = dot(s->g, s->d, n);
        if (!(dg < 0) || !isfinite(dg)) {
            /* The curvature model went bad (rounding): start afresh. */
            mp_lbfgs_reset(s);
            direction(s);
            dg = dot(s->g, s->d, n);
        }
        /* Without curvature information the scale of the gradient is
         * unknown: make the first trial step of unit length (as SciPy). */
        double a1 = s->count ? 1.0 : 1.0 / sqrt(-dg);
        ls_point acc = {0, 0, 0};
        int use_lo;
        rc = line_search(s, x, f, dg, a1, max_ls, fn, ctx, &acc, &use_lo);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            if (s->count && !retried) {
                mp_lbfgs_reset(s);
                retried = 1;
                continue;
            }
            s->stop = MP_LBFGS_LINESEARCH;
            break;
        }
        retried = 0;
        const double *xn = use_lo ? s->xlo : s->xt, *gn = use_lo ? s->glo : s->gt;
        /* Store the pair in the slot of the oldest (or the next free one). */
        int k = s->count < s->m ? (s->head + s->count) % s->m : s->head;
        double *sk = s->s + (size_t)k * n, *yk = s->y + (size_t)k * n;
        for (size_t i = 0; i < n; i++) {
            sk[i] = xn[i] - x[i];
            yk[i] = gn[i] - s->g[i];
        }
        double sy = dot(sk, yk, n), yy = dot(yk, yk, n);
        /* Skip a pair whose curvature is not safely positive: it would make
         * H indefinite. */
        if (sy > 2.2e-16 * yy && yy > 0) {
            s->rho[k] = 1.0 / sy;
            if (s->count < s->m)
                s->count++;
            else
                s->head = (s->head + 1) % s->m;
        }
        memcpy(x, xn, n * sizeof *x);
        memcpy(s->g, gn, n * sizeof *s->g);
        double fold = f;
        f = acc.f;
        it++;
        s->iters++;
        s->f = f;
        s->gmax = max_abs(s->g, n);
        if (s->gmax <= o->gtol) {
            s->stop = MP_LBFGS_GTOL;
            break;
        }
        if (o->ftol > 0 && (fold - f) <= o->ftol * fmax(fmax(fabs(fold), fabs(f)), 1.0)) {
            s->stop = MP_LBFGS_FTOL;
            break;
        }
    }
    return 0;
}
