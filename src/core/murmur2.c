#include "core/murmur2.h"

int32_t mp_murmur2(const void *key, size_t len)
{
    const uint32_t seed = 0x9747b28cu;
    const uint32_t m = 0x5bd1e995u;
    const int r = 24;
    const uint8_t *p = key;
    uint32_t h = seed ^ (uint32_t)len;
    size_t nblocks = len / 4;

    for (size_t i = 0; i < nblocks; i++, p += 4) {
        uint32_t k = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                     (uint32_t)p[3] << 24;
        k *= m;
        k ^= k >> r;
        k *= m;
        h *= m;
        h ^= k;
    }
    /* Java's switch on length % 4 with fall-through. */
    switch (len & 3u) {
    case 3:
        h ^= (uint32_t)p[2] << 16;
        /* fall through */
    case 2:
        h ^= (uint32_t)p[1] << 8;
        /* fall through */
    case 1:
        h ^= (uint32_t)p[0];
        h *= m;
        break;
    default:
        break;
    }
    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return (int32_t)h;
}

int32_t mp_kafka_partition(const void *key, size_t len, int32_t nparts)
{
    if (nparts <= 0)
        return -1;
    uint32_t positive = (uint32_t)mp_murmur2(key, len) & 0x7fffffffu;
    return (int32_t)(positive % (uint32_t)nparts);
}
