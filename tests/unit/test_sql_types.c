/* ksqlDB types: spelling, parsing, equality, implicit coercion, common
 * supertypes, and exact DECIMAL arithmetic. Expected values are worked out
 * by hand from ksqlDB's documented rules (see data/sql_type.h). */
#include <stdlib.h>
#include <string.h>

#include "data/sql_type.h"
#include "test.h"

static mp_type *T(const char *text)
{
    mp_type *t = NULL;
    mp_error e;
    if (mp_type_parse(text, &t, &e) != 0) {
        fprintf(stderr, "parse '%s': %s\n", text, e.msg);
        return NULL;
    }
    return t;
}

/* Prints t (freed) and compares with want. */
static int printed_is(mp_type *t, const char *want)
{
    if (!t)
        return 0;
    mp_buf b = {0};
    mp_type_print(t, &b);
    int ok = b.data && strcmp(b.data, want) == 0;
    if (!ok)
        fprintf(stderr, "printed '%s', want '%s'\n", b.data ? b.data : "(null)", want);
    mp_buf_free(&b);
    mp_type_free(t);
    return ok;
}

static void test_print_and_parse(void)
{
    CHECK(printed_is(T("boolean"), "BOOLEAN"));
    CHECK(printed_is(T("INT"), "INTEGER"));
    CHECK(printed_is(T("integer"), "INTEGER"));
    CHECK(printed_is(T("BIGINT"), "BIGINT"));
    CHECK(printed_is(T("DOUBLE"), "DOUBLE"));
    CHECK(printed_is(T("varchar"), "STRING"));
    CHECK(printed_is(T("STRING"), "STRING"));
    CHECK(printed_is(T("BYTES"), "BYTES"));
    CHECK(printed_is(T("TIMESTAMP"), "TIMESTAMP"));
    CHECK(printed_is(T("DATE"), "DATE"));
    CHECK(printed_is(T("TIME"), "TIME"));
    CHECK(printed_is(T("decimal( 10 ,2 )"), "DECIMAL(10, 2)"));
    CHECK(printed_is(T("ARRAY<INT>"), "ARRAY<INTEGER>"));
    CHECK(printed_is(T("MAP<VARCHAR, BIGINT>"), "MAP<STRING, BIGINT>"));
    /* Bare field names are upper-cased, quoted ones kept, as the parser
     * normalises identifiers; DESCRIBE back-quotes every field. */
    CHECK(printed_is(T("STRUCT<a INT, `b` STRING>"), "STRUCT<`A` INTEGER, `b` STRING>"));
    CHECK(printed_is(T("STRUCT<>"), "STRUCT< >"));
    CHECK(printed_is(T("STRUCT<`x``y` INT>"), "STRUCT<`x``y` INTEGER>"));
    CHECK(printed_is(T("ARRAY<MAP<STRING, STRUCT<A ARRAY<DECIMAL(38, 38)>, B DATE>>>"),
                     "ARRAY<MAP<STRING, STRUCT<`A` ARRAY<DECIMAL(38, 38)>, `B` DATE>>>"));

    /* Printing then parsing gives an equal type. */
    mp_type *a = T("STRUCT<`q r` MAP<STRING, ARRAY<TIME>>, Z DECIMAL(4, 1)>");
    REQUIRE(a);
    mp_buf b = {0};
    mp_type_print(a, &b);
    mp_type *a2 = T(b.data);
    CHECK(a2 && mp_type_equal(a, a2));
    mp_buf_free(&b);
    mp_type_free(a2);
    mp_type_free(a);
}

