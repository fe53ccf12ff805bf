/* User-defined functions through the public API (include/mlpipe_udf.h),
 * without dlopen: "extensions" are init functions in this file (and the
 * example examples/udf/reverse.c, included), built into libraries with
 * mp_udf_lib_build, added to a registry, and called through the real
 * expression binder and evaluator. Covers binding with ksqlDB's widening
 * and refusals, overloads, variadic parameters, NULL handling by flag,
 * run-time errors from callbacks and from result setters, result checks,
 * aggregates, registration errors and name clashes. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mlpipe_udf.h"
#include "sql/sql_expr.h"
#include "sql/sql_parser.h"
#include "sql/udf.h"
#include "test.h"

/* The example extension, compiled in: its mlpipe_udf_init is an ordinary
 * function here. */
#include "../../examples/udf/reverse.c"

/* ---- the test extension ---- */

static int add_calls, isnull_calls;

/* T_ADD(a BIGINT, b DOUBLE) -> DOUBLE */
static int t_add(mp_udf_ctx *ctx, const mp_udf_args *args, void *user)
{
    add_calls++;
    CHECK(user == &add_calls);
    CHECK(mp_udf_value_kind(ctx, mp_udf_arg(args, 0)) == MP_UDF_BIGINT);
    CHECK(mp_udf_value_kind(ctx, mp_udf_arg(args, 1)) == MP_UDF_DOUBLE);
    return mp_udf_result_double(ctx, (double)mp_udf_arg_int64(args, 0) + mp_udf_arg_double(args, 1));
}

/* T_ISNULL(x STRING) -> BOOLEAN, called on NULL input */
static int t_isnull(mp_udf_ctx *ctx, const mp_udf_args *args, void *user)
{
    isnull_calls++;
    return mp_udf_result_bool(ctx, mp_udf_arg_is_null(args, 0));
}

/* T_FAIL(x BIGINT) -> BIGINT: 2x, an error for negative x */
static int t_fail(mp_udf_ctx *ctx, const mp_udf_args *args, void *user)
{
    int64_t x = mp_udf_arg_int64(args, 0);
    if (x < 0)
        return mp_udf_error(ctx, "negative input");
    return mp_udf_result_int64(ctx, 2 * x);
}

/* T_JOIN(sep STRING, parts STRING...) -> STRING: the parts that are not
 * NULL, joined by sep; called on NULL input. */
static int t_join(mp_udf_ctx *ctx, const mp_udf_args *args, void *user)
{
    char buf[256];
    size_t w = 0, seplen;
    const char *sep = mp_udf_arg_string(args, 0, &seplen);
    if (!sep)
        return mp_udf_result_null(ctx);
    int first = 1;
    for (size_t i = 1; i < mp_udf_arg_count(args); i++) {
        size_t n;
        const char *s = mp_udf_arg_string(args, i, &n);
        if (!s)
            continue;
        if (w + seplen + n >= sizeof buf)
            return mp_udf_error(ctx, "too long");
        if (!first) {
            memcpy(buf + w, sep, seplen);
            w += seplen;
        }
        memcpy(buf + w, s, n);
        w += n;
        first = 0;
    }
    return mp_udf_result_string(ctx, buf, w);
}

/* T_RET(mode INT) -> INTEGER: results of every sort, good and bad. */
static int t_ret(mp_udf_ctx *ctx, const mp_udf_args *args, void *user)
{
    switch (mp_udf_arg_int64(args, 0)) {
    case 0: return mp_udf_result_string(ctx, "12", 2);          /* parsed */
    case 1: return mp_udf_result_int64(ctx, INT64_C(5000000000)); /* does not fit */
    case 2: return mp_udf_result_string(ctx, "abc", 3);         /* does not parse */
    case 3: return mp_udf_result_bool(ctx, 1);                  /* wrong kind */
    case 4: return 7;                                           /* a bare failure */
    case 5: return 0;                                           /* nothing written: NULL */
    case 6:                                                     /* a failed setter, ignored */
        mp_udf_result_bool(ctx, 1);
        return 0;
    default: return mp_udf_result_double(ctx, 1.5);             /* no DOUBLE into INTEGER */
    }
}

/* T_DEC(mode INT) -> DECIMAL(6, 2) */
static int t_dec(mp_udf_ctx *ctx, const mp_udf_args *args, void *user)
{
    switch (mp_udf_arg_int64(args, 0)) {
    case 0: return mp_udf_result_string(ctx, "12.5", 4);
    case 1: return mp_udf_result_int64(ctx, 3);
    case 2: return mp_udf_result_double(ctx, 0.125); /* exactly x.xx5: half up */
    default: return mp_udf_result_int64(ctx, 12345678); /* too many digits */
    }
}

/* T_TS(s STRING) -> TIMESTAMP (text parsed as CAST does) */
static int t_ts(mp_udf_ctx *ctx, const mp_udf_args *args, void *user)
{
    size_t n;
    const char *s = mp_udf_arg_string(args, 0, &n);
    return mp_udf_result_string(ctx, s, n);
}

/* T_SUM(xs ARRAY<BIGINT>) -> BIGINT: reads elements (INTEGER arrays widen) */
static int t_sum(mp_udf_ctx *ctx, const mp_udf_args *args, void *user)
{
    const mp_udf_value *xs = mp_udf_arg(args, 0);
    int64_t s = 0;
    for (size_t i = 0; i < mp_udf_value_len(ctx, xs); i++) {
        const mp_udf_value *x = mp_udf_value_item(ctx, xs, i);
        CHECK(mp_udf_value_kind(ctx, x) == MP_UDF_BIGINT);
        s += mp_udf_value_int64(ctx, x);
    }
    CHECK(mp_udf_value_item(ctx, xs, mp_udf_value_len(ctx, xs)) == NULL);
    return mp_udf_result_int64(ctx, s);
}

/* T_MAP(k STRING, v BIGINT) -> MAP<STRING, BIGINT>: {k: v, 'n': 1} */
static int t_map(mp_udf_ctx *ctx, const mp_udf_args *args, void *user)
{
    mp_udf_slot *m = mp_udf_result(ctx);
    size_t n;
    const char *k = mp_udf_arg_string(args, 0, &n);
    int rc = mp_udf_set_map(ctx, m, 2);
    if (!rc)
        rc = mp_udf_set_string(ctx, mp_udf_slot_key(ctx, m, 0), k, n);
    if (!rc)
        rc = mp_udf_set_value(ctx, mp_udf_slot_value(ctx, m, 0), mp_udf_arg(args, 1));
    if (!rc)
        rc = mp_udf_set_string(ctx, mp_udf_slot_key(ctx, m, 1), "n", 1);
    if (!rc)
        rc = mp_udf_set_int64(ctx, mp_udf_slot_value(ctx, m, 1), 1);
    CHECK(mp_udf_slot_key(ctx, m, 2) == NULL);
    return rc;
}

