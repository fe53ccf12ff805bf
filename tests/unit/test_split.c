#include <stdlib.h>

#include "ml/split.h"
#include "test.h"

static void test_counts_and_partition(void)
{
    size_t *tr, *te, ntr, nte;
    REQUIRE(mp_split_train_test(15, 0.25, 7, NULL, 0, &tr, &ntr, &te, &nte, NULL) == 0);
    CHECK(nte == 4); /* ceil(0.25 * 15), as scikit-learn */
    CHECK(ntr == 11);
    unsigned char seen[15] = {0};
    for (size_t i = 0; i < ntr; i++)
        seen[tr[i]]++;
    for (size_t i = 0; i < nte; i++)
        seen[te[i]]++;
    for (size_t i = 0; i < 15; i++)
        CHECK(seen[i] == 1);
    for (size_t i = 1; i < ntr; i++)
        CHECK(tr[i - 1] < tr[i]); /* file order within a part */
    free(tr);
    free(te);
}

static void test_deterministic_for_seed(void)
{
    size_t *a, *b, *c, *d, na, nb, nc, nd;
    REQUIRE(mp_split_train_test(100, 0.3, 1, NULL, 0, &a, &na, &b, &nb, NULL) == 0);
    REQUIRE(mp_split_train_test(100, 0.3, 1, NULL, 0, &c, &nc, &d, &nd, NULL) == 0);
    CHECK(nb == 30 && nd == 30);
    int same = 1;
    for (size_t i = 0; i < nb; i++)
        same &= b[i] == d[i];
    CHECK(same);
    free(a), free(b), free(c), free(d);
    REQUIRE(mp_split_train_test(100, 0.3, 2, NULL, 0, &a, &na, &b, &nb, NULL) == 0);
    REQUIRE(mp_split_train_test(100, 0.3, 1, NULL, 0, &c, &nc, &d, &nd, NULL) == 0);
    same = 1;
    for (size_t i = 0; i < nb; i++)
        same &= b[i] == d[i];
    CHECK(!same);
    free(a), free(b), free(c), free(d);
}

static void test_stratified_shares(void)
{
    /* 60 of class 0, 30 of class 1, 10 of class 2; 20% test. */
    size_t strata[100];
    for (size_t i = 0; i < 100; i++)
        strata[i] = i < 60 ? 0 : i < 90 ? 1 : 2;
    size_t *tr, *te, ntr, nte;
    REQUIRE(mp_split_train_test(100, 0.2, 3, strata, 3, &tr, &ntr, &te, &nte, NULL) == 0);
    size_t count[3] = {0};
    for (size_t i = 0; i < nte; i++)
        count[strata[te[i]]]++;
    CHECK(nte == 20);
    CHECK(count[0] == 12 && count[1] == 6 && count[2] == 2);
    free(tr);
    free(te);
}

static void test_absolute_count_and_errors(void)
{
    size_t *tr, *te, ntr, nte;
    mp_error e = {0};
    REQUIRE(mp_split_train_test(15, 5, 1, NULL, 0, &tr, &ntr, &te, &nte, NULL) == 0);
    CHECK(nte == 5 && ntr == 10);
    free(tr);
    free(te);
    CHECK(mp_split_train_test(15, 15, 1, NULL, 0, &tr, &ntr, &te, &nte, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "both need at least one");
    CHECK(mp_split_train_test(15, 0, 1, NULL, 0, &tr, &ntr, &te, &nte, &e) == MP_EINVAL);
    CHECK(mp_split_train_test(15, -0.5, 1, NULL, 0, &tr, &ntr, &te, &nte, &e) == MP_EINVAL);
    CHECK(mp_split_train_test(15, 2.5, 1, NULL, 0, &tr, &ntr, &te, &nte, &e) == MP_EINVAL);
    CHECK(mp_split_train_test(1, 0.5, 1, NULL, 0, &tr, &ntr, &te, &nte, &e) == MP_EINVAL);
}

static void test_kfold(void)
{
    size_t fold[23], strata[23];
    REQUIRE(mp_split_kfold(23, 5, 9, NULL, 0, fold, NULL) == 0);
    size_t count[5] = {0};
    for (size_t i = 0; i < 23; i++)
        count[fold[i]]++;
    for (size_t k = 0; k < 5; k++)
        CHECK(count[k] == 4 || count[k] == 5);
    for (size_t i = 0; i < 23; i++)
        strata[i] = i % 3 == 0;
    REQUIRE(mp_split_kfold(23, 4, 9, strata, 2, fold, NULL) == 0);
    size_t pos[4] = {0};
    for (size_t i = 0; i < 23; i++)
        if (strata[i])
            pos[fold[i]]++;
    /* 8 positives dealt over 4 folds: 2 each. */
    for (size_t k = 0; k < 4; k++)
        CHECK(pos[k] == 2);
    mp_error e;
    CHECK(mp_split_kfold(3, 5, 1, NULL, 0, fold, &e) == MP_EINVAL);
    CHECK(mp_split_kfold(10, 1, 1, NULL, 0, fold, &e) == MP_EINVAL);
}

int main(void)
{
    RUN(test_counts_and_partition);
    RUN(test_deterministic_for_seed);
    RUN(test_stratified_shares);
    RUN(test_absolute_count_and_errors);
    RUN(test_kfold);
    return TEST_SUMMARY();
}
