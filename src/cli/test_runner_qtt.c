/* mlpipe test-runner --qtt: a file of ksqlDB's query-validation tests.
 *
 * {"comments": [...], "tests": [{"name", "statements": [...], "inputs",
 * "outputs", "format": [...], "properties": {...}, "expectedException":
 * {"type", "message"}, "enabled"}]}; other fields (topics, post, ...) are
 * not checked. The whole file is checked before any test runs, so a
 * malformed one runs nothing (exit 2). Each test then runs as the
 * file-based mode runs its files, on a fresh log, once per format. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/test_runner.h"
#include "core/fileio.h"
#include "data/codec.h"
#include "sql/sql_parser.h"

#define PFX "mlpipe test-runner: "

typedef struct qtt_test {
    json_t *t;          /* borrowed from the document */
    const char *name;
    tr_file in, out;
    char skip[512];     /* why the whole test is skipped; "" when it runs */
} qtt_test;

/* The first format named in a WITH of stmt that the engine has no codec
 * for (AVRO, PROTOBUF, JSON_SR, ...), or NULL. A statement that does not
 * parse names none: the engine reports it. */
static int unsupported_format(const char *stmt, char *name, size_t namesz)
{
    mp_sql_script *script = NULL;
    if (mp_sql_parse_script(stmt, strlen(stmt), &script, NULL, NULL))
        return 0;
    int found = 0;
    for (size_t i = 0; i < script->n && !found; i++) {
        const mp_sql_stmt *st = script->stmts[i];
        for (size_t k = 0; k < st->nprops && !found; k++) {
            const char *pn = st->props[k].name;
            size_t pl = pn ? strlen(pn) : 0;
            const mp_sql_expr *v = st->props[k].value;
            if (pl < 6 || strcasecmp(pn + pl - 6, "FORMAT") || !v || v->kind != MP_SQL_EXPR_STRING)
                continue;
            snprintf(name, namesz, "%.*s", (int)v->len, v->str);
            mp_format f;
            mp_error e = {0};
            found = mp_format_parse(name, &f, &e) != 0;
        }
    }
    mp_sql_script_free(script);
    return found;
}

/* stmt with every {FORMAT} replaced by fmt; NULL when out of memory. */
static char *with_format(const char *stmt, const char *fmt)
{
    mp_buf b = {0};
    const char *p = stmt, *q;
    while (fmt && (q = strstr(p, "{FORMAT}"))) {
        mp_buf_append(&b, p, (size_t)(q - p));
        mp_buf_puts(&b, fmt);
        p = q + 8;
    }
    mp_buf_puts(&b, p);
    if (b.oom || !b.data) {
        mp_buf_free(&b);
        return NULL;
    }
    return b.data;
}

/* The first line of a difference, without ksql-test-runner's marker. */
static void first_line(const mp_buf *diag, char *out, size_t outsz)
{
    const char *s = diag->data ? diag->data : "";
    const char *m = strstr(s, ">>>>> Test failed: ");
    if (m)
        s = m + 19;
    size_t n = strcspn(s, "\n");
    snprintf(out, outsz, "%.*s", (int)n, s);
}

/* Runs one test in one format (fmt NULL: the test has none); prints its
 * line. Returns 0 passed, 1 failed, 2 skipped. */
