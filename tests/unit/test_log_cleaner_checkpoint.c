/* The cleaner checkpoint and the incremental pass (log_cleaner.c,
 * log_compact.c), on partitions opened directly so that every pass runs at
 * a chosen "now":
 *
 * - random workloads (keys, updates, tombstones, keyless records, headers,
 *   compressed and multi-record batches, min.compaction.lag.ms, crashes
 *   around the swap): after every incremental pass the partition equals a
 *   copy compacted from scratch at the same moment, and after many passes
 *   it equals a partition that saw the same records and one pass at the
 *   end; both equal a brute-force model;
 * - the file: its exact contents, persisted across reopening, every
 *   damaged form (truncations, byte flips, junk, wrong topic, ...) read as
 *   "nothing clean" with a debug message, never a crash, and the pass after
 *   it still exact; a checkpoint past the active segment or below the log
 *   start;
 * - the map is built from the dirty part only, and a clean partition is
 *   read but not rewritten;
 * - scheduling: the dirty ratio from segment sizes (Kafka's strict >),
 *   max.compaction.lag.ms from the first batch's timestamp or the file's
 *   mtime, a kept tombstone that expires later;
 * - the configuration helpers (min/max lag conflict, roll time). */
#include <inttypes.h>
#include <sys/stat.h>

#include "core/clock.h"
#include "core/crc32c.h"
#include "core/fileio.h"
#include "core/rng.h"
#include "log/log_cleaner.h"
#include "log/log_compact.h"
#include "log/log_partition.h"
#include "log/log_segment.h"
#include "log_test_util.h"

/* ---- debug capture ------------------------------------------------------------ */

static mp_buf dbg;

static void capture(void *arg, const char *msg)
{
    (void)arg;
    mp_buf_puts(&dbg, msg);
    mp_buf_puts(&dbg, "\n");
}

static const char *dbg_text(void) { return dbg.data ? dbg.data : ""; }

/* ---- a partition of its own ------------------------------------------------------ */

typedef struct tp {
    char dir[300];
    mp_partition *p;
    mp_log_topic_config cfg;
} tp;

static void tp_init(tp *t, const char *cfgs[], size_t n)
{
    char root[256];
    lt_dir(root, sizeof root);
    snprintf(t->dir, sizeof t->dir, "%s/t-0", root);
    t->p = NULL;
    mp_log_config_init(&t->cfg);
    t->cfg.cleanup_policy = MP_LOG_CLEANUP_COMPACT;
    for (size_t i = 0; i < n; i++) {
        mp_error e = {0};
        if (mp_log_config_parse(&t->cfg, cfgs[i], &e))
            fprintf(stderr, "config %s: %s\n", cfgs[i], e.msg);
    }
}

static int tp_open(tp *t)
{
    mp_error e = {0};
    struct stat st;
    if (stat(t->dir, &st) != 0 && mp_mkdirs(t->dir, &e) == 0 &&
        mp_partition_create_dir(t->dir, &e)) {
        fprintf(stderr, "create %s: %s\n", t->dir, e.msg);
        return -1;
    }
    if (mp_partition_open(t->dir, "t-0", 0, 1, t->cfg.index_interval_bytes, NULL, NULL, &t->p,
                          &e)) {
        fprintf(stderr, "open %s: %s\n", t->dir, e.msg);
        return -1;
    }
    return 0;
}

static void tp_close(tp *t)
{
    mp_error e = {0};
    if (t->p && mp_partition_close(t->p, &e))
        fprintf(stderr, "close: %s\n", e.msg);
    t->p = NULL;
}

static int tp_append(tp *t, const mp_record *recs, size_t n)
{
    int64_t base;
    size_t w;
    mp_error e = {0};
    int rc = mp_partition_append(t->p, recs, n, &t->cfg, &base, &w, &e);
    if (rc)
        fprintf(stderr, "append: %s\n", e.msg);
    return rc;
}

static int tp_compact(tp *t, int64_t now, mp_compact_stats *st)
{
    mp_error e = {0};
    int rc = mp_log_compact_partition_ex(t->p, &t->cfg, now, st, &e);
    if (rc)
        fprintf(stderr, "compact: %s\n", e.msg);
    return rc;
}

/* dst = src with its directory renamed to <src dir><suffix>. */
static void tp_sibling(tp *dst, const tp *src, const char *suffix)
{
    *dst = *src;
    dst->p = NULL;
    size_t a = strlen(src->dir), b = strlen(suffix);
    if (a + b >= sizeof dst->dir)
        b = sizeof dst->dir - 1 - a;
    memcpy(dst->dir + a, suffix, b);
    dst->dir[a + b] = '\0';
}

static void ck_path(const tp *t, char *out, size_t n)
{
    snprintf(out, n, "%s/%s", t->dir, MP_LOG_CLEANER_CHECKPOINT);
}

/* Copies the files of a partition directory (flat) to dst. */
static int copy_dir(const char *src, const char *dst)
{
    mp_error e = {0};
    if (mp_mkdirs(dst, &e))
        return -1;
    DIR *d = opendir(src);
    if (!d)
        return -1;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL && !rc) {
        if (de->d_name[0] == '.')
            continue;
        char a[700], b[700];
        snprintf(a, sizeof a, "%s/%s", src, de->d_name);
        snprintf(b, sizeof b, "%s/%s", dst, de->d_name);
        char *data = NULL;
        size_t len = 0;
        rc = mp_read_file_raw(a, &data, &len, &e) || lt_write_file(b, data, len) ? -1 : 0;
        free(data);
    }
    closedir(d);
    return rc;
}

/* ---- a canonical text of every record ------------------------------------------------ */

static void fmt_rec(mp_buf *b, int64_t off, int64_t ts, const void *k, int32_t kl, const void *v,
                    int32_t vl, const mp_record_header *h, size_t nh)
{
    mp_buf_printf(b, "%" PRId64 " ts=%" PRId64 " k(%d)=", off, ts, (int)kl);
    if (kl > 0)
        mp_buf_append(b, k, (size_t)kl);
    mp_buf_printf(b, " v(%d)=", (int)vl);
    if (vl > 0)
        mp_buf_append(b, v, (size_t)vl);
    for (size_t i = 0; i < nh; i++) {
        mp_buf_printf(b, " h:");
        mp_buf_append(b, h[i].key, h[i].key_len);
        mp_buf_printf(b, "(%d)=", (int)h[i].value_len);
        if (h[i].value_len > 0)
            mp_buf_append(b, h[i].value, (size_t)h[i].value_len);
    }
    mp_buf_puts(b, "\n");
}

