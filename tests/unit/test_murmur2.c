/* Kafka's murmur2 and default partitioner against the Java client's
 * values (UtilsTest.testMurmur2), covering every tail length. */
#include <stdint.h>

#include "core/murmur2.h"
#include "test.h"

static int32_t h(const char *s) { return mp_murmur2(s, strlen(s)); }

static void test_kafka_vectors(void)
{
    CHECK(h("21") == -973932308);
    CHECK(h("foobar") == -790332482);
    CHECK(h("a-little-bit-long-string") == -985981536);
    CHECK(h("a-little-bit-longer-string") == -1486304829);
    CHECK(h("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8") == -58897971);
    CHECK(h("abc") == 479470107);
}

static void test_more_vectors(void)
{
    /* The empty key, and lengths 24..27 (tails 0..3 after whole blocks);
     * checked with an independent Python port of Utils.murmur2. */
    CHECK(mp_murmur2("", 0) == 275646681);
    CHECK(mp_murmur2(NULL, 0) == 275646681);
    CHECK(h("string-f-24-chars-length") == 124730809);
    CHECK(h("string-fo-25-chars-length") == 1269511650);
    CHECK(h("string-foo-26-chars-length") == 119165628);
    CHECK(h("string-last-27-chars-length") == 1089971754);
    CHECK(h("kafka") == (int32_t)0xd067cf64u);
    CHECK(h("1234") == (int32_t)0x9fc97b14u);
    /* High bytes are unsigned in the tail (Java masks with & 0xff). */
    const uint8_t hi[] = {0xff, 0xfe, 0x80};
    CHECK(mp_murmur2(hi, 3) == -160726397);
}

static void test_partition(void)
{
    /* (murmur2 & 0x7fffffff) % n */
    CHECK(mp_kafka_partition("foobar", 6, 50) == 16);
    CHECK(mp_kafka_partition("21", 2, 7) == (int32_t)(((uint32_t)-973932308 & 0x7fffffffu) % 7));
    CHECK(mp_kafka_partition("21", 2, 1) == 0);
    CHECK(mp_kafka_partition("21", 2, 0) == -1);
    CHECK(mp_kafka_partition("21", 2, -3) == -1);
    /* Every result is in range and the same key always lands together. */
    char key[32];
    int bad = 0;
    for (int i = 0; i < 2000; i++) {
        int n = snprintf(key, sizeof key, "user-%d", i);
        int32_t p = mp_kafka_partition(key, (size_t)n, 12);
        if (p < 0 || p >= 12 || p != mp_kafka_partition(key, (size_t)n, 12))
            bad++;
    }
    CHECK(bad == 0);
}

int main(void)
{
    RUN(test_kafka_vectors);
    RUN(test_more_vectors);
    RUN(test_partition);
    return TEST_SUMMARY();
}
