/* The cleaner checkpoint and when the background thread compacts a
 * partition (see log_cleaner.h).
 *
 * Kafka keeps one cleaner-offset-checkpoint per log directory; here each
 * partition directory has its own. That keeps a write to one partition's
 * checkpoint from touching any other's, and deleting a topic deletes its
 * checkpoints with it: a topic re-created under the same name can never
 * inherit a first dirty offset that would call its new records clean
 * (which would keep duplicate keys forever).
 *
 * Scheduling follows Kafka's LogCleanerManager: a partition is due when
 * its dirty cleanable bytes are more than min.cleanable.dirty.ratio of
 * clean + dirty cleanable bytes, or when its oldest dirty record is older
 * than max.compaction.lag.ms (whatever the ratio). One addition: a
 * partition whose last pass kept a tombstone in the clean part is due once
 * that tombstone has outlived delete.retention.ms, so a quiet topic still
 * loses its deleted keys. */
#include "log/log_cleaner.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crc32c.h"
#include "core/fileio.h"
#include "log/log_batch.h"
#include "log/log_compact.h"

/* ---- debug output ---------------------------------------------------------- */

static pthread_mutex_t debug_mu = PTHREAD_MUTEX_INITIALIZER;
static void (*debug_fn)(void *arg, const char *msg);
static void *debug_arg;
static int debug_env = -1; /* -1: not looked at yet */

void mp_log_cleaner_set_debug(void (*fn)(void *arg, const char *msg), void *arg)
{
    pthread_mutex_lock(&debug_mu);
    debug_fn = fn;
    debug_arg = arg;
    pthread_mutex_unlock(&debug_mu);
}

void mp_log_cleaner_debug(const char *fmt, ...)
{
    pthread_mutex_lock(&debug_mu);
    void (*fn)(void *, const char *) = debug_fn;
    void *arg = debug_arg;
    if (debug_env < 0) {
        const char *v = getenv("MLPIPE_DEBUG");
        debug_env = v && v[0] && strcmp(v, "0") != 0;
    }
    int to_stderr = debug_env;
    pthread_mutex_unlock(&debug_mu);
    if (!fn && !to_stderr)
        return;
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (fn)
        fn(arg, msg);
    else
        fprintf(stderr, "mlpipe: debug: log cleaner: %s\n", msg);
}

/* ---- the checkpoint file ----------------------------------------------------- */

/* Larger than any valid checkpoint (a 249-character topic and three
 * 20-digit numbers); anything bigger is damaged. */
#define CK_MAX 512

static int ck_path(const mp_partition *p, char *out, size_t n)
{
    int w = snprintf(out, n, "%s/%s", p->dir, MP_LOG_CLEANER_CHECKPOINT);
    return w < 0 || (size_t)w >= n ? MP_EINVAL : 0;
}

/* The topic part of p->name ("topic-partition"); 0, or -1 if the name does
 * not end in "-<id>". */
static int topic_of(const mp_partition *p, char *out, size_t n)
{
    char suffix[16];
    snprintf(suffix, sizeof suffix, "-%d", (int)p->id);
    size_t nl = strlen(p->name), sl = strlen(suffix);
    if (nl <= sl || strcmp(p->name + nl - sl, suffix) || nl - sl >= n)
        return -1;
    memcpy(out, p->name, nl - sl);
    out[nl - sl] = '\0';
    return 0;
}

/* A decimal integer (optional '-') filling [s, end) exactly; 0 or -1. */
static int parse_i64(const char *s, const char *end, int64_t *out)
{
    int neg = s < end && *s == '-';
    const char *d = s + neg;
    if (d == end || end - d > 19)
        return -1;
    uint64_t v = 0;
    for (const char *q = d; q < end; q++) {
        if (*q < '0' || *q > '9')
            return -1;
        v = v * 10 + (uint64_t)(*q - '0');
    }
    if (v > (uint64_t)INT64_MAX)
        return -1;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return 0;
}

/* The next line of [*p, end) without its newline, in [*line, *line_end);
 * -1 when no newline is left. */
static int next_line(const char **p, const char *end, const char **line, const char **line_end)
{
    const char *nl = *p < end ? memchr(*p, '\n', (size_t)(end - *p)) : NULL;
    if (!nl)
        return -1;
    *line = *p;
    *line_end = nl;
    *p = nl + 1;
    return 0;
}

