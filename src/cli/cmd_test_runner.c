/* mlpipe test-runner: ksqlDB's ksql-test-runner over the embedded engine.
 *
 * Three files as ksql-test-runner takes them: the statements, the input
 * records ({"inputs": [{"topic", "key", "value", "timestamp"}]}) and the
 * expected output records ({"outputs": [...]}, same fields, "timestamp"
 * optional). Each run gets a fresh log in a temporary directory (removed
 * at the end): the statements run in order with 'auto.offset.reset' set to
 * 'earliest', the inputs are produced in file order, and once the
 * persistent queries have caught up, each topic named in the outputs is
 * read and compared record by record with what was expected.
 *
 * With --keep-data the run happens in a given (new or empty) directory,
 * which stays, so its topics can be looked at afterwards.
 *
 * Exit status: 0 when every expected topic holds exactly the expected
 * records, 1 on a difference (or a statement that fails), 2 for bad
 * arguments or test files (a JSON syntax error names file:line:column).
 *
 * --qtt runs a file of ksqlDB's query-validation tests through the same
 * run (tr_run_case), one test at a time: test_runner_qtt.c. */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/clock.h"
#include "core/fileio.h"
#include "sql/sql_lexer.h"
#include "sql/sql_parser.h"
#include "stream/engine.h"
#include "stream/engine_test_support.h"

#include "cli/test_runner.h"

static const char usage[] =
    "usage: mlpipe test-runner --sql-file FILE [--input-file FILE] --output-file FILE\n"
    "       mlpipe test-runner --qtt FILE.json [--case SUBSTRING] [--timeout SECS]\n"
    "\n"
    "Tests SQL statements the way ksqlDB's ksql-test-runner does, with its file\n"
    "formats: runs the statements on a fresh, temporary log (with\n"
    "'auto.offset.reset'='earliest'), produces the input records, waits for the\n"
    "persistent queries to process them, and compares the records of every topic\n"
    "named in the output file with the expected ones, in order. Prints\n"
    "\">>> Test passed!\" and exits 0 when they match; prints the first difference\n"
    "and exits 1 when they don't; exits 2 for unreadable or malformed files.\n"
    "\n"
    "  -s, --sql-file FILE     the statements to test\n"
    "  -i, --input-file FILE   {\"inputs\": [{\"topic\": T, \"key\": K, \"value\": V,\n"
    "                          \"timestamp\": MS}, ...]}; optional when the statements\n"
    "                          INSERT their own input\n"
    "  -o, --output-file FILE  {\"outputs\": [...]}, the records expected, in order;\n"
    "                          \"timestamp\" is compared when given\n"
    "  --timeout SECS          the longest wait for the queries (default 30)\n"
    "  --registry DIR          the model registry for PREDICT\n"
    "  --keep-data DIR         run in DIR (missing or empty) instead of a temporary\n"
    "                          directory, and keep it: look at the topics afterwards\n"
    "                          with mlpipe consume --data-dir DIR\n"
    "\n"
    "Values are JSON objects for JSON topics, strings for DELIMITED and KAFKA\n"
    "STRING ones, numbers for KAFKA numeric ones; keys are null, strings or\n"
    "numbers, serialised as the topic's stream declares them.\n"
    "\n"
    "--qtt FILE.json runs a file of ksqlDB's query-validation tests instead\n"
    "({\"tests\": [{\"name\", \"statements\": [...], \"inputs\", \"outputs\", \"format\",\n"
    "\"properties\", \"expectedException\": {\"message\"}, \"enabled\"}]}), each test on a\n"
    "fresh log, once for each of its formats (JSON, DELIMITED and KAFKA replace\n"
    "{FORMAT}; the others are skipped). Prints a line per test and format:\n"
    "\"PASS name/FORMAT\", \"FAIL name/FORMAT: why\" or \"SKIP name: why\", then\n"
    "\"N passed, N failed, N skipped\". Exits 0 when none failed, 1 when some did,\n"
    "2 for an unreadable or malformed file.\n"
    "  --case SUBSTRING        only the tests whose name contains SUBSTRING\n";

static const mp_flag flags[] = {
    {"sql-file", 1, 0}, {"input-file", 1, 0}, {"output-file", 1, 0},
    {"timeout", 1, 0},  {"registry", 1, 0},   {"keep-data", 1, 0}, {"qtt", 1, 0},
    {"case", 1, 0},     {NULL, 0, 0},
};

#define CMD "test-runner"

/* ---- the test files ---- */

