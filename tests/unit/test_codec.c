/* Record codecs KAFKA, JSON and DELIMITED: every type both ways, NULLs,
 * ksqlDB's matching and coercion rules, and bad records of every kind. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/codec.h"
#include "data/codec_internal.h"
#include "data/sql_text.h"
#include "test.h"

static mp_schema *S(const char *text)
{
    mp_schema *s = NULL;
    mp_error e;
    if (mp_schema_parse(text, &s, &e) != 0) {
        fprintf(stderr, "schema '%s': %s\n", text, e.msg);
        return NULL;
    }
    return s;
}

static mp_codec *C(const mp_schema *s, mp_column_ns ns, mp_format f, char delim, bool unwrapped)
{
    mp_codec_opts o = {.format = f, .delimiter = delim, .unwrapped = unwrapped};
    mp_codec *c = NULL;
    mp_error e;
    if (mp_codec_create(s, ns, &o, &c, &e) != 0) {
        fprintf(stderr, "codec: %s\n", e.msg);
        return NULL;
    }
    return c;
}

/* Decodes text (strlen) and returns the rc; the message goes to e. */
static int dec(const mp_codec *c, const char *text, mp_arena *a, mp_value *row, mp_error *e)
{
    mp_error_clear(e);
    return mp_codec_decode(c, text, strlen(text), a, row, e);
}

/* Encodes row and compares with want (n bytes). */
static bool enc_is_n(const mp_codec *c, const mp_value *row, const char *want, size_t n)
{
    mp_buf b = {0};
    mp_error e;
    int rc = mp_codec_encode(c, row, &b, &e);
    bool ok = rc == 0 && b.len == n && memcmp(b.data ? b.data : "", want, n) == 0;
    if (!ok)
        fprintf(stderr, "encoded (rc %d) '%s', want '%s'\n", rc, b.data ? b.data : "", want);
    mp_buf_free(&b);
    return ok;
}

static bool enc_is(const mp_codec *c, const mp_value *row, const char *want)
{
    return enc_is_n(c, row, want, strlen(want));
}

static bool str_is(const mp_value *v, const char *want)
{
    return !v->null && v->kind == MP_TYPE_STRING && v->len == strlen(want) &&
           memcmp(v->u.str, want, v->len) == 0 && v->u.str[v->len] == '\0';
}

static bool dec_is(const mp_value *v, const char *want)
{
    if (v->null || v->kind != MP_TYPE_DECIMAL)
        return false;
    mp_decimal d = mp_v_get_decimal(v);
    char buf[MP_DECIMAL_STR_MAX];
    mp_decimal_format(&d, buf);
    return strcmp(buf, want) == 0;
}

/* ---------------------------------------------------------------- KAFKA */

