/* gru(units[, sequences]): a gated recurrent unit layer with PyTorch's
 * equations and gate order (r, z, n) and a zero initial state:
 *   r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
 *   z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
 *   n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
 *   h' = (1 - z) * n + z * h
 * Shapes, parameters and the time-major layout: nn_rnn.h.
 *
 * Workspace, in floats (b samples, T steps, F features, H units):
 *   xt  [T][b][F]   the input, time-major (dW_ih needs it)
 *   z   [T][b][3H]  the input projection, then the activations r z n
 *   hn  [T][b][H]   W_hn h + b_hn of each step (dr needs it)
 *   hp  [b][3H]     h W_hh^T of the current step
 *   hs  [T+1][b][H] hidden states, slot 0 the zero initial state
 * and for backward: dzx and dzh [T][b][3H] (gradients of the input and
 * hidden projections: equal but for the n block, which r scales on the
 * hidden side), dh [b][H], dxt [T][b][F]. */
#include <cblas.h>
#include <string.h>

#include "nn/layers.h"
#include "nn/nn_rnn.h"

typedef struct gru_ws {
    float *xt, *z, *hn, *hp, *hs, *dzx, *dzh, *dh, *dxt;
} gru_ws;

static size_t gru_carve(mp_nn_rnn_dims d, size_t b, float *base, gru_ws *w)
{
    const size_t T = d.T, F = d.F, H = d.H;
    mp_nn_rnn_carver p = {base, 0};
    gru_ws dummy;
    if (!w)
        w = &dummy;
    w->xt = mp_nn_rnn_take(&p, T * b * F);
    w->z = mp_nn_rnn_take(&p, T * b * 3 * H);
    w->hn = mp_nn_rnn_take(&p, T * b * H);
    w->hp = mp_nn_rnn_take(&p, b * 3 * H);
    w->hs = mp_nn_rnn_take(&p, (T + 1) * b * H);
    w->dzx = mp_nn_rnn_take(&p, T * b * 3 * H);
    w->dzh = mp_nn_rnn_take(&p, T * b * 3 * H);
    w->dh = mp_nn_rnn_take(&p, b * H);
    w->dxt = mp_nn_rnn_take(&p, T * b * F);
    return p.used;
}

static int gru_init(mp_nn_layer *l, mp_rng *rng, mp_error *e)
{
    return mp_nn_rnn_init(l, rng, 3, e);
}

/* Backward buffers are counted even for inference (see nn_lstm.c). */
static size_t gru_workspace(const mp_nn_layer *l, size_t b, const mp_nn_run *run)
{
    return gru_carve(mp_nn_rnn_dims_of(l), b, NULL, NULL);
}

/* One step over the batch. z: b rows of 3H input pre-activations without
 * bias, turned into r z n; hp: h W_hh^T without bias, or NULL when h = 0. */
static void gru_step(size_t b, size_t H, float *z, const float *hp, const float *bih,
                     const float *bhh, const float *h0, float *hn, float *h1)
{
    const mp_v4 one = mp_v4_splat(1.0f), zero = mp_v4_splat(0.0f);
    for (size_t s = 0; s < b; s++) {
        float *zr = z + s * 3 * H, *zz = zr + H, *zn = zz + H;
        const float *pr = hp ? hp + s * 3 * H : NULL;
        const float *hps = h0 + s * H;
        float *hns = hn + s * H, *h1s = h1 + s * H;
        for (size_t j = 0; j < H; j += 4) {
            size_t n = H - j;
            mp_v4 ar = pr ? mp_v4_load(pr + j, n) : zero;
            mp_v4 az = pr ? mp_v4_load(pr + H + j, n) : zero;
            mp_v4 an = (pr ? mp_v4_load(pr + 2 * H + j, n) : zero) + mp_v4_load(bhh + 2 * H + j, n);
            mp_v4 r = mp_v4_sigmoid(mp_v4_load(zr + j, n) + mp_v4_load(bih + j, n) + ar +
                                    mp_v4_load(bhh + j, n));
            mp_v4 u = mp_v4_sigmoid(mp_v4_load(zz + j, n) + mp_v4_load(bih + H + j, n) + az +
                                    mp_v4_load(bhh + H + j, n));
            mp_v4 nn = mp_v4_tanh(mp_v4_load(zn + j, n) + mp_v4_load(bih + 2 * H + j, n) + r * an);
            mp_v4_store(zr + j, r, n);
            mp_v4_store(zz + j, u, n);
            mp_v4_store(zn + j, nn, n);
            mp_v4_store(hns + j, an, n);
            mp_v4_store(h1s + j, (one - u) * nn + u * mp_v4_load(hps + j, n), n);
        }
    }
}

