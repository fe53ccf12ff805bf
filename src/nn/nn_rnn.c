/* Shared parts of the recurrent layers: arguments, shapes, parameters, the
 * batched input projection and the closing GEMMs of backward through time
 * (see nn_rnn.h for the layout). */
#include "nn/nn_rnn.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Far above any useful size, low enough that G*H*max(F, H) cannot overflow. */
#define MP_NN_RNN_MAX_UNITS 65536

static const char *layer_text(const mp_nn_layer *l)
{
    return l->text ? l->text : l->ops->name;
}

int mp_nn_rnn_configure(mp_nn_layer *l, const mp_nn_arg *args, size_t nargs, mp_error *e)
{
    size_t units = 0;
    int have_units = 0, sequences = 0;
    const char *usage = l->ops->usage;
    for (size_t i = 0; i < nargs; i++) {
        const mp_nn_arg *a = &args[i];
        if (a->key)
            return mp_error_set(e, MP_EINVAL,
                                "layer %d (%s): unknown argument '%s'; usage: %s", l->index,
                                layer_text(l), a->key, usage);
        if (a->word) {
            if (strcmp(a->word, "sequences") != 0)
                return mp_error_set(e, MP_EINVAL,
                                    "layer %d (%s): unknown word '%s' (the only word is "
                                    "'sequences'); usage: %s",
                                    l->index, layer_text(l), a->word, usage);
            if (sequences)
                return mp_error_set(e, MP_EINVAL,
                                    "layer %d (%s): 'sequences' given twice; usage: %s",
                                    l->index, layer_text(l), usage);
            sequences = 1;
            continue;
        }
        if (have_units)
            return mp_error_set(e, MP_EINVAL,
                                "layer %d (%s): too many numbers (units is the only one); "
                                "usage: %s",
                                l->index, layer_text(l), usage);
        if (!(a->num >= 1 && a->num <= MP_NN_RNN_MAX_UNITS) || a->num != floor(a->num))
            return mp_error_set(e, MP_EINVAL,
                                "layer %d (%s): units must be an integer from 1 to %d, got %g; "
                                "usage: %s",
                                l->index, layer_text(l), MP_NN_RNN_MAX_UNITS, a->num, usage);
        units = (size_t)a->num;
        have_units = 1;
    }
    if (!have_units)
        return mp_error_set(e, MP_EINVAL, "layer %d (%s): missing the number of units; usage: %s",
                            l->index, layer_text(l), usage);
    mp_nn_rnn_cfg *c = malloc(sizeof *c);
    if (!c)
        return mp_error_set(e, MP_ENOMEM, "layer %d (%s): out of memory", l->index,
                            layer_text(l));
    c->units = units;
    c->sequences = sequences;
    free(l->cfg);
    l->cfg = c;
    return 0;
}

/* T and F of an accepted input shape; 0 when the shape is not a sequence. */
static int sequence_dims(mp_nn_shape s, size_t *T, size_t *F)
{
    if (s.ndim == 2) {
        *T = s.d[0];
        *F = s.d[1];
    } else if (s.ndim == 3 && s.d[0] == 1) {
        *T = s.d[1];
        *F = s.d[2];
    } else {
        return 0;
    }
    return *T > 0 && *F > 0;
}

int mp_nn_rnn_init(mp_nn_layer *l, mp_rng *rng, size_t gates, mp_error *e)
{
    const mp_nn_rnn_cfg *c = l->cfg;
    char got[64];
    size_t T, F;
    if (!c)
        return mp_error_set(e, MP_EINVAL, "layer %d (%s): not configured", l->index,
                            layer_text(l));
    if (!sequence_dims(l->in, &T, &F)) {
        const char *hint = l->in.ndim == 3 ? "; only one channel can be read as a sequence"
                           : l->in.ndim == 1 ? "; a flat vector has no time axis" : "";
        return mp_error_set(e, MP_EINVAL,
                            "layer %d (%s): expects a sequence T x F (or 1 x T x F), got %s%s",
                            l->index, layer_text(l),
                            mp_nn_shape_str(l->in, got, sizeof got), hint);
    }
    if (F > MP_NN_RNN_MAX_UNITS * (size_t)16)
        return mp_error_set(e, MP_EINVAL, "layer %d (%s): %zu features per step is too many",
                            l->index, layer_text(l), F);
    size_t H = c->units;
    memset(&l->out, 0, sizeof l->out);
    if (c->sequences) {
        l->out.ndim = 2;
        l->out.d[0] = T;
        l->out.d[1] = H;
    } else {
        l->out.ndim = 1;
        l->out.d[0] = H;
    }
    const int64_t gh = (int64_t)(gates * H);
    const int64_t s_ih[2] = {gh, (int64_t)F}, s_hh[2] = {gh, (int64_t)H}, s_b[1] = {gh};
    float *w[4];
    int rc;
    if ((rc = mp_nn_layer_add_param(l, "weight_ih", 2, s_ih, 1, 1, &w[0], e)) < 0 ||
        (rc = mp_nn_layer_add_param(l, "weight_hh", 2, s_hh, 1, 1, &w[1], e)) < 0 ||
        (rc = mp_nn_layer_add_param(l, "bias_ih", 1, s_b, 1, 0, &w[2], e)) < 0 ||
        (rc = mp_nn_layer_add_param(l, "bias_hh", 1, s_b, 1, 0, &w[3], e)) < 0)
        return rc;
    /* PyTorch initialises every recurrent parameter, biases included,
     * uniformly in [-1/sqrt(H), 1/sqrt(H)]. */
    const double k = 1.0 / sqrt((double)H);
    for (int p = 0; p < 4; p++)
        for (size_t i = 0; i < l->params[p].n; i++)
            w[p][i] = (float)((2.0 * mp_rng_uniform(rng) - 1.0) * k);
    return 0;
}

