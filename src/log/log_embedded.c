/* The embedded log: the mp_log backend that keeps topics in files under a
 * data directory.
 *
 *   <data-dir>/.lock                 flock'ed by the writer (readers take no
 *                                    lock; see mp_log_open_embedded)
 *   <data-dir>/.clean_shutdown       present only after a clean close
 *   <data-dir>/topics/<topic>.json   the topic's configuration, written
 *                                    atomically; its presence is the topic's
 *                                    existence (written last on create,
 *                                    removed first on delete)
 *   <data-dir>/topics/<topic>-<n>/   partition n (log_partition.h)
 *   <data-dir>/groups/<group>.json   committed offsets (log_groups.h)
 *
 * Topics live in a sorted table under topics_mu; every operation takes a
 * reference on the topic it works on, so a concurrent delete frees it only
 * when the last user is done. Appends broadcast on one condition variable
 * that mp_log_wait sleeps on.
 *
 * A reader (read_only) keeps the same table of what it found on disk and
 * follows the writer of another process: topics are looked up again when a
 * name is unknown or a list is asked for, partitions catch up through
 * mp_partition_refresh, and mp_log_wait polls on inotify (else sleeps a
 * little) instead of the condition variable. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#ifdef __linux__
#include <sys/inotify.h>
#endif
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/fileio.h"
#include "core/murmur2.h"
#include "log/log.h"
#include "log/log_cleaner.h"
#include "log/log_compact.h"
#include "log/log_groups.h"
#include "log/log_impl.h"
#include "log/log_partition.h"

#define CLEAN_MARKER ".clean_shutdown"

typedef struct emb emb;

typedef struct topic {
    char *name;
    atomic_int refs;
    atomic_int deleted;
    atomic_uint rr; /* round robin for keyless records */
    pthread_mutex_t cfg_mu;
    mp_log_topic_config cfg;
    int32_t nparts;
    mp_partition **parts;
} topic;

struct emb {
    char *dir;
    char *topics_dir;
    int lock_fd;
    /* A reader: never changes the log's files. holder: the writer's pid
     * when the directory was found locked at open ("" otherwise). */
    int read_only;
    char holder[32];
    int wake_pipe[2]; /* a reader's mp_log_wake reaches poll() through it */
    mp_log_options opts;
    mp_log_topic_config defaults;
    pthread_mutex_t topics_mu;
    topic **topics; /* sorted by name */
    size_t ntopics, cap;
    mp_group_store *groups;
    /* mp_log_wait */
    pthread_mutex_t notify_mu;
    pthread_cond_t notify_cv;
    uint64_t wake_gen;
    atomic_int waiters;
    /* background thread */
    pthread_t bg;
    int bg_running;
    pthread_mutex_t bg_mu;
    pthread_cond_t bg_cv;
    int stopping;
};

/* ---- topics table -------------------------------------------------------- */

static void topic_free(topic *t)
{
    for (int32_t i = 0; i < t->nparts; i++)
        mp_partition_free(t->parts[i]);
    free(t->parts);
    pthread_mutex_destroy(&t->cfg_mu);
    free(t->name);
    free(t);
}

static void topic_put(topic *t)
{
    if (t && atomic_fetch_sub(&t->refs, 1) == 1)
        topic_free(t);
}

static long topic_find(const emb *l, const char *name)
{
    size_t lo = 0, hi = l->ntopics;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(l->topics[mid]->name, name);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

static int reader_sync_topics(emb *l, const char *only, mp_error *e);

static topic *topic_get(emb *l, const char *name, mp_error *e)
{
    for (int pass = 0;; pass++) {
        pthread_mutex_lock(&l->topics_mu);
        long i = topic_find(l, name);
        topic *t = i >= 0 ? l->topics[i] : NULL;
        if (t)
            atomic_fetch_add(&t->refs, 1);
        pthread_mutex_unlock(&l->topics_mu);
        if (t || !l->read_only || pass > 0) {
            if (!t)
                mp_error_set(e, MP_ENOTFOUND, "unknown topic '%s'", name);
            return t;
        }
        /* A reader: the writer may have created it since we looked. */
        int rc = reader_sync_topics(l, name, e);
        if (rc && rc != MP_ENOTFOUND)
            return NULL;
    }
}

static void topic_cfg(topic *t, mp_log_topic_config *c)
{
    pthread_mutex_lock(&t->cfg_mu);
    *c = t->cfg;
    pthread_mutex_unlock(&t->cfg_mu);
}

static int partition_of(topic *t, int32_t partition, mp_error *e)
{
    if (partition < 0 || partition >= t->nparts)
        return mp_error_set(e, MP_ENOTFOUND, "topic %s has %d partition%s (0..%d), not %d",
                            t->name, (int)t->nparts, t->nparts == 1 ? "" : "s",
                            (int)t->nparts - 1, (int)partition);
    return 0;
}

/* Every topic with a reference each (the caller puts them). */
static int topics_snapshot(emb *l, topic ***out, size_t *n, mp_error *e)
{
    pthread_mutex_lock(&l->topics_mu);
    topic **v = malloc((l->ntopics ? l->ntopics : 1) * sizeof *v);
    if (v)
        for (size_t i = 0; i < l->ntopics; i++) {
            v[i] = l->topics[i];
            atomic_fetch_add(&v[i]->refs, 1);
        }
    *n = v ? l->ntopics : 0;
    pthread_mutex_unlock(&l->topics_mu);
    *out = v;
    return v ? 0 : mp_error_set(e, MP_ENOMEM, "log: out of memory");
}

static void snapshot_put(topic **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        topic_put(v[i]);
    free(v);
}

/* ---- notification -------------------------------------------------------- */

static void on_append(void *arg)
{
    emb *l = arg;
    if (atomic_load(&l->waiters) == 0)
        return;
    pthread_mutex_lock(&l->notify_mu);
    pthread_cond_broadcast(&l->notify_cv);
    pthread_mutex_unlock(&l->notify_mu);
}

static void wake_all(emb *l, int bump)
{
    pthread_mutex_lock(&l->notify_mu);
    if (bump)
        l->wake_gen++;
    pthread_cond_broadcast(&l->notify_cv);
    pthread_mutex_unlock(&l->notify_mu);
}

/* ---- topic files --------------------------------------------------------- */

static int topic_path(const emb *l, const char *name, const char *suffix, char *out, size_t n)
{
    int w = snprintf(out, n, "%s/%s%s", l->topics_dir, name, suffix);
    return w < 0 || (size_t)w >= n ? MP_EINVAL : 0;
}

static int part_dir(const emb *l, const char *name, int32_t i, char *out, size_t n)
{
    int w = snprintf(out, n, "%s/%s-%d", l->topics_dir, name, (int)i);
    return w < 0 || (size_t)w >= n ? MP_EINVAL : 0;
}

static int write_topic_file(emb *l, const char *name, const mp_log_topic_config *cfg,
                            mp_error *e)
{
    json_t *root = json_object(), *c = json_object();
    int bad = !root || !c;
    size_t nk;
    const char *const *keys = mp_log_config_keys(&nk);
    for (size_t i = 0; i < nk && !bad; i++) {
        char v[64];
        bad = mp_log_config_get(cfg, keys[i], v, sizeof v) ||
              json_object_set_new(c, keys[i], json_string(v));
    }
    if (!bad)
        bad = json_object_set_new(root, "name", json_string(name)) ||
              json_object_set(root, "config", c);
    char *text = bad ? NULL : json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(c);
    json_decref(root);
    if (!text)
        return mp_error_set(e, MP_ENOMEM, "topic %s: out of memory", name);
    char path[PATH_MAX];
    int rc = topic_path(l, name, ".json", path, sizeof path)
                 ? mp_error_set(e, MP_EINVAL, "topic %s: path too long", name)
                 : mp_write_atomic(path, text, strlen(text), e);
    free(text);
    return rc;
}

static int read_topic_file(emb *l, const char *path, const char *name, mp_log_topic_config *cfg,
                           mp_error *e)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        return mp_error_set(e, MP_EFORMAT, "%s:%d:%d: %s", path, jerr.line, jerr.column,
                            jerr.text);
    json_t *jn = json_object_get(root, "name"), *c = json_object_get(root, "config");
    int rc = 0;
    if (!json_is_string(jn) || strcmp(json_string_value(jn), name) || !json_is_object(c)) {
        rc = mp_error_set(e, MP_EFORMAT,
                          "%s: not a topic file (expected \"name\": \"%s\" and a \"config\" "
                          "object)",
                          path, name);
    } else {
        *cfg = l->defaults;
        const char *k;
        json_t *v;
        json_object_foreach(c, k, v)
        {
            if (rc)
                break;
            if (!json_is_string(v)) {
                rc = mp_error_set(e, MP_EFORMAT, "%s: config %s is not a string", path, k);
                break;
            }
            if ((rc = mp_log_config_set(cfg, k, json_string_value(v), e))) {
                mp_error_prefix(e, "%s", path);
                rc = MP_EFORMAT;
                if (e)
                    e->code = rc;
            }
        }
    }
    json_decref(root);
    return rc;
}

