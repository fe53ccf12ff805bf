/* ksqlDB's /ksql entities as `mlpipe sql` shows them: see ksql_entities.h. */
#include "cli/ksql_entities.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

typedef struct cells {
    char **v;
    size_t n, cap;
    int oom;
} cells;

static void cells_add(cells *c, const char *s)
{
    if (c->n == c->cap) {
        size_t nc = c->cap ? 2 * c->cap : 32;
        char **nv = realloc(c->v, nc * sizeof *nv);
        if (!nv) {
            c->oom = 1;
            return;
        }
        c->v = nv;
        c->cap = nc;
    }
    char *d = strdup(s ? s : "");
    if (!d) {
        c->oom = 1;
        return;
    }
    c->v[c->n++] = d;
}

static void cells_free(cells *c)
{
    free_strings(c->v, c->n);
    memset(c, 0, sizeof *c);
}

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

/* Sends a table to the sink (rows of ncols cells) and empties c. */
static int emit(const mp_engine_sink *sink, const char *title, size_t ncols,
                const char *const *header, cells *c, mp_error *e)
{
    if (c->oom) {
        cells_free(c);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    if (sink && sink->table)
        sink->table(sink->ctx, title, ncols, header, c->n / ncols, (const char *const *)c->v);
    cells_free(c);
    return 0;
}

static int show_sources(json_t *list, int tables, const mp_engine_sink *sink, mp_error *e)
{
    cells c = {0};
    size_t i;
    json_t *s;
    json_array_foreach(list, i, s) {
        cells_add(&c, jstr(s, "name"));
        cells_add(&c, jstr(s, "topic"));
        cells_add(&c, jstr(s, "keyFormat"));
        cells_add(&c, jstr(s, "valueFormat"));
    }
    const char *h[] = {tables ? "Table Name" : "Stream Name", "Kafka Topic", "Key Format",
                       "Value Format"};
    return emit(sink, tables ? "Tables" : "Streams", 4, h, &c, e);
}

static int show_topics(json_t *list, const mp_engine_sink *sink, mp_error *e)
{
    cells c = {0};
    size_t i;
    json_t *t;
    json_array_foreach(list, i, t) {
        char num[32];
        snprintf(num, sizeof num, "%zu", json_array_size(json_object_get(t, "replicaInfo")));
        cells_add(&c, jstr(t, "name"));
        cells_add(&c, num);
    }
    const char *h[] = {"Kafka Topic", "Partitions"};
    return emit(sink, "Topics", 2, h, &c, e);
}

static int show_queries(json_t *list, const mp_engine_sink *sink, mp_error *e)
{
    cells c = {0};
    size_t i;
    json_t *q;
    json_array_foreach(list, i, q) {
        mp_buf sinks = {0};
        size_t k;
        json_t *s;
        json_array_foreach(json_object_get(q, "sinks"), k, s) {
            if (k)
                mp_buf_puts(&sinks, ", ");
            mp_buf_puts(&sinks, json_is_string(s) ? json_string_value(s) : "");
        }
        if (sinks.oom)
            c.oom = 1;
        cells_add(&c, jstr(q, "id"));
        cells_add(&c, jstr(q, "queryType"));
        cells_add(&c, jstr(q, "state"));
        cells_add(&c, sinks.data ? sinks.data : "");
        cells_add(&c, jstr(q, "records"));
        cells_add(&c, jstr(q, "queryString"));
        mp_buf_free(&sinks);
    }
    const char *h[] = {"Query ID", "Query Type", "Status", "Sink Name", "Records", "Query String"};
    return emit(sink, "Queries", 6, h, &c, e);
}

static int show_list(json_t *list, const char *title, const char *const *keys,
                     const char *const *header, size_t ncols, const mp_engine_sink *sink,
                     mp_error *e)
{
    cells c = {0};
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o)
        for (size_t k = 0; k < ncols; k++)
            cells_add(&c, jstr(o, keys[k]));
    return emit(sink, title, ncols, header, &c, e);
}

static int show_properties(json_t *list, const mp_engine_sink *sink, mp_error *e)
{
    cells c = {0};
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p) {
        /* The server sees this session's SET properties as the request's;
         * to the user they are the session's, as in `mlpipe sql`. */
        const char *scope = jstr(p, "scope");
        cells_add(&c, jstr(p, "name"));
        cells_add(&c, !strcmp(scope, "REQUEST") ? "SESSION" : scope);
        cells_add(&c, jstr(p, "value"));
    }
    const char *h[] = {"Property", "Scope", "Value"};
    return emit(sink, "Properties", 3, h, &c, e);
}

