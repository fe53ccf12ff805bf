/* The syntax tree of mlpipe's SQL (ksqlDB's dialect), its constructors,
 * destructors, structural equality and a printer that writes canonical SQL.
 *
 * Ownership: every node owns its children and strings (heap-allocated, freed
 * by the matching *_free, which accepts NULL). Names are stored as ksqlDB
 * resolves them: unquoted identifiers upper-cased, quoted ones as written.
 * Positions (pos) are where a node's first token starts; they take no part
 * in equality.
 *
 * Printing: mp_sql_*_print append canonical SQL (keywords upper case, names
 * backticked when they need it, minimal parentheses, one space between
 * tokens), so that parsing the printed text gives an equal tree. With
 * MP_SQL_PRINT_PARENS every compound expression is parenthesised, which
 * shows how an expression was grouped. Printers return 0 or MP_ENOMEM.
 *
 * Trees are not thread-safe to mutate; read-only sharing is fine. */
#ifndef MP_SQL_AST_H
#define MP_SQL_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "sql/sql_lexer.h"

/* ---- time ---- */

typedef enum mp_sql_time_unit {
    MP_SQL_MILLISECONDS,
    MP_SQL_SECONDS,
    MP_SQL_MINUTES,
    MP_SQL_HOURS,
    MP_SQL_DAYS,
} mp_sql_time_unit;

/* `n unit` in window, WITHIN and GRACE PERIOD clauses; n >= 0. */
typedef struct mp_sql_duration {
    int64_t n;
    mp_sql_time_unit unit;
} mp_sql_duration;

/* Milliseconds in d; MP_EINVAL if that overflows 64 bits. */
int mp_sql_duration_ms(mp_sql_duration d, int64_t *ms);
/* "MILLISECONDS", "SECONDS", ... (ksqlDB accepts singular forms too). */
const char *mp_sql_time_unit_name(mp_sql_time_unit u);

/* ---- types ---- */

typedef enum mp_sql_type_kind {
    MP_SQL_TYPE_BOOLEAN,
    MP_SQL_TYPE_INTEGER, /* INT, INTEGER */
    MP_SQL_TYPE_BIGINT,
    MP_SQL_TYPE_DOUBLE,
    MP_SQL_TYPE_DECIMAL, /* precision, scale */
    MP_SQL_TYPE_STRING,  /* STRING, VARCHAR */
    MP_SQL_TYPE_BYTES,
    MP_SQL_TYPE_TIMESTAMP,
    MP_SQL_TYPE_DATE,
    MP_SQL_TYPE_TIME,
    MP_SQL_TYPE_ARRAY,  /* elem */
    MP_SQL_TYPE_MAP,    /* key, elem (the value type) */
    MP_SQL_TYPE_STRUCT, /* fields */
} mp_sql_type_kind;

typedef struct mp_sql_type mp_sql_type;

typedef struct mp_sql_struct_field {
    char *name;
    mp_sql_type *type;
} mp_sql_struct_field;

struct mp_sql_type {
    mp_sql_type_kind kind;
    int precision, scale; /* DECIMAL: 1 <= precision, 0 <= scale <= precision */
    mp_sql_type *key;     /* MAP */
    mp_sql_type *elem;    /* ARRAY element, MAP value */
    size_t nfields;       /* STRUCT (may be 0: STRUCT<>) */
    mp_sql_struct_field *fields;
};

mp_sql_type *mp_sql_type_new(mp_sql_type_kind kind);
void mp_sql_type_free(mp_sql_type *t);
mp_sql_type *mp_sql_type_clone(const mp_sql_type *t);
bool mp_sql_type_equal(const mp_sql_type *a, const mp_sql_type *b);
int mp_sql_type_print(const mp_sql_type *t, mp_buf *out);

/* ---- expressions ---- */

