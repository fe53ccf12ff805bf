/* Trains with OpenBLAS on one thread, and lets the layers split work over
 * the cores themselves.
 *
 * Why: a network's products are mostly too small for OpenBLAS's threads
 * to pay off (a recurrent layer's per-step GEMMs, a narrow dense layer),
 * and those threads wait by spinning, so when another process holds a
 * core they cost far more than they bring (measured: an LSTM epoch 5x
 * slower with 2 threads than with 1 on a busy 2-core machine). The layers
 * that have enough work (conv2d) run per-sample products on threads of
 * their own instead. And OpenBLAS 0.3.21 does not always give the same
 * bits with 1 and 2 threads (e.g. sgemm 64x289x1573), so a fixed thread
 * count is also what makes a seed reproduce a model bit for bit on any
 * machine load. (An earlier version picked the count by timing a few
 * batches; that made results depend on the load.)
 *
 * The thread count is process-wide OpenBLAS state: one training run at a
 * time changes it (a process-wide lock taken with trylock), and it is
 * restored when the run ends. */
#ifndef MP_NN_BLAS_H
#define MP_NN_BLAS_H

typedef struct mp_nn_blas_scope {
    int active;     /* this run holds the lock and changed the count */
    int configured; /* the count before the run */
} mp_nn_blas_scope;

/* Switches OpenBLAS to one thread for a training run. */
void mp_nn_blas_begin(mp_nn_blas_scope *t);
/* Restores the count and releases the lock. */
void mp_nn_blas_end(mp_nn_blas_scope *t);

#endif