/* 1 if dir entry `f` is "<name>-<digits>"; the partition id in *id. */
static int split_part_dir(const char *f, char *name, size_t n, int32_t *id)
{
    const char *dash = strrchr(f, '-');
    if (!dash || dash == f || !dash[1] || (size_t)(dash - f) >= n)
        return 0;
    long v = 0;
    for (const char *p = dash + 1; *p; p++) {
        if (*p < '0' || *p > '9' || v > INT32_MAX / 10)
            return 0;
        v = v * 10 + (*p - '0');
    }
    memcpy(name, f, (size_t)(dash - f));
    name[dash - f] = '\0';
    *id = (int32_t)v;
    return 1;
}

/* Removes partition directories of `name` (all of them when keep < 0, or
 * those with id >= keep): what a deleted or half-created topic left. */
static void remove_part_dirs(emb *l, const char *only, int32_t keep)
{
    DIR *d = opendir(l->topics_dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char name[256];
        int32_t id;
        if (!split_part_dir(de->d_name, name, sizeof name, &id) || strcmp(name, only))
            continue;
        if (keep >= 0 && id < keep)
            continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", l->topics_dir, de->d_name) < (int)sizeof path &&
            mp_is_dir(path))
            mp_remove_tree(path);
    }
    closedir(d);
}

static int open_topic(emb *l, const char *name, const mp_log_topic_config *cfg, int clean,
                      topic **out, mp_error *e)
{
    *out = NULL;
    topic *t = calloc(1, sizeof *t);
    if (!t || !(t->name = strdup(name)) ||
        !(t->parts = calloc((size_t)cfg->partitions, sizeof *t->parts))) {
        if (t)
            free(t->name);
        free(t);
        return mp_error_set(e, MP_ENOMEM, "topic %s: out of memory", name);
    }
    atomic_init(&t->refs, 1);
    atomic_init(&t->deleted, 0);
    atomic_init(&t->rr, 0);
    pthread_mutex_init(&t->cfg_mu, NULL);
    t->cfg = *cfg;
    int rc = 0;
    for (int32_t i = 0; i < cfg->partitions && !rc; i++) {
        char dir[PATH_MAX], pname[300];
        if (part_dir(l, name, i, dir, sizeof dir)) {
            rc = mp_error_set(e, MP_EINVAL, "topic %s: path too long", name);
            break;
        }
        snprintf(pname, sizeof pname, "%s-%d", name, (int)i);
        if (!mp_is_dir(dir)) {
            /* For a reader, the writer may be deleting the topic. */
            rc = mp_error_set(e, l->read_only ? MP_ENOTFOUND : MP_EFORMAT,
                              "topic %s: partition directory %s is missing", name, dir);
            break;
        }
        rc = l->read_only
                 ? mp_partition_open_reader(dir, pname, i, cfg->index_interval_bytes, &t->parts[i],
                                            e)
                 : mp_partition_open(dir, pname, i, clean, cfg->index_interval_bytes, on_append,
                                     l, &t->parts[i], e);
        if (!rc) {
            t->parts[i]->map_reads = l->opts.map_reads != 0;
            t->nparts = i + 1;
        }
    }
    if (rc) {
        topic_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

static int insert_topic(emb *l, size_t at, topic *t)
{
    if (l->ntopics == l->cap) {
        size_t c = l->cap ? l->cap * 2 : 16;
        topic **v = realloc(l->topics, c * sizeof *v);
        if (!v)
            return MP_ENOMEM;
        l->topics = v;
        l->cap = c;
    }
    memmove(l->topics + at + 1, l->topics + at, (l->ntopics - at) * sizeof *l->topics);
    l->topics[at] = t;
    l->ntopics++;
    return 0;
}

/* Loads every topic in topics_dir, then removes partition directories no
 * topic owns. */
static int load_topics(emb *l, int clean, mp_error *e)
{
    DIR *d = opendir(l->topics_dir);
    if (!d)
        return mp_error_set(e, MP_EIO, "%s: %s", l->topics_dir, strerror(errno));
    int rc = 0;
    struct dirent *de;
    while (!rc && (de = readdir(d)) != NULL) {
        const char *f = de->d_name;
        size_t fl = strlen(f);
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", l->topics_dir, f) >= (int)sizeof path)
            continue;
        if (strstr(f, ".json.tmp.")) {
            if (!l->read_only)
                unlink(path);
            continue;
        }
        if (fl <= 5 || strcmp(f + fl - 5, ".json"))
            continue;
        char name[256];
        if (fl - 5 >= sizeof name)
            continue;
        memcpy(name, f, fl - 5);
        name[fl - 5] = '\0';
        if (!mp_log_valid_topic_name(name))
            continue;
        mp_log_topic_config cfg;
        topic *t;
        if ((rc = read_topic_file(l, path, name, &cfg, e)) ||
            (rc = open_topic(l, name, &cfg, clean, &t, e))) {
            if (l->read_only && access(path, F_OK) != 0) {
                rc = 0; /* deleted by the writer while we read it */
                continue;
            }
            break;
        }
        long at = topic_find(l, name);
        if (at >= 0 || insert_topic(l, (size_t)(-at - 1), t)) {
            topic_free(t);
            rc = mp_error_set(e, MP_ENOMEM, "topic %s: out of memory", name);
        }
    }
    closedir(d);
    if (rc || l->read_only)
        return rc;
    /* Orphans: a delete or create interrupted before/after its commit. */
    d = opendir(l->topics_dir);
    if (!d)
        return 0;
    while ((de = readdir(d)) != NULL) {
        char name[256];
        int32_t id;
        if (!split_part_dir(de->d_name, name, sizeof name, &id))
            continue;
        long at = topic_find(l, name);
        if (at >= 0 && id < l->topics[at]->nparts)
            continue;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", l->topics_dir, de->d_name) < (int)sizeof path &&
            mp_is_dir(path))
            mp_remove_tree(path);
    }
    closedir(d);
    return 0;
}

/* ---- a reader's topics ---------------------------------------------------- */

/* The pid of the process that holds the directory for writing now, from
 * /proc/locks (Linux); "" when nobody does or it cannot be told. */
static int writer_pid(const emb *l, char *out, size_t n)
{
    out[0] = '\0';
#ifdef __linux__
    char path[PATH_MAX];
    struct stat st;
    if (snprintf(path, sizeof path, "%s/.lock", l->dir) >= (int)sizeof path || stat(path, &st))
        return 1;
    FILE *f = fopen("/proc/locks", "r");
    if (!f)
        return 0;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        char type[16], mode[16];
        long pid;
        unsigned maj, mnr;
        unsigned long ino;
        if (strstr(line, "->")) /* a waiter, not a holder */
            continue;
        if (sscanf(line, "%*d: %15s %*s %15s %ld %x:%x:%lu", type, mode, &pid, &maj, &mnr, &ino) ==
                6 &&
            !strcmp(type, "FLOCK") && !strcmp(mode, "WRITE") && ino == (unsigned long)st.st_ino &&
            maj == major(st.st_dev) && mnr == minor(st.st_dev)) {
            snprintf(out, n, "%ld", pid);
            break;
        }
    }
    fclose(f);
    return 1;
#else
    return 0;
#endif
}

