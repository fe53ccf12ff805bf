/* When the background thread compacts a partition (see log_cleaner.h).
 *
 * Kafka cleans the log with the highest dirty ratio once it passes
 * min.cleanable.dirty.ratio, "dirty" being what was written since the
 * cleaner's checkpoint. Here the checkpoint (the first offset the last pass
 * did not clean) lives in memory only, keyed by partition directory: after
 * the log is opened every compacted partition counts as dirty once, so the
 * first background pass reads it all (and rewrites nothing if it was
 * already clean). Tombstones still within delete.retention.ms at a pass are
 * dropped by a later pass, which happens when enough new data makes the
 * partition dirty again (or on demand with mp_log_compact).
 * max.compaction.lag.ms is not enforced. */
#include "log/log_cleaner.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log/log_compact.h"

typedef struct clean_point {
    char *dir;
    int64_t clean_to;
} clean_point;

static pthread_mutex_t points_mu = PTHREAD_MUTEX_INITIALIZER;
static clean_point *points;
static size_t npoints, points_cap;

static long point_find(const char *dir)
{
    for (size_t i = 0; i < npoints; i++)
        if (!strcmp(points[i].dir, dir))
            return (long)i;
    return -1;
}

void mp_log_cleaner_note(const char *dir, int64_t clean_to)
{
    pthread_mutex_lock(&points_mu);
    long i = point_find(dir);
    if (i >= 0) {
        points[i].clean_to = clean_to;
    } else {
        /* Out of memory only means the partition looks dirty next time. */
        if (npoints == points_cap) {
            size_t nc = points_cap ? points_cap * 2 : 16;
            clean_point *v = realloc(points, nc * sizeof *v);
            if (v) {
                points = v;
                points_cap = nc;
            }
        }
        char *d = npoints < points_cap ? strdup(dir) : NULL;
        if (d) {
            points[npoints].dir = d;
            points[npoints].clean_to = clean_to;
            npoints++;
        }
    }
    pthread_mutex_unlock(&points_mu);
}

static int64_t point_get(const char *dir)
{
    pthread_mutex_lock(&points_mu);
    long i = point_find(dir);
    int64_t v = i >= 0 ? points[i].clean_to : -1;
    pthread_mutex_unlock(&points_mu);
    return v;
}

int mp_log_cleaner_maybe_clean(mp_partition *p, const mp_log_topic_config *cfg, int64_t now_ms,
                               mp_error *e)
{
    if (!(cfg->cleanup_policy & MP_LOG_CLEANUP_COMPACT))
        return 0;
    mp_segment **segs;
    size_t n;
    int rc = mp_partition_segments(p, &segs, &n, e);
    if (rc)
        return rc;
    int64_t clean_to = point_get(p->dir);
    uint64_t dirty = 0, total = 0;
    /* The cleanable prefix, as the compactor computes it. */
    for (size_t i = 0; i + 1 < n && segs[i]->max_ts <= now_ms - cfg->min_compaction_lag_ms; i++) {
        total += segs[i]->size;
        if (segs[i]->base_offset >= clean_to)
            dirty += segs[i]->size;
    }
    mp_partition_segments_release(segs, n);
    if (dirty == 0 || (double)dirty < cfg->min_cleanable_dirty_ratio * (double)total)
        return 0;
    rc = mp_log_compact_partition(p, cfg, now_ms, e);
    return rc ? rc : 1;
}
