/* Threads: producers on different partitions (and two on one) while readers
 * fetch with random budgets and must see only whole batches with
 * contiguous offsets; mp_log_wait wakes on a produce, times out, is woken
 * by mp_log_wake and by a topic delete; the background thread applies
 * retention. */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "core/clock.h"
#include "log/log.h"
#include "log_test_util.h"

enum { NPARTS = 4, BATCHES = 250, READERS = 3 };

typedef struct shared {
    mp_log *log;
    atomic_int producers_left;
    atomic_int errors;
} shared;

typedef struct producer_arg {
    shared *sh;
    int id;        /* value prefix */
    int partition;
} producer_arg;

static void *producer(void *arg)
{
    producer_arg *a = arg;
    mp_error e = {0};
    for (int b = 0; b < BATCHES; b++) {
        int k = 1 + (b * 7 + a->id) % 5;
        mp_record recs[5];
        char vals[5][48];
        for (int i = 0; i < k; i++) {
            snprintf(vals[i], sizeof vals[i], "%d:%d:%d:%d", a->id, b, i, k);
            recs[i] = lt_rec("k", vals[i], 1000 + b);
        }
        mp_log_produced out[5];
        if (mp_log_produce_batch(a->sh->log, "c", a->partition, recs, (size_t)k, out, &e)) {
            fprintf(stderr, "producer %d: %s\n", a->id, e.msg);
            atomic_fetch_add(&a->sh->errors, 1);
            break;
        }
        /* A batch's records get consecutive offsets in its partition. */
        for (int i = 1; i < k; i++)
            if (out[i].offset != out[0].offset + i || out[i].partition != a->partition)
                atomic_fetch_add(&a->sh->errors, 1);
    }
    atomic_fetch_sub(&a->sh->producers_left, 1);
    return NULL;
}

typedef struct reader_arg {
    shared *sh;
    unsigned seed;
    long records;
    int checks_failed;
} reader_arg;

static void *reader(void *arg)
{
    reader_arg *a = arg;
    mp_log_fetch_result r = {0};
    mp_error e = {0};
    int64_t next[NPARTS] = {0};
    int last_batch[8][NPARTS];
    memset(last_batch, -1, sizeof last_batch);
    for (;;) {
        int done = atomic_load(&a->sh->producers_left) == 0;
        int caught_up = 1;
        for (int p = 0; p < NPARTS; p++) {
            a->seed = a->seed * 1103515245u + 12345u;
            size_t budget = 50 + (a->seed >> 8) % 3000;
            if (mp_log_fetch(a->sh->log, "c", p, next[p], budget, &r, &e)) {
                fprintf(stderr, "reader: %s\n", e.msg);
                a->checks_failed++;
                goto out;
            }
            if (r.n)
                caught_up = 0;
            /* Contiguous from the requested offset, and whole batches: the
             * records of each batch come together, all k of them. */
            size_t i = 0;
            while (i < r.n) {
                int id, b, idx, k;
                if (r.recs[i].offset != next[p] + (int64_t)i ||
                    sscanf((const char *)r.recs[i].value, "%d:%d:%d:%d", &id, &b, &idx, &k) != 4 ||
                    idx != 0 || i + (size_t)k > r.n || id < 0 || id >= 8) {
                    a->checks_failed++;
                    goto out;
                }
                for (int j = 1; j < k; j++) {
                    int id2, b2, idx2, k2;
                    const mp_record *x = &r.recs[i + (size_t)j];
                    if (x->offset != r.recs[i].offset + j ||
                        sscanf((const char *)x->value, "%d:%d:%d:%d", &id2, &b2, &idx2, &k2) != 4 ||
                        id2 != id || b2 != b || idx2 != j || k2 != k)
                        a->checks_failed++;
                }
                /* Each producer's batches arrive in the order it wrote them. */
                if (b != last_batch[id][p] + 1)
                    a->checks_failed++;
                last_batch[id][p] = b;
                i += (size_t)k;
            }
            if (r.n && r.next_offset != r.recs[r.n - 1].offset + 1)
                a->checks_failed++;
            a->records += (long)r.n;
            next[p] = r.next_offset;
        }
        if (done && caught_up)
            break;
        if (caught_up) {
            mp_log_offset pos[NPARTS];
            for (int p = 0; p < NPARTS; p++)
                pos[p] = (mp_log_offset){"c", p, next[p]};
            if (mp_log_wait(a->sh->log, pos, NPARTS, 20, &e) < 0)
                a->checks_failed++;
        }
    }
out:
    mp_log_fetch_result_free(&r);
    return NULL;
}

