/* The log: topics of keyed records split into partitions, each partition an
 * ordered sequence addressed by 64-bit offsets, with consumer groups that
 * remember where a reader got to. Kafka's model and record format.
 *
 * Callers (the stream engine, the CLI) see only this interface. The
 * embedded implementation (mp_log_open_embedded) keeps everything in files
 * under a data directory; a Kafka-backed implementation can sit behind the
 * same calls later (log_impl.h is the table of operations a backend fills).
 *
 * Records are mp_record (log/log_batch.h): offset, timestamp (ms since the
 * epoch), key and value (NULL with length -1 for null; a null value is a
 * tombstone), headers.
 *
 * Errors: every call returns 0 (or the documented non-negative result) or a
 * negative MP_E* code, and fills the optional mp_error with a message naming
 * the place, "topic-partition@offset" for positions ("orders-2@1041").
 * MP_ENOTFOUND: no such topic / partition / group, or an offset outside the
 * partition's range; MP_EEXIST: a topic that already exists; MP_EINVAL: bad
 * arguments or configuration; MP_EFORMAT: stored data failed its checksum or
 * structure checks (never served as records); MP_EIO: the operating system
 * failed.
 *
 * Thread-safety: an mp_log handle may be used from any number of threads at
 * once, except mp_log_close, which must be the last call (no other call in
 * progress, including mp_log_wait). Produce calls to one partition are
 * serialised (one writer at a time per partition, in call order); produce
 * calls to different partitions run in parallel; fetches run in parallel
 * with each other and with produce calls and see only whole batches: a
 * fetch returns a batch entirely or not at all, and never a record past the
 * partition's latest offset as it was when the fetch began. Result structs
 * (mp_log_fetch_result, lists, topic info) belong to the caller and must not
 * be shared between threads without the caller's own locking.
 *
 * Ownership: strings and records passed in are copied (or written out)
 * before the call returns; results are owned by the caller and freed with
 * the matching *_free function. */
#ifndef MP_LOG_LOG_H
#define MP_LOG_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "log/log_batch.h"
#include "log/log_config.h"

typedef struct mp_log mp_log;

/* A position in a topic: which partition, which offset. */
typedef struct mp_log_offset {
    const char *topic;
    int32_t partition;
    int64_t offset;
} mp_log_offset;

/* Where a produced record went. */
typedef struct mp_log_produced {
    int32_t partition;
    int64_t offset;
} mp_log_produced;

/* ---- opening ------------------------------------------------------------ */

/* Options of the embedded log. Start from MP_LOG_OPTIONS_INIT. */
typedef struct mp_log_options {
    /* 1: a background thread fsyncs partitions whose flush.ms has passed
     * and enforces retention every retention_check_ms. 0: neither happens
     * unless the caller calls mp_log_maintain (tests use this). */
    int background;
    int64_t background_tick_ms;  /* how often the thread looks at flush.ms */
    int64_t retention_check_ms;  /* Kafka's log.retention.check.interval.ms */
    /* Topic configuration used when create gives no value for a key. NULL:
     * Kafka's defaults (mp_log_config_init). */
    const mp_log_topic_config *defaults;
    /* 1: fetches read segment files through read-only memory maps, and the
     * records of a fetch result point into them (no copy). 0: fetches copy
     * the batches with pread. A disk error while a mapped page is read in
     * raises SIGBUS instead of failing the fetch with MP_EIO: turn maps off
     * on storage where that can happen and must not stop the process. */
    int map_reads;
    /* 1: open as a reader (see below) whether or not a writer has the
     * directory. */
    int read_only;
    /* 1: when another process (or handle) has the directory for writing,
     * open as a reader instead of failing. */
    int read_if_locked;
    /* How long a writer's open waits for another writer to let go of the
     * directory before it fails (or, with read_if_locked, becomes a
     * reader), in ms; 0: not at all. */
    int64_t lock_wait_ms;
} mp_log_options;

#define MP_LOG_OPTIONS_INIT {1, 100, 300000, NULL, 1, 0, 0, 0}

