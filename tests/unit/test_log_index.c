/* Kafka's offset index and time index: append rules, lookups against a
 * linear scan, the exact on-disk bytes, and damaged files refused. */
#include <stdint.h>
#include <stdlib.h>

#include "log/log_index.h"
#include "test.h"

static void test_offset_index(void)
{
    mp_offset_index ix = {0};
    CHECK(mp_offset_index_floor(&ix, 5) == -1);
    CHECK(mp_offset_index_append(&ix, 10, 4100) == 0);
    CHECK(mp_offset_index_append(&ix, 25, 8300) == 0);
    CHECK(mp_offset_index_append(&ix, 25, 9000) == MP_EINVAL); /* offset must grow */
    CHECK(mp_offset_index_append(&ix, 30, 8300) == MP_EINVAL); /* position too */
    CHECK(mp_offset_index_append(&ix, 0x01020304, 0x0a0b0c0d) == 0);
    CHECK(ix.n == 3);
    CHECK(mp_offset_index_floor(&ix, 9) == -1);
    CHECK(mp_offset_index_floor(&ix, 10) == 0);
    CHECK(mp_offset_index_floor(&ix, 24) == 0);
    CHECK(mp_offset_index_floor(&ix, 25) == 1);
    CHECK(mp_offset_index_floor(&ix, UINT32_MAX) == 2);

    /* Kafka's layout: big-endian relative offset, then position. */
    mp_buf b = {0};
    mp_offset_index_encode(&ix, &b);
    static const uint8_t want[24] = {0, 0, 0, 10, 0, 0, 0x10, 0x04, 0, 0, 0, 25, 0, 0, 0x20, 0x6c,
                                     1, 2, 3,  4, 0x0a, 0x0b, 0x0c, 0x0d};
    CHECK(b.len == 24 && !memcmp(b.data, want, 24));
    mp_offset_index back = {0};
    mp_error e = {0};
    CHECK(mp_offset_index_decode(&back, want, 24, 0x0b000000, &e) == 0);
    CHECK(back.n == 3 && back.ent[2].rel == 0x01020304 && back.ent[2].pos == 0x0a0b0c0d);
    /* Damage: a partial entry, a position past the log, entries out of order. */
    CHECK(mp_offset_index_decode(&back, want, 23, 0x0b000000, &e) == MP_EFORMAT);
    CHECK_STR_CONTAINS(e.msg, "not a whole number");
    CHECK(back.n == 0);
    CHECK(mp_offset_index_decode(&back, want, 24, 0x0a0b0c0d, &e) == MP_EFORMAT);
    CHECK_STR_CONTAINS(e.msg, "past the log");
    uint8_t swapped[16];
    memcpy(swapped, want + 8, 8);
    memcpy(swapped + 8, want, 8);
    CHECK(mp_offset_index_decode(&back, swapped, 16, 100000, &e) == MP_EFORMAT);
    CHECK_STR_CONTAINS(e.msg, "does not follow");
    CHECK(mp_offset_index_decode(&back, want, 0, 0, &e) == 0 && back.n == 0);

    /* Truncation by position drops entries at or past it. */
    mp_offset_index_truncate_pos(&ix, 8300);
    CHECK(ix.n == 1);
    mp_buf_free(&b);
    mp_offset_index_free(&ix);
    mp_offset_index_free(&back);
}

static void test_offset_index_lookup_brute_force(void)
{
    mp_offset_index ix = {0};
    uint32_t rel = 0, pos = 0;
    uint64_t s = 99;
    for (int i = 0; i < 3000; i++) {
        s = s * 6364136223846793005ULL + 1;
        rel += 1 + (uint32_t)(s >> 60);
        pos += 1 + (uint32_t)((s >> 40) & 0xff);
        REQUIRE(mp_offset_index_append(&ix, rel, pos) == 0);
    }
    int bad = 0;
    for (uint32_t q = 0; q < rel + 20; q += 3) {
        long want = -1;
        for (size_t i = 0; i < ix.n; i++)
            if (ix.ent[i].rel <= q)
                want = (long)i;
        bad += mp_offset_index_floor(&ix, q) != want;
    }
    CHECK(bad == 0);
    mp_offset_index_free(&ix);
}

static void test_time_index(void)
{
    mp_time_index ti = {0};
    CHECK(mp_time_index_maybe_append(&ti, 1000, 5) == 0);
    CHECK(mp_time_index_maybe_append(&ti, 1000, 9) == 0); /* same time: skipped */
    CHECK(mp_time_index_maybe_append(&ti, 900, 12) == 0);  /* earlier: skipped */
    CHECK(ti.n == 1);
    CHECK(mp_time_index_maybe_append(&ti, 2000, 4) == MP_EINVAL); /* offset went back */
    CHECK(mp_time_index_maybe_append(&ti, 2000, 12) == 0);
    CHECK(mp_time_index_maybe_append(&ti, -1 + ((int64_t)1 << 40), 12) == 0);
    CHECK(ti.n == 3);
    CHECK(mp_time_index_last_before(&ti, 1000) == -1);
    CHECK(mp_time_index_last_before(&ti, 1001) == 0);
    CHECK(mp_time_index_last_before(&ti, 2000) == 0);
    CHECK(mp_time_index_last_before(&ti, 2001) == 1);
    CHECK(mp_time_index_last_before(&ti, INT64_MAX) == 2);

    mp_buf b = {0};
    mp_time_index_encode(&ti, &b);
    static const uint8_t want[36] = {0, 0, 0, 0, 0, 0, 0x03, 0xe8, 0, 0, 0, 5,
                                     0, 0, 0, 0, 0, 0, 0x07, 0xd0, 0, 0, 0, 12,
                                     0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 12};
    CHECK(b.len == 36 && !memcmp(b.data, want, 36));
    mp_time_index back = {0};
    mp_error e = {0};
    CHECK(mp_time_index_decode(&back, want, 36, 12, &e) == 0 && back.n == 3);
    CHECK(back.n == 3 && back.ent[2].ts == ((int64_t)1 << 40) - 1);
    CHECK(mp_time_index_decode(&back, want, 36, 11, &e) == MP_EFORMAT);
    CHECK_STR_CONTAINS(e.msg, "past the segment");
    CHECK(mp_time_index_decode(&back, want, 30, 12, &e) == MP_EFORMAT);
    uint8_t dup[24];
    memcpy(dup, want, 12);
    memcpy(dup + 12, want, 12);
    CHECK(mp_time_index_decode(&back, dup, 24, 12, &e) == MP_EFORMAT);
    mp_time_index_truncate_rel(&ti, 12);
    CHECK(ti.n == 1);
    mp_buf_free(&b);
    mp_time_index_free(&ti);
    mp_time_index_free(&back);
}

int main(void)
{
    RUN(test_offset_index);
    RUN(test_offset_index_lookup_brute_force);
    RUN(test_time_index);
    return TEST_SUMMARY();
}
