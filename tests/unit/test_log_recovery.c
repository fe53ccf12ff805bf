/* Crash recovery and damage: a torn tail cut at every byte of the last
 * batch, garbage and zeros after the end, damaged or missing index files
 * rebuilt byte for byte, a damaged byte in a closed segment reported with
 * topic, partition and offset (never served), and segment replacement
 * (what compaction uses) committed and recovered through its manifest. */
#include <inttypes.h>
#include <time.h>

#include "core/clock.h"
#include "log/log.h"
#include "log/log_batch.h"
#include "log/log_partition.h"
#include "log/log_segment.h"
#include "log_test_util.h"

#define BIG 100000000

static char *slurp(const char *path, size_t *len)
{
    char *data = NULL;
    if (mp_read_file_raw(path, &data, len, NULL))
        return NULL;
    return data;
}

/* Positions of the batches in a segment file; returns how many. */
static int batch_starts(const char *data, size_t len, size_t *pos, int cap)
{
    size_t p = 0;
    int n = 0;
    while (p < len && n < cap) {
        mp_batch_info bi;
        if (mp_batch_peek((const uint8_t *)data + p, len - p, &bi, NULL))
            break;
        pos[n++] = p;
        p += bi.size;
    }
    return n;
}

/* Builds a data dir holding topic t (1 partition, given json) whose only
 * segment is log[0..len). */
static void make_dir(const char *dir, const char *json, size_t json_len, const char *log,
                     size_t len, int clean)
{
    char path[400];
    mp_remove_tree(dir);
    snprintf(path, sizeof path, "%s/topics/t-0", dir);
    mp_mkdirs(path, NULL);
    snprintf(path, sizeof path, "%s/topics/t.json", dir);
    lt_write_file(path, json, json_len);
    snprintf(path, sizeof path, "%s/topics/t-0/00000000000000000000.log", dir);
    lt_write_file(path, log, len);
    if (clean) {
        snprintf(path, sizeof path, "%s/.clean_shutdown", dir);
        lt_write_file(path, "", 0);
    }
}

