#include "log/log_groups.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/fileio.h"

typedef struct group {
    char *name;
    json_t *offsets; /* {"topic": {"partition": offset}} */
} group;

struct mp_group_store {
    char *dir;
    int read_only; /* opened by a reader of the log: no clean-up at open */
    int lock_fd;   /* <dir>/.lock, opened at the first change; -1 before */
    pthread_mutex_t mu;
    group *v; /* sorted by name */
    size_t n, cap;
};

static int file_name(const mp_group_store *g, const char *group_name, char *out, size_t n)
{
    mp_buf b = {0};
    mp_buf_puts(&b, g->dir);
    mp_buf_putc(&b, '/');
    for (const unsigned char *p = (const unsigned char *)group_name; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '_' || *p == '-')
            mp_buf_putc(&b, (char)*p);
        else
            mp_buf_printf(&b, "%%%02X", *p);
    }
    mp_buf_puts(&b, ".json");
    int rc = b.oom ? MP_ENOMEM : b.len >= n ? MP_EINVAL : 0;
    if (!rc)
        memcpy(out, b.data, b.len + 1);
    mp_buf_free(&b);
    return rc;
}

/* The index of name, or -(insertion point) - 1. */
static long find(const mp_group_store *g, const char *name)
{
    size_t lo = 0, hi = g->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(g->v[mid].name, name);
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

static int insert(mp_group_store *g, size_t at, char *name, json_t *offsets)
{
    if (g->n == g->cap) {
        size_t c = g->cap ? g->cap * 2 : 8;
        group *p = realloc(g->v, c * sizeof *p);
        if (!p)
            return MP_ENOMEM;
        g->v = p;
        g->cap = c;
    }
    memmove(g->v + at + 1, g->v + at, (g->n - at) * sizeof *g->v);
    g->v[at] = (group){name, offsets};
    g->n++;
    return 0;
}

/* Offsets must map topic names to objects of decimal partition ids to
 * non-negative integers. */
static int valid_offsets(json_t *o)
{
    if (!json_is_object(o))
        return 0;
    const char *topic;
    json_t *parts;
    json_object_foreach(o, topic, parts) {
        if (!json_is_object(parts))
            return 0;
        const char *k;
        json_t *v;
        json_object_foreach(parts, k, v) {
            char *end;
            long id = strtol(k, &end, 10);
            if (!k[0] || *end || id < 0 || id > INT32_MAX || !json_is_integer(v) ||
                json_integer_value(v) < 0)
                return 0;
        }
    }
    return 1;
}

/* Parses a group file: its exact name and offsets (a new reference). */
static int parse_file(const char *path, char **name_out, json_t **offsets_out, mp_error *e)
{
    *name_out = NULL;
    *offsets_out = NULL;
    json_error_t jerr;
    json_t *root = json_load_file(path, 0, &jerr);
    if (!root)
        return mp_error_set(e, errno == ENOENT && access(path, F_OK) != 0 ? MP_ENOTFOUND
                                                                          : MP_EFORMAT,
                            "%s:%d:%d: %s", path, jerr.line, jerr.column, jerr.text);
    json_t *name = json_object_get(root, "group"), *offs = json_object_get(root, "offsets");
    int rc = 0;
    if (!json_is_string(name) || !json_string_value(name)[0] || !valid_offsets(offs)) {
        rc = mp_error_set(e, MP_EFORMAT,
                          "%s: not a consumer-group file (expected \"group\" and \"offsets\" "
                          "mapping topics to partition offsets)",
                          path);
    } else if (!(*name_out = strdup(json_string_value(name)))) {
        rc = mp_error_set(e, MP_ENOMEM, "%s: out of memory", path);
    } else {
        *offsets_out = json_incref(offs);
    }
    json_decref(root);
    return rc;
}

static int load_file(mp_group_store *g, const char *path, mp_error *e)
{
    char *n;
    json_t *offs;
    int rc = parse_file(path, &n, &offs, e);
    if (rc)
        return rc;
    long at = find(g, n);
    if (at >= 0) {
        rc = mp_error_set(e, MP_EFORMAT, "%s: group '%s' is stored twice", path, n);
    } else if (insert(g, (size_t)(-at - 1), n, offs)) {
        rc = mp_error_set(e, MP_ENOMEM, "%s: out of memory", path);
    } else {
        return 0;
    }
    free(n);
    json_decref(offs);
    return rc;
}

/* Makes the in-memory copy of group `name` what its file holds now:
 * another process (a reader of the log consuming with a group) may have
 * committed since. Caller holds g->mu. */
static int reload_group(mp_group_store *g, const char *name, mp_error *e)
{
    char path[PATH_MAX];
    int rc = file_name(g, name, path, sizeof path);
    if (rc)
        return mp_error_set(e, rc, "group %s: %s", name,
                            rc == MP_ENOMEM ? "out of memory" : "file name too long");
    long at = find(g, name);
    char *n = NULL;
    json_t *offs = NULL;
    rc = parse_file(path, &n, &offs, e);
    if (rc == MP_ENOTFOUND) {
        if (at >= 0) { /* deleted by another process */
            free(g->v[at].name);
            json_decref(g->v[at].offsets);
            memmove(g->v + at, g->v + at + 1, (g->n - (size_t)at - 1) * sizeof *g->v);
            g->n--;
        }
        return 0;
    }
    if (rc)
        return rc;
    if (strcmp(n, name)) {
        rc = mp_error_set(e, MP_EFORMAT, "%s: holds group '%s', not '%s'", path, n, name);
    } else if (at >= 0) {
        json_decref(g->v[at].offsets);
        g->v[at].offsets = offs;
        offs = NULL;
    } else if (insert(g, (size_t)(-at - 1), n, offs) == 0) {
        return 0;
    } else {
        rc = mp_error_set(e, MP_ENOMEM, "group %s: out of memory", name);
    }
    free(n);
    json_decref(offs);
    return rc;
}

/* Reloads every group from the directory (groups another process created
 * or deleted included). Caller holds g->mu. */
static int reload_all(mp_group_store *g, mp_error *e)
{
    group *old = g->v;
    size_t nold = g->n;
    g->v = NULL;
    g->n = g->cap = 0;
    int rc = 0;
    DIR *d = opendir(g->dir);
    if (d) {
        struct dirent *de;
        while (!rc && (de = readdir(d)) != NULL) {
            const char *f = de->d_name;
            size_t fl = strlen(f);
            char path[PATH_MAX];
            if (fl <= 5 || strcmp(f + fl - 5, ".json") ||
                snprintf(path, sizeof path, "%s/%s", g->dir, f) >= (int)sizeof path)
                continue;
            rc = load_file(g, path, e);
            if (rc == MP_ENOTFOUND)
                rc = 0; /* deleted while we listed */
        }
        closedir(d);
    } else if (errno != ENOENT) {
        rc = mp_error_set(e, MP_EIO, "%s: %s", g->dir, strerror(errno));
    }
    group *drop = old;
    size_t ndrop = nold;
    if (rc) { /* keep what we had */
        drop = g->v;
        ndrop = g->n;
        g->v = old;
        g->n = g->cap = nold;
    }
    for (size_t i = 0; i < ndrop; i++) {
        free(drop[i].name);
        json_decref(drop[i].offsets);
    }
    free(drop);
    return rc;
}

/* Takes the groups' cross-process lock (flock on <dir>/.lock), held around
 * every change: a change rereads the file it changes, so that commits from
 * the writer of the log and from its readers in other processes do not
 * undo each other. Caller holds g->mu. */
static int cross_lock(mp_group_store *g, mp_error *e)
{
    if (g->lock_fd < 0) {
        int rc = mp_mkdirs(g->dir, e);
        if (rc)
            return rc;
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/.lock", g->dir) >= (int)sizeof path)
            return mp_error_set(e, MP_EINVAL, "%s: path too long", g->dir);
        g->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (g->lock_fd < 0)
            return mp_error_set(e, MP_EIO, "%s: cannot open: %s", path, strerror(errno));
    }
    while (flock(g->lock_fd, LOCK_EX) != 0)
        if (errno != EINTR)
            return mp_error_set(e, MP_EIO, "%s/.lock: cannot lock: %s", g->dir, strerror(errno));
    return 0;
}

static void cross_unlock(mp_group_store *g) { flock(g->lock_fd, LOCK_UN); }

void mp_group_store_close(mp_group_store *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n; i++) {
        free(g->v[i].name);
        json_decref(g->v[i].offsets);
    }
    free(g->v);
    free(g->dir);
    if (g->lock_fd >= 0)
        close(g->lock_fd);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

int mp_group_store_open(const char *dir, int read_only, mp_group_store **out, mp_error *e)
{
    *out = NULL;
    int rc = read_only ? 0 : mp_mkdirs(dir, e);
    if (rc)
        return rc;
    mp_group_store *g = calloc(1, sizeof *g);
    if (!g || !(g->dir = strdup(dir))) {
        free(g);
        return mp_error_set(e, MP_ENOMEM, "%s: out of memory", dir);
    }
    g->read_only = read_only != 0;
    g->lock_fd = -1;
    pthread_mutex_init(&g->mu, NULL);
    if (!read_only) {
        /* Temporary files of interrupted commits go -- under the lock, so
         * that one being written by a reader in another process stays. */
        if ((rc = cross_lock(g, e))) {
            mp_group_store_close(g);
            return rc;
        }
        DIR *d = opendir(dir);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            char path[PATH_MAX];
            if (strstr(de->d_name, ".json.tmp.") &&
                snprintf(path, sizeof path, "%s/%s", dir, de->d_name) < (int)sizeof path)
                unlink(path);
        }
        if (d)
            closedir(d);
        cross_unlock(g);
    }
    rc = reload_all(g, e);
    if (rc) {
        mp_group_store_close(g);
        return rc;
    }
    *out = g;
    return 0;
}

