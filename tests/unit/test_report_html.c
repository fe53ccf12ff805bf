/* The HTML report: expected elements, escaping, counts, the training
 * curves, and a tag-balance check that every element opened is closed in
 * order. */
#include <stdlib.h>
#include <string.h>

#include "ml/metrics.h"
#include "ml/report_html.h"
#include "test.h"

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0, len = strlen(needle);
    for (const char *p = strstr(hay, needle); p; p = strstr(p + len, needle))
        n++;
    return n;
}

/* Walks the tags: every non-void element must be closed in order. Returns
 * 1 if balanced. Attribute values never hold '>' in our output (they are
 * escaped), so a tag ends at the first '>'. */
static int tags_balanced(const char *html)
{
    static const char *const voids[] = {"meta", "br", "hr", "img", "link", "input", NULL};
    char stack[256][16];
    int depth = 0;
    for (const char *p = html; (p = strchr(p, '<')) != NULL;) {
        const char *end = strchr(p, '>');
        if (!end)
            return 0;
        if (p[1] == '!') { /* doctype */
            p = end + 1;
            continue;
        }
        int closing = p[1] == '/';
        const char *n = p + 1 + closing;
        size_t len = strcspn(n, " \t\n/>");
        if (len == 0 || len >= 16)
            return 0;
        char name[16];
        memcpy(name, n, len);
        name[len] = '\0';
        int selfclose = end[-1] == '/';
        int isvoid = 0;
        for (int i = 0; voids[i]; i++)
            isvoid |= strcmp(voids[i], name) == 0;
        if (closing) {
            if (depth == 0 || strcmp(stack[depth - 1], name) != 0) {
                fprintf(stderr, "unbalanced </%s> at offset %ld\n", name, (long)(p - html));
                return 0;
            }
            depth--;
        } else if (!selfclose && !isvoid) {
            if (depth == 256)
                return 0;
            strcpy(stack[depth++], name);
        }
        p = end + 1;
    }
    if (depth)
        fprintf(stderr, "unclosed <%s>\n", stack[depth - 1]);
    return depth == 0;
}

static void common_checks(const char *html)
{
    CHECK(strncmp(html, "<!DOCTYPE html>", 15) == 0);
    CHECK(count(html, "<svg") == count(html, "</svg>"));
    CHECK(count(html, "<svg") >= 1);
    CHECK(strstr(html, "http") == NULL);
    CHECK(strstr(html, "<script") == NULL);
    CHECK(strstr(html, "<link") == NULL);
    CHECK(strstr(html, "@import") == NULL);
    CHECK(tags_balanced(html));
    CHECK_STR_CONTAINS(html, "<style>");
    CHECK_STR_CONTAINS(html, "</html>\n");
}

static const int a_actual[] = {0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2};
static const int a_pred[] = {0, 0, 1, 0, 1, 1, 2, 1, 0, 2, 2, 1};
static const double a_proba[] = {
    .8, .1, .1, .6, .2, .2, .3, .5, .2, .7, .3, 0,  .2, .6, .2, .1, .8, .1,
    .2, .3, .5, .3, .4, .3, .5, .4, .1, .1, .2, .7, 0,  .4, .6, .2, .6, .2,
};

