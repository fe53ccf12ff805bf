/* mlpipe eval: compare predictions with the reserved actuals, "How did we
 * do?", as a table, JSON, or an HTML page. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/strmap.h"
#include "data/table.h"
#include "ml/metrics.h"
#include "ml/report_html.h"

static const char usage[] =
    "usage: mlpipe eval --predictions PRED.csv --actual ACTUAL.csv [--json] [--report report.html]\n"
    "\n"
    "Joins predictions (id,prediction[,p_<class>...], as written by 'mlpipe predict')\n"
    "with the actual targets (id,<target>, as written by 'mlpipe split', or an IDX\n"
    "label file) by id and prints the evaluation:\n"
    "  classification: accuracy, per-class precision/recall/F1, macro averages,\n"
    "                  confusion matrix, and ROC AUC and log loss with probabilities;\n"
    "  regression:     MAE, RMSE, R2.\n"
    "\n"
    "  --json            print one JSON object instead of the table\n"
    "  --report FILE     also write a self-contained HTML page with the confusion\n"
    "                    matrix as a heat map and the ROC curve\n"
    "  --task T          classification | regression (default: inferred)\n";

static const mp_flag flags[] = {
    {"predictions", 1, 0}, {"actual", 1, 0}, {"json", 0, 0}, {"report", 1, 0}, {"task", 1, 0},
    {NULL, 0, 0},
};

/* Integer-valued numeric targets with at most this many distinct values (each
 * seen twice on average) are
 * class labels when nothing else tells. */
#define MAX_INTEGER_CLASSES 20

struct labels {
    size_t n;
    char **names;
    mp_strmap *index;
};

static int num_text(const char *s, double *v)
{
    char *end;
    *v = strtod(s, &end);
    return end != s && *end == '\0' && isfinite(*v);
}

/* Numeric labels compare by value: "1.0" and "1" are one class. */
static void canonical(const char *s, int numeric, char *out, size_t n)
{
    double v;
    if (numeric && num_text(s, &v))
        mp_format_double(out, n, v);
    else
        snprintf(out, n, "%s", s);
}

static int label_add(struct labels *l, const char *s)
{
    int i = mp_strmap_get(l->index, s);
    if (i >= 0)
        return i;
    char **nn = realloc(l->names, (l->n + 1) * sizeof *nn);
    if (!nn)
        return -1;
    l->names = nn;
    if (!(l->names[l->n] = strdup(s)) || mp_strmap_put(l->index, s, (int)l->n))
        return -1;
    return (int)l->n++;
}

static int cmp_num(const void *a, const void *b)
{
    double x = strtod(*(char *const *)a, NULL), y = strtod(*(char *const *)b, NULL);
    return (x > y) - (x < y);
}

static int cmp_text(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }


