/* conv2d(out_channels, kernel[, stride=1, padding=0]): a 2-D convolution
 * over channel-first images with PyTorch's Conv2d semantics (square kernel,
 * zero padding, no dilation or groups): C x H x W in, OC x OH x OW out with
 * OH = floor((H + 2p - k) / s) + 1, weight [OC, C, k, k], bias [OC].
 *
 * Two ways to compute it, chosen per layer shape (conv_direct):
 *  - im2col + GEMM, one sample at a time: the sample's columns
 *    [C*k*k, OH*OW] go to a scratch that stays in cache, and
 *    out = W cols + bias is already the sample's OC x OH x OW layout, so
 *    nothing is rearranged; backward rebuilds the columns the same way
 *    (cheaper than keeping the batch's: measured), adds dy cols^T to the
 *    weight gradient and scatters W^T dy back with col2im. Batch-wide GEMMs
 *    over [C*k*k, b*OH*OW] columns were measured slower on the benchmark
 *    networks: the columns and the output rearrangement go through memory,
 *    and OpenBLAS zero-fills the large column gradient first.
 *  - direct, for one input channel with stride 1 (the first layer of an
 *    image network): there GEMM's inner dimension would be only k*k, so
 *    the columns cost more than the arithmetic; the kernels below work on
 *    8 output columns at a time in registers and need only a padded copy
 *    of the image.
 * Samples are split over up to CONV_MAX_THREADS threads of ours when the
 * per-sample GEMMs are small enough for OpenBLAS to run them on the
 * calling thread; larger ones are left to OpenBLAS's own threads. Thread
 * partial gradients are added in thread order, so results are repeatable
 * for a given thread count. */
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/layers.h"

#define CONV_USAGE "conv2d(out_channels, kernel[, stride=1, padding=0])"
/* Largest argument accepted; keeps every size product far from overflow. */
#define CONV_ARG_MAX 65536.0
/* Largest kernel the direct path takes (its taps are kept on the stack). */
#define CONV_DIRECT_KMAX 7
/* Most threads a pass uses (never more than OpenBLAS is set to). */
#define CONV_MAX_THREADS 8

typedef struct conv_cfg {
    size_t oc, k, stride, pad;
    int nthreads; /* threads a pass may use; fixed by init so workspace sizes hold */
} conv_cfg;

/* Everything a pass needs to know about the shapes. */
typedef struct conv_geom {
    size_t c, h, w;    /* input sample */
    size_t oc, oh, ow; /* output sample */
    size_t k, s, p;
    size_t hw, chw, ohw, ckk;
} conv_geom;

static conv_geom conv_geometry(const mp_nn_layer *l)
{
    const conv_cfg *cf = l->cfg;
    conv_geom g;
    g.c = l->in.d[0];
    g.h = l->in.d[1];
    g.w = l->in.d[2];
    g.oc = cf->oc;
    g.k = cf->k;
    g.s = cf->stride;
    g.p = cf->pad;
    g.oh = (g.h + 2 * g.p - g.k) / g.s + 1;
    g.ow = (g.w + 2 * g.p - g.k) / g.s + 1;
    g.hw = g.h * g.w;
    g.chw = g.c * g.hw;
    g.ohw = g.oh * g.ow;
    g.ckk = g.c * g.k * g.k;
    return g;
}

/* ---- configuration ---------------------------------------------------- */

static int conv_configure(mp_nn_layer *l, const mp_nn_arg *args, size_t nargs, mp_error *e)
{
    static const char *const names[4] = {"out_channels", "kernel", "stride", "padding"};
    double v[4] = {0, 0, 1, 0};
    int set[4] = {0, 0, 0, 0};
    size_t npos = 0;
    const char *text = l->text ? l->text : "conv2d";
    for (size_t i = 0; i < nargs; i++) {
        const mp_nn_arg *a = &args[i];
        int slot = -1;
        if (!a->key) {
            if (npos >= 4)
                return mp_error_set(e, MP_EINVAL, "layer %d (%s): too many arguments; usage: %s",
                                    l->index, text, CONV_USAGE);
            slot = (int)npos++;
        } else {
            for (int j = 0; j < 4; j++)
                if (strcmp(a->key, names[j]) == 0)
                    slot = j;
            if (slot < 0)
                return mp_error_set(e, MP_EINVAL,
                                    "layer %d (%s): unknown argument '%s'; usage: %s", l->index,
                                    text, a->key, CONV_USAGE);
        }
        if (set[slot])
            return mp_error_set(e, MP_EINVAL, "layer %d (%s): %s given twice; usage: %s",
                                l->index, text, names[slot], CONV_USAGE);
        if (a->word)
            return mp_error_set(e, MP_EINVAL,
                                "layer %d (%s): %s must be a number, got '%s'; usage: %s",
                                l->index, text, names[slot], a->word, CONV_USAGE);
        double x = a->num;
        double lo = slot == 3 ? 0.0 : 1.0;
        if (!isfinite(x) || x != floor(x) || x < lo || x > CONV_ARG_MAX)
            return mp_error_set(e, MP_EINVAL,
                                "layer %d (%s): %s must be an integer in [%.0f, %.0f], got %g; "
                                "usage: %s",
                                l->index, text, names[slot], lo, CONV_ARG_MAX, x, CONV_USAGE);
        v[slot] = x;
        set[slot] = 1;
    }
    for (int j = 0; j < 2; j++)
        if (!set[j])
            return mp_error_set(e, MP_EINVAL, "layer %d (%s): missing %s; usage: %s", l->index,
                                text, names[j], CONV_USAGE);
    conv_cfg *cf = malloc(sizeof *cf);
    if (!cf)
        return mp_error_set(e, MP_ENOMEM, "layer %d (%s): out of memory", l->index, text);
    cf->oc = (size_t)v[0];
    cf->k = (size_t)v[1];
    cf->stride = (size_t)v[2];
    cf->pad = (size_t)v[3];
    cf->nthreads = 1;
    free(l->cfg);
    l->cfg = cf;
    return 0;
}

