/* libFuzzer target: any bytes through the SQL lexer and parser. A script
 * that parses must print as canonical SQL that parses back to an equal
 * tree and prints identically again; the caret helper must cope with
 * whatever position an error names. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "sql/sql_parser.h"

static void die(const char *what, const char *text)
{
    fprintf(stderr, "fuzz_sql_parser: %s\n%s\n", what, text ? text : "");
    __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *src = (const char *)data;
    mp_sql_script *s = NULL;
    mp_error e = {0};
    mp_sql_pos pos = {0};
    if (mp_sql_parse_script(src, size, &s, &pos, &e) != 0) {
        if (e.code != MP_EINPUT && e.code != MP_ENOMEM)
            die("unexpected error code", e.msg);
        if (strncmp(e.msg, "line ", 5) != 0)
            die("error without a position", e.msg);
        if (pos.offset > size || pos.line == 0 || pos.col == 0)
            die("error position out of range", e.msg);
        mp_buf b = {0};
        mp_sql_caret_context(src, size, pos.line, pos.col, &b);
        mp_buf_free(&b);
        return 0;
    }
    for (size_t k = 0; k < s->n; k++) {
        const mp_sql_stmt *st = s->stmts[k];
        if (st->span_offset > size || st->span_len > size - st->span_offset)
            die("statement span out of range", NULL);
    }
    mp_buf one = {0}, two = {0}, parens = {0};
    if (mp_sql_script_print(s, 0, &one) != 0 ||
        mp_sql_script_print(s, MP_SQL_PRINT_PARENS, &parens) != 0)
        die("print failed", NULL);
    mp_sql_script *again = NULL;
    mp_error e2 = {0};
    if (mp_sql_parse_script(one.data, one.len, &again, NULL, &e2) != 0)
        die(e2.msg, one.data);
    if (!mp_sql_script_equal(s, again))
        die("reparsed tree differs", one.data);
    if (mp_sql_script_print(again, 0, &two) != 0 || two.len != one.len ||
        (one.len && memcmp(one.data, two.data, one.len) != 0))
        die("second print differs", two.data);
    mp_sql_script_free(again);
    mp_sql_script_free(s);
    mp_buf_free(&one);
    mp_buf_free(&two);
    mp_buf_free(&parens);
    return 0;
}
