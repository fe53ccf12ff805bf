/* maxpool(size[, stride=size]) and avgpool(size[, stride=size]) over the
 * H x W planes of a C x H x W input: square windows, no padding, output
 * size floor((H - size) / stride) + 1 like PyTorch, so rows and columns a
 * window never reaches (the last one of an odd map with size 2) get no
 * gradient.
 *
 * maxpool takes the first maximum in row-major window order and lets a NaN
 * win, as PyTorch does. Its workspace holds, for every output value, the
 * position of the chosen input inside its H x W plane (h * W + w) stored
 * as a float; init refuses planes over 2^24 values, so that is exact.
 * avgpool needs no workspace; its backward spreads each gradient evenly
 * over the window (size * size values, overlapping windows add up).
 *
 * The common 2x2 stride 2 case has its own loops (SSE2 on x86-64, four
 * outputs at a time) whose backward writes each covered input once
 * instead of clearing din and scattering into it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/layers.h"

/* SSE2 is part of x86-64; MP_NN_NO_SIMD forces the portable loops (the
 * tests build both). */
#if defined(__SSE2__) && !defined(MP_NN_NO_SIMD)
#define POOL_SSE2 1
#include <emmintrin.h>
#endif

typedef struct pool_cfg {
    size_t size, stride;
} pool_cfg;

/* The spec parser may not have set l->ops yet when it calls configure, so
 * the kind travels explicitly. */
static const char *ltext(const mp_nn_layer *l, const mp_nn_layer_ops *ops)
{
    return l->text ? l->text : ops->name;
}

/* A window size or stride: a whole number in [1, 65536]. */
static int pool_int(const mp_nn_layer *l, const mp_nn_layer_ops *ops, const mp_nn_arg *a,
                    const char *what, size_t *v, mp_error *e)
{
    if (a->word)
        return mp_error_set(e, MP_EINVAL, "layer %d (%s): %s must be a number, got '%s'; usage: %s",
                            l->index, ltext(l, ops), what, a->word, ops->usage);
    if (!(a->num >= 1 && a->num <= 65536) || a->num != floor(a->num))
        return mp_error_set(e, MP_EINVAL,
                            "layer %d (%s): %s must be a whole number from 1 to 65536, got %g; "
                            "usage: %s",
                            l->index, ltext(l, ops), what, a->num, ops->usage);
    *v = (size_t)a->num;
    return 0;
}

static int pool_configure(mp_nn_layer *l, const mp_nn_layer_ops *ops, const mp_nn_arg *args,
                          size_t nargs, mp_error *e)
{
    static const char *const names[2] = {"size", "stride"};
    size_t val[2] = {0, 0};
    int seen[2] = {0, 0};
    size_t npos = 0;
    for (size_t i = 0; i < nargs; i++) {
        const mp_nn_arg *a = &args[i];
        int k;
        if (a->key) {
            if (strcmp(a->key, "size") == 0)
                k = 0;
            else if (strcmp(a->key, "stride") == 0)
                k = 1;
            else
                return mp_error_set(e, MP_EINVAL,
                                    "layer %d (%s): unknown argument '%s'; usage: %s", l->index,
                                    ltext(l, ops), a->key, ops->usage);
        } else {
            if (npos >= 2)
                return mp_error_set(e, MP_EINVAL, "layer %d (%s): too many arguments; usage: %s",
                                    l->index, ltext(l, ops), ops->usage);
            k = (int)npos++;
        }
        if (seen[k])
            return mp_error_set(e, MP_EINVAL, "layer %d (%s): %s given twice; usage: %s",
                                l->index, ltext(l, ops), names[k], ops->usage);
        int rc = pool_int(l, ops, a, names[k], &val[k], e);
        if (rc < 0)
            return rc;
        seen[k] = 1;
    }
    if (!seen[0])
        return mp_error_set(e, MP_EINVAL, "layer %d (%s): missing the window size; usage: %s",
                            l->index, ltext(l, ops), ops->usage);
    pool_cfg *c = malloc(sizeof *c);
    if (!c)
        return mp_error_set(e, MP_ENOMEM, "out of memory configuring layer %d", l->index);
    c->size = val[0];
    c->stride = seen[1] ? val[1] : val[0];
    free(l->cfg);
    l->cfg = c;
    return 0;
}

