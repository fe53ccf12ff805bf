/* The REST executor of `mlpipe ksql`: see ksql_client.h. */
#include "cli/ksql_client.h"
#include "cli/ksql_entities.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mlpipe.h"
#include "core/buf.h"
#include "sql/sql_parser.h"

/* Answers and stream lines beyond this are refused rather than buffered
 * without bound. */
#define MAX_BODY (64u << 20)
/* RUN SCRIPT inside RUN SCRIPT: enough for real use, bounded for loops. */
#define MAX_SCRIPT_DEPTH 16
#define CONNECT_TIMEOUT_MS 10000L
#define INFO_TIMEOUT_MS 10000L
#define KSQL_TIMEOUT_MS 120000L
#define MAX_URL 2048

struct mp_ksql_client {
    char *url; /* without a trailing '/' */
    CURL *easy; /* one handle, so the connection is kept between statements */
    CURLM *multi;
    struct curl_slist *headers;
    char errbuf[CURL_ERROR_SIZE];
    long status;
    int depth; /* RUN SCRIPT nesting */
    /* SET properties, sent with every request. */
    size_t nprops;
    char **names, **values;
};

/* ---- properties ---- */

static int prop_set(mp_ksql_client *c, const char *name, const char *value, mp_error *e)
{
    for (size_t i = 0; i < c->nprops; i++)
        if (!strcasecmp(c->names[i], name)) {
            char *v = value ? strdup(value) : NULL;
            if (value && !v)
                return mp_error_set(e, MP_ENOMEM, "out of memory");
            free(c->values[i]);
            if (value) {
                c->values[i] = v;
            } else {
                free(c->names[i]);
                c->nprops--;
                c->names[i] = c->names[c->nprops];
                c->values[i] = c->values[c->nprops];
            }
            return 0;
        }
    if (!value)
        return 0;
    char **nn = realloc(c->names, (c->nprops + 1) * sizeof *nn);
    if (!nn)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    c->names = nn;
    char **nv = realloc(c->values, (c->nprops + 1) * sizeof *nv);
    if (!nv)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    c->values = nv;
    char *n = strdup(name), *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    c->names[c->nprops] = n;
    c->values[c->nprops] = v;
    c->nprops++;
    return 0;
}

/* {"ksql": text, "streamsProperties": {...}} into *out (malloc'd). */
static int request_body(const mp_ksql_client *c, const char *text, size_t len, char **out,
                        mp_error *e)
{
    *out = NULL;
    json_t *props = json_object();
    json_t *body = json_object();
    if (!props || !body) {
        json_decref(props);
        json_decref(body);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    int bad = json_object_set_new(body, "streamsProperties", props);
    for (size_t i = 0; i < c->nprops && !bad; i++)
        bad = json_object_set_new(props, c->names[i], json_string(c->values[i]));
    if (!bad)
        bad = json_object_set_new(body, "ksql", json_stringn(text, len));
    /* jansson refuses text that is not UTF-8, as JSON must be. */
    if (bad) {
        json_decref(body);
        return mp_error_set(e, MP_EINPUT, "the statement or a SET property is not valid UTF-8, "
                                          "which a JSON request cannot carry");
    }
    *out = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    return *out ? 0 : mp_error_set(e, MP_ENOMEM, "out of memory");
}

/* ---- one HTTP exchange ---- */

enum xmode { X_WHOLE, X_QUERY, X_PRINT };

typedef struct xfer {
    mp_ksql_client *c;
    const mp_engine_sink *sink;
    enum xmode mode;
    int streaming;    /* a 200 answer to /query: handled line by line */
    int decided;      /* streaming has been settled from the status */
    int stop;         /* the sink asked to stop: the transfer is cut */
    int too_big;
    int failed;       /* the stream carried an error: err */
    mp_error err;
    mp_buf in;        /* the body, or the stream's unfinished line */
    /* the row being handed over */
    mp_buf cells;     /* its cell texts, each NUL-terminated */
    size_t *offs;     /* where each cell's text starts */
    mp_value *vals;
    size_t cap;       /* of offs and vals */
} xfer;

static void xfer_free(xfer *x)
{
    mp_buf_free(&x->in);
    mp_buf_free(&x->cells);
    free(x->offs);
    free(x->vals);
}

static void handle_line(xfer *x, char *line, size_t len);

/* Hands every complete line in x->in to handle_line and keeps the rest. */
static void drain_lines(xfer *x)
{
    size_t start = 0;
    for (;;) {
        char *nl = memchr(x->in.data + start, '\n', x->in.len - start);
        if (!nl || x->stop)
            break;
        size_t n = (size_t)(nl - (x->in.data + start));
        *nl = 0;
        handle_line(x, x->in.data + start, n);
        start += n + 1;
    }
    if (start) {
        memmove(x->in.data, x->in.data + start, x->in.len - start);
        x->in.len -= start;
        x->in.data[x->in.len] = 0;
    }
}

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = size * n;
    if (!x->decided) {
        long status = 0;
        curl_easy_getinfo(x->c->easy, CURLINFO_RESPONSE_CODE, &status);
        x->streaming = x->mode != X_WHOLE && status == 200;
        x->decided = 1;
    }
    if (x->in.len + len > MAX_BODY) {
        x->too_big = 1;
        return 0; /* cuts the transfer */
    }
    mp_buf_append(&x->in, p, len);
    if (x->in.oom)
        return 0;
    if (x->streaming)
        drain_lines(x);
    return x->stop ? 0 : len;
}

