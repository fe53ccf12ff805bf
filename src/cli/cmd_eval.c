/* mlpipe eval: compare predictions with the reserved actuals, "How did we
 * do?", as a table, JSON, or an HTML page. */
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/strmap.h"
#include "data/table.h"
#include "ml/metrics.h"
#include "ml/registry.h"
#include "ml/report_html.h"

static const char usage[] =
    "usage: mlpipe eval --predictions PRED.csv --actual ACTUAL.csv [--json] [--report report.html]\n"
    "                   [--model DIR[/N]]\n"
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
    "  --model DIR[/N]   the model that made the predictions (newest version, or\n"
    "                    version N): named in the output, and for a neural network\n"
    "                    its training history goes along: loss and accuracy curves\n"
    "                    per epoch in the report, a \"training\" object with --json\n"
    "  --task T          classification | regression (default: inferred)\n";

static const mp_flag flags[] = {
    {"predictions", 1, 0}, {"actual", 1, 0}, {"json", 0, 0}, {"report", 1, 0}, {"task", 1, 0},
    {"model", 1, 0}, {NULL, 0, 0},
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

/* ---- --model: the model that made the predictions ------------------------ */

/* What eval shows of the model: where it is and, for a network, its
 * training history (metadata "fit_info", see neural_net.c). */
struct model_info {
    char dir[PATH_MAX];       /* the model directory, without the version */
    char file[PATH_MAX + 32]; /* its model file, for messages */
    long version;
    mp_model *model;
    mp_report_epoch *ep;      /* n epochs; NULL for a model without a history */
    double *seconds;          /* n seconds per epoch, NaN when not recorded */
    size_t n;
    long epochs_run;
    long best_epoch;          /* -1 when not recorded */
    int stopped_early;
};

static void model_info_free(struct model_info *mi)
{
    mp_model_release(mi->model);
    free(mi->ep);
    free(mi->seconds);
}

/* A number or null (absent counts as null) into *v; 0 when it is neither. */
static int opt_number(const json_t *o, const char *key, double *v)
{
    const json_t *x = json_object_get(o, key);
    if (!x || json_is_null(x)) {
        *v = NAN;
        return 1;
    }
    if (!json_is_number(x))
        return 0;
    *v = json_number_value(x);
    return 1;
}

/* A whole number >= min, or -1 when absent or null; 0 when it is neither. */
static int opt_count(const json_t *o, const char *key, long min, long *v)
{
    const json_t *x = json_object_get(o, key);
    *v = -1;
    if (!x || json_is_null(x))
        return 1;
    double d = json_is_number(x) ? json_number_value(x) : NAN;
    if (!(d >= (double)min && d <= 1e15 && d == floor(d)))
        return 0;
    *v = (long)d;
    return 1;
}

/* Reads the history of fit_info into mi; a model without one (classic
 * algorithms) leaves mi->n at 0. Anything else malformed is MP_EFORMAT
 * naming the model file and the entry. */
static int read_history(struct model_info *mi, mp_error *e)
{
    const char *fi = mi->model->fit_info_json;
    if (!fi)
        return 0;
    json_error_t je;
    json_t *root = json_loads(fi, 0, &je);
    int rc = 0;
    if (!root)
        return mp_error_set(e, MP_EFORMAT, "%s: metadata 'fit_info' is not valid JSON: %s", mi->file,
                            je.text);
    if (!json_is_object(root)) {
        rc = mp_error_set(e, MP_EFORMAT, "%s: metadata 'fit_info' is not a JSON object", mi->file);
        goto done;
    }
    const json_t *h = json_object_get(root, "history");
    if (!h)
        goto done;
    if (!json_is_array(h)) {
        rc = mp_error_set(e, MP_EFORMAT, "%s: metadata 'fit_info': 'history' is not a list", mi->file);
        goto done;
    }
    size_t n = json_array_size(h);
    mi->ep = calloc(n ? n : 1, sizeof *mi->ep);
    mi->seconds = calloc(n ? n : 1, sizeof *mi->seconds);
    if (!mi->ep || !mi->seconds) {
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        goto done;
    }
    static const char *const keys[] = {"loss", "accuracy", "val_loss", "val_accuracy", "seconds"};
    for (size_t i = 0; i < n; i++) {
        const json_t *x = json_array_get(h, i);
        mp_report_epoch *ep = &mi->ep[i];
        double *vals[] = {&ep->loss, &ep->accuracy, &ep->val_loss, &ep->val_accuracy, &mi->seconds[i]};
        long epoch;
        if (!json_is_object(x)) {
            rc = mp_error_set(e, MP_EFORMAT, "%s: metadata 'fit_info': history[%zu] is not an object",
                              mi->file, i);
            goto done;
        }
        if (!opt_count(x, "epoch", 1, &epoch) || epoch < 0) {
            rc = mp_error_set(e, MP_EFORMAT,
                              "%s: metadata 'fit_info': history[%zu].epoch is not a whole number >= 1",
                              mi->file, i);
            goto done;
        }
        ep->epoch = (double)epoch;
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            if (!opt_number(x, keys[k], vals[k])) {
                rc = mp_error_set(e, MP_EFORMAT,
                                  "%s: metadata 'fit_info': history[%zu].%s is not a number or null",
                                  mi->file, i, keys[k]);
                goto done;
            }
    }
    const json_t *stop = json_object_get(root, "stopped_early");
    if (!opt_count(root, "epochs_run", 0, &mi->epochs_run) ||
        !opt_count(root, "best_epoch", 0, &mi->best_epoch) ||
        (stop && !json_is_boolean(stop) && !json_is_null(stop))) {
        rc = mp_error_set(e, MP_EFORMAT,
                          "%s: metadata 'fit_info': epochs_run and best_epoch must be whole numbers, "
                          "stopped_early true or false",
                          mi->file);
        goto done;
    }
    if (mi->epochs_run < 0)
        mi->epochs_run = (long)n;
    mi->stopped_early = json_is_true(stop);
    mi->n = n;
done:
    json_decref(root);
    return rc;
}

/* Loads --model (DIR or DIR/N) with its history. */
static int load_model_info(const char *path, struct model_info *mi, mp_error *e)
{
    char vdir[PATH_MAX];
    int rc = mp_registry_resolve(path, vdir, sizeof vdir, &mi->version, e);
    if (rc)
        return rc;
    snprintf(mi->file, sizeof mi->file, "%s/%s", vdir, MP_REGISTRY_MODEL_FILE);
    /* The directory holding the versions, for "DIR version N". */
    snprintf(mi->dir, sizeof mi->dir, "%s", vdir);
    char *slash = strrchr(mi->dir, '/');
    if (!slash) {
        snprintf(mi->dir, sizeof mi->dir, ".");
    } else {
        while (slash > mi->dir && slash[-1] == '/')
            slash--;
        if (slash == mi->dir)
            slash++; /* "/3": the root */
        *slash = '\0';
    }
    long v;
    if ((rc = mp_model_load(vdir, &mi->model, &v, e)))
        return rc;
    mi->version = v;
    return read_history(mi, e);
}

static void json_num(mp_buf *out, double v)
{
    if (isfinite(v))
        mp_buf_double(out, v);
    else
        mp_buf_puts(out, "null");
}

/* ,"model":{...}[,"training":{...}] for the JSON output. */
static void model_json(const struct model_info *mi, mp_buf *out)
{
    mp_buf_puts(out, ",\"model\":{\"path\":");
    mp_metrics_json_string(out, mi->dir);
    mp_buf_printf(out, ",\"version\":%ld,\"algorithm\":", mi->version);
    mp_metrics_json_string(out, mi->model->algo->name);
    mp_buf_putc(out, '}');
    if (!mi->n)
        return;
    mp_buf_printf(out, ",\"training\":{\"epochs_run\":%ld,\"best_epoch\":", mi->epochs_run);
    if (mi->best_epoch >= 0)
        mp_buf_printf(out, "%ld", mi->best_epoch);
    else
        mp_buf_puts(out, "null");
    mp_buf_printf(out, ",\"stopped_early\":%s,\"history\":[", mi->stopped_early ? "true" : "false");
    for (size_t i = 0; i < mi->n; i++) {
        const mp_report_epoch *ep = &mi->ep[i];
        mp_buf_printf(out, "%s{\"epoch\":%.0f,\"loss\":", i ? "," : "", ep->epoch);
        json_num(out, ep->loss);
        mp_buf_puts(out, ",\"accuracy\":");
        json_num(out, ep->accuracy);
        mp_buf_puts(out, ",\"val_loss\":");
        json_num(out, ep->val_loss);
        mp_buf_puts(out, ",\"val_accuracy\":");
        json_num(out, ep->val_accuracy);
        mp_buf_puts(out, ",\"seconds\":");
        json_num(out, mi->seconds[i]);
        mp_buf_putc(out, '}');
    }
    mp_buf_puts(out, "]}");
}

/* Two lines under the table: which model, and how its training ended. */
static void model_text(const struct model_info *mi, mp_buf *out)
{
    mp_buf_printf(out, "\nmodel: %s version %ld (%s)\n", mi->dir, mi->version, mi->model->algo->name);
    if (!mi->n)
        return;
    const mp_report_epoch *last = &mi->ep[mi->n - 1];
    mp_buf_printf(out, "training: %ld epoch%s", mi->epochs_run, mi->epochs_run == 1 ? "" : "s");
    if (mi->best_epoch > 0)
        mp_buf_printf(out, ", best epoch %ld", mi->best_epoch);
    if (mi->stopped_early)
        mp_buf_puts(out, ", stopped early");
    if (isfinite(last->loss))
        mp_buf_printf(out, "; last loss %.4g", last->loss);
    if (isfinite(last->val_loss))
        mp_buf_printf(out, ", validation loss %.4g", last->val_loss);
    mp_buf_putc(out, '\n');
}



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
    struct model_info mi = {0};
    const char *modelp = mp_args_get(&a, "model");

    if (modelp && (rc = load_model_info(modelp, &mi, &e)))
        goto done;

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
    if (mi.model && mp_args_has(&a, "json") && out.len && out.data[out.len - 1] == '}') {
        out.len--; /* the metrics object gains the model's keys */
        model_json(&mi, &out);
        mp_buf_putc(&out, '}');
    } else if (mi.model) {
        model_text(&mi, &out);
    }
    if (mp_args_has(&a, "json"))
        mp_buf_putc(&out, '\n');
    const char *report = mp_args_get(&a, "report");
    if (report) {
        char model_line[PATH_MAX + 48] = "";
        if (mi.model)
            snprintf(model_line, sizeof model_line, "%s version %ld", mi.dir, mi.version);
        const char *keys[] = {"predictions", "actuals", "model", "algorithm"};
        const char *vals[] = {predp, actp, model_line, mi.model ? mi.model->algo->name : NULL};
        mp_report rep = {
            .title = "How did we do?", .info_keys = keys, .info_values = vals,
            .ninfo = mi.model ? 4 : 2,
            .cls = classify ? &cm : NULL, .labels = classify ? (const char *const *)L.names : NULL,
            .reg = classify ? NULL : &rm, .actual = va, .pred = vp, .n = classify ? 0 : n,
            .history = mi.ep, .nhistory = mi.n,
            .best_epoch = mi.best_epoch > 0 ? (size_t)mi.best_epoch : 0,
            .stopped_early = mi.stopped_early,
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
    model_info_free(&mi);
    return rc ? mp_cli_fail("eval", &e) : 0;
}