static int bad_file(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad_file(const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "mlpipe " CMD ": %s: ", path);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

static int rec_err(char *err, size_t errsz, int rc, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int rec_err(char *err, size_t errsz, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errsz, fmt, ap);
    va_end(ap);
    return rc;
}

void tr_file_free(tr_file *f)
{
    json_decref(f->doc);
    free(f->recs);
    memset(f, 0, sizeof *f);
}

/* jansson places a syntax error at the end of the token it names ("...
 * near '\"key\"'"); the column of its first character reads better. */
int tr_token_start(const json_error_t *je)
{
    const char *near = strstr(je->text, " near '");
    size_t len = strlen(je->text);
    if (!near || len < 2 || je->text[len - 1] != '\'' || je->column <= 0)
        return je->column;
    int chars = 0;
    for (const char *p = near + 7; p < je->text + len - 1; p++)
        chars += ((unsigned char)*p & 0xC0) != 0x80;
    return je->column - chars + 1 >= 1 ? je->column - chars + 1 : je->column;
}

int tr_parse_records(const char *path, const char *field, json_t *arr, int allow_empty, tr_file *f,
                     char *err, size_t errsz)
{
    f->path = path;
    f->n = 0;
    f->recs = NULL;
    if (!json_is_array(arr))
        return rec_err(err, errsz, 2, "'%s' must be an array of records", field);
    f->n = json_array_size(arr);
    /* As in ksql-test-runner: a test that expects nothing would pass
     * whatever the statements do. */
    if (!f->n && !allow_empty && !strcmp(field, "outputs"))
        return rec_err(err, errsz, 2, "'outputs' is empty: give the records expected");
    f->recs = calloc(f->n ? f->n : 1, sizeof *f->recs);
    if (!f->recs)
        return rec_err(err, errsz, 2, "out of memory");
    for (size_t i = 0; i < f->n; i++) {
        json_t *r = json_array_get(arr, i);
        tr_record *t = &f->recs[i];
        if (!json_is_object(r))
            return rec_err(err, errsz, 2, "%s[%zu]: a record must be a JSON object", field, i);
        json_t *topic = json_object_get(r, "topic");
        if (!topic)
            return rec_err(err, errsz, 2, "%s[%zu]: missing field 'topic'", field, i);
        if (!json_is_string(topic) || !json_string_length(topic))
            return rec_err(err, errsz, 2, "%s[%zu]: 'topic' must be a topic name", field, i);
        t->topic = json_string_value(topic);
        if (!(t->value = json_object_get(r, "value")))
            return rec_err(err, errsz, 2, "%s[%zu]: missing field 'value' (null for a tombstone)",
                           field, i);
        t->key = json_object_get(r, "key");
        json_t *ts = json_object_get(r, "timestamp");
        if (ts && !json_is_null(ts)) {
            if (!json_is_integer(ts) || json_integer_value(ts) < 0)
                return rec_err(err, errsz, 2, "%s[%zu]: 'timestamp' must be milliseconds since the "
                               "epoch (a non-negative integer)", field, i);
            t->has_ts = 1;
            t->ts = (int64_t)json_integer_value(ts);
        }
        json_t *win = json_object_get(r, "window");
        if (win && !json_is_null(win)) {
            if (!strcmp(field, "inputs"))
                return rec_err(err, errsz, 3, "%s[%zu]: windowed keys ('window') in inputs are not "
                               "supported: streams over windowed topics (WINDOW_TYPE) are not "
                               "supported yet", field, i);
            json_t *ws = json_object_get(win, "start"), *we = json_object_get(win, "end"),
                   *wt = json_object_get(win, "type");
            const char *type = json_string_value(wt);
            /* ksqlDB's query-validation tests also say tumbling and
             * hopping for time windows. */
            int session = type && !strcasecmp(type, "session");
            if (!json_is_object(win) || !json_is_integer(ws) || !json_is_integer(we) || !type ||
                (!session && strcasecmp(type, "time") && strcasecmp(type, "tumbling") &&
                 strcasecmp(type, "hopping")))
                return rec_err(err, errsz, 2, "%s[%zu]: 'window' must be {\"start\": MS, \"end\": "
                               "MS, \"type\": \"session\" or \"time\"}", field, i);
            /* Compared as JSON: the type in one spelling. */
            if (json_object_set_new(win, "type", json_string(session ? "session" : "time")))
                return rec_err(err, errsz, 2, "out of memory");
            t->window = win;
        }
        json_t *hdr = json_object_get(r, "headers");
        if (hdr && !json_is_null(hdr) && !(json_is_array(hdr) && json_array_size(hdr) == 0))
            return rec_err(err, errsz, 3, "%s[%zu]: record headers are not supported yet", field, i);
    }
    return 0;
}

/* Loads path and checks that its field (inputs / outputs) is an array of
 * records with a topic and a value. Prints the problem and returns 2. */
static int load_records(const char *path, const char *field, tr_file *f)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    char *text = NULL;
    size_t len = 0;
    mp_error e = {0};
    if (mp_read_file_raw(path, &text, &len, &e)) {
        fprintf(stderr, "mlpipe " CMD ": %s\n", e.msg);
        return 2;
    }
    json_error_t je;
    f->doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    free(text);
    if (!f->doc)
        return bad_file(path, "%d:%d: %s", je.line, tr_token_start(&je), je.text);
    if (!json_is_object(f->doc))
        return bad_file(path, "expected a JSON object with the field '%s'", field);
    json_t *arr = json_object_get(f->doc, field);
    if (!arr)
        return bad_file(path, "missing field '%s'", field);
    char err[512];
    if (tr_parse_records(path, field, arr, 0, f, err, sizeof err))
        return bad_file(path, "%s", err);
    return 0;
}

