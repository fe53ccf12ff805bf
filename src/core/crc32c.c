#include "core/crc32c.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define MP_CRC32C_X86 1
#include <immintrin.h>
#endif

#define CRC32C_POLY 0x82F63B78u

/* table[k][b] is the CRC register after byte b followed by k zero bytes,
 * which lets the loop fold 8 input bytes with 8 independent look-ups. */
static uint32_t crc_table[8][256];
static pthread_once_t crc_table_once = PTHREAD_ONCE_INIT;

static void crc_table_init(void)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = b;
        for (int i = 0; i < 8; i++)
            c = (c >> 1) ^ (CRC32C_POLY & (0u - (c & 1u)));
        crc_table[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; b++) {
        uint32_t c = crc_table[0][b];
        for (int k = 1; k < 8; k++) {
            c = (c >> 8) ^ crc_table[0][c & 0xffu];
            crc_table[k][b] = c;
        }
    }
}

static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

uint32_t mp_crc32c_sw(uint32_t crc, const void *data, size_t n)
{
    pthread_once(&crc_table_once, crc_table_init);
    const uint8_t *p = data;
    uint32_t c = ~crc;
    while (n && ((uintptr_t)p & 7u)) {
        c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xffu];
        n--;
    }
    while (n >= 8) {
        uint64_t v = load_le64(p) ^ c;
        c = crc_table[7][v & 0xff] ^ crc_table[6][(v >> 8) & 0xff] ^
            crc_table[5][(v >> 16) & 0xff] ^ crc_table[4][(v >> 24) & 0xff] ^
            crc_table[3][(v >> 32) & 0xff] ^ crc_table[2][(v >> 40) & 0xff] ^
            crc_table[1][(v >> 48) & 0xff] ^ crc_table[0][v >> 56];
        p += 8;
        n -= 8;
    }
    while (n--)
        c = (c >> 8) ^ crc_table[0][(c ^ *p++) & 0xffu];
    return ~c;
}

#ifdef MP_CRC32C_X86
/* ---- shifting a register past zero bytes ----------------------------------
 * The CRC register is linear in (register, data) over GF(2). Processing
 * data D from register r therefore gives Z_len(r) ^ R(D), where Z_len(r) is
 * r followed by len zero bytes and R(D) is D processed from register 0.
 * Three consecutive stretches A, B, C of L bytes each, processed as three
 * independent chains (A from the real register, B and C from 0), combine
 * into Z_L(Z_L(A) ^ B) ^ C. Z_L is a linear map of 32 bits: four 256-entry
 * tables, one per register byte, for each stretch length used. */

/* Bytes per stream in a long and a short block of three streams. Long
 * blocks amortise the two shifts (a few nanoseconds each); short ones let
 * buffers of a few KB use three streams too. */
#define CRC_LONG 8192
#define CRC_SHORT 256

static uint32_t shift_long[4][256], shift_short[4][256];
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

/* Folding constants for the carry-less multiply path (see crc32c_fold). */
static uint64_t fold_256[2], fold_64[2], fold_lane[3][2];

static uint32_t shift_apply(const uint32_t t[4][256], uint32_t r)
{
    return t[0][r & 0xffu] ^ t[1][(r >> 8) & 0xffu] ^ t[2][(r >> 16) & 0xffu] ^ t[3][r >> 24];
}

/* Fills t from the images of the 32 single-bit registers. */
static void shift_fill(uint32_t t[4][256], const uint32_t basis[32])
{
    for (int j = 0; j < 4; j++)
        for (uint32_t b = 0; b < 256; b++) {
            uint32_t v = 0;
            for (int bit = 0; bit < 8; bit++)
                if (b & (1u << bit))
                    v ^= basis[8 * j + bit];
            t[j][b] = v;
        }
}

/* x^n mod P as a CRC register (bit j holds the coefficient of x^(31-j)):
 * start from x^0 and multiply by x n times, which is one step of the
 * bitwise CRC. */
static uint32_t xpow_mod(unsigned n)
{
    uint32_t r = 0x80000000u;
    while (n--)
        r = (r >> 1) ^ (CRC32C_POLY & (0u - (r & 1u)));
    return r;
}

/* The two multipliers that move a 128-bit block of the message d bits
 * further on (see crc32c_fold), as 64-bit operands of a carry-less multiply
 * (bit j holds the coefficient of x^(63-j)). */
static void fold_constants(uint64_t k[2], unsigned d)
{
    k[0] = (uint64_t)xpow_mod(d + 63) << 32; /* for the block's first 64 bits */
    k[1] = (uint64_t)xpow_mod(d - 1) << 32;  /* for its last 64 */
}

