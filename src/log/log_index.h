/* Kafka's two per-segment indexes, held in memory and written in Kafka's
 * on-disk layout (big-endian):
 *
 *   .index      8-byte entries: relative offset (offset - segment base,
 *               4 bytes), position of a batch in the .log (4 bytes). The
 *               offset is that batch's last offset. Sparse: one entry each
 *               time more than index.interval.bytes of log were written
 *               since the previous one. Both columns strictly increase.
 *   .timeindex  12-byte entries: timestamp (8 bytes), relative offset
 *               (4 bytes): the largest timestamp seen so far in the segment
 *               and the last offset of the batch holding it, appended with
 *               each offset-index entry when the timestamp grew, and once
 *               more when the segment is closed. Timestamps strictly
 *               increase, offsets never decrease.
 *
 * A lookup gives a starting point for a forward scan of the log, never the
 * answer itself. Not thread-safe: the partition serialises access. */
#ifndef MP_LOG_LOG_INDEX_H
#define MP_LOG_LOG_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"

#define MP_OFFSET_INDEX_ENTRY 8
#define MP_TIME_INDEX_ENTRY 12

typedef struct mp_offset_entry {
    uint32_t rel; /* offset - segment base */
    uint32_t pos; /* byte position in the .log */
} mp_offset_entry;

typedef struct mp_offset_index {
    mp_offset_entry *ent;
    size_t n, cap;
} mp_offset_index;

typedef struct mp_time_entry {
    int64_t ts;
    uint32_t rel;
} mp_time_entry;

typedef struct mp_time_index {
    mp_time_entry *ent;
    size_t n, cap;
} mp_time_index;

/* Appends an entry; MP_EINVAL unless rel and pos exceed the last entry's,
 * MP_ENOMEM. */
int mp_offset_index_append(mp_offset_index *ix, uint32_t rel, uint32_t pos);
/* The index of the last entry with rel <= target, or -1 if none. */
long mp_offset_index_floor(const mp_offset_index *ix, uint32_t target);
/* Drops entries whose position is >= pos (after the log is truncated). */
void mp_offset_index_truncate_pos(mp_offset_index *ix, uint64_t pos);
void mp_offset_index_free(mp_offset_index *ix);
/* Appends the on-disk bytes to out. */
void mp_offset_index_encode(const mp_offset_index *ix, mp_buf *out);
/* Replaces ix with the entries in data[0..len), checking the structure:
 * whole entries, both columns strictly increasing, every position below
 * log_size. MP_EFORMAT with the reason otherwise (ix then empty). */
int mp_offset_index_decode(mp_offset_index *ix, const uint8_t *data, size_t len,
                           uint64_t log_size, mp_error *e);

/* Appends (ts, rel) if ts exceeds the last entry's timestamp (Kafka's
 * maybeAppend); rel below the last entry's is MP_EINVAL. MP_ENOMEM. */
int mp_time_index_maybe_append(mp_time_index *ti, int64_t ts, uint32_t rel);
/* The index of the last entry with timestamp < ts, or -1 if none. */
long mp_time_index_last_before(const mp_time_index *ti, int64_t ts);
/* Drops entries whose relative offset is >= rel. */
void mp_time_index_truncate_rel(mp_time_index *ti, uint32_t rel);
void mp_time_index_free(mp_time_index *ti);
void mp_time_index_encode(const mp_time_index *ti, mp_buf *out);
/* Structure: whole entries, timestamps strictly increasing, offsets not
 * decreasing and each <= max_rel. */
int mp_time_index_decode(mp_time_index *ti, const uint8_t *data, size_t len, uint32_t max_rel,
                         mp_error *e);

#endif
