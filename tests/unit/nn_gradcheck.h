/* Gradient check for neural-network layers: compares a layer's backward
 * with central differences of its forward, for the input and for every
 * trainable parameter. The loss is sum(out * r) for a fixed random r, so
 * dout = r. Dropout-style randomness is made repeatable by restarting the
 * generator from the same seed for every forward pass. Include after
 * test.h; for unit tests only. */
#ifndef MP_TEST_NN_GRADCHECK_H
#define MP_TEST_NN_GRADCHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/layer.h"

static double nn_gc_loss(mp_nn_layer *l, const float *x, size_t b, const float *r, float *out,
                         float *ws, int training, uint64_t seed)
{
    mp_rng rng;
    mp_rng_seed(&rng, seed);
    mp_nn_run run = {training, &rng};
    l->ops->forward(l, x, out, b, ws, &run);
    size_t no = b * mp_nn_shape_size(l->out);
    double s = 0;
    for (size_t i = 0; i < no; i++)
        s += (double)out[i] * (double)r[i];
    return s;
}

/* Returns the number of mismatching gradient entries (0 is a pass) and
 * prints each one. Checks up to `maxcheck` entries per tensor. */
static int nn_gradcheck(mp_nn_layer *l, size_t b, int training, uint64_t seed, size_t maxcheck,
                        double tol)
{
    size_t ni = b * mp_nn_shape_size(l->in), no = b * mp_nn_shape_size(l->out);
    mp_rng rng;
    mp_rng_seed(&rng, seed ^ 0x9e3779b97f4a7c15ULL);
    float *x = malloc(ni * sizeof *x), *r = malloc(no * sizeof *r), *out = malloc(no * sizeof *out);
    float *din = malloc(ni * sizeof *din);
    mp_nn_run run0 = {training, NULL};
    size_t nws = l->ops->workspace ? l->ops->workspace(l, b, &run0) : 0;
    float *ws = calloc(nws ? nws : 1, sizeof *ws);
    for (size_t i = 0; i < ni; i++)
        x[i] = (float)(2 * mp_rng_uniform(&rng) - 1);
    for (size_t i = 0; i < no; i++)
        r[i] = (float)(2 * mp_rng_uniform(&rng) - 1);
    for (size_t p = 0; p < l->nparams; p++)
        if (l->params[p].g)
            memset(l->params[p].g, 0, l->params[p].n * sizeof(float));

    nn_gc_loss(l, x, b, r, out, ws, training, seed);
    {
        mp_rng drng;
        mp_rng_seed(&drng, seed);
        mp_nn_run run = {training, &drng};
        l->ops->backward(l, x, out, r, din, b, ws, &run);
    }
    int bad = 0;
    const double h = 1e-2;
    /* input */
    size_t step = ni > maxcheck ? ni / maxcheck : 1;
    for (size_t i = 0; i < ni; i += step) {
        float keep = x[i];
        x[i] = keep + (float)h;
        double lp = nn_gc_loss(l, x, b, r, out, ws, training, seed);
        x[i] = keep - (float)h;
        double lm = nn_gc_loss(l, x, b, r, out, ws, training, seed);
        x[i] = keep;
        double num = (lp - lm) / (2 * h), ana = din[i];
        if (fabs(num - ana) > tol * fmax(1.0, fmax(fabs(num), fabs(ana)))) {
            fprintf(stderr, "%s: d/dinput[%zu]: backward %.6g, numeric %.6g\n", l->text, i, ana,
                    num);
            bad++;
        }
    }
    for (size_t p = 0; p < l->nparams; p++) {
        mp_nn_param *pr = &l->params[p];
        if (!pr->g)
            continue;
        float *g = malloc(pr->n * sizeof *g);
        memcpy(g, pr->g, pr->n * sizeof *g);
        step = pr->n > maxcheck ? pr->n / maxcheck : 1;
        for (size_t i = 0; i < pr->n; i += step) {
            float keep = pr->w[i];
            pr->w[i] = keep + (float)h;
            double lp = nn_gc_loss(l, x, b, r, out, ws, training, seed);
            pr->w[i] = keep - (float)h;
            double lm = nn_gc_loss(l, x, b, r, out, ws, training, seed);
            pr->w[i] = keep;
            double num = (lp - lm) / (2 * h), ana = g[i];
            if (fabs(num - ana) > tol * fmax(1.0, fmax(fabs(num), fabs(ana)))) {
                fprintf(stderr, "%s: d/d%s[%zu]: backward %.6g, numeric %.6g\n", l->text,
                        pr->name, i, ana, num);
                bad++;
            }
        }
        free(g);
    }
    free(x);
    free(r);
    free(out);
    free(din);
    free(ws);
    return bad;
}

#endif