/* Performs the request set on c->easy. Returns 0 when an answer came
 * (x->c->status says which), MP_EIO when the server could not be reached
 * or the transfer broke, or 1 when cancelled (the transfer was cut, which
 * closes the connection, so the server ends what it was doing for us). */
static int perform(mp_ksql_client *c, xfer *x, int cancel_on_flag, mp_error *e)
{
    c->status = 0;
    c->errbuf[0] = 0;
    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, x);
    if (curl_multi_add_handle(c->multi, c->easy) != CURLM_OK)
        return mp_error_set(e, MP_ENOMEM, "cannot start a request to %s", c->url);
    const mp_engine_sink *s = x->sink;
    /* Ctrl-C before this request (a script that goes on after a stopped
     * query) must not cancel a statement; only a push query, which
     * would otherwise never end, stops on the standing flag. */
    int was = s && s->cancelled && s->cancelled(s->ctx);
    int running = 1, cancelled = 0;
    CURLcode res = CURLE_OK;
    while (running) {
        if (curl_multi_perform(c->multi, &running) != CURLM_OK) {
            res = CURLE_FAILED_INIT;
            break;
        }
        if (!running)
            break;
        if (s && s->cancelled && s->cancelled(s->ctx) && (cancel_on_flag || !was)) {
            cancelled = 1;
            break;
        }
        /* Short waits keep Ctrl-C prompt; an interrupted wait just loops. */
        curl_multi_poll(c->multi, NULL, 0, 100, NULL);
    }
    int msgs;
    CURLMsg *m;
    while ((m = curl_multi_info_read(c->multi, &msgs)))
        if (m->msg == CURLMSG_DONE)
            res = m->data.result;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &c->status);
    curl_multi_remove_handle(c->multi, c->easy);
    if (cancelled)
        return 1;
    if (x->in.oom)
        return mp_error_set(e, MP_ENOMEM, "out of memory reading the answer from %s", c->url);
    if (x->too_big)
        return mp_error_set(e, MP_EIO, "%s: the answer is larger than %u MiB", c->url,
                            MAX_BODY >> 20);
    if (x->stop && res == CURLE_WRITE_ERROR)
        return 0;
    if (res != CURLE_OK)
        return mp_error_set(e, MP_EIO, "cannot reach %s: %s", c->url,
                            c->errbuf[0] ? c->errbuf : curl_easy_strerror(res));
    return 0;
}

