/* k-nearest neighbours with scikit-learn's KNeighborsClassifier and
 * KNeighborsRegressor semantics.
 *
 * The neighbours are exact: every search ranks by the distance functions of
 * kdtree.h and breaks ties by training index, so brute force and the k-d
 * tree return the same rows. Brute force for euclidean and cosine is fast
 * without giving that up: a float32 GEMM gives every distance with a proven
 * error bound, and only rows whose bound can reach the current k-th best
 * are re-ranked with the exact float64 distance. With many rows in many
 * dimensions, a GEMM on the leading principal directions first gives lower
 * bounds that prune most rows before any full distance is taken (the
 * projection pass). Which search runs (tree, float32 GEMM, projection,
 * plain exact scan) is decided at fit and at load from the data; it changes
 * speed only, never results.
 *
 * Threads: a state is read-only after fit; predict may run concurrently.
 * Predict uses the cores through OpenBLAS and short-lived threads of its
 * own. */
#include <cblas.h>
#include <float.h>
#include <jansson.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/rng.h"
#include "ml/algo.h"
#include "ml/kdtree.h"

enum { W_UNIFORM = 0, W_DISTANCE = 1 };
enum { A_AUTO = 0, A_BRUTE = 1, A_KDTREE = 2 };

static const char *const weight_names[] = {"uniform", "distance", NULL};
static const char *const metric_names[] = {"euclidean", "manhattan", "cosine", NULL};
static const char *const algorithm_names[] = {"auto", "brute", "kd_tree", NULL};
static const char *const knn_params[] = {"k", "weights", "metric", "algorithm", NULL};

/* Below this many rows brute force is as quick as a tree, and simpler. */
#define KNN_TREE_MIN_ROWS 512
/* A tree rarely pays off in more dimensions than this (scikit-learn's
 * cut-off as well); below it, auto still checks on a sample of queries
 * (tree_pays_off). */
#define KNN_TREE_MAX_DIMS 15
#define KNN_TREE_SAMPLES 64
#define KNN_TREE_RATIO 16
/* The float32 pass needs its products well inside float range. */
#define KNN_APPROX_MAX_ABS 1099511627776.0 /* 2^40 */
/* Queries per GEMM, and floats per GEMM result tile (8 MiB): large enough
 * for OpenBLAS to run near peak on both cores, small enough to be scanned
 * from cache. */
#define KNN_QB 512
#define KNN_TILE ((size_t)1 << 21)
/* Training rows whose mean is the float32 pass's center. */
#define KNN_CENTER_SAMPLE 1024
#define KNN_MAX_THREADS 16
/* The projection pass: data shapes worth trying it on, training rows for
 * the principal directions, at most this many directions, probe queries
 * for the decision, and the gain it must promise (see knn_try_pca). */
#define KNN_PCA_MIN_DIMS 64
#define KNN_PCA_MAX_DIMS 2048
#define KNN_PCA_MIN_ROWS 8192
#define KNN_PCA_SAMPLE 2048
#define KNN_PCA_ITERS 2
#define KNN_PCA_MAX_M 96
#define KNN_PCA_PROBES 32
#define KNN_PCA_GAIN 0.75
#define KNN_PCA_BLOCK 4096
#define KNN_PCA_TILE ((size_t)1 << 20)
/* Bytes of per-query scratch in one search, and of neighbour lists in one
 * predict chunk; both shrink the number of queries handled at once when k
 * is large. */
#define KNN_SCRATCH ((size_t)64 << 20)
#define KNN_CHUNK 8192

typedef struct knn_state {
    mp_task task;
    size_t n, d, nclasses, k;
    int weights, metric, algorithm;
    double *X; /* n*d training rows, as given */
    double *y; /* n targets */
    mp_kdtree *tree; /* set when searching with the tree */
    double *norm;    /* cosine: |x_j| */
    /* The float32 pass (euclidean, cosine), when the values allow it. */
    int approx;
    double tau;     /* relative error bound of the pass */
    double *center; /* euclidean: training mean, subtracted before rounding */
    float *Xf;      /* n*d: centered (euclidean) or unit (cosine) rows */
    double *rn;     /* n: |x_j - c|^2 (euclidean) or 1/2 (cosine) */
    double *ra;     /* n: absolute slack for float underflow */
    float *bf;      /* n: rn_j * (1 - tau') - ra_j rounded down (scan test) */
    /* The projection pass (euclidean, many dimensions), when it pays. */
    size_t m;       /* directions; 0 when off */
    float *Pf;      /* d*m principal directions */
    double ptau;    /* relative error bound of the projected GEMM */
    double psl;     /* slack for P's orthonormality and float64 rounding */
    float *Xp;      /* n*m projected centered rows */
    double *npx;    /* n: |Xp_j|^2 */
    float *pb;      /* n: scan offsets, as bf */
} knn_state;

static void knn_destroy(void *p)
{
    knn_state *s = p;
    if (!s)
        return;
    free(s->X);
    free(s->y);
    mp_kdtree_free(s->tree);
    free(s->norm);
    free(s->center);
    free(s->Xf);
    free(s->rn);
    free(s->ra);
    free(s->bf);
    free(s->Pf);
    free(s->Xp);
    free(s->npx);
    free(s->pb);
    free(s);
}

/* malloc for the large arrays (training copies, GEMM tiles), asking for
 * transparent huge pages: first-touch page faults on a few hundred MB of
 * 4 KiB pages otherwise cost as much as the copy itself. Freed with free(). */
static void *big_alloc(size_t bytes)
{
#if defined(MADV_HUGEPAGE)
    const size_t huge = (size_t)2 << 20;
    if (bytes >= 2 * huge) {
        void *p = NULL;
        if (posix_memalign(&p, huge, bytes))
            return NULL;
        madvise(p, (bytes + 4095) / 4096 * 4096, MADV_HUGEPAGE); /* only a hint */
        return p;
    }
#endif
    return malloc(bytes ? bytes : 1);
}

/* The nearest floats below and above x (x within float range or
 * infinite, which callers ensure; the clamps keep the conversion defined). */
static float float_down(double x)
{
    if (x > FLT_MAX)
        return FLT_MAX;
    if (!(x >= -FLT_MAX))
        return -INFINITY;
    float f = (float)x;
    if ((double)f > x)
        f = nextafterf(f, -INFINITY);
    return f;
}

static float float_up(double x)
{
    if (!(x <= FLT_MAX))
        return INFINITY;
    if (x < -FLT_MAX)
        return -FLT_MAX;
    float f = (float)x;
    if ((double)f < x)
        f = nextafterf(f, INFINITY);
    return f;
}

/* Error analysis of the float32 pass. For centered rows x, y (each entry
 * rounded to float once) sgemm returns x.y within gamma_(d+3) * sum|x_i y_i|
 * <= gamma_(d+3) * (|x|^2 + |y|^2) / 2 whatever its summation order, plus
 * at most 2^-149 per term and per rounded entry when values underflow. So
 *   |(|x|^2 + |y|^2 - 2 x.y)_approx - d_exact| <= tau (|x|^2 + |y|^2) + a_x + a_y
 * with tau = (d + 4) 2^-24 (one more rounding for the float result) and
 * a = 2^-146 (d + sqrt(d) |x|). We take a 25% margin plus a float64 term
 * for the arithmetic around it (centering, norms, the exact distance's own
 * rounding, all within a few d 2^-53 of |x|^2 + |y|^2). The scan tests in
 * float32 with tau' = tau + 4 * 2^-24, which covers the scan's rounding. */
static double knn_tau(size_t d)
{
    return 1.25 * ((double)d + 8.0) * 0x1p-24 + ((double)d + 8.0) * 0x1p-48;
}
static double knn_abs_slack(size_t d, double norm)
{
    return 0x1p-146 * ((double)d + sqrt((double)d) * norm);
}

