/* Tests for the expression binder and evaluator (src/sql/sql_expr.h).
 *
 * Expressions are written as SQL text, parsed with mp_sql_parse_expr,
 * compiled against a fixed scope and evaluated on a fixed row. Expected
 * values are computed by hand (comments show the arithmetic where it is not
 * obvious) and compared through their ksqlDB text form and printed type. */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sql/sql_expr.h"
#include "sql/sql_parser.h"
#include "test.h"

/* ---- the scope every test uses ---- */

enum {
    C_I, C_J, C_L, C_D, C_N, C_S, C_B, C_TS, C_DT, C_TM, C_ARR, C_M, C_ST, C_SN, C_NB, C_IMAX,
    C_PV_ID, C_U_ID, C_ROWTIME, C_Z, C_LOWER, C_NS, C_AS, NCOLS
};

static const char *const col_types[NCOLS] = {
    "INTEGER", "INTEGER", "BIGINT", "DOUBLE", "DECIMAL(5, 2)", "STRING", "BOOLEAN", "TIMESTAMP",
    "DATE", "TIME", "ARRAY<INTEGER>", "MAP<STRING, INTEGER>",
    "STRUCT<A INTEGER, `b` STRING, SUB STRUCT<X DOUBLE>>", "STRING", "BOOLEAN", "INTEGER",
    "INTEGER", "INTEGER", "BIGINT", "INTEGER", "INTEGER", "STRUCT<A INTEGER>",
    "ARRAY<ARRAY<STRING>>"};
static const char *const col_names[NCOLS] = {
    "I", "J", "L", "D", "N", "S", "B", "TS", "DT", "TM", "ARR", "M", "ST", "SN", "NB", "IMAX",
    "ID", "ID", "ROWTIME", "Z", "lower", "NS", "AS2"};
static const char *const col_sources[NCOLS] = {
    [C_PV_ID] = "PV", [C_U_ID] = "U", [C_ROWTIME] = "PV", [C_I] = "PV", [C_S] = "PV"};

static mp_type *g_types[NCOLS];
static mp_sql_scope_col g_cols[NCOLS];
static mp_sql_scope g_scope;
static mp_value g_row[NCOLS + 2];
static mp_arena g_data; /* the row's payloads */
static mp_arena g_arena; /* per-evaluation results, reset after each */
static mp_fn_registry *g_fns;

/* ---- test functions registered in the registry ---- */

static int lit_seen = -1;
static int64_t lit_value;
static int rand_counter;

static int add1_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    (void)cx, (void)n, (void)d;
    *out = mp_v_int(a[0].u.i32 + 1);
    return 0;
}

static int add1_bind(const mp_type *const *args, const mp_value *const *lits, size_t n,
                     mp_scalar_impl *out, mp_error *e)
{
    (void)lits;
    if (n != 1 || (args[0]->kind != MP_TYPE_INTEGER && args[0]->kind != MP_TYPE_NULL))
        return mp_error_set(e, MP_EINVAL, "T_ADD1 takes one INTEGER, not %s",
                            n ? mp_type_kind_name(args[0]->kind) : "nothing");
    out->fn = add1_fn;
    out->ret = mp_type_new(MP_TYPE_INTEGER);
    out->null_in_null_out = 1;
    return out->ret ? 0 : MP_ENOMEM;
}

static int rand_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    (void)cx, (void)a, (void)n, (void)d;
    *out = mp_v_int(++rand_counter);
    return 0;
}

static int rand_bind(const mp_type *const *args, const mp_value *const *lits, size_t n,
                     mp_scalar_impl *out, mp_error *e)
{
    (void)args, (void)lits;
    if (n != 0)
        return mp_error_set(e, MP_EINVAL, "T_RAND takes no arguments");
    out->fn = rand_fn;
    out->ret = mp_type_new(MP_TYPE_INTEGER);
    return 0;
}

static int fail_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    (void)a, (void)n, (void)d, (void)out;
    return mp_error_set(cx->e, MP_EINPUT, "T_FAIL: boom");
}

static int fail_bind(const mp_type *const *args, const mp_value *const *lits, size_t n,
                     mp_scalar_impl *out, mp_error *e)
{
    (void)args, (void)lits, (void)n, (void)e;
    out->fn = fail_fn;
    out->ret = mp_type_new(MP_TYPE_INTEGER);
    return 0;
}

/* Records whether its argument arrived as a literal. */
static int lit_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    (void)cx, (void)n, (void)d;
    *out = mp_v_bigint(a[0].kind == MP_TYPE_INTEGER ? a[0].u.i32 : a[0].u.i64);
    return 0;
}

static int lit_bind(const mp_type *const *args, const mp_value *const *lits, size_t n,
                    mp_scalar_impl *out, mp_error *e)
{
    if (n != 1 || (args[0]->kind != MP_TYPE_INTEGER && args[0]->kind != MP_TYPE_BIGINT))
        return mp_error_set(e, MP_EINVAL, "T_LIT takes one integer");
    lit_seen = lits[0] != NULL;
    if (lits[0])
        lit_value = lits[0]->kind == MP_TYPE_INTEGER ? lits[0]->u.i32 : lits[0]->u.i64;
    out->fn = lit_fn;
    out->ret = mp_type_new(MP_TYPE_BIGINT);
    out->null_in_null_out = 1;
    return 0;
}

/* Passes a STRING argument through (to see what a time unit becomes). */
static int echo_fn(mp_fn_ctx *cx, const mp_value *a, size_t n, mp_value *out, const void *d)
{
    (void)cx, (void)n, (void)d;
    *out = a[0];
    return 0;
}

static int echo_bind(const mp_type *const *args, const mp_value *const *lits, size_t n,
                     mp_scalar_impl *out, mp_error *e)
{
    (void)lits;
    if (n < 1 || args[0]->kind != MP_TYPE_STRING)
        return mp_error_set(e, MP_EINVAL, "T_ECHO takes a STRING first");
    out->fn = echo_fn;
    out->ret = mp_type_new(MP_TYPE_STRING);
    return 0;
}

static int agg_init(mp_fn_ctx *cx, mp_value *st, const void *d)
{
    (void)cx, (void)d;
    *st = mp_v_bigint(0);
    return 0;
}

static int agg_add(mp_fn_ctx *cx, mp_value *st, const mp_value *a, size_t n, const void *d)
{
    (void)cx, (void)d;
    st->u.i64 += n ? (a[0].kind == MP_TYPE_INTEGER ? a[0].u.i32 : a[0].u.i64) : 1;
    return 0;
}

static int agg_result(mp_fn_ctx *cx, const mp_value *st, mp_value *out, const void *d)
{
    (void)cx, (void)d;
    *out = *st;
    return 0;
}

static int sum_bind(const mp_type *const *args, const mp_value *const *lits, size_t n,
                    mp_agg_impl *out, mp_error *e)
{
    (void)lits;
    if (n != 1 || (args[0]->kind != MP_TYPE_INTEGER && args[0]->kind != MP_TYPE_BIGINT))
        return mp_error_set(e, MP_EINVAL, "T_SUM takes one integer");
    out->state_type = mp_type_new(MP_TYPE_BIGINT);
    out->ret = mp_type_new(MP_TYPE_BIGINT);
    out->init = agg_init;
    out->add = agg_add;
    out->result = agg_result;
    return 0;
}

static int count_bind(const mp_type *const *args, const mp_value *const *lits, size_t n,
                      mp_agg_impl *out, mp_error *e)
{
    (void)args, (void)lits;
    if (n > 1)
        return mp_error_set(e, MP_EINVAL, "COUNT takes at most one argument");
    out->state_type = mp_type_new(MP_TYPE_BIGINT);
    out->ret = mp_type_new(MP_TYPE_BIGINT);
    out->init = agg_init;
    out->add = agg_add;
    out->result = agg_result;
    return 0;
}

static int explode_bind(const mp_type *const *args, const mp_value *const *lits, size_t n,
                        mp_table_impl *out, mp_error *e)
{
    (void)args, (void)lits, (void)n, (void)out;
    return mp_error_set(e, MP_EINVAL, "not used");
}

static const mp_fn_def test_defs[] = {
    {.name = "T_ADD1", .kind = MP_FN_SCALAR, .category = "OTHER", .scalar = add1_bind},
    {.name = "T_RAND", .kind = MP_FN_SCALAR, .category = "OTHER", .scalar = rand_bind},
    {.name = "T_FAIL", .kind = MP_FN_SCALAR, .category = "OTHER", .scalar = fail_bind},
    {.name = "T_LIT", .kind = MP_FN_SCALAR, .category = "OTHER", .scalar = lit_bind},
    {.name = "T_ECHO", .kind = MP_FN_SCALAR, .category = "OTHER", .scalar = echo_bind},
    {.name = "T_SUM", .kind = MP_FN_AGGREGATE, .category = "AGGREGATE", .aggregate = sum_bind},
    {.name = "T_COUNT", .kind = MP_FN_AGGREGATE, .category = "AGGREGATE", .aggregate = count_bind},
    {.name = "T_EXPLODE", .kind = MP_FN_TABLE, .category = "TABLE", .table = explode_bind},
};

/* ---- fixture ---- */

