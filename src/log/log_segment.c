#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE /* fallocate(2) and FALLOC_FL_KEEP_SIZE */
#endif
#include "log/log_segment.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/fileio.h"

/* How many offset-index entries are checked against the log on open (the
 * last one always). A garbled file fails its structure check long before;
 * this catches plausible-looking entries that point at the wrong batch. */
#define INDEX_SAMPLES 32
/* Read size when walking batches. */
#define SCAN_CHUNK ((size_t)256 << 10)
/* Smallest map of a segment. Maps grow by doubling, so a segment being
 * written is remapped only a few times however large it gets. */
#define MAP_MIN ((size_t)1 << 20)
/* Writes of at least PREALLOC_MIN bytes reserve disk space ahead of the
 * end of the file, PREALLOC_AHEAD times the write and at most
 * PREALLOC_MAX (see reserve_ahead). */
#define PREALLOC_MIN ((size_t)64 << 10)
#define PREALLOC_AHEAD 8
#define PREALLOC_MAX ((uint64_t)16 << 20)

int mp_segment_path(char *out, size_t n, const char *dir, int64_t base, const char *ext,
                    const char *suffix)
{
    int w = snprintf(out, n, "%s/%020" PRId64 "%s%s", dir, base, ext, suffix ? suffix : "");
    return w < 0 || (size_t)w >= n ? MP_EINVAL : 0;
}

static mp_segment *seg_alloc(const char *dir, int64_t base, const char *suffix)
{
    mp_segment *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->dir = strdup(dir);
    if (!s->dir) {
        free(s);
        return NULL;
    }
    snprintf(s->suffix, sizeof s->suffix, "%s", suffix ? suffix : "");
    s->base_offset = base;
    s->next_offset = base;
    s->fd = -1;
    s->max_ts = -1;
    s->max_ts_offset = -1;
    atomic_init(&s->refs, 1);
    atomic_init(&s->map, NULL);
    atomic_init(&s->growing, 0);
    return s;
}

static void seg_free(mp_segment *s)
{
    if (!s)
        return;
    mp_segment_map *m = atomic_load(&s->map);
    while (m) {
        mp_segment_map *older = m->older;
        munmap((void *)(uintptr_t)m->base, m->len);
        free(m);
        m = older;
    }
    if (s->fd >= 0)
        close(s->fd);
    mp_offset_index_free(&s->oi);
    mp_time_index_free(&s->ti);
    free(s->dir);
    free(s);
}

void mp_segment_ref(mp_segment *s) { atomic_fetch_add(&s->refs, 1); }

void mp_segment_unref(mp_segment *s)
{
    if (s && atomic_fetch_sub(&s->refs, 1) == 1)
        seg_free(s);
}

static int create_empty(const char *path, int excl, mp_error *e)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (excl ? O_EXCL : O_TRUNC), 0644);
    if (fd < 0)
        return mp_error_set(e, errno == EEXIST ? MP_EEXIST : MP_EIO, "%s: cannot create: %s",
                            path, strerror(errno));
    close(fd);
    return 0;
}

int mp_segment_create(const char *dir, int64_t base, const char *suffix, mp_segment **out,
                      mp_error *e)
{
    *out = NULL;
    char path[PATH_MAX];
    if (mp_segment_path(path, sizeof path, dir, base, ".log", suffix))
        return mp_error_set(e, MP_EINVAL, "%s: path too long", dir);
    mp_segment *s = seg_alloc(dir, base, suffix);
    if (!s)
        return mp_error_set(e, MP_ENOMEM, "%s: out of memory", path);
    s->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (s->fd < 0) {
        int rc = mp_error_set(e, errno == EEXIST ? MP_EEXIST : MP_EIO, "%s: cannot create: %s",
                              path, strerror(errno));
        seg_free(s);
        return rc;
    }
    struct stat st;
    if (fstat(s->fd, &st) == 0) {
        s->dev = (uint64_t)st.st_dev;
        s->ino = (uint64_t)st.st_ino;
    }
    int rc;
    if ((rc = mp_segment_path(path, sizeof path, dir, base, ".index", suffix)) ||
        (rc = create_empty(path, 0, e)) ||
        (rc = mp_segment_path(path, sizeof path, dir, base, ".timeindex", suffix)) ||
        (rc = create_empty(path, 0, e))) {
        mp_segment_remove_files(s);
        seg_free(s);
        return rc == MP_EINVAL ? mp_error_set(e, rc, "%s: path too long", dir) : rc;
    }
    *out = s;
    return 0;
}

