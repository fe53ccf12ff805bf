/* ksqlDB's REST endpoints: requests become engine statements, engine
 * output becomes ksqlDB's JSON entities. */
#include "server/ksql_api.h"

#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlpipe.h"
#include "data/sql_text.h"
#include "sql/sql_parser.h"

#define V1_JSON "application/vnd.ksql.v1+json"
#define DELIMITED "application/vnd.ksqlapi.delimited.v1"

/* A push query being streamed: /close-query finds it by id. */
typedef struct live_query {
    struct live_query *next;
    char id[128];
    atomic_int cancel;
} live_query;

typedef struct command_status {
    char *id, *message;
} command_status;

struct mp_ksql_api {
    mp_ksql_api_opts o;
    pthread_mutex_t mu;
    live_query *live;
    size_t nlive;
    command_status *cmds;
    size_t ncmds;
    atomic_ullong queries_started, rows_streamed;
};

/* ---- request properties ---- */

typedef struct props {
    size_t n;
    char **names, **values;
} props;

static void props_free(props *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->names[i]);
        free(p->values[i]);
    }
    free(p->names);
    free(p->values);
    memset(p, 0, sizeof *p);
}

static int props_set(props *p, const char *name, const char *value)
{
    /* ksqlDB clients prefix streams properties; the engine knows the bare names. */
    if (strncmp(name, "ksql.streams.", 13) == 0)
        name += 13;
    for (size_t i = 0; i < p->n; i++)
        if (!strcasecmp(p->names[i], name)) {
            char *v = value ? strdup(value) : NULL;
            if (value && !v)
                return -1;
            free(p->values[i]);
            if (value) {
                p->values[i] = v;
            } else {
                free(p->names[i]);
                p->n--;
                p->names[i] = p->names[p->n];
                p->values[i] = p->values[p->n];
            }
            return 0;
        }
    if (!value)
        return 0;
    char **nn = realloc(p->names, (p->n + 1) * sizeof *nn);
    if (!nn)
        return -1;
    p->names = nn;
    char **nv = realloc(p->values, (p->n + 1) * sizeof *nv);
    if (!nv)
        return -1;
    p->values = nv;
    p->names[p->n] = strdup(name);
    p->values[p->n] = strdup(value);
    if (!p->names[p->n] || !p->values[p->n]) {
        free(p->names[p->n]);
        free(p->values[p->n]);
        return -1;
    }
    p->n++;
    return 0;
}

static int props_from_json(props *p, json_t *obj)
{
    if (!json_is_object(obj))
        return 0;
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        char num[64];
        const char *s = NULL;
        if (json_is_string(v))
            s = json_string_value(v);
        else if (json_is_integer(v))
            snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v)), s = num;
        else if (json_is_real(v))
            snprintf(num, sizeof num, "%.17g", json_real_value(v)), s = num;
        else if (json_is_boolean(v))
            s = json_is_true(v) ? "true" : "false";
        if (s && props_set(p, k, s))
            return -1;
    }
    return 0;
}

static void props_apply(const props *p)
{
    mp_engine_thread_props((const char *const *)p->names, (const char *const *)p->values, p->n);
}

/* ---- JSON helpers ---- */

size_t mp_json_depth(const char *s, size_t len, size_t limit)
{
    size_t depth = 0, max = 0;
    int in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"') {
            in_str = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max) {
                max = depth;
                if (max > limit)
                    return max;
            }
        } else if ((c == ']' || c == '}') && depth) {
            depth--;
        }
    }
    return max;
}

static const char *ctype_for(const mp_http_request *req)
{
    return req->accept && strstr(req->accept, V1_JSON) ? V1_JSON : "application/json";
}

static void respond_json(mp_http_response *resp, int status, const char *ctype, json_t *j)
{
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    if (!s) {
        mp_http_respond_error(resp, 500, "out of memory");
        return;
    }
    mp_http_respond_owned(resp, status, ctype, s, strlen(s));
}

/* ksqlDB's error entity; the HTTP status is the code's first three digits. */
static json_t *error_entity(const char *type, int code, const char *message, const char *stmt)
{
    json_t *o = json_pack("{s:s,s:i,s:s}", "@type", type, "error_code", code, "message",
                          message ? message : "");
    if (o && stmt) {
        json_object_set_new(o, "statementText", json_string(stmt));
        json_object_set_new(o, "entities", json_array());
    }
    return o;
}

static void respond_error(mp_http_response *resp, const mp_http_request *req, int code,
                          const char *type, const char *message, const char *stmt)
{
    respond_json(resp, code / 100, ctype_for(req), error_entity(type, code, message, stmt));
}

static int code_for(const mp_error *e)
{
    return e->code == MP_ENOMEM || e->code == MP_EIO ? 50000 : 40001;
}

/* Parses the body as a JSON object, refusing deep nesting first. */
static json_t *parse_body(mp_ksql_api *api, const mp_http_request *req, mp_http_response *resp)
{
    if (mp_json_depth(req->body, req->body_len, api->o.max_json_depth) > api->o.max_json_depth) {
        char msg[96];
        snprintf(msg, sizeof msg, "request JSON nested deeper than %zu levels",
                 api->o.max_json_depth);
        respond_error(resp, req, 40000, "generic_error", msg, NULL);
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        char msg[300];
        snprintf(msg, sizeof msg, "malformed JSON in the request body at line %d, column %d: %s",
                 je.line, je.column, je.text);
        respond_error(resp, req, 40000, "generic_error", msg, NULL);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        respond_error(resp, req, 40000, "generic_error", "the request body must be a JSON object",
                      NULL);
        return NULL;
    }
    return j;
}

/* ---- capturing engine output ---- */

typedef struct captured_table {
    char *title;
    size_t ncols, nrows;
    char **header; /* ncols */
    char **cells;  /* nrows * ncols */
} captured_table;

typedef struct capture {
    char *message; /* the last status line */
    captured_table *tables;
    size_t ntables;
    int oom;
} capture;

static void cap_message(void *ctx, const char *text)
{
    capture *c = ctx;
    free(c->message);
    c->message = strdup(text);
    if (!c->message)
        c->oom = 1;
}