/* T_ST(s STRUCT<A INT, B STRING>) -> STRUCT<X BIGINT, `y` STRING>:
 * {X: s.a + 1, y: text of s} — fields by name, case-insensitively. */
static int t_st(mp_udf_ctx *ctx, const mp_udf_args *args, void *user)
{
    const mp_udf_value *s = mp_udf_arg(args, 0);
    mp_udf_slot *r = mp_udf_result(ctx);
    int rc = mp_udf_set_struct(ctx, r);
    if (!rc)
        rc = mp_udf_set_int64(ctx, mp_udf_slot_field(ctx, r, "x"),
                              mp_udf_value_int64(ctx, mp_udf_value_field(ctx, s, "a")) + 1);
    size_t n;
    const char *t = mp_udf_value_text(ctx, s, &n);
    if (!rc)
        rc = mp_udf_set_string(ctx, mp_udf_slot_field(ctx, r, "y"), t, n);
    CHECK(mp_udf_slot_field(ctx, r, "nope") == NULL);
    return rc;
}

/* T_TEXT(x DECIMAL(5, 2)) -> STRING: value_text of a DECIMAL */
static int t_text(mp_udf_ctx *ctx, const mp_udf_args *args, void *user)
{
    size_t n;
    const char *t = mp_udf_value_text(ctx, mp_udf_arg(args, 0), &n);
    return t ? mp_udf_result_string(ctx, t, n) : mp_udf_error(ctx, "no text");
}

/* T_UTF8() -> STRING: not UTF-8 */
static int t_utf8(mp_udf_ctx *ctx, const mp_udf_args *args, void *user)
{
    CHECK(mp_udf_arg_count(args) == 0);
    CHECK(mp_udf_arg_is_null(args, 0)); /* past the end reads as NULL */
    CHECK(mp_udf_arg_string(args, 0, NULL) == NULL);
    return mp_udf_result_string(ctx, "a\xff", 2);
}

/* T_SQRTSUM(x BIGINT): aggregate, state BIGINT = sum of squares, result
 * DOUBLE = its square root; merge adds. */
static int sq_init(mp_udf_ctx *ctx, void *user)
{
    return mp_udf_result_int64(ctx, 0);
}
static int sq_add(mp_udf_ctx *ctx, const mp_udf_value *state, const mp_udf_args *args, void *user)
{
    int64_t x = mp_udf_arg_int64(args, 0);
    if (x > 1000000)
        return mp_udf_error(ctx, "too big");
    return mp_udf_result_int64(ctx, mp_udf_value_int64(ctx, state) + x * x);
}
static int sq_merge(mp_udf_ctx *ctx, const mp_udf_value *a, const mp_udf_value *b, void *user)
{
    return mp_udf_result_int64(ctx, mp_udf_value_int64(ctx, a) + mp_udf_value_int64(ctx, b));
}
static int sq_result(mp_udf_ctx *ctx, const mp_udf_value *state, void *user)
{
    return mp_udf_result_double(ctx, sqrt((double)mp_udf_value_int64(ctx, state)));
}

/* T_COUNTNN(x STRING...): aggregate called on NULL input, counting
 * arguments that are not NULL; no init (NULL state), no result function
 * (the BIGINT state becomes the DOUBLE result). */
static int cn_add(mp_udf_ctx *ctx, const mp_udf_value *state, const mp_udf_args *args, void *user)
{
    int64_t c = mp_udf_value_int64(ctx, state);
    for (size_t i = 0; i < mp_udf_arg_count(args); i++)
        c += !mp_udf_arg_is_null(args, i);
    return mp_udf_result_int64(ctx, c);
}

static int test_init(mp_udf_registrar *r)
{
    static const char *const p_add[] = {"BIGINT", "DOUBLE"};
    static const char *const p_str[] = {"VARCHAR"};
    static const char *const p_big[] = {"BIGINT"};
    static const char *const p_int[] = {"INT"};
    static const char *const p_join[] = {"STRING", "STRING"};
    static const char *const n_join[] = {"sep", "parts"};
    static const char *const p_arr[] = {"ARRAY<BIGINT>"};
    static const char *const p_map[] = {"STRING", "BIGINT"};
    static const char *const p_st[] = {"STRUCT<A INT, B STRING>"};
    static const char *const p_dec[] = {"DECIMAL(5,2)"};
    int rc = 0;
#define SCALAR(NAME, RET, PARAMS, N, FLAGS, FN, USER)                                              \
    do {                                                                                           \
        mp_udf_scalar s_ = {.name = NAME, .description = "test " NAME, .author = "tests",          \
                            .version = "0.1", .returns = RET, .params = PARAMS, .nparams = N,      \
                            .flags = FLAGS, .fn = FN, .user = USER};                               \
        if (!rc)                                                                                   \
            rc = mp_udf_register_scalar(r, &s_);                                                   \
    } while (0)
    SCALAR("t_add", "DOUBLE", p_add, 2, 0, t_add, &add_calls);
    SCALAR("T_ISNULL", "BOOLEAN", p_str, 1, MP_UDF_CALLED_ON_NULL_INPUT, t_isnull, NULL);
    SCALAR("T_FAIL", "BIGINT", p_big, 1, 0, t_fail, NULL);
    SCALAR("T_RET", "INTEGER", p_int, 1, 0, t_ret, NULL);
    SCALAR("T_DEC", "DECIMAL(6, 2)", p_int, 1, 0, t_dec, NULL);
    SCALAR("T_TS", "TIMESTAMP", p_str, 1, 0, t_ts, NULL);
    SCALAR("T_SUM", "BIGINT", p_arr, 1, 0, t_sum, NULL);
    SCALAR("T_MAP", "MAP<STRING, BIGINT>", p_map, 2, 0, t_map, NULL);
    SCALAR("T_ST", "STRUCT<X BIGINT, `y` STRING>", p_st, 1, 0, t_st, NULL);
    SCALAR("T_TEXT", "STRING", p_dec, 1, 0, t_text, NULL);
    SCALAR("T_UTF8", "STRING", NULL, 0, 0, t_utf8, NULL);
#undef SCALAR
    mp_udf_scalar join = {.name = "T_JOIN", .description = "joins", .returns = "STRING",
                          .params = p_join, .param_names = n_join, .nparams = 2,
                          .flags = MP_UDF_VARIADIC | MP_UDF_CALLED_ON_NULL_INPUT, .fn = t_join};
    if (!rc)
        rc = mp_udf_register_scalar(r, &join);
    mp_udf_aggregate sq = {.name = "T_SQRTSUM", .description = "sqrt of the sum of squares",
                           .returns = "DOUBLE", .state = "BIGINT", .params = p_big, .nparams = 1,
                           .init = sq_init, .add = sq_add, .merge = sq_merge,
                           .result = sq_result};
    if (!rc)
        rc = mp_udf_register_aggregate(r, &sq);
    mp_udf_aggregate cn = {.name = "T_COUNTNN", .returns = "DOUBLE", .state = "BIGINT",
                           .params = p_str, .nparams = 1,
                           .flags = MP_UDF_VARIADIC | MP_UDF_CALLED_ON_NULL_INPUT,
                           .add = cn_add};
    if (!rc)
        rc = mp_udf_register_aggregate(r, &cn);
    return rc;
}

