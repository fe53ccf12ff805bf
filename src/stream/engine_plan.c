/* Planning a SELECT over one stream (filter and projection), and turning
 * records into rows. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "stream/engine_internal.h"

static const char *const pseudo_names[MP_ROW_PSEUDO] = {"ROWTIME", "ROWPARTITION", "ROWOFFSET"};

void mp_splan_free(mp_splan *p)
{
    if (!p)
        return;
    free(p->scope);
    free(p->lqual);
    free(p->rqual);
    for (size_t k = 0; k < p->nsteps; k++)
        free(p->steps[k].qual);
    free(p->steps);
    free(p->jkeys);
    mp_sql_cexpr_free(p->where);
    for (size_t i = 0; i < p->ngroup; i++)
        mp_sql_cexpr_free(p->group[i]);
    free(p->group);
    mp_sql_cexpr_free(p->having);
    mp_sql_aggs_free(&p->aggs);
    mp_sql_tfns_free(&p->tfns);
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

/* The first table-function call in e, or NULL. */
static const mp_sql_expr *find_tfn(const mp_engine *en, const mp_sql_expr *e)
{
    if (!e)
        return NULL;
    if (e->kind == MP_SQL_EXPR_CALL) {
        const mp_fn_def *d = mp_fn_lookup(en->fns, e->name);
        if (d && d->kind == MP_FN_TABLE)
            return e;
    }
    const mp_sql_expr *hit;
    if ((hit = find_tfn(en, e->a)) || (hit = find_tfn(en, e->b)) || (hit = find_tfn(en, e->c)))
        return hit;
    for (size_t i = 0; i < e->n; i++)
        if ((hit = find_tfn(en, e->items[i])))
            return hit;
    return NULL;
}

/* ksqlDB refuses table functions together with aggregation (GROUP BY, or
 * an aggregate call in the select list). */
static int check_tfn_aggregation(const mp_engine *en, const mp_sql_query *q, mp_error *e)
{
    const mp_sql_expr *tf = NULL;
    int agg = q->has_group_by;
    for (size_t i = 0; i < q->nitems; i++) {
        if (q->items[i].kind != MP_SQL_ITEM_EXPR)
            continue;
        if (!tf)
            tf = find_tfn(en, q->items[i].expr);
        agg |= has_aggregate(en, q->items[i].expr);
    }
    if (tf && agg)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: Table functions cannot be used with "
                            "aggregations.", tf->pos.line, tf->pos.col);
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


/* ---- joins ---- */

static const char *join_words(mp_sql_join_type t)
{
    switch (t) {
    case MP_SQL_JOIN_LEFT:
        return "LEFT [OUTER] JOIN";
    case MP_SQL_JOIN_RIGHT:
        return "RIGHT [OUTER] JOIN";
    case MP_SQL_JOIN_FULL:
        return "[FULL] OUTER JOIN";
    default:
        return "[INNER] JOIN";
    }
}

/* The source a slot of the joined scope belongs to: 0 left, 1 right,
 * 2 + k step k of a multi-way join, -1 none (pseudo columns, ROWKEY). */
static int slot_side(const mp_splan *p, size_t slot)
{
    for (size_t k = p->nsteps; k-- > 0;)
        if (slot >= p->steps[k].base)
            return 2 + (int)k;
    if (slot >= p->rbase)
        return 1;
    if (slot >= p->lbase)
        return 0;
    return -1;
}

static const mp_source *side_source(const mp_splan *p, int side)
{
    return side == 0 ? p->src : side == 1 ? p->rsrc : p->steps[side - 2].src;
}

static const char *side_qual(const mp_splan *p, int side)
{
    return side == 0 ? p->lqual : side == 1 ? p->rqual : p->steps[side - 2].qual;
}

static size_t side_base(const mp_splan *p, int side)
{
    return side == 0 ? p->lbase : side == 1 ? p->rbase : p->steps[side - 2].base;
}

/* The scope slot a column reference names, or a bind error. */
static int column_slot(const mp_splan *p, const mp_sql_expr *x, size_t *slot, mp_error *e)
{
    size_t hit = SIZE_MAX, n = 0;
    for (size_t i = 0; i < p->nscope; i++) {
        const mp_sql_scope_col *c = &p->scope[i];
        if (strcmp(c->name, x->name) ||
            (x->qualifier && (!c->source || strcmp(c->source, x->qualifier))))
            continue;
        if (n++ == 0)
            hit = i;
    }
    if (n == 1) {
        *slot = hit;
        return 0;
    }
    /* Let the binder say why (unknown, ambiguous, unknown alias). */
    mp_sql_cexpr *ce = NULL;
    int rc = mp_sql_compile(x, &p->sc, &ce, e);
    mp_sql_cexpr_free(ce);
    return rc ? rc : mp_error_set(e, MP_EINVAL, "line %u:%u: cannot resolve join column", x->pos.line,
                                  x->pos.col);
}

/* "L.A = R.B" with source names, as ksqlDB words join conditions. */
static void condition_text(const mp_source *l, size_t lcol, const mp_source *r, size_t rcol,
                           char *buf, size_t n)
{
    snprintf(buf, n, "%s.%s = %s.%s", l->name, l->schema->cols[lcol].name, r->name,
             r->schema->cols[rcol].name);
}

static int only_key(const mp_source *s, size_t col)
{
    return s->schema->cols[col].ns == MP_COL_KEY && mp_schema_count(s->schema, MP_COL_KEY) == 1;
}

static int dur_ms(mp_sql_duration d, int64_t *ms, const mp_sql_join *j, mp_error *e)
{
    if (mp_sql_duration_ms(d, ms))
        return mp_error_set(e, MP_EINVAL, "line %u:%u: WITHIN duration out of range",
                            j->source.pos.line, j->source.pos.col);
    return 0;
}