static int conv_init(mp_nn_layer *l, mp_rng *rng, mp_error *e)
{
    conv_cfg *cf = l->cfg;
    const char *text = l->text ? l->text : "conv2d";
    char got[96];
    mp_nn_shape_str(l->in, got, sizeof got);
    if (!cf)
        return mp_error_set(e, MP_EINVAL, "layer %d (%s): not configured", l->index, text);
    if (l->in.ndim != 3)
        return mp_error_set(e, MP_EINVAL,
                            "layer %d (%s): expects a channels x height x width image input, "
                            "got %s; conv2d must come before flatten",
                            l->index, text, got);
    size_t c = l->in.d[0], h = l->in.d[1], w = l->in.d[2];
    if (c == 0 || h == 0 || w == 0)
        return mp_error_set(e, MP_EINVAL, "layer %d (%s): empty input %s", l->index, text, got);
    size_t k = cf->k, p = cf->pad;
    if (k > h + 2 * p || k > w + 2 * p)
        return mp_error_set(e, MP_EINVAL,
                            "layer %d (%s): kernel %zux%zu is larger than the input %s padded "
                            "by %zu (%zux%zu)",
                            l->index, text, k, k, got, p, h + 2 * p, w + 2 * p);
    /* The GEMMs take int dimensions; one sample's columns must fit. */
    if (c > (size_t)INT_MAX / (k * k) || h > (size_t)INT_MAX / w ||
        c * k * k > (size_t)INT_MAX / (h * w) || cf->oc > (size_t)INT_MAX / (c * k * k) ||
        cf->oc > (size_t)INT_MAX / (h * w + 2 * p * (h + w) + 4 * p * p))
        return mp_error_set(e, MP_EINVAL, "layer %d (%s): input %s is too large", l->index,
                            text, got);
    int nt = openblas_get_num_threads();
    cf->nthreads = nt < 1 ? 1 : nt > CONV_MAX_THREADS ? CONV_MAX_THREADS : nt;
    l->out.ndim = 3;
    l->out.d[0] = cf->oc;
    l->out.d[1] = (h + 2 * p - k) / cf->stride + 1;
    l->out.d[2] = (w + 2 * p - k) / cf->stride + 1;

    float *wt, *bias;
    int64_t wshape[4] = {(int64_t)cf->oc, (int64_t)c, (int64_t)k, (int64_t)k};
    int64_t bshape[1] = {(int64_t)cf->oc};
    int rc = mp_nn_layer_add_param(l, "weight", 4, wshape, 1, 1, &wt, e);
    if (rc == 0)
        rc = mp_nn_layer_add_param(l, "bias", 1, bshape, 1, 0, &bias, e);
    if (rc)
        return rc;
    mp_nn_init_uniform(wt, cf->oc * c * k * k, c * k * k, cf->oc * k * k, l->he, rng);
    return 0;
}

/* ---- vector helpers ---------------------------------------------------- */

/* GCC/Clang vector extensions: 8 floats, unaligned, may alias the float
 * arrays. Without AVX they lower to pairs of SSE operations; the hot
 * kernels are also compiled for AVX2+FMA (CONV_CLONES) and the right copy
 * is picked at load time, since the project builds for baseline x86-64. */