static void cap_table(void *ctx, const char *title, size_t ncols, const char *const *header,
                      size_t nrows, const char *const *cells)
{
    capture *c = ctx;
    captured_table *t = realloc(c->tables, (c->ntables + 1) * sizeof *t);
    if (!t) {
        c->oom = 1;
        return;
    }
    c->tables = t;
    t = &t[c->ntables++];
    memset(t, 0, sizeof *t);
    t->title = strdup(title ? title : "");
    t->header = calloc(ncols ? ncols : 1, sizeof *t->header);
    t->cells = calloc(nrows * ncols > 0 ? nrows * ncols : 1, sizeof *t->cells);
    if (!t->title || !t->header || !t->cells) {
        c->oom = 1;
        return;
    }
    t->ncols = ncols;
    t->nrows = nrows;
    for (size_t i = 0; i < ncols; i++)
        if (!(t->header[i] = strdup(header[i] ? header[i] : "")))
            c->oom = 1;
    for (size_t i = 0; i < nrows * ncols; i++)
        if (!(t->cells[i] = strdup(cells[i] ? cells[i] : "")))
            c->oom = 1;
}

static void capture_free(capture *c)
{
    free(c->message);
    for (size_t i = 0; i < c->ntables; i++) {
        captured_table *t = &c->tables[i];
        free(t->title);
        for (size_t j = 0; t->header && j < t->ncols; j++)
            free(t->header[j]);
        for (size_t j = 0; t->cells && j < t->nrows * t->ncols; j++)
            free(t->cells[j]);
        free(t->header);
        free(t->cells);
    }
    free(c->tables);
    memset(c, 0, sizeof *c);
}

static const char *cell(const captured_table *t, size_t r, size_t c)
{
    return r < t->nrows && c < t->ncols ? t->cells[r * t->ncols + c] : "";
}

/* "Name: X | Type: STREAM | Topic: t": the value after "key: ". */
static json_t *title_field(const char *title, const char *key)
{
    size_t kl = strlen(key);
    for (const char *p = title; p && *p;) {
        if (strncmp(p, key, kl) == 0 && p[kl] == ':' && p[kl + 1] == ' ') {
            const char *v = p + kl + 2;
            const char *end = strstr(v, " | ");
            return json_stringn(v, end ? (size_t)(end - v) : strlen(v));
        }
        p = strstr(p, " | ");
        if (p)
            p += 3;
    }
    return json_null();
}

/* ---- entities ---- */

static json_t *sources_entity(const captured_table *t, int tables)
{
    json_t *list = json_array();
    for (size_t r = 0; t && r < t->nrows; r++)
        json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "type",
                                              tables ? "TABLE" : "STREAM", "name", cell(t, r, 0),
                                              "topic", cell(t, r, 1), "keyFormat", cell(t, r, 2),
                                              "valueFormat", cell(t, r, 3), "isWindowed", 0));
    return json_pack("{s:s,s:o}", "@type", tables ? "tables" : "streams",
                     tables ? "tables" : "streams", list);
}

static json_t *topics_entity(const captured_table *t)
{
    json_t *list = json_array();
    for (size_t r = 0; t && r < t->nrows; r++) {
        long parts = strtol(cell(t, r, 1), NULL, 10);
        json_t *replicas = json_array();
        for (long i = 0; i < parts && i < 100000; i++)
            json_array_append_new(replicas, json_integer(1));
        json_array_append_new(list, json_pack("{s:s,s:o}", "name", cell(t, r, 0), "replicaInfo",
                                              replicas));
    }
    return json_pack("{s:s,s:o}", "@type", "kafka_topics", "topics", list);
}

static json_t *queries_entity(const captured_table *t)
{
    json_t *list = json_array();
    for (size_t r = 0; t && r < t->nrows; r++) {
        const char *state = cell(t, r, 2);
        json_t *q = json_pack("{s:s,s:[s],s:[],s:s,s:{s:i},s:s,s:s,s:s}", "queryString",
                              cell(t, r, 5), "sinks", cell(t, r, 3), "sinkKafkaTopics", "id",
                              cell(t, r, 0), "statusCount", state, 1, "queryType",
                              cell(t, r, 1), "state", state, "records", cell(t, r, 4));
        json_array_append_new(list, q);
    }
    return json_pack("{s:s,s:o}", "@type", "queries", "queries", list);
}

static json_t *functions_entity(const captured_table *t)
{
    json_t *list = json_array();
    for (size_t r = 0; t && r < t->nrows; r++)
        json_array_append_new(list, json_pack("{s:s,s:s,s:s}", "name", cell(t, r, 0), "type",
                                              cell(t, r, 1), "category", cell(t, r, 2)));
    return json_pack("{s:s,s:o}", "@type", "function_names", "functions", list);
}

static json_t *properties_entity(const captured_table *t, const props *req_props)
{
    json_t *list = json_array();
    for (size_t r = 0; t && r < t->nrows; r++)
        json_array_append_new(list, json_pack("{s:s,s:s,s:s}", "name", cell(t, r, 0), "scope",
                                              cell(t, r, 1), "value", cell(t, r, 2)));
    for (size_t i = 0; i < req_props->n; i++)
        json_array_append_new(list, json_pack("{s:s,s:s,s:s}", "name", req_props->names[i],
                                              "scope", "REQUEST", "value", req_props->values[i]));
    return json_pack("{s:s,s:o,s:[],s:[]}", "@type", "properties", "properties", list,
                     "overwrittenProperties", "defaultProperties");
}

/* A type as ksqlDB's REST schema object: {"type": "ARRAY", "memberSchema": ...}
 * for the outer kind; nested details stay in the printed type. */
static json_t *schema_object(const char *type)
{
    char kind[32];
    size_t n = strcspn(type, "<(");
    snprintf(kind, sizeof kind, "%.*s", (int)(n < sizeof kind ? n : sizeof kind - 1), type);
    if (!strcmp(kind, "INT"))
        snprintf(kind, sizeof kind, "INTEGER");
    if (!strcmp(kind, "VARCHAR"))
        snprintf(kind, sizeof kind, "STRING");
    return json_pack("{s:s,s:n,s:n,s:s}", "type", kind, "fields", "memberSchema", "fullType",
                     type);
}

