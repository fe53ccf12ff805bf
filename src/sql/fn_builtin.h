/* Internal to src/sql: the built-in function tables (one per concept) and
 * the helpers the built-ins share (fn_util.c). Nothing here is public.
 *
 * Conventions every built-in follows:
 *  - Arguments arrive as the caller evaluated them, in their own runtime
 *    kinds: bind accepts an argument that coerces to a parameter (INTEGER
 *    where DOUBLE is expected) but the binder does not convert values, so
 *    implementations read numbers through mp_fn_num_* and convert results to
 *    the bound result type themselves.
 *  - Bind stores the result type it returns in impl.data (impl.data ==
 *    impl.ret): implementations that build typed values (a DECIMAL's
 *    precision, a STRUCT's field names) read it there. The caller owns
 *    impl.ret and must keep it alive as long as it calls the
 *    implementation, which it does anyway to type the results.
 *  - Aggregate states are plain values (BIGINT, ARRAY, MAP) so they need no
 *    type pointers; small literal parameters (TOPK's k) travel in impl.data
 *    as an integer (MP_FN_AGG_PARAM in fn_aggregate.c), because
 *    mp_agg_impl has no destructor for allocated data.
 *  - Results live in cx->arena; run-time errors return a negative code with
 *    cx->e naming the function. */
#ifndef MP_SQL_FN_BUILTIN_H
#define MP_SQL_FN_BUILTIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"
#include "data/arena.h"
#include "data/sql_type.h"
#include "data/sql_value.h"
#include "sql/sql_func.h"

/* ---- the definition tables ---- */

extern const mp_fn_def mp_fn_math_defs[];
extern const size_t mp_fn_math_count;
extern const mp_fn_def mp_fn_string_defs[];
extern const size_t mp_fn_string_count;
extern const mp_fn_def mp_fn_convert_defs[];
extern const size_t mp_fn_convert_count;
extern const mp_fn_def mp_fn_datetime_defs[];
extern const size_t mp_fn_datetime_count;
extern const mp_fn_def mp_fn_json_defs[];
extern const size_t mp_fn_json_count;
extern const mp_fn_def mp_fn_collections_defs[];
extern const size_t mp_fn_collections_count;
extern const mp_fn_def mp_fn_null_defs[];
extern const size_t mp_fn_null_count;
extern const mp_fn_def mp_fn_aggregate_defs[];
extern const size_t mp_fn_aggregate_count;
extern const mp_fn_def mp_fn_table_defs[];
extern const size_t mp_fn_table_count;
extern const mp_fn_def mp_fn_lambda_defs[];
extern const size_t mp_fn_lambda_count;
/* The bind of TRANSFORM, FILTER and REDUCE: the expression binder compiles
 * calls of a function with this bind itself (fn_lambda.c). */
int mp_fn_lambda_bind(const mp_type *const *args, const mp_value *const *lits, size_t n,
                      mp_scalar_impl *out, mp_error *e);