/* ---- JSON helpers ---- */

/* Appends v as compact JSON. */
static void put_json(mp_buf *b, const json_t *v)
{
    if (!v || json_is_null(v)) {
        mp_buf_puts(b, "null");
    } else if (json_is_true(v)) {
        mp_buf_puts(b, "true");
    } else if (json_is_false(v)) {
        mp_buf_puts(b, "false");
    } else if (json_is_integer(v)) {
        mp_buf_printf(b, "%lld", (long long)json_integer_value(v));
    } else if (json_is_real(v)) {
        mp_value d = mp_v_double(json_real_value(v)); /* as Java prints it: 30.0, 1.0E10 */
        mp_value_write_json(&d, 0, b);
    } else if (json_is_string(v)) {
        char *s = json_dumps(v, JSON_ENCODE_ANY);
        mp_buf_puts(b, s ? s : "\"?\"");
        free(s);
    } else if (json_is_array(v)) {
        mp_buf_putc(b, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i)
                mp_buf_putc(b, ',');
            put_json(b, json_array_get(v, i));
        }
        mp_buf_putc(b, ']');
    } else {
        mp_buf_putc(b, '{');
        const char *k;
        json_t *x;
        int first = 1;
        json_object_foreach((json_t *)v, k, x) {
            if (!first)
                mp_buf_putc(b, ',');
            first = 0;
            json_t *ks = json_string(k);
            char *s = ks ? json_dumps(ks, JSON_ENCODE_ANY) : NULL;
            mp_buf_puts(b, s ? s : "\"?\"");
            free(s);
            json_decref(ks);
            mp_buf_putc(b, ':');
            put_json(b, x);
        }
        mp_buf_putc(b, '}');
    }
}

/* JSON values equal as values: numbers by value (1 = 1.0), objects
 * regardless of key order, everything else exactly. NULL is JSON null. */
static int json_match(const json_t *want, const json_t *got)
{
    if (!want || json_is_null(want))
        return !got || json_is_null(got);
    if (!got || json_is_null(got))
        return 0;
    if (json_is_number(want) && json_is_number(got)) {
        if (json_is_integer(want) && json_is_integer(got))
            return json_integer_value(want) == json_integer_value(got);
        return json_number_value(want) == json_number_value(got);
    }
    if (json_typeof(want) != json_typeof(got))
        return 0;
    switch (json_typeof(want)) {
    case JSON_STRING:
        return json_string_length(want) == json_string_length(got) &&
               !memcmp(json_string_value(want), json_string_value(got), json_string_length(want));
    case JSON_ARRAY:
        if (json_array_size(want) != json_array_size(got))
            return 0;
        for (size_t i = 0; i < json_array_size(want); i++)
            if (!json_match(json_array_get(want, i), json_array_get(got, i)))
                return 0;
        return 1;
    case JSON_OBJECT: {
        if (json_object_size(want) != json_object_size(got))
            return 0;
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)want, k, x) {
            json_t *y = json_object_get(got, k);
            if (!y || !json_match(x, y))
                return 0;
        }
        return 1;
    }
    default:
        return 1; /* true, false */
    }
}

/* ---- the run ---- */

typedef struct tr_actual {
    int32_t partition;
    int64_t offset, ts;
    json_t *key, *value; /* owned */
    json_t *window;      /* owned; NULL: the key carries no window */
} tr_actual;

typedef struct runner {
    mp_log *log;
    mp_engine *en;
    char dir[4096];
    int have_dir;
    mp_buf *diag; /* what went wrong, for the caller to show */
} runner;

static int stop_queries(void *ctx, size_t n, const mp_value *v)
{
    (void)ctx;
    (void)n;
    (void)v;
    return 1;
}

static int always(void *ctx)
{
    (void)ctx;
    return 1;
}

