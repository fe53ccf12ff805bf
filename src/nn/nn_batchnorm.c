/* batchnorm[(momentum=0.1, eps=1e-5)]: batch normalization with PyTorch's
 * semantics. Which values share statistics depends on the input rank:
 *   F       one statistic per feature over the batch     (BatchNorm1d)
 *   T x F   one per feature over the batch and time
 *   C x H x W  one per channel over the batch and space  (BatchNorm2d)
 * In training the batch mean and biased variance normalise the batch and
 * the running statistics move towards the batch mean and the unbiased
 * variance: running = (1 - momentum) * running + momentum * batch.
 * Inference normalises with the running statistics and writes nothing to
 * the layer.
 *
 * Every rank is handled as rows of [C channels][S values]: a sample of
 * shape F is 1 row with C = F, S = 1; T x F is T rows with C = F, S = 1;
 * C x H x W is 1 row with S = H * W. A batch of b samples is R = b * rows.
 *
 * Parameters: gamma (init 1) and beta (init 0), trainable without weight
 * decay; running_mean (init 0) and running_var (init 1) are buffers.
 *
 * Workspace: [mean C][invstd C][t0 C][t1 C][t2 C] then, in training, x-hat
 * for the whole batch. t0..t2 are per-channel scratch (inference keeps the
 * folded scale and shift in t0 and t1). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/layers.h"

typedef struct bn_cfg {
    double momentum, eps;
    size_t C, rows, S; /* geometry of one sample, set by init */
} bn_cfg;

enum { P_GAMMA, P_BETA, P_RMEAN, P_RVAR };

static const char *ltext(const mp_nn_layer *l) { return l->text ? l->text : "batchnorm"; }

static int bn_configure(mp_nn_layer *l, const mp_nn_arg *args, size_t nargs, mp_error *e)
{
    const char *usage = mp_nn_batchnorm_ops.usage;
    static const char *const names[2] = {"momentum", "eps"};
    double val[2] = {0.1, 1e-5};
    int seen[2] = {0, 0};
    size_t npos = 0;
    for (size_t i = 0; i < nargs; i++) {
        const mp_nn_arg *a = &args[i];
        int k;
        if (a->key) {
            if (strcmp(a->key, "momentum") == 0)
                k = 0;
            else if (strcmp(a->key, "eps") == 0)
                k = 1;
            else
                return mp_error_set(e, MP_EINVAL,
                                    "layer %d (%s): unknown argument '%s'; usage: %s", l->index,
                                    ltext(l), a->key, usage);
        } else {
            if (npos >= 2)
                return mp_error_set(e, MP_EINVAL, "layer %d (%s): too many arguments; usage: %s",
                                    l->index, ltext(l), usage);
            k = (int)npos++;
        }
        if (seen[k])
            return mp_error_set(e, MP_EINVAL, "layer %d (%s): %s given twice; usage: %s",
                                l->index, ltext(l), names[k], usage);
        if (a->word)
            return mp_error_set(e, MP_EINVAL,
                                "layer %d (%s): %s must be a number, got '%s'; usage: %s",
                                l->index, ltext(l), names[k], a->word, usage);
        seen[k] = 1;
        val[k] = a->num;
    }
    if (!(val[0] >= 0 && val[0] <= 1))
        return mp_error_set(e, MP_EINVAL,
                            "layer %d (%s): momentum must be in [0, 1], got %g; usage: %s",
                            l->index, ltext(l), val[0], usage);
    if (!(val[1] > 0 && isfinite(val[1])))
        return mp_error_set(e, MP_EINVAL, "layer %d (%s): eps must be positive, got %g; usage: %s",
                            l->index, ltext(l), val[1], usage);
    bn_cfg *c = calloc(1, sizeof *c);
    if (!c)
        return mp_error_set(e, MP_ENOMEM, "out of memory configuring layer %d", l->index);
    c->momentum = val[0];
    c->eps = val[1];
    free(l->cfg);
    l->cfg = c;
    return 0;
}