#define MP_FN_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- signature-table binding ----
 *
 * A variant's parameters are written as type codes, one per parameter:
 *   b BOOLEAN  i INTEGER  l BIGINT  n DECIMAL (any)  d DOUBLE  s STRING
 *   y BYTES    t TIMESTAMP  a DATE  m TIME  x any type
 * and a trailing '*' makes the code before it repeat zero or more times
 * (as in a regular expression: "ss*" is one or more strings). The result
 * is a code too, or [c (ARRAY of c), {kv (MAP), or a digit k: the type of
 * argument k as coerced to its parameter. An argument matches a parameter
 * exactly or by ksqlDB's implicit widening (INTEGER -> BIGINT -> DECIMAL ->
 * DOUBLE); among the matching variants the one needing the least widening
 * wins, the first listed on a tie. */
typedef struct mp_fn_sig {
    const char *params;
    const char *ret;
    mp_scalar_fn fn;
    bool keep_nulls; /* the implementation handles NULL arguments itself */
} mp_fn_sig;

int mp_fn_bind_sigs(const char *name, const mp_fn_sig *sigs, size_t nsigs,
                    const mp_type *const *args, size_t n, mp_scalar_impl *out, mp_error *e);

/* Defines `static int bind_<id>(...)` over the table `sigs_<id>`. */
#define MP_FN_SIG_BIND(id, NAME)                                                                   \
    static int bind_##id(const mp_type *const *args, const mp_value *const *lits, size_t n,        \
                         mp_scalar_impl *out, mp_error *e)                                         \
    {                                                                                              \
        (void)lits;                                                                                \
        return mp_fn_bind_sigs(NAME, sigs_##id, MP_FN_COUNT(sigs_##id), args, n, out, e);          \
    }

/* The standard bind refusal: "Function 'X' does not accept parameters (A, B).
 * Valid alternatives are: X(...), ..." listing the documented variants. */
int mp_fn_bind_refuse(mp_error *e, const char *name, const mp_type *const *args, size_t n,
                      const char *expected);
/* Appends "(A, B)" for the argument types. */
void mp_fn_print_args(mp_buf *b, const mp_type *const *args, size_t n);

/* A new type of a primitive kind (MP_ENOMEM reported through e). */
mp_type *mp_fn_type(mp_type_kind k);
/* Parses a result code (see mp_fn_sig) into a new type. */
mp_type *mp_fn_type_code(const char *code);
/* True when a value of type `from` may be passed where kind `to` is
 * expected (exact, NULL, or numeric widening); *cost counts widening steps. */
bool mp_fn_kind_accepts(const mp_type *from, mp_type_kind to, int *cost);

/* Every argument's type folded with mp_type_common (NULL literals skipped);
 * *out NULL type (MP_TYPE_NULL) when all are NULL. */
int mp_fn_common_type(const char *name, const mp_type *const *args, size_t n, mp_type **out,
                      mp_error *e);

/* ---- run-time helpers ---- */

int mp_fn_oom(mp_fn_ctx *cx);
/* Sets cx->e to "NAME: message" and returns code. */
int mp_fn_fail(mp_fn_ctx *cx, int code, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Numbers of any numeric kind (INTEGER, BIGINT, DECIMAL, DOUBLE). */
double mp_fn_num_double(const mp_value *v);
/* INTEGER / BIGINT as int64 (DOUBLE truncated, DECIMAL truncated). */
int64_t mp_fn_num_int64(const mp_value *v);
/* INTEGER as DECIMAL(10, 0), BIGINT as DECIMAL(19, 0), DECIMAL as is. */
mp_decimal mp_fn_num_decimal(const mp_value *v);
static inline bool mp_fn_is_num(const mp_value *v)
{
    return mp_type_kind_is_numeric((mp_type_kind)v->kind);
}

/* v converted to type t by implicit widening (numbers, NULLs, and ARRAY /
 * MAP / STRUCT element-wise); values already of t are returned as is. */
int mp_fn_coerce(const mp_value *v, const mp_type *t, mp_arena *a, mp_value *out, mp_error *e);

/* STRING results copied into cx->arena. */
int mp_fn_ret_str(mp_fn_ctx *cx, const char *s, size_t n, mp_value *out);
/* The buffer's contents as a STRING (or BYTES) result; frees the buffer. */
int mp_fn_ret_buf(mp_fn_ctx *cx, mp_buf *b, mp_value *out);
int mp_fn_ret_bytes_buf(mp_fn_ctx *cx, mp_buf *b, mp_value *out);

/* Literal helpers for bind: the literal string / integer at lits[i]. */
bool mp_fn_lit_str(const mp_value *const *lits, size_t i, const char **s, size_t *len);
bool mp_fn_lit_int(const mp_value *const *lits, size_t i, int64_t *v);
bool mp_fn_lit_bool(const mp_value *const *lits, size_t i, bool *v);

/* A per-thread generator seeded from the kernel (RANDOM, UUID). */
double mp_fn_random_double(void);
uint64_t mp_fn_random_u64(void);

/* ---- text ---- */

/* Decodes the UTF-8 code point at s[*i] (advancing *i); malformed bytes
 * come back one at a time as U+FFFD. */
uint32_t mp_fn_utf8_next(const char *s, size_t n, size_t *i);
/* Appends cp as UTF-8; a lone surrogate becomes '?', as Java's UTF-8
 * encoder writes it. */
void mp_fn_utf8_put(mp_buf *b, uint32_t cp);
/* Java's String.length(): UTF-16 code units. */
size_t mp_fn_u16_len(const char *s, size_t n);
/* The string as UTF-16 code units (in the arena); NULL when out of memory. */
uint16_t *mp_fn_u16_from(mp_arena *a, const char *s, size_t n, size_t *len);
/* Appends UTF-16 units as UTF-8 (unpaired surrogates as '?'). */
void mp_fn_u16_put(mp_buf *b, const uint16_t *u, size_t n);

/* Unicode case mapping and classes (glibc's C.UTF-8 tables, ASCII only if
 * that locale is missing). */
uint32_t mp_fn_upper(uint32_t cp);
uint32_t mp_fn_lower(uint32_t cp);
bool mp_fn_is_upper(uint32_t cp);
bool mp_fn_is_lower(uint32_t cp);
bool mp_fn_is_digit(uint32_t cp);
bool mp_fn_is_space(uint32_t cp);

/* Case-insensitive ASCII comparison of s[0..n) with the C string w. */
bool mp_fn_ieq(const char *s, size_t n, const char *w);

/* ---- calendar and time zones (fn_tz.c) ---- */

int64_t mp_fn_days_from_civil(int64_t y, int m, int d);
void mp_fn_civil_from_days(int64_t days, int64_t *y, int *m, int *d);
int mp_fn_days_in_month(int64_t y, int m);
bool mp_fn_is_leap(int64_t y);
static inline int64_t mp_fn_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
static inline int64_t mp_fn_floor_mod(int64_t a, int64_t b)
{
    return a - mp_fn_floor_div(a, b) * b;
}

/* A time zone as java.time.ZoneId understands it: "Z", "UTC", "GMT",
 * fixed offsets ("+05:30", "-08", "UTC+01:00"), or a TZ database region
 * ("Europe/London") read from /usr/share/zoneinfo (TZif, with the POSIX
 * rule footer for times past the last transition). Region data is loaded
 * once and cached process-wide under a lock; the struct itself is a
 * caller-owned handle. */
typedef struct mp_fn_tzdata mp_fn_tzdata;
typedef struct mp_fn_tz {
    char id[64];
    bool fixed;
    int32_t offset; /* seconds east of UTC, when fixed */
    const mp_fn_tzdata *data;
} mp_fn_tz;

int mp_fn_tz_get(const char *name, size_t len, mp_fn_tz *out, mp_error *e);
/* Offset (seconds east of UTC) in force at the UTC instant t (seconds). */
int32_t mp_fn_tz_offset_at(const mp_fn_tz *z, int64_t t);
/* The abbreviation in force at t ("PST"), or NULL when unknown. */
const char *mp_fn_tz_abbrev(const mp_fn_tz *z, int64_t t);
/* The offset java.time would pick for the local time `local` (seconds):
 * in an overlap the earlier offset, in a gap the offset before the gap
 * (which moves the time forward by the gap's length). */
int32_t mp_fn_tz_offset_local(const mp_fn_tz *z, int64_t local);

/* ---- java.time.format.DateTimeFormatter patterns (fn_dtformat.c) ---- */

enum {
    MP_FN_DT_DATE = 1, /* year, month, day are meaningful */
    MP_FN_DT_TIME = 2, /* hour .. nano are meaningful */
    MP_FN_DT_ZONE = 4, /* offset (and zone, when not NULL) are meaningful */
};

typedef struct mp_fn_dt {
    int64_t year;
    int month, day;
    int hour, minute, second, nano;
    int32_t offset;       /* seconds east of UTC */
    const mp_fn_tz *zone; /* NULL for a bare offset */
    int64_t instant;      /* UTC seconds (zone abbreviations) */
    unsigned have;        /* MP_FN_DT_* */
} mp_fn_dt;

/* Formats dt by the pattern; a field the value lacks ("HH" on a DATE) is
 * an error as in java.time ("Unsupported field: HourOfDay"). */
int mp_fn_dt_format(const char *pat, size_t plen, const mp_fn_dt *dt, mp_buf *out, mp_error *e);

/* The fields a text held, by java.time's ChronoField. */
enum {
    MP_FN_F_YEAR,      /* u */
    MP_FN_F_YOE,       /* y: year of era */
    MP_FN_F_ERA,       /* G: 0 BC, 1 AD */
    MP_FN_F_MONTH,     /* M, L */
    MP_FN_F_DAY,       /* d */
    MP_FN_F_DOY,       /* D */
    MP_FN_F_DOW,       /* E: 1 Monday .. 7 Sunday */
    MP_FN_F_QUARTER,   /* Q */
    MP_FN_F_HOUR,      /* H */
    MP_FN_F_CLOCK_AP,  /* h: 1..12 */
    MP_FN_F_HOUR_AP,   /* K: 0..11 */
    MP_FN_F_CLOCK_DAY, /* k: 1..24 */
    MP_FN_F_AMPM,      /* a: 0 AM, 1 PM */
    MP_FN_F_MINUTE,    /* m */
    MP_FN_F_SECOND,    /* s */
    MP_FN_F_NANO,      /* S, n */
    MP_FN_F_MILLI_DAY, /* A */
    MP_FN_F_NANO_DAY,  /* N */
    MP_FN_F_COUNT
};

typedef struct mp_fn_dt_parsed {
    bool has[MP_FN_F_COUNT];
    int64_t f[MP_FN_F_COUNT];
    bool has_offset; /* X, x, Z, O */
    int32_t offset;
    bool has_zone; /* VV */
    mp_fn_tz zone;
} mp_fn_dt_parsed;

/* Parses text by the pattern: the whole text, fields in their ranges. */
int mp_fn_dt_parse(const char *pat, size_t plen, const char *s, size_t n, bool case_insensitive,
                   mp_fn_dt_parsed *p, mp_error *e);
bool mp_fn_dt_has_date(const mp_fn_dt_parsed *p);
bool mp_fn_dt_has_time(const mp_fn_dt_parsed *p);
/* The date the fields give. need_full (LocalDate.from): year with month
 * and day, or with day of year, else an error. Otherwise ksqlDB's
 * timestamp parser: missing fields default to 1970-01-01 and are applied
 * in java.time's field order. A day past the month's end is clamped to it
 * (java.time's SMART resolver). */
int mp_fn_dt_parsed_date(const mp_fn_dt_parsed *p, bool need_full, int64_t *days, mp_error *e);
/* Nanoseconds of the day the fields give (0 for missing ones); need_hour
 * (LocalTime.from) requires an hour. */
int mp_fn_dt_parsed_time(const mp_fn_dt_parsed *p, bool need_hour, int64_t *nanos, mp_error *e);

#endif