/* Runs fn on jobs[0..nt) (each job_size bytes), jobs 1.. on new threads and
 * job 0 on the caller's; a job whose thread cannot start runs here too. */
static void run_jobs(void *jobs, size_t job_size, size_t nt, void *(*fn)(void *))
{
    pthread_t th[KNN_MAX_THREADS];
    int started[KNN_MAX_THREADS] = {0};
    for (size_t t = 1; t < nt; t++)
        started[t] = pthread_create(&th[t], NULL, fn, (char *)jobs + t * job_size) == 0;
    fn(jobs);
    for (size_t t = 1; t < nt; t++) {
        if (started[t])
            pthread_join(th[t], NULL);
        else
            fn((char *)jobs + t * job_size);
    }
}

/* Threads worth using for about `work` flops. */
static size_t threads_for(double work)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t t = cpus > 0 ? (size_t)cpus : 1;
    if (t > KNN_MAX_THREADS)
        t = KNN_MAX_THREADS;
    size_t by_work = (size_t)(work / 1e7) + 1;
    return t < by_work ? t : by_work;
}

typedef struct prep_job {
    knn_state *s;
    const double *src;
    size_t j0, j1;
    int bad;         /* a value too large for the float32 passes */
    size_t bad_norm; /* cosine: first row whose norm overflows, or SIZE_MAX */
} prep_job;

/* Copies rows [j0, j1) into the state and derives their norms and float32
 * rows (when the float32 passes are on). */
static void *prep_rows(void *p)
{
    prep_job *jb = p;
    knn_state *s = jb->s;
    size_t d = s->d;
    double taup = s->tau + 4 * 0x1p-24;
    jb->bad_norm = SIZE_MAX;
    for (size_t j = jb->j0; j < jb->j1; j++) {
        const double *x = jb->src + j * d;
        memcpy(s->X + j * d, x, d * sizeof *x);
        if (s->metric == MP_METRIC_COSINE) {
            s->norm[j] = mp_vec_norm(x, d);
            if (!isfinite(s->norm[j]) && jb->bad_norm == SIZE_MAX)
                jb->bad_norm = j;
        }
        if (!s->rn)
            continue;
        float *xf = s->Xf ? s->Xf + j * d : NULL;
        if (s->metric == MP_METRIC_EUCLIDEAN) {
            double nn = 0;
            for (size_t i = 0; i < d; i++) {
                double v = x[i] - s->center[i];
                if (!(fabs(v) <= KNN_APPROX_MAX_ABS)) {
                    jb->bad = 1; /* and no out-of-range conversion */
                    v = 0;
                }
                nn += v * v;
                if (xf)
                    xf[i] = (float)v;
            }
            s->rn[j] = nn;
            s->ra[j] = knn_abs_slack(d, sqrt(nn));
        } else {
            double inv = s->norm[j] > 0 && isfinite(s->norm[j]) ? 1.0 / s->norm[j] : 0.0;
            if (xf)
                for (size_t i = 0; i < d; i++)
                    xf[i] = (float)(x[i] * inv);
            s->rn[j] = 0.5;
            s->ra[j] = knn_abs_slack(d, 1.0);
        }
        if (xf)
            s->bf[j] = float_down(s->rn[j] * (1 - taup) - s->ra[j]);
    }
    return NULL;
}

/* Runs prep_rows over all rows on the available cores; *out receives the
 * folded results. */
static void prep_all(knn_state *s, const double *src, prep_job *out)
{
    size_t n = s->n, nt = threads_for((double)n * (double)s->d * 4);
    prep_job jobs[KNN_MAX_THREADS];
    for (size_t t = 0; t < nt; t++)
        jobs[t] = (prep_job){s, src, n * t / nt, n * (t + 1) / nt, 0, SIZE_MAX};
    run_jobs(jobs, sizeof jobs[0], nt, prep_rows);
    *out = jobs[0];
    for (size_t t = 1; t < nt; t++) {
        out->bad |= jobs[t].bad;
        if (out->bad_norm == SIZE_MAX)
            out->bad_norm = jobs[t].bad_norm;
    }
}

/* Allocates the float32 rows and their scan offsets. */
static int alloc_f32(knn_state *s)
{
    if (s->n > SIZE_MAX / s->d / sizeof(float))
        return MP_ENOMEM;
    s->Xf = big_alloc(s->n * s->d * sizeof *s->Xf);
    s->bf = malloc(s->n * sizeof *s->bf);
    return s->Xf && s->bf ? 0 : MP_ENOMEM;
}

/* With algorithm=auto: does the tree beat brute force on this data? Trees
 * degrade with the data's intrinsic dimension, which the feature count
 * only bounds, so ask the data: query a spread-out sample of training rows
 * and count the rows each query measures. A measured row costs the tree
 * about 30 ns on one core; brute force costs about 1 ns per row and query
 * on two (GEMM plus scan), so the tree wins below about n/16 rows per
 * query. Returns 1 (tree), 0 (brute) or MP_ENOMEM. */
static int tree_pays_off(const knn_state *s)
{
    size_t n = s->n, d = s->d, samples = n < KNN_TREE_SAMPLES ? n : KNN_TREE_SAMPLES;
    size_t *idx = malloc(s->k * sizeof *idx);
    double *dist = malloc(s->k * sizeof *dist);
    if (!idx || !dist) {
        free(idx);
        free(dist);
        return MP_ENOMEM;
    }
    size_t budget = samples * (n / KNN_TREE_RATIO), visits = 0;
    int ok = 1;
    for (size_t i = 0; i < samples && ok; i++) {
        visits += mp_kdtree_query(s->tree, s->metric, s->X + (i * (n / samples)) * d, s->k, idx,
                                  dist);
        ok = visits <= budget;
    }
    free(idx);
    free(dist);
    return ok;
}

static int knn_try_pca(knn_state *s);

/* Copies the n training rows from src into the state (s->X allocated) and
 * builds what searching needs; after fit and after load. bad_code is the
 * error for rows too large to search (MP_EINPUT or MP_EFORMAT). */
static int knn_prepare(knn_state *s, const double *src, int bad_code, mp_error *e)
{
    size_t n = s->n, d = s->d;
    int use_tree = s->algorithm == A_KDTREE ||
                   (s->algorithm == A_AUTO && s->metric != MP_METRIC_COSINE &&
                    d <= KNN_TREE_MAX_DIMS && n >= KNN_TREE_MIN_ROWS && s->k < n / 2);
    if (use_tree) {
        memcpy(s->X, src, n * d * sizeof *s->X);
        int rc = mp_kdtree_build(s->X, n, d, 0, &s->tree, e);
        if (rc || s->algorithm == A_KDTREE)
            return rc;
        rc = tree_pays_off(s);
        if (rc <= 0) {
            mp_kdtree_free(s->tree);
            s->tree = NULL;
        }
        if (rc)
            return rc < 0 ? mp_error_set(e, MP_ENOMEM, "knn: out of memory") : 0;
    }
    if (s->metric == MP_METRIC_COSINE && !(s->norm = malloc(n * sizeof *s->norm)))
        return mp_error_set(e, MP_ENOMEM, "knn: out of memory");
    /* The float32 passes hand sizes to BLAS as int. */
    int fast = s->metric != MP_METRIC_MANHATTAN && d <= INT_MAX / KNN_QB;
    int try_pca = fast && s->metric == MP_METRIC_EUCLIDEAN && d >= KNN_PCA_MIN_DIMS &&
                  d <= KNN_PCA_MAX_DIMS && n >= KNN_PCA_MIN_ROWS;
    if (fast) {
        s->rn = malloc(n * sizeof *s->rn);
        s->ra = malloc(n * sizeof *s->ra);
        if (s->metric == MP_METRIC_EUCLIDEAN)
            s->center = calloc(d, sizeof *s->center);
        if (!s->rn || !s->ra || (s->metric == MP_METRIC_EUCLIDEAN && !s->center) ||
            alloc_f32(s))
            return mp_error_set(e, MP_ENOMEM, "knn: out of memory");
        s->tau = knn_tau(d);
        if (s->center) {
            /* Any center keeps distances; one near the data keeps norms
             * small next to them, which is what the error bounds scale
             * with. The mean of a spread-out sample is near enough. */
            size_t step = n > KNN_CENTER_SAMPLE ? n / KNN_CENTER_SAMPLE : 1, m = 0;
            for (size_t j = 0; j < n; j += step, m++)
                for (size_t i = 0; i < d; i++)
                    s->center[i] += src[j * d + i];
            for (size_t i = 0; i < d; i++)
                s->center[i] /= (double)m;
        }
    }
    prep_job r;
    prep_all(s, src, &r);
    if (r.bad_norm != SIZE_MAX)
        return mp_error_set(e, bad_code, "knn: training row %zu is too large for cosine distance",
                            r.bad_norm);
    s->approx = fast && !r.bad;
    if (!s->approx) {
        /* Values too large for float32: every query takes the exact scan. */
        free(s->Xf);
        free(s->bf);
        s->Xf = NULL;
        s->bf = NULL;
        return 0;
    }
    if (try_pca) {
        int rc = knn_try_pca(s);
        if (rc < 0)
            return mp_error_set(e, rc, "knn: out of memory");
        if (rc) {
            free(s->bf); /* the float32 GEMM pass is not used */
            s->bf = NULL;
        }
    }
    return 0;
}

