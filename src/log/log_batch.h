/* Kafka RecordBatch v2 (magic 2): the on-disk and on-wire unit of the log.
 *
 * Layout (fixed fields big-endian):
 *   0 baseOffset int64        8 batchLength int32 (bytes after this field)
 *  12 partitionLeaderEpoch int32   16 magic int8 (= 2)
 *  17 crc uint32 (CRC-32C of bytes 21..end)
 *  21 attributes int16 (bits 0-2 compression, 3 timestamp type,
 *                       4 transactional, 5 control)
 *  23 lastOffsetDelta int32  27 baseTimestamp int64  35 maxTimestamp int64
 *  43 producerId int64       51 producerEpoch int16  53 baseSequence int32
 *  57 record count int32     61 records (compressed as one block if any)
 * Each record: length varint, attributes int8, timestampDelta varlong,
 * offsetDelta varint, keyLength varint (-1 null) + key, valueLength varint
 * (-1 null) + value, header count varint, then per header keyLength varint
 * + key, valueLength varint (-1 null) + value. All varints zigzag-signed.
 *
 * Thread-safety: every function is pure (no global state) and may be called
 * from any number of threads, as long as a given mp_buf / mp_batch_records
 * is used by one thread at a time.
 *
 * Ownership: the encoder appends to a caller-owned mp_buf. The decoder's
 * records point into the batch bytes (uncompressed batches) or into the
 * caller's scratch buffer (compressed ones) and into arrays owned by the
 * mp_batch_records; they stay valid until that struct or the scratch buffer
 * is reused or freed, or the batch bytes go away. */
#ifndef MP_LOG_LOG_BATCH_H
#define MP_LOG_LOG_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"

/* mp_batch_peek's result for a buffer that ends inside a batch (a torn
 * tail): the bytes so far are a consistent beginning, more are needed. */
#define MP_LOG_ETRUNCATED (-20)

#define MP_BATCH_HEADER_SIZE 61
/* Bytes before the part counted by batchLength (baseOffset + batchLength). */
#define MP_BATCH_LOG_OVERHEAD 12
/* Smallest batchLength: the header after the length field, no records. */
#define MP_BATCH_MIN_LENGTH (MP_BATCH_HEADER_SIZE - MP_BATCH_LOG_OVERHEAD)
#define MP_BATCH_MAGIC 2

/* Attribute bits. */
#define MP_BATCH_ATTR_COMPRESSION_MASK 0x07
#define MP_BATCH_ATTR_LOG_APPEND_TIME 0x08
#define MP_BATCH_ATTR_TRANSACTIONAL 0x10
#define MP_BATCH_ATTR_CONTROL 0x20

/* Default cap on a compressed batch's decompressed size: a batch claiming
 * more is refused rather than allowed to exhaust memory. */
#define MP_BATCH_MAX_UNCOMPRESSED ((size_t)64 << 20)

typedef enum {
    MP_COMPRESS_NONE = 0,
    MP_COMPRESS_GZIP = 1,
    MP_COMPRESS_SNAPPY = 2,
    MP_COMPRESS_LZ4 = 3,
    MP_COMPRESS_ZSTD = 4
} mp_compression;

typedef struct mp_record_header {
    const char *key;
    size_t key_len;
    const uint8_t *value;
    int32_t value_len; /* -1 null */
} mp_record_header;

typedef struct mp_record {
    int64_t offset;
    int64_t timestamp;
    const uint8_t *key;
    int32_t key_len; /* -1 null */
    const uint8_t *value;
    int32_t value_len; /* -1 null (a tombstone) */
    size_t nheaders;
    const mp_record_header *headers;
} mp_record;

typedef struct mp_batch_info {
    int64_t base_offset;
    int32_t batch_length;
    int32_t leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp, max_timestamp, producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t record_count;
    size_t size; /* 12 + batch_length: the whole batch */
} mp_batch_info;

/* Decoded records, reusable across batches: zero-initialise
 * (`mp_batch_records r = {0};`), decode any number of batches into it (each
 * decode replaces the previous contents and reuses the arrays, so a steady
 * stream of batches allocates nothing), then mp_batch_records_free. */
typedef struct mp_batch_records {
    mp_record *recs; /* n records, in offset order */
    size_t n;
    size_t cap;
    mp_record_header *headers; /* every record's headers, back to back */
    size_t nheaders;
    size_t headers_cap;
} mp_batch_records;

