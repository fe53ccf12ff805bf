/* Naive Bayes with scikit-learn's GaussianNB semantics for numeric features
 * and CategoricalNB semantics for categorical ones, in one model: the class
 * prior is counted once and each feature adds its own log-likelihood.
 *
 * Gaussian: per class mean and population variance, plus epsilon =
 * var_smoothing * (largest population variance of a numeric feature) on
 * every variance. Categorical: P(v | c) = (count(c, v) + alpha) /
 * (count(c) + alpha * k) with alpha below 1e-10 raised to 1e-10, as
 * scikit-learn does by default. A level unseen in training (code -1 or out
 * of range) contributes nothing. Everything is summed in log space and
 * normalised with log-sum-exp, so no probability under- or overflows. */
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ml/algo.h"

static const char *const nb_params[] = {"var_smoothing", "alpha", NULL};

/* scikit-learn's smallest alpha when force_alpha is off. */
#define NB_ALPHA_MIN 1e-10
/* Keeps a zero variance (var_smoothing=0 on a constant feature) from
 * dividing by zero; such a feature then only separates exact matches. */
#define NB_VAR_FLOOR DBL_MIN
/* Upper limit on levels of one categorical feature in a model file. */
#define NB_MAX_LEVELS ((int64_t)1 << 31)
#define NB_TWO_PI 6.283185307179586

typedef struct nb_state {
    size_t d, nclasses;
    double var_smoothing, alpha; /* as given (for the params string) */
    size_t *ncats;               /* d: 0 numeric, k categorical */
    double *class_count;         /* C */
    double *theta, *var;         /* C*d; categorical columns hold 0 and 1 */
    double **catlp;              /* d: C*k log P(v | c) for categorical j, else NULL */
    /* derived */
    double *log_prior; /* C: -inf for a class with no rows */
    double *gconst;    /* C: -1/2 sum_j log(2 pi var[c][j]) over numeric j */
} nb_state;

static void nb_destroy(void *p)
{
    nb_state *s = p;
    if (!s)
        return;
    if (s->catlp)
        for (size_t j = 0; j < s->d; j++)
            free(s->catlp[j]);
    free(s->catlp);
    free(s->ncats);
    free(s->class_count);
    free(s->theta);
    free(s->var);
    free(s->log_prior);
    free(s->gconst);
    free(s);
}

static nb_state *nb_alloc(size_t d, size_t nc)
{
    nb_state *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->d = d;
    s->nclasses = nc;
    s->ncats = calloc(d, sizeof *s->ncats);
    s->class_count = calloc(nc, sizeof *s->class_count);
    s->theta = calloc(nc * d, sizeof *s->theta);
    s->var = calloc(nc * d, sizeof *s->var);
    s->catlp = calloc(d, sizeof *s->catlp);
    s->log_prior = calloc(nc, sizeof *s->log_prior);
    s->gconst = calloc(nc, sizeof *s->gconst);
    if (!s->ncats || !s->class_count || !s->theta || !s->var || !s->catlp || !s->log_prior ||
        !s->gconst) {
        nb_destroy(s);
        return NULL;
    }
    return s;
}

static void nb_derive(nb_state *s)
{
    double total = 0;
    for (size_t c = 0; c < s->nclasses; c++)
        total += s->class_count[c];
    for (size_t c = 0; c < s->nclasses; c++) {
        s->log_prior[c] = s->class_count[c] > 0 ? log(s->class_count[c] / total) : -INFINITY;
        double g = 0;
        for (size_t j = 0; j < s->d; j++)
            if (!s->ncats[j])
                g += log(NB_TWO_PI * s->var[c * s->d + j]);
        s->gconst[c] = -0.5 * g;
    }
}

/* A categorical cell: 1 and *code for a level seen in training, 0 for an
 * unseen one (-1 or out of range), -1 for a value that is no code. */
