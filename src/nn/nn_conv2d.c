/* conv2d(out_channels, kernel[, stride=1, padding=0]): a 2-D convolution
 * over channel-first images with PyTorch's Conv2d semantics (square kernel,
 * zero padding, no dilation or groups): C x H x W in, OC x OH x OW out with
 * OH = floor((H + 2p - k) / s) + 1, weight [OC, C, k, k], bias [OC].
 *
 * Three ways to run a pass, chosen from the shapes (conv_plan_for), each
 * measured on the benchmark CNNs (batch 64, 2 cores):
 *  - direct (one input channel, stride 1: the first layer of an image
 *    network): vector kernels compute 8 output columns x 2 rows of every
 *    channel at a time from the (padded) image, with no column copies;
 *    forward 87 us against 118 us for im2col + GEMM on conv2d(8,3).
 *  - per sample (GEMMs under OpenBLAS's threading threshold, e.g.
 *    conv2d(16,3) on 8x13x13): one small GEMM per sample,
 *    out = [W | b] [cols; 1], which is already the sample's OC x OH x OW
 *    layout; threads of ours take whole samples. Whole-batch GEMMs were
 *    up to 2x slower there (a 16-row GEMM threads poorly, and the output
 *    has to be rearranged).
 *  - batch (larger layers, e.g. conv2d(64,3) on 32x13x13): the columns of
 *    a chunk of samples [C*k*k + 1, n*OH*OW] and one GEMM per product,
 *    which OpenBLAS threads well (6.6 ms against 9.6 ms per sample for
 *    that layer's forward and backward); our threads share the copies.
 *    While OpenBLAS is set to one thread (the trainer may choose that)
 *    these layers go per sample too, on threads of ours: 5.7 ms there.
 * Backward rebuilds the columns rather than keeping them from forward:
 * inside a network, keeping a batch's columns (9 MB for that layer) pushed
 * the other layers' data out of cache and cost more than im2col does.
 * Threads of ours are used only where a pass is long enough to pay for
 * starting one, never around a GEMM that OpenBLAS threads itself, and
 * their partial gradients are added in thread order, so results repeat
 * exactly for a given thread count. */
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
/* Most threads of ours a pass uses (never more than OpenBLAS had at init). */
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
                            "got %s; %s",
                            l->index, text, got,
                            l->in.ndim == 1 ? "conv2d must come before flatten"
                                            : "give images as CxHxW, e.g. 1x28x28");
    size_t c = l->in.d[0], h = l->in.d[1], w = l->in.d[2];
    if (c == 0 || h == 0 || w == 0)
        return mp_error_set(e, MP_EINVAL, "layer %d (%s): empty input %s", l->index, text, got);
    /* Sizes stay far from overflow, and the GEMMs' int dimensions hold one
     * sample: (C*k*k + 1) x OH*OW columns, OC x OH*OW outputs. */
    double dk = (double)cf->k, dp = (double)cf->pad, ds = (double)cf->stride;
    double dohw = (floor(((double)h + 2 * dp - dk) / ds) + 1) *
                  (floor(((double)w + 2 * dp - dk) / ds) + 1);
    double dka = (double)c * dk * dk + 1, doc = (double)cf->oc;
    if ((double)c * (double)h * (double)w > INT_MAX || dka * dohw > INT_MAX ||
        doc * dohw > INT_MAX || doc * dka > INT_MAX)
        return mp_error_set(e, MP_EINVAL, "layer %d (%s): input %s is too large", l->index,
                            text, got);
    size_t k = cf->k, p = cf->pad;
    if (k > h + 2 * p || k > w + 2 * p)
        return mp_error_set(e, MP_EINVAL,
                            "layer %d (%s): kernel %zux%zu is larger than the input %s padded "
                            "by %zu (%zux%zu)",
                            l->index, text, k, k, got, p, h + 2 * p, w + 2 * p);
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
 * arrays. Without AVX they lower to pairs of SSE operations. The project
 * builds for baseline x86-64, so the hot kernels are also compiled for
 * x86-64-v3 (AVX2, FMA) and v4 (AVX-512's 32 registers hold the direct
 * kernels' taps: 15% faster than v3) and the loader picks the copy the CPU
 * can run (CONV_CLONES; 3x faster than baseline on the direct kernels). */
typedef float conv_v8 __attribute__((vector_size(32)));
typedef float conv_v8u __attribute__((vector_size(32), aligned(4), may_alias));
#define V8_LD(p) (*(const conv_v8u *)(const void *)(p))
#define V8_ST(p, v) (*(conv_v8u *)(void *)(p) = (v))
#define V8_SUM(v) ((v)[0] + (v)[1] + (v)[2] + (v)[3] + (v)[4] + (v)[5] + (v)[6] + (v)[7])
#define V8_FLOATS 8

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(MP_CONV_NO_CLONES)
#define CONV_CLONES                                                                        \
    __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
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

/* ---- plan ---------------------------------------------------------------
 *
 * Everything about how a pass over b samples runs: the mode, threads and
 * workspace layout. It depends on the shapes, b, the thread count fixed at
 * init and OpenBLAS's current thread count, not on run->training: nothing
 * is kept from forward to backward, so the two may even run in different
 * modes, and the workspace is sized for every mode a layer may take. */

typedef enum { CONV_DIRECT = 1, CONV_SAMPLE = 2, CONV_BATCH = 3 } conv_mode;

/* Above this many multiply-adds OpenBLAS threads a GEMM itself (its
 * GEMM_MULTITHREAD_THRESHOLD 4 x SMP_THRESHOLD_MIN 65536) unless it is set
 * to one thread; below it the call runs on the calling thread. Two threads
 * of ours each calling a threaded GEMM at once were measured 20x slower,
 * so per-sample GEMMs on our threads must stay below it. */
#define CONV_BLAS_THREADED 262144.0
/* Starting and joining a thread costs 20 to 60 us here (more when the
 * other core has gone idle), so a pass is split only when one thread
 * would take well over that: about 6M multiply-adds (~180 us) of the
 * direct or per-sample kernels, or 1M floats of copying. */
#define CONV_PAR_MACS 6e6
#define CONV_PAR_FLOATS 1e6
/* Columns per batch-mode chunk (floats): 2 MB, so a chunk's columns and
 * their gradient stay in cache between im2col, the GEMMs and col2im.
 * Measured inside the big benchmark CNN, chunks of 13-16 samples beat the
 * whole batch by 1 ms per batch for conv2d(64,3) on 32x13x13, because the
 * columns of the whole batch (9 MB) push everything else out of cache. */
#define CONV_CHUNK_FLOATS ((size_t)1 << 19)

typedef struct conv_plan {
    conv_geom g;
    conv_mode mode;
    size_t b;       /* samples in the pass */
    size_t ka;      /* ckk + 1: the columns' ones row carries the bias */
    int nt;         /* threads of ours (CONV_DIRECT, CONV_SAMPLE) */
    size_t nb;      /* CONV_BATCH: samples per GEMM */
    /* workspace layout, in floats from its start */
    size_t wb;      /* [W | b], oc x ka (CONV_SAMPLE, CONV_BATCH) */
    size_t cols;    /* CONV_BATCH: a chunk's columns, ka x nb*ohw */
    size_t tmp;     /* CONV_BATCH: oc x nb*ohw for the output or dy */
    size_t thr;     /* per-thread scratch, `per` floats each */
    size_t per;
    size_t total;
} conv_plan;

static size_t conv_round8(size_t n)
{
    return (n + 7) / 8 * 8;
}

static int conv_is_direct(const conv_geom *g)
{
    return g->c == 1 && g->s == 1 && g->k <= CONV_DIRECT_KMAX && g->ow >= V8_FLOATS;
}

/* Threads for `work` over b samples, `enough` being the least work worth
 * a second thread. */
static int conv_nthreads(const mp_nn_layer *l, double work, double enough, size_t b)
{
    const conv_cfg *cf = l->cfg;
    int t = cf->nthreads;
    if (work < enough)
        t = 1;
    if ((size_t)t > b)
        t = (int)b;
    return t < 1 ? 1 : t;
}

/* The plan for mode m. */
static conv_plan conv_plan_mode(const mp_nn_layer *l, size_t b, conv_mode m)
{
    conv_plan pl;
    memset(&pl, 0, sizeof pl);
    conv_geom *g = &pl.g;
    *g = conv_geometry(l);
    pl.mode = m;
    pl.b = b;
    pl.ka = g->ckk + 1;
    double macs = (double)g->oc * (double)g->ohw * (double)pl.ka * (double)b;
    size_t at = 0;
    if (m == CONV_DIRECT) {
        pl.nt = conv_nthreads(l, macs, CONV_PAR_MACS, b);
        size_t pad = g->p ? (g->h + 2 * g->p) * (g->w + 2 * g->p) : 0;
        pl.per = conv_round8(pad + g->oc * (g->k * g->k + 1) * V8_FLOATS);
    } else if (m == CONV_SAMPLE) {
        pl.nt = conv_nthreads(l, macs, CONV_PAR_MACS, b);
        pl.wb = at;
        at += conv_round8(g->oc * pl.ka);
        /* the sample's columns (or their gradient) and a private [dW | db] */
        pl.per = conv_round8(pl.ka * g->ohw + g->oc * pl.ka);
    } else {
        /* chunks of about CONV_CHUNK_FLOATS columns (and within the GEMMs'
         * int dimensions), all of about the same size */
        size_t cap = (size_t)INT_MAX / (g->ohw * (pl.ka > g->oc ? pl.ka : g->oc));
        if (cap > CONV_CHUNK_FLOATS / (pl.ka * g->ohw))
            cap = CONV_CHUNK_FLOATS / (pl.ka * g->ohw);
        if (cap < 1)
            cap = 1;
        size_t nchunks = (b + cap - 1) / cap;
        pl.nb = nchunks ? (b + nchunks - 1) / nchunks : 1;
        pl.nt = 0; /* per copy, see conv_batch_threads; no per-thread scratch */
        pl.wb = at;
        at += conv_round8(g->oc * pl.ka);
        pl.cols = at;
        at += conv_round8(pl.nb * pl.ka * g->ohw);
        pl.tmp = at;
        at += conv_round8(g->oc * pl.nb * g->ohw);
        pl.per = 0;
    }
    pl.thr = at;
    pl.total = b ? at + (size_t)pl.nt * pl.per : 0;
    return pl;
}

/* Whether per-sample GEMMs would be threaded by OpenBLAS (when it has more
 * than one thread): then they are batched instead, or, while OpenBLAS is
 * set to one thread (as the trainer may do), left per sample on threads of
 * ours. Read at every pass, so workspace sizes cover both. */
static int conv_large(const conv_geom *g)
{
    return (double)g->oc * (double)g->ohw * (double)(g->ckk + 1) > CONV_BLAS_THREADED;
}

static conv_plan conv_plan_for(const mp_nn_layer *l, size_t b)
{
    conv_geom g = conv_geometry(l);
    if (conv_is_direct(&g))
        return conv_plan_mode(l, b, CONV_DIRECT);
    if (conv_large(&g) && openblas_get_num_threads() > 1)
        return conv_plan_mode(l, b, CONV_BATCH);
    return conv_plan_mode(l, b, CONV_SAMPLE);
}

/* ---- threads ------------------------------------------------------------ */

/* One thread's share of a pass: samples [s0, s1). */
typedef struct conv_job {
    const conv_plan *pl;
    const mp_nn_layer *l;
    const float *in, *dout;
    float *out, *din;
    size_t s0, s1;
    size_t c0;      /* CONV_BATCH: the chunk's first sample */
    float *ws;      /* the whole workspace */
    float *scratch; /* this thread's part of it */
} conv_job;

/* Runs fn over samples [s0, s1) split into nt jobs: jobs 1.. on new
 * threads, job 0 on the caller's; a job whose thread cannot start runs on
 * the caller too. */
static void conv_parallel(const conv_job *tmpl, size_t s0, size_t s1, int nt,
                          void *(*fn)(void *))
{
    const conv_plan *pl = tmpl->pl;
    conv_job jobs[CONV_MAX_THREADS];
    pthread_t th[CONV_MAX_THREADS];
    int started[CONV_MAX_THREADS] = {0};
    if ((size_t)nt > s1 - s0)
        nt = (int)(s1 - s0);
    if (nt < 1)
        nt = 1;
    for (int t = 0; t < nt; t++) {
        jobs[t] = *tmpl;
        jobs[t].s0 = s0 + (s1 - s0) * (size_t)t / (size_t)nt;
        jobs[t].s1 = s0 + (s1 - s0) * (size_t)(t + 1) / (size_t)nt;
        jobs[t].scratch = tmpl->ws + pl->thr + (size_t)t * pl->per;
    }
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

/* ---- im2col ---------------------------------------------------------------
 *
 * The columns of a sample are [C*k*k, OH*OW]; with a row stride ld > OH*OW
 * several samples' columns sit side by side. A last row of ones makes
 * [W | b] [cols; 1] = W cols + b and dy [cols; 1]^T = [dW | db]. */

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

/* Unrolls one sample x into cols (row stride ld): row (c, ki, kj), column
 * (oh, ow) holds x[c][oh*s + ki - p][ow*s + kj - p], or 0 in the padding. */
CONV_CLONES
static void conv_im2col(const conv_geom *g, const float *x, float *cols, size_t ld)
{
    size_t ow = g->ow, s = g->s;
    for (size_t c = 0; c < g->c; c++)
        for (size_t ki = 0; ki < g->k; ki++) {
            size_t r0, r1;
            conv_rows(g, ki, &r0, &r1);
            for (size_t kj = 0; kj < g->k; kj++) {
                float *d = cols + ((c * g->k + ki) * g->k + kj) * ld;
                size_t lo, hi;
                conv_valid(ow, g->w, s, g->p, kj, &lo, &hi);
                size_t m = hi - lo, e0 = r0, e1 = m ? r1 : r0; /* rows to fill: [e0, e1) */
                memset(d, 0, e0 * ow * sizeof *d);
                memset(d + e1 * ow, 0, (g->oh - e1) * ow * sizeof *d);
                if (e1 == e0)
                    continue;
                /* input row of output row r0, from column lo*s + kj - p */
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
    for (size_t i = 0; i < g->ohw; i++)
        cols[g->ckk * ld + i] = 1.0f;
}

/* The adjoint of conv_im2col: dx (one sample, overwritten) gets every
 * column entry added at the input position it was copied from. */
CONV_CLONES
static void conv_col2im(const conv_geom *g, const float *cols, size_t ld, float *dx)
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
                const float *d = cols + ((c * g->k + ki) * g->k + kj) * ld + r0 * ow + lo;
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

/* [W | b] into the workspace. */
static void conv_build_wb(const mp_nn_layer *l, const conv_plan *pl, float *ws)
{
    const float *wt = l->params[0].w, *bias = l->params[1].w;
    float *wb = ws + pl->wb;
    for (size_t o = 0; o < pl->g.oc; o++) {
        memcpy(wb + o * pl->ka, wt + o * pl->g.ckk, pl->g.ckk * sizeof *wb);
        wb[o * pl->ka + pl->g.ckk] = bias[o];
    }
}

/* Adds [dW | db] (oc x ka) to the parameter gradients. */
static void conv_add_dwb(mp_nn_layer *l, const conv_plan *pl, const float *dwb)
{
    float *dw = l->params[0].g, *db = l->params[1].g;
    for (size_t o = 0; o < pl->g.oc; o++) {
        for (size_t i = 0; i < pl->g.ckk; i++)
            dw[o * pl->g.ckk + i] += dwb[o * pl->ka + i];
        db[o] += dwb[o * pl->ka + pl->g.ckk];
    }
}

/* ---- per-sample mode --------------------------------------------------------
 *
 * For GEMMs small enough to run on the calling thread: each thread takes
 * whole samples, and out = [W | b] [cols; 1] is already the sample's
 * OC x OH x OW layout, so nothing is rearranged and the columns stay in
 * cache. */

static void *conv_sample_forward(void *arg)
{
    const conv_job *j = arg;
    const conv_plan *pl = j->pl;
    const conv_geom *g = &pl->g;
    float *cols = j->scratch;
    for (size_t sm = j->s0; sm < j->s1; sm++) {
        conv_im2col(g, j->in + sm * g->chw, cols, g->ohw);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g->oc, (int)g->ohw,
                    (int)pl->ka, 1.0f, j->ws + pl->wb, (int)pl->ka, cols, (int)g->ohw, 0.0f,
                    j->out + sm * g->oc * g->ohw, (int)g->ohw);
    }
    return NULL;
}

/* The columns again, [dW | db] += dy [cols; 1]^T into this thread's
 * private sum, then dcols = W^T dy scattered back by col2im. */
static void *conv_sample_backward(void *arg)
{
    const conv_job *j = arg;
    const conv_plan *pl = j->pl;
    const conv_geom *g = &pl->g;
    const float *wt = j->l->params[0].w;
    float *cols = j->scratch, *dwb = j->scratch + pl->ka * g->ohw;
    memset(dwb, 0, g->oc * pl->ka * sizeof *dwb);
    for (size_t sm = j->s0; sm < j->s1; sm++) {
        const float *dy = j->dout + sm * g->oc * g->ohw;
        conv_im2col(g, j->in + sm * g->chw, cols, g->ohw);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)g->oc, (int)pl->ka,
                    (int)g->ohw, 1.0f, dy, (int)g->ohw, cols, (int)g->ohw, 1.0f, dwb,
                    (int)pl->ka);
        if (!j->din)
            continue;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g->ckk, (int)g->ohw,
                    (int)g->oc, 1.0f, wt, (int)g->ckk, dy, (int)g->ohw, 0.0f, cols,
                    (int)g->ohw);
        conv_col2im(g, cols, g->ohw, j->din + sm * g->chw);
    }
    return NULL;
}

