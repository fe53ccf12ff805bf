/* Runtime values of ksqlDB's SQL types: a compact tagged union (24 bytes),
 * their comparison, hashing, deep copy and text forms.
 *
 * Memory: values never own heap memory. Strings, bytes, array elements,
 * map entries and struct fields live in an mp_arena (see data/arena.h); a
 * decoded row is freed as a whole by resetting its arena. To keep a value
 * beyond its arena (a state store, an aggregate), mp_value_copy it into an
 * arena that lives long enough. STRUCT values point at their mp_type (for
 * field names), which must outlive them; schema-owned types do.
 *
 * A value is SQL NULL when `null` is set; `kind` then still says which type
 * it is (or MP_TYPE_NULL for an untyped NULL literal) and the payload is
 * meaningless.
 *
 * Thread-safety: values are plain data; concurrent reads are fine. */
#ifndef MP_DATA_SQL_VALUE_H
#define MP_DATA_SQL_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"
#include "data/arena.h"
#include "data/sql_type.h"

typedef struct mp_value mp_value;

struct mp_value {
    uint8_t kind;      /* mp_type_kind */
    uint8_t null;      /* 1 = SQL NULL */
    uint8_t precision; /* DECIMAL */
    uint8_t scale;     /* DECIMAL */
    uint32_t len;      /* STRING/BYTES: bytes; ARRAY: elements; MAP: entries; STRUCT: fields */
    union {
        bool b;         /* BOOLEAN */
        int32_t i32;    /* INTEGER; DATE (days since 1970-01-01); TIME (ms of day) */
        int64_t i64;    /* BIGINT; TIMESTAMP (ms since the epoch, UTC) */
        double f64;     /* DOUBLE */
        struct {
            uint64_t lo;
            int64_t hi;
        } dec;          /* DECIMAL: the unscaled value as a two's-complement 128-bit integer */
        const char *str;      /* STRING: len bytes of UTF-8, followed by a NUL */
        const uint8_t *bytes; /* BYTES: len bytes */
        mp_value *items;      /* ARRAY: len values; MAP: 2 * len values, key then value */
        struct {
            mp_value *fields;    /* len values in the type's field order */
            const mp_type *type; /* the STRUCT type (field names) */
        } st;
    } u;
};

/* ---- construction ---- */

static inline mp_value mp_v_null(mp_type_kind kind)
{
    mp_value v = {0};
    v.kind = (uint8_t)kind;
    v.null = 1;
    return v;
}

static inline mp_value mp_v_bool(bool b)
{
    mp_value v = {0};
    v.kind = MP_TYPE_BOOLEAN;
    v.u.b = b;
    return v;
}

static inline mp_value mp_v_int(int32_t i)
{
    mp_value v = {0};
    v.kind = MP_TYPE_INTEGER;
    v.u.i32 = i;
    return v;
}

static inline mp_value mp_v_bigint(int64_t i)
{
    mp_value v = {0};
    v.kind = MP_TYPE_BIGINT;
    v.u.i64 = i;
    return v;
}

static inline mp_value mp_v_double(double d)
{
    mp_value v = {0};
    v.kind = MP_TYPE_DOUBLE;
    v.u.f64 = d;
    return v;
}

static inline mp_value mp_v_timestamp(int64_t ms)
{
    mp_value v = {0};
    v.kind = MP_TYPE_TIMESTAMP;
    v.u.i64 = ms;
    return v;
}

static inline mp_value mp_v_date(int32_t days)
{
    mp_value v = {0};
    v.kind = MP_TYPE_DATE;
    v.u.i32 = days;
    return v;
}

static inline mp_value mp_v_time(int32_t ms)
{
    mp_value v = {0};
    v.kind = MP_TYPE_TIME;
    v.u.i32 = ms;
    return v;
}

static inline mp_value mp_v_decimal(const mp_decimal *d)
{
    mp_value v = {0};
    v.kind = MP_TYPE_DECIMAL;
    v.precision = (uint8_t)d->precision;
    v.scale = (uint8_t)d->scale;
    mp_u128 u = (mp_u128)d->unscaled;
    v.u.dec.lo = (uint64_t)u;
    v.u.dec.hi = (int64_t)(uint64_t)(u >> 64);
    return v;
}

static inline mp_decimal mp_v_get_decimal(const mp_value *v)
{
    mp_decimal d;
    mp_u128 u = ((mp_u128)(uint64_t)v->u.dec.hi << 64) | v->u.dec.lo;
    d.unscaled = (mp_i128)u;
    d.precision = v->precision;
    d.scale = v->scale;
    return d;
}

/* A view of len bytes that the caller keeps alive (no copy); s should be
 * NUL-terminated if anything will treat it as a C string. */
static inline mp_value mp_v_string_ref(const char *s, size_t len)
{
    mp_value v = {0};
    v.kind = MP_TYPE_STRING;
    v.len = (uint32_t)len;
    v.u.str = s;
    return v;
}

/* STRING / BYTES copied into the arena (NUL added). MP_ENOMEM, or MP_EINVAL
 * above 4 GiB. */