/* Push queries and PRINT in the statements stop at once: the runner
 * compares topics, not query output. */
static const mp_engine_sink quiet_sink = {NULL, NULL, NULL, NULL, stop_queries, always};

static int topic_exists(mp_log *log, const char *topic)
{
    int32_t n = 0;
    return mp_log_partition_count(log, topic, &n, NULL) == 0;
}

/* ksql-test-runner's Kafka is simulated and has every topic: create, with
 * one partition, the topics of CREATE STREAM/TABLE statements that give
 * no PARTITIONS (the engine would refuse a missing one). A script that
 * does not parse is left to the engine to report. */
static void precreate_topics(mp_log *log, const char *sql)
{
    mp_sql_script *script = NULL;
    if (mp_sql_parse_script(sql, strlen(sql), &script, NULL, NULL))
        return;
    for (size_t i = 0; i < script->n; i++) {
        const mp_sql_stmt *st = script->stmts[i];
        if (st->kind != MP_SQL_STMT_CREATE_SOURCE || !st->name)
            continue;
        char topic[256];
        snprintf(topic, sizeof topic, "%s", st->name);
        int has_parts = 0;
        for (size_t k = 0; k < st->nprops; k++) {
            const mp_sql_expr *v = st->props[k].value;
            if (!strcasecmp(st->props[k].name, "PARTITIONS"))
                has_parts = 1;
            else if (!strcasecmp(st->props[k].name, "KAFKA_TOPIC") && v && v->kind == MP_SQL_EXPR_STRING)
                snprintf(topic, sizeof topic, "%.*s", (int)v->len, v->str);
        }
        if (!has_parts && !topic_exists(log, topic))
            mp_log_topic_create(log, topic, 1, NULL, 0, NULL);
    }
    mp_sql_script_free(script);
}

/* Serialises one side of an input record into b; *is_null for null. A
 * topic no stream reads takes strings as their bytes and anything else as
 * its JSON text. Returns 0 or prints the problem and returns 2. */
static int encode_side(runner *r, const tr_file *f, size_t i, int is_key, const json_t *v, mp_buf *b,
                       int *is_null)
{
    const tr_record *t = &f->recs[i];
    mp_buf j = {0};
    put_json(&j, v);
    mp_error e = {0};
    int rc = mp_engine_test_serialize(r->en, t->topic, is_key, j.data ? j.data : "null", j.len, b,
                                      is_null, &e);
    if (rc == MP_ENOTFOUND) {
        rc = 0;
        b->len = 0;
        *is_null = !v || json_is_null(v);
        if (json_is_string(v))
            mp_buf_append(b, json_string_value(v), json_string_length(v));
        else if (!*is_null)
            mp_buf_append(b, j.data, j.len);
    }
    mp_buf_free(&j);
    if (rc) {
        mp_buf_printf(r->diag, "inputs[%zu]: %s: %s", i, is_key ? "key" : "value", e.msg);
        return TR_INPUT;
    }
    return 0;
}

static int produce_inputs(runner *r, const tr_file *in)
{
    mp_buf kb = {0}, vb = {0};
    int rc = 0;
    for (size_t i = 0; i < in->n && !rc; i++) {
        const tr_record *t = &in->recs[i];
        int knull = 0, vnull = 0;
        kb.len = vb.len = 0;
        if ((rc = encode_side(r, in, i, 1, t->key, &kb, &knull)) ||
            (rc = encode_side(r, in, i, 0, t->value, &vb, &vnull)))
            break;
        if (kb.oom || vb.oom) {
            mp_buf_puts(r->diag, "out of memory");
            rc = TR_SETUP;
            break;
        }
        if (!topic_exists(r->log, t->topic))
            mp_log_topic_create(r->log, t->topic, 1, NULL, 0, NULL);
        mp_record rec = {.timestamp = t->has_ts ? t->ts : 0,
                         .key = knull ? NULL : (const uint8_t *)(kb.data ? kb.data : ""),
                         .key_len = knull ? -1 : (int32_t)kb.len,
                         .value = vnull ? NULL : (const uint8_t *)(vb.data ? vb.data : ""),
                         .value_len = vnull ? -1 : (int32_t)vb.len};
        mp_error e = {0};
        if (mp_log_produce(r->log, t->topic, MP_LOG_ANY_PARTITION, &rec, NULL, NULL, &e)) {
            mp_buf_printf(r->diag, "inputs[%zu]: cannot produce to '%s': %s", i, t->topic, e.msg);
            rc = TR_SETUP;
        }
    }
    mp_buf_free(&kb);
    mp_buf_free(&vb);
    return rc;
}

