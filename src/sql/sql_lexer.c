#include "sql/sql_lexer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define R 1
#define N 0
static const struct {
    const char *name;
    unsigned char reserved;
} keywords[] = {
    {"", 0}, /* MP_SQL_KW_NONE */
#define MP_SQL_KW_ROW_(name, res) {#name, res},
    MP_SQL_KEYWORDS(MP_SQL_KW_ROW_)
#undef MP_SQL_KW_ROW_
};
#undef R
#undef N

mp_sql_keyword mp_sql_keyword_lookup(const char *upper, size_t len)
{
    /* The table is alphabetical (a unit test checks), so binary search. */
    size_t lo = 1, hi = MP_SQL_KW_COUNT_;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *k = keywords[mid].name;
        size_t klen = strlen(k);
        int c = memcmp(upper, k, len < klen ? len : klen);
        if (c == 0)
            c = len < klen ? -1 : len > klen ? 1 : 0;
        if (c == 0)
            return (mp_sql_keyword)mid;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return MP_SQL_KW_NONE;
}

const char *mp_sql_keyword_name(mp_sql_keyword kw)
{
    return kw > 0 && kw < MP_SQL_KW_COUNT_ ? keywords[kw].name : "";
}

int mp_sql_keyword_is_reserved(mp_sql_keyword kw)
{
    return kw > 0 && kw < MP_SQL_KW_COUNT_ && keywords[kw].reserved;
}

const char *mp_sql_tok_kind_name(mp_sql_tok_kind kind)
{
    switch (kind) {
    case MP_SQL_TOK_EOF: return "end of input";
    case MP_SQL_TOK_IDENT: return "identifier";
    case MP_SQL_TOK_QIDENT: return "quoted identifier";
    case MP_SQL_TOK_STRING: return "string";
    case MP_SQL_TOK_INTEGER: return "integer";
    case MP_SQL_TOK_DECIMAL: return "decimal";
    case MP_SQL_TOK_DOUBLE: return "double";
    case MP_SQL_TOK_PLUS: return "'+'";
    case MP_SQL_TOK_MINUS: return "'-'";
    case MP_SQL_TOK_STAR: return "'*'";
    case MP_SQL_TOK_SLASH: return "'/'";
    case MP_SQL_TOK_PERCENT: return "'%'";
    case MP_SQL_TOK_CONCAT: return "'||'";
    case MP_SQL_TOK_EQ: return "'='";
    case MP_SQL_TOK_NE: return "'<>'";
    case MP_SQL_TOK_LT: return "'<'";
    case MP_SQL_TOK_LE: return "'<='";
    case MP_SQL_TOK_GT: return "'>'";
    case MP_SQL_TOK_GE: return "'>='";
    case MP_SQL_TOK_ARROW: return "'->'";
    case MP_SQL_TOK_LAMBDA: return "'=>'";
    case MP_SQL_TOK_ASSIGN: return "':='";
    case MP_SQL_TOK_SEMI: return "';'";
    case MP_SQL_TOK_COMMA: return "','";
    case MP_SQL_TOK_LPAREN: return "'('";
    case MP_SQL_TOK_RPAREN: return "')'";
    case MP_SQL_TOK_LBRACKET: return "'['";
    case MP_SQL_TOK_RBRACKET: return "']'";
    case MP_SQL_TOK_DOT: return "'.'";
    case MP_SQL_TOK_COLON: return "':'";
    case MP_SQL_TOK_COUNT_: break;
    }
    return "token";
}

/* ---- the scanner ---- */

typedef struct lexer {
    const char *s;
    size_t len;
    size_t i;      /* next byte */
    uint32_t line; /* of byte i */
    uint32_t col;
    mp_buf pool; /* token texts, each NUL-terminated */
    mp_sql_token *v;
    size_t n, cap;
    mp_sql_pos *err_pos;
    mp_error *e;
} lexer;

