/* ksqlDB's SQL type system: the types a column, a field or an expression can
 * have, their printed spelling, equality, implicit coercion and common
 * supertypes, and exact DECIMAL arithmetic.
 *
 * Types: BOOLEAN, INTEGER (32-bit), BIGINT (64-bit), DOUBLE, DECIMAL(p, s)
 * (1 <= p <= 38, 0 <= s <= p), STRING, BYTES, TIMESTAMP (milliseconds since
 * the epoch, no zone), DATE (days since the epoch), TIME (milliseconds of the
 * day), ARRAY<T>, MAP<K, V> and STRUCT<name T, ...>. MP_TYPE_NULL is the type
 * of a bare NULL literal: it coerces to every type.
 *
 * (These are the engine's runtime types. src/sql has its own syntax-tree
 * type, mp_sql_type; the binder converts one into the other.)
 *
 * Ownership: an mp_type is a heap tree; each node owns its children and
 * field names. mp_type_free frees a whole tree (NULL is fine). Constructors
 * that take child types take ownership of them even when they fail.
 * Types are immutable once built and may be shared read-only between
 * threads. */
#ifndef MP_DATA_SQL_TYPE_H
#define MP_DATA_SQL_TYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"

typedef enum mp_type_kind {
    MP_TYPE_NULL = 0, /* the type of a NULL literal; never a column type */
    MP_TYPE_BOOLEAN,
    MP_TYPE_INTEGER,
    MP_TYPE_BIGINT,
    MP_TYPE_DOUBLE,
    MP_TYPE_DECIMAL,
    MP_TYPE_STRING,
    MP_TYPE_BYTES,
    MP_TYPE_TIMESTAMP,
    MP_TYPE_DATE,
    MP_TYPE_TIME,
    MP_TYPE_ARRAY,
    MP_TYPE_MAP,
    MP_TYPE_STRUCT,
} mp_type_kind;

#define MP_DECIMAL_MAX_PRECISION 38

typedef struct mp_type mp_type;

typedef struct mp_type_field {
    char *name; /* as normalised by the parser: upper case unless quoted */
    mp_type *type;
} mp_type_field;

struct mp_type {
    mp_type_kind kind;
    int precision, scale;  /* DECIMAL */
    mp_type *key;          /* MAP key */
    mp_type *elem;         /* ARRAY element, MAP value */
    size_t nfields;        /* STRUCT (0 allowed: STRUCT< >) */
    mp_type_field *fields; /* STRUCT, in declaration order */
};

/* A primitive type (any kind but DECIMAL, ARRAY, MAP, STRUCT); NULL when
 * out of memory or when kind needs parameters. */
mp_type *mp_type_new(mp_type_kind kind);
/* DECIMAL(precision, scale); MP_EINVAL names the bad parameter. */
int mp_type_new_decimal(int precision, int scale, mp_type **out, mp_error *e);
/* ARRAY<elem>, MAP<key, value>; take ownership of their arguments (freed on
 * failure too). NULL when out of memory or an argument is NULL. */
mp_type *mp_type_new_array(mp_type *elem);
mp_type *mp_type_new_map(mp_type *key, mp_type *value);
/* An empty STRUCT; add fields in order with mp_type_struct_add. */
mp_type *mp_type_new_struct(void);
/* Appends field `name` (copied) of type ft (owned, freed on failure).
 * MP_EEXIST on a duplicate name (exact comparison), MP_EINVAL if st is not a
 * struct or name is empty. */
int mp_type_struct_add(mp_type *st, const char *name, mp_type *ft, mp_error *e);
/* Index of the field named exactly `name`, or -1. */
int mp_type_struct_find(const mp_type *st, const char *name);

void mp_type_free(mp_type *t);
/* A deep copy, or NULL when out of memory (or t is NULL). */
mp_type *mp_type_clone(const mp_type *t);
/* Structural equality: same kinds, DECIMAL parameters, element types and
 * struct fields (names compared exactly, in order). */