static int cat_code(double v, size_t k, size_t *code)
{
    if (!(v == floor(v)) || !isfinite(v))
        return -1;
    if (v < 0 || v >= (double)k)
        return 0;
    *code = (size_t)v;
    return 1;
}

static int nb_fit(const mp_fit_input *in, mp_params *p, void **state, mp_error *e)
{
    *state = NULL;
    if (in->task != MP_TASK_CLASSIFY)
        return mp_error_set(e, MP_EINVAL, "naive-bayes: only classification is supported");
    size_t n = in->n, d = in->d, nc = in->nclasses;
    if (n == 0 || d == 0)
        return mp_error_set(e, MP_EINPUT,
                            "naive-bayes: no training data (%zu rows, %zu features)", n, d);
    if (nc == 0)
        return mp_error_set(e, MP_EINPUT, "naive-bayes: classification with no classes");
    double var_smoothing, alpha;
    int rc = mp_param_double(p, "var_smoothing", 1e-9, 0, DBL_MAX, &var_smoothing, e);
    if (!rc)
        rc = mp_param_double(p, "alpha", 1.0, 0, DBL_MAX, &alpha, e);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        double y = in->y[i];
        if (!(y >= 0 && y < (double)nc && y == floor(y)))
            return mp_error_set(e, MP_EINPUT,
                                "naive-bayes: target %zu (%g) is not a class index below %zu", i,
                                y, nc);
        for (size_t j = 0; j < d; j++) {
            double v = in->X[i * d + j];
            size_t k = in->ncats ? in->ncats[j] : 0, code;
            if (k && cat_code(v, k, &code) != 1)
                return mp_error_set(e, MP_EINPUT,
                                    "naive-bayes: row %zu, feature %zu: %g is not a level code "
                                    "below %zu",
                                    i, j, v, k);
            if (!k && !isfinite(v))
                return mp_error_set(e, MP_EINPUT,
                                    "naive-bayes: row %zu, feature %zu: %g is not finite", i, j, v);
        }
    }
    if (nc > SIZE_MAX / d / sizeof(double))
        return mp_error_set(e, MP_ENOMEM, "naive-bayes: too many classes and features");

    nb_state *s = nb_alloc(d, nc);
    double *colmean = calloc(d, sizeof *colmean), *colvar = calloc(d, sizeof *colvar);
    if (!s || !colmean || !colvar)
        goto oom;
    s->var_smoothing = var_smoothing;
    s->alpha = alpha;
    if (in->ncats)
        memcpy(s->ncats, in->ncats, d * sizeof *s->ncats);

    /* Two passes (mean, then squared deviations) as numpy's var does. */
    for (size_t i = 0; i < n; i++) {
        size_t c = (size_t)in->y[i];
        s->class_count[c] += 1;
        for (size_t j = 0; j < d; j++) {
            s->theta[c * d + j] += in->X[i * d + j];
            colmean[j] += in->X[i * d + j];
        }
    }
    for (size_t j = 0; j < d; j++)
        colmean[j] /= (double)n;
    for (size_t c = 0; c < nc; c++)
        for (size_t j = 0; j < d; j++)
            if (s->class_count[c] > 0)
                s->theta[c * d + j] /= s->class_count[c];
    for (size_t i = 0; i < n; i++) {
        size_t c = (size_t)in->y[i];
        for (size_t j = 0; j < d; j++) {
            double t = in->X[i * d + j] - s->theta[c * d + j];
            double u = in->X[i * d + j] - colmean[j];
            s->var[c * d + j] += t * t;
            colvar[j] += u * u;
        }
    }
    double maxvar = 0;
    for (size_t j = 0; j < d; j++)
        if (!s->ncats[j] && colvar[j] / (double)n > maxvar)
            maxvar = colvar[j] / (double)n;
    double epsilon = var_smoothing * maxvar;
    for (size_t c = 0; c < nc; c++) {
        for (size_t j = 0; j < d; j++) {
            double *v = &s->var[c * d + j];
            if (s->ncats[j] || s->class_count[c] == 0) {
                /* Unused; kept valid so a saved model always checks out. */
                s->theta[c * d + j] = 0;
                *v = 1;
                continue;
            }
            *v = *v / s->class_count[c] + epsilon;
            if (!(*v >= NB_VAR_FLOOR))
                *v = NB_VAR_FLOOR;
            if (isinf(*v))
                *v = DBL_MAX;
        }
    }

    double a = alpha < NB_ALPHA_MIN ? NB_ALPHA_MIN : alpha;
    for (size_t j = 0; j < d; j++) {
        size_t k = s->ncats[j];
        if (!k)
            continue;
        if (nc > SIZE_MAX / k / sizeof(double))
            goto oom;
        double *t = calloc(nc * k, sizeof *t);
        if (!t)
            goto oom;
        s->catlp[j] = t;
        for (size_t i = 0; i < n; i++)
            t[(size_t)in->y[i] * k + (size_t)in->X[i * d + j]] += 1;
        for (size_t c = 0; c < nc; c++) {
            double den = log(s->class_count[c] + a * (double)k);
            for (size_t v = 0; v < k; v++)
                t[c * k + v] = log(t[c * k + v] + a) - den;
        }
    }
    nb_derive(s);
    free(colmean);
    free(colvar);
    *state = s;
    return 0;