static int describe_source(json_t *d, const mp_engine_sink *sink, mp_error *e)
{
    json_t *writes = json_object_get(d, "writeQueries");
    const char *writer = jstr(json_array_get(writes, 0), "id");
    char title[1024];
    snprintf(title, sizeof title,
             "Name: %s | Type: %s | Topic: %s | Key format: %s | Value format: %s%s%s",
             jstr(d, "name"), jstr(d, "type"), jstr(d, "topic"), jstr(d, "keyFormat"),
             jstr(d, "valueFormat"), *writer ? " | Written by: " : "", writer);
    int table = !strcmp(jstr(d, "type"), "TABLE");
    cells c = {0};
    /* The REST answer leaves out ROWTIME, which the shell lists. */
    cells_add(&c, "ROWTIME");
    cells_add(&c, "BIGINT");
    cells_add(&c, "(system)");
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(d, "fields"), i, f) {
        json_t *schema = json_object_get(f, "schema");
        const char *type = jstr(schema, "fullType");
        cells_add(&c, jstr(f, "name"));
        cells_add(&c, *type ? type : jstr(schema, "type"));
        cells_add(&c, strcmp(jstr(f, "type"), "KEY") ? ""
                      : table                        ? "(primary key)"
                                                     : "(key)");
    }
    const char *h[] = {"Field", "Type", ""};
    int rc = emit(sink, title, 3, h, &c, e);
    if (rc || !json_is_true(json_object_get(d, "extended")))
        return rc;
    json_t *lists[] = {writes, json_object_get(d, "readQueries")};
    const char *rel[] = {"writes", "reads"};
    for (int k = 0; k < 2; k++) {
        json_t *q;
        json_array_foreach(lists[k], i, q) {
            cells_add(&c, jstr(q, "id"));
            cells_add(&c, rel[k]);
            cells_add(&c, jstr(q, "records"));
        }
    }
    const char *qh[] = {"Query", "Relation", "Records"};
    return emit(sink, "Queries", 3, qh, &c, e);
}

static int describe_function(json_t *o, const mp_engine_sink *sink, mp_error *e)
{
    char title[1024];
    const char *cat = jstr(o, "category");
    snprintf(title, sizeof title, "Name: %s | Type: %s | %s%s%s%s", jstr(o, "name"),
             jstr(o, "type"), *cat ? "Category: " : "", cat, *cat ? " | " : "",
             jstr(o, "description"));
    static const char *const keys[] = {"argumentTypes", "returnType", "description"};
    static const char *const h[] = {"Variation", "Returns", "Description"};
    return show_list(json_object_get(o, "functions"), title, keys, h, 3, sink, e);
}

static void say(const mp_engine_sink *sink, const char *text)
{
    if (sink && sink->message)
        sink->message(sink->ctx, text);
}

int mp_ksql_show_entity(json_t *ent, const mp_engine_sink *sink, mp_error *e)
{
    const char *type = jstr(ent, "@type");
    if (!strcmp(type, "currentStatus")) {
        json_t *cs = json_object_get(ent, "commandStatus");
        json_t *m = json_object_get(cs ? cs : ent, "message");
        if (json_is_string(m))
            say(sink, json_string_value(m));
        return 0;
    }
    if (!strcmp(type, "streams") || !strcmp(type, "tables")) {
        int tables = !strcmp(type, "tables");
        return show_sources(json_object_get(ent, type), tables, sink, e);
    }
    if (!strcmp(type, "kafka_topics"))
        return show_topics(json_object_get(ent, "topics"), sink, e);
    if (!strcmp(type, "queries"))
        return show_queries(json_object_get(ent, "queries"), sink, e);
    if (!strcmp(type, "function_names")) {
        static const char *const keys[] = {"name", "type", "category"};
        static const char *const h[] = {"Function Name", "Type", "Category"};
        return show_list(json_object_get(ent, "functions"), "Functions", keys, h, 3, sink, e);
    }
    if (!strcmp(type, "properties"))
        return show_properties(json_object_get(ent, "properties"), sink, e);
    if (!strcmp(type, "sourceDescription"))
        return describe_source(json_object_get(ent, "sourceDescription"), sink, e);
    if (!strcmp(type, "describe_function"))
        return describe_function(ent, sink, e);
    /* An entity this client does not know: its message, else its JSON. */
    json_t *m = json_object_get(ent, "message");
    if (json_is_string(m)) {
        say(sink, json_string_value(m));
        return 0;
    }
    char *s = json_dumps(ent, JSON_COMPACT);
    if (!s)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    say(sink, s);
    free(s);
    return 0;
}
