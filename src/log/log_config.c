#include "log/log_config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "log/log_batch.h"

static const char *const keys[] = {
    "partitions",           "segment.bytes",         "segment.ms",
    "index.interval.bytes", "retention.ms",          "retention.bytes",
    "cleanup.policy",       "delete.retention.ms",   "min.compaction.lag.ms",
    "max.compaction.lag.ms", "min.cleanable.dirty.ratio", "flush.messages",
    "flush.ms",             "max.message.bytes",     "compression.type",
};
#define NKEYS (sizeof keys / sizeof keys[0])

/* Indexed by mp_compression. */
static const char *const compression_names[] = {"uncompressed", "gzip", "snappy", "lz4", "zstd"};
_Static_assert(MP_COMPRESS_NONE == 0 && MP_COMPRESS_GZIP == 1 && MP_COMPRESS_SNAPPY == 2 &&
                   MP_COMPRESS_LZ4 == 3 && MP_COMPRESS_ZSTD == 4,
               "compression_names follows mp_compression");

void mp_log_config_init(mp_log_topic_config *c)
{
    c->partitions = 1;
    c->segment_bytes = 1073741824;
    c->segment_ms = 604800000LL;
    c->index_interval_bytes = 4096;
    c->retention_ms = 604800000LL;
    c->retention_bytes = -1;
    c->cleanup_policy = MP_LOG_CLEANUP_DELETE;
    c->delete_retention_ms = 86400000LL;
    c->min_compaction_lag_ms = 0;
    c->max_compaction_lag_ms = MP_LOG_NEVER;
    c->min_cleanable_dirty_ratio = 0.5;
    c->flush_messages = MP_LOG_NEVER;
    c->flush_ms = MP_LOG_NEVER;
    c->max_message_bytes = 1048588;
    c->compression = MP_LOG_COMPRESSION_PRODUCER;
}

const char *const *mp_log_config_keys(size_t *n)
{
    if (n)
        *n = NKEYS;
    return keys;
}

/* A whole decimal integer in [lo, hi]; Kafka's parser takes an optional
 * sign and nothing else (no spaces, no suffixes). */
static int parse_long(const char *key, const char *v, int64_t lo, int64_t hi, int64_t *out,
                      mp_error *e)
{
    char *end;
    errno = 0;
    long long x = v[0] && v[0] != ' ' && v[0] != '\t' ? strtoll(v, &end, 10) : 0;
    if (!v[0] || v[0] == ' ' || v[0] == '\t' || *end || errno == ERANGE || x < lo || x > hi) {
        if (hi == INT64_MAX)
            return mp_error_set(e, MP_EINVAL,
                                "topic config %s: expected an integer >= %" PRId64 ", got '%s'",
                                key, lo, v);
        return mp_error_set(e, MP_EINVAL,
                            "topic config %s: expected an integer in %" PRId64 "..%" PRId64
                            ", got '%s'",
                            key, lo, hi, v);
    }
    *out = x;
    return 0;
}

static int parse_policy(const char *v, int *out, mp_error *e)
{
    int bits = 0;
    const char *p = v;
    for (;;) {
        while (*p == ' ')
            p++;
        const char *start = p;
        while (*p && *p != ',' && *p != ' ')
            p++;
        size_t n = (size_t)(p - start);
        if (n == 6 && !strncmp(start, "delete", 6))
            bits |= MP_LOG_CLEANUP_DELETE;
        else if (n == 7 && !strncmp(start, "compact", 7))
            bits |= MP_LOG_CLEANUP_COMPACT;
        else
            return mp_error_set(e, MP_EINVAL,
                                "topic config cleanup.policy: expected delete, compact or "
                                "compact,delete, got '%s'",
                                v);
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        if (*p != ',')
            return mp_error_set(e, MP_EINVAL,
                                "topic config cleanup.policy: expected delete, compact or "
                                "compact,delete, got '%s'",
                                v);
        p++;
    }
    *out = bits;
    return 0;
}

