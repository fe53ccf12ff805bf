#include "ml/metrics.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Probabilities a hair above 1 come from summing rounded terms; rejecting
 * them would only punish honest models. */
#define PROBA_SLACK 1e-9

/* ---- summation ---------------------------------------------------------- */

/* Neumaier's compensated sum: metrics over large test sets should not
 * drift from scikit-learn's (pairwise-summed) values by rounding alone. */
typedef struct ksum {
    double s, c;
} ksum;

static void ksum_add(ksum *k, double x)
{
    double t = k->s + x;
    if (fabs(k->s) >= fabs(x))
        k->c += (k->s - t) + x;
    else
        k->c += (x - t) + k->s;
    k->s = t;
}

static double ksum_get(const ksum *k) { return k->s + k->c; }

/* ---- classification ----------------------------------------------------- */

void mp_class_metrics_free(mp_class_metrics *m)
{
    if (!m)
        return;
    free(m->precision);
    free(m->recall);
    free(m->f1);
    free(m->support);
    free(m->predicted);
    free(m->present);
    free(m->confusion);
    if (m->roc) {
        for (size_t c = 0; c < m->k; c++) {
            free(m->roc[c].fpr);
            free(m->roc[c].tpr);
            free(m->roc[c].thresholds);
        }
        free(m->roc);
    }
    memset(m, 0, sizeof *m);
}

typedef struct scored {
    double score;
    int pos;
} scored;

static int cmp_score_desc(const void *a, const void *b)
{
    double x = ((const scored *)a)->score, y = ((const scored *)b)->score;
    return (x < y) - (x > y);
}

/* Builds the one-vs-rest ROC curve of class c the way roc_curve does.
 * `work` has room for n entries. */
static int roc_one(size_t n, size_t k, size_t c, const int *actual, const double *proba,
                   scored *work, mp_roc_curve *rc)
{
    for (size_t i = 0; i < n; i++) {
        work[i].score = proba[i * k + c];
        work[i].pos = actual[i] == (int)c;
    }
    qsort(work, n, sizeof *work, cmp_score_desc);

    /* One point per distinct score (ties merged), plus the (0, 0) start. */
    size_t ndist = 0;
    for (size_t i = 0; i < n; i++)
        if (i + 1 == n || work[i].score != work[i + 1].score)
            ndist++;
    double *fps = malloc(ndist * sizeof *fps);
    double *tps = malloc(ndist * sizeof *tps);
    double *thr = malloc(ndist * sizeof *thr);
    rc->fpr = malloc((ndist + 1) * sizeof *rc->fpr);
    rc->tpr = malloc((ndist + 1) * sizeof *rc->tpr);
    rc->thresholds = malloc((ndist + 1) * sizeof *rc->thresholds);
    if (!fps || !tps || !thr || !rc->fpr || !rc->tpr || !rc->thresholds) {
        free(fps);
        free(tps);
        free(thr);
        return MP_ENOMEM;
    }
    size_t tp = 0, fp = 0, j = 0;
    for (size_t i = 0; i < n; i++) {
        if (work[i].pos)
            tp++;
        else
            fp++;
        if (i + 1 == n || work[i].score != work[i + 1].score) {
            fps[j] = (double)fp;
            tps[j] = (double)tp;
            thr[j] = work[i].score;
            j++;
        }
    }
    rc->positives = tp;
    rc->negatives = fp;

    /* drop_intermediate: keep the ends and every point where the curve
     * bends (a nonzero second difference in fps or tps). */
    size_t m = 0;
    rc->fpr[m] = 0;
    rc->tpr[m] = 0;
    rc->thresholds[m] = thr[0] + 1;
    m++;
    for (size_t i = 0; i < ndist; i++) {
        int keep = i == 0 || i + 1 == ndist || ndist <= 2;
        if (!keep) {
            double dfp = fps[i + 1] - 2 * fps[i] + fps[i - 1];
            double dtp = tps[i + 1] - 2 * tps[i] + tps[i - 1];
            keep = dfp != 0 || dtp != 0;
        }
        if (keep) {
            rc->fpr[m] = fps[i];
            rc->tpr[m] = tps[i];
            rc->thresholds[m] = thr[i];
            m++;
        }
    }
    free(fps);
    free(tps);
    free(thr);
    rc->npoints = m;
    for (size_t i = 0; i < m; i++) {
        rc->fpr[i] = fp ? rc->fpr[i] / (double)fp : NAN;
        rc->tpr[i] = tp ? rc->tpr[i] / (double)tp : NAN;
    }
    if (!tp || !fp) {
        rc->auc = NAN;
    } else {
        ksum a = {0, 0};
        for (size_t i = 1; i < m; i++)
            ksum_add(&a, (rc->fpr[i] - rc->fpr[i - 1]) * (rc->tpr[i] + rc->tpr[i - 1]) / 2.0);
        rc->auc = ksum_get(&a);
    }
    return 0;
}

