/* Runtime values: the arena they live in, deep copy, comparison (SQL and
 * total order), hashing consistency, and ksqlDB's text forms. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/arena.h"
#include "data/sql_text.h"
#include "data/sql_value.h"
#include "test.h"

static void test_arena(void)
{
    mp_arena a;
    mp_arena_init(&a, 256);
    /* Alignment and distinctness */
    char *p1 = mp_arena_alloc(&a, 1), *p2 = mp_arena_alloc(&a, 3), *p0 = mp_arena_alloc(&a, 0);
    REQUIRE(p1 && p2 && p0);
    CHECK(((uintptr_t)p1 & 15) == 0 && ((uintptr_t)p2 & 15) == 0 && ((uintptr_t)p0 & 15) == 0);
    CHECK(p1 != p2 && p2 != p0);
    CHECK(mp_arena_used(&a) == 48);
    /* Growing the last allocation stays in place */
    char *g = mp_arena_alloc(&a, 16);
    memset(g, 'x', 16);
    char *g2 = mp_arena_realloc(&a, g, 16, 64);
    CHECK(g2 == g && g2[15] == 'x');
    /* ...but not once something else was allocated after it */
    char *other = mp_arena_alloc(&a, 8);
    (void)other;
    char *g3 = mp_arena_realloc(&a, g2, 64, 128);
    CHECK(g3 != g2 && g3 && g3[0] == 'x' && g3[15] == 'x');
    /* Large allocations span chunks; every byte is usable (ASan checks) */
    for (int i = 0; i < 50; i++) {
        char *q = mp_arena_alloc(&a, 1000);
        REQUIRE(q);
        memset(q, i, 1000);
    }
    size_t before = mp_arena_used(&a);
    CHECK(before > 50000);
    /* After a reset the arena keeps one chunk big enough for that load, so
     * the same load again needs no new chunk. */
    mp_arena_reset(&a);
    CHECK(mp_arena_used(&a) == 0);
    CHECK(mp_arena_chunk_count(&a) == 1);
    for (int i = 0; i < 50; i++)
        REQUIRE(mp_arena_alloc(&a, 1000));
    CHECK(mp_arena_chunk_count(&a) == 1);
    char *s = mp_arena_strndup(&a, "ab\0cd", 5);
    CHECK(s && memcmp(s, "ab\0cd", 6) == 0);
    /* A limit turns growth past it into NULL */
    mp_arena_reset(&a);
    mp_arena_set_limit(&a, 1024);
    CHECK(mp_arena_alloc(&a, 1000) != NULL);
    CHECK(mp_arena_alloc(&a, 100) == NULL);
    CHECK(mp_arena_alloc(&a, SIZE_MAX - 4) == NULL);
    mp_arena_set_limit(&a, 0);
    CHECK(mp_arena_alloc(&a, SIZE_MAX - 4) == NULL); /* wraps: refused, not tiny */
    mp_arena_free(&a);
    mp_arena_free(&a); /* idempotent */
}

static const mp_type *st_type(void)
{
    static mp_type *t;
    if (!t)
        mp_type_parse("STRUCT<A INT, `b` ARRAY<STRING>, M MAP<STRING, DOUBLE>>", &t, NULL);
    return t;
}

/* STRUCT<A 7, b ['x', null, 'yz'], M {'k': 1.5}> in arena a. */
static mp_value make_struct(mp_arena *a)
{
    const mp_type *t = st_type();
    mp_value v;
    mp_v_struct(a, t, &v);
    v.u.st.fields[0] = mp_v_int(7);
    mp_value arr;
    mp_v_array(a, 3, t->fields[1].type->elem, &arr);
    mp_v_string(a, "x", 1, &arr.u.items[0]);
    mp_v_string(a, "yz", 2, &arr.u.items[2]);
    v.u.st.fields[1] = arr;
    mp_value m;
    mp_v_map(a, 1, t->fields[2].type->key, t->fields[2].type->elem, &m);
    mp_v_string(a, "k", 1, &m.u.items[0]);
    m.u.items[1] = mp_v_double(1.5);
    v.u.st.fields[2] = m;
    return v;
}