/* ---- batch mode -------------------------------------------------------------
 *
 * For larger layers: a chunk of samples is one GEMM per product, which
 * OpenBLAS threads well, at the price of copies that our threads share:
 * the chunk's columns [ka, n*OH*OW] side by side, the output [OC, n*OH*OW]
 * moved into place, dy moved the other way. */

/* Samples in the chunk starting at c0. */
static size_t conv_chunk_n(const conv_plan *pl, size_t c0)
{
    return conv_min(pl->nb, pl->b - c0);
}

static void *conv_batch_im2col(void *arg)
{
    const conv_job *j = arg;
    const conv_plan *pl = j->pl;
    const conv_geom *g = &pl->g;
    size_t ld = conv_chunk_n(pl, j->c0) * g->ohw;
    float *cols = j->ws + pl->cols;
    for (size_t sm = j->s0; sm < j->s1; sm++)
        conv_im2col(g, j->in + sm * g->chw, cols + (sm - j->c0) * g->ohw, ld);
    return NULL;
}

/* out[sm][o][:] = tmp[o][(sm - c0) * ohw ...] */
static void *conv_batch_unpack(void *arg)
{
    const conv_job *j = arg;
    const conv_plan *pl = j->pl;
    const conv_geom *g = &pl->g;
    size_t ld = conv_chunk_n(pl, j->c0) * g->ohw;
    const float *tmp = j->ws + pl->tmp;
    for (size_t sm = j->s0; sm < j->s1; sm++)
        for (size_t o = 0; o < g->oc; o++)
            memcpy(j->out + (sm * g->oc + o) * g->ohw, tmp + o * ld + (sm - j->c0) * g->ohw,
                   g->ohw * sizeof(float));
    return NULL;
}