bool mp_type_equal(const mp_type *a, const mp_type *b);

/* Appends the type as ksqlDB prints it in DESCRIBE: "INTEGER",
 * "DECIMAL(10, 2)", "ARRAY<STRING>", "MAP<STRING, BIGINT>",
 * "STRUCT<`A` INTEGER, `B` STRING>", "STRUCT< >". Back-ticks inside field
 * names are doubled. Returns 0 or MP_ENOMEM. */
int mp_type_print(const mp_type *t, mp_buf *out);
/* The base name of a kind: "BOOLEAN", "INTEGER", ..., "STRUCT", "NULL". */
const char *mp_type_kind_name(mp_type_kind kind);

/* Parses a type in ksqlDB's spelling, as printed by mp_type_print or as
 * written in a CREATE statement: keywords in any case, INT/INTEGER and
 * VARCHAR/STRING synonyms, struct field names bare (upper-cased) or
 * back-quoted (kept). MP_EINPUT names the byte offset of a syntax error. */
int mp_type_parse(const char *text, mp_type **out, mp_error *e);

static inline bool mp_type_kind_is_numeric(mp_type_kind k)
{
    return k == MP_TYPE_INTEGER || k == MP_TYPE_BIGINT || k == MP_TYPE_DECIMAL ||
           k == MP_TYPE_DOUBLE;
}

/* ksqlDB's implicit coercion: may a value of type `from` be used where `to`
 * is expected without a CAST? Numbers widen INTEGER -> BIGINT -> DECIMAL ->
 * DOUBLE (INTEGER as DECIMAL(10, 0), BIGINT as DECIMAL(19, 0); a DECIMAL
 * widens to one with no fewer integer digits and no smaller scale); ARRAY,
 * MAP element types coerce; STRUCTs coerce when every field present in both
 * coerces. MP_TYPE_NULL coerces to anything. */
bool mp_type_can_coerce(const mp_type *from, const mp_type *to);

/* The narrowest type both a and b coerce to (for CASE branches, IN lists,
 * ARRAY[...] constructors, comparisons): numbers widen as above, two
 * DECIMALs widen to max integer digits + max scale, STRUCTs merge to the
 * union of their fields (a's order, then b's new fields). MP_EINVAL when
 * there is none ("incompatible types INTEGER and STRING") or when a DECIMAL
 * would need more than 38 digits. *out is a new type the caller frees. */
int mp_type_common(const mp_type *a, const mp_type *b, mp_type **out, mp_error *e);

/* ---- DECIMAL values and arithmetic ---- */

__extension__ typedef __int128 mp_i128;
__extension__ typedef unsigned __int128 mp_u128;

/* A decimal number: unscaled * 10^-scale, with |unscaled| < 10^precision. */
typedef struct mp_decimal {
    mp_i128 unscaled;
    int precision;
    int scale;
} mp_decimal;

/* Longest text mp_decimal_format writes, NUL included ("-0." + 38 digits). */
#define MP_DECIMAL_STR_MAX 48

typedef enum mp_decimal_op {
    MP_DEC_ADD,
    MP_DEC_SUB,
    MP_DEC_MUL,
    MP_DEC_DIV,
    MP_DEC_MOD,
} mp_decimal_op;

typedef enum mp_rounding {
    MP_ROUND_UNNECESSARY, /* dropping a nonzero digit is an error */
    MP_ROUND_HALF_UP,     /* round half away from zero (Java's HALF_UP) */
} mp_rounding;

/* The result type of `DECIMAL(p1, s1) op DECIMAL(p2, s2)`, by ksqlDB's rules:
 *   + -  precision max(s1, s2) + max(p1 - s1, p2 - s2) + 1, scale max(s1, s2)
 *   *    precision p1 + p2 + 1, scale s1 + s2
 *   /    precision p1 - s1 + s2 + max(6, s1 + p2 + 1), scale max(6, s1 + p2 + 1)
 *   %    precision min(p1 - s1, p2 - s2) + max(s1, s2), scale max(s1, s2)
 * ksqlDB's BigDecimal has no upper bound; ours is 38 digits, so a precision
 * above 38 is capped at 38 and the scale reduced by the excess, but never
 * below min(scale, 6) (integer digits are kept first, then 6 fraction
 * digits; past that, values that do not fit are overflow errors). */
