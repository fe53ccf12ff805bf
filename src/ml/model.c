#include "ml/model.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/clock.h"
#include "ml/registry.h"
#include "ml/safetensors.h"

/* Targets with at most this many distinct integer values, each seen twice
 * on average, are treated as class labels by algorithms that can do both
 * tasks; a column of mostly unique integers (a price, a blood pressure) is
 * a quantity to regress. */
#define MP_MAX_INTEGER_CLASSES 20

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Distinct sorted target values (numeric targets) of the given rows.
 * Targets usually hold a handful of classes: collect them into a small
 * sorted set in one pass, and sort a full copy only when there are many. */
#define MP_SMALL_SET 64
static size_t distinct_values(const mp_dataset *d, const size_t *rows, size_t n, double **out)
{
    double *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return (size_t)-1;
    size_t k = 0, i;
    for (i = 0; i < n; i++) {
        double x = d->y[rows ? rows[i] : i];
        size_t lo = 0, hi = k;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (v[mid] < x)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < k && v[lo] == x)
            continue;
        if (k == MP_SMALL_SET)
            break;
        memmove(v + lo + 1, v + lo, (k - lo) * sizeof *v);
        v[lo] = x;
        k++;
    }
    if (i < n) {
        for (i = 0; i < n; i++)
            v[i] = d->y[rows ? rows[i] : i];
        qsort(v, n, sizeof *v, cmp_double);
        k = 0;
        for (i = 0; i < n; i++)
            if (k == 0 || v[i] != v[k - 1])
                v[k++] = v[i];
    }
    *out = v;
    return k;
}

int mp_model_infer_task(const mp_algo *a, const mp_dataset *d, int requested, mp_task *task,
                        mp_error *e)
{
    if (a->tasks == MP_TASK_ANOMALY) {
        if (requested && requested != MP_TASK_ANOMALY)
            return mp_error_set(e, MP_EINVAL, "%s does anomaly detection only", a->name);
        *task = MP_TASK_ANOMALY;
        return 0;
    }
    if (requested == MP_TASK_ANOMALY)
        return mp_error_set(e, MP_EINVAL, "%s does not do anomaly detection (autoencoder does)",
                            a->name);
    if (!d->target_name)
        return mp_error_set(e, MP_EINVAL, "no target column");
    int integral = d->y_numeric;
    for (size_t i = 0; integral && i < d->nrows; i++)
        integral = d->y[i] == floor(d->y[i]);
    /* Counting distinct values sorts the target: only when it decides. */
    size_t distinct = 0;
    int both = !requested && a->tasks == (MP_TASK_CLASSIFY | MP_TASK_REGRESS);
    if (both && integral) {
        double *v;
        distinct = distinct_values(d, NULL, d->nrows, &v);
        if (distinct == (size_t)-1)
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        free(v);
    }
    mp_task t;
    if (requested)
        t = (mp_task)requested;
    else if (a->tasks == MP_TASK_CLASSIFY || a->tasks == MP_TASK_REGRESS)
        t = (mp_task)a->tasks;
    else if (!d->y_numeric ||
             (integral && distinct <= MP_MAX_INTEGER_CLASSES && 2 * distinct <= d->nrows))
        t = MP_TASK_CLASSIFY;
    else
        t = MP_TASK_REGRESS;
    if (!(a->tasks & t))
        return mp_error_set(e, MP_EINVAL, "%s does not do %s", a->name,
                            t == MP_TASK_CLASSIFY ? "classification" : "regression");
    if (t == MP_TASK_REGRESS && !d->y_numeric)
        return mp_error_set(e, MP_EINPUT, "%s: target '%s' holds text, but %s needs numbers",
                            d->source, d->target_name, a->name);
    if (t == MP_TASK_CLASSIFY && d->y_numeric && !integral && !requested)
        return mp_error_set(e, MP_EINPUT,
                            "%s: target '%s' holds continuous numbers, but %s is a classifier "
                            "(use linear-regression or knn for regression)",
                            d->source, d->target_name, a->name);
    *task = t;
    return 0;
}

mp_scale mp_model_default_scale(const mp_algo *a, const mp_dataset *d)
{
    /* A network normalises its input itself; images stay images. */
    if (a->neural)
        return d && d->nimage_dims ? MP_SCALE_NONE : MP_SCALE_STANDARD;
    /* Distance- and penalty-based methods depend on the units of the
     * features; naive Bayes and least squares do not. */
    if (a == &mp_algo_knn || a == &mp_algo_logistic_regression)
        return MP_SCALE_STANDARD;
    return MP_SCALE_NONE;
}

