/* Tensor bags and the safetensors codec: exact layout, round trips of every
 * dtype, and the decoder's refusal of every kind of damaged file. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/fileio.h"
#include "ml/safetensors.h"
#include "ml/tensors.h"
#include "test.h"

static int bag_is_empty(const mp_tensors *b)
{
    return b->n == 0 && b->nmeta == 0 && b->t == NULL && b->meta_keys == NULL &&
           b->meta_vals == NULL;
}

/* A file from a header string and data bytes, with the length field set to
 * the header's length. */
static void make_file(mp_buf *out, const char *hdr, const void *data, size_t dlen)
{
    size_t h = strlen(hdr);
    unsigned char len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (unsigned char)((uint64_t)h >> (8 * i));
    mp_buf_reset(out);
    mp_buf_append(out, len, 8);
    mp_buf_append(out, hdr, h);
    if (dlen)
        mp_buf_append(out, data, dlen);
}

/* Decodes hdr+data and expects MP_EFORMAT with `want` in the message and
 * the bag left empty. */
static int bad_file(const char *hdr, size_t dlen, const char *want)
{
    static unsigned char zeros[256];
    mp_buf f = {0};
    make_file(&f, hdr, zeros, dlen);
    mp_tensors b = {0};
    mp_error e = {0};
    int rc = mp_safetensors_decode("m/1/model.safetensors", f.data, f.len, &b, &e);
    int ok = rc == MP_EFORMAT && e.code == MP_EFORMAT && bag_is_empty(&b) &&
             strstr(e.msg, want) != NULL && strncmp(e.msg, "m/1/model.safetensors: ", 23) == 0;
    if (!ok)
        fprintf(stderr, "header %s + %zu bytes: rc %d, message \"%s\", wanted \"%s\"\n", hdr, dlen,
                rc, e.msg, want);
    mp_tensors_free(&b);
    mp_buf_free(&f);
    return ok;
}

/* A bag holding one tensor of each dtype, a scalar, two empty tensors and
 * metadata with characters JSON must escape. */
static void sample_bag(mp_tensors *b)
{
    mp_error e = {0};
    const double f64[6] = {1.5, -2.25, 0.0, 1e300, -1e-300, INFINITY};
    const float f32[4] = {0.5f, -3.0f, 1e-30f, 65504.0f};
    const int64_t i64[3] = {INT64_MIN, -1, INT64_MAX};
    const int32_t i32[3] = {INT32_MIN, 7, INT32_MAX};
    const uint8_t u8[5] = {0, 1, 127, 128, 255};
    const double scalar = 42.0;
    int64_t s23[2] = {2, 3}, s4[1] = {4}, s3[1] = {3}, s5[1] = {5}, s0[1] = {0}, s302[3] = {3, 0, 2};
    CHECK(mp_tensors_add(b, "w.f64", MP_DT_F64, 2, s23, f64, &e) == 0);
    CHECK(mp_tensors_add(b, "b.f32", MP_DT_F32, 1, s4, f32, &e) == 0);
    CHECK(mp_tensors_add(b, "i64", MP_DT_I64, 1, s3, i64, &e) == 0);
    CHECK(mp_tensors_add(b, "i32", MP_DT_I32, 1, s3, i32, &e) == 0);
    CHECK(mp_tensors_add(b, "u8", MP_DT_U8, 1, s5, u8, &e) == 0);
    CHECK(mp_tensors_add(b, "scalar", MP_DT_F64, 0, NULL, &scalar, &e) == 0);
    CHECK(mp_tensors_add(b, "empty", MP_DT_F32, 1, s0, NULL, &e) == 0);
    CHECK(mp_tensors_add(b, "empty3d", MP_DT_I64, 3, s302, NULL, &e) == 0);
    CHECK(mp_tensors_set_meta(b, "algorithm", "knn") == 0);
    CHECK(mp_tensors_set_meta(b, "params", "{\"k\":5,\"note\":\"a\\\"b\\n\"}") == 0);
    CHECK(mp_tensors_set_meta(b, "label", "caf\xc3\xa9 \xe2\x82\xac") == 0);
    CHECK(mp_tensors_set_meta(b, "empty", "") == 0);
}

