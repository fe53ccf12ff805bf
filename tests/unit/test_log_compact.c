/* Log compaction (log_compact.c, log_cleaner.c): the talk's NY/OH example,
 * many keys against a brute-force model, tombstones and
 * delete.retention.ms, min.compaction.lag.ms, the active segment left
 * alone, delete-only topics refused, reopen, a crash around the swap, a
 * reader running during compaction, the background pass, and through the
 * log's interface the cleaner checkpoint: kept across reopening (the
 * background thread leaves a clean partition alone), deleted with its
 * topic, and max.compaction.lag.ms making the background clean a partition
 * whose dirty ratio is low. (tests/unit/test_log_cleaner_checkpoint.c
 * tests the checkpoint itself.) */
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>

#include "core/clock.h"
#include "core/rng.h"
#include "log/log_cleaner.h"
#include "log/log_partition.h"
#include "log_test_util.h"

#define MAXR 6000
static lt_seen got[MAXR];

static mp_log *make_topic(const char *dir, const char *topic, const char **cfgs, size_t ncfg)
{
    mp_log *log = lt_open(dir);
    if (!log)
        return NULL;
    mp_error e = {0};
    if (mp_log_topic_create(log, topic, 1, cfgs, ncfg, &e)) {
        fprintf(stderr, "create: %s\n", e.msg);
        lt_close(log);
        return NULL;
    }
    return log;
}

static int64_t put(mp_log *log, const char *topic, const char *k, const char *v, int64_t ts)
{
    mp_record r = lt_rec(k, v, ts);
    int64_t off = -1;
    mp_error e = {0};
    if (mp_log_produce(log, topic, 0, &r, NULL, &off, &e)) {
        fprintf(stderr, "produce: %s\n", e.msg);
        return -1;
    }
    return off;
}

/* The active segment's base offset: the largest segment file name. */
static int64_t active_base(const char *dir, const char *topic)
{
    char pdir[400];
    snprintf(pdir, sizeof pdir, "%s/topics/%s-0", dir, topic);
    DIR *d = opendir(pdir);
    if (!d)
        return -1;
    int64_t best = -1;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l == 24 && !strcmp(de->d_name + 20, ".log")) {
            int64_t b = strtoll(de->d_name, NULL, 10);
            if (b > best)
                best = b;
        }
    }
    closedir(d);
    return best;
}

static int count_logs(const char *dir, const char *topic)
{
    char pdir[400];
    snprintf(pdir, sizeof pdir, "%s/topics/%s-0", dir, topic);
    return lt_count_files(pdir, ".log");
}

/* The bytes of all .log files of topic-0. */
static long log_bytes(const char *dir, const char *topic)
{
    char pdir[400];
    snprintf(pdir, sizeof pdir, "%s/topics/%s-0", dir, topic);
    DIR *d = opendir(pdir);
    if (!d)
        return -1;
    long total = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l == 24 && !strcmp(de->d_name + 20, ".log")) {
            char p[700];
            snprintf(p, sizeof p, "%s/%s", pdir, de->d_name);
            total += lt_file_size(p);
        }
    }
    closedir(d);
    return total;
}

/* ---- the talk's example ---------------------------------------------------- */

static void test_talk_example(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    /* segment.bytes=100: every one-record batch gets its own segment. */
    const char *cfgs[] = {"cleanup.policy=compact", "segment.bytes=100"};
    mp_log *log = make_topic(dir, "payments", cfgs, 2);
    REQUIRE(log);
    CHECK(put(log, "payments", "NY", "20.0", 1000) == 0);
    CHECK(put(log, "payments", "NY", "80.0", 1001) == 1);
    CHECK(put(log, "payments", "OH", "100.0", 1002) == 2);
    CHECK(active_base(dir, "payments") == 2);
    CHECK(count_logs(dir, "payments") == 3);
    mp_error e = {0};
    REQUIRE(mp_log_compact(log, "payments", &e) == 0);
    long n = lt_read_all(log, "payments", 0, 0, 1 << 20, got, MAXR);
    REQUIRE(n == 2);
    CHECK(got[0].offset == 1 && !strcmp(got[0].key, "NY") && !strcmp(got[0].value, "80.0"));
    CHECK(got[0].ts == 1001);
    CHECK(got[1].offset == 2 && !strcmp(got[1].key, "OH") && !strcmp(got[1].value, "100.0"));
    int64_t lo, hi;
    REQUIRE(mp_log_offsets(log, "payments", 0, &lo, &hi, &e) == 0);
    CHECK(lo == 0 && hi == 3); /* the log start offset does not move */
    /* Reading from offset 0 (now a gap) starts at the next kept record. */
    n = lt_read_all(log, "payments", 0, 0, 1, got, MAXR);
    CHECK(n == 2 && got[0].offset == 1);
    /* Segment 0 is now empty (kept so the log start offset stays), segment
     * 1 unchanged: together they were larger than segment.bytes, so not
     * merged. */
    CHECK(count_logs(dir, "payments") == 3);
    char path[400];
    snprintf(path, sizeof path, "%s/topics/payments-0/%020d.log", dir, 0);
    CHECK(lt_file_size(path) == 0);
    /* A second pass changes nothing. */
    REQUIRE(mp_log_compact(log, "payments", &e) == 0);
    CHECK(lt_read_all(log, "payments", 0, 0, 1 << 20, got, MAXR) == 2);
    lt_close(log);
}