static int check_proba(size_t n, size_t k, const double *proba, mp_error *e)
{
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < k; c++) {
            double p = proba[i * k + c];
            if (!isfinite(p) || p < 0 || p > 1 + PROBA_SLACK)
                return mp_error_set(e, MP_EINPUT,
                                    "metrics: row %zu: probability of class %zu is %g, "
                                    "not in [0, 1]",
                                    i, c, p);
        }
    return 0;
}

static double log_loss(size_t n, size_t k, const int *actual, const double *proba)
{
    const double eps = DBL_EPSILON;
    ksum total = {0, 0};
    for (size_t i = 0; i < n; i++) {
        double sum = 0, mine = 0;
        for (size_t c = 0; c < k; c++) {
            double p = proba[i * k + c];
            p = p < eps ? eps : p > 1 - eps ? 1 - eps : p;
            sum += p;
            if ((int)c == actual[i])
                mine = p;
        }
        ksum_add(&total, -log(mine / sum));
    }
    return ksum_get(&total) / (double)n;
}

static int alloc_class(mp_class_metrics *m, size_t k, int with_roc)
{
    m->precision = calloc(k, sizeof *m->precision);
    m->recall = calloc(k, sizeof *m->recall);
    m->f1 = calloc(k, sizeof *m->f1);
    m->support = calloc(k, sizeof *m->support);
    m->predicted = calloc(k, sizeof *m->predicted);
    m->present = calloc(k, sizeof *m->present);
    m->confusion = calloc(k * k, sizeof *m->confusion);
    if (with_roc)
        m->roc = calloc(k, sizeof *m->roc);
    if (!m->precision || !m->recall || !m->f1 || !m->support || !m->predicted || !m->present ||
        !m->confusion || (with_roc && !m->roc))
        return MP_ENOMEM;
    return 0;
}