static void test_bag_basics(void)
{
    mp_tensors b = {0};
    mp_error e = {0};
    CHECK(mp_dtype_size(MP_DT_F64) == 8 && mp_dtype_size(MP_DT_F32) == 4 &&
          mp_dtype_size(MP_DT_I64) == 8 && mp_dtype_size(MP_DT_I32) == 4 &&
          mp_dtype_size(MP_DT_U8) == 1);
    CHECK(!strcmp(mp_dtype_name(MP_DT_F64), "F64") && !strcmp(mp_dtype_name(MP_DT_U8), "U8") &&
          !strcmp(mp_dtype_name(MP_DT_I32), "I32"));
    double v[6] = {1, 2, 3, 4, 5, 6};
    int64_t s[2] = {3, 2};
    REQUIRE(mp_tensors_add(&b, "coef", MP_DT_F64, 2, s, v, &e) == 0);
    v[0] = 99; /* the bag holds a copy */
    const mp_tensor *t = mp_tensors_get(&b, "coef");
    REQUIRE(t != NULL);
    CHECK(t->nelems == 6 && t->ndim == 2 && t->shape[0] == 3 && t->shape[1] == 2);
    CHECK(((const double *)t->data)[0] == 1 && ((const double *)t->data)[5] == 6);
    CHECK(mp_tensors_get(&b, "nope") == NULL);

    CHECK(mp_tensors_add(&b, "coef", MP_DT_F64, 2, s, v, &e) == MP_EEXIST);
    CHECK_STR_CONTAINS(e.msg, "'coef'");
    CHECK(mp_tensors_add(&b, "__metadata__", MP_DT_F64, 2, s, v, &e) == MP_EINVAL);
    CHECK(mp_tensors_add(&b, "", MP_DT_F64, 2, s, v, &e) == MP_EINVAL);
    int64_t neg[1] = {-1};
    CHECK(mp_tensors_add(&b, "n", MP_DT_F64, 1, neg, v, &e) == MP_EINVAL);
    CHECK(mp_tensors_add(&b, "r", MP_DT_F64, 9, s, v, &e) == MP_EINVAL);
    CHECK(mp_tensors_add(&b, "d", MP_DT_F64, 1, s, NULL, &e) == MP_EINVAL);
    int64_t huge[3] = {INT64_MAX, INT64_MAX, 2};
    CHECK(mp_tensors_add(&b, "h", MP_DT_F64, 3, huge, v, &e) == MP_EINVAL);
    CHECK(mp_tensors_add(&b, "h", (mp_dtype)99, 1, s, v, &e) == MP_EINVAL);
    CHECK(b.n == 1);

    const mp_tensor *got = NULL;
    int64_t want[2] = {3, -1};
    CHECK(mp_tensors_expect(&b, "coef", MP_DT_F64, 2, want, &got, &e) == 0 && got == t);
    int64_t wrong[2] = {2, 3};
    CHECK(mp_tensors_expect(&b, "coef", MP_DT_F64, 2, wrong, &got, &e) == MP_EFORMAT);
    CHECK_STR_CONTAINS(e.msg, "tensor 'coef': expected F64 of shape [2, 3], found F64 of shape [3, 2]");
    CHECK(mp_tensors_expect(&b, "coef", MP_DT_F32, 2, want, &got, &e) == MP_EFORMAT);
    CHECK_STR_CONTAINS(e.msg, "expected F32 of shape [3, -1], found F64");
    CHECK(mp_tensors_expect(&b, "coef", MP_DT_F64, 1, want, &got, &e) == MP_EFORMAT);
    CHECK(mp_tensors_expect(&b, "bias", MP_DT_F64, 1, want, &got, &e) == MP_EFORMAT);
    CHECK_STR_CONTAINS(e.msg, "missing tensor 'bias'");

    CHECK(mp_tensors_meta(&b, "k") == NULL);
    CHECK(mp_tensors_set_meta(&b, "k", "1") == 0);
    CHECK(mp_tensors_set_meta(&b, "k", "2") == 0);
    CHECK(b.nmeta == 1 && !strcmp(mp_tensors_meta(&b, "k"), "2"));
    mp_tensors_free(&b);
    CHECK(bag_is_empty(&b));
    mp_tensors_free(&b); /* harmless twice */
}

