/* Evaluation metrics with scikit-learn's definitions (as of scikit-learn
 * 1.2.1), for classification (class indexes 0..k-1) and regression.
 *
 * Classification follows precision_recall_fscore_support, confusion_matrix,
 * log_loss, roc_curve and roc_auc_score:
 * - A ratio whose denominator is 0 (a class never predicted: precision; a
 *   class with no actual samples: recall) is 0, as scikit-learn's default
 *   zero_division="warn" gives, and a bit in `warnings` records it.
 * - Macro averages run over the classes that occur in `actual` or `pred`
 *   (scikit-learn's default labels=unique_labels(y_true, y_pred)); classes of
 *   the model that occur in neither are listed with support 0 and
 *   present = 0. Weighted averages weight by support. F1 is
 *   2pr / (p + r) from the rounded p and r (0 when p + r == 0).
 * - Log loss treats the k probability columns as labels=range(k), clips
 *   each probability to [eps, 1-eps] with eps = DBL_EPSILON (scikit-learn
 *   1.2's eps="auto" for float64), renormalises each row, and averages
 *   -log(p[actual]). It needs k >= 2; otherwise it is NaN (warning bit).
 * - ROC: per class c a one-vs-rest curve of proba[:, c] against
 *   (actual == c), with tied scores merged into one point and collinear
 *   points dropped (roc_curve's drop_intermediate=True), starting at (0, 0)
 *   with threshold max+1. Its AUC is the trapezoid area, which equals the
 *   Mann-Whitney statistic with average ranks for ties. roc_auc is the AUC
 *   of class 1 when k == 2 (roc_auc_score on proba[:, 1]) and the mean of
 *   the per-class AUCs when k > 2 (multi_class="ovr", average="macro").
 *   A class with no actual positives or no actual negatives has an
 *   undefined AUC: NaN and a warning bit, where scikit-learn would raise.
 *   The macro mean then runs over the defined classes only (NaN if none).
 *
 * Regression follows mean_absolute_error, mean_squared_error, r2_score,
 * max_error and explained_variance_score (force_finite=True: a constant
 * target gives 1.0 for perfect predictions and 0.0 otherwise; R² of fewer
 * than two samples is NaN, as scikit-learn returns). "Constant" is tested
 * exactly, where scikit-learn's rounded mean can miss it (it reports
 * -1.7e31 for actual {0.1, 0.1, 0.1}, predicted {0.1, 0.1, 0.2}; we say 0).
 *
 * Ownership: the caller owns the result structs (on the stack is fine);
 * mp_metrics_classify allocates the arrays inside mp_class_metrics and
 * mp_class_metrics_free releases them (safe on a zeroed or already-freed
 * struct). mp_reg_metrics holds no pointers. No global state; all functions
 * are thread-safe. */
#ifndef MP_ML_METRICS_H
#define MP_ML_METRICS_H

#include <stddef.h>

#include "core/buf.h"
#include "core/error.h"

/* Bits of mp_class_metrics.warnings / mp_reg_metrics.warnings. */
enum {
    MP_METRIC_WARN_PRECISION = 1u << 0, /* a present class was never predicted */
    MP_METRIC_WARN_RECALL = 1u << 1,    /* a predicted class has no actual samples */
    MP_METRIC_WARN_AUC = 1u << 2,       /* some class has an undefined (NaN) AUC */
    MP_METRIC_WARN_LOG_LOSS = 1u << 3,  /* log loss undefined (k < 2) */
    MP_METRIC_WARN_R2 = 1u << 4,        /* R² undefined (fewer than two samples) */
};

/* One one-vs-rest ROC curve. fpr/tpr/thresholds hold npoints values; when
 * the class has no actual negatives fpr is all NaN, when it has no actual
 * positives tpr is all NaN (as roc_curve returns), and auc is NaN. */
typedef struct mp_roc_curve {
    size_t npoints;
    double *fpr;
    double *tpr;
    double *thresholds; /* decreasing; thresholds[0] = max score + 1 */
    double auc;
    size_t positives, negatives;
} mp_roc_curve;

