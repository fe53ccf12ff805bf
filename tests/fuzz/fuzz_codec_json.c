/* libFuzzer target for the JSON record codec.
 *
 * Decodes any bytes with a fixed schema holding every type (nested ARRAY,
 * MAP and STRUCT included). A successful decode must give values that
 * conform to the schema; they are encoded, decoded again, and must compare
 * equal column by column, and encoding that second decode must give the
 * same bytes. The same input also goes through an unwrapped single-column
 * codec (a STRING column accepts any JSON value) and the DELIMITED codec
 * (primitive columns) with the same round-trip checks. A 4 MB arena limit
 * keeps hostile inputs from growing memory without bound.
 *
 * Build:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *     -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Isrc tests/fuzz/fuzz_codec_json.c \
 *     src/core/error.c src/core/buf.c src/core/strmap.c src/data/arena.c \
 *     src/data/sql_type.c src/data/sql_value.c src/data/sql_text.c src/data/sql_schema.c \
 *     src/data/codec.c src/data/codec_json.c src/data/codec_delimited.c \
 *     src/data/codec_kafka.c -lm -o fuzz_codec_json
 *   ./fuzz_codec_json -max_total_time=60 tests/fuzz/corpus/codec_json */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data/codec.h"

#define SCHEMA                                                                                 \
    "K STRING KEY, B BOOLEAN, I INT, L BIGINT, D DOUBLE, DEC DECIMAL(10, 3), S STRING, "       \
    "BY BYTES, TS TIMESTAMP, DT DATE, TM TIME, ARR ARRAY<DOUBLE>, "                            \
    "M MAP<STRING, ARRAY<DECIMAL(38, 10)>>, `st` STRUCT<A INT, `a` STRING, "                    \
    "N STRUCT<X ARRAY<STRUCT<Y BIGINT>>, Z MAP<STRING, BOOLEAN>>>, BIG DECIMAL(38, 0)"

#define DELIM_SCHEMA                                                                           \
    "B BOOLEAN, I INT, L BIGINT, D DOUBLE, DEC DECIMAL(10, 3), S STRING, BY BYTES, "           \
    "TS TIMESTAMP, DT DATE, TM TIME"

static void fail(const char *what)
{
    (void)what;
    __builtin_trap();
}

typedef struct fixture {
    mp_schema *schema;
    mp_codec *codec;
} fixture;

static fixture make(const char *schema, mp_column_ns ns, mp_format f, bool unwrapped)
{
    fixture fx = {0};
    mp_error e;
    if (mp_schema_parse(schema, &fx.schema, &e) != 0)
        fail(e.msg);
    mp_codec_opts o = {.format = f, .unwrapped = unwrapped};
    if (mp_codec_create(fx.schema, ns, &o, &fx.codec, &e) != 0)
        fail(e.msg);
    return fx;
}

/* Decode, and on success: conformance, encode, decode, compare, encode
 * again to the same bytes. */
static void roundtrip(const fixture *fx, const uint8_t *data, size_t size, mp_arena *a)
{
    size_t n = fx->schema->ncols;
    mp_value *r1 = mp_arena_calloc(a, n * sizeof *r1);
    mp_value *r2 = mp_arena_calloc(a, n * sizeof *r2);
    if (!r1 || !r2)
        return;
    mp_error e;
    int rc = mp_codec_decode(fx->codec, data, size, a, r1, &e);
    if (rc == MP_EINPUT || rc == MP_ENOMEM || rc == MP_CODEC_NULL)
        return;
    if (rc != 0)
        fail("unexpected decode code");
    for (size_t i = 0; i < mp_codec_ncols(fx->codec); i++) {
        size_t col = mp_codec_column(fx->codec, i);
        if (mp_value_check(&r1[col], fx->schema->cols[col].type, &e) != 0)
            fail(e.msg);
    }
    mp_buf b1 = {0}, b2 = {0};
    if (mp_codec_encode(fx->codec, r1, &b1, &e) != 0) {
        if (b1.oom) {
            mp_buf_free(&b1);
            return;
        }
        fail(e.msg);
    }
    if (mp_codec_encode_is_null(fx->codec, r1)) {
        mp_buf_free(&b1);
        return;
    }
    rc = mp_codec_decode(fx->codec, b1.data ? b1.data : "", b1.len, a, r2, &e);
    if (rc == MP_ENOMEM) {
        mp_buf_free(&b1);
        return;
    }
    if (rc != 0)
        fail(e.msg); /* our own output must read back */
    for (size_t i = 0; i < mp_codec_ncols(fx->codec); i++) {
        size_t col = mp_codec_column(fx->codec, i);
        if (!mp_value_equal(&r1[col], &r2[col]))
            fail("round trip changed a value");
    }
    if (mp_codec_encode(fx->codec, r2, &b2, &e) != 0 && !b2.oom)
        fail(e.msg);
    if (!b2.oom && (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0))
        fail("encoding is not stable");
    mp_buf_free(&b1);
    mp_buf_free(&b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static fixture wrapped, unwrapped, delimited;
    static mp_arena arena;
    if (!wrapped.codec) {
        wrapped = make(SCHEMA, MP_COL_VALUE, MP_FORMAT_JSON, false);
        unwrapped = make(SCHEMA, MP_COL_KEY, MP_FORMAT_JSON, true);
        delimited = make(DELIM_SCHEMA, MP_COL_VALUE, MP_FORMAT_DELIMITED, false);
        mp_arena_init(&arena, 0);
        mp_arena_set_limit(&arena, (size_t)4 << 20);
    }
    /* Decode from an exact-size copy so any read past the end is caught. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    roundtrip(&wrapped, copy, size, &arena);
    mp_arena_reset(&arena);
    roundtrip(&unwrapped, copy, size, &arena);
    mp_arena_reset(&arena);
    roundtrip(&delimited, copy, size, &arena);
    mp_arena_reset(&arena);
    free(copy);
    return 0;
}
