#include "ml/kdtree.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The distance functions use eight interleaved partial sums: independent
 * chains the compiler keeps in vector registers, in a fixed order, so a
 * value never depends on the caller. The box lower bound below mirrors this
 * order term by term; because rounding is monotone, a bound built from
 * smaller terms in the same order can never exceed the computed distance of
 * any point inside the box, which keeps tree pruning exact. */
#define LANES 8
/* Eight accumulators s0..s7 fed with TERM(i) for lanes i..i+7, then the
 * tail into s0, then a fixed pairwise fold. */
#define LANE_SUM(TERM)                                                                     \
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;                \
    size_t i = 0;                                                                          \
    for (; i + LANES <= d; i += LANES) {                                                   \
        s0 += TERM(i);                                                                     \
        s1 += TERM(i + 1);                                                                 \
        s2 += TERM(i + 2);                                                                 \
        s3 += TERM(i + 3);                                                                 \
        s4 += TERM(i + 4);                                                                 \
        s5 += TERM(i + 5);                                                                 \
        s6 += TERM(i + 6);                                                                 \
        s7 += TERM(i + 7);                                                                 \
    }                                                                                      \
    for (; i < d; i++)                                                                     \
        s0 += TERM(i);                                                                     \
    return (((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7)));

static inline double sq_term(const double *a, const double *b, size_t i)
{
    double t = a[i] - b[i];
    return t * t;
}

double mp_dist_sqeuclidean(const double *a, const double *b, size_t d)
{
#define TERM(j) sq_term(a, b, j)
    LANE_SUM(TERM)
#undef TERM
}

double mp_dist_manhattan(const double *a, const double *b, size_t d)
{
#define TERM(j) fabs(a[j] - b[j])
    LANE_SUM(TERM)
#undef TERM
}

static double dot(const double *a, const double *b, size_t d)
{
#define TERM(j) (a[j] * b[j])
    LANE_SUM(TERM)
#undef TERM
}

double mp_vec_norm(const double *a, size_t d) { return sqrt(dot(a, a, d)); }

double mp_dist_cosine(const double *a, double norm_a, const double *b, double norm_b, size_t d)
{
    if (norm_a == 0 || norm_b == 0)
        return 1.0;
    double c = 1.0 - dot(a, b, d) / norm_a / norm_b;
    return c < 0 ? 0 : c > 2 ? 2 : c;
}

/* ---- bounded heap ---- */

static int worse(double da, size_t ia, double db, size_t ib)
{
    return da > db || (da == db && ia > ib);
}

void mp_knn_heap_push(mp_knn_heap *h, double d, size_t i)
{
    size_t pos;
    if (h->n < h->k) {
        pos = h->n++;
        while (pos > 0) {
            size_t up = (pos - 1) / 2;
            if (!worse(d, i, h->dist[up], h->idx[up]))
                break;
            h->dist[pos] = h->dist[up];
            h->idx[pos] = h->idx[up];
            pos = up;
        }
    } else {
        pos = 0;
        for (;;) {
            size_t c = 2 * pos + 1;
            if (c >= h->n)
                break;
            if (c + 1 < h->n && worse(h->dist[c + 1], h->idx[c + 1], h->dist[c], h->idx[c]))
                c++;
            if (!worse(h->dist[c], h->idx[c], d, i))
                break;
            h->dist[pos] = h->dist[c];
            h->idx[pos] = h->idx[c];
            pos = c;
        }
    }
    h->dist[pos] = d;
    h->idx[pos] = i;
}

void mp_knn_heap_sort(mp_knn_heap *h)
{
    size_t n = h->n;
    while (h->n > 1) {
        size_t last = h->n - 1;
        double d = h->dist[last];
        size_t i = h->idx[last];
        double dtop = h->dist[0];
        size_t itop = h->idx[0];
        h->n = last;
        /* Re-inserting the last element at the root: a sift-down of (d, i)
         * over the shrunk heap. */
        size_t pos = 0;
        for (;;) {
            size_t c = 2 * pos + 1;
            if (c >= h->n)
                break;
            if (c + 1 < h->n && worse(h->dist[c + 1], h->idx[c + 1], h->dist[c], h->idx[c]))
                c++;
            if (!worse(h->dist[c], h->idx[c], d, i))
                break;
            h->dist[pos] = h->dist[c];
            h->idx[pos] = h->idx[c];
            pos = c;
        }
        h->dist[pos] = d;
        h->idx[pos] = i;
        h->dist[last] = dtop;
        h->idx[last] = itop;
    }
    h->n = n;
}

