#include "sql/sql_parser.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *src;
    size_t srclen;
    mp_sql_tokens toks;
    size_t i;
    int depth;
    int rc; /* the first error; later ones are ignored */
    int quiet; /* > 0 during a trial parse: errors set rc but no message */
    mp_sql_pos *err_pos;
    mp_error *e;
} parser;

/* ---- tokens ---- */

static const mp_sql_token *peek_at(const parser *p, size_t k)
{
    size_t j = p->i + k;
    return &p->toks.v[j < p->toks.n ? j : p->toks.n - 1];
}

static const mp_sql_token *peek(const parser *p) { return peek_at(p, 0); }

static const mp_sql_token *next(parser *p)
{
    const mp_sql_token *t = peek(p);
    if (t->kind != MP_SQL_TOK_EOF)
        p->i++;
    return t;
}

static bool is_kw(const mp_sql_token *t, mp_sql_keyword kw)
{
    return t->kind == MP_SQL_TOK_IDENT && t->kw == kw;
}

static bool accept(parser *p, mp_sql_tok_kind kind)
{
    if (peek(p)->kind != kind)
        return false;
    next(p);
    return true;
}

static bool accept_kw(parser *p, mp_sql_keyword kw)
{
    if (!is_kw(peek(p), kw))
        return false;
    next(p);
    return true;
}

/* A token that can name something: a quoted identifier or a word that
 * isn't reserved. */
static bool is_name_tok(const mp_sql_token *t)
{
    return t->kind == MP_SQL_TOK_QIDENT ||
           (t->kind == MP_SQL_TOK_IDENT && !mp_sql_keyword_is_reserved(t->kw));
}

static bool is_number_tok(const mp_sql_token *t)
{
    return t->kind == MP_SQL_TOK_INTEGER || t->kind == MP_SQL_TOK_DECIMAL ||
           t->kind == MP_SQL_TOK_DOUBLE;
}

/* '-' directly before a number makes a negative literal (ksqlDB's number
 * rule), except before an integer zero: -0 is the integer 0, and folding
 * it would lose the '-' that a tree printed back must keep. */
static bool folds_into_literal(const mp_sql_token *minus, const mp_sql_token *num)
{
    if (minus->kind != MP_SQL_TOK_MINUS || !is_number_tok(num))
        return false;
    if (num->kind != MP_SQL_TOK_INTEGER)
        return true;
    return strspn(num->text, "0") != num->text_len;
}

/* ---- errors ---- */

static void describe(const parser *p, const mp_sql_token *t, char *buf, size_t n)
{
    if (t->kind == MP_SQL_TOK_EOF) {
        snprintf(buf, n, "end of input");
        return;
    }
    const char *s = p->src + t->pos.offset;
    size_t len = t->len;
    const char *ell = "";
    if (len > 40) {
        len = 37;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--; /* don't cut a UTF-8 sequence */
        ell = "...";
    }
    if (t->kind == MP_SQL_TOK_STRING)
        snprintf(buf, n, "string %.*s%s", (int)len, s, ell);
    else
        snprintf(buf, n, "'%.*s%s'", (int)len, s, ell);
}

static int fail_at(parser *p, mp_sql_pos at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_at(parser *p, mp_sql_pos at, const char *fmt, ...)
{
    if (p->rc)
        return p->rc;
    if (p->quiet)
        return p->rc = MP_EINPUT;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->err_pos)
        *p->err_pos = at;
    p->rc = mp_error_set(p->e, MP_EINPUT, "line %u:%u: %s", (unsigned)at.line,
                         (unsigned)at.col, msg);
    return p->rc;
}

static int oom(parser *p)
{
    if (!p->rc && p->quiet)
        p->rc = MP_ENOMEM;
    if (!p->rc)
        p->rc = mp_error_set(p->e, MP_ENOMEM, "out of memory while parsing SQL");
    return p->rc;
}

/* "expected <what> but found <the next token>" */
static int expected(parser *p, const char *what)
{
    const mp_sql_token *t = peek(p);
    char found[96];
    describe(p, t, found, sizeof found);
    if (t->kind == MP_SQL_TOK_IDENT && mp_sql_keyword_is_reserved(t->kw) &&
        strstr(what, "name"))
        return fail_at(p, t->pos,
                       "expected %s but found reserved word %s (quote it in backticks to use "
                       "it as a name)",
                       what, found);
    return fail_at(p, t->pos, "expected %s but found %s", what, found);
}

static bool expect(parser *p, mp_sql_tok_kind kind)
{
    if (accept(p, kind))
        return true;
    expected(p, mp_sql_tok_kind_name(kind));
    return false;
}

static bool expect_kw(parser *p, mp_sql_keyword kw)
{
    if (accept_kw(p, kw))
        return true;
    char what[40];
    snprintf(what, sizeof what, "%s", mp_sql_keyword_name(kw));
    expected(p, what);
    return false;
}

static bool enter(parser *p)
{
    if (p->depth >= MP_SQL_MAX_DEPTH) {
        fail_at(p, peek(p)->pos, "nesting is too deep (more than %d levels)", MP_SQL_MAX_DEPTH);
        return false;
    }
    p->depth++;
    return true;
}

static void leave(parser *p) { p->depth--; }

/* ---- small builders ---- */

static char *dup_n(parser *p, const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d) {
        oom(p);
        return NULL;
    }
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Makes room for one more element at the end of the array *arr_ptr holding
 * n elements of elem bytes (capacity doubles at powers of two) and returns
 * the zeroed slot; the caller then counts it. */
static void *grow(parser *p, void *arr_ptr, size_t n, size_t elem)
{
    void *arr;
    memcpy(&arr, arr_ptr, sizeof arr);
    if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
        size_t cap = n == 0 ? 4 : n * 2;
        if (cap > SIZE_MAX / elem) {
            oom(p);
            return NULL;
        }
        void *v = realloc(arr, cap * elem);
        if (!v) {
            oom(p);
            return NULL;
        }
        arr = v;
        memcpy(arr_ptr, &arr, sizeof arr);
    }
    void *slot = (char *)arr + n * elem;
    memset(slot, 0, elem);
    return slot;
}

/* Appends x to an expression array; frees x if that fails. */
static bool push_expr(parser *p, mp_sql_expr ***arr, size_t *n, mp_sql_expr *x)
{
    mp_sql_expr **slot = grow(p, arr, *n, sizeof *slot);
    if (!slot) {
        mp_sql_expr_free(x);
        return false;
    }
    *slot = x;
    (*n)++;
    return true;
}

static bool push_name(parser *p, char ***arr, size_t *n, char *x)
{
    char **slot = grow(p, arr, *n, sizeof *slot);
    if (!slot) {
        free(x);
        return false;
    }
    *slot = x;
    (*n)++;
    return true;
}

static mp_sql_expr *new_expr(parser *p, mp_sql_expr_kind kind, mp_sql_pos pos)
{
    mp_sql_expr *e = mp_sql_expr_new(kind);
    if (!e) {
        oom(p);
        return NULL;
    }
    e->pos = pos;
    return e;
}

/* Sets the node's height and enforces the cap; frees e when over it. */
static mp_sql_expr *finish(parser *p, mp_sql_expr *e)
{
    if (!e)
        return NULL;
    mp_sql_expr_update_height(e);
    if (e->height > MP_SQL_MAX_HEIGHT) {
        fail_at(p, e->pos, "expression is too deeply nested (more than %d levels)",
                MP_SQL_MAX_HEIGHT);
        mp_sql_expr_free(e);
        return NULL;
    }
    return e;
}

/* A name: a quoted identifier as written, a word upper-cased. */
static char *parse_name(parser *p, const char *what)
{
    const mp_sql_token *t = peek(p);
    if (!is_name_tok(t)) {
        expected(p, what);
        return NULL;
    }
    next(p);
    return dup_n(p, t->text, t->text_len);
}

/* An integer literal >= 0 (sizes, LIMIT, DECIMAL precision, ...). */
static bool parse_count(parser *p, const char *what, int64_t *out)
{
    const mp_sql_token *t = peek(p);
    if (t->kind != MP_SQL_TOK_INTEGER) {
        expected(p, what);
        return false;
    }
    uint64_t v = 0;
    for (size_t k = 0; k < t->text_len; k++) {
        unsigned d = (unsigned)(t->text[k] - '0');
        if (v > (UINT64_C(9223372036854775807) - d) / 10) {
            fail_at(p, t->pos, "integer %s is out of range", t->text);
            return false;
        }
        v = v * 10 + d;
    }
    next(p);
    *out = (int64_t)v;
    return true;
}

/* ---- types ---- */

static mp_sql_type *parse_type(parser *p);

static mp_sql_type *new_type(parser *p, mp_sql_type_kind kind)
{
    mp_sql_type *t = mp_sql_type_new(kind);
    if (!t)
        oom(p);
    return t;
}