/* ---- neighbour search ---- */

typedef struct knn_job {
    const knn_state *s;
    const double *Q;
    size_t q0, q1;
    size_t *nidx;  /* nq*k, rows relative to Q */
    double *ndist; /* ranking distances */
    int rc;
} knn_job;

static double exact_dist(const knn_state *s, const double *q, double qnorm, size_t j)
{
    const double *x = s->X + j * s->d;
    switch (s->metric) {
    case MP_METRIC_EUCLIDEAN: return mp_dist_sqeuclidean(q, x, s->d);
    case MP_METRIC_MANHATTAN: return mp_dist_manhattan(q, x, s->d);
    default: return mp_dist_cosine(q, qnorm, x, s->norm[j], s->d);
    }
}

/* Exact distances to every training row for the queries listed in qs, a
 * few at a time so each training row is loaded once per group. */
static void scan_exact(const knn_state *s, size_t k, const double *Q, const size_t *qs,
                       size_t nq, size_t *nidx, double *ndist)
{
    enum { G = 8 };
    size_t d = s->d;
    for (size_t g0 = 0; g0 < nq; g0 += G) {
        size_t m = nq - g0 < G ? nq - g0 : G;
        mp_knn_heap h[G];
        double qn[G];
        for (size_t i = 0; i < m; i++) {
            size_t q = qs[g0 + i];
            h[i] = (mp_knn_heap){k, 0, ndist + q * k, nidx + q * k};
            qn[i] = s->metric == MP_METRIC_COSINE ? mp_vec_norm(Q + q * d, d) : 0;
        }
        for (size_t j = 0; j < s->n; j++) {
            for (size_t i = 0; i < m; i++) {
                double dist = exact_dist(s, Q + qs[g0 + i] * d, qn[i], j);
                if (mp_knn_heap_accepts(&h[i], dist, j))
                    mp_knn_heap_push(&h[i], dist, j);
            }
        }
        for (size_t i = 0; i < m; i++)
            mp_knn_heap_sort(&h[i]);
    }
}

/* Tree or exact scan for queries [q0, q1); one thread's share. */
static void *job_run(void *p)
{
    knn_job *jb = p;
    const knn_state *s = jb->s;
    if (s->tree) {
        for (size_t q = jb->q0; q < jb->q1; q++)
            mp_kdtree_query(s->tree, s->metric, jb->Q + q * s->d, s->k, jb->nidx + q * s->k,
                            jb->ndist + q * s->k);
        return NULL;
    }
    size_t nq = jb->q1 - jb->q0;
    size_t *qs = malloc(nq * sizeof *qs);
    if (!qs) {
        jb->rc = MP_ENOMEM;
        return NULL;
    }
    for (size_t i = 0; i < nq; i++)
        qs[i] = jb->q0 + i;
    scan_exact(s, s->k, jb->Q, qs, nq, jb->nidx, jb->ndist);
    free(qs);
    return NULL;
}

/* Per-query state of the float32 pass. */
typedef struct approx_query {
    const double *q;
    double qnorm;  /* cosine: |q| */
    double nq, a;  /* |q - c|^2 (or 1/2), underflow slack */
    double thr;    /* no row with a lower bound above this can be needed */
    float tf;      /* float form of thr for the scan test */
    mp_knn_heap ub;    /* k smallest upper bounds (idx unused) */
    mp_knn_heap best;  /* exact k best among resolved candidates */
    size_t npend;
    size_t *pend;      /* candidates not yet re-ranked */
    double *pend_lb;
    /* projection pass */
    const float *qf;   /* centered query in float */
    double npq;        /* |projected query|^2 */
    float tfp;         /* thr for the projection scan test */
    int exact;         /* too large for float: exact scan instead */
    size_t nseed, *seed; /* rows of the first tile taken up front */
    size_t direct;     /* float32 distances measured */
} approx_query;

static void update_thr(const knn_state *s, approx_query *aq)
{
    double thr = INFINITY;
    if (aq->ub.n == aq->ub.k)
        thr = aq->ub.dist[0];
    if (aq->best.n == aq->best.k && aq->best.dist[0] < thr)
        thr = aq->best.dist[0];
    aq->thr = thr;
    double taup = s->tau + 4 * 0x1p-24;
    aq->tf = float_up(thr - aq->nq * (1 - taup) + aq->a);
    if (s->m) {
        taup = s->ptau + 4 * 0x1p-24;
        aq->tfp = float_up(thr - aq->npq * (1 - taup) + s->psl * aq->nq + aq->a);
    }
}

/* Re-ranks the pending candidates with exact distances. */
static void resolve(const knn_state *s, approx_query *aq)
{
    for (size_t c = 0; c < aq->npend; c++) {
        if (aq->pend_lb[c] > aq->thr)
            continue;
        size_t j = aq->pend[c];
        double dist = exact_dist(s, aq->q, aq->qnorm, j);
        if (mp_knn_heap_accepts(&aq->best, dist, j))
            mp_knn_heap_push(&aq->best, dist, j);
    }
    aq->npend = 0;
    update_thr(s, aq);
}

/* Row j is within err of approximate distance dt. */
static void candidate(const knn_state *s, approx_query *aq, size_t j, double dt, double err,
                      size_t pcap)
{
    double lb = dt - err, ub = dt + err;
    if (lb > aq->thr)
        return;
    if (mp_knn_heap_accepts(&aq->ub, ub, 0))
        mp_knn_heap_push(&aq->ub, ub, 0);
    aq->pend[aq->npend] = j;
    aq->pend_lb[aq->npend] = lb;
    aq->npend++;
    if (aq->npend == pcap)
        resolve(s, aq);
    else
        update_thr(s, aq);
}

/* The first j in [j, n) with g[j] + b[j] <= tf, or n. Nearly every entry
 * fails the test, so blocks of 16 are tested with a branch-free reduction
 * the compiler vectorises. */
#define KNN_SCAN_BODY                                                                      \
    for (; j + 16 <= n; j += 16) {                                                         \
        int any = 0;                                                                       \
        for (int l = 0; l < 16; l++)                                                       \
            any |= g[j + l] + b[j + l] <= tf;                                              \
        if (any)                                                                           \
            break;                                                                         \
    }                                                                                      \
    for (; j < n; j++)                                                                     \
        if (g[j] + b[j] <= tf)                                                             \
            return j;                                                                      \
    return n;

static size_t scan_next_plain(const float *g, const float *b, size_t j, size_t n, float tf)
{
    KNN_SCAN_BODY
}