static void test_kafka(void)
{
    mp_schema *s = S("K INT KEY, V BIGINT, D DOUBLE, S STRING");
    REQUIRE(s);
    mp_error e;
    mp_codec *c = NULL;
    mp_codec_opts o = {.format = MP_FORMAT_KAFKA};
    /* Several value columns cannot be KAFKA */
    CHECK(mp_codec_create(s, MP_COL_VALUE, &o, &c, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "KAFKA supports exactly one column, the schema has 3");
    mp_codec *k = C(s, MP_COL_KEY, MP_FORMAT_KAFKA, 0, false);
    REQUIRE(k);
    mp_arena a;
    mp_arena_init(&a, 0);
    mp_value row[4];
    CHECK(mp_codec_decode(k, "\x00\x00\x00\x01", 4, &a, row, &e) == 0);
    CHECK(row[0].kind == MP_TYPE_INTEGER && row[0].u.i32 == 1);
    CHECK(mp_codec_decode(k, "\xff\xff\xff\xfe", 4, &a, row, &e) == 0 && row[0].u.i32 == -2);
    CHECK(mp_codec_decode(k, "\x80\x00\x00\x00", 4, &a, row, &e) == 0 &&
          row[0].u.i32 == INT32_MIN);
    CHECK(mp_codec_decode(k, "\x00\x01\x02", 3, &a, row, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "column `K`: a KAFKA INTEGER must be 4 bytes, got 3");
    CHECK(mp_codec_decode(k, "", 0, &a, row, &e) == MP_EINPUT);
    CHECK(mp_codec_decode(k, NULL, 0, &a, row, &e) == MP_CODEC_NULL && row[0].null);
    row[0] = mp_v_int(-2);
    CHECK(enc_is_n(k, row, "\xff\xff\xff\xfe", 4));
    CHECK(!mp_codec_encode_is_null(k, row));
    row[0] = mp_v_null(MP_TYPE_INTEGER);
    CHECK(mp_codec_encode_is_null(k, row));
    mp_codec_destroy(k);
    mp_schema_destroy(s);

    /* BIGINT, DOUBLE, STRING, BYTES values */
    const char *schemas[] = {"V BIGINT", "V DOUBLE", "V STRING", "V BYTES"};
    for (int i = 0; i < 4; i++) {
        s = S(schemas[i]);
        mp_codec *v = C(s, MP_COL_VALUE, MP_FORMAT_KAFKA, 0, false);
        REQUIRE(v);
        mp_value r[1];
        if (i == 0) {
            CHECK(mp_codec_decode(v, "\x01\x02\x03\x04\x05\x06\x07\x08", 8, &a, r, &e) == 0 &&
                  r[0].u.i64 == 0x0102030405060708LL);
            r[0] = mp_v_bigint(-1);
            CHECK(enc_is_n(v, r, "\xff\xff\xff\xff\xff\xff\xff\xff", 8));
            CHECK(mp_codec_decode(v, "\x01\x02\x03\x04", 4, &a, r, &e) == MP_EINPUT);
            CHECK_STR_CONTAINS(e.msg, "a KAFKA BIGINT must be 8 bytes, got 4");
        } else if (i == 1) {
            /* 1.5 = 0x3FF8000000000000 */
            CHECK(mp_codec_decode(v, "\x3f\xf8\x00\x00\x00\x00\x00\x00", 8, &a, r, &e) == 0 &&
                  r[0].u.f64 == 1.5);
            r[0] = mp_v_double(-2.0);
            CHECK(enc_is_n(v, r, "\xc0\x00\x00\x00\x00\x00\x00\x00", 8));
        } else if (i == 2) {
            CHECK(mp_codec_decode(v, "h\xc3\xa9llo", 6, &a, r, &e) == 0 && str_is(&r[0], "h\xc3\xa9llo"));
            CHECK(mp_codec_decode(v, "", 0, &a, r, &e) == 0 && str_is(&r[0], ""));
            CHECK(mp_codec_decode(v, "ab\xff", 3, &a, r, &e) == MP_EINPUT);
            CHECK_STR_CONTAINS(e.msg, "column `V`: invalid UTF-8 at byte 2");
            CHECK(enc_is(v, (mp_value[]){mp_v_string_ref("x,y", 3)}, "x,y"));
        } else {
            CHECK(mp_codec_decode(v, "\x00\xff\x00", 3, &a, r, &e) == 0 &&
                  r[0].kind == MP_TYPE_BYTES && r[0].len == 3 && r[0].u.bytes[1] == 0xff);
            CHECK(enc_is_n(v, r, "\x00\xff\x00", 3));
        }
        mp_codec_destroy(v);
        mp_schema_destroy(s);
    }
    /* Types KAFKA cannot carry */
    const char *bad[] = {"V DECIMAL(4, 2)", "V BOOLEAN", "V ARRAY<INT>", "V TIMESTAMP"};
    for (int i = 0; i < 4; i++) {
        s = S(bad[i]);
        CHECK(mp_codec_create(s, MP_COL_VALUE, &o, &c, &e) == MP_EINVAL && c == NULL);
        CHECK_STR_CONTAINS(e.msg, "KAFKA supports INTEGER, BIGINT, DOUBLE, STRING and BYTES");
        mp_schema_destroy(s);
    }
    mp_arena_free(&a);
}

/* ------------------------------------------------------------ DELIMITED */

#define DELIM_SCHEMA                                                                             \
    "ID BIGINT KEY, B BOOLEAN, I INT, L BIGINT, D DOUBLE, DEC DECIMAL(5, 2), S STRING, "         \
    "BY BYTES, TS TIMESTAMP, DT DATE, TM TIME"

static void test_delimited_roundtrip(void)
{
    mp_schema *s = S(DELIM_SCHEMA);
    REQUIRE(s);
    mp_codec *c = C(s, MP_COL_VALUE, MP_FORMAT_DELIMITED, 0, false);
    REQUIRE(c);
    CHECK(mp_codec_ncols(c) == 10 && mp_codec_column(c, 0) == 1);
    mp_arena a;
    mp_arena_init(&a, 0);
    mp_value row[11];
    mp_error e;
    row[0] = mp_v_bigint(99); /* the key column: the value codec leaves it alone */
    const char *rec = "TRUE,-7,9000000000,1.5,-1.5,hello,AAEC/w==,1552816800000,18262,36000000";
    REQUIRE(dec(c, rec, &a, row, &e) == 0);
    CHECK(row[0].u.i64 == 99);
    CHECK(row[1].kind == MP_TYPE_BOOLEAN && row[1].u.b);
    CHECK(row[2].kind == MP_TYPE_INTEGER && row[2].u.i32 == -7);
    CHECK(row[3].kind == MP_TYPE_BIGINT && row[3].u.i64 == 9000000000LL);
    CHECK(row[4].kind == MP_TYPE_DOUBLE && row[4].u.f64 == 1.5);
    CHECK(dec_is(&row[5], "-1.50"));
    CHECK(str_is(&row[6], "hello"));
    CHECK(row[7].kind == MP_TYPE_BYTES && row[7].len == 4 && row[7].u.bytes[3] == 0xff);
    CHECK(row[8].kind == MP_TYPE_TIMESTAMP && row[8].u.i64 == 1552816800000LL);
    CHECK(row[9].kind == MP_TYPE_DATE && row[9].u.i32 == 18262);
    CHECK(row[10].kind == MP_TYPE_TIME && row[10].u.i32 == 36000000);
    /* Written back as ksqlDB writes it: Java doubles, plain decimals */
    CHECK(enc_is(c, row,
                 "true,-7,9000000000,1.5,-1.50,hello,AAEC/w==,1552816800000,18262,36000000"));

    /* Empty fields are NULL, both ways; quoted empties too */
    REQUIRE(dec(c, ",,,,,,,,,", &a, row, &e) == 0);
    for (int i = 1; i <= 10; i++)
        CHECK(row[i].null && row[i].kind == s->cols[i].type->kind);
    CHECK(enc_is(c, row, ",,,,,,,,,"));
    REQUIRE(dec(c, "\"\",,,,,\"\",,,,", &a, row, &e) == 0);
    CHECK(row[1].null && row[6].null);

    /* Quoting: delimiter, quotes, line breaks, edge spaces, '#' */
    REQUIRE(dec(c, ",,,,,\"a,\"\"b\"\"\r\nc\",,,,", &a, row, &e) == 0);
    CHECK(str_is(&row[6], "a,\"b\"\r\nc"));
    CHECK(enc_is(c, row, ",,,,,\"a,\"\"b\"\"\r\nc\",,,,"));
    row[6] = mp_v_string_ref(" lead", 5);
    CHECK(enc_is(c, row, ",,,,,\" lead\",,,,"));
    row[6] = mp_v_string_ref("trail ", 6);
    CHECK(enc_is(c, row, ",,,,,\"trail \",,,,"));
    row[6] = mp_v_string_ref("#x", 2);
    CHECK(enc_is(c, row, ",,,,,\"#x\",,,,"));
    row[6] = mp_v_string_ref("in\"side", 7); /* a quote in the middle is quoted too */
    CHECK(enc_is(c, row, ",,,,,\"in\"\"side\",,,,"));
    row[6] = mp_v_string_ref("", 0); /* reads back as NULL, as in ksqlDB */
    CHECK(enc_is(c, row, ",,,,,,,,,"));
    /* An unquoted quote mid-field is literal (Commons CSV) */
    REQUIRE(dec(c, ",,,,,a\"b,,,,", &a, row, &e) == 0);
    CHECK(str_is(&row[6], "a\"b"));
    /* A trailing line break is tolerated */
    REQUIRE(dec(c, ",5,,,,,,,,\r\n", &a, row, &e) == 0);
    CHECK(row[2].u.i32 == 5 && row[10].null);
    REQUIRE(dec(c, ",5,,,,,,,,\n", &a, row, &e) == 0);
    /* Special doubles as Java writes and reads them */
    REQUIRE(dec(c, ",,,NaN,,,,,,", &a, row, &e) == 0);
    CHECK(isnan(row[4].u.f64));
    row[4] = mp_v_double(1e7);
    CHECK(enc_is(c, row, ",,,1.0E7,,,,,,"));
    REQUIRE(dec(c, ",,,-Infinity,,,,,,", &a, row, &e) == 0);
    CHECK(isinf(row[4].u.f64) && row[4].u.f64 < 0);
    CHECK(enc_is(c, row, ",,,-Infinity,,,,,,"));
    mp_codec_destroy(c);
    mp_arena_free(&a);
    mp_schema_destroy(s);
}

static void test_delimited_errors(void)
{
    mp_schema *s = S(DELIM_SCHEMA);
    mp_codec *c = C(s, MP_COL_VALUE, MP_FORMAT_DELIMITED, 0, false);
    REQUIRE(c);
    mp_arena a;
    mp_arena_init(&a, 0);
    mp_value row[11];
    mp_error e;
    static const struct {
        const char *rec, *msg;
    } bad[] = {
        {"1,2", "wrong number of fields: expected 10 columns, got 2"},
        {",,,,,,,,,,", "expected 10 columns, got 11"},
        {"", "empty record"},
        {"\n", "empty record"},
        {"true,abc,,,,,,,,", "column `I` (field 2): expected an INTEGER, got 'abc'"},
        {"true,2147483648,,,,,,,,", "column `I` (field 2): out of range for INTEGER, got '2147483648'"},
        {",-2147483649,,,,,,,,", "out of range for INTEGER"},
        {", 1,,,,,,,,", "column `I` (field 2): expected an INTEGER, got ' 1'"},
        {",1.0,,,,,,,,", "expected an INTEGER, got '1.0'"},
        {",+,,,,,,,,", "expected an INTEGER"},
        {",,9223372036854775808,,,,,,,", "column `L` (field 3): out of range for BIGINT"},
        {"yes,,,,,,,,,", "column `B` (field 1): expected BOOLEAN (true or false), got 'yes'"},
        {",,,1.5x,,,,,,", "column `D` (field 4): expected a DOUBLE, got '1.5x'"},
        {",,,0x10,,,,,,", "expected a DOUBLE"},
        {",,,,1.234,,,,,", "column `DEC` (field 5): cannot fit 1.234 into DECIMAL(5, 2) without rounding"},
        {",,,,1234,,,,,", "column `DEC` (field 5): numeric overflow: 1234 does not fit DECIMAL(5, 2)"},
        {",,,,,,!!,,,", "column `BY` (field 7): invalid base64 at offset 0"},
        {",,,,,,,12:00,,", "column `TS` (field 8): expected a TIMESTAMP as milliseconds since the epoch"},
        {",,,,,,,,2020-01-01,", "column `DT` (field 9): expected a DATE as days since 1970-01-01"},
        {",,,,,a\xff,,,,", "column `S` (field 6): invalid UTF-8 at byte 1 of the field"},
        {",,,,,\"abc,,,,", "field 6: unterminated quoted field starting at byte 5"},
        {",,,,,\"a\"b,,,,", "field 6: unexpected character after the closing quote at byte 8"},
        {",,,,,a\nb,,,,", "field 6: line break at byte 6 outside quotes"},
        {"\n,,,,,,,,,", "field 1: line break at byte 0 outside quotes"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = dec(c, bad[i].rec, &a, row, &e);
        if (rc != MP_EINPUT || !strstr(e.msg, bad[i].msg)) {
            fprintf(stderr, "record %zu '%s': rc %d '%s', want '%s'\n", i, bad[i].rec, rc, e.msg,
                    bad[i].msg);
            mp_test_failed_checks++;
        }
    }
    /* Every prefix and every truncation of a valid record is handled (ASan
     * watches for reads past the end) */
    const char *good = "true,1,2,1.5,1.25,\"q\"\"x\",AAEC,1,2,3";
    char buf[64];
    for (size_t n = 0; n <= strlen(good); n++) {
        memcpy(buf, good, n);
        int rc = mp_codec_decode(c, buf, n, &a, row, &e);
        CHECK(rc == 0 || rc == MP_EINPUT);
        CHECK(rc == 0 ? n == strlen(good) || n >= 33 : strlen(e.msg) > 0);
    }
    mp_codec_destroy(c);

    /* Compound types cannot be DELIMITED */
    mp_schema *s2 = S("A INT, B ARRAY<INT>");
    mp_codec_opts o = {.format = MP_FORMAT_DELIMITED};
    mp_codec *c2 = NULL;
    CHECK(mp_codec_create(s2, MP_COL_VALUE, &o, &c2, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "column `B`: DELIMITED does not support ARRAY<INTEGER>");
    mp_schema_destroy(s2);
    mp_schema_destroy(s);
    mp_arena_free(&a);
}

static void test_delimiters(void)
{
    char d = 0;
    mp_error e;
    CHECK(mp_delimiter_parse("TAB", &d, &e) == 0 && d == '\t');
    CHECK(mp_delimiter_parse("space", &d, &e) == 0 && d == ' ');
    CHECK(mp_delimiter_parse("|", &d, &e) == 0 && d == '|');
    CHECK(mp_delimiter_parse("ab", &d, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "use a single character, or TAB or SPACE");
    CHECK(mp_delimiter_parse(" ", &d, &e) == MP_EINVAL);
    CHECK(mp_delimiter_parse("\t", &d, &e) == MP_EINVAL);
    CHECK(mp_delimiter_parse("\"", &d, &e) == MP_EINVAL);
    CHECK(mp_delimiter_parse("", &d, &e) == MP_EINVAL);

    mp_schema *s = S("A STRING, B INT, C STRING");
    mp_arena a;
    mp_arena_init(&a, 0);
    mp_value row[3];
    mp_codec *tab = C(s, MP_COL_VALUE, MP_FORMAT_DELIMITED, '\t', false);
    REQUIRE(tab);
    REQUIRE(dec(tab, "x,y\t12\t", &a, row, &e) == 0);
    CHECK(str_is(&row[0], "x,y") && row[1].u.i32 == 12 && row[2].null);
    CHECK(enc_is(tab, row, "x,y\t12\t"));
    row[2] = mp_v_string_ref("a\tb", 3);
    CHECK(enc_is(tab, row, "x,y\t12\t\"a\tb\""));
    mp_codec_destroy(tab);
    mp_codec *sp = C(s, MP_COL_VALUE, MP_FORMAT_DELIMITED, ' ', false);
    REQUIRE(sp);
    REQUIRE(dec(sp, "\"a b\" 3 c", &a, row, &e) == 0);
    CHECK(str_is(&row[0], "a b") && row[1].u.i32 == 3 && str_is(&row[2], "c"));
    CHECK(enc_is(sp, row, "\"a b\" 3 c"));
    CHECK(dec(sp, "a  3 c", &a, row, &e) == MP_EINPUT); /* two spaces: 4 fields */
    mp_codec_destroy(sp);
    mp_codec *pipe = C(s, MP_COL_VALUE, MP_FORMAT_DELIMITED, '|', false);
    REQUIRE(dec(pipe, "a,b|1|", &a, row, &e) == 0 && str_is(&row[0], "a,b"));
    mp_codec_destroy(pipe);
    /* No key columns: an empty key is fine, anything else is not */
    mp_codec *nokey = C(s, MP_COL_KEY, MP_FORMAT_DELIMITED, 0, false);
    CHECK(dec(nokey, "", &a, row, &e) == 0);
    CHECK(dec(nokey, "x", &a, row, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "expected 0 columns, got 1");
    CHECK(enc_is(nokey, row, ""));
    mp_codec_destroy(nokey);
    mp_schema_destroy(s);
    mp_arena_free(&a);
}

/* ----------------------------------------------------------------- JSON */

#define JSON_SCHEMA                                                                             \
    "ID BIGINT KEY, B BOOLEAN, I INT, L BIGINT, D DOUBLE, DEC DECIMAL(5, 2), S STRING, "        \
    "BY BYTES, TS TIMESTAMP, DT DATE, TM TIME, ARR ARRAY<INT>, M MAP<STRING, DOUBLE>, "         \
    "ST STRUCT<A INT, `b` STRING, N STRUCT<X ARRAY<STRING>>>"

static void test_json_roundtrip(void)
{
    mp_schema *s = S(JSON_SCHEMA);
    REQUIRE(s);
    mp_codec *c = C(s, MP_COL_VALUE, MP_FORMAT_JSON, 0, false);
    REQUIRE(c);
    mp_arena a;
    mp_arena_init(&a, 0);
    mp_value row[14];
    mp_error e;
    const char *rec =
        " {\"b\": true, \"I\": -7, \"l\": 9000000000, \"D\": 1.5e2, \"dec\": 123.45,\n"
        "  \"S\": \"h\\u00e9\\ud83d\\ude00\\n\\\"q\\\"\", \"BY\": \"AAEC/w==\", \"Ts\": "
        "1552816800000,\n  \"DT\": 18262, \"TM\": 36000000, \"ARR\": [1, null, -3],\n"
        "  \"M\": {\"x\": 0.5, \"y\": null}, \"extra\": {\"deep\": [1, {\"z\": null}]},\n"
        "  \"st\": {\"a\": 5, \"b\": \"lower\", \"N\": {\"x\": [\"p\", null]}}} ";
    REQUIRE(dec(c, rec, &a, row, &e) == 0);
    CHECK(row[1].u.b == true);
    CHECK(row[2].kind == MP_TYPE_INTEGER && row[2].u.i32 == -7);
    CHECK(row[3].u.i64 == 9000000000LL);
    CHECK(row[4].u.f64 == 150.0);
    CHECK(dec_is(&row[5], "123.45"));
    CHECK(str_is(&row[6], "h\xc3\xa9\xf0\x9f\x98\x80\n\"q\""));
    CHECK(row[7].len == 4 && row[7].u.bytes[0] == 0 && row[7].u.bytes[3] == 0xff);
    CHECK(row[8].u.i64 == 1552816800000LL);
    CHECK(row[9].u.i32 == 18262 && row[10].u.i32 == 36000000);
    REQUIRE(row[11].kind == MP_TYPE_ARRAY && row[11].len == 3);
    CHECK(row[11].u.items[0].u.i32 == 1 && row[11].u.items[1].null &&
          row[11].u.items[1].kind == MP_TYPE_INTEGER && row[11].u.items[2].u.i32 == -3);
    REQUIRE(row[12].kind == MP_TYPE_MAP && row[12].len == 2);
    CHECK(str_is(&row[12].u.items[0], "x") && row[12].u.items[1].u.f64 == 0.5);
    CHECK(str_is(&row[12].u.items[2], "y") && row[12].u.items[3].null);
    /* Struct fields match like columns: "a" finds A, "b" finds `b` exactly */
    const mp_value *st = &row[13];
    REQUIRE(st->kind == MP_TYPE_STRUCT && st->len == 3);
    CHECK(st->u.st.fields[0].u.i32 == 5);
    CHECK(str_is(&st->u.st.fields[1], "lower"));
    const mp_value *n = &st->u.st.fields[2];
    REQUIRE(n->kind == MP_TYPE_STRUCT && n->u.st.fields[0].len == 2);
    CHECK(str_is(&n->u.st.fields[0].u.items[0], "p") && n->u.st.fields[0].u.items[1].null);
    mp_value check_row = row[13];
    CHECK(mp_value_check(&check_row, s->cols[13].type, &e) == 0);

    const char *want =
        "{\"B\":true,\"I\":-7,\"L\":9000000000,\"D\":150.0,\"DEC\":123.45,"
        "\"S\":\"h\xc3\xa9\xf0\x9f\x98\x80\\n\\\"q\\\"\",\"BY\":\"AAEC/w==\",\"TS\":1552816800000,"
        "\"DT\":18262,\"TM\":36000000,\"ARR\":[1,null,-3],\"M\":{\"x\":0.5,\"y\":null},"
        "\"ST\":{\"A\":5,\"b\":\"lower\",\"N\":{\"X\":[\"p\",null]}}}";
    CHECK(enc_is(c, row, want));
    /* ...and the encoding decodes to equal values */
    mp_value row2[14];
    REQUIRE(dec(c, want, &a, row2, &e) == 0);
    for (int i = 1; i < 14; i++)
        CHECK(mp_value_equal(&row[i], &row2[i]));

    /* Missing fields are NULL; NULLs encode as null */
    REQUIRE(dec(c, "{}", &a, row, &e) == 0);
    for (int i = 1; i < 14; i++)
        CHECK(row[i].null);
    CHECK(enc_is(c, row,
                 "{\"B\":null,\"I\":null,\"L\":null,\"D\":null,\"DEC\":null,\"S\":null,\"BY\":null,"
                 "\"TS\":null,\"DT\":null,\"TM\":null,\"ARR\":null,\"M\":null,\"ST\":null}"));
    REQUIRE(dec(c, "{\"I\":null,\"ST\":{}}", &a, row, &e) == 0);
    CHECK(row[2].null && !row[13].null && row[13].u.st.fields[0].null);
    /* The literal null is a null record */
    CHECK(dec(c, " null ", &a, row, &e) == MP_CODEC_NULL && row[2].null);
    CHECK(mp_codec_decode(c, NULL, 0, &a, row, &e) == MP_CODEC_NULL);
    /* JSON_SR framing (magic 0 + schema id) and a BOM are skipped */
    CHECK(mp_codec_decode(c, "\0\0\0\0\7{\"I\":3}", 12, &a, row, &e) == 0 && row[2].u.i32 == 3);
    CHECK(dec(c, "\xef\xbb\xbf{\"I\":4}", &a, row, &e) == 0 && row[2].u.i32 == 4);
    mp_codec_destroy(c);
    mp_arena_free(&a);
    mp_schema_destroy(s);
}

static void test_json_coercions(void)
{
    mp_schema *s = S("I INT, L BIGINT, D DOUBLE, DEC DECIMAL(5, 2), S STRING, TS TIMESTAMP");
    mp_codec *c = C(s, MP_COL_VALUE, MP_FORMAT_JSON, 0, false);
    REQUIRE(c);
    mp_arena a;
    mp_arena_init(&a, 0);
    mp_value row[6];
    mp_error e;
    /* Numbers in strings, as ksqlDB's JSON deserializer accepts them */
    REQUIRE(dec(c, "{\"I\":\"49\",\"L\":\"-9223372036854775808\",\"D\":\" 2.5 \",\"DEC\":\"1.5\","
                   "\"TS\":\"1000\"}",
                   &a, row, &e) == 0);
    CHECK(row[0].u.i32 == 49 && row[1].u.i64 == INT64_MIN && row[2].u.f64 == 2.5);
    CHECK(dec_is(&row[3], "1.50") && row[5].u.i64 == 1000);
    /* Exact integers written as decimals are fine; escapes in numeric text too */
    REQUIRE(dec(c, "{\"I\":1.0,\"L\":1e2,\"D\":\"NaN\",\"DEC\":-0.5e1,\"TS\":\"\\u0031\"}", &a, row,
                &e) == 0);
    CHECK(row[0].u.i32 == 1 && row[1].u.i64 == 100 && isnan(row[2].u.f64));
    CHECK(dec_is(&row[3], "-5.00") && row[5].u.i64 == 1);
    /* Big and precise doubles */
    REQUIRE(dec(c, "{\"D\":1.7976931348623157e308}", &a, row, &e) == 0);
    CHECK(row[2].u.f64 == 1.7976931348623157e308);
    REQUIRE(dec(c, "{\"D\":0.30000000000000004441}", &a, row, &e) == 0);
    CHECK(row[2].u.f64 == 0.30000000000000004);
    REQUIRE(dec(c, "{\"D\":123456789012345678901234567890}", &a, row, &e) == 0);
    CHECK(row[2].u.f64 == 1.2345678901234568e29);
    REQUIRE(dec(c, "{\"D\":-0.0000000000000000000000001}", &a, row, &e) == 0);
    CHECK(row[2].u.f64 == -1e-25);
    REQUIRE(dec(c, "{\"D\":1e400}", &a, row, &e) == 0);
    CHECK(isinf(row[2].u.f64));
    /* STRING takes any JSON value as text (ksqlDB's processString) */
    static const struct {
        const char *json, *text;
    } str[] = {
        {"{\"S\":12.50}", "12.50"},
        {"{\"S\":-1e3}", "-1e3"},
        {"{\"S\":true}", "true"},
        {"{\"S\":false}", "false"},
        {"{\"S\":{ \"a\" : [1, 2], \"b\" : \"x y\" }}", "{\"a\":[1,2],\"b\":\"x y\"}"},
        {"{\"S\":[\"a\", 1, null, [true, \"b\"], {\"k\": 2}]}", "[a, 1, null, [true, b], {\"k\":2}]"},
        {"{\"S\":[]}", "[]"},
        {"{\"S\":\"\"}", ""},
    };
    for (size_t i = 0; i < sizeof str / sizeof str[0]; i++) {
        int rc = dec(c, str[i].json, &a, row, &e);
        if (rc || !str_is(&row[4], str[i].text)) {
            fprintf(stderr, "%s -> rc %d '%s', want '%s'\n", str[i].json, rc,
                    row[4].null ? "(null)" : row[4].u.str, str[i].text);
            mp_test_failed_checks++;
        }
    }
    /* Case-insensitive keys: an exact match wins, else the first key whose
     * upper case is the column name */
    REQUIRE(dec(c, "{\"i\":1,\"I\":2,\"l\":3,\"L\":4}", &a, row, &e) == 0);
    CHECK(row[0].u.i32 == 2 && row[1].u.i64 == 4);
    REQUIRE(dec(c, "{\"I\":2,\"i\":1}", &a, row, &e) == 0);
    CHECK(row[0].u.i32 == 2);
    REQUIRE(dec(c, "{\"i\":1,\"i\":5}", &a, row, &e) == 0);
    CHECK(row[0].u.i32 == 1);
    REQUIRE(dec(c, "{\"I\":1,\"I\":5}", &a, row, &e) == 0); /* duplicate: the last, as Jackson */
    CHECK(row[0].u.i32 == 5);
    mp_codec_destroy(c);
    mp_schema_destroy(s);

    /* A quoted lower-case column matches only exactly; a key can feed both
     * `col` (exactly) and COL (upper-cased), each with its own type */
    s = S("`col` INT, COL STRING");
    c = C(s, MP_COL_VALUE, MP_FORMAT_JSON, 0, false);
    REQUIRE(c);
    REQUIRE(dec(c, "{\"col\": 5}", &a, row, &e) == 0);
    CHECK(row[0].u.i32 == 5 && str_is(&row[1], "5"));
    REQUIRE(dec(c, "{\"COL\": \"x\", \"Col\": 7}", &a, row, &e) == 0);
    CHECK(row[0].null && str_is(&row[1], "x"));
    mp_codec_destroy(c);
    mp_schema_destroy(s);

    /* Map keys: duplicates keep the last value, order of survivors kept */
    s = S("M MAP<STRING, INT>");
    c = C(s, MP_COL_VALUE, MP_FORMAT_JSON, 0, false);
    REQUIRE(dec(c, "{\"M\":{\"a\":1,\"b\":2,\"a\":3,\"c\\u0041\":4}}", &a, row, &e) == 0);
    REQUIRE(row[0].len == 3);
    CHECK(str_is(&row[0].u.items[0], "b") && row[0].u.items[1].u.i32 == 2);
    CHECK(str_is(&row[0].u.items[2], "a") && row[0].u.items[3].u.i32 == 3);
    CHECK(str_is(&row[0].u.items[4], "cA") && row[0].u.items[5].u.i32 == 4);
    mp_codec_destroy(c);
    mp_schema_destroy(s);

    /* A wide schema uses the hash index; keys in any order */
    mp_buf sb = {0}, jb = {0};
    mp_buf_putc(&jb, '{');
    for (int i = 0; i < 100; i++) {
        mp_buf_printf(&sb, "%sC%d INT", i ? ", " : "", i);
        mp_buf_printf(&jb, "%s\"c%d\":%d", i ? "," : "", 99 - i, 99 - i);
    }
    mp_buf_putc(&jb, '}');
    s = S(sb.data);
    c = C(s, MP_COL_VALUE, MP_FORMAT_JSON, 0, false);
    mp_value wide[100];
    REQUIRE(dec(c, jb.data, &a, wide, &e) == 0);
    for (int i = 0; i < 100; i++)
        CHECK(wide[i].u.i32 == i);
    mp_codec_destroy(c);
    mp_schema_destroy(s);
    mp_buf_free(&sb);
    mp_buf_free(&jb);
    mp_arena_free(&a);
}

static void test_json_unwrapped(void)
{
    mp_schema *s = S("K STRING KEY, V INT");
    mp_codec *v = C(s, MP_COL_VALUE, MP_FORMAT_JSON, 0, true);
    mp_codec *k = C(s, MP_COL_KEY, MP_FORMAT_JSON, 0, true);
    mp_codec *w = C(s, MP_COL_VALUE, MP_FORMAT_JSON, 0, false);
    REQUIRE(v && k && w);
    mp_arena a;
    mp_arena_init(&a, 0);
    mp_value row[2];
    mp_error e;
    CHECK(dec(v, "10", &a, row, &e) == 0 && row[1].u.i32 == 10);
    CHECK(enc_is(v, row, "10"));
    CHECK(dec(v, "null", &a, row, &e) == 0 && row[1].null);
    CHECK(mp_codec_encode_is_null(v, row));
    CHECK(dec(v, "{\"V\":10}", &a, row, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "column `V` ($): expected INTEGER, got an object");
    CHECK(dec(k, "\"abc\"", &a, row, &e) == 0 && str_is(&row[0], "abc"));
    CHECK(enc_is(k, row, "\"abc\""));
    /* Wrapped (the default) single column wants an object */
    CHECK(dec(w, "10", &a, row, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "expected a JSON object holding the 1 column, got a number");
    CHECK(dec(w, "{\"v\":11}", &a, row, &e) == 0 && row[1].u.i32 == 11);
    CHECK(enc_is(w, row, "{\"V\":11}"));
    mp_codec_destroy(v);
    mp_codec_destroy(k);
    mp_codec_destroy(w);
    mp_schema_destroy(s);
    /* Unwrapping needs exactly one column */
    s = S("A INT, B INT");
    mp_codec_opts o = {.format = MP_FORMAT_JSON, .unwrapped = true};
    mp_codec *c = NULL;
    CHECK(mp_codec_create(s, MP_COL_VALUE, &o, &c, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "an unwrapped value needs exactly one column, the schema has 2");
    /* NONE carries no columns */
    o = (mp_codec_opts){.format = MP_FORMAT_NONE};
    CHECK(mp_codec_create(s, MP_COL_VALUE, &o, &c, &e) == MP_EINVAL);
    CHECK(mp_codec_create(s, MP_COL_KEY, &o, &c, &e) == 0);
    mp_value r2[2] = {mp_v_int(1), mp_v_int(2)};
    CHECK(mp_codec_decode(c, "junk", 4, &a, r2, &e) == 0 && r2[0].u.i32 == 1);
    CHECK(mp_codec_encode_is_null(c, r2));
    mp_codec_destroy(c);
    mp_schema_destroy(s);
    /* JSON maps need STRING keys */
    s = S("M MAP<INT, STRING>");
    o = (mp_codec_opts){.format = MP_FORMAT_JSON};
    CHECK(mp_codec_create(s, MP_COL_VALUE, &o, &c, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "JSON supports only MAPs with STRING keys, not MAP<INTEGER, STRING>");
    mp_schema_destroy(s);
    /* ... except on the engine's own topics, where aggregate states keep
     * maps keyed by offsets: keys travel as their text and come back typed. */
    s = S("M MAP<BIGINT, STRING>, N MAP<DOUBLE, INT>, B MAP<BOOLEAN, INT>");
    o = (mp_codec_opts){.format = MP_FORMAT_JSON, .internal = true};
    REQUIRE(mp_codec_create(s, MP_COL_VALUE, &o, &c, &e) == 0);
    mp_value m3[3];
    const char *in = "{\"M\":{\"-5\":\"x\",\"12\":\"y\"},\"N\":{\"1.5\":2},\"B\":{\"true\":1}}";
    REQUIRE(mp_codec_decode(c, in, strlen(in), &a, m3, &e) == 0);
    CHECK(m3[0].len == 2 && m3[0].u.items[0].kind == MP_TYPE_BIGINT && m3[0].u.items[0].u.i64 == -5);
    CHECK(m3[1].u.items[0].kind == MP_TYPE_DOUBLE && m3[1].u.items[0].u.f64 == 1.5);
    CHECK(m3[2].u.items[0].kind == MP_TYPE_BOOLEAN && m3[2].u.items[0].u.b);
    CHECK(enc_is(c, m3, in));
    /* A key that is not its type's text is an error naming the column. */
    const char *bad = "{\"M\":{\"12x\":\"y\"}}";
    CHECK(mp_codec_decode(c, bad, strlen(bad), &a, m3, &e) < 0);
    CHECK_STR_CONTAINS(e.msg, "map key '12x' is not a BIGINT");
    mp_codec_destroy(c);
    mp_schema_destroy(s);
    mp_format f;
    CHECK(mp_format_parse("json", &f, &e) == 0 && f == MP_FORMAT_JSON);
    CHECK(mp_format_parse("avro", &f, &e) == MP_EINVAL);
    mp_arena_free(&a);
}

static void test_json_bad_values(void)
{
    mp_schema *s = S(JSON_SCHEMA);
    mp_codec *c = C(s, MP_COL_VALUE, MP_FORMAT_JSON, 0, false);
    REQUIRE(c);
    mp_arena a;
    mp_arena_init(&a, 0);
    mp_value row[14];
    mp_error e;
    static const struct {
        const char *rec, *msg;
    } bad[] = {
        {"{\"I\":\"abc\"}", "column `I` ($.I): cannot convert string \"abc\" to INTEGER"},
        {"{\"i\":1.5}", "column `I` ($.I): 1.5 is not an integer (INTEGER)"},
        {"{\"I\":3000000000}", "column `I` ($.I): 3000000000 is out of range for INTEGER"},
        {"{\"I\":-2147483649}", "out of range for INTEGER"},
        {"{\"L\":9223372036854775808}", "column `L` ($.L): 9223372036854775808 is out of range for BIGINT"},
        {"{\"L\":1e19}", "out of range for BIGINT"},
        {"{\"L\":123456789012345678901234567890}", "out of range for BIGINT"},
        {"{\"I\":true}", "column `I` ($.I): expected INTEGER, got a boolean"},
        {"{\"I\":[1]}", "expected INTEGER, got an array"},
        {"{\"B\":\"true\"}", "column `B` ($.B): expected BOOLEAN, got a string"},
        {"{\"B\":1}", "expected BOOLEAN, got a number"},
        {"{\"D\":\"1.5x\"}", "column `D` ($.D): cannot convert string \"1.5x\" to DOUBLE"},
        {"{\"D\":{}}", "expected DOUBLE, got an object"},
        {"{\"DEC\":123.456}", "column `DEC` ($.DEC): cannot fit 123.456 into DECIMAL(5, 2) without rounding"},
        {"{\"DEC\":1234.5}", "column `DEC` ($.DEC): numeric overflow: 1234.5 does not fit DECIMAL(5, 2)"},
        {"{\"DEC\":\"x\"}", "column `DEC` ($.DEC): not a number"},
        {"{\"DEC\":true}", "expected DECIMAL(5, 2), got a boolean"},
        {"{\"BY\":\"***\"}", "column `BY` ($.BY): invalid base64 at offset 0"},
        {"{\"BY\":12}", "expected BYTES, got a number"},
        {"{\"TS\":\"2019-03-17\"}", "column `TS` ($.TS): cannot convert string \"2019-03-17\" to TIMESTAMP"},
        {"{\"DT\":3000000000}", "out of range for DATE"},
        {"{\"ARR\":{}}", "column `ARR` ($.ARR): expected ARRAY<INTEGER>, got an object"},
        {"{\"ARR\":[1,2,\"x\"]}", "column `ARR` ($.ARR[2]): cannot convert string \"x\" to INTEGER"},
        {"{\"M\":[]}", "expected MAP<STRING, DOUBLE>, got an array"},
        {"{\"M\":{\"k\":\"v\"}}", "column `M` ($.M.k): cannot convert string \"v\" to DOUBLE"},
        {"{\"ST\":[]}", "expected STRUCT<`A` INTEGER, `b` STRING, `N` STRUCT<`X` ARRAY<STRING>>>, got an array"},
        {"{\"ST\":{\"A\":\"x\"}}", "column `ST` ($.ST.A): cannot convert string \"x\" to INTEGER"},
        {"{\"ST\":{\"n\":{\"X\":[\"a\",{\"q\":1},3]}}}", "", /* STRING takes objects: fine */},
        {"{\"ST\":{\"n\":{\"X\":7}}}", "column `ST` ($.ST.N.X): expected ARRAY<STRING>, got a number"},
        {"[1,2]", "expected a JSON object holding the 13 columns, got an array"},
        {"\"str\"", "got a string"},
        {"42", "got a number"},
        {"true", "got a boolean"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = dec(c, bad[i].rec, &a, row, &e);
        bool ok = bad[i].msg[0] ? rc == MP_EINPUT && strstr(e.msg, bad[i].msg) : rc == 0;
        if (!ok) {
            fprintf(stderr, "record %zu %s: rc %d '%s', want '%s'\n", i, bad[i].rec, rc, e.msg,
                    bad[i].msg);
            mp_test_failed_checks++;
        }
    }
    mp_codec_destroy(c);
    mp_schema_destroy(s);
    mp_arena_free(&a);
}

static void test_json_bad_syntax(void)
{
    mp_schema *s = S(JSON_SCHEMA);
    mp_codec *c = C(s, MP_COL_VALUE, MP_FORMAT_JSON, 0, false);
    REQUIRE(c);
    mp_arena a;
    mp_arena_init(&a, 0);
    mp_value row[14];
    mp_error e;
    static const struct {
        const char *rec, *msg;
    } bad[] = {
        {"", "invalid JSON at byte 0: empty record"},
        {"   \n", "invalid JSON at byte 4: empty record"},
        {"{", "invalid JSON at byte 1: expected a string key"},
        {"{\"I\"", "invalid JSON at byte 4: expected ':' after an object key"},
        {"{\"I\":", "invalid JSON at byte 5 (in $.I): unexpected end of input"},
        {"{\"I\":1", "invalid JSON at byte 6: expected ',' or '}'"},
        {"{\"I\":1,", "invalid JSON at byte 7: expected a string key"},
        {"{\"I\":1,}", "invalid JSON at byte 7: expected a string key"},
        {"{\"I\":1}}", "invalid JSON at byte 7: unexpected data after the JSON value"},
        {"{\"I\":1} x", "unexpected data after the JSON value"},
        {"{I:1}", "expected a string key"},
        {"{'I':1}", "expected a string key"},
        {"{\"I\":01}", "invalid number: leading zero"},
        {"{\"I\":-}", "invalid number"},
        {"{\"I\":1.}", "no digits after '.'"},
        {"{\"I\":1e}", "no digits in the exponent"},
        {"{\"I\":+1}", "invalid JSON at byte 5 (in $.I): expected a value"},
        {"{\"I\":tru}", "invalid literal"},
        {"{\"I\":nul}", "invalid literal"},
        {"{\"I\":NaN}", "expected a value"},
        {"{\"S\":\"abc}", "unterminated string"},
        {"{\"S\":\"a\\x\"}", "invalid escape in string"},
        {"{\"S\":\"a\\u12G4\"}", "invalid \\u escape"},
        {"{\"S\":\"\\ud800\"}", "unpaired high surrogate"},
        {"{\"S\":\"\\ud800\\u0041\"}", "unpaired high surrogate"},
        {"{\"S\":\"\\udc00\"}", "unpaired low surrogate"},
        {"{\"S\":\"a\tb\"}", "control character in string"},
        {"{\"S\":\"a\xff\"}", "invalid UTF-8 in string"},
        {"{\"S\":\"\xc0\xaf\"}", "invalid UTF-8 in string"},
        {"{\"S\":\"\xed\xa0\x80\"}", "invalid UTF-8 in string"},
        {"{\"S\":\"\xe2\x82\"}", "invalid UTF-8 in string"},
        {"{\"k\xff\":1}", "invalid UTF-8 in string"},
        {"{\"ARR\":[1 2]}", "invalid JSON at byte 10 (in $.ARR): expected ',' or ']'"},
        {"{\"ARR\":[1,]}", "(in $.ARR[1]): expected a value"},
        {"{\"M\":{\"a\" 1}}", "expected ':' after an object key"},
        {"{\"M\":{1:2}}", "expected a string key"},
        {"{\"zz\":[1,}", "expected a value"},
        {"{\"zz\":{\"a\":}}", "expected a value"},
        {"{\"zz\":\"\\q\"}", "invalid escape in string"},
        {"{\"I\":1,\"I\":}", "expected a value"},
        {"\x01", "invalid JSON at byte 0: expected a value"},
        {"{\"S\":[1,2}", "expected ',' or ']'"},
        {"{\"S\":{\"a\":1]}", "expected ',' or '}'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = dec(c, bad[i].rec, &a, row, &e);
        if (rc != MP_EINPUT || !strstr(e.msg, bad[i].msg)) {
            fprintf(stderr, "record %zu %s: rc %d '%s', want '%s'\n", i, bad[i].rec, rc, e.msg,
                    bad[i].msg);
            mp_test_failed_checks++;
        }
    }
    /* Every truncation of a valid document is an error (never a crash or a
     * read past the end: each prefix is copied to an exact-size buffer) */
    const char *good = "{\"b\":true,\"I\":-7,\"L\":1,\"D\":1.5e2,\"DEC\":1.5,\"S\":\"x\\u00e9\\n\","
                       "\"BY\":\"AA==\",\"ARR\":[1,null],\"M\":{\"k\":0.5},\"ST\":{\"a\":1,"
                       "\"N\":{\"X\":[\"p\"]}},\"zz\":[{\"q\":[false]}]}";
    size_t glen = strlen(good);
    REQUIRE(dec(c, good, &a, row, &e) == 0);
    int errors = 0;
    for (size_t n = 0; n < glen; n++) {
        char *buf = malloc(n ? n : 1);
        memcpy(buf, good, n);
        int rc = mp_codec_decode(c, buf, n, &a, row, &e);
        if (rc == MP_EINPUT && strstr(e.msg, "invalid JSON at byte"))
            errors++;
        else
            fprintf(stderr, "prefix %zu: rc %d %s\n", n, rc, e.msg);
        free(buf);
        mp_arena_reset(&a);
    }
    CHECK(errors == (int)glen);
    /* Corrupting any single byte to a stray quote never crashes either */
    for (size_t i = 0; i < glen; i++) {
        char *buf = malloc(glen);
        memcpy(buf, good, glen);
        buf[i] = '"';
        int rc = mp_codec_decode(c, buf, glen, &a, row, &e);
        CHECK(rc == 0 || rc == MP_EINPUT);
        free(buf);
        mp_arena_reset(&a);
    }
    mp_codec_destroy(c);
    mp_schema_destroy(s);
    mp_arena_free(&a);
}

static void test_json_depth(void)
{
    mp_schema *s = S("S STRING, ARR ARRAY<ARRAY<ARRAY<INT>>>");
    mp_codec *c = C(s, MP_COL_VALUE, MP_FORMAT_JSON, 0, false);
    REQUIRE(c);
    mp_arena a;
    mp_arena_init(&a, 0);
    mp_value row[2];
    mp_error e;
    /* 63 nested arrays inside the record object: depth 64, allowed */
    mp_buf b = {0};
    mp_buf_puts(&b, "{\"S\":");
    for (int i = 0; i < 63; i++)
        mp_buf_putc(&b, '[');
    for (int i = 0; i < 63; i++)
        mp_buf_putc(&b, ']');
    mp_buf_putc(&b, '}');
    CHECK(dec(c, b.data, &a, row, &e) == 0);
    mp_buf_reset(&b);
    /* One more is refused, wherever it is: in a STRING, in a skipped field */
    const char *keys[] = {"S", "unknown"};
    for (int k = 0; k < 2; k++) {
        mp_buf_printf(&b, "{\"%s\":", keys[k]);
        for (int i = 0; i < 100000; i++)
            mp_buf_putc(&b, '[');
        mp_buf_putc(&b, '}');
        CHECK(dec(c, b.data, &a, row, &e) == MP_EINPUT);
        CHECK_STR_CONTAINS(e.msg, "nested deeper than 64 levels");
        mp_buf_reset(&b);
    }
    CHECK(dec(c, "{\"ARR\":[[[1,2],[3]],[]]}", &a, row, &e) == 0);
    CHECK(row[1].len == 2 && row[1].u.items[0].u.items[0].u.items[1].u.i32 == 2 &&
          row[1].u.items[1].len == 0);
    CHECK(dec(c, "{\"ARR\":[[[1,2],[\"x\"]]]}", &a, row, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "column `ARR` ($.ARR[0][1][0])");
    mp_codec_destroy(c);
    /* A custom limit */
    mp_codec_opts o = {.format = MP_FORMAT_JSON, .max_depth = 3};
    REQUIRE(mp_codec_create(s, MP_COL_VALUE, &o, &c, &e) == 0);
    CHECK(dec(c, "{\"ARR\":[[[1]]]}", &a, row, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "nested deeper than 3 levels");
    CHECK(dec(c, "{\"ARR\":[[]]}", &a, row, &e) == 0);
    mp_codec_destroy(c);
    /* A limit above the inline path buffer: the path lives in the arena */
    o.max_depth = 200;
    REQUIRE(mp_codec_create(s, MP_COL_VALUE, &o, &c, &e) == 0);
    for (int depth = 199; depth <= 200; depth++) {
        mp_buf_reset(&b);
        mp_buf_puts(&b, "{\"S\":");
        for (int i = 0; i < depth; i++)
            mp_buf_putc(&b, '[');
        mp_buf_puts(&b, "\"x\"");
        for (int i = 0; i < depth; i++)
            mp_buf_putc(&b, ']');
        mp_buf_putc(&b, '}');
        int rc = dec(c, b.data, &a, row, &e);
        CHECK(depth == 199 ? rc == 0 && row[0].len == 2 * 199 + 1 : rc == MP_EINPUT);
    }
    CHECK_STR_CONTAINS(e.msg, "nested deeper than 200 levels");
    mp_codec_destroy(c);
    mp_buf_free(&b);
    mp_schema_destroy(s);
    mp_arena_free(&a);
}

static void test_json_large_arrays(void)
{
    /* Arrays and maps grow inside the arena; thousands of elements */
    mp_schema *s = S("ARR ARRAY<STRING>, M MAP<STRING, INT>");
    mp_codec *c = C(s, MP_COL_VALUE, MP_FORMAT_JSON, 0, false);
    mp_buf b = {0};
    mp_buf_puts(&b, "{\"ARR\":[");
    for (int i = 0; i < 5000; i++)
        mp_buf_printf(&b, "%s\"s%d\"", i ? "," : "", i);
    mp_buf_puts(&b, "],\"M\":{");
    for (int i = 0; i < 5000; i++)
        mp_buf_printf(&b, "%s\"k%d\":%d", i ? "," : "", i % 2500, i);
    mp_buf_puts(&b, "}}");
    mp_arena a;
    mp_arena_init(&a, 0);
    mp_value row[2];
    mp_error e;
    REQUIRE(mp_codec_decode(c, b.data, b.len, &a, row, &e) == 0);
    REQUIRE(row[0].len == 5000 && row[1].len == 2500);
    CHECK(str_is(&row[0].u.items[4999], "s4999"));
    /* k0..k2499 each appear twice; the second value (2500 + i) wins */
    CHECK(str_is(&row[1].u.items[0], "k0") && row[1].u.items[1].u.i32 == 2500);
    CHECK(str_is(&row[1].u.items[2 * 2499], "k2499") && row[1].u.items[2 * 2499 + 1].u.i32 == 4999);
    mp_codec_destroy(c);
    mp_buf_free(&b);
    mp_schema_destroy(s);
    mp_arena_free(&a);
}

/* The exact fast paths for decimal text to double must agree with strtod
 * (correct rounding), in both DELIMITED and JSON. */
static void test_number_text(void)
{
    mp_schema *s = S("D DOUBLE");
    mp_codec *dl = C(s, MP_COL_VALUE, MP_FORMAT_DELIMITED, 0, false);
    mp_codec *js = C(s, MP_COL_VALUE, MP_FORMAT_JSON, 0, true);
    REQUIRE(dl && js);
    mp_arena a;
    mp_arena_init(&a, 0);
    mp_error e;
    char text[64];
    uint64_t x = 88172645463325252ULL;
    int mismatches = 0;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int form = (int)(x % 5);
        uint64_t m = (x >> 8) % (form == 4 ? 100000000000000000ULL : 100000000ULL);
        int k = (int)((x >> 40) % 30);
        if (form == 0)
            snprintf(text, sizeof text, "%llu", (unsigned long long)m);
        else if (form == 1)
            snprintf(text, sizeof text, "-%llu.%0*llu", (unsigned long long)(m % 1000), k % 20 + 1,
                     (unsigned long long)(m / 1000));
        else if (form == 2)
            snprintf(text, sizeof text, "%llue%d", (unsigned long long)m, k - 15);
        else if (form == 3)
            snprintf(text, sizeof text, "0.%0*llu", k + 1, (unsigned long long)m);
        else
            snprintf(text, sizeof text, "%llu.%llue-%d", (unsigned long long)m,
                     (unsigned long long)(m % 97), k);
        double want = strtod(text, NULL);
        mp_value r1[1], r2[1];
        if (dec(dl, text, &a, r1, &e) != 0 || dec(js, text, &a, r2, &e) != 0 ||
            memcmp(&r1[0].u.f64, &want, 8) != 0 || memcmp(&r2[0].u.f64, &want, 8) != 0) {
            if (mismatches++ < 5)
                fprintf(stderr, "'%s': delimited %.17g json %.17g strtod %.17g\n", text,
                        r1[0].u.f64, r2[0].u.f64, want);
        }
        mp_arena_reset(&a);
    }
    CHECK(mismatches == 0);
    /* Java's grammar edges in DELIMITED: ".5", "1.", signs, whitespace */
    mp_value r[1];
    CHECK(dec(dl, ".5", &a, r, &e) == 0 && r[0].u.f64 == 0.5);
    CHECK(dec(dl, "1.", &a, r, &e) == 0 && r[0].u.f64 == 1.0);
    CHECK(dec(dl, "+2e-1", &a, r, &e) == 0 && r[0].u.f64 == 0.2);
    CHECK(dec(dl, "\" 3.25 \"", &a, r, &e) == 0 && r[0].u.f64 == 3.25);
    CHECK(dec(dl, "Infinity", &a, r, &e) == 0 && isinf(r[0].u.f64));
    CHECK(dec(dl, ".", &a, r, &e) == MP_EINPUT);
    CHECK(dec(dl, "e5", &a, r, &e) == MP_EINPUT);
    CHECK(dec(dl, "1e5.5", &a, r, &e) == MP_EINPUT);
    CHECK(dec(dl, "nan", &a, r, &e) == MP_EINPUT); /* Java: case-sensitive */
    /* JSON is stricter than Java text: no ".5" or "1." */
    CHECK(dec(js, ".5", &a, r, &e) == MP_EINPUT);
    CHECK(dec(js, "-0", &a, r, &e) == 0 && r[0].u.f64 == 0 && signbit(r[0].u.f64));
    mp_codec_destroy(dl);
    mp_codec_destroy(js);
    mp_schema_destroy(s);
    mp_arena_free(&a);

    /* Strict integers */
    int64_t v;
    CHECK(mp_parse_int64_strict("-9223372036854775808", 20, INT64_MIN, INT64_MAX, &v) == 0 &&
          v == INT64_MIN);
    CHECK(mp_parse_int64_strict("9223372036854775807", 19, INT64_MIN, INT64_MAX, &v) == 0 &&
          v == INT64_MAX);
    CHECK(mp_parse_int64_strict("9223372036854775808", 19, INT64_MIN, INT64_MAX, &v) == -2);
    CHECK(mp_parse_int64_strict("-9223372036854775809", 20, INT64_MIN, INT64_MAX, &v) == -2);
    CHECK(mp_parse_int64_strict("99999999999999999999x", 21, INT64_MIN, INT64_MAX, &v) == -1);
    CHECK(mp_parse_int64_strict("+0", 2, 0, 0, &v) == 0 && v == 0);
    CHECK(mp_parse_int64_strict("-", 1, INT64_MIN, INT64_MAX, &v) == -1);
    CHECK(mp_parse_int64_strict("", 0, INT64_MIN, INT64_MAX, &v) == -1);
    CHECK(mp_parse_int64_strict("2147483648", 10, INT32_MIN, INT32_MAX, &v) == -2);
}

static void test_schema(void)
{
    mp_schema *s = S("ID BIGINT PRIMARY KEY, `name` STRING, h BYTES HEADER('k''x'), HS "
                     "ARRAY<STRUCT<KEY STRING, VALUE BYTES>> HEADERS, v MAP<STRING, INT>");
    REQUIRE(s);
    CHECK(s->ncols == 5);
    CHECK(mp_schema_find(s, "ID") == 0 && mp_schema_find(s, "name") == 1);
    CHECK(mp_schema_find(s, "NAME") == -1 && mp_schema_find(s, "V") == 4);
    CHECK(s->cols[0].ns == MP_COL_KEY && s->cols[1].ns == MP_COL_VALUE);
    CHECK(s->cols[2].ns == MP_COL_HEADER && strcmp(s->cols[2].header_key, "k'x") == 0);
    CHECK(s->cols[3].ns == MP_COL_HEADER && s->cols[3].header_key == NULL);
    CHECK(mp_schema_count(s, MP_COL_VALUE) == 2);
    mp_buf b = {0};
    mp_schema_print(s, &b);
    CHECK(b.data && strcmp(b.data, "`ID` BIGINT KEY, `name` STRING, `H` BYTES HEADER('k''x'), "
                                   "`HS` ARRAY<STRUCT<`KEY` STRING, `VALUE` BYTES>> HEADERS, "
                                   "`V` MAP<STRING, INTEGER>") == 0);
    mp_schema *s2 = S(b.data);
    CHECK(s2 && mp_schema_equal(s, s2));
    mp_schema *s3 = mp_schema_clone(s);
    CHECK(s3 && mp_schema_equal(s, s3));
    mp_error e;
    CHECK(mp_schema_add(s3, "ID", mp_type_new(MP_TYPE_INTEGER), MP_COL_VALUE, &e) == MP_EEXIST);
    CHECK_STR_CONTAINS(e.msg, "duplicate column name `ID`");
    mp_schema_destroy(s3);
    mp_schema_destroy(s2);
    mp_buf_free(&b);
    mp_schema_destroy(s);
    mp_schema *bad = NULL;
    CHECK(mp_schema_parse("A INT, B FOO", &bad, &e) == MP_EINPUT && bad == NULL);
    CHECK_STR_CONTAINS(e.msg, "column `B`");
    CHECK(mp_schema_parse("A INT,, B INT", &bad, &e) == MP_EINPUT);
    CHECK(mp_schema_parse("A INT, a INT", &bad, &e) == MP_EEXIST);
    CHECK(mp_schema_parse("", &bad, &e) == 0 && bad && bad->ncols == 0);
    mp_schema_destroy(bad);
}

int main(void)
{
    RUN(test_kafka);
    RUN(test_delimited_roundtrip);
    RUN(test_delimited_errors);
    RUN(test_delimiters);
    RUN(test_json_roundtrip);
    RUN(test_json_coercions);
    RUN(test_json_unwrapped);
    RUN(test_json_bad_values);
    RUN(test_json_bad_syntax);
    RUN(test_json_depth);
    RUN(test_json_large_arrays);
    RUN(test_number_text);
    RUN(test_schema);
    return TEST_SUMMARY();
}
