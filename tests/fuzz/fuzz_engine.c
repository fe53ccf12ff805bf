/* libFuzzer target: any expression through the engine's expression path —
 * parse, bind and compile against a fixed schema, then evaluate on a few
 * fixed records (not through the log) — as a select item, a WHERE
 * condition, an item beside table functions (EXPLODE, zipped) or an item
 * over aggregates. The first byte picks the mode, the rest is the SQL.
 *
 * Invariants checked: nothing crashes or leaks; a bind error names a
 * position; evaluation either succeeds with a value that conforms to the
 * expression's type (its kind, and mp_value_check), or fails with a
 * message and a NULL of that type; a condition is 0, 1 or an error. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql/sql_expr.h"
#include "sql/sql_parser.h"

static void die(const char *what, const char *a, const char *b)
{
    fprintf(stderr, "fuzz_engine: %s\n%s\n%s\n", what, a ? a : "", b ? b : "");
    __builtin_trap();
}

enum { NCOLS = 14, NROWS = 3, MAX_OUT = 64 };

static const char *const col_names[NCOLS] = {"I",  "L",  "D",   "N", "S",  "B",   "TS",
                                             "DT", "TM", "ARR", "M", "ST", "AS2", "BY"};
static const char *const col_types[NCOLS] = {
    "INTEGER", "BIGINT", "DOUBLE", "DECIMAL(5, 2)", "STRING", "BOOLEAN", "TIMESTAMP", "DATE",
    "TIME", "ARRAY<INTEGER>", "MAP<STRING, INTEGER>", "STRUCT<A INTEGER, S STRING>",
    "ARRAY<ARRAY<STRING>>", "BYTES"};

static mp_type *g_types[NCOLS];
static mp_sql_scope_col g_cols[NCOLS];
static mp_value g_rows[NROWS][NCOLS];
static mp_arena g_data;
static mp_fn_registry *g_fns;

static void fill_row(mp_value *r, int k)
{
    if (k == 1) { /* every column NULL */
        for (int c = 0; c < NCOLS; c++)
            r[c] = mp_v_null_of(g_types[c]);
        return;
    }
    int big = k == 2;
    mp_decimal d = {.unscaled = big ? -99999 : 1234, .precision = 5, .scale = 2};
    r[0] = mp_v_int(big ? INT32_MIN : 7);
    r[1] = mp_v_bigint(big ? INT64_MAX : 10000000000LL);
    r[2] = mp_v_double(big ? -0.0 : 2.5);
    r[3] = mp_v_decimal(&d);
    r[4] = big ? mp_v_string_ref("", 0) : mp_v_string_ref("h\xc3\xa9llo", 6);
    r[5] = mp_v_bool(!big);
    r[6] = mp_v_timestamp(big ? -1 : 1510617598000LL);
    r[7] = mp_v_date(big ? -719528 : 17483);
    r[8] = mp_v_time(big ? 86399999 : 36930000);
    size_t na = big ? 0 : 3;
    mp_v_array(&g_data, na, g_types[9]->elem, &r[9]);
    for (size_t i = 0; i < na; i++)
        r[9].u.items[i] = i == 1 ? mp_v_null(MP_TYPE_INTEGER) : mp_v_int(10 * ((int)i + 1));
    mp_v_map(&g_data, big ? 0 : 2, g_types[10]->key, g_types[10]->elem, &r[10]);
    if (!big) {
        r[10].u.items[0] = mp_v_string_ref("a", 1);
        r[10].u.items[1] = mp_v_int(1);
        r[10].u.items[2] = mp_v_string_ref("b", 1);
        r[10].u.items[3] = mp_v_null(MP_TYPE_INTEGER);
    }
    mp_v_struct(&g_data, g_types[11], &r[11]);
    r[11].u.st.fields[0] = mp_v_int(big ? -1 : 1);
    r[11].u.st.fields[1] = big ? mp_v_null(MP_TYPE_STRING) : mp_v_string_ref("x", 1);
    mp_v_array(&g_data, 1, g_types[12]->elem, &r[12]);
    mp_v_array(&g_data, big ? 0 : 2, g_types[12]->elem->elem, &r[12].u.items[0]);
    if (!big) {
        r[12].u.items[0].u.items[0] = mp_v_string_ref("p", 1);
        r[12].u.items[0].u.items[1] = mp_v_string_ref("q", 1);
    }
    mp_v_bytes(&g_data, "\x00\xff", big ? 0 : 2, &r[13]);
}

static int setup(void)
{
    mp_error e = {0};
    mp_arena_init(&g_data, 0);
    for (int i = 0; i < NCOLS; i++) {
        if (mp_type_parse(col_types[i], &g_types[i], &e))
            return -1;
        g_cols[i] = (mp_sql_scope_col){col_names[i], "T", g_types[i]};
    }
    if (mp_fn_registry_new(&g_fns, &e))
        return -1;
    for (int k = 0; k < NROWS; k++) {
        fill_row(g_rows[k], k);
        for (int c = 0; c < NCOLS; c++)
            if (mp_value_check(&g_rows[k][c], g_types[c], &e))
                die("bad fixture", col_names[c], e.msg);
    }
    return 0;
}

