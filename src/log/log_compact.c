/* The log cleaner (cleanup.policy includes compact), after Kafka's:
 *
 * - Cleanable range: the closed segments from the start of the partition up
 *   to (not including) the first one holding a record newer than
 *   min.compaction.lag.ms (judged by the segment's largest timestamp, as
 *   Kafka does), and never the active segment.
 * - Clean and dirty parts: the cleaner checkpoint (log_cleaner.h) is the
 *   first dirty offset. Below it every keyed record has a distinct key (an
 *   earlier pass made it so, and since then records were only removed), so
 *   a record there can only be superseded by one at or after it.
 * - Key map: key bytes -> latest offset, built from the dirty part only:
 *   the segments from the first dirty one to the visible end of the active
 *   segment when the pass began. A record is dropped when the map holds its
 *   key at another (later) offset, even one in a segment the pass does not
 *   rewrite (that newer record stays, so reading from the beginning still
 *   yields the latest value of every key). A record whose key is not in the
 *   map is in the clean part and alone with its key there: it stays. So the
 *   result is exactly that of a map over the whole partition, for a map the
 *   size of the dirty part. Full keys are kept (no hash-only map as in
 *   Kafka): no collision can ever drop a live record.
 * - Kept: per key the record with the latest offset, with its original
 *   offset, timestamp and headers. Records without a key are kept as they
 *   are (Kafka refuses them on compacted topics at produce time; the
 *   embedded log accepts them and the cleaner never drops them). Control
 *   batches are copied unchanged.
 * - Tombstones (null value), when latest for their key, are kept until
 *   record timestamp + delete.retention.ms < now, then dropped. The whole
 *   cleanable range is read by every pass (the clean part only against the
 *   small dirty map), so a tombstone kept by one pass is dropped by the
 *   first pass after it expires; the pass records the oldest tombstone it
 *   kept in the checkpoint, and the background thread starts a pass when it
 *   expires.
 * - Batches: a batch that keeps all its records is copied byte for byte; one
 *   that keeps some is re-encoded with the kept records, its original base
 *   timestamp type, producer fields and last offset (so offsets never move
 *   and the next fetch offset stays past the whole original batch), in the
 *   topic's compression.type or, for "producer", the batch's own; one that
 *   keeps none disappears (a gap in offsets, as in Kafka).
 * - Segments: consecutive cleanable segments are grouped while their
 *   original sizes add up to at most segment.bytes (Kafka's grouping), and
 *   each group becomes one segment named by the group's first base offset
 *   (so the log start offset never moves; the segment may be empty). A
 *   single-segment group is first read up to the first batch that would
 *   change; one that would not change at all is left alone without writing
 *   anything (a pass over a clean partition writes nothing), and one that
 *   would has its unchanged leading batches copied without decoding them
 *   twice.
 * - Swap: each group is swapped in with mp_partition_replace (manifest,
 *   completed by the next open after a crash). Readers hold references to
 *   the segments they read, so a fetch in progress finishes on the old
 *   files; the next fetch finds the new ones.
 * - Checkpoint: once every group is swapped in, the first dirty offset
 *   moves to the end of the cleanable range (never back). A pass that stops
 *   early (an error, a crash) leaves the old checkpoint, which is still
 *   right: the groups it swapped in only lost records.
 * - One pass at a time in the process (cleaner_mu), like Kafka's single
 *   cleaner thread. A concurrent retention pass that removes a segment
 *   under us makes the swap fail (the old segments are no longer
 *   consecutive in the list); the pass is then retried once from a fresh
 *   snapshot. */
#include "log/log_compact.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "log/log_batch.h"
#include "log/log_cleaner.h"
#include "log/log_segment.h"

int (*mp_log_compact_test_hook)(mp_partition *p, mp_segment *const *old, size_t nold,
                                mp_segment *const *fresh, size_t nfresh) = NULL;

static pthread_mutex_t cleaner_mu = PTHREAD_MUTEX_INITIALIZER;

/* ---- key -> latest offset map (open addressing, keys in one arena) ------- */

typedef struct kslot {
    uint64_t hash;
    int64_t offset; /* -1: empty slot */
    size_t kpos;
    uint32_t klen;
} kslot;