static void test_torn_tail_every_byte(void)
{
    char src[256], work[256];
    lt_dir(src, sizeof src);
    lt_dir(work, sizeof work);
    mp_log *log = lt_open(src);
    REQUIRE(log);
    mp_error e = {0};
    const char *cfg[] = {"flush.messages=1"};
    REQUIRE(mp_log_topic_create(log, "t", 1, cfg, 1, &e) == 0);
    mp_record_header h = {"h", 1, (const uint8_t *)"hv", 2};
    for (int b = 0; b < 20; b++) {
        mp_record recs[3];
        char vals[3][40];
        for (int i = 0; i < 3; i++) {
            snprintf(vals[i], sizeof vals[i], "batch %d record %d", b, i);
            recs[i] = lt_rec(i == 1 ? NULL : "key", vals[i], 1000 + b);
            recs[i].nheaders = i == 2;
            recs[i].headers = &h;
        }
        REQUIRE(mp_log_produce_batch(log, "t", 0, recs, 3, NULL, &e) == 0);
    }
    lt_seen want[60];
    REQUIRE(lt_read_all(log, "t", 0, 0, BIG, want, 60) == 60);
    lt_close(log);

    char path[400];
    size_t log_len, json_len;
    snprintf(path, sizeof path, "%s/topics/t-0/00000000000000000000.log", src);
    char *data = slurp(path, &log_len);
    snprintf(path, sizeof path, "%s/topics/t.json", src);
    char *json = slurp(path, &json_len);
    REQUIRE(data && json);
    size_t starts[64];
    REQUIRE(batch_starts(data, log_len, starts, 64) == 20);
    size_t last = starts[19];
    CHECK(log_len - last > MP_BATCH_HEADER_SIZE);

    int bad_open = 0, bad_range = 0, bad_data = 0, bad_cut = 0, bad_next = 0, rounds = 0;
    static lt_seen got[64];
    for (size_t cut = last; cut <= log_len; cut++) {
        /* Unclean every time; a clean marker (trusting the index) on some. */
        int clean = (cut % 5) == 0;
        make_dir(work, json, json_len, data, cut, clean);
        rounds++;
        log = lt_open(work);
        if (!log) {
            bad_open++;
            continue;
        }
        int64_t want_end = cut == log_len ? 60 : 57;
        int64_t lo = -1, hi = -1;
        mp_log_offsets(log, "t", 0, &lo, &hi, &e);
        bad_range += lo != 0 || hi != want_end;
        mp_log_topic_info *info;
        if (mp_log_topic_describe(log, "t", &info, &e) == 0) {
            bad_cut += info->parts[0].truncated_bytes != (int64_t)(cut == log_len ? 0 : cut - last);
            mp_log_topic_info_free(info);
        }
        long n = lt_read_all(log, "t", 0, 0, BIG, got, 64);
        if (n != want_end)
            bad_data++;
        for (long i = 0; i < n && i < want_end; i++)
            if (got[i].offset != want[i].offset || strcmp(got[i].value, want[i].value) ||
                strcmp(got[i].key, want[i].key) || got[i].ts != want[i].ts)
                bad_data++;
        /* Writing goes on from the cut: the next offset follows. */
        mp_record r = lt_rec("k", "after", 5);
        int64_t off = -1;
        if (mp_log_produce(log, "t", 0, &r, NULL, &off, &e) || off != want_end)
            bad_next++;
        lt_close(log);
        /* And that survives another reopen. */
        log = lt_open(work);
        if (!log) {
            bad_open++;
            continue;
        }
        mp_log_offsets(log, "t", 0, &lo, &hi, &e);
        bad_next += hi != want_end + 1;
        lt_close(log);
    }
    CHECK(rounds == (int)(log_len - last + 1));
    CHECK(bad_open == 0);
    CHECK(bad_range == 0);
    CHECK(bad_cut == 0);
    CHECK(bad_data == 0);
    CHECK(bad_next == 0);

    /* Garbage, zeros (a file extended but never written), a flipped byte in
     * the last batch: all cut back to the last good batch. */
    char *ext = malloc(log_len + 4096);
    REQUIRE(ext);
    memcpy(ext, data, log_len);
    for (int variant = 0; variant < 4; variant++) {
        size_t len = log_len;
        int64_t want_end = 60;
        if (variant == 0) {
            for (int i = 0; i < 100; i++)
                ext[len + i] = (char)(i * 37 + 11);
            len += 100;
        } else if (variant == 1) {
            memset(ext + len, 0, 4096);
            len += 4096;
        } else if (variant == 2) {
            ext[last + 70] ^= 0x20; /* inside the records: CRC fails */
            want_end = 57;
        } else {
            memcpy(ext, data, log_len);
            ext[last + 16] = 1; /* magic byte */
            want_end = 57;
        }
        make_dir(work, json, json_len, ext, len, 0);
        log = lt_open(work);
        REQUIRE(log);
        int64_t hi = -1;
        mp_log_offsets(log, "t", 0, NULL, &hi, &e);
        CHECK(hi == want_end);
        CHECK(lt_read_all(log, "t", 0, 0, BIG, got, 64) == want_end);
        lt_close(log);
        snprintf(path, sizeof path, "%s/topics/t-0/00000000000000000000.log", work);
        CHECK(lt_file_size(path) == (long)(want_end == 60 ? log_len : last));
        memcpy(ext, data, log_len);
    }
    free(ext);
    free(data);
    free(json);
}

static int64_t brute_time(const lt_seen *all, long n, int64_t q)
{
    for (long i = 0; i < n; i++)
        if (all[i].ts >= q)
            return all[i].offset;
    return -1;
}