/* The two column slots an ON condition compares (one equality of two
 * columns: ksqlDB's restriction here). */
static int on_slots(const mp_splan *p, const mp_sql_expr *on, size_t slots[2], mp_error *e)
{
    int rc;
    if (on->kind != MP_SQL_EXPR_BINARY || on->op < MP_SQL_OP_EQ || on->op > MP_SQL_OP_GE) {
        mp_buf b = {0};
        mp_sql_expr_print(on, 0, &b);
        rc = mp_error_set(e, MP_EINVAL, "line %u:%u: Unsupported join expression: %s", on->pos.line,
                          on->pos.col, b.data ? b.data : "?");
        mp_buf_free(&b);
        return rc;
    }
    if (on->op != MP_SQL_OP_EQ)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: Only equality join criteria is supported.",
                            on->pos.line, on->pos.col);
    const mp_sql_expr *sides[2] = {on->a, on->b};
    for (int k = 0; k < 2; k++) {
        if (sides[k]->kind != MP_SQL_EXPR_COLUMN)
            return mp_error_set(e, MP_EINVAL, "line %u:%u: joining on an expression is not supported "
                                "yet; join on a column of each source", sides[k]->pos.line,
                                sides[k]->pos.col);
        if ((rc = column_slot(p, sides[k], &slots[k], e)))
            return rc;
    }
    return 0;
}

static int types_match(const mp_splan *p, const mp_sql_expr *on, size_t ls, size_t rs, mp_error *e)
{
    const mp_type *lt = p->scope[ls].type, *rt = p->scope[rs].type;
    if (mp_type_equal(lt, rt))
        return 0;
    mp_buf a = {0}, b = {0};
    mp_type_print(lt, &a);
    mp_type_print(rt, &b);
    int rc = mp_error_set(e, MP_EINVAL, "line %u:%u: Invalid join condition: types don't match. "
                          "Got %s.%s{%s} = %s.%s{%s}.", on->pos.line, on->pos.col, p->scope[ls].source,
                          p->scope[ls].name, a.data ? a.data : "?", p->scope[rs].source,
                          p->scope[rs].name, b.data ? b.data : "?");
    mp_buf_free(&a);
    mp_buf_free(&b);
    return rc;
}

/* Both inputs are read by one task here, but ksqlDB's rule stands so that
 * statements move between the two unchanged. */
static int copartitioned(const mp_source *l, const char *lq, const mp_source *r, const char *rq,
                         const mp_sql_join *j, mp_error *e)
{
    if (l->partitions == r->partitions)
        return 0;
    return mp_error_set(e, MP_EINVAL, "line %u:%u: Can't join `%s` with `%s` since the number of "
                        "partitions don't match. `%s` partitions = %d; `%s` partitions = %d. Please "
                        "repartition either one so that the number of partitions match.",
                        j->source.pos.line, j->source.pos.col, lq, rq, lq, (int)l->partitions, rq,
                        (int)r->partitions);
}

static int add_key_candidate(mp_splan *p, size_t slot)
{
    for (size_t i = 0; i < p->njkeys; i++)
        if (p->jkeys[i] == slot)
            return 0;
    size_t *k = realloc(p->jkeys, (p->njkeys + 1) * sizeof *k);
    if (!k)
        return MP_ENOMEM;
    p->jkeys = k;
    p->jkeys[p->njkeys++] = slot;
    return 0;
}

/* Step k of a multi-way join: its ON condition, ksqlDB's checks, and the
 * result's viable key columns. */
