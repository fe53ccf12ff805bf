/* IDX reading: images and labels written by the test (plain and gzip,
 * truncated, wrong magic, unsupported types) and, when installed, Debian's
 * Fashion-MNIST checked against values computed with Python's gzip module. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/fileio.h"
#include "data/dataset.h"
#include "test.h"

static char tmpdir[] = "/tmp/mp_test_idx_XXXXXX";
static char path_buf[64][300];
static int npath;

static const char *tmp(const char *name)
{
    char *p = path_buf[npath++ % 64];
    snprintf(p, 300, "%s/%s", tmpdir, name);
    return p;
}

/* Writes an IDX file: magic 00 00 type ndims, big-endian dims, then `ndata`
 * bytes of data (which may be fewer or more than the dims say). */
static void write_idx(const char *path, int gz, unsigned type, unsigned ndims, const uint32_t *dims,
                      const unsigned char *data, size_t ndata)
{
    size_t len = 4 + 4 * (size_t)ndims + ndata;
    unsigned char *b = malloc(len);
    b[0] = 0;
    b[1] = 0;
    b[2] = (unsigned char)type;
    b[3] = (unsigned char)ndims;
    for (unsigned k = 0; k < ndims; k++) {
        b[4 + 4 * k] = (unsigned char)(dims[k] >> 24);
        b[5 + 4 * k] = (unsigned char)(dims[k] >> 16);
        b[6 + 4 * k] = (unsigned char)(dims[k] >> 8);
        b[7 + 4 * k] = (unsigned char)dims[k];
    }
    if (ndata)
        memcpy(b + 4 + 4 * ndims, data, ndata);
    if (gz) {
        gzFile f = gzopen(path, "wb");
        gzwrite(f, b, (unsigned)len);
        gzclose(f);
    } else {
        mp_write_atomic(path, b, len, NULL);
    }
    free(b);
}

static const unsigned char pixels[12] = {0, 255, 51, 102, 1, 2, 3, 4, 200, 100, 50, 25};
static const unsigned char labels3[3] = {7, 0, 9};

static void write_set(int gz, const char *img, const char *lab)
{
    write_idx(img, gz, 0x08, 3, (uint32_t[]){3, 2, 2}, pixels, 12);
    write_idx(lab, gz, 0x08, 1, (uint32_t[]){3}, labels3, 3);
}

static void expect_load_error(const char *path, const mp_load_opts *o, const char *msg, int line)
{
    mp_error e = {0};
    mp_dataset *d = (mp_dataset *)1;
    int rc = mp_dataset_load(path, o, &d, &e);
    if (rc != MP_EINPUT || strcmp(e.msg, msg) != 0 || d != NULL) {
        fprintf(stderr, "test_idx.c:%d: expected MP_EINPUT \"%s\", got %d \"%s\"\n", line, msg,
                rc, e.msg);
        mp_test_failed_checks++;
    }
    if (rc == 0)
        mp_dataset_destroy(d);
}
#define EXPECT_LOAD_ERROR(path, o, ...)                                                        \
    do {                                                                                       \
        char want_[1024];                                                                      \
        snprintf(want_, sizeof want_, __VA_ARGS__);                                            \
        expect_load_error(path, o, want_, __LINE__);                                           \
    } while (0)