static void free_classes(mp_model *m)
{
    for (size_t i = 0; m->classes && i < m->nclasses; i++)
        free(m->classes[i]);
    free(m->classes);
    m->classes = NULL;
}

/* Class labels from the training rows: sorted numerically for numeric
 * targets, by bytes otherwise (as scikit-learn's unique labels). */
static int build_classes(mp_model *m, const mp_dataset *d, const size_t *rows, size_t n, mp_error *e)
{
    if (d->y_numeric) {
        double *v;
        size_t k = distinct_values(d, rows, n, &v);
        if (k == (size_t)-1)
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        m->classes = calloc(k ? k : 1, sizeof *m->classes);
        if (!m->classes) {
            free(v);
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        }
        m->nclasses = k;
        for (size_t i = 0; i < k; i++) {
            char tmp[40];
            mp_format_double(tmp, sizeof tmp, v[i]);
            if (!(m->classes[i] = strdup(tmp))) {
                free(v);
                return mp_error_set(e, MP_ENOMEM, "out of memory");
            }
        }
        free(v);
        return 0;
    }
    char **s = malloc((n ? n : 1) * sizeof *s);
    if (!s)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        s[i] = d->y_text[rows ? rows[i] : i];
    qsort(s, n, sizeof *s, cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || strcmp(s[i], s[k - 1]))
            s[k++] = s[i];
    m->classes = calloc(k ? k : 1, sizeof *m->classes);
    if (!m->classes) {
        free(s);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    m->nclasses = k;
    for (size_t i = 0; i < k; i++)
        if (!(m->classes[i] = strdup(s[i]))) {
            free(s);
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        }
    free(s);
    return 0;
}

/* The class index of a label as written: "1.0" and "1" are the same class
 * of a numeric target. Linear: models have few classes. */
static int class_of(const mp_model *m, const char *label)
{
    char *end;
    double v = strtod(label, &end);
    int numeric = end != label && *end == '\0';
    for (size_t i = 0; i < m->nclasses; i++) {
        if (!strcmp(label, m->classes[i]))
            return (int)i;
        if (numeric) {
            double w = strtod(m->classes[i], &end);
            if (*end == '\0' && w == v)
                return (int)i;
        }
    }
    return -1;
}

/* Class values of a model whose labels are all numbers, in label order
 * (ascending, as build_classes sorts them); NULL otherwise. */
static double *numeric_classes(const mp_model *m)
{
    double *v = malloc((m->nclasses ? m->nclasses : 1) * sizeof *v);
    for (size_t i = 0; v && i < m->nclasses; i++) {
        char *end;
        v[i] = strtod(m->classes[i], &end);
        if (end == m->classes[i] || *end || (i > 0 && !(v[i] > v[i - 1]))) {
            free(v);
            return NULL;
        }
    }
    return v;
}

int mp_model_targets(const mp_model *m, const mp_dataset *d, const size_t *rows, size_t n,
                     double *y, mp_error *e)
{
    if (!rows)
        n = d->nrows;
    /* Numeric targets against numeric labels: a binary search on the value
     * instead of parsing label text for every row. */
    double *cv = m->task == MP_TASK_CLASSIFY && d->y_numeric ? numeric_classes(m) : NULL;
    for (size_t i = 0; i < n; i++) {
        size_t r = rows ? rows[i] : i;
        if (m->task == MP_TASK_REGRESS) {
            if (isnan(d->y[r]))
                return mp_error_set(e, MP_EINPUT, "%s: row with id '%s': target '%s' is not a number",
                                    d->source, d->ids[r], d->y_text[r]);
            y[i] = d->y[r];
            continue;
        }
        int c = -1;
        if (cv) {
            size_t lo = 0, hi = m->nclasses;
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;
                if (cv[mid] < d->y[r])
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo < m->nclasses && cv[lo] == d->y[r])
                c = (int)lo;
        } else {
            c = class_of(m, d->y_text[r]);
        }
        if (c < 0) {
            free(cv);
            return mp_error_set(e, MP_EINPUT, "%s: row with id '%s': label '%s' was not seen in training",
                                d->source, d->ids[r], d->y_text[r]);
        }
        y[i] = c;
    }
    free(cv);
    return 0;
}

