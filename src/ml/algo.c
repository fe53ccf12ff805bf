#include "ml/algo.h"

#include <stdlib.h>
#include <string.h>

static const mp_algo *const algos[] = {
    &mp_algo_knn,
    &mp_algo_naive_bayes,
    &mp_algo_linear_regression,
    &mp_algo_logistic_regression,
    &mp_algo_mlp,
    &mp_algo_cnn,
    &mp_algo_lstm,
    &mp_algo_gru,
    &mp_algo_autoencoder,
    &mp_algo_nn,
};

const mp_algo *mp_algo_find(const char *name)
{
    for (size_t i = 0; i < sizeof algos / sizeof algos[0]; i++)
        if (!strcmp(algos[i]->name, name))
            return algos[i];
    return NULL;
}

const char *mp_algo_names(void)
{
    return "knn|naive-bayes|linear-regression|logistic-regression|mlp|cnn|lstm|gru|autoencoder|nn";
}

int mp_algo_write_meta(mp_tensors *b, char *params_json, const char *fit_info, const char *algo,
                       mp_error *e)
{
    int rc = params_json ? mp_tensors_set_meta(b, "params", params_json) : MP_ENOMEM;
    free(params_json);
    if (!rc && fit_info)
        rc = mp_tensors_set_meta(b, "fit_info", fit_info);
    return rc ? mp_error_set(e, MP_ENOMEM, "%s: out of memory", algo) : 0;
}