typedef size_t (*scan_fn)(const float *, const float *, size_t, size_t, float);

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define KNN_HAVE_AVX2 1
__attribute__((target("avx2"))) static size_t
scan_next_avx2(const float *g, const float *b, size_t j, size_t n, float tf)
{
    KNN_SCAN_BODY
}
#endif

static scan_fn pick_scan(void)
{
#ifdef KNN_HAVE_AVX2
    if (__builtin_cpu_supports("avx2"))
        return scan_next_avx2;
#endif
    return scan_next_plain;
}

/* The float32 pass over queries [0, nq) of Q. One thread drives it:
 * OpenBLAS spreads each GEMM over the cores itself, and the scan between
 * GEMMs is short. */
static int search_approx(const knn_state *s, size_t k, const double *Q, size_t nq,
                         size_t *nidx, double *ndist)
{
    size_t d = s->d, n = s->n;
    size_t pcap = 2 * k + 64;
    /* Fewer queries per block when k is large, to bound the scratch. */
    size_t qb = KNN_SCRATCH / ((4 * k + 64) * 16);
    if (qb > KNN_QB)
        qb = KNN_QB;
    if (qb > nq)
        qb = nq;
    if (qb == 0)
        qb = 1;
    size_t tb = (KNN_TILE / qb) / 64 * 64;
    if (tb < 256)
        tb = 256;
    if (tb > n)
        tb = n;
    float *Qf = malloc(qb * d * sizeof *Qf);
    float *G = big_alloc(qb * tb * sizeof *G);
    approx_query *aq = calloc(qb, sizeof *aq);
    double *dbuf = malloc(qb * (2 * k + pcap) * sizeof *dbuf);
    size_t *ibuf = malloc(qb * (2 * k + pcap) * sizeof *ibuf);
    size_t *exact_q = malloc(qb * sizeof *exact_q);
    double *row = malloc(d * sizeof *row);
    int rc = 0;
    if (!Qf || !G || !aq || !dbuf || !ibuf || !exact_q || !row) {
        rc = MP_ENOMEM;
        goto done;
    }
    scan_fn scan_next = pick_scan();
    float alpha = s->metric == MP_METRIC_COSINE ? -1.0f : -2.0f;
    for (size_t q0 = 0; q0 < nq; q0 += qb) {
        size_t m = nq - q0 < qb ? nq - q0 : qb;
        size_t nexact = 0;
        for (size_t i = 0; i < m; i++) {
            approx_query *a = &aq[i];
            const double *q = Q + (q0 + i) * d;
            *a = (approx_query){0};
            a->q = q;
            a->ub = (mp_knn_heap){k, 0, dbuf + i * (2 * k + pcap), ibuf + i * (2 * k + pcap)};
            a->best = (mp_knn_heap){k, 0, a->ub.dist + k, a->ub.idx + k};
            a->pend_lb = a->best.dist + k;
            a->pend = a->best.idx + k;
            int ok = 1;
            if (s->metric == MP_METRIC_EUCLIDEAN) {
                double nn = 0;
                for (size_t t = 0; t < d; t++) {
                    row[t] = q[t] - s->center[t];
                    if (!(fabs(row[t]) <= KNN_APPROX_MAX_ABS))
                        ok = 0;
                    nn += row[t] * row[t];
                }
                a->nq = nn;
                a->a = knn_abs_slack(d, sqrt(nn));
            } else {
                a->qnorm = mp_vec_norm(q, d);
                double inv = a->qnorm > 0 ? 1.0 / a->qnorm : 0.0;
                for (size_t t = 0; t < d; t++)
                    row[t] = q[t] * inv;
                a->nq = 0.5;
                a->a = knn_abs_slack(d, 1.0);
            }
            if (ok) {
                for (size_t t = 0; t < d; t++)
                    Qf[i * d + t] = (float)row[t];
                update_thr(s, a);
            } else {
                /* This query goes to the exact scan; a zero row keeps the
                 * GEMM finite and a -inf threshold keeps the scan away. */
                memset(Qf + i * d, 0, d * sizeof *Qf);
                a->thr = -INFINITY;
                a->tf = -INFINITY;
                exact_q[nexact++] = q0 + i;
            }
        }
        for (size_t j0 = 0; j0 < n; j0 += tb) {
            size_t nb = n - j0 < tb ? n - j0 : tb;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)nb, (int)d, alpha,
                        Qf, (int)d, s->Xf + j0 * d, (int)d, 0.0f, G, (int)nb);
            const float *bf = s->bf + j0;
            for (size_t i = 0; i < m; i++) {
                approx_query *a = &aq[i];
                const float *gr = G + i * nb;
                for (size_t jj = scan_next(gr, bf, 0, nb, a->tf); jj < nb;
                     jj = scan_next(gr, bf, jj + 1, nb, a->tf)) {
                    double base = a->nq + s->rn[j0 + jj];
                    candidate(s, a, j0 + jj, base + (double)gr[jj],
                              s->tau * base + a->a + s->ra[j0 + jj], pcap);
                }
            }
        }
        for (size_t i = 0; i < m; i++) {
            approx_query *a = &aq[i];
            if (a->thr == -INFINITY)
                continue;
            resolve(s, a);
            mp_knn_heap_sort(&a->best);
            memcpy(nidx + (q0 + i) * k, a->best.idx, k * sizeof(size_t));
            memcpy(ndist + (q0 + i) * k, a->best.dist, k * sizeof(double));
        }
        if (nexact)
            scan_exact(s, k, Q, exact_q, nexact, nidx, ndist);
    }
done:
    free(Qf);
    free(G);
    free(aq);
    free(dbuf);
    free(ibuf);
    free(exact_q);
    free(row);
    return rc;
}

/* ---- projection pass ----
 *
 * For euclidean distance in many dimensions the float32 pass is GEMM-bound
 * at d flops per pair. When the data has a few dominant directions (images,
 * embeddings), a cheaper bound prunes almost every pair: with P the top m
 * principal directions (orthonormal columns), |P^T (q - x)|^2 <= |q - x|^2.
 * A float32 GEMM of size m gives that lower bound for every pair (with an
 * error analysis like the one above). Pairs whose bound can reach the
 * current threshold get a float32 distance straight from their rows, again
 * with a proven error, and those that can still reach the k-th best go to
 * the exact float64 comparison, as in the float32 pass. Results are
 * identical to the other searches; the pass is kept only when a sample of
 * training rows, used as queries, shows that it prunes enough. */

static double pca_tau(size_t m) { return 1.25 * ((double)m + 10.0) * 0x1p-24; }

/* Orthonormalises the columns of the row-major r*c matrix A in place. */
static int orthonormalise(double *A, size_t r, size_t c, double *tau)
{
    if (LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, (lapack_int)r, (lapack_int)c, A, (lapack_int)c, tau))
        return -1;
    if (LAPACKE_dorgqr(LAPACK_ROW_MAJOR, (lapack_int)r, (lapack_int)c, (lapack_int)c, A,
                       (lapack_int)c, tau))
        return -1;
    return 0;
}

/* Projects rows R[0..nr) (d wide, centered in float64 here) onto the
 * directions: out (float, nr*m) and nout = |out|^2. */
static void pca_project(const knn_state *s, const double *R, size_t nr, float *Rc, float *out,
                        double *nout)
{
    size_t d = s->d, m = s->m;
    for (size_t i = 0; i < nr; i++)
        for (size_t t = 0; t < d; t++) {
            double v = R[i * d + t] - s->center[t];
            /* Rows too large for float take the exact scan; keep their
             * projection finite. */
            Rc[i * d + t] = fabs(v) <= KNN_APPROX_MAX_ABS ? (float)v : 0.0f;
        }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nr, (int)m, (int)d, 1.0f, Rc,
                (int)d, s->Pf, (int)m, 0.0f, out, (int)m);
    for (size_t i = 0; i < nr; i++) {
        double nn = 0;
        for (size_t t = 0; t < m; t++)
            nn += (double)out[i * m + t] * out[i * m + t];
        nout[i] = nn;
    }
}

