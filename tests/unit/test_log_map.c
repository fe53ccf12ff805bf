/* Reading segments through memory maps (mp_log_options.map_reads, on by
 * default): fetches give the same records with maps and with pread, a
 * fetch result keeps the segments it points into mapped while retention
 * deletes them or compaction swaps them, a growing active segment is
 * remapped without moving what earlier results point at, damage shows
 * through a map as through pread, and readers on other threads see whole
 * batches while segments roll and go. */
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "core/clock.h"
#include "log/log.h"
#include "log/log_segment.h"
#include "log_test_util.h"

#define BIG 100000000

static mp_log *open_with(const char *dir, int map_reads)
{
    mp_log_options o = MP_LOG_OPTIONS_INIT;
    o.background = 0;
    o.map_reads = map_reads;
    mp_log *log = NULL;
    mp_error e = {0};
    if (mp_log_open_embedded(dir, &o, &log, &e)) {
        fprintf(stderr, "open %s: %s\n", dir, e.msg);
        return NULL;
    }
    return log;
}

/* The value of the record at `offset`: its offset, then filler that
 * depends on it, len bytes in all. */
static void value_of(int64_t offset, char *out, size_t len)
{
    int w = snprintf(out, len, "v%" PRId64 ":", offset);
    for (size_t i = (size_t)w; i < len; i++)
        out[i] = (char)('a' + (offset * 7 + (int64_t)i) % 26);
}

static int value_ok(const mp_record *r)
{
    char want[4096];
    if (r->value_len <= 0 || r->value_len > (int32_t)sizeof want)
        return 0;
    value_of(r->offset, want, (size_t)r->value_len);
    return memcmp(r->value, want, (size_t)r->value_len) == 0;
}

/* Appends n records with values of varying length (offset-dependent);
 * returns 0 or the error. */
static int produce(mp_log *log, const char *topic, int n, size_t min_len, int64_t ts)
{
    mp_error e = {0};
    for (int i = 0; i < n;) {
        int64_t base;
        if (mp_log_offsets(log, topic, 0, NULL, &base, &e))
            return -1;
        int k = 1 + i % 5;
        if (k > n - i)
            k = n - i;
        mp_record recs[5];
        static char vals[5][4096];
        for (int j = 0; j < k; j++) {
            size_t len = min_len + (size_t)((base + j) * 37 % 200);
            value_of(base + j, vals[j], len);
            recs[j] = (mp_record){.timestamp = ts, .key = NULL, .key_len = -1,
                                  .value = (const uint8_t *)vals[j], .value_len = (int32_t)len};
        }
        if (mp_log_produce_batch(log, topic, 0, recs, (size_t)k, NULL, &e)) {
            fprintf(stderr, "produce: %s\n", e.msg);
            return -1;
        }
        i += k;
    }
    return 0;
}

/* Lines of /proc/self/maps naming path (with " (deleted)" after it when
 * deleted is set). */
static int mapped_count(const char *path, int deleted)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    char line[1024];
    int n = 0;
    size_t pl = strlen(path);
    while (fgets(line, sizeof line, f)) {
        char *p = strstr(line, path);
        if (!p)
            continue;
        const char *rest = p + pl;
        int is_deleted = !strncmp(rest, " (deleted)", 10);
        if ((rest[0] == '\n' && !deleted) || (is_deleted && deleted))
            n++;
    }
    fclose(f);
    return n;
}

static void segment_path(char *out, size_t n, const char *dir, const char *topic, int64_t base)
{
    snprintf(out, n, "%s/topics/%s-0/%020" PRId64 ".log", dir, topic, base);
}

/* A whole partition as the bytes of each record, for comparing reads. */
typedef struct dump {
    mp_buf text;
    long n;
} dump;