/* ---- fixture: a registry, a scope, a row ---- */

enum { C_S, C_SN, C_I, C_L, C_D, C_N, C_ARR, C_ST, C_IN, NCOLS };
static const char *const col_names[NCOLS] = {"S", "SN", "I", "L", "D", "N", "ARR", "ST", "INUL"};
static const char *const col_types[NCOLS] = {"STRING", "STRING", "INTEGER", "BIGINT", "DOUBLE",
                                             "DECIMAL(5, 2)", "ARRAY<INTEGER>",
                                             "STRUCT<A INTEGER, B STRING>", "INTEGER"};
static mp_type *g_types[NCOLS];
static mp_sql_scope_col g_cols[NCOLS];
static mp_sql_scope g_scope;
static mp_value g_row[NCOLS];
static mp_arena g_data, g_arena;
static mp_fn_registry *g_fns;
static mp_udf_lib *g_example, *g_test;

static int setup(void)
{
    mp_error e = {0};
    mp_arena_init(&g_data, 0);
    mp_arena_init(&g_arena, 0);
    for (int i = 0; i < NCOLS; i++) {
        if (mp_type_parse(col_types[i], &g_types[i], &e))
            return fprintf(stderr, "setup: %s\n", e.msg), -1;
        g_cols[i] = (mp_sql_scope_col){col_names[i], NULL, g_types[i]};
    }
    if (mp_fn_registry_new(&g_fns, &e) || mp_udf_lib_build(mlpipe_udf_init, "reverse-test",
                                                           &g_example, &e) ||
        mp_udf_lib_build(test_init, "test-lib", &g_test, &e) ||
        mp_udf_lib_register(g_fns, g_example, &e) || mp_udf_lib_register(g_fns, g_test, &e))
        return fprintf(stderr, "setup: %s\n", e.msg), -1;
    g_scope = (mp_sql_scope){.ncols = NCOLS, .cols = g_cols, .fns = g_fns};
    mp_decimal d = {.unscaled = 150, .precision = 5, .scale = 2};
    g_row[C_S] = mp_v_string_ref("h\xc3\xa9llo \xe2\x82\xac!", 11); /* "héllo €!" */
    g_row[C_SN] = mp_v_null(MP_TYPE_STRING);
    g_row[C_I] = mp_v_int(7);
    g_row[C_L] = mp_v_bigint(INT64_C(10000000000));
    g_row[C_D] = mp_v_double(0.25);
    g_row[C_N] = mp_v_decimal(&d);
    mp_v_array(&g_data, 3, g_types[C_ARR]->elem, &g_row[C_ARR]);
    for (int i = 0; i < 3; i++)
        g_row[C_ARR].u.items[i] = mp_v_int(i + 1);
    mp_v_struct(&g_data, g_types[C_ST], &g_row[C_ST]);
    g_row[C_ST].u.st.fields[0] = mp_v_int(41);
    g_row[C_ST].u.st.fields[1] = mp_v_string_ref("x", 1);
    g_row[C_IN] = mp_v_null(MP_TYPE_INTEGER);
    for (int i = 0; i < NCOLS; i++)
        if (mp_value_check(&g_row[i], g_types[i], &e))
            return fprintf(stderr, "setup: row %d: %s\n", i, e.msg), -1;
    return 0;
}

static void teardown(void)
{
    mp_fn_registry_free(g_fns);
    mp_udf_lib_free(g_example);
    mp_udf_lib_free(g_test);
    for (int i = 0; i < NCOLS; i++)
        mp_type_free(g_types[i]);
    mp_arena_free(&g_data);
    mp_arena_free(&g_arena);
}

/* ---- evaluating ---- */

static mp_sql_cexpr *comp(const char *sql, mp_error *e)
{
    mp_sql_expr *x;
    mp_sql_cexpr *c = NULL;
    if (mp_sql_parse_expr(sql, strlen(sql), &x, NULL, e))
        return NULL;
    if (mp_sql_compile(x, &g_scope, &c, e))
        c = NULL;
    mp_sql_expr_free(x);
    return c;
}

/* Evaluates sql: 0 with the value's text ("<null>" for NULL) and type in
 * val / type, or the bind or run-time error's code with its message in
 * err. */
static int eval(const char *sql, char *val, char *type, char *err)
{
    mp_error e = {0};
    val[0] = type[0] = err[0] = 0;
    mp_sql_cexpr *c = comp(sql, &e);
    if (!c) {
        snprintf(err, MP_ERROR_MSG_MAX, "%s", e.msg);
        return e.code ? e.code : -100;
    }
    mp_buf b = {0};
    mp_type_print(mp_sql_cexpr_type(c), &b);
    snprintf(type, 256, "%s", b.data ? b.data : "");
    mp_buf_free(&b);
    mp_arena_reset(&g_arena);
    mp_fn_ctx cx = {&g_arena, &e};
    mp_value v;
    int rc = mp_sql_eval(c, g_row, &cx, &v);
    if (rc) {
        snprintf(err, MP_ERROR_MSG_MAX, "%s", e.msg);
        CHECK(v.null);
    } else if (v.null) {
        strcpy(val, "<null>");
    } else {
        mp_value_format(&v, &b);
        snprintf(val, 1024, "%s", b.data ? b.data : "");
        mp_buf_free(&b);
        mp_error ce = {0};
        if (mp_value_check(&v, mp_sql_cexpr_type(c), &ce)) {
            fprintf(stderr, "[%s] result does not conform to its type: %s\n", sql, ce.msg);
            mp_test_failed_checks++;
        }
    }
    mp_sql_cexpr_free(c);
    return rc;
}

#define EXPECT(sql, want_type, want_val)                                                           \
    do {                                                                                           \
        char v_[1024], t_[256], e_[MP_ERROR_MSG_MAX];                                             \
        int rc_ = eval(sql, v_, t_, e_);                                                           \
        if (rc_) {                                                                                 \
            fprintf(stderr, "%s:%d: [%s] failed: %s\n", __FILE__, __LINE__, sql, e_);             \
            mp_test_failed_checks++;                                                               \
        } else {                                                                                   \
            if (strcmp(t_, want_type)) {                                                           \
                fprintf(stderr, "%s:%d: [%s] type %s, want %s\n", __FILE__, __LINE__, sql, t_,     \
                        want_type);                                                                \
                mp_test_failed_checks++;                                                           \
            }                                                                                      \
            if (strcmp(v_, want_val)) {                                                            \
                fprintf(stderr, "%s:%d: [%s] = %s, want %s\n", __FILE__, __LINE__, sql, v_,        \
                        want_val);                                                                 \
                mp_test_failed_checks++;                                                           \
            }                                                                                      \
        }                                                                                          \
    } while (0)

