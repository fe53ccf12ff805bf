/* The layer interface of the neural-network library.
 *
 * A network is a sequence of layers. Every layer maps a batch of b samples
 * of shape `in` to b samples of shape `out`, both stored sample after
 * sample as contiguous float32 (images channel-first: C x H x W, like
 * PyTorch; sequences T x F, one time step after another; vectors F).
 *
 * Layers hold only configuration and parameters. Everything one pass needs
 * (im2col buffers, dropout masks, LSTM gate activations, pooling argmax)
 * lives in a caller-provided workspace, sized by `workspace`, filled by
 * `forward` and read back by `backward`. That is what lets several threads
 * run inference through one network at once: with run->training == 0,
 * forward must not write to the layer.
 *
 * Adding a layer kind: implement the ops below in its own file (nn_conv2d.c,
 * nn_lstm.c ...) and list it in the table in nn_spec.c. */
#ifndef MP_NN_LAYER_H
#define MP_NN_LAYER_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "core/rng.h"

#define MP_NN_MAX_DIMS 3
#define MP_NN_MAX_PARAMS 6

/* The shape of one sample. */
typedef struct mp_nn_shape {
    int ndim;                  /* 1..3 */
    size_t d[MP_NN_MAX_DIMS];  /* d[0] is the outermost (channels, or time) */
} mp_nn_shape;

/* Elements in one sample of shape s. */
size_t mp_nn_shape_size(mp_nn_shape s);
/* "1x28x28" into buf; returns buf. */
char *mp_nn_shape_str(mp_nn_shape s, char *buf, size_t cap);

/* One argument of a layer in a spec: `conv2d(8, 3, padding=1)` has the
 * positional numbers 8 and 3 and the named number padding=1; `lstm(64,
 * sequences)` has a positional word. */
typedef struct mp_nn_arg {
    const char *key; /* NULL for a positional argument */
    const char *word; /* non-NULL when the value is a word rather than a number */
    double num;
} mp_nn_arg;

/* A tensor a layer owns: a trainable parameter (with its gradient) or a
 * buffer such as batch normalization's running mean (g == NULL). Saved in
 * the model file under "<layer index>.<name>" with this shape. */
typedef struct mp_nn_param {
    char name[16];    /* "weight", "bias", "gamma", "running_mean" ... */
    float *w;         /* n values, owned by the layer */
    float *g;         /* n gradients, or NULL for a buffer */
    size_t n;
    int ndim;
    int64_t shape[4];
    int decay;        /* 1 when weight decay applies (weights, not biases or norms) */
} mp_nn_param;

/* What one pass needs besides data. */
typedef struct mp_nn_run {
    int training;   /* 1: dropout active, batch norm uses and updates batch statistics */
    mp_rng *rng;    /* for dropout; only used when training */
} mp_nn_run;

typedef struct mp_nn_layer mp_nn_layer;

typedef struct mp_nn_layer_ops {
    const char *name;  /* as written in a spec: "conv2d" */
    const char *usage; /* for messages and --help: "conv2d(out_channels, kernel[, stride=1, padding=0])" */
    /* Reads the spec's arguments into l->cfg (malloc'd; freed with free()).
     * A missing, extra or out-of-range argument is MP_EINVAL naming
     * l->text and the usage. */
    int (*configure)(mp_nn_layer *l, const mp_nn_arg *args, size_t nargs, mp_error *e);
    /* Given l->in, sets l->out and allocates and initialises l->params
     * (weights from rng: He uniform when l->he is set, Xavier uniform
     * otherwise; biases zero). An input shape the layer cannot take is
     * MP_EINVAL naming l->text, l->index and the shapes. */
    int (*init)(mp_nn_layer *l, mp_rng *rng, mp_error *e);
    /* Floats of workspace one pass over b samples needs (may be 0). */
    size_t (*workspace)(const mp_nn_layer *l, size_t b, const mp_nn_run *run);
    /* in: b samples of l->in; out: b samples of l->out. */
    void (*forward)(mp_nn_layer *l, const float *in, float *out, size_t b, float *ws,
                    const mp_nn_run *run);
    /* After forward with the same in, out and ws: ADDS this batch's
     * parameter gradients to params[i].g and writes din (the gradient with
     * respect to in) unless din is NULL (the first layer needs none). */
    void (*backward)(mp_nn_layer *l, const float *in, const float *out, const float *dout,
                     float *din, size_t b, float *ws, const mp_nn_run *run);
} mp_nn_layer_ops;

struct mp_nn_layer {
    const mp_nn_layer_ops *ops;
    char *text;        /* as written in the spec, e.g. "conv2d(8,3)" */
    int index;         /* position in the network, from 1 */
    int he;            /* 1 when a ReLU-family activation follows: He initialisation */
    mp_nn_shape in, out;
    void *cfg;         /* layer-private configuration, set by configure */
    size_t nparams;
    mp_nn_param params[MP_NN_MAX_PARAMS];
};

/* For init functions: adds a parameter (trainable when grad is set) of the
 * given shape to l, zero-filled. MP_ENOMEM. */
int mp_nn_layer_add_param(mp_nn_layer *l, const char *name, int ndim, const int64_t *shape,
                          int trainable, int decay, float **w, mp_error *e);
/* Fills w[0..n) uniformly in [-a, a] with a = sqrt(6 / fan_in) (He) or
 * sqrt(6 / (fan_in + fan_out)) (Xavier). */
void mp_nn_init_uniform(float *w, size_t n, size_t fan_in, size_t fan_out, int he, mp_rng *rng);
/* Frees params and cfg (not l itself). */
void mp_nn_layer_clear(mp_nn_layer *l);

#endif