/* ---- many keys against a model ------------------------------------------------ */

typedef struct model {
    int64_t n;
    char key[MAXR][16];
    char value[MAXR][32];
    int keyless[MAXR], tomb[MAXR];
    int64_t ts[MAXR];
} model;

static model M;

static int64_t latest_of(const model *m, int64_t upto, const char *key)
{
    int64_t best = -1;
    for (int64_t i = 0; i < upto; i++)
        if (!m->keyless[i] && !strcmp(m->key[i], key))
            best = i;
    return best;
}

/* Checks the log against the model: every record below the active base is
 * kept iff keyless or the latest of its key (and not a tombstone older than
 * tomb_cut); everything at or above it is kept; values, keys and timestamps
 * as produced. */
static int check_model(mp_log *log, const char *dir, const char *topic, const model *m,
                       int64_t tomb_cut)
{
    int64_t ab = active_base(dir, topic);
    long n = lt_read_all(log, topic, 0, 0, 700, got, MAXR);
    if (n < 0)
        return 0;
    long j = 0;
    int bad = 0;
    int64_t prev = -1;
    for (int64_t o = 0; o < m->n; o++) {
        int want = o >= ab || m->keyless[o] ||
                   (latest_of(m, m->n, m->key[o]) == o && !(m->tomb[o] && m->ts[o] < tomb_cut));
        if (!want)
            continue;
        if (j >= n || got[j].offset != o) {
            bad++;
            continue;
        }
        const lt_seen *s = &got[j++];
        int b = s->offset <= prev;
        prev = s->offset;
        b += s->key_null != m->keyless[o] || s->value_null != m->tomb[o] || s->ts != m->ts[o];
        b += !m->keyless[o] && strcmp(s->key, m->key[o]);
        b += !m->tomb[o] && strcmp(s->value, m->value[o]);
        if (b)
            fprintf(stderr, "model: offset %" PRId64 ": got %s=%s ts %" PRId64 "%s, want %s=%s%s\n",
                    o, s->key, s->value, s->ts, s->value_null ? " (null)" : "", m->key[o],
                    m->value[o], m->tomb[o] ? " (null)" : "");
        bad += b != 0;
    }
    bad += j != n;
    if (bad)
        fprintf(stderr, "model: %d mismatches (%ld read, %ld expected, active base %" PRId64 ")\n",
                bad, n, j, ab);
    return bad == 0;
}

static void model_add(model *m, mp_log *log, const char *topic, int keyless, const char *k,
                      const char *v, int64_t ts)
{
    int64_t i = m->n;
    snprintf(m->key[i], sizeof m->key[i], "%s", keyless ? "" : k);
    snprintf(m->value[i], sizeof m->value[i], "%s", v ? v : "");
    m->keyless[i] = keyless;
    m->tomb[i] = v == NULL;
    m->ts[i] = ts;
    int64_t off = put(log, topic, keyless ? NULL : k, v, ts);
    if (off != i)
        fprintf(stderr, "model: offset %" PRId64 " != %" PRId64 "\n", off, i);
    m->n++;
}

static void produce_random(model *m, mp_log *log, const char *topic, mp_rng *rng, int count,
                           int nkeys, int64_t ts)
{
    for (int i = 0; i < count; i++) {
        char k[16], v[32];
        snprintf(k, sizeof k, "key%d", (int)mp_rng_below(rng, (uint64_t)nkeys));
        snprintf(v, sizeof v, "v%" PRId64, m->n);
        uint64_t r = mp_rng_below(rng, 100);
        model_add(m, log, topic, r < 3, k, r >= 3 && r < 8 ? NULL : v, ts + m->n);
    }
}

