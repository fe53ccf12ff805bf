/* Training a network: shuffled mini-batches, a loss, an optimizer,
 * optional validation split and early stopping, and progress reports.
 *
 * Losses:
 *  - cross-entropy: the last layer must be softmax; targets are class
 *    indexes (stored as floats, one per sample). The softmax and the loss
 *    are differentiated together (p - onehot), which is exact and stable.
 *  - binary cross-entropy: the last layer must be sigmoid; targets in
 *    [0, 1], size(out) per sample.
 *  - mean squared error: any last layer; size(out) targets per sample.
 * With Y == NULL the targets are the inputs themselves (an autoencoder).
 *
 * The same seed gives the same weights, batches, dropout masks and
 * therefore the same model, bit for bit, on the same machine. */
#ifndef MP_NN_TRAIN_H
#define MP_NN_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "nn/net.h"

typedef enum { MP_NN_LOSS_CE = 1, MP_NN_LOSS_BCE = 2, MP_NN_LOSS_MSE = 3 } mp_nn_loss;
typedef enum { MP_NN_OPT_ADAM = 1, MP_NN_OPT_SGD = 2 } mp_nn_optimizer;

/* Statistics of one finished epoch. acc and val_acc are NaN unless the
 * loss is cross-entropy; val_* are NaN without a validation split. */
typedef struct mp_nn_epoch {
    size_t epoch; /* from 1 */
    double loss, acc, val_loss, val_acc;
    double seconds, samples_per_s;
} mp_nn_epoch;

/* Where training is inside an epoch (for a live progress bar). */
typedef struct mp_nn_progress {
    size_t epoch, epochs; /* epoch from 1 */
    size_t done, total;   /* training samples seen in this epoch, of total */
    double loss, acc;     /* running means over this epoch so far */
    double elapsed;       /* seconds since the epoch began */
} mp_nn_progress;

typedef struct mp_nn_train_opts {
    mp_nn_loss loss;
    mp_nn_optimizer optimizer;
    size_t epochs;           /* >= 1 */
    size_t batch_size;       /* >= 1 */
    double learning_rate;    /* > 0 */
    double momentum;         /* SGD only, [0, 1) */
    double weight_decay;     /* L2 on weights (param.decay), >= 0 */
    double validation_split; /* fraction of samples held out, [0, 0.9] */
    size_t patience;         /* stop after this many epochs without val_loss improving (0: never);
                                the best epoch's weights are kept */
    uint64_t seed;
    /* Optional callbacks (may be NULL); called on the training thread. */
    void (*on_progress)(void *ctx, const mp_nn_progress *p);
    void (*on_epoch)(void *ctx, const mp_nn_epoch *ep);
    void *ctx;
} mp_nn_train_opts;

/* Default options: Adam, 1e-3, 10 epochs, batch 64, no validation. */
void mp_nn_train_defaults(mp_nn_train_opts *o);

typedef struct mp_nn_history {
    size_t n;          /* epochs run */
    mp_nn_epoch *ep;   /* n entries; caller frees with mp_nn_history_free */
    size_t best_epoch; /* the epoch whose weights were kept (from 1) */
    int stopped_early;
} mp_nn_history;

/* Trains net on n samples X (n * size(net->in) floats) with targets Y (see
 * above). Invalid options or targets (a class index outside the softmax's
 * range, a non-finite value) are MP_EINVAL before any update. */
int mp_nn_train(mp_nn_net *net, const float *X, const float *Y, size_t n,
                const mp_nn_train_opts *o, mp_nn_history *h, mp_error *e);
void mp_nn_history_free(mp_nn_history *h);

#endif
