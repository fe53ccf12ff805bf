/* The engine: statements, the command topic, push queries. */
#include "stream/engine.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/buf.h"
#include "core/clock.h"
#include "sql/sql_parser.h"
#include "sql/udf.h"
#include "stream/engine_internal.h"
#include "stream/fn_model.h"

#define FETCH_BYTES (1u << 20)
#define WAIT_MS 100
#define MAX_SCRIPT_DEPTH 16

/* ---- small helpers ---- */

static void say(const mp_engine_sink *s, const char *text)
{
    if (s && s->message)
        s->message(s->ctx, text);
}

/* Per-request properties of a server thread (mp_engine_thread_props), and
 * the command-topic offset its last accepted statement got. */
static _Thread_local const char *const *tl_prop_names;
static _Thread_local const char *const *tl_prop_values;
static _Thread_local size_t tl_nprops;
static _Thread_local int64_t tl_last_command = -1;

void mp_engine_thread_props(const char *const *names, const char *const *values, size_t n)
{
    tl_prop_names = names;
    tl_prop_values = values;
    tl_nprops = n;
}

int64_t mp_engine_thread_last_command(void) { return tl_last_command; }

const char *mp_engine_prop(const mp_engine *en, const char *name)
{
    for (size_t i = 0; i < tl_nprops; i++)
        if (!strcasecmp(tl_prop_names[i], name))
            return tl_prop_values[i];
    for (size_t i = 0; i < en->nprops; i++)
        if (!strcasecmp(en->props[i].name, name))
            return en->props[i].value;
    return NULL;
}

static int set_prop(mp_engine *en, const char *name, const char *value, mp_error *e)
{
    for (size_t i = 0; i < en->nprops; i++)
        if (!strcasecmp(en->props[i].name, name)) {
            char *v = value ? strdup(value) : NULL;
            if (value && !v)
                return mp_error_set(e, MP_ENOMEM, "out of memory");
            free(en->props[i].value);
            if (!value) {
                free(en->props[i].name);
                en->props[i] = en->props[--en->nprops];
            } else {
                en->props[i].value = v;
            }
            return 0;
        }
    if (!value)
        return 0;
    mp_prop *np = realloc(en->props, (en->nprops + 1) * sizeof *np);
    if (!np)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    en->props = np;
    np[en->nprops].name = strdup(name);
    np[en->nprops].value = strdup(value);
    if (!np[en->nprops].name || !np[en->nprops].value) {
        free(np[en->nprops].name);
        free(np[en->nprops].value);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    en->nprops++;
    return 0;
}

static int from_earliest(const mp_engine *en)
{
    const char *v = mp_engine_prop(en, "auto.offset.reset");
    return v && !strcasecmp(v, "earliest");
}

void mp_engine_processing_log(mp_engine *en, const char *query_id, const char *topic,
                              int32_t partition, int64_t offset, const char *message)
{
    json_t *o = json_pack("{s:s,s:s,s:i,s:I,s:s}", "query", query_id ? query_id : "",
                          "topic", topic ? topic : "", "partition", (int)partition, "offset",
                          (json_int_t)offset, "message", message ? message : "");
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s)
        return;
    mp_record r = {.timestamp = -1, .key_len = -1, .value = (const uint8_t *)s,
                   .value_len = (int32_t)strlen(s)};
    mp_error e = {0};
    if (mp_log_produce(en->log, MP_PROCESSING_LOG_TOPIC, MP_LOG_ANY_PARTITION, &r, NULL, NULL, &e) &&
        e.code == MP_ENOTFOUND) {
        if (mp_log_topic_create(en->log, MP_PROCESSING_LOG_TOPIC, 1, NULL, 0, NULL) == 0)
            mp_log_produce(en->log, MP_PROCESSING_LOG_TOPIC, MP_LOG_ANY_PARTITION, &r, NULL, NULL, NULL);
    }
    free(s);
}

/* ---- the command topic ---- */

static int append_command(mp_engine *en, const char *sql, mp_error *e)
{
    if (en->replaying)
        return 0;
    json_t *props = json_object();
    for (size_t i = 0; i < en->nprops; i++)
        json_object_set_new(props, en->props[i].name, json_string(en->props[i].value));
    for (size_t i = 0; i < tl_nprops; i++)
        json_object_set_new(props, tl_prop_names[i], json_string(tl_prop_values[i]));
    json_t *o = json_pack("{s:s,s:o}", "statement", sql, "properties", props);
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!s)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    mp_record r = {.timestamp = -1, .key_len = -1, .value = (const uint8_t *)s,
                   .value_len = (int32_t)strlen(s)};
    int64_t off = -1;
    int rc = mp_log_produce(en->log, MP_COMMAND_TOPIC, 0, &r, NULL, &off, e);
    free(s);
    if (rc == 0)
        rc = mp_log_flush(en->log, MP_COMMAND_TOPIC, e);
    if (rc == 0)
        tl_last_command = off;
    return rc;
}

/* ---- statements ---- */

static const char *prop_string(const mp_sql_stmt *st, const char *name, char *buf, size_t n)
{
    for (size_t i = 0; i < st->nprops; i++) {
        if (strcasecmp(st->props[i].name, name))
            continue;
        const mp_sql_expr *v = st->props[i].value;
        if (v->kind == MP_SQL_EXPR_STRING)
            snprintf(buf, n, "%.*s", (int)v->len, v->str);
        else if (v->kind == MP_SQL_EXPR_INT)
            snprintf(buf, n, "%lld", (long long)v->i);
        else if (v->kind == MP_SQL_EXPR_BOOL)
            snprintf(buf, n, "%s", v->boolean ? "true" : "false");
        else
            return NULL;
        return buf;
    }
    return NULL;
}

static const char *const known_props[] = {
    "KAFKA_TOPIC", "VALUE_FORMAT", "KEY_FORMAT", "FORMAT", "PARTITIONS", "TIMESTAMP",
    "TIMESTAMP_FORMAT", "VALUE_DELIMITER", "KEY_DELIMITER", "REPLICAS", "WRAP_SINGLE_VALUE", NULL,
};

static int check_props(const mp_sql_stmt *st, mp_error *e)
{
    for (size_t i = 0; i < st->nprops; i++) {
        int ok = 0;
        for (size_t k = 0; known_props[k]; k++)
            ok |= !strcasecmp(st->props[i].name, known_props[k]);
        if (!ok)
            return mp_error_set(e, MP_EINVAL, "line %u:%u: unknown property '%s' in WITH",
                                st->props[i].pos.line, st->props[i].pos.col, st->props[i].name);
    }
    return 0;
}

/* Formats, delimiter, timestamp and codecs of a new source from WITH. */
static int source_formats(mp_source *s, const mp_sql_stmt *st, mp_format default_value, mp_error *e)
{
    char buf[256];
    const char *vf = prop_string(st, "VALUE_FORMAT", buf, sizeof buf);
    if (!vf)
        vf = prop_string(st, "FORMAT", buf, sizeof buf);
    int rc;
    s->value_format = default_value;
    if (vf && (rc = mp_format_parse(vf, &s->value_format, e)))
        return rc;
    if (!vf && default_value == MP_FORMAT_NONE)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: VALUE_FORMAT is required (DELIMITED, JSON or KAFKA)",
                            st->pos.line, st->pos.col);
    char kbuf[64];
    const char *kf = prop_string(st, "KEY_FORMAT", kbuf, sizeof kbuf);
    s->key_format = MP_FORMAT_KAFKA;
    if (kf && (rc = mp_format_parse(kf, &s->key_format, e)))
        return rc;
    if (!mp_schema_count(s->schema, MP_COL_KEY) && !kf)
        s->key_format = MP_FORMAT_NONE;
    s->value_delimiter = ',';
    char dbuf[64];
    const char *d = prop_string(st, "VALUE_DELIMITER", dbuf, sizeof dbuf);
    if (d && (rc = mp_delimiter_parse(d, &s->value_delimiter, e)))
        return rc;
    const char *ts = prop_string(st, "TIMESTAMP", buf, sizeof buf);
    if (ts) {
        char up[256];
        size_t i = 0;
        for (; ts[i] && i + 1 < sizeof up; i++)
            up[i] = (char)(ts[i] >= 'a' && ts[i] <= 'z' ? ts[i] - 32 : ts[i]);
        up[i] = 0;
        int ci = mp_schema_find(s->schema, up);
        if (ci < 0)
            return mp_error_set(e, MP_EINVAL, "TIMESTAMP column '%s' is not a column of %s", ts, s->name);
        mp_type_kind k = s->schema->cols[ci].type->kind;
        if (k != MP_TYPE_BIGINT && k != MP_TYPE_TIMESTAMP)
            return mp_error_set(e, MP_EINVAL, "TIMESTAMP column '%s' must be BIGINT or TIMESTAMP", up);
        if (!(s->timestamp_col = strdup(up)))
            return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    mp_codec_opts ko = {.format = s->key_format}, vo = {.format = s->value_format,
                                                        .delimiter = s->value_delimiter};
    char wbuf[16];
    const char *wrap = prop_string(st, "WRAP_SINGLE_VALUE", wbuf, sizeof wbuf);
    if (wrap && !strcasecmp(wrap, "false"))
        vo.unwrapped = true;
    if (s->key_format == MP_FORMAT_JSON && mp_schema_count(s->schema, MP_COL_KEY) == 1)
        ko.unwrapped = true;
    if ((rc = mp_codec_create(s->schema, MP_COL_KEY, &ko, &s->key_codec, e))) {
        mp_error_prefix(e, "key");
        return rc;
    }
    if ((rc = mp_codec_create(s->schema, MP_COL_VALUE, &vo, &s->value_codec, e))) {
        mp_error_prefix(e, "value");
        return rc;
    }
    return 0;
}