/* The call fails (at bind or run time: want_rc) with a message containing want. */
#define EXPECT_ERR(sql, want_rc, want)                                                             \
    do {                                                                                           \
        char v_[1024], t_[256], e_[MP_ERROR_MSG_MAX];                                             \
        int rc_ = eval(sql, v_, t_, e_);                                                           \
        if (rc_ != (want_rc)) {                                                                    \
            fprintf(stderr, "%s:%d: [%s] rc %d (%s), want %d\n", __FILE__, __LINE__, sql, rc_,     \
                    rc_ ? e_ : v_, want_rc);                                                       \
            mp_test_failed_checks++;                                                               \
        }                                                                                          \
        CHECK_STR_CONTAINS(e_, want);                                                              \
    } while (0)

/* ---- tests ---- */

static void test_reverse_example(void)
{
    EXPECT("REVERSE(S)", "STRING", "!\xe2\x82\xac oll\xc3\xa9h"); /* characters, not bytes */
    EXPECT("REVERSE('abc')", "STRING", "cba");
    EXPECT("REVERSE('')", "STRING", "");
    EXPECT("reverse('\xf0\x9f\x98\x80x')", "STRING", "x\xf0\x9f\x98\x80"); /* 4-byte character */
    EXPECT("REVERSE(SN)", "STRING", "<null>");
    /* the overload for arrays is chosen by the argument's type */
    EXPECT("REVERSE(ARRAY['a', NULL, 'c'])", "ARRAY<STRING>", "[\"c\",null,\"a\"]");
    EXPECT_ERR("REVERSE(I)", MP_EINVAL,
               "Function 'REVERSE' does not accept parameters (INTEGER). Valid alternatives are: "
               "REVERSE(STRING), REVERSE(ARRAY<STRING>)");
    EXPECT_ERR("REVERSE(S, S)", MP_EINVAL, "does not accept parameters (STRING, STRING)");
    /* the variadic example: INT and BIGINT widen to DOUBLE; NULLs are skipped */
    EXPECT("MEDIAN_OF(3, L, D, NULL, N)", "DOUBLE", "2.25"); /* 0.25 1.5 | 3 1e10 */
    EXPECT("MEDIAN_OF(I, 1)", "DOUBLE", "4.0");
    EXPECT_ERR("MEDIAN_OF(1, 'a')", MP_EINVAL, "Valid alternatives are: MEDIAN_OF(DOUBLE...)");
    EXPECT("MEDIAN_OF()", "DOUBLE", "<null>");
    EXPECT("MEDIAN_OF(CAST(NULL AS DOUBLE))", "DOUBLE", "<null>");
    EXPECT_ERR("MEDIAN_OF(1, CAST('NaN' AS DOUBLE))", MP_EINPUT, "MEDIAN_OF: NaN has no place");
}

static void test_describe(void)
{
    const mp_fn_def *d = mp_fn_lookup(g_fns, "reverse");
    REQUIRE(d);
    CHECK(!strcmp(d->name, "REVERSE"));
    CHECK(d->kind == MP_FN_SCALAR);
    CHECK(!strcmp(d->category, "STRING"));
    CHECK(!strcmp(d->author, "mlpipe examples"));
    CHECK(!strcmp(d->version, "1.0.0"));
    CHECK_STR_CONTAINS(d->description, "Reverses a string, character by character.");
    CHECK_STR_CONTAINS(d->description, "Author: mlpipe examples | Version: 1.0.0 | Library: "
                                       "reverse-test");
    REQUIRE(d->ndocs == 2);
    CHECK(!strcmp(d->docs[0].args, "(str STRING)"));
    CHECK(!strcmp(d->docs[0].ret, "STRING"));
    CHECK(!strcmp(d->docs[1].args, "(list ARRAY<STRING>)"));
    CHECK(!strcmp(d->docs[1].ret, "ARRAY<STRING>"));
    CHECK(!strcmp(d->docs[1].description, "Reverses the order of an array's elements."));
    const mp_fn_def *j = mp_fn_lookup(g_fns, "T_JOIN");
    REQUIRE(j && j->ndocs == 1);
    CHECK(!strcmp(j->docs[0].args, "(sep STRING, parts STRING...)"));
    CHECK(!strcmp(j->category, "OTHER"));
    CHECK(j->author == NULL);
    const mp_fn_def *a = mp_fn_lookup(g_fns, "LONGEST");
    REQUIRE(a);
    CHECK(a->kind == MP_FN_AGGREGATE);
    CHECK(!strcmp(a->category, "AGGREGATE"));
    /* where each function came from */
    CHECK(!strcmp(mp_udf_origin(d), "reverse-test"));
    CHECK(!strcmp(mp_udf_origin(j), "test-lib"));
    CHECK(mp_udf_origin(mp_fn_lookup(g_fns, "UCASE")) == NULL);
    CHECK(mp_udf_lib_count(g_example) == 3);
    CHECK(mp_udf_lib_count(g_test) == 14);
    /* SHOW FUNCTIONS lists them with the built-ins */
    size_t n = 0, found = 0;
    const mp_fn_def **all = mp_fn_list(g_fns, &n);
    for (size_t i = 0; all && i < n; i++)
        found += !strcmp(all[i]->name, "REVERSE") || !strcmp(all[i]->name, "T_ADD");
    free(all);
    CHECK(found == 2);
}

