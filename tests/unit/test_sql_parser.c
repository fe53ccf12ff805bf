#include <stdlib.h>
#include <string.h>

#include "sql/sql_parser.h"
#include "test.h"

/* ---- helpers ---- */

/* Parses sql as a script, checks the canonical print (when want is not
 * NULL), that the print parses back to an equal tree and prints the same
 * again. Returns the number of statements, or -1 on a parse error. */
static int roundtrip(const char *sql, const char *want)
{
    mp_sql_script *s = NULL, *again = NULL;
    mp_error e = {0};
    if (mp_sql_parse_script(sql, strlen(sql), &s, NULL, &e) != 0) {
        fprintf(stderr, "parse failed: %s\n  in: %s\n", e.msg, sql);
        mp_test_failed_checks++;
        return -1;
    }
    mp_buf one = {0}, two = {0};
    CHECK(mp_sql_script_print(s, 0, &one) == 0);
    const char *got = one.data ? one.data : "";
    if (want && strcmp(got, want) != 0) {
        fprintf(stderr, "canonical print differs\n  in:   %s\n  got:  %s  want: %s", sql, got,
                want);
        mp_test_failed_checks++;
    }
    if (mp_sql_parse_script(got, one.len, &again, NULL, &e) != 0) {
        fprintf(stderr, "reparse failed: %s\n  in: %s\n", e.msg, got);
        mp_test_failed_checks++;
    } else {
        if (!mp_sql_script_equal(s, again)) {
            fprintf(stderr, "reparsed tree differs for: %s", got);
            mp_test_failed_checks++;
        }
        CHECK(mp_sql_script_print(again, 0, &two) == 0);
        CHECK(two.data && strcmp(got, two.data) == 0);
    }
    int n = (int)s->n;
    mp_sql_script_free(again);
    mp_sql_script_free(s);
    mp_buf_free(&one);
    mp_buf_free(&two);
    return n;
}

/* The expression printed with every compound part parenthesised. */
static char *grouping(const char *expr)
{
    mp_sql_expr *x = NULL;
    mp_error e = {0};
    if (mp_sql_parse_expr(expr, strlen(expr), &x, NULL, &e) != 0) {
        fprintf(stderr, "expression failed: %s\n  in: %s\n", e.msg, expr);
        return NULL;
    }
    mp_buf b = {0};
    mp_sql_expr_print(x, MP_SQL_PRINT_PARENS, &b);
    mp_sql_expr_free(x);
    return mp_buf_take(&b);
}

static void check_grouping(const char *expr, const char *want)
{
    char *got = grouping(expr);
    if (!got || strcmp(got, want) != 0) {
        fprintf(stderr, "grouping of %s: got %s, want %s\n", expr, got ? got : "(error)", want);
        mp_test_failed_checks++;
    }
    free(got);
}

static mp_sql_stmt *stmt(const char *sql)
{
    mp_sql_stmt *s = NULL;
    mp_error e = {0};
    if (mp_sql_parse_statement(sql, strlen(sql), &s, NULL, &e) != 0)
        fprintf(stderr, "statement failed: %s\n  in: %s\n", e.msg, sql);
    return s;
}

static mp_sql_expr *expr(const char *sql)
{
    mp_sql_expr *x = NULL;
    mp_error e = {0};
    if (mp_sql_parse_expr(sql, strlen(sql), &x, NULL, &e) != 0)
        fprintf(stderr, "expression failed: %s\n  in: %s\n", e.msg, sql);
    return x;
}

/* A script that must fail at line:col with msg in the message. */
static void check_error_len(const char *sql, size_t len, unsigned line, unsigned col,
                            const char *msg)
{
    mp_sql_script *s = NULL;
    mp_error e = {0};
    mp_sql_pos pos = {0};
    int rc = mp_sql_parse_script(sql, len, &s, &pos, &e);
    char want[64];
    snprintf(want, sizeof want, "line %u:%u: ", line, col);
    bool ok = rc == MP_EINPUT && s == NULL && e.code == MP_EINPUT &&
              strncmp(e.msg, want, strlen(want)) == 0 && strstr(e.msg, msg) && pos.line == line &&
              pos.col == col;
    if (!ok) {
        fprintf(stderr, "error case failed\n  in:   %s\n  got:  rc %d \"%s\" at %u:%u\n"
                        "  want: \"%s...%s\"\n",
                sql, rc, e.msg, pos.line, pos.col, want, msg);
        mp_test_failed_checks++;
    }
    mp_sql_script_free(s);
}

static void check_error(const char *sql, unsigned line, unsigned col, const char *msg)
{
    check_error_len(sql, strlen(sql), line, col, msg);
}

/* ---- the talk's statements ---- */

static void test_talk_statements(void)
{
    CHECK(roundtrip("CREATE STREAM pageviews (viewtime BIGINT, userid VARCHAR, pageid VARCHAR) "
                    "WITH (KAFKA_TOPIC='pageviews', VALUE_FORMAT='DELIMITED');",
                    "CREATE STREAM PAGEVIEWS (VIEWTIME BIGINT, USERID STRING, PAGEID STRING) "
                    "WITH (KAFKA_TOPIC='pageviews', VALUE_FORMAT='DELIMITED');\n") == 1);
    CHECK(roundtrip("SELECT * FROM pageviews WHERE ROWTIME >= 1510923225000 AND ROWTIME <= "
                    "1510923228000 EMIT CHANGES;",
                    "SELECT * FROM PAGEVIEWS WHERE ROWTIME >= 1510923225000 AND ROWTIME <= "
                    "1510923228000 EMIT CHANGES;\n") == 1);
    CHECK(roundtrip("CREATE STREAM pageviews_female AS SELECT * FROM pageviews WHERE gender = "
                    "'FEMALE';",
                    "CREATE STREAM PAGEVIEWS_FEMALE AS SELECT * FROM PAGEVIEWS WHERE GENDER = "
                    "'FEMALE';\n") == 1);
    CHECK(roundtrip("SELECT car_id, event_id, ANOMALY(sensor_input) FROM car_sensor EMIT CHANGES;",
                    "SELECT CAR_ID, EVENT_ID, ANOMALY(SENSOR_INPUT) FROM CAR_SENSOR EMIT "
                    "CHANGES;\n") == 1);
    CHECK(roundtrip("SELECT REVERSE(userid) FROM pageviews EMIT CHANGES LIMIT 3;",
                    "SELECT REVERSE(USERID) FROM PAGEVIEWS EMIT CHANGES LIMIT 3;\n") == 1);

    /* and their fields */
    mp_sql_stmt *s = stmt("CREATE STREAM pageviews (viewtime BIGINT, userid VARCHAR, pageid "
                          "VARCHAR) WITH (KAFKA_TOPIC='pageviews', VALUE_FORMAT='DELIMITED');");
    REQUIRE(s);
    CHECK(s->kind == MP_SQL_STMT_CREATE_SOURCE && s->object == MP_SQL_OBJ_STREAM);
    CHECK(strcmp(s->name, "PAGEVIEWS") == 0 && s->has_columns && s->ncolumns == 3);
    CHECK(strcmp(s->columns[0].name, "VIEWTIME") == 0);
    CHECK(s->columns[0].type->kind == MP_SQL_TYPE_BIGINT);
    CHECK(s->columns[1].type->kind == MP_SQL_TYPE_STRING);
    CHECK(s->columns[2].constraint == MP_SQL_COL_VALUE);
    CHECK(s->nprops == 2 && strcmp(s->props[0].name, "KAFKA_TOPIC") == 0);
    CHECK(s->props[0].value->kind == MP_SQL_EXPR_STRING);
    CHECK(strcmp(s->props[0].value->str, "pageviews") == 0);
    CHECK(strcmp(s->props[1].value->str, "DELIMITED") == 0);
    mp_sql_stmt_free(s);

    s = stmt("SELECT REVERSE(userid) FROM pageviews EMIT CHANGES LIMIT 3");
    REQUIRE(s);
    CHECK(s->kind == MP_SQL_STMT_QUERY && s->query->emit == MP_SQL_EMIT_CHANGES);
    CHECK(s->query->has_limit && s->query->limit == 3);
    CHECK(s->query->nitems == 1 && s->query->items[0].expr->kind == MP_SQL_EXPR_CALL);
    CHECK(strcmp(s->query->items[0].expr->name, "REVERSE") == 0);
    CHECK(s->query->items[0].expr->n == 1);
    CHECK(strcmp(s->query->from.name, "PAGEVIEWS") == 0 && s->query->from.alias == NULL);
    mp_sql_stmt_free(s);

    s = stmt("SELECT * FROM pageviews WHERE ROWTIME >= 1510923225000 AND ROWTIME <= "
             "1510923228000 EMIT CHANGES");
    REQUIRE(s);
    const mp_sql_expr *w = s->query->where;
    CHECK(w->kind == MP_SQL_EXPR_BINARY && w->op == MP_SQL_OP_AND);
    CHECK(w->a->op == MP_SQL_OP_GE && w->a->b->kind == MP_SQL_EXPR_INT);
    CHECK(w->a->b->i == INT64_C(1510923225000));
    CHECK(w->b->op == MP_SQL_OP_LE && strcmp(w->b->a->name, "ROWTIME") == 0);
    CHECK(s->query->items[0].kind == MP_SQL_ITEM_ALL);
    mp_sql_stmt_free(s);
}