/* Closes a '<' list; '>>' arrives as two '>' tokens already. */
static bool expect_gt(parser *p) { return expect(p, MP_SQL_TOK_GT); }

static mp_sql_type *parse_type_inner(parser *p)
{
    const mp_sql_token *t = peek(p);
    if (t->kind != MP_SQL_TOK_IDENT) {
        if (t->kind == MP_SQL_TOK_QIDENT)
            fail_at(p, t->pos, "unknown type '%s'", t->text);
        else
            expected(p, "a type");
        return NULL;
    }
    static const struct {
        const char *name;
        mp_sql_type_kind kind;
    } simple[] = {
        {"BOOLEAN", MP_SQL_TYPE_BOOLEAN}, {"INT", MP_SQL_TYPE_INTEGER},
        {"INTEGER", MP_SQL_TYPE_INTEGER}, {"BIGINT", MP_SQL_TYPE_BIGINT},
        {"DOUBLE", MP_SQL_TYPE_DOUBLE},   {"STRING", MP_SQL_TYPE_STRING},
        {"VARCHAR", MP_SQL_TYPE_STRING},  {"BYTES", MP_SQL_TYPE_BYTES},
        {"TIMESTAMP", MP_SQL_TYPE_TIMESTAMP}, {"DATE", MP_SQL_TYPE_DATE},
        {"TIME", MP_SQL_TYPE_TIME},
    };
    for (size_t k = 0; k < sizeof simple / sizeof simple[0]; k++) {
        if (strcmp(t->text, simple[k].name) == 0) {
            next(p);
            return new_type(p, simple[k].kind);
        }
    }
    mp_sql_type *ty = NULL;
    switch (t->kw) {
    case MP_SQL_KW_DECIMAL: {
        next(p);
        int64_t prec, scale;
        if (!expect(p, MP_SQL_TOK_LPAREN))
            return NULL;
        const mp_sql_token *pt = peek(p);
        if (!parse_count(p, "the DECIMAL precision", &prec) || !expect(p, MP_SQL_TOK_COMMA))
            return NULL;
        const mp_sql_token *st = peek(p);
        if (!parse_count(p, "the DECIMAL scale", &scale) || !expect(p, MP_SQL_TOK_RPAREN))
            return NULL;
        if (prec < 1 || prec > INT_MAX) {
            fail_at(p, pt->pos, "DECIMAL precision must be at least 1 (and fit in 32 bits), not %s",
                    pt->text);
            return NULL;
        }
        if (scale > prec) {
            fail_at(p, st->pos, "DECIMAL scale %s is larger than the precision %s", st->text,
                    pt->text);
            return NULL;
        }
        if (!(ty = new_type(p, MP_SQL_TYPE_DECIMAL)))
            return NULL;
        ty->precision = (int)prec;
        ty->scale = (int)scale;
        return ty;
    }
    case MP_SQL_KW_ARRAY:
        next(p);
        if (!expect(p, MP_SQL_TOK_LT) || !(ty = new_type(p, MP_SQL_TYPE_ARRAY)))
            return NULL;
        if (!(ty->elem = parse_type(p)) || !expect_gt(p))
            goto fail;
        return ty;
    case MP_SQL_KW_MAP:
        next(p);
        if (!expect(p, MP_SQL_TOK_LT) || !(ty = new_type(p, MP_SQL_TYPE_MAP)))
            return NULL;
        if (!(ty->key = parse_type(p)) || !expect(p, MP_SQL_TOK_COMMA) ||
            !(ty->elem = parse_type(p)) || !expect_gt(p))
            goto fail;
        return ty;
    case MP_SQL_KW_STRUCT:
        next(p);
        if (!(ty = new_type(p, MP_SQL_TYPE_STRUCT)))
            return NULL;
        if (accept(p, MP_SQL_TOK_NE)) /* STRUCT<> lexes as the <> operator */
            return ty;
        if (!expect(p, MP_SQL_TOK_LT))
            goto fail;
        if (accept(p, MP_SQL_TOK_GT))
            return ty;
        do {
            const mp_sql_token *ft = peek(p);
            mp_sql_struct_field *f = grow(p, &ty->fields, ty->nfields, sizeof *f);
            if (!f)
                goto fail;
            ty->nfields++;
            if (!(f->name = parse_name(p, "a field name")) || !(f->type = parse_type(p)))
                goto fail;
            for (size_t k = 0; k + 1 < ty->nfields; k++) {
                if (strcmp(ty->fields[k].name, f->name) == 0) {
                    fail_at(p, ft->pos, "duplicate field '%s' in STRUCT", f->name);
                    goto fail;
                }
            }
        } while (accept(p, MP_SQL_TOK_COMMA));
        if (!expect_gt(p))
            goto fail;
        return ty;
    default: break;
    }
    fail_at(p, t->pos,
            "unknown type '%s'; expected one of BOOLEAN, INT, INTEGER, BIGINT, DOUBLE, "
            "DECIMAL, STRING, VARCHAR, BYTES, TIMESTAMP, DATE, TIME, ARRAY, MAP, STRUCT",
            t->text);
    return NULL;
fail:
    mp_sql_type_free(ty);
    return NULL;
}

static mp_sql_type *parse_type(parser *p)
{
    if (!enter(p))
        return NULL;
    mp_sql_type *t = parse_type_inner(p);
    leave(p);
    return t;
}

/* ---- expressions ---- */

static mp_sql_expr *parse_expr(parser *p);
static mp_sql_expr *parse_value_expr(parser *p);
static mp_sql_expr *parse_unary(parser *p);
static mp_sql_expr *parse_not(parser *p);

static mp_sql_expr *binary(parser *p, mp_sql_op op, mp_sql_expr *l, mp_sql_expr *r)
{
    if (!l || !r) {
        mp_sql_expr_free(l);
        mp_sql_expr_free(r);
        return NULL;
    }
    mp_sql_expr *e = new_expr(p, MP_SQL_EXPR_BINARY, l->pos);
    if (!e) {
        mp_sql_expr_free(l);
        mp_sql_expr_free(r);
        return NULL;
    }
    e->op = op;
    e->a = l;
    e->b = r;
    return finish(p, e);
}

static bool is_time_unit_kw(mp_sql_keyword kw, mp_sql_time_unit *u)
{
    switch (kw) {
    case MP_SQL_KW_MILLISECOND:
    case MP_SQL_KW_MILLISECONDS: *u = MP_SQL_MILLISECONDS; return true;
    case MP_SQL_KW_SECOND:
    case MP_SQL_KW_SECONDS: *u = MP_SQL_SECONDS; return true;
    case MP_SQL_KW_MINUTE:
    case MP_SQL_KW_MINUTES: *u = MP_SQL_MINUTES; return true;
    case MP_SQL_KW_HOUR:
    case MP_SQL_KW_HOURS: *u = MP_SQL_HOURS; return true;
    case MP_SQL_KW_DAY:
    case MP_SQL_KW_DAYS: *u = MP_SQL_DAYS; return true;
    default: return false;
    }
}

/* A number literal at the current token, negated when neg. */
static mp_sql_expr *number_literal(parser *p, bool neg, mp_sql_pos pos)
{
    const mp_sql_token *t = next(p);
    mp_sql_expr *e = NULL;
    if (t->kind == MP_SQL_TOK_INTEGER) {
        uint64_t v = 0, lim = neg ? UINT64_C(9223372036854775808) : UINT64_C(9223372036854775807);
        for (size_t k = 0; k < t->text_len; k++) {
            unsigned d = (unsigned)(t->text[k] - '0');
            if (v > (lim - d) / 10) {
                fail_at(p, pos, "integer literal %s%s is out of range for BIGINT", neg ? "-" : "",
                        t->text);
                return NULL;
            }
            v = v * 10 + d;
        }
        if (!(e = new_expr(p, MP_SQL_EXPR_INT, pos)))
            return NULL;
        /* -2^63 is representable, its magnitude isn't. */
        if (neg)
            e->i = v == UINT64_C(9223372036854775808) ? INT64_MIN : -(int64_t)v;
        else
            e->i = (int64_t)v;
        return e;
    }
    if (t->kind == MP_SQL_TOK_DOUBLE) {
        char *end;
        double d = strtod(t->text, &end);
        if (d == HUGE_VAL || d == -HUGE_VAL || *end != '\0') {
            fail_at(p, pos, "double literal %s%s is out of range", neg ? "-" : "", t->text);
            return NULL;
        }
        if (!(e = new_expr(p, MP_SQL_EXPR_DOUBLE, pos)))
            return NULL;
        e->d = neg ? -d : d;
        return e;
    }
    if (!(e = new_expr(p, MP_SQL_EXPR_DECIMAL, pos)))
        return NULL;
    e->len = t->text_len + (neg ? 1 : 0);
    e->str = malloc(e->len + 1);
    if (!e->str) {
        mp_sql_expr_free(e);
        oom(p);
        return NULL;
    }
    if (neg)
        e->str[0] = '-';
    memcpy(e->str + (neg ? 1 : 0), t->text, t->text_len + 1);
    return e;
}