/* Waits until the persistent queries have processed everything (two idle
 * looks with nothing moving in between), or nothing has moved for 2 s (a
 * query that cannot get further), or timeout_ms has passed. */
static void wait_for_queries(runner *r, int64_t timeout_ms)
{
    int64_t start = (int64_t)(mp_clock_now() * 1000), last_move = start;
    uint64_t last = 0;
    int last_idle = 0, first = 1;
    for (;;) {
        uint64_t prog = 0;
        int idle = mp_engine_test_idle(r->en, &prog);
        int64_t now = (int64_t)(mp_clock_now() * 1000);
        if (first || prog != last)
            last_move = now;
        if (idle && last_idle && prog == last && !first)
            return;
        if (now - last_move >= 2000 || now - start >= timeout_ms)
            return;
        first = 0;
        last = prog;
        last_idle = idle;
        usleep(20000);
    }
}

/* The JSON of one side of an actual record: decoded as the topic's stream
 * reads it, or (no stream, or bytes that do not decode) the bytes as JSON
 * when they parse, else as a string. */
static json_t *decode_side(runner *r, const char *topic, int is_key, const uint8_t *data, int32_t len,
                           const json_t *want)
{
    if (len < 0)
        return json_null();
    mp_buf b = {0};
    mp_error e = {0};
    int rc = mp_engine_test_deserialize(r->en, topic, is_key, data, len, &b, &e);
    json_t *v = NULL;
    json_error_t je;
    if (rc == 0 && !b.oom) {
        v = json_loadb(b.data ? b.data : "", b.len, JSON_DECODE_ANY, &je);
    } else if (rc == MP_ENOTFOUND && !json_is_string(want)) {
        v = json_loadb((const char *)data, (size_t)len, JSON_DECODE_ANY, &je);
    }
    mp_buf_free(&b);
    return v ? v : json_stringn_nocheck((const char *)data, (size_t)len);
}

static int cmp_actual(const void *a, const void *b)
{
    const tr_actual *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    if (x->partition != y->partition)
        return x->partition < y->partition ? -1 : 1;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Every record of topic, in offset order for one partition; with several,
 * by timestamp (then partition and offset), since Kafka orders only within
 * a partition. want (the expected records of the topic) only guides how
 * bytes of a topic no stream reads are shown. */
static int read_topic(runner *r, const char *topic, const tr_file *out, tr_actual **recs, size_t *n)
{
    *recs = NULL;
    *n = 0;
    int32_t np = 0;
    if (mp_log_partition_count(r->log, topic, &np, NULL))
        return 0;
    const json_t *want_key = NULL, *want_value = NULL;
    for (size_t i = 0; i < out->n; i++)
        if (!strcmp(out->recs[i].topic, topic)) {
            want_key = out->recs[i].key;
            want_value = out->recs[i].value;
            break;
        }
    size_t cap = 0;
    mp_log_fetch_result fr = {0};
    int rc = 0;
    for (int32_t p = 0; p < np && !rc; p++) {
        int64_t off = 0, latest = 0;
        mp_error e = {0};
        if (mp_log_offsets(r->log, topic, p, &off, &latest, &e))
            continue;
        while (off < latest && !rc) {
            if (mp_log_fetch(r->log, topic, p, off, 1u << 20, &fr, &e)) {
                mp_buf_printf(r->diag, "reading %s: %s\n", topic, e.msg);
                rc = 1;
                break;
            }
            if (fr.next_offset <= off)
                break;
            for (size_t i = 0; i < fr.n; i++) {
                if (*n == cap) {
                    size_t nc = cap ? 2 * cap : 64;
                    tr_actual *nr = realloc(*recs, nc * sizeof *nr);
                    if (!nr) {
                        mp_buf_printf(r->diag, "reading %s: out of memory\n", topic);
                        rc = 1;
                        break;
                    }
                    *recs = nr;
                    cap = nc;
                }
                const mp_record *m = &fr.recs[i];
                tr_actual *a = &(*recs)[(*n)++];
                a->partition = p;
                a->offset = m->offset;
                a->ts = m->timestamp;
                int32_t klen = m->key_len;
                int session = 0;
                int64_t ws = 0, we = 0;
                mp_error we_err = {0};
                int wrc = mp_engine_test_key_window(r->en, topic, m->key, m->key_len, &klen, &session,
                                                    &ws, &we, &we_err);
                a->window = wrc == 1 ? json_pack("{s:I,s:I,s:s}", "start", (json_int_t)ws, "end",
                                                 (json_int_t)we, "type", session ? "session" : "time")
                                     : NULL;
                if (wrc < 0)
                    klen = m->key_len; /* shown as it is, and a difference */
                a->key = decode_side(r, topic, 1, m->key, klen, want_key);
                a->value = decode_side(r, topic, 0, m->value, m->value_len, want_value);
            }
            off = fr.next_offset;
        }
    }
    mp_log_fetch_result_free(&fr);
    if (np > 1 && *n > 1)
        qsort(*recs, *n, sizeof **recs, cmp_actual);
    return rc;
}

static void free_actual(tr_actual *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_decref(a[i].key);
        json_decref(a[i].value);
        json_decref(a[i].window);
    }
    free(a);
}

