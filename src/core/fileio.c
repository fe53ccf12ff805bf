#include "core/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static int read_fd_all(int fd, char **out, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *p = malloc(cap);
    if (!p)
        return MP_ENOMEM;
    for (;;) {
        if (n + 1 >= cap) {
            char *q = realloc(p, cap * 2);
            if (!q) {
                free(p);
                return MP_ENOMEM;
            }
            p = q;
            cap *= 2;
        }
        ssize_t r = read(fd, p + n, cap - n - 1);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            free(p);
            return MP_EIO;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    p[n] = '\0';
    *out = p;
    *len = n;
    return 0;
}

static int gunzip_buffer(const char *path, const char *in, size_t inlen, char **out, size_t *outlen,
                         mp_error *e)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 32) != Z_OK)
        return mp_error_set(e, MP_ENOMEM, "%s: cannot start gzip decoder", path);
    size_t cap = inlen * 4 + 1024, n = 0;
    char *p = malloc(cap);
    if (!p) {
        inflateEnd(&zs);
        return mp_error_set(e, MP_ENOMEM, "%s: out of memory", path);
    }
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)inlen; /* callers cap inputs below 4 GiB */
    int rc;
    for (;;) {
        if (cap - n < 2) {
            char *q = realloc(p, cap * 2);
            if (!q) {
                free(p);
                inflateEnd(&zs);
                return mp_error_set(e, MP_ENOMEM, "%s: out of memory", path);
            }
            p = q;
            cap *= 2;
        }
        size_t room = cap - n - 1;
        if (room > (1u << 30))
            room = 1u << 30;
        zs.next_out = (Bytef *)(p + n);
        zs.avail_out = (uInt)room;
        rc = inflate(&zs, Z_NO_FLUSH);
        n += room - zs.avail_out;
        if (rc == Z_STREAM_END) {
            /* Concatenated gzip members are legal; continue with the next. */
            if (zs.avail_in > 0) {
                inflateReset(&zs);
                continue;
            }
            break;
        }
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            free(p);
            inflateEnd(&zs);
            return mp_error_set(e, MP_EINPUT, "%s: corrupt gzip data (%s)", path,
                                zs.msg ? zs.msg : "inflate failed");
        }
        if (rc == Z_BUF_ERROR && zs.avail_in == 0) {
            free(p);
            inflateEnd(&zs);
            return mp_error_set(e, MP_EINPUT, "%s: truncated gzip data", path);
        }
    }
    inflateEnd(&zs);
    p[n] = '\0';
    *out = p;
    *outlen = n;
    return 0;
}

static int read_file(const char *path, int gunzip, char **out, size_t *len, mp_error *e)
{
    int fd = strcmp(path, "-") == 0 ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mp_error_set(e, errno == ENOENT ? MP_ENOTFOUND : MP_EIO, "%s: %s", path,
                            strerror(errno));
    struct stat st;
    if (fd != 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        return mp_error_set(e, MP_EINPUT, "%s: is a directory", path);
    }
    char *raw;
    size_t n;
    int rc = read_fd_all(fd, &raw, &n);
    if (fd != 0)
        close(fd);
    if (rc)
        return mp_error_set(e, rc, "%s: %s", path, rc == MP_ENOMEM ? "out of memory" : strerror(errno));
    if (gunzip && n >= 2 && (unsigned char)raw[0] == 0x1f && (unsigned char)raw[1] == 0x8b) {
        if (n > UINT_MAX) {
            free(raw);
            return mp_error_set(e, MP_EINPUT, "%s: compressed file too large", path);
        }
        rc = gunzip_buffer(path, raw, n, out, len, e);
        free(raw);
        return rc;
    }
    *out = raw;
    *len = n;
    return 0;
}

int mp_read_file(const char *path, char **out, size_t *len, mp_error *e)
{
    return read_file(path, 1, out, len, e);
}

int mp_read_file_raw(const char *path, char **out, size_t *len, mp_error *e)
{
    return read_file(path, 0, out, len, e);
}

int mp_fsync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return MP_EIO;
    int rc = fsync(fd);
    close(fd);
    return rc ? MP_EIO : 0;
}

static void dir_of(const char *path, char *dir, size_t n)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, n, ".");
    else if (slash == path)
        snprintf(dir, n, "/");
    else
        snprintf(dir, n, "%.*s", (int)(slash - path), path);
}

int mp_write_atomic(const char *path, const void *data, size_t len, mp_error *e)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
        return mp_error_set(e, MP_EINVAL, "%s: path too long", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return mp_error_set(e, MP_EIO, "%s: cannot create temporary file: %s", path, strerror(errno));
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            int err = errno;
            close(fd);
            unlink(tmp);
            return mp_error_set(e, MP_EIO, "%s: write failed: %s", path, strerror(err));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
        int err = errno;
        close(fd);
        unlink(tmp);
        return mp_error_set(e, MP_EIO, "%s: cannot flush: %s", path, strerror(err));
    }
    if (close(fd) != 0) {
        int err = errno;
        unlink(tmp);
        return mp_error_set(e, MP_EIO, "%s: close failed: %s", path, strerror(err));
    }
    if (rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        return mp_error_set(e, MP_EIO, "%s: cannot rename into place: %s", path, strerror(err));
    }
    char dir[PATH_MAX];
    dir_of(path, dir, sizeof dir);
    mp_fsync_dir(dir);
    return 0;
}

int mp_mkdirs(const char *path, mp_error *e)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return mp_error_set(e, MP_EINVAL, "%s: path too long", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return mp_error_set(e, MP_EIO, "%s: cannot create directory: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return mp_error_set(e, MP_EIO, "%s: cannot create directory: %s", buf, strerror(errno));
    if (!mp_is_dir(buf))
        return mp_error_set(e, MP_EIO, "%s: exists and is not a directory", buf);
    return 0;
}

int mp_remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (!d)
        return unlink(path) == 0 ? 0 : MP_EIO;
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char child[PATH_MAX];
        snprintf(child, sizeof child, "%s/%s", path, de->d_name);
        struct stat st;
        if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode))
            rc |= mp_remove_tree(child);
        else if (unlink(child) != 0)
            rc = MP_EIO;
    }
    closedir(d);
    if (rmdir(path) != 0)
        rc = MP_EIO;
    return rc;
}

int mp_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}
