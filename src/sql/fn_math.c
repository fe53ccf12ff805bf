/* Numeric built-ins: ABS, CEIL, FLOOR, ROUND, TRUNC, SIGN, SQRT, CBRT, EXP,
 * LN, LOG, POWER, the trigonometric functions, PI, DEGREES, RADIANS,
 * RANDOM, GREATEST, LEAST and GEO_DISTANCE, with ksqlDB's result types:
 * ROUND and TRUNC of an integer or a DOUBLE give a BIGINT, SIGN an INTEGER,
 * the transcendental functions a DOUBLE, and DECIMAL stays DECIMAL. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/rng.h"
#include "sql/fn_builtin.h"

#define MP_FN_PI 3.14159265358979323846

/* ---- DECIMAL rounding ---- */

typedef enum {
    RM_HALF_POS, /* ksqlDB's ROUND: nearest, ties toward +infinity (Java's Math.round) */
    RM_DOWN,     /* toward zero (TRUNC) */
    RM_CEIL,
    RM_FLOOR,
} round_mode;

/* u / 10^k rounded by mode; k >= 1. */
static mp_i128 div_pow10_round(mp_i128 u, int k, round_mode mode)
{
    mp_i128 q, r, half_cmp; /* half_cmp: sign of 2|r| - 10^k */
    if (k > 38) {
        q = 0;
        r = u;
        half_cmp = -1; /* |u| < 10^38 < 10^k / 2 */
    } else {
        mp_i128 p = mp_i128_pow10(k);
        q = u / p;
        r = u % p;
        mp_i128 ar = r < 0 ? -r : r;
        /* 2|r| vs p without overflow: |r| < p <= 10^38 < 2^127 / 2 */
        mp_i128 twice = ar * 2;
        half_cmp = twice < p ? -1 : twice > p ? 1 : 0;
    }
    if (r == 0)
        return q;
    switch (mode) {
    case RM_DOWN: return q;
    case RM_CEIL: return r > 0 ? q + 1 : q;
    case RM_FLOOR: return r < 0 ? q - 1 : q;
    case RM_HALF_POS:
        if (half_cmp > 0 || (half_cmp == 0 && r > 0))
            return r > 0 ? q + 1 : q - 1;
        return q;
    }
    return q;
}

/* d rounded to `places` fraction digits, written at scale out_scale with
 * precision out_p; an overflow error when it does not fit. */
static int round_decimal(mp_fn_ctx *cx, const char *name, mp_decimal d, int places, round_mode mode,
                         int out_p, int out_s, mp_value *out)
{
    mp_i128 u = d.unscaled;
    if (places < d.scale) {
        /* digits dropped, >= 1; past 39 every digit is gone anyway */
        int64_t k64 = (int64_t)d.scale - places;
        int k = k64 > 39 ? 39 : (int)k64;
        mp_i128 q = div_pow10_round(u, k, mode);
        /* back to scale d.scale: q * 10^k (0 when k is past every digit) */
        if (q == 0) {
            u = 0;
        } else {
            if (k > 38)
                return mp_fn_fail(cx, MP_EINPUT, name, "numeric overflow");
            mp_i128 p = mp_i128_pow10(k);
            mp_i128 lim = mp_i128_pow10(38);
            mp_i128 aq = q < 0 ? -q : q;
            if (aq > lim / p)
                return mp_fn_fail(cx, MP_EINPUT, name, "numeric overflow");
            u = q * p;
        }
    }
    mp_decimal r = {u, MP_DECIMAL_MAX_PRECISION, d.scale}, res;
    int rc = mp_decimal_rescale(&r, out_p, out_s, MP_ROUND_UNNECESSARY, &res, cx->e);
    if (rc)
        return mp_fn_fail(cx, MP_EINPUT, name,
                          "numeric overflow: the result does not fit DECIMAL(%d, %d)", out_p,
                          out_s);
    *out = mp_v_decimal(&res);
    return 0;
}

/* ---- DOUBLE rounding through its shortest decimal form ----
 *
 * ksqlDB rounds a DOUBLE to n places as BigDecimal.valueOf(x), i.e. the
 * digits Double.toString prints, so ROUND(1.005, 2) is 1.01 although the
 * binary value is a little below 1.005. */

