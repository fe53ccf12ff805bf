/* Datasets from CSV: column roles, type inference, missing-value policies,
 * limits, schemas, and the exact messages of every input error. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/fileio.h"
#include "data/dataset.h"
#include "test.h"

static char tmpdir[] = "/tmp/mp_test_dataset_XXXXXX";

/* Builds a dataset from CSV text; NULL (with the error printed) on failure. */
static mp_dataset *load(const char *csv, const mp_load_opts *o)
{
    mp_error e = {0};
    mp_table *t = NULL;
    if (mp_csv_parse("t.csv", csv, strlen(csv), 0, &t, &e)) {
        fprintf(stderr, "csv error: %s\n", e.msg);
        return NULL;
    }
    mp_dataset *d = NULL;
    if (mp_dataset_from_table(t, o, &d, &e))
        fprintf(stderr, "dataset error: %s\n", e.msg);
    mp_table_destroy(t);
    return d;
}

static void expect_error_at(const char *csv, const mp_load_opts *o, int code, const char *msg,
                            int line)
{
    mp_error e = {0};
    mp_table *t = NULL;
    if (mp_csv_parse("t.csv", csv, strlen(csv), 0, &t, &e)) {
        fprintf(stderr, "test_dataset.c:%d: csv error: %s\n", line, e.msg);
        mp_test_failed_checks++;
        return;
    }
    mp_dataset *d = (mp_dataset *)1;
    int rc = mp_dataset_from_table(t, o, &d, &e);
    if (rc != code || strcmp(e.msg, msg) != 0 || d != NULL) {
        fprintf(stderr, "test_dataset.c:%d: expected %d \"%s\", got %d \"%s\"\n", line, code, msg,
                rc, e.msg);
        mp_test_failed_checks++;
    }
    if (rc == 0)
        mp_dataset_destroy(d);
    mp_table_destroy(t);
}
#define EXPECT_ERROR(csv, o, msg) expect_error_at(csv, o, MP_EINPUT, msg, __LINE__)

static double X(const mp_dataset *d, size_t r, size_t c) { return d->X[r * d->ncols + c]; }

