#include <stdlib.h>
#include <string.h>

#include "sql/sql_lexer.h"
#include "test.h"

static mp_sql_tokens lex_ok(const char *src)
{
    mp_sql_tokens t;
    mp_error e = {0};
    if (mp_sql_lex(src, strlen(src), &t, NULL, &e) != 0) {
        fprintf(stderr, "lex failed on [%s]: %s\n", src, e.msg);
        memset(&t, 0, sizeof t);
    }
    return t;
}

static void test_keyword_table(void)
{
    /* Sorted, so the binary search finds every entry. */
    for (int k = 2; k < MP_SQL_KW_COUNT_; k++)
        CHECK(strcmp(mp_sql_keyword_name((mp_sql_keyword)(k - 1)),
                     mp_sql_keyword_name((mp_sql_keyword)k)) < 0);
    for (int k = 1; k < MP_SQL_KW_COUNT_; k++) {
        const char *n = mp_sql_keyword_name((mp_sql_keyword)k);
        CHECK(mp_sql_keyword_lookup(n, strlen(n)) == (mp_sql_keyword)k);
    }
    CHECK(mp_sql_keyword_lookup("SELEC", 5) == MP_SQL_KW_NONE);
    CHECK(mp_sql_keyword_lookup("SELECTS", 7) == MP_SQL_KW_NONE);
    CHECK(mp_sql_keyword_lookup("ROWTIME", 7) == MP_SQL_KW_NONE);
    /* ksqlDB's reserved / non-reserved split */
    CHECK(mp_sql_keyword_is_reserved(MP_SQL_KW_SELECT));
    CHECK(mp_sql_keyword_is_reserved(MP_SQL_KW_SIZE));
    CHECK(mp_sql_keyword_is_reserved(MP_SQL_KW_SECONDS));
    CHECK(!mp_sql_keyword_is_reserved(MP_SQL_KW_SECOND));
    CHECK(!mp_sql_keyword_is_reserved(MP_SQL_KW_KEY));
    CHECK(!mp_sql_keyword_is_reserved(MP_SQL_KW_EMIT));
    CHECK(!mp_sql_keyword_is_reserved(MP_SQL_KW_TIMESTAMP));
    CHECK(!mp_sql_keyword_is_reserved(MP_SQL_KW_MODEL));
}

static void test_words_and_case(void)
{
    mp_sql_tokens t = lex_ok("select MyCol, `MyCol`, \"dq \"\"x\"\"\", `a``b`, _x1@y, rowtime");
    REQUIRE(t.n == 13);
    CHECK(t.v[0].kind == MP_SQL_TOK_IDENT && t.v[0].kw == MP_SQL_KW_SELECT);
    CHECK(strcmp(t.v[0].text, "SELECT") == 0);
    CHECK(t.v[1].kind == MP_SQL_TOK_IDENT && t.v[1].kw == MP_SQL_KW_NONE);
    CHECK(strcmp(t.v[1].text, "MYCOL") == 0);
    CHECK(t.v[2].kind == MP_SQL_TOK_COMMA);
    CHECK(t.v[3].kind == MP_SQL_TOK_QIDENT && strcmp(t.v[3].text, "MyCol") == 0);
    CHECK(t.v[5].kind == MP_SQL_TOK_QIDENT && strcmp(t.v[5].text, "dq \"x\"") == 0);
    CHECK(t.v[7].kind == MP_SQL_TOK_QIDENT && strcmp(t.v[7].text, "a`b") == 0);
    CHECK(t.v[7].text_len == 3);
    CHECK(t.v[9].kind == MP_SQL_TOK_IDENT && strcmp(t.v[9].text, "_X1@Y") == 0);
    CHECK(t.v[11].kind == MP_SQL_TOK_IDENT && strcmp(t.v[11].text, "ROWTIME") == 0);
    CHECK(t.v[11].kw == MP_SQL_KW_NONE);
    /* a quoted keyword is just a name */
    mp_sql_tokens q = lex_ok("`SELECT`");
    REQUIRE(q.n == 2);
    CHECK(q.v[0].kind == MP_SQL_TOK_QIDENT && q.v[0].kw == MP_SQL_KW_NONE);
    CHECK(q.v[1].kind == MP_SQL_TOK_EOF);
    mp_sql_tokens_free(&q);
    mp_sql_tokens_free(&t);
}