/* A reader's answer to a call that would write. */
static int refuse(const emb *l, mp_error *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int refuse(const emb *l, mp_error *e, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    char pid[32];
    if (!writer_pid(l, pid, sizeof pid))
        snprintf(pid, sizeof pid, "%s", l->holder); /* as found at open */
    if (pid[0])
        return mp_error_set(e, MP_EINVAL,
                            "%s: data directory %s is open for writing by another process (pid "
                            "%s); this process can only read",
                            what, l->dir, pid);
    return mp_error_set(e, MP_EINVAL,
                        "%s: data directory %s was opened read-only; this process can only read",
                        what, l->dir);
}

/* 1 if a reader's topic is still the one on disk: its file is there and
 * its first partition's directory is the one we opened (a topic deleted and
 * created again has new directories). */
static int reader_topic_current(emb *l, topic *t)
{
    char path[PATH_MAX];
    if (topic_path(l, t->name, ".json", path, sizeof path) || access(path, F_OK) != 0)
        return 0;
    if (t->nparts == 0)
        return 1;
    mp_partition *p = t->parts[0];
    pthread_mutex_lock(&p->state_mu);
    int closed = p->closed;
    pthread_mutex_unlock(&p->state_mu);
    struct stat st;
    return !closed && stat(p->dir, &st) == 0 && (uint64_t)st.st_dev == p->dir_dev &&
           (uint64_t)st.st_ino == p->dir_ino;
}

/* Takes a topic the writer deleted out of a reader's table. Caller holds
 * topics_mu. */
static void reader_drop_locked(emb *l, topic *t)
{
    long at = topic_find(l, t->name);
    if (at < 0 || l->topics[at] != t)
        return;
    memmove(l->topics + at, l->topics + at + 1, (l->ntopics - (size_t)at - 1) * sizeof *l->topics);
    l->ntopics--;
    atomic_store(&t->deleted, 1);
    topic_put(t);
}

/* After a call on partition p of t failed: if that was because the writer
 * deleted the topic, forget it, so that a topic created again under the
 * name is found by the next call. */
static void reader_check_gone(emb *l, topic *t, mp_partition *p)
{
    if (!l->read_only)
        return;
    pthread_mutex_lock(&p->state_mu);
    int closed = p->closed;
    pthread_mutex_unlock(&p->state_mu);
    if (!closed)
        return;
    pthread_mutex_lock(&l->topics_mu);
    reader_drop_locked(l, t);
    pthread_mutex_unlock(&l->topics_mu);
}

/* Loads topic `name` into a reader's table. Caller holds topics_mu; the
 * name is not in the table. MP_ENOTFOUND if there is no such topic (or it
 * is being deleted). */
static int reader_load_one(emb *l, const char *name, mp_error *e)
{
    char path[PATH_MAX];
    if (topic_path(l, name, ".json", path, sizeof path) || access(path, F_OK) != 0)
        return mp_error_set(e, MP_ENOTFOUND, "unknown topic '%s'", name);
    mp_log_topic_config cfg;
    topic *t;
    int rc = read_topic_file(l, path, name, &cfg, e);
    if (!rc)
        rc = open_topic(l, name, &cfg, 1, &t, e);
    if (rc)
        return access(path, F_OK) != 0 ? mp_error_set(e, MP_ENOTFOUND, "unknown topic '%s'", name)
                                       : rc;
    long at = topic_find(l, name);
    if (at >= 0 || insert_topic(l, (size_t)(-at - 1), t)) {
        topic_free(t);
        return mp_error_set(e, MP_ENOMEM, "topic %s: out of memory", name);
    }
    return 0;
}

/* A reader looks at the topics directory again: topics the writer deleted
 * (or deleted and created anew) leave the table, new ones are opened. With
 * `only`, just that name. */
static int reader_sync_topics(emb *l, const char *only, mp_error *e)
{
    if (!l->read_only)
        return 0;
    pthread_mutex_lock(&l->topics_mu);
    for (size_t i = 0; i < l->ntopics;) {
        topic *t = l->topics[i];
        if ((only && strcmp(t->name, only)) || reader_topic_current(l, t))
            i++;
        else
            reader_drop_locked(l, t);
    }
    int rc = 0;
    if (only) {
        if (!mp_log_valid_topic_name(only))
            rc = mp_error_set(e, MP_ENOTFOUND, "unknown topic '%s'", only);
        else if (topic_find(l, only) < 0)
            rc = reader_load_one(l, only, e);
    } else {
        DIR *d = opendir(l->topics_dir);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            const char *f = de->d_name;
            size_t fl = strlen(f);
            char name[256];
            if (fl <= 5 || fl - 5 >= sizeof name || strcmp(f + fl - 5, ".json"))
                continue;
            memcpy(name, f, fl - 5);
            name[fl - 5] = '\0';
            if (!mp_log_valid_topic_name(name) || topic_find(l, name) >= 0)
                continue;
            mp_error err;
            int r = reader_load_one(l, name, rc ? NULL : &err);
            if (r && r != MP_ENOTFOUND && !rc) {
                rc = r;
                if (e)
                    *e = err;
            }
        }
        if (d)
            closedir(d);
    }
    pthread_mutex_unlock(&l->topics_mu);
    return rc;
}

/* Catches partition p of t up with the writer (a reader's; no-op for the
 * writer). */
static int reader_refresh(emb *l, topic *t, mp_partition *p, mp_error *e)
{
    if (!l->read_only)
        return 0;
    int rc = mp_partition_refresh(p, e);
    if (rc)
        reader_check_gone(l, t, p);
    return rc;
}

/* ---- operations ---------------------------------------------------------- */

