/* Metrics against scikit-learn 1.2.1. The expected values were produced by
 * running sklearn.metrics on the same inputs (precision_recall_fscore_support,
 * confusion_matrix, log_loss, roc_curve, roc_auc_score, r2_score, ...) and
 * pasted here, so the test needs no Python. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ml/metrics.h"
#include "test.h"

#define TOL 1e-12

/* Case A: three classes with probabilities, tied scores within columns. */
static const int a_actual[] = {0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2};
static const int a_pred[] = {0, 0, 1, 0, 1, 1, 2, 1, 0, 2, 2, 1};
static const double a_proba[] = {
    .8, .1, .1, .6, .2, .2, .3, .5, .2, .7, .3, 0,  .2, .6, .2, .1, .8, .1,
    .2, .3, .5, .3, .4, .3, .5, .4, .1, .1, .2, .7, 0,  .4, .6, .2, .6, .2,
};

static void test_multiclass_with_proba(void)
{
    mp_class_metrics m;
    mp_error e = {0};
    REQUIRE(mp_metrics_classify(12, 3, a_actual, a_pred, a_proba, &m, &e) == 0);
    CHECK(m.n == 12 && m.k == 3 && m.correct == 8);
    CHECK_NEAR(m.accuracy, 0.6666666666666666, TOL);
    const double prf[3] = {0.75, 0.6, 0.6666666666666666};
    const size_t sup[3] = {4, 5, 3};
    for (int c = 0; c < 3; c++) {
        CHECK_NEAR(m.precision[c], prf[c], TOL);
        CHECK_NEAR(m.recall[c], prf[c], TOL);
        CHECK_NEAR(m.f1[c], prf[c], TOL);
        CHECK(m.support[c] == sup[c]);
        CHECK(m.present[c] == 1);
    }
    CHECK_NEAR(m.macro_precision, 0.6722222222222222, TOL);
    CHECK_NEAR(m.macro_recall, 0.6722222222222222, TOL);
    CHECK_NEAR(m.macro_f1, 0.6722222222222222, TOL);
    CHECK_NEAR(m.weighted_precision, 0.6666666666666666, TOL);
    CHECK_NEAR(m.weighted_f1, 0.6666666666666666, TOL);
    const size_t cm[9] = {3, 1, 0, 1, 3, 1, 0, 1, 2};
    for (int i = 0; i < 9; i++)
        CHECK(m.confusion[i] == cm[i]);
    CHECK(m.warnings == 0);

    REQUIRE(m.has_proba);
    CHECK_NEAR(m.log_loss, 0.7118399038865116, TOL);
    CHECK_NEAR(m.roc_auc, 0.8554508377425044, TOL);
    CHECK_NEAR(m.roc[0].auc, 0.953125, TOL);
    CHECK_NEAR(m.roc[1].auc, 0.7428571428571429, TOL);
    CHECK_NEAR(m.roc[2].auc, 0.8703703703703703, TOL);

    /* roc_curve(y == 0, proba[:, 0]) */
    const double f0[] = {0.0, 0.0, 0.0, 0.125, 0.25, 0.625, 0.875, 1.0};
    const double t0[] = {0.0, 0.25, 0.75, 0.75, 1.0, 1.0, 1.0, 1.0};
    const double h0[] = {1.8, 0.8, 0.6, 0.5, 0.3, 0.2, 0.1, 0.0};
    REQUIRE(m.roc[0].npoints == 8);
    for (int i = 0; i < 8; i++) {
        CHECK_NEAR(m.roc[0].fpr[i], f0[i], TOL);
        CHECK_NEAR(m.roc[0].tpr[i], t0[i], TOL);
        CHECK_NEAR(m.roc[0].thresholds[i], h0[i], TOL);
    }
    CHECK(m.roc[0].positives == 4 && m.roc[0].negatives == 8);
    /* roc_curve(y == 2, proba[:, 2]): the point at score 0.5 is collinear
     * and dropped, as drop_intermediate does. */
    const double f2[] = {0.0, 0.0, 0.0, 0.2222222222222222, 0.5555555555555556,
                         0.8888888888888888, 1.0};
    const double t2[] = {0.0, 0.3333333333333333, 0.6666666666666666, 0.6666666666666666,
                         1.0, 1.0, 1.0};
    const double h2[] = {1.7, 0.7, 0.6, 0.3, 0.2, 0.1, 0.0};
    REQUIRE(m.roc[2].npoints == 7);
    for (int i = 0; i < 7; i++) {
        CHECK_NEAR(m.roc[2].fpr[i], f2[i], TOL);
        CHECK_NEAR(m.roc[2].tpr[i], t2[i], TOL);
        CHECK_NEAR(m.roc[2].thresholds[i], h2[i], TOL);
    }
    mp_class_metrics_free(&m);
    mp_class_metrics_free(&m); /* idempotent */
}