/* Shortest digits of |v| (v finite, nonzero): v = 0.D1D2..Dn * 10^(e10 + 1). */
static int shortest_digits(double v, char *dig, int *e10)
{
    char buf[40];
    for (int prec = 0; prec <= 16; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec, fabs(v));
        if (strtod(buf, NULL) == fabs(v))
            break;
    }
    /* buf: d.ddddde[+-]xx */
    int n = 0;
    char *p = buf;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            dig[n++] = *p;
    *e10 = atoi(p + 1);
    while (n > 1 && dig[n - 1] == '0')
        n--;
    dig[n] = '\0';
    return n;
}

static int round_double_places(mp_fn_ctx *cx, const char *name, double v, int places,
                               round_mode mode, double *res)
{
    if (!isfinite(v))
        return mp_fn_fail(cx, MP_EINPUT, name, "cannot round %s", isnan(v) ? "NaN" : "an infinity");
    if (v == 0) {
        *res = 0.0;
        return 0;
    }
    char dig[40];
    int e10;
    int n = shortest_digits(v, dig, &e10);
    bool neg = v < 0;
    /* digit i (0-based) has place 10^(e10 - i); keep those with place >= 10^-places */
    long keep = (long)e10 + 1 + places;
    if (keep >= n) {
        *res = v;
        return 0;
    }
    /* kept digits with one spare leading digit for a carry */
    char kept[48];
    int nk = keep > 0 ? (int)keep : 0;
    kept[0] = '0';
    memcpy(kept + 1, dig, (size_t)nk);
    int total = nk + 1;
    bool up = false;
    if (keep >= 0) {
        char first = dig[keep];
        bool rest = false;
        for (int i = (int)keep + 1; i < n; i++)
            if (dig[i] != '0')
                rest = true;
        switch (mode) {
        case RM_DOWN: up = false; break;
        case RM_CEIL: up = !neg; break;
        case RM_FLOOR: up = neg; break;
        case RM_HALF_POS: up = first > '5' || (first == '5' && (rest || !neg)); break;
        }
    } else {
        /* every digit dropped and the first dropped one is a leading zero */
        up = (mode == RM_CEIL && !neg) || (mode == RM_FLOOR && neg);
    }
    if (up) {
        int i = total - 1;
        while (i >= 0 && kept[i] == '9')
            kept[i--] = '0';
        if (i >= 0)
            kept[i]++;
    }
    /* value = kept (as an integer) * 10^(e10 + 1 - keep) */
    char txt[96];
    long exp = (long)e10 + 1 - keep;
    kept[total] = '\0';
    snprintf(txt, sizeof txt, "%s%se%ld", neg ? "-" : "", kept, exp);
    double r = strtod(txt, NULL);
    *res = r == 0 ? 0.0 : r; /* BigDecimal has no negative zero */
    return 0;
}

/* Java's Math.round(double): nearest, ties toward +infinity, saturating. */
static int64_t java_round(double v)
{
    if (isnan(v))
        return 0;
    double f = floor(v);
    double r = (v - f >= 0.5) ? f + 1 : f;
    if (r >= 9223372036854775807.0)
        return INT64_MAX;
    if (r <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)r;
}

static int64_t java_trunc(double v)
{
    if (isnan(v))
        return 0;
    if (v >= 9223372036854775807.0)
        return INT64_MAX;
    if (v <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)v;
}

/* ---- ABS ---- */

static int abs_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *data)
{
    const mp_type *rt = data;
    switch (rt->kind) {
    case MP_TYPE_INTEGER:
        /* Java's Math.abs(Integer.MIN_VALUE) is MIN_VALUE: wrap, do not trap */
        *out = mp_v_int(a[0].u.i32 < 0 ? (int32_t)(0u - (uint32_t)a[0].u.i32) : a[0].u.i32);
        return 0;
    case MP_TYPE_BIGINT: {
        int64_t v = mp_fn_num_int64(&a[0]);
        *out = mp_v_bigint(v < 0 ? (int64_t)(0u - (uint64_t)v) : v);
        return 0;
    }
    case MP_TYPE_DECIMAL: {
        mp_decimal d = mp_fn_num_decimal(&a[0]);
        if (d.unscaled < 0)
            d.unscaled = -d.unscaled;
        return round_decimal(cx, "ABS", d, d.scale, RM_DOWN, rt->precision, rt->scale, out);
    }
    default: *out = mp_v_double(fabs(mp_fn_num_double(&a[0]))); return 0;
    }
}

static const mp_fn_sig sigs_abs[] = {
    {"i", "0", abs_fn, false},
    {"l", "0", abs_fn, false},
    {"n", "0", abs_fn, false},
    {"d", "0", abs_fn, false},
};
MP_FN_SIG_BIND(abs, "ABS")