static char *fmt(const mp_value *v)
{
    static char out[512];
    mp_buf b = {0};
    mp_value_format(v, &b);
    snprintf(out, sizeof out, "%s", b.data ? b.data : "");
    mp_buf_free(&b);
    return out;
}

static char *json(const mp_value *v, int flags)
{
    static char out[512];
    mp_buf b = {0};
    mp_value_write_json(v, flags, &b);
    snprintf(out, sizeof out, "%s", b.data ? b.data : "");
    mp_buf_free(&b);
    return out;
}

static void test_construct_copy_check(void)
{
    CHECK(sizeof(mp_value) == 24);
    mp_arena a, b;
    mp_arena_init(&a, 0);
    mp_arena_init(&b, 0);
    mp_value v = make_struct(&a);
    mp_error e;
    CHECK(mp_value_check(&v, st_type(), &e) == 0);
    CHECK(strcmp(json(&v, 0), "{\"A\":7,\"b\":[\"x\",null,\"yz\"],\"M\":{\"k\":1.5}}") == 0);
    mp_value c;
    REQUIRE(mp_value_copy(&v, &b, &c) == 0);
    /* The copy must not share memory with the original's arena. */
    mp_arena_free(&a);
    CHECK(strcmp(json(&c, 0), "{\"A\":7,\"b\":[\"x\",null,\"yz\"],\"M\":{\"k\":1.5}}") == 0);
    CHECK(c.u.st.type == st_type());
    /* A kind mismatch deep inside is found and located */
    c.u.st.fields[1].u.items[2] = mp_v_int(3);
    CHECK(mp_value_check(&c, st_type(), &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "$.b[2]: value of kind INTEGER where STRING expected");
    /* DECIMAL beyond its precision, invalid UTF-8 */
    mp_type *dt = NULL;
    mp_type_new_decimal(3, 1, &dt, NULL);
    mp_decimal d = {.unscaled = 1000, .precision = 3, .scale = 1};
    mp_value dv = mp_v_decimal(&d);
    CHECK(mp_value_check(&dv, dt, &e) == MP_EINVAL);
    d.unscaled = -999;
    dv = mp_v_decimal(&d);
    CHECK(mp_value_check(&dv, dt, &e) == 0);
    mp_decimal back = mp_v_get_decimal(&dv);
    CHECK(back.unscaled == -999 && back.scale == 1 && back.precision == 3);
    mp_type_free(dt);
    mp_type *stt = mp_type_new(MP_TYPE_STRING);
    mp_value bad = mp_v_string_ref("a\xff", 2);
    CHECK(mp_value_check(&bad, stt, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "invalid UTF-8 at byte 1");
    mp_value nul = mp_v_null(MP_TYPE_STRING);
    CHECK(mp_value_check(&nul, stt, &e) == 0);
    mp_type_free(stt);
    mp_arena_free(&b);
}

static int sqlcmp(mp_value a, mp_value b)
{
    int c = 99;
    mp_error e;
    int rc = mp_value_compare(&a, &b, &c, &e);
    if (rc == MP_CMP_NULL)
        return 50;
    if (rc)
        return 77;
    return c;
}

static mp_value DEC(const char *text, int p, int s)
{
    mp_decimal d;
    mp_decimal_parse(text, strlen(text), p, s, MP_ROUND_UNNECESSARY, &d, NULL);
    return mp_v_decimal(&d);
}

static mp_value STR(const char *s)
{
    return mp_v_string_ref(s, strlen(s));
}

static mp_value BYT(const char *s, size_t n)
{
    mp_value v = mp_v_string_ref(s, n);
    v.kind = MP_TYPE_BYTES;
    return v;
}

static void test_compare(void)
{
    /* Numbers across kinds, by value */
    CHECK(sqlcmp(mp_v_int(1), mp_v_bigint(1)) == 0);
    CHECK(sqlcmp(mp_v_int(2), DEC("1.50", 3, 2)) == 1);
    CHECK(sqlcmp(DEC("1.50", 3, 2), mp_v_int(2)) == -1);
    CHECK(sqlcmp(DEC("1.50", 3, 2), DEC("1.5", 2, 1)) == 0);
    CHECK(sqlcmp(mp_v_double(1.5), DEC("1.50", 3, 2)) == 0);
    CHECK(sqlcmp(DEC("0.1", 2, 1), mp_v_double(0.1)) == 0); /* via double, as ksqlDB */
    CHECK(sqlcmp(mp_v_double(-0.0), mp_v_double(0.0)) == 0);
    CHECK(sqlcmp(mp_v_double(NAN), mp_v_double(NAN)) == 0);
    CHECK(sqlcmp(mp_v_double(NAN), mp_v_double(1e308)) == 1);
    CHECK(sqlcmp(mp_v_int(5), mp_v_double(NAN)) == -1);
    /* BIGINT against DOUBLE is exact: 2^53 + 1 > (double)2^53 */
    CHECK(sqlcmp(mp_v_bigint(9007199254740993LL), mp_v_double(9007199254740992.0)) == 1);
    CHECK(sqlcmp(mp_v_bigint(INT64_MAX), mp_v_double(9223372036854775808.0)) == -1);
    CHECK(sqlcmp(mp_v_double(2.5), mp_v_int(2)) == 1);
    CHECK(sqlcmp(mp_v_double(-2.5), mp_v_int(-2)) == -1);
    CHECK(sqlcmp(mp_v_int(-3), mp_v_double(-2.5)) == -1);
    /* Strings by UTF-16 code units (Java): U+1F600 (a surrogate pair,
     * 0xD83D...) sorts below U+FF21 although its UTF-8 bytes are higher. */
    CHECK(sqlcmp(STR("a"), STR("b")) == -1);
    CHECK(sqlcmp(STR("abc"), STR("abd")) == -1);
    CHECK(sqlcmp(STR("ab"), STR("abc")) == -1);
    CHECK(sqlcmp(STR("abc"), STR("abc")) == 0);
    CHECK(sqlcmp(STR("x\xF0\x9F\x98\x80"), STR("x\xEF\xBC\xA1")) == -1);
    CHECK(sqlcmp(STR("\xEF\xBC\xA1"), STR("\xF0\x9F\x98\x80")) == 1);
    CHECK(sqlcmp(STR("\xC3\xA9"), STR("\xC3\xA8")) == 1); /* é > è */
    /* BYTES by signed bytes (ByteBuffer.compareTo): 0x80 is -128 */
    CHECK(sqlcmp(BYT("\x80", 1), BYT("\x7f", 1)) == -1);
    CHECK(sqlcmp(BYT("\x01\x02", 2), BYT("\x01", 1)) == 1);
    CHECK(sqlcmp(mp_v_bool(false), mp_v_bool(true)) == -1);
    CHECK(sqlcmp(mp_v_timestamp(5), mp_v_timestamp(4)) == 1);
    CHECK(sqlcmp(mp_v_date(-1), mp_v_date(0)) == -1);
    /* NULL makes the comparison unknown; unrelated kinds are an error */
    CHECK(sqlcmp(mp_v_null(MP_TYPE_INTEGER), mp_v_int(1)) == 50);
    CHECK(sqlcmp(mp_v_int(1), mp_v_null(MP_TYPE_NULL)) == 50);
    CHECK(sqlcmp(mp_v_int(1), STR("1")) == 77);
    CHECK(sqlcmp(mp_v_timestamp(0), mp_v_date(0)) == 77);
    CHECK(sqlcmp(mp_v_bool(true), mp_v_int(1)) == 77);

    /* Total order: NULLs first, then by value; and equality */
    mp_value n = mp_v_null(MP_TYPE_INTEGER), one = mp_v_int(1);
    CHECK(mp_value_cmp(&n, &one) == -1 && mp_value_cmp(&one, &n) == 1);
    CHECK(mp_value_cmp(&n, &n) == 0 && mp_value_equal(&n, &n));
    mp_value s1 = STR("1");
    CHECK(mp_value_cmp(&one, &s1) != 0 && mp_value_cmp(&one, &s1) == -mp_value_cmp(&s1, &one));

    /* Arrays lexicographic, maps by content regardless of order */
    mp_arena a;
    mp_arena_init(&a, 0);
    mp_value x, y, z;
    mp_v_array(&a, 2, NULL, &x);
    x.u.items[0] = mp_v_int(1);
    x.u.items[1] = mp_v_int(2);
    mp_v_array(&a, 2, NULL, &y);
    y.u.items[0] = mp_v_int(1);
    y.u.items[1] = mp_v_int(3);
    mp_v_array(&a, 3, NULL, &z);
    z.u.items[0] = mp_v_int(1);
    z.u.items[1] = mp_v_int(2);
    z.u.items[2] = mp_v_int(0);
    CHECK(mp_value_cmp(&x, &y) == -1);
    CHECK(mp_value_cmp(&x, &z) == -1);
    CHECK(mp_value_cmp(&y, &z) == 1);
    mp_value m1, m2, m3;
    mp_v_map(&a, 2, NULL, NULL, &m1);
    m1.u.items[0] = STR("a");
    m1.u.items[1] = mp_v_int(1);
    m1.u.items[2] = STR("b");
    m1.u.items[3] = mp_v_int(2);
    mp_v_map(&a, 2, NULL, NULL, &m2);
    m2.u.items[0] = STR("b");
    m2.u.items[1] = mp_v_bigint(2);
    m2.u.items[2] = STR("a");
    m2.u.items[3] = mp_v_int(1);
    mp_v_map(&a, 2, NULL, NULL, &m3);
    m3.u.items[0] = STR("a");
    m3.u.items[1] = mp_v_int(1);
    m3.u.items[2] = STR("b");
    m3.u.items[3] = mp_v_int(3);
    CHECK(mp_value_equal(&m1, &m2));
    CHECK(!mp_value_equal(&m1, &m3));
    CHECK(mp_value_hash(&m1) == mp_value_hash(&m2));
    mp_arena_free(&a);
}

static void test_hash_consistency(void)
{
    mp_value vals[] = {
        mp_v_int(1),           mp_v_bigint(1),        DEC("1.00", 3, 2),      mp_v_double(1.0),
        mp_v_int(0),           mp_v_double(-0.0),     mp_v_double(0.0),       DEC("0.0", 2, 1),
        DEC("0.50", 3, 2),     mp_v_double(0.5),      DEC("0.5", 1, 1),       mp_v_double(0.1),
        DEC("0.1", 2, 1),      mp_v_int(-7),          mp_v_bigint(-7),        DEC("-7.000", 4, 3),
        mp_v_double(-7.0),     mp_v_bigint(INT64_MIN), mp_v_double(-9223372036854775808.0),
        mp_v_double(1e20),     DEC("100000000000000000000", 21, 0),           mp_v_double(NAN),
        mp_v_double(INFINITY), mp_v_double(-1.25),    DEC("-1.25", 3, 2),     mp_v_double(3.0e-5),
        DEC("0.00003", 5, 5),  STR("abc"),            STR("abd"),             STR(""),
        BYT("abc", 3),         mp_v_bool(true),       mp_v_bool(false),       mp_v_timestamp(1),
        mp_v_date(1),          mp_v_time(1),          mp_v_null(MP_TYPE_INTEGER),
        mp_v_null(MP_TYPE_STRING), mp_v_int(2),       mp_v_bigint(1LL << 40),
    };
    size_t n = sizeof vals / sizeof vals[0];
    int equal_pairs = 0;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            bool eq = mp_value_equal(&vals[i], &vals[j]);
            uint64_t hi = mp_value_hash(&vals[i]), hj = mp_value_hash(&vals[j]);
            /* The documented gap: DOUBLE 0.1 and DECIMAL 0.1 are equal via
             * double conversion but need not hash alike. */
            bool gap = (i == 11 && j == 12) || (i == 12 && j == 11) || (i == 25 && j == 26) ||
                       (i == 26 && j == 25);
            if (eq && hi != hj && !gap) {
                fprintf(stderr, "equal values %zu and %zu hash differently\n", i, j);
                mp_test_failed_checks++;
            }
            if (eq && i != j)
                equal_pairs++;
            if (!eq && hi == hj) {
                fprintf(stderr, "unequal values %zu and %zu collide\n", i, j);
                mp_test_failed_checks++;
            }
        }
    }
    /* 1 = 1L = 1.00 = 1.0; 0 = -0.0 = 0.0 = 0.0m; 0.50 = 0.5 = 0.5m; 0.1; -7 x4;
     * INT64_MIN x2; 1e20 x2; -1.25 x2; 3e-5 x2; two NULLs */
    CHECK(equal_pairs == 2 * (6 + 6 + 3 + 1 + 6 + 1 + 1 + 1 + 1 + 1));
    /* Keys of several columns */
    mp_value k1[2] = {mp_v_int(1), STR("a")}, k2[2] = {mp_v_bigint(1), STR("a")};
    mp_value k3[2] = {STR("a"), mp_v_int(1)};
    CHECK(mp_values_hash(k1, 2) == mp_values_hash(k2, 2));
    CHECK(mp_values_hash(k1, 2) != mp_values_hash(k3, 2));
}