/* Every record of the partition, read straight from its segments. */
static long dump(tp *t, mp_buf *out)
{
    mp_buf_reset(out);
    mp_segment **segs;
    size_t n;
    mp_error e = {0};
    if (mp_partition_segments(t->p, &segs, &n, &e))
        return -1;
    mp_buf raw = {0}, scratch = {0};
    mp_batch_records br = {0};
    long count = 0;
    int64_t prev = -1;
    for (size_t i = 0; i < n && count >= 0; i++) {
        uint64_t pos = 0;
        mp_batch_info bi;
        int rc;
        while ((rc = mp_segment_next_batch(segs[i], &pos, segs[i]->size, &raw, &bi, &e)) == 1) {
            if (mp_batch_decode((const uint8_t *)raw.data, &bi, &br, &scratch, &e)) {
                rc = -1;
                break;
            }
            for (size_t j = 0; j < br.n; j++) {
                const mp_record *r = &br.recs[j];
                if (r->offset <= prev)
                    mp_buf_puts(out, "OFFSETS OUT OF ORDER\n");
                prev = r->offset;
                fmt_rec(out, r->offset, r->timestamp, r->key, r->key_len, r->value, r->value_len,
                        r->headers, r->nheaders);
                count++;
            }
        }
        if (rc < 0) {
            fprintf(stderr, "dump: %s\n", e.msg);
            count = -1;
        }
    }
    mp_buf_free(&raw);
    mp_buf_free(&scratch);
    mp_batch_records_free(&br);
    mp_partition_segments_release(segs, n);
    return count;
}

static int same_dump(tp *a, tp *b, const char *what)
{
    mp_buf x = {0}, y = {0};
    long na = dump(a, &x), nb = dump(b, &y);
    int same = na >= 0 && na == nb && x.len == y.len && (!x.len || !memcmp(x.data, y.data, x.len));
    if (!same) {
        fprintf(stderr, "%s: %ld records vs %ld\n", what, na, nb);
        /* the first differing line */
        const char *p = x.data ? x.data : "", *q = y.data ? y.data : "";
        while (*p && *p == *q) {
            p++;
            q++;
        }
        while (p > (x.data ? x.data : "") && p[-1] != '\n') {
            p--;
            q--;
        }
        fprintf(stderr, "  first difference:\n  < %.200s\n  > %.200s\n", p, q);
    }
    mp_buf_free(&x);
    mp_buf_free(&y);
    return same;
}

/* ---- the random workload and its model ---------------------------------------------- */

#define MAXR 4096

typedef struct wrec {
    char key[16], value[40];
    int keyless, tomb, header;
    int64_t ts;
} wrec;

static wrec W[MAXR];
static int64_t nw;

/* Appends k records (batches of 1..6, a random compression each) to every
 * partition in ts[0..nt). */
static void workload(mp_rng *rng, tp **ts, int nt, int k, int nkeys, int64_t now)
{
    static const int comps[] = {MP_LOG_COMPRESSION_PRODUCER, MP_COMPRESS_GZIP, MP_COMPRESS_LZ4,
                                MP_COMPRESS_ZSTD, MP_COMPRESS_SNAPPY};
    mp_record recs[6];
    mp_record_header hdr[6];
    char hval[6][24];
    while (k > 0 && nw < MAXR - 6) {
        int b = 1 + (int)mp_rng_below(rng, 6);
        if (b > k)
            b = k;
        int comp = comps[mp_rng_below(rng, 5)];
        for (int i = 0; i < b; i++) {
            wrec *w = &W[nw + i];
            uint64_t r = mp_rng_below(rng, 100);
            w->keyless = r < 4;
            w->tomb = r >= 4 && r < 16;
            w->header = mp_rng_below(rng, 10) == 0;
            /* Half the keys from the seed's key space, half in bursts that
             * repeat a few times and then go cold (never superseded by a
             * later pass: duplicates a wrong clean part would keep). */
            if (mp_rng_below(rng, 2))
                snprintf(w->key, sizeof w->key, "k%d", (int)mp_rng_below(rng, (uint64_t)nkeys));
            else
                snprintf(w->key, sizeof w->key, "b%d",
                         (int)((nw + i) / 16 + mp_rng_below(rng, 2)));
            snprintf(w->value, sizeof w->value, "value-%" PRId64, nw + i);
            /* Mostly recent, some old, a few slightly in the future. */
            w->ts = now - (int64_t)mp_rng_below(rng, 4000) + 200;
            recs[i] = lt_rec(w->keyless ? NULL : w->key, w->tomb ? NULL : w->value, w->ts);
            if (w->header) {
                snprintf(hval[i], sizeof hval[i], "h%" PRId64, nw + i);
                hdr[i].key = "src";
                hdr[i].key_len = 3;
                hdr[i].value = (const uint8_t *)hval[i];
                hdr[i].value_len = (int32_t)strlen(hval[i]);
                recs[i].headers = &hdr[i];
                recs[i].nheaders = 1;
            }
        }
        for (int j = 0; j < nt; j++) {
            ts[j]->cfg.compression = comp;
            tp_append(ts[j], recs, (size_t)b);
        }
        nw += b;
        k -= b;
    }
}

/* What a correct compaction at `now`, cleaning offsets below clean_to,
 * leaves. */
static void model_dump(mp_buf *out, int64_t clean_to, int64_t now, int64_t delete_retention)
{
    mp_buf_reset(out);
    for (int64_t i = 0; i < nw; i++) {
        const wrec *w = &W[i];
        int keep = i >= clean_to || w->keyless;
        if (!keep) {
            int64_t latest = -1;
            for (int64_t j = nw - 1; j >= 0 && latest < 0; j--)
                if (!W[j].keyless && !strcmp(W[j].key, w->key))
                    latest = j;
            keep = latest == i && !(w->tomb && w->ts < now - delete_retention);
        }
        if (!keep)
            continue;
        char hv[24];
        mp_record_header h = {"src", 3, (const uint8_t *)hv, 0};
        if (w->header) {
            snprintf(hv, sizeof hv, "h%" PRId64, i);
            h.value_len = (int32_t)strlen(hv);
        }
        fmt_rec(out, i, w->ts, w->key, w->keyless ? -1 : (int32_t)strlen(w->key), w->value,
                w->tomb ? -1 : (int32_t)strlen(w->value), &h, w->header ? 1 : 0);
    }
}

static int hook_fail_at, hook_calls;

static int crash_hook(mp_partition *p, mp_segment *const *old, size_t nold,
                      mp_segment *const *fresh, size_t nfresh)
{
    return ++hook_calls == hook_fail_at;
}