/* ---- CEIL / FLOOR ---- */

static int ceil_floor(mp_fn_ctx *cx, const mp_value *a, mp_value *out, const mp_type *rt,
                      bool ceil_)
{
    switch (rt->kind) {
    case MP_TYPE_INTEGER:
    case MP_TYPE_BIGINT:
        *out = a[0];
        if (rt->kind == MP_TYPE_BIGINT)
            *out = mp_v_bigint(mp_fn_num_int64(&a[0]));
        return 0;
    case MP_TYPE_DECIMAL: {
        mp_decimal d = mp_fn_num_decimal(&a[0]);
        return round_decimal(cx, ceil_ ? "CEIL" : "FLOOR", d, 0, ceil_ ? RM_CEIL : RM_FLOOR,
                             rt->precision, rt->scale, out);
    }
    default: {
        double v = mp_fn_num_double(&a[0]);
        *out = mp_v_double(ceil_ ? ceil(v) : floor(v));
        return 0;
    }
    }
}

static int ceil_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *data)
{
    return ceil_floor(cx, a, out, data, true);
}

static int floor_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *data)
{
    return ceil_floor(cx, a, out, data, false);
}

/* A rounded DECIMAL may carry into one more integer digit (9.5 -> 10):
 * ksqlDB's BigDecimal grows silently, so the result type gets one more
 * digit of precision instead of failing. */
static void widen_for_carry(mp_scalar_impl *out)
{
    if (out->ret->kind == MP_TYPE_DECIMAL && out->ret->precision < MP_DECIMAL_MAX_PRECISION)
        out->ret->precision++;
}

static const mp_fn_sig sigs_ceil[] = {
    {"i", "0", ceil_fn, false},
    {"l", "0", ceil_fn, false},
    {"n", "0", ceil_fn, false},
    {"d", "0", ceil_fn, false},
};
static const mp_fn_sig sigs_floor[] = {
    {"i", "0", floor_fn, false},
    {"l", "0", floor_fn, false},
    {"n", "0", floor_fn, false},
    {"d", "0", floor_fn, false},
};

static int bind_ceil(const mp_type *const *args, const mp_value *const *lits, size_t n,
                     mp_scalar_impl *out, mp_error *e)
{
    int rc = mp_fn_bind_sigs("CEIL", sigs_ceil, MP_FN_COUNT(sigs_ceil), args, n, out, e);
    if (!rc && out->ret->kind == MP_TYPE_DECIMAL && out->ret->scale > 0)
        widen_for_carry(out);
    return rc;
}

static int bind_floor(const mp_type *const *args, const mp_value *const *lits, size_t n,
                      mp_scalar_impl *out, mp_error *e)
{
    int rc = mp_fn_bind_sigs("FLOOR", sigs_floor, MP_FN_COUNT(sigs_floor), args, n, out, e);
    if (!rc && out->ret->kind == MP_TYPE_DECIMAL && out->ret->scale > 0)
        widen_for_carry(out);
    return rc;
}

/* ---- ROUND / TRUNC ---- */

static int round_int(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    *out = mp_v_bigint(mp_fn_num_int64(&a[0]));
    return 0;
}

static int round_double1(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    *out = mp_v_bigint(java_round(mp_fn_num_double(&a[0])));
    return 0;
}

static int trunc_double1(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    *out = mp_v_bigint(java_trunc(mp_fn_num_double(&a[0])));
    return 0;
}

static int round_common(mp_fn_ctx *cx, const char *name, const mp_value *a, size_t n, mp_value *out,
                        const mp_type *rt, round_mode mode)
{
    int places = n > 1 ? a[1].u.i32 : 0;
    if (rt->kind == MP_TYPE_DECIMAL)
        return round_decimal(cx, name, mp_fn_num_decimal(&a[0]), places, mode, rt->precision,
                             rt->scale, out);
    double r = 0;
    int rc = round_double_places(cx, name, mp_fn_num_double(&a[0]), places, mode, &r);
    if (!rc)
        *out = mp_v_double(r);
    return rc;
}

static int round_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return round_common(cx, "ROUND", a, n, out, d, RM_HALF_POS);
}

static int trunc_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return round_common(cx, "TRUNC", a, n, out, d, RM_DOWN);
}

