/* Kafka's murmur2 hash and default key partitioner, bit-identical to the
 * Java client's Utils.murmur2 and BuiltInPartitioner.partitionForKey, so a
 * key lands in the same partition as with Kafka's own clients.
 * Pure functions, thread-safe. */
#ifndef MP_CORE_MURMUR2_H
#define MP_CORE_MURMUR2_H

#include <stddef.h>
#include <stdint.h>

/* The hash as Java's signed int (e.g. "21" -> -973932308). len is taken
 * modulo 2^32 as Java's int length would be (keys are far shorter). */
int32_t mp_murmur2(const void *key, size_t len);

/* (murmur2(key) & 0x7fffffff) % nparts: a partition in [0, nparts), or -1
 * when nparts <= 0. key may be NULL only when len is 0. */
int32_t mp_kafka_partition(const void *key, size_t len, int32_t nparts);

#endif