/* Finds m leading principal directions of a sample of the training rows
 * by randomized subspace iteration (Halko, Martinsson, Tropp): a few GEMMs
 * and small factorizations instead of an eigensolver on a d*d matrix. The
 * directions need not be exact, only orthonormal: a poorer subspace just
 * prunes less. Then projects every training row. Returns 1 when built, 0
 * when a factorization fails, MP_ENOMEM. */
static int pca_build(knn_state *s)
{
    size_t n = s->n, d = s->d, m = d / 8 > KNN_PCA_MAX_M ? KNN_PCA_MAX_M : d / 8;
    size_t l = m + 16, ns = n < KNN_PCA_SAMPLE ? n : KNN_PCA_SAMPLE, step = n / ns;
    size_t blk = KNN_PCA_BLOCK;
    double *S = malloc(ns * d * sizeof *S), *Y = malloc(d * l * sizeof *Y);
    double *W = malloc(ns * l * sizeof *W), *B = malloc(l * l * sizeof *B);
    double *ev = malloc(l * sizeof *ev), *tau = malloc(l * sizeof *tau);
    double *P = malloc(d * m * sizeof *P), *PtP = malloc(m * m * sizeof *PtP);
    int rc = MP_ENOMEM;
    if (!S || !Y || !W || !B || !ev || !tau || !P || !PtP)
        goto done;
    for (size_t i = 0; i < ns; i++)
        for (size_t t = 0; t < d; t++)
            S[i * d + t] = s->X[i * step * d + t] - s->center[t];
    mp_rng r;
    mp_rng_seed(&r, 0x6b6e6e70636131ULL);
    for (size_t i = 0; i < d * l; i++)
        Y[i] = mp_rng_normal(&r);
    rc = 0;
    for (int it = 0; it < KNN_PCA_ITERS; it++) {
        /* Y <- orth(S^T S Y) */
        if (orthonormalise(Y, d, l, tau))
            goto done;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)ns, (int)l, (int)d, 1.0, S,
                    (int)d, Y, (int)l, 0.0, W, (int)l);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)l, (int)ns, 1.0, S,
                    (int)d, W, (int)l, 0.0, Y, (int)l);
    }
    if (orthonormalise(Y, d, l, tau))
        goto done;
    /* The sample's covariance within span(Y): B = (S Y)^T (S Y); its top
     * eigenvectors rotate Y onto the leading directions. */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)ns, (int)l, (int)d, 1.0, S,
                (int)d, Y, (int)l, 0.0, W, (int)l);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)l, (int)l, (int)ns, 1.0, W, (int)l,
                W, (int)l, 0.0, B, (int)l);
    if (LAPACKE_dsyev(LAPACK_ROW_MAJOR, 'V', 'U', (lapack_int)l, B, (lapack_int)l, ev))
        goto done;
    /* Eigenvalues ascend: the last m columns of B. */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d, (int)m, (int)l, 1.0, Y, (int)l,
                B + (l - m), (int)l, 0.0, P, (int)m);

    /* Error analysis of the projected bound. |P^T v|^2 <= (1 + o)|v|^2 with
     * o = |P^T P - I|_2 <= m max|(P^T P - I)_ij| (plus the rounding of that
     * product). The float32 projection of a centered row x is off from
     * P^T x by at most c_e |x| with c_e = sqrt(m) (d + 4) 2^-24 (entry
     * rounding, GEMM accumulation over d terms, output rounding; 5%
     * margin). So the projected distance of q and x exceeds their exact
     * squared distance D by at most o D + (4 c_e + 2 c_e^2)(|q|^2 + |x|^2),
     * and D <= 2 (|q|^2 + |x|^2). The last term covers the float64 rounding
     * of the exact distances. */
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)m, (int)d, 1.0, P, (int)m,
                P, (int)m, 0.0, PtP, (int)m);
    double dev = 0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < m; j++)
            dev = fmax(dev, fabs(PtP[i * m + j] - (i == j)));
    if (!(dev < 1e-6))
        goto done;
    double o = (double)m * dev + ((double)d + 8) * 0x1p-50;
    double ce = sqrt((double)m) * ((double)d + 4) * 0x1p-24 * 1.05;
    s->psl = 2 * o + 4.2 * ce + 2.1 * ce * ce + ((double)d + 8) * 0x1p-48;
    s->ptau = pca_tau(m);
    rc = MP_ENOMEM;
    s->Pf = malloc(d * m * sizeof *s->Pf);
    s->Xp = big_alloc(n * m * sizeof *s->Xp);
    s->npx = malloc(n * sizeof *s->npx);
    s->pb = malloc(n * sizeof *s->pb);
    if (!s->Pf || !s->Xp || !s->npx || !s->pb)
        goto done;
    for (size_t i = 0; i < d * m; i++)
        s->Pf[i] = (float)P[i];
    s->m = m;
    double taup = s->ptau + 4 * 0x1p-24;
    for (size_t r0 = 0; r0 < n; r0 += blk) {
        size_t nb = n - r0 < blk ? n - r0 : blk;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nb, (int)m, (int)d, 1.0f,
                    s->Xf + r0 * d, (int)d, s->Pf, (int)m, 0.0f, s->Xp + r0 * m, (int)m);
        for (size_t j = r0; j < r0 + nb; j++) {
            double nn = 0;
            for (size_t t = 0; t < m; t++)
                nn += (double)s->Xp[j * m + t] * s->Xp[j * m + t];
            s->npx[j] = nn;
            s->pb[j] = float_down(nn * (1 - taup) - s->psl * s->rn[j] - s->ra[j]);
        }
    }
    rc = 1;
done:
    free(S);
    free(Y);
    free(W);
    free(B);
    free(ev);
    free(tau);
    free(P);
    free(PtP);
    return rc;
}

/* The float32 distance of the centered query and row j, straight from
 * their float rows: within (2 d + 12) 2^-24 (|q|^2 + |x_j|^2) of the exact
 * one (entry rounding of both, the subtraction, the squares and the sum;
 * 25% margin below), plus underflow slack. Half the memory traffic of the
 * float64 distance, which only rows near the threshold still need. */
static double direct_f32(const float *q, const float *x, size_t d)
{
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    size_t i = 0;
    for (; i + 8 <= d; i += 8) {
        float t0 = q[i] - x[i], t1 = q[i + 1] - x[i + 1], t2 = q[i + 2] - x[i + 2];
        float t3 = q[i + 3] - x[i + 3], t4 = q[i + 4] - x[i + 4], t5 = q[i + 5] - x[i + 5];
        float t6 = q[i + 6] - x[i + 6], t7 = q[i + 7] - x[i + 7];
        s0 += t0 * t0;
        s1 += t1 * t1;
        s2 += t2 * t2;
        s3 += t3 * t3;
        s4 += t4 * t4;
        s5 += t5 * t5;
        s6 += t6 * t6;
        s7 += t7 * t7;
    }
    for (; i < d; i++) {
        float t = q[i] - x[i];
        s0 += t * t;
    }
    return (double)(((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)));
}

static double direct_tau(size_t d) { return 1.25 * (2.0 * (double)d + 12.0) * 0x1p-24; }

typedef struct pca_job {
    const knn_state *s;
    approx_query *qs;
    size_t i0, i1;
    const float *G; /* one tile of bounds: rows j0..j0+nb, one row per query */
    size_t j0, nb, pcap;
    scan_fn scan;
    double *hd; /* k scratch entries for picking seeds */
    size_t *hi;
} pca_job;

static void pca_direct(const knn_state *s, approx_query *a, size_t j, size_t pcap, double dtau)
{
    a->direct++;
    double dt = direct_f32(a->qf, s->Xf + j * s->d, s->d);
    candidate(s, a, j, dt, dtau * (a->nq + s->rn[j]) + a->a + s->ra[j], pcap);
}