int mp_cmd_eval(int argc, char **argv)
{
    mp_args a;
    int rc = mp_args_parse(argc, argv, flags, &a, usage);
    if (rc)
        return rc;
    if (a.help) {
        fputs(usage, stdout);
        return 0;
    }
    const char *predp = mp_args_get(&a, "predictions"), *actp = mp_args_get(&a, "actual");
    const char *task = mp_args_get(&a, "task");
    if (!predp || !actp || a.npos) {
        fprintf(stderr, "mlpipe eval: --predictions and --actual are required\n%s", usage);
        return 2;
    }
    if (task && strcmp(task, "classification") && strcmp(task, "regression")) {
        fprintf(stderr, "mlpipe eval: --task '%s': expected classification or regression\n", task);
        return 2;
    }
    mp_error e = {0};
    mp_table *pt = NULL, *at = NULL;
    int *idx_labels = NULL;
    size_t nidx = 0;
    mp_strmap *by_id = NULL;
    size_t *match = NULL;
    int *ya = NULL, *yp = NULL;
    double *va = NULL, *vp = NULL, *proba = NULL;
    struct labels L = {0};
    mp_class_metrics cm = {0};
    mp_reg_metrics rm = {0};
    mp_buf out = {0}, html = {0};
    char **act_text = NULL;
    int idx_mode = 0;
    size_t nact;

    if ((rc = mp_csv_read(predp, 0, &pt, &e)))
        goto done;
    int pcol = mp_table_find(pt, "prediction");
    if (pt->ncols < 2 || pcol < 1) {
        rc = mp_error_set(&e, MP_EINPUT, "%s:1:1: expected a header id,prediction[,p_<class>...]", predp);
        goto done;
    }
    if (mp_is_idx_file(actp)) {
        idx_mode = 1;
        if ((rc = mp_idx_read_labels(actp, 0, &idx_labels, &nidx, &e)))
            goto done;
        nact = nidx;
        act_text = calloc(nact ? nact : 1, sizeof *act_text);
        if (!act_text)
            goto oom;
        for (size_t i = 0; i < nact; i++) {
            char tmp[32];
            snprintf(tmp, sizeof tmp, "%d", idx_labels[i]);
            if (!(act_text[i] = strdup(tmp)))
                goto oom;
        }
    } else {
        if ((rc = mp_csv_read(actp, 0, &at, &e)))
            goto done;
        if (at->ncols != 2) {
            rc = mp_error_set(&e, MP_EINPUT, "%s:1:1: expected two columns id,<target>, found %zu", actp,
                              at->ncols);
            goto done;
        }
        nact = at->nrows;
    }
    /* Join on id. */
    by_id = mp_strmap_create();
    match = malloc((pt->nrows ? pt->nrows : 1) * sizeof *match);
    if (!by_id || !match)
        goto oom;
    for (size_t r = 0; r < nact; r++) {
        char tmp[32];
        const char *id = tmp;
        if (idx_mode)
            snprintf(tmp, sizeof tmp, "%zu", r);
        else
            id = mp_table_cell(at, r, 0);
        if (mp_strmap_get(by_id, id) >= 0) {
            rc = mp_error_set(&e, MP_EINPUT, "%s:%u:%u: duplicate id '%s'", actp, at->line[r * 2], at->col[r * 2], id);
            goto done;
        }
        if (!idx_mode && mp_is_missing(mp_table_cell(at, r, 1))) {
            rc = mp_error_set(&e, MP_EINPUT, "%s:%u:%u: missing actual value for id '%s'", actp,
                              at->line[r * 2 + 1], at->col[r * 2 + 1], id);
            goto done;
        }
        if (mp_strmap_put(by_id, id, (int)r))
            goto oom;
    }
    {
        mp_strmap *seen = mp_strmap_create();
        if (!seen)
            goto oom;
        for (size_t r = 0; r < pt->nrows; r++) {
            const char *id = mp_table_cell(pt, r, 0);
            uint32_t line = pt->line[r * pt->ncols], col = pt->col[r * pt->ncols];
            int j = mp_strmap_get(by_id, id);
            if (j < 0 || mp_strmap_get(seen, id) >= 0) {
                rc = mp_error_set(&e, MP_EINPUT, "%s:%u:%u: %s id '%s'%s", predp, line, col,
                                  j < 0 ? "no actual value for" : "duplicate", id, j < 0 ? " in the actuals" : "");
                mp_strmap_destroy(seen);
                goto done;
            }
            mp_strmap_put(seen, id, 1);
            match[r] = (size_t)j;
        }
        mp_strmap_destroy(seen);
    }
    if (pt->nrows == 0) {
        rc = mp_error_set(&e, MP_EINPUT, "%s: no predictions", predp);
        goto done;
    }
    /* A label file covers the whole image file, and predicting the first N
     * images (--limit) is normal: compare what was predicted. */
    if (idx_mode && pt->nrows < nact)
        fprintf(stderr, "mlpipe eval: comparing the %zu predicted images of the %zu labels in %s\n",
                pt->nrows, nact, actp);
    else if (pt->nrows != nact) {
        /* Every reserved actual should have been predicted; name the first
         * one that was not. Predicted ids are distinct, so counts differ. */
        unsigned char *covered = calloc(nact ? nact : 1, 1);
        if (!covered)
            goto oom;
        for (size_t i = 0; i < pt->nrows; i++)
            covered[match[i]] = 1;
        size_t r = 0;
        while (r < nact && covered[r])
            r++;
        free(covered);
        char tmp[32];
        snprintf(tmp, sizeof tmp, "%zu", r);
        rc = mp_error_set(&e, MP_EINPUT, "%s: %zu actual rows have no prediction (first: id '%s')", actp,
                          nact - pt->nrows, idx_mode ? tmp : mp_table_cell(at, r, 0));
        goto done;
    }
    size_t n = pt->nrows;
#define ACTUAL(r) (idx_mode ? act_text[match[r]] : mp_table_cell(at, match[r], 1))
#define PRED(r) mp_table_cell(pt, r, (size_t)pcol)
    /* Which task? */
    size_t nprob = 0;
    for (size_t c = 0; c < pt->ncols; c++)
        nprob += !strncmp(pt->names[c], "p_", 2);
    int all_numeric = 1, integral = 1;
    for (size_t r = 0; r < n && all_numeric; r++) {
        double v, w;
        if (!num_text(ACTUAL(r), &v) || !num_text(PRED(r), &w))
            all_numeric = 0;
        else if (v != floor(v) || w != floor(w))
            integral = 0;
    }
    int classify;
    if (task)
        classify = !strcmp(task, "classification");
    else if (nprob > 0 || !all_numeric || !integral)
        classify = nprob > 0 || !all_numeric;
    else {
        mp_strmap *d = mp_strmap_create();
        for (size_t r = 0; d && r < n; r++)
            mp_strmap_put(d, ACTUAL(r), 1);
        classify = d && mp_strmap_size(d) <= MAX_INTEGER_CLASSES && 2 * mp_strmap_size(d) <= n;
        mp_strmap_destroy(d);
    }
    if (classify) {
        L.index = mp_strmap_create();
        if (!L.index)
            goto oom;
        char tmp[512];
        /* Probability columns fix the order of the model's classes; labels
         * seen only in the data follow, sorted. */
        for (size_t c = 0; c < pt->ncols; c++)
            if (!strncmp(pt->names[c], "p_", 2)) {
                canonical(pt->names[c] + 2, all_numeric, tmp, sizeof tmp);
                if (label_add(&L, tmp) < 0)
                    goto oom;
            }
        size_t fixed = L.n;
        for (size_t r = 0; r < n; r++) {
            canonical(ACTUAL(r), all_numeric, tmp, sizeof tmp);
            if (label_add(&L, tmp) < 0)
                goto oom;
            canonical(PRED(r), all_numeric, tmp, sizeof tmp);
            if (label_add(&L, tmp) < 0)
                goto oom;
        }
        qsort(L.names + fixed, L.n - fixed, sizeof *L.names, all_numeric ? cmp_num : cmp_text);
        for (size_t i = fixed; i < L.n; i++)
            mp_strmap_put(L.index, L.names[i], (int)i);
        ya = malloc(n * sizeof *ya);
        yp = malloc(n * sizeof *yp);
        if (!ya || !yp)
            goto oom;
        for (size_t r = 0; r < n; r++) {
            canonical(ACTUAL(r), all_numeric, tmp, sizeof tmp);
            ya[r] = mp_strmap_get(L.index, tmp);
            canonical(PRED(r), all_numeric, tmp, sizeof tmp);
            yp[r] = mp_strmap_get(L.index, tmp);
        }
        if (nprob > 0) {
            proba = calloc(n * L.n, sizeof *proba);
            if (!proba)
                goto oom;
            for (size_t c = 0, k = 0; c < pt->ncols; c++) {
                if (strncmp(pt->names[c], "p_", 2))
                    continue;
                for (size_t r = 0; r < n; r++) {
                    double v;
                    const char *s = mp_table_cell(pt, r, c);
                    if (!num_text(s, &v) || v < 0 || v > 1) {
                        rc = mp_error_set(&e, MP_EINPUT, "%s:%u:%u: probability '%s' is not a number in [0, 1]",
                                          predp, pt->line[r * pt->ncols + c], pt->col[r * pt->ncols + c], s);
                        goto done;
                    }
                    proba[r * L.n + k] = v;
                }
                k++;
            }
        }
        if ((rc = mp_metrics_classify(n, L.n, ya, yp, proba, &cm, &e)))
            goto done;
        if (mp_args_has(&a, "json"))
            mp_class_metrics_json(&cm, (const char *const *)L.names, &out);
        else
            mp_class_metrics_text(&cm, (const char *const *)L.names, &out);
    } else {
        va = malloc(n * sizeof *va);
        vp = malloc(n * sizeof *vp);
        if (!va || !vp)
            goto oom;
        for (size_t r = 0; r < n; r++) {
            if (!num_text(ACTUAL(r), &va[r])) {
                rc = mp_error_set(&e, MP_EINPUT, "%s: actual value '%s' for id '%s' is not a number", actp,
                                  ACTUAL(r), mp_table_cell(pt, r, 0));
                goto done;
            }
            if (!num_text(PRED(r), &vp[r])) {
                rc = mp_error_set(&e, MP_EINPUT, "%s:%u:%u: prediction '%s' is not a number", predp,
                                  pt->line[r * pt->ncols + (size_t)pcol], pt->col[r * pt->ncols + (size_t)pcol],
                                  PRED(r));
                goto done;
            }
        }
        if ((rc = mp_metrics_regress(n, va, vp, &rm, &e)))
            goto done;
        if (mp_args_has(&a, "json"))
            mp_reg_metrics_json(&rm, &out);
        else
            mp_reg_metrics_text(&rm, &out);
    }
    if (mp_args_has(&a, "json"))
        mp_buf_putc(&out, '\n');
    const char *report = mp_args_get(&a, "report");
    if (report) {
        const char *keys[] = {"predictions", "actuals"}, *vals[] = {predp, actp};
        mp_report rep = {
            .title = "How did we do?", .info_keys = keys, .info_values = vals, .ninfo = 2,
            .cls = classify ? &cm : NULL, .labels = classify ? (const char *const *)L.names : NULL,
            .reg = classify ? NULL : &rm, .actual = va, .pred = vp, .n = classify ? 0 : n,
        };
        if ((rc = mp_report_html(&rep, &html, &e)) || (rc = mp_cli_write_output(report, &html, &e)))
            goto done;
    }
    if ((rc = mp_cli_write_output(NULL, &out, &e)))
        goto done;
    if (report)
        fprintf(stderr, "report: %s\n", report);
    goto done;
oom:
    rc = mp_error_set(&e, MP_ENOMEM, "out of memory");
done:
    for (size_t i = 0; i < L.n; i++)
        free(L.names[i]);
    free(L.names);
    mp_strmap_destroy(L.index);
    mp_class_metrics_free(&cm);
    mp_buf_free(&out);
    mp_buf_free(&html);
    for (size_t i = 0; act_text && i < nidx; i++)
        free(act_text[i]);
    free(act_text);
    free(idx_labels);
    mp_strmap_destroy(by_id);
    free(match);
    free(ya);
    free(yp);
    free(va);
    free(vp);
    free(proba);
    mp_table_destroy(pt);
    mp_table_destroy(at);
    return rc ? mp_cli_fail("eval", &e) : 0;
}