static int emb_topic_create(void *impl, const char *name, int32_t partitions,
                            const char *const *configs, size_t nconfigs, mp_error *e)
{
    emb *l = impl;
    if (l->read_only)
        return refuse(l, e, "cannot create topic %s", name);
    mp_log_topic_config cfg = l->defaults;
    int32_t dflt = cfg.partitions;
    cfg.partitions = 0; /* tells a partitions=N config from the default */
    for (size_t i = 0; i < nconfigs; i++) {
        int rc = mp_log_config_parse(&cfg, configs[i], e);
        if (rc) {
            mp_error_prefix(e, "topic %s", name);
            return rc;
        }
    }
    if (partitions > 0) {
        if (cfg.partitions > 0 && cfg.partitions != partitions)
            return mp_error_set(e, MP_EINVAL,
                                "topic %s: partitions given twice (%d and partitions=%d)", name,
                                (int)partitions, (int)cfg.partitions);
        cfg.partitions = partitions;
    } else if (cfg.partitions == 0) {
        cfg.partitions = dflt;
    }
    int crc = mp_log_config_check(&cfg, e);
    if (crc) {
        mp_error_prefix(e, "topic %s", name);
        return crc;
    }
    pthread_mutex_lock(&l->topics_mu);
    long at = topic_find(l, name);
    int rc = 0;
    if (at >= 0) {
        rc = mp_error_set(e, MP_EEXIST, "topic %s already exists", name);
        goto out;
    }
    remove_part_dirs(l, name, -1);
    for (int32_t i = 0; i < cfg.partitions && !rc; i++) {
        char dir[PATH_MAX];
        rc = part_dir(l, name, i, dir, sizeof dir)
                 ? mp_error_set(e, MP_EINVAL, "topic %s: path too long", name)
                 : mp_partition_create_dir(dir, e);
    }
    mp_fsync_dir(l->topics_dir);
    if (!rc)
        rc = write_topic_file(l, name, &cfg, e); /* the commit point */
    topic *t = NULL;
    if (!rc && (rc = open_topic(l, name, &cfg, 1, &t, e)) == 0 &&
        insert_topic(l, (size_t)(-at - 1), t)) {
        topic_free(t);
        rc = mp_error_set(e, MP_ENOMEM, "topic %s: out of memory", name);
    }
    if (rc) {
        char path[PATH_MAX];
        if (topic_path(l, name, ".json", path, sizeof path) == 0)
            unlink(path);
        remove_part_dirs(l, name, -1);
    }
out:
    pthread_mutex_unlock(&l->topics_mu);
    /* Offsets a group committed for an earlier topic of this name (a commit
     * racing that topic's delete) must not apply to the new one. */
    if (!rc)
        rc = mp_group_store_forget_topic(l->groups, name, e);
    return rc;
}

static int emb_topic_delete(void *impl, const char *name, mp_error *e)
{
    emb *l = impl;
    if (l->read_only)
        return refuse(l, e, "cannot delete topic %s", name);
    pthread_mutex_lock(&l->topics_mu);
    long at = topic_find(l, name);
    if (at < 0) {
        pthread_mutex_unlock(&l->topics_mu);
        return mp_error_set(e, MP_ENOTFOUND, "unknown topic '%s'", name);
    }
    topic *t = l->topics[at];
    memmove(l->topics + at, l->topics + at + 1, (l->ntopics - (size_t)at - 1) * sizeof *l->topics);
    l->ntopics--;
    atomic_store(&t->deleted, 1);
    for (int32_t i = 0; i < t->nparts; i++)
        mp_partition_shut(t->parts[i]);
    char path[PATH_MAX];
    int rc = 0;
    if (topic_path(l, name, ".json", path, sizeof path) == 0 && unlink(path) != 0 &&
        errno != ENOENT)
        rc = mp_error_set(e, MP_EIO, "topic %s: cannot remove %s: %s", name, path,
                          strerror(errno));
    mp_fsync_dir(l->topics_dir);
    /* The data goes only once the topic file is gone (the commit point);
     * if that failed the topic comes back, whole, on the next open. */
    if (!rc)
        remove_part_dirs(l, name, -1);
    pthread_mutex_unlock(&l->topics_mu);
    if (!rc)
        rc = mp_group_store_forget_topic(l->groups, name, e);
    wake_all(l, 0);
    topic_put(t);
    return rc;
}

static int emb_topic_alter(void *impl, const char *name, const char *const *configs, size_t n,
                           mp_error *e)
{
    emb *l = impl;
    if (l->read_only)
        return refuse(l, e, "cannot alter topic %s", name);
    /* Under topics_mu: a concurrent delete cannot remove the topic between
     * the check and the file write (which would bring the file back). */
    pthread_mutex_lock(&l->topics_mu);
    long at = topic_find(l, name);
    if (at < 0) {
        pthread_mutex_unlock(&l->topics_mu);
        return mp_error_set(e, MP_ENOTFOUND, "unknown topic '%s'", name);
    }
    topic *t = l->topics[at];
    pthread_mutex_lock(&t->cfg_mu);
    mp_log_topic_config cfg = t->cfg;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        if ((rc = mp_log_config_parse(&cfg, configs[i], e)))
            mp_error_prefix(e, "topic %s", name);
    if (!rc && cfg.partitions != t->cfg.partitions)
        rc = mp_error_set(e, MP_EINVAL, "topic %s: partitions cannot be changed (has %d)", name,
                          (int)t->cfg.partitions);
    if (!rc && (rc = mp_log_config_check(&cfg, e)))
        mp_error_prefix(e, "topic %s", name);
    if (!rc)
        rc = write_topic_file(l, name, &cfg, e);
    if (!rc)
        t->cfg = cfg;
    pthread_mutex_unlock(&t->cfg_mu);
    pthread_mutex_unlock(&l->topics_mu);
    return rc;
}

static int emb_topic_list(void *impl, char ***names, size_t *n, mp_error *e)
{
    emb *l = impl;
    int src = reader_sync_topics(l, NULL, e);
    if (src)
        return src;
    pthread_mutex_lock(&l->topics_mu);
    char **v = calloc(l->ntopics ? l->ntopics : 1, sizeof *v);
    size_t k = 0;
    int rc = v ? 0 : MP_ENOMEM;
    for (; !rc && k < l->ntopics; k++)
        if (!(v[k] = strdup(l->topics[k]->name)))
            rc = MP_ENOMEM;
    pthread_mutex_unlock(&l->topics_mu);
    if (rc) {
        mp_log_names_free(v, k);
        return mp_error_set(e, MP_ENOMEM, "topic list: out of memory");
    }
    *names = v;
    *n = k;
    return 0;
}

static int emb_partition_count(void *impl, const char *name, int32_t *n, mp_error *e)
{
    topic *t = topic_get(impl, name, e);
    if (!t)
        return MP_ENOTFOUND;
    *n = t->nparts;
    topic_put(t);
    return 0;
}

static int emb_topic_describe(void *impl, const char *name, mp_log_topic_info **out, mp_error *e)
{
    emb *l = impl;
    topic *t = topic_get(l, name, e);
    if (!t)
        return MP_ENOTFOUND;
    if (l->read_only) {
        /* The writer's latest: offsets, segments and configuration. */
        for (int32_t i = 0; i < t->nparts; i++) {
            int rc = reader_refresh(l, t, t->parts[i], e);
            if (rc) {
                topic_put(t);
                return rc;
            }
        }
        char path[PATH_MAX];
        mp_log_topic_config cfg;
        if (topic_path(l, name, ".json", path, sizeof path) == 0 &&
            read_topic_file(l, path, name, &cfg, NULL) == 0 && cfg.partitions == t->nparts) {
            pthread_mutex_lock(&t->cfg_mu);
            t->cfg = cfg;
            pthread_mutex_unlock(&t->cfg_mu);
        }
    }
    mp_log_topic_info *info = calloc(1, sizeof *info);
    if (!info || !(info->name = strdup(name)) ||
        !(info->parts = calloc((size_t)t->nparts, sizeof *info->parts))) {
        mp_log_topic_info_free(info);
        topic_put(t);
        return mp_error_set(e, MP_ENOMEM, "topic %s: out of memory", name);
    }
    info->partitions = t->nparts;
    topic_cfg(t, &info->config);
    for (int32_t i = 0; i < t->nparts; i++)
        mp_partition_info(t->parts[i], &info->parts[i]);
    topic_put(t);
    *out = info;
    return 0;
}