static void test_parse_errors(void)
{
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"DECIMAL(0, 0)", "precision must be between 1 and 38, got 0"},
        {"DECIMAL(39, 0)", "got 39"},
        {"DECIMAL(5, 6)", "scale must be between 0 and the precision (5), got 6"},
        {"MAP<STRING>", "expected ','"},
        {"FOO", "unknown type name at offset 0"},
        {"ARRAY<INT", "expected '>'"},
        {"STRUCT<A INT, a STRING>", "duplicate field name `A`"},
        {"INT INT", "unexpected text after the type at offset 4"},
        {"", "expected a type name"},
        {"STRUCT<`a INT>", "unterminated"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mp_type *t = (mp_type *)1;
        mp_error e = {0};
        int rc = mp_type_parse(bad[i].text, &t, &e);
        CHECK(rc != 0);
        CHECK(t == NULL);
        CHECK_STR_CONTAINS(e.msg, bad[i].msg);
    }
    /* Deep nesting is refused, not a stack overflow. */
    mp_buf deep = {0};
    for (int i = 0; i < 200; i++)
        mp_buf_puts(&deep, "ARRAY<");
    mp_buf_puts(&deep, "INT");
    for (int i = 0; i < 200; i++)
        mp_buf_putc(&deep, '>');
    mp_type *t = NULL;
    mp_error e;
    CHECK(mp_type_parse(deep.data, &t, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "nested too deeply");
    mp_buf_free(&deep);
}

static void test_equality_and_builders(void)
{
    mp_type *a = T("DECIMAL(10, 2)"), *b = T("DECIMAL(10, 3)"), *c = T("DECIMAL(10,2)");
    CHECK(!mp_type_equal(a, b));
    CHECK(mp_type_equal(a, c));
    mp_type_free(a);
    mp_type_free(b);
    mp_type_free(c);
    mp_type *s1 = T("STRUCT<A INT, B INT>"), *s2 = T("STRUCT<B INT, A INT>");
    CHECK(!mp_type_equal(s1, s2)); /* field order matters */
    CHECK(mp_type_struct_find(s2, "A") == 1);
    CHECK(mp_type_struct_find(s2, "a") == -1);
    mp_type *cl = mp_type_clone(s2);
    CHECK(mp_type_equal(cl, s2) && cl != s2);
    mp_type_free(cl);
    mp_type_free(s1);
    mp_type_free(s2);

    /* Builders take ownership even when they fail. */
    mp_type *st = mp_type_new_struct();
    mp_error e;
    CHECK(mp_type_struct_add(st, "X", mp_type_new(MP_TYPE_INTEGER), &e) == 0);
    CHECK(mp_type_struct_add(st, "X", mp_type_new(MP_TYPE_STRING), &e) == MP_EEXIST);
    CHECK(mp_type_struct_add(st, "", mp_type_new(MP_TYPE_STRING), &e) == MP_EINVAL);
    CHECK(st->nfields == 1);
    mp_type_free(st);
    CHECK(mp_type_new(MP_TYPE_DECIMAL) == NULL);
    mp_type *d = NULL;
    CHECK(mp_type_new_decimal(38, 38, &d, &e) == 0 && d && d->precision == 38);
    mp_type_free(d);
    CHECK(mp_type_new_decimal(10, -1, &d, &e) == MP_EINVAL && d == NULL);
}

static bool coerces(const char *from, const char *to)
{
    mp_type *f = T(from), *t = T(to);
    bool r = f && t && mp_type_can_coerce(f, t);
    mp_type_free(f);
    mp_type_free(t);
    return r;
}