static void test_many_keys_model(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    const char *cfgs[] = {"cleanup.policy=compact", "segment.bytes=1500",
                          "index.interval.bytes=200", "compression.type=gzip"};
    mp_log *log = make_topic(dir, "m", cfgs, 4);
    REQUIRE(log);
    mp_rng rng;
    mp_rng_seed(&rng, 42);
    memset(&M, 0, sizeof M);
    int64_t now = mp_clock_wall_ms();
    mp_error e = {0};
    for (int round = 0; round < 4; round++) {
        produce_random(&M, log, "m", &rng, 600, 60, now - 100000);
        /* A few multi-record batches too, so partial batches get rewritten. */
        mp_record recs[5];
        char keys[5][16], vals[5][32];
        for (int i = 0; i < 5; i++) {
            snprintf(keys[i], 16, "key%d", i * 7 % 60);
            snprintf(vals[i], 32, "b%" PRId64, M.n + i);
            recs[i] = lt_rec(keys[i], vals[i], now - 50000);
            snprintf(M.key[M.n + i], 16, "%s", keys[i]);
            snprintf(M.value[M.n + i], 32, "%s", vals[i]);
            M.keyless[M.n + i] = M.tomb[M.n + i] = 0;
            M.ts[M.n + i] = now - 50000;
        }
        mp_log_produced out[5];
        REQUIRE(mp_log_produce_batch(log, "m", 0, recs, 5, out, &e) == 0);
        CHECK(out[0].offset == M.n);
        M.n += 5;
        produce_random(&M, log, "m", &rng, 200, 60, now - 90000);
        long before = log_bytes(dir, "m");
        mp_compact_stats st;
        (void)st;
        REQUIRE(mp_log_compact(log, "m", &e) == 0);
        CHECK(check_model(log, dir, "m", &M, mp_clock_wall_ms() - 86400000));
        CHECK(log_bytes(dir, "m") < before);
    }
    /* Reopened, everything the same. */
    lt_close(log);
    log = lt_open(dir);
    REQUIRE(log);
    CHECK(check_model(log, dir, "m", &M, mp_clock_wall_ms() - 86400000));
    /* Fetching from every offset gives the first kept record at or after
     * it (a sample). */
    mp_log_fetch_result r = {0};
    int bad = 0;
    long n = lt_read_all(log, "m", 0, 0, 1 << 20, got, MAXR);
    for (int64_t o = 0; o < M.n && n > 0; o += 37) {
        if (mp_log_fetch(log, "m", 0, o, 1, &r, &e)) {
            bad++;
            continue;
        }
        int64_t want = -1;
        for (long i = 0; i < n; i++)
            if (got[i].offset >= o) {
                want = got[i].offset;
                break;
            }
        bad += r.n == 0 || r.recs[0].offset != want;
    }
    mp_log_fetch_result_free(&r);
    CHECK(bad == 0);
    lt_close(log);
}

/* ---- tombstones ------------------------------------------------------------------ */

static void test_tombstones(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    const char *cfgs[] = {"cleanup.policy=compact", "segment.bytes=100",
                          "delete.retention.ms=60000"};
    mp_log *log = make_topic(dir, "t", cfgs, 3);
    REQUIRE(log);
    int64_t now = mp_clock_wall_ms();
    put(log, "t", "a", "1", now - 600000);      /* 0 */
    put(log, "t", "b", "1", now - 600000);      /* 1 */
    put(log, "t", "a", NULL, now - 120000);     /* 2: expired tombstone */
    put(log, "t", "b", NULL, now - 1000);       /* 3: fresh tombstone */
    put(log, "t", "c", "1", now);               /* 4: active */
    mp_error e = {0};
    REQUIRE(mp_log_compact(log, "t", &e) == 0);
    long n = lt_read_all(log, "t", 0, 0, 1 << 20, got, MAXR);
    REQUIRE(n == 2);
    CHECK(got[0].offset == 3 && !strcmp(got[0].key, "b") && got[0].value_null);
    CHECK(got[1].offset == 4 && !strcmp(got[1].key, "c"));
    /* A tombstone still in the active segment is never dropped, and its
     * key's older values go. */
    put(log, "t", "c", NULL, now - 120000); /* 5: active, expired */
    REQUIRE(mp_log_compact(log, "t", &e) == 0);
    n = lt_read_all(log, "t", 0, 0, 1 << 20, got, MAXR);
    REQUIRE(n == 2);
    CHECK(got[0].offset == 3 && got[1].offset == 5 && got[1].value_null);
    lt_close(log);
}

