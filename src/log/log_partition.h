/* One partition of the embedded log: a directory
 * <data-dir>/topics/<topic>-<n>/ of segments (log_segment.h) ordered by
 * base offset, the last one active (written to), the others closed.
 *
 * Locking: `write_mu` serialises everything that changes the partition
 * (appends, rolls, flushes, retention, segment replacement): one writer at
 * a time. `state_mu` guards what readers look at (the segment list, the
 * log end offset, each segment's visible size and in-memory indexes) and is
 * held only for short, non-blocking moments; lock order write_mu, then
 * state_mu. Readers take references to the segments they read and read
 * them without locks, below the visible sizes they saw, so they see only
 * whole batches and never wait for a writer's I/O.
 *
 * Crash safety: a closed segment was fsynced (and its indexes written)
 * before the next one was created, so recovery checks only the active
 * segment. Segment replacement (compaction) commits through a manifest
 * (replace.json, see mp_partition_replace) that recovery completes.
 *
 * Ownership: mp_partition_open returns a partition owned by the caller,
 * released by mp_partition_close (clean) or mp_partition_free (after the
 * directory was deleted). */
#ifndef MP_LOG_LOG_PARTITION_H
#define MP_LOG_LOG_PARTITION_H

#include <pthread.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"
#include "log/log.h"
#include "log/log_batch.h"
#include "log/log_config.h"
#include "log/log_segment.h"

typedef struct mp_partition {
    char *dir;
    char *name; /* "topic-n", for messages */
    int32_t id;
    pthread_mutex_t write_mu;
    pthread_mutex_t state_mu;
    /* under state_mu */
    mp_segment **segs; /* by base offset; segs[nsegs-1] is active */
    size_t nsegs, cap;
    int64_t log_end;
    int closed; /* deleted: appends fail */
    int64_t truncated_bytes; /* cut by recovery at open */
    /* under write_mu */
    mp_buf enc;
    mp_record *chunk;
    size_t chunk_cap;
    int64_t unflushed;       /* records appended since the last fsync */
    int64_t first_unflushed_ms; /* when the oldest of them was appended; 0 if none */
    void (*notify)(void *arg); /* called after each append, no lock held */
    void *notify_arg;
    /* 1 (the default): fetches read batches through the segments' memory
     * maps and hand out pointers into them; 0: they copy with pread. Set
     * before the partition is shared. */
    int map_reads;
    /* A reader's partition (mp_partition_open_reader): another process
     * owns the files. write_mu then serialises refreshes instead of
     * appends. */
    int read_only;
    int32_t index_interval;
    uint64_t dir_dev, dir_ino; /* the directory opened, to notice a new one */
    int64_t last_rescan_ms;    /* under write_mu */
} mp_partition;

/* Creates the directory and an empty first segment (base offset 0). */
int mp_partition_create_dir(const char *dir, mp_error *e);

/* Opens the partition in dir, recovering it (see log_segment.h's modes:
 * clean selects MP_SEG_RECOVER_TAIL for the active segment, otherwise
 * MP_SEG_RECOVER). Finishes an interrupted segment replacement, removes
 * leftovers (*.cleaned, temporary files, index files without a log). */
int mp_partition_open(const char *dir, const char *name, int32_t id, int clean,
                      int32_t index_interval, void (*notify)(void *), void *notify_arg,
                      mp_partition **out, mp_error *e);

/* Opens the partition in dir for reading only, while another process may
 * write it (or none does): nothing on disk is created, changed or removed.
 * The segments are those the directory holds now (a compaction's committed
 * but unfinished replacement is read as its manifest says, uncommitted
 * output is ignored); the last one is the active segment, readable up to
 * its last whole batch that checks out (length, offsets, CRC-32C): a torn
 * tail is "not written yet". Indexes come from the files when they check
 * out, else are rebuilt in memory. mp_partition_refresh follows the writer.
 * MP_ENOTFOUND when the directory is gone. */
int mp_partition_open_reader(const char *dir, const char *name, int32_t id,
                             int32_t index_interval, mp_partition **out, mp_error *e);

/* For a reader's partition (no-op for a writer's): catches up with the
 * writer. Walks the whole batches appended to the active segment since the
 * last look; when the writer has rolled to a new segment, or a second has
 * passed since the last listing, lists the directory again: new segments
 * are opened, segments deleted by retention or replaced by compaction are
 * dropped or reopened (fetches already holding one keep reading it through
 * its open file). The active segment the reader knew is kept for one more
 * listing if it was deleted but still holds records the reader may not
 * have read and the next segment follows it without a gap. MP_ENOTFOUND
 * once the directory is gone or was replaced (the topic was deleted). Safe
 * from any thread. */