void mp_batch_records_free(mp_batch_records *r);

/* Less common encoder settings. Start from MP_BATCH_OPTS_INIT. */
typedef struct mp_batch_opts {
    mp_compression compression;
    int level;              /* codec's compression level; 0 = its default */
    /* 0: record i gets offset base_offset + i (recs[].offset ignored).
     * 1: recs[].offset gives each offset (strictly increasing, >= base_offset,
     *    within base_offset + INT32_MAX): the compactor keeps original
     *    offsets, leaving gaps. */
    int keep_offsets;
    /* With keep_offsets, a compacted batch keeps its original last offset:
     * >= 0 sets lastOffsetDelta (must be >= the last record's delta);
     * -1 uses the last record's delta. */
    int32_t last_offset_delta;
    int32_t leader_epoch;   /* partitionLeaderEpoch; 0 for our single leader */
    int16_t attributes;     /* timestamp-type/transactional/control bits; the
                               compression bits come from `compression` */
    int64_t producer_id;    /* -1 = none */
    int16_t producer_epoch; /* -1 */
    int32_t base_sequence;  /* -1 */
} mp_batch_opts;

#define MP_BATCH_OPTS_INIT {MP_COMPRESS_NONE, 0, 0, -1, 0, 0, -1, -1, -1}

/* Appends one batch holding recs[0..n) (n >= 1) to out. Record offsets are
 * base_offset + i; timestamps are taken as given (baseTimestamp is the
 * first record's, maxTimestamp the largest). On error nothing is appended:
 * MP_EINVAL for bad arguments (n == 0, a length < -1, a NULL pointer with a
 * positive length, a batch over 2 GB), MP_ENOMEM, MP_EINPUT when the
 * compressor fails. */
int mp_batch_encode(mp_buf *out, int64_t base_offset, const mp_record *recs, size_t n,
                    mp_compression c, mp_error *e);
/* The same with every batch field settable (opts may be NULL = defaults). */
int mp_batch_encode_ex(mp_buf *out, int64_t base_offset, const mp_record *recs, size_t n,
                       const mp_batch_opts *opts, mp_error *e);

/* Reads the fixed header at data[0..len). Returns MP_OK with info filled
 * (and len >= info->size: the whole batch is there); MP_LOG_ETRUNCATED when
 * data[0..len) is a consistent start of a batch that ends past len (info is
 * filled as far as read; info->size is known once len >= 12); MP_EFORMAT for
 * impossible values (batchLength < 49, magic != 2, record count < 0 or over
 * lastOffsetDelta + 1, unknown compression, negative offsets, ...). Values
 * that decide between the two are checked as soon as they are present, so
 * garbage is not mistaken for a torn tail. Does not check the CRC. */
int mp_batch_peek(const uint8_t *data, size_t len, mp_batch_info *info, mp_error *e);

/* 1 if the stored CRC matches the bytes (data holds info->size bytes). */
int mp_batch_crc_ok(const uint8_t *data, const mp_batch_info *info);
/* The CRC-32C the batch should carry (bytes 21..size). */
uint32_t mp_batch_compute_crc(const uint8_t *data, size_t size);

/* Decodes all records of the batch at data (info from mp_batch_peek on the
 * same bytes). Checks the CRC first, then validates every length and delta
 * against the bounds: corruption gives MP_EFORMAT with a message naming the
 * batch's base offset and the record. Compressed batches are decompressed
 * into *scratch (caller-owned, reusable; the records point into it), capped
 * at MP_BATCH_MAX_UNCOMPRESSED bytes. For LogAppendTime batches every
 * record's timestamp is maxTimestamp, as Kafka reports it. Snappy batches
 * are read in both Kafka's xerial framing and raw form. */
int mp_batch_decode(const uint8_t *data, const mp_batch_info *info, mp_batch_records *out,
                    mp_buf *scratch, mp_error *e);
/* The same with an explicit cap on the decompressed size (bytes), and
 * check_crc = 0 to skip the CRC (for callers that just verified it). */
int mp_batch_decode_ex(const uint8_t *data, const mp_batch_info *info, mp_batch_records *out,
                       mp_buf *scratch, size_t max_uncompressed, int check_crc, mp_error *e);

/* A short name for a compression type ("gzip"), "unknown" otherwise. */
const char *mp_compression_name(int c);

#endif