/* ---- tree ---- */

typedef struct kd_node {
    size_t start, end;  /* rows [start, end) of the permuted matrix */
    size_t left, right; /* child node indexes; 0 for a leaf (0 is the root) */
} kd_node;

struct mp_kdtree {
    size_t n, d;
    size_t nnodes, cap;
    kd_node *nodes;
    double *bounds; /* per node: d lower bounds then d upper bounds */
    double *Xp;     /* rows in tree order */
    size_t *perm;   /* Xp row r is row perm[r] of the original matrix */
};

static int add_node(mp_kdtree *t, size_t start, size_t end, size_t *out)
{
    if (t->nnodes == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        kd_node *nn = realloc(t->nodes, cap * sizeof *nn);
        if (!nn)
            return MP_ENOMEM;
        t->nodes = nn;
        double *bb = realloc(t->bounds, cap * 2 * t->d * sizeof *bb);
        if (!bb)
            return MP_ENOMEM;
        t->bounds = bb;
        t->cap = cap;
    }
    size_t i = t->nnodes++;
    t->nodes[i] = (kd_node){start, end, 0, 0};
    double *lo = t->bounds + i * 2 * t->d, *hi = lo + t->d;
    for (size_t j = 0; j < t->d; j++) {
        lo[j] = INFINITY;
        hi[j] = -INFINITY;
    }
    for (size_t r = start; r < end; r++) {
        const double *x = t->Xp + r * t->d;
        for (size_t j = 0; j < t->d; j++) {
            if (x[j] < lo[j])
                lo[j] = x[j];
            if (x[j] > hi[j])
                hi[j] = x[j];
        }
    }
    *out = i;
    return 0;
}

static void swap_rows(mp_kdtree *t, size_t a, size_t b, double *tmp)
{
    size_t d = t->d;
    memcpy(tmp, t->Xp + a * d, d * sizeof *tmp);
    memcpy(t->Xp + a * d, t->Xp + b * d, d * sizeof *tmp);
    memcpy(t->Xp + b * d, tmp, d * sizeof *tmp);
    size_t p = t->perm[a];
    t->perm[a] = t->perm[b];
    t->perm[b] = p;
}

/* Reorders rows [lo, hi) so that row m holds the value it would have in
 * sorted order along dimension j, with no larger value before it and no
 * smaller one after (Hoare quickselect, median-of-three pivot). */
static void select_rows(mp_kdtree *t, size_t lo, size_t hi, size_t m, size_t j, double *tmp)
{
    size_t d = t->d;
#define V(r) (t->Xp[(r) * d + j])
    while (hi - lo > 8) {
        size_t a = lo, b = lo + (hi - lo) / 2, c = hi - 1;
        double va = V(a), vb = V(b), vc = V(c);
        double pivot = va < vb ? (vb < vc ? vb : (va < vc ? vc : va))
                               : (va < vc ? va : (vb < vc ? vc : vb));
        size_t i = lo, k = hi - 1;
        for (;;) {
            while (V(i) < pivot)
                i++;
            while (V(k) > pivot)
                k--;
            if (i >= k)
                break;
            swap_rows(t, i, k, tmp);
            i++;
            k--;
        }
        /* Now rows [lo, k] are <= pivot and rows (k, hi) are >= pivot. */
        /* With three distinct sample positions the pivot is never the
         * strict maximum of the range, so k < hi - 1 and both sides shrink. */
        if (m <= k)
            hi = k + 1;
        else
            lo = k + 1;
    }
    for (size_t i = lo + 1; i < hi; i++)
        for (size_t r = i; r > lo && V(r - 1) > V(r); r--)
            swap_rows(t, r - 1, r, tmp);
#undef V
}

static int build(mp_kdtree *t, size_t node, size_t leaf_size, double *tmp)
{
    size_t start = t->nodes[node].start, end = t->nodes[node].end;
    if (end - start <= leaf_size)
        return 0;
    const double *lo = t->bounds + node * 2 * t->d, *hi = lo + t->d;
    size_t split = 0;
    double spread = -1;
    for (size_t j = 0; j < t->d; j++) {
        if (hi[j] - lo[j] > spread) {
            spread = hi[j] - lo[j];
            split = j;
        }
    }
    if (!(spread > 0))
        return 0; /* all rows identical: nothing to split */
    size_t mid = start + (end - start) / 2;
    select_rows(t, start, end, mid, split, tmp);
    size_t l, r;
    int rc = add_node(t, start, mid, &l);
    if (!rc)
        rc = add_node(t, mid, end, &r);
    if (rc)
        return rc;
    t->nodes[node].left = l;
    t->nodes[node].right = r;
    rc = build(t, l, leaf_size, tmp);
    return rc ? rc : build(t, r, leaf_size, tmp);
}

