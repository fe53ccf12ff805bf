#include "sql/sql_ast.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small helpers ---- */

static char *dup_str(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static bool str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

/* ---- time ---- */

static const char *const unit_plural[] = {"MILLISECONDS", "SECONDS", "MINUTES", "HOURS", "DAYS"};
static const char *const unit_singular[] = {"MILLISECOND", "SECOND", "MINUTE", "HOUR", "DAY"};
static const int64_t unit_ms[] = {1, 1000, 60000, 3600000, 86400000};

const char *mp_sql_time_unit_name(mp_sql_time_unit u)
{
    return (unsigned)u <= MP_SQL_DAYS ? unit_plural[u] : "?";
}

int mp_sql_duration_ms(mp_sql_duration d, int64_t *ms)
{
    if ((unsigned)d.unit > MP_SQL_DAYS || d.n < 0 || d.n > INT64_MAX / unit_ms[d.unit])
        return MP_EINVAL;
    *ms = d.n * unit_ms[d.unit];
    return 0;
}

static void print_duration(mp_sql_duration d, mp_buf *out)
{
    mp_buf_printf(out, "%" PRId64 " %s", d.n,
                  (unsigned)d.unit > MP_SQL_DAYS ? "?"
                  : d.n == 1                     ? unit_singular[d.unit]
                                                 : unit_plural[d.unit]);
}

static bool duration_eq(mp_sql_duration a, mp_sql_duration b)
{
    return a.n == b.n && a.unit == b.unit;
}

/* ---- identifiers and strings ---- */

static bool is_plain_word(const char *s)
{
    if (!s || !((*s >= 'A' && *s <= 'Z') || *s == '_'))
        return false;
    for (const char *p = s + 1; *p; p++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '@'))
            return false;
    }
    return true;
}

/* Non-reserved words that the parser reads as syntax in some place a name
 * can also stand (ARRAY[...], DESCRIBE TABLES, FROM s EMIT CHANGES, ...). */
static bool is_ambiguous_word(mp_sql_keyword kw)
{
    switch (kw) {
    case MP_SQL_KW_ARRAY:
    case MP_SQL_KW_MAP:
    case MP_SQL_KW_STRUCT:
    case MP_SQL_KW_TABLES:
    case MP_SQL_KW_FUNCTION:
    case MP_SQL_KW_EMIT:
    case MP_SQL_KW_PARTITION:
    case MP_SQL_KW_IF: return true;
    default: return false;
    }
}

static void print_quoted(const char *s, char q, mp_buf *out)
{
    mp_buf_putc(out, q);
    for (const char *p = s; *p; p++) {
        if (*p == q)
            mp_buf_putc(out, q);
        mp_buf_putc(out, *p);
    }
    mp_buf_putc(out, q);
}

void mp_sql_print_ident(const char *name, mp_buf *out)
{
    if (!name)
        name = "";
    mp_sql_keyword kw = is_plain_word(name) ? mp_sql_keyword_lookup(name, strlen(name))
                                            : MP_SQL_KW_NONE;
    if (is_plain_word(name) && !mp_sql_keyword_is_reserved(kw) && !is_ambiguous_word(kw))
        mp_buf_puts(out, name);
    else
        print_quoted(name, '`', out);
}

/* Function names: only constructor words are ambiguous before '('. */
static void print_function_name(const char *name, mp_buf *out)
{
    mp_sql_keyword kw = is_plain_word(name) ? mp_sql_keyword_lookup(name, strlen(name))
                                            : MP_SQL_KW_NONE;
    if (is_plain_word(name) && !mp_sql_keyword_is_reserved(kw) && kw != MP_SQL_KW_ARRAY &&
        kw != MP_SQL_KW_MAP && kw != MP_SQL_KW_STRUCT)
        mp_buf_puts(out, name);
    else
        print_quoted(name ? name : "", '`', out);
}

void mp_sql_print_string(const char *s, size_t len, mp_buf *out)
{
    mp_buf_putc(out, '\'');
    size_t from = 0;
    for (size_t k = 0; k < len; k++) {
        if (s[k] == '\'') {
            mp_buf_append(out, s + from, k + 1 - from);
            mp_buf_putc(out, '\'');
            from = k + 1;
        }
    }
    mp_buf_append(out, s + from, len - from);
    mp_buf_putc(out, '\'');
}

/* ---- types ---- */

mp_sql_type *mp_sql_type_new(mp_sql_type_kind kind)
{
    mp_sql_type *t = calloc(1, sizeof *t);
    if (t)
        t->kind = kind;
    return t;
}

void mp_sql_type_free(mp_sql_type *t)
{
    if (!t)
        return;
    mp_sql_type_free(t->key);
    mp_sql_type_free(t->elem);
    for (size_t k = 0; k < t->nfields; k++) {
        free(t->fields[k].name);
        mp_sql_type_free(t->fields[k].type);
    }
    free(t->fields);
    free(t);
}

mp_sql_type *mp_sql_type_clone(const mp_sql_type *t)
{
    if (!t)
        return NULL;
    mp_sql_type *c = mp_sql_type_new(t->kind);
    if (!c)
        return NULL;
    c->precision = t->precision;
    c->scale = t->scale;
    if ((t->key && !(c->key = mp_sql_type_clone(t->key))) ||
        (t->elem && !(c->elem = mp_sql_type_clone(t->elem))))
        goto fail;
    if (t->nfields) {
        c->fields = calloc(t->nfields, sizeof *c->fields);
        if (!c->fields)
            goto fail;
        for (size_t k = 0; k < t->nfields; k++) {
            c->nfields = k + 1;
            c->fields[k].name = dup_str(t->fields[k].name);
            c->fields[k].type = mp_sql_type_clone(t->fields[k].type);
            if (!c->fields[k].name || !c->fields[k].type)
                goto fail;
        }
    }
    return c;
fail:
    mp_sql_type_free(c);
    return NULL;
}

bool mp_sql_type_equal(const mp_sql_type *a, const mp_sql_type *b)
{
    if (!a || !b)
        return a == b;
    if (a->kind != b->kind || a->nfields != b->nfields)
        return false;
    if (a->kind == MP_SQL_TYPE_DECIMAL && (a->precision != b->precision || a->scale != b->scale))
        return false;
    if (!mp_sql_type_equal(a->key, b->key) || !mp_sql_type_equal(a->elem, b->elem))
        return false;
    for (size_t k = 0; k < a->nfields; k++) {
        if (!str_eq(a->fields[k].name, b->fields[k].name) ||
            !mp_sql_type_equal(a->fields[k].type, b->fields[k].type))
            return false;
    }
    return true;
}