/* Parses a checkpoint file's bytes; NULL on success, else what is wrong. */
static const char *ck_parse(const char *text, size_t len, const char *topic, int32_t id,
                            mp_cleaner_checkpoint *out)
{
    if (len == 0)
        return "the file is empty";
    if (text[len - 1] != '\n')
        return "it does not end with a newline (cut short?)";
    if (memchr(text, '\0', len))
        return "it holds a NUL byte";
    const char *p = text, *end = text + len, *l, *le;
    int64_t version, count;
    if (next_line(&p, end, &l, &le) || parse_i64(l, le, &version) || version != 1)
        return "unknown version (expected 1)";
    if (next_line(&p, end, &l, &le) || parse_i64(l, le, &count) || count != 1)
        return "expected one entry";
    const char *entry, *entry_end;
    if (next_line(&p, end, &entry, &entry_end))
        return "the entry is missing";
    size_t body = (size_t)(p - text);
    if (next_line(&p, end, &l, &le) || le - l != 8 || p != end)
        return "expected a checksum line after the entry, and nothing else";
    char want[9];
    snprintf(want, sizeof want, "%08" PRIx32, mp_crc32c(0, text, body));
    if (memcmp(l, want, 8))
        return "the checksum does not match";
    /* topic partition offset tombstone-ts, one space apart */
    const char *f[4], *fe[4];
    size_t nf = 0;
    for (const char *q = entry; nf < 4;) {
        const char *sp = memchr(q, ' ', (size_t)(entry_end - q));
        f[nf] = q;
        fe[nf++] = sp ? sp : entry_end;
        if (!sp)
            break;
        q = sp + 1;
    }
    if (nf != 4 || fe[3] != entry_end)
        return "the entry needs 4 fields";
    size_t tl = strlen(topic);
    if ((size_t)(fe[0] - f[0]) != tl || memcmp(f[0], topic, tl))
        return "it names another topic";
    int64_t part, off, tomb;
    if (parse_i64(f[1], fe[1], &part) || part != id)
        return "it names another partition";
    if (parse_i64(f[2], fe[2], &off) || off < 0)
        return "the offset is not an integer >= 0";
    if (parse_i64(f[3], fe[3], &tomb) || tomb < -1)
        return "the tombstone timestamp is not an integer >= -1";
    out->first_dirty = off;
    out->oldest_tombstone_ts = tomb;
    return NULL;
}

int mp_log_cleaner_checkpoint_read(mp_partition *p, mp_cleaner_checkpoint *out)
{
    out->first_dirty = 0;
    out->oldest_tombstone_ts = -1;
    char path[PATH_MAX], topic[256];
    if (ck_path(p, path, sizeof path) || topic_of(p, topic, sizeof topic)) {
        mp_log_cleaner_debug("%s: no usable checkpoint path; first dirty offset 0", p->name);
        return 0;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        mp_log_cleaner_debug("%s: %s: %s; first dirty offset 0", p->name, path,
                             errno == ENOENT ? "no checkpoint yet" : strerror(errno));
        return 0;
    }
    char buf[CK_MAX + 1];
    size_t len = 0;
    const char *why = NULL;
    for (;;) {
        ssize_t r = read(fd, buf + len, sizeof buf - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            why = strerror(errno);
            break;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len == sizeof buf) {
            why = "the file is too large";
            break;
        }
    }
    close(fd);
    mp_cleaner_checkpoint ck;
    if (!why)
        why = ck_parse(buf, len, topic, p->id, &ck);
    if (why) {
        mp_log_cleaner_debug("%s: damaged checkpoint %s (%s); first dirty offset 0", p->name, path,
                             why);
        return 0;
    }
    *out = ck;
    return 1;
}