static int read_dump(mp_log *log, const char *topic, int64_t from, size_t max_bytes, dump *d)
{
    mp_log_fetch_result r = {0};
    mp_error e = {0};
    int64_t off = from;
    int rc = 0;
    for (;;) {
        rc = mp_log_fetch(log, topic, 0, off, max_bytes, &r, &e);
        if (rc) {
            mp_buf_printf(&d->text, "error %d: %s\n", rc, e.msg);
            break;
        }
        for (size_t i = 0; i < r.n; i++) {
            const mp_record *x = &r.recs[i];
            mp_buf_printf(&d->text, "%" PRId64 " %" PRId64 " k%d:%.*s v%d:", x->offset,
                           x->timestamp, (int)x->key_len, x->key_len > 0 ? (int)x->key_len : 0,
                           x->key ? (const char *)x->key : "", (int)x->value_len);
            if (x->value_len > 0)
                mp_buf_append(&d->text, (const char *)x->value, (size_t)x->value_len);
            mp_buf_printf(&d->text, " h%zu\n", x->nheaders);
            d->n++;
        }
        if (r.next_offset >= r.latest)
            break;
        off = r.next_offset;
    }
    mp_log_fetch_result_free(&r);
    return rc;
}

static void test_map_and_pread_agree(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_log *log = open_with(dir, 1);
    REQUIRE(log);
    mp_error e = {0};
    const char *plain[] = {"segment.bytes=6000", "index.interval.bytes=500"};
    const char *gz[] = {"segment.bytes=6000", "compression.type=gzip"};
    REQUIRE(mp_log_topic_create(log, "p", 1, plain, 2, &e) == 0);
    REQUIRE(mp_log_topic_create(log, "z", 1, gz, 2, &e) == 0);
    REQUIRE(produce(log, "p", 700, 20, 1000) == 0);
    REQUIRE(produce(log, "z", 300, 300, 1000) == 0);
    /* Keys and headers too. */
    mp_record_header h = {"hk", 2, (const uint8_t *)"hv", 2};
    mp_record kr = lt_rec("key", "v700:", 5);
    kr.nheaders = 1;
    kr.headers = &h;
    REQUIRE(mp_log_produce_batch(log, "p", 0, &kr, 1, NULL, &e) == 0);

    static const size_t budgets[] = {1, 700, 5000, BIG};
    static const int64_t starts[2][4] = {{0, 1, 333, 699}, {0, 1, 150, 299}};
    dump mapped[2][4][4], copied[2][4][4];
    memset(mapped, 0, sizeof mapped);
    memset(copied, 0, sizeof copied);
    const char *topics[] = {"p", "z"};
    for (int t = 0; t < 2; t++)
        for (int b = 0; b < 4; b++)
            for (int s = 0; s < 4; s++)
                CHECK(read_dump(log, topics[t], starts[t][s], budgets[b], &mapped[t][b][s]) == 0);
    lt_close(log);
    log = open_with(dir, 0);
    REQUIRE(log);
    for (int t = 0; t < 2; t++)
        for (int b = 0; b < 4; b++)
            for (int s = 0; s < 4; s++)
                CHECK(read_dump(log, topics[t], starts[t][s], budgets[b], &copied[t][b][s]) == 0);
    lt_close(log);
    int differ = 0;
    for (int t = 0; t < 2; t++)
        for (int b = 0; b < 4; b++)
            for (int s = 0; s < 4; s++) {
                dump *m = &mapped[t][b][s], *c = &copied[t][b][s];
                differ += m->n != c->n || m->text.len != c->text.len ||
                          memcmp(m->text.data, c->text.data, m->text.len) != 0;
                mp_buf_free(&m->text);
                mp_buf_free(&c->text);
            }
    CHECK(differ == 0);
    /* And the counts are the real ones. */
    log = open_with(dir, 1);
    REQUIRE(log);
    dump d = {0};
    CHECK(read_dump(log, "p", 0, BIG, &d) == 0);
    CHECK(d.n == 701);
    CHECK_STR_CONTAINS(d.text.data, "700 5 k3:key v5:v700: h1\n");
    mp_buf_free(&d.text);
    lt_close(log);
}

