/* KNN: hand-computed neighbours, scikit-learn's weighting rules, exactness
 * of brute force and the k-d tree against a plain sort, parameter checks,
 * save/load and rejection of inconsistent model tensors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "ml/algo.h"
#include "test.h"

/* Fits with "name=value" parameters (NULL-terminated); returns the code. */
static int fit_with(mp_task task, const double *X, size_t n, size_t d, const double *y,
                    size_t nclasses, const char *const *params, void **state, mp_error *e)
{
    mp_params p = {0};
    for (int i = 0; params && params[i]; i++)
        if (mp_params_add(&p, params[i], e))
            return -100;
    mp_fit_input in = {.task = task, .X = X, .n = n, .d = d, .y = y, .nclasses = nclasses, .seed = 1};
    int rc = mp_algo_knn.fit(&in, &p, state, e);
    if (!rc) {
        rc = mp_params_check_unused(&p, mp_algo_knn.name, mp_algo_knn.params, e);
        if (rc) {
            mp_algo_knn.destroy(*state);
            *state = NULL;
        }
    }
    mp_params_free(&p);
    return rc;
}

static const double X1[] = {0, 1, 3, 6, 10};
static const double Y1c[] = {0, 0, 1, 1, 1};
static const double Y1r[] = {1, 2, 4, 8, 16};

static void test_1d_classify_uniform_and_distance(void)
{
    void *s = NULL;
    mp_error e = {0};
    const char *pu[] = {"k=3", NULL};
    REQUIRE(fit_with(MP_TASK_CLASSIFY, X1, 5, 1, Y1c, 2, pu, &s, &e) == 0);
    /* From 2: distances 2, 1, 1, 4, 8 -> rows 1, 2 (tie, by index), then 0. */
    double q[] = {2}, out[2];
    REQUIRE(mp_algo_knn.predict(s, q, 1, 1, out, &e) == 0);
    CHECK_NEAR(out[0], 2.0 / 3, 1e-15);
    CHECK_NEAR(out[1], 1.0 / 3, 1e-15);
    mp_algo_knn.destroy(s);

    const char *pd[] = {"k=3", "weights=distance", NULL};
    REQUIRE(fit_with(MP_TASK_CLASSIFY, X1, 5, 1, Y1c, 2, pd, &s, &e) == 0);
    /* Weights 1/1, 1/1, 1/2: class 0 gets 1 + 0.5, class 1 gets 1. */
    REQUIRE(mp_algo_knn.predict(s, q, 1, 1, out, &e) == 0);
    CHECK_NEAR(out[0], 0.6, 1e-15);
    CHECK_NEAR(out[1], 0.4, 1e-15);
    /* From 3, an exact match of row 2: only the zero distance counts. */
    q[0] = 3;
    REQUIRE(mp_algo_knn.predict(s, q, 1, 1, out, &e) == 0);
    CHECK(out[0] == 0.0 && out[1] == 1.0);
    mp_algo_knn.destroy(s);
}

static void test_zero_distance_duplicates(void)
{
    /* Two training rows at the query itself, of different classes, and a
     * third that would otherwise carry weight. */
    const double X[] = {5, 5, 5.5};
    const double y[] = {0, 1, 1};
    const char *pd[] = {"k=3", "weights=distance", NULL};
    void *s = NULL;
    mp_error e = {0};
    REQUIRE(fit_with(MP_TASK_CLASSIFY, X, 3, 1, y, 2, pd, &s, &e) == 0);
    double q[] = {5, 5.25}, out[4];
    REQUIRE(mp_algo_knn.predict(s, q, 2, 1, out, &e) == 0);
    CHECK(out[0] == 0.5 && out[1] == 0.5);
    /* From 5.25: distances .25, .25, .25 -> equal weights, 1/3 vs 2/3. */
    CHECK_NEAR(out[2], 1.0 / 3, 1e-15);
    CHECK_NEAR(out[3], 2.0 / 3, 1e-15);
    mp_algo_knn.destroy(s);
}