int mp_segment_read(const mp_segment *s, uint64_t pos, void *buf, size_t len, mp_error *e)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t r = pread(s->fd, p, len, (off_t)pos);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return mp_error_set(e, MP_EIO, "segment %020" PRId64 ": read at %" PRIu64 " failed: %s",
                                s->base_offset, pos, strerror(errno));
        }
        if (r == 0)
            return mp_error_set(e, MP_EFORMAT,
                                "segment %020" PRId64 ": file ends at %" PRIu64 " inside a batch",
                                s->base_offset, pos);
        p += r;
        pos += (uint64_t)r;
        len -= (size_t)r;
    }
    return 0;
}

int mp_segment_view(mp_segment *s, uint64_t pos, size_t len, const uint8_t **out, mp_error *e)
{
    uint64_t want = pos + len;
    mp_segment_map *cur = atomic_load_explicit(&s->map, memory_order_acquire);
    for (;;) {
        if (cur && want <= cur->len) {
            *out = cur->base + pos;
            return 0;
        }
        /* A power of two covering what is wanted: a growing segment is
         * remapped only when it doubles. Mapping past the end of the file
         * is allowed; only touching those pages would fault, and readers
         * stay below the visible size. */
        uint64_t n = MAP_MIN;
        while (n < want)
            n *= 2;
        if (want > ((uint64_t)1 << 32) || (uint64_t)(size_t)n != n)
            return mp_error_set(e, MP_EIO, "segment %020" PRId64 ": too large to map",
                                s->base_offset);
        mp_segment_map *m = malloc(sizeof *m);
        if (!m)
            return mp_error_set(e, MP_ENOMEM, "segment %020" PRId64 ": out of memory",
                                s->base_offset);
        void *base = mmap(NULL, (size_t)n, PROT_READ, MAP_SHARED, s->fd, 0);
        if (base == MAP_FAILED) {
            int err = errno;
            free(m);
            return mp_error_set(e, MP_EIO, "segment %020" PRId64 ": cannot map %" PRIu64
                                " bytes: %s",
                                s->base_offset, n, strerror(err));
        }
        m->base = base;
        m->len = (size_t)n;
        m->older = cur;
        if (atomic_compare_exchange_strong_explicit(&s->map, &cur, m, memory_order_acq_rel,
                                                    memory_order_acquire)) {
            *out = m->base + pos;
            return 0;
        }
        /* Another reader mapped it first; cur now holds its map. */
        munmap(base, (size_t)n);
        free(m);
    }
}

/* Reserves disk space past the end of the file before a large write.
 * Writing into space the file already owns skips the file system's
 * per-page work for delayed allocation (reserving blocks and quota, extent
 * bookkeeping), a good part of a buffered write's cost besides the copy:
 * 1 MB batches are written about a fifth faster. The reservation keeps the
 * file size (FALLOC_FL_KEEP_SIZE), so readers, recovery and the visible
 * size see nothing of it; mp_segment_trim gives back what a closed segment
 * did not use. Best effort: where the file system cannot, the write goes on
 * as before. Small writes (single records) do not reserve: the call would
 * cost more than it saves. */
static void reserve_ahead(mp_segment *s, uint64_t pos, size_t len)
{
#if defined(__linux__) && defined(FALLOC_FL_KEEP_SIZE)
    if (len < PREALLOC_MIN || s->no_prealloc || pos + len <= s->alloc_end)
        return;
    uint64_t n = (uint64_t)len * PREALLOC_AHEAD;
    if (n > PREALLOC_MAX)
        n = PREALLOC_MAX > len ? PREALLOC_MAX : len;
    if (fallocate(s->fd, FALLOC_FL_KEEP_SIZE, (off_t)pos, (off_t)n) == 0)
        s->alloc_end = pos + n;
    else if (errno == EOPNOTSUPP || errno == ENOSYS)
        s->no_prealloc = 1; /* this file system cannot; stop asking */
    /* Other failures (a full disk) are for the write to report. */
#else
    (void)s;
    (void)pos;
    (void)len;
#endif
}