static void put_record(mp_buf *b, const json_t *key, const json_t *window, const json_t *value,
                       int has_ts, int64_t ts)
{
    mp_buf_putc(b, '<');
    put_json(b, key);
    if (window)
        mp_buf_printf(b, " [%s %lld..%lld]", json_string_value(json_object_get(window, "type")),
                      (long long)json_integer_value(json_object_get(window, "start")),
                      (long long)json_integer_value(json_object_get(window, "end")));
    mp_buf_puts(b, ", ");
    put_json(b, value);
    mp_buf_putc(b, '>');
    if (has_ts)
        mp_buf_printf(b, " with timestamp=%lld", (long long)ts);
}

/* Compares one topic; prints the verdict of the first difference and
 * returns 1, or returns 0. ts_wildcard: an expected timestamp of 0 matches
 * any (ksql-test-runner's rule when the statements made the input). */
static int check_topic(runner *r, const tr_file *out, const char *topic, int ts_wildcard)
{
    tr_actual *act = NULL;
    size_t nact = 0;
    if (read_topic(r, topic, out, &act, &nact)) {
        free_actual(act, nact);
        return 1;
    }
    size_t nexp = 0, k = 0;
    for (size_t i = 0; i < out->n; i++)
        nexp += !strcmp(out->recs[i].topic, topic);
    mp_buf msg = {0};
    int failed = 0;
    for (size_t i = 0; i < out->n && !failed; i++) {
        const tr_record *t = &out->recs[i];
        if (strcmp(t->topic, topic))
            continue;
        if (k >= nact)
            break;
        const tr_actual *a = &act[k];
        int ts_ok = !t->has_ts || t->ts == a->ts || (ts_wildcard && t->ts == 0);
        if (!json_match(t->key, a->key) || !json_match(t->value, a->value) || !ts_ok ||
            !json_match(t->window, a->window)) {
            mp_buf_printf(&msg, "\t >>>>> Test failed: Topic '%s', message %zu: Expected ", topic, k);
            put_record(&msg, t->key, t->window, t->value, 1, t->has_ts ? t->ts : a->ts);
            mp_buf_puts(&msg, " but was ");
            put_record(&msg, a->key, a->window, a->value, 1, a->ts);
            mp_buf_putc(&msg, '\n');
            failed = 1;
        }
        k++;
    }
    if (!failed && nexp != nact) {
        mp_buf_printf(&msg, "\t >>>>> Test failed: Topic '%s'. Expected <%zu> records but it was <%zu>\n",
                      topic, nexp, nact);
        if (nact > nexp) {
            mp_buf_printf(&msg, "\t First extra record, message %zu: ", nexp);
            put_record(&msg, act[nexp].key, act[nexp].window, act[nexp].value, 1, act[nexp].ts);
            mp_buf_putc(&msg, '\n');
        } else {
            size_t seen = 0;
            for (size_t i = 0; i < out->n; i++) {
                const tr_record *t = &out->recs[i];
                if (strcmp(t->topic, topic) || seen++ < nact)
                    continue;
                mp_buf_printf(&msg, "\t First missing record, message %zu: ", nact);
                put_record(&msg, t->key, t->window, t->value, t->has_ts, t->ts);
                mp_buf_putc(&msg, '\n');
                break;
            }
        }
        mp_buf_puts(&msg, "Actual records:\n");
        for (size_t i = 0; i < nact && i < 100; i++) {
            put_record(&msg, act[i].key, act[i].window, act[i].value, 1, act[i].ts);
            mp_buf_putc(&msg, '\n');
        }
        if (nact > 100)
            mp_buf_printf(&msg, "... and %zu more\n", nact - 100);
        failed = 1;
    }
    if (failed && msg.data)
        mp_buf_append(r->diag, msg.data, msg.len);
    mp_buf_free(&msg);
    free_actual(act, nact);
    return failed;
}

static int check_outputs(runner *r, const tr_file *out, int ts_wildcard)
{
    for (size_t i = 0; i < out->n; i++) {
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !strcmp(out->recs[j].topic, out->recs[i].topic);
        if (!seen && check_topic(r, out, out->recs[i].topic, ts_wildcard))
            return 1;
    }
    return 0;
}