typedef struct kmap {
    kslot *slots;
    size_t cap, n; /* cap a power of two */
    mp_buf keys;
    /* A filter in front of the slots, built once the map is complete
     * (kmap_seal): about 16 bits per key, two bits set per key in one
     * 64-bit word. Most lookups of a pass are of clean keys that the dirty
     * part does not hold; the filter answers those from a few hundred KB
     * that stay in cache instead of a random read of the slot array. */
    uint64_t *filter;
    size_t fmask; /* words - 1 */
} kmap;

static uint64_t key_hash(const uint8_t *k, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a, then a 64-bit finaliser */
    for (size_t i = 0; i < n; i++)
        h = (h ^ k[i]) * 1099511628211ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static void kmap_free(kmap *m)
{
    free(m->filter);
    free(m->slots);
    mp_buf_free(&m->keys);
}

static kslot *kmap_find(const kmap *m, const uint8_t *k, uint32_t klen, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        kslot *s = &m->slots[i];
        if (s->offset < 0)
            return s;
        if (s->hash == h && s->klen == klen && !memcmp(m->keys.data + s->kpos, k, klen))
            return s;
    }
}

static int kmap_grow(kmap *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 1024;
    kslot *ns = malloc(ncap * sizeof *ns);
    if (!ns)
        return MP_ENOMEM;
    for (size_t i = 0; i < ncap; i++)
        ns[i].offset = -1;
    kslot *old = m->slots;
    size_t ocap = m->cap;
    m->slots = ns;
    m->cap = ncap;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].offset >= 0) {
            size_t mask = ncap - 1, j = old[i].hash & mask;
            while (ns[j].offset >= 0)
                j = (j + 1) & mask;
            ns[j] = old[i];
        }
    free(old);
    return 0;
}

static int kmap_put(kmap *m, const uint8_t *k, uint32_t klen, int64_t offset)
{
    if ((m->n + 1) * 2 > m->cap && kmap_grow(m))
        return MP_ENOMEM;
    uint64_t h = key_hash(k, klen);
    kslot *s = kmap_find(m, k, klen, h);
    if (s->offset >= 0) {
        if (offset > s->offset)
            s->offset = offset;
        return 0;
    }
    size_t pos = m->keys.len;
    mp_buf_append(&m->keys, k, klen);
    if (m->keys.oom)
        return MP_ENOMEM;
    s->hash = h;
    s->offset = offset;
    s->kpos = pos;
    s->klen = klen;
    m->n++;
    return 0;
}

static uint64_t filter_bits(uint64_t h)
{
    return (1ULL << (h & 63)) | (1ULL << ((h >> 6) & 63));
}

/* Builds the filter (after the last kmap_put). Without memory for it the
 * map works as well, only slower. */
static void kmap_seal(kmap *m)
{
    size_t words = 1;
    while (words < m->n / 4 + 1)
        words *= 2;
    m->filter = calloc(words, sizeof *m->filter);
    if (!m->filter)
        return;
    m->fmask = words - 1;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].offset >= 0) {
            uint64_t h = m->slots[i].hash;
            m->filter[(h >> 12) & m->fmask] |= filter_bits(h);
        }
}

/* The latest offset of key k, -1 if unknown. */
static int64_t kmap_get(const kmap *m, const uint8_t *k, uint32_t klen)
{
    if (!m->n)
        return -1;
    uint64_t h = key_hash(k, klen), b = filter_bits(h);
    if (m->filter && (m->filter[(h >> 12) & m->fmask] & b) != b)
        return -1;
    return kmap_find(m, k, klen, h)->offset;
}

/* ---- the pass ------------------------------------------------------------ */

typedef struct pass {
    mp_partition *p;
    const mp_log_topic_config *cfg;
    int64_t now;
    kmap map;
    mp_buf raw, scratch, enc;
    mp_batch_records br;
    mp_record *keep;
    size_t keep_cap;
    int64_t oldest_tomb; /* smallest timestamp of a tombstone kept, -1: none */
    mp_compact_stats st;
} pass;

static void pass_free(pass *c)
{
    kmap_free(&c->map);
    mp_buf_free(&c->raw);
    mp_buf_free(&c->scratch);
    mp_buf_free(&c->enc);
    mp_batch_records_free(&c->br);
    free(c->keep);
}

/* The CRC was checked by mp_segment_next_batch. */
static int decode(pass *c, const mp_batch_info *bi, mp_error *e)
{
    return mp_batch_decode_ex((const uint8_t *)c->raw.data, bi, &c->br, &c->scratch,
                              MP_BATCH_MAX_UNCOMPRESSED, 0, e);
}