typedef enum mp_sql_expr_kind {
    MP_SQL_EXPR_NULL,
    MP_SQL_EXPR_BOOL,    /* boolean */
    MP_SQL_EXPR_INT,     /* i: INTEGER when it fits in 32 bits, else BIGINT (ksqlDB's rule) */
    MP_SQL_EXPR_DECIMAL, /* str: the literal's text, e.g. "-1.50"; DECIMAL(digits, scale) */
    MP_SQL_EXPR_DOUBLE,  /* d: a literal with an exponent */
    MP_SQL_EXPR_STRING,  /* str (len bytes) */
    MP_SQL_EXPR_COLUMN,  /* name, qualifier (source or alias; NULL if none) */
    MP_SQL_EXPR_DEREF,   /* a->name (struct field) */
    MP_SQL_EXPR_SUBSCRIPT, /* a[b] */
    MP_SQL_EXPR_UNARY,   /* op (MP_SQL_OP_NEG / MP_SQL_OP_POS) a */
    MP_SQL_EXPR_BINARY,  /* a op b: arithmetic, ||, comparison, AND, OR */
    MP_SQL_EXPR_NOT,     /* NOT a */
    MP_SQL_EXPR_IS_NULL, /* a IS [NOT] NULL (negated) */
    MP_SQL_EXPR_DISTINCT, /* a IS [NOT] DISTINCT FROM b (negated) */
    MP_SQL_EXPR_BETWEEN, /* a [NOT] BETWEEN b AND c */
    MP_SQL_EXPR_IN,      /* a [NOT] IN (items) */
    MP_SQL_EXPR_LIKE,    /* a [NOT] LIKE b [ESCAPE str] (str NULL if none) */
    MP_SQL_EXPR_CALL,    /* name(items) or name(*) (star); lambdas are items */
    MP_SQL_EXPR_CAST,    /* CAST(a AS type) */
    MP_SQL_EXPR_CASE,    /* CASE [a] WHEN items[2k] THEN items[2k+1] ... [ELSE c] END */
    MP_SQL_EXPR_ARRAY,   /* ARRAY[items] */
    MP_SQL_EXPR_MAP,     /* MAP(items[2k] := items[2k+1], ...) */
    MP_SQL_EXPR_STRUCT,  /* STRUCT(names[k] := items[k], ...) */
    MP_SQL_EXPR_LAMBDA,  /* (names) => a; only as a function argument */
    MP_SQL_EXPR_TIME_UNIT, /* a time unit as a function argument: unit */
} mp_sql_expr_kind;

typedef enum mp_sql_op {
    MP_SQL_OP_NONE,
    MP_SQL_OP_NEG, /* unary - */
    MP_SQL_OP_POS, /* unary + */
    MP_SQL_OP_MUL,
    MP_SQL_OP_DIV,
    MP_SQL_OP_MOD,
    MP_SQL_OP_ADD,
    MP_SQL_OP_SUB,
    MP_SQL_OP_CONCAT, /* || */
    MP_SQL_OP_EQ,
    MP_SQL_OP_NE, /* != and <> */
    MP_SQL_OP_LT,
    MP_SQL_OP_LE,
    MP_SQL_OP_GT,
    MP_SQL_OP_GE,
    MP_SQL_OP_AND,
    MP_SQL_OP_OR,
} mp_sql_op;

typedef struct mp_sql_expr mp_sql_expr;

/* One node type for every expression; which fields a kind uses is listed
 * beside the kind above. Unused fields are zero/NULL. */
struct mp_sql_expr {
    mp_sql_expr_kind kind;
    mp_sql_pos pos;
    mp_sql_op op;
    bool negated;
    bool boolean;
    bool star;
    int64_t i;
    double d;
    char *str; /* STRING bytes, DECIMAL text, LIKE escape */
    size_t len;
    char *name;
    char *qualifier;
    mp_sql_expr *a, *b, *c;
    size_t n; /* items */
    mp_sql_expr **items;
    size_t nnames; /* names */
    char **names;
    mp_sql_type *type;
    mp_sql_time_unit unit;
    uint32_t height; /* 1 + the tallest child's; set by the parser and constructors */
};