static int setup(void)
{
    mp_error e = {0};
    mp_arena_init(&g_data, 0);
    mp_arena_init(&g_arena, 0);
    for (int i = 0; i < NCOLS; i++) {
        if (mp_type_parse(col_types[i], &g_types[i], &e)) {
            fprintf(stderr, "setup: %s: %s\n", col_types[i], e.msg);
            return -1;
        }
        g_cols[i] = (mp_sql_scope_col){col_names[i], col_sources[i], g_types[i]};
    }
    if (mp_fn_registry_new(&g_fns, &e))
        return fprintf(stderr, "setup: %s\n", e.msg), -1;
    for (size_t i = 0; i < sizeof test_defs / sizeof test_defs[0]; i++)
        if (mp_fn_register(g_fns, &test_defs[i], 1, &e))
            return fprintf(stderr, "setup: %s\n", e.msg), -1;
    g_scope = (mp_sql_scope){.ncols = NCOLS, .cols = g_cols, .fns = g_fns};

    mp_decimal d = {.unscaled = 1234, .precision = 5, .scale = 2};
    g_row[C_I] = mp_v_int(7);
    g_row[C_J] = mp_v_null(MP_TYPE_INTEGER);
    g_row[C_L] = mp_v_bigint(INT64_C(10000000000));
    g_row[C_D] = mp_v_double(2.5);
    g_row[C_N] = mp_v_decimal(&d);
    g_row[C_S] = mp_v_string_ref("hello", 5);
    g_row[C_B] = mp_v_bool(true);
    g_row[C_TS] = mp_v_timestamp(INT64_C(1510617598000)); /* 2017-11-13T23:59:58 */
    g_row[C_DT] = mp_v_date(17483);                        /* 2017-11-13 */
    g_row[C_TM] = mp_v_time(36930000);                     /* 10:15:30 */
    mp_v_array(&g_data, 3, g_types[C_ARR]->elem, &g_row[C_ARR]);
    for (int i = 0; i < 3; i++)
        g_row[C_ARR].u.items[i] = mp_v_int(10 * (i + 1));
    mp_v_map(&g_data, 2, g_types[C_M]->key, g_types[C_M]->elem, &g_row[C_M]);
    g_row[C_M].u.items[0] = mp_v_string_ref("a", 1);
    g_row[C_M].u.items[1] = mp_v_int(1);
    g_row[C_M].u.items[2] = mp_v_string_ref("b", 1);
    g_row[C_M].u.items[3] = mp_v_int(2);
    mp_v_struct(&g_data, g_types[C_ST], &g_row[C_ST]);
    g_row[C_ST].u.st.fields[0] = mp_v_int(1);
    g_row[C_ST].u.st.fields[1] = mp_v_string_ref("x", 1);
    mp_v_struct(&g_data, g_types[C_ST]->fields[2].type, &g_row[C_ST].u.st.fields[2]);
    g_row[C_ST].u.st.fields[2].u.st.fields[0] = mp_v_double(1.5);
    g_row[C_SN] = mp_v_null(MP_TYPE_STRING);
    g_row[C_NB] = mp_v_null(MP_TYPE_BOOLEAN);
    g_row[C_IMAX] = mp_v_int(INT_MAX);
    g_row[C_PV_ID] = mp_v_int(100);
    g_row[C_U_ID] = mp_v_int(200);
    g_row[C_ROWTIME] = mp_v_bigint(INT64_C(1510617598000));
    g_row[C_Z] = mp_v_int(0);
    g_row[C_LOWER] = mp_v_int(42);
    g_row[C_NS] = mp_v_null(MP_TYPE_STRUCT);
    mp_v_array(&g_data, 1, g_types[C_AS]->elem, &g_row[C_AS]);
    mp_v_array(&g_data, 2, g_types[C_AS]->elem->elem, &g_row[C_AS].u.items[0]);
    g_row[C_AS].u.items[0].u.items[0] = mp_v_string_ref("p", 1);
    g_row[C_AS].u.items[0].u.items[1] = mp_v_string_ref("q", 1);
    for (int i = 0; i < NCOLS; i++)
        if (mp_value_check(&g_row[i], g_types[i], &e))
            return fprintf(stderr, "setup: row %d: %s\n", i, e.msg), -1;
    return 0;
}

static void teardown(void)
{
    for (int i = 0; i < NCOLS; i++)
        mp_type_free(g_types[i]);
    mp_fn_registry_free(g_fns);
    mp_arena_free(&g_data);
    mp_arena_free(&g_arena);
}

/* ---- helpers ---- */

