#include "log/log_batch.h"

#include <limits.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "core/crc32c.h"
#include "core/varint.h"

/* Byte offsets of the fixed fields (see the header). */
enum {
    OFF_BASE_OFFSET = 0,
    OFF_LENGTH = 8,
    OFF_EPOCH = 12,
    OFF_MAGIC = 16,
    OFF_CRC = 17,
    OFF_ATTRIBUTES = 21,
    OFF_LAST_DELTA = 23,
    OFF_BASE_TS = 27,
    OFF_MAX_TS = 35,
    OFF_PRODUCER_ID = 43,
    OFF_PRODUCER_EPOCH = 51,
    OFF_BASE_SEQUENCE = 53,
    OFF_COUNT = 57,
};

/* The smallest record: length, attributes, timestampDelta, offsetDelta,
 * keyLength, valueLength and header count, one byte each. Bounds how many
 * records n bytes can hold before anything is allocated for them. */
#define MIN_RECORD_SIZE 7
#define MIN_RECORD_BODY 6

/* Bytes of freshly written records CRC'd at a time while encoding: small
 * enough to be still in the L2 cache, large enough for the folding CRC's
 * set-up to vanish. */
#define CRC_SLICE ((size_t)32 << 10)

/* Kafka's snappy (snappy-java's stream format): this magic, two big-endian
 * int32 versions (1, 1), then blocks of [int32 length][raw snappy]. */
static const uint8_t xerial_magic[8] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0};
#define XERIAL_HEADER 16
#define XERIAL_BLOCK 32768

/* ---- big-endian fields ---------------------------------------------- */

static inline void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}
static inline uint16_t get16(const uint8_t *p) { return (uint16_t)((unsigned)p[0] << 8 | p[1]); }
static inline uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t get64(const uint8_t *p) { return (uint64_t)get32(p) << 32 | get32(p + 4); }

/* ---- growing an mp_buf in place --------------------------------------- */

static void buf_set_len(mp_buf *b, size_t len)
{
    b->len = len;
    if (b->data)
        b->data[len] = '\0';
}

const char *mp_compression_name(int c)
{
    switch (c) {
    case MP_COMPRESS_NONE:
        return "none";
    case MP_COMPRESS_GZIP:
        return "gzip";
    case MP_COMPRESS_SNAPPY:
        return "snappy";
    case MP_COMPRESS_LZ4:
        return "lz4";
    case MP_COMPRESS_ZSTD:
        return "zstd";
    default:
        return "unknown";
    }
}

void mp_batch_records_free(mp_batch_records *r)
{
    if (!r)
        return;
    free(r->recs);
    free(r->headers);
    memset(r, 0, sizeof *r);
}

/* ---- encoding ---------------------------------------------------------- */

/* Bytes of the zigzag varint of v, without a loop: 7 bits a byte. */
static inline uint64_t vsize64(int64_t v)
{
    uint64_t u = mp_zigzag_encode64(v);
    return (uint64_t)(63 - __builtin_clzll(u | 1)) / 7 + 1;
}
static inline uint64_t vsize32(int32_t v) { return vsize64(v); }

/* Size of a record after its length varint. */
static uint64_t record_body_size(const mp_record *r, int64_t ts_delta, int32_t off_delta)
{
    uint64_t s = 1 + vsize64(ts_delta) + vsize32(off_delta);
    s += vsize32(r->key_len) + (r->key_len > 0 ? (uint64_t)r->key_len : 0);
    s += vsize32(r->value_len) + (r->value_len > 0 ? (uint64_t)r->value_len : 0);
    s += vsize32((int32_t)r->nheaders);
    for (size_t h = 0; h < r->nheaders; h++) {
        const mp_record_header *hd = &r->headers[h];
        s += vsize32((int32_t)hd->key_len) + hd->key_len;
        s += vsize32(hd->value_len) + (hd->value_len > 0 ? (uint64_t)hd->value_len : 0);
    }
    return s;
}

static uint8_t *write_record(uint8_t *p, const mp_record *r, int32_t body, int64_t ts_delta,
                             int32_t off_delta)
{
    p += mp_varint_encode32(p, body);
    *p++ = 0; /* record attributes: unused by Kafka */
    p += mp_varint_encode64(p, ts_delta);
    p += mp_varint_encode32(p, off_delta);
    p += mp_varint_encode32(p, r->key_len);
    if (r->key_len > 0) {
        memcpy(p, r->key, (size_t)r->key_len);
        p += r->key_len;
    }
    p += mp_varint_encode32(p, r->value_len);
    if (r->value_len > 0) {
        memcpy(p, r->value, (size_t)r->value_len);
        p += r->value_len;
    }
    p += mp_varint_encode32(p, (int32_t)r->nheaders);
    for (size_t h = 0; h < r->nheaders; h++) {
        const mp_record_header *hd = &r->headers[h];
        p += mp_varint_encode32(p, (int32_t)hd->key_len);
        if (hd->key_len) {
            memcpy(p, hd->key, hd->key_len);
            p += hd->key_len;
        }
        p += mp_varint_encode32(p, hd->value_len);
        if (hd->value_len > 0) {
            memcpy(p, hd->value, (size_t)hd->value_len);
            p += hd->value_len;
        }
    }
    return p;
}

static int64_t ts_delta_of(int64_t ts, int64_t base)
{
    /* Wrapping difference: the reader adds it back with the same wrap, so
     * any pair of int64 timestamps survives the trip. */
    return (int64_t)((uint64_t)ts - (uint64_t)base);
}