static void test_producers_and_readers(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    shared sh;
    sh.log = lt_open(dir);
    REQUIRE(sh.log);
    mp_error e = {0};
    const char *cfg[] = {"segment.bytes=8000", "index.interval.bytes=500"};
    REQUIRE(mp_log_topic_create(sh.log, "c", NPARTS, cfg, 2, &e) == 0);
    /* Five producers: one per partition, and a second one on partition 0. */
    enum { NPROD = NPARTS + 1 };
    atomic_init(&sh.producers_left, NPROD);
    atomic_init(&sh.errors, 0);
    pthread_t pt[NPROD], rt[READERS];
    producer_arg pa[NPROD];
    reader_arg ra[READERS];
    for (int i = 0; i < READERS; i++) {
        ra[i] = (reader_arg){&sh, 17u + (unsigned)i * 101u, 0, 0};
        REQUIRE(pthread_create(&rt[i], NULL, reader, &ra[i]) == 0);
    }
    for (int i = 0; i < NPROD; i++) {
        pa[i] = (producer_arg){&sh, i, i % NPARTS};
        REQUIRE(pthread_create(&pt[i], NULL, producer, &pa[i]) == 0);
    }
    for (int i = 0; i < NPROD; i++)
        pthread_join(pt[i], NULL);
    for (int i = 0; i < READERS; i++)
        pthread_join(rt[i], NULL);
    CHECK(atomic_load(&sh.errors) == 0);
    long want = 0;
    for (int id = 0; id < NPROD; id++)
        for (int b = 0; b < BATCHES; b++)
            want += 1 + (b * 7 + id) % 5;
    for (int i = 0; i < READERS; i++) {
        CHECK(ra[i].checks_failed == 0);
        CHECK(ra[i].records == want);
    }
    long total = 0;
    for (int p = 0; p < NPARTS; p++) {
        int64_t lo, hi;
        REQUIRE(mp_log_offsets(sh.log, "c", p, &lo, &hi, &e) == 0);
        total += (long)(hi - lo);
    }
    CHECK(total == want);
    mp_log_topic_info *info;
    REQUIRE(mp_log_topic_describe(sh.log, "c", &info, &e) == 0);
    CHECK(info->parts[1].segments > 3); /* rolls happened under readers */
    mp_log_topic_info_free(info);
    lt_close(sh.log);
}

typedef struct waiter_arg {
    mp_log *log;
    mp_log_offset pos[2];
    size_t n;
    int64_t timeout;
    int rc;
    double elapsed;
    char msg[256];
} waiter_arg;