/* Adds the keyed records of s[0..limit) to the map. */
static int map_segment(pass *c, const mp_segment *s, uint64_t limit, mp_error *e)
{
    uint64_t pos = 0;
    mp_batch_info bi;
    int rc;
    while ((rc = mp_segment_next_batch(s, &pos, limit, &c->raw, &bi, e)) == 1) {
        if (bi.attributes & MP_BATCH_ATTR_CONTROL)
            continue;
        if ((rc = decode(c, &bi, e)))
            return rc;
        c->st.records_mapped += (int64_t)c->br.n;
        for (size_t i = 0; i < c->br.n; i++) {
            const mp_record *r = &c->br.recs[i];
            if (r->key_len >= 0 && kmap_put(&c->map, r->key, (uint32_t)r->key_len, r->offset))
                return mp_error_set(e, MP_ENOMEM, "out of memory for the key map (%zu keys)",
                                    c->map.n);
        }
    }
    return rc;
}

/* What becomes of record r: 1 kept, 0 superseded, -1 an expired tombstone.
 * A key missing from the map (which covers the dirty part) is one of the
 * clean part, where keys are unique: the record is its key's latest. */
static int fate(const pass *c, const mp_record *r)
{
    if (r->key_len < 0)
        return 1;
    int64_t latest = kmap_get(&c->map, r->key, (uint32_t)r->key_len);
    if (latest >= 0 && latest != r->offset)
        return 0;
    if (r->value_len < 0 && r->timestamp < c->now - c->cfg->delete_retention_ms)
        return -1;
    return 1;
}

static void note_kept(pass *c, const mp_record *r)
{
    if (r->key_len >= 0 && r->value_len < 0) {
        /* A tombstone without a timestamp (-1) expires with one at 0: the
         * background thread's test then matches fate()'s. */
        int64_t ts = r->timestamp < 0 ? 0 : r->timestamp;
        if (c->oldest_tomb < 0 || ts < c->oldest_tomb)
            c->oldest_tomb = ts;
    }
}

/* Reads segment s up to the first batch that would lose a record: *change_at
 * receives that batch's position, or s->size when nothing would change.
 * Statistics and tombstones are accounted for the batches before it. */
static int probe_segment(pass *c, const mp_segment *s, uint64_t *change_at, mp_error *e)
{
    uint64_t pos = 0, at = 0;
    mp_batch_info bi;
    int rc;
    while ((rc = mp_segment_next_batch(s, &pos, s->size, &c->raw, &bi, e)) == 1) {
        if (!(bi.attributes & MP_BATCH_ATTR_CONTROL)) {
            if ((rc = decode(c, &bi, e)))
                return rc;
            for (size_t i = 0; i < c->br.n; i++)
                if (fate(c, &c->br.recs[i]) != 1) {
                    *change_at = at;
                    return 0;
                }
            for (size_t i = 0; i < c->br.n; i++)
                note_kept(c, &c->br.recs[i]);
            c->st.records_in += (int64_t)c->br.n;
            c->st.records_out += (int64_t)c->br.n;
        }
        c->st.bytes_in += (int64_t)bi.size;
        c->st.bytes_out += (int64_t)bi.size;
        at = pos;
    }
    if (rc)
        return rc;
    *change_at = s->size;
    return 0;
}

/* Copies the surviving records of segment s into `out`; *changed is set
 * when anything was dropped. Batches before position `probed` were found
 * unchanged (and accounted for) by probe_segment: they are copied as they
 * are. */
