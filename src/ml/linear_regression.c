/* Linear least squares with an optional ridge penalty: scikit-learn's
 * LinearRegression (alpha = 0) and Ridge (alpha > 0), both minimising
 * ||y - Xw - b||^2 + alpha ||w||^2 with the intercept b not penalised.
 *
 * The intercept is handled as scikit-learn does: X and y are centred, the
 * problem is solved without intercept, and b = mean(y) - mean(X) w.
 *
 * Two ways to solve, chosen per problem (parameter solver=auto):
 *
 *  - "gram": form G = Xc'Xc (BLAS dsyrk over row blocks, multi-threaded)
 *    and Xc'yc in one pass, then solve the d x d system through an
 *    eigendecomposition of G scaled to unit diagonal. One pass over the
 *    data at GEMM speed, then O(d^3): for tall data (1e6 x 20) many times
 *    faster than an SVD/QR of the whole matrix, which is what scipy's lstsq
 *    (and so scikit-learn) does.
 *
 *  - "lstsq": LAPACK dgelsd (SVD-based, minimum-norm solution with singular
 *    values below max(n,d)*eps*s_max treated as zero, numpy's and newer
 *    scikit-learn's cutoff) on the centred matrix, or for ridge on the
 *    augmented matrix [Xc; sqrt(alpha) I]: the solution scikit-learn's
 *    lstsq gives, also for rank-deficient X. (For ridge scikit-learn itself
 *    always solves the normal equations by Cholesky; the Gram route is that,
 *    and the augmented lstsq is the more accurate answer when it is not
 *    well conditioned.)
 *
 * Why not always the Gram matrix: forming X'X squares the condition number,
 * so the normal equations lose about log10(cond(X)^2) digits where an
 * orthogonal method loses log10(cond(X)). After scaling to unit diagonal
 * (column scaling does not change the least-squares fit, and it removes the
 * harmless ill-conditioning of features on different scales) the eigenvalues
 * give cond(Xc)^2 exactly; up to 1e6 the Gram route loses at most ~6 of 16
 * digits (relative error ~ 1e6 * 2.2e-16), and beyond that (near-collinear or
 * duplicated columns, as with full one-hot encodings) auto falls back to
 * dgelsd, which also gives scikit-learn's minimum-norm answer in the
 * rank-deficient case. Columns that are constant (after centring) get
 * coefficient 0 in the Gram route, which is what the minimum-norm solution
 * gives them too.
 *
 * solver=gram forces the Gram route whatever the conditioning (singular
 * systems get the pseudo-inverse of the unscaled X'X, the same
 * minimum-norm answer, to about sqrt(eps) instead of eps); solver=lstsq
 * forces dgelsd. auto also takes dgelsd for wide data (n < 2d), where the
 * Gram matrix saves nothing. fit_info (metadata "fit_info") records the
 * route taken, the numerical rank and the condition number of the scaled
 * Gram matrix. */
#include <cblas.h>
#include <float.h>
#include <jansson.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ml/algo.h"

#define NAME "linear-regression"

/* Largest cond(scaled Gram) = cond(Xc)^2 the auto solver accepts. */
#define GRAM_MAX_COND 1e6

static const char *const lr_params[] = {"alpha", "fit_intercept", "solver", NULL};
static const char *const bool_names[] = {"true", "false", NULL};
enum { SOLVER_AUTO, SOLVER_GRAM, SOLVER_LSTSQ };
static const char *const solver_names[] = {"auto", "gram", "lstsq", NULL};

typedef struct linreg {
    size_t d;
    double *coef;
    double intercept;
    double alpha;
    int fit_intercept;
    int solver;
    char *fit_info; /* JSON object; may be NULL for a loaded model */
} linreg;

static void lr_destroy(void *state)
{
    linreg *m = state;
    if (!m)
        return;
    free(m->coef);
    free(m->fit_info);
    free(m);
}

/* Column means of X and the mean of y, summed per block of rows so the
 * rounding error grows with the block count, not with n. */