void mp_segment_trim(mp_segment *s)
{
    if (s->alloc_end > s->size) {
        /* Cutting at the current size frees the blocks reserved past it
         * and touches nothing below (readers' maps stay valid). */
        if (ftruncate(s->fd, (off_t)s->size) != 0) {
            /* only space stays reserved until the segment is deleted */
        }
    }
    s->alloc_end = 0;
}

int mp_segment_write(mp_segment *s, const void *data, size_t len, mp_error *e)
{
    const uint8_t *p = data;
    uint64_t pos = s->size;
    reserve_ahead(s, pos, len);
    while (len > 0) {
        ssize_t w = pwrite(s->fd, p, len, (off_t)pos);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int err = errno;
            /* Leave no partial batch behind: the next append starts at the
             * visible end again. */
            if (ftruncate(s->fd, (off_t)s->size) != 0) {
                /* recovery on the next open cuts the torn batch */
            }
            return mp_error_set(e, MP_EIO, "segment %020" PRId64 ": write failed: %s",
                                s->base_offset, strerror(err));
        }
        p += w;
        pos += (uint64_t)w;
        len -= (size_t)w;
    }
    return 0;
}

/* Kafka's indexing rule, shared by appends and rebuilds: the batch at
 * position `pos` gets an entry when more than `interval` bytes were added
 * since the last one. */
static void index_batch(mp_segment *s, const mp_batch_info *info, uint64_t pos, int32_t interval)
{
    int64_t last = info->base_offset + info->last_offset_delta;
    if (info->max_timestamp > s->max_ts) {
        s->max_ts = info->max_timestamp;
        s->max_ts_offset = last;
    }
    if (s->bytes_since_index > (uint64_t)(interval < 0 ? 0 : interval)) {
        /* Allocation failure only makes the index sparser: lookups scan
         * further, answers stay right. */
        if (mp_offset_index_append(&s->oi, (uint32_t)(last - s->base_offset), (uint32_t)pos) == 0)
            mp_time_index_maybe_append(&s->ti, s->max_ts,
                                       (uint32_t)(s->max_ts_offset - s->base_offset));
        s->bytes_since_index = 0;
    }
    s->bytes_since_index += info->size;
    s->next_offset = last + 1;
}

void mp_segment_publish(mp_segment *s, const mp_batch_info *info, int32_t index_interval)
{
    if (s->size == 0)
        s->first_append_ms = mp_clock_wall_ms();
    index_batch(s, info, s->size, index_interval);
    s->size += info->size;
}

uint64_t mp_segment_lookup(const mp_segment *s, int64_t offset, int64_t *entry_offset)
{
    *entry_offset = -1;
    if (offset < s->base_offset || s->oi.n == 0)
        return 0;
    int64_t rel = offset - s->base_offset;
    long i = mp_offset_index_floor(&s->oi, rel > UINT32_MAX ? UINT32_MAX : (uint32_t)rel);
    if (i < 0)
        return 0;
    *entry_offset = s->base_offset + s->oi.ent[i].rel;
    return s->oi.ent[i].pos;
}

int64_t mp_segment_time_start(const mp_segment *s, int64_t ts)
{
    long i = mp_time_index_last_before(&s->ti, ts);
    /* Every record up to the batch ending at that entry's offset is older
     * than the entry's timestamp, hence older than ts. */
    return i < 0 ? s->base_offset : s->base_offset + s->ti.ent[i].rel + 1;
}

int mp_segment_sync(mp_segment *s, mp_error *e)
{
    if (fdatasync(s->fd) != 0)
        return mp_error_set(e, MP_EIO, "segment %s/%020" PRId64 ".log: fsync failed: %s", s->dir,
                            s->base_offset, strerror(errno));
    return 0;
}

