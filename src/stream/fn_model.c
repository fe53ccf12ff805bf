/* Models as SQL functions: PREDICT, PREDICT_PROBA and ANOMALY.
 *
 *   PREDICT('name', f1, f2, ...)        the prediction: the class label (STRING) of a
 *                                       classifier, the value (DOUBLE) of a regressor,
 *                                       the flag (BOOLEAN) of an anomaly detector
 *   PREDICT_PROBA('name', f1, ...)      MAP<STRING, DOUBLE> of class probabilities
 *   ANOMALY('name', f1, ...)            an anomaly detector's score (DOUBLE)
 *
 * 'name' is a model directory under the engine's registry (`--registry
 * DIR`), as `mlpipe train --model-dir DIR/name` writes it. The arguments
 * after the name are the model's input columns in training order; their
 * number and kinds (numbers for numeric columns, strings for categorical
 * ones) are checked when the statement is accepted.
 *
 * The model is a stream too: a reference checks the registry for a newer
 * version at most once a second and swaps it in between two records, so a
 * running query moves to a new version without a restart, and each record
 * is scored by exactly one version.
 *
 * References are shared process-wide by model directory (a registry of
 * loaded models, guarded by a lock), so a hundred queries on one model
 * hold it once. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "ml/model.h"
#include "ml/registry.h"
#include "stream/fn_model.h"

#define CHECK_INTERVAL_S 1.0

typedef struct model_ref {
    char *dir;
    pthread_mutex_t mu; /* guards m, version, checked */
    mp_model *m;
    long version;
    double checked;
    struct model_ref *next;
} model_ref;

static pthread_mutex_t refs_mu = PTHREAD_MUTEX_INITIALIZER;
static model_ref *refs;
static _Thread_local const char *bind_registry;

void mp_model_fns_bind_scope(const char *registry_dir) { bind_registry = registry_dir; }

/* The current model of a reference (retained; release it), loading a newer
 * version when one has appeared. */
static mp_model *ref_get(model_ref *r)
{
    pthread_mutex_lock(&r->mu);
    double now = mp_clock_now();
    if (now - r->checked >= CHECK_INTERVAL_S) {
        r->checked = now;
        long latest = 0;
        if (mp_registry_latest(r->dir, &latest, NULL) == 0 && latest != r->version) {
            mp_model *m = NULL;
            long v = 0;
            if (mp_model_load(r->dir, &m, &v, NULL) == 0) {
                mp_model_release(r->m);
                r->m = m;
                r->version = v;
            }
        }
    }
    mp_model *m = mp_model_retain(r->m);
    pthread_mutex_unlock(&r->mu);
    return m;
}

