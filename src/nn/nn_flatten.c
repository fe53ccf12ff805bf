/* flatten: views each sample as one vector (C x H x W -> C*H*W), the order
 * PyTorch's nn.Flatten gives for channel-first images. Data is already
 * stored that way, so both directions are plain copies. */
#include <string.h>

#include "nn/layers.h"

static int flatten_configure(mp_nn_layer *l, const mp_nn_arg *args, size_t nargs, mp_error *e)
{
    if (nargs)
        return mp_error_set(e, MP_EINVAL, "layer %d (%s): takes no arguments; usage: %s",
                            l->index, l->text, l->ops->usage);
    return 0;
}

static int flatten_init(mp_nn_layer *l, mp_rng *rng, mp_error *e)
{
    l->out.ndim = 1;
    l->out.d[0] = mp_nn_shape_size(l->in);
    l->out.d[1] = l->out.d[2] = 0;
    return 0;
}

static size_t flatten_workspace(const mp_nn_layer *l, size_t b, const mp_nn_run *run) { return 0; }

static void flatten_forward(mp_nn_layer *l, const float *in, float *out, size_t b, float *ws,
                            const mp_nn_run *run)
{
    memcpy(out, in, b * mp_nn_shape_size(l->in) * sizeof *out);
}

static void flatten_backward(mp_nn_layer *l, const float *in, const float *out,
                             const float *dout, float *din, size_t b, float *ws,
                             const mp_nn_run *run)
{
    if (din)
        memcpy(din, dout, b * mp_nn_shape_size(l->in) * sizeof *din);
}

const mp_nn_layer_ops mp_nn_flatten_ops = {
    .name = "flatten",
    .usage = "flatten",
    .configure = flatten_configure,
    .init = flatten_init,
    .workspace = flatten_workspace,
    .forward = flatten_forward,
    .backward = flatten_backward,
};
