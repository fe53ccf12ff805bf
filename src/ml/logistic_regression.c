/* L2-regularised logistic regression with scikit-learn's semantics
 * (LogisticRegression, penalty='l2', multi_class='auto'):
 *
 *   two classes: one coefficient vector w, P(class 1) = sigmoid(x.w + b);
 *   K > 2:       K vectors, softmax (multinomial), as scikit-learn's lbfgs.
 *
 * Objective (scikit-learn's own scaling, so that tol means the same):
 *
 *   f(W, b) = sum_i s_i * logloss_i + ||W||^2 / (2 C)
 *
 * with s_i the class weight of row i (1, or n / (K count_k) for
 * class_weight=balanced, K the classes present); the intercepts are not
 * penalised. This is C times
 * 0.5 ||W||^2 + C sum s_i logloss_i, so the minimiser is scikit-learn's.
 *
 * Solvers: lbfgs (default; stops like SciPy's L-BFGS-B: max|grad| <= tol or
 * a relative decrease of f below 2.2e-9) and newton. newton is a direct
 * Newton method with the (d+1) x (d+1) Hessian factored by Cholesky and a
 * backtracking line search, stopping on max|grad| <= tol: quadratic
 * convergence to scikit-learn's optimum, for binary problems with up to
 * NEWTON_MAX_VARS variables. For multinomial problems (whose Hessian is
 * K(d+1) square and singular along the unpenalised intercepts) and wider
 * binary ones, newton uses lbfgs and says so in fit_info ("solver_used").
 *
 * Speed. While W (nv x d) fits in cache (nv*d <= FUSED_MAX_W) a fused row
 * pass (below) reads X once per evaluation and does all the work per group
 * of rows in vector registers; bigger W goes to BLAS (multi-threaded
 * OpenBLAS) for the two products with X, with the scores laid out classes x
 * rows, the orientation for which OpenBLAS's kernels are fastest here, and
 * a per-row pass in between. The row passes run on threads that take
 * chunks of rows from a shared counter (so a thread starved by other work
 * on a shared machine does not hold the rest back), with per-chunk sums
 * added in chunk order: results do not depend on the thread count. On
 * large problems with more than NARROW_D columns (precision=auto, n*d >=
 * MIXED_MIN_CELLS) the products first run in single precision on a float
 * copy of X (half the memory traffic, twice the SIMD width), with the loss,
 * probabilities and sums in double; when single precision stops making
 * progress (its own convergence test or a failed line search) the run
 * continues in double from the same point and curvature pairs, so
 * convergence is always decided in double precision (precision=double
 * turns this off, precision=mixed forces it).
 *
 * Classes absent from the training rows (possible after a split) are left
 * out of the fit and get coefficient 0 and intercept -inf: probability 0.
 *
 * If max_iter is reached the model is kept; fit_info (saved as metadata
 * "fit_info") records "converged": false and the iteration count so the
 * caller can warn, as scikit-learn's ConvergenceWarning. */
#include <cblas.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ml/algo.h"
#include "ml/lbfgs.h"

#define NAME "logistic-regression"

/* Largest number of variables (d + 1) the direct Newton solver factors. */
#define NEWTON_MAX_VARS 2048
/* SciPy's L-BFGS-B default factr (1e7) times machine epsilon. */
#define LBFGS_FTOL 2.220446049250313e-09
/* precision=auto uses single-precision products from this many cells. */
#define MIXED_MIN_CELLS ((size_t)1 << 23)
/* Largest nv*d for the fused row pass (W must stay in cache); beyond it
 * BLAS, whose blocking handles big W. */
#define FUSED_MAX_W 32768
/* precision=auto keeps X of at most this many columns in double: there the
 * work is in exp/log, not in the products. */
#define NARROW_D 64
/* Rows per chunk of the threaded row pass (at least), and most chunks. */
#define CHUNK_ROWS 4096
#define MAX_CHUNKS 64
#define MAX_THREADS 64

static const char *const lg_params[] = {"C",           "solver",    "max_iter", "tol",
                                        "class_weight", "fit_intercept", "precision", NULL};
static const char *const bool_names[] = {"true", "false", NULL};
enum { SOLVER_LBFGS, SOLVER_NEWTON };
static const char *const solver_names[] = {"lbfgs", "newton", NULL};
enum { CW_NONE, CW_BALANCED };
static const char *const cw_names[] = {"none", "balanced", NULL};
enum { PREC_AUTO, PREC_DOUBLE, PREC_MIXED };
static const char *const prec_names[] = {"auto", "double", "mixed", NULL};

typedef struct logreg {
    size_t d, K;       /* features, classes */
    size_t nv;         /* coefficient vectors: 1 when K == 2, else K */
    double *coef;      /* nv x d, row-major */
    double *intercept; /* nv */
    double C, tol;
    long max_iter;
    int solver, class_weight, fit_intercept, precision;
    char *fit_info; /* JSON object; may be NULL for a loaded model */
} logreg;

static void lg_destroy(void *state)
{
    logreg *m = state;
    if (!m)
        return;
    free(m->coef);
    free(m->intercept);
    free(m->fit_info);
    free(m);
}

/* ---- the objective ---------------------------------------------------- */

typedef struct problem {
    const double *X;
    size_t n, d, nv;
    const int *cls;   /* per row: class in 0..nv-1 (binary: 0 or 1) */
    const double *sw; /* per-row weights, or NULL for all 1 */
    double inv_C;
    int fit_intercept;
    int f32;          /* products in single precision (Xf valid) */
    float *Xf;        /* n x d copy of X, or NULL */
    double *Z;        /* nv x n scores, then residuals (double mode) */
    float *Zf;        /* nv x n scores, then residuals (f32 mode) */
    float *Wf, *Gf;   /* nv x d */
    int nthreads;
    const double *W;  /* coefficients during an evaluation (nv x d) */
    const double *b;  /* intercepts during an evaluation, or NULL */
    int fused;        /* one pass per row without BLAS (narrow X) */
    size_t chunk, nchunks; /* rows per chunk of the row pass, and how many */
    double *cacc;     /* per chunk: loss and nv residual sums */
    double *cgrad;    /* fused: per chunk nv x d gradient */
    double *tz;       /* per thread: 4 x nv scores (+ nv x d floats, fused f32) */
    size_t tz_stride; /* doubles per thread in tz */
    double *gb_scratch; /* nv: intercept sums when not fitting intercepts */
} problem;

/* sigmoid(z), and log(1 + exp(z)) - y z in *loss, without overflow for any
 * z; written without data-dependent branches (random signs of z would
 * defeat the branch predictor). */