/* tmp[o][(sm - c0) * ohw ...] = dy[sm][o][:], and the columns again. */
static void *conv_batch_pack(void *arg)
{
    const conv_job *j = arg;
    const conv_plan *pl = j->pl;
    const conv_geom *g = &pl->g;
    size_t ld = conv_chunk_n(pl, j->c0) * g->ohw;
    float *tmp = j->ws + pl->tmp;
    for (size_t sm = j->s0; sm < j->s1; sm++)
        for (size_t o = 0; o < g->oc; o++)
            memcpy(tmp + o * ld + (sm - j->c0) * g->ohw, j->dout + (sm * g->oc + o) * g->ohw,
                   g->ohw * sizeof(float));
    return conv_batch_im2col(arg);
}

static void *conv_batch_col2im(void *arg)
{
    const conv_job *j = arg;
    const conv_plan *pl = j->pl;
    const conv_geom *g = &pl->g;
    size_t ld = conv_chunk_n(pl, j->c0) * g->ohw;
    const float *cols = j->ws + pl->cols;
    for (size_t sm = j->s0; sm < j->s1; sm++)
        conv_col2im(g, cols + (sm - j->c0) * g->ohw, ld, j->din + sm * g->chw);
    return NULL;
}

/* Threads for copying `rows` rows of OH*OW floats for each of n samples. */
static int conv_batch_threads(const conv_job *j, size_t n, size_t rows)
{
    return conv_nthreads(j->l, (double)n * (double)rows * (double)j->pl->g.ohw,
                         CONV_PAR_FLOATS, n);
}

