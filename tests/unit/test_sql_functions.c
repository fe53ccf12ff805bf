/* The function registry and the built-in functions: results checked
 * against ksqlDB's documentation examples and hand computation, NULL
 * handling, edge cases, bind refusals, aggregates folded (and merged)
 * over sequences with NULLs, and the table function. Every result is also
 * checked against the type bind promised (mp_value_check). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <pthread.h>

#include "core/clock.h"
#include "data/arena.h"
#include "data/sql_type.h"
#include "data/sql_value.h"
#include "sql/sql_func.h"
#include "test.h"

static mp_arena A;
static mp_fn_registry *R;
static mp_error E;

/* What the last call produced. */
static char OUT[4096]; /* the result as mp_value_format prints it */
static char RET[256];  /* the bound result type */
static mp_value OUTV;  /* the result itself (scalars only are safe to read) */
static int BIND_RC;    /* the bind's return code */

/* ---- building values ---- */

static mp_value S(const char *s)
{
    return mp_v_string_ref(s, strlen(s));
}
static mp_value Y(const void *b, size_t n)
{
    mp_value v = mp_v_string_ref((const char *)b, n);
    v.kind = MP_TYPE_BYTES;
    return v;
}
static mp_value I(int32_t x)
{
    return mp_v_int(x);
}
static mp_value L(int64_t x)
{
    return mp_v_bigint(x);
}
static mp_value D(double x)
{
    return mp_v_double(x);
}
static mp_value B(bool x)
{
    return mp_v_bool(x);
}
static mp_value NUL(mp_type_kind k)
{
    return mp_v_null(k);
}
static mp_value DEC(const char *text, int p, int s)
{
    mp_decimal d;
    if (mp_decimal_parse(text, strlen(text), p, s, MP_ROUND_UNNECESSARY, &d, NULL)) {
        fprintf(stderr, "bad decimal literal %s\n", text);
        abort();
    }
    return mp_v_decimal(&d);
}
static mp_value ARR(int n, ...)
{
    mp_value a;
    if (mp_v_array(&A, (size_t)n, NULL, &a))
        abort();
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        a.u.items[i] = va_arg(ap, mp_value);
    va_end(ap);
    return a;
}
static mp_value MAPV(int npairs, ...)
{
    mp_value m;
    if (mp_v_map(&A, (size_t)npairs, NULL, NULL, &m))
        abort();
    va_list ap;
    va_start(ap, npairs);
    for (int i = 0; i < 2 * npairs; i++)
        m.u.items[i] = va_arg(ap, mp_value);
    va_end(ap);
    return m;
}

/* ---- types of arguments ---- */

static mp_type *infer(const mp_value *v)
{
    switch (v->kind) {
    case MP_TYPE_DECIMAL: {
        mp_type *t = NULL;
        mp_type_new_decimal(v->precision, v->scale, &t, NULL);
        return t;
    }
    case MP_TYPE_ARRAY: {
        const mp_value *el = NULL;
        for (uint32_t i = 0; !v->null && i < v->len && !el; i++)
            if (v->u.items[i].kind != MP_TYPE_NULL)
                el = &v->u.items[i];
        return mp_type_new_array(el ? infer(el) : mp_type_new(MP_TYPE_INTEGER));
    }
    case MP_TYPE_MAP:
        if (!v->null && v->len)
            return mp_type_new_map(infer(&v->u.items[0]), infer(&v->u.items[1]));
        return mp_type_new_map(mp_type_new(MP_TYPE_STRING), mp_type_new(MP_TYPE_INTEGER));
    case MP_TYPE_STRUCT: return mp_type_clone(v->u.st.type);
    default: return mp_type_new((mp_type_kind)v->kind);
    }
}

/* Types from "T1;T2;..." (NULL: inferred from the values; "NULL" is the
 * type of a NULL literal). */
static int arg_types(const char *types, size_t n, const mp_value *args, mp_type **ts)
{
    const char *p = types;
    for (size_t i = 0; i < n; i++) {
        if (!types) {
            ts[i] = infer(&args[i]);
        } else {
            const char *semi = strchr(p, ';');
            size_t len = semi ? (size_t)(semi - p) : strlen(p);
            char buf[128];
            snprintf(buf, sizeof buf, "%.*s", (int)len, p);
            if (strcmp(buf, "NULL") == 0)
                ts[i] = mp_type_new(MP_TYPE_NULL);
            else if (mp_type_parse(buf, &ts[i], NULL))
                ts[i] = NULL;
            p = semi ? semi + 1 : p + len;
        }
        if (!ts[i])
            return -1;
    }
    return 0;
}

static void free_types(mp_type **ts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mp_type_free(ts[i]);
}

/* ---- calling a scalar function as the engine would ---- */

static int call(const char *name, const char *types, size_t n, const mp_value *args)
{
    mp_type *ts[16] = {0};
    const mp_type *cts[16];
    const mp_value *lits[16];
    OUT[0] = RET[0] = '\0';
    OUTV = mp_v_null(MP_TYPE_NULL);
    mp_error_clear(&E);
    BIND_RC = 0;
    if (n > 16 || arg_types(types, n, args, ts)) {
        free_types(ts, n);
        fprintf(stderr, "test bug: bad types for %s\n", name);
        return BIND_RC = -100;
    }
    for (size_t i = 0; i < n; i++) {
        cts[i] = ts[i];
        lits[i] = &args[i];
    }
    const mp_fn_def *d = mp_fn_lookup(R, name);
    if (!d || d->kind != MP_FN_SCALAR) {
        free_types(ts, n);
        fprintf(stderr, "no scalar function %s\n", name);
        return BIND_RC = -101;
    }
    mp_scalar_impl impl = {0};
    int rc = d->scalar(cts, lits, n, &impl, &E);
    free_types(ts, n);
    if (rc)
        return BIND_RC = rc;
    mp_buf tb = {0};
    mp_type_print(impl.ret, &tb);
    snprintf(RET, sizeof RET, "%s", tb.data ? tb.data : "");
    mp_buf_free(&tb);
    bool any_null = false;
    for (size_t i = 0; i < n; i++)
        any_null = any_null || args[i].null;
    mp_fn_ctx cx = {&A, &E};
    mp_value out;
    if (impl.null_in_null_out && any_null) {
        out = mp_v_null_of(impl.ret);
    } else {
        rc = impl.fn(&cx, args, n, &out, impl.data);
    }
    if (!rc) {
        mp_error ce;
        if (mp_value_check(&out, impl.ret, &ce)) {
            fprintf(stderr, "%s: result does not match its type %s: %s\n", name, RET, ce.msg);
            mp_test_failed_checks++;
        }
        mp_buf ob = {0};
        mp_value_format(&out, &ob);
        snprintf(OUT, sizeof OUT, "%s", ob.data ? ob.data : "");
        mp_buf_free(&ob);
        OUTV = out;
    }
    mp_type_free(impl.ret);
    return rc;
}

#define ARGS(...) ((mp_value[]){__VA_ARGS__})
#define NARGS(...) (sizeof((mp_value[]){__VA_ARGS__}) / sizeof(mp_value))

/* EXPECT(name, types, "expected text", args...) */
#define EXPECT(name, types, expect, ...)                                                           \
    do {                                                                                           \
        int rc_ = call(name, types, NARGS(__VA_ARGS__), ARGS(__VA_ARGS__));                        \
        if (rc_) {                                                                                 \
            fprintf(stderr, "%s:%d: %s failed (%d): %s\n", __FILE__, __LINE__, name, rc_, E.msg);  \
            mp_test_failed_checks++;                                                               \
        } else if (strcmp(OUT, expect) != 0) {                                                     \
            fprintf(stderr, "%s:%d: %s gave \"%s\", expected \"%s\"\n", __FILE__, __LINE__, name,  \
                    OUT, expect);                                                                  \
            mp_test_failed_checks++;                                                               \
        }                                                                                          \
    } while (0)

/* The same plus the result type. */
#define EXPECT_T(name, types, expect, rettype, ...)                                                \
    do {                                                                                           \
        EXPECT(name, types, expect, __VA_ARGS__);                                                  \
        if (strcmp(RET, rettype) != 0) {                                                           \
            fprintf(stderr, "%s:%d: %s typed %s, expected %s\n", __FILE__, __LINE__, name, RET,    \
                    rettype);                                                                      \
            mp_test_failed_checks++;                                                               \
        }                                                                                          \
    } while (0)

/* A run-time error whose message holds msg. */
#define EXPECT_ERR(name, types, want, ...)                                                         \
    do {                                                                                           \
        int rc_ = call(name, types, NARGS(__VA_ARGS__), ARGS(__VA_ARGS__));                        \
        if (rc_ >= 0 || BIND_RC) {                                                                 \
            fprintf(stderr, "%s:%d: %s should fail at run time (rc %d, bind %d, out %s)\n",        \
                    __FILE__, __LINE__, name, rc_, BIND_RC, OUT);                                  \
            mp_test_failed_checks++;                                                               \
        } else {                                                                                   \
            CHECK_STR_CONTAINS(E.msg, want);                                                       \
        }                                                                                          \
    } while (0)

/* A bind refusal whose message holds msg. */
#define EXPECT_BIND_ERR(name, types, want, ...)                                                    \
    do {                                                                                           \
        int rc_ = call(name, types, NARGS(__VA_ARGS__), ARGS(__VA_ARGS__));                        \
        if (BIND_RC != MP_EINVAL) {                                                                \
            fprintf(stderr, "%s:%d: %s should be refused at bind (rc %d, bind %d)\n", __FILE__,    \
                    __LINE__, name, rc_, BIND_RC);                                                 \
            mp_test_failed_checks++;                                                               \
        } else {                                                                                   \
            CHECK_STR_CONTAINS(E.msg, want);                                                       \
        }                                                                                          \
    } while (0)

#define EXPECT_NEAR(name, types, value, tol, ...)                                                  \
    do {                                                                                           \
        int rc_ = call(name, types, NARGS(__VA_ARGS__), ARGS(__VA_ARGS__));                        \
        CHECK(rc_ == 0);                                                                           \
        CHECK(OUTV.kind == MP_TYPE_DOUBLE && !OUTV.null);                                          \
        CHECK_NEAR(OUTV.u.f64, value, tol);                                                        \
    } while (0)

/* ---- the registry ---- */

static int good_bind(const mp_type *const *args, const mp_value *const *lits, size_t n,
                     mp_scalar_impl *out, mp_error *e)
{
    return mp_error_set(e, MP_EINVAL, "never binds");
}