static void fail_at(int line, const char *sql, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail_at(int line, const char *sql, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s:%d: [%s] ", __FILE__, line, sql);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    mp_test_failed_checks++;
}

/* Parses and compiles sql in scope s; NULL with *e filled on failure. */
static mp_sql_cexpr *comp(const char *sql, const mp_sql_scope *s, mp_error *e)
{
    mp_sql_expr *x;
    mp_sql_cexpr *c = NULL;
    if (mp_sql_parse_expr(sql, strlen(sql), &x, NULL, e))
        return NULL;
    if (mp_sql_compile(x, s, &c, e))
        c = NULL;
    mp_sql_expr_free(x);
    return c;
}

static char *type_text(const mp_type *t)
{
    mp_buf b = {0};
    mp_type_print(t, &b);
    return b.data ? b.data : strdup("");
}

/* Compiles and evaluates sql; checks the printed type (unless NULL) and the
 * value as ksqlDB prints it ("<null>" for SQL NULL); the value must also
 * conform to the type. */
static void expect_at(int line, const char *sql, const char *type, const char *val)
{
    mp_error e = {0};
    mp_sql_cexpr *c = comp(sql, &g_scope, &e);
    if (!c) {
        fail_at(line, sql, "bind error: %s", e.msg);
        return;
    }
    char *tt = type_text(mp_sql_cexpr_type(c));
    if (type && strcmp(tt, type) != 0)
        fail_at(line, sql, "type %s, expected %s", tt, type);
    mp_value v;
    mp_fn_ctx cx = {.arena = &g_arena, .e = &e};
    int rc = mp_sql_eval(c, g_row, &cx, &v);
    if (rc) {
        fail_at(line, sql, "run-time error %d: %s", rc, e.msg);
    } else if (strcmp(val, "<null>") == 0) {
        if (!v.null)
            fail_at(line, sql, "expected NULL");
    } else if (v.null) {
        fail_at(line, sql, "got NULL, expected %s", val);
    } else {
        mp_buf b = {0};
        mp_value_format(&v, &b);
        if (strcmp(b.data ? b.data : "", val) != 0)
            fail_at(line, sql, "got %s, expected %s", b.data, val);
        mp_buf_free(&b);
        if (mp_value_check(&v, mp_sql_cexpr_type(c), &e))
            fail_at(line, sql, "value does not conform to %s: %s", tt, e.msg);
    }
    /* NULLs carry their type's kind too (only a bare NULL is untyped) */
    if (rc == 0 && v.kind != mp_sql_cexpr_type(c)->kind)
        fail_at(line, sql, "value kind %d, type kind %d", v.kind, mp_sql_cexpr_type(c)->kind);
    free(tt);
    mp_sql_cexpr_free(c);
    mp_arena_reset(&g_arena);
}
#define X(sql, type, val) expect_at(__LINE__, sql, type, val)

/* Binding must fail with a message containing msg (or equal to it when
 * exact). */
static void expect_bind_err_at(int line, const char *sql, const char *msg, bool exact)
{
    mp_error e = {0};
    mp_sql_cexpr *c = comp(sql, &g_scope, &e);
    if (c) {
        fail_at(line, sql, "bound, expected error \"%s\"", msg);
        mp_sql_cexpr_free(c);
        return;
    }
    if (exact ? strcmp(e.msg, msg) != 0 : !strstr(e.msg, msg))
        fail_at(line, sql, "error \"%s\", expected %s\"%s\"", e.msg, exact ? "" : "one with ", msg);
    if (e.code >= 0)
        fail_at(line, sql, "error code %d is not negative", e.code);
}
#define BERR(sql, msg) expect_bind_err_at(__LINE__, sql, msg, false)
#define BERR_EXACT(sql, msg) expect_bind_err_at(__LINE__, sql, msg, true)

/* Binding succeeds, evaluation fails with msg and a NULL result. */
static void expect_rt_err_at(int line, const char *sql, const char *msg)
{
    mp_error e = {0};
    mp_sql_cexpr *c = comp(sql, &g_scope, &e);
    if (!c) {
        fail_at(line, sql, "bind error: %s", e.msg);
        return;
    }
    mp_value v = mp_v_int(12345);
    mp_fn_ctx cx = {.arena = &g_arena, .e = &e};
    int rc = mp_sql_eval(c, g_row, &cx, &v);
    if (rc >= 0)
        fail_at(line, sql, "evaluated without error");
    else if (!strstr(e.msg, msg))
        fail_at(line, sql, "error \"%s\", expected one with \"%s\"", e.msg, msg);
    if (!v.null || v.kind != mp_sql_cexpr_type(c)->kind)
        fail_at(line, sql, "result after an error is not a NULL of the expression's type");
    mp_sql_cexpr_free(c);
    mp_arena_reset(&g_arena);
}
#define RTERR(sql, msg) expect_rt_err_at(__LINE__, sql, msg)

/* ---- tests ---- */

static void test_literals(void)
{
    X("7", "INTEGER", "7");
    X("2147483647", "INTEGER", "2147483647");
    X("2147483648", "BIGINT", "2147483648");
    X("-2147483648", "INTEGER", "-2147483648");
    X("-2147483649", "BIGINT", "-2147483649");
    X("1.50", "DECIMAL(3, 2)", "1.50");
    X("-1.50", "DECIMAL(3, 2)", "-1.50");
    X("0.05", "DECIMAL(3, 2)", "0.05"); /* below 1: scale + 1 digits, as ksqlDB */
    X(".5", "DECIMAL(2, 1)", "0.5");
    X("1.", "DECIMAL(1, 0)", "1");
    X("007.250", "DECIMAL(4, 3)", "7.250");
    X("1e3", "DOUBLE", "1000.0");
    X("2.5E-1", "DOUBLE", "0.25");
    X("'it''s'", "STRING", "it's");
    /* STRING values are UTF-8; a literal that is not is refused (found by fuzz_engine) */
    BERR_EXACT("'a\xff'", "line 1:1: the string literal is not valid UTF-8 (byte 2 of its text)");
    X("''", "STRING", "");
    X("TRUE", "BOOLEAN", "true");
    X("false", "BOOLEAN", "false");
    X("NULL", "NULL", "<null>");
    BERR("1.000000000000000000000000000000000000001", "more than 38 digits");
}

static void test_columns(void)
{
    X("I", "INTEGER", "7");
    X("PV.I", "INTEGER", "7");
    X("PV.ID", "INTEGER", "100");
    X("U.ID", "INTEGER", "200");
    X("ROWTIME", "BIGINT", "1510617598000");
    X("PV.ROWTIME", "BIGINT", "1510617598000");
    X("`lower`", "INTEGER", "42");
    X("J", "INTEGER", "<null>");
    BERR_EXACT("ID", "line 1:1: column 'ID' is ambiguous: it could be PV.ID, U.ID");
    BERR_EXACT("1 + FOO", "line 1:5: column 'FOO' cannot be resolved");
    BERR_EXACT("I +\n   FOO", "line 2:4: column 'FOO' cannot be resolved");
    BERR_EXACT("U.I", "line 1:1: column 'U.I' cannot be resolved");
    BERR_EXACT("Q.I", "line 1:1: column 'Q.I' cannot be resolved: no source or alias 'Q' in scope");
    BERR_EXACT("lower", "line 1:1: column 'LOWER' cannot be resolved (did you mean `lower`?)");
    mp_error e = {0};
    mp_sql_cexpr *c = comp("FOO", &g_scope, &e);
    CHECK(!c && e.code == MP_ENOTFOUND);
}

static void test_struct_and_subscripts(void)
{
    X("ST->A", "INTEGER", "1");
    X("ST->`b`", "STRING", "x");
    X("ST->SUB->X", "DOUBLE", "1.5");
    X("ST->SUB", "STRUCT<`X` DOUBLE>", "{\"X\":1.5}");
    X("NS->A", "INTEGER", "<null>");
    BERR_EXACT("ST->B",
               "line 1:1: STRUCT STRUCT<`A` INTEGER, `b` STRING, `SUB` STRUCT<`X` DOUBLE>> has no "
               "field 'B' (did you mean `b`?)");
    BERR("ST->NOPE", "has no field 'NOPE'");
    BERR_EXACT("I->A", "line 1:1: cannot dereference field 'A' of INTEGER: '->' needs a STRUCT");

    X("ARR[1]", "INTEGER", "10");
    X("ARR[3]", "INTEGER", "30");
    X("ARR[-1]", "INTEGER", "30");
    X("ARR[-3]", "INTEGER", "10");
    X("ARR[0]", "INTEGER", "<null>");
    X("ARR[4]", "INTEGER", "<null>");
    X("ARR[-4]", "INTEGER", "<null>");
    X("ARR[J]", "INTEGER", "<null>");
    X("ARR[I - 5]", "INTEGER", "20");
    X("ARR[2147483648]", "INTEGER", "<null>");
    X("M['a']", "INTEGER", "1");
    X("M['b']", "INTEGER", "2");
    X("M['zz']", "INTEGER", "<null>");
    X("M[SN]", "INTEGER", "<null>");
    X("AS2[1][2]", "STRING", "q");
    X("AS2[1][3]", "STRING", "<null>");
    X("AS2[2][1]", "STRING", "<null>");
    X("ARRAY[ARRAY[1, 2], ARRAY[3]][2][1]", "INTEGER", "3");
    X("MAP('k' := ARRAY[5, 6])['k'][-1]", "INTEGER", "6");
    BERR_EXACT("ARR['x']", "line 1:5: an ARRAY index must be INTEGER, not STRING");
    BERR("ST[1]", "use '->' for STRUCT fields");
    BERR("I[1]", "subscripts apply to ARRAY and MAP, not INTEGER");
    BERR("M[1]", "a key of MAP<STRING, INTEGER> can't be INTEGER");
}

static void test_arithmetic(void)
{
    X("I + 1", "INTEGER", "8");
    X("I - 10", "INTEGER", "-3");
    X("I * 6", "INTEGER", "42");
    X("I + L", "BIGINT", "10000000007");
    X("I + 2147483648", "BIGINT", "2147483655");
    /* wrapping as Java's int and long */
    X("IMAX + 1", "INTEGER", "-2147483648");
    X("IMAX * 2", "INTEGER", "-2");
    X("-IMAX - 2", "INTEGER", "2147483647");
    X("-(-2147483648)", "INTEGER", "-2147483648");
    /* 10^20 mod 2^64 = 10^20 - 5 * 18446744073709551616 = 7766279631452241920 */
    X("L * L", "BIGINT", "7766279631452241920");
    X("9223372036854775807 + 1", "BIGINT", "-9223372036854775808");
    /* integer division truncates; % has the dividend's sign */
    X("I / 2", "INTEGER", "3");
    X("-7 / 2", "INTEGER", "-3");
    X("-7 % 3", "INTEGER", "-1");
    X("7 % -3", "INTEGER", "1");
    X("-2147483648 / -1", "INTEGER", "-2147483648");
    X("-2147483648 % -1", "INTEGER", "0");
    X("-9223372036854775808 / -1", "BIGINT", "-9223372036854775808");
    X("L / 3", "BIGINT", "3333333333");
    RTERR("I / Z", "line 1:1: division by zero");
    RTERR("I % Z", "division by zero");
    RTERR("L / Z", "division by zero");
    RTERR("1 / 0", "division by zero"); /* not folded away: fails per row */
    /* DOUBLE */
    X("D * 2", "DOUBLE", "5.0");
    X("D + I", "DOUBLE", "9.5");
    X("D / 0", "DOUBLE", "Infinity");
    X("-D / 0", "DOUBLE", "-Infinity");
    X("D % 0", "DOUBLE", "NaN");
    X("(D - D) / 0", "DOUBLE", "NaN");
    X("D % 1", "DOUBLE", "0.5");
    X("-D % 2", "DOUBLE", "-0.5");
    X("L * 1e0", "DOUBLE", "1.0E10");
    /* DECIMAL: + - has max scale and max integer digits + 1; INTEGER counts
     * as DECIMAL(10, 0), BIGINT as DECIMAL(19, 0) */
    X("N + 1", "DECIMAL(13, 2)", "13.34");
    X("N - N", "DECIMAL(6, 2)", "0.00");
    X("N + 0.001", "DECIMAL(7, 3)", "12.341");
    X("N + L", "DECIMAL(22, 2)", "10000000012.34");
    /* * : p1 + p2 + 1, s1 + s2;  12.34 * 12.34 = 152.2756 */
    X("N * N", "DECIMAL(11, 4)", "152.2756");
    X("N * -2", "DECIMAL(16, 2)", "-24.68");
    /* / : scale max(6, s1 + p2 + 1) = 13, precision 5 - 2 + 0 + 13 = 16 */
    X("N / 2", "DECIMAL(16, 13)", "6.1700000000000");
    RTERR("N / 3", "line 1:1:"); /* 4.1133... needs rounding: an error, as ksqlDB */
    RTERR("N / 0", "line 1:1:");
    /* % : min(p1 - s1, p2 - s2) + max(s1, s2), max(s1, s2) */
    X("N % 5", "DECIMAL(5, 2)", "2.34");
    X("N % 0.5", "DECIMAL(3, 2)", "0.34");
    X("-N", "DECIMAL(5, 2)", "-12.34");
    X("+N", "DECIMAL(5, 2)", "12.34");
    X("N + 0.5e0", "DOUBLE", "12.84");
    X("N * 1.0e0", "DOUBLE", "12.34");
    /* NULLs */
    X("J + 1", "INTEGER", "<null>");
    X("I + NULL", "INTEGER", "<null>");
    X("NULL * D", "DOUBLE", "<null>");
    X("-J", "INTEGER", "<null>");
    X("N + J", "DECIMAL(13, 2)", "<null>");
    X("-NULL", "NULL", "<null>");
    /* type errors */
    BERR_EXACT("I + S", "line 1:1: operator '+' cannot be applied to INTEGER and STRING");
    BERR_EXACT("S - 'a'", "line 1:1: operator '-' cannot be applied to STRING and STRING");
    BERR_EXACT("1 + (B * 2)", "line 1:6: operator '*' cannot be applied to BOOLEAN and INTEGER");
    BERR_EXACT("-S", "line 1:1: unary - needs a number, not STRING");
    BERR("NULL + NULL", "cannot be applied to NULL and NULL");
    BERR("TS + 1", "cannot be applied to TIMESTAMP and INTEGER");
}

static void test_strings(void)
{
    X("S + ' world'", "STRING", "hello world");
    X("S + SN", "STRING", "<null>");
    X("SN + NULL", "STRING", "<null>");
    X("S || '!'", "STRING", "hello!");
    X("S || '-' || S", "STRING", "hello-hello");
    /* || is ksqlDB's CONCAT: NULL counts as empty */
    X("S || SN", "STRING", "hello");
    X("SN || S", "STRING", "hello");
    X("SN || SN", "STRING", "");
    X("S || NULL", "STRING", "hello");
    /* literals of other kinds join as text (ksqlDB's literal coercion) */
    X("'a' || 1", "STRING", "a1");
    X("'x' || 1.50", "STRING", "x1.50");
    X("TRUE || 'x'", "STRING", "truex");
    BERR_EXACT("S || I", "line 1:6: '||' needs STRING operands, not INTEGER (use CAST(... AS STRING))");
    X("'é' || 'ü'", "STRING", "éü");
}

static void test_comparisons(void)
{
    X("I > 5", "BOOLEAN", "true");
    X("I >= 7", "BOOLEAN", "true");
    X("I < 7", "BOOLEAN", "false");
    X("I <= 6", "BOOLEAN", "false");
    X("I = 7", "BOOLEAN", "true");
    X("I <> 7", "BOOLEAN", "false");
    X("I != 8", "BOOLEAN", "true");
    /* across numeric kinds */
    X("I < L", "BOOLEAN", "true");
    X("L > 9999999999", "BOOLEAN", "true");
    X("I = 7.0", "BOOLEAN", "true");
    X("I = 7.00001", "BOOLEAN", "false");
    X("N = 12.340", "BOOLEAN", "true");
    X("N > 12.339", "BOOLEAN", "true");
    X("N > D", "BOOLEAN", "true");
    X("D = 2.5", "BOOLEAN", "true");
    X("I < D * 3", "BOOLEAN", "true");
    X("L = 10000000000.0e0", "BOOLEAN", "true");
    /* NaN compares like Java's primitive doubles: unordered, unequal */
    X("(D - D) / 0 = (D - D) / 0", "BOOLEAN", "false");
    X("(D - D) / 0 <> (D - D) / 0", "BOOLEAN", "false");
    X("(D - D) / 0 > 1", "BOOLEAN", "false");
    /* strings: Java's order */
    X("S = 'hello'", "BOOLEAN", "true");
    X("S < 'help'", "BOOLEAN", "true");
    X("S > 'hell'", "BOOLEAN", "true");
    X("'Z' < 'a'", "BOOLEAN", "true");
    /* U+FF61 sorts above U+1F600 in UTF-16 (0xFF61 > 0xD83D) */
    X("'\xef\xbd\xa1' > '\xf0\x9f\x98\x80'", "BOOLEAN", "true");
    /* booleans: equality only */
    X("B = TRUE", "BOOLEAN", "true");
    X("B <> FALSE", "BOOLEAN", "true");
    BERR("B < TRUE", "cannot compare BOOLEAN with BOOLEAN using <");
    /* times, and STRING against them (ksqlDB parses the text) */
    X("TS = '2017-11-13T23:59:58'", "BOOLEAN", "true");
    X("TS > '2017-11-13'", "BOOLEAN", "true");
    X("TS < '2017-11-14'", "BOOLEAN", "true");
    X("'2017-11-13T23:59:58.001' > TS", "BOOLEAN", "true");
    X("TS > DT", "BOOLEAN", "true");
    X("DT = '2017-11-13'", "BOOLEAN", "true");
    X("DT < '2017-11-14'", "BOOLEAN", "true");
    X("TM = '10:15:30'", "BOOLEAN", "true");
    X("TM > '10:15'", "BOOLEAN", "true");
    BERR("TS = 'garbage'", "cannot parse 'garbage' as a TIMESTAMP");
    /* A year whose milliseconds overflow 64 bits is refused, not wrapped
     * (found by fuzz_engine). */
    BERR("TS = '999999999-01-01'", "cannot parse '999999999-01-01' as a TIMESTAMP: out of range");
    BERR("TM = DT", "cannot compare TIME with DATE");
    BERR("TS = 1", "cannot compare TIMESTAMP with INTEGER");
    /* compound values: equality only */
    X("ARR = ARRAY[10, 20, 30]", "BOOLEAN", "true");
    X("ARR = ARRAY[10, 20]", "BOOLEAN", "false");
    X("M = MAP('b' := 2, 'a' := 1)", "BOOLEAN", "true");
    X("ST = ST", "BOOLEAN", "true");
    X("ST->SUB = STRUCT(X := 1.5e0)", "BOOLEAN", "true");
    BERR("ARR < ARRAY[1]", "support only =, <> and IS [NOT] DISTINCT FROM");
    BERR("ARR = M", "cannot compare ARRAY<INTEGER> with MAP<STRING, INTEGER>");
    /* NULL: ksqlDB's comparisons are FALSE with a NULL operand, never NULL
     * (its QTT "null - null equals": ID = COL0 is false when either is
     * null), and a NULL literal is refused ("comparison with null") */
    X("J = 1", "BOOLEAN", "false");
    X("J <> 1", "BOOLEAN", "false");
    X("SN < S", "BOOLEAN", "false");
    X("NB = TRUE", "BOOLEAN", "false");
    X("J = J", "BOOLEAN", "false");
    BERR_EXACT("I = NULL", "line 1:1: Comparison with NULL not supported: INTEGER = NULL. Use "
                           "'IS NULL' or 'IS NOT NULL' instead.");
    BERR_EXACT("NULL <> NULL", "line 1:1: Comparison with NULL not supported: NULL <> NULL. Use "
                               "'IS NULL' or 'IS NOT NULL' instead.");
    BERR("S > NULL", "Comparison with NULL not supported: STRING > NULL");
    BERR_EXACT("S = 1", "line 1:1: cannot compare STRING with INTEGER");
    BERR_EXACT("I > 1 AND S = 1", "line 1:11: cannot compare STRING with INTEGER");
    BERR("B = 1", "cannot compare BOOLEAN with INTEGER");
}

static void test_string_time_comparison(void)
{
    /* a STRING expression against a TIMESTAMP is parsed per row */
    X("CAST(TS AS STRING) = TS", "BOOLEAN", "true");
    X("CAST(DT AS STRING) < TS", "BOOLEAN", "true");
    RTERR("S > TS", "line 1:1: cannot parse 'hello' as a TIMESTAMP");
    RTERR("ST->`b` = TM", "cannot parse 'x' as a TIME");
}

static void test_logic(void)
{
    /* three-valued AND / OR / NOT (NB is a NULL boolean) */
    X("TRUE AND TRUE", "BOOLEAN", "true");
    X("TRUE AND FALSE", "BOOLEAN", "false");
    X("NB AND FALSE", "BOOLEAN", "false");
    X("FALSE AND NB", "BOOLEAN", "false");
    X("NB AND TRUE", "BOOLEAN", "<null>");
    X("TRUE AND NB", "BOOLEAN", "<null>");
    X("NB AND NB", "BOOLEAN", "<null>");
    X("NB OR TRUE", "BOOLEAN", "true");
    X("TRUE OR NB", "BOOLEAN", "true");
    X("NB OR FALSE", "BOOLEAN", "<null>");
    X("FALSE OR FALSE", "BOOLEAN", "false");
    X("NOT B", "BOOLEAN", "false");
    X("NOT NB", "BOOLEAN", "<null>");
    X("NOT (J = 1)", "BOOLEAN", "true"); /* the comparison is FALSE, not NULL */
    BERR("NOT (NULL = 1)", "Comparison with NULL not supported: NULL = INTEGER");
    X("NULL AND FALSE", "BOOLEAN", "false");
    X("NULL OR TRUE", "BOOLEAN", "true");
    /* short-circuit: the right side is not evaluated */
    X("FALSE AND I / Z = 1", "BOOLEAN", "false");
    X("B OR I / Z = 1", "BOOLEAN", "true");
    X("I < 5 AND I / Z = 1", "BOOLEAN", "false");
    RTERR("NB AND I / Z = 1", "line 1:8: division by zero");
    RTERR("B AND I / Z = 1", "division by zero");
    BERR_EXACT("I AND TRUE", "line 1:1: AND needs BOOLEAN operands, not INTEGER");
    BERR_EXACT("B OR S", "line 1:6: OR needs BOOLEAN operands, not STRING");
    BERR_EXACT("NOT 1", "line 1:5: NOT needs BOOLEAN operands, not INTEGER");
}

static void test_null_predicates(void)
{
    X("SN IS NULL", "BOOLEAN", "true");
    X("S IS NULL", "BOOLEAN", "false");
    X("S IS NOT NULL", "BOOLEAN", "true");
    X("J IS NOT NULL", "BOOLEAN", "false");
    X("NULL IS NULL", "BOOLEAN", "true");
    X("NS IS NULL", "BOOLEAN", "true");
    X("ST->SUB IS NULL", "BOOLEAN", "false");
    RTERR("I / Z IS NULL OR TRUE", "division by zero"); /* errors are not NULLs */
    X("J IS DISTINCT FROM NULL", "BOOLEAN", "false");
    X("I IS DISTINCT FROM J", "BOOLEAN", "true");
    X("I IS DISTINCT FROM 7", "BOOLEAN", "false");
    X("I IS NOT DISTINCT FROM 7", "BOOLEAN", "true");
    X("J IS NOT DISTINCT FROM NULL", "BOOLEAN", "true");
    X("NULL IS NOT DISTINCT FROM NULL", "BOOLEAN", "true");
    X("I IS DISTINCT FROM 7.0", "BOOLEAN", "false");
    X("ARR IS NOT DISTINCT FROM ARRAY[10, 20, 30]", "BOOLEAN", "true");
    BERR("I IS DISTINCT FROM 'x'", "cannot compare INTEGER with STRING");
}

static void test_between_in(void)
{
    X("I BETWEEN 1 AND 10", "BOOLEAN", "true");
    X("I BETWEEN 7 AND 7", "BOOLEAN", "true");
    X("I BETWEEN 8 AND 10", "BOOLEAN", "false");
    X("I NOT BETWEEN 1 AND 10", "BOOLEAN", "false");
    X("I NOT BETWEEN 8 AND 10", "BOOLEAN", "true");
    /* ksqlDB: BETWEEN is two comparisons, each FALSE with a NULL operand */
    X("J BETWEEN 1 AND 2", "BOOLEAN", "false");
    X("J NOT BETWEEN 1 AND 2", "BOOLEAN", "true");
    X("I BETWEEN J AND 5", "BOOLEAN", "false");
    X("I BETWEEN J AND 10", "BOOLEAN", "false");
    X("I NOT BETWEEN J AND 10", "BOOLEAN", "true");
    X("S BETWEEN 'a' AND 'z'", "BOOLEAN", "true");
    X("D BETWEEN 2 AND 2.5", "BOOLEAN", "true");
    X("TS BETWEEN '2017-11-13' AND '2017-11-14'", "BOOLEAN", "true");
    BERR_EXACT("I BETWEEN NULL AND 3", "line 1:11: Comparison with NULL not supported: INTEGER >= "
                                       "NULL. Use 'IS NULL' or 'IS NOT NULL' instead.");
    BERR("I BETWEEN 'a' AND 3", "cannot compare INTEGER with STRING");

    X("I IN (1, 7)", "BOOLEAN", "true");
    X("I IN (1, 2)", "BOOLEAN", "false");
    X("I NOT IN (1, 2)", "BOOLEAN", "true");
    X("I IN (7, NULL)", "BOOLEAN", "true");
    /* ksqlDB's InListEvaluator: "SQL NULL never matches anything" */
    X("I IN (1, NULL)", "BOOLEAN", "false");
    X("I NOT IN (1, NULL)", "BOOLEAN", "true");
    X("J IN (1, 2)", "BOOLEAN", "false");
    X("J IN (J, NULL)", "BOOLEAN", "false");
    X("J NOT IN (1, 2)", "BOOLEAN", "true");
    X("I IN (J, 7)", "BOOLEAN", "true");
    X("I IN (1.5, 7)", "BOOLEAN", "true");
    X("I IN (L, 8)", "BOOLEAN", "false");
    /* ksqlDB's literal coercion: a numeric STRING literal joins a numeric list */
    X("I IN ('7', 8)", "BOOLEAN", "true");
    X("I IN ('7.0')", "BOOLEAN", "true");
    X("S IN ('x', 'hello')", "BOOLEAN", "true");
    X("S IN (1, 2)", "BOOLEAN", "false"); /* the literals become '1' and '2' */
    X("B IN ('yes')", "BOOLEAN", "true");
    X("ARR IN (ARRAY[1], ARRAY[10, 20, 30])", "BOOLEAN", "true");
    X("TS IN ('2017-11-13T23:59:58', '2020')", "BOOLEAN", "true");
    X("DT IN ('2017-11-12')", "BOOLEAN", "false");
    BERR("TS IN ('yesterday')", "cannot parse 'yesterday' as a TIMESTAMP");
    BERR_EXACT("I IN ('abc')", "line 1:7: 'abc' is not a number");
    BERR_EXACT("I IN (TRUE)", "line 1:7: IN list: incompatible types INTEGER and BOOLEAN");
    BERR("B IN ('maybe')", "cannot parse 'maybe' as a BOOLEAN");
}

static void test_like(void)
{
    X("S LIKE 'h%'", "BOOLEAN", "true");
    X("S LIKE '%lo'", "BOOLEAN", "true");
    X("S LIKE '%ell%'", "BOOLEAN", "true");
    X("S LIKE '%xyz%'", "BOOLEAN", "false");
    X("S LIKE 'h_llo'", "BOOLEAN", "true");
    X("S LIKE 'h_lo'", "BOOLEAN", "false");
    X("S LIKE 'hello'", "BOOLEAN", "true");
    X("S LIKE 'hell'", "BOOLEAN", "false");
    X("S LIKE 'Hello'", "BOOLEAN", "false");
    X("S LIKE '%'", "BOOLEAN", "true");
    X("S LIKE '_____'", "BOOLEAN", "true");
    X("S LIKE '______'", "BOOLEAN", "false");
    X("S LIKE '%l%l%o'", "BOOLEAN", "true");
    X("S NOT LIKE 'h%'", "BOOLEAN", "false");
    X("'' LIKE ''", "BOOLEAN", "true");
    X("'' LIKE '%'", "BOOLEAN", "true");
    X("'' LIKE '_'", "BOOLEAN", "false");
    X("'mississippi' LIKE 'm%iss%pi'", "BOOLEAN", "true");
    X("'mississippi' LIKE 'm%iss%pix'", "BOOLEAN", "false");
    X("'mississippi' LIKE '%s_s%'", "BOOLEAN", "true");
    X("'aaa' LIKE '%a%a%a%a'", "BOOLEAN", "false");
    X("'aaaa' LIKE '%a%a%a%a'", "BOOLEAN", "true");
    X("'\xc3\xa9t\xc3\xa9' LIKE '_t_'", "BOOLEAN", "true"); /* _ is one character */
    X("'a\nb' LIKE 'a%b'", "BOOLEAN", "true");
    /* ESCAPE */
    X("'a%b' LIKE 'a\\%b' ESCAPE '\\'", "BOOLEAN", "true");
    X("'axb' LIKE 'a\\%b' ESCAPE '\\'", "BOOLEAN", "false");
    X("'50%' LIKE '50!%' ESCAPE '!'", "BOOLEAN", "true");
    X("'500' LIKE '50!%' ESCAPE '!'", "BOOLEAN", "false");
    X("'a_b' LIKE 'a!_b' ESCAPE '!'", "BOOLEAN", "true");
    X("'axb' LIKE 'a!_b' ESCAPE '!'", "BOOLEAN", "false");
    X("'a!b' LIKE 'a!!b' ESCAPE '!'", "BOOLEAN", "true");
    X("'a%' LIKE '%!%' ESCAPE '!'", "BOOLEAN", "true");
    X("'a%b' LIKE 'a%%b' ESCAPE '%'", "BOOLEAN", "true"); /* %% is a literal % */
    X("'axb' LIKE 'a%%b' ESCAPE '%'", "BOOLEAN", "false");
    /* NULLs and patterns from columns */
    X("SN LIKE 'x'", "BOOLEAN", "<null>");
    X("S LIKE SN", "BOOLEAN", "<null>");
    X("S LIKE S", "BOOLEAN", "true");
    X("S LIKE S || '%'", "BOOLEAN", "true");
    X("'abc' LIKE ST->`b` || '%'", "BOOLEAN", "false");
    BERR_EXACT("'ab' LIKE 'ab!' ESCAPE '!'",
               "line 1:11: LIKE pattern must not end with the escape character");
    BERR("S LIKE 'x' ESCAPE '!!'", "line 1:19: ESCAPE takes a single character"); /* parser */
    BERR_EXACT("I LIKE 'x'", "line 1:1: LIKE needs STRING operands, not INTEGER");
}

static void test_like_dynamic_escape_error(void)
{
    /* a pattern computed per row that ends in the escape is a run-time error */
    RTERR("S LIKE S || '!' ESCAPE '!'", "must not end with the escape character");
}

static void test_case(void)
{
    X("CASE WHEN I > 5 THEN 'big' ELSE 'small' END", "STRING", "big");
    X("CASE WHEN I > 10 THEN 'big' ELSE 'small' END", "STRING", "small");
    X("CASE WHEN I > 10 THEN 1 END", "INTEGER", "<null>");
    X("CASE WHEN I > 10 THEN 1 WHEN I > 5 THEN 2 ELSE 3 END", "INTEGER", "2");
    X("CASE WHEN NB THEN 1 ELSE 2 END", "INTEGER", "2"); /* a NULL condition is not true */
    /* the result type is the common type of the branches */
    X("CASE WHEN B THEN 1 ELSE 2.5 END", "DECIMAL(11, 1)", "1.0");
    X("CASE WHEN B THEN I ELSE L END", "BIGINT", "7");
    X("CASE WHEN NOT B THEN I ELSE D END", "DOUBLE", "2.5");
    X("CASE WHEN B THEN NULL ELSE 1 END", "INTEGER", "<null>");
    X("CASE WHEN B THEN STRUCT(A := 1) ELSE STRUCT(C := 'x') END", "STRUCT<`A` INTEGER, `C` STRING>",
      "{\"A\":1,\"C\":null}");
    /* lazy: only the chosen branch runs */
    X("CASE WHEN TRUE THEN 1 ELSE I / Z END", "INTEGER", "1");
    X("CASE WHEN I / 1 = 7 THEN 1 WHEN I / Z = 1 THEN 2 END", "INTEGER", "1");
    RTERR("CASE WHEN B THEN I / Z END", "division by zero");
    /* simple CASE */
    X("CASE I WHEN 1 THEN 'one' WHEN 7 THEN 'seven' ELSE 'other' END", "STRING", "seven");
    X("CASE I WHEN 1 THEN 'one' END", "STRING", "<null>");
    X("CASE J WHEN 1 THEN 'a' ELSE 'b' END", "STRING", "b");
    X("CASE I WHEN 7.0 THEN 'x' END", "STRING", "x");
    X("CASE S WHEN 'hello' THEN 1 ELSE 0 END", "INTEGER", "1");
    BERR_EXACT("CASE WHEN B THEN 1 ELSE S END",
               "line 1:25: CASE results: incompatible types INTEGER and STRING");
    BERR_EXACT("CASE WHEN B THEN 1 ELSE 'x' END", "line 1:25: 'x' is not a number");
    X("CASE WHEN B THEN 'x' ELSE 1 END", "STRING", "x"); /* a literal joins as text */
    BERR_EXACT("CASE WHEN I THEN 1 END", "line 1:11: a WHEN condition must be BOOLEAN, not INTEGER");
    BERR("CASE WHEN B THEN NULL END", "every CASE result is NULL");
    BERR("CASE I WHEN 'a' THEN 1 END", "'a' is not a number");
}

static void test_cast(void)
{
    /* INTEGER */
    X("CAST(I AS BIGINT)", "BIGINT", "7");
    X("CAST(I AS DOUBLE)", "DOUBLE", "7.0");
    X("CAST(I AS STRING)", "STRING", "7");
    X("CAST(I AS VARCHAR)", "STRING", "7");
    X("CAST(I AS DECIMAL(4, 1))", "DECIMAL(4, 1)", "7.0");
    X("CAST(I AS INT)", "INTEGER", "7");
    RTERR("CAST(12345 AS DECIMAL(4, 1))", "line 1:1:"); /* 12345.0 needs 5 integer digits */
    BERR_EXACT("CAST(I AS BOOLEAN)", "line 1:1: cannot cast INTEGER to BOOLEAN");
    BERR("CAST(I AS TIMESTAMP)", "cannot cast INTEGER to TIMESTAMP");
    BERR("CAST(B AS INTEGER)", "cannot cast BOOLEAN to INTEGER");
    /* BIGINT -> INTEGER keeps the low 32 bits: 10^10 - 2 * 2^32 = 1410065408 */
    X("CAST(L AS INTEGER)", "INTEGER", "1410065408");
    X("CAST(L AS DOUBLE)", "DOUBLE", "1.0E10");
    X("CAST(L AS STRING)", "STRING", "10000000000");
    /* DOUBLE -> integers truncate toward zero and saturate; NaN is 0 */
    X("CAST(D AS INTEGER)", "INTEGER", "2");
    X("CAST(-2.7e0 AS INTEGER)", "INTEGER", "-2");
    X("CAST(1e10 AS INTEGER)", "INTEGER", "2147483647");
    X("CAST(-1e10 AS INTEGER)", "INTEGER", "-2147483648");
    X("CAST(1e30 AS BIGINT)", "BIGINT", "9223372036854775807");
    X("CAST((D - D) / 0 AS INTEGER)", "INTEGER", "0");
    X("CAST(D AS BIGINT)", "BIGINT", "2");
    X("CAST(D AS DECIMAL(3, 1))", "DECIMAL(3, 1)", "2.5");
    X("CAST(2.25e0 AS DECIMAL(2, 1))", "DECIMAL(2, 1)", "2.3"); /* HALF_UP */
    X("CAST(-2.25e0 AS DECIMAL(2, 1))", "DECIMAL(2, 1)", "-2.3");
    X("CAST(D AS STRING)", "STRING", "2.5");
    X("CAST(1e7 AS STRING)", "STRING", "1.0E7");
    X("CAST(0.001e0 AS STRING)", "STRING", "0.001");
    RTERR("CAST(D / 0 AS DECIMAL(5, 2))", "line 1:1:");
    /* DECIMAL */
    X("CAST(N AS INTEGER)", "INTEGER", "12");
    X("CAST(-12.99 AS INTEGER)", "INTEGER", "-12");
    X("CAST(N AS BIGINT)", "BIGINT", "12");
    X("CAST(N AS DECIMAL(4, 1))", "DECIMAL(4, 1)", "12.3");
    X("CAST(12.35 AS DECIMAL(3, 1))", "DECIMAL(3, 1)", "12.4");
    X("CAST(-12.35 AS DECIMAL(3, 1))", "DECIMAL(3, 1)", "-12.4");
    X("CAST(N AS DECIMAL(10, 4))", "DECIMAL(10, 4)", "12.3400");
    RTERR("CAST(N AS DECIMAL(3, 2))", "line 1:1:");
    X("CAST(N AS DOUBLE)", "DOUBLE", "12.34");
    X("CAST(N AS STRING)", "STRING", "12.34");
    X("CAST(0.050 AS STRING)", "STRING", "0.050");
    /* to STRING */
    X("CAST(B AS STRING)", "STRING", "true");
    X("CAST(TS AS STRING)", "STRING", "2017-11-13T23:59:58.000");
    X("CAST(DT AS STRING)", "STRING", "2017-11-13");
    X("CAST(TM AS STRING)", "STRING", "10:15:30");
    X("CAST(ARR AS STRING)", "STRING", "[10, 20, 30]");
    X("CAST(M AS STRING)", "STRING", "{a=1, b=2}");
    X("CAST(ST AS STRING)", "STRING", "Struct{A=1,b=x,SUB=Struct{X=1.5}}");
    X("CAST(ARRAY[1, NULL] AS STRING)", "STRING", "[1, null]");
    /* STRING -> numbers (trimmed, as Java's parse after trim()) */
    X("CAST(' 42 ' AS INTEGER)", "INTEGER", "42");
    X("CAST('+5' AS INTEGER)", "INTEGER", "5");
    X("CAST('-2147483648' AS INTEGER)", "INTEGER", "-2147483648");
    RTERR("CAST('2147483648' AS INTEGER)", "cannot parse '2147483648' as an INTEGER");
    RTERR("CAST('abc' AS INTEGER)", "line 1:1: cannot parse 'abc' as an INTEGER");
    RTERR("CAST('1.5' AS INTEGER)", "cannot parse '1.5' as an INTEGER");
    RTERR("CAST('' AS INTEGER)", "cannot parse");
    X("CAST('9223372036854775807' AS BIGINT)", "BIGINT", "9223372036854775807");
    RTERR("CAST('9223372036854775808' AS BIGINT)", "as a BIGINT");
    X("CAST('1.5' AS DOUBLE)", "DOUBLE", "1.5");
    X("CAST('1e3' AS DOUBLE)", "DOUBLE", "1000.0");
    X("CAST('-Infinity' AS DOUBLE)", "DOUBLE", "-Infinity");
    X("CAST('NaN' AS DOUBLE)", "DOUBLE", "NaN");
    X("CAST('2.5d' AS DOUBLE)", "DOUBLE", "2.5");
    RTERR("CAST('x1' AS DOUBLE)", "cannot parse 'x1' as a DOUBLE");
    RTERR("CAST('1e' AS DOUBLE)", "as a DOUBLE");
    X("CAST('1.255' AS DECIMAL(3, 2))", "DECIMAL(3, 2)", "1.26");
    X("CAST(' -0.5 ' AS DECIMAL(2, 1))", "DECIMAL(2, 1)", "-0.5");
    RTERR("CAST('abc' AS DECIMAL(3, 2))", "line 1:1:");
    RTERR("CAST('123.4' AS DECIMAL(3, 2))", "line 1:1:");
    X("CAST('yes' AS BOOLEAN)", "BOOLEAN", "true");
    X("CAST('TRUE' AS BOOLEAN)", "BOOLEAN", "true");
    X("CAST('F' AS BOOLEAN)", "BOOLEAN", "false");
    X("CAST(' no ' AS BOOLEAN)", "BOOLEAN", "false");
    RTERR("CAST('maybe' AS BOOLEAN)", "cannot parse 'maybe' as a BOOLEAN");
    /* STRING -> TIMESTAMP / DATE / TIME */
    X("CAST('2017-11-13T23:59:58' AS TIMESTAMP)", "TIMESTAMP", "2017-11-13T23:59:58.000");
    /* 23:59:58.999 at -01:00 is 00:59:58.999 UTC the next day (1510621198999 ms) */
    X("CAST('2017-11-13T23:59:58.999-0100' AS TIMESTAMP)", "TIMESTAMP", "2017-11-14T00:59:58.999");
    X("CAST('2017-11-13T23:59:58.999+01:00' AS TIMESTAMP)", "TIMESTAMP", "2017-11-13T22:59:58.999");
    X("CAST('2017' AS TIMESTAMP)", "TIMESTAMP", "2017-01-01T00:00:00.000");
    X("CAST('2020-02' AS TIMESTAMP)", "TIMESTAMP", "2020-02-01T00:00:00.000");
    X("CAST('2020-02-29' AS TIMESTAMP)", "TIMESTAMP", "2020-02-29T00:00:00.000");
    X("CAST('2020-12-02T13Z' AS TIMESTAMP)", "TIMESTAMP", "2020-12-02T13:00:00.000");
    X("CAST('2020-12-02T13:59' AS TIMESTAMP)", "TIMESTAMP", "2020-12-02T13:59:00.000");
    X("CAST('1969-12-31T23:00:00' AS TIMESTAMP)", "TIMESTAMP", "1969-12-31T23:00:00.000");
    X("CAST('2017-11-13T23:59:58' AS TIMESTAMP) = TS", "BOOLEAN", "true");
    RTERR("CAST('2017-1-1' AS TIMESTAMP)", "cannot parse '2017-1-1' as a TIMESTAMP");
    RTERR("CAST('2019-02-29' AS TIMESTAMP)", "as a TIMESTAMP");
    RTERR("CAST('2017-01-01T24:00' AS TIMESTAMP)", "as a TIMESTAMP");
    RTERR("CAST('2017-01-01T00:00:00.000+foo' AS TIMESTAMP)", "as a TIMESTAMP");
    X("CAST('2017-11-13' AS DATE)", "DATE", "2017-11-13");
    X("CAST('2017-11-13' AS DATE) = DT", "BOOLEAN", "true");
    RTERR("CAST('2017-13-01' AS DATE)", "cannot parse '2017-13-01' as a DATE");
    X("CAST('10:15:30' AS TIME)", "TIME", "10:15:30");
    X("CAST('10:15' AS TIME)", "TIME", "10:15");
    X("CAST('10:15:30.5' AS TIME) > TM", "BOOLEAN", "true");
    RTERR("CAST('25:00' AS TIME)", "cannot parse '25:00' as a TIME");
    /* between the time types */
    X("CAST(TS AS DATE)", "DATE", "2017-11-13");
    X("CAST(TS AS TIME)", "TIME", "23:59:58");
    X("CAST(DT AS TIMESTAMP)", "TIMESTAMP", "2017-11-13T00:00:00.000");
    X("CAST(CAST('1969-12-31T23:00:00' AS TIMESTAMP) AS DATE)", "DATE", "1969-12-31");
    X("CAST(CAST('1969-12-31T23:00:00' AS TIMESTAMP) AS TIME)", "TIME", "23:00");
    BERR("CAST(TM AS DATE)", "cannot cast TIME to DATE");
    /* BYTES */
    X("CAST('aGk=' AS BYTES)", "BYTES", "aGk=");
    X("CAST(CAST('aGk=' AS BYTES) AS STRING)", "STRING", "aGk=");
    RTERR("CAST('a*' AS BYTES)", "base64");
    /* 'hi' || '!' = 'hi!' (aGkh in base64); BYTES compare as signed bytes */
    X("CAST('aGk=' AS BYTES) || CAST('IQ==' AS BYTES)", "BYTES", "aGkh");
    X("CAST('aGk=' AS BYTES) = CAST('aGk=' AS BYTES)", "BOOLEAN", "true");
    X("CAST('/w==' AS BYTES) < CAST('AA==' AS BYTES)", "BOOLEAN", "true"); /* -1 < 0 */
    BERR("CAST('aGk=' AS BYTES) || 'x'", "'||' cannot join STRING and BYTES");
    BERR("CAST('aGk=' AS BYTES) = 'x'", "cannot compare BYTES with STRING");
    /* compound types, element by element */
    X("CAST(ARR AS ARRAY<STRING>)", "ARRAY<STRING>", "[\"10\",\"20\",\"30\"]");
    X("CAST(ARR AS ARRAY<DECIMAL(4, 1)>)", "ARRAY<DECIMAL(4, 1)>", "[10.0,20.0,30.0]");
    X("CAST(M AS MAP<STRING, DOUBLE>)", "MAP<STRING, DOUBLE>", "{\"a\":1.0,\"b\":2.0}");
    X("CAST(ST AS STRUCT<A BIGINT, C STRING>)", "STRUCT<`A` BIGINT, `C` STRING>",
      "{\"A\":1,\"C\":null}");
    X("CAST(ARRAY['1', '2'] AS ARRAY<INTEGER>)[2]", "INTEGER", "2");
    RTERR("CAST(ARRAY['1', 'x'] AS ARRAY<INTEGER>)", "cannot parse 'x' as an INTEGER");
    BERR("CAST(ARR AS ARRAY<BOOLEAN>)", "cannot cast ARRAY<INTEGER> to ARRAY<BOOLEAN>");
    BERR("CAST(ARR AS MAP<STRING, INTEGER>)", "cannot cast");
    /* NULL and no-ops */
    X("CAST(NULL AS INTEGER)", "INTEGER", "<null>");
    X("CAST(NULL AS ARRAY<STRING>)", "ARRAY<STRING>", "<null>");
    X("CAST(SN AS INTEGER)", "INTEGER", "<null>");
    X("CAST(J AS STRING)", "STRING", "<null>");
    X("CAST(S AS STRING)", "STRING", "hello");
    BERR("CAST(I AS DECIMAL(40, 2))", "line 1:1:");
}

static void test_constructors(void)
{
    X("ARRAY[1, 2, 3]", "ARRAY<INTEGER>", "[1,2,3]");
    X("ARRAY[1, 2.5]", "ARRAY<DECIMAL(11, 1)>", "[1.0,2.5]");
    X("ARRAY[I, L]", "ARRAY<BIGINT>", "[7,10000000000]");
    X("ARRAY[1, NULL]", "ARRAY<INTEGER>", "[1,null]");
    X("ARRAY[NULL, 'a']", "ARRAY<STRING>", "[null,\"a\"]");
    X("ARRAY['a', 1]", "ARRAY<STRING>", "[\"a\",\"1\"]"); /* the literal joins as text */
    X("ARRAY[1, '2']", "ARRAY<INTEGER>", "[1,2]");
    X("ARRAY[S, SN]", "ARRAY<STRING>", "[\"hello\",null]");
    X("ARRAY[ARRAY[1], ARRAY[2, 3]]", "ARRAY<ARRAY<INTEGER>>", "[[1],[2,3]]");
    BERR("ARRAY[]", "ARRAY[] needs at least one element");
    BERR("ARRAY[NULL]", "NULL elements only");
    BERR_EXACT("ARRAY[1, 'x']", "line 1:10: 'x' is not a number");
    BERR("ARRAY[1, TRUE]", "ARRAY elements: incompatible types INTEGER and BOOLEAN");
    BERR("ARRAY[S, 1 + I]", "incompatible types STRING and INTEGER");

    X("MAP('k' := I, 'j' := 2)", "MAP<STRING, INTEGER>", "{\"k\":7,\"j\":2}");
    X("MAP('k' := 1, 'k' := 2)", "MAP<STRING, INTEGER>", "{\"k\":2}");
    X("MAP(1 := 'a', 2.5 := NULL)", "MAP<DECIMAL(11, 1), STRING>", "{\"1.0\":\"a\",\"2.5\":null}");
    X("MAP('a' := 1)['a']", "INTEGER", "1");
    BERR("MAP('a' := NULL)", "values are all NULL");
    BERR("MAP('a' := 1, 'b' := 'x')", "'x' is not a number");

    X("STRUCT(A := 1, B := 'x')", "STRUCT<`A` INTEGER, `B` STRING>", "{\"A\":1,\"B\":\"x\"}");
    X("STRUCT(A := I + 1, `q` := S)->`q`", "STRING", "hello");
    X("STRUCT(A := 1)->A", "INTEGER", "1");
    X("STRUCT(A := CAST(NULL AS INTEGER))->A", "INTEGER", "<null>");
    X("STRUCT(A := STRUCT(B := ARR))->A->B[2]", "INTEGER", "20");
    BERR("STRUCT(A := NULL)", "STRUCT field 'A' is a bare NULL");
    BERR("STRUCT(A := 1, A := 2)", "duplicate STRUCT field 'A'");
}

static void test_functions(void)
{
    X("T_ADD1(I)", "INTEGER", "8");
    X("T_ADD1(I) * 2", "INTEGER", "16");
    X("T_ADD1(J)", "INTEGER", "<null>");          /* NULL in, NULL out: not called */
    X("T_ADD1(T_ADD1(1))", "INTEGER", "3");
    X("t_add1(i)", "INTEGER", "8");               /* names are case-insensitive */
    BERR_EXACT("1 + T_ADD1(S)", "line 1:5: T_ADD1 takes one INTEGER, not STRING");
    BERR_EXACT("NOPE(1)", "line 1:1: unknown function 'NOPE'");
    BERR_EXACT("T_EXPLODE(ARR) + 1", "line 1:1: T_EXPLODE can only be used in the select list");
    BERR_EXACT("T_ADD1(ARR, x => x + 1)",
               "line 1:13: T_ADD1 does not take a lambda (argument 2); lambdas work with "
               "TRANSFORM, FILTER and REDUCE");
    BERR("T_ADD1(*)", "'*' works with COUNT(*)");
    RTERR("T_FAIL(1)", "line 1:1: T_FAIL: boom");
    RTERR("1 + T_FAIL(I)", "line 1:5: T_FAIL: boom");
    /* a time unit argument arrives as a STRING literal with its name */
    X("T_ECHO(SECONDS, 5)", "STRING", "SECONDS");

    /* literal arguments reach bind through lits */
    lit_seen = -1;
    X("T_LIT(5)", "BIGINT", "5");
    CHECK(lit_seen == 1 && lit_value == 5);
    lit_seen = -1;
    X("T_LIT(2 + 3)", "BIGINT", "5"); /* folded first */
    CHECK(lit_seen == 1 && lit_value == 5);
    lit_seen = -1;
    X("T_LIT(I)", "BIGINT", "7");
    CHECK(lit_seen == 0);

    /* calls are never folded (they may not be deterministic) */
    mp_error e = {0};
    mp_sql_cexpr *c = comp("T_RAND() + 1", &g_scope, &e);
    REQUIRE(c);
    CHECK(!mp_sql_cexpr_is_constant(c));
    mp_fn_ctx cx = {.arena = &g_arena, .e = &e};
    mp_value a, b;
    rand_counter = 0;
    CHECK(mp_sql_eval(c, g_row, &cx, &a) == 0 && mp_sql_eval(c, g_row, &cx, &b) == 0);
    CHECK(a.u.i32 == 2 && b.u.i32 == 3);
    mp_sql_cexpr_free(c);
}

/* TRANSFORM, FILTER, REDUCE (ksqlDB 0.17+): ARR = [10, 20, 30],
 * M = {a: 1, b: 2}, AS2 = [[p, q]], I = 7, L = 10000000000. */
static void test_lambdas(void)
{
    X("TRANSFORM(ARR, x => x + 1)", "ARRAY<INTEGER>", "[11,21,31]");
    X("TRANSFORM(ARR, x => x + I)", "ARRAY<INTEGER>", "[17,27,37]");  /* a column in the body */
    X("TRANSFORM(ARR, I => I * 2)", "ARRAY<INTEGER>", "[20,40,60]");  /* a parameter shadows I */
    X("TRANSFORM(ARR, x => CAST(x AS STRING))", "ARRAY<STRING>", "[\"10\",\"20\",\"30\"]");
    X("TRANSFORM(ARR, x => x * L)", "ARRAY<BIGINT>", "[100000000000,200000000000,300000000000]");
    X("TRANSFORM(ARRAY[1, NULL], x => x + 1)", "ARRAY<INTEGER>", "[2,null]");
    X("TRANSFORM(CAST(NULL AS ARRAY<INTEGER>), x => x)", "ARRAY<INTEGER>", "<null>");
    X("TRANSFORM(M, (k, v) => UCASE(k), (k, v) => v * 10)", "MAP<STRING, INTEGER>",
      "{\"A\":10,\"B\":20}");
    X("TRANSFORM(M, (k, v) => v, (k, v) => k)", "MAP<INTEGER, STRING>", "{\"1\":\"a\",\"2\":\"b\"}");
    RTERR("TRANSFORM(M, (k, v) => 'same', (k, v) => v)",
          "line 1:1: TRANSFORM: the key lambda gave the key same twice");
    RTERR("TRANSFORM(M, (k, v) => CAST(NULL AS STRING), (k, v) => v)", "map keys cannot be NULL");
    /* nested: an inner lambda sees the outer one's parameters and can shadow them */
    X("TRANSFORM(AS2, a => TRANSFORM(a, s => s || CAST(I AS STRING)))", "ARRAY<ARRAY<STRING>>",
      "[[\"p7\",\"q7\"]]");
    X("TRANSFORM(ARR, x => TRANSFORM(ARRAY[1, 2], y => x + y))", "ARRAY<ARRAY<INTEGER>>",
      "[[11,12],[21,22],[31,32]]");
    X("TRANSFORM(ARR, x => TRANSFORM(ARRAY[1], x => x))", "ARRAY<ARRAY<INTEGER>>", "[[1],[1],[1]]");
    X("TRANSFORM(ARR, x => REDUCE(ARRAY[1, 2], x, (s, y) => s + y * x))", "ARRAY<INTEGER>",
      "[40,80,120]");
    X("FILTER(ARR, x => x > 15)", "ARRAY<INTEGER>", "[20,30]");
    X("FILTER(ARRAY[1, NULL, 3], x => x > 1)", "ARRAY<INTEGER>", "[3]"); /* NULL drops */
    X("FILTER(ARR, x => NULL)", "ARRAY<INTEGER>", "[]");
    X("FILTER(M, (k, v) => k = 'b')", "MAP<STRING, INTEGER>", "{\"b\":2}");
    X("FILTER(CAST(NULL AS MAP<STRING, INTEGER>), (k, v) => TRUE)", "MAP<STRING, INTEGER>", "<null>");
    X("REDUCE(ARR, 0, (s, x) => s + x)", "INTEGER", "60");
    X("REDUCE(M, '', (s, k, v) => s || k || CAST(v AS STRING))", "STRING", "a1b2");
    X("REDUCE(ARR, CAST(NULL AS INTEGER), (s, x) => s + x)", "INTEGER", "<null>");
    X("REDUCE(CAST(NULL AS ARRAY<INTEGER>), 5, (s, x) => s + x)", "INTEGER", "5");
    X("REDUCE(ARRAY[1, NULL, 2], 0, (s, x) => s + x)", "INTEGER", "<null>");
    X("REDUCE(ARR, CAST(0 AS BIGINT), (s, x) => s + x)", "BIGINT", "60");
    RTERR("TRANSFORM(ARR, x => x / Z)", "line 1:21: division by zero");
    BERR_EXACT("REDUCE(ARR, 0, (s, x) => s + L)",
               "line 1:16: REDUCE: the lambda returns BIGINT but the initial state is INTEGER; "
               "they must have the same type (CAST the initial state, e.g. CAST(0 AS BIGINT))");
    BERR_EXACT("REDUCE(ARR, NULL, (s, x) => x)",
               "line 1:13: REDUCE: the initial state is a bare NULL: CAST it to the state's type");
    BERR_EXACT("FILTER(ARR, x => x)", "line 1:13: FILTER: the lambda must return a BOOLEAN, not INTEGER");
    BERR_EXACT("TRANSFORM(ARR, (x, y) => x)",
               "line 1:16: TRANSFORM: the lambda over an array takes 1 argument, not 2");
    BERR_EXACT("REDUCE(M, 0, (s, k) => s)",
               "line 1:14: REDUCE: the lambda over a map takes 3 arguments, not 2");
    BERR_EXACT("TRANSFORM(M, (k, v) => k)",
               "line 1:1: Function 'TRANSFORM' does not accept parameters (MAP<STRING, INTEGER>, "
               "LAMBDA). Valid alternatives are: TRANSFORM(ARRAY<T>, T => R), TRANSFORM(MAP<K, V>, "
               "(K, V) => K2, (K, V) => V2)");
    BERR("TRANSFORM(S, x => x)", "Function 'TRANSFORM' does not accept parameters (STRING, LAMBDA)");
    BERR("FILTER(ARR)", "Function 'FILTER' does not accept parameters (ARRAY<INTEGER>)");
    BERR("REDUCE(ARR, x => x)", "Function 'REDUCE' does not accept parameters (ARRAY<INTEGER>, LAMBDA)");
    BERR_EXACT("REDUCE(ARR, 0, (s, s) => s)",
               "line 1:16: REDUCE: a lambda's arguments need different names: S is repeated");
    BERR_EXACT("TRANSFORM(ARR, x => x + S)",
               "line 1:21: operator '+' cannot be applied to INTEGER and STRING");
    BERR_EXACT("TRANSFORM(ARR, x => y)", "line 1:21: column 'Y' cannot be resolved");
    BERR("TRANSFORM(ARR, x => NULL)", "TRANSFORM: the lambda returns a bare NULL");
    BERR("x => 1", "expected");
}

static void test_constants(void)
{
    struct {
        const char *sql;
        int constant;
    } cases[] = {
        {"1", 1},          {"1 + 2 * 3", 1},        {"'a' || 'b'", 1},
        {"CAST('5' AS INTEGER)", 1}, {"ARRAY[1, 2][1]", 1}, {"I", 0},
        {"I + 1", 0},      {"T_ADD1(1)", 0},        {"NULL", 1},
        {"1 / 0", 1}, /* constant, but left to fail per row */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mp_error e = {0};
        mp_sql_cexpr *c = comp(cases[i].sql, &g_scope, &e);
        if (!c) {
            fail_at(__LINE__, cases[i].sql, "bind error %s", e.msg);
            continue;
        }
        if (mp_sql_cexpr_is_constant(c) != cases[i].constant)
            fail_at(__LINE__, cases[i].sql, "is_constant %d", mp_sql_cexpr_is_constant(c));
        mp_sql_cexpr_free(c);
    }
    X("1 + 2 * 3", "INTEGER", "7");
    X("(1 + 2) * 3", "INTEGER", "9");
    X("'a' || 'b' || 'c'", "STRING", "abc");
}

static void test_aggregates(void)
{
    mp_sql_aggs ag = {.input = &g_scope, .first_slot = NCOLS};
    mp_sql_scope as = g_scope;
    as.aggs = &ag;
    mp_error e = {0};
    mp_sql_cexpr *c1 = comp("T_SUM(I) * 2 + T_COUNT(*)", &as, &e);
    REQUIRE(c1);
    CHECK(ag.n == 2);
    mp_sql_cexpr *c2 = comp("T_SUM(I) + t_sum( i ) + T_SUM(L)", &as, &e);
    REQUIRE(c2);
    CHECK(ag.n == 3); /* T_SUM(I) shares its slot; T_SUM(L) is new */
    REQUIRE(ag.n == 3);
    CHECK(strcmp(ag.calls[0].def->name, "T_SUM") == 0 && ag.calls[0].nargs == 1);
    CHECK(strcmp(ag.calls[1].def->name, "T_COUNT") == 0 && ag.calls[1].nargs == 0);
    CHECK(ag.calls[2].nargs == 1);
    CHECK(ag.calls[0].impl.ret && ag.calls[0].impl.ret->kind == MP_TYPE_BIGINT);
    CHECK(ag.calls[0].call && ag.calls[0].call->kind == MP_SQL_EXPR_CALL);
    /* the arguments are compiled against the input scope */
    mp_value v;
    mp_fn_ctx cx = {.arena = &g_arena, .e = &e};
    CHECK(mp_sql_eval(ag.calls[0].args[0], g_row, &cx, &v) == 0 && v.u.i32 == 7);
    CHECK(mp_sql_eval(ag.calls[2].args[0], g_row, &cx, &v) == 0 && v.u.i64 == INT64_C(10000000000));
    /* results are read from the slots after the input columns */
    g_row[NCOLS] = mp_v_bigint(100);    /* T_SUM(I) */
    g_row[NCOLS + 1] = mp_v_bigint(3);  /* T_COUNT(*) */
    CHECK(mp_sql_eval(c1, g_row, &cx, &v) == 0 && v.kind == MP_TYPE_BIGINT && v.u.i64 == 203);
    CHECK(strcmp(mp_type_kind_name(mp_sql_cexpr_type(c1)->kind), "BIGINT") == 0);
    mp_sql_cexpr_free(c1);
    mp_sql_cexpr_free(c2);

    /* nested aggregates, and a failed compile leaves the list as it was */
    CHECK(!comp("T_SUM(T_COUNT(*))", &as, &e));
    CHECK_STR_CONTAINS(e.msg, "line 1:7: aggregate calls cannot be nested: T_COUNT inside T_SUM");
    CHECK(!comp("T_SUM(J) + T_SUM(S)", &as, &e));
    CHECK_STR_CONTAINS(e.msg, "line 1:12: T_SUM takes one integer");
    CHECK(ag.n == 3);
    CHECK(!comp("T_SUM(Z) + NOSUCH", &as, &e));
    CHECK(ag.n == 3);
    mp_sql_aggs_free(&ag);
    CHECK(ag.n == 0 && ag.calls == NULL);

    /* without GROUP BY */
    BERR_EXACT("1 + T_SUM(I)", "line 1:5: aggregate functions need GROUP BY (T_SUM)");
}

static void test_eval_cond(void)
{
    struct {
        const char *sql;
        int want;
    } cases[] = {
        {"I > 5", 1}, {"I > 50", 0}, {"J > 5", 0}, {"NB", 0}, {"NULL", 0}, {"I / Z > 1", MP_EINPUT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mp_error e = {0};
        mp_sql_cexpr *c = comp(cases[i].sql, &g_scope, &e);
        if (!c) {
            fail_at(__LINE__, cases[i].sql, "bind error %s", e.msg);
            continue;
        }
        mp_fn_ctx cx = {.arena = &g_arena, .e = &e};
        int got = mp_sql_eval_cond(c, g_row, &cx);
        if (got != cases[i].want)
            fail_at(__LINE__, cases[i].sql, "eval_cond %d, expected %d", got, cases[i].want);
        mp_sql_cexpr_free(c);
    }
}

static void test_no_arena(void)
{
    /* values that need memory report a missing arena instead of crashing */
    mp_error e = {0};
    mp_sql_cexpr *c = comp("S || S", &g_scope, &e);
    REQUIRE(c);
    mp_fn_ctx cx = {.arena = NULL, .e = &e};
    mp_value v;
    CHECK(mp_sql_eval(c, g_row, &cx, &v) == MP_EINVAL && v.null);
    mp_sql_cexpr_free(c);
    c = comp("I + 1", &g_scope, &e);
    REQUIRE(c);
    CHECK(mp_sql_eval(c, g_row, &cx, &v) == 0 && v.u.i32 == 8);
    mp_sql_cexpr_free(c);
}

static void test_coerce(void)
{
    mp_arena a;
    mp_arena_init(&a, 0);
    mp_error e = {0};
    mp_value v = mp_v_int(5), out;
    mp_type *t;

    CHECK(mp_type_parse("BIGINT", &t, &e) == 0);
    CHECK(mp_sql_coerce(&v, t, &a, &out, &e) == 0 && out.kind == MP_TYPE_BIGINT && out.u.i64 == 5);
    mp_type_free(t);
    CHECK(mp_type_parse("DOUBLE", &t, &e) == 0);
    CHECK(mp_sql_coerce(&v, t, &a, &out, &e) == 0 && out.kind == MP_TYPE_DOUBLE && out.u.f64 == 5.0);
    mp_type_free(t);
    CHECK(mp_type_parse("DECIMAL(3, 1)", &t, &e) == 0);
    CHECK(mp_sql_coerce(&v, t, &a, &out, &e) == 0 && out.kind == MP_TYPE_DECIMAL &&
          mp_v_get_decimal(&out).unscaled == 50 && out.scale == 1 && out.precision == 3);
    v = mp_v_int(5000);
    CHECK(mp_sql_coerce(&v, t, &a, &out, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "INTEGER");
    CHECK_STR_CONTAINS(e.msg, "DECIMAL(3, 1)");
    mp_type_free(t);

    CHECK(mp_type_parse("INTEGER", &t, &e) == 0);
    v = mp_v_string_ref("5", 1);
    CHECK(mp_sql_coerce(&v, t, &a, &out, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "cannot convert STRING to INTEGER");
    v = mp_v_double(5.0);
    CHECK(mp_sql_coerce(&v, t, &a, &out, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "cannot convert DOUBLE to INTEGER");
    v = mp_v_bigint(5);
    CHECK(mp_sql_coerce(&v, t, &a, &out, &e) == MP_EINVAL); /* narrowing is not implicit */
    v = mp_v_null(MP_TYPE_NULL);
    CHECK(mp_sql_coerce(&v, t, &a, &out, &e) == 0 && out.null && out.kind == MP_TYPE_INTEGER);
    mp_type_free(t);

    /* element-wise and by field name */
    CHECK(mp_type_parse("ARRAY<BIGINT>", &t, &e) == 0);
    CHECK(mp_sql_coerce(&g_row[C_ARR], t, &a, &out, &e) == 0 && out.len == 3 &&
          out.u.items[2].kind == MP_TYPE_BIGINT && out.u.items[2].u.i64 == 30);
    CHECK(mp_value_check(&out, t, &e) == 0);
    mp_type_free(t);
    CHECK(mp_type_parse("STRUCT<SUB STRUCT<X DOUBLE>, A BIGINT, EXTRA STRING>", &t, &e) == 0);
    CHECK(mp_sql_coerce(&g_row[C_ST], t, &a, &out, &e) == 0);
    CHECK(mp_value_check(&out, t, &e) == 0);
    CHECK(out.u.st.fields[1].u.i64 == 1 && out.u.st.fields[2].null &&
          out.u.st.fields[0].u.st.fields[0].u.f64 == 1.5);
    mp_type_free(t);
    CHECK(mp_type_parse("ARRAY<STRING>", &t, &e) == 0);
    CHECK(mp_sql_coerce(&g_row[C_ARR], t, &a, &out, &e) == MP_EINVAL);
    mp_type_free(t);
    mp_arena_free(&a);
}

static void test_type_from_ast(void)
{
    const char *texts[] = {"MAP<STRING, ARRAY<DECIMAL(10, 2)>>", "STRUCT<`A` INTEGER, `b` BYTES>",
                           "TIMESTAMP", "ARRAY<STRUCT< >>"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        mp_sql_type *st;
        mp_type *t = NULL;
        mp_error e = {0};
        if (mp_sql_parse_type(texts[i], strlen(texts[i]), &st, NULL, &e)) {
            fail_at(__LINE__, texts[i], "parse: %s", e.msg);
            continue;
        }
        CHECK(mp_sql_type_from_ast(st, &t, &e) == 0);
        char *p = t ? type_text(t) : NULL;
        if (!p || strcmp(p, texts[i]) != 0)
            fail_at(__LINE__, texts[i], "got %s", p ? p : "(none)");
        free(p);
        mp_type_free(t);
        mp_sql_type_free(st);
    }
}

static void test_bad_arguments(void)
{
    mp_error e = {0};
    mp_sql_cexpr *c = (mp_sql_cexpr *)&e;
    CHECK(mp_sql_compile(NULL, &g_scope, &c, &e) == MP_EINVAL && c == NULL);
    mp_sql_expr *x = mp_sql_expr_int(1);
    REQUIRE(x);
    CHECK(mp_sql_compile(x, NULL, &c, &e) == MP_EINVAL);
    /* an empty scope still compiles constants */
    mp_sql_scope empty = {0};
    CHECK(mp_sql_compile(x, &empty, &c, &e) == 0 && c);
    mp_sql_cexpr_free(c);
    mp_sql_expr_free(x);
}

int main(void)
{
    if (setup())
        return 1;
    RUN(test_literals);
    RUN(test_columns);
    RUN(test_struct_and_subscripts);
    RUN(test_arithmetic);
    RUN(test_strings);
    RUN(test_comparisons);
    RUN(test_string_time_comparison);
    RUN(test_logic);
    RUN(test_null_predicates);
    RUN(test_between_in);
    RUN(test_like);
    RUN(test_like_dynamic_escape_error);
    RUN(test_case);
    RUN(test_cast);
    RUN(test_constructors);
    RUN(test_functions);
    RUN(test_lambdas);
    RUN(test_constants);
    RUN(test_aggregates);
    RUN(test_eval_cond);
    RUN(test_no_arena);
    RUN(test_coerce);
    RUN(test_type_from_ast);
    RUN(test_bad_arguments);
    teardown();
    return TEST_SUMMARY();
}