/* At a function argument: x => ..., or (x, y) => ... ? */
static bool at_lambda(const parser *p)
{
    if (is_name_tok(peek(p)))
        return peek_at(p, 1)->kind == MP_SQL_TOK_LAMBDA;
    if (peek(p)->kind != MP_SQL_TOK_LPAREN)
        return false;
    size_t k = 1;
    for (;;) {
        if (!is_name_tok(peek_at(p, k)))
            return false;
        k++;
        if (peek_at(p, k)->kind == MP_SQL_TOK_COMMA) {
            k++;
            continue;
        }
        return peek_at(p, k)->kind == MP_SQL_TOK_RPAREN &&
               peek_at(p, k + 1)->kind == MP_SQL_TOK_LAMBDA;
    }
}

static mp_sql_expr *parse_lambda(parser *p)
{
    mp_sql_expr *e = new_expr(p, MP_SQL_EXPR_LAMBDA, peek(p)->pos);
    if (!e)
        return NULL;
    if (accept(p, MP_SQL_TOK_LPAREN)) {
        do {
            char *n = parse_name(p, "a lambda parameter name");
            if (!n || !push_name(p, &e->names, &e->nnames, n))
                goto fail;
        } while (accept(p, MP_SQL_TOK_COMMA));
        if (!expect(p, MP_SQL_TOK_RPAREN))
            goto fail;
    } else {
        char *n = parse_name(p, "a lambda parameter name");
        if (!n || !push_name(p, &e->names, &e->nnames, n))
            goto fail;
    }
    if (!expect(p, MP_SQL_TOK_LAMBDA) || !(e->a = parse_expr(p)))
        goto fail;
    return finish(p, e);
fail:
    mp_sql_expr_free(e);
    return NULL;
}

/* name( [*] | args ), args being expressions, time units, then lambdas. */
static mp_sql_expr *parse_call(parser *p)
{
    const mp_sql_token *nt = next(p);
    mp_sql_expr *e = new_expr(p, MP_SQL_EXPR_CALL, nt->pos);
    if (!e)
        return NULL;
    if (!(e->name = dup_n(p, nt->text, nt->text_len)))
        goto fail;
    next(p); /* ( */
    if (accept(p, MP_SQL_TOK_RPAREN))
        return finish(p, e);
    if (peek(p)->kind == MP_SQL_TOK_STAR && peek_at(p, 1)->kind == MP_SQL_TOK_RPAREN) {
        next(p);
        next(p);
        e->star = true;
        return finish(p, e);
    }
    bool saw_lambda = false;
    for (;;) {
        const mp_sql_token *t = peek(p);
        mp_sql_time_unit u;
        mp_sql_expr *arg;
        if (at_lambda(p)) {
            if (e->n == 0) {
                fail_at(p, t->pos, "a lambda can't be the first argument of %s", e->name);
                goto fail;
            }
            saw_lambda = true;
            arg = parse_lambda(p);
        } else if (saw_lambda) {
            fail_at(p, t->pos, "only lambdas can follow a lambda argument of %s", e->name);
            goto fail;
        } else if (t->kind == MP_SQL_TOK_IDENT && mp_sql_keyword_is_reserved(t->kw) &&
                   is_time_unit_kw(t->kw, &u)) {
            /* DAYS, SECONDS, ... (the singular DAY, SECOND, ... are
             * names here, as in ksqlDB) */
            next(p);
            if ((arg = new_expr(p, MP_SQL_EXPR_TIME_UNIT, t->pos)))
                arg->unit = u;
        } else {
            arg = parse_expr(p);
        }
        if (!arg || !push_expr(p, &e->items, &e->n, arg))
            goto fail;
        if (accept(p, MP_SQL_TOK_COMMA))
            continue;
        if (accept(p, MP_SQL_TOK_RPAREN))
            break;
        expected(p, "',' or ')'");
        goto fail;
    }
    return finish(p, e);
fail:
    mp_sql_expr_free(e);
    return NULL;
}

static mp_sql_expr *parse_case(parser *p)
{
    mp_sql_expr *e = new_expr(p, MP_SQL_EXPR_CASE, next(p)->pos);
    if (!e)
        return NULL;
    if (!is_kw(peek(p), MP_SQL_KW_WHEN) && !(e->a = parse_value_expr(p)))
        goto fail;
    if (!is_kw(peek(p), MP_SQL_KW_WHEN)) {
        expected(p, "WHEN");
        goto fail;
    }
    while (accept_kw(p, MP_SQL_KW_WHEN)) {
        mp_sql_expr *w = parse_expr(p);
        if (!w || !push_expr(p, &e->items, &e->n, w) || !expect_kw(p, MP_SQL_KW_THEN))
            goto fail;
        mp_sql_expr *r = parse_expr(p);
        if (!r || !push_expr(p, &e->items, &e->n, r))
            goto fail;
    }
    if (accept_kw(p, MP_SQL_KW_ELSE) && !(e->c = parse_expr(p)))
        goto fail;
    if (!expect_kw(p, MP_SQL_KW_END))
        goto fail;
    return finish(p, e);
fail:
    mp_sql_expr_free(e);
    return NULL;
}

static mp_sql_expr *parse_cast(parser *p)
{
    mp_sql_expr *e = new_expr(p, MP_SQL_EXPR_CAST, next(p)->pos);
    if (!e)
        return NULL;
    if (!expect(p, MP_SQL_TOK_LPAREN) || !(e->a = parse_expr(p)) ||
        !expect_kw(p, MP_SQL_KW_AS) || !(e->type = parse_type(p)) ||
        !expect(p, MP_SQL_TOK_RPAREN)) {
        mp_sql_expr_free(e);
        return NULL;
    }
    return finish(p, e);
}

/* ARRAY[...], MAP(k := v, ...), STRUCT(name := v, ...) */
static mp_sql_expr *parse_constructor(parser *p, mp_sql_expr_kind kind)
{
    mp_sql_expr *e = new_expr(p, kind, next(p)->pos);
    if (!e)
        return NULL;
    mp_sql_tok_kind close = kind == MP_SQL_EXPR_ARRAY ? MP_SQL_TOK_RBRACKET : MP_SQL_TOK_RPAREN;
    next(p); /* [ or ( */
    if (!accept(p, close)) {
        do {
            if (kind == MP_SQL_EXPR_STRUCT) {
                char *n = parse_name(p, "a field name");
                if (!n || !push_name(p, &e->names, &e->nnames, n))
                    goto fail;
            } else if (kind == MP_SQL_EXPR_MAP) {
                mp_sql_expr *k = parse_expr(p);
                if (!k || !push_expr(p, &e->items, &e->n, k))
                    goto fail;
            }
            if (kind != MP_SQL_EXPR_ARRAY && !expect(p, MP_SQL_TOK_ASSIGN))
                goto fail;
            mp_sql_expr *v = parse_expr(p);
            if (!v || !push_expr(p, &e->items, &e->n, v))
                goto fail;
        } while (accept(p, MP_SQL_TOK_COMMA));
        if (!expect(p, close))
            goto fail;
    }
    return finish(p, e);
fail:
    mp_sql_expr_free(e);
    return NULL;
}

static mp_sql_expr *parse_primary(parser *p)
{
    const mp_sql_token *t = peek(p);
    mp_sql_expr *e;
    if (folds_into_literal(t, peek_at(p, 1))) {
        next(p);
        return number_literal(p, true, t->pos);
    }
    if (is_number_tok(t))
        return number_literal(p, false, t->pos);
    if (t->kind == MP_SQL_TOK_STRING) {
        next(p);
        if (!(e = new_expr(p, MP_SQL_EXPR_STRING, t->pos)))
            return NULL;
        if (!(e->str = dup_n(p, t->text, t->text_len))) {
            mp_sql_expr_free(e);
            return NULL;
        }
        e->len = t->text_len;
        return e;
    }
    if (t->kind == MP_SQL_TOK_LPAREN) {
        next(p);
        e = parse_expr(p);
        if (e && !expect(p, MP_SQL_TOK_RPAREN)) {
            mp_sql_expr_free(e);
            return NULL;
        }
        return e;
    }
    if (t->kind == MP_SQL_TOK_IDENT) {
        mp_sql_tok_kind after = peek_at(p, 1)->kind;
        switch (t->kw) {
        case MP_SQL_KW_NULL: next(p); return new_expr(p, MP_SQL_EXPR_NULL, t->pos);
        case MP_SQL_KW_TRUE:
        case MP_SQL_KW_FALSE:
            next(p);
            if ((e = new_expr(p, MP_SQL_EXPR_BOOL, t->pos)))
                e->boolean = t->kw == MP_SQL_KW_TRUE;
            return e;
        case MP_SQL_KW_CASE: return parse_case(p);
        case MP_SQL_KW_CAST: return parse_cast(p);
        case MP_SQL_KW_ARRAY:
            if (after == MP_SQL_TOK_LBRACKET)
                return parse_constructor(p, MP_SQL_EXPR_ARRAY);
            break;
        case MP_SQL_KW_MAP:
            if (after == MP_SQL_TOK_LPAREN)
                return parse_constructor(p, MP_SQL_EXPR_MAP);
            break;
        case MP_SQL_KW_STRUCT:
            if (after == MP_SQL_TOK_LPAREN)
                return parse_constructor(p, MP_SQL_EXPR_STRUCT);
            break;
        default: break;
        }
    }
    if (is_name_tok(t)) {
        if (peek_at(p, 1)->kind == MP_SQL_TOK_LPAREN)
            return parse_call(p);
        next(p);
        if (!(e = new_expr(p, MP_SQL_EXPR_COLUMN, t->pos)))
            return NULL;
        if (!(e->name = dup_n(p, t->text, t->text_len)))
            goto fail;
        if (peek(p)->kind == MP_SQL_TOK_DOT) {
            next(p);
            e->qualifier = e->name;
            if (!(e->name = parse_name(p, "a column name")))
                goto fail;
        }
        return e;
    fail:
        mp_sql_expr_free(e);
        return NULL;
    }
    expected(p, "an expression");
    return NULL;
}