oom:
    free(colmean);
    free(colvar);
    nb_destroy(s);
    return mp_error_set(e, MP_ENOMEM, "naive-bayes: out of memory");
}

static int nb_predict(const void *state, const double *X, size_t n, size_t d, double *out,
                      mp_error *e)
{
    const nb_state *s = state;
    if (d != s->d)
        return mp_error_set(e, MP_EINVAL, "naive-bayes: predict got %zu features, the model has %zu",
                            d, s->d);
    size_t nc = s->nclasses;
    for (size_t i = 0; i < n; i++) {
        const double *x = X + i * d;
        double *jll = out + i * nc;
        for (size_t j = 0; j < d; j++) {
            size_t code;
            if (s->ncats[j] ? cat_code(x[j], s->ncats[j], &code) < 0 : !isfinite(x[j]))
                return mp_error_set(e, MP_EINPUT, "naive-bayes: row %zu, feature %zu: %g is not %s",
                                    i, j, x[j], s->ncats[j] ? "a level code" : "finite");
        }
        for (size_t c = 0; c < nc; c++) {
            if (s->log_prior[c] == -INFINITY) {
                jll[c] = -INFINITY;
                continue;
            }
            const double *th = s->theta + c * d, *va = s->var + c * d;
            double q = 0, cat = 0;
            for (size_t j = 0; j < d; j++) {
                size_t code;
                if (!s->ncats[j]) {
                    double t = x[j] - th[j];
                    q += t * t / va[j];
                } else if (cat_code(x[j], s->ncats[j], &code) == 1) {
                    cat += s->catlp[j][c * s->ncats[j] + code];
                }
            }
            jll[c] = s->log_prior[c] + (s->gconst[c] - 0.5 * q) + cat;
        }
        double m = -INFINITY;
        for (size_t c = 0; c < nc; c++)
            if (jll[c] > m)
                m = jll[c];
        if (m == -INFINITY) {
            /* Every class infinitely unlikely (a value astronomically far
             * from all means): nothing to compare, so fall back on the
             * priors. */
            for (size_t c = 0; c < nc; c++)
                jll[c] = s->log_prior[c];
            for (size_t c = 0; c < nc; c++)
                if (jll[c] > m)
                    m = jll[c];
        }
        double sum = 0;
        for (size_t c = 0; c < nc; c++)
            sum += exp(jll[c] - m);
        double lse = m + log(sum);
        for (size_t c = 0; c < nc; c++)
            jll[c] = exp(jll[c] - lse);
    }
    return 0;
}