int mp_metrics_classify(size_t n, size_t k, const int *actual, const int *pred,
                        const double *proba, mp_class_metrics *out, mp_error *e)
{
    if (!out)
        return mp_error_set(e, MP_EINVAL, "metrics: no output struct");
    memset(out, 0, sizeof *out);
    if (!actual || !pred)
        return mp_error_set(e, MP_EINVAL, "metrics: missing actual or predicted classes");
    if (n == 0)
        return mp_error_set(e, MP_EINVAL, "metrics: no samples to evaluate");
    if (k == 0)
        return mp_error_set(e, MP_EINVAL, "metrics: no classes");
    if (k > INT32_MAX || k > SIZE_MAX / k / sizeof(size_t) || n > SIZE_MAX / k / sizeof(double))
        return mp_error_set(e, MP_EINVAL, "metrics: %zu samples x %zu classes is too large", n,
                            k);
    for (size_t i = 0; i < n; i++) {
        if (actual[i] < 0 || (size_t)actual[i] >= k)
            return mp_error_set(e, MP_EINPUT,
                                "metrics: row %zu: actual class %d is not in [0, %zu)", i,
                                actual[i], k);
        if (pred[i] < 0 || (size_t)pred[i] >= k)
            return mp_error_set(e, MP_EINPUT,
                                "metrics: row %zu: predicted class %d is not in [0, %zu)", i,
                                pred[i], k);
    }
    int rc;
    if (proba && (rc = check_proba(n, k, proba, e)))
        return rc;

    mp_class_metrics *m = out;
    if (alloc_class(m, k, proba != NULL)) {
        /* k must be set for free to walk the (all-NULL) curves. */
        m->k = k;
        mp_class_metrics_free(m);
        return mp_error_set(e, MP_ENOMEM, "metrics: out of memory for %zu classes", k);
    }
    m->n = n;
    m->k = k;
    for (size_t i = 0; i < n; i++) {
        size_t a = (size_t)actual[i], p = (size_t)pred[i];
        m->confusion[a * k + p]++;
        m->support[a]++;
        m->predicted[p]++;
        if (a == p)
            m->correct++;
    }
    m->accuracy = (double)m->correct / (double)n;

    ksum mp = {0, 0}, mr = {0, 0}, mf = {0, 0}, wp = {0, 0}, wr = {0, 0}, wf = {0, 0};
    for (size_t c = 0; c < k; c++) {
        m->present[c] = m->support[c] > 0 || m->predicted[c] > 0;
        if (!m->present[c])
            continue;
        m->npresent++;
        double tp = (double)m->confusion[c * k + c];
        if (m->predicted[c]) {
            m->precision[c] = tp / (double)m->predicted[c];
        } else {
            m->warnings |= MP_METRIC_WARN_PRECISION;
        }
        if (m->support[c]) {
            m->recall[c] = tp / (double)m->support[c];
        } else {
            m->warnings |= MP_METRIC_WARN_RECALL;
        }
        double p = m->precision[c], r = m->recall[c];
        /* scikit-learn derives F from the rounded precision and recall, not
         * from the counts; doing the same keeps the last bits equal. */
        m->f1[c] = p + r == 0 ? 0.0 : 2.0 * p * r / (p + r);
        ksum_add(&mp, p);
        ksum_add(&mr, r);
        ksum_add(&mf, m->f1[c]);
        double w = (double)m->support[c];
        ksum_add(&wp, p * w);
        ksum_add(&wr, r * w);
        ksum_add(&wf, m->f1[c] * w);
    }
    /* npresent >= 1 because n >= 1. */
    m->macro_precision = ksum_get(&mp) / (double)m->npresent;
    m->macro_recall = ksum_get(&mr) / (double)m->npresent;
    m->macro_f1 = ksum_get(&mf) / (double)m->npresent;
    m->weighted_precision = ksum_get(&wp) / (double)n;
    m->weighted_recall = ksum_get(&wr) / (double)n;
    m->weighted_f1 = ksum_get(&wf) / (double)n;

    m->log_loss = NAN;
    m->roc_auc = NAN;
    if (!proba)
        return 0;
    m->has_proba = 1;
    if (k >= 2)
        m->log_loss = log_loss(n, k, actual, proba);
    else
        m->warnings |= MP_METRIC_WARN_LOG_LOSS;

    scored *work = malloc(n * sizeof *work);
    if (!work) {
        mp_class_metrics_free(m);
        return mp_error_set(e, MP_ENOMEM, "metrics: out of memory for the ROC curves");
    }
    for (size_t c = 0; c < k; c++) {
        if (roc_one(n, k, c, actual, proba, work, &m->roc[c])) {
            free(work);
            mp_class_metrics_free(m);
            return mp_error_set(e, MP_ENOMEM, "metrics: out of memory for the ROC curves");
        }
    }
    free(work);

    if (k == 2) {
        m->roc_auc = m->roc[1].auc;
        if (isnan(m->roc_auc))
            m->warnings |= MP_METRIC_WARN_AUC;
    } else {
        ksum a = {0, 0};
        size_t defined = 0;
        for (size_t c = 0; c < k; c++) {
            if (isnan(m->roc[c].auc)) {
                m->warnings |= MP_METRIC_WARN_AUC;
                continue;
            }
            ksum_add(&a, m->roc[c].auc);
            defined++;
        }
        m->roc_auc = defined ? ksum_get(&a) / (double)defined : NAN;
    }
    return 0;
}

