/* Topic configuration: Kafka's keys, defaults and ranges; errors name the
 * key and the bad value; values print back as Kafka writes them. */
#include <stdint.h>

#include "log/log_config.h"
#include "test.h"

static void test_defaults(void)
{
    mp_log_topic_config c;
    mp_log_config_init(&c);
    CHECK(c.partitions == 1);
    CHECK(c.segment_bytes == 1073741824);
    CHECK(c.segment_ms == 604800000LL);
    CHECK(c.index_interval_bytes == 4096);
    CHECK(c.retention_ms == 604800000LL);
    CHECK(c.retention_bytes == -1);
    CHECK(c.cleanup_policy == MP_LOG_CLEANUP_DELETE);
    CHECK(c.delete_retention_ms == 86400000LL);
    CHECK(c.min_compaction_lag_ms == 0);
    CHECK(c.flush_messages == INT64_MAX && c.flush_ms == INT64_MAX);
    CHECK(c.max_message_bytes == 1048588);
    CHECK(c.compression == MP_LOG_COMPRESSION_PRODUCER);
    size_t n;
    const char *const *keys = mp_log_config_keys(&n);
    CHECK(n == 15);
    /* Every key prints, and what prints parses back to the same value. */
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        char v[64];
        mp_log_topic_config d;
        mp_log_config_init(&d);
        d.partitions = 7; /* differs from the default, must be overwritten */
        if (mp_log_config_get(&c, keys[i], v, sizeof v) || mp_log_config_set(&d, keys[i], v, NULL))
            bad++;
        char w[64];
        if (mp_log_config_get(&d, keys[i], w, sizeof w) || strcmp(v, w))
            bad++;
    }
    CHECK(bad == 0);
    char v[64];
    CHECK(mp_log_config_get(&c, "flush.messages", v, sizeof v) == 0 &&
          !strcmp(v, "9223372036854775807"));
    CHECK(mp_log_config_get(&c, "compression.type", v, sizeof v) == 0 && !strcmp(v, "producer"));
    CHECK(mp_log_config_get(&c, "min.cleanable.dirty.ratio", v, sizeof v) == 0 &&
          !strcmp(v, "0.5"));
    CHECK(mp_log_config_get(&c, "nope", v, sizeof v) == MP_ENOTFOUND);
    CHECK(mp_log_config_get(&c, "segment.bytes", v, 4) == MP_EINVAL);
}

static void test_set_values(void)
{
    mp_log_topic_config c;
    mp_log_config_init(&c);
    mp_error e = {0};
    CHECK(mp_log_config_parse(&c, "segment.bytes=1048576", &e) == 0 && c.segment_bytes == 1048576);
    CHECK(mp_log_config_parse(&c, "retention.ms=-1", &e) == 0 && c.retention_ms == -1);
    CHECK(mp_log_config_parse(&c, "retention.bytes=+1000", &e) == 0 && c.retention_bytes == 1000);
    CHECK(mp_log_config_parse(&c, "flush.messages=1", &e) == 0 && c.flush_messages == 1);
    CHECK(mp_log_config_parse(&c, "flush.ms=250", &e) == 0 && c.flush_ms == 250);
    CHECK(mp_log_config_parse(&c, "cleanup.policy=compact", &e) == 0 &&
          c.cleanup_policy == MP_LOG_CLEANUP_COMPACT);
    CHECK(mp_log_config_parse(&c, "cleanup.policy=compact,delete", &e) == 0 &&
          c.cleanup_policy == (MP_LOG_CLEANUP_COMPACT | MP_LOG_CLEANUP_DELETE));
    CHECK(mp_log_config_parse(&c, "cleanup.policy=delete, compact", &e) == 0 &&
          c.cleanup_policy == (MP_LOG_CLEANUP_COMPACT | MP_LOG_CLEANUP_DELETE));
    char v[64];
    CHECK(mp_log_config_get(&c, "cleanup.policy", v, sizeof v) == 0 &&
          !strcmp(v, "compact,delete"));
    CHECK(mp_log_config_parse(&c, "compression.type=lz4", &e) == 0 && c.compression == 3);
    CHECK(mp_log_config_parse(&c, "compression.type=uncompressed", &e) == 0 && c.compression == 0);
    CHECK(mp_log_config_parse(&c, "min.cleanable.dirty.ratio=0.25", &e) == 0 &&
          c.min_cleanable_dirty_ratio == 0.25);
    CHECK(mp_log_config_parse(&c, "partitions=12", &e) == 0 && c.partitions == 12);
    CHECK(mp_log_config_parse(&c, "delete.retention.ms=0", &e) == 0 && c.delete_retention_ms == 0);
    CHECK(mp_log_config_parse(&c, "max.message.bytes=0", &e) == 0 && c.max_message_bytes == 0);
    /* The first '=' splits key from value. */
    CHECK(mp_log_config_parse(&c, "cleanup.policy=delete=x", &e) == MP_EINVAL);
}

static void test_errors_name_the_key(void)
{
    mp_log_topic_config c, before;
    mp_log_config_init(&c);
    before = c;
    mp_error e = {0};
    struct {
        const char *kv, *want;
    } bad[] = {
        {"segment.bytes=13", "topic config segment.bytes: expected an integer in 14..2147483647, got '13'"},
        {"segment.bytes=2147483648", "segment.bytes"},
        {"segment.bytes=", "segment.bytes"},
        {"segment.bytes= 100", "segment.bytes"},
        {"segment.bytes=100 ", "segment.bytes"},
        {"segment.bytes=1e6", "got '1e6'"},
        {"retention.ms=-2", "topic config retention.ms: expected an integer >= -1, got '-2'"},
        {"retention.ms=99999999999999999999", "retention.ms"},
        {"flush.messages=0", "flush.messages: expected an integer >= 1"},
        {"partitions=0", "partitions: expected an integer in 1..10000"},
        {"partitions=10001", "partitions"},
        {"cleanup.policy=", "cleanup.policy"},
        {"cleanup.policy=compact,", "cleanup.policy"},
        {"cleanup.policy=Delete", "cleanup.policy: expected delete, compact or compact,delete, got 'Delete'"},
        {"compression.type=brotli", "compression.type: expected producer, uncompressed, gzip, snappy, lz4 or zstd, got 'brotli'"},
        {"min.cleanable.dirty.ratio=1.5", "min.cleanable.dirty.ratio: expected a number in 0..1"},
        {"min.cleanable.dirty.ratio=nan", "min.cleanable.dirty.ratio"},
        {"retention.hours=5", "unknown topic config 'retention.hours' (known: partitions, segment.bytes"},
        {"=5", "expected key=value"},
        {"segment.bytes", "topic config 'segment.bytes': expected key=value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        e.msg[0] = '\0';
        CHECK(mp_log_config_parse(&c, bad[i].kv, &e) == MP_EINVAL);
        CHECK_STR_CONTAINS(e.msg, bad[i].want);
    }
    CHECK(memcmp(&c, &before, sizeof c) == 0); /* nothing changed */
    CHECK(mp_log_config_set(&c, NULL, "1", &e) == MP_EINVAL);
    CHECK(mp_log_config_parse(&c, NULL, &e) == MP_EINVAL);
}

int main(void)
{
    RUN(test_defaults);
    RUN(test_set_values);
    RUN(test_errors_name_the_key);
    return TEST_SUMMARY();
}
