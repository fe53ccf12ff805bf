/* TensorFlow Serving's configuration files, the text-proto subset that
 * matters to mlpipe: the model config list (names, base paths, version
 * policies, version labels) and the batching parameters.
 *
 * A small text-proto reader builds a tree of fields (name, line, scalar or
 * nested message) and the two interpreters walk it, so every message can
 * name the line it is about. Comments (#), quoted strings with either
 * quote, "field: value", "field { ... }", "field: { ... }", optional ','
 * or ';' between fields and "field: [a, b]" lists are understood. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileio.h"
#include "server/model_service.h"
#include "server/model_service_internal.h"

#define MAX_DEPTH 16

typedef struct tp_node {
    char *name;
    int line;
    int is_msg;       /* 1: a nested message (children), 0: a scalar */
    int is_string;    /* scalar written in quotes */
    char *value;      /* scalar text (unquoted) */
    struct tp_node *kids;
    size_t nkids, cap;
} tp_node;

typedef struct tp_lexer {
    const char *p, *end;
    const char *source;
    int line;
    mp_error *e;
} tp_lexer;

typedef enum { T_EOF, T_IDENT, T_NUMBER, T_STRING, T_PUNCT, T_ERROR } tp_kind;

typedef struct tp_token {
    tp_kind kind;
    int line;
    char punct;
    char *text; /* IDENT, NUMBER, STRING: malloc'd */
} tp_token;

static void node_free(tp_node *n)
{
    for (size_t i = 0; i < n->nkids; i++)
        node_free(&n->kids[i]);
    free(n->kids);
    free(n->name);
    free(n->value);
}

static int lex_error(tp_lexer *lx, int line, const char *what)
{
    return mp_error_set(lx->e, MP_EINPUT, "%s:%d: %s", lx->source, line, what);
}

static void skip_space(tp_lexer *lx)
{
    while (lx->p < lx->end) {
        char c = *lx->p;
        if (c == '\n') {
            lx->line++;
            lx->p++;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
            lx->p++;
        } else if (c == '#') {
            while (lx->p < lx->end && *lx->p != '\n')
                lx->p++;
        } else {
            break;
        }
    }
}

static char *dup_range(const char *a, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, a, n);
        s[n] = 0;
    }
    return s;
}

/* Reads the next token; on failure kind is T_ERROR and the error is set. */
static tp_token next_token(tp_lexer *lx)
{
    tp_token t = {0};
    skip_space(lx);
    t.line = lx->line;
    if (lx->p >= lx->end) {
        t.kind = T_EOF;
        return t;
    }
    char c = *lx->p;
    if (strchr("{}:[],;<>", c)) {
        t.kind = T_PUNCT;
        t.punct = c;
        lx->p++;
        return t;
    }
    if (c == '"' || c == '\'') {
        char q = c;
        mp_buf b = {0};
        lx->p++;
        for (;;) {
            if (lx->p >= lx->end || *lx->p == '\n') {
                mp_buf_free(&b);
                lex_error(lx, t.line, "unterminated string");
                t.kind = T_ERROR;
                return t;
            }
            char ch = *lx->p++;
            if (ch == q)
                break;
            if (ch == '\\' && lx->p < lx->end) {
                char x = *lx->p++;
                ch = x == 'n' ? '\n' : x == 't' ? '\t' : x == 'r' ? '\r' : x;
            }
            if (ch == 0) {
                mp_buf_free(&b);
                lex_error(lx, t.line, "NUL byte in string");
                t.kind = T_ERROR;
                return t;
            }
            mp_buf_putc(&b, ch);
        }
        mp_buf_putc(&b, 0); /* an empty string still gets a buffer */
        if (b.oom) {
            mp_buf_free(&b);
            mp_error_set(lx->e, MP_ENOMEM, "out of memory");
            t.kind = T_ERROR;
            return t;
        }
        t.kind = T_STRING;
        t.text = b.data;
        return t;
    }
    if (isalnum((unsigned char)c) || c == '_' || c == '-' || c == '+' || c == '.') {
        const char *a = lx->p;
        while (lx->p < lx->end &&
               (isalnum((unsigned char)*lx->p) || strchr("_-+.", *lx->p)))
            lx->p++;
        t.kind = (isdigit((unsigned char)c) || c == '-' || c == '+' || c == '.') ? T_NUMBER : T_IDENT;
        t.text = dup_range(a, (size_t)(lx->p - a));
        if (!t.text) {
            mp_error_set(lx->e, MP_ENOMEM, "out of memory");
            t.kind = T_ERROR;
        }
        return t;
    }
    char what[64];
    if (isprint((unsigned char)c))
        snprintf(what, sizeof what, "unexpected character '%c'", c);
    else
        snprintf(what, sizeof what, "unexpected byte 0x%02x", (unsigned char)c);
    lex_error(lx, t.line, what);
    t.kind = T_ERROR;
    return t;
}

