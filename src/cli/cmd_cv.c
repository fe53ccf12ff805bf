/* mlpipe cv: k-fold cross-validation of an algorithm on labelled rows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ml/model.h"
#include "ml/split.h"

static const char usage[] =
    "usage: mlpipe cv DATA --target COL --algorithm ALGO [--folds 5] [--seed N] [options]\n"
    "\n"
    "Splits DATA into k folds (stratified for classification), trains on k-1 and\n"
    "scores the held-out fold each time, and prints the metric per fold and its\n"
    "mean +- standard deviation: accuracy for classification, R2 for regression.\n"
    "Preprocessing is fitted inside each fold, on its training rows only.\n"
    "\n"
    "  --folds K          number of folds (default 5)\n"
    "  --seed N           seed of the shuffle before dealing folds (default 42)\n"
    "  --algorithm, --target, --id, --param, --scale, --missing, --task,\n"
    "  --categorical, --labels, --limit, --delimiter: as for 'mlpipe train'\n";

static const mp_flag flags[] = {
    {"target", 1, 0}, {"algorithm", 1, 0}, {"folds", 1, 0},   {"seed", 1, 0},
    {"id", 1, 0},     {"param", 1, 1},     {"scale", 1, 0},   {"missing", 1, 0},
    {"task", 1, 0},   {"categorical", 1, 1}, {"labels", 1, 0}, {"limit", 1, 0},
    {"delimiter", 1, 0}, MP_CLI_NN_FLAGS, {NULL, 0, 0},
};

int mp_cmd_cv(int argc, char **argv)
{
    mp_args a;
    int rc = mp_args_parse(argc, argv, flags, &a, usage);
    if (rc)
        return rc;
    if (a.help) {
        fputs(usage, stdout);
        return 0;
    }
    mp_cli_training tr;
    if ((rc = mp_cli_training_parse(&a, "cv", usage, &tr)))
        return rc;
    const char *algorithm = tr.train.algorithm;
    const mp_algo *algo = mp_algo_find(algorithm);
    unsigned long folds;
    if (mp_args_ulong(&a, "cv", "folds", 5, &folds)) {
        mp_cli_training_free(&tr);
        return 2;
    }
    mp_error e = {0};
    mp_dataset *d = NULL;
    size_t *fold = NULL, *strata = NULL, *tr_rows = NULL, *te = NULL;
    double *scores = NULL;
    if ((rc = mp_dataset_load(tr.data, &tr.load, &d, &e)))
        goto done;
    mp_task the_task;
    if ((rc = mp_model_infer_task(algo, d, tr.train.task, &the_task, &e)))
        goto done;
    if (the_task == MP_TASK_ANOMALY) {
        rc = mp_error_set(&e, MP_EINVAL, "cross-validation needs a target to score; evaluate an "
                                         "anomaly detector with predict and eval on labelled rows");
        goto done;
    }
    size_t n = d->nrows, nstrata = 0;
    fold = malloc(n * sizeof *fold);
    tr_rows = malloc(n * sizeof *tr_rows);
    te = malloc(n * sizeof *te);
    scores = calloc(folds ? folds : 1, sizeof *scores);
    if (!fold || !tr_rows || !te || !scores) {
        rc = mp_error_set(&e, MP_ENOMEM, "out of memory");
        goto done;
    }
    if (the_task == MP_TASK_CLASSIFY) {
        /* Stratify by label text, as the model's classes are. */
        strata = malloc(n * sizeof *strata);
        mp_strmap *ix = mp_strmap_create();
        if (!strata || !ix) {
            mp_strmap_destroy(ix);
            rc = mp_error_set(&e, MP_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            int c = mp_strmap_get(ix, d->y_text[i]);
            if (c < 0) {
                c = (int)nstrata++;
                mp_strmap_put(ix, d->y_text[i], c);
            }
            strata[i] = (size_t)c;
        }
        mp_strmap_destroy(ix);
    }
    if ((rc = mp_split_kfold(n, folds, tr.train.seed, strata, nstrata, fold, &e)))
        goto done;
    const char *metric = the_task == MP_TASK_CLASSIFY ? "accuracy" : "R2";
    printf("%-6s %8s %8s %10s\n", "fold", "train", "test", metric);
    for (size_t k = 0; k < folds; k++) {
        size_t ntr = 0, nte = 0;
        for (size_t i = 0; i < n; i++) {
            if (fold[i] == k)
                te[nte++] = i;
            else
                tr_rows[ntr++] = i;
        }
        /* The parameters are read afresh by every fold's training. */
        if (tr.params.n)
            memset(tr.params.used, 0, tr.params.n);
        mp_model *m = NULL;
        mp_train_opts to = tr.train;
        to.task = (int)the_task;
        rc = mp_model_train(d, tr_rows, ntr, &to, &m, &e);
        if (rc == 0)
            rc = mp_model_score(m, d, te, nte, &scores[k], &e);
        mp_model_release(m);
        if (rc) {
            mp_error_prefix(&e, "fold %zu", k + 1);
            goto done;
        }
        printf("%-6zu %8zu %8zu %10.4f\n", k + 1, ntr, nte, scores[k]);
    }
    double mean = 0, var = 0;
    for (size_t k = 0; k < folds; k++)
        mean += scores[k];
    mean /= (double)folds;
    for (size_t k = 0; k < folds; k++)
        var += (scores[k] - mean) * (scores[k] - mean);
    printf("%s (%s, %lu folds): %.4f +- %.4f\n", metric, algorithm, folds, mean, sqrt(var / (double)folds));
done:
    free(fold);
    free(strata);
    free(tr_rows);
    free(te);
    free(scores);
    mp_dataset_destroy(d);
    mp_cli_training_free(&tr);
    return rc ? mp_cli_fail("cv", &e) : 0;
}