/* ---- min.compaction.lag.ms -------------------------------------------------------- */

static void test_min_compaction_lag(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    const char *cfgs[] = {"cleanup.policy=compact", "segment.bytes=100",
                          "min.compaction.lag.ms=3600000"};
    mp_log *log = make_topic(dir, "l", cfgs, 3);
    REQUIRE(log);
    int64_t now = mp_clock_wall_ms();
    put(log, "l", "k", "old1", now - 7200000); /* 0: old enough, superseded: goes */
    put(log, "l", "k", "old2", now - 7100000); /* 1: old enough, superseded: goes */
    put(log, "l", "k", "new1", now - 60000);   /* 2: too recent: stays */
    put(log, "l", "k", "new2", now - 1000);    /* 3: too recent: stays */
    put(log, "l", "j", "x", now - 7000000);    /* 4: behind a recent segment: stays */
    put(log, "l", "j", "y", now);              /* 5: active */
    mp_error e = {0};
    REQUIRE(mp_log_compact(log, "l", &e) == 0);
    long n = lt_read_all(log, "l", 0, 0, 1 << 20, got, MAXR);
    REQUIRE(n == 4);
    CHECK(got[0].offset == 2 && !strcmp(got[0].value, "new1"));
    CHECK(got[1].offset == 3 && got[2].offset == 4 && got[3].offset == 5);
    /* With the lag at 0, all of it is cleanable. */
    const char *alt[] = {"min.compaction.lag.ms=0"};
    REQUIRE(mp_log_topic_alter(log, "l", alt, 1, &e) == 0);
    REQUIRE(mp_log_compact(log, "l", &e) == 0);
    n = lt_read_all(log, "l", 0, 0, 1 << 20, got, MAXR);
    REQUIRE(n == 2);
    CHECK(got[0].offset == 3 && !strcmp(got[0].value, "new2"));
    CHECK(got[1].offset == 5 && !strcmp(got[1].value, "y"));
    lt_close(log);
}

/* ---- the active segment ----------------------------------------------------------- */