static int pool_init(mp_nn_layer *l, const mp_nn_layer_ops *ops, mp_error *e)
{
    const pool_cfg *c = l->cfg;
    char sb[64];
    if (l->in.ndim != 3)
        return mp_error_set(e, MP_EINVAL,
                            "layer %d (%s): expects a C x H x W input, got %s; pooling works on "
                            "images (channels x height x width)",
                            l->index, ltext(l, ops), mp_nn_shape_str(l->in, sb, sizeof sb));
    size_t H = l->in.d[1], W = l->in.d[2];
    if (c->size > H || c->size > W)
        return mp_error_set(e, MP_EINVAL,
                            "layer %d (%s): a %zux%zu window does not fit the input %s; it needs "
                            "at least %zux%zu per channel",
                            l->index, ltext(l, ops), c->size, c->size,
                            mp_nn_shape_str(l->in, sb, sizeof sb), c->size, c->size);
    if (H * W > ((size_t)1 << 24))
        return mp_error_set(e, MP_EINVAL,
                            "layer %d (%s): input %s is too large (at most 2^24 values per "
                            "channel)",
                            l->index, ltext(l, ops), mp_nn_shape_str(l->in, sb, sizeof sb));
    l->out.ndim = 3;
    l->out.d[0] = l->in.d[0];
    l->out.d[1] = (H - c->size) / c->stride + 1;
    l->out.d[2] = (W - c->size) / c->stride + 1;
    return 0;
}

static int maxpool_configure(mp_nn_layer *l, const mp_nn_arg *args, size_t nargs, mp_error *e)
{
    return pool_configure(l, &mp_nn_maxpool_ops, args, nargs, e);
}

static int avgpool_configure(mp_nn_layer *l, const mp_nn_arg *args, size_t nargs, mp_error *e)
{
    return pool_configure(l, &mp_nn_avgpool_ops, args, nargs, e);
}

static int maxpool_init(mp_nn_layer *l, mp_rng *rng, mp_error *e)
{
    return pool_init(l, &mp_nn_maxpool_ops, e);
}

static int avgpool_init(mp_nn_layer *l, mp_rng *rng, mp_error *e)
{
    return pool_init(l, &mp_nn_avgpool_ops, e);
}

/* ---- the common case: 2x2 windows, stride 2 ----
 *
 * One output row at a time from two input rows r0, r1. The SSE2 versions
 * do four outputs per step (even and odd columns separated by shuffles);
 * the scalar ones handle the rest and other machines. `base` is the plane
 * position of r0[0]. */

/* PyTorch's rule: a later value wins if strictly larger, or NaN. */
#define POOL_WINS(v, m) ((v) > (m) || (v) != (v))

static void max2_row_scalar(const float *r0, const float *r1, float *y, float *ix, size_t from,
                            size_t Wo, size_t W, size_t base)
{
    for (size_t ow = from; ow < Wo; ow++) {
        size_t j = 2 * ow, bi = j;
        float m = r0[j], v;
        v = r0[j + 1];
        if (POOL_WINS(v, m))
            m = v, bi = j + 1;
        v = r1[j];
        if (POOL_WINS(v, m))
            m = v, bi = W + j;
        v = r1[j + 1];
        if (POOL_WINS(v, m))
            m = v, bi = W + j + 1;
        y[ow] = m;
        ix[ow] = (float)(int32_t)(base + bi);
    }
}

static void max2_back_row_scalar(float *r0, float *r1, const float *dy, const float *ix,
                                 size_t from, size_t Wo, size_t W, size_t base)
{
    for (size_t ow = from; ow < Wo; ow++) {
        /* positions are below 2^24: int32 conversions are exact and cheap */
        size_t j = 2 * ow, rel = (size_t)(int32_t)ix[ow] - base - j;
        float g = dy[ow];
        r0[j] = rel == 0 ? g : 0.0f;
        r0[j + 1] = rel == 1 ? g : 0.0f;
        r1[j] = rel == W ? g : 0.0f;
        r1[j + 1] = rel == W + 1 ? g : 0.0f;
    }
}