static int plan_step(mp_splan *p, const mp_sql_join *j, size_t k, mp_error *e)
{
    mp_join_step *st = &p->steps[k];
    int me = 2 + (int)k, rc;
    size_t slots[2];
    if ((rc = on_slots(p, j->on, slots, e)))
        return rc;
    int s0 = slot_side(p, slots[0]), s1 = slot_side(p, slots[1]);
    const mp_sql_expr *on = j->on;
    if (s0 < 0 || s1 < 0 || s0 == s1)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: Each side of the join must reference exactly "
                            "one source and not the same source. Left side references `%s` and right "
                            "references `%s`", on->pos.line, on->pos.col,
                            s0 < 0 ? "?" : side_qual(p, s0), s1 < 0 ? "?" : side_qual(p, s1));
    if (s0 != me && s1 != me)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: A join criteria is expected to reference the "
                            "source (`%s`) in the FROM clause, instead the right source references "
                            "`%s` and the left source references `%s`", on->pos.line, on->pos.col,
                            st->qual, side_qual(p, s1), side_qual(p, s0));
    int other = s0 == me ? s1 : s0;
    size_t lslot = s0 == me ? slots[1] : slots[0], rslot = s0 == me ? slots[0] : slots[1];
    if (other > me)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: Cannot build JOIN tree; neither source in the "
                            "join is the FROM source or included in a previous JOIN: %s is joined "
                            "after %s", on->pos.line, on->pos.col, side_qual(p, other), st->qual);
    const mp_source *ls = side_source(p, other);
    const char *lq = side_qual(p, other);
    st->lslot = lslot;
    st->rcol = rslot - st->base;
    char cond[512];
    condition_text(ls, lslot - side_base(p, other), st->src, st->rcol, cond, sizeof cond);
    int stream_result = p->jkind != MP_JOIN_TABLE_TABLE;
    if (st->src->kind == MP_SRC_STREAM) {
        if (!stream_result)
            return mp_error_set(e, MP_EINVAL, "line %u:%u: Invalid join order: table-stream joins are "
                                "not supported; only stream-table joins. Got %s %s %s.",
                                j->source.pos.line, j->source.pos.col, lq, join_words(j->type), st->qual);
        return mp_error_set(e, MP_EINVAL, "line %u:%u: joining a third stream is not supported yet: "
                            "after a stream-stream or stream-table join, join tables",
                            j->source.pos.line, j->source.pos.col);
    }
    if (j->has_within)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: A window definition was provided for a %s "
                            "join. These joins are not windowed. Please drop the window definition "
                            "(ie, the WITHIN clause) and try to execute your join again.",
                            j->source.pos.line, j->source.pos.col,
                            stream_result ? "Stream-Table" : "Table-Table");
    if (stream_result && (j->type == MP_SQL_JOIN_FULL || j->type == MP_SQL_JOIN_RIGHT))
        return mp_error_set(e, MP_EINVAL, "line %u:%u: Invalid join type: %s join not supported for "
                            "stream-table join. Got %s %s %s.", j->source.pos.line, j->source.pos.col,
                            j->type == MP_SQL_JOIN_FULL ? "full-outer" : "right-outer", lq,
                            join_words(j->type), st->qual);
    if (!stream_result && j->type == MP_SQL_JOIN_FULL)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: FULL OUTER JOIN after the first join of "
                            "tables is not supported yet", j->source.pos.line, j->source.pos.col);
    if (stream_result && !only_key(st->src, st->rcol))
        return mp_error_set(e, MP_EINVAL, "line %u:%u: Invalid join condition: stream-table joins "
                            "require to join on the table's primary key. Got %s.", on->pos.line,
                            on->pos.col, cond);
    if (!stream_result && !only_key(st->src, st->rcol))
        return mp_error_set(e, MP_EINVAL, "line %u:%u: Invalid join condition: table-table joins "
                            "require to join on the primary key of the right input table. Got %s.",
                            on->pos.line, on->pos.col, cond);
    if (!stream_result && !only_key(ls, lslot - side_base(p, other)))
        return mp_error_set(e, MP_EINVAL, "line %u:%u: Invalid join condition: foreign-key "
                            "table-table joins are not supported as part of n-way joins. Got %s.",
                            on->pos.line, on->pos.col, cond);
    if ((rc = types_match(p, on, lslot, rslot, e)) ||
        (rc = copartitioned(ls, lq, st->src, st->qual, j, e)))
        return rc;
    /* The result is keyed by the join expression: when it is one the
     * result was already keyed by, every one of them stays viable; else
     * (a repartition in ksqlDB) only this join's two. */
    int same = 0;
    for (size_t i = 0; i < p->njkeys; i++)
        same |= p->jkeys[i] == lslot;
    st->rekey = !same;
    if (!same)
        p->njkeys = 0;
    if (add_key_candidate(p, lslot) || add_key_candidate(p, rslot))
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    return 0;
}