static int read_file(const char *path, mp_buf *out)
{
    mp_buf_reset(out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char b[4096];
    size_t k;
    while ((k = fread(b, 1, sizeof b, f)) > 0)
        mp_buf_append(out, b, k);
    fclose(f);
    return out->oom ? -1 : 0;
}

static void test_active_untouched(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    /* Large segments: everything stays in the active one. */
    const char *cfgs[] = {"cleanup.policy=compact"};
    mp_log *log = make_topic(dir, "a", cfgs, 1);
    REQUIRE(log);
    for (int i = 0; i < 50; i++) {
        char v[16];
        snprintf(v, sizeof v, "v%d", i);
        put(log, "a", i % 2 ? "x" : "y", v, 1000 + i);
    }
    char path[400];
    snprintf(path, sizeof path, "%s/topics/a-0/%020d.log", dir, 0);
    mp_buf before = {0}, after = {0};
    REQUIRE(read_file(path, &before) == 0);
    mp_error e = {0};
    REQUIRE(mp_log_compact(log, "a", &e) == 0);
    REQUIRE(read_file(path, &after) == 0);
    CHECK(before.len == after.len && before.len > 0 &&
          !memcmp(before.data, after.data, before.len));
    CHECK(lt_read_all(log, "a", 0, 0, 1 << 20, got, MAXR) == 50);
    mp_buf_free(&before);
    mp_buf_free(&after);
    lt_close(log);
}

/* ---- a delete-only topic ------------------------------------------------------------ */

static void test_delete_policy_refused(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    const char *cfgs[] = {"segment.bytes=100"};
    mp_log *log = make_topic(dir, "d", cfgs, 1);
    REQUIRE(log);
    put(log, "d", "k", "1", 1);
    put(log, "d", "k", "2", 2);
    mp_error e = {0};
    CHECK(mp_log_compact(log, "d", &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "cleanup.policy");
    CHECK_STR_CONTAINS(e.msg, "d");
    CHECK(lt_read_all(log, "d", 0, 0, 1 << 20, got, MAXR) == 2);
    CHECK(mp_log_compact(log, "nope", &e) == MP_ENOTFOUND);
    /* compact,delete is accepted. */
    const char *alt[] = {"cleanup.policy=compact,delete"};
    REQUIRE(mp_log_topic_alter(log, "d", alt, 1, &e) == 0);
    REQUIRE(mp_log_compact(log, "d", &e) == 0);
    long n = lt_read_all(log, "d", 0, 0, 1 << 20, got, MAXR);
    CHECK(n == 1 && got[0].offset == 1);
    lt_close(log);
}

/* ---- a crash around the swap ------------------------------------------------------- */

static int hook_mode; /* 1: crash before the commit point, 2: just after it */
static int hook_calls;

static int crash_hook(mp_partition *p, mp_segment *const *old, size_t nold,
                      mp_segment *const *fresh, size_t nfresh)
{
    hook_calls++;
    if (hook_mode == 2) {
        mp_error e = {0};
        for (size_t i = 0; i < nfresh; i++)
            if (mp_segment_sync(fresh[i], &e) || mp_segment_write_indexes(fresh[i], &e))
                fprintf(stderr, "hook: %s\n", e.msg);
        mp_buf m = {0};
        mp_buf_puts(&m, "{\"old\":[");
        for (size_t i = 0; i < nold; i++)
            mp_buf_printf(&m, "%s%" PRId64, i ? "," : "", old[i]->base_offset);
        mp_buf_puts(&m, "],\"new\":[");
        for (size_t i = 0; i < nfresh; i++)
            mp_buf_printf(&m, "%s%" PRId64, i ? "," : "", fresh[i]->base_offset);
        mp_buf_puts(&m, "]}");
        char path[600];
        snprintf(path, sizeof path, "%s/replace.json", p->dir);
        if (lt_write_file(path, m.data, m.len))
            fprintf(stderr, "hook: cannot write %s\n", path);
        mp_buf_free(&m);
    }
    return 1;
}

static void test_crash_during_swap(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    const char *cfgs[] = {"cleanup.policy=compact", "segment.bytes=300"};
    mp_log *log = make_topic(dir, "c", cfgs, 2);
    REQUIRE(log);
    mp_rng rng;
    mp_rng_seed(&rng, 7);
    memset(&M, 0, sizeof M);
    produce_random(&M, log, "c", &rng, 300, 20, 5000);
    long n0 = lt_read_all(log, "c", 0, 0, 1 << 20, got, MAXR);
    REQUIRE(n0 == 300);
    char pdir[400];
    snprintf(pdir, sizeof pdir, "%s/topics/c-0", dir);
    mp_error e = {0};

    /* Before the commit point: the old data stays, the output is thrown
     * away by the next open. */
    hook_mode = 1;
    hook_calls = 0;
    mp_log_compact_test_hook = crash_hook;
    CHECK(mp_log_compact(log, "c", &e) == MP_EIO);
    CHECK(hook_calls == 1);
    CHECK(lt_count_files(pdir, ".cleaned") == 3);
    CHECK(lt_read_all(log, "c", 0, 0, 1 << 20, got, MAXR) == 300);
    lt_close(log);
    log = lt_open(dir);
    REQUIRE(log);
    CHECK(lt_count_files(pdir, ".cleaned") == 0);
    CHECK(lt_read_all(log, "c", 0, 0, 1 << 20, got, MAXR) == 300);

    /* Just after the commit point: the next open finishes the swap. */
    hook_mode = 2;
    hook_calls = 0;
    CHECK(mp_log_compact(log, "c", &e) == MP_EIO);
    CHECK(hook_calls == 1);
    mp_log_compact_test_hook = NULL;
    lt_close(log);
    log = lt_open(dir);
    REQUIRE(log);
    char path[600];
    snprintf(path, sizeof path, "%s/replace.json", pdir);
    CHECK(access(path, F_OK) != 0);
    CHECK(lt_count_files(pdir, ".cleaned") == 0);
    long n1 = lt_read_all(log, "c", 0, 0, 1 << 20, got, MAXR);
    CHECK(n1 > 0 && n1 < 300);
    /* The first group was swapped in; finishing the pass gives the model. */
    REQUIRE(mp_log_compact(log, "c", &e) == 0);
    CHECK(check_model(log, dir, "c", &M, mp_clock_wall_ms() - 86400000));
    /* And writing goes on. */
    CHECK(put(log, "c", "key1", "after", 1) == 300);
    lt_close(log);
}

/* ---- a reader during compaction ----------------------------------------------------- */

typedef struct reader_arg {
    mp_log *log;
    atomic_int stop;
    int bad, passes;
    char msg[256];
} reader_arg;

static void *reader(void *arg)
{
    reader_arg *a = arg;
    mp_log_fetch_result r = {0};
    mp_error e = {0};
    while (!atomic_load(&a->stop) && !a->bad) {
        int64_t off = 0, prev = -1;
        for (;;) {
            if (mp_log_fetch(a->log, "r", 0, off, 400, &r, &e)) {
                a->bad++;
                snprintf(a->msg, sizeof a->msg, "%.200s", e.msg);
                break;
            }
            for (size_t i = 0; i < r.n; i++) {
                const mp_record *x = &r.recs[i];
                char want[32];
                snprintf(want, sizeof want, "v%" PRId64, x->offset);
                if (x->offset <= prev || x->value_len != (int32_t)strlen(want) ||
                    memcmp(x->value, want, strlen(want))) {
                    a->bad++;
                    snprintf(a->msg, sizeof a->msg, "record at %" PRId64 " after %" PRId64,
                             x->offset, prev);
                }
                prev = x->offset;
            }
            if (r.next_offset >= r.latest || r.n == 0)
                break;
            off = r.next_offset;
        }
        a->passes++;
    }
    mp_log_fetch_result_free(&r);
    return NULL;
}

static void test_concurrent_reader(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    const char *cfgs[] = {"cleanup.policy=compact", "segment.bytes=800"};
    mp_log *log = make_topic(dir, "r", cfgs, 2);
    REQUIRE(log);
    mp_rng rng;
    mp_rng_seed(&rng, 3);
    int64_t next = 0;
    for (int i = 0; i < 400; i++, next++) {
        char k[16], v[32];
        snprintf(k, sizeof k, "k%d", (int)mp_rng_below(&rng, 30));
        snprintf(v, sizeof v, "v%" PRId64, next);
        put(log, "r", k, v, 1000 + next);
    }
    reader_arg a = {.log = log};
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, reader, &a) == 0);
    mp_error e = {0};
    int fails = 0;
    for (int round = 0; round < 8; round++) {
        fails += mp_log_compact(log, "r", &e) != 0;
        for (int i = 0; i < 60; i++, next++) {
            char k[16], v[32];
            snprintf(k, sizeof k, "k%d", (int)mp_rng_below(&rng, 30));
            snprintf(v, sizeof v, "v%" PRId64, next);
            put(log, "r", k, v, 1000 + next);
        }
    }
    atomic_store(&a.stop, 1);
    pthread_join(t, NULL);
    CHECK(fails == 0);
    CHECK(a.bad == 0);
    if (a.bad)
        fprintf(stderr, "reader: %s\n", a.msg);
    CHECK(a.passes > 0);
    /* After the last pass every key's latest value is there. */
    long n = lt_read_all(log, "r", 0, 0, 1 << 20, got, MAXR);
    CHECK(n > 0 && n < next);
    lt_close(log);
}