int mp_segment_write_indexes(mp_segment *s, mp_error *e)
{
    char path[PATH_MAX];
    mp_buf b = {0};
    int rc = 0;
    mp_offset_index_encode(&s->oi, &b);
    if (b.oom)
        rc = mp_error_set(e, MP_ENOMEM, "segment %020" PRId64 ": out of memory", s->base_offset);
    else if (mp_segment_path(path, sizeof path, s->dir, s->base_offset, ".index", s->suffix))
        rc = mp_error_set(e, MP_EINVAL, "%s: path too long", s->dir);
    else
        rc = mp_write_atomic(path, b.data ? b.data : "", b.len, e);
    mp_buf_reset(&b);
    if (!rc) {
        mp_time_index_encode(&s->ti, &b);
        if (b.oom)
            rc = mp_error_set(e, MP_ENOMEM, "segment %020" PRId64 ": out of memory",
                              s->base_offset);
        else if (mp_segment_path(path, sizeof path, s->dir, s->base_offset, ".timeindex",
                                 s->suffix))
            rc = mp_error_set(e, MP_EINVAL, "%s: path too long", s->dir);
        else
            rc = mp_write_atomic(path, b.data ? b.data : "", b.len, e);
    }
    mp_buf_free(&b);
    return rc;
}

void mp_segment_close_index(mp_segment *s)
{
    if (s->size > 0)
        mp_time_index_maybe_append(&s->ti, s->max_ts,
                                   (uint32_t)(s->max_ts_offset - s->base_offset));
}

int mp_segment_append(mp_segment *s, const uint8_t *batch, size_t len, int32_t index_interval,
                      mp_error *e)
{
    mp_batch_info info;
    int rc = mp_batch_peek(batch, len, &info, e);
    if (rc)
        return rc == MP_LOG_ETRUNCATED ? mp_error_set(e, MP_EINVAL, "incomplete batch") : rc;
    if (info.size != len)
        return mp_error_set(e, MP_EINVAL, "%zu bytes hold a batch of %zu", len, info.size);
    int64_t last = info.base_offset + info.last_offset_delta;
    if (info.base_offset < s->next_offset || last - s->base_offset > INT32_MAX)
        return mp_error_set(e, MP_EINVAL,
                            "batch offsets %" PRId64 "..%" PRId64 " do not follow segment %020" PRId64
                            " (next offset %" PRId64 ")",
                            info.base_offset, last, s->base_offset, s->next_offset);
    if (s->size + len > UINT32_MAX)
        return mp_error_set(e, MP_EINVAL, "segment %020" PRId64 " would exceed 4 GB",
                            s->base_offset);
    if ((rc = mp_segment_write(s, batch, len, e)))
        return rc;
    mp_segment_publish(s, &info, index_interval);
    return 0;
}

int mp_segment_next_batch(const mp_segment *s, uint64_t *pos, uint64_t limit, mp_buf *buf,
                          mp_batch_info *info, mp_error *e)
{
    if (*pos >= limit)
        return 0;
    uint8_t h[MP_BATCH_HEADER_SIZE];
    uint64_t left = limit - *pos;
    size_t hn = left < sizeof h ? (size_t)left : sizeof h;
    int rc = mp_segment_read(s, *pos, h, hn, e);
    if (rc)
        return rc;
    rc = mp_batch_peek(h, hn, info, e);
    if (rc == MP_LOG_ETRUNCATED && hn == sizeof h && info->size <= left)
        rc = 0;
    if (rc)
        return mp_error_set(e, MP_EFORMAT,
                            "segment %020" PRId64 ": damaged batch at position %" PRIu64 ": %s",
                            s->base_offset, *pos, e ? e->msg : "bad header");
    mp_buf_reset(buf);
    if (!mp_buf_reserve(buf, info->size))
        return mp_error_set(e, MP_ENOMEM, "segment %020" PRId64 ": out of memory",
                            s->base_offset);
    if ((rc = mp_segment_read(s, *pos, buf->data, info->size, e)))
        return rc;
    buf->len = info->size;
    buf->data[buf->len] = '\0';
    if (!mp_batch_crc_ok((const uint8_t *)buf->data, info))
        return mp_error_set(e, MP_EFORMAT,
                            "segment %020" PRId64 ": batch at offset %" PRId64 " (position %" PRIu64
                            ") fails its CRC",
                            s->base_offset, info->base_offset, *pos);
    *pos += info->size;
    return 1;
}