static char *now_iso(void)
{
    char buf[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return strdup(buf);
}

int mp_model_train(const mp_dataset *d, const size_t *rows, size_t n, const mp_train_opts *o,
                   mp_model **out, mp_error *e)
{
    if (!rows)
        n = d->nrows;
    const mp_algo *a = mp_algo_find(o->algorithm);
    if (!a)
        return mp_error_set(e, MP_EINVAL, "unknown algorithm '%s' (known: %s)", o->algorithm,
                            mp_algo_names());
    if (!d->target_name && a->tasks != MP_TASK_ANOMALY)
        return mp_error_set(e, MP_EINVAL, "training needs a target column");
    if (n == 0)
        return mp_error_set(e, MP_EINPUT, "%s: no training rows", d->source);
    mp_params empty = {0};
    mp_params *params = o->params ? o->params : &empty;
    mp_model *m = calloc(1, sizeof *m);
    double *X = NULL, *y = NULL;
    int rc;
    if (!m)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    m->refs = 1;
    m->algo = a;
    m->ntrain = n;
    m->nimage_dims = d->nimage_dims;
    memcpy(m->image_dims, d->image_dims, sizeof m->image_dims);
    double t0 = mp_clock_now();
    if ((rc = mp_model_infer_task(a, d, o->task, &m->task, e)))
        goto fail;
    m->target = strdup(d->target_name ? d->target_name : "");
    m->id_name = strdup(d->id_name ? d->id_name : "id");
    m->created = now_iso();
    if (!m->target || !m->id_name || !m->created) {
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        goto fail;
    }
    if (m->task == MP_TASK_CLASSIFY && (rc = build_classes(m, d, rows, n, e)))
        goto fail;
    if (m->task == MP_TASK_CLASSIFY && m->nclasses < 2) {
        rc = mp_error_set(e, MP_EINPUT, "%s: target '%s' has a single class ('%s'); need at least two",
                          d->source, d->target_name, m->nclasses ? m->classes[0] : "");
        goto fail;
    }
    mp_scale scale = o->scale < 0 ? mp_model_default_scale(a, d) : (mp_scale)o->scale;
    if ((rc = mp_prep_fit(&m->prep, d, rows, n, scale, o->missing, !a->raw_categories, e)))
        goto fail;
    /* Unscaled numeric data is used as loaded: no copy of a large matrix. */
    const double *Xin = mp_prep_passthrough(&m->prep, d, rows, n);
    if (!Xin) {
        if ((rc = mp_prep_transform(&m->prep, d, rows, n, 1, &X, NULL, e)))
            goto fail;
        Xin = X;
    }
    if (m->task != MP_TASK_ANOMALY) {
        y = malloc(n * sizeof *y);
        if (!y) {
            rc = mp_error_set(e, MP_ENOMEM, "out of memory");
            goto fail;
        }
        if ((rc = mp_model_targets(m, d, rows, n, y, e)))
            goto fail;
    }
    mp_fit_input in = {
        .task = m->task, .X = Xin, .n = n, .d = m->prep.nout, .ncats = m->prep.ncats,
        .y = y, .nclasses = m->nclasses, .seed = o->seed, .nshape = d->nimage_dims,
        .observer = o->observer,
    };
    memcpy(in.shape, d->image_dims, sizeof in.shape);
    if ((rc = a->fit(&in, params, &m->state, e)))
        goto fail;
    if ((rc = mp_params_check_unused(params, a->name, a->params, e)))
        goto fail;
    m->train_seconds = mp_clock_now() - t0;
    /* The algorithm knows its effective parameters; keep them for inspect. */
    mp_tensors tmp = {0};
    if (a->describe(m->state, &tmp, NULL) == 0) {
        const char *p = mp_tensors_meta(&tmp, "params");
        const char *f = mp_tensors_meta(&tmp, "fit_info");
        m->params_json = strdup(p ? p : "{}");
        m->fit_info_json = f ? strdup(f) : NULL;
    }
    mp_tensors_free(&tmp);
    free(X);
    free(y);
    *out = m;
    return 0;
fail:
    free(X);
    free(y);
    mp_model_release(m);
    return rc;
}

int mp_model_predict(const mp_model *m, const mp_dataset *d, const size_t *rows, size_t n,
                     int impute, mp_predictions *out, mp_error *e)
{
    memset(out, 0, sizeof *out);
    if (!rows)
        n = d->nrows;
    double *X = NULL;
    const double *Xin = mp_prep_passthrough(&m->prep, d, rows, n);
    int rc = 0;
    if (!Xin) {
        if ((rc = mp_prep_transform(&m->prep, d, rows, n, impute, &X, &out->unseen, e)))
            return rc;
        Xin = X;
    }
    out->n = n;
    if (m->task == MP_TASK_ANOMALY) {
        out->value = malloc((n ? n : 1) * sizeof *out->value);
        out->label = malloc((n ? n : 1) * sizeof *out->label);
        if (!out->value || !out->label) {
            free(X);
            mp_predictions_free(out);
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        }
        rc = m->algo->predict(m->state, Xin, n, m->prep.nout, out->value, e);
        double thr = mp_model_threshold(m);
        for (size_t i = 0; rc == 0 && i < n; i++)
            out->label[i] = out->value[i] > thr;
    } else if (m->task == MP_TASK_REGRESS) {
        out->value = malloc((n ? n : 1) * sizeof *out->value);
        if (!out->value) {
            free(X);
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        }
        rc = m->algo->predict(m->state, Xin, n, m->prep.nout, out->value, e);
    } else {
        size_t k = m->nclasses;
        out->nclasses = k;
        out->proba = malloc((n * k > 0 ? n * k : 1) * sizeof *out->proba);
        out->label = malloc((n ? n : 1) * sizeof *out->label);
        if (!out->proba || !out->label) {
            free(X);
            mp_predictions_free(out);
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        }
        rc = m->algo->predict(m->state, Xin, n, m->prep.nout, out->proba, e);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            const double *p = out->proba + i * k;
            size_t best = 0;
            for (size_t c = 1; c < k; c++)
                if (p[c] > p[best])
                    best = c;
            out->label[i] = best;
        }
    }
    free(X);
    if (rc)
        mp_predictions_free(out);
    return rc;
}