/* Scans one tile of bounds for queries [i0, i1). */
static void *pca_tile(void *p)
{
    pca_job *jb = p;
    const knn_state *s = jb->s;
    size_t nb = jb->nb, j0 = jb->j0;
    double dtau = direct_tau(s->d);
    const float *b = s->pb + j0;
    for (size_t i = jb->i0; i < jb->i1; i++) {
        approx_query *a = &jb->qs[i];
        if (a->exact)
            continue;
        const float *g = jb->G + i * nb;
        if (j0 == 0) {
            /* Seed the threshold with the rows of the first tile that have
             * the smallest bounds, so the scan prunes from the start. */
            mp_knn_heap h = {a->best.k < nb ? a->best.k : nb, 0, jb->hd, jb->hi};
            float top = INFINITY;
            for (size_t jj = jb->scan(g, b, 0, nb, top); jj < nb;
                 jj = jb->scan(g, b, jj + 1, nb, top)) {
                double v = (double)g[jj] + (double)b[jj];
                if (mp_knn_heap_accepts(&h, v, jj)) {
                    mp_knn_heap_push(&h, v, jj);
                    if (h.n == h.k)
                        top = float_up(h.dist[0]);
                }
            }
            for (size_t t = 0; t < h.n; t++) {
                a->seed[a->nseed++] = h.idx[t];
                pca_direct(s, a, h.idx[t], jb->pcap, dtau);
            }
        }
        for (size_t jj = jb->scan(g, b, 0, nb, a->tfp); jj < nb;
             jj = jb->scan(g, b, jj + 1, nb, a->tfp)) {
            size_t j = j0 + jj;
            if (j0 == 0) {
                size_t t = 0;
                while (t < a->nseed && a->seed[t] != j)
                    t++;
                if (t < a->nseed)
                    continue;
            }
            double npx = s->npx[j];
            double lb = (a->npq + npx + (double)g[jj]) -
                        (s->ptau * (a->npq + npx) + s->psl * (a->nq + s->rn[j]) + a->a + s->ra[j]);
            if (lb <= a->thr)
                pca_direct(s, a, j, jb->pcap, dtau);
        }
    }
    return NULL;
}

/* The k nearest rows for queries Q[0..nq); *direct (may be NULL) receives
 * the number of float32 distances measured. */
static int search_pca(const knn_state *s, size_t k, const double *Q, size_t nq, size_t *nidx,
                      double *ndist, size_t *direct)
{
    size_t d = s->d, n = s->n, m = s->m, pcap = 2 * k + 64;
    size_t per = 2 * k + pcap + k; /* ub, best, pending, seeds */
    size_t qb = KNN_SCRATCH / (per * 16 + d * 4);
    qb = qb > KNN_QB ? KNN_QB : qb > nq ? nq : qb ? qb : 1;
    size_t tb = KNN_PCA_TILE / qb / 64 * 64;
    tb = tb < 256 ? 256 : tb > n ? n : tb;
    size_t nt = threads_for((double)qb * (double)tb * 64);
    if (nt > (qb + 15) / 16)
        nt = (qb + 15) / 16;
    float *Qc = big_alloc(qb * d * sizeof *Qc);
    float *pq = malloc(qb * m * sizeof *pq);
    double *npq = malloc(qb * sizeof *npq);
    float *G = big_alloc(qb * tb * sizeof *G);
    approx_query *qs = calloc(qb, sizeof *qs);
    double *dbuf = malloc((qb * per + nt * k) * sizeof *dbuf);
    size_t *ibuf = malloc((qb * per + nt * k) * sizeof *ibuf);
    size_t *exact_q = malloc(qb * sizeof *exact_q);
    int rc = 0;
    if (!Qc || !pq || !npq || !G || !qs || !dbuf || !ibuf || !exact_q) {
        rc = MP_ENOMEM;
        goto done;
    }
    scan_fn scan = pick_scan();
    for (size_t q0 = 0; q0 < nq; q0 += qb) {
        size_t mq = nq - q0 < qb ? nq - q0 : qb, nexact = 0;
        pca_project(s, Q + q0 * d, mq, Qc, pq, npq);
        for (size_t i = 0; i < mq; i++) {
            approx_query *a = &qs[i];
            const double *q = Q + (q0 + i) * d;
            *a = (approx_query){.q = q, .qf = Qc + i * d, .npq = npq[i]};
            a->ub = (mp_knn_heap){k, 0, dbuf + i * per, ibuf + i * per};
            a->best = (mp_knn_heap){k, 0, a->ub.dist + k, a->ub.idx + k};
            a->pend_lb = a->best.dist + k;
            a->pend = a->best.idx + k;
            a->seed = a->pend + pcap;
            double nn = 0;
            for (size_t t = 0; t < d; t++) {
                double v = q[t] - s->center[t];
                if (!(fabs(v) <= KNN_APPROX_MAX_ABS))
                    a->exact = 1;
                nn += v * v;
            }
            a->nq = nn;
            a->a = knn_abs_slack(d, sqrt(nn));
            if (a->exact)
                exact_q[nexact++] = q0 + i;
            update_thr(s, a);
        }
        for (size_t j0 = 0; j0 < n; j0 += tb) {
            size_t nb = n - j0 < tb ? n - j0 : tb;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)mq, (int)nb, (int)m, -2.0f,
                        pq, (int)m, s->Xp + j0 * m, (int)m, 0.0f, G, (int)nb);
            size_t ntb = nt < mq ? nt : mq;
            pca_job jobs[KNN_MAX_THREADS];
            for (size_t t = 0; t < ntb; t++)
                jobs[t] = (pca_job){s, qs, mq * t / ntb, mq * (t + 1) / ntb, G, j0, nb, pcap,
                                    scan, dbuf + qb * per + t * k, ibuf + qb * per + t * k};
            run_jobs(jobs, sizeof jobs[0], ntb, pca_tile);
        }
        for (size_t i = 0; i < mq; i++) {
            approx_query *a = &qs[i];
            if (direct)
                *direct += a->direct;
            if (a->exact)
                continue;
            resolve(s, a);
            mp_knn_heap_sort(&a->best);
            memcpy(nidx + (q0 + i) * k, a->best.idx, k * sizeof(size_t));
            memcpy(ndist + (q0 + i) * k, a->best.dist, k * sizeof(double));
        }
        if (nexact)
            scan_exact(s, k, Q, exact_q, nexact, nidx, ndist);
    }
done:
    free(Qc);
    free(pq);
    free(npq);
    free(G);
    free(qs);
    free(dbuf);
    free(ibuf);
    free(exact_q);
    return rc;
}

static void pca_free(knn_state *s)
{
    free(s->Pf);
    free(s->Xp);
    free(s->npx);
    free(s->pb);
    s->Pf = NULL;
    s->Xp = NULL;
    s->npx = NULL;
    s->pb = NULL;
    s->m = 0;
}

/* Builds the projection pass and keeps it when it pays on a sample of
 * training rows used as queries: the survivors of its bound each cost an
 * exact float64 distance, so it must prune all but a small share of pairs.
 * Per pair, the float32 pass costs about d/95 + 0.5 ns on two cores (GEMM,
 * scan); the projection pass m/95 + 0.5 ns plus 0.25 d ns per survivor
 * (its float32 distance is bound by memory traffic), as measured on
 * Fashion-MNIST, raw and standardized. It is kept when it promises to save
 * a quarter of the time.
 * Returns 1 (keep), 0 (dropped) or MP_ENOMEM. */