int mp_segment_rename(mp_segment *s, const char *new_suffix, mp_error *e)
{
    static const char *const exts[] = {".index", ".timeindex", ".log"};
    for (int i = 0; i < 3; i++) {
        char from[PATH_MAX], to[PATH_MAX];
        if (mp_segment_path(from, sizeof from, s->dir, s->base_offset, exts[i], s->suffix) ||
            mp_segment_path(to, sizeof to, s->dir, s->base_offset, exts[i], new_suffix))
            return mp_error_set(e, MP_EINVAL, "%s: path too long", s->dir);
        if (strcmp(from, to) && rename(from, to) != 0 && !(errno == ENOENT && i < 2))
            return mp_error_set(e, MP_EIO, "%s: cannot rename to %s: %s", from, to,
                                strerror(errno));
    }
    snprintf(s->suffix, sizeof s->suffix, "%s", new_suffix);
    return 0;
}

void mp_segment_remove_files(mp_segment *s)
{
    static const char *const exts[] = {".log", ".index", ".timeindex"};
    for (int i = 0; i < 3; i++) {
        char path[PATH_MAX];
        if (mp_segment_path(path, sizeof path, s->dir, s->base_offset, exts[i], s->suffix) == 0)
            unlink(path);
    }
}

/* ---- opening ------------------------------------------------------------- */

/* A forward walk over the batches of a segment file, reading in chunks. */
typedef struct scan {
    const mp_segment *s;
    uint64_t end;     /* file length */
    uint8_t *buf;
    size_t cap;
    uint64_t buf_pos; /* file position of buf[0] */
    size_t buf_len;
} scan;

/* Makes file bytes [pos, pos+n) (n <= end-pos) available; returns a pointer
 * to them or NULL with e set. */
static const uint8_t *scan_get(scan *sc, uint64_t pos, size_t n, mp_error *e)
{
    if (pos >= sc->buf_pos && pos + n <= sc->buf_pos + sc->buf_len)
        return sc->buf + (pos - sc->buf_pos);
    size_t want = n > SCAN_CHUNK ? n : SCAN_CHUNK;
    if (want > sc->end - pos)
        want = (size_t)(sc->end - pos);
    if (want > sc->cap) {
        uint8_t *p = realloc(sc->buf, want);
        if (!p) {
            mp_error_set(e, MP_ENOMEM, "out of memory");
            return NULL;
        }
        sc->buf = p;
        sc->cap = want;
    }
    sc->buf_pos = pos;
    sc->buf_len = 0;
    if (mp_segment_read(sc->s, pos, sc->buf, want, e))
        return NULL;
    sc->buf_len = want;
    return sc->buf;
}

/* The batch at pos: 1 with *info (and *data = its bytes when whole), 0 at
 * the end of the file, MP_LOG_ETRUNCATED / MP_EFORMAT for a batch that is
 * torn or impossible (msg in e), other codes for I/O failures. With
 * check_crc the whole batch is read and its CRC checked (MP_EFORMAT). */
static int scan_batch(scan *sc, uint64_t pos, int64_t expect_min, int check_crc,
                      mp_batch_info *info, mp_error *e)
{
    if (pos >= sc->end)
        return 0;
    uint64_t left = sc->end - pos;
    size_t hn = left < MP_BATCH_HEADER_SIZE ? (size_t)left : MP_BATCH_HEADER_SIZE;
    const uint8_t *p = scan_get(sc, pos, hn, e);
    if (!p)
        return e ? e->code : MP_EIO;
    int rc = mp_batch_peek(p, hn, info, e);
    if (rc == MP_LOG_ETRUNCATED && hn == MP_BATCH_HEADER_SIZE)
        rc = 0; /* the header is whole; only the body is not in hand yet */
    if (rc)
        return rc;
    if (info->size > left)
        return mp_error_set(e, MP_LOG_ETRUNCATED, "batch at offset %" PRId64 " is torn: %" PRIu64
                            " of %zu bytes",
                            info->base_offset, left, info->size);
    int64_t last = info->base_offset + info->last_offset_delta;
    if (info->base_offset < expect_min || last - sc->s->base_offset > INT32_MAX)
        return mp_error_set(e, MP_EFORMAT,
                            "batch at position %" PRIu64 " has offsets %" PRId64 "..%" PRId64
                            ", expected %" PRId64 " or later within the segment",
                            pos, info->base_offset, last, expect_min);
    if (check_crc) {
        p = scan_get(sc, pos, info->size, e);
        if (!p)
            return e ? e->code : MP_EIO;
        if (!mp_batch_crc_ok(p, info))
            return mp_error_set(e, MP_EFORMAT, "batch at offset %" PRId64 " fails its CRC",
                                info->base_offset);
    }
    return 1;
}