static int check_record(const mp_record *r, size_t i, mp_error *e)
{
    if (r->key_len < -1 || (r->key_len > 0 && !r->key))
        return mp_error_set(e, MP_EINVAL, "record %zu: bad key (length %d)", i, (int)r->key_len);
    if (r->value_len < -1 || (r->value_len > 0 && !r->value))
        return mp_error_set(e, MP_EINVAL, "record %zu: bad value (length %d)", i,
                            (int)r->value_len);
    if (r->nheaders > INT32_MAX || (r->nheaders && !r->headers))
        return mp_error_set(e, MP_EINVAL, "record %zu: bad header list (%zu headers)", i,
                            r->nheaders);
    for (size_t h = 0; h < r->nheaders; h++) {
        const mp_record_header *hd = &r->headers[h];
        if (hd->key_len > INT32_MAX || (hd->key_len && !hd->key))
            return mp_error_set(e, MP_EINVAL, "record %zu header %zu: bad key (length %zu)", i, h,
                                hd->key_len);
        if (hd->value_len < -1 || (hd->value_len > 0 && !hd->value))
            return mp_error_set(e, MP_EINVAL, "record %zu header %zu: bad value (length %d)", i,
                                h, (int)hd->value_len);
    }
    return MP_OK;
}

static int compress_gzip(const uint8_t *src, size_t n, int level, mp_buf *out, mp_error *e)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    /* windowBits 15 + 16: a gzip wrapper, as Java's GZIPOutputStream. */
    if (deflateInit2(&zs, level ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return mp_error_set(e, MP_ENOMEM, "gzip: cannot initialise the compressor");
    uLong bound = deflateBound(&zs, (uLong)n);
    uint8_t *dst = (uint8_t *)mp_buf_reserve(out, bound);
    if (!dst) {
        deflateEnd(&zs);
        return mp_error_set(e, MP_ENOMEM, "gzip: out of memory");
    }
    zs.next_in = (Bytef *)(uintptr_t)src;
    zs.avail_in = (uInt)n;
    zs.next_out = dst;
    zs.avail_out = (uInt)bound;
    int r = deflate(&zs, Z_FINISH);
    size_t produced = zs.total_out;
    deflateEnd(&zs);
    if (r != Z_STREAM_END)
        return mp_error_set(e, MP_EINPUT, "gzip: compression failed (%d)", r);
    buf_set_len(out, out->len + produced);
    return MP_OK;
}

static int compress_lz4(const uint8_t *src, size_t n, int level, mp_buf *out, mp_error *e)
{
    /* Kafka's LZ4 frame: independent 64 KB blocks, no block or content
     * checksum, no content size (what KafkaLZ4BlockOutputStream writes). */
    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof prefs);
    prefs.frameInfo.blockSizeID = LZ4F_max64KB;
    prefs.frameInfo.blockMode = LZ4F_blockIndependent;
    prefs.frameInfo.contentChecksumFlag = LZ4F_noContentChecksum;
    prefs.frameInfo.blockChecksumFlag = LZ4F_noBlockChecksum;
    prefs.compressionLevel = level;
    size_t bound = LZ4F_compressFrameBound(n, &prefs);
    uint8_t *dst = (uint8_t *)mp_buf_reserve(out, bound);
    if (!dst)
        return mp_error_set(e, MP_ENOMEM, "lz4: out of memory");
    size_t r = LZ4F_compressFrame(dst, bound, src, n, &prefs);
    if (LZ4F_isError(r))
        return mp_error_set(e, MP_EINPUT, "lz4: %s", LZ4F_getErrorName(r));
    buf_set_len(out, out->len + r);
    return MP_OK;
}

static int compress_zstd(const uint8_t *src, size_t n, int level, mp_buf *out, mp_error *e)
{
    size_t bound = ZSTD_compressBound(n);
    uint8_t *dst = (uint8_t *)mp_buf_reserve(out, bound);
    if (!dst)
        return mp_error_set(e, MP_ENOMEM, "zstd: out of memory");
    size_t r = ZSTD_compress(dst, bound, src, n, level ? level : ZSTD_CLEVEL_DEFAULT);
    if (ZSTD_isError(r))
        return mp_error_set(e, MP_EINPUT, "zstd: %s", ZSTD_getErrorName(r));
    buf_set_len(out, out->len + r);
    return MP_OK;
}

static int compress_snappy(const uint8_t *src, size_t n, mp_buf *out, mp_error *e)
{
    size_t nblocks = (n + XERIAL_BLOCK - 1) / XERIAL_BLOCK;
    size_t bound = XERIAL_HEADER + nblocks * (4 + snappy_max_compressed_length(XERIAL_BLOCK));
    uint8_t *dst = (uint8_t *)mp_buf_reserve(out, bound);
    if (!dst)
        return mp_error_set(e, MP_ENOMEM, "snappy: out of memory");
    uint8_t *p = dst;
    memcpy(p, xerial_magic, 8);
    put32(p + 8, 1);  /* version */
    put32(p + 12, 1); /* minimum compatible version */
    p += XERIAL_HEADER;
    for (size_t off = 0; off < n; off += XERIAL_BLOCK) {
        size_t chunk = n - off < XERIAL_BLOCK ? n - off : XERIAL_BLOCK;
        size_t clen = snappy_max_compressed_length(chunk);
        if (snappy_compress((const char *)src + off, chunk, (char *)p + 4, &clen) != SNAPPY_OK)
            return mp_error_set(e, MP_EINPUT, "snappy: compression failed");
        put32(p, (uint32_t)clen);
        p += 4 + clen;
    }
    buf_set_len(out, out->len + (size_t)(p - dst));
    return MP_OK;
}

