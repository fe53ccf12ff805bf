/* Shared between codec.c and the per-format codec files; not a public
 * interface. */
#ifndef MP_DATA_CODEC_INTERNAL_H
#define MP_DATA_CODEC_INTERNAL_H

#include "data/codec.h"

typedef struct mp_json_plan mp_json_plan;

struct mp_codec {
    mp_format format;
    mp_codec_opts opts;
    const mp_schema *schema;
    mp_column_ns ns;
    size_t ncols;
    size_t *cols;        /* schema indexes of the codec's columns */
    mp_json_plan *json;  /* JSON: the compiled decode plan */
};

/* Per-format hooks. create validates the columns and builds any plan;
 * destroy frees what create built. */
int mp_codec_kafka_check(mp_codec *c, mp_error *e);
int mp_codec_kafka_decode(const mp_codec *c, const void *data, size_t len, mp_arena *a,
                          mp_value *row, mp_error *e);
int mp_codec_kafka_encode(const mp_codec *c, const mp_value *row, mp_buf *out, mp_error *e);

int mp_codec_delimited_check(mp_codec *c, mp_error *e);
int mp_codec_delimited_decode(const mp_codec *c, const void *data, size_t len, mp_arena *a,
                              mp_value *row, mp_error *e);
int mp_codec_delimited_encode(const mp_codec *c, const mp_value *row, mp_buf *out,
                              mp_error *e);

int mp_codec_json_build(mp_codec *c, mp_error *e);
void mp_codec_json_free(mp_codec *c);
int mp_codec_json_decode(const mp_codec *c, const void *data, size_t len, mp_arena *a,
                         mp_value *row, mp_error *e);
int mp_codec_json_encode(const mp_codec *c, const mp_value *row, mp_buf *out, mp_error *e);

/* "INTEGER", "DECIMAL(10, 2)", ... into a fixed buffer, for messages. */
void mp_codec_type_name(const mp_type *t, char *out, size_t n);

/* Strict integer text: [+-]?[0-9]+ with no spaces, in [lo, hi]. Returns 0,
 * -1 for bad syntax, -2 for out of range. */
int mp_parse_int64_strict(const char *s, size_t n, int64_t lo, int64_t hi, int64_t *out);
/* Java's Double.parseDouble for the forms people write: optional ASCII
 * whitespace around, [+-]? digits with optional fraction and exponent,
 * NaN, Infinity. 0 or -1. */
int mp_parse_double_text(const char *s, size_t n, double *out);

#endif
