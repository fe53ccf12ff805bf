/* Planning a SELECT over one stream (filter and projection), and turning
 * records into rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream/engine_internal.h"

static const char *const pseudo_names[MP_ROW_PSEUDO] = {"ROWTIME", "ROWPARTITION", "ROWOFFSET"};

void mp_splan_free(mp_splan *p)
{
    if (!p)
        return;
    free(p->scope);
    mp_sql_cexpr_free(p->where);
    for (size_t i = 0; i < p->ngroup; i++)
        mp_sql_cexpr_free(p->group[i]);
    free(p->group);
    mp_sql_cexpr_free(p->having);
    mp_sql_aggs_free(&p->aggs);
    for (size_t i = 0; i < p->nout; i++) {
        mp_sql_cexpr_free(p->proj ? p->proj[i] : NULL);
        free(p->names ? p->names[i] : NULL);
    }
    free(p->proj);
    free(p->names);
    free(p->is_key);
    memset(p, 0, sizeof *p);
}

/* True when e calls an aggregate function somewhere. */
static int has_aggregate(const mp_engine *en, const mp_sql_expr *e)
{
    if (!e)
        return 0;
    if (e->kind == MP_SQL_EXPR_CALL) {
        const mp_fn_def *d = mp_fn_lookup(en->fns, e->name);
        if (d && d->kind == MP_FN_AGGREGATE)
            return 1;
    }
    if (has_aggregate(en, e->a) || has_aggregate(en, e->b) || has_aggregate(en, e->c))
        return 1;
    for (size_t i = 0; i < e->n; i++)
        if (has_aggregate(en, e->items[i]))
            return 1;
    return 0;
}

