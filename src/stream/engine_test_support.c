/* Test support for `mlpipe test-runner`: records in and out of a topic the
 * way its stream serialises them, and whether persistent queries are idle. */
#include "stream/engine_test_support.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"
#include "stream/engine_internal.h"

/* Caller holds en->mu. */
static const mp_source *source_of_topic(const mp_engine *en, const char *topic)
{
    for (size_t i = 0; i < en->cat.n; i++)
        if (en->cat.sources[i]->topic && !strcmp(en->cat.sources[i]->topic, topic))
            return en->cat.sources[i];
    return NULL;
}

/* The first non-blank character of a JSON text. */
static char json_lead(const char *json, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (json[i] != ' ' && json[i] != '\t' && json[i] != '\n' && json[i] != '\r')
            return json[i];
    return 0;
}

static int is_json_null(const char *json, size_t len)
{
    size_t i = 0;
    while (i < len && (json[i] == ' ' || json[i] == '\t' || json[i] == '\n' || json[i] == '\r'))
        i++;
    size_t j = len;
    while (j > i && (json[j - 1] == ' ' || json[j - 1] == '\t' || json[j - 1] == '\n' || json[j - 1] == '\r'))
        j--;
    return j - i == 4 && !memcmp(json + i, "null", 4);
}

/* Reads the JSON text into the columns of ns through a JSON codec over the
 * same schema, then writes them with the source's own codec. */
static int convert_via_json(const mp_source *s, mp_column_ns ns, const mp_codec *target, int unwrapped,
                            const char *json, size_t len, mp_buf *out, int *is_null, mp_error *e)
{
    mp_codec_opts jo = {.format = MP_FORMAT_JSON, .unwrapped = unwrapped};
    mp_codec *jc = NULL;
    int rc = mp_codec_create(s->schema, ns, &jo, &jc, e);
    if (rc)
        return rc;
    size_t ncols = s->schema->ncols;
    mp_value *row = calloc(ncols ? ncols : 1, sizeof *row);
    if (!row) {
        mp_codec_destroy(jc);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < ncols; i++)
        row[i] = mp_v_null_of(s->schema->cols[i].type);
    mp_arena a;
    mp_arena_init(&a, 0);
    rc = mp_codec_decode(jc, json, len, &a, row, e);
    if (rc == MP_CODEC_NULL)
        rc = 0;
    if (!rc) {
        if (mp_codec_encode_is_null(target, row)) {
            *is_null = 1;
        } else {
            rc = mp_codec_encode(target, row, out, e);
            if (!rc && out->oom)
                rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        }
    }
    mp_arena_free(&a);
    free(row);
    mp_codec_destroy(jc);
    return rc;
}

/* The contents of a JSON string literal. MP_EINPUT when json is not one. */
static int json_string_contents(const char *json, size_t len, mp_buf *out, mp_error *e)
{
    json_error_t je;
    json_t *v = json_loadb(json, len, JSON_DECODE_ANY, &je);
    if (!json_is_string(v)) {
        json_decref(v);
        return mp_error_set(e, MP_EINPUT, "expected a JSON string");
    }
    mp_buf_append(out, json_string_value(v), json_string_length(v));
    json_decref(v);
    return out->oom ? mp_error_set(e, MP_ENOMEM, "out of memory") : 0;
}

int mp_engine_test_serialize(mp_engine *en, const char *topic, int is_key, const char *json,
                             size_t len, mp_buf *out, int *is_null, mp_error *e)
{
    *is_null = 0;
    pthread_mutex_lock(&en->mu);
    int rc = 0;
    const mp_source *s = source_of_topic(en, topic);
    if (!s) {
        rc = mp_error_set(e, MP_ENOTFOUND, "no stream or table reads topic '%s'", topic);
        goto done;
    }
    mp_format f = is_key ? s->key_format : s->value_format;
    const mp_codec *c = is_key ? s->key_codec : s->value_codec;
    mp_column_ns ns = is_key ? MP_COL_KEY : MP_COL_VALUE;
    if (is_json_null(json, len) || f == MP_FORMAT_NONE || !c || !mp_codec_ncols(c)) {
        *is_null = 1;
        goto done;
    }
    char lead = json_lead(json, len);
    switch (f) {
    case MP_FORMAT_JSON:
        mp_buf_append(out, json, len);
        break;
    case MP_FORMAT_DELIMITED:
        if (lead == '"')
            rc = json_string_contents(json, len, out, e);
        else if (lead == '{')
            rc = convert_via_json(s, ns, c, 0, json, len, out, is_null, e);
        else
            mp_buf_append(out, json, len);
        break;
    case MP_FORMAT_KAFKA:
        rc = convert_via_json(s, ns, c, 1, json, len, out, is_null, e);
        break;
    default:
        *is_null = 1;
        break;
    }
    if (!rc && out->oom)
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
done:
    pthread_mutex_unlock(&en->mu);
    return rc;
}