/* Groups records by partition (keeping their order within each) and
 * appends each group. */
static int emb_produce(void *impl, const char *name, int32_t partition, const mp_record *recs,
                       size_t n, mp_log_produced *out, mp_error *e)
{
    emb *l = impl;
    if (l->read_only)
        return refuse(l, e, "cannot produce to topic %s", name);
    topic *t = topic_get(l, name, e);
    if (!t)
        return MP_ENOTFOUND;
    mp_log_topic_config cfg;
    topic_cfg(t, &cfg);
    int rc = 0;
    if (partition >= t->nparts) {
        rc = mp_error_set(e, MP_EINVAL, "topic %s has %d partition%s (0..%d), not %d", name,
                          (int)t->nparts, t->nparts == 1 ? "" : "s", (int)t->nparts - 1,
                          (int)partition);
        topic_put(t);
        return rc;
    }
    int64_t now = mp_clock_wall_ms();
    for (size_t i = 0; i < n; i++)
        if (recs[i].timestamp < -1) {
            rc = mp_error_set(e, MP_EINVAL, "topic %s: record %zu has timestamp %lld (use -1 for "
                              "\"now\")",
                              name, i, (long long)recs[i].timestamp);
            topic_put(t);
            return rc;
        }

    /* Small calls (the common single record) stay on the stack. */
    enum { SMALL = 16 };
    int32_t part_small[SMALL];
    size_t order_small[SMALL];
    mp_record copy_small[SMALL];
    int32_t *part = n <= SMALL ? part_small : malloc(n * sizeof *part);
    size_t *order = n <= SMALL ? order_small : malloc(n * sizeof *order);
    mp_record *copy = n <= SMALL ? copy_small : malloc(n * sizeof *copy);
    size_t *count = calloc((size_t)t->nparts + 1, sizeof *count);
    if (!part || !order || !copy || !count) {
        rc = mp_error_set(e, MP_ENOMEM, "topic %s: out of memory", name);
        goto out;
    }
    /* Keyless records take consecutive round-robin positions, reserved
     * with one atomic add for the whole call. */
    unsigned rr = 0;
    if (partition < 0) {
        unsigned keyless = 0;
        for (size_t i = 0; i < n; i++)
            keyless += recs[i].key_len < 0;
        if (keyless)
            rr = atomic_fetch_add(&t->rr, keyless);
    }
    for (size_t i = 0; i < n; i++) {
        int32_t p = partition;
        if (p < 0) {
            if (recs[i].key_len >= 0)
                p = mp_kafka_partition(recs[i].key, (size_t)recs[i].key_len, t->nparts);
            else
                p = (int32_t)(rr++ % (unsigned)t->nparts);
        }
        part[i] = p;
        count[p + 1]++;
    }
    for (int32_t p = 0; p < t->nparts; p++)
        count[p + 1] += count[p];
    /* Stable counting sort: records of one partition stay in call order. */
    for (size_t i = 0; i < n; i++) {
        size_t k = count[part[i]]++;
        order[k] = i;
        copy[k] = recs[i];
        copy[k].offset = 0;
        if (copy[k].timestamp == -1)
            copy[k].timestamp = now;
    }
    size_t start = 0;
    while (start < n) {
        int32_t p = part[order[start]];
        size_t end = start;
        while (end < n && part[order[end]] == p)
            end++;
        int64_t base;
        size_t written;
        rc = mp_partition_append(t->parts[p], copy + start, end - start, &cfg, &base, &written, e);
        if (out)
            for (size_t k = 0; k < written; k++)
                out[order[start + k]] = (mp_log_produced){p, base + (int64_t)k};
        if (rc)
            break;
        start = end;
    }
out:
    if (part != part_small)
        free(part);
    if (order != order_small)
        free(order);
    if (copy != copy_small)
        free(copy);
    free(count);
    topic_put(t);
    return rc;
}

static int emb_fetch(void *impl, const char *name, int32_t partition, int64_t offset,
                     size_t max_bytes, mp_log_fetch_result *out, mp_error *e)
{
    topic *t = topic_get(impl, name, e);
    if (!t)
        return MP_ENOTFOUND;
    int rc = partition_of(t, partition, e);
    if (!rc && out->priv && out->priv_free != mp_fetch_store_free) {
        out->priv_free(out->priv); /* a result from another backend */
        out->priv = NULL;
    }
    if (!rc && !out->priv) {
        out->priv = calloc(1, sizeof(mp_fetch_store));
        out->priv_free = mp_fetch_store_free;
        if (!out->priv)
            rc = mp_error_set(e, MP_ENOMEM, "%s-%d: out of memory", name, (int)partition);
    }
    if (!rc) {
        rc = mp_partition_fetch(t->parts[partition], offset, max_bytes, out, e);
        if (rc == MP_ENOTFOUND)
            reader_check_gone(impl, t, t->parts[partition]);
    }
    topic_put(t);
    return rc;
}

static int emb_offsets(void *impl, const char *name, int32_t partition, int64_t *earliest,
                       int64_t *latest, mp_error *e)
{
    topic *t = topic_get(impl, name, e);
    if (!t)
        return MP_ENOTFOUND;
    int rc = partition_of(t, partition, e);
    if (!rc)
        rc = reader_refresh(impl, t, t->parts[partition], e);
    if (!rc)
        mp_partition_offsets(t->parts[partition], earliest, latest);
    topic_put(t);
    return rc;
}

static int emb_offset_for_time(void *impl, const char *name, int32_t partition, int64_t ts,
                               int64_t *offset, int64_t *record_ts, mp_error *e)
{
    topic *t = topic_get(impl, name, e);
    if (!t)
        return MP_ENOTFOUND;
    int rc = partition_of(t, partition, e);
    if (!rc)
        rc = reader_refresh(impl, t, t->parts[partition], e);
    if (!rc)
        rc = mp_partition_offset_for_time(t->parts[partition], ts, offset, record_ts, e);
    topic_put(t);
    return rc;
}

