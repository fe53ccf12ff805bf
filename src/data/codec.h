/* Record codecs: turn the bytes of a record's key or value into the row's
 * columns and back, in ksqlDB's serialization formats.
 *
 *   KAFKA      one column of INTEGER (4 bytes big-endian), BIGINT (8),
 *              DOUBLE (8, IEEE 754 big-endian), STRING (UTF-8) or BYTES
 *              (raw), as Kafka's own serializers write them.
 *   JSON       an object whose keys match columns case-insensitively (an
 *              exact match wins, else the first key whose upper-case form
 *              equals the column name); missing keys are NULL, extra keys
 *              are ignored; nested ARRAY, MAP (string keys) and STRUCT.
 *              With `unwrapped` (WRAP_SINGLE_VALUE=false, and single-column
 *              keys) the record is the bare value of its only column.
 *   DELIMITED  one line of fields separated by a single-character
 *              delimiter (default ','), RFC 4180 quoting; an empty field
 *              is NULL; primitive types only.
 *   NONE       no columns (KEY_FORMAT='NONE'): nothing is read or written.
 *
 * Values in the text formats (details at the top of codec_json.c and
 * codec_delimited.c): BOOLEAN true/false, numbers in decimal, DECIMAL
 * exactly from its text, TIMESTAMP as milliseconds since the epoch, DATE as
 * days since 1970-01-01, TIME as milliseconds of the day, BYTES as base64;
 * DOUBLE written as Java writes it ("1.0", "1.0E7", NaN and infinities as
 * the strings "NaN", "Infinity" in JSON).
 *
 * Errors: every decode error is MP_EINPUT with a message naming the column
 * (and JSON path) and what was wrong; the engine adds topic-partition@offset
 * and writes it to the processing log. Decoding never reads outside
 * data[0..len).
 *
 * Ownership and threads: a codec refers to the schema it was made from
 * (its types give STRUCT values their field names), so the schema must
 * outlive the codec and every value it decodes. A codec is immutable after
 * creation: decode and encode may run on many threads at once, each with
 * its own arena and buffer. */
#ifndef MP_DATA_CODEC_H
#define MP_DATA_CODEC_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/error.h"
#include "data/arena.h"
#include "data/sql_schema.h"
#include "data/sql_value.h"

typedef enum mp_format {
    MP_FORMAT_NONE,
    MP_FORMAT_KAFKA,
    MP_FORMAT_JSON,
    MP_FORMAT_DELIMITED,
} mp_format;

/* "NONE", "KAFKA", "JSON", "DELIMITED" (any case); MP_EINVAL otherwise. */
int mp_format_parse(const char *name, mp_format *out, mp_error *e);
const char *mp_format_name(mp_format f);

/* A VALUE_DELIMITER / KEY_DELIMITER property: one character, or the names
 * TAB and SPACE (any case) that ksqlDB requires instead of the characters.
 * MP_EINVAL for anything else (including a literal space or tab, and the
 * double quote, which is the quoting character). */
int mp_delimiter_parse(const char *text, char *out, mp_error *e);

#define MP_JSON_DEFAULT_MAX_DEPTH 64
#define MP_JSON_MAX_DEPTH_LIMIT 1000

typedef struct mp_codec_opts {
    mp_format format;
    char delimiter; /* DELIMITED; 0 means ',' */
    bool unwrapped; /* JSON: a single column as a bare value, not an object */
    int max_depth;  /* JSON: nesting limit; 0 = MP_JSON_DEFAULT_MAX_DEPTH */
    /* JSON for the engine's own topics (changelogs): MAP keys may also be
     * INTEGER, BIGINT, DOUBLE or BOOLEAN, written as their text, because
     * aggregate states use such maps. User topics keep ksqlDB's rule. */
    bool internal;
} mp_codec_opts;

typedef struct mp_codec mp_codec;

/* A codec for the columns of `schema` in namespace ns (MP_COL_KEY or
 * MP_COL_VALUE), in schema order. MP_EINVAL when the format cannot carry
 * them: KAFKA needs exactly one column of INTEGER, BIGINT, DOUBLE, STRING
 * or BYTES; DELIMITED has no ARRAY, MAP or STRUCT; JSON maps need STRING
 * keys; `unwrapped` needs exactly one column; NONE needs none. */
int mp_codec_create(const mp_schema *schema, mp_column_ns ns, const mp_codec_opts *opts,
                    mp_codec **out, mp_error *e);
void mp_codec_destroy(mp_codec *c);

mp_format mp_codec_format(const mp_codec *c);
/* The number of columns the codec reads and writes, and the schema index
 * of the i-th. */
size_t mp_codec_ncols(const mp_codec *c);
size_t mp_codec_column(const mp_codec *c, size_t i);

/* Returned by mp_codec_decode when the record itself is null: data is NULL
 * (no key / a tombstone value), or a wrapped JSON record is the literal
 * null. All the codec's columns are set to NULL. */
#define MP_CODEC_NULL 1

/* Decodes data[0..len) into row, which has one slot per schema column;
 * only this codec's columns are written. Strings and nested values are
 * allocated in arena a. Returns 0, MP_CODEC_NULL, MP_EINPUT (a bad record:
 * the message says which column and what was wrong) or MP_ENOMEM. After an
 * error the codec's slots hold NULLs or partial values: do not use them. */
int mp_codec_decode(const mp_codec *c, const void *data, size_t len, mp_arena *a,
                    mp_value *row, mp_error *e);

/* Appends the encoding of the codec's columns of row to out. MP_EINVAL when
 * a value does not fit the format (a NULL in a KAFKA INTEGER is written as
 * no bytes: check mp_codec_encode_is_null first), MP_ENOMEM. */
int mp_codec_encode(const mp_codec *c, const mp_value *row, mp_buf *out, mp_error *e);

/* True when encoding row would produce a null record (Kafka null key or
 * tombstone) rather than bytes: KAFKA with a NULL column, unwrapped JSON
 * with a NULL column, or NONE. */
bool mp_codec_encode_is_null(const mp_codec *c, const mp_value *row);

#endif
