#include "nn/nn_blas.h"

#include <cblas.h>
#include <pthread.h>
#include <string.h>

static pthread_mutex_t tuning = PTHREAD_MUTEX_INITIALIZER;

void mp_nn_blas_begin(mp_nn_blas_scope *t)
{
    memset(t, 0, sizeof *t);
    t->configured = openblas_get_num_threads();
    if (t->configured <= 1 || pthread_mutex_trylock(&tuning) != 0)
        return;
    t->active = 1;
    openblas_set_num_threads(1);
}

void mp_nn_blas_end(mp_nn_blas_scope *t)
{
    if (!t->active)
        return;
    openblas_set_num_threads(t->configured);
    t->active = 0;
    pthread_mutex_unlock(&tuning);
}
