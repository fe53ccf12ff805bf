/* One segment of a partition: <dir>/<20-digit base offset>.log holding
 * RecordBatch v2 bytes exactly as a Kafka broker stores them, with its
 * .index and .timeindex (log_index.h).
 *
 * The .log file is the truth; index files are derived and rewritten whole
 * (temp file + rename) when the segment is sealed or the log is closed, and
 * rebuilt from the .log when missing or damaged. A segment being written
 * (the partition's active one) keeps its indexes in memory only.
 *
 * `size` is the visible length: every byte below it belongs to a whole
 * batch. A writer puts new bytes past it (mp_segment_write) and then makes
 * them visible (mp_segment_publish); readers read only below a size they
 * saw, so they never see part of a batch.
 *
 * Lifetime: reference counted. The partition holds one reference while the
 * segment is in its list; a reader takes one for as long as it reads.
 * Removing a segment from the log unlinks its files at once; the open file
 * descriptor keeps the bytes readable until the last reference goes.
 *
 * Memory maps: mp_segment_view hands out pointers into a read-only shared
 * map of the .log, made on the first request and unmapped with the last
 * reference, so a reader holding a reference keeps its pointers valid
 * while retention or compaction removes the segment. Bytes below a visible
 * size never change and the file is never cut below its visible size once
 * the segment is open (recovery truncates only inside mp_segment_open;
 * a failed write cuts back to the visible end), so a reader that stays
 * below the size it saw never touches a page past the end of the file
 * (which would raise SIGBUS). A disk error while the kernel reads a page
 * in raises SIGBUS too, where pread would return EIO: mp_log_options'
 * map_reads turns maps off for storage where that matters.
 *
 * Thread-safety: the counters and the indexes are changed only by the
 * partition's writer and read under the partition's state lock (see
 * log_partition.h); mp_segment_read may run in any thread. */
#ifndef MP_LOG_LOG_SEGMENT_H
#define MP_LOG_LOG_SEGMENT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "log/log_batch.h"
#include "log/log_index.h"

typedef struct mp_segment_map {
    const uint8_t *base;
    size_t len; /* bytes mapped; may run past the end of a growing file */
    struct mp_segment_map *older;
} mp_segment_map;

typedef struct mp_segment {
    int64_t base_offset;
    char *dir;
    char suffix[16]; /* "" for a live segment, ".cleaned" while being built */
    int fd;          /* the .log, read-write */
    uint64_t size;   /* visible bytes: whole batches only */
    int64_t next_offset;   /* one past the last batch's last offset; base when empty */
    int64_t max_ts;        /* largest batch max timestamp; -1 when empty */
    int64_t max_ts_offset; /* last offset of the batch holding max_ts */
    mp_offset_index oi;
    mp_time_index ti;
    uint64_t bytes_since_index;
    int64_t first_append_ms; /* wall clock when the segment got data here (segment.ms) */
    /* Disk space reserved past the end of the file up to here (0: none);
     * changed by the writer only (see mp_segment_write, mp_segment_trim). */
    uint64_t alloc_end;
    int no_prealloc; /* the file system cannot reserve space */
    atomic_int refs;
    /* The current map of the .log (NULL: none yet); replaced by a larger
     * one when an active segment outgrows it. Older maps stay mapped until
     * the segment is freed, since readers may hold pointers into them. */
    mp_segment_map *_Atomic map;
    /* The .log file's identity (fstat at open), so that a reader can tell
     * a segment replaced under the same name (compaction) from its own. */
    uint64_t dev, ino;
    /* 1 while another process may still append to the file or cut a torn
     * tail off it (a reader's view of the active segment): fetches read it
     * with pread, never through a map, since a page past a cut end would
     * raise SIGBUS. Cleared once the segment is known to be closed. */
    atomic_int growing;
} mp_segment;

/* How mp_segment_open treats an existing segment. */
enum {
    /* A closed segment: written and fsynced before the next one began. The
     * indexes are loaded and checked (structure, a sample of entries
     * against the log, the batches after the last entry); damaged or
     * missing ones are rebuilt from a scan of the batch headers. The .log
     * is not changed: damage is reported when a read reaches it. */
    MP_SEG_CLOSED = 0,
    /* The active segment after a clean shutdown: as CLOSED, but the batches
     * after the last index entry are CRC-checked; if one is bad, the whole
     * segment is treated as in MP_SEG_RECOVER. */
    MP_SEG_RECOVER_TAIL = 1,
    /* The active segment after a crash: every batch is read and CRC-checked
     * from the start, the log is truncated at the first one that is torn,
     * corrupt or out of order, and the indexes are rebuilt. */
    MP_SEG_RECOVER = 2,
    /* A reader's modes (mp_segment_open_reader): the file is opened
     * read-only and never changed; indexes that are missing or damaged are
     * rebuilt in memory only. READ_CLOSED is CLOSED for a segment another
     * process wrote and closed. READ_TAIL is for the segment another process
     * may be writing: the batches after the last index entry are walked
     * and only whole batches whose length, offsets and CRC-32C check out
     * become visible; a torn or bad tail is "not written yet", left alone
     * (mp_segment_scan_tail picks up what follows later). */
    MP_SEG_READ_CLOSED = 3,
    MP_SEG_READ_TAIL = 4,
};

/* Formats <dir>/<20-digit base><ext><suffix> into out[0..n). */
int mp_segment_path(char *out, size_t n, const char *dir, int64_t base, const char *ext,
                    const char *suffix);

/* Creates a new empty segment (its .log must not exist yet; the index
 * files are created empty). One reference, the caller's. */