static void print_type(const mp_sql_type *t, mp_buf *out)
{
    if (!t) {
        mp_buf_puts(out, "?");
        return;
    }
    switch (t->kind) {
    case MP_SQL_TYPE_BOOLEAN: mp_buf_puts(out, "BOOLEAN"); break;
    case MP_SQL_TYPE_INTEGER: mp_buf_puts(out, "INTEGER"); break;
    case MP_SQL_TYPE_BIGINT: mp_buf_puts(out, "BIGINT"); break;
    case MP_SQL_TYPE_DOUBLE: mp_buf_puts(out, "DOUBLE"); break;
    case MP_SQL_TYPE_DECIMAL: mp_buf_printf(out, "DECIMAL(%d, %d)", t->precision, t->scale); break;
    case MP_SQL_TYPE_STRING: mp_buf_puts(out, "STRING"); break;
    case MP_SQL_TYPE_BYTES: mp_buf_puts(out, "BYTES"); break;
    case MP_SQL_TYPE_TIMESTAMP: mp_buf_puts(out, "TIMESTAMP"); break;
    case MP_SQL_TYPE_DATE: mp_buf_puts(out, "DATE"); break;
    case MP_SQL_TYPE_TIME: mp_buf_puts(out, "TIME"); break;
    case MP_SQL_TYPE_ARRAY:
        mp_buf_puts(out, "ARRAY<");
        print_type(t->elem, out);
        mp_buf_putc(out, '>');
        break;
    case MP_SQL_TYPE_MAP:
        mp_buf_puts(out, "MAP<");
        print_type(t->key, out);
        mp_buf_puts(out, ", ");
        print_type(t->elem, out);
        mp_buf_putc(out, '>');
        break;
    case MP_SQL_TYPE_STRUCT:
        mp_buf_puts(out, "STRUCT<");
        for (size_t k = 0; k < t->nfields; k++) {
            if (k)
                mp_buf_puts(out, ", ");
            mp_sql_print_ident(t->fields[k].name, out);
            mp_buf_putc(out, ' ');
            print_type(t->fields[k].type, out);
        }
        mp_buf_putc(out, '>');
        break;
    }
}

int mp_sql_type_print(const mp_sql_type *t, mp_buf *out)
{
    print_type(t, out);
    return out->oom ? MP_ENOMEM : 0;
}

/* ---- expressions: construction ---- */

mp_sql_expr *mp_sql_expr_new(mp_sql_expr_kind kind)
{
    mp_sql_expr *e = calloc(1, sizeof *e);
    if (e) {
        e->kind = kind;
        e->height = 1;
    }
    return e;
}

void mp_sql_expr_free(mp_sql_expr *e)
{
    if (!e)
        return;
    free(e->str);
    free(e->name);
    free(e->qualifier);
    mp_sql_expr_free(e->a);
    mp_sql_expr_free(e->b);
    mp_sql_expr_free(e->c);
    for (size_t k = 0; k < e->n; k++)
        mp_sql_expr_free(e->items[k]);
    free(e->items);
    for (size_t k = 0; k < e->nnames; k++)
        free(e->names[k]);
    free(e->names);
    mp_sql_type_free(e->type);
    free(e);
}

void mp_sql_expr_update_height(mp_sql_expr *e)
{
    uint32_t h = 0;
    const mp_sql_expr *kids[3] = {e->a, e->b, e->c};
    for (int k = 0; k < 3; k++)
        if (kids[k] && kids[k]->height > h)
            h = kids[k]->height;
    for (size_t k = 0; k < e->n; k++)
        if (e->items[k] && e->items[k]->height > h)
            h = e->items[k]->height;
    e->height = h + 1;
}

mp_sql_expr *mp_sql_expr_clone(const mp_sql_expr *e)
{
    if (!e)
        return NULL;
    mp_sql_expr *c = mp_sql_expr_new(e->kind);
    if (!c)
        return NULL;
    c->pos = e->pos;
    c->op = e->op;
    c->negated = e->negated;
    c->boolean = e->boolean;
    c->star = e->star;
    c->i = e->i;
    c->d = e->d;
    c->unit = e->unit;
    c->height = e->height;
    if (e->str) {
        c->str = malloc(e->len + 1);
        if (!c->str)
            goto fail;
        memcpy(c->str, e->str, e->len + 1);
        c->len = e->len;
    }
    if ((e->name && !(c->name = dup_str(e->name))) ||
        (e->qualifier && !(c->qualifier = dup_str(e->qualifier))) ||
        (e->a && !(c->a = mp_sql_expr_clone(e->a))) ||
        (e->b && !(c->b = mp_sql_expr_clone(e->b))) ||
        (e->c && !(c->c = mp_sql_expr_clone(e->c))) ||
        (e->type && !(c->type = mp_sql_type_clone(e->type))))
        goto fail;
    if (e->n) {
        c->items = calloc(e->n, sizeof *c->items);
        if (!c->items)
            goto fail;
        for (size_t k = 0; k < e->n; k++) {
            c->n = k + 1;
            if (!(c->items[k] = mp_sql_expr_clone(e->items[k])))
                goto fail;
        }
    }
    if (e->nnames) {
        c->names = calloc(e->nnames, sizeof *c->names);
        if (!c->names)
            goto fail;
        for (size_t k = 0; k < e->nnames; k++) {
            c->nnames = k + 1;
            if (!(c->names[k] = dup_str(e->names[k])))
                goto fail;
        }
    }
    return c;
fail:
    mp_sql_expr_free(c);
    return NULL;
}

mp_sql_expr *mp_sql_expr_null(void) { return mp_sql_expr_new(MP_SQL_EXPR_NULL); }

mp_sql_expr *mp_sql_expr_bool(bool v)
{
    mp_sql_expr *e = mp_sql_expr_new(MP_SQL_EXPR_BOOL);
    if (e)
        e->boolean = v;
    return e;
}

mp_sql_expr *mp_sql_expr_int(int64_t v)
{
    mp_sql_expr *e = mp_sql_expr_new(MP_SQL_EXPR_INT);
    if (e)
        e->i = v;
    return e;
}

mp_sql_expr *mp_sql_expr_double(double v)
{
    mp_sql_expr *e = mp_sql_expr_new(MP_SQL_EXPR_DOUBLE);
    if (e)
        e->d = v;
    return e;
}

