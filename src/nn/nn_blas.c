#include "nn/nn_blas.h"

#include <cblas.h>
#include <pthread.h>
#include <string.h>

/* Batches per phase: a warm-up with the configured count (first-touch
 * page faults, OpenBLAS starting its threads), then one timed phase for
 * each count. */
#define WARMUP 3
#define PHASE 8
/* Runs shorter than this many batches are left alone. */
#define MIN_BATCHES 60

static pthread_mutex_t tuning = PTHREAD_MUTEX_INITIALIZER;

void mp_nn_blas_begin(mp_nn_blas_tuner *t, size_t batches)
{
    memset(t, 0, sizeof *t);
    t->configured = openblas_get_num_threads();
    if (t->configured <= 1 || batches < MIN_BATCHES)
        return;
    if (pthread_mutex_trylock(&tuning) != 0)
        return;
    t->active = 1;
}

void mp_nn_blas_step(mp_nn_blas_tuner *t, double seconds)
{
    if (!t->active || t->decided)
        return;
    size_t k = t->batch++;
    if (k < WARMUP)
        return;
    if (k < WARMUP + PHASE) {
        t->time[0] += seconds;
        if (k + 1 == WARMUP + PHASE)
            openblas_set_num_threads(1);
        return;
    }
    if (k < WARMUP + 2 * PHASE) {
        t->time[1] += seconds;
        if (k + 1 == WARMUP + 2 * PHASE) {
            /* Ties go to the configured count. */
            openblas_set_num_threads(t->time[1] < t->time[0] ? 1 : t->configured);
            t->decided = 1;
        }
    }
}

void mp_nn_blas_end(mp_nn_blas_tuner *t)
{
    if (!t->active)
        return;
    openblas_set_num_threads(t->configured);
    t->active = 0;
    pthread_mutex_unlock(&tuning);
}