static json_t *describe_entity(const capture *c)
{
    if (c->ntables == 0)
        return NULL;
    const captured_table *t = &c->tables[0];
    json_t *fields = json_array();
    for (size_t r = 0; r < t->nrows; r++) {
        if (!strcmp(cell(t, r, 2), "(system)"))
            continue; /* ksqlDB leaves ROWTIME out of the fields */
        json_t *f = json_pack("{s:s,s:o}", "name", cell(t, r, 0), "schema",
                              schema_object(cell(t, r, 1)));
        if (strstr(cell(t, r, 2), "key"))
            json_object_set_new(f, "type", json_string("KEY"));
        json_array_append_new(fields, f);
    }
    json_t *readq = json_array(), *writeq = json_array();
    if (c->ntables > 1) {
        const captured_table *q = &c->tables[1];
        for (size_t r = 0; r < q->nrows; r++)
            json_array_append_new(!strcmp(cell(q, r, 1), "writes") ? writeq : readq,
                                  json_pack("{s:s,s:s}", "id", cell(q, r, 0), "records",
                                            cell(q, r, 2)));
    }
    json_t *d = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:b,s:s,s:s,s:s}", "name",
                          title_field(t->title, "Name"), "type", title_field(t->title, "Type"),
                          "topic", title_field(t->title, "Topic"), "keyFormat",
                          title_field(t->title, "Key format"), "valueFormat",
                          title_field(t->title, "Value format"), "readQueries", readq,
                          "writeQueries", writeq, "windowType", 0, "statement", "",
                          "timestamp", "", "partitions", "");
    json_object_set_new(d, "fields", fields);
    json_object_set_new(d, "extended", json_boolean(c->ntables > 1));
    json_object_set_new(d, "windowType", json_null());
    return json_pack("{s:s,s:o}", "@type", "sourceDescription", "sourceDescription", d);
}

static json_t *describe_function_entity(const capture *c)
{
    if (c->ntables == 0)
        return NULL;
    const captured_table *t = &c->tables[0];
    json_t *fns = json_array();
    for (size_t r = 0; r < t->nrows; r++)
        json_array_append_new(fns, json_pack("{s:s,s:s,s:s}", "argumentTypes", cell(t, r, 0),
                                             "returnType", cell(t, r, 1), "description",
                                             cell(t, r, 2)));
    /* The title's last field is the description, after "Category: ...". */
    const char *desc = "";
    const char *cat = strstr(t->title, "Category: ");
    if (cat && (cat = strstr(cat, " | ")))
        desc = cat + 3;
    return json_pack("{s:s,s:o,s:o,s:o,s:s,s:s,s:s,s:s,s:o}", "@type", "describe_function",
                     "name", title_field(t->title, "Name"), "type", title_field(t->title, "Type"),
                     "category", title_field(t->title, "Category"),
                     "description", desc, "author", "mlpipe", "version", MLPIPE_VERSION, "path",
                     "internal", "functions", fns);
}

static void remember_command(mp_ksql_api *api, const char *id, const char *message)
{
    pthread_mutex_lock(&api->mu);
    for (size_t i = 0; i < api->ncmds; i++)
        if (!strcmp(api->cmds[i].id, id)) {
            char *m = strdup(message);
            if (m) {
                free(api->cmds[i].message);
                api->cmds[i].message = m;
            }
            pthread_mutex_unlock(&api->mu);
            return;
        }
    command_status *c = realloc(api->cmds, (api->ncmds + 1) * sizeof *c);
    if (c) {
        api->cmds = c;
        c[api->ncmds].id = strdup(id);
        c[api->ncmds].message = strdup(message);
        if (c[api->ncmds].id && c[api->ncmds].message) {
            api->ncmds++;
        } else {
            free(c[api->ncmds].id);
            free(c[api->ncmds].message);
        }
    }
    pthread_mutex_unlock(&api->mu);
}

static json_t *status_entity(mp_ksql_api *api, const mp_sql_stmt *st, const capture *c)
{
    char id[600];
    const char *obj = st->object == MP_SQL_OBJ_TABLE   ? "table"
                      : st->object == MP_SQL_OBJ_MODEL ? "model"
                                                       : "stream";
    const char *name = st->name ? st->name : "";
    switch (st->kind) {
    case MP_SQL_STMT_DROP:
        snprintf(id, sizeof id, "%s/`%s`/drop", obj, name);
        break;
    case MP_SQL_STMT_TERMINATE:
        snprintf(id, sizeof id, "terminate/%s/execute", st->all ? "ALL" : name);
        break;
    default:
        snprintf(id, sizeof id, "%s/`%s`/create", obj, name);
        break;
    }
    const char *msg = c->message ? c->message : "";
    json_t *qid = json_null();
    if (!strncmp(msg, "Created query with ID ", 22)) {
        json_decref(qid);
        qid = json_string(msg + 22);
    }
    remember_command(api, id, msg);
    int64_t seq = mp_engine_thread_last_command();
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:o},s:I}", "@type", "currentStatus", "commandId", id,
                     "commandStatus", "status", "SUCCESS", "message", msg, "queryId", qid,
                     "commandSequenceNumber", (json_int_t)(seq >= 0 ? seq : 0));
}

/* ---- POST /ksql ---- */

static int is_query_kind(const mp_sql_stmt *st)
{
    return st->kind == MP_SQL_STMT_QUERY || st->kind == MP_SQL_STMT_PRINT;
}