mp_sql_expr *mp_sql_expr_decimal(const char *text)
{
    mp_sql_expr *e = mp_sql_expr_new(MP_SQL_EXPR_DECIMAL);
    if (e && !(e->str = dup_str(text))) {
        mp_sql_expr_free(e);
        return NULL;
    }
    if (e)
        e->len = strlen(text);
    return e;
}

mp_sql_expr *mp_sql_expr_string(const char *s, size_t len)
{
    mp_sql_expr *e = mp_sql_expr_new(MP_SQL_EXPR_STRING);
    if (!e)
        return NULL;
    e->str = malloc(len + 1);
    if (!e->str) {
        mp_sql_expr_free(e);
        return NULL;
    }
    if (len)
        memcpy(e->str, s, len);
    e->str[len] = '\0';
    e->len = len;
    return e;
}

mp_sql_expr *mp_sql_expr_column(const char *qualifier, const char *name)
{
    mp_sql_expr *e = mp_sql_expr_new(MP_SQL_EXPR_COLUMN);
    if (!e)
        return NULL;
    if (!(e->name = dup_str(name)) || (qualifier && !(e->qualifier = dup_str(qualifier)))) {
        mp_sql_expr_free(e);
        return NULL;
    }
    return e;
}

mp_sql_expr *mp_sql_expr_unary(mp_sql_op op, mp_sql_expr *a)
{
    mp_sql_expr *e = a ? mp_sql_expr_new(MP_SQL_EXPR_UNARY) : NULL;
    if (!e) {
        mp_sql_expr_free(a);
        return NULL;
    }
    e->op = op;
    e->a = a;
    mp_sql_expr_update_height(e);
    return e;
}

mp_sql_expr *mp_sql_expr_binary(mp_sql_op op, mp_sql_expr *a, mp_sql_expr *b)
{
    mp_sql_expr *e = a && b ? mp_sql_expr_new(MP_SQL_EXPR_BINARY) : NULL;
    if (!e) {
        mp_sql_expr_free(a);
        mp_sql_expr_free(b);
        return NULL;
    }
    e->op = op;
    e->a = a;
    e->b = b;
    mp_sql_expr_update_height(e);
    return e;
}

mp_sql_expr *mp_sql_expr_not(mp_sql_expr *a)
{
    mp_sql_expr *e = a ? mp_sql_expr_new(MP_SQL_EXPR_NOT) : NULL;
    if (!e) {
        mp_sql_expr_free(a);
        return NULL;
    }
    e->a = a;
    mp_sql_expr_update_height(e);
    return e;
}

mp_sql_expr *mp_sql_expr_call(const char *name, mp_sql_expr **args, size_t nargs)
{
    mp_sql_expr *e = mp_sql_expr_new(MP_SQL_EXPR_CALL);
    bool ok = e && (e->name = dup_str(name)) != NULL;
    for (size_t k = 0; k < nargs; k++)
        ok = ok && args[k];
    if (ok && nargs) {
        e->items = malloc(nargs * sizeof *e->items);
        ok = e->items != NULL;
    }
    if (!ok) {
        for (size_t k = 0; k < nargs; k++)
            mp_sql_expr_free(args[k]);
        mp_sql_expr_free(e);
        return NULL;
    }
    memcpy(e->items, args, nargs * sizeof *args);
    e->n = nargs;
    mp_sql_expr_update_height(e);
    return e;
}

/* ---- expressions: equality ---- */

bool mp_sql_expr_equal(const mp_sql_expr *a, const mp_sql_expr *b)
{
    if (!a || !b)
        return a == b;
    if (a->kind != b->kind || a->op != b->op || a->negated != b->negated ||
        a->boolean != b->boolean || a->star != b->star || a->i != b->i || a->n != b->n ||
        a->nnames != b->nnames || a->unit != b->unit)
        return false;
    if (memcmp(&a->d, &b->d, sizeof a->d) != 0)
        return false;
    if ((a->str == NULL) != (b->str == NULL) ||
        (a->str && (a->len != b->len || memcmp(a->str, b->str, a->len) != 0)))
        return false;
    if (!str_eq(a->name, b->name) || !str_eq(a->qualifier, b->qualifier))
        return false;
    if (!mp_sql_expr_equal(a->a, b->a) || !mp_sql_expr_equal(a->b, b->b) ||
        !mp_sql_expr_equal(a->c, b->c) || !mp_sql_type_equal(a->type, b->type))
        return false;
    for (size_t k = 0; k < a->n; k++)
        if (!mp_sql_expr_equal(a->items[k], b->items[k]))
            return false;
    for (size_t k = 0; k < a->nnames; k++)
        if (!str_eq(a->names[k], b->names[k]))
            return false;
    return true;
}

/* ---- expressions: printing ---- */

const char *mp_sql_op_name(mp_sql_op op)
{
    switch (op) {
    case MP_SQL_OP_NEG: return "-";
    case MP_SQL_OP_POS: return "+";
    case MP_SQL_OP_MUL: return "*";
    case MP_SQL_OP_DIV: return "/";
    case MP_SQL_OP_MOD: return "%";
    case MP_SQL_OP_ADD: return "+";
    case MP_SQL_OP_SUB: return "-";
    case MP_SQL_OP_CONCAT: return "||";
    case MP_SQL_OP_EQ: return "=";
    case MP_SQL_OP_NE: return "<>";
    case MP_SQL_OP_LT: return "<";
    case MP_SQL_OP_LE: return "<=";
    case MP_SQL_OP_GT: return ">";
    case MP_SQL_OP_GE: return ">=";
    case MP_SQL_OP_AND: return "AND";
    case MP_SQL_OP_OR: return "OR";
    case MP_SQL_OP_NONE: break;
    }
    return "?";
}

/* Binding strength, loosest first; the parser's levels mirror these. */
enum {
    LV_OR = 1,
    LV_AND,
    LV_NOT,
    LV_PRED, /* comparisons, IS, BETWEEN, IN, LIKE: operands are LV_CONCAT */
    LV_CONCAT,
    LV_ADD,
    LV_MUL,
    LV_UNARY,
    LV_PRIMARY
};

static int binop_level(mp_sql_op op)
{
    switch (op) {
    case MP_SQL_OP_OR: return LV_OR;
    case MP_SQL_OP_AND: return LV_AND;
    case MP_SQL_OP_CONCAT: return LV_CONCAT;
    case MP_SQL_OP_ADD:
    case MP_SQL_OP_SUB: return LV_ADD;
    case MP_SQL_OP_MUL:
    case MP_SQL_OP_DIV:
    case MP_SQL_OP_MOD: return LV_MUL;
    default: return LV_PRED;
    }
}

