/* mlpipe's side of `make bench-ml`: trains and predicts with the library
 * on the files bench/sklearn_side.py prepared, timing mp_model_train and
 * mp_model_predict in-process (file parsing excluded), and prints the
 * timings and metrics as one JSON document for bench/run-bench-ml.
 *
 * usage: bench_ml DATA_DIR FASHION_DIR [ROW_ID...]
 *   DATA_DIR holds cls_{train,test}.csv and reg_{train,test}.csv (target
 *   column "y"); FASHION_DIR the four Fashion-MNIST IDX .gz files. With ROW_IDs
 *   only those rows run (handy under perf). The rows, their parameters and
 *   repeat counts are the ones sklearn_side.py uses; each time is the best
 *   of its repeats. Threads are left at their defaults. */
#include <cblas.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/error.h"
#include "data/dataset.h"
#include "ml/model.h"
#include "ml/params.h"
#include "ml/preprocess.h"

enum { DS_CLS, DS_REG, DS_FM, DS_COUNT };

static const char *const ds_names[DS_COUNT] = {"classification", "regression", "fashion-mnist"};

typedef struct bench_row {
    const char *id;
    int dataset;
    const char *algorithm;
    int fit_repeats, predict_repeats;
    const char *params[4]; /* NAME=VALUE, NULL-terminated */
    int scale;             /* mp_scale, or -1 for the algorithm's default */
    size_t test_limit;     /* predict only the first rows of the test set; 0: all */
} bench_row;

/* Keep in step with ROWS in sklearn_side.py. */
static const bench_row rows[] = {
    {"cls-nb", DS_CLS, "naive-bayes", 3, 3, {NULL}, -1, 0},
    {"cls-logreg", DS_CLS, "logistic-regression", 3, 3, {"max_iter=100", NULL}, -1, 0},
    {"cls-knn", DS_CLS, "knn", 3, 3, {"k=5", NULL}, -1, 0},
    {"reg-linreg", DS_REG, "linear-regression", 3, 3, {NULL}, -1, 0},
    {"fm-knn", DS_FM, "knn", 3, 3, {"k=5", NULL}, -1, 2000},
    {"fm-nb", DS_FM, "naive-bayes", 3, 3, {NULL}, -1, 0},
    /* Pixels are already in [0, 1]; scikit-learn's side uses them as they are. */
    {"fm-logreg", DS_FM, "logistic-regression", 2, 3, {"max_iter=100", NULL}, MP_SCALE_NONE, 0},
};
#define NROWS (sizeof rows / sizeof rows[0])

typedef struct loaded {
    mp_dataset *train, *test;
    double load_s;
    int tried;
    char err[MP_ERROR_MSG_MAX + 64];
} loaded;

static int load_pair(loaded *l, int ds, const char *data_dir, const char *fm_dir)
{
    char tr[4096], te[4096], trl[4096], tel[4096];
    mp_error e = {0};
    mp_load_opts o = {.target = "y", .missing = MP_MISSING_ERROR};
    if (ds == DS_FM) {
        snprintf(tr, sizeof tr, "%s/train-images-idx3-ubyte.gz", fm_dir);
        snprintf(trl, sizeof trl, "%s/train-labels-idx1-ubyte.gz", fm_dir);
        snprintf(te, sizeof te, "%s/t10k-images-idx3-ubyte.gz", fm_dir);
        snprintf(tel, sizeof tel, "%s/t10k-labels-idx1-ubyte.gz", fm_dir);
        o.target = NULL;
    } else {
        const char *stem = ds == DS_CLS ? "cls" : "reg";
        snprintf(tr, sizeof tr, "%s/%s_train.csv", data_dir, stem);
        snprintf(te, sizeof te, "%s/%s_test.csv", data_dir, stem);
    }
    l->tried = 1;
    double t0 = mp_clock_now();
    if (ds == DS_FM)
        o.labels = trl;
    int rc = mp_dataset_load(tr, &o, &l->train, &e);
    if (ds == DS_FM)
        o.labels = tel;
    if (rc == 0)
        rc = mp_dataset_load(te, &o, &l->test, &e);
    l->load_s = mp_clock_now() - t0;
    if (rc) {
        snprintf(l->err, sizeof l->err, "loading %s: %s", ds_names[ds], e.msg);
        fprintf(stderr, "bench_ml: %s\n", l->err);
    } else {
        fprintf(stderr, "bench_ml: loaded %s (%zu + %zu rows, %zu features) in %.2f s\n",
                ds_names[ds], l->train->nrows, l->test->nrows, l->train->ncols, l->load_s);
    }
    return rc;
}

