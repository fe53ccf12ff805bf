/* mlpipe train: fit a model on labelled rows and publish it as the next
 * version of a model directory. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "ml/model.h"

static const char usage[] =
    "usage: mlpipe train DATA --target COL --algorithm ALGO --model-dir DIR [options]\n"
    "\n"
    "Trains ALGO on DATA (CSV with a header, or an IDX image file with --labels) and\n"
    "writes the next version DIR/N/model.safetensors (N = highest existing + 1).\n"
    "Older versions are never touched.\n"
    "\n"
    "  --algorithm A      knn | naive-bayes | linear-regression | logistic-regression |\n"
    "                     mlp | cnn | lstm | gru | autoencoder | nn (see docs/neural-networks.md)\n"
    "  --target COL       the column to predict (IDX data: implied by --labels; an\n"
    "                     autoencoder needs none and never uses it as a feature)\n"
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
    "                     neural networks: hidden, momentum, weight_decay,\n"
    "                          validation_split, patience, threshold_percentile\n"
    "  --layers SPEC      a network, e.g. \"conv2d(8,3) relu maxpool(2) flatten dense(10) softmax\"\n"
    "  --input-shape S    the shape of one row for the network, e.g. 1x28x28 (IDX: from the file)\n"
    "  --epochs N         neural networks: passes over the data (default 10)\n"
    "  --batch-size N     neural networks: rows per update (default 64)\n"
    "  --learning-rate X  neural networks: step size (default 0.001)\n"
    "  --optimizer O      neural networks: adam | sgd (default adam)\n"
    "  --scale S          standard | minmax | none (default: standard for knn,\n"
    "                     logistic-regression and networks on tabular data, none otherwise)\n"
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
    {"delimiter", 1, 0}, MP_CLI_NN_FLAGS, {NULL, 0, 0},
};

#define MAX_SCORED_ROWS 5000

/* Training progress on stderr: a live bar on a terminal, one line per
 * epoch otherwise (logs and pipes get no carriage returns). */
typedef struct progress {
    int tty;
    double last_draw;
    size_t epochs;
    int drawn;
} progress;

static void fmt_metric(char *buf, size_t n, const char *name, double v)
{
    if (isnan(v))
        buf[0] = '\0';
    else
        snprintf(buf, n, " %s %.4f", name, v);
}

static void on_fit_event(void *ctx, const mp_fit_event *ev)
{
    progress *p = ctx;
    char acc[32], vl[32], va[32];
    if (!ev->epoch_end) {
        p->epochs = ev->epochs;
        if (!p->tty || (ev->elapsed - p->last_draw < 0.1 && ev->done < ev->total))
            return;
        p->last_draw = ev->elapsed;
        const int width = 24;
        int fill = ev->total ? (int)((double)width * (double)ev->done / (double)ev->total) : 0;
        char bar[32];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
        bar[width] = '\0';
        double eta = ev->samples_per_s > 0 ? (double)(ev->total - ev->done) / ev->samples_per_s : 0;
        fmt_metric(acc, sizeof acc, "acc", ev->acc);
        fprintf(stderr, "\repoch %zu/%zu [%s] %3.0f%% loss %.4f%s %.0f samples/s ETA %.0fs \033[K",
                ev->epoch, ev->epochs, bar,
                ev->total ? 100.0 * (double)ev->done / (double)ev->total : 0.0, ev->loss, acc,
                ev->samples_per_s, eta);
        p->drawn = 1;
        return;
    }
    if (p->drawn)
        fputs("\r\033[K", stderr);
    p->drawn = 0;
    p->last_draw = 0;
    fmt_metric(acc, sizeof acc, "acc", ev->acc);
    fmt_metric(vl, sizeof vl, "val_loss", ev->val_loss);
    fmt_metric(va, sizeof va, "val_acc", ev->val_acc);
    fprintf(stderr, "epoch %zu/%zu: loss %.4f%s%s%s (%.1f s, %.0f samples/s)\n", ev->epoch,
            p->epochs, ev->loss, acc, vl, va, ev->elapsed, ev->samples_per_s);
}

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
    progress prog = {.tty = isatty(STDERR_FILENO)};
    mp_fit_observer obs = {on_fit_event, &prog};
    tr.train.observer = &obs;
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
    const char *metric = m->task == MP_TASK_CLASSIFY ? "accuracy"
                         : m->task == MP_TASK_REGRESS ? "r2"
                                                      : "flagged";
    char mj[128];
    snprintf(mj, sizeof mj, "{\"%s\":%.17g,\"rows_scored\":%zu}", metric, score, ns);
    free(m->metrics_json);
    m->metrics_json = strdup(mj);
    long version;
    if ((rc = mp_model_publish(m, model_dir, &version, &e)))
        goto done;

    printf("trained %s (%s) on %zu rows x %zu features", algorithm, mp_task_name(m->task),
           d->nrows, d->ncols);
    if (m->task == MP_TASK_CLASSIFY)
        printf(", %zu classes", m->nclasses);
    if (m->train_seconds < 1.0)
        printf(" in %.1f ms\n", m->train_seconds * 1000.0);
    else
        printf(" in %.2f s\n", m->train_seconds);
    if (d->ndropped)
        printf("dropped %zu rows with missing values\n", d->ndropped);
    if (m->task == MP_TASK_ANOMALY)
        printf("anomaly threshold: %.6g (training rows flagged: %.2f%% of %zu)\n",
               mp_model_threshold(m), 100.0 * score, ns);
    else
        printf("training %s: %.4f (%zu rows)\n", m->task == MP_TASK_CLASSIFY ? "accuracy" : "R2",
               score, ns);
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