int mp_batch_encode(mp_buf *out, int64_t base_offset, const mp_record *recs, size_t n,
                    mp_compression c, mp_error *e)
{
    mp_batch_opts o = MP_BATCH_OPTS_INIT;
    o.compression = c;
    return mp_batch_encode_ex(out, base_offset, recs, n, &o, e);
}

int mp_batch_encode_ex(mp_buf *out, int64_t base_offset, const mp_record *recs, size_t n,
                       const mp_batch_opts *opts, mp_error *e)
{
    static const mp_batch_opts defaults = MP_BATCH_OPTS_INIT;
    const mp_batch_opts *o = opts ? opts : &defaults;
    if (!out || (!recs && n))
        return mp_error_set(e, MP_EINVAL, "batch encode: NULL argument");
    if (n == 0)
        return mp_error_set(e, MP_EINVAL, "batch encode: a batch needs at least one record");
    if (n > INT32_MAX)
        return mp_error_set(e, MP_EINVAL, "batch encode: %zu records is over the int32 count", n);
    if (base_offset < 0)
        return mp_error_set(e, MP_EINVAL, "batch encode: negative base offset %lld",
                            (long long)base_offset);
    if ((unsigned)o->compression > MP_COMPRESS_ZSTD)
        return mp_error_set(e, MP_EINVAL, "batch encode: unknown compression %d",
                            (int)o->compression);
    if (out->oom)
        return mp_error_set(e, MP_ENOMEM, "batch encode: output buffer is out of memory");

    /* Pass 1: validate, find the deltas and the exact size, so the records
     * can then be written straight into their place. */
    int64_t base_ts = recs[0].timestamp, max_ts = recs[0].timestamp;
    int32_t last_delta = (int32_t)(n - 1);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const mp_record *r = &recs[i];
        int rc = check_record(r, i, e);
        if (rc)
            return rc;
        int32_t od = (int32_t)i;
        if (o->keep_offsets) {
            if (r->offset < base_offset || r->offset - base_offset > INT32_MAX)
                return mp_error_set(e, MP_EINVAL,
                                    "record %zu: offset %lld outside base offset %lld + int32",
                                    i, (long long)r->offset, (long long)base_offset);
            od = (int32_t)(r->offset - base_offset);
            if (i && r->offset <= recs[i - 1].offset)
                return mp_error_set(e, MP_EINVAL, "record %zu: offset %lld not above %lld", i,
                                    (long long)r->offset, (long long)recs[i - 1].offset);
            last_delta = od;
        }
        if (r->timestamp > max_ts)
            max_ts = r->timestamp;
        uint64_t body = record_body_size(r, ts_delta_of(r->timestamp, base_ts), od);
        if (body > INT32_MAX)
            return mp_error_set(e, MP_EINVAL, "record %zu: %llu bytes is too large", i,
                                (unsigned long long)body);
        total += vsize32((int32_t)body) + body;
        if (total > INT32_MAX - MP_BATCH_HEADER_SIZE)
            return mp_error_set(e, MP_EINVAL, "batch encode: records exceed 2 GB");
    }
    if (o->keep_offsets && o->last_offset_delta >= 0) {
        if (o->last_offset_delta < last_delta)
            return mp_error_set(e, MP_EINVAL, "batch encode: last offset delta %d below %d",
                                (int)o->last_offset_delta, (int)last_delta);
        last_delta = o->last_offset_delta;
    }
    if (base_offset > INT64_MAX - last_delta)
        return mp_error_set(e, MP_EINVAL, "batch encode: offsets overflow int64");

    size_t start = out->len;
    uint8_t *h = (uint8_t *)mp_buf_reserve(
        out, MP_BATCH_HEADER_SIZE + (o->compression ? 0 : (size_t)total));
    if (!h)
        return mp_error_set(e, MP_ENOMEM, "batch encode: out of memory");
    int16_t attrs = (int16_t)((o->attributes & ~MP_BATCH_ATTR_COMPRESSION_MASK) | o->compression);
    put64(h + OFF_BASE_OFFSET, (uint64_t)base_offset);
    put32(h + OFF_EPOCH, (uint32_t)o->leader_epoch);
    h[OFF_MAGIC] = MP_BATCH_MAGIC;
    put16(h + OFF_ATTRIBUTES, (uint16_t)attrs);
    put32(h + OFF_LAST_DELTA, (uint32_t)last_delta);
    put64(h + OFF_BASE_TS, (uint64_t)base_ts);
    put64(h + OFF_MAX_TS, (uint64_t)max_ts);
    put64(h + OFF_PRODUCER_ID, (uint64_t)o->producer_id);
    put16(h + OFF_PRODUCER_EPOCH, (uint16_t)o->producer_epoch);
    put32(h + OFF_BASE_SEQUENCE, (uint32_t)o->base_sequence);
    put32(h + OFF_COUNT, (uint32_t)n);

    uint8_t *tmp = NULL, *p;
    if (o->compression == MP_COMPRESS_NONE) {
        p = h + MP_BATCH_HEADER_SIZE;
    } else {
        tmp = malloc((size_t)total);
        if (!tmp)
            return mp_error_set(e, MP_ENOMEM, "batch encode: out of memory");
        p = tmp;
    }
    /* Pass 2: write. An uncompressed batch is CRC'd a slice at a time as
     * it is written, while the slice is still in the cache, instead of in
     * a second pass over the whole batch (which may not fit there). */
    const int plain = o->compression == MP_COMPRESS_NONE;
    uint32_t crc = 0;
    const uint8_t *crc_from = h + OFF_ATTRIBUTES;
    for (size_t i = 0; i < n; i++) {
        const mp_record *r = &recs[i];
        int32_t od = o->keep_offsets ? (int32_t)(r->offset - base_offset) : (int32_t)i;
        int64_t tsd = ts_delta_of(r->timestamp, base_ts);
        p = write_record(p, r, (int32_t)record_body_size(r, tsd, od), tsd, od);
        if (plain && (size_t)(p - crc_from) >= CRC_SLICE) {
            crc = mp_crc32c(crc, crc_from, (size_t)(p - crc_from));
            crc_from = p;
        }
    }
    if (plain)
        crc = mp_crc32c(crc, crc_from, (size_t)(p - crc_from));

    int rc = MP_OK;
    /* Setting the length writes mp_buf's NUL after it: only ever past what
     * is written. */
    buf_set_len(out, start + MP_BATCH_HEADER_SIZE + (o->compression ? 0 : (size_t)total));
    switch (o->compression) {
    case MP_COMPRESS_NONE:
        break;
    case MP_COMPRESS_GZIP:
        rc = compress_gzip(tmp, (size_t)total, o->level, out, e);
        break;
    case MP_COMPRESS_SNAPPY:
        rc = compress_snappy(tmp, (size_t)total, out, e);
        break;
    case MP_COMPRESS_LZ4:
        rc = compress_lz4(tmp, (size_t)total, o->level, out, e);
        break;
    case MP_COMPRESS_ZSTD:
        rc = compress_zstd(tmp, (size_t)total, o->level, out, e);
        break;
    }
    free(tmp);
    size_t size = out->len - start;
    if (!rc && size - MP_BATCH_LOG_OVERHEAD > INT32_MAX)
        rc = mp_error_set(e, MP_EINVAL, "batch encode: compressed batch exceeds 2 GB");
    if (rc) {
        buf_set_len(out, start);
        return rc;
    }
    /* The output may have moved while compressing. */
    h = (uint8_t *)out->data + start;
    put32(h + OFF_LENGTH, (uint32_t)(size - MP_BATCH_LOG_OVERHEAD));
    put32(h + OFF_CRC, plain ? crc : mp_batch_compute_crc(h, size));
    return MP_OK;
}