int mp_log_cleaner_checkpoint_write(mp_partition *p, const mp_cleaner_checkpoint *ck,
                                    mp_error *e)
{
    char path[PATH_MAX], tmp[PATH_MAX], topic[256], text[CK_MAX];
    if (ck_path(p, path, sizeof path) ||
        snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
        return mp_error_set(e, MP_EINVAL, "%s: checkpoint path too long", p->name);
    if (topic_of(p, topic, sizeof topic))
        return mp_error_set(e, MP_EINVAL, "%s: cannot tell the topic from the partition name",
                            p->name);
    int len = snprintf(text, sizeof text, "1\n1\n%s %d %" PRId64 " %" PRId64 "\n", topic,
                       (int)p->id, ck->first_dirty, ck->oldest_tombstone_ts);
    if (len > 0 && len + 9 < (int)sizeof text)
        len += snprintf(text + len, sizeof text - (size_t)len, "%08" PRIx32 "\n",
                        mp_crc32c(0, text, (size_t)len));
    else
        return mp_error_set(e, MP_EINVAL, "%s: checkpoint too long", p->name);
    /* Under the writer lock: a topic delete shuts the partition (under the
     * same lock) before it removes the directory, so either we write first
     * and the removal takes our file with it, or we see it shut. */
    int rc = 0;
    pthread_mutex_lock(&p->write_mu);
    pthread_mutex_lock(&p->state_mu);
    int shut = p->closed;
    pthread_mutex_unlock(&p->state_mu);
    if (shut)
        goto out;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        rc = mp_error_set(e, MP_EIO, "%s: cannot create a temporary file for %s: %s", p->name,
                          path, strerror(errno));
        goto out;
    }
    size_t done = 0;
    while (done < (size_t)len) {
        ssize_t w = write(fd, text + done, (size_t)len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            rc = mp_error_set(e, MP_EIO, "%s: cannot write %s: %s", p->name, tmp,
                              strerror(errno));
            break;
        }
        done += (size_t)w;
    }
    if (!rc && (fchmod(fd, 0644) != 0 || fsync(fd) != 0))
        rc = mp_error_set(e, MP_EIO, "%s: cannot flush %s: %s", p->name, tmp, strerror(errno));
    if (close(fd) != 0 && !rc)
        rc = mp_error_set(e, MP_EIO, "%s: cannot close %s: %s", p->name, tmp, strerror(errno));
    if (!rc && rename(tmp, path) != 0)
        rc = mp_error_set(e, MP_EIO, "%s: cannot rename %s into place: %s", p->name, path,
                          strerror(errno));
    if (rc)
        unlink(tmp);
    else
        mp_fsync_dir(p->dir);
out:
    pthread_mutex_unlock(&p->write_mu);
    return rc;
}

/* ---- scheduling ---------------------------------------------------------------- */

size_t mp_log_cleaner_cleanable(mp_segment *const *segs, size_t n,
                                const mp_log_topic_config *cfg, int64_t now_ms)
{
    size_t m = 0;
    while (m + 1 < n && segs[m]->max_ts <= now_ms - cfg->min_compaction_lag_ms)
        m++;
    return m;
}

int64_t mp_log_cleaner_valid_first_dirty(const mp_partition *p, mp_segment *const *segs, size_t n,
                                         int64_t first_dirty)
{
    int64_t start = segs[0]->base_offset, active = segs[n - 1]->base_offset;
    if (first_dirty < start)
        return start; /* retention removed the segments it pointed into */
    if (first_dirty > active) {
        /* A pass never cleans into the active segment, so this file does
         * not describe this log (a segment lost in a crash, files copied
         * around): clean from scratch. */
        mp_log_cleaner_debug("%s: checkpoint %" PRId64 " is past the active segment (base %" PRId64
                             "); first dirty offset %" PRId64,
                             p->name, first_dirty, active, start);
        return start;
    }
    return first_dirty;
}

/* The oldest record timestamp of closed segment s, as far as its first
 * batch tells (Kafka looks at the first batch too), or the file's mtime
 * when the batch carries none; -1 if unknown. */
static int64_t first_record_ts(const mp_segment *s)
{
    int64_t ts = -1;
    uint8_t hdr[MP_BATCH_HEADER_SIZE];
    mp_batch_info bi;
    if (s->size >= MP_BATCH_HEADER_SIZE && mp_segment_read(s, 0, hdr, sizeof hdr, NULL) == 0) {
        int rc = mp_batch_peek(hdr, sizeof hdr, &bi, NULL);
        if (rc == 0 || rc == MP_LOG_ETRUNCATED)
            ts = bi.attributes & MP_BATCH_ATTR_LOG_APPEND_TIME ? bi.max_timestamp
                                                               : bi.base_timestamp;
    }
    if (ts < 0) {
        struct stat st;
        if (fstat(s->fd, &st) == 0)
            ts = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
    }
    return ts;
}