static int bn_init(mp_nn_layer *l, mp_rng *rng, mp_error *e)
{
    bn_cfg *c = l->cfg;
    char sb[64];
    if (l->in.ndim < 1 || l->in.ndim > 3 || mp_nn_shape_size(l->in) == 0)
        return mp_error_set(e, MP_EINVAL,
                            "layer %d (%s): expects an F, T x F or C x H x W input, got %s",
                            l->index, ltext(l), mp_nn_shape_str(l->in, sb, sizeof sb));
    if (l->in.ndim == 1) {
        c->rows = 1, c->C = l->in.d[0], c->S = 1;
    } else if (l->in.ndim == 2) {
        c->rows = l->in.d[0], c->C = l->in.d[1], c->S = 1;
    } else {
        c->rows = 1, c->C = l->in.d[0], c->S = l->in.d[1] * l->in.d[2];
    }
    l->out = l->in;
    int64_t shape[1] = {(int64_t)c->C};
    float *gamma, *rvar;
    int rc;
    if ((rc = mp_nn_layer_add_param(l, "gamma", 1, shape, 1, 0, &gamma, e)) < 0 ||
        (rc = mp_nn_layer_add_param(l, "beta", 1, shape, 1, 0, NULL, e)) < 0 ||
        (rc = mp_nn_layer_add_param(l, "running_mean", 1, shape, 0, 0, NULL, e)) < 0 ||
        (rc = mp_nn_layer_add_param(l, "running_var", 1, shape, 0, 0, &rvar, e)) < 0)
        return rc;
    for (size_t i = 0; i < c->C; i++)
        gamma[i] = 1.0f, rvar[i] = 1.0f;
    return 0;
}

static size_t bn_workspace(const mp_nn_layer *l, size_t b, const mp_nn_run *run)
{
    const bn_cfg *c = l->cfg;
    size_t n = 5 * c->C;
    if (!run || run->training)
        n += b * mp_nn_shape_size(l->in);
    return n;
}

/* ---- loops ----
 * The project builds with -O2, where GCC vectorises a loop only when the
 * vector code covers every iteration. VLOOP runs the body in blocks of
 * exactly eight (which it does vectorise) and then the tail; the helpers'
 * restrict pointers let it. "v_" helpers take per-channel arrays (rows of
 * C channels, S == 1), "s_" helpers per-channel scalars (runs of S). */
