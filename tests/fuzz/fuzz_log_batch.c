/* libFuzzer target for the RecordBatch v2 decoder.
 *
 * Treats the input as a log segment: peeks batch after batch, decodes each
 * one as stored (mostly exercising the CRC check) and again with its CRC
 * recomputed, so the fuzzer reaches the record parser and decompressors.
 * Every record a successful decode returns is checked to lie inside the
 * batch or the scratch buffer, then re-encoded and decoded again to the
 * same records. A 1 MB decompression limit keeps runs fast.
 *
 * Build (see the lead's ctest wiring):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *     -Isrc tests/fuzz/fuzz_log_batch.c src/log/log_batch.c src/core/crc32c.c \
 *     src/core/varint.c src/core/error.c src/core/buf.c \
 *     -lz -llz4 -lzstd -lsnappy -lpthread -o fuzz_log_batch
 *   ./fuzz_log_batch -max_total_time=20 tests/fuzz/corpus/log_batch */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log/log_batch.h"

#define FUZZ_LIMIT ((size_t)1 << 20)

static void fail(const char *what)
{
    /* A broken invariant: crash so the fuzzer records the input. */
    (void)what;
    __builtin_trap();
}

static int inside(const uint8_t *p, int64_t n, const uint8_t *lo, size_t len)
{
    if (n <= 0)
        return 1;
    return p >= lo && p + n <= lo + len;
}

static void check_records(const mp_batch_records *r, const mp_batch_info *info,
                          const uint8_t *batch, const mp_buf *scratch)
{
    const uint8_t *lo = batch;
    size_t len = info->size;
    if (info->attributes & MP_BATCH_ATTR_COMPRESSION_MASK) {
        lo = (const uint8_t *)scratch->data;
        len = scratch->len;
    }
    if (r->n != (size_t)info->record_count)
        fail("count");
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < r->n; i++) {
        const mp_record *rec = &r->recs[i];
        if (i && rec->offset <= r->recs[i - 1].offset)
            fail("offsets");
        if (rec->offset < info->base_offset ||
            rec->offset > info->base_offset + info->last_offset_delta)
            fail("offset range");
        if (!inside(rec->key, rec->key_len, lo, len) || !inside(rec->value, rec->value_len, lo, len))
            fail("key/value bounds");
        if ((rec->key_len < 0) != (rec->key == NULL) || (rec->value_len < 0) != (rec->value == NULL))
            fail("null");
        for (int32_t k = 0; k < rec->key_len; k++)
            sink ^= rec->key[k];
        for (int32_t k = 0; k < rec->value_len; k++)
            sink ^= rec->value[k];
        for (size_t h = 0; h < rec->nheaders; h++) {
            const mp_record_header *hd = &rec->headers[h];
            if (!inside((const uint8_t *)hd->key, (int64_t)hd->key_len, lo, len) ||
                !inside(hd->value, hd->value_len, lo, len))
                fail("header bounds");
            for (size_t k = 0; k < hd->key_len; k++)
                sink ^= (uint8_t)hd->key[k];
        }
    }
    (void)sink;
}

static int same_records(const mp_batch_records *a, const mp_batch_records *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++) {
        const mp_record *x = &a->recs[i], *y = &b->recs[i];
        if (x->offset != y->offset || x->timestamp != y->timestamp || x->key_len != y->key_len ||
            x->value_len != y->value_len || x->nheaders != y->nheaders)
            return 0;
        if (x->key_len > 0 && memcmp(x->key, y->key, (size_t)x->key_len))
            return 0;
        if (x->value_len > 0 && memcmp(x->value, y->value, (size_t)x->value_len))
            return 0;
        for (size_t h = 0; h < x->nheaders; h++) {
            const mp_record_header *p = &x->headers[h], *q = &y->headers[h];
            if (p->key_len != q->key_len || p->value_len != q->value_len ||
                (p->key_len && memcmp(p->key, q->key, p->key_len)) ||
                (p->value_len > 0 && memcmp(p->value, q->value, (size_t)p->value_len)))
                return 0;
        }
    }
    return 1;
}

static void reencode(const mp_batch_records *r, const mp_batch_info *info)
{
    if (r->n == 0)
        return;
    mp_batch_opts o = MP_BATCH_OPTS_INIT;
    o.keep_offsets = 1;
    o.last_offset_delta = info->last_offset_delta;
    o.attributes = (int16_t)(info->attributes & MP_BATCH_ATTR_LOG_APPEND_TIME);
    o.compression = (mp_compression)(info->attributes & MP_BATCH_ATTR_COMPRESSION_MASK);
    mp_buf out = {0}, scratch = {0};
    mp_batch_records again = {0};
    mp_batch_info info2;
    int rc = mp_batch_encode_ex(&out, info->base_offset, r->recs, r->n, &o, NULL);
    if (rc == MP_ENOMEM)
        goto done;
    if (rc)
        fail("re-encode");
    if (mp_batch_peek((const uint8_t *)out.data, out.len, &info2, NULL) ||
        mp_batch_decode_ex((const uint8_t *)out.data, &info2, &again, &scratch, (size_t)1 << 30,
                           1, NULL))
        fail("re-decode");
    if (!same_records(r, &again))
        fail("round trip");
done:
    mp_batch_records_free(&again);
    mp_buf_free(&scratch);
    mp_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy so ASan flags any read past the input. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    mp_batch_records recs = {0};
    mp_buf scratch = {0};
    mp_error e;
    size_t pos = 0;
    for (int guard = 0; guard < 64 && pos < size; guard++) {
        mp_batch_info info;
        int rc = mp_batch_peek(buf + pos, size - pos, &info, &e);
        if (rc == MP_LOG_ETRUNCATED || rc == MP_EFORMAT)
            break;
        if (rc != MP_OK || info.size > size - pos || info.size < MP_BATCH_HEADER_SIZE)
            fail("peek");
        uint8_t *b = buf + pos;
        rc = mp_batch_decode_ex(b, &info, &recs, &scratch, FUZZ_LIMIT, 1, &e);
        if (rc == MP_OK)
            check_records(&recs, &info, b, &scratch);
        else if (rc != MP_EFORMAT && rc != MP_ENOMEM)
            fail("decode code");
        /* Now with a correct CRC, so the records are what gets tested. */
        uint32_t crc = mp_batch_compute_crc(b, info.size);
        b[17] = (uint8_t)(crc >> 24);
        b[18] = (uint8_t)(crc >> 16);
        b[19] = (uint8_t)(crc >> 8);
        b[20] = (uint8_t)crc;
        if (!mp_batch_crc_ok(b, &info))
            fail("crc");
        rc = mp_batch_decode_ex(b, &info, &recs, &scratch, FUZZ_LIMIT, 1, &e);
        if (rc == MP_OK) {
            check_records(&recs, &info, b, &scratch);
            reencode(&recs, &info);
        } else if (rc != MP_EFORMAT && rc != MP_ENOMEM) {
            fail("decode code");
        }
        pos += info.size;
    }
    mp_batch_records_free(&recs);
    mp_buf_free(&scratch);
    free(buf);
    return 0;
}
