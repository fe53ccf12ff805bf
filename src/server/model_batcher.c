/* Request batching for the model service: concurrent predictions on the
 * same model version are merged into one mp_model_predict call.
 *
 * There is no batching thread. The first request for a version opens a
 * batch and leads it: it waits until the batch holds max_batch instances
 * or the timeout passes, closes it, predicts every member's rows in one
 * call and hands each member its slice. Requests arriving meanwhile for
 * the same version join the open batch and sleep until the leader is done.
 * A request that would overflow the open batch closes it (its leader runs
 * at once) and opens the next one; a request larger than max_batch runs
 * alone. Each member holds its own reference to the model, so the model
 * outlives the batch whatever the watcher unloads meanwhile.
 *
 * Should the merged call fail (it should not: rows are checked before
 * they queue), the leader predicts each member alone, so one request's
 * problem is reported to that request only. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/model_service_internal.h"

typedef struct slot {
    ms_rows *rows;
    mp_predictions p;
    int rc;
    mp_error err;
} slot;

typedef struct batch {
    const void *key;
    const mp_model *m;
    slot *slots;
    size_t nslots, cap;
    size_t ninst;
    int closed;   /* no more members; the leader may run */
    int done;     /* results are in the slots */
    size_t users; /* members still to collect their result */
    pthread_cond_t cv;
    struct batch *next; /* the open batches */
} batch;

struct ms_batcher {
    pthread_mutex_t mu;
    batch *open;
    size_t max_batch;
    long timeout_us;
};

int ms_batcher_create(size_t max_batch, long timeout_us, ms_batcher **out)
{
    ms_batcher *b = calloc(1, sizeof *b);
    if (!b)
        return MP_ENOMEM;
    if (pthread_mutex_init(&b->mu, NULL)) {
        free(b);
        return MP_ENOMEM;
    }
    b->max_batch = max_batch ? max_batch : 1;
    b->timeout_us = timeout_us < 0 ? 0 : timeout_us;
    *out = b;
    return 0;
}

void ms_batcher_destroy(ms_batcher *b)
{
    if (!b)
        return;
    pthread_mutex_destroy(&b->mu);
    free(b);
}

static void unlink_open(ms_batcher *b, batch *x)
{
    for (batch **pp = &b->open; *pp; pp = &(*pp)->next)
        if (*pp == x) {
            *pp = x->next;
            break;
        }
    x->next = NULL;
}

/* Adds rows to x; returns the slot index or -1 when out of memory. */
static long add_slot(batch *x, ms_rows *rows)
{
    if (x->nslots == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 8;
        slot *s = realloc(x->slots, cap * sizeof *s);
        if (!s)
            return -1;
        x->slots = s;
        x->cap = cap;
    }
    slot *s = &x->slots[x->nslots];
    memset(s, 0, sizeof *s);
    s->rows = rows;
    x->ninst += rows->n;
    x->users++;
    return (long)x->nslots++;
}

static void batch_free(batch *x)
{
    for (size_t i = 0; i < x->nslots; i++)
        mp_predictions_free(&x->slots[i].p);
    free(x->slots);
    pthread_cond_destroy(&x->cv);
    free(x);
}

static batch *batch_new(const void *key, const mp_model *m)
{
    batch *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    pthread_condattr_t ca;
    int ok = pthread_condattr_init(&ca) == 0;
    if (ok) {
        /* Deadlines on the monotonic clock: a wall-clock step must not
         * stretch or cut a batch's wait. */
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        ok = pthread_cond_init(&x->cv, &ca) == 0;
        pthread_condattr_destroy(&ca);
    }
    if (!ok) {
        free(x);
        return NULL;
    }
    x->key = key;
    x->m = m;
    return x;
}

