/* The lexer for mlpipe's SQL, ksqlDB's dialect (KSQL).
 *
 * It turns a whole script into an array of tokens ending in MP_SQL_TOK_EOF.
 * The rules are ksqlDB's (its lexical-structure reference and grammar):
 *   - Unquoted words, [A-Za-z_][A-Za-z0-9_@]*, are case-insensitive; their
 *     text is folded to upper case, as ksqlDB does for display and lookup.
 *     A word that is a ksqlDB keyword carries its MP_SQL_KW_* id; reserved
 *     keywords can't be used as names unless quoted.
 *   - `backticked` and "double-quoted" identifiers keep their case; a doubled
 *     quote character inside stands for one.
 *   - 'strings' use '' for a quote inside; no backslash escapes.
 *   - Numbers: 12 is an integer (INT, or BIGINT when it doesn't fit in 32
 *     bits), 1.5 / 1. / .5 are DECIMAL, anything with an exponent (1e3,
 *     1.5E-2) is DOUBLE. A sign is an operator, not part of the literal. A
 *     digit run followed by letters (2ND) is an identifier, as in ksqlDB.
 *   - Comments: -- to end of line, and non-nesting block comments.
 *   - Operators and punctuation: + - * / % || = != <> < <= > >= -> => :=
 *     ; , ( ) [ ] . :
 * Every token records its byte offset and length in the source and its line
 * and column, both 1-based; columns count characters (UTF-8 code points), so
 * a caret printed under the source line lines up.
 *
 * NUL bytes are rejected anywhere in the input, so every name and string the
 * front end hands out is an ordinary C string. */
#ifndef MP_SQL_LEXER_H
#define MP_SQL_LEXER_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"

/* A place in the source: 1-based line and column, 0-based byte offset. */
typedef struct mp_sql_pos {
    uint32_t line;
    uint32_t col;
    size_t offset;
} mp_sql_pos;

typedef enum mp_sql_tok_kind {
    MP_SQL_TOK_EOF = 0,
    MP_SQL_TOK_IDENT,   /* unquoted word (keywords included); text upper-cased */
    MP_SQL_TOK_QIDENT,  /* `quoted` or "quoted" identifier; text unescaped, case kept */
    MP_SQL_TOK_STRING,  /* 'string'; text unescaped */
    MP_SQL_TOK_INTEGER, /* digits */
    MP_SQL_TOK_DECIMAL, /* digits with a point, no exponent */
    MP_SQL_TOK_DOUBLE,  /* with an exponent; text upper-cased (1E3) */
    MP_SQL_TOK_PLUS,
    MP_SQL_TOK_MINUS,
    MP_SQL_TOK_STAR,
    MP_SQL_TOK_SLASH,
    MP_SQL_TOK_PERCENT,
    MP_SQL_TOK_CONCAT, /* || */
    MP_SQL_TOK_EQ,
    MP_SQL_TOK_NE, /* != or <> */
    MP_SQL_TOK_LT,
    MP_SQL_TOK_LE,
    MP_SQL_TOK_GT,
    MP_SQL_TOK_GE,
    MP_SQL_TOK_ARROW,  /* -> */
    MP_SQL_TOK_LAMBDA, /* => */
    MP_SQL_TOK_ASSIGN, /* := */
    MP_SQL_TOK_SEMI,
    MP_SQL_TOK_COMMA,
    MP_SQL_TOK_LPAREN,
    MP_SQL_TOK_RPAREN,
    MP_SQL_TOK_LBRACKET,
    MP_SQL_TOK_RBRACKET,
    MP_SQL_TOK_DOT,
    MP_SQL_TOK_COLON,
    MP_SQL_TOK_COUNT_
} mp_sql_tok_kind;

/* ksqlDB's keywords (its grammar's tokens) plus mlpipe's MODEL and the
 * built-in type names, in alphabetical order; R marks reserved words, N
 * words that may also be used as plain names. */