static inline double sigmoid_loss(double z, double y, double *loss)
{
    double e = exp(-fabs(z)), inv = 1.0 / (1.0 + e);
    *loss = (z > 0 ? z : 0.0) + log1p(e) - y * z;
    return z >= 0 ? inv : e * inv;
}

/* Numerically stable per-row work, for scores stored as T (double or float):
 * turns scores into residuals s_i (p - onehot(y)) in place and accumulates
 * s_i * loss_i and the residual sums (the intercept gradient) into acc. */
#define DEFINE_ROW_KERNELS(SUF, T)                                                          \
    static void binary_rows_##SUF(const problem *p, T *Z, size_t lo, size_t hi, double *acc) \
    {                                                                                       \
        double b = p->b ? p->b[0] : 0.0, loss = 0, rsum = 0;                                \
        for (size_t i = lo; i < hi; i++) {                                                  \
            double y = (double)p->cls[i], s = p->sw ? p->sw[i] : 1.0, l;                    \
            double r = s * (sigmoid_loss((double)Z[i] + b, y, &l) - y);                     \
            loss += s * l;                                                                  \
            Z[i] = (T)r;                                                                    \
            rsum += r;                                                                      \
        }                                                                                   \
        acc[0] += loss;                                                                     \
        acc[1] += rsum;                                                                     \
    }                                                                                       \
    static void softmax_rows_##SUF(const problem *p, T *Z, size_t lo, size_t hi, double *acc) \
    {                                                                                       \
        size_t n = p->n, nv = p->nv;                                                        \
        double loss = 0;                                                                    \
        for (size_t i = lo; i < hi; i++) {                                                  \
            double m = -INFINITY, zy = 0, sum = 0;                                          \
            int y = p->cls[i];                                                              \
            for (size_t k = 0; k < nv; k++) {                                               \
                double z = (double)Z[k * n + i] + (p->b ? p->b[k] : 0.0);                   \
                if (z > m)                                                                  \
                    m = z;                                                                  \
                if ((int)k == y)                                                            \
                    zy = z;                                                                 \
            }                                                                               \
            for (size_t k = 0; k < nv; k++) {                                               \
                double v = exp((double)Z[k * n + i] + (p->b ? p->b[k] : 0.0) - m);          \
                Z[k * n + i] = (T)v;                                                        \
                sum += v;                                                                   \
            }                                                                               \
            double s = p->sw ? p->sw[i] : 1.0, inv = 1.0 / sum;                             \
            loss += s * (m + log(sum) - zy);                                                \
            for (size_t k = 0; k < nv; k++) {                                               \
                double r = s * ((double)Z[k * n + i] * inv - ((int)k == y ? 1.0 : 0.0));    \
                Z[k * n + i] = (T)r;                                                        \
                acc[1 + k] += r;                                                            \
            }                                                                               \
        }                                                                                   \
        acc[0] += loss;                                                                     \
    }

DEFINE_ROW_KERNELS(f64, double)
DEFINE_ROW_KERNELS(f32, float)

/* ---- the fused row pass ------------------------------------------------
 *
 * For W small enough to stay in cache (nv*d <= FUSED_MAX_W) one pass over
 * the rows computes their scores, loss and residuals and adds their
 * gradient contribution while they are in cache: X is read once per
 * evaluation and never copied, where BLAS reads it twice and packs it
 * twice. Rows go in groups of 4 and classes in pairs, so each load of X or
 * W feeds several multiply-adds. Written with GCC vector types (4 doubles
 * or 8 floats) and compiled twice, for AVX2 and for the baseline, with the
 * right one chosen at load time (target_clones). */

typedef double v4d __attribute__((vector_size(32)));
typedef double v4d_u __attribute__((vector_size(32), aligned(8), may_alias));
typedef float v8f __attribute__((vector_size(32)));
typedef float v8f_u __attribute__((vector_size(32), aligned(4), may_alias));

/* Loss and residuals of the 4 rows i0.. (R of them real) from their scores
 * z (4 x nv, intercepts included), in place; adds to acc. */
static inline __attribute__((always_inline)) void group_residuals(const problem *p, size_t i0,
                                                                  size_t R, double *z,
                                                                  double *acc)
{
    size_t nv = p->nv;
    for (size_t r = 0; r < 4; r++) {
        double *zr = z + r * nv;
        if (r >= R) {
            for (size_t k = 0; k < nv; k++)
                zr[k] = 0;
            continue;
        }
        size_t i = i0 + r;
        double s = p->sw ? p->sw[i] : 1.0;
        int y = p->cls[i];
        if (nv == 1) {
            double l, sig = sigmoid_loss(zr[0], (double)y, &l);
            acc[0] += s * l;
            zr[0] = s * (sig - (double)y);
            acc[1] += zr[0];
            continue;
        }
        double m = -INFINITY, sum = 0, zy = zr[y];
        for (size_t k = 0; k < nv; k++)
            if (zr[k] > m)
                m = zr[k];
        for (size_t k = 0; k < nv; k++) {
            zr[k] = exp(zr[k] - m);
            sum += zr[k];
        }
        acc[0] += s * (m + log(sum) - zy);
        double inv = 1.0 / sum;
        for (size_t k = 0; k < nv; k++) {
            zr[k] = s * (zr[k] * inv - ((int)k == y ? 1.0 : 0.0));
            acc[1 + k] += zr[k];
        }
    }
}