static void test_multiclass_report(void)
{
    mp_class_metrics m;
    REQUIRE(mp_metrics_classify(12, 3, a_actual, a_pred, a_proba, &m, NULL) == 0);
    const char *labels[] = {"setosa", "<b>&\"", "virginica"};
    const char *keys[] = {"model", "data"};
    const char *vals[] = {"iris v3 <knn>", "test.csv"};
    mp_report r = {.title = "Iris & friends", .cls = &m, .labels = labels,
                   .info_keys = keys, .info_values = vals, .ninfo = 2};
    mp_buf b = {0};
    mp_error e = {0};
    REQUIRE(mp_report_html(&r, &b, &e) == 0);
    const char *h = b.data;
    common_checks(h);
    CHECK_STR_CONTAINS(h, "<title>Iris &amp; friends</title>");
    CHECK_STR_CONTAINS(h, "<h1>Iris &amp; friends</h1>");
    CHECK_STR_CONTAINS(h, "iris v3 &lt;knn&gt;");
    /* The hostile label never appears raw, always escaped. */
    CHECK(strstr(h, "<b>") == NULL);
    CHECK(strstr(h, "&\"") == NULL);
    CHECK_STR_CONTAINS(h, "&lt;b&gt;&amp;&quot;");
    CHECK(count(h, "&lt;b&gt;&amp;&quot;") >= 4); /* table, axis labels, legend */
    /* Summary and table. */
    CHECK_STR_CONTAINS(h, "66.7%");
    CHECK_STR_CONTAINS(h, "8 of 12 correct");
    CHECK_STR_CONTAINS(h, "0.7118"); /* log loss */
    CHECK_STR_CONTAINS(h, "<td>setosa</td><td>0.7500</td><td>0.7500</td><td>0.7500</td><td>4</td>");
    CHECK_STR_CONTAINS(h, "<td>Macro average</td><td>0.6722</td>");
    /* Heat map: 9 cells with their counts, axis titles. */
    CHECK(count(h, "<rect x=") >= 9);
    CHECK_STR_CONTAINS(h, ">predicted</text>");
    CHECK_STR_CONTAINS(h, ">actual</text>");
    CHECK_STR_CONTAINS(h, "actual setosa, predicted setosa: 3 (75.0% of the row)");
    CHECK_STR_CONTAINS(h, "predicted virginica: 2 (66.7% of the row)");
    CHECK_STR_CONTAINS(h, ">3</text>");
    CHECK_STR_CONTAINS(h, ">2</text>");
    /* The darkest cell (setosa row: 3 of 4) gets white text. */
    CHECK(count(h, "style=\"fill:#fff\"") == 3);
    /* ROC: one curve per class, a legend entry each. */
    CHECK(count(h, "<polyline") == 3);
    CHECK_STR_CONTAINS(h, "ROC curves (one-vs-rest)");
    CHECK_STR_CONTAINS(h, "setosa \xc2\xb7 0.953");
    CHECK_STR_CONTAINS(h, "virginica: AUC 0.8704");
    CHECK_STR_CONTAINS(h, "stroke-dasharray"); /* the chance diagonal */
    CHECK(count(h, "<svg") == 2);
    mp_buf_free(&b);
    mp_class_metrics_free(&m);
}

static void test_binary_report_and_no_proba(void)
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
    const char *labels[] = {"healthy", "disease"};
    mp_report r = {.title = "Heart", .cls = &m, .labels = labels};
    mp_buf b = {0};
    REQUIRE(mp_report_html(&r, &b, NULL) == 0);
    common_checks(b.data);
    CHECK(count(b.data, "<polyline") == 1);
    CHECK_STR_CONTAINS(b.data, "AUC = 0.6200 (disease)");
    CHECK_STR_CONTAINS(b.data, "<div class=\"v\">0.620</div><div class=\"d\">positive class: disease<");
    CHECK_STR_CONTAINS(b.data, "<figcaption>ROC curve</figcaption>");
    /* The curve starts at the bottom-left corner and ends top-right. */
    CHECK_STR_CONTAINS(b.data, "points=\"52.0,354.0 ");
    CHECK_STR_CONTAINS(b.data, " 392.0,14.0\">");
    mp_buf_free(&b);
    mp_class_metrics_free(&m);

    /* Without probabilities: no ROC, still the heat map; labels by index. */
    REQUIRE(mp_metrics_classify(10, 2, actual, pred, NULL, &m, NULL) == 0);
    r.labels = NULL;
    REQUIRE(mp_report_html(&r, &b, NULL) == 0);
    common_checks(b.data);
    CHECK(strstr(b.data, "<polyline") == NULL);
    CHECK(strstr(b.data, "Log loss") == NULL);
    CHECK(count(b.data, "<svg") == 1);
    CHECK_STR_CONTAINS(b.data, "actual 1, predicted 0: 3 (60.0% of the row)");
    mp_buf_free(&b);
    mp_class_metrics_free(&m);
}