/* primary, then any [index] and ->field; a '->' before '*' is left for
 * the select list (s->*). */
static mp_sql_expr *parse_postfix(parser *p)
{
    mp_sql_expr *e = parse_primary(p);
    while (e) {
        const mp_sql_token *t = peek(p);
        mp_sql_expr *x;
        if (t->kind == MP_SQL_TOK_LBRACKET) {
            next(p);
            if (!(x = new_expr(p, MP_SQL_EXPR_SUBSCRIPT, e->pos))) {
                mp_sql_expr_free(e);
                return NULL;
            }
            x->a = e;
            if (!(x->b = parse_value_expr(p)) || !expect(p, MP_SQL_TOK_RBRACKET)) {
                mp_sql_expr_free(x);
                return NULL;
            }
        } else if (t->kind == MP_SQL_TOK_ARROW && peek_at(p, 1)->kind != MP_SQL_TOK_STAR) {
            next(p);
            if (!(x = new_expr(p, MP_SQL_EXPR_DEREF, e->pos))) {
                mp_sql_expr_free(e);
                return NULL;
            }
            x->a = e;
            if (!(x->name = parse_name(p, "a field name"))) {
                mp_sql_expr_free(x);
                return NULL;
            }
        } else {
            break;
        }
        e = finish(p, x);
    }
    return e;
}

static mp_sql_expr *parse_unary(parser *p)
{
    const mp_sql_token *t = peek(p);
    bool neg = t->kind == MP_SQL_TOK_MINUS, pos = t->kind == MP_SQL_TOK_PLUS;
    if (!(neg || pos) || folds_into_literal(t, peek_at(p, 1)))
        return parse_postfix(p);
    if (!enter(p))
        return NULL;
    next(p);
    mp_sql_expr *a = parse_unary(p);
    leave(p);
    if (!a)
        return NULL;
    mp_sql_expr *e = new_expr(p, MP_SQL_EXPR_UNARY, t->pos);
    if (!e) {
        mp_sql_expr_free(a);
        return NULL;
    }
    e->op = neg ? MP_SQL_OP_NEG : MP_SQL_OP_POS;
    e->a = a;
    return finish(p, e);
}

static mp_sql_expr *parse_mul(parser *p)
{
    mp_sql_expr *l = parse_unary(p);
    while (l) {
        mp_sql_tok_kind k = peek(p)->kind;
        mp_sql_op op = k == MP_SQL_TOK_STAR      ? MP_SQL_OP_MUL
                       : k == MP_SQL_TOK_SLASH   ? MP_SQL_OP_DIV
                       : k == MP_SQL_TOK_PERCENT ? MP_SQL_OP_MOD
                                                 : MP_SQL_OP_NONE;
        if (op == MP_SQL_OP_NONE)
            break;
        next(p);
        l = binary(p, op, l, parse_unary(p));
    }
    return l;
}

static mp_sql_expr *parse_add(parser *p)
{
    mp_sql_expr *l = parse_mul(p);
    while (l) {
        mp_sql_tok_kind k = peek(p)->kind;
        if (k != MP_SQL_TOK_PLUS && k != MP_SQL_TOK_MINUS)
            break;
        next(p);
        l = binary(p, k == MP_SQL_TOK_PLUS ? MP_SQL_OP_ADD : MP_SQL_OP_SUB, l, parse_mul(p));
    }
    return l;
}

/* || binds looser than + and - in ksqlDB's grammar: a || b + c is
 * a || (b + c). */
static mp_sql_expr *parse_concat(parser *p)
{
    mp_sql_expr *l = parse_add(p);
    while (l && accept(p, MP_SQL_TOK_CONCAT))
        l = binary(p, MP_SQL_OP_CONCAT, l, parse_add(p));
    return l;
}

static mp_sql_op comparison_op(mp_sql_tok_kind k)
{
    switch (k) {
    case MP_SQL_TOK_EQ: return MP_SQL_OP_EQ;
    case MP_SQL_TOK_NE: return MP_SQL_OP_NE;
    case MP_SQL_TOK_LT: return MP_SQL_OP_LT;
    case MP_SQL_TOK_LE: return MP_SQL_OP_LE;
    case MP_SQL_TOK_GT: return MP_SQL_OP_GT;
    case MP_SQL_TOK_GE: return MP_SQL_OP_GE;
    default: return MP_SQL_OP_NONE;
    }
}

/* A value expression with at most one predicate after it. */
static mp_sql_expr *parse_predicate(parser *p)
{
    mp_sql_expr *l = parse_concat(p);
    if (!l)
        return NULL;
    const mp_sql_token *t = peek(p);
    mp_sql_op op = comparison_op(t->kind);
    if (op != MP_SQL_OP_NONE) {
        next(p);
        return binary(p, op, l, parse_concat(p));
    }
    mp_sql_expr *e = NULL;
    if (is_kw(t, MP_SQL_KW_IS)) {
        next(p);
        bool neg = accept_kw(p, MP_SQL_KW_NOT);
        if (accept_kw(p, MP_SQL_KW_NULL)) {
            if (!(e = new_expr(p, MP_SQL_EXPR_IS_NULL, l->pos)))
                goto fail;
        } else if (accept_kw(p, MP_SQL_KW_DISTINCT)) {
            if (!expect_kw(p, MP_SQL_KW_FROM) || !(e = new_expr(p, MP_SQL_EXPR_DISTINCT, l->pos)))
                goto fail;
            e->a = l;
            e->negated = neg;
            if (!(e->b = parse_concat(p)))
                goto fail_e;
            return finish(p, e);
        } else {
            expected(p, neg ? "NULL or DISTINCT" : "NOT, NULL or DISTINCT");
            goto fail;
        }
        e->a = l;
        e->negated = neg;
        return finish(p, e);
    }
    bool neg = false;
    const mp_sql_token *kt = t;
    if (is_kw(t, MP_SQL_KW_NOT)) {
        const mp_sql_token *u = peek_at(p, 1);
        if (!is_kw(u, MP_SQL_KW_BETWEEN) && !is_kw(u, MP_SQL_KW_IN) && !is_kw(u, MP_SQL_KW_LIKE))
            return l;
        neg = true;
        kt = u;
    }
    if (is_kw(kt, MP_SQL_KW_BETWEEN)) {
        p->i += neg ? 2 : 1;
        if (!(e = new_expr(p, MP_SQL_EXPR_BETWEEN, l->pos)))
            goto fail;
        e->a = l;
        e->negated = neg;
        if (!(e->b = parse_concat(p)) || !expect_kw(p, MP_SQL_KW_AND) ||
            !(e->c = parse_concat(p)))
            goto fail_e;
        return finish(p, e);
    }
    if (is_kw(kt, MP_SQL_KW_IN)) {
        p->i += neg ? 2 : 1;
        if (!(e = new_expr(p, MP_SQL_EXPR_IN, l->pos)))
            goto fail;
        e->a = l;
        e->negated = neg;
        if (!expect(p, MP_SQL_TOK_LPAREN))
            goto fail_e;
        do {
            mp_sql_expr *x = parse_expr(p);
            if (!x || !push_expr(p, &e->items, &e->n, x))
                goto fail_e;
        } while (accept(p, MP_SQL_TOK_COMMA));
        if (!expect(p, MP_SQL_TOK_RPAREN))
            goto fail_e;
        return finish(p, e);
    }
    if (is_kw(kt, MP_SQL_KW_LIKE)) {
        p->i += neg ? 2 : 1;
        if (!(e = new_expr(p, MP_SQL_EXPR_LIKE, l->pos)))
            goto fail;
        e->a = l;
        e->negated = neg;
        if (!(e->b = parse_concat(p)))
            goto fail_e;
        if (accept_kw(p, MP_SQL_KW_ESCAPE)) {
            const mp_sql_token *s = peek(p);
            if (s->kind != MP_SQL_TOK_STRING) {
                expected(p, "an escape character string");
                goto fail_e;
            }
            if (s->text_len != 1) {
                fail_at(p, s->pos, "ESCAPE takes a single character, not %zu", s->text_len);
                goto fail_e;
            }
            next(p);
            if (!(e->str = dup_n(p, s->text, s->text_len)))
                goto fail_e;
            e->len = s->text_len;
        }
        return finish(p, e);
    }
    return l;
fail:
    mp_sql_expr_free(l);
    return NULL;
fail_e:
    mp_sql_expr_free(e);
    return NULL;
}