static void avg2_row_scalar(const float *r0, const float *r1, float *y, size_t from, size_t Wo)
{
    for (size_t ow = from; ow < Wo; ow++)
        y[ow] = (((r0[2 * ow] + r0[2 * ow + 1]) + r1[2 * ow]) + r1[2 * ow + 1]) / 4.0f;
}

static void avg2_back_row_scalar(float *r0, float *r1, const float *dy, size_t from, size_t Wo)
{
    for (size_t ow = from; ow < Wo; ow++) {
        float g = dy[ow] / 4.0f;
        r0[2 * ow] = r0[2 * ow + 1] = r1[2 * ow] = r1[2 * ow + 1] = g;
    }
}

#ifdef POOL_SSE2
#define EVENS(a, b) _mm_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0))
#define ODDS(a, b) _mm_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1))

static inline __m128 sel(__m128 mask, __m128 a, __m128 b) /* mask ? a : b */
{
    return _mm_or_ps(_mm_and_ps(mask, a), _mm_andnot_ps(mask, b));
}

static inline __m128 wins(__m128 v, __m128 m)
{
    return _mm_or_ps(_mm_cmpgt_ps(v, m), _mm_cmpunord_ps(v, v));
}

/* Each block does outputs ow .. ow+3 from input columns 2ow .. 2ow+7, all
 * inside the row since 2 * Wo <= W. A row whose Wo is not a multiple of 4
 * ends with a block overlapping the previous one (it writes the same
 * values again), so only rows with Wo < 4 take the scalar loop. Positions
 * are exact in float (planes < 2^24). */
static inline void max2_block(const float *r0, const float *r1, float *y, float *ix, size_t ow,
                              size_t W, size_t base)
{
    const __m128 one = _mm_set1_ps(1.0f), fw = _mm_set1_ps((float)(int32_t)W);
    const float *p0 = r0 + 2 * ow, *p1 = r1 + 2 * ow;
    __m128 a0 = _mm_loadu_ps(p0), a1 = _mm_loadu_ps(p0 + 4);
    __m128 b0 = _mm_loadu_ps(p1), b1 = _mm_loadu_ps(p1 + 4);
    __m128 a = EVENS(a0, a1), b = ODDS(a0, a1), c = EVENS(b0, b1), d = ODDS(b0, b1);
    __m128 m, rel;
    __m128 nan = _mm_or_ps(_mm_cmpunord_ps(a0, a1), _mm_cmpunord_ps(b0, b1));
    if (__builtin_expect(_mm_movemask_ps(nan) == 0, 1)) {
        /* No NaN: max_ps(v, m) is exactly `v > m ? v : m`. Pairwise: the
         * first maximum of each row's pair, then row 1's pair wins only
         * if strictly larger, which picks the element a scan of a, b, c,
         * d in order would. */
        __m128 w0 = _mm_cmpgt_ps(b, a), w1 = _mm_cmpgt_ps(d, c);
        __m128 m0 = _mm_max_ps(b, a), m1 = _mm_max_ps(d, c);
        __m128 w = _mm_cmpgt_ps(m1, m0);
        __m128 rel0 = _mm_and_ps(w0, one), rel1 = _mm_add_ps(fw, _mm_and_ps(w1, one));
        m = _mm_max_ps(m1, m0);
        rel = sel(w, rel1, rel0);
    } else {
        __m128 w0 = wins(b, a), w1 = wins(d, c);
        __m128 m0 = sel(w0, b, a), m1 = sel(w1, d, c);
        __m128 w = wins(m1, m0);
        __m128 rel0 = _mm_and_ps(w0, one), rel1 = _mm_add_ps(fw, _mm_and_ps(w1, one));
        m = sel(w, m1, m0);
        rel = sel(w, rel1, rel0);
    }
    __m128 at = _mm_add_ps(_mm_set1_ps((float)(int32_t)(base + 2 * ow)), _mm_setr_ps(0, 2, 4, 6));
    _mm_storeu_ps(y + ow, m);
    _mm_storeu_ps(ix + ow, _mm_add_ps(at, rel));
}

