/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of
 * Kafka's RecordBatch v2 and of iSCSI/ext4.
 *
 * Incremental in zlib's style: start with crc = 0 and feed the previous
 * result back in, so mp_crc32c(mp_crc32c(0, a, na), b, nb) equals the CRC
 * of a followed by b. "123456789" gives 0xE3069283.
 *
 * Uses, as the CPU allows (checked at run time): AVX-512 carry-less
 * multiplies folding 256 bytes a step for buffers of 512 bytes or more;
 * the SSE4.2 crc32 instruction in three interleaved chains; a
 * slicing-by-8 table. All give the same results. Pure functions:
 * thread-safe; the tables are built once under pthread_once. */
#ifndef MP_CORE_CRC32C_H
#define MP_CORE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t mp_crc32c(uint32_t crc, const void *p, size_t n);

/* The table-driven implementation alone, whatever the CPU; same results as
 * mp_crc32c. Exposed so tests can compare both paths. */
uint32_t mp_crc32c_sw(uint32_t crc, const void *p, size_t n);

/* Implementations, in the order mp_crc32c prefers them. */
enum {
    MP_CRC32C_TABLE = 0, /* portable slicing-by-8 */
    MP_CRC32C_SSE42 = 1, /* crc32 instruction, three interleaved chains */
    MP_CRC32C_FOLD = 2,  /* AVX-512 VPCLMULQDQ folding (long buffers) + SSE4.2 */
};

/* The best implementation this CPU has (what mp_crc32c uses). */
int mp_crc32c_hw(void);

/* The CRC computed with implementation impl, or the best one below it
 * when the CPU lacks it; for tests and benchmarks comparing the paths. */
uint32_t mp_crc32c_with(int impl, uint32_t crc, const void *p, size_t n);

#endif