/* Runs a closed batch (outside the lock: nothing in it changes now). */
static void run_batch(batch *x)
{
    ms_rows **sets = malloc((x->nslots ? x->nslots : 1) * sizeof *sets);
    mp_predictions all;
    mp_error err = {0};
    int rc = sets ? 0 : mp_error_set(&err, MP_ENOMEM, "out of memory");
    for (size_t i = 0; sets && i < x->nslots; i++)
        sets[i] = x->slots[i].rows;
    if (rc == 0)
        rc = ms_rows_predict(x->m, sets, x->nslots, &all, &err);
    if (rc == 0) {
        size_t off = 0;
        for (size_t i = 0; i < x->nslots; i++) {
            slot *s = &x->slots[i];
            if (ms_predictions_slice(&all, off, s->rows->n, &s->p))
                s->rc = mp_error_set(&s->err, MP_ENOMEM, "out of memory");
            off += s->rows->n;
        }
        mp_predictions_free(&all);
    } else {
        for (size_t i = 0; i < x->nslots; i++) {
            slot *s = &x->slots[i];
            if (x->nslots == 1 || !sets) {
                s->rc = rc;
                s->err = err;
            } else {
                s->rc = ms_rows_predict(x->m, &s->rows, 1, &s->p, &s->err);
            }
        }
    }
    free(sets);
}

/* Takes the result of slot i of a done batch and leaves; the last member
 * out frees the batch. Called with the lock held. */
static int collect(batch *x, long i, mp_predictions *out, mp_error *e)
{
    slot *s = &x->slots[i];
    int rc = s->rc;
    if (rc) {
        if (e)
            *e = s->err;
    } else {
        *out = s->p;
        memset(&s->p, 0, sizeof s->p);
    }
    if (--x->users == 0)
        batch_free(x);
    return rc;
}

int ms_batcher_predict(ms_batcher *b, const void *key, const mp_model *m, ms_rows *rows,
                       mp_predictions *out, size_t *batch_size, mp_error *e)
{
    memset(out, 0, sizeof *out);
    *batch_size = 0;
    if (rows->n >= b->max_batch) {
        *batch_size = rows->n;
        return ms_rows_predict(m, &rows, 1, out, e);
    }
    pthread_mutex_lock(&b->mu);
    batch *x = b->open;
    while (x && x->key != key)
        x = x->next;
    if (x && x->ninst + rows->n <= b->max_batch) {
        long i = add_slot(x, rows);
        if (i < 0) {
            pthread_mutex_unlock(&b->mu);
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        }
        if (x->ninst >= b->max_batch) {
            x->closed = 1;
            unlink_open(b, x);
            pthread_cond_broadcast(&x->cv);
        }
        while (!x->done)
            pthread_cond_wait(&x->cv, &b->mu);
        int rc = collect(x, i, out, e);
        pthread_mutex_unlock(&b->mu);
        return rc;
    }
    if (x) {
        /* Full for us: let its leader run now. */
        x->closed = 1;
        unlink_open(b, x);
        pthread_cond_broadcast(&x->cv);
    }
    x = batch_new(key, m);
    long i = x ? add_slot(x, rows) : -1;
    if (i < 0) {
        if (x)
            batch_free(x);
        pthread_mutex_unlock(&b->mu);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    x->next = b->open;
    b->open = x;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    long ns = deadline.tv_nsec + (b->timeout_us % 1000000) * 1000;
    deadline.tv_sec += b->timeout_us / 1000000 + ns / 1000000000;
    deadline.tv_nsec = ns % 1000000000;
    while (!x->closed) {
        int w = pthread_cond_timedwait(&x->cv, &b->mu, &deadline);
        if (w == ETIMEDOUT)
            break;
    }
    if (!x->closed) {
        x->closed = 1;
        unlink_open(b, x);
    }
    pthread_mutex_unlock(&b->mu);

    run_batch(x);
    *batch_size = x->ninst;

    pthread_mutex_lock(&b->mu);
    x->done = 1;
    pthread_cond_broadcast(&x->cv);
    int rc = collect(x, i, out, e);
    pthread_mutex_unlock(&b->mu);
    return rc;
}