/* Retention deletes the segments a held result points into: its records
 * stay readable (the files are unlinked, the maps stay), and the maps go
 * with the next fetch into that result. */
static void test_held_result_survives_retention(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_log *log = open_with(dir, 1);
    REQUIRE(log);
    mp_error e = {0};
    const char *cfg[] = {"segment.bytes=4000", "retention.ms=86400000"};
    REQUIRE(mp_log_topic_create(log, "r", 1, cfg, 2, &e) == 0);
    int64_t now = mp_clock_wall_ms();
    REQUIRE(produce(log, "r", 200, 100, now - 10 * 86400000LL) == 0); /* old */
    REQUIRE(produce(log, "r", 50, 100, now) == 0);

    mp_log_fetch_result held = {0};
    REQUIRE(mp_log_fetch(log, "r", 0, 0, 6000, &held, &e) == 0);
    REQUIRE(held.n > 10);
    CHECK(held.recs[0].offset == 0);
    char seg0[400];
    segment_path(seg0, sizeof seg0, dir, "r", 0);
    CHECK(mapped_count(seg0, 0) >= 1);

    int64_t deleted = 0;
    REQUIRE(mp_log_enforce_retention(log, "r", &deleted, &e) == 0);
    CHECK(deleted > 0);
    CHECK(lt_file_size(seg0) == -1);
    CHECK(mapped_count(seg0, 1) >= 1); /* still mapped, file deleted */
    int bad = 0;
    for (size_t i = 0; i < held.n; i++)
        bad += !value_ok(&held.recs[i]) || held.recs[i].offset != (int64_t)i;
    CHECK(bad == 0);

    /* The next fetch into the same result lets the deleted segment go. */
    int64_t lo;
    REQUIRE(mp_log_offsets(log, "r", 0, &lo, NULL, &e) == 0);
    CHECK(lo > 0);
    REQUIRE(mp_log_fetch(log, "r", 0, lo, 6000, &held, &e) == 0);
    CHECK(held.n > 0 && held.recs[0].offset == lo);
    CHECK(mapped_count(seg0, 1) == 0);
    bad = 0;
    for (size_t i = 0; i < held.n; i++)
        bad += !value_ok(&held.recs[i]);
    CHECK(bad == 0);
    mp_log_fetch_result_free(&held);

    /* A result outliving the topic and the log keeps its records too. */
    REQUIRE(mp_log_fetch(log, "r", 0, lo, BIG, &held, &e) == 0);
    REQUIRE(mp_log_topic_delete(log, "r", &e) == 0);
    lt_close(log);
    bad = 0;
    for (size_t i = 0; i < held.n; i++)
        bad += !value_ok(&held.recs[i]);
    CHECK(bad == 0);
    CHECK(held.n == (size_t)(250 - lo));
    mp_log_fetch_result_free(&held);
    char seglo[400];
    segment_path(seglo, sizeof seglo, dir, "r", lo);
    CHECK(mapped_count(seglo, 1) == 0 && mapped_count(seglo, 0) == 0);
}