static void test_indexes_rebuilt(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_log *log = lt_open(dir);
    REQUIRE(log);
    mp_error e = {0};
    const char *cfg[] = {"segment.bytes=3000", "index.interval.bytes=300"};
    REQUIRE(mp_log_topic_create(log, "t", 1, cfg, 2, &e) == 0);
    for (int i = 0; i < 500; i++) {
        char v[48];
        snprintf(v, sizeof v, "value number %d", i);
        mp_record r = lt_rec("k", v, 1000000 + i * 3 - (i % 7) * 5);
        REQUIRE(mp_log_produce(log, "t", 0, &r, NULL, NULL, &e) == 0);
    }
    static lt_seen all[500];
    REQUIRE(lt_read_all(log, "t", 0, 0, BIG, all, 500) == 500);
    lt_close(log);

    char pdir[300];
    snprintf(pdir, sizeof pdir, "%s/topics/t-0", dir);
    int nseg = lt_count_files(pdir, ".log");
    REQUIRE(nseg >= 8);
    /* The segment base offsets, in order. */
    int64_t bases[64];
    int nb = 0;
    DIR *d = opendir(pdir);
    REQUIRE(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL && nb < 64) {
        size_t l = strlen(de->d_name);
        if (l == 24 && !strcmp(de->d_name + 20, ".log"))
            bases[nb++] = strtoll(de->d_name, NULL, 10);
    }
    closedir(d);
    for (int i = 0; i < nb; i++)
        for (int j = i + 1; j < nb; j++)
            if (bases[j] < bases[i]) {
                int64_t t = bases[i];
                bases[i] = bases[j];
                bases[j] = t;
            }
    /* Keep the originals. */
    char *orig_ix[64], *orig_ti[64];
    size_t orig_ix_len[64], orig_ti_len[64];
    char path[400];
    for (int i = 0; i < nb; i++) {
        snprintf(path, sizeof path, "%s/%020" PRId64 ".index", pdir, bases[i]);
        orig_ix[i] = slurp(path, &orig_ix_len[i]);
        snprintf(path, sizeof path, "%s/%020" PRId64 ".timeindex", pdir, bases[i]);
        orig_ti[i] = slurp(path, &orig_ti_len[i]);
        REQUIRE(orig_ix[i] && orig_ti[i]);
    }
    REQUIRE(orig_ix_len[2] >= 24); /* a few entries to damage */

    /* 1: index deleted. 2: index garbled. 3: time index truncated mid-entry.
     * 4: an index entry that looks fine but names the wrong offset.
     * 5: time index deleted. last (active): index garbled. */
    snprintf(path, sizeof path, "%s/%020" PRId64 ".index", pdir, bases[1]);
    unlink(path);
    snprintf(path, sizeof path, "%s/%020" PRId64 ".index", pdir, bases[2]);
    {
        char junk[64];
        for (int i = 0; i < 64; i++)
            junk[i] = (char)(i * 53 + 7);
        lt_write_file(path, junk, orig_ix_len[2] < 64 ? orig_ix_len[2] : 64);
    }
    snprintf(path, sizeof path, "%s/%020" PRId64 ".timeindex", pdir, bases[3]);
    lt_write_file(path, orig_ti[3], 5);
    snprintf(path, sizeof path, "%s/%020" PRId64 ".index", pdir, bases[4]);
    {
        char *m = malloc(orig_ix_len[4]);
        REQUIRE(m);
        memcpy(m, orig_ix[4], orig_ix_len[4]);
        m[3] += 1; /* first entry's relative offset + 1: still increasing */
        lt_write_file(path, m, orig_ix_len[4]);
        free(m);
    }
    snprintf(path, sizeof path, "%s/%020" PRId64 ".timeindex", pdir, bases[5]);
    unlink(path);
    snprintf(path, sizeof path, "%s/%020" PRId64 ".index", pdir, bases[nb - 1]);
    lt_write_file(path, "\xff\xff\xff", 3);

    log = lt_open(dir);
    REQUIRE(log);
    mp_log_fetch_result r = {0};
    int bad = 0;
    for (int64_t off = 0; off < 500; off++)
        if (mp_log_fetch(log, "t", 0, off, 1, &r, &e) || r.n == 0 || r.recs[0].offset != off ||
            (size_t)r.recs[0].value_len != strlen(all[off].value) ||
            memcmp(r.recs[0].value, all[off].value, strlen(all[off].value)))
            bad++;
    CHECK(bad == 0);
    mp_log_fetch_result_free(&r);
    bad = 0;
    for (int64_t q = 999000; q < 1000000 + 1600; q += 7) {
        int64_t got = -2;
        if (mp_log_offset_for_time(log, "t", 0, q, &got, NULL, &e) || got != brute_time(all, 500, q))
            bad++;
    }
    CHECK(bad == 0);
    lt_close(log);
    /* The rebuilt files are byte for byte what was written originally. */
    bad = 0;
    for (int i = 0; i < nb; i++) {
        size_t l1, l2;
        snprintf(path, sizeof path, "%s/%020" PRId64 ".index", pdir, bases[i]);
        char *a = slurp(path, &l1);
        snprintf(path, sizeof path, "%s/%020" PRId64 ".timeindex", pdir, bases[i]);
        char *b = slurp(path, &l2);
        if (!a || l1 != orig_ix_len[i] || memcmp(a, orig_ix[i], l1))
            bad++;
        if (!b || l2 != orig_ti_len[i] || memcmp(b, orig_ti[i], l2))
            bad++;
        free(a);
        free(b);
        free(orig_ix[i]);
        free(orig_ti[i]);
    }
    CHECK(bad == 0);
}