#define DEFINE_FUSED(SUF, T, V, VU, L)                                                        \
    /* z[r nv + k] = x_r . w_k + b_k for the 4 rows and all classes: classes      \
     * in pairs, then a last one alone. */                                                   \
    static inline __attribute__((always_inline)) void scores4_##SUF(                          \
        const T *const *x, const T *W, const double *b, size_t nv, size_t d, double *z)       \
    {                                                                                         \
        size_t dv = d - d % L, k = 0;                                                         \
        for (; k + 2 <= nv; k += 2) {                                                         \
            const T *w0 = W + k * d, *w1 = w0 + d;                                            \
            V a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, c0 = {0}, c1 = {0}, c2 = {0}, c3 = {0}; \
            for (size_t j = 0; j < dv; j += L) {                                              \
                V u = *(const VU *)(w0 + j), v = *(const VU *)(w1 + j);                       \
                V x0 = *(const VU *)(x[0] + j), x1 = *(const VU *)(x[1] + j);                 \
                V x2 = *(const VU *)(x[2] + j), x3 = *(const VU *)(x[3] + j);                 \
                a0 += x0 * u;                                                                 \
                a1 += x1 * u;                                                                 \
                a2 += x2 * u;                                                                 \
                a3 += x3 * u;                                                                 \
                c0 += x0 * v;                                                                 \
                c1 += x1 * v;                                                                 \
                c2 += x2 * v;                                                                 \
                c3 += x3 * v;                                                                 \
            }                                                                                 \
            double s[8] = {0};                                                                \
            for (int l = 0; l < L; l++) {                                                     \
                s[0] += a0[l], s[1] += a1[l], s[2] += a2[l], s[3] += a3[l];                   \
                s[4] += c0[l], s[5] += c1[l], s[6] += c2[l], s[7] += c3[l];                   \
            }                                                                                 \
            for (size_t j = dv; j < d; j++)                                                   \
                for (int r = 0; r < 4; r++) {                                                 \
                    s[r] += (double)x[r][j] * (double)w0[j];                                  \
                    s[4 + r] += (double)x[r][j] * (double)w1[j];                              \
                }                                                                             \
            for (int r = 0; r < 4; r++) {                                                     \
                z[r * nv + k] = s[r] + (b ? b[k] : 0.0);                                      \
                z[r * nv + k + 1] = s[4 + r] + (b ? b[k + 1] : 0.0);                          \
            }                                                                                 \
        }                                                                                     \
        if (k < nv) {                                                                         \
            const T *w0 = W + k * d;                                                          \
            V a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};                                         \
            for (size_t j = 0; j < dv; j += L) {                                              \
                V u = *(const VU *)(w0 + j);                                                  \
                a0 += *(const VU *)(x[0] + j) * u;                                            \
                a1 += *(const VU *)(x[1] + j) * u;                                            \
                a2 += *(const VU *)(x[2] + j) * u;                                            \
                a3 += *(const VU *)(x[3] + j) * u;                                            \
            }                                                                                 \
            double s[4] = {0};                                                                \
            for (int l = 0; l < L; l++)                                                       \
                s[0] += a0[l], s[1] += a1[l], s[2] += a2[l], s[3] += a3[l];                   \
            for (size_t j = dv; j < d; j++)                                                   \
                for (int r = 0; r < 4; r++)                                                   \
                    s[r] += (double)x[r][j] * (double)w0[j];                                  \
            for (int r = 0; r < 4; r++)                                                       \
                z[r * nv + k] = s[r] + (b ? b[k] : 0.0);                                      \
        }                                                                                     \
    }                                                                                         \
    /* G_k += sum_r res[r nv + k] x_r for all classes: classes in pairs, so      \
     * each load of x feeds both, then a last one alone. */                                  \
    static inline __attribute__((always_inline)) void grad4_##SUF(                            \
        const T *const *x, const double *res, size_t nv, size_t d, T *G)                      \
    {                                                                                         \
        size_t dv = d - d % L, k = 0;                                                         \
        for (; k + 2 <= nv; k += 2) {                                                         \
            T r0 = (T)res[k], r1 = (T)res[nv + k], r2 = (T)res[2 * nv + k],                   \
              r3 = (T)res[3 * nv + k];                                                        \
            T t0 = (T)res[k + 1], t1 = (T)res[nv + k + 1], t2 = (T)res[2 * nv + k + 1],       \
              t3 = (T)res[3 * nv + k + 1];                                                    \
            V b0 = (V){0} + r0, b1 = (V){0} + r1, b2 = (V){0} + r2, b3 = (V){0} + r3;         \
            V e0 = (V){0} + t0, e1 = (V){0} + t1, e2 = (V){0} + t2, e3 = (V){0} + t3;         \
            T *g = G + k * d, *h = g + d;                                                     \
            for (size_t j = 0; j < dv; j += L) {                                              \
                V x0 = *(const VU *)(x[0] + j), x1 = *(const VU *)(x[1] + j);                 \
                V x2 = *(const VU *)(x[2] + j), x3 = *(const VU *)(x[3] + j);                 \
                *(VU *)(g + j) = *(VU *)(g + j) + ((b0 * x0 + b1 * x1) + (b2 * x2 + b3 * x3)); \
                *(VU *)(h + j) = *(VU *)(h + j) + ((e0 * x0 + e1 * x1) + (e2 * x2 + e3 * x3)); \
            }                                                                                 \
            for (size_t j = dv; j < d; j++) {                                                 \
                g[j] += (r0 * x[0][j] + r1 * x[1][j]) + (r2 * x[2][j] + r3 * x[3][j]);        \
                h[j] += (t0 * x[0][j] + t1 * x[1][j]) + (t2 * x[2][j] + t3 * x[3][j]);        \
            }                                                                                 \
        }                                                                                     \
        if (k < nv) {                                                                         \
            T r0 = (T)res[k], r1 = (T)res[nv + k], r2 = (T)res[2 * nv + k],                   \
              r3 = (T)res[3 * nv + k];                                                        \
            V b0 = (V){0} + r0, b1 = (V){0} + r1, b2 = (V){0} + r2, b3 = (V){0} + r3;         \
            T *g = G + k * d;                                                                 \
            for (size_t j = 0; j < dv; j += L)                                                \
                *(VU *)(g + j) = *(VU *)(g + j) + ((b0 * *(const VU *)(x[0] + j) +             \
                                                    b1 * *(const VU *)(x[1] + j)) +            \
                                                   (b2 * *(const VU *)(x[2] + j) +             \
                                                    b3 * *(const VU *)(x[3] + j)));            \
            for (size_t j = dv; j < d; j++)                                                   \
                g[j] += (r0 * x[0][j] + r1 * x[1][j]) + (r2 * x[2][j] + r3 * x[3][j]);        \
        }                                                                                     \
    }                                                                                         \
    /* Rows [lo, hi): loss and residual sums into acc, gradient into G (nv x d, zeroed        \
     * here), scores in z (4 nv). */                                                          \
    __attribute__((target_clones("avx2", "default"))) static void fused_rows_##SUF(           \
        const problem *p, const T *X, const T *W, size_t lo, size_t hi, double *acc, T *G,    \
        double *z)                                                                            \
    {                                                                                         \
        size_t d = p->d, nv = p->nv;                                                          \
        memset(G, 0, nv * d * sizeof *G);                                                     \
        for (size_t i0 = lo; i0 < hi; i0 += 4) {                                              \
            size_t R = hi - i0 < 4 ? hi - i0 : 4;                                             \
            /* A short last group repeats row i0 with residual 0: exact zeros. */             \
            const T *x[4];                                                                    \
            for (size_t r = 0; r < 4; r++)                                                    \
                x[r] = X + (i0 + (r < R ? r : 0)) * d;                                        \
            scores4_##SUF(x, W, p->b, nv, d, z);                                              \
            group_residuals(p, i0, R, z, acc);                                                \
            grad4_##SUF(x, z, nv, d, G);                                                      \
        }                                                                                     \
    }