static void test_ties_by_index_both_algorithms(void)
{
    const double X[] = {0, 2, 4};
    const double y[] = {0, 1, 2};
    const char *algs[] = {"algorithm=brute", "algorithm=kd_tree"};
    for (int a = 0; a < 2; a++) {
        const char *p[] = {"k=1", algs[a], NULL};
        void *s = NULL;
        mp_error e = {0};
        REQUIRE(fit_with(MP_TASK_CLASSIFY, X, 3, 1, y, 3, p, &s, &e) == 0);
        double q[] = {1, 3}, out[6];
        REQUIRE(mp_algo_knn.predict(s, q, 2, 1, out, &e) == 0);
        CHECK(out[0] == 1 && out[1] == 0 && out[2] == 0); /* rows 0, 1 tie: row 0 */
        CHECK(out[3] == 0 && out[4] == 1 && out[5] == 0); /* rows 1, 2 tie: row 1 */
        mp_algo_knn.destroy(s);
    }
}

static void test_regression_mean_and_weighted(void)
{
    void *s = NULL;
    mp_error e = {0};
    const char *pu[] = {"k=2", NULL};
    REQUIRE(fit_with(MP_TASK_REGRESS, X1, 5, 1, Y1r, 0, pu, &s, &e) == 0);
    double q[] = {2.4, 100}, out[2];
    REQUIRE(mp_algo_knn.predict(s, q, 2, 1, out, &e) == 0);
    CHECK_NEAR(out[0], 3.0, 1e-15); /* rows 2 (0.6) and 1 (1.4): (4 + 2) / 2 */
    CHECK_NEAR(out[1], 12.0, 1e-15); /* rows 4 and 3 */
    mp_algo_knn.destroy(s);

    const char *pd[] = {"k=2", "weights=distance", NULL};
    REQUIRE(fit_with(MP_TASK_REGRESS, X1, 5, 1, Y1r, 0, pd, &s, &e) == 0);
    REQUIRE(mp_algo_knn.predict(s, q, 1, 1, out, &e) == 0);
    double w2 = 1 / 0.6, w1 = 1 / 1.4;
    CHECK_NEAR(out[0], (4 * w2 + 2 * w1) / (w2 + w1), 1e-12);
    mp_algo_knn.destroy(s);
}

static void test_manhattan_and_cosine(void)
{
    /* From the origin: A=(2,0) has L2 2 and L1 2; B=(1.2,1.2) has L2 1.70
     * and L1 2.4. Cosine from (1,0): C=(10,1) is nearly parallel, B is at
     * 45 degrees. */
    const double X[] = {2, 0, 1.2, 1.2, 10, 1};
    const double y[] = {0, 1, 2};
    const char *metrics[] = {"metric=euclidean", "metric=manhattan", "metric=cosine"};
    for (int m = 0; m < 3; m++) {
        const char *p[] = {"k=1", metrics[m], NULL};
        void *s = NULL;
        mp_error e = {0};
        REQUIRE(fit_with(MP_TASK_CLASSIFY, X, 3, 2, y, 3, p, &s, &e) == 0);
        double q[] = {0, 0, 1, 0}, out[6];
        REQUIRE(mp_algo_knn.predict(s, q, 2, 2, out, &e) == 0);
        if (m == 0) {
            CHECK(out[1] == 1); /* B by L2 */
        } else if (m == 1) {
            CHECK(out[0] == 1); /* A by L1 */
        } else {
            /* Cosine from the zero vector is 1 to everything: row 0 by index.
             * From (1,0): A=(2,0) is parallel (distance 0). */
            CHECK(out[0] == 1);
            CHECK(out[3] == 1);
        }
        mp_algo_knn.destroy(s);
    }
    /* Cosine distances with distance weights: from (1,1), A at 45 degrees
     * (1 - 1/sqrt2), C=(10,1) at 1 - 11/(sqrt2 sqrt101). */
    const char *p[] = {"k=2", "metric=cosine", "weights=distance", NULL};
    const double Xc[] = {2, 0, 10, 1, -1, -1};
    const double yc[] = {0, 1, 0};
    void *s = NULL;
    mp_error e = {0};
    REQUIRE(fit_with(MP_TASK_CLASSIFY, Xc, 3, 2, yc, 2, p, &s, &e) == 0);
    double q[] = {1, 1}, out[2];
    REQUIRE(mp_algo_knn.predict(s, q, 1, 2, out, &e) == 0);
    double da = 1 - 1 / sqrt(2.0), dc = 1 - 11 / (sqrt(2.0) * sqrt(101.0));
    CHECK_NEAR(out[0], (1 / da) / (1 / da + 1 / dc), 1e-12);
    CHECK_NEAR(out[1], (1 / dc) / (1 / da + 1 / dc), 1e-12);
    mp_algo_knn.destroy(s);
}