typedef float conv_v8 __attribute__((vector_size(32)));
typedef float conv_v8u __attribute__((vector_size(32), aligned(4), may_alias));
#define V8_LD(p) (*(const conv_v8u *)(const void *)(p))
#define V8_ST(p, v) (*(conv_v8u *)(void *)(p) = (v))
#define V8_SUM(v) ((v)[0] + (v)[1] + (v)[2] + (v)[3] + (v)[4] + (v)[5] + (v)[6] + (v)[7])
#define V8_FLOATS 8

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(MP_CONV_NO_CLONES)
#ifndef CONV_CLONE_LIST
#define CONV_CLONE_LIST "arch=x86-64-v4", "arch=x86-64-v3", "default"
#endif
#define CONV_CLONES __attribute__((target_clones(CONV_CLONE_LIST)))
/* -std=c11 turns off contraction; the kernels want a*b+c as one FMA. */
#pragma GCC optimize("fp-contract=fast")
#else
#define CONV_CLONES
#endif

/* Fully unrolls the tap loops once k is a constant, so the taps and
 * accumulators live in registers. */
#if defined(__GNUC__)
#define CONV_UNROLL _Pragma("GCC unroll 16")
#else
#define CONV_UNROLL
#endif

static inline size_t conv_min(size_t a, size_t b)
{
    return a < b ? a : b;
}

/* ---- threads ------------------------------------------------------------ */

/* Above this many multiply-adds per sample GEMM OpenBLAS threads the call
 * itself (its GEMM_MULTITHREAD_THRESHOLD 4 x SMP_THRESHOLD_MIN 65536), so
 * the batch stays on one thread of ours; below it, OpenBLAS runs on the
 * caller and splitting the samples is what uses the other cores. */
#ifndef CONV_BLAS_THREADED
#define CONV_BLAS_THREADED 262144.0
#endif
/* Fewer multiply-adds than this in a whole pass do not pay for a thread. */
#define CONV_MIN_PARALLEL 200000.0

/* One thread's share of a pass. */
typedef struct conv_job {
    const mp_nn_layer *l;
    const conv_geom *g;
    const float *in, *dout;
    float *out, *din;
    size_t s0, s1;  /* samples [s0, s1) */
    float *scratch; /* this thread's part of the workspace */
    const float *wb; /* [W | b] for the im2col forward */
    float *kept;     /* the batch's columns kept from forward to backward, or NULL */
} conv_job;

/* Runs fn on jobs[0..nt): jobs 1.. on new threads, job 0 on the caller's;
 * a job whose thread cannot start runs on the caller too. */
static void conv_run_jobs(conv_job *jobs, int nt, void *(*fn)(void *))
{
    pthread_t th[CONV_MAX_THREADS];
    int started[CONV_MAX_THREADS] = {0};
    for (int t = 1; t < nt; t++)
        started[t] = pthread_create(&th[t], NULL, fn, &jobs[t]) == 0;
    fn(&jobs[0]);
    for (int t = 1; t < nt; t++) {
        if (started[t])
            pthread_join(th[t], NULL);
        else
            fn(&jobs[t]);
    }
}

/* ---- im2col path -------------------------------------------------------
 *
 * The columns carry one extra row of ones and the weights one extra column
 * holding the bias ([W | b], built per pass in the workspace), so a single
 * GEMM gives W cols + b, and in backward dy cols^T gives [dW | db]. */

/* The output columns [lo, hi) whose input column ow*s + kj - p lies inside
 * [0, n_in): outside it the padding contributes zeros. */
static void conv_valid(size_t n_out, size_t n_in, size_t s, size_t p, size_t kj, size_t *lo,
                       size_t *hi)
{
    size_t a = kj >= p ? 0 : (p - kj + s - 1) / s;
    size_t b = n_in + p > kj ? (n_in + p - kj - 1) / s + 1 : 0;
    a = conv_min(a, n_out);
    b = conv_min(b, n_out);
    *lo = a;
    *hi = b > a ? b : a;
}

/* d[0..m) = src[0..m); rows are short (11 or 26 floats in the benchmark
 * networks), so whole vectors with an overlapping last one. */
static inline __attribute__((always_inline)) void conv_copy(float *d, const float *src, size_t m)
{
    if (m >= V8_FLOATS) {
        size_t i = 0;
        for (; i + V8_FLOATS <= m; i += V8_FLOATS)
            V8_ST(d + i, V8_LD(src + i));
        if (i < m)
            V8_ST(d + m - V8_FLOATS, V8_LD(src + m - V8_FLOATS));
    } else {
        for (size_t i = 0; i < m; i++)
            d[i] = src[i];
    }
}

/* Lanes of the overlapping last vector of an m-float row that the whole
 * vectors before it did not cover (m >= 8). */
static inline __attribute__((always_inline)) void conv_tail_mask(size_t m, conv_v8 *mask)
{
    size_t done = m / V8_FLOATS * V8_FLOATS;
    for (size_t i = 0; i < V8_FLOATS; i++)
        (*mask)[i] = m - V8_FLOATS + i >= done ? 1.0f : 0.0f;
}

/* d[0..m) += src[0..m), the tail as an overlapping vector with the lanes
 * the last whole vector covers masked to zero. Both are loaded before
 * either is stored (the tail first, then the whole vector over it): a load
 * overlapping a just-stored vector would stall on store forwarding. */