static int expr_level(const mp_sql_expr *e)
{
    switch (e->kind) {
    case MP_SQL_EXPR_BINARY: return binop_level(e->op);
    case MP_SQL_EXPR_NOT: return LV_NOT;
    case MP_SQL_EXPR_IS_NULL:
    case MP_SQL_EXPR_DISTINCT:
    case MP_SQL_EXPR_BETWEEN:
    case MP_SQL_EXPR_IN:
    case MP_SQL_EXPR_LIKE: return LV_PRED;
    case MP_SQL_EXPR_UNARY: return LV_UNARY;
    default: return LV_PRIMARY;
    }
}

static bool is_number_literal(const mp_sql_expr *e)
{
    return e->kind == MP_SQL_EXPR_INT || e->kind == MP_SQL_EXPR_DOUBLE ||
           e->kind == MP_SQL_EXPR_DECIMAL;
}

static bool is_negative_literal(const mp_sql_expr *e)
{
    return (e->kind == MP_SQL_EXPR_INT && e->i < 0) ||
           (e->kind == MP_SQL_EXPR_DOUBLE && signbit(e->d)) ||
           (e->kind == MP_SQL_EXPR_DECIMAL && e->str && e->str[0] == '-');
}

/* Scientific notation with the fewest digits that read back as v, since
 * only an exponent makes a literal DOUBLE (1.5 is DECIMAL): 1E3, -2.5E-3. */
