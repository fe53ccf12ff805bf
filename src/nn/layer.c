/* Helpers shared by every layer kind. */
#include "nn/layer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t mp_nn_shape_size(mp_nn_shape s)
{
    size_t n = 1;
    for (int i = 0; i < s.ndim; i++)
        n *= s.d[i];
    return n;
}

char *mp_nn_shape_str(mp_nn_shape s, char *buf, size_t cap)
{
    size_t len = 0;
    if (cap == 0)
        return buf;
    buf[0] = '\0';
    for (int i = 0; i < s.ndim && len < cap; i++) {
        int w = snprintf(buf + len, cap - len, i ? "x%zu" : "%zu", s.d[i]);
        if (w < 0)
            break;
        len += (size_t)w;
    }
    return buf;
}

int mp_nn_layer_add_param(mp_nn_layer *l, const char *name, int ndim, const int64_t *shape,
                          int trainable, int decay, float **w, mp_error *e)
{
    if (l->nparams >= MP_NN_MAX_PARAMS || ndim < 1 || ndim > 4)
        return mp_error_set(e, MP_EINVAL, "layer %d (%s): too many parameters", l->index,
                            l->text ? l->text : "?");
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    mp_nn_param *p = &l->params[l->nparams];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->n = n;
    p->ndim = ndim;
    memcpy(p->shape, shape, (size_t)ndim * sizeof *shape);
    p->decay = decay;
    p->w = calloc(n ? n : 1, sizeof(float));
    if (trainable)
        p->g = calloc(n ? n : 1, sizeof(float));
    if (!p->w || (trainable && !p->g)) {
        free(p->w);
        free(p->g);
        return mp_error_set(e, MP_ENOMEM, "out of memory for layer %d parameters", l->index);
    }
    l->nparams++;
    if (w)
        *w = p->w;
    return 0;
}

void mp_nn_init_uniform(float *w, size_t n, size_t fan_in, size_t fan_out, int he, mp_rng *rng)
{
    double a = he ? sqrt(6.0 / (double)(fan_in ? fan_in : 1))
                  : sqrt(6.0 / (double)(fan_in + fan_out ? fan_in + fan_out : 1));
    for (size_t i = 0; i < n; i++)
        w[i] = (float)((2.0 * mp_rng_uniform(rng) - 1.0) * a);
}

void mp_nn_layer_clear(mp_nn_layer *l)
{
    for (size_t i = 0; i < l->nparams; i++) {
        free(l->params[i].w);
        free(l->params[i].g);
    }
    l->nparams = 0;
    free(l->cfg);
    l->cfg = NULL;
}