void mp_predictions_free(mp_predictions *p)
{
    free(p->value);
    free(p->label);
    free(p->proba);
    memset(p, 0, sizeof *p);
}

/* ---- files ---- */

static int set_meta_json(mp_tensors *b, const char *key, json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(v);
    if (!s)
        return MP_ENOMEM;
    int rc = mp_tensors_set_meta(b, key, s);
    free(s);
    return rc;
}

static int model_to_tensors(const mp_model *m, mp_tensors *b, mp_error *e)
{
    int rc;
    if ((rc = m->algo->save(m->state, b, e)) || (rc = mp_prep_save(&m->prep, b, e)))
        return rc;
    char num[64];
    json_t *labels = json_array();
    for (size_t i = 0; i < m->nclasses; i++)
        json_array_append_new(labels, json_string(m->classes[i]));
    json_t *shape = json_array();
    for (size_t i = 0; i < m->nimage_dims; i++)
        json_array_append_new(shape, json_integer((json_int_t)m->image_dims[i]));
    snprintf(num, sizeof num, "%zu", m->ntrain);
    rc = mp_tensors_set_meta(b, "format", "mlpipe-model");
    rc = rc ? rc : mp_tensors_set_meta(b, "format_version", MP_MODEL_FORMAT_VERSION);
    rc = rc ? rc : mp_tensors_set_meta(b, "algorithm", m->algo->name);
    rc = rc ? rc : mp_tensors_set_meta(b, "task", mp_task_name(m->task));
    rc = rc ? rc : mp_tensors_set_meta(b, "target", m->target);
    rc = rc ? rc : mp_tensors_set_meta(b, "id", m->id_name);
    rc = rc ? rc : set_meta_json(b, "labels", labels);
    rc = rc ? rc : set_meta_json(b, "image_shape", shape);
    rc = rc ? rc : mp_tensors_set_meta(b, "training_rows", num);
    snprintf(num, sizeof num, "%.6f", m->train_seconds);
    rc = rc ? rc : mp_tensors_set_meta(b, "training_seconds", num);
    rc = rc ? rc : mp_tensors_set_meta(b, "training_metrics", m->metrics_json ? m->metrics_json : "{}");
    rc = rc ? rc : mp_tensors_set_meta(b, "created", m->created);
    if (rc)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    return 0;
}

int mp_model_save(const mp_model *m, const char *dir, mp_error *e)
{
    mp_tensors b = {0};
    int rc = model_to_tensors(m, &b, e);
    if (rc == 0) {
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/model.safetensors", dir) >= (int)sizeof path)
            rc = mp_error_set(e, MP_EINVAL, "%s: path too long", dir);
        else
            rc = mp_safetensors_write(path, &b, e);
    }
    mp_tensors_free(&b);
    return rc;
}