static void test_undefined_auc_and_notes(void)
{
    const int actual[] = {0, 1, 0, 1, 1, 0};
    const int pred[] = {0, 1, 2, 2, 0, 0};
    const double proba[] = {.7, .2, .1, .2, .5, .3, .3, .3, .4,
                            .1, .3, .6, .5, .4, .1, .6, .1, .3};
    mp_class_metrics m;
    REQUIRE(mp_metrics_classify(6, 3, actual, pred, proba, &m, NULL) == 0);
    mp_report r = {.cls = &m};
    mp_buf b = {0};
    REQUIRE(mp_report_html(&r, &b, NULL) == 0);
    common_checks(b.data);
    CHECK_STR_CONTAINS(b.data, "<title>mlpipe evaluation</title>");
    CHECK(count(b.data, "<polyline") == 2); /* class 2 has no curve */
    CHECK_STR_CONTAINS(b.data, "2 \xc2\xb7 undefined");
    CHECK_STR_CONTAINS(b.data, "<h2>Notes</h2>");
    CHECK_STR_CONTAINS(b.data, "ROC AUC is undefined");
    CHECK_STR_CONTAINS(b.data, "<td>n/a</td>");
    mp_buf_free(&b);
    mp_class_metrics_free(&m);
}

static void test_many_long_labels(void)
{
    /* 12 classes with long labels: rotated, shortened chart labels. */
    enum { K = 12, N = 48 };
    int actual[N], pred[N];
    for (int i = 0; i < N; i++) {
        actual[i] = i % K;
        pred[i] = (i % 5 == 0) ? (i + 1) % K : i % K;
    }
    char names[K][64];
    const char *labels[K];
    for (int c = 0; c < K; c++) {
        snprintf(names[c], sizeof names[c], "a rather long class label number %d", c);
        labels[c] = names[c];
    }
    mp_class_metrics m;
    REQUIRE(mp_metrics_classify(N, K, actual, pred, NULL, &m, NULL) == 0);
    mp_report r = {.cls = &m, .labels = labels};
    mp_buf b = {0};
    REQUIRE(mp_report_html(&r, &b, NULL) == 0);
    common_checks(b.data);
    CHECK_STR_CONTAINS(b.data, "rotate(-45)");
    CHECK_STR_CONTAINS(b.data, ">a rather\xe2\x80\xa6number 11<");
    CHECK_STR_CONTAINS(b.data, ">a rather\xe2\x80\xa6 number 9<");
    /* Full label kept in the table and tooltips. */
    CHECK_STR_CONTAINS(b.data, "<td>a rather long class label number 11</td>");
    CHECK(count(b.data, "<rect x=") >= (size_t)(K * K));
    mp_buf_free(&b);
    mp_class_metrics_free(&m);
}

static void test_regression_report(void)
{
    const double y[] = {3.0, -0.5, 2.0, 7.0, 4.25, NAN};
    const double p[] = {2.5, 0.0, 2.0, 8.0, 3.0, 1.0};
    mp_reg_metrics g;
    REQUIRE(mp_metrics_regress(5, y, p, &g, NULL) == 0);
    mp_report r = {.title = "Diabetes", .reg = &g, .actual = y, .pred = p, .n = 6};
    mp_buf b = {0};
    REQUIRE(mp_report_html(&r, &b, NULL) == 0);
    common_checks(b.data);
    CHECK_STR_CONTAINS(b.data, "Regression \xc2\xb7 5 samples");
    CHECK_STR_CONTAINS(b.data, "0.9002"); /* R2 */
    CHECK_STR_CONTAINS(b.data, "0.7826"); /* RMSE */
    CHECK_STR_CONTAINS(b.data, ">0.65<"); /* MAE */
    CHECK(count(b.data, "<circle") == 5);
    CHECK_STR_CONTAINS(b.data, "5 points; 1 with a missing value left out");
    CHECK_STR_CONTAINS(b.data, "y = x");
    CHECK_STR_CONTAINS(b.data, ">actual</text>");
    CHECK_STR_CONTAINS(b.data, ">predicted</text>");
    CHECK(strstr(b.data, "Confusion") == NULL);
    /* Ticks are round numbers spanning the data (-0.5 .. 8). */
    CHECK_STR_CONTAINS(b.data, ">-2</text>");
    CHECK_STR_CONTAINS(b.data, ">8</text>");
    mp_buf_free(&b);

    /* A large scatter is sampled evenly. */
    enum { N = 12000 };
    double *ya = malloc(N * sizeof *ya), *pa = malloc(N * sizeof *pa);
    REQUIRE(ya && pa);
    for (int i = 0; i < N; i++) {
        ya[i] = i * 0.01;
        pa[i] = i * 0.01 + ((i % 7) - 3) * 0.5;
    }
    mp_report big = {.actual = ya, .pred = pa, .n = N};
    REQUIRE(mp_report_html(&big, &b, NULL) == 0);
    common_checks(b.data);
    CHECK(count(b.data, "<circle") == 4000);
    CHECK_STR_CONTAINS(b.data, "4000 points (an even sample of 12000)");
    mp_buf_free(&b);
    /* All values equal: the axis still has a span. */
    for (int i = 0; i < 10; i++)
        ya[i] = pa[i] = 5;
    mp_report flat = {.actual = ya, .pred = pa, .n = 10};
    REQUIRE(mp_report_html(&flat, &b, NULL) == 0);
    common_checks(b.data);
    CHECK(strstr(b.data, ">nan") == NULL && strstr(b.data, "\"nan") == NULL);
    CHECK(strstr(b.data, "-inf") == NULL && strstr(b.data, "-nan") == NULL);
    CHECK(strstr(b.data, "\"inf") == NULL && strstr(b.data, ">inf") == NULL);
    CHECK(count(b.data, "<circle") == 10);
    mp_buf_free(&b);
    free(ya);
    free(pa);
}