static void test_damaged_closed_segment(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_log *log = lt_open(dir);
    REQUIRE(log);
    mp_error e = {0};
    const char *cfg[] = {"segment.bytes=1200"};
    REQUIRE(mp_log_topic_create(log, "t", 1, cfg, 1, &e) == 0);
    for (int i = 0; i < 100; i++) {
        char v[48];
        snprintf(v, sizeof v, "record %03d", i);
        mp_record r = lt_rec("k", v, 1000 + i);
        REQUIRE(mp_log_produce(log, "t", 0, &r, NULL, NULL, &e) == 0);
    }
    lt_close(log);
    /* The third segment: damage its second batch's records (a bit flip the
     * CRC catches) and leave everything else alone. */
    char pdir[300], path[400];
    snprintf(pdir, sizeof pdir, "%s/topics/t-0", dir);
    int64_t bases[64];
    int nb = 0;
    DIR *d = opendir(pdir);
    REQUIRE(d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL && nb < 64) {
        size_t l = strlen(de->d_name);
        if (l == 24 && !strcmp(de->d_name + 20, ".log"))
            bases[nb++] = strtoll(de->d_name, NULL, 10);
    }
    closedir(d);
    REQUIRE(nb >= 4);
    for (int i = 0; i < nb; i++)
        for (int j = i + 1; j < nb; j++)
            if (bases[j] < bases[i]) {
                int64_t t = bases[i];
                bases[i] = bases[j];
                bases[j] = t;
            }
    snprintf(path, sizeof path, "%s/%020" PRId64 ".log", pdir, bases[2]);
    size_t len;
    char *data = slurp(path, &len);
    REQUIRE(data);
    size_t starts[64];
    REQUIRE(batch_starts(data, len, starts, 64) >= 3);
    free(data);
    int64_t bad_off = bases[2] + 1; /* one record per batch */
    REQUIRE(lt_flip(path, (long)starts[1] + 70) == 0);

    log = lt_open(dir);
    REQUIRE(log); /* closed segments are checked when read, not on open */
    /* Reading from the start: everything before the damage arrives, then
     * the damage is reported, naming topic-partition@offset. */
    mp_log_fetch_result r = {0};
    int64_t off = 0;
    int served_bad = 0, got_error = 0;
    int64_t seen = 0;
    for (int guard = 0; guard < 1000; guard++) {
        int rc = mp_log_fetch(log, "t", 0, off, BIG, &r, &e);
        if (rc) {
            CHECK(rc == MP_EFORMAT);
            got_error = 1;
            break;
        }
        for (size_t i = 0; i < r.n; i++) {
            served_bad += r.recs[i].offset == bad_off;
            seen++;
        }
        if (r.next_offset >= r.latest)
            break;
        off = r.next_offset;
    }
    CHECK(got_error);
    CHECK(served_bad == 0);
    CHECK(seen == bad_off);
    CHECK(off == bad_off);
    char want[64];
    snprintf(want, sizeof want, "t-0@%" PRId64 ":", bad_off);
    CHECK_STR_CONTAINS(e.msg, want);
    CHECK_STR_CONTAINS(e.msg, "CRC");
    /* Past the damaged batch, reading works again. */
    REQUIRE(mp_log_fetch(log, "t", 0, bad_off + 1, BIG, &r, &e) == 0);
    CHECK(r.n > 0 && r.recs[0].offset == bad_off + 1);
    /* A small budget reaching the damage first also reports it. */
    CHECK(mp_log_fetch(log, "t", 0, bad_off, 1, &r, &e) == MP_EFORMAT);
    CHECK_STR_CONTAINS(e.msg, want);
    /* A time lookup that must read the damaged batch fails too, rather than
     * skip it. */
    int64_t t_off;
    CHECK(mp_log_offset_for_time(log, "t", 0, 1000 + bad_off, &t_off, NULL, &e) == MP_EFORMAT);
    CHECK_STR_CONTAINS(e.msg, "t-0@");
    mp_log_fetch_result_free(&r);
    lt_close(log);

    /* A damaged length field in a closed segment's header is reported too. */
    REQUIRE(lt_flip(path, (long)starts[1] + 70) == 0); /* undo */
    REQUIRE(lt_flip(path, (long)starts[2] + 11) == 0); /* batchLength low byte */
    log = lt_open(dir);
    REQUIRE(log);
    int rc = mp_log_fetch(log, "t", 0, bases[2] + 2, BIG, &r, &e);
    CHECK(rc == MP_EFORMAT);
    snprintf(want, sizeof want, "t-0@%" PRId64 ":", bases[2] + 2);
    CHECK_STR_CONTAINS(e.msg, want);
    REQUIRE(mp_log_fetch(log, "t", 0, bases[2], BIG, &r, &e) == 0);
    CHECK(r.n == 2 && r.recs[1].offset == bases[2] + 1); /* the good ones before it */
    mp_log_fetch_result_free(&r);
    lt_close(log);
}