/* The topic behind a new source: KAFKA_TOPIC (default: the source's name),
 * created with PARTITIONS when missing. */
static int source_topic(mp_engine *en, mp_source *s, const mp_sql_stmt *st, int32_t default_parts,
                        mp_error *e)
{
    char buf[256], pbuf[32];
    const char *t = prop_string(st, "KAFKA_TOPIC", buf, sizeof buf);
    if (!(s->topic = strdup(t ? t : s->name)))
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    const char *ps = prop_string(st, "PARTITIONS", pbuf, sizeof pbuf);
    long parts = ps ? strtol(ps, NULL, 10) : default_parts;
    if (ps && (parts < 1 || parts > 100000))
        return mp_error_set(e, MP_EINVAL, "PARTITIONS must be a positive number, got '%s'", ps);
    int32_t have = 0;
    if (mp_log_partition_count(en->log, s->topic, &have, NULL) == 0) {
        if (ps && have != parts && !en->replaying)
            return mp_error_set(e, MP_EINVAL, "topic '%s' exists with %d partitions, not %ld",
                                s->topic, have, parts);
        s->partitions = have;
        return 0;
    }
    if (parts <= 0)
        return mp_error_set(e, MP_ENOTFOUND, "topic '%s' does not exist; give PARTITIONS in WITH to create it",
                            s->topic);
    int rc = mp_log_topic_create(en->log, s->topic, (int32_t)parts, NULL, 0, e);
    s->partitions = (int32_t)parts;
    return rc;
}

static int exec_create_source(mp_engine *en, const mp_sql_stmt *st, const char *sql,
                              const mp_engine_sink *sink, mp_error *e)
{
    int rc = check_props(st, e);
    if (rc)
        return rc;
    if (!st->has_columns || !st->ncolumns)
        return mp_error_set(e, MP_EINVAL,
                            "line %u:%u: The statement does not define any columns. (CREATE %s %s "
                            "(col TYPE, ...) WITH (...))",
                            st->pos.line, st->pos.col,
                            st->object == MP_SQL_OBJ_TABLE ? "TABLE" : "STREAM", st->name);
    mp_source *old = mp_catalog_find(&en->cat, st->name);
    if (old && st->if_not_exists)
        return 0;
    if (old && !st->or_replace)
        return mp_error_set(e, MP_EEXIST, "line %u:%u: a %s named %s already exists",
                            st->pos.line, st->pos.col,
                            old->kind == MP_SRC_STREAM ? "stream" : "table", st->name);
    mp_source *s = calloc(1, sizeof *s);
    if (!s)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    s->kind = st->object == MP_SQL_OBJ_TABLE ? MP_SRC_TABLE : MP_SRC_STREAM;
    s->is_source = st->is_source;
    s->name = strdup(st->name);
    s->sql = strdup(sql);
    s->schema = mp_schema_create();
    if (!s->name || !s->sql || !s->schema) {
        mp_source_free(s);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < st->ncolumns; i++) {
        const mp_sql_column_def *cd = &st->columns[i];
        mp_type *t = NULL;
        if ((rc = mp_sql_type_from_ast(cd->type, &t, e)))
            goto fail;
        int key = cd->constraint == MP_SQL_COL_KEY || cd->constraint == MP_SQL_COL_PRIMARY_KEY;
        if (s->kind == MP_SRC_TABLE && cd->constraint == MP_SQL_COL_KEY) {
            mp_type_free(t);
            rc = mp_error_set(e, MP_EINVAL, "line %u:%u: a table's key is declared PRIMARY KEY, not KEY",
                              cd->pos.line, cd->pos.col);
            goto fail;
        }
        if (s->kind == MP_SRC_STREAM && cd->constraint == MP_SQL_COL_PRIMARY_KEY) {
            mp_type_free(t);
            rc = mp_error_set(e, MP_EINVAL, "line %u:%u: a stream's key is declared KEY, not PRIMARY KEY",
                              cd->pos.line, cd->pos.col);
            goto fail;
        }
        if (cd->constraint == MP_SQL_COL_HEADERS || cd->constraint == MP_SQL_COL_HEADER)
            rc = mp_schema_add_header(s->schema, cd->name, t, cd->header_key, e);
        else
            rc = mp_schema_add(s->schema, cd->name, t, key ? MP_COL_KEY : MP_COL_VALUE, e);
        if (rc) {
            mp_error_prefix(e, "line %u:%u", cd->pos.line, cd->pos.col);
            goto fail;
        }
    }
    if (s->kind == MP_SRC_TABLE && !mp_schema_count(s->schema, MP_COL_KEY)) {
        rc = mp_error_set(e, MP_EINVAL, "line %u:%u: table %s needs a PRIMARY KEY column",
                          st->pos.line, st->pos.col, st->name);
        goto fail;
    }
    if ((rc = source_formats(s, st, MP_FORMAT_NONE, e)) || (rc = source_topic(en, s, st, 0, e)))
        goto fail;
    if ((rc = append_command(en, sql, e)))
        goto fail;
    if (old)
        mp_catalog_drop(&en->cat, st->name, NULL);
    int is_table = s->kind == MP_SRC_TABLE;
    if ((rc = mp_catalog_add(&en->cat, s, e)))
        return rc;
    if (!en->replaying)
        say(sink, is_table ? "Table created" : "Stream created");
    return 0;
fail:
    mp_source_free(s);
    return rc;
}

/* A persistent query's id: the offset of its command in the command topic
 * makes it the same every time the command is replayed, so the query
 * keeps its consumer group (committed offsets) and changelog. */
static int next_query_id(mp_engine *en, const char *prefix, const char *name, char *buf, size_t n)
{
    int64_t off = en->replay_offset;
    if (!en->replaying && mp_log_offsets(en->log, MP_COMMAND_TOPIC, 0, NULL, &off, NULL))
        return -1;
    return snprintf(buf, n, "%s_%s_%lld", prefix, name, (long long)off) >= (int)n ? -1 : 0;
}

/* True for SELECT ... FROM table JOIN table. */
static int join_of_tables(const mp_engine *en, const mp_sql_query *q)
{
    if (!q->njoins)
        return 0;
    const mp_source *l = mp_catalog_find(&en->cat, q->from.name);
    const mp_source *r = mp_catalog_find(&en->cat, q->joins[0].source.name);
    return l && r && l->kind == MP_SRC_TABLE && r->kind == MP_SRC_TABLE;
}

/* True for SELECT ... FROM table without a join. */
static int from_table(const mp_engine *en, const mp_sql_query *q)
{
    const mp_source *s = q->njoins ? NULL : mp_catalog_find(&en->cat, q->from.name);
    return s && s->kind == MP_SRC_TABLE;
}