static int run_equivalence(uint64_t seed)
{
    mp_rng rng;
    mp_rng_seed(&rng, seed);
    static const int key_spaces[] = {3, 25, 200, 5000};
    int nkeys = key_spaces[mp_rng_below(&rng, 4)];
    char sb[40], dr[48], lag[48];
    snprintf(sb, sizeof sb, "segment.bytes=%d", 1000 + (int)mp_rng_below(&rng, 5000));
    snprintf(dr, sizeof dr, "delete.retention.ms=%d", 1000 + (int)mp_rng_below(&rng, 6000));
    snprintf(lag, sizeof lag, "min.compaction.lag.ms=%d",
             mp_rng_below(&rng, 2) == 0 ? 1500 : 0);
    const char *cfgs[] = {sb, dr, lag, "index.interval.bytes=150"};
    tp a, b, c;
    tp_init(&a, cfgs, 4);
    tp_init(&b, cfgs, 4);
    if (tp_open(&a) || tp_open(&b))
        return 0;
    nw = 0;
    int64_t now = 1700000000000LL;
    int ok = 1, passes = 0, rounds = 6 + (int)mp_rng_below(&rng, 5);
    int64_t mapped_inc = 0, mapped_full = 0;
    tp *both[2] = {&a, &b};
    mp_buf x = {0}, y = {0};
    for (int r = 0; r < rounds && ok; r++) {
        workload(&rng, both, 2, 10 + (int)mp_rng_below(&rng, 150), nkeys, now);
        now += 300 + (int64_t)mp_rng_below(&rng, 2500);
        if (mp_rng_below(&rng, 5) == 0) {
            /* A crash before some swap: the pass stops, the checkpoint
             * stays, the next open removes the output. */
            hook_calls = 0;
            hook_fail_at = 1 + (int)mp_rng_below(&rng, 3);
            mp_log_compact_test_hook = crash_hook;
            mp_error e = {0};
            int rc = mp_log_compact_partition_ex(a.p, &a.cfg, now, NULL, &e);
            mp_log_compact_test_hook = NULL;
            ok &= rc == 0 || rc == MP_EIO;
            tp_close(&a);
            ok &= tp_open(&a) == 0;
            if (!ok)
                break;
        }
        /* The incremental pass against a from-scratch pass on a copy, at
         * the same moment. */
        tp_close(&a);
        tp_sibling(&c, &a, ".copy");
        char ck[400];
        ok &= copy_dir(a.dir, c.dir) == 0;
        ck_path(&c, ck, sizeof ck);
        unlink(ck);
        ok &= tp_open(&a) == 0 && tp_open(&c) == 0;
        if (!ok)
            break;
        mp_compact_stats sa, sc;
        ok &= tp_compact(&a, now, &sa) == 0 && tp_compact(&c, now, &sc) == 0;
        ok &= same_dump(&a, &c, "incremental vs from scratch");
        ok &= sc.first_dirty == 0 && sa.records_mapped <= sc.records_mapped;
        ok &= sa.clean_to == sc.clean_to && sa.checkpoint == sc.checkpoint;
        mapped_inc += sa.records_mapped;
        mapped_full += sc.records_mapped;
        tp_close(&c);
        mp_remove_tree(c.dir);
        passes++;
    }
    /* Many passes against one, later, when old tombstones have expired. */
    now += 20000;
    mp_compact_stats sa, sb2;
    ok &= tp_compact(&a, now, &sa) == 0 && tp_compact(&b, now, &sb2) == 0;
    ok &= same_dump(&a, &b, "after many passes vs one pass");
    /* Both against the model. */
    model_dump(&y, sb2.clean_to, now, b.cfg.delete_retention_ms);
    ok &= dump(&b, &x) >= 0 && x.len == y.len && !memcmp(x.data, y.data, x.len);
    if (x.len != y.len || memcmp(x.data, y.data, x.len))
        fprintf(stderr, "seed %" PRIu64 ": the pass differs from the model (%zu vs %zu bytes)\n",
                seed, x.len, y.len);
    /* The map of an incremental pass is never larger, and over the rounds
     * smaller when the clean part is not empty. */
    ok &= mapped_inc <= mapped_full;
    mp_buf_free(&x);
    mp_buf_free(&y);
    tp_close(&a);
    tp_close(&b);
    if (!ok)
        fprintf(stderr, "seed %" PRIu64 " (%d keys, %s, %s, %s): failed after %d passes\n", seed,
                nkeys, sb, dr, lag, passes);
    return ok;
}

static void test_random_equivalence(void)
{
    int bad = 0;
    for (uint64_t seed = 1; seed <= 10; seed++)
        bad += !run_equivalence(seed);
    CHECK(bad == 0);
}

/* ---- the file ------------------------------------------------------------------------ */

/* n records "k<i % nkeys>" = "v<i>" at ts, one batch each. */
static void put_n(tp *t, int n, int nkeys, int64_t ts)
{
    for (int i = 0; i < n; i++) {
        char k[16], v[32];
        snprintf(k, sizeof k, "k%d", i % nkeys);
        snprintf(v, sizeof v, "v%d", i);
        mp_record r = lt_rec(k, v, ts);
        tp_append(t, &r, 1);
    }
}

static int64_t active_base(tp *t)
{
    int64_t lo, hi;
    mp_partition_offsets(t->p, &lo, &hi);
    pthread_mutex_lock(&t->p->state_mu);
    int64_t b = t->p->segs[t->p->nsegs - 1]->base_offset;
    pthread_mutex_unlock(&t->p->state_mu);
    return b;
}

static void test_checkpoint_file(void)
{
    const char *cfgs[] = {"segment.bytes=200"};
    tp t;
    tp_init(&t, cfgs, 1);
    REQUIRE(tp_open(&t) == 0);
    put_n(&t, 40, 5, 1000);
    int64_t ab = active_base(&t);
    REQUIRE(ab > 0);
    char path[400];
    ck_path(&t, path, sizeof path);
    CHECK(access(path, F_OK) != 0); /* none before the first pass */
    mp_cleaner_checkpoint ck = {7, 7};
    CHECK(mp_log_cleaner_checkpoint_read(t.p, &ck) == 0);
    CHECK(ck.first_dirty == 0 && ck.oldest_tombstone_ts == -1);
    mp_compact_stats st;
    REQUIRE(tp_compact(&t, 5000, &st) == 0);
    CHECK(st.first_dirty == 0 && st.clean_to == ab && st.checkpoint == ab);
    /* The exact bytes. */
    char want[200];
    int n = snprintf(want, sizeof want, "1\n1\nt 0 %" PRId64 " -1\n", ab);
    snprintf(want + n, sizeof want - (size_t)n, "%08x\n", mp_crc32c(0, want, (size_t)n));
    char *got = NULL;
    size_t len = 0;
    mp_error e = {0};
    REQUIRE(mp_read_file_raw(path, &got, &len, &e) == 0);
    CHECK(len == strlen(want) && !memcmp(got, want, len));
    free(got);
    CHECK(mp_log_cleaner_checkpoint_read(t.p, &ck) == 1);
    CHECK(ck.first_dirty == ab && ck.oldest_tombstone_ts == -1);
    /* No temporary files left. */
    CHECK(lt_count_files(t.dir, ".tmp") == 0);
    /* Kept across reopening. */
    tp_close(&t);
    REQUIRE(tp_open(&t) == 0);
    mp_cleaner_view v;
    REQUIRE(mp_log_cleaner_examine(t.p, &t.cfg, 5000, &v, &e) == 0);
    CHECK(v.first_dirty == ab && v.dirty_bytes == 0 && !v.due_ratio && !v.due_max_lag &&
          !v.due_tombstone);
    CHECK(mp_log_cleaner_maybe_clean(t.p, &t.cfg, 5000, &e) == 0);
    /* A pass over the clean partition reads the active segment for its
     * map and leaves the file alone. It may still merge segments that
     * shrank (Kafka's grouping by size); once merged, a pass rewrites
     * nothing. */
    struct stat s1, s2;
    REQUIRE(stat(path, &s1) == 0);
    REQUIRE(tp_compact(&t, 6000, &st) == 0);
    CHECK(st.first_dirty == ab && st.checkpoint == ab && st.records_out == st.records_in);
    CHECK(st.records_mapped == 40 - ab); /* the active segment only */
    REQUIRE(tp_compact(&t, 6000, &st) == 0);
    CHECK(st.segments_in == 0 && st.segments_out == 0 && st.segments_kept > 0);
    CHECK(st.records_mapped == 40 - ab);
    REQUIRE(stat(path, &s2) == 0);
    CHECK(s1.st_ino == s2.st_ino);
    tp_close(&t);
}