/* ---- regression --------------------------------------------------------- */

static int all_equal(size_t n, const double *v)
{
    for (size_t i = 1; i < n; i++)
        if (v[i] != v[0])
            return 0;
    return 1;
}

/* force_finite=True: perfect predictions score 1, a zero denominator with
 * imperfect predictions scores 0 rather than -inf. */
static double finite_score(double num, double den)
{
    if (num == 0)
        return 1.0;
    if (den == 0)
        return 0.0;
    return 1.0 - num / den;
}

int mp_metrics_regress(size_t n, const double *actual, const double *pred, mp_reg_metrics *out,
                       mp_error *e)
{
    if (!out)
        return mp_error_set(e, MP_EINVAL, "metrics: no output struct");
    memset(out, 0, sizeof *out);
    if (!actual || !pred)
        return mp_error_set(e, MP_EINVAL, "metrics: missing actual or predicted values");
    if (n == 0)
        return mp_error_set(e, MP_EINVAL, "metrics: no samples to evaluate");
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(actual[i]))
            return mp_error_set(e, MP_EINPUT, "metrics: row %zu: actual value %g is not finite",
                                i, actual[i]);
        if (!isfinite(pred[i]))
            return mp_error_set(e, MP_EINPUT,
                                "metrics: row %zu: predicted value %g is not finite", i,
                                pred[i]);
    }
    double dn = (double)n;
    ksum sa = {0, 0}, sr = {0, 0}, sabs = {0, 0}, ssq = {0, 0};
    double maxe = 0;
    int const_resid = 1;
    double r0 = actual[0] - pred[0];
    for (size_t i = 0; i < n; i++) {
        double r = actual[i] - pred[i];
        ksum_add(&sa, actual[i]);
        ksum_add(&sr, r);
        ksum_add(&sabs, fabs(r));
        ksum_add(&ssq, r * r);
        if (fabs(r) > maxe)
            maxe = fabs(r);
        if (r != r0)
            const_resid = 0;
    }
    double mean_a = ksum_get(&sa) / dn, mean_r = ksum_get(&sr) / dn;
    ksum sst = {0, 0}, svr = {0, 0};
    for (size_t i = 0; i < n; i++) {
        double d = actual[i] - mean_a;
        double v = (actual[i] - pred[i]) - mean_r;
        ksum_add(&sst, d * d);
        ksum_add(&svr, v * v);
    }
    /* A constant column's mean may miss the constant by an ulp; the scores
     * must still see an exactly zero spread there. */
    int const_actual = all_equal(n, actual);
    double ss_tot = const_actual ? 0.0 : ksum_get(&sst);
    double var_resid = const_resid ? 0.0 : ksum_get(&svr) / dn;
    double ss_res = ksum_get(&ssq);

    out->n = n;
    out->mae = ksum_get(&sabs) / dn;
    out->mse = ss_res / dn;
    out->rmse = sqrt(out->mse);
    out->max_error = maxe;
    out->explained_variance = finite_score(var_resid, ss_tot / dn);
    if (n < 2) {
        out->r2 = NAN;
        out->warnings |= MP_METRIC_WARN_R2;
    } else {
        out->r2 = finite_score(ss_res, ss_tot);
    }
    return 0;
}

/* ---- output helpers ----------------------------------------------------- */

const char *mp_metric_warning_text(unsigned bit)
{
    switch (bit) {
    case MP_METRIC_WARN_PRECISION:
        return "precision is ill-defined for a class that was never predicted; set to 0";
    case MP_METRIC_WARN_RECALL:
        return "recall is ill-defined for a predicted class with no actual samples; set to 0";
    case MP_METRIC_WARN_AUC:
        return "ROC AUC is undefined for a class with no actual positives or no actual "
               "negatives; reported as null and left out of the average";
    case MP_METRIC_WARN_LOG_LOSS:
        return "log loss needs at least two classes";
    case MP_METRIC_WARN_R2:
        return "R2 is not well-defined with fewer than two samples";
    default:
        return NULL;
    }
}