static void print_double(double v, mp_buf *out)
{
    char tmp[48];
    for (int prec = 0; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    char *ex = strchr(tmp, 'e');
    if (!ex) { /* inf or nan: not produced by the parser */
        mp_buf_puts(out, tmp);
        return;
    }
    mp_buf_append(out, tmp, (size_t)(ex - tmp));
    mp_buf_putc(out, 'E');
    const char *d = ex + 1;
    if (*d == '-')
        mp_buf_putc(out, *d++);
    else if (*d == '+')
        d++;
    while (*d == '0' && d[1] != '\0')
        d++;
    mp_buf_puts(out, d);
}

static void print_expr(const mp_sql_expr *e, int min_level, unsigned flags, mp_buf *out);

static void print_list(mp_sql_expr *const *v, size_t n, int level, unsigned flags, mp_buf *out)
{
    for (size_t k = 0; k < n; k++) {
        if (k)
            mp_buf_puts(out, ", ");
        print_expr(v[k], level, flags, out);
    }
}

static void print_lambda(const mp_sql_expr *e, unsigned flags, mp_buf *out)
{
    if (e->nnames == 1) {
        mp_sql_print_ident(e->names[0], out);
    } else {
        mp_buf_putc(out, '(');
        for (size_t k = 0; k < e->nnames; k++) {
            if (k)
                mp_buf_puts(out, ", ");
            mp_sql_print_ident(e->names[k], out);
        }
        mp_buf_putc(out, ')');
    }
    mp_buf_puts(out, " => ");
    print_expr(e->a, LV_OR, flags, out);
}

static void print_body(const mp_sql_expr *e, unsigned flags, mp_buf *out)
{
    switch (e->kind) {
    case MP_SQL_EXPR_NULL: mp_buf_puts(out, "NULL"); break;
    case MP_SQL_EXPR_BOOL: mp_buf_puts(out, e->boolean ? "TRUE" : "FALSE"); break;
    case MP_SQL_EXPR_INT: mp_buf_printf(out, "%" PRId64, e->i); break;
    case MP_SQL_EXPR_DECIMAL: mp_buf_puts(out, e->str ? e->str : "0."); break;
    case MP_SQL_EXPR_DOUBLE: print_double(e->d, out); break;
    case MP_SQL_EXPR_STRING: mp_sql_print_string(e->str ? e->str : "", e->len, out); break;
    case MP_SQL_EXPR_COLUMN:
        if (e->qualifier) {
            mp_sql_print_ident(e->qualifier, out);
            mp_buf_putc(out, '.');
        }
        mp_sql_print_ident(e->name, out);
        break;
    case MP_SQL_EXPR_DEREF:
        print_expr(e->a, LV_PRIMARY, flags, out);
        mp_buf_puts(out, "->");
        mp_sql_print_ident(e->name, out);
        break;
    case MP_SQL_EXPR_SUBSCRIPT:
        print_expr(e->a, LV_PRIMARY, flags, out);
        mp_buf_putc(out, '[');
        print_expr(e->b, LV_CONCAT, flags, out);
        mp_buf_putc(out, ']');
        break;
    case MP_SQL_EXPR_UNARY:
        mp_buf_puts(out, mp_sql_op_name(e->op));
        /* "- -x", never "--x", which would start a comment. */
        if (e->a && (is_negative_literal(e->a) ||
                     (e->a->kind == MP_SQL_EXPR_UNARY && !(flags & MP_SQL_PRINT_PARENS))))
            mp_buf_putc(out, ' ');
        if (e->op == MP_SQL_OP_NEG && e->a && is_number_literal(e->a) &&
            !is_negative_literal(e->a) && !(e->a->kind == MP_SQL_EXPR_INT && e->a->i == 0)) {
            /* -5 would read back as the literal -5, not as - applied to 5
             * (-0 stays - applied to 0: the parser doesn't fold it). */
            mp_buf_putc(out, '(');
            print_expr(e->a, LV_UNARY, flags, out);
            mp_buf_putc(out, ')');
            break;
        }
        print_expr(e->a, LV_UNARY, flags, out);
        break;
    case MP_SQL_EXPR_BINARY: {
        int lv = binop_level(e->op);
        bool assoc = lv != LV_PRED; /* comparisons don't chain */
        print_expr(e->a, assoc ? lv : LV_CONCAT, flags, out);
        mp_buf_printf(out, " %s ", mp_sql_op_name(e->op));
        print_expr(e->b, assoc ? lv + 1 : LV_CONCAT, flags, out);
        break;
    }
    case MP_SQL_EXPR_NOT:
        mp_buf_puts(out, "NOT ");
        print_expr(e->a, LV_NOT, flags, out);
        break;
    case MP_SQL_EXPR_IS_NULL:
        print_expr(e->a, LV_CONCAT, flags, out);
        mp_buf_puts(out, e->negated ? " IS NOT NULL" : " IS NULL");
        break;
    case MP_SQL_EXPR_DISTINCT:
        print_expr(e->a, LV_CONCAT, flags, out);
        mp_buf_puts(out, e->negated ? " IS NOT DISTINCT FROM " : " IS DISTINCT FROM ");
        print_expr(e->b, LV_CONCAT, flags, out);
        break;
    case MP_SQL_EXPR_BETWEEN:
        print_expr(e->a, LV_CONCAT, flags, out);
        mp_buf_puts(out, e->negated ? " NOT BETWEEN " : " BETWEEN ");
        print_expr(e->b, LV_CONCAT, flags, out);
        mp_buf_puts(out, " AND ");
        print_expr(e->c, LV_CONCAT, flags, out);
        break;
    case MP_SQL_EXPR_IN:
        print_expr(e->a, LV_CONCAT, flags, out);
        mp_buf_puts(out, e->negated ? " NOT IN (" : " IN (");
        print_list(e->items, e->n, LV_OR, flags, out);
        mp_buf_putc(out, ')');
        break;
    case MP_SQL_EXPR_LIKE:
        print_expr(e->a, LV_CONCAT, flags, out);
        mp_buf_puts(out, e->negated ? " NOT LIKE " : " LIKE ");
        print_expr(e->b, LV_CONCAT, flags, out);
        if (e->str) {
            mp_buf_puts(out, " ESCAPE ");
            mp_sql_print_string(e->str, e->len, out);
        }
        break;
    case MP_SQL_EXPR_CALL:
        print_function_name(e->name, out);
        mp_buf_putc(out, '(');
        if (e->star)
            mp_buf_putc(out, '*');
        for (size_t k = 0; k < e->n; k++) {
            if (k || e->star)
                mp_buf_puts(out, ", ");
            if (e->items[k] && e->items[k]->kind == MP_SQL_EXPR_LAMBDA)
                print_lambda(e->items[k], flags, out);
            else
                print_expr(e->items[k], LV_OR, flags, out);
        }
        mp_buf_putc(out, ')');
        break;
    case MP_SQL_EXPR_CAST:
        mp_buf_puts(out, "CAST(");
        print_expr(e->a, LV_OR, flags, out);
        mp_buf_puts(out, " AS ");
        print_type(e->type, out);
        mp_buf_putc(out, ')');
        break;
    case MP_SQL_EXPR_CASE:
        mp_buf_puts(out, "CASE");
        if (e->a) {
            mp_buf_putc(out, ' ');
            print_expr(e->a, LV_CONCAT, flags, out);
        }
        for (size_t k = 0; k + 1 < e->n; k += 2) {
            mp_buf_puts(out, " WHEN ");
            print_expr(e->items[k], LV_OR, flags, out);
            mp_buf_puts(out, " THEN ");
            print_expr(e->items[k + 1], LV_OR, flags, out);
        }
        if (e->c) {
            mp_buf_puts(out, " ELSE ");
            print_expr(e->c, LV_OR, flags, out);
        }
        mp_buf_puts(out, " END");
        break;
    case MP_SQL_EXPR_ARRAY:
        mp_buf_puts(out, "ARRAY[");
        print_list(e->items, e->n, LV_OR, flags, out);
        mp_buf_putc(out, ']');
        break;
    case MP_SQL_EXPR_MAP:
        mp_buf_puts(out, "MAP(");
        for (size_t k = 0; k + 1 < e->n; k += 2) {
            if (k)
                mp_buf_puts(out, ", ");
            print_expr(e->items[k], LV_OR, flags, out);
            mp_buf_puts(out, " := ");
            print_expr(e->items[k + 1], LV_OR, flags, out);
        }
        mp_buf_putc(out, ')');
        break;
    case MP_SQL_EXPR_STRUCT:
        mp_buf_puts(out, "STRUCT(");
        for (size_t k = 0; k < e->n && k < e->nnames; k++) {
            if (k)
                mp_buf_puts(out, ", ");
            mp_sql_print_ident(e->names[k], out);
            mp_buf_puts(out, " := ");
            print_expr(e->items[k], LV_OR, flags, out);
        }
        mp_buf_putc(out, ')');
        break;
    case MP_SQL_EXPR_LAMBDA: print_lambda(e, flags, out); break;
    case MP_SQL_EXPR_TIME_UNIT: mp_buf_puts(out, mp_sql_time_unit_name(e->unit)); break;
    }
}

static void print_expr(const mp_sql_expr *e, int min_level, unsigned flags, mp_buf *out)
{
    if (!e) {
        mp_buf_puts(out, "?");
        return;
    }
    int lv = expr_level(e);
    bool paren = lv < min_level || ((flags & MP_SQL_PRINT_PARENS) && lv < LV_PRIMARY);
    if (paren)
        mp_buf_putc(out, '(');
    print_body(e, flags, out);
    if (paren)
        mp_buf_putc(out, ')');
}

int mp_sql_expr_print(const mp_sql_expr *e, unsigned flags, mp_buf *out)
{
    print_expr(e, LV_OR, flags, out);
    return out->oom ? MP_ENOMEM : 0;
}

/* ---- queries ---- */

mp_sql_query *mp_sql_query_new(void) { return calloc(1, sizeof(mp_sql_query)); }

static void free_expr_list(mp_sql_expr **v, size_t n)
{
    for (size_t k = 0; k < n; k++)
        mp_sql_expr_free(v[k]);
    free(v);
}

void mp_sql_query_free(mp_sql_query *q)
{
    if (!q)
        return;
    for (size_t k = 0; k < q->nitems; k++) {
        mp_sql_expr_free(q->items[k].expr);
        free(q->items[k].alias);
        free(q->items[k].source);
    }
    free(q->items);
    free(q->from.name);
    free(q->from.alias);
    for (size_t k = 0; k < q->njoins; k++) {
        free(q->joins[k].source.name);
        free(q->joins[k].source.alias);
        mp_sql_expr_free(q->joins[k].on);
    }
    free(q->joins);
    free(q->window);
    mp_sql_expr_free(q->where);
    free_expr_list(q->group_by, q->ngroup_by);
    free_expr_list(q->partition_by, q->npartition_by);
    mp_sql_expr_free(q->having);
    free(q);
}

static bool expr_list_eq(mp_sql_expr *const *a, size_t na, mp_sql_expr *const *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t k = 0; k < na; k++)
        if (!mp_sql_expr_equal(a[k], b[k]))
            return false;
    return true;
}

