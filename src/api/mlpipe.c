/* The public API (include/mlpipe.h): thin wrappers that translate between
 * opaque handles and the library's modules, and turn mp_error records into
 * heap strings. */
#include "mlpipe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "data/dataset.h"
#include "data/table.h"
#include "ml/metrics.h"
#include "ml/model.h"

_Static_assert(MP_API_EINVAL == MP_EINVAL && MP_API_EINPUT == MP_EINPUT && MP_API_EIO == MP_EIO &&
                   MP_API_ENOMEM == MP_ENOMEM && MP_API_EFORMAT == MP_EFORMAT &&
                   MP_API_ENOTFOUND == MP_ENOTFOUND,
               "public and internal error codes differ");

const char *mp_version(void) { return MLPIPE_VERSION; }

void mp_free(void *p) { free(p); }

static int fail(char **err, const mp_error *e, int rc)
{
    if (err)
        *err = strdup(e->msg[0] ? e->msg : mp_strerror(rc));
    return rc;
}

int mp_dataset_read(const char *path, const char *target, const char *id, mp_dataset **out, char **err)
{
    mp_error e = {0};
    mp_load_opts o = {.target = target, .id = id, .missing = MP_MISSING_ERROR};
    int rc = mp_dataset_load(path, &o, out, &e);
    return rc ? fail(err, &e, rc) : 0;
}

size_t mp_dataset_rows(const mp_dataset *d) { return d->nrows; }
size_t mp_dataset_columns(const mp_dataset *d) { return d->ncols; }
void mp_dataset_free(mp_dataset *d) { mp_dataset_destroy(d); }

int mp_train(const mp_dataset *d, const char *algorithm, const char *const *params, mp_model **out,
             char **err)
{
    mp_error e = {0};
    mp_params p = {0};
    int rc = 0;
    for (size_t i = 0; params && params[i] && rc == 0; i++)
        rc = mp_params_add(&p, params[i], &e);
    if (rc == 0) {
        mp_train_opts o = {.algorithm = algorithm, .params = &p, .scale = -1, .seed = 42};
        rc = mp_model_train(d, NULL, 0, &o, out, &e);
    }
    mp_params_free(&p);
    return rc ? fail(err, &e, rc) : 0;
}

int mp_model_save_version(const mp_model *m, const char *model_dir, long *version, char **err)
{
    mp_error e = {0};
    int rc = mp_model_publish(m, model_dir, version, &e);
    return rc ? fail(err, &e, rc) : 0;
}

int mp_model_open(const char *path, mp_model **out, char **err)
{
    mp_error e = {0};
    int rc = mp_model_load(path, out, NULL, &e);
    return rc ? fail(err, &e, rc) : 0;
}

void mp_model_free(mp_model *m) { mp_model_release(m); }

int mp_model_is_classifier(const mp_model *m) { return m->task == MP_TASK_CLASSIFY; }
size_t mp_model_num_inputs(const mp_model *m) { return m->prep.ncols; }
const char *mp_model_input_name(const mp_model *m, size_t i)
{
    return i < m->prep.ncols ? m->prep.cols[i].name : NULL;
}
double mp_model_anomaly_threshold(const mp_model *m) { return mp_model_threshold(m); }
size_t mp_model_num_classes(const mp_model *m) { return m->task == MP_TASK_CLASSIFY ? m->nclasses : 0; }
const char *mp_model_class_label(const mp_model *m, size_t i)
{
    return i < mp_model_num_classes(m) ? m->classes[i] : NULL;
}

/* One row as a one-row dataset in the model's schema: the same typing,
 * level matching and imputation as a whole file gets. */
