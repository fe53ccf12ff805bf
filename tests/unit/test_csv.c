/* CSV reader: structure, quoting, positions, delimiters, every error
 * message with its exact file:line:column, and mp_parse_number. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/fileio.h"
#include "data/table.h"
#include "test.h"

static char tmpdir[] = "/tmp/mp_test_csv_XXXXXX";

static mp_table *parse_ok(const char *text, char delim)
{
    mp_error e = {0};
    mp_table *t = NULL;
    int rc = mp_csv_parse("t.csv", text, strlen(text), delim, &t, &e);
    if (rc)
        fprintf(stderr, "unexpected error: %s\n", e.msg);
    return t;
}

/* Parses len bytes and checks for MP_EINPUT with exactly this message. */
static void expect_error_n(const char *text, size_t len, char delim, const char *msg, int line)
{
    mp_error e = {0};
    mp_table *t = (mp_table *)1;
    int rc = mp_csv_parse("t.csv", text, len, delim, &t, &e);
    if (rc != MP_EINPUT || strcmp(e.msg, msg) != 0 || t != NULL) {
        fprintf(stderr, "test_csv.c:%d: expected MP_EINPUT \"%s\", got rc %d \"%s\"\n", line, msg,
                rc, e.msg);
        mp_test_failed_checks++;
    }
    if (rc == 0)
        mp_table_destroy(t);
}
#define EXPECT_ERROR(text, delim, msg) expect_error_n(text, strlen(text), delim, msg, __LINE__)

static void test_basic(void)
{
    mp_table *t = parse_ok("a,b,c\n1,2,3\n4,5,6\n", 0);
    REQUIRE(t);
    CHECK(t->nrows == 2);
    CHECK(t->ncols == 3);
    CHECK(t->delim == ',');
    CHECK(strcmp(t->source, "t.csv") == 0);
    CHECK(strcmp(t->names[0], "a") == 0 && strcmp(t->names[2], "c") == 0);
    CHECK(strcmp(mp_table_cell(t, 0, 0), "1") == 0);
    CHECK(strcmp(mp_table_cell(t, 1, 2), "6") == 0);
    CHECK(t->line[0] == 2 && t->col[0] == 1);
    CHECK(t->line[5] == 3 && t->col[5] == 5);
    CHECK(mp_table_find(t, "b") == 1);
    CHECK(mp_table_find(t, "z") == -1);
    mp_table_destroy(t);

    /* No final newline; single column. */
    t = parse_ok("a,b\n1,2", 0);
    REQUIRE(t);
    CHECK(t->nrows == 1 && strcmp(mp_table_cell(t, 0, 1), "2") == 0);
    mp_table_destroy(t);
    t = parse_ok("x\n1\n2\n", 0);
    REQUIRE(t);
    CHECK(t->ncols == 1 && t->nrows == 2 && t->delim == ',');
    CHECK(strcmp(mp_table_cell(t, 1, 0), "2") == 0);
    mp_table_destroy(t);

    /* Header only: a table with no rows (the dataset layer rejects it). */
    t = parse_ok("a,b\n", 0);
    REQUIRE(t);
    CHECK(t->nrows == 0 && t->ncols == 2);
    mp_table_destroy(t);
}

static void test_trim_and_empty_cells(void)
{
    mp_table *t = parse_ok(" a , b ,c\n 1 ,  x y  ,\n,,\n", 0);
    REQUIRE(t);
    CHECK(strcmp(t->names[0], "a") == 0 && strcmp(t->names[1], "b") == 0);
    CHECK(strcmp(mp_table_cell(t, 0, 0), "1") == 0);
    CHECK(strcmp(mp_table_cell(t, 0, 1), "x y") == 0);
    CHECK(strcmp(mp_table_cell(t, 0, 2), "") == 0);
    /* Columns point at the content, after leading blanks. */
    CHECK(t->col[0] == 2);
    CHECK(t->col[1] == 7);
    CHECK(t->col[2] == 13);
    CHECK(t->nrows == 2);
    CHECK(strcmp(mp_table_cell(t, 1, 0), "") == 0 && strcmp(mp_table_cell(t, 1, 2), "") == 0);
    CHECK(t->line[3] == 3 && t->col[3] == 1 && t->col[4] == 2 && t->col[5] == 3);
    mp_table_destroy(t);
}

