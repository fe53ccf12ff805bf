/* mlpipe train: fit a model on labelled rows and publish it as the next
 * version of a model directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "ml/model.h"

static const char usage[] =
    "usage: mlpipe train DATA --target COL --algorithm ALGO --model-dir DIR [options]\n"
    "\n"
    "Trains ALGO on DATA (CSV with a header, or an IDX image file with --labels) and\n"
    "writes the next version DIR/N/model.safetensors (N = highest existing + 1).\n"
    "Older versions are never touched.\n"
    "\n"
    "  --algorithm A      knn | naive-bayes | linear-regression | logistic-regression\n"
    "  --target COL       the column to predict (IDX data: implied by --labels)\n"
    "  --model-dir DIR    the model's directory of versions\n"
    "  --id COL           the row id column; never used as a feature\n"
    "  --param NAME=VAL   a hyper-parameter (repeatable); see docs/algorithms.md\n"
    "                     knn: k, weights=uniform|distance, metric=euclidean|manhattan|cosine,\n"
    "                          algorithm=auto|brute|kd_tree\n"
    "                     naive-bayes: var_smoothing, alpha\n"
    "                     linear-regression: alpha, fit_intercept, solver=auto|gram|lstsq\n"
    "                     logistic-regression: C, solver=lbfgs|newton, max_iter, tol,\n"
    "                          class_weight=none|balanced, fit_intercept,\n"
    "                          precision=auto|double|mixed\n"
    "  --scale S          standard | minmax | none (default: standard for knn and\n"
    "                     logistic-regression, none otherwise)\n"
    "  --missing M        error | drop | mean for empty, NA or ? cells (default error)\n"
    "  --task T           classification | regression (default: from algorithm and target)\n"
    "  --categorical COL  treat COL as categorical even if it holds numbers (repeatable)\n"
    "  --labels FILE      IDX label file for IDX image data\n"
    "  --limit N          use only the first N rows\n"
    "  --seed N           seed for algorithms with randomness (default 42)\n"
    "  --delimiter C      input delimiter (default: detected)\n";

static const mp_flag flags[] = {
    {"target", 1, 0},   {"algorithm", 1, 0}, {"model-dir", 1, 0},   {"id", 1, 0},
    {"param", 1, 1},    {"scale", 1, 0},     {"missing", 1, 0},     {"task", 1, 0},
    {"categorical", 1, 1}, {"labels", 1, 0}, {"limit", 1, 0},       {"seed", 1, 0},
    {"delimiter", 1, 0}, {NULL, 0, 0},
};

#define MAX_SCORED_ROWS 5000

int mp_cmd_train(int argc, char **argv)
{
    mp_args a;
    int rc = mp_args_parse(argc, argv, flags, &a, usage);
    if (rc)
        return rc;
    if (a.help) {
        fputs(usage, stdout);
        return 0;
    }
    const char *model_dir = mp_args_get(&a, "model-dir");
    if (!model_dir) {
        fprintf(stderr, "mlpipe train: --model-dir is required\n%s", usage);
        return 2;
    }
    mp_cli_training tr;
    if ((rc = mp_cli_training_parse(&a, "train", usage, &tr)))
        return rc;
    const char *algorithm = tr.train.algorithm;
    mp_error e = {0};
    mp_dataset *d = NULL;
    mp_model *m = NULL;
    size_t *scored = NULL;
    if ((rc = mp_dataset_load(tr.data, &tr.load, &d, &e)))
        goto done;
    if ((rc = mp_model_train(d, NULL, 0, &tr.train, &m, &e)))
        goto done;
    /* The training score on at most MAX_SCORED_ROWS evenly spaced rows:
     * enough to spot a broken fit without re-predicting a huge set. */
    size_t ns = d->nrows < MAX_SCORED_ROWS ? d->nrows : MAX_SCORED_ROWS;
    scored = malloc(ns * sizeof *scored);
    if (!scored) {
        rc = mp_error_set(&e, MP_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < ns; i++)
        scored[i] = i * d->nrows / ns;
    double score;
    if ((rc = mp_model_score(m, d, scored, ns, &score, &e)))
        goto done;
    const char *metric = m->task == MP_TASK_CLASSIFY ? "accuracy" : "r2";
    char mj[128];
    snprintf(mj, sizeof mj, "{\"%s\":%.17g,\"rows_scored\":%zu}", metric, score, ns);
    free(m->metrics_json);
    m->metrics_json = strdup(mj);
    long version;
    if ((rc = mp_model_publish(m, model_dir, &version, &e)))
        goto done;

    printf("trained %s (%s) on %zu rows x %zu features", algorithm,
           m->task == MP_TASK_CLASSIFY ? "classification" : "regression", d->nrows, d->ncols);
    if (m->task == MP_TASK_CLASSIFY)
        printf(", %zu classes", m->nclasses);
    if (m->train_seconds < 1.0)
        printf(" in %.1f ms\n", m->train_seconds * 1000.0);
    else
        printf(" in %.2f s\n", m->train_seconds);
    if (d->ndropped)
        printf("dropped %zu rows with missing values\n", d->ndropped);
    printf("training %s: %.4f (%zu rows)\n", m->task == MP_TASK_CLASSIFY ? "accuracy" : "R2", score, ns);
    if (m->fit_info_json && strstr(m->fit_info_json, "\"converged\":false"))
        fprintf(stderr, "mlpipe train: warning: the solver did not converge (%s); "
                        "consider --param max_iter=N or --scale standard\n", m->fit_info_json);
    char path[4096];
    snprintf(path, sizeof path, "%s/%ld/model.safetensors", model_dir, version);
    struct stat st;
    printf("model version %ld: %s", version, path);
    if (stat(path, &st) == 0)
        printf(" (%.1f kB)", (double)st.st_size / 1024.0);
    printf("\n");
done:
    free(scored);
    mp_model_release(m);
    mp_dataset_destroy(d);
    mp_cli_training_free(&tr);
    return rc ? mp_cli_fail("train", &e) : 0;
}