static json_t *raw_json(const char *s)
{
    json_t *v = s ? json_loads(s, JSON_DECODE_ANY, NULL) : NULL;
    return v ? v : json_null();
}

/* Accuracy or R² of predictions p of the test rows sel[0, n) (rows
 * [0, n) when sel is NULL). */
static int metric_of(const mp_model *m, const mp_dataset *test, const size_t *sel, size_t n,
                     const mp_predictions *p, double *out, mp_error *e)
{
    if (m->task == MP_TASK_REGRESS) {
        double mean = 0, ss_res = 0, ss_tot = 0;
        for (size_t i = 0; i < n; i++)
            mean += test->y[i];
        mean /= (double)n;
        for (size_t i = 0; i < n; i++) {
            double r = test->y[i] - p->value[i], t = test->y[i] - mean;
            ss_res += r * r;
            ss_tot += t * t;
        }
        *out = ss_tot > 0 ? 1.0 - ss_res / ss_tot : NAN;
        return 0;
    }
    double *y = malloc(n * sizeof *y);
    if (!y)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    int rc = mp_model_targets(m, test, sel, n, y, e);
    size_t correct = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        correct += p->label[i] == (size_t)y[i];
    free(y);
    *out = (double)correct / (double)n;
    return rc;
}

static json_t *run_row(const bench_row *r, const loaded *l)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(r->id));
    json_object_set_new(o, "dataset", json_string(ds_names[r->dataset]));
    json_object_set_new(o, "algorithm", json_string(r->algorithm));
    if (l->err[0]) {
        json_object_set_new(o, "error", json_string(l->err));
        return o;
    }
    const mp_dataset *train = l->train, *test = l->test;
    size_t ntest = r->test_limit && r->test_limit < test->nrows ? r->test_limit : test->nrows;
    /* The library takes "all rows" (NULL) or a row list; a limit needs a list. */
    size_t *sel = NULL;
    if (ntest < test->nrows) {
        if (!(sel = malloc(ntest * sizeof *sel))) {
            json_object_set_new(o, "error", json_string("out of memory"));
            return o;
        }
        for (size_t i = 0; i < ntest; i++)
            sel[i] = i;
    }
    mp_error e = {0};
    mp_model *m = NULL;
    mp_predictions p = {0};
    double fit_best = INFINITY, pred_best = INFINITY, metric = NAN;
    int rc = 0;
    for (int i = 0; rc == 0 && i < r->fit_repeats; i++) {
        mp_params params = {0};
        for (size_t j = 0; rc == 0 && r->params[j]; j++)
            rc = mp_params_add(&params, r->params[j], &e);
        mp_train_opts to = {.algorithm = r->algorithm, .params = &params, .scale = r->scale,
                            .missing = MP_MISSING_ERROR, .task = 0, .seed = 42};
        mp_model_release(m);
        m = NULL;
        if (rc == 0) {
            double t0 = mp_clock_now();
            rc = mp_model_train(train, NULL, 0, &to, &m, &e);
            double t = mp_clock_now() - t0;
            if (t < fit_best)
                fit_best = t;
        }
        mp_params_free(&params);
    }
    for (int i = 0; rc == 0 && i < r->predict_repeats; i++) {
        mp_predictions_free(&p);
        double t0 = mp_clock_now();
        rc = mp_model_predict(m, test, sel, ntest, 0, &p, &e);
        double t = mp_clock_now() - t0;
        if (t < pred_best)
            pred_best = t;
    }
    if (rc == 0)
        rc = metric_of(m, test, sel, ntest, &p, &metric, &e);
    if (rc) {
        fprintf(stderr, "bench_ml: %s: %s\n", r->id, e.msg);
        json_object_set_new(o, "error", json_string(e.msg));
    } else {
        int regress = m->task == MP_TASK_REGRESS;
        json_object_set_new(o, "train_rows", json_integer((json_int_t)train->nrows));
        json_object_set_new(o, "test_rows", json_integer((json_int_t)ntest));
        json_object_set_new(o, "features", json_integer((json_int_t)train->ncols));
        json_object_set_new(o, "fit_repeats", json_integer(r->fit_repeats));
        json_object_set_new(o, "predict_repeats", json_integer(r->predict_repeats));
        json_object_set_new(o, "fit_s", json_real(fit_best));
        json_object_set_new(o, "predict_s", json_real(pred_best));
        json_object_set_new(o, "metric_name", json_string(regress ? "r2" : "accuracy"));
        json_object_set_new(o, "metric", json_real(metric));
        json_object_set_new(o, "scale", json_string(mp_scale_name(m->prep.scale)));
        json_object_set_new(o, "params", raw_json(m->params_json));
        json_object_set_new(o, "fit_info", raw_json(m->fit_info_json));
        fprintf(stderr, "bench_ml: %-10s fit %.3f s predict %.3f s %s %.4f\n", r->id, fit_best,
                pred_best, regress ? "r2" : "accuracy", metric);
    }
    mp_predictions_free(&p);
    mp_model_release(m);
    free(sel);
    return o;
}