/* ---- the background pass -------------------------------------------------------------- */

static void test_background_cleaner(void)
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
    const char *cfgs[] = {"cleanup.policy=compact", "segment.bytes=100"};
    REQUIRE(mp_log_topic_create(log, "bg", 1, cfgs, 2, &e) == 0);
    const char *dcfgs[] = {"segment.bytes=100", "retention.ms=-1"};
    REQUIRE(mp_log_topic_create(log, "plain", 1, dcfgs, 2, &e) == 0);
    for (int i = 0; i < 20; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        put(log, "bg", "k", v, 1000 + i);
        put(log, "plain", "k", v, 1000 + i);
    }
    long n = 0;
    for (int waited = 0; waited < 5000; waited += 20) {
        n = lt_read_all(log, "bg", 0, 0, 1 << 20, got, MAXR);
        if (n <= 1)
            break;
        usleep(20000);
    }
    /* Every closed record of k is superseded by the active one. */
    CHECK(n == 1);
    CHECK(got[n - 1].offset == 19 && !strcmp(got[n - 1].value, "19"));
    /* The delete-policy topic is left alone. */
    CHECK(lt_read_all(log, "plain", 0, 0, 1 << 20, got, MAXR) == 20);
    REQUIRE(mp_log_close(log, &e) == 0);
}