/* ---- exactness against a plain sort ---- */

typedef struct {
    double d;
    size_t i;
} pair;

static int pair_cmp(const void *a, const void *b)
{
    const pair *x = a, *y = b;
    if (x->d != y->d)
        return x->d < y->d ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static double ref_dist(int metric, const double *a, const double *b, size_t d)
{
    double s = 0, na = 0, nb = 0;
    for (size_t t = 0; t < d; t++) {
        if (metric == 0)
            s += (a[t] - b[t]) * (a[t] - b[t]);
        else if (metric == 1)
            s += fabs(a[t] - b[t]);
        else {
            s += a[t] * b[t];
            na += a[t] * a[t];
            nb += b[t] * b[t];
        }
    }
    if (metric == 2) {
        double c = na == 0 || nb == 0 ? 1 : 1 - s / sqrt(na) / sqrt(nb);
        return c < 0 ? 0 : c > 2 ? 2 : c;
    }
    return s;
}

/* Checks that with one class per training row (so the probabilities name
 * the neighbours), every query's neighbour set is the reference top k. */
static int check_against_reference(const char *const *params, int metric, const double *X,
                                   size_t n, size_t d, const double *Q, size_t nq, size_t k)
{
    double *y = malloc(n * sizeof *y);
    double *out = malloc(nq * n * sizeof *out);
    pair *pr = malloc(n * sizeof *pr);
    int bad = 0;
    if (!y || !out || !pr) {
        bad = 1;
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        y[i] = (double)i;
    void *s = NULL;
    mp_error e = {0};
    if (fit_with(MP_TASK_CLASSIFY, X, n, d, y, n, params, &s, &e) ||
        mp_algo_knn.predict(s, Q, nq, d, out, &e)) {
        fprintf(stderr, "fit/predict failed: %s\n", e.msg);
        mp_algo_knn.destroy(s);
        bad = 1;
        goto done;
    }
    mp_algo_knn.destroy(s);
    for (size_t q = 0; q < nq && !bad; q++) {
        for (size_t j = 0; j < n; j++)
            pr[j] = (pair){ref_dist(metric, Q + q * d, X + j * d, d), j};
        qsort(pr, n, sizeof *pr, pair_cmp);
        size_t got = 0;
        for (size_t j = 0; j < n; j++)
            got += out[q * n + j] != 0;
        if (got != k)
            bad = 1;
        for (size_t t = 0; t < k; t++)
            if (out[q * n + pr[t].i] != 1.0 / (double)k)
                bad = 1;
        if (bad)
            fprintf(stderr, "query %zu: neighbour set differs from the reference\n", q);
    }
done:
    free(y);
    free(out);
    free(pr);
    return !bad;
}

static void fill(mp_rng *r, double *v, size_t n, int kind)
{
    for (size_t i = 0; i < n; i++) {
        switch (kind) {
        case 0: v[i] = (double)mp_rng_below(r, 4); break;           /* many ties */
        case 1: v[i] = mp_rng_normal(r); break;                     /* continuous */
        case 2: v[i] = 1e6 + mp_rng_normal(r) * 1e-3; break;        /* far offset */
        case 3: v[i] = mp_rng_normal(r) * 1e-30; break;             /* tiny values */
        case 4: v[i] = (double)mp_rng_below(r, 3) - 1; break;           /* signs, zeros */
        default: v[i] = (double)mp_rng_below(r, 4) * 0x1p41; break;     /* too big for float */
        }
    }
}

static void test_brute_exact_against_sort(void)
{
    mp_rng r;
    mp_rng_seed(&r, 42);
    static const struct {
        size_t n, d, nq, k;
        int kind, metric;
    } cases[] = {
        {300, 3, 60, 7, 0, 0},  {300, 40, 60, 5, 0, 0}, {300, 40, 60, 5, 1, 0},
        {300, 40, 60, 5, 2, 0}, {300, 40, 60, 5, 3, 0}, {300, 7, 60, 4, 0, 1},
        {300, 9, 60, 5, 4, 2},  {300, 30, 60, 6, 1, 2}, {300, 30, 60, 6, 0, 2},
        /* Values too large for the float32 pass: exact scan. */
        {300, 10, 60, 5, 5, 0},  {300, 10, 60, 5, 5, 2},
        /* Enough work for several query blocks, and for threads. */
        {3000, 20, 700, 5, 0, 0},  {3000, 20, 400, 3, 0, 1},
    };
    const char *mnames[] = {"metric=euclidean", "metric=manhattan", "metric=cosine"};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t n = cases[c].n, d = cases[c].d, nq = cases[c].nq;
        double *X = malloc(n * d * sizeof *X), *Q = malloc(nq * d * sizeof *Q);
        REQUIRE(X && Q);
        fill(&r, X, n * d, cases[c].kind);
        fill(&r, Q, nq * d, cases[c].kind);
        /* A few queries that coincide with training rows. */
        memcpy(Q, X + 5 * d, d * sizeof *Q);
        if (cases[c].metric == 2)
            memset(Q + d, 0, d * sizeof *Q); /* and the zero vector */
        char kbuf[32];
        snprintf(kbuf, sizeof kbuf, "k=%zu", cases[c].k);
        const char *p[] = {kbuf, mnames[cases[c].metric], "algorithm=brute", NULL};
        int ok = check_against_reference(p, cases[c].metric, X, n, d, Q, nq, cases[c].k);
        if (!ok)
            fprintf(stderr, "case %zu failed\n", c);
        CHECK(ok);
        free(X);
        free(Q);
    }
}

/* Brute force and the tree give bit-identical probabilities, with distance
 * weights (so the distances themselves must agree) and many ties. */
static void test_brute_equals_tree(void)
{
    mp_rng r;
    mp_rng_seed(&r, 7);
    for (int kind = 0; kind < 3; kind += 1) {
        for (int metric = 0; metric < 2; metric++) {
            size_t n = 1500, d = kind == 0 ? 3 : 6, nq = 200, nc = 5;
            double *X = malloc(n * d * sizeof *X), *Q = malloc(nq * d * sizeof *Q);
            double *y = malloc(n * sizeof *y);
            double *o1 = malloc(nq * nc * sizeof *o1), *o2 = malloc(nq * nc * sizeof *o2);
            REQUIRE(X && Q && y && o1 && o2);
            fill(&r, X, n * d, kind);
            fill(&r, Q, nq * d, kind);
            /* One query too large for brute force's float32 pass. */
            for (size_t t = 0; t < d; t++)
                Q[t] = 1e13 * (double)(t + 1);
            for (size_t i = 0; i < n; i++)
                y[i] = (double)mp_rng_below(&r, nc);
            const char *mp = metric ? "metric=manhattan" : "metric=euclidean";
            const char *pb[] = {"k=9", "weights=distance", mp, "algorithm=brute", NULL};
            const char *pt[] = {"k=9", "weights=distance", mp, "algorithm=kd_tree", NULL};
            const char *pa[] = {"k=9", "weights=distance", mp, NULL}; /* auto: tree */
            void *sb = NULL, *st = NULL, *sa = NULL;
            mp_error e = {0};
            REQUIRE(fit_with(MP_TASK_CLASSIFY, X, n, d, y, nc, pb, &sb, &e) == 0);
            REQUIRE(fit_with(MP_TASK_CLASSIFY, X, n, d, y, nc, pt, &st, &e) == 0);
            REQUIRE(fit_with(MP_TASK_CLASSIFY, X, n, d, y, nc, pa, &sa, &e) == 0);
            REQUIRE(mp_algo_knn.predict(sb, Q, nq, d, o1, &e) == 0);
            REQUIRE(mp_algo_knn.predict(st, Q, nq, d, o2, &e) == 0);
            CHECK(memcmp(o1, o2, nq * nc * sizeof *o1) == 0);
            REQUIRE(mp_algo_knn.predict(sa, Q, nq, d, o2, &e) == 0);
            CHECK(memcmp(o1, o2, nq * nc * sizeof *o1) == 0);
            mp_algo_knn.destroy(sb);
            mp_algo_knn.destroy(st);
            mp_algo_knn.destroy(sa);
            free(X);
            free(Q);
            free(y);
            free(o1);
            free(o2);
        }
    }
    /* And the tree alone against the plain sort, ties included. */
    size_t n = 2000, d = 4, nq = 100;
    double *X = malloc(n * d * sizeof *X), *Q = malloc(nq * d * sizeof *Q);
    REQUIRE(X && Q);
    fill(&r, X, n * d, 0);
    fill(&r, Q, nq * d, 0);
    const char *pt[] = {"k=6", "algorithm=kd_tree", NULL};
    CHECK(check_against_reference(pt, 0, X, n, d, Q, nq, 6));
    const char *pm[] = {"k=6", "algorithm=kd_tree", "metric=manhattan", NULL};
    CHECK(check_against_reference(pm, 1, X, n, d, Q, nq, 6));
    free(X);
    free(Q);
}

/* Many rows in many dimensions with a few dominant directions: brute force
 * then prunes with projected bounds (knn.c, the projection pass). Integer
 * data of rank 3 gives massive ties, which must still resolve by index. */
static void test_projection_pass_exact(void)
{
    mp_rng r;
    mp_rng_seed(&r, 11);
    size_t n = 8192, d = 128, nq = 40, rank = 3;
    double *X = malloc(n * d * sizeof *X), *Q = malloc(nq * d * sizeof *Q);
    double F[3 * 128];
    REQUIRE(X && Q);
    for (size_t i = 0; i < rank * d; i++)
        F[i] = (double)mp_rng_below(&r, 3);
    for (size_t i = 0; i < n + nq; i++) {
        double *row = i < n ? X + i * d : Q + (i - n) * d;
        memset(row, 0, d * sizeof *row);
        for (size_t c = 0; c < rank; c++) {
            double w = (double)mp_rng_below(&r, 4);
            for (size_t t = 0; t < d; t++)
                row[t] += w * F[c * d + t];
        }
        if (i >= n && i % 3 == 0)
            row[i % d] += 1; /* off the training subspace */
    }
    memcpy(Q, X + 77 * d, d * sizeof *Q);
    for (size_t t = 0; t < d; t++)
        Q[5 * d + t] = 1e13; /* too large for float: exact scan */
    const char *p[] = {"k=5", NULL};
    CHECK(check_against_reference(p, 0, X, n, d, Q, nq, 5));
    const char *pb[] = {"k=8", "algorithm=brute", NULL};
    CHECK(check_against_reference(pb, 0, X, n, d, Q, nq, 8));

    /* 256 points on a circle, each 32 times, queried from its center:
     * every distance is the radius up to rounding, so float32 estimates
     * cannot rank them and the error bounds must send them all on to the
     * exact comparison. */
    memset(X, 0, n * d * sizeof *X);
    memset(Q, 0, nq * d * sizeof *Q);
    for (size_t i = 0; i < n; i++) {
        X[i * d] = 1000 * cos(6.283185307179586 * (double)(i % 256) / 256);
        X[i * d + 1] = 1000 * sin(6.283185307179586 * (double)(i % 256) / 256);
    }
    for (size_t i = 1; i < nq; i++) {
        Q[i * d] = 990 * cos((double)i);
        Q[i * d + 1] = 1010 * sin((double)i);
    }
    CHECK(check_against_reference(p, 0, X, n, d, Q, nq, 5));
    free(X);
    free(Q);
}

static void test_params_rejected(void)
{
    const char *bad[][3] = {
        {"k=0", NULL, NULL},          {"k=abc", NULL, NULL},      {"k=6", NULL, NULL},
        {"weights=near", NULL, NULL}, {"metric=chebyshev", NULL, NULL},
        {"algorithm=ball_tree", NULL, NULL},
        {"metric=cosine", "algorithm=kd_tree", NULL},
        {"neighbours=3", NULL, NULL},
    };
    const char *want[] = {"k=0", "k=abc", "at most", "weights", "metric", "algorithm",
                          "cosine", "unknown parameter 'neighbours'"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        void *s = NULL;
        mp_error e = {0};
        int rc = fit_with(MP_TASK_CLASSIFY, X1, 5, 1, Y1c, 2, bad[i], &s, &e);
        CHECK(rc == MP_EINVAL);
        CHECK(s == NULL);
        CHECK_STR_CONTAINS(e.msg, want[i]);
    }
    /* Bad data. */
    void *s = NULL;
    mp_error e = {0};
    const double ybad[] = {0, 0, 2, 1, 1};
    CHECK(fit_with(MP_TASK_CLASSIFY, X1, 5, 1, ybad, 2, NULL, &s, &e) == MP_EINPUT);
    const double yfrac[] = {0, 0, 0.5, 1, 1};
    CHECK(fit_with(MP_TASK_CLASSIFY, X1, 5, 1, yfrac, 2, NULL, &s, &e) == MP_EINPUT);
    const double Xnan[] = {0, 1, NAN, 6, 10};
    CHECK(fit_with(MP_TASK_CLASSIFY, Xnan, 5, 1, Y1c, 2, NULL, &s, &e) == MP_EINPUT);
    const double ynan[] = {1, 2, NAN, 8, 16};
    CHECK(fit_with(MP_TASK_REGRESS, X1, 5, 1, ynan, 0, NULL, &s, &e) == MP_EINPUT);
    /* Cosine needs norms: a row whose norm overflows is rejected. */
    const double Xbig[] = {1, 1, 1e200, 1e200, 2, 3};
    const char *pc[] = {"k=1", "metric=cosine", NULL};
    CHECK(fit_with(MP_TASK_CLASSIFY, Xbig, 3, 2, Y1c, 2, pc, &s, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "row 1");
    REQUIRE(fit_with(MP_TASK_CLASSIFY, X1, 2, 2, Y1c, 2, pc, &s, &e) == 0);
    double qbig[] = {1e200, 1e200}, ob[2];
    CHECK(mp_algo_knn.predict(s, qbig, 1, 2, ob, &e) == MP_EINPUT);
    mp_algo_knn.destroy(s);
    s = NULL;
    CHECK(fit_with(MP_TASK_CLASSIFY, X1, 0, 1, Y1c, 2, NULL, &s, &e) == MP_EINPUT);
    /* Predict with the wrong width or a non-finite value. */
    REQUIRE(fit_with(MP_TASK_CLASSIFY, X1, 5, 1, Y1c, 2, NULL, &s, &e) == 0);
    double q[] = {1, 2}, out[4];
    CHECK(mp_algo_knn.predict(s, q, 1, 2, out, &e) == MP_EINVAL);
    q[1] = INFINITY;
    CHECK(mp_algo_knn.predict(s, q, 2, 1, out, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "row 1");
    mp_algo_knn.destroy(s);
}

static void test_save_load_roundtrip(void)
{
    mp_rng r;
    mp_rng_seed(&r, 3);
    size_t n = 400, d = 12, nq = 50, nc = 3;
    double X[400 * 12], Q[50 * 12], y[400], yr[400];
    fill(&r, X, n * d, 1);
    fill(&r, Q, nq * d, 1);
    for (size_t i = 0; i < n; i++) {
        y[i] = (double)mp_rng_below(&r, nc);
        yr[i] = mp_rng_normal(&r);
    }
    const char *ps[][4] = {
        {"k=4", "weights=distance", NULL, NULL},
        {"k=3", "metric=cosine", NULL, NULL},
        {"k=5", "metric=manhattan", "algorithm=kd_tree", NULL},
    };
    for (int c = 0; c < 3; c++) {
        for (int task = 1; task <= 2; task++) {
            void *s = NULL, *s2 = NULL;
            mp_error e = {0};
            size_t w = task == MP_TASK_CLASSIFY ? nc : 1;
            REQUIRE(fit_with(task, X, n, d, task == MP_TASK_CLASSIFY ? y : yr,
                             task == MP_TASK_CLASSIFY ? nc : 0, ps[c], &s, &e) == 0);
            double o1[50 * 3], o2[50 * 3];
            REQUIRE(mp_algo_knn.predict(s, Q, nq, d, o1, &e) == 0);
            mp_tensors b = {0};
            REQUIRE(mp_algo_knn.save(s, &b, &e) == 0);
            CHECK(mp_tensors_meta(&b, "params") != NULL);
            REQUIRE(mp_algo_knn.load(&b, task, d, task == MP_TASK_CLASSIFY ? nc : 0, &s2, &e) ==
                    0);
            REQUIRE(mp_algo_knn.predict(s2, Q, nq, d, o2, &e) == 0);
            CHECK(memcmp(o1, o2, nq * w * sizeof *o1) == 0);
            mp_algo_knn.destroy(s2);
            mp_tensors_free(&b);
            mp_algo_knn.destroy(s);
        }
    }
    void *s = NULL;
    mp_error e = {0};
    const char *p[] = {"k=2", NULL};
    REQUIRE(fit_with(MP_TASK_CLASSIFY, X1, 5, 1, Y1c, 2, p, &s, &e) == 0);
    mp_tensors b = {0};
    REQUIRE(mp_algo_knn.save(s, &b, &e) == 0);
    CHECK_STR_CONTAINS(mp_tensors_meta(&b, "params"),
                       "{\"k\":2,\"weights\":\"uniform\",\"metric\":\"euclidean\","
                       "\"algorithm\":\"auto\"}");
    mp_tensors_free(&b);
    mp_algo_knn.destroy(s);
}

/* Builds a bag by hand and expects load to fail with MP_EFORMAT. */
static void expect_bad_load(const double *X, int64_t n, int64_t d, const double *y, int64_t ny,
                            const char *params, size_t load_d, size_t nclasses, const char *why)
{
    mp_tensors b = {0};
    mp_error e = {0};
    int64_t shx[2] = {n, d}, shy[1] = {ny};
    if (X)
        CHECK(mp_tensors_add(&b, "knn.X", MP_DT_F64, 2, shx, X, &e) == 0);
    if (y)
        CHECK(mp_tensors_add(&b, "knn.y", MP_DT_F64, 1, shy, y, &e) == 0);
    if (params)
        CHECK(mp_tensors_set_meta(&b, "params", params) == 0);
    void *s = (void *)1;
    int rc = mp_algo_knn.load(&b, MP_TASK_CLASSIFY, load_d, nclasses, &s, &e);
    if (rc != MP_EFORMAT)
        fprintf(stderr, "bad load (%s) gave %d: %s\n", why, rc, e.msg);
    CHECK(rc == MP_EFORMAT);
    CHECK(s == NULL);
    mp_tensors_free(&b);
}

static void test_load_rejects_inconsistent(void)
{
    const char *ok = "{\"k\":2,\"weights\":\"uniform\",\"metric\":\"euclidean\","
                     "\"algorithm\":\"auto\"}";
    const double ybad[] = {0, 0, 2, 1, 1}, yfrac[] = {0, 0, 1.5, 1, 1};
    /* The good bag loads: the cases below fail for their stated reason. */
    {
        mp_tensors b = {0};
        mp_error e = {0};
        int64_t shx[2] = {5, 1}, shy[1] = {5};
        REQUIRE(mp_tensors_add(&b, "knn.X", MP_DT_F64, 2, shx, X1, &e) == 0);
        REQUIRE(mp_tensors_add(&b, "knn.y", MP_DT_F64, 1, shy, Y1c, &e) == 0);
        REQUIRE(mp_tensors_set_meta(&b, "params", ok) == 0);
        void *s = NULL;
        CHECK(mp_algo_knn.load(&b, MP_TASK_CLASSIFY, 1, 2, &s, &e) == 0);
        mp_algo_knn.destroy(s);
        mp_tensors_free(&b);
    }
    expect_bad_load(X1, 5, 1, Y1c, 5, ok, 2, 2, "d mismatch");
    expect_bad_load(X1, 5, 1, Y1c, 4, ok, 1, 2, "y length");
    expect_bad_load(X1, 5, 1, ybad, 5, ok, 1, 2, "class index out of range");
    expect_bad_load(X1, 5, 1, yfrac, 5, ok, 1, 2, "fractional class");
    expect_bad_load(X1, 5, 1, Y1c, 5, ok, 1, 0, "no classes");
    expect_bad_load(NULL, 5, 1, Y1c, 5, ok, 1, 2, "missing X");
    expect_bad_load(X1, 5, 1, NULL, 5, ok, 1, 2, "missing y");
    expect_bad_load(X1, 5, 1, Y1c, 5, NULL, 1, 2, "missing params");
    expect_bad_load(X1, 5, 1, Y1c, 5, "[1]", 1, 2, "params not an object");
    expect_bad_load(X1, 5, 1, Y1c, 5, "{\"k\":6,\"weights\":\"uniform\",\"metric\":\"euclidean\","
                                      "\"algorithm\":\"auto\"}", 1, 2, "k > n");
    expect_bad_load(X1, 5, 1, Y1c, 5, "{\"k\":2,\"weights\":\"uniform\",\"metric\":\"l3\","
                                      "\"algorithm\":\"auto\"}", 1, 2, "unknown metric");
    expect_bad_load(X1, 5, 1, Y1c, 5, "{\"k\":2,\"weights\":\"uniform\",\"metric\":\"cosine\","
                                      "\"algorithm\":\"kd_tree\"}", 1, 2, "cosine tree");
    expect_bad_load(X1, 5, 1, Y1c, 5, "{\"k\":2,\"weights\":\"uniform\",\"metric\":\"euclidean\","
                                      "\"algorithm\":\"auto\",\"p\":3}", 1, 2, "extra key");
    expect_bad_load(X1, 5, 1, Y1c, 5, "{\"k\":2", 1, 2, "bad JSON");
    expect_bad_load(X1, 5, 1, Y1c, 5, "{\"k\":2,\"metric\":\"euclidean\",\"algorithm\":\"auto\"}",
                    1, 2, "weights missing");
    const double Xnan[] = {0, 1, NAN, 6, 10};
    expect_bad_load(Xnan, 5, 1, Y1c, 5, ok, 1, 2, "NaN in X");
    /* Wrong dtype. */
    mp_tensors b = {0};
    mp_error e = {0};
    int64_t shx[2] = {5, 1}, shy[1] = {5};
    const int64_t yi[] = {0, 0, 1, 1, 1};
    REQUIRE(mp_tensors_add(&b, "knn.X", MP_DT_F64, 2, shx, X1, &e) == 0);
    REQUIRE(mp_tensors_add(&b, "knn.y", MP_DT_I64, 1, shy, yi, &e) == 0);
    REQUIRE(mp_tensors_set_meta(&b, "params", ok) == 0);
    void *s = NULL;
    CHECK(mp_algo_knn.load(&b, MP_TASK_CLASSIFY, 1, 2, &s, &e) == MP_EFORMAT);
    CHECK(s == NULL);
    mp_tensors_free(&b);
}

int main(void)
{
    RUN(test_1d_classify_uniform_and_distance);
    RUN(test_zero_distance_duplicates);
    RUN(test_ties_by_index_both_algorithms);
    RUN(test_regression_mean_and_weighted);
    RUN(test_manhattan_and_cosine);
    RUN(test_brute_exact_against_sort);
    RUN(test_brute_equals_tree);
    RUN(test_projection_pass_exact);
    RUN(test_params_rejected);
    RUN(test_save_load_roundtrip);
    RUN(test_load_rejects_inconsistent);
    return TEST_SUMMARY();
}