static bool source_eq(const mp_sql_source *a, const mp_sql_source *b)
{
    return str_eq(a->name, b->name) && str_eq(a->alias, b->alias);
}

static bool window_eq(const mp_sql_window *a, const mp_sql_window *b)
{
    if (!a || !b)
        return a == b;
    return a->kind == b->kind && duration_eq(a->size, b->size) &&
           (a->kind != MP_SQL_WINDOW_HOPPING || duration_eq(a->advance, b->advance)) &&
           a->has_retention == b->has_retention &&
           (!a->has_retention || duration_eq(a->retention, b->retention)) &&
           a->has_grace == b->has_grace && (!a->has_grace || duration_eq(a->grace, b->grace));
}

static bool join_eq(const mp_sql_join *a, const mp_sql_join *b)
{
    return a->type == b->type && source_eq(&a->source, &b->source) &&
           a->has_within == b->has_within && a->within_pair == b->within_pair &&
           (!a->has_within ||
            (duration_eq(a->before, b->before) && duration_eq(a->after, b->after))) &&
           a->has_grace == b->has_grace && (!a->has_grace || duration_eq(a->grace, b->grace)) &&
           mp_sql_expr_equal(a->on, b->on);
}

bool mp_sql_query_equal(const mp_sql_query *a, const mp_sql_query *b)
{
    if (!a || !b)
        return a == b;
    if (a->nitems != b->nitems || a->njoins != b->njoins || a->emit != b->emit ||
        a->has_limit != b->has_limit || (a->has_limit && a->limit != b->limit) ||
        a->has_group_by != b->has_group_by || a->has_partition_by != b->has_partition_by)
        return false;
    for (size_t k = 0; k < a->nitems; k++) {
        const mp_sql_select_item *x = &a->items[k], *y = &b->items[k];
        if (x->kind != y->kind || !mp_sql_expr_equal(x->expr, y->expr) ||
            !str_eq(x->alias, y->alias) || !str_eq(x->source, y->source))
            return false;
    }
    if (!source_eq(&a->from, &b->from))
        return false;
    for (size_t k = 0; k < a->njoins; k++)
        if (!join_eq(&a->joins[k], &b->joins[k]))
            return false;
    return window_eq(a->window, b->window) && mp_sql_expr_equal(a->where, b->where) &&
           expr_list_eq(a->group_by, a->ngroup_by, b->group_by, b->ngroup_by) &&
           expr_list_eq(a->partition_by, a->npartition_by, b->partition_by, b->npartition_by) &&
           mp_sql_expr_equal(a->having, b->having);
}

static void print_source(const mp_sql_source *s, mp_buf *out)
{
    mp_sql_print_ident(s->name, out);
    if (s->alias) {
        mp_buf_putc(out, ' ');
        mp_sql_print_ident(s->alias, out);
    }
}

static void print_window(const mp_sql_window *w, mp_buf *out)
{
    static const char *const kinds[] = {"TUMBLING", "HOPPING", "SESSION"};
    mp_buf_printf(out, " WINDOW %s (", kinds[w->kind <= MP_SQL_WINDOW_SESSION ? w->kind : 0]);
    if (w->kind != MP_SQL_WINDOW_SESSION)
        mp_buf_puts(out, "SIZE ");
    print_duration(w->size, out);
    if (w->kind == MP_SQL_WINDOW_HOPPING) {
        mp_buf_puts(out, ", ADVANCE BY ");
        print_duration(w->advance, out);
    }
    if (w->has_retention) {
        mp_buf_puts(out, ", RETENTION ");
        print_duration(w->retention, out);
    }
    if (w->has_grace) {
        mp_buf_puts(out, ", GRACE PERIOD ");
        print_duration(w->grace, out);
    }
    mp_buf_putc(out, ')');
}

static void print_join(const mp_sql_join *j, unsigned flags, mp_buf *out)
{
    static const char *const types[] = {"INNER", "LEFT", "RIGHT", "FULL OUTER"};
    mp_buf_printf(out, " %s JOIN ", types[j->type <= MP_SQL_JOIN_FULL ? j->type : 0]);
    print_source(&j->source, out);
    if (j->has_within) {
        mp_buf_puts(out, " WITHIN ");
        if (j->within_pair) {
            mp_buf_putc(out, '(');
            print_duration(j->before, out);
            mp_buf_puts(out, ", ");
            print_duration(j->after, out);
            mp_buf_putc(out, ')');
        } else {
            print_duration(j->before, out);
        }
        if (j->has_grace) {
            mp_buf_puts(out, " GRACE PERIOD ");
            print_duration(j->grace, out);
        }
    }
    mp_buf_puts(out, " ON ");
    print_expr(j->on, LV_OR, flags, out);
}

static void print_query(const mp_sql_query *q, unsigned flags, mp_buf *out)
{
    mp_buf_puts(out, "SELECT ");
    for (size_t k = 0; k < q->nitems; k++) {
        const mp_sql_select_item *it = &q->items[k];
        if (k)
            mp_buf_puts(out, ", ");
        switch (it->kind) {
        case MP_SQL_ITEM_ALL: mp_buf_putc(out, '*'); break;
        case MP_SQL_ITEM_SOURCE_ALL:
            mp_sql_print_ident(it->source, out);
            mp_buf_puts(out, ".*");
            break;
        case MP_SQL_ITEM_STRUCT_ALL:
            print_expr(it->expr, LV_PRIMARY, flags, out);
            mp_buf_puts(out, "->*");
            break;
        case MP_SQL_ITEM_EXPR:
            print_expr(it->expr, LV_OR, flags, out);
            if (it->alias) {
                mp_buf_puts(out, " AS ");
                mp_sql_print_ident(it->alias, out);
            }
            break;
        }
    }
    mp_buf_puts(out, " FROM ");
    print_source(&q->from, out);
    for (size_t k = 0; k < q->njoins; k++)
        print_join(&q->joins[k], flags, out);
    if (q->window)
        print_window(q->window, out);
    if (q->where) {
        mp_buf_puts(out, " WHERE ");
        print_expr(q->where, LV_OR, flags, out);
    }
    if (q->has_group_by) {
        mp_buf_puts(out, " GROUP BY ");
        if (q->ngroup_by == 0)
            mp_buf_puts(out, "()");
        print_list(q->group_by, q->ngroup_by, LV_CONCAT, flags, out);
    }
    if (q->has_partition_by) {
        mp_buf_puts(out, " PARTITION BY ");
        if (q->npartition_by == 0)
            mp_buf_puts(out, "()");
        print_list(q->partition_by, q->npartition_by, LV_CONCAT, flags, out);
    }
    if (q->having) {
        mp_buf_puts(out, " HAVING ");
        print_expr(q->having, LV_OR, flags, out);
    }
    if (q->emit == MP_SQL_EMIT_CHANGES)
        mp_buf_puts(out, " EMIT CHANGES");
    else if (q->emit == MP_SQL_EMIT_FINAL)
        mp_buf_puts(out, " EMIT FINAL");
    if (q->has_limit)
        mp_buf_printf(out, " LIMIT %" PRId64, q->limit);
}