/* ---- the checkpoint through the log's interface ---------------------------------------- */

static void ck_file(const char *dir, const char *topic, char *out, size_t n)
{
    snprintf(out, n, "%s/topics/%s-0/" MP_LOG_CLEANER_CHECKPOINT, dir, topic);
}

/* The cleaner's debug messages, collected (any thread). */
static pthread_mutex_t dbg_mu = PTHREAD_MUTEX_INITIALIZER;
static mp_buf dbg;

static void capture(void *arg, const char *msg)
{
    (void)arg;
    pthread_mutex_lock(&dbg_mu);
    mp_buf_puts(&dbg, msg);
    mp_buf_puts(&dbg, "\n");
    pthread_mutex_unlock(&dbg_mu);
}

static int dbg_has(const char *what)
{
    pthread_mutex_lock(&dbg_mu);
    int has = dbg.data && strstr(dbg.data, what);
    pthread_mutex_unlock(&dbg_mu);
    return has;
}

static long file_ino(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_ino : -1;
}

/* A model run across close and reopen: the second compaction starts from
 * the checkpoint the first one left and gives the model's result. */
static void test_checkpoint_across_reopen(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    const char *cfgs[] = {"cleanup.policy=compact", "segment.bytes=1200",
                          "index.interval.bytes=200"};
    mp_log *log = make_topic(dir, "cp", cfgs, 3);
    REQUIRE(log);
    mp_rng rng;
    mp_rng_seed(&rng, 11);
    memset(&M, 0, sizeof M);
    int64_t now = mp_clock_wall_ms();
    produce_random(&M, log, "cp", &rng, 500, 40, now - 100000);
    mp_error e = {0};
    char path[400];
    ck_file(dir, "cp", path, sizeof path);
    CHECK(access(path, F_OK) != 0);
    REQUIRE(mp_log_compact(log, "cp", &e) == 0);
    CHECK(access(path, F_OK) == 0);
    CHECK(check_model(log, dir, "cp", &M, mp_clock_wall_ms() - 86400000));
    lt_close(log);
    log = lt_open(dir);
    REQUIRE(log);
    produce_random(&M, log, "cp", &rng, 300, 40, now - 90000);
    REQUIRE(mp_log_compact(log, "cp", &e) == 0);
    CHECK(check_model(log, dir, "cp", &M, mp_clock_wall_ms() - 86400000));
    /* Deleting the topic deletes its checkpoint: a topic created again
     * under the name starts from nothing clean. */
    REQUIRE(mp_log_topic_delete(log, "cp", &e) == 0);
    REQUIRE(mp_log_topic_create(log, "cp", 1, cfgs, 3, &e) == 0);
    CHECK(access(path, F_OK) != 0);
    memset(&M, 0, sizeof M);
    produce_random(&M, log, "cp", &rng, 200, 10, now - 80000);
    REQUIRE(mp_log_compact(log, "cp", &e) == 0);
    CHECK(check_model(log, dir, "cp", &M, mp_clock_wall_ms() - 86400000));
    lt_close(log);
}

/* The background thread decides from the checkpoint: a partition cleaned
 * before the log was closed is not read or rewritten again after it is
 * reopened; new dirty data above the ratio is cleaned. */