int mp_v_string(mp_arena *a, const char *s, size_t len, mp_value *out);
int mp_v_bytes(mp_arena *a, const void *p, size_t len, mp_value *out);
/* An ARRAY of n elements, a MAP of n entries, or a STRUCT of st's fields,
 * allocated in the arena with every element NULL (kind taken from the type
 * when given, else MP_TYPE_NULL). elem_type / key_type / value_type may be
 * NULL. */
int mp_v_array(mp_arena *a, size_t n, const mp_type *elem_type, mp_value *out);
int mp_v_map(mp_arena *a, size_t n, const mp_type *key_type, const mp_type *value_type,
             mp_value *out);
int mp_v_struct(mp_arena *a, const mp_type *st, mp_value *out);

/* A value of type t that is NULL (nested types included via kind only). */
static inline mp_value mp_v_null_of(const mp_type *t)
{
    return mp_v_null(t ? t->kind : MP_TYPE_NULL);
}

/* Deep copy of src into arena dst (strings, elements, fields). STRUCT
 * values keep pointing at the same type. 0 or MP_ENOMEM. */
int mp_value_copy(const mp_value *src, mp_arena *dst, mp_value *out);

/* Checks that v is a well-formed value of type t (kinds match all the way
 * down, DECIMAL fits its precision and scale, STRING is UTF-8). NULLs
 * conform to every type. MP_EINVAL names the path of the first problem. */
int mp_value_check(const mp_value *v, const mp_type *t, mp_error *e);

/* ---- comparison and hashing ----
 *
 * SQL comparison (WHERE a < b): mp_value_compare returns MP_CMP_NULL when
 * either side is NULL (the result is unknown: the row is filtered out, as
 * in ksqlDB), MP_EINVAL for types that cannot be compared, else 0 with
 * *cmp = -1, 0 or 1. Numbers compare by value across INTEGER, BIGINT,
 * DECIMAL and DOUBLE (1 = 1.00 = 1.0); DOUBLE against DECIMAL converts the
 * DECIMAL to DOUBLE as ksqlDB does; NaN equals NaN and is above every
 * number (Java's Double.compareTo), but -0.0 equals 0.0. STRING compares
 * by UTF-16 code units (Java's String.compareTo), BYTES by signed bytes
 * (ByteBuffer.compareTo), BOOLEAN false < true, TIMESTAMP / DATE / TIME
 * within their own kind, ARRAY and STRUCT element by element. MAP values
 * compare only for equality (0 or 1; entry order does not matter).
 *
 * Grouping and join keys: mp_value_equal treats NULL as equal to NULL and
 * is otherwise the comparison above; mp_value_hash is consistent with it:
 * equal values hash equal. ksqlDB keys are typed (the engine coerces each
 * key to its column's type first), but hashing is also consistent across
 * INTEGER, BIGINT and DECIMAL (1, 1L and 1.00 hash alike) and for DOUBLE
 * values equal to those exactly (1.0, 0.5 = DECIMAL 0.50). The one gap:
 * a DECIMAL and a DOUBLE that are equal only after rounding the DECIMAL to
 * DOUBLE (0.1) compare equal but may hash differently — coerce first.
 *
 * mp_value_cmp is a total order for sorting: NULLs first, then the
 * comparison above; values of unrelated kinds order by kind. */
#define MP_CMP_NULL 1
int mp_value_compare(const mp_value *a, const mp_value *b, int *cmp, mp_error *e);
int mp_value_cmp(const mp_value *a, const mp_value *b);
bool mp_value_equal(const mp_value *a, const mp_value *b);
uint64_t mp_value_hash(const mp_value *v);
/* Hash of n values in order (a multi-column key). */
uint64_t mp_values_hash(const mp_value *v, size_t n);

/* ---- text ---- */

/* Appends v as ksqlDB shows it in query output: NULL as "null", strings
 * raw, DOUBLE as Java prints it ("1.0", "1.0E10"), DECIMAL plain with its
 * scale ("1.50"), BYTES as base64, TIMESTAMP "2019-03-17T10:00:00.000",
 * DATE "2019-03-17", TIME "10:00" / "10:00:01" (ksqlDB's second-precision
 * LocalTime form), ARRAY / MAP / STRUCT as JSON (times as text). 0 or
 * MP_ENOMEM. */
int mp_value_format(const mp_value *v, mp_buf *out);

enum {
    MP_JSON_TIME_TEXT = 1, /* TIMESTAMP/DATE/TIME as quoted text, not numbers */
};
/* Appends v as compact JSON: numbers (DECIMAL plain, DOUBLE Java-style,
 * NaN/Infinity as strings), strings escaped, BYTES base64, TIMESTAMP /
 * DATE / TIME as numbers (ms / days / ms) unless MP_JSON_TIME_TEXT, MAP as
 * an object (keys as text), STRUCT as an object of field names. */
int mp_value_write_json(const mp_value *v, int flags, mp_buf *out);

#endif