static void column_means(const double *X, const double *y, size_t n, size_t d, double *xm,
                         double *ym, double *tmp)
{
    const size_t B = 4096;
    double ys = 0;
    memset(xm, 0, d * sizeof *xm);
    for (size_t r0 = 0; r0 < n; r0 += B) {
        size_t r1 = r0 + B < n ? r0 + B : n;
        memset(tmp, 0, d * sizeof *tmp);
        double yb = 0;
        for (size_t i = r0; i < r1; i++) {
            const double *row = X + i * d;
            for (size_t j = 0; j < d; j++)
                tmp[j] += row[j];
            yb += y[i];
        }
        for (size_t j = 0; j < d; j++)
            xm[j] += tmp[j];
        ys += yb;
    }
    for (size_t j = 0; j < d; j++)
        xm[j] /= (double)n;
    *ym = ys / (double)n;
}

/* G (upper triangle) = Xc'Xc, b = Xc'yc, and rawss_j = sum x_ij^2 of the
 * uncentred columns, where Xc = X - xm, yc = y - ym. */
static int gram(const double *X, const double *y, size_t n, size_t d, const double *xm, double ym,
                double *G, double *b, double *rawss)
{
    memset(G, 0, d * d * sizeof *G);
    memset(b, 0, d * sizeof *b);
    memset(rawss, 0, d * sizeof *rawss);
    /* Blocks of about 4 MB stay in cache between centring and dsyrk. */
    size_t B = ((size_t)1 << 19) / d;
    if (B < 256)
        B = 256;
    if (B > n)
        B = n;
    double *Xb = malloc(B * d * sizeof *Xb), *yb = malloc(B * sizeof *yb);
    if (!Xb || !yb) {
        free(Xb);
        free(yb);
        return MP_ENOMEM;
    }
    for (size_t r0 = 0; r0 < n; r0 += B) {
        size_t m = n - r0 < B ? n - r0 : B;
        for (size_t i = 0; i < m; i++) {
            const double *row = X + (r0 + i) * d;
            double *out = Xb + i * d;
            for (size_t j = 0; j < d; j++) {
                out[j] = row[j] - xm[j];
                rawss[j] += row[j] * row[j];
            }
            yb[i] = y[r0 + i] - ym;
        }
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)m, 1.0, Xb, (int)d, 1.0,
                    G, (int)d);
        cblas_dgemv(CblasRowMajor, CblasTrans, (int)m, (int)d, 1.0, Xb, (int)d, yb, 1, 1.0, b, 1);
    }
    free(Xb);
    free(yb);
    return 0;
}

typedef struct solve_info {
    const char *method;
    long rank;
    double cond; /* of the scaled Gram matrix; NAN when not computed */
} solve_info;

/* w = V diag(1/lambda) V' r over the eigenpairs of the symmetric d x d
 * matrix M (upper triangle, destroyed), treating eigenvalues at most
 * cut_rel * lambda_max as zero. Writes the eigenvalues to lam and returns
 * the rank, or a negative MP_E* code. */
static long pinv_solve(double *M, size_t d, const double *r, double cut_rel, double *lam,
                       double *t, double *w)
{
    lapack_int rc = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)d, M, (lapack_int)d, lam);
    if (rc)
        return rc == LAPACK_WORK_MEMORY_ERROR ? MP_ENOMEM : MP_ENUMERIC;
    double cut = cut_rel * lam[d - 1];
    cblas_dgemv(CblasRowMajor, CblasTrans, (int)d, (int)d, 1.0, M, (int)d, r, 1, 0.0, t, 1);
    long rank = 0;
    for (size_t k = 0; k < d; k++) {
        if (lam[k] > cut) {
            t[k] /= lam[k];
            rank++;
        } else {
            t[k] = 0;
        }
    }
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)d, (int)d, 1.0, M, (int)d, t, 1, 0.0, w, 1);
    return rank;
}

