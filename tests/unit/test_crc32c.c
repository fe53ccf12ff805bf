/* CRC-32C: published check values (the "123456789" check and RFC 3720
 * B.4's iSCSI vectors), incremental use, and the hardware and table paths
 * agreeing on every length and alignment. */
#include <stdint.h>
#include <stdlib.h>

#include "core/crc32c.h"
#include "test.h"

static void test_check_value(void)
{
    CHECK(mp_crc32c(0, "123456789", 9) == 0xE3069283u);
    CHECK(mp_crc32c_sw(0, "123456789", 9) == 0xE3069283u);
    CHECK(mp_crc32c(0, "", 0) == 0);
    CHECK(mp_crc32c(0, NULL, 0) == 0);
    /* CRC-32C of "a" (a single byte exercises the tail loop only). */
    CHECK(mp_crc32c(0, "a", 1) == 0xC1D04330u);
}

static void test_rfc3720_vectors(void)
{
    uint8_t buf[32];
    memset(buf, 0, sizeof buf);
    CHECK(mp_crc32c(0, buf, 32) == 0x8A9136AAu);
    CHECK(mp_crc32c_sw(0, buf, 32) == 0x8A9136AAu);
    memset(buf, 0xff, sizeof buf);
    CHECK(mp_crc32c(0, buf, 32) == 0x62A8AB43u);
    CHECK(mp_crc32c_sw(0, buf, 32) == 0x62A8AB43u);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)i;
    CHECK(mp_crc32c(0, buf, 32) == 0x46DD794Eu);
    CHECK(mp_crc32c_sw(0, buf, 32) == 0x46DD794Eu);
    for (int i = 0; i < 32; i++)
        buf[i] = (uint8_t)(31 - i);
    CHECK(mp_crc32c(0, buf, 32) == 0x113FDB5Cu);
    CHECK(mp_crc32c_sw(0, buf, 32) == 0x113FDB5Cu);
}

/* Bit-at-a-time reference, the definition itself. */
static uint32_t crc_bitwise(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ ((c & 1) ? 0x82F63B78u : 0);
    }
    return ~c;
}

static void test_paths_agree(void)
{
    enum { N = 1100 };
    uint8_t *buf = malloc(N + 16);
    REQUIRE(buf);
    uint64_t x = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; i < N + 16; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
    int bad = 0;
    for (size_t align = 0; align < 8; align++) {
        for (size_t n = 0; n <= N; n += (n < 70 ? 1 : 37)) {
            uint32_t want = crc_bitwise(buf + align, n);
            if (mp_crc32c(0, buf + align, n) != want || mp_crc32c_sw(0, buf + align, n) != want)
                bad++;
        }
    }
    CHECK(bad == 0);
    free(buf);
}

static void test_incremental(void)
{
    const char *s = "The quick brown fox jumps over the lazy dog, twice over and again.";
    size_t n = strlen(s);
    uint32_t whole = mp_crc32c(0, s, n);
    CHECK(whole == crc_bitwise((const uint8_t *)s, n));
    for (size_t cut = 0; cut <= n; cut++) {
        uint32_t a = mp_crc32c(mp_crc32c(0, s, cut), s + cut, n - cut);
        uint32_t b = mp_crc32c_sw(mp_crc32c_sw(0, s, cut), s + cut, n - cut);
        uint32_t c = mp_crc32c_sw(mp_crc32c(0, s, cut), s + cut, n - cut);
        CHECK(a == whole);
        CHECK(b == whole);
        CHECK(c == whole);
    }
    printf("crc32c hardware path: %s\n", mp_crc32c_hw() ? "sse4.2" : "table");
}

int main(void)
{
    RUN(test_check_value);
    RUN(test_rfc3720_vectors);
    RUN(test_paths_agree);
    RUN(test_incremental);
    return TEST_SUMMARY();
}