/* Checks the sources and the ON conditions of a join and builds its scope. */
static int plan_join(mp_engine *en, const mp_sql_query *q, mp_splan *p, mp_error *e)
{
    const mp_sql_join *j = &q->joins[0];
    if (q->has_group_by || q->window)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: GROUP BY over a join is not supported yet; "
                            "write the join into a stream with CREATE STREAM AS SELECT and aggregate "
                            "that", q->pos.line, q->pos.col);
    mp_source *l = mp_catalog_find(&en->cat, q->from.name);
    if (!l)
        return mp_error_set(e, MP_ENOTFOUND, "line %u:%u: %s does not exist", q->from.pos.line,
                            q->from.pos.col, q->from.name);
    mp_source *r = mp_catalog_find(&en->cat, j->source.name);
    if (!r)
        return mp_error_set(e, MP_ENOTFOUND, "line %u:%u: %s does not exist", j->source.pos.line,
                            j->source.pos.col, j->source.name);
    const char *lq = q->from.alias ? q->from.alias : l->name;
    const char *rq = j->source.alias ? j->source.alias : r->name;
    if (l == r)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: joining %s with itself is not supported yet",
                            j->source.pos.line, j->source.pos.col, l->name);
    if (!strcmp(lq, rq))
        return mp_error_set(e, MP_EINVAL, "line %u:%u: both sides of the join are called %s; give "
                            "one an alias", j->source.pos.line, j->source.pos.col, lq);
    if (mp_source_windowed(l) || mp_source_windowed(r))
        return mp_error_set(e, MP_EINVAL, "line %u:%u: joining the windowed table %s is not supported "
                            "yet", q->from.pos.line, q->from.pos.col,
                            mp_source_windowed(l) ? l->name : r->name);
    int ls = l->kind == MP_SRC_STREAM, rs = r->kind == MP_SRC_STREAM;
    if (!ls && rs)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: Invalid join order: table-stream joins are not "
                            "supported; only stream-table joins. Got %s %s %s.", q->from.pos.line,
                            q->from.pos.col, lq, join_words(j->type), rq);
    p->jkind = ls && rs ? MP_JOIN_STREAM_STREAM : ls ? MP_JOIN_STREAM_TABLE : MP_JOIN_TABLE_TABLE;
    if (p->jkind == MP_JOIN_STREAM_TABLE &&
        (j->type == MP_SQL_JOIN_FULL || j->type == MP_SQL_JOIN_RIGHT))
        return mp_error_set(e, MP_EINVAL, "line %u:%u: Invalid join type: %s join not supported for "
                            "stream-table join. Got %s %s %s.", j->source.pos.line, j->source.pos.col,
                            j->type == MP_SQL_JOIN_FULL ? "full-outer" : "right-outer", lq,
                            join_words(j->type), rq);
    if (p->jkind == MP_JOIN_STREAM_STREAM && !j->has_within)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: Stream-Stream joins must have a WITHIN clause "
                            "specified. None was provided.", j->source.pos.line, j->source.pos.col);
    if (p->jkind != MP_JOIN_STREAM_STREAM && j->has_within)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: A window definition was provided for a %s "
                            "join. These joins are not windowed. Please drop the window definition "
                            "(ie, the WITHIN clause) and try to execute your join again.",
                            j->source.pos.line, j->source.pos.col,
                            p->jkind == MP_JOIN_STREAM_TABLE ? "Stream-Table" : "Table-Table");
    if (p->jkind == MP_JOIN_TABLE_TABLE && j->type == MP_SQL_JOIN_FULL && q->njoins > 1)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: FULL OUTER JOIN of tables followed by more "
                            "joins is not supported yet", j->source.pos.line, j->source.pos.col);
    int rc;
    if (j->has_within) {
        if ((rc = dur_ms(j->before, &p->within_before, j, e)) ||
            (rc = dur_ms(j->after, &p->within_after, j, e)))
            return rc;
        p->join_grace = 24LL * 3600 * 1000; /* ksqlDB's default */
        if (j->has_grace && (rc = dur_ms(j->grace, &p->join_grace, j, e)))
            return rc;
        p->has_grace = j->has_grace;
    }
    p->joined = 1;
    p->jtype = j->type;
    p->src = l;
    p->rsrc = r;
    if (!(p->lqual = strdup(lq)) || !(p->rqual = strdup(rq)))
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    p->has_rowkey = j->type == MP_SQL_JOIN_FULL;
    p->lbase = MP_ROW_PSEUDO + (p->has_rowkey ? 1 : 0);
    p->rbase = p->lbase + l->schema->ncols;
    p->nscope = p->rbase + r->schema->ncols;
    /* The further sources of a multi-way join: tables after the first
     * two, each once. */
    if (q->njoins > 1) {
        p->nsteps = q->njoins - 1;
        if (!(p->steps = calloc(p->nsteps, sizeof *p->steps)))
            return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    for (size_t k = 0; k < p->nsteps; k++) {
        const mp_sql_join *jk = &q->joins[k + 1];
        mp_join_step *st = &p->steps[k];
        st->jtype = jk->type;
        if (!(st->src = mp_catalog_find(&en->cat, jk->source.name)))
            return mp_error_set(e, MP_ENOTFOUND, "line %u:%u: %s does not exist", jk->source.pos.line,
                                jk->source.pos.col, jk->source.name);
        if (!(st->qual = strdup(jk->source.alias ? jk->source.alias : st->src->name)))
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        int dup = st->src == l || st->src == r || !strcmp(st->qual, lq) || !strcmp(st->qual, rq);
        for (size_t i = 0; i < k; i++)
            dup |= st->src == p->steps[i].src || !strcmp(st->qual, p->steps[i].qual);
        if (dup)
            return mp_error_set(e, MP_EINVAL, "line %u:%u: N-way joins do not support multiple "
                                "occurrences of the same source. Source: '%s'", jk->source.pos.line,
                                jk->source.pos.col, st->qual);
        if (mp_source_windowed(st->src))
            return mp_error_set(e, MP_EINVAL, "line %u:%u: joining the windowed table %s is not "
                                "supported yet", jk->source.pos.line, jk->source.pos.col,
                                st->src->name);
        st->base = p->nscope;
        p->nscope += st->src->schema->ncols;
    }
    p->scope = calloc(p->nscope, sizeof *p->scope);
    if (!p->scope)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    for (size_t i = 0; i < MP_ROW_PSEUDO; i++)
        p->scope[i] = (mp_sql_scope_col){pseudo_names[i], NULL, en->pseudo_types[i]};
    if (p->has_rowkey) /* its type is the join columns', known below */
        p->scope[MP_ROW_PSEUDO] = (mp_sql_scope_col){"ROWKEY", NULL, en->pseudo_types[0]};
    for (int s = 0; s < 2 + (int)p->nsteps; s++) {
        const mp_source *src = side_source(p, s);
        for (size_t i = 0; i < src->schema->ncols; i++)
            p->scope[side_base(p, s) + i] = (mp_sql_scope_col){src->schema->cols[i].name,
                                                                 side_qual(p, s),
                                                                 src->schema->cols[i].type};
    }
    p->sc = (mp_sql_scope){.ncols = p->nscope, .cols = p->scope, .fns = en->fns};
    /* ON: one equality of a column of each side (ksqlDB's restriction). */
    const mp_sql_expr *on = j->on;
    size_t slots[2];
    if ((rc = on_slots(p, on, slots, e)))
        return rc;
    int s0 = slot_side(p, slots[0]), s1 = slot_side(p, slots[1]);
    if (s0 < 0 || s1 < 0 || s0 == s1 || s0 > 1 || s1 > 1)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: Invalid join condition: each side of = must "
                            "be a column of a different source (%s or %s)", on->pos.line, on->pos.col,
                            lq, rq);
    size_t ls_slot = s0 == 0 ? slots[0] : slots[1], rs_slot = s0 == 0 ? slots[1] : slots[0];
    p->lcol = ls_slot - p->lbase;
    p->rcol = rs_slot - p->rbase;
    char cond[512];
    condition_text(p->src, p->lcol, p->rsrc, p->rcol, cond, sizeof cond);
    if (p->jkind == MP_JOIN_STREAM_TABLE && !only_key(r, p->rcol))
        return mp_error_set(e, MP_EINVAL, "line %u:%u: Invalid join condition: stream-table joins "
                            "require to join on the table's primary key. Got %s.", on->pos.line,
                            on->pos.col, cond);
    if (p->jkind == MP_JOIN_TABLE_TABLE && !only_key(r, p->rcol))
        return mp_error_set(e, MP_EINVAL, "line %u:%u: Invalid join condition: table-table joins "
                            "require to join on the primary key of the right input table. Got %s.",
                            on->pos.line, on->pos.col, cond);
    if (p->jkind == MP_JOIN_TABLE_TABLE && !only_key(l, p->lcol))
        return mp_error_set(e, MP_EINVAL, "line %u:%u: foreign-key table-table joins are not "
                            "supported yet: join on the primary keys of both tables. Got %s.",
                            on->pos.line, on->pos.col, cond);
    if ((rc = types_match(p, on, ls_slot, rs_slot, e)))
        return rc;
    if (p->has_rowkey)
        p->scope[MP_ROW_PSEUDO] = (mp_sql_scope_col){"ROWKEY", NULL, l->schema->cols[p->lcol].type};
    if ((rc = copartitioned(l, lq, r, rq, j, e)))
        return rc;
    /* The viable key columns: ROWKEY for FULL OUTER, else either join
     * column (RIGHT prefers the right one, which is never NULL). */
    int bad = p->has_rowkey ? add_key_candidate(p, MP_ROW_PSEUDO)
              : p->jtype == MP_SQL_JOIN_RIGHT && !p->nsteps
                      ? add_key_candidate(p, rs_slot) || add_key_candidate(p, ls_slot)
                      : add_key_candidate(p, ls_slot) || add_key_candidate(p, rs_slot);
    if (bad)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    for (size_t k = 0; k < p->nsteps; k++)
        if ((rc = plan_step(p, &q->joins[k + 1], k, e)))
            return rc;
    return 0;
}

