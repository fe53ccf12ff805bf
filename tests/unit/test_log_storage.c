/* The embedded log's storage through the mp_log interface: round trips over
 * many segments, Kafka's partitioner, fetch budgets and positions, range
 * errors, the offset and time indexes against brute force, retention,
 * reopening, topic administration and configuration errors. */
#include <inttypes.h>

#include "core/clock.h"
#include "log/log.h"
#include "log/log_batch.h"
#include "log/log_index.h"
#include "log_test_util.h"

#define BIG 100000000

static int64_t now_ms(void) { return mp_clock_wall_ms(); }

static void test_roundtrip_many_segments(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_log *log = lt_open(dir);
    REQUIRE(log);
    mp_error e = {0};
    const char *cfg[] = {"segment.bytes=1024", "index.interval.bytes=100"};
    REQUIRE(mp_log_topic_create(log, "events", 1, cfg, 2, &e) == 0);

    enum { N = 600 };
    static lt_seen want[N];
    int64_t t0 = 1700000000000LL;
    int64_t next = 0;
    int bad_offsets = 0;
    /* Singles and batches of 1..9, with keys, null keys, tombstones and
     * headers mixed in. */
    for (int i = 0; i < N;) {
        int k = (i / 7) % 9 + 1;
        if (i + k > N)
            k = N - i;
        mp_record recs[9];
        char keys[9][16], vals[9][64];
        mp_record_header hdr = {"trace", 5, (const uint8_t *)"abc", 3};
        for (int j = 0; j < k; j++) {
            int idx = i + j;
            snprintf(keys[j], sizeof keys[j], "k%d", idx % 13);
            snprintf(vals[j], sizeof vals[j], "value-%d-%.*s", idx, idx % 20, "xxxxxxxxxxxxxxxxxxxx");
            recs[j] = lt_rec(idx % 5 == 0 ? NULL : keys[j], idx % 11 == 3 ? NULL : vals[j],
                             t0 + idx);
            if (idx % 4 == 1) {
                recs[j].nheaders = 1;
                recs[j].headers = &hdr;
            }
            lt_seen *w = &want[idx];
            w->offset = idx;
            w->ts = t0 + idx;
            w->key_null = idx % 5 == 0;
            w->value_null = idx % 11 == 3;
            snprintf(w->key, sizeof w->key, "%.15s", w->key_null ? "" : keys[j]);
            snprintf(w->value, sizeof w->value, "%.60s", w->value_null ? "" : vals[j]);
        }
        mp_log_produced out[9];
        if (k == 1) {
            int32_t p;
            int64_t off;
            REQUIRE(mp_log_produce(log, "events", 0, &recs[0], &p, &off, &e) == 0);
            out[0] = (mp_log_produced){p, off};
        } else {
            REQUIRE(mp_log_produce_batch(log, "events", MP_LOG_ANY_PARTITION, recs, (size_t)k, out,
                                         &e) == 0 ||
                    (fprintf(stderr, "%s\n", e.msg), 0));
        }
        for (int j = 0; j < k; j++)
            if (out[j].partition != 0 || out[j].offset != next++)
                bad_offsets++;
        i += k;
    }
    CHECK(bad_offsets == 0);

    mp_log_topic_info *info = NULL;
    REQUIRE(mp_log_topic_describe(log, "events", &info, &e) == 0);
    CHECK(info->partitions == 1);
    CHECK(info->parts[0].earliest == 0);
    CHECK(info->parts[0].latest == N);
    CHECK(info->parts[0].segments > 20);
    CHECK(info->config.segment_bytes == 1024);
    char part_dir[300];
    snprintf(part_dir, sizeof part_dir, "%s/topics/events-0", dir);
    CHECK(lt_count_files(part_dir, ".log") == info->parts[0].segments);
    CHECK(lt_count_files(part_dir, ".index") == info->parts[0].segments);
    CHECK(lt_count_files(part_dir, ".timeindex") == info->parts[0].segments);
    mp_log_topic_info_free(info);

    /* Small budgets, a medium one, and everything at once. */
    size_t budgets[] = {1, 150, 700, BIG};
    static lt_seen got[N + 10];
    for (size_t b = 0; b < sizeof budgets / sizeof budgets[0]; b++) {
        long n = lt_read_all(log, "events", 0, 0, budgets[b], got, N + 10);
        CHECK(n == N);
        int mism = 0;
        for (long i = 0; i < n && i < N; i++) {
            const lt_seen *g = &got[i], *w = &want[i];
            if (g->offset != w->offset || g->ts != w->ts || g->key_null != w->key_null ||
                g->value_null != w->value_null || strcmp(g->key, w->key) ||
                strcmp(g->value, w->value))
                mism++;
        }
        CHECK(mism == 0);
    }

    /* Headers come back too. */
    mp_log_fetch_result r = {0};
    REQUIRE(mp_log_fetch(log, "events", 0, 1, 1, &r, &e) == 0);
    REQUIRE(r.n >= 1);
    CHECK(r.recs[0].offset == 1);
    CHECK(r.recs[0].nheaders == 1);
    CHECK(r.recs[0].nheaders == 1 && r.recs[0].headers[0].key_len == 5 &&
          !memcmp(r.recs[0].headers[0].key, "trace", 5) && r.recs[0].headers[0].value_len == 3);
    mp_log_fetch_result_free(&r);

    /* Every segment file starts with a batch whose base offset is the file's
     * name, and the files hold Kafka batches back to back. */
    DIR *d = opendir(part_dir);
    REQUIRE(d);
    struct dirent *de;
    int files = 0, bad = 0;
    int64_t total_records = 0;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l != 24 || strcmp(de->d_name + 20, ".log"))
            continue;
        files++;
        char path[600];
        snprintf(path, sizeof path, "%s/%s", part_dir, de->d_name);
        char *data;
        size_t len;
        REQUIRE(mp_read_file_raw(path, &data, &len, &e) == 0);
        int64_t base = strtoll(de->d_name, NULL, 10);
        size_t pos = 0;
        int first = 1;
        while (pos < len) {
            mp_batch_info bi;
            if (mp_batch_peek((const uint8_t *)data + pos, len - pos, &bi, NULL) ||
                !mp_batch_crc_ok((const uint8_t *)data + pos, &bi)) {
                bad++;
                break;
            }
            if (first && bi.base_offset != base)
                bad++;
            first = 0;
            total_records += bi.record_count;
            pos += bi.size;
        }
        CHECK(len <= 1024);
        free(data);
    }
    closedir(d);
    CHECK(files > 20);
    CHECK(bad == 0);
    CHECK(total_records == N);
    lt_close(log);
}