static int wanted(const char *id, int argc, char **argv)
{
    if (argc <= 3)
        return 1;
    for (int i = 3; i < argc; i++)
        if (!strcmp(argv[i], id))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_ml DATA_DIR FASHION_DIR [ROW_ID...]\n");
        return 2;
    }
    for (int i = 3; i < argc; i++) {
        int known = 0;
        for (size_t j = 0; j < NROWS; j++)
            known |= !strcmp(argv[i], rows[j].id);
        if (!known) {
            fprintf(stderr, "bench_ml: unknown row '%s' (rows:", argv[i]);
            for (size_t j = 0; j < NROWS; j++)
                fprintf(stderr, " %s", rows[j].id);
            fprintf(stderr, ")\n");
            return 2;
        }
    }
    loaded data[DS_COUNT];
    memset(data, 0, sizeof data);
    json_t *results = json_array(), *loads = json_object();
    for (size_t i = 0; i < NROWS; i++) {
        const bench_row *r = &rows[i];
        if (!wanted(r->id, argc, argv))
            continue;
        loaded *l = &data[r->dataset];
        if (!l->tried && load_pair(l, r->dataset, argv[1], argv[2]) == 0)
            json_object_set_new(loads, ds_names[r->dataset], json_real(l->load_s));
        json_array_append_new(results, run_row(r, l));
        /* Free a data set once no later row needs it (the regression one is
         * large). */
        int later = 0;
        for (size_t j = i + 1; j < NROWS; j++)
            later |= rows[j].dataset == r->dataset && wanted(rows[j].id, argc, argv);
        if (!later) {
            mp_dataset_destroy(l->train);
            mp_dataset_destroy(l->test);
            l->train = l->test = NULL;
        }
    }
    json_t *versions = json_object();
    json_object_set_new(versions, "openblas_config", json_string(openblas_get_config()));
    json_object_set_new(versions, "openblas_core", json_string(openblas_get_corename()));
    json_object_set_new(versions, "openblas_threads", json_integer(openblas_get_num_threads()));
    json_object_set_new(versions, "online_cpus", json_integer(sysconf(_SC_NPROCESSORS_ONLN)));
    json_t *doc = json_object();
    json_object_set_new(doc, "side", json_string("mlpipe"));
    json_object_set_new(doc, "versions", versions);
    json_object_set_new(doc, "load_s", loads);
    json_object_set_new(doc, "results", results);
    /* All threads' CPU time, for the runner's background-load estimate. */
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        json_object_set_new(doc, "process_cpu_s",
                            json_real((double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                                      (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6));
    int rc = json_dumpf(doc, stdout, JSON_INDENT(1) | JSON_REAL_PRECISION(17));
    fputc('\n', stdout);
    json_decref(doc);
    return rc ? 1 : 0;
}