static int knn_try_pca(knn_state *s)
{
    size_t n = s->n, d = s->d, k = s->k;
    int rc = pca_build(s);
    if (rc <= 0) {
        pca_free(s);
        return rc;
    }
    size_t np = n < KNN_PCA_PROBES ? n : KNN_PCA_PROBES, kk = k < n ? k + 1 : k, evals = 0;
    double *Qs = malloc(np * d * sizeof *Qs);
    size_t *idx = malloc(np * kk * sizeof *idx);
    double *dist = malloc(np * kk * sizeof *dist);
    rc = MP_ENOMEM;
    if (Qs && idx && dist) {
        for (size_t i = 0; i < np; i++)
            memcpy(Qs + i * d, s->X + (i * (n / np) + n / np / 2) * d, d * sizeof *Qs);
        /* A probe finds itself too: ask for one more neighbour. */
        rc = search_pca(s, kk, Qs, np, idx, dist, &evals);
    }
    if (!rc) {
        double pass = (double)evals / ((double)np * (double)n);
        double plain = (double)d / 95 + 0.5;
        double proj = (double)s->m / 95 + 0.5 + pass * (double)d * 0.25;
        rc = proj < KNN_PCA_GAIN * plain;
    }
    free(Qs);
    free(idx);
    free(dist);
    if (rc <= 0)
        pca_free(s);
    return rc;
}

/* Neighbours of the nq rows of Q, ascending by (distance, index). */
static int knn_search(const knn_state *s, const double *Q, size_t nq, size_t *nidx,
                      double *ndist, mp_error *e)
{
    int rc = 0;
    if (s->m) {
        rc = search_pca(s, s->k, Q, nq, nidx, ndist, NULL);
    } else if (!s->tree && s->approx) {
        rc = search_approx(s, s->k, Q, nq, nidx, ndist);
    } else {
        double per_query = (double)s->d * (s->tree ? 64.0 * log2((double)s->n + 2) : (double)s->n);
        size_t nt = threads_for((double)nq * per_query);
        knn_job jobs[KNN_MAX_THREADS];
        for (size_t t = 0; t < nt; t++)
            jobs[t] = (knn_job){s, Q, nq * t / nt, nq * (t + 1) / nt, nidx, ndist, 0};
        run_jobs(jobs, sizeof jobs[0], nt, job_run);
        for (size_t t = 0; t < nt; t++)
            if (jobs[t].rc)
                rc = jobs[t].rc;
    }
    if (rc)
        return mp_error_set(e, rc, "knn: out of memory during search");
    return 0;
}

/* ---- prediction from neighbours ---- */

static int knn_predict(const void *state, const double *X, size_t n, size_t d, double *out,
                       mp_error *e)
{
    const knn_state *s = state;
    if (d != s->d)
        return mp_error_set(e, MP_EINVAL, "knn: predict got %zu features, the model has %zu", d,
                            s->d);
    for (size_t i = 0; i < n * d; i++)
        if (!isfinite(X[i]))
            return mp_error_set(e, MP_EINPUT, "knn: row %zu, feature %zu is not finite", i / d,
                                i % d);
    if (s->metric == MP_METRIC_COSINE)
        for (size_t i = 0; i < n; i++)
            if (!isfinite(mp_vec_norm(X + i * d, d)))
                return mp_error_set(e, MP_EINPUT, "knn: row %zu is too large for cosine distance",
                                    i);
    size_t k = s->k, chunk = KNN_SCRATCH / (k * 16);
    if (chunk > KNN_CHUNK)
        chunk = KNN_CHUNK;
    if (chunk > n)
        chunk = n;
    if (n == 0)
        return 0;
    if (chunk == 0)
        chunk = 1;
    size_t *nidx = malloc(chunk * k * sizeof *nidx);
    double *ndist = malloc(chunk * k * sizeof *ndist);
    double *w = malloc(k * sizeof *w);
    if (!nidx || !ndist || !w) {
        free(nidx);
        free(ndist);
        free(w);
        return mp_error_set(e, MP_ENOMEM, "knn: out of memory");
    }
    int rc = 0;
    for (size_t c0 = 0; c0 < n && !rc; c0 += chunk) {
        size_t m = n - c0 < chunk ? n - c0 : chunk;
        rc = knn_search(s, X + c0 * d, m, nidx, ndist, e);
        for (size_t i = 0; i < m && !rc; i++) {
            const size_t *ix = nidx + i * k;
            const double *dv = ndist + i * k;
            if (s->weights == W_DISTANCE) {
                /* As scikit-learn: weight 1/dist, and when any weight is
                 * infinite (a zero distance) only those neighbours count. */
                int inf = 0;
                for (size_t t = 0; t < k; t++) {
                    double dist = s->metric == MP_METRIC_EUCLIDEAN ? sqrt(dv[t]) : dv[t];
                    w[t] = 1.0 / dist;
                    if (isinf(w[t]))
                        inf = 1;
                }
                if (inf)
                    for (size_t t = 0; t < k; t++)
                        w[t] = isinf(w[t]) ? 1.0 : 0.0;
            } else {
                for (size_t t = 0; t < k; t++)
                    w[t] = 1.0;
            }
            if (s->task == MP_TASK_CLASSIFY) {
                double *p = out + (c0 + i) * s->nclasses;
                memset(p, 0, s->nclasses * sizeof *p);
                for (size_t t = 0; t < k; t++)
                    p[(size_t)s->y[ix[t]]] += w[t];
                double sum = 0;
                for (size_t c = 0; c < s->nclasses; c++)
                    sum += p[c];
                if (sum == 0)
                    sum = 1;
                for (size_t c = 0; c < s->nclasses; c++)
                    p[c] /= sum;
            } else if (s->weights == W_UNIFORM) {
                double sum = 0;
                for (size_t t = 0; t < k; t++)
                    sum += s->y[ix[t]];
                out[c0 + i] = sum / (double)k;
            } else {
                double num = 0, den = 0;
                for (size_t t = 0; t < k; t++) {
                    num += s->y[ix[t]] * w[t];
                    den += w[t];
                }
                out[c0 + i] = num / den;
            }
        }
    }
    free(nidx);
    free(ndist);
    free(w);
    return rc;
}

/* ---- fit, save, load ---- */

static int check_targets(const double *y, size_t n, mp_task task, size_t nclasses,
                         int code, const char *where, mp_error *e)
{
    for (size_t i = 0; i < n; i++) {
        if (task == MP_TASK_CLASSIFY) {
            if (!(y[i] >= 0 && y[i] < (double)nclasses && y[i] == floor(y[i])))
                return mp_error_set(e, code, "%s: target %zu (%g) is not a class index below %zu",
                                    where, i, y[i], nclasses);
        } else if (!isfinite(y[i])) {
            return mp_error_set(e, code, "%s: target %zu is not finite", where, i);
        }
    }
    return 0;
}

static int knn_check_combo(int metric, int algorithm, int code, mp_error *e)
{
    if (metric == MP_METRIC_COSINE && algorithm == A_KDTREE)
        return mp_error_set(e, code, "knn: algorithm=kd_tree does not support metric=cosine "
                                     "(use brute or auto)");
    return 0;
}