static void handle_ksql(mp_ksql_api *api, const mp_http_request *req, mp_http_response *resp)
{
    if (api->o.headless) {
        respond_error(resp, req, 40500, "generic_error",
                      "this server runs headless (--queries-file): it takes no statements over "
                      "REST",
                      NULL);
        return;
    }
    json_t *body = parse_body(api, req, resp);
    if (!body)
        return;
    json_t *jk = json_object_get(body, "ksql");
    if (!json_is_string(jk)) {
        json_decref(body);
        respond_error(resp, req, 40000, "generic_error",
                      "the request needs a \"ksql\" string with the statements", NULL);
        return;
    }
    const char *sql = json_string_value(jk);
    size_t sql_len = json_string_length(jk);
    props pr = {0};
    if (props_from_json(&pr, json_object_get(body, "streamsProperties"))) {
        props_free(&pr);
        json_decref(body);
        mp_http_respond_error(resp, 500, "out of memory");
        return;
    }
    mp_sql_script *script = NULL;
    mp_error e = {0};
    if (mp_sql_parse_script(sql, sql_len, &script, NULL, &e)) {
        respond_error(resp, req, 40001, "statement_error", e.msg, sql);
        props_free(&pr);
        json_decref(body);
        return;
    }
    json_t *entities = json_array();
    const char *ctype = ctype_for(req);
    for (size_t i = 0; i < script->n; i++) {
        const mp_sql_stmt *st = script->stmts[i];
        char *text = strndup(sql + st->span_offset, st->span_len);
        if (!text) {
            mp_http_respond_error(resp, 500, "out of memory");
            goto out;
        }
        if (is_query_kind(st)) {
            json_t *err = error_entity(
                "statement_error", 40002,
                "The following statement types should be issued to the websocket endpoint "
                "'/query':\n\t* PRINT\n\t* SELECT",
                text);
            json_object_set(err, "entities", entities);
            respond_json(resp, 400, ctype, err);
            free(text);
            goto out;
        }
        /* A script file is the client's to read (ksqlDB's CLI expands RUN
         * SCRIPT itself); the server does not open files for its clients. */
        if (st->kind == MP_SQL_STMT_RUN_SCRIPT) {
            json_t *err = error_entity("statement_error", 40001,
                                       "RUN SCRIPT is not accepted over REST: the client reads "
                                       "the file and sends its statements",
                                       text);
            json_object_set(err, "entities", entities);
            respond_json(resp, 400, ctype, err);
            free(text);
            goto out;
        }
        /* SET and UNSET apply to the rest of this request, as in ksqlDB. */
        if (st->kind == MP_SQL_STMT_SET || st->kind == MP_SQL_STMT_UNSET) {
            props_set(&pr, st->name, st->kind == MP_SQL_STMT_SET ? st->value : NULL);
            free(text);
            continue;
        }
        capture c = {0};
        mp_engine_sink sink = {.ctx = &c, .message = cap_message, .table = cap_table};
        props_apply(&pr);
        mp_error_clear(&e);
        int rc = mp_engine_execute(api->o.engine, text, &sink, &e);
        props_apply(&(props){0});
        if (rc || c.oom) {
            int code = rc ? code_for(&e) : 50000;
            json_t *err = error_entity("statement_error", code, rc ? e.msg : "out of memory",
                                       text);
            json_object_set(err, "entities", entities);
            respond_json(resp, code / 100, ctype, err);
            capture_free(&c);
            free(text);
            goto out;
        }
        json_t *ent = NULL;
        const captured_table *t0 = c.ntables ? &c.tables[0] : NULL;
        switch (st->kind) {
        case MP_SQL_STMT_SHOW:
            switch (st->show) {
            case MP_SQL_SHOW_STREAMS: ent = sources_entity(t0, 0); break;
            case MP_SQL_SHOW_TABLES: ent = sources_entity(t0, 1); break;
            case MP_SQL_SHOW_TOPICS: ent = topics_entity(t0); break;
            case MP_SQL_SHOW_QUERIES: ent = queries_entity(t0); break;
            case MP_SQL_SHOW_FUNCTIONS: ent = functions_entity(t0); break;
            case MP_SQL_SHOW_PROPERTIES: ent = properties_entity(t0, &pr); break;
            }
            break;
        case MP_SQL_STMT_DESCRIBE:
            ent = describe_entity(&c);
            break;
        case MP_SQL_STMT_DESCRIBE_FUNCTION:
            ent = describe_function_entity(&c);
            break;
        case MP_SQL_STMT_INSERT_VALUES:
            break; /* ksqlDB answers an insert with no entity */
        case MP_SQL_STMT_CREATE_SOURCE:
        case MP_SQL_STMT_CREATE_AS:
        case MP_SQL_STMT_INSERT_QUERY:
        case MP_SQL_STMT_DROP:
        case MP_SQL_STMT_TERMINATE:
            ent = status_entity(api, st, &c);
            break;
        default:
            if (c.message)
                ent = json_pack("{s:s,s:s}", "@type", "currentStatus", "message", c.message);
            break;
        }
        if (ent) {
            json_object_set_new(ent, "statementText", json_string(text));
            json_object_set_new(ent, "warnings", json_array());
            json_array_append_new(entities, ent);
        }
        capture_free(&c);
        free(text);
    }
    respond_json(resp, 200, ctype, json_incref(entities));
out:
    json_decref(entities);
    mp_sql_script_free(script);
    props_free(&pr);
    json_decref(body);
}

/* ---- push queries: /query and /query-stream ---- */

enum qformat { Q_LEGACY, Q_DELIMITED, Q_JSON_ARRAY, Q_PRINT };

typedef struct push_query {
    mp_ksql_api *api;
    char *sql;
    props pr;
    enum qformat fmt;
    mp_http_writer *w;
    live_query live;
    int registered;
    int header_sent;
    int failed; /* a write failed: the client has gone */
    int pull;   /* a pull query: the legacy array ends after its rows, no finalMessage */
    size_t nrows;
    mp_buf line;
} push_query;

static void live_add(mp_ksql_api *api, live_query *q)
{
    pthread_mutex_lock(&api->mu);
    q->next = api->live;
    api->live = q;
    api->nlive++;
    pthread_mutex_unlock(&api->mu);
}

static void live_remove(mp_ksql_api *api, live_query *q)
{
    pthread_mutex_lock(&api->mu);
    for (live_query **p = &api->live; *p; p = &(*p)->next)
        if (*p == q) {
            *p = q->next;
            api->nlive--;
            break;
        }
    pthread_mutex_unlock(&api->mu);
}

static void pq_send(push_query *q)
{
    if (!q->failed && (q->line.oom || mp_http_write(q->w, q->line.data, q->line.len) != 0))
        q->failed = 1;
    mp_buf_reset(&q->line);
}