/* SET 'name'='value'; for a session property given as JSON. */
static int set_property(runner *r, const char *name, const json_t *v, mp_error *e)
{
    char num[64];
    const char *text;
    if (json_is_string(v))
        text = json_string_value(v);
    else if (json_is_integer(v))
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v)), text = num;
    else if (json_is_real(v))
        snprintf(num, sizeof num, "%.17g", json_real_value(v)), text = num;
    else if (json_is_boolean(v))
        text = json_is_true(v) ? "true" : "false";
    else
        return 0; /* nothing the engine could take */
    mp_buf b = {0};
    mp_buf_puts(&b, "SET '");
    for (const char *p = name; *p; p++)
        mp_buf_puts(&b, *p == '\'' ? "''" : (char[2]){*p, 0});
    mp_buf_puts(&b, "'='");
    for (const char *p = text; *p; p++)
        mp_buf_puts(&b, *p == '\'' ? "''" : (char[2]){*p, 0});
    mp_buf_puts(&b, "';");
    int rc = b.oom ? mp_error_set(e, MP_ENOMEM, "out of memory")
                   : mp_engine_execute(r->en, b.data, &quiet_sink, e);
    mp_buf_free(&b);
    return rc;
}

int tr_run_case(const tr_case *c, mp_buf *diag, mp_error *se, size_t *failed_stmt)
{
    runner r = {.diag = diag};
    mp_error e = {0};
    int rc = TR_SETUP;
    if (c->keep_dir) {
        if (mp_mkdirs(c->keep_dir, &e)) {
            mp_buf_printf(diag, "--keep-data: %s", e.msg);
            return TR_SETUP;
        }
        snprintf(r.dir, sizeof r.dir, "%s", c->keep_dir);
    } else {
        const char *tmp = getenv("TMPDIR");
        snprintf(r.dir, sizeof r.dir, "%s/mlpipe-test-runner.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(r.dir)) {
            mp_buf_printf(diag, "cannot create a temporary directory %s: %s", r.dir, strerror(errno));
            return TR_SETUP;
        }
        r.have_dir = 1;
    }
    mp_log_options lo = MP_LOG_OPTIONS_INIT;
    lo.background = 0;
    mp_engine_opts eo = {.registry_dir = c->registry, .quiet_replay = 1};
    if (mp_log_open_embedded(r.dir, &lo, &r.log, &e) || mp_engine_open(r.log, &eo, &r.en, &e)) {
        mp_buf_printf(diag, "%s", e.msg);
        goto done;
    }
    for (size_t i = 0; i < c->nstmts; i++)
        precreate_topics(r.log, c->stmts[i]);
    mp_engine_test_hold(r.en, 1);
    if (mp_engine_execute(r.en, "SET 'auto.offset.reset'='earliest';", &quiet_sink, &e)) {
        mp_buf_printf(diag, "%s", e.msg);
        goto done;
    }
    if (c->props) {
        const char *k;
        json_t *v;
        json_object_foreach(c->props, k, v) {
            if (set_property(&r, k, v, &e)) {
                mp_buf_printf(diag, "property '%s': %s", k, e.msg);
                goto done;
            }
        }
    }
    for (size_t i = 0; i < c->nstmts; i++)
        if (mp_engine_execute(r.en, c->stmts[i], &quiet_sink, se)) {
            *failed_stmt = i;
            rc = TR_STMT;
            goto done;
        }
    rc = produce_inputs(&r, c->in);
    mp_engine_test_hold(r.en, 0);
    if (rc)
        goto done;
    wait_for_queries(&r, (int64_t)(c->timeout * 1000));
    rc = check_outputs(&r, c->out, c->in->n == 0) ? TR_DIFF : TR_PASS;
done:
    mp_engine_close(r.en);
    mp_log_close(r.log, NULL);
    if (r.have_dir)
        mp_remove_tree(r.dir);
    return rc;
}

static void report_statement_error(const char *path, const char *sql, const mp_error *e)
{
    printf("\t >>>>> Test failed: %s: %s\n", path, e->msg);
    unsigned line, col;
    if (sscanf(e->msg, "line %u:%u:", &line, &col) == 2) {
        mp_buf b = {0};
        mp_sql_caret_context(sql, strlen(sql), line, col, &b);
        if (b.data)
            fputs(b.data, stdout);
        mp_buf_free(&b);
    }
}

/* Rewrites the short flags (-s -i -o) to their long names, leaving flag
 * values alone. */
