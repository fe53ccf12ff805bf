/* A reader of a data directory that another process writes
 * (mp_log_options.read_only / read_if_locked): it follows the writer's
 * batches across segment rolls and retention, never serves part of a
 * batch, refuses writes with a clear message, changes nothing on disk, and
 * shares consumer-group offsets with the writer.
 *
 * The writer of the follow tests runs in a forked child (a real second
 * process, as `mlpipe produce` beside `mlpipe consume --follow`); the
 * deterministic cases use two handles in this process, which works since a
 * reader takes no lock. Every loop is bounded in count and time; children
 * die with the parent (PR_SET_PDEATHSIG) and are always reaped. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "log/log.h"
#include "log/log_batch.h"
#include "log_test_util.h"
#include "test.h"

/* ---- the records the writers write ---------------------------------------- */

#define BASE_TS 1700000000000LL

/* Batch g holds 1 + g % 5 records. */
static size_t batch_size(int g) { return 1 + (size_t)(g % 5); }

/* Record j of batch g: key, value (of varying length, with the batch's
 * shape in it), one header, timestamp. Fills the buffers. */
static mp_record make_rec(int g, int j, char *key, size_t kn, char *val, size_t vn, char *hv,
                          size_t hn, mp_record_header *h)
{
    snprintf(key, kn, "k%d", g % 7);
    int len = snprintf(val, vn, "g%d-j%d-n%zu-", g, j, batch_size(g));
    int fill = (g * 31 + j * 7) % 200;
    for (int i = 0; i < fill && (size_t)len + 1 < vn; i++)
        val[len++] = (char)('a' + (g + j + i) % 26);
    val[len] = '\0';
    snprintf(hv, hn, "g%d", g);
    *h = (mp_record_header){"h", 1, (const uint8_t *)hv, (int32_t)strlen(hv)};
    mp_record r;
    memset(&r, 0, sizeof r);
    r.key = (const uint8_t *)key;
    r.key_len = (int32_t)strlen(key);
    r.value = (const uint8_t *)val;
    r.value_len = len;
    r.timestamp = BASE_TS + g;
    r.headers = h;
    r.nheaders = 1;
    return r;
}

/* Produces batch g (as one produce_batch call: one record batch) with
 * timestamps shifted by ts_shift. */
static int write_batch(mp_log *log, const char *topic, int g, int64_t ts_shift, mp_error *e)
{
    char key[5][16], val[5][256], hv[5][16];
    mp_record_header h[5];
    mp_record recs[5];
    size_t n = batch_size(g);
    for (size_t j = 0; j < n; j++) {
        recs[j] = make_rec(g, (int)j, key[j], sizeof key[j], val[j], sizeof val[j], hv[j],
                           sizeof hv[j], &h[j]);
        recs[j].timestamp += ts_shift;
    }
    return mp_log_produce_batch(log, topic, 0, recs, n, NULL, e);
}

/* 1 if r is record j of batch g, byte for byte (ts_shift as written). */
static int rec_is(const mp_record *r, int g, int j, int64_t ts_shift)
{
    char key[16], val[256], hv[16];
    mp_record_header h;
    mp_record want = make_rec(g, j, key, sizeof key, val, sizeof val, hv, sizeof hv, &h);
    return r->key_len == want.key_len && !memcmp(r->key, want.key, (size_t)want.key_len) &&
           r->value_len == want.value_len &&
           !memcmp(r->value, want.value, (size_t)want.value_len) &&
           r->timestamp == want.timestamp + ts_shift && r->nheaders == 1 &&
           r->headers[0].key_len == 1 && !memcmp(r->headers[0].key, "h", 1) &&
           r->headers[0].value_len == h.value_len &&
           !memcmp(r->headers[0].value, h.value, (size_t)h.value_len);
}

/* Where the reader is: batch g, record j of it, and the offset. */
typedef struct cursor {
    int g;
    size_t j;
    int64_t offset;
    int64_t ts_shift; /* of the batches below old_until */
    int old_until;
    int64_t new_shift; /* of the others */
    long bad;         /* records that were not the expected ones */
    long partial;     /* fetch results that began or ended inside a batch */
} cursor;

/* Checks a fetch result against the records expected next: every record
 * in order, none missing, none twice, and whole batches only. */
