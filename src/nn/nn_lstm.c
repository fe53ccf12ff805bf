/* lstm(units[, sequences]): a long short-term memory layer with PyTorch's
 * equations and gate order (i, f, g, o) and a zero initial state:
 *   i = sigmoid(W_ii x + b_ii + W_hi h + b_hi)    f likewise
 *   g = tanh(W_ig x + b_ig + W_hg h + b_hg)       o = sigmoid(...)
 *   c' = f * c + i * g                            h' = o * tanh(c')
 * Shapes, parameters and the time-major layout: nn_rnn.h.
 *
 * Workspace, in floats (b samples, T steps, F features, H units):
 *   xt [T][b][F]   the input, time-major (dW_ih needs it)
 *   z  [T][b][4H]  the input projection, then the gate activations i f g o
 *   hs [T+1][b][H] hidden states, slot 0 the zero initial state
 *   cs [T+1][b][H] cell states, likewise
 *   tc [T][b][H]   tanh of the cell state after each step
 *   bs [4H]        b_ih + b_hh
 * and for backward: dz [T][b][4H], dh [b][H], dc [b][H], dxt [T][b][F]. */
#include <cblas.h>
#include <string.h>

#include "nn/layers.h"
#include "nn/nn_rnn.h"

typedef struct lstm_ws {
    float *xt, *z, *hs, *cs, *tc, *bs, *dz, *dh, *dc, *dxt;
} lstm_ws;

static size_t lstm_carve(mp_nn_rnn_dims d, size_t b, float *base, lstm_ws *w)
{
    const size_t T = d.T, F = d.F, H = d.H;
    mp_nn_rnn_carver p = {base, 0};
    lstm_ws dummy;
    if (!w)
        w = &dummy;
    w->xt = mp_nn_rnn_take(&p, T * b * F);
    w->z = mp_nn_rnn_take(&p, T * b * 4 * H);
    w->hs = mp_nn_rnn_take(&p, (T + 1) * b * H);
    w->cs = mp_nn_rnn_take(&p, (T + 1) * b * H);
    w->tc = mp_nn_rnn_take(&p, T * b * H);
    w->bs = mp_nn_rnn_take(&p, 4 * H);
    w->dz = mp_nn_rnn_take(&p, T * b * 4 * H);
    w->dh = mp_nn_rnn_take(&p, b * H);
    w->dc = mp_nn_rnn_take(&p, b * H);
    w->dxt = mp_nn_rnn_take(&p, T * b * F);
    return p.used;
}

static int lstm_init(mp_nn_layer *l, mp_rng *rng, mp_error *e)
{
    return mp_nn_rnn_init(l, rng, 4, e);
}

/* The backward buffers are counted even for inference: backward may follow
 * a forward run with training == 0 (a gradient check does). */
static size_t lstm_workspace(const mp_nn_layer *l, size_t b, const mp_nn_run *run)
{
    return lstm_carve(mp_nn_rnn_dims_of(l), b, NULL, NULL);
}

/* One step over the batch: z holds the pre-activations without biases
 * (b rows of 4H); turns them into gate activations and writes c' and h'. */
static void lstm_step(size_t b, size_t H, float *z, const float *bs, const float *c0, float *c1,
                      float *tc, float *h1)
{
    for (size_t s = 0; s < b; s++) {
        float *zi = z + s * 4 * H, *zf = zi + H, *zg = zf + H, *zo = zg + H;
        const float *cp = c0 + s * H;
        float *cn = c1 + s * H, *tn = tc + s * H, *hn = h1 + s * H;
        for (size_t j = 0; j < H; j += 4) {
            size_t n = H - j;
            mp_v4 i = mp_v4_sigmoid(mp_v4_load(zi + j, n) + mp_v4_load(bs + j, n));
            mp_v4 f = mp_v4_sigmoid(mp_v4_load(zf + j, n) + mp_v4_load(bs + H + j, n));
            mp_v4 g = mp_v4_tanh(mp_v4_load(zg + j, n) + mp_v4_load(bs + 2 * H + j, n));
            mp_v4 o = mp_v4_sigmoid(mp_v4_load(zo + j, n) + mp_v4_load(bs + 3 * H + j, n));
            mp_v4 c = f * mp_v4_load(cp + j, n) + i * g;
            mp_v4 th = mp_v4_tanh(c);
            mp_v4_store(zi + j, i, n);
            mp_v4_store(zf + j, f, n);
            mp_v4_store(zg + j, g, n);
            mp_v4_store(zo + j, o, n);
            mp_v4_store(cn + j, c, n);
            mp_v4_store(tn + j, th, n);
            mp_v4_store(hn + j, o * th, n);
        }
    }
}