static void pq_header(void *ctx, const char *query_id, size_t ncols, const char *const *names,
                      const char *const *types)
{
    push_query *q = ctx;
    snprintf(q->live.id, sizeof q->live.id, "%s", query_id);
    if (!q->registered) {
        live_add(q->api, &q->live);
        q->registered = 1;
    }
    mp_buf *b = &q->line;
    switch (q->fmt) {
    case Q_LEGACY: {
        mp_buf schema = {0};
        for (size_t i = 0; i < ncols; i++)
            mp_buf_printf(&schema, "%s`%s` %s", i ? ", " : "", names[i], types[i]);
        mp_buf_puts(b, "[{\"header\":{\"queryId\":");
        mp_json_quote(query_id, strlen(query_id), b);
        mp_buf_puts(b, ",\"schema\":");
        mp_json_quote(schema.data ? schema.data : "", schema.len, b);
        mp_buf_puts(b, q->pull ? "}}" : "}},\n");
        mp_buf_free(&schema);
        break;
    }
    case Q_DELIMITED:
    case Q_JSON_ARRAY:
        if (q->fmt == Q_JSON_ARRAY)
            mp_buf_putc(b, '[');
        mp_buf_puts(b, "{\"queryId\":");
        mp_json_quote(query_id, strlen(query_id), b);
        mp_buf_puts(b, ",\"columnNames\":[");
        for (size_t i = 0; i < ncols; i++) {
            if (i)
                mp_buf_putc(b, ',');
            mp_json_quote(names[i], strlen(names[i]), b);
        }
        mp_buf_puts(b, "],\"columnTypes\":[");
        for (size_t i = 0; i < ncols; i++) {
            if (i)
                mp_buf_putc(b, ',');
            mp_json_quote(types[i], strlen(types[i]), b);
        }
        mp_buf_puts(b, "]}");
        /* application/json: a separator goes before each later element. */
        if (q->fmt == Q_DELIMITED)
            mp_buf_putc(b, '\n');
        break;
    case Q_PRINT:
        break;
    }
    q->header_sent = 1;
    pq_send(q);
}

static int pq_row(void *ctx, size_t ncols, const mp_value *v)
{
    push_query *q = ctx;
    mp_buf *b = &q->line;
    if (q->fmt == Q_PRINT) {
        /* PRINT's columns, in the engine's order. */
        static const char *label[] = {"rowtime", "partition", "key", "value"};
        for (size_t i = 0; i < ncols && i < 4; i++) {
            mp_buf_printf(b, "%s%s: ", i ? ", " : "", label[i]);
            mp_value_format(&v[i], b);
        }
        mp_buf_putc(b, '\n');
    } else {
        if (q->fmt == Q_LEGACY)
            mp_buf_puts(b, q->pull ? ",\n{\"row\":{\"columns\":" : "{\"row\":{\"columns\":");
        else if (q->fmt == Q_JSON_ARRAY)
            mp_buf_puts(b, ",\n");
        mp_buf_putc(b, '[');
        for (size_t i = 0; i < ncols; i++) {
            if (i)
                mp_buf_putc(b, ',');
            mp_value_write_json(&v[i], MP_JSON_TIME_TEXT, b);
        }
        mp_buf_putc(b, ']');
        if (q->fmt != Q_JSON_ARRAY)
            mp_buf_puts(b, q->fmt != Q_LEGACY ? "\n" : q->pull ? "}}" : "}},\n");
    }
    q->nrows++;
    atomic_fetch_add(&q->api->rows_streamed, 1);
    pq_send(q);
    return q->failed;
}

static int pq_cancelled(void *ctx)
{
    push_query *q = ctx;
    return q->failed || atomic_load(&q->live.cancel) || mp_http_writer_closed(q->w);
}

static void pq_message(void *ctx, const char *text)
{
    push_query *q = ctx;
    if (q->fmt != Q_LEGACY || !q->header_sent || q->pull)
        return;
    mp_buf_puts(&q->line, "{\"finalMessage\":");
    mp_json_quote(text, strlen(text), &q->line);
    mp_buf_puts(&q->line, "}]\n");
    pq_send(q);
    q->header_sent = 2; /* closed */
}

static void pq_free(void *arg)
{
    push_query *q = arg;
    free(q->sql);
    props_free(&q->pr);
    mp_buf_free(&q->line);
    free(q);
}

static void pq_produce(void *arg, mp_http_writer *w)
{
    push_query *q = arg;
    q->w = w;
    atomic_fetch_add(&q->api->queries_started, 1);
    mp_engine_sink sink = {.ctx = q, .message = pq_message, .header = pq_header, .row = pq_row,
                           .cancelled = pq_cancelled};
    mp_error e = {0};
    props_apply(&q->pr);
    int rc = mp_engine_execute(q->api->o.engine, q->sql, &sink, &e);
    props_apply(&(props){0});
    if (rc && !q->failed) {
        /* Validated before the stream began, so this is a run-time failure
         * (the source dropped meanwhile): end the stream with the error. */
        json_t *err = error_entity("generic_error", code_for(&e), e.msg, NULL);
        char *s = err ? json_dumps(err, JSON_COMPACT) : NULL;
        json_decref(err);
        if (s) {
            if (q->fmt == Q_LEGACY)
                mp_buf_printf(&q->line, "%s{\"errorMessage\":%s}]\n",
                              !q->header_sent ? "[" : q->pull ? ",\n" : "", s);
            else if (q->fmt == Q_JSON_ARRAY)
                mp_buf_printf(&q->line, "%s%s", q->header_sent ? ",\n" : "[", s);
            else
                mp_buf_printf(&q->line, "%s\n", s);
            free(s);
            if (q->fmt != Q_JSON_ARRAY)
                q->header_sent = 2;
            else
                q->header_sent = 1;
            pq_send(q);
        }
    }
    if (!q->failed && q->fmt == Q_JSON_ARRAY && q->header_sent) {
        mp_buf_puts(&q->line, "]\n");
        pq_send(q);
    } else if (!q->failed && q->fmt == Q_LEGACY && q->header_sent == 1) {
        /* ksqlDB ends a pull query's array after its rows. */
        mp_buf_puts(&q->line, q->pull ? "]\n" : "{\"finalMessage\":\"Query terminated\"}]\n");
        pq_send(q);
    }
    if (q->registered)
        live_remove(q->api, &q->live);
}

