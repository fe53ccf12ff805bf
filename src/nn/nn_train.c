/* Mini-batch training: validation split, shuffled batches, forward with
 * every layer's output kept, loss, backward in reverse, optimizer step,
 * validation, early stopping. Every buffer is allocated once before the
 * first epoch; the loop itself never allocates. */
#include "nn/train.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/rng.h"
#include "nn/layers.h"
#include "nn/nn_blas.h"
#include "nn/nn_loss.h"
#include "nn/nn_optim.h"

/* Seconds between two progress reports. */
#define PROGRESS_INTERVAL 0.1

void mp_nn_train_defaults(mp_nn_train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->loss = MP_NN_LOSS_CE;
    o->optimizer = MP_NN_OPT_ADAM;
    o->epochs = 10;
    o->batch_size = 64;
    o->learning_rate = 1e-3;
    o->momentum = 0.0; /* PyTorch's SGD default */
    o->weight_decay = 0.0;
    o->validation_split = 0.0;
    o->patience = 0;
    o->seed = 0;
}

void mp_nn_history_free(mp_nn_history *h)
{
    if (!h)
        return;
    free(h->ep);
    memset(h, 0, sizeof *h);
}

/* Samples held out: the fraction rounded down (the tiny epsilon keeps
 * 0.29 * 100 at 29), but at least one when a split is asked for. */
static size_t validation_count(double split, size_t n)
{
    size_t v = (size_t)(split * (double)n + 1e-9);
    return split > 0 && v == 0 ? 1 : v;
}

/* Everything checked before any update, so a bad call leaves the network
 * untouched. */