static const mp_fn_sig sigs_round[] = {
    {"i", "l", round_int, false},     {"l", "l", round_int, false}, {"n", "0", round_fn, false},
    {"d", "l", round_double1, false}, {"ni", "0", round_fn, false}, {"di", "d", round_fn, false},
};
static const mp_fn_sig sigs_trunc[] = {
    {"i", "l", round_int, false},     {"l", "l", round_int, false}, {"n", "0", trunc_fn, false},
    {"d", "l", trunc_double1, false}, {"ni", "0", trunc_fn, false}, {"di", "d", trunc_fn, false},
};

static int bind_round_trunc(const char *name, const mp_fn_sig *sigs, size_t nsigs, bool carry,
                            const mp_type *const *args, size_t n, mp_scalar_impl *out, mp_error *e)
{
    int rc = mp_fn_bind_sigs(name, sigs, nsigs, args, n, out, e);
    if (rc || out->ret->kind != MP_TYPE_DECIMAL)
        return rc;
    mp_type *rt = out->ret;
    if (n == 1) {
        /* ksqlDB: DECIMAL(p - s, 0); at least one digit */
        int p = rt->precision - rt->scale;
        if (carry)
            p++;
        rt->precision = p < 1 ? 1 : p > MP_DECIMAL_MAX_PRECISION ? MP_DECIMAL_MAX_PRECISION : p;
        rt->scale = 0;
    } else if (carry) {
        widen_for_carry(out); /* the scale stays (ksqlDB issue 6235) */
    }
    return 0;
}

static int bind_round(const mp_type *const *args, const mp_value *const *lits, size_t n,
                      mp_scalar_impl *out, mp_error *e)
{
    return bind_round_trunc("ROUND", sigs_round, MP_FN_COUNT(sigs_round), true, args, n, out, e);
}

static int bind_trunc(const mp_type *const *args, const mp_value *const *lits, size_t n,
                      mp_scalar_impl *out, mp_error *e)
{
    return bind_round_trunc("TRUNC", sigs_trunc, MP_FN_COUNT(sigs_trunc), false, args, n, out, e);
}

/* ---- SIGN ---- */

static int sign_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    int s;
    if (a[0].kind == MP_TYPE_INTEGER || a[0].kind == MP_TYPE_BIGINT) {
        int64_t v = mp_fn_num_int64(&a[0]);
        s = (v > 0) - (v < 0);
    } else {
        double v = mp_fn_num_double(&a[0]);
        s = (v > 0) - (v < 0); /* NaN: Math.signum gives NaN, cast to int 0 */
    }
    *out = mp_v_int(s);
    return 0;
}

static const mp_fn_sig sigs_sign[] = {
    {"i", "i", sign_fn, false},
    {"l", "i", sign_fn, false},
    {"d", "i", sign_fn, false},
};
MP_FN_SIG_BIND(sign, "SIGN")

/* ---- DOUBLE -> DOUBLE functions ---- */

static double cot_(double x)
{
    return 1.0 / tan(x);
}
static double degrees_(double x)
{
    return x * (180.0 / MP_FN_PI);
}
static double radians_(double x)
{
    return x / 180.0 * MP_FN_PI;
}
static double log10_(double x)
{
    return log10(x);
}

#define UNARY_DOUBLE(id, NAME, expr)                                                               \
    static int id##_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)   \
    {                                                                                              \
        double x = mp_fn_num_double(&a[0]);                                                        \
        *out = mp_v_double(expr);                                                                  \
        return 0;                                                                                  \
    }                                                                                              \
    static const mp_fn_sig sigs_##id[] = {{"d", "d", id##_fn, false}};                             \
    MP_FN_SIG_BIND(id, NAME)

UNARY_DOUBLE(sqrt, "SQRT", sqrt(x))
UNARY_DOUBLE(cbrt, "CBRT", cbrt(x))
UNARY_DOUBLE(exp, "EXP", exp(x))
UNARY_DOUBLE(ln, "LN", log(x))
UNARY_DOUBLE(sin, "SIN", sin(x))
UNARY_DOUBLE(cos, "COS", cos(x))
UNARY_DOUBLE(tan, "TAN", tan(x))
UNARY_DOUBLE(cot, "COT", cot_(x))
UNARY_DOUBLE(asin, "ASIN", asin(x))
UNARY_DOUBLE(acos, "ACOS", acos(x))
UNARY_DOUBLE(atan, "ATAN", atan(x))
UNARY_DOUBLE(sinh, "SINH", sinh(x))
UNARY_DOUBLE(cosh, "COSH", cosh(x))
UNARY_DOUBLE(tanh, "TANH", tanh(x))
UNARY_DOUBLE(degrees, "DEGREES", degrees_(x))
UNARY_DOUBLE(radians, "RADIANS", radians_(x))