static tp_node *add_kid(tp_node *parent, mp_error *e)
{
    if (parent->nkids == parent->cap) {
        size_t cap = parent->cap ? parent->cap * 2 : 4;
        tp_node *k = realloc(parent->kids, cap * sizeof *k);
        if (!k) {
            mp_error_set(e, MP_ENOMEM, "out of memory");
            return NULL;
        }
        parent->kids = k;
        parent->cap = cap;
    }
    tp_node *n = &parent->kids[parent->nkids++];
    memset(n, 0, sizeof *n);
    return n;
}

static int scalar_kid(tp_lexer *lx, tp_node *parent, const char *name, int line, tp_token *v)
{
    tp_node *n = add_kid(parent, lx->e);
    if (!n)
        return MP_ENOMEM;
    n->name = strdup(name);
    n->line = line;
    n->is_string = v->kind == T_STRING;
    n->value = v->text;
    v->text = NULL;
    if (!n->name)
        return mp_error_set(lx->e, MP_ENOMEM, "out of memory");
    return 0;
}

/* Parses fields into parent until `close` ('}' or '>', or 0 for the end of
 * the input). */
static int parse_fields(tp_lexer *lx, tp_node *parent, char close, int depth)
{
    if (depth > MAX_DEPTH)
        return lex_error(lx, lx->line, "messages nested too deeply");
    for (;;) {
        tp_token t = next_token(lx);
        if (t.kind == T_ERROR)
            return lx->e ? lx->e->code : MP_EINPUT;
        if (t.kind == T_PUNCT && (t.punct == ',' || t.punct == ';'))
            continue;
        if (t.kind == T_EOF) {
            if (close)
                return lex_error(lx, t.line, close == '}' ? "missing '}' at the end of the file"
                                                          : "missing '>' at the end of the file");
            return 0;
        }
        if (t.kind == T_PUNCT && close && t.punct == close)
            return 0;
        if (t.kind != T_IDENT) {
            free(t.text);
            return lex_error(lx, t.line, "expected a field name");
        }
        char *name = t.text;
        int line = t.line;
        tp_token sep = next_token(lx);
        int rc = 0;
        if (sep.kind == T_ERROR) {
            rc = lx->e ? lx->e->code : MP_EINPUT;
        } else if (sep.kind == T_PUNCT && sep.punct == ':') {
            tp_token v = next_token(lx);
            if (v.kind == T_ERROR) {
                rc = lx->e ? lx->e->code : MP_EINPUT;
            } else if (v.kind == T_PUNCT && (v.punct == '{' || v.punct == '<')) {
                sep = v;
                goto message;
            } else if (v.kind == T_PUNCT && v.punct == '[') {
                /* A list of scalars: one field per element. */
                for (int first = 1;; first = 0) {
                    tp_token x = next_token(lx);
                    if (x.kind == T_PUNCT && x.punct == ']' && first)
                        break;
                    if (x.kind != T_IDENT && x.kind != T_NUMBER && x.kind != T_STRING) {
                        free(x.text);
                        rc = x.kind == T_ERROR ? (lx->e ? lx->e->code : MP_EINPUT)
                                               : lex_error(lx, x.line, "expected a value in the list");
                        break;
                    }
                    if ((rc = scalar_kid(lx, parent, name, line, &x))) {
                        free(x.text);
                        break;
                    }
                    tp_token s2 = next_token(lx);
                    if (s2.kind == T_PUNCT && s2.punct == ']')
                        break;
                    if (!(s2.kind == T_PUNCT && s2.punct == ',')) {
                        free(s2.text);
                        rc = s2.kind == T_ERROR ? (lx->e ? lx->e->code : MP_EINPUT)
                                                : lex_error(lx, s2.line, "expected ',' or ']' in the list");
                        break;
                    }
                }
            } else if (v.kind == T_IDENT || v.kind == T_NUMBER || v.kind == T_STRING) {
                rc = scalar_kid(lx, parent, name, line, &v);
                free(v.text);
            } else {
                char msg[160];
                snprintf(msg, sizeof msg, "expected a value after '%s:'", name);
                rc = lex_error(lx, v.line, msg);
            }
        } else if (sep.kind == T_PUNCT && (sep.punct == '{' || sep.punct == '<')) {
        message:;
            tp_node *n = add_kid(parent, lx->e);
            if (!n) {
                rc = MP_ENOMEM;
            } else {
                n->name = name;
                name = NULL;
                n->line = line;
                n->is_msg = 1;
                rc = parse_fields(lx, n, sep.punct == '{' ? '}' : '>', depth + 1);
            }
        } else {
            free(sep.text);
            char msg[160];
            snprintf(msg, sizeof msg, "expected ':' or '{' after '%s'", name);
            rc = lex_error(lx, sep.line, msg);
        }
        free(name);
        if (rc)
            return rc;
    }
}

