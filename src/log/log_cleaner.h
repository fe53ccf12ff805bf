/* The log cleaner's inner interface, between the compactor
 * (log_compact.c), its checkpoint and scheduling (log_cleaner.c) and the
 * embedded log's background thread (log_embedded.c). Callers of the log use
 * mp_log_compact (log.h); nothing here is part of the log interface.
 *
 * The cleaner checkpoint (Kafka's cleaner-offset-checkpoint): per
 * partition, the first dirty offset -- everything below it was cleaned by
 * an earlier pass, so its keyed records have pairwise distinct keys. A pass
 * builds its key map from the dirty part only (the first dirty offset to
 * the end of the active segment) and the background thread decides from
 * segment sizes alone whether a partition is worth a pass. The checkpoint
 * is a small file in the partition directory (MP_LOG_CLEANER_CHECKPOINT),
 * replaced atomically by each pass that moves it, read by every pass and
 * every look of the background thread; a missing or damaged file means
 * "nothing is clean" (first dirty offset 0), which is always safe, only
 * slower.
 *
 * Thread-safety: every function may be called from any thread. Passes over
 * partitions are serialised by one process-wide cleaner lock (Kafka's
 * default of one cleaner thread), so an on-demand mp_log_compact waits for
 * a background pass in progress and vice versa. */
#ifndef MP_LOG_LOG_CLEANER_H
#define MP_LOG_LOG_CLEANER_H

#include <stdint.h>

#include "core/error.h"
#include "log/log_config.h"
#include "log/log_partition.h"

/* Kafka's log.cleaner.backoff.ms: how long the background thread waits
 * between looks for partitions worth cleaning (shortened to the log's
 * retention_check_ms when that is smaller, which is how tests speed it up). */
#define MP_LOG_CLEANER_BACKOFF_MS 15000

/* The checkpoint file's name inside a partition directory. */
#define MP_LOG_CLEANER_CHECKPOINT "cleaner-offset-checkpoint"

/* What one pass did (for tests and the curious). */
typedef struct mp_compact_stats {
    int64_t segments_in;   /* closed segments rewritten */
    int64_t segments_out;  /* segments that replaced them */
    int64_t segments_kept; /* cleanable segments read and found already clean */
    int64_t records_in;    /* records read from the cleanable segments */
    int64_t records_out;   /* of those, records kept */
    int64_t records_mapped; /* records read to build the key map (the dirty part) */
    int64_t tombstones_dropped;
    int64_t bytes_in, bytes_out;
    int64_t first_dirty;   /* the checkpoint the pass started from (after validation) */
    int64_t clean_to;      /* first offset not cleaned (the first uncleanable segment's base) */
    int64_t checkpoint;    /* the first dirty offset after the pass (what was saved) */
} mp_compact_stats;

/* mp_log_compact_partition with its statistics (st may be NULL). */
int mp_log_compact_partition_ex(mp_partition *p, const mp_log_topic_config *cfg, int64_t now_ms,
                                mp_compact_stats *st, mp_error *e);

/* ---- the checkpoint ------------------------------------------------------ */

/* The checkpoint's contents. The file is text, after the layout of Kafka's
 * cleaner-offset-checkpoint (a version, an entry count, then "topic
 * partition offset"), with two additions of mlpipe's (hence version 1):
 *
 *   1
 *   1
 *   <topic> <partition> <first dirty offset> <oldest kept tombstone timestamp>
 *   <CRC-32C of the three lines above, 8 lowercase hex digits>
 *
 * The tombstone field is the smallest timestamp of a tombstone the last
 * pass kept in the clean part, -1 when it kept none: the background thread
 * starts a pass once that tombstone's delete.retention.ms has passed, even
 * with nothing new to clean. The checksum makes damage detectable: a flipped
 * digit in the offset could otherwise call dirty records clean, and the
 * duplicates below it would never be removed. */
typedef struct mp_cleaner_checkpoint {
    int64_t first_dirty;
    int64_t oldest_tombstone_ts; /* -1: none kept */
} mp_cleaner_checkpoint;

/* Reads p's checkpoint. Never fails: a missing, unreadable or damaged file
 * (a wrong checksum, version, count, topic or partition, a value out of
 * range, junk, a missing final newline) gives {0, -1} and says why through
 * the debug sink. Returns 1 when the file was read, 0 when defaulted. */
int mp_log_cleaner_checkpoint_read(mp_partition *p, mp_cleaner_checkpoint *out);