static mp_sql_expr *parse_not(parser *p)
{
    const mp_sql_token *t = peek(p);
    if (!is_kw(t, MP_SQL_KW_NOT))
        return parse_predicate(p);
    if (!enter(p))
        return NULL;
    next(p);
    mp_sql_expr *a = parse_not(p);
    leave(p);
    if (!a)
        return NULL;
    mp_sql_expr *e = new_expr(p, MP_SQL_EXPR_NOT, t->pos);
    if (!e) {
        mp_sql_expr_free(a);
        return NULL;
    }
    e->a = a;
    return finish(p, e);
}

static mp_sql_expr *parse_and(parser *p)
{
    mp_sql_expr *l = parse_not(p);
    while (l && accept_kw(p, MP_SQL_KW_AND))
        l = binary(p, MP_SQL_OP_AND, l, parse_not(p));
    return l;
}

static mp_sql_expr *parse_or(parser *p)
{
    mp_sql_expr *l = parse_and(p);
    while (l && accept_kw(p, MP_SQL_KW_OR))
        l = binary(p, MP_SQL_OP_OR, l, parse_and(p));
    return l;
}

static mp_sql_expr *parse_expr(parser *p)
{
    if (!enter(p))
        return NULL;
    mp_sql_expr *e = parse_or(p);
    leave(p);
    return e;
}

/* ksqlDB's valueExpression: no AND/OR/NOT or predicates unparenthesised
 * (GROUP BY, VALUES, BETWEEN bounds, subscripts, CASE x WHEN). */
static mp_sql_expr *parse_value_expr(parser *p)
{
    if (!enter(p))
        return NULL;
    mp_sql_expr *e = parse_concat(p);
    leave(p);
    return e;
}

/* ---- queries ---- */

static bool parse_duration(parser *p, mp_sql_duration *d)
{
    if (!parse_count(p, "a non-negative integer", &d->n))
        return false;
    const mp_sql_token *t = peek(p);
    if (t->kind != MP_SQL_TOK_IDENT || !is_time_unit_kw(t->kw, &d->unit)) {
        expected(p, "a time unit (MILLISECONDS, SECONDS, MINUTES, HOURS or DAYS)");
        return false;
    }
    next(p);
    return true;
}

static bool parse_grace(parser *p, mp_sql_duration *d)
{
    return expect_kw(p, MP_SQL_KW_GRACE) && expect_kw(p, MP_SQL_KW_PERIOD) &&
           parse_duration(p, d);
}

/* name [[AS] alias]; the word EMIT before CHANGES/FINAL and PARTITION
 * before BY start clauses instead. */
static bool parse_source(parser *p, mp_sql_source *s)
{
    s->pos = peek(p)->pos;
    if (!(s->name = parse_name(p, "a stream or table name")))
        return false;
    if (accept_kw(p, MP_SQL_KW_AS))
        return (s->alias = parse_name(p, "an alias name")) != NULL;
    const mp_sql_token *t = peek(p), *u = peek_at(p, 1);
    if (!is_name_tok(t))
        return true;
    if (is_kw(t, MP_SQL_KW_EMIT) && (is_kw(u, MP_SQL_KW_CHANGES) || is_kw(u, MP_SQL_KW_FINAL)))
        return true;
    if (is_kw(t, MP_SQL_KW_PARTITION) && is_kw(u, MP_SQL_KW_BY))
        return true;
    return (s->alias = parse_name(p, "an alias name")) != NULL;
}

static bool parse_window(parser *p, mp_sql_window **out)
{
    mp_sql_window *w = calloc(1, sizeof *w);
    if (!w) {
        oom(p);
        return false;
    }
    *out = w;
    if (accept_kw(p, MP_SQL_KW_TUMBLING)) {
        w->kind = MP_SQL_WINDOW_TUMBLING;
    } else if (accept_kw(p, MP_SQL_KW_HOPPING)) {
        w->kind = MP_SQL_WINDOW_HOPPING;
    } else if (accept_kw(p, MP_SQL_KW_SESSION)) {
        w->kind = MP_SQL_WINDOW_SESSION;
    } else {
        expected(p, "TUMBLING, HOPPING or SESSION");
        return false;
    }
    if (!expect(p, MP_SQL_TOK_LPAREN))
        return false;
    if (w->kind != MP_SQL_WINDOW_SESSION && !expect_kw(p, MP_SQL_KW_SIZE))
        return false;
    if (!parse_duration(p, &w->size))
        return false;
    if (w->kind == MP_SQL_WINDOW_HOPPING) {
        if (!expect(p, MP_SQL_TOK_COMMA) || !expect_kw(p, MP_SQL_KW_ADVANCE) ||
            !expect_kw(p, MP_SQL_KW_BY) || !parse_duration(p, &w->advance))
            return false;
    }
    if (accept(p, MP_SQL_TOK_COMMA)) {
        if (accept_kw(p, MP_SQL_KW_RETENTION)) {
            w->has_retention = true;
            if (!parse_duration(p, &w->retention))
                return false;
            if (accept(p, MP_SQL_TOK_COMMA)) {
                w->has_grace = true;
                if (!parse_grace(p, &w->grace))
                    return false;
            }
        } else if (is_kw(peek(p), MP_SQL_KW_GRACE)) {
            w->has_grace = true;
            if (!parse_grace(p, &w->grace))
                return false;
        } else {
            expected(p, "RETENTION or GRACE PERIOD");
            return false;
        }
    }
    return expect(p, MP_SQL_TOK_RPAREN);
}

static bool at_join(const parser *p)
{
    const mp_sql_token *t = peek(p);
    return is_kw(t, MP_SQL_KW_JOIN) || is_kw(t, MP_SQL_KW_INNER) || is_kw(t, MP_SQL_KW_LEFT) ||
           is_kw(t, MP_SQL_KW_RIGHT) || is_kw(t, MP_SQL_KW_FULL);
}

static bool parse_join(parser *p, mp_sql_join *j)
{
    if (accept_kw(p, MP_SQL_KW_INNER)) {
        j->type = MP_SQL_JOIN_INNER;
    } else if (accept_kw(p, MP_SQL_KW_LEFT)) {
        j->type = MP_SQL_JOIN_LEFT;
        accept_kw(p, MP_SQL_KW_OUTER);
    } else if (accept_kw(p, MP_SQL_KW_RIGHT)) {
        j->type = MP_SQL_JOIN_RIGHT;
        accept_kw(p, MP_SQL_KW_OUTER);
    } else if (accept_kw(p, MP_SQL_KW_FULL)) {
        j->type = MP_SQL_JOIN_FULL;
        accept_kw(p, MP_SQL_KW_OUTER);
    } else {
        j->type = MP_SQL_JOIN_INNER;
    }
    if (!expect_kw(p, MP_SQL_KW_JOIN) || !parse_source(p, &j->source))
        return false;
    if (accept_kw(p, MP_SQL_KW_WITHIN)) {
        j->has_within = true;
        if (accept(p, MP_SQL_TOK_LPAREN)) {
            /* (before, after); a lone (n unit) is read as n unit */
            if (!parse_duration(p, &j->before))
                return false;
            if (accept(p, MP_SQL_TOK_COMMA)) {
                j->within_pair = true;
                if (!parse_duration(p, &j->after))
                    return false;
            } else {
                j->after = j->before;
            }
            if (!expect(p, MP_SQL_TOK_RPAREN))
                return false;
        } else {
            if (!parse_duration(p, &j->before))
                return false;
            j->after = j->before;
        }
        if (is_kw(peek(p), MP_SQL_KW_GRACE)) {
            j->has_grace = true;
            if (!parse_grace(p, &j->grace))
                return false;
        }
    }
    return expect_kw(p, MP_SQL_KW_ON) && (j->on = parse_expr(p)) != NULL;
}