/* LOG(x) is base 10, as documented; LOG(b, x) is ln(x) / ln(b), NaN for a
 * base that is not positive or is 1, -Infinity for x = 0. */
static int log_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    if (n == 1) {
        *out = mp_v_double(log10_(mp_fn_num_double(&a[0])));
        return 0;
    }
    double b = mp_fn_num_double(&a[0]), x = mp_fn_num_double(&a[1]);
    double r;
    if (b <= 0 || b == 1 || isnan(b))
        r = NAN;
    else if (x == 0)
        r = -INFINITY;
    else
        r = log(x) / log(b);
    *out = mp_v_double(r);
    return 0;
}

static const mp_fn_sig sigs_log[] = {
    {"d", "d", log_fn, false},
    {"dd", "d", log_fn, false},
};
MP_FN_SIG_BIND(log, "LOG")

static int power_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    *out = mp_v_double(pow(mp_fn_num_double(&a[0]), mp_fn_num_double(&a[1])));
    return 0;
}
static const mp_fn_sig sigs_power[] = {{"dd", "d", power_fn, false}};
MP_FN_SIG_BIND(power, "POWER")

static int atan2_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    *out = mp_v_double(atan2(mp_fn_num_double(&a[0]), mp_fn_num_double(&a[1])));
    return 0;
}
static const mp_fn_sig sigs_atan2[] = {{"dd", "d", atan2_fn, false}};
MP_FN_SIG_BIND(atan2, "ATAN2")

static int pi_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    *out = mp_v_double(MP_FN_PI);
    return 0;
}
static const mp_fn_sig sigs_pi[] = {{"", "d", pi_fn, false}};
MP_FN_SIG_BIND(pi, "PI")

/* RANDOM: one generator per thread, seeded from the kernel, so calls need
 * no lock and threads do not share a sequence. */
static _Thread_local mp_rng tl_rng;
static _Thread_local int tl_rng_ready;

double mp_fn_random_double(void)
{
    if (!tl_rng_ready) {
        uint64_t seed = 0;
        if (getrandom(&seed, sizeof seed, 0) != (ssize_t)sizeof seed)
            seed = (uint64_t)(uintptr_t)&tl_rng ^ 0x9E3779B97F4A7C15ULL;
        mp_rng_seed(&tl_rng, seed);
        tl_rng_ready = 1;
    }
    return mp_rng_uniform(&tl_rng);
}

uint64_t mp_fn_random_u64(void)
{
    (void)mp_fn_random_double();
    return mp_rng_next(&tl_rng);
}

static int random_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    *out = mp_v_double(mp_fn_random_double());
    return 0;
}
static const mp_fn_sig sigs_random[] = {{"", "d", random_fn, false}};
MP_FN_SIG_BIND(random, "RANDOM")

/* ---- GREATEST / LEAST ---- */

static int extreme(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const mp_type *rt,
                   int want)
{
    const mp_value *best = NULL;
    for (size_t i = 0; i < n; i++) {
        if (a[i].null)
            continue;
        if (!best || mp_value_cmp(&a[i], best) * want > 0)
            best = &a[i];
    }
    if (!best) {
        *out = mp_v_null_of(rt);
        return 0;
    }
    return mp_fn_coerce(best, rt, cx->arena, out, cx->e);
}

static int greatest_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return extreme(cx, a, n, out, d, 1);
}

static int least_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    return extreme(cx, a, n, out, d, -1);
}

static int bind_extreme(const char *name, mp_scalar_fn fn, const mp_type *const *args, size_t n,
                        mp_scalar_impl *out, mp_error *e)
{
    static const char alts[] =
        "(INTEGER, ...), (BIGINT, ...), (DECIMAL, ...), (DOUBLE, ...), (STRING, ...), "
        "(BYTES, ...), (TIMESTAMP, ...), (DATE, ...), (TIME, ...)";
    if (n == 0)
        return mp_fn_bind_refuse(e, name, args, n, alts);
    mp_type *t = NULL;
    int rc = mp_fn_common_type(name, args, n, &t, e);
    if (rc)
        return rc;
    switch (t->kind) {
    case MP_TYPE_INTEGER:
    case MP_TYPE_BIGINT:
    case MP_TYPE_DECIMAL:
    case MP_TYPE_DOUBLE:
    case MP_TYPE_STRING:
    case MP_TYPE_BYTES:
    case MP_TYPE_TIMESTAMP:
    case MP_TYPE_DATE:
    case MP_TYPE_TIME: break;
    default: mp_type_free(t); return mp_fn_bind_refuse(e, name, args, n, alts);
    }
    out->fn = fn;
    out->ret = t;
    out->data = t;
    out->null_in_null_out = 0;
    return 0;
}

