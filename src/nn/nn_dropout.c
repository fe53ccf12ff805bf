/* dropout(p): inverted dropout. In training every value is zeroed with
 * probability p and the kept ones are scaled by 1/(1-p), so inference is
 * the identity and needs no rescaling (PyTorch's nn.Dropout).
 *
 * Workspace (training only): one float per value, the factor that value
 * was multiplied by (0 or 1/(1-p)); backward multiplies dout by it. Each
 * value draws 32 bits from run->rng (two values per 64-bit draw), so the
 * same generator state gives the same mask. */
#include <stdlib.h>
#include <string.h>

#include "nn/layers.h"

typedef struct dropout_cfg {
    float p;
    float scale;     /* 1 / (1 - p) */
    uint32_t thresh; /* a value is dropped when its 32 random bits are below this */
} dropout_cfg;

/* y = x * m. Blocks of exactly eight are what GCC vectorises at -O2. */
static void mul(float *restrict y, const float *restrict x, const float *restrict m, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (size_t j = i; j < i + 8; j++)
            y[j] = x[j] * m[j];
    for (; i < n; i++)
        y[i] = x[i] * m[i];
}

static const char *ltext(const mp_nn_layer *l) { return l->text ? l->text : "dropout"; }

static int dropout_configure(mp_nn_layer *l, const mp_nn_arg *args, size_t nargs, mp_error *e)
{
    const char *usage = mp_nn_dropout_ops.usage;
    int have = 0;
    double p = 0;
    for (size_t i = 0; i < nargs; i++) {
        const mp_nn_arg *a = &args[i];
        if (a->key && strcmp(a->key, "p") != 0)
            return mp_error_set(e, MP_EINVAL, "layer %d (%s): unknown argument '%s'; usage: %s",
                                l->index, ltext(l), a->key, usage);
        if (have)
            return mp_error_set(e, MP_EINVAL, "layer %d (%s): too many arguments; usage: %s",
                                l->index, ltext(l), usage);
        if (a->word)
            return mp_error_set(e, MP_EINVAL,
                                "layer %d (%s): p must be a number, got '%s'; usage: %s",
                                l->index, ltext(l), a->word, usage);
        p = a->num;
        have = 1;
    }
    if (!have)
        return mp_error_set(e, MP_EINVAL, "layer %d (%s): missing the dropout rate p; usage: %s",
                            l->index, ltext(l), usage);
    if (!(p >= 0 && p < 1)) /* also rejects NaN */
        return mp_error_set(e, MP_EINVAL,
                            "layer %d (%s): p must be in [0, 1), got %g; usage: %s", l->index,
                            ltext(l), p, usage);
    dropout_cfg *c = malloc(sizeof *c);
    if (!c)
        return mp_error_set(e, MP_ENOMEM, "out of memory configuring layer %d", l->index);
    c->p = (float)p;
    c->scale = (float)(1.0 / (1.0 - p));
    /* p < 1, so p * 2^32 < 2^32 fits. */
    c->thresh = (uint32_t)(p * 4294967296.0);
    free(l->cfg);
    l->cfg = c;
    return 0;
}

static int dropout_init(mp_nn_layer *l, mp_rng *rng, mp_error *e)
{
    l->out = l->in;
    return 0;
}

static int active(const mp_nn_layer *l, const mp_nn_run *run)
{
    const dropout_cfg *c = l->cfg;
    return (!run || run->training) && c->thresh > 0;
}

static size_t dropout_workspace(const mp_nn_layer *l, size_t b, const mp_nn_run *run)
{
    return active(l, run) ? b * mp_nn_shape_size(l->in) : 0;
}

static void dropout_forward(mp_nn_layer *l, const float *in, float *out, size_t b, float *ws,
                            const mp_nn_run *run)
{
    const dropout_cfg *c = l->cfg;
    size_t n = b * mp_nn_shape_size(l->in);
    if (!active(l, run)) {
        if (out != in)
            memcpy(out, in, n * sizeof *out);
        return;
    }
    /* Training needs run->rng; without one (a caller bug) fall back to a
     * fixed generator rather than crash. */
    mp_rng fallback;
    mp_rng *rng = run ? run->rng : NULL;
    if (!rng) {
        mp_rng_seed(&fallback, 0);
        rng = &fallback;
    }
    const uint32_t t = c->thresh;
    /* A table lookup keeps this branch-free (the compiler turns `?:` back
     * into a branch, which with p near 0.5 mispredicts half the time). */
    const float val[2] = {0.0f, c->scale};
    size_t i = 0;
    for (; i + 2 <= n; i += 2) {
        uint64_t r = mp_rng_next(rng);
        ws[i] = val[(uint32_t)r >= t];
        ws[i + 1] = val[(uint32_t)(r >> 32) >= t];
    }
    if (i < n)
        ws[i] = val[(uint32_t)mp_rng_next(rng) >= t];
    mul(out, in, ws, n);
}

static void dropout_backward(mp_nn_layer *l, const float *in, const float *out,
                             const float *dout, float *din, size_t b, float *ws,
                             const mp_nn_run *run)
{
    if (!din)
        return;
    size_t n = b * mp_nn_shape_size(l->in);
    if (!active(l, run)) {
        if (din != dout)
            memcpy(din, dout, n * sizeof *din);
        return;
    }
    mul(din, dout, ws, n);
}

const mp_nn_layer_ops mp_nn_dropout_ops = {
    .name = "dropout",
    .usage = "dropout(p)",
    .configure = dropout_configure,
    .init = dropout_init,
    .workspace = dropout_workspace,
    .forward = dropout_forward,
    .backward = dropout_backward,
};