static void conv_batch_forward(conv_job *tmpl)
{
    const conv_plan *pl = tmpl->pl;
    const conv_geom *g = &pl->g;
    for (size_t c0 = 0; c0 < pl->b; c0 += pl->nb) {
        size_t n = conv_chunk_n(pl, c0), nn = n * g->ohw;
        tmpl->c0 = c0;
        conv_parallel(tmpl, c0, c0 + n, conv_batch_threads(tmpl, n, pl->ka), conv_batch_im2col);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g->oc, (int)nn, (int)pl->ka,
                    1.0f, tmpl->ws + pl->wb, (int)pl->ka, tmpl->ws + pl->cols, (int)nn, 0.0f,
                    tmpl->ws + pl->tmp, (int)nn);
        conv_parallel(tmpl, c0, c0 + n, conv_batch_threads(tmpl, n, g->oc), conv_batch_unpack);
    }
}

/* [dW | db] accumulates in the workspace's [W | b] place (backward needs
 * only W itself, from the layer). */
static void conv_batch_backward(conv_job *tmpl, mp_nn_layer *l)
{
    const conv_plan *pl = tmpl->pl;
    const conv_geom *g = &pl->g;
    float *tmp = tmpl->ws + pl->tmp, *dwb = tmpl->ws + pl->wb, *cols = tmpl->ws + pl->cols;
    memset(dwb, 0, g->oc * pl->ka * sizeof *dwb);
    for (size_t c0 = 0; c0 < pl->b; c0 += pl->nb) {
        size_t n = conv_chunk_n(pl, c0), nn = n * g->ohw;
        tmpl->c0 = c0;
        conv_parallel(tmpl, c0, c0 + n, conv_batch_threads(tmpl, n, g->oc + pl->ka),
                      conv_batch_pack);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)g->oc, (int)pl->ka, (int)nn,
                    1.0f, tmp, (int)nn, cols, (int)nn, 1.0f, dwb, (int)pl->ka);
        if (!tmpl->din)
            continue;
        /* the columns are spent: their place takes their gradient */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g->ckk, (int)nn, (int)g->oc,
                    1.0f, l->params[0].w, (int)g->ckk, tmp, (int)nn, 0.0f, cols, (int)nn);
        conv_parallel(tmpl, c0, c0 + n, conv_batch_threads(tmpl, n, g->ckk), conv_batch_col2im);
    }
    conv_add_dwb(l, pl, dwb);
}