int mp_engine_test_deserialize(mp_engine *en, const char *topic, int is_key, const void *data,
                               int32_t len, mp_buf *out, mp_error *e)
{
    pthread_mutex_lock(&en->mu);
    int rc = 0;
    const mp_source *s = source_of_topic(en, topic);
    if (!s) {
        rc = mp_error_set(e, MP_ENOTFOUND, "no stream or table reads topic '%s'", topic);
        goto done;
    }
    mp_format f = is_key ? s->key_format : s->value_format;
    const mp_codec *c = is_key ? s->key_codec : s->value_codec;
    if (len < 0 || f == MP_FORMAT_NONE || !c || !mp_codec_ncols(c)) {
        mp_buf_puts(out, "null");
        goto done;
    }
    if (f == MP_FORMAT_JSON) {
        mp_buf_append(out, data, (size_t)len);
    } else if (f == MP_FORMAT_DELIMITED) {
        mp_value v;
        mp_arena a;
        mp_arena_init(&a, 0);
        if (!(rc = mp_v_string(&a, data, (size_t)len, &v)))
            rc = mp_value_write_json(&v, 0, out);
        mp_arena_free(&a);
        if (rc)
            rc = mp_error_set(e, rc, "out of memory");
    } else {
        size_t ncols = s->schema->ncols;
        mp_value *row = calloc(ncols ? ncols : 1, sizeof *row);
        if (!row) {
            rc = mp_error_set(e, MP_ENOMEM, "out of memory");
            goto done;
        }
        mp_arena a;
        mp_arena_init(&a, 0);
        rc = mp_codec_decode(c, data, (size_t)len, &a, row, e);
        if (rc == MP_CODEC_NULL) {
            rc = 0;
            mp_buf_puts(out, "null");
        } else if (!rc) {
            rc = mp_value_write_json(&row[mp_codec_column(c, 0)], 0, out);
            if (rc)
                rc = mp_error_set(e, rc, "out of memory");
        }
        mp_arena_free(&a);
        free(row);
    }
    if (!rc && out->oom)
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
done:
    pthread_mutex_unlock(&en->mu);
    return rc;
}

static int64_t be64(const uint8_t *b)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return (int64_t)v;
}

int mp_engine_test_key_window(mp_engine *en, const char *topic, const void *data, int32_t len,
                              int32_t *key_len, int *session, int64_t *start, int64_t *end,
                              mp_error *e)
{
    pthread_mutex_lock(&en->mu);
    const mp_source *s = source_of_topic(en, topic);
    mp_source_window w = s ? s->window : MP_SRC_UNWINDOWED;
    int64_t size = s ? s->window_size : 0;
    pthread_mutex_unlock(&en->mu);
    if (w == MP_SRC_UNWINDOWED || len < 0)
        return 0;
    const uint8_t *b = data;
    int32_t tail = w == MP_SRC_SESSION_WINDOWED ? 16 : 8;
    if (len < tail)
        return mp_error_set(e, MP_EINPUT, "a key of %d bytes cannot hold a window (%d bytes)",
                            (int)len, (int)tail);
    *key_len = len - tail;
    *session = w == MP_SRC_SESSION_WINDOWED;
    if (*session) {
        *end = be64(b + len - 16);
        *start = be64(b + len - 8);
    } else {
        *start = be64(b + len - 8);
        *end = *start + size;
    }
    return 1;
}

static uint64_t mix(uint64_t h, int64_t v)
{
    h ^= (uint64_t)v + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    return h * 0x100000001B3ull;
}

/* Adds the end offsets of topic's partitions to *h. */
static void mix_topic(mp_log *log, const char *topic, uint64_t *h)
{
    int32_t np = 0;
    if (!topic || mp_log_partition_count(log, topic, &np, NULL))
        return;
    for (int32_t p = 0; p < np; p++) {
        int64_t latest = 0;
        mp_log_offsets(log, topic, p, NULL, &latest, NULL);
        *h = mix(*h, latest);
    }
}

int mp_engine_test_idle(mp_engine *en, uint64_t *progress)
{
    uint64_t h = 1469598103934665603ull;
    int idle = 1;
    pthread_mutex_lock(&en->mu);
    for (size_t i = 0; i < en->nqueries; i++) {
        const mp_pquery *q = en->queries[i];
        const mp_source *sink = mp_catalog_find(&en->cat, mp_pquery_sink(q));
        if (sink)
            mix_topic(en->log, sink->topic, &h);
        /* A join reads two sources or more. */
        for (size_t side = 0; mp_pquery_source_at(q, side); side++) {
            const char *name = mp_pquery_source_at(q, side);
            const mp_source *src = name ? mp_catalog_find(&en->cat, name) : NULL;
            int32_t np = 0;
            if (!src || mp_log_partition_count(en->log, src->topic, &np, NULL))
                continue;
            for (int32_t p = 0; p < np; p++) {
                int64_t earliest = 0, latest = 0, committed = -1;
                mp_log_offsets(en->log, src->topic, p, &earliest, &latest, NULL);
                mp_log_committed(en->log, mp_pquery_id(q), src->topic, p, &committed, NULL);
                h = mix(mix(h, latest), committed);
                /* No commit yet: the query has read nothing, which is all
                 * there is only when the partition is empty. */
                if ((committed < 0 ? earliest : committed) < latest)
                    idle = 0;
            }
        }
    }
    pthread_mutex_unlock(&en->mu);
    if (progress)
        *progress = h;
    return idle;
}

void mp_engine_test_hold(mp_engine *en, int on)
{
    atomic_store(&en->hold, on);
}