static void handle_query(mp_ksql_api *api, const mp_http_request *req, mp_http_response *resp,
                         int stream_api)
{
    if (api->o.headless) {
        respond_error(resp, req, 40500, "generic_error",
                      "this server runs headless (--queries-file): it takes no queries over REST",
                      NULL);
        return;
    }
    json_t *body = parse_body(api, req, resp);
    if (!body)
        return;
    json_t *js = json_object_get(body, stream_api ? "sql" : "ksql");
    if (!json_is_string(js)) {
        json_decref(body);
        respond_error(resp, req, 40000, "generic_error",
                      stream_api ? "the request needs a \"sql\" string with the query"
                                 : "the request needs a \"ksql\" string with the query",
                      NULL);
        return;
    }
    push_query *q = calloc(1, sizeof *q);
    if (!q || !(q->sql = strdup(json_string_value(js))) ||
        props_from_json(&q->pr, json_object_get(body, stream_api ? "properties"
                                                                 : "streamsProperties"))) {
        if (q)
            pq_free(q);
        json_decref(body);
        mp_http_respond_error(resp, 500, "out of memory");
        return;
    }
    json_decref(body);
    q->api = api;
    /* A bad query gets an error status, not an empty 200 stream. */
    mp_error e = {0};
    mp_sql_stmt *st = NULL;
    if (mp_sql_parse_statement(q->sql, strlen(q->sql), &st, NULL, &e)) {
        respond_error(resp, req, 40001, "statement_error", e.msg, q->sql);
        pq_free(q);
        return;
    }
    int kind = st->kind;
    q->pull = kind == MP_SQL_STMT_QUERY && st->query->emit != MP_SQL_EMIT_CHANGES;
    mp_sql_stmt_free(st);
    if (kind != MP_SQL_STMT_QUERY && !(kind == MP_SQL_STMT_PRINT && !stream_api)) {
        respond_error(resp, req, 40002, "statement_error",
                      stream_api ? "/query-stream takes one SELECT statement"
                                 : "/query takes one SELECT or PRINT statement; use /ksql for "
                                   "others",
                      q->sql);
        pq_free(q);
        return;
    }
    props_apply(&q->pr);
    int rc = mp_engine_validate(api->o.engine, q->sql, &e);
    props_apply(&(props){0});
    if (rc) {
        respond_error(resp, req, code_for(&e), "statement_error", e.msg, q->sql);
        pq_free(q);
        return;
    }
    const char *ctype;
    if (kind == MP_SQL_STMT_PRINT) {
        q->fmt = Q_PRINT;
        ctype = "text/plain; charset=utf-8";
    } else if (!stream_api) {
        q->fmt = Q_LEGACY;
        ctype = ctype_for(req);
    } else if (req->accept && strstr(req->accept, "application/json") &&
               !strstr(req->accept, DELIMITED)) {
        q->fmt = Q_JSON_ARRAY;
        ctype = "application/json";
    } else {
        q->fmt = Q_DELIMITED;
        ctype = DELIMITED;
    }
    mp_http_respond_stream(resp, 200, ctype, pq_produce, q, pq_free);
}

static void handle_close_query(mp_ksql_api *api, const mp_http_request *req,
                               mp_http_response *resp)
{
    json_t *body = parse_body(api, req, resp);
    if (!body)
        return;
    json_t *jid = json_object_get(body, "queryId");
    if (!json_is_string(jid)) {
        json_decref(body);
        respond_error(resp, req, 40000, "generic_error", "the request needs a \"queryId\" string",
                      NULL);
        return;
    }
    int found = 0;
    pthread_mutex_lock(&api->mu);
    for (live_query *q = api->live; q; q = q->next)
        if (!strcmp(q->id, json_string_value(jid))) {
            atomic_store(&q->cancel, 1);
            found = 1;
        }
    pthread_mutex_unlock(&api->mu);
    if (!found) {
        char msg[256];
        snprintf(msg, sizeof msg, "no running push query with id '%.180s'",
                 json_string_value(jid));
        respond_error(resp, req, 40000, "generic_error", msg, NULL);
    } else {
        mp_http_respond(resp, 200, "application/json", "", 0);
    }
    json_decref(body);
}

/* ---- POST /inserts-stream ---- */

static void sql_ident(const char *name, mp_buf *out)
{
    int plain = isalpha((unsigned char)name[0]) || name[0] == '_';
    for (const char *p = name; *p && plain; p++)
        plain = isalnum((unsigned char)*p) || *p == '_';
    if (plain) {
        /* Unquoted, so the parser folds it to upper case as ksqlDB does. */
        mp_buf_puts(out, name);
        return;
    }
    mp_buf_putc(out, '`');
    for (const char *p = name; *p; p++) {
        if (*p == '`')
            mp_buf_putc(out, '`');
        mp_buf_putc(out, *p);
    }
    mp_buf_putc(out, '`');
}

static int sql_literal(json_t *v, mp_buf *out, int depth)
{
    if (depth > 64)
        return -1;
    char num[64];
    switch (json_typeof(v)) {
    case JSON_NULL: mp_buf_puts(out, "NULL"); return 0;
    case JSON_TRUE: mp_buf_puts(out, "TRUE"); return 0;
    case JSON_FALSE: mp_buf_puts(out, "FALSE"); return 0;
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        mp_buf_puts(out, num);
        return 0;
    case JSON_REAL:
        snprintf(num, sizeof num, "%.17g", json_real_value(v));
        if (!strpbrk(num, ".eEn"))
            strcat(num, ".0");
        mp_buf_puts(out, num);
        return 0;
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (memchr(s, '\0', n))
            return -1;
        mp_sql_print_string(s, n, out);
        return 0;
    }
    case JSON_ARRAY: {
        mp_buf_puts(out, "ARRAY[");
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) {
            if (i)
                mp_buf_puts(out, ", ");
            if (sql_literal(x, out, depth + 1))
                return -1;
        }
        mp_buf_putc(out, ']');
        return 0;
    }
    case JSON_OBJECT: {
        mp_buf_puts(out, "STRUCT(");
        const char *k;
        json_t *x;
        int first = 1;
        json_object_foreach(v, k, x) {
            if (!first)
                mp_buf_puts(out, ", ");
            first = 0;
            sql_ident(k, out);
            mp_buf_puts(out, " := ");
            if (sql_literal(x, out, depth + 1))
                return -1;
        }
        mp_buf_putc(out, ')');
        return 0;
    }
    }
    return -1;
}

