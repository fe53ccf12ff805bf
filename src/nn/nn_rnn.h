/* Machinery shared by the recurrent layers (nn_lstm.c, nn_gru.c).
 *
 * Both layers read a sequence T x F (or 1 x T x F: a one-channel image read
 * row by row) and emit either the last hidden state (H floats, the default)
 * or every hidden state (T x H, with the word `sequences`). Parameters are
 * PyTorch's, in PyTorch's layout and gate order, so weights can be compared
 * with torch.nn.LSTM / torch.nn.GRU one for one:
 *   params[0] weight_ih [G*H, F]   params[1] weight_hh [G*H, H]
 *   params[2] bias_ih   [G*H]      params[3] bias_hh   [G*H]
 * with G = 4 (i, f, g, o) for LSTM and G = 3 (r, z, n) for GRU.
 *
 * Inside one pass everything is time-major: the batch of b samples is
 * transposed to [T][b][F] once, so the hidden states of one step form a
 * contiguous b x H block (one GEMM per step for h W_hh^T) and the input
 * projection, dW_ih, dW_hh and dX are each a single GEMM over all T*b rows.
 * Workspace pieces are carved with mp_nn_rnn_take in a fixed order; sizes
 * are rounded to 16 floats so every piece starts 64-byte aligned relative
 * to the workspace. */
#ifndef MP_NN_RNN_H
#define MP_NN_RNN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "nn/layer.h"

/* l->cfg of both recurrent layers. */
typedef struct mp_nn_rnn_cfg {
    size_t units;  /* H */
    int sequences; /* 1: emit all T hidden states; 0: only the last */
} mp_nn_rnn_cfg;

/* The sizes one pass works with. */
typedef struct mp_nn_rnn_dims {
    size_t T, F, H;
    int sequences;
} mp_nn_rnn_dims;

enum { MP_NN_RNN_WIH = 0, MP_NN_RNN_WHH = 1, MP_NN_RNN_BIH = 2, MP_NN_RNN_BHH = 3 };

/* ops->configure of both layers: `units` (a positive integer), then
 * optionally the word `sequences`. */
int mp_nn_rnn_configure(mp_nn_layer *l, const mp_nn_arg *args, size_t nargs, mp_error *e);
/* The body of ops->init for a cell with `gates` gates: checks the input
 * shape, sets l->out, adds the four parameters and fills them uniformly in
 * [-1/sqrt(H), 1/sqrt(H)] as PyTorch does (l->he is ignored). */
int mp_nn_rnn_init(mp_nn_layer *l, mp_rng *rng, size_t gates, mp_error *e);

mp_nn_rnn_dims mp_nn_rnn_dims_of(const mp_nn_layer *l);

/* Workspace pieces, carved one after another with sizes rounded up to 16
 * floats. With base == NULL only `used` counts (for ops->workspace). */
typedef struct mp_nn_rnn_carver {
    float *base;
    size_t used;
} mp_nn_rnn_carver;
static inline float *mp_nn_rnn_take(mp_nn_rnn_carver *c, size_t n)
{
    float *r = c->base ? c->base + c->used : NULL;
    c->used += (n + 15) & ~(size_t)15;
    return r;
}

/* Transposes the batch `in` ([b][T][F]) into xt ([T][b][F]) and computes
 * the input projection zx = xt W_ih^T ([T*b][G*H], no bias) with one GEMM. */
void mp_nn_rnn_project(const mp_nn_layer *l, const float *in, size_t b, size_t gates,
                       float *xt, float *zx);
/* Writes the layer output from hs ([T+1][b][H], slot t+1 = h_t): the last
 * state, or all of them in the sample-major order of `out`. */
void mp_nn_rnn_emit(const mp_nn_layer *l, const float *hs, size_t b, float *out);
/* The part of dout that reaches h_t directly: sample s's gradient is at
 * ret + s * (*stride); NULL when none does (many-to-one, t < T-1). */
const float *mp_nn_rnn_dout_at(const mp_nn_layer *l, const float *dout, size_t t,
                               size_t *stride);
