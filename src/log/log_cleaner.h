/* The log cleaner's inner interface, between the compactor
 * (log_compact.c), its background scheduling (log_cleaner.c) and the
 * embedded log's background thread (log_embedded.c). Callers of the log use
 * mp_log_compact (log.h); nothing here is part of the log interface.
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

/* What one pass did (for tests and the curious). */
typedef struct mp_compact_stats {
    int64_t segments_in;   /* closed segments rewritten */
    int64_t segments_out;  /* segments that replaced them */
    int64_t records_in;    /* records read from the rewritten segments */
    int64_t records_out;   /* records written back */
    int64_t tombstones_dropped;
    int64_t bytes_in, bytes_out;
    int64_t clean_to;      /* first offset not cleaned (the first uncleanable segment's base) */
} mp_compact_stats;

/* mp_log_compact_partition with its statistics (st may be NULL). */
int mp_log_compact_partition_ex(mp_partition *p, const mp_log_topic_config *cfg, int64_t now_ms,
                                mp_compact_stats *st, mp_error *e);

/* The background thread's entry: compacts p only when its cleanup.policy
 * includes compact and the cleanable closed segments written since the
 * partition was last cleaned (in this process) make up at least
 * min.cleanable.dirty.ratio of the cleanable bytes. Returns 1 when a pass
 * ran, 0 when there was nothing to do, or a negative error. */
int mp_log_cleaner_maybe_clean(mp_partition *p, const mp_log_topic_config *cfg, int64_t now_ms,
                               mp_error *e);

/* Remembers that p (by directory) was cleaned up to offset clean_to. Called
 * by the compactor after a successful pass. */
void mp_log_cleaner_note(const char *dir, int64_t clean_to);

/* For tests only: when set, called before each group of cleaned segments is
 * swapped in. A non-zero return simulates a crash at that moment: the pass
 * stops with MP_EIO and leaves the ".cleaned" files exactly as they are
 * (the hook may also write replace.json itself, to simulate a crash just
 * after the commit point). NULL normally. */
extern int (*mp_log_compact_test_hook)(mp_partition *p, mp_segment *const *old, size_t nold,
                                       mp_segment *const *fresh, size_t nfresh);

#endif
