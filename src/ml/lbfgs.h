/* A generic limited-memory BFGS minimiser for smooth unconstrained
 * objectives, with a line search that satisfies the strong Wolfe
 * conditions (sufficient decrease c1 = 1e-4, curvature c2 = 0.9).
 *
 * The stopping rules are those of SciPy's L-BFGS-B as scikit-learn calls it,
 * so a model trained with the same tol and max_iter stops at about the same
 * point: max|g| <= gtol, or a relative decrease of f of at most ftol
 * (SciPy: factr * machine epsilon = 2.22e-9), or max_iter iterations.
 *
 * Ownership: mp_lbfgs_init allocates the workspace, mp_lbfgs_free releases
 * it. A workspace is used by one thread at a time. */
#ifndef MP_ML_LBFGS_H
#define MP_ML_LBFGS_H

#include <stddef.h>

#include "core/error.h"

/* Evaluates the objective at x (n values): writes f and the gradient g
 * (n values). Returns 0, or a negative MP_E* code that stops the run and is
 * returned by mp_lbfgs_run. A non-finite f is allowed: the line search
 * treats it as "too far" and shortens the step. */
typedef int (*mp_lbfgs_fn)(void *ctx, const double *x, double *f, double *g);

typedef struct mp_lbfgs_opts {
    long max_iter;  /* iterations of this run (each = one line search) */
    double gtol;    /* stop when max|g_i| <= gtol */
    double ftol;    /* stop when (f_k - f_k+1) / max(|f_k|, |f_k+1|, 1) <= ftol; 0: never */
    int max_ls;     /* objective evaluations per line search; 0 means 20 */
} mp_lbfgs_opts;

typedef enum {
    MP_LBFGS_GTOL = 1,       /* gradient small enough: converged */
    MP_LBFGS_FTOL = 2,       /* objective stopped decreasing: converged */
    MP_LBFGS_MAXITER = 3,    /* iteration budget used up */
    MP_LBFGS_LINESEARCH = 4, /* no step satisfying the Wolfe conditions was found */
} mp_lbfgs_stop;

typedef struct mp_lbfgs {
    size_t n;
    int m;            /* pairs kept */
    int count, head;  /* pairs stored; slot of the oldest */
    double *s, *y;    /* m*n each: steps and gradient changes */
    double *rho;      /* 1 / (y.s) per pair */
    double *alpha;    /* m: two-loop scratch */
    double *g, *d, *xt, *gt, *xlo, *glo;
    /* Totals over all runs, and the state after the last one. */
    long iters, nfev;
    double f, gmax;   /* at the returned x */
    mp_lbfgs_stop stop;
} mp_lbfgs;

/* Workspace for n variables keeping m correction pairs (m <= 0 means 10). */
int mp_lbfgs_init(mp_lbfgs *s, size_t n, int m, mp_error *e);
void mp_lbfgs_free(mp_lbfgs *s);
/* Forgets the correction pairs (the next step is steepest descent). */
void mp_lbfgs_reset(mp_lbfgs *s);

/* Minimises from x (n values, updated in place to the best point found).
 * May be called again on the same workspace to continue: the correction
 * pairs are kept, which lets a caller switch the objective to a more precise
 * evaluation of the same function without losing the curvature model.
 * Returns 0 (see s->stop for why it stopped) or the error of fn. */
int mp_lbfgs_run(mp_lbfgs *s, double *x, mp_lbfgs_fn fn, void *ctx, const mp_lbfgs_opts *o,
                 mp_error *e);

/* "gtol", "ftol", "max_iter", "line_search" */
const char *mp_lbfgs_stop_name(mp_lbfgs_stop stop);

#endif