static void check_result(cursor *c, const mp_log_fetch_result *r)
{
    if (r->n == 0)
        return;
    if (c->j != 0)
        c->partial++;
    for (size_t i = 0; i < r->n; i++) {
        int64_t shift = c->g < c->old_until ? c->ts_shift : c->new_shift;
        if (r->recs[i].offset != c->offset || !rec_is(&r->recs[i], c->g, (int)c->j, shift)) {
            if (c->bad++ < 5)
                fprintf(stderr, "record at offset %lld (ts %lld, %.*s): want batch %d record %zu "
                                "at %lld\n",
                        (long long)r->recs[i].offset, (long long)r->recs[i].timestamp,
                        r->recs[i].value_len > 0 ? (int)r->recs[i].value_len : 0,
                        r->recs[i].value ? (const char *)r->recs[i].value : "", c->g, c->j,
                        (long long)c->offset);
        }
        c->offset++;
        if (++c->j == batch_size(c->g)) {
            c->j = 0;
            c->g++;
        }
    }
    if (c->j != 0)
        c->partial++;
}

static mp_log *open_reader(const char *dir, mp_error *e)
{
    mp_log_options o = MP_LOG_OPTIONS_INIT;
    o.background = 0;
    o.read_only = 1;
    mp_log *log = NULL;
    if (mp_log_open_embedded(dir, &o, &log, e))
        return NULL;
    return log;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Waits (bounded) until the reader sees the topic; 0 when it does. */
static int wait_topic(mp_log *r, const char *topic, double seconds)
{
    double until = mp_clock_now() + seconds;
    int32_t n;
    while (mp_log_partition_count(r, topic, &n, NULL) != 0) {
        if (mp_clock_now() > until)
            return -1;
        sleep_ms(5);
    }
    return 0;
}

static pid_t fork_child(void)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0)
        prctl(PR_SET_PDEATHSIG, SIGKILL);
    return pid;
}

/* Reaps a child, killing it if it has not ended within `seconds`; its exit
 * status, or -1. */
static int reap(pid_t pid, double seconds)
{
    double until = mp_clock_now() + seconds;
    int st;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        if (r < 0 || mp_clock_now() > until)
            break;
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

/* ---- a writer in another process, a reader following it ------------------- */

#define FOLLOW_BATCHES 400

static void test_follow_across_rolls(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    REQUIRE(mkdir(dir, 0755) == 0);
    pid_t pid = fork_child();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        /* The writer: small segments, so the reader crosses many rolls. */
        mp_error e = {0};
        mp_log *w = lt_open(dir);
        const char *cfg[] = {"segment.bytes=4096"};
        if (!w || mp_log_topic_create(w, "f", 1, cfg, 1, &e))
            _exit(10);
        double until = mp_clock_now() + 30;
        for (int g = 0; g < FOLLOW_BATCHES && mp_clock_now() < until; g++) {
            if (write_batch(w, "f", g, 0, &e)) {
                fprintf(stderr, "child: %s\n", e.msg);
                _exit(11);
            }
            if (g % 8 == 0)
                sleep_ms(1);
        }
        _exit(mp_log_close(w, NULL) ? 12 : 0);
    }
    mp_error e = {0};
    mp_log *r = open_reader(dir, &e);
    CHECK(r != NULL);
    CHECK(r == NULL || mp_log_is_read_only(r));
    CHECK(r == NULL || wait_topic(r, "f", 20) == 0);
    cursor c = {0};
    mp_log_fetch_result res = {0};
    long waits = 0, fetches = 0;
    double until = mp_clock_now() + 40;
    while (r && c.g < FOLLOW_BATCHES && mp_clock_now() < until && c.bad == 0) {
        int rc = mp_log_fetch(r, "f", 0, c.offset, 700, &res, &e);
        if (rc) {
            fprintf(stderr, "fetch f-0@%lld: %s\n", (long long)c.offset, e.msg);
            CHECK(rc == 0);
            break;
        }
        fetches++;
        check_result(&c, &res);
        CHECK(res.next_offset == c.offset);
        if (res.n == 0) {
            mp_log_offset pos = {"f", 0, c.offset};
            int w = mp_log_wait(r, &pos, 1, 1000, &e);
            CHECK(w >= 0);
            waits++;
        }
    }
    mp_log_fetch_result_free(&res);
    CHECK(c.g == FOLLOW_BATCHES);
    CHECK(c.bad == 0);
    CHECK(c.partial == 0);
    CHECK(reap(pid, 30) == 0);
    /* Everything was seen, across many segments. */
    char pdir[300];
    snprintf(pdir, sizeof pdir, "%s/topics/f-0", dir);
    CHECK(lt_count_files(pdir, ".log") > 10);
    if (r) {
        int64_t lo = -1, hi = -1;
        CHECK(mp_log_offsets(r, "f", 0, &lo, &hi, NULL) == 0);
        CHECK(lo == 0 && hi == c.offset);
    }
    fprintf(stderr, "  follow: %d batches, %lld records, %ld fetches, %ld waits\n", c.g,
            (long long)c.offset, fetches, waits);
    CHECK(mp_log_close(r, NULL) == 0);
}