static void test_binary_ties(void)
{
    const int actual[] = {0, 0, 1, 1, 0, 1, 0, 1, 1, 0};
    const double s1[] = {.1, .4, .35, .8, .4, .4, .2, .9, .1, .65};
    int pred[10];
    double proba[20];
    for (int i = 0; i < 10; i++) {
        pred[i] = s1[i] >= .5;
        proba[2 * i] = 1 - s1[i];
        proba[2 * i + 1] = s1[i];
    }
    mp_class_metrics m;
    REQUIRE(mp_metrics_classify(10, 2, actual, pred, proba, &m, NULL) == 0);
    CHECK_NEAR(m.accuracy, 0.6, TOL);
    CHECK_NEAR(m.precision[0], 0.5714285714285714, TOL);
    CHECK_NEAR(m.precision[1], 0.6666666666666666, TOL);
    CHECK_NEAR(m.recall[0], 0.8, TOL);
    CHECK_NEAR(m.recall[1], 0.4, TOL);
    CHECK_NEAR(m.f1[0], 0.6666666666666666, TOL);
    CHECK_NEAR(m.f1[1], 0.5, TOL);
    /* Three samples tie at 0.4 (one positive): trapezoid = average rank. */
    CHECK_NEAR(m.roc_auc, 0.62, TOL);
    CHECK_NEAR(m.log_loss, 0.699717945534161, TOL);
    const double f[] = {0.0, 0.0, 0.0, 0.2, 0.6, 0.6, 0.8, 1.0};
    const double t[] = {0.0, 0.2, 0.4, 0.4, 0.6, 0.8, 0.8, 1.0};
    const double h[] = {1.9, 0.9, 0.8, 0.65, 0.4, 0.35, 0.2, 0.1};
    REQUIRE(m.roc[1].npoints == 8);
    for (int i = 0; i < 8; i++) {
        CHECK_NEAR(m.roc[1].fpr[i], f[i], TOL);
        CHECK_NEAR(m.roc[1].tpr[i], t[i], TOL);
        CHECK_NEAR(m.roc[1].thresholds[i], h[i], TOL);
    }
    /* The complementary column ranks in reverse: the same AUC. */
    CHECK_NEAR(m.roc[0].auc, 0.62, TOL);
    mp_class_metrics_free(&m);
}

/* Class 2 is never predicted, class 1 never occurs, class 3 is in neither:
 * macro averages run over classes 0..2 only (labels=unique_labels). */