/* ---- direct path (one input channel, stride 1) ---------------------------
 *
 * Output rows are done 8 columns at a time; a row whose width is not a
 * multiple of 8 ends with a vector overlapping the previous one (the
 * forward just writes the same values twice; the weight gradient masks the
 * overlap out). The input is read through a zero-padded copy when there is
 * padding, so the inner loops have no edge cases. */

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

/* Forward for samples [s0, s1). */
static void *conv_direct_forward(void *arg)
{
    const conv_job *j = arg;
    const conv_geom *g = &j->pl->g;
    const float *wt = j->l->params[0].w, *bias = j->l->params[1].w;
    for (size_t sm = j->s0; sm < j->s1; sm++) {
        size_t wp;
        const float *P = conv_padded(g, j->in + sm * g->hw, j->scratch, &wp);
        conv_direct_forward_rows(g, wt, bias, P, wp, j->out + sm * g->oc * g->ohw);
    }
    return NULL;
}

/* The thread's weight-gradient accumulators: one vector per weight and per
 * bias, after the padded image in its scratch. */
static conv_v8u *conv_direct_acc(const conv_job *j)
{
    const conv_geom *g = &j->pl->g;
    size_t pad = g->p ? (g->h + 2 * g->p) * (g->w + 2 * g->p) : 0;
    return (conv_v8u *)(void *)(j->scratch + pad);
}