/* ---- the fixed header ---------------------------------------------------- */

uint32_t mp_batch_compute_crc(const uint8_t *data, size_t size)
{
    return mp_crc32c(0, data + OFF_ATTRIBUTES, size - OFF_ATTRIBUTES);
}

int mp_batch_crc_ok(const uint8_t *data, const mp_batch_info *info)
{
    if (info->size < MP_BATCH_HEADER_SIZE)
        return 0;
    return mp_batch_compute_crc(data, info->size) == get32(data + OFF_CRC);
}

int mp_batch_peek(const uint8_t *data, size_t len, mp_batch_info *info, mp_error *e)
{
    memset(info, 0, sizeof *info);
    if (len < MP_BATCH_LOG_OVERHEAD)
        return mp_error_set(e, MP_LOG_ETRUNCATED, "batch header truncated: %zu of %d bytes", len,
                            MP_BATCH_LOG_OVERHEAD);
    info->base_offset = (int64_t)get64(data + OFF_BASE_OFFSET);
    info->batch_length = (int32_t)get32(data + OFF_LENGTH);
    long long bo = (long long)info->base_offset;
    if (info->base_offset < 0)
        return mp_error_set(e, MP_EFORMAT, "batch at offset %lld: negative base offset", bo);
    if (info->batch_length < MP_BATCH_MIN_LENGTH)
        return mp_error_set(e, MP_EFORMAT, "batch at offset %lld: batch length %d below %d", bo,
                            (int)info->batch_length, MP_BATCH_MIN_LENGTH);
    info->size = MP_BATCH_LOG_OVERHEAD + (size_t)info->batch_length;
    if (len > OFF_MAGIC) {
        info->leader_epoch = (int32_t)get32(data + OFF_EPOCH);
        info->magic = (int8_t)data[OFF_MAGIC];
        if (info->magic != MP_BATCH_MAGIC)
            return mp_error_set(e, MP_EFORMAT,
                                "batch at offset %lld: magic %d (only RecordBatch v2, magic 2, "
                                "is supported)",
                                bo, (int)info->magic);
    }
    if (len < MP_BATCH_HEADER_SIZE)
        return mp_error_set(e, MP_LOG_ETRUNCATED,
                            "batch at offset %lld truncated: %zu of %zu bytes", bo, len,
                            info->size);
    info->crc = get32(data + OFF_CRC);
    info->attributes = (int16_t)get16(data + OFF_ATTRIBUTES);
    info->last_offset_delta = (int32_t)get32(data + OFF_LAST_DELTA);
    info->base_timestamp = (int64_t)get64(data + OFF_BASE_TS);
    info->max_timestamp = (int64_t)get64(data + OFF_MAX_TS);
    info->producer_id = (int64_t)get64(data + OFF_PRODUCER_ID);
    info->producer_epoch = (int16_t)get16(data + OFF_PRODUCER_EPOCH);
    info->base_sequence = (int32_t)get32(data + OFF_BASE_SEQUENCE);
    info->record_count = (int32_t)get32(data + OFF_COUNT);

    int comp = info->attributes & MP_BATCH_ATTR_COMPRESSION_MASK;
    if (comp > MP_COMPRESS_ZSTD)
        return mp_error_set(e, MP_EFORMAT, "batch at offset %lld: unknown compression type %d",
                            bo, comp);
    if (info->last_offset_delta < 0)
        return mp_error_set(e, MP_EFORMAT, "batch at offset %lld: negative last offset delta %d",
                            bo, (int)info->last_offset_delta);
    if (info->base_offset > INT64_MAX - info->last_offset_delta)
        return mp_error_set(e, MP_EFORMAT, "batch at offset %lld: last offset overflows", bo);
    if (info->record_count < 0)
        return mp_error_set(e, MP_EFORMAT, "batch at offset %lld: negative record count %d", bo,
                            (int)info->record_count);
    if (info->record_count > 0 && info->record_count - 1 > info->last_offset_delta)
        return mp_error_set(e, MP_EFORMAT,
                            "batch at offset %lld: %d records do not fit in last offset delta %d",
                            bo, (int)info->record_count, (int)info->last_offset_delta);
    if (comp == MP_COMPRESS_NONE &&
        (uint64_t)info->record_count * MIN_RECORD_SIZE >
            (uint64_t)(info->batch_length - MP_BATCH_MIN_LENGTH))
        return mp_error_set(e, MP_EFORMAT,
                            "batch at offset %lld: %d records cannot fit in %d bytes", bo,
                            (int)info->record_count, (int)(info->batch_length - MP_BATCH_MIN_LENGTH));
    if (len < info->size)
        return mp_error_set(e, MP_LOG_ETRUNCATED,
                            "batch at offset %lld truncated: %zu of %zu bytes", bo, len,
                            info->size);
    return MP_OK;
}