static int ref_open(const char *name, model_ref **out, mp_error *e)
{
    if (!bind_registry)
        return mp_error_set(e, MP_EINVAL, "no model registry: start with --registry DIR to use models");
    if (!name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
        return mp_error_set(e, MP_EINVAL, "'%s' is not a model name", name);
    char dir[4096];
    if (snprintf(dir, sizeof dir, "%s/%s", bind_registry, name) >= (int)sizeof dir)
        return mp_error_set(e, MP_EINVAL, "model path too long");
    pthread_mutex_lock(&refs_mu);
    for (model_ref *r = refs; r; r = r->next)
        if (!strcmp(r->dir, dir)) {
            pthread_mutex_unlock(&refs_mu);
            *out = r;
            return 0;
        }
    model_ref *r = calloc(1, sizeof *r);
    int rc = 0;
    if (!r || !(r->dir = strdup(dir)))
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
    else if ((rc = mp_model_load(dir, &r->m, &r->version, e))) {
        mp_error_prefix(e, "model '%s'", name);
        /* CREATE MODEL heart names its directory HEART, as SQL names are
         * upper-cased unless quoted: say so rather than leave a puzzle. */
        char up[4096];
        size_t i = 0;
        for (; name[i] && i + 1 < sizeof up; i++)
            up[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
        up[i] = 0;
        long v = 0;
        if (rc == MP_ENOTFOUND && strcmp(up, name) && e &&
            snprintf(dir, sizeof dir, "%s/%s", bind_registry, up) < (int)sizeof dir &&
            mp_registry_latest(dir, &v, NULL) == 0) {
            size_t len = strlen(e->msg);
            snprintf(e->msg + len, sizeof e->msg - len,
                     " (there is a model '%s': CREATE MODEL upper-cases names that are not quoted)", up);
        }
    }
    if (rc) {
        if (r)
            free(r->dir);
        free(r);
        pthread_mutex_unlock(&refs_mu);
        return rc;
    }
    pthread_mutex_init(&r->mu, NULL);
    r->checked = mp_clock_now();
    r->next = refs;
    refs = r;
    pthread_mutex_unlock(&refs_mu);
    *out = r;
    return 0;
}

typedef enum { K_PREDICT, K_PROBA, K_ANOMALY } kind;

/* Scores one row of SQL values with m. */
static int score(const mp_model *m, const mp_value *args, size_t n, mp_predictions *p, mp_error *e)
{
    size_t nc = m->prep.ncols;
    if (n != nc)
        return mp_error_set(e, MP_EINVAL, "model takes %zu inputs, got %zu", nc, n);
    mp_dataset d = {0};
    mp_column cols[64];
    double X[64];
    char *levels[64];
    char idbuf[2] = "0";
    char *ids[1] = {idbuf};
    if (nc > 64)
        return mp_error_set(e, MP_EINVAL, "models with more than 64 inputs are not supported in SQL yet");
    for (size_t i = 0; i < nc; i++) {
        const mp_prep_col *pc = &m->prep.cols[i];
        cols[i] = (mp_column){.name = pc->name, .kind = pc->kind};
        if (pc->kind == MP_COL_CATEGORICAL) {
            levels[i] = args[i].null ? "" : (char *)args[i].u.str;
            cols[i].nlevels = 1;
            cols[i].levels = &levels[i];
            X[i] = args[i].null ? NAN : 0;
            continue;
        }
        const mp_value *v = &args[i];
        X[i] = NAN;
        if (v->null)
            continue;
        if (v->kind == MP_TYPE_INTEGER)
            X[i] = (double)v->u.i32;
        else if (v->kind == MP_TYPE_BIGINT)
            X[i] = (double)v->u.i64;
        else if (v->kind == MP_TYPE_DOUBLE)
            X[i] = v->u.f64;
        else if (v->kind == MP_TYPE_DECIMAL) {
            mp_decimal dd = mp_v_get_decimal(v);
            X[i] = mp_decimal_to_double(&dd);
        }
    }
    d.source = "sql";
    d.nrows = 1;
    d.ncols = nc;
    d.cols = cols;
    d.X = X;
    d.ids = ids;
    d.id_name = "id";
    return mp_model_predict(m, &d, NULL, 0, m->prep.missing == MP_MISSING_MEAN, p, e);
}

static int call(mp_fn_ctx *cx, const mp_value *args, size_t n, mp_value *out, const void *data,
                kind k)
{
    model_ref *r = (model_ref *)data;
    mp_model *m = ref_get(r);
    mp_predictions p = {0};
    int rc = score(m, args + 1, n - 1, &p, cx->e);
    if (rc == 0) {
        if (k == K_ANOMALY) {
            *out = mp_v_double(p.value[0]);
        } else if (k == K_PROBA) {
            if ((rc = mp_v_map(cx->arena, m->nclasses, NULL, NULL, out)) == 0)
                for (size_t c = 0; c < m->nclasses && !rc; c++) {
                    rc = mp_v_string(cx->arena, m->classes[c], strlen(m->classes[c]),
                                     &out->u.items[2 * c]);
                    out->u.items[2 * c + 1] = mp_v_double(p.proba[c]);
                }
        } else if (m->task == MP_TASK_CLASSIFY) {
            const char *l = m->classes[p.label[0]];
            rc = mp_v_string(cx->arena, l, strlen(l), out);
        } else if (m->task == MP_TASK_ANOMALY) {
            *out = mp_v_bool(p.label[0] != 0);
        } else {
            *out = mp_v_double(p.value[0]);
        }
    }
    mp_predictions_free(&p);
    mp_model_release(m);
    return rc;
}

static int call_predict(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *o, const void *d)
{
    return call(cx, a, n, o, d, K_PREDICT);
}
static int call_proba(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *o, const void *d)
{
    return call(cx, a, n, o, d, K_PROBA);
}
static int call_anomaly(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *o, const void *d)
{
    return call(cx, a, n, o, d, K_ANOMALY);
}

static int bind(const mp_type *const *args, const mp_value *const *lits, size_t n,
                mp_scalar_impl *out, mp_error *e, kind k, const char *fname)
{
    if (n < 1 || args[0]->kind != MP_TYPE_STRING || !lits[0] || lits[0]->null)
        return mp_error_set(e, MP_EINVAL, "%s needs the model's name as a string literal first: "
                            "%s('model', col, ...)", fname, fname);
    model_ref *r;
    int rc = ref_open(lits[0]->u.str, &r, e);
    if (rc)
        return rc;
    mp_model *m = ref_get(r);
    size_t nc = m->prep.ncols;
    if (n - 1 != nc) {
        rc = mp_error_set(e, MP_EINVAL, "%s: model '%s' takes %zu input%s (", fname, lits[0]->u.str,
                          nc, nc == 1 ? "" : "s");
        for (size_t i = 0; i < nc && e; i++) {
            size_t len = strlen(e->msg);
            snprintf(e->msg + len, sizeof e->msg - len, "%s%s", i ? ", " : "", m->prep.cols[i].name);
        }
        if (e) {
            size_t len = strlen(e->msg);
            snprintf(e->msg + len, sizeof e->msg - len, "), got %zu", n - 1);
        }
        mp_model_release(m);
        return rc;
    }
    for (size_t i = 0; i < nc; i++) {
        int cat = m->prep.cols[i].kind == MP_COL_CATEGORICAL;
        mp_type_kind t = args[i + 1]->kind;
        int ok = t == MP_TYPE_NULL || (cat ? t == MP_TYPE_STRING : mp_type_kind_is_numeric(t));
        if (!ok) {
            rc = mp_error_set(e, MP_EINVAL, "%s: input %zu of model '%s' (%s) is %s, got %s", fname,
                              i + 1, lits[0]->u.str, m->prep.cols[i].name,
                              cat ? "categorical (a STRING)" : "numeric", mp_type_kind_name(t));
            mp_model_release(m);
            return rc;
        }
    }
    if (k == K_ANOMALY && m->task != MP_TASK_ANOMALY) {
        mp_model_release(m);
        return mp_error_set(e, MP_EINVAL, "ANOMALY: model '%s' is a %s model, not an anomaly detector "
                            "(train one with --algorithm autoencoder)", lits[0]->u.str,
                            mp_task_name(m->task));
    }
    if (k == K_PROBA && m->task != MP_TASK_CLASSIFY) {
        mp_model_release(m);
        return mp_error_set(e, MP_EINVAL, "PREDICT_PROBA: model '%s' is not a classifier", lits[0]->u.str);
    }
    mp_type *ret = NULL;
    if (k == K_ANOMALY)
        ret = mp_type_new(MP_TYPE_DOUBLE);
    else if (k == K_PROBA)
        ret = mp_type_new_map(mp_type_new(MP_TYPE_STRING), mp_type_new(MP_TYPE_DOUBLE));
    else
        ret = mp_type_new(m->task == MP_TASK_CLASSIFY ? MP_TYPE_STRING
                          : m->task == MP_TASK_ANOMALY ? MP_TYPE_BOOLEAN
                                                       : MP_TYPE_DOUBLE);
    mp_model_release(m);
    if (!ret)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    out->fn = k == K_ANOMALY ? call_anomaly : k == K_PROBA ? call_proba : call_predict;
    out->data = r;
    out->ret = ret;
    out->null_in_null_out = 0;
    return 0;
}

static int bind_predict(const mp_type *const *a, const mp_value *const *l, size_t n,
                        mp_scalar_impl *o, mp_error *e)
{
    return bind(a, l, n, o, e, K_PREDICT, "PREDICT");
}
static int bind_proba(const mp_type *const *a, const mp_value *const *l, size_t n,
                      mp_scalar_impl *o, mp_error *e)
{
    return bind(a, l, n, o, e, K_PROBA, "PREDICT_PROBA");
}
static int bind_anomaly(const mp_type *const *a, const mp_value *const *l, size_t n,
                        mp_scalar_impl *o, mp_error *e)
{
    return bind(a, l, n, o, e, K_ANOMALY, "ANOMALY");
}

static const mp_fn_doc predict_docs[] = {
    {"(model STRING, inputs...)", "STRING | DOUBLE | BOOLEAN",
     "The model's prediction for the inputs: a class label, a value, or an anomaly flag."},
};
static const mp_fn_doc proba_docs[] = {
    {"(model STRING, inputs...)", "MAP<STRING, DOUBLE>", "A classifier's probability for each class."},
};
static const mp_fn_doc anomaly_docs[] = {
    {"(model STRING, inputs...)", "DOUBLE",
     "An anomaly detector's score: the reconstruction error; above the model's threshold is anomalous."},
};

static const mp_fn_def defs[] = {
    {"PREDICT", MP_FN_SCALAR, "ML", "Scores the inputs with a model from the registry.",
     predict_docs, 1, NULL, NULL, bind_predict, NULL, NULL},
    {"PREDICT_PROBA", MP_FN_SCALAR, "ML", "Class probabilities from a classifier in the registry.",
     proba_docs, 1, NULL, NULL, bind_proba, NULL, NULL},
    {"ANOMALY", MP_FN_SCALAR, "ML", "Anomaly score from an autoencoder in the registry.",
     anomaly_docs, 1, NULL, NULL, bind_anomaly, NULL, NULL},
};

int mp_model_fns_register(mp_fn_registry *r, mp_error *e)
{
    for (size_t i = 0; i < sizeof defs / sizeof defs[0]; i++) {
        int rc = mp_fn_register(r, &defs[i], 1, e);
        if (rc)
            return rc;
    }
    return 0;
}
