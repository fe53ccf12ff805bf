/* The log cleaner (cleanup.policy includes compact), after Kafka's:
 *
 * - Cleanable range: the closed segments from the start of the partition up
 *   to (not including) the first one holding a record newer than
 *   min.compaction.lag.ms (judged by the segment's largest timestamp, as
 *   Kafka does), and never the active segment.
 * - Key map: key bytes -> latest offset, built from every record of the
 *   partition up to the visible end of the active segment when the pass
 *   began. So a record is dropped when a newer one with its key exists
 *   anywhere, even in a segment the pass does not rewrite (that newer
 *   record stays, so reading from the beginning still yields the latest
 *   value of every key). Full keys are kept (no hash-only map as in Kafka):
 *   no collision can ever drop a live record; memory grows with the number
 *   of distinct keys. Every pass rebuilds the map over the whole partition
 *   (no dirty/clean split yet), which is simple and always right, at the
 *   price of reading the partition once per pass.
 * - Kept: per key the record with the latest offset, with its original
 *   offset, timestamp and headers. Records without a key are kept as they
 *   are (Kafka refuses them on compacted topics at produce time; the
 *   embedded log accepts them and the cleaner never drops them). Control
 *   batches are copied unchanged.
 * - Tombstones (null value), when latest for their key, are kept until
 *   record timestamp + delete.retention.ms < now, then dropped.
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
 *   single-segment group whose contents would not change is left alone, so
 *   a pass over a clean partition writes nothing.
 * - Swap: each group is swapped in with mp_partition_replace (manifest,
 *   completed by the next open after a crash). Readers hold references to
 *   the segments they read, so a fetch in progress finishes on the old
 *   files; the next fetch finds the new ones.
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

/* The latest offset of key k, -1 if unknown. */
static int64_t kmap_get(const kmap *m, const uint8_t *k, uint32_t klen)
{
    if (!m->cap)
        return -1;
    return kmap_find(m, k, klen, key_hash(k, klen))->offset;
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

/* Adds the keyed records of s[0..limit) to the map. */
static int map_segment(pass *c, const mp_segment *s, uint64_t limit, mp_error *e)
{
    uint64_t pos = 0;
    mp_batch_info bi;
    int rc;
    while ((rc = mp_segment_next_batch(s, &pos, limit, &c->raw, &bi, e)) == 1) {
        if (bi.attributes & MP_BATCH_ATTR_CONTROL)
            continue;
        if ((rc = mp_batch_decode_ex((const uint8_t *)c->raw.data, &bi, &c->br, &c->scratch,
                                     MP_BATCH_MAX_UNCOMPRESSED, 0, e)))
            return rc;
        for (size_t i = 0; i < c->br.n; i++) {
            const mp_record *r = &c->br.recs[i];
            if (r->key_len >= 0 && kmap_put(&c->map, r->key, (uint32_t)r->key_len, r->offset))
                return mp_error_set(e, MP_ENOMEM, "out of memory for the key map (%zu keys)",
                                    c->map.n);
        }
    }
    return rc;
}

/* Whether record r survives the pass. */
static int keeps(pass *c, const mp_record *r)
{
    if (r->key_len < 0)
        return 1;
    if (kmap_get(&c->map, r->key, (uint32_t)r->key_len) != r->offset)
        return 0; /* superseded */
    if (r->value_len < 0 && r->timestamp < c->now - c->cfg->delete_retention_ms) {
        c->st.tombstones_dropped++;
        return 0;
    }
    return 1;
}

/* Copies the surviving records of segment s into `out`; *changed is set
 * when anything was dropped. */
static int clean_segment(pass *c, const mp_segment *s, mp_segment *out, int *changed,
                         mp_error *e)
{
    uint64_t pos = 0;
    mp_batch_info bi;
    int rc;
    int32_t ii = c->cfg->index_interval_bytes;
    while ((rc = mp_segment_next_batch(s, &pos, s->size, &c->raw, &bi, e)) == 1) {
        const uint8_t *raw = (const uint8_t *)c->raw.data;
        c->st.bytes_in += (int64_t)bi.size;
        if (bi.attributes & MP_BATCH_ATTR_CONTROL) {
            if ((rc = mp_segment_append(out, raw, bi.size, ii, e)))
                return rc;
            c->st.bytes_out += (int64_t)bi.size;
            continue;
        }
        if ((rc = mp_batch_decode_ex(raw, &bi, &c->br, &c->scratch, MP_BATCH_MAX_UNCOMPRESSED, 0,
                                     e)))
            return rc;
        if (c->br.n > c->keep_cap) {
            mp_record *k = realloc(c->keep, c->br.n * sizeof *k);
            if (!k)
                return mp_error_set(e, MP_ENOMEM, "out of memory");
            c->keep = k;
            c->keep_cap = c->br.n;
        }
        size_t nk = 0;
        for (size_t i = 0; i < c->br.n; i++)
            if (keeps(c, &c->br.recs[i]))
                c->keep[nk++] = c->br.recs[i];
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
    /* The cleanable prefix: closed segments whose newest record is older
     * than min.compaction.lag.ms. */
    size_t m = 0;
    while (m + 1 < n && segs[m]->max_ts <= c->now - cfg->min_compaction_lag_ms)
        m++;
    c->st.clean_to = segs[m]->base_offset;
    if (m == 0)
        goto out;
    /* The map over everything visible, the active segment included (its
     * visible size is read under the state lock, like a fetch does). */
    pthread_mutex_lock(&p->state_mu);
    uint64_t active_size = segs[n - 1]->size;
    pthread_mutex_unlock(&p->state_mu);
    for (size_t i = 0; i < n && !rc; i++)
        rc = map_segment(c, segs[i], i + 1 == n ? active_size : segs[i]->size, e);
    if (rc)
        goto out;

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
        mp_segment *fresh;
        if ((rc = mp_segment_create(p->dir, segs[g]->base_offset, ".cleaned", &fresh, e)))
            goto out;
        int changed = h - g > 1;
        for (size_t i = g; i < h && !rc; i++)
            rc = clean_segment(c, segs[i], fresh, &changed, e);
        if (rc) {
            discard(fresh);
            goto out;
        }
        if (!changed) {
            discard(fresh);
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
    if (!rc)
        mp_log_cleaner_note(p->dir, c.st.clean_to);
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