static void deadline_after(struct timespec *ts, int64_t ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += (time_t)(ms / 1000);
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Wake-ups a reader's wait sleeps for (ms): with inotify only a safety net,
 * without it the polling period. */
#define READER_TICK_NOTIFY_MS 250
#define READER_TICK_POLL_MS 20

static void drain_fd(int fd)
{
    char buf[4096];
    while (read(fd, buf, sizeof buf) > 0) {
    }
}

/* mp_log_wait for a reader: the writer is another process, so there is no
 * condition variable to sleep on. The partitions' directories are watched
 * with inotify (a write to a segment, a new segment, a deleted directory
 * wake us), and each wake-up -- or a short period where inotify is not
 * there -- catches the partitions up and looks again. */
static int reader_wait(emb *l, topic **ts, const mp_log_offset *pos, size_t n, int64_t timeout_ms,
                       mp_error *e)
{
    pthread_mutex_lock(&l->notify_mu);
    uint64_t gen = l->wake_gen;
    pthread_mutex_unlock(&l->notify_mu);
    /* Bytes of wakes that came before this wait began are not for it; a
     * wake that comes after bumps wake_gen, checked before every sleep. */
    drain_fd(l->wake_pipe[0]);
    int ifd = -1;
#ifdef __linux__
    ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    for (size_t i = 0; i < n && ifd >= 0; i++)
        if (inotify_add_watch(ifd, ts[i]->parts[pos[i].partition]->dir,
                              IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_DELETE | IN_DELETE_SELF |
                                  IN_MOVE_SELF) < 0) {
            close(ifd); /* out of watches: poll instead */
            ifd = -1;
        }
#endif
    int64_t tick = ifd >= 0 ? READER_TICK_NOTIFY_MS : READER_TICK_POLL_MS;
    double deadline = mp_clock_now() + (timeout_ms > 0 ? (double)timeout_ms / 1000.0 : 0.0);
    int rc = 0;
    for (;;) {
        for (size_t i = 0; i < n && !rc; i++) {
            mp_partition *p = ts[i]->parts[pos[i].partition];
            if (atomic_load(&ts[i]->deleted)) {
                rc = mp_error_set(e, MP_ENOTFOUND, "topic %s was deleted", ts[i]->name);
                break;
            }
            mp_error err;
            int r = reader_refresh(l, ts[i], p, &err);
            if (r == MP_ENOTFOUND) {
                rc = mp_error_set(e, MP_ENOTFOUND, "topic %s was deleted", ts[i]->name);
                break;
            }
            if (r) {
                /* Damage or an I/O failure: for the fetch to report. */
                rc = 1;
                break;
            }
            int64_t a, b;
            mp_partition_offsets(p, &a, &b);
            if (b > pos[i].offset)
                rc = 1;
        }
        pthread_mutex_lock(&l->notify_mu);
        int woken = l->wake_gen != gen;
        pthread_mutex_unlock(&l->notify_mu);
        if (rc || woken || timeout_ms == 0)
            break;
        int64_t ms = tick;
        if (timeout_ms > 0) {
            double left = deadline - mp_clock_now();
            if (left <= 0)
                break;
            if (left * 1000.0 < (double)ms)
                ms = (int64_t)(left * 1000.0) + 1;
        }
        struct pollfd fds[2] = {{l->wake_pipe[0], POLLIN, 0}, {ifd, POLLIN, 0}};
        if (poll(fds, ifd >= 0 ? 2 : 1, (int)ms) > 0) {
            if (fds[0].revents)
                drain_fd(l->wake_pipe[0]);
            if (ifd >= 0 && fds[1].revents)
                drain_fd(ifd);
        }
    }
    if (ifd >= 0)
        close(ifd);
    return rc;
}

static int emb_wait(void *impl, const mp_log_offset *pos, size_t n, int64_t timeout_ms,
                    mp_error *e)
{
    emb *l = impl;
    topic *small[8];
    topic **ts = n <= 8 ? small : calloc(n, sizeof *ts);
    if (!ts)
        return mp_error_set(e, MP_ENOMEM, "log: out of memory");
    size_t got = 0;
    int rc = 0;
    for (; got < n; got++) {
        ts[got] = topic_get(l, pos[got].topic, e);
        if (!ts[got]) {
            rc = MP_ENOTFOUND;
            break;
        }
        if ((rc = partition_of(ts[got], pos[got].partition, e))) {
            got++;
            break;
        }
    }
    if (timeout_ms > (int64_t)1000 * 86400 * 365 * 100)
        timeout_ms = -1; /* a century: no limit (and no time_t overflow) */
    if (!rc && l->read_only) {
        rc = reader_wait(l, ts, pos, n, timeout_ms, e);
    } else if (!rc) {
        struct timespec deadline;
        if (timeout_ms > 0)
            deadline_after(&deadline, timeout_ms);
        atomic_fetch_add(&l->waiters, 1);
        pthread_mutex_lock(&l->notify_mu);
        uint64_t gen = l->wake_gen;
        int timed_out = 0;
        for (;;) {
            for (size_t i = 0; i < n && !rc; i++) {
                if (atomic_load(&ts[i]->deleted)) {
                    rc = mp_error_set(e, MP_ENOTFOUND, "topic %s was deleted", ts[i]->name);
                    break;
                }
                int64_t a, b;
                mp_partition_offsets(ts[i]->parts[pos[i].partition], &a, &b);
                if (b > pos[i].offset)
                    rc = 1;
            }
            if (rc || l->wake_gen != gen || timed_out || timeout_ms == 0)
                break;
            if (timeout_ms < 0)
                pthread_cond_wait(&l->notify_cv, &l->notify_mu);
            else if (pthread_cond_timedwait(&l->notify_cv, &l->notify_mu, &deadline) == ETIMEDOUT)
                timed_out = 1; /* look once more, then give up */
        }
        pthread_mutex_unlock(&l->notify_mu);
        atomic_fetch_sub(&l->waiters, 1);
    }
    for (size_t i = 0; i < got; i++)
        topic_put(ts[i]);
    if (ts != small)
        free(ts);
    return rc;
}

static void emb_wake(void *impl)
{
    emb *l = impl;
    wake_all(l, 1);
    if (l->wake_pipe[1] >= 0) {
        char c = 1;
        ssize_t w = write(l->wake_pipe[1], &c, 1); /* full: a wake is pending anyway */
        (void)w;
    }
}

static int emb_read_only(void *impl) { return ((emb *)impl)->read_only; }

/* Checks that every position names an existing partition. */
static int check_positions(emb *l, const mp_log_offset *pos, size_t n, mp_error *e)
{
    for (size_t i = 0; i < n; i++) {
        topic *t = topic_get(l, pos[i].topic, e);
        if (!t)
            return MP_ENOTFOUND;
        int rc = partition_of(t, pos[i].partition, e);
        topic_put(t);
        if (rc)
            return rc;
    }
    return 0;
}

static int emb_commit(void *impl, const char *group, const mp_log_offset *pos, size_t n,
                      mp_error *e)
{
    emb *l = impl;
    int rc = check_positions(l, pos, n, e);
    if (rc) {
        mp_error_prefix(e, "group %s", group);
        return rc;
    }
    return mp_group_store_commit(l->groups, group, pos, n, e);
}

static int emb_committed(void *impl, const char *group, const char *name, int32_t partition,
                         int64_t *offset, mp_error *e)
{
    emb *l = impl;
    mp_log_offset one = {name, partition, 0};
    int rc = check_positions(l, &one, 1, e);
    if (rc)
        return rc;
    *offset = mp_group_store_get(l->groups, group, name, partition);
    return 0;
}

static int emb_group_offsets(void *impl, const char *group, mp_log_offset **out, size_t *n,
                             mp_error *e)
{
    return mp_group_store_offsets(((emb *)impl)->groups, group, out, n, e);
}

static int emb_group_list(void *impl, char ***names, size_t *n, mp_error *e)
{
    return mp_group_store_list(((emb *)impl)->groups, names, n, e);
}

static int emb_group_delete(void *impl, const char *group, mp_error *e)
{
    return mp_group_store_delete(((emb *)impl)->groups, group, e);
}

/* Runs fn on every partition of the named topic (all topics when name is
 * NULL); the first error wins but every partition is visited. */
typedef int (*part_fn)(mp_partition *p, const mp_log_topic_config *cfg, int64_t now, void *arg,
                       mp_error *e);

static int for_partitions(emb *l, const char *name, part_fn fn, void *arg, mp_error *e)
{
    topic **v;
    size_t n;
    int rc;
    if (name) {
        topic *t = topic_get(l, name, e);
        if (!t)
            return MP_ENOTFOUND;
        v = malloc(sizeof *v);
        if (!v) {
            topic_put(t);
            return mp_error_set(e, MP_ENOMEM, "log: out of memory");
        }
        v[0] = t;
        n = 1;
    } else if ((rc = topics_snapshot(l, &v, &n, e))) {
        return rc;
    }
    int first = 0;
    int64_t now = mp_clock_wall_ms();
    for (size_t i = 0; i < n; i++) {
        mp_log_topic_config cfg;
        topic_cfg(v[i], &cfg);
        for (int32_t k = 0; k < v[i]->nparts; k++) {
            mp_error err;
            rc = fn(v[i]->parts[k], &cfg, now, arg, first ? NULL : &err);
            if (rc && !first) {
                first = rc;
                if (e)
                    *e = err;
            }
        }
    }
    snapshot_put(v, n);
    return first;
}

static int do_flush(mp_partition *p, const mp_log_topic_config *cfg, int64_t now, void *arg,
                    mp_error *e)
{
    return mp_partition_flush(p, e);
}

static int do_flush_due(mp_partition *p, const mp_log_topic_config *cfg, int64_t now, void *arg,
                        mp_error *e)
{
    return mp_partition_flush_if_due(p, cfg, now, e);
}

static int do_retention(mp_partition *p, const mp_log_topic_config *cfg, int64_t now, void *arg,
                        mp_error *e)
{
    return mp_partition_enforce_retention(p, cfg, now, arg, e);
}

static int do_compact(mp_partition *p, const mp_log_topic_config *cfg, int64_t now, void *arg,
                      mp_error *e)
{
    return mp_log_compact_partition(p, cfg, now, e);
}

/* The background cleaner: compacts a partition only when it has enough new
 * data to clean (log_cleaner.h). */
static int do_clean(mp_partition *p, const mp_log_topic_config *cfg, int64_t now, void *arg,
                    mp_error *e)
{
    int rc = mp_log_cleaner_maybe_clean(p, cfg, now, e);
    return rc < 0 ? rc : 0;
}

static int emb_flush(void *impl, const char *name, mp_error *e)
{
    return for_partitions(impl, name, do_flush, NULL, e);
}

static int emb_enforce_retention(void *impl, const char *name, int64_t *deleted, mp_error *e)
{
    *deleted = 0;
    if (((emb *)impl)->read_only)
        return refuse(impl, e, "cannot apply retention");
    return for_partitions(impl, name, do_retention, deleted, e);
}

static int emb_compact(void *impl, const char *name, mp_error *e)
{
    emb *l = impl;
    if (l->read_only)
        return refuse(l, e, "cannot compact topic %s", name);
    topic *t = topic_get(l, name, e);
    if (!t)
        return MP_ENOTFOUND;
    mp_log_topic_config cfg;
    topic_cfg(t, &cfg);
    topic_put(t);
    if (!(cfg.cleanup_policy & MP_LOG_CLEANUP_COMPACT))
        return mp_error_set(e, MP_EINVAL,
                            "topic %s: cleanup.policy is delete; compaction needs compact or "
                            "compact,delete",
                            name);
    return for_partitions(l, name, do_compact, NULL, e);
}

static int emb_maintain(void *impl, mp_error *e)
{
    if (((emb *)impl)->read_only)
        return 0; /* the writer's business */
    int64_t deleted = 0;
    int rc = for_partitions(impl, NULL, do_flush_due, NULL, e);
    int rc2 = for_partitions(impl, NULL, do_retention, &deleted, rc ? NULL : e);
    return rc ? rc : rc2;
}

static void *bg_main(void *arg)
{
    emb *l = arg;
    int64_t last_retention = mp_clock_wall_ms();
    /* The cleaner looks every log.cleaner.backoff.ms (Kafka's 15 s, or the
     * retention check interval when shorter). */
    int64_t clean_every = MP_LOG_CLEANER_BACKOFF_MS;
    if (l->opts.retention_check_ms > 0 && l->opts.retention_check_ms < clean_every)
        clean_every = l->opts.retention_check_ms;
    int64_t last_clean = last_retention;
    pthread_mutex_lock(&l->bg_mu);
    while (!l->stopping) {
        struct timespec deadline;
        deadline_after(&deadline, l->opts.background_tick_ms > 0 ? l->opts.background_tick_ms : 100);
        pthread_cond_timedwait(&l->bg_cv, &l->bg_mu, &deadline);
        if (l->stopping)
            break;
        pthread_mutex_unlock(&l->bg_mu);
        /* Errors here have no caller to go to; the next foreground call on
         * the same partition meets the same problem and reports it. */
        for_partitions(l, NULL, do_flush_due, NULL, NULL);
        int64_t now = mp_clock_wall_ms();
        if (l->opts.retention_check_ms > 0 && now - last_retention >= l->opts.retention_check_ms) {
            int64_t deleted = 0;
            for_partitions(l, NULL, do_retention, &deleted, NULL);
            last_retention = now;
        }
        if (now - last_clean >= clean_every) {
            for_partitions(l, NULL, do_clean, NULL, NULL);
            last_clean = mp_clock_wall_ms();
        }
        pthread_mutex_lock(&l->bg_mu);
    }
    pthread_mutex_unlock(&l->bg_mu);
    return NULL;
}

static void emb_free(emb *l)
{
    for (size_t i = 0; i < l->ntopics; i++)
        topic_put(l->topics[i]);
    free(l->topics);
    mp_group_store_close(l->groups);
    if (l->lock_fd >= 0)
        close(l->lock_fd); /* releases the flock */
    for (int i = 0; i < 2; i++)
        if (l->wake_pipe[i] >= 0)
            close(l->wake_pipe[i]);
    pthread_mutex_destroy(&l->topics_mu);
    pthread_mutex_destroy(&l->notify_mu);
    pthread_cond_destroy(&l->notify_cv);
    pthread_mutex_destroy(&l->bg_mu);
    pthread_cond_destroy(&l->bg_cv);
    free(l->dir);
    free(l->topics_dir);
    free(l);
}

static int emb_close(void *impl, mp_error *e)
{
    emb *l = impl;
    if (l->bg_running) {
        pthread_mutex_lock(&l->bg_mu);
        l->stopping = 1;
        pthread_cond_signal(&l->bg_cv);
        pthread_mutex_unlock(&l->bg_mu);
        pthread_join(l->bg, NULL);
        l->bg_running = 0;
    }
    wake_all(l, 1);
    int rc = 0;
    for (size_t i = 0; i < l->ntopics; i++) {
        topic *t = l->topics[i];
        for (int32_t k = 0; k < t->nparts; k++) {
            mp_error err;
            int r = mp_partition_close(t->parts[k], rc ? NULL : &err);
            t->parts[k] = NULL;
            if (r && !rc) {
                rc = r;
                if (e)
                    *e = err;
            }
        }
        t->nparts = 0;
    }
    if (!rc && !l->read_only) {
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", l->dir, CLEAN_MARKER) < (int)sizeof path) {
            int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (fd >= 0) {
                fsync(fd);
                close(fd);
                mp_fsync_dir(l->dir);
            }
        }
    }
    emb_free(l);
    return rc;
}