static void shift_init(void)
{
    pthread_once(&crc_table_once, crc_table_init);
    uint32_t basis[32];
    for (int i = 0; i < 32; i++) {
        uint32_t r = 1u << i;
        for (int k = 0; k < CRC_SHORT; k++)
            r = (r >> 8) ^ crc_table[0][r & 0xffu];
        basis[i] = r;
    }
    shift_fill(shift_short, basis);
    /* Z_LONG is Z_SHORT applied LONG/SHORT times. */
    for (int i = 0; i < 32; i++) {
        uint32_t r = 1u << i;
        for (int k = 0; k < CRC_LONG / CRC_SHORT; k++)
            r = shift_apply(shift_short, r);
        basis[i] = r;
    }
    shift_fill(shift_long, basis);

    fold_constants(fold_256, 256 * 8);
    fold_constants(fold_64, 64 * 8);
    for (int i = 0; i < 3; i++)
        fold_constants(fold_lane[i], (3 - i) * 128);
}

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Three interleaved chains of `len` bytes each from p (len a multiple of
 * 8); c is the register before them. One crc32 instruction has a latency
 * of three cycles but the CPU starts one per cycle, so a single chain runs
 * at a third of what three independent ones do. */
__attribute__((target("sse4.2"))) static inline uint64_t crc3(uint64_t c, const uint8_t *p,
                                                              size_t len,
                                                              const uint32_t t[4][256])
{
    uint64_t c1 = 0, c2 = 0;
    const uint8_t *end = p + len;
    do {
        c = _mm_crc32_u64(c, load64(p));
        c1 = _mm_crc32_u64(c1, load64(p + len));
        c2 = _mm_crc32_u64(c2, load64(p + 2 * len));
        c = _mm_crc32_u64(c, load64(p + 8));
        c1 = _mm_crc32_u64(c1, load64(p + len + 8));
        c2 = _mm_crc32_u64(c2, load64(p + 2 * len + 8));
        p += 16;
    } while (p < end);
    c = shift_apply(t, (uint32_t)c) ^ (uint32_t)c1;
    return shift_apply(t, (uint32_t)c) ^ (uint32_t)c2;
}

/* The register after the bytes p[0..n) from register c (no inversions). */
__attribute__((target("sse4.2"))) static uint64_t crc_chains(uint64_t c, const uint8_t *p,
                                                             size_t n)
{
    while (n && ((uintptr_t)p & 7u)) {
        c = _mm_crc32_u8((uint32_t)c, *p++);
        n--;
    }
    if (n >= 3 * CRC_SHORT) {
        pthread_once(&shift_once, shift_init);
        while (n >= 3 * CRC_LONG) {
            c = crc3(c, p, CRC_LONG, shift_long);
            p += 3 * CRC_LONG;
            n -= 3 * CRC_LONG;
        }
        while (n >= 3 * CRC_SHORT) {
            c = crc3(c, p, CRC_SHORT, shift_short);
            p += 3 * CRC_SHORT;
            n -= 3 * CRC_SHORT;
        }
    }
    while (n >= 8) {
        c = _mm_crc32_u64(c, load64(p));
        p += 8;
        n -= 8;
    }
    while (n--)
        c = _mm_crc32_u8((uint32_t)c, *p++);
    return c;
}

__attribute__((target("sse4.2"))) static uint32_t crc32c_hw(uint32_t crc, const uint8_t *p,
                                                             size_t n)
{
    return ~(uint32_t)crc_chains(~crc, p, n);
}

/* ---- folding with carry-less multiplies (AVX-512 VPCLMULQDQ) --------------
 * Where the CPU has them, 512-bit carry-less multiplies consume 256 bytes
 * in a handful of instructions, several times what the crc32 instruction
 * can, so a CRC of data coming from memory runs at memory speed.
 *
 * In the bit order of this CRC a 128-bit block X of the message holds the
 * polynomial H*x^64 + L (H its first 8 bytes, L its next 8). Moving X d
 * bits further on means replacing it by something congruent to X*x^d
 * modulo P of degree < 128, to be XORed into the block d bits later:
 * H*(x^(d+64) mod P) + L*(x^d mod P) is one. A carry-less multiply of two
 * 64-bit operands in this bit order yields the product times x, hence the
 * constants x^(d+63) and x^(d-1) (fold_constants). Four 512-bit
 * accumulators (16 blocks) are folded over 256 bytes per step, then into
 * one accumulator, then into one block; the crc32 instruction turns that
 * block into a register (its CRC from register 0 is congruent to it times
 * x^32, as the register of the whole message is) and finishes the tail. */
#define FOLD_MIN 512

