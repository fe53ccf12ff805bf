/* A feed-forward network: a sequence of layers built from a short spec.
 *
 *   conv2d(8,3) relu maxpool(2) conv2d(16,3) relu maxpool(2) flatten dense(10) softmax
 *
 * Layers are separated by spaces; arguments are numbers, words, or
 * key=value pairs (see layers.h for each kind's usage). Building checks
 * every layer against the shape it receives before any training, so a spec
 * that cannot work is rejected up front, naming the layer and the shapes.
 *
 * Thread-safety: mp_nn_net_predict may run from several threads at once on
 * one network; training and freeing need exclusive access. */
#ifndef MP_NN_NET_H
#define MP_NN_NET_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "nn/layer.h"

typedef struct mp_nn_net {
    mp_nn_shape in;
    size_t nlayers;
    mp_nn_layer *layers; /* nlayers entries */
    char *spec;          /* the spec, normalised to single spaces */
} mp_nn_net;

/* Parses "1x28x28" / "10" / "28x28" into a shape (MP_EINVAL otherwise). */
int mp_nn_shape_parse(const char *text, mp_nn_shape *s, mp_error *e);

/* Parses spec, configures every layer for input shape `in` and initialises
 * the weights from seed. */
int mp_nn_net_build(const char *spec, mp_nn_shape in, uint64_t seed, mp_nn_net **out,
                    mp_error *e);
void mp_nn_net_free(mp_nn_net *n);
/* The shape of one output sample. */
mp_nn_shape mp_nn_net_out(const mp_nn_net *n);
/* Total trainable parameters, for messages. */
size_t mp_nn_net_count_params(const mp_nn_net *n);

/* Inference on b samples (x: b * size(in) floats; out: b * size(out)).
 * Allocates its own workspace, working through the batch in chunks, so it
 * is safe from several threads at once. */
int mp_nn_net_predict(const mp_nn_net *n, const float *x, size_t b, float *out, mp_error *e);

/* A text description of every layer: index, text, output shape, number of
 * parameters (for `mlpipe inspect` and training logs). Caller frees. */
char *mp_nn_net_summary(const mp_nn_net *n);

#endif