int mp_log_cleaner_examine(mp_partition *p, const mp_log_topic_config *cfg, int64_t now_ms,
                           mp_cleaner_view *v, mp_error *e)
{
    memset(v, 0, sizeof *v);
    v->oldest_dirty_ts = -1;
    mp_segment **segs;
    size_t n;
    int rc = mp_partition_segments(p, &segs, &n, e);
    if (rc)
        return rc;
    size_t m = mp_log_cleaner_cleanable(segs, n, cfg, now_ms);
    v->clean_to = segs[m]->base_offset;
    if (m == 0) {
        /* Nothing a pass could clean: no need to read the checkpoint. */
        v->first_dirty = segs[0]->base_offset;
        mp_partition_segments_release(segs, n);
        return 0;
    }
    mp_cleaner_checkpoint ck;
    mp_log_cleaner_checkpoint_read(p, &ck);
    int64_t fd = mp_log_cleaner_valid_first_dirty(p, segs, n, ck.first_dirty);
    v->first_dirty = fd;
    v->oldest_tombstone_ts = ck.oldest_tombstone_ts;
    /* The max lag only matters when now - lag can be later than a record. */
    int lag_set = cfg->max_compaction_lag_ms < now_ms;
    for (size_t i = 0; i + 1 < n; i++) {
        const mp_segment *s = segs[i];
        if (s->next_offset <= fd && s->base_offset < fd) {
            v->clean_bytes += s->size;
        } else if (i < m) {
            v->dirty_bytes += s->size;
            if (lag_set && s->size > 0) {
                int64_t ts = first_record_ts(s);
                if (ts >= 0 && (v->oldest_dirty_ts < 0 || ts < v->oldest_dirty_ts))
                    v->oldest_dirty_ts = ts;
            }
        }
    }
    mp_partition_segments_release(segs, n);
    uint64_t total = v->clean_bytes + v->dirty_bytes;
    v->dirty_ratio = total ? (double)v->dirty_bytes / (double)total : 0;
    v->due_ratio = v->dirty_bytes > 0 && v->dirty_ratio > cfg->min_cleanable_dirty_ratio;
    v->due_max_lag = v->dirty_bytes > 0 && v->oldest_dirty_ts >= 0 &&
                     v->oldest_dirty_ts < now_ms - cfg->max_compaction_lag_ms;
    /* The same test the pass applies to drop a tombstone, so a pass this
     * starts does drop it (no pass is started again and again). */
    v->due_tombstone = v->oldest_tombstone_ts >= 0 &&
                       v->oldest_tombstone_ts < now_ms - cfg->delete_retention_ms;
    return 0;
}

int mp_log_cleaner_maybe_clean(mp_partition *p, const mp_log_topic_config *cfg, int64_t now_ms,
                               mp_error *e)
{
    if (!(cfg->cleanup_policy & MP_LOG_CLEANUP_COMPACT))
        return 0;
    mp_cleaner_view v;
    int rc = mp_log_cleaner_examine(p, cfg, now_ms, &v, e);
    if (rc)
        return rc;
    if (!v.due_ratio && !v.due_max_lag && !v.due_tombstone)
        return 0;
    mp_log_cleaner_debug("%s: cleaning from offset %" PRId64 " (dirty %" PRIu64 " of %" PRIu64
                         " bytes, ratio %.3f%s%s%s)",
                         p->name, v.first_dirty, v.dirty_bytes, v.clean_bytes + v.dirty_bytes,
                         v.dirty_ratio, v.due_ratio ? ", above min.cleanable.dirty.ratio" : "",
                         v.due_max_lag ? ", dirty records older than max.compaction.lag.ms" : "",
                         v.due_tombstone ? ", a kept tombstone passed delete.retention.ms" : "");
    rc = mp_log_compact_partition(p, cfg, now_ms, e);
    return rc ? rc : 1;
}