static void test_widening_and_refusals(void)
{
    int before = add_calls;
    EXPECT("T_ADD(L, D)", "DOUBLE", "1.000000000025E10");
    EXPECT("T_ADD(I, I)", "DOUBLE", "14.0");      /* INTEGER -> BIGINT, INTEGER -> DOUBLE */
    EXPECT("T_ADD(1, N)", "DOUBLE", "2.5");       /* DECIMAL -> DOUBLE */
    EXPECT("t_add(2, 0.5)", "DOUBLE", "2.5");     /* any case */
    CHECK(add_calls == before + 4);
    EXPECT_ERR("T_ADD(D, D)", MP_EINVAL,
               "Function 'T_ADD' does not accept parameters (DOUBLE, DOUBLE). Valid alternatives "
               "are: T_ADD(BIGINT, DOUBLE)"); /* no narrowing */
    EXPECT_ERR("T_ADD(S, 1)", MP_EINVAL, "(STRING, INTEGER)");
    EXPECT_ERR("T_ADD(1)", MP_EINVAL, "(INTEGER)");
    EXPECT_ERR("T_ADD(1, 2, 3)", MP_EINVAL, "(INTEGER, INTEGER, INTEGER)");
    /* composite parameters: ARRAY<INTEGER> widens element-wise */
    EXPECT("T_SUM(ARR)", "BIGINT", "6");
    EXPECT("T_SUM(ARRAY[L, 1])", "BIGINT", "10000000001");
    EXPECT_ERR("T_SUM(ARRAY['a'])", MP_EINVAL, "(ARRAY<STRING>)");
    EXPECT("T_ST(ST)", "STRUCT<`X` BIGINT, `y` STRING>", "{\"X\":42,\"y\":\"{\\\"A\\\":41,\\\"B\\\":\\\"x\\\"}\"}");
    EXPECT("T_TEXT(N)", "STRING", "1.50");
    /* INTEGER is DECIMAL(10, 0): it does not widen to DECIMAL(5, 2) */
    EXPECT_ERR("T_TEXT(I)", MP_EINVAL, "(INTEGER)");
}

static void test_null_handling(void)
{
    int before = add_calls;
    /* by default a NULL argument is a NULL result without a call */
    EXPECT("T_ADD(INUL, 1)", "DOUBLE", "<null>");
    EXPECT("T_ADD(NULL, 1)", "DOUBLE", "<null>");
    CHECK(add_calls == before);
    /* MP_UDF_CALLED_ON_NULL_INPUT: the function sees it */
    int nb = isnull_calls;
    EXPECT("T_ISNULL(SN)", "BOOLEAN", "true");
    EXPECT("T_ISNULL(S)", "BOOLEAN", "false");
    EXPECT("T_ISNULL(NULL)", "BOOLEAN", "true");
    CHECK(isnull_calls == nb + 3);
}

static void test_variadic(void)
{
    EXPECT("T_JOIN('-')", "STRING", "");
    EXPECT("T_JOIN('-', 'a')", "STRING", "a");
    EXPECT("T_JOIN(', ', 'a', SN, 'b', S)", "STRING", "a, b, h\xc3\xa9llo \xe2\x82\xac!");
    EXPECT("T_JOIN(SN, 'a')", "STRING", "<null>");
    EXPECT_ERR("T_JOIN()", MP_EINVAL,
               "Function 'T_JOIN' does not accept parameters (). Valid alternatives are: "
               "T_JOIN(STRING, STRING...)");
    EXPECT_ERR("T_JOIN('-', 'a', 1)", MP_EINVAL, "(STRING, STRING, INTEGER)");
}

static void test_runtime_errors(void)
{
    EXPECT("T_FAIL(21)", "BIGINT", "42");
    EXPECT_ERR("T_FAIL(-1)", MP_EINPUT, "T_FAIL: negative input");
    EXPECT("T_RET(0)", "INTEGER", "12");
    EXPECT_ERR("T_RET(1)", MP_EINPUT, "T_RET: 5000000000 does not fit an INTEGER result");
    EXPECT_ERR("T_RET(2)", MP_EINPUT, "T_RET: ");
    EXPECT_ERR("T_RET(3)", MP_EINVAL, "T_RET: cannot store a BOOLEAN where INTEGER is declared");
    EXPECT_ERR("T_RET(4)", MP_EINPUT, "T_RET: failed (returned 7)");
    EXPECT("T_RET(5)", "INTEGER", "<null>");
    EXPECT_ERR("T_RET(6)", MP_EINVAL, "cannot store a BOOLEAN"); /* ignored, still fails */
    EXPECT_ERR("T_RET(7)", MP_EINVAL, "cannot store a DOUBLE");
    EXPECT("T_DEC(0)", "DECIMAL(6, 2)", "12.50");
    EXPECT("T_DEC(1)", "DECIMAL(6, 2)", "3.00");
    EXPECT("T_DEC(2)", "DECIMAL(6, 2)", "0.13");
    EXPECT_ERR("T_DEC(3)", MP_EINPUT, "T_DEC: ");
    EXPECT("T_TS('2017-11-13T23:59:58')", "TIMESTAMP", "2017-11-13T23:59:58.000");
    EXPECT_ERR("T_TS('yesterday')", MP_EINPUT, "T_TS: ");
    EXPECT_ERR("T_UTF8()", MP_EINPUT, "T_UTF8: the string is not valid UTF-8");
    EXPECT("T_MAP('k', I)", "MAP<STRING, BIGINT>", "{\"k\":7,\"n\":1}");
}

/* Binds an aggregate directly and folds values through it, as the engine's
 * GROUP BY does. */