static int write_group(mp_group_store *g, const char *name, json_t *offsets, mp_error *e)
{
    char path[PATH_MAX];
    int rc = file_name(g, name, path, sizeof path);
    if (rc)
        return mp_error_set(e, rc, "group %s: %s", name,
                            rc == MP_ENOMEM ? "out of memory" : "file name too long");
    json_t *root = json_pack("{s:s, s:O}", "group", name, "offsets", offsets);
    char *text = root ? json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    json_decref(root);
    if (!text)
        return mp_error_set(e, MP_ENOMEM, "group %s: out of memory", name);
    rc = mp_write_atomic(path, text, strlen(text), e);
    free(text);
    if (rc)
        mp_error_prefix(e, "group %s", name);
    return rc;
}

int mp_group_store_commit(mp_group_store *g, const char *name, const mp_log_offset *pos,
                          size_t n, mp_error *e)
{
    pthread_mutex_lock(&g->mu);
    int rc = cross_lock(g, e);
    if (rc) {
        pthread_mutex_unlock(&g->mu);
        return rc;
    }
    if ((rc = reload_group(g, name, e))) {
        cross_unlock(g);
        pthread_mutex_unlock(&g->mu);
        return rc;
    }
    long at = find(g, name);
    json_t *next = at >= 0 ? json_deep_copy(g->v[at].offsets) : json_object();
    rc = next ? 0 : MP_ENOMEM;
    for (size_t i = 0; i < n && !rc; i++) {
        json_t *t = json_object_get(next, pos[i].topic);
        if (!t) {
            t = json_object();
            if (!t || json_object_set_new(next, pos[i].topic, t)) {
                rc = MP_ENOMEM;
                break;
            }
        }
        char key[16];
        snprintf(key, sizeof key, "%d", (int)pos[i].partition);
        if (json_object_set_new(t, key, json_integer(pos[i].offset)))
            rc = MP_ENOMEM;
    }
    if (rc) {
        json_decref(next);
        cross_unlock(g);
        pthread_mutex_unlock(&g->mu);
        return mp_error_set(e, MP_ENOMEM, "group %s: out of memory", name);
    }
    rc = write_group(g, name, next, e);
    cross_unlock(g);
    if (!rc) {
        if (at >= 0) {
            json_decref(g->v[at].offsets);
            g->v[at].offsets = next;
            next = NULL;
        } else {
            char *copy = strdup(name);
            if (!copy || insert(g, (size_t)(-at - 1), copy, next)) {
                free(copy);
                rc = mp_error_set(e, MP_ENOMEM, "group %s: out of memory", name);
            } else {
                next = NULL;
            }
        }
    }
    json_decref(next);
    pthread_mutex_unlock(&g->mu);
    return rc;
}

