/* Internal to src/nn: the training losses.
 *
 * Conventions (the same as PyTorch's default reduction="mean", and as the
 * losses Keras prints):
 *  - The loss of one sample is: cross-entropy -log p[y]; binary
 *    cross-entropy and squared error averaged over the sample's k outputs.
 *  - Each function returns the SUM of the per-sample losses over the b
 *    samples (callers add batches up in double and divide by the sample
 *    count to report a mean per sample).
 *  - The gradient written is that of the batch MEAN (the sum / b), so for
 *    MSE and BCE it carries 1/(b*k) and for cross-entropy 1/b. That makes
 *    learning rates mean what they mean in PyTorch (nn.CrossEntropyLoss,
 *    nn.BCELoss, nn.MSELoss all average over every element).
 *  - Softmax + cross-entropy and sigmoid + binary cross-entropy are fused:
 *    the loss is computed from the last layer's input z (stable for any z)
 *    and the gradient is written with respect to z, so the caller skips
 *    that layer's backward.
 * Targets are assumed valid (the trainer checks them up front). Any grad
 * pointer may be NULL to compute the loss alone. */
#ifndef MP_NN_LOSS_H
#define MP_NN_LOSS_H

#include <stddef.h>

/* z: b x k pre-softmax values; p: softmax(z) (the layer's output); y: b
 * class indexes stored as floats. dz = (p - onehot(y)) / b. */
double mp_nn_loss_ce(const float *z, const float *p, const float *y, size_t b, size_t k,
                     float *dz);

/* z: b x k pre-sigmoid values; s: sigmoid(z); t: b x k targets in [0, 1].
 * Per element max(z,0) - z t + log(1 + exp(-|z|)); dz = (s - t) / (b k). */
double mp_nn_loss_bce(const float *z, const float *s, const float *t, size_t b, size_t k,
                      float *dz);

/* out, t: b x k. Per element (out - t)^2; dout = 2 (out - t) / (b k). */
double mp_nn_loss_mse(const float *out, const float *t, size_t b, size_t k, float *dout);

/* How many of the b rows of p (b x k) have their largest value at the
 * class index y[i] (the first maximum wins ties). */
size_t mp_nn_count_correct(const float *p, const float *y, size_t b, size_t k);

#endif