static void max2_row(const float *r0, const float *r1, float *y, float *ix, size_t Wo, size_t W,
                     size_t base)
{
    if (Wo < 4) {
        max2_row_scalar(r0, r1, y, ix, 0, Wo, W, base);
        return;
    }
    size_t ow = 0;
    for (; ow + 4 <= Wo; ow += 4)
        max2_block(r0, r1, y, ix, ow, W, base);
    if (ow < Wo)
        max2_block(r0, r1, y, ix, Wo - 4, W, base);
}

static inline void max2_back_block(float *r0, float *r1, const float *dy, const float *ix,
                                   size_t ow, size_t W, size_t base)
{
    const __m128 one = _mm_set1_ps(1.0f), fw = _mm_set1_ps((float)(int32_t)W),
                 fw1 = _mm_set1_ps((float)(int32_t)(W + 1));
    __m128 at = _mm_add_ps(_mm_set1_ps((float)(int32_t)(base + 2 * ow)), _mm_setr_ps(0, 2, 4, 6));
    __m128 rel = _mm_sub_ps(_mm_loadu_ps(ix + ow), at);
    __m128 g = _mm_loadu_ps(dy + ow);
    __m128 e0 = _mm_and_ps(_mm_cmpeq_ps(rel, _mm_setzero_ps()), g);
    __m128 o0 = _mm_and_ps(_mm_cmpeq_ps(rel, one), g);
    __m128 e1 = _mm_and_ps(_mm_cmpeq_ps(rel, fw), g);
    __m128 o1 = _mm_and_ps(_mm_cmpeq_ps(rel, fw1), g);
    float *p0 = r0 + 2 * ow, *p1 = r1 + 2 * ow;
    _mm_storeu_ps(p0, _mm_unpacklo_ps(e0, o0));
    _mm_storeu_ps(p0 + 4, _mm_unpackhi_ps(e0, o0));
    _mm_storeu_ps(p1, _mm_unpacklo_ps(e1, o1));
    _mm_storeu_ps(p1 + 4, _mm_unpackhi_ps(e1, o1));
}

static void max2_back_row(float *r0, float *r1, const float *dy, const float *ix, size_t Wo,
                          size_t W, size_t base)
{
    if (Wo < 4) {
        max2_back_row_scalar(r0, r1, dy, ix, 0, Wo, W, base);
        return;
    }
    size_t ow = 0;
    for (; ow + 4 <= Wo; ow += 4)
        max2_back_block(r0, r1, dy, ix, ow, W, base);
    if (ow < Wo)
        max2_back_block(r0, r1, dy, ix, Wo - 4, W, base);
}

static inline void avg2_block(const float *r0, const float *r1, float *y, size_t ow)
{
    const float *p0 = r0 + 2 * ow, *p1 = r1 + 2 * ow;
    __m128 a0 = _mm_loadu_ps(p0), a1 = _mm_loadu_ps(p0 + 4);
    __m128 b0 = _mm_loadu_ps(p1), b1 = _mm_loadu_ps(p1 + 4);
    __m128 s = _mm_add_ps(_mm_add_ps(EVENS(a0, a1), ODDS(a0, a1)), EVENS(b0, b1));
    _mm_storeu_ps(y + ow, _mm_div_ps(_mm_add_ps(s, ODDS(b0, b1)), _mm_set1_ps(4.0f)));
}

static void avg2_row(const float *r0, const float *r1, float *y, size_t Wo)
{
    if (Wo < 4) {
        avg2_row_scalar(r0, r1, y, 0, Wo);
        return;
    }
    size_t ow = 0;
    for (; ow + 4 <= Wo; ow += 4)
        avg2_block(r0, r1, y, ow);
    if (ow < Wo)
        avg2_block(r0, r1, y, Wo - 4);
}

static inline void avg2_back_block(float *r0, float *r1, const float *dy, size_t ow)
{
    __m128 g = _mm_div_ps(_mm_loadu_ps(dy + ow), _mm_set1_ps(4.0f));
    __m128 lo = _mm_unpacklo_ps(g, g), hi = _mm_unpackhi_ps(g, g);
    _mm_storeu_ps(r0 + 2 * ow, lo);
    _mm_storeu_ps(r0 + 2 * ow + 4, hi);
    _mm_storeu_ps(r1 + 2 * ow, lo);
    _mm_storeu_ps(r1 + 2 * ow + 4, hi);
}