/* Compaction swaps the segments a held result points into. */
static void test_held_result_survives_compaction(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_log *log = open_with(dir, 1);
    REQUIRE(log);
    mp_error e = {0};
    const char *cfg[] = {"cleanup.policy=compact", "segment.bytes=1500"};
    REQUIRE(mp_log_topic_create(log, "c", 1, cfg, 2, &e) == 0);
    enum { N = 300 };
    for (int i = 0; i < N; i++) {
        char k[16], v[64];
        snprintf(k, sizeof k, "k%d", i % 7);
        value_of(i, v, 40);
        v[40] = '\0';
        mp_record r = lt_rec(k, v, 1000 + i);
        REQUIRE(mp_log_produce_batch(log, "c", 0, &r, 1, NULL, &e) == 0);
    }
    mp_log_fetch_result held = {0};
    REQUIRE(mp_log_fetch(log, "c", 0, 0, BIG, &held, &e) == 0);
    REQUIRE(held.n == N);
    char seg0[400];
    segment_path(seg0, sizeof seg0, dir, "c", 0);
    CHECK(mapped_count(seg0, 0) >= 1);

    REQUIRE(mp_log_compact(log, "c", &e) == 0);
    /* The compacted log keeps the last value of each key (and the active
     * segment whole). */
    dump d = {0};
    CHECK(read_dump(log, "c", 0, BIG, &d) == 0);
    CHECK(d.n > 0 && d.n < N);
    mp_buf_free(&d.text);
    /* The held records are the old ones, intact, though the old segment
     * 0 was replaced under the same name. */
    int bad = 0;
    for (size_t i = 0; i < held.n; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", (int)(i % 7));
        bad += held.recs[i].offset != (int64_t)i || !value_ok(&held.recs[i]) ||
               held.recs[i].key_len != 2 || memcmp(held.recs[i].key, k, 2) != 0;
    }
    CHECK(bad == 0);
    CHECK(mapped_count(seg0, 1) >= 1);
    mp_log_fetch_result_free(&held);
    CHECK(mapped_count(seg0, 1) == 0);
    lt_close(log);
}

/* The active segment grows past its first map (1 MB) several times while
 * earlier results still point into the older maps. */
static void test_growing_active_segment(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_log *log = open_with(dir, 1);
    REQUIRE(log);
    mp_error e = {0};
    REQUIRE(mp_log_topic_create(log, "g", 1, NULL, 0, &e) == 0);
    enum { ROUNDS = 12 };
    mp_log_fetch_result res[ROUNDS];
    memset(res, 0, sizeof res);
    int64_t from = 0;
    int bad = 0;
    for (int round = 0; round < ROUNDS; round++) {
        /* About 350 KB a round: past 1, 2 and 4 MB over the rounds. */
        REQUIRE(produce(log, "g", 100, 3400, 1000) == 0);
        REQUIRE(mp_log_fetch(log, "g", 0, from, BIG, &res[round], &e) == 0);
        CHECK(res[round].n == 100);
        for (size_t i = 0; i < res[round].n; i++)
            bad += res[round].recs[i].offset != from + (int64_t)i || !value_ok(&res[round].recs[i]);
        from = res[round].next_offset;
    }
    CHECK(from == ROUNDS * 100);
    char seg0[400];
    segment_path(seg0, sizeof seg0, dir, "g", 0);
    CHECK(mapped_count(seg0, 0) >= 2); /* a remap happened; the older map stays */
    for (int round = 0; round < ROUNDS; round++) {
        for (size_t i = 0; i < res[round].n; i++)
            bad += !value_ok(&res[round].recs[i]);
        mp_log_fetch_result_free(&res[round]);
    }
    CHECK(bad == 0);
    lt_close(log);
    CHECK(mapped_count(seg0, 0) == 0);
}

/* A byte flipped in a mapped segment while the log is open: the map shows
 * it as pread does, with the same records served and the same error. */