/* The bytes of a one-tensor file, checked by hand against the format. */
static void test_exact_layout(void)
{
    mp_tensors b = {0};
    mp_error e = {0};
    const double v[2] = {1.0, -2.0};
    int64_t s[1] = {2};
    REQUIRE(mp_tensors_add(&b, "a", MP_DT_F64, 1, s, v, &e) == 0);
    REQUIRE(mp_tensors_set_meta(&b, "k", "vv") == 0);
    mp_buf out = {0};
    REQUIRE(mp_safetensors_encode(&b, &out, &e) == 0);
    const char *hdr = "{\"__metadata__\":{\"k\":\"vv\"},\"a\":{\"data_offsets\":[0,16],\"dtype\":"
                      "\"F64\",\"shape\":[2]}}";
    size_t h = strlen(hdr), padded = (h + 7) / 8 * 8;
    const unsigned char *p = (const unsigned char *)out.data;
    CHECK(out.len == 8 + padded + 16);
    CHECK(padded % 8 == 0 && padded > h); /* 81 bytes of JSON pad to 88 */
    CHECK(p[0] == padded && p[1] == 0 && p[2] == 0 && p[7] == 0);
    CHECK(memcmp(p + 8, hdr, h) == 0);
    for (size_t i = h; i < padded; i++)
        CHECK(p[8 + i] == ' ');
    /* 1.0 and -2.0 as little-endian IEEE doubles. */
    const unsigned char one[8] = {0, 0, 0, 0, 0, 0, 0xF0, 0x3F};
    const unsigned char mtwo[8] = {0, 0, 0, 0, 0, 0, 0, 0xC0};
    CHECK(memcmp(p + 8 + padded, one, 8) == 0);
    CHECK(memcmp(p + 8 + padded + 8, mtwo, 8) == 0);
    mp_buf_free(&out);
    mp_tensors_free(&b);

    /* An empty bag is a valid file: "{}" padded to 8 bytes, no data. */
    mp_tensors empty = {0};
    REQUIRE(mp_safetensors_encode(&empty, &out, &e) == 0);
    CHECK(out.len == 16 && out.data[0] == 8 && !memcmp(out.data + 8, "{}      ", 8));
    mp_tensors back = {0};
    CHECK(mp_safetensors_decode("x", out.data, out.len, &back, &e) == 0 && bag_is_empty(&back));
    mp_tensors_free(&back);
    mp_buf_free(&out);
}

static void test_round_trip(void)
{
    mp_tensors b = {0}, c = {0};
    mp_error e = {0};
    sample_bag(&b);
    mp_buf out = {0};
    REQUIRE(mp_safetensors_encode(&b, &out, &e) == 0);
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++)
        hlen |= (uint64_t)(unsigned char)out.data[i] << (8 * i);
    CHECK(hlen % 8 == 0);
    REQUIRE(mp_safetensors_decode("mem", out.data, out.len, &c, &e) == 0);
    REQUIRE(c.n == b.n);
    /* Decoded tensors come back sorted by name. */
    for (size_t i = 1; i < c.n; i++)
        CHECK(strcmp(c.t[i - 1].name, c.t[i].name) < 0);
    for (size_t i = 0; i < b.n; i++) {
        const mp_tensor *x = &b.t[i], *y = mp_tensors_get(&c, x->name);
        REQUIRE(y != NULL);
        CHECK(x->dtype == y->dtype && x->ndim == y->ndim && x->nelems == y->nelems);
        for (int d = 0; d < x->ndim; d++)
            CHECK(x->shape[d] == y->shape[d]);
        CHECK(y->data != NULL);
        CHECK(memcmp(x->data, y->data, x->nelems * mp_dtype_size(x->dtype)) == 0);
    }
    const mp_tensor *s = mp_tensors_get(&c, "scalar");
    REQUIRE(s);
    CHECK(s->ndim == 0 && s->nelems == 1 && *(const double *)s->data == 42.0);
    const mp_tensor *em = mp_tensors_get(&c, "empty3d");
    REQUIRE(em);
    CHECK(em->ndim == 3 && em->shape[0] == 3 && em->shape[1] == 0 && em->shape[2] == 2 &&
          em->nelems == 0 && em->dtype == MP_DT_I64);
    const mp_tensor *i64 = mp_tensors_get(&c, "i64");
    REQUIRE(i64);
    CHECK(((const int64_t *)i64->data)[0] == INT64_MIN && ((const int64_t *)i64->data)[2] == INT64_MAX);
    CHECK(c.nmeta == 4);
    CHECK(!strcmp(mp_tensors_meta(&c, "algorithm"), "knn"));
    CHECK(!strcmp(mp_tensors_meta(&c, "params"), "{\"k\":5,\"note\":\"a\\\"b\\n\"}"));
    CHECK(!strcmp(mp_tensors_meta(&c, "label"), "caf\xc3\xa9 \xe2\x82\xac"));
    CHECK(!strcmp(mp_tensors_meta(&c, "empty"), ""));

    /* Encoding the decoded bag gives the same bytes: the output is canonical. */
    mp_buf again = {0};
    REQUIRE(mp_safetensors_encode(&c, &again, &e) == 0);
    CHECK(again.len == out.len && memcmp(again.data, out.data, out.len) == 0);
    mp_buf_free(&again);

    /* A bag must be empty to decode into. */
    CHECK(mp_safetensors_decode("mem", out.data, out.len, &c, &e) == MP_EINVAL);
    mp_buf_free(&out);
    mp_tensors_free(&b);
    mp_tensors_free(&c);
}