/* Writes bytes as the checkpoint, reads it back: returns what read said. */
static int read_raw(tp *t, const char *bytes, size_t len, mp_cleaner_checkpoint *ck)
{
    char path[400];
    ck_path(t, path, sizeof path);
    if (lt_write_file(path, bytes, len))
        return -1;
    return mp_log_cleaner_checkpoint_read(t->p, ck);
}

static size_t valid_text(char *buf, size_t n, const char *topic, int part, int64_t off,
                         int64_t tomb)
{
    int k = snprintf(buf, n, "1\n1\n%s %d %" PRId64 " %" PRId64 "\n", topic, part, off, tomb);
    k += snprintf(buf + k, n - (size_t)k, "%08x\n", mp_crc32c(0, buf, (size_t)k));
    return (size_t)k;
}

static void test_damaged_checkpoint(void)
{
    const char *cfgs[] = {"segment.bytes=200", "delete.retention.ms=100"};
    tp t;
    tp_init(&t, cfgs, 2);
    REQUIRE(tp_open(&t) == 0);
    put_n(&t, 30, 4, 1000);
    int64_t ab = active_base(&t);
    mp_cleaner_checkpoint ck;
    char good[200];
    size_t glen = valid_text(good, sizeof good, "t", 0, 3, 1500);
    CHECK(read_raw(&t, good, glen, &ck) == 1 && ck.first_dirty == 3 &&
          ck.oldest_tombstone_ts == 1500);
    mp_log_cleaner_set_debug(capture, NULL);

    /* Every prefix (a write cut short) and every single-byte change. */
    int bad = 0;
    for (size_t cut = 0; cut < glen; cut++) {
        mp_buf_reset(&dbg);
        bad += read_raw(&t, good, cut, &ck) != 0 || ck.first_dirty != 0 ||
               ck.oldest_tombstone_ts != -1 || !strstr(dbg_text(), "first dirty offset 0");
    }
    CHECK(bad == 0);
    bad = 0;
    for (size_t i = 0; i < glen; i++) {
        char b[200];
        memcpy(b, good, glen);
        b[i] ^= 0x5a;
        mp_buf_reset(&dbg);
        bad += read_raw(&t, b, glen, &ck) != 0 || ck.first_dirty != 0 ||
               !strstr(dbg_text(), "damaged checkpoint");
    }
    CHECK(bad == 0);

    /* Well-formed but wrong, each with the reason named. */
    struct {
        const char *text;
        const char *why;
    } cases[] = {
        {"", "empty"},
        {"\n", "version"},
        {"0\n1\nt 0 3\n", "version"},
        {"2\n1\nt 0 3 -1\n00000000\n", "version"},
        {"1\n2\nt 0 3 -1\n00000000\n", "one entry"},
        {"1\n1\n", "entry is missing"},
        {"1\n1\nt 0 3 -1\n", "checksum line"},
        {"1\n1\nt 0 3 -1\n00000000\n", "checksum does not match"},
        {"1\n1\nt 0 3 -1\n00000000\nextra\n", "checksum line"},
        {"1\n1\nt 0 3 -1\nzz\n", "checksum line"},
        {"1\n1\nt 0 3 -1", "newline"},
        {"1\n1\nt\0 0 3 -1\n00000000\n", "NUL"},
    };
    const size_t nul_len = sizeof "1\n1\nt\0 0 3 -1\n00000000\n" - 1;
    bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mp_buf_reset(&dbg);
        size_t len = i == 11 ? nul_len : strlen(cases[i].text);
        int r = read_raw(&t, cases[i].text, len, &ck);
        if (r != 0 || ck.first_dirty != 0 || !strstr(dbg_text(), cases[i].why)) {
            fprintf(stderr, "case %zu: read %d, debug: %s", i, r, dbg_text());
            bad++;
        }
    }
    CHECK(bad == 0);
    /* Valid checksums over wrong contents. */
    struct {
        const char *topic;
        int part;
        int64_t off, tomb;
        const char *why;
    } wrong[] = {
        {"u", 0, 3, -1, "another topic"},
        {"t-0", 0, 3, -1, "another topic"},
        {"t", 1, 3, -1, "another partition"},
        {"t", 0, -3, -1, "offset"},
        {"t", 0, 3, -2, "tombstone"},
    };
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        char b[200];
        size_t len = valid_text(b, sizeof b, wrong[i].topic, wrong[i].part, wrong[i].off,
                                wrong[i].tomb);
        mp_buf_reset(&dbg);
        CHECK(read_raw(&t, b, len, &ck) == 0 && ck.first_dirty == 0);
        CHECK_STR_CONTAINS(dbg_text(), wrong[i].why);
    }
    /* Fields: extra, missing, a trailing space, a huge number. */
    const char *entries[] = {"t 0 3 -1 9", "t 0 3", "t 0 3 -1 ", "t 0 99999999999999999999 -1",
                             "t  0 3 -1", "t 0 +3 -1"};
    for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
        char b[200];
        int k = snprintf(b, sizeof b, "1\n1\n%s\n", entries[i]);
        k += snprintf(b + k, sizeof b - (size_t)k, "%08x\n", mp_crc32c(0, b, (size_t)k));
        mp_buf_reset(&dbg);
        CHECK(read_raw(&t, b, (size_t)k, &ck) == 0 && ck.first_dirty == 0);
        CHECK_STR_CONTAINS(dbg_text(), "damaged checkpoint");
    }
    /* Too large. */
    char big[2000];
    memset(big, '1', sizeof big);
    mp_buf_reset(&dbg);
    CHECK(read_raw(&t, big, sizeof big, &ck) == 0);
    CHECK_STR_CONTAINS(dbg_text(), "too large");
    /* A directory where the file should be. */
    char path[400];
    ck_path(&t, path, sizeof path);
    unlink(path);
    REQUIRE(mkdir(path, 0755) == 0);
    mp_buf_reset(&dbg);
    CHECK(mp_log_cleaner_checkpoint_read(t.p, &ck) == 0 && ck.first_dirty == 0);
    CHECK_STR_CONTAINS(dbg_text(), "first dirty offset 0");
    /* ...which a pass cannot replace: an error naming the file, and the
     * compaction itself done. */
    mp_error e = {0};
    CHECK(mp_log_compact_partition_ex(t.p, &t.cfg, 5000, NULL, &e) == MP_EIO);
    CHECK_STR_CONTAINS(e.msg, MP_LOG_CLEANER_CHECKPOINT);
    rmdir(path);
    /* Missing. */
    mp_buf_reset(&dbg);
    CHECK(mp_log_cleaner_checkpoint_read(t.p, &ck) == 0);
    CHECK_STR_CONTAINS(dbg_text(), "no checkpoint yet");

    /* A damaged file gives the same result as none: the pass redoes
     * everything, and writes a good file. Wrong-but-plausible offsets
     * past the active segment are caught by the range check. */
    tp_close(&t);
    tp u;
    tp_sibling(&u, &t, ".ref");
    REQUIRE(copy_dir(t.dir, u.dir) == 0);
    REQUIRE(tp_open(&t) == 0 && tp_open(&u) == 0);
    REQUIRE(read_raw(&t, "garbage\n", 8, &ck) == 0);
    mp_compact_stats st, su;
    REQUIRE(tp_compact(&t, 5000, &st) == 0 && tp_compact(&u, 5000, &su) == 0);
    CHECK(st.first_dirty == 0 && st.checkpoint == ab);
    CHECK(same_dump(&t, &u, "after a damaged checkpoint"));
    CHECK(mp_log_cleaner_checkpoint_read(t.p, &ck) == 1 && ck.first_dirty == ab);
    /* Past the active segment. */
    char b[200];
    size_t len = valid_text(b, sizeof b, "t", 0, ab + 1, -1);
    CHECK(read_raw(&t, b, len, &ck) == 1);
    mp_buf_reset(&dbg);
    mp_cleaner_view v;
    REQUIRE(mp_log_cleaner_examine(t.p, &t.cfg, 5000, &v, &e) == 0);
    CHECK(v.first_dirty == 0);
    CHECK_STR_CONTAINS(dbg_text(), "past the active segment");
    REQUIRE(tp_compact(&t, 5000, &st) == 0);
    CHECK(st.first_dirty == 0 && st.checkpoint == ab);
    CHECK(same_dump(&t, &u, "after a checkpoint past the active segment"));
    mp_log_cleaner_set_debug(NULL, NULL);
    tp_close(&t);
    tp_close(&u);
}

