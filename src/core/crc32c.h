/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of
 * Kafka's RecordBatch v2 and of iSCSI/ext4.
 *
 * Incremental in zlib's style: start with crc = 0 and feed the previous
 * result back in, so mp_crc32c(mp_crc32c(0, a, na), b, nb) equals the CRC
 * of a followed by b. "123456789" gives 0xE3069283.
 *
 * Uses the SSE4.2 crc32 instruction when the CPU has it (checked at run
 * time), a slicing-by-8 table otherwise. Pure functions: thread-safe; the
 * table is built once under pthread_once. */
#ifndef MP_CORE_CRC32C_H
#define MP_CORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t mp_crc32c(uint32_t crc, const void *p, size_t n);

/* The table-driven implementation alone, whatever the CPU; same results as
 * mp_crc32c. Exposed so tests can compare both paths. */
uint32_t mp_crc32c_sw(uint32_t crc, const void *p, size_t n);

/* 1 if mp_crc32c uses the hardware instruction on this CPU. */
int mp_crc32c_hw(void);

#endif