/* One byte through a pipe; 0 when it came. */
static int pipe_send(int fd) { return write(fd, "x", 1) == 1 ? 0 : -1; }
static int pipe_recv(int fd, double seconds)
{
    double until = mp_clock_now() + seconds;
    char b;
    for (;;) {
        ssize_t n = read(fd, &b, 1);
        if (n == 1)
            return 0;
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || mp_clock_now() > until)
            return -1;
        sleep_ms(2);
    }
}

/* Retention deletes the segment the reader is in the middle of: the reader
 * goes on reading it through its open file, then moves on to the next
 * segment; later retention passes run while the reader follows. */
static void test_follow_through_retention(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    REQUIRE(mkdir(dir, 0755) == 0);
    int c2p[2], p2c[2];
    REQUIRE(pipe(c2p) == 0 && pipe(p2c) == 0);
    fcntl(c2p[0], F_SETFL, O_NONBLOCK);
    fcntl(p2c[0], F_SETFL, O_NONBLOCK);
    const int old_batches_max = 40, total = 200;
    /* Old batches are 2 days old; retention.ms is 1 day. */
    const int64_t old_shift = -(int64_t)2 * 86400000;
    int64_t now_shift = mp_clock_wall_ms() - BASE_TS;
    pid_t pid = fork_child();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        mp_error e = {0};
        mp_log *w = lt_open(dir);
        const char *cfg[] = {"segment.bytes=2048", "retention.ms=86400000"};
        if (!w || mp_log_topic_create(w, "t", 1, cfg, 2, &e))
            _exit(10);
        /* Old records until the first roll: segment 0 holds only them. */
        int g = 0;
        mp_log_topic_info *info = NULL;
        for (; g < old_batches_max; g++) {
            if (write_batch(w, "t", g, old_shift + now_shift, &e) ||
                mp_log_topic_describe(w, "t", &info, &e))
                _exit(11);
            int segs = info->parts[0].segments;
            mp_log_topic_info_free(info);
            if (segs == 2) {
                g++;
                break;
            }
        }
        /* Tell the parent how many old batches there are (the last one is
         * the first of segment 1). */
        unsigned char nb = (unsigned char)g;
        if (write(c2p[1], &nb, 1) != 1 || pipe_recv(p2c[0], 20))
            _exit(12);
        /* Now the reader is inside segment 0: roll past it, delete it. */
        for (int k = 0; k < 40; k++, g++)
            if (write_batch(w, "t", g, now_shift, &e))
                _exit(13);
        int64_t deleted = 0;
        if (mp_log_enforce_retention(w, "t", &deleted, &e) || deleted != 1)
            _exit(14);
        if (pipe_send(c2p[1]))
            _exit(15);
        /* Then keep writing, with a retention pass now and then that keeps
         * about 8 segments, paced so that the reader (acknowledging every
         * 10 batches it has read) stays within their reach. */
        const char *keep[] = {"retention.bytes=16384"};
        if (mp_log_topic_alter(w, "t", keep, 1, &e))
            _exit(20);
        int acked = 0;
        deleted = 0;
        for (; g < total; g++) {
            while (g - acked > 20)
                if (pipe_recv(p2c[0], 20))
                    _exit(16);
                else
                    acked += 10;
            if (write_batch(w, "t", g, now_shift, &e))
                _exit(17);
            int64_t d = 0;
            if (g % 10 == 0 && mp_log_enforce_retention(w, "t", &d, &e))
                _exit(18);
            deleted += d;
        }
        if (deleted < 3)
            _exit(21); /* retention must have run while the reader followed */
        _exit(mp_log_close(w, NULL) ? 19 : 0);
    }
    close(c2p[1]);
    close(p2c[0]);
    unsigned char nold = 0;
    double until = mp_clock_now() + 20;
    while (read(c2p[0], &nold, 1) != 1 && mp_clock_now() < until)
        sleep_ms(2);
    CHECK(nold >= 2);
    mp_error e = {0};
    mp_log *r = open_reader(dir, &e);
    CHECK(r != NULL);
    cursor c = {0};
    c.ts_shift = old_shift + now_shift;
    c.old_until = nold;
    c.new_shift = now_shift;
    mp_log_fetch_result res = {0};
    if (r) {
        /* One batch of segment 0, then the writer deletes segment 0. */
        CHECK(mp_log_fetch(r, "t", 0, 0, 1, &res, &e) == 0);
        check_result(&c, &res);
        CHECK(c.g == 1);
        CHECK(pipe_send(p2c[1]) == 0);
        CHECK(pipe_recv(c2p[0], 20) == 0);
        char seg0[300];
        snprintf(seg0, sizeof seg0, "%s/topics/t-0/00000000000000000000.log", dir);
        CHECK(access(seg0, F_OK) != 0); /* gone from the directory */
    }
    int next_ack = c.g + 10;
    long waits = 0;
    until = mp_clock_now() + 40;
    while (r && c.g < total && mp_clock_now() < until && c.bad == 0) {
        int rc = mp_log_fetch(r, "t", 0, c.offset, 500, &res, &e);
        if (rc) {
            fprintf(stderr, "fetch t-0@%lld: %s\n", (long long)c.offset, e.msg);
            CHECK(rc == 0);
            break;
        }
        check_result(&c, &res);
        while (c.g >= next_ack) {
            pipe_send(p2c[1]);
            next_ack += 10;
        }
        if (res.n == 0) {
            mp_log_offset pos = {"t", 0, c.offset};
            CHECK(mp_log_wait(r, &pos, 1, 1000, &e) >= 0);
            waits++;
        }
    }
    mp_log_fetch_result_free(&res);
    CHECK(c.g == total);
    CHECK(c.bad == 0);
    CHECK(c.partial == 0);
    close(p2c[1]);
    int st = reap(pid, 30);
    if (st)
        fprintf(stderr, "retention writer exited with %d\n", st);
    CHECK(st == 0);
    close(c2p[0]);
    if (r) {
        /* The reader's view moved on with retention too. */
        int64_t lo = -1, hi = -1;
        CHECK(mp_log_offsets(r, "t", 0, &lo, &hi, NULL) == 0);
        CHECK(lo > 0 && hi == c.offset);
    }
    CHECK(mp_log_close(r, NULL) == 0);
}