static inline __attribute__((always_inline)) void conv_add(float *d, const float *src, size_t m,
                                                           const conv_v8 *mask)
{
    if (m >= V8_FLOATS) {
        size_t last = m / V8_FLOATS * V8_FLOATS - V8_FLOATS, i = 0;
        for (; i < last; i += V8_FLOATS)
            V8_ST(d + i, V8_LD(d + i) + V8_LD(src + i));
        conv_v8 a = V8_LD(d + last) + V8_LD(src + last);
        if (last + V8_FLOATS < m) {
            size_t t = m - V8_FLOATS;
            V8_ST(d + t, V8_LD(d + t) + V8_LD(src + t) * *mask);
        }
        V8_ST(d + last, a);
    } else {
        for (size_t i = 0; i < m; i++)
            d[i] += src[i];
    }
}

/* The output rows [lo, hi) whose input row oh*s + ki - p lies inside [0, h). */
static void conv_rows(const conv_geom *g, size_t ki, size_t *lo, size_t *hi)
{
    conv_valid(g->oh, g->h, g->s, g->p, ki, lo, hi);
}

/* Unrolls one sample x into cols [ckk, ohw]: row (c, ki, kj), column
 * (oh, ow) holds x[c][oh*s + ki - p][ow*s + kj - p], or 0 in the padding. */
CONV_CLONES
static void conv_im2col(const conv_geom *g, const float *x, float *cols)
{
    size_t ow = g->ow, s = g->s;
    for (size_t c = 0; c < g->c; c++)
        for (size_t ki = 0; ki < g->k; ki++) {
            size_t r0, r1;
            conv_rows(g, ki, &r0, &r1);
            for (size_t kj = 0; kj < g->k; kj++) {
                float *d = cols + ((c * g->k + ki) * g->k + kj) * g->ohw;
                size_t lo, hi;
                conv_valid(ow, g->w, s, g->p, kj, &lo, &hi);
                size_t m = hi - lo, e0 = r0, e1 = m ? r1 : r0; /* rows to fill: [e0, e1) */
                memset(d, 0, e0 * ow * sizeof *d);
                memset(d + e1 * ow, 0, (g->oh - e1) * ow * sizeof *d);
                if (e1 == e0)
                    continue;
                /* input row of output row oh, from column lo*s + kj - p */
                const float *src = x + c * g->hw + (r0 * s + ki - g->p) * g->w + (lo * s + kj - g->p);
                d += r0 * ow;
                if (s == 1 && m == ow) {
                    for (size_t oh = r0; oh < r1; oh++, d += ow, src += g->w)
                        conv_copy(d, src, ow);
                } else if (s == 1) {
                    for (size_t oh = r0; oh < r1; oh++, d += ow, src += g->w) {
                        for (size_t i = 0; i < lo; i++)
                            d[i] = 0;
                        conv_copy(d + lo, src, m);
                        for (size_t i = hi; i < ow; i++)
                            d[i] = 0;
                    }
                } else {
                    for (size_t oh = r0; oh < r1; oh++, d += ow, src += s * g->w) {
                        for (size_t i = 0; i < lo; i++)
                            d[i] = 0;
                        for (size_t i = 0; i < m; i++)
                            d[lo + i] = src[i * s];
                        for (size_t i = hi; i < ow; i++)
                            d[i] = 0;
                    }
                }
            }
        }
}

/* The adjoint of conv_im2col: dx (one sample, overwritten) gets every
 * column entry added at the input position it was copied from. */
CONV_CLONES
static void conv_col2im(const conv_geom *g, const float *cols, float *dx)
{
    size_t ow = g->ow, s = g->s;
    memset(dx, 0, g->chw * sizeof *dx);
    for (size_t c = 0; c < g->c; c++)
        for (size_t ki = 0; ki < g->k; ki++) {
            size_t r0, r1;
            conv_rows(g, ki, &r0, &r1);
            for (size_t kj = 0; kj < g->k; kj++) {
                size_t lo, hi;
                conv_valid(ow, g->w, s, g->p, kj, &lo, &hi);
                size_t m = hi - lo;
                if (m == 0 || r1 == r0)
                    continue;
                const float *d = cols + ((c * g->k + ki) * g->k + kj) * g->ohw + r0 * ow + lo;
                float *dst = dx + c * g->hw + (r0 * s + ki - g->p) * g->w + (lo * s + kj - g->p);
                if (s == 1) {
                    conv_v8 mask = {0};
                    if (m >= V8_FLOATS)
                        conv_tail_mask(m, &mask);
                    for (size_t oh = r0; oh < r1; oh++, d += ow, dst += g->w)
                        conv_add(dst, d, m, &mask);
                } else {
                    for (size_t oh = r0; oh < r1; oh++, d += ow, dst += s * g->w)
                        for (size_t i = 0; i < m; i++)
                            dst[i * s] += d[i];
                }
            }
        }
}

