#include "log/log_partition.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/fileio.h"

#define MANIFEST "replace.json"
#define CLEANED ".cleaned"
/* Header window read while skipping to the requested offset. */
#define SKIP_CHUNK ((size_t)16 << 10)

static void lock(pthread_mutex_t *m) { pthread_mutex_lock(m); }
static void unlock(pthread_mutex_t *m) { pthread_mutex_unlock(m); }

/* ---- opening ------------------------------------------------------------- */

/* 1 if name is exactly 20 digits followed by ext. */
static int parse_base(const char *name, const char *ext, int64_t *base)
{
    size_t el = strlen(ext);
    if (strlen(name) != 20 + el || strcmp(name + 20, ext))
        return 0;
    int64_t v = 0;
    for (int i = 0; i < 20; i++) {
        if (name[i] < '0' || name[i] > '9')
            return 0;
        if (v > (INT64_MAX - (name[i] - '0')) / 10)
            return 0;
        v = v * 10 + (name[i] - '0');
    }
    *base = v;
    return 1;
}

static int path_of(char *out, size_t n, const char *dir, const char *file)
{
    int w = snprintf(out, n, "%s/%s", dir, file);
    return w < 0 || (size_t)w >= n ? MP_EINVAL : 0;
}

static int has_base(const int64_t *v, size_t n, int64_t b)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == b)
            return 1;
    return 0;
}

static int json_bases(json_t *arr, int64_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!json_is_array(arr))
        return MP_EFORMAT;
    size_t m = json_array_size(arr);
    int64_t *v = malloc((m ? m : 1) * sizeof *v);
    if (!v)
        return MP_ENOMEM;
    for (size_t i = 0; i < m; i++) {
        json_t *x = json_array_get(arr, i);
        if (!json_is_integer(x) || json_integer_value(x) < 0) {
            free(v);
            return MP_EFORMAT;
        }
        v[i] = json_integer_value(x);
    }
    *out = v;
    *n = m;
    return 0;
}

/* Completes a segment replacement whose manifest was committed (see
 * mp_partition_replace). Idempotent: each step checks what is left. */
static int finish_replace(const char *dir, const char *name, mp_error *e)
{
    char mpath[PATH_MAX];
    if (path_of(mpath, sizeof mpath, dir, MANIFEST))
        return mp_error_set(e, MP_EINVAL, "%s: path too long", dir);
    if (access(mpath, F_OK) != 0)
        return 0;
    json_error_t jerr;
    json_t *root = json_load_file(mpath, 0, &jerr);
    int64_t *old = NULL, *fresh = NULL;
    size_t nold = 0, nfresh = 0;
    int rc = root ? json_bases(json_object_get(root, "old"), &old, &nold) : MP_EFORMAT;
    if (!rc)
        rc = json_bases(json_object_get(root, "new"), &fresh, &nfresh);
    json_decref(root);
    if (rc) {
        free(old);
        return mp_error_set(e, rc, "%s: %s: %s", name, mpath,
                            rc == MP_ENOMEM ? "out of memory" : "unreadable replacement manifest");
    }
    static const char *const exts[] = {".index", ".timeindex", ".log"};
    char from[PATH_MAX], to[PATH_MAX];
    for (size_t i = 0; i < nfresh && !rc; i++) {
        if (mp_segment_path(from, sizeof from, dir, fresh[i], ".log", CLEANED))
            rc = MP_EINVAL;
        else if (access(from, F_OK) != 0)
            continue; /* already in place */
        for (int k = 0; k < 3 && !rc; k++) {
            if (mp_segment_path(from, sizeof from, dir, fresh[i], exts[k], CLEANED) ||
                mp_segment_path(to, sizeof to, dir, fresh[i], exts[k], ""))
                rc = MP_EINVAL;
            else if (rename(from, to) != 0 && errno != ENOENT)
                rc = mp_error_set(e, MP_EIO, "%s: cannot rename %s: %s", name, from,
                                  strerror(errno));
        }
    }
    for (size_t i = 0; i < nold && !rc; i++) {
        if (has_base(fresh, nfresh, old[i]))
            continue;
        for (int k = 2; k >= 0; k--)
            if (mp_segment_path(to, sizeof to, dir, old[i], exts[k], "") == 0)
                unlink(to);
    }
    free(old);
    free(fresh);
    if (rc)
        return rc == MP_EINVAL ? mp_error_set(e, rc, "%s: path too long", dir) : rc;
    mp_fsync_dir(dir);
    if (unlink(mpath) != 0)
        return mp_error_set(e, MP_EIO, "%s: cannot remove %s: %s", name, mpath, strerror(errno));
    mp_fsync_dir(dir);
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* Lists the segment base offsets in dir, removing what an interrupted
 * operation left: uncommitted compaction output, temporary files, index
 * files whose log is gone. Files of other kinds are left alone. */
static int list_segments(const char *dir, const char *name, int64_t **bases, size_t *n,
                         mp_error *e)
{
    *bases = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return mp_error_set(e, errno == ENOENT ? MP_ENOTFOUND : MP_EIO, "%s: %s: %s", name, dir,
                            strerror(errno));
    size_t cap = 0, ni = 0, icap = 0;
    int64_t *v = NULL, *idx = NULL;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && !rc) {
        const char *f = de->d_name;
        int64_t b;
        char path[PATH_MAX];
        size_t fl = strlen(f);
        int leftover = strstr(f, ".tmp.") != NULL ||
                       (fl > strlen(CLEANED) && !strcmp(f + fl - strlen(CLEANED), CLEANED));
        if (leftover) {
            if (path_of(path, sizeof path, dir, f) == 0)
                unlink(path);
        } else if (parse_base(f, ".log", &b)) {
            if (*n == cap) {
                size_t c = cap ? cap * 2 : 16;
                int64_t *p = realloc(v, c * sizeof *p);
                if (!p) {
                    rc = MP_ENOMEM;
                    break;
                }
                v = p;
                cap = c;
            }
            v[(*n)++] = b;
        } else if (parse_base(f, ".index", &b) || parse_base(f, ".timeindex", &b)) {
            if (ni == icap) {
                size_t c = icap ? icap * 2 : 16;
                int64_t *p = realloc(idx, c * sizeof *p);
                if (!p) {
                    rc = MP_ENOMEM;
                    break;
                }
                idx = p;
                icap = c;
            }
            idx[ni++] = b;
        }
    }
    closedir(d);
    if (rc) {
        free(v);
        free(idx);
        return mp_error_set(e, rc, "%s: out of memory", name);
    }
    for (size_t i = 0; i < ni; i++) {
        if (has_base(v, *n, idx[i]))
            continue;
        char path[PATH_MAX];
        if (mp_segment_path(path, sizeof path, dir, idx[i], ".index", "") == 0)
            unlink(path);
        if (mp_segment_path(path, sizeof path, dir, idx[i], ".timeindex", "") == 0)
            unlink(path);
    }
    free(idx);
    if (*n)
        qsort(v, *n, sizeof *v, cmp_i64);
    *bases = v;
    return 0;
}

static mp_partition *part_alloc(const char *dir, const char *name, int32_t id)
{
    mp_partition *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->dir = strdup(dir);
    p->name = strdup(name);
    if (!p->dir || !p->name) {
        free(p->dir);
        free(p->name);
        free(p);
        return NULL;
    }
    p->id = id;
    p->map_reads = 1;
    pthread_mutex_init(&p->write_mu, NULL);
    pthread_mutex_init(&p->state_mu, NULL);
    return p;
}

void mp_partition_free(mp_partition *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nsegs; i++)
        mp_segment_unref(p->segs[i]);
    free(p->segs);
    mp_buf_free(&p->enc);
    free(p->chunk);
    pthread_mutex_destroy(&p->write_mu);
    pthread_mutex_destroy(&p->state_mu);
    free(p->dir);
    free(p->name);
    free(p);
}