/* GROUP BY / PARTITION BY: a, b or (a, b) or (). */
static bool parse_by_list(parser *p, mp_sql_expr ***v, size_t *n)
{
    bool parens = false;
    if (peek(p)->kind == MP_SQL_TOK_LPAREN) {
        /* A parenthesised list if there is a top-level comma in it or it
         * is empty; otherwise the '(' starts the first expression. */
        if (peek_at(p, 1)->kind == MP_SQL_TOK_RPAREN) {
            parens = true;
        } else {
            int depth = 0;
            for (size_t k = 0;; k++) {
                mp_sql_tok_kind tk = peek_at(p, k)->kind;
                if (tk == MP_SQL_TOK_EOF)
                    break;
                if (tk == MP_SQL_TOK_LPAREN || tk == MP_SQL_TOK_LBRACKET)
                    depth++;
                else if (tk == MP_SQL_TOK_RPAREN || tk == MP_SQL_TOK_RBRACKET)
                    depth--;
                else if (tk == MP_SQL_TOK_COMMA && depth == 1)
                    parens = true;
                if (depth == 0 || parens)
                    break;
            }
        }
    }
    if (parens) {
        next(p);
        if (accept(p, MP_SQL_TOK_RPAREN))
            return true;
    }
    do {
        mp_sql_expr *x = parse_value_expr(p);
        if (!x || !push_expr(p, v, n, x))
            return false;
    } while (accept(p, MP_SQL_TOK_COMMA));
    return !parens || expect(p, MP_SQL_TOK_RPAREN);
}

static bool parse_select_item(parser *p, mp_sql_select_item *it, bool struct_all_ahead)
{
    const mp_sql_token *t = peek(p);
    it->pos = t->pos;
    if (accept(p, MP_SQL_TOK_STAR)) {
        it->kind = MP_SQL_ITEM_ALL;
        return true;
    }
    if (is_name_tok(t) && peek_at(p, 1)->kind == MP_SQL_TOK_DOT &&
        peek_at(p, 2)->kind == MP_SQL_TOK_STAR) {
        it->kind = MP_SQL_ITEM_SOURCE_ALL;
        it->source = parse_name(p, "a source name");
        p->i += 2;
        return it->source != NULL;
    }
    if (struct_all_ahead) {
        /* expr->* takes a primary expression (with [i] and ->f after it):
         * try that quietly, and fall back to a whole expression. */
        size_t save = p->i;
        p->quiet++;
        mp_sql_expr *x = NULL;
        if (enter(p)) {
            x = parse_postfix(p);
            leave(p);
        }
        p->quiet--;
        if (x && peek(p)->kind == MP_SQL_TOK_ARROW && peek_at(p, 1)->kind == MP_SQL_TOK_STAR) {
            p->i += 2;
            it->kind = MP_SQL_ITEM_STRUCT_ALL;
            it->expr = x;
            return true;
        }
        mp_sql_expr_free(x);
        p->i = save;
        p->rc = 0;
    }
    it->kind = MP_SQL_ITEM_EXPR;
    if (!(it->expr = parse_expr(p)))
        return false;
    if (accept_kw(p, MP_SQL_KW_AS))
        return (it->alias = parse_name(p, "an alias name")) != NULL;
    if (is_name_tok(peek(p)))
        return (it->alias = parse_name(p, "an alias name")) != NULL;
    return true;
}

static mp_sql_query *parse_query(parser *p)
{
    mp_sql_query *q = mp_sql_query_new();
    if (!q) {
        oom(p);
        return NULL;
    }
    q->pos = peek(p)->pos;
    if (!expect_kw(p, MP_SQL_KW_SELECT))
        goto fail;
    /* Only a statement with "-> *" in it can have an expr->* item. */
    bool struct_all_ahead = false;
    for (size_t k = 0;; k++) {
        mp_sql_tok_kind tk = peek_at(p, k)->kind;
        if (tk == MP_SQL_TOK_EOF || tk == MP_SQL_TOK_SEMI)
            break;
        if (tk == MP_SQL_TOK_ARROW && peek_at(p, k + 1)->kind == MP_SQL_TOK_STAR) {
            struct_all_ahead = true;
            break;
        }
    }
    do {
        mp_sql_select_item *it = grow(p, &q->items, q->nitems, sizeof *it);
        if (!it)
            goto fail;
        q->nitems++;
        if (!parse_select_item(p, it, struct_all_ahead))
            goto fail;
    } while (accept(p, MP_SQL_TOK_COMMA));
    if (!expect_kw(p, MP_SQL_KW_FROM) || !parse_source(p, &q->from))
        goto fail;
    while (at_join(p)) {
        mp_sql_join *j = grow(p, &q->joins, q->njoins, sizeof *j);
        if (!j)
            goto fail;
        q->njoins++;
        if (!parse_join(p, j))
            goto fail;
    }
    if (accept_kw(p, MP_SQL_KW_WINDOW) && !parse_window(p, &q->window))
        goto fail;
    if (accept_kw(p, MP_SQL_KW_WHERE) && !(q->where = parse_expr(p)))
        goto fail;
    if (accept_kw(p, MP_SQL_KW_GROUP)) {
        q->has_group_by = true;
        if (!expect_kw(p, MP_SQL_KW_BY) || !parse_by_list(p, &q->group_by, &q->ngroup_by))
            goto fail;
    }
    if (is_kw(peek(p), MP_SQL_KW_PARTITION) && is_kw(peek_at(p, 1), MP_SQL_KW_BY)) {
        p->i += 2;
        q->has_partition_by = true;
        if (!parse_by_list(p, &q->partition_by, &q->npartition_by))
            goto fail;
    }
    if (accept_kw(p, MP_SQL_KW_HAVING) && !(q->having = parse_expr(p)))
        goto fail;
    if (accept_kw(p, MP_SQL_KW_EMIT)) {
        if (accept_kw(p, MP_SQL_KW_CHANGES)) {
            q->emit = MP_SQL_EMIT_CHANGES;
        } else if (accept_kw(p, MP_SQL_KW_FINAL)) {
            q->emit = MP_SQL_EMIT_FINAL;
        } else {
            expected(p, "CHANGES or FINAL");
            goto fail;
        }
    }
    if (accept_kw(p, MP_SQL_KW_LIMIT)) {
        q->has_limit = true;
        if (!parse_count(p, "a non-negative integer", &q->limit))
            goto fail;
    }
    return q;
fail:
    mp_sql_query_free(q);
    return NULL;
}

/* ---- statements ---- */

/* A WITH property value: NULL, TRUE, FALSE, [-]number or 'string'. */
static mp_sql_expr *parse_literal(parser *p)
{
    const mp_sql_token *t = peek(p);
    bool neg = folds_into_literal(t, peek_at(p, 1));
    if (neg || is_number_tok(t) || t->kind == MP_SQL_TOK_STRING || is_kw(t, MP_SQL_KW_NULL) ||
        is_kw(t, MP_SQL_KW_TRUE) || is_kw(t, MP_SQL_KW_FALSE))
        return parse_primary(p);
    expected(p, "a literal value (string, number, TRUE, FALSE or NULL)");
    return NULL;
}

static bool parse_props(parser *p, mp_sql_stmt *s)
{
    if (!expect(p, MP_SQL_TOK_LPAREN))
        return false;
    do {
        mp_sql_property *pr = grow(p, &s->props, s->nprops, sizeof *pr);
        if (!pr)
            return false;
        s->nprops++;
        const mp_sql_token *t = peek(p);
        pr->pos = t->pos;
        if (t->kind == MP_SQL_TOK_STRING) {
            next(p);
            pr->name = dup_n(p, t->text, t->text_len);
        } else {
            pr->name = parse_name(p, "a property name");
        }
        if (!pr->name || !expect(p, MP_SQL_TOK_EQ) || !(pr->value = parse_literal(p)))
            return false;
    } while (accept(p, MP_SQL_TOK_COMMA));
    return expect(p, MP_SQL_TOK_RPAREN);
}

static bool parse_column_def(parser *p, mp_sql_column_def *c)
{
    c->pos = peek(p)->pos;
    if (!(c->name = parse_name(p, "a column name")) || !(c->type = parse_type(p)))
        return false;
    if (accept_kw(p, MP_SQL_KW_KEY)) {
        c->constraint = MP_SQL_COL_KEY;
    } else if (accept_kw(p, MP_SQL_KW_PRIMARY)) {
        c->constraint = MP_SQL_COL_PRIMARY_KEY;
        return expect_kw(p, MP_SQL_KW_KEY);
    } else if (accept_kw(p, MP_SQL_KW_HEADERS)) {
        c->constraint = MP_SQL_COL_HEADERS;
    } else if (accept_kw(p, MP_SQL_KW_HEADER)) {
        c->constraint = MP_SQL_COL_HEADER;
        if (!expect(p, MP_SQL_TOK_LPAREN))
            return false;
        const mp_sql_token *t = peek(p);
        if (t->kind != MP_SQL_TOK_STRING) {
            expected(p, "a header key string");
            return false;
        }
        next(p);
        return (c->header_key = dup_n(p, t->text, t->text_len)) && expect(p, MP_SQL_TOK_RPAREN);
    }
    return true;
}