#define VLOOP(n, i, ...)                                                                   \
    do {                                                                                   \
        size_t i##_blk = 0;                                                                \
        for (; i##_blk + 8 <= (n); i##_blk += 8)                                           \
            for (size_t i = i##_blk; i < i##_blk + 8; i++) {                               \
                __VA_ARGS__;                                                               \
            }                                                                              \
        for (size_t i = i##_blk; i < (n); i++) {                                           \
            __VA_ARGS__;                                                                   \
        }                                                                                  \
    } while (0)

static void v_add(float *restrict acc, const float *restrict x, size_t n)
{
    VLOOP(n, i, acc[i] += x[i]);
}

static void v_center_sq(float *restrict q, float *restrict var, const float *restrict x,
                        const float *restrict mean, size_t n)
{
    VLOOP(n, i, float d = x[i] - mean[i]; q[i] = d; var[i] += d * d);
}

static void v_norm_affine(float *restrict q, float *restrict y, const float *restrict istd,
                          const float *restrict gam, const float *restrict bet, size_t n)
{
    VLOOP(n, i, float v = q[i] * istd[i]; q[i] = v; y[i] = gam[i] * v + bet[i]);
}

static void v_affine(float *restrict y, const float *restrict x, const float *restrict sc,
                     const float *restrict sh, size_t n)
{
    VLOOP(n, i, y[i] = x[i] * sc[i] + sh[i]);
}

static void v_mul(float *restrict y, const float *restrict x, const float *restrict sc, size_t n)
{
    VLOOP(n, i, y[i] = x[i] * sc[i]);
}

static void v_grad_acc(float *restrict sdy, float *restrict sdx, const float *restrict dy,
                       const float *restrict q, size_t n)
{
    VLOOP(n, i, sdy[i] += dy[i]; sdx[i] += dy[i] * q[i]);
}

static void v_grad_acc_c(float *restrict sdy, float *restrict sdx, const float *restrict dy,
                         const float *restrict x, const float *restrict m, size_t n)
{
    VLOOP(n, i, sdy[i] += dy[i]; sdx[i] += dy[i] * (x[i] - m[i]));
}

static void v_lin3(float *restrict dx, const float *restrict dy, const float *restrict q,
                   const float *restrict ca, const float *restrict cb, const float *restrict cc,
                   size_t n)
{
    VLOOP(n, i, dx[i] = ca[i] * dy[i] + cb[i] + cc[i] * q[i]);
}

static void s_center(float *restrict q, const float *restrict x, float m, size_t n)
{
    VLOOP(n, i, q[i] = x[i] - m);
}

static void s_norm_affine(float *restrict q, float *restrict y, float is, float g, float be,
                          size_t n)
{
    VLOOP(n, i, float v = q[i] * is; q[i] = v; y[i] = g * v + be);
}

static void s_affine(float *restrict y, const float *restrict x, float sc, float sh, size_t n)
{
    VLOOP(n, i, y[i] = x[i] * sc + sh);
}

static void s_lin3(float *restrict dx, const float *restrict dy, const float *restrict q, float a,
                   float b, float c, size_t n)
{
    VLOOP(n, i, dx[i] = a * dy[i] + b + c * q[i]);
}

/* Reductions with eight independent accumulators (a single accumulator
 * forces serial adds and cannot be vectorised without reassociation). */
static float sum8(const float *p, size_t n)
{
    float a[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            a[j] += p[i + j];
    float s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    for (; i < n; i++)
        s += p[i];
    return s;
}

static float dot8(const float *p, const float *q, size_t n)
{
    float a[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            a[j] += p[i + j] * q[i + j];
    float s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    for (; i < n; i++)
        s += p[i] * q[i];
    return s;
}

/* sum of dy * (x - m) */
static float dot8_c(const float *dy, const float *x, float m, size_t n)
{
    float a[8] = {0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            a[j] += dy[i + j] * (x[i + j] - m);
    float s = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
    for (; i < n; i++)
        s += dy[i] * (x[i] - m);
    return s;
}

/* ---- forward ---- */

/* Training: batch statistics; x-hat kept for backward. */
static void bn_forward_train(mp_nn_layer *l, const float *in, float *out, size_t b, float *ws)
{
    const bn_cfg *c = l->cfg;
    const size_t C = c->C, S = c->S, R = b * c->rows;
    const double N = (double)R * (double)S;
    float *mean = ws, *istd = ws + C, *var = ws + 2 * C, *xh = ws + 5 * C;
    const float *gam = l->params[P_GAMMA].w, *bet = l->params[P_BETA].w;

    if (S == 1) {
        /* Channels are contiguous within a row: accumulate across rows.
         * Two passes (mean, then squared deviations) avoid the
         * cancellation of E[x^2] - E[x]^2. */
        memset(mean, 0, C * sizeof *mean);
        memset(var, 0, C * sizeof *var);
        for (size_t r = 0; r < R; r++)
            v_add(mean, in + r * C, C);
        for (size_t k = 0; k < C; k++)
            mean[k] = (float)(mean[k] / N);
        for (size_t r = 0; r < R; r++)
            v_center_sq(xh + r * C, var, in + r * C, mean, C);
        for (size_t k = 0; k < C; k++) {
            var[k] = (float)(var[k] / N);
            istd[k] = (float)(1.0 / sqrt((double)var[k] + c->eps));
        }
        for (size_t r = 0; r < R; r++)
            v_norm_affine(xh + r * C, out + r * C, istd, gam, bet, C);
    } else {
        /* Each (row, channel) is a contiguous run of S values: reduce runs
         * in float, add the runs up in double. */
        for (size_t k = 0; k < C; k++) {
            double s = 0;
            for (size_t r = 0; r < R; r++)
                s += sum8(in + (r * C + k) * S, S);
            const float m = (float)(s / N);
            double v = 0;
            for (size_t r = 0; r < R; r++) {
                float *q = xh + (r * C + k) * S;
                s_center(q, in + (r * C + k) * S, m, S);
                v += dot8(q, q, S);
            }
            mean[k] = m;
            var[k] = (float)(v / N);
            const float is = (float)(1.0 / sqrt(v / N + c->eps));
            istd[k] = is;
            for (size_t r = 0; r < R; r++) {
                size_t o = (r * C + k) * S;
                s_norm_affine(xh + o, out + o, is, gam[k], bet[k], S);
            }
        }
    }

    /* A single value per channel has no variance to speak of (PyTorch
     * refuses such a batch); leave the running statistics alone then. */
    if (N > 1) {
        float *rm = l->params[P_RMEAN].w, *rv = l->params[P_RVAR].w;
        const double mo = c->momentum, unbias = N / (N - 1);
        for (size_t k = 0; k < C; k++) {
            rm[k] = (float)((1 - mo) * rm[k] + mo * mean[k]);
            rv[k] = (float)((1 - mo) * rv[k] + mo * (double)var[k] * unbias);
        }
    }
}

/* Inference: y = x * scale + shift with the running statistics folded in. */
static void bn_forward_infer(const mp_nn_layer *l, const float *in, float *out, size_t b,
                             float *ws)
{
    const bn_cfg *c = l->cfg;
    const size_t C = c->C, S = c->S, R = b * c->rows;
    float *scale = ws + 2 * C, *shift = ws + 3 * C;
    const float *gam = l->params[P_GAMMA].w, *bet = l->params[P_BETA].w;
    const float *rm = l->params[P_RMEAN].w, *rv = l->params[P_RVAR].w;
    for (size_t k = 0; k < C; k++) {
        double is = 1.0 / sqrt((double)rv[k] + c->eps);
        scale[k] = (float)(gam[k] * is);
        shift[k] = (float)(bet[k] - rm[k] * gam[k] * is);
    }
    if (S == 1) {
        for (size_t r = 0; r < R; r++)
            v_affine(out + r * C, in + r * C, scale, shift, C);
    } else {
        for (size_t r = 0; r < R; r++)
            for (size_t k = 0; k < C; k++) {
                size_t o = (r * C + k) * S;
                s_affine(out + o, in + o, scale[k], shift[k], S);
            }
    }
}

static void bn_forward(mp_nn_layer *l, const float *in, float *out, size_t b, float *ws,
                       const mp_nn_run *run)
{
    if (!run || run->training)
        bn_forward_train(l, in, out, b, ws);
    else
        bn_forward_infer(l, in, out, b, ws);
}

/* ---- backward ---- */

/* Training backward, through the batch statistics:
 *   dx = gamma * invstd / N * (N dy - sum(dy) - x-hat * sum(dy x-hat)). */
static void bn_backward_train(mp_nn_layer *l, const float *dout, float *din, size_t b,
                              float *ws)
{
    const bn_cfg *c = l->cfg;
    const size_t C = c->C, S = c->S, R = b * c->rows;
    const double N = (double)R * (double)S;
    const float *istd = ws + C, *xh = ws + 5 * C;
    float *ca = ws + 2 * C, *sdy = ws + 3 * C, *sdx = ws + 4 * C;
    const float *gam = l->params[P_GAMMA].w;
    float *ggam = l->params[P_GAMMA].g, *gbet = l->params[P_BETA].g;

    if (S == 1) {
        memset(sdy, 0, C * sizeof *sdy);
        memset(sdx, 0, C * sizeof *sdx);
        for (size_t r = 0; r < R; r++)
            v_grad_acc(sdy, sdx, dout + r * C, xh + r * C, C);
    } else {
        for (size_t k = 0; k < C; k++) {
            double a = 0, d = 0;
            for (size_t r = 0; r < R; r++) {
                size_t o = (r * C + k) * S;
                a += sum8(dout + o, S);
                d += dot8(dout + o, xh + o, S);
            }
            sdy[k] = (float)a;
            sdx[k] = (float)d;
        }
    }
    for (size_t k = 0; k < C; k++) {
        ggam[k] += sdx[k];
        gbet[k] += sdy[k];
    }
    if (!din)
        return;
    /* din = ca * dy + cb + cc * x-hat with per-channel coefficients (cb and
     * cc overwrite sdy and sdx). */
    for (size_t k = 0; k < C; k++) {
        double kk = (double)gam[k] * istd[k];
        ca[k] = (float)kk;
        sdy[k] = (float)(-kk * sdy[k] / N);
        sdx[k] = (float)(-kk * sdx[k] / N);
    }
    const float *cb = sdy, *cc = sdx;
    if (S == 1) {
        for (size_t r = 0; r < R; r++)
            v_lin3(din + r * C, dout + r * C, xh + r * C, ca, cb, cc, C);
    } else {
        for (size_t r = 0; r < R; r++)
            for (size_t k = 0; k < C; k++) {
                size_t o = (r * C + k) * S;
                s_lin3(din + o, dout + o, xh + o, ca[k], cb[k], cc[k], S);
            }
    }
}

/* Inference backward: the statistics are constants, so the layer is affine
 * per channel. x-hat is recomputed from the input (no workspace copy). */
static void bn_backward_infer(mp_nn_layer *l, const float *in, const float *dout, float *din,
                              size_t b, float *ws)
{
    const bn_cfg *c = l->cfg;
    const size_t C = c->C, S = c->S, R = b * c->rows;
    float *istd = ws + C, *scale = ws + 2 * C, *sdy = ws + 3 * C, *sdx = ws + 4 * C;
    const float *gam = l->params[P_GAMMA].w;
    const float *rm = l->params[P_RMEAN].w, *rv = l->params[P_RVAR].w;
    float *ggam = l->params[P_GAMMA].g, *gbet = l->params[P_BETA].g;
    for (size_t k = 0; k < C; k++) {
        double is = 1.0 / sqrt((double)rv[k] + c->eps);
        istd[k] = (float)is;
        scale[k] = (float)(gam[k] * is);
    }
    if (S == 1) {
        memset(sdy, 0, C * sizeof *sdy);
        memset(sdx, 0, C * sizeof *sdx);
        for (size_t r = 0; r < R; r++)
            v_grad_acc_c(sdy, sdx, dout + r * C, in + r * C, rm, C);
    } else {
        for (size_t k = 0; k < C; k++) {
            double a = 0, d = 0;
            for (size_t r = 0; r < R; r++) {
                size_t o = (r * C + k) * S;
                a += sum8(dout + o, S);
                d += dot8_c(dout + o, in + o, rm[k], S);
            }
            sdy[k] = (float)a;
            sdx[k] = (float)d;
        }
    }
    for (size_t k = 0; k < C; k++) {
        ggam[k] += sdx[k] * istd[k];
        gbet[k] += sdy[k];
    }
    if (!din)
        return;
    if (S == 1) {
        for (size_t r = 0; r < R; r++)
            v_mul(din + r * C, dout + r * C, scale, C);
    } else {
        for (size_t r = 0; r < R; r++)
            for (size_t k = 0; k < C; k++) {
                size_t o = (r * C + k) * S;
                s_affine(din + o, dout + o, scale[k], 0.0f, S);
            }
    }
}

static void bn_backward(mp_nn_layer *l, const float *in, const float *out, const float *dout,
                        float *din, size_t b, float *ws, const mp_nn_run *run)
{
    if (!run || run->training)
        bn_backward_train(l, dout, din, b, ws);
    else
        bn_backward_infer(l, in, dout, din, b, ws);
}

const mp_nn_layer_ops mp_nn_batchnorm_ops = {
    .name = "batchnorm",
    .usage = "batchnorm[(momentum=0.1, eps=1e-5)]",
    .configure = bn_configure,
    .init = bn_init,
    .workspace = bn_workspace,
    .forward = bn_forward,
    .backward = bn_backward,
};