/* ---- decompression ------------------------------------------------------- */

/* Room for the decompressor's next output: at least one byte, but never
 * more than one byte past `limit` in total, so a stream that would exceed
 * the limit shows it by producing that byte. NULL + error set on failure. */
static uint8_t *out_room(mp_buf *s, size_t limit, size_t *avail, const char *codec,
                         long long bo, mp_error *e, int *rc)
{
    if (s->len > limit) {
        *rc = mp_error_set(e, MP_EFORMAT,
                           "batch at offset %lld: %s data decompresses beyond the %zu-byte limit",
                           bo, codec, limit);
        return NULL;
    }
    size_t free_now = s->cap > s->len + 1 ? s->cap - s->len - 1 : 0;
    size_t max_more = limit + 1 - s->len;
    if (free_now == 0) {
        size_t grow = s->len < 65536 ? 65536 : s->len;
        if (grow > max_more)
            grow = max_more;
        if (!mp_buf_reserve(s, grow)) {
            *rc = mp_error_set(e, MP_ENOMEM, "batch at offset %lld: out of memory", bo);
            return NULL;
        }
        free_now = s->cap - s->len - 1;
    }
    *avail = free_now < max_more ? free_now : max_more;
    return (uint8_t *)s->data + s->len;
}

static int decompress_gzip(const uint8_t *src, size_t n, mp_buf *s, size_t limit, long long bo,
                           mp_error *e)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK)
        return mp_error_set(e, MP_ENOMEM, "batch at offset %lld: gzip: cannot initialise", bo);
    zs.next_in = (Bytef *)(uintptr_t)src;
    int rc = MP_OK;
    size_t left = n;
    for (;;) {
        size_t avail;
        uint8_t *dst = out_room(s, limit, &avail, "gzip", bo, e, &rc);
        if (!dst)
            break;
        if (avail > UINT_MAX)
            avail = UINT_MAX;
        uInt in_chunk = left > UINT_MAX ? UINT_MAX : (uInt)left;
        zs.avail_in = in_chunk;
        zs.next_out = dst;
        zs.avail_out = (uInt)avail;
        int r = inflate(&zs, Z_NO_FLUSH);
        left -= in_chunk - zs.avail_in;
        buf_set_len(s, s->len + (avail - zs.avail_out));
        if (r == Z_STREAM_END) {
            if (left == 0)
                break;
            /* Another gzip member follows, as GZIPInputStream allows. */
            if (inflateReset(&zs) != Z_OK) {
                rc = mp_error_set(e, MP_EFORMAT, "batch at offset %lld: gzip: bad member", bo);
                break;
            }
            continue;
        }
        if (r == Z_OK)
            continue;
        if (r == Z_BUF_ERROR && zs.avail_out != 0) {
            rc = mp_error_set(e, MP_EFORMAT, "batch at offset %lld: gzip: data ends early", bo);
            break;
        }
        if (r == Z_BUF_ERROR)
            continue;
        rc = mp_error_set(e, r == Z_MEM_ERROR ? MP_ENOMEM : MP_EFORMAT,
                          "batch at offset %lld: gzip: %s", bo, zs.msg ? zs.msg : "corrupt data");
        break;
    }
    inflateEnd(&zs);
    if (!rc && s->len > limit)
        rc = mp_error_set(e, MP_EFORMAT,
                          "batch at offset %lld: gzip data decompresses beyond the %zu-byte limit",
                          bo, limit);
    return rc;
}