static void *waiter(void *arg)
{
    waiter_arg *w = arg;
    mp_error e = {0};
    double t0 = mp_clock_now();
    w->rc = mp_log_wait(w->log, w->pos, w->n, w->timeout, &e);
    w->elapsed = mp_clock_now() - t0;
    snprintf(w->msg, sizeof w->msg, "%.200s", w->rc < 0 ? e.msg : "");
    return NULL;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_wait(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_log *log = lt_open(dir);
    REQUIRE(log);
    mp_error e = {0};
    REQUIRE(mp_log_topic_create(log, "w", 2, NULL, 0, &e) == 0);
    REQUIRE(mp_log_topic_create(log, "v", 1, NULL, 0, &e) == 0);
    mp_record r = lt_rec("k", "v", -1);

    /* Wakes up when a record arrives, long before its timeout. */
    waiter_arg w = {log, {{"w", 1, 0}}, 1, 10000, -9, 0, ""};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, waiter, &w) == 0);
    sleep_ms(100);
    REQUIRE(mp_log_produce(log, "w", 0, &r, NULL, NULL, &e) == 0); /* another partition */
    REQUIRE(mp_log_produce(log, "w", 1, &r, NULL, NULL, &e) == 0);
    pthread_join(t, NULL);
    CHECK(w.rc == 1);
    CHECK(w.elapsed >= 0.09 && w.elapsed < 5.0);

    /* Data already there: at once. Nothing, with timeout 0: at once. */
    w = (waiter_arg){log, {{"w", 1, 0}}, 1, 10000, -9, 0, ""};
    waiter(&w);
    CHECK(w.rc == 1 && w.elapsed < 1.0);
    w = (waiter_arg){log, {{"w", 1, 1}}, 1, 0, -9, 0, ""};
    waiter(&w);
    CHECK(w.rc == 0 && w.elapsed < 1.0);

    /* Times out when nothing comes. */
    w = (waiter_arg){log, {{"w", 1, 1}}, 1, 200, -9, 0, ""};
    waiter(&w);
    CHECK(w.rc == 0);
    CHECK(w.elapsed >= 0.19 && w.elapsed < 3.0);

    /* Several positions: any of them. */
    w = (waiter_arg){log, {{"w", 1, 1}, {"v", 0, 0}}, 2, 10000, -9, 0, ""};
    REQUIRE(pthread_create(&t, NULL, waiter, &w) == 0);
    sleep_ms(50);
    REQUIRE(mp_log_produce(log, "v", 0, &r, NULL, NULL, &e) == 0);
    pthread_join(t, NULL);
    CHECK(w.rc == 1 && w.elapsed < 5.0);

    /* mp_log_wake stops a wait without a time limit. */
    w = (waiter_arg){log, {{"w", 1, 1}}, 1, -1, -9, 0, ""};
    REQUIRE(pthread_create(&t, NULL, waiter, &w) == 0);
    sleep_ms(100);
    mp_log_wake(log);
    pthread_join(t, NULL);
    CHECK(w.rc == 0 && w.elapsed >= 0.09 && w.elapsed < 5.0);

    /* Deleting the topic ends the wait with an error. */
    w = (waiter_arg){log, {{"w", 1, 1}}, 1, 10000, -9, 0, ""};
    REQUIRE(pthread_create(&t, NULL, waiter, &w) == 0);
    sleep_ms(100);
    REQUIRE(mp_log_topic_delete(log, "w", &e) == 0);
    pthread_join(t, NULL);
    CHECK(w.rc == MP_ENOTFOUND && w.elapsed < 5.0);
    CHECK_STR_CONTAINS(w.msg, "topic w was deleted");

    /* Unknown topics and partitions fail at once. */
    w = (waiter_arg){log, {{"w", 0, 0}}, 1, 10000, -9, 0, ""};
    waiter(&w);
    CHECK(w.rc == MP_ENOTFOUND && w.elapsed < 1.0);
    w = (waiter_arg){log, {{"v", 3, 0}}, 1, 10000, -9, 0, ""};
    waiter(&w);
    CHECK(w.rc == MP_ENOTFOUND);
    lt_close(log);
}

static void test_background_thread(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_log_options o = MP_LOG_OPTIONS_INIT;
    o.background = 1;
    o.background_tick_ms = 10;
    o.retention_check_ms = 30;
    mp_log *log = NULL;
    mp_error e = {0};
    REQUIRE(mp_log_open_embedded(dir, &o, &log, &e) == 0);
    const char *cfg[] = {"segment.bytes=600", "retention.ms=60000", "flush.ms=5"};
    REQUIRE(mp_log_topic_create(log, "bg", 1, cfg, 3, &e) == 0);
    int64_t old = mp_clock_wall_ms() - 3600 * 1000;
    for (int i = 0; i < 40; i++) {
        mp_record r = lt_rec("k", "some value that fills segments", old);
        REQUIRE(mp_log_produce(log, "bg", 0, &r, NULL, NULL, &e) == 0);
    }
    /* The thread removes the expired segments by itself. It may already
     * have removed some while the records were being produced (a slow or
     * busy machine), so wait for all of them, not for the first. */
    int64_t lo = 0, hi = 0;
    for (int i = 0; i < 300 && lo != 40; i++) {
        sleep_ms(10);
        REQUIRE(mp_log_offsets(log, "bg", 0, &lo, &hi, &e) == 0);
    }
    CHECK(lo == 40 && hi == 40);
    lt_close(log);
}

int main(void)
{
    RUN(test_producers_and_readers);
    RUN(test_wait);
    RUN(test_background_thread);
    lt_cleanup();
    return TEST_SUMMARY();
}