/* Opens the embedded log in data_dir: topics under <data_dir>/topics,
 * consumer groups under <data_dir>/groups.
 *
 * The writer (the default): creates the directory if missing and locks it
 * (flock on <data_dir>/.lock) -- one writer at a time: a second writer's
 * open, in this process or another, fails with MP_EINVAL naming the
 * holder's pid (after waiting up to lock_wait_ms). Opening recovers from a
 * crash: each partition's active segment is checked batch by batch
 * (lengths, CRC-32C) and a torn or corrupt tail is truncated
 * (mp_log_partition_info.truncated_bytes says how much); missing or damaged
 * index files are rebuilt.
 *
 * A reader (read_only, or read_if_locked when a writer has the directory)
 * takes no lock and never creates, writes, truncates, deletes, compacts or
 * rebuilds a file of the log; any number of readers may run beside one
 * writer, in any process. It reads the topics, partitions and segments the
 * directory holds and follows the writer: a fetch that reaches the end of
 * what the reader knows, mp_log_offsets, mp_log_wait and
 * mp_log_topic_describe look again (new batches in the active segment,
 * rolled segments, segments deleted by retention or replaced by compaction,
 * topics created or deleted). Only whole batches whose length and CRC-32C
 * check out are served, so a tail being written (or torn by a writer that
 * died) is simply "not there yet"; records are the writer's bytes. Indexes
 * that are missing or damaged are rebuilt in memory. A reader copies
 * batches with pread from the active segment (maps only closed ones).
 * Produce, topic create/alter/delete, compaction and retention give
 * MP_EINVAL ("... open for writing by another process (pid N); this process
 * can only read"); flush and maintain do nothing. Consumer-group offsets
 * can be committed by readers too (log_groups.h: a separate lock on the
 * groups directory). Note that with flush.messages=1 a reader in another
 * process may see a batch before the writer's fsync of it has returned.
 *
 * opts may be NULL (MP_LOG_OPTIONS_INIT). */
int mp_log_open_embedded(const char *data_dir, const mp_log_options *opts, mp_log **out,
                         mp_error *e);

/* 1 if log was opened as a reader, 0 if it can write. */
int mp_log_is_read_only(const mp_log *log);

/* Flushes everything to disk and frees the handle (always, even when the
 * flush fails, which is reported). log may be NULL. */
int mp_log_close(mp_log *log, mp_error *e);

/* "embedded" (later "kafka"). */
const char *mp_log_kind(const mp_log *log);

/* ---- topics ------------------------------------------------------------- */

/* Creates a topic. Names follow Kafka: 1..249 characters of [A-Za-z0-9._-],
 * not "." or "..". partitions > 0 sets the count; 0 takes "partitions=N"
 * from configs or the default (1). configs are "key=value" strings
 * (log_config.h); a bad one gives MP_EINVAL naming the key and nothing is
 * created. MP_EEXIST if the topic exists. */
int mp_log_topic_create(mp_log *log, const char *name, int32_t partitions,
                        const char *const *configs, size_t nconfigs, mp_error *e);

/* Deletes a topic and its data, and forgets consumer groups' offsets in it.
 * Fetches already running finish normally; later calls naming the topic
 * get MP_ENOTFOUND; mp_log_wait calls on it return MP_ENOTFOUND. */
int mp_log_topic_delete(mp_log *log, const char *name, mp_error *e);

/* Changes configuration keys of an existing topic ("partitions" cannot be
 * changed). Takes effect for the next append / retention pass. */
int mp_log_topic_alter(mp_log *log, const char *name, const char *const *configs,
                       size_t nconfigs, mp_error *e);

/* The names of all topics, sorted. Free with mp_log_names_free. */
int mp_log_topic_list(mp_log *log, char ***names, size_t *n, mp_error *e);
void mp_log_names_free(char **names, size_t n);

/* The number of partitions of a topic. */
int mp_log_partition_count(mp_log *log, const char *topic, int32_t *n, mp_error *e);

typedef struct mp_log_partition_info {
    int32_t partition;
    int64_t earliest;   /* the log start offset: first offset still kept */
    int64_t latest;     /* the log end offset: the next offset to be written */
    int64_t size_bytes; /* bytes stored (batches as written) */
    int32_t segments;
    /* Bytes dropped from a torn or corrupt tail when the log was opened
     * (0 normally). */
    int64_t truncated_bytes;
} mp_log_partition_info;