static int decompress_lz4(const uint8_t *src, size_t n, mp_buf *s, size_t limit, long long bo,
                          mp_error *e)
{
    LZ4F_dctx *dctx = NULL;
    if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
        return mp_error_set(e, MP_ENOMEM, "batch at offset %lld: lz4: cannot initialise", bo);
    int rc = MP_OK;
    size_t pos = 0, hint = 1;
    while (pos < n) {
        size_t avail;
        uint8_t *dst = out_room(s, limit, &avail, "lz4", bo, e, &rc);
        if (!dst)
            break;
        size_t in = n - pos, outsz = avail;
        hint = LZ4F_decompress(dctx, dst, &outsz, src + pos, &in, NULL);
        if (LZ4F_isError(hint)) {
            rc = mp_error_set(e, MP_EFORMAT, "batch at offset %lld: lz4: %s", bo,
                              LZ4F_getErrorName(hint));
            break;
        }
        pos += in;
        buf_set_len(s, s->len + outsz);
        if (in == 0 && outsz == 0) {
            rc = mp_error_set(e, MP_EFORMAT, "batch at offset %lld: lz4: no progress", bo);
            break;
        }
    }
    /* Drain output still held in the context after the last input. */
    while (!rc && hint != 0) {
        size_t avail;
        uint8_t *dst = out_room(s, limit, &avail, "lz4", bo, e, &rc);
        if (!dst)
            break;
        size_t in = 0, outsz = avail;
        hint = LZ4F_decompress(dctx, dst, &outsz, src + n, &in, NULL);
        if (LZ4F_isError(hint)) {
            rc = mp_error_set(e, MP_EFORMAT, "batch at offset %lld: lz4: %s", bo,
                              LZ4F_getErrorName(hint));
            break;
        }
        buf_set_len(s, s->len + outsz);
        if (outsz == 0 && hint != 0) {
            rc = mp_error_set(e, MP_EFORMAT, "batch at offset %lld: lz4: frame ends early", bo);
            break;
        }
    }
    LZ4F_freeDecompressionContext(dctx);
    if (!rc && s->len > limit)
        rc = mp_error_set(e, MP_EFORMAT,
                          "batch at offset %lld: lz4 data decompresses beyond the %zu-byte limit",
                          bo, limit);
    return rc;
}

static int decompress_zstd(const uint8_t *src, size_t n, mp_buf *s, size_t limit, long long bo,
                           mp_error *e)
{
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    if (!dctx)
        return mp_error_set(e, MP_ENOMEM, "batch at offset %lld: zstd: cannot initialise", bo);
    /* A window larger than the output limit is never needed; refusing it
     * keeps a hostile frame from making the decoder allocate one. */
    int wlog = 20;
    while (wlog < 27 && ((size_t)1 << wlog) < limit)
        wlog++;
    ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, wlog);
    ZSTD_inBuffer in = {src, n, 0};
    size_t hint = 1;
    int rc = MP_OK;
    for (;;) {
        size_t avail;
        uint8_t *dst = out_room(s, limit, &avail, "zstd", bo, e, &rc);
        if (!dst)
            break;
        ZSTD_outBuffer ob = {dst, avail, 0};
        size_t before_in = in.pos;
        hint = ZSTD_decompressStream(dctx, &ob, &in);
        if (ZSTD_isError(hint) &&
            ZSTD_getErrorCode(hint) == ZSTD_error_frameParameter_windowTooLarge) {
            rc = mp_error_set(e, MP_EFORMAT,
                              "batch at offset %lld: zstd window over 2^%d bytes exceeds the "
                              "%zu-byte decompression limit",
                              bo, wlog, limit);
            break;
        }
        if (ZSTD_isError(hint)) {
            rc = mp_error_set(e, MP_EFORMAT, "batch at offset %lld: zstd: %s", bo,
                              ZSTD_getErrorName(hint));
            break;
        }
        buf_set_len(s, s->len + ob.pos);
        if (in.pos == in.size && hint == 0)
            break; /* the last frame is complete and flushed */
        if (in.pos == in.size && ob.pos < ob.size) {
            rc = mp_error_set(e, MP_EFORMAT, "batch at offset %lld: zstd: data ends early", bo);
            break;
        }
        if (in.pos == before_in && ob.pos == 0) {
            rc = mp_error_set(e, MP_EFORMAT, "batch at offset %lld: zstd: no progress", bo);
            break;
        }
    }
    ZSTD_freeDCtx(dctx);
    if (!rc && s->len > limit)
        rc = mp_error_set(e, MP_EFORMAT,
                          "batch at offset %lld: zstd data decompresses beyond the %zu-byte limit",
                          bo, limit);
    return rc;
}

/* One raw snappy block appended to s, its declared size checked first. */
static int snappy_block(const uint8_t *src, size_t n, mp_buf *s, size_t limit, long long bo,
                        mp_error *e)
{
    size_t ulen;
    if (snappy_uncompressed_length((const char *)src, n, &ulen) != SNAPPY_OK)
        return mp_error_set(e, MP_EFORMAT, "batch at offset %lld: snappy: corrupt block", bo);
    if (ulen > limit || s->len > limit - ulen)
        return mp_error_set(e, MP_EFORMAT,
                            "batch at offset %lld: snappy data decompresses beyond the %zu-byte "
                            "limit",
                            bo, limit);
    uint8_t *dst = (uint8_t *)mp_buf_reserve(s, ulen);
    if (!dst)
        return mp_error_set(e, MP_ENOMEM, "batch at offset %lld: out of memory", bo);
    size_t got = ulen;
    if (snappy_uncompress((const char *)src, n, (char *)dst, &got) != SNAPPY_OK || got != ulen)
        return mp_error_set(e, MP_EFORMAT, "batch at offset %lld: snappy: corrupt block", bo);
    buf_set_len(s, s->len + got);
    return MP_OK;
}