static void test_images_and_labels(void)
{
    for (int gz = 0; gz < 2; gz++) {
        const char *img = tmp(gz ? "img.gz" : "img"), *lab = tmp(gz ? "lab.gz" : "lab");
        write_set(gz, img, lab);
        CHECK(mp_is_idx_file(img) == 1 && mp_is_idx_file(lab) == 1);
        mp_error e = {0};
        mp_dataset *d = NULL;
        int rc = mp_dataset_load(img, &(mp_load_opts){.target = "label", .labels = lab}, &d, &e);
        if (rc)
            fprintf(stderr, "%s\n", e.msg);
        REQUIRE(rc == 0);
        CHECK(d->nrows == 3 && d->ncols == 4);
        CHECK(strcmp(d->cols[0].name, "pixel0") == 0 && strcmp(d->cols[3].name, "pixel3") == 0);
        CHECK(d->cols[2].kind == MP_COL_NUMERIC);
        for (size_t i = 0; i < 12; i++)
            CHECK(d->X[i] == pixels[i] / 255.0);
        CHECK(d->X[1] == 1.0 && d->X[2] == 0.2);
        CHECK(d->nimage_dims == 2 && d->image_dims[0] == 2 && d->image_dims[1] == 2);
        CHECK(strcmp(d->ids[2], "2") == 0 && strcmp(d->id_name, "id") == 0);
        CHECK(strcmp(d->target_name, "label") == 0 && d->y_numeric == 1);
        CHECK(strcmp(d->y_text[0], "7") == 0 && d->y[2] == 9 && d->y[1] == 0);
        CHECK(mp_dataset_find(d, "pixel3") == 3);
        CHECK(strcmp(d->source, img) == 0);
        mp_dataset_destroy(d);

        int *l = NULL;
        size_t n = 0;
        CHECK(mp_idx_read_labels(lab, 0, &l, &n, &e) == 0);
        CHECK(n == 3 && l && l[0] == 7 && l[2] == 9);
        free(l);
        CHECK(mp_idx_read_labels(lab, 2, &l, &n, &e) == 0);
        CHECK(n == 2 && l[1] == 0);
        free(l);
    }
}

static void test_options(void)
{
    const char *img = tmp("img"), *lab = tmp("lab");
    write_set(0, img, lab);
    mp_error e = {0};
    mp_dataset *d = NULL;

    /* limit applies to images and labels alike. */
    REQUIRE(mp_dataset_load(img, &(mp_load_opts){.labels = lab, .limit = 2}, &d, &e) == 0);
    CHECK(d->nrows == 2 && d->y[1] == 0 && d->X[7] == 4 / 255.0);
    mp_dataset_destroy(d);

    /* No labels: no target, fine when it is optional or not asked for. */
    REQUIRE(mp_dataset_load(img, NULL, &d, &e) == 0);
    CHECK(d->target_name == NULL && d->y == NULL && d->y_text == NULL);
    mp_dataset_destroy(d);
    REQUIRE(mp_dataset_load(img, &(mp_load_opts){.target = "label", .target_optional = 1}, &d,
                            &e) == 0);
    CHECK(d->target_name == NULL);
    mp_dataset_destroy(d);
    EXPECT_LOAD_ERROR(img, (&(mp_load_opts){.target = "label"}),
                      "%s: no column 'label': IDX images carry no labels (give the label file)",
                      img);
    EXPECT_LOAD_ERROR(img, (&(mp_load_opts){.target = "y", .labels = lab}),
                      "%s: no column 'y' (IDX images have features pixel0..pixel3 and the target "
                      "'label' from a label file)",
                      img);

    /* A schema picks and orders pixels. */
    mp_column schema[] = {{.name = "pixel3"}, {.name = "pixel0"}};
    REQUIRE(mp_dataset_load(img, &(mp_load_opts){.schema = schema, .nschema = 2}, &d, &e) == 0);
    CHECK(d->ncols == 2 && strcmp(d->cols[0].name, "pixel3") == 0);
    CHECK(d->X[0] == 102 / 255.0 && d->X[1] == 0 && d->X[2] == 4 / 255.0 && d->X[3] == 1 / 255.0);
    mp_dataset_destroy(d);
    mp_column bad[] = {{.name = "pixel4"}};
    EXPECT_LOAD_ERROR(img, (&(mp_load_opts){.schema = bad, .nschema = 1}),
                      "%s: no column 'pixel4' (IDX images have pixel0..pixel3)", img);

    /* Colour images: count x rows x cols x channels. */
    const char *rgb = tmp("rgb");
    unsigned char px[12] = {0};
    px[11] = 255;
    write_idx(rgb, 0, 0x08, 4, (uint32_t[]){2, 1, 2, 3}, px, 12);
    REQUIRE(mp_dataset_load(rgb, NULL, &d, &e) == 0);
    CHECK(d->nrows == 2 && d->ncols == 6 && d->nimage_dims == 3);
    CHECK(d->image_dims[0] == 1 && d->image_dims[1] == 2 && d->image_dims[2] == 3);
    CHECK(d->X[11] == 1.0 && strcmp(d->cols[5].name, "pixel5") == 0);
    mp_dataset_destroy(d);
}