#define MP_SQL_KEYWORDS(X)                                                                 \
    X(ADD, N) X(ADVANCE, R) X(ALL, R) X(ALTER, N) X(ANALYZE, N) X(AND, R) X(ARRAY, N)      \
    X(AS, R) X(ASSERT, N) X(AT, R) X(BEGINNING, R) X(BETWEEN, R) X(BIGINT, N)              \
    X(BOOLEAN, N) X(BY, R) X(BYTES, N) X(CASE, R) X(CAST, R) X(CATALOG, R) X(CHANGES, N)   \
    X(COLUMN, N) X(COLUMNS, N) X(CONNECTOR, R) X(CONNECTORS, R) X(CREATE, R) X(DATE, N)    \
    X(DAY, N) X(DAYS, R) X(DECIMAL, R) X(DEFINE, N) X(DELETE, R) X(DESCRIBE, R)            \
    X(DISTINCT, R) X(DOUBLE, N) X(DROP, R) X(ELSE, R) X(EMIT, N) X(END, R) X(ESCAPE, N)    \
    X(EXISTS, R) X(EXPLAIN, N) X(EXPORT, R) X(EXTENDED, R) X(FALSE, R) X(FINAL, N)         \
    X(FROM, R) X(FULL, R) X(FUNCTION, N) X(FUNCTIONS, N) X(GRACE, N) X(GROUP, R)           \
    X(HAVING, R) X(HEADER, N) X(HEADERS, N) X(HOPPING, R) X(HOUR, N) X(HOURS, R) X(ID, N)  \
    X(IF, N) X(IN, R) X(INNER, R) X(INSERT, R) X(INT, N) X(INTEGER, N) X(INTERVAL, N)      \
    X(INTO, R) X(IS, R) X(JOIN, R) X(KEY, N) X(LEFT, R) X(LIKE, R) X(LIMIT, R) X(LIST, R)  \
    X(LOAD, R) X(MAP, N) X(MATERIALIZED, R) X(MILLISECOND, R) X(MILLISECONDS, R)          \
    X(MINUTE, N) X(MINUTES, R) X(MODEL, N) X(MONTH, N) X(MONTHS, R) X(NAMESPACE, R)        \
    X(NOT, R) X(NULL, R) X(ON, R) X(OR, R) X(OUTER, R) X(PARTITION, N) X(PARTITIONS, N)    \
    X(PERIOD, N) X(PLUGINS, N) X(PRIMARY, N) X(PRINT, R) X(PROPERTIES, R) X(QUERIES, R)    \
    X(QUERY, R) X(RENAME, R) X(REPLACE, N) X(RESET, N) X(RETENTION, R) X(RIGHT, R)         \
    X(RUN, R) X(SAMPLE, R) X(SCHEMA, N) X(SCRIPT, R) X(SECOND, N) X(SECONDS, R)            \
    X(SELECT, R) X(SESSION, N) X(SET, N) X(SHOW, N) X(SINK, N) X(SIZE, R) X(SOURCE, N)     \
    X(STREAM, R) X(STREAMS, R) X(STRING, N) X(STRUCT, N) X(SUBJECT, N) X(SYSTEM, N)        \
    X(TABLE, R) X(TABLES, N) X(TERMINATE, R) X(THEN, R) X(TIME, N) X(TIMEOUT, N)           \
    X(TIMESTAMP, N) X(TO, R) X(TOPIC, R) X(TOPICS, R) X(TRUE, R) X(TUMBLING, R) X(TYPE, N) \
    X(TYPES, N) X(UNDEFINE, N) X(UNSET, R) X(VALUES, R) X(VARCHAR, N) X(VARIABLES, N)     \
    X(VIEW, R) X(WHEN, R) X(WHERE, R) X(WINDOW, R) X(WITH, R) X(WITHIN, R) X(YEAR, N)      \
    X(YEARS, R) X(ZONE, N)

typedef enum mp_sql_keyword {
    MP_SQL_KW_NONE = 0,
#define MP_SQL_KW_ENUM_(name, res) MP_SQL_KW_##name,
    MP_SQL_KEYWORDS(MP_SQL_KW_ENUM_)
#undef MP_SQL_KW_ENUM_
    MP_SQL_KW_COUNT_
} mp_sql_keyword;

typedef struct mp_sql_token {
    mp_sql_tok_kind kind;
    mp_sql_keyword kw; /* for MP_SQL_TOK_IDENT that spells a keyword, else NONE */
    /* Normalised text, NUL-terminated, owned by the token list: upper-cased
     * for words and numbers, unescaped for strings and quoted identifiers,
     * the operator's spelling otherwise, "" for EOF. */
    const char *text;
    size_t text_len;
    size_t len; /* bytes of source the token spans (pos.offset is where) */
    mp_sql_pos pos;
} mp_sql_token;

typedef struct mp_sql_tokens {
    mp_sql_token *v; /* n tokens, the last one MP_SQL_TOK_EOF */
    size_t n;
    char *pool; /* backing store of every token's text */
} mp_sql_tokens;

/* Lexes src[0..len). On success fills *out (release with mp_sql_tokens_free)
 * and returns 0. On bad input returns MP_EINPUT with "line L:C: message" in
 * e and, if err_pos is not NULL, the place in *err_pos; *out is left empty. */
int mp_sql_lex(const char *src, size_t len, mp_sql_tokens *out, mp_sql_pos *err_pos,
               mp_error *e);
void mp_sql_tokens_free(mp_sql_tokens *t);

/* The keyword an upper-case word spells, or MP_SQL_KW_NONE. */
mp_sql_keyword mp_sql_keyword_lookup(const char *upper, size_t len);
const char *mp_sql_keyword_name(mp_sql_keyword kw);
/* Reserved words can't be used as unquoted names (ksqlDB's rule). */
int mp_sql_keyword_is_reserved(mp_sql_keyword kw);
/* A short description for messages: "','", "end of input", ... */
const char *mp_sql_tok_kind_name(mp_sql_tok_kind kind);

/* Appends the source line `line` of src and, under it, a caret at column
 * `col` (tabs in the line are copied so the caret lines up):
 *     SELECT * FROM t WHERE (a;
 *                             ^
 * Lines longer than about 160 characters are cut around the column. Does
 * nothing when the line doesn't exist. Allocation failure sets out->oom. */
void mp_sql_caret_context(const char *src, size_t len, uint32_t line, uint32_t col,
                          mp_buf *out);

#endif