int64_t mp_group_store_get(mp_group_store *g, const char *name, const char *topic,
                           int32_t partition)
{
    int64_t off = -1;
    pthread_mutex_lock(&g->mu);
    if (reload_group(g, name, NULL)) {
        /* An unreadable file: the copy in memory (if any) stands. */
    }
    long at = find(g, name);
    if (at >= 0) {
        char key[16];
        snprintf(key, sizeof key, "%d", (int)partition);
        json_t *v = json_object_get(json_object_get(g->v[at].offsets, topic), key);
        if (json_is_integer(v))
            off = json_integer_value(v);
    }
    pthread_mutex_unlock(&g->mu);
    return off;
}

static int cmp_pos(const void *a, const void *b)
{
    const mp_log_offset *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

int mp_group_store_offsets(mp_group_store *g, const char *name, mp_log_offset **out, size_t *n,
                           mp_error *e)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&g->mu);
    int lrc = reload_group(g, name, e);
    if (lrc) {
        pthread_mutex_unlock(&g->mu);
        return lrc;
    }
    long at = find(g, name);
    if (at < 0) {
        pthread_mutex_unlock(&g->mu);
        return mp_error_set(e, MP_ENOTFOUND, "no consumer group '%s'", name);
    }
    size_t total = 0, k = 0;
    const char *topic;
    json_t *parts;
    json_object_foreach(g->v[at].offsets, topic, parts) total += json_object_size(parts);
    mp_log_offset *v = calloc(total ? total : 1, sizeof *v);
    int rc = v ? 0 : MP_ENOMEM;
    json_object_foreach(g->v[at].offsets, topic, parts)
    {
        const char *key;
        json_t *val;
        json_object_foreach(parts, key, val)
        {
            if (rc)
                break;
            char *t = strdup(topic);
            if (!t) {
                rc = MP_ENOMEM;
                break;
            }
            v[k].topic = t;
            v[k].partition = (int32_t)strtol(key, NULL, 10);
            v[k].offset = json_integer_value(val);
            k++;
        }
    }
    pthread_mutex_unlock(&g->mu);
    if (rc) {
        mp_log_offsets_free(v, k);
        return mp_error_set(e, MP_ENOMEM, "group %s: out of memory", name);
    }
    qsort(v, k, sizeof *v, cmp_pos);
    *out = v;
    *n = k;
    return 0;
}