DEFINE_FUSED(f64, double, v4d, v4d_u, 4)
DEFINE_FUSED(f32, float, v8f, v8f_u, 8)

/* One chunk of rows: its loss and residual sums go to its own slot (and,
 * fused, its own gradient), so the totals do not depend on which thread
 * ran it. z is the running thread's scratch (4 nv). */
static void rows_chunk(const problem *p, size_t c, double *z)
{
    size_t lo = c * p->chunk, hi = lo + p->chunk < p->n ? lo + p->chunk : p->n;
    double *acc = p->cacc + c * (1 + p->nv);
    memset(acc, 0, (1 + p->nv) * sizeof *acc);
    size_t nw = p->nv * p->d;
    if (p->fused && p->f32) {
        /* Single precision within the chunk, double across chunks. */
        float *G = (float *)(z + 4 * p->nv);
        fused_rows_f32(p, p->Xf, p->Wf, lo, hi, acc, G, z);
        double *gc = p->cgrad + c * nw;
        for (size_t j = 0; j < nw; j++)
            gc[j] = (double)G[j];
    } else if (p->fused)
        fused_rows_f64(p, p->X, p->W, lo, hi, acc, p->cgrad + c * nw, z);
    else if (p->nv == 1 && p->f32)
        binary_rows_f32(p, p->Zf, lo, hi, acc);
    else if (p->nv == 1)
        binary_rows_f64(p, p->Z, lo, hi, acc);
    else if (p->f32)
        softmax_rows_f32(p, p->Zf, lo, hi, acc);
    else
        softmax_rows_f64(p, p->Z, lo, hi, acc);
}

typedef struct rows_worker {
    const problem *p;
    atomic_size_t *next;
    double *z;
} rows_worker;

/* Takes chunks until none is left: a thread that gets less CPU (the
 * machine is shared) simply does fewer of them. */
static void *rows_work(void *arg)
{
    rows_worker *w = arg;
    for (;;) {
        size_t c = atomic_fetch_add(w->next, 1);
        if (c >= w->p->nchunks)
            break;
        rows_chunk(w->p, c, w->z);
    }
    return NULL;
}

/* The per-row pass over all rows by up to nthreads threads, then the chunk
 * sums added in chunk order: the same result for any thread count or
 * schedule. A thread that cannot be started is simply not there. In fused
 * mode also writes the gradient sum into gW (nv x d). */
static void rows_all(problem *p, double *loss, double *gb, double *gW)
{
    size_t nv = p->nv, nw = nv * p->d;
    int T = p->nthreads;
    if ((size_t)T > p->nchunks)
        T = (int)p->nchunks;
    atomic_size_t next;
    atomic_init(&next, 0);
    rows_worker w[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int t = 0; t < T; t++) {
        w[t].p = p;
        w[t].next = &next;
        w[t].z = p->tz + (size_t)t * p->tz_stride;
    }
    for (int t = 1; t < T; t++)
        started[t] = pthread_create(&tid[t], NULL, rows_work, &w[t]) == 0;
    rows_work(&w[0]);
    for (int t = 1; t < T; t++)
        if (started[t])
            pthread_join(tid[t], NULL);
    *loss = 0;
    for (size_t k = 0; k < nv; k++)
        gb[k] = 0;
    if (p->fused)
        memset(gW, 0, nw * sizeof *gW);
    for (size_t c = 0; c < p->nchunks; c++) {
        const double *a = p->cacc + c * (1 + nv);
        *loss += a[0];
        for (size_t k = 0; k < nv; k++)
            gb[k] += a[1 + k];
        if (p->fused) {
            const double *gc = p->cgrad + c * nw;
            for (size_t j = 0; j < nw; j++)
                gW[j] += gc[j];
        }
    }
}

/* Scores Z = W X' (nv x n) by BLAS, in the precision of the mode. */
static void scores_blas(problem *p, const double *W)
{
    size_t n = p->n, d = p->d, nv = p->nv;
    int ld = (int)d;
    if (p->f32) {
        for (size_t j = 0; j < nv * d; j++)
            p->Wf[j] = (float)W[j];
        if (nv == 1)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)n, ld, 1.0f, p->Xf, ld, p->Wf, 1, 0.0f,
                        p->Zf, 1);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nv, (int)n, ld, 1.0f, p->Wf,
                        ld, p->Xf, ld, 0.0f, p->Zf, (int)n);
    } else {
        if (nv == 1)
            cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, ld, 1.0, p->X, ld, W, 1, 0.0, p->Z,
                        1);
        else
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nv, (int)n, ld, 1.0, W, ld,
                        p->X, ld, 0.0, p->Z, (int)n);
    }
}

/* Gradient gW = R X (nv x d) from the residuals left in Z by the row pass. */
static void gradient_blas(problem *p, double *gW)
{
    size_t n = p->n, d = p->d, nv = p->nv;
    int ld = (int)d;
    if (p->f32) {
        if (nv == 1)
            cblas_sgemv(CblasRowMajor, CblasTrans, (int)n, ld, 1.0f, p->Xf, ld, p->Zf, 1, 0.0f,
                        p->Gf, 1);
        else
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nv, ld, (int)n, 1.0f,
                        p->Zf, (int)n, p->Xf, ld, 0.0f, p->Gf, ld);
        for (size_t j = 0; j < nv * d; j++)
            gW[j] = (double)p->Gf[j];
    } else {
        if (nv == 1)
            cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, ld, 1.0, p->X, ld, p->Z, 1, 0.0, gW,
                        1);
        else
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nv, ld, (int)n, 1.0, p->Z,
                        (int)n, p->X, ld, 0.0, gW, ld);
    }
}

/* f and gradient at theta = [W (nv x d), b (nv, when fitting intercepts)]. */
static int objective(void *ctx, const double *theta, double *f, double *g)
{
    problem *p = ctx;
    size_t n = p->n, d = p->d, nv = p->nv, nw = nv * d;
    p->W = theta;
    p->b = p->fit_intercept ? theta + nw : NULL;
    double loss, *gb = p->fit_intercept ? g + nw : p->gb_scratch;
    if (p->fused) {
        if (p->f32)
            for (size_t j = 0; j < nw; j++)
                p->Wf[j] = (float)theta[j];
        rows_all(p, &loss, gb, g);
    } else if (d == 0) {
        if (p->f32)
            memset(p->Zf, 0, nv * n * sizeof *p->Zf);
        else
            memset(p->Z, 0, nv * n * sizeof *p->Z);
        rows_all(p, &loss, gb, g);
    } else {
        scores_blas(p, theta);
        rows_all(p, &loss, gb, g);
        gradient_blas(p, g);
    }
    double pen = 0;
    for (size_t j = 0; j < nw; j++) {
        pen += theta[j] * theta[j];
        g[j] += theta[j] * p->inv_C;
    }
    *f = loss + 0.5 * p->inv_C * pen;
    return 0;
}