static int exec_create_as(mp_engine *en, const mp_sql_stmt *st, const char *sql,
                          const mp_engine_sink *sink, mp_error *e)
{
    if (st->object == MP_SQL_OBJ_MODEL)
        return mp_engine_create_model(en, st, sink, e);
    int is_table = st->object == MP_SQL_OBJ_TABLE;
    /* A table-table join's result is a table too, and so is a filter or
     * projection of a table. */
    int makes_table = st->query->has_group_by || join_of_tables(en, st->query) ||
                      from_table(en, st->query);
    if (is_table != makes_table)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: %s", st->pos.line, st->pos.col,
                            is_table ? "Invalid result type. Your SELECT query produces a STREAM. "
                                       "Please use CREATE STREAM AS SELECT statement instead."
                                     : "Invalid result type. Your SELECT query produces a TABLE. "
                                       "Please use CREATE TABLE AS SELECT statement instead.");
    int rc = check_props(st, e);
    if (rc)
        return rc;
    mp_source *old = mp_catalog_find(&en->cat, st->name);
    if (old && st->if_not_exists)
        return 0;
    if (old)
        return mp_error_set(e, MP_EEXIST, "line %u:%u: a %s named %s already exists",
                            st->pos.line, st->pos.col,
                            old->kind == MP_SRC_STREAM ? "stream" : "table", st->name);
    if (st->query->emit == MP_SQL_EMIT_FINAL)
        return mp_error_set(e, MP_EINVAL, "EMIT FINAL needs a windowed aggregation");
    mp_splan plan;
    if ((rc = mp_splan_build(en, st->query, &plan, e)))
        return rc;
    plan.from_earliest = from_earliest(en);
    if (!plan.joined && mp_source_windowed(plan.src)) {
        mp_splan_free(&plan);
        return mp_error_set(e, MP_EINVAL, "line %u:%u: a persistent query over the windowed table %s "
                            "is not supported yet", st->query->from.pos.line,
                            st->query->from.pos.col, st->query->from.name);
    }
    if ((rc = mp_splan_join_key_check(&plan, st->name, e)) ||
        (rc = mp_splan_table_key_check(&plan, st->name, e))) {
        mp_splan_free(&plan);
        return rc;
    }
    mp_source *s = calloc(1, sizeof *s);
    if (!s) {
        mp_splan_free(&plan);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    s->kind = is_table ? MP_SRC_TABLE : MP_SRC_STREAM;
    s->derived = 1;
    s->name = strdup(st->name);
    s->sql = strdup(sql);
    char qid[512];
    if (!s->name || !s->sql ||
        next_query_id(en, is_table ? "CTAS" : "CSAS", st->name, qid, sizeof qid) ||
        !(s->writer_query = strdup(qid))) {
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        goto fail;
    }
    if ((rc = mp_splan_schema(&plan, &s->schema, e)))
        goto fail;
    if (plan.windowed) {
        s->window = plan.session ? MP_SRC_SESSION_WINDOWED : MP_SRC_TIME_WINDOWED;
        s->window_size = plan.session ? 0 : plan.win_size;
    }
    /* The sink inherits the source's formats unless WITH says otherwise. */
    mp_format vf = plan.src->value_format;
    if ((rc = source_formats(s, st, vf, e)))
        goto fail;
    if (!prop_string(st, "VALUE_DELIMITER", qid + 500, 12))
        s->value_delimiter = plan.src->value_delimiter;
    if ((rc = source_topic(en, s, st, plan.src->partitions, e)))
        goto fail;
    if ((rc = append_command(en, sql, e)))
        goto fail;
    if ((rc = mp_catalog_add(&en->cat, s, e))) {
        mp_splan_free(&plan);
        return rc;
    }
    if ((rc = mp_pquery_start(en, s->writer_query, sql, &plan, s, e))) {
        mp_splan_free(&plan);
        return rc;
    }
    if (!en->replaying) {
        char msg[600];
        snprintf(msg, sizeof msg, "Created query with ID %s", s->writer_query);
        say(sink, msg);
    }
    return 0;
fail:
    mp_splan_free(&plan);
    mp_source_free(s);
    return rc;
}

/* "`ID` INTEGER KEY, `V` STRING", as ksqlDB prints a schema. */
static void schema_text(const mp_schema *s, mp_buf *b)
{
    size_t n = 0;
    for (size_t i = 0; i < s->ncols; i++) {
        const mp_schema_column *c = &s->cols[i];
        if (c->ns == MP_COL_HEADER)
            continue;
        mp_buf_printf(b, "%s`%s` ", n++ ? ", " : "", c->name);
        mp_type_print(c->type, b);
        if (c->ns == MP_COL_KEY)
            mp_buf_puts(b, " KEY");
    }
}

static int same_schema(const mp_schema *a, const mp_schema *b)
{
    size_t i = 0, k = 0;
    for (;; i++, k++) {
        while (i < a->ncols && a->cols[i].ns == MP_COL_HEADER)
            i++;
        while (k < b->ncols && b->cols[k].ns == MP_COL_HEADER)
            k++;
        if (i >= a->ncols || k >= b->ncols)
            return i >= a->ncols && k >= b->ncols;
        if (strcmp(a->cols[i].name, b->cols[k].name) || a->cols[i].ns != b->cols[k].ns ||
            !mp_type_equal(a->cols[i].type, b->cols[k].type))
            return 0;
    }
}

/* INSERT INTO stream SELECT ...: a persistent query (INSERTQUERY_<n>)
 * writing into an existing stream whose schema its result must have. */
static int exec_insert_query(mp_engine *en, const mp_sql_stmt *st, const char *sql,
                             const mp_engine_sink *sink, mp_error *e)
{
    mp_source *target = mp_catalog_find(&en->cat, st->name);
    if (!target)
        return mp_error_set(e, MP_ENOTFOUND, "line %u:%u: %s does not exist", st->pos.line,
                            st->pos.col, st->name);
    if (target->kind == MP_SRC_TABLE)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: INSERT INTO can only be used to insert into a "
                            "stream. %s is a table.", st->pos.line, st->pos.col, st->name);
    if (target->is_source)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: Cannot insert into read-only stream: %s",
                            st->pos.line, st->pos.col, st->name);
    if (st->nprops)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: INSERT INTO ... WITH (...) is not supported yet",
                            st->props[0].pos.line, st->props[0].pos.col);
    const mp_sql_query *q = st->query;
    if (q->emit == MP_SQL_EMIT_FINAL)
        return mp_error_set(e, MP_EINVAL, "EMIT FINAL needs a windowed aggregation");
    if (q->has_group_by || join_of_tables(en, q) || from_table(en, q))
        return mp_error_set(e, MP_EINVAL, "line %u:%u: Incompatible data sink and query result. Data "
                            "sink (%s) type is STREAM but select query result is TABLE.",
                            st->pos.line, st->pos.col, st->name);
    mp_splan plan;
    int rc = mp_splan_build(en, q, &plan, e);
    if (rc)
        return rc;
    plan.from_earliest = from_earliest(en);
    mp_schema *result = NULL;
    if ((rc = mp_splan_schema(&plan, &result, e)))
        goto fail;
    if (!same_schema(result, target->schema)) {
        mp_buf a = {0}, b = {0};
        schema_text(result, &a);
        schema_text(target->schema, &b);
        rc = mp_error_set(e, MP_EINVAL, "line %u:%u: Incompatible schema between results and sink.\n"
                          "Result schema is %s\nSink schema is %s", st->pos.line, st->pos.col,
                          a.data ? a.data : "", b.data ? b.data : "");
        mp_buf_free(&a);
        mp_buf_free(&b);
        goto fail;
    }
    char qid[64];
    int64_t off = en->replay_offset;
    if (!en->replaying && mp_log_offsets(en->log, MP_COMMAND_TOPIC, 0, NULL, &off, e)) {
        rc = e ? e->code : MP_EIO;
        goto fail;
    }
    snprintf(qid, sizeof qid, "INSERTQUERY_%lld", (long long)off);
    if ((rc = append_command(en, sql, e)))
        goto fail;
    mp_schema_destroy(result);
    result = NULL;
    if ((rc = mp_pquery_start(en, qid, sql, &plan, target, e)))
        goto fail;
    if (!en->replaying) {
        char msg[128];
        snprintf(msg, sizeof msg, "Created query with ID %s", qid);
        say(sink, msg);
    }
    return 0;
fail:
    mp_schema_destroy(result);
    mp_splan_free(&plan);
    return rc;
}

static mp_pquery *find_query(mp_engine *en, const char *id, size_t *at)
{
    for (size_t i = 0; i < en->nqueries; i++)
        if (!strcasecmp(mp_pquery_id(en->queries[i]), id)) {
            if (at)
                *at = i;
            return en->queries[i];
        }
    return NULL;
}

static int exec_terminate(mp_engine *en, const mp_sql_stmt *st, const char *sql,
                          const mp_engine_sink *sink, mp_error *e)
{
    size_t at = 0;
    if (!st->all && !find_query(en, st->name, &at))
        return mp_error_set(e, MP_ENOTFOUND, "line %u:%u: unknown query id %s (SHOW QUERIES lists them)",
                            st->pos.line, st->pos.col, st->name);
    int rc = append_command(en, sql, e);
    if (rc)
        return rc;
    while (en->nqueries) {
        size_t i = st->all ? en->nqueries - 1 : at;
        mp_pquery *q = en->queries[i];
        mp_source *sink_src = mp_catalog_find(&en->cat, mp_pquery_sink(q));
        /* An INSERT INTO query is not the stream's own writer. */
        if (sink_src && sink_src->writer_query && !strcmp(sink_src->writer_query, mp_pquery_id(q))) {
            free(sink_src->writer_query);
            sink_src->writer_query = NULL;
        }
        en->queries[i] = en->queries[--en->nqueries];
        mp_pquery_stop(q);
        if (!st->all)
            break;
    }
    if (!en->replaying)
        say(sink, "Query terminated.");
    return 0;
}