static int push_segment(mp_partition *p, mp_segment *s)
{
    if (p->nsegs == p->cap) {
        size_t c = p->cap ? p->cap * 2 : 8;
        mp_segment **q = realloc(p->segs, c * sizeof *q);
        if (!q)
            return MP_ENOMEM;
        p->segs = q;
        p->cap = c;
    }
    p->segs[p->nsegs++] = s;
    return 0;
}

int mp_partition_create_dir(const char *dir, mp_error *e)
{
    int rc = mp_mkdirs(dir, e);
    if (rc)
        return rc;
    mp_segment *s;
    rc = mp_segment_create(dir, 0, "", &s, e);
    if (rc)
        return rc;
    mp_segment_unref(s);
    mp_fsync_dir(dir);
    return 0;
}

int mp_partition_open(const char *dir, const char *name, int32_t id, int clean,
                      int32_t index_interval, void (*notify)(void *), void *notify_arg,
                      mp_partition **out, mp_error *e)
{
    *out = NULL;
    mp_partition *p = part_alloc(dir, name, id);
    if (!p)
        return mp_error_set(e, MP_ENOMEM, "%s: out of memory", name);
    p->notify = notify;
    p->notify_arg = notify_arg;
    int64_t *bases = NULL;
    size_t n = 0;
    int rc = finish_replace(dir, name, e);
    if (!rc)
        rc = list_segments(dir, name, &bases, &n, e);
    if (rc)
        goto fail;
    if (n == 0) {
        /* Every segment gone (never happens through this code, which
         * always keeps the active one): start empty rather than refuse. */
        mp_segment *s;
        if ((rc = mp_segment_create(dir, 0, "", &s, e)))
            goto fail;
        if ((rc = push_segment(p, s))) {
            mp_segment_unref(s);
            rc = mp_error_set(e, MP_ENOMEM, "%s: out of memory", name);
            goto fail;
        }
        mp_fsync_dir(dir);
    }
    for (size_t i = 0; i < n; i++) {
        int last = i + 1 == n;
        int mode = !last ? MP_SEG_CLOSED : clean ? MP_SEG_RECOVER_TAIL : MP_SEG_RECOVER;
        mp_segment *s;
        int64_t cut = 0;
        int rebuilt = 0;
        if ((rc = mp_segment_open(dir, bases[i], mode, index_interval, name, &s, &cut, &rebuilt,
                                  e)))
            goto fail;
        p->truncated_bytes += cut;
        if ((rc = push_segment(p, s))) {
            mp_segment_unref(s);
            rc = mp_error_set(e, MP_ENOMEM, "%s: out of memory", name);
            goto fail;
        }
        if (!last) {
            mp_segment_close_index(s);
            /* Persist a repair so the next open does not redo it. */
            if (rebuilt && (rc = mp_segment_write_indexes(s, e)))
                goto fail;
        }
    }
    for (size_t i = 0; i + 1 < p->nsegs; i++)
        if (p->segs[i]->next_offset > p->segs[i + 1]->base_offset) {
            rc = mp_error_set(e, MP_EFORMAT,
                              "%s: segment %020" PRId64 " holds offsets up to %" PRId64
                              ", past the next segment's base %020" PRId64,
                              name, p->segs[i]->base_offset, p->segs[i]->next_offset - 1,
                              p->segs[i + 1]->base_offset);
            goto fail;
        }
    p->log_end = p->segs[p->nsegs - 1]->next_offset;
    free(bases);
    *out = p;
    return 0;
fail:
    free(bases);
    mp_partition_free(p);
    return rc;
}

int mp_partition_close(mp_partition *p, mp_error *e)
{
    if (!p)
        return 0;
    if (p->read_only) {
        mp_partition_free(p); /* nothing of ours to seal */
        return 0;
    }
    int rc = 0;
    lock(&p->write_mu);
    if (!p->closed && p->nsegs) {
        mp_segment *act = p->segs[p->nsegs - 1];
        lock(&p->state_mu);
        mp_segment_close_index(act);
        unlock(&p->state_mu);
        mp_segment_trim(act);
        rc = mp_segment_sync(act, e);
        if (!rc)
            rc = mp_segment_write_indexes(act, e);
        if (rc)
            mp_error_prefix(e, "%s", p->name);
    }
    unlock(&p->write_mu);
    mp_partition_free(p);
    return rc;
}

void mp_partition_shut(mp_partition *p)
{
    lock(&p->write_mu);
    lock(&p->state_mu);
    p->closed = 1;
    unlock(&p->state_mu);
    unlock(&p->write_mu);
}

/* ---- a reader's view ------------------------------------------------------
 * Another process owns the directory and writes it while we read: we list,
 * open and walk its files, and change nothing. */

/* How many times a listing or an opening is retried when the writer
 * changes the directory under it. */
#define READER_RETRIES 50
/* Batches walked per lock round when catching up with the writer. */
#define READER_SCAN_BATCH 256
/* A listing is repeated at least this often while the reader looks. */
#define READER_RESCAN_MS 1000

static int64_t mono_ms(void) { return (int64_t)(mp_clock_now() * 1000.0); }

typedef struct seg_entry {
    int64_t base;
    int cleaned; /* the file is <base>.log.cleaned */
    uint64_t ino;
} seg_entry;

static int cmp_entry(const void *a, const void *b)
{
    const seg_entry *x = a, *y = b;
    return x->base < y->base ? -1 : x->base > y->base;
}

/* The replacement manifest's text in *text (NULL when there is none). */
static int read_manifest(const char *dir, const char *name, char **text, mp_error *e)
{
    *text = NULL;
    char path[PATH_MAX];
    if (path_of(path, sizeof path, dir, MANIFEST))
        return mp_error_set(e, MP_EINVAL, "%s: path too long", dir);
    if (access(path, F_OK) != 0)
        return errno == ENOENT ? 0 : mp_error_set(e, MP_EIO, "%s: %s: %s", name, path,
                                                   strerror(errno));
    size_t len;
    mp_error why;
    int rc = mp_read_file_raw(path, text, &len, &why);
    if (rc == MP_ENOTFOUND || (rc && access(path, F_OK) != 0 && errno == ENOENT)) {
        *text = NULL; /* removed meanwhile: the replacement is done */
        return 0;
    }
    if (rc)
        return mp_error_set(e, rc, "%s: %s", name, why.msg);
    return 1;
}

/* The .log and .log.cleaned files in dir. */
static int list_files(const char *dir, const char *name, seg_entry **out, size_t *n, mp_error *e)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return mp_error_set(e, errno == ENOENT ? MP_ENOTFOUND : MP_EIO, "%s: %s: %s", name, dir,
                            strerror(errno));
    seg_entry *v = NULL;
    size_t cap = 0;
    int rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        int64_t b;
        int cleaned = 0;
        if (!parse_base(de->d_name, ".log", &b)) {
            if (!parse_base(de->d_name, ".log" CLEANED, &b))
                continue;
            cleaned = 1;
        }
        if (*n == cap) {
            size_t c = cap ? cap * 2 : 16;
            seg_entry *q = realloc(v, c * sizeof *q);
            if (!q) {
                rc = mp_error_set(e, MP_ENOMEM, "%s: out of memory", name);
                break;
            }
            v = q;
            cap = c;
        }
        v[(*n)++] = (seg_entry){b, cleaned, (uint64_t)de->d_ino};
    }
    closedir(d);
    if (rc) {
        free(v);
        *n = 0;
        return rc;
    }
    if (*n)
        qsort(v, *n, sizeof *v, cmp_entry);
    *out = v;
    return 0;
}

static int same_entries(const seg_entry *a, size_t na, const seg_entry *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (a[i].base != b[i].base || a[i].cleaned != b[i].cleaned || a[i].ino != b[i].ino)
            return 0;
    return 1;
}

static int has_entry(const seg_entry *v, size_t n, int64_t base, int cleaned)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].base == base && v[i].cleaned == cleaned)
            return 1;
    return 0;
}