static void test_format(void)
{
    static const struct {
        double v;
        const char *s;
    } dbl[] = {
        {1.0, "1.0"},
        {-2.5, "-2.5"},
        {0.1, "0.1"},
        {100.5, "100.5"},
        {1234567.0, "1234567.0"},
        {1e7, "1.0E7"},
        {12345678.9, "1.23456789E7"},
        {0.001, "0.001"},
        {0.0001, "1.0E-4"},
        {1.0 / 3.0, "0.3333333333333333"},
        {2.0 / 3.0, "0.6666666666666666"},
        {1e21, "1.0E21"},
        {123456789012345680.0, "1.2345678901234568E17"},
        {5e-324, "4.9E-324"},
        {1.7976931348623157e308, "1.7976931348623157E308"},
        {-0.0, "-0.0"},
        {0.0, "0.0"},
        {NAN, "NaN"},
        {-INFINITY, "-Infinity"},
        {9007199254740993.0, "9.007199254740992E15"},
    };
    for (size_t i = 0; i < sizeof dbl / sizeof dbl[0]; i++) {
        mp_value v = mp_v_double(dbl[i].v);
        if (strcmp(fmt(&v), dbl[i].s) != 0) {
            fprintf(stderr, "double %.17g printed %s, want %s\n", dbl[i].v, fmt(&v), dbl[i].s);
            mp_test_failed_checks++;
        }
    }
    mp_value v = mp_v_int(-42);
    CHECK(strcmp(fmt(&v), "-42") == 0);
    v = mp_v_bigint(INT64_MIN);
    CHECK(strcmp(fmt(&v), "-9223372036854775808") == 0);
    v = mp_v_bool(true);
    CHECK(strcmp(fmt(&v), "true") == 0);
    v = DEC("1.50", 3, 2);
    CHECK(strcmp(fmt(&v), "1.50") == 0);
    v = DEC("-0.05", 3, 2);
    CHECK(strcmp(fmt(&v), "-0.05") == 0);
    v = STR("he said \"hi\"");
    CHECK(strcmp(fmt(&v), "he said \"hi\"") == 0);
    v = BYT("\x00\x01\x02\xff", 4);
    CHECK(strcmp(fmt(&v), "AAEC/w==") == 0);
    v = mp_v_null(MP_TYPE_STRING);
    CHECK(strcmp(fmt(&v), "null") == 0);
    /* ksqlDB's SqlTimeTypes: 1552816800000 is 2019-03-17T10:00:00.000 */
    v = mp_v_timestamp(1552816800000LL);
    CHECK(strcmp(fmt(&v), "2019-03-17T10:00:00.000") == 0);
    v = mp_v_timestamp(-1);
    CHECK(strcmp(fmt(&v), "1969-12-31T23:59:59.999") == 0);
    v = mp_v_timestamp(951782400123LL); /* 2000-02-29 leap day */
    CHECK(strcmp(fmt(&v), "2000-02-29T00:00:00.123") == 0);
    v = mp_v_date(0);
    CHECK(strcmp(fmt(&v), "1970-01-01") == 0);
    v = mp_v_date(10); /* ksqlDB's test: 864000000 ms -> 1970-01-11 */
    CHECK(strcmp(fmt(&v), "1970-01-11") == 0);
    v = mp_v_date(18262);
    CHECK(strcmp(fmt(&v), "2020-01-01") == 0);
    v = mp_v_date(-719528); /* 0000-01-01 */
    CHECK(strcmp(fmt(&v), "0000-01-01") == 0);
    v = mp_v_date(2932897); /* 10000-01-01: ISO adds a sign past 4 digits */
    CHECK(strcmp(fmt(&v), "+10000-01-01") == 0);
    v = mp_v_time(36000000);
    CHECK(strcmp(fmt(&v), "10:00") == 0); /* LocalTime omits zero seconds */
    v = mp_v_time(1005);
    CHECK(strcmp(fmt(&v), "00:00:01") == 0);
    v = mp_v_time(45296789);
    CHECK(strcmp(fmt(&v), "12:34:56") == 0);

    /* JSON forms: times as numbers in records, as text in query output */
    mp_arena a;
    mp_arena_init(&a, 0);
    mp_type *t = NULL;
    mp_type_parse("STRUCT<TS TIMESTAMP, D DOUBLE, S STRING, DT DATE>", &t, NULL);
    mp_value s;
    mp_v_struct(&a, t, &s);
    s.u.st.fields[0] = mp_v_timestamp(1552816800000LL);
    s.u.st.fields[1] = mp_v_double(NAN);
    s.u.st.fields[2] = STR("tab\tq\"\x01\xc3\xa9");
    s.u.st.fields[3] = mp_v_date(1);
    CHECK(strcmp(json(&s, 0),
                 "{\"TS\":1552816800000,\"D\":\"NaN\",\"S\":\"tab\\tq\\\"\\u0001\xc3\xa9\",\"DT\":1}") ==
          0);
    CHECK(strcmp(fmt(&s), "{\"TS\":\"2019-03-17T10:00:00.000\",\"D\":\"NaN\",\"S\":\"tab\\tq\\\"\\u0001"
                          "\xc3\xa9\",\"DT\":\"1970-01-02\"}") == 0);
    mp_type_free(t);
    mp_arena_free(&a);
}