/* A checkpoint below the log start (retention of a compact,delete topic
 * removed the segments it pointed into) means the log start. */
static void test_checkpoint_below_log_start(void)
{
    const char *cfgs[] = {"segment.bytes=200", "cleanup.policy=compact,delete",
                          "retention.ms=100000"};
    tp t;
    tp_init(&t, cfgs, 3);
    REQUIRE(tp_open(&t) == 0);
    put_n(&t, 12, 3, 1000);      /* old: retention takes them */
    put_n(&t, 30, 7, 500000);
    mp_compact_stats st;
    REQUIRE(tp_compact(&t, 550000, &st) == 0);
    int64_t first_ck = st.checkpoint;
    REQUIRE(first_ck > 0);
    put_n(&t, 30, 50, 520000);
    int64_t deleted = 0;
    mp_error e = {0};
    REQUIRE(mp_partition_enforce_retention(t.p, &t.cfg, 550000 + 200000, &deleted, &e) == 0);
    int64_t lo, hi;
    mp_partition_offsets(t.p, &lo, &hi);
    /* Retention went past the checkpoint only if it deleted that far;
     * write one below the start to be sure. */
    REQUIRE(deleted > 0 && lo > 0);
    char b[200];
    mp_cleaner_checkpoint ck;
    size_t len = valid_text(b, sizeof b, "t", 0, lo - 1, -1);
    REQUIRE(read_raw(&t, b, len, &ck) == 1);
    mp_cleaner_view v;
    REQUIRE(mp_log_cleaner_examine(t.p, &t.cfg, 600000, &v, &e) == 0);
    CHECK(v.first_dirty == lo);
    REQUIRE(tp_compact(&t, 600000, &st) == 0);
    CHECK(st.first_dirty == lo && st.checkpoint >= lo);
    tp_close(&t);
}

/* ---- the dirty part only -------------------------------------------------------------- */

static void test_map_from_dirty_part(void)
{
    const char *cfgs[] = {"segment.bytes=1000"};
    tp t, u;
    tp_init(&t, cfgs, 1);
    REQUIRE(tp_open(&t) == 0);
    /* 300 distinct keys: compaction keeps them all. */
    for (int i = 0; i < 300; i++) {
        char k[16], v[16];
        snprintf(k, sizeof k, "key%03d", i);
        snprintf(v, sizeof v, "a%d", i);
        mp_record r = lt_rec(k, v, 1000 + i);
        tp_append(&t, &r, 1);
    }
    mp_compact_stats st;
    REQUIRE(tp_compact(&t, 10000, &st) == 0);
    CHECK(st.records_mapped == 300 && st.records_out == st.records_in);
    int64_t ck1 = st.checkpoint;
    /* 30 updates of old keys and 30 new keys. */
    for (int i = 0; i < 60; i++) {
        char k[16], v[16];
        snprintf(k, sizeof k, "key%03d", i < 30 ? i * 7 : 300 + i);
        snprintf(v, sizeof v, "b%d", i);
        mp_record r = lt_rec(k, v, 2000 + i);
        tp_append(&t, &r, 1);
    }
    int64_t lo, hi;
    mp_partition_offsets(t.p, &lo, &hi);
    /* The reference: the same files compacted from scratch. */
    tp_close(&t);
    tp_sibling(&u, &t, ".ref");
    REQUIRE(copy_dir(t.dir, u.dir) == 0);
    char path[400];
    ck_path(&u, path, sizeof path);
    unlink(path);
    REQUIRE(tp_open(&t) == 0 && tp_open(&u) == 0);
    mp_compact_stats su;
    REQUIRE(tp_compact(&t, 10000, &st) == 0 && tp_compact(&u, 10000, &su) == 0);
    /* The map: only what was written from the checkpoint on. */
    CHECK(st.first_dirty == ck1 && st.records_mapped == hi - ck1);
    CHECK(su.first_dirty == 0 && su.records_mapped == hi);
    CHECK(st.records_in == su.records_in && st.records_out == su.records_out);
    CHECK(same_dump(&t, &u, "dirty-part map"));
    /* Updated keys lost their old record, the rest of the clean part is
     * still there. */
    mp_buf x = {0};
    dump(&t, &x);
    CHECK(strstr(x.data, "k(6)=key007 v(2)=a7\n") == NULL);
    CHECK(strstr(x.data, "k(6)=key008 v(2)=a8\n") != NULL);
    CHECK(strstr(x.data, "k(6)=key007 v(2)=b1\n") != NULL);
    mp_buf_free(&x);
    tp_close(&t);
    tp_close(&u);
}

