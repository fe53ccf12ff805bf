/* Per-topic configuration, set with Kafka's topic-config names and values
 * ("segment.bytes=1048576", "cleanup.policy=compact,delete").
 *
 * Part of the log interface (log.h includes it): the same keys mean the same
 * thing to the embedded log and to a Kafka cluster, so nothing here is about
 * files. Keys, defaults and ranges follow Kafka's topic configs:
 *
 *   partitions               1..10000                     1
 *   segment.bytes            14..2147483647               1073741824
 *   segment.ms               >= 1                         604800000 (7 days)
 *   index.interval.bytes     >= 0                         4096
 *   retention.ms             >= -1 (-1: unlimited)        604800000 (7 days)
 *   retention.bytes          >= -1 (-1: unlimited)        -1
 *   cleanup.policy           delete | compact | compact,delete   delete
 *   delete.retention.ms      >= 0                         86400000 (1 day)
 *   min.compaction.lag.ms    >= 0                         0
 *   max.compaction.lag.ms    >= 1                         9223372036854775807
 *   min.cleanable.dirty.ratio 0..1                        0.5
 *   flush.messages           >= 1                         9223372036854775807
 *   flush.ms                 >= 0                         9223372036854775807
 *   max.message.bytes        >= 0                         1048588
 *   compression.type         producer | uncompressed | gzip | snappy | lz4 | zstd
 *                                                         producer
 *
 * The flush policy is Kafka's pair: flush.messages=1 fsyncs after every
 * batch (an acknowledged record is on disk); flush.ms=N fsyncs once the
 * oldest unflushed batch is N ms old (on the next append, or by the log's
 * background thread); both at their defaults leave flushing to the OS.
 * compression.type=producer means the producer's choice; the embedded
 * log's own producer does not compress, so it stores such batches
 * uncompressed.
 *
 * Compaction (cleanup.policy includes compact): a closed segment becomes
 * cleanable once its newest record is older than min.compaction.lag.ms;
 * the log cleaner compacts a partition when its dirty (not yet cleaned)
 * share of the cleanable bytes exceeds min.cleanable.dirty.ratio, or,
 * whatever the ratio, once a dirty record is older than
 * max.compaction.lag.ms. As in Kafka, a compacted topic's active segment
 * also rolls when its first record is max.compaction.lag.ms old
 * (mp_log_config_roll_ms), since the active segment is never cleaned; and
 * min.compaction.lag.ms may not exceed max.compaction.lag.ms
 * (mp_log_config_check).
 *
 * Plain values, no allocation: copy freely. Thread-safety: none needed. */
#ifndef MP_LOG_LOG_CONFIG_H
#define MP_LOG_LOG_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

enum { MP_LOG_CLEANUP_DELETE = 1, MP_LOG_CLEANUP_COMPACT = 2 };

/* compression.type=producer */
#define MP_LOG_COMPRESSION_PRODUCER (-1)

/* "Never" for flush.messages / flush.ms / max.compaction.lag.ms. */
#define MP_LOG_NEVER INT64_MAX

#define MP_LOG_MAX_PARTITIONS 10000

typedef struct mp_log_topic_config {
    int32_t partitions;
    int32_t segment_bytes;
    int64_t segment_ms;
    int32_t index_interval_bytes;
    int64_t retention_ms;    /* -1: keep forever */
    int64_t retention_bytes; /* per partition; -1: no limit */
    int cleanup_policy;      /* MP_LOG_CLEANUP_* bits, at least one set */
    int64_t delete_retention_ms;
    int64_t min_compaction_lag_ms;
    int64_t max_compaction_lag_ms;
    double min_cleanable_dirty_ratio;
    int64_t flush_messages; /* MP_LOG_NEVER: not by count */
    int64_t flush_ms;       /* MP_LOG_NEVER: not by time */
    int32_t max_message_bytes;
    int compression; /* mp_compression, or MP_LOG_COMPRESSION_PRODUCER */
} mp_log_topic_config;

/* Kafka's defaults (table above). */
void mp_log_config_init(mp_log_topic_config *c);

/* Sets one key. MP_EINVAL naming the key for an unknown key (the message
 * lists the known ones) or a bad value (the message gives the range);
 * c is unchanged on error. */
int mp_log_config_set(mp_log_topic_config *c, const char *key, const char *value, mp_error *e);

/* The same from one "key=value" string (the CLI's --config argument). */
int mp_log_config_parse(mp_log_topic_config *c, const char *key_eq_value, mp_error *e);

/* Writes the value of key as Kafka prints it into out[0..n). 0, or
 * MP_ENOTFOUND for an unknown key, MP_EINVAL when n is too small. */
int mp_log_config_get(const mp_log_topic_config *c, const char *key, char *out, size_t n);

/* Every known key, in the order of the table above (static storage). */
const char *const *mp_log_config_keys(size_t *n);

/* Checks what no single key can: min.compaction.lag.ms <=
 * max.compaction.lag.ms (Kafka refuses the pair otherwise). MP_EINVAL
 * naming both keys and values. Call after setting a topic's keys, before
 * using them. */
int mp_log_config_check(const mp_log_topic_config *c, mp_error *e);

/* How old the active segment may get before the next append rolls it
 * (Kafka's LogConfig.maxSegmentMs): segment.ms, or max.compaction.lag.ms
 * when that is smaller and the topic is compacted. */
int64_t mp_log_config_roll_ms(const mp_log_topic_config *c);

#endif