static void test_registry(void)
{
    CHECK(mp_fn_lookup(R, "SUBSTRING") != NULL);
    CHECK(mp_fn_lookup(R, "substring") == mp_fn_lookup(R, "SubString"));
    CHECK(mp_fn_lookup(R, "no_such_function") == NULL);
    CHECK(mp_fn_lookup(R, "") == NULL);
    CHECK(mp_fn_lookup(R, "REVERSE") == NULL); /* written separately as the UDF example */
    const mp_fn_def *c = mp_fn_lookup(R, "count");
    REQUIRE(c != NULL);
    CHECK(c->kind == MP_FN_AGGREGATE);
    CHECK(mp_fn_lookup(R, "explode")->kind == MP_FN_TABLE);

    size_t n = 0, scalars = 0, aggs = 0, tables = 0;
    const mp_fn_def **all = mp_fn_list(R, &n);
    REQUIRE(all != NULL);
    for (size_t i = 0; i < n; i++) {
        const mp_fn_def *d = all[i];
        if (i)
            CHECK(strcasecmp(all[i - 1]->name, d->name) < 0);
        scalars += d->kind == MP_FN_SCALAR;
        aggs += d->kind == MP_FN_AGGREGATE;
        tables += d->kind == MP_FN_TABLE;
        /* every function documents itself for DESCRIBE FUNCTION */
        CHECK(d->description && d->description[0]);
        CHECK(d->category && d->category[0]);
        CHECK(d->ndocs >= 1 && d->docs);
        for (size_t k = 0; k < d->ndocs; k++)
            CHECK(d->docs[k].args && d->docs[k].args[0] == '(' && d->docs[k].ret &&
                  d->docs[k].description && d->docs[k].description[0]);
        CHECK(d->author == NULL);
        for (const char *p = d->name; *p; p++)
            CHECK((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_');
    }
    free(all);
    printf("registry: %zu functions (%zu scalar, %zu aggregate, %zu table)\n", n, scalars, aggs,
           tables);
    CHECK(scalars >= 60);
    CHECK(aggs >= 14);
    CHECK(tables == 1);

    /* registering */
    mp_fn_registry *r;
    REQUIRE(mp_fn_registry_new(&r, &E) == 0);
    static const mp_fn_doc docs[] = {{"()", "STRING", "A test."}};
    static const mp_fn_def mine = {"MY_UDF", MP_FN_SCALAR, "OTHER",   "Mine.", docs, 1,
                                   "me",     "1.0",        good_bind, NULL,    NULL};
    static const mp_fn_def dup = {"Concat", MP_FN_SCALAR, "OTHER",   "Mine.", docs, 1,
                                  "me",     "1.0",        good_bind, NULL,    NULL};
    static const mp_fn_def bad_name = {"MY-UDF", MP_FN_SCALAR, "OTHER",   "x",  docs, 1,
                                       NULL,     NULL,         good_bind, NULL, NULL};
    static const mp_fn_def no_bind = {"MY_AGG", MP_FN_AGGREGATE, "OTHER", "x", docs, 1, NULL,
                                      NULL,     good_bind,       NULL,    NULL};
    size_t before, after;
    free(mp_fn_list(r, &before));
    CHECK(mp_fn_register(r, &mine, 0, &E) == 0);
    CHECK(mp_fn_lookup(r, "my_udf") == &mine);
    CHECK(mp_fn_register(r, &mine, 0, &E) == MP_EEXIST);
    CHECK(mp_fn_register(r, &dup, 0, &E) == MP_EEXIST);
    CHECK_STR_CONTAINS(E.msg, "already exists");
    CHECK(mp_fn_register(r, &dup, 1, &E) == 0);
    CHECK(mp_fn_lookup(r, "CONCAT") == &dup);
    CHECK(mp_fn_register(r, &bad_name, 0, &E) == MP_EINVAL);
    CHECK_STR_CONTAINS(E.msg, "MY-UDF");
    CHECK(mp_fn_register(r, &no_bind, 0, &E) == MP_EINVAL);
    CHECK(mp_fn_register(r, NULL, 0, &E) == MP_EINVAL);
    const mp_fn_def **l2 = mp_fn_list(r, &after);
    CHECK(after == before + 1);
    free(l2);
    mp_fn_registry_free(r);
    mp_fn_registry_free(NULL);
    /* the shared registry is untouched */
    CHECK(mp_fn_lookup(R, "CONCAT") != &dup);
}

/* ---- binding ---- */

static void test_bind_errors(void)
{
    EXPECT_BIND_ERR("SUBSTRING", NULL,
                    "Function 'SUBSTRING' does not accept parameters (BOOLEAN, INTEGER)", B(true),
                    I(1));
    CHECK_STR_CONTAINS(E.msg, "SUBSTRING(STRING, INTEGER, INTEGER)");
    EXPECT_BIND_ERR("SUBSTRING", NULL, "(STRING)", S("x"));
    EXPECT_BIND_ERR("SUBSTRING", NULL, "(STRING, INTEGER, INTEGER, INTEGER)", S("x"), I(1), I(1),
                    I(1));
    /* BIGINT does not narrow to INTEGER */
    EXPECT_BIND_ERR("SUBSTRING", NULL, "(STRING, BIGINT)", S("x"), L(1));
    EXPECT_BIND_ERR("ABS", NULL, "Function 'ABS' does not accept parameters (STRING)", S("x"));
    EXPECT_BIND_ERR("LEN", NULL, "(INTEGER)", I(3));
    EXPECT_BIND_ERR("CONCAT", NULL, "(STRING, INTEGER)", S("a"), I(1));
    EXPECT_BIND_ERR("CONCAT", NULL, "(STRING, BYTES)", S("a"), Y("b", 1));
    EXPECT_BIND_ERR("GREATEST", NULL, "incompatible", I(1), S("a"));
    EXPECT_BIND_ERR("GREATEST", NULL, "(BOOLEAN, BOOLEAN)", B(true), B(false));
    EXPECT_BIND_ERR("COALESCE", NULL, "incompatible", I(1), S("a"));
    EXPECT_BIND_ERR("COALESCE", "NULL;NULL", "every argument is NULL", NUL(0), NUL(0));
    EXPECT_BIND_ERR("ARRAY_LENGTH", NULL, "ARRAY_LENGTH(ARRAY<T>)", S("abc"));
    EXPECT_BIND_ERR("ARRAY_CONTAINS", NULL, "(ARRAY<INTEGER>, STRING)", ARR(1, I(1)), S("a"));
    EXPECT_BIND_ERR("ARRAY_JOIN", "ARRAY<ARRAY<INTEGER>>", "ARRAY_JOIN", ARR(0));
    EXPECT_BIND_ERR("MAP_KEYS", NULL, "MAP_KEYS(MAP<K, V>)", ARR(0));
    EXPECT_BIND_ERR("DATEADD", NULL, "(STRING, INTEGER, TIMESTAMP)", S("DAYS"), I(1),
                    mp_v_timestamp(0));
    EXPECT_BIND_ERR("ENCODE", NULL, "(STRING, STRING)", S("a"), S("hex"));
    EXPECT_BIND_ERR("TO_JSON_STRING", NULL, "(STRING, STRING)", S("a"), S("b"));
    EXPECT_BIND_ERR("UUID", NULL, "(INTEGER)", I(1));

    /* widening picks the narrowest variant */
    EXPECT_T("ABS", NULL, "5", "INTEGER", I(-5));
    EXPECT_T("ABS", NULL, "5", "BIGINT", L(-5));
    EXPECT_T("SQRT", NULL, "4.0", "DOUBLE", I(16));
    EXPECT_T("SQRT", NULL, "1.5", "DOUBLE", DEC("2.25", 3, 2));
    /* a NULL literal binds and gives NULL */
    EXPECT_T("LEN", "NULL", "null", "INTEGER", NUL(0));
    EXPECT_T("ABS", "NULL", "null", "INTEGER", NUL(0));
}

/* ---- numbers ---- */

static void test_math(void)
{
    EXPECT_T("ABS", NULL, "-2147483648", "INTEGER", I(INT32_MIN)); /* wraps as Java */
    EXPECT("ABS", NULL, "2.5", D(-2.5));
    EXPECT_T("ABS", NULL, "1.50", "DECIMAL(3, 2)", DEC("-1.50", 3, 2));
    EXPECT("ABS", "INTEGER", "null", NUL(MP_TYPE_INTEGER));

    EXPECT_T("CEIL", NULL, "2.0", "DOUBLE", D(1.2));
    EXPECT("CEIL", NULL, "-1.0", D(-1.5));
    EXPECT_T("CEIL", NULL, "7", "INTEGER", I(7));
    EXPECT_T("CEIL", NULL, "2.00", "DECIMAL(4, 2)", DEC("1.21", 3, 2));
    EXPECT_T("CEIL", NULL, "10.00", "DECIMAL(4, 2)", DEC("9.99", 3, 2));
    EXPECT("CEIL", NULL, "-1.00", DEC("-1.99", 3, 2));
    EXPECT_T("FLOOR", NULL, "-2.0", "DOUBLE", D(-1.5));
    EXPECT("FLOOR", NULL, "-2.00", DEC("-1.21", 3, 2));
    EXPECT("FLOOR", NULL, "1.00", DEC("1.99", 3, 2));
    EXPECT_T("FLOOR", NULL, "12", "BIGINT", L(12));

    /* ROUND: halves toward +infinity (Java's Math.round) */
    EXPECT_T("ROUND", NULL, "2", "BIGINT", D(1.5));
    EXPECT("ROUND", NULL, "-1", D(-1.5));
    EXPECT("ROUND", NULL, "-2", D(-1.6));
    EXPECT("ROUND", NULL, "3", D(2.5));
    EXPECT("ROUND", NULL, "0", D(0.49999999999999994));
    EXPECT("ROUND", NULL, "0", D(NAN));
    EXPECT("ROUND", NULL, "9223372036854775807", D(1e30));
    EXPECT_T("ROUND", NULL, "5", "BIGINT", I(5));
    /* with places: through the shortest decimal form, as BigDecimal.valueOf */
    EXPECT_T("ROUND", NULL, "1.01", "DOUBLE", D(1.005), I(2));
    EXPECT("ROUND", NULL, "120.0", D(123.456), I(-1));
    EXPECT("ROUND", NULL, "123.46", D(123.456), I(2));
    EXPECT("ROUND", NULL, "0.0", D(-0.5), I(0));
    EXPECT("ROUND", NULL, "-1.0", D(-0.51), I(0));
    EXPECT("ROUND", NULL, "1000.0", D(999.5), I(0));
    EXPECT("ROUND", NULL, "1.0E10", D(1e10), I(-3));
    EXPECT("ROUND", NULL, "0.0", D(0.0004), I(2));
    EXPECT("ROUND", NULL, "0.001", D(0.0005), I(3));
    EXPECT_ERR("ROUND", NULL, "NaN", D(NAN), I(2));
    EXPECT("ROUND", "DOUBLE;INTEGER", "null", D(1.5), NUL(MP_TYPE_INTEGER));
    EXPECT_T("ROUND", NULL, "10", "DECIMAL(2, 0)", DEC("9.5", 2, 1));
    EXPECT("ROUND", NULL, "-2", DEC("-2.5", 2, 1));
    EXPECT("ROUND", NULL, "-3", DEC("-2.51", 3, 2));
    EXPECT_T("ROUND", NULL, "1.30", "DECIMAL(4, 2)", DEC("1.25", 3, 2), I(1));
    EXPECT("ROUND", NULL, "-1.20", DEC("-1.25", 3, 2), I(1));
    EXPECT("ROUND", NULL, "100", DEC("99", 2, 0), I(-1));
    EXPECT("ROUND", NULL, "0", DEC("99", 2, 0), I(-5));
    EXPECT_T("ROUND", NULL, "120", "DECIMAL(11, 0)", I(123), I(-1));
    EXPECT("ROUND", NULL, "0.00", DEC("1.25", 3, 2), I(INT32_MIN));
    EXPECT("ROUND", NULL, "1.25", DEC("1.25", 3, 2), I(INT32_MAX));
    EXPECT("ROUND", NULL, "0.0", D(1.25), I(INT32_MIN));

    EXPECT_T("TRUNC", NULL, "1", "BIGINT", D(1.9));
    EXPECT("TRUNC", NULL, "-1", D(-1.9));
    EXPECT_T("TRUNC", NULL, "1.23", "DOUBLE", D(1.239), I(2));
    EXPECT("TRUNC", NULL, "-1.23", D(-1.239), I(2));
    EXPECT_T("TRUNC", NULL, "1", "DECIMAL(1, 0)", DEC("1.99", 3, 2));
    EXPECT_T("TRUNC", NULL, "1.90", "DECIMAL(3, 2)", DEC("1.99", 3, 2), I(1));

    EXPECT_T("SIGN", NULL, "-1", "INTEGER", I(-3));
    EXPECT("SIGN", NULL, "1", L(7));
    EXPECT("SIGN", NULL, "0", D(0.0));
    EXPECT("SIGN", NULL, "0", D(NAN));
    EXPECT("SIGN", NULL, "-1", DEC("-0.01", 3, 2));

    EXPECT("SQRT", NULL, "NaN", D(-1));
    EXPECT("EXP", NULL, "1.0", I(0));
    EXPECT_NEAR("LN", NULL, 1.0, 1e-15, D(M_E));
    EXPECT("LN", NULL, "-Infinity", D(0));
    EXPECT("LOG", NULL, "2.0", I(100)); /* base 10, as documented */
    EXPECT_NEAR("LOG", NULL, 3.0, 1e-15, I(2), I(8));
    EXPECT("LOG", NULL, "NaN", I(1), I(5));
    EXPECT("LOG", NULL, "NaN", I(-2), I(5));
    EXPECT("LOG", NULL, "-Infinity", I(2), I(0));
    EXPECT_T("POWER", NULL, "1024.0", "DOUBLE", I(2), I(10));
    EXPECT_NEAR("POWER", NULL, sqrt(2.0), 1e-15, I(2), D(0.5));
    EXPECT("POWER", NULL, "Infinity", D(10), D(400));
    EXPECT_NEAR("CBRT", NULL, 3.0, 1e-15, I(27));
    EXPECT_NEAR("SIN", NULL, 1.0, 1e-15, D(M_PI / 2));
    EXPECT_NEAR("COS", NULL, -1.0, 1e-15, D(M_PI));
    EXPECT_NEAR("TAN", NULL, 1.0, 1e-15, D(M_PI / 4));
    EXPECT_NEAR("COT", NULL, 1.0, 1e-15, D(M_PI / 4));
    EXPECT("ASIN", NULL, "NaN", D(2));
    EXPECT_NEAR("ACOS", NULL, M_PI, 1e-15, D(-1));
    EXPECT_NEAR("ATAN", NULL, M_PI / 4, 1e-15, D(1));
    EXPECT_NEAR("ATAN2", NULL, M_PI / 4, 1e-15, D(1), D(1));
    EXPECT_NEAR("ATAN2", NULL, M_PI, 1e-15, D(0), D(-1));
    EXPECT_NEAR("SINH", NULL, 0.0, 1e-15, D(0));
    EXPECT_NEAR("COSH", NULL, 1.0, 1e-15, D(0));
    EXPECT_NEAR("TANH", NULL, 0.7615941559557649, 1e-15, D(1));
    EXPECT_NEAR("DEGREES", NULL, 180.0, 1e-12, D(M_PI));
    EXPECT_NEAR("RADIANS", NULL, M_PI, 1e-15, I(180));
    REQUIRE(call("PI", NULL, 0, NULL) == 0);
    CHECK_NEAR(OUTV.u.f64, M_PI, 0);

    double seen[4];
    for (int i = 0; i < 4; i++) {
        REQUIRE(call("RANDOM", NULL, 0, NULL) == 0);
        CHECK(OUTV.kind == MP_TYPE_DOUBLE && OUTV.u.f64 >= 0 && OUTV.u.f64 < 1);
        seen[i] = OUTV.u.f64;
    }
    CHECK(!(seen[0] == seen[1] && seen[1] == seen[2] && seen[2] == seen[3]));

    /* GREATEST / LEAST: NULLs skipped, mixed numbers widen to their common type */
    EXPECT_T("GREATEST", NULL, "5.0", "DOUBLE", I(1), L(5), D(2.5));
    EXPECT_T("GREATEST", NULL, "3", "BIGINT", I(3), L(2));
    EXPECT_T("GREATEST", NULL, "3.0", "DECIMAL(11, 1)", I(3), DEC("2.5", 2, 1));
    EXPECT_T("LEAST", NULL, "2.5", "DECIMAL(11, 1)", I(3), DEC("2.5", 2, 1), NUL(MP_TYPE_INTEGER));
    EXPECT("GREATEST", NULL, "baz", S("Foo"), S("baz"), S("Bar"));
    EXPECT("LEAST", NULL, "Bar", S("Foo"), S("baz"), S("Bar"));
    EXPECT_T("LEAST", "INTEGER;NULL", "null", "INTEGER", NUL(MP_TYPE_INTEGER), NUL(0));
    EXPECT("GREATEST", NULL, "NaN", D(1), D(NAN)); /* NaN above every number, as Java */
    EXPECT("GREATEST", NULL, "7", I(7));

    /* one degree of longitude on the equator: 2 pi R / 360 */
    EXPECT_NEAR("GEO_DISTANCE", NULL, 111.19492664455873, 1e-9, D(0), D(0), D(0), D(1));
    EXPECT_NEAR("GEO_DISTANCE", NULL, 69.09758508645551, 1e-9, D(0), D(0), D(0), D(1), S("miles"));
    EXPECT_ERR("GEO_DISTANCE", NULL, "unknown unit", D(0), D(0), D(0), D(1), S("parsecs"));
    EXPECT_ERR("GEO_DISTANCE", NULL, "latitude", D(91), D(0), D(0), D(1));
}

/* ---- strings ---- */

static void test_string_basic(void)
{
    EXPECT_T("LEN", NULL, "5", "INTEGER", S("hello"));
    EXPECT("LEN", NULL, "0", S(""));
    EXPECT("LEN", NULL, "5", S("h\xc3\xa9llo"));
    EXPECT("LEN", NULL, "2", S("\xf0\x9f\x98\x80")); /* one astral character: 2 UTF-16 units */
    EXPECT("LEN", NULL, "3", Y("\0\1\2", 3));
    EXPECT("LEN", "STRING", "null", NUL(MP_TYPE_STRING));

    EXPECT("LCASE", NULL, "hello w\xc3\xb6rld", S("HeLLo W\xc3\x96RLD"));
    EXPECT("UCASE", NULL, "\xc3\x89T\xc3\x89 123", S("\xc3\xa9t\xc3\xa9 123"));
    EXPECT("UCASE", NULL, "", S(""));

    EXPECT_T("CONCAT", NULL, "ab", "STRING", S("a"), NUL(MP_TYPE_STRING), S("b"));
    EXPECT("CONCAT", "STRING", "", NUL(MP_TYPE_STRING));
    EXPECT("CONCAT", NULL, "x", S("x"));
    EXPECT_T("CONCAT", NULL, "AQID", "BYTES", Y("\1", 1), Y("\2\3", 2));
    EXPECT("CONCAT_WS", NULL, "apple, banana, date", S(", "), S("apple"), S("banana"),
           NUL(MP_TYPE_STRING), S("date"));
    EXPECT("CONCAT_WS", "STRING;STRING", "null", NUL(MP_TYPE_STRING), S("a"));
    EXPECT("CONCAT_WS", NULL, "", S("-"), NUL(MP_TYPE_STRING));
    EXPECT_T("CONCAT_WS", NULL, "AQAC", "BYTES", Y("\0", 1), Y("\1", 1), Y("\2", 1));

    /* SUBSTRING: 1-based, negative from the end, clamped */
    EXPECT("SUBSTRING", NULL, "stre", S("stream"), I(1), I(4));
    EXPECT("SUBSTRING", NULL, "ream", S("stream"), I(3));
    EXPECT("SUBSTRING", NULL, "eam", S("stream"), I(-3));
    EXPECT("SUBSTRING", NULL, "ea", S("stream"), I(-3), I(2));
    EXPECT("SUBSTRING", NULL, "stream", S("stream"), I(0));
    EXPECT("SUBSTRING", NULL, "stream", S("stream"), I(-100));
    EXPECT("SUBSTRING", NULL, "", S("stream"), I(10));
    EXPECT("SUBSTRING", NULL, "", S("stream"), I(2), I(-1));
    EXPECT("SUBSTRING", NULL, "", S("stream"), I(2), I(0));
    EXPECT("SUBSTRING", NULL, "tream", S("stream"), I(2), I(INT32_MAX));
    EXPECT("SUBSTRING", NULL, "", S(""), I(1), I(3));
    EXPECT("SUBSTRING", NULL, "\xc3\xa9l", S("h\xc3\xa9llo"), I(2), I(2));
    EXPECT("SUBSTRING", NULL, "\xf0\x9f\x98\x80",
           S("a\xf0\x9f\x98\x80"
             "b"),
           I(2), I(2));
    EXPECT("SUBSTRING", NULL, "?",
           S("a\xf0\x9f\x98\x80"
             "b"),
           I(2), I(1)); /* half a pair */
    EXPECT("SUBSTRING", NULL, "b",
           S("a\xf0\x9f\x98\x80"
             "b"),
           I(-1));
    EXPECT("SUBSTRING", "STRING;INTEGER", "null", S("abc"), NUL(MP_TYPE_INTEGER));
    EXPECT_T("SUBSTRING", NULL, "AgM=", "BYTES", Y("\1\2\3\4", 4), I(2), I(2));
    EXPECT("SUBSTRING", NULL, "BA==", Y("\1\2\3\4", 4), I(-1));

    EXPECT("TRIM", NULL, "a b", S("  a b \t\n"));
    EXPECT("TRIM", NULL, "", S("   "));
    EXPECT("LTRIM", NULL, "a b \t", S(" \ta b \t"));
    EXPECT("RTRIM", NULL, " \ta b", S(" \ta b \t"));

    /* LPAD / RPAD: the documented examples */
    EXPECT("LPAD", NULL, "BarBFoo", S("Foo"), I(7), S("Bar"));
    EXPECT("LPAD", NULL, "Fo", S("Foo"), I(2), S("Bar"));
    EXPECT("LPAD", NULL, "Ba", S(""), I(2), S("Bar"));
    EXPECT("LPAD", NULL, "00123", S("123"), I(5), S("0"));
    EXPECT("RPAD", NULL, "FooBarB", S("Foo"), I(7), S("Bar"));
    EXPECT("RPAD", NULL, "Fo", S("Foo"), I(2), S("Bar"));
    EXPECT("RPAD", NULL, "Ba", S(""), I(2), S("Bar"));
    EXPECT("LPAD", NULL, "null", S("x"), I(-1), S("a"));
    EXPECT("LPAD", NULL, "null", S("x"), I(3), S(""));
    EXPECT("RPAD", "STRING;INTEGER;STRING", "null", S("x"), I(3), NUL(MP_TYPE_STRING));
    EXPECT("LPAD", NULL, "", S("abc"), I(0), S("x"));
    EXPECT("LPAD", NULL, "\xc3\xa9\xc3\xa9x", S("x"), I(3), S("\xc3\xa9"));
    EXPECT_T("LPAD", NULL, "AQIJ", "BYTES", Y("\x09", 1), I(3), Y("\1\2", 2));
    EXPECT("RPAD", NULL, "CQEC", Y("\x09", 1), I(3), Y("\1\2", 2));
    EXPECT_ERR("LPAD", NULL, "too large", S("x"), I(INT32_MAX), S("y"));

    EXPECT("REPLACE", NULL, "aXYcaXYc", S("abcabc"), S("b"), S("XY"));
    EXPECT("REPLACE", NULL, "-a-b-c-", S("abc"), S(""), S("-"));
    EXPECT("REPLACE", NULL, "ac", S("abc"), S("b"), S(""));
    EXPECT("REPLACE", NULL, "aa", S("aaaa"), S("aa"), S("a"));

    EXPECT("INITCAP", NULL, "Hello World  X", S("  hello wORLD  x"));
    EXPECT("INITCAP", NULL,
           "\xc3\x89"
           "cole Normale",
           S("\xc3\xa9"
             "COLE normale"));
    EXPECT("INITCAP", NULL, "", S(" \t "));
}

static void test_string_search(void)
{
    /* the documented INSTR examples */
    EXPECT_T("INSTR", NULL, "2", "INTEGER", S("CORPORATE FLOOR"), S("OR"));
    EXPECT("INSTR", NULL, "5", S("CORPORATE FLOOR"), S("OR"), I(3));
    EXPECT("INSTR", NULL, "14", S("CORPORATE FLOOR"), S("OR"), I(3), I(2));
    EXPECT("INSTR", NULL, "5", S("CORPORATE FLOOR"), S("OR"), I(-3));
    EXPECT("INSTR", NULL, "2", S("CORPORATE FLOOR"), S("OR"), I(-3), I(2));
    EXPECT("INSTR", NULL, "0", S("CORPORATE FLOOR"), S("MISSING"));
    EXPECT("INSTR", NULL, "0", S("CORPORATE FLOOR"), S("OR"), I(100));
    EXPECT("INSTR", NULL, "0", S("CORPORATE FLOOR"), S("OR"), I(1), I(0));
    EXPECT("INSTR", NULL, "2", S("aaa"), S("aa"), I(1), I(2)); /* overlapping occurrences */
    EXPECT("INSTR", "STRING;STRING", "0", NUL(MP_TYPE_STRING), S("a"));
    EXPECT("INSTR", NULL, "3", S("\xf0\x9f\x98\x80x"), S("x"));

    EXPECT("SPLIT", NULL, "[\"a\",\"b\",\"\",\"c\"]", S("a,b,,c"), S(","));
    EXPECT_T("SPLIT", NULL, "[\"\",\"a\",\"\"]", "ARRAY<STRING>", S(",a,"), S(","));
    EXPECT("SPLIT", NULL, "[\"a\",\"\xc3\xa9\",\"c\"]",
           S("a\xc3\xa9"
             "c"),
           S(""));
    EXPECT("SPLIT", NULL, "[\"\"]", S(""), S(","));
    EXPECT("SPLIT", NULL, "[\"abc\"]", S("abc"), S("x"));
    EXPECT("SPLIT", NULL, "[\"a\",\"b\"]", S("a::b"), S("::"));
    EXPECT_T("SPLIT", NULL, "[\"AQ==\",\"Aw==\"]", "ARRAY<BYTES>", Y("\1\2\3", 3), Y("\2", 1));
    EXPECT("SPLIT", "STRING;STRING", "null", S("a"), NUL(MP_TYPE_STRING));

    EXPECT_T("SPLIT_TO_MAP", NULL, "{\"apple\":\"green\",\"cherry\":\"red\"}",
             "MAP<STRING, STRING>", S("apple:=green/cherry:=red"), S("/"), S(":="));
    EXPECT("SPLIT_TO_MAP", NULL, "{\"a\":\"3\",\"b\":\"2\"}", S("a=1;b=2;;a=3;junk"), S(";"),
           S("="));
    EXPECT("SPLIT_TO_MAP", NULL, "null", S("a=1"), S(""), S("="));
    EXPECT("SPLIT_TO_MAP", NULL, "null", S("a=1"), S("="), S("="));
    EXPECT("SPLIT_TO_MAP", NULL, "{}", S(""), S(";"), S("="));

    EXPECT("ELT", NULL, "b", I(2), S("a"), S("b"), S("c"));
    EXPECT("ELT", NULL, "null", I(0), S("a"), S("b"));
    EXPECT("ELT", NULL, "null", I(3), S("a"), S("b"));
    EXPECT("ELT", "INTEGER;STRING", "null", NUL(MP_TYPE_INTEGER), S("a"));
    EXPECT("ELT", NULL, "null", I(1));
    EXPECT_T("FIELD", NULL, "2", "INTEGER", S("b"), S("a"), S("b"), S("b"));
    EXPECT("FIELD", NULL, "0", S("z"), S("a"));
    EXPECT("FIELD", "STRING;STRING", "0", NUL(MP_TYPE_STRING), NUL(MP_TYPE_STRING));
}

static void test_regexp(void)
{
    EXPECT("REGEXP_EXTRACT", NULL, "there", S("(.*) (.*)"), S("hello there"), I(2));
    EXPECT("REGEXP_EXTRACT", NULL, "hello there", S("(.*) (.*)"), S("hello there"));
    EXPECT("REGEXP_EXTRACT", NULL, "12", S("\\d+"), S("ab12c34")); /* \d translated */
    EXPECT("REGEXP_EXTRACT", NULL, "null", S("[0-9]+"), S("abc"));
    EXPECT("REGEXP_EXTRACT", NULL, "null", S("(a)"), S("abc"), I(2)); /* no group 2 */
    EXPECT("REGEXP_EXTRACT", NULL, "Ab", S("(?i)ab"), S("xAbx"));
    EXPECT("REGEXP_EXTRACT", NULL, "null", S("a|(b)"), S("a"), I(1)); /* group did not take part */
    EXPECT_ERR("REGEXP_EXTRACT", NULL, "invalid regular expression", S("(a"), S("abc"));
    EXPECT_ERR("REGEXP_EXTRACT", NULL, "no group", S("a"), S("abc"), I(-1));
    EXPECT("REGEXP_EXTRACT", NULL, "k", S("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)(k)"), S("abcdefghijk"),
           I(11));

    EXPECT_T("REGEXP_EXTRACT_ALL", NULL, "[\"there\",\"day\"]", "ARRAY<STRING>", S("(\\w+) (\\w+)"),
             S("hello there nice day"), I(2));
    EXPECT("REGEXP_EXTRACT_ALL", NULL, "[\"1\",\"22\",\"333\"]", S("[0-9]+"), S("a1b22c333"));
    EXPECT("REGEXP_EXTRACT_ALL", NULL, "[]", S("[0-9]+"), S("abc"));
    EXPECT("REGEXP_EXTRACT_ALL", NULL, "null", S("a"), S("abc"), I(3));

    EXPECT("REGEXP_REPLACE", NULL, "-a--c-", S("abc"), S("b*"), S("-"));
    EXPECT("REGEXP_REPLACE", NULL, "hell[o] w[o]rld", S("hello world"), S("(o)"), S("[$1]"));
    EXPECT("REGEXP_REPLACE", NULL, "a$b", S("axb"), S("x"), S("\\$"));
    EXPECT("REGEXP_REPLACE", NULL, "bar bar", S("foo fooo"), S("fo+"), S("bar"));
    /* $10 is group 10 when there is one, else group 1 and a literal 0 */
    EXPECT("REGEXP_REPLACE", NULL, "j", S("abcdefghijk"), S("(a)(b)(c)(d)(e)(f)(g)(h)(i)(j)k"),
           S("$10"));
    EXPECT("REGEXP_REPLACE", NULL, "a0", S("ab"), S("(a)b"), S("$10"));
    EXPECT_ERR("REGEXP_REPLACE", NULL, "group", S("abc"), S("b"), S("$2"));
    EXPECT_ERR("REGEXP_REPLACE", NULL, "invalid regular expression", S("abc"), S("[b"), S("x"));

    EXPECT_T("REGEXP_SPLIT_TO_ARRAY", NULL, "[\"a\",\"b\",\"c\"]", "ARRAY<STRING>", S("a1b22c"),
             S("[0-9]+"));
    EXPECT("REGEXP_SPLIT_TO_ARRAY", NULL, "[\"\",\"a\",\"\"]", S("1a1"), S("1"));
    EXPECT("REGEXP_SPLIT_TO_ARRAY", NULL, "[\"a\",\"b\",\"c\"]", S("abc"), S(""));
    EXPECT("REGEXP_SPLIT_TO_ARRAY", NULL, "[\"abc\"]", S("abc"), S("x"));
    /* Java's matcher allows an empty match right after a non-empty one */
    EXPECT("REGEXP_SPLIT_TO_ARRAY", NULL, "[\"a\",\"\",\"b\",\"\",\"c\"]", S("axbxc"), S("x*"));
    EXPECT("REGEXP_SPLIT_TO_ARRAY", NULL, "[\"\"]", S(""), S(""));
    /* an empty match that cannot match "" (a word boundary) splits without looping */
    EXPECT("REGEXP_SPLIT_TO_ARRAY", NULL, "[\"ab\",\" \",\"cd\",\"\"]", S("ab cd"), S("\\b"));
}

static void test_mask_chr_encode(void)
{
    /* the documented MASK examples */
    EXPECT("MASK", NULL, "Xx-Xxxx--nnn", S("My Test $123"));
    EXPECT("MASK", "STRING;STRING;STRING;STRING;STRING", "*y *est $111", S("My Test $123"), S("*"),
           NUL(MP_TYPE_STRING), S("1"), NUL(MP_TYPE_STRING));
    EXPECT("MASK_KEEP_LEFT", NULL, "My Txxx--nnn", S("My Test $123"), I(4));
    EXPECT("MASK_KEEP_RIGHT", NULL, "Xx-Xxxx-$123", S("My Test $123"), I(4));
    EXPECT("MASK_LEFT", NULL, "Xx-Xest $123", S("My Test $123"), I(4));
    EXPECT("MASK_RIGHT", NULL, "My Test -nnn", S("My Test $123"), I(4));
    EXPECT("MASK_LEFT", NULL, "Xx", S("Ab"), I(40));
    EXPECT("MASK_RIGHT", NULL, "Ab", S("Ab"), I(0));
    EXPECT("MASK", NULL, "Xx", S("\xc3\x89\xc3\xa9"));
    EXPECT("MASK_LEFT", NULL, "XXab", S("ABab"), I(2), S("X"), S("x"), S("n"), S("-"));
    EXPECT_ERR("MASK", NULL, "Invalid mask character", S("a"), S("XX"), S("x"), S("n"), S("-"));
    EXPECT_ERR("MASK_LEFT", NULL, "non-negative", S("abc"), I(-1));
    EXPECT("MASK", "STRING", "null", NUL(MP_TYPE_STRING));

    /* the documented CHR examples */
    EXPECT("CHR", NULL, "K", I(75));
    EXPECT("CHR", NULL, "K", S("\\u004b"));
    EXPECT("CHR", NULL, "\xe5\xa5\xbd", I(22909));
    EXPECT("CHR", NULL, "\xe5\xa5\xbd", S("\\u597d"));
    EXPECT("CHR", NULL, "\xf0\x9f\x98\x80", I(0x1F600));
    EXPECT("CHR", NULL, "\xf0\x9f\x98\x80", S("\\ud83d\\ude00"));
    EXPECT("CHR", NULL, "null", I(-1));
    EXPECT("CHR", NULL, "null", I(0x110000));
    EXPECT("CHR", NULL, "null", S("abc"));
    EXPECT("CHR", NULL, "null", S("\\u4b"));
    EXPECT_ERR("CHR", NULL, "unicode", S("\\uzzzz"));

    EXPECT("ENCODE", NULL, "68656c6c6f", S("hello"), S("utf8"), S("hex"));
    EXPECT("ENCODE", NULL, "hello", S("68656C6C6F"), S("HEX"), S("utf8"));
    EXPECT("ENCODE", NULL, "hello", S("aGVsbG8="), S("base64"), S("utf8"));
    EXPECT("ENCODE", NULL, "aGVsbG8=", S("hello"), S("ascii"), S("base64"));
    EXPECT("ENCODE", NULL, "h", S("0x68"), S("hex"), S("ascii"));
    EXPECT("ENCODE", NULL, "\n", S("0xa"), S("hex"), S("ascii")); /* odd digits after 0x */
    EXPECT("ENCODE", NULL, "hi", S("X'6869'"), S("hex"), S("utf8"));
    EXPECT("ENCODE", NULL, "\xef\xbf\xbd\xef\xbf\xbd", S("\xc3\xa9"), S("utf8"), S("ascii"));
    EXPECT("ENCODE", NULL, "3f", S("\xc3\xa9"), S("ascii"), S("hex"));
    EXPECT_ERR("ENCODE", NULL, "Supported input and output encodings", S("a"), S("utf8"),
               S("utf8"));
    EXPECT_ERR("ENCODE", NULL, "Supported input and output encodings", S("a"), S("ebcdic"),
               S("hex"));
    EXPECT_ERR("ENCODE", NULL, "Illegal hexadecimal character", S("zz"), S("hex"), S("utf8"));
    EXPECT_ERR("ENCODE", NULL, "Odd number", S("abc"), S("hex"), S("utf8"));

    EXPECT_T("TO_BYTES", NULL, "aGVsbG8=", "BYTES", S("68656C6C6F"), S("hex"));
    EXPECT("TO_BYTES", NULL, "aGVsbG8=", S("aGVsbG8="), S("BASE64"));
    EXPECT("TO_BYTES", NULL, "aGVsbG8=", S("hello"), S("utf8"));
    EXPECT("TO_BYTES", NULL, "Pw==", S("\xc3\xa9"), S("ascii"));
    EXPECT_ERR("TO_BYTES", NULL, "Unknown encoding type 'bogus'", S("x"), S("bogus"));
    EXPECT_ERR("TO_BYTES", NULL, "Odd", S("abc"), S("hex"));
    EXPECT_T("FROM_BYTES", NULL, "68656C6C6F", "STRING", Y("hello", 5), S("hex"));
    EXPECT("FROM_BYTES", NULL, "aGVsbG8=", Y("hello", 5), S("base64"));
    EXPECT("FROM_BYTES", NULL, "hello", Y("hello", 5), S("utf8"));
    EXPECT("FROM_BYTES", NULL, "a\xef\xbf\xbd", Y("a\xff", 2), S("ascii"));
    {
        /* Java's MIME encoder breaks lines after 76 characters */
        char raw[60];
        memset(raw, 0, sizeof raw);
        REQUIRE(call("FROM_BYTES", NULL, 2, ARGS(Y(raw, 60), S("base64"))) == 0);
        CHECK(strlen(OUT) == 80 + 2);
        CHECK(OUT[76] == '\r' && OUT[77] == '\n');
    }

    for (int i = 0; i < 3; i++) {
        REQUIRE(call("UUID", NULL, 0, NULL) == 0);
        CHECK(strlen(OUT) == 36);
        CHECK(OUT[8] == '-' && OUT[13] == '-' && OUT[18] == '-' && OUT[23] == '-');
        CHECK(OUT[14] == '4');
        CHECK(strchr("89ab", OUT[19]) != NULL);
    }
    char first[40];
    memcpy(first, OUT, 37);
    REQUIRE(call("UUID", NULL, 0, NULL) == 0);
    CHECK(strcmp(first, OUT) != 0);
}

static void test_convert(void)
{
    /* the documented examples: AAAH5Q==, AAAAASoF8gA=, QICm/ZvJ9YI= */
    EXPECT_T("INT_FROM_BYTES", NULL, "2021", "INTEGER", Y("\0\0\x07\xe5", 4), S("BIG_ENDIAN"));
    EXPECT("INT_FROM_BYTES", NULL, "2021", Y("\0\0\x07\xe5", 4));
    EXPECT("INT_FROM_BYTES", NULL, "-452526080", Y("\0\0\x07\xe5", 4), S("LITTLE_ENDIAN"));
    EXPECT_T("BIGINT_FROM_BYTES", NULL, "5000000000", "BIGINT", Y("\0\0\0\x01\x2a\x05\xf2\0", 8),
             S("BIG_ENDIAN"));
    EXPECT_T("DOUBLE_FROM_BYTES", NULL, "532.8738323", "DOUBLE",
             Y("\x40\x80\xa6\xfd\x9b\xc9\xf5\x82", 8), S("BIG_ENDIAN"));
    EXPECT("INT_FROM_BYTES", NULL, "null", Y("\0\0\x07", 3));
    EXPECT("INT_FROM_BYTES", NULL, "null", Y("\0\0\x07\xe5", 4), S("MIDDLE_ENDIAN"));
    EXPECT("BIGINT_FROM_BYTES", NULL, "null", Y("\0", 1));
}

static void test_null_functions(void)
{
    EXPECT_T("COALESCE", NULL, "2", "BIGINT", NUL(MP_TYPE_INTEGER), I(2), L(3));
    EXPECT_T("COALESCE", NULL, "2.0", "DOUBLE", NUL(MP_TYPE_INTEGER), I(2), D(3.5));
    EXPECT_T("COALESCE", "INTEGER;NULL", "null", "INTEGER", NUL(MP_TYPE_INTEGER), NUL(0));
    EXPECT("COALESCE", NULL, "a", S("a"), S("b"));
    EXPECT_T("COALESCE", NULL, "[1,2]", "ARRAY<BIGINT>", NUL(MP_TYPE_ARRAY), ARR(2, I(1), I(2)),
             ARR(1, L(9)));
    EXPECT_T("IFNULL", NULL, "5", "INTEGER", NUL(MP_TYPE_INTEGER), I(5));
    EXPECT("IFNULL", NULL, "4", I(4), I(5));
    EXPECT_BIND_ERR("IFNULL", NULL, "IFNULL(T, T)", I(4));
    EXPECT_T("NULLIF", NULL, "null", "INTEGER", I(1), I(1));
    EXPECT("NULLIF", NULL, "1", I(1), I(2));
    EXPECT("NULLIF", NULL, "null", I(1), L(1));
    EXPECT("NULLIF", "INTEGER;INTEGER", "1", I(1), NUL(MP_TYPE_INTEGER));
    EXPECT("NULLIF", NULL, "x", S("x"), S("y"));
    EXPECT_BIND_ERR("NULLIF", NULL, "incompatible", I(1), S("y"));
}

/* ---- dates and times ---- */

#define TS(ms) mp_v_timestamp(ms)

static void test_datetime_format(void)
{
    EXPECT_T("TIMESTAMPTOSTRING", NULL, "1970-01-01 00:00:00.000", "STRING", L(0),
             S("yyyy-MM-dd HH:mm:ss.SSS"));
    EXPECT("TIMESTAMPTOSTRING", NULL, "1969-12-31 23:59:59.999", L(-1),
           S("yyyy-MM-dd HH:mm:ss.SSS"));
    EXPECT("TIMESTAMPTOSTRING", NULL, "2021-04-10 14:00:00 PDT", L(1618088400000LL),
           S("yyyy-MM-dd HH:mm:ss z"), S("America/Los_Angeles"));
    EXPECT("FORMAT_TIMESTAMP", NULL, "2021-04-10T21:00:00Z", TS(1618088400000LL),
           S("yyyy-MM-dd'T'HH:mm:ssX"));
    EXPECT("FORMAT_TIMESTAMP", NULL, "2021-04-10T14:00:00-07", TS(1618088400000LL),
           S("yyyy-MM-dd'T'HH:mm:ssX"), S("America/Los_Angeles"));
    EXPECT("FORMAT_TIMESTAMP", NULL, "2021-01-15T04:00:00-08:00", TS(1610712000000LL),
           S("yyyy-MM-dd'T'HH:mm:ssXXX"), S("America/Los_Angeles"));
    EXPECT("FORMAT_TIMESTAMP", NULL, "2021-07-15 13:00 BST +0100", TS(1626350400000LL),
           S("yyyy-MM-dd HH:mm z Z"), S("Europe/London"));
    EXPECT("FORMAT_TIMESTAMP", NULL, "17:30 +05:30", TS(1626350400000LL), S("HH:mm xxx"),
           S("+05:30"));
    EXPECT("FORMAT_TIMESTAMP", NULL, "12:00 Z +00 +0000 GMT", TS(1626350400000LL),
           S("HH:mm X x Z ZZZZ"));
    EXPECT("FORMAT_TIMESTAMP", NULL, "America/Los_Angeles GMT-7 GMT-07:00", TS(1626350400000LL),
           S("VV O OOOO"), S("America/Los_Angeles"));
    /* beyond the last transition the TZif footer's rule applies */
    EXPECT("FORMAT_TIMESTAMP", NULL, "2100-07-01 05:00 -07:00", TS(4118126400000LL),
           S("yyyy-MM-dd HH:mm XXX"), S("America/Los_Angeles"));
    /* southern hemisphere: the rule's summer spans the new year */
    EXPECT("FORMAT_TIMESTAMP", NULL, "2100-01-15 23:00 +11:00", TS(4103697600000LL),
           S("yyyy-MM-dd HH:mm XXX"), S("Australia/Sydney"));
    EXPECT("FORMAT_TIMESTAMP", NULL, "2100-07-15 22:00 +10:00", TS(4119336000000LL),
           S("yyyy-MM-dd HH:mm XXX"), S("Australia/Sydney"));
    EXPECT("FORMAT_TIMESTAMP", NULL, "Sat, 10 Apr 2021 09:00 PM", TS(1618088400000LL),
           S("EEE, d MMM yyyy hh:mm a"));
    EXPECT("FORMAT_TIMESTAMP", NULL, "Saturday April 21 100 Q2 2nd quarter AD", TS(1618088400000LL),
           S("EEEE MMMM yy D QQQ QQQQ G"));
    EXPECT("FORMAT_TIMESTAMP", NULL, "2021-04-10T21", TS(1618088400000LL), S("yyyy-MM-dd'T'HH"));
    /* '' is a quote, so the unquoted T is a pattern letter java.time rejects */
    EXPECT_ERR("FORMAT_TIMESTAMP", NULL, "Unknown pattern letter: T", TS(0),
               S("yyyy-MM-dd''T''HH"));
    EXPECT("FORMAT_TIMESTAMP", NULL, "it's 21", TS(1618088400000LL), S("'it''s' HH"));
    EXPECT("FORMAT_TIMESTAMP", NULL, "2021-04-10 21:00", TS(1618088400000LL),
           S("yyyy-MM-dd[ HH:mm]"));
    EXPECT("FORMAT_TIMESTAMP", NULL, "+10000-01-01", TS(253402300800000LL), S("yyyy-MM-dd"));
    EXPECT("FORMAT_TIMESTAMP", NULL, "24 0 12", TS(0), S("k K h"));
    EXPECT("FORMAT_TIMESTAMP", NULL, "1 000000000 0", TS(0), S("D nnnnnnnnn A"));
    EXPECT_ERR("FORMAT_TIMESTAMP", NULL, "Unknown pattern letter: b", TS(0), S("bb"));
    EXPECT_ERR("FORMAT_TIMESTAMP", NULL, "not supported", TS(0), S("zzzz"));
    EXPECT_ERR("FORMAT_TIMESTAMP", NULL, "not supported", TS(0), S("YYYY ww"));
    EXPECT_ERR("FORMAT_TIMESTAMP", NULL, "Too many pattern letters: d", TS(0), S("ddd"));
    EXPECT_ERR("FORMAT_TIMESTAMP", NULL, "incomplete string literal", TS(0), S("yyyy 'x"));
    EXPECT_ERR("FORMAT_TIMESTAMP", NULL, "reserved character", TS(0), S("yyyy#"));
    EXPECT_ERR("FORMAT_TIMESTAMP", NULL, "Unknown time-zone ID: Mars/Olympus", TS(0), S("yyyy"),
               S("Mars/Olympus"));
    EXPECT_ERR("FORMAT_TIMESTAMP", NULL, "invalid format", TS(0), S("yyyy"), S("../etc/passwd"));
    EXPECT_ERR("FORMAT_TIMESTAMP", NULL, "ZoneOffset", TS(0), S("yyyy"), S("+25:00"));
    EXPECT("FORMAT_TIMESTAMP", "TIMESTAMP;STRING", "null", NUL(MP_TYPE_TIMESTAMP), S("yyyy"));

    EXPECT_T("FORMAT_DATE", NULL, "11/10/2021", "STRING", mp_v_date(18911), S("dd/MM/yyyy"));
    EXPECT("FORMAT_DATE", NULL, "1900-03-01", mp_v_date(-25508), S("yyyy-MM-dd"));
    EXPECT_ERR("FORMAT_DATE", NULL, "Unsupported field: HourOfDay", mp_v_date(0), S("yyyy HH"));
    EXPECT("FORMAT_DATE", NULL, "2021", mp_v_date(18911), S("yyyy[ HH]"));
    EXPECT("DATETOSTRING", NULL, "2021-10-11", I(18911), S("yyyy-MM-dd"));
    EXPECT_T("FORMAT_TIME", NULL, "12:34:56.789", "STRING", mp_v_time(45296789), S("HH:mm:ss.SSS"));
    EXPECT("FORMAT_TIME", NULL, "12:34 PM", mp_v_time(45296789), S("hh:mm a"));
    EXPECT_ERR("FORMAT_TIME", NULL, "Unsupported field: YearOfEra", mp_v_time(0), S("yyyy"));
    EXPECT_ERR("FORMAT_TIME", NULL, "ZoneId", mp_v_time(0), S("HH VV"));
}

static void test_datetime_parse(void)
{
    /* the documented example: June 31 resolves to June 30 */
    EXPECT_T("PARSE_TIMESTAMP", NULL, "2021-06-30T12:18:39.446", "TIMESTAMP",
             S("2021-06-31 12:18:39.446"), S("yyyy-MM-dd HH:mm:ss.SSS"));
    EXPECT_T("STRINGTOTIMESTAMP", NULL, "1625055519446", "BIGINT", S("2021-06-30 12:18:39.446"),
             S("yyyy-MM-dd HH:mm:ss.SSS"));
    EXPECT("STRINGTOTIMESTAMP", NULL, "1552816800000", S("2019-03-17 10:00:00"),
           S("yyyy-MM-dd HH:mm:ss"), S("Europe/London"));
    EXPECT("STRINGTOTIMESTAMP", NULL, "1563354000000", S("2019-07-17 10:00:00"),
           S("yyyy-MM-dd HH:mm:ss"), S("Europe/London"));
    /* an offset in the text wins over the zone argument */
    EXPECT("STRINGTOTIMESTAMP", NULL, "1609455600000", S("2021-01-01T00:00:00+0100"),
           S("yyyy-MM-dd'T'HH:mm:ssX"), S("America/New_York"));
    EXPECT("STRINGTOTIMESTAMP", NULL, "1609455600000", S("2021-01-01T00:00:00+01:00"),
           S("yyyy-MM-dd'T'HH:mm:ssXXX"));
    EXPECT("STRINGTOTIMESTAMP", NULL, "1609459200000", S("2021-01-01T00:00:00Z"),
           S("yyyy-MM-dd'T'HH:mm:ssX"));
    EXPECT("STRINGTOTIMESTAMP", NULL, "1609455600000", S("2021-01-01 00:00 Europe/Paris"),
           S("yyyy-MM-dd HH:mm VV"));
    /* a time in the spring-forward gap moves forward; in the autumn overlap
     * the earlier offset wins (java.time) */
    EXPECT("STRINGTOTIMESTAMP", NULL, "1615717800000", S("2021-03-14 02:30"), S("yyyy-MM-dd HH:mm"),
           S("America/Los_Angeles"));
    EXPECT("STRINGTOTIMESTAMP", NULL, "1636273800000", S("2021-11-07 01:30"), S("yyyy-MM-dd HH:mm"),
           S("America/Los_Angeles"));
    /* adjacent fixed-width fields */
    EXPECT("PARSE_TIMESTAMP", NULL, "2024-01-31T00:00:00.000", S("20240131"), S("yyyyMMdd"));
    EXPECT("PARSE_TIMESTAMP", NULL, "2024-01-31T07:05:00.000", S("202401310705"),
           S("yyyyMMddHHmm"));
    /* missing fields default to 1970-01-01 00:00 */
    EXPECT("PARSE_TIMESTAMP", NULL, "1970-01-01T13:45:00.000", S("13:45"), S("HH:mm"));
    EXPECT("PARSE_TIMESTAMP", NULL, "2021-05-01T00:00:00.000", S("2021-05"), S("yyyy-MM"));
    EXPECT("PARSE_TIMESTAMP", NULL, "1970-02-28T00:00:00.000", S("02-30"), S("MM-dd"));
    EXPECT("PARSE_TIMESTAMP", NULL, "2021-04-10T21:00:00.000", S("Sat, 10 Apr 2021 09:00 PM"),
           S("EEE, d MMM yyyy hh:mm a"));
    EXPECT("PARSE_TIMESTAMP", NULL, "2021-04-10T00:00:00.000", S("10/04/21"), S("dd/MM/yy"));
    EXPECT("PARSE_TIMESTAMP", NULL, "2021-01-01T00:00:00.000", S("2021"), S("yyyy[-MM]"));
    EXPECT("PARSE_TIMESTAMP", NULL, "2021-03-01T00:00:00.000", S("2021-03"), S("yyyy[-MM]"));
    EXPECT("PARSE_TIMESTAMP", NULL, "2020-12-31T00:00:00.000", S("2020-366"), S("yyyy-DDD"));
    EXPECT_ERR("PARSE_TIMESTAMP", NULL, "could not be parsed", S("2021-13-01"), S("yyyy-MM-dd"));
    EXPECT_ERR("PARSE_TIMESTAMP", NULL, "Invalid value for MonthOfYear", S("2021-13-01"),
               S("yyyy-MM-dd"));
    EXPECT_ERR("PARSE_TIMESTAMP", NULL, "unparsed text found at index 10", S("2021-01-01 x"),
               S("yyyy-MM-dd"));
    EXPECT_ERR("PARSE_TIMESTAMP", NULL, "could not be parsed at index 5", S("2021-1-01"),
               S("yyyy-MM-dd"));
    EXPECT_ERR("PARSE_TIMESTAMP", NULL, "DayOfWeek", S("Mon, 10 Apr 2021"), S("EEE, d MMM yyyy"));
    EXPECT_ERR("PARSE_TIMESTAMP", NULL, "could not be parsed", S("jan 2021"), S("MMM yyyy"));
    EXPECT_ERR("PARSE_TIMESTAMP", NULL, "Unknown time-zone", S("2021"), S("yyyy"), S("Nowhere"));
    EXPECT_ERR("PARSE_TIMESTAMP", NULL, "not a leap year", S("2021-366"), S("yyyy-DDD"));

    EXPECT_T("PARSE_DATE", NULL, "2021-10-11", "DATE", S("2021-10-11"), S("yyyy-MM-dd"));
    EXPECT("PARSE_DATE", NULL, "2021-10-11", S("11 OCT 2021"), S("dd MMM yyyy")); /* any case */
    EXPECT("PARSE_DATE", NULL, "2021-02-28", S("2021-02-29"), S("yyyy-MM-dd"));
    EXPECT_ERR("PARSE_DATE", NULL, "Date format contains time field", S("2021-10-11 10"),
               S("yyyy-MM-dd HH"));
    EXPECT_ERR("PARSE_DATE", NULL, "Unable to obtain a date", S("2021-10"), S("yyyy-MM"));
    EXPECT_T("STRINGTODATE", NULL, "18911", "INTEGER", S("2021-10-11"), S("yyyy-MM-dd"));
    EXPECT_T("PARSE_TIME", NULL, "13:25", "TIME", S("13:25"), S("HH:mm"));
    EXPECT("PARSE_TIME", NULL, "13:25:07", S("01:25:07 PM"), S("hh:mm:ss a"));
    EXPECT("PARSE_TIME", NULL, "09:00", S("9"), S("H"));
    EXPECT_ERR("PARSE_TIME", NULL, "Unsupported field: YearOfEra", S("2021 10:00"),
               S("yyyy HH:mm"));
    EXPECT_ERR("PARSE_TIME", NULL, "needs an hour", S("25"), S("mm"));
    EXPECT_ERR("PARSE_TIME", NULL, "Invalid value for HourOfDay", S("24:00"), S("HH:mm"));

    /* TO_JSON_STRING of the documented PARSE_* results */
    REQUIRE(call("PARSE_DATE", NULL, 2, ARGS(S("2021-10-11"), S("yyyy-MM-dd"))) == 0);
    mp_value d = OUTV;
    EXPECT("TO_JSON_STRING", NULL, "\"2021-10-11\"", d);
    REQUIRE(call("PARSE_TIME", NULL, 2, ARGS(S("13:25"), S("HH:mm"))) == 0);
    mp_value t = OUTV;
    EXPECT("TO_JSON_STRING", NULL, "\"13:25\"", t);
    REQUIRE(call("PARSE_TIMESTAMP", NULL, 2,
                 ARGS(S("2021-06-31 12:18:39.446"), S("yyyy-MM-dd HH:mm:ss.SSS"))) == 0);
    mp_value ts = OUTV;
    EXPECT("TO_JSON_STRING", NULL, "\"2021-06-30T12:18:39.446\"", ts);
}

static void test_datetime_arith(void)
{
    EXPECT_T("UNIX_TIMESTAMP", NULL, "1618088400000", "BIGINT", TS(1618088400000LL));
    REQUIRE(call("UNIX_TIMESTAMP", NULL, 0, NULL) == 0);
    int64_t now = mp_clock_wall_ms();
    CHECK(OUTV.kind == MP_TYPE_BIGINT && llabs(OUTV.u.i64 - now) < 60000);
    EXPECT_T("UNIX_DATE", NULL, "18911", "INTEGER", mp_v_date(18911));
    REQUIRE(call("UNIX_DATE", NULL, 0, NULL) == 0);
    CHECK(OUTV.kind == MP_TYPE_INTEGER && llabs((int64_t)OUTV.u.i32 - now / 86400000) <= 1);
    EXPECT_T("FROM_UNIXTIME", NULL, "2021-04-10T21:00:00.000", "TIMESTAMP", L(1618088400000LL));
    EXPECT_T("FROM_DAYS", NULL, "2021-10-11", "DATE", I(18911));

    EXPECT_T("TIMESTAMPADD", NULL, "1970-01-01T00:00:05.000", "TIMESTAMP", S("SECONDS"), I(5),
             TS(0));
    EXPECT("TIMESTAMPADD", NULL, "1970-01-02T00:00:00.000", S("day"), I(1), TS(0));
    EXPECT("TIMESTAMPADD", NULL, "1970-01-01T00:00:00.000", S("MICROSECONDS"), I(999), TS(0));
    EXPECT("TIMESTAMPSUB", NULL, "1969-12-31T23:59:00.000", S("MINUTES"), I(1), TS(0));
    EXPECT_ERR("TIMESTAMPADD", NULL, "unknown time unit 'WEEKS'", S("WEEKS"), I(1), TS(0));
    EXPECT("TIMESTAMPADD", "STRING;INTEGER;TIMESTAMP", "null", S("DAYS"), NUL(MP_TYPE_INTEGER),
           TS(0));

    EXPECT_T("DATEADD", NULL, "2021-10-14", "DATE", S("DAYS"), I(3), mp_v_date(18911));
    EXPECT("DATEADD", NULL, "2021-10-12", S("HOURS"), I(25), mp_v_date(18911));
    /* ksqlDB truncates toward zero: an hour before 1970-01-01 is still that day */
    EXPECT("DATEADD", NULL, "1970-01-01", S("HOURS"), I(-1), mp_v_date(0));
    EXPECT("DATESUB", NULL, "2021-10-01", S("DAYS"), I(10), mp_v_date(18911));

    EXPECT_T("TIMEADD", NULL, "00:00", "TIME", S("HOURS"), I(25), mp_v_time(23 * 3600000));
    EXPECT("TIMESUB", NULL, "23:00", S("MINUTES"), I(90), mp_v_time(1800000));
    EXPECT("TIMEADD", NULL, "00:00:01", S("SECONDS"), I(1), mp_v_time(0));

    EXPECT_T("CONVERT_TZ", NULL, "2021-07-15T05:00:00.000", "TIMESTAMP", TS(1626350400000LL),
             S("UTC"), S("America/Los_Angeles"));
    EXPECT("CONVERT_TZ", NULL, "2021-07-15T17:30:00.000", TS(1626350400000LL), S("Z"), S("+05:30"));
    EXPECT("CONVERT_TZ", NULL, "2021-07-15T12:00:00.000", TS(1626350400000LL), S("GMT+2"),
           S("UTC+02:00"));
    EXPECT_ERR("CONVERT_TZ", NULL, "Unknown time-zone", TS(0), S("UTC"), S("Atlantis/Capital"));
}

/* ---- JSON ---- */

static void test_json(void)
{
    const char *doc = "{\"log\": {\"cloud\": \"gcp836Csd\", \"app\": \"ksProcessor\", "
                      "\"instance\": 4, \"ratio\": 1.50, \"tags\": [\"a\", {\"b\": null}], "
                      "\"none\": null}}";
    EXPECT_T("EXTRACTJSONFIELD", NULL, "gcp836Csd", "STRING", S(doc), S("$.log.cloud"));
    EXPECT("EXTRACTJSONFIELD", NULL, "4", S(doc), S("$.log.instance"));
    EXPECT("EXTRACTJSONFIELD", NULL, "1.50", S(doc), S("$.log.ratio")); /* digits kept */
    EXPECT("EXTRACTJSONFIELD", NULL, "a", S(doc), S("$.log.tags[0]"));
    EXPECT("EXTRACTJSONFIELD", NULL, "{\"b\":null}", S(doc), S("$.log.tags[1]"));
    EXPECT("EXTRACTJSONFIELD", NULL, "null", S(doc),
           S("$['log'][\"none\"]")); /* JSON null as text */
    EXPECT("EXTRACTJSONFIELD", NULL, "null", S(doc), S("$.log.missing"));
    EXPECT("EXTRACTJSONFIELD", NULL, "null", S(doc), S("$.log.tags[5]"));
    EXPECT("EXTRACTJSONFIELD", NULL, "null", S(doc), S("$.log.tags.x"));
    EXPECT("EXTRACTJSONFIELD", NULL, "null", S(doc), S("$.log.cloud.x"));
    EXPECT("EXTRACTJSONFIELD", NULL, "[\"a\",{\"b\":null}]", S(doc), S("$.log.tags"));
    EXPECT("EXTRACTJSONFIELD", NULL, "q\"\n\xc3\xa9", S("{\"s\":\"q\\\"\\n\\u00e9\"}"), S("$.s"));
    EXPECT("EXTRACTJSONFIELD", NULL, "null", S(""), S("$.a"));
    EXPECT_ERR("EXTRACTJSONFIELD", NULL, "Invalid JSON format", S("{\"a\":"), S("$.a"));
    EXPECT_ERR("EXTRACTJSONFIELD", NULL, "Invalid JSON format", S("[1] x"), S("$[0]"));
    EXPECT_ERR("EXTRACTJSONFIELD", NULL, "JSONPath", S("{}"), S("log.cloud"));
    EXPECT_ERR("EXTRACTJSONFIELD", NULL, "JSONPath", S("{}"), S("$.a["));

    /* the documented examples */
    EXPECT_T("JSON_ARRAY_LENGTH", NULL, "3", "INTEGER", S("[1, 2, 3]"));
    EXPECT("JSON_ARRAY_LENGTH", NULL, "3", S("[1, [1, [2]], 3]"));
    EXPECT("JSON_ARRAY_LENGTH", NULL, "0", S("[]"));
    EXPECT("JSON_ARRAY_LENGTH", NULL, "null", S("{}"));
    EXPECT("JSON_ARRAY_LENGTH", NULL, "null", S("123"));
    EXPECT("JSON_ARRAY_LENGTH", "STRING", "null", NUL(MP_TYPE_STRING));
    EXPECT_ERR("JSON_ARRAY_LENGTH", NULL, "Invalid JSON format", S("abc"));

    EXPECT_T("JSON_CONCAT", NULL, "{\"a\":1,\"b\":2}", "STRING", S("{\"a\": 1}"), S("{\"b\": 2}"));
    EXPECT("JSON_CONCAT", NULL, "{\"a\":{\"3\":4}}", S("{\"a\": {\"5\": 6}}"),
           S("{\"a\": {\"3\": 4}}"));
    EXPECT("JSON_CONCAT", NULL, "{}", S("{}"), S("{}"));
    EXPECT("JSON_CONCAT", NULL, "[1,2,3,4]", S("[1, 2]"), S("[3, 4]"));
    EXPECT("JSON_CONCAT", NULL, "[1,[2],[[3]],[[[4]]]]", S("[1, [2]]"), S("[[[3]], [[[4]]]]"));
    EXPECT("JSON_CONCAT", NULL, "[null,null]", S("null"), S("null"));
    EXPECT("JSON_CONCAT", NULL, "[1,2,{\"a\":1}]", S("[1, 2]"), S("{\"a\": 1}"));
    EXPECT("JSON_CONCAT", NULL, "[1,2,3]", S("[1, 2]"), S("3"));
    EXPECT("JSON_CONCAT", NULL, "[1,2]", S("1"), S("2"));
    EXPECT("JSON_CONCAT", NULL, "[]", S("[]"), S("[]"));
    EXPECT("JSON_CONCAT", NULL, "null", S("abc"), S("[1]"));
    EXPECT("JSON_CONCAT", "STRING;STRING", "null", NUL(MP_TYPE_STRING), S("[1]"));
    EXPECT("JSON_CONCAT", NULL, "{\"a\":3,\"b\":2}", S("{\"a\":1,\"b\":2}"), S("{\"a\":3}"));

    EXPECT_T("JSON_KEYS", NULL, "[\"a\",\"b\",\"d\"]", "ARRAY<STRING>",
             S("{\"a\": \"abc\", \"b\": { \"c\": \"a\" }, \"d\": 1}"));
    EXPECT("JSON_KEYS", NULL, "[]", S("{}"));
    EXPECT("JSON_KEYS", NULL, "null", S("[]"));
    EXPECT("JSON_KEYS", NULL, "null", S("123"));
    EXPECT("JSON_KEYS", NULL, "null", S(""));
    EXPECT_T("JSON_RECORDS", NULL,
             "{\"a\":\"\\\"abc\\\"\",\"b\":\"{\\\"c\\\":\\\"a\\\"}\",\"d\":\"1\"}",
             "MAP<STRING, STRING>", S("{\"a\": \"abc\", \"b\": { \"c\": \"a\" }, \"d\": 1}"));
    EXPECT("JSON_RECORDS", NULL, "{}", S("{}"));
    /* a repeated key keeps its first place and its last value, as Jackson */
    EXPECT("JSON_RECORDS", NULL, "{\"a\":\"3\",\"b\":\"2\"}", S("{\"a\":1,\"b\":2,\"a\":3}"));
    EXPECT("JSON_RECORDS", NULL, "null", S("[]"));
    EXPECT_T("JSON_ITEMS", NULL, "[\"1\",\"{\\\"a\\\":true}\",\"\\\"x\\\"\"]", "ARRAY<STRING>",
             S("[1, {\"a\": true}, \"x\"]"));

    EXPECT_T("IS_JSON_STRING", NULL, "true", "BOOLEAN", S("[1, 2, 3]"));
    EXPECT("IS_JSON_STRING", NULL, "true", S("{}"));
    EXPECT("IS_JSON_STRING", NULL, "true", S("1"));
    EXPECT("IS_JSON_STRING", NULL, "true", S("\"abc\""));
    EXPECT("IS_JSON_STRING", NULL, "true", S("null"));
    EXPECT("IS_JSON_STRING", NULL, "false", S(""));
    EXPECT("IS_JSON_STRING", NULL, "false", S("abc"));
    EXPECT("IS_JSON_STRING", "STRING", "false", NUL(MP_TYPE_STRING));
    EXPECT("IS_JSON_STRING", NULL, "false", S("01"));
    EXPECT("IS_JSON_STRING", NULL, "false", S("[1,]"));
    EXPECT("IS_JSON_STRING", NULL, "false", S("\"a\tb\""));
    {
        /* deep nesting is refused, not a stack overflow */
        static char deep[3001];
        memset(deep, '[', 3000);
        EXPECT("IS_JSON_STRING", NULL, "false", S(deep));
    }

    EXPECT_T("JSON_ARRAY_CONTAINS", NULL, "true", "BOOLEAN", S("[1, 2, 3]"), I(3));
    EXPECT("JSON_ARRAY_CONTAINS", NULL, "false", S("[1, 2, 3]"), I(5));
    EXPECT("JSON_ARRAY_CONTAINS", NULL, "true", S("[\"a\", true]"), S("a"));
    EXPECT("JSON_ARRAY_CONTAINS", NULL, "true", S("[\"a\", true]"), B(true));
    EXPECT("JSON_ARRAY_CONTAINS", NULL, "true", S("[1.5]"), D(1.5));
    EXPECT("JSON_ARRAY_CONTAINS", NULL, "false", S("[1]"), D(1.0));
    EXPECT("JSON_ARRAY_CONTAINS", "STRING;STRING", "true", S("[null]"), NUL(MP_TYPE_STRING));
    EXPECT("JSON_ARRAY_CONTAINS", NULL, "false", S("{\"a\": 1}"), I(1));
    EXPECT("JSON_ARRAY_CONTAINS", NULL, "false", S("not json"), I(1));

    /* TO_JSON_STRING: the documented examples */
    EXPECT_T("TO_JSON_STRING", NULL, "1", "STRING", I(1));
    EXPECT("TO_JSON_STRING", NULL, "15.3", DEC("15.3", 3, 1));
    EXPECT("TO_JSON_STRING", NULL, "\"abc\"", S("abc"));
    EXPECT("TO_JSON_STRING", NULL, "true", B(true));
    EXPECT("TO_JSON_STRING", "NULL", "null", NUL(0));
    EXPECT("TO_JSON_STRING", NULL, "[1,2,3]", ARR(3, I(1), I(2), I(3)));
    EXPECT("TO_JSON_STRING", NULL, "{\"c\":2,\"d\":4}", MAPV(2, S("c"), I(2), S("d"), I(4)));
    mp_type *st = NULL;
    REQUIRE(mp_type_parse("STRUCT<ID INTEGER, NAME STRING>", &st, NULL) == 0);
    mp_value sv;
    REQUIRE(mp_v_struct(&A, st, &sv) == 0);
    sv.u.st.fields[0] = I(1);
    sv.u.st.fields[1] = S("A");
    EXPECT("TO_JSON_STRING", NULL, "{\"ID\":1,\"NAME\":\"A\"}", sv);
    mp_type_free(st);
    EXPECT("TO_JSON_STRING", NULL, "1.0E10", D(1e10));
}

/* ---- arrays and maps ---- */

static void test_collections(void)
{
    /* the documented examples */
    EXPECT_T("ARRAY_CONCAT", NULL, "[1,2,3,1,2,4,1]", "ARRAY<INTEGER>",
             ARR(5, I(1), I(2), I(3), I(1), I(2)), ARR(2, I(4), I(1)));
    EXPECT("ARRAY_CONCAT", NULL, "[\"apple\",\"apple\",null,\"cherry\",\"cherry\"]",
           ARR(4, S("apple"), S("apple"), NUL(MP_TYPE_STRING), S("cherry")), ARR(1, S("cherry")));
    EXPECT("ARRAY_CONCAT", "ARRAY<INTEGER>;ARRAY<INTEGER>", "[4]", NUL(MP_TYPE_ARRAY),
           ARR(1, I(4)));
    EXPECT("ARRAY_CONCAT", "ARRAY<INTEGER>;ARRAY<INTEGER>", "null", NUL(MP_TYPE_ARRAY),
           NUL(MP_TYPE_ARRAY));
    EXPECT_T("ARRAY_CONCAT", NULL, "[1,2]", "ARRAY<BIGINT>", ARR(1, I(1)), ARR(1, L(2)));

    EXPECT_T("ARRAY_DISTINCT", NULL, "[1,2,3]", "ARRAY<INTEGER>",
             ARR(6, I(1), I(1), I(2), I(3), I(1), I(2)));
    EXPECT("ARRAY_DISTINCT", NULL, "[\"apple\",null,\"cherry\"]",
           ARR(4, S("apple"), S("apple"), NUL(MP_TYPE_STRING), S("cherry")));
    EXPECT("ARRAY_DISTINCT", NULL, "[]", ARR(0));
    EXPECT("ARRAY_DISTINCT", "ARRAY<INTEGER>", "null", NUL(MP_TYPE_ARRAY));
    EXPECT("ARRAY_EXCEPT", NULL, "[1]", ARR(5, I(1), I(2), I(3), I(1), I(2)), ARR(2, I(2), I(3)));
    EXPECT("ARRAY_EXCEPT", NULL, "[\"apple\",null]",
           ARR(4, S("apple"), S("apple"), NUL(MP_TYPE_STRING), S("cherry")), ARR(1, S("cherry")));
    EXPECT("ARRAY_EXCEPT", "ARRAY<INTEGER>;ARRAY<INTEGER>", "null", ARR(1, I(1)),
           NUL(MP_TYPE_ARRAY));
    EXPECT("ARRAY_INTERSECT", NULL, "[1,2]", ARR(5, I(1), I(2), I(3), I(1), I(2)),
           ARR(2, I(2), I(1)));
    EXPECT("ARRAY_INTERSECT", NULL, "[\"apple\"]",
           ARR(4, S("apple"), S("apple"), NUL(MP_TYPE_STRING), S("cherry")), ARR(1, S("apple")));
    EXPECT("ARRAY_UNION", NULL, "[1,2,3,4]", ARR(5, I(1), I(2), I(3), I(1), I(2)),
           ARR(2, I(4), I(1)));
    EXPECT("ARRAY_UNION", NULL, "[\"apple\",null,\"cherry\"]",
           ARR(4, S("apple"), S("apple"), NUL(MP_TYPE_STRING), S("cherry")), ARR(1, S("cherry")));
    EXPECT_T("ARRAY_UNION", NULL, "[1.0,2.5]", "ARRAY<DOUBLE>", ARR(1, I(1)), ARR(1, D(2.5)));

    EXPECT_T("ARRAY_MAX", NULL, "2", "INTEGER", ARR(4, I(-1), I(2), NUL(MP_TYPE_INTEGER), I(0)));
    EXPECT("ARRAY_MAX", NULL, "true", ARR(3, B(false), NUL(MP_TYPE_BOOLEAN), B(true)));
    EXPECT("ARRAY_MAX", NULL, "baz", ARR(4, S("Foo"), S("Bar"), NUL(MP_TYPE_STRING), S("baz")));
    EXPECT("ARRAY_MIN", NULL, "-1", ARR(4, I(-1), I(2), NUL(MP_TYPE_INTEGER), I(0)));
    EXPECT("ARRAY_MIN", NULL, "false", ARR(3, B(false), NUL(MP_TYPE_BOOLEAN), B(true)));
    EXPECT("ARRAY_MIN", NULL, "Bar", ARR(4, S("Foo"), S("Bar"), NUL(MP_TYPE_STRING), S("baz")));
    EXPECT("ARRAY_MIN", "ARRAY<INTEGER>", "null", ARR(1, NUL(MP_TYPE_INTEGER)));
    EXPECT("ARRAY_MAX", "ARRAY<INTEGER>", "null", ARR(0));

    EXPECT("ARRAY_REMOVE", NULL, "[1,3,1]", ARR(5, I(1), I(2), I(3), I(2), I(1)), I(2));
    EXPECT("ARRAY_REMOVE", NULL, "[null,true,true]",
           ARR(4, B(false), NUL(MP_TYPE_BOOLEAN), B(true), B(true)), B(false));
    EXPECT("ARRAY_REMOVE", "ARRAY<STRING>;STRING", "[\"Foo\",\"Bar\",\"baz\"]",
           ARR(4, S("Foo"), S("Bar"), NUL(MP_TYPE_STRING), S("baz")), NUL(MP_TYPE_STRING));
    EXPECT("ARRAY_REMOVE", "ARRAY<INTEGER>;INTEGER", "null", NUL(MP_TYPE_ARRAY), I(1));

    EXPECT("ARRAY_SORT", NULL, "[-1,0,2,null]", ARR(4, I(-1), I(2), NUL(MP_TYPE_INTEGER), I(0)));
    EXPECT("ARRAY_SORT", NULL, "[false,true,null]",
           ARR(3, B(false), NUL(MP_TYPE_BOOLEAN), B(true)));
    EXPECT("ARRAY_SORT", NULL, "[\"Bar\",\"Foo\",\"baz\",null]",
           ARR(4, S("Foo"), S("Bar"), NUL(MP_TYPE_STRING), S("baz")));
    EXPECT("ARRAY_SORT", NULL, "[2,0,-1,null]", ARR(4, I(-1), I(2), NUL(MP_TYPE_INTEGER), I(0)),
           S("desc"));
    EXPECT("ARRAY_SORT", NULL, "[1,2]", ARR(2, I(2), I(1)), S("ASCENDING"));
    EXPECT("ARRAY_SORT", NULL, "null", ARR(2, I(2), I(1)), S("sideways"));
    EXPECT_ERR("ARRAY_SORT", "ARRAY<INTEGER>;STRING", "direction", ARR(1, I(1)),
               NUL(MP_TYPE_STRING));

    EXPECT_T("ARRAY_JOIN", NULL, "1,2,3", "STRING", ARR(3, I(1), I(2), I(3)));
    EXPECT("ARRAY_JOIN", NULL, "a|null|c", ARR(3, S("a"), NUL(MP_TYPE_STRING), S("c")), S("|"));
    EXPECT("ARRAY_JOIN", "ARRAY<INTEGER>;STRING", "12", ARR(2, I(1), I(2)), NUL(MP_TYPE_STRING));
    EXPECT("ARRAY_JOIN", NULL, "1.5;2.0", ARR(2, D(1.5), D(2)), S(";"));
    EXPECT("ARRAY_JOIN", NULL, "1.50 2.00", ARR(2, DEC("1.50", 3, 2), DEC("2.00", 3, 2)), S(" "));
    EXPECT("ARRAY_JOIN", NULL, "", ARR(0));

    EXPECT_T("ARRAY_LENGTH", NULL, "3", "INTEGER", ARR(3, I(1), I(2), I(3)));
    EXPECT("ARRAY_LENGTH", "ARRAY<INTEGER>", "null", NUL(MP_TYPE_ARRAY));
    EXPECT_T("ARRAY_CONTAINS", NULL, "true", "BOOLEAN", ARR(3, I(1), I(2), I(3)), I(3));
    EXPECT("ARRAY_CONTAINS", NULL, "false", ARR(3, I(1), I(2), I(3)), I(4));
    EXPECT("ARRAY_CONTAINS", NULL, "true", ARR(2, I(1), I(2)), L(2));
    EXPECT("ARRAY_CONTAINS", "ARRAY<INTEGER>;INTEGER", "true", ARR(2, I(1), NUL(MP_TYPE_INTEGER)),
           NUL(MP_TYPE_INTEGER));
    EXPECT("ARRAY_CONTAINS", "ARRAY<INTEGER>;INTEGER", "false", NUL(MP_TYPE_ARRAY), I(1));

    EXPECT_T("SLICE", NULL, "[2,3]", "ARRAY<INTEGER>", ARR(4, I(1), I(2), I(3), I(4)), I(2), I(3));
    EXPECT("SLICE", NULL, "[1,2,3,4]", ARR(4, I(1), I(2), I(3), I(4)), I(1), I(4));
    EXPECT("SLICE", NULL, "[]", ARR(4, I(1), I(2), I(3), I(4)), I(3), I(2));
    EXPECT("SLICE", NULL, "null", ARR(4, I(1), I(2), I(3), I(4)), I(0), I(2));
    EXPECT("SLICE", NULL, "null", ARR(4, I(1), I(2), I(3), I(4)), I(2), I(5));
    EXPECT("SLICE", NULL, "null", ARR(4, I(1), I(2), I(3), I(4)), I(4), I(2));
    EXPECT("SLICE", "ARRAY<INTEGER>;NULL;INTEGER", "[1,2]", ARR(4, I(1), I(2), I(3), I(4)), NUL(0),
           I(2));
    EXPECT("SLICE", "ARRAY<INTEGER>;INTEGER;NULL", "[3,4]", ARR(4, I(1), I(2), I(3), I(4)), I(3),
           NUL(0));

    EXPECT_T("GENERATE_SERIES", NULL, "[1,2,3,4,5]", "ARRAY<INTEGER>", I(1), I(5));
    EXPECT("GENERATE_SERIES", NULL, "[5,4,3,2,1]", I(5), I(1));
    EXPECT("GENERATE_SERIES", NULL, "[0,3,6,9]", I(0), I(10), I(3));
    EXPECT("GENERATE_SERIES", NULL, "[10,6,2]", I(10), I(0), I(-4));
    EXPECT("GENERATE_SERIES", NULL, "[7]", I(7), I(7));
    EXPECT_T("GENERATE_SERIES", NULL, "[4000000000,4000000001]", "ARRAY<BIGINT>", L(4000000000LL),
             L(4000000001LL));
    EXPECT_ERR("GENERATE_SERIES", NULL, "step cannot be zero", I(1), I(5), I(0));
    EXPECT_ERR("GENERATE_SERIES", NULL, "wrong sign", I(1), I(5), I(-1));
    EXPECT_ERR("GENERATE_SERIES", NULL, "is refused", L(0), L(INT64_MAX));
    EXPECT("GENERATE_SERIES", NULL, "[9223372036854775806,9223372036854775807]", L(INT64_MAX - 1),
           L(INT64_MAX));
    EXPECT("GENERATE_SERIES", NULL, "[-9223372036854775807,-9223372036854775808]", L(INT64_MIN + 1),
           L(INT64_MIN));

    EXPECT_T("MAP_KEYS", NULL, "[\"apple\",\"banana\"]", "ARRAY<STRING>",
             MAPV(2, S("apple"), I(10), S("banana"), I(20)));
    EXPECT_T("MAP_VALUES", NULL, "[10,20]", "ARRAY<INTEGER>",
             MAPV(2, S("apple"), I(10), S("banana"), I(20)));
    EXPECT("MAP_KEYS", "MAP<STRING, INTEGER>", "null", NUL(MP_TYPE_MAP));
    EXPECT_T("MAP_UNION", NULL, "{\"apple\":10,\"banana\":20,\"cherry\":99}",
             "MAP<STRING, INTEGER>", MAPV(2, S("apple"), I(10), S("banana"), I(20)),
             MAPV(1, S("cherry"), I(99)));
    EXPECT("MAP_UNION", NULL, "{\"apple\":50,\"banana\":20}",
           MAPV(2, S("apple"), I(10), S("banana"), I(20)), MAPV(1, S("apple"), I(50)));
    EXPECT("MAP_UNION", "MAP<STRING, INTEGER>;MAP<STRING, INTEGER>", "{\"a\":1}", NUL(MP_TYPE_MAP),
           MAPV(1, S("a"), I(1)));
    EXPECT("MAP_UNION", "MAP<STRING, INTEGER>;MAP<STRING, INTEGER>", "null", NUL(MP_TYPE_MAP),
           NUL(MP_TYPE_MAP));
    EXPECT_T("AS_MAP", NULL, "{\"a\":1,\"b\":null}", "MAP<STRING, INTEGER>", ARR(2, S("a"), S("b")),
             ARR(1, I(1)));
    EXPECT("AS_MAP", NULL, "{\"a\":3,\"b\":2}", ARR(3, S("a"), S("b"), S("a")),
           ARR(3, I(1), I(2), I(3)));
    EXPECT_T("ENTRIES", NULL, "[{\"K\":\"a\",\"V\":1},{\"K\":\"b\",\"V\":2}]",
             "ARRAY<STRUCT<`K` STRING, `V` INTEGER>>", MAPV(2, S("b"), I(2), S("a"), I(1)),
             B(true));
    EXPECT("ENTRIES", NULL, "[{\"K\":\"b\",\"V\":2},{\"K\":\"a\",\"V\":1}]",
           MAPV(2, S("b"), I(2), S("a"), I(1)), B(false));
}

/* ---- aggregates ---- */

typedef struct agg_case {
    mp_agg_impl impl;
    mp_fn_ctx cx;
    int bind_rc;
} agg_case;

static int agg_bind(agg_case *c, const char *name, const char *types, size_t n,
                    const mp_value *lits_values)
{
    mp_type *ts[8] = {0};
    const mp_type *cts[8];
    const mp_value *lits[8];
    memset(c, 0, sizeof *c);
    c->cx.arena = &A;
    c->cx.e = &E;
    mp_error_clear(&E);
    if (arg_types(types, n, lits_values, ts)) {
        free_types(ts, n);
        return c->bind_rc = -100;
    }
    for (size_t i = 0; i < n; i++) {
        cts[i] = ts[i];
        lits[i] = i ? &lits_values[i] : NULL; /* the aggregated column is not a literal */
    }
    const mp_fn_def *d = mp_fn_lookup(R, name);
    c->bind_rc = d && d->kind == MP_FN_AGGREGATE ? d->aggregate(cts, lits, n, &c->impl, &E) : -101;
    free_types(ts, n);
    return c->bind_rc;
}

static void agg_free(agg_case *c)
{
    mp_type_free(c->impl.state_type);
    mp_type_free(c->impl.ret);
    memset(&c->impl, 0, sizeof c->impl);
}

/* Folds rows[from, to) (each row nargs values) into a fresh state. */
static int agg_fold(agg_case *c, const mp_value *rows, size_t nargs, size_t from, size_t to,
                    mp_value *state)
{
    int rc = c->impl.init(&c->cx, state, c->impl.data);
    for (size_t r = from; r < to && !rc; r++)
        rc = c->impl.add(&c->cx, state, &rows[r * nargs], nargs, c->impl.data);
    if (!rc) {
        mp_error ce;
        if (mp_value_check(state, c->impl.state_type, &ce)) {
            fprintf(stderr, "state does not match its type: %s\n", ce.msg);
            mp_test_failed_checks++;
        }
    }
    return rc;
}

static int agg_text(agg_case *c, const mp_value *state, char *out, size_t cap)
{
    mp_value res;
    int rc = c->impl.result(&c->cx, state, &res, c->impl.data);
    if (rc)
        return rc;
    mp_error ce;
    if (mp_value_check(&res, c->impl.ret, &ce)) {
        fprintf(stderr, "aggregate result does not match its type: %s\n", ce.msg);
        mp_test_failed_checks++;
    }
    mp_buf b = {0};
    mp_value_format(&res, &b);
    snprintf(out, cap, "%s", b.data ? b.data : "");
    mp_buf_free(&b);
    return 0;
}

/* Folds all rows, checks the result text, then folds the two halves apart
 * and merges them (when the function merges) expecting the same. */
static void agg_expect(const char *file, int line, const char *name, const char *types,
                       size_t nargs, const mp_value *rows, size_t nrows, const char *expect,
                       const char *rettype)
{
    agg_case c;
    if (agg_bind(&c, name, types, nargs, rows)) {
        fprintf(stderr, "%s:%d: %s does not bind: %s\n", file, line, name, E.msg);
        mp_test_failed_checks++;
        return;
    }
    char got[1024], ret[128];
    mp_buf tb = {0};
    mp_type_print(c.impl.ret, &tb);
    snprintf(ret, sizeof ret, "%s", tb.data ? tb.data : "");
    mp_buf_free(&tb);
    if (rettype && strcmp(ret, rettype) != 0) {
        fprintf(stderr, "%s:%d: %s typed %s, expected %s\n", file, line, name, ret, rettype);
        mp_test_failed_checks++;
    }
    mp_value st;
    if (agg_fold(&c, rows, nargs, 0, nrows, &st) || agg_text(&c, &st, got, sizeof got)) {
        fprintf(stderr, "%s:%d: %s failed: %s\n", file, line, name, E.msg);
        mp_test_failed_checks++;
    } else if (strcmp(got, expect) != 0) {
        fprintf(stderr, "%s:%d: %s gave %s, expected %s\n", file, line, name, got, expect);
        mp_test_failed_checks++;
    }
    if (c.impl.merge && nrows >= 2) {
        mp_value s1, s2;
        size_t half = nrows / 2;
        if (agg_fold(&c, rows, nargs, 0, half, &s1) ||
            agg_fold(&c, rows, nargs, half, nrows, &s2) ||
            c.impl.merge(&c.cx, &s1, &s2, c.impl.data) || agg_text(&c, &s1, got, sizeof got)) {
            fprintf(stderr, "%s:%d: %s merge failed: %s\n", file, line, name, E.msg);
            mp_test_failed_checks++;
        } else if (strcmp(got, expect) != 0) {
            fprintf(stderr, "%s:%d: %s merged gave %s, expected %s\n", file, line, name, got,
                    expect);
            mp_test_failed_checks++;
        }
    }
    agg_free(&c);
}

#define AGG_EXPECT(name, types, nargs, expect, rettype, ...)                                       \
    agg_expect(__FILE__, __LINE__, name, types, nargs, ARGS(__VA_ARGS__),                          \
               NARGS(__VA_ARGS__) / (nargs), expect, rettype)

static void test_aggregates(void)
{
    /* COUNT(*) is COUNT with no arguments */
    {
        agg_case c;
        REQUIRE(agg_bind(&c, "COUNT", NULL, 0, NULL) == 0);
        mp_value st, res;
        REQUIRE(c.impl.init(&c.cx, &st, c.impl.data) == 0);
        for (int i = 0; i < 4; i++)
            REQUIRE(c.impl.add(&c.cx, &st, NULL, 0, c.impl.data) == 0);
        REQUIRE(c.impl.result(&c.cx, &st, &res, c.impl.data) == 0);
        CHECK(res.kind == MP_TYPE_BIGINT && res.u.i64 == 4);
        agg_free(&c);
    }
    AGG_EXPECT("COUNT", NULL, 1, "2", "BIGINT", I(1), NUL(MP_TYPE_INTEGER), I(3));
    AGG_EXPECT("COUNT", "STRING", 1, "0", "BIGINT", NUL(MP_TYPE_STRING), NUL(MP_TYPE_STRING));

    AGG_EXPECT("SUM", NULL, 1, "6", "INTEGER", I(1), NUL(MP_TYPE_INTEGER), I(2), I(3));
    AGG_EXPECT("SUM", "INTEGER", 1, "0", "INTEGER", NUL(MP_TYPE_INTEGER), NUL(MP_TYPE_INTEGER));
    AGG_EXPECT("SUM", NULL, 1, "-2147483648", "INTEGER", I(INT32_MAX), I(1)); /* wraps as Java */
    AGG_EXPECT("SUM", NULL, 1, "5000000000", "BIGINT", L(2500000000LL), L(2500000000LL));
    AGG_EXPECT("SUM", NULL, 1, "4.0", "DOUBLE", D(1.5), D(2.5));
    AGG_EXPECT("SUM", NULL, 1, "3.75", "DECIMAL(4, 2)", DEC("1.25", 4, 2), DEC("2.50", 4, 2));
    {
        agg_case c;
        mp_value rows[] = {DEC("9.99", 3, 2), DEC("0.02", 3, 2)};
        REQUIRE(agg_bind(&c, "SUM", NULL, 1, rows) == 0);
        mp_value st;
        CHECK(agg_fold(&c, rows, 1, 0, 2, &st) == MP_EINPUT);
        CHECK_STR_CONTAINS(E.msg, "Numeric field overflow");
        agg_free(&c);
    }

    AGG_EXPECT("AVG", NULL, 1, "2.3333333333333335", "DOUBLE", I(1), I(2), NUL(MP_TYPE_INTEGER),
               I(4));
    AGG_EXPECT("AVG", NULL, 1, "2.0", "DOUBLE", D(1.5), D(2.5));
    AGG_EXPECT("AVG", NULL, 1, "1.25", "DOUBLE", DEC("1.00", 3, 2), DEC("1.50", 3, 2));
    AGG_EXPECT("AVG", "BIGINT", 1, "0.0", "DOUBLE", NUL(MP_TYPE_BIGINT), NUL(MP_TYPE_BIGINT));

    AGG_EXPECT("MAX", NULL, 1, "9", "INTEGER", I(3), NUL(MP_TYPE_INTEGER), I(9), I(-1));
    AGG_EXPECT("MIN", NULL, 1, "-1", "INTEGER", I(3), NUL(MP_TYPE_INTEGER), I(9), I(-1));
    AGG_EXPECT("MAX", NULL, 1, "pear", "STRING", S("apple"), S("pear"), S("fig"), S("banana"));
    AGG_EXPECT("MIN", "INTEGER", 1, "null", "INTEGER", NUL(MP_TYPE_INTEGER), NUL(MP_TYPE_INTEGER));
    AGG_EXPECT("MAX", NULL, 1, "1970-01-02T00:00:00.000", "TIMESTAMP", TS(86400000), TS(0));

    AGG_EXPECT("COUNT_DISTINCT", NULL, 1, "3", "BIGINT", I(1), I(2), I(2), NUL(MP_TYPE_INTEGER),
               I(3), I(1));
    AGG_EXPECT("COLLECT_LIST", NULL, 1, "[1,null,2,1]", "ARRAY<INTEGER>", I(1),
               NUL(MP_TYPE_INTEGER), I(2), I(1));
    AGG_EXPECT("COLLECT_SET", NULL, 1, "[1,null,2]", "ARRAY<INTEGER>", I(1), NUL(MP_TYPE_INTEGER),
               I(1), NUL(MP_TYPE_INTEGER), I(2));

    AGG_EXPECT("TOPK", NULL, 2, "[9,9,5]", "ARRAY<INTEGER>", I(5), I(3), I(1), I(3),
               NUL(MP_TYPE_INTEGER), I(3), I(9), I(3), I(3), I(3), I(9), I(3));
    AGG_EXPECT("TOPKDISTINCT", NULL, 2, "[9,5,3]", "ARRAY<INTEGER>", I(5), I(3), I(1), I(3),
               NUL(MP_TYPE_INTEGER), I(3), I(9), I(3), I(3), I(3), I(9), I(3));
    AGG_EXPECT("TOPK", NULL, 2, "[\"z\",\"m\"]", "ARRAY<STRING>", S("a"), I(2), S("z"), I(2),
               S("m"), I(2));
    AGG_EXPECT("TOPK", NULL, 2, "[1]", "ARRAY<INTEGER>", I(1), I(5));
    {
        agg_case c;
        mp_value row[] = {I(1), I(3)};
        mp_type *ts[2] = {mp_type_new(MP_TYPE_INTEGER), mp_type_new(MP_TYPE_INTEGER)};
        const mp_type *cts[2] = {ts[0], ts[1]};
        const mp_value *no_lits[2] = {NULL, NULL};
        const mp_fn_def *d = mp_fn_lookup(R, "TOPK");
        memset(&c, 0, sizeof c);
        CHECK(d->aggregate(cts, no_lits, 2, &c.impl, &E) == MP_EINVAL);
        CHECK_STR_CONTAINS(E.msg, "k must be an INTEGER literal");
        free_types(ts, 2);
        row[1] = I(0);
        CHECK(agg_bind(&c, "TOPK", NULL, 2, row) == MP_EINVAL);
        CHECK_STR_CONTAINS(E.msg, "k must be between 1");
        row[0] = B(true);
        row[1] = I(2);
        CHECK(agg_bind(&c, "TOPK", NULL, 2, row) == MP_EINVAL);
        CHECK_STR_CONTAINS(E.msg, "Function 'TOPK' does not accept parameters (BOOLEAN, INTEGER)");
    }

    /* ignoreNulls defaults to true */
    AGG_EXPECT("EARLIEST_BY_OFFSET", NULL, 1, "2", "INTEGER", NUL(MP_TYPE_INTEGER), I(2), I(3),
               I(4));
    AGG_EXPECT("EARLIEST_BY_OFFSET", NULL, 2, "null", "INTEGER", NUL(MP_TYPE_INTEGER), B(false),
               I(2), B(false), I(3), B(false));
    AGG_EXPECT("LATEST_BY_OFFSET", NULL, 1, "2", "INTEGER", I(1), I(2), NUL(MP_TYPE_INTEGER),
               NUL(MP_TYPE_INTEGER));
    AGG_EXPECT("LATEST_BY_OFFSET", NULL, 2, "null", "INTEGER", I(1), B(false), I(2), B(false),
               NUL(MP_TYPE_INTEGER), B(false), NUL(MP_TYPE_INTEGER), B(false));
    AGG_EXPECT("LATEST_BY_OFFSET", NULL, 2, "[\"c\",\"d\"]", "ARRAY<STRING>", S("a"), I(2), S("b"),
               I(2), S("c"), I(2), NUL(MP_TYPE_STRING), I(2), S("d"), I(2));
    AGG_EXPECT("EARLIEST_BY_OFFSET", NULL, 2, "[\"a\",\"b\"]", "ARRAY<STRING>", NUL(MP_TYPE_STRING),
               I(2), S("a"), I(2), S("b"), I(2), S("c"), I(2));
    AGG_EXPECT("EARLIEST_BY_OFFSET", NULL, 3, "[null,\"a\"]", "ARRAY<STRING>", NUL(MP_TYPE_STRING),
               I(2), B(false), S("a"), I(2), B(false), S("b"), I(2), B(false));
    AGG_EXPECT("LATEST_BY_OFFSET", "INTEGER", 1, "null", "INTEGER", NUL(MP_TYPE_INTEGER),
               NUL(MP_TYPE_INTEGER));
    {
        agg_case c;
        mp_value row[] = {I(1), I(0)};
        CHECK(agg_bind(&c, "LATEST_BY_OFFSET", NULL, 2, row) == MP_EINVAL);
        CHECK_STR_CONTAINS(E.msg, "n must be between 1");
    }

    /* sample standard deviation of 2 4 4 4 5 5 7 9: sqrt(32 / 7) */
    AGG_EXPECT("STDDEV_SAMP", NULL, 1, "2.138089935299395", "DOUBLE", I(2), I(4), I(4), I(4),
               NUL(MP_TYPE_INTEGER), I(5), I(5), I(7), I(9));
    AGG_EXPECT("STDDEV_SAMP", NULL, 1, "0.0", "DOUBLE", D(3.5));
    AGG_EXPECT("STDDEV_SAMP", NULL, 1, "0.0", "DOUBLE", D(3.5), D(3.5));

    AGG_EXPECT("HISTOGRAM", NULL, 1, "{\"a\":2,\"b\":1}", "MAP<STRING, BIGINT>", S("a"), S("b"),
               NUL(MP_TYPE_STRING), S("a"));
    {
        /* at most 1000 distinct values are counted */
        agg_case c;
        mp_value row = S("x");
        REQUIRE(agg_bind(&c, "HISTOGRAM", NULL, 1, &row) == 0);
        mp_value st;
        REQUIRE(c.impl.init(&c.cx, &st, c.impl.data) == 0);
        char keys[1005][8];
        for (int i = 0; i < 1005; i++) {
            snprintf(keys[i], sizeof keys[i], "k%d", i);
            mp_value v = S(keys[i]);
            REQUIRE(c.impl.add(&c.cx, &st, &v, 1, c.impl.data) == 0);
        }
        mp_value again = S("k3");
        REQUIRE(c.impl.add(&c.cx, &st, &again, 1, c.impl.data) == 0);
        CHECK(st.len == 1000);
        CHECK(st.u.items[7].u.i64 == 2); /* k3 counted twice */
        agg_free(&c);
        mp_arena_reset(&A);
    }

    {
        agg_case c;
        mp_value row = S("x");
        CHECK(agg_bind(&c, "SUM", NULL, 1, &row) == MP_EINVAL);
        CHECK_STR_CONTAINS(E.msg, "Function 'SUM' does not accept parameters (STRING)");
        CHECK(agg_bind(&c, "AVG", NULL, 1, &row) == MP_EINVAL);
        CHECK(agg_bind(&c, "HISTOGRAM", NULL, 1, ARGS(I(1))) == MP_EINVAL);
        CHECK(agg_bind(&c, "COUNT", NULL, 2, ARGS(I(1), I(2))) == MP_EINVAL);
        CHECK(agg_bind(&c, "MAX", NULL, 1, ARGS(B(true))) == MP_EINVAL);
    }
}

/* ---- the table function ---- */

static void test_explode(void)
{
    const mp_fn_def *d = mp_fn_lookup(R, "EXPLODE");
    REQUIRE(d && d->kind == MP_FN_TABLE);
    mp_type *t = NULL;
    REQUIRE(mp_type_parse("ARRAY<STRING>", &t, NULL) == 0);
    const mp_type *args[1] = {t};
    mp_table_impl impl = {0};
    REQUIRE(d->table(args, NULL, 1, &impl, &E) == 0);
    CHECK(impl.ret->kind == MP_TYPE_STRING);
    mp_fn_ctx cx = {&A, &E};
    mp_value arr = ARR(3, S("a"), NUL(MP_TYPE_STRING), S("c"));
    mp_value *rows = NULL;
    size_t n = 99;
    REQUIRE(impl.fn(&cx, &arr, 1, &rows, &n, impl.data) == 0);
    REQUIRE(n == 3);
    CHECK(rows[0].len == 1 && rows[0].u.str[0] == 'a');
    CHECK(rows[1].null);
    CHECK(rows[2].u.str[0] == 'c');
    mp_value none = NUL(MP_TYPE_ARRAY);
    REQUIRE(impl.fn(&cx, &none, 1, &rows, &n, impl.data) == 0);
    CHECK(n == 0);
    mp_value empty = ARR(0);
    REQUIRE(impl.fn(&cx, &empty, 1, &rows, &n, impl.data) == 0);
    CHECK(n == 0);
    mp_type_free(impl.ret);
    mp_type_free(t);

    REQUIRE(mp_type_parse("MAP<STRING, INTEGER>", &t, NULL) == 0);
    args[0] = t;
    CHECK(d->table(args, NULL, 1, &impl, &E) == MP_EINVAL);
    CHECK_STR_CONTAINS(E.msg,
                       "Function 'EXPLODE' does not accept parameters (MAP<STRING, INTEGER>)");
    mp_type_free(t);
}

/* ---- several threads at once (zone cache, case tables, RANDOM) ---- */

static const char *const ZONES[4] = {"Asia/Tokyo", "Europe/Berlin", "America/Chicago",
                                     "Australia/Perth"};
static const char *const ZONE_TEXT[4] = {"2021-07-15 21:00", "2021-07-15 14:00", "2021-07-15 07:00",
                                         "2021-07-15 20:00"};

static void *worker(void *arg)
{
    int k = (int)(intptr_t)arg, bad = 0;
    mp_arena a;
    mp_arena_init(&a, 0);
    mp_error e;
    const mp_fn_def *fmt = mp_fn_lookup(R, "FORMAT_TIMESTAMP");
    const mp_fn_def *up = mp_fn_lookup(R, "UCASE");
    mp_type *ts = mp_type_new(MP_TYPE_TIMESTAMP), *st = mp_type_new(MP_TYPE_STRING);
    const mp_type *fa[3] = {ts, st, st}, *ua[1] = {st};
    mp_scalar_impl fi = {0}, ui = {0};
    if (!ts || !st || fmt->scalar(fa, NULL, 3, &fi, &e) || up->scalar(ua, NULL, 1, &ui, &e))
        bad++;
    for (int i = 0; i < 200 && !bad; i++) {
        mp_fn_ctx cx = {&a, &e};
        const char *z = ZONES[(k + i) % 4];
        mp_value args[3] = {mp_v_timestamp(1626350400000LL), S("yyyy-MM-dd HH:mm"), S(z)};
        mp_value out;
        if (fi.fn(&cx, args, 3, &out, fi.data) || strcmp(out.u.str, ZONE_TEXT[(k + i) % 4]) != 0)
            bad++;
        mp_value w = S("gr\xc3\xbc\xc3\x9f dich");
        if (ui.fn(&cx, &w, 1, &out, ui.data) || strcmp(out.u.str, "GR\xc3\x9c\xc3\x9f DICH") != 0)
            bad++;
        mp_arena_reset(&a);
    }
    mp_type_free(fi.ret);
    mp_type_free(ui.ret);
    mp_type_free(ts);
    mp_type_free(st);
    mp_arena_free(&a);
    return (void *)(intptr_t)bad;
}

static void test_threads(void)
{
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        REQUIRE(pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < 4; i++) {
        void *bad;
        pthread_join(th[i], &bad);
        CHECK((intptr_t)bad == 0);
    }
}

int main(void)
{
    mp_arena_init(&A, 0);
    if (mp_fn_registry_new(&R, &E)) {
        fprintf(stderr, "registry: %s\n", E.msg);
        return 1;
    }
    RUN(test_registry);
    RUN(test_bind_errors);
    RUN(test_math);
    RUN(test_string_basic);
    RUN(test_string_search);
    RUN(test_regexp);
    RUN(test_mask_chr_encode);
    RUN(test_convert);
    RUN(test_null_functions);
    RUN(test_datetime_format);
    RUN(test_datetime_parse);
    RUN(test_datetime_arith);
    RUN(test_json);
    RUN(test_collections);
    RUN(test_aggregates);
    RUN(test_explode);
    RUN(test_threads);
    mp_fn_registry_free(R);
    mp_arena_free(&A);
    return TEST_SUMMARY();
}
