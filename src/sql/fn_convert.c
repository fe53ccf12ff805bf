/* Conversions of raw bytes to numbers: INT_FROM_BYTES, BIGINT_FROM_BYTES,
 * DOUBLE_FROM_BYTES. As documented, a value of the wrong length or an
 * unknown byte order gives NULL rather than an error. */
#include <string.h>

#include "sql/fn_builtin.h"

/* 1 big-endian, 0 little-endian, -1 unknown. */
static int byte_order(const mp_value *a, size_t n)
{
    if (n < 2)
        return 1;
    if (mp_fn_ieq(a[1].u.str, a[1].len, "BIG_ENDIAN"))
        return 1;
    if (mp_fn_ieq(a[1].u.str, a[1].len, "LITTLE_ENDIAN"))
        return 0;
    return -1;
}

static bool read_uint(const mp_value *a, size_t n, size_t width, uint64_t *out)
{
    int big = byte_order(a, n);
    if (big < 0 || a[0].len != width)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < width; i++) {
        size_t k = big ? i : width - 1 - i;
        v = (v << 8) | a[0].u.bytes[k];
    }
    *out = v;
    return true;
}

static int int_from_bytes_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out,
                             const void *d)
{
    uint64_t v;
    *out = read_uint(a, n, 4, &v) ? mp_v_int((int32_t)(uint32_t)v) : mp_v_null(MP_TYPE_INTEGER);
    return 0;
}

static int bigint_from_bytes_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out,
                                const void *d)
{
    uint64_t v;
    *out = read_uint(a, n, 8, &v) ? mp_v_bigint((int64_t)v) : mp_v_null(MP_TYPE_BIGINT);
    return 0;
}

static int double_from_bytes_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out,
                                const void *d)
{
    uint64_t v;
    if (!read_uint(a, n, 8, &v)) {
        *out = mp_v_null(MP_TYPE_DOUBLE);
        return 0;
    }
    double x;
    memcpy(&x, &v, sizeof x);
    *out = mp_v_double(x);
    return 0;
}

static const mp_fn_sig sigs_int_from_bytes[] = {
    {"y", "i", int_from_bytes_fn, false},
    {"ys", "i", int_from_bytes_fn, false},
};
static const mp_fn_sig sigs_bigint_from_bytes[] = {
    {"y", "l", bigint_from_bytes_fn, false},
    {"ys", "l", bigint_from_bytes_fn, false},
};
static const mp_fn_sig sigs_double_from_bytes[] = {
    {"y", "d", double_from_bytes_fn, false},
    {"ys", "d", double_from_bytes_fn, false},
};
MP_FN_SIG_BIND(int_from_bytes, "INT_FROM_BYTES")
MP_FN_SIG_BIND(bigint_from_bytes, "BIGINT_FROM_BYTES")
MP_FN_SIG_BIND(double_from_bytes, "DOUBLE_FROM_BYTES")

static const mp_fn_doc docs_int[] = {
    {"(b BYTES)", "INTEGER", "4 big-endian bytes as an INTEGER; NULL for another length."},
    {"(b BYTES, byte_order STRING)", "INTEGER",
     "4 bytes in BIG_ENDIAN or LITTLE_ENDIAN order as an INTEGER."},
};
static const mp_fn_doc docs_bigint[] = {
    {"(b BYTES)", "BIGINT", "8 big-endian bytes as a BIGINT; NULL for another length."},
    {"(b BYTES, byte_order STRING)", "BIGINT",
     "8 bytes in BIG_ENDIAN or LITTLE_ENDIAN order as a BIGINT."},
};
static const mp_fn_doc docs_double[] = {
    {"(b BYTES)", "DOUBLE", "8 big-endian bytes (IEEE 754) as a DOUBLE; NULL for another length."},
    {"(b BYTES, byte_order STRING)", "DOUBLE",
     "8 bytes in BIG_ENDIAN or LITTLE_ENDIAN order as a DOUBLE."},
};

#define SCALAR(NAME, desc, docs, bind)                                                             \
    {                                                                                              \
        NAME, MP_FN_SCALAR, "CONVERSION", desc, docs, MP_FN_COUNT(docs), NULL, NULL, bind, NULL,   \
            NULL                                                                                   \
    }

const mp_fn_def mp_fn_convert_defs[] = {
    SCALAR("INT_FROM_BYTES", "Reads an INTEGER from 4 bytes.", docs_int, bind_int_from_bytes),
    SCALAR("BIGINT_FROM_BYTES", "Reads a BIGINT from 8 bytes.", docs_bigint,
           bind_bigint_from_bytes),
    SCALAR("DOUBLE_FROM_BYTES", "Reads a DOUBLE from 8 bytes.", docs_double,
           bind_double_from_bytes),
};
const size_t mp_fn_convert_count = MP_FN_COUNT(mp_fn_convert_defs);