static void test_encode_rejects(void)
{
    mp_error e = {0};
    mp_buf out = {0};
    mp_tensors b = {0};
    double v[2] = {1, 2};
    int64_t s[1] = {2};
    REQUIRE(mp_tensors_add(&b, "ok", MP_DT_F64, 1, s, v, &e) == 0);
    CHECK(mp_tensors_set_meta(&b, "bad", "\xff\xfe") == 0);
    CHECK(mp_safetensors_encode(&b, &out, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "metadata 'bad': value is not valid UTF-8");
    mp_tensors_free(&b);

    REQUIRE(mp_tensors_add(&b, "bad\xc0\x80", MP_DT_F64, 1, s, v, &e) == 0);
    CHECK(mp_safetensors_encode(&b, &out, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "is not valid UTF-8");
    /* A hand-built bag whose nelems disagrees with its shape. */
    b.t[0].nelems = 3;
    CHECK(mp_safetensors_encode(&b, &out, &e) == MP_EINVAL);
    mp_tensors_free(&b);
    mp_buf_free(&out);
}

static void test_file_round_trip(void)
{
    char dir[] = "/tmp/mp_st_test_XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    mp_tensors b = {0}, c = {0};
    mp_error e = {0};
    sample_bag(&b);
    CHECK(mp_safetensors_write(path, &b, &e) == 0);
    CHECK(mp_safetensors_read(path, &c, &e) == 0);
    CHECK(c.n == b.n && c.nmeta == b.nmeta);
    const mp_tensor *w = mp_tensors_get(&c, "w.f64");
    CHECK(w && isinf(((const double *)w->data)[5]));
    mp_tensors_free(&c);

    /* Errors name the file. */
    char missing[300];
    snprintf(missing, sizeof missing, "%s/none.safetensors", dir);
    CHECK(mp_safetensors_read(missing, &c, &e) == MP_ENOTFOUND);
    CHECK_STR_CONTAINS(e.msg, missing);
    CHECK(mp_write_atomic(path, "\x05\0\0\0\0\0\0\0{}", 10, &e) == 0);
    CHECK(mp_safetensors_read(path, &c, &e) == MP_EFORMAT);
    CHECK_STR_CONTAINS(e.msg, path);
    CHECK(bag_is_empty(&c));
    mp_tensors_free(&b);
    mp_remove_tree(dir);
}

/* Every proper prefix of a valid file is refused cleanly. */
static void test_truncation(void)
{
    mp_tensors b = {0};
    mp_error e = {0};
    sample_bag(&b);
    mp_buf out = {0};
    REQUIRE(mp_safetensors_encode(&b, &out, &e) == 0);
    mp_tensors_free(&b);
    int failures = 0;
    for (size_t n = 0; n < out.len; n++) {
        /* A fresh exact-size copy so ASan sees any read past the end. */
        char *copy = malloc(n ? n : 1);
        REQUIRE(copy);
        memcpy(copy, out.data, n);
        mp_tensors c = {0};
        int rc = mp_safetensors_decode("t", copy, n, &c, &e);
        if (rc != MP_EFORMAT || !bag_is_empty(&c))
            failures++;
        mp_tensors_free(&c);
        free(copy);
    }
    CHECK(failures == 0);
    mp_buf_free(&out);
}

/* Damaging any header byte gives a clean error or (when the damage is
 * harmless, e.g. in a name or a padding space) a consistent bag. */
static void test_flipped_header_bytes(void)
{
    mp_tensors b = {0};
    mp_error e = {0};
    sample_bag(&b);
    mp_buf out = {0};
    REQUIRE(mp_safetensors_encode(&b, &out, &e) == 0);
    mp_tensors_free(&b);
    const unsigned char subst[] = {0x01, '9', '0', '-', '"', '}', ']', ',', ' ', 0xff};
    size_t hlen = (unsigned char)out.data[0] | ((size_t)(unsigned char)out.data[1] << 8);
    int bad = 0, accepted = 0;
    for (size_t i = 0; i < 8 + hlen; i++) {
        for (size_t k = 0; k < sizeof subst; k++) {
            char *copy = malloc(out.len);
            REQUIRE(copy);
            memcpy(copy, out.data, out.len);
            copy[i] = (char)(i < 8 ? copy[i] ^ subst[k] : subst[k]);
            mp_tensors c = {0};
            int rc = mp_safetensors_decode("t", copy, out.len, &c, &e);
            if (rc == 0) {
                accepted++;
                /* Whatever was accepted must be internally consistent. */
                for (size_t j = 0; j < c.n; j++) {
                    size_t cnt = 1;
                    for (int d = 0; d < c.t[j].ndim; d++)
                        cnt *= (size_t)c.t[j].shape[d];
                    if (cnt != c.t[j].nelems || !c.t[j].data)
                        bad++;
                }
            } else if (rc != MP_EFORMAT || !bag_is_empty(&c)) {
                bad++;
            }
            mp_tensors_free(&c);
            free(copy);
        }
    }
    CHECK(bad == 0);
    CHECK(accepted > 0); /* e.g. a changed letter in a name */

    /* Specific numeric damage: a wrong extent is caught by the size check. */
    char *hdr = strstr(out.data + 8, "\"shape\":[2,3]");
    REQUIRE(hdr);
    hdr[11] = '4';
    mp_tensors c = {0};
    CHECK(mp_safetensors_decode("t", out.data, out.len, &c, &e) == MP_EFORMAT);
    CHECK_STR_CONTAINS(e.msg, "shape [2, 4] of F64 needs 64");
    mp_buf_free(&out);
}

static void test_header_length(void)
{
    mp_error e = {0};
    mp_tensors b = {0};
    CHECK(mp_safetensors_decode("m", "", 0, &b, &e) == MP_EFORMAT);
    CHECK_STR_CONTAINS(e.msg, "m: file of 0 bytes is too short");
    CHECK(mp_safetensors_decode("m", "\x02\0\0\0\0\0\0", 7, &b, &e) == MP_EFORMAT);
    /* Length past the end of the file. */
    CHECK(mp_safetensors_decode("m", "\x03\0\0\0\0\0\0\0{}", 10, &b, &e) == MP_EFORMAT);
    CHECK_STR_CONTAINS(e.msg, "header length 3 runs past the end of the file (2 bytes");
    /* Absurd lengths, including ones that would overflow an addition. */
    CHECK(mp_safetensors_decode("m", "\0\0\0\x10\0\0\0\0{}", 10, &b, &e) == MP_EFORMAT);
    CHECK_STR_CONTAINS(e.msg, "header length 268435456 is absurd");
    CHECK(mp_safetensors_decode("m", "\xff\xff\xff\xff\xff\xff\xff\xff{}", 10, &b, &e) == MP_EFORMAT);
    CHECK_STR_CONTAINS(e.msg, "is absurd");
    CHECK(mp_safetensors_decode("m", "\0\0\0\0\0\0\0\x80{}", 10, &b, &e) == MP_EFORMAT);
    /* Zero-length header is not JSON. */
    CHECK(mp_safetensors_decode("m", "\0\0\0\0\0\0\0\0", 8, &b, &e) == MP_EFORMAT);
    CHECK_STR_CONTAINS(e.msg, "not valid JSON");
    /* Data lies in the header region: the JSON then has trailing garbage. */
    CHECK(mp_safetensors_decode("m", "\x04\0\0\0\0\0\0\0{}xy", 12, &b, &e) == MP_EFORMAT);
    CHECK(bag_is_empty(&b));
}

static void test_bad_headers(void)
{
    /* JSON shape of the header. */
    CHECK(bad_file("{\"a\":", 0, "header is not valid JSON"));
    CHECK(bad_file("[1,2]", 0, "header is not a JSON object"));
    CHECK(bad_file("\"x\"", 0, "header is not a JSON object"));
    CHECK(bad_file("{\"a\":5}", 0, "tensor 'a': entry is not a JSON object"));
    CHECK(bad_file("{\"a\":{\"dtype\":\"F64\",\"shape\":[1]}}", 8, "tensor 'a': missing field 'data_offsets'"));
    CHECK(bad_file("{\"a\":{\"dtype\":\"F64\",\"data_offsets\":[0,8]}}", 8, "missing field 'shape'"));
    CHECK(bad_file("{\"a\":{\"shape\":[1],\"data_offsets\":[0,8]}}", 8, "missing field 'dtype'"));
    CHECK(bad_file("{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8],\"x\":1}}", 8,
                   "tensor 'a': unexpected field 'x'"));
    /* Duplicate keys, at the top and inside metadata. */
    CHECK(bad_file("{\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]},"
                   "\"a\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}",
                   0, "duplicate"));
    CHECK(bad_file("{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0, "duplicate"));
    /* Names JSON can spell but a C string cannot hold, or that are empty. */
    CHECK(bad_file("{\"a\\u0000b\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0,
                   "not valid JSON"));
    CHECK(bad_file("{\"\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}", 0,
                   "tensor with an empty name"));

    /* dtypes. */
    CHECK(bad_file("{\"w\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
                   "tensor 'w': dtype BF16 is not supported"));
    CHECK(bad_file("{\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
                   "dtype F16 is not supported"));
    CHECK(bad_file("{\"w\":{\"dtype\":\"Q7\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4,
                   "tensor 'w': unknown dtype 'Q7'"));
    CHECK(bad_file("{\"w\":{\"dtype\":\"f64\",\"shape\":[2],\"data_offsets\":[0,16]}}", 16,
                   "unknown dtype 'f64'"));
    CHECK(bad_file("{\"w\":{\"dtype\":8,\"shape\":[2],\"data_offsets\":[0,16]}}", 16,
                   "tensor 'w': dtype is not a string"));

    /* shapes. */
    CHECK(bad_file("{\"w\":{\"dtype\":\"U8\",\"shape\":2,\"data_offsets\":[0,2]}}", 2,
                   "tensor 'w': shape is not an array"));
    CHECK(bad_file("{\"w\":{\"dtype\":\"U8\",\"shape\":[-2],\"data_offsets\":[0,2]}}", 2,
                   "tensor 'w': shape entry 0 is not a non-negative integer"));
    CHECK(bad_file("{\"w\":{\"dtype\":\"U8\",\"shape\":[1,2.0],\"data_offsets\":[0,2]}}", 2,
                   "shape entry 1 is not a non-negative integer"));
    CHECK(bad_file("{\"w\":{\"dtype\":\"U8\",\"shape\":[\"2\"],\"data_offsets\":[0,2]}}", 2,
                   "shape entry 0"));
    CHECK(bad_file("{\"w\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}",
                   1, "tensor 'w': rank 9 exceeds the limit of 8"));
    CHECK(bad_file("{\"w\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296,16],"
                   "\"data_offsets\":[0,8]}}",
                   8, "tensor 'w': shape [4294967296, 4294967296, 16] of F64 is too large"));
    CHECK(bad_file("{\"w\":{\"dtype\":\"U8\",\"shape\":[99999999999999999999],\"data_offsets\":[0,1]}}",
                   1, "not valid JSON"));

    /* data_offsets. */
    CHECK(bad_file("{\"w\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0]}}", 2,
                   "tensor 'w': data_offsets is not two integers"));
    CHECK(bad_file("{\"w\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2,4]}}", 2,
                   "data_offsets is not two integers"));
    CHECK(bad_file("{\"w\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[\"0\",\"2\"]}}", 2,
                   "data_offsets is not two integers"));
    CHECK(bad_file("{\"w\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":{\"b\":0}}}", 2,
                   "data_offsets is not two integers"));
    CHECK(bad_file("{\"w\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[-2,0]}}", 2,
                   "data_offsets [-2, 0] are negative"));
    CHECK(bad_file("{\"w\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[2,0]}}", 2,
                   "tensor 'w': data_offsets [2, 0] begin after they end"));
    CHECK(bad_file("{\"w\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,3]}}", 2,
                   "tensor 'w': data_offsets [0, 3] run past the end of the 2-byte data section"));
    CHECK(bad_file("{\"w\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":"
                   "[9223372036854775800,9223372036854775807]}}",
                   2, "run past the end"));
    CHECK(bad_file("{\"coef\":{\"dtype\":\"F64\",\"shape\":[3,2],\"data_offsets\":[0,40]}}", 40,
                   "m/1/model.safetensors: tensor 'coef': data_offsets [0, 40] hold 40 bytes but "
                   "shape [3, 2] of F64 needs 48"));
    CHECK(bad_file("{\"s\":{\"dtype\":\"I32\",\"shape\":[],\"data_offsets\":[0,8]}}", 8,
                   "hold 8 bytes but shape [] of I32 needs 4"));

    /* Coverage of the data section. */
    CHECK(bad_file("{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                   "\"b\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[4,12]}}",
                   12, "tensor 'b': data_offsets [4, 12] overlap tensor 'a' [0, 8]"));
    CHECK(bad_file("{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                   "\"b\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}",
                   8, "overlap"));
    CHECK(bad_file("{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                   "\"z\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,4]}}",
                   8, "tensor 'z': data_offsets [4, 4] overlap tensor 'a'"));
    CHECK(bad_file("{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                   "\"b\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[16,24]}}",
                   24, "data bytes [8, 16) belong to no tensor (hole before tensor 'b')"));
    CHECK(bad_file("{\"b\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[4,12]}}", 12,
                   "data bytes [0, 4) belong to no tensor"));
    CHECK(bad_file("{\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 12,
                   "4 trailing bytes after the last tensor"));
    CHECK(bad_file("{}", 1, "1 trailing bytes"));
    CHECK(bad_file("{\"__metadata__\":{}}", 3, "3 trailing bytes"));

    /* Metadata. */
    CHECK(bad_file("{\"__metadata__\":[\"a\"]}", 0, "__metadata__ is not a JSON object"));
    CHECK(bad_file("{\"__metadata__\":{\"k\":5}}", 0, "__metadata__ 'k' is not a string"));
    CHECK(bad_file("{\"__metadata__\":{\"k\":null}}", 0, "__metadata__ 'k' is not a string"));
    CHECK(bad_file("{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}", 0, "'k' is not a string"));
    CHECK(bad_file("{\"__metadata__\":{\"ok\":\"1\",\"k\":[]},"
                   "\"a\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}",
                   8, "'k' is not a string"));
}

/* Hand-written files a foreign writer could produce are accepted: any tensor
 * order, zero-size tensors at the boundaries, leading whitespace, an
 * unaligned data section. */
static void test_foreign_files(void)
{
    const double two[2] = {3.0, 4.0};
    unsigned char data[17];
    data[0] = 7;
    memcpy(data + 1, two, 16);
    mp_buf f = {0};
    make_file(&f,
              " {\"x\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[1,17]},"
              "\"e\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[17,17]},"
              "\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]},"
              "\"z\":{\"dtype\":\"I64\",\"shape\":[0],\"data_offsets\":[0,0]}} ",
              data, sizeof data);
    mp_tensors b = {0};
    mp_error e = {0};
    REQUIRE(mp_safetensors_decode("f", f.data, f.len, &b, &e) == 0);
    REQUIRE(b.n == 4);
    CHECK(!strcmp(b.t[0].name, "a") && !strcmp(b.t[1].name, "e") && !strcmp(b.t[2].name, "x") &&
          !strcmp(b.t[3].name, "z"));
    CHECK(((const unsigned char *)b.t[0].data)[0] == 7);
    CHECK(((const double *)b.t[2].data)[0] == 3.0 && ((const double *)b.t[2].data)[1] == 4.0);
    CHECK(b.t[1].nelems == 0 && b.t[1].ndim == 2 && b.t[1].shape[1] == 5);
    CHECK(b.nmeta == 0);
    mp_tensors_free(&b);
    mp_buf_free(&f);
}

int main(void)
{
    RUN(test_bag_basics);
    RUN(test_exact_layout);
    RUN(test_round_trip);
    RUN(test_encode_rejects);
    RUN(test_file_round_trip);
    RUN(test_truncation);
    RUN(test_flipped_header_bytes);
    RUN(test_header_length);
    RUN(test_bad_headers);
    RUN(test_foreign_files);
    return TEST_SUMMARY();
}
