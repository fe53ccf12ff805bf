/* CREATE MODEL name WITH (ALGORITHM='...', TARGET='col', ...) AS SELECT ...
 * FROM source: Phase One from inside SQL.
 *
 * The SELECT is read as a bounded query over the source's contents when the
 * statement starts (every partition from its earliest offset to its end
 * then; a table's latest row per key), its rows become a dataset as `mlpipe
 * train` builds one from a CSV file (the select list's columns by name:
 * numbers are numeric features, STRINGs categorical ones), and the trained
 * model is published as the next version of <registry>/<name>, so running
 * queries calling PREDICT('name', ...) move to it.
 *
 * CREATE MODEL is not written to the command topic: the version it
 * publishes is its durable result, and replaying the statement at a
 * restart would train (and publish) once more. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/strmap.h"
#include "data/dataset.h"
#include "data/sql_text.h"
#include "data/table.h"
#include "ml/model.h"
#include "ml/registry.h"
#include "ml/split.h"
#include "stream/engine_internal.h"

#define FETCH_BYTES (1u << 20)
/* The training score is measured on at most this many rows, as `mlpipe
 * train` does: enough to spot a broken fit. */
#define MAX_SCORED_ROWS 5000

/* Properties of CREATE MODEL itself; any other one is a parameter of the
 * algorithm (K=5 is `--param k=5`). */
static const char *const model_props[] = {
    "ALGORITHM", "TARGET", "ID", "TASK", "SEED", "TEST_SIZE", "SCALE", "MISSING", NULL,
};

typedef struct model_opts {
    const mp_algo *alg;
    const mp_sql_property *p_target, *p_id, *p_test;
    char target[1024], id[1024];
    int task;  /* mp_task or 0 */
    int scale; /* mp_scale or -1 */
    mp_missing_policy missing;
    uint64_t seed;
    double test_size; /* 0: no held-out rows */
    mp_params params;
    /* Which property each parameter came from, for positions in errors. */
    const mp_sql_property **param_props;
} model_opts;