/* An index entry that passes every check on open (the sample misses it)
 * but points at a later batch must not make a read skip records. */
static void test_wrong_index_entry_not_trusted(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_log *log = lt_open(dir);
    REQUIRE(log);
    mp_error e = {0};
    const char *cfg[] = {"index.interval.bytes=250"}; /* an entry every few batches */
    REQUIRE(mp_log_topic_create(log, "t", 1, cfg, 1, &e) == 0);
    for (int b = 0; b < 300; b++) {
        mp_record recs[3];
        char vals[3][16];
        for (int i = 0; i < 3; i++) {
            snprintf(vals[i], sizeof vals[i], "%d", b * 3 + i);
            recs[i] = lt_rec("k", vals[i], 100 + b * 3 + i);
        }
        REQUIRE(mp_log_produce_batch(log, "t", 0, recs, 3, NULL, &e) == 0);
    }
    lt_close(log);
    char path[400], lpath[400];
    snprintf(path, sizeof path, "%s/topics/t-0/00000000000000000000.index", dir);
    snprintf(lpath, sizeof lpath, "%s/topics/t-0/00000000000000000000.log", dir);
    size_t len, llen;
    unsigned char *ix = (unsigned char *)slurp(path, &len);
    char *data = slurp(lpath, &llen);
    REQUIRE(ix && data && len >= 8 * 40);
    size_t starts[400];
    int nb = batch_starts(data, llen, starts, 400);
    REQUIRE(nb == 300);
    /* An entry the open-time sample does not look at (see INDEX_SAMPLES in
     * log_segment.c), moved one batch forward: still increasing, still a
     * batch start, but the batch there begins after the entry's offset. */
    size_t n = len / 8, pick = 0;
    for (size_t i = 1; i + 1 < n && !pick; i++) {
        int sampled = 0;
        for (size_t k = 0; k < 32; k++)
            sampled |= k * n / 32 == i;
        if (!sampled)
            pick = i;
    }
    REQUIRE(pick > 0);
    uint32_t pos = (uint32_t)ix[pick * 8 + 4] << 24 | (uint32_t)ix[pick * 8 + 5] << 16 |
                   (uint32_t)ix[pick * 8 + 6] << 8 | ix[pick * 8 + 7];
    uint32_t next_pos = (uint32_t)ix[pick * 8 + 12] << 24 | (uint32_t)ix[pick * 8 + 13] << 16 |
                        (uint32_t)ix[pick * 8 + 14] << 8 | ix[pick * 8 + 15];
    uint32_t rel = (uint32_t)ix[pick * 8] << 24 | (uint32_t)ix[pick * 8 + 1] << 16 |
                   (uint32_t)ix[pick * 8 + 2] << 8 | ix[pick * 8 + 3];
    int k = 0;
    while (k < nb && starts[k] != pos)
        k++;
    REQUIRE(k + 1 < nb && starts[k + 1] < next_pos);
    uint32_t moved = (uint32_t)starts[k + 1];
    ix[pick * 8 + 4] = (unsigned char)(moved >> 24);
    ix[pick * 8 + 5] = (unsigned char)(moved >> 16);
    ix[pick * 8 + 6] = (unsigned char)(moved >> 8);
    ix[pick * 8 + 7] = (unsigned char)moved;
    REQUIRE(lt_write_file(path, ix, len) == 0);
    free(ix);
    free(data);
    log = lt_open(dir);
    REQUIRE(log);
    mp_log_fetch_result r = {0};
    int bad = 0;
    for (int64_t off = 0; off < 900; off++)
        if (mp_log_fetch(log, "t", 0, off, 1, &r, &e) || r.n == 0 || r.recs[0].offset != off)
            bad++;
    CHECK(bad == 0);
    /* The entry's own offset, the one it would have skipped. */
    REQUIRE(mp_log_fetch(log, "t", 0, rel, 1, &r, &e) == 0);
    CHECK(r.n > 0 && r.recs[0].offset == (int64_t)rel);
    int64_t got;
    REQUIRE(mp_log_offset_for_time(log, "t", 0, 100 + rel, &got, NULL, &e) == 0);
    CHECK(got == (int64_t)rel);
    mp_log_fetch_result_free(&r);
    lt_close(log);
}