static void test_zero_division_and_absent_class(void)
{
    const int actual[] = {0, 0, 2, 2, 0};
    const int pred[] = {0, 1, 0, 0, 1};
    mp_class_metrics m;
    REQUIRE(mp_metrics_classify(5, 4, actual, pred, NULL, &m, NULL) == 0);
    CHECK_NEAR(m.accuracy, 0.2, TOL);
    CHECK_NEAR(m.precision[0], 0.3333333333333333, TOL);
    CHECK_NEAR(m.recall[0], 0.3333333333333333, TOL);
    CHECK(m.precision[1] == 0 && m.recall[1] == 0 && m.f1[1] == 0);
    CHECK(m.precision[2] == 0 && m.recall[2] == 0 && m.f1[2] == 0);
    CHECK(m.present[0] && m.present[1] && m.present[2] && !m.present[3]);
    CHECK(m.npresent == 3);
    CHECK(m.support[3] == 0 && m.predicted[3] == 0);
    CHECK_NEAR(m.macro_precision, 0.1111111111111111, TOL);
    CHECK_NEAR(m.macro_recall, 0.1111111111111111, TOL);
    CHECK_NEAR(m.macro_f1, 0.1111111111111111, TOL);
    CHECK_NEAR(m.weighted_precision, 0.2, TOL);
    CHECK_NEAR(m.weighted_recall, 0.2, TOL);
    CHECK_NEAR(m.weighted_f1, 0.2, TOL);
    CHECK(m.warnings == (MP_METRIC_WARN_PRECISION | MP_METRIC_WARN_RECALL));
    CHECK(!m.has_proba && isnan(m.log_loss) && isnan(m.roc_auc) && m.roc == NULL);
    mp_class_metrics_free(&m);
}

static void test_log_loss_clipping(void)
{
    /* The second row gives its true class probability 0: clipped to
     * DBL_EPSILON, then renormalised (scikit-learn 1.2 eps="auto"). */
    const int actual[] = {0, 1, 2};
    const int pred[] = {0, 0, 2};
    const double proba[] = {1, 0, 0, 1, 0, 0, 0, 0, 1};
    mp_class_metrics m;
    REQUIRE(mp_metrics_classify(3, 3, actual, pred, proba, &m, NULL) == 0);
    CHECK_NEAR(m.log_loss, 12.014551129705717, 1e-9);
    /* Class 1's scores are all tied: one point after (0, 0), AUC 0.5. */
    CHECK_NEAR(m.roc[1].auc, 0.5, TOL);
    CHECK(m.roc[1].npoints == 2);
    mp_class_metrics_free(&m);
}

static void test_undefined_auc(void)
{
    /* Class 2 is in the model but never actual: its AUC is NaN, flagged,
     * and the macro mean covers classes 0 and 1 only. */
    const int actual[] = {0, 1, 0, 1, 1, 0};
    const int pred[] = {0, 1, 2, 2, 0, 0};
    const double proba[] = {.7, .2, .1, .2, .5, .3, .3, .3, .4,
                            .1, .3, .6, .5, .4, .1, .6, .1, .3};
    mp_class_metrics m;
    REQUIRE(mp_metrics_classify(6, 3, actual, pred, proba, &m, NULL) == 0);
    CHECK_NEAR(m.roc[0].auc, 0.888888888888889, TOL);
    CHECK_NEAR(m.roc[1].auc, 0.9444444444444444, TOL);
    CHECK(isnan(m.roc[2].auc));
    CHECK(m.roc[2].positives == 0 && m.roc[2].negatives == 6);
    CHECK_NEAR(m.roc_auc, 0.9166666666666667, TOL);
    CHECK(m.warnings & MP_METRIC_WARN_AUC);
    CHECK(m.warnings & MP_METRIC_WARN_RECALL);
    CHECK_NEAR(m.log_loss, 0.8141473481317826, TOL);
    /* roc_curve gives fpr [0, 1/6, 1/3, 1] and an all-NaN tpr here. */
    REQUIRE(m.roc[2].npoints == 4);
    CHECK_NEAR(m.roc[2].fpr[1], 0.16666666666666666, TOL);
    CHECK_NEAR(m.roc[2].thresholds[0], 1.6, TOL);
    CHECK(isnan(m.roc[2].tpr[3]));

    /* The JSON writes the NaN as null and stays parseable. */
    mp_buf b = {0};
    mp_class_metrics_json(&m, NULL, &b);
    REQUIRE(!b.oom);
    json_error_t je;
    json_t *j = json_loads(b.data, 0, &je);
    REQUIRE(j != NULL);
    json_t *c2 = json_array_get(json_object_get(j, "classes"), 2);
    CHECK(json_is_null(json_object_get(c2, "roc_auc")));
    CHECK_STR_CONTAINS(json_string_value(json_object_get(c2, "label")), "2");
    CHECK(json_array_size(json_object_get(j, "warnings")) == 2);
    json_decref(j);
    mp_buf_free(&b);
    mp_class_metrics_free(&m);

    /* Binary with one actual class: undefined AUC, no crash. */
    const int one[] = {0, 0, 0};
    const double p2[] = {.9, .1, .4, .6, .5, .5};
    REQUIRE(mp_metrics_classify(3, 2, one, one, p2, &m, NULL) == 0);
    CHECK(isnan(m.roc_auc));
    CHECK(m.warnings & MP_METRIC_WARN_AUC);
    CHECK_NEAR(m.accuracy, 1.0, TOL);
    mp_class_metrics_free(&m);

    /* A single class: no log loss, no AUC, still an accuracy. */
    const double p1[] = {1, 1, 1};
    REQUIRE(mp_metrics_classify(3, 1, one, one, p1, &m, NULL) == 0);
    CHECK(isnan(m.log_loss) && isnan(m.roc_auc));
    CHECK(m.warnings & MP_METRIC_WARN_LOG_LOSS);
    CHECK_NEAR(m.macro_f1, 1.0, TOL);
    mp_class_metrics_free(&m);
}