/* Replaces p's checkpoint (temp file, fsync, rename, fsync of the
 * directory). Holds p's writer lock while it does, so a topic being
 * deleted (mp_partition_shut) never gets a file written into its
 * directory; for a shut partition nothing is written and 0 is returned.
 * MP_EIO naming the file when the system fails. */
int mp_log_cleaner_checkpoint_write(mp_partition *p, const mp_cleaner_checkpoint *ck,
                                    mp_error *e);

/* ---- scheduling ---------------------------------------------------------- */

/* Index of the first segment of segs[0..n) that cannot be cleaned at now_ms:
 * the active one (n - 1) or the first whose largest timestamp is newer than
 * min.compaction.lag.ms (segments from there on are not rewritten). */
size_t mp_log_cleaner_cleanable(mp_segment *const *segs, size_t n,
                                const mp_log_topic_config *cfg, int64_t now_ms);

/* Where a partition stands, from its checkpoint and segment sizes (no
 * record is read; with max.compaction.lag.ms set, the first batch header
 * of each dirty cleanable segment is). */
typedef struct mp_cleaner_view {
    int64_t first_dirty;   /* the checkpoint, validated (when nothing is
                            * cleanable it is not read: the log start) */
    int64_t clean_to;      /* first uncleanable offset */
    uint64_t clean_bytes;  /* closed segments wholly below first_dirty */
    uint64_t dirty_bytes;  /* cleanable segments at or after it */
    double dirty_ratio;    /* dirty / (clean + dirty); 0 when both are 0 */
    /* The oldest record timestamp of the dirty cleanable segments (first
     * batch's first timestamp, or the file's mtime for a segment without
     * timestamps); -1 when there are none or max.compaction.lag.ms is not
     * set. */
    int64_t oldest_dirty_ts;
    int64_t oldest_tombstone_ts; /* from the checkpoint */
    /* Why a pass is due (any non-zero: due). */
    int due_ratio;      /* dirty_ratio > min.cleanable.dirty.ratio */
    int due_max_lag;    /* oldest_dirty_ts older than max.compaction.lag.ms */
    int due_tombstone;  /* a kept tombstone's delete.retention.ms has passed */
} mp_cleaner_view;

/* Fills *v for p at now_ms. The checkpoint is validated as a pass would:
 * below the log start it becomes the log start (retention removed what it
 * pointed into); past the active segment's base it is damaged and becomes
 * the log start (said through the debug sink). */
int mp_log_cleaner_examine(mp_partition *p, const mp_log_topic_config *cfg, int64_t now_ms,
                           mp_cleaner_view *v, mp_error *e);

/* Validates a checkpoint offset against segs (see mp_log_cleaner_examine). */
int64_t mp_log_cleaner_valid_first_dirty(const mp_partition *p, mp_segment *const *segs, size_t n,
                                         int64_t first_dirty);

/* The background thread's entry: compacts p only when its cleanup.policy
 * includes compact and a pass is due (mp_cleaner_view: the dirty ratio is
 * above min.cleanable.dirty.ratio, or dirty records are older than
 * max.compaction.lag.ms, or a kept tombstone has expired). Returns 1 when a
 * pass ran, 0 when there was nothing to do, or a negative error. */
int mp_log_cleaner_maybe_clean(mp_partition *p, const mp_log_topic_config *cfg, int64_t now_ms,
                               mp_error *e);

/* ---- debug output ---------------------------------------------------------- */

/* Where the cleaner's debug messages go (a damaged or missing checkpoint,
 * why a pass ran or not). NULL (the default): to standard error when the
 * environment variable MLPIPE_DEBUG is set to a non-empty value other than
 * "0", else nowhere. The sink may be called from any thread, with no lock
 * of the log held. */
void mp_log_cleaner_set_debug(void (*fn)(void *arg, const char *msg), void *arg);

/* Formats and sends one debug message. */
void mp_log_cleaner_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* For tests only: when set, called before each group of cleaned segments is
 * swapped in. A non-zero return simulates a crash at that moment: the pass
 * stops with MP_EIO and leaves the ".cleaned" files exactly as they are
 * (the hook may also write replace.json itself, to simulate a crash just
 * after the commit point). NULL normally. */
extern int (*mp_log_compact_test_hook)(mp_partition *p, mp_segment *const *old, size_t nold,
                                       mp_segment *const *fresh, size_t nfresh);

#endif