static void test_strings(void)
{
    mp_sql_tokens t = lex_ok("'it''s' '' 'a\nb' '''' 'é'");
    REQUIRE(t.n == 6);
    CHECK(t.v[0].kind == MP_SQL_TOK_STRING && strcmp(t.v[0].text, "it's") == 0);
    CHECK(t.v[0].text_len == 4 && t.v[0].len == 7);
    CHECK(t.v[1].kind == MP_SQL_TOK_STRING && t.v[1].text_len == 0);
    CHECK(strcmp(t.v[2].text, "a\nb") == 0);
    CHECK(strcmp(t.v[3].text, "'") == 0);
    CHECK(strcmp(t.v[4].text, "\xc3\xa9") == 0);
    /* the newline inside the third string moves the fourth to line 2 */
    CHECK(t.v[3].pos.line == 2 && t.v[3].pos.col == 4);
    /* no backslash escapes: '\n' is two characters */
    mp_sql_tokens b = lex_ok("'\\n'");
    CHECK(b.n == 2 && b.v[0].text_len == 2);
    mp_sql_tokens_free(&b);
    mp_sql_tokens_free(&t);
}

static void test_numbers(void)
{
    static const struct {
        const char *src;
        mp_sql_tok_kind kind;
        const char *text;
    } cases[] = {
        {"1", MP_SQL_TOK_INTEGER, "1"},
        {"007", MP_SQL_TOK_INTEGER, "007"},
        {"1.5", MP_SQL_TOK_DECIMAL, "1.5"},
        {"1.", MP_SQL_TOK_DECIMAL, "1."},
        {".5", MP_SQL_TOK_DECIMAL, ".5"},
        {"1e3", MP_SQL_TOK_DOUBLE, "1E3"},
        {"1.5E-7", MP_SQL_TOK_DOUBLE, "1.5E-7"},
        {".5e+2", MP_SQL_TOK_DOUBLE, ".5E+2"},
        {"1.e5", MP_SQL_TOK_DOUBLE, "1.E5"},
        /* longest match, numbers winning ties (ksqlDB's lexer) */
        {"2nd", MP_SQL_TOK_IDENT, "2ND"},
        {"1e", MP_SQL_TOK_IDENT, "1E"},
        {"1e3x", MP_SQL_TOK_IDENT, "1E3X"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        mp_sql_tokens t = lex_ok(cases[k].src);
        CHECK(t.n == 2);
        if (t.n == 2) {
            if (t.v[0].kind != cases[k].kind || strcmp(t.v[0].text, cases[k].text) != 0)
                fprintf(stderr, "number case %s: kind %d text %s\n", cases[k].src,
                        (int)t.v[0].kind, t.v[0].text);
            CHECK(t.v[0].kind == cases[k].kind);
            CHECK(strcmp(t.v[0].text, cases[k].text) == 0);
        }
        mp_sql_tokens_free(&t);
    }
    /* a sign is an operator; 1.5.2 is a decimal then another */
    mp_sql_tokens t = lex_ok("-1 1.5.2 1e+");
    REQUIRE(t.n == 7);
    CHECK(t.v[0].kind == MP_SQL_TOK_MINUS && t.v[1].kind == MP_SQL_TOK_INTEGER);
    CHECK(t.v[2].kind == MP_SQL_TOK_DECIMAL && strcmp(t.v[2].text, "1.5") == 0);
    CHECK(t.v[3].kind == MP_SQL_TOK_DECIMAL && strcmp(t.v[3].text, ".2") == 0);
    CHECK(t.v[4].kind == MP_SQL_TOK_IDENT && strcmp(t.v[4].text, "1E") == 0);
    CHECK(t.v[5].kind == MP_SQL_TOK_PLUS);
    mp_sql_tokens_free(&t);
}

static void test_operators(void)
{
    mp_sql_tokens t = lex_ok("+ - * / % || = != <> < <= > >= -> => := ; , ( ) [ ] . :");
    static const mp_sql_tok_kind want[] = {
        MP_SQL_TOK_PLUS,    MP_SQL_TOK_MINUS,    MP_SQL_TOK_STAR,     MP_SQL_TOK_SLASH,
        MP_SQL_TOK_PERCENT, MP_SQL_TOK_CONCAT,   MP_SQL_TOK_EQ,       MP_SQL_TOK_NE,
        MP_SQL_TOK_NE,      MP_SQL_TOK_LT,       MP_SQL_TOK_LE,       MP_SQL_TOK_GT,
        MP_SQL_TOK_GE,      MP_SQL_TOK_ARROW,    MP_SQL_TOK_LAMBDA,   MP_SQL_TOK_ASSIGN,
        MP_SQL_TOK_SEMI,    MP_SQL_TOK_COMMA,    MP_SQL_TOK_LPAREN,   MP_SQL_TOK_RPAREN,
        MP_SQL_TOK_LBRACKET, MP_SQL_TOK_RBRACKET, MP_SQL_TOK_DOT,     MP_SQL_TOK_COLON,
        MP_SQL_TOK_EOF,
    };
    REQUIRE(t.n == sizeof want / sizeof want[0]);
    for (size_t k = 0; k < t.n; k++)
        CHECK(t.v[k].kind == want[k]);
    CHECK(strcmp(t.v[8].text, "<>") == 0 && strcmp(t.v[7].text, "!=") == 0);
    mp_sql_tokens_free(&t);
    /* no spaces needed; '>>' is two tokens (for ARRAY<ARRAY<INT>>) */
    mp_sql_tokens u = lex_ok("a->b>>=c");
    REQUIRE(u.n == 7);
    CHECK(u.v[1].kind == MP_SQL_TOK_ARROW && u.v[3].kind == MP_SQL_TOK_GT);
    CHECK(u.v[4].kind == MP_SQL_TOK_GE);
    mp_sql_tokens_free(&u);
}

static void test_comments_and_positions(void)
{
    const char *src = "a -- one\n  b /* two\nlines */ c--x\n\td, e-->";
    mp_sql_tokens t = lex_ok(src);
    REQUIRE(t.n == 7);
    CHECK(strcmp(t.v[0].text, "A") == 0 && t.v[0].pos.line == 1 && t.v[0].pos.col == 1);
    CHECK(strcmp(t.v[1].text, "B") == 0 && t.v[1].pos.line == 2 && t.v[1].pos.col == 3);
    CHECK(t.v[1].pos.offset == 11);
    CHECK(strcmp(t.v[2].text, "C") == 0 && t.v[2].pos.line == 3 && t.v[2].pos.col == 10);
    CHECK(t.v[2].pos.offset == (size_t)(strchr(src, 'c') - src));
    CHECK(strcmp(t.v[3].text, "D") == 0 && t.v[3].pos.line == 4 && t.v[3].pos.col == 2);
    CHECK(t.v[4].kind == MP_SQL_TOK_COMMA && strcmp(t.v[5].text, "E") == 0);
    CHECK(t.v[6].kind == MP_SQL_TOK_EOF);
    mp_sql_tokens_free(&t);

    const char *src2 = "'é'/*ü*/x\n-- end";
    mp_sql_tokens u = lex_ok(src2);
    REQUIRE(u.n == 3);
    /* columns count characters: 'é' is 3 characters, the comment 5 */
    CHECK(u.v[1].pos.col == 9 && u.v[1].pos.offset == 10);
    CHECK(u.v[2].kind == MP_SQL_TOK_EOF && u.v[2].pos.line == 2 && u.v[2].pos.col == 7);
    mp_sql_tokens_free(&u);
}

static void check_lex_error(const char *src, size_t len, unsigned line, unsigned col,
                            const char *msg)
{
    mp_sql_tokens t;
    mp_error e = {0};
    mp_sql_pos pos = {0};
    int rc = mp_sql_lex(src, len, &t, &pos, &e);
    CHECK(rc == MP_EINPUT);
    CHECK(t.v == NULL && t.n == 0);
    char want[64];
    snprintf(want, sizeof want, "line %u:%u: ", line, col);
    if (strncmp(e.msg, want, strlen(want)) != 0 || !strstr(e.msg, msg))
        fprintf(stderr, "lex error for [%s]: got \"%s\", want \"%s%s\"\n", src, e.msg, want, msg);
    CHECK(strncmp(e.msg, want, strlen(want)) == 0);
    CHECK_STR_CONTAINS(e.msg, msg);
    CHECK(pos.line == line && pos.col == col);
}

static void test_errors(void)
{
    check_lex_error("SELECT 'abc", 11, 1, 8, "unterminated string literal");
    check_lex_error("a\n  /* open", 11, 2, 3, "unterminated comment");
    check_lex_error("SELECT `abc", 11, 1, 8, "unterminated quoted identifier");
    check_lex_error("x \"abc", 6, 1, 3, "unterminated quoted identifier");
    check_lex_error("SELECT ``", 9, 1, 8, "empty quoted identifier");
    check_lex_error("SELECT a # b", 12, 1, 10, "unexpected character '#'");
    check_lex_error("a | b", 5, 1, 3, "unexpected character '|'");
    check_lex_error("a ! b", 5, 1, 3, "unexpected character '!'");
    check_lex_error("a $x", 4, 1, 3, "unexpected character '$'");
    check_lex_error("x\n é", 5, 2, 2, "unexpected character byte 0xC3");
    check_lex_error("SELECT\0 1", 9, 1, 7, "unexpected NUL byte");
    check_lex_error("'a\0b'", 5, 1, 3, "unexpected NUL byte");
}

static void test_caret(void)
{
    const char *src = "SELECT 1;\n\tSELECT (a, b;\nx";
    mp_buf b = {0};
    mp_sql_caret_context(src, strlen(src), 2, 11, &b);
    REQUIRE(b.data != NULL);
    CHECK(strcmp(b.data, "\tSELECT (a, b;\n\t         ^\n") == 0);
    mp_buf_reset(&b);
    /* a UTF-8 character counts as one column */
    const char *u = "'ééé' x";
    mp_sql_caret_context(u, strlen(u), 1, 7, &b);
    CHECK(strcmp(b.data, "'ééé' x\n      ^\n") == 0);
    mp_buf_reset(&b);
    /* past the end of the line: caret after it; a missing line: nothing */
    mp_sql_caret_context(src, strlen(src), 3, 2, &b);
    CHECK(strcmp(b.data, "x\n ^\n") == 0);
    mp_buf_reset(&b);
    mp_sql_caret_context(src, strlen(src), 9, 1, &b);
    CHECK(b.len == 0);
    /* a long line is cut around the column */
    char line[400];
    memset(line, 'a', sizeof line - 1);
    line[sizeof line - 1] = '\0';
    line[300] = '#';
    mp_sql_caret_context(line, strlen(line), 1, 301, &b);
    REQUIRE(b.data != NULL);
    char *nl = strchr(b.data, '\n');
    REQUIRE(nl != NULL);
    CHECK((size_t)(nl - b.data) <= 170);
    CHECK(strncmp(b.data, "...", 3) == 0);
    /* the caret sits under the '#' */
    size_t caret = (size_t)(strchr(nl, '^') - (nl + 1));
    CHECK(b.data[caret] == '#');
    mp_buf_free(&b);
}

int main(void)
{
    RUN(test_keyword_table);
    RUN(test_words_and_case);
    RUN(test_strings);
    RUN(test_numbers);
    RUN(test_operators);
    RUN(test_comments_and_positions);
    RUN(test_errors);
    RUN(test_caret);
    return TEST_SUMMARY();
}
