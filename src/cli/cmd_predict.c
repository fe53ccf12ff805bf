/* mlpipe predict: score rows with a saved model version. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ml/model.h"

static const char usage[] =
    "usage: mlpipe predict --model DIR[/N] DATA [--proba | --score] [--output PRED.csv]\n"
    "\n"
    "Scores each row of DATA (CSV with a header, or an IDX image file) with model\n"
    "version N of DIR (the newest when N is omitted) and writes id,prediction\n"
    "(and p_<class> probabilities with --proba) in the target's original labels.\n"
    "An anomaly detector (autoencoder) predicts 1 for a row whose anomaly score is\n"
    "above the model's threshold and 0 otherwise.\n"
    "\n"
    "  --model DIR[/N]   the model directory, or one version of it\n"
    "  --proba           add one probability column per class (classifiers)\n"
    "  --score           add the anomaly score column (anomaly detectors)\n"
    "  --output FILE     write here (atomically) instead of standard output\n"
    "  --missing M       error | mean: impute missing numbers with training means\n"
    "                    (default: as the model was trained)\n"
    "  --limit N         score only the first N rows\n"
    "  --delimiter C     input delimiter (default: detected)\n";

static const mp_flag flags[] = {
    {"model", 1, 0}, {"proba", 0, 0},     {"score", 0, 0},     {"output", 1, 0},    {"missing", 1, 0},
    {"limit", 1, 0}, {"delimiter", 1, 0}, {NULL, 0, 0},
};

/* Loads DATA with the model's input schema; the model's id column is used
 * when the file has it, rows are numbered from 0 otherwise. */
static int load_for_model(const char *path, const mp_model *m, char delim, size_t limit,
                          mp_missing_policy missing, mp_dataset **out, mp_error *e)
{
    mp_column *schema = mp_prep_schema(&m->prep);
    if (!schema)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    mp_load_opts lo = {
        .delimiter = delim, .missing = missing, .limit = limit, .schema = schema,
        .nschema = m->prep.ncols,
    };
    int rc;
    if (mp_is_idx_file(path)) {
        rc = mp_dataset_load(path, &lo, out, e);
    } else {
        mp_table *t = NULL;
        rc = mp_csv_read(path, delim, &t, e);
        if (rc == 0) {
            if (mp_table_find(t, m->id_name) >= 0)
                lo.id = m->id_name;
            rc = mp_dataset_from_table(t, &lo, out, e);
            mp_table_destroy(t);
        }
    }
    free(schema);
    return rc;
}

int mp_cmd_predict(int argc, char **argv)
{
    mp_args a;
    int rc = mp_args_parse(argc, argv, flags, &a, usage);
    if (rc)
        return rc;
    if (a.help) {
        fputs(usage, stdout);
        return 0;
    }
    const char *model = mp_args_get(&a, "model");
    if (a.npos != 1 || !model) {
        fprintf(stderr, "mlpipe predict: %s\n%s", a.npos != 1 ? "expected one DATA file" : "--model is required",
                usage);
        return 2;
    }
    unsigned long limit;
    char delim;
    if (mp_args_ulong(&a, "predict", "limit", 0, &limit) || mp_cli_delimiter(&a, "predict", &delim))
        return 2;
    mp_error e = {0};
    mp_model *m = NULL;
    mp_dataset *d = NULL;
    mp_predictions p = {0};
    mp_buf out = {0};
    long version;
    if ((rc = mp_model_load(model, &m, &version, &e)))
        goto done;
    mp_missing_policy missing;
    if (mp_cli_missing(&a, "predict", m->prep.missing == MP_MISSING_MEAN ? MP_MISSING_MEAN : MP_MISSING_ERROR,
                       &missing)) {
        rc = MP_EINVAL;
        e.msg[0] = 0;
        mp_model_release(m);
        return 2;
    }
    if (missing == MP_MISSING_DROP) {
        fprintf(stderr, "mlpipe predict: --missing drop would lose rows; use error or mean\n");
        mp_model_release(m);
        return 2;
    }
    /* Missing cells pass the loader as NaN and are imputed or reported by
     * the model's preprocessing, which knows the training means. */
    if ((rc = load_for_model(a.pos[0], m, delim, limit, MP_MISSING_MEAN, &d, &e)))
        goto done;
    if ((rc = mp_model_predict(m, d, NULL, 0, missing == MP_MISSING_MEAN, &p, &e)))
        goto done;
    int proba = mp_args_has(&a, "proba") && m->task == MP_TASK_CLASSIFY;
    int score = mp_args_has(&a, "score") && m->task == MP_TASK_ANOMALY;
    if (mp_args_has(&a, "proba") && !proba)
        fprintf(stderr, "mlpipe predict: warning: --proba ignored: a %s model has no class probabilities\n",
                mp_task_name(m->task));
    if (mp_args_has(&a, "score") && !score)
        fprintf(stderr, "mlpipe predict: warning: --score ignored: a %s model has no anomaly score\n",
                mp_task_name(m->task));
    mp_buf_puts(&out, score ? "id,prediction,score" : "id,prediction");
    for (size_t c = 0; proba && c < m->nclasses; c++) {
        char name[512];
        snprintf(name, sizeof name, "p_%s", m->classes[c]);
        mp_buf_putc(&out, ',');
        mp_buf_csv_field(&out, name, ',');
    }
    mp_buf_putc(&out, '\n');
    for (size_t i = 0; i < p.n; i++) {
        mp_buf_csv_field(&out, d->ids[i], ',');
        mp_buf_putc(&out, ',');
        if (m->task == MP_TASK_CLASSIFY)
            mp_buf_csv_field(&out, m->classes[p.label[i]], ',');
        else if (m->task == MP_TASK_ANOMALY)
            mp_buf_putc(&out, p.label[i] ? '1' : '0');
        else
            mp_buf_double(&out, p.value[i]);
        if (score) {
            mp_buf_putc(&out, ',');
            mp_buf_double(&out, p.value[i]);
        }
        for (size_t c = 0; proba && c < m->nclasses; c++) {
            mp_buf_putc(&out, ',');
            mp_buf_double(&out, p.proba[i * m->nclasses + c]);
        }
        mp_buf_putc(&out, '\n');
    }
    if ((rc = mp_cli_write_output(mp_args_get(&a, "output"), &out, &e)))
        goto done;
    if (p.unseen)
        fprintf(stderr, "mlpipe predict: warning: %zu cells held categories unseen in training "
                        "(encoded as all zeros)\n", p.unseen);
    if (mp_args_get(&a, "output"))
        fprintf(stderr, "predicted %zu rows with %s version %ld -> %s\n", p.n, model, version,
                mp_args_get(&a, "output"));
done:
    mp_buf_free(&out);
    mp_predictions_free(&p);
    mp_dataset_destroy(d);
    mp_model_release(m);
    return rc ? mp_cli_fail("predict", &e) : 0;
}
