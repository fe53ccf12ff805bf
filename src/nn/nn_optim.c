/* Adam and SGD with momentum; the rules are spelled out in nn_optim.h. */
#include "nn/nn_optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

int mp_nn_optim_init(mp_nn_optim *o, mp_nn_optimizer kind, mp_nn_param *const *params, size_t n,
                     double lr, double momentum, double weight_decay, mp_error *e)
{
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->lr = lr;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
    o->momentum = momentum;
    o->weight_decay = weight_decay;
    size_t nt = 0, total = 0;
    for (size_t i = 0; i < n; i++)
        if (params[i]->g) {
            nt++;
            total += params[i]->n;
        }
    /* Adam keeps two moments per value, SGD at most one. */
    size_t per = kind == MP_NN_OPT_ADAM ? 2 : (momentum != 0.0 ? 1 : 0);
    o->params = calloc(nt ? nt : 1, sizeof *o->params);
    o->m = calloc(nt ? nt : 1, sizeof *o->m);
    o->v = calloc(nt ? nt : 1, sizeof *o->v);
    size_t values = per * total;
    o->mem = calloc(values ? values : 1, sizeof *o->mem);
    if (!o->params || !o->m || !o->v || !o->mem) {
        mp_nn_optim_free(o);
        return mp_error_set(e, MP_ENOMEM, "out of memory for the optimizer's state");
    }
    float *p = o->mem;
    for (size_t i = 0; i < n; i++) {
        if (!params[i]->g)
            continue;
        o->params[o->n] = params[i];
        if (per >= 1) {
            o->m[o->n] = p;
            p += params[i]->n;
        }
        if (per >= 2) {
            o->v[o->n] = p;
            p += params[i]->n;
        }
        o->n++;
    }
    return 0;
}

/* Adam's constants for one step. */
typedef struct adam_k {
    float step, inv_sqrt_bc2, b1, b2, omb1, omb2, eps, wd;
} adam_k;

/* One Adam update of n values. The SSE2 path (every x86-64 has it) does
 * four values at a time with the same operations in the same order as the
 * scalar loop, so both give identical bits; it matters because at -O2 the
 * compiler does not vectorise the scalar loop (sqrtf may set errno), and
 * for an MLP the update is otherwise a third of the epoch. */
static void adam_span(float *restrict w, float *restrict m, float *restrict v,
                      const float *restrict g, size_t n, const adam_k *k)
{
    size_t i = 0;
#if defined(__SSE2__)
    const __m128 step = _mm_set1_ps(k->step), isb = _mm_set1_ps(k->inv_sqrt_bc2);
    const __m128 b1 = _mm_set1_ps(k->b1), b2 = _mm_set1_ps(k->b2);
    const __m128 omb1 = _mm_set1_ps(k->omb1), omb2 = _mm_set1_ps(k->omb2);
    const __m128 eps = _mm_set1_ps(k->eps), wd = _mm_set1_ps(k->wd);
    for (; i + 4 <= n; i += 4) {
        __m128 wi = _mm_loadu_ps(w + i);
        __m128 gi = _mm_add_ps(_mm_loadu_ps(g + i), _mm_mul_ps(wd, wi));
        __m128 mi = _mm_add_ps(_mm_mul_ps(b1, _mm_loadu_ps(m + i)), _mm_mul_ps(omb1, gi));
        __m128 vi = _mm_add_ps(_mm_mul_ps(b2, _mm_loadu_ps(v + i)),
                               _mm_mul_ps(_mm_mul_ps(omb2, gi), gi));
        __m128 den = _mm_add_ps(_mm_mul_ps(_mm_sqrt_ps(vi), isb), eps);
        _mm_storeu_ps(m + i, mi);
        _mm_storeu_ps(v + i, vi);
        _mm_storeu_ps(w + i, _mm_sub_ps(wi, _mm_div_ps(_mm_mul_ps(step, mi), den)));
    }
#endif
    for (; i < n; i++) {
        float gi = g[i] + k->wd * w[i];
        m[i] = k->b1 * m[i] + k->omb1 * gi;
        v[i] = k->b2 * v[i] + k->omb2 * gi * gi;
        w[i] -= k->step * m[i] / (sqrtf(v[i]) * k->inv_sqrt_bc2 + k->eps);
    }
}

static void adam_step(mp_nn_optim *o)
{
    const double bc1 = 1.0 - pow(o->beta1, (double)o->t);
    const double bc2 = 1.0 - pow(o->beta2, (double)o->t);
    adam_k k = {(float)(o->lr / bc1), (float)(1.0 / sqrt(bc2)), (float)o->beta1,
                (float)o->beta2, (float)(1.0 - o->beta1), (float)(1.0 - o->beta2),
                (float)o->eps, 0.0f};
    for (size_t p = 0; p < o->n; p++) {
        mp_nn_param *pr = o->params[p];
        k.wd = pr->decay ? (float)o->weight_decay : 0.0f;
        adam_span(pr->w, o->m[p], o->v[p], pr->g, pr->n, &k);
    }
}

static void sgd_step(mp_nn_optim *o)
{
    const float lr = (float)o->lr, mu = (float)o->momentum;
    for (size_t k = 0; k < o->n; k++) {
        mp_nn_param *pr = o->params[k];
        float *restrict w = pr->w, *restrict buf = o->m[k];
        const float *restrict g = pr->g;
        const float wd = pr->decay ? (float)o->weight_decay : 0.0f;
        const size_t n = pr->n;
        if (buf) {
            /* buf starts at zero, so the first step gives buf = g as in PyTorch. */
            for (size_t i = 0; i < n; i++) {
                buf[i] = mu * buf[i] + (g[i] + wd * w[i]);
                w[i] -= lr * buf[i];
            }
        } else {
            for (size_t i = 0; i < n; i++)
                w[i] -= lr * (g[i] + wd * w[i]);
        }
    }
}

void mp_nn_optim_step(mp_nn_optim *o)
{
    o->t++;
    if (o->kind == MP_NN_OPT_ADAM)
        adam_step(o);
    else
        sgd_step(o);
}

void mp_nn_optim_free(mp_nn_optim *o)
{
    free(o->params);
    free(o->m);
    free(o->v);
    free(o->mem);
    memset(o, 0, sizeof *o);
}