static int publish_writer(const char *tmpdir, void *ctx, mp_error *e)
{
    return mp_model_save(ctx, tmpdir, e);
}

int mp_model_publish(const mp_model *m, const char *model_dir, long *version, mp_error *e)
{
    return mp_registry_publish(model_dir, publish_writer, (void *)m, version, e);
}

static int dup_meta(const mp_tensors *b, const char *key, char **out, int required, mp_error *e)
{
    const char *v = mp_tensors_meta(b, key);
    if (!v) {
        if (required)
            return mp_error_set(e, MP_EFORMAT, "metadata lacks '%s'", key);
        *out = NULL;
        return 0;
    }
    *out = strdup(v);
    return *out ? 0 : mp_error_set(e, MP_ENOMEM, "out of memory");
}

static int model_from_tensors(const mp_tensors *b, mp_model *m, mp_error *e)
{
    const char *fv = mp_tensors_meta(b, "format_version");
    if (!fv || strcmp(mp_tensors_meta(b, "format") ? mp_tensors_meta(b, "format") : "", "mlpipe-model"))
        return mp_error_set(e, MP_EFORMAT, "not an mlpipe model (metadata 'format' missing)");
    if (strcmp(fv, MP_MODEL_FORMAT_VERSION))
        return mp_error_set(e, MP_EFORMAT, "model format version %s is not supported (this mlpipe reads %s)",
                            fv, MP_MODEL_FORMAT_VERSION);
    const char *alg = mp_tensors_meta(b, "algorithm");
    m->algo = alg ? mp_algo_find(alg) : NULL;
    if (!m->algo)
        return mp_error_set(e, MP_EFORMAT, "unknown algorithm '%s'", alg ? alg : "(none)");
    const char *task_text = mp_tensors_meta(b, "task");
    if (task_text && !strcmp(task_text, "anomaly") && !m->algo->threshold)
        return mp_error_set(e, MP_EFORMAT, "%s is not an anomaly detector", alg);
    const char *task = mp_tensors_meta(b, "task");
    if (task && !strcmp(task, "classification"))
        m->task = MP_TASK_CLASSIFY;
    else if (task && !strcmp(task, "regression"))
        m->task = MP_TASK_REGRESS;
    else if (task && !strcmp(task, "anomaly"))
        m->task = MP_TASK_ANOMALY;
    else
        return mp_error_set(e, MP_EFORMAT, "metadata 'task' is missing or unknown");
    int rc;
    if ((rc = dup_meta(b, "target", &m->target, 1, e)) || (rc = dup_meta(b, "id", &m->id_name, 1, e)) ||
        (rc = dup_meta(b, "params", &m->params_json, 0, e)) ||
        (rc = dup_meta(b, "fit_info", &m->fit_info_json, 0, e)) ||
        (rc = dup_meta(b, "training_metrics", &m->metrics_json, 0, e)) ||
        (rc = dup_meta(b, "created", &m->created, 0, e)))
        return rc;
    const char *rows = mp_tensors_meta(b, "training_rows");
    const char *secs = mp_tensors_meta(b, "training_seconds");
    m->ntrain = rows ? strtoul(rows, NULL, 10) : 0;
    m->train_seconds = secs ? strtod(secs, NULL) : 0;
    json_error_t je;
    json_t *labels = json_loads(mp_tensors_meta(b, "labels") ? mp_tensors_meta(b, "labels") : "",
                                JSON_DECODE_ANY, &je);
    if (!json_is_array(labels)) {
        json_decref(labels);
        return mp_error_set(e, MP_EFORMAT, "metadata 'labels' is missing or not a list");
    }
    size_t k = json_array_size(labels);
    if (m->task == MP_TASK_CLASSIFY && k < 2) {
        json_decref(labels);
        return mp_error_set(e, MP_EFORMAT, "a classifier needs at least two labels, found %zu", k);
    }
    m->classes = calloc(k ? k : 1, sizeof *m->classes);
    m->nclasses = k;
    for (size_t i = 0; m->classes && i < k; i++) {
        const char *s = json_string_value(json_array_get(labels, i));
        m->classes[i] = s ? strdup(s) : NULL;
        if (!m->classes[i]) {
            json_decref(labels);
            return mp_error_set(e, MP_EFORMAT, "label %zu is not a string", i);
        }
    }
    json_decref(labels);
    if (!m->classes)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    json_t *shape = json_loads(mp_tensors_meta(b, "image_shape") ? mp_tensors_meta(b, "image_shape") : "[]",
                               JSON_DECODE_ANY, &je);
    if (json_is_array(shape) && json_array_size(shape) <= 3) {
        m->nimage_dims = json_array_size(shape);
        for (size_t i = 0; i < m->nimage_dims; i++)
            m->image_dims[i] = (size_t)json_integer_value(json_array_get(shape, i));
    }
    json_decref(shape);
    if ((rc = mp_prep_load(&m->prep, b, e)))
        return rc;
    return m->algo->load(b, m->task, m->prep.nout, m->task == MP_TASK_CLASSIFY ? m->nclasses : 0,
                         &m->state, e);
}