static int nb_describe(const void *state, mp_tensors *b, mp_error *e)
{
    const nb_state *s = state;
    mp_buf j = {0};
    mp_buf_puts(&j, "{\"var_smoothing\":");
    mp_buf_double(&j, s->var_smoothing);
    mp_buf_puts(&j, ",\"alpha\":");
    mp_buf_double(&j, s->alpha);
    mp_buf_putc(&j, '}');
    if (j.oom || mp_tensors_set_meta(b, "params", j.data)) {
        mp_buf_free(&j);
        return mp_error_set(e, MP_ENOMEM, "naive-bayes: out of memory");
    }
    mp_buf_free(&j);
    return 0;
}

static int nb_save(const void *state, mp_tensors *b, mp_error *e)
{
    const nb_state *s = state;
    size_t d = s->d, nc = s->nclasses;
    int64_t shc[1] = {(int64_t)nc}, shcd[2] = {(int64_t)nc, (int64_t)d}, shd[1] = {(int64_t)d};
    int64_t *nk = malloc(d * sizeof *nk);
    if (!nk)
        return mp_error_set(e, MP_ENOMEM, "naive-bayes: out of memory");
    for (size_t j = 0; j < d; j++)
        nk[j] = (int64_t)s->ncats[j];
    int rc = mp_tensors_add(b, "nb.class_count", MP_DT_F64, 1, shc, s->class_count, e);
    if (!rc)
        rc = mp_tensors_add(b, "nb.theta", MP_DT_F64, 2, shcd, s->theta, e);
    if (!rc)
        rc = mp_tensors_add(b, "nb.var", MP_DT_F64, 2, shcd, s->var, e);
    if (!rc)
        rc = mp_tensors_add(b, "nb.ncats", MP_DT_I64, 1, shd, nk, e);
    free(nk);
    for (size_t j = 0; j < d && !rc; j++) {
        if (!s->ncats[j])
            continue;
        char name[48];
        snprintf(name, sizeof name, "nb.cat.%zu", j);
        int64_t sh[2] = {(int64_t)nc, (int64_t)s->ncats[j]};
        rc = mp_tensors_add(b, name, MP_DT_F64, 2, sh, s->catlp[j], e);
    }
    return rc ? rc : nb_describe(state, b, e);
}

static int nb_load_params(const mp_tensors *b, nb_state *s, mp_error *e)
{
    const char *pj = mp_tensors_meta(b, "params");
    if (!pj)
        return mp_error_set(e, MP_EFORMAT, "naive-bayes model: metadata \"params\" is missing");
    json_error_t je;
    json_t *obj = json_loads(pj, 0, &je);
    json_t *vs = json_object_get(obj, "var_smoothing"), *al = json_object_get(obj, "alpha");
    int ok = json_is_object(obj) && json_object_size(obj) == 2 && json_is_number(vs) &&
             json_is_number(al) && json_number_value(vs) >= 0 && json_number_value(al) >= 0;
    if (ok) {
        s->var_smoothing = json_number_value(vs);
        s->alpha = json_number_value(al);
    }
    json_decref(obj);
    if (!ok)
        return mp_error_set(e, MP_EFORMAT,
                            "naive-bayes model: metadata \"params\" is not "
                            "{\"var_smoothing\": >= 0, \"alpha\": >= 0}");
    return 0;
}