void mp_decimal_result_type(mp_decimal_op op, int p1, int s1, int p2, int s2, int *p, int *s);

/* out = a op b, exact, typed by mp_decimal_result_type. As in ksqlDB
 * (MathContext with RoundingMode.UNNECESSARY, then setScale), a result that
 * is not exactly representable at the result scale is an error (1 / 3,
 * "rounding necessary"), as are division by zero and a result needing more
 * digits than the result precision ("overflow"). All MP_EINPUT. */
int mp_decimal_arith(mp_decimal_op op, const mp_decimal *a, const mp_decimal *b,
                     mp_decimal *out, mp_error *e);
int mp_decimal_add(const mp_decimal *a, const mp_decimal *b, mp_decimal *out, mp_error *e);
int mp_decimal_sub(const mp_decimal *a, const mp_decimal *b, mp_decimal *out, mp_error *e);
int mp_decimal_mul(const mp_decimal *a, const mp_decimal *b, mp_decimal *out, mp_error *e);
int mp_decimal_div(const mp_decimal *a, const mp_decimal *b, mp_decimal *out, mp_error *e);
int mp_decimal_mod(const mp_decimal *a, const mp_decimal *b, mp_decimal *out, mp_error *e);

/* Numeric comparison across scales: -1, 0 or 1 (1.50 == 1.5). */
int mp_decimal_cmp(const mp_decimal *a, const mp_decimal *b);

/* a as DECIMAL(p, s). Fraction digits dropped by a smaller scale are an
 * error with MP_ROUND_UNNECESSARY (how ksqlDB fits decoded values) or rounded
 * with MP_ROUND_HALF_UP (how ksqlDB's CAST works). A value with more than
 * p - s integer digits is an overflow error. MP_EINVAL for bad p, s;
 * MP_EINPUT when the value does not fit. */
int mp_decimal_rescale(const mp_decimal *a, int p, int s, mp_rounding r, mp_decimal *out,
                       mp_error *e);

/* Parses decimal text ("-12.5", "+3", ".5", "1.5e3", "1E-2"; no spaces) into
 * DECIMAL(p, s), exactly as BigDecimal(text) then fitting (see rescale).
 * MP_EINPUT names what was wrong. */
int mp_decimal_parse(const char *text, size_t len, int p, int s, mp_rounding r,
                     mp_decimal *out, mp_error *e);
/* v as DECIMAL(p, s); an error if it does not fit. */
int mp_decimal_from_int64(int64_t v, int p, int s, mp_decimal *out, mp_error *e);
/* v as DECIMAL(p, s) the way ksqlDB's CAST does it: the exact binary value
 * rounded HALF_UP to p significant digits, then to scale s. NaN and
 * infinities are MP_EINPUT. */
int mp_decimal_from_double(double v, int p, int s, mp_decimal *out, mp_error *e);
/* The nearest double (correctly rounded). */
double mp_decimal_to_double(const mp_decimal *d);
/* Plain text with exactly `scale` fraction digits ("-0.50", "12"), as
 * BigDecimal.toPlainString; returns the length written (NUL not counted).
 * out must hold MP_DECIMAL_STR_MAX bytes. */
size_t mp_decimal_format(const mp_decimal *d, char *out);

/* 10^k for 0 <= k <= 38. */
mp_i128 mp_i128_pow10(int k);
/* Writes the decimal digits of v (with '-' when negative); returns the
 * length. out must hold 41 bytes. */
size_t mp_i128_format(mp_i128 v, char *out);

#endif