static int check_call(const mp_nn_net *net, const float *X, const float *Y, size_t n,
                      const mp_nn_train_opts *o, mp_error *e)
{
    if (!net || !o || !X)
        return mp_error_set(e, MP_EINVAL, "mp_nn_train: missing network, options or inputs");
    if (n == 0)
        return mp_error_set(e, MP_EINVAL, "training needs at least one sample");
    if (o->loss != MP_NN_LOSS_CE && o->loss != MP_NN_LOSS_BCE && o->loss != MP_NN_LOSS_MSE)
        return mp_error_set(e, MP_EINVAL, "unknown loss %d", (int)o->loss);
    if (o->optimizer != MP_NN_OPT_ADAM && o->optimizer != MP_NN_OPT_SGD)
        return mp_error_set(e, MP_EINVAL, "unknown optimizer %d", (int)o->optimizer);
    if (o->epochs < 1)
        return mp_error_set(e, MP_EINVAL, "epochs must be at least 1, got %zu", o->epochs);
    if (o->batch_size < 1 || o->batch_size > INT_MAX)
        return mp_error_set(e, MP_EINVAL, "batch_size must be from 1 to %d, got %zu", INT_MAX,
                            o->batch_size);
    if (!(o->learning_rate > 0) || !isfinite(o->learning_rate))
        return mp_error_set(e, MP_EINVAL, "learning_rate must be a positive number, got %g",
                            o->learning_rate);
    if (!(o->momentum >= 0 && o->momentum < 1))
        return mp_error_set(e, MP_EINVAL, "momentum must be in [0, 1), got %g", o->momentum);
    if (!(o->weight_decay >= 0) || !isfinite(o->weight_decay))
        return mp_error_set(e, MP_EINVAL, "weight_decay must be 0 or more, got %g",
                            o->weight_decay);
    if (!(o->validation_split >= 0 && o->validation_split <= 0.9))
        return mp_error_set(e, MP_EINVAL, "validation_split must be in [0, 0.9], got %g",
                            o->validation_split);
    if (o->patience && o->validation_split == 0)
        return mp_error_set(e, MP_EINVAL,
                            "patience (early stopping) watches the validation loss; "
                            "set validation_split too");

    const mp_nn_layer *last = &net->layers[net->nlayers - 1];
    size_t insz = mp_nn_shape_size(net->in), outsz = mp_nn_shape_size(last->out);
    if (o->loss == MP_NN_LOSS_CE && last->ops != &mp_nn_softmax_ops)
        return mp_error_set(e, MP_EINVAL,
                            "cross-entropy needs softmax as the last layer, got layer %d (%s)",
                            last->index, last->text);
    if (o->loss == MP_NN_LOSS_BCE && last->ops != &mp_nn_sigmoid_ops)
        return mp_error_set(e, MP_EINVAL,
                            "binary cross-entropy needs sigmoid as the last layer, got layer %d "
                            "(%s)", last->index, last->text);
    if (!Y && o->loss == MP_NN_LOSS_CE)
        return mp_error_set(e, MP_EINVAL,
                            "cross-entropy needs class targets; training without targets (an "
                            "autoencoder) works with mse or bce");
    if (!Y && insz != outsz)
        return mp_error_set(e, MP_EINVAL,
                            "without targets the network must reproduce its input, but it "
                            "gives %zu values per sample for an input of %zu",
                            outsz, insz);

    if (validation_count(o->validation_split, n) >= n)
        return mp_error_set(e, MP_EINVAL,
                            "validation_split %g of %zu samples leaves none for training",
                            o->validation_split, n);

    for (size_t i = 0; i < n * insz; i++)
        if (!isfinite(X[i]))
            return mp_error_set(e, MP_EINVAL, "input of sample %zu (from 0), value %zu: %g is "
                                "not a finite number", i / insz, i % insz, (double)X[i]);
    if (!Y) {
        if (o->loss == MP_NN_LOSS_BCE)
            for (size_t i = 0; i < n * insz; i++)
                if (!(X[i] >= 0 && X[i] <= 1))
                    return mp_error_set(e, MP_EINVAL, "binary cross-entropy without targets "
                                        "needs inputs in [0, 1]; sample %zu (from 0), value "
                                        "%zu is %g", i / insz, i % insz, (double)X[i]);
        return 0;
    }
    if (o->loss == MP_NN_LOSS_CE) {
        for (size_t i = 0; i < n; i++) {
            float c = Y[i];
            if (!isfinite(c))
                return mp_error_set(e, MP_EINVAL, "target of sample %zu (from 0) is %g, not a "
                                    "class index", i, (double)c);
            if (c < 0 || c >= (float)outsz || c != floorf(c))
                return mp_error_set(e, MP_EINVAL, "target of sample %zu (from 0): class index "
                                    "%g is outside 0..%zu (the softmax has %zu outputs)",
                                    i, (double)c, outsz - 1, outsz);
        }
        return 0;
    }
    for (size_t i = 0; i < n * outsz; i++) {
        float t = Y[i];
        if (!isfinite(t))
            return mp_error_set(e, MP_EINVAL, "target of sample %zu (from 0), value %zu: %g is "
                                "not a finite number", i / outsz, i % outsz, (double)t);
        if (o->loss == MP_NN_LOSS_BCE && !(t >= 0 && t <= 1))
            return mp_error_set(e, MP_EINVAL, "target of sample %zu (from 0), value %zu: %g is "
                                "outside [0, 1] (binary cross-entropy)",
                                i / outsz, i % outsz, (double)t);
    }
    return 0;
}

/* The training state: every buffer, allocated once. */
typedef struct trainer {
    mp_nn_net *net;
    const mp_nn_train_opts *o;
    const float *X, *Y;
    size_t L, insz, outsz, tsz, B;
    size_t *idx;          /* n: training indexes first, then validation ones */
    float *xb, *yb;       /* one batch of inputs and targets (yb NULL without Y) */
    float **act;          /* L outputs of B samples each */
    float **ws;           /* L workspaces */
    float *g[2];          /* gradient ping-pong, B * max layer size */
    mp_nn_param **params; /* every parameter, trainable or not */
    size_t nparams;
    float *best;          /* copy of every parameter's values (early stopping) */
    mp_nn_optim opt;
    int opt_ready;
} trainer;