/* ---- solvers ----------------------------------------------------------- */

typedef struct fit_report {
    const char *solver_used;
    long n_iter;
    long n_iter_f32; /* of which with single-precision products */
    long nfev;
    int converged;
    const char *stop;
    double loss, grad_max;
} fit_report;

static double max_abs(const double *a, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        if (!(fabs(a[i]) <= m))
            m = fabs(a[i]);
    return m;
}

static int solve_lbfgs(problem *p, double *theta, size_t P, long max_iter, double tol,
                       fit_report *rep, mp_error *e)
{
    mp_lbfgs s;
    int rc = mp_lbfgs_init(&s, P, 10, e);
    if (rc)
        return rc;
    mp_lbfgs_opts o = {.max_iter = max_iter, .gtol = tol, .ftol = LBFGS_FTOL, .max_ls = 20};
    if (p->Xf) {
        /* Single precision until it stalls or claims convergence; then the
         * remaining budget in double, keeping the curvature pairs. */
        p->f32 = 1;
        rc = mp_lbfgs_run(&s, theta, objective, p, &o, e);
        rep->n_iter_f32 = s.iters;
        p->f32 = 0;
        if (!rc) {
            o.max_iter = max_iter - s.iters;
            /* With no budget left this only re-evaluates in double so the
             * report (and the convergence verdict) is in double. */
            rc = mp_lbfgs_run(&s, theta, objective, p, &o, e);
        }
    } else {
        rc = mp_lbfgs_run(&s, theta, objective, p, &o, e);
    }
    if (!rc) {
        rep->n_iter = s.iters;
        rep->nfev = s.nfev;
        rep->converged = s.stop == MP_LBFGS_GTOL || s.stop == MP_LBFGS_FTOL;
        rep->stop = mp_lbfgs_stop_name(s.stop);
        rep->loss = s.f;
        rep->grad_max = s.gmax;
    }
    mp_lbfgs_free(&s);
    return rc;
}

/* H = X' diag(h) X (+ intercept row/column) + I / C for the binary problem
 * at the residuals' point: h_i = s_i sigma_i (1 - sigma_i). Computed over
 * row blocks with dsyrk on sqrt(h_i) [x_i, 1]. H is P x P, upper triangle. */
static int binary_hessian(const problem *p, const double *theta, double *H, size_t P)
{
    size_t n = p->n, d = p->d;
    size_t B = ((size_t)1 << 18) / P;
    if (B < 64)
        B = 64;
    if (B > n)
        B = n;
    double *Xb = malloc(B * P * sizeof *Xb), *z = malloc(B * sizeof *z);
    if (!Xb || !z) {
        free(Xb);
        free(z);
        return MP_ENOMEM;
    }
    memset(H, 0, P * P * sizeof *H);
    double b = p->fit_intercept ? theta[d] : 0.0;
    for (size_t r0 = 0; r0 < n; r0 += B) {
        size_t m = n - r0 < B ? n - r0 : B;
        if (d)
            cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)d, 1.0, p->X + r0 * d, (int)d,
                        theta, 1, 0.0, z, 1);
        else
            memset(z, 0, m * sizeof *z);
        for (size_t i = 0; i < m; i++) {
            double zi = z[i] + b, e = exp(-fabs(zi));
            double sig = 1.0 / (1.0 + e); /* sigma(|z|); h is symmetric in z */
            double h = (p->sw ? p->sw[r0 + i] : 1.0) * sig * (1.0 - sig);
            double r = sqrt(h);
            const double *x = p->X + (r0 + i) * d;
            double *o = Xb + i * P;
            for (size_t j = 0; j < d; j++)
                o[j] = r * x[j];
            if (p->fit_intercept)
                o[d] = r;
        }
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)P, (int)m, 1.0, Xb, (int)P, 1.0,
                    H, (int)P);
    }
    for (size_t j = 0; j < d; j++)
        H[j * P + j] += p->inv_C;
    free(Xb);
    free(z);
    return 0;
}

/* Direct Newton for the binary problem, with backtracking (Armijo) line
 * search from the full step. */
static int solve_newton(problem *p, double *theta, size_t P, long max_iter, double tol,
                        fit_report *rep, mp_error *e)
{
    double *g = malloc(P * sizeof *g), *step = malloc(P * sizeof *step),
           *H = malloc(P * P * sizeof *H), *xt = malloc(P * sizeof *xt),
           *gt = malloc(P * sizeof *gt), *Hc = malloc(P * P * sizeof *Hc);
    int rc = 0;
    if (!g || !step || !H || !xt || !gt || !Hc) {
        rc = mp_error_set(e, MP_ENOMEM, NAME ": out of memory for the Newton solver (%zu "
                                            "variables)", P);
        goto out;
    }
    double f;
    objective(p, theta, &f, g);
    long nfev = 1, it = 0;
    const char *stop = "max_iter";
    int converged = 0;
    for (;;) {
        if (max_abs(g, P) <= tol) {
            stop = "gtol";
            converged = 1;
            break;
        }
        if (!isfinite(f) || isnan(max_abs(g, P))) {
            rc = mp_error_set(e, MP_ENUMERIC, NAME ": objective is not finite");
            goto out;
        }
        if (it >= max_iter)
            break;
        if (binary_hessian(p, theta, H, P)) {
            rc = mp_error_set(e, MP_ENOMEM, NAME ": out of memory for the Hessian");
            goto out;
        }
        for (size_t j = 0; j < P; j++)
            step[j] = -g[j];
        /* The Hessian is positive definite in exact arithmetic (the
         * intercept block only loses that when every probability is 0 or 1);
         * if Cholesky fails anyway, retry with a small growing ridge. */
        double scale = 0;
        for (size_t j = 0; j < P; j++)
            scale = fmax(scale, H[j * P + j]);
        double ridge = 0;
        for (int attempt = 0;; attempt++) {
            memcpy(xt, step, P * sizeof *xt);
            memcpy(Hc, H, P * P * sizeof *Hc);
            for (size_t j = 0; j < P; j++)
                Hc[j * P + j] += ridge;
            lapack_int r = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', (lapack_int)P, 1, Hc,
                                         (lapack_int)P, xt, 1);
            if (r == 0)
                break;
            if (r < 0 || attempt >= 8) {
                /* Give up on curvature: a gradient step, scaled. */
                for (size_t j = 0; j < P; j++)
                    xt[j] = step[j] / (scale > 0 ? scale : 1.0);
                break;
            }
            ridge = ridge ? ridge * 100 : 1e-12 * (scale > 0 ? scale : 1.0);
        }
        memcpy(step, xt, P * sizeof *step);
        double slope = cblas_ddot((int)P, g, 1, step, 1), a = 1.0, ft = NAN;
        int ok = 0;
        for (int ls = 0; ls < 40 && slope < 0; ls++, a *= 0.5) {
            for (size_t j = 0; j < P; j++)
                xt[j] = theta[j] + a * step[j];
            objective(p, xt, &ft, gt);
            nfev++;
            if (ft <= f + 1e-4 * a * slope) {
                ok = 1;
                break;
            }
        }
        it++;
        if (!ok) {
            stop = "line_search";
            break;
        }
        memcpy(theta, xt, P * sizeof *theta);
        memcpy(g, gt, P * sizeof *g);
        f = ft;
    }
    rep->solver_used = "newton";
    rep->n_iter = it;
    rep->nfev = nfev;
    rep->converged = converged;
    rep->stop = stop;
    rep->loss = f;
    rep->grad_max = max_abs(g, P);