static int exec_drop(mp_engine *en, const mp_sql_stmt *st, const char *sql, const mp_engine_sink *sink,
                     mp_error *e)
{
    mp_source *s = mp_catalog_find(&en->cat, st->name);
    if (!s) {
        if (st->if_exists)
            return 0;
        return mp_error_set(e, MP_ENOTFOUND, "line %u:%u: %s %s does not exist", st->pos.line,
                            st->pos.col, st->object == MP_SQL_OBJ_TABLE ? "table" : "stream", st->name);
    }
    if ((st->object == MP_SQL_OBJ_TABLE) != (s->kind == MP_SRC_TABLE))
        return mp_error_set(e, MP_EINVAL, "line %u:%u: %s is a %s; use DROP %s", st->pos.line,
                            st->pos.col, st->name, s->kind == MP_SRC_TABLE ? "table" : "stream",
                            s->kind == MP_SRC_TABLE ? "TABLE" : "STREAM");
    if (s->writer_query)
        return mp_error_set(e, MP_EINVAL, "cannot drop %s: query %s writes to it; TERMINATE %s first",
                            st->name, s->writer_query, s->writer_query);
    for (size_t i = 0; i < en->nqueries; i++)
        if (!strcmp(mp_pquery_sink(en->queries[i]), st->name))
            return mp_error_set(e, MP_EINVAL, "cannot drop %s: query %s writes to it; TERMINATE %s first",
                                st->name, mp_pquery_id(en->queries[i]), mp_pquery_id(en->queries[i]));
    for (size_t i = 0; i < en->nqueries; i++)
        for (size_t k = 0; mp_pquery_source_at(en->queries[i], k); k++)
            if (!strcmp(mp_pquery_source_at(en->queries[i], k), st->name))
                return mp_error_set(e, MP_EINVAL, "cannot drop %s: query %s reads from it; TERMINATE "
                                    "%s first", st->name, mp_pquery_id(en->queries[i]),
                                    mp_pquery_id(en->queries[i]));
    int rc = append_command(en, sql, e);
    if (rc)
        return rc;
    char *topic = st->delete_topic ? strdup(s->topic) : NULL;
    mp_catalog_drop(&en->cat, st->name, NULL);
    if (topic && !en->replaying)
        mp_log_topic_delete(en->log, topic, NULL);
    free(topic);
    if (!en->replaying) {
        char msg[512];
        snprintf(msg, sizeof msg, "Source `%s` (topic: %s) was dropped.", st->name,
                 st->delete_topic ? "deleted" : "kept");
        say(sink, msg);
    }
    return 0;
}

/* ---- SHOW / DESCRIBE ---- */

typedef struct cells {
    size_t n, cap;
    char **v;
} cells;

static void cells_add(cells *c, const char *s)
{
    if (c->n == c->cap) {
        size_t nc = c->cap ? 2 * c->cap : 32;
        char **nv = realloc(c->v, nc * sizeof *nv);
        if (!nv)
            return;
        c->v = nv;
        c->cap = nc;
    }
    c->v[c->n++] = strdup(s ? s : "");
}

static void cells_free(cells *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i]);
    free(c->v);
}

static void emit_table(const mp_engine_sink *sink, const char *title, size_t ncols,
                       const char *const *header, cells *c)
{
    if (sink && sink->table)
        sink->table(sink->ctx, title, ncols, header, c->n / ncols, (const char *const *)c->v);
    cells_free(c);
}

static int exec_show(mp_engine *en, const mp_sql_stmt *st, const mp_engine_sink *sink, mp_error *e)
{
    cells c = {0};
    char num[64];
    switch (st->show) {
    case MP_SQL_SHOW_STREAMS:
    case MP_SQL_SHOW_TABLES: {
        mp_source_kind k = st->show == MP_SQL_SHOW_STREAMS ? MP_SRC_STREAM : MP_SRC_TABLE;
        for (size_t i = 0; i < en->cat.n; i++) {
            const mp_source *s = en->cat.sources[i];
            if (s->kind != k)
                continue;
            cells_add(&c, s->name);
            cells_add(&c, s->topic);
            cells_add(&c, mp_format_name(s->key_format));
            cells_add(&c, mp_format_name(s->value_format));
        }
        const char *h[] = {k == MP_SRC_STREAM ? "Stream Name" : "Table Name", "Kafka Topic",
                           "Key Format", "Value Format"};
        emit_table(sink, k == MP_SRC_STREAM ? "Streams" : "Tables", 4, h, &c);
        return 0;
    }
    case MP_SQL_SHOW_TOPICS: {
        char **names = NULL;
        size_t n = 0;
        int rc = mp_log_topic_list(en->log, &names, &n, e);
        if (rc)
            return rc;
        for (size_t i = 0; i < n; i++) {
            if (names[i][0] == '_' && !st->all)
                continue;
            int32_t parts = 0;
            mp_log_partition_count(en->log, names[i], &parts, NULL);
            cells_add(&c, names[i]);
            snprintf(num, sizeof num, "%d", parts);
            cells_add(&c, num);
        }
        mp_log_names_free(names, n);
        const char *h[] = {"Kafka Topic", "Partitions"};
        emit_table(sink, "Topics", 2, h, &c);
        return 0;
    }
    case MP_SQL_SHOW_QUERIES: {
        for (size_t i = 0; i < en->nqueries; i++) {
            const mp_pquery *q = en->queries[i];
            uint64_t in, out, err;
            mp_pquery_stats(q, &in, &out, &err);
            cells_add(&c, mp_pquery_id(q));
            cells_add(&c, "PERSISTENT");
            cells_add(&c, mp_pquery_failed(q) ? "ERROR" : "RUNNING");
            cells_add(&c, mp_pquery_sink(q));
            snprintf(num, sizeof num, "%llu in, %llu out, %llu errors, %llu late",
                     (unsigned long long)in, (unsigned long long)out, (unsigned long long)err,
                     (unsigned long long)mp_pquery_late(q));
            cells_add(&c, num);
            cells_add(&c, mp_pquery_sql(q));
        }
        const char *h[] = {"Query ID", "Query Type", "Status", "Sink Name", "Records", "Query String"};
        emit_table(sink, "Queries", 6, h, &c);
        return 0;
    }
    case MP_SQL_SHOW_FUNCTIONS: {
        size_t n = 0;
        const mp_fn_def **fs = mp_fn_list(en->fns, &n);
        for (size_t i = 0; fs && i < n; i++) {
            cells_add(&c, fs[i]->name);
            cells_add(&c, fs[i]->kind == MP_FN_AGGREGATE ? "AGGREGATE"
                          : fs[i]->kind == MP_FN_TABLE   ? "TABLE"
                                                         : "SCALAR");
            cells_add(&c, fs[i]->category);
        }
        free(fs);
        const char *h[] = {"Function Name", "Type", "Category"};
        emit_table(sink, "Functions", 3, h, &c);
        return 0;
    }
    case MP_SQL_SHOW_PROPERTIES: {
        for (size_t i = 0; i < en->nprops; i++) {
            cells_add(&c, en->props[i].name);
            cells_add(&c, "SESSION");
            cells_add(&c, en->props[i].value);
        }
        if (!mp_engine_prop(en, "auto.offset.reset")) {
            cells_add(&c, "auto.offset.reset");
            cells_add(&c, "DEFAULT");
            cells_add(&c, "latest");
        }
        const char *h[] = {"Property", "Scope", "Value"};
        emit_table(sink, "Properties", 3, h, &c);
        return 0;
    }
    }
    return mp_error_set(e, MP_EINVAL, "unsupported SHOW");
}