static void test_quoting(void)
{
    const char *csv = "name,desc\n"
                      "\"Smith, J\",\"said \"\"hi\"\"\nthere\"\n"
                      "x, \"a\" \n"
                      "\"\",\"\"\"\"\n";
    mp_table *t = parse_ok(csv, 0);
    REQUIRE(t);
    REQUIRE(t->nrows == 3);
    CHECK(strcmp(mp_table_cell(t, 0, 0), "Smith, J") == 0);
    CHECK(strcmp(mp_table_cell(t, 0, 1), "said \"hi\"\nthere") == 0);
    CHECK(t->line[1] == 2 && t->col[1] == 12);
    /* The multi-line cell moves later rows down a line. */
    CHECK(strcmp(mp_table_cell(t, 1, 0), "x") == 0 && t->line[2] == 4);
    CHECK(strcmp(mp_table_cell(t, 1, 1), "a") == 0 && t->col[3] == 4);
    CHECK(strcmp(mp_table_cell(t, 2, 0), "") == 0);
    CHECK(strcmp(mp_table_cell(t, 2, 1), "\"") == 0 && t->line[5] == 5);
    mp_table_destroy(t);

    /* Quoted header names, a quote inside an unquoted cell kept as is,
     * and quoted spaces kept. */
    t = parse_ok("\"a b\",\"c,d\"\n5'11\",\"  x  \"\n", 0);
    REQUIRE(t);
    CHECK(strcmp(t->names[0], "a b") == 0 && strcmp(t->names[1], "c,d") == 0);
    CHECK(strcmp(mp_table_cell(t, 0, 0), "5'11\"") == 0);
    CHECK(strcmp(mp_table_cell(t, 0, 1), "  x  ") == 0);
    mp_table_destroy(t);

    /* A quoted cell ending the input, no newline. */
    t = parse_ok("a,b\n1,\"q\"", 0);
    REQUIRE(t);
    CHECK(strcmp(mp_table_cell(t, 0, 1), "q") == 0);
    mp_table_destroy(t);
}

static void test_bom_crlf_blank(void)
{
    mp_table *t = parse_ok("\xEF\xBB\xBF" "a,b\n1,2\n", 0);
    REQUIRE(t);
    CHECK(strcmp(t->names[0], "a") == 0);
    CHECK(t->nrows == 1);
    mp_table_destroy(t);
    /* Columns on the first line count from after the BOM. */
    EXPECT_ERROR("\xEF\xBB\xBF" "a,,b\n", 0, "t.csv:1:3: empty column name in the header");

    t = parse_ok("a,b\r\n1,2\r\n3,\"x\r\ny\"\r\n\r\n5 ,6 \r\n", 0);
    REQUIRE(t);
    CHECK(t->nrows == 3);
    CHECK(strcmp(t->names[1], "b") == 0);
    CHECK(strcmp(mp_table_cell(t, 0, 1), "2") == 0);
    CHECK(strcmp(mp_table_cell(t, 1, 1), "x\r\ny") == 0);
    CHECK(strcmp(mp_table_cell(t, 2, 0), "5") == 0 && strcmp(mp_table_cell(t, 2, 1), "6") == 0);
    CHECK(t->line[4] == 6);
    mp_table_destroy(t);

    t = parse_ok("\n\na,b\n\n1,2\n   \n3,4\n\n", 0);
    REQUIRE(t);
    CHECK(t->nrows == 2);
    CHECK(t->line[0] == 5 && t->line[2] == 7);
    mp_table_destroy(t);
}