/* The end of backward through time, given the gradients with respect to the
 * input projection (dzx, [T][b][G*H]) and the hidden projection (dzh, the
 * same layout; may equal dzx when they coincide, as in LSTM):
 *   dW_ih += dzx^T xt     db_ih += column sums of dzx
 *   dW_hh += dzh^T h_prev db_hh += column sums of dzh
 *   din    = (dzx W_ih) transposed back to [b][T][F], when din != NULL
 * using dxt ([T][b][F]) as scratch. hs is [T+1][b][H] with hs slot t = the
 * state before step t. */
void mp_nn_rnn_param_grads(mp_nn_layer *l, size_t b, size_t gates, const float *xt,
                           const float *hs, const float *dzx, const float *dzh, float *din,
                           float *dxt);

/* Four floats at a time through GCC's vector extensions (one SSE register
 * on baseline x86-64; 16 bytes is also the widest vector that can be passed
 * by value without AVX changing the ABI). Plain loops are not enough: -O2
 * does not vectorise a loop whose length is only known at run time, and
 * libm's tanhf and expf calls were 60% of an LSTM pass. The gate loops walk
 * H in blocks of 4; the last block may be partial (n < 4), and loads then
 * fill the missing lanes with zeros, so one code path serves every H. */
typedef float mp_v4 __attribute__((vector_size(16)));
typedef int32_t mp_v4i __attribute__((vector_size(16)));  /* comparison masks */
typedef uint32_t mp_v4u __attribute__((vector_size(16))); /* bit arithmetic (wraps) */

static inline mp_v4 mp_v4_splat(float x)
{
    mp_v4 v = {x, x, x, x};
    return v;
}
/* Full blocks take the constant-size copy (one unaligned move); a
 * variable-size copy would go through the stack and stall every load. */
static inline mp_v4 mp_v4_load(const float *p, size_t n)
{
    mp_v4 v;
    if (__builtin_expect(n >= 4, 1)) {
        memcpy(&v, p, sizeof v);
        return v;
    }
    v = mp_v4_splat(0.0f);
    memcpy(&v, p, n * sizeof *p);
    return v;
}
static inline void mp_v4_store(float *p, mp_v4 v, size_t n)
{
    if (__builtin_expect(n >= 4, 1))
        memcpy(p, &v, sizeof v);
    else
        memcpy(p, &v, n * sizeof *p);
}
/* a where keep is true (all bits set), b elsewhere. */
static inline mp_v4 mp_v4_select(mp_v4i keep, mp_v4 a, mp_v4 b)
{
    return (mp_v4)((keep & (mp_v4i)a) | (~keep & (mp_v4i)b));
}

/* e^x within 2 ulp for x in [-87, 88]; inputs beyond are clamped there
 * (e^88 is still finite, so 1 + e^x never overflows), NaN stays NaN.
 * Range reduction x = k ln2 + r, |r| <= ln2/2, with ln2 split in two so
 * k ln2 is exact; e^r by a degree-6 minimax polynomial (Cephes' expf
 * coefficients); 2^k built in the exponent bits. */
static inline mp_v4 mp_v4_exp(mp_v4 x)
{
    const mp_v4 hi = mp_v4_splat(88.0f), lo = mp_v4_splat(-87.0f);
    x = mp_v4_select(hi < x, hi, x);
    x = mp_v4_select(x < lo, lo, x);
    /* Adding 1.5 * 2^23 rounds to an integer held in the low mantissa bits. */
    const mp_v4 magic = mp_v4_splat(12582912.0f);
    mp_v4 t = x * 1.44269504088896341f + magic;
    mp_v4 k = t - magic;
    mp_v4 r = x - k * 0.693359375f;
    r = r - k * -2.12194440e-4f;
    mp_v4 p = mp_v4_splat(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    mp_v4u e = ((mp_v4u)t - (mp_v4u)magic + 127u) << 23;
    return p * (mp_v4)e;
}
static inline mp_v4 mp_v4_sigmoid(mp_v4 x)
{
    return 1.0f / (1.0f + mp_v4_exp(-x));
}
/* 1 - 2 / (1 + e^2x): exact limits +-1, absolute error below 2e-7. */
static inline mp_v4 mp_v4_tanh(mp_v4 x)
{
    return 1.0f - 2.0f / (1.0f + mp_v4_exp(x + x));
}

#endif