/* Applies a committed replacement manifest to a listing: the old segments
 * it removes are left out, its new ones are taken from their .cleaned
 * files while those are not renamed yet -- what the writer's next open
 * would make of the directory (finish_replace). */
static int apply_manifest(const char *text, const char *name, seg_entry *v, size_t *n, mp_error *e)
{
    json_error_t jerr;
    json_t *root = json_loads(text, 0, &jerr);
    int64_t *old = NULL, *fresh = NULL;
    size_t nold = 0, nfresh = 0;
    int rc = root ? json_bases(json_object_get(root, "old"), &old, &nold) : MP_EFORMAT;
    if (!rc)
        rc = json_bases(json_object_get(root, "new"), &fresh, &nfresh);
    json_decref(root);
    if (rc) {
        free(old);
        return mp_error_set(e, rc, "%s: %s", name,
                            rc == MP_ENOMEM ? "out of memory" : "unreadable replacement manifest");
    }
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        seg_entry x = v[i];
        int is_new = has_base(fresh, nfresh, x.base);
        if (x.cleaned ? !is_new : (is_new ? has_entry(v, *n, x.base, 1)
                                          : has_base(old, nold, x.base)))
            continue;
        v[k++] = x;
    }
    *n = k;
    free(old);
    free(fresh);
    return 0;
}

/* The segments the directory holds, as a consistent listing: repeated
 * while a replacement (compaction) is seen half done without its
 * manifest. */
static int reader_list(mp_partition *p, seg_entry **out, size_t *n, mp_error *e)
{
    *out = NULL;
    *n = 0;
    for (int attempt = 0; attempt < READER_RETRIES; attempt++) {
        char *m1 = NULL, *m2 = NULL;
        seg_entry *v = NULL, *v2 = NULL;
        size_t nv = 0, nv2 = 0;
        int rc = read_manifest(p->dir, p->name, &m1, e);
        if (rc >= 0)
            rc = list_files(p->dir, p->name, &v, &nv, e);
        if (rc >= 0)
            rc = read_manifest(p->dir, p->name, &m2, e);
        if (rc < 0) {
            free(m1);
            free(m2);
            free(v);
            return rc;
        }
        int stable = (!m1 && !m2) || (m1 && m2 && !strcmp(m1, m2));
        if (stable && m2) {
            rc = apply_manifest(m2, p->name, v, &nv, e);
        } else if (stable) {
            int cleaned = 0;
            for (size_t i = 0; i < nv; i++)
                cleaned |= v[i].cleaned;
            if (cleaned) {
                /* Output of a compaction not committed yet -- or one that
                 * was committed and finished while we listed, so that the
                 * listing may have caught it half way: list again. */
                rc = list_files(p->dir, p->name, &v2, &nv2, e);
                stable = rc == 0 && same_entries(v, nv, v2, nv2);
                free(v2);
                size_t k = 0;
                for (size_t i = 0; i < nv; i++)
                    if (!v[i].cleaned)
                        v[k++] = v[i];
                nv = k;
            }
        }
        free(m1);
        free(m2);
        if (rc < 0) {
            free(v);
            return rc;
        }
        if (stable) {
            *out = v;
            *n = nv;
            return 0;
        }
        free(v);
        struct timespec ts = {0, 1000000}; /* let the writer finish the step */
        nanosleep(&ts, NULL);
    }
    return mp_error_set(e, MP_EIO, "%s: the segment files keep changing under the reader", p->name);
}

/* Publishes the whole batches the writer appended to s since the last
 * look; *grew says whether there were any. With `final` (the writer has
 * moved on to a later segment, so s is complete) whatever follows the last
 * good batch is damage: it becomes visible so that a fetch reaching it
 * reports it, as for any closed segment, and s stops being read as a
 * growing file. */
static int reader_extend(mp_partition *p, mp_segment *s, int final, int *grew, mp_error *e)
{
    mp_batch_info infos[READER_SCAN_BATCH];
    size_t n;
    uint64_t file_end = 0;
    int rc;
    do {
        if ((rc = mp_segment_scan_tail(s, infos, READER_SCAN_BATCH, &n, &file_end, e))) {
            mp_error_prefix(e, "%s", p->name);
            return rc;
        }
        if (n) {
            lock(&p->state_mu);
            for (size_t i = 0; i < n; i++)
                mp_segment_publish(s, &infos[i], p->index_interval);
            if (p->nsegs && p->segs[p->nsegs - 1] == s)
                p->log_end = s->next_offset;
            unlock(&p->state_mu);
            *grew = 1;
        }
    } while (n == READER_SCAN_BATCH);
    if (final) {
        lock(&p->state_mu);
        if (file_end > s->size)
            s->size = file_end;
        unlock(&p->state_mu);
        atomic_store(&s->growing, 0);
    }
    return 0;
}

/* The segment list the directory holds now. Segments of `known` that are
 * still there (same base offset, same file) are reused, with a reference;
 * the others are opened. Known segments that are no longer the last are
 * extended to their end first. */
static int reader_build(mp_partition *p, mp_segment **known, size_t nknown, mp_segment ***out,
                        size_t *nout, mp_error *e)
{
    *out = NULL;
    *nout = 0;
    for (int attempt = 0; attempt < READER_RETRIES; attempt++) {
        seg_entry *ent;
        size_t n;
        int rc = reader_list(p, &ent, &n, e);
        if (rc)
            return rc;
        if (n == 0) {
            free(ent);
            return mp_error_set(e, MP_ENOTFOUND, "%s: %s holds no segment", p->name, p->dir);
        }
        mp_segment **v = calloc(n, sizeof *v);
        if (!v) {
            free(ent);
            return mp_error_set(e, MP_ENOMEM, "%s: out of memory", p->name);
        }
        size_t k = 0;
        int retry = 0;
        for (; k < n && !rc; k++) {
            int last = k + 1 == n;
            for (size_t j = 0; j < nknown; j++) {
                if (known[j]->base_offset != ent[k].base)
                    continue;
                /* The same file, or one a compaction put in its place?
                 * (stat, not the listing's d_ino, which overlay file
                 * systems report differently.) */
                char path[PATH_MAX];
                struct stat st;
                if (mp_segment_path(path, sizeof path, p->dir, ent[k].base, ".log",
                                    ent[k].cleaned ? CLEANED : "") == 0 &&
                    stat(path, &st) == 0 && (uint64_t)st.st_ino == known[j]->ino &&
                    (uint64_t)st.st_dev == known[j]->dev) {
                    v[k] = known[j];
                    mp_segment_ref(v[k]);
                }
                break;
            }
            if (v[k]) {
                if (!last && atomic_load(&v[k]->growing)) {
                    int grew = 0;
                    rc = reader_extend(p, v[k], 1, &grew, e);
                }
                continue;
            }
            rc = mp_segment_open_reader(p->dir, ent[k].base, ent[k].cleaned ? CLEANED : "",
                                        last ? MP_SEG_READ_TAIL : MP_SEG_READ_CLOSED,
                                        p->index_interval, p->name, &v[k], e);
            if (rc == MP_ENOTFOUND) {
                retry = 1; /* deleted since the listing */
                rc = 0;
                break;
            }
        }
        free(ent);
        for (size_t i = 0; !rc && !retry && i + 1 < n; i++)
            if (v[i]->next_offset > v[i + 1]->base_offset)
                rc = mp_error_set(e, MP_EFORMAT,
                                  "%s: segment %020" PRId64 " holds offsets up to %" PRId64
                                  ", past the next segment's base %020" PRId64,
                                  p->name, v[i]->base_offset, v[i]->next_offset - 1,
                                  v[i + 1]->base_offset);
        if (rc || retry) {
            for (size_t i = 0; i < n; i++)
                mp_segment_unref(v[i]);
            free(v);
            if (rc)
                return rc;
            continue;
        }
        *out = v;
        *nout = n;
        return 0;
    }
    return mp_error_set(e, MP_EIO, "%s: the segment files keep changing under the reader", p->name);
}