static int decompress_snappy(const uint8_t *src, size_t n, mp_buf *s, size_t limit, long long bo,
                             mp_error *e)
{
    if (n < XERIAL_HEADER || memcmp(src, xerial_magic, sizeof xerial_magic) != 0)
        return snappy_block(src, n, s, limit, bo, e); /* raw snappy, as some clients send */
    size_t pos = XERIAL_HEADER;
    while (pos < n) {
        if (n - pos < 4)
            return mp_error_set(e, MP_EFORMAT,
                                "batch at offset %lld: snappy: block length truncated", bo);
        uint32_t blen = get32(src + pos);
        pos += 4;
        if (blen > n - pos)
            return mp_error_set(e, MP_EFORMAT,
                                "batch at offset %lld: snappy: block of %u bytes overruns the "
                                "batch",
                                bo, blen);
        int rc = snappy_block(src + pos, blen, s, limit, bo, e);
        if (rc)
            return rc;
        pos += blen;
    }
    return MP_OK;
}

/* ---- records ------------------------------------------------------------- */

/* Grows an array to hold `need` elements (doubling, so a reused
 * mp_batch_records stops allocating once it has seen its largest batch).
 * Returns the array, or NULL with *arr untouched when out of memory. */
static void *grow_array(void *arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return arr;
    size_t c = *cap ? *cap : 16;
    while (c < need)
        c = c > SIZE_MAX / 2 / elem ? need : c * 2;
    if (c > SIZE_MAX / elem)
        return NULL;
    void *p = realloc(arr, c * elem);
    if (p)
        *cap = c;
    return p;
}

/* A corrupt record: empties `out` (no half-decoded batch is ever handed
 * out) and names the batch, the record and the byte where it went wrong. */
__attribute__((format(printf, 6, 7))) static int rec_fail(mp_error *e, mp_batch_records *out,
                                                         long long bo, size_t i, size_t pos,
                                                         const char *fmt, ...)
{
    out->n = 0;
    out->nheaders = 0;
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return mp_error_set(e, MP_EFORMAT,
                        "batch at offset %lld: record %zu (byte %zu of the records): %s", bo, i,
                        pos, what);
}

#define REC_FAIL(...) return rec_fail(e, out, bo, i, (size_t)(rp - start), __VA_ARGS__)

#define GET_VARINT32(var, lim, what)                                                       \
    do {                                                                                   \
        int r_ = mp_varint_decode32(p, (size_t)((lim) - p), &(var));                       \
        if (r_ < 0)                                                                        \
            REC_FAIL("%s: %s", what, mp_varint_strerror(r_));                              \
        p += r_;                                                                           \
    } while (0)

static int parse_records(const uint8_t *start, size_t n, const mp_batch_info *info,
                         mp_batch_records *out, mp_error *e)
{
    long long bo = (long long)info->base_offset;
    size_t count = (size_t)info->record_count;
    out->n = 0;
    out->nheaders = 0;
    if (count > n / MIN_RECORD_SIZE)
        return mp_error_set(e, MP_EFORMAT, "batch at offset %lld: %zu records cannot fit in %zu "
                            "bytes", bo, count, n);
    mp_record *recs = grow_array(out->recs, &out->cap, count, sizeof *out->recs);
    if (!recs && count)
        return mp_error_set(e, MP_ENOMEM, "batch at offset %lld: out of memory", bo);
    out->recs = recs ? recs : out->recs;

    const uint8_t *p = start, *end = start + n;
    const int log_append = (info->attributes & MP_BATCH_ATTR_LOG_APPEND_TIME) != 0;
    int32_t prev_delta = -1;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *rp = p;
        mp_record *r = &out->recs[i];
        int32_t len = 0;
        GET_VARINT32(len, end, "record length");
        if (len < MIN_RECORD_BODY || (size_t)len > (size_t)(end - p))
            REC_FAIL("record length %d outside [%d, %zu]", (int)len, MIN_RECORD_BODY,
                     (size_t)(end - p));
        const uint8_t *rend = p + len;
        p++; /* record attributes: unused */
        int64_t tsd = 0;
        {
            int r_ = mp_varint_decode64(p, (size_t)(rend - p), &tsd);
            if (r_ < 0)
                REC_FAIL("timestamp delta: %s", mp_varint_strerror(r_));
            p += r_;
        }
        int32_t od = 0;
        GET_VARINT32(od, rend, "offset delta");
        if (od <= prev_delta || od > info->last_offset_delta)
            REC_FAIL("offset delta %d not in (%d, %d]", (int)od, (int)prev_delta,
                     (int)info->last_offset_delta);
        prev_delta = od;
        r->offset = info->base_offset + od;
        r->timestamp = log_append ? info->max_timestamp
                                  : (int64_t)((uint64_t)info->base_timestamp + (uint64_t)tsd);

        int32_t kl = 0;
        GET_VARINT32(kl, rend, "key length");
        if (kl < -1 || (kl > 0 && kl > rend - p))
            REC_FAIL("key length %d outside [-1, %zu]", (int)kl, (size_t)(rend - p));
        r->key_len = kl;
        r->key = kl >= 0 ? p : NULL;
        if (kl > 0)
            p += kl;

        int32_t vl = 0;
        GET_VARINT32(vl, rend, "value length");
        if (vl < -1 || (vl > 0 && vl > rend - p))
            REC_FAIL("value length %d outside [-1, %zu]", (int)vl, (size_t)(rend - p));
        r->value_len = vl;
        r->value = vl >= 0 ? p : NULL;
        if (vl > 0)
            p += vl;

        int32_t hc = 0;
        GET_VARINT32(hc, rend, "header count");
        /* Each header takes at least its two length varints. */
        if (hc < 0 || (size_t)hc > (size_t)(rend - p) / 2)
            REC_FAIL("header count %d outside [0, %zu]", (int)hc, (size_t)(rend - p) / 2);
        r->nheaders = (size_t)hc;
        r->headers = NULL; /* set below, once the header array stops moving */
        if (hc) {
            mp_record_header *hs = grow_array(out->headers, &out->headers_cap,
                                              out->nheaders + (size_t)hc, sizeof *out->headers);
            if (!hs) {
                out->n = 0;
                out->nheaders = 0;
                return mp_error_set(e, MP_ENOMEM, "batch at offset %lld: out of memory", bo);
            }
            out->headers = hs;
        }
        for (int32_t k = 0; k < hc; k++) {
            mp_record_header *hd = &out->headers[out->nheaders++];
            int32_t hkl = 0, hvl = 0;
            GET_VARINT32(hkl, rend, "header key length");
            if (hkl < 0 || hkl > rend - p)
                REC_FAIL("header %d key length %d outside [0, %zu]", (int)k, (int)hkl,
                         (size_t)(rend - p));
            hd->key = (const char *)p;
            hd->key_len = (size_t)hkl;
            p += hkl;
            GET_VARINT32(hvl, rend, "header value length");
            if (hvl < -1 || (hvl > 0 && hvl > rend - p))
                REC_FAIL("header %d value length %d outside [-1, %zu]", (int)k, (int)hvl,
                         (size_t)(rend - p));
            hd->value_len = hvl;
            hd->value = hvl >= 0 ? p : NULL;
            if (hvl > 0)
                p += hvl;
        }
        if (p != rend)
            REC_FAIL("%zu bytes left over inside the record's declared length",
                     (size_t)(rend - p));
        out->n = i + 1;
    }
    if (p != end) {
        out->n = 0;
        out->nheaders = 0;
        return mp_error_set(e, MP_EFORMAT,
                            "batch at offset %lld: %zu bytes after the last of %zu records", bo,
                            (size_t)(end - p), count);
    }
    size_t h = 0;
    for (size_t i = 0; i < count; i++) {
        out->recs[i].headers = out->recs[i].nheaders ? out->headers + h : NULL;
        h += out->recs[i].nheaders;
    }
    return MP_OK;
}