mp_nn_rnn_dims mp_nn_rnn_dims_of(const mp_nn_layer *l)
{
    const mp_nn_rnn_cfg *c = l->cfg;
    mp_nn_rnn_dims d = {0, 0, c->units, c->sequences};
    sequence_dims(l->in, &d.T, &d.F);
    return d;
}

void mp_nn_rnn_project(const mp_nn_layer *l, const float *in, size_t b, size_t gates,
                       float *xt, float *zx)
{
    mp_nn_rnn_dims d = mp_nn_rnn_dims_of(l);
    const size_t T = d.T, F = d.F, GH = gates * d.H;
    for (size_t s = 0; s < b; s++)
        for (size_t t = 0; t < T; t++)
            memcpy(xt + (t * b + s) * F, in + (s * T + t) * F, F * sizeof *xt);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(T * b), (int)GH, (int)F, 1.0f,
                xt, (int)F, l->params[MP_NN_RNN_WIH].w, (int)F, 0.0f, zx, (int)GH);
}

void mp_nn_rnn_emit(const mp_nn_layer *l, const float *hs, size_t b, float *out)
{
    mp_nn_rnn_dims d = mp_nn_rnn_dims_of(l);
    const size_t T = d.T, H = d.H;
    if (!d.sequences) {
        memcpy(out, hs + T * b * H, b * H * sizeof *out);
        return;
    }
    for (size_t s = 0; s < b; s++)
        for (size_t t = 0; t < T; t++)
            memcpy(out + (s * T + t) * H, hs + ((t + 1) * b + s) * H, H * sizeof *out);
}

const float *mp_nn_rnn_dout_at(const mp_nn_layer *l, const float *dout, size_t t,
                               size_t *stride)
{
    mp_nn_rnn_dims d = mp_nn_rnn_dims_of(l);
    if (d.sequences) {
        *stride = d.T * d.H;
        return dout + t * d.H;
    }
    *stride = d.H;
    return t + 1 == d.T ? dout : NULL;
}

/* g[j] += sum over rows of m[r][j], for an n x w row-major matrix. */
static void add_column_sums(float *g, const float *m, size_t n, size_t w)
{
    for (size_t j = 0; j < w; j += 4) {
        size_t k = w - j;
        mp_v4 acc = mp_v4_load(g + j, k);
        for (size_t r = 0; r < n; r++)
            acc += mp_v4_load(m + r * w + j, k);
        mp_v4_store(g + j, acc, k);
    }
}

void mp_nn_rnn_param_grads(mp_nn_layer *l, size_t b, size_t gates, const float *xt,
                           const float *hs, const float *dzx, const float *dzh, float *din,
                           float *dxt)
{
    mp_nn_rnn_dims d = mp_nn_rnn_dims_of(l);
    const size_t T = d.T, F = d.F, H = d.H, GH = gates * H, n = T * b;
    mp_nn_param *p = l->params;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)GH, (int)F, (int)n, 1.0f, dzx,
                (int)GH, xt, (int)F, 1.0f, p[MP_NN_RNN_WIH].g, (int)F);
    /* Step 0 saw the zero initial state, so it adds nothing to dW_hh. */
    if (T > 1)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)GH, (int)H, (int)((T - 1) * b),
                    1.0f, dzh + b * GH, (int)GH, hs + b * H, (int)H, 1.0f, p[MP_NN_RNN_WHH].g,
                    (int)H);
    add_column_sums(p[MP_NN_RNN_BIH].g, dzx, n, GH);
    add_column_sums(p[MP_NN_RNN_BHH].g, dzh, n, GH);
    if (!din)
        return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)F, (int)GH, 1.0f, dzx,
                (int)GH, p[MP_NN_RNN_WIH].w, (int)F, 0.0f, dxt, (int)F);
    for (size_t s = 0; s < b; s++)
        for (size_t t = 0; t < T; t++)
            memcpy(din + (s * T + t) * F, dxt + (t * b + s) * F, F * sizeof *din);
}