/* Workspace of the im2col path: [W | b] shared, then per thread the
 * augmented columns and a private [dW | db]. */
static size_t conv_gemm_shared(const conv_geom *g)
{
    return (g->oc * (g->ckk + 1) + 7) / 8 * 8;
}

static size_t conv_gemm_scratch(const conv_geom *g)
{
    return (g->ckk + 1) * g->ohw + g->oc * (g->ckk + 1);
}

/* Forward, one sample at a time: columns, then out = [W | b] [cols; 1],
 * which is already the sample's OC x OH x OW layout. */
static void *conv_gemm_forward(void *arg)
{
    const conv_job *j = arg;
    const conv_geom *g = j->g;
    size_t ka = g->ckk + 1;
    for (size_t sm = j->s0; sm < j->s1; sm++) {
        float *cols = j->kept ? j->kept + sm * ka * g->ohw : j->scratch;
        conv_im2col(g, j->in + sm * g->chw, cols);
        if (j->kept || sm == j->s0)
            for (size_t i = 0; i < g->ohw; i++)
                cols[g->ckk * g->ohw + i] = 1.0f;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g->oc, (int)g->ohw, (int)ka,
                    1.0f, j->wb, (int)ka, cols, (int)g->ohw, 0.0f,
                    j->out + sm * g->oc * g->ohw, (int)g->ohw);
    }
    return NULL;
}

/* Backward, one sample at a time: [dW | db] += dy [cols; 1]^T with the
 * columns kept by a training forward (or rebuilt), then dcols = W^T dy
 * scattered back by col2im. */
static void *conv_gemm_backward(void *arg)
{
    const conv_job *j = arg;
    const conv_geom *g = j->g;
    size_t ka = g->ckk + 1;
    const float *wt = j->l->params[0].w;
    float *dwb = j->scratch + ka * g->ohw;
    memset(dwb, 0, g->oc * ka * sizeof *dwb);
    for (size_t sm = j->s0; sm < j->s1; sm++) {
        const float *dy = j->dout + sm * g->oc * g->ohw;
        const float *cols = j->kept ? j->kept + sm * ka * g->ohw : j->scratch;
        if (!j->kept) {
            conv_im2col(g, j->in + sm * g->chw, j->scratch);
            for (size_t i = 0; i < g->ohw; i++)
                j->scratch[g->ckk * g->ohw + i] = 1.0f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)g->oc, (int)ka, (int)g->ohw,
                    1.0f, dy, (int)g->ohw, cols, (int)g->ohw, 1.0f, dwb, (int)ka);
        if (!j->din)
            continue;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g->ckk, (int)g->ohw, (int)g->oc,
                    1.0f, wt, (int)g->ckk, dy, (int)g->ohw, 0.0f, j->scratch, (int)g->ohw);
        conv_col2im(g, j->scratch, j->din + sm * g->chw);
    }
    return NULL;
}

/* ---- direct path (one input channel, stride 1) ---------------------------
 *
 * Output rows are done 8 columns at a time; a row whose width is not a
 * multiple of 8 ends with a vector overlapping the previous one (the
 * forward just writes the same values twice; the weight gradient masks the
 * overlap out). The input is read through a zero-padded copy when there is
 * padding, so the inner loops have no edge cases. */

static int conv_direct(const conv_geom *g)
{
#ifdef MP_CONV_FORCE_PATH
    if (MP_CONV_FORCE_PATH == 0)
        return 0;
#endif
    return g->c == 1 && g->s == 1 && g->k <= CONV_DIRECT_KMAX && g->ow >= V8_FLOATS;
}

/* Floats of one thread's scratch in the direct path: the padded image and
 * the weight-gradient accumulators (one vector per weight and per bias). */
static size_t conv_direct_scratch(const conv_geom *g)
{
    size_t pad = g->p ? (g->h + 2 * g->p) * (g->w + 2 * g->p) : 0;
    return pad + g->oc * (g->k * g->k + 1) * V8_FLOATS;
}

/* The sample as a (h + 2p) x (w + 2p) image with zeros around it. */
static const float *conv_padded(const conv_geom *g, const float *x, float *buf, size_t *wp)
{
    if (g->p == 0) {
        *wp = g->w;
        return x;
    }
    size_t w2 = g->w + 2 * g->p, h2 = g->h + 2 * g->p;
    memset(buf, 0, w2 * h2 * sizeof *buf);
    for (size_t i = 0; i < g->h; i++)
        memcpy(buf + (i + g->p) * w2 + g->p, x + i * g->w, g->w * sizeof *buf);
    *wp = w2;
    return buf;
}