/* ---- torn tails, written by hand ------------------------------------------ */

static void test_torn_tail_not_served(void)
{
    char dir[256], seg[400];
    lt_dir(dir, sizeof dir);
    mp_log *w = lt_open(dir);
    REQUIRE(w);
    mp_error e = {0};
    REQUIRE(mp_log_topic_create(w, "torn", 1, NULL, 0, &e) == 0);
    for (int g = 0; g < 3; g++)
        REQUIRE(write_batch(w, "torn", g, 0, &e) == 0);
    lt_close(w); /* the writer is gone; the tail is ours to tear */
    snprintf(seg, sizeof seg, "%s/topics/torn-0/00000000000000000000.log", dir);
    long size0 = lt_file_size(seg);
    REQUIRE(size0 > 0);

    /* Batch 3 (offsets 6..9), as the writer would write it. */
    char key[5][16], val[5][256], hv[5][16];
    mp_record_header h[5];
    mp_record recs[5];
    for (int j = 0; j < (int)batch_size(3); j++)
        recs[j] = make_rec(3, j, key[j], 16, val[j], 256, hv[j], 16, &h[j]);
    mp_buf b = {0};
    REQUIRE(mp_batch_encode(&b, 6, recs, batch_size(3), MP_COMPRESS_NONE, &e) == 0);
    size_t half = b.len / 2;
    long expect_size = size0 + (long)b.len;
    int fd = open(seg, O_WRONLY | O_APPEND);
    REQUIRE(fd >= 0);
    CHECK(write(fd, b.data, half) == (ssize_t)half);

    mp_log *r = open_reader(dir, &e);
    REQUIRE(r);
    int64_t lo, hi;
    CHECK(mp_log_offsets(r, "torn", 0, &lo, &hi, &e) == 0);
    CHECK(hi == 6); /* the half batch is not there yet */
    mp_log_fetch_result res = {0};
    CHECK(mp_log_fetch(r, "torn", 0, 6, 1 << 20, &res, &e) == 0);
    CHECK(res.n == 0);
    mp_log_offset pos = {"torn", 0, 6};
    double t0 = mp_clock_now();
    CHECK(mp_log_wait(r, &pos, 1, 150, &e) == 0);
    CHECK(mp_clock_now() - t0 >= 0.1);
    CHECK(lt_file_size(seg) == (long)(size0 + half)); /* the reader cut nothing */

    /* The rest arrives: now the batch is whole and served, all of it. */
    CHECK(write(fd, b.data + half, b.len - half) == (ssize_t)(b.len - half));
    CHECK(mp_log_wait(r, &pos, 1, 2000, &e) == 1);
    CHECK(mp_log_fetch(r, "torn", 0, 6, 1 << 20, &res, &e) == 0);
    CHECK(res.n == 4);
    for (size_t j = 0; j < res.n && j < 4; j++)
        CHECK(res.recs[j].offset == 6 + (int64_t)j && rec_is(&res.recs[j], 3, (int)j, 0));

    /* A whole batch that fails its CRC is not served either. */
    mp_buf_reset(&b);
    for (int j = 0; j < (int)batch_size(4); j++)
        recs[j] = make_rec(4, j, key[j], 16, val[j], 256, hv[j], 16, &h[j]);
    REQUIRE(mp_batch_encode(&b, 10, recs, batch_size(4), MP_COMPRESS_NONE, &e) == 0);
    b.data[b.len - 3] ^= 0x55;
    CHECK(write(fd, b.data, b.len) == (ssize_t)b.len);
    expect_size += (long)b.len;
    CHECK(mp_log_offsets(r, "torn", 0, &lo, &hi, &e) == 0);
    CHECK(hi == 10);
    CHECK(mp_log_fetch(r, "torn", 0, 10, 1 << 20, &res, &e) == 0);
    CHECK(res.n == 0);
    close(fd);
    mp_buf_free(&b);
    mp_log_fetch_result_free(&res);
    CHECK(mp_log_close(r, &e) == 0);
    /* A reader leaves every file as it was. */
    CHECK(lt_file_size(seg) == expect_size);
    char path[300];
    snprintf(path, sizeof path, "%s/.clean_shutdown", dir);
    CHECK(access(path, F_OK) == 0); /* still marked clean: nothing opened it for writing */

    /* The next writer's recovery cuts the damage; the reader saw nothing
     * of it. */
    w = lt_open(dir);
    REQUIRE(w);
    mp_log_topic_info *info = NULL;
    CHECK(mp_log_topic_describe(w, "torn", &info, &e) == 0);
    CHECK(info && info->parts[0].latest == 10 && info->parts[0].truncated_bytes > 0);
    mp_log_topic_info_free(info);
    lt_close(w);
}