static void test_roles_and_inference(void)
{
    const char *csv = "id,age,color,score,target\n"
                      "p1,30,red,1.5,yes\n"
                      "p2,41,blue,-2,no\n"
                      "p3,25,red,1e2,yes\n";
    mp_load_opts o = {.target = "target", .id = "id"};
    mp_dataset *d = load(csv, &o);
    REQUIRE(d);
    CHECK(d->nrows == 3 && d->ncols == 3);
    CHECK(strcmp(d->source, "t.csv") == 0);
    CHECK(strcmp(d->cols[0].name, "age") == 0 && d->cols[0].kind == MP_COL_NUMERIC);
    CHECK(strcmp(d->cols[1].name, "color") == 0 && d->cols[1].kind == MP_COL_CATEGORICAL);
    CHECK(strcmp(d->cols[2].name, "score") == 0 && d->cols[2].kind == MP_COL_NUMERIC);
    REQUIRE(d->cols[1].nlevels == 2);
    CHECK(strcmp(d->cols[1].levels[0], "red") == 0 && strcmp(d->cols[1].levels[1], "blue") == 0);
    CHECK(X(d, 0, 0) == 30 && X(d, 1, 0) == 41 && X(d, 2, 0) == 25);
    CHECK(X(d, 0, 1) == 0 && X(d, 1, 1) == 1 && X(d, 2, 1) == 0);
    CHECK(X(d, 0, 2) == 1.5 && X(d, 1, 2) == -2 && X(d, 2, 2) == 100);
    CHECK(strcmp(d->id_name, "id") == 0);
    CHECK(strcmp(d->ids[0], "p1") == 0 && strcmp(d->ids[2], "p3") == 0);
    CHECK(strcmp(d->target_name, "target") == 0);
    CHECK(strcmp(d->y_text[1], "no") == 0);
    CHECK(d->y_numeric == 0 && isnan(d->y[0]));
    CHECK(d->nimage_dims == 0 && d->ndropped == 0);
    CHECK(mp_dataset_find(d, "score") == 2 && mp_dataset_find(d, "id") == -1 &&
          mp_dataset_find(d, "target") == -1);
    mp_dataset_destroy(d);

    /* Numeric target, no id: ids are row positions, the id name "id". */
    d = load("a,y\n1,0.5\n2,3\n", &(mp_load_opts){.target = "y"});
    REQUIRE(d);
    CHECK(d->ncols == 1 && d->y_numeric == 1 && d->y[0] == 0.5 && d->y[1] == 3);
    CHECK(strcmp(d->y_text[0], "0.5") == 0);
    CHECK(strcmp(d->ids[0], "0") == 0 && strcmp(d->ids[1], "1") == 0);
    CHECK(strcmp(d->id_name, "id") == 0);
    mp_dataset_destroy(d);

    /* No target requested: every column is a feature. */
    d = load("a,y\n1,2\n", NULL);
    REQUIRE(d);
    CHECK(d->ncols == 2 && d->target_name == NULL && d->y == NULL && d->y_text == NULL);
    mp_dataset_destroy(d);

    /* An absent optional target. */
    d = load("a,b\n1,2\n", &(mp_load_opts){.target = "y", .target_optional = 1});
    REQUIRE(d);
    CHECK(d->ncols == 2 && d->target_name == NULL && d->y == NULL);
    mp_dataset_destroy(d);

    /* Majority rule: mostly words is categorical, a tie too; numbers that
     * are forced categorical keep their text as levels. */
    d = load("w,t,zip\na,1,10001\n2,x,2\nb,y,10001\nc,3,10001\n3,z,007\n",
             &(mp_load_opts){.categorical = (const char *const[]){"zip"}, .ncategorical = 1});
    REQUIRE(d);
    CHECK(d->cols[0].kind == MP_COL_CATEGORICAL && d->cols[0].nlevels == 5);
    CHECK(strcmp(d->cols[0].levels[1], "2") == 0);
    CHECK(d->cols[1].kind == MP_COL_CATEGORICAL && d->cols[1].nlevels == 5);
    CHECK(d->cols[2].kind == MP_COL_CATEGORICAL && d->cols[2].nlevels == 3);
    CHECK(strcmp(d->cols[2].levels[0], "10001") == 0 && strcmp(d->cols[2].levels[2], "007") == 0);
    CHECK(X(d, 3, 2) == 0 && X(d, 4, 2) == 2);
    mp_dataset_destroy(d);
    d = load("t\n1\nx\n", NULL); /* a tie is not a majority */
    REQUIRE(d);
    CHECK(d->cols[0].kind == MP_COL_CATEGORICAL && X(d, 1, 0) == 1);
    mp_dataset_destroy(d);
}