static void test_damage_seen_through_map(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_log *log = open_with(dir, 1);
    REQUIRE(log);
    mp_error e = {0};
    /* Damage in a closed segment: reopening does not check those (the
     * active one's tail would be cut by recovery), so both reads meet it. */
    const char *cfg[] = {"segment.bytes=4000"};
    REQUIRE(mp_log_topic_create(log, "d", 1, cfg, 1, &e) == 0);
    REQUIRE(produce(log, "d", 100, 50, 1000) == 0);
    dump before = {0};
    CHECK(read_dump(log, "d", 0, BIG, &before) == 0); /* maps the segments */
    CHECK(before.n == 100);
    mp_buf_free(&before.text);
    char seg0[400];
    segment_path(seg0, sizeof seg0, dir, "d", 0);
    /* A byte inside the value of record 10. */
    char *bytes = NULL;
    size_t len = 0;
    REQUIRE(mp_read_file_raw(seg0, &bytes, &len, &e) == 0);
    long pos = -1;
    for (size_t i = 0; i + 4 <= len && pos < 0; i++)
        if (!memcmp(bytes + i, "v10:", 4))
            pos = (long)i + 6;
    free(bytes);
    REQUIRE(pos > 0);
    REQUIRE(lt_flip(seg0, pos) == 0);
    dump m = {0}, c = {0};
    read_dump(log, "d", 0, BIG, &m);
    lt_close(log);
    log = open_with(dir, 0);
    REQUIRE(log);
    read_dump(log, "d", 0, BIG, &c);
    lt_close(log);
    CHECK(m.n > 0 && m.n < 100);
    CHECK(m.n == c.n);
    CHECK_STR_CONTAINS(m.text.data, "fails its CRC");
    CHECK(m.text.len == c.text.len && !memcmp(m.text.data, c.text.data, m.text.len));
    mp_buf_free(&m.text);
    mp_buf_free(&c.text);
}

/* ---- readers on other threads while segments roll and go ------------------ */

typedef struct reader_arg {
    mp_log *log;
    atomic_int stop;
    long records, bad, out_of_range;
    char msg[200];
} reader_arg;

static void *reader(void *p)
{
    reader_arg *a = p;
    mp_log_fetch_result r = {0};
    mp_error e = {0};
    int64_t off = 0;
    while (!atomic_load(&a->stop)) {
        int rc = mp_log_fetch(a->log, "t", 0, off, 3000, &r, &e);
        if (rc == MP_ENOTFOUND) { /* retention passed us: start at the earliest */
            a->out_of_range++;
            if (mp_log_offsets(a->log, "t", 0, &off, NULL, &e))
                break;
            continue;
        }
        if (rc) {
            a->bad++;
            snprintf(a->msg, sizeof a->msg, "fetch at %" PRId64 ": %.150s", off, e.msg);
            break;
        }
        for (size_t i = 0; i < r.n; i++) {
            if (r.recs[i].offset < off || (i && r.recs[i].offset != r.recs[i - 1].offset + 1) ||
                !value_ok(&r.recs[i])) {
                a->bad++;
                snprintf(a->msg, sizeof a->msg, "record at %" PRId64, r.recs[i].offset);
            }
        }
        a->records += (long)r.n;
        if (r.n == 0)
            sched_yield();
        off = r.next_offset;
    }
    mp_log_fetch_result_free(&r);
    return NULL;
}

static void test_readers_while_segments_go(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_log *log = open_with(dir, 1);
    REQUIRE(log);
    mp_error e = {0};
    const char *cfg[] = {"segment.bytes=3000", "retention.bytes=12000", "retention.ms=-1"};
    REQUIRE(mp_log_topic_create(log, "t", 1, cfg, 3, &e) == 0);
    enum { READERS = 3 };
    reader_arg args[READERS];
    pthread_t th[READERS];
    for (int i = 0; i < READERS; i++) {
        memset(&args[i], 0, sizeof args[i]);
        args[i].log = log;
        atomic_init(&args[i].stop, 0);
        REQUIRE(pthread_create(&th[i], NULL, reader, &args[i]) == 0);
    }
    int64_t deleted = 0;
    int fails = 0;
    for (int round = 0; round < 150; round++) {
        int64_t d = 0;
        fails += produce(log, "t", 20, 30, mp_clock_wall_ms()) != 0;
        fails += mp_log_enforce_retention(log, "t", &d, &e) != 0;
        deleted += d;
    }
    for (int i = 0; i < READERS; i++) {
        atomic_store(&args[i].stop, 1);
        pthread_join(th[i], NULL);
    }
    CHECK(fails == 0);
    CHECK(deleted > 20);
    for (int i = 0; i < READERS; i++) {
        CHECK(args[i].bad == 0);
        if (args[i].bad)
            fprintf(stderr, "reader %d: %s\n", i, args[i].msg);
        CHECK(args[i].records > 0);
    }
    lt_close(log);
}