/* The flush policy decides when the active segment is fsynced; what is
 * left unflushed is visible in the partition's counters. */
static void test_flush_policy(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_error e = {0};
    REQUIRE(mp_partition_create_dir(dir, &e) == 0);
    mp_partition *p;
    REQUIRE(mp_partition_open(dir, "f-0", 0, 0, 4096, NULL, NULL, &p, &e) == 0);
    mp_log_topic_config cfg;
    mp_log_config_init(&cfg);
    mp_record r = lt_rec("k", "v", 1);
    mp_record three[3] = {r, r, r};
    int64_t base;
    size_t w;
    /* OS: never by us. */
    REQUIRE(mp_partition_append(p, &r, 1, &cfg, &base, &w, &e) == 0);
    REQUIRE(mp_partition_append(p, three, 3, &cfg, &base, &w, &e) == 0);
    CHECK(p->unflushed == 4);
    REQUIRE(mp_partition_flush_if_due(p, &cfg, p->first_unflushed_ms + 1000000, &e) == 0);
    CHECK(p->unflushed == 4);
    REQUIRE(mp_partition_flush(p, &e) == 0);
    CHECK(p->unflushed == 0 && p->first_unflushed_ms == 0);
    /* Every batch. */
    cfg.flush_messages = 1;
    REQUIRE(mp_partition_append(p, &r, 1, &cfg, &base, &w, &e) == 0);
    CHECK(p->unflushed == 0);
    /* Every 5 messages: batches accumulate until the count is reached. */
    cfg.flush_messages = 5;
    REQUIRE(mp_partition_append(p, three, 3, &cfg, &base, &w, &e) == 0);
    CHECK(p->unflushed == 3);
    REQUIRE(mp_partition_append(p, three, 3, &cfg, &base, &w, &e) == 0);
    CHECK(p->unflushed == 0);
    /* By time: on the next append once flush.ms has passed, or by the
     * timer's call. */
    cfg.flush_messages = MP_LOG_NEVER;
    cfg.flush_ms = 30;
    REQUIRE(mp_partition_append(p, &r, 1, &cfg, &base, &w, &e) == 0);
    CHECK(p->unflushed == 1);
    int64_t t0 = p->first_unflushed_ms;
    REQUIRE(mp_partition_flush_if_due(p, &cfg, t0 + 29, &e) == 0);
    CHECK(p->unflushed == 1);
    REQUIRE(mp_partition_flush_if_due(p, &cfg, t0 + 30, &e) == 0);
    CHECK(p->unflushed == 0);
    REQUIRE(mp_partition_append(p, &r, 1, &cfg, &base, &w, &e) == 0);
    CHECK(p->unflushed == 1);
    struct timespec ts = {0, 40 * 1000000L};
    nanosleep(&ts, NULL);
    REQUIRE(mp_partition_append(p, &r, 1, &cfg, &base, &w, &e) == 0);
    CHECK(p->unflushed == 0);
    CHECK(base == 13);
    REQUIRE(mp_partition_close(p, &e) == 0);
}

/* ---- segment replacement (for compaction) --------------------------------- */

static void fetch_store(mp_log_fetch_result *r)
{
    if (!r->priv) {
        r->priv = calloc(1, sizeof(mp_fetch_store));
        r->priv_free = mp_fetch_store_free;
    }
}

/* Reads a whole partition through the partition API. */
static long part_read_all(mp_partition *p, int64_t *offs, char (*vals)[32], long cap)
{
    mp_log_fetch_result r = {0};
    fetch_store(&r);
    mp_error e = {0};
    long n = 0;
    int64_t lo, hi, off;
    mp_partition_offsets(p, &lo, &hi);
    off = lo;
    while (off < hi) {
        if (mp_partition_fetch(p, off, 300, &r, &e)) {
            fprintf(stderr, "%s\n", e.msg);
            n = -1;
            break;
        }
        for (size_t i = 0; i < r.n && n < cap; i++) {
            offs[n] = r.recs[i].offset;
            snprintf(vals[n], 32, "%.*s", (int)r.recs[i].value_len, (const char *)r.recs[i].value);
            n++;
        }
        if (r.next_offset <= off)
            break;
        off = r.next_offset;
    }
    mp_log_fetch_result_free(&r);
    return n;
}