/* 1 if the partition's directory is still the one opened. */
static int reader_dir_same(mp_partition *p)
{
    struct stat st;
    return stat(p->dir, &st) == 0 && (uint64_t)st.st_dev == p->dir_dev &&
           (uint64_t)st.st_ino == p->dir_ino;
}

int mp_partition_open_reader(const char *dir, const char *name, int32_t id,
                             int32_t index_interval, mp_partition **out, mp_error *e)
{
    *out = NULL;
    mp_partition *p = part_alloc(dir, name, id);
    if (!p)
        return mp_error_set(e, MP_ENOMEM, "%s: out of memory", name);
    p->read_only = 1;
    p->index_interval = index_interval;
    struct stat st;
    if (stat(dir, &st) != 0) {
        int rc = mp_error_set(e, errno == ENOENT ? MP_ENOTFOUND : MP_EIO, "%s: %s: %s", name, dir,
                              strerror(errno));
        mp_partition_free(p);
        return rc;
    }
    p->dir_dev = (uint64_t)st.st_dev;
    p->dir_ino = (uint64_t)st.st_ino;
    int rc = reader_build(p, NULL, 0, &p->segs, &p->nsegs, e);
    if (rc) {
        mp_partition_free(p);
        return rc;
    }
    p->cap = p->nsegs;
    p->log_end = p->segs[p->nsegs - 1]->next_offset;
    p->last_rescan_ms = mono_ms();
    *out = p;
    return 0;
}

static int reader_gone(mp_partition *p, mp_error *e)
{
    lock(&p->state_mu);
    p->closed = 1;
    unlock(&p->state_mu);
    return mp_error_set(e, MP_ENOTFOUND, "%s: the topic was deleted", p->name);
}

int mp_partition_refresh(mp_partition *p, mp_error *e)
{
    if (!p->read_only)
        return 0;
    lock(&p->write_mu);
    int rc = 0;
    mp_segment **known = NULL, **v = NULL;
    size_t nknown = 0, nv = 0;
    if (p->closed || !reader_dir_same(p)) {
        rc = reader_gone(p, e);
        goto out;
    }
    lock(&p->state_mu);
    mp_segment *last = p->segs[p->nsegs - 1];
    mp_segment_ref(last);
    unlock(&p->state_mu);
    int grew = 0;
    rc = reader_extend(p, last, 0, &grew, e);
    int rescan = 0;
    int64_t now = mono_ms();
    if (!rc) {
        /* A roll names the new segment by the log end offset. */
        char path[PATH_MAX];
        rescan = now - p->last_rescan_ms >= READER_RESCAN_MS ||
                 (mp_segment_path(path, sizeof path, p->dir, last->next_offset, ".log", "") == 0 &&
                  access(path, F_OK) == 0);
    }
    if (!rc && rescan && (rc = mp_partition_segments(p, &known, &nknown, e)) == 0) {
        rc = reader_build(p, known, nknown, &v, &nv, e);
        if (rc == MP_ENOTFOUND && !reader_dir_same(p))
            rc = reader_gone(p, e);
    }
    if (!rc && rescan) {
        /* The active segment we knew, deleted since (retention right after
         * a roll), may still hold records not yet read: keep it for this
         * round if nothing lies between it and the next segment and no
         * other segment covers its offsets (a compaction that merged it
         * away). */
        int present = 0;
        size_t at = nv;
        for (size_t i = 0; i < nv; i++) {
            present |= v[i] == last;
            if (at == nv && v[i]->base_offset > last->base_offset)
                at = i;
        }
        if (!present) {
            int grew2 = 0;
            rc = reader_extend(p, last, 1, &grew2, e);
            grew |= grew2;
            int follows = at < nv && v[at]->base_offset == last->next_offset;
            int covered = at > 0 && (v[at - 1]->next_offset > last->base_offset ||
                                     v[at - 1]->base_offset == last->base_offset);
            mp_segment **w = grew && follows && !covered && !rc ? realloc(v, (nv + 1) * sizeof *w)
                                                                  : NULL;
            if (w) {
                memmove(w + at + 1, w + at, (nv - at) * sizeof *w);
                w[at] = last;
                mp_segment_ref(last);
                v = w;
                nv++;
            }
        }
    }
    if (!rc && rescan) {
        lock(&p->state_mu);
        mp_segment **old = p->segs;
        size_t nold = p->nsegs;
        p->segs = v;
        p->nsegs = nv;
        p->cap = nv;
        p->log_end = v[nv - 1]->next_offset;
        unlock(&p->state_mu);
        p->last_rescan_ms = now;
        mp_partition_segments_release(old, nold);
        v = NULL;
        nv = 0;
    }
    mp_segment_unref(last);
out:
    if (v)
        mp_partition_segments_release(v, nv);
    if (known)
        mp_partition_segments_release(known, nknown);
    unlock(&p->write_mu);
    return rc;
}

/* ---- appending ----------------------------------------------------------- */

/* An upper bound on a record's encoded size (the varints at their widest). */
static size_t record_bound(const mp_record *r)
{
    size_t n = 5 + 1 + 10 + 5 + 5 + 5 + 5;
    if (r->key_len > 0)
        n += (size_t)r->key_len;
    if (r->value_len > 0)
        n += (size_t)r->value_len;
    for (size_t i = 0; i < r->nheaders; i++) {
        n += 10 + r->headers[i].key_len;
        if (r->headers[i].value_len > 0)
            n += (size_t)r->headers[i].value_len;
    }
    return n;
}

/* Closes the active segment (closing index entry, fsync, index files) and
 * starts a new one at the log end. Caller holds write_mu. */
static int roll(mp_partition *p, mp_error *e)
{
    mp_segment *act = p->segs[p->nsegs - 1];
    lock(&p->state_mu);
    mp_segment_close_index(act);
    unlock(&p->state_mu);
    mp_segment_trim(act);
    int rc = mp_segment_sync(act, e);
    if (!rc)
        rc = mp_segment_write_indexes(act, e);
    if (rc)
        return rc;
    mp_segment *ns;
    if ((rc = mp_segment_create(p->dir, p->log_end, "", &ns, e)))
        return rc;
    if (mp_fsync_dir(p->dir)) {
        mp_segment_remove_files(ns);
        mp_segment_unref(ns);
        return mp_error_set(e, MP_EIO, "%s: cannot fsync %s", p->name, p->dir);
    }
    lock(&p->state_mu);
    rc = push_segment(p, ns);
    unlock(&p->state_mu);
    if (rc) {
        mp_segment_remove_files(ns);
        mp_segment_unref(ns);
        return mp_error_set(e, MP_ENOMEM, "%s: out of memory", p->name);
    }
    /* The old segment was just fsynced; the new one holds nothing. */
    p->unflushed = 0;
    p->first_unflushed_ms = 0;
    return 0;
}