static void test_coercion(void)
{
    CHECK(coerces("INT", "BIGINT"));
    CHECK(!coerces("BIGINT", "INT"));
    CHECK(coerces("INT", "DOUBLE"));
    CHECK(coerces("BIGINT", "DOUBLE"));
    CHECK(coerces("DECIMAL(5, 2)", "DOUBLE"));
    CHECK(!coerces("DOUBLE", "DECIMAL(38, 10)"));
    CHECK(!coerces("DOUBLE", "BIGINT"));
    /* INT is DECIMAL(10, 0), BIGINT DECIMAL(19, 0). */
    CHECK(coerces("INT", "DECIMAL(10, 0)"));
    CHECK(!coerces("INT", "DECIMAL(9, 0)"));
    CHECK(coerces("INT", "DECIMAL(12, 2)"));
    CHECK(!coerces("INT", "DECIMAL(11, 2)"));
    CHECK(coerces("BIGINT", "DECIMAL(19, 0)"));
    CHECK(!coerces("BIGINT", "DECIMAL(20, 2)"));
    CHECK(coerces("DECIMAL(5, 2)", "DECIMAL(6, 3)"));
    CHECK(!coerces("DECIMAL(5, 2)", "DECIMAL(6, 1)")); /* would lose scale */
    CHECK(!coerces("DECIMAL(5, 2)", "DECIMAL(4, 2)")); /* would lose integer digits */
    CHECK(!coerces("DECIMAL(5, 0)", "BIGINT"));
    CHECK(!coerces("STRING", "INT"));
    CHECK(!coerces("INT", "STRING"));
    CHECK(!coerces("DATE", "TIMESTAMP"));
    CHECK(coerces("ARRAY<INT>", "ARRAY<BIGINT>"));
    CHECK(!coerces("ARRAY<BIGINT>", "ARRAY<INT>"));
    CHECK(coerces("MAP<STRING, INT>", "MAP<STRING, DOUBLE>"));
    CHECK(coerces("STRUCT<A INT, B STRING>", "STRUCT<A BIGINT, C DOUBLE>"));
    CHECK(!coerces("STRUCT<A STRING>", "STRUCT<A INT>"));
    mp_type nul = {.kind = MP_TYPE_NULL};
    mp_type *m = T("MAP<STRING, ARRAY<INT>>");
    CHECK(mp_type_can_coerce(&nul, m));
    mp_type_free(m);
}

/* common(a, b) printed, or "error: <message>". */
static void common_is(const char *a, const char *b, const char *want)
{
    mp_type *ta = T(a), *tb = T(b), *out = NULL;
    mp_error e;
    int rc = mp_type_common(ta, tb, &out, &e);
    char got[1100];
    if (rc) {
        snprintf(got, sizeof got, "error: %s", e.msg);
    } else {
        mp_buf buf = {0};
        mp_type_print(out, &buf);
        snprintf(got, sizeof got, "%s", buf.data);
        mp_buf_free(&buf);
    }
    if (strncmp(want, "error: ", 7) == 0 ? strstr(got, want) == NULL : strcmp(got, want) != 0) {
        fprintf(stderr, "common(%s, %s) = %s, want %s\n", a, b, got, want);
        mp_test_failed_checks++;
    }
    mp_type_free(out);
    mp_type_free(ta);
    mp_type_free(tb);
}

static void test_common_type(void)
{
    common_is("INT", "INT", "INTEGER");
    common_is("INT", "BIGINT", "BIGINT");
    common_is("BIGINT", "INT", "BIGINT");
    /* whole digits max(10, 3) = 10, scale 2 */
    common_is("INT", "DECIMAL(5, 2)", "DECIMAL(12, 2)");
    common_is("BIGINT", "DECIMAL(5, 2)", "DECIMAL(21, 2)");
    /* whole max(3, 3), scale max(2, 4) */
    common_is("DECIMAL(5, 2)", "DECIMAL(7, 4)", "DECIMAL(7, 4)");
    common_is("DECIMAL(10, 0)", "DECIMAL(3, 3)", "DECIMAL(13, 3)");
    common_is("DECIMAL(10, 2)", "DOUBLE", "DOUBLE");
    common_is("INT", "DOUBLE", "DOUBLE");
    common_is("INT", "STRING", "error: incompatible types INTEGER and STRING");
    common_is("DATE", "TIMESTAMP", "error: incompatible types DATE and TIMESTAMP");
    /* 19 whole digits + 20 scale = 39 > 38 */
    common_is("DECIMAL(38, 20)", "BIGINT", "error: no common DECIMAL within 38 digits");
    common_is("ARRAY<INT>", "ARRAY<DOUBLE>", "ARRAY<DOUBLE>");
    common_is("MAP<STRING, INT>", "MAP<STRING, BIGINT>", "MAP<STRING, BIGINT>");
    common_is("ARRAY<INT>", "MAP<STRING, INT>", "error: incompatible types");
    common_is("STRUCT<A INT, B STRING>", "STRUCT<B STRING, C DOUBLE, A BIGINT>",
              "STRUCT<`A` BIGINT, `B` STRING, `C` DOUBLE>");
    common_is("STRUCT<A INT>", "STRUCT<A STRING>", "error: field `A`");
    mp_type nul = {.kind = MP_TYPE_NULL}, *out = NULL;
    mp_type *date = T("DATE");
    mp_error e;
    CHECK(mp_type_common(&nul, date, &out, &e) == 0 && out && out->kind == MP_TYPE_DATE);
    mp_type_free(out);
    mp_type_free(date);
}