static void test_delimiters(void)
{
    static const char delims[] = {',', ';', '\t', '|'};
    for (size_t k = 0; k < sizeof delims; k++) {
        char d = delims[k];
        char csv[64];
        snprintf(csv, sizeof csv, "a%cb%cc\n1%c2%c3\n4%c5%c6\n", d, d, d, d, d, d);
        mp_table *t = parse_ok(csv, 0);
        REQUIRE(t);
        CHECK(t->delim == d);
        CHECK(t->ncols == 3 && t->nrows == 2);
        CHECK(strcmp(mp_table_cell(t, 1, 1), "5") == 0);
        mp_table_destroy(t);
    }
    /* Decimal commas in the data do not fool detection. */
    mp_table *t = parse_ok("a;b;c\n1,5;2,5;3\n", 0);
    REQUIRE(t);
    CHECK(t->delim == ';' && strcmp(mp_table_cell(t, 0, 0), "1,5") == 0);
    mp_table_destroy(t);
    /* Commas inside quotes are not counted. */
    t = parse_ok("\"x,y,z\";w\n1;2\n", 0);
    REQUIRE(t);
    CHECK(t->delim == ';' && strcmp(t->names[0], "x,y,z") == 0);
    mp_table_destroy(t);
    /* The header alone favours ',' (3 fields vs 2), but only ';' is
     * consistent with the data. */
    t = parse_ok("a,b;c,d\n1;2\n3;4\n", 0);
    REQUIRE(t);
    CHECK(t->delim == ';' && t->ncols == 2 && strcmp(t->names[0], "a,b") == 0);
    mp_table_destroy(t);
    /* Tabs are delimiters, not blanks, in a TSV: empty cells survive. */
    t = parse_ok("a\tb\tc\n\t\t\n1\t \t3\n", 0);
    REQUIRE(t);
    CHECK(t->delim == '\t' && t->nrows == 2);
    CHECK(strcmp(mp_table_cell(t, 0, 1), "") == 0 && strcmp(mp_table_cell(t, 1, 1), "") == 0);
    mp_table_destroy(t);
    /* A delimiter given explicitly wins. */
    t = parse_ok("a|b,c\n1|2,3\n", '|');
    REQUIRE(t);
    CHECK(t->delim == '|' && t->ncols == 2 && strcmp(t->names[1], "b,c") == 0);
    mp_table_destroy(t);
    mp_error e = {0};
    t = NULL;
    CHECK(mp_csv_parse("t.csv", "a\n", 2, '"', &t, &e) == MP_EINVAL && t == NULL);
}

static void test_errors(void)
{
    EXPECT_ERROR("", 0, "t.csv:1:1: empty file, expected a header row");
    EXPECT_ERROR("\n \r\n\n", 0, "t.csv:1:1: empty file, expected a header row");
    EXPECT_ERROR("\xEF\xBB\xBF", 0, "t.csv:1:1: empty file, expected a header row");

    EXPECT_ERROR("a,b,c,d,e\n1,2,3,4,5\n1,2,3,4,5\n1,2,3,4,5\n1,2,3,4,5\n1,2,3,4,5\n"
                 "1,2,3,4,55,6\n",
                 0, "t.csv:7:12: row has 6 fields, the header has 5");
    EXPECT_ERROR("a,b,c\n1,2\n", 0, "t.csv:2:4: row has 2 fields, the header has 3");
    EXPECT_ERROR("a,b,c\r\n1,2\r\n", 0, "t.csv:2:4: row has 2 fields, the header has 3");
    EXPECT_ERROR("a,b,c\n1,2", 0, "t.csv:2:4: row has 2 fields, the header has 3");
    EXPECT_ERROR("a,b,c\n1,\"x\ny\"\n", 0, "t.csv:3:3: row has 2 fields, the header has 3");
    /* The extra field's own delimiters inside quotes are not counted. */
    EXPECT_ERROR("a,b\n1,2, \"x,y\",z\n", 0, "t.csv:2:6: row has 4 fields, the header has 2");
    EXPECT_ERROR("a;b\n1;2;\n", 0, "t.csv:2:5: row has 3 fields, the header has 2");

    EXPECT_ERROR("a,b\n1,\"abc\n2,3\n", 0, "t.csv:2:3: unterminated quoted field");
    EXPECT_ERROR("\"a,b\n", 0, "t.csv:1:1: unterminated quoted field");
    EXPECT_ERROR("a,b\n\n1, \"ab\"\"\n", 0, "t.csv:3:4: unterminated quoted field");

    EXPECT_ERROR("a,b,a\n1,2,3\n", 0,
                 "t.csv:1:5: duplicate column name 'a' in the header (also column 1)");
    EXPECT_ERROR("x,y, y \n", 0,
                 "t.csv:1:6: duplicate column name 'y' in the header (also column 2)");
    EXPECT_ERROR("a,,c\n1,2,3\n", 0, "t.csv:1:3: empty column name in the header");
    EXPECT_ERROR("a,\"\",c\n1,2,3\n", 0, "t.csv:1:3: empty column name in the header");
    EXPECT_ERROR("a,b,\n", ',', "t.csv:1:5: empty column name in the header");

    EXPECT_ERROR("a,b\n\"x\"y,2\n", 0, "t.csv:2:4: unexpected 'y' after the closing quote");
    expect_error_n("a,b\n1,\0\n", 8, 0, "t.csv:2:3: unexpected NUL byte (is this a binary file?)",
                   __LINE__);
    expect_error_n("a,b\n1,\"x\0\"\n", 11, 0,
                   "t.csv:2:5: unexpected NUL byte (is this a binary file?)", __LINE__);

    mp_error e = {0};
    mp_table *t = (mp_table *)1;
    CHECK(mp_csv_read("/nonexistent/file.csv", 0, &t, &e) == MP_ENOTFOUND);
    CHECK(t == NULL);
    CHECK_STR_CONTAINS(e.msg, "/nonexistent/file.csv");
}