int mp_sql_query_print(const mp_sql_query *q, unsigned flags, mp_buf *out)
{
    print_query(q, flags, out);
    return out->oom ? MP_ENOMEM : 0;
}

/* ---- statements ---- */

mp_sql_stmt *mp_sql_stmt_new(mp_sql_stmt_kind kind)
{
    mp_sql_stmt *s = calloc(1, sizeof *s);
    if (s)
        s->kind = kind;
    return s;
}

void mp_sql_stmt_free(mp_sql_stmt *s)
{
    if (!s)
        return;
    free(s->name);
    for (size_t k = 0; k < s->ncolumns; k++) {
        free(s->columns[k].name);
        mp_sql_type_free(s->columns[k].type);
        free(s->columns[k].header_key);
    }
    free(s->columns);
    for (size_t k = 0; k < s->nprops; k++) {
        free(s->props[k].name);
        mp_sql_expr_free(s->props[k].value);
    }
    free(s->props);
    mp_sql_query_free(s->query);
    for (size_t k = 0; k < s->ninsert_columns; k++)
        free(s->insert_columns[k]);
    free(s->insert_columns);
    free_expr_list(s->values, s->nvalues);
    free(s->topic);
    free(s->value);
    mp_sql_stmt_free(s->explained);
    free(s);
}

bool mp_sql_stmt_equal(const mp_sql_stmt *a, const mp_sql_stmt *b)
{
    if (!a || !b)
        return a == b;
    if (a->kind != b->kind || a->object != b->object || a->or_replace != b->or_replace ||
        a->is_source != b->is_source || a->if_not_exists != b->if_not_exists ||
        a->if_exists != b->if_exists || a->delete_topic != b->delete_topic ||
        a->extended != b->extended || a->all != b->all ||
        a->from_beginning != b->from_beginning || a->has_columns != b->has_columns ||
        a->ncolumns != b->ncolumns || a->nprops != b->nprops ||
        a->ninsert_columns != b->ninsert_columns || a->nvalues != b->nvalues ||
        a->show != b->show || a->has_interval != b->has_interval ||
        (a->has_interval && a->interval != b->interval) || a->has_limit != b->has_limit ||
        (a->has_limit && a->limit != b->limit))
        return false;
    if (!str_eq(a->name, b->name) || !str_eq(a->topic, b->topic) || !str_eq(a->value, b->value))
        return false;
    for (size_t k = 0; k < a->ncolumns; k++) {
        const mp_sql_column_def *x = &a->columns[k], *y = &b->columns[k];
        if (!str_eq(x->name, y->name) || !mp_sql_type_equal(x->type, y->type) ||
            x->constraint != y->constraint || !str_eq(x->header_key, y->header_key))
            return false;
    }
    for (size_t k = 0; k < a->nprops; k++)
        if (!str_eq(a->props[k].name, b->props[k].name) ||
            !mp_sql_expr_equal(a->props[k].value, b->props[k].value))
            return false;
    for (size_t k = 0; k < a->ninsert_columns; k++)
        if (!str_eq(a->insert_columns[k], b->insert_columns[k]))
            return false;
    return expr_list_eq(a->values, a->nvalues, b->values, b->nvalues) &&
           mp_sql_query_equal(a->query, b->query) &&
           mp_sql_stmt_equal(a->explained, b->explained);
}

static const char *object_name(mp_sql_object o)
{
    return o == MP_SQL_OBJ_TABLE ? "TABLE" : o == MP_SQL_OBJ_MODEL ? "MODEL" : "STREAM";
}

/* Property names are bare words when that reads back the same; any
 * non-reserved word is fine in that place (TIMESTAMP='t', PARTITIONS=3). */
static void print_props(const mp_sql_stmt *s, unsigned flags, mp_buf *out)
{
    if (!s->nprops)
        return;
    mp_buf_puts(out, " WITH (");
    for (size_t k = 0; k < s->nprops; k++) {
        const char *name = s->props[k].name ? s->props[k].name : "";
        if (k)
            mp_buf_puts(out, ", ");
        if (is_plain_word(name) &&
            !mp_sql_keyword_is_reserved(mp_sql_keyword_lookup(name, strlen(name))))
            mp_buf_puts(out, name);
        else
            mp_sql_print_string(name, strlen(name), out);
        mp_buf_putc(out, '=');
        print_expr(s->props[k].value, LV_OR, flags, out);
    }
    mp_buf_putc(out, ')');
}