static int exec_describe(mp_engine *en, const mp_sql_stmt *st, const mp_engine_sink *sink, mp_error *e)
{
    const mp_source *s = mp_catalog_find(&en->cat, st->name);
    if (!s)
        return mp_error_set(e, MP_ENOTFOUND, "line %u:%u: %s does not exist", st->pos.line, st->pos.col,
                            st->name);
    cells c = {0};
    const char *pseudo[] = {"ROWTIME", "BIGINT", "(system)"};
    for (int i = 0; i < 3; i++)
        cells_add(&c, pseudo[i]);
    for (size_t i = 0; i < s->schema->ncols; i++) {
        const mp_schema_column *col = &s->schema->cols[i];
        mp_buf t = {0};
        mp_type_print(col->type, &t);
        cells_add(&c, col->name);
        cells_add(&c, t.data ? t.data : "?");
        cells_add(&c, col->ns == MP_COL_KEY ? (s->kind == MP_SRC_TABLE ? "(primary key)" : "(key)")
                      : col->ns == MP_COL_HEADER ? "(header)"
                                                 : "");
        mp_buf_free(&t);
    }
    char title[1024];
    snprintf(title, sizeof title, "Name: %s | Type: %s | Topic: %s | Key format: %s | Value format: %s%s%s",
             s->name, s->kind == MP_SRC_TABLE ? "TABLE" : "STREAM", s->topic,
             mp_format_name(s->key_format), mp_format_name(s->value_format),
             s->writer_query ? " | Written by: " : "", s->writer_query ? s->writer_query : "");
    const char *h[] = {"Field", "Type", ""};
    emit_table(sink, title, 3, h, &c);
    if (st->extended) {
        cells q = {0};
        for (size_t i = 0; i < en->nqueries; i++) {
            const mp_pquery *pq = en->queries[i];
            int reads = 0;
            for (size_t k = 0; mp_pquery_source_at(pq, k); k++)
                reads |= !strcmp(mp_pquery_source_at(pq, k), s->name);
            if (strcmp(mp_pquery_sink(pq), s->name) && !reads)
                continue;
            uint64_t in, out, err;
            mp_pquery_stats(pq, &in, &out, &err);
            char num[128];
            cells_add(&q, mp_pquery_id(pq));
            cells_add(&q, strcmp(mp_pquery_sink(pq), s->name) ? "reads" : "writes");
            snprintf(num, sizeof num, "%llu in, %llu out, %llu errors", (unsigned long long)in,
                     (unsigned long long)out, (unsigned long long)err);
            cells_add(&q, num);
        }
        const char *qh[] = {"Query", "Relation", "Records"};
        emit_table(sink, "Queries", 3, qh, &q);
    }
    (void)e;
    return 0;
}

static int exec_describe_function(mp_engine *en, const mp_sql_stmt *st, const mp_engine_sink *sink,
                                  mp_error *e)
{
    const mp_fn_def *f = mp_fn_lookup(en->fns, st->name);
    if (!f)
        return mp_error_set(e, MP_ENOTFOUND, "line %u:%u: function %s does not exist (SHOW FUNCTIONS "
                            "lists them)", st->pos.line, st->pos.col, st->name);
    cells c = {0};
    for (size_t i = 0; i < f->ndocs; i++) {
        cells_add(&c, f->docs[i].args);
        cells_add(&c, f->docs[i].ret);
        cells_add(&c, f->docs[i].description);
    }
    char title[1024];
    snprintf(title, sizeof title, "Name: %s | Type: %s | Category: %s | %s", f->name,
             f->kind == MP_FN_AGGREGATE ? "AGGREGATE" : f->kind == MP_FN_TABLE ? "TABLE" : "SCALAR",
             f->category ? f->category : "", f->description ? f->description : "");
    const char *h[] = {"Variation", "Returns", "Description"};
    emit_table(sink, title, 3, h, &c);
    return 0;
}

/* ---- INSERT VALUES ---- */

static int exec_insert_values(mp_engine *en, const mp_sql_stmt *st, const mp_engine_sink *sink,
                              mp_error *e)
{
    mp_source *s = mp_catalog_find(&en->cat, st->name);
    if (!s)
        return mp_error_set(e, MP_ENOTFOUND, "line %u:%u: %s does not exist", st->pos.line,
                            st->pos.col, st->name);
    size_t ncols = s->schema->ncols;
    size_t n = st->ninsert_columns ? st->ninsert_columns : ncols;
    if (st->nvalues != n)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: expected %zu values, got %zu", st->pos.line,
                            st->pos.col, n, st->nvalues);
    mp_value *row = calloc(ncols ? ncols : 1, sizeof *row);
    if (!row)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    for (size_t i = 0; i < ncols; i++)
        row[i] = mp_v_null_of(s->schema->cols[i].type);
    mp_arena a;
    mp_arena_init(&a, 0);
    mp_sql_scope empty = {.fns = en->fns};
    int64_t ts = -1;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const char *cname = st->ninsert_columns ? st->insert_columns[i] : s->schema->cols[i].name;
        const mp_sql_expr *ve = st->values[i];
        mp_sql_cexpr *ce = NULL;
        mp_value v;
        mp_fn_ctx cx = {&a, e};
        if ((rc = mp_sql_compile(ve, &empty, &ce, e)))
            break;
        /* A folded constant lives in the compiled expression: keep it
         * until the value is copied into the row. */
        if ((rc = mp_sql_eval(ce, NULL, &cx, &v))) {
            mp_sql_cexpr_free(ce);
            break;
        }
        if (!strcmp(cname, "ROWTIME")) {
            if (v.kind != MP_TYPE_BIGINT && v.kind != MP_TYPE_INTEGER) {
                rc = mp_error_set(e, MP_EINVAL, "line %u:%u: ROWTIME must be a BIGINT", ve->pos.line,
                                  ve->pos.col);
                break;
            }
            ts = v.kind == MP_TYPE_BIGINT ? v.u.i64 : v.u.i32;
            mp_sql_cexpr_free(ce);
            continue;
        }
        int ci = mp_schema_find(s->schema, cname);
        if (ci < 0) {
            mp_sql_cexpr_free(ce);
            rc = mp_error_set(e, MP_EINVAL, "line %u:%u: %s has no column %s", ve->pos.line,
                              ve->pos.col, s->name, cname);
            break;
        }
        mp_value cv;
        if ((rc = mp_sql_coerce(&v, s->schema->cols[ci].type, &a, &cv, e)))
            mp_error_prefix(e, "line %u:%u: column %s", ve->pos.line, ve->pos.col, cname);
        else if ((rc = mp_value_copy(&cv, &a, &row[ci])))
            rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        mp_sql_cexpr_free(ce);
    }
    mp_buf kb = {0}, vb = {0};
    mp_record r = {.timestamp = ts, .key_len = -1, .value_len = -1};
    if (!rc && s->key_codec && mp_codec_ncols(s->key_codec) &&
        !mp_codec_encode_is_null(s->key_codec, row)) {
        if (!(rc = mp_codec_encode(s->key_codec, row, &kb, e))) {
            r.key = (const uint8_t *)(kb.data ? kb.data : "");
            r.key_len = (int32_t)kb.len;
        }
    }
    if (!rc && s->value_codec && !mp_codec_encode_is_null(s->value_codec, row)) {
        if (!(rc = mp_codec_encode(s->value_codec, row, &vb, e))) {
            r.value = (const uint8_t *)(vb.data ? vb.data : "");
            r.value_len = (int32_t)vb.len;
        }
    }
    if (!rc)
        rc = mp_log_produce(en->log, s->topic, MP_LOG_ANY_PARTITION, &r, NULL, NULL, e);
    mp_buf_free(&kb);
    mp_buf_free(&vb);
    mp_arena_free(&a);
    free(row);
    (void)sink;
    return rc;
}

/* ---- push queries ---- */

typedef struct push_ctx {
    mp_engine *en;
    const char *qid;
    const mp_engine_sink *sink;
    const mp_splan *plan;
    int64_t emitted;
} push_ctx;

static int push_row(void *ctx, const mp_value *out, int64_t ts, int tombstone)
{
    push_ctx *x = ctx;
    (void)ts;
    if (tombstone)
        return 0;
    int stop = x->sink && x->sink->row && x->sink->row(x->sink->ctx, x->plan->nout, out);
    if (x->plan->limit >= 0 && ++x->emitted >= x->plan->limit)
        stop = 1;
    return stop;
}

static int push_stopped(void *ctx)
{
    push_ctx *x = ctx;
    return x->sink && x->sink->cancelled && x->sink->cancelled(x->sink->ctx);
}

static void push_error(void *ctx, const char *topic, int32_t partition, int64_t offset, const char *msg)
{
    push_ctx *x = ctx;
    mp_engine_processing_log(x->en, x->qid, topic ? topic : x->plan->src->topic, partition, offset, msg);
}

/* A push query over a join: the join loop persistent queries use too,
 * printing rows instead of writing them. */
static int exec_join_select(mp_engine *en, const mp_splan *plan, const mp_engine_sink *sink,
                            mp_error *e)
{
    char **types = calloc(plan->nout + 1, sizeof *types);
    if (!types)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    char qid[300];
    snprintf(qid, sizeof qid, "transient_%s_%s_%ld", plan->src->name, plan->rsrc->name, ++en->query_seq);
    for (size_t i = 0; i < plan->nout; i++) {
        mp_buf b = {0};
        mp_type_print(mp_sql_cexpr_type(plan->proj[i]), &b);
        types[i] = b.data ? b.data : strdup("?");
    }
    if (sink && sink->header)
        sink->header(sink->ctx, qid, plan->nout, (const char *const *)plan->names,
                     (const char *const *)types);
    push_ctx x = {.en = en, .qid = qid, .sink = sink, .plan = plan};
    mp_join_io io = {.ctx = &x, .row = push_row, .stopped = push_stopped, .error = push_error};
    int rc = 0;
    if (plan->limit != 0) {
        /* The catalog lock is not held while a push query runs. */
        pthread_mutex_unlock(&en->mu);
        rc = mp_join_run(en, plan, NULL, &io, e);
        pthread_mutex_lock(&en->mu);
    }
    if (!rc)
        say(sink, plan->limit >= 0 && x.emitted >= plan->limit ? "Limit Reached" : "Query terminated");
    for (size_t i = 0; i < plan->nout; i++)
        free(types[i]);
    free(types);
    return rc;
}