static int bind_greatest(const mp_type *const *args, const mp_value *const *lits, size_t n,
                         mp_scalar_impl *out, mp_error *e)
{
    return bind_extreme("GREATEST", greatest_fn, args, n, out, e);
}

static int bind_least(const mp_type *const *args, const mp_value *const *lits, size_t n,
                      mp_scalar_impl *out, mp_error *e)
{
    return bind_extreme("LEAST", least_fn, args, n, out, e);
}

/* ---- GEO_DISTANCE ---- */

static int geo_distance_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    double lat1 = mp_fn_num_double(&a[0]), lon1 = mp_fn_num_double(&a[1]);
    double lat2 = mp_fn_num_double(&a[2]), lon2 = mp_fn_num_double(&a[3]);
    double radius = 6371.0; /* km, as ksqlDB */
    if (n > 4) {
        const char *u = a[4].u.str;
        size_t ul = a[4].len;
        if (mp_fn_ieq(u, ul, "MI") || mp_fn_ieq(u, ul, "MILES"))
            radius = 3959.0;
        else if (!mp_fn_ieq(u, ul, "KM") && !mp_fn_ieq(u, ul, "KILOMETERS"))
            return mp_fn_fail(cx, MP_EINPUT, "GEO_DISTANCE",
                              "unknown unit '%.*s': use KM, KILOMETERS, MI or MILES", (int)ul, u);
    }
    if (lat1 < -90 || lat1 > 90 || lat2 < -90 || lat2 > 90)
        return mp_fn_fail(cx, MP_EINPUT, "GEO_DISTANCE", "latitude must be between -90 and 90");
    if (lon1 < -180 || lon1 > 180 || lon2 < -180 || lon2 > 180)
        return mp_fn_fail(cx, MP_EINPUT, "GEO_DISTANCE", "longitude must be between -180 and 180");
    double p1 = radians_(lat1), p2 = radians_(lat2);
    double dp = radians_(lat2 - lat1), dl = radians_(lon2 - lon1);
    double h = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);
    *out = mp_v_double(2 * radius * asin(sqrt(h)));
    return 0;
}
static const mp_fn_sig sigs_geo_distance[] = {
    {"dddd", "d", geo_distance_fn, false},
    {"dddds", "d", geo_distance_fn, false},
};
MP_FN_SIG_BIND(geo_distance, "GEO_DISTANCE")

/* ---- the table ---- */