static void lstm_forward(mp_nn_layer *l, const float *in, float *out, size_t b, float *ws,
                         const mp_nn_run *run)
{
    mp_nn_rnn_dims d = mp_nn_rnn_dims_of(l);
    const size_t T = d.T, H = d.H, bH = b * H, bG = b * 4 * H;
    lstm_ws w;
    lstm_carve(d, b, ws, &w);
    const float *whh = l->params[MP_NN_RNN_WHH].w;
    const float *bih = l->params[MP_NN_RNN_BIH].w, *bhh = l->params[MP_NN_RNN_BHH].w;
    for (size_t j = 0; j < 4 * H; j++)
        w.bs[j] = bih[j] + bhh[j];
    memset(w.hs, 0, bH * sizeof *w.hs);
    memset(w.cs, 0, bH * sizeof *w.cs);
    mp_nn_rnn_project(l, in, b, 4, w.xt, w.z);
    for (size_t t = 0; t < T; t++) {
        float *zt = w.z + t * bG;
        const float *hprev = w.hs + t * bH;
        /* z_t += h_{t-1} W_hh^T; h_{-1} = 0 adds nothing. */
        if (t > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)b, (int)(4 * H), (int)H,
                        1.0f, hprev, (int)H, whh, (int)H, 1.0f, zt, (int)(4 * H));
        lstm_step(b, H, zt, w.bs, w.cs + t * bH, w.cs + (t + 1) * bH, w.tc + t * bH,
                  w.hs + (t + 1) * bH);
    }
    mp_nn_rnn_emit(l, w.hs, b, out);
}

/* One step backward: dh (b x H) is the gradient reaching h_t from later
 * steps, dy (stride dys per sample, or NULL) the part from the output; dc
 * carries the gradient of c_t and becomes that of c_{t-1}. Writes the
 * gradient of the gate pre-activations into dz. */
static void lstm_step_back(size_t b, size_t H, const float *z, const float *c0,
                           const float *tc, const float *dh, const float *dy, size_t dys,
                           float *dc, float *dz)
{
    const mp_v4 one = mp_v4_splat(1.0f);
    for (size_t s = 0; s < b; s++) {
        const float *zi = z + s * 4 * H, *zf = zi + H, *zg = zf + H, *zo = zg + H;
        const float *cp = c0 + s * H, *th = tc + s * H, *dhs = dh + s * H;
        const float *dys_ = dy ? dy + s * dys : NULL;
        float *dcs = dc + s * H;
        float *di = dz + s * 4 * H, *df = di + H, *dg = df + H, *dO = dg + H;
        for (size_t j = 0; j < H; j += 4) {
            size_t n = H - j;
            mp_v4 gh = mp_v4_load(dhs + j, n);
            if (dys_)
                gh += mp_v4_load(dys_ + j, n);
            mp_v4 i = mp_v4_load(zi + j, n), f = mp_v4_load(zf + j, n);
            mp_v4 g = mp_v4_load(zg + j, n), o = mp_v4_load(zo + j, n);
            mp_v4 t = mp_v4_load(th + j, n);
            mp_v4 c = mp_v4_load(dcs + j, n) + gh * o * (one - t * t);
            mp_v4_store(di + j, c * g * i * (one - i), n);
            mp_v4_store(df + j, c * mp_v4_load(cp + j, n) * f * (one - f), n);
            mp_v4_store(dg + j, c * i * (one - g * g), n);
            mp_v4_store(dO + j, gh * t * o * (one - o), n);
            mp_v4_store(dcs + j, c * f, n);
        }
    }
}

static void lstm_backward(mp_nn_layer *l, const float *in, const float *out, const float *dout,
                          float *din, size_t b, float *ws, const mp_nn_run *run)
{
    mp_nn_rnn_dims d = mp_nn_rnn_dims_of(l);
    const size_t T = d.T, H = d.H, bH = b * H, bG = b * 4 * H;
    lstm_ws w;
    lstm_carve(d, b, ws, &w);
    const float *whh = l->params[MP_NN_RNN_WHH].w;
    memset(w.dh, 0, bH * sizeof *w.dh);
    memset(w.dc, 0, bH * sizeof *w.dc);
    for (size_t t = T; t-- > 0;) {
        size_t dys;
        const float *dy = mp_nn_rnn_dout_at(l, dout, t, &dys);
        float *dzt = w.dz + t * bG;
        lstm_step_back(b, H, w.z + t * bG, w.cs + t * bH, w.tc + t * bH, w.dh, dy, dys, w.dc,
                       dzt);
        /* The gradient reaching h_{t-1} through the recurrence. */
        if (t > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)b, (int)H, (int)(4 * H),
                        1.0f, dzt, (int)(4 * H), whh, (int)H, 0.0f, w.dh, (int)H);
    }
    mp_nn_rnn_param_grads(l, b, 4, w.xt, w.hs, w.dz, w.dz, din, w.dxt);
}

const mp_nn_layer_ops mp_nn_lstm_ops = {
    .name = "lstm",
    .usage = "lstm(units[, sequences])",
    .configure = mp_nn_rnn_configure,
    .init = lstm_init,
    .workspace = lstm_workspace,
    .forward = lstm_forward,
    .backward = lstm_backward,
};