static void test_files_and_gzip(void)
{
    char path[256], gz[256];
    snprintf(path, sizeof path, "%s/plain.csv", tmpdir);
    snprintf(gz, sizeof gz, "%s/data.csv.gz", tmpdir);
    const char *csv = "k;v\nx;1\ny;2\n";
    REQUIRE(mp_write_atomic(path, csv, strlen(csv), NULL) == 0);
    gzFile f = gzopen(gz, "wb");
    REQUIRE(f);
    CHECK(gzwrite(f, csv, (unsigned)strlen(csv)) == (int)strlen(csv));
    gzclose(f);

    const char *paths[] = {path, gz};
    for (int k = 0; k < 2; k++) {
        mp_error e = {0};
        mp_table *t = NULL;
        int rc = mp_csv_read(paths[k], 0, &t, &e);
        CHECK(rc == 0);
        if (rc) {
            fprintf(stderr, "%s\n", e.msg);
            continue;
        }
        CHECK(t->delim == ';' && t->nrows == 2 && t->ncols == 2);
        CHECK(strcmp(mp_table_cell(t, 1, 0), "y") == 0);
        CHECK(strcmp(mp_table_cell(t, 1, 1), "2") == 0);
        CHECK(strcmp(t->source, paths[k]) == 0);
        mp_table_destroy(t);
    }
    /* Errors name the file as given. */
    REQUIRE(mp_write_atomic(path, "a,b\n1\n", 6, NULL) == 0);
    mp_error e = {0};
    mp_table *t = NULL;
    CHECK(mp_csv_read(path, 0, &t, &e) == MP_EINPUT);
    char want[300];
    snprintf(want, sizeof want, "%s:2:2: row has 1 fields, the header has 2", path);
    CHECK(strcmp(e.msg, want) == 0);
}

static void test_large(void)
{
    /* 100k rows, 5 columns, with a quoted cell every 1000 rows. */
    size_t n = 100000;
    size_t cap = n * 64 + 64, len = 0;
    char *buf = malloc(cap);
    REQUIRE(buf);
    len += (size_t)snprintf(buf + len, cap - len, "id,x,y,label,note\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%zu,%zu.5,%g,%s,%s\n", i, i % 977,
                                (double)i * 0.25, i % 3 ? "yes" : "no",
                                i % 1000 ? "plain" : "\"a,\"\"b\"\"\"");
    mp_error e = {0};
    mp_table *t = NULL;
    int rc = mp_csv_parse("big.csv", buf, len, 0, &t, &e);
    free(buf);
    REQUIRE(rc == 0);
    CHECK(t->nrows == n && t->ncols == 5);
    CHECK(strcmp(mp_table_cell(t, n - 1, 0), "99999") == 0);
    CHECK(strcmp(mp_table_cell(t, 12345, 1), "621.5") == 0); /* 12345 % 977 = 621 */
    CHECK(strcmp(mp_table_cell(t, 3000, 4), "a,\"b\"") == 0);
    CHECK(t->line[(n - 1) * 5] == n + 1);
    double v = 0;
    CHECK(mp_parse_number(mp_table_cell(t, 99998, 2), &v) && v == 99998 * 0.25);
    mp_table_destroy(t);
}