int mp_model_load(const char *path, mp_model **out, long *version, mp_error *e)
{
    char dir[PATH_MAX], file[PATH_MAX + 32];
    long v;
    int rc = mp_registry_resolve(path, dir, sizeof dir, &v, e);
    if (rc)
        return rc;
    snprintf(file, sizeof file, "%s/model.safetensors", dir);
    mp_tensors b = {0};
    if ((rc = mp_safetensors_read(file, &b, e)))
        return rc;
    mp_model *m = calloc(1, sizeof *m);
    if (!m) {
        mp_tensors_free(&b);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    m->refs = 1;
    rc = model_from_tensors(&b, m, e);
    mp_tensors_free(&b);
    if (rc) {
        mp_error_prefix(e, "%s", file);
        mp_model_release(m);
        return rc;
    }
    if (version)
        *version = v;
    *out = m;
    return 0;
}

double mp_model_threshold(const mp_model *m)
{
    return m->task == MP_TASK_ANOMALY && m->algo->threshold ? m->algo->threshold(m->state) : NAN;
}

const char *mp_task_name(mp_task t)
{
    return t == MP_TASK_CLASSIFY ? "classification" : t == MP_TASK_REGRESS ? "regression" : "anomaly";
}

mp_model *mp_model_retain(mp_model *m)
{
    __atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
    return m;
}

void mp_model_release(mp_model *m)
{
    if (!m || __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    if (m->state)
        m->algo->destroy(m->state);
    mp_prep_free(&m->prep);
    free_classes(m);
    free(m->target);
    free(m->id_name);
    free(m->params_json);
    free(m->metrics_json);
    free(m->fit_info_json);
    free(m->created);
    free(m);
}

int mp_model_score(const mp_model *m, const mp_dataset *d, const size_t *rows, size_t n,
                   double *score, mp_error *e)
{
    if (!rows)
        n = d->nrows;
    mp_predictions p;
    int rc = mp_model_predict(m, d, rows, n, 1, &p, e);
    if (rc)
        return rc;
    if (m->task == MP_TASK_ANOMALY) {
        /* The share of rows flagged: on normal training rows it should sit
         * near 1 - threshold_percentile / 100. */
        size_t flagged = 0;
        for (size_t i = 0; i < n; i++)
            flagged += p.label[i];
        *score = n ? (double)flagged / (double)n : 0.0;
        mp_predictions_free(&p);
        return 0;
    }
    if (m->task == MP_TASK_CLASSIFY) {
        /* A label the model never saw (a rare class absent from a
         * cross-validation fold's training part) is simply a miss. */
        size_t ok = 0;
        for (size_t i = 0; i < n; i++)
            ok += class_of(m, d->y_text[rows ? rows[i] : i]) == (int)p.label[i];
        *score = n ? (double)ok / (double)n : 0.0;
        mp_predictions_free(&p);
        return 0;
    }
    double *y = malloc((n ? n : 1) * sizeof *y);
    if (!y || (rc = mp_model_targets(m, d, rows, n, y, e))) {
        free(y);
        mp_predictions_free(&p);
        return y ? rc : mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    double mean = 0, ss_tot = 0, ss_res = 0;
    for (size_t i = 0; i < n; i++)
        mean += y[i];
    mean /= n ? (double)n : 1.0;
    for (size_t i = 0; i < n; i++) {
        ss_tot += (y[i] - mean) * (y[i] - mean);
        ss_res += (y[i] - p.value[i]) * (y[i] - p.value[i]);
    }
    /* scikit-learn's convention for a constant target. */
    *score = ss_tot > 0 ? 1.0 - ss_res / ss_tot : (ss_res == 0 ? 1.0 : 0.0);
    mp_predictions_free(&p);
    free(y);
    return 0;
}