static int tp_parse(const char *text, size_t len, const char *source, tp_node *root, mp_error *e)
{
    memset(root, 0, sizeof *root);
    root->is_msg = 1;
    root->line = 1;
    tp_lexer lx = {text, text + len, source, 1, e};
    int rc = parse_fields(&lx, root, 0, 0);
    if (rc)
        node_free(root);
    return rc;
}

/* Sets e to MP_EINPUT "SOURCE:LINE: message" at node n. */
static int at(mp_error *e, const char *source, const tp_node *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int at(mp_error *e, const char *source, const tp_node *n, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mp_error_set(e, MP_EINPUT, "%s:%d: %s", source, n->line, msg);
}

static int want_msg(const tp_node *n, const char *source, mp_error *e)
{
    if (!n->is_msg)
        return at(e, source, n, "'%s' is a message: write '%s { ... }'", n->name, n->name);
    return 0;
}

static int want_string(const tp_node *n, const char *source, mp_error *e)
{
    if (n->is_msg || !n->is_string)
        return at(e, source, n, "'%s' needs a quoted string, e.g. %s: \"x\"", n->name, n->name);
    return 0;
}

/* A positive integer that fits a long. */
static int want_long(const tp_node *n, const char *source, long min, long *out, mp_error *e)
{
    if (n->is_msg || n->is_string || !n->value)
        return at(e, source, n, "'%s' needs a number", n->name);
    errno = 0;
    char *end;
    long v = strtol(n->value, &end, 10);
    if (errno || *end || end == n->value || v < min)
        return at(e, source, n, "'%s: %.100s' is not a whole number >= %ld", n->name, n->value, min);
    *out = v;
    return 0;
}

int ms_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 255 || name[0] == '.' || strstr(name, ".."))
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!(isalnum((unsigned char)c) || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

void ms_policy_free(ms_policy *p)
{
    free(p->versions);
    p->versions = NULL;
    p->nversions = 0;
}

void ms_config_free(ms_config *c)
{
    for (size_t i = 0; i < c->n; i++) {
        ms_model_config *m = &c->models[i];
        free(m->name);
        free(m->base_path);
        ms_policy_free(&m->policy);
        for (size_t k = 0; k < m->nlabels; k++)
            free(m->labels[k].label);
        free(m->labels);
    }
    free(c->models);
    c->models = NULL;
    c->n = 0;
}

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static int read_policy(const tp_node *n, const char *source, ms_policy *p, mp_error *e)
{
    int rc = want_msg(n, source, e);
    if (rc)
        return rc;
    if (n->nkids != 1)
        return at(e, source, n, "'%s' needs exactly one of all {}, latest { ... } or specific { ... }",
                  n->name);
    const tp_node *k = &n->kids[0];
    if ((rc = want_msg(k, source, e)))
        return rc;
    if (!strcmp(k->name, "all")) {
        if (k->nkids)
            return at(e, source, &k->kids[0], "unknown field '%s' in 'all'", k->kids[0].name);
        p->kind = MS_POLICY_ALL;
        return 0;
    }
    if (!strcmp(k->name, "latest")) {
        p->kind = MS_POLICY_LATEST;
        p->num_versions = 1;
        for (size_t i = 0; i < k->nkids; i++) {
            if (strcmp(k->kids[i].name, "num_versions"))
                return at(e, source, &k->kids[i], "unknown field '%s' in 'latest' (expected num_versions)",
                          k->kids[i].name);
            if ((rc = want_long(&k->kids[i], source, 1, &p->num_versions, e)))
                return rc;
        }
        return 0;
    }
    if (!strcmp(k->name, "specific")) {
        p->kind = MS_POLICY_SPECIFIC;
        if (!k->nkids)
            return at(e, source, k, "'specific' needs at least one 'versions: N'");
        p->versions = malloc(k->nkids * sizeof *p->versions);
        if (!p->versions)
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        for (size_t i = 0; i < k->nkids; i++) {
            if (strcmp(k->kids[i].name, "versions"))
                return at(e, source, &k->kids[i], "unknown field '%s' in 'specific' (expected versions)",
                          k->kids[i].name);
            long v;
            if ((rc = want_long(&k->kids[i], source, 1, &v, e)))
                return rc;
            p->versions[p->nversions++] = v;
        }
        qsort(p->versions, p->nversions, sizeof *p->versions, cmp_long);
        size_t w = 0;
        for (size_t i = 0; i < p->nversions; i++)
            if (!w || p->versions[w - 1] != p->versions[i])
                p->versions[w++] = p->versions[i];
        p->nversions = w;
        return 0;
    }
    return at(e, source, k, "unknown version policy '%s' (expected all, latest or specific)", k->name);
}

static int read_label(const tp_node *n, const char *source, ms_model_config *m, mp_error *e)
{
    int rc = want_msg(n, source, e);
    if (rc)
        return rc;
    const char *key = NULL;
    long version = 0;
    int have_value = 0;
    for (size_t i = 0; i < n->nkids; i++) {
        const tp_node *k = &n->kids[i];
        if (!strcmp(k->name, "key")) {
            if ((rc = want_string(k, source, e)))
                return rc;
            key = k->value;
        } else if (!strcmp(k->name, "value")) {
            if ((rc = want_long(k, source, 1, &version, e)))
                return rc;
            have_value = 1;
        } else {
            return at(e, source, k, "unknown field '%s' in 'version_labels' (expected key, value)",
                      k->name);
        }
    }
    if (!key || !have_value)
        return at(e, source, n, "'version_labels' needs key: \"LABEL\" and value: VERSION");
    if (!ms_name_valid(key))
        return at(e, source, n, "version label '%s' may hold only letters, digits, '.', '_' and '-'",
                  key);
    for (size_t i = 0; i < m->nlabels; i++)
        if (!strcmp(m->labels[i].label, key))
            return at(e, source, n, "version label '%s' given twice", key);
    ms_label *l = realloc(m->labels, (m->nlabels + 1) * sizeof *l);
    if (!l)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    m->labels = l;
    l[m->nlabels].label = strdup(key);
    l[m->nlabels].version = version;
    if (!l[m->nlabels].label)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    m->nlabels++;
    return 0;
}

static int read_model(const tp_node *n, const char *source, ms_model_config *m, mp_error *e)
{
    int rc = want_msg(n, source, e);
    if (rc)
        return rc;
    m->line = n->line;
    m->policy.kind = MS_POLICY_LATEST;
    m->policy.num_versions = 1;
    int have_policy = 0;
    for (size_t i = 0; i < n->nkids; i++) {
        const tp_node *k = &n->kids[i];
        if (!strcmp(k->name, "name") || !strcmp(k->name, "base_path")) {
            char **dst = k->name[0] == 'n' ? &m->name : &m->base_path;
            if ((rc = want_string(k, source, e)))
                return rc;
            if (*dst)
                return at(e, source, k, "'%s' given twice", k->name);
            if (!(*dst = strdup(k->value)))
                return mp_error_set(e, MP_ENOMEM, "out of memory");
        } else if (!strcmp(k->name, "model_platform")) {
            if ((rc = want_string(k, source, e)))
                return rc;
            if (strcmp(k->value, "mlpipe"))
                return at(e, source, k, "model_platform \"%s\" is not served here (use \"mlpipe\")",
                          k->value);
        } else if (!strcmp(k->name, "model_version_policy")) {
            if (have_policy)
                return at(e, source, k, "'%s' given twice", k->name);
            have_policy = 1;
            if ((rc = read_policy(k, source, &m->policy, e)))
                return rc;
        } else if (!strcmp(k->name, "version_labels")) {
            if ((rc = read_label(k, source, m, e)))
                return rc;
        } else {
            return at(e, source, k,
                      "unknown field '%s' in 'config' (expected name, base_path, model_platform, "
                      "model_version_policy, version_labels)",
                      k->name);
        }
    }
    if (!m->name)
        return at(e, source, n, "'config' needs a name: \"...\"");
    if (!ms_name_valid(m->name))
        return at(e, source, n,
                  "model name '%s' may hold only letters, digits, '.', '_' and '-' (not starting with "
                  "'.', without '..')",
                  m->name);
    if (m->base_path && !m->base_path[0])
        return at(e, source, n, "model '%s': base_path is empty", m->name);
    return 0;
}

int ms_config_parse(const char *text, size_t len, const char *source, ms_config *out, mp_error *e)
{
    memset(out, 0, sizeof *out);
    tp_node root;
    int rc = tp_parse(text, len, source, &root, e);
    if (rc)
        return rc;
    const tp_node *list = NULL;
    for (size_t i = 0; i < root.nkids && !rc; i++) {
        const tp_node *k = &root.kids[i];
        if (strcmp(k->name, "model_config_list"))
            rc = at(e, source, k, "unknown field '%s' (expected model_config_list)", k->name);
        else if (list)
            rc = at(e, source, k, "'model_config_list' given twice");
        else if (!(rc = want_msg(k, source, e)))
            list = k;
    }
    if (!rc && !list)
        rc = mp_error_set(e, MP_EINPUT, "%s:1: no model_config_list { config { ... } }", source);
    if (!rc) {
        out->models = calloc(list->nkids ? list->nkids : 1, sizeof *out->models);
        if (!out->models)
            rc = mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    for (size_t i = 0; !rc && i < list->nkids; i++) {
        const tp_node *k = &list->kids[i];
        if (strcmp(k->name, "config")) {
            rc = at(e, source, k, "unknown field '%s' in 'model_config_list' (expected config)",
                    k->name);
            break;
        }
        ms_model_config *m = &out->models[out->n++];
        if ((rc = read_model(k, source, m, e)))
            break;
        for (size_t j = 0; j + 1 < out->n; j++)
            if (!strcmp(out->models[j].name, m->name)) {
                rc = at(e, source, k, "model '%s' is configured twice", m->name);
                break;
            }
    }
    if (!rc && out->n == 0)
        rc = at(e, source, list, "'model_config_list' has no 'config' entries");
    node_free(&root);
    if (rc)
        ms_config_free(out);
    return rc;
}

int ms_config_read(const char *path, ms_config *out, mp_error *e)
{
    char *text = NULL;
    size_t len = 0;
    memset(out, 0, sizeof *out);
    int rc = mp_read_file_raw(path, &text, &len, e);
    if (rc)
        return rc;
    rc = ms_config_parse(text, len, path, out, e);
    free(text);
    return rc;
}

/* Fields of TensorFlow Serving's BatchingParameters that mlpipe accepts
 * without acting on them (its batches run on the request threads). */
static const char *const ignored_batching[] = {
    "num_batch_threads", "max_enqueued_batches", "allowed_batch_sizes", "pad_variable_length_inputs",
    "enable_large_batch_splitting", "max_execution_batch_size", "thread_pool_name",
    "batch_padding_policy", NULL,
};

int ms_batching_parse(const char *text, size_t len, const char *source, size_t *max_batch_size,
                      long *batch_timeout_micros, mp_error *e)
{
    tp_node root;
    int rc = tp_parse(text, len, source, &root, e);
    if (rc)
        return rc;
    for (size_t i = 0; i < root.nkids && !rc; i++) {
        const tp_node *k = &root.kids[i];
        int is_max = !strcmp(k->name, "max_batch_size");
        int is_timeout = !strcmp(k->name, "batch_timeout_micros");
        if (is_max || is_timeout) {
            /* The wrapper message form is TensorFlow Serving's; a bare
             * "max_batch_size: 32" is accepted too. */
            const tp_node *v = k;
            if (k->is_msg) {
                if (k->nkids != 1 || strcmp(k->kids[0].name, "value")) {
                    rc = at(e, source, k, "'%s' needs { value: N }", k->name);
                    break;
                }
                v = &k->kids[0];
            }
            long x;
            if ((rc = want_long(v, source, is_max ? 1 : 0, &x, e)))
                break;
            if (is_max)
                *max_batch_size = (size_t)x;
            else
                *batch_timeout_micros = x ? x : -1;
            continue;
        }
        int known = 0;
        for (size_t j = 0; ignored_batching[j]; j++)
            known |= !strcmp(k->name, ignored_batching[j]);
        if (!known)
            rc = at(e, source, k, "unknown batching parameter '%s' (expected max_batch_size, "
                    "batch_timeout_micros, ...)", k->name);
    }
    node_free(&root);
    return rc;
}

int mp_model_service_read_batching_file(const char *path, mp_model_service_opts *o, mp_error *e)
{
    char *text = NULL;
    size_t len = 0;
    int rc = mp_read_file_raw(path, &text, &len, e);
    if (rc)
        return rc;
    size_t max = o->max_batch_size;
    long timeout = o->batch_timeout_micros;
    rc = ms_batching_parse(text, len, path, &max, &timeout, e);
    free(text);
    if (rc == 0) {
        o->max_batch_size = max;
        o->batch_timeout_micros = timeout;
    }
    return rc;
}