typedef struct mp_log_topic_info {
    char *name;
    int32_t partitions;
    mp_log_partition_info *parts; /* [partitions] */
    mp_log_topic_config config;   /* effective values; print with mp_log_config_get */
} mp_log_topic_info;

int mp_log_topic_describe(mp_log *log, const char *name, mp_log_topic_info **out, mp_error *e);
void mp_log_topic_info_free(mp_log_topic_info *info);

/* ---- producing ---------------------------------------------------------- */

/* Which partition a record goes to when the caller does not say
 * (partition < 0): a keyed record (key_len >= 0) goes where Kafka's default
 * partitioner puts it (murmur2 of the key bytes, made positive, modulo the
 * partition count); keyless records are spread evenly (round robin). */
#define MP_LOG_ANY_PARTITION (-1)

/* Appends one record. rec->offset is ignored; rec->timestamp -1 means "now"
 * (wall clock, ms). Fills *partition / *offset (either may be NULL). With
 * the topic's flush.messages=1 the call returns only once the record is on
 * disk (fsync), and readers see it only then: an acknowledged record
 * survives a crash.
 * MP_EINVAL for a record larger than max.message.bytes or segment.bytes, a
 * partition out of range, or a negative timestamp other than -1. */
int mp_log_produce(mp_log *log, const char *topic, int32_t partition, const mp_record *rec,
                   int32_t *out_partition, int64_t *out_offset, mp_error *e);

/* Appends n records. Records bound for the same partition keep their order
 * and are written as one or more whole record batches (split at
 * max.message.bytes / segment.bytes). out (may be NULL) has n entries and
 * receives each record's partition and offset. If an error stops the call
 * midway, batches written before it stay; their out entries are filled,
 * the others hold partition -1, offset -1. */
int mp_log_produce_batch(mp_log *log, const char *topic, int32_t partition, const mp_record *recs,
                         size_t n, mp_log_produced *out, mp_error *e);

/* ---- consuming ---------------------------------------------------------- */

/* The result of a fetch. Zero-initialise (`mp_log_fetch_result r = {0};`),
 * pass it to any number of fetches on the same log (each replaces the
 * previous contents and reuses its memory), then mp_log_fetch_result_free.
 * Records and the bytes they point to stay valid until the next fetch into
 * the same result or its free, even if the log is closed meanwhile. With
 * map_reads (the default) they point into memory maps of the segment
 * files, and the result keeps those segments -- with their disk space,
 * should retention or compaction remove them -- until then; so refetch or
 * free a result instead of keeping it idle, and never keep one across
 * reopening the same data directory (recovery may cut a segment it maps). */
typedef struct mp_log_fetch_result {
    const mp_record *recs; /* n records, offsets increasing, all >= the requested offset */
    size_t n;
    /* The offset to fetch next: one past the last returned batch (which may
     * be past the last returned record when compaction removed records), or
     * the requested offset when nothing was returned. */
    int64_t next_offset;
    int64_t earliest, latest; /* the partition's range when the fetch began */
    size_t bytes;             /* size of the batches read */
    void *priv;               /* the backend's storage */
    void (*priv_free)(void *priv);
} mp_log_fetch_result;

/* Fetches whole record batches of topic/partition from `offset` onwards,
 * decoded, up to max_bytes of batch bytes; at least one batch whenever any
 * record lies at or after offset (a batch larger than max_bytes is returned
 * whole, so a reader always makes progress). An offset inside a batch
 * skips that batch's earlier records. offset == latest returns no records
 * (wait with mp_log_wait). An offset below earliest or above latest gives
 * MP_ENOTFOUND naming topic-partition@offset and the valid range. Damaged
 * data gives MP_EFORMAT naming topic, partition and offset; records before
 * the damage are returned by the fetch that reaches it first (n > 0, 0
 * returned), the next fetch from there reports the damage. */
int mp_log_fetch(mp_log *log, const char *topic, int32_t partition, int64_t offset,
                 size_t max_bytes, mp_log_fetch_result *out, mp_error *e);