static int add_out(mp_splan *p, mp_sql_cexpr *c, const char *name, int is_key, mp_error *e)
{
    for (size_t i = 0; i < p->nout; i++)
        if (!strcmp(p->names[i], name)) {
            mp_sql_cexpr_free(c);
            return mp_error_set(e, MP_EINVAL, "duplicate output column name '%s'; use AS to rename one",
                                name);
        }
    mp_sql_cexpr **np = realloc(p->proj, (p->nout + 1) * sizeof *np);
    if (np)
        p->proj = np;
    char **nn = np ? realloc(p->names, (p->nout + 1) * sizeof *nn) : NULL;
    if (nn)
        p->names = nn;
    int *nk = nn ? realloc(p->is_key, (p->nout + 1) * sizeof *nk) : NULL;
    if (nk)
        p->is_key = nk;
    char *copy = nk ? strdup(name) : NULL;
    if (!copy) {
        mp_sql_cexpr_free(c);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    p->proj[p->nout] = c;
    p->names[p->nout] = copy;
    p->is_key[p->nout] = is_key;
    p->nout++;
    return 0;
}

/* The name ksqlDB gives a select item: its alias, a column's own name, a
 * struct field's name, else KSQL_COL_<i>. */
static void item_name(const mp_sql_select_item *it, size_t i, char *buf, size_t n)
{
    if (it->alias)
        snprintf(buf, n, "%s", it->alias);
    else if (it->expr->kind == MP_SQL_EXPR_COLUMN)
        snprintf(buf, n, "%s", it->expr->name);
    else if (it->expr->kind == MP_SQL_EXPR_DEREF)
        snprintf(buf, n, "%s", it->expr->name);
    else
        snprintf(buf, n, "KSQL_COL_%zu", i);
}

int mp_splan_build(mp_engine *en, const mp_sql_query *q, mp_splan *p, mp_error *e)
{
    memset(p, 0, sizeof *p);
    p->limit = q->has_limit ? q->limit : -1;
    if (q->njoins)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: joins are not supported yet",
                            q->joins[0].source.pos.line, q->joins[0].source.pos.col);
    if (q->window && q->window->kind == MP_SQL_WINDOW_SESSION)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: SESSION windows are not supported yet "
                            "(TUMBLING and HOPPING are)", q->pos.line, q->pos.col);
    if (q->window && !q->has_group_by)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: WINDOW needs GROUP BY", q->pos.line, q->pos.col);
    if (q->window) {
        const mp_sql_window *w = q->window;
        int64_t grace = 24LL * 3600 * 1000; /* ksqlDB's default grace period */
        if (mp_sql_duration_ms(w->size, &p->win_size) ||
            (w->kind == MP_SQL_WINDOW_HOPPING && mp_sql_duration_ms(w->advance, &p->win_advance)) ||
            (w->has_grace && mp_sql_duration_ms(w->grace, &grace)))
            return mp_error_set(e, MP_EINVAL, "line %u:%u: window duration out of range", q->pos.line,
                                q->pos.col);
        if (w->kind == MP_SQL_WINDOW_TUMBLING)
            p->win_advance = p->win_size;
        if (p->win_size <= 0 || p->win_advance <= 0 || p->win_advance > p->win_size)
            return mp_error_set(e, MP_EINVAL, "line %u:%u: a window needs SIZE > 0 and 0 < ADVANCE BY <= SIZE",
                                q->pos.line, q->pos.col);
        if (p->win_size / p->win_advance > 1000)
            return mp_error_set(e, MP_EINVAL, "line %u:%u: a record would fall in more than 1000 hopping "
                                "windows; use a larger ADVANCE BY", q->pos.line, q->pos.col);
        p->win_grace = grace;
        p->windowed = 1;
    }
    if (q->having && !q->has_group_by)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: HAVING needs GROUP BY", q->having->pos.line,
                            q->having->pos.col);
    if (q->has_group_by && !q->ngroup_by)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: GROUP BY () is not supported", q->pos.line,
                            q->pos.col);
    if (q->has_partition_by)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: PARTITION BY is not supported yet",
                            q->pos.line, q->pos.col);
    mp_source *src = mp_catalog_find(&en->cat, q->from.name);
    if (!src)
        return mp_error_set(e, MP_ENOTFOUND, "line %u:%u: %s does not exist", q->from.pos.line,
                            q->from.pos.col, q->from.name);
    if (src->kind != MP_SRC_STREAM)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: %s is a table; queries on tables are not "
                            "supported yet", q->from.pos.line, q->from.pos.col, q->from.name);
    p->src = src;
    p->nscope = MP_ROW_PSEUDO + src->schema->ncols + (p->windowed ? 2 : 0);
    p->scope = calloc(p->nscope, sizeof *p->scope);
    if (!p->scope)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    const char *qual = q->from.alias ? q->from.alias : src->name;
    for (size_t i = 0; i < MP_ROW_PSEUDO; i++)
        p->scope[i] = (mp_sql_scope_col){pseudo_names[i], qual, en->pseudo_types[i]};
    for (size_t i = 0; i < src->schema->ncols; i++)
        p->scope[MP_ROW_PSEUDO + i] =
            (mp_sql_scope_col){src->schema->cols[i].name, qual, src->schema->cols[i].type};
    if (p->windowed) {
        p->ws_slot = MP_ROW_PSEUDO + src->schema->ncols;
        p->scope[p->ws_slot] = (mp_sql_scope_col){"WINDOWSTART", qual, en->pseudo_types[MP_ROW_ROWTIME]};
        p->scope[p->ws_slot + 1] = (mp_sql_scope_col){"WINDOWEND", qual, en->pseudo_types[MP_ROW_ROWTIME]};
    }
    p->sc = (mp_sql_scope){.ncols = p->nscope, .cols = p->scope, .fns = en->fns};
    int rc;
    const mp_sql_scope *item_sc = &p->sc;
    if (q->has_group_by) {
        p->grouped = 1;
        p->group = calloc(q->ngroup_by, sizeof *p->group);
        if (!p->group) {
            rc = mp_error_set(e, MP_ENOMEM, "out of memory");
            goto fail;
        }
        for (size_t i = 0; i < q->ngroup_by; i++, p->ngroup++)
            if ((rc = mp_sql_compile(q->group_by[i], &p->sc, &p->group[i], e)))
                goto fail;
        p->aggs.input = &p->sc;
        p->aggs.first_slot = p->nscope;
        p->agg_sc = p->sc;
        p->agg_sc.aggs = &p->aggs;
        item_sc = &p->agg_sc;
        if (q->having && (rc = mp_sql_compile(q->having, item_sc, &p->having, e)))
            goto fail;
    }
    if (q->where && (rc = mp_sql_compile(q->where, &p->sc, &p->where, e)))
        goto fail;
    if (p->where && mp_sql_cexpr_type(p->where)->kind != MP_TYPE_BOOLEAN &&
        mp_sql_cexpr_type(p->where)->kind != MP_TYPE_NULL) {
        rc = mp_error_set(e, MP_EINVAL, "line %u:%u: WHERE needs a BOOLEAN condition, got %s",
                          q->where->pos.line, q->where->pos.col,
                          mp_type_kind_name(mp_sql_cexpr_type(p->where)->kind));
        goto fail;
    }
    for (size_t i = 0; i < q->nitems; i++) {
        const mp_sql_select_item *it = &q->items[i];
        if (p->grouped && it->kind != MP_SQL_ITEM_EXPR) {
            rc = mp_error_set(e, MP_EINVAL, "line %u:%u: SELECT * cannot be used with GROUP BY",
                              it->pos.line, it->pos.col);
            goto fail;
        }
        if (it->kind == MP_SQL_ITEM_ALL || it->kind == MP_SQL_ITEM_SOURCE_ALL) {
            if (it->kind == MP_SQL_ITEM_SOURCE_ALL && strcmp(it->source, qual) &&
                strcmp(it->source, src->name)) {
                rc = mp_error_set(e, MP_EINVAL, "line %u:%u: unknown source '%s'", it->pos.line,
                                  it->pos.col, it->source);
                goto fail;
            }
            for (size_t c = 0; c < src->schema->ncols; c++) {
                mp_sql_expr *ref = mp_sql_expr_column(NULL, src->schema->cols[c].name);
                mp_sql_cexpr *ce = NULL;
                if (!ref) {
                    rc = mp_error_set(e, MP_ENOMEM, "out of memory");
                    goto fail;
                }
                rc = mp_sql_compile(ref, &p->sc, &ce, e);
                mp_sql_expr_free(ref);
                if (rc || (rc = add_out(p, ce, src->schema->cols[c].name,
                                        src->schema->cols[c].ns == MP_COL_KEY, e)))
                    goto fail;
            }
            continue;
        }
        if (it->kind != MP_SQL_ITEM_EXPR) {
            rc = mp_error_set(e, MP_EINVAL, "line %u:%u: this select item is not supported yet",
                              it->pos.line, it->pos.col);
            goto fail;
        }
        mp_sql_cexpr *ce = NULL;
        int is_key = 0;
        if (p->grouped) {
            /* ksqlDB: every selected column is a grouping expression or
             * sits inside an aggregate; the grouping expressions are the
             * result's key. */
            for (size_t g = 0; g < q->ngroup_by && !is_key; g++)
                is_key = mp_sql_expr_equal(it->expr, q->group_by[g]);
            int window_col = p->windowed && it->expr->kind == MP_SQL_EXPR_COLUMN &&
                             (!strcmp(it->expr->name, "WINDOWSTART") ||
                              !strcmp(it->expr->name, "WINDOWEND"));
            if (!is_key && !window_col && !has_aggregate(en, it->expr)) {
                rc = mp_error_set(e, MP_EINVAL, "line %u:%u: this column is neither grouped by nor "
                                  "inside an aggregate function; add it to GROUP BY or aggregate it",
                                  it->expr->pos.line, it->expr->pos.col);
                goto fail;
            }
        }
        if ((rc = mp_sql_compile(it->expr, item_sc, &ce, e)))
            goto fail;
        char name[256];
        item_name(it, i, name, sizeof name);
        if (!p->grouped && it->expr->kind == MP_SQL_EXPR_COLUMN) {
            int ci = mp_schema_find(src->schema, it->expr->name);
            is_key = ci >= 0 && src->schema->cols[ci].ns == MP_COL_KEY;
        }
        if ((rc = add_out(p, ce, name, is_key, e)))
            goto fail;
    }
    if (p->grouped) {
        size_t nkeys = 0;
        for (size_t i = 0; i < p->nout; i++)
            nkeys += p->is_key[i];
        if (nkeys != p->ngroup) {
            rc = mp_error_set(e, MP_EINVAL, "line %u:%u: the grouping expressions must all be in the "
                              "SELECT list (they are the result's key)", q->pos.line, q->pos.col);
            goto fail;
        }
    }
    return 0;