/* An empty node of that kind, or NULL when out of memory. */
mp_sql_expr *mp_sql_expr_new(mp_sql_expr_kind kind);
void mp_sql_expr_free(mp_sql_expr *e);
mp_sql_expr *mp_sql_expr_clone(const mp_sql_expr *e);
bool mp_sql_expr_equal(const mp_sql_expr *a, const mp_sql_expr *b);

/* Convenience constructors. Those taking child nodes take ownership of
 * them, also on failure (they free them and return NULL), so calls nest. */
mp_sql_expr *mp_sql_expr_null(void);
mp_sql_expr *mp_sql_expr_bool(bool v);
mp_sql_expr *mp_sql_expr_int(int64_t v);
mp_sql_expr *mp_sql_expr_double(double v);
mp_sql_expr *mp_sql_expr_decimal(const char *text);
mp_sql_expr *mp_sql_expr_string(const char *s, size_t len);
mp_sql_expr *mp_sql_expr_column(const char *qualifier, const char *name);
mp_sql_expr *mp_sql_expr_unary(mp_sql_op op, mp_sql_expr *a);
mp_sql_expr *mp_sql_expr_binary(mp_sql_op op, mp_sql_expr *a, mp_sql_expr *b);
mp_sql_expr *mp_sql_expr_not(mp_sql_expr *a);
/* name(args...) with nargs children taken from args (the array is copied). */
mp_sql_expr *mp_sql_expr_call(const char *name, mp_sql_expr **args, size_t nargs);
/* Recomputes e->height from its children (after editing a tree by hand). */
void mp_sql_expr_update_height(mp_sql_expr *e);

/* The SQL spelling of an operator: "+", "<>", "AND", "-" (for NEG), ... */
const char *mp_sql_op_name(mp_sql_op op);

enum { MP_SQL_PRINT_PARENS = 1 };
int mp_sql_expr_print(const mp_sql_expr *e, unsigned flags, mp_buf *out);

/* ---- queries ---- */

typedef struct mp_sql_source {
    char *name;
    char *alias; /* NULL if none */
    mp_sql_pos pos;
} mp_sql_source;

typedef enum mp_sql_join_type {
    MP_SQL_JOIN_INNER,
    MP_SQL_JOIN_LEFT,
    MP_SQL_JOIN_RIGHT,
    MP_SQL_JOIN_FULL,
} mp_sql_join_type;

typedef struct mp_sql_join {
    mp_sql_join_type type;
    mp_sql_source source;
    bool has_within;
    bool within_pair; /* WITHIN (before, after); else before == after */
    mp_sql_duration before, after;
    bool has_grace;
    mp_sql_duration grace;
    mp_sql_expr *on;
} mp_sql_join;

typedef enum mp_sql_window_kind {
    MP_SQL_WINDOW_TUMBLING,
    MP_SQL_WINDOW_HOPPING,
    MP_SQL_WINDOW_SESSION,
} mp_sql_window_kind;

typedef struct mp_sql_window {
    mp_sql_window_kind kind;
    mp_sql_duration size;    /* SIZE, or the SESSION inactivity gap */
    mp_sql_duration advance; /* HOPPING only */
    bool has_retention;
    mp_sql_duration retention;
    bool has_grace;
    mp_sql_duration grace;
} mp_sql_window;

typedef enum mp_sql_item_kind {
    MP_SQL_ITEM_EXPR,       /* expr [AS alias] */
    MP_SQL_ITEM_ALL,        /* * */
    MP_SQL_ITEM_SOURCE_ALL, /* source.* */
    MP_SQL_ITEM_STRUCT_ALL, /* expr->* */
} mp_sql_item_kind;

