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
 * scatter with the y = x line; with a training history (neural networks)
 * a "Training" section with the loss per epoch and, when measured, the
 * accuracy per epoch, training and validation. Every caller string is
 * HTML-escaped.
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

/* Training curves with more epochs than this are drawn as lines only, without
 * a marker (and tooltip) per epoch. */
#define MP_REPORT_CURVE_MARKERS 40

/* One epoch of a training history. A value that was not measured (no
 * validation rows, the accuracy of a regression) is NaN, and so is one that
 * went wrong (a diverged loss); either leaves a gap in its curve. */
typedef struct mp_report_epoch {
    double epoch; /* from 1; a non-finite epoch is drawn at its position, index + 1 */
    double loss, accuracy, val_loss, val_accuracy;
} mp_report_epoch;

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
    /* Training history (optional): nhistory epochs in training order. The
     * loss chart has a validation curve only when some val_loss is finite;
     * the accuracy chart is drawn only when some accuracy or val_accuracy is
     * finite. Curves of more than MP_REPORT_MAX_POINTS epochs are sampled
     * evenly (the last epoch always kept). */
    const mp_report_epoch *history;
    size_t nhistory;
    size_t best_epoch; /* the epoch whose weights were kept, marked; 0: none */
    int stopped_early; /* mentioned in the section's summary line */
} mp_report;

/* Appends the page to out. Errors: MP_EINVAL (no results at all, a
 * scatter with one array missing, a classification result with k = 0,
 * nhistory epochs without a history array), MP_ENOMEM. */
int mp_report_html(const mp_report *r, mp_buf *out, mp_error *e);

/* Appends s with & < > " ' escaped and control characters shown as '?'. */
void mp_html_escape(mp_buf *out, const char *s);

#endif