static void result_type_is(mp_decimal_op op, int p1, int s1, int p2, int s2, int wp, int ws)
{
    int p, s;
    mp_decimal_result_type(op, p1, s1, p2, s2, &p, &s);
    if (p != wp || s != ws) {
        fprintf(stderr, "op %d (%d,%d) (%d,%d) -> (%d,%d), want (%d,%d)\n", (int)op, p1, s1, p2,
                s2, p, s, wp, ws);
        mp_test_failed_checks++;
    }
}

static void test_decimal_result_types(void)
{
    /* + -: scale max(2, 4) = 4, precision 4 + max(3, 3) + 1 = 8 */
    result_type_is(MP_DEC_ADD, 5, 2, 7, 4, 8, 4);
    result_type_is(MP_DEC_SUB, 5, 2, 7, 4, 8, 4);
    /* *: precision 5 + 7 + 1, scale 2 + 4 */
    result_type_is(MP_DEC_MUL, 5, 2, 7, 4, 13, 6);
    /* /: scale max(6, 2 + 7 + 1) = 10, precision 5 - 2 + 4 + 10 = 17 */
    result_type_is(MP_DEC_DIV, 5, 2, 7, 4, 17, 10);
    result_type_is(MP_DEC_DIV, 1, 0, 1, 0, 7, 6);
    /* %: precision min(3, 3) + 4, scale 4 */
    result_type_is(MP_DEC_MOD, 5, 2, 7, 4, 7, 4);
    /* Capped at 38: integer digits kept, scale cut but not below min(s, 6). */
    result_type_is(MP_DEC_MUL, 38, 10, 38, 10, 38, 6);  /* (77, 20): 57 whole */
    result_type_is(MP_DEC_DIV, 38, 10, 38, 10, 38, 6);  /* (87, 49): 38 whole */
    result_type_is(MP_DEC_ADD, 38, 0, 38, 0, 38, 0);    /* (39, 0) */
    result_type_is(MP_DEC_ADD, 30, 20, 30, 20, 31, 20); /* fits: no cap */
    result_type_is(MP_DEC_ADD, 38, 20, 38, 20, 38, 19); /* (39, 20): 19 whole */
    result_type_is(MP_DEC_MUL, 20, 2, 20, 2, 38, 4);    /* (41, 4): 37 whole -> scale 1, min 4 */
}

static mp_decimal D(const char *text, int p, int s)
{
    mp_decimal d = {0};
    mp_error e;
    if (mp_decimal_parse(text, strlen(text), p, s, MP_ROUND_UNNECESSARY, &d, &e) != 0) {
        fprintf(stderr, "decimal '%s' (%d,%d): %s\n", text, p, s, e.msg);
        mp_test_failed_checks++;
    }
    return d;
}

