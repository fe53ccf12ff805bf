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

/* Every implementation against the table on random data: every length
 * 0..4096 at every misalignment 0..7, from two starting values. */
static void test_every_length(void)
{
    enum { N = 4096 };
    uint8_t *buf = malloc(N + 8);
    REQUIRE(buf);
    uint64_t x = 0x243F6A8885A308D3ull;
    for (size_t i = 0; i < N + 8; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)(x >> 24);
    }
    static const uint32_t starts[] = {0, 0xDEADBEEFu};
    int bad[3] = {0, 0, 0};
    for (size_t si = 0; si < 2; si++)
        for (size_t align = 0; align < 8; align++)
            for (size_t n = 0; n <= N; n++) {
                uint32_t want = mp_crc32c_sw(starts[si], buf + align, n);
                for (int impl = MP_CRC32C_SSE42; impl <= MP_CRC32C_FOLD; impl++)
                    bad[impl] += mp_crc32c_with(impl, starts[si], buf + align, n) != want;
                bad[0] += mp_crc32c(starts[si], buf + align, n) != want;
            }
    CHECK(bad[0] == 0);
    CHECK(bad[MP_CRC32C_SSE42] == 0);
    CHECK(bad[MP_CRC32C_FOLD] == 0);
    /* The table itself against the definition on a sample of those. */
    int bad_sw = 0;
    for (size_t n = 0; n <= N; n += 61)
        bad_sw += mp_crc32c_sw(0, buf + (n & 7), n) != crc_bitwise(buf + (n & 7), n);
    CHECK(bad_sw == 0);
    free(buf);
}

/* Long buffers: the three-chain path's 24 KB blocks and the folding
 * loop's 256-byte steps, around their boundaries and well past them. */
static void test_long_buffers(void)
{
    enum { N = 200000 };
    uint8_t *buf = malloc(N + 8);
    REQUIRE(buf);
    for (size_t i = 0; i < N + 8; i++)
        buf[i] = (uint8_t)(i * 2654435761u >> 13);
    static const size_t lens[] = {767,   768,   769,   1023,  24575, 24576, 24577, 24576 + 768,
                                  49151, 49152, 49160, 65536, 99999, 131072, N};
    int bad = 0;
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++)
        for (size_t align = 0; align < 8; align += 3) {
            uint32_t want = mp_crc32c_sw(0x12345678u, buf + align, lens[k]);
            for (int impl = MP_CRC32C_TABLE; impl <= MP_CRC32C_FOLD; impl++)
                bad += mp_crc32c_with(impl, 0x12345678u, buf + align, lens[k]) != want;
        }
    CHECK(bad == 0);
    /* All zeros and all ones exercise the folding constants with no help
     * from the data. */
    memset(buf, 0, N);
    CHECK(mp_crc32c(0, buf, N) == mp_crc32c_sw(0, buf, N));
    memset(buf, 0xff, N);
    CHECK(mp_crc32c(0, buf, N) == mp_crc32c_sw(0, buf, N));
    CHECK(mp_crc32c(0, buf, 32) == 0x62A8AB43u);
    free(buf);
}

/* An implementation the CPU lacks falls back instead of crashing, and an
 * unknown number means the best one. */
static void test_with_fallback(void)
{
    const char *s = "123456789";
    CHECK(mp_crc32c_with(MP_CRC32C_TABLE, 0, s, 9) == 0xE3069283u);
    CHECK(mp_crc32c_with(MP_CRC32C_SSE42, 0, s, 9) == 0xE3069283u);
    CHECK(mp_crc32c_with(MP_CRC32C_FOLD, 0, s, 9) == 0xE3069283u);
    CHECK(mp_crc32c_with(99, 0, s, 9) == 0xE3069283u);
    CHECK(mp_crc32c_hw() >= MP_CRC32C_TABLE && mp_crc32c_hw() <= MP_CRC32C_FOLD);
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
    /* Long pieces through the fast paths, joined at odd places. */
    enum { L = 9000 };
    uint8_t *buf = malloc(L);
    REQUIRE(buf);
    for (size_t i = 0; i < L; i++)
        buf[i] = (uint8_t)(i * 131 + (i >> 7));
    uint32_t all = mp_crc32c_sw(0, buf, L);
    int bad = 0;
    for (size_t cut = 0; cut <= L; cut += 257)
        bad += mp_crc32c(mp_crc32c(0, buf, cut), buf + cut, L - cut) != all;
    CHECK(bad == 0);
    free(buf);
    static const char *const names[] = {"table", "sse4.2 (3 chains)", "avx512 vpclmulqdq fold"};
    printf("crc32c path: %s\n", names[mp_crc32c_hw()]);
}

int main(void)
{
    RUN(test_check_value);
    RUN(test_rfc3720_vectors);
    RUN(test_paths_agree);
    RUN(test_every_length);
    RUN(test_long_buffers);
    RUN(test_with_fallback);
    RUN(test_incremental);
    return TEST_SUMMARY();
}
