/* Exact nearest-neighbour search: the distance functions KNN ranks by, and a
 * k-d tree over the rows of a matrix for euclidean and manhattan distance.
 *
 * Results are exact and deterministic: neighbours are ordered by (distance,
 * training index), so equal distances keep the lower index first. The
 * brute-force search in knn.c ranks by the same functions, which is what
 * makes the tree and brute force return identical neighbours, ties
 * included.
 *
 * Ownership: a tree keeps its own permuted copy of the rows, so the matrix
 * it was built from may be freed. A built tree is immutable; any number of
 * threads may query it at once (each query uses only caller memory). */
#ifndef MP_ML_KDTREE_H
#define MP_ML_KDTREE_H

#include <stddef.h>

#include "core/error.h"

typedef enum { MP_METRIC_EUCLIDEAN = 0, MP_METRIC_MANHATTAN = 1, MP_METRIC_COSINE = 2 } mp_metric;

/* The ranking distance of two d-vectors: the squared euclidean distance
 * (sqrt is applied only for reporting), the manhattan distance. Both sum
 * in a fixed order (eight interleaved partial sums), so every caller gets
 * bit-identical values. */
double mp_dist_sqeuclidean(const double *a, const double *b, size_t d);
double mp_dist_manhattan(const double *a, const double *b, size_t d);
/* 1 - a.b / (|a| |b|) clipped to [0, 2], given |a| and |b| (a zero vector
 * has distance 1 to everything, as in scikit-learn). */
double mp_dist_cosine(const double *a, double norm_a, const double *b, double norm_b, size_t d);
/* The euclidean norm with the same fixed summation order. */
double mp_vec_norm(const double *a, size_t d);

/* A bounded "k best so far" set ordered by (dist, index): a max-heap whose
 * root is the current worst member. Caller provides the arrays (k entries). */
typedef struct mp_knn_heap {
    size_t k, n;
    double *dist;
    size_t *idx;
} mp_knn_heap;

/* Nonzero when (d, i) would enter the heap. */
static inline int mp_knn_heap_accepts(const mp_knn_heap *h, double d, size_t i)
{
    return h->n < h->k || d < h->dist[0] || (d == h->dist[0] && i < h->idx[0]);
}
void mp_knn_heap_push(mp_knn_heap *h, double d, size_t i);
/* Sorts the members ascending by (dist, index) in place; the heap is then
 * no longer a heap (reset n to reuse it). */
void mp_knn_heap_sort(mp_knn_heap *h);

typedef struct mp_kdtree mp_kdtree;

/* Builds a tree over the n rows of the row-major n*d matrix X (n, d >= 1),
 * with at most leaf_size rows per leaf (0 picks a default). */
int mp_kdtree_build(const double *X, size_t n, size_t d, size_t leaf_size, mp_kdtree **out,
                    mp_error *e);
/* The k (1 <= k <= n) nearest rows to q under metric (euclidean or
 * manhattan), ascending by (distance, index). idx receives row indexes of
 * the original matrix, dist the ranking distance (squared for euclidean).
 * Returns how many rows it measured (a cost estimate for callers). */
size_t mp_kdtree_query(const mp_kdtree *t, mp_metric metric, const double *q, size_t k,
                       size_t *idx, double *dist);
void mp_kdtree_free(mp_kdtree *t);

#endif