static void test_text_helpers(void)
{
    size_t bad = 99;
    CHECK(mp_utf8_valid("plain ascii text!", 17, &bad));
    CHECK(mp_utf8_valid("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, &bad));
    CHECK(!mp_utf8_valid("ab\xc0\xaf", 4, &bad) && bad == 2);          /* overlong '/' */
    CHECK(!mp_utf8_valid("abcdefgh\xed\xa0\x80", 11, &bad) && bad == 8); /* surrogate */
    CHECK(!mp_utf8_valid("\xf4\x90\x80\x80", 4, &bad) && bad == 0);     /* > U+10FFFF */
    CHECK(!mp_utf8_valid("\xe2\x82", 2, &bad) && bad == 0);             /* truncated */
    CHECK(!mp_utf8_valid("\x80", 1, &bad));
    uint8_t out[16];
    size_t n;
    CHECK(mp_base64_decode("AAEC/w==", 8, out, &n, &bad) == 0 && n == 4 && out[3] == 0xff);
    CHECK(mp_base64_decode("AAEC/w", 6, out, &n, &bad) == 0 && n == 4);
    CHECK(mp_base64_decode("", 0, out, &n, &bad) == 0 && n == 0);
    CHECK(mp_base64_decode("AA=C", 4, out, &n, &bad) == -1);
    CHECK(mp_base64_decode("A", 1, out, &n, &bad) == -1);
    CHECK(mp_base64_decode("AA A", 4, out, &n, &bad) == -1 && bad == 2);
    CHECK(mp_base64_decode("AAE=C", 5, out, &n, &bad) == -1);
    mp_buf b = {0};
    mp_base64_encode("Man", 3, &b);
    mp_base64_encode("Ma", 2, &b);
    mp_base64_encode("M", 1, &b);
    CHECK(b.data && strcmp(b.data, "TWFuTWE=TQ==") == 0);
    mp_buf_free(&b);
}

int main(void)
{
    RUN(test_arena);
    RUN(test_construct_copy_check);
    RUN(test_compare);
    RUN(test_hash_consistency);
    RUN(test_format);
    RUN(test_text_helpers);
    return TEST_SUMMARY();
}