static void trainer_free(trainer *t)
{
    free(t->idx);
    free(t->xb);
    free(t->yb);
    for (size_t i = 0; t->act && i < t->L; i++)
        free(t->act[i]);
    for (size_t i = 0; t->ws && i < t->L; i++)
        free(t->ws[i]);
    free(t->act);
    free(t->ws);
    free(t->g[0]);
    free(t->g[1]);
    free(t->params);
    free(t->best);
    if (t->opt_ready)
        mp_nn_optim_free(&t->opt);
}

static size_t max_ws(const mp_nn_layer *l, const size_t *sizes, size_t nsizes)
{
    size_t w = 0;
    if (!l->ops->workspace)
        return 0;
    for (int training = 0; training <= 1; training++) {
        mp_nn_run run = {training, NULL};
        for (size_t s = 0; s < nsizes; s++) {
            if (!sizes[s])
                continue;
            size_t v = l->ops->workspace(l, sizes[s], &run);
            if (v > w)
                w = v;
        }
    }
    return w;
}

static int trainer_alloc(trainer *t, size_t ntr, size_t nval, mp_error *e)
{
    mp_nn_net *net = t->net;
    size_t L = t->L, maxact = 0, total = 0;
    /* Batch sizes a pass can see: full, the last training one, the last
     * validation one; workspaces are sized for the largest need. */
    size_t sizes[3] = {t->B, ntr % t->B, nval % t->B};
    t->idx = malloc((ntr + nval) * sizeof *t->idx);
    t->xb = malloc(t->B * t->insz * sizeof *t->xb);
    if (t->Y)
        t->yb = malloc(t->B * t->tsz * sizeof *t->yb);
    t->act = calloc(L, sizeof *t->act);
    t->ws = calloc(L, sizeof *t->ws);
    if (!t->idx || !t->xb || (t->Y && !t->yb) || !t->act || !t->ws)
        goto oom;
    for (size_t i = 0; i < L; i++) {
        const mp_nn_layer *l = &net->layers[i];
        size_t s = mp_nn_shape_size(l->out);
        if (s > maxact)
            maxact = s;
        t->act[i] = malloc(t->B * s * sizeof(float));
        size_t w = max_ws(l, sizes, 3);
        t->ws[i] = calloc(w ? w : 1, sizeof(float));
        if (!t->act[i] || !t->ws[i])
            goto oom;
        total += l->nparams;
    }
    t->g[0] = malloc(t->B * maxact * sizeof(float));
    t->g[1] = malloc(t->B * maxact * sizeof(float));
    t->params = calloc(total ? total : 1, sizeof *t->params);
    if (!t->g[0] || !t->g[1] || !t->params)
        goto oom;
    size_t values = 0;
    for (size_t i = 0; i < L; i++)
        for (size_t p = 0; p < net->layers[i].nparams; p++) {
            t->params[t->nparams++] = &net->layers[i].params[p];
            values += net->layers[i].params[p].n;
        }
    if (t->o->patience) {
        t->best = malloc((values ? values : 1) * sizeof *t->best);
        if (!t->best)
            goto oom;
    }
    int rc = mp_nn_optim_init(&t->opt, t->o->optimizer, t->params, t->nparams,
                              t->o->learning_rate, t->o->momentum, t->o->weight_decay, e);
    if (rc)
        return rc;
    t->opt_ready = 1;
    return 0;
oom:
    return mp_error_set(e, MP_ENOMEM, "out of memory for training buffers");
}

static void save_params(trainer *t)
{
    float *p = t->best;
    for (size_t i = 0; i < t->nparams; i++) {
        memcpy(p, t->params[i]->w, t->params[i]->n * sizeof *p);
        p += t->params[i]->n;
    }
}

static void restore_params(trainer *t)
{
    const float *p = t->best;
    for (size_t i = 0; i < t->nparams; i++) {
        memcpy(t->params[i]->w, p, t->params[i]->n * sizeof *p);
        p += t->params[i]->n;
    }
}