/* Sets up a GET (body NULL) or a POST of body to path. */
static void prepare(mp_ksql_client *c, const char *path, const char *body, long timeout_ms)
{
    char url[MAX_URL + 64];
    snprintf(url, sizeof url, "%s%s", c->url, path);
    curl_easy_setopt(c->easy, CURLOPT_URL, url);
    if (body) {
        curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else {
        curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
}

/* A non-200 answer as an error: the server's message when it sent one. */
static int http_error(mp_ksql_client *c, const mp_buf *body, mp_error *e)
{
    json_t *j = body->len ? json_loadb(body->data, body->len, 0, NULL) : NULL;
    const char *msg = NULL;
    if (json_is_object(j)) {
        json_t *m = json_object_get(j, "message");
        if (!json_is_string(m))
            m = json_object_get(j, "error");
        if (json_is_string(m))
            msg = json_string_value(m);
    }
    int code = c->status >= 500 ? MP_EIO : MP_EINVAL;
    int rc;
    if (c->status == 401)
        rc = mp_error_set(e, MP_EINVAL, "authentication failed at %s%s%s", c->url,
                          msg ? ": " : "", msg ? msg : "");
    else if (msg)
        rc = mp_error_set(e, code, "%s", msg);
    else
        rc = mp_error_set(e, code, "%s answered HTTP %ld%s%.200s", c->url, c->status,
                          body->len ? ": " : "", body->len ? body->data : "");
    json_decref(j);
    return rc;
}

/* ---- the /query stream ---- */

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* The end of the JSON value at p, or NULL when it is cut short. Counts
 * brackets instead of recursing, so nesting costs no stack. */
static const char *value_end(const char *p, const char *end)
{
    if (p >= end)
        return NULL;
    if (*p == '"') {
        for (p++; p < end; p++) {
            if (*p == '\\' && p + 1 < end)
                p++;
            else if (*p == '"')
                return p + 1;
        }
        return NULL;
    }
    if (*p == '{' || *p == '[') {
        size_t depth = 0;
        int in_str = 0;
        for (; p < end; p++) {
            if (in_str) {
                if (*p == '\\' && p + 1 < end)
                    p++;
                else if (*p == '"')
                    in_str = 0;
            } else if (*p == '"') {
                in_str = 1;
            } else if (*p == '{' || *p == '[') {
                depth++;
            } else if ((*p == '}' || *p == ']') && --depth == 0) {
                return p + 1;
            }
        }
        return NULL;
    }
    const char *s = p;
    while (p < end && *p != ',' && *p != ']' && *p != '}' && *p != ' ' && *p != '\t' &&
           *p != '\r' && *p != '\n')
        p++;
    return p > s ? p : NULL;
}

/* The raw value of member key in the object at p, or NULL. jansson has
 * already checked the text, so this only finds things. */
static const char *member(const char *p, const char *end, const char *key, const char **vend)
{
    size_t kl = strlen(key);
    p = skip_ws(p, end);
    if (p >= end || *p != '{')
        return NULL;
    p++;
    for (;;) {
        p = skip_ws(p, end);
        if (p >= end || *p != '"')
            return NULL;
        const char *ke = value_end(p, end);
        if (!ke)
            return NULL;
        int match = (size_t)(ke - p) == kl + 2 && !memcmp(p + 1, key, kl);
        p = skip_ws(ke, end);
        if (p >= end || *p != ':')
            return NULL;
        p = skip_ws(p + 1, end);
        const char *ve = value_end(p, end);
        if (!ve)
            return NULL;
        if (match) {
            *vend = ve;
            return p;
        }
        p = skip_ws(ve, end);
        if (p >= end || *p != ',')
            return NULL;
        p++;
    }
}

/* "`A` INT, `B` STRUCT<`X` INT, `Y` STRING>": the columns of the header's
 * schema. Commas inside <>, () and `names` belong to a type. */
static int split_schema(const char *s, char ***names, char ***types, size_t *n)
{
    *names = *types = NULL;
    *n = 0;
    size_t cap = 0;
    const char *p = s;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        const char *ns, *ne;
        if (*p == '`') {
            ns = ++p;
            while (*p && *p != '`')
                p++;
            ne = p;
            if (*p)
                p++;
        } else {
            ns = p;
            while (*p && *p != ' ' && *p != ',')
                p++;
            ne = p;
        }
        while (*p == ' ')
            p++;
        const char *ts = p;
        int depth = 0, quoted = 0;
        for (; *p; p++) {
            if (quoted) {
                quoted = *p != '`';
                continue;
            }
            if (*p == '`')
                quoted = 1;
            else if (*p == '<' || *p == '(')
                depth++;
            else if ((*p == '>' || *p == ')') && depth > 0)
                depth--;
            else if (*p == ',' && depth == 0)
                break;
        }
        const char *te = p;
        while (te > ts && te[-1] == ' ')
            te--;
        if (*n == cap) {
            size_t nc = cap ? 2 * cap : 8;
            char **a = realloc(*names, nc * sizeof *a);
            if (!a)
                return -1;
            *names = a;
            char **b = realloc(*types, nc * sizeof *b);
            if (!b)
                return -1;
            *types = b;
            cap = nc;
        }
        (*names)[*n] = strndup(ns, (size_t)(ne - ns));
        (*types)[*n] = strndup(ts, (size_t)(te - ts));
        if (!(*names)[*n] || !(*types)[*n]) {
            free((*names)[*n]);
            free((*types)[*n]);
            return -1;
        }
        (*n)++;
        if (*p == ',')
            p++;
    }
    return 0;
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* The stream cannot go on: keeps the first error and cuts the transfer. */
static void stream_fail(xfer *x, int code, const char *msg)
{
    if (x->failed)
        return;
    x->failed = 1;
    mp_error_set(&x->err, code, "%s", msg);
    x->stop = 1;
}

static void on_header(xfer *x, json_t *h)
{
    json_t *qid = json_object_get(h, "queryId"), *schema = json_object_get(h, "schema");
    char **names = NULL, **types = NULL;
    size_t n = 0;
    if (split_schema(json_is_string(schema) ? json_string_value(schema) : "", &names, &types,
                     &n)) {
        stream_fail(x, MP_ENOMEM, "out of memory");
    } else {
        if (x->sink && x->sink->header)
            x->sink->header(x->sink->ctx, json_is_string(qid) ? json_string_value(qid) : "", n,
                            (const char *const *)names, (const char *const *)types);
    }
    free_strings(names, n);
    free_strings(types, n);
}

/* Adds one cell: SQL NULL, a BOOLEAN, or a STRING of its display text. */
static int add_cell(xfer *x, size_t i, const char *p, const char *ve)
{
    if (i == x->cap) {
        size_t nc = x->cap ? 2 * x->cap : 16;
        size_t *no = realloc(x->offs, nc * sizeof *no);
        if (!no)
            return -1;
        x->offs = no;
        mp_value *nv = realloc(x->vals, nc * sizeof *nv);
        if (!nv)
            return -1;
        x->vals = nv;
        x->cap = nc;
    }
    size_t len = (size_t)(ve - p);
    x->offs[i] = x->cells.len;
    if (len == 4 && !memcmp(p, "null", 4)) {
        x->vals[i] = mp_v_null(MP_TYPE_NULL);
    } else if (len == 4 && !memcmp(p, "true", 4)) {
        x->vals[i] = mp_v_bool(true);
    } else if (len == 5 && !memcmp(p, "false", 5)) {
        x->vals[i] = mp_v_bool(false);
    } else {
        json_t *s = *p == '"' ? json_loadb(p, len, JSON_DECODE_ANY, NULL) : NULL;
        if (json_is_string(s))
            mp_buf_append(&x->cells, json_string_value(s), json_string_length(s));
        else
            mp_buf_append(&x->cells, p, len); /* numbers keep their spelling */
        json_decref(s);
        x->vals[i] = mp_v_string_ref(NULL, x->cells.len - x->offs[i]);
    }
    mp_buf_putc(&x->cells, 0);
    return x->cells.oom ? -1 : 0;
}

static void on_row(xfer *x, const char *line, const char *end)
{
    const char *re, *ce;
    const char *rv = member(line, end, "row", &re);
    const char *cv = rv ? member(rv, re, "columns", &ce) : NULL;
    if (!cv || *cv != '[') {
        stream_fail(x, MP_EIO, "a row from the server has no \"columns\" array");
        return;
    }
    mp_buf_reset(&x->cells);
    size_t n = 0;
    const char *p = skip_ws(cv + 1, ce);
    while (p < ce && *p != ']') {
        const char *ve = value_end(p, ce);
        if (!ve)
            break;
        if (add_cell(x, n, p, ve)) {
            stream_fail(x, MP_ENOMEM, "out of memory");
            return;
        }
        n++;
        p = skip_ws(ve, ce);
        if (p < ce && *p == ',')
            p = skip_ws(p + 1, ce);
    }
    /* The buffer has stopped moving: point the strings into it. */
    for (size_t i = 0; i < n; i++)
        if (x->vals[i].kind == MP_TYPE_STRING)
            x->vals[i].u.str = x->cells.data + x->offs[i];
    if (x->sink && x->sink->row && x->sink->row(x->sink->ctx, n, x->vals))
        x->stop = 1;
}

/* One line of the /query answer: PRINT's text, or one element of the
 * JSON array the server writes one per line ("[{header},", "{row},",
 * "{finalMessage}]"). */
static void handle_line(xfer *x, char *line, size_t len)
{
    if (len && line[len - 1] == '\r')
        line[--len] = 0;
    if (x->mode == X_PRINT) {
        if (x->sink && x->sink->message)
            x->sink->message(x->sink->ctx, line);
        return;
    }
    /* The element runs from its first '{' to its last '}': the array's
     * brackets and separators around it are dropped. */
    char *s = memchr(line, '{', len);
    char *end = line + len;
    while (end > line && end[-1] != '}')
        end--;
    if (!s || end <= s) {
        if (strspn(line, "[], \t") != len) {
            char msg[300];
            snprintf(msg, sizeof msg, "unexpected line in the query's answer: %.200s", line);
            stream_fail(x, MP_EIO, msg);
        }
        return;
    }
    json_error_t je;
    json_t *j = json_loadb(s, (size_t)(end - s), 0, &je);
    if (!json_is_object(j)) {
        json_decref(j);
        char msg[300];
        snprintf(msg, sizeof msg, "malformed line in the query's answer: %.200s", line);
        stream_fail(x, MP_EIO, msg);
        return;
    }
    json_t *v;
    if ((v = json_object_get(j, "header"))) {
        on_header(x, v);
    } else if (json_object_get(j, "row")) {
        on_row(x, s, end);
    } else if (json_is_string(v = json_object_get(j, "finalMessage"))) {
        if (x->sink && x->sink->message)
            x->sink->message(x->sink->ctx, json_string_value(v));
    } else if ((v = json_object_get(j, "errorMessage"))) {
        json_t *m = json_object_get(v, "message");
        stream_fail(x, MP_EINVAL,
                    json_is_string(m) ? json_string_value(m) : "the query failed on the server");
    }
    json_decref(j);
}

/* ---- statements ---- */

/* A server's "line L:C:" counts from the statement it was sent; the user
 * sees the script, where the statement starts at pos. */
static int relocate(int rc, const mp_sql_pos *pos, mp_error *e)
{
    unsigned line, col;
    int n = 0;
    if (!e || sscanf(e->msg, "line %u:%u:%n", &line, &col, &n) != 2 || n == 0)
        return rc;
    if (line == 1)
        col += pos->col - 1;
    line += pos->line - 1;
    char rest[MP_ERROR_MSG_MAX];
    snprintf(rest, sizeof rest, "%s", e->msg + n);
    return mp_error_set(e, rc, "line %u:%u:%s", line, col, rest);
}

static int run_query(mp_ksql_client *c, const mp_sql_stmt *st, const char *text,
                     const mp_engine_sink *sink, mp_error *e)
{
    char *body;
    int rc = request_body(c, text, st->span_len, &body, e);
    if (rc)
        return rc;
    xfer x = {.c = c, .sink = sink, .mode = st->kind == MP_SQL_STMT_PRINT ? X_PRINT : X_QUERY};
    prepare(c, "/query", body, 0);
    rc = perform(c, &x, 1, e);
    free(body);
    if (rc == 1) {
        /* Ctrl-C: the query ends as a local one does. */
        if (x.mode == X_QUERY && sink && sink->message)
            sink->message(sink->ctx, "Query terminated");
        rc = 0;
    } else if (!rc && c->status != 200) {
        rc = relocate(http_error(c, &x.in, e), &st->pos, e);
    } else if (!rc) {
        /* A last line without its newline. */
        if (x.in.len && !x.stop)
            handle_line(&x, x.in.data, x.in.len);
        if (x.failed) {
            if (e)
                *e = x.err;
            rc = relocate(x.err.code ? x.err.code : MP_EIO, &st->pos, e);
        }
    }
    xfer_free(&x);
    return rc;
}

static int run_ksql(mp_ksql_client *c, const mp_sql_stmt *st, const char *text,
                    const mp_engine_sink *sink, mp_error *e)
{
    char *body;
    int rc = request_body(c, text, st->span_len, &body, e);
    if (rc)
        return rc;
    xfer x = {.c = c, .sink = sink, .mode = X_WHOLE};
    prepare(c, "/ksql", body, KSQL_TIMEOUT_MS);
    rc = perform(c, &x, 0, e);
    free(body);
    if (rc == 1) {
        rc = mp_error_set(e, MP_EIO, "interrupted; the server may still have run the statement");
    } else if (!rc && c->status != 200) {
        rc = relocate(http_error(c, &x.in, e), &st->pos, e);
    } else if (!rc) {
        json_error_t je;
        json_t *j = json_loadb(x.in.data ? x.in.data : "", x.in.len, 0, &je);
        if (!json_is_array(j)) {
            rc = mp_error_set(e, MP_EIO, "%s/ksql answered with %s: %.200s", c->url,
                              j ? "something other than a list of entities" : "malformed JSON",
                              x.in.len ? x.in.data : "(nothing)");
        } else {
            size_t i;
            json_t *ent;
            json_array_foreach(j, i, ent) {
                if ((rc = mp_ksql_show_entity(ent, sink, e)))
                    break;
            }
        }
        json_decref(j);
    }
    xfer_free(&x);
    return rc;
}

static int run_script(mp_ksql_client *c, const char *src, size_t len, const mp_engine_sink *sink,
                      mp_error *e);

static void say(const mp_engine_sink *sink, const char *text)
{
    if (sink && sink->message)
        sink->message(sink->ctx, text);
}

/* RUN SCRIPT reads the file here, as ksqlDB's CLI does: the server may
 * not see this machine's files. */
static int run_script_file(mp_ksql_client *c, const char *path, const mp_engine_sink *sink,
                           mp_error *e)
{
    if (c->depth >= MAX_SCRIPT_DEPTH)
        return mp_error_set(e, MP_EINVAL, "RUN SCRIPT: '%s' nests scripts deeper than %d", path,
                            MAX_SCRIPT_DEPTH);
    FILE *f = fopen(path, "rb");
    if (!f)
        return mp_error_set(e, MP_ENOTFOUND, "RUN SCRIPT: cannot open '%s'", path);
    mp_buf b = {0};
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        mp_buf_append(&b, chunk, got);
    int err = ferror(f);
    fclose(f);
    int rc;
    if (b.oom) {
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
    } else if (err) {
        rc = mp_error_set(e, MP_EIO, "RUN SCRIPT: cannot read '%s'", path);
    } else {
        c->depth++;
        rc = run_script(c, b.data ? b.data : "", b.len, sink, e);
        c->depth--;
        if (rc)
            mp_error_prefix(e, "%s", path);
    }
    mp_buf_free(&b);
    return rc;
}

static int utf8_ok(const char *s)
{
    json_t *j = json_string(s);
    json_decref(j);
    return j != NULL;
}

static int run_stmt(mp_ksql_client *c, const char *src, const mp_sql_stmt *st,
                    const mp_engine_sink *sink, mp_error *e)
{
    char msg[600];
    int rc;
    switch (st->kind) {
    case MP_SQL_STMT_SET:
        /* Refused now rather than in every later request. */
        if (!utf8_ok(st->name) || !utf8_ok(st->value))
            return mp_error_set(e, MP_EINPUT, "line %u:%u: a property sent to the server must "
                                              "be valid UTF-8", st->pos.line, st->pos.col);
        if ((rc = prop_set(c, st->name, st->value, e)))
            return rc;
        snprintf(msg, sizeof msg, "Successfully changed local property '%.250s' to '%.250s'.",
                 st->name, st->value);
        say(sink, msg);
        return 0;
    case MP_SQL_STMT_UNSET:
        if ((rc = prop_set(c, st->name, NULL, e)))
            return rc;
        snprintf(msg, sizeof msg, "Successfully unset local property '%.250s'.", st->name);
        say(sink, msg);
        return 0;
    case MP_SQL_STMT_RUN_SCRIPT:
        return run_script_file(c, st->value, sink, e);
    case MP_SQL_STMT_QUERY:
    case MP_SQL_STMT_PRINT:
        return run_query(c, st, src + st->span_offset, sink, e);
    default:
        return run_ksql(c, st, src + st->span_offset, sink, e);
    }
}

static int run_script(mp_ksql_client *c, const char *src, size_t len, const mp_engine_sink *sink,
                      mp_error *e)
{
    mp_sql_script *script = NULL;
    int rc = mp_sql_parse_script(src, len, &script, NULL, e);
    if (rc)
        return rc;
    for (size_t i = 0; i < script->n && !rc; i++)
        rc = run_stmt(c, src, script->stmts[i], sink, e);
    mp_sql_script_free(script);
    return rc;
}

int mp_ksql_client_execute(void *client, const char *sql, const mp_engine_sink *sink, mp_error *e)
{
    return run_script(client, sql, strlen(sql), sink, e);
}

/* ---- the client ---- */

int mp_ksql_client_info(mp_ksql_client *c, char **version, mp_error *e)
{
    *version = NULL;
    xfer x = {.c = c, .mode = X_WHOLE};
    prepare(c, "/info", NULL, INFO_TIMEOUT_MS);
    int rc = perform(c, &x, 0, e);
    if (!rc && c->status != 200) {
        rc = http_error(c, &x.in, e);
    } else if (!rc) {
        json_t *j = json_loadb(x.in.data ? x.in.data : "", x.in.len, 0, NULL);
        json_t *v = json_object_get(json_object_get(j, "KsqlServerInfo"), "version");
        if (!json_is_string(v))
            rc = mp_error_set(e, MP_EIO, "%s/info did not answer as a ksqlDB server: %.200s",
                              c->url, x.in.len ? x.in.data : "(nothing)");
        else if (!(*version = strdup(json_string_value(v))))
            rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        json_decref(j);
    }
    xfer_free(&x);
    return rc;
}

long mp_ksql_client_status(const mp_ksql_client *c)
{
    return c->status;
}

int mp_ksql_client_new(const mp_ksql_client_opts *o, mp_ksql_client **out, mp_error *e)
{
    *out = NULL;
    /* Bounded, so a request's URL (this plus a short path) always fits. */
    if (strlen(o->url) > MAX_URL)
        return mp_error_set(e, MP_EINVAL, "the server URL is longer than %d bytes", MAX_URL);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return mp_error_set(e, MP_EIO, "cannot initialise libcurl");
    mp_ksql_client *c = calloc(1, sizeof *c);
    if (!c) {
        curl_global_cleanup();
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    c->url = strdup(o->url);
    c->easy = curl_easy_init();
    c->multi = curl_multi_init();
    /* On failure curl_slist_append leaves the list as it was. */
    c->headers = curl_slist_append(NULL, "Content-Type: application/vnd.ksql.v1+json");
    struct curl_slist *h = NULL;
    if (c->headers)
        h = curl_slist_append(c->headers, "Accept: application/vnd.ksql.v1+json");
    if (!c->url || !c->easy || !c->multi || !h) {
        mp_ksql_client_free(c);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    size_t n = strlen(c->url);
    while (n && c->url[n - 1] == '/')
        c->url[--n] = 0;
    CURL *h1 = c->easy;
    curl_easy_setopt(h1, CURLOPT_HTTPHEADER, c->headers);
    curl_easy_setopt(h1, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(h1, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    /* No SIGALRM for name lookups: SIGINT is the shell's. */
    curl_easy_setopt(h1, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h1, CURLOPT_USERAGENT, "mlpipe-ksql/" MLPIPE_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
    /* The URL names a ksqlDB server, never a file or another protocol. */
    curl_easy_setopt(h1, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    if (o->user) {
        curl_easy_setopt(h1, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(h1, CURLOPT_USERNAME, o->user);
        curl_easy_setopt(h1, CURLOPT_PASSWORD, o->password ? o->password : "");
    }
    *out = c;
    return 0;
}

void mp_ksql_client_free(mp_ksql_client *c)
{
    if (!c)
        return;
    if (c->multi)
        curl_multi_cleanup(c->multi);
    if (c->easy)
        curl_easy_cleanup(c->easy);
    curl_slist_free_all(c->headers);
    free_strings(c->names, c->nprops);
    free_strings(c->values, c->nprops);
    free(c->url);
    free(c);
    curl_global_cleanup();
}