static const mp_fn_doc docs_abs[] = {
    {"(x INTEGER)", "INTEGER", "The absolute value of x."},
    {"(x BIGINT)", "BIGINT", "The absolute value of x."},
    {"(x DECIMAL)", "DECIMAL", "The absolute value of x, of the same type."},
    {"(x DOUBLE)", "DOUBLE", "The absolute value of x."},
};
static const mp_fn_doc docs_ceil[] = {
    {"(x INTEGER)", "INTEGER", "x itself."},
    {"(x BIGINT)", "BIGINT", "x itself."},
    {"(x DECIMAL(p, s))", "DECIMAL(p + 1, s)",
     "The smallest whole number not below x, keeping x's scale."},
    {"(x DOUBLE)", "DOUBLE", "The smallest whole number not below x."},
};
static const mp_fn_doc docs_floor[] = {
    {"(x INTEGER)", "INTEGER", "x itself."},
    {"(x BIGINT)", "BIGINT", "x itself."},
    {"(x DECIMAL(p, s))", "DECIMAL(p + 1, s)",
     "The largest whole number not above x, keeping x's scale."},
    {"(x DOUBLE)", "DOUBLE", "The largest whole number not above x."},
};
static const mp_fn_doc docs_round[] = {
    {"(x INTEGER)", "BIGINT", "x itself, widened."},
    {"(x BIGINT)", "BIGINT", "x itself."},
    {"(x DOUBLE)", "BIGINT", "x rounded to the nearest whole number, halves toward +infinity."},
    {"(x DECIMAL(p, s))", "DECIMAL(p - s + 1, 0)",
     "x rounded to a whole number, halves toward +infinity."},
    {"(x DOUBLE, places INTEGER)", "DOUBLE",
     "x rounded to places fraction digits (negative: to tens, hundreds...)."},
    {"(x DECIMAL(p, s), places INTEGER)", "DECIMAL(p + 1, s)",
     "x rounded to places fraction digits, keeping its scale."},
};
static const mp_fn_doc docs_trunc[] = {
    {"(x INTEGER)", "BIGINT", "x itself, widened."},
    {"(x BIGINT)", "BIGINT", "x itself."},
    {"(x DOUBLE)", "BIGINT", "x with its fraction dropped."},
    {"(x DECIMAL(p, s))", "DECIMAL(p - s, 0)", "x with its fraction dropped."},
    {"(x DOUBLE, places INTEGER)", "DOUBLE", "x cut (toward zero) to places fraction digits."},
    {"(x DECIMAL(p, s), places INTEGER)", "DECIMAL(p, s)",
     "x cut (toward zero) to places fraction digits, keeping its scale."},
};
static const mp_fn_doc docs_sign[] = {
    {"(x INTEGER)", "INTEGER", "-1, 0 or 1 as x is negative, zero or positive."},
    {"(x BIGINT)", "INTEGER", "-1, 0 or 1 as x is negative, zero or positive."},
    {"(x DOUBLE)", "INTEGER", "-1, 0 or 1 as x is negative, zero or positive (0 for NaN)."},
};
static const mp_fn_doc docs_sqrt[] = {{"(x DOUBLE)", "DOUBLE", "The square root (NaN below 0)."}};
static const mp_fn_doc docs_cbrt[] = {{"(x DOUBLE)", "DOUBLE", "The cube root."}};
static const mp_fn_doc docs_exp[] = {{"(x DOUBLE)", "DOUBLE", "e raised to the power x."}};
static const mp_fn_doc docs_ln[] = {{"(x DOUBLE)", "DOUBLE", "The natural logarithm."}};
static const mp_fn_doc docs_log[] = {
    {"(x DOUBLE)", "DOUBLE", "The base-10 logarithm."},
    {"(base DOUBLE, x DOUBLE)", "DOUBLE",
     "The logarithm in the given base; NaN for a base <= 0 or 1."},
};
static const mp_fn_doc docs_power[] = {
    {"(base DOUBLE, exponent DOUBLE)", "DOUBLE", "base raised to exponent."}};
static const mp_fn_doc docs_sin[] = {{"(x DOUBLE)", "DOUBLE", "The sine of x radians."}};
static const mp_fn_doc docs_cos[] = {{"(x DOUBLE)", "DOUBLE", "The cosine of x radians."}};
static const mp_fn_doc docs_tan[] = {{"(x DOUBLE)", "DOUBLE", "The tangent of x radians."}};
static const mp_fn_doc docs_cot[] = {{"(x DOUBLE)", "DOUBLE", "The cotangent of x radians."}};
static const mp_fn_doc docs_asin[] = {
    {"(x DOUBLE)", "DOUBLE", "The arc sine in radians (NaN outside [-1, 1])."}};
static const mp_fn_doc docs_acos[] = {
    {"(x DOUBLE)", "DOUBLE", "The arc cosine in radians (NaN outside [-1, 1])."}};
static const mp_fn_doc docs_atan[] = {{"(x DOUBLE)", "DOUBLE", "The arc tangent in radians."}};
static const mp_fn_doc docs_atan2[] = {
    {"(y DOUBLE, x DOUBLE)", "DOUBLE", "The angle of the point (x, y) in radians."}};
static const mp_fn_doc docs_sinh[] = {{"(x DOUBLE)", "DOUBLE", "The hyperbolic sine."}};
static const mp_fn_doc docs_cosh[] = {{"(x DOUBLE)", "DOUBLE", "The hyperbolic cosine."}};
static const mp_fn_doc docs_tanh[] = {{"(x DOUBLE)", "DOUBLE", "The hyperbolic tangent."}};
static const mp_fn_doc docs_degrees[] = {{"(x DOUBLE)", "DOUBLE", "Radians converted to degrees."}};
static const mp_fn_doc docs_radians[] = {{"(x DOUBLE)", "DOUBLE", "Degrees converted to radians."}};
static const mp_fn_doc docs_pi[] = {{"()", "DOUBLE", "The closest DOUBLE to pi."}};
static const mp_fn_doc docs_random[] = {{"()", "DOUBLE", "A uniformly random number in [0, 1)."}};
static const mp_fn_doc docs_greatest[] = {
    {"(x T, ...)", "T",
     "The largest non-NULL argument (numbers widen to their common type); NULL if all are."}};