/* Builds a ".cleaned" copy of segs[first..first+count) keeping records with
 * even offsets, in one new segment with the first one's base offset; each
 * batch keeps its last offset. */
static mp_segment *build_even(const char *pdir, mp_segment **segs, int first, int count)
{
    mp_error e = {0};
    mp_segment *out;
    if (mp_segment_create(pdir, segs[first]->base_offset, ".cleaned", &out, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return NULL;
    }
    mp_buf raw = {0}, enc = {0}, scratch = {0};
    mp_batch_records br = {0};
    int ok = 1;
    for (int s = first; s < first + count && ok; s++) {
        uint64_t pos = 0;
        mp_batch_info bi;
        int rc;
        while ((rc = mp_segment_next_batch(segs[s], &pos, segs[s]->size, &raw, &bi, &e)) == 1) {
            if (mp_batch_decode((const uint8_t *)raw.data, &bi, &br, &scratch, &e)) {
                ok = 0;
                break;
            }
            mp_record keep[64];
            size_t k = 0;
            for (size_t i = 0; i < br.n && k < 64; i++)
                if (br.recs[i].offset % 2 == 0)
                    keep[k++] = br.recs[i];
            if (!k)
                continue;
            mp_batch_opts o = MP_BATCH_OPTS_INIT;
            o.keep_offsets = 1;
            o.last_offset_delta = bi.last_offset_delta + (int32_t)(bi.base_offset - keep[0].offset);
            mp_buf_reset(&enc);
            if (mp_batch_encode_ex(&enc, keep[0].offset, keep, k, &o, &e) ||
                mp_segment_append(out, (const uint8_t *)enc.data, enc.len, 100, &e)) {
                fprintf(stderr, "%s\n", e.msg);
                ok = 0;
            }
        }
        if (rc < 0)
            ok = 0;
    }
    mp_segment_close_index(out);
    mp_buf_free(&raw);
    mp_buf_free(&enc);
    mp_buf_free(&scratch);
    mp_batch_records_free(&br);
    if (!ok) {
        mp_segment_remove_files(out);
        mp_segment_unref(out);
        return NULL;
    }
    return out;
}

static void test_segment_replacement(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_error e = {0};
    REQUIRE(mp_partition_create_dir(dir, &e) == 0);
    mp_partition *p;
    REQUIRE(mp_partition_open(dir, "c-0", 0, 0, 100, NULL, NULL, &p, &e) == 0);
    mp_log_topic_config cfg;
    mp_log_config_init(&cfg);
    cfg.segment_bytes = 900;
    cfg.index_interval_bytes = 100;
    for (int i = 0; i < 120; i++) {
        char v[32];
        snprintf(v, sizeof v, "v%d", i);
        mp_record r = lt_rec("key", v, 1000 + i);
        int64_t base;
        size_t w;
        REQUIRE(mp_partition_append(p, &r, 1, &cfg, &base, &w, &e) == 0);
        CHECK(base == i && w == 1);
    }
    mp_segment **segs;
    size_t n;
    REQUIRE(mp_partition_segments(p, &segs, &n, &e) == 0);
    REQUIRE(n >= 5);
    int64_t g_lo = segs[1]->base_offset, g_hi = segs[3]->base_offset;
    mp_segment *fresh = build_even(dir, segs, 1, 2);
    REQUIRE(fresh);
    /* Bad requests change nothing. */
    mp_segment *active_only[1] = {segs[n - 1]};
    CHECK(mp_partition_replace(p, active_only, 1, &fresh, 1, &e) == MP_EINVAL);
    mp_segment *gap[2] = {segs[1], segs[3]};
    CHECK(mp_partition_replace(p, gap, 2, &fresh, 1, &e) == MP_EINVAL);
    REQUIRE(mp_partition_replace(p, segs + 1, 2, &fresh, 1, &e) == 0);
    mp_partition_segments_release(segs, n);
    char path[400];
    snprintf(path, sizeof path, "%s/replace.json", dir);
    CHECK(access(path, F_OK) != 0);
    CHECK(lt_count_files(dir, ".cleaned") == 0);
    CHECK(lt_count_files(dir, ".log") == (int)n - 1);

    /* Offsets kept, gaps where odd offsets were, the rest untouched. */
    static int64_t offs[200];
    static char vals[200][32];
    int64_t want[200];
    long nw = 0;
    for (int64_t o = 0; o < 120; o++)
        if (o < g_lo || o >= g_hi || o % 2 == 0)
            want[nw++] = o;
    long got = part_read_all(p, offs, vals, 200);
    CHECK(got == nw);
    int bad = 0;
    for (long i = 0; i < got && i < nw; i++) {
        char v[32];
        snprintf(v, sizeof v, "v%lld", (long long)want[i]);
        bad += offs[i] != want[i] || strcmp(vals[i], v);
    }
    CHECK(bad == 0);
    /* A fetch at an odd offset inside the gap starts at the next kept one. */
    mp_log_fetch_result r = {0};
    fetch_store(&r);
    int64_t odd = g_lo % 2 ? g_lo : g_lo + 1;
    REQUIRE(mp_partition_fetch(p, odd, 1, &r, &e) == 0);
    CHECK(r.n >= 1 && r.recs[0].offset == odd + 1);
    mp_log_fetch_result_free(&r);
    REQUIRE(mp_partition_close(p, &e) == 0);

    /* Reopened (uncleanly: every check runs), the same. */
    REQUIRE(mp_partition_open(dir, "c-0", 0, 0, 100, NULL, NULL, &p, &e) == 0);
    CHECK(part_read_all(p, offs, vals, 200) == nw);
    CHECK(offs[nw - 1] == 119);

    /* A crash after the manifest was written: the next open completes it.
     * Here segment 0 is rebuilt (even offsets only) and the manifest
     * written by hand, as mp_partition_replace would at its commit point. */
    REQUIRE(mp_partition_segments(p, &segs, &n, &e) == 0);
    int64_t b0 = segs[0]->base_offset, b0_end = segs[1]->base_offset;
    fresh = build_even(dir, segs, 0, 1);
    REQUIRE(fresh);
    REQUIRE(mp_segment_write_indexes(fresh, &e) == 0);
    mp_segment_unref(fresh);
    mp_partition_segments_release(segs, n);
    char manifest[128];
    snprintf(manifest, sizeof manifest, "{\"old\":[%lld],\"new\":[%lld]}", (long long)b0,
             (long long)b0);
    REQUIRE(lt_write_file(path, manifest, strlen(manifest)) == 0);
    REQUIRE(mp_partition_close(p, &e) == 0);
    REQUIRE(mp_partition_open(dir, "c-0", 0, 1, 100, NULL, NULL, &p, &e) == 0);
    CHECK(access(path, F_OK) != 0);
    CHECK(lt_count_files(dir, ".cleaned") == 0);
    got = part_read_all(p, offs, vals, 200);
    nw = 0;
    for (int64_t o = 0; o < 120; o++)
        if ((o >= b0_end && (o < g_lo || o >= g_hi)) || o % 2 == 0)
            want[nw++] = o;
    CHECK(got == nw);
    bad = 0;
    for (long i = 0; i < got && i < nw; i++)
        bad += offs[i] != want[i];
    CHECK(bad == 0);

    /* Output of a compaction that never committed is thrown away. */
    REQUIRE(mp_partition_segments(p, &segs, &n, &e) == 0);
    fresh = build_even(dir, segs, n - 2, 1);
    REQUIRE(fresh);
    mp_segment_unref(fresh);
    mp_partition_segments_release(segs, n);
    CHECK(lt_count_files(dir, ".cleaned") == 3);
    REQUIRE(mp_partition_close(p, &e) == 0);
    REQUIRE(mp_partition_open(dir, "c-0", 0, 1, 100, NULL, NULL, &p, &e) == 0);
    CHECK(lt_count_files(dir, ".cleaned") == 0);
    CHECK(part_read_all(p, offs, vals, 200) == nw);
    /* And writing goes on after all this. */
    mp_record rec = lt_rec("key", "last", 1);
    int64_t base;
    size_t w;
    REQUIRE(mp_partition_append(p, &rec, 1, &cfg, &base, &w, &e) == 0);
    CHECK(base == 120);
    REQUIRE(mp_partition_close(p, &e) == 0);
}

int main(void)
{
    RUN(test_torn_tail_every_byte);
    RUN(test_indexes_rebuilt);
    RUN(test_damaged_closed_segment);
    RUN(test_wrong_index_entry_not_trusted);
    RUN(test_segment_replacement);
    RUN(test_flush_policy);
    lt_cleanup();
    return TEST_SUMMARY();
}
