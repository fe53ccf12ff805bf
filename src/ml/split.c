#include "ml/split.h"

#include <math.h>
#include <stdlib.h>

#include "core/rng.h"

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

int mp_split_test_count(size_t n, double test_size, size_t *ntest, mp_error *e)
{
    if (!(test_size > 0) || isnan(test_size))
        return mp_error_set(e, MP_EINVAL, "--test-size must be a fraction in (0, 1) or a row count");
    size_t t = test_size < 1 ? (size_t)ceil(test_size * (double)n) : (size_t)test_size;
    if (test_size >= 1 && test_size != floor(test_size))
        return mp_error_set(e, MP_EINVAL, "--test-size %g: a row count must be a whole number", test_size);
    if (t == 0 || t >= n)
        return mp_error_set(e, MP_EINVAL,
                            "--test-size %g leaves %zu test and %zu training rows out of %zu; "
                            "both need at least one",
                            test_size, t, t >= n ? 0 : n - t, n);
    *ntest = t;
    return 0;
}

/* Splits the test count across classes in proportion to their sizes; the
 * rows left over after rounding down go to the largest remainders (ties:
 * the larger class, then the lower class index). */
struct share {
    double rem;
    size_t count, cls;
};

static int by_remainder(const void *a, const void *b)
{
    const struct share *x = a, *y = b;
    if (x->rem != y->rem)
        return x->rem < y->rem ? 1 : -1;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return (x->cls > y->cls) - (x->cls < y->cls);
}

static int allocate(const size_t *count, size_t nstrata, size_t ntest, size_t n, size_t *take)
{
    struct share *s = malloc(nstrata * sizeof *s);
    if (!s)
        return MP_ENOMEM;
    size_t used = 0;
    for (size_t c = 0; c < nstrata; c++) {
        double exact = (double)ntest * (double)count[c] / (double)n;
        take[c] = (size_t)floor(exact);
        s[c] = (struct share){exact - floor(exact), count[c], c};
        used += take[c];
    }
    qsort(s, nstrata, sizeof *s, by_remainder);
    for (size_t i = 0; used < ntest && i < nstrata; i++) {
        if (take[s[i].cls] < count[s[i].cls]) {
            take[s[i].cls]++;
            used++;
        }
    }
    free(s);
    return 0;
}

int mp_split_train_test(size_t n, double test_size, uint64_t seed, const size_t *strata,
                        size_t nstrata, size_t **train, size_t *ntrain, size_t **test,
                        size_t *ntest, mp_error *e)
{
    size_t nt;
    int rc = mp_split_test_count(n, test_size, &nt, e);
    if (rc)
        return rc;
    size_t *perm = malloc(n * sizeof *perm);
    size_t *tr = malloc(n * sizeof *tr), *te = malloc(n * sizeof *te);
    if (!perm || !tr || !te) {
        free(perm);
        free(tr);
        free(te);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    mp_rng rng;
    mp_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    mp_rng_shuffle(&rng, perm, n);
    size_t a = 0, b = 0;
    if (!strata) {
        for (size_t i = 0; i < n; i++) {
            if (i < nt)
                te[b++] = perm[i];
            else
                tr[a++] = perm[i];
        }
    } else {
        size_t *count = calloc(nstrata ? nstrata : 1, sizeof *count);
        size_t *take = calloc(nstrata ? nstrata : 1, sizeof *take);
        if (!count || !take) {
            free(count);
            free(take);
            free(perm);
            free(tr);
            free(te);
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < n; i++)
            count[strata[i]]++;
        if (allocate(count, nstrata, nt, n, take)) {
            free(count);
            free(take);
            free(perm);
            free(tr);
            free(te);
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        }
        /* Walk the shuffled order, sending each class's first take[c] rows
         * to the test part. */
        for (size_t i = 0; i < n; i++) {
            size_t r = perm[i], c = strata[r];
            if (take[c] > 0) {
                take[c]--;
                te[b++] = r;
            } else {
                tr[a++] = r;
            }
        }
        free(count);
        free(take);
    }
    free(perm);
    /* Each part in file order: easier to read and to diff. */
    qsort(tr, a, sizeof *tr, cmp_size);
    qsort(te, b, sizeof *te, cmp_size);
    *train = tr;
    *ntrain = a;
    *test = te;
    *ntest = b;
    return 0;
}

int mp_split_kfold(size_t n, size_t k, uint64_t seed, const size_t *strata, size_t nstrata,
                   size_t *fold, mp_error *e)
{
    if (k < 2 || k > n)
        return mp_error_set(e, MP_EINVAL, "--folds %zu: need between 2 and the number of rows (%zu)", k, n);
    size_t *perm = malloc(n * sizeof *perm);
    if (!perm)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    mp_rng rng;
    mp_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    mp_rng_shuffle(&rng, perm, n);
    if (!strata) {
        for (size_t i = 0; i < n; i++)
            fold[perm[i]] = i % k;
    } else {
        /* Deal each class's rows round-robin, continuing the deal across
         * classes so that fold sizes stay balanced overall. */
        size_t next = 0;
        for (size_t c = 0; c < nstrata; c++)
            for (size_t i = 0; i < n; i++)
                if (strata[perm[i]] == c)
                    fold[perm[i]] = next++ % k;
    }
    free(perm);
    return 0;
}