/* The Gram route: solves (G + alpha I) w = b for w (d values) through an
 * eigendecomposition of the matrix scaled to unit diagonal, and reports
 * lambda_max / lambda_min of the scaled matrix in info->cond (INFINITY when
 * singular). A singular system (only when the caller forces this route) is
 * solved again unscaled, so the pseudo-inverse gives the same minimum-norm
 * coefficients as lstsq rather than those of the scaled problem. G is
 * overwritten. Returns 0, MP_ENUMERIC or MP_ENOMEM. */
static int solve_gram(double *G, const double *b, const double *rawss, size_t n, size_t d,
                      double alpha, double *w, solve_info *info)
{
    double *sc = malloc(d * sizeof *sc), *lam = malloc(d * sizeof *lam),
           *t = malloc(d * sizeof *t), *r = malloc(d * sizeof *r),
           *G0 = malloc(d * d * sizeof *G0);
    int rc = MP_ENOMEM;
    if (!sc || !lam || !t || !r || !G0)
        goto out;
    memcpy(G0, G, d * d * sizeof *G0);
    /* Constant columns (centred sum of squares at rounding level of the raw
     * values, or exactly 0) drop out: coefficient 0 as in min-norm lstsq.
     * They become unit rows and columns with a zero right-hand side. */
    long excluded = 0;
    for (size_t j = 0; j < d; j++) {
        double gjj = G[j * d + j];
        int constant = alpha == 0 && !(gjj > 1e-20 * rawss[j]);
        double mjj = gjj + alpha;
        sc[j] = constant || !(mjj > 0) ? 0 : 1 / sqrt(mjj);
        excluded += sc[j] == 0;
    }
    /* S = D^-1/2 (G + alpha I) D^-1/2 has unit diagonal; alpha only
     * touches the diagonal. */
    for (size_t i = 0; i < d; i++) {
        for (size_t j = i + 1; j < d; j++)
            G[i * d + j] *= sc[i] * sc[j];
        G[i * d + i] = 1.0;
        r[i] = sc[i] * b[i];
    }
    double cut_rel = fmax((double)(n > d ? n : d), 100.0) * DBL_EPSILON;
    long rank = pinv_solve(G, d, r, cut_rel, lam, t, w);
    if (rank < 0) {
        rc = (int)rank;
        goto out;
    }
    info->cond = lam[0] > 0 ? lam[d - 1] / lam[0] : INFINITY;
    for (size_t j = 0; j < d; j++)
        w[j] *= sc[j];
    rank -= excluded; /* their unit eigenvalues carry no information */
    if (rank < (long)d - excluded) {
        for (size_t i = 0; i < d; i++) {
            for (size_t j = i; j < d; j++)
                G0[i * d + j] = sc[i] && sc[j] ? G0[i * d + j] + (i == j ? alpha : 0.0) : 0.0;
            r[i] = sc[i] ? b[i] : 0.0;
        }
        rank = pinv_solve(G0, d, r, cut_rel, lam, t, w);
        if (rank < 0) {
            rc = (int)rank;
            goto out;
        }
    }
    info->rank = rank;
    info->method = "gram";
    rc = 0;
out:
    free(sc);
    free(lam);
    free(t);
    free(r);
    free(G0);
    return rc;
}

/* The lstsq route: dgelsd on the centred matrix (column-major copy), with
 * sqrt(alpha) I appended for ridge. */
