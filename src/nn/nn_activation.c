/* Activation layers: relu, leaky_relu(slope), sigmoid, tanh (elementwise,
 * any input shape, output shape = input shape) and softmax (over each 1-D
 * sample). None has parameters or needs a workspace; backward reads what
 * it needs from the forward's in and out. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "nn/layers.h"

static int no_args(mp_nn_layer *l, const mp_nn_arg *args, size_t nargs, mp_error *e)
{
    if (nargs)
        return mp_error_set(e, MP_EINVAL, "layer %d (%s): takes no arguments; usage: %s",
                            l->index, l->text, l->ops->usage);
    return 0;
}

static int same_shape(mp_nn_layer *l, mp_rng *rng, mp_error *e)
{
    l->out = l->in;
    return 0;
}

static size_t no_workspace(const mp_nn_layer *l, size_t b, const mp_nn_run *run) { return 0; }

static size_t count(const mp_nn_layer *l, size_t b) { return b * mp_nn_shape_size(l->in); }

/* ---- relu ---- */

/* The ReLU family runs on SSE2 (every x86-64 has it): at -O2 the compiler
 * neither vectorises these loops nor avoids a branch per element, and on
 * data whose sign is a coin toss that branch costs more than the work (in
 * a small CNN, relu was a third of the epoch). maxps and the compare-masks
 * give exactly what the scalar tails give, NaN included (NaN -> 0). */

static void relu_forward(mp_nn_layer *l, const float *in, float *out, size_t b, float *ws,
                         const mp_nn_run *run)
{
    size_t n = count(l, b), i = 0;
#if defined(__SSE2__)
    const __m128 zero = _mm_setzero_ps();
    for (; i + 4 <= n; i += 4)
        _mm_storeu_ps(out + i, _mm_max_ps(_mm_loadu_ps(in + i), zero));
#endif
    for (; i < n; i++)
        out[i] = in[i] > 0.0f ? in[i] : 0.0f;
}

static void relu_backward(mp_nn_layer *l, const float *in, const float *out, const float *dout,
                          float *din, size_t b, float *ws, const mp_nn_run *run)
{
    if (!din)
        return;
    size_t n = count(l, b), i = 0;
#if defined(__SSE2__)
    const __m128 zero = _mm_setzero_ps();
    for (; i + 4 <= n; i += 4) {
        __m128 pos = _mm_cmpgt_ps(_mm_loadu_ps(in + i), zero);
        _mm_storeu_ps(din + i, _mm_and_ps(pos, _mm_loadu_ps(dout + i)));
    }
#endif
    for (; i < n; i++)
        din[i] = in[i] > 0.0f ? dout[i] : 0.0f;
}

const mp_nn_layer_ops mp_nn_relu_ops = {
    .name = "relu",
    .usage = "relu",
    .configure = no_args,
    .init = same_shape,
    .workspace = no_workspace,
    .forward = relu_forward,
    .backward = relu_backward,
};

/* ---- leaky_relu ---- */

typedef struct leaky_cfg {
    float slope;
} leaky_cfg;

static int leaky_configure(mp_nn_layer *l, const mp_nn_arg *args, size_t nargs, mp_error *e)
{
    double slope = 0.01; /* PyTorch's default negative_slope */
    if (nargs > 1 || (nargs == 1 && (args[0].word || (args[0].key && strcmp(args[0].key, "slope")))))
        return mp_error_set(e, MP_EINVAL, "layer %d (%s): takes at most one number, the slope; "
                            "usage: %s", l->index, l->text, l->ops->usage);
    if (nargs == 1)
        slope = args[0].num;
    if (!(slope >= 0 && slope <= 1))
        return mp_error_set(e, MP_EINVAL, "layer %d (%s): slope must be in [0, 1]; usage: %s",
                            l->index, l->text, l->ops->usage);
    leaky_cfg *c = malloc(sizeof *c);
    if (!c)
        return mp_error_set(e, MP_ENOMEM, "out of memory configuring layer %d", l->index);
    c->slope = (float)slope;
    l->cfg = c;
    return 0;
}

/* x where pos is set, s * x elsewhere (a ReLU-family select). */
static void leaky_select(const float *cond, const float *x, float *y, size_t n, float s)
{
    size_t i = 0;
#if defined(__SSE2__)
    const __m128 zero = _mm_setzero_ps(), vs = _mm_set1_ps(s);
    for (; i + 4 <= n; i += 4) {
        __m128 xv = _mm_loadu_ps(x + i);
        __m128 pos = _mm_cmpgt_ps(_mm_loadu_ps(cond + i), zero);
        _mm_storeu_ps(y + i, _mm_or_ps(_mm_and_ps(pos, xv),
                                       _mm_andnot_ps(pos, _mm_mul_ps(vs, xv))));
    }
#endif
    for (; i < n; i++)
        y[i] = cond[i] > 0.0f ? x[i] : s * x[i];
}

static void leaky_forward(mp_nn_layer *l, const float *in, float *out, size_t b, float *ws,
                          const mp_nn_run *run)
{
    leaky_select(in, in, out, count(l, b), ((const leaky_cfg *)l->cfg)->slope);
}