int mp_partition_append(mp_partition *p, const mp_record *recs, size_t n,
                        const mp_log_topic_config *cfg, int64_t *base, size_t *written,
                        mp_error *e)
{
    *written = 0;
    *base = -1;
    if (p->read_only)
        return mp_error_set(e, MP_EINVAL, "%s: this process only reads the partition", p->name);
    lock(&p->write_mu);
    if (p->closed) {
        unlock(&p->write_mu);
        return mp_error_set(e, MP_ENOTFOUND, "%s: the topic was deleted", p->name);
    }
    size_t limit = (size_t)cfg->max_message_bytes < (size_t)cfg->segment_bytes
                       ? (size_t)cfg->max_message_bytes
                       : (size_t)cfg->segment_bytes;
    mp_compression comp =
        cfg->compression < 0 ? MP_COMPRESS_NONE : (mp_compression)cfg->compression;
    int rc = 0;
    size_t i = 0;
    while (i < n) {
        size_t j = i, bound = MP_BATCH_HEADER_SIZE;
        while (j < n) {
            size_t r = record_bound(&recs[j]);
            if (j > i && bound + r > limit)
                break;
            bound += r;
            j++;
        }
        for (;;) {
            mp_buf_reset(&p->enc);
            if ((rc = mp_batch_encode(&p->enc, p->log_end, recs + i, j - i, comp, e))) {
                mp_error_prefix(e, "%s", p->name);
                goto out;
            }
            if (p->enc.len <= limit)
                break;
            if (j - i == 1) {
                rc = mp_error_set(e, MP_EINVAL,
                                  "%s: a record makes a %zu-byte batch, over the topic's %s "
                                  "(%zu)",
                                  p->name, p->enc.len,
                                  (int64_t)cfg->max_message_bytes <= (int64_t)cfg->segment_bytes
                                      ? "max.message.bytes"
                                      : "segment.bytes",
                                  limit);
                goto out;
            }
            j = i + (j - i) / 2; /* compression made it bigger than the bound */
        }
        const uint8_t *batch = (const uint8_t *)p->enc.data;
        size_t len = p->enc.len;
        mp_batch_info info;
        if ((rc = mp_batch_peek(batch, len, &info, e)))
            goto out;
        int64_t now = mp_clock_wall_ms();
        mp_segment *act = p->segs[p->nsegs - 1];
        int64_t last = info.base_offset + info.last_offset_delta;
        if (act->size > 0 &&
            (act->size + len > (uint64_t)cfg->segment_bytes ||
             now - act->first_append_ms > mp_log_config_roll_ms(cfg) ||
             last - act->base_offset > INT32_MAX)) {
            if ((rc = roll(p, e))) {
                mp_error_prefix(e, "%s: rolling a segment", p->name);
                goto out;
            }
            act = p->segs[p->nsegs - 1];
        }
        if ((rc = mp_segment_write(act, batch, len, e))) {
            mp_error_prefix(e, "%s", p->name);
            goto out;
        }
        /* fsync before the batch becomes visible: with flush.messages=1 a
         * reader never sees a record that a crash could take back. */
        if (!p->first_unflushed_ms)
            p->first_unflushed_ms = now;
        p->unflushed += (int64_t)(j - i);
        if (p->unflushed >= cfg->flush_messages ||
            (cfg->flush_ms != MP_LOG_NEVER && now - p->first_unflushed_ms >= cfg->flush_ms)) {
            if ((rc = mp_segment_sync(act, e))) {
                if (ftruncate(act->fd, (off_t)act->size) != 0) {
                    /* recovery cuts it on the next open */
                }
                p->unflushed -= (int64_t)(j - i);
                mp_error_prefix(e, "%s", p->name);
                goto out;
            }
            p->unflushed = 0;
            p->first_unflushed_ms = 0;
        }
        lock(&p->state_mu);
        mp_segment_publish(act, &info, cfg->index_interval_bytes);
        p->log_end = act->next_offset;
        unlock(&p->state_mu);
        if (p->notify)
            p->notify(p->notify_arg);
        if (*written == 0)
            *base = info.base_offset;
        *written += j - i;
        i = j;
    }
out:
    unlock(&p->write_mu);
    return rc;
}

int mp_partition_flush(mp_partition *p, mp_error *e)
{
    int rc = 0;
    if (p->read_only)
        return 0;
    lock(&p->write_mu);
    if (!p->closed && p->unflushed > 0) {
        rc = mp_segment_sync(p->segs[p->nsegs - 1], e);
        if (!rc) {
            p->unflushed = 0;
            p->first_unflushed_ms = 0;
        } else {
            mp_error_prefix(e, "%s", p->name);
        }
    }
    unlock(&p->write_mu);
    return rc;
}

int mp_partition_flush_if_due(mp_partition *p, const mp_log_topic_config *cfg, int64_t now_ms,
                              mp_error *e)
{
    if (cfg->flush_ms == MP_LOG_NEVER || p->read_only)
        return 0;
    int rc = 0;
    lock(&p->write_mu);
    if (!p->closed && p->unflushed > 0 && now_ms - p->first_unflushed_ms >= cfg->flush_ms) {
        rc = mp_segment_sync(p->segs[p->nsegs - 1], e);
        if (!rc) {
            p->unflushed = 0;
            p->first_unflushed_ms = 0;
        } else {
            mp_error_prefix(e, "%s", p->name);
        }
    }
    unlock(&p->write_mu);
    return rc;
}

/* ---- reading ------------------------------------------------------------- */

void mp_partition_offsets(mp_partition *p, int64_t *earliest, int64_t *latest)
{
    lock(&p->state_mu);
    *earliest = p->segs[0]->base_offset;
    *latest = p->log_end;
    unlock(&p->state_mu);
}

void mp_partition_info(mp_partition *p, mp_log_partition_info *info)
{
    lock(&p->state_mu);
    info->partition = p->id;
    info->earliest = p->segs[0]->base_offset;
    info->latest = p->log_end;
    info->size_bytes = 0;
    for (size_t i = 0; i < p->nsegs; i++)
        info->size_bytes += (int64_t)p->segs[i]->size;
    info->segments = (int32_t)p->nsegs;
    info->truncated_bytes = p->truncated_bytes;
    unlock(&p->state_mu);
}

/* The index of the last segment whose base offset is <= offset (0 if
 * none). Caller holds state_mu. */
static size_t seg_floor(const mp_partition *p, int64_t offset)
{
    size_t lo = 0, hi = p->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->segs[mid]->base_offset <= offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo ? lo - 1 : 0;
}

/* The segment following the one with base offset `base` (segments may
 * have come and gone meanwhile), with a reference and its visible size;
 * NULL at the end. */
static mp_segment *seg_after(mp_partition *p, int64_t base, uint64_t *vis)
{
    mp_segment *s = NULL;
    lock(&p->state_mu);
    for (size_t i = seg_floor(p, base); i < p->nsegs; i++)
        if (p->segs[i]->base_offset > base) {
            s = p->segs[i];
            mp_segment_ref(s);
            *vis = s->size;
            break;
        }
    unlock(&p->state_mu);
    return s;
}

static int damaged(const mp_partition *p, const mp_segment *s, int64_t offset, uint64_t pos,
                   const char *what, mp_error *e)
{
    return mp_error_set(e, MP_EFORMAT,
                        "%s@%" PRId64 ": damaged data at position %" PRIu64 " of segment %020" PRId64
                        ".log: %s",
                        p->name, offset, pos, s->base_offset, what);
}

/* Drops the references the previous fetch kept for its mapped batches. */
static void release_held(mp_fetch_store *st)
{
    for (size_t i = 0; i < st->nheld; i++)
        mp_segment_unref(st->held[i]);
    st->nheld = 0;
}

/* Keeps a reference on s for as long as the result points into its map. */
static int hold(mp_fetch_store *st, mp_segment *s)
{
    if (st->nheld && st->held[st->nheld - 1] == s)
        return 0;
    if (st->nheld == st->held_cap) {
        size_t c = st->held_cap ? st->held_cap * 2 : 4;
        mp_segment **q = realloc(st->held, c * sizeof *q);
        if (!q)
            return MP_ENOMEM;
        st->held = q;
        st->held_cap = c;
    }
    mp_segment_ref(s);
    st->held[st->nheld++] = s;
    return 0;
}

void mp_fetch_store_free(void *store)
{
    mp_fetch_store *st = store;
    if (!st)
        return;
    release_held(st);
    free(st->held);
    mp_buf_free(&st->raw);
    mp_buf_free(&st->hdr);
    for (size_t i = 0; i < st->slots_cap; i++) {
        mp_batch_records_free(&st->slots[i].recs);
        mp_buf_free(&st->slots[i].scratch);
    }
    free(st->slots);
    free(st->recs);
    free(st);
}

static int push_slot(mp_fetch_store *st, const uint8_t *data, size_t raw_off,
                     const mp_batch_info *info)
{
    if (st->nslots == st->slots_cap) {
        size_t c = st->slots_cap ? st->slots_cap * 2 : 16;
        struct mp_fetch_slot *q = realloc(st->slots, c * sizeof *q);
        if (!q)
            return MP_ENOMEM;
        memset(q + st->slots_cap, 0, (c - st->slots_cap) * sizeof *q);
        st->slots = q;
        st->slots_cap = c;
    }
    st->slots[st->nslots].data = data;
    st->slots[st->nslots].decoded = 0;
    st->slots[st->nslots].raw_off = raw_off;
    st->slots[st->nslots].info = *info;
    st->nslots++;
    return 0;
}