static void test_column_errors(void)
{
    EXPECT_ERROR("a,b,c\n1,2,3\n", (&(mp_load_opts){.target = "x"}),
                 "t.csv: no column 'x' (columns: a, b, c)");
    EXPECT_ERROR("a,b,c\n1,2,3\n", (&(mp_load_opts){.target = "a", .id = "key"}),
                 "t.csv: no column 'key' (columns: a, b, c)");
    EXPECT_ERROR("a,b,c\n1,2,3\n",
                 (&(mp_load_opts){.categorical = (const char *const[]){"d"}, .ncategorical = 1}),
                 "t.csv: no column 'd' (columns: a, b, c)");
    expect_error_at("a,b\n1,2\n", &(mp_load_opts){.target = "a", .id = "a"}, MP_EINVAL,
                    "t.csv: column 'a' cannot be both the id and the target", __LINE__);

    /* A long header is abbreviated in the message. */
    char hdr[2048] = "";
    for (int i = 0; i < 40; i++)
        snprintf(hdr + strlen(hdr), sizeof hdr - strlen(hdr), "%sc%d", i ? "," : "", i);
    strcat(hdr, "\n");
    for (int i = 0; i < 40; i++)
        strcat(hdr, i ? ",1" : "1");
    strcat(hdr, "\n");
    mp_error e = {0};
    mp_table *t = NULL;
    REQUIRE(mp_csv_parse("t.csv", hdr, strlen(hdr), 0, &t, &e) == 0);
    mp_dataset *d = NULL;
    CHECK(mp_dataset_from_table(t, &(mp_load_opts){.target = "q"}, &d, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "t.csv: no column 'q' (columns: c0, c1, ");
    CHECK_STR_CONTAINS(e.msg, "c29, ... (40 in all)");
    mp_table_destroy(t);

    /* Mostly numbers, then a word: an error at the word. */
    EXPECT_ERROR("name,age\nann,1\nbob,2\ncy, abc\ndan,4\n", NULL,
                 "t.csv:4:5: cannot parse 'abc' as a number in column 'age'");
    /* The earliest bad cell over all columns is reported. */
    EXPECT_ERROR("a,b\n1,1\n2,2\n3,x\ny,4\n5,5\n", NULL,
                 "t.csv:4:3: cannot parse 'x' as a number in column 'b'");
}

static void test_missing_policies(void)
{
    const char *csv = "a,b,y\n"
                      "1,2,0\n"
                      "3,,1\n"
                      "NA,5,1\n"
                      "7,8,?\n"
                      "9,10,0\n";
    EXPECT_ERROR(csv, (&(mp_load_opts){.target = "y"}),
                 "t.csv:3:3: missing value in column 'b' (use --missing drop or --missing mean)");
    EXPECT_ERROR("a,y\n1,2\n3,NA\n", (&(mp_load_opts){.target = "y"}),
                 "t.csv:3:3: missing value in column 'y' (use --missing drop or --missing mean)");
    /* Missing cells in columns that are not used are no error. */
    mp_dataset *d = load("a,b,y\n1,,0\n", &(mp_load_opts){
        .target = "y", .schema = (mp_column[]){{.name = "a"}}, .nschema = 1});
    REQUIRE(d);
    CHECK(d->ncols == 1 && X(d, 0, 0) == 1);
    mp_dataset_destroy(d);

    d = load(csv, &(mp_load_opts){.target = "y", .missing = MP_MISSING_DROP});
    REQUIRE(d);
    CHECK(d->nrows == 2 && d->ndropped == 3);
    CHECK(strcmp(d->ids[0], "0") == 0 && strcmp(d->ids[1], "4") == 0);
    CHECK(X(d, 1, 0) == 9 && X(d, 1, 1) == 10 && d->y[1] == 0);
    mp_dataset_destroy(d);

    d = load(csv, &(mp_load_opts){.target = "y", .missing = MP_MISSING_MEAN});
    REQUIRE(d);
    CHECK(d->nrows == 4 && d->ndropped == 1);
    CHECK(strcmp(d->ids[3], "4") == 0);
    CHECK(isnan(X(d, 1, 1)) && X(d, 1, 0) == 3);
    CHECK(isnan(X(d, 2, 0)) && X(d, 2, 1) == 5);
    CHECK(d->y_numeric == 1);
    mp_dataset_destroy(d);

    /* MEAN: an all-missing column stays numeric NaN; missing categorical
     * cells are NaN too. */
    d = load("a,b,c\n1,,x\n2,NA,\n3,,z\n", &(mp_load_opts){.missing = MP_MISSING_MEAN});
    REQUIRE(d);
    CHECK(d->cols[1].kind == MP_COL_NUMERIC && isnan(X(d, 0, 1)) && isnan(X(d, 2, 1)));
    CHECK(d->cols[2].kind == MP_COL_CATEGORICAL && d->cols[2].nlevels == 2);
    CHECK(X(d, 0, 2) == 0 && isnan(X(d, 1, 2)) && X(d, 2, 2) == 1);
    mp_dataset_destroy(d);

    /* Everything dropped, or nothing there. */
    mp_error e = {0};
    mp_table *t = NULL;
    REQUIRE(mp_csv_parse("t.csv", "a,y\n1,\n,2\n", 10, 0, &t, &e) == 0);
    d = (mp_dataset *)1;
    CHECK(mp_dataset_from_table(t, &(mp_load_opts){.target = "y", .missing = MP_MISSING_DROP}, &d,
                                &e) == MP_EINPUT);
    CHECK(d == NULL);
    CHECK(strncmp(e.msg, "t.csv: no data rows", 19) == 0);
    mp_table_destroy(t);
    EXPECT_ERROR("a,y\n", (&(mp_load_opts){.target = "y"}), "t.csv: no data rows");
}

static void test_limit(void)
{
    const char *csv = "a,y\n1,0\n,1\n3,0\n4,1\n5,1\n";
    mp_dataset *d = load(csv, &(mp_load_opts){.target = "y", .limit = 3,
                                               .missing = MP_MISSING_DROP});
    REQUIRE(d);
    /* The limit counts rows in the file, before dropping. */
    CHECK(d->nrows == 2 && d->ndropped == 1);
    CHECK(strcmp(d->ids[0], "0") == 0 && strcmp(d->ids[1], "2") == 0);
    CHECK(X(d, 1, 0) == 3);
    mp_dataset_destroy(d);
    d = load(csv, &(mp_load_opts){.target = "y", .limit = 100, .missing = MP_MISSING_DROP});
    REQUIRE(d);
    CHECK(d->nrows == 4);
    mp_dataset_destroy(d);
    /* A bad cell past the limit is never looked at. */
    d = load("a\n1\n2\nx\n", &(mp_load_opts){.limit = 2});
    REQUIRE(d);
    CHECK(d->nrows == 2 && d->cols[0].kind == MP_COL_NUMERIC);
    mp_dataset_destroy(d);
}

static void test_schema(void)
{
    const char *csv = "extra,b,a,c,y\n"
                      "z,1,x,10,0\n"
                      "z,2,w,20,1\n";
    mp_column schema[] = {{.name = "c", .kind = MP_COL_NUMERIC},
                          {.name = "a", .kind = MP_COL_CATEGORICAL},
                          {.name = "b", .kind = MP_COL_CATEGORICAL}};
    mp_load_opts o = {.target = "y", .schema = schema, .nschema = 3};
    mp_dataset *d = load(csv, &o);
    REQUIRE(d);
    REQUIRE(d->ncols == 3);
    CHECK(strcmp(d->cols[0].name, "c") == 0 && d->cols[0].kind == MP_COL_NUMERIC);
    CHECK(strcmp(d->cols[1].name, "a") == 0 && d->cols[1].kind == MP_COL_CATEGORICAL);
    CHECK(strcmp(d->cols[2].name, "b") == 0 && d->cols[2].kind == MP_COL_CATEGORICAL);
    CHECK(X(d, 1, 0) == 20 && X(d, 1, 1) == 1);
    REQUIRE(d->cols[2].nlevels == 2);
    CHECK(strcmp(d->cols[2].levels[0], "1") == 0 && strcmp(d->cols[2].levels[1], "2") == 0);
    mp_dataset_destroy(d);

    /* Without a target (prediction input). */
    o.target = NULL;
    d = load("a,b,c\nq,1,2\n", &o);
    REQUIRE(d);
    CHECK(d->ncols == 3 && d->target_name == NULL && X(d, 0, 0) == 2);
    mp_dataset_destroy(d);

    EXPECT_ERROR("a,b\nx,1\n", (&o), "t.csv: no column 'c' (columns: a, b)");
    /* A numeric schema column must hold numbers, however many words. */
    mp_column num[] = {{.name = "v", .kind = MP_COL_NUMERIC}};
    EXPECT_ERROR("v\nfoo\nbar\n", (&(mp_load_opts){.schema = num, .nschema = 1}),
                 "t.csv:2:1: cannot parse 'foo' as a number in column 'v'");
}

static void test_load_files(void)
{
    char path[256], gz[256];
    snprintf(path, sizeof path, "%s/d.csv", tmpdir);
    snprintf(gz, sizeof gz, "%s/d.tsv.gz", tmpdir);
    const char *csv = "\xEF\xBB\xBFx,label\r\n1,a\r\n2,b\r\n";
    REQUIRE(mp_write_atomic(path, csv, strlen(csv), NULL) == 0);
    gzFile f = gzopen(gz, "wb");
    REQUIRE(f);
    const char *tsv = "x\tlabel\n1\ta\n2\tb\n";
    CHECK(gzwrite(f, tsv, (unsigned)strlen(tsv)) == (int)strlen(tsv));
    gzclose(f);
    const char *paths[] = {path, gz};
    for (int k = 0; k < 2; k++) {
        mp_error e = {0};
        mp_dataset *d = NULL;
        int rc = mp_dataset_load(paths[k], &(mp_load_opts){.target = "label"}, &d, &e);
        CHECK(rc == 0);
        if (rc) {
            fprintf(stderr, "%s\n", e.msg);
            continue;
        }
        CHECK(d->nrows == 2 && d->ncols == 1 && X(d, 1, 0) == 2);
        CHECK(strcmp(d->y_text[1], "b") == 0);
        CHECK(strcmp(d->source, paths[k]) == 0);
        mp_dataset_destroy(d);
    }
    /* A given delimiter reaches the reader. */
    mp_error e = {0};
    mp_dataset *d = NULL;
    CHECK(mp_dataset_load(path, &(mp_load_opts){.delimiter = ';'}, &d, &e) == 0);
    if (d)
        CHECK(d->ncols == 1 && strcmp(d->cols[0].name, "x,label") == 0);
    mp_dataset_destroy(d);

    /* Errors name the file: a missing cell, a label file with CSV. */
    REQUIRE(mp_write_atomic(path, "a,y\n1,2\n,3\n", 11, NULL) == 0);
    d = NULL;
    CHECK(mp_dataset_load(path, &(mp_load_opts){.target = "y"}, &d, &e) == MP_EINPUT && !d);
    char want[400];
    snprintf(want, sizeof want,
             "%s:3:1: missing value in column 'a' (use --missing drop or --missing mean)", path);
    CHECK(strcmp(e.msg, want) == 0);
    CHECK(mp_dataset_load(path, &(mp_load_opts){.labels = "l.idx"}, &d, &e) == MP_EINVAL);
    CHECK(mp_dataset_load("/nonexistent.csv", NULL, &d, &e) == MP_ENOTFOUND);
}

static void test_big(void)
{
    /* 100k rows x 6 columns through the whole path, checked against sums
     * computed while writing. */
    char path[256];
    snprintf(path, sizeof path, "%s/big.csv", tmpdir);
    size_t n = 100000, cap = n * 80 + 64, len = 0;
    char *buf = malloc(cap);
    REQUIRE(buf);
    len += (size_t)snprintf(buf + len, cap - len, "id,f1,f2,f3,cat,target\n");
    double s1 = 0, s3 = 0;
    for (size_t i = 0; i < n; i++) {
        double f1 = (double)(i % 1000) / 8.0, f3 = -(double)i;
        s1 += f1;
        s3 += f3;
        len += (size_t)snprintf(buf + len, cap - len, "r%zu,%g,%s,%g,%c,%zu\n", i, f1,
                                i % 10 ? "0.5" : "NA", f3, "abcd"[i % 4], i % 2);
    }
    int rc = mp_write_atomic(path, buf, len, NULL);
    free(buf);
    REQUIRE(rc == 0);
    mp_error e = {0};
    mp_dataset *d = NULL;
    rc = mp_dataset_load(path, &(mp_load_opts){.target = "target", .id = "id",
                                               .missing = MP_MISSING_MEAN}, &d, &e);
    if (rc)
        fprintf(stderr, "%s\n", e.msg);
    REQUIRE(rc == 0);
    CHECK(d->nrows == n && d->ncols == 4);
    double t1 = 0, t3 = 0;
    size_t nan2 = 0;
    for (size_t i = 0; i < n; i++) {
        t1 += X(d, i, 0);
        t3 += X(d, i, 2);
        nan2 += isnan(X(d, i, 1)) != 0;
    }
    CHECK(t1 == s1 && t3 == s3);
    CHECK(nan2 == n / 10);
    CHECK(d->cols[3].kind == MP_COL_CATEGORICAL && d->cols[3].nlevels == 4);
    CHECK(strcmp(d->ids[n - 1], "r99999") == 0 && d->y[n - 1] == 1 && d->y_numeric);
    mp_dataset_destroy(d);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_roles_and_inference);
    RUN(test_column_errors);
    RUN(test_missing_policies);
    RUN(test_limit);
    RUN(test_schema);
    RUN(test_load_files);
    RUN(test_big);
    mp_remove_tree(tmpdir);
    return TEST_SUMMARY();
}