static const mp_log_ops emb_ops = {
    .kind = "embedded",
    .close = emb_close,
    .topic_create = emb_topic_create,
    .topic_delete = emb_topic_delete,
    .topic_alter = emb_topic_alter,
    .topic_list = emb_topic_list,
    .partition_count = emb_partition_count,
    .topic_describe = emb_topic_describe,
    .produce = emb_produce,
    .fetch = emb_fetch,
    .offsets = emb_offsets,
    .offset_for_time = emb_offset_for_time,
    .wait = emb_wait,
    .wake = emb_wake,
    .commit = emb_commit,
    .committed = emb_committed,
    .group_offsets = emb_group_offsets,
    .group_list = emb_group_list,
    .group_delete = emb_group_delete,
    .flush = emb_flush,
    .enforce_retention = emb_enforce_retention,
    .compact = emb_compact,
    .maintain = emb_maintain,
    .read_only = emb_read_only,
};

/* Takes the writer's lock on the data directory (creating the directory),
 * waiting up to lock_wait_ms for another writer to let go. 0 when taken;
 * 1 when another writer has it and the options say to read instead; an
 * error otherwise. */
static int take_lock(emb *l, const mp_log_options *o, mp_error *e)
{
    char path[PATH_MAX];
    int rc = mp_mkdirs(l->topics_dir, e);
    if (rc)
        return rc;
    if (snprintf(path, sizeof path, "%s/.lock", l->dir) >= (int)sizeof path)
        return mp_error_set(e, MP_EINVAL, "%s: path too long", l->dir);
    l->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (l->lock_fd < 0)
        return mp_error_set(e, MP_EIO, "%s: cannot open: %s", path, strerror(errno));
    double until = mp_clock_now() + (o->lock_wait_ms > 0 ? (double)o->lock_wait_ms / 1000.0 : 0);
    while (flock(l->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK)
            return mp_error_set(e, MP_EIO, "%s: cannot lock: %s", path, strerror(errno));
        if (mp_clock_now() < until) {
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        char pid[32] = "";
        ssize_t r = pread(l->lock_fd, pid, sizeof pid - 1, 0);
        pid[r > 0 ? r : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(l->lock_fd);
        l->lock_fd = -1;
        if (o->read_if_locked) {
            snprintf(l->holder, sizeof l->holder, "%s", pid[0] ? pid : "unknown");
            return 1;
        }
        char waited[64] = "";
        if (o->lock_wait_ms > 0)
            snprintf(waited, sizeof waited, " (waited %lld ms)", (long long)o->lock_wait_ms);
        return mp_error_set(e, MP_EINVAL,
                            "%s: the log is open in another process (pid %s) or another handle "
                            "in this one, which has it for writing%s; readers (mlpipe consume, "
                            "topic list/describe) can run beside it, one writer at a time",
                            l->dir, pid[0] ? pid : "unknown", waited);
    }
    /* Who holds it, for the messages above (advisory only). */
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(l->lock_fd, 0) != 0 || pwrite(l->lock_fd, pid, (size_t)n, 0) != n) {
        /* the lock holds without it */
    }
    return 0;
}

/* A reader's open: takes no lock and changes nothing on disk. */
static int open_reader(emb *l, mp_error *e)
{
    if (!mp_is_dir(l->dir))
        return mp_error_set(e, MP_ENOTFOUND, "data directory %s does not exist", l->dir);
    if (pipe(l->wake_pipe) != 0)
        return mp_error_set(e, MP_EIO, "log: cannot make a pipe: %s", strerror(errno));
    for (int i = 0; i < 2; i++) {
        fcntl(l->wake_pipe[i], F_SETFL, fcntl(l->wake_pipe[i], F_GETFL) | O_NONBLOCK);
        fcntl(l->wake_pipe[i], F_SETFD, FD_CLOEXEC);
    }
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/groups", l->dir) >= (int)sizeof path)
        return mp_error_set(e, MP_EINVAL, "%s: path too long", l->dir);
    int rc = mp_group_store_open(path, 1, &l->groups, e);
    /* No topics directory yet: no topics yet (a writer makes it). */
    if (!rc && mp_is_dir(l->topics_dir))
        rc = load_topics(l, 1, e);
    return rc;
}

int mp_log_open_embedded(const char *data_dir, const mp_log_options *opts, mp_log **out,
                         mp_error *e)
{
    if (!out)
        return mp_error_set(e, MP_EINVAL, "log: open needs an output pointer");
    *out = NULL;
    if (!data_dir || !data_dir[0])
        return mp_error_set(e, MP_EINVAL, "log: no data directory");
    mp_log_options o = MP_LOG_OPTIONS_INIT;
    if (opts)
        o = *opts;
    emb *l = calloc(1, sizeof *l);
    if (!l)
        return mp_error_set(e, MP_ENOMEM, "log: out of memory");
    l->lock_fd = -1;
    l->wake_pipe[0] = l->wake_pipe[1] = -1;
    l->opts = o;
    if (o.defaults)
        l->defaults = *o.defaults;
    else
        mp_log_config_init(&l->defaults);
    l->opts.defaults = NULL;
    pthread_mutex_init(&l->topics_mu, NULL);
    pthread_mutex_init(&l->notify_mu, NULL);
    pthread_mutex_init(&l->bg_mu, NULL);
    pthread_cond_init(&l->bg_cv, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&l->notify_cv, &ca);
    pthread_condattr_destroy(&ca);
    int rc = 0;
    char path[PATH_MAX];
    size_t dl = strlen(data_dir);
    l->dir = strdup(data_dir);
    l->topics_dir = malloc(dl + sizeof "/topics");
    if (!l->dir || !l->topics_dir) {
        rc = mp_error_set(e, MP_ENOMEM, "log: out of memory");
        goto fail;
    }
    snprintf(l->topics_dir, dl + sizeof "/topics", "%s/topics", data_dir);
    l->read_only = o.read_only != 0;
    if (!l->read_only && (rc = take_lock(l, &o, e)) != 0) {
        if (rc != 1)
            goto fail;
        rc = 0;
        l->read_only = 1; /* read_if_locked: a writer is there; read beside it */
    }
    if (l->read_only) {
        if ((rc = open_reader(l, e)))
            goto fail;
    } else {
        snprintf(path, sizeof path, "%s/%s", data_dir, CLEAN_MARKER);
        int clean = access(path, F_OK) == 0;
        if (clean) {
            /* From now on a crash is not a clean shutdown. */
            if (unlink(path) != 0) {
                rc = mp_error_set(e, MP_EIO, "%s: cannot remove: %s", path, strerror(errno));
                goto fail;
            }
            mp_fsync_dir(data_dir);
        }
        snprintf(path, sizeof path, "%s/groups", data_dir);
        if ((rc = mp_group_store_open(path, 0, &l->groups, e)) || (rc = load_topics(l, clean, e)))
            goto fail;
        if (o.background) {
            if (pthread_create(&l->bg, NULL, bg_main, l) != 0) {
                rc = mp_error_set(e, MP_EIO, "log: cannot start the background thread");
                goto fail;
            }
            l->bg_running = 1;
        }
    }
    *out = mp_log_wrap(&emb_ops, l);
    if (!*out) {
        emb_close(l, NULL);
        return mp_error_set(e, MP_ENOMEM, "log: out of memory");
    }
    return 0;
fail:
    emb_free(l);
    return rc;
}
