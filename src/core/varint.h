/* Kafka/protobuf variable-length integers: unsigned LEB128 (7 bits a byte,
 * least significant group first, high bit = more follows) and the zigzag
 * mapping for signed values (0,-1,1,-2,... -> 0,1,2,3,...), as Kafka's
 * ByteUtils.writeVarint/writeVarlong write them.
 *
 * Encoders write into a caller buffer that must have room for
 * MP_VARINT32_MAX / MP_VARINT64_MAX bytes and return the bytes written.
 * Decoders read p[0..len), never past it, and return the bytes consumed
 * (> 0) or a negative code:
 *   MP_VARINT_ETRUNCATED  the input ends inside the varint (or len == 0);
 *   MP_VARINT_EOVERLONG   more than 5 (32-bit) / 10 (64-bit) bytes, or set
 *                         bits beyond the type's width.
 * These two codes are varint-specific, not MP_E* codes; callers turn them
 * into MP_EFORMAT with a message naming the place. Non-minimal encodings
 * that fit (0x80 0x00 for 0) are accepted, as Kafka's reader accepts them.
 *
 * The one-byte case is inlined (most lengths and deltas in a batch are
 * small); longer values go to the out-of-line functions in varint.c.
 * All functions are pure and thread-safe. */
#ifndef MP_CORE_VARINT_H
#define MP_CORE_VARINT_H

#include <stddef.h>
#include <stdint.h>

#define MP_VARINT32_MAX 5
#define MP_VARINT64_MAX 10

#define MP_VARINT_ETRUNCATED (-30)
#define MP_VARINT_EOVERLONG (-31)

static inline uint32_t mp_zigzag_encode32(int32_t v)
{
    return ((uint32_t)v << 1) ^ (uint32_t)(0 - (uint32_t)((uint32_t)v >> 31));
}
static inline uint64_t mp_zigzag_encode64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(0 - (uint64_t)((uint64_t)v >> 63));
}
static inline int32_t mp_zigzag_decode32(uint32_t u)
{
    return (int32_t)((u >> 1) ^ (0u - (u & 1u)));
}
static inline int64_t mp_zigzag_decode64(uint64_t u)
{
    return (int64_t)((u >> 1) ^ (0u - (u & 1u)));
}

/* Bytes the encoding of v takes (1..5 / 1..10). */
static inline size_t mp_uvarint_size64(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}
static inline size_t mp_uvarint_size32(uint32_t v) { return mp_uvarint_size64(v); }
static inline size_t mp_varint_size32(int32_t v) { return mp_uvarint_size64(mp_zigzag_encode32(v)); }
static inline size_t mp_varint_size64(int64_t v) { return mp_uvarint_size64(mp_zigzag_encode64(v)); }

static inline size_t mp_uvarint_encode64(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}
static inline size_t mp_uvarint_encode32(uint8_t *out, uint32_t v) { return mp_uvarint_encode64(out, v); }
static inline size_t mp_varint_encode32(uint8_t *out, int32_t v)
{
    return mp_uvarint_encode64(out, mp_zigzag_encode32(v));
}
static inline size_t mp_varint_encode64(uint8_t *out, int64_t v)
{
    return mp_uvarint_encode64(out, mp_zigzag_encode64(v));
}

/* Out-of-line general decoders (any length). */
int mp_uvarint_decode32_slow(const uint8_t *p, size_t len, uint32_t *v);
int mp_uvarint_decode64_slow(const uint8_t *p, size_t len, uint64_t *v);

static inline int mp_uvarint_decode32(const uint8_t *p, size_t len, uint32_t *v)
{
    if (len && p[0] < 0x80) {
        *v = p[0];
        return 1;
    }
    return mp_uvarint_decode32_slow(p, len, v);
}
static inline int mp_uvarint_decode64(const uint8_t *p, size_t len, uint64_t *v)
{
    if (len && p[0] < 0x80) {
        *v = p[0];
        return 1;
    }
    return mp_uvarint_decode64_slow(p, len, v);
}
static inline int mp_varint_decode32(const uint8_t *p, size_t len, int32_t *v)
{
    uint32_t u = 0;
    int r = mp_uvarint_decode32(p, len, &u);
    if (r > 0)
        *v = mp_zigzag_decode32(u);
    return r;
}
static inline int mp_varint_decode64(const uint8_t *p, size_t len, int64_t *v)
{
    uint64_t u = 0;
    int r = mp_uvarint_decode64(p, len, &u);
    if (r > 0)
        *v = mp_zigzag_decode64(u);
    return r;
}

/* A short description of a negative decoder result ("truncated varint"). */
const char *mp_varint_strerror(int code);

#endif