/* mp_segment_view directly: windows past the first map, and pointers that
 * stay put across a remap. */
static void test_segment_view(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    REQUIRE(mkdir(dir, 0755) == 0);
    mp_segment *s = NULL;
    mp_error e = {0};
    REQUIRE(mp_segment_create(dir, 0, "", &s, &e) == 0);
    mp_buf b = {0};
    static uint8_t val[60000];
    int64_t next = 0;
    const uint8_t *first = NULL;
    int bad = 0;
    while (s->size < (3u << 20)) {
        for (size_t i = 0; i < sizeof val; i++)
            val[i] = (uint8_t)(next + (int64_t)i);
        mp_record r = {.timestamp = 1, .key_len = -1, .value = val,
                       .value_len = (int32_t)sizeof val};
        mp_buf_reset(&b);
        REQUIRE(mp_batch_encode(&b, next, &r, 1, MP_COMPRESS_NONE, &e) == 0);
        uint64_t pos = s->size;
        REQUIRE(mp_segment_append(s, (const uint8_t *)b.data, b.len, 4096, &e) == 0);
        const uint8_t *v = NULL;
        REQUIRE(mp_segment_view(s, pos, b.len, &v, &e) == 0);
        bad += memcmp(v, b.data, b.len) != 0;
        if (!first)
            REQUIRE(mp_segment_view(s, 0, 100, &first, &e) == 0);
        next++;
    }
    /* The first pointer still reads the first batch. */
    mp_batch_info info;
    CHECK(mp_batch_peek(first, 100, &info, NULL) == MP_LOG_ETRUNCATED);
    CHECK(info.base_offset == 0);
    const uint8_t *now = NULL;
    REQUIRE(mp_segment_view(s, 0, (size_t)s->size, &now, &e) == 0);
    CHECK(mp_batch_crc_ok(now, &info));
    CHECK(bad == 0);
    mp_buf_free(&b);
    mp_segment_remove_files(s);
    mp_segment_unref(s);
}

/* Bytes the file takes on disk beyond its size (space reserved ahead). */
static long excess_bytes(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    long used = (long)st.st_blocks * 512, rounded = ((long)st.st_size + 4095) / 4096 * 4096;
    return used > rounded ? used - rounded : 0;
}

/* Large writes reserve disk space ahead of the file's end without changing
 * its size; rolling, closing and recovering after a crash give it back. */
