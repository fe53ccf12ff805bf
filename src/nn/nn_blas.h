/* Picks the number of OpenBLAS threads a training run uses, by measuring.
 *
 * A network's products are often too small for two threads to pay off: a
 * recurrent layer's per-step GEMMs, a narrow MLP. OpenBLAS's threads also
 * wait by spinning, so when another process holds a core they cost far
 * more than they bring (measured: an LSTM epoch 5x slower with 2 threads
 * than with 1 on a busy 2-core machine, and a small CNN faster with 2 on a
 * quiet one). So the trainer times a few batches with the configured
 * thread count and a few with one thread, and keeps the faster for the rest
 * of the run; the configured count is restored at the end.
 *
 * The thread count is process-wide OpenBLAS state, so only one training
 * run tunes at a time (a process-wide lock taken with trylock); others run
 * with whatever count is set. OpenBLAS splits products across threads by
 * rows and columns, never along the summed dimension, so results do not
 * depend on the choice. */
#ifndef MP_NN_BLAS_H
#define MP_NN_BLAS_H

#include <stddef.h>

typedef struct mp_nn_blas_tuner {
    int active;      /* this run holds the lock and may change the count */
    int configured;  /* the count before the run */
    size_t batch;    /* batches seen */
    double time[2];  /* summed seconds: [0] configured count, [1] one thread */
    int decided;
} mp_nn_blas_tuner;

/* Starts tuning for a run of `batches` batches in all (too short a run is
 * not worth measuring and is left alone). */
void mp_nn_blas_begin(mp_nn_blas_tuner *t, size_t batches);
/* Call after every training batch with its wall time in seconds. */
void mp_nn_blas_step(mp_nn_blas_tuner *t, double seconds);
/* Restores the configured count and releases the lock. */
void mp_nn_blas_end(mp_nn_blas_tuner *t);

#endif