/* One record of a push query's aggregation over a table: the rows of
 * the groups it changed (the one its previous row left, the one it
 * joined); a deletion or a row WHERE refuses only takes the previous row
 * out. Groups HAVING refuses are not shown (no tombstones in a push
 * query). */
static void push_table_agg(mp_engine *en, const mp_splan *plan, mp_aggregator *agg, mp_tprev *tprev,
                           const mp_record *r, int32_t part, const char *qid, mp_value *row,
                           mp_value *out, mp_fn_ctx *cx, const mp_engine_sink *sink,
                           int64_t *emitted, int *stop)
{
    const mp_source *src = plan->src;
    mp_error *re = cx->e;
    if (r->key_len < 0)
        return; /* a table's row needs a key */
    int gone = r->value_len < 0;
    if (!gone && mp_row_decode(src, r, part, cx->arena, row, re)) {
        mp_engine_processing_log(en, qid, src->topic, part, r->offset, re->msg);
        return;
    }
    if (!gone && plan->where) {
        int ok = mp_sql_eval_cond(plan->where, row, cx);
        if (ok < 0)
            mp_engine_processing_log(en, qid, src->topic, part, r->offset, re->msg);
        gone = ok <= 0;
    }
    mp_tagg_out to;
    if (mp_tagg_update(agg, tprev, r->key, (size_t)r->key_len, gone ? NULL : row, r->timestamp, cx,
                       &to, re) < 0)
        mp_engine_processing_log(en, qid, src->topic, part, r->offset, re->msg);
    for (size_t k = 0; k < to.n && !*stop; k++) {
        if (plan->having) {
            int ok = mp_sql_eval_cond(plan->having, to.rows[k], cx);
            if (ok < 0)
                mp_engine_processing_log(en, qid, src->topic, part, r->offset, re->msg);
            if (ok <= 0)
                continue;
        }
        for (size_t c = 0; c < plan->nout; c++)
            if (mp_sql_eval(plan->proj[c], to.rows[k], cx, &out[c]) < 0)
                mp_engine_processing_log(en, qid, src->topic, part, r->offset, re->msg);
        if (sink && sink->row && sink->row(sink->ctx, plan->nout, out))
            *stop = 1;
        if (plan->limit >= 0 && ++*emitted >= plan->limit)
            *stop = 1;
    }
}

static int exec_select(mp_engine *en, const mp_sql_stmt *st, const mp_engine_sink *sink, mp_error *e)
{
    const mp_sql_query *q = st->query;
    if (q->emit != MP_SQL_EMIT_CHANGES)
        return mp_pull_run(en, q, sink, e);
    mp_splan plan;
    int rc = mp_splan_build(en, q, &plan, e);
    if (rc)
        return rc;
    plan.from_earliest = from_earliest(en);
    if (plan.joined) {
        rc = exec_join_select(en, &plan, sink, e);
        mp_splan_free(&plan);
        return rc;
    }
    const mp_source *src = plan.src;
    int32_t np = src->partitions > 0 ? src->partitions : 1;
    mp_log_offset *pos = calloc((size_t)np, sizeof *pos);
    mp_value *row = calloc(mp_splan_row_slots(&plan), sizeof *row),
             *out = calloc(plan.nout ? plan.nout : 1, sizeof *out);
    mp_aggregator *agg = NULL;
    mp_sessions *sess = NULL;
    mp_tprev *tprev = NULL;
    char **types = calloc(plan.nout ? plan.nout : 1, sizeof *types);
    if (!pos || !row || !out || !types) {
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        goto done;
    }
    if (plan.grouped && (rc = plan.session ? mp_sessions_new(&plan, 0, &sess, e)
                                           : mp_aggregator_new(&plan, &agg, e)))
        goto done;
    if (plan.grouped && src->kind == MP_SRC_TABLE && (rc = mp_tprev_new(&plan, 0, &tprev, e)))
        goto done;
    char qid[64];
    snprintf(qid, sizeof qid, "transient_%s_%ld", src->name, ++en->query_seq);
    for (size_t i = 0; i < plan.nout; i++) {
        mp_buf b = {0};
        mp_type_print(mp_sql_cexpr_type(plan.proj[i]), &b);
        types[i] = b.data ? b.data : strdup("?");
    }
    if (sink && sink->header)
        sink->header(sink->ctx, qid, plan.nout, (const char *const *)plan.names,
                     (const char *const *)types);
    for (int32_t p = 0; p < np; p++) {
        int64_t earliest = 0, latest = 0;
        mp_log_offsets(en->log, src->topic, p, &earliest, &latest, NULL);
        pos[p] = (mp_log_offset){src->topic, p, plan.from_earliest ? earliest : latest};
    }
    /* The catalog lock is not held while a push query runs. */
    pthread_mutex_unlock(&en->mu);
    mp_arena a;
    mp_arena_init(&a, 0);
    mp_log_fetch_result fr = {0};
    mp_error re = {0};
    int64_t emitted = 0, stream_time = INT64_MIN, evicted_at = INT64_MIN;
    int stop = plan.limit == 0;
    while (!stop) {
        size_t got = 0;
        for (int32_t p = 0; p < np && !stop; p++) {
            if (mp_log_fetch(en->log, src->topic, p, pos[p].offset, FETCH_BYTES, &fr, &re))
                continue;
            got += fr.n;
            pos[p].offset = fr.next_offset;
            for (size_t i = 0; i < fr.n && !stop; i++) {
                mp_arena_reset(&a);
                mp_fn_ctx cx = {&a, &re};
                if (tprev) {
                    push_table_agg(en, &plan, agg, tprev, &fr.recs[i], p, qid, row, out, &cx, sink,
                                   &emitted, &stop);
                    continue;
                }
                /* A table's changelog: every update is a row; a deletion
                 * is not one (ksqlDB's push queries show no tombstones). */
                if (src->kind == MP_SRC_TABLE && fr.recs[i].value_len < 0)
                    continue;
                if (mp_row_decode(src, &fr.recs[i], p, &a, row, &re)) {
                    mp_engine_processing_log(en, qid, src->topic, p, fr.recs[i].offset, re.msg);
                    continue;
                }
                if (plan.where) {
                    int ok = mp_sql_eval_cond(plan.where, row, &cx);
                    if (ok < 0)
                        mp_engine_processing_log(en, qid, src->topic, p, fr.recs[i].offset, re.msg);
                    if (ok <= 0)
                        continue;
                }
                int64_t starts[MP_MAX_WINDOWS];
                size_t nw = 1;
                if (plan.windowed) {
                    int64_t ts = row[MP_ROW_ROWTIME].u.i64;
                    if (ts > stream_time)
                        stream_time = ts;
                    nw = plan.session ? 1 : mp_splan_windows(&plan, ts, starts, MP_MAX_WINDOWS);
                    /* Sessions past retention leave memory as stream time moves on. */
                    if (sess && (evicted_at == INT64_MIN || stream_time - evicted_at >= plan.win_size)) {
                        evicted_at = stream_time;
                        mp_sessions_evict(sess, stream_time, NULL, NULL);
                    }
                }
                for (size_t w = 0; w < nw && !stop; w++) {
                    if (plan.windowed && !plan.session) {
                        if (mp_splan_window_late(&plan, starts[w], starts[w] + plan.win_size, stream_time))
                            continue; /* the window has closed: a late record */
                        row[plan.ws_slot] = mp_v_bigint(starts[w]);
                        row[plan.ws_slot + 1] = mp_v_bigint(starts[w] + plan.win_size);
                    }
                    if (sess) {
                        /* The replaced sessions' tombstones are not shown. */
                        const mp_session_win *rw;
                        size_t nrw;
                        int added = mp_sessions_add(sess, row, stream_time, &cx, &rw, &nrw, &re);
                        if (added < 0)
                            mp_engine_processing_log(en, qid, src->topic, p, fr.recs[i].offset, re.msg);
                        if (added <= 0)
                            continue;
                    }
                    if (agg) {
                        const mp_value *gk, *gs;
                        if (mp_aggregator_add(agg, row, &cx, &gk, &gs, &re) < 0) {
                            mp_engine_processing_log(en, qid, src->topic, p, fr.recs[i].offset, re.msg);
                            continue;
                        }
                    }
                    if (agg || sess) {
                        if (plan.having) {
                            int ok = mp_sql_eval_cond(plan.having, row, &cx);
                            if (ok < 0)
                                mp_engine_processing_log(en, qid, src->topic, p, fr.recs[i].offset,
                                                         re.msg);
                            if (ok <= 0)
                                continue;
                        }
                    }
                    mp_tfn_rows tr;
                    if (mp_splan_tfn_expand(&plan, row, &cx, &tr) < 0)
                        mp_engine_processing_log(en, qid, src->topic, p, fr.recs[i].offset, re.msg);
                    for (size_t t = 0; t < tr.nrows && !stop; t++) {
                        mp_splan_tfn_row(&plan, &tr, t, row);
                        for (size_t c = 0; c < plan.nout; c++)
                            if (mp_sql_eval(plan.proj[c], row, &cx, &out[c]) < 0)
                                mp_engine_processing_log(en, qid, src->topic, p, fr.recs[i].offset,
                                                         re.msg);
                        if (sink && sink->row && sink->row(sink->ctx, plan.nout, out))
                            stop = 1;
                        if (plan.limit >= 0 && ++emitted >= plan.limit)
                            stop = 1;
                    }
                }
            }
        }
        if (stop)
            break;
        if (sink && sink->cancelled && sink->cancelled(sink->ctx))
            break;
        if (!got)
            mp_log_wait(en->log, pos, (size_t)np, WAIT_MS, NULL);
    }
    mp_log_fetch_result_free(&fr);
    mp_arena_free(&a);
    pthread_mutex_lock(&en->mu);
    if (plan.limit >= 0 && emitted >= plan.limit)
        say(sink, "Limit Reached");
    else
        say(sink, "Query terminated");
done:
    mp_aggregator_free(agg);
    mp_sessions_free(sess);
    mp_tprev_free(tprev);
    for (size_t i = 0; types && i < plan.nout; i++)
        free(types[i]);
    free(types);
    free(pos);
    free(row);
    free(out);
    mp_splan_free(&plan);
    return rc;
}