static void test_space_reserved_and_returned(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    REQUIRE(mkdir(dir, 0755) == 0);
    mp_segment *s = NULL;
    mp_error e = {0};
    REQUIRE(mp_segment_create(dir, 0, "", &s, &e) == 0);
    mp_buf b = {0};
    static uint8_t val[200000];
    memset(val, 'x', sizeof val);
    mp_record r = {.timestamp = 1, .key_len = -1, .value = val, .value_len = (int32_t)sizeof val};
    REQUIRE(mp_batch_encode(&b, 0, &r, 1, MP_COMPRESS_NONE, &e) == 0);
    REQUIRE(mp_segment_append(s, (const uint8_t *)b.data, b.len, 4096, &e) == 0);
    char path[400];
    snprintf(path, sizeof path, "%s/%020d.log", dir, 0);
    CHECK(lt_file_size(path) == (long)b.len);
    long reserved = excess_bytes(path);
    /* Where the file system cannot reserve, nothing is (and nothing to
     * check further). */
    if (!s->no_prealloc) {
        CHECK(reserved >= (long)b.len);
        CHECK(s->alloc_end > s->size);
    }
    /* A crash: the segment is dropped without trimming; recovery gives the
     * space back and keeps the batch. */
    mp_segment_unref(s);
    CHECK(excess_bytes(path) == reserved);
    int64_t cut = -1;
    REQUIRE(mp_segment_open(dir, 0, MP_SEG_RECOVER, 4096, "t-0", &s, &cut, NULL, &e) == 0);
    CHECK(cut == 0);
    CHECK(s->size == b.len);
    CHECK(excess_bytes(path) == 0);
    /* Written again, then trimmed as a roll does. */
    mp_buf_reset(&b);
    REQUIRE(mp_batch_encode(&b, 1, &r, 1, MP_COMPRESS_NONE, &e) == 0);
    REQUIRE(mp_segment_append(s, (const uint8_t *)b.data, b.len, 4096, &e) == 0);
    if (!s->no_prealloc)
        CHECK(excess_bytes(path) > 0);
    mp_segment_trim(s);
    CHECK(excess_bytes(path) == 0);
    CHECK(lt_file_size(path) == (long)(2 * b.len));
    CHECK(s->alloc_end == 0);
    /* Small writes reserve nothing. */
    mp_record small = {.timestamp = 1, .key_len = -1, .value = val, .value_len = 100};
    mp_buf_reset(&b);
    REQUIRE(mp_batch_encode(&b, 2, &small, 1, MP_COMPRESS_NONE, &e) == 0);
    REQUIRE(mp_segment_append(s, (const uint8_t *)b.data, b.len, 4096, &e) == 0);
    CHECK(s->alloc_end == 0);
    mp_buf_free(&b);
    mp_segment_remove_files(s);
    mp_segment_unref(s);

    /* Through the log: closed segments and, after close, the active one
     * hold no reserved space; every record reads back. */
    lt_dir(dir, sizeof dir);
    mp_log *log = open_with(dir, 1);
    REQUIRE(log);
    const char *cfg[] = {"segment.bytes=2000000"};
    REQUIRE(mp_log_topic_create(log, "s", 1, cfg, 1, &e) == 0);
    /* 100 KB calls: reservations of 800 KB that do not end where the
     * 2 MB segments do. */
    static char vals[40][2500];
    int64_t next = 0;
    for (int call = 0; call < 45; call++) {
        mp_record recs[40];
        for (int j = 0; j < 40; j++, next++) {
            value_of(next, vals[j], 2500);
            recs[j] = (mp_record){.timestamp = 5, .key_len = -1,
                                  .value = (const uint8_t *)vals[j], .value_len = 2500};
        }
        REQUIRE(mp_log_produce_batch(log, "s", 0, recs, 40, NULL, &e) == 0);
    }
    mp_log_topic_info *info;
    REQUIRE(mp_log_topic_describe(log, "s", &info, &e) == 0);
    int32_t nseg = info->parts[0].segments;
    CHECK(nseg > 1);
    mp_log_topic_info_free(info);
    dump d = {0};
    CHECK(read_dump(log, "s", 0, BIG, &d) == 0);
    CHECK(d.n == next);
    mp_buf_free(&d.text);
    lt_close(log);
    /* Every segment file, found by listing: no space beyond its size. */
    char pdir[400];
    snprintf(pdir, sizeof pdir, "%s/topics/s-0", dir);
    DIR *dd = opendir(pdir);
    REQUIRE(dd);
    int nfiles = 0, excess = 0;
    struct dirent *de;
    while ((de = readdir(dd)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l > 4 && !strcmp(de->d_name + l - 4, ".log")) {
            char f[700];
            snprintf(f, sizeof f, "%s/%s", pdir, de->d_name);
            excess += excess_bytes(f) != 0;
            nfiles++;
        }
    }
    closedir(dd);
    CHECK(nfiles == nseg);
    CHECK(excess == 0);
}

int main(void)
{
    RUN(test_map_and_pread_agree);
    RUN(test_held_result_survives_retention);
    RUN(test_held_result_survives_compaction);
    RUN(test_growing_active_segment);
    RUN(test_damage_seen_through_map);
    RUN(test_readers_while_segments_go);
    RUN(test_segment_view);
    RUN(test_space_reserved_and_returned);
    lt_cleanup();
    return TEST_SUMMARY();
}
