/* Helpers shared by the log tests (tests/unit/test_log_*.c): a scratch data
 * directory, opening the embedded log without a background thread, and
 * reading a whole partition back. Header-only, static functions. */
#ifndef MP_LOG_TEST_UTIL_H
#define MP_LOG_TEST_UTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fileio.h"
#include "log/log.h"
#include "test.h"

static char lt_root[] = "/tmp/mp_test_log_XXXXXX";
static int lt_counter;

/* A fresh, empty directory under the test's scratch root. */
static inline const char *lt_dir(char *buf, size_t n)
{
    if (lt_counter == 0 && !mkdtemp(lt_root)) {
        perror("mkdtemp");
        exit(2);
    }
    snprintf(buf, n, "%s/d%d", lt_root, ++lt_counter);
    return buf;
}

static inline void lt_cleanup(void) { mp_remove_tree(lt_root); }

static inline mp_log *lt_open(const char *dir)
{
    mp_log_options o = MP_LOG_OPTIONS_INIT;
    o.background = 0;
    mp_log *log = NULL;
    mp_error e = {0};
    if (mp_log_open_embedded(dir, &o, &log, &e)) {
        fprintf(stderr, "open %s: %s\n", dir, e.msg);
        return NULL;
    }
    return log;
}

static inline void lt_close(mp_log *log)
{
    mp_error e = {0};
    if (mp_log_close(log, &e))
        fprintf(stderr, "close: %s\n", e.msg);
}

static inline mp_record lt_rec(const char *key, const char *value, int64_t ts)
{
    mp_record r;
    memset(&r, 0, sizeof r);
    r.key = (const uint8_t *)key;
    r.key_len = key ? (int32_t)strlen(key) : -1;
    r.value = (const uint8_t *)value;
    r.value_len = value ? (int32_t)strlen(value) : -1;
    r.timestamp = ts;
    return r;
}

/* A record as a test remembers it. */
typedef struct lt_seen {
    int64_t offset, ts;
    char key[64], value[256];
    int key_null, value_null;
} lt_seen;

static inline void lt_copy(lt_seen *s, const mp_record *r)
{
    s->offset = r->offset;
    s->ts = r->timestamp;
    s->key_null = r->key_len < 0;
    s->value_null = r->value_len < 0;
    snprintf(s->key, sizeof s->key, "%.*s", r->key_len < 0 ? 0 : (int)r->key_len,
             r->key ? (const char *)r->key : "");
    snprintf(s->value, sizeof s->value, "%.*s", r->value_len < 0 ? 0 : (int)r->value_len,
             r->value ? (const char *)r->value : "");
}

/* Reads topic/partition from `from` to the end with fetches of max_bytes;
 * returns the count (or -1 on error, message printed). */
static inline long lt_read_all(mp_log *log, const char *topic, int32_t part, int64_t from,
                        size_t max_bytes, lt_seen *out, size_t cap)
{
    mp_log_fetch_result r = {0};
    mp_error e = {0};
    long n = 0;
    int64_t off = from;
    for (;;) {
        int rc = mp_log_fetch(log, topic, part, off, max_bytes, &r, &e);
        if (rc) {
            fprintf(stderr, "fetch %s-%d@%lld: %s\n", topic, (int)part, (long long)off, e.msg);
            n = -1;
            break;
        }
        for (size_t i = 0; i < r.n && (size_t)n < cap; i++)
            lt_copy(&out[n++], &r.recs[i]);
        if (r.next_offset >= r.latest || (r.n == 0 && r.next_offset == off))
            break;
        off = r.next_offset;
    }
    mp_log_fetch_result_free(&r);
    return n;
}

static inline int lt_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    fclose(f);
    return w == len ? 0 : -1;
}

static inline long lt_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

/* The number of files in dir ending in ext. */
static inline int lt_count_files(const char *dir, const char *ext)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    size_t el = strlen(ext);
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l > el && !strcmp(de->d_name + l - el, ext))
            n++;
    }
    closedir(d);
    return n;
}

/* Flips one byte of a file in place. */
static inline int lt_flip(const char *path, long pos)
{
    int fd = open(path, O_RDWR);
    if (fd < 0)
        return -1;
    unsigned char c;
    int ok = pread(fd, &c, 1, pos) == 1;
    c ^= 0x5a;
    ok = ok && pwrite(fd, &c, 1, pos) == 1;
    close(fd);
    return ok ? 0 : -1;
}

#endif