/* ---- PRINT ---- */

static int exec_print(mp_engine *en, const mp_sql_stmt *st, const mp_engine_sink *sink, mp_error *e)
{
    int32_t np = 0;
    int rc = mp_log_partition_count(en->log, st->topic, &np, e);
    if (rc)
        return rc;
    mp_log_offset *pos = calloc((size_t)np, sizeof *pos);
    if (!pos)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    for (int32_t p = 0; p < np; p++) {
        int64_t earliest = 0, latest = 0;
        mp_log_offsets(en->log, st->topic, p, &earliest, &latest, NULL);
        pos[p] = (mp_log_offset){st->topic, p, st->from_beginning || from_earliest(en) ? earliest : latest};
    }
    pthread_mutex_unlock(&en->mu);
    const char *names[] = {"ROWTIME", "PARTITION", "KEY", "VALUE"};
    const char *types[] = {"BIGINT", "INTEGER", "STRING", "STRING"};
    if (sink && sink->header)
        sink->header(sink->ctx, "print", 4, names, types);
    mp_log_fetch_result fr = {0};
    int64_t shown = 0, limit = st->has_limit ? st->limit : -1;
    int stop = limit == 0;
    while (!stop) {
        size_t got = 0;
        for (int32_t p = 0; p < np && !stop; p++) {
            if (mp_log_fetch(en->log, st->topic, p, pos[p].offset, FETCH_BYTES, &fr, NULL))
                continue;
            got += fr.n;
            pos[p].offset = fr.next_offset;
            for (size_t i = 0; i < fr.n && !stop; i++) {
                const mp_record *r = &fr.recs[i];
                mp_value v[4] = {mp_v_bigint(r->timestamp), mp_v_int(p),
                                 r->key_len < 0 ? mp_v_null(MP_TYPE_STRING)
                                                : mp_v_string_ref((const char *)r->key, (size_t)r->key_len),
                                 r->value_len < 0 ? mp_v_null(MP_TYPE_STRING)
                                                  : mp_v_string_ref((const char *)r->value, (size_t)r->value_len)};
                if (sink && sink->row && sink->row(sink->ctx, 4, v))
                    stop = 1;
                if (limit >= 0 && ++shown >= limit)
                    stop = 1;
            }
        }
        if (stop || (sink && sink->cancelled && sink->cancelled(sink->ctx)))
            break;
        if (!got)
            mp_log_wait(en->log, pos, (size_t)np, WAIT_MS, NULL);
    }
    mp_log_fetch_result_free(&fr);
    pthread_mutex_lock(&en->mu);
    free(pos);
    return 0;
}

/* ---- dispatch ---- */

static int exec_stmt(mp_engine *en, const mp_sql_stmt *st, const char *text, size_t len,
                     const mp_engine_sink *sink, mp_error *e);

static int run_script(mp_engine *en, const char *sql, size_t len, const mp_engine_sink *sink,
                      mp_error *e)
{
    mp_sql_script *script = NULL;
    int rc = mp_sql_parse_script(sql, len, &script, NULL, e);
    if (rc)
        return rc;
    for (size_t i = 0; i < script->n && !rc; i++) {
        const mp_sql_stmt *st = script->stmts[i];
        rc = exec_stmt(en, st, sql + st->span_offset, st->span_len, sink, e);
    }
    mp_sql_script_free(script);
    return rc;
}

static int exec_stmt(mp_engine *en, const mp_sql_stmt *st, const char *text, size_t len,
                     const mp_engine_sink *sink, mp_error *e)
{
    char *sql = strndup(text, len);
    if (!sql)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    int rc;
    char buf[512];
    switch (st->kind) {
    case MP_SQL_STMT_CREATE_SOURCE:
        rc = exec_create_source(en, st, sql, sink, e);
        break;
    case MP_SQL_STMT_CREATE_AS:
        rc = exec_create_as(en, st, sql, sink, e);
        break;
    case MP_SQL_STMT_QUERY:
        rc = exec_select(en, st, sink, e);
        break;
    case MP_SQL_STMT_INSERT_VALUES:
        rc = exec_insert_values(en, st, sink, e);
        break;
    case MP_SQL_STMT_INSERT_QUERY:
        rc = exec_insert_query(en, st, sql, sink, e);
        break;
    case MP_SQL_STMT_SHOW:
        rc = exec_show(en, st, sink, e);
        break;
    case MP_SQL_STMT_DESCRIBE:
        rc = exec_describe(en, st, sink, e);
        break;
    case MP_SQL_STMT_DESCRIBE_FUNCTION:
        rc = exec_describe_function(en, st, sink, e);
        break;
    case MP_SQL_STMT_DROP:
        rc = exec_drop(en, st, sql, sink, e);
        break;
    case MP_SQL_STMT_TERMINATE:
        rc = exec_terminate(en, st, sql, sink, e);
        break;
    case MP_SQL_STMT_PRINT:
        rc = exec_print(en, st, sink, e);
        break;
    case MP_SQL_STMT_SET:
        rc = set_prop(en, st->name, st->value, e);
        if (!rc && !en->replaying) {
            snprintf(buf, sizeof buf, "Successfully changed local property '%s' to '%s'.", st->name,
                     st->value);
            say(sink, buf);
        }
        break;
    case MP_SQL_STMT_UNSET:
        rc = set_prop(en, st->name, NULL, e);
        if (!rc && !en->replaying) {
            snprintf(buf, sizeof buf, "Successfully unset local property '%s'.", st->name);
            say(sink, buf);
        }
        break;
    case MP_SQL_STMT_RUN_SCRIPT: {
        /* A script that runs itself (or a cycle of them) would otherwise
         * recurse until the stack runs out. */
        static _Thread_local int depth;
        if (depth >= MAX_SCRIPT_DEPTH) {
            rc = mp_error_set(e, MP_EINVAL,
                              "line %u:%u: RUN SCRIPT nested deeper than %d scripts (does a "
                              "script run itself?)",
                              st->pos.line, st->pos.col, MAX_SCRIPT_DEPTH);
            break;
        }
        char *data = NULL;
        size_t n = 0;
        FILE *f = fopen(st->value, "rb");
        if (!f) {
            rc = mp_error_set(e, MP_ENOTFOUND, "RUN SCRIPT: cannot open '%s'", st->value);
            break;
        }
        mp_buf b = {0};
        char chunk[4096];
        size_t got;
        while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
            mp_buf_append(&b, chunk, got);
        fclose(f);
        data = b.data;
        n = b.len;
        depth++;
        rc = b.oom ? mp_error_set(e, MP_ENOMEM, "out of memory")
                   : run_script(en, data ? data : "", n, sink, e);
        depth--;
        if (rc)
            mp_error_prefix(e, "%s", st->value);
        mp_buf_free(&b);
        break;
    }
    default:
        rc = mp_error_set(e, MP_EINVAL, "line %u:%u: this statement is not supported yet",
                          st->pos.line, st->pos.col);
        break;
    }
    free(sql);
    return rc;
}