/* Output rows oh and oh + 1 (R = 2) or just oh (R = 1) of every channel:
 * y[o][ow] = bias[o] + sum over taps (ki, kj) of w[o][ki][kj] *
 * P[oh + ki][ow + kj], 8 columns at a time. Two rows share k - 1 of their
 * k input rows, so doing them together saves loads. */
static inline __attribute__((always_inline)) void
conv_direct_rows(const conv_geom *g, size_t k, size_t R, const float *wt, const float *bias,
                 const float *P, size_t wp, float *y)
{
    conv_v8 x[(CONV_DIRECT_KMAX + 1) * CONV_DIRECT_KMAX];
    size_t kk = k * k, ow = g->ow;
    for (size_t o0 = 0; o0 < ow; o0 += V8_FLOATS) {
        if (o0 + V8_FLOATS > ow)
            o0 = ow - V8_FLOATS; /* the overlapping last vector */
        CONV_UNROLL
        for (size_t r = 0; r < k + R - 1; r++)
            CONV_UNROLL
            for (size_t kj = 0; kj < k; kj++)
                x[r * k + kj] = V8_LD(P + r * wp + o0 + kj);
        for (size_t o = 0; o < g->oc; o++) {
            const float *w = wt + o * kk;
            conv_v8 a0 = {0}, a1 = {0};
            a0 += bias[o];
            a1 += bias[o];
            CONV_UNROLL
            for (size_t t = 0; t < kk; t++) {
                a0 += w[t] * x[t];
                if (R == 2)
                    a1 += w[t] * x[t + k];
            }
            V8_ST(y + o * g->ohw + o0, a0);
            if (R == 2)
                V8_ST(y + o * g->ohw + ow + o0, a1);
        }
    }
}

CONV_CLONES
static void conv_direct_forward_rows(const conv_geom *g, const float *wt, const float *bias,
                                     const float *P, size_t wp, float *y)
{
    size_t oh = 0;
    if (g->k == 3) {
        for (; oh + 2 <= g->oh; oh += 2)
            conv_direct_rows(g, 3, 2, wt, bias, P + oh * wp, wp, y + oh * g->ow);
        if (oh < g->oh)
            conv_direct_rows(g, 3, 1, wt, bias, P + oh * wp, wp, y + oh * g->ow);
    } else {
        for (; oh + 2 <= g->oh; oh += 2)
            conv_direct_rows(g, g->k, 2, wt, bias, P + oh * wp, wp, y + oh * g->ow);
        if (oh < g->oh)
            conv_direct_rows(g, g->k, 1, wt, bias, P + oh * wp, wp, y + oh * g->ow);
    }
}

/* acc[t] += sum over the plane of dy * tap_t, accb += sum of dy, for one
 * output channel's plane dy; two output rows at a time as in the forward. */
static inline __attribute__((always_inline)) void
conv_direct_dw_plane(const conv_geom *g, size_t k, const float *dy, const float *P, size_t wp,
                     conv_v8u *acc, conv_v8u *accb)
{
    conv_v8 a[CONV_DIRECT_KMAX * CONV_DIRECT_KMAX];
    size_t kk = k * k, ow = g->ow;
    /* lanes of the overlapping last vector that the previous one did */
    conv_v8 mask, one = {1, 1, 1, 1, 1, 1, 1, 1}, zero = {0};
    conv_tail_mask(ow, &mask);
    CONV_UNROLL
    for (size_t t = 0; t < kk; t++)
        a[t] = acc[t];
    conv_v8 b = *accb;
    for (size_t oh = 0; oh < g->oh; oh += 2) {
        /* the second row of the pair, or zeros past the last row */
        size_t two = oh + 1 < g->oh;
        const float *row = P + oh * wp, *d0 = dy + oh * ow, *d1 = two ? d0 + ow : d0;
        for (size_t o0 = 0; o0 < ow; o0 += V8_FLOATS) {
            conv_v8 m = one;
            if (o0 + V8_FLOATS > ow) {
                o0 = ow - V8_FLOATS;
                m = mask;
            }
            conv_v8 dv0 = V8_LD(d0 + o0) * m, dv1 = V8_LD(d1 + o0) * (two ? m : zero);
            b += dv0 + dv1;
            CONV_UNROLL
            for (size_t r = 0; r < k + 1; r++) {
                /* the last input row only the second output row needs */
                const float *xr = r < k || two ? row + r * wp + o0 : row + o0;
                CONV_UNROLL
                for (size_t kj = 0; kj < k; kj++) {
                    conv_v8 xv = V8_LD(xr + kj);
                    if (r < k)
                        a[r * k + kj] += dv0 * xv;
                    if (r >= 1)
                        a[(r - 1) * k + kj] += dv1 * xv;
                }
            }
        }
    }
    CONV_UNROLL
    for (size_t t = 0; t < kk; t++)
        acc[t] = a[t];
    *accb = b;
}