int mp_kdtree_build(const double *X, size_t n, size_t d, size_t leaf_size, mp_kdtree **out,
                    mp_error *e)
{
    *out = NULL;
    if (n == 0 || d == 0)
        return mp_error_set(e, MP_EINVAL, "kd-tree: empty matrix (%zu x %zu)", n, d);
    if (n > SIZE_MAX / d / sizeof(double))
        return mp_error_set(e, MP_ENOMEM, "kd-tree: matrix too large");
    if (leaf_size == 0)
        leaf_size = 32;
    mp_kdtree *t = calloc(1, sizeof *t);
    double *tmp = malloc(d * sizeof *tmp);
    if (!t || !tmp)
        goto oom;
    t->n = n;
    t->d = d;
    t->Xp = malloc(n * d * sizeof *t->Xp);
    t->perm = malloc(n * sizeof *t->perm);
    if (!t->Xp || !t->perm)
        goto oom;
    memcpy(t->Xp, X, n * d * sizeof *t->Xp);
    for (size_t i = 0; i < n; i++)
        t->perm[i] = i;
    size_t root;
    if (add_node(t, 0, n, &root) || build(t, root, leaf_size, tmp))
        goto oom;
    free(tmp);
    *out = t;
    return 0;
oom:
    free(tmp);
    mp_kdtree_free(t);
    return mp_error_set(e, MP_ENOMEM, "kd-tree: out of memory (%zu x %zu)", n, d);
}

typedef struct kd_query {
    const mp_kdtree *t;
    mp_metric metric;
    const double *q;
    mp_knn_heap heap;
    size_t visited;
} kd_query;

/* The smallest distance any point in node i can have to q, summed in the
 * same order as the distance functions (see the note at the top). */
static double box_bound(const kd_query *c, size_t i)
{
    size_t d = c->t->d;
    const double *lo = c->t->bounds + i * 2 * d, *hi = lo + d, *q = c->q;
    double s[LANES] = {0};
    int sq = c->metric == MP_METRIC_EUCLIDEAN;
    size_t full = d / LANES * LANES;
    for (size_t j = 0; j < d; j++) {
        double g = q[j] < lo[j] ? lo[j] - q[j] : q[j] > hi[j] ? q[j] - hi[j] : 0.0;
        s[j < full ? j % LANES : 0] += sq ? g * g : g;
    }
    return (((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])));
}

static void visit(kd_query *c, size_t i, double bound)
{
    mp_knn_heap *h = &c->heap;
    /* Equal is not enough to prune: a point at exactly the worst distance
     * with a lower index would still enter. */
    if (h->n == h->k && bound > h->dist[0])
        return;
    const mp_kdtree *t = c->t;
    const kd_node *nd = &t->nodes[i];
    if (!nd->left) {
        c->visited += nd->end - nd->start;
        for (size_t r = nd->start; r < nd->end; r++) {
            const double *x = t->Xp + r * t->d;
            double dist = c->metric == MP_METRIC_EUCLIDEAN ? mp_dist_sqeuclidean(c->q, x, t->d)
                                                           : mp_dist_manhattan(c->q, x, t->d);
            if (mp_knn_heap_accepts(h, dist, t->perm[r]))
                mp_knn_heap_push(h, dist, t->perm[r]);
        }
        return;
    }
    double bl = box_bound(c, nd->left), br = box_bound(c, nd->right);
    if (bl <= br) {
        visit(c, nd->left, bl);
        visit(c, nd->right, br);
    } else {
        visit(c, nd->right, br);
        visit(c, nd->left, bl);
    }
}

size_t mp_kdtree_query(const mp_kdtree *t, mp_metric metric, const double *q, size_t k,
                       size_t *idx, double *dist)
{
    kd_query c = {t, metric, q, {k, 0, dist, idx}, 0};
    visit(&c, 0, box_bound(&c, 0));
    mp_knn_heap_sort(&c.heap);
    return c.visited;
}

void mp_kdtree_free(mp_kdtree *t)
{
    if (!t)
        return;
    free(t->nodes);
    free(t->bounds);
    free(t->Xp);
    free(t->perm);
    free(t);
}