int mp_engine_execute(mp_engine *en, const char *sql, const mp_engine_sink *sink, mp_error *e)
{
    pthread_mutex_lock(&en->mu);
    mp_model_fns_bind_scope(en->registry_dir);
    int rc = run_script(en, sql, strlen(sql), sink, e);
    mp_model_fns_bind_scope(NULL);
    pthread_mutex_unlock(&en->mu);
    return rc;
}

int mp_engine_validate(mp_engine *en, const char *sql, mp_error *e)
{
    mp_sql_script *script = NULL;
    int rc = mp_sql_parse_script(sql, strlen(sql), &script, NULL, e);
    if (rc)
        return rc;
    if (script->n != 1) {
        rc = mp_error_set(e, MP_EINVAL, "expected exactly one statement, found %zu", script->n);
        goto done;
    }
    const mp_sql_stmt *st = script->stmts[0];
    pthread_mutex_lock(&en->mu);
    mp_model_fns_bind_scope(en->registry_dir);
    if (st->kind == MP_SQL_STMT_QUERY) {
        const mp_sql_query *q = st->query;
        if (q->emit != MP_SQL_EMIT_CHANGES) {
            rc = mp_pull_validate(en, q, e);
        } else {
            mp_splan plan;
            rc = mp_splan_build(en, q, &plan, e);
            if (!rc)
                mp_splan_free(&plan);
        }
    } else if (st->kind == MP_SQL_STMT_PRINT) {
        int32_t parts = 0;
        rc = mp_log_partition_count(en->log, st->topic, &parts, e);
    }
    mp_model_fns_bind_scope(NULL);
    pthread_mutex_unlock(&en->mu);
done:
    mp_sql_script_free(script);
    return rc;
}

int mp_engine_stats(mp_engine *en, mp_engine_query_stat **out, size_t *n,
                    int64_t *processing_log_records, mp_error *e)
{
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&en->mu);
    mp_engine_query_stat *st = en->nqueries ? calloc(en->nqueries, sizeof *st) : NULL;
    if (en->nqueries && !st) {
        pthread_mutex_unlock(&en->mu);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < en->nqueries; i++) {
        const mp_pquery *q = en->queries[i];
        snprintf(st[i].id, sizeof st[i].id, "%s", mp_pquery_id(q));
        snprintf(st[i].sink, sizeof st[i].sink, "%s", mp_pquery_sink(q));
        mp_pquery_stats(q, &st[i].records_in, &st[i].records_out, &st[i].errors);
        st[i].late = mp_pquery_late(q);
        st[i].failed = mp_pquery_failed(q);
        const mp_source *src = mp_catalog_find(&en->cat, mp_pquery_source(q));
        int32_t parts = 0;
        if (src && mp_log_partition_count(en->log, src->topic, &parts, NULL) == 0) {
            for (int32_t p = 0; p < parts; p++) {
                int64_t committed = -1, earliest = 0, latest = 0;
                mp_log_offsets(en->log, src->topic, p, &earliest, &latest, NULL);
                mp_log_committed(en->log, mp_pquery_id(q), src->topic, p, &committed, NULL);
                st[i].lag += latest - (committed >= 0 ? committed : earliest);
            }
        }
    }
    *n = en->nqueries;
    pthread_mutex_unlock(&en->mu);
    *out = st;
    if (processing_log_records) {
        int64_t earliest = 0, latest = 0;
        *processing_log_records = 0;
        if (mp_log_offsets(en->log, MP_PROCESSING_LOG_TOPIC, 0, &earliest, &latest, NULL) == 0)
            *processing_log_records = latest - earliest;
    }
    return 0;
}

size_t mp_engine_query_count(mp_engine *en)
{
    pthread_mutex_lock(&en->mu);
    size_t n = en->nqueries;
    pthread_mutex_unlock(&en->mu);
    return n;
}

/* ---- open / close ---- */

static int replay(mp_engine *en, mp_error *e)
{
    int32_t np = 0;
    if (mp_log_partition_count(en->log, MP_COMMAND_TOPIC, &np, NULL)) {
        /* Kept forever: it is the catalog's only durable copy. */
        const char *cfg[] = {"retention.ms=-1", "flush.messages=1"};
        return mp_log_topic_create(en->log, MP_COMMAND_TOPIC, 1, cfg, 2, e);
    }
    en->replaying = 1;
    mp_log_fetch_result fr = {0};
    int64_t off = 0, latest = 0;
    int rc = mp_log_offsets(en->log, MP_COMMAND_TOPIC, 0, &off, &latest, e);
    while (!rc && off < latest) {
        if ((rc = mp_log_fetch(en->log, MP_COMMAND_TOPIC, 0, off, FETCH_BYTES, &fr, e)))
            break;
        for (size_t i = 0; i < fr.n; i++) {
            json_error_t je;
            json_t *o = json_loadb((const char *)fr.recs[i].value,
                                   fr.recs[i].value_len < 0 ? 0 : (size_t)fr.recs[i].value_len, 0, &je);
            const char *stmt = json_string_value(json_object_get(o, "statement"));
            json_t *props = json_object_get(o, "properties");
            /* Each command runs with the properties it was accepted with. */
            for (size_t k = 0; k < en->nprops; k++) {
                free(en->props[k].name);
                free(en->props[k].value);
            }
            en->nprops = 0;
            const char *key;
            json_t *val;
            json_object_foreach(props, key, val)
                set_prop(en, key, json_string_value(val), NULL);
            mp_error se = {0};
            en->replay_offset = fr.recs[i].offset;
            if (stmt && run_script(en, stmt, strlen(stmt), NULL, &se))
                fprintf(stderr, "mlpipe: replaying command at offset %lld failed: %s\n",
                        (long long)fr.recs[i].offset, se.msg);
            json_decref(o);
        }
        off = fr.next_offset;
    }
    mp_log_fetch_result_free(&fr);
    for (size_t k = 0; k < en->nprops; k++) {
        free(en->props[k].name);
        free(en->props[k].value);
    }
    en->nprops = 0;
    en->replaying = 0;
    return rc;
}

int mp_engine_open(mp_log *log, const mp_engine_opts *o, mp_engine **out, mp_error *e)
{
    mp_engine *en = calloc(1, sizeof *en);
    if (!en)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    en->log = log;
    pthread_mutex_init(&en->mu, NULL);
    en->pseudo_types[MP_ROW_ROWTIME] = mp_type_new(MP_TYPE_BIGINT);
    en->pseudo_types[MP_ROW_ROWPARTITION] = mp_type_new(MP_TYPE_INTEGER);
    en->pseudo_types[MP_ROW_ROWOFFSET] = mp_type_new(MP_TYPE_BIGINT);
    int rc = 0;
    if (!en->pseudo_types[0] || !en->pseudo_types[1] || !en->pseudo_types[2] ||
        (o && o->registry_dir && !(en->registry_dir = strdup(o->registry_dir))))
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
    if (!rc)
        rc = mp_fn_registry_new(&en->fns, e);
    if (!rc)
        rc = mp_model_fns_register(en->fns, e);
    if (!rc && o && o->ext_dir)
        rc = mp_udf_load_dir(en->fns, o->ext_dir, e);
    if (!rc) {
        pthread_mutex_lock(&en->mu);
        mp_model_fns_bind_scope(en->registry_dir);
        rc = replay(en, e);
        mp_model_fns_bind_scope(NULL);
        pthread_mutex_unlock(&en->mu);
    }
    if (rc) {
        mp_engine_close(en);
        return rc;
    }
    *out = en;
    return 0;
}

void mp_engine_close(mp_engine *en)
{
    if (!en)
        return;
    pthread_mutex_lock(&en->mu);
    while (en->nqueries)
        mp_pquery_stop(en->queries[--en->nqueries]);
    free(en->queries);
    mp_pull_views_free(en);
    mp_catalog_clear(&en->cat);
    for (size_t i = 0; i < en->nprops; i++) {
        free(en->props[i].name);
        free(en->props[i].value);
    }
    free(en->props);
    pthread_mutex_unlock(&en->mu);
    mp_fn_registry_free(en->fns);
    for (int i = 0; i < MP_ROW_PSEUDO; i++)
        mp_type_free(en->pseudo_types[i]);
    free(en->registry_dir);
    pthread_mutex_destroy(&en->mu);
    free(en);
}