CONV_CLONES
static void conv_direct_dw_sample(const conv_geom *g, const float *dy, const float *P, size_t wp,
                                  conv_v8u *acc)
{
    size_t kk = g->k * g->k;
    for (size_t o = 0; o < g->oc; o++) {
        conv_v8u *ao = acc + o * (kk + 1);
        if (g->k == 3)
            conv_direct_dw_plane(g, 3, dy + o * g->ohw, P, wp, ao, ao + kk);
        else
            conv_direct_dw_plane(g, g->k, dy + o * g->ohw, P, wp, ao, ao + kk);
    }
}

/* y[i] += sum_j wt[j] * x[i + j - off] for i in [0, ny), where taps outside
 * x[0, nx) count as zero. Only for the direct path's input gradient, which
 * a first layer never needs. */
static void conv_row_corr(float *y, size_t ny, const float *x, size_t nx, const float *wt,
                          size_t k, ptrdiff_t off)
{
    for (size_t i = 0; i < ny; i++) {
        float a = 0;
        for (size_t j = 0; j < k; j++) {
            ptrdiff_t xj = (ptrdiff_t)(i + j) - off;
            if (xj >= 0 && xj < (ptrdiff_t)nx)
                a += wt[j] * x[xj];
        }
        y[i] += a;
    }
}

/* dx for one sample: a full correlation of dy with the flipped kernel. */
static void conv_direct_dx(const conv_geom *g, const float *wt, const float *dy, float *dx)
{
    float wf[CONV_DIRECT_KMAX];
    ptrdiff_t off = (ptrdiff_t)g->k - 1 - (ptrdiff_t)g->p;
    memset(dx, 0, g->hw * sizeof *dx);
    for (size_t o = 0; o < g->oc; o++) {
        const float *plane = dy + o * g->ohw;
        for (size_t ki = 0; ki < g->k; ki++) {
            const float *wr = wt + (o * g->k + ki) * g->k;
            for (size_t j = 0; j < g->k; j++)
                wf[j] = wr[g->k - 1 - j];
            /* input row ih meets output row oh = ih + p - ki */
            for (size_t ih = 0; ih < g->h; ih++) {
                if (ih + g->p < ki || ih + g->p - ki >= g->oh)
                    continue;
                conv_row_corr(dx + ih * g->w, g->w, plane + (ih + g->p - ki) * g->ow, g->ow, wf,
                              g->k, off);
            }
        }
    }
}

static void *conv_direct_forward(void *arg)
{
    const conv_job *j = arg;
    const conv_geom *g = j->g;
    const float *wt = j->l->params[0].w, *bias = j->l->params[1].w;
    for (size_t sm = j->s0; sm < j->s1; sm++) {
        size_t wp;
        const float *P = conv_padded(g, j->in + sm * g->hw, j->scratch, &wp);
        conv_direct_forward_rows(g, wt, bias, P, wp, j->out + sm * g->oc * g->ohw);
    }
    return NULL;
}

/* Weight and bias gradients into this thread's vector accumulators (the
 * caller adds them up), and dx when asked. */
static void *conv_direct_backward(void *arg)
{
    const conv_job *j = arg;
    const conv_geom *g = j->g;
    size_t pad = g->p ? (g->h + 2 * g->p) * (g->w + 2 * g->p) : 0;
    conv_v8u *acc = (conv_v8u *)(void *)(j->scratch + pad);
    memset(acc, 0, g->oc * (g->k * g->k + 1) * sizeof *acc);
    for (size_t sm = j->s0; sm < j->s1; sm++) {
        size_t wp;
        const float *P = conv_padded(g, j->in + sm * g->hw, j->scratch, &wp);
        const float *dy = j->dout + sm * g->oc * g->ohw;
        conv_direct_dw_sample(g, dy, P, wp, acc);
        if (j->din)
            conv_direct_dx(g, j->l->params[0].w, dy, j->din + sm * g->hw);
    }
    return NULL;
}

/* ---- passes ------------------------------------------------------------ */

/* Threads for a pass over b samples. */
static int conv_threads(const mp_nn_layer *l, const conv_geom *g, size_t b)
{
    const conv_cfg *cf = l->cfg;
    double per_sample = (double)g->oc * (double)g->ohw * (double)(g->ckk + 1);
    int t = cf->nthreads;
    if (!conv_direct(g) && per_sample > CONV_BLAS_THREADED)
        t = 1;
    if (per_sample * (double)b < CONV_MIN_PARALLEL)
        t = 1;
    if ((size_t)t > b)
        t = (int)b;
    return t < 1 ? 1 : t;
}

/* Floats per thread, rounded up so each thread's part starts 32-byte
 * aligned relative to the workspace. */
static size_t conv_scratch(const conv_geom *g)
{
    size_t n = conv_direct(g) ? conv_direct_scratch(g) : conv_gemm_scratch(g);
    return (n + 7) / 8 * 8;
}