static int solve_lstsq(const double *X, const double *y, size_t n, size_t d, const double *xm,
                       double ym, double alpha, double *w, solve_info *info)
{
    size_t m = alpha > 0 ? n + d : n;
    size_t ldb = m > d ? m : d;
    double *A = malloc(m * d * sizeof *A), *B = calloc(ldb, sizeof *B),
           *sv = malloc((m < d ? m : d) * sizeof *sv + sizeof *sv);
    int rc = MP_ENOMEM;
    if (!A || !B || !sv)
        goto out;
    for (size_t j = 0; j < d; j++) {
        double *col = A + j * m;
        for (size_t i = 0; i < n; i++)
            col[i] = X[i * d + j] - xm[j];
        if (alpha > 0)
            for (size_t k = 0; k < d; k++)
                col[n + k] = k == j ? sqrt(alpha) : 0.0;
    }
    for (size_t i = 0; i < n; i++)
        B[i] = y[i] - ym;
    lapack_int rank = 0;
    double rcond = (double)(m > d ? m : d) * DBL_EPSILON;
    lapack_int r = LAPACKE_dgelsd(LAPACK_COL_MAJOR, (lapack_int)m, (lapack_int)d, 1, A,
                                  (lapack_int)m, B, (lapack_int)ldb, sv, rcond, &rank);
    if (r == LAPACK_WORK_MEMORY_ERROR || r == LAPACK_TRANSPOSE_MEMORY_ERROR) {
        rc = MP_ENOMEM;
        goto out;
    }
    if (r) {
        rc = MP_ENUMERIC;
        goto out;
    }
    memcpy(w, B, d * sizeof *w);
    info->method = "lstsq";
    info->rank = rank;
    rc = 0;
out:
    free(A);
    free(B);
    free(sv);
    return rc;
}

static char *params_json(const linreg *m)
{
    mp_buf b = {0};
    mp_buf_puts(&b, "{\"alpha\":");
    mp_buf_double(&b, m->alpha);
    mp_buf_printf(&b, ",\"fit_intercept\":%s,\"solver\":\"%s\"}",
                  m->fit_intercept ? "true" : "false", solver_names[m->solver]);
    if (b.oom) {
        mp_buf_free(&b);
        return NULL;
    }
    return mp_buf_take(&b);
}

static char *fit_info_json(const solve_info *si)
{
    mp_buf b = {0};
    mp_buf_printf(&b, "{\"method\":\"%s\",\"rank\":%ld", si->method, si->rank);
    if (isfinite(si->cond)) {
        mp_buf_puts(&b, ",\"gram_condition\":");
        mp_buf_double(&b, si->cond);
    }
    mp_buf_puts(&b, "}");
    if (b.oom) {
        mp_buf_free(&b);
        return NULL;
    }
    return mp_buf_take(&b);
}