typedef struct mp_sql_select_item {
    mp_sql_item_kind kind;
    mp_sql_expr *expr;
    char *alias;  /* ITEM_EXPR; NULL if none */
    char *source; /* ITEM_SOURCE_ALL */
    mp_sql_pos pos;
} mp_sql_select_item;

typedef enum mp_sql_emit {
    MP_SQL_EMIT_NONE, /* a pull query */
    MP_SQL_EMIT_CHANGES,
    MP_SQL_EMIT_FINAL,
} mp_sql_emit;

typedef struct mp_sql_query {
    mp_sql_pos pos;
    size_t nitems;
    mp_sql_select_item *items;
    mp_sql_source from;
    size_t njoins;
    mp_sql_join *joins;
    mp_sql_window *window; /* NULL if none */
    mp_sql_expr *where;    /* NULL if none */
    bool has_group_by;     /* GROUP BY () has the clause with no expressions */
    size_t ngroup_by;
    mp_sql_expr **group_by;
    bool has_partition_by;
    size_t npartition_by;
    mp_sql_expr **partition_by;
    mp_sql_expr *having;
    mp_sql_emit emit;
    bool has_limit;
    int64_t limit;
} mp_sql_query;

mp_sql_query *mp_sql_query_new(void);
void mp_sql_query_free(mp_sql_query *q);
bool mp_sql_query_equal(const mp_sql_query *a, const mp_sql_query *b);
int mp_sql_query_print(const mp_sql_query *q, unsigned flags, mp_buf *out);

/* ---- statements ---- */

typedef enum mp_sql_stmt_kind {
    MP_SQL_STMT_QUERY,         /* SELECT ...: query */
    MP_SQL_STMT_CREATE_SOURCE, /* CREATE [OR REPLACE] [SOURCE] STREAM|TABLE [IF NOT EXISTS]
                                  name [(columns)] [WITH (props)] */
    MP_SQL_STMT_CREATE_AS,     /* CREATE [OR REPLACE] STREAM|TABLE|MODEL [IF NOT EXISTS]
                                  name [WITH (props)] AS query */
    MP_SQL_STMT_INSERT_QUERY,  /* INSERT INTO name [WITH (props)] query */
    MP_SQL_STMT_INSERT_VALUES, /* INSERT INTO name [(names)] VALUES (values) */
    MP_SQL_STMT_SHOW,          /* SHOW|LIST what [EXTENDED]; ALL for topics */
    MP_SQL_STMT_DESCRIBE,      /* DESCRIBE name [EXTENDED] */
    MP_SQL_STMT_DESCRIBE_ALL,  /* DESCRIBE STREAMS|TABLES [EXTENDED]: object */
    MP_SQL_STMT_DESCRIBE_FUNCTION, /* DESCRIBE FUNCTION name */
    MP_SQL_STMT_DROP,          /* DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC] */
    MP_SQL_STMT_TERMINATE,     /* TERMINATE name | ALL (all) */
    MP_SQL_STMT_PRINT,         /* PRINT topic [FROM BEGINNING] [INTERVAL n] [LIMIT n] */
    MP_SQL_STMT_SET,           /* SET 'name' = 'value' */
    MP_SQL_STMT_UNSET,         /* UNSET 'name' */
    MP_SQL_STMT_RUN_SCRIPT,    /* RUN SCRIPT 'value' */
    MP_SQL_STMT_EXPLAIN,       /* EXPLAIN explained | EXPLAIN name (a query id) */
} mp_sql_stmt_kind;

typedef enum mp_sql_object {
    MP_SQL_OBJ_STREAM,
    MP_SQL_OBJ_TABLE,
    MP_SQL_OBJ_MODEL, /* mlpipe: CREATE MODEL name WITH (ALGORITHM=..., TARGET=...) AS SELECT */
} mp_sql_object;