static void test_background_after_reopen(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    const char *cfgs[] = {"cleanup.policy=compact", "segment.bytes=100"};
    mp_log *log = make_topic(dir, "br", cfgs, 2);
    REQUIRE(log);
    for (int i = 0; i < 12; i++) {
        char k[16], v[16];
        snprintf(k, sizeof k, "k%d", i % 4);
        snprintf(v, sizeof v, "%d", i);
        put(log, "br", k, v, 1000 + i);
    }
    mp_error e = {0};
    REQUIRE(mp_log_compact(log, "br", &e) == 0);
    /* Once more, so that segments emptied by the first pass are merged. */
    REQUIRE(mp_log_compact(log, "br", &e) == 0);
    lt_close(log);
    char seg0[400], ckp[400];
    snprintf(seg0, sizeof seg0, "%s/topics/br-0/%020d.log", dir, 0);
    ck_file(dir, "br", ckp, sizeof ckp);
    long ino0 = file_ino(seg0), inock = file_ino(ckp);
    REQUIRE(ino0 > 0 && inock > 0);
    mp_log_options o = MP_LOG_OPTIONS_INIT;
    o.background = 1;
    o.background_tick_ms = 10;
    o.retention_check_ms = 20;
    mp_buf_reset(&dbg);
    mp_log_cleaner_set_debug(capture, NULL);
    REQUIRE(mp_log_open_embedded(dir, &o, &log, &e) == 0);
    usleep(300000); /* about 15 looks of the cleaner */
    CHECK(file_ino(seg0) == ino0);
    CHECK(file_ino(ckp) == inock);
    CHECK(!dbg_has("br-0: cleaning")); /* no pass was even started */
    long n = lt_read_all(log, "br", 0, 0, 1 << 20, got, MAXR);
    /* New data: every closed record is dirty and superseded. */
    for (int i = 12; i < 20; i++) {
        char v[16];
        snprintf(v, sizeof v, "%d", i);
        put(log, "br", "k0", v, 1000 + i);
    }
    long m = 0;
    for (int waited = 0; waited < 5000; waited += 20) {
        m = lt_read_all(log, "br", 0, 0, 1 << 20, got, MAXR);
        if (file_ino(ckp) != inock && m < n + 8)
            break;
        usleep(20000);
    }
    CHECK(file_ino(ckp) != inock);
    CHECK(m < n + 8);
    CHECK(got[m - 1].offset == 19 && !strcmp(got[m - 1].value, "19"));
    CHECK(dbg_has("br-0: cleaning from offset"));
    mp_log_cleaner_set_debug(NULL, NULL);
    REQUIRE(mp_log_close(log, &e) == 0);
}

/* max.compaction.lag.ms: a small update to a large clean partition stays
 * below min.cleanable.dirty.ratio, yet the background cleans it once it is
 * older than the lag; a topic without the lag keeps it. */
static void test_background_max_lag(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_log_options o = MP_LOG_OPTIONS_INIT;
    o.background = 1;
    o.background_tick_ms = 10;
    o.retention_check_ms = 20;
    mp_log *log = NULL;
    mp_error e = {0};
    REQUIRE(mp_log_open_embedded(dir, &o, &log, &e) == 0);
    const char *lag[] = {"cleanup.policy=compact", "segment.bytes=100",
                         "max.compaction.lag.ms=50"};
    const char *nolag[] = {"cleanup.policy=compact", "segment.bytes=100"};
    REQUIRE(mp_log_topic_create(log, "lag", 1, lag, 3, &e) == 0);
    REQUIRE(mp_log_topic_create(log, "nolag", 1, nolag, 2, &e) == 0);
    const char *topics[] = {"lag", "nolag"};
    int64_t now = mp_clock_wall_ms();
    for (int t = 0; t < 2; t++) {
        for (int i = 0; i < 30; i++) {
            char k[16];
            snprintf(k, sizeof k, "key%02d", i);
            put(log, topics[t], k, "first", now - 10000);
        }
        REQUIRE(mp_log_compact(log, topics[t], &e) == 0);
        /* One update in a segment of its own, closed by the next record. */
        put(log, topics[t], "key05", "second", now - 5000);
        put(log, topics[t], "other", "x", now - 5000);
    }
    long n[2] = {0, 0};
    for (int waited = 0; waited < 3000; waited += 20) {
        n[0] = lt_read_all(log, "lag", 0, 0, 1 << 20, got, MAXR);
        if (n[0] == 31)
            break;
        usleep(20000);
    }
    n[1] = lt_read_all(log, "nolag", 0, 0, 1 << 20, got, MAXR);
    CHECK(n[0] == 31); /* key05=first went */
    CHECK(n[1] == 32); /* ratio 1 segment of ~31: no pass */
    REQUIRE(mp_log_close(log, &e) == 0);
}

int main(void)
{
    RUN(test_talk_example);
    RUN(test_many_keys_model);
    RUN(test_tombstones);
    RUN(test_min_compaction_lag);
    RUN(test_active_untouched);
    RUN(test_delete_policy_refused);
    RUN(test_crash_during_swap);
    RUN(test_concurrent_reader);
    RUN(test_background_cleaner);
    RUN(test_checkpoint_across_reopen);
    RUN(test_background_after_reopen);
    RUN(test_background_max_lag);
    mp_buf_free(&dbg);
    lt_cleanup();
    return TEST_SUMMARY();
}