typedef struct mp_class_metrics {
    size_t n; /* samples */
    size_t k; /* classes */
    size_t correct;
    double accuracy;
    /* Per class, k entries each. */
    double *precision;
    double *recall;
    double *f1;
    size_t *support;    /* actual samples of the class */
    size_t *predicted;  /* samples predicted as the class */
    unsigned char *present; /* 1 if the class occurs in actual or pred */
    size_t npresent;
    double macro_precision, macro_recall, macro_f1;
    double weighted_precision, weighted_recall, weighted_f1;
    /* k*k counts, row-major: confusion[actual * k + predicted]. */
    size_t *confusion;
    /* Only when probabilities were given (has_proba = 1); else NaN/NULL. */
    int has_proba;
    double log_loss;
    double roc_auc;
    mp_roc_curve *roc; /* k curves, one per class (binary: plot roc[1]) */
    unsigned warnings; /* MP_METRIC_WARN_* bits */
} mp_class_metrics;

typedef struct mp_reg_metrics {
    size_t n;
    double mae;
    double mse;
    double rmse;
    double r2;
    double max_error;
    double explained_variance;
    unsigned warnings; /* MP_METRIC_WARN_R2 */
} mp_reg_metrics;

/* Computes classification metrics for n >= 1 samples over k >= 1 classes.
 * actual and pred hold class indexes in [0, k). proba (may be NULL) holds
 * n*k row-major probabilities, each finite and in [0, 1]. On success *out
 * is filled (free with mp_class_metrics_free); on error *out is left
 * zeroed and nothing needs freeing. Probabilities up to 1 + 1e-9 are
 * accepted (rounding); rows need not sum to 1 (log loss renormalises). Errors: MP_EINVAL (n or k is 0, NULL
 * arrays), MP_EINPUT (an index out of range or a bad probability, naming
 * the row), MP_ENOMEM. */
int mp_metrics_classify(size_t n, size_t k, const int *actual, const int *pred,
                        const double *proba, mp_class_metrics *out, mp_error *e);
void mp_class_metrics_free(mp_class_metrics *m);

/* Computes regression metrics for n >= 1 finite pairs. Errors: MP_EINVAL
 * (n is 0, NULL arrays), MP_EINPUT (a non-finite value, naming the row). */
int mp_metrics_regress(size_t n, const double *actual, const double *pred, mp_reg_metrics *out,
                       mp_error *e);

/* Appends one JSON object (no trailing newline). labels holds m->k class
 * names (NULL: the class indexes are used). NaN and infinities are written
 * as null. Keys, in order:
 *   "task":"classification", "n", "accuracy", "macro_precision",
 *   "macro_recall", "macro_f1", "weighted_precision", "weighted_recall",
 *   "weighted_f1", ["log_loss", "roc_auc" when has_proba],
 *   "classes":[{"label","precision","recall","f1","support"[,"roc_auc"]}],
 *   "confusion_matrix":{"labels":[...],"matrix":[[...]]},
 *   "warnings":[short strings, one per warning bit set]. */
void mp_class_metrics_json(const mp_class_metrics *m, const char *const *labels, mp_buf *out);
/* "task":"regression", "n", "mae", "mse", "rmse", "r2", "max_error",
 * "explained_variance", "warnings". */
void mp_reg_metrics_json(const mp_reg_metrics *r, mp_buf *out);

/* Human-readable report ("How did we do?"): accuracy, log loss and AUC
 * lines, a per-class table with macro and weighted averages, and the
 * confusion matrix with class labels; ends with a newline. Control
 * characters in labels are shown as '?'. */
void mp_class_metrics_text(const mp_class_metrics *m, const char *const *labels, mp_buf *out);
void mp_reg_metrics_text(const mp_reg_metrics *r, mp_buf *out);

/* The JSON strings for warning bits (e.g. "precision ill-defined: a class
 * was never predicted; set to 0"), or NULL for an unknown bit. */
const char *mp_metric_warning_text(unsigned bit);

/* Appends s as a JSON string literal (quotes included), for the CLI too.
 * Valid UTF-8 passes through; a byte that is not part of valid UTF-8 (a
 * Latin-1 label, say) becomes \ufffd, so the output is always valid JSON. */
void mp_metrics_json_string(mp_buf *out, const char *s);

#endif