/* True when column name c is a column of more than one join source. */
static int in_both(const mp_splan *p, const char *c)
{
    int n = 0;
    for (int s = 0; s < 2 + (int)p->nsteps; s++)
        n += mp_schema_find(side_source(p, s)->schema, c) >= 0;
    return n > 1;
}

/* The synthetic ROWKEY is the key of a two-way FULL OUTER join only; a
 * later join keys the result by its own join column. */
static int rowkey_is_key(const mp_splan *p) { return p->has_rowkey && !p->nsteps; }

/* Adds the columns of one source (or all, side < 0) as QUAL_COL, as
 * ksqlDB names the columns of SELECT * over a join. */
static int add_join_star(mp_splan *p, int side, mp_error *e)
{
    char name[512];
    int rc;
    if (side < 0 && rowkey_is_key(p)) {
        mp_sql_expr *ref = mp_sql_expr_column(NULL, "ROWKEY");
        mp_sql_cexpr *ce = NULL;
        if (!ref)
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        rc = mp_sql_compile(ref, &p->sc, &ce, e);
        mp_sql_expr_free(ref);
        if (rc || (rc = add_out(p, ce, "ROWKEY", 0, e)))
            return rc;
    }
    for (int s = 0; s < 2 + (int)p->nsteps; s++) {
        if (side >= 0 && side != s)
            continue;
        const mp_source *src = side_source(p, s);
        const char *qual = side_qual(p, s);
        for (size_t c = 0; c < src->schema->ncols; c++) {
            mp_sql_expr *ref = mp_sql_expr_column(qual, src->schema->cols[c].name);
            mp_sql_cexpr *ce = NULL;
            if (!ref)
                return mp_error_set(e, MP_ENOMEM, "out of memory");
            rc = mp_sql_compile(ref, &p->sc, &ce, e);
            mp_sql_expr_free(ref);
            snprintf(name, sizeof name, "%s_%s", qual, src->schema->cols[c].name);
            if (rc || (rc = add_out(p, ce, name, 0, e)))
                return rc;
        }
    }
    return 0;
}

/* The result's key: the first viable key column (jkeys) that is selected
 * as a plain column (ksqlDB's choice). The slot of each output column
 * that is a plain column is in colslot (SIZE_MAX for others). */
static void mark_join_key(mp_splan *p, const size_t *colslot)
{
    for (size_t w = 0; w < p->njkeys; w++)
        for (size_t i = 0; i < p->nout; i++)
            if (colslot[i] == p->jkeys[w]) {
                p->is_key[i] = 1;
                return;
            }
}

int mp_splan_join_key_check(const mp_splan *p, const char *sink, mp_error *e)
{
    if (!p->joined)
        return 0;
    for (size_t i = 0; i < p->nout; i++)
        if (p->is_key[i])
            return 0;
    if (p->njkeys == 1 && p->jkeys[0] == MP_ROW_PSEUDO)
        return mp_error_set(e, MP_EINVAL, "Key missing from projection (ie, SELECT). The query used "
                            "to build `%s` must include the join expression ROWKEY in its projection "
                            "(eg, SELECT ROWKEY...). ROWKEY was added as a synthetic key column because "
                            "the join criteria did not match any source column. This expression must "
                            "be included in the projection and may be aliased.", sink);
    /* Named in source order: "A.X, B.Y or C.Z". */
    size_t order[64], n = p->njkeys < 64 ? p->njkeys : 64;
    for (size_t i = 0; i < n; i++) {
        size_t k = i;
        while (k > 0 && order[k - 1] > p->jkeys[i]) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = p->jkeys[i];
    }
    mp_buf names = {0};
    for (size_t i = 0; i < n; i++) {
        const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
        mp_buf_printf(&names, "%s%s.%s", sep, p->scope[order[i]].source, p->scope[order[i]].name);
    }
    int rc = mp_error_set(e, MP_EINVAL, "The query used to build `%s` must include the join "
                          "expression%s %s in its projection (eg, SELECT %s.%s...).", sink,
                          n > 1 ? "s" : "", names.data ? names.data : "?",
                          n ? p->scope[order[0]].source : "?", n ? p->scope[order[0]].name : "?");
    mp_buf_free(&names);
    return rc;
}