static int lr_fit(const mp_fit_input *in, mp_params *p, void **state, mp_error *e)
{
    *state = NULL;
    if (in->task != MP_TASK_REGRESS)
        return mp_error_set(e, MP_EINVAL, NAME ": supports regression only");
    double alpha;
    int fi, solver, rc;
    if ((rc = mp_param_double(p, "alpha", 0.0, 0.0, 1e300, &alpha, e)) ||
        (rc = mp_param_choice(p, "fit_intercept", bool_names, 0, &fi, e)) ||
        (rc = mp_param_choice(p, "solver", solver_names, SOLVER_AUTO, &solver, e)))
        return rc;
    size_t n = in->n, d = in->d;
    if (n == 0)
        return mp_error_set(e, MP_EINPUT, NAME ": no training rows");
    if (n > INT_MAX / 2 || d > INT_MAX / 2 || (d && n > SIZE_MAX / sizeof(double) / (d + 1)))
        return mp_error_set(e, MP_EINVAL, NAME ": %zu x %zu is too large for BLAS/LAPACK", n, d);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(in->y[i]))
            return mp_error_set(e, MP_EINPUT, NAME ": target of row %zu is not finite", i + 1);

    linreg *m = calloc(1, sizeof *m);
    double *xm = calloc(d + 1, sizeof *xm), *tmp = calloc(d + 1, sizeof *tmp);
    double *G = malloc((d * d + 1) * sizeof *G), *b = malloc((d + 1) * sizeof *b);
    double *rawss = malloc((d + 1) * sizeof *rawss);
    if (!m || !xm || !tmp || !G || !b || !rawss) {
        rc = mp_error_set(e, MP_ENOMEM, NAME ": out of memory");
        goto fail;
    }
    m->d = d;
    m->alpha = alpha;
    m->fit_intercept = fi == 0;
    m->solver = solver;
    m->coef = calloc(d + 1, sizeof *m->coef);
    if (!m->coef) {
        rc = mp_error_set(e, MP_ENOMEM, NAME ": out of memory");
        goto fail;
    }
    double ym = 0;
    if (m->fit_intercept)
        column_means(in->X, in->y, n, d, xm, &ym, tmp);

    solve_info si = {"none", 0, NAN};
    if (d > 0) {
        int use_gram = solver == SOLVER_GRAM || (solver == SOLVER_AUTO && n >= 2 * d);
        if (use_gram) {
            if (gram(in->X, in->y, n, d, xm, ym, G, b, rawss)) {
                rc = mp_error_set(e, MP_ENOMEM, NAME ": out of memory");
                goto fail;
            }
            rc = solve_gram(G, b, rawss, n, d, alpha, m->coef, &si);
            if (rc == MP_ENOMEM) {
                rc = mp_error_set(e, rc, NAME ": out of memory");
                goto fail;
            }
            /* Too ill-conditioned (or the eigensolver failed): the accurate
             * route. A forced gram keeps its pseudo-inverse answer. */
            if (solver == SOLVER_AUTO && (rc || !(si.cond <= GRAM_MAX_COND)))
                use_gram = 0;
            else if (rc) {
                rc = mp_error_set(e, rc, NAME ": eigendecomposition of the Gram matrix failed");
                goto fail;
            }
        }
        if (!use_gram) {
            double cond = si.cond;
            rc = solve_lstsq(in->X, in->y, n, d, xm, ym, alpha, m->coef, &si);
            si.cond = cond;
            if (rc) {
                rc = mp_error_set(e, rc,
                                  rc == MP_ENOMEM ? NAME ": out of memory for a %zu x %zu copy"
                                                  : NAME ": the SVD (dgelsd) did not converge "
                                                         "for %zu x %zu",
                                  n, d);
                goto fail;
            }
        }
    }
    double dotm = 0;
    for (size_t j = 0; j < d; j++)
        dotm += xm[j] * m->coef[j];
    m->intercept = m->fit_intercept ? ym - dotm : 0.0;
    for (size_t j = 0; j < d; j++)
        if (!isfinite(m->coef[j])) {
            rc = mp_error_set(e, MP_ENUMERIC, NAME ": coefficient %zu is not finite", j + 1);
            goto fail;
        }
    m->fit_info = fit_info_json(&si);
    if (!m->fit_info) {
        rc = mp_error_set(e, MP_ENOMEM, NAME ": out of memory");
        goto fail;
    }
    free(xm);
    free(tmp);
    free(G);
    free(b);
    free(rawss);
    *state = m;
    return 0;
fail:
    lr_destroy(m);
    free(xm);
    free(tmp);
    free(G);
    free(b);
    free(rawss);
    return rc;
}

static int lr_predict(const void *state, const double *X, size_t n, size_t d, double *out,
                      mp_error *e)
{
    const linreg *m = state;
    if (d != m->d)
        return mp_error_set(e, MP_EINVAL, NAME ": model has %zu features, input has %zu", m->d,
                            d);
    if (n > INT_MAX)
        return mp_error_set(e, MP_EINVAL, NAME ": too many rows (%zu) in one call", n);
    for (size_t i = 0; i < n; i++)
        out[i] = m->intercept;
    if (n && d)
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)d, 1.0, X, (int)d, m->coef, 1, 1.0,
                    out, 1);
    return 0;
}

static int lr_describe(const void *state, mp_tensors *bag, mp_error *e)
{
    const linreg *m = state;
    return mp_algo_write_meta(bag, params_json(m), m->fit_info, NAME, e);
}