/* Weight and bias gradients into this thread's accumulators (the caller
 * adds them up), and dx when asked. */
static void *conv_direct_backward(void *arg)
{
    const conv_job *j = arg;
    const conv_geom *g = &j->pl->g;
    conv_v8u *acc = conv_direct_acc(j);
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

static size_t conv_workspace(const mp_nn_layer *l, size_t b, const mp_nn_run *run)
{
    conv_geom g = conv_geometry(l);
    if (conv_is_direct(&g))
        return conv_plan_mode(l, b, CONV_DIRECT).total;
    size_t n = conv_plan_mode(l, b, CONV_SAMPLE).total;
    if (conv_large(&g)) {
        size_t nb = conv_plan_mode(l, b, CONV_BATCH).total;
        n = n > nb ? n : nb;
    }
    return n;
}

static void conv_forward(mp_nn_layer *l, const float *in, float *out, size_t b, float *ws,
                         const mp_nn_run *run)
{
    if (b == 0)
        return;
    conv_plan pl = conv_plan_for(l, b);
    conv_job tmpl = {&pl, l, in, NULL, out, NULL, 0, b, 0, ws, NULL};
    switch (pl.mode) {
    case CONV_DIRECT:
        conv_parallel(&tmpl, 0, b, pl.nt, conv_direct_forward);
        break;
    case CONV_SAMPLE:
        conv_build_wb(l, &pl, ws);
        conv_parallel(&tmpl, 0, b, pl.nt, conv_sample_forward);
        break;
    case CONV_BATCH:
        conv_build_wb(l, &pl, ws);
        conv_batch_forward(&tmpl);
        break;
    }
}

static void conv_backward(mp_nn_layer *l, const float *in, const float *out, const float *dout,
                          float *din, size_t b, float *ws, const mp_nn_run *run)
{
    if (b == 0)
        return;
    conv_plan pl = conv_plan_for(l, b);
    const conv_geom *g = &pl.g;
    conv_job tmpl = {&pl, l, in, dout, NULL, din, 0, b, 0, ws, NULL};
    float *dw = l->params[0].g, *db = l->params[1].g;
    switch (pl.mode) {
    case CONV_DIRECT: {
        conv_parallel(&tmpl, 0, b, pl.nt, conv_direct_backward);
        /* the threads' vector accumulators, in thread order */
        size_t kk = g->k * g->k;
        for (int t = 0; t < pl.nt; t++) {
            conv_job jt = tmpl;
            jt.scratch = ws + pl.thr + (size_t)t * pl.per;
            const conv_v8u *acc = conv_direct_acc(&jt);
            for (size_t o = 0; o < g->oc; o++) {
                for (size_t i = 0; i < kk; i++)
                    dw[o * kk + i] += V8_SUM(acc[o * (kk + 1) + i]);
                db[o] += V8_SUM(acc[o * (kk + 1) + kk]);
            }
        }
        break;
    }
    case CONV_SAMPLE:
        conv_parallel(&tmpl, 0, b, pl.nt, conv_sample_backward);
        for (int t = 0; t < pl.nt; t++)
            conv_add_dwb(l, &pl, ws + pl.thr + (size_t)t * pl.per + pl.ka * g->ohw);
        break;
    case CONV_BATCH:
        conv_batch_backward(&tmpl, l);
        break;
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