/* ---- scheduling ------------------------------------------------------------------------ */

static uint64_t seg_bytes(tp *t, int64_t from, int64_t to)
{
    mp_segment **segs;
    size_t n;
    mp_error e = {0};
    if (mp_partition_segments(t->p, &segs, &n, &e))
        return 0;
    uint64_t total = 0;
    for (size_t i = 0; i + 1 < n; i++)
        if (segs[i]->base_offset >= from && segs[i]->base_offset < to)
            total += segs[i]->size;
    mp_partition_segments_release(segs, n);
    return total;
}

static void test_dirty_ratio(void)
{
    const char *cfgs[] = {"segment.bytes=300"};
    tp t;
    tp_init(&t, cfgs, 1);
    REQUIRE(tp_open(&t) == 0);
    /* Distinct keys: cleaning removes nothing, so byte counts stay put. */
    for (int i = 0; i < 60; i++) {
        char k[16];
        snprintf(k, sizeof k, "key%03d", i);
        mp_record r = lt_rec(k, "some value bytes", 1000);
        tp_append(&t, &r, 1);
    }
    mp_error e = {0};
    mp_cleaner_view v;
    REQUIRE(mp_log_cleaner_examine(t.p, &t.cfg, 5000, &v, &e) == 0);
    CHECK(v.first_dirty == 0 && v.clean_bytes == 0 && v.dirty_bytes > 0);
    CHECK(v.dirty_ratio == 1.0 && v.due_ratio);
    CHECK(mp_log_cleaner_maybe_clean(t.p, &t.cfg, 5000, &e) == 1);
    int64_t ck = active_base(&t);
    REQUIRE(mp_log_cleaner_examine(t.p, &t.cfg, 5000, &v, &e) == 0);
    CHECK(v.first_dirty == ck && v.dirty_bytes == 0 && !v.due_ratio);
    uint64_t clean = seg_bytes(&t, 0, ck);
    CHECK(v.clean_bytes == clean);
    /* Add records until the dirty share passes one half. */
    int added = 0;
    for (; added < 200; added++) {
        char k[16];
        snprintf(k, sizeof k, "new%03d", added);
        mp_record r = lt_rec(k, "some value bytes", 2000);
        tp_append(&t, &r, 1);
        REQUIRE(mp_log_cleaner_examine(t.p, &t.cfg, 5000, &v, &e) == 0);
        uint64_t dirty = seg_bytes(&t, ck, INT64_MAX);
        if (v.dirty_bytes != dirty || v.clean_bytes != clean) {
            CHECK(v.dirty_bytes == dirty && v.clean_bytes == clean);
            break;
        }
        double want = (double)dirty / (double)(dirty + clean);
        CHECK_NEAR(v.dirty_ratio, want, 1e-12);
        CHECK(v.due_ratio == (dirty > 0 && want > 0.5));
        if (v.due_ratio)
            break;
        CHECK(mp_log_cleaner_maybe_clean(t.p, &t.cfg, 5000, &e) == 0);
    }
    CHECK(v.due_ratio);
    /* Exactly at the configured ratio is not above it (Kafka's test). */
    t.cfg.min_cleanable_dirty_ratio = v.dirty_ratio;
    REQUIRE(mp_log_cleaner_examine(t.p, &t.cfg, 5000, &v, &e) == 0);
    CHECK(!v.due_ratio);
    CHECK(mp_log_cleaner_maybe_clean(t.p, &t.cfg, 5000, &e) == 0);
    t.cfg.min_cleanable_dirty_ratio = 0.5;
    CHECK(mp_log_cleaner_maybe_clean(t.p, &t.cfg, 5000, &e) == 1);
    REQUIRE(mp_log_cleaner_examine(t.p, &t.cfg, 5000, &v, &e) == 0);
    CHECK(v.dirty_bytes == 0 && v.first_dirty == active_base(&t));
    /* A delete-only topic is never cleaned by the background. */
    t.cfg.cleanup_policy = MP_LOG_CLEANUP_DELETE;
    CHECK(mp_log_cleaner_maybe_clean(t.p, &t.cfg, 5000, &e) == 0);
    tp_close(&t);
}

static void test_max_compaction_lag(void)
{
    const char *cfgs[] = {"segment.bytes=300", "min.cleanable.dirty.ratio=0.9"};
    tp t;
    tp_init(&t, cfgs, 2);
    REQUIRE(tp_open(&t) == 0);
    int64_t t0 = 1700000000000LL;
    put_n(&t, 60, 60, t0);
    mp_error e = {0};
    mp_compact_stats st;
    REQUIRE(tp_compact(&t, t0 + 1000, &st) == 0);
    int64_t ck = st.checkpoint;
    /* A little dirty data, well under the ratio: one update at t0+10000,
     * then records that close its segment. */
    mp_record r = lt_rec("k1", "newer", t0 + 10000);
    tp_append(&t, &r, 1);
    for (int i = 0; i < 8; i++) {
        char k[16];
        snprintf(k, sizeof k, "z%d", i);
        r = lt_rec(k, "filler value", t0 + 10001 + i);
        tp_append(&t, &r, 1);
    }
    mp_cleaner_view v;
    int64_t now = t0 + 70000;
    REQUIRE(mp_log_cleaner_examine(t.p, &t.cfg, now, &v, &e) == 0);
    REQUIRE(v.dirty_bytes > 0);
    CHECK(!v.due_ratio && !v.due_max_lag && v.oldest_dirty_ts == -1); /* lag not set */
    CHECK(mp_log_cleaner_maybe_clean(t.p, &t.cfg, now, &e) == 0);
    /* Lag 70 s. The first dirty segment is the one that was active at the
     * first pass: its first record, from t0, is the oldest dirty one; it
     * is exactly 70 s old at t0+70000 -- not older -- and older a
     * millisecond later. */
    t.cfg.max_compaction_lag_ms = 70000;
    REQUIRE(mp_log_cleaner_examine(t.p, &t.cfg, now, &v, &e) == 0);
    CHECK(v.oldest_dirty_ts == t0 && !v.due_max_lag);
    CHECK(mp_log_cleaner_maybe_clean(t.p, &t.cfg, now, &e) == 0);
    REQUIRE(mp_log_cleaner_examine(t.p, &t.cfg, now + 1, &v, &e) == 0);
    CHECK(v.due_max_lag && !v.due_ratio);
    CHECK(mp_log_cleaner_maybe_clean(t.p, &t.cfg, now + 1, &e) == 1);
    mp_buf x = {0};
    dump(&t, &x);
    CHECK(strstr(x.data, "k(2)=k1 v(2)=v1\n") == NULL);
    CHECK(strstr(x.data, "k(2)=k1 v(5)=newer\n") != NULL);
    mp_buf_free(&x);
    REQUIRE(mp_log_cleaner_examine(t.p, &t.cfg, now + 1, &v, &e) == 0);
    CHECK(v.first_dirty > ck && !v.due_max_lag); /* done: no pass again */
    CHECK(mp_log_cleaner_maybe_clean(t.p, &t.cfg, now + 1, &e) == 0);
    tp_close(&t);
}