static int run_one(const qtt_test *q, const char *fmt, const char *registry, double timeout)
{
    char label[600];
    snprintf(label, sizeof label, "%s%s%s", q->name, fmt ? "/" : "", fmt ? fmt : "");
    mp_format f;
    mp_error e = {0};
    if (fmt && mp_format_parse(fmt, &f, &e)) {
        printf("SKIP %s: format %s is not supported (JSON, DELIMITED and KAFKA are)\n", label, fmt);
        return 2;
    }
    json_t *sts = json_object_get(q->t, "statements");
    size_t n = json_array_size(sts);
    char **stmts = calloc(n ? n : 1, sizeof *stmts);
    int rc = 1;
    if (!stmts) {
        printf("FAIL %s: out of memory\n", label);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        if (!(stmts[i] = with_format(json_string_value(json_array_get(sts, i)), fmt))) {
            printf("FAIL %s: out of memory\n", label);
            goto done;
        }
    char fname[128];
    for (size_t i = 0; i < n; i++)
        if (unsupported_format(stmts[i], fname, sizeof fname)) {
            printf("SKIP %s: statement %zu uses format %s, which is not supported\n", label, i + 1,
                   fname);
            rc = 2;
            goto done;
        }
    json_t *ex = json_object_get(q->t, "expectedException");
    const char *want = json_string_value(json_object_get(ex, "message"));
    tr_case c = {.stmts = (const char *const *)stmts, .nstmts = n, .in = &q->in, .out = &q->out,
                 .props = json_object_get(q->t, "properties"), .registry = registry,
                 .timeout = timeout};
    mp_buf diag = {0};
    mp_error se = {0};
    size_t failed = 0;
    int r = tr_run_case(&c, &diag, &se, &failed);
    char why[1024];
    first_line(&diag, why, sizeof why);
    if (ex) {
        /* The error of a statement, or of an input record the statements
         * cannot take, is the exception. */
        const char *msg = r == TR_STMT ? se.msg : r == TR_INPUT ? why : NULL;
        if (!msg)
            printf("FAIL %s: expected an error%s%s%s, but %s\n", label, want ? " containing '" : "",
                   want ? want : "", want ? "'" : "",
                   r == TR_SETUP ? why : "the statements succeeded");
        else if (want && !strstr(msg, want))
            printf("FAIL %s: expected an error containing '%s', got: %s\n", label, want, msg);
        else
            rc = 0;
    } else if (r == TR_PASS) {
        rc = 0;
    } else if (r == TR_STMT) {
        printf("FAIL %s: statement %zu: %s\n", label, failed + 1, se.msg);
    } else {
        printf("FAIL %s: %s\n", label, why);
    }
    if (rc == 0)
        printf("PASS %s\n", label);
    mp_buf_free(&diag);
done:
    for (size_t i = 0; i < n; i++)
        free(stmts[i]);
    free(stmts);
    fflush(stdout);
    return rc;
}

static int malformed(const char *path, size_t i, const char *name, const char *msg)
{
    if (name)
        fprintf(stderr, PFX "%s: tests[%zu] '%s': %s\n", path, i, name, msg);
    else
        fprintf(stderr, PFX "%s: tests[%zu]: %s\n", path, i, msg);
    return 2;
}

/* Checks test i of the file and reads its records; prints the problem
 * and returns 2 when it is malformed. */
static int check_test(const char *path, size_t i, qtt_test *q)
{
    json_t *t = q->t;
    if (!json_is_object(t))
        return malformed(path, i, NULL, "a test must be a JSON object");
    json_t *name = json_object_get(t, "name");
    if (!json_is_string(name) || !json_string_length(name))
        return malformed(path, i, NULL, "missing field 'name' (a string)");
    q->name = json_string_value(name);
    json_t *sts = json_object_get(t, "statements");
    if (!json_is_array(sts) || !json_array_size(sts))
        return malformed(path, i, q->name, "'statements' must be a non-empty array of strings");
    for (size_t k = 0; k < json_array_size(sts); k++)
        if (!json_is_string(json_array_get(sts, k)))
            return malformed(path, i, q->name, "'statements' must be a non-empty array of strings");
    json_t *fmt = json_object_get(t, "format");
    if (fmt) {
        int ok = json_is_array(fmt) && json_array_size(fmt);
        for (size_t k = 0; ok && k < json_array_size(fmt); k++)
            ok = json_is_string(json_array_get(fmt, k));
        if (!ok)
            return malformed(path, i, q->name, "'format' must be a non-empty array of format names");
    }
    json_t *ex = json_object_get(t, "expectedException");
    if (ex && (!json_is_object(ex) ||
               (json_object_get(ex, "message") && !json_is_string(json_object_get(ex, "message")))))
        return malformed(path, i, q->name, "'expectedException' must be {\"type\": T, \"message\": M}");
    json_t *props = json_object_get(t, "properties");
    if (props && !json_is_object(props))
        return malformed(path, i, q->name, "'properties' must be an object");
    json_t *en = json_object_get(t, "enabled");
    if (en && !json_is_boolean(en))
        return malformed(path, i, q->name, "'enabled' must be true or false");
    static const char *const fields[] = {"inputs", "outputs"};
    for (int f = 0; f < 2; f++) {
        json_t *arr = json_object_get(t, fields[f]);
        tr_file *tf = f ? &q->out : &q->in;
        char err[512];
        int rc = arr ? tr_parse_records(path, fields[f], arr, 1, tf, err, sizeof err) : 0;
        if (rc == 2)
            return malformed(path, i, q->name, err);
        if (rc == 3 && !q->skip[0])
            snprintf(q->skip, sizeof q->skip, "%s", err);
    }
    return 0;
}

int tr_run_qtt(const char *path, const char *name_filter, const char *registry, double timeout)
{
    char *text = NULL;
    size_t len = 0;
    mp_error e = {0};
    if (mp_read_file_raw(path, &text, &len, &e)) {
        fprintf(stderr, PFX "%s\n", e.msg);
        return 2;
    }
    json_error_t je;
    json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    free(text);
    if (!doc) {
        fprintf(stderr, PFX "%s:%d:%d: %s\n", path, je.line, tr_token_start(&je), je.text);
        return 2;
    }
    json_t *tests = json_object_get(doc, "tests");
    if (!json_is_object(doc) || !json_is_array(tests)) {
        fprintf(stderr, PFX "%s: expected a JSON object with an array 'tests'\n", path);
        json_decref(doc);
        return 2;
    }
    size_t n = json_array_size(tests);
    qtt_test *qs = calloc(n ? n : 1, sizeof *qs);
    if (!qs) {
        fprintf(stderr, PFX "out of memory\n");
        json_decref(doc);
        return 2;
    }
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        qs[i].t = json_array_get(tests, i);
        rc = check_test(path, i, &qs[i]);
    }
    size_t passed = 0, failed = 0, skipped = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        qtt_test *q = &qs[i];
        if (name_filter && !strstr(q->name, name_filter))
            continue;
        if (json_is_false(json_object_get(q->t, "enabled"))) {
            printf("SKIP %s: disabled\n", q->name);
            skipped++;
            continue;
        }
        if (q->skip[0]) {
            printf("SKIP %s: %s\n", q->name, q->skip);
            skipped++;
            continue;
        }
        json_t *fmts = json_object_get(q->t, "format");
        size_t nf = fmts ? json_array_size(fmts) : 1;
        for (size_t k = 0; k < nf; k++) {
            int r = run_one(q, fmts ? json_string_value(json_array_get(fmts, k)) : NULL, registry,
                            timeout);
            passed += r == 0;
            failed += r == 1;
            skipped += r == 2;
        }
    }
    if (!rc) {
        printf("%zu passed, %zu failed, %zu skipped\n", passed, failed, skipped);
        rc = failed ? 1 : 0;
    }
    for (size_t i = 0; i < n; i++) {
        tr_file_free(&qs[i].in);
        tr_file_free(&qs[i].out);
    }
    free(qs);
    json_decref(doc);
    fflush(stdout);
    return rc;
}