/* Copies samples idx[0..b) into the batch buffers. */
static void gather(trainer *t, const size_t *idx, size_t b)
{
    for (size_t j = 0; j < b; j++) {
        memcpy(t->xb + j * t->insz, t->X + idx[j] * t->insz, t->insz * sizeof(float));
        if (t->Y)
            memcpy(t->yb + j * t->tsz, t->Y + idx[j] * t->tsz, t->tsz * sizeof(float));
    }
}

static void forward(trainer *t, size_t b, const mp_nn_run *run)
{
    const float *in = t->xb;
    for (size_t i = 0; i < t->L; i++) {
        mp_nn_layer *l = &t->net->layers[i];
        l->ops->forward(l, in, t->act[i], b, t->ws[i], run);
        in = t->act[i];
    }
}

/* The loss of the batch just forwarded (summed over samples) and, when
 * grad is set, the gradient that starts backward: with respect to the last
 * layer's input for the fused losses, its output for MSE. */
static double batch_loss(trainer *t, size_t b, float *grad, size_t *correct)
{
    const float *out = t->act[t->L - 1];
    const float *z = t->L >= 2 ? t->act[t->L - 2] : t->xb;
    const float *target = t->Y ? t->yb : t->xb;
    switch (t->o->loss) {
    case MP_NN_LOSS_CE:
        *correct += mp_nn_count_correct(out, target, b, t->outsz);
        return mp_nn_loss_ce(z, out, target, b, t->outsz, grad);
    case MP_NN_LOSS_BCE:
        return mp_nn_loss_bce(z, out, target, b, t->outsz, grad);
    default:
        return mp_nn_loss_mse(out, target, b, t->outsz, grad);
    }
}

static void backward(trainer *t, size_t b, const mp_nn_run *run)
{
    /* The fused losses already differentiated through the last layer. */
    size_t top = t->o->loss == MP_NN_LOSS_MSE ? t->L : t->L - 1;
    int cur = 0;
    for (size_t i = top; i-- > 0;) {
        mp_nn_layer *l = &t->net->layers[i];
        const float *in = i ? t->act[i - 1] : t->xb;
        float *din = i ? t->g[cur ^ 1] : NULL;
        l->ops->backward(l, in, t->act[i], t->g[cur], din, b, t->ws[i], run);
        cur ^= 1;
    }
}

/* Loss and accuracy over idx[0..n) without training behaviour. */
static void evaluate(trainer *t, const size_t *idx, size_t n, double *loss, double *acc)
{
    mp_nn_run run = {0, NULL};
    double sum = 0;
    size_t correct = 0;
    for (size_t off = 0; off < n; off += t->B) {
        size_t b = n - off < t->B ? n - off : t->B;
        gather(t, idx + off, b);
        forward(t, b, &run);
        sum += batch_loss(t, b, NULL, &correct);
    }
    *loss = sum / (double)n;
    *acc = t->o->loss == MP_NN_LOSS_CE ? (double)correct / (double)n : NAN;
}