static int lr_save(const void *state, mp_tensors *bag, mp_error *e)
{
    const linreg *m = state;
    int64_t shape_coef[1] = {(int64_t)m->d}, shape_one[1] = {1};
    int rc;
    if ((rc = mp_tensors_add(bag, "coef", MP_DT_F64, 1, shape_coef, m->coef, e)) ||
        (rc = mp_tensors_add(bag, "intercept", MP_DT_F64, 1, shape_one, &m->intercept, e)))
        return rc;
    return lr_describe(state, bag, e);
}

/* Reads the "params" metadata back; anything unexpected is MP_EFORMAT. */
static int parse_params(const mp_tensors *bag, linreg *m, mp_error *e)
{
    const char *s = mp_tensors_meta(bag, "params");
    if (!s)
        return mp_error_set(e, MP_EFORMAT, NAME ": missing metadata \"params\"");
    json_error_t je;
    json_t *o = json_loads(s, 0, &je);
    int rc = MP_EFORMAT;
    if (!o || !json_is_object(o))
        goto bad;
    json_t *a = json_object_get(o, "alpha"), *fi = json_object_get(o, "fit_intercept"),
           *so = json_object_get(o, "solver");
    if (!json_is_number(a) || !(json_number_value(a) >= 0) || !json_is_boolean(fi) ||
        !json_is_string(so))
        goto bad;
    m->alpha = json_number_value(a);
    m->fit_intercept = json_is_true(fi);
    m->solver = -1;
    for (int i = 0; solver_names[i]; i++)
        if (!strcmp(solver_names[i], json_string_value(so)))
            m->solver = i;
    if (m->solver < 0)
        goto bad;
    json_decref(o);
    return 0;
bad:
    json_decref(o);
    return mp_error_set(e, rc, NAME ": metadata \"params\" is not valid: %.200s", s);
}

static int lr_load(const mp_tensors *bag, mp_task task, size_t d, size_t nclasses, void **state,
                   mp_error *e)
{
    *state = NULL;
    if (task != MP_TASK_REGRESS)
        return mp_error_set(e, MP_EFORMAT, NAME ": a regression model cannot be used for task %d",
                            (int)task);
    const mp_tensor *tc, *ti;
    int64_t shape_coef[1] = {(int64_t)d}, shape_one[1] = {1};
    int rc;
    if ((rc = mp_tensors_expect(bag, "coef", MP_DT_F64, 1, shape_coef, &tc, e)) ||
        (rc = mp_tensors_expect(bag, "intercept", MP_DT_F64, 1, shape_one, &ti, e)))
        return rc;
    const double *c = tc->data, *b = ti->data;
    for (size_t j = 0; j < d; j++)
        if (!isfinite(c[j]))
            return mp_error_set(e, MP_EFORMAT, NAME ": coefficient %zu is not finite", j + 1);
    if (!isfinite(b[0]))
        return mp_error_set(e, MP_EFORMAT, NAME ": intercept is not finite");
    linreg *m = calloc(1, sizeof *m);
    if (!m || !(m->coef = malloc((d + 1) * sizeof *m->coef))) {
        free(m);
        return mp_error_set(e, MP_ENOMEM, NAME ": out of memory");
    }
    if ((rc = parse_params(bag, m, e))) {
        lr_destroy(m);
        return rc;
    }
    const char *fi = mp_tensors_meta(bag, "fit_info");
    if (fi && !(m->fit_info = strdup(fi))) {
        lr_destroy(m);
        return mp_error_set(e, MP_ENOMEM, NAME ": out of memory");
    }
    m->d = d;
    if (d)
        memcpy(m->coef, c, d * sizeof *c);
    m->intercept = b[0];
    *state = m;
    return 0;
}

const mp_algo mp_algo_linear_regression = {
    .name = NAME,
    .tasks = MP_TASK_REGRESS,
    .raw_categories = 0,
    .params = lr_params,
    .fit = lr_fit,
    .predict = lr_predict,
    .save = lr_save,
    .describe = lr_describe,
    .load = lr_load,
    .destroy = lr_destroy,
};