int mp_group_store_list(mp_group_store *g, char ***names, size_t *n, mp_error *e)
{
    pthread_mutex_lock(&g->mu);
    int lrc = reload_all(g, e);
    if (lrc) {
        pthread_mutex_unlock(&g->mu);
        return lrc;
    }
    char **v = calloc(g->n ? g->n : 1, sizeof *v);
    size_t k = 0;
    int rc = v ? 0 : MP_ENOMEM;
    for (; !rc && k < g->n; k++)
        if (!(v[k] = strdup(g->v[k].name)))
            rc = MP_ENOMEM;
    pthread_mutex_unlock(&g->mu);
    if (rc) {
        mp_log_names_free(v, k);
        return mp_error_set(e, MP_ENOMEM, "consumer groups: out of memory");
    }
    *names = v;
    *n = k;
    return 0;
}

int mp_group_store_delete(mp_group_store *g, const char *name, mp_error *e)
{
    pthread_mutex_lock(&g->mu);
    int rc = cross_lock(g, e);
    if (rc) {
        pthread_mutex_unlock(&g->mu);
        return rc;
    }
    if ((rc = reload_group(g, name, e))) {
        cross_unlock(g);
        pthread_mutex_unlock(&g->mu);
        return rc;
    }
    long at = find(g, name);
    char path[PATH_MAX];
    if (at < 0) {
        rc = mp_error_set(e, MP_ENOTFOUND, "no consumer group '%s'", name);
    } else if (file_name(g, name, path, sizeof path) == 0 && unlink(path) != 0 &&
               errno != ENOENT) {
        rc = mp_error_set(e, MP_EIO, "group %s: cannot remove %s: %s", name, path,
                          strerror(errno));
    } else {
        mp_fsync_dir(g->dir);
        free(g->v[at].name);
        json_decref(g->v[at].offsets);
        memmove(g->v + at, g->v + at + 1, (g->n - (size_t)at - 1) * sizeof *g->v);
        g->n--;
    }
    cross_unlock(g);
    pthread_mutex_unlock(&g->mu);
    return rc;
}

int mp_group_store_forget_topic(mp_group_store *g, const char *topic, mp_error *e)
{
    pthread_mutex_lock(&g->mu);
    int rc = cross_lock(g, e);
    if (rc) {
        pthread_mutex_unlock(&g->mu);
        return rc;
    }
    rc = reload_all(g, e);
    for (size_t i = 0; i < g->n && !rc; i++) {
        if (!json_object_get(g->v[i].offsets, topic))
            continue;
        json_t *next = json_deep_copy(g->v[i].offsets);
        if (!next) {
            rc = mp_error_set(e, MP_ENOMEM, "group %s: out of memory", g->v[i].name);
            break;
        }
        json_object_del(next, topic);
        rc = write_group(g, g->v[i].name, next, e);
        if (rc) {
            json_decref(next);
        } else {
            json_decref(g->v[i].offsets);
            g->v[i].offsets = next;
        }
    }
    cross_unlock(g);
    pthread_mutex_unlock(&g->mu);
    return rc;
}
