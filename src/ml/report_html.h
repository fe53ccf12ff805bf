/* A self-contained HTML evaluation report: one page with inline CSS and
 * inline SVG charts, no JavaScript and no external references, so it can be
 * mailed, archived or opened from disk as is.
 *
 * Contents, as far as the inputs allow: title and context lines; summary
 * cards (accuracy, F1, log loss, ROC AUC / R², MAE, RMSE, ...); the
 * per-class table; the confusion matrix as a heat map (colour by the
 * row-normalised value, counts in the cells); ROC curves (binary: the
 * positive class 1 against the diagonal, AUC in the legend; multiclass: one
 * one-vs-rest curve per class); for regression a predicted-vs-actual
 * scatter with the y = x line. Every caller string is HTML-escaped.
 *
 * Ownership: the report only reads its inputs; the HTML is appended to the
 * caller's buffer. Thread-safe. */
#ifndef MP_ML_REPORT_HTML_H
#define MP_ML_REPORT_HTML_H

#include <stddef.h>

#include "core/buf.h"
#include "core/error.h"
#include "ml/metrics.h"

/* Scatter plots show at most this many points (an even sample beyond). */
#define MP_REPORT_MAX_POINTS 5000

typedef struct mp_report {
    const char *title;              /* NULL: "mlpipe evaluation" */
    /* Optional context shown under the title ("model" -> "iris v3"). */
    const char *const *info_keys;
    const char *const *info_values;
    size_t ninfo;
    const mp_class_metrics *cls;    /* classification results, or NULL */
    const char *const *labels;      /* cls->k class names; NULL: the indexes */
    const mp_reg_metrics *reg;      /* regression results, or NULL */
    /* Regression scatter (optional): n actual/predicted pairs; pairs with a
     * non-finite value are skipped. */
    const double *actual;
    const double *pred;
    size_t n;
} mp_report;

/* Appends the page to out. Errors: MP_EINVAL (no results at all, a
 * scatter with one array missing, a classification result with k = 0),
 * MP_ENOMEM. */
int mp_report_html(const mp_report *r, mp_buf *out, mp_error *e);

/* Appends s with & < > " ' escaped and control characters shown as '?'. */
void mp_html_escape(mp_buf *out, const char *s);

#endif