/* ---- statements ---- */

static void test_create_source(void)
{
    CHECK(roundtrip("create or replace source table if not exists users (id bigint primary key, "
                    "name string, tags array<string>, addr struct<street string, `No.` int>, "
                    "attrs map<string, decimal(10, 2)>, h bytes header('trace'), hs "
                    "array<struct<key string, value bytes>> headers, k2 int key) with "
                    "(kafka_topic = 'users', 'value_format' = 'JSON', partitions = 3, "
                    "replicas = -1, wrap = true, x = null, ratio = 1.5, big = 1e3, "
                    "timestamp = 'ts')",
                    "CREATE OR REPLACE SOURCE TABLE IF NOT EXISTS USERS (ID BIGINT PRIMARY KEY, "
                    "NAME STRING, TAGS ARRAY<STRING>, ADDR STRUCT<STREET STRING, `No.` INTEGER>, "
                    "ATTRS MAP<STRING, DECIMAL(10, 2)>, H BYTES HEADER('trace'), HS "
                    "ARRAY<STRUCT<KEY STRING, VALUE BYTES>> HEADERS, K2 INTEGER KEY) WITH "
                    "(KAFKA_TOPIC='users', 'value_format'='JSON', PARTITIONS=3, REPLICAS=-1, "
                    "WRAP=TRUE, X=NULL, RATIO=1.5, BIG=1E3, TIMESTAMP='ts');\n") == 1);
    mp_sql_stmt *s = stmt("CREATE TABLE t (id INT PRIMARY KEY, h BYTES HEADER('k'), hs "
                          "ARRAY<STRUCT<KEY STRING, VALUE BYTES>> HEADERS, k STRING KEY) "
                          "WITH (KAFKA_TOPIC='t', PARTITIONS=-2)");
    REQUIRE(s);
    CHECK(s->object == MP_SQL_OBJ_TABLE && !s->or_replace && !s->is_source);
    REQUIRE(s->ncolumns == 4);
    CHECK(s->columns[0].constraint == MP_SQL_COL_PRIMARY_KEY);
    CHECK(s->columns[0].type->kind == MP_SQL_TYPE_INTEGER);
    CHECK(s->columns[1].constraint == MP_SQL_COL_HEADER);
    CHECK(strcmp(s->columns[1].header_key, "k") == 0);
    CHECK(s->columns[2].constraint == MP_SQL_COL_HEADERS);
    CHECK(s->columns[2].type->elem->kind == MP_SQL_TYPE_STRUCT);
    CHECK(s->columns[2].type->elem->nfields == 2);
    CHECK(s->columns[3].constraint == MP_SQL_COL_KEY);
    /* a negative number in WITH is a negative literal */
    CHECK(s->props[1].value->kind == MP_SQL_EXPR_INT && s->props[1].value->i == -2);
    mp_sql_stmt_free(s);
    /* columns and WITH are optional in the grammar */
    CHECK(roundtrip("CREATE STREAM s WITH (KAFKA_TOPIC='s', VALUE_FORMAT='AVRO');",
                    "CREATE STREAM S WITH (KAFKA_TOPIC='s', VALUE_FORMAT='AVRO');\n") == 1);
    CHECK(roundtrip("CREATE STREAM `s1` (k VARCHAR KEY, `@MY-identifier-stream-column!` INT) "
                    "WITH (kafka_topic = 's1', partitions = 3, value_format = 'json');",
                    "CREATE STREAM `s1` (K STRING KEY, `@MY-identifier-stream-column!` INTEGER) "
                    "WITH (KAFKA_TOPIC='s1', PARTITIONS=3, VALUE_FORMAT='json');\n") == 1);
}

