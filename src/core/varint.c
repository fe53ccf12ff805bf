#include "core/varint.h"

/* Shared loop: `maxbytes` groups at most, and the last allowed group may
 * only carry the bits left of the type (`lastmask` holds the bits that must
 * be zero there). */
static int decode(const uint8_t *p, size_t len, uint64_t *v, int maxbytes, uint8_t lastmask)
{
    uint64_t x = 0;
    for (int i = 0; i < maxbytes; i++) {
        if ((size_t)i >= len)
            return MP_VARINT_ETRUNCATED;
        uint8_t b = p[i];
        if (i == maxbytes - 1) {
            if (b & 0x80)
                return MP_VARINT_EOVERLONG;
            if (b & lastmask)
                return MP_VARINT_EOVERLONG;
        }
        x |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = x;
            return i + 1;
        }
    }
    return MP_VARINT_EOVERLONG; /* not reached: the last group returns above */
}

int mp_uvarint_decode32_slow(const uint8_t *p, size_t len, uint32_t *v)
{
    uint64_t x = 0;
    /* 5 groups carry 35 bits; the fifth may use only its low 4. */
    int r = decode(p, len, &x, MP_VARINT32_MAX, 0x70);
    if (r > 0)
        *v = (uint32_t)x;
    return r;
}

int mp_uvarint_decode64_slow(const uint8_t *p, size_t len, uint64_t *v)
{
    /* 10 groups carry 70 bits; the tenth may use only its lowest. */
    return decode(p, len, v, MP_VARINT64_MAX, 0x7e);
}

const char *mp_varint_strerror(int code)
{
    switch (code) {
    case MP_VARINT_ETRUNCATED:
        return "truncated varint";
    case MP_VARINT_EOVERLONG:
        return "overlong varint";
    default:
        return code < 0 ? "bad varint" : "ok";
    }
}
