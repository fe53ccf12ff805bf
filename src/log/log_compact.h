/* The log cleaner (cleanup.policy=compact): rewrites a partition's closed
 * segments keeping the latest record per key, with original offsets, and
 * swaps them in with mp_partition_replace. Called by mp_log_compact and by
 * the log's background thread (through mp_log_cleaner_maybe_clean) for
 * each partition of a topic whose cleanup.policy includes compact; never
 * touches the active segment. Each pass starts from the partition's
 * cleaner checkpoint (log_cleaner.h), maps keys over the dirty part only,
 * and moves the checkpoint when it is done.
 *
 * What the embedded log gives the cleaner (log_partition.h,
 * log_segment.h): mp_partition_segments for a referenced snapshot of the
 * segment list (the last one active), mp_segment_next_batch to read closed
 * segments batch by batch (CRC-checked), mp_segment_create(dir, base,
 * ".cleaned") + mp_segment_append + mp_segment_close_index to build new
 * segments, mp_batch_encode_ex with keep_offsets / last_offset_delta to
 * write batches that keep original offsets, and mp_partition_replace to
 * commit (crash-safe through a manifest). */
#ifndef MP_LOG_LOG_COMPACT_H
#define MP_LOG_LOG_COMPACT_H

#include <stdint.h>

#include "core/error.h"
#include "log/log_config.h"
#include "log/log_partition.h"

/* Compacts one partition at wall-clock time now_ms (which decides what
 * min.compaction.lag.ms and delete.retention.ms let go). The result is the
 * same whatever the checkpoint says, as long as it is right: a missing or
 * damaged one only makes the pass read more. */
int mp_log_compact_partition(mp_partition *p, const mp_log_topic_config *cfg, int64_t now_ms,
                             mp_error *e);

#endif