static void handle_inserts(mp_ksql_api *api, const mp_http_request *req, mp_http_response *resp)
{
    if (api->o.headless) {
        respond_error(resp, req, 40500, "generic_error",
                      "this server runs headless (--queries-file): it takes no inserts over REST",
                      NULL);
        return;
    }
    if (mp_json_depth(req->body, req->body_len, api->o.max_json_depth) > api->o.max_json_depth) {
        respond_error(resp, req, 40000, "generic_error", "request JSON nested too deeply", NULL);
        return;
    }
    /* The body is a stream of JSON values: the target, then one row each. */
    json_error_t je;
    size_t off = 0;
    json_t *first = json_loadb(req->body, req->body_len, JSON_DISABLE_EOF_CHECK, &je);
    if (!first || !json_is_object(first) || !json_is_string(json_object_get(first, "target"))) {
        json_decref(first);
        respond_error(resp, req, 40000, "generic_error",
                      "the body must start with {\"target\": \"STREAM_NAME\"}", NULL);
        return;
    }
    off = je.position;
    char *target = strdup(json_string_value(json_object_get(first, "target")));
    json_decref(first);
    int as_array = req->accept && strstr(req->accept, "application/json") &&
                   !strstr(req->accept, DELIMITED);
    mp_buf out = {0}, stmt = {0};
    if (as_array)
        mp_buf_putc(&out, '[');
    long seq = 0;
    while (target) {
        while (off < req->body_len && isspace((unsigned char)req->body[off]))
            off++;
        if (off >= req->body_len)
            break;
        json_t *row = json_loadb(req->body + off, req->body_len - off, JSON_DISABLE_EOF_CHECK, &je);
        char msg[1200] = "";
        if (!row) {
            snprintf(msg, sizeof msg, "row %ld: malformed JSON at column %d: %s", seq, je.column,
                     je.text);
            off = req->body_len; /* can't find the next row reliably */
        } else {
            off += je.position;
            if (!json_is_object(row)) {
                snprintf(msg, sizeof msg, "row %ld: expected a JSON object of column values", seq);
            } else {
                mp_buf_reset(&stmt);
                mp_buf_puts(&stmt, "INSERT INTO ");
                sql_ident(target, &stmt);
                mp_buf_puts(&stmt, " (");
                const char *k;
                json_t *x;
                int first_col = 1;
                json_object_foreach(row, k, x) {
                    if (!first_col)
                        mp_buf_puts(&stmt, ", ");
                    first_col = 0;
                    sql_ident(k, &stmt);
                }
                mp_buf_puts(&stmt, ") VALUES (");
                first_col = 1;
                int bad = 0;
                json_object_foreach(row, k, x) {
                    if (!first_col)
                        mp_buf_puts(&stmt, ", ");
                    first_col = 0;
                    bad |= sql_literal(x, &stmt, 0);
                }
                mp_buf_puts(&stmt, ");");
                mp_error e = {0};
                if (bad || stmt.oom)
                    snprintf(msg, sizeof msg, "row %ld: a value cannot be inserted", seq);
                else if (mp_engine_execute(api->o.engine, stmt.data, NULL, &e))
                    snprintf(msg, sizeof msg, "row %ld: %s", seq, e.msg);
            }
            json_decref(row);
        }
        if (as_array && seq > 0)
            mp_buf_putc(&out, ',');
        if (*msg) {
            json_t *ack = json_pack("{s:s,s:I,s:i,s:s}", "status", "error", "seq", (json_int_t)seq,
                                    "error_code", 40000, "message", msg);
            char *s = ack ? json_dumps(ack, JSON_COMPACT) : NULL;
            json_decref(ack);
            mp_buf_puts(&out, s ? s : "{\"status\":\"error\"}");
            free(s);
        } else {
            mp_buf_printf(&out, "{\"status\":\"ok\",\"seq\":%ld}", seq);
        }
        if (!as_array)
            mp_buf_putc(&out, '\n');
        seq++;
    }
    if (as_array)
        mp_buf_putc(&out, ']');
    free(target);
    mp_buf_free(&stmt);
    if (out.oom) {
        mp_buf_free(&out);
        mp_http_respond_error(resp, 500, "out of memory");
        return;
    }
    size_t len = out.len;
    mp_http_respond_owned(resp, 200, as_array ? "application/json" : DELIMITED, mp_buf_take(&out),
                          len);
}

/* ---- GET /info, /healthcheck, /status ---- */

static void handle_status(mp_ksql_api *api, const mp_http_request *req, mp_http_response *resp)
{
    const char *rest = req->path + 7; /* after "/status" */
    pthread_mutex_lock(&api->mu);
    if (!*rest || !strcmp(rest, "/")) {
        json_t *m = json_object();
        for (size_t i = 0; i < api->ncmds; i++)
            json_object_set_new(m, api->cmds[i].id, json_string("SUCCESS"));
        pthread_mutex_unlock(&api->mu);
        respond_json(resp, 200, ctype_for(req), json_pack("{s:o}", "commandStatuses", m));
        return;
    }
    /* /status/<type>/<entity>/<action>, as in a commandId. */
    const char *id = rest + 1;
    for (size_t i = 0; i < api->ncmds; i++)
        if (!strcmp(api->cmds[i].id, id)) {
            json_t *o = json_pack("{s:s,s:s}", "status", "SUCCESS", "message",
                                  api->cmds[i].message);
            pthread_mutex_unlock(&api->mu);
            respond_json(resp, 200, ctype_for(req), o);
            return;
        }
    pthread_mutex_unlock(&api->mu);
    respond_error(resp, req, 40400, "generic_error", "no command with that id", NULL);
}