int mp_splan_table_key_check(const mp_splan *p, const char *sink, mp_error *e)
{
    if (p->partitioned) {
        size_t nkeys = 0;
        for (size_t i = 0; i < p->nout; i++)
            nkeys += p->is_key[i];
        if (nkeys == 1)
            return 0;
        return mp_error_set(e, MP_EINVAL, nkeys ? "The partitioning expression is selected more than "
                            "once in the query used to build `%s`; select it once (it is the key)."
                            : "Key missing from projection (ie, SELECT). The query used to build `%s` "
                              "must include the partitioning expression in its projection (eg, "
                              "SELECT <the PARTITION BY expression>...).", sink);
    }
    if (p->joined || p->grouped || p->src->kind != MP_SRC_TABLE)
        return 0;
    size_t nkeys = 0, want = mp_schema_count(p->src->schema, MP_COL_KEY);
    for (size_t i = 0; i < p->nout; i++)
        nkeys += p->is_key[i];
    if (nkeys >= want)
        return 0;
    mp_buf names = {0};
    const char *first = NULL;
    for (size_t i = 0; i < p->src->schema->ncols; i++)
        if (p->src->schema->cols[i].ns == MP_COL_KEY) {
            mp_buf_printf(&names, "%s%s", names.len ? ", " : "", p->src->schema->cols[i].name);
            if (!first)
                first = p->src->schema->cols[i].name;
        }
    int rc = mp_error_set(e, MP_EINVAL, "Key missing from projection (ie, SELECT). The query used to "
                          "build `%s` must include the key column%s %s in its projection (eg, SELECT "
                          "%s...).", sink, want > 1 ? "s" : "", names.data ? names.data : "?",
                          first ? first : "?");
    mp_buf_free(&names);
    return rc;
}

/* The select list of a join. */
static int plan_join_items(mp_splan *p, const mp_sql_query *q, mp_error *e)
{
    size_t *colslot = calloc(q->nitems * 2 + p->nscope + 1, sizeof *colslot);
    if (!colslot)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    int rc = 0;
    mp_sql_scope isc = p->sc;
    p->tfns.first_slot = p->nscope;
    isc.tfns = &p->tfns;
    for (size_t i = 0; i < q->nitems && !rc; i++) {
        const mp_sql_select_item *it = &q->items[i];
        size_t before = p->nout;
        if (it->kind == MP_SQL_ITEM_ALL) {
            rc = add_join_star(p, -1, e);
        } else if (it->kind == MP_SQL_ITEM_SOURCE_ALL) {
            int side = -1;
            for (int s = 0; s < 2 + (int)p->nsteps && side < 0; s++)
                if (!strcmp(it->source, side_qual(p, s)))
                    side = s;
            if (side < 0)
                rc = mp_error_set(e, MP_EINVAL, "line %u:%u: unknown source '%s' (the join's sources "
                                  "are %s%s %s%s)", it->pos.line, it->pos.col, it->source, p->lqual,
                                  p->nsteps ? "," : " and", p->rqual, p->nsteps ? ", ..." : "");
            else
                rc = add_join_star(p, side, e);
        } else if (it->kind != MP_SQL_ITEM_EXPR) {
            rc = mp_error_set(e, MP_EINVAL, "line %u:%u: this select item is not supported yet",
                              it->pos.line, it->pos.col);
        } else {
            mp_sql_cexpr *ce = NULL;
            if ((rc = mp_sql_compile(it->expr, &isc, &ce, e)))
                break;
            if (p->tfns.n && p->jkind == MP_JOIN_TABLE_TABLE) {
                mp_sql_cexpr_free(ce);
                rc = mp_error_set(e, MP_EINVAL, "line %u:%u: Table functions are supported only "
                                  "on stream sources.", it->pos.line, it->pos.col);
                break;
            }
            char name[512];
            size_t slot = SIZE_MAX;
            if (it->expr->kind == MP_SQL_EXPR_COLUMN && column_slot(p, it->expr, &slot, NULL) == 0 &&
                !it->alias) {
                /* ksqlDB: a column both sources have is named QUAL_COL. */
                int side = slot_side(p, slot);
                if (side >= 0 && in_both(p, it->expr->name))
                    snprintf(name, sizeof name, "%s_%s", side_qual(p, side), it->expr->name);
                else
                    snprintf(name, sizeof name, "%s", it->expr->name);
            } else {
                if (it->expr->kind == MP_SQL_EXPR_COLUMN)
                    column_slot(p, it->expr, &slot, NULL);
                item_name(it, i, name, sizeof name);
            }
            if (!(rc = add_out(p, ce, name, 0, e)))
                colslot[p->nout - 1] = slot;
            continue;
        }
        /* Star items: each added column is the slot it reads. */
        for (size_t k = before; !rc && k < p->nout; k++) {
            size_t off = k - before;
            if (it->kind == MP_SQL_ITEM_ALL) {
                colslot[k] = rowkey_is_key(p) ? (off == 0 ? MP_ROW_PSEUDO : p->lbase + off - 1)
                                              : p->lbase + off;
            } else {
                for (int s = 0; s < 2 + (int)p->nsteps; s++)
                    if (!strcmp(it->source, side_qual(p, s))) {
                        colslot[k] = side_base(p, s) + off;
                        break;
                    }
            }
        }
    }
    if (!rc)
        mark_join_key(p, colslot);
    free(colslot);
    return rc;
}