static void gru_forward(mp_nn_layer *l, const float *in, float *out, size_t b, float *ws,
                        const mp_nn_run *run)
{
    mp_nn_rnn_dims d = mp_nn_rnn_dims_of(l);
    const size_t T = d.T, H = d.H, bH = b * H, bG = b * 3 * H;
    gru_ws w;
    gru_carve(d, b, ws, &w);
    const float *whh = l->params[MP_NN_RNN_WHH].w;
    const float *bih = l->params[MP_NN_RNN_BIH].w, *bhh = l->params[MP_NN_RNN_BHH].w;
    memset(w.hs, 0, bH * sizeof *w.hs);
    mp_nn_rnn_project(l, in, b, 3, w.xt, w.z);
    for (size_t t = 0; t < T; t++) {
        const float *hprev = w.hs + t * bH;
        if (t > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)b, (int)(3 * H), (int)H,
                        1.0f, hprev, (int)H, whh, (int)H, 0.0f, w.hp, (int)(3 * H));
        gru_step(b, H, w.z + t * bG, t > 0 ? w.hp : NULL, bih, bhh, hprev, w.hn + t * bH,
                 w.hs + (t + 1) * bH);
    }
    mp_nn_rnn_emit(l, w.hs, b, out);
}

/* One step backward: dh (b x H) is the gradient reaching h_t from later
 * steps and becomes the direct part (z * dh) of that of h_{t-1}; dy (stride
 * dys, or NULL) the part from the output. */
static void gru_step_back(size_t b, size_t H, const float *z, const float *hn, const float *h0,
                          float *dh, const float *dy, size_t dys, float *dzx, float *dzh)
{
    const mp_v4 one = mp_v4_splat(1.0f);
    for (size_t s = 0; s < b; s++) {
        const float *zr = z + s * 3 * H, *zz = zr + H, *zn = zz + H;
        const float *hns = hn + s * H, *hps = h0 + s * H;
        const float *dys_ = dy ? dy + s * dys : NULL;
        float *dhs = dh + s * H;
        float *xr = dzx + s * 3 * H, *xz = xr + H, *xn = xz + H;
        float *hr = dzh + s * 3 * H, *hz = hr + H, *hnn = hz + H;
        for (size_t j = 0; j < H; j += 4) {
            size_t n = H - j;
            mp_v4 gh = mp_v4_load(dhs + j, n);
            if (dys_)
                gh += mp_v4_load(dys_ + j, n);
            mp_v4 r = mp_v4_load(zr + j, n), u = mp_v4_load(zz + j, n);
            mp_v4 nn = mp_v4_load(zn + j, n);
            mp_v4 dn = gh * (one - u) * (one - nn * nn);
            mp_v4 du = gh * (mp_v4_load(hps + j, n) - nn) * u * (one - u);
            mp_v4 dr = dn * mp_v4_load(hns + j, n) * r * (one - r);
            mp_v4_store(xr + j, dr, n);
            mp_v4_store(xz + j, du, n);
            mp_v4_store(xn + j, dn, n);
            mp_v4_store(hr + j, dr, n);
            mp_v4_store(hz + j, du, n);
            mp_v4_store(hnn + j, dn * r, n);
            mp_v4_store(dhs + j, gh * u, n);
        }
    }
}

static void gru_backward(mp_nn_layer *l, const float *in, const float *out, const float *dout,
                         float *din, size_t b, float *ws, const mp_nn_run *run)
{
    mp_nn_rnn_dims d = mp_nn_rnn_dims_of(l);
    const size_t T = d.T, H = d.H, bH = b * H, bG = b * 3 * H;
    gru_ws w;
    gru_carve(d, b, ws, &w);
    const float *whh = l->params[MP_NN_RNN_WHH].w;
    memset(w.dh, 0, bH * sizeof *w.dh);
    for (size_t t = T; t-- > 0;) {
        size_t dys;
        const float *dy = mp_nn_rnn_dout_at(l, dout, t, &dys);
        float *dzht = w.dzh + t * bG;
        gru_step_back(b, H, w.z + t * bG, w.hn + t * bH, w.hs + t * bH, w.dh, dy, dys,
                      w.dzx + t * bG, dzht);
        /* Add the gradient reaching h_{t-1} through W_hh. */
        if (t > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)b, (int)H, (int)(3 * H),
                        1.0f, dzht, (int)(3 * H), whh, (int)H, 1.0f, w.dh, (int)H);
    }
    mp_nn_rnn_param_grads(l, b, 3, w.xt, w.hs, w.dzx, w.dzh, din, w.dxt);
}

const mp_nn_layer_ops mp_nn_gru_ops = {
    .name = "gru",
    .usage = "gru(units[, sequences])",
    .configure = mp_nn_rnn_configure,
    .init = gru_init,
    .workspace = gru_workspace,
    .forward = gru_forward,
    .backward = gru_backward,
};