/* Walks batches from pos (the position of an indexed batch, or 0) to the
 * end, indexing them. With check_crc the walk stops at the first bad batch
 * and *good receives its position; without, it stops there too (the damage
 * stays for readers to report). */
static int walk(mp_segment *s, scan *sc, uint64_t pos, int check_crc, int32_t interval,
                uint64_t *good, mp_error *e)
{
    int64_t expect = s->next_offset;
    for (;;) {
        mp_batch_info info;
        mp_error err;
        int rc = scan_batch(sc, pos, expect, check_crc, &info, &err);
        if (rc == 0)
            break;
        if (rc == MP_LOG_ETRUNCATED || rc == MP_EFORMAT)
            break;
        if (rc < 0) {
            if (e)
                *e = err;
            return rc;
        }
        index_batch(s, &info, pos, interval);
        pos += info.size;
        expect = s->next_offset;
    }
    *good = pos;
    return 0;
}

static int read_small_file(const char *path, uint8_t **data, size_t *len, mp_error *e)
{
    char *p;
    int rc = mp_read_file_raw(path, &p, len, e);
    *data = (uint8_t *)p;
    return rc;
}

/* Loads and checks the index files. 0 with s->oi / s->ti filled, or an
 * error saying why they cannot be used (the caller rebuilds). */
static int load_indexes(mp_segment *s, scan *sc, mp_error *e)
{
    char path[PATH_MAX];
    uint8_t *data = NULL;
    size_t len;
    int rc;
    if (mp_segment_path(path, sizeof path, s->dir, s->base_offset, ".index", s->suffix))
        return mp_error_set(e, MP_EINVAL, "path too long");
    if ((rc = read_small_file(path, &data, &len, e)))
        return rc;
    rc = mp_offset_index_decode(&s->oi, data, len, sc->end, e);
    free(data);
    if (rc)
        return rc;
    /* Entries name a batch by its last offset: check a sample against the
     * batch headers they point at. */
    size_t n = s->oi.n;
    long prev = -1;
    for (size_t k = 0; k <= INDEX_SAMPLES && n; k++) {
        size_t i = k == INDEX_SAMPLES ? n - 1 : k * n / INDEX_SAMPLES;
        if ((long)i == prev)
            continue;
        prev = (long)i;
        uint8_t h[MP_BATCH_HEADER_SIZE];
        uint64_t pos = s->oi.ent[i].pos;
        mp_batch_info info;
        int r = sc->end - pos < sizeof h ? MP_EFORMAT : mp_segment_read(s, pos, h, sizeof h, NULL);
        if (!r) {
            r = mp_batch_peek(h, sizeof h, &info, NULL);
            if (r == MP_LOG_ETRUNCATED)
                r = 0;
        }
        if (r || info.base_offset + info.last_offset_delta != s->base_offset + s->oi.ent[i].rel)
            return mp_error_set(e, MP_EFORMAT, "entry %zu does not match the batch at position %u",
                                i, s->oi.ent[i].pos);
    }
    if (mp_segment_path(path, sizeof path, s->dir, s->base_offset, ".timeindex", s->suffix))
        return mp_error_set(e, MP_EINVAL, "path too long");
    if ((rc = read_small_file(path, &data, &len, e)))
        return rc;
    rc = mp_time_index_decode(&s->ti, data, len, UINT32_MAX, e);
    free(data);
    /* Both get their entries at the same moments. */
    if (!rc && s->oi.n && !s->ti.n)
        rc = mp_error_set(e, MP_EFORMAT, "empty time index beside a non-empty offset index");
    return rc;
}

