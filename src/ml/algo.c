#include "ml/algo.h"

#include <string.h>

static const mp_algo *const algos[] = {
    &mp_algo_knn,
    &mp_algo_naive_bayes,
    &mp_algo_linear_regression,
    &mp_algo_logistic_regression,
};

const mp_algo *mp_algo_find(const char *name)
{
    for (size_t i = 0; i < sizeof algos / sizeof algos[0]; i++)
        if (!strcmp(algos[i]->name, name))
            return algos[i];
    return NULL;
}

const char *mp_algo_names(void) { return "knn|naive-bayes|linear-regression|logistic-regression"; }