static int clean_segment(pass *c, const mp_segment *s, mp_segment *out, uint64_t probed,
                         int *changed, mp_error *e)
{
    uint64_t pos = 0, at = 0;
    mp_batch_info bi;
    int rc;
    int32_t ii = c->cfg->index_interval_bytes;
    for (; (rc = mp_segment_next_batch(s, &pos, s->size, &c->raw, &bi, e)) == 1; at = pos) {
        const uint8_t *raw = (const uint8_t *)c->raw.data;
        if (at < probed) {
            if ((rc = mp_segment_append(out, raw, bi.size, ii, e)))
                return rc;
            continue;
        }
        c->st.bytes_in += (int64_t)bi.size;
        if (bi.attributes & MP_BATCH_ATTR_CONTROL) {
            if ((rc = mp_segment_append(out, raw, bi.size, ii, e)))
                return rc;
            c->st.bytes_out += (int64_t)bi.size;
            continue;
        }
        if ((rc = decode(c, &bi, e)))
            return rc;
        if (c->br.n > c->keep_cap) {
            mp_record *k = realloc(c->keep, c->br.n * sizeof *k);
            if (!k)
                return mp_error_set(e, MP_ENOMEM, "out of memory");
            c->keep = k;
            c->keep_cap = c->br.n;
        }
        size_t nk = 0;
        for (size_t i = 0; i < c->br.n; i++) {
            const mp_record *r = &c->br.recs[i];
            int f = fate(c, r);
            if (f == 1) {
                c->keep[nk++] = *r;
                note_kept(c, r);
            } else if (f < 0) {
                c->st.tombstones_dropped++;
            }
        }
        c->st.records_in += (int64_t)c->br.n;
        c->st.records_out += (int64_t)nk;
        if (nk == c->br.n) {
            if ((rc = mp_segment_append(out, raw, bi.size, ii, e)))
                return rc;
            c->st.bytes_out += (int64_t)bi.size;
            continue;
        }
        *changed = 1;
        if (nk == 0)
            continue;
        mp_batch_opts o = MP_BATCH_OPTS_INIT;
        int orig = bi.attributes & MP_BATCH_ATTR_COMPRESSION_MASK;
        o.compression = c->cfg->compression == MP_LOG_COMPRESSION_PRODUCER
                            ? (mp_compression)orig
                            : (mp_compression)c->cfg->compression;
        o.keep_offsets = 1;
        o.last_offset_delta = (int32_t)(bi.base_offset + bi.last_offset_delta - c->keep[0].offset);
        o.leader_epoch = bi.leader_epoch;
        o.attributes = (int16_t)(bi.attributes & ~MP_BATCH_ATTR_COMPRESSION_MASK);
        o.producer_id = bi.producer_id;
        o.producer_epoch = bi.producer_epoch;
        o.base_sequence = bi.base_sequence;
        mp_buf_reset(&c->enc);
        if ((rc = mp_batch_encode_ex(&c->enc, c->keep[0].offset, c->keep, nk, &o, e)) ||
            (rc = mp_segment_append(out, (const uint8_t *)c->enc.data, c->enc.len, ii, e)))
            return rc;
        c->st.bytes_out += (int64_t)c->enc.len;
    }
    return rc;
}

static void discard(mp_segment *s)
{
    mp_segment_remove_files(s);
    mp_segment_unref(s);
}

/* One attempt over a fresh snapshot. *raced is set when the swap failed
 * because the segment list changed under us. */