static void avg2_back_row(float *r0, float *r1, const float *dy, size_t Wo)
{
    if (Wo < 4) {
        avg2_back_row_scalar(r0, r1, dy, 0, Wo);
        return;
    }
    size_t ow = 0;
    for (; ow + 4 <= Wo; ow += 4)
        avg2_back_block(r0, r1, dy, ow);
    if (ow < Wo)
        avg2_back_block(r0, r1, dy, Wo - 4);
}
#else
static void max2_row(const float *r0, const float *r1, float *y, float *ix, size_t Wo, size_t W,
                     size_t base)
{
    max2_row_scalar(r0, r1, y, ix, 0, Wo, W, base);
}

static void max2_back_row(float *r0, float *r1, const float *dy, const float *ix, size_t Wo,
                          size_t W, size_t base)
{
    max2_back_row_scalar(r0, r1, dy, ix, 0, Wo, W, base);
}

static void avg2_row(const float *r0, const float *r1, float *y, size_t Wo)
{
    avg2_row_scalar(r0, r1, y, 0, Wo);
}

static void avg2_back_row(float *r0, float *r1, const float *dy, size_t Wo)
{
    avg2_back_row_scalar(r0, r1, dy, 0, Wo);
}
#endif

/* The 2x2 stride 2 backward writes every position its windows cover, so
 * only the rows and columns they miss (odd H or W) need zeroing. */
static void zero_uncovered2(float *dx, size_t H, size_t W, size_t Ho, size_t Wo)
{
    if (W > 2 * Wo) /* one column: odd W */
        for (size_t h = 0; h < 2 * Ho; h++)
            dx[h * W + W - 1] = 0.0f;
    if (H > 2 * Ho)
        memset(dx + 2 * Ho * W, 0, (H - 2 * Ho) * W * sizeof *dx);
}

/* ---- maxpool ---- */

static size_t maxpool_workspace(const mp_nn_layer *l, size_t b, const mp_nn_run *run)
{
    return b * mp_nn_shape_size(l->out);
}

static void maxpool_forward(mp_nn_layer *l, const float *in, float *out, size_t b, float *ws,
                            const mp_nn_run *run)
{
    const pool_cfg *c = l->cfg;
    const size_t P = b * l->in.d[0], H = l->in.d[1], W = l->in.d[2];
    const size_t Ho = l->out.d[1], Wo = l->out.d[2], k = c->size, st = c->stride;
    for (size_t p = 0; p < P; p++) {
        const float *x = in + p * H * W;
        float *y = out + p * Ho * Wo, *ix = ws + p * Ho * Wo;
        if (k == 2 && st == 2) {
            for (size_t oh = 0; oh < Ho; oh++)
                max2_row(x + 2 * oh * W, x + (2 * oh + 1) * W, y + oh * Wo, ix + oh * Wo, Wo, W,
                         2 * oh * W);
            continue;
        }
        for (size_t oh = 0; oh < Ho; oh++)
            for (size_t ow = 0; ow < Wo; ow++) {
                size_t base = oh * st * W + ow * st, bi = base;
                float m = x[base];
                for (size_t kh = 0; kh < k; kh++) {
                    const float *row = x + base + kh * W;
                    for (size_t kw = 0; kw < k; kw++) {
                        float v = row[kw];
                        if (POOL_WINS(v, m)) {
                            m = v;
                            bi = base + kh * W + kw;
                        }
                    }
                }
                y[oh * Wo + ow] = m;
                ix[oh * Wo + ow] = (float)(int32_t)bi;
            }
    }
}