static char *parse_string(parser *p, const char *what)
{
    const mp_sql_token *t = peek(p);
    if (t->kind != MP_SQL_TOK_STRING) {
        expected(p, what);
        return NULL;
    }
    next(p);
    return dup_n(p, t->text, t->text_len);
}

static mp_sql_stmt *new_stmt(parser *p, mp_sql_stmt_kind kind)
{
    mp_sql_stmt *s = mp_sql_stmt_new(kind);
    if (!s)
        oom(p);
    return s;
}

static bool parse_create(parser *p, mp_sql_stmt *s)
{
    s->kind = MP_SQL_STMT_CREATE_SOURCE;
    if (accept_kw(p, MP_SQL_KW_OR)) {
        if (!expect_kw(p, MP_SQL_KW_REPLACE))
            return false;
        s->or_replace = true;
    }
    s->is_source = accept_kw(p, MP_SQL_KW_SOURCE);
    const mp_sql_token *ot = peek(p);
    if (accept_kw(p, MP_SQL_KW_STREAM)) {
        s->object = MP_SQL_OBJ_STREAM;
    } else if (accept_kw(p, MP_SQL_KW_TABLE)) {
        s->object = MP_SQL_OBJ_TABLE;
    } else if (!s->is_source && accept_kw(p, MP_SQL_KW_MODEL)) {
        s->object = MP_SQL_OBJ_MODEL;
    } else {
        expected(p, s->is_source ? "STREAM or TABLE" : "STREAM, TABLE or MODEL");
        return false;
    }
    if (is_kw(peek(p), MP_SQL_KW_IF) && is_kw(peek_at(p, 1), MP_SQL_KW_NOT)) {
        p->i += 2;
        if (!expect_kw(p, MP_SQL_KW_EXISTS))
            return false;
        s->if_not_exists = true;
    }
    if (!(s->name = parse_name(p, s->object == MP_SQL_OBJ_MODEL ? "a model name"
                                                                : "a stream or table name")))
        return false;
    if (s->object != MP_SQL_OBJ_MODEL && peek(p)->kind == MP_SQL_TOK_LPAREN) {
        next(p);
        s->has_columns = true;
        do {
            mp_sql_column_def *c = grow(p, &s->columns, s->ncolumns, sizeof *c);
            if (!c)
                return false;
            s->ncolumns++;
            if (!parse_column_def(p, c))
                return false;
        } while (accept(p, MP_SQL_TOK_COMMA));
        if (!expect(p, MP_SQL_TOK_RPAREN))
            return false;
        return !accept_kw(p, MP_SQL_KW_WITH) || parse_props(p, s);
    }
    if (s->object == MP_SQL_OBJ_MODEL) {
        if (!expect_kw(p, MP_SQL_KW_WITH))
            return false;
        if (!parse_props(p, s))
            return false;
    } else if (accept_kw(p, MP_SQL_KW_WITH) && !parse_props(p, s)) {
        return false;
    }
    const mp_sql_token *as = peek(p);
    if (!accept_kw(p, MP_SQL_KW_AS)) {
        if (s->object == MP_SQL_OBJ_MODEL) {
            expected(p, "AS SELECT");
            return false;
        }
        return true;
    }
    if (s->is_source) {
        fail_at(p, as->pos, "a SOURCE %s can't be created AS SELECT", ot->text);
        return false;
    }
    s->kind = MP_SQL_STMT_CREATE_AS;
    return (s->query = parse_query(p)) != NULL;
}

static bool parse_insert(parser *p, mp_sql_stmt *s)
{
    if (!expect_kw(p, MP_SQL_KW_INTO) || !(s->name = parse_name(p, "a stream or table name")))
        return false;
    bool cols = false;
    if (accept(p, MP_SQL_TOK_LPAREN)) {
        cols = true;
        do {
            char *n = parse_name(p, "a column name");
            if (!n || !push_name(p, &s->insert_columns, &s->ninsert_columns, n))
                return false;
        } while (accept(p, MP_SQL_TOK_COMMA));
        if (!expect(p, MP_SQL_TOK_RPAREN))
            return false;
    }
    if (cols || is_kw(peek(p), MP_SQL_KW_VALUES)) {
        s->kind = MP_SQL_STMT_INSERT_VALUES;
        if (!expect_kw(p, MP_SQL_KW_VALUES) || !expect(p, MP_SQL_TOK_LPAREN))
            return false;
        if (accept(p, MP_SQL_TOK_RPAREN))
            return true;
        do {
            mp_sql_expr *v = parse_value_expr(p);
            if (!v || !push_expr(p, &s->values, &s->nvalues, v))
                return false;
        } while (accept(p, MP_SQL_TOK_COMMA));
        return expect(p, MP_SQL_TOK_RPAREN);
    }
    s->kind = MP_SQL_STMT_INSERT_QUERY;
    if (accept_kw(p, MP_SQL_KW_WITH) && !parse_props(p, s))
        return false;
    if (!is_kw(peek(p), MP_SQL_KW_SELECT)) {
        expected(p, "SELECT, VALUES or a column list");
        return false;
    }
    return (s->query = parse_query(p)) != NULL;
}

static bool parse_show(parser *p, mp_sql_stmt *s)
{
    s->kind = MP_SQL_STMT_SHOW;
    s->all = accept_kw(p, MP_SQL_KW_ALL);
    bool ext_ok = true;
    if (accept_kw(p, MP_SQL_KW_TOPICS)) {
        s->show = MP_SQL_SHOW_TOPICS;
    } else if (s->all) {
        expected(p, "TOPICS");
        return false;
    } else if (accept_kw(p, MP_SQL_KW_STREAMS)) {
        s->show = MP_SQL_SHOW_STREAMS;
    } else if (accept_kw(p, MP_SQL_KW_TABLES)) {
        s->show = MP_SQL_SHOW_TABLES;
    } else if (accept_kw(p, MP_SQL_KW_QUERIES)) {
        s->show = MP_SQL_SHOW_QUERIES;
    } else if (accept_kw(p, MP_SQL_KW_FUNCTIONS)) {
        s->show = MP_SQL_SHOW_FUNCTIONS;
        ext_ok = false;
    } else if (accept_kw(p, MP_SQL_KW_PROPERTIES)) {
        s->show = MP_SQL_SHOW_PROPERTIES;
        ext_ok = false;
    } else {
        expected(p, "STREAMS, TABLES, QUERIES, TOPICS, FUNCTIONS or PROPERTIES");
        return false;
    }
    if (ext_ok)
        s->extended = accept_kw(p, MP_SQL_KW_EXTENDED);
    return true;
}

static bool parse_describe(parser *p, mp_sql_stmt *s)
{
    /* ksqlDB writes DESCRIBE x EXTENDED; older KSQL DESCRIBE EXTENDED x. */
    bool pre = accept_kw(p, MP_SQL_KW_EXTENDED);
    const mp_sql_token *t = peek(p);
    if (is_kw(t, MP_SQL_KW_STREAMS) || is_kw(t, MP_SQL_KW_TABLES)) {
        next(p);
        s->kind = MP_SQL_STMT_DESCRIBE_ALL;
        s->object = t->kw == MP_SQL_KW_TABLES ? MP_SQL_OBJ_TABLE : MP_SQL_OBJ_STREAM;
    } else if (!pre && is_kw(t, MP_SQL_KW_FUNCTION) && is_name_tok(peek_at(p, 1))) {
        next(p);
        s->kind = MP_SQL_STMT_DESCRIBE_FUNCTION;
        return (s->name = parse_name(p, "a function name")) != NULL;
    } else {
        s->kind = MP_SQL_STMT_DESCRIBE;
        if (!(s->name = parse_name(p, "a stream or table name, STREAMS, TABLES or FUNCTION")))
            return false;
    }
    s->extended = pre || accept_kw(p, MP_SQL_KW_EXTENDED);
    return true;
}

static bool parse_drop(parser *p, mp_sql_stmt *s)
{
    if (accept_kw(p, MP_SQL_KW_STREAM)) {
        s->object = MP_SQL_OBJ_STREAM;
    } else if (accept_kw(p, MP_SQL_KW_TABLE)) {
        s->object = MP_SQL_OBJ_TABLE;
    } else {
        expected(p, "STREAM or TABLE");
        return false;
    }
    if (is_kw(peek(p), MP_SQL_KW_IF) && is_kw(peek_at(p, 1), MP_SQL_KW_EXISTS)) {
        p->i += 2;
        s->if_exists = true;
    }
    if (!(s->name = parse_name(p, "a stream or table name")))
        return false;
    if (accept_kw(p, MP_SQL_KW_DELETE)) {
        if (!expect_kw(p, MP_SQL_KW_TOPIC))
            return false;
        s->delete_topic = true;
    }
    return true;
}