int mp_partition_refresh(mp_partition *p, mp_error *e);

/* Seals the active segment's indexes, fsyncs, frees. Always frees. A
 * reader's partition is only freed. */
int mp_partition_close(mp_partition *p, mp_error *e);

/* Frees without touching the files (they may be gone). */
void mp_partition_free(mp_partition *p);

/* Makes later appends fail (the topic is being deleted); waits for an
 * append in progress. */
void mp_partition_shut(mp_partition *p);

/* Appends records (timestamps already set, >= 0) as one or more batches,
 * contiguous offsets starting at *base. The whole call holds the writer
 * lock. When an error stops it after some batches, *written says how many
 * records went in (*base is valid if > 0). */
int mp_partition_append(mp_partition *p, const mp_record *recs, size_t n,
                        const mp_log_topic_config *cfg, int64_t *base, size_t *written,
                        mp_error *e);

/* The storage behind an mp_log_fetch_result of the embedded log. Batches
 * are either in a segment's memory map (the store then holds a reference
 * on that segment until the next fetch or the free, which keeps the map)
 * or copied into raw. */
typedef struct mp_fetch_store {
    mp_buf raw;   /* batch bytes as read (when not mapped) */
    mp_buf hdr;   /* header window for skipping (when not mapped) */
    struct mp_fetch_slot {
        const uint8_t *data; /* the batch in a map, or NULL: at raw_off in raw */
        size_t raw_off;
        int decoded; /* recs hold its records */
        mp_batch_info info;
        mp_batch_records recs;
        mp_buf scratch;
    } *slots;
    size_t nslots, slots_cap;
    mp_record *recs;
    size_t recs_cap;
    mp_segment **held; /* references behind mapped slots */
    size_t nheld, held_cap;
} mp_fetch_store;

void mp_fetch_store_free(void *store);

/* Fetches from offset up to max_bytes (see mp_log_fetch); out->priv must
 * be an mp_fetch_store (the caller sets it up). */
int mp_partition_fetch(mp_partition *p, int64_t offset, size_t max_bytes,
                       mp_log_fetch_result *out, mp_error *e);

/* The log start offset and log end offset. */
void mp_partition_offsets(mp_partition *p, int64_t *earliest, int64_t *latest);

/* See mp_log_offset_for_time. */
int mp_partition_offset_for_time(mp_partition *p, int64_t ts, int64_t *offset,
                                 int64_t *record_ts, mp_error *e);

void mp_partition_info(mp_partition *p, mp_log_partition_info *info);

/* fsyncs the active segment if anything is unflushed. */
int mp_partition_flush(mp_partition *p, mp_error *e);

/* fsyncs if flush.ms has passed since the oldest unflushed append. */
int mp_partition_flush_if_due(mp_partition *p, const mp_log_topic_config *cfg, int64_t now_ms,
                              mp_error *e);

/* The delete policy (see mp_log_enforce_retention) at time now_ms;
 * *deleted += segments removed. */
int mp_partition_enforce_retention(mp_partition *p, const mp_log_topic_config *cfg,
                                   int64_t now_ms, int64_t *deleted, mp_error *e);

/* ---- for the compactor ----------------------------------------------------
 * A snapshot of the segment list: *segs[0..*n) with a reference on each,
 * the last being the active segment at the time (never to be replaced).
 * Release with mp_partition_segments_release. */
int mp_partition_segments(mp_partition *p, mp_segment ***segs, size_t *n, mp_error *e);
void mp_partition_segments_release(mp_segment **segs, size_t n);

/* Atomically replaces old[0..nold) -- consecutive closed segments of this
 * partition, in order -- with fresh[0..nfresh): new segments built in the
 * partition directory with suffix ".cleaned" (mp_segment_create(dir,
 * base, ".cleaned", ...), filled with mp_segment_append, indexes closed),
 * ascending, covering no offsets outside [old[0] base, the base of the
 * segment after old[nold-1]). nfresh may be 0 (the old ones are dropped).
 * Steps: fsync the fresh files; write replace.json naming old and new base
 * offsets (the commit point); remove old files not replaced by name;
 * rename the fresh files into place; remove replace.json. A crash at any
 * step is completed by the next open. Readers holding old segments keep
 * reading them. On success the partition owns the fresh segments (the
 * caller's references pass to it); on failure before the commit point
 * nothing changed and the caller still owns them. */
int mp_partition_replace(mp_partition *p, mp_segment *const *old, size_t nold,
                         mp_segment *const *fresh, size_t nfresh, mp_error *e);

#endif