/* Expected partition from the Java client's murmur2 values (not from our
 * implementation). */
static int32_t java_partition(int32_t hash, int32_t n) { return (int32_t)(((uint32_t)hash & 0x7fffffffu) % (uint32_t)n); }

static void test_partitioner(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_log *log = lt_open(dir);
    REQUIRE(log);
    mp_error e = {0};
    REQUIRE(mp_log_topic_create(log, "keyed", 7, NULL, 0, &e) == 0);
    struct {
        const char *key;
        int32_t hash;
    } v[] = {{"21", -973932308},
             {"foobar", -790332482},
             {"a-little-bit-long-string", -985981536},
             {"a-little-bit-longer-string", -1486304829},
             {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
             {"abc", 479470107},
             {"", 275646681}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        mp_record r = lt_rec(v[i].key, "x", -1);
        int32_t p = -1;
        int64_t off = -1;
        REQUIRE(mp_log_produce(log, "keyed", MP_LOG_ANY_PARTITION, &r, &p, &off, &e) == 0);
        CHECK(p == java_partition(v[i].hash, 7));
    }
    /* The same key always lands in the same partition, in a batch too, and
     * records of one partition keep their order. */
    mp_record recs[40];
    char keys[40][8], vals[40][8];
    for (int i = 0; i < 40; i++) {
        snprintf(keys[i], sizeof keys[i], "%s", i % 2 ? "foobar" : "abc");
        snprintf(vals[i], sizeof vals[i], "%d", i);
        recs[i] = lt_rec(keys[i], vals[i], -1);
    }
    mp_log_produced out[40];
    REQUIRE(mp_log_produce_batch(log, "keyed", MP_LOG_ANY_PARTITION, recs, 40, out, &e) == 0);
    int bad = 0;
    for (int i = 0; i < 40; i++) {
        int32_t want = java_partition(i % 2 ? -790332482 : 479470107, 7);
        if (out[i].partition != want)
            bad++;
        if (i >= 2 && out[i].offset != out[i - 2].offset + 1)
            bad++;
    }
    CHECK(bad == 0);
    int32_t pa = java_partition(479470107, 7);
    lt_seen got[64];
    long n = lt_read_all(log, "keyed", pa, 0, BIG, got, 64);
    int in_order = 0;
    for (long i = 0; i < n; i++)
        if (!strcmp(got[i].key, "abc") && got[i].value[0] != 'x')
            in_order += atoi(got[i].value) == in_order * 2;
    CHECK(in_order == 20);

    /* Keyless records are spread evenly. */
    REQUIRE(mp_log_topic_create(log, "spread", 6, NULL, 0, &e) == 0);
    mp_record kl[60];
    for (int i = 0; i < 60; i++)
        kl[i] = lt_rec(NULL, "v", -1);
    REQUIRE(mp_log_produce_batch(log, "spread", MP_LOG_ANY_PARTITION, kl, 60, NULL, &e) == 0);
    int even = 1;
    for (int p = 0; p < 6; p++) {
        int64_t lo, hi;
        REQUIRE(mp_log_offsets(log, "spread", p, &lo, &hi, &e) == 0);
        even &= lo == 0 && hi == 10;
    }
    CHECK(even);
    /* Singles too. */
    for (int i = 0; i < 12; i++)
        REQUIRE(mp_log_produce(log, "spread", MP_LOG_ANY_PARTITION, &kl[0], NULL, NULL, &e) == 0);
    even = 1;
    for (int p = 0; p < 6; p++) {
        int64_t hi;
        REQUIRE(mp_log_offsets(log, "spread", p, NULL, &hi, &e) == 0);
        even &= hi == 12;
    }
    CHECK(even);

    /* An explicit partition wins over the key; out of range is an error. */
    mp_record r = lt_rec("abc", "y", -1);
    int32_t p;
    REQUIRE(mp_log_produce(log, "keyed", 6, &r, &p, NULL, &e) == 0);
    CHECK(p == 6);
    CHECK(mp_log_produce(log, "keyed", 7, &r, &p, NULL, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "topic keyed has 7 partitions (0..6), not 7");
    CHECK(mp_log_produce(log, "keyed", -2, &r, &p, NULL, &e) == MP_EINVAL);
    CHECK(mp_log_produce(log, "nosuch", 0, &r, &p, NULL, &e) == MP_ENOTFOUND);
    CHECK_STR_CONTAINS(e.msg, "unknown topic 'nosuch'");
    mp_record broken = lt_rec(NULL, "v", -1);
    broken.key_len = 4; /* a length without a key */
    CHECK(mp_log_produce(log, "keyed", MP_LOG_ANY_PARTITION, &broken, &p, NULL, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "record 0 has a length without data");
    broken = lt_rec("k", "v", -1);
    broken.value_len = -2;
    mp_record two[2] = {r, broken};
    CHECK(mp_log_produce_batch(log, "keyed", 0, two, 2, NULL, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "record 1");
    broken = lt_rec("k", "v", -1);
    broken.nheaders = 2; /* and no headers */
    CHECK(mp_log_produce(log, "keyed", 0, &broken, &p, NULL, &e) == MP_EINVAL);
    r.timestamp = -5;
    CHECK(mp_log_produce(log, "keyed", 0, &r, &p, NULL, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "timestamp -5");
    lt_close(log);
}

static void test_fetch_budget_and_position(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_log *log = lt_open(dir);
    REQUIRE(log);
    mp_error e = {0};
    REQUIRE(mp_log_topic_create(log, "b", 1, NULL, 0, &e) == 0);
    /* Four batches of 10 records each: offsets 0-9, 10-19, 20-29, 30-39. */
    for (int b = 0; b < 4; b++) {
        mp_record recs[10];
        char vals[10][16];
        for (int i = 0; i < 10; i++) {
            snprintf(vals[i], sizeof vals[i], "r%02d", b * 10 + i);
            recs[i] = lt_rec("k", vals[i], 1000 + b * 10 + i);
        }
        REQUIRE(mp_log_produce_batch(log, "b", 0, recs, 10, NULL, &e) == 0);
    }
    mp_log_fetch_result r = {0};
    /* A budget of one byte still returns one whole batch. */
    REQUIRE(mp_log_fetch(log, "b", 0, 0, 1, &r, &e) == 0);
    CHECK(r.n == 10);
    CHECK(r.next_offset == 10);
    size_t one = r.bytes;
    CHECK(one > MP_BATCH_HEADER_SIZE);
    CHECK(r.earliest == 0 && r.latest == 40);
    /* Exactly two batches' worth gives two; one byte less gives one. */
    REQUIRE(mp_log_fetch(log, "b", 0, 0, 2 * one, &r, &e) == 0);
    CHECK(r.n == 20 && r.bytes == 2 * one && r.next_offset == 20);
    REQUIRE(mp_log_fetch(log, "b", 0, 0, 2 * one - 1, &r, &e) == 0);
    CHECK(r.n == 10 && r.next_offset == 10);
    /* Inside a batch: the earlier records of that batch are skipped. */
    REQUIRE(mp_log_fetch(log, "b", 0, 15, 1, &r, &e) == 0);
    CHECK(r.n == 5);
    CHECK(r.n == 5 && r.recs[0].offset == 15 && r.recs[4].offset == 19);
    CHECK(r.n == 5 && r.recs[0].value_len == 3 && !memcmp(r.recs[0].value, "r15", 3));
    CHECK(r.next_offset == 20);
    REQUIRE(mp_log_fetch(log, "b", 0, 39, BIG, &r, &e) == 0);
    CHECK(r.n == 1 && r.recs[0].offset == 39);
    /* At the end: nothing, no error. */
    REQUIRE(mp_log_fetch(log, "b", 0, 40, BIG, &r, &e) == 0);
    CHECK(r.n == 0 && r.next_offset == 40);
    /* Out of range, both sides, named precisely. */
    CHECK(mp_log_fetch(log, "b", 0, 41, BIG, &r, &e) == MP_ENOTFOUND);
    CHECK_STR_CONTAINS(e.msg, "b-0@41: offset out of range (earliest 0, latest 40)");
    CHECK(mp_log_fetch(log, "b", 0, -1, BIG, &r, &e) == MP_ENOTFOUND);
    CHECK_STR_CONTAINS(e.msg, "b-0@-1");
    CHECK(mp_log_fetch(log, "b", 1, 0, BIG, &r, &e) == MP_ENOTFOUND);
    CHECK_STR_CONTAINS(e.msg, "topic b has 1 partition (0..0), not 1");
    CHECK(mp_log_fetch(log, "nope", 0, 0, BIG, &r, &e) == MP_ENOTFOUND);
    mp_log_fetch_result_free(&r);
    lt_close(log);
}

/* Index files: parse them and check every entry against the log, and that
 * the entries are exactly where Kafka's rule puts them. */
static void check_segment_indexes(const char *part_dir, const char *name, int32_t interval,
                                  int *bad)
{
    char path[600];
    int64_t base = strtoll(name, NULL, 10);
    snprintf(path, sizeof path, "%s/%s", part_dir, name);
    char *log_data, *ix_data, *ti_data;
    size_t log_len, ix_len, ti_len;
    mp_error e;
    if (mp_read_file_raw(path, &log_data, &log_len, &e)) {
        (*bad)++;
        return;
    }
    snprintf(path, sizeof path, "%s/%.20s.index", part_dir, name);
    if (mp_read_file_raw(path, &ix_data, &ix_len, &e)) {
        free(log_data);
        (*bad)++;
        return;
    }
    snprintf(path, sizeof path, "%s/%.20s.timeindex", part_dir, name);
    if (mp_read_file_raw(path, &ti_data, &ti_len, &e)) {
        free(log_data);
        free(ix_data);
        (*bad)++;
        return;
    }
    /* Brute force: the entries Kafka's rule gives. */
    mp_offset_index want_ix = {0};
    mp_time_index want_ti = {0};
    uint64_t since = 0, pos = 0;
    int64_t max_ts = -1, max_off = -1;
    while (pos < log_len) {
        mp_batch_info bi;
        if (mp_batch_peek((const uint8_t *)log_data + pos, log_len - pos, &bi, NULL)) {
            (*bad)++;
            break;
        }
        int64_t last = bi.base_offset + bi.last_offset_delta;
        if (bi.max_timestamp > max_ts) {
            max_ts = bi.max_timestamp;
            max_off = last;
        }
        if (since > (uint64_t)interval) {
            mp_offset_index_append(&want_ix, (uint32_t)(last - base), (uint32_t)pos);
            mp_time_index_maybe_append(&want_ti, max_ts, (uint32_t)(max_off - base));
            since = 0;
        }
        since += bi.size;
        pos += bi.size;
    }
    if (log_len)
        mp_time_index_maybe_append(&want_ti, max_ts, (uint32_t)(max_off - base));
    mp_buf a = {0}, b = {0};
    mp_offset_index_encode(&want_ix, &a);
    mp_time_index_encode(&want_ti, &b);
    if (a.len != ix_len || (ix_len && memcmp(a.data, ix_data, ix_len)))
        (*bad)++;
    if (b.len != ti_len || (ti_len && memcmp(b.data, ti_data, ti_len)))
        (*bad)++;
    mp_buf_free(&a);
    mp_buf_free(&b);
    mp_offset_index_free(&want_ix);
    mp_time_index_free(&want_ti);
    free(log_data);
    free(ix_data);
    free(ti_data);
}

static void test_index_and_time_lookups(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_log *log = lt_open(dir);
    REQUIRE(log);
    mp_error e = {0};
    const char *cfg[] = {"segment.bytes=4000", "index.interval.bytes=200"};
    REQUIRE(mp_log_topic_create(log, "t", 1, cfg, 2, &e) == 0);
    /* Timestamps that mostly rise but jump back now and then. */
    enum { N = 1500 };
    static int64_t ts[N];
    uint64_t s = 12345;
    int64_t base_ts = 1600000000000LL;
    for (int i = 0; i < N;) {
        int k = 1 + (int)(s % 4);
        mp_record recs[4];
        char vals[4][32];
        for (int j = 0; j < k && i < N; j++, i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            ts[i] = base_ts + i * 10 + (int64_t)((s >> 33) % 400) - 200;
            snprintf(vals[j], sizeof vals[j], "v%d", i);
            recs[j] = lt_rec("key", vals[j], ts[i]);
            k = j + 1;
        }
        REQUIRE(mp_log_produce_batch(log, "t", 0, recs, (size_t)k, NULL, &e) == 0);
    }
    /* Lookups by offset: every offset fetched with a tiny budget starts at
     * exactly that offset. */
    mp_log_fetch_result r = {0};
    int bad = 0;
    for (int64_t off = 0; off < N; off++) {
        if (mp_log_fetch(log, "t", 0, off, 1, &r, &e) || r.n == 0 || r.recs[0].offset != off)
            bad++;
    }
    CHECK(bad == 0);
    mp_log_fetch_result_free(&r);

    /* Lookups by time against a scan of all records. */
    bad = 0;
    for (int64_t q = base_ts - 500; q < base_ts + N * 10 + 500; q += 37) {
        int64_t want = -1, want_ts = -1;
        for (int i = 0; i < N; i++)
            if (ts[i] >= q) {
                want = i;
                want_ts = ts[i];
                break;
            }
        int64_t got = -2, got_ts = -2;
        if (mp_log_offset_for_time(log, "t", 0, q, &got, &got_ts, &e) || got != want ||
            got_ts != want_ts) {
            if (bad++ < 5)
                fprintf(stderr, "time %lld: want %lld got %lld\n", (long long)q, (long long)want,
                        (long long)got);
        }
    }
    CHECK(bad == 0);
    int64_t got;
    REQUIRE(mp_log_offset_for_time(log, "t", 0, base_ts + N * 100, &got, NULL, &e) == 0);
    CHECK(got == -1);

    /* On disk (after close writes the active segment's indexes): every index
     * file is exactly what Kafka's rule gives for its log. */
    lt_close(log);
    char part_dir[300];
    snprintf(part_dir, sizeof part_dir, "%s/topics/t-0", dir);
    DIR *d = opendir(part_dir);
    REQUIRE(d);
    struct dirent *de;
    int segs = 0;
    bad = 0;
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l == 24 && !strcmp(de->d_name + 20, ".log")) {
            segs++;
            check_segment_indexes(part_dir, de->d_name, 200, &bad);
        }
    }
    closedir(d);
    CHECK(segs > 5);
    CHECK(bad == 0);
    /* And an index file is not empty: 4000-byte segments with 200-byte
     * intervals have entries. */
    char ix[400];
    snprintf(ix, sizeof ix, "%s/00000000000000000000.index", part_dir);
    CHECK(lt_file_size(ix) >= 8 * 5);
}

static void produce_at(mp_log *log, const char *topic, int n, int64_t ts, int *counter)
{
    mp_error e = {0};
    for (int i = 0; i < n; i++) {
        char v[64];
        snprintf(v, sizeof v, "record-%05d-padding-padding-padding", (*counter)++);
        mp_record r = lt_rec("k", v, ts);
        if (mp_log_produce(log, topic, 0, &r, NULL, NULL, &e))
            fprintf(stderr, "produce: %s\n", e.msg);
    }
}

static void test_retention_by_time(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_log *log = lt_open(dir);
    REQUIRE(log);
    mp_error e = {0};
    const char *cfg[] = {"segment.bytes=1000", "retention.ms=86400000"};
    REQUIRE(mp_log_topic_create(log, "r", 1, cfg, 2, &e) == 0);
    int counter = 0;
    int64_t now = now_ms();
    produce_at(log, "r", 60, now - 10 * 86400000LL, &counter); /* ten days old */
    int64_t first_new;
    REQUIRE(mp_log_offsets(log, "r", 0, NULL, &first_new, &e) == 0);
    produce_at(log, "r", 60, now, &counter);
    mp_log_topic_info *info;
    REQUIRE(mp_log_topic_describe(log, "r", &info, &e) == 0);
    int32_t segs_before = info->parts[0].segments;
    mp_log_topic_info_free(info);
    int64_t deleted = -1;
    REQUIRE(mp_log_enforce_retention(log, "r", &deleted, &e) == 0);
    CHECK(deleted > 0);
    int64_t lo, hi;
    REQUIRE(mp_log_offsets(log, "r", 0, &lo, &hi, &e) == 0);
    CHECK(hi == 120);
    /* Everything old went, nothing new: the first kept segment starts at
     * or before the first new record and holds no old one after lo. */
    CHECK(lo > 0 && lo <= first_new);
    static lt_seen got[200];
    long n = lt_read_all(log, "r", 0, lo, BIG, got, 200);
    CHECK(n == 120 - lo);
    int old_left = 0;
    for (long i = 0; i < n; i++)
        old_left += got[i].ts < now - 86400000LL;
    /* Only the old records sharing the boundary segment with new ones. */
    CHECK(old_left == first_new - lo);
    REQUIRE(mp_log_topic_describe(log, "r", &info, &e) == 0);
    CHECK(info->parts[0].segments == segs_before - deleted);
    CHECK(info->parts[0].earliest == lo);
    mp_log_topic_info_free(info);
    char part_dir[300];
    snprintf(part_dir, sizeof part_dir, "%s/topics/r-0", dir);
    CHECK(lt_count_files(part_dir, ".log") == segs_before - deleted);
    /* A fetch below the new earliest offset says so. */
    mp_log_fetch_result r = {0};
    CHECK(mp_log_fetch(log, "r", 0, 0, BIG, &r, &e) == MP_ENOTFOUND);
    char want[128];
    snprintf(want, sizeof want, "r-0@0: offset out of range (earliest %lld, latest 120)",
             (long long)lo);
    CHECK_STR_CONTAINS(e.msg, want);
    mp_log_fetch_result_free(&r);
    /* Applying it again removes nothing more. */
    REQUIRE(mp_log_enforce_retention(log, NULL, &deleted, &e) == 0);
    CHECK(deleted == 0);

    /* When everything expired, the active segment rolls and goes too. */
    REQUIRE(mp_log_topic_create(log, "old", 1, cfg, 2, &e) == 0);
    counter = 0;
    produce_at(log, "old", 30, now - 10 * 86400000LL, &counter);
    REQUIRE(mp_log_enforce_retention(log, "old", &deleted, &e) == 0);
    REQUIRE(mp_log_offsets(log, "old", 0, &lo, &hi, &e) == 0);
    CHECK(lo == 30 && hi == 30);
    produce_at(log, "old", 1, now, &counter);
    REQUIRE(mp_log_offsets(log, "old", 0, &lo, &hi, &e) == 0);
    CHECK(lo == 30 && hi == 31);
    /* The delete policy is off for compact-only topics. */
    const char *ccfg[] = {"segment.bytes=1000", "retention.ms=1", "cleanup.policy=compact"};
    REQUIRE(mp_log_topic_create(log, "c", 1, ccfg, 3, &e) == 0);
    produce_at(log, "c", 30, now - 10 * 86400000LL, &counter);
    REQUIRE(mp_log_enforce_retention(log, "c", &deleted, &e) == 0);
    CHECK(deleted == 0);
    /* The whole log after reopening agrees. */
    lt_close(log);
    log = lt_open(dir);
    REQUIRE(log);
    REQUIRE(mp_log_offsets(log, "old", 0, &lo, &hi, &e) == 0);
    CHECK(lo == 30 && hi == 31);
    lt_close(log);
}

static void test_retention_by_bytes(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_log *log = lt_open(dir);
    REQUIRE(log);
    mp_error e = {0};
    const char *cfg[] = {"segment.bytes=1000", "retention.bytes=3000", "retention.ms=-1"};
    REQUIRE(mp_log_topic_create(log, "s", 1, cfg, 3, &e) == 0);
    int counter = 0;
    produce_at(log, "s", 200, now_ms() - 100 * 86400000LL, &counter);
    mp_log_topic_info *info;
    REQUIRE(mp_log_topic_describe(log, "s", &info, &e) == 0);
    int64_t size_before = info->parts[0].size_bytes;
    mp_log_topic_info_free(info);
    CHECK(size_before > 6000);
    int64_t deleted;
    REQUIRE(mp_log_enforce_retention(log, "s", &deleted, &e) == 0);
    CHECK(deleted > 0);
    REQUIRE(mp_log_topic_describe(log, "s", &info, &e) == 0);
    /* Kafka's rule: drop the oldest segments while what stays is still at
     * least retention.bytes; so the rest is >= 3000 but less than 3000 plus
     * one segment. */
    CHECK(info->parts[0].size_bytes >= 3000);
    CHECK(info->parts[0].size_bytes < 3000 + 1000);
    CHECK(info->parts[0].latest == 200);
    int64_t lo = info->parts[0].earliest;
    mp_log_topic_info_free(info);
    static lt_seen got[200];
    CHECK(lt_read_all(log, "s", 0, lo, BIG, got, 200) == 200 - lo);
    lt_close(log);
}

static void test_reopen_keeps_everything(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_log *log = lt_open(dir);
    REQUIRE(log);
    mp_error e = {0};
    const char *cfg[] = {"segment.bytes=2000", "retention.ms=123456", "flush.messages=1",
                         "cleanup.policy=compact,delete", "compression.type=gzip"};
    REQUIRE(mp_log_topic_create(log, "keep", 3, cfg, 5, &e) == 0);
    REQUIRE(mp_log_topic_create(log, "other", 1, NULL, 0, &e) == 0);
    mp_record recs[300];
    char vals[300][32], keys[300][8];
    for (int i = 0; i < 300; i++) {
        snprintf(vals[i], sizeof vals[i], "payload %d", i);
        snprintf(keys[i], sizeof keys[i], "k%d", i % 17);
        recs[i] = lt_rec(keys[i], vals[i], 5000 + i);
    }
    mp_log_produced out[300];
    for (int i = 0; i < 300; i += 30)
        REQUIRE(mp_log_produce_batch(log, "keep", MP_LOG_ANY_PARTITION, recs + i, 30, out + i, &e) ==
                0);
    static lt_seen before[3][300];
    long nb[3];
    for (int p = 0; p < 3; p++)
        nb[p] = lt_read_all(log, "keep", p, 0, 500, before[p], 300);
    CHECK(nb[0] + nb[1] + nb[2] == 300);
    lt_close(log);

    char marker[300];
    snprintf(marker, sizeof marker, "%s/.clean_shutdown", dir);
    CHECK(access(marker, F_OK) == 0);
    log = lt_open(dir);
    REQUIRE(log);
    CHECK(access(marker, F_OK) != 0); /* a crash from now on is not clean */
    char **names;
    size_t nn;
    REQUIRE(mp_log_topic_list(log, &names, &nn, &e) == 0);
    CHECK(nn == 2 && !strcmp(names[0], "keep") && !strcmp(names[1], "other"));
    mp_log_names_free(names, nn);
    mp_log_topic_info *info;
    REQUIRE(mp_log_topic_describe(log, "keep", &info, &e) == 0);
    CHECK(info->partitions == 3);
    CHECK(info->config.segment_bytes == 2000 && info->config.retention_ms == 123456 &&
          info->config.flush_messages == 1 &&
          info->config.cleanup_policy == (MP_LOG_CLEANUP_COMPACT | MP_LOG_CLEANUP_DELETE) &&
          info->config.compression == MP_COMPRESS_GZIP);
    mp_log_topic_info_free(info);
    static lt_seen after[300];
    int same = 1;
    for (int p = 0; p < 3; p++) {
        long n = lt_read_all(log, "keep", p, 0, 700, after, 300);
        same &= n == nb[p];
        for (long i = 0; same && i < n; i++)
            same &= after[i].offset == before[p][i].offset && after[i].ts == before[p][i].ts &&
                    !strcmp(after[i].key, before[p][i].key) &&
                    !strcmp(after[i].value, before[p][i].value);
    }
    CHECK(same);
    /* Offsets continue where they were. */
    int64_t hi;
    REQUIRE(mp_log_offsets(log, "keep", 1, NULL, &hi, &e) == 0);
    int64_t off;
    int32_t p;
    REQUIRE(mp_log_produce(log, "keep", 1, &recs[0], &p, &off, &e) == 0);
    CHECK(off == hi);
    CHECK(hi == nb[1]);
    lt_close(log);
}

static void test_topic_admin(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_log *log = lt_open(dir);
    REQUIRE(log);
    CHECK(!strcmp(mp_log_kind(log), "embedded"));
    mp_error e = {0};
    /* Bad names and configurations create nothing. */
    CHECK(mp_log_topic_create(log, "bad name", 1, NULL, 0, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "invalid topic name 'bad name'");
    CHECK(mp_log_topic_create(log, "..", 1, NULL, 0, &e) == MP_EINVAL);
    CHECK(mp_log_topic_create(log, "", 1, NULL, 0, &e) == MP_EINVAL);
    CHECK(mp_log_topic_create(log, "a/b", 1, NULL, 0, &e) == MP_EINVAL);
    const char *bad1[] = {"segment.bytes=abc"};
    CHECK(mp_log_topic_create(log, "x", 1, bad1, 1, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "segment.bytes");
    CHECK_STR_CONTAINS(e.msg, "'abc'");
    const char *bad2[] = {"retention.ms=5", "no.such.key=1"};
    CHECK(mp_log_topic_create(log, "x", 1, bad2, 2, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "unknown topic config 'no.such.key'");
    const char *bad3[] = {"cleanup.policy=sometimes"};
    CHECK(mp_log_topic_create(log, "x", 1, bad3, 1, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "cleanup.policy");
    const char *bad4[] = {"partitions=3"};
    CHECK(mp_log_topic_create(log, "x", 2, bad4, 1, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "partitions given twice");
    CHECK(mp_log_topic_create(log, "x", MP_LOG_MAX_PARTITIONS + 1, NULL, 0, &e) == MP_EINVAL);
    char **names;
    size_t n;
    REQUIRE(mp_log_topic_list(log, &names, &n, &e) == 0);
    CHECK(n == 0);
    mp_log_names_free(names, n);
    char topics_dir[300];
    snprintf(topics_dir, sizeof topics_dir, "%s/topics", dir);
    CHECK(lt_count_files(topics_dir, ".json") == 0);

    /* partitions=N as a config works like the argument. */
    REQUIRE(mp_log_topic_create(log, "x", 0, bad4, 1, &e) == 0);
    int32_t np;
    REQUIRE(mp_log_partition_count(log, "x", &np, &e) == 0);
    CHECK(np == 3);
    CHECK(mp_log_topic_create(log, "x", 1, NULL, 0, &e) == MP_EEXIST);
    REQUIRE(mp_log_topic_create(log, "x.y_z-1", 0, NULL, 0, &e) == 0);
    REQUIRE(mp_log_partition_count(log, "x.y_z-1", &np, &e) == 0);
    CHECK(np == 1);

    /* Alter: takes new values, refuses bad ones and partition changes. */
    const char *alter[] = {"retention.ms=1000", "segment.bytes=5000"};
    REQUIRE(mp_log_topic_alter(log, "x", alter, 2, &e) == 0);
    mp_log_topic_info *info;
    REQUIRE(mp_log_topic_describe(log, "x", &info, &e) == 0);
    CHECK(info->config.retention_ms == 1000 && info->config.segment_bytes == 5000);
    char v[64];
    CHECK(mp_log_config_get(&info->config, "cleanup.policy", v, sizeof v) == 0 &&
          !strcmp(v, "delete"));
    mp_log_topic_info_free(info);
    const char *alter_bad[] = {"partitions=5"};
    CHECK(mp_log_topic_alter(log, "x", alter_bad, 1, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "partitions cannot be changed");
    CHECK(mp_log_topic_alter(log, "x", bad1, 1, &e) == MP_EINVAL);

    /* Data, then delete: gone from the list, the files and the API. */
    mp_record r = lt_rec("k", "v", -1);
    for (int i = 0; i < 5; i++)
        REQUIRE(mp_log_produce(log, "x", 2, &r, NULL, NULL, &e) == 0);
    REQUIRE(mp_log_topic_delete(log, "x", &e) == 0);
    CHECK(mp_log_topic_delete(log, "x", &e) == MP_ENOTFOUND);
    CHECK(mp_log_offsets(log, "x", 0, NULL, NULL, &e) == MP_ENOTFOUND);
    char pdir[400];
    snprintf(pdir, sizeof pdir, "%s/x-2", topics_dir);
    CHECK(!mp_is_dir(pdir));
    REQUIRE(mp_log_topic_list(log, &names, &n, &e) == 0);
    CHECK(n == 1 && !strcmp(names[0], "x.y_z-1"));
    mp_log_names_free(names, n);
    /* Recreated, it starts from offset 0 with its new partition count. */
    REQUIRE(mp_log_topic_create(log, "x", 1, NULL, 0, &e) == 0);
    int64_t lo, hi;
    REQUIRE(mp_log_offsets(log, "x", 0, &lo, &hi, &e) == 0);
    CHECK(lo == 0 && hi == 0);
    lt_close(log);

    /* An orphan partition directory (a delete interrupted after its commit)
     * is removed on open; a topic's own directories stay. */
    snprintf(pdir, sizeof pdir, "%s/gone-0", topics_dir);
    REQUIRE(mp_mkdirs(pdir, &e) == 0);
    snprintf(pdir, sizeof pdir, "%s/x-1", topics_dir); /* x has 1 partition now */
    REQUIRE(mp_mkdirs(pdir, &e) == 0);
    log = lt_open(dir);
    REQUIRE(log);
    snprintf(pdir, sizeof pdir, "%s/gone-0", topics_dir);
    CHECK(!mp_is_dir(pdir));
    snprintf(pdir, sizeof pdir, "%s/x-1", topics_dir);
    CHECK(!mp_is_dir(pdir));
    snprintf(pdir, sizeof pdir, "%s/x-0", topics_dir);
    CHECK(mp_is_dir(pdir));
    /* A second handle on the same directory is refused. */
    mp_log *second = NULL;
    mp_log_options o = MP_LOG_OPTIONS_INIT;
    o.background = 0;
    CHECK(mp_log_open_embedded(dir, &o, &second, &e) == MP_EINVAL);
    char pid[64];
    snprintf(pid, sizeof pid, "open in another process (pid %ld)", (long)getpid());
    CHECK_STR_CONTAINS(e.msg, pid);
    CHECK(second == NULL);
    lt_close(log);
}

static void test_large_records_and_compression(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_log *log = lt_open(dir);
    REQUIRE(log);
    mp_error e = {0};
    const char *cfg[] = {"max.message.bytes=2000", "segment.bytes=50000",
                         "compression.type=zstd"};
    REQUIRE(mp_log_topic_create(log, "big", 1, cfg, 3, &e) == 0);
    /* A record bigger than max.message.bytes is refused, naming the limit;
     * nothing is written. */
    static char huge[5000];
    uint64_t x = 88172645463325252ULL; /* xorshift: data zstd cannot shrink */
    for (size_t i = 0; i < sizeof huge - 1; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        huge[i] = (char)('!' + x % 90);
    }
    mp_record r = lt_rec("k", huge, -1);
    CHECK(mp_log_produce(log, "big", 0, &r, NULL, NULL, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "max.message.bytes");
    int64_t hi;
    REQUIRE(mp_log_offsets(log, "big", 0, NULL, &hi, &e) == 0);
    CHECK(hi == 0);
    /* A large call is split into batches under the limit, all readable. */
    mp_record recs[200];
    char vals[200][100];
    for (int i = 0; i < 200; i++) {
        snprintf(vals[i], sizeof vals[i], "%d:%.80s", i, huge + i);
        recs[i] = lt_rec("k", vals[i], 1);
    }
    mp_log_produced out[200];
    REQUIRE(mp_log_produce_batch(log, "big", 0, recs, 200, out, &e) == 0);
    CHECK(out[0].offset == 0 && out[199].offset == 199);
    static lt_seen got[200];
    CHECK(lt_read_all(log, "big", 0, 0, 1, got, 200) == 200);
    CHECK(!strcmp(got[123].value, vals[123]));
    mp_log_topic_info *info;
    REQUIRE(mp_log_topic_describe(log, "big", &info, &e) == 0);
    /* 200 x ~95 bytes = 19 KB in batches of at most 2000 bytes. */
    CHECK(info->parts[0].size_bytes < 19000); /* zstd shrank them */
    mp_log_topic_info_free(info);
    /* The stored batches are zstd-compressed Kafka batches. */
    char path[400];
    snprintf(path, sizeof path, "%s/topics/big-0/00000000000000000000.log", dir);
    char *data;
    size_t len;
    REQUIRE(mp_read_file_raw(path, &data, &len, &e) == 0);
    mp_batch_info bi;
    REQUIRE(mp_batch_peek((const uint8_t *)data, len, &bi, NULL) == 0);
    CHECK((bi.attributes & MP_BATCH_ATTR_COMPRESSION_MASK) == MP_COMPRESS_ZSTD);
    CHECK(bi.size <= 2000);
    free(data);
    lt_close(log);
}

int main(void)
{
    RUN(test_roundtrip_many_segments);
    RUN(test_partitioner);
    RUN(test_fetch_budget_and_position);
    RUN(test_index_and_time_lookups);
    RUN(test_retention_by_time);
    RUN(test_retention_by_bytes);
    RUN(test_reopen_keeps_everything);
    RUN(test_topic_admin);
    RUN(test_large_records_and_compression);
    lt_cleanup();
    return TEST_SUMMARY();
}