static void test_errors(void)
{
    const char *img = tmp("img"), *lab = tmp("lab");
    write_set(0, img, lab);

    /* Label count differs from the image count (even under a limit). */
    const char *lab4 = tmp("lab4");
    write_idx(lab4, 0, 0x08, 1, (uint32_t[]){4}, (const unsigned char *)"\1\2\3\4", 4);
    EXPECT_LOAD_ERROR(img, (&(mp_load_opts){.labels = lab4, .limit = 2}),
                      "%s: 3 images, but the label file %s has 4 labels", img, lab4);

    /* Truncated data, plain and gzip; truncated header; trailing bytes. */
    const char *tr = tmp("trunc"), *trgz = tmp("trunc.gz");
    write_idx(tr, 0, 0x08, 3, (uint32_t[]){3, 2, 2}, pixels, 11);
    write_idx(trgz, 1, 0x08, 3, (uint32_t[]){3, 2, 2}, pixels, 5);
    EXPECT_LOAD_ERROR(tr, NULL,
                      "%s: truncated IDX file: the header declares 28 bytes, found 27", tr);
    EXPECT_LOAD_ERROR(trgz, NULL,
                      "%s: truncated IDX file: the header declares 28 bytes, found 21", trgz);
    const char *hdr = tmp("hdr");
    REQUIRE(mp_write_atomic(hdr, "\0\0\x08\x03\0\0\0\x03\0\0", 10, NULL) == 0);
    EXPECT_LOAD_ERROR(hdr, NULL, "%s: truncated IDX file: the header needs 16 bytes, found 10",
                      hdr);
    const char *lng = tmp("long");
    write_idx(lng, 0, 0x08, 3, (uint32_t[]){1, 2, 2}, pixels, 5);
    EXPECT_LOAD_ERROR(lng, NULL, "%s: IDX file has 21 bytes, but its header declares 20", lng);
    const char *trl = tmp("trl");
    write_idx(trl, 0, 0x08, 1, (uint32_t[]){3}, labels3, 2);
    EXPECT_LOAD_ERROR(img, (&(mp_load_opts){.labels = trl}),
                      "%s: truncated IDX file: the header declares 11 bytes, found 10", trl);

    /* Wrong magic and unsupported element types. */
    const char *wm = tmp("wm");
    REQUIRE(mp_write_atomic(wm, "\0\0\x07\x03\0\0\0\0\0\0\0\0\0\0\0\0", 16, NULL) == 0);
    CHECK(mp_is_idx_file(wm) == 0);
    EXPECT_LOAD_ERROR(wm, NULL,
                      "%s: not an IDX file (magic number 00 00 07 03, expected 00 00 <type> "
                      "<dimensions>)",
                      wm);
    const char *wl = tmp("wl");
    REQUIRE(mp_write_atomic(wl, "\1\0\x08\x01\0\0\0\0", 8, NULL) == 0);
    mp_error e = {0};
    int *l = (int *)1;
    size_t n = 99;
    CHECK(mp_idx_read_labels(wl, 0, &l, &n, &e) == MP_EINPUT && l == NULL && n == 0);
    char want[512];
    snprintf(want, sizeof want,
             "%s: not an IDX file (magic number 01 00 08 01, expected 00 00 <type> <dimensions>)",
             wl);
    CHECK(strcmp(e.msg, want) == 0);
    CHECK(mp_is_idx_file(wl) == 0);
    /* Not IDX and not text either: the CSV reader refuses the NUL bytes. */
    mp_dataset *d = NULL;
    CHECK(mp_dataset_load(wl, NULL, &d, &e) == MP_EINPUT && d == NULL);
    CHECK_STR_CONTAINS(e.msg, "NUL byte");

    const char *fl = tmp("float");
    write_idx(fl, 0, 0x0D, 3, (uint32_t[]){1, 1, 1}, (const unsigned char *)"\0\0\0\0", 4);
    CHECK(mp_is_idx_file(fl) == 1);
    EXPECT_LOAD_ERROR(fl, NULL,
                      "%s: unsupported IDX element type 0x0D (float); only unsigned bytes (0x08) "
                      "are supported",
                      fl);

    /* Wrong ranks: labels given as images, images given as labels. */
    EXPECT_LOAD_ERROR(lab, NULL,
                      "%s: expected IDX images (3 dimensions: count, rows, columns; or 4 with "
                      "channels), found 1 dimension",
                      lab);
    EXPECT_LOAD_ERROR(img, (&(mp_load_opts){.labels = img}),
                      "%s: expected an IDX label file (1 dimension), found 3 dimensions", img);
    CHECK(mp_idx_read_labels(img, 0, &l, &n, &e) == MP_EINPUT);

    /* Zero images. */
    const char *empty = tmp("empty");
    write_idx(empty, 0, 0x08, 3, (uint32_t[]){0, 28, 28}, NULL, 0);
    EXPECT_LOAD_ERROR(empty, NULL, "%s: no data rows", empty);

    /* Missing files. */
    CHECK(mp_is_idx_file("/nonexistent/x") == 0);
    CHECK(mp_idx_read_labels("/nonexistent/x", 0, &l, &n, &e) == MP_ENOTFOUND);
    CHECK(mp_dataset_load(img, &(mp_load_opts){.labels = "/nonexistent/l"}, &d, &e) ==
          MP_ENOTFOUND);
    CHECK(d == NULL && strcmp(e.msg, "/nonexistent/l: No such file or directory") == 0);
    CHECK(mp_is_idx_file(lab) == 1);
    const char *csv = tmp("c.csv");
    REQUIRE(mp_write_atomic(csv, "a,b\n1,2\n", 8, NULL) == 0);
    CHECK(mp_is_idx_file(csv) == 0);
}