static void test_classify_bad_input(void)
{
    mp_class_metrics m;
    mp_error e = {0};
    const int ok[] = {0, 1, 1};
    const int bad[] = {0, 3, 1};
    const int neg[] = {0, -1, 1};
    CHECK(mp_metrics_classify(0, 2, ok, ok, NULL, &m, &e) == MP_EINVAL);
    CHECK(mp_metrics_classify(3, 0, ok, ok, NULL, &m, &e) == MP_EINVAL);
    CHECK(mp_metrics_classify(3, 2, NULL, ok, NULL, &m, &e) == MP_EINVAL);
    CHECK(mp_metrics_classify(3, 2, ok, ok, NULL, NULL, &e) == MP_EINVAL);
    CHECK(mp_metrics_classify(3, 2, bad, ok, NULL, &m, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "row 1");
    CHECK_STR_CONTAINS(e.msg, "actual class 3");
    CHECK(mp_metrics_classify(3, 2, ok, neg, NULL, &m, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "predicted class -1");
    CHECK(m.precision == NULL && m.confusion == NULL); /* left zeroed */
    double p[6] = {.5, .5, .5, .5, .5, .5};
    p[3] = NAN;
    CHECK(mp_metrics_classify(3, 2, ok, ok, p, &m, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "row 1: probability of class 1");
    p[3] = -0.1;
    CHECK(mp_metrics_classify(3, 2, ok, ok, p, &m, &e) == MP_EINPUT);
    p[3] = 1.5;
    CHECK(mp_metrics_classify(3, 2, ok, ok, p, &m, &e) == MP_EINPUT);
    p[3] = INFINITY;
    CHECK(mp_metrics_classify(3, 2, ok, ok, p, &m, &e) == MP_EINPUT);
    /* Free on a struct that was never filled is harmless. */
    mp_class_metrics z = {0};
    mp_class_metrics_free(&z);
    mp_class_metrics_free(NULL);
}

static void test_class_json_and_text(void)
{
    mp_class_metrics m;
    REQUIRE(mp_metrics_classify(12, 3, a_actual, a_pred, a_proba, &m, NULL) == 0);
    const char *labels[] = {"setosa", "ver\"si\\color\n", "virginica"};
    mp_buf b = {0};
    mp_class_metrics_json(&m, labels, &b);
    REQUIRE(!b.oom);
    CHECK(b.data[0] == '{' && b.data[b.len - 1] == '}');
    const char *head = "{\"task\":\"classification\",\"n\":12,\"accuracy\":";
    CHECK(strncmp(b.data, head, strlen(head)) == 0);
    json_error_t je;
    json_t *j = json_loads(b.data, 0, &je);
    REQUIRE(j != NULL);
    CHECK_NEAR(json_real_value(json_object_get(j, "accuracy")), 0.6666666666666666, TOL);
    CHECK_NEAR(json_number_value(json_object_get(j, "macro_f1")), 0.6722222222222222, TOL);
    CHECK_NEAR(json_number_value(json_object_get(j, "log_loss")), 0.7118399038865116, TOL);
    CHECK_NEAR(json_number_value(json_object_get(j, "roc_auc")), 0.8554508377425044, TOL);
    CHECK(json_object_get(j, "macro_precision") && json_object_get(j, "macro_recall") &&
          json_object_get(j, "weighted_f1"));
    json_t *classes = json_object_get(j, "classes");
    REQUIRE(json_array_size(classes) == 3);
    json_t *c1 = json_array_get(classes, 1);
    CHECK(strcmp(json_string_value(json_object_get(c1, "label")), "ver\"si\\color\n") == 0);
    CHECK(json_integer_value(json_object_get(c1, "support")) == 5);
    CHECK_NEAR(json_number_value(json_object_get(c1, "precision")), 0.6, TOL);
    json_t *cm = json_object_get(j, "confusion_matrix");
    CHECK(strcmp(json_string_value(json_array_get(json_object_get(cm, "labels"), 2)),
                 "virginica") == 0);
    json_t *row1 = json_array_get(json_object_get(cm, "matrix"), 1);
    CHECK(json_integer_value(json_array_get(row1, 0)) == 1);
    CHECK(json_integer_value(json_array_get(row1, 1)) == 3);
    CHECK(json_integer_value(json_array_get(row1, 2)) == 1);
    CHECK(json_array_size(json_object_get(j, "warnings")) == 0);
    json_decref(j);

    /* Without probabilities: no log_loss / roc_auc keys at all. */
    mp_class_metrics m2;
    REQUIRE(mp_metrics_classify(12, 3, a_actual, a_pred, NULL, &m2, NULL) == 0);
    mp_buf_reset(&b);
    mp_class_metrics_json(&m2, labels, &b);
    CHECK(strstr(b.data, "log_loss") == NULL && strstr(b.data, "roc_auc") == NULL);

    mp_buf_reset(&b);
    const char *plain[] = {"setosa", "versicolor", "virginica"};
    mp_class_metrics_text(&m, plain, &b);
    REQUIRE(!b.oom);
    CHECK_STR_CONTAINS(b.data, "How did we do?");
    CHECK_STR_CONTAINS(b.data, "accuracy   0.6667  (8 of 12 correct)");
    CHECK_STR_CONTAINS(b.data, "log loss   0.7118");
    CHECK_STR_CONTAINS(b.data, "ROC AUC    0.8555  (one-vs-rest, macro average)");
    CHECK_STR_CONTAINS(b.data, "  versicolor       0.6000     0.6000     0.6000          5     0.7429\n");
    CHECK_STR_CONTAINS(b.data, "  macro avg        0.6722     0.6722     0.6722         12\n");
    CHECK_STR_CONTAINS(b.data, "  actual \\ predicted  setosa  versicolor  virginica\n");
    CHECK_STR_CONTAINS(b.data, "  versicolor               1           3          1\n");
    CHECK(b.data[b.len - 1] == '\n');

    /* A label with a newline cannot break the table's lines. */
    mp_buf_reset(&b);
    mp_class_metrics_text(&m2, labels, &b);
    CHECK_STR_CONTAINS(b.data, "ver\"si\\color?");
    CHECK(strstr(b.data, "color\n") == NULL);
    mp_buf_free(&b);
    mp_class_metrics_free(&m);
    mp_class_metrics_free(&m2);
}

static void test_regression(void)
{
    const double y[] = {3.0, -0.5, 2.0, 7.0, 4.25};
    const double p[] = {2.5, 0.0, 2.0, 8.0, 3.0};
    mp_reg_metrics r;
    REQUIRE(mp_metrics_regress(5, y, p, &r, NULL) == 0);
    CHECK(r.n == 5);
    CHECK_NEAR(r.mae, 0.65, TOL);
    CHECK_NEAR(r.mse, 0.6125, TOL);
    CHECK_NEAR(r.rmse, 0.7826237921249264, TOL);
    CHECK_NEAR(r.r2, 0.9002442996742671, TOL);
    CHECK_NEAR(r.max_error, 1.25, TOL);
    CHECK_NEAR(r.explained_variance, 0.9006514657980456, TOL);
    CHECK(r.warnings == 0);

    /* force_finite: a constant target. */
    const double c2[] = {2, 2, 2}, c3[] = {2, 2, 3};
    REQUIRE(mp_metrics_regress(3, c2, c2, &r, NULL) == 0);
    CHECK(r.r2 == 1.0 && r.explained_variance == 1.0 && r.mae == 0);
    REQUIRE(mp_metrics_regress(3, c2, c3, &r, NULL) == 0);
    CHECK(r.r2 == 0.0 && r.explained_variance == 0.0);
    CHECK_NEAR(r.max_error, 1.0, TOL);
    /* The mean of {0.1, 0.1, 0.1} computed as sum/n misses 0.1 by an ulp;
     * scikit-learn then divides by that rounding residue and reports
     * -1.7e31. The intended force_finite result is 0. */
    const double t[] = {0.1, 0.1, 0.1}, tp[] = {0.1, 0.1, 0.2};
    REQUIRE(mp_metrics_regress(3, t, tp, &r, NULL) == 0);
    CHECK(r.r2 == 0.0);
    /* A constant offset: R2 penalises it, explained variance does not. */
    const double u[] = {1, 2, 3}, up[] = {2, 3, 4};
    REQUIRE(mp_metrics_regress(3, u, up, &r, NULL) == 0);
    CHECK_NEAR(r.r2, -0.5, TOL);
    CHECK(r.explained_variance == 1.0);
    /* One sample: R2 is NaN (scikit-learn warns and returns nan). */
    const double one[] = {1.0}, two[] = {2.0};
    REQUIRE(mp_metrics_regress(1, one, two, &r, NULL) == 0);
    CHECK(isnan(r.r2));
    CHECK(r.warnings & MP_METRIC_WARN_R2);
    mp_buf b = {0};
    mp_reg_metrics_json(&r, &b);
    json_error_t je;
    json_t *j = json_loads(b.data, 0, &je);
    REQUIRE(j != NULL);
    CHECK(json_is_null(json_object_get(j, "r2")));
    CHECK_NEAR(json_number_value(json_object_get(j, "mae")), 1.0, TOL);
    CHECK(strcmp(json_string_value(json_object_get(j, "task")), "regression") == 0);
    json_decref(j);
    mp_buf_free(&b);
}

static void test_regression_json_text_and_errors(void)
{
    const double y[] = {3.0, -0.5, 2.0, 7.0, 4.25};
    const double p[] = {2.5, 0.0, 2.0, 8.0, 3.0};
    mp_reg_metrics r;
    mp_error e = {0};
    REQUIRE(mp_metrics_regress(5, y, p, &r, &e) == 0);
    mp_buf b = {0};
    mp_reg_metrics_json(&r, &b);
    CHECK(strcmp(b.data, "{\"task\":\"regression\",\"n\":5,\"mae\":0.65,\"mse\":0.6125,"
                         "\"rmse\":0.7826237921249264,\"r2\":0.9002442996742671,"
                         "\"max_error\":1.25,\"explained_variance\":0.9006514657980456,"
                         "\"warnings\":[]}") == 0);
    mp_buf_reset(&b);
    mp_reg_metrics_text(&r, &b);
    CHECK_STR_CONTAINS(b.data, "How did we do?");
    CHECK_STR_CONTAINS(b.data, "  MAE                 0.65\n");
    CHECK_STR_CONTAINS(b.data, "  RMSE                0.782624\n");
    CHECK_STR_CONTAINS(b.data, "  R2                  0.900244\n");
    mp_buf_free(&b);

    const double bad[] = {1, NAN, 3};
    CHECK(mp_metrics_regress(3, bad, y, &r, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "row 1: actual value");
    CHECK(mp_metrics_regress(3, y, bad, &r, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "row 1: predicted value");
    const double inf[] = {INFINITY};
    CHECK(mp_metrics_regress(1, inf, y, &r, &e) == MP_EINPUT);
    CHECK(mp_metrics_regress(0, y, p, &r, &e) == MP_EINVAL);
    CHECK(mp_metrics_regress(3, NULL, p, &r, &e) == MP_EINVAL);
    CHECK(mp_metrics_regress(3, y, p, NULL, &e) == MP_EINVAL);
}

static void test_json_string_escapes(void)
{
    mp_buf b = {0};
    mp_metrics_json_string(&b, "a\"b\\c\n\t\x01\x7f" "\xc3\xa9");
    CHECK(strcmp(b.data, "\"a\\\"b\\\\c\\n\\t\\u0001\\u007f\xc3\xa9\"") == 0);
    /* Latin-1 "\xe9", a truncated sequence, an overlong '/', a surrogate:
     * each invalid byte becomes U+FFFD; a 4-byte emoji passes. */
    mp_buf_reset(&b);
    mp_metrics_json_string(&b, "caf\xe9|\xe2\x82|\xc0\xaf|\xed\xa0\x80|\xf0\x9f\x98\x80");
    CHECK(strcmp(b.data, "\"caf\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd|"
                         "\\ufffd\\ufffd\\ufffd|\xf0\x9f\x98\x80\"") == 0);
    json_error_t je;
    json_t *j = json_loads(b.data, JSON_DECODE_ANY, &je);
    CHECK(j != NULL);
    json_decref(j);
    mp_buf_free(&b);
}

/* A larger case: scores with many ties, checked against the Mann-Whitney
 * form of the AUC computed directly (average ranks for ties). */
static void test_auc_equals_rank_statistic(void)
{
    enum { N = 400 };
    static int actual[N], pred[N];
    static double proba[2 * N];
    unsigned s = 12345;
    for (int i = 0; i < N; i++) {
        s = s * 1103515245u + 12345u;
        actual[i] = (int)((s >> 16) & 1);
        s = s * 1103515245u + 12345u;
        /* 11 distinct score levels, shifted up for positives. */
        int lvl = (int)((s >> 16) % 8) + (actual[i] ? 3 : 0);
        proba[2 * i + 1] = lvl / 10.0;
        proba[2 * i] = 1 - lvl / 10.0;
        pred[i] = lvl >= 5;
    }
    double num = 0;
    size_t npos = 0, nneg = 0;
    for (int i = 0; i < N; i++) {
        if (!actual[i])
            continue;
        npos++;
        for (int j = 0; j < N; j++) {
            if (actual[j])
                continue;
            double a = proba[2 * i + 1], b = proba[2 * j + 1];
            num += a > b ? 1.0 : a == b ? 0.5 : 0.0;
        }
    }
    for (int i = 0; i < N; i++)
        nneg += !actual[i];
    double expect = num / ((double)npos * (double)nneg);
    mp_class_metrics m;
    REQUIRE(mp_metrics_classify(N, 2, actual, pred, proba, &m, NULL) == 0);
    CHECK_NEAR(m.roc_auc, expect, 1e-12);
    CHECK(m.roc[1].positives == npos && m.roc[1].negatives == nneg);
    CHECK(m.roc[1].npoints <= 12);
    CHECK(m.roc[1].fpr[m.roc[1].npoints - 1] == 1.0 && m.roc[1].tpr[m.roc[1].npoints - 1] == 1.0);
    mp_class_metrics_free(&m);
}

int main(void)
{
    RUN(test_multiclass_with_proba);
    RUN(test_binary_ties);
    RUN(test_zero_division_and_absent_class);
    RUN(test_log_loss_clipping);
    RUN(test_undefined_auc);
    RUN(test_classify_bad_input);
    RUN(test_class_json_and_text);
    RUN(test_regression);
    RUN(test_regression_json_text_and_errors);
    RUN(test_json_string_escapes);
    RUN(test_auc_equals_rank_statistic);
    return TEST_SUMMARY();
}