int mp_predict_row(const mp_model *m, const char *const *cells, size_t *label, double *proba,
                   double *value, char **err)
{
    mp_error e = {0};
    mp_buf csv = {0};
    for (size_t j = 0; j < m->prep.ncols; j++) {
        if (j)
            mp_buf_putc(&csv, ',');
        mp_buf_csv_field(&csv, m->prep.cols[j].name, ',');
    }
    mp_buf_putc(&csv, '\n');
    for (size_t j = 0; j < m->prep.ncols; j++) {
        if (j)
            mp_buf_putc(&csv, ',');
        mp_buf_csv_field(&csv, cells[j] ? cells[j] : "", ',');
    }
    mp_buf_putc(&csv, '\n');
    mp_table *t = NULL;
    mp_dataset *d = NULL;
    mp_column *schema = mp_prep_schema(&m->prep);
    mp_predictions p = {0};
    int rc = csv.oom || !schema ? mp_error_set(&e, MP_ENOMEM, "out of memory")
                                : mp_csv_parse("row", csv.data, csv.len, ',', &t, &e);
    if (rc == 0) {
        mp_load_opts o = {.missing = MP_MISSING_MEAN, .schema = schema, .nschema = m->prep.ncols};
        rc = mp_dataset_from_table(t, &o, &d, &e);
    }
    if (rc == 0)
        rc = mp_model_predict(m, d, NULL, 0, m->prep.missing == MP_MISSING_MEAN, &p, &e);
    if (rc == 0) {
        if (m->task == MP_TASK_CLASSIFY) {
            if (label)
                *label = p.label[0];
            if (proba)
                memcpy(proba, p.proba, m->nclasses * sizeof *proba);
        } else if (value) {
            *value = p.value[0];
        }
    }
    mp_predictions_free(&p);
    mp_dataset_destroy(d);
    mp_table_destroy(t);
    free(schema);
    mp_buf_free(&csv);
    return rc ? fail(err, &e, rc) : 0;
}

int mp_predict_dataset(const mp_model *m, const mp_dataset *d, double *out, double *proba, char **err)
{
    mp_error e = {0};
    mp_predictions p;
    int rc = mp_model_predict(m, d, NULL, 0, m->prep.missing == MP_MISSING_MEAN, &p, &e);
    if (rc)
        return fail(err, &e, rc);
    for (size_t i = 0; i < p.n; i++)
        out[i] = m->task == MP_TASK_CLASSIFY ? (double)p.label[i] : p.value[i];
    if (proba && m->task == MP_TASK_CLASSIFY)
        memcpy(proba, p.proba, p.n * m->nclasses * sizeof *proba);
    mp_predictions_free(&p);
    return 0;
}

int mp_evaluate(const mp_model *m, const mp_dataset *d, char **json, char **err)
{
    mp_error e = {0};
    size_t n = d->nrows;
    double *y = malloc((n ? n : 1) * sizeof *y);
    mp_predictions p = {0};
    mp_buf b = {0};
    int rc = y ? 0 : mp_error_set(&e, MP_ENOMEM, "out of memory");
    if (rc == 0 && !d->target_name)
        rc = mp_error_set(&e, MP_EINVAL, "%s: the dataset has no target to compare with", d->source);
    if (rc == 0 && m->task == MP_TASK_ANOMALY)
        rc = mp_error_set(&e, MP_EINVAL, "an anomaly detector has no target to compare with; "
                                         "compare its flags (mp_predict_dataset) with known labels");
    if (rc == 0)
        rc = mp_model_targets(m, d, NULL, 0, y, &e);
    if (rc == 0)
        rc = mp_model_predict(m, d, NULL, 0, m->prep.missing == MP_MISSING_MEAN, &p, &e);
    if (rc == 0 && m->task == MP_TASK_CLASSIFY) {
        int *ya = malloc(n * sizeof *ya), *yp = malloc(n * sizeof *yp);
        mp_class_metrics cm = {0};
        if (!ya || !yp)
            rc = mp_error_set(&e, MP_ENOMEM, "out of memory");
        for (size_t i = 0; rc == 0 && i < n; i++) {
            ya[i] = (int)y[i];
            yp[i] = (int)p.label[i];
        }
        if (rc == 0)
            rc = mp_metrics_classify(n, m->nclasses, ya, yp, p.proba, &cm, &e);
        if (rc == 0)
            mp_class_metrics_json(&cm, (const char *const *)m->classes, &b);
        mp_class_metrics_free(&cm);
        free(ya);
        free(yp);
    } else if (rc == 0) {
        mp_reg_metrics rm;
        rc = mp_metrics_regress(n, y, p.value, &rm, &e);
        if (rc == 0)
            mp_reg_metrics_json(&rm, &b);
    }
    if (rc == 0 && b.oom)
        rc = mp_error_set(&e, MP_ENOMEM, "out of memory");
    mp_predictions_free(&p);
    free(y);
    if (rc) {
        mp_buf_free(&b);
        return fail(err, &e, rc);
    }
    *json = mp_buf_take(&b);
    return 0;
}