static void test_bad_input(void)
{
    mp_buf b = {0};
    mp_error e = {0};
    mp_report none = {0};
    CHECK(mp_report_html(&none, &b, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "no results");
    CHECK(mp_report_html(NULL, &b, &e) == MP_EINVAL);
    CHECK(mp_report_html(&none, NULL, &e) == MP_EINVAL);
    const double y[] = {1, 2};
    mp_report half = {.actual = y, .n = 2};
    CHECK(mp_report_html(&half, &b, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "both actual and predicted");
    mp_report zero = {.actual = y, .pred = y, .n = 0};
    CHECK(mp_report_html(&zero, &b, &e) == MP_EINVAL);
    mp_class_metrics empty = {0};
    mp_report cls = {.cls = &empty};
    CHECK(mp_report_html(&cls, &b, &e) == MP_EINVAL);
    mp_report info = {.actual = y, .pred = y, .n = 2, .ninfo = 1};
    CHECK(mp_report_html(&info, &b, &e) == MP_EINVAL);
    CHECK(b.len == 0);
    mp_buf_free(&b);
}

static void test_utf8_label_shortening(void)
{
    /* 21 two-byte characters: cut on character boundaries, never inside. */
    const char *e21 = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                      "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";
    const char *labels[] = {"ok", e21};
    const int y[] = {0, 1, 1};
    mp_class_metrics m;
    REQUIRE(mp_metrics_classify(3, 2, y, y, NULL, &m, NULL) == 0);
    mp_report r = {.cls = &m, .labels = labels};
    mp_buf b = {0};
    REQUIRE(mp_report_html(&r, &b, NULL) == 0);
    /* 8 + ellipsis + 9 characters. */
    CHECK_STR_CONTAINS(b.data, ">\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                               "\xe2\x80\xa6\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                               "\xc3\xa9\xc3\xa9\xc3\xa9<");
    mp_buf_free(&b);
    mp_class_metrics_free(&m);
}

static void test_escape(void)
{
    mp_buf b = {0};
    mp_html_escape(&b, "<a href='x'>&\"\x01\xc3\xa9");
    CHECK(strcmp(b.data, "&lt;a href=&#39;x&#39;&gt;&amp;&quot;?\xc3\xa9") == 0);
    mp_buf_free(&b);
}

/* ---- training curves ---------------------------------------------------- */

/* A copy of the page's "Training" section ("" when there is none). */
static char *training_part(const char *html)
{
    const char *s = strstr(html, "<h2>Training</h2>");
    const char *end = s ? strstr(s, "</section>") : NULL;
    size_t len = s && end ? (size_t)(end - s) : 0;
    char *out = malloc(len + 1);
    if (out) {
        if (len)
            memcpy(out, s, len);
        out[len] = '\0';
    }
    return out;
}

/* The vertices of the i-th polyline (from 0) in s, or 0 when there is none. */
static size_t polyline_vertices(const char *s, size_t i)
{
    const char *p = strstr(s, "<polyline");
    for (; p && i > 0; i--)
        p = strstr(p + 1, "<polyline");
    if (!p || !(p = strstr(p, "points=\"")))
        return 0;
    p += 8;
    size_t n = 1;
    for (; *p && *p != '"'; p++)
        n += *p == ' ';
    return n;
}

/* No printf rendering of NaN or infinity anywhere a number goes (the words
 * themselves occur: "dominant-baseline", "dl.info"). */
static void no_bad_numbers(const char *h)
{
    static const char *const bad[] = {">nan", "\"nan", " nan", ",nan", "-nan", "nan,",
                                      ">inf", "\"inf\"", " inf", ",inf", "-inf", "inf,", NULL};
    for (int i = 0; bad[i]; i++)
        if (strstr(h, bad[i])) {
            fprintf(stderr, "found '%s'\n", bad[i]);
            CHECK(strstr(h, bad[i]) == NULL);
        }
}

/* A small classification result that draws no polyline of its own (no
 * probabilities: no ROC curve). */
static const int c_y[] = {0, 1, 1, 0};
static const int c_p[] = {0, 1, 0, 0};

static void test_training_curves(void)
{
    mp_class_metrics m;
    REQUIRE(mp_metrics_classify(4, 2, c_y, c_p, NULL, &m, NULL) == 0);
    const mp_report_epoch h[] = {
        {1, 0.9, 0.70, 1.0, 0.60},
        {2, 0.6, 0.85, 0.7, 0.80},
        {3, 0.5, 0.90, 0.65, 0.85},
    };
    const char *keys[] = {"model", "algorithm"};
    const char *vals[] = {"nets/<mlp>", "mlp & co"};
    mp_report r = {.cls = &m, .history = h, .nhistory = 3, .best_epoch = 3,
                   .info_keys = keys, .info_values = vals, .ninfo = 2};
    mp_buf b = {0};
    REQUIRE(mp_report_html(&r, &b, NULL) == 0);
    common_checks(b.data);
    no_bad_numbers(b.data);
    CHECK_STR_CONTAINS(b.data, "<dt>model</dt><dd>nets/&lt;mlp&gt;</dd>");
    CHECK_STR_CONTAINS(b.data, "<dd>mlp &amp; co</dd>");
    CHECK(strstr(b.data, "<mlp>") == NULL);
    char *t = training_part(b.data);
    REQUIRE(t);
    CHECK_STR_CONTAINS(t, "3 epochs \xc2\xb7 best epoch 3 \xc2\xb7 final loss 0.5 (validation 0.65)"
                          " \xc2\xb7 final accuracy 90.00% (validation 85.00%)<");
    CHECK(strstr(t, "stopped early") == NULL);
    CHECK_STR_CONTAINS(t, "<figcaption>Loss per epoch</figcaption>");
    CHECK_STR_CONTAINS(t, "<figcaption>Accuracy per epoch</figcaption>");
    CHECK(count(t, "<svg") == 2);
    /* Loss: training and validation; accuracy: the same; 3 epochs each. */
    CHECK(count(t, "<polyline") == 4);
    for (size_t i = 0; i < 4; i++)
        CHECK(polyline_vertices(t, i) == 3);
    /* Epochs 1..3 span the plot (x 68..452); loss 0.5..1 with ticks of 0.1
     * maps 1 to the top (y 34) and 0.5 to the bottom (y 254). */
    CHECK_STR_CONTAINS(t, "points=\"68.0,78.0 260.0,210.0 452.0,254.0\"><title>training loss<");
    CHECK_STR_CONTAINS(t, "points=\"68.0,34.0 260.0,166.0 452.0,188.0\"><title>validation loss<");
    CHECK_STR_CONTAINS(t, ">0.5</text>");
    CHECK_STR_CONTAINS(t, ">1</text>");
    /* Accuracy 0.6..0.9, ticks of 10%. */
    CHECK_STR_CONTAINS(t, ">60%</text>");
    CHECK_STR_CONTAINS(t, ">90%</text>");
    CHECK(strstr(t, ">100%</text>") == NULL);
    /* A marker with a tooltip per epoch and series; the legend; the axes. */
    CHECK(count(t, "<circle") == 12);
    CHECK_STR_CONTAINS(t, "<title>epoch 2: validation loss 0.7</title>");
    CHECK_STR_CONTAINS(t, "<title>epoch 3: training accuracy 90.00%</title>");
    CHECK(count(t, ">training</text>") == 2);
    CHECK(count(t, ">validation</text>") == 2);
    CHECK(count(t, ">epoch</text>") == 2);
    CHECK_STR_CONTAINS(t, ">loss</text>");
    CHECK_STR_CONTAINS(t, ">accuracy</text>");
    /* The kept epoch, dashed, at x 452 in both charts. */
    CHECK(count(t, "<line x1=\"452.0\" y1=\"34.0\" x2=\"452.0\" y2=\"254.0\" stroke=\"#616e7c\"") == 2);
    CHECK(count(t, "best epoch (3)") == 2);
    free(t);
    mp_buf_free(&b);

    /* Without validation and without accuracy (a regression network):
     * one chart, one curve, no validation legend. */
    mp_report_epoch g[3];
    for (int i = 0; i < 3; i++)
        g[i] = (mp_report_epoch){i + 1, h[i].loss, NAN, NAN, NAN};
    r.history = g;
    r.best_epoch = 0;
    r.stopped_early = 1;
    REQUIRE(mp_report_html(&r, &b, NULL) == 0);
    common_checks(b.data);
    no_bad_numbers(b.data);
    t = training_part(b.data);
    REQUIRE(t);
    CHECK_STR_CONTAINS(t, "3 epochs \xc2\xb7 stopped early \xc2\xb7 final loss 0.5<");
    CHECK(count(t, "<svg") == 1);
    CHECK(strstr(t, "Accuracy") == NULL);
    CHECK(strstr(t, "validation") == NULL);
    CHECK(strstr(t, "best epoch") == NULL);
    CHECK(count(t, "<polyline") == 1);
    CHECK(polyline_vertices(t, 0) == 3);
    CHECK(count(t, "<circle") == 3);
    free(t);
    mp_buf_free(&b);

    /* Validation accuracy alone still draws the accuracy chart. */
    g[1].val_accuracy = 0.5;
    REQUIRE(mp_report_html(&r, &b, NULL) == 0);
    t = training_part(b.data);
    REQUIRE(t);
    CHECK(count(t, "<svg") == 2);
    CHECK(count(t, ">validation</text>") == 1);
    CHECK_STR_CONTAINS(t, "final accuracy (validation) 50.00%");
    /* One value alone: a marker, no one-point line. */
    CHECK(count(t, "<polyline") == 1);
    free(t);
    mp_buf_free(&b);

    /* Without a history: no section. */
    r.nhistory = 0;
    REQUIRE(mp_report_html(&r, &b, NULL) == 0);
    CHECK(strstr(b.data, "Training") == NULL);
    mp_buf_free(&b);
    mp_class_metrics_free(&m);
}

static void test_training_one_epoch_and_flat(void)
{
    const double y[] = {1, 2, 3}, p[] = {1, 2, 4};
    mp_report_epoch one = {1, 0.5, NAN, 0.5, NAN};
    mp_report r = {.actual = y, .pred = p, .n = 3, .history = &one, .nhistory = 1, .best_epoch = 1};
    mp_buf b = {0};
    REQUIRE(mp_report_html(&r, &b, NULL) == 0);
    common_checks(b.data);
    no_bad_numbers(b.data);
    char *t = training_part(b.data);
    REQUIRE(t);
    CHECK_STR_CONTAINS(t, ">1 epoch \xc2\xb7");
    /* One point, centred: no line, a marker per series; the flat value
     * gets a span around it (0.44..0.56), so no division by zero. */
    CHECK(count(t, "<polyline") == 0);
    CHECK(count(t, "<circle") == 2);
    CHECK(count(t, "<circle cx=\"260.0\" cy=\"144.0\"") == 2);
    CHECK_STR_CONTAINS(t, ">0.44</text>");
    CHECK_STR_CONTAINS(t, ">0.56</text>");
    /* One tick on the epoch axis: 1. */
    CHECK(count(t, "text-anchor=\"middle\" font-size=\"10\">") == 1);
    CHECK_STR_CONTAINS(t, "font-size=\"10\">1</text>");
    free(t);
    mp_buf_free(&b);

    /* Flat at zero loss and 100% accuracy: axes 0..1 and 90%..100%, never
     * negative or above 100%. */
    mp_report_epoch flat[5];
    for (int i = 0; i < 5; i++)
        flat[i] = (mp_report_epoch){i + 1, 0, 1, NAN, NAN};
    r.history = flat;
    r.nhistory = 5;
    r.best_epoch = 0;
    REQUIRE(mp_report_html(&r, &b, NULL) == 0);
    common_checks(b.data);
    no_bad_numbers(b.data);
    t = training_part(b.data);
    REQUIRE(t);
    CHECK(count(t, "<polyline") == 2);
    CHECK_STR_CONTAINS(t, "points=\"68.0,254.0 164.0,254.0 260.0,254.0 356.0,254.0 452.0,254.0\"");
    CHECK_STR_CONTAINS(t, "points=\"68.0,34.0 164.0,34.0 260.0,34.0 356.0,34.0 452.0,34.0\"");
    CHECK_STR_CONTAINS(t, ">100%</text>");
    CHECK_STR_CONTAINS(t, ">90%</text>");
    CHECK(strstr(t, ">110%") == NULL);
    CHECK(strstr(t, ">-") == NULL);
    free(t);
    mp_buf_free(&b);
}

static void test_training_gaps_and_long_runs(void)
{
    const double y[] = {1, 2, 3}, p[] = {1, 2, 4};
    /* Gaps: a run of two, then two values standing alone. */
    mp_report_epoch h[6] = {
        {1, 1.0, NAN, NAN, NAN}, {2, 0.8, NAN, NAN, NAN}, {3, NAN, NAN, NAN, NAN},
        {4, 0.6, NAN, NAN, NAN}, {5, INFINITY, NAN, NAN, NAN}, {6, 0.4, NAN, NAN, NAN},
    };
    mp_report r = {.actual = y, .pred = p, .n = 3, .history = h, .nhistory = 6};
    mp_buf b = {0};
    REQUIRE(mp_report_html(&r, &b, NULL) == 0);
    common_checks(b.data);
    no_bad_numbers(b.data);
    char *t = training_part(b.data);
    REQUIRE(t);
    CHECK(count(t, "<polyline") == 1);
    CHECK(polyline_vertices(t, 0) == 2);
    CHECK(count(t, "<circle") == 4); /* few epochs: a marker per value */
    CHECK(strstr(t, "epoch 3:") == NULL);
    CHECK(strstr(t, "epoch 5:") == NULL);
    CHECK_STR_CONTAINS(t, "final loss 0.4<");
    free(t);
    mp_buf_free(&b);

    /* 300 epochs with two gaps: lines only, and a marker for the value
     * alone between the gaps. */
    enum { N = 300 };
    mp_report_epoch *many = malloc(N * sizeof *many);
    REQUIRE(many);
    for (int i = 0; i < N; i++)
        many[i] = (mp_report_epoch){i + 1, 2.0 / (i + 1), 0.5 + 0.4 * i / N, NAN, NAN};
    many[49].loss = NAN;
    many[51].loss = NAN;
    r.history = many;
    r.nhistory = N;
    REQUIRE(mp_report_html(&r, &b, NULL) == 0);
    common_checks(b.data);
    no_bad_numbers(b.data);
    t = training_part(b.data);
    REQUIRE(t);
    CHECK(count(t, "<polyline") == 3);
    CHECK(polyline_vertices(t, 0) == 49);
    CHECK(polyline_vertices(t, 1) == 248);
    CHECK(polyline_vertices(t, 2) == N); /* accuracy */
    CHECK(count(t, "<circle") == 1);
    CHECK(count(t, "<title>epoch") == 0);
    /* Round epoch ticks: 50, 100, ... 300. */
    CHECK_STR_CONTAINS(t, ">50</text>");
    CHECK_STR_CONTAINS(t, ">300</text>");
    CHECK(strstr(t, ">25</text>") == NULL);
    free(t);
    mp_buf_free(&b);
    free(many);

    /* A very long history is sampled evenly, the last epoch kept. */
    enum { BIG = 12000 };
    mp_report_epoch *big = malloc(BIG * sizeof *big);
    REQUIRE(big);
    for (int i = 0; i < BIG; i++)
        big[i] = (mp_report_epoch){i + 1, 1.0 / (i + 1), NAN, 2.0 / (i + 1), NAN};
    r.history = big;
    r.nhistory = BIG;
    REQUIRE(mp_report_html(&r, &b, NULL) == 0);
    t = training_part(b.data);
    REQUIRE(t);
    CHECK(count(t, "<polyline") == 2);
    CHECK(polyline_vertices(t, 0) == 4001);
    CHECK(polyline_vertices(t, 1) == 4001);
    CHECK(strstr(t, " 452.0,") != NULL); /* the last epoch at the right end */
    free(t);
    mp_buf_free(&b);
    free(big);
}

static void test_training_odd_epochs(void)
{
    const double y[] = {1, 2, 3}, p[] = {1, 2, 4};
    /* Epoch numbers that cannot be drawn: positions instead. */
    mp_report_epoch h[3] = {{NAN, 3, NAN, NAN, NAN}, {2, 2, NAN, NAN, NAN}, {1e308, 1, NAN, NAN, NAN}};
    mp_report r = {.actual = y, .pred = p, .n = 3, .history = h, .nhistory = 3, .best_epoch = 7};
    mp_buf b = {0};
    REQUIRE(mp_report_html(&r, &b, NULL) == 0);
    common_checks(b.data);
    no_bad_numbers(b.data);
    char *t = training_part(b.data);
    REQUIRE(t);
    CHECK(polyline_vertices(t, 0) == 3);
    CHECK_STR_CONTAINS(t, "points=\"68.0,34.0 260.0,144.0 452.0,254.0\"");
    CHECK_STR_CONTAINS(t, "<title>epoch 3: training loss 1</title>");
    /* best epoch 7 is not in the history: not marked, but named. */
    CHECK(strstr(t, "best epoch (") == NULL);
    CHECK_STR_CONTAINS(t, "best epoch 7");
    free(t);
    mp_buf_free(&b);

    /* Huge epoch numbers all alike: a unit span would vanish. */
    for (int i = 0; i < 3; i++)
        h[i].epoch = 1e20;
    REQUIRE(mp_report_html(&r, &b, NULL) == 0);
    no_bad_numbers(b.data);
    CHECK(tags_balanced(b.data));
    mp_buf_free(&b);

    /* Nothing to draw. */
    mp_report_epoch none[2] = {{1, NAN, NAN, NAN, NAN}, {2, NAN, NAN, NAN, NAN}};
    r.history = none;
    r.nhistory = 2;
    REQUIRE(mp_report_html(&r, &b, NULL) == 0);
    common_checks(b.data);
    t = training_part(b.data);
    REQUIRE(t);
    CHECK_STR_CONTAINS(t, "no loss or accuracy values");
    CHECK(strstr(t, "<svg") == NULL);
    free(t);
    mp_buf_free(&b);

    /* Epochs announced without the array. */
    mp_error e = {0};
    r.history = NULL;
    CHECK(mp_report_html(&r, &b, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "2 epochs of history");
    CHECK(b.len == 0);
    mp_buf_free(&b);
}

int main(void)
{
    RUN(test_multiclass_report);
    RUN(test_binary_report_and_no_proba);
    RUN(test_undefined_auc_and_notes);
    RUN(test_many_long_labels);
    RUN(test_regression_report);
    RUN(test_bad_input);
    RUN(test_utf8_label_shortening);
    RUN(test_escape);
    RUN(test_training_curves);
    RUN(test_training_one_epoch_and_flat);
    RUN(test_training_gaps_and_long_runs);
    RUN(test_training_odd_epochs);
    return TEST_SUMMARY();
}