static const mp_fn_doc docs_least[] = {
    {"(x T, ...)", "T",
     "The smallest non-NULL argument (numbers widen to their common type); NULL if all are."}};
static const mp_fn_doc docs_geo[] = {
    {"(lat1 DOUBLE, lon1 DOUBLE, lat2 DOUBLE, lon2 DOUBLE)", "DOUBLE",
     "The great-circle distance in kilometres between two points in degrees."},
    {"(lat1 DOUBLE, lon1 DOUBLE, lat2 DOUBLE, lon2 DOUBLE, unit STRING)", "DOUBLE",
     "The great-circle distance in KM or MILES."},
};

#define SCALAR(NAME, cat, desc, docs, bind)                                                        \
    {                                                                                              \
        NAME, MP_FN_SCALAR, cat, desc, docs, MP_FN_COUNT(docs), NULL, NULL, bind, NULL, NULL       \
    }

const mp_fn_def mp_fn_math_defs[] = {
    SCALAR("ABS", "MATH", "The absolute value of a number.", docs_abs, bind_abs),
    SCALAR("CEIL", "MATH", "Rounds a number up to a whole number.", docs_ceil, bind_ceil),
    SCALAR("FLOOR", "MATH", "Rounds a number down to a whole number.", docs_floor, bind_floor),
    SCALAR("ROUND", "MATH", "Rounds a number to a number of decimal places, halves upward.",
           docs_round, bind_round),
    SCALAR("TRUNC", "MATH", "Cuts a number toward zero to a number of decimal places.", docs_trunc,
           bind_trunc),
    SCALAR("SIGN", "MATH", "The sign of a number as -1, 0 or 1.", docs_sign, bind_sign),
    SCALAR("SQRT", "MATH", "The square root of a number.", docs_sqrt, bind_sqrt),
    SCALAR("CBRT", "MATH", "The cube root of a number.", docs_cbrt, bind_cbrt),
    SCALAR("EXP", "MATH", "e raised to a power.", docs_exp, bind_exp),
    SCALAR("LN", "MATH", "The natural logarithm of a number.", docs_ln, bind_ln),
    SCALAR("LOG", "MATH", "The logarithm of a number, base 10 or a given base.", docs_log,
           bind_log),
    SCALAR("POWER", "MATH", "A number raised to a power.", docs_power, bind_power),
    SCALAR("SIN", "MATH", "The sine of an angle in radians.", docs_sin, bind_sin),
    SCALAR("COS", "MATH", "The cosine of an angle in radians.", docs_cos, bind_cos),
    SCALAR("TAN", "MATH", "The tangent of an angle in radians.", docs_tan, bind_tan),
    SCALAR("COT", "MATH", "The cotangent of an angle in radians.", docs_cot, bind_cot),
    SCALAR("ASIN", "MATH", "The arc sine of a number, in radians.", docs_asin, bind_asin),
    SCALAR("ACOS", "MATH", "The arc cosine of a number, in radians.", docs_acos, bind_acos),
    SCALAR("ATAN", "MATH", "The arc tangent of a number, in radians.", docs_atan, bind_atan),
    SCALAR("ATAN2", "MATH", "The arc tangent of y / x, using both signs for the quadrant.",
           docs_atan2, bind_atan2),
    SCALAR("SINH", "MATH", "The hyperbolic sine of a number.", docs_sinh, bind_sinh),
    SCALAR("COSH", "MATH", "The hyperbolic cosine of a number.", docs_cosh, bind_cosh),
    SCALAR("TANH", "MATH", "The hyperbolic tangent of a number.", docs_tanh, bind_tanh),
    SCALAR("DEGREES", "MATH", "Converts radians to degrees.", docs_degrees, bind_degrees),
    SCALAR("RADIANS", "MATH", "Converts degrees to radians.", docs_radians, bind_radians),
    SCALAR("PI", "MATH", "The number pi.", docs_pi, bind_pi),
    SCALAR("RANDOM", "MATH", "A random number between 0 and 1.", docs_random, bind_random),
    SCALAR("GREATEST", "MATH", "The largest of its non-NULL arguments.", docs_greatest,
           bind_greatest),
    SCALAR("LEAST", "MATH", "The smallest of its non-NULL arguments.", docs_least, bind_least),
    SCALAR("GEO_DISTANCE", "MATH", "The great-circle distance between two points on Earth.",
           docs_geo, bind_geo_distance),
};
const size_t mp_fn_math_count = MP_FN_COUNT(mp_fn_math_defs);