__attribute__((target("avx512f,vpclmulqdq,pclmul"))) static inline __m512i
fold512(__m512i x, __m512i k, __m512i next)
{
    __m512i a = _mm512_clmulepi64_epi128(x, k, 0x00);
    __m512i b = _mm512_clmulepi64_epi128(x, k, 0x11);
    return _mm512_ternarylogic_epi64(a, b, next, 0x96); /* a ^ b ^ next */
}

__attribute__((target("avx512f,vpclmulqdq,pclmul"))) static inline __m128i fold128(__m128i x,
                                                                            const uint64_t k[2],
                                                                            __m128i next)
{
    __m128i kk = _mm_set_epi64x((long long)k[1], (long long)k[0]);
    __m128i a = _mm_clmulepi64_si128(x, kk, 0x00);
    __m128i b = _mm_clmulepi64_si128(x, kk, 0x11);
    return _mm_xor_si128(_mm_xor_si128(a, b), next);
}

__attribute__((target("avx512f,vpclmulqdq,pclmul,sse4.2"))) static uint32_t
crc32c_fold(uint32_t crc, const uint8_t *p, size_t n)
{
    /* n >= FOLD_MIN */
    pthread_once(&shift_once, shift_init);
    __m512i k256 = _mm512_broadcast_i32x4(
        _mm_set_epi64x((long long)fold_256[1], (long long)fold_256[0]));
    __m512i k64 = _mm512_broadcast_i32x4(
        _mm_set_epi64x((long long)fold_64[1], (long long)fold_64[0]));
    __m512i x0 = _mm512_loadu_si512((const void *)p);
    __m512i x1 = _mm512_loadu_si512((const void *)(p + 64));
    __m512i x2 = _mm512_loadu_si512((const void *)(p + 128));
    __m512i x3 = _mm512_loadu_si512((const void *)(p + 192));
    /* The starting register goes into the message's first 32 bits. */
    x0 = _mm512_xor_si512(x0, _mm512_zextsi128_si512(_mm_cvtsi32_si128((int)~crc)));
    p += 256;
    n -= 256;
    while (n >= 256) {
        x0 = fold512(x0, k256, _mm512_loadu_si512((const void *)p));
        x1 = fold512(x1, k256, _mm512_loadu_si512((const void *)(p + 64)));
        x2 = fold512(x2, k256, _mm512_loadu_si512((const void *)(p + 128)));
        x3 = fold512(x3, k256, _mm512_loadu_si512((const void *)(p + 192)));
        p += 256;
        n -= 256;
    }
    x1 = fold512(x0, k64, x1);
    x2 = fold512(x1, k64, x2);
    __m512i x = fold512(x2, k64, x3);
    while (n >= 64) {
        x = fold512(x, k64, _mm512_loadu_si512((const void *)p));
        p += 64;
        n -= 64;
    }
    __m128i b = _mm512_extracti32x4_epi32(x, 3);
    b = fold128(_mm512_extracti32x4_epi32(x, 0), fold_lane[0], b);
    b = fold128(_mm512_extracti32x4_epi32(x, 1), fold_lane[1], b);
    b = fold128(_mm512_extracti32x4_epi32(x, 2), fold_lane[2], b);
    uint64_t c = _mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(b));
    c = _mm_crc32_u64(c, (uint64_t)_mm_extract_epi64(b, 1));
    return ~(uint32_t)crc_chains(c, p, n);
}
#endif

/* What this CPU offers, decided once; __builtin_cpu_supports reads flags
 * that libgcc sets at start-up (including whether the OS saves AVX-512
 * state), so asking per call costs a few loads and keeps this free of
 * mutable globals. */
static int cpu_level(void)
{
#ifdef MP_CRC32C_X86
    if (!__builtin_cpu_supports("sse4.2"))
        return MP_CRC32C_TABLE;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("vpclmulqdq") &&
        __builtin_cpu_supports("pclmul"))
        return MP_CRC32C_FOLD;
    return MP_CRC32C_SSE42;
#else
    return MP_CRC32C_TABLE;
#endif
}

int mp_crc32c_hw(void) { return cpu_level(); }

uint32_t mp_crc32c_with(int impl, uint32_t crc, const void *p, size_t n)
{
    int level = cpu_level();
    if (impl > level)
        impl = level;
#ifdef MP_CRC32C_X86
    if (impl == MP_CRC32C_FOLD && n >= FOLD_MIN)
        return crc32c_fold(crc, p, n);
    if (impl >= MP_CRC32C_SSE42)
        return crc32c_hw(crc, p, n);
#endif
    return mp_crc32c_sw(crc, p, n);
}

uint32_t mp_crc32c(uint32_t crc, const void *p, size_t n)
{
    return mp_crc32c_with(MP_CRC32C_FOLD, crc, p, n);
}