static bool dec_is(const mp_decimal *d, const char *text, int p, int s)
{
    char buf[MP_DECIMAL_STR_MAX];
    mp_decimal_format(d, buf);
    bool ok = strcmp(buf, text) == 0 && d->precision == p && d->scale == s;
    if (!ok)
        fprintf(stderr, "decimal %s (%d,%d), want %s (%d,%d)\n", buf, d->precision, d->scale,
                text, p, s);
    return ok;
}

static void test_decimal_arith(void)
{
    mp_decimal a = D("1.25", 3, 2), b = D("10.5", 3, 1), r;
    mp_error e;
    /* (3,2) + (3,1): scale 2, precision 2 + max(1, 2) + 1 = 5 */
    CHECK(mp_decimal_add(&a, &b, &r, &e) == 0 && dec_is(&r, "11.75", 5, 2));
    CHECK(mp_decimal_sub(&a, &b, &r, &e) == 0 && dec_is(&r, "-9.25", 5, 2));
    CHECK(mp_decimal_sub(&b, &b, &r, &e) == 0 && dec_is(&r, "0.0", 4, 1));
    /* (3,2) * (3,1): precision 7, scale 3 */
    CHECK(mp_decimal_mul(&a, &b, &r, &e) == 0 && dec_is(&r, "13.125", 7, 3));
    mp_decimal na = D("-1.25", 3, 2);
    CHECK(mp_decimal_mul(&na, &b, &r, &e) == 0 && dec_is(&r, "-13.125", 7, 3));
    /* 1 / 8 at scale 6 */
    mp_decimal one = D("1", 1, 0), eight = D("8", 1, 0), three = D("3", 1, 0);
    CHECK(mp_decimal_div(&one, &eight, &r, &e) == 0 && dec_is(&r, "0.125000", 7, 6));
    /* 1 / 3 does not terminate: ksqlDB's RoundingMode.UNNECESSARY fails. */
    CHECK(mp_decimal_div(&one, &three, &r, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "1 / 3 is not exact at scale 6");
    /* 1 / 128 = 0.0078125 needs 7 fraction digits, the type has 6. */
    mp_decimal d128 = D("128", 3, 0);
    CHECK(mp_decimal_div(&one, &d128, &r, &e) == MP_EINPUT);
    mp_decimal zero = D("0.00", 3, 2);
    CHECK(mp_decimal_div(&one, &zero, &r, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "division by zero");
    CHECK(mp_decimal_mod(&one, &zero, &r, &e) == MP_EINPUT);
    /* -10.5 / 4 = -2.625; (3,1)/(1,0): scale max(6, 1+1+1)=6, precision 3-1+0+6 = 8 */
    mp_decimal nb = D("-10.5", 3, 1), four = D("4", 1, 0);
    CHECK(mp_decimal_div(&nb, &four, &r, &e) == 0 && dec_is(&r, "-2.625000", 8, 6));
    /* A divisor with more scale than the dividend: 1.5 / 0.25 = 6 */
    mp_decimal q = D("0.25", 2, 2), f15 = D("1.5", 2, 1);
    CHECK(mp_decimal_div(&f15, &q, &r, &e) == 0 && dec_is(&r, "6.000000", 9, 6));
    /* (3,1) % (1,0): precision min(2, 1) + 1 = 2, scale 1; the sign follows the dividend */
    mp_decimal three1 = D("3", 1, 0);
    CHECK(mp_decimal_mod(&b, &three1, &r, &e) == 0 && dec_is(&r, "1.5", 2, 1));
    CHECK(mp_decimal_mod(&nb, &three1, &r, &e) == 0 && dec_is(&r, "-1.5", 2, 1));

    /* Overflow beyond 38 digits is an error, not a wrap. */
    mp_decimal big = D("99999999999999999999999999999999999999", 38, 0);
    mp_decimal big1 = D("1", 38, 0);
    CHECK(mp_decimal_add(&big, &big1, &r, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "numeric overflow");
    CHECK(mp_decimal_sub(&big, &big1, &r, &e) == 0 &&
          dec_is(&r, "99999999999999999999999999999999999998", 38, 0));
    CHECK(mp_decimal_add(&big, &big, &r, &e) == MP_EINPUT); /* > 2^127 internally */
    mp_decimal nbig = D("-99999999999999999999999999999999999999", 38, 0);
    CHECK(mp_decimal_add(&big, &nbig, &r, &e) == 0 && dec_is(&r, "0", 38, 0));
    CHECK(mp_decimal_mul(&big, &big, &r, &e) == MP_EINPUT);
    mp_decimal e18 = D("1000000000000000000", 19, 0);
    CHECK(mp_decimal_mul(&e18, &e18, &r, &e) == 0 &&
          dec_is(&r, "1000000000000000000000000000000000000", 38, 0));
    /* Capped multiply (38,6): 1.5 * 1.5 at scale 6, but 1.0000000001^2 needs 20 digits */
    mp_decimal x = D("1.5", 38, 10), y = D("1.0000000001", 38, 10);
    CHECK(mp_decimal_mul(&x, &x, &r, &e) == 0 && dec_is(&r, "2.250000", 38, 6));
    CHECK(mp_decimal_mul(&y, &y, &r, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "without rounding");
    /* Capped divide (38,6) with a big dividend and divisor */
    mp_decimal bd = D("12345678901234567890123456.7890123456", 38, 10);
    mp_decimal two = D("2", 38, 10);
    CHECK(mp_decimal_div(&bd, &two, &r, &e) == MP_EINPUT); /* ...0.39450617280 inexact at 6 */
    mp_decimal bd2 = D("12345678901234567890123456.7890120000", 38, 10);
    CHECK(mp_decimal_div(&bd2, &two, &r, &e) == 0 &&
          dec_is(&r, "6172839450617283945061728.394506", 38, 6));
    /* Long division with a 38-digit divisor (remainder * 10 needs 129 bits) */
    mp_decimal n1 = D("1", 1, 0);
    mp_decimal dv = D("40000000000000000000000000000000000000", 38, 0);
    /* (1,0)/(38,0): scale max(6, 0+38+1) = 39 -> capped: whole 1 -> scale 37, precision 38 */
    /* 1/(4*10^37) = 2.5e-38: not representable at scale 37 -> error, not garbage */
    CHECK(mp_decimal_div(&n1, &dv, &r, &e) == MP_EINPUT);
    mp_decimal dv2 = D("25000000000000000000000000000000000000", 38, 0);
    mp_decimal n10 = D("10000000000000000000000000000000000000", 38, 0);
    /* (38,0)/(38,0): scale 39 -> cap: whole 38 -> scale 6 */
    CHECK(mp_decimal_div(&n10, &dv2, &r, &e) == 0 && dec_is(&r, "0.400000", 38, 6));
    /* 3.9e37 / 4e37: the remainder exceeds 2^128 / 10, the slow digit path */
    mp_decimal n39 = D("39000000000000000000000000000000000000", 38, 0);
    CHECK(mp_decimal_div(&n39, &dv, &r, &e) == 0 && dec_is(&r, "0.975000", 38, 6));

    /* Comparison across scales */
    mp_decimal p150 = D("1.50", 3, 2), p15 = D("1.5", 2, 1), m1 = D("-1", 1, 0);
    CHECK(mp_decimal_cmp(&p150, &p15) == 0);
    CHECK(mp_decimal_cmp(&m1, &p15) == -1);
    CHECK(mp_decimal_cmp(&p15, &m1) == 1);
    mp_decimal m2 = D("-2.000001", 7, 6), m3 = D("-2", 1, 0);
    CHECK(mp_decimal_cmp(&m2, &m3) == -1);
    CHECK(mp_decimal_cmp(&big, &nbig) == 1);
}

static void test_decimal_rescale_parse(void)
{
    mp_decimal a = D("1.25", 3, 2), r;
    mp_error e;
    CHECK(mp_decimal_rescale(&a, 3, 1, MP_ROUND_UNNECESSARY, &r, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "cannot fit 1.25 into DECIMAL(3, 1) without rounding");
    CHECK(mp_decimal_rescale(&a, 3, 1, MP_ROUND_HALF_UP, &r, &e) == 0 && dec_is(&r, "1.3", 3, 1));
    mp_decimal na = D("-1.25", 3, 2);
    CHECK(mp_decimal_rescale(&na, 3, 1, MP_ROUND_HALF_UP, &r, &e) == 0 &&
          dec_is(&r, "-1.3", 3, 1));
    mp_decimal b = D("1.24", 3, 2);
    CHECK(mp_decimal_rescale(&b, 3, 1, MP_ROUND_HALF_UP, &r, &e) == 0 && dec_is(&r, "1.2", 3, 1));
    CHECK(mp_decimal_rescale(&b, 6, 4, MP_ROUND_UNNECESSARY, &r, &e) == 0 &&
          dec_is(&r, "1.2400", 6, 4));
    /* 999.95 rounds to 1000.0, which DECIMAL(4, 1) cannot hold */
    mp_decimal c = D("999.95", 5, 2);
    CHECK(mp_decimal_rescale(&c, 4, 1, MP_ROUND_HALF_UP, &r, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "numeric overflow");
    CHECK(mp_decimal_rescale(&c, 5, 1, MP_ROUND_HALF_UP, &r, &e) == 0 &&
          dec_is(&r, "1000.0", 5, 1));
    CHECK(mp_decimal_rescale(&c, 4, 5, MP_ROUND_HALF_UP, &r, &e) == MP_EINVAL);

    /* Parsing, exactly as BigDecimal(text) then fitting */
    mp_decimal d = D("12.345", 5, 3);
    CHECK(dec_is(&d, "12.345", 5, 3));
    d = D("12.3450", 5, 3); /* a trailing zero is not lost precision */
    CHECK(dec_is(&d, "12.345", 5, 3));
    d = D("-0.001", 3, 3);
    CHECK(dec_is(&d, "-0.001", 3, 3));
    d = D("1.5e3", 6, 1);
    CHECK(dec_is(&d, "1500.0", 6, 1));
    d = D("1E-2", 3, 2);
    CHECK(dec_is(&d, "0.01", 3, 2));
    d = D(".5", 1, 1);
    CHECK(dec_is(&d, "0.5", 1, 1));
    d = D("+7", 2, 0);
    CHECK(dec_is(&d, "7", 2, 0));
    d = D("-0.000", 1, 0);
    CHECK(dec_is(&d, "0", 1, 0));
    d = D("0.50000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
          2, 1); /* 87 digits: past the 77 kept, all zeros */
    CHECK(dec_is(&d, "0.5", 2, 1));
    d = D("00000000000000000000000000000000000000000000000000000000000000000000000000000000012.5",
          3, 1);
    CHECK(dec_is(&d, "12.5", 3, 1));
    d = D("1000000000000000000000000000000000000000e-5", 38, 3);
    CHECK(dec_is(&d, "10000000000000000000000000000000000.000", 38, 3));
    static const struct {
        const char *text;
        int p, s;
        const char *msg;
    } bad[] = {
        {"12.3456", 5, 3, "cannot fit 12.3456 into DECIMAL(5, 3) without rounding"},
        {"123456", 5, 3, "numeric overflow: 123456 does not fit DECIMAL(5, 3)"},
        {"100", 2, 0, "numeric overflow"},
        {"1.2.3", 5, 2, "unexpected '.'"},
        {"", 5, 2, "no digits"},
        {"abc", 5, 2, "no digits"},
        {"1e", 5, 2, "exponent without digits"},
        {"1 ", 5, 2, "unexpected ' '"},
        {"0.000000000000000000000000000000000000000000000000000000000000000000000000000000000001",
         38, 37, "without rounding"},
        {"1e999999999999", 38, 0, "numeric overflow"},
        {"1e-999999999999", 38, 0, "without rounding"},
        {"123456789012345678901234567890123456789012345678901234567890123456789012345678901234567",
         38, 0, "numeric overflow"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mp_decimal x;
        CHECK(mp_decimal_parse(bad[i].text, strlen(bad[i].text), bad[i].p, bad[i].s,
                               MP_ROUND_UNNECESSARY, &x, &e) == MP_EINPUT);
        CHECK_STR_CONTAINS(e.msg, bad[i].msg);
    }
    /* HALF_UP parse (CAST of a string) */
    CHECK(mp_decimal_parse("2.345", 5, 4, 2, MP_ROUND_HALF_UP, &d, &e) == 0 &&
          dec_is(&d, "2.35", 4, 2));
    CHECK(mp_decimal_parse("-2.344999", 9, 4, 2, MP_ROUND_HALF_UP, &d, &e) == 0 &&
          dec_is(&d, "-2.34", 4, 2));

    /* From integers and doubles */
    CHECK(mp_decimal_from_int64(INT64_MIN, 19, 0, &d, &e) == 0 &&
          dec_is(&d, "-9223372036854775808", 19, 0));
    CHECK(mp_decimal_from_int64(12345, 4, 0, &d, &e) == MP_EINPUT);
    CHECK(mp_decimal_from_int64(12, 4, 2, &d, &e) == 0 && dec_is(&d, "12.00", 4, 2));
    CHECK(mp_decimal_from_double(0.1, 3, 2, &d, &e) == 0 && dec_is(&d, "0.10", 3, 2));
    /* 1.005 is 1.00499999999999989...: rounded to 4 digits (1.005), then to
     * scale 2 HALF_UP (1.01), as BigDecimal(double, MathContext) then setScale. */
    CHECK(mp_decimal_from_double(1.005, 4, 2, &d, &e) == 0 && dec_is(&d, "1.01", 4, 2));
    CHECK(mp_decimal_from_double(-2.5, 2, 0, &d, &e) == 0 && dec_is(&d, "-3", 2, 0));
    CHECK(mp_decimal_from_double(123.0, 2, 0, &d, &e) == MP_EINPUT);
    CHECK(mp_decimal_from_double(0.0 / 0.0, 5, 2, &d, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "NaN");
    CHECK(mp_decimal_from_double(1e300, 38, 0, &d, &e) == MP_EINPUT);
    d = D("12.5", 3, 1);
    CHECK(mp_decimal_to_double(&d) == 12.5);
    d = D("-0.1", 2, 1);
    CHECK(mp_decimal_to_double(&d) == -0.1);

    char buf[MP_DECIMAL_STR_MAX];
    mp_decimal f = {.unscaled = -5, .precision = 3, .scale = 3};
    mp_decimal_format(&f, buf);
    CHECK(strcmp(buf, "-0.005") == 0);
    f = (mp_decimal){.unscaled = 0, .precision = 3, .scale = 2};
    mp_decimal_format(&f, buf);
    CHECK(strcmp(buf, "0.00") == 0);
    f = (mp_decimal){.unscaled = -mp_i128_pow10(38) + 1, .precision = 38, .scale = 38};
    mp_decimal_format(&f, buf);
    CHECK(strcmp(buf, "-0.99999999999999999999999999999999999999") == 0);
    CHECK(strlen(buf) < MP_DECIMAL_STR_MAX);
}

int main(void)
{
    RUN(test_print_and_parse);
    RUN(test_parse_errors);
    RUN(test_equality_and_builders);
    RUN(test_coercion);
    RUN(test_common_type);
    RUN(test_decimal_result_types);
    RUN(test_decimal_arith);
    RUN(test_decimal_rescale_parse);
    return TEST_SUMMARY();
}