/* Fetch state across segments. */
typedef struct fetch_ctx {
    mp_partition *p;
    mp_fetch_store *st;
    int64_t offset;   /* requested */
    int64_t limit;    /* the log end when the fetch began */
    size_t budget;    /* bytes left */
    int done;         /* budget spent or log end reached */
    /* The segment being read, bytes [0, its visible size), when read
     * through its map; NULL when read with pread. */
    const uint8_t *map;
} fetch_ctx;

/* Finds, from pos, the first batch of s whose last offset is >= the
 * requested one. 1 with *at and *info, 0 if the segment has none below
 * vis, MP_EFORMAT for damage. */
static int skip_to(fetch_ctx *c, mp_segment *s, uint64_t vis, uint64_t pos, int64_t entry,
                   uint64_t *at, mp_batch_info *info, mp_error *e)
{
    mp_buf *w = &c->st->hdr;
    uint64_t wpos = 0;
    size_t wlen = 0;
    int check_entry = entry >= 0;
    uint64_t cur = pos;
    while (cur < vis) {
        uint64_t left = vis - cur;
        size_t hn = left < MP_BATCH_HEADER_SIZE ? (size_t)left : MP_BATCH_HEADER_SIZE;
        if (!c->map && !(cur >= wpos && cur + hn <= wpos + wlen)) {
            size_t want = left < SKIP_CHUNK ? (size_t)left : SKIP_CHUNK;
            w->len = 0;
            if (!mp_buf_reserve(w, want))
                return mp_error_set(e, MP_ENOMEM, "%s: out of memory", c->p->name);
            int rc = mp_segment_read(s, cur, w->data, want, e);
            if (rc)
                return rc;
            wpos = cur;
            wlen = want;
        }
        const uint8_t *h = c->map ? c->map + cur : (const uint8_t *)w->data + (cur - wpos);
        mp_error why;
        int rc = mp_batch_peek(h, hn, info, &why);
        if (rc == MP_LOG_ETRUNCATED && hn == MP_BATCH_HEADER_SIZE)
            rc = 0;
        if (!rc && info->size > left)
            return damaged(c->p, s, c->offset, cur, "a batch runs past the end of the data", e);
        if (rc)
            return damaged(c->p, s, c->offset, cur, why.msg, e);
        int64_t last = info->base_offset + info->last_offset_delta;
        if (check_entry) {
            check_entry = 0;
            if (last != entry) {
                /* The index points at the wrong batch: scan the segment
                 * from its start instead (slow, right). */
                cur = 0;
                wlen = 0;
                continue;
            }
        }
        if (last >= c->offset) {
            *at = cur;
            return 1;
        }
        cur += info->size;
    }
    return 0;
}

/* Decodes slot k. A damaged batch after the first is dropped with what
 * follows and 1 returned (the fetch serves the batches before it; the next
 * fetch reports the damage); damage in the first gives MP_EFORMAT. */
static int decode_slot(fetch_ctx *c, size_t k, mp_error *e)
{
    mp_fetch_store *st = c->st;
    struct mp_fetch_slot *sl = &st->slots[k];
    mp_error why;
    const uint8_t *data = sl->data ? sl->data : (const uint8_t *)st->raw.data + sl->raw_off;
    int rc = mp_batch_decode_ex(data, &sl->info, &sl->recs, &sl->scratch,
                                MP_BATCH_MAX_UNCOMPRESSED, 0, &why);
    if (!rc) {
        sl->decoded = 1;
        return 0;
    }
    st->nslots = k;
    if (k == 0)
        return mp_error_set(e, rc, "%s@%" PRId64 ": %s", c->p->name,
                            sl->info.base_offset < c->offset ? c->offset : sl->info.base_offset,
                            why.msg);
    return 1;
}

/* Reads whole batches of s from the one at `at` onwards into the store,
 * within the budget. */
static int collect(fetch_ctx *c, mp_segment *s, uint64_t vis, uint64_t at,
                   const mp_batch_info *first, mp_error *e)
{
    mp_fetch_store *st = c->st;
    uint64_t avail = vis - at;
    size_t want = avail < c->budget ? (size_t)avail : c->budget;
    if (want < first->size) {
        if (st->nslots > 0) {
            c->done = 1;
            return 0;
        }
        want = first->size; /* at least one batch, whatever the budget */
    }
    size_t off0 = st->raw.len;
    const uint8_t *bytes; /* file bytes [at, at+want) */
    int rc;
    if (c->map) {
        if (hold(st, s))
            return mp_error_set(e, MP_ENOMEM, "%s: out of memory", c->p->name);
        bytes = c->map + at;
    } else {
        if (!mp_buf_reserve(&st->raw, want))
            return mp_error_set(e, MP_ENOMEM, "%s: out of memory", c->p->name);
        if ((rc = mp_segment_read(s, at, st->raw.data + off0, want, e)))
            return rc;
        st->raw.len += want;
        bytes = (const uint8_t *)st->raw.data + off0;
    }
    size_t q = 0;
    int64_t expect = -1;
    while (q < want) {
        const uint8_t *b = bytes + q;
        mp_batch_info info;
        mp_error why;
        rc = mp_batch_peek(b, want - q, &info, &why);
        if (rc == MP_LOG_ETRUNCATED) {
            if (at + want < vis) {
                /* The budget ends inside this batch: it waits for the next
                 * fetch. */
                rc = 0;
                c->done = 1;
                break;
            }
            /* The visible data ends inside a batch: only damage does that. */
            rc = damaged(c->p, s, expect >= 0 ? expect : c->offset, at + q,
                         "a batch runs past the end of the data", e);
            break;
        }
        if (rc) {
            rc = damaged(c->p, s, expect >= 0 ? expect : c->offset, at + q, why.msg, e);
            break;
        }
        int64_t last = info.base_offset + info.last_offset_delta;
        if (expect >= 0 && info.base_offset < expect) {
            rc = damaged(c->p, s, expect, at + q, "offsets go backwards", e);
            break;
        }
        if (info.base_offset >= c->limit) {
            c->done = 1;
            break;
        }
        if (!mp_batch_crc_ok(b, &info)) {
            char what[96];
            snprintf(what, sizeof what, "the batch of offsets %" PRId64 "..%" PRId64 " fails its CRC",
                     info.base_offset, last);
            rc = damaged(c->p, s, info.base_offset < c->offset ? c->offset : info.base_offset,
                         at + q, what, e);
            break;
        }
        if (push_slot(st, c->map ? b : NULL, off0 + q, &info)) {
            rc = mp_error_set(e, MP_ENOMEM, "%s: out of memory", c->p->name);
            break;
        }
        /* A mapped batch never moves: decode it now, while the CRC pass
         * has left it in the cache. (Copies wait for decode_all: raw may
         * still move as it grows.) */
        if (c->map && (rc = decode_slot(c, st->nslots - 1, e)) != 0) {
            if (rc > 0) {
                rc = 0; /* served up to here */
                c->done = 1;
            }
            break;
        }
        c->budget = c->budget > info.size ? c->budget - info.size : 0;
        q += info.size;
        expect = last + 1;
    }
    if (c->budget == 0)
        c->done = 1;
    return rc;
}

static int read_segment(fetch_ctx *c, mp_segment *s, uint64_t vis, uint64_t pos, int64_t entry,
                        mp_error *e)
{
    c->map = NULL;
    /* Without a map (turned off, or mmap failed) the same walk copies with
     * pread. */
    if (c->p->map_reads && !atomic_load(&s->growing) && vis > 0 &&
        mp_segment_view(s, 0, (size_t)vis, &c->map, NULL) != 0)
        c->map = NULL;
    uint64_t at;
    mp_batch_info first;
    int rc = skip_to(c, s, vis, pos, entry, &at, &first, e);
    if (rc <= 0)
        return rc;
    if (first.base_offset >= c->limit) {
        c->done = 1;
        return 0;
    }
    return collect(c, s, vis, at, &first, e);
}