typedef enum mp_sql_show_what {
    MP_SQL_SHOW_STREAMS,
    MP_SQL_SHOW_TABLES,
    MP_SQL_SHOW_QUERIES,
    MP_SQL_SHOW_TOPICS,
    MP_SQL_SHOW_FUNCTIONS,
    MP_SQL_SHOW_PROPERTIES,
} mp_sql_show_what;

typedef enum mp_sql_col_constraint {
    MP_SQL_COL_VALUE, /* none */
    MP_SQL_COL_KEY,
    MP_SQL_COL_PRIMARY_KEY,
    MP_SQL_COL_HEADERS,
    MP_SQL_COL_HEADER, /* HEADER('header_key') */
} mp_sql_col_constraint;

typedef struct mp_sql_column_def {
    char *name;
    mp_sql_type *type;
    mp_sql_col_constraint constraint;
    char *header_key;
    mp_sql_pos pos;
} mp_sql_column_def;

/* A WITH property. Names written as identifiers are upper-cased, names
 * written as strings kept; ksqlDB compares them case-insensitively. The
 * value is a literal: NULL, TRUE/FALSE, a number (maybe negative), a string. */
typedef struct mp_sql_property {
    char *name;
    mp_sql_expr *value;
    mp_sql_pos pos;
} mp_sql_property;

typedef struct mp_sql_stmt mp_sql_stmt;

struct mp_sql_stmt {
    mp_sql_stmt_kind kind;
    mp_sql_pos pos;     /* the first token */
    size_t span_offset; /* the statement's source text, without its ';' */
    size_t span_len;
    mp_sql_object object;
    bool or_replace, is_source, if_not_exists, if_exists, delete_topic;
    bool extended, all, from_beginning;
    char *name; /* the source, target, function, or query id */
    bool has_columns;
    size_t ncolumns; /* CREATE_SOURCE */
    mp_sql_column_def *columns;
    size_t nprops; /* a WITH clause is never empty, so nprops > 0 means WITH */
    mp_sql_property *props;
    mp_sql_query *query;
    size_t ninsert_columns; /* INSERT_VALUES; 0 means no column list */
    char **insert_columns;
    size_t nvalues;
    mp_sql_expr **values;
    mp_sql_show_what show;
    char *topic; /* PRINT: exactly as written (topic names are case-sensitive) */
    bool has_interval;
    int64_t interval;
    bool has_limit;
    int64_t limit;
    char *value; /* SET value, RUN SCRIPT path; SET/UNSET use name for the property */
    mp_sql_stmt *explained; /* EXPLAIN of a statement */
};

mp_sql_stmt *mp_sql_stmt_new(mp_sql_stmt_kind kind);
void mp_sql_stmt_free(mp_sql_stmt *s);
/* Ignores positions and spans. */
bool mp_sql_stmt_equal(const mp_sql_stmt *a, const mp_sql_stmt *b);
/* Canonical text of the statement, without a trailing ';'. */
int mp_sql_stmt_print(const mp_sql_stmt *s, unsigned flags, mp_buf *out);
/* The same as a new string (caller frees), or NULL when out of memory. */
char *mp_sql_stmt_to_sql(const mp_sql_stmt *s);

typedef struct mp_sql_script {
    size_t n;
    mp_sql_stmt **stmts;
} mp_sql_script;

void mp_sql_script_free(mp_sql_script *s);
bool mp_sql_script_equal(const mp_sql_script *a, const mp_sql_script *b);
/* Each statement followed by ";\n". */
int mp_sql_script_print(const mp_sql_script *s, unsigned flags, mp_buf *out);

/* Appends name as SQL: bare when it reads back as the same name (upper
 * case, a valid word, not a keyword), else in backticks. */
void mp_sql_print_ident(const char *name, mp_buf *out);
/* Appends s as a '...' literal, doubling quotes. */
void mp_sql_print_string(const char *s, size_t len, mp_buf *out);

#endif