/* Length of the valid UTF-8 sequence at p, or 0 if it is not one (overlong
 * forms, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_seq(const unsigned char *p)
{
    unsigned char c = p[0];
    if (c < 0x80)
        return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

void mp_metrics_json_string(mp_buf *out, const char *s)
{
    mp_buf_putc(out, '"');
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        switch (*p) {
        case '"': mp_buf_puts(out, "\\\""); break;
        case '\\': mp_buf_puts(out, "\\\\"); break;
        case '\n': mp_buf_puts(out, "\\n"); break;
        case '\r': mp_buf_puts(out, "\\r"); break;
        case '\t': mp_buf_puts(out, "\\t"); break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                mp_buf_printf(out, "\\u%04x", *p);
            } else if (*p >= 0x80) {
                /* Labels from a Latin-1 file must not make the JSON invalid:
                 * a byte that is not UTF-8 becomes U+FFFD. */
                size_t n = utf8_seq(p);
                if (!n) {
                    mp_buf_puts(out, "\\ufffd");
                    p++;
                    continue;
                }
                mp_buf_append(out, p, n);
                p += n;
                continue;
            } else {
                mp_buf_putc(out, (char)*p);
            }
        }
        p++;
    }
    mp_buf_putc(out, '"');
}

static void json_num(mp_buf *out, double v)
{
    if (isfinite(v))
        mp_buf_double(out, v);
    else
        mp_buf_puts(out, "null");
}

static void json_key_num(mp_buf *out, const char *key, double v)
{
    mp_buf_printf(out, ",\"%s\":", key);
    json_num(out, v);
}

/* The label of class c: the caller's string, or its index. */
static const char *label_of(const char *const *labels, size_t c, char *tmp, size_t ntmp)
{
    if (labels && labels[c])
        return labels[c];
    snprintf(tmp, ntmp, "%zu", c);
    return tmp;
}

static void json_warnings(mp_buf *out, unsigned w)
{
    mp_buf_puts(out, ",\"warnings\":[");
    int first = 1;
    for (unsigned bit = 1; bit && bit <= w; bit <<= 1) {
        const char *t = (w & bit) ? mp_metric_warning_text(bit) : NULL;
        if (!t)
            continue;
        if (!first)
            mp_buf_putc(out, ',');
        first = 0;
        mp_metrics_json_string(out, t);
    }
    mp_buf_putc(out, ']');
}

void mp_class_metrics_json(const mp_class_metrics *m, const char *const *labels, mp_buf *out)
{
    char tmp[32];
    mp_buf_printf(out, "{\"task\":\"classification\",\"n\":%zu", m->n);
    json_key_num(out, "accuracy", m->accuracy);
    json_key_num(out, "macro_precision", m->macro_precision);
    json_key_num(out, "macro_recall", m->macro_recall);
    json_key_num(out, "macro_f1", m->macro_f1);
    json_key_num(out, "weighted_precision", m->weighted_precision);
    json_key_num(out, "weighted_recall", m->weighted_recall);
    json_key_num(out, "weighted_f1", m->weighted_f1);
    if (m->has_proba) {
        json_key_num(out, "log_loss", m->log_loss);
        json_key_num(out, "roc_auc", m->roc_auc);
    }
    mp_buf_puts(out, ",\"classes\":[");
    for (size_t c = 0; c < m->k; c++) {
        if (c)
            mp_buf_putc(out, ',');
        mp_buf_puts(out, "{\"label\":");
        mp_metrics_json_string(out, label_of(labels, c, tmp, sizeof tmp));
        json_key_num(out, "precision", m->precision[c]);
        json_key_num(out, "recall", m->recall[c]);
        json_key_num(out, "f1", m->f1[c]);
        mp_buf_printf(out, ",\"support\":%zu", m->support[c]);
        if (m->has_proba && m->roc)
            json_key_num(out, "roc_auc", m->roc[c].auc);
        mp_buf_putc(out, '}');
    }
    mp_buf_puts(out, "],\"confusion_matrix\":{\"labels\":[");
    for (size_t c = 0; c < m->k; c++) {
        if (c)
            mp_buf_putc(out, ',');
        mp_metrics_json_string(out, label_of(labels, c, tmp, sizeof tmp));
    }
    mp_buf_puts(out, "],\"matrix\":[");
    for (size_t a = 0; a < m->k; a++) {
        mp_buf_puts(out, a ? ",[" : "[");
        for (size_t p = 0; p < m->k; p++)
            mp_buf_printf(out, p ? ",%zu" : "%zu", m->confusion[a * m->k + p]);
        mp_buf_putc(out, ']');
    }
    mp_buf_puts(out, "]}");
    json_warnings(out, m->warnings);
    mp_buf_putc(out, '}');
}