static int knn_fit(const mp_fit_input *in, mp_params *p, void **state, mp_error *e)
{
    *state = NULL;
    if (in->task != MP_TASK_CLASSIFY && in->task != MP_TASK_REGRESS)
        return mp_error_set(e, MP_EINVAL, "knn: unknown task %d", (int)in->task);
    if (in->n == 0 || in->d == 0)
        return mp_error_set(e, MP_EINPUT, "knn: no training data (%zu rows, %zu features)",
                            in->n, in->d);
    if (in->task == MP_TASK_CLASSIFY && in->nclasses == 0)
        return mp_error_set(e, MP_EINPUT, "knn: classification with no classes");
    long k;
    int weights, metric, algorithm;
    int rc = mp_param_int(p, "k", 5, 1, LONG_MAX, &k, e);
    if (!rc)
        rc = mp_param_choice(p, "weights", weight_names, W_UNIFORM, &weights, e);
    if (!rc)
        rc = mp_param_choice(p, "metric", metric_names, MP_METRIC_EUCLIDEAN, &metric, e);
    if (!rc)
        rc = mp_param_choice(p, "algorithm", algorithm_names, A_AUTO, &algorithm, e);
    if (!rc)
        rc = knn_check_combo(metric, algorithm, MP_EINVAL, e);
    if (rc)
        return rc;
    if ((size_t)k > in->n)
        return mp_error_set(e, MP_EINVAL,
                            "parameter k=%ld: must be at most the number of training rows (%zu)",
                            k, in->n);
    if (in->n > SIZE_MAX / in->d / sizeof(double))
        return mp_error_set(e, MP_ENOMEM, "knn: training matrix too large");
    for (size_t i = 0; i < in->n * in->d; i++)
        if (!isfinite(in->X[i]))
            return mp_error_set(e, MP_EINPUT, "knn: training row %zu, feature %zu is not finite",
                                i / in->d, i % in->d);
    rc = check_targets(in->y, in->n, in->task, in->nclasses, MP_EINPUT, "knn", e);
    if (rc)
        return rc;

    knn_state *s = calloc(1, sizeof *s);
    if (!s)
        return mp_error_set(e, MP_ENOMEM, "knn: out of memory");
    *s = (knn_state){.task = in->task, .n = in->n, .d = in->d,
                     .nclasses = in->task == MP_TASK_CLASSIFY ? in->nclasses : 0,
                     .k = (size_t)k, .weights = weights, .metric = metric,
                     .algorithm = algorithm};
    s->X = big_alloc(in->n * in->d * sizeof *s->X);
    s->y = malloc(in->n * sizeof *s->y);
    if (!s->X || !s->y) {
        knn_destroy(s);
        return mp_error_set(e, MP_ENOMEM, "knn: out of memory");
    }
    memcpy(s->y, in->y, in->n * sizeof *s->y);
    rc = knn_prepare(s, in->X, MP_EINPUT, e);
    if (rc) {
        knn_destroy(s);
        return rc;
    }
    *state = s;
    return 0;
}

static int knn_describe(const void *state, mp_tensors *b, mp_error *e)
{
    const knn_state *s = state;
    mp_buf j = {0};
    mp_buf_printf(&j, "{\"k\":%zu,\"weights\":\"%s\",\"metric\":\"%s\",\"algorithm\":\"%s\"}",
                  s->k, weight_names[s->weights], metric_names[s->metric],
                  algorithm_names[s->algorithm]);
    if (j.oom || mp_tensors_set_meta(b, "params", j.data)) {
        mp_buf_free(&j);
        return mp_error_set(e, MP_ENOMEM, "knn: out of memory");
    }
    mp_buf_free(&j);
    return 0;
}

static int knn_save(const void *state, mp_tensors *b, mp_error *e)
{
    const knn_state *s = state;
    int64_t shx[2] = {(int64_t)s->n, (int64_t)s->d}, shy[1] = {(int64_t)s->n};
    int rc = mp_tensors_add(b, "knn.X", MP_DT_F64, 2, shx, s->X, e);
    if (!rc)
        rc = mp_tensors_add(b, "knn.y", MP_DT_F64, 1, shy, s->y, e);
    return rc ? rc : knn_describe(state, b, e);
}

static int json_choice(json_t *obj, const char *key, const char *const *names, int *out,
                       mp_error *e)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        return mp_error_set(e, MP_EFORMAT, "knn model: params.%s is missing or not a string",
                            key);
    for (int i = 0; names[i]; i++) {
        if (!strcmp(names[i], json_string_value(v))) {
            *out = i;
            return 0;
        }
    }
    return mp_error_set(e, MP_EFORMAT, "knn model: params.%s=\"%s\" is not known", key,
                        json_string_value(v));
}

static int knn_load(const mp_tensors *b, mp_task task, size_t d, size_t nclasses, void **state,
                    mp_error *e)
{
    *state = NULL;
    if (task != MP_TASK_CLASSIFY && task != MP_TASK_REGRESS)
        return mp_error_set(e, MP_EFORMAT, "knn model: unknown task %d", (int)task);
    if (d == 0 || (task == MP_TASK_CLASSIFY && nclasses == 0))
        return mp_error_set(e, MP_EFORMAT, "knn model: %zu features, %zu classes", d, nclasses);
    const mp_tensor *tx, *ty;
    int64_t shx[2] = {-1, (int64_t)d};
    int rc = mp_tensors_expect(b, "knn.X", MP_DT_F64, 2, shx, &tx, e);
    if (rc)
        return rc;
    if (tx->shape[0] < 1)
        return mp_error_set(e, MP_EFORMAT, "knn model: tensor knn.X has no rows");
    size_t n = (size_t)tx->shape[0];
    int64_t shy[1] = {(int64_t)n};
    rc = mp_tensors_expect(b, "knn.y", MP_DT_F64, 1, shy, &ty, e);
    if (rc)
        return rc;
    const double *X = tx->data, *y = ty->data;
    for (size_t i = 0; i < n * d; i++)
        if (!isfinite(X[i]))
            return mp_error_set(e, MP_EFORMAT, "knn model: knn.X holds a non-finite value");
    rc = check_targets(y, n, task, nclasses, MP_EFORMAT, "knn model: knn.y", e);
    if (rc)
        return rc;

    const char *pj = mp_tensors_meta(b, "params");
    if (!pj)
        return mp_error_set(e, MP_EFORMAT, "knn model: metadata \"params\" is missing");
    json_error_t je;
    json_t *obj = json_loads(pj, 0, &je);
    if (!json_is_object(obj)) {
        json_decref(obj);
        return mp_error_set(e, MP_EFORMAT, "knn model: metadata \"params\" is not a JSON object");
    }
    int weights = 0, metric = 0, algorithm = 0;
    json_t *jk = json_object_get(obj, "k");
    json_int_t k = json_is_integer(jk) ? json_integer_value(jk) : 0;
    if (!json_is_integer(jk) || k < 1 || (uint64_t)k > n)
        rc = mp_error_set(e, MP_EFORMAT, "knn model: params.k must be an integer in 1..%zu", n);
    if (!rc)
        rc = json_choice(obj, "weights", weight_names, &weights, e);
    if (!rc)
        rc = json_choice(obj, "metric", metric_names, &metric, e);
    if (!rc)
        rc = json_choice(obj, "algorithm", algorithm_names, &algorithm, e);
    if (!rc && json_object_size(obj) != 4)
        rc = mp_error_set(e, MP_EFORMAT, "knn model: params has unknown keys");
    json_decref(obj);
    if (!rc)
        rc = knn_check_combo(metric, algorithm, MP_EFORMAT, e);
    if (rc)
        return rc;

    knn_state *s = calloc(1, sizeof *s);
    if (!s)
        return mp_error_set(e, MP_ENOMEM, "knn: out of memory");
    *s = (knn_state){.task = task, .n = n, .d = d,
                     .nclasses = task == MP_TASK_CLASSIFY ? nclasses : 0, .k = (size_t)k,
                     .weights = weights, .metric = metric, .algorithm = algorithm};
    s->X = big_alloc(n * d * sizeof *s->X);
    s->y = malloc(n * sizeof *s->y);
    if (!s->X || !s->y) {
        knn_destroy(s);
        return mp_error_set(e, MP_ENOMEM, "knn: out of memory");
    }
    memcpy(s->y, y, n * sizeof *s->y);
    rc = knn_prepare(s, X, MP_EFORMAT, e);
    if (rc) {
        knn_destroy(s);
        return rc;
    }
    *state = s;
    return 0;
}

const mp_algo mp_algo_knn = {
    .name = "knn",
    .tasks = MP_TASK_CLASSIFY | MP_TASK_REGRESS,
    .raw_categories = 0,
    .params = knn_params,
    .fit = knn_fit,
    .predict = knn_predict,
    .save = knn_save,
    .describe = knn_describe,
    .load = knn_load,
    .destroy = knn_destroy,
};