fail:
    mp_splan_free(p);
    return rc;
}

size_t mp_splan_windows(const mp_splan *p, int64_t ts, int64_t *starts, size_t max)
{
    /* The latest window start at or before ts, floored (ts may be negative). */
    int64_t a = p->win_advance;
    int64_t last = ts >= 0 ? ts - ts % a : ts - ((ts % a) + a) % a;
    size_t n = 0;
    for (int64_t s = last; s > ts - p->win_size && n < max; s -= a)
        n++;
    for (size_t i = 0; i < n; i++)
        starts[i] = last - (int64_t)(n - 1 - i) * a;
    return n;
}

int mp_splan_schema(const mp_splan *p, mp_schema **out, mp_error *e)
{
    mp_schema *s = mp_schema_create();
    if (!s)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    int rc = 0;
    /* Keys first, as ksqlDB lists them. */
    for (int pass = 0; pass < 2 && !rc; pass++)
        for (size_t i = 0; i < p->nout && !rc; i++) {
            if (p->is_key[i] != (pass == 0))
                continue;
            mp_type *t = mp_type_clone(mp_sql_cexpr_type(p->proj[i]));
            if (!t) {
                rc = mp_error_set(e, MP_ENOMEM, "out of memory");
                break;
            }
            if (t->kind == MP_TYPE_NULL) {
                mp_type_free(t);
                rc = mp_error_set(e, MP_EINVAL, "column '%s' is a bare NULL; CAST it to a type",
                                  p->names[i]);
                break;
            }
            rc = mp_schema_add(s, p->names[i], t, p->is_key[i] ? MP_COL_KEY : MP_COL_VALUE, e);
        }
    if (rc) {
        mp_schema_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

int mp_row_decode(const mp_source *s, const mp_record *r, int32_t partition, mp_arena *a,
                  mp_value *row, mp_error *e)
{
    row[MP_ROW_ROWTIME] = mp_v_bigint(r->timestamp);
    row[MP_ROW_ROWPARTITION] = mp_v_int(partition);
    row[MP_ROW_ROWOFFSET] = mp_v_bigint(r->offset);
    mp_value *cols = row + MP_ROW_PSEUDO;
    for (size_t i = 0; i < s->schema->ncols; i++)
        cols[i] = mp_v_null_of(s->schema->cols[i].type);
    int rc;
    if (s->key_codec && mp_codec_ncols(s->key_codec)) {
        rc = mp_codec_decode(s->key_codec, r->key, r->key_len < 0 ? 0 : (size_t)r->key_len, a, cols, e);
        if (r->key_len < 0 && rc == 0)
            rc = MP_CODEC_NULL;
        if (rc < 0) {
            mp_error_prefix(e, "key");
            return rc;
        }
    }
    if (s->value_codec) {
        if (r->value_len < 0)
            return mp_error_set(e, MP_EINPUT, "value is null (a tombstone) in a stream");
        rc = mp_codec_decode(s->value_codec, r->value, (size_t)r->value_len, a, cols, e);
        if (rc < 0) {
            mp_error_prefix(e, "value");
            return rc;
        }
    }
    if (s->timestamp_col) {
        int ci = mp_schema_find(s->schema, s->timestamp_col);
        if (ci >= 0 && !cols[ci].null &&
            (cols[ci].kind == MP_TYPE_BIGINT || cols[ci].kind == MP_TYPE_TIMESTAMP))
            row[MP_ROW_ROWTIME] = mp_v_bigint(cols[ci].u.i64);
    }
    return 0;
}
