/* The expression binder: resolves names against a scope, types every node
 * by ksqlDB's rules, picks each node's evaluation function for its operand
 * types, inserts the implicit conversions, and folds constant operator
 * trees. Bind errors name the SQL position ("line 1:8: ..."). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/sql_text.h"
#include "sql/fn_builtin.h"
#include "sql/sql_expr_internal.h"
#include "sql/sql_parser.h"

typedef struct bctx {
    const mp_sql_scope *s;
    mp_error *err;
    const char *in_agg; /* the aggregate whose arguments are being bound, or NULL */
    const char *in_tfn; /* the table function whose arguments are being bound, or NULL */
    const mp_sql_expr *in_case; /* the CASE being bound, or NULL */
    unsigned depth;
    /* The parameters of the lambdas whose bodies are being bound,
     * outermost first: they shadow the scope's columns, and a body reads
     * parameter i from slot i of the evaluation frame. */
    size_t nlv;
    const char *lv_name[MP_SQL_MAX_LAMBDA_VARS];
    const mp_type *lv_type[MP_SQL_MAX_LAMBDA_VARS];
} bctx;

static int bind(bctx *b, const mp_sql_expr *e, mp_sql_cexpr **out);

/* ---- errors ---- */

static int berr(bctx *b, mp_sql_pos pos, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int berr(bctx *b, mp_sql_pos pos, int code, const char *fmt, ...)
{
    char msg[MP_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mp_error_set(b->err, code, "line %u:%u: %s", (unsigned)pos.line, (unsigned)pos.col,
                        msg);
}

static int oom(bctx *b)
{
    return mp_error_set(b->err, MP_ENOMEM, "out of memory");
}

/* Adds the position to an error a helper (type system, function bind) set. */
static int at(bctx *b, mp_sql_pos pos, int rc)
{
    if (rc == MP_ENOMEM)
        return oom(b);
    mp_error_prefix(b->err, "line %u:%u", (unsigned)pos.line, (unsigned)pos.col);
    return rc;
}

#define TS(t, buf) mp_sql_type_str((t), (buf), sizeof(buf))

/* ---- nodes ---- */

void mp_sql_cexpr_free(mp_sql_cexpr *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        mp_sql_cexpr_free(c->kids[i]);
    free(c->kids);
    mp_type_free(c->type);
    mp_sql_like_free(c->like);
    if (c->mem) {
        mp_arena_free(c->mem);
        free(c->mem);
    }
    free(c);
}

const mp_type *mp_sql_cexpr_type(const mp_sql_cexpr *c)
{
    return c ? c->type : NULL;
}

int mp_sql_cexpr_is_constant(const mp_sql_cexpr *c)
{
    return c && c->constant;
}

/* A node of type t (owned, freed on failure) with room for nkids. */
static mp_sql_cexpr *node_new(bctx *b, mp_sql_pos pos, mp_type *t, size_t nkids)
{
    mp_sql_cexpr *n = calloc(1, sizeof *n);
    if (!t || !n || (nkids && !(n->kids = calloc(nkids, sizeof *n->kids)))) {
        free(n);
        mp_type_free(t);
        oom(b);
        return NULL;
    }
    n->type = t;
    n->n = nkids;
    n->pos = pos;
    n->field = -1;
    n->escape = UINT32_MAX;
    return n;
}

static mp_arena *node_mem(mp_sql_cexpr *n)
{
    if (!n->mem) {
        if (!(n->mem = malloc(sizeof *n->mem)))
            return NULL;
        mp_arena_init(n->mem, 256);
    }
    return n->mem;
}

/* Points every STRUCT inside v at the matching part of t (v conforms to t),
 * so a value kept in a node refers to types the node owns. */
static void retype(mp_value *v, const mp_type *t)
{
    if (v->null || !t)
        return;
    switch (t->kind) {
    case MP_TYPE_ARRAY:
        for (uint32_t i = 0; i < v->len; i++)
            retype(&v->u.items[i], t->elem);
        break;
    case MP_TYPE_MAP:
        for (uint32_t i = 0; i < v->len; i++) {
            retype(&v->u.items[2 * i], t->key);
            retype(&v->u.items[2 * i + 1], t->elem);
        }
        break;
    case MP_TYPE_STRUCT:
        v->u.st.type = t;
        for (uint32_t i = 0; i < v->len && i < t->nfields; i++)
            retype(&v->u.st.fields[i], t->fields[i].type);
        break;
    default: break;
    }
}

/* Makes n a literal holding a deep copy of v. */
static int set_lit(bctx *b, mp_sql_cexpr *n, const mp_value *v)
{
    switch (v->null ? MP_TYPE_NULL : (mp_type_kind)v->kind) {
    case MP_TYPE_STRING:
    case MP_TYPE_BYTES:
    case MP_TYPE_ARRAY:
    case MP_TYPE_MAP:
    case MP_TYPE_STRUCT: {
        mp_arena *m = node_mem(n);
        mp_value c;
        if (!m || mp_value_copy(v, m, &c))
            return oom(b);
        retype(&c, n->type);
        n->lit = c;
        break;
    }
    default: n->lit = *v; break;
    }
    n->nk = MP_SQL_N_LIT;
    n->fn = mp_sql_ev_lit;
    n->constant = 1;
    return 0;
}

static int lit_node(bctx *b, mp_sql_pos pos, mp_type *t, const mp_value *v, mp_sql_cexpr **out)
{
    mp_sql_cexpr *n = node_new(b, pos, t, 0);
    if (!n)
        return MP_ENOMEM;
    int rc = set_lit(b, n, v);
    if (rc) {
        mp_sql_cexpr_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

static void free_kids(mp_sql_cexpr *n)
{
    for (size_t i = 0; i < n->n; i++)
        mp_sql_cexpr_free(n->kids[i]);
    free(n->kids);
    n->kids = NULL;
    n->n = 0;
}

/* Folds n into a literal when every child is constant and evaluating it
 * succeeds; one that fails (1 / 0) is left to fail per row, as ksqlDB
 * reports it. Function calls are never folded (they may not be
 * deterministic), so callers don't come here for them. */
static int fold(bctx *b, mp_sql_cexpr *n)
{
    for (size_t i = 0; i < n->n; i++)
        if (!n->kids[i]->constant)
            return 0;
    n->constant = 1;
    mp_arena tmp;
    mp_error e2 = {0};
    mp_arena_init(&tmp, 512);
    mp_fn_ctx cx = {.arena = &tmp, .e = &e2};
    mp_value v;
    int rc = n->fn(n, NULL, &cx, &v);
    if (rc == 0) {
        mp_sql_like_free(n->like);
        n->like = NULL;
        rc = set_lit(b, n, &v);
        if (rc == 0)
            free_kids(n);
    } else if (rc != MP_ENOMEM) {
        rc = 0;
    } else {
        oom(b);
    }
    mp_arena_free(&tmp);
    return rc;
}

/* An operator node over kids (taken, also on failure). */
static int op_node(bctx *b, mp_sql_pos pos, mp_type *t, mp_sql_eval_fn fn, mp_sql_cexpr **kids,
                   size_t nkids, mp_sql_cexpr **out)
{
    mp_sql_cexpr *n = node_new(b, pos, t, nkids);
    if (!n) {
        for (size_t i = 0; i < nkids; i++)
            mp_sql_cexpr_free(kids[i]);
        return MP_ENOMEM;
    }
    for (size_t i = 0; i < nkids; i++)
        n->kids[i] = kids[i];
    n->fn = fn;
    *out = n;
    return 0;
}

static mp_type *tnew(mp_type_kind k)
{
    return mp_type_new(k);
}

static bool is_null_t(const mp_type *t)
{
    return t->kind == MP_TYPE_NULL;
}

static bool is_num_t(const mp_type *t)
{
    return mp_type_kind_is_numeric(t->kind);
}

static bool is_time_kind(mp_type_kind k)
{
    return k == MP_TYPE_TIMESTAMP || k == MP_TYPE_DATE || k == MP_TYPE_TIME;
}

static bool is_str_lit(const mp_sql_cexpr *n)
{
    return n->nk == MP_SQL_N_LIT && n->type->kind == MP_TYPE_STRING && !n->lit.null;
}

/* ---- conversions at bind time ---- */

/* Converts *np to type t: nothing when already t, a converted literal for
 * a literal (one that does not convert, such as 'abc' in a numeric list, is
 * a bind error), else a conversion node. On failure *np may be NULL (freed)
 * or still the original node; the caller frees it either way. */
static int convert_to(bctx *b, mp_sql_cexpr **np, const mp_type *t, int mode)
{
    mp_sql_cexpr *n = *np, *r = NULL;
    char t1[128], t2[128];
    int rc;
    if (mp_type_equal(n->type, t))
        return 0;
    if (!mp_sql_conv_ok(n->type, t, mode))
        return berr(b, n->pos, MP_EINPUT, "cannot %s %s to %s",
                    mode == MP_SQL_CONV_CAST ? "cast" : "convert", TS(n->type, t1), TS(t, t2));
    if (n->nk == MP_SQL_N_LIT) {
        mp_arena tmp;
        mp_error e2 = {0};
        mp_value v;
        mp_arena_init(&tmp, 256);
        rc = mp_sql_convert(&n->lit, t, mode, &tmp, &v, &e2);
        if (rc == 0) {
            mp_type *tc = mp_type_clone(t);
            rc = tc ? lit_node(b, n->pos, tc, &v, &r) : oom(b);
        } else if (rc == MP_ENOMEM) {
            oom(b);
        } else {
            rc = berr(b, n->pos, MP_EINPUT, "cannot convert the %s literal to %s: %s",
                      TS(n->type, t1), TS(t, t2), e2.msg);
        }
        mp_arena_free(&tmp);
        if (rc)
            return rc;
        mp_sql_cexpr_free(n);
        *np = r;
        return 0;
    }
    *np = NULL;
    if ((rc = op_node(b, n->pos, mp_type_clone(t), mp_sql_ev_convert, &n, 1, &r)))
        return rc;
    r->mode = (uint8_t)mode;
    *np = r;
    return 0;
}

/* The type of a number written in a string literal ('10', '1.5', '1e3'),
 * for ksqlDB's literal coercion in lists. */
static int string_number_type(bctx *b, const mp_sql_cexpr *n, mp_type **out)
{
    const char *s = n->lit.u.str;
    size_t len = n->lit.len;
    while (len && (unsigned char)*s <= ' ')
        s++, len--;
    while (len && (unsigned char)s[len - 1] <= ' ')
        len--;
    int64_t iv;
    double dv;
    mp_error e2;
    if (memchr(s, '.', len) == NULL && memchr(s, 'e', len) == NULL &&
        memchr(s, 'E', len) == NULL) {
        if (mp_sql_parse_int64(s, len, INT32_MIN, INT32_MAX, &iv, &e2) == 0)
            return (*out = tnew(MP_TYPE_INTEGER)) ? 0 : oom(b);
        if (mp_sql_parse_int64(s, len, INT64_MIN, INT64_MAX, &iv, &e2) == 0)
            return (*out = tnew(MP_TYPE_BIGINT)) ? 0 : oom(b);
    }
    if (memchr(s, 'e', len) == NULL && memchr(s, 'E', len) == NULL) {
        /* DECIMAL(digits, scale), as a decimal literal */
        size_t i = (len && (s[0] == '-' || s[0] == '+')) ? 1 : 0, intd = 0, frac = 0;
        bool lead = true, dot = false, ok = i < len;
        for (; ok && i < len; i++) {
            if (s[i] == '.' && !dot) {
                dot = true;
            } else if (s[i] >= '0' && s[i] <= '9') {
                if (dot)
                    frac++;
                else if (!(lead && s[i] == '0'))
                    intd++, lead = false;
            } else {
                ok = false;
            }
        }
        if (ok && intd + frac > 0 && intd + frac <= MP_DECIMAL_MAX_PRECISION) {
            int p = (int)(intd ? intd + frac : frac + 1), sc = (int)frac;
            if (p > MP_DECIMAL_MAX_PRECISION)
                p = MP_DECIMAL_MAX_PRECISION;
            return at(b, n->pos, mp_type_new_decimal(p, sc, out, b->err));
        }
    }
    if (mp_sql_parse_double(s, len, &dv, &e2) == 0)
        return (*out = tnew(MP_TYPE_DOUBLE)) ? 0 : oom(b);
    return berr(b, n->pos, MP_EINPUT, "'%.*s' is not a number", (int)(len > 64 ? 64 : len), s);
}

/* ksqlDB's common type of an expression list (IN, ARRAY[...], MAP(...),
 * CASE results): the first non-NULL element sets the kind; numbers widen;
 * a STRING literal holding a number joins a numeric list, one holding a
 * boolean a BOOLEAN list; any literal joins a STRING list. *out is NULL
 * when every element is a NULL literal. */
static int list_common(bctx *b, mp_sql_cexpr **v, size_t k, const char *what, mp_type **out)
{
    mp_type *common = NULL;
    char t1[128], t2[128];
    int rc;
    *out = NULL;
    for (size_t i = 0; i < k; i++) {
        const mp_type *t = v[i]->type;
        if (is_null_t(t))
            continue;
        if (!common) {
            if (!(common = mp_type_clone(t)))
                return oom(b);
            continue;
        }
        if (is_str_lit(v[i]) && is_num_t(common)) {
            mp_type *st, *nt;
            if ((rc = string_number_type(b, v[i], &st))) {
                mp_type_free(common);
                return rc;
            }
            rc = mp_type_common(common, st, &nt, b->err);
            mp_type_free(st);
            mp_type_free(common);
            if (rc)
                return at(b, v[i]->pos, rc);
            common = nt;
            continue;
        }
        if (is_str_lit(v[i]) && common->kind == MP_TYPE_BOOLEAN) {
            mp_value bv;
            mp_error e2;
            if (mp_sql_convert(&v[i]->lit, common, MP_SQL_CONV_CAST, NULL, &bv, &e2)) {
                mp_type_free(common);
                return berr(b, v[i]->pos, MP_EINPUT, "%s", e2.msg);
            }
            continue;
        }
        if (is_str_lit(v[i]) && is_time_kind(common->kind))
            continue; /* parsed below, as comparisons parse it */
        if (common->kind == MP_TYPE_STRING && v[i]->nk == MP_SQL_N_LIT &&
            (is_num_t(t) || t->kind == MP_TYPE_BOOLEAN))
            continue;
        mp_type *nt;
        if ((rc = mp_type_common(common, t, &nt, NULL))) {
            rc = berr(b, v[i]->pos, rc == MP_ENOMEM ? MP_ENOMEM : MP_EINPUT,
                      "%s: incompatible types %s and %s", what, TS(common, t1), TS(t, t2));
            mp_type_free(common);
            return rc;
        }
        mp_type_free(common);
        common = nt;
    }
    if (!common)
        return 0;
    /* literals convert as CAST would (text to numbers, anything to text;
     * a bare NULL becomes a NULL of the common type); other expressions
     * only widen */
    for (size_t i = 0; i < k; i++) {
        int mode = v[i]->nk == MP_SQL_N_LIT ? MP_SQL_CONV_CAST : MP_SQL_CONV_COERCE;
        if ((rc = convert_to(b, &v[i], common, mode))) {
            mp_type_free(common);
            return rc;
        }
    }
    *out = common;
    return 0;
}

/* ---- comparisons ---- */

/* The comparator for l op r (ksqlDB's ComparisonUtil): numbers with
 * numbers; STRING with STRING, TIMESTAMP, DATE or TIME (the text parsed);
 * TIMESTAMP with DATE; BYTES with BYTES; BOOLEAN, ARRAY, MAP and STRUCT
 * with their own kind, for equality only. */
static int pick_cmp(bctx *b, mp_sql_pos pos, const mp_type *l, const mp_type *r, bool ordering,
                    const char *opname, mp_sql_cmp_fn *out)
{
    char t1[128], t2[128];
    mp_type_kind a = l->kind, c = r->kind;
    *out = NULL;
    if (is_num_t(l) && is_num_t(r)) {
        if (a == MP_TYPE_INTEGER && c == MP_TYPE_INTEGER)
            *out = mp_sql_cmp_i32;
        else if ((a == MP_TYPE_INTEGER || a == MP_TYPE_BIGINT) &&
                 (c == MP_TYPE_INTEGER || c == MP_TYPE_BIGINT))
            *out = mp_sql_cmp_int;
        else if (a == MP_TYPE_DOUBLE || c == MP_TYPE_DOUBLE)
            *out = mp_sql_cmp_f64;
        else
            *out = mp_sql_cmp_dec;
    } else if (a == MP_TYPE_STRING && c == MP_TYPE_STRING) {
        *out = mp_sql_cmp_str;
    } else if ((is_time_kind(a) || a == MP_TYPE_STRING) && (is_time_kind(c) || c == MP_TYPE_STRING)) {
        if (a == MP_TYPE_TIME || c == MP_TYPE_TIME) {
            if ((a == MP_TYPE_TIME || a == MP_TYPE_STRING) && (c == MP_TYPE_TIME || c == MP_TYPE_STRING))
                *out = mp_sql_cmp_time;
        } else if (a == MP_TYPE_TIMESTAMP || c == MP_TYPE_TIMESTAMP) {
            *out = mp_sql_cmp_ts;
        } else {
            *out = mp_sql_cmp_date;
        }
    } else if (a == MP_TYPE_BYTES && c == MP_TYPE_BYTES) {
        *out = mp_sql_cmp_bytes;
    } else if (a == c && (a == MP_TYPE_BOOLEAN || a == MP_TYPE_ARRAY || a == MP_TYPE_MAP ||
                          a == MP_TYPE_STRUCT)) {
        if (ordering)
            return berr(b, pos, MP_EINPUT,
                        "cannot compare %s with %s using %s: %s values support only =, <> and "
                        "IS [NOT] DISTINCT FROM",
                        TS(l, t1), TS(r, t2), opname, mp_type_kind_name(a));
        *out = a == MP_TYPE_BOOLEAN ? mp_sql_cmp_bool : mp_sql_cmp_equal;
    }
    if (!*out)
        return berr(b, pos, MP_EINPUT, "cannot compare %s with %s", TS(l, t1), TS(r, t2));
    return 0;
}

/* A STRING literal compared with a TIMESTAMP, DATE or TIME is parsed once,
 * here, instead of per row (a bad one is a bind error). */
static int fix_time_literal(bctx *b, mp_sql_cexpr **l, mp_sql_cexpr **r)
{
    if (is_str_lit(*l) && is_time_kind((*r)->type->kind))
        return convert_to(b, l, (*r)->type, MP_SQL_CONV_CAST);
    if (is_str_lit(*r) && is_time_kind((*l)->type->kind))
        return convert_to(b, r, (*l)->type, MP_SQL_CONV_CAST);
    return 0;
}

/* ksqlDB refuses a comparison with a NULL literal, in these words. */
static int null_comparison(bctx *b, mp_sql_pos pos, const mp_type *l, const char *op,
                           const mp_type *r)
{
    return berr(b, pos, MP_EINPUT,
                "Comparison with NULL not supported: %s %s %s. Use 'IS NULL' or 'IS NOT NULL' "
                "instead.", mp_type_kind_name(l->kind), op, mp_type_kind_name(r->kind));
}

/* ---- names ---- */

static int bind_column(bctx *b, const mp_sql_expr *e, mp_sql_cexpr **out)
{
    const mp_sql_scope *s = b->s;
    for (size_t i = b->nlv; !e->qualifier && i-- > 0;) {
        if (strcmp(b->lv_name[i], e->name) != 0)
            continue;
        mp_sql_cexpr *n = node_new(b, e->pos, mp_type_clone(b->lv_type[i]), 0);
        if (!n)
            return MP_ENOMEM;
        n->fn = mp_sql_ev_lvar;
        n->slot = (uint32_t)i;
        *out = n;
        return 0;
    }
    size_t found = SIZE_MAX, count = 0;
    bool source_known = false;
    for (size_t i = 0; i < s->ncols; i++) {
        const mp_sql_scope_col *c = &s->cols[i];
        if (e->qualifier) {
            if (!c->source || strcmp(c->source, e->qualifier) != 0)
                continue;
            source_known = true;
        }
        if (strcmp(c->name, e->name) == 0) {
            if (count++ == 0)
                found = i;
        }
    }
    if (count == 1) {
        mp_sql_cexpr *n = node_new(b, e->pos, mp_type_clone(s->cols[found].type), 0);
        if (!n)
            return MP_ENOMEM;
        n->nk = MP_SQL_N_COL;
        n->fn = mp_sql_ev_col;
        n->slot = (uint32_t)found;
        *out = n;
        return 0;
    }
    if (count > 1) {
        mp_buf cand = {0};
        size_t k = 0;
        for (size_t i = 0; i < s->ncols; i++) {
            const mp_sql_scope_col *c = &s->cols[i];
            if (strcmp(c->name, e->name) != 0 ||
                (e->qualifier && (!c->source || strcmp(c->source, e->qualifier) != 0)))
                continue;
            mp_buf_puts(&cand, k++ ? ", " : "");
            if (c->source) {
                mp_buf_puts(&cand, c->source);
                mp_buf_putc(&cand, '.');
            }
            mp_buf_puts(&cand, c->name);
        }
        int rc = berr(b, e->pos, MP_EINPUT, "column '%s' is ambiguous: it could be %s", e->name,
                      cand.data ? cand.data : "");
        mp_buf_free(&cand);
        return rc;
    }
    if (e->qualifier && !source_known)
        return berr(b, e->pos, MP_ENOTFOUND,
                    "column '%s.%s' cannot be resolved: no source or alias '%s' in scope",
                    e->qualifier, e->name, e->qualifier);
    /* a hint when only the case differs (a quoted name, or a missing quote) */
    for (size_t i = 0; i < s->ncols; i++) {
        const mp_sql_scope_col *c = &s->cols[i];
        if (e->qualifier && (!c->source || strcmp(c->source, e->qualifier) != 0))
            continue;
        if (strcasecmp(c->name, e->name) == 0)
            return berr(b, e->pos, MP_ENOTFOUND,
                        "column '%s%s%s' cannot be resolved (did you mean `%s`?)",
                        e->qualifier ? e->qualifier : "", e->qualifier ? "." : "", e->name,
                        c->name);
    }
    return berr(b, e->pos, MP_ENOTFOUND, "column '%s%s%s' cannot be resolved",
                e->qualifier ? e->qualifier : "", e->qualifier ? "." : "", e->name);
}

/* ---- literals ---- */

/* DECIMAL(digits, scale) of a literal such as "-1.50" (3, 2), "0.05" (3, 2:
 * a value below 1 has scale + 1 digits, as ksqlDB's DecimalUtil), ".5". */
static int bind_decimal(bctx *b, const mp_sql_expr *e, mp_sql_cexpr **out)
{
    const char *s = e->str;
    size_t len = e->len, i = (len && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    int intd = 0, frac = 0;
    bool lead = true, dot = false;
    for (; i < len; i++) {
        if (s[i] == '.')
            dot = true;
        else if (dot)
            frac++;
        else if (!(lead && s[i] == '0'))
            intd++, lead = false;
    }
    int p = intd ? intd + frac : frac + 1;
    if (p > MP_DECIMAL_MAX_PRECISION)
        return berr(b, e->pos, MP_EINPUT, "DECIMAL literal %s has more than %d digits", s,
                    MP_DECIMAL_MAX_PRECISION);
    /* BigDecimal reads "1." and ".5"; give the parser digits on both sides */
    char buf[96];
    size_t bl = 0;
    for (i = 0; i < len && bl + 3 < sizeof buf; i++) {
        if (s[i] == '.' && (i == 0 || s[i - 1] < '0' || s[i - 1] > '9'))
            buf[bl++] = '0';
        buf[bl++] = s[i];
        if (s[i] == '.' && i + 1 == len)
            buf[bl++] = '0';
    }
    mp_decimal d;
    mp_type *t;
    int rc;
    if ((rc = mp_type_new_decimal(p, frac, &t, b->err)))
        return at(b, e->pos, rc);
    if ((rc = mp_decimal_parse(buf, bl, p, frac, MP_ROUND_UNNECESSARY, &d, b->err))) {
        mp_type_free(t);
        return at(b, e->pos, rc);
    }
    mp_value v = mp_v_decimal(&d);
    return lit_node(b, e->pos, t, &v, out);
}

static int bind_literal(bctx *b, const mp_sql_expr *e, mp_sql_cexpr **out)
{
    mp_value v;
    switch (e->kind) {
    case MP_SQL_EXPR_NULL: v = mp_v_null(MP_TYPE_NULL); return lit_node(b, e->pos, tnew(MP_TYPE_NULL), &v, out);
    case MP_SQL_EXPR_BOOL:
        v = mp_v_bool(e->boolean);
        return lit_node(b, e->pos, tnew(MP_TYPE_BOOLEAN), &v, out);
    case MP_SQL_EXPR_INT:
        if (e->i >= INT32_MIN && e->i <= INT32_MAX) {
            v = mp_v_int((int32_t)e->i);
            return lit_node(b, e->pos, tnew(MP_TYPE_INTEGER), &v, out);
        }
        v = mp_v_bigint(e->i);
        return lit_node(b, e->pos, tnew(MP_TYPE_BIGINT), &v, out);
    case MP_SQL_EXPR_DOUBLE:
        v = mp_v_double(e->d);
        return lit_node(b, e->pos, tnew(MP_TYPE_DOUBLE), &v, out);
    case MP_SQL_EXPR_DECIMAL: return bind_decimal(b, e, out);
    case MP_SQL_EXPR_STRING:
        if (e->len > UINT32_MAX)
            return berr(b, e->pos, MP_EINPUT, "string literal longer than 4 GiB");
        /* STRING values are UTF-8 everywhere downstream (codecs, functions) */
        size_t bad = 0;
        if (e->len && !mp_utf8_valid(e->str, e->len, &bad))
            return berr(b, e->pos, MP_EINPUT,
                        "the string literal is not valid UTF-8 (byte %zu of its text)", bad + 1);
        v = mp_v_string_ref(e->str ? e->str : "", e->len);
        return lit_node(b, e->pos, tnew(MP_TYPE_STRING), &v, out);
    default: return berr(b, e->pos, MP_EINVAL, "not a literal");
    }
}

/* ---- access ---- */

static int bind_deref(bctx *b, const mp_sql_expr *e, mp_sql_cexpr **out)
{
    mp_sql_cexpr *s;
    char t1[128];
    int rc = bind(b, e->a, &s);
    if (rc)
        return rc;
    const mp_type *st = s->type;
    if (st->kind != MP_TYPE_STRUCT) {
        rc = berr(b, e->pos, MP_EINPUT, "cannot dereference field '%s' of %s: '->' needs a STRUCT",
                  e->name, TS(st, t1));
        mp_sql_cexpr_free(s);
        return rc;
    }
    int f = mp_type_struct_find(st, e->name);
    if (f < 0) {
        const char *hint = NULL;
        for (size_t i = 0; i < st->nfields && !hint; i++)
            if (strcasecmp(st->fields[i].name, e->name) == 0)
                hint = st->fields[i].name;
        if (hint)
            rc = berr(b, e->pos, MP_ENOTFOUND, "STRUCT %s has no field '%s' (did you mean `%s`?)",
                      TS(st, t1), e->name, hint);
        else
            rc = berr(b, e->pos, MP_ENOTFOUND, "STRUCT %s has no field '%s'", TS(st, t1),
                      e->name);
        mp_sql_cexpr_free(s);
        return rc;
    }
    mp_sql_cexpr *n;
    if ((rc = op_node(b, e->pos, mp_type_clone(st->fields[f].type), mp_sql_ev_deref, &s, 1, &n)))
        return rc;
    n->field = f;
    if ((rc = fold(b, n))) {
        mp_sql_cexpr_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

static int bind_subscript(bctx *b, const mp_sql_expr *e, mp_sql_cexpr **out)
{
    mp_sql_cexpr *k[2] = {NULL, NULL}, *n;
    char t1[128], t2[128];
    int rc;
    if ((rc = bind(b, e->a, &k[0])) || (rc = bind(b, e->b, &k[1])))
        goto fail;
    const mp_type *bt = k[0]->type, *it = k[1]->type;
    mp_sql_eval_fn fn;
    mp_type *rt;
    if (bt->kind == MP_TYPE_ARRAY) {
        if (it->kind != MP_TYPE_INTEGER && it->kind != MP_TYPE_BIGINT && !is_null_t(it)) {
            rc = berr(b, e->b->pos, MP_EINPUT, "an ARRAY index must be INTEGER, not %s",
                      TS(it, t1));
            goto fail;
        }
        fn = mp_sql_ev_sub_array;
        rt = mp_type_clone(bt->elem);
    } else if (bt->kind == MP_TYPE_MAP) {
        if (!is_null_t(it) && !mp_type_can_coerce(it, bt->key)) {
            rc = berr(b, e->b->pos, MP_EINPUT, "a key of %s can't be %s", TS(bt, t1), TS(it, t2));
            goto fail;
        }
        if ((rc = convert_to(b, &k[1], bt->key, MP_SQL_CONV_COERCE)))
            goto fail;
        fn = mp_sql_ev_sub_map;
        rt = mp_type_clone(bt->elem);
    } else if (bt->kind == MP_TYPE_STRUCT) {
        rc = berr(b, e->pos, MP_EINPUT, "subscripts apply to ARRAY and MAP; use '->' for STRUCT fields");
        goto fail;
    } else {
        rc = berr(b, e->pos, MP_EINPUT, "subscripts apply to ARRAY and MAP, not %s", TS(bt, t1));
        goto fail;
    }
    if ((rc = op_node(b, e->pos, rt, fn, k, 2, &n)))
        return rc;
    if ((rc = fold(b, n))) {
        mp_sql_cexpr_free(n);
        return rc;
    }
    *out = n;
    return 0;
fail:
    mp_sql_cexpr_free(k[0]);
    mp_sql_cexpr_free(k[1]);
    return rc;
}

/* ---- arithmetic and strings ---- */

static void as_decimal(const mp_type *t, int *p, int *s)
{
    if (t->kind == MP_TYPE_INTEGER)
        *p = 10, *s = 0;
    else if (t->kind == MP_TYPE_BIGINT)
        *p = 19, *s = 0;
    else
        *p = t->precision, *s = t->scale;
}

static int finish(bctx *b, mp_sql_cexpr *n, mp_sql_cexpr **out)
{
    int rc = fold(b, n);
    if (rc) {
        mp_sql_cexpr_free(n);
        return rc;
    }
    *out = n;
    return 0;
}

static int bind_unary(bctx *b, const mp_sql_expr *e, mp_sql_cexpr **out)
{
    mp_sql_cexpr *a, *n;
    char t1[128];
    int rc = bind(b, e->a, &a);
    if (rc)
        return rc;
    if (!is_num_t(a->type) && !is_null_t(a->type)) {
        rc = berr(b, e->pos, MP_EINPUT, "unary %s needs a number, not %s",
                  e->op == MP_SQL_OP_NEG ? "-" : "+", TS(a->type, t1));
        mp_sql_cexpr_free(a);
        return rc;
    }
    if (e->op == MP_SQL_OP_POS) {
        *out = a;
        return 0;
    }
    if ((rc = op_node(b, e->pos, mp_type_clone(a->type), mp_sql_ev_neg, &a, 1, &n)))
        return rc;
    return finish(b, n, out);
}

static int bind_arith(bctx *b, const mp_sql_expr *e, mp_sql_cexpr **k, mp_sql_cexpr **out)
{
    const mp_type *l = k[0]->type, *r = k[1]->type;
    char t1[128], t2[128];
    mp_type *rt = NULL;
    mp_sql_eval_fn fn;
    mp_sql_cexpr *n;
    int rc;
    bool ls = l->kind == MP_TYPE_STRING, rs = r->kind == MP_TYPE_STRING;
    if (e->op == MP_SQL_OP_ADD && (ls || rs) && (ls || is_null_t(l)) && (rs || is_null_t(r))) {
        rt = tnew(MP_TYPE_STRING);
        fn = mp_sql_ev_plus_str;
    } else if ((is_num_t(l) || is_null_t(l)) && (is_num_t(r) || is_null_t(r)) &&
               !(is_null_t(l) && is_null_t(r))) {
        if (is_null_t(l) || is_null_t(r)) {
            rt = mp_type_clone(is_null_t(l) ? r : l);
            fn = mp_sql_ev_null;
        } else if (l->kind == MP_TYPE_DOUBLE || r->kind == MP_TYPE_DOUBLE) {
            rt = tnew(MP_TYPE_DOUBLE);
            fn = mp_sql_arith_fn(MP_SQL_AR_F64, e->op);
        } else if (l->kind == MP_TYPE_DECIMAL || r->kind == MP_TYPE_DECIMAL) {
            int p1, s1, p2, s2, p, s;
            static const mp_decimal_op dop[] = {
                [MP_SQL_OP_ADD] = MP_DEC_ADD, [MP_SQL_OP_SUB] = MP_DEC_SUB,
                [MP_SQL_OP_MUL] = MP_DEC_MUL, [MP_SQL_OP_DIV] = MP_DEC_DIV,
                [MP_SQL_OP_MOD] = MP_DEC_MOD};
            as_decimal(l, &p1, &s1);
            as_decimal(r, &p2, &s2);
            mp_decimal_result_type(dop[e->op], p1, s1, p2, s2, &p, &s);
            if ((rc = mp_type_new_decimal(p, s, &rt, b->err))) {
                rc = at(b, e->pos, rc);
                goto fail;
            }
            fn = mp_sql_arith_fn(MP_SQL_AR_DEC, e->op);
        } else if (l->kind == MP_TYPE_BIGINT || r->kind == MP_TYPE_BIGINT) {
            rt = tnew(MP_TYPE_BIGINT);
            fn = mp_sql_arith_fn(MP_SQL_AR_I64, e->op);
        } else {
            rt = tnew(MP_TYPE_INTEGER);
            fn = mp_sql_arith_fn(MP_SQL_AR_I32, e->op);
        }
    } else {
        rc = berr(b, e->pos, MP_EINPUT, "operator '%s' cannot be applied to %s and %s",
                  mp_sql_op_name(e->op), TS(l, t1), TS(r, t2));
        goto fail;
    }
    if ((rc = op_node(b, e->pos, rt, fn, k, 2, &n)))
        return rc;
    n->op = (uint8_t)e->op;
    return finish(b, n, out);
fail:
    mp_sql_cexpr_free(k[0]);
    mp_sql_cexpr_free(k[1]);
    return rc;
}

/* `||`: ksqlDB's CONCAT on STRING (or BYTES) operands, NULL as empty; a
 * literal of another kind is written as text (ksqlDB's literal rule). */
static int bind_concat(bctx *b, const mp_sql_expr *e, mp_sql_cexpr **k, mp_sql_cexpr **out)
{
    char t1[128];
    int rc;
    mp_type *str = tnew(MP_TYPE_STRING);
    if (!str) {
        rc = oom(b);
        goto fail;
    }
    for (int i = 0; i < 2; i++) {
        mp_type_kind kk = k[i]->type->kind;
        if (kk == MP_TYPE_STRING || kk == MP_TYPE_BYTES || kk == MP_TYPE_NULL)
            continue;
        if (k[i]->nk == MP_SQL_N_LIT && kk != MP_TYPE_ARRAY && kk != MP_TYPE_MAP &&
            kk != MP_TYPE_STRUCT) {
            if ((rc = convert_to(b, &k[i], str, MP_SQL_CONV_CAST)))
                goto fail;
            continue;
        }
        rc = berr(b, k[i]->pos, MP_EINPUT,
                  "'||' needs STRING operands, not %s (use CAST(... AS STRING))",
                  TS(k[i]->type, t1));
        goto fail;
    }
    mp_type_kind a = k[0]->type->kind, c = k[1]->type->kind;
    if ((a == MP_TYPE_BYTES && c == MP_TYPE_STRING) || (a == MP_TYPE_STRING && c == MP_TYPE_BYTES)) {
        rc = berr(b, e->pos, MP_EINPUT, "'||' cannot join STRING and BYTES");
        goto fail;
    }
    mp_type_kind rk = (a == MP_TYPE_BYTES || c == MP_TYPE_BYTES) ? MP_TYPE_BYTES : MP_TYPE_STRING;
    mp_type_free(str);
    str = NULL;
    mp_sql_cexpr *n;
    if ((rc = op_node(b, e->pos, tnew(rk), mp_sql_ev_concat, k, 2, &n)))
        return rc;
    return finish(b, n, out);
fail:
    mp_type_free(str);
    mp_sql_cexpr_free(k[0]);
    mp_sql_cexpr_free(k[1]);
    return rc;
}

static int bind_compare(bctx *b, const mp_sql_expr *e, mp_sql_cexpr **k, mp_sql_cexpr **out)
{
    int rc;
    mp_sql_cmp_fn cmp;
    mp_sql_cexpr *n;
    bool ordering = e->op != MP_SQL_OP_EQ && e->op != MP_SQL_OP_NE;
    if (is_null_t(k[0]->type) || is_null_t(k[1]->type)) {
        rc = null_comparison(b, e->pos, k[0]->type, mp_sql_op_name(e->op), k[1]->type);
        goto fail;
    }
    if ((rc = fix_time_literal(b, &k[0], &k[1])))
        goto fail;
    if ((rc = pick_cmp(b, e->pos, k[0]->type, k[1]->type, ordering, mp_sql_op_name(e->op), &cmp)))
        goto fail;
    if ((rc = op_node(b, e->pos, tnew(MP_TYPE_BOOLEAN), mp_sql_cmp_node_fn(cmp), k, 2, &n)))
        return rc;
    n->cmp = cmp;
    n->op = (uint8_t)e->op;
    return finish(b, n, out);
fail:
    mp_sql_cexpr_free(k[0]);
    mp_sql_cexpr_free(k[1]);
    return rc;
}

static int check_bool(bctx *b, const mp_sql_cexpr *k, const char *what)
{
    char t1[128];
    if (k->type->kind == MP_TYPE_BOOLEAN || is_null_t(k->type))
        return 0;
    return berr(b, k->pos, MP_EINPUT, "%s needs BOOLEAN operands, not %s", what, TS(k->type, t1));
}

static int bind_binary(bctx *b, const mp_sql_expr *e, mp_sql_cexpr **out)
{
    mp_sql_cexpr *k[2] = {NULL, NULL}, *n;
    int rc;
    if ((rc = bind(b, e->a, &k[0])) || (rc = bind(b, e->b, &k[1]))) {
        mp_sql_cexpr_free(k[0]);
        return rc;
    }
    switch (e->op) {
    case MP_SQL_OP_ADD:
    case MP_SQL_OP_SUB:
    case MP_SQL_OP_MUL:
    case MP_SQL_OP_DIV:
    case MP_SQL_OP_MOD: return bind_arith(b, e, k, out);
    case MP_SQL_OP_CONCAT: return bind_concat(b, e, k, out);
    case MP_SQL_OP_EQ:
    case MP_SQL_OP_NE:
    case MP_SQL_OP_LT:
    case MP_SQL_OP_LE:
    case MP_SQL_OP_GT:
    case MP_SQL_OP_GE: return bind_compare(b, e, k, out);
    case MP_SQL_OP_AND:
    case MP_SQL_OP_OR: {
        const char *what = e->op == MP_SQL_OP_AND ? "AND" : "OR";
        if ((rc = check_bool(b, k[0], what)) || (rc = check_bool(b, k[1], what)))
            break;
        if ((rc = op_node(b, e->pos, tnew(MP_TYPE_BOOLEAN),
                          e->op == MP_SQL_OP_AND ? mp_sql_ev_and : mp_sql_ev_or, k, 2, &n)))
            return rc;
        return finish(b, n, out);
    }
    default: rc = berr(b, e->pos, MP_EINVAL, "unknown operator"); break;
    }
    mp_sql_cexpr_free(k[0]);
    mp_sql_cexpr_free(k[1]);
    return rc;
}

/* ---- predicates ---- */

static int bind_not(bctx *b, const mp_sql_expr *e, mp_sql_cexpr **out)
{
    mp_sql_cexpr *a, *n;
    int rc = bind(b, e->a, &a);
    if (rc)
        return rc;
    if ((rc = check_bool(b, a, "NOT"))) {
        mp_sql_cexpr_free(a);
        return rc;
    }
    if ((rc = op_node(b, e->pos, tnew(MP_TYPE_BOOLEAN), mp_sql_ev_not, &a, 1, &n)))
        return rc;
    return finish(b, n, out);
}

static int bind_is_null(bctx *b, const mp_sql_expr *e, mp_sql_cexpr **out)
{
    mp_sql_cexpr *a, *n;
    int rc = bind(b, e->a, &a);
    if (rc)
        return rc;
    if ((rc = op_node(b, e->pos, tnew(MP_TYPE_BOOLEAN), mp_sql_ev_is_null, &a, 1, &n)))
        return rc;
    n->negated = e->negated;
    return finish(b, n, out);
}

static int bind_distinct(bctx *b, const mp_sql_expr *e, mp_sql_cexpr **out)
{
    mp_sql_cexpr *k[2] = {NULL, NULL}, *n;
    mp_sql_cmp_fn cmp = mp_sql_cmp_equal;
    int rc;
    if ((rc = bind(b, e->a, &k[0])) || (rc = bind(b, e->b, &k[1])))
        goto fail;
    if (!is_null_t(k[0]->type) && !is_null_t(k[1]->type)) {
        if ((rc = fix_time_literal(b, &k[0], &k[1])) ||
            (rc = pick_cmp(b, e->pos, k[0]->type, k[1]->type, false, "IS DISTINCT FROM", &cmp)))
            goto fail;
    }
    if ((rc = op_node(b, e->pos, tnew(MP_TYPE_BOOLEAN), mp_sql_ev_distinct, k, 2, &n)))
        return rc;
    n->cmp = cmp;
    n->negated = e->negated;
    return finish(b, n, out);
fail:
    mp_sql_cexpr_free(k[0]);
    mp_sql_cexpr_free(k[1]);
    return rc;
}

static int bind_between(bctx *b, const mp_sql_expr *e, mp_sql_cexpr **out)
{
    mp_sql_cexpr *k[3] = {NULL, NULL, NULL}, *n;
    mp_sql_cmp_fn c1, c2;
    int rc;
    if ((rc = bind(b, e->a, &k[0])) || (rc = bind(b, e->b, &k[1])) || (rc = bind(b, e->c, &k[2])))
        goto fail;
    for (int i = 1; i < 3; i++) {
        if (is_null_t(k[0]->type) || is_null_t(k[i]->type)) {
            rc = null_comparison(b, k[is_null_t(k[0]->type) ? 0 : i]->pos, k[0]->type,
                                 i == 1 ? ">=" : "<=", k[i]->type);
            goto fail;
        }
    }
    if ((rc = fix_time_literal(b, &k[0], &k[1])) || (rc = fix_time_literal(b, &k[0], &k[2])) ||
        (rc = pick_cmp(b, e->pos, k[0]->type, k[1]->type, true, "BETWEEN", &c1)) ||
        (rc = pick_cmp(b, e->pos, k[0]->type, k[2]->type, true, "BETWEEN", &c2)))
        goto fail;
    if ((rc = op_node(b, e->pos, tnew(MP_TYPE_BOOLEAN), mp_sql_ev_between, k, 3, &n)))
        return rc;
    n->cmp = c1;
    n->cmp2 = c2;
    n->negated = e->negated;
    return finish(b, n, out);
fail:
    for (int i = 0; i < 3; i++)
        mp_sql_cexpr_free(k[i]);
    return rc;
}

/* Binds a list of expressions into v (n slots, zeroed), freeing what was
 * bound on failure. */
static int bind_list(bctx *b, mp_sql_expr *const *items, size_t n, mp_sql_cexpr **v)
{
    for (size_t i = 0; i < n; i++) {
        int rc = bind(b, items[i], &v[i]);
        if (rc) {
            for (size_t j = 0; j < i; j++) {
                mp_sql_cexpr_free(v[j]);
                v[j] = NULL;
            }
            return rc;
        }
    }
    return 0;
}

static void free_list(mp_sql_cexpr **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        mp_sql_cexpr_free(v[i]);
    free(v);
}

static int bind_in(bctx *b, const mp_sql_expr *e, mp_sql_cexpr **out)
{
    size_t k = e->n + 1;
    mp_sql_cexpr **v = calloc(k, sizeof *v), *n;
    mp_type *common = NULL;
    mp_sql_cmp_fn cmp = mp_sql_cmp_equal;
    int rc;
    if (!v)
        return oom(b);
    if ((rc = bind(b, e->a, &v[0])))
        goto fail;
    if ((rc = bind_list(b, e->items, e->n, v + 1)))
        goto fail;
    if ((rc = list_common(b, v, k, "IN list", &common)))
        goto fail;
    if (common &&
        (rc = pick_cmp(b, e->pos, common, common, false, "IN", &cmp)))
        goto fail;
    mp_type_free(common);
    common = NULL;
    rc = op_node(b, e->pos, tnew(MP_TYPE_BOOLEAN), mp_sql_ev_in, v, k, &n);
    free(v);
    if (rc)
        return rc;
    n->cmp = cmp;
    n->negated = e->negated;
    return finish(b, n, out);
fail:
    mp_type_free(common);
    free_list(v, k);
    return rc;
}

static int bind_like(bctx *b, const mp_sql_expr *e, mp_sql_cexpr **out)
{
    mp_sql_cexpr *k[2] = {NULL, NULL}, *n;
    char t1[128];
    uint32_t esc = UINT32_MAX;
    int rc;
    if ((rc = bind(b, e->a, &k[0])) || (rc = bind(b, e->b, &k[1])))
        goto fail;
    for (int i = 0; i < 2; i++) {
        mp_type_kind kk = k[i]->type->kind;
        if (kk != MP_TYPE_STRING && kk != MP_TYPE_NULL) {
            rc = berr(b, k[i]->pos, MP_EINPUT, "LIKE needs STRING operands, not %s",
                      TS(k[i]->type, t1));
            goto fail;
        }
    }
    if (e->str) {
        size_t el = strlen(e->str);
        if (el == 0 || mp_sql_utf8_next(e->str, el, &esc) != el) {
            rc = berr(b, e->pos, MP_EINPUT, "the ESCAPE string must be one character, not '%s'",
                      e->str);
            goto fail;
        }
    }
    if ((rc = op_node(b, e->pos, tnew(MP_TYPE_BOOLEAN), mp_sql_ev_like, k, 2, &n)))
        return rc;
    n->negated = e->negated;
    n->escape = esc;
    /* a literal pattern is compiled once, here */
    if (is_str_lit(n->kids[1]) &&
        (rc = mp_sql_like_compile(n->kids[1]->lit.u.str, n->kids[1]->lit.len, esc, NULL,
                                  &n->like, b->err))) {
        rc = at(b, n->kids[1]->pos, rc);
        mp_sql_cexpr_free(n);
        return rc;
    }
    return finish(b, n, out);
fail:
    mp_sql_cexpr_free(k[0]);
    mp_sql_cexpr_free(k[1]);
    return rc;
}

/* ---- CASE ---- */

static int bind_case(bctx *b, const mp_sql_expr *e, mp_sql_cexpr **out)
{
    bool simple = e->a != NULL, has_else = e->c != NULL;
    size_t pairs = e->n / 2, off = simple ? 1 : 0;
    size_t k = off + 2 * pairs + (has_else ? 1 : 0);
    mp_sql_cexpr **v = calloc(k, sizeof *v), *n;
    mp_sql_cexpr **res = NULL, **whens = NULL;
    mp_type *common = NULL, *wt = NULL;
    mp_sql_cmp_fn cmp = NULL;
    int rc = 0;
    if (!v)
        return oom(b);
    const mp_sql_expr *outer_case = b->in_case;
    b->in_case = e;
    if ((simple && (rc = bind(b, e->a, &v[0]))) ||
        (rc = bind_list(b, e->items, 2 * pairs, v + off)) ||
        (has_else && (rc = bind(b, e->c, &v[k - 1])))) {
        b->in_case = outer_case;
        goto fail;
    }
    b->in_case = outer_case;
    size_t nres = pairs + (has_else ? 1 : 0);
    res = calloc(nres ? nres : 1, sizeof *res);
    whens = calloc(pairs + 1, sizeof *whens);
    if (!res || !whens) {
        rc = oom(b);
        goto fail;
    }
    /* gather THEN/ELSE results (and WHEN values for the simple form),
     * coerce them in place, then put them back */
    for (size_t i = 0; i < pairs; i++)
        res[i] = v[off + 2 * i + 1];
    if (has_else)
        res[pairs] = v[k - 1];
    rc = list_common(b, res, nres, "CASE results", &common);
    for (size_t i = 0; i < pairs; i++)
        v[off + 2 * i + 1] = res[i];
    if (has_else)
        v[k - 1] = res[pairs];
    if (rc)
        goto fail;
    if (!common) {
        rc = berr(b, e->pos, MP_EINPUT,
                  "every CASE result is NULL: CAST one of them to the type you want");
        goto fail;
    }
    if (simple) {
        whens[0] = v[0];
        for (size_t i = 0; i < pairs; i++)
            whens[1 + i] = v[1 + 2 * i];
        rc = list_common(b, whens, pairs + 1, "CASE operand and WHEN values", &wt);
        v[0] = whens[0];
        for (size_t i = 0; i < pairs; i++)
            v[1 + 2 * i] = whens[1 + i];
        if (rc)
            goto fail;
        cmp = mp_sql_cmp_equal;
        if (wt && (rc = pick_cmp(b, e->pos, wt, wt, false, "CASE", &cmp)))
            goto fail;
    } else {
        for (size_t i = 0; i < pairs; i++) {
            char t1[128];
            const mp_sql_cexpr *w = v[2 * i];
            if (w->type->kind != MP_TYPE_BOOLEAN && !is_null_t(w->type)) {
                rc = berr(b, w->pos, MP_EINPUT, "a WHEN condition must be BOOLEAN, not %s",
                          TS(w->type, t1));
                goto fail;
            }
        }
    }
    mp_type_free(wt);
    wt = NULL;
    free(res);
    free(whens);
    res = whens = NULL;
    rc = op_node(b, e->pos, common, simple ? mp_sql_ev_case_simple : mp_sql_ev_case, v, k, &n);
    common = NULL;
    free(v);
    if (rc)
        return rc;
    n->has_else = has_else;
    n->cmp = cmp;
    return finish(b, n, out);
fail:
    free(res);
    free(whens);
    mp_type_free(common);
    mp_type_free(wt);
    free_list(v, k);
    return rc;
}

/* ---- CAST ---- */

static int bind_cast(bctx *b, const mp_sql_expr *e, mp_sql_cexpr **out)
{
    mp_sql_cexpr *a, *n;
    mp_type *t;
    char t1[128], t2[128];
    int rc = bind(b, e->a, &a);
    if (rc)
        return rc;
    if ((rc = mp_sql_type_from_ast(e->type, &t, b->err))) {
        mp_sql_cexpr_free(a);
        return at(b, e->pos, rc);
    }
    if (mp_type_equal(a->type, t)) {
        mp_type_free(t);
        *out = a;
        return 0;
    }
    if (is_null_t(a->type)) {
        mp_value v = mp_v_null(t->kind);
        mp_sql_cexpr_free(a);
        return lit_node(b, e->pos, t, &v, out);
    }
    if (!mp_sql_conv_ok(a->type, t, MP_SQL_CONV_CAST)) {
        rc = berr(b, e->pos, MP_EINPUT, "cannot cast %s to %s", TS(a->type, t1), TS(t, t2));
        mp_type_free(t);
        mp_sql_cexpr_free(a);
        return rc;
    }
    if ((rc = op_node(b, e->pos, t, mp_sql_ev_convert, &a, 1, &n)))
        return rc;
    n->mode = MP_SQL_CONV_CAST;
    return finish(b, n, out);
}

/* ---- constructors ---- */

static int bind_array(bctx *b, const mp_sql_expr *e, mp_sql_cexpr **out)
{
    if (e->n == 0)
        return berr(b, e->pos, MP_EINPUT,
                    "ARRAY[] needs at least one element (CAST a NULL to give an empty array's type)");
    mp_sql_cexpr **v = calloc(e->n, sizeof *v), *n;
    mp_type *common = NULL;
    int rc;
    if (!v)
        return oom(b);
    if ((rc = bind_list(b, e->items, e->n, v)) ||
        (rc = list_common(b, v, e->n, "ARRAY elements", &common)))
        goto fail;
    if (!common) {
        rc = berr(b, e->pos, MP_EINPUT,
                  "cannot build an ARRAY of NULL elements only: CAST a NULL to the element type");
        goto fail;
    }
    mp_type *at_ = mp_type_new_array(common);
    common = NULL;
    rc = op_node(b, e->pos, at_, mp_sql_ev_array, v, e->n, &n);
    free(v);
    if (rc)
        return rc;
    return finish(b, n, out);
fail:
    mp_type_free(common);
    free_list(v, e->n);
    return rc;
}

static int bind_map(bctx *b, const mp_sql_expr *e, mp_sql_cexpr **out)
{
    size_t pairs = e->n / 2;
    if (pairs == 0)
        return berr(b, e->pos, MP_EINPUT, "MAP() needs at least one key := value pair");
    mp_sql_cexpr **v = calloc(e->n, sizeof *v), **half = calloc(pairs, sizeof *half), *n;
    mp_type *kt = NULL, *vt = NULL;
    int rc;
    if (!v || !half) {
        free(v);
        free(half);
        return oom(b);
    }
    if ((rc = bind_list(b, e->items, 2 * pairs, v)))
        goto fail;
    for (int which = 0; which < 2; which++) {
        for (size_t i = 0; i < pairs; i++)
            half[i] = v[2 * i + (size_t)which];
        mp_type **tp = which ? &vt : &kt;
        rc = list_common(b, half, pairs, which ? "MAP values" : "MAP keys", tp);
        for (size_t i = 0; i < pairs; i++)
            v[2 * i + (size_t)which] = half[i];
        if (rc)
            goto fail;
        if (!*tp) {
            rc = berr(b, e->pos, MP_EINPUT,
                      "cannot build a MAP whose %s are all NULL: CAST a NULL to the type",
                      which ? "values" : "keys");
            goto fail;
        }
    }
    free(half);
    half = NULL;
    mp_type *mt = mp_type_new_map(kt, vt);
    kt = vt = NULL;
    rc = op_node(b, e->pos, mt, mp_sql_ev_map, v, 2 * pairs, &n);
    free(v);
    if (rc)
        return rc;
    return finish(b, n, out);
fail:
    free(half);
    mp_type_free(kt);
    mp_type_free(vt);
    free_list(v, e->n);
    return rc;
}

static int bind_struct(bctx *b, const mp_sql_expr *e, mp_sql_cexpr **out)
{
    mp_sql_cexpr **v = calloc(e->n ? e->n : 1, sizeof *v), *n;
    mp_type *st = mp_type_new_struct();
    int rc;
    if (!v || !st) {
        free(v);
        mp_type_free(st);
        return oom(b);
    }
    if ((rc = bind_list(b, e->items, e->n, v)))
        goto fail;
    for (size_t i = 0; i < e->n; i++) {
        const char *name = i < e->nnames ? e->names[i] : "";
        if (is_null_t(v[i]->type)) {
            rc = berr(b, v[i]->pos, MP_EINPUT,
                      "STRUCT field '%s' is a bare NULL: CAST it to the field's type", name);
            goto fail;
        }
        mp_type *ft = mp_type_clone(v[i]->type);
        if (!ft) {
            rc = oom(b);
            goto fail;
        }
        if ((rc = mp_type_struct_add(st, name, ft, b->err))) {
            rc = rc == MP_EEXIST ? berr(b, e->pos, MP_EINPUT, "duplicate STRUCT field '%s'", name)
                                 : at(b, e->pos, rc);
            goto fail;
        }
    }
    rc = op_node(b, e->pos, st, mp_sql_ev_struct, v, e->n, &n);
    free(v);
    if (rc)
        return rc;
    return finish(b, n, out);
fail:
    mp_type_free(st);
    free_list(v, e->n);
    return rc;
}

/* ---- function calls ---- */

/* Binds call arguments: lambdas are refused (only TRANSFORM, FILTER and
 * REDUCE take them, bound by bind_invoke); a time unit (SECONDS) is
 * passed as a STRING literal holding its name. */
static int bind_args(bctx *b, const mp_sql_expr *e, const char *fname, mp_sql_cexpr **v)
{
    for (size_t i = 0; i < e->n; i++) {
        const mp_sql_expr *a = e->items[i];
        int rc;
        if (a->kind == MP_SQL_EXPR_LAMBDA) {
            rc = berr(b, a->pos, MP_EINPUT,
                      "%s does not take a lambda (argument %zu); lambdas work with TRANSFORM, "
                      "FILTER and REDUCE", fname, i + 1);
        } else if (a->kind == MP_SQL_EXPR_TIME_UNIT) {
            const char *u = mp_sql_time_unit_name(a->unit);
            mp_value sv = mp_v_string_ref(u, strlen(u));
            rc = lit_node(b, a->pos, tnew(MP_TYPE_STRING), &sv, &v[i]);
        } else {
            rc = bind(b, a, &v[i]);
        }
        if (rc) {
            for (size_t j = 0; j < i; j++) {
                mp_sql_cexpr_free(v[j]);
                v[j] = NULL;
            }
            return rc;
        }
    }
    return 0;
}

/* Argument types and literal values for a function's bind. */
static int arg_info(bctx *b, mp_sql_cexpr **v, size_t n, const mp_type ***types,
                    const mp_value ***lits)
{
    *types = calloc(n ? n : 1, sizeof **types);
    *lits = calloc(n ? n : 1, sizeof **lits);
    if (!*types || !*lits) {
        free(*types);
        free(*lits);
        return oom(b);
    }
    for (size_t i = 0; i < n; i++) {
        (*types)[i] = v[i]->type;
        (*lits)[i] = v[i]->nk == MP_SQL_N_LIT ? &v[i]->lit : NULL;
    }
    return 0;
}

/* Binds a new aggregate call's arguments in the input scope, asks the
 * function to bind, and appends the call to the scope's list. */
static int add_aggregate(bctx *b, const mp_sql_expr *e, const mp_fn_def *def)
{
    mp_sql_aggs *ag = b->s->aggs;
    const mp_sql_scope *in = ag->input;
    if (!in)
        return berr(b, e->pos, MP_EINVAL, "no input scope for the arguments of %s", def->name);
    if (!def->aggregate)
        return berr(b, e->pos, MP_EINVAL, "aggregate function %s has no implementation",
                    def->name);
    size_t na = e->star ? 0 : e->n;
    bctx sub = {.s = in, .err = b->err, .in_agg = def->name, .in_case = b->in_case,
                .depth = b->depth};
    mp_sql_cexpr **args = calloc(na ? na : 1, sizeof *args);
    const mp_type **types = NULL;
    const mp_value **lits = NULL;
    mp_agg_impl impl = {0};
    mp_sql_expr *clone = NULL;
    int rc;
    if (!args)
        return oom(b);
    if (!e->star && (rc = bind_args(&sub, e, def->name, args))) {
        free(args);
        return rc;
    }
    if ((rc = arg_info(b, args, na, &types, &lits)))
        goto fail;
    if ((rc = def->aggregate(types, lits, na, &impl, b->err))) {
        rc = at(b, e->pos, rc);
        goto fail;
    }
    if (!impl.ret || !impl.add || !impl.result) {
        rc = berr(b, e->pos, MP_EINVAL, "aggregate function %s gave no implementation",
                  def->name);
        goto fail;
    }
    mp_sql_agg_call *grown = NULL;
    if (!(clone = mp_sql_expr_clone(e)) ||
        !(grown = realloc(ag->calls, (ag->n + 1) * sizeof *grown))) {
        rc = oom(b);
        goto fail;
    }
    ag->calls = grown;
    ag->calls[ag->n++] =
        (mp_sql_agg_call){.call = clone, .def = def, .impl = impl, .nargs = na, .args = args};
    free(types);
    free(lits);
    return 0;
fail:
    mp_sql_expr_free(clone);
    mp_type_free(impl.ret);
    mp_type_free(impl.state_type);
    free(types);
    free(lits);
    free_list(args, na);
    return rc;
}

/* An aggregate call reads its result from the slot of its entry in the
 * scope's list; identical calls (as syntax) share one entry. */
static int bind_aggregate(bctx *b, const mp_sql_expr *e, const mp_fn_def *def,
                          mp_sql_cexpr **out)
{
    mp_sql_aggs *ag = b->s->aggs;
    if (b->in_agg)
        return berr(b, e->pos, MP_EINPUT, "aggregate calls cannot be nested: %s inside %s",
                    def->name, b->in_agg);
    if (!ag)
        return berr(b, e->pos, MP_EINPUT, "aggregate functions need GROUP BY (%s)", def->name);
    if (b->nlv)
        return berr(b, e->pos, MP_EINPUT, "aggregate functions cannot be used in a lambda (%s)",
                    def->name);
    size_t k = 0;
    while (k < ag->n && !mp_sql_expr_equal(ag->calls[k].call, e))
        k++;
    int rc;
    if (k == ag->n && (rc = add_aggregate(b, e, def)))
        return rc;
    mp_sql_cexpr *n = node_new(b, e->pos, mp_type_clone(ag->calls[k].impl.ret), 0);
    if (!n)
        return MP_ENOMEM;
    n->nk = MP_SQL_N_COL;
    n->fn = mp_sql_ev_col;
    n->slot = (uint32_t)(ag->first_slot + k);
    *out = n;
    return 0;
}

/* A table function's arguments are bound in the scope and the call added
 * to the scope's list; the expression reads the call's value for the
 * output row being made from its slot. ksqlDB's restrictions and words. */
static int add_tfn(bctx *b, const mp_sql_expr *e, const mp_fn_def *def)
{
    mp_sql_tfns *tf = b->s->tfns;
    if (!def->table)
        return berr(b, e->pos, MP_EINVAL, "table function %s has no implementation", def->name);
    size_t na = e->n;
    bctx sub = *b;
    sub.in_tfn = def->name;
    mp_sql_cexpr **args = calloc(na ? na : 1, sizeof *args);
    const mp_type **types = NULL;
    const mp_value **lits = NULL;
    mp_table_impl impl = {0};
    mp_sql_expr *clone = NULL;
    int rc;
    if (!args)
        return oom(b);
    if ((rc = bind_args(&sub, e, def->name, args))) {
        free(args);
        return rc;
    }
    if ((rc = arg_info(b, args, na, &types, &lits)))
        goto fail;
    if ((rc = def->table(types, lits, na, &impl, b->err))) {
        rc = at(b, e->pos, rc);
        goto fail;
    }
    if (!impl.fn || !impl.ret) {
        rc = berr(b, e->pos, MP_EINVAL, "table function %s gave no implementation", def->name);
        goto fail;
    }
    mp_sql_tfn_call *grown = NULL;
    if (!(clone = mp_sql_expr_clone(e)) ||
        !(grown = realloc(tf->calls, (tf->n + 1) * sizeof *grown))) {
        rc = oom(b);
        goto fail;
    }
    tf->calls = grown;
    tf->calls[tf->n++] =
        (mp_sql_tfn_call){.call = clone, .def = def, .impl = impl, .nargs = na, .args = args};
    free(types);
    free(lits);
    return 0;
fail:
    mp_sql_expr_free(clone);
    mp_type_free(impl.ret);
    free(types);
    free(lits);
    free_list(args, na);
    return rc;
}

static int bind_tfn(bctx *b, const mp_sql_expr *e, const mp_fn_def *def, mp_sql_cexpr **out)
{
    mp_sql_tfns *tf = b->s->tfns;
    if (b->in_tfn)
        return berr(b, e->pos, MP_EINPUT, "Table functions cannot be nested: %s(%s())", b->in_tfn,
                    def->name);
    if (b->in_agg || (!tf && b->s->aggs))
        return berr(b, e->pos, MP_EINPUT, "Table functions cannot be used with aggregations.");
    if (b->in_case) {
        mp_buf t = {0};
        mp_sql_expr_print(b->in_case, 0, &t);
        int rc = berr(b, e->pos, MP_EINPUT, "Table functions cannot be used in CASE: %s",
                      t.data ? t.data : "CASE");
        mp_buf_free(&t);
        return rc;
    }
    if (b->nlv)
        return berr(b, e->pos, MP_EINPUT, "Table functions cannot be used in a lambda: %s",
                    def->name);
    if (!tf)
        return berr(b, e->pos, MP_EINPUT, "%s can only be used in the select list", def->name);
    if (e->star)
        return berr(b, e->pos, MP_EINPUT, "%s(*) is not allowed: '*' works with COUNT(*)",
                    def->name);
    size_t k = 0;
    while (k < tf->n && !mp_sql_expr_equal(tf->calls[k].call, e))
        k++;
    int rc;
    if (k == tf->n && (rc = add_tfn(b, e, def)))
        return rc;
    mp_sql_cexpr *n = node_new(b, e->pos, mp_type_clone(tf->calls[k].impl.ret), 0);
    if (!n)
        return MP_ENOMEM;
    n->nk = MP_SQL_N_COL;
    n->fn = mp_sql_ev_col;
    n->slot = (uint32_t)(tf->first_slot + k);
    *out = n;
    return 0;
}

/* ---- lambdas ---- */

/* Binds lambda lam's body with np parameters of these types, which shadow
 * the scope's columns (and outer lambdas' parameters of the same name). */
static int bind_lambda(bctx *b, const mp_sql_expr *call, const mp_sql_expr *lam,
                       const mp_type *const *types, size_t np, const char *what,
                       mp_sql_cexpr **out)
{
    if (lam->nnames != np)
        return berr(b, lam->pos, MP_EINPUT, "%s: the lambda %s takes %zu argument%s, not %zu",
                    call->name, what, np, np == 1 ? "" : "s", lam->nnames);
    for (size_t i = 0; i < np; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(lam->names[i], lam->names[j]))
                return berr(b, lam->pos, MP_EINPUT,
                            "%s: a lambda's arguments need different names: %s is repeated",
                            call->name, lam->names[i]);
    if (b->nlv + np > MP_SQL_MAX_LAMBDA_VARS)
        return berr(b, lam->pos, MP_EINPUT, "lambdas nested too deeply (more than %d arguments)",
                    MP_SQL_MAX_LAMBDA_VARS);
    size_t base = b->nlv;
    for (size_t i = 0; i < np; i++) {
        b->lv_name[base + i] = lam->names[i];
        b->lv_type[base + i] = types[i];
    }
    b->nlv += np;
    int rc = bind(b, lam->a, out);
    b->nlv = base;
    return rc;
}

enum { INV_TRANSFORM, INV_FILTER, INV_REDUCE };

/* ksqlDB's refusal when no variant fits, with the lambdas as LAMBDA. */
static int invoke_refuse(bctx *b, const mp_sql_expr *e, mp_sql_cexpr **v, int which)
{
    static const char *const alts[] = {
        [INV_TRANSFORM] = "TRANSFORM(ARRAY<T>, T => R), TRANSFORM(MAP<K, V>, (K, V) => K2, "
                          "(K, V) => V2)",
        [INV_FILTER] = "FILTER(ARRAY<T>, T => BOOLEAN), FILTER(MAP<K, V>, (K, V) => BOOLEAN)",
        [INV_REDUCE] = "REDUCE(ARRAY<T>, S, (S, T) => S), REDUCE(MAP<K, V>, S, (S, K, V) => S)",
    };
    mp_buf a = {0};
    char t1[128];
    mp_buf_putc(&a, '(');
    for (size_t i = 0; i < e->n; i++) {
        if (i)
            mp_buf_puts(&a, ", ");
        mp_buf_puts(&a, v[i] ? TS(v[i]->type, t1) : "LAMBDA");
    }
    mp_buf_putc(&a, ')');
    int rc = berr(b, e->pos, MP_EINPUT,
                  "Function '%s' does not accept parameters %s. Valid alternatives are: %s",
                  e->name, a.data ? a.data : "()", alts[which]);
    mp_buf_free(&a);
    return rc;
}

/* TRANSFORM, FILTER and REDUCE: the collection (and REDUCE's initial
 * state) first, then the lambdas, typed from them (ksqlDB's rules: an
 * array's lambda takes the element, a map's the key and the value,
 * REDUCE's the state first and must return the state's type). */
static int bind_invoke(bctx *b, const mp_sql_expr *e, const mp_fn_def *def, mp_sql_cexpr **out)
{
    int which = !strcmp(def->name, "TRANSFORM") ? INV_TRANSFORM
                : !strcmp(def->name, "FILTER")  ? INV_FILTER
                                                : INV_REDUCE;
    if (e->star)
        return berr(b, e->pos, MP_EINPUT, "%s(*) is not allowed: '*' works with COUNT(*)",
                    def->name);
    size_t nv = which == INV_REDUCE ? 2 : 1, nl = 0;
    mp_sql_cexpr **v = calloc(e->n + 1, sizeof *v), *n = NULL;
    mp_type *rt = NULL;
    char t1[128], t2[128];
    int rc = 0;
    if (!v)
        return oom(b);
    for (size_t i = 0; i < e->n && !rc; i++) {
        if (e->items[i]->kind == MP_SQL_EXPR_LAMBDA)
            nl++;
        else
            rc = bind(b, e->items[i], &v[i]);
    }
    if (rc)
        goto fail;
    const mp_type *ct = e->n ? (v[0] ? v[0]->type : NULL) : NULL;
    int is_map = ct && ct->kind == MP_TYPE_MAP;
    size_t want_l = which == INV_TRANSFORM && is_map ? 2 : 1;
    if (!ct || (ct->kind != MP_TYPE_ARRAY && !is_map) || e->n != nv + want_l || nl != want_l ||
        e->items[nv]->kind != MP_SQL_EXPR_LAMBDA) {
        rc = invoke_refuse(b, e, v, which);
        goto fail;
    }
    const mp_type *types[3];
    const char *what = is_map ? "over a map" : "over an array";
    size_t np = 0;
    if (which == INV_REDUCE) {
        if (v[1]->type->kind == MP_TYPE_NULL) {
            rc = berr(b, v[1]->pos, MP_EINPUT,
                      "REDUCE: the initial state is a bare NULL: CAST it to the state's type");
            goto fail;
        }
        types[np++] = v[1]->type;
    }
    if (is_map) {
        types[np++] = ct->key;
        types[np++] = ct->elem;
    } else {
        types[np++] = ct->elem;
    }
    size_t base = b->nlv;
    for (size_t l = 0; l < want_l; l++) {
        const char *w = want_l == 2 ? (l == 0 ? "for the keys" : "for the values") : what;
        if ((rc = bind_lambda(b, e, e->items[nv + l], types, np, w, &v[nv + l])))
            goto fail;
        const mp_sql_cexpr *body = v[nv + l];
        if (which != INV_FILTER && body->type->kind == MP_TYPE_NULL) {
            rc = berr(b, e->items[nv + l]->pos, MP_EINPUT,
                      "%s: the lambda returns a bare NULL: CAST it to a type", def->name);
            goto fail;
        }
    }
    mp_sql_eval_fn fn;
    const mp_type *b1 = v[nv]->type, *b2 = want_l == 2 ? v[nv + 1]->type : NULL;
    switch (which) {
    case INV_TRANSFORM:
        fn = is_map ? mp_sql_ev_transform_map : mp_sql_ev_transform_array;
        rt = is_map ? mp_type_new_map(mp_type_clone(b1), mp_type_clone(b2))
                    : mp_type_new_array(mp_type_clone(b1));
        break;
    case INV_FILTER:
        if (b1->kind != MP_TYPE_BOOLEAN && b1->kind != MP_TYPE_NULL) {
            rc = berr(b, e->items[nv]->pos, MP_EINPUT,
                      "FILTER: the lambda must return a BOOLEAN, not %s", TS(b1, t1));
            goto fail;
        }
        fn = is_map ? mp_sql_ev_filter_map : mp_sql_ev_filter_array;
        rt = mp_type_clone(ct);
        break;
    default:
        if (!mp_type_equal(b1, v[1]->type)) {
            rc = berr(b, e->items[nv]->pos, MP_EINPUT,
                      "REDUCE: the lambda returns %s but the initial state is %s; they must "
                      "have the same type (CAST the initial state, e.g. CAST(0 AS %s))",
                      TS(b1, t1), TS(v[1]->type, t2), TS(b1, t1));
            goto fail;
        }
        fn = is_map ? mp_sql_ev_reduce_map : mp_sql_ev_reduce_array;
        rt = mp_type_clone(v[1]->type);
        break;
    }
    if (!rt) {
        rc = oom(b);
        goto fail;
    }
    rc = op_node(b, e->pos, rt, fn, v, e->n, &n);
    free(v);
    if (rc)
        return rc;
    n->slot = (uint32_t)base;
    *out = n; /* not folded: a body reads the frame, which folding has not got */
    return 0;
fail:
    free_list(v, e->n);
    return rc;
}

static int bind_call(bctx *b, const mp_sql_expr *e, mp_sql_cexpr **out)
{
    const mp_fn_def *def = b->s->fns ? mp_fn_lookup(b->s->fns, e->name) : NULL;
    if (!def)
        return berr(b, e->pos, MP_ENOTFOUND, "unknown function '%s'", e->name);
    if (def->kind == MP_FN_TABLE)
        return bind_tfn(b, e, def, out);
    if (def->kind == MP_FN_AGGREGATE)
        return bind_aggregate(b, e, def, out);
    if (e->star)
        return berr(b, e->pos, MP_EINPUT, "%s(*) is not allowed: '*' works with COUNT(*)",
                    def->name);
    if (def->scalar == mp_fn_lambda_bind)
        return bind_invoke(b, e, def, out);
    if (!def->scalar)
        return berr(b, e->pos, MP_EINVAL, "function %s has no implementation", def->name);
    size_t na = e->n;
    mp_sql_cexpr **args = calloc(na ? na : 1, sizeof *args), *n;
    const mp_type **types = NULL;
    const mp_value **lits = NULL;
    mp_scalar_impl impl = {0};
    int rc;
    if (!args)
        return oom(b);
    if ((rc = bind_args(b, e, def->name, args))) {
        free(args);
        return rc;
    }
    if ((rc = arg_info(b, args, na, &types, &lits)))
        goto fail;
    if ((rc = def->scalar(types, lits, na, &impl, b->err))) {
        rc = at(b, e->pos, rc);
        goto fail;
    }
    free(types);
    free(lits);
    types = NULL;
    lits = NULL;
    if (!impl.fn || !impl.ret) {
        rc = berr(b, e->pos, MP_EINVAL, "function %s gave no implementation", def->name);
        goto fail;
    }
    rc = op_node(b, e->pos, impl.ret, mp_sql_ev_call, args, na, &n);
    free(args);
    if (rc)
        return rc;
    n->fimpl = impl;
    n->fimpl.ret = NULL; /* owned as n->type */
    *out = n;            /* calls are not folded: functions may not be deterministic */
    return 0;
fail:
    mp_type_free(impl.ret);
    free(types);
    free(lits);
    free_list(args, na);
    return rc;
}

/* ---- dispatch ---- */

static int bind(bctx *b, const mp_sql_expr *e, mp_sql_cexpr **out)
{
    *out = NULL;
    if (!e)
        return mp_error_set(b->err, MP_EINVAL, "missing expression");
    if (++b->depth > MP_SQL_MAX_HEIGHT + 8) {
        b->depth--;
        return berr(b, e->pos, MP_EINPUT, "expression nested too deeply");
    }
    int rc;
    switch (e->kind) {
    case MP_SQL_EXPR_NULL:
    case MP_SQL_EXPR_BOOL:
    case MP_SQL_EXPR_INT:
    case MP_SQL_EXPR_DECIMAL:
    case MP_SQL_EXPR_DOUBLE:
    case MP_SQL_EXPR_STRING: rc = bind_literal(b, e, out); break;
    case MP_SQL_EXPR_COLUMN: rc = bind_column(b, e, out); break;
    case MP_SQL_EXPR_DEREF: rc = bind_deref(b, e, out); break;
    case MP_SQL_EXPR_SUBSCRIPT: rc = bind_subscript(b, e, out); break;
    case MP_SQL_EXPR_UNARY: rc = bind_unary(b, e, out); break;
    case MP_SQL_EXPR_BINARY: rc = bind_binary(b, e, out); break;
    case MP_SQL_EXPR_NOT: rc = bind_not(b, e, out); break;
    case MP_SQL_EXPR_IS_NULL: rc = bind_is_null(b, e, out); break;
    case MP_SQL_EXPR_DISTINCT: rc = bind_distinct(b, e, out); break;
    case MP_SQL_EXPR_BETWEEN: rc = bind_between(b, e, out); break;
    case MP_SQL_EXPR_IN: rc = bind_in(b, e, out); break;
    case MP_SQL_EXPR_LIKE: rc = bind_like(b, e, out); break;
    case MP_SQL_EXPR_CALL: rc = bind_call(b, e, out); break;
    case MP_SQL_EXPR_CAST: rc = bind_cast(b, e, out); break;
    case MP_SQL_EXPR_CASE: rc = bind_case(b, e, out); break;
    case MP_SQL_EXPR_ARRAY: rc = bind_array(b, e, out); break;
    case MP_SQL_EXPR_MAP: rc = bind_map(b, e, out); break;
    case MP_SQL_EXPR_STRUCT: rc = bind_struct(b, e, out); break;
    case MP_SQL_EXPR_LAMBDA:
        rc = berr(b, e->pos, MP_EINPUT, "a lambda can only be a function argument");
        break;
    case MP_SQL_EXPR_TIME_UNIT:
        rc = berr(b, e->pos, MP_EINPUT, "a time unit can only be a function argument");
        break;
    default: rc = berr(b, e->pos, MP_EINVAL, "unknown expression kind %d", (int)e->kind); break;
    }
    b->depth--;
    if (rc == 0 && !*out)
        rc = oom(b);
    return rc;
}

/* ---- public ---- */

static void agg_call_free(mp_sql_agg_call *c)
{
    mp_sql_expr_free(c->call);
    mp_type_free(c->impl.state_type);
    mp_type_free(c->impl.ret);
    free_list(c->args, c->nargs);
    memset(c, 0, sizeof *c);
}

void mp_sql_aggs_free(mp_sql_aggs *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n; i++)
        agg_call_free(&a->calls[i]);
    free(a->calls);
    a->calls = NULL;
    a->n = 0;
}

static void tfn_call_free(mp_sql_tfn_call *c)
{
    mp_sql_expr_free(c->call);
    mp_type_free(c->impl.ret);
    free_list(c->args, c->nargs);
    memset(c, 0, sizeof *c);
}

void mp_sql_tfns_free(mp_sql_tfns *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        tfn_call_free(&t->calls[i]);
    free(t->calls);
    t->calls = NULL;
    t->n = 0;
}

int mp_sql_tfn_eval(const mp_sql_tfns *t, size_t k, const mp_value *row, mp_fn_ctx *cx,
                    mp_value **vals, size_t *n)
{
    const mp_sql_tfn_call *c = &t->calls[k];
    mp_value local[8], *args = local;
    *vals = NULL;
    *n = 0;
    if (c->nargs > 8 && !(args = mp_arena_alloc(cx->arena, c->nargs * sizeof *args)))
        return mp_error_set(cx->e, MP_ENOMEM, "out of memory");
    for (size_t i = 0; i < c->nargs; i++) {
        int rc = mp_sql_eval(c->args[i], row, cx, &args[i]);
        if (rc)
            return rc;
    }
    int rc = c->impl.fn(cx, args, c->nargs, vals, n, c->impl.data);
    if (rc) {
        *vals = NULL;
        *n = 0;
        if (rc != MP_ENOMEM)
            mp_error_prefix(cx->e, "line %u:%u: %s", (unsigned)c->call->pos.line,
                            (unsigned)c->call->pos.col, c->def->name);
        return rc < 0 ? rc : MP_EINPUT;
    }
    return 0;
}

int mp_sql_compile(const mp_sql_expr *e, const mp_sql_scope *s, mp_sql_cexpr **out,
                   mp_error *err)
{
    if (out)
        *out = NULL;
    if (!e || !s || !out || (s->ncols && !s->cols))
        return mp_error_set(err, MP_EINVAL, "mp_sql_compile: missing argument");
    size_t n0 = s->aggs ? s->aggs->n : 0, t0 = s->tfns ? s->tfns->n : 0;
    bctx b = {.s = s, .err = err};
    int rc = bind(&b, e, out);
    if (rc && s->aggs) {
        /* leave the aggregate list as it was before this expression */
        while (s->aggs->n > n0)
            agg_call_free(&s->aggs->calls[--s->aggs->n]);
    }
    if (rc && s->tfns)
        while (s->tfns->n > t0)
            tfn_call_free(&s->tfns->calls[--s->tfns->n]);
    return rc;
}

int mp_sql_type_from_ast(const mp_sql_type *t, mp_type **out, mp_error *err)
{
    static const mp_type_kind kinds[] = {
        [MP_SQL_TYPE_BOOLEAN] = MP_TYPE_BOOLEAN, [MP_SQL_TYPE_INTEGER] = MP_TYPE_INTEGER,
        [MP_SQL_TYPE_BIGINT] = MP_TYPE_BIGINT,   [MP_SQL_TYPE_DOUBLE] = MP_TYPE_DOUBLE,
        [MP_SQL_TYPE_STRING] = MP_TYPE_STRING,   [MP_SQL_TYPE_BYTES] = MP_TYPE_BYTES,
        [MP_SQL_TYPE_TIMESTAMP] = MP_TYPE_TIMESTAMP, [MP_SQL_TYPE_DATE] = MP_TYPE_DATE,
        [MP_SQL_TYPE_TIME] = MP_TYPE_TIME,
    };
    int rc;
    *out = NULL;
    if (!t)
        return mp_error_set(err, MP_EINVAL, "missing type");
    switch (t->kind) {
    case MP_SQL_TYPE_DECIMAL: return mp_type_new_decimal(t->precision, t->scale, out, err);
    case MP_SQL_TYPE_ARRAY: {
        mp_type *el;
        if ((rc = mp_sql_type_from_ast(t->elem, &el, err)))
            return rc;
        *out = mp_type_new_array(el);
        break;
    }
    case MP_SQL_TYPE_MAP: {
        mp_type *k, *v;
        if ((rc = mp_sql_type_from_ast(t->key, &k, err)))
            return rc;
        if ((rc = mp_sql_type_from_ast(t->elem, &v, err))) {
            mp_type_free(k);
            return rc;
        }
        *out = mp_type_new_map(k, v);
        break;
    }
    case MP_SQL_TYPE_STRUCT: {
        mp_type *st = mp_type_new_struct();
        if (!st)
            break;
        for (size_t i = 0; i < t->nfields; i++) {
            mp_type *ft;
            if ((rc = mp_sql_type_from_ast(t->fields[i].type, &ft, err)) ||
                (rc = mp_type_struct_add(st, t->fields[i].name, ft, err))) {
                mp_type_free(st);
                return rc;
            }
        }
        *out = st;
        return 0;
    }
    default:
        if ((size_t)t->kind >= sizeof kinds / sizeof kinds[0] || kinds[t->kind] == MP_TYPE_NULL)
            return mp_error_set(err, MP_EINVAL, "unknown type kind %d", (int)t->kind);
        *out = mp_type_new(kinds[t->kind]);
        break;
    }
    return *out ? 0 : mp_error_set(err, MP_ENOMEM, "out of memory");
}