/* ---- refusing writes, the lock, groups, topics coming and going ----------- */

static void test_reader_refuses_writes(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_log *w = lt_open(dir);
    REQUIRE(w);
    mp_error e = {0};
    REQUIRE(mp_log_topic_create(w, "x", 2, NULL, 0, &e) == 0);
    REQUIRE(write_batch(w, "x", 0, 0, &e) == 0);

    /* A second writer waits for the lock, then fails naming the holder. */
    mp_log_options o = MP_LOG_OPTIONS_INIT;
    o.background = 0;
    o.lock_wait_ms = 200;
    mp_log *second = NULL;
    double t0 = mp_clock_now();
    CHECK(mp_log_open_embedded(dir, &o, &second, &e) == MP_EINVAL);
    CHECK(mp_clock_now() - t0 >= 0.19);
    char want[128];
    snprintf(want, sizeof want, "open in another process (pid %ld)", (long)getpid());
    CHECK_STR_CONTAINS(e.msg, want);
    CHECK(second == NULL);

    /* read_if_locked: a reader instead. */
    o.lock_wait_ms = 0;
    o.read_if_locked = 1;
    mp_log *r = NULL;
    REQUIRE(mp_log_open_embedded(dir, &o, &r, &e) == 0);
    CHECK(mp_log_is_read_only(r) == 1);
    CHECK(mp_log_is_read_only(w) == 0);
    snprintf(want, sizeof want, "is open for writing by another process (pid %ld)",
             (long)getpid());
    mp_record rec = lt_rec("k", "v", -1);
    CHECK(mp_log_produce(r, "x", 0, &rec, NULL, NULL, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, want);
    CHECK_STR_CONTAINS(e.msg, "this process can only read");
    CHECK_STR_CONTAINS(e.msg, dir);
    CHECK(mp_log_topic_create(r, "y", 1, NULL, 0, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "cannot create topic y");
    CHECK_STR_CONTAINS(e.msg, want);
    CHECK(mp_log_topic_delete(r, "x", &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "cannot delete topic x");
    const char *cfg[] = {"retention.ms=1000"};
    CHECK(mp_log_topic_alter(r, "x", cfg, 1, &e) == MP_EINVAL);
    CHECK(mp_log_compact(r, "x", &e) == MP_EINVAL);
    int64_t deleted = 0;
    CHECK(mp_log_enforce_retention(r, NULL, &deleted, &e) == MP_EINVAL);
    CHECK(mp_log_flush(r, NULL, &e) == 0);
    CHECK(mp_log_maintain(r, &e) == 0);
    /* Nothing was written: the writer still has one batch and topic x. */
    int64_t lo, hi;
    CHECK(mp_log_offsets(w, "x", 0, &lo, &hi, &e) == 0 && hi == 1);
    int32_t np = 0;
    CHECK(mp_log_partition_count(w, "x", &np, &e) == 0 && np == 2);
    CHECK(mp_log_partition_count(w, "y", &np, NULL) == MP_ENOTFOUND);

    /* Groups: a reader commits, the writer sees it, and the two merge. */
    mp_log_offset p0 = {"x", 0, 1};
    CHECK(mp_log_commit(r, "g", &p0, 1, &e) == 0);
    int64_t got = -1;
    CHECK(mp_log_committed(w, "g", "x", 0, &got, &e) == 0 && got == 1);
    mp_log_offset p1 = {"x", 1, 0};
    CHECK(mp_log_commit(w, "g", &p1, 1, &e) == 0);
    mp_log_offset *list = NULL;
    size_t nl = 0;
    CHECK(mp_log_group_offsets(r, "g", &list, &nl, &e) == 0);
    CHECK(nl == 2 && list && list[0].offset == 1 && list[1].partition == 1 && list[1].offset == 0);
    mp_log_offsets_free(list, nl);
    CHECK(mp_log_close(r, &e) == 0);

    /* Read-only by choice, with no writer: said so. */
    lt_close(w);
    r = open_reader(dir, &e);
    REQUIRE(r);
    CHECK(mp_log_produce(r, "x", 0, &rec, NULL, NULL, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "was opened read-only; this process can only read");
    CHECK(mp_log_close(r, &e) == 0);
}

static void test_reader_follows_topics(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_log *w = lt_open(dir);
    REQUIRE(w);
    mp_error e = {0};
    mp_log *r = open_reader(dir, &e);
    REQUIRE(r);
    char **names = NULL;
    size_t n = 0;
    CHECK(mp_log_topic_list(r, &names, &n, &e) == 0 && n == 0);
    mp_log_names_free(names, n);
    int32_t np;
    CHECK(mp_log_partition_count(r, "t2", &np, &e) == MP_ENOTFOUND);
    CHECK_STR_CONTAINS(e.msg, "unknown topic 't2'");

    /* Created after the reader opened: found by name and in the list. */
    REQUIRE(mp_log_topic_create(w, "t2", 1, NULL, 0, &e) == 0);
    REQUIRE(write_batch(w, "t2", 0, 0, &e) == 0);
    CHECK(mp_log_partition_count(r, "t2", &np, &e) == 0 && np == 1);
    CHECK(mp_log_topic_list(r, &names, &n, &e) == 0 && n == 1 && !strcmp(names[0], "t2"));
    mp_log_names_free(names, n);
    mp_log_topic_info *info = NULL;
    CHECK(mp_log_topic_describe(r, "t2", &info, &e) == 0);
    CHECK(info && info->parts[0].latest == 1 && info->parts[0].segments == 1);
    mp_log_topic_info_free(info);
    mp_log_fetch_result res = {0};
    CHECK(mp_log_fetch(r, "t2", 0, 0, 1 << 20, &res, &e) == 0 && res.n == 1);

    /* Deleted: waits and fetches say so; created again: read anew. */
    REQUIRE(mp_log_topic_delete(w, "t2", &e) == 0);
    mp_log_offset pos = {"t2", 0, 1};
    CHECK(mp_log_wait(r, &pos, 1, 2000, &e) == MP_ENOTFOUND);
    CHECK(mp_log_fetch(r, "t2", 0, 1, 1 << 20, &res, &e) == MP_ENOTFOUND);
    REQUIRE(mp_log_topic_create(w, "t2", 1, NULL, 0, &e) == 0);
    mp_record rec = lt_rec(NULL, "fresh", 5);
    REQUIRE(mp_log_produce(w, "t2", 0, &rec, NULL, NULL, &e) == 0);
    CHECK(mp_log_fetch(r, "t2", 0, 0, 1 << 20, &res, &e) == 0);
    CHECK(res.n == 1 && res.recs[0].value_len == 5 && !memcmp(res.recs[0].value, "fresh", 5));
    mp_log_fetch_result_free(&res);

    /* Waiting on an idle partition sleeps (no busy loop) and a wake ends
     * it at once. */
    pos = (mp_log_offset){"t2", 0, 1};
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    double t0 = mp_clock_now();
    CHECK(mp_log_wait(r, &pos, 1, 400, &e) == 0);
    double wall = mp_clock_now() - t0;
    getrusage(RUSAGE_SELF, &ru1);
    double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
                 (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6 +
                 (double)(ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
                 (double)(ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
    CHECK(wall >= 0.39);
    CHECK(cpu < 0.2 * wall);
    /* A record produced meanwhile ends the wait with 1. */
    REQUIRE(mp_log_produce(w, "t2", 0, &rec, NULL, NULL, &e) == 0);
    CHECK(mp_log_wait(r, &pos, 1, 2000, &e) == 1);
    lt_close(w);
    CHECK(mp_log_close(r, &e) == 0);
}

/* Segments smaller than index.interval.bytes have empty offset indexes;
 * opening the log must take them as they are, not rebuild and rewrite
 * them (with an fsync each) every time -- which made every writer's open,
 * and so `mlpipe produce` and `topic describe`, slow on such logs. */
static void test_empty_indexes_kept(void)
{
    char dir[256], idx[400];
    lt_dir(dir, sizeof dir);
    mp_log *w = lt_open(dir);
    REQUIRE(w);
    mp_error e = {0};
    const char *cfg[] = {"segment.bytes=300"};
    REQUIRE(mp_log_topic_create(w, "small", 1, cfg, 1, &e) == 0);
    for (int g = 0; g < 10; g++)
        REQUIRE(write_batch(w, "small", g, 0, &e) == 0);
    lt_close(w);
    snprintf(idx, sizeof idx, "%s/topics/small-0/00000000000000000000.index", dir);
    REQUIRE(lt_file_size(idx) == 0);
    struct stat before, after;
    REQUIRE(stat(idx, &before) == 0);
    sleep_ms(20);
    w = lt_open(dir);
    REQUIRE(w);
    lt_close(w);
    REQUIRE(stat(idx, &after) == 0);
    CHECK(before.st_ino == after.st_ino); /* not replaced by a rewrite */
    CHECK(before.st_mtim.tv_sec == after.st_mtim.tv_sec &&
          before.st_mtim.tv_nsec == after.st_mtim.tv_nsec);
}

/* Reads a whole partition through `log`: count, and each record's offset
 * and value in *out (up to cap). */
static long read_all(mp_log *log, const char *topic, lt_seen *out, size_t cap)
{
    return lt_read_all(log, topic, 0, 0, 1 << 20, out, cap);
}

static int same_seen(const lt_seen *a, long na, const lt_seen *b, long nb)
{
    if (na != nb)
        return 0;
    for (long i = 0; i < na; i++)
        if (a[i].offset != b[i].offset || strcmp(a[i].key, b[i].key) ||
            strcmp(a[i].value, b[i].value) || a[i].value_null != b[i].value_null)
            return 0;
    return 1;
}

static int copy_file(const char *from, const char *to)
{
    char *data;
    size_t len;
    if (mp_read_file_raw(from, &data, &len, NULL))
        return -1;
    int rc = lt_write_file(to, data, len);
    free(data);
    return rc;
}

/* Compaction replaces segments under a reader: the reader keeps reading
 * what it has open, and once it looks again reads what the writer reads.
 * A replacement that a writer left half done (its manifest committed, the
 * .cleaned file not yet renamed) is read as the manifest says -- as the
 * writer's next open completes it. */
static void test_reader_and_compaction(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_log *w = lt_open(dir);
    REQUIRE(w);
    mp_error e = {0};
    const char *cfg[] = {"cleanup.policy=compact", "segment.bytes=200",
                         "min.cleanable.dirty.ratio=0"};
    REQUIRE(mp_log_topic_create(w, "c", 1, cfg, 3, &e) == 0);
    for (int i = 0; i < 40; i++) {
        char k[8], v[32];
        /* Unique keys first (compaction keeps them), then four keys
         * written over and over (it keeps their last values). */
        if (i < 20)
            snprintf(k, sizeof k, "u%d", i);
        else
            snprintf(k, sizeof k, "k%d", i % 4);
        snprintf(v, sizeof v, "value-%02d", i);
        mp_record rec = lt_rec(k, v, BASE_TS + i);
        REQUIRE(mp_log_produce(w, "c", 0, &rec, NULL, NULL, &e) == 0);
    }
    mp_log *r = open_reader(dir, &e);
    REQUIRE(r);
    static lt_seen before[64], got[64], want[64];
    long nb = read_all(r, "c", before, 64);
    CHECK(nb == 40);
    REQUIRE(mp_log_compact(w, "c", &e) == 0);
    /* What the reader has open still reads, whole. */
    long ng = read_all(r, "c", got, 64);
    CHECK(same_seen(got, ng, before, nb));
    /* Once it looks again (a listing happens at least every second), it
     * reads what the writer reads. */
    sleep_ms(1100);
    int64_t lo, hi;
    CHECK(mp_log_offsets(r, "c", 0, &lo, &hi, &e) == 0 && hi == 40);
    long nw = read_all(w, "c", want, 64);
    ng = read_all(r, "c", got, 64);
    CHECK(nw == 24);
    CHECK(same_seen(got, ng, want, nw));
    CHECK(mp_log_close(r, &e) == 0);
    lt_close(w);

    /* A replacement left half done: segment 0 "compacted" into a .cleaned
     * copy of itself that replaces segments 0 and the next one. */
    char pdir[300], from[400], to[400], man[400];
    snprintf(pdir, sizeof pdir, "%s/topics/c-0", dir);
    DIR *d = opendir(pdir);
    REQUIRE(d);
    int64_t bases[64];
    int nbases = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && nbases < 64) {
        size_t l = strlen(de->d_name);
        if (l == 24 && !strcmp(de->d_name + 20, ".log"))
            bases[nbases++] = strtoll(de->d_name, NULL, 10);
    }
    closedir(d);
    for (int i = 0; i < nbases; i++) /* sort */
        for (int j = i + 1; j < nbases; j++)
            if (bases[j] < bases[i]) {
                int64_t t = bases[i];
                bases[i] = bases[j];
                bases[j] = t;
            }
    REQUIRE(nbases >= 3);
    snprintf(from, sizeof from, "%s/%020lld.log", pdir, (long long)bases[0]);
    snprintf(to, sizeof to, "%s/%020lld.log.cleaned", pdir, (long long)bases[0]);
    REQUIRE(copy_file(from, to) == 0);
    snprintf(man, sizeof man, "%s/replace.json", pdir);
    char text[128];
    snprintf(text, sizeof text, "{\"old\":[%lld,%lld],\"new\":[%lld]}", (long long)bases[0],
             (long long)bases[1], (long long)bases[0]);
    REQUIRE(lt_write_file(man, text, strlen(text)) == 0);
    r = open_reader(dir, &e);
    REQUIRE(r);
    ng = read_all(r, "c", got, 64);
    CHECK(mp_log_close(r, &e) == 0);
    CHECK(access(man, F_OK) == 0); /* the reader completed nothing */
    w = lt_open(dir); /* completes the replacement */
    REQUIRE(w);
    CHECK(access(man, F_OK) != 0);
    nw = read_all(w, "c", want, 64);
    lt_close(w);
    CHECK(nw >= 20 && nw < 40);
    CHECK(same_seen(got, ng, want, nw));
}

int main(void)
{
    /* The reader acknowledges batches through a pipe; a writer that has
     * finished and exited must not turn a late acknowledgement into a
     * SIGPIPE that kills the test (the write just fails). */
    signal(SIGPIPE, SIG_IGN);
    RUN(test_empty_indexes_kept);
    RUN(test_torn_tail_not_served);
    RUN(test_reader_refuses_writes);
    RUN(test_reader_follows_topics);
    RUN(test_reader_and_compaction);
    RUN(test_follow_across_rolls);
    RUN(test_follow_through_retention);
    lt_cleanup();
    return TEST_SUMMARY();
}