int mp_nn_train(mp_nn_net *net, const float *X, const float *Y, size_t n,
                const mp_nn_train_opts *o, mp_nn_history *h, mp_error *e)
{
    if (h)
        memset(h, 0, sizeof *h);
    int rc = check_call(net, X, Y, n, o, e);
    if (rc)
        return rc;

    size_t nval = validation_count(o->validation_split, n);
    size_t ntr = n - nval;
    trainer t = {0};
    mp_nn_blas_scope blas = {0};
    t.net = net;
    t.o = o;
    t.X = X;
    t.Y = Y;
    t.L = net->nlayers;
    t.insz = mp_nn_shape_size(net->in);
    t.outsz = mp_nn_shape_size(mp_nn_net_out(net));
    t.tsz = !Y ? t.insz : o->loss == MP_NN_LOSS_CE ? 1 : t.outsz;
    t.B = o->batch_size < ntr ? o->batch_size : ntr;
    mp_nn_epoch *eps = calloc(o->epochs, sizeof *eps);
    if (!eps)
        return mp_error_set(e, MP_ENOMEM, "out of memory for the training history");
    rc = trainer_alloc(&t, ntr, nval, e);
    if (rc)
        goto done;

    /* Separate streams, so that e.g. adding dropout does not change the
     * order of the batches. */
    mp_rng order, drop;
    mp_rng_seed(&order, o->seed);
    mp_rng_seed(&drop, o->seed ^ 0xd1b54a32d192ed03ULL);
    for (size_t i = 0; i < n; i++)
        t.idx[i] = i;
    if (nval)
        mp_rng_shuffle(&order, t.idx, n);
    const size_t *val = t.idx + ntr;

    mp_nn_run run = {1, &drop};
    mp_nn_blas_begin(&blas);
    double best_val = INFINITY;
    size_t best_epoch = 0, since_best = 0, ran = 0;
    int stopped = 0;
    for (size_t ep = 1; ep <= o->epochs; ep++) {
        double t0 = mp_clock_now(), last_report = t0;
        mp_rng_shuffle(&order, t.idx, ntr);
        double sum = 0;
        size_t correct = 0;
        for (size_t off = 0; off < ntr; off += t.B) {
            size_t b = ntr - off < t.B ? ntr - off : t.B;
            gather(&t, t.idx + off, b);
            for (size_t p = 0; p < t.nparams; p++)
                if (t.params[p]->g)
                    memset(t.params[p]->g, 0, t.params[p]->n * sizeof(float));
            forward(&t, b, &run);
            double bl = batch_loss(&t, b, t.g[0], &correct);
            if (!isfinite(bl)) {
                rc = mp_error_set(e, MP_ENUMERIC, "training diverged in epoch %zu: the loss is "
                                  "%g; try a lower learning_rate", ep, bl);
                goto done;
            }
            sum += bl;
            backward(&t, b, &run);
            mp_nn_optim_step(&t.opt);
            if (o->on_progress) {
                double now = mp_clock_now();
                if (now - last_report >= PROGRESS_INTERVAL || off + b == ntr) {
                    last_report = now;
                    size_t done_n = off + b;
                    mp_nn_progress pr = {ep, o->epochs, done_n, ntr, sum / (double)done_n,
                                         o->loss == MP_NN_LOSS_CE
                                             ? (double)correct / (double)done_n
                                             : NAN,
                                         now - t0};
                    o->on_progress(o->ctx, &pr);
                }
            }
        }
        mp_nn_epoch *r = &eps[ep - 1];
        r->epoch = ep;
        r->loss = sum / (double)ntr;
        r->acc = o->loss == MP_NN_LOSS_CE ? (double)correct / (double)ntr : NAN;
        r->val_loss = r->val_acc = NAN;
        if (nval)
            evaluate(&t, val, nval, &r->val_loss, &r->val_acc);
        r->seconds = mp_clock_now() - t0;
        r->samples_per_s = r->seconds > 0 ? (double)ntr / r->seconds : 0;
        ran = ep;
        if (o->on_epoch)
            o->on_epoch(o->ctx, r);
        if (o->patience) {
            if (r->val_loss < best_val) {
                best_val = r->val_loss;
                best_epoch = ep;
                since_best = 0;
                save_params(&t);
            } else if (++since_best >= o->patience) {
                stopped = ep < o->epochs;
                break;
            }
        }
    }
    if (o->patience && best_epoch && best_epoch != ran)
        restore_params(&t);
    else
        best_epoch = ran;
    if (h) {
        h->n = ran;
        h->ep = eps;
        eps = NULL;
        h->best_epoch = best_epoch;
        h->stopped_early = stopped;
    }
done:
    mp_nn_blas_end(&blas);
    free(eps);
    trainer_free(&t);
    return rc;
}