int mp_segment_create(const char *dir, int64_t base, const char *suffix, mp_segment **out,
                      mp_error *e);

/* Opens an existing segment (see the modes above). index_interval is the
 * topic's index.interval.bytes, used when indexes are rebuilt. `name`
 * ("topic-partition") prefixes error messages. *truncated receives the
 * bytes cut from the tail, *rebuilt 1 if the indexes were rebuilt (either
 * may be NULL). */
int mp_segment_open(const char *dir, int64_t base, int mode, int32_t index_interval,
                    const char *name, mp_segment **out, int64_t *truncated, int *rebuilt,
                    mp_error *e);

/* Opens a segment for a reader (mode MP_SEG_READ_CLOSED or
 * MP_SEG_READ_TAIL) from <dir>/<base>.log<suffix>; suffix is "" or
 * ".cleaned" (a compaction's output whose manifest is committed but not yet
 * renamed into place; if the rename happened meanwhile the live name is
 * opened). MP_ENOTFOUND when the file is gone (deleted since it was
 * listed). Nothing on disk is changed. */
int mp_segment_open_reader(const char *dir, int64_t base, const char *suffix, int mode,
                           int32_t index_interval, const char *name, mp_segment **out,
                           mp_error *e);

/* For a reader of a segment another process writes: the whole batches that
 * follow the visible end, up to the file's current size and at most max of
 * them, each checked (header, offsets following s->next_offset, CRC-32C);
 * the walk stops at the first one that is incomplete or bad. Fills
 * infos[0..*n) in file order, contiguous from s->size, and *file_end with
 * the file's size. Changes nothing: the caller publishes the batches
 * (mp_segment_publish) under its lock. MP_EIO when the file cannot be
 * read. */
int mp_segment_scan_tail(const mp_segment *s, mp_batch_info *infos, size_t max, size_t *n,
                         uint64_t *file_end, mp_error *e);

void mp_segment_ref(mp_segment *s);
/* Drops a reference; the last one closes the file and frees the segment. */
void mp_segment_unref(mp_segment *s);

/* Writes bytes after the visible end. On failure the file is cut back to
 * the visible end and MP_EIO returned. Large writes first reserve disk
 * space ahead of the file's end (the file's size does not change). */
int mp_segment_write(mp_segment *s, const void *data, size_t len, mp_error *e);

/* Gives back the disk space reserved past the visible end by earlier
 * writes: called when a segment stops being written (roll, close, the end
 * of a compaction). The writer only; readers may go on. */
void mp_segment_trim(mp_segment *s);

/* Makes the batch just written at the visible end visible and indexes it
 * (Kafka's rule: an index entry for this batch when more than
 * index_interval bytes were added since the last entry). */
void mp_segment_publish(mp_segment *s, const mp_batch_info *info, int32_t index_interval);

/* Where to start scanning for `offset`: the position of the last indexed
 * batch whose last offset is <= offset (0 if none), and that batch's last
 * offset in *entry_offset (-1 if none). */
uint64_t mp_segment_lookup(const mp_segment *s, int64_t offset, int64_t *entry_offset);

/* The first offset whose batch could hold a timestamp >= ts according to
 * the time index (base offset if the index knows nothing earlier). */
int64_t mp_segment_time_start(const mp_segment *s, int64_t ts);

/* Reads exactly len bytes at pos. MP_EIO, or MP_EFORMAT if the file ends
 * early. */
int mp_segment_read(const mp_segment *s, uint64_t pos, void *buf, size_t len, mp_error *e);

/* Points *out at bytes [pos, pos+len) of the .log through the segment's
 * memory map, mapping it (or a larger window of a growing file) first if
 * needed. pos + len must not exceed a visible size the caller saw. The
 * pointer stays valid while the caller holds a reference on s. Any thread.
 * MP_EIO if the map cannot be made (the caller falls back to
 * mp_segment_read). */
int mp_segment_view(mp_segment *s, uint64_t pos, size_t len, const uint8_t **out, mp_error *e);

/* fdatasync of the .log. */
int mp_segment_sync(mp_segment *s, mp_error *e);

/* Adds the closing time-index entry (Kafka appends one when a segment
 * stops being active, so the last entry holds the segment's largest
 * timestamp). Caller holds the partition's state lock if readers exist. */
void mp_segment_close_index(mp_segment *s);

/* Appends a whole batch (checked with mp_batch_peek) and makes it visible:
 * mp_segment_write + mp_segment_publish, for a segment nobody else sees yet
 * (one being built by the compactor). The batch's offsets must follow the
 * segment's (base offset >= next_offset). */
int mp_segment_append(mp_segment *s, const uint8_t *batch, size_t len, int32_t index_interval,
                      mp_error *e);

/* Reads the batch at *pos (below limit, normally s->size) into buf
 * (replacing its contents), checks its CRC and advances *pos past it.
 * 1 with *info filled, 0 at limit, MP_EFORMAT for a damaged batch (the
 * message names the position and offset), MP_EIO. For reading closed
 * segments, e.g. by the compactor. */
int mp_segment_next_batch(const mp_segment *s, uint64_t *pos, uint64_t limit, mp_buf *buf,
                          mp_batch_info *info, mp_error *e);

/* Writes both index files as they are now (temp file + rename). */
int mp_segment_write_indexes(mp_segment *s, mp_error *e);

/* Renames the three files from the current suffix to new_suffix ("" for
 * the live name), replacing files of that name. */
int mp_segment_rename(mp_segment *s, const char *new_suffix, mp_error *e);

/* Unlinks the three files (the .log first); open readers keep reading. */
void mp_segment_remove_files(mp_segment *s);

#endif