out:
    free(g);
    free(step);
    free(H);
    free(xt);
    free(gt);
    free(Hc);
    return rc;
}

/* ---- fit ---------------------------------------------------------------- */

static char *params_json(const logreg *m)
{
    mp_buf b = {0};
    mp_buf_puts(&b, "{\"C\":");
    mp_buf_double(&b, m->C);
    mp_buf_printf(&b, ",\"solver\":\"%s\",\"max_iter\":%ld,\"tol\":", solver_names[m->solver],
                  m->max_iter);
    mp_buf_double(&b, m->tol);
    mp_buf_printf(&b, ",\"class_weight\":\"%s\",\"fit_intercept\":%s,\"precision\":\"%s\"}",
                  cw_names[m->class_weight], m->fit_intercept ? "true" : "false",
                  prec_names[m->precision]);
    if (b.oom) {
        mp_buf_free(&b);
        return NULL;
    }
    return mp_buf_take(&b);
}

static char *fit_info_json(const fit_report *r, int mixed)
{
    mp_buf b = {0};
    mp_buf_printf(&b,
                  "{\"solver_used\":\"%s\",\"converged\":%s,\"n_iter\":%ld,\"n_evaluations\":%ld,"
                  "\"stop\":\"%s\",\"precision\":\"%s\"",
                  r->solver_used, r->converged ? "true" : "false", r->n_iter, r->nfev, r->stop,
                  mixed ? "mixed" : "double");
    if (mixed)
        mp_buf_printf(&b, ",\"n_iter_single\":%ld", r->n_iter_f32);
    if (isfinite(r->loss)) {
        mp_buf_puts(&b, ",\"loss\":");
        mp_buf_double(&b, r->loss);
    }
    if (isfinite(r->grad_max)) {
        mp_buf_puts(&b, ",\"grad_max\":");
        mp_buf_double(&b, r->grad_max);
    }
    mp_buf_puts(&b, "}");
    if (b.oom) {
        mp_buf_free(&b);
        return NULL;
    }
    return mp_buf_take(&b);
}

static int read_params(mp_params *pp, logreg *m, mp_error *e)
{
    int rc, fi;
    if ((rc = mp_param_double(pp, "C", 1.0, 0.0, 1e300, &m->C, e)))
        return rc;
    if (!(m->C > 0))
        return mp_error_set(e, MP_EINVAL, "parameter C=%s: must be greater than 0",
                            mp_params_get(pp, "C"));
    if ((rc = mp_param_choice(pp, "solver", solver_names, SOLVER_LBFGS, &m->solver, e)) ||
        (rc = mp_param_int(pp, "max_iter", 100, 0, 100000000, &m->max_iter, e)) ||
        (rc = mp_param_double(pp, "tol", 1e-4, 0.0, 1e300, &m->tol, e)) ||
        (rc = mp_param_choice(pp, "class_weight", cw_names, CW_NONE, &m->class_weight, e)) ||
        (rc = mp_param_choice(pp, "fit_intercept", bool_names, 0, &fi, e)) ||
        (rc = mp_param_choice(pp, "precision", prec_names, PREC_AUTO, &m->precision, e)))
        return rc;
    m->fit_intercept = fi == 0;
    return 0;
}

static int thread_count(void)
{
    int t = openblas_get_num_threads();
    return t < 1 ? 1 : t > MAX_THREADS ? MAX_THREADS : t;
}

