/* Building a network from a spec, inference, and its summary. */
#include "nn/net.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/rng.h"
#include "nn/layers.h"
#include "nn/nn_spec.h"

/* Samples per forward pass in predict: big enough for efficient GEMMs,
 * small enough that the activations stay in cache-friendly sizes. */
#define PREDICT_CHUNK 256

/* Any one dimension above this is surely a mistake and risks overflowing
 * size arithmetic and BLAS's int sizes. */
#define MAX_DIM ((size_t)1 << 30)

int mp_nn_shape_parse(const char *text, mp_nn_shape *s, mp_error *e)
{
    mp_nn_shape r = {0};
    const char *p = text;
    if (!text)
        return mp_error_set(e, MP_EINVAL, "input shape is missing");
    for (;;) {
        if (!isdigit((unsigned char)*p))
            break;
        errno = 0;
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (errno || v < 1 || v > MAX_DIM || r.ndim == MP_NN_MAX_DIMS)
            break;
        r.d[r.ndim++] = (size_t)v;
        p = end;
        if (*p == '\0') {
            *s = r;
            return 0;
        }
        if (*p != 'x' && *p != 'X')
            break;
        p++;
    }
    return mp_error_set(e, MP_EINVAL,
                        "bad shape \"%s\": expected 1 to 3 positive sizes separated by 'x', "
                        "like 784, 28x28 or 1x28x28",
                        text);
}

static void free_layers(mp_nn_layer *layers, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        mp_nn_layer_clear(&layers[i]);
        free(layers[i].text);
    }
    free(layers);
}

void mp_nn_net_free(mp_nn_net *n)
{
    if (!n)
        return;
    free_layers(n->layers, n->nlayers);
    free(n->spec);
    free(n);
}

static int shape_ok(mp_nn_shape s)
{
    if (s.ndim < 1 || s.ndim > MP_NN_MAX_DIMS)
        return 0;
    size_t total = 1;
    for (int i = 0; i < s.ndim; i++) {
        if (s.d[i] < 1 || s.d[i] > MAX_DIM)
            return 0;
        total *= s.d[i];
        if (total > MAX_DIM)
            return 0;
    }
    return 1;
}

int mp_nn_net_build(const char *spec, mp_nn_shape in, uint64_t seed, mp_nn_net **out,
                    mp_error *e)
{
    char sbuf[64];
    if (!out)
        return mp_error_set(e, MP_EINVAL, "mp_nn_net_build: no output pointer");
    *out = NULL;
    if (!shape_ok(in))
        return mp_error_set(e, MP_EINVAL, "bad network input shape %s (ndim %d)",
                            mp_nn_shape_str(in, sbuf, sizeof sbuf), in.ndim);
    mp_nn_spec ps;
    int rc = mp_nn_spec_parse(spec, &ps, e);
    if (rc) {
        mp_nn_spec_free(&ps);
        return rc;
    }
    if (ps.n == 0) {
        mp_nn_spec_free(&ps);
        return mp_error_set(e, MP_EINVAL, "network spec \"%s\" has no layers", spec);
    }
    mp_nn_net *net = calloc(1, sizeof *net);
    mp_nn_layer *layers = calloc(ps.n, sizeof *layers);
    if (!net || !layers) {
        free(net);
        free(layers);
        mp_nn_spec_free(&ps);
        return mp_error_set(e, MP_ENOMEM, "out of memory building a network");
    }
    net->in = in;
    net->layers = layers;
    net->nlayers = ps.n;
    for (size_t i = 0; i < ps.n; i++) {
        layers[i].ops = ps.layers[i].ops;
        layers[i].text = ps.layers[i].text; /* moved */
        ps.layers[i].text = NULL;
        layers[i].index = (int)i + 1;
    }
    /* Configure every layer before initialising any, so argument mistakes
     * are reported before shape mistakes. */
    for (size_t i = 0; i < ps.n && !rc; i++)
        if (layers[i].ops->configure)
            rc = layers[i].ops->configure(&layers[i], ps.layers[i].args, ps.layers[i].nargs, e);
    mp_nn_spec_free(&ps);
    if (rc)
        goto fail;
    for (size_t i = 0; i + 1 < net->nlayers; i++)
        layers[i].he = layers[i + 1].ops == &mp_nn_relu_ops ||
                       layers[i + 1].ops == &mp_nn_leaky_relu_ops;

    mp_rng rng;
    mp_rng_seed(&rng, seed);
    mp_nn_shape cur = in;
    for (size_t i = 0; i < net->nlayers; i++) {
        mp_nn_layer *l = &layers[i];
        l->in = cur;
        rc = l->ops->init(l, &rng, e);
        if (rc)
            goto fail;
        if (!shape_ok(l->out)) {
            rc = mp_error_set(e, MP_EINVAL, "layer %d (%s): gives an empty or oversized output "
                              "for input %s", l->index, l->text,
                              mp_nn_shape_str(cur, sbuf, sizeof sbuf));
            goto fail;
        }
        cur = l->out;
    }

    mp_buf sp = {0};
    for (size_t i = 0; i < net->nlayers; i++) {
        if (i)
            mp_buf_putc(&sp, ' ');
        mp_buf_puts(&sp, layers[i].text);
    }
    if (sp.oom) {
        mp_buf_free(&sp);
        rc = mp_error_set(e, MP_ENOMEM, "out of memory building a network");
        goto fail;
    }
    net->spec = mp_buf_take(&sp);
    *out = net;
    return 0;
fail:
    mp_nn_net_free(net);
    return rc;
}