/* Batches without timestamps: the age is the segment file's mtime. */
static void test_max_lag_mtime(void)
{
    const char *cfgs[] = {"segment.bytes=150", "max.compaction.lag.ms=3600000"};
    tp t;
    tp_init(&t, cfgs, 2);
    REQUIRE(tp_open(&t) == 0);
    for (int i = 0; i < 6; i++) {
        mp_record r = lt_rec("k", "no timestamp here", -1);
        REQUIRE(tp_append(&t, &r, 1) == 0);
    }
    mp_segment **segs;
    size_t n;
    mp_error e = {0};
    REQUIRE(mp_partition_segments(t.p, &segs, &n, &e) == 0);
    REQUIRE(n >= 3);
    int64_t now = mp_clock_wall_ms();
    mp_cleaner_view v;
    REQUIRE(mp_log_cleaner_examine(t.p, &t.cfg, now, &v, &e) == 0);
    /* Just written: young. */
    CHECK(v.oldest_dirty_ts > now - 600000 && v.oldest_dirty_ts <= now + 1000);
    CHECK(!v.due_max_lag);
    /* The first segment's file dated two hours back. */
    char path[400];
    mp_segment_path(path, sizeof path, t.dir, segs[0]->base_offset, ".log", "");
    struct timespec times[2];
    times[0].tv_sec = times[1].tv_sec = (time_t)(now / 1000 - 7200);
    times[0].tv_nsec = times[1].tv_nsec = 0;
    REQUIRE(utimensat(AT_FDCWD, path, times, 0) == 0);
    REQUIRE(mp_log_cleaner_examine(t.p, &t.cfg, now, &v, &e) == 0);
    CHECK(v.oldest_dirty_ts == (now / 1000 - 7200) * 1000);
    CHECK(v.due_max_lag);
    mp_partition_segments_release(segs, n);
    CHECK(mp_log_cleaner_maybe_clean(t.p, &t.cfg, now, &e) == 1);
    tp_close(&t);
}

/* A tombstone kept by one pass (too young to drop) lands in the clean
 * part; the checkpoint remembers it, the background starts a pass once it
 * expires, and that pass drops it. */
static void test_tombstone_across_passes(void)
{
    const char *cfgs[] = {"segment.bytes=150", "delete.retention.ms=60000"};
    tp t;
    tp_init(&t, cfgs, 2);
    REQUIRE(tp_open(&t) == 0);
    int64_t t0 = 1700000000000LL;
    mp_record r = lt_rec("gone", "1", t0);
    tp_append(&t, &r, 1);
    r = lt_rec("gone", NULL, t0 + 5000); /* the tombstone */
    tp_append(&t, &r, 1);
    r = lt_rec("stay", NULL, t0 + 9000); /* a second one, younger */
    tp_append(&t, &r, 1);
    for (int i = 0; i < 4; i++) {
        char k[16];
        snprintf(k, sizeof k, "x%d", i);
        r = lt_rec(k, "filler value", t0 + 10000);
        tp_append(&t, &r, 1);
    }
    mp_compact_stats st;
    REQUIRE(tp_compact(&t, t0 + 20000, &st) == 0);
    CHECK(st.tombstones_dropped == 0);
    mp_cleaner_checkpoint ck;
    REQUIRE(mp_log_cleaner_checkpoint_read(t.p, &ck) == 1);
    CHECK(ck.first_dirty > 2 && ck.oldest_tombstone_ts == t0 + 5000);
    mp_buf x = {0};
    dump(&t, &x);
    CHECK(strstr(x.data, "k(4)=gone v(-1)=\n") != NULL);
    CHECK(strstr(x.data, "k(4)=gone v(1)=1\n") == NULL);
    mp_error e = {0};
    mp_cleaner_view v;
    /* Not yet: t0+5000+60000 is the last moment it is kept. */
    REQUIRE(mp_log_cleaner_examine(t.p, &t.cfg, t0 + 65000, &v, &e) == 0);
    CHECK(!v.due_tombstone && !v.due_ratio && v.dirty_bytes == 0);
    CHECK(mp_log_cleaner_maybe_clean(t.p, &t.cfg, t0 + 65000, &e) == 0);
    REQUIRE(mp_log_cleaner_examine(t.p, &t.cfg, t0 + 65001, &v, &e) == 0);
    CHECK(v.due_tombstone);
    /* The pass drops the first tombstone, keeps the second and says so. */
    CHECK(mp_log_cleaner_maybe_clean(t.p, &t.cfg, t0 + 65001, &e) == 1);
    dump(&t, &x);
    CHECK(strstr(x.data, "k(4)=gone") == NULL);
    CHECK(strstr(x.data, "k(4)=stay v(-1)=\n") != NULL);
    REQUIRE(mp_log_cleaner_checkpoint_read(t.p, &ck) == 1);
    CHECK(ck.oldest_tombstone_ts == t0 + 9000);
    CHECK(mp_log_cleaner_maybe_clean(t.p, &t.cfg, t0 + 65001, &e) == 0);
    /* Across reopening too. */
    tp_close(&t);
    REQUIRE(tp_open(&t) == 0);
    REQUIRE(mp_log_cleaner_examine(t.p, &t.cfg, t0 + 69001, &v, &e) == 0);
    CHECK(v.due_tombstone);
    CHECK(mp_log_cleaner_maybe_clean(t.p, &t.cfg, t0 + 69001, &e) == 1);
    dump(&t, &x);
    CHECK(strstr(x.data, "k(4)=stay") == NULL);
    REQUIRE(mp_log_cleaner_checkpoint_read(t.p, &ck) == 1);
    CHECK(ck.oldest_tombstone_ts == -1);
    REQUIRE(mp_log_cleaner_examine(t.p, &t.cfg, t0 + 999999, &v, &e) == 0);
    CHECK(!v.due_tombstone && !v.due_ratio && !v.due_max_lag);
    mp_buf_free(&x);
    tp_close(&t);
}

