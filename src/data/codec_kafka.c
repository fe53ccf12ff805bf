/* KAFKA format: one primitive column in the layout of Kafka's standard
 * serializers (IntegerSerializer, LongSerializer, DoubleSerializer,
 * StringSerializer; BYTES as the raw bytes). No coercion: the size must
 * match the type exactly. */
#include <string.h>

#include "data/codec_internal.h"
#include "data/sql_text.h"

int mp_codec_kafka_check(mp_codec *c, mp_error *e)
{
    if (c->ncols != 1)
        return mp_error_set(e, MP_EINVAL,
                            "KAFKA supports exactly one column, the schema has %zu", c->ncols);
    const mp_schema_column *col = &c->schema->cols[c->cols[0]];
    switch (col->type->kind) {
    case MP_TYPE_INTEGER:
    case MP_TYPE_BIGINT:
    case MP_TYPE_DOUBLE:
    case MP_TYPE_STRING:
    case MP_TYPE_BYTES:
        return 0;
    default: {
        char tn[128];
        mp_codec_type_name(col->type, tn, sizeof tn);
        return mp_error_set(e, MP_EINVAL,
                            "column `%s`: KAFKA supports INTEGER, BIGINT, DOUBLE, STRING and "
                            "BYTES, not %s",
                            col->name, tn);
    }
    }
}

static uint64_t be_load(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

int mp_codec_kafka_decode(const mp_codec *c, const void *data, size_t len, mp_arena *a,
                          mp_value *row, mp_error *e)
{
    const mp_schema_column *col = &c->schema->cols[c->cols[0]];
    mp_value *out = &row[c->cols[0]];
    const uint8_t *p = data;
    size_t want = 0;
    switch (col->type->kind) {
    case MP_TYPE_INTEGER:
        want = 4;
        break;
    case MP_TYPE_BIGINT:
    case MP_TYPE_DOUBLE:
        want = 8;
        break;
    case MP_TYPE_STRING: {
        size_t bad;
        if (!mp_utf8_valid(p, len, &bad))
            return mp_error_set(e, MP_EINPUT, "column `%s`: invalid UTF-8 at byte %zu",
                                col->name, bad);
        return mp_v_string(a, (const char *)p, len, out)
                   ? mp_error_set(e, MP_ENOMEM, "out of memory")
                   : 0;
    }
    case MP_TYPE_BYTES:
        return mp_v_bytes(a, p, len, out) ? mp_error_set(e, MP_ENOMEM, "out of memory") : 0;
    default:
        return mp_error_set(e, MP_EINVAL, "column `%s`: type not supported by KAFKA", col->name);
    }
    if (len != want)
        return mp_error_set(e, MP_EINPUT, "column `%s`: a KAFKA %s must be %zu bytes, got %zu",
                            col->name, mp_type_kind_name(col->type->kind), want, len);
    uint64_t v = be_load(p, want);
    if (col->type->kind == MP_TYPE_INTEGER) {
        *out = mp_v_int((int32_t)(uint32_t)v);
    } else if (col->type->kind == MP_TYPE_BIGINT) {
        *out = mp_v_bigint((int64_t)v);
    } else {
        double d;
        memcpy(&d, &v, 8);
        *out = mp_v_double(d);
    }
    return 0;
}

int mp_codec_kafka_encode(const mp_codec *c, const mp_value *row, mp_buf *out, mp_error *e)
{
    const mp_schema_column *col = &c->schema->cols[c->cols[0]];
    const mp_value *v = &row[c->cols[0]];
    if (v->null)
        return 0; /* a null record: see mp_codec_encode_is_null */
    if (v->kind != col->type->kind)
        return mp_error_set(e, MP_EINVAL, "column `%s`: value of kind %s, column is %s",
                            col->name, mp_type_kind_name(v->kind),
                            mp_type_kind_name(col->type->kind));
    uint8_t b[8];
    uint64_t x;
    size_t n;
    switch (v->kind) {
    case MP_TYPE_INTEGER:
        x = (uint32_t)v->u.i32;
        n = 4;
        break;
    case MP_TYPE_BIGINT:
        x = (uint64_t)v->u.i64;
        n = 8;
        break;
    case MP_TYPE_DOUBLE:
        memcpy(&x, &v->u.f64, 8);
        n = 8;
        break;
    default: /* STRING, BYTES */
        mp_buf_append(out, v->u.str, v->len);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(x >> (8 * (n - 1 - i)));
    mp_buf_append(out, b, n);
    return 0;
}
