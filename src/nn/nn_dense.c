/* dense(units): y = x W^T + b with W of shape [units, in] (PyTorch's
 * nn.Linear layout, so weights move between the two unchanged). One GEMM
 * over the whole batch in each direction. */
#include <cblas.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "nn/layers.h"

typedef struct dense_cfg {
    size_t units;
} dense_cfg;

/* Large enough for any sensible layer, small enough for BLAS's int sizes
 * and the parameter count to stay far from overflow. */
#define MAX_UNITS (1 << 24)

static int dense_configure(mp_nn_layer *l, const mp_nn_arg *args, size_t nargs, mp_error *e)
{
    const char *usage = mp_nn_dense_ops.usage;
    if (nargs != 1 || (args[0].key && strcmp(args[0].key, "units")) || args[0].word)
        return mp_error_set(e, MP_EINVAL, "layer %d (%s): expects one number, the units; usage: %s",
                            l->index, l->text, usage);
    double u = args[0].num;
    if (!(u >= 1 && u <= MAX_UNITS) || u != (double)(size_t)u)
        return mp_error_set(e, MP_EINVAL,
                            "layer %d (%s): units must be an integer from 1 to %d; usage: %s",
                            l->index, l->text, MAX_UNITS, usage);
    dense_cfg *c = malloc(sizeof *c);
    if (!c)
        return mp_error_set(e, MP_ENOMEM, "out of memory configuring layer %d", l->index);
    c->units = (size_t)u;
    l->cfg = c;
    return 0;
}

static int dense_init(mp_nn_layer *l, mp_rng *rng, mp_error *e)
{
    const dense_cfg *c = l->cfg;
    char sbuf[64];
    if (l->in.ndim != 1)
        return mp_error_set(e, MP_EINVAL,
                            "layer %d (%s): expects a flat input, got %s; add flatten before it",
                            l->index, l->text, mp_nn_shape_str(l->in, sbuf, sizeof sbuf));
    size_t in = l->in.d[0];
    if (in > INT_MAX || (double)in * (double)c->units > (double)INT_MAX)
        return mp_error_set(e, MP_EINVAL, "layer %d (%s): %zu x %zu weights are too many",
                            l->index, l->text, c->units, in);
    l->out.ndim = 1;
    l->out.d[0] = c->units;
    float *w, *b;
    int64_t ws[2] = {(int64_t)c->units, (int64_t)in}, bs[1] = {(int64_t)c->units};
    int rc = mp_nn_layer_add_param(l, "weight", 2, ws, 1, 1, &w, e);
    if (!rc)
        rc = mp_nn_layer_add_param(l, "bias", 1, bs, 1, 0, &b, e);
    if (rc)
        return rc;
    mp_nn_init_uniform(w, c->units * in, in, c->units, l->he, rng);
    return 0;
}

static size_t dense_workspace(const mp_nn_layer *l, size_t b, const mp_nn_run *run) { return 0; }

static void dense_forward(mp_nn_layer *l, const float *in, float *out, size_t b, float *ws,
                          const mp_nn_run *run)
{
    const int n = (int)l->out.d[0], k = (int)l->in.d[0];
    const float *w = l->params[0].w, *bias = l->params[1].w;
    /* Seed every row with the bias and let the GEMM accumulate onto it. */
    for (size_t i = 0; i < b; i++)
        memcpy(out + i * (size_t)n, bias, (size_t)n * sizeof *out);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)b, n, k, 1.0f, in, k, w, k, 1.0f,
                out, n);
}

static void dense_backward(mp_nn_layer *l, const float *in, const float *out, const float *dout,
                           float *din, size_t b, float *ws, const mp_nn_run *run)
{
    const int n = (int)l->out.d[0], k = (int)l->in.d[0];
    float *gw = l->params[0].g, *gb = l->params[1].g;
    /* dW += dout^T x */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, k, (int)b, 1.0f, dout, n, in, k, 1.0f,
                gw, k);
    for (size_t i = 0; i < b; i++) {
        const float *d = dout + i * (size_t)n;
        for (int j = 0; j < n; j++)
            gb[j] += d[j];
    }
    if (din)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)b, k, n, 1.0f, dout, n,
                    l->params[0].w, k, 0.0f, din, k);
}

const mp_nn_layer_ops mp_nn_dense_ops = {
    .name = "dense",
    .usage = "dense(units)",
    .configure = dense_configure,
    .init = dense_init,
    .workspace = dense_workspace,
    .forward = dense_forward,
    .backward = dense_backward,
};