static int nb_load(const mp_tensors *b, mp_task task, size_t d, size_t nclasses, void **state,
                   mp_error *e)
{
    *state = NULL;
    if (task != MP_TASK_CLASSIFY)
        return mp_error_set(e, MP_EFORMAT, "naive-bayes model: task is not classification");
    if (d == 0 || nclasses == 0)
        return mp_error_set(e, MP_EFORMAT, "naive-bayes model: %zu features, %zu classes", d,
                            nclasses);
    if (nclasses > SIZE_MAX / d / sizeof(double))
        return mp_error_set(e, MP_EFORMAT, "naive-bayes model: too many classes and features");
    const mp_tensor *tc, *tt, *tv, *tk;
    int64_t shc[1] = {(int64_t)nclasses}, shcd[2] = {(int64_t)nclasses, (int64_t)d};
    int64_t shd[1] = {(int64_t)d};
    int rc = mp_tensors_expect(b, "nb.class_count", MP_DT_F64, 1, shc, &tc, e);
    if (!rc)
        rc = mp_tensors_expect(b, "nb.theta", MP_DT_F64, 2, shcd, &tt, e);
    if (!rc)
        rc = mp_tensors_expect(b, "nb.var", MP_DT_F64, 2, shcd, &tv, e);
    if (!rc)
        rc = mp_tensors_expect(b, "nb.ncats", MP_DT_I64, 1, shd, &tk, e);
    if (rc)
        return rc;
    const double *cc = tc->data, *th = tt->data, *va = tv->data;
    const int64_t *nk = tk->data;
    double total = 0;
    for (size_t c = 0; c < nclasses; c++) {
        if (!(cc[c] >= 0 && isfinite(cc[c])))
            return mp_error_set(e, MP_EFORMAT,
                                "naive-bayes model: nb.class_count[%zu] is not a count", c);
        total += cc[c];
    }
    if (!(total > 0 && isfinite(total)))
        return mp_error_set(e, MP_EFORMAT, "naive-bayes model: nb.class_count sums to %g",
                            total);
    for (size_t i = 0; i < nclasses * d; i++)
        if (!isfinite(th[i]) || !(va[i] > 0) || !isfinite(va[i]))
            return mp_error_set(e, MP_EFORMAT,
                                "naive-bayes model: class %zu, feature %zu: mean %g, variance %g",
                                i / d, i % d, th[i], va[i]);
    for (size_t j = 0; j < d; j++)
        if (nk[j] < 0 || nk[j] > NB_MAX_LEVELS)
            return mp_error_set(e, MP_EFORMAT, "naive-bayes model: nb.ncats[%zu] is %lld", j,
                                (long long)nk[j]);

    nb_state *s = nb_alloc(d, nclasses);
    if (!s)
        return mp_error_set(e, MP_ENOMEM, "naive-bayes: out of memory");
    rc = nb_load_params(b, s, e);
    if (rc)
        goto fail;
    memcpy(s->class_count, cc, nclasses * sizeof *cc);
    memcpy(s->theta, th, nclasses * d * sizeof *th);
    memcpy(s->var, va, nclasses * d * sizeof *va);
    for (size_t j = 0; j < d; j++) {
        s->ncats[j] = (size_t)nk[j];
        if (!nk[j])
            continue;
        char name[48];
        snprintf(name, sizeof name, "nb.cat.%zu", j);
        int64_t sh[2] = {(int64_t)nclasses, nk[j]};
        const mp_tensor *t;
        rc = mp_tensors_expect(b, name, MP_DT_F64, 2, sh, &t, e);
        if (rc)
            goto fail;
        const double *lp = t->data;
        for (size_t i = 0; i < t->nelems; i++) {
            if (!(lp[i] <= 0) || !isfinite(lp[i])) {
                rc = mp_error_set(e, MP_EFORMAT,
                                  "naive-bayes model: %s holds %g, not a log probability", name,
                                  lp[i]);
                goto fail;
            }
        }
        s->catlp[j] = malloc(t->nelems * sizeof *lp);
        if (!s->catlp[j]) {
            rc = mp_error_set(e, MP_ENOMEM, "naive-bayes: out of memory");
            goto fail;
        }
        memcpy(s->catlp[j], lp, t->nelems * sizeof *lp);
    }
    nb_derive(s);
    *state = s;
    return 0;
fail:
    nb_destroy(s);
    return rc;
}

const mp_algo mp_algo_naive_bayes = {
    .name = "naive-bayes",
    .tasks = MP_TASK_CLASSIFY,
    .raw_categories = 1,
    .params = nb_params,
    .fit = nb_fit,
    .predict = nb_predict,
    .save = nb_save,
    .describe = nb_describe,
    .load = nb_load,
    .destroy = nb_destroy,
};