static int decode_all(fetch_ctx *c, mp_log_fetch_result *out, mp_error *e)
{
    mp_fetch_store *st = c->st;
    size_t total = 0, k;
    int rc = 0;
    for (k = 0; k < st->nslots; k++) {
        if (!st->slots[k].decoded && (rc = decode_slot(c, k, e)) != 0) {
            if (rc < 0)
                return rc;
            rc = 0; /* serve what precedes the damage */
            break;
        }
        total += st->slots[k].recs.n;
    }
    if (total > st->recs_cap) {
        mp_record *r = realloc(st->recs, total * sizeof *r);
        if (!r)
            return mp_error_set(e, MP_ENOMEM, "%s: out of memory", c->p->name);
        st->recs = r;
        st->recs_cap = total;
    }
    size_t n = 0;
    for (k = 0; k < st->nslots; k++) {
        const mp_batch_records *br = &st->slots[k].recs;
        for (size_t i = 0; i < br->n; i++)
            if (br->recs[i].offset >= c->offset)
                st->recs[n++] = br->recs[i];
    }
    out->recs = st->recs;
    out->n = n;
    if (st->nslots) {
        const mp_batch_info *li = &st->slots[st->nslots - 1].info;
        out->next_offset = li->base_offset + li->last_offset_delta + 1;
    } else {
        /* Nothing at or after the offset up to the log end: compaction
         * left a gap there. Move the reader past it. */
        out->next_offset = c->limit;
    }
    out->bytes = 0;
    for (k = 0; k < st->nslots; k++)
        out->bytes += st->slots[k].info.size;
    return rc;
}

int mp_partition_fetch(mp_partition *p, int64_t offset, size_t max_bytes,
                       mp_log_fetch_result *out, mp_error *e)
{
    mp_fetch_store *st = out->priv;
    /* The previous result's records go now, as the API says. */
    release_held(st);
    st->raw.len = 0;
    st->nslots = 0;
    out->recs = NULL;
    out->n = 0;
    out->next_offset = offset;
    out->bytes = 0;

    if (p->read_only) {
        /* At the end of what this reader knows: see what the writer added. */
        lock(&p->state_mu);
        int at_end = offset >= p->log_end;
        unlock(&p->state_mu);
        int rc = at_end ? mp_partition_refresh(p, e) : 0;
        if (rc)
            return rc;
    }
    lock(&p->state_mu);
    int64_t earliest = p->segs[0]->base_offset, latest = p->log_end;
    out->earliest = earliest;
    out->latest = latest;
    if (offset < earliest || offset > latest) {
        unlock(&p->state_mu);
        return mp_error_set(e, MP_ENOTFOUND,
                            "%s@%" PRId64 ": offset out of range (earliest %" PRId64
                            ", latest %" PRId64 ")",
                            p->name, offset, earliest, latest);
    }
    if (offset == latest) {
        unlock(&p->state_mu);
        return 0;
    }
    mp_segment *s = p->segs[seg_floor(p, offset)];
    mp_segment_ref(s);
    uint64_t vis = s->size;
    int64_t entry;
    uint64_t pos = mp_segment_lookup(s, offset, &entry);
    unlock(&p->state_mu);

    fetch_ctx c = {p, st, offset, latest, max_bytes, 0, NULL};
    int rc = 0;
    while (s) {
        rc = read_segment(&c, s, vis, pos, entry, e);
        if (rc < 0) {
            if (st->nslots > 0)
                rc = 0; /* serve what precedes the damage */
            break;
        }
        rc = 0;
        if (c.done)
            break;
        mp_segment *next = seg_after(p, s->base_offset, &vis);
        mp_segment_unref(s);
        s = next;
        pos = 0;
        entry = -1;
    }
    if (s)
        mp_segment_unref(s);
    if (rc)
        return rc;
    return decode_all(&c, out, e);
}

int mp_partition_offset_for_time(mp_partition *p, int64_t ts, int64_t *offset,
                                 int64_t *record_ts, mp_error *e)
{
    *offset = -1;
    *record_ts = -1;
    int64_t after = INT64_MIN; /* base offset of the last segment looked at */
    mp_buf buf = {0}, scratch = {0};
    mp_batch_records br = {0};
    int rc = 0;
    for (;;) {
        mp_segment *s = NULL;
        uint64_t vis = 0, pos = 0;
        int64_t start = 0, entry;
        lock(&p->state_mu);
        for (size_t i = 0; i < p->nsegs; i++) {
            mp_segment *x = p->segs[i];
            if (x->base_offset > after && x->size > 0 && x->max_ts >= ts) {
                s = x;
                mp_segment_ref(s);
                vis = s->size;
                start = mp_segment_time_start(s, ts);
                pos = mp_segment_lookup(s, start, &entry);
                break;
            }
        }
        unlock(&p->state_mu);
        if (!s)
            break;
        after = s->base_offset;
        mp_batch_info info;
        int found = 0, first = entry >= 0;
        while (!found) {
            memset(&info, 0, sizeof info);
            rc = mp_segment_next_batch(s, &pos, vis, &buf, &info, e);
            if (rc <= 0) {
                if (rc < 0)
                    mp_error_prefix(e, "%s@%" PRId64, p->name,
                                    info.base_offset > start ? info.base_offset : start);
                break;
            }
            if (first) {
                first = 0;
                if (info.base_offset + info.last_offset_delta != entry) {
                    pos = 0; /* the index points at the wrong batch: scan it all */
                    continue;
                }
            }
            if (info.base_offset + info.last_offset_delta < start || info.max_timestamp < ts)
                continue;
            mp_error why;
            rc = mp_batch_decode_ex((const uint8_t *)buf.data, &info, &br, &scratch,
                                    MP_BATCH_MAX_UNCOMPRESSED, 0, &why);
            if (rc) {
                mp_error_set(e, rc, "%s@%" PRId64 ": %s", p->name, info.base_offset, why.msg);
                break;
            }
            for (size_t i = 0; i < br.n; i++)
                if (br.recs[i].offset >= start && br.recs[i].timestamp >= ts) {
                    *offset = br.recs[i].offset;
                    *record_ts = br.recs[i].timestamp;
                    found = 1;
                    break;
                }
        }
        mp_segment_unref(s);
        if (found || rc < 0)
            break;
        rc = 0;
    }
    mp_buf_free(&buf);
    mp_buf_free(&scratch);
    mp_batch_records_free(&br);
    return rc < 0 ? rc : 0;
}

/* ---- retention ----------------------------------------------------------- */

