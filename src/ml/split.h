/* Random train/test splits and k-fold partitions of row indexes,
 * deterministic for a seed. Stratified variants keep each class's share in
 * every part, as scikit-learn's StratifiedShuffleSplit / StratifiedKFold. */
#ifndef MP_ML_SPLIT_H
#define MP_ML_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* The number of test rows for test_size: a fraction in (0, 1) rounds up
 * (ceil(test_size * n)); a value >= 1 is a row count. */
int mp_split_test_count(size_t n, double test_size, size_t *ntest, mp_error *e);

/* Splits rows 0..n-1 into train and test index lists (each ascending;
 * caller frees both). strata (may be NULL) gives each row's class index in
 * 0..nstrata-1 for a stratified split. */
int mp_split_train_test(size_t n, double test_size, uint64_t seed, const size_t *strata,
                        size_t nstrata, size_t **train, size_t *ntrain, size_t **test,
                        size_t *ntest, mp_error *e);

/* Assigns each of n rows a fold in 0..k-1 (fold[i]), after shuffling with
 * seed; stratified when strata is given. Fold sizes differ by at most one
 * (per class when stratified). */
int mp_split_kfold(size_t n, size_t k, uint64_t seed, const size_t *strata, size_t nstrata,
                   size_t *fold, mp_error *e);

#endif