static int lg_fit(const mp_fit_input *in, mp_params *pp, void **state, mp_error *e)
{
    *state = NULL;
    if (in->task != MP_TASK_CLASSIFY)
        return mp_error_set(e, MP_EINVAL, NAME ": supports classification only");
    logreg *m = calloc(1, sizeof *m);
    if (!m)
        return mp_error_set(e, MP_ENOMEM, NAME ": out of memory");
    int rc = read_params(pp, m, e);
    if (rc) {
        free(m);
        return rc;
    }
    size_t n = in->n, d = in->d, K = in->nclasses;
    problem p = {0};
    int *cls = NULL;
    size_t *count = NULL, *cmap = NULL;
    double *sw = NULL, *theta = NULL;
    if (n == 0) {
        rc = mp_error_set(e, MP_EINPUT, NAME ": no training rows");
        goto fail;
    }
    if (K < 2) {
        rc = mp_error_set(e, MP_EINPUT, NAME ": needs at least 2 classes, got %zu", K);
        goto fail;
    }
    if (n > INT_MAX / 2 || d > INT_MAX / 2 || K > (size_t)INT_MAX / 2 ||
        (d && n > SIZE_MAX / sizeof(double) / d) || n > SIZE_MAX / sizeof(double) / K) {
        rc = mp_error_set(e, MP_EINVAL, NAME ": %zu x %zu is too large for BLAS", n, d);
        goto fail;
    }
    cls = malloc(n * sizeof *cls);
    count = calloc(K, sizeof *count);
    cmap = malloc(K * sizeof *cmap);
    if (!cls || !count || !cmap) {
        rc = mp_error_set(e, MP_ENOMEM, NAME ": out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        double y = in->y[i];
        if (!(y >= 0 && y < (double)K && y == floor(y))) {
            rc = mp_error_set(e, MP_EINPUT, NAME ": row %zu: class index %g is not in 0..%zu",
                              i + 1, y, K - 1);
            goto fail;
        }
        count[(size_t)y]++;
    }
    size_t Kp = 0;
    for (size_t k = 0; k < K; k++)
        cmap[k] = count[k] ? Kp++ : (size_t)-1;
    if (Kp < 2) {
        rc = mp_error_set(e, MP_EINPUT,
                          NAME ": the training rows hold only one class; at least 2 are needed");
        goto fail;
    }
    size_t nv = K == 2 ? 1 : Kp;
    for (size_t i = 0; i < n; i++)
        cls[i] = (int)(K == 2 ? (size_t)in->y[i] : cmap[(size_t)in->y[i]]);
    if (m->class_weight == CW_BALANCED) {
        if (!(sw = malloc(n * sizeof *sw))) {
            rc = mp_error_set(e, MP_ENOMEM, NAME ": out of memory");
            goto fail;
        }
        for (size_t i = 0; i < n; i++) {
            size_t k = (size_t)in->y[i];
            sw[i] = (double)n / ((double)Kp * (double)count[k]);
        }
    }
    size_t nw = nv * d, P = nw + (m->fit_intercept ? nv : 0);
    int threads = thread_count();
    p.X = in->X;
    p.n = n;
    p.d = d;
    p.nv = nv;
    p.cls = cls;
    p.sw = sw;
    p.inv_C = 1.0 / m->C;
    p.fit_intercept = m->fit_intercept;
    p.nthreads = threads;
    int use_newton = m->solver == SOLVER_NEWTON && nv == 1 && P <= NEWTON_MAX_VARS;
    int mixed = !use_newton && d > 0 &&
                (m->precision == PREC_MIXED ||
                 (m->precision == PREC_AUTO && d > NARROW_D && n * d >= MIXED_MIN_CELLS));
    p.fused = d > 0 && nw <= FUSED_MAX_W;
    p.chunk = (n + MAX_CHUNKS - 1) / MAX_CHUNKS;
    if (p.chunk < CHUNK_ROWS)
        p.chunk = CHUNK_ROWS;
    p.nchunks = (n + p.chunk - 1) / p.chunk;
    p.tz_stride = 4 * nv + (p.fused && mixed ? (nw + 1) / 2 : 0);
    p.cacc = malloc(p.nchunks * (1 + nv) * sizeof *p.cacc);
    p.tz = malloc((size_t)threads * p.tz_stride * sizeof *p.tz);
    if (p.fused)
        p.cgrad = malloc(p.nchunks * nw * sizeof *p.cgrad);
    else
        p.Z = malloc(nv * n * sizeof *p.Z);
    p.gb_scratch = malloc(nv * sizeof *p.gb_scratch);
    theta = calloc(P ? P : 1, sizeof *theta);
    if (!(p.fused ? (void *)p.cgrad : (void *)p.Z) || !p.cacc || !p.tz || !p.gb_scratch ||
        !theta) {
        rc = mp_error_set(e, MP_ENOMEM, NAME ": out of memory (%zu x %zu scores)", nv, n);
        goto fail;
    }
    if (mixed) {
        /* Without memory for the float copy, double precision does the job. */
        p.Xf = malloc(n * d * sizeof *p.Xf);
        p.Wf = malloc(nw * sizeof *p.Wf);
        if (!p.fused) {
            p.Zf = malloc(nv * n * sizeof *p.Zf);
            p.Gf = malloc(nw * sizeof *p.Gf);
        }
        if (!p.Xf || !p.Wf || (!p.fused && (!p.Zf || !p.Gf))) {
            free(p.Xf);
            free(p.Zf);
            free(p.Wf);
            free(p.Gf);
            p.Xf = NULL;
            p.Zf = NULL;
            p.Wf = p.Gf = NULL;
            mixed = 0;
        } else {
            for (size_t i = 0; i < n * d; i++)
                p.Xf[i] = (float)in->X[i];
        }
    }
    fit_report rep = {.solver_used = "lbfgs", .loss = NAN, .grad_max = NAN};
    if (use_newton)
        rc = solve_newton(&p, theta, P, m->max_iter, m->tol, &rep, e);
    else
        rc = solve_lbfgs(&p, theta, P, m->max_iter, m->tol, &rep, e);
    if (rc)
        goto fail;
    for (size_t j = 0; j < P; j++)
        if (!isfinite(theta[j])) {
            rc = mp_error_set(e, MP_ENUMERIC, NAME ": the solver diverged");
            goto fail;
        }

    /* The model: one vector for two classes, else one per class with the
     * absent classes never predicted. */
    m->d = d;
    m->K = K;
    m->nv = K == 2 ? 1 : K;
    m->coef = calloc(m->nv * d + 1, sizeof *m->coef);
    m->intercept = calloc(m->nv, sizeof *m->intercept);
    m->fit_info = fit_info_json(&rep, mixed);
    if (!m->coef || !m->intercept || !m->fit_info) {
        rc = mp_error_set(e, MP_ENOMEM, NAME ": out of memory");
        goto fail;
    }
    for (size_t k = 0; k < m->nv; k++) {
        size_t c = K == 2 ? 0 : cmap[k];
        if (c == (size_t)-1) {
            m->intercept[k] = -INFINITY;
            continue;
        }
        if (d)
            memcpy(m->coef + k * d, theta + c * d, d * sizeof *theta);
        m->intercept[k] = m->fit_intercept ? theta[nw + c] : 0.0;
    }
    rc = 0;
    *state = m;
    m = NULL;
fail:
    lg_destroy(m);
    free(cls);
    free(count);
    free(cmap);
    free(sw);
    free(theta);
    free(p.Z);
    free(p.cacc);
    free(p.cgrad);
    free(p.tz);
    free(p.gb_scratch);
    free(p.Xf);
    free(p.Zf);
    free(p.Wf);
    free(p.Gf);
    return rc;
}

/* ---- predict, save, load ------------------------------------------------ */

static int lg_predict(const void *state, const double *X, size_t n, size_t d, double *out,
                      mp_error *e)
{
    const logreg *m = state;
    if (d != m->d)
        return mp_error_set(e, MP_EINVAL, NAME ": model has %zu features, input has %zu", m->d,
                            d);
    if (n > INT_MAX / (m->K + 1))
        return mp_error_set(e, MP_EINVAL, NAME ": too many rows (%zu) in one call", n);
    if (n == 0)
        return 0;
    int ld = d ? (int)d : 1;
    if (m->nv == 1) {
        /* Scores into out[0..n), then expanded backwards into pairs (row i
         * writes slots 2i, 2i+1 >= i, never a score not yet read). */
        if (d)
            cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)d, 1.0, X, ld, m->coef, 1, 0.0,
                        out, 1);
        else
            memset(out, 0, n * sizeof *out);
        for (size_t i = n; i-- > 0;) {
            double z = out[i] + m->intercept[0], ez = exp(-fabs(z));
            double big = 1.0 / (1.0 + ez), small = ez / (1.0 + ez);
            out[2 * i] = z >= 0 ? small : big;
            out[2 * i + 1] = z >= 0 ? big : small;
        }
        return 0;
    }
    size_t K = m->K;
    if (d)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)K, (int)d, 1.0, X, ld,
                    m->coef, ld, 0.0, out, (int)K);
    else
        memset(out, 0, n * K * sizeof *out);
    for (size_t i = 0; i < n; i++) {
        double *o = out + i * K, mx = -INFINITY, sum = 0;
        for (size_t k = 0; k < K; k++) {
            o[k] += m->intercept[k];
            if (o[k] > mx)
                mx = o[k];
        }
        for (size_t k = 0; k < K; k++) {
            o[k] = exp(o[k] - mx);
            sum += o[k];
        }
        for (size_t k = 0; k < K; k++)
            o[k] /= sum;
    }
    return 0;
}