void mp_reg_metrics_json(const mp_reg_metrics *r, mp_buf *out)
{
    mp_buf_printf(out, "{\"task\":\"regression\",\"n\":%zu", r->n);
    json_key_num(out, "mae", r->mae);
    json_key_num(out, "mse", r->mse);
    json_key_num(out, "rmse", r->rmse);
    json_key_num(out, "r2", r->r2);
    json_key_num(out, "max_error", r->max_error);
    json_key_num(out, "explained_variance", r->explained_variance);
    json_warnings(out, r->warnings);
    mp_buf_putc(out, '}');
}

/* ---- text report -------------------------------------------------------- */

/* Columns are counted in UTF-8 code points so non-ASCII labels line up. */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xC0) != 0x80)
            w++;
    return w;
}

/* Appends s with control characters shown as '?' (a label must not be able
 * to move the cursor or end a line), padded with spaces to width. */
static void put_cell(mp_buf *out, const char *s, size_t width, int right)
{
    size_t w = text_width(s);
    size_t pad = w < width ? width - w : 0;
    if (right)
        for (size_t i = 0; i < pad; i++)
            mp_buf_putc(out, ' ');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        mp_buf_putc(out, *p < 0x20 || *p == 0x7f ? '?' : (char)*p);
    if (!right)
        for (size_t i = 0; i < pad; i++)
            mp_buf_putc(out, ' ');
}

static void put_score(mp_buf *out, double v, int width)
{
    if (isnan(v))
        mp_buf_printf(out, "%*s", width, "n/a");
    else
        mp_buf_printf(out, "%*.4f", width, v);
}

static void text_warnings(mp_buf *out, unsigned w)
{
    for (unsigned bit = 1; bit && bit <= w; bit <<= 1) {
        const char *t = (w & bit) ? mp_metric_warning_text(bit) : NULL;
        if (t)
            mp_buf_printf(out, "  note: %s\n", t);
    }
}