int mp_log_config_set(mp_log_topic_config *c, const char *key, const char *value, mp_error *e)
{
    if (!c || !key || !value)
        return mp_error_set(e, MP_EINVAL, "topic config: missing key or value");
    int64_t v;
    int rc;
#define LONG_KEY(name, lo, hi, field, type)                                                  \
    if (!strcmp(key, name)) {                                                                \
        if ((rc = parse_long(key, value, lo, hi, &v, e)))                                    \
            return rc;                                                                       \
        c->field = (type)v;                                                                  \
        return 0;                                                                            \
    }
    LONG_KEY("partitions", 1, MP_LOG_MAX_PARTITIONS, partitions, int32_t)
    LONG_KEY("segment.bytes", 14, INT32_MAX, segment_bytes, int32_t)
    LONG_KEY("segment.ms", 1, INT64_MAX, segment_ms, int64_t)
    LONG_KEY("index.interval.bytes", 0, INT32_MAX, index_interval_bytes, int32_t)
    LONG_KEY("retention.ms", -1, INT64_MAX, retention_ms, int64_t)
    LONG_KEY("retention.bytes", -1, INT64_MAX, retention_bytes, int64_t)
    LONG_KEY("delete.retention.ms", 0, INT64_MAX, delete_retention_ms, int64_t)
    LONG_KEY("min.compaction.lag.ms", 0, INT64_MAX, min_compaction_lag_ms, int64_t)
    LONG_KEY("max.compaction.lag.ms", 1, INT64_MAX, max_compaction_lag_ms, int64_t)
    LONG_KEY("flush.messages", 1, INT64_MAX, flush_messages, int64_t)
    LONG_KEY("flush.ms", 0, INT64_MAX, flush_ms, int64_t)
    LONG_KEY("max.message.bytes", 0, INT32_MAX, max_message_bytes, int32_t)
#undef LONG_KEY
    if (!strcmp(key, "cleanup.policy")) {
        int bits = 0;
        if ((rc = parse_policy(value, &bits, e)))
            return rc;
        c->cleanup_policy = bits;
        return 0;
    }
    if (!strcmp(key, "min.cleanable.dirty.ratio")) {
        char *end;
        errno = 0;
        double d = value[0] && value[0] != ' ' ? strtod(value, &end) : -1;
        if (!value[0] || value[0] == ' ' || *end || errno == ERANGE || !(d >= 0 && d <= 1))
            return mp_error_set(e, MP_EINVAL,
                                "topic config min.cleanable.dirty.ratio: expected a number in "
                                "0..1, got '%s'",
                                value);
        c->min_cleanable_dirty_ratio = d;
        return 0;
    }
    if (!strcmp(key, "compression.type")) {
        if (!strcmp(value, "producer")) {
            c->compression = MP_LOG_COMPRESSION_PRODUCER;
            return 0;
        }
        for (int i = 0; i < 5; i++)
            if (!strcmp(value, compression_names[i])) {
                c->compression = i; /* the names are in mp_compression order */
                return 0;
            }
        return mp_error_set(e, MP_EINVAL,
                            "topic config compression.type: expected producer, uncompressed, "
                            "gzip, snappy, lz4 or zstd, got '%s'",
                            value);
    }
    mp_buf known = {0};
    for (size_t i = 0; i < NKEYS; i++) {
        if (i)
            mp_buf_puts(&known, ", ");
        mp_buf_puts(&known, keys[i]);
    }
    rc = mp_error_set(e, MP_EINVAL, "unknown topic config '%s' (known: %s)", key,
                      known.data ? known.data : "");
    mp_buf_free(&known);
    return rc;
}

int mp_log_config_parse(mp_log_topic_config *c, const char *kv, mp_error *e)
{
    if (!kv)
        return mp_error_set(e, MP_EINVAL, "topic config: missing key=value");
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return mp_error_set(e, MP_EINVAL, "topic config '%s': expected key=value", kv);
    char key[64];
    size_t klen = (size_t)(eq - kv);
    if (klen >= sizeof key)
        return mp_error_set(e, MP_EINVAL, "unknown topic config '%.*s'", (int)klen, kv);
    memcpy(key, kv, klen);
    key[klen] = '\0';
    return mp_log_config_set(c, key, eq + 1, e);
}

int mp_log_config_get(const mp_log_topic_config *c, const char *key, char *out, size_t n)
{
    int64_t v;
    if (!strcmp(key, "partitions"))
        v = c->partitions;
    else if (!strcmp(key, "segment.bytes"))
        v = c->segment_bytes;
    else if (!strcmp(key, "segment.ms"))
        v = c->segment_ms;
    else if (!strcmp(key, "index.interval.bytes"))
        v = c->index_interval_bytes;
    else if (!strcmp(key, "retention.ms"))
        v = c->retention_ms;
    else if (!strcmp(key, "retention.bytes"))
        v = c->retention_bytes;
    else if (!strcmp(key, "delete.retention.ms"))
        v = c->delete_retention_ms;
    else if (!strcmp(key, "min.compaction.lag.ms"))
        v = c->min_compaction_lag_ms;
    else if (!strcmp(key, "max.compaction.lag.ms"))
        v = c->max_compaction_lag_ms;
    else if (!strcmp(key, "flush.messages"))
        v = c->flush_messages;
    else if (!strcmp(key, "flush.ms"))
        v = c->flush_ms;
    else if (!strcmp(key, "max.message.bytes"))
        v = c->max_message_bytes;
    else {
        const char *s;
        char tmp[40];
        if (!strcmp(key, "cleanup.policy")) {
            int p = c->cleanup_policy & (MP_LOG_CLEANUP_DELETE | MP_LOG_CLEANUP_COMPACT);
            s = p == (MP_LOG_CLEANUP_DELETE | MP_LOG_CLEANUP_COMPACT) ? "compact,delete"
                : p == MP_LOG_CLEANUP_COMPACT                         ? "compact"
                                                                      : "delete";
        } else if (!strcmp(key, "min.cleanable.dirty.ratio")) {
            mp_format_double(tmp, sizeof tmp, c->min_cleanable_dirty_ratio);
            s = tmp;
        } else if (!strcmp(key, "compression.type")) {
            s = c->compression >= 0 && c->compression < 5 ? compression_names[c->compression]
                                                          : "producer";
        } else {
            return MP_ENOTFOUND;
        }
        int w = snprintf(out, n, "%s", s);
        return w < 0 || (size_t)w >= n ? MP_EINVAL : 0;
    }
    int w = snprintf(out, n, "%" PRId64, v);
    return w < 0 || (size_t)w >= n ? MP_EINVAL : 0;
}

int mp_log_config_check(const mp_log_topic_config *c, mp_error *e)
{
    if (c->min_compaction_lag_ms > c->max_compaction_lag_ms)
        return mp_error_set(e, MP_EINVAL,
                            "topic config min.compaction.lag.ms (%" PRId64
                            ") is greater than max.compaction.lag.ms (%" PRId64 ")",
                            c->min_compaction_lag_ms, c->max_compaction_lag_ms);
    return 0;
}

int64_t mp_log_config_roll_ms(const mp_log_topic_config *c)
{
    if ((c->cleanup_policy & MP_LOG_CLEANUP_COMPACT) && c->max_compaction_lag_ms < c->segment_ms)
        return c->max_compaction_lag_ms;
    return c->segment_ms;
}