static int compact_once(pass *c, int *raced, mp_error *e)
{
    mp_partition *p = c->p;
    const mp_log_topic_config *cfg = c->cfg;
    mp_segment **segs;
    size_t n;
    int rc = mp_partition_segments(p, &segs, &n, e);
    if (rc)
        return rc;
    size_t m = mp_log_cleaner_cleanable(segs, n, cfg, c->now);
    mp_cleaner_checkpoint ck;
    int have_ck = mp_log_cleaner_checkpoint_read(p, &ck);
    int64_t first_dirty = mp_log_cleaner_valid_first_dirty(p, segs, n, ck.first_dirty);
    c->st.first_dirty = c->st.checkpoint = first_dirty;
    c->st.clean_to = segs[m]->base_offset;
    c->oldest_tomb = -1;
    if (m == 0)
        goto out;
    /* The map over the dirty part: from the first segment holding offsets
     * at or after the checkpoint to the visible end of the active segment
     * (read under the state lock, like a fetch does). Records of that first
     * segment below the checkpoint may go in too; that changes nothing, as
     * each is its key's only clean record. */
    size_t d = 0;
    while (d + 1 < n && segs[d]->next_offset <= first_dirty && segs[d]->base_offset < first_dirty)
        d++;
    pthread_mutex_lock(&p->state_mu);
    uint64_t active_size = segs[n - 1]->size;
    pthread_mutex_unlock(&p->state_mu);
    for (size_t i = d; i < n && !rc; i++)
        rc = map_segment(c, segs[i], i + 1 == n ? active_size : segs[i]->size, e);
    if (rc)
        goto out;
    kmap_seal(&c->map);

    for (size_t g = 0; g < m;) {
        /* A group: consecutive segments whose sizes fit in segment.bytes and
         * whose offsets fit one segment's 32-bit relative offsets. */
        size_t h = g + 1;
        uint64_t total = segs[g]->size;
        while (h < m && total + segs[h]->size <= (uint64_t)cfg->segment_bytes &&
               segs[h]->next_offset - segs[g]->base_offset <= INT32_MAX) {
            total += segs[h]->size;
            h++;
        }
        uint64_t probed = 0;
        if (h - g == 1) {
            if ((rc = probe_segment(c, segs[g], &probed, e)))
                goto out;
            if (probed == segs[g]->size) {
                c->st.segments_kept++;
                g = h;
                continue;
            }
        }
        mp_segment *fresh;
        if ((rc = mp_segment_create(p->dir, segs[g]->base_offset, ".cleaned", &fresh, e)))
            goto out;
        int changed = h - g > 1;
        for (size_t i = g; i < h && !rc; i++)
            rc = clean_segment(c, segs[i], fresh, i == g ? probed : 0, &changed, e);
        if (rc) {
            discard(fresh);
            goto out;
        }
        if (!changed) { /* cannot happen after a probe found a change */
            discard(fresh);
            c->st.segments_kept++;
            g = h;
            continue;
        }
        mp_segment_close_index(fresh);
        if (mp_log_compact_test_hook &&
            mp_log_compact_test_hook(p, segs + g, h - g, &fresh, 1)) {
            mp_segment_unref(fresh); /* a "crash": the files stay */
            rc = mp_error_set(e, MP_EIO, "compaction stopped by the test hook");
            goto out;
        }
        rc = mp_partition_replace(p, segs + g, h - g, &fresh, 1, e);
        if (rc == MP_EINVAL) {
            *raced = 1;
            discard(fresh);
            goto out;
        }
        if (rc) {
            /* Before the commit point nothing changed and the files are
             * ours; after it (the partition then refuses writes until
             * reopened) the next open finishes the swap with them. */
            pthread_mutex_lock(&p->state_mu);
            int committed = p->closed;
            pthread_mutex_unlock(&p->state_mu);
            if (!committed)
                discard(fresh);
            else
                mp_segment_unref(fresh);
            goto out;
        }
        c->st.segments_in += (int64_t)(h - g);
        c->st.segments_out++;
        g = h;
    }
    /* Everything below the end of the cleanable range now has distinct
     * keys. (When min.compaction.lag.ms stopped the range inside the clean
     * part -- the lag was raised -- the old checkpoint still holds.) */
    {
        mp_cleaner_checkpoint next = {first_dirty, c->oldest_tomb};
        if (segs[m]->base_offset > next.first_dirty)
            next.first_dirty = segs[m]->base_offset;
        c->st.checkpoint = next.first_dirty;
        if (!have_ck || next.first_dirty != ck.first_dirty ||
            next.oldest_tombstone_ts != ck.oldest_tombstone_ts)
            rc = mp_log_cleaner_checkpoint_write(p, &next, e);
    }
out:
    mp_partition_segments_release(segs, n);
    return rc;
}

int mp_log_compact_partition_ex(mp_partition *p, const mp_log_topic_config *cfg, int64_t now_ms,
                                mp_compact_stats *st, mp_error *e)
{
    if (!(cfg->cleanup_policy & MP_LOG_CLEANUP_COMPACT))
        return mp_error_set(e, MP_EINVAL,
                            "%s: cleanup.policy is delete; compaction needs compact or "
                            "compact,delete",
                            p->name);
    pthread_mutex_lock(&cleaner_mu);
    int rc = 0;
    pass c;
    for (int attempt = 0; attempt < 2; attempt++) {
        memset(&c, 0, sizeof c);
        c.p = p;
        c.cfg = cfg;
        c.now = now_ms;
        int raced = 0;
        mp_error err = {0};
        rc = compact_once(&c, &raced, &err);
        pass_free(&c);
        if (rc && e)
            *e = err;
        if (!raced)
            break;
    }
    pthread_mutex_unlock(&cleaner_mu);
    if (rc)
        mp_error_prefix(e, "%s: compaction", p->name);
    if (st)
        *st = c.st;
    return rc;
}

int mp_log_compact_partition(mp_partition *p, const mp_log_topic_config *cfg, int64_t now_ms,
                             mp_error *e)
{
    return mp_log_compact_partition_ex(p, cfg, now_ms, NULL, e);
}