void mp_class_metrics_text(const mp_class_metrics *m, const char *const *labels, mp_buf *out)
{
    char tmp[32];
    mp_buf_puts(out, "How did we do?\n\n");
    mp_buf_printf(out, "  samples    %zu\n", m->n);
    mp_buf_printf(out, "  accuracy   %.4f  (%zu of %zu correct)\n", m->accuracy, m->correct,
                  m->n);
    if (m->has_proba) {
        mp_buf_puts(out, "  log loss ");
        put_score(out, m->log_loss, 8);
        mp_buf_puts(out, "\n  ROC AUC  ");
        put_score(out, m->roc_auc, 8);
        mp_buf_puts(out, m->k == 2 ? "  (positive class: " : "  (one-vs-rest, macro average)\n");
        if (m->k == 2) {
            put_cell(out, label_of(labels, 1, tmp, sizeof tmp), 0, 0);
            mp_buf_puts(out, ")\n");
        }
    }

    size_t lw = strlen("weighted avg");
    for (size_t c = 0; c < m->k; c++) {
        size_t w = text_width(label_of(labels, c, tmp, sizeof tmp));
        if (w > lw)
            lw = w;
    }
    int with_auc = m->has_proba && m->k > 2;
    mp_buf_puts(out, "\n  ");
    put_cell(out, "class", lw, 0);
    mp_buf_puts(out, "  precision     recall   f1-score    support");
    if (with_auc)
        mp_buf_puts(out, "    ROC AUC");
    mp_buf_putc(out, '\n');
    for (size_t c = 0; c < m->k; c++) {
        mp_buf_puts(out, "  ");
        put_cell(out, label_of(labels, c, tmp, sizeof tmp), lw, 0);
        put_score(out, m->precision[c], 11);
        put_score(out, m->recall[c], 11);
        put_score(out, m->f1[c], 11);
        mp_buf_printf(out, "%11zu", m->support[c]);
        if (with_auc)
            put_score(out, m->roc[c].auc, 11);
        mp_buf_putc(out, '\n');
    }
    mp_buf_puts(out, "\n  ");
    put_cell(out, "macro avg", lw, 0);
    put_score(out, m->macro_precision, 11);
    put_score(out, m->macro_recall, 11);
    put_score(out, m->macro_f1, 11);
    mp_buf_printf(out, "%11zu\n  ", m->n);
    put_cell(out, "weighted avg", lw, 0);
    put_score(out, m->weighted_precision, 11);
    put_score(out, m->weighted_recall, 11);
    put_score(out, m->weighted_f1, 11);
    mp_buf_printf(out, "%11zu\n", m->n);

    /* Confusion matrix: every column as wide as its label or its largest
     * count, whichever is wider. */
    size_t maxcount = 0;
    for (size_t i = 0; i < m->k * m->k; i++)
        if (m->confusion[i] > maxcount)
            maxcount = m->confusion[i];
    char num[32];
    size_t cw = (size_t)snprintf(num, sizeof num, "%zu", maxcount);
    const char *corner = "actual \\ predicted";
    size_t rw = lw > strlen(corner) ? lw : strlen(corner);
    mp_buf_puts(out, "\nConfusion matrix (rows: actual, columns: predicted)\n\n  ");
    put_cell(out, corner, rw, 0);
    for (size_t c = 0; c < m->k; c++) {
        const char *l = label_of(labels, c, tmp, sizeof tmp);
        size_t w = text_width(l) > cw ? text_width(l) : cw;
        mp_buf_puts(out, "  ");
        put_cell(out, l, w, 1);
    }
    mp_buf_putc(out, '\n');
    for (size_t a = 0; a < m->k; a++) {
        mp_buf_puts(out, "  ");
        put_cell(out, label_of(labels, a, tmp, sizeof tmp), rw, 0);
        for (size_t p = 0; p < m->k; p++) {
            size_t w = text_width(label_of(labels, p, tmp, sizeof tmp));
            if (w < cw)
                w = cw;
            snprintf(num, sizeof num, "%zu", m->confusion[a * m->k + p]);
            mp_buf_puts(out, "  ");
            put_cell(out, num, w, 1);
        }
        mp_buf_putc(out, '\n');
    }
    if (m->warnings) {
        mp_buf_putc(out, '\n');
        text_warnings(out, m->warnings);
    }
}

static void put_value(mp_buf *out, const char *name, double v)
{
    mp_buf_printf(out, "  %-20s", name);
    if (isnan(v))
        mp_buf_puts(out, "n/a\n");
    else
        mp_buf_printf(out, "%.6g\n", v);
}

void mp_reg_metrics_text(const mp_reg_metrics *r, mp_buf *out)
{
    mp_buf_puts(out, "How did we do?\n\n");
    mp_buf_printf(out, "  %-20s%zu\n", "samples", r->n);
    put_value(out, "MAE", r->mae);
    put_value(out, "RMSE", r->rmse);
    put_value(out, "MSE", r->mse);
    /* "R2" rather than "R²": %-20s pads by bytes, and not every terminal
     * font has the superscript. */
    put_value(out, "R2", r->r2);
    put_value(out, "max error", r->max_error);
    put_value(out, "explained variance", r->explained_variance);
    if (r->warnings) {
        mp_buf_putc(out, '\n');
        text_warnings(out, r->warnings);
    }
}