static void test_types(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"boolean", "BOOLEAN"},
        {"INT", "INTEGER"},
        {"integer", "INTEGER"},
        {"BIGINT", "BIGINT"},
        {"DOUBLE", "DOUBLE"},
        {"decimal(5,0)", "DECIMAL(5, 0)"},
        {"STRING", "STRING"},
        {"varchar", "STRING"},
        {"BYTES", "BYTES"},
        {"TIMESTAMP", "TIMESTAMP"},
        {"DATE", "DATE"},
        {"TIME", "TIME"},
        {"ARRAY<ARRAY<INT>>", "ARRAY<ARRAY<INTEGER>>"},
        {"MAP<STRING, MAP<INT, ARRAY<DOUBLE>>>", "MAP<STRING, MAP<INTEGER, ARRAY<DOUBLE>>>"},
        {"STRUCT<a INT, `b c` STRUCT<d ARRAY<BYTES>>>",
         "STRUCT<A INTEGER, `b c` STRUCT<D ARRAY<BYTES>>>"},
        {"STRUCT<>", "STRUCT<>"},
        {"STRUCT< >", "STRUCT<>"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        mp_sql_type *t = NULL;
        mp_error e = {0};
        int rc = mp_sql_parse_type(cases[k].in, strlen(cases[k].in), &t, NULL, &e);
        CHECK(rc == 0);
        if (rc != 0) {
            fprintf(stderr, "type %s: %s\n", cases[k].in, e.msg);
            continue;
        }
        mp_buf b = {0};
        CHECK(mp_sql_type_print(t, &b) == 0);
        if (strcmp(b.data, cases[k].out) != 0)
            fprintf(stderr, "type %s printed %s\n", cases[k].in, b.data);
        CHECK(strcmp(b.data, cases[k].out) == 0);
        mp_sql_type *c = mp_sql_type_clone(t);
        CHECK(mp_sql_type_equal(t, c));
        mp_sql_type_free(c);
        mp_sql_type_free(t);
        mp_buf_free(&b);
    }
    mp_sql_type *t = NULL;
    mp_error e = {0};
    REQUIRE(mp_sql_parse_type("DECIMAL(38, 9)", 14, &t, NULL, &e) == 0);
    CHECK(t->kind == MP_SQL_TYPE_DECIMAL && t->precision == 38 && t->scale == 9);
    mp_sql_type_free(t);
    CHECK(mp_sql_parse_type("STRUCT<a INT, A BIGINT>", 23, &t, NULL, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "duplicate field 'A'");
    CHECK(mp_sql_parse_type("DECIMAL(0, 0)", 13, &t, NULL, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "precision must be at least 1");
    CHECK(mp_sql_parse_type("`INT`", 5, &t, NULL, &e) == MP_EINPUT);
    CHECK(t == NULL);
}

static void test_create_as_and_model(void)
{
    CHECK(roundtrip("CREATE OR REPLACE TABLE IF NOT EXISTS agg WITH (KAFKA_TOPIC='agg', "
                    "PARTITIONS=2) AS SELECT k, COUNT(*) AS n FROM s GROUP BY k EMIT CHANGES;",
                    "CREATE OR REPLACE TABLE IF NOT EXISTS AGG WITH (KAFKA_TOPIC='agg', "
                    "PARTITIONS=2) AS SELECT K, COUNT(*) AS N FROM S GROUP BY K EMIT "
                    "CHANGES;\n") == 1);
    mp_sql_stmt *s = stmt("CREATE MODEL iris_knn WITH (ALGORITHM='knn', TARGET='species', k=5) "
                          "AS SELECT * FROM iris");
    REQUIRE(s);
    CHECK(s->kind == MP_SQL_STMT_CREATE_AS && s->object == MP_SQL_OBJ_MODEL);
    CHECK(strcmp(s->name, "IRIS_KNN") == 0 && s->nprops == 3);
    CHECK(strcmp(s->props[0].name, "ALGORITHM") == 0);
    CHECK(strcmp(s->props[1].value->str, "species") == 0);
    CHECK(s->props[2].value->kind == MP_SQL_EXPR_INT && s->props[2].value->i == 5);
    CHECK(s->query && strcmp(s->query->from.name, "IRIS") == 0);
    mp_sql_stmt_free(s);
    CHECK(roundtrip("create model m with (algorithm = 'logistic_regression', target = 'y', "
                    "c = 0.5) as select a, b, y from train where a is not null;",
                    "CREATE MODEL M WITH (ALGORITHM='logistic_regression', TARGET='y', C=0.5) "
                    "AS SELECT A, B, Y FROM TRAIN WHERE A IS NOT NULL;\n") == 1);
}

static void test_insert(void)
{
    CHECK(roundtrip("INSERT INTO s1 (a, b) VALUES ('k1', 'v1'); INSERT INTO s1 VALUES (1, 2.5 * "
                    "2, NULL, TRUE, ARRAY[1], -3); INSERT INTO s1 VALUES ();"
                    "INSERT INTO out WITH (QUERY_ID='q1') SELECT * FROM s2 EMIT CHANGES; "
                    "INSERT INTO out SELECT a FROM s3;",
                    "INSERT INTO S1 (A, B) VALUES ('k1', 'v1');\n"
                    "INSERT INTO S1 VALUES (1, 2.5 * 2, NULL, TRUE, ARRAY[1], -3);\n"
                    "INSERT INTO S1 VALUES ();\n"
                    "INSERT INTO OUT WITH (QUERY_ID='q1') SELECT * FROM S2 EMIT CHANGES;\n"
                    "INSERT INTO OUT SELECT A FROM S3;\n") == 5);
    mp_sql_stmt *s = stmt("INSERT INTO s1 (a, `b`) VALUES ('k1', 2)");
    REQUIRE(s);
    CHECK(s->kind == MP_SQL_STMT_INSERT_VALUES && s->ninsert_columns == 2 && s->nvalues == 2);
    CHECK(strcmp(s->insert_columns[1], "b") == 0);
    CHECK(s->values[1]->kind == MP_SQL_EXPR_INT && s->values[1]->i == 2);
    mp_sql_stmt_free(s);
    /* VALUES holds value expressions: a predicate needs parentheses */
    CHECK(roundtrip("INSERT INTO t VALUES ((a = b));", "INSERT INTO T VALUES ((A = B));\n") == 1);
}

static void test_queries(void)
{
    CHECK(roundtrip(
              "SELECT o.id AS order_id, p.*, s.id sid, addr->*, (a + b)->* FROM orders o "
              "INNER JOIN payments AS p WITHIN 1 HOURS GRACE PERIOD 15 MINUTES ON p.id = o.id "
              "LEFT OUTER JOIN shipments s WITHIN (1 HOUR, 2 HOURS) ON s.id = o.id "
              "RIGHT JOIN r ON r.k = o.k FULL JOIN f WITHIN (5 SECONDS) ON f.k = o.k "
              "JOIN x ON x.k = o.k PARTITION BY o.id EMIT CHANGES",
              "SELECT O.ID AS ORDER_ID, P.*, S.ID AS SID, ADDR->*, (A + B)->* FROM ORDERS O "
              "INNER JOIN PAYMENTS P WITHIN 1 HOUR GRACE PERIOD 15 MINUTES ON P.ID = O.ID "
              "LEFT JOIN SHIPMENTS S WITHIN (1 HOUR, 2 HOURS) ON S.ID = O.ID "
              "RIGHT JOIN R ON R.K = O.K FULL OUTER JOIN F WITHIN 5 SECONDS ON F.K = O.K "
              "INNER JOIN X ON X.K = O.K PARTITION BY O.ID EMIT CHANGES;\n") == 1);
    mp_sql_stmt *s = stmt("SELECT * FROM a x LEFT JOIN b y WITHIN (1 HOUR, 2 HOURS) GRACE PERIOD "
                          "3 MINUTES ON x.k = y.k EMIT CHANGES");
    REQUIRE(s && s->query->njoins == 1);
    const mp_sql_join *j = &s->query->joins[0];
    CHECK(j->type == MP_SQL_JOIN_LEFT && strcmp(j->source.alias, "Y") == 0);
    CHECK(j->has_within && j->within_pair);
    CHECK(j->before.n == 1 && j->before.unit == MP_SQL_HOURS);
    CHECK(j->after.n == 2 && j->after.unit == MP_SQL_HOURS);
    CHECK(j->has_grace && j->grace.n == 3 && j->grace.unit == MP_SQL_MINUTES);
    CHECK(j->on->op == MP_SQL_OP_EQ && strcmp(j->on->a->qualifier, "X") == 0);
    int64_t ms = 0;
    CHECK(mp_sql_duration_ms(j->after, &ms) == 0 && ms == 7200000);
    mp_sql_duration huge = {INT64_MAX / 2, MP_SQL_DAYS};
    CHECK(mp_sql_duration_ms(huge, &ms) == MP_EINVAL);
    mp_sql_stmt_free(s);

    /* every clause, in ksqlDB's order */
    CHECK(roundtrip("select k, count(*) from s window tumbling (size 1 second, retention 2 days, "
                    "grace period 3 hours) where a > 1 group by k partition by k having "
                    "count(*) > 1 emit final limit 10",
                    "SELECT K, COUNT(*) FROM S WINDOW TUMBLING (SIZE 1 SECOND, RETENTION 2 DAYS, "
                    "GRACE PERIOD 3 HOURS) WHERE A > 1 GROUP BY K PARTITION BY K HAVING "
                    "COUNT(*) > 1 EMIT FINAL LIMIT 10;\n") == 1);
    CHECK(roundtrip("SELECT a FROM s WINDOW HOPPING (SIZE 20 SECONDS, ADVANCE BY 5 SECONDS) GROUP "
                    "BY a EMIT CHANGES; SELECT a FROM s WINDOW SESSION (60 SECONDS, GRACE PERIOD "
                    "1 MINUTE) GROUP BY (a, b) EMIT CHANGES; SELECT a FROM s WINDOW HOPPING "
                    "(SIZE 1 DAYS, ADVANCE BY 100 MILLISECONDS, RETENTION 7 DAY) GROUP BY ();",
                    "SELECT A FROM S WINDOW HOPPING (SIZE 20 SECONDS, ADVANCE BY 5 SECONDS) GROUP "
                    "BY A EMIT CHANGES;\n"
                    "SELECT A FROM S WINDOW SESSION (60 SECONDS, GRACE PERIOD 1 MINUTE) GROUP BY "
                    "A, B EMIT CHANGES;\n"
                    "SELECT A FROM S WINDOW HOPPING (SIZE 1 DAY, ADVANCE BY 100 MILLISECONDS, "
                    "RETENTION 7 DAYS) GROUP BY ();\n") == 3);
    s = stmt("SELECT a FROM s WINDOW HOPPING (SIZE 20 SECONDS, ADVANCE BY 5 SECONDS, RETENTION 1 "
             "DAY) GROUP BY (a + 1) * 2, b");
    REQUIRE(s && s->query->window);
    CHECK(s->query->window->kind == MP_SQL_WINDOW_HOPPING);
    CHECK(s->query->window->size.n == 20 && s->query->window->size.unit == MP_SQL_SECONDS);
    CHECK(s->query->window->advance.n == 5);
    CHECK(s->query->window->has_retention && !s->query->window->has_grace);
    CHECK(s->query->window->retention.unit == MP_SQL_DAYS);
    /* "(a + 1) * 2, b" is two expressions, not a parenthesised list */
    CHECK(s->query->has_group_by && s->query->ngroup_by == 2);
    CHECK(s->query->group_by[0]->op == MP_SQL_OP_MUL);
    CHECK(s->query->emit == MP_SQL_EMIT_NONE);
    mp_sql_stmt_free(s);

    /* pull queries (no EMIT), window bounds in WHERE */
    s = stmt("SELECT * FROM number_of_tests WHERE ID='10' AND 100 <= WindowStart AND "
             "WindowEnd <= 16000;");
    REQUIRE(s);
    CHECK(s->query->emit == MP_SQL_EMIT_NONE && !s->query->has_limit);
    CHECK(strcmp(s->query->where->a->b->b->name, "WINDOWSTART") == 0);
    mp_sql_stmt_free(s);

    /* EMIT and PARTITION are not aliases before CHANGES / BY, but can be */
    s = stmt("SELECT * FROM t emit EMIT CHANGES");
    REQUIRE(s);
    CHECK(strcmp(s->query->from.alias, "EMIT") == 0 && s->query->emit == MP_SQL_EMIT_CHANGES);
    mp_sql_stmt_free(s);
    CHECK(roundtrip("SELECT * FROM t partition PARTITION BY a; SELECT * FROM t EMIT CHANGES;",
                    "SELECT * FROM T `PARTITION` PARTITION BY A;\n"
                    "SELECT * FROM T EMIT CHANGES;\n") == 2);
}

static void test_admin_statements(void)
{
    CHECK(roundtrip(
              "SHOW STREAMS; list tables extended; SHOW QUERIES EXTENDED; SHOW ALL TOPICS "
              "EXTENDED; SHOW TOPICS; SHOW FUNCTIONS; LIST PROPERTIES; SHOW STREAMS EXTENDED;",
              "SHOW STREAMS;\nSHOW TABLES EXTENDED;\nSHOW QUERIES EXTENDED;\n"
              "SHOW ALL TOPICS EXTENDED;\nSHOW TOPICS;\nSHOW FUNCTIONS;\nSHOW PROPERTIES;\n"
              "SHOW STREAMS EXTENDED;\n") == 8);
    CHECK(roundtrip("DESCRIBE pageviews; DESCRIBE pageviews EXTENDED; DESCRIBE EXTENDED ip_sum; "
                    "DESCRIBE FUNCTION substring; DESCRIBE STREAMS; DESCRIBE TABLES EXTENDED; "
                    "DESCRIBE `function`; DESCRIBE `TABLES`",
                    "DESCRIBE PAGEVIEWS;\nDESCRIBE PAGEVIEWS EXTENDED;\nDESCRIBE IP_SUM EXTENDED;\n"
                    "DESCRIBE FUNCTION SUBSTRING;\nDESCRIBE STREAMS;\nDESCRIBE TABLES EXTENDED;\n"
                    "DESCRIBE `function`;\nDESCRIBE `TABLES`;\n") == 8);
    CHECK(roundtrip("DROP STREAM s; DROP TABLE IF EXISTS t DELETE TOPIC; DROP STREAM IF EXISTS "
                    "x; TERMINATE CSAS_PAGEVIEWS_0; TERMINATE ALL;",
                    "DROP STREAM S;\nDROP TABLE IF EXISTS T DELETE TOPIC;\n"
                    "DROP STREAM IF EXISTS X;\nTERMINATE CSAS_PAGEVIEWS_0;\nTERMINATE ALL;\n") == 5);
    CHECK(roundtrip("PRINT 'pageviews' FROM BEGINNING INTERVAL 5 LIMIT 10; PRINT pageViews; "
                    "PRINT `Orders` SAMPLE 2; PRINT '_confluent-ksql-default__command_topic' "
                    "FROM BEGINNING;",
                    "PRINT 'pageviews' FROM BEGINNING INTERVAL 5 LIMIT 10;\nPRINT 'pageViews';\n"
                    "PRINT 'Orders' INTERVAL 2;\n"
                    "PRINT '_confluent-ksql-default__command_topic' FROM BEGINNING;\n") == 4);
    CHECK(roundtrip("SET 'auto.offset.reset'='earliest'; SET 'a' = 'it''s'; UNSET "
                    "'auto.offset.reset'; RUN SCRIPT '/tmp/x.sql';",
                    "SET 'auto.offset.reset'='earliest';\nSET 'a'='it''s';\n"
                    "UNSET 'auto.offset.reset';\nRUN SCRIPT '/tmp/x.sql';\n") == 4);
    CHECK(roundtrip("EXPLAIN CSAS_PAGEVIEWS_0; EXPLAIN SELECT * FROM t WHERE id = 5; EXPLAIN "
                    "EXPLAIN q1",
                    "EXPLAIN CSAS_PAGEVIEWS_0;\nEXPLAIN SELECT * FROM T WHERE ID = 5;\n"
                    "EXPLAIN EXPLAIN Q1;\n") == 3);

    mp_sql_stmt *s = stmt("PRINT pageViews FROM BEGINNING LIMIT 4");
    REQUIRE(s);
    CHECK(s->kind == MP_SQL_STMT_PRINT && strcmp(s->topic, "pageViews") == 0);
    CHECK(s->from_beginning && !s->has_interval && s->has_limit && s->limit == 4);
    mp_sql_stmt_free(s);
    s = stmt("DESCRIBE FUNCTION substring");
    REQUIRE(s);
    CHECK(s->kind == MP_SQL_STMT_DESCRIBE_FUNCTION && strcmp(s->name, "SUBSTRING") == 0);
    mp_sql_stmt_free(s);
    s = stmt("DESCRIBE TABLES EXTENDED;");
    REQUIRE(s);
    CHECK(s->kind == MP_SQL_STMT_DESCRIBE_ALL && s->object == MP_SQL_OBJ_TABLE && s->extended);
    mp_sql_stmt_free(s);
    s = stmt("EXPLAIN SELECT 1 FROM t");
    REQUIRE(s);
    CHECK(s->kind == MP_SQL_STMT_EXPLAIN && s->explained && !s->name);
    CHECK(s->explained->kind == MP_SQL_STMT_QUERY);
    mp_sql_stmt_free(s);
    s = stmt("SET 'auto.offset.reset' = 'earliest'");
    REQUIRE(s);
    CHECK(strcmp(s->name, "auto.offset.reset") == 0 && strcmp(s->value, "earliest") == 0);
    mp_sql_stmt_free(s);
    s = stmt("TERMINATE ALL");
    REQUIRE(s);
    CHECK(s->kind == MP_SQL_STMT_TERMINATE && s->all && !s->name);
    mp_sql_stmt_free(s);
}

/* ---- expressions ---- */

static void test_expression_forms(void)
{
    /* canonical text of each form; the round trip checks it reads back */
    CHECK(roundtrip(
              "SELECT NULL, true, FALSE, 42, -7, 1.50, .5, 1., 1e3, -2.5E-3, 'it''s', '', "
              "col, src.col, `Mixed`.`Case`, s->f, s->f->g, a[1], m['k'], a[1 + i]->x, "
              "-x, +x, - -x, - -5, -(5), -0, x + y - z, x * y / z % w, x || y, "
              "a = b, a <> b, a != b, a < b, a <= b, a > b, a >= b, "
              "a AND b, a OR b, NOT a, a IS NULL, a IS NOT NULL, a IS DISTINCT FROM b, "
              "a IS NOT DISTINCT FROM b, a BETWEEN 1 AND 2, a NOT BETWEEN 1 AND 2, "
              "a IN (1, 2, 'x'), a NOT IN (b), a LIKE 'x%', a NOT LIKE '%!_' ESCAPE '!', "
              "f(), COUNT(*), SUM(DISTINCTX), CONCAT(a, 'b', 1), CAST(a AS DECIMAL(4, 2)), "
              "CAST(a AS ARRAY<MAP<STRING, INT>>), "
              "CASE WHEN a THEN 1 WHEN b THEN 2 ELSE 3 END, CASE x WHEN 1 THEN 'a' END, "
              "ARRAY[1, 2], ARRAY[], MAP('a' := 1, 'b' := 2), MAP(), STRUCT(f1 := v1, f2 := 2), "
              "STRUCT(), TRANSFORM(xs, x => x + 1), REDUCE(xs, 0, (s, x) => s + x), "
              "FILTER(m, (k, v) => v > 0), TIMESTAMPADD(SECONDS, 5, ts), f(MILLISECOND, x), "
              "ROWTIME, ROWPARTITION, ROWOFFSET, WINDOWSTART, WINDOWEND FROM t",
              "SELECT NULL, TRUE, FALSE, 42, -7, 1.50, .5, 1., 1E3, -2.5E-3, 'it''s', '', "
              "COL, SRC.COL, `Mixed`.`Case`, S->F, S->F->G, A[1], M['k'], A[1 + I]->X, "
              "-X, +X, - -X, - -5, -(5), -0, X + Y - Z, X * Y / Z % W, X || Y, "
              "A = B, A <> B, A <> B, A < B, A <= B, A > B, A >= B, "
              "A AND B, A OR B, NOT A, A IS NULL, A IS NOT NULL, A IS DISTINCT FROM B, "
              "A IS NOT DISTINCT FROM B, A BETWEEN 1 AND 2, A NOT BETWEEN 1 AND 2, "
              "A IN (1, 2, 'x'), A NOT IN (B), A LIKE 'x%', A NOT LIKE '%!_' ESCAPE '!', "
              "F(), COUNT(*), SUM(DISTINCTX), CONCAT(A, 'b', 1), CAST(A AS DECIMAL(4, 2)), "
              "CAST(A AS ARRAY<MAP<STRING, INTEGER>>), "
              "CASE WHEN A THEN 1 WHEN B THEN 2 ELSE 3 END, CASE X WHEN 1 THEN 'a' END, "
              "ARRAY[1, 2], ARRAY[], MAP('a' := 1, 'b' := 2), MAP(), STRUCT(F1 := V1, F2 := 2), "
              "STRUCT(), TRANSFORM(XS, X => X + 1), REDUCE(XS, 0, (S, X) => S + X), "
              "FILTER(M, (K, V) => V > 0), TIMESTAMPADD(SECONDS, 5, TS), F(MILLISECONDS, X), "
              "ROWTIME, ROWPARTITION, ROWOFFSET, WINDOWSTART, WINDOWEND FROM T;\n") == 1);

    /* node fields */
    mp_sql_expr *x = expr("CASE s->f[2] WHEN 1 THEN 'a' WHEN 2 THEN 'b' ELSE NULL END");
    REQUIRE(x);
    CHECK(x->kind == MP_SQL_EXPR_CASE && x->n == 4 && x->c && x->c->kind == MP_SQL_EXPR_NULL);
    CHECK(x->a->kind == MP_SQL_EXPR_SUBSCRIPT && x->a->a->kind == MP_SQL_EXPR_DEREF);
    CHECK(strcmp(x->a->a->name, "F") == 0 && x->a->b->i == 2);
    CHECK(x->items[3]->kind == MP_SQL_EXPR_STRING && strcmp(x->items[3]->str, "b") == 0);
    mp_sql_expr_free(x);

    x = expr("REDUCE(xs, 0, (s, x) => s + x)");
    REQUIRE(x);
    CHECK(x->kind == MP_SQL_EXPR_CALL && x->n == 3 && !x->star);
    CHECK(x->items[2]->kind == MP_SQL_EXPR_LAMBDA && x->items[2]->nnames == 2);
    CHECK(strcmp(x->items[2]->names[1], "X") == 0);
    CHECK(x->items[2]->a->op == MP_SQL_OP_ADD);
    mp_sql_expr_free(x);

    x = expr("COUNT(*)");
    REQUIRE(x);
    CHECK(x->kind == MP_SQL_EXPR_CALL && x->star && x->n == 0);
    mp_sql_expr_free(x);

    x = expr("TIMESTAMPADD(MINUTES, 5, ts)");
    REQUIRE(x);
    CHECK(x->items[0]->kind == MP_SQL_EXPR_TIME_UNIT && x->items[0]->unit == MP_SQL_MINUTES);
    mp_sql_expr_free(x);
    /* the singular DAY is a name in an argument list, as in ksqlDB */
    x = expr("f(DAY)");
    REQUIRE(x);
    CHECK(x->items[0]->kind == MP_SQL_EXPR_COLUMN && strcmp(x->items[0]->name, "DAY") == 0);
    mp_sql_expr_free(x);

    x = expr("STRUCT(a := 1, `b` := 'x')");
    REQUIRE(x);
    CHECK(x->kind == MP_SQL_EXPR_STRUCT && x->n == 2 && x->nnames == 2);
    CHECK(strcmp(x->names[0], "A") == 0 && strcmp(x->names[1], "b") == 0);
    mp_sql_expr_free(x);

    x = expr("MAP('a' := 1)['a']");
    REQUIRE(x);
    CHECK(x->kind == MP_SQL_EXPR_SUBSCRIPT && x->a->kind == MP_SQL_EXPR_MAP && x->a->n == 2);
    mp_sql_expr_free(x);

    x = expr("a NOT LIKE 'x!%' ESCAPE '!'");
    REQUIRE(x);
    CHECK(x->kind == MP_SQL_EXPR_LIKE && x->negated && strcmp(x->str, "!") == 0);
    mp_sql_expr_free(x);

    x = expr("CAST(x AS MAP<STRING, STRUCT<a INT>>)");
    REQUIRE(x);
    CHECK(x->kind == MP_SQL_EXPR_CAST && x->type->kind == MP_SQL_TYPE_MAP);
    CHECK(x->type->elem->kind == MP_SQL_TYPE_STRUCT);
    mp_sql_expr_free(x);

    /* MAP, ARRAY and STRUCT are names when not followed by ( or [ */
    x = expr("map + array");
    REQUIRE(x);
    CHECK(x->a->kind == MP_SQL_EXPR_COLUMN && strcmp(x->a->name, "MAP") == 0);
    mp_sql_expr_free(x);
    CHECK(roundtrip("SELECT `ARRAY`[1], map, `MAP`(1) FROM t",
                    "SELECT `ARRAY`[1], `MAP`, `MAP`(1) FROM T;\n") == 1);
}

static void test_literals(void)
{
    mp_sql_expr *x = expr("2147483647");
    REQUIRE(x);
    CHECK(x->kind == MP_SQL_EXPR_INT && x->i == 2147483647);
    mp_sql_expr_free(x);
    x = expr("-9223372036854775808");
    REQUIRE(x);
    CHECK(x->kind == MP_SQL_EXPR_INT && x->i == INT64_MIN);
    mp_sql_expr_free(x);
    x = expr("- 5");
    REQUIRE(x);
    CHECK(x->kind == MP_SQL_EXPR_INT && x->i == -5);
    mp_sql_expr_free(x);
    x = expr("-(5)");
    REQUIRE(x);
    CHECK(x->kind == MP_SQL_EXPR_UNARY && x->op == MP_SQL_OP_NEG && x->a->i == 5);
    mp_sql_expr_free(x);
    x = expr("-0.25");
    REQUIRE(x);
    CHECK(x->kind == MP_SQL_EXPR_DECIMAL && strcmp(x->str, "-0.25") == 0 && x->len == 5);
    mp_sql_expr_free(x);
    x = expr("1.5E-7");
    REQUIRE(x);
    CHECK(x->kind == MP_SQL_EXPR_DOUBLE && x->d == 1.5e-7);
    mp_sql_expr_free(x);
    x = expr("'it''s'");
    REQUIRE(x);
    CHECK(x->kind == MP_SQL_EXPR_STRING && x->len == 4 && strcmp(x->str, "it's") == 0);
    mp_sql_expr_free(x);
    /* doubles print with an exponent so they read back as DOUBLE */
    CHECK(roundtrip("SELECT 1e0, 0.1e1, 123456789e-20, 1e300, -0e0 FROM t",
                    "SELECT 1E0, 1E0, 1.23456789E-12, 1E300, -0E0 FROM T;\n") == 1);

    mp_error e = {0};
    CHECK(mp_sql_parse_expr("9223372036854775808", 19, &x, NULL, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "out of range");
    CHECK(mp_sql_parse_expr("1e999", 5, &x, NULL, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "double literal 1E999 is out of range");
}

static void test_precedence(void)
{
    check_grouping("a OR b AND c", "(A OR (B AND C))");
    check_grouping("a AND b OR c", "((A AND B) OR C)");
    check_grouping("-x * y", "((-X) * Y)");
    check_grouping("NOT a = b", "(NOT (A = B))");
    check_grouping("NOT a AND b", "((NOT A) AND B)");
    check_grouping("x || y = z", "((X || Y) = Z)");
    /* || is looser than + and - in ksqlDB's grammar */
    check_grouping("a || b + c", "(A || (B + C))");
    check_grouping("a + b || c", "((A + B) || C)");
    check_grouping("a - b - c", "((A - B) - C)");
    check_grouping("a / b * c % d", "(((A / B) * C) % D)");
    check_grouping("a + b * c - d", "((A + (B * C)) - D)");
    check_grouping("-a[1]->b", "(-A[1]->B)");
    check_grouping("x BETWEEN 1 + 1 AND 3 AND y", "((X BETWEEN (1 + 1) AND 3) AND Y)");
    check_grouping("a = 1 OR NOT b IN (1, 2) AND c LIKE 'x'",
                   "((A = 1) OR ((NOT (B IN (1, 2))) AND (C LIKE 'x')))");
    check_grouping("NOT NOT a", "(NOT (NOT A))");
    check_grouping("a IS NULL OR b IS NOT DISTINCT FROM c + 1",
                   "((A IS NULL) OR (B IS NOT DISTINCT FROM (C + 1)))");
    check_grouping("(a OR b) AND c", "((A OR B) AND C)");
    check_grouping("a * (b + c)", "(A * (B + C))");
    check_grouping("- - x", "(-(-X))");
    check_grouping("2 - -3", "(2 - -3)");
    check_grouping("CASE WHEN a OR b THEN x + 1 END", "CASE WHEN (A OR B) THEN (X + 1) END");
    /* minimal parentheses in the canonical form keep the grouping */
    CHECK(roundtrip("SELECT (a OR b) AND c, a - (b - c), (a = b) = c, -(a + b), (a || b) + c, "
                    "NOT (a AND b), (a + b)[1], (NOT a) = b FROM t",
                    "SELECT (A OR B) AND C, A - (B - C), (A = B) = C, -(A + B), (A || B) + C, "
                    "NOT (A AND B), (A + B)[1], (NOT A) = B FROM T;\n") == 1);
    /* comparisons don't chain */
    mp_sql_expr *x = NULL;
    mp_error e = {0};
    CHECK(mp_sql_parse_expr("a = b = c", 9, &x, NULL, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "line 1:7: expected end of input but found '='");
    CHECK(x == NULL);
}

static void test_case_and_quoting(void)
{
    mp_sql_stmt *s = stmt("select myCol, `myCol`, \"dq col\", `a``b` from `My Stream` m");
    REQUIRE(s);
    const mp_sql_query *q = s->query;
    CHECK(strcmp(q->items[0].expr->name, "MYCOL") == 0);
    CHECK(strcmp(q->items[1].expr->name, "myCol") == 0);
    CHECK(strcmp(q->items[2].expr->name, "dq col") == 0);
    CHECK(strcmp(q->items[3].expr->name, "a`b") == 0);
    CHECK(strcmp(q->from.name, "My Stream") == 0 && strcmp(q->from.alias, "M") == 0);
    mp_sql_stmt_free(s);
    /* quoted upper-case names are the same as unquoted ones */
    mp_sql_expr *a = expr("`COL` + 1"), *b = expr("col + 1");
    CHECK(a && b && mp_sql_expr_equal(a, b));
    mp_sql_expr_free(a);
    mp_sql_expr_free(b);
    /* reserved words need backticks; non-reserved ones don't */
    CHECK(roundtrip("SELECT `select`, `SIZE`, key, `KEY`, timestamp, `from`.x FROM `FROM`",
                    "SELECT `select`, `SIZE`, KEY, KEY, TIMESTAMP, `from`.X FROM `FROM`;\n") == 1);
    CHECK(roundtrip("-- a comment\nSELECT /* inline */ a -- trailing\nFROM t /* multi\nline */;",
                    "SELECT A FROM T;\n") == 1);
}

static void test_scripts_and_spans(void)
{
    const char *src = "SHOW STREAMS;\n  SELECT * FROM t EMIT CHANGES;\n-- c\nDROP STREAM s";
    mp_sql_script *s = NULL;
    mp_error e = {0};
    REQUIRE(mp_sql_parse_script(src, strlen(src), &s, NULL, &e) == 0);
    REQUIRE(s->n == 3);
    CHECK(s->stmts[0]->span_offset == 0 && s->stmts[0]->span_len == 12);
    CHECK(s->stmts[0]->pos.line == 1 && s->stmts[0]->pos.col == 1);
    CHECK(s->stmts[1]->span_offset == 16 && s->stmts[1]->span_len == 28);
    CHECK(memcmp(src + 16, "SELECT * FROM t EMIT CHANGES", 28) == 0);
    CHECK(s->stmts[1]->pos.line == 2 && s->stmts[1]->pos.col == 3);
    CHECK(s->stmts[2]->span_offset == 51 && s->stmts[2]->span_len == 13);
    CHECK(memcmp(src + 51, "DROP STREAM s", 13) == 0);
    CHECK(s->stmts[2]->pos.line == 4 && s->stmts[2]->pos.col == 1);
    CHECK(s->stmts[2]->kind == MP_SQL_STMT_DROP);
    mp_sql_script_free(s);

    /* empty statements and an empty script */
    REQUIRE(mp_sql_parse_script(";; ;\n-- only a comment\n", 22, &s, NULL, &e) == 0);
    CHECK(s->n == 0);
    mp_sql_script_free(s);
    CHECK(roundtrip(";SELECT a FROM b;;SHOW TABLES;", "SELECT A FROM B;\nSHOW TABLES;\n") == 2);

    /* mp_sql_parse_statement takes exactly one */
    mp_sql_stmt *st = NULL;
    CHECK(mp_sql_parse_statement("SHOW TABLES; SHOW STREAMS", 25, &st, NULL, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "line 1:14: expected end of input but found 'SHOW'");
    CHECK(st == NULL);
    CHECK(mp_sql_parse_statement("  ", 2, &st, NULL, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "expected a statement but found end of input");
    char *text = NULL;
    REQUIRE(mp_sql_parse_statement("show tables;", 12, &st, NULL, &e) == 0);
    text = mp_sql_stmt_to_sql(st);
    CHECK(text && strcmp(text, "SHOW TABLES") == 0);
    free(text);
    mp_sql_stmt_free(st);
}

static void test_errors(void)
{
    check_error("SELECT * FROM t WHERE (a, b)", 1, 25, "expected ')' but found ','");
    check_error("SELECT * FROM t;\nSELEC x FROM t;", 2, 1,
                "unknown statement \"SELEC\"; expected one of CREATE, DESCRIBE, DROP, EXPLAIN, "
                "INSERT, LIST, PRINT, RUN, SELECT, SET, SHOW, TERMINATE, UNSET");
    check_error("SELECT 'abc FROM t", 1, 8, "unterminated string literal");
    check_error("SELECT 1\nFROM t\n  /* open", 3, 3, "unterminated comment");
    check_error("CREATE STREAM s (a INTEGR) WITH (KAFKA_TOPIC='t');", 1, 20,
                "unknown type 'INTEGR'");
    check_error("CREATE STREAM s (a INT) WITH (KAFKA_TOPIC=);", 1, 43,
                "expected a literal value (string, number, TRUE, FALSE or NULL) but found ')'");
    check_error("SELECT * FROM t EMIT CHANGES garbage;", 1, 30,
                "expected ';' but found 'garbage'");
    check_error("SELECT `abc FROM t", 1, 8, "unterminated quoted identifier");
    check_error("SELECT a # b FROM t", 1, 10, "unexpected character '#'");
    check_error("SELECT a, b WHERE x", 1, 13, "expected FROM but found 'WHERE'");
    check_error("CREATE STREAM select (a INT);", 1, 15,
                "expected a stream or table name but found reserved word 'select'");
    check_error("SELECT * FROM t WINDOW TUMBLING (SIZE 5 WEEKS) EMIT CHANGES;", 1, 41,
                "expected a time unit (MILLISECONDS, SECONDS, MINUTES, HOURS or DAYS) but found "
                "'WEEKS'");
    check_error("CREATE TABLE t (\n  id INT PRIMARY,\n  x INT\n) WITH (KAFKA_TOPIC='t');", 2, 17,
                "expected KEY but found ','");
    check_error("SELECT a = b = c FROM t", 1, 14, "expected FROM but found '='");
    check_error("SELECT 99999999999999999999 FROM t", 1, 8, "out of range");
    check_error("SELECT CAST(x AS DECIMAL(2, 3)) FROM t", 1, 29,
                "DECIMAL scale 3 is larger than the precision 2");
    check_error("SELECT * FROM t WHERE a IN ()", 1, 29, "expected an expression but found ')'");
    check_error("SELECT TRANSFORM(x => x, a) FROM t", 1, 18,
                "a lambda can't be the first argument of TRANSFORM");
    check_error("SELECT * FROM t x EMIT", 1, 23, "expected CHANGES or FINAL but found end of input");
    check_error("SELECT * FROM t WHERE", 1, 22, "expected an expression but found end of input");
    check_error("INSERT INTO t VALUES (a = b)", 1, 25, "expected ')' but found '='");
    check_error("SHOW ALL STREAMS", 1, 10, "expected TOPICS but found 'STREAMS'");
    check_error("DROP VIEW v", 1, 6, "expected STREAM or TABLE but found 'VIEW'");
    check_error("CREATE SOURCE STREAM s AS SELECT * FROM t", 1, 24,
                "a SOURCE STREAM can't be created AS SELECT");
    check_error("CREATE MODEL m AS SELECT * FROM t", 1, 16, "expected WITH but found 'AS'");
    check_error("SELECT * FROM t WHERE a LIKE 'x' ESCAPE '!!'", 1, 41,
                "ESCAPE takes a single character");
    check_error("SELECT f(a, x => 1, b) FROM t", 1, 21, "only lambdas can follow a lambda");
    check_error("SELECT CASE x END FROM t", 1, 15, "expected WHEN but found 'END'");
    check_error("SELECT * FROM t LIMIT -1", 1, 23, "expected a non-negative integer");
    check_error_len("SELECT\0 1 FROM t", 16, 1, 7, "unexpected NUL byte");
    /* ksqlDB has no DISTINCT in calls (it has COUNT_DISTINCT) */
    check_error("SELECT COUNT(DISTINCT x) FROM t", 1, 14,
                "expected an expression but found 'DISTINCT'");
    check_error("SELECT * FROM t WINDOW TUMBLING (SIZE 1 SECOND, GRACE PERIOD 1 SECOND, "
                "RETENTION 1 DAY)", 1, 70, "expected ')' but found ','");
}

static void test_nesting_limits(void)
{
    enum { N = 250 };
    char buf[2 * N + 64];
    /* 150 levels of parentheses are fine */
    size_t n = 0;
    for (int k = 0; k < 150; k++)
        buf[n++] = '(';
    buf[n++] = '1';
    for (int k = 0; k < 150; k++)
        buf[n++] = ')';
    buf[n] = '\0';
    mp_sql_expr *x = NULL;
    mp_error e = {0};
    mp_sql_pos pos = {0};
    CHECK(mp_sql_parse_expr(buf, n, &x, NULL, &e) == 0 && x && x->kind == MP_SQL_EXPR_INT);
    mp_sql_expr_free(x);
    /* 250 are not: the error names the 201st '(' */
    memcpy(buf, "SELECT ", 7);
    n = 7;
    for (int k = 0; k < N; k++)
        buf[n++] = '(';
    buf[n++] = '1';
    for (int k = 0; k < N; k++)
        buf[n++] = ')';
    memcpy(buf + n, " FROM t", 8);
    n += 7;
    mp_sql_script *s = NULL;
    CHECK(mp_sql_parse_script(buf, n, &s, &pos, &e) == MP_EINPUT && s == NULL);
    CHECK_STR_CONTAINS(e.msg, "line 1:208: nesting is too deep (more than 200 levels)");
    CHECK(pos.line == 1 && pos.col == 208);
    /* long NOT and minus chains, nested types and EXPLAINs are capped too */
    mp_buf b = {0};
    for (int k = 0; k < 300; k++)
        mp_buf_puts(&b, "NOT ");
    mp_buf_puts(&b, "a");
    CHECK(mp_sql_parse_expr(b.data, b.len, &x, NULL, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "nesting is too deep");
    mp_buf_reset(&b);
    for (int k = 0; k < 300; k++)
        mp_buf_puts(&b, "- ");
    mp_buf_puts(&b, "a");
    CHECK(mp_sql_parse_expr(b.data, b.len, &x, NULL, &e) == MP_EINPUT);
    mp_buf_reset(&b);
    for (int k = 0; k < 300; k++)
        mp_buf_puts(&b, "ARRAY<");
    mp_buf_puts(&b, "INT");
    for (int k = 0; k < 300; k++)
        mp_buf_puts(&b, ">");
    mp_sql_type *t = NULL;
    CHECK(mp_sql_parse_type(b.data, b.len, &t, NULL, &e) == MP_EINPUT && t == NULL);
    CHECK_STR_CONTAINS(e.msg, "nesting is too deep");
    mp_buf_reset(&b);
    for (int k = 0; k < 300; k++)
        mp_buf_puts(&b, "EXPLAIN ");
    mp_buf_puts(&b, "SHOW TABLES");
    CHECK(mp_sql_parse_script(b.data, b.len, &s, NULL, &e) == MP_EINPUT);
    mp_buf_reset(&b);
    /* a flat chain builds a tall tree without recursion: capped by height */
    mp_buf_puts(&b, "a");
    for (int k = 0; k < 1200; k++)
        mp_buf_puts(&b, " + a");
    CHECK(mp_sql_parse_expr(b.data, b.len, &x, &pos, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "line 1:1: expression is too deeply nested (more than 1000");
    mp_buf_reset(&b);
    mp_buf_puts(&b, "a");
    for (int k = 0; k < 1200; k++)
        mp_buf_puts(&b, "[1]");
    CHECK(mp_sql_parse_expr(b.data, b.len, &x, NULL, &e) == MP_EINPUT);
    mp_buf_reset(&b);
    /* 900 terms are fine, and print and compare without trouble */
    mp_buf_puts(&b, "SELECT a");
    for (int k = 0; k < 900; k++)
        mp_buf_puts(&b, " || a");
    mp_buf_puts(&b, " FROM t");
    CHECK(roundtrip(b.data, NULL) == 1);
    mp_buf_free(&b);
}

static void test_constructors(void)
{
    mp_sql_expr *args[2] = {mp_sql_expr_column("T", "A"), mp_sql_expr_string("x'y", 3)};
    mp_sql_expr *call = mp_sql_expr_call("CONCAT", args, 2);
    mp_sql_expr *e = mp_sql_expr_binary(
        MP_SQL_OP_OR,
        mp_sql_expr_binary(MP_SQL_OP_EQ, call, mp_sql_expr_null()),
        mp_sql_expr_not(mp_sql_expr_binary(MP_SQL_OP_LT, mp_sql_expr_unary(MP_SQL_OP_NEG,
                                                                           mp_sql_expr_int(3)),
                                           mp_sql_expr_double(0.5))));
    REQUIRE(e);
    CHECK(e->height == 5);
    mp_buf b = {0};
    CHECK(mp_sql_expr_print(e, 0, &b) == 0);
    CHECK(strcmp(b.data, "CONCAT(T.A, 'x''y') = NULL OR NOT -(3) < 5E-1") == 0);
    mp_sql_expr *c = mp_sql_expr_clone(e);
    CHECK(mp_sql_expr_equal(e, c));
    c->b->a->b->d = 0.25;
    CHECK(!mp_sql_expr_equal(e, c));
    /* the printed text parses back to the same tree */
    mp_sql_expr *back = expr(b.data);
    CHECK(back && mp_sql_expr_equal(e, back));
    mp_sql_expr_free(back);
    mp_sql_expr_free(c);
    mp_sql_expr_free(e);
    /* NULL children: the constructors free what they were given */
    CHECK(mp_sql_expr_binary(MP_SQL_OP_ADD, mp_sql_expr_int(1), NULL) == NULL);
    CHECK(mp_sql_expr_unary(MP_SQL_OP_NEG, NULL) == NULL);
    mp_sql_expr *bad[2] = {mp_sql_expr_int(1), NULL};
    CHECK(mp_sql_expr_call("F", bad, 2) == NULL);
    mp_buf_reset(&b);
    mp_sql_print_ident("a b", &b);
    mp_sql_print_ident("ROWTIME", &b);
    mp_sql_print_ident("x`y", &b);
    mp_sql_print_ident("SELECT", &b);
    CHECK(strcmp(b.data, "`a b`ROWTIME`x``y``SELECT`") == 0);
    mp_buf_free(&b);
}

int main(void)
{
    RUN(test_talk_statements);
    RUN(test_create_source);
    RUN(test_types);
    RUN(test_create_as_and_model);
    RUN(test_insert);
    RUN(test_queries);
    RUN(test_admin_statements);
    RUN(test_expression_forms);
    RUN(test_literals);
    RUN(test_precedence);
    RUN(test_case_and_quoting);
    RUN(test_scripts_and_spans);
    RUN(test_errors);
    RUN(test_nesting_limits);
    RUN(test_constructors);
    return TEST_SUMMARY();
}