void mp_log_fetch_result_free(mp_log_fetch_result *r);

/* The first offset still kept and the next offset to be written (either
 * pointer may be NULL). */
int mp_log_offsets(mp_log *log, const char *topic, int32_t partition, int64_t *earliest,
                   int64_t *latest, mp_error *e);

/* The first offset whose record has a timestamp >= ts (Kafka's
 * offsetsForTimes), and that record's timestamp (may be NULL). *offset is -1
 * (and 0 is returned) when no record has such a timestamp. */
int mp_log_offset_for_time(mp_log *log, const char *topic, int32_t partition, int64_t ts,
                           int64_t *offset, int64_t *record_ts, mp_error *e);

/* Blocks until one of the n positions has data (the partition's latest
 * offset exceeds pos[i].offset), at most timeout_ms (< 0: no limit), without
 * busy-waiting. Returns 1 when data is there, 0 on timeout or mp_log_wake,
 * MP_ENOTFOUND for an unknown or deleted topic or partition. A reader of a
 * directory another process writes wakes on inotify events in the
 * partition directories and looks at least every 250 ms besides (every
 * 20 ms where inotify is not available). */
int mp_log_wait(mp_log *log, const mp_log_offset *pos, size_t n, int64_t timeout_ms, mp_error *e);

/* Makes every mp_log_wait in progress return 0 now (to stop a reader).
 * Waits that begin after the call are not affected, so a thread stopping
 * another one sets its own flag first, then wakes (and may wake again). */
void mp_log_wake(mp_log *log);

/* ---- consumer groups ---------------------------------------------------- */

/* Commits offsets for a group: pos[i].offset is the next offset the group
 * will read in that partition (Kafka's convention). All n are stored
 * together in one durable write (the embedded log keeps one small file per
 * group, replaced atomically; see log_groups.h), so commit in batches, not
 * per record. Group names are any non-empty string of at most 255 bytes.
 * The topics and partitions must exist; offsets must be >= 0. Groups here
 * are offset stores only: no membership or partition assignment. */
int mp_log_commit(mp_log *log, const char *group, const mp_log_offset *pos, size_t n,
                  mp_error *e);

/* The group's committed offset for topic/partition, or -1 (and 0 returned)
 * when it has none. */
int mp_log_committed(mp_log *log, const char *group, const char *topic, int32_t partition,
                     int64_t *offset, mp_error *e);

/* Every committed offset of a group, sorted by topic then partition. The
 * topic strings belong to the list; free with mp_log_offsets_free.
 * MP_ENOTFOUND for an unknown group. */
int mp_log_group_offsets(mp_log *log, const char *group, mp_log_offset **out, size_t *n,
                         mp_error *e);
void mp_log_offsets_free(mp_log_offset *list, size_t n);

/* The names of all groups, sorted (free with mp_log_names_free). */
int mp_log_group_list(mp_log *log, char ***names, size_t *n, mp_error *e);

/* Forgets a group and its offsets. MP_ENOTFOUND if unknown. */
int mp_log_group_delete(mp_log *log, const char *group, mp_error *e);

/* ---- maintenance -------------------------------------------------------- */

/* fsyncs every partition of the topic (all topics when topic is NULL). */
int mp_log_flush(mp_log *log, const char *topic, mp_error *e);

/* Applies the delete policy now (topic NULL: every topic whose
 * cleanup.policy includes delete): removes whole segments, oldest first,
 * whose newest record is older than retention.ms, then the oldest segments
 * as long as what remains still holds at least retention.bytes. The active
 * segment is rolled first when all of it has expired by time. The earliest
 * offset moves to the first remaining segment. *deleted (may be NULL)
 * receives the number of segments removed. */
int mp_log_enforce_retention(mp_log *log, const char *topic, int64_t *deleted, mp_error *e);

/* Compacts the topic's closed segments now (cleanup.policy must include
 * compact): keeps the latest record per key. */
int mp_log_compact(mp_log *log, const char *topic, mp_error *e);

/* One round of background work done in the caller's thread: due flush.ms
 * flushes and retention. For logs opened with background = 0. */
int mp_log_maintain(mp_log *log, mp_error *e);

#endif