static void test_aggregates(void)
{
    const mp_fn_def *d = mp_fn_lookup(g_fns, "T_SQRTSUM");
    REQUIRE(d && d->kind == MP_FN_AGGREGATE && d->aggregate);
    mp_type *ti = mp_type_new(MP_TYPE_INTEGER), *ts = mp_type_new(MP_TYPE_STRING);
    const mp_type *args[2] = {ti, ti};
    const mp_value *lits[2] = {NULL, NULL};
    mp_agg_impl im = {0};
    mp_error e = {0};
    REQUIRE(d->aggregate(args, lits, 1, &im, &e) == 0);
    mp_arena_reset(&g_arena);
    mp_fn_ctx cx = {&g_arena, &e};
    mp_value st, other, out;
    CHECK(im.init(&cx, &st, im.data) == 0);
    CHECK(st.kind == MP_TYPE_BIGINT && !st.null && st.u.i64 == 0);
    mp_value x[3] = {mp_v_int(3), mp_v_null(MP_TYPE_INTEGER), mp_v_int(4)};
    for (int i = 0; i < 3; i++)
        CHECK(im.add(&cx, &st, &x[i], 1, im.data) == 0);
    CHECK(st.u.i64 == 25); /* the NULL row left the state alone */
    CHECK(im.result(&cx, &st, &out, im.data) == 0);
    CHECK(out.kind == MP_TYPE_DOUBLE && out.u.f64 == 5.0);
    /* an error from add keeps the old state */
    mp_value big = mp_v_int(2000000);
    CHECK(im.add(&cx, &st, &big, 1, im.data) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "T_SQRTSUM: too big");
    CHECK(st.u.i64 == 25);
    REQUIRE(im.merge);
    other = mp_v_bigint(144);
    CHECK(im.merge(&cx, &st, &other, im.data) == 0);
    CHECK(st.u.i64 == 169);
    CHECK(im.result(&cx, &st, &out, im.data) == 0 && out.u.f64 == 13.0);
    mp_type_free(im.ret);
    mp_type_free(im.state_type);
    /* wrong argument type */
    mp_agg_impl bad = {0};
    const mp_type *sargs[1] = {ts};
    CHECK(d->aggregate(sargs, lits, 1, &bad, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "Function 'T_SQRTSUM' does not accept parameters (STRING)");

    /* no init, no result, called on NULL input, variadic */
    const mp_fn_def *c = mp_fn_lookup(g_fns, "T_COUNTNN");
    REQUIRE(c);
    mp_agg_impl ic = {0};
    REQUIRE(c->aggregate(args, lits, 2, &ic, &e) == MP_EINVAL); /* INTEGERs are not STRINGs */
    const mp_type *s2[2] = {ts, ts};
    REQUIRE(c->aggregate(s2, lits, 2, &ic, &e) == 0);
    CHECK(ic.merge == NULL);
    CHECK(ic.init(&cx, &st, ic.data) == 0 && st.null);
    mp_value row1[2] = {mp_v_string_ref("a", 1), mp_v_null(MP_TYPE_STRING)};
    mp_value row2[2] = {mp_v_string_ref("b", 1), mp_v_string_ref("c", 1)};
    CHECK(ic.add(&cx, &st, row1, 2, ic.data) == 0);
    CHECK(ic.add(&cx, &st, row2, 2, ic.data) == 0);
    CHECK(ic.result(&cx, &st, &out, ic.data) == 0);
    CHECK(out.kind == MP_TYPE_DOUBLE && out.u.f64 == 3.0); /* BIGINT state widened */
    mp_type_free(ic.ret);
    mp_type_free(ic.state_type);

    /* the example aggregate through GROUP BY's binder path: LONGEST */
    const mp_fn_def *l = mp_fn_lookup(g_fns, "LONGEST");
    REQUIRE(l);
    mp_agg_impl il = {0};
    REQUIRE(l->aggregate(sargs, lits, 1, &il, &e) == 0);
    CHECK(il.init(&cx, &st, il.data) == 0 && st.null);
    const char *words[] = {"ab", "\xc3\xa9\xc3\xa9\xc3\xa9", "abc", "xyz"}; /* "ééé" is 3 chars */
    for (int i = 0; i < 4; i++) {
        mp_value w = mp_v_string_ref(words[i], strlen(words[i]));
        CHECK(il.add(&cx, &st, &w, 1, il.data) == 0);
    }
    mp_value nul = mp_v_null(MP_TYPE_STRING);
    CHECK(il.add(&cx, &st, &nul, 1, il.data) == 0);
    CHECK(il.result(&cx, &st, &out, il.data) == 0);
    CHECK(out.kind == MP_TYPE_STRING && !strcmp(out.u.str, "\xc3\xa9\xc3\xa9\xc3\xa9"));
    mp_type_free(il.ret);
    mp_type_free(il.state_type);
    mp_type_free(ti);
    mp_type_free(ts);
}

/* ---- registration errors ---- */

static const char *const one_str[] = {"STRING"};

static int dummy(mp_udf_ctx *ctx, const mp_udf_args *args, void *user)
{
    return mp_udf_result_null(ctx);
}

static int init_bad_type(mp_udf_registrar *r)
{
    static const char *const p[] = {"STRING", "STRNG"};
    mp_udf_scalar s = {.name = "BT", .returns = "STRING", .params = p, .nparams = 2, .fn = dummy};
    return mp_udf_register_scalar(r, &s);
}
static int init_bad_return(mp_udf_registrar *r)
{
    mp_udf_scalar s = {.name = "BR", .returns = "ARRAY<", .params = one_str, .nparams = 1,
                       .fn = dummy};
    return mp_udf_register_scalar(r, &s);
}
static int init_bad_name(mp_udf_registrar *r)
{
    mp_udf_scalar s = {.name = "MY-FN", .returns = "STRING", .fn = dummy};
    return mp_udf_register_scalar(r, &s);
}
static int init_digit_name(mp_udf_registrar *r)
{
    mp_udf_scalar s = {.name = "9LIVES", .returns = "STRING", .fn = dummy};
    return mp_udf_register_scalar(r, &s);
}
static int init_no_fn(mp_udf_registrar *r)
{
    mp_udf_scalar s = {.name = "NOFN", .returns = "STRING"};
    return mp_udf_register_scalar(r, &s);
}
static int init_bad_variadic(mp_udf_registrar *r)
{
    mp_udf_scalar s = {.name = "V0", .returns = "STRING", .flags = MP_UDF_VARIADIC, .fn = dummy};
    return mp_udf_register_scalar(r, &s);
}
static int init_bad_flags(mp_udf_registrar *r)
{
    mp_udf_scalar s = {.name = "FL", .returns = "STRING", .flags = 0x80, .fn = dummy};
    return mp_udf_register_scalar(r, &s);
}
static int init_twice(mp_udf_registrar *r)
{
    static const char *const p2[] = {"VARCHAR"};
    mp_udf_scalar s = {.name = "TWICE", .returns = "STRING", .params = one_str, .nparams = 1,
                       .fn = dummy};
    int rc = mp_udf_register_scalar(r, &s);
    s.name = "twice";
    s.params = p2; /* VARCHAR is STRING: the same signature */
    s.returns = "BIGINT";
    if (!rc)
        rc = mp_udf_register_scalar(r, &s);
    return rc;
}
static int init_mixed_kinds(mp_udf_registrar *r)
{
    mp_udf_scalar s = {.name = "MIXED", .returns = "STRING", .params = one_str, .nparams = 1,
                       .fn = dummy};
    mp_udf_aggregate a = {.name = "MIXED", .returns = "BIGINT", .state = "BIGINT",
                          .add = cn_add};
    int rc = mp_udf_register_scalar(r, &s);
    return rc ? rc : mp_udf_register_aggregate(r, &a);
}
static int init_struct_state(mp_udf_registrar *r)
{
    mp_udf_aggregate a = {.name = "SS", .returns = "BIGINT", .state = "ARRAY<STRUCT<A INT>>",
                          .result = sq_result, .add = cn_add};
    return mp_udf_register_aggregate(r, &a);
}
static int init_state_mismatch(mp_udf_registrar *r)
{
    mp_udf_aggregate a = {.name = "SM", .returns = "BIGINT", .state = "STRING", .add = cn_add};
    return mp_udf_register_aggregate(r, &a);
}
static int init_no_add(mp_udf_registrar *r)
{
    mp_udf_aggregate a = {.name = "NA", .returns = "BIGINT", .state = "BIGINT"};
    return mp_udf_register_aggregate(r, &a);
}
static int init_small_struct(mp_udf_registrar *r)
{
    mp_udf_scalar s = {.name = "SMALL", .returns = "STRING", .fn = dummy};
    return MP_UDF_API_OF(r)->register_scalar(r, &s, 16); /* an older, shorter layout */
}
static int init_returns_error(mp_udf_registrar *r)
{
    return -3;
}
static int init_fails(mp_udf_registrar *r)
{
    return mp_udf_registrar_fail(r, "config file missing");
}
static int init_empty(mp_udf_registrar *r)
{
    return 0;
}
/* A failed registration fails the library even if init ignores it. */
static int init_ignores(mp_udf_registrar *r)
{
    mp_udf_scalar s = {.name = "IGN", .returns = "NOPE", .fn = dummy};
    mp_udf_register_scalar(r, &s);
    s.returns = "STRING";
    s.name = "IGN2";
    mp_udf_register_scalar(r, &s);
    return 0;
}
static int init_clash(mp_udf_registrar *r)
{
    mp_udf_scalar s = {.name = "NEW_ONE", .returns = "STRING", .fn = dummy};
    int rc = mp_udf_register_scalar(r, &s);
    s.name = "ucase";
    return rc ? rc : mp_udf_register_scalar(r, &s);
}
static int init_clash_udf(mp_udf_registrar *r)
{
    mp_udf_scalar s = {.name = "T_ADD", .returns = "STRING", .fn = dummy};
    return mp_udf_register_scalar(r, &s);
}

static void build_fails(int line, mp_udf_init_fn init, const char *want)
{
    mp_udf_lib *lib = (mp_udf_lib *)1;
    mp_error e = {0};
    int rc = mp_udf_lib_build(init, "bad.so", &lib, &e);
    if (rc != MP_EINVAL || lib != NULL || !strstr(e.msg, want) || strncmp(e.msg, "bad.so: ", 8)) {
        fprintf(stderr, "%s:%d: build rc %d, message \"%s\", want \"bad.so: ...%s...\"\n",
                __FILE__, line, rc, e.msg, want);
        mp_test_failed_checks++;
    }
    if (!rc)
        mp_udf_lib_free(lib);
}

static void test_registration_errors(void)
{
    build_fails(__LINE__, init_bad_type, "BT: parameter 2 type 'STRNG'");
    build_fails(__LINE__, init_bad_return, "BR: return type 'ARRAY<'");
    build_fails(__LINE__, init_bad_name, "'MY-FN' is not a valid function name");
    build_fails(__LINE__, init_digit_name, "'9LIVES' is not a valid function name");
    build_fails(__LINE__, init_no_fn, "NOFN: no implementation");
    build_fails(__LINE__, init_bad_variadic, "V0: variadic without a parameter");
    build_fails(__LINE__, init_bad_flags, "FL: unknown flags 0x80");
    build_fails(__LINE__, init_twice, "TWICE(STRING) is declared twice");
    build_fails(__LINE__, init_mixed_kinds, "MIXED is declared both as a scalar and as an aggregate");
    build_fails(__LINE__, init_struct_state, "SS: a state type cannot hold a STRUCT");
    build_fails(__LINE__, init_state_mismatch, "SM: without a result function the state type "
                                               "'STRING' must convert to the return type 'BIGINT'");
    build_fails(__LINE__, init_no_add, "NA: no add function");
    build_fails(__LINE__, init_small_struct, "definition of 16 bytes is smaller than version 1's");
    build_fails(__LINE__, init_returns_error, "mlpipe_udf_init failed (returned -3)");
    build_fails(__LINE__, init_fails, "config file missing");
    build_fails(__LINE__, init_empty, "registered no functions");
    build_fails(__LINE__, init_ignores, "IGN: return type 'NOPE'");
}

/* ---- table functions ---- */

static int series(mp_udf_ctx *ctx, const mp_udf_args *args, void *user)
{
    (void)user;
    int64_t n = mp_udf_arg_int64(args, 0);
    if (n < 0)
        return mp_udf_error(ctx, "negative");
    mp_udf_slot *out = mp_udf_result(ctx);
    if (n == 99) /* a STRING where the rows (an ARRAY) go */
        return mp_udf_set_string(ctx, out, "x", 1);
    int rc = mp_udf_set_array(ctx, out, (size_t)n);
    for (int64_t i = 0; !rc && i < n; i++)
        rc = mp_udf_set_int64(ctx, mp_udf_slot_item(ctx, out, (size_t)i), i + 1);
    return rc;
}
static int init_series(mp_udf_registrar *r)
{
    static const char *const p[] = {"BIGINT"};
    mp_udf_table t = {.name = "T_SERIES", .description = "1 to n.", .returns = "BIGINT",
                      .params = p, .nparams = 1, .fn = series};
    return mp_udf_register_table(r, &t);
}
static int init_table_no_fn(mp_udf_registrar *r)
{
    mp_udf_table t = {.name = "TN", .returns = "BIGINT"};
    return mp_udf_register_table(r, &t);
}
static int init_scalar_and_table(mp_udf_registrar *r)
{
    mp_udf_scalar s = {.name = "MIXED2", .returns = "STRING", .params = one_str, .nparams = 1,
                       .fn = dummy};
    mp_udf_table t = {.name = "MIXED2", .returns = "STRING", .params = one_str, .nparams = 1,
                      .fn = dummy};
    int rc = mp_udf_register_scalar(r, &s);
    return rc ? rc : mp_udf_register_table(r, &t);
}

static void test_table_functions(void)
{
    mp_error e = {0};
    mp_udf_lib *lib = NULL;
    mp_fn_registry *fns = NULL;
    REQUIRE(mp_fn_registry_new(&fns, &e) == 0);
    REQUIRE(mp_udf_lib_build(init_series, "series.so", &lib, &e) == 0);
    REQUIRE(mp_udf_lib_register(fns, lib, &e) == 0);
    const mp_fn_def *d = mp_fn_lookup(fns, "t_series");
    REQUIRE(d && d->kind == MP_FN_TABLE && d->table);
    CHECK(!strcmp(d->category, "TABLE"));
    CHECK(!strcmp(mp_udf_origin(d), "series.so"));
    mp_type *ti = mp_type_new(MP_TYPE_INTEGER), *ts = mp_type_new(MP_TYPE_STRING);
    const mp_type *args[1] = {ti};
    const mp_value *lits[1] = {NULL};
    mp_table_impl im = {0};
    REQUIRE(d->table(args, lits, 1, &im, &e) == 0); /* INTEGER widens to BIGINT */
    CHECK(im.ret && im.ret->kind == MP_TYPE_BIGINT);
    mp_arena_reset(&g_arena);
    mp_fn_ctx cx = {&g_arena, &e};
    mp_value *rows = NULL;
    size_t n = 9;
    mp_value a = mp_v_int(3);
    CHECK(im.fn(&cx, &a, 1, &rows, &n, im.data) == 0);
    CHECK(n == 3 && rows && rows[0].kind == MP_TYPE_BIGINT && rows[0].u.i64 == 1 &&
          rows[2].u.i64 == 3);
    a = mp_v_int(0);
    CHECK(im.fn(&cx, &a, 1, &rows, &n, im.data) == 0 && n == 0);
    a = mp_v_null(MP_TYPE_INTEGER); /* not called: no rows */
    CHECK(im.fn(&cx, &a, 1, &rows, &n, im.data) == 0 && n == 0);
    a = mp_v_int(-1);
    CHECK(im.fn(&cx, &a, 1, &rows, &n, im.data) == MP_EINPUT && n == 0);
    CHECK_STR_CONTAINS(e.msg, "T_SERIES: negative");
    a = mp_v_int(99);
    CHECK(im.fn(&cx, &a, 1, &rows, &n, im.data) < 0 && n == 0);
    mp_type_free(im.ret);
    const mp_type *sargs[1] = {ts};
    mp_table_impl bad = {0};
    CHECK(d->table(sargs, lits, 1, &bad, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "Function 'T_SERIES' does not accept parameters (STRING)");
    /* through the binder, as a select item: read from its slot */
    mp_sql_tfns tf = {.first_slot = NCOLS};
    mp_sql_scope sc = {.ncols = NCOLS, .cols = g_cols, .fns = fns, .tfns = &tf};
    mp_sql_expr *x = NULL;
    mp_sql_cexpr *c = NULL;
    REQUIRE(mp_sql_parse_expr("T_SERIES(I) * 2", 15, &x, NULL, &e) == 0);
    REQUIRE(mp_sql_compile(x, &sc, &c, &e) == 0);
    CHECK(tf.n == 1);
    CHECK(mp_sql_tfn_eval(&tf, 0, g_row, &cx, &rows, &n) == 0 && n == 7);
    mp_value row[NCOLS + 1], v;
    memcpy(row, g_row, sizeof(mp_value) * NCOLS);
    row[NCOLS] = rows[6];
    CHECK(mp_sql_eval(c, row, &cx, &v) == 0 && v.u.i64 == 14);
    mp_sql_cexpr_free(c);
    mp_sql_expr_free(x);
    mp_sql_tfns_free(&tf);
    /* in a scope without a table-function list (WHERE) */
    REQUIRE(mp_sql_parse_expr("T_SERIES(I) = 1", 15, &x, NULL, &e) == 0);
    sc.tfns = NULL;
    CHECK(mp_sql_compile(x, &sc, &c, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "line 1:1: T_SERIES can only be used in the select list");
    mp_sql_expr_free(x);
    mp_type_free(ti);
    mp_type_free(ts);
    mp_fn_registry_free(fns);
    mp_udf_lib_free(lib);
    build_fails(__LINE__, init_table_no_fn, "TN: no implementation (fn is NULL)");
    build_fails(__LINE__, init_scalar_and_table,
                "MIXED2 is declared both as a scalar and as a table function");
}

static void test_clashes(void)
{
    mp_error e = {0};
    mp_udf_lib *lib = NULL;
    REQUIRE(mp_udf_lib_build(init_clash, "clash.so", &lib, &e) == 0);
    CHECK(mp_udf_lib_register(g_fns, lib, &e) == MP_EEXIST);
    CHECK_STR_CONTAINS(e.msg, "clash.so: function UCASE clashes with the built-in function UCASE "
                              "(extensions cannot replace built-in functions)");
    /* all or nothing: the library's other function was not added */
    CHECK(mp_fn_lookup(g_fns, "NEW_ONE") == NULL);
    mp_udf_lib_free(lib);

    lib = NULL;
    REQUIRE(mp_udf_lib_build(init_clash_udf, "other.so", &lib, &e) == 0);
    CHECK(mp_udf_lib_register(g_fns, lib, &e) == MP_EEXIST);
    CHECK_STR_CONTAINS(e.msg, "other.so: function T_ADD is already defined by test-lib");
    mp_udf_lib_free(lib);

    /* two new libraries with the same name clash with each other */
    mp_udf_lib *a = NULL, *b = NULL;
    REQUIRE(mp_udf_lib_build(init_clash_udf, "a.so", &a, &e) == 0);
    REQUIRE(mp_udf_lib_build(init_clash_udf, "b.so", &b, &e) == 0);
    mp_fn_registry *fresh = NULL;
    REQUIRE(mp_fn_registry_new(&fresh, &e) == 0);
    const mp_udf_lib *both[2] = {a, b};
    CHECK(mp_udf_libs_register(fresh, both, 2, &e) == MP_EEXIST);
    CHECK_STR_CONTAINS(e.msg, "b.so: function T_ADD is already defined by a.so");
    CHECK(mp_fn_lookup(fresh, "T_ADD") == NULL);
    /* one alone goes in, and adding it again is harmless */
    CHECK(mp_udf_lib_register(fresh, a, &e) == 0);
    CHECK(mp_udf_lib_register(fresh, a, &e) == 0);
    CHECK(!strcmp(mp_udf_origin(mp_fn_lookup(fresh, "t_add")), "a.so"));
    mp_fn_registry_free(fresh);
    mp_udf_lib_free(a);
    mp_udf_lib_free(b);

    /* the first registry still has its own T_ADD */
    EXPECT("T_ADD(1, 1)", "DOUBLE", "2.0");
}

static void test_load_dir(void)
{
    mp_error e = {0};
    CHECK(mp_udf_load_dir(g_fns, "/nonexistent/ext", &e) == MP_ENOTFOUND);
    CHECK_STR_CONTAINS(e.msg, "extension directory '/nonexistent/ext': No such file or directory");
    /* a directory without libraries is fine; other files are ignored */
    char dir[] = "/tmp/mp-udf-test.XXXXXX";
    REQUIRE(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/readme.txt", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f);
    fputs("not a library\n", f);
    fclose(f);
    CHECK(mp_udf_load_dir(g_fns, path, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "Not a directory");
    char sub[256];
    snprintf(sub, sizeof sub, "%s/dir.so", dir); /* a directory named like a library */
    CHECK(mkdir(sub, 0700) == 0);
    CHECK(mp_udf_load_dir(g_fns, dir, &e) == 0);
    /* a file that is not a shared object */
    char junk[256];
    snprintf(junk, sizeof junk, "%s/junk.so", dir);
    f = fopen(junk, "w");
    REQUIRE(f);
    fputs("garbage\n", f);
    fclose(f);
    CHECK(mp_udf_load_dir(g_fns, dir, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "/junk.so: cannot load: ");
    unlink(junk);
    unlink(path);
    rmdir(sub);
    rmdir(dir);
}

int main(void)
{
    if (setup())
        return 1;
    RUN(test_reverse_example);
    RUN(test_describe);
    RUN(test_widening_and_refusals);
    RUN(test_null_handling);
    RUN(test_variadic);
    RUN(test_runtime_errors);
    RUN(test_aggregates);
    RUN(test_registration_errors);
    RUN(test_table_functions);
    RUN(test_clashes);
    RUN(test_load_dir);
    teardown();
    return TEST_SUMMARY();
}