/* min.compaction.lag.ms stops the cleanable range: the checkpoint moves
 * only to its end, and the rest is cleaned when it becomes old enough. */
static void test_min_lag_checkpoint(void)
{
    const char *cfgs[] = {"segment.bytes=150", "min.compaction.lag.ms=10000"};
    tp t;
    tp_init(&t, cfgs, 2);
    REQUIRE(tp_open(&t) == 0);
    int64_t t0 = 1700000000000LL;
    /* Six old records of distinct keys, then six newer ones of a and b. */
    for (int i = 0; i < 12; i++) {
        char k[16], v[16];
        snprintf(k, sizeof k, "c%d", i);
        snprintf(v, sizeof v, "v%d", i);
        mp_record r = lt_rec(i < 6 ? k : i % 2 ? "a" : "b", v, t0 + (i < 6 ? 0 : 8000));
        tp_append(&t, &r, 1);
    }
    mp_compact_stats st;
    REQUIRE(tp_compact(&t, t0 + 12000, &st) == 0);
    CHECK(st.clean_to > 0 && st.clean_to < active_base(&t));
    CHECK(st.checkpoint == st.clean_to);
    /* Raising the lag later moves the cleanable range back; the checkpoint
     * does not move back. */
    int64_t ck = st.checkpoint;
    t.cfg.min_compaction_lag_ms = 100000;
    REQUIRE(tp_compact(&t, t0 + 12000, &st) == 0);
    CHECK(st.clean_to < ck && st.checkpoint == ck);
    t.cfg.min_compaction_lag_ms = 10000;
    REQUIRE(tp_compact(&t, t0 + 30000, &st) == 0);
    CHECK(st.first_dirty == ck && st.checkpoint == active_base(&t));
    mp_buf x = {0};
    CHECK(dump(&t, &x) >= 1);
    /* Every closed record superseded by the active one is gone, the
     * distinct old keys stay. */
    CHECK(strstr(x.data, "v(2)=v6\n") == NULL && strstr(x.data, "v(2)=v9\n") == NULL);
    CHECK(strstr(x.data, "k(2)=c0 v(2)=v0\n") != NULL && strstr(x.data, "v(3)=v11\n") != NULL);
    mp_buf_free(&x);
    tp_close(&t);
}

/* The active segment is never cleaned, so a compacted topic's active
 * segment rolls once it is max.compaction.lag.ms old (as in Kafka). */
static int nsegs(tp *t)
{
    pthread_mutex_lock(&t->p->state_mu);
    int n = (int)t->p->nsegs;
    pthread_mutex_unlock(&t->p->state_mu);
    return n;
}

static void test_roll_at_max_lag(void)
{
    const char *cfgs[] = {"max.compaction.lag.ms=200"};
    tp t, u;
    tp_init(&t, cfgs, 1);
    tp_init(&u, cfgs, 1);
    u.cfg.cleanup_policy = MP_LOG_CLEANUP_DELETE; /* the lag means nothing there */
    REQUIRE(tp_open(&t) == 0 && tp_open(&u) == 0);
    mp_record r = lt_rec("k", "1", 1000);
    int64_t start = mp_clock_wall_ms();
    tp_append(&t, &r, 1);
    tp_append(&u, &r, 1);
    tp_append(&t, &r, 1); /* at once: same segment (unless the machine stalled) */
    if (mp_clock_wall_ms() - start < 150)
        CHECK(nsegs(&t) == 1);
    usleep(260000);
    tp_append(&t, &r, 1);
    tp_append(&u, &r, 1);
    CHECK(nsegs(&t) == 2);
    CHECK(nsegs(&u) == 1);
    /* The closed segment is now cleanable: the older records of k go. */
    mp_compact_stats st;
    REQUIRE(tp_compact(&t, 2000, &st) == 0);
    CHECK(st.records_in == 2 && st.records_out == 0);
    tp_close(&t);
    tp_close(&u);
}

/* ---- configuration ----------------------------------------------------------------------- */

static void test_config_helpers(void)
{
    mp_log_topic_config c;
    mp_log_config_init(&c);
    char v[64];
    CHECK(mp_log_config_get(&c, "max.compaction.lag.ms", v, sizeof v) == 0 &&
          !strcmp(v, "9223372036854775807"));
    CHECK(mp_log_config_get(&c, "min.cleanable.dirty.ratio", v, sizeof v) == 0 &&
          !strcmp(v, "0.5"));
    mp_error e = {0};
    CHECK(mp_log_config_check(&c, &e) == 0);
    CHECK(mp_log_config_parse(&c, "min.compaction.lag.ms=5000", &e) == 0);
    CHECK(mp_log_config_parse(&c, "max.compaction.lag.ms=5000", &e) == 0);
    CHECK(mp_log_config_check(&c, &e) == 0); /* equal is fine */
    CHECK(mp_log_config_parse(&c, "max.compaction.lag.ms=4999", &e) == 0);
    CHECK(mp_log_config_check(&c, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "min.compaction.lag.ms (5000)");
    CHECK_STR_CONTAINS(e.msg, "max.compaction.lag.ms (4999)");
    CHECK(mp_log_config_parse(&c, "max.compaction.lag.ms=0", &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "max.compaction.lag.ms");
    CHECK(mp_log_config_parse(&c, "min.cleanable.dirty.ratio=1.5", &e) == MP_EINVAL);
    CHECK(mp_log_config_parse(&c, "min.cleanable.dirty.ratio=0.25", &e) == 0 &&
          c.min_cleanable_dirty_ratio == 0.25);
    /* The roll time of a compacted topic (Kafka's maxSegmentMs). */
    mp_log_config_init(&c);
    CHECK(mp_log_config_roll_ms(&c) == 604800000LL);
    c.max_compaction_lag_ms = 60000;
    CHECK(mp_log_config_roll_ms(&c) == 604800000LL); /* delete policy: no effect */
    c.cleanup_policy = MP_LOG_CLEANUP_COMPACT | MP_LOG_CLEANUP_DELETE;
    CHECK(mp_log_config_roll_ms(&c) == 60000);
    c.segment_ms = 1000;
    CHECK(mp_log_config_roll_ms(&c) == 1000);
}

int main(void)
{
    RUN(test_checkpoint_file);
    RUN(test_damaged_checkpoint);
    RUN(test_checkpoint_below_log_start);
    RUN(test_map_from_dirty_part);
    RUN(test_dirty_ratio);
    RUN(test_max_compaction_lag);
    RUN(test_max_lag_mtime);
    RUN(test_tombstone_across_passes);
    RUN(test_min_lag_checkpoint);
    RUN(test_roll_at_max_lag);
    RUN(test_config_helpers);
    RUN(test_random_equivalence);
    mp_buf_free(&dbg);
    lt_cleanup();
    return TEST_SUMMARY();
}