#ifndef CONV_KEEP
#define CONV_KEEP 1
#endif
/* Whether a training pass keeps the columns for backward. */
static int conv_keeps(const conv_geom *g, const mp_nn_run *run)
{
    return CONV_KEEP && !conv_direct(g) && run && run->training;
}

static size_t conv_shared(const conv_geom *g)
{
    return conv_direct(g) ? 0 : conv_gemm_shared(g);
}

static size_t conv_workspace(const mp_nn_layer *l, size_t b, const mp_nn_run *run)
{
    conv_geom g = conv_geometry(l);
    if (b == 0)
        return 0;
    size_t kept = conv_keeps(&g, run) ? b * (g.ckk + 1) * g.ohw : 0;
    return conv_shared(&g) + (size_t)conv_threads(l, &g, b) * conv_scratch(&g) + kept;
}

/* Splits samples [0, b) over nt jobs. */
static void conv_jobs(conv_job *jobs, int nt, const mp_nn_layer *l, const conv_geom *g,
                      const float *in, const float *dout, float *out, float *din, size_t b,
                      float *ws, const mp_nn_run *run)
{
    size_t per = conv_scratch(g), shared = conv_shared(g);
    float *kept = conv_keeps(g, run) ? ws + shared + (size_t)nt * per : NULL;
    for (int t = 0; t < nt; t++) {
        conv_job *j = &jobs[t];
        j->l = l;
        j->g = g;
        j->in = in;
        j->dout = dout;
        j->out = out;
        j->din = din;
        j->s0 = b * (size_t)t / (size_t)nt;
        j->s1 = b * (size_t)(t + 1) / (size_t)nt;
        j->scratch = ws + shared + (size_t)t * per;
        j->wb = ws;
        j->kept = kept;
    }
}

static void conv_forward(mp_nn_layer *l, const float *in, float *out, size_t b, float *ws,
                         const mp_nn_run *run)
{
    conv_geom g = conv_geometry(l);
    if (b == 0)
        return;
    int nt = conv_threads(l, &g, b);
    conv_job jobs[CONV_MAX_THREADS];
    conv_jobs(jobs, nt, l, &g, in, NULL, out, NULL, b, ws, run);
    if (conv_direct(&g)) {
        conv_run_jobs(jobs, nt, conv_direct_forward);
        return;
    }
    /* [W | b] */
    const float *wt = l->params[0].w, *bias = l->params[1].w;
    for (size_t o = 0; o < g.oc; o++) {
        memcpy(ws + o * (g.ckk + 1), wt + o * g.ckk, g.ckk * sizeof *ws);
        ws[o * (g.ckk + 1) + g.ckk] = bias[o];
    }
    conv_run_jobs(jobs, nt, conv_gemm_forward);
}

static void conv_backward(mp_nn_layer *l, const float *in, const float *out, const float *dout,
                          float *din, size_t b, float *ws, const mp_nn_run *run)
{
    conv_geom g = conv_geometry(l);
    if (b == 0)
        return;
    float *dw = l->params[0].g, *db = l->params[1].g;
    int nt = conv_threads(l, &g, b);
    conv_job jobs[CONV_MAX_THREADS];
    conv_jobs(jobs, nt, l, &g, in, dout, NULL, din, b, ws, run);
    size_t kk = g.k * g.k;
    if (conv_direct(&g)) {
        conv_run_jobs(jobs, nt, conv_direct_backward);
        /* the threads' vector accumulators, in thread order */
        size_t pad = g.p ? (g.h + 2 * g.p) * (g.w + 2 * g.p) : 0;
        for (int t = 0; t < nt; t++) {
            const float *acc = jobs[t].scratch + pad;
            for (size_t o = 0; o < g.oc; o++) {
                for (size_t i = 0; i < kk; i++) {
                    const float *v = acc + (o * (kk + 1) + i) * V8_FLOATS;
                    dw[o * kk + i] += V8_SUM(v);
                }
                const float *v = acc + (o * (kk + 1) + kk) * V8_FLOATS;
                db[o] += V8_SUM(v);
            }
        }
        return;
    }
    conv_run_jobs(jobs, nt, conv_gemm_backward);
    size_t ka = g.ckk + 1;
    for (int t = 0; t < nt; t++) {
        const float *dwb = jobs[t].scratch + ka * g.ohw;
        for (size_t o = 0; o < g.oc; o++) {
            for (size_t i = 0; i < g.ckk; i++)
                dw[o * g.ckk + i] += dwb[o * ka + i];
            db[o] += dwb[o * ka + g.ckk];
        }
    }
}

const mp_nn_layer_ops mp_nn_conv2d_ops = {
    .name = "conv2d",
    .usage = CONV_USAGE,
    .configure = conv_configure,
    .init = conv_init,
    .workspace = conv_workspace,
    .forward = conv_forward,
    .backward = conv_backward,
};