static bool parse_print(parser *p, mp_sql_stmt *s)
{
    const mp_sql_token *t = peek(p);
    if (t->kind == MP_SQL_TOK_STRING || t->kind == MP_SQL_TOK_QIDENT) {
        next(p);
        s->topic = dup_n(p, t->text, t->text_len);
    } else if (is_name_tok(t)) {
        /* Topic names are case-sensitive: keep the word as written. */
        next(p);
        s->topic = dup_n(p, p->src + t->pos.offset, t->len);
    } else {
        expected(p, "a topic name");
        return false;
    }
    if (!s->topic)
        return false;
    if (accept_kw(p, MP_SQL_KW_FROM)) {
        if (!expect_kw(p, MP_SQL_KW_BEGINNING))
            return false;
        s->from_beginning = true;
    }
    if (accept_kw(p, MP_SQL_KW_INTERVAL) || accept_kw(p, MP_SQL_KW_SAMPLE)) {
        s->has_interval = true;
        if (!parse_count(p, "a non-negative integer", &s->interval))
            return false;
    }
    if (accept_kw(p, MP_SQL_KW_LIMIT)) {
        s->has_limit = true;
        if (!parse_count(p, "a non-negative integer", &s->limit))
            return false;
    }
    return true;
}

static mp_sql_stmt *parse_statement(parser *p);

static bool parse_explain(parser *p, mp_sql_stmt *s)
{
    mp_sql_tok_kind after = peek_at(p, 1)->kind;
    if (is_name_tok(peek(p)) && (after == MP_SQL_TOK_SEMI || after == MP_SQL_TOK_EOF))
        return (s->name = parse_name(p, "a query id")) != NULL;
    if (!enter(p))
        return false;
    s->explained = parse_statement(p);
    leave(p);
    return s->explained != NULL;
}

static const char statement_list[] =
    "CREATE, DESCRIBE, DROP, EXPLAIN, INSERT, LIST, PRINT, RUN, SELECT, SET, SHOW, "
    "TERMINATE, UNSET";

static mp_sql_stmt *parse_statement(parser *p)
{
    const mp_sql_token *t = peek(p);
    mp_sql_stmt *s = new_stmt(p, MP_SQL_STMT_QUERY);
    if (!s)
        return NULL;
    s->pos = t->pos;
    bool ok = false;
    mp_sql_keyword kw = t->kind == MP_SQL_TOK_IDENT ? t->kw : MP_SQL_KW_NONE;
    if (kw == MP_SQL_KW_SELECT) {
        ok = (s->query = parse_query(p)) != NULL;
    } else if (kw == MP_SQL_KW_CREATE) {
        next(p);
        ok = parse_create(p, s);
    } else if (kw == MP_SQL_KW_INSERT) {
        next(p);
        ok = parse_insert(p, s);
    } else if (kw == MP_SQL_KW_SHOW || kw == MP_SQL_KW_LIST) {
        next(p);
        ok = parse_show(p, s);
    } else if (kw == MP_SQL_KW_DESCRIBE) {
        next(p);
        ok = parse_describe(p, s);
    } else if (kw == MP_SQL_KW_DROP) {
        next(p);
        s->kind = MP_SQL_STMT_DROP;
        ok = parse_drop(p, s);
    } else if (kw == MP_SQL_KW_TERMINATE) {
        next(p);
        s->kind = MP_SQL_STMT_TERMINATE;
        if (accept_kw(p, MP_SQL_KW_ALL))
            ok = s->all = true;
        else
            ok = (s->name = parse_name(p, "a query id or ALL")) != NULL;
    } else if (kw == MP_SQL_KW_PRINT) {
        next(p);
        s->kind = MP_SQL_STMT_PRINT;
        ok = parse_print(p, s);
    } else if (kw == MP_SQL_KW_SET) {
        next(p);
        s->kind = MP_SQL_STMT_SET;
        ok = (s->name = parse_string(p, "a property name string")) && expect(p, MP_SQL_TOK_EQ) &&
             (s->value = parse_string(p, "a property value string"));
    } else if (kw == MP_SQL_KW_UNSET) {
        next(p);
        s->kind = MP_SQL_STMT_UNSET;
        ok = (s->name = parse_string(p, "a property name string")) != NULL;
    } else if (kw == MP_SQL_KW_RUN) {
        next(p);
        s->kind = MP_SQL_STMT_RUN_SCRIPT;
        ok = expect_kw(p, MP_SQL_KW_SCRIPT) &&
             (s->value = parse_string(p, "a script file name string")) != NULL;
    } else if (kw == MP_SQL_KW_EXPLAIN) {
        next(p);
        s->kind = MP_SQL_STMT_EXPLAIN;
        ok = parse_explain(p, s);
    } else if (t->kind == MP_SQL_TOK_IDENT || t->kind == MP_SQL_TOK_QIDENT) {
        fail_at(p, t->pos, "unknown statement \"%.*s\"; expected one of %s",
                (int)(t->len > 40 ? 40 : t->len), p->src + t->pos.offset, statement_list);
    } else {
        char found[96];
        describe(p, t, found, sizeof found);
        fail_at(p, t->pos, "expected a statement (%s) but found %s", statement_list, found);
    }
    if (!ok) {
        mp_sql_stmt_free(s);
        return NULL;
    }
    const mp_sql_token *last = &p->toks.v[p->i > 0 ? p->i - 1 : 0];
    s->span_offset = t->pos.offset;
    s->span_len = last->pos.offset + last->len - t->pos.offset;
    return s;
}

/* ---- entry points ---- */

static int begin(parser *p, const char *src, size_t len, mp_sql_pos *err_pos, mp_error *e)
{
    memset(p, 0, sizeof *p);
    p->src = src ? src : "";
    p->srclen = src ? len : 0;
    p->err_pos = err_pos;
    p->e = e;
    return mp_sql_lex(p->src, p->srclen, &p->toks, err_pos, e);
}

static bool at_end(parser *p)
{
    if (peek(p)->kind == MP_SQL_TOK_EOF)
        return true;
    expected(p, "end of input");
    return false;
}

int mp_sql_parse_script(const char *src, size_t len, mp_sql_script **out, mp_sql_pos *err_pos,
                        mp_error *e)
{
    *out = NULL;
    parser P;
    int rc = begin(&P, src, len, err_pos, e);
    if (rc != 0)
        return rc;
    parser *p = &P;
    mp_sql_script *sc = calloc(1, sizeof *sc);
    if (!sc)
        oom(p);
    while (!p->rc) {
        while (accept(p, MP_SQL_TOK_SEMI))
            ;
        if (peek(p)->kind == MP_SQL_TOK_EOF)
            break;
        mp_sql_stmt *s = parse_statement(p);
        if (!s)
            break;
        mp_sql_stmt **slot = grow(p, &sc->stmts, sc->n, sizeof *slot);
        if (!slot) {
            mp_sql_stmt_free(s);
            break;
        }
        *slot = s;
        sc->n++;
        if (!accept(p, MP_SQL_TOK_SEMI) && peek(p)->kind != MP_SQL_TOK_EOF)
            expected(p, "';'");
    }
    mp_sql_tokens_free(&p->toks);
    if (p->rc) {
        mp_sql_script_free(sc);
        return p->rc;
    }
    *out = sc;
    return 0;
}

int mp_sql_parse_statement(const char *src, size_t len, mp_sql_stmt **out, mp_sql_pos *err_pos,
                           mp_error *e)
{
    *out = NULL;
    parser P;
    int rc = begin(&P, src, len, err_pos, e);
    if (rc != 0)
        return rc;
    parser *p = &P;
    mp_sql_stmt *s = NULL;
    if (peek(p)->kind == MP_SQL_TOK_EOF)
        expected(p, "a statement");
    else if ((s = parse_statement(p)) != NULL) {
        accept(p, MP_SQL_TOK_SEMI);
        at_end(p);
    }
    mp_sql_tokens_free(&p->toks);
    if (p->rc) {
        mp_sql_stmt_free(s);
        return p->rc;
    }
    *out = s;
    return 0;
}

int mp_sql_parse_expr(const char *src, size_t len, mp_sql_expr **out, mp_sql_pos *err_pos,
                      mp_error *e)
{
    *out = NULL;
    parser P;
    int rc = begin(&P, src, len, err_pos, e);
    if (rc != 0)
        return rc;
    mp_sql_expr *x = parse_expr(&P);
    if (x)
        at_end(&P);
    mp_sql_tokens_free(&P.toks);
    if (P.rc) {
        mp_sql_expr_free(x);
        return P.rc;
    }
    *out = x;
    return 0;
}

int mp_sql_parse_type(const char *src, size_t len, mp_sql_type **out, mp_sql_pos *err_pos,
                      mp_error *e)
{
    *out = NULL;
    parser P;
    int rc = begin(&P, src, len, err_pos, e);
    if (rc != 0)
        return rc;
    mp_sql_type *t = parse_type(&P);
    if (t)
        at_end(&P);
    mp_sql_tokens_free(&P.toks);
    if (P.rc) {
        mp_sql_type_free(t);
        return P.rc;
    }
    *out = t;
    return 0;
}