static void leaky_backward(mp_nn_layer *l, const float *in, const float *out, const float *dout,
                           float *din, size_t b, float *ws, const mp_nn_run *run)
{
    if (din)
        leaky_select(in, dout, din, count(l, b), ((const leaky_cfg *)l->cfg)->slope);
}

const mp_nn_layer_ops mp_nn_leaky_relu_ops = {
    .name = "leaky_relu",
    .usage = "leaky_relu[(slope=0.01)]",
    .configure = leaky_configure,
    .init = same_shape,
    .workspace = no_workspace,
    .forward = leaky_forward,
    .backward = leaky_backward,
};

/* ---- sigmoid ---- */

static void sigmoid_forward(mp_nn_layer *l, const float *in, float *out, size_t b, float *ws,
                            const mp_nn_run *run)
{
    size_t n = count(l, b);
    for (size_t i = 0; i < n; i++) {
        /* exp of a non-positive number only: no overflow for large |x|.
         * The sign bit picks p or z p with a mask rather than a branch,
         * which on random signs would mispredict half the time. */
        float z = expf(-fabsf(in[i]));
        float p = 1.0f / (1.0f + z);
        float zp = z * p;
        uint32_t xb, pb, zb;
        memcpy(&xb, &in[i], 4);
        memcpy(&pb, &p, 4);
        memcpy(&zb, &zp, 4);
        uint32_t neg = (uint32_t)-(int32_t)(xb >> 31);
        uint32_t r = (pb & ~neg) | (zb & neg);
        memcpy(&out[i], &r, 4);
    }
}

static void sigmoid_backward(mp_nn_layer *l, const float *in, const float *out,
                             const float *dout, float *din, size_t b, float *ws,
                             const mp_nn_run *run)
{
    if (!din)
        return;
    size_t n = count(l, b);
    for (size_t i = 0; i < n; i++)
        din[i] = dout[i] * out[i] * (1.0f - out[i]);
}

const mp_nn_layer_ops mp_nn_sigmoid_ops = {
    .name = "sigmoid",
    .usage = "sigmoid",
    .configure = no_args,
    .init = same_shape,
    .workspace = no_workspace,
    .forward = sigmoid_forward,
    .backward = sigmoid_backward,
};

/* ---- tanh ---- */

static void tanh_forward(mp_nn_layer *l, const float *in, float *out, size_t b, float *ws,
                         const mp_nn_run *run)
{
    size_t n = count(l, b);
    for (size_t i = 0; i < n; i++)
        out[i] = tanhf(in[i]);
}

static void tanh_backward(mp_nn_layer *l, const float *in, const float *out, const float *dout,
                          float *din, size_t b, float *ws, const mp_nn_run *run)
{
    if (!din)
        return;
    size_t n = count(l, b);
    for (size_t i = 0; i < n; i++)
        din[i] = dout[i] * (1.0f - out[i] * out[i]);
}

const mp_nn_layer_ops mp_nn_tanh_ops = {
    .name = "tanh",
    .usage = "tanh",
    .configure = no_args,
    .init = same_shape,
    .workspace = no_workspace,
    .forward = tanh_forward,
    .backward = tanh_backward,
};

/* ---- softmax ---- */

static int softmax_init(mp_nn_layer *l, mp_rng *rng, mp_error *e)
{
    char sbuf[64];
    if (l->in.ndim != 1)
        return mp_error_set(e, MP_EINVAL,
                            "layer %d (%s): expects a flat input, got %s; add flatten before it",
                            l->index, l->text, mp_nn_shape_str(l->in, sbuf, sizeof sbuf));
    l->out = l->in;
    return 0;
}

static void softmax_forward(mp_nn_layer *l, const float *in, float *out, size_t b, float *ws,
                            const mp_nn_run *run)
{
    const size_t k = l->in.d[0];
    for (size_t s = 0; s < b; s++) {
        const float *x = in + s * k;
        float *y = out + s * k;
        /* Subtracting the maximum keeps every exp in (0, 1]. */
        float m = x[0];
        for (size_t j = 1; j < k; j++)
            m = x[j] > m ? x[j] : m;
        float sum = 0.0f;
        for (size_t j = 0; j < k; j++) {
            y[j] = expf(x[j] - m);
            sum += y[j];
        }
        float inv = 1.0f / sum;
        for (size_t j = 0; j < k; j++)
            y[j] *= inv;
    }
}

static void softmax_backward(mp_nn_layer *l, const float *in, const float *out,
                             const float *dout, float *din, size_t b, float *ws,
                             const mp_nn_run *run)
{
    if (!din)
        return;
    const size_t k = l->in.d[0];
    for (size_t s = 0; s < b; s++) {
        const float *p = out + s * k, *d = dout + s * k;
        float *g = din + s * k;
        float dot = 0.0f;
        for (size_t j = 0; j < k; j++)
            dot += d[j] * p[j];
        for (size_t j = 0; j < k; j++)
            g[j] = p[j] * (d[j] - dot);
    }
}

const mp_nn_layer_ops mp_nn_softmax_ops = {
    .name = "softmax",
    .usage = "softmax",
    .configure = no_args,
    .init = softmax_init,
    .workspace = no_workspace,
    .forward = softmax_forward,
    .backward = softmax_backward,
};