static int at(mp_error *e, int code, mp_sql_pos pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* An error with "line L:C: " before it. */
static int at(mp_error *e, int code, mp_sql_pos pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mp_error_vset(e, code, fmt, ap);
    va_end(ap);
    mp_error_prefix(e, "line %u:%u", pos.line, pos.col);
    return code;
}

/* A property's literal as text (as `--param k=5` would give it). */
static int prop_text(const mp_sql_property *p, char *buf, size_t n, mp_error *e)
{
    const mp_sql_expr *v = p->value;
    int len;
    switch (v->kind) {
    case MP_SQL_EXPR_STRING:
        len = snprintf(buf, n, "%.*s", (int)v->len, v->str);
        if (v->len != strlen(buf) && (size_t)len < n)
            return at(e, MP_EINVAL, p->pos, "%s: a NUL character in the value", p->name);
        break;
    case MP_SQL_EXPR_INT:
        len = snprintf(buf, n, "%lld", (long long)v->i);
        break;
    case MP_SQL_EXPR_DECIMAL:
        len = snprintf(buf, n, "%s", v->str);
        break;
    case MP_SQL_EXPR_DOUBLE:
        len = snprintf(buf, n, "%.17g", v->d);
        break;
    case MP_SQL_EXPR_BOOL:
        len = snprintf(buf, n, "%s", v->boolean ? "true" : "false");
        break;
    default:
        return at(e, MP_EINVAL, p->pos, "%s needs a value (a string, a number or a boolean)",
                  p->name);
    }
    if (len < 0 || (size_t)len >= n)
        return at(e, MP_EINVAL, p->pos, "%s: the value is too long", p->name);
    return 0;
}

static int unknown_prop(const mp_sql_property *p, const mp_algo *alg, mp_error *e)
{
    mp_buf b = {0};
    for (size_t k = 0; model_props[k]; k++)
        mp_buf_printf(&b, "%s%s", k ? ", " : "", model_props[k]);
    mp_buf_printf(&b, "; %s takes ", alg->name);
    for (size_t k = 0; alg->params && alg->params[k]; k++)
        mp_buf_printf(&b, "%s%s", k ? ", " : "", alg->params[k]);
    if (!alg->params || !alg->params[0])
        mp_buf_puts(&b, "no parameters");
    int rc = b.oom ? mp_error_set(e, MP_ENOMEM, "out of memory")
                   : at(e, MP_EINVAL, p->pos, "unknown property '%s' in CREATE MODEL's WITH (%s)",
                        p->name, b.data);
    mp_buf_free(&b);
    return rc;
}

/* Reads the WITH clause into o (o->params to be freed by the caller). */
static int read_props(const mp_sql_stmt *st, model_opts *o, mp_error *e)
{
    char v[1024];
    const mp_sql_property *p_alg = NULL;
    int rc;
    o->scale = -1;
    o->seed = 42;
    for (size_t i = 0; i < st->nprops; i++)
        if (!strcasecmp(st->props[i].name, "ALGORITHM"))
            p_alg = &st->props[i];
    if (!p_alg)
        return at(e, MP_EINVAL, st->pos, "CREATE MODEL needs ALGORITHM in WITH (one of %s)",
                  mp_algo_names());
    if ((rc = prop_text(p_alg, v, sizeof v, e)))
        return rc;
    if (!(o->alg = mp_algo_find(v)))
        return at(e, MP_EINVAL, p_alg->pos, "unknown algorithm '%s' (known: %s)", v, mp_algo_names());
    if (!(o->param_props = calloc(st->nprops + 1, sizeof *o->param_props)))
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    for (size_t i = 0; i < st->nprops; i++) {
        const mp_sql_property *p = &st->props[i];
        for (size_t j = 0; j < i; j++)
            if (!strcasecmp(st->props[j].name, p->name))
                return at(e, MP_EINVAL, p->pos, "property '%s' is given twice", p->name);
        if ((rc = prop_text(p, v, sizeof v, e)))
            return rc;
        const char *n = p->name;
        if (!strcasecmp(n, "ALGORITHM")) {
            continue;
        } else if (!strcasecmp(n, "TARGET")) {
            o->p_target = p;
            snprintf(o->target, sizeof o->target, "%s", v);
        } else if (!strcasecmp(n, "ID")) {
            o->p_id = p;
            snprintf(o->id, sizeof o->id, "%s", v);
        } else if (!strcasecmp(n, "TASK")) {
            if (!strcasecmp(v, "classification"))
                o->task = MP_TASK_CLASSIFY;
            else if (!strcasecmp(v, "regression"))
                o->task = MP_TASK_REGRESS;
            else
                return at(e, MP_EINVAL, p->pos, "TASK='%s': expected 'classification' or 'regression'", v);
        } else if (!strcasecmp(n, "SCALE")) {
            static const char *const names[] = {"none", "standard", "minmax"};
            for (int k = 0; k < 3; k++)
                if (!strcasecmp(v, names[k]))
                    o->scale = k;
            if (o->scale < 0)
                return at(e, MP_EINVAL, p->pos, "SCALE='%s': expected 'standard', 'minmax' or 'none'", v);
        } else if (!strcasecmp(n, "MISSING")) {
            if (!strcasecmp(v, "error"))
                o->missing = MP_MISSING_ERROR;
            else if (!strcasecmp(v, "drop"))
                o->missing = MP_MISSING_DROP;
            else if (!strcasecmp(v, "mean"))
                o->missing = MP_MISSING_MEAN;
            else
                return at(e, MP_EINVAL, p->pos, "MISSING='%s': expected 'error', 'drop' or 'mean'", v);
        } else if (!strcasecmp(n, "SEED")) {
            char *end;
            unsigned long long s = strtoull(v, &end, 10);
            if (p->value->kind != MP_SQL_EXPR_INT || p->value->i < 0 || *end)
                return at(e, MP_EINVAL, p->pos, "SEED=%s: expected a whole number >= 0", v);
            o->seed = s;
        } else if (!strcasecmp(n, "TEST_SIZE")) {
            char *end;
            double t = strtod(v, &end);
            int num = p->value->kind == MP_SQL_EXPR_INT || p->value->kind == MP_SQL_EXPR_DECIMAL ||
                      p->value->kind == MP_SQL_EXPR_DOUBLE;
            if (!num || *end || !(t > 0) || !isfinite(t) || (t >= 1 && t != floor(t)))
                return at(e, MP_EINVAL, p->pos,
                          "TEST_SIZE=%s: expected a fraction between 0 and 1 or a whole number of rows", v);
            o->p_test = p;
            o->test_size = t;
        } else {
            /* An algorithm parameter, spelled as the algorithm spells it
             * (WITH upper-cases bare names: K is k, C stays C). */
            const char *pname = NULL;
            for (size_t k = 0; o->alg->params && o->alg->params[k] && !pname; k++)
                if (!strcasecmp(n, o->alg->params[k]))
                    pname = o->alg->params[k];
            if (!pname)
                return unknown_prop(p, o->alg, e);
            if (mp_params_set(&o->params, pname, v))
                return mp_error_set(e, MP_ENOMEM, "out of memory");
            o->param_props[o->params.n - 1] = p;
        }
    }
    /* An anomaly detector learns from unlabelled rows. */
    if (!o->p_target && o->alg->tasks != MP_TASK_ANOMALY)
        return at(e, MP_EINVAL, st->pos, "CREATE MODEL needs TARGET in WITH: the selected column to "
                  "predict, e.g. WITH (ALGORITHM='%s', TARGET='label')", o->alg->name);
    if (o->task && !(o->alg->tasks & (unsigned)o->task))
        return at(e, MP_EINVAL, st->pos, "%s cannot do %s", o->alg->name,
                  mp_task_name((mp_task)o->task));
    return 0;
}

/* The output column called name: exactly, else the one column equal to it
 * ignoring case (a property value is a string, so 'target' finds TARGET). */
static int find_col(const mp_splan *p, const char *name)
{
    for (size_t i = 0; i < p->nout; i++)
        if (!strcmp(p->names[i], name))
            return (int)i;
    int found = -1;
    for (size_t i = 0; i < p->nout; i++)
        if (!strcasecmp(p->names[i], name)) {
            if (found >= 0)
                return -1;
            found = (int)i;
        }
    return found;
}

static int not_selected(const mp_splan *p, const mp_sql_property *prop, const char *name, mp_error *e)
{
    mp_buf b = {0};
    for (size_t i = 0; i < p->nout; i++)
        mp_buf_printf(&b, "%s%s", i ? ", " : "", p->names[i]);
    int rc = b.oom ? mp_error_set(e, MP_ENOMEM, "out of memory")
                   : at(e, MP_EINVAL, prop->pos, "%s '%s' is not a column of the SELECT (its columns: %s)",
                        prop->name, name, b.data ? b.data : "");
    mp_buf_free(&b);
    return rc;
}

/* Where the select item that produced output column i is. */
static mp_sql_pos item_pos(const mp_sql_query *q, const mp_splan *p, size_t i)
{
    size_t out = 0;
    for (size_t k = 0; k < q->nitems; k++) {
        size_t n = q->items[k].kind == MP_SQL_ITEM_EXPR ? 1 : p->src->schema->ncols;
        if (i < out + n)
            return q->items[k].kind == MP_SQL_ITEM_EXPR ? q->items[k].expr->pos : q->items[k].pos;
        out += n;
    }
    return q->pos;
}

/* ---- the rows, as a table of text cells ---- */

typedef struct rows {
    size_t ncols, nrows;
    mp_buf text;
    size_t *cell;
    size_t ncell, capcell;
    int oom;
} rows;

static void rows_cell(rows *r, const char *s, size_t n)
{
    if (r->ncell == r->capcell) {
        size_t nc = r->capcell ? 2 * r->capcell : 1024;
        size_t *c = realloc(r->cell, nc * sizeof *c);
        if (!c) {
            r->oom = 1;
            return;
        }
        r->cell = c;
        r->capcell = nc;
    }
    r->cell[r->ncell++] = r->text.len;
    mp_buf_append(&r->text, s, n);
    mp_buf_putc(&r->text, '\0');
}

/* The table mp_dataset_from_table reads (takes the cells out of r). */
static int rows_table(rows *r, const mp_splan *p, const char *source, mp_table **out, mp_error *e)
{
    mp_table *t = calloc(1, sizeof *t);
    size_t n = r->ncell ? r->ncell : 1;
    if (!t || r->oom || r->text.oom)
        goto oom;
    t->source = strdup(source);
    t->delim = ',';
    t->nrows = r->nrows;
    t->ncols = r->ncols;
    t->names = calloc(r->ncols, sizeof *t->names);
    t->line = malloc(n * sizeof *t->line);
    t->col = malloc(n * sizeof *t->col);
    if (!t->source || !t->names || !t->line || !t->col)
        goto oom;
    for (size_t c = 0; c < r->ncols; c++)
        if (!(t->names[c] = strdup(p->names[c])))
            goto oom;
    /* Positions in the table are row and column numbers. */
    for (size_t i = 0; i < r->ncell; i++) {
        size_t row = i / r->ncols + 1;
        t->line[i] = row > UINT32_MAX ? UINT32_MAX : (uint32_t)row;
        t->col[i] = (uint32_t)(i % r->ncols + 1);
    }
    t->text = mp_buf_take(&r->text);
    t->cell = r->cell;
    r->cell = NULL;
    if (!t->text && !(t->text = calloc(1, 1)))
        goto oom;
    if (!t->cell && !(t->cell = calloc(1, sizeof *t->cell)))
        goto oom;
    *out = t;
    return 0;
oom:
    mp_table_destroy(t);
    return mp_error_set(e, MP_ENOMEM, "out of memory");
}

/* ---- reading the source ---- */

/* What a column of the SELECT becomes. */
enum { COL_NUMERIC, COL_CATEGORICAL, COL_TARGET, COL_ID };

typedef struct reader {
    mp_engine *en;
    const mp_sql_stmt *st;
    const mp_splan *plan;
    const model_opts *o;
    const int *role;
    char qid[300];
    mp_value *row, *out;
    mp_arena arena;
    mp_buf cellbuf;
    rows rows;
    int64_t limit;
    size_t bad;     /* records that could not be decoded */
    size_t matched; /* rows that passed WHERE */
} reader;

/* A value as the text a CSV file would hold; NULL (and a DOUBLE that is
 * not a number) is an empty, missing cell. */
static void cell_text(const mp_value *v, mp_buf *b)
{
    char num[48];
    if (v->null)
        return;
    switch (v->kind) {
    case MP_TYPE_INTEGER:
        mp_buf_printf(b, "%d", v->u.i32);
        return;
    case MP_TYPE_BIGINT:
        mp_buf_append(b, num, mp_format_int64(v->u.i64, num));
        return;
    case MP_TYPE_DOUBLE:
        /* Seventeen digits read back as the same double. */
        if (isfinite(v->u.f64))
            mp_buf_printf(b, "%.17g", v->u.f64);
        return;
    case MP_TYPE_STRING:
        mp_buf_append(b, v->u.str, v->len);
        return;
    case MP_TYPE_BOOLEAN:
        mp_buf_puts(b, v->u.b ? "true" : "false");
        return;
    default:
        mp_value_format(v, b);
        return;
    }
}

/* One record of partition p: decode, WHERE, the projection, a row of
 * cells. Returns 1 when the LIMIT is reached, a negative code when the
 * statement fails (a missing value under MISSING='error'). */
static int take_record(reader *x, const mp_record *r, int32_t p, mp_error *e)
{
    const mp_splan *plan = x->plan;
    const mp_source *src = plan->src;
    mp_error re = {0};
    mp_fn_ctx cx = {&x->arena, &re};
    mp_arena_reset(&x->arena);
    if (mp_row_decode(src, r, p, &x->arena, x->row, &re)) {
        x->bad++;
        mp_engine_processing_log(x->en, x->qid, src->topic, p, r->offset, re.msg);
        return 0;
    }
    if (plan->where) {
        int ok = mp_sql_eval_cond(plan->where, x->row, &cx);
        if (ok < 0)
            mp_engine_processing_log(x->en, x->qid, src->topic, p, r->offset, re.msg);
        if (ok <= 0)
            return 0;
    }
    for (size_t c = 0; c < plan->nout; c++)
        if (mp_sql_eval(plan->proj[c], x->row, &cx, &x->out[c]) < 0)
            mp_engine_processing_log(x->en, x->qid, src->topic, p, r->offset, re.msg);
    for (size_t c = 0; c < plan->nout; c++) {
        mp_buf_reset(&x->cellbuf);
        cell_text(&x->out[c], &x->cellbuf);
        const char *s = x->cellbuf.data ? x->cellbuf.data : "";
        if (x->o->missing == MP_MISSING_ERROR && x->role[c] != COL_ID && mp_is_missing(s)) {
            /* Said here, where the record is known, not as a row number. */
            const char *what = x->out[c].null ? "NULL" : "missing";
            return at(e, MP_EINPUT, item_pos(x->st->query, plan, c),
                      "column %s is %s in the record of %s at partition %d offset %lld; "
                      "MISSING='drop' in WITH skips such rows, MISSING='mean' fills features "
                      "with the column's mean", plan->names[c], what, src->name, (int)p,
                      (long long)r->offset);
        }
        if (x->cellbuf.oom)
            x->rows.oom = 1;
        rows_cell(&x->rows, s, x->cellbuf.len);
    }
    x->rows.nrows++;
    x->matched++;
    return x->limit >= 0 && (int64_t)x->matched >= x->limit;
}

/* A record key as a map key (keys are bytes; the map takes strings). */
static int key_hex(const mp_record *r, mp_buf *b)
{
    static const char hex[] = "0123456789abcdef";
    mp_buf_reset(b);
    for (int32_t i = 0; i < r->key_len; i++) {
        mp_buf_putc(b, hex[r->key[i] >> 4]);
        mp_buf_putc(b, hex[r->key[i] & 15]);
    }
    mp_buf_putc(b, '\0');
    return b->oom ? MP_ENOMEM : 0;
}

/* Reads partition p from start to end: every record of a stream; of a
 * table, the records that are the latest for their key and not a
 * tombstone (found by a first pass over the keys). */
static int read_partition(reader *x, int32_t p, int64_t start, int64_t end, int *done, mp_error *e)
{
    const mp_source *src = x->plan->src;
    int table = src->kind == MP_SRC_TABLE;
    mp_strmap *keys = NULL;
    int64_t *latest = NULL;
    size_t nkeys = 0, capkeys = 0;
    mp_buf kb = {0};
    mp_log_fetch_result fr = {0};
    int rc = 0;
    if (table && !(keys = mp_strmap_create()))
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    for (int pass = table ? 0 : 1; pass < 2 && !rc && !*done; pass++) {
        int64_t off = start;
        while (off < end && !rc && !*done) {
            if ((rc = mp_log_fetch(x->en->log, src->topic, p, off, FETCH_BYTES, &fr, e)))
                break;
            if (fr.n == 0 && fr.next_offset <= off)
                break; /* nothing more to read (the rest was removed meanwhile) */
            off = fr.next_offset;
            for (size_t i = 0; i < fr.n && !rc && !*done; i++) {
                const mp_record *r = &fr.recs[i];
                if (r->offset >= end)
                    break;
                if (!table) {
                    rc = take_record(x, r, p, e);
                } else if (r->key_len >= 0) {
                    if (key_hex(r, &kb)) {
                        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
                        break;
                    }
                    int k = mp_strmap_get(keys, kb.data);
                    if (pass == 0) {
                        if (k < 0) {
                            if (nkeys == capkeys) {
                                size_t nc = capkeys ? 2 * capkeys : 256;
                                int64_t *nl = nc <= INT32_MAX ? realloc(latest, nc * sizeof *nl) : NULL;
                                if (!nl) {
                                    rc = mp_error_set(e, MP_ENOMEM, "out of memory");
                                    break;
                                }
                                latest = nl;
                                capkeys = nc;
                            }
                            k = (int)nkeys++;
                            if (mp_strmap_put(keys, kb.data, k)) {
                                rc = mp_error_set(e, MP_ENOMEM, "out of memory");
                                break;
                            }
                        }
                        /* A tombstone as the latest deletes the row. */
                        latest[k] = r->value_len < 0 ? -1 : r->offset;
                    } else if (k >= 0 && latest[k] == r->offset) {
                        rc = take_record(x, r, p, e);
                    }
                }
                if (rc == 1) {
                    *done = 1;
                    rc = 0;
                }
            }
        }
    }
    mp_log_fetch_result_free(&fr);
    mp_strmap_destroy(keys);
    free(latest);
    mp_buf_free(&kb);
    return rc;
}

/* Reads the SELECT's rows: every partition from its earliest offset to the
 * end offsets taken now, so records written meanwhile wait for the next
 * CREATE MODEL. */
static int read_rows(reader *x, mp_error *e)
{
    const mp_source *src = x->plan->src;
    int32_t np = 0;
    int rc = mp_log_partition_count(x->en->log, src->topic, &np, e);
    if (rc)
        return rc;
    int64_t *start = calloc((size_t)np + 1, sizeof *start), *end = calloc((size_t)np + 1, sizeof *end);
    if (!start || !end) {
        free(start);
        free(end);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    for (int32_t p = 0; p < np && !rc; p++)
        rc = mp_log_offsets(x->en->log, src->topic, p, &start[p], &end[p], e);
    int done = x->limit == 0;
    for (int32_t p = 0; p < np && !rc && !done; p++)
        rc = read_partition(x, p, start[p], end[p], &done, e);
    free(start);
    free(end);
    return rc;
}

/* ---- training ---- */

/* The error of mp_model_train with the position of the parameter it names
 * ("parameter k=x: ..."), where it names one. */
static void param_error_pos(const model_opts *o, mp_error *e)
{
    const char *m = e->msg;
    if (strncmp(m, "parameter ", 10))
        return;
    for (size_t i = 0; i < o->params.n; i++) {
        size_t n = strlen(o->params.names[i]);
        if (!strncmp(m + 10, o->params.names[i], n) && m[10 + n] == '=' && o->param_props[i]) {
            mp_error_prefix(e, "line %u:%u", o->param_props[i]->pos.line, o->param_props[i]->pos.col);
            return;
        }
    }
}

static const char *metric_name(mp_task t)
{
    return t == MP_TASK_CLASSIFY ? "accuracy" : t == MP_TASK_REGRESS ? "r2" : "flagged";
}

/* Trains on the dataset (less the held-out rows), scores, publishes.
 * Runs without the engine's lock: it touches nothing of the engine. */
static int train_publish(const mp_sql_stmt *st, model_opts *o, const char *model_dir,
                         const mp_dataset *d, char *msg, size_t msgn, mp_error *e)
{
    size_t *train = NULL, *test = NULL, ntrain = d->nrows, ntest = 0, *scored = NULL;
    mp_model *m = NULL;
    int rc = 0;
    if (o->test_size > 0) {
        size_t t = o->test_size < 1 ? (size_t)ceil(o->test_size * (double)d->nrows)
                                    : (size_t)o->test_size;
        if (t == 0 || t >= d->nrows)
            return at(e, MP_EINVAL, o->p_test->pos,
                      "TEST_SIZE=%g leaves %zu held-out and %zu training rows of %zu; both need at "
                      "least one", o->test_size, t, t >= d->nrows ? 0 : d->nrows - t, d->nrows);
        /* The split `mlpipe split --test-size X --seed N` makes. */
        if ((rc = mp_split_train_test(d->nrows, o->test_size, o->seed, NULL, 0, &train, &ntrain,
                                      &test, &ntest, e)))
            return rc;
    }
    mp_train_opts to = {.algorithm = o->alg->name, .params = &o->params, .scale = o->scale,
                        .missing = o->missing, .task = o->task, .seed = o->seed};
    if ((rc = mp_model_train(d, train, ntrain, &to, &m, e))) {
        param_error_pos(o, e);
        goto done;
    }
    size_t ns = ntrain < MAX_SCORED_ROWS ? ntrain : MAX_SCORED_ROWS;
    if (!(scored = malloc((ns ? ns : 1) * sizeof *scored))) {
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < ns; i++) {
        size_t k = i * ntrain / ns;
        scored[i] = train ? train[k] : k;
    }
    double score = NAN, held = NAN;
    if ((rc = mp_model_score(m, d, scored, ns, &score, e)))
        goto done;
    if (ntest && (rc = mp_model_score(m, d, test, ntest, &held, e)))
        goto done;
    const char *metric = metric_name(m->task);
    char mj[256];
    int n = snprintf(mj, sizeof mj, "{\"%s\":%.17g,\"rows_scored\":%zu", metric, score, ns);
    if (ntest)
        snprintf(mj + n, sizeof mj - (size_t)n, ",\"heldout_%s\":%.17g,\"heldout_rows\":%zu}",
                 metric, held, ntest);
    else
        snprintf(mj + n, sizeof mj - (size_t)n, "}");
    free(m->metrics_json);
    if (!(m->metrics_json = strdup(mj))) {
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        goto done;
    }
    long version = 0;
    if ((rc = mp_model_publish(m, model_dir, &version, e)))
        goto done;
    const char *shown = m->task == MP_TASK_CLASSIFY ? "accuracy" : m->task == MP_TASK_REGRESS ? "R2" : NULL;
    n = snprintf(msg, msgn, "Model %s version %ld trained on %zu rows", st->name, version, ntrain);
    if (n < 0 || (size_t)n >= msgn)
        goto done;
    if (!shown)
        snprintf(msg + n, msgn - (size_t)n, " (anomaly threshold %.6g, %.1f%% of training rows flagged)",
                 mp_model_threshold(m), 100.0 * score);
    else if (ntest)
        snprintf(msg + n, msgn - (size_t)n, " (%s %.4f on %zu held-out rows)", shown, held, ntest);
    else
        snprintf(msg + n, msgn - (size_t)n, " (training %s %.4f)", shown, score);
done:
    mp_model_release(m);
    free(scored);
    free(train);
    free(test);
    return rc;
}

/* The model's directory under the registry; a name is one path element. */
static int model_dir_of(const mp_engine *en, const mp_sql_stmt *st, char *out, size_t n, mp_error *e)
{
    const char *name = st->name;
    if (!en->registry_dir)
        return at(e, MP_EINVAL, st->pos, "CREATE MODEL needs a model registry: start mlpipe with "
                  "--registry DIR");
    if (!name[0] || name[0] == '.' || strchr(name, '/'))
        return at(e, MP_EINVAL, st->pos, "'%s' cannot name a model (a model is a directory of the "
                  "registry: no '/', no leading '.')", name);
    if (snprintf(out, n, "%s/%s", en->registry_dir, name) >= (int)n)
        return at(e, MP_EINVAL, st->pos, "model path too long");
    return 0;
}

int mp_engine_create_model(mp_engine *en, const mp_sql_stmt *st, const mp_engine_sink *sink,
                           mp_error *e)
{
    /* Never written to the command topic, so never replayed; a replay must
     * not train again in any case. */
    if (en->replaying)
        return 0;
    const mp_sql_query *q = st->query;
    char model_dir[4096];
    int rc = model_dir_of(en, st, model_dir, sizeof model_dir, e);
    if (rc)
        return rc;
    model_opts o = {0};
    mp_splan plan;
    int planned = 0;
    int *role = NULL;
    mp_dataset *d = NULL;
    mp_table *t = NULL;
    reader x = {0};
    mp_arena_init(&x.arena, 0);
    if ((rc = read_props(st, &o, e)))
        goto done;
    if (st->if_not_exists) {
        long v = 0;
        if (mp_registry_latest(model_dir, &v, NULL) == 0) {
            char msg[512];
            snprintf(msg, sizeof msg, "Model %s already exists (version %ld); not trained", st->name, v);
            if (sink && sink->message)
                sink->message(sink->ctx, msg);
            goto done;
        }
    }
    if (q->njoins) {
        rc = at(e, MP_EINVAL, q->joins[0].source.pos, "CREATE MODEL reads one stream or table; write the join "
                "into a stream (CREATE STREAM ... AS SELECT) and train on that");
        goto done;
    }
    if (q->has_group_by || q->window) {
        rc = at(e, MP_EINVAL, q->pos, "CREATE MODEL reads rows as they are; aggregate into a table "
                "(CREATE TABLE ... AS SELECT ... GROUP BY) and train on that");
        goto done;
    }
    /* The planner refuses tables because queries cannot follow a table's
     * changes yet; this read materialises the table itself (the latest row
     * per key), so the table is planned as the stream of its records. */
    mp_source *src = mp_catalog_find(&en->cat, q->from.name);
    int was_table = src && src->kind == MP_SRC_TABLE;
    if (was_table)
        src->kind = MP_SRC_STREAM;
    rc = mp_splan_build(en, q, &plan, e);
    if (was_table)
        src->kind = MP_SRC_TABLE;
    if (rc)
        goto done;
    planned = 1;
    if (plan.tfns.n) {
        /* One training row per source row: a row-multiplying EXPLODE
         * belongs in a stream the model then reads. */
        rc = at(e, MP_EINVAL, q->pos, "CREATE MODEL does not take table functions such as "
                "EXPLODE; explode into a stream first (CREATE STREAM ... AS SELECT) and train on it");
        goto done;
    }
    if (!(role = calloc(plan.nout + 1, sizeof *role))) {
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < plan.nout; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(plan.names[i], plan.names[j])) {
                rc = at(e, MP_EINVAL, item_pos(q, &plan, i), "column %s is selected twice; give one "
                        "an alias (AS name)", plan.names[i]);
                goto done;
            }
    int ti = -1, ii = -1;
    if (o.p_target && (ti = find_col(&plan, o.target)) < 0) {
        rc = not_selected(&plan, o.p_target, o.target, e);
        goto done;
    }
    if (o.p_id && (ii = find_col(&plan, o.id)) < 0) {
        rc = not_selected(&plan, o.p_id, o.id, e);
        goto done;
    }
    if (ii >= 0 && ii == ti) {
        rc = at(e, MP_EINVAL, o.p_id->pos, "column %s cannot be both the ID and the TARGET",
                plan.names[ii]);
        goto done;
    }
    size_t nfeat = 0, ncat = 0;
    for (size_t i = 0; i < plan.nout; i++) {
        mp_type_kind k = mp_sql_cexpr_type(plan.proj[i])->kind;
        if ((int)i == ti || (int)i == ii) {
            role[i] = (int)i == ti ? COL_TARGET : COL_ID;
            int scalar = k != MP_TYPE_ARRAY && k != MP_TYPE_MAP && k != MP_TYPE_STRUCT && k != MP_TYPE_BYTES;
            if ((int)i == ti && !scalar) {
                rc = at(e, MP_EINVAL, item_pos(q, &plan, i), "TARGET column %s is %s; a target is a "
                        "number, a STRING or a BOOLEAN", plan.names[i], mp_type_kind_name(k));
                goto done;
            }
            continue;
        }
        if (k == MP_TYPE_STRING) {
            role[i] = COL_CATEGORICAL;
            ncat++;
        } else if (mp_type_kind_is_numeric(k) || k == MP_TYPE_NULL) {
            role[i] = COL_NUMERIC;
        } else {
            rc = at(e, MP_EINVAL, item_pos(q, &plan, i),
                    "column %s is %s, which a model cannot take as a feature: features are numbers "
                    "(INT, BIGINT, DOUBLE, DECIMAL) or STRINGs (categories); CAST it or leave it out",
                    plan.names[i], mp_type_kind_name(k));
            goto done;
        }
        nfeat++;
    }
    if (!nfeat) {
        rc = at(e, MP_EINVAL, q->pos, "CREATE MODEL needs at least one feature column besides the "
                "TARGET%s", ii >= 0 ? " and the ID" : "");
        goto done;
    }

    /* Read the rows while the catalog is locked: the plan borrows the source. */
    x.en = en;
    x.st = st;
    x.plan = &plan;
    x.o = &o;
    x.role = role;
    x.limit = plan.limit;
    x.rows.ncols = plan.nout;
    snprintf(x.qid, sizeof x.qid, "model_%s", st->name);
    x.row = calloc(mp_splan_row_slots(&plan) + 1, sizeof *x.row);
    x.out = calloc(plan.nout + 1, sizeof *x.out);
    if (!x.row || !x.out) {
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = read_rows(&x, e)))
        goto done;
    if (x.rows.nrows == 0) {
        char why[128] = "";
        if (x.bad)
            snprintf(why, sizeof why, " (%zu record%s could not be read: see %s)", x.bad,
                     x.bad == 1 ? "" : "s", MP_PROCESSING_LOG_TOPIC);
        rc = at(e, MP_EINPUT, q->from.pos, "CREATE MODEL %s: no rows to train on: %s has no %srecords%s%s",
                st->name, plan.src->name, x.bad ? "readable " : "", plan.where ? " that pass WHERE" : "",
                why);
        goto done;
    }
    const char **cats = calloc(ncat + 1, sizeof *cats);
    if (!cats) {
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0, k = 0; i < plan.nout; i++)
        if (role[i] == COL_CATEGORICAL)
            cats[k++] = plan.names[i];
    mp_load_opts lo = {.target = ti >= 0 ? plan.names[ti] : NULL, .id = ii >= 0 ? plan.names[ii] : NULL,
                       .missing = o.missing, .categorical = cats, .ncategorical = ncat};
    rc = rows_table(&x.rows, &plan, plan.src->name, &t, e);
    if (!rc)
        rc = mp_dataset_from_table(t, &lo, &d, e);
    free(cats);
    if (rc) {
        mp_error_prefix(e, "line %u:%u: CREATE MODEL %s", st->pos.line, st->pos.col, st->name);
        goto done;
    }
    mp_table_destroy(t);
    t = NULL;

    /* Training can take long: other statements go on meanwhile. */
    char msg[600];
    msg[0] = 0;
    pthread_mutex_unlock(&en->mu);
    rc = train_publish(st, &o, model_dir, d, msg, sizeof msg, e);
    pthread_mutex_lock(&en->mu);
    if (rc) {
        if (strncmp(e->msg, "line ", 5))
            mp_error_prefix(e, "line %u:%u: CREATE MODEL %s", st->pos.line, st->pos.col, st->name);
        goto done;
    }
    if (d->ndropped) {
        size_t len = strlen(msg);
        snprintf(msg + len, sizeof msg - len, "; %zu row%s with missing values dropped", d->ndropped,
                 d->ndropped == 1 ? "" : "s");
    }
    if (x.bad) {
        size_t len = strlen(msg);
        snprintf(msg + len, sizeof msg - len, "; %zu record%s could not be read (see %s)", x.bad,
                 x.bad == 1 ? "" : "s", MP_PROCESSING_LOG_TOPIC);
    }
    if (sink && sink->message)
        sink->message(sink->ctx, msg);
done:
    mp_dataset_destroy(d);
    mp_table_destroy(t);
    free(x.row);
    free(x.out);
    free(x.rows.cell);
    mp_buf_free(&x.rows.text);
    mp_buf_free(&x.cellbuf);
    mp_arena_free(&x.arena);
    free(role);
    if (planned)
        mp_splan_free(&plan);
    mp_params_free(&o.params);
    free(o.param_props);
    return rc;
}