static int lg_describe(const void *state, mp_tensors *bag, mp_error *e)
{
    const logreg *m = state;
    return mp_algo_write_meta(bag, params_json(m), m->fit_info, NAME, e);
}

static int lg_save(const void *state, mp_tensors *bag, mp_error *e)
{
    const logreg *m = state;
    int64_t shape_coef[2] = {(int64_t)m->nv, (int64_t)m->d}, shape_b[1] = {(int64_t)m->nv};
    int rc;
    if ((rc = mp_tensors_add(bag, "coef", MP_DT_F64, 2, shape_coef, m->coef, e)) ||
        (rc = mp_tensors_add(bag, "intercept", MP_DT_F64, 1, shape_b, m->intercept, e)))
        return rc;
    return lg_describe(state, bag, e);
}

static int choice_index(const char *const *names, const char *v)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(names[i], v))
            return i;
    return -1;
}

static int parse_params(const mp_tensors *bag, logreg *m, mp_error *e)
{
    const char *s = mp_tensors_meta(bag, "params");
    if (!s)
        return mp_error_set(e, MP_EFORMAT, NAME ": missing metadata \"params\"");
    json_error_t je;
    json_t *o = json_loads(s, 0, &je);
    json_t *C = json_object_get(o, "C"), *so = json_object_get(o, "solver"),
           *mi = json_object_get(o, "max_iter"), *tol = json_object_get(o, "tol"),
           *cw = json_object_get(o, "class_weight"), *fi = json_object_get(o, "fit_intercept"),
           *pr = json_object_get(o, "precision");
    int ok = json_is_object(o) && json_is_number(C) && json_number_value(C) > 0 &&
             json_is_string(so) && json_is_integer(mi) && json_integer_value(mi) >= 0 &&
             json_is_number(tol) && json_number_value(tol) >= 0 && json_is_string(cw) &&
             json_is_boolean(fi) && json_is_string(pr);
    if (ok) {
        m->C = json_number_value(C);
        m->max_iter = (long)json_integer_value(mi);
        m->tol = json_number_value(tol);
        m->fit_intercept = json_is_true(fi);
        m->solver = choice_index(solver_names, json_string_value(so));
        m->class_weight = choice_index(cw_names, json_string_value(cw));
        m->precision = choice_index(prec_names, json_string_value(pr));
        ok = m->solver >= 0 && m->class_weight >= 0 && m->precision >= 0;
    }
    json_decref(o);
    if (!ok)
        return mp_error_set(e, MP_EFORMAT, NAME ": metadata \"params\" is not valid: %.200s", s);
    return 0;
}

static int lg_load(const mp_tensors *bag, mp_task task, size_t d, size_t nclasses, void **state,
                   mp_error *e)
{
    *state = NULL;
    if (task != MP_TASK_CLASSIFY)
        return mp_error_set(e, MP_EFORMAT,
                            NAME ": a classification model cannot be used for task %d",
                            (int)task);
    if (nclasses < 2)
        return mp_error_set(e, MP_EFORMAT, NAME ": model has %zu classes, needs at least 2",
                            nclasses);
    size_t nv = nclasses == 2 ? 1 : nclasses;
    int64_t shape_coef[2] = {(int64_t)nv, (int64_t)d}, shape_b[1] = {(int64_t)nv};
    const mp_tensor *tc, *tb;
    int rc;
    if ((rc = mp_tensors_expect(bag, "coef", MP_DT_F64, 2, shape_coef, &tc, e)) ||
        (rc = mp_tensors_expect(bag, "intercept", MP_DT_F64, 1, shape_b, &tb, e)))
        return rc;
    const double *c = tc->data, *b = tb->data;
    for (size_t j = 0; j < nv * d; j++)
        if (!isfinite(c[j]))
            return mp_error_set(e, MP_EFORMAT, NAME ": coefficient %zu is not finite", j + 1);
    /* -inf marks a class absent from training; +inf only makes sense for
     * the single intercept of a binary model; NaN never. */
    for (size_t k = 0; k < nv; k++)
        if (isnan(b[k]) || (nv > 1 && b[k] == INFINITY))
            return mp_error_set(e, MP_EFORMAT, NAME ": intercept %zu is not valid", k + 1);
    if (nv > 1) {
        size_t finite = 0;
        for (size_t k = 0; k < nv; k++)
            finite += isfinite(b[k]) != 0;
        if (!finite)
            return mp_error_set(e, MP_EFORMAT, NAME ": no class has a finite intercept");
    }
    logreg *m = calloc(1, sizeof *m);
    if (!m)
        return mp_error_set(e, MP_ENOMEM, NAME ": out of memory");
    m->d = d;
    m->K = nclasses;
    m->nv = nv;
    m->coef = malloc((nv * d + 1) * sizeof *m->coef);
    m->intercept = malloc(nv * sizeof *m->intercept);
    if (!m->coef || !m->intercept) {
        lg_destroy(m);
        return mp_error_set(e, MP_ENOMEM, NAME ": out of memory");
    }
    if (nv * d > 0)
        memcpy(m->coef, c, nv * d * sizeof *c);
    memcpy(m->intercept, b, nv * sizeof *b);
    if ((rc = parse_params(bag, m, e))) {
        lg_destroy(m);
        return rc;
    }
    const char *fi = mp_tensors_meta(bag, "fit_info");
    if (fi && !(m->fit_info = strdup(fi))) {
        lg_destroy(m);
        return mp_error_set(e, MP_ENOMEM, NAME ": out of memory");
    }
    *state = m;
    return 0;
}

const mp_algo mp_algo_logistic_regression = {
    .name = NAME,
    .tasks = MP_TASK_CLASSIFY,
    .raw_categories = 0,
    .params = lg_params,
    .fit = lg_fit,
    .predict = lg_predict,
    .save = lg_save,
    .describe = lg_describe,
    .load = lg_load,
    .destroy = lg_destroy,
};