/* Sets the walk's starting state from the last offset-index entry. */
static uint64_t resume_point(mp_segment *s)
{
    s->bytes_since_index = 0;
    if (s->oi.n == 0) {
        s->next_offset = s->base_offset;
        return 0;
    }
    const mp_offset_entry *last = &s->oi.ent[s->oi.n - 1];
    /* The walk re-reads the indexed batch; with bytes_since_index 0 it
     * does not index it twice. Its offsets are <= the entry's. */
    s->next_offset = s->base_offset;
    if (s->ti.n) {
        s->max_ts = s->ti.ent[s->ti.n - 1].ts;
        s->max_ts_offset = s->base_offset + s->ti.ent[s->ti.n - 1].rel;
    }
    return last->pos;
}

static void reset_indexes(mp_segment *s)
{
    s->oi.n = 0;
    s->ti.n = 0;
    s->max_ts = -1;
    s->max_ts_offset = -1;
    s->next_offset = s->base_offset;
    s->bytes_since_index = 0;
}

static int seg_open(const char *dir, int64_t base, const char *suffix, int mode,
                    int32_t index_interval, const char *name, mp_segment **out,
                    int64_t *truncated, int *rebuilt, mp_error *e)
{
    *out = NULL;
    if (truncated)
        *truncated = 0;
    if (rebuilt)
        *rebuilt = 0;
    /* A reader's modes are the writer's without any change on disk. */
    int reader = mode == MP_SEG_READ_CLOSED || mode == MP_SEG_READ_TAIL;
    int tail = mode == MP_SEG_READ_TAIL;
    if (mode == MP_SEG_READ_CLOSED)
        mode = MP_SEG_CLOSED;
    else if (mode == MP_SEG_READ_TAIL)
        mode = MP_SEG_RECOVER_TAIL;
    char path[PATH_MAX];
    if (mp_segment_path(path, sizeof path, dir, base, ".log", suffix))
        return mp_error_set(e, MP_EINVAL, "%s: path too long", dir);
    mp_segment *s = seg_alloc(dir, base, suffix);
    if (!s)
        return mp_error_set(e, MP_ENOMEM, "%s: out of memory", path);
    int rc = 0;
    scan sc = {0};
    s->fd = open(path, (reader ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    struct stat st;
    if (s->fd < 0 || fstat(s->fd, &st) != 0) {
        rc = mp_error_set(e, errno == ENOENT && reader ? MP_ENOTFOUND : MP_EIO,
                          "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    s->dev = (uint64_t)st.st_dev;
    s->ino = (uint64_t)st.st_ino;
    if ((uint64_t)st.st_size > UINT32_MAX) {
        rc = mp_error_set(e, MP_EFORMAT, "%s: %lld bytes is more than a segment can hold", path,
                          (long long)st.st_size);
        goto fail;
    }
    sc.s = s;
    sc.end = (uint64_t)st.st_size;
    s->size = sc.end;
    s->first_append_ms = mp_clock_wall_ms();

    uint64_t start = 0, good = 0;
    int use_index = 0;
    if (mode != MP_SEG_RECOVER) {
        mp_error why;
        use_index = load_indexes(s, &sc, &why) == 0;
        if (!use_index && rebuilt)
            *rebuilt = 1;
    }
    if (use_index) {
        start = resume_point(s);
    } else {
        reset_indexes(s);
        if (mode == MP_SEG_RECOVER_TAIL)
            mode = MP_SEG_RECOVER;
        if (rebuilt)
            *rebuilt = 1;
    }
    if ((rc = walk(s, &sc, start, mode != MP_SEG_CLOSED, index_interval, &good, e)))
        goto fail;
    /* Damage after a clean shutdown is not a torn write: check the whole
     * segment, not just what follows the last index entry. A time index
     * naming offsets past the log is not to be trusted either. */
    if ((mode == MP_SEG_RECOVER_TAIL && good < sc.end && !tail) ||
        (use_index && s->ti.n &&
         (s->ti.ent[s->ti.n - 1].rel > (uint64_t)(s->next_offset - 1 - s->base_offset) ||
          s->next_offset == s->base_offset))) {
        if (mode == MP_SEG_RECOVER_TAIL)
            mode = MP_SEG_RECOVER;
        reset_indexes(s);
        if (rebuilt)
            *rebuilt = 1;
        if ((rc = walk(s, &sc, 0, mode != MP_SEG_CLOSED, index_interval, &good, e)))
            goto fail;
    }
    if (tail) {
        /* Another process may be writing the rest: what follows the last
         * whole batch is not there yet. */
        s->size = good;
        mp_offset_index_truncate_pos(&s->oi, good);
        mp_time_index_truncate_rel(&s->ti, (uint32_t)(s->next_offset - s->base_offset));
        atomic_store(&s->growing, 1);
    } else if (mode != MP_SEG_CLOSED && good < sc.end) {
        /* A torn or corrupt tail: everything from the first bad batch on is
         * dropped, as Kafka's recovery does. */
        if (ftruncate(s->fd, (off_t)good) != 0 || fsync(s->fd) != 0) {
            rc = mp_error_set(e, MP_EIO, "%s: cannot truncate the damaged tail: %s", path,
                              strerror(errno));
            goto fail;
        }
        if (truncated)
            *truncated = (int64_t)(sc.end - good);
        s->size = good;
        mp_offset_index_truncate_pos(&s->oi, good);
        mp_time_index_truncate_rel(&s->ti, (uint32_t)(s->next_offset - s->base_offset));
    }
    /* Space that a writer which crashed had reserved past the end
     * (reserve_ahead) goes back now; a clean close trimmed it already. */
    if (!reader && mode != MP_SEG_CLOSED && fstat(s->fd, &st) == 0 &&
        (uint64_t)st.st_blocks * 512 > s->size + PREALLOC_MIN) {
        if (ftruncate(s->fd, (off_t)s->size) != 0) {
            /* only space stays reserved */
        }
    }
    free(sc.buf);
    *out = s;
    return 0;
fail:
    if (e && name && rc)
        mp_error_prefix(e, "%s", name);
    free(sc.buf);
    seg_free(s);
    return rc;
}

int mp_segment_open(const char *dir, int64_t base, int mode, int32_t index_interval,
                    const char *name, mp_segment **out, int64_t *truncated, int *rebuilt,
                    mp_error *e)
{
    return seg_open(dir, base, "", mode, index_interval, name, out, truncated, rebuilt, e);
}

int mp_segment_open_reader(const char *dir, int64_t base, const char *suffix, int mode,
                           int32_t index_interval, const char *name, mp_segment **out,
                           mp_error *e)
{
    if (mode != MP_SEG_READ_CLOSED && mode != MP_SEG_READ_TAIL)
        return mp_error_set(e, MP_EINVAL, "%s: not a reader's segment mode", name ? name : dir);
    suffix = suffix ? suffix : "";
    int rc = seg_open(dir, base, suffix, mode, index_interval, name, out, NULL, NULL, e);
    if (rc == MP_ENOTFOUND && suffix[0])
        /* Renamed into place since the directory was listed. */
        rc = seg_open(dir, base, "", mode, index_interval, name, out, NULL, NULL, e);
    return rc;
}

int mp_segment_scan_tail(const mp_segment *s, mp_batch_info *infos, size_t max, size_t *n,
                         uint64_t *file_end, mp_error *e)
{
    *n = 0;
    struct stat st;
    if (fstat(s->fd, &st) != 0)
        return mp_error_set(e, MP_EIO, "segment %s/%020" PRId64 ".log: cannot stat: %s", s->dir,
                            s->base_offset, strerror(errno));
    *file_end = (uint64_t)st.st_size;
    if (*file_end <= s->size)
        return 0;
    if (*file_end > UINT32_MAX)
        *file_end = UINT32_MAX; /* no segment holds more; what lies past is damage */
    scan sc = {.s = s, .end = *file_end};
    uint64_t pos = s->size;
    int64_t expect = s->next_offset;
    int rc = 0;
    while (*n < max) {
        mp_batch_info info;
        mp_error err;
        rc = scan_batch(&sc, pos, expect, 1, &info, &err);
        if (rc == 0 || rc == MP_LOG_ETRUNCATED || rc == MP_EFORMAT) {
            /* The end, a batch still being written, or one that a cut
             * (a writer's recovery) shortened under us: not there yet. */
            rc = 0;
            break;
        }
        if (rc < 0) {
            if (e)
                *e = err;
            break;
        }
        infos[(*n)++] = info;
        pos += info.size;
        expect = info.base_offset + info.last_offset_delta + 1;
    }
    free(sc.buf);
    return rc;
}