#define FMNIST "/usr/share/datasets/fashion-mnist"

static void test_fashion_mnist(void)
{
    if (access(FMNIST "/t10k-images-idx3-ubyte.gz", R_OK) != 0) {
        printf("skipping Fashion-MNIST checks: %s not installed (dataset-fashion-mnist)\n",
               FMNIST);
        return;
    }
    CHECK(mp_is_idx_file(FMNIST "/t10k-images-idx3-ubyte.gz") == 1);
    mp_error e = {0};
    mp_dataset *d = NULL;
    int rc = mp_dataset_load(FMNIST "/t10k-images-idx3-ubyte.gz",
                             &(mp_load_opts){.target = "label",
                                             .labels = FMNIST "/t10k-labels-idx1-ubyte.gz"},
                             &d, &e);
    if (rc)
        fprintf(stderr, "%s\n", e.msg);
    REQUIRE(rc == 0);
    CHECK(d->nrows == 10000 && d->ncols == 784);
    CHECK(d->nimage_dims == 2 && d->image_dims[0] == 28 && d->image_dims[1] == 28);
    CHECK(strcmp(d->cols[783].name, "pixel783") == 0);
    /* Reference values from Python: labels 9 2 1 1 6 ..., 1000 per class,
     * pixel sums 33456 (first image) and 24390 (last), centre pixel 110. */
    CHECK(d->y[0] == 9 && d->y[1] == 2 && d->y[2] == 1 && d->y[4] == 6);
    size_t per[10] = {0};
    for (size_t i = 0; i < d->nrows; i++)
        if (d->y[i] >= 0 && d->y[i] <= 9)
            per[(int)d->y[i]]++;
    for (int k = 0; k < 10; k++)
        CHECK(per[k] == 1000);
    double s0 = 0, sl = 0;
    for (size_t j = 0; j < 784; j++) {
        s0 += d->X[j] * 255.0;
        sl += d->X[9999 * 784 + j] * 255.0;
    }
    CHECK_NEAR(s0, 33456, 1e-6);
    CHECK_NEAR(sl, 24390, 1e-6);
    CHECK_NEAR(d->X[14 * 28 + 14] * 255.0, 110, 1e-9);
    mp_dataset_destroy(d);

    /* The training set under a limit. */
    rc = mp_dataset_load(FMNIST "/train-images-idx3-ubyte.gz",
                         &(mp_load_opts){.labels = FMNIST "/train-labels-idx1-ubyte.gz",
                                         .limit = 5},
                         &d, &e);
    REQUIRE(rc == 0);
    CHECK(d->nrows == 5 && d->y[0] == 9 && d->y[3] == 3);
    CHECK_NEAR(d->X[14 * 28 + 14] * 255.0, 217, 1e-9);
    mp_dataset_destroy(d);
}

int main(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_images_and_labels);
    RUN(test_options);
    RUN(test_errors);
    RUN(test_fashion_mnist);
    mp_remove_tree(tmpdir);
    return TEST_SUMMARY();
}