int mp_ksql_api_handle(mp_ksql_api *api, const mp_http_request *req, mp_http_response *resp)
{
    const char *p = req->path;
    int post = !strcmp(req->method, "POST");
    int get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
    struct {
        const char *path;
        int post;
    } routes[] = {{"/ksql", 1},        {"/query", 1}, {"/query-stream", 1}, {"/inserts-stream", 1},
                  {"/close-query", 1}, {"/info", 0},  {"/healthcheck", 0},  {"/status", 0}};
    size_t r = 0, nroutes = sizeof routes / sizeof routes[0];
    for (; r < nroutes; r++)
        if (!strcmp(p, routes[r].path) || (!routes[r].post && !strcmp(routes[r].path, "/status") &&
                                            !strncmp(p, "/status/", 8)))
            break;
    if (r == nroutes)
        return 0;
    if (routes[r].post ? !post : !get) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s takes %s", routes[r].path, routes[r].post ? "POST" : "GET");
        respond_error(resp, req, 40500, "generic_error", msg, NULL);
        mp_http_add_header(resp, "Allow", routes[r].post ? "POST" : "GET, HEAD");
        return 1;
    }
    if (!strcmp(p, "/ksql"))
        handle_ksql(api, req, resp);
    else if (!strcmp(p, "/query"))
        handle_query(api, req, resp, 0);
    else if (!strcmp(p, "/query-stream"))
        handle_query(api, req, resp, 1);
    else if (!strcmp(p, "/inserts-stream"))
        handle_inserts(api, req, resp);
    else if (!strcmp(p, "/close-query"))
        handle_close_query(api, req, resp);
    else if (!strcmp(p, "/info"))
        respond_json(resp, 200, ctype_for(req),
                     json_pack("{s:{s:s,s:s,s:s,s:s}}", "KsqlServerInfo", "version",
                               MLPIPE_VERSION, "kafkaClusterId", "mlpipe-embedded",
                               "ksqlServiceId", "mlpipe_", "serverStatus", "RUNNING"));
    else if (!strcmp(p, "/healthcheck"))
        respond_json(resp, 200, "application/json",
                     json_pack("{s:b,s:{s:{s:b},s:{s:b}},s:s}", "isHealthy", 1, "details",
                               "metastore", "isHealthy", 1, "kafka", "isHealthy", 1,
                               "serverState", "READY"));
    else
        handle_status(api, req, resp);
    return 1;
}

void mp_ksql_api_metrics(mp_ksql_api *api, mp_buf *out)
{
    mp_engine_query_stat *st = NULL;
    size_t n = 0;
    int64_t plog = 0;
    if (mp_engine_stats(api->o.engine, &st, &n, &plog, NULL))
        return;
    static const struct {
        const char *name, *type, *help;
    } m[] = {
        {"mlpipe_query_records_in_total", "counter", "Records a persistent query has read."},
        {"mlpipe_query_records_out_total", "counter", "Records a persistent query has written."},
        {"mlpipe_query_errors_total", "counter", "Records a persistent query could not process."},
        {"mlpipe_query_late_records_total", "counter", "Records dropped as later than the grace period."},
        {"mlpipe_query_lag_records", "gauge", "Input records not yet committed."},
        {"mlpipe_query_running", "gauge", "1 while the query runs, 0 once it has failed."},
    };
    for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
        mp_buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", m[k].name, m[k].help, m[k].name,
                      m[k].type);
        for (size_t i = 0; i < n; i++) {
            unsigned long long v = k == 0   ? st[i].records_in
                                   : k == 1 ? st[i].records_out
                                   : k == 2 ? st[i].errors
                                   : k == 3 ? st[i].late
                                   : k == 4 ? (unsigned long long)(st[i].lag > 0 ? st[i].lag : 0)
                                            : (unsigned long long)!st[i].failed;
            mp_buf_printf(out, "%s{query=\"%s\",sink=\"%s\"} %llu\n", m[k].name, st[i].id,
                          st[i].sink, v);
        }
    }
    free(st);
    pthread_mutex_lock(&api->mu);
    size_t live = api->nlive;
    pthread_mutex_unlock(&api->mu);
    mp_buf_printf(out,
                  "# HELP mlpipe_processing_log_records Records in the processing log.\n"
                  "# TYPE mlpipe_processing_log_records gauge\n"
                  "mlpipe_processing_log_records %lld\n"
                  "# HELP mlpipe_push_queries_active Push queries streaming now.\n"
                  "# TYPE mlpipe_push_queries_active gauge\n"
                  "mlpipe_push_queries_active %zu\n"
                  "# HELP mlpipe_push_queries_total Push queries started.\n"
                  "# TYPE mlpipe_push_queries_total counter\n"
                  "mlpipe_push_queries_total %llu\n"
                  "# HELP mlpipe_push_rows_total Rows streamed to push-query clients.\n"
                  "# TYPE mlpipe_push_rows_total counter\n"
                  "mlpipe_push_rows_total %llu\n",
                  (long long)plog, live, (unsigned long long)atomic_load(&api->queries_started),
                  (unsigned long long)atomic_load(&api->rows_streamed));
}

int mp_ksql_api_new(const mp_ksql_api_opts *o, mp_ksql_api **out, mp_error *e)
{
    *out = NULL;
    mp_ksql_api *api = calloc(1, sizeof *api);
    if (!api)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    api->o = *o;
    if (!api->o.max_json_depth)
        api->o.max_json_depth = 64;
    pthread_mutex_init(&api->mu, NULL);
    *out = api;
    return 0;
}

void mp_ksql_api_free(mp_ksql_api *api)
{
    if (!api)
        return;
    /* Streams end with the server; any left are told to stop. */
    pthread_mutex_lock(&api->mu);
    for (live_query *q = api->live; q; q = q->next)
        atomic_store(&q->cancel, 1);
    pthread_mutex_unlock(&api->mu);
    for (size_t i = 0; i < api->ncmds; i++) {
        free(api->cmds[i].id);
        free(api->cmds[i].message);
    }
    free(api->cmds);
    pthread_mutex_destroy(&api->mu);
    free(api);
}