static void print_stmt(const mp_sql_stmt *s, unsigned flags, mp_buf *out)
{
    static const char *const shows[] = {"STREAMS", "TABLES",    "QUERIES",
                                        "TOPICS",  "FUNCTIONS", "PROPERTIES"};
    switch (s->kind) {
    case MP_SQL_STMT_QUERY:
        if (s->query)
            print_query(s->query, flags, out);
        break;
    case MP_SQL_STMT_CREATE_SOURCE:
    case MP_SQL_STMT_CREATE_AS:
        mp_buf_puts(out, "CREATE ");
        if (s->or_replace)
            mp_buf_puts(out, "OR REPLACE ");
        if (s->is_source)
            mp_buf_puts(out, "SOURCE ");
        mp_buf_printf(out, "%s ", object_name(s->object));
        if (s->if_not_exists)
            mp_buf_puts(out, "IF NOT EXISTS ");
        mp_sql_print_ident(s->name, out);
        if (s->has_columns) {
            mp_buf_puts(out, " (");
            for (size_t k = 0; k < s->ncolumns; k++) {
                const mp_sql_column_def *c = &s->columns[k];
                if (k)
                    mp_buf_puts(out, ", ");
                mp_sql_print_ident(c->name, out);
                mp_buf_putc(out, ' ');
                print_type(c->type, out);
                switch (c->constraint) {
                case MP_SQL_COL_VALUE: break;
                case MP_SQL_COL_KEY: mp_buf_puts(out, " KEY"); break;
                case MP_SQL_COL_PRIMARY_KEY: mp_buf_puts(out, " PRIMARY KEY"); break;
                case MP_SQL_COL_HEADERS: mp_buf_puts(out, " HEADERS"); break;
                case MP_SQL_COL_HEADER:
                    mp_buf_puts(out, " HEADER(");
                    mp_sql_print_string(c->header_key ? c->header_key : "",
                                        c->header_key ? strlen(c->header_key) : 0, out);
                    mp_buf_putc(out, ')');
                    break;
                }
            }
            mp_buf_putc(out, ')');
        }
        print_props(s, flags, out);
        if (s->kind == MP_SQL_STMT_CREATE_AS && s->query) {
            mp_buf_puts(out, " AS ");
            print_query(s->query, flags, out);
        }
        break;
    case MP_SQL_STMT_INSERT_QUERY:
        mp_buf_puts(out, "INSERT INTO ");
        mp_sql_print_ident(s->name, out);
        print_props(s, flags, out);
        if (s->query) {
            mp_buf_putc(out, ' ');
            print_query(s->query, flags, out);
        }
        break;
    case MP_SQL_STMT_INSERT_VALUES:
        mp_buf_puts(out, "INSERT INTO ");
        mp_sql_print_ident(s->name, out);
        if (s->ninsert_columns) {
            mp_buf_puts(out, " (");
            for (size_t k = 0; k < s->ninsert_columns; k++) {
                if (k)
                    mp_buf_puts(out, ", ");
                mp_sql_print_ident(s->insert_columns[k], out);
            }
            mp_buf_putc(out, ')');
        }
        mp_buf_puts(out, " VALUES (");
        print_list(s->values, s->nvalues, LV_CONCAT, flags, out);
        mp_buf_putc(out, ')');
        break;
    case MP_SQL_STMT_SHOW:
        mp_buf_puts(out, "SHOW ");
        if (s->all)
            mp_buf_puts(out, "ALL ");
        mp_buf_puts(out, shows[s->show <= MP_SQL_SHOW_PROPERTIES ? s->show : 0]);
        if (s->extended)
            mp_buf_puts(out, " EXTENDED");
        break;
    case MP_SQL_STMT_DESCRIBE:
        mp_buf_puts(out, "DESCRIBE ");
        mp_sql_print_ident(s->name, out);
        if (s->extended)
            mp_buf_puts(out, " EXTENDED");
        break;
    case MP_SQL_STMT_DESCRIBE_ALL:
        mp_buf_puts(out, s->object == MP_SQL_OBJ_TABLE ? "DESCRIBE TABLES" : "DESCRIBE STREAMS");
        if (s->extended)
            mp_buf_puts(out, " EXTENDED");
        break;
    case MP_SQL_STMT_DESCRIBE_FUNCTION:
        mp_buf_puts(out, "DESCRIBE FUNCTION ");
        mp_sql_print_ident(s->name, out);
        break;
    case MP_SQL_STMT_DROP:
        mp_buf_printf(out, "DROP %s ", object_name(s->object));
        if (s->if_exists)
            mp_buf_puts(out, "IF EXISTS ");
        mp_sql_print_ident(s->name, out);
        if (s->delete_topic)
            mp_buf_puts(out, " DELETE TOPIC");
        break;
    case MP_SQL_STMT_TERMINATE:
        mp_buf_puts(out, "TERMINATE ");
        if (s->all)
            mp_buf_puts(out, "ALL");
        else
            mp_sql_print_ident(s->name, out);
        break;
    case MP_SQL_STMT_PRINT:
        mp_buf_puts(out, "PRINT ");
        mp_sql_print_string(s->topic ? s->topic : "", s->topic ? strlen(s->topic) : 0, out);
        if (s->from_beginning)
            mp_buf_puts(out, " FROM BEGINNING");
        if (s->has_interval)
            mp_buf_printf(out, " INTERVAL %" PRId64, s->interval);
        if (s->has_limit)
            mp_buf_printf(out, " LIMIT %" PRId64, s->limit);
        break;
    case MP_SQL_STMT_SET:
    case MP_SQL_STMT_UNSET:
        mp_buf_puts(out, s->kind == MP_SQL_STMT_SET ? "SET " : "UNSET ");
        mp_sql_print_string(s->name ? s->name : "", s->name ? strlen(s->name) : 0, out);
        if (s->kind == MP_SQL_STMT_SET) {
            mp_buf_putc(out, '=');
            mp_sql_print_string(s->value ? s->value : "", s->value ? strlen(s->value) : 0, out);
        }
        break;
    case MP_SQL_STMT_RUN_SCRIPT:
        mp_buf_puts(out, "RUN SCRIPT ");
        mp_sql_print_string(s->value ? s->value : "", s->value ? strlen(s->value) : 0, out);
        break;
    case MP_SQL_STMT_EXPLAIN:
        mp_buf_puts(out, "EXPLAIN ");
        if (s->explained)
            print_stmt(s->explained, flags, out);
        else
            mp_sql_print_ident(s->name, out);
        break;
    }
}

int mp_sql_stmt_print(const mp_sql_stmt *s, unsigned flags, mp_buf *out)
{
    print_stmt(s, flags, out);
    return out->oom ? MP_ENOMEM : 0;
}

char *mp_sql_stmt_to_sql(const mp_sql_stmt *s)
{
    mp_buf b = {0};
    if (mp_sql_stmt_print(s, 0, &b) != 0) {
        mp_buf_free(&b);
        return NULL;
    }
    return mp_buf_take(&b);
}

void mp_sql_script_free(mp_sql_script *s)
{
    if (!s)
        return;
    for (size_t k = 0; k < s->n; k++)
        mp_sql_stmt_free(s->stmts[k]);
    free(s->stmts);
    free(s);
}

bool mp_sql_script_equal(const mp_sql_script *a, const mp_sql_script *b)
{
    if (!a || !b)
        return a == b;
    if (a->n != b->n)
        return false;
    for (size_t k = 0; k < a->n; k++)
        if (!mp_sql_stmt_equal(a->stmts[k], b->stmts[k]))
            return false;
    return true;
}

int mp_sql_script_print(const mp_sql_script *s, unsigned flags, mp_buf *out)
{
    for (size_t k = 0; k < s->n; k++) {
        print_stmt(s->stmts[k], flags, out);
        mp_buf_puts(out, ";\n");
    }
    return out->oom ? MP_ENOMEM : 0;
}