/* A successful evaluation gives a value of the expression's type; a
 * failed one a message and a NULL of that type. */
static void check_value(int rc, const mp_value *v, const mp_sql_cexpr *c, const mp_error *e,
                        const char *sql)
{
    const mp_type *t = mp_sql_cexpr_type(c);
    if (rc) {
        if (rc > 0 || !e->msg[0])
            die("an evaluation error without a message", sql, e->msg);
        if (!v->null)
            die("an evaluation error with a value", sql, e->msg);
        return;
    }
    if (v->kind != t->kind)
        die("value kind differs from the type's", sql, NULL);
    mp_error ce = {0};
    if (t->kind != MP_TYPE_NULL && mp_value_check(v, t, &ce))
        die("value does not conform to its type", sql, ce.msg);
}

static void run(int mode, const char *sql, size_t len)
{
    mp_sql_expr *x = NULL;
    mp_error e = {0};
    if (mp_sql_parse_expr(sql, len, &x, NULL, &e))
        return;
    mp_sql_aggs aggs = {0};
    mp_sql_tfns tfns = {0};
    mp_sql_scope in = {.ncols = NCOLS, .cols = g_cols, .fns = g_fns};
    mp_sql_scope sc = in;
    if (mode == 1) {
        tfns.first_slot = NCOLS;
        sc.tfns = &tfns;
    } else if (mode == 2) {
        aggs.input = &in;
        aggs.first_slot = NCOLS;
        sc.aggs = &aggs;
    }
    mp_sql_cexpr *c = NULL;
    if (mp_sql_compile(x, &sc, &c, &e)) {
        if (strncmp(e.msg, "line ", 5) != 0 && e.code != MP_ENOMEM)
            die("bind error without a position", sql, e.msg);
        mp_sql_expr_free(x);
        mp_sql_aggs_free(&aggs);
        mp_sql_tfns_free(&tfns);
        return;
    }
    char *text = strndup(sql, len);
    mp_value row[NCOLS + 64];
    mp_arena a;
    mp_arena_init(&a, 0);
    mp_value states[64];
    size_t nagg = aggs.n < 64 ? aggs.n : 64;
    if (mode == 2) {
        mp_fn_ctx cx = {&a, &e};
        for (size_t k = 0; k < nagg; k++)
            if (aggs.calls[k].impl.init(&cx, &states[k], aggs.calls[k].impl.data))
                states[k] = mp_v_null_of(aggs.calls[k].impl.state_type);
    }
    for (int r = 0; r < NROWS; r++) {
        memcpy(row, g_rows[r], sizeof g_rows[r]);
        mp_fn_ctx cx = {&a, &e};
        mp_value v;
        if (mode == 0) {
            check_value(mp_sql_eval(c, row, &cx, &v), &v, c, &e, text);
            int ok = mp_sql_eval_cond(c, row, &cx);
            if (ok > 1)
                die("a condition other than 0, 1 or an error", text, NULL);
        } else if (mode == 1 && tfns.n <= 8) {
            /* the engine's flat map: the table functions zipped */
            mp_value *vals[8];
            size_t cnt[8], nout = 0;
            int bad = 0;
            for (size_t k = 0; k < tfns.n; k++) {
                if (mp_sql_tfn_eval(&tfns, k, row, &cx, &vals[k], &cnt[k]))
                    bad = 1, cnt[k] = 0;
                if (cnt[k] > nout)
                    nout = cnt[k];
            }
            (void)bad;
            if (!tfns.n)
                nout = 1;
            for (size_t i = 0; i < nout && i < MAX_OUT; i++) {
                for (size_t k = 0; k < tfns.n; k++)
                    row[NCOLS + k] =
                        i < cnt[k] ? vals[k][i] : mp_v_null_of(tfns.calls[k].impl.ret);
                check_value(mp_sql_eval(c, row, &cx, &v), &v, c, &e, text);
            }
        } else if (mode == 2) {
            /* fold the record into each aggregate, then read the results */
            for (size_t k = 0; k < nagg; k++) {
                const mp_sql_agg_call *ac = &aggs.calls[k];
                mp_value args[8];
                size_t na = ac->nargs < 8 ? ac->nargs : 8;
                int skip = 0;
                for (size_t i = 0; i < na; i++)
                    if (mp_sql_eval(ac->args[i], row, &cx, &args[i]))
                        skip = 1;
                if (!skip && ac->impl.add(&cx, &states[k], args, na, ac->impl.data))
                    continue;
                if (ac->impl.result(&cx, &states[k], &row[NCOLS + k], ac->impl.data))
                    row[NCOLS + k] = mp_v_null_of(ac->impl.ret);
            }
            if (nagg == aggs.n)
                check_value(mp_sql_eval(c, row, &cx, &v), &v, c, &e, text);
        }
    }
    mp_arena_free(&a);
    free(text);
    mp_sql_cexpr_free(c);
    mp_sql_expr_free(x);
    mp_sql_aggs_free(&aggs);
    mp_sql_tfns_free(&tfns);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (setup())
            die("setup failed", NULL, NULL);
        ready = 1;
    }
    if (size < 1 || size > 2048)
        return 0;
    run(data[0] % 3, (const char *)data + 1, size - 1);
    return 0;
}