int mp_partition_enforce_retention(mp_partition *p, const mp_log_topic_config *cfg,
                                   int64_t now_ms, int64_t *deleted, mp_error *e)
{
    if (p->read_only)
        return mp_error_set(e, MP_EINVAL, "%s: this process only reads the partition", p->name);
    if (!(cfg->cleanup_policy & MP_LOG_CLEANUP_DELETE) ||
        (cfg->retention_ms < 0 && cfg->retention_bytes < 0))
        return 0;
    int rc = 0;
    lock(&p->write_mu);
    if (p->closed)
        goto out;
    mp_segment *act = p->segs[p->nsegs - 1];
    /* Kafka rolls an active segment whose newest record has expired, so
     * that it can go too. */
    if (cfg->retention_ms >= 0 && act->size > 0 && now_ms - act->max_ts > cfg->retention_ms &&
        (rc = roll(p, e))) {
        mp_error_prefix(e, "%s: rolling an expired segment", p->name);
        goto out;
    }
    lock(&p->state_mu);
    size_t k = 0;
    if (cfg->retention_ms >= 0)
        while (k + 1 < p->nsegs && now_ms - p->segs[k]->max_ts > cfg->retention_ms)
            k++;
    if (cfg->retention_bytes >= 0) {
        int64_t total = 0;
        for (size_t i = k; i < p->nsegs; i++)
            total += (int64_t)p->segs[i]->size;
        int64_t diff = total - cfg->retention_bytes;
        while (k + 1 < p->nsegs && diff - (int64_t)p->segs[k]->size >= 0) {
            diff -= (int64_t)p->segs[k]->size;
            k++;
        }
    }
    mp_segment *gone[64];
    size_t ngone = k < 64 ? k : 64; /* the rest go on the next pass */
    memcpy(gone, p->segs, ngone * sizeof *gone);
    memmove(p->segs, p->segs + ngone, (p->nsegs - ngone) * sizeof *p->segs);
    p->nsegs -= ngone;
    unlock(&p->state_mu);
    for (size_t i = 0; i < ngone; i++) {
        mp_segment_remove_files(gone[i]);
        mp_segment_unref(gone[i]);
    }
    if (ngone)
        mp_fsync_dir(p->dir);
    *deleted += (int64_t)ngone;
    if (k > ngone) {
        unlock(&p->write_mu);
        return mp_partition_enforce_retention(p, cfg, now_ms, deleted, e);
    }
out:
    unlock(&p->write_mu);
    return rc;
}

/* ---- compaction support -------------------------------------------------- */

int mp_partition_segments(mp_partition *p, mp_segment ***segs, size_t *n, mp_error *e)
{
    *segs = NULL;
    *n = 0;
    lock(&p->state_mu);
    mp_segment **v = malloc(p->nsegs * sizeof *v);
    if (!v) {
        unlock(&p->state_mu);
        return mp_error_set(e, MP_ENOMEM, "%s: out of memory", p->name);
    }
    for (size_t i = 0; i < p->nsegs; i++) {
        v[i] = p->segs[i];
        mp_segment_ref(v[i]);
    }
    *n = p->nsegs;
    unlock(&p->state_mu);
    *segs = v;
    return 0;
}

void mp_partition_segments_release(mp_segment **segs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mp_segment_unref(segs[i]);
    free(segs);
}

static int write_manifest(mp_partition *p, mp_segment *const *old, size_t nold,
                          mp_segment *const *fresh, size_t nfresh, mp_error *e)
{
    json_t *root = json_object(), *a = json_array(), *b = json_array();
    int bad = !root || !a || !b;
    for (size_t i = 0; i < nold && !bad; i++)
        bad = json_array_append_new(a, json_integer(old[i]->base_offset)) != 0;
    for (size_t i = 0; i < nfresh && !bad; i++)
        bad = json_array_append_new(b, json_integer(fresh[i]->base_offset)) != 0;
    if (!bad)
        bad = json_object_set(root, "old", a) || json_object_set(root, "new", b);
    char *text = bad ? NULL : json_dumps(root, JSON_COMPACT);
    json_decref(a);
    json_decref(b);
    json_decref(root);
    if (!text)
        return mp_error_set(e, MP_ENOMEM, "%s: out of memory", p->name);
    char path[PATH_MAX];
    int rc = path_of(path, sizeof path, p->dir, MANIFEST)
                 ? mp_error_set(e, MP_EINVAL, "%s: path too long", p->dir)
                 : mp_write_atomic(path, text, strlen(text), e);
    free(text);
    return rc;
}

int mp_partition_replace(mp_partition *p, mp_segment *const *old, size_t nold,
                         mp_segment *const *fresh, size_t nfresh, mp_error *e)
{
    if (nold == 0)
        return mp_error_set(e, MP_EINVAL, "%s: nothing to replace", p->name);
    if (p->read_only)
        return mp_error_set(e, MP_EINVAL, "%s: this process only reads the partition", p->name);
    int rc = 0;
    mp_segment **v = NULL;
    lock(&p->write_mu);
    if (p->closed) {
        rc = mp_error_set(e, MP_ENOTFOUND, "%s: the topic was deleted", p->name);
        goto out;
    }
    /* Check the request against the list as it is now. */
    lock(&p->state_mu);
    size_t k = p->nsegs;
    for (size_t i = 0; i < p->nsegs; i++)
        if (p->segs[i] == old[0]) {
            k = i;
            break;
        }
    int ok = k + nold < p->nsegs; /* never the active segment */
    for (size_t i = 0; ok && i < nold; i++)
        ok = p->segs[k + i] == old[i];
    int64_t lo = ok ? old[0]->base_offset : 0;
    int64_t hi = ok ? p->segs[k + nold]->base_offset : 0;
    size_t nv = p->nsegs - nold + nfresh;
    unlock(&p->state_mu);
    if (!ok) {
        rc = mp_error_set(e, MP_EINVAL,
                          "%s: segments to replace are not consecutive closed segments of the "
                          "partition",
                          p->name);
        goto out;
    }
    int64_t prev = lo;
    for (size_t i = 0; i < nfresh; i++) {
        const mp_segment *f = fresh[i];
        if (strcmp(f->suffix, CLEANED) || strcmp(f->dir, p->dir) || f->base_offset < prev ||
            f->next_offset > hi) {
            rc = mp_error_set(e, MP_EINVAL,
                              "%s: replacement segment %020" PRId64 " (offsets to %" PRId64
                              ") is not a %s segment of %s within offsets %" PRId64 "..%" PRId64,
                              p->name, f->base_offset, f->next_offset - 1, CLEANED, p->dir, prev,
                              hi - 1);
            goto out;
        }
        prev = f->next_offset > f->base_offset ? f->next_offset : f->base_offset + 1;
    }
    v = malloc((nv ? nv : 1) * sizeof *v);
    if (!v) {
        rc = mp_error_set(e, MP_ENOMEM, "%s: out of memory", p->name);
        goto out;
    }
    for (size_t i = 0; i < nfresh; i++) {
        mp_segment_trim(fresh[i]);
        if ((rc = mp_segment_sync(fresh[i], e)) || (rc = mp_segment_write_indexes(fresh[i], e)))
            goto out;
    }
    if (mp_fsync_dir(p->dir)) {
        rc = mp_error_set(e, MP_EIO, "%s: cannot fsync %s", p->name, p->dir);
        goto out;
    }
    if ((rc = write_manifest(p, old, nold, fresh, nfresh, e)))
        goto out;
    /* Committed: from here a crash is completed by the next open. */
    for (size_t i = 0; i < nold; i++) {
        int replaced = 0;
        for (size_t j = 0; j < nfresh; j++)
            replaced |= fresh[j]->base_offset == old[i]->base_offset;
        if (!replaced)
            mp_segment_remove_files(old[i]);
    }
    for (size_t i = 0; i < nfresh && !rc; i++)
        rc = mp_segment_rename(fresh[i], "", e);
    if (!rc) {
        char path[PATH_MAX];
        mp_fsync_dir(p->dir);
        if (path_of(path, sizeof path, p->dir, MANIFEST) == 0)
            unlink(path);
        mp_fsync_dir(p->dir);
    }
    lock(&p->state_mu);
    if (rc) {
        /* The files are half swapped; the manifest finishes the job when
         * the log is next opened. Until then take no more writes. */
        p->closed = 1;
    } else {
        size_t n = 0;
        for (size_t i = 0; i < k; i++)
            v[n++] = p->segs[i];
        for (size_t i = 0; i < nfresh; i++)
            v[n++] = fresh[i];
        for (size_t i = k + nold; i < p->nsegs; i++)
            v[n++] = p->segs[i];
        free(p->segs);
        p->segs = v;
        p->nsegs = n;
        p->cap = nv ? nv : 1;
        v = NULL;
    }
    unlock(&p->state_mu);
    if (!rc)
        for (size_t i = 0; i < nold; i++)
            mp_segment_unref(old[i]);
    else
        mp_error_prefix(e, "%s: segment replacement interrupted (completed on the next open)",
                        p->name);
out:
    free(v);
    unlock(&p->write_mu);
    return rc;
}