int mp_batch_decode(const uint8_t *data, const mp_batch_info *info, mp_batch_records *out,
                    mp_buf *scratch, mp_error *e)
{
    return mp_batch_decode_ex(data, info, out, scratch, MP_BATCH_MAX_UNCOMPRESSED, 1, e);
}

int mp_batch_decode_ex(const uint8_t *data, const mp_batch_info *info, mp_batch_records *out,
                       mp_buf *scratch, size_t max_uncompressed, int check_crc, mp_error *e)
{
    if (!data || !info || !out)
        return mp_error_set(e, MP_EINVAL, "batch decode: NULL argument");
    out->n = 0;
    out->nheaders = 0;
    long long bo = (long long)info->base_offset;
    if (info->size < MP_BATCH_HEADER_SIZE ||
        info->size != MP_BATCH_LOG_OVERHEAD + (size_t)(uint32_t)info->batch_length ||
        info->record_count < 0)
        return mp_error_set(e, MP_EINVAL, "batch at offset %lld: batch info not from a "
                            "successful peek", bo);
    if (check_crc) {
        uint32_t want = get32(data + OFF_CRC), got = mp_batch_compute_crc(data, info->size);
        if (want != got)
            return mp_error_set(e, MP_EFORMAT,
                                "batch at offset %lld: CRC-32C mismatch (stored 0x%08x, "
                                "computed 0x%08x): corrupt data",
                                bo, (unsigned)want, (unsigned)got);
    }
    const uint8_t *rec = data + MP_BATCH_HEADER_SIZE;
    size_t rec_len = info->size - MP_BATCH_HEADER_SIZE;
    int comp = info->attributes & MP_BATCH_ATTR_COMPRESSION_MASK;
    if (comp == MP_COMPRESS_NONE || (info->record_count == 0 && rec_len == 0))
        return parse_records(rec, rec_len, info, out, e);

    if (!scratch)
        return mp_error_set(e, MP_EINVAL, "batch at offset %lld: compressed batch needs a "
                            "scratch buffer", bo);
    if (scratch->oom)
        return mp_error_set(e, MP_ENOMEM, "batch at offset %lld: scratch buffer is out of "
                            "memory", bo);
    buf_set_len(scratch, 0);
    int rc;
    switch (comp) {
    case MP_COMPRESS_GZIP:
        rc = decompress_gzip(rec, rec_len, scratch, max_uncompressed, bo, e);
        break;
    case MP_COMPRESS_SNAPPY:
        rc = decompress_snappy(rec, rec_len, scratch, max_uncompressed, bo, e);
        break;
    case MP_COMPRESS_LZ4:
        rc = decompress_lz4(rec, rec_len, scratch, max_uncompressed, bo, e);
        break;
    case MP_COMPRESS_ZSTD:
        rc = decompress_zstd(rec, rec_len, scratch, max_uncompressed, bo, e);
        break;
    default:
        rc = mp_error_set(e, MP_EFORMAT, "batch at offset %lld: unknown compression type %d",
                          bo, comp);
        break;
    }
    if (rc)
        return rc;
    /* An empty stream may leave scratch unallocated; NULL + 0 is not C. */
    const uint8_t *plain = scratch->data ? (const uint8_t *)scratch->data : (const uint8_t *)"";
    return parse_records(plain, scratch->len, info, out, e);
}