mp_nn_shape mp_nn_net_out(const mp_nn_net *n) { return n->layers[n->nlayers - 1].out; }

static size_t layer_params(const mp_nn_layer *l)
{
    size_t c = 0;
    for (size_t p = 0; p < l->nparams; p++)
        if (l->params[p].g)
            c += l->params[p].n;
    return c;
}

size_t mp_nn_net_count_params(const mp_nn_net *n)
{
    size_t c = 0;
    for (size_t i = 0; i < n->nlayers; i++)
        c += layer_params(&n->layers[i]);
    return c;
}

int mp_nn_net_predict(const mp_nn_net *n, const float *x, size_t b, float *out, mp_error *e)
{
    if (!n || (b && (!x || !out)))
        return mp_error_set(e, MP_EINVAL, "mp_nn_net_predict: missing network or data");
    if (b == 0)
        return 0;
    size_t chunk = b < PREDICT_CHUNK ? b : PREDICT_CHUNK;
    size_t rest = b % chunk;
    mp_nn_run run = {0, NULL};
    size_t insz = mp_nn_shape_size(n->in), outsz = mp_nn_shape_size(mp_nn_net_out(n));
    size_t act = 0, ws = 0;
    for (size_t i = 0; i < n->nlayers; i++) {
        const mp_nn_layer *l = &n->layers[i];
        size_t s = mp_nn_shape_size(l->out);
        if (s > act)
            act = s;
        if (l->ops->workspace) {
            size_t w = l->ops->workspace(l, chunk, &run);
            if (w > ws)
                ws = w;
            if (rest && (w = l->ops->workspace(l, rest, &run)) > ws)
                ws = w;
        }
    }
    size_t total = 2 * chunk * act + ws;
    float *mem = malloc((total ? total : 1) * sizeof *mem);
    if (!mem)
        return mp_error_set(e, MP_ENOMEM, "out of memory for prediction (%zu floats)", total);
    float *bufs[2] = {mem, mem + chunk * act};
    float *wsp = mem + 2 * chunk * act;
    for (size_t off = 0; off < b; off += chunk) {
        size_t cb = b - off < chunk ? b - off : chunk;
        const float *cur = x + off * insz;
        for (size_t i = 0; i < n->nlayers; i++) {
            /* With training == 0 a layer does not write itself (layer.h),
             * which is what makes this const-correct and thread-safe. */
            mp_nn_layer *l = (mp_nn_layer *)&n->layers[i];
            float *dst = i + 1 == n->nlayers ? out + off * outsz : bufs[i & 1];
            l->ops->forward(l, cur, dst, cb, wsp, &run);
            cur = dst;
        }
    }
    free(mem);
    return 0;
}

char *mp_nn_net_summary(const mp_nn_net *n)
{
    char sbuf[64];
    size_t w = strlen("layer");
    for (size_t i = 0; i < n->nlayers; i++) {
        size_t t = strlen(n->layers[i].text);
        if (t > w)
            w = t;
    }
    mp_buf b = {0};
    mp_buf_printf(&b, "input %s\n", mp_nn_shape_str(n->in, sbuf, sizeof sbuf));
    mp_buf_printf(&b, "%3s  %-*s  %-12s  %s\n", "#", (int)w, "layer", "output", "params");
    for (size_t i = 0; i < n->nlayers; i++) {
        const mp_nn_layer *l = &n->layers[i];
        mp_buf_printf(&b, "%3d  %-*s  %-12s  %zu\n", l->index, (int)w, l->text,
                      mp_nn_shape_str(l->out, sbuf, sizeof sbuf), layer_params(l));
    }
    mp_buf_printf(&b, "%zu trainable parameters\n", mp_nn_net_count_params(n));
    if (b.oom) {
        mp_buf_free(&b);
        return NULL;
    }
    return mp_buf_take(&b);
}