static int is_alpha(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_word(unsigned char c) { return is_alpha(c) || is_digit(c) || c == '_' || c == '@'; }

static mp_sql_pos here(const lexer *L)
{
    mp_sql_pos p = {L->line, L->col, L->i};
    return p;
}

/* Moves over one byte, keeping line and column: a column is a character, so
 * UTF-8 continuation bytes don't advance it. */
static void advance(lexer *L)
{
    unsigned char c = (unsigned char)L->s[L->i++];
    if (c == '\n') {
        L->line++;
        L->col = 1;
    } else if ((c & 0xC0) != 0x80) {
        L->col++;
    }
}

static void advance_n(lexer *L, size_t k)
{
    while (k--)
        advance(L);
}

static int fail(lexer *L, mp_sql_pos at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(lexer *L, mp_sql_pos at, const char *fmt, ...)
{
    if (L->err_pos)
        *L->err_pos = at;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return mp_error_set(L->e, MP_EINPUT, "line %u:%u: %s", (unsigned)at.line, (unsigned)at.col,
                        msg);
}

static int oom(lexer *L) { return mp_error_set(L->e, MP_ENOMEM, "out of memory while lexing SQL"); }

/* Appends a token whose text was just written to the pool from text_off. */
static int push(lexer *L, mp_sql_tok_kind kind, mp_sql_pos start, size_t text_off)
{
    mp_buf_putc(&L->pool, '\0');
    if (L->pool.oom)
        return oom(L);
    if (L->n == L->cap) {
        size_t cap = L->cap ? L->cap * 2 : 64;
        mp_sql_token *v = realloc(L->v, cap * sizeof *v);
        if (!v)
            return oom(L);
        L->v = v;
        L->cap = cap;
    }
    mp_sql_token *t = &L->v[L->n++];
    memset(t, 0, sizeof *t);
    t->kind = kind;
    /* text holds the pool offset until the pool stops moving. */
    t->text = (const char *)(uintptr_t)text_off;
    t->text_len = L->pool.len - 1 - text_off;
    t->pos = start;
    t->len = L->i - start.offset;
    if (kind == MP_SQL_TOK_IDENT)
        t->kw = mp_sql_keyword_lookup(L->pool.data + text_off, t->text_len);
    return 0;
}

static int push_op(lexer *L, mp_sql_tok_kind kind, size_t n)
{
    mp_sql_pos start = here(L);
    size_t off = L->pool.len;
    mp_buf_append(&L->pool, L->s + L->i, n);
    advance_n(L, n);
    return push(L, kind, start, off);
}

/* 'string', `ident` or "ident": the quote doubled stands for itself. */
static int lex_quoted(lexer *L, char q, mp_sql_tok_kind kind)
{
    mp_sql_pos start = here(L);
    size_t off = L->pool.len;
    advance(L);
    for (;;) {
        if (L->i >= L->len) {
            return fail(L, start, "%s",
                        q == '\'' ? "unterminated string literal" : "unterminated quoted identifier");
        }
        char c = L->s[L->i];
        if (c == '\0')
            return fail(L, here(L), "unexpected NUL byte");
        if (c == q) {
            if (L->i + 1 < L->len && L->s[L->i + 1] == q) {
                mp_buf_putc(&L->pool, q);
                advance_n(L, 2);
                continue;
            }
            advance(L);
            break;
        }
        mp_buf_putc(&L->pool, c);
        advance(L);
    }
    if (kind == MP_SQL_TOK_QIDENT && L->pool.len == off)
        return fail(L, start, "empty quoted identifier");
    return push(L, kind, start, off);
}

/* Number or digit-led identifier. ksqlDB's lexer takes the longest match,
 * and on a tie the number: "1e3" is a DOUBLE, "1e3x" and "2nd" are words. */
static int lex_number(lexer *L)
{
    const char *s = L->s;
    size_t i = L->i, n = L->len, j = i;
    mp_sql_tok_kind kind = MP_SQL_TOK_INTEGER;
    while (j < n && is_digit((unsigned char)s[j]))
        j++;
    if (j < n && s[j] == '.') {
        kind = MP_SQL_TOK_DECIMAL;
        j++;
        while (j < n && is_digit((unsigned char)s[j]))
            j++;
    }
    if (j < n && (s[j] == 'e' || s[j] == 'E')) {
        size_t k = j + 1;
        if (k < n && (s[k] == '+' || s[k] == '-'))
            k++;
        if (k < n && is_digit((unsigned char)s[k])) {
            while (k < n && is_digit((unsigned char)s[k]))
                k++;
            kind = MP_SQL_TOK_DOUBLE;
            j = k;
        }
    }
    size_t w = i;
    if (is_digit((unsigned char)s[i])) {
        w = i + 1;
        while (w < n && is_word((unsigned char)s[w]))
            w++;
        if (w - i < 2)
            w = i; /* a digit identifier needs a second character */
    }
    mp_sql_pos start = here(L);
    size_t off = L->pool.len;
    if (w > j)
        kind = MP_SQL_TOK_IDENT;
    size_t end = w > j ? w : j;
    for (size_t k = i; k < end; k++) {
        char c = s[k];
        mp_buf_putc(&L->pool, (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c);
    }
    advance_n(L, end - i);
    return push(L, kind, start, off);
}

static int lex_word(lexer *L)
{
    mp_sql_pos start = here(L);
    size_t off = L->pool.len;
    while (L->i < L->len && is_word((unsigned char)L->s[L->i])) {
        char c = L->s[L->i];
        mp_buf_putc(&L->pool, (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c);
        advance(L);
    }
    return push(L, MP_SQL_TOK_IDENT, start, off);
}

/* Skips whitespace and comments; fails on an unterminated block comment. */
static int skip_space(lexer *L)
{
    while (L->i < L->len) {
        char c = L->s[L->i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            advance(L);
        } else if (c == '-' && L->i + 1 < L->len && L->s[L->i + 1] == '-') {
            while (L->i < L->len && L->s[L->i] != '\n') {
                if (L->s[L->i] == '\0')
                    return fail(L, here(L), "unexpected NUL byte");
                advance(L);
            }
        } else if (c == '/' && L->i + 1 < L->len && L->s[L->i + 1] == '*') {
            mp_sql_pos start = here(L);
            advance_n(L, 2);
            for (;;) {
                if (L->i >= L->len)
                    return fail(L, start, "unterminated comment");
                if (L->s[L->i] == '\0')
                    return fail(L, here(L), "unexpected NUL byte");
                if (L->s[L->i] == '*' && L->i + 1 < L->len && L->s[L->i + 1] == '/') {
                    advance_n(L, 2);
                    break;
                }
                advance(L);
            }
        } else {
            break;
        }
    }
    return 0;
}

static int lex_one(lexer *L)
{
    const char *s = L->s + L->i;
    size_t left = L->len - L->i;
    unsigned char c = (unsigned char)s[0];
    char c1 = left > 1 ? s[1] : '\0';
    if (is_alpha(c) || c == '_')
        return lex_word(L);
    if (is_digit(c) || (c == '.' && is_digit((unsigned char)c1)))
        return lex_number(L);
    switch (c) {
    case '\'': return lex_quoted(L, '\'', MP_SQL_TOK_STRING);
    case '`': return lex_quoted(L, '`', MP_SQL_TOK_QIDENT);
    case '"': return lex_quoted(L, '"', MP_SQL_TOK_QIDENT);
    case '+': return push_op(L, MP_SQL_TOK_PLUS, 1);
    case '-': return c1 == '>' ? push_op(L, MP_SQL_TOK_ARROW, 2) : push_op(L, MP_SQL_TOK_MINUS, 1);
    case '*': return push_op(L, MP_SQL_TOK_STAR, 1);
    case '/': return push_op(L, MP_SQL_TOK_SLASH, 1);
    case '%': return push_op(L, MP_SQL_TOK_PERCENT, 1);
    case '|':
        if (c1 == '|')
            return push_op(L, MP_SQL_TOK_CONCAT, 2);
        break;
    case '=': return c1 == '>' ? push_op(L, MP_SQL_TOK_LAMBDA, 2) : push_op(L, MP_SQL_TOK_EQ, 1);
    case '!':
        if (c1 == '=')
            return push_op(L, MP_SQL_TOK_NE, 2);
        break;
    case '<':
        if (c1 == '=')
            return push_op(L, MP_SQL_TOK_LE, 2);
        if (c1 == '>')
            return push_op(L, MP_SQL_TOK_NE, 2);
        return push_op(L, MP_SQL_TOK_LT, 1);
    case '>': return c1 == '=' ? push_op(L, MP_SQL_TOK_GE, 2) : push_op(L, MP_SQL_TOK_GT, 1);
    case ':': return c1 == '=' ? push_op(L, MP_SQL_TOK_ASSIGN, 2) : push_op(L, MP_SQL_TOK_COLON, 1);
    case ';': return push_op(L, MP_SQL_TOK_SEMI, 1);
    case ',': return push_op(L, MP_SQL_TOK_COMMA, 1);
    case '(': return push_op(L, MP_SQL_TOK_LPAREN, 1);
    case ')': return push_op(L, MP_SQL_TOK_RPAREN, 1);
    case '[': return push_op(L, MP_SQL_TOK_LBRACKET, 1);
    case ']': return push_op(L, MP_SQL_TOK_RBRACKET, 1);
    case '.': return push_op(L, MP_SQL_TOK_DOT, 1);
    default: break;
    }
    if (c == '\0')
        return fail(L, here(L), "unexpected NUL byte");
    char shown[16];
    if (c >= 0x21 && c < 0x7F)
        snprintf(shown, sizeof shown, "'%c'", c);
    else
        snprintf(shown, sizeof shown, "byte 0x%02X", c);
    return fail(L, here(L), "unexpected character %s", shown);
}

int mp_sql_lex(const char *src, size_t len, mp_sql_tokens *out, mp_sql_pos *err_pos,
               mp_error *e)
{
    memset(out, 0, sizeof *out);
    lexer L = {.s = src ? src : "", .len = src ? len : 0, .line = 1, .col = 1,
               .err_pos = err_pos, .e = e};
    int rc = 0;
    for (;;) {
        if ((rc = skip_space(&L)) != 0)
            break;
        if (L.i >= L.len) {
            size_t off = L.pool.len;
            rc = push(&L, MP_SQL_TOK_EOF, here(&L), off);
            break;
        }
        if (L.s[L.i] == '\0') {
            rc = fail(&L, here(&L), "unexpected NUL byte");
            break;
        }
        if ((rc = lex_one(&L)) != 0)
            break;
    }
    if (rc == 0 && L.pool.oom)
        rc = oom(&L);
    if (rc != 0) {
        free(L.v);
        mp_buf_free(&L.pool);
        return rc;
    }
    for (size_t k = 0; k < L.n; k++)
        L.v[k].text = L.pool.data + (uintptr_t)L.v[k].text;
    out->v = L.v;
    out->n = L.n;
    out->pool = L.pool.data;
    return 0;
}

void mp_sql_tokens_free(mp_sql_tokens *t)
{
    if (!t)
        return;
    free(t->v);
    free(t->pool);
    t->v = NULL;
    t->pool = NULL;
    t->n = 0;
}

void mp_sql_caret_context(const char *src, size_t len, uint32_t line, uint32_t col,
                          mp_buf *out)
{
    if (!src || line == 0)
        return;
    size_t i = 0;
    for (uint32_t l = 1; l < line; l++) {
        while (i < len && src[i] != '\n')
            i++;
        if (i >= len)
            return;
        i++;
    }
    size_t start = i, end = i;
    while (end < len && src[end] != '\n' && src[end] != '\r' && src[end] != '\0')
        end++;
    /* Byte offset of the column (columns count code points). */
    size_t at = start;
    for (uint32_t c = 1; c < col && at < end;) {
        at++;
        while (at < end && ((unsigned char)src[at] & 0xC0) == 0x80)
            at++;
        c++;
    }
    /* Keep long lines readable: show a window around the caret. */
    enum { WIDTH = 160, BEFORE = 80 };
    size_t from = start, to = end;
    if (to - from > WIDTH) {
        from = at > start + BEFORE ? at - BEFORE : start;
        while (from > start && ((unsigned char)src[from] & 0xC0) == 0x80)
            from--;
        to = from + WIDTH < end ? from + WIDTH : end;
        while (to < end && ((unsigned char)src[to] & 0xC0) == 0x80)
            to++;
    }
    if (from > start)
        mp_buf_puts(out, "...");
    mp_buf_append(out, src + from, to - from);
    if (to < end)
        mp_buf_puts(out, "...");
    mp_buf_putc(out, '\n');
    if (from > start)
        mp_buf_puts(out, "   ");
    for (size_t k = from; k < at; k++) {
        unsigned char ch = (unsigned char)src[k];
        if (ch == '\t')
            mp_buf_putc(out, '\t');
        else if ((ch & 0xC0) != 0x80)
            mp_buf_putc(out, ' ');
    }
    mp_buf_puts(out, "^\n");
}