int mp_splan_build(mp_engine *en, const mp_sql_query *q, mp_splan *p, mp_error *e)
{
    memset(p, 0, sizeof *p);
    p->limit = q->has_limit ? q->limit : -1;
    if (q->njoins) {
        int rc = check_tfn_aggregation(en, q, e);
        if (rc)
            return rc;
        rc = q->has_partition_by
                     ? mp_error_set(e, MP_EINVAL, "line %u:%u: PARTITION BY is not supported yet",
                                    q->pos.line, q->pos.col)
                     : plan_join(en, q, p, e);
        if (!rc && q->where && !(rc = mp_sql_compile(q->where, &p->sc, &p->where, e)) &&
            mp_sql_cexpr_type(p->where)->kind != MP_TYPE_BOOLEAN &&
            mp_sql_cexpr_type(p->where)->kind != MP_TYPE_NULL)
            rc = mp_error_set(e, MP_EINVAL, "line %u:%u: WHERE needs a BOOLEAN condition, got %s",
                              q->where->pos.line, q->where->pos.col,
                              mp_type_kind_name(mp_sql_cexpr_type(p->where)->kind));
        if (!rc)
            rc = plan_join_items(p, q, e);
        if (rc)
            mp_splan_free(p);
        return rc;
    }
    int trc = check_tfn_aggregation(en, q, e);
    if (trc)
        return trc;
    if (q->window && !q->has_group_by)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: WINDOW needs GROUP BY", q->pos.line, q->pos.col);
    if (q->window) {
        int rc = mp_splan_window(q, p, e);
        if (rc)
            return rc;
    }
    if (q->having && !q->has_group_by)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: HAVING needs GROUP BY", q->having->pos.line,
                            q->having->pos.col);
    if (q->has_group_by && !q->ngroup_by)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: GROUP BY () is not supported", q->pos.line,
                            q->pos.col);
    const mp_sql_expr *pby = q->has_partition_by && q->npartition_by ? q->partition_by[0] : NULL;
    if (q->has_partition_by && q->npartition_by != 1)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: PARTITION BY %s is not supported yet",
                            q->pos.line, q->pos.col, q->npartition_by ? "several expressions" : "()");
    if (pby && q->has_group_by)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: PARTITION BY and GROUP BY in the same query are "
                            "not supported; GROUP BY already keys the result", pby->pos.line,
                            pby->pos.col);
    mp_source *src = mp_catalog_find(&en->cat, q->from.name);
    if (!src)
        return mp_error_set(e, MP_ENOTFOUND, "line %u:%u: %s does not exist", q->from.pos.line,
                            q->from.pos.col, q->from.name);
    if (src->kind == MP_SRC_TABLE && q->window)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: Windowing not supported for table aggregations.",
                            q->from.pos.line, q->from.pos.col);
    if (pby && src->kind == MP_SRC_TABLE)
        return mp_error_set(e, MP_EINVAL, "line %u:%u: PARTITION BY is not supported on tables: %s is a "
                            "table, and a table's key cannot change (ksqlDB refuses it too)",
                            pby->pos.line, pby->pos.col, src->name);
    p->src = src;
    /* A windowed table's rows carry their window (unless a column of the
     * same name already holds it). */
    p->src_windowed = mp_source_windowed(src) && mp_schema_find(src->schema, "WINDOWSTART") < 0 &&
                      mp_schema_find(src->schema, "WINDOWEND") < 0;
    p->nscope = MP_ROW_PSEUDO + src->schema->ncols + (p->windowed || p->src_windowed ? 2 : 0);
    p->scope = calloc(p->nscope, sizeof *p->scope);
    if (!p->scope)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    const char *qual = q->from.alias ? q->from.alias : src->name;
    for (size_t i = 0; i < MP_ROW_PSEUDO; i++)
        p->scope[i] = (mp_sql_scope_col){pseudo_names[i], qual, en->pseudo_types[i]};
    for (size_t i = 0; i < src->schema->ncols; i++)
        p->scope[MP_ROW_PSEUDO + i] =
            (mp_sql_scope_col){src->schema->cols[i].name, qual, src->schema->cols[i].type};
    if (p->windowed || p->src_windowed) {
        p->ws_slot = MP_ROW_PSEUDO + src->schema->ncols;
        p->scope[p->ws_slot] = (mp_sql_scope_col){"WINDOWSTART", qual, en->pseudo_types[MP_ROW_ROWTIME]};
        p->scope[p->ws_slot + 1] = (mp_sql_scope_col){"WINDOWEND", qual, en->pseudo_types[MP_ROW_ROWTIME]};
    }
    p->sc = (mp_sql_scope){.ncols = p->nscope, .cols = p->scope, .fns = en->fns};
    int rc;
    mp_sql_scope tfn_sc = p->sc;
    p->tfns.first_slot = p->nscope;
    tfn_sc.tfns = &p->tfns;
    const mp_sql_scope *item_sc = &tfn_sc;
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
    /* PARTITION BY: the expression is the result's key, named as ksqlDB
     * names it: a column's or struct field's name, else KSQL_COL_0. */
    char pby_name[256] = "";
    if (pby) {
        mp_sql_cexpr *pc = NULL;
        if ((rc = mp_sql_compile(pby, &p->sc, &pc, e)))
            goto fail;
        int bare_null = mp_sql_cexpr_type(pc)->kind == MP_TYPE_NULL;
        mp_sql_cexpr_free(pc);
        if (bare_null) {
            rc = mp_error_set(e, MP_EINVAL, "line %u:%u: PARTITION BY NULL is not supported yet",
                              pby->pos.line, pby->pos.col);
            goto fail;
        }
        snprintf(pby_name, sizeof pby_name, "%s",
                 pby->kind == MP_SQL_EXPR_COLUMN || pby->kind == MP_SQL_EXPR_DEREF ? pby->name
                                                                                   : "KSQL_COL_0");
        p->partitioned = 1;
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
            if (pby) {
                /* ksqlDB: * is the new key, then every other column (the
                 * old key among the values). */
                mp_sql_cexpr *ce = NULL;
                if ((rc = mp_sql_compile(pby, &p->sc, &ce, e)) ||
                    (rc = add_out(p, ce, pby_name, 1, e)))
                    goto fail;
            }
            for (size_t c = 0; c < src->schema->ncols; c++) {
                if (pby && pby->kind == MP_SQL_EXPR_COLUMN &&
                    !strcmp(pby->name, src->schema->cols[c].name))
                    continue;
                mp_sql_expr *ref = mp_sql_expr_column(NULL, src->schema->cols[c].name);
                mp_sql_cexpr *ce = NULL;
                if (!ref) {
                    rc = mp_error_set(e, MP_ENOMEM, "out of memory");
                    goto fail;
                }
                rc = mp_sql_compile(ref, &p->sc, &ce, e);
                mp_sql_expr_free(ref);
                if (rc || (rc = add_out(p, ce, src->schema->cols[c].name,
                                        !pby && src->schema->cols[c].ns == MP_COL_KEY, e)))
                    goto fail;
                /* ksqlDB: a windowed table's * is its keys, the window
                 * bounds, then its values. */
                int last_key = src->schema->cols[c].ns == MP_COL_KEY &&
                               (c + 1 == src->schema->ncols || src->schema->cols[c + 1].ns != MP_COL_KEY);
                for (size_t w = 0; p->src_windowed && last_key && w < 2; w++) {
                    const char *wn = w ? "WINDOWEND" : "WINDOWSTART";
                    ref = mp_sql_expr_column(NULL, wn);
                    ce = NULL;
                    if (!ref) {
                        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
                        goto fail;
                    }
                    rc = mp_sql_compile(ref, &p->sc, &ce, e);
                    mp_sql_expr_free(ref);
                    if (rc || (rc = add_out(p, ce, wn, 0, e)))
                        goto fail;
                }
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
        if (pby) {
            is_key = mp_sql_expr_equal(it->expr, pby);
        } else if (!p->grouped && it->expr->kind == MP_SQL_EXPR_COLUMN) {
            int ci = mp_schema_find(src->schema, it->expr->name);
            is_key = ci >= 0 && src->schema->cols[ci].ns == MP_COL_KEY;
        }
        if ((rc = add_out(p, ce, name, is_key, e)))
            goto fail;
    }
    if (p->session) {
        for (size_t j = 0; j < p->aggs.n; j++) {
            const mp_sql_agg_call *c = &p->aggs.calls[j];
            if (c->impl.merge)
                continue;
            rc = mp_error_set(e, MP_EINVAL, "line %u:%u: %s cannot be used with SESSION windows: "
                              "it cannot merge the states of two sessions", c->call->pos.line,
                              c->call->pos.col, c->def->name);
            goto fail;
        }
    }
    if (p->grouped && src->kind == MP_SRC_TABLE && (rc = mp_splan_table_agg_check(p, e)))
        goto fail;
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

int mp_row_decode_key(const mp_source *s, const mp_record *r, int32_t partition, mp_arena *a,
                      mp_value *row, mp_error *e)
{
    row[MP_ROW_ROWTIME] = mp_v_bigint(r->timestamp);
    row[MP_ROW_ROWPARTITION] = mp_v_int(partition);
    row[MP_ROW_ROWOFFSET] = mp_v_bigint(r->offset);
    mp_value *cols = row + MP_ROW_PSEUDO;
    for (size_t i = 0; i < s->schema->ncols; i++)
        cols[i] = mp_v_null_of(s->schema->cols[i].type);
    int32_t wb = mp_source_window_bytes(s);
    int32_t klen = wb && r->key_len >= wb ? r->key_len - wb : r->key_len;
    if (s->key_codec && mp_codec_ncols(s->key_codec) && klen >= 0) {
        int rc = mp_codec_decode(s->key_codec, r->key, (size_t)klen, a, cols, e);
        if (rc < 0) {
            mp_error_prefix(e, "key");
            return rc;
        }
    }
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
    int32_t klen = r->key_len;
    int32_t wb = mp_source_window_bytes(s);
    if (wb && klen >= wb) {
        /* Kafka's windowed keys: the key, then a time window's start, or a
         * session's end and then its start. */
        uint64_t w[2] = {0, 0};
        klen -= wb;
        for (int32_t b = 0; b < wb; b++)
            w[b / 8] = w[b / 8] << 8 | r->key[klen + b];
        int64_t start = (int64_t)(wb == 16 ? w[1] : w[0]);
        int64_t end = wb == 16 ? (int64_t)w[0] : start + s->window_size;
        if (mp_schema_find(s->schema, "WINDOWSTART") < 0 && mp_schema_find(s->schema, "WINDOWEND") < 0) {
            cols[s->schema->ncols] = mp_v_bigint(start);
            cols[s->schema->ncols + 1] = mp_v_bigint(end);
        }
    }
    if (s->key_codec && mp_codec_ncols(s->key_codec)) {
        rc = mp_codec_decode(s->key_codec, r->key, klen < 0 ? 0 : (size_t)klen, a, cols, e);
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