static void maxpool_backward(mp_nn_layer *l, const float *in, const float *out,
                             const float *dout, float *din, size_t b, float *ws,
                             const mp_nn_run *run)
{
    if (!din)
        return;
    const pool_cfg *c = l->cfg;
    const size_t P = b * l->in.d[0], H = l->in.d[1], W = l->in.d[2];
    const size_t Ho = l->out.d[1], Wo = l->out.d[2];
    if (c->size == 2 && c->stride == 2) {
        for (size_t p = 0; p < P; p++) {
            float *dx = din + p * H * W;
            const float *dy = dout + p * Ho * Wo, *ix = ws + p * Ho * Wo;
            for (size_t oh = 0; oh < Ho; oh++)
                max2_back_row(dx + 2 * oh * W, dx + (2 * oh + 1) * W, dy + oh * Wo,
                              ix + oh * Wo, Wo, W, 2 * oh * W);
            zero_uncovered2(dx, H, W, Ho, Wo);
        }
        return;
    }
    /* Overlapping windows can pick the same input: accumulate. */
    memset(din, 0, P * H * W * sizeof *din);
    for (size_t p = 0; p < P; p++) {
        float *dx = din + p * H * W;
        const float *dy = dout + p * Ho * Wo, *ix = ws + p * Ho * Wo;
        for (size_t o = 0; o < Ho * Wo; o++)
            dx[(int32_t)ix[o]] += dy[o];
    }
}

/* ---- avgpool ---- */

static size_t avgpool_workspace(const mp_nn_layer *l, size_t b, const mp_nn_run *run)
{
    return 0;
}

static void avgpool_forward(mp_nn_layer *l, const float *in, float *out, size_t b, float *ws,
                            const mp_nn_run *run)
{
    const pool_cfg *c = l->cfg;
    const size_t P = b * l->in.d[0], H = l->in.d[1], W = l->in.d[2];
    const size_t Ho = l->out.d[1], Wo = l->out.d[2], k = c->size, st = c->stride;
    const float div = (float)(k * k);
    for (size_t p = 0; p < P; p++) {
        const float *x = in + p * H * W;
        float *y = out + p * Ho * Wo;
        if (k == 2 && st == 2) {
            for (size_t oh = 0; oh < Ho; oh++)
                avg2_row(x + 2 * oh * W, x + (2 * oh + 1) * W, y + oh * Wo, Wo);
            continue;
        }
        for (size_t oh = 0; oh < Ho; oh++)
            for (size_t ow = 0; ow < Wo; ow++) {
                const float *w0 = x + oh * st * W + ow * st;
                float s = 0;
                for (size_t kh = 0; kh < k; kh++)
                    for (size_t kw = 0; kw < k; kw++)
                        s += w0[kh * W + kw];
                y[oh * Wo + ow] = s / div;
            }
    }
}

static void avgpool_backward(mp_nn_layer *l, const float *in, const float *out,
                             const float *dout, float *din, size_t b, float *ws,
                             const mp_nn_run *run)
{
    if (!din)
        return;
    const pool_cfg *c = l->cfg;
    const size_t P = b * l->in.d[0], H = l->in.d[1], W = l->in.d[2];
    const size_t Ho = l->out.d[1], Wo = l->out.d[2], k = c->size, st = c->stride;
    const float div = (float)(k * k);
    if (k == 2 && st == 2) {
        for (size_t p = 0; p < P; p++) {
            float *dx = din + p * H * W;
            const float *dy = dout + p * Ho * Wo;
            for (size_t oh = 0; oh < Ho; oh++)
                avg2_back_row(dx + 2 * oh * W, dx + (2 * oh + 1) * W, dy + oh * Wo, Wo);
            zero_uncovered2(dx, H, W, Ho, Wo);
        }
        return;
    }
    memset(din, 0, P * H * W * sizeof *din);
    for (size_t p = 0; p < P; p++) {
        float *dx = din + p * H * W;
        const float *dy = dout + p * Ho * Wo;
        for (size_t oh = 0; oh < Ho; oh++)
            for (size_t ow = 0; ow < Wo; ow++) {
                float *w0 = dx + oh * st * W + ow * st;
                float g = dy[oh * Wo + ow] / div;
                for (size_t kh = 0; kh < k; kh++)
                    for (size_t kw = 0; kw < k; kw++)
                        w0[kh * W + kw] += g;
            }
    }
}

const mp_nn_layer_ops mp_nn_maxpool_ops = {
    .name = "maxpool",
    .usage = "maxpool(size[, stride=size])",
    .configure = maxpool_configure,
    .init = maxpool_init,
    .workspace = maxpool_workspace,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
};

const mp_nn_layer_ops mp_nn_avgpool_ops = {
    .name = "avgpool",
    .usage = "avgpool(size[, stride=size])",
    .configure = avgpool_configure,
    .init = avgpool_init,
    .workspace = avgpool_workspace,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
};
