#include "ml/registry.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fileio.h"

/* How many taken version numbers a publisher steps over before giving up;
 * only reachable if something keeps creating directories under model_dir. */
#define MP_REGISTRY_MAX_ATTEMPTS 10000

/* The version a directory name stands for, or 0 when it is not one. Only the
 * canonical spelling counts, so each number has exactly one directory. */
static long parse_version(const char *s)
{
    if (s[0] < '1' || s[0] > '9')
        return 0;
    long v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        int d = *p - '0';
        if (v > (LONG_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    return v;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

int mp_registry_versions(const char *model_dir, long **versions, size_t *n, mp_error *e)
{
    *versions = NULL;
    *n = 0;
    DIR *d = opendir(model_dir);
    if (!d) {
        int err = errno;
        if (err == ENOENT)
            return mp_error_set(e, MP_ENOTFOUND, "%s: no such model directory", model_dir);
        if (err == ENOTDIR)
            return mp_error_set(e, MP_ENOTFOUND, "%s: not a model directory", model_dir);
        return mp_error_set(e, MP_EIO, "%s: cannot list: %s", model_dir, strerror(err));
    }
    long *v = NULL;
    size_t cnt = 0, cap = 0;
    struct dirent *de;
    int rc = 0;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        long ver = parse_version(de->d_name);
        if (!ver)
            continue;
        if (de->d_type != DT_DIR) {
            /* d_type may be unknown (some file systems) or a symlink. */
            char child[PATH_MAX];
            struct stat st;
            if (de->d_type != DT_UNKNOWN && de->d_type != DT_LNK)
                continue;
            if (snprintf(child, sizeof child, "%s/%s", model_dir, de->d_name) >= (int)sizeof child ||
                stat(child, &st) != 0 || !S_ISDIR(st.st_mode))
                continue;
        }
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            long *nv = realloc(v, ncap * sizeof *nv);
            if (!nv) {
                rc = mp_error_set(e, MP_ENOMEM, "%s: out of memory", model_dir);
                break;
            }
            v = nv;
            cap = ncap;
        }
        v[cnt++] = ver;
        errno = 0;
    }
    if (!rc && errno != 0)
        rc = mp_error_set(e, MP_EIO, "%s: cannot list: %s", model_dir, strerror(errno));
    closedir(d);
    if (rc) {
        free(v);
        return rc;
    }
    if (cnt > 1)
        qsort(v, cnt, sizeof *v, cmp_long);
    *versions = v;
    *n = cnt;
    return 0;
}

int mp_registry_latest(const char *model_dir, long *version, mp_error *e)
{
    long *v;
    size_t n;
    int rc = mp_registry_versions(model_dir, &v, &n, e);
    if (rc)
        return rc;
    if (n == 0)
        return mp_error_set(e, MP_ENOTFOUND, "%s: no model versions", model_dir);
    *version = v[n - 1];
    free(v);
    return 0;
}

/* fsyncs every file under dir and dir itself, so that the rename publishing
 * it cannot reach the disk before its contents do. *count receives the
 * number of entries directly in dir. */
static int sync_tree(const char *dir, size_t *count, mp_error *e)
{
    DIR *d = opendir(dir);
    if (!d)
        return mp_error_set(e, MP_EIO, "%s: cannot list: %s", dir, strerror(errno));
    struct dirent *de;
    int rc = 0;
    size_t cnt = 0;
    while (!rc && (de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        cnt++;
        char child[PATH_MAX];
        struct stat st;
        if (snprintf(child, sizeof child, "%s/%s", dir, de->d_name) >= (int)sizeof child) {
            rc = mp_error_set(e, MP_EINVAL, "%s/%s: path too long", dir, de->d_name);
            break;
        }
        if (lstat(child, &st) != 0) {
            rc = mp_error_set(e, MP_EIO, "%s: %s", child, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            size_t sub;
            rc = sync_tree(child, &sub, e);
        } else if (S_ISREG(st.st_mode)) {
            int fd = open(child, O_RDONLY | O_CLOEXEC);
            if (fd < 0 || fsync(fd) != 0)
                rc = mp_error_set(e, MP_EIO, "%s: cannot flush: %s", child, strerror(errno));
            if (fd >= 0)
                close(fd);
        }
    }
    closedir(d);
    if (!rc && mp_fsync_dir(dir) != 0)
        rc = mp_error_set(e, MP_EIO, "%s: cannot flush directory", dir);
    *count = cnt;
    return rc;
}

int mp_registry_publish(const char *model_dir, mp_registry_writer fn, void *ctx, long *version,
                        mp_error *e)
{
    if (!model_dir || !*model_dir || !fn)
        return mp_error_set(e, MP_EINVAL, "publish needs a model directory and a writer");
    int rc = mp_mkdirs(model_dir, e);
    if (rc)
        return rc;
    char tmp[PATH_MAX];
    /* Room for the final "/<version>" in the same buffer size as well. */
    if (snprintf(tmp, sizeof tmp, "%s/.tmp-XXXXXX", model_dir) >= (int)sizeof tmp - 24)
        return mp_error_set(e, MP_EINVAL, "%s: path too long", model_dir);
    if (!mkdtemp(tmp))
        return mp_error_set(e, MP_EIO, "%s: cannot create a temporary directory: %s", model_dir,
                            strerror(errno));
    rc = fn(tmp, ctx, e);
    if (rc) {
        if (rc > 0) /* a writer breaking the convention still fails */
            rc = mp_error_set(e, MP_EIO, "%s: model writer failed (returned %d)", model_dir, rc);
        goto fail;
    }
    size_t nfiles = 0;
    if ((rc = sync_tree(tmp, &nfiles, e)))
        goto fail;
    if (nfiles == 0) {
        /* An empty directory could itself be replaced by a concurrent rename,
         * which would break the no-overwrite guarantee. */
        rc = mp_error_set(e, MP_EINVAL, "%s: model writer wrote no files", model_dir);
        goto fail;
    }
    long next = 0;
    for (int attempt = 0;; attempt++) {
        long latest = 0;
        long *v;
        size_t n;
        if ((rc = mp_registry_versions(model_dir, &v, &n, e)))
            goto fail;
        if (n)
            latest = v[n - 1];
        free(v);
        /* Never reuse a number below the newest, even one left free by a
         * deleted version: "latest" must always be the last published. */
        if (next <= latest)
            next = latest;
        if (next == LONG_MAX || attempt >= MP_REGISTRY_MAX_ATTEMPTS) {
            rc = mp_error_set(e, MP_EIO, "%s: could not claim a version number", model_dir);
            goto fail;
        }
        next++;
        char dst[PATH_MAX + 32];
        snprintf(dst, sizeof dst, "%s/%ld", model_dir, next);
        if (rename(tmp, dst) == 0)
            break;
        int err = errno;
        /* The number is taken (by a version or something else): try again. */
        if (err == EEXIST || err == ENOTEMPTY || err == ENOTDIR)
            continue;
        rc = mp_error_set(e, MP_EIO, "%s: cannot rename %s into place: %s", dst, tmp, strerror(err));
        goto fail;
    }
    /* The version is visible already, so a failure to flush the rename is
     * not reported: calling it a failed publish would invite a duplicate. */
    (void)mp_fsync_dir(model_dir);
    if (version)
        *version = next;
    return 0;
fail:
    mp_remove_tree(tmp);
    return rc;
}

/* Appends "1, 2, 3" (abridged in the middle when long) to out. */
static void format_versions(char *out, size_t size, const long *v, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && used < size; i++) {
        if (n > 12 && i == 5) {
            used += (size_t)snprintf(out + used, size - used, ", ...");
            i = n - 6;
            continue;
        }
        used += (size_t)snprintf(out + used, size - used, "%s%ld", i ? ", " : "", v[i]);
    }
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int put_out(char *dir_out, size_t dir_out_len, const char *dir, long ver, const char *path,
                   mp_error *e)
{
    int len = ver ? snprintf(dir_out, dir_out_len, "%s/%ld", dir, ver)
                  : snprintf(dir_out, dir_out_len, "%s", dir);
    if (len < 0 || (size_t)len >= dir_out_len)
        return mp_error_set(e, MP_EINVAL, "%s: path too long", path);
    return 0;
}

int mp_registry_resolve(const char *path, char *dir_out, size_t dir_out_len, long *version,
                        mp_error *e)
{
    if (!path || !*path || !dir_out || dir_out_len == 0)
        return mp_error_set(e, MP_EINVAL, "no model path given");
    char p[PATH_MAX];
    if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p - 32)
        return mp_error_set(e, MP_EINVAL, "%s: path too long", path);
    size_t len = strlen(p);
    while (len > 1 && p[len - 1] == '/')
        p[--len] = '\0';
    char *slash = strrchr(p, '/');
    const char *last = slash ? slash + 1 : p;
    long n = parse_version(last);

    char file[PATH_MAX + 32];
    snprintf(file, sizeof file, "%s/%s", p, MP_REGISTRY_MODEL_FILE);
    if (n > 0 && is_file(file)) {
        int rc = put_out(dir_out, dir_out_len, p, 0, path, e);
        if (!rc && version)
            *version = n;
        return rc;
    }
    if (mp_is_dir(p)) {
        long *v;
        size_t cnt;
        int rc = mp_registry_versions(p, &v, &cnt, e);
        if (rc)
            return rc;
        long latest = cnt ? v[cnt - 1] : 0;
        free(v);
        if (latest > 0) {
            rc = put_out(dir_out, dir_out_len, p, latest, path, e);
            if (!rc && version)
                *version = latest;
            return rc;
        }
        if (n > 0) { /* a version directory without its model file (yet) */
            rc = put_out(dir_out, dir_out_len, p, 0, path, e);
            if (!rc && version)
                *version = n;
            return rc;
        }
        return mp_error_set(e, MP_ENOTFOUND, "%s: no model versions", p);
    }
    if (n > 0) {
        char parent[PATH_MAX];
        if (!slash)
            snprintf(parent, sizeof parent, ".");
        else if (slash == p)
            snprintf(parent, sizeof parent, "/");
        else
            snprintf(parent, sizeof parent, "%.*s", (int)(slash - p), p);
        long *v;
        size_t cnt;
        if (mp_is_dir(parent) && mp_registry_versions(parent, &v, &cnt, NULL) == 0) {
            if (cnt > 0) {
                char list[512];
                format_versions(list, sizeof list, v, cnt);
                free(v);
                return mp_error_set(e, MP_ENOTFOUND, "%s: no version %ld (versions: %s)", parent, n,
                                    list);
            }
            free(v);
            return mp_error_set(e, MP_ENOTFOUND, "%s: no version %ld (no model versions)", parent,
                                n);
        }
    }
    struct stat st;
    if (stat(p, &st) == 0)
        return mp_error_set(e, MP_ENOTFOUND, "%s: not a model directory", p);
    return mp_error_set(e, MP_ENOTFOUND, "%s: no such model directory", p);
}
