/* A hand-written recursive-descent parser for mlpipe's SQL: ksqlDB's dialect
 * (its grammar and reference pages) plus mlpipe's CREATE MODEL.
 *
 * Statements: CREATE [OR REPLACE] [SOURCE] STREAM|TABLE, CREATE STREAM|TABLE
 * ... AS SELECT, CREATE MODEL name WITH (...) AS SELECT, INSERT INTO ...
 * SELECT | VALUES, SELECT (push with EMIT CHANGES|FINAL, pull without),
 * SHOW|LIST, DESCRIBE, DROP, TERMINATE, PRINT, SET, UNSET, RUN SCRIPT,
 * EXPLAIN. Expression precedence, loosest first (ksqlDB's grammar):
 *   OR;  AND;  NOT;  comparisons = <> != < <= > >=, IS [NOT] NULL,
 *   IS [NOT] DISTINCT FROM, [NOT] BETWEEN, [NOT] IN, [NOT] LIKE (one per
 *   operand: a = b = c is an error);  ||;  + -;  * / %;  unary - +;
 *   postfix [i] and ->field.
 * A '-' directly before a number makes a negative literal, as in ksqlDB.
 *
 * Errors are MP_EINPUT with "line L:C: message" ("line 1:25: expected ')'
 * but found ','"), and the place in *err_pos when err_pos is not NULL;
 * mp_sql_caret_context (sql_lexer.h) shows it under the source line.
 * Nesting (parentheses, NOT, unary signs, types, EXPLAIN) is capped at
 * MP_SQL_MAX_DEPTH and expression trees at MP_SQL_MAX_HEIGHT, so hostile
 * input can't exhaust the stack here or in the recursive tree walkers.
 * Nothing is allocated on failure (*out is set to NULL).
 *
 * Thread-safety: the functions keep no state; call them from any thread. */
#ifndef MP_SQL_PARSER_H
#define MP_SQL_PARSER_H

#include <stddef.h>

#include "core/error.h"
#include "sql/sql_ast.h"
#include "sql/sql_lexer.h"

#define MP_SQL_MAX_DEPTH 200
#define MP_SQL_MAX_HEIGHT 1000

/* A script of statements separated by ';' (a final ';' is optional, empty
 * statements are skipped). Each statement records its source span. The
 * caller frees *out with mp_sql_script_free. */
int mp_sql_parse_script(const char *src, size_t len, mp_sql_script **out, mp_sql_pos *err_pos,
                        mp_error *e);

/* Exactly one statement, with an optional trailing ';'. */
int mp_sql_parse_statement(const char *src, size_t len, mp_sql_stmt **out, mp_sql_pos *err_pos,
                           mp_error *e);

/* One expression and nothing else (free with mp_sql_expr_free). */
int mp_sql_parse_expr(const char *src, size_t len, mp_sql_expr **out, mp_sql_pos *err_pos,
                      mp_error *e);

/* One type, e.g. "MAP<STRING, ARRAY<DECIMAL(10, 2)>>" (free with mp_sql_type_free). */
int mp_sql_parse_type(const char *src, size_t len, mp_sql_type **out, mp_sql_pos *err_pos,
                      mp_error *e);

#endif
