/* Internal to src/nn: optimizers, with PyTorch's update rules so that the
 * same hyper-parameters behave the same way.
 *
 *  - Adam (torch.optim.Adam): beta1 0.9, beta2 0.999, eps 1e-8, bias
 *    correction; w -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps).
 *  - SGD (torch.optim.SGD, dampening 0, not Nesterov): buf = momentum * buf + g
 *    (buf = g at the first step), w -= lr * buf; plain g when momentum is 0.
 *  - weight_decay is L2 added to the gradient (g += wd * w) before either
 *    rule, as PyTorch's weight_decay does (not AdamW's decoupled decay), and
 *    only for parameters with decay == 1 (weights, not biases or norms).
 *
 * The optimizer keeps pointers to the parameters (which must outlive it)
 * and owns its state (moments), allocated once by init. */
#ifndef MP_NN_OPTIM_H
#define MP_NN_OPTIM_H

#include <stddef.h>

#include "core/error.h"
#include "nn/layer.h"
#include "nn/train.h"

typedef struct mp_nn_optim {
    mp_nn_optimizer kind;
    double lr, beta1, beta2, eps, momentum, weight_decay;
    size_t t;              /* steps taken */
    size_t n;              /* parameters */
    mp_nn_param **params;  /* n entries, not owned */
    float **m, **v;        /* per parameter: Adam's moments / SGD's momentum buffer (m) */
    float *mem;            /* one block holding every m and v */
} mp_nn_optim;

/* Prepares an optimizer for the trainable entries of params[0..n) (those
 * with g != NULL; the others are skipped). MP_ENOMEM. */
int mp_nn_optim_init(mp_nn_optim *o, mp_nn_optimizer kind, mp_nn_param *const *params, size_t n,
                     double lr, double momentum, double weight_decay, mp_error *e);
/* One update from the gradients currently in params[i].g (left unchanged). */
void mp_nn_optim_step(mp_nn_optim *o);
void mp_nn_optim_free(mp_nn_optim *o);

#endif
