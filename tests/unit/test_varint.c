/* Varints: byte-exact encodings (Kafka's ByteUtils / protobuf), zigzag,
 * round trips at every width boundary, and truncated / overlong input. */
#include <stdint.h>

#include "core/varint.h"
#include "test.h"

static int bytes_eq(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    return na == nb && memcmp(a, b, na) == 0;
}

static void test_known_encodings(void)
{
    uint8_t out[MP_VARINT64_MAX];
    size_t n;
    n = mp_uvarint_encode32(out, 0);
    CHECK(bytes_eq(out, n, (const uint8_t[]){0x00}, 1));
    n = mp_uvarint_encode32(out, 127);
    CHECK(bytes_eq(out, n, (const uint8_t[]){0x7f}, 1));
    n = mp_uvarint_encode32(out, 128);
    CHECK(bytes_eq(out, n, (const uint8_t[]){0x80, 0x01}, 2));
    n = mp_uvarint_encode32(out, 300);
    CHECK(bytes_eq(out, n, (const uint8_t[]){0xac, 0x02}, 2));
    n = mp_uvarint_encode32(out, UINT32_MAX);
    CHECK(bytes_eq(out, n, (const uint8_t[]){0xff, 0xff, 0xff, 0xff, 0x0f}, 5));
    n = mp_uvarint_encode64(out, UINT64_MAX);
    CHECK(bytes_eq(out, n,
                   (const uint8_t[]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
                   10));
    /* zigzag: 0,-1,1,-2,2 -> 0,1,2,3,4; -1 (Kafka's null length) is 0x01. */
    n = mp_varint_encode32(out, -1);
    CHECK(bytes_eq(out, n, (const uint8_t[]){0x01}, 1));
    n = mp_varint_encode32(out, 1);
    CHECK(bytes_eq(out, n, (const uint8_t[]){0x02}, 1));
    n = mp_varint_encode32(out, -64);
    CHECK(bytes_eq(out, n, (const uint8_t[]){0x7f}, 1));
    n = mp_varint_encode32(out, 64);
    CHECK(bytes_eq(out, n, (const uint8_t[]){0x80, 0x01}, 2));
    n = mp_varint_encode32(out, INT32_MAX);
    CHECK(bytes_eq(out, n, (const uint8_t[]){0xfe, 0xff, 0xff, 0xff, 0x0f}, 5));
    n = mp_varint_encode32(out, INT32_MIN);
    CHECK(bytes_eq(out, n, (const uint8_t[]){0xff, 0xff, 0xff, 0xff, 0x0f}, 5));
    n = mp_varint_encode64(out, INT64_MIN);
    CHECK(bytes_eq(out, n,
                   (const uint8_t[]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
                   10));
    CHECK(mp_zigzag_encode32(-2) == 3);
    CHECK(mp_zigzag_encode64(2) == 4);
    CHECK(mp_zigzag_decode32(0xffffffffu) == INT32_MIN);
    CHECK(mp_zigzag_decode64(0xfffffffffffffffeull) == INT64_MAX);
}

static void test_sizes(void)
{
    CHECK(mp_uvarint_size64(0) == 1);
    CHECK(mp_uvarint_size64(127) == 1);
    CHECK(mp_uvarint_size64(128) == 2);
    CHECK(mp_uvarint_size64(16383) == 2);
    CHECK(mp_uvarint_size64(16384) == 3);
    CHECK(mp_uvarint_size32(UINT32_MAX) == 5);
    CHECK(mp_uvarint_size64(UINT64_MAX) == 10);
    CHECK(mp_varint_size32(-1) == 1);
    CHECK(mp_varint_size32(-65) == 2);
    CHECK(mp_varint_size64(INT64_MIN) == 10);
}

static void test_round_trips(void)
{
    int bad = 0;
    uint8_t buf[MP_VARINT64_MAX];
    for (int shift = 0; shift < 64; shift++) {
        for (int d = -2; d <= 2; d++) {
            uint64_t u = ((uint64_t)1 << shift) + (uint64_t)(int64_t)d;
            size_t n = mp_uvarint_encode64(buf, u);
            uint64_t back = 0;
            if (n != mp_uvarint_size64(u) || mp_uvarint_decode64(buf, n, &back) != (int)n ||
                back != u)
                bad++;
            int64_t s = (int64_t)u, sb = 0;
            n = mp_varint_encode64(buf, s);
            if (mp_varint_decode64(buf, n, &sb) != (int)n || sb != s)
                bad++;
            int64_t neg = (int64_t)(0 - u);
            n = mp_varint_encode64(buf, neg);
            if (mp_varint_decode64(buf, n, &sb) != (int)n || sb != neg)
                bad++;
            uint32_t u32 = (uint32_t)u, b32 = 0;
            n = mp_uvarint_encode32(buf, u32);
            if (mp_uvarint_decode32(buf, n, &b32) != (int)n || b32 != u32)
                bad++;
            int32_t s32 = (int32_t)u32, sb32 = 0;
            n = mp_varint_encode32(buf, s32);
            if (mp_varint_decode32(buf, n, &sb32) != (int)n || sb32 != s32)
                bad++;
        }
    }
    CHECK(bad == 0);
}

static void test_decode_stops_at_end(void)
{
    /* Decoding reads just the varint, even with more bytes after it. */
    const uint8_t in[] = {0xac, 0x02, 0x55, 0x66};
    uint32_t v = 0;
    CHECK(mp_uvarint_decode32(in, sizeof in, &v) == 2);
    CHECK(v == 300);
    int32_t s = 0;
    CHECK(mp_varint_decode32(in + 2, 2, &s) == 1);
    CHECK(s == -43); /* 0x55 = 85 -> zigzag -43 */
    /* Non-minimal but fitting encodings are accepted (as Kafka does). */
    const uint8_t nonmin[] = {0x80, 0x80, 0x00};
    CHECK(mp_uvarint_decode32(nonmin, 3, &v) == 3);
    CHECK(v == 0);
}

static void test_truncated(void)
{
    uint32_t v = 77;
    uint64_t w = 77;
    int32_t s = 77;
    CHECK(mp_uvarint_decode32(NULL, 0, &v) == MP_VARINT_ETRUNCATED);
    const uint8_t one[] = {0x80};
    CHECK(mp_uvarint_decode32(one, 1, &v) == MP_VARINT_ETRUNCATED);
    CHECK(mp_uvarint_decode64(one, 1, &w) == MP_VARINT_ETRUNCATED);
    CHECK(mp_varint_decode32(one, 1, &s) == MP_VARINT_ETRUNCATED);
    const uint8_t four[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    CHECK(mp_uvarint_decode32(four, 4, &v) == MP_VARINT_ETRUNCATED);
    CHECK(mp_uvarint_decode32(four, 5, &v) == 5);
    CHECK(v == UINT32_MAX);
    /* Every proper prefix of a long encoding is truncated. */
    uint8_t buf[MP_VARINT64_MAX];
    size_t n = mp_uvarint_encode64(buf, UINT64_MAX);
    for (size_t k = 0; k < n; k++)
        CHECK(mp_uvarint_decode64(buf, k, &w) == MP_VARINT_ETRUNCATED);
    CHECK(v == UINT32_MAX && s == 77); /* outputs untouched on error */
    CHECK(strcmp(mp_varint_strerror(MP_VARINT_ETRUNCATED), "truncated varint") == 0);
}

static void test_overlong(void)
{
    uint32_t v = 0;
    uint64_t w = 0;
    /* Six bytes for a 32-bit varint. */
    const uint8_t six[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    CHECK(mp_uvarint_decode32(six, sizeof six, &v) == MP_VARINT_EOVERLONG);
    /* Five bytes but bits beyond 32 in the last. */
    const uint8_t wide[] = {0xff, 0xff, 0xff, 0xff, 0x1f};
    CHECK(mp_uvarint_decode32(wide, sizeof wide, &v) == MP_VARINT_EOVERLONG);
    CHECK(mp_uvarint_decode64(wide, sizeof wide, &w) == 5); /* fine as 64-bit */
    CHECK(w == 0x1ffffffffull); /* 4 x 7 + 5 bits */
    /* Eleven bytes, and ten bytes with bits beyond 64. */
    const uint8_t eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00};
    CHECK(mp_uvarint_decode64(eleven, sizeof eleven, &w) == MP_VARINT_EOVERLONG);
    const uint8_t ten[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
    CHECK(mp_uvarint_decode64(ten, sizeof ten, &w) == MP_VARINT_EOVERLONG);
    /* Known overlong even when the buffer ends right there. */
    const uint8_t cont5[] = {0x80, 0x80, 0x80, 0x80, 0x80};
    CHECK(mp_uvarint_decode32(cont5, 5, &v) == MP_VARINT_EOVERLONG);
    int64_t s = 0;
    CHECK(mp_varint_decode64(eleven, sizeof eleven, &s) == MP_VARINT_EOVERLONG);
    CHECK(strcmp(mp_varint_strerror(MP_VARINT_EOVERLONG), "overlong varint") == 0);
}

int main(void)
{
    RUN(test_known_encodings);
    RUN(test_sizes);
    RUN(test_round_trips);
    RUN(test_decode_stops_at_end);
    RUN(test_truncated);
    RUN(test_overlong);
    return TEST_SUMMARY();
}