static void long_flags(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-s"))
            argv[i] = "--sql-file";
        else if (!strcmp(argv[i], "-i"))
            argv[i] = "--input-file";
        else if (!strcmp(argv[i], "-o"))
            argv[i] = "--output-file";
        else if (strncmp(argv[i], "--", 2) || strchr(argv[i], '='))
            continue;
        for (int f = 0; flags[f].name; f++)
            if (flags[f].takes_value && !strcmp(argv[i] + 2, flags[f].name)) {
                i++; /* its value */
                break;
            }
    }
}

int mp_cmd_test_runner(int argc, char **argv)
{
    long_flags(argc, argv);
    mp_args a;
    int rc = mp_args_parse(argc, argv, flags, &a, usage);
    if (rc)
        return rc;
    if (a.help) {
        fputs(usage, stdout);
        return 0;
    }
    const char *sql_path = mp_args_get(&a, "sql-file"), *in_path = mp_args_get(&a, "input-file"),
               *out_path = mp_args_get(&a, "output-file"), *qtt = mp_args_get(&a, "qtt");
    if (qtt || mp_args_get(&a, "case")) {
        if (a.npos || !qtt || sql_path || in_path || out_path || mp_args_get(&a, "keep-data")) {
            fprintf(stderr, "mlpipe " CMD ": %s\n%s",
                    a.npos ? "unexpected argument"
                    : !qtt ? "--case needs --qtt"
                           : "--qtt takes no --sql-file, --input-file, --output-file or --keep-data",
                    usage);
            return 2;
        }
        double qtimeout;
        if (mp_args_double(&a, CMD, "timeout", 30, &qtimeout))
            return 2;
        if (!(qtimeout > 0) || qtimeout > 86400) {
            fprintf(stderr, "mlpipe " CMD ": --timeout: give a number of seconds above 0\n");
            return 2;
        }
        return tr_run_qtt(qtt, mp_args_get(&a, "case"), mp_args_get(&a, "registry"), qtimeout);
    }
    if (a.npos || !sql_path || !out_path) {
        fprintf(stderr, "mlpipe " CMD ": %s\n%s",
                a.npos ? "unexpected argument" : "give --sql-file and --output-file", usage);
        return 2;
    }
    double timeout;
    if (mp_args_double(&a, CMD, "timeout", 30, &timeout))
        return 2;
    if (!(timeout > 0) || timeout > 86400) {
        fprintf(stderr, "mlpipe " CMD ": --timeout: give a number of seconds above 0\n");
        return 2;
    }

    /* Every file is checked before anything runs. */
    tr_file in = {0}, out = {0};
    char *sql = NULL;
    mp_error e = {0};
    size_t sql_len = 0;
    if (mp_read_file_raw(sql_path, &sql, &sql_len, &e)) {
        fprintf(stderr, "mlpipe " CMD ": %s\n", e.msg);
        return 2;
    }
    if ((in_path && (rc = load_records(in_path, "inputs", &in))) ||
        (rc = load_records(out_path, "outputs", &out))) {
        tr_file_free(&in);
        tr_file_free(&out);
        free(sql);
        return rc;
    }

    const char *keep = mp_args_get(&a, "keep-data");
    if (keep) {
        /* A fresh state, as ever: never a directory that holds something. */
        DIR *d = opendir(keep);
        struct dirent *de;
        int used = 0;
        while (d && (de = readdir(d)))
            used |= strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
        if (d)
            closedir(d);
        if (used || (!d && errno != ENOENT)) {
            fprintf(stderr, "mlpipe " CMD ": --keep-data %s: %s\n", keep,
                    used ? "not empty; give a new or empty directory" : strerror(errno));
            rc = 2;
            goto done;
        }
    }
    const char *stmts[1] = {sql};
    tr_case c = {.stmts = stmts, .nstmts = 1, .in = &in, .out = &out, .keep_dir = keep,
                 .registry = mp_args_get(&a, "registry"), .timeout = timeout};
    mp_buf diag = {0};
    size_t failed_stmt = 0;
    switch (tr_run_case(&c, &diag, &e, &failed_stmt)) {
    case TR_PASS:
        printf("\t >>> Test passed!\n");
        rc = 0;
        break;
    case TR_DIFF:
        fputs(diag.data ? diag.data : "\t >>>>> Test failed\n", stdout);
        rc = 1;
        break;
    case TR_INPUT:
        rc = bad_file(in_path, "%s", diag.data ? diag.data : "?");
        break;
    case TR_STMT:
        report_statement_error(sql_path, sql, &e);
        rc = 1;
        break;
    default:
        fprintf(stderr, "mlpipe " CMD ": %s\n", diag.data ? diag.data : "?");
        rc = 1;
        break;
    }
    mp_buf_free(&diag);
done:
    fflush(stdout);
    tr_file_free(&in);
    tr_file_free(&out);
    free(sql);
    return rc;
}
