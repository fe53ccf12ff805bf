/* The training losses; conventions in nn_loss.h. */
#include "nn/nn_loss.h"

#include <math.h>

double mp_nn_loss_ce(const float *z, const float *p, const float *y, size_t b, size_t k,
                     float *dz)
{
    double total = 0.0;
    const float inv_b = 1.0f / (float)b;
    for (size_t s = 0; s < b; s++) {
        const float *zs = z + s * k;
        size_t c = (size_t)y[s];
        /* -log softmax(z)[c] = logsumexp(z) - z[c], finite even when p[c]
         * underflows to 0. */
        float m = zs[0];
        for (size_t j = 1; j < k; j++)
            m = zs[j] > m ? zs[j] : m;
        double sum = 0.0;
        for (size_t j = 0; j < k; j++)
            sum += exp((double)zs[j] - m);
        total += (double)m + log(sum) - (double)zs[c];
        if (dz) {
            const float *ps = p + s * k;
            float *d = dz + s * k;
            for (size_t j = 0; j < k; j++)
                d[j] = ps[j] * inv_b;
            d[c] -= inv_b;
        }
    }
    return total;
}

double mp_nn_loss_bce(const float *z, const float *s, const float *t, size_t b, size_t k,
                      float *dz)
{
    const size_t n = b * k;
    const float scale = 1.0f / (float)n;
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        float zi = z[i];
        /* -t log s - (1-t) log(1-s) rewritten in z: no log(0), no overflow. */
        total += (double)((zi > 0.0f ? zi : 0.0f) - zi * t[i] + log1pf(expf(-fabsf(zi))));
        if (dz)
            dz[i] = (s[i] - t[i]) * scale;
    }
    return total / (double)k;
}

double mp_nn_loss_mse(const float *out, const float *t, size_t b, size_t k, float *dout)
{
    const size_t n = b * k;
    const float scale = 2.0f / (float)n;
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        float d = out[i] - t[i];
        total += (double)d * d;
        if (dout)
            dout[i] = d * scale;
    }
    return total / (double)k;
}

size_t mp_nn_count_correct(const float *p, const float *y, size_t b, size_t k)
{
    size_t c = 0;
    for (size_t s = 0; s < b; s++) {
        const float *ps = p + s * k;
        size_t best = 0;
        for (size_t j = 1; j < k; j++)
            if (ps[j] > ps[best])
                best = j;
        c += best == (size_t)y[s];
    }
    return c;
}