static void test_is_missing(void)
{
    const char *yes[] = {"", "NA", "N/A", "NaN", "nan", "?", "null"};
    const char *no[] = {"0", "na", "NULL", "None", "??", "N", "n/a ", "-", "nan0"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        CHECK(mp_is_missing(yes[i]) == 1);
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        CHECK(mp_is_missing(no[i]) == 0);
}

static void test_parse_number(void)
{
    struct {
        const char *s;
        double v;
    } ok[] = {{"0", 0},          {"42", 42},           {" 42 ", 42},     {"\t-7\t", -7},
              {"+1.5", 1.5},     {"1e3", 1000},        {"1E-3", 0.001},  {".5", 0.5},
              {"5.", 5},         {"-1.25e+2", -125},   {"0.1", 0.1},     {"007", 7},
              {"1e-400", 0},     {"123456789012345678901234567890", 1.2345678901234568e29},
              {"3.141592653589793238462643", 3.141592653589793},
              {"9007199254740993", 9007199254740992.0}, /* ties to even */
              {"1.7976931348623157e308", 1.7976931348623157e308},
              {"4.9e-324", 4.9e-324}};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        double v = -999;
        int r = mp_parse_number(ok[i].s, &v);
        CHECK(r == 1);
        if (r != 1 || v != ok[i].v)
            fprintf(stderr, "  parse '%s': r=%d v=%.17g want %.17g\n", ok[i].s, r, v, ok[i].v);
        CHECK(v == ok[i].v);
    }
    double z = 1;
    CHECK(mp_parse_number("-0", &z) && z == 0 && signbit(z));
    CHECK(mp_parse_number("-0.0e5", &z) && z == 0 && signbit(z));

    const char *bad[] = {"",     " ",    "abc",  "1a",    "0x10",  "inf",  "-inf", "nan",
                         "NaN",  "1e",   "1e+",  ".",     "-",     "+-1",  "1..2", "1.2.3",
                         "1,5",  "1 2",  "e5",   "1e400", "--1",   "1e5x", "Infinity",
                         "0x1p3", "1_000", "١"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        double v = 12345;
        int r = mp_parse_number(bad[i], &v);
        if (r)
            fprintf(stderr, "  '%s' should not parse\n", bad[i]);
        CHECK(r == 0);
        CHECK(v == 12345); /* untouched on failure */
    }

    /* The fast path agrees with strtod bit for bit. */
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        char s[64];
        double want = (double)(x % 100000000) / (double)(1 + (x >> 40) % 100000);
        switch (i % 4) {
        case 0: snprintf(s, sizeof s, "%.17g", want); break;
        case 1: snprintf(s, sizeof s, "%.6f", want); break;
        case 2: snprintf(s, sizeof s, "%.3e", -want); break;
        default: snprintf(s, sizeof s, "%llu.%03u", (unsigned long long)(x >> 20), (unsigned)(x % 1000));
        }
        double got = 0;
        int r = mp_parse_number(s, &got);
        double ref = strtod(s, NULL);
        CHECK(r == 1);
        if (got != ref) {
            fprintf(stderr, "  '%s': got %.17g, strtod %.17g\n", s, got, ref);
            CHECK(got == ref);
            break;
        }
    }
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_basic);
    RUN(test_trim_and_empty_cells);
    RUN(test_quoting);
    RUN(test_bom_crlf_blank);
    RUN(test_delimiters);
    RUN(test_errors);
    RUN(test_files_and_gzip);
    RUN(test_large);
    RUN(test_is_missing);
    RUN(test_parse_number);
    mp_remove_tree(tmpdir);
    return TEST_SUMMARY();
}
