/* CREATE MODEL through the engine, with records written straight into the
 * log: a table's tombstones and updates (only the latest row of a key is
 * trained on), several partitions, undecodable records, LIMIT, the end
 * offsets taken at the start, regression, and nothing left in the command
 * topic. The end-to-end test (tests/e2e/test_sql_create_model.sh) covers
 * the statement's errors and the comparison with `mlpipe train`. */
#include <stdlib.h>
#include <string.h>

#include "log_test_util.h"
#include "ml/model.h"
#include "ml/registry.h"
#include "stream/engine.h"

typedef struct capture {
    char msg[1024];
} capture;

static void on_message(void *ctx, const char *text)
{
    capture *c = ctx;
    snprintf(c->msg, sizeof c->msg, "%s", text);
}

typedef struct env {
    char dir[256], reg[300];
    mp_log *log;
    mp_engine *en;
    capture cap;
    mp_engine_sink sink;
    mp_error e;
} env;

static int env_open(env *v)
{
    memset(v, 0, sizeof *v);
    lt_dir(v->dir, sizeof v->dir);
    snprintf(v->reg, sizeof v->reg, "%s-registry", v->dir);
    if (!(v->log = lt_open(v->dir)))
        return -1;
    mp_engine_opts o = {.registry_dir = v->reg, .quiet_replay = 1};
    if (mp_engine_open(v->log, &o, &v->en, &v->e)) {
        fprintf(stderr, "engine: %s\n", v->e.msg);
        lt_close(v->log);
        return -1;
    }
    v->sink = (mp_engine_sink){.ctx = &v->cap, .message = on_message};
    return 0;
}

static void env_close(env *v)
{
    mp_engine_close(v->en);
    lt_close(v->log);
}

static int run(env *v, const char *sql)
{
    v->cap.msg[0] = 0;
    mp_error_clear(&v->e);
    int rc = mp_engine_execute(v->en, sql, &v->sink, &v->e);
    if (rc)
        fprintf(stderr, "(statement failed: %s)\n", v->e.msg);
    return rc;
}

static int produce(env *v, const char *topic, int32_t part, const char *key, const char *value)
{
    mp_record r = lt_rec(key, value, 1000);
    return mp_log_produce(v->log, topic, part, &r, NULL, NULL, NULL);
}

static long latest_version(env *v, const char *name)
{
    char dir[512];
    long ver = 0;
    snprintf(dir, sizeof dir, "%s/%s", v->reg, name);
    return mp_registry_latest(dir, &ver, NULL) == 0 ? ver : 0;
}

static size_t trained_rows(env *v, const char *name)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", v->reg, name);
    mp_model *m = NULL;
    if (mp_model_load(dir, &m, NULL, NULL))
        return 0;
    size_t n = m->ntrain;
    mp_model_release(m);
    return n;
}

/* A table: the latest value of each key; a tombstone removes the key. */
static void test_table_latest_per_key(void)
{
    env v;
    REQUIRE(env_open(&v) == 0);
    REQUIRE(run(&v, "CREATE TABLE t (k STRING PRIMARY KEY, x DOUBLE, y STRING) "
                    "WITH (KAFKA_TOPIC='t', VALUE_FORMAT='JSON', PARTITIONS=1);") == 0);
    CHECK(produce(&v, "t", 0, "a", "{\"x\": 1, \"y\": \"q\"}") == 0);
    CHECK(produce(&v, "t", 0, "b", "{\"x\": 2, \"y\": \"q\"}") == 0);
    CHECK(produce(&v, "t", 0, "c", "{\"x\": 3, \"y\": \"p\"}") == 0);
    CHECK(produce(&v, "t", 0, "a", "{\"x\": 5, \"y\": \"p\"}") == 0);
    CHECK(produce(&v, "t", 0, "c", NULL) == 0);
    CHECK(produce(&v, "t", 0, "d", "{\"x\": 4, \"y\": \"q\"}") == 0);
    CHECK(produce(&v, "t", 0, "e", "{\"x\": 6, \"y\": \"p\"}") == 0);
    CHECK(produce(&v, "t", 0, "e", NULL) == 0);
    CHECK(produce(&v, "t", 0, "e", "{\"x\": 7, \"y\": \"p\"}") == 0);
    /* a (5, p), b (2, q), d (4, q), e (7, p): c was deleted, e came back. */
    REQUIRE(run(&v, "CREATE MODEL m WITH (ALGORITHM='knn', TARGET='y', K=1) AS SELECT x, y FROM t;") == 0);
    CHECK_STR_CONTAINS(v.cap.msg, "Model M version 1 trained on 4 rows (training accuracy 1.0000)");
    CHECK(trained_rows(&v, "M") == 4);
    /* WHERE sees the latest rows only: key a's first value (1) is gone. */
    REQUIRE(run(&v, "CREATE MODEL m WITH (ALGORITHM='knn', TARGET='y', K=1) AS SELECT x, y FROM t "
                    "WHERE x > 1.5;") == 0);
    CHECK_STR_CONTAINS(v.cap.msg, "version 2 trained on 4 rows");
    CHECK(run(&v, "CREATE MODEL m WITH (ALGORITHM='knn', TARGET='y', K=1) AS SELECT x, y FROM t "
                  "WHERE x < 3;") != 0);
    CHECK_STR_CONTAINS(v.e.msg, "single class");
    CHECK(latest_version(&v, "M") == 2);
    env_close(&v);
}

/* Every partition, bad records skipped and counted, LIMIT, and records
 * after the end offsets of the start left out. */
static void test_stream_partitions_and_bad_records(void)
{
    env v;
    REQUIRE(env_open(&v) == 0);
    REQUIRE(run(&v, "CREATE STREAM s (x INT, y DOUBLE) "
                    "WITH (KAFKA_TOPIC='s', VALUE_FORMAT='DELIMITED', PARTITIONS=3);") == 0);
    char val[64];
    for (int i = 0; i < 30; i++) {
        snprintf(val, sizeof val, "%d,%d.5", i, 2 * i + 1);
        CHECK(produce(&v, "s", i % 3, NULL, val) == 0);
    }
    CHECK(produce(&v, "s", 1, NULL, "not,a,row") == 0);
    REQUIRE(run(&v, "CREATE MODEL reg WITH (ALGORITHM='linear-regression', TARGET='y') "
                    "AS SELECT x, y FROM s;") == 0);
    CHECK_STR_CONTAINS(v.cap.msg, "Model REG version 1 trained on 30 rows (training R2 1.0000); "
                                  "1 record could not be read (see mlpipe_processing_log)");
    int64_t earliest = 0, latest = 0;
    CHECK(mp_log_offsets(v.log, "mlpipe_processing_log", 0, &earliest, &latest, NULL) == 0);
    CHECK(latest - earliest == 1);
    REQUIRE(run(&v, "CREATE MODEL reg WITH (ALGORITHM='linear-regression', TARGET='y') "
                    "AS SELECT x, y FROM s WHERE x >= 10 LIMIT 7;") == 0);
    CHECK_STR_CONTAINS(v.cap.msg, "Model REG version 2 trained on 7 rows");
    /* A held-out part, and the regression's score. */
    REQUIRE(run(&v, "CREATE MODEL reg WITH (ALGORITHM='linear-regression', TARGET='y', TEST_SIZE=5) "
                    "AS SELECT x, y FROM s;") == 0);
    CHECK_STR_CONTAINS(v.cap.msg, "Model REG version 3 trained on 25 rows (R2 1.0000 on 5 held-out rows)");
    CHECK(trained_rows(&v, "REG") == 25);
    env_close(&v);
}

/* CREATE MODEL is not a command: reopening the engine trains nothing, and
 * the command topic holds only the CREATE STREAM. */
static void test_not_replayed(void)
{
    env v;
    REQUIRE(env_open(&v) == 0);
    REQUIRE(run(&v, "CREATE STREAM s (x INT, y STRING) "
                    "WITH (KAFKA_TOPIC='s', VALUE_FORMAT='DELIMITED', PARTITIONS=1);") == 0);
    for (int i = 0; i < 10; i++)
        CHECK(produce(&v, "s", 0, NULL, i % 2 ? "1,odd" : "2,even") == 0);
    REQUIRE(run(&v, "CREATE MODEL nb WITH (ALGORITHM='naive-bayes', TARGET='y') AS SELECT x, y FROM s;") == 0);
    CHECK(latest_version(&v, "NB") == 1);
    mp_engine_close(v.en);
    mp_engine_opts o = {.registry_dir = v.reg, .quiet_replay = 1};
    REQUIRE(mp_engine_open(v.log, &o, &v.en, &v.e) == 0);
    CHECK(latest_version(&v, "NB") == 1);
    int64_t earliest = 0, latest = 0;
    CHECK(mp_log_offsets(v.log, "_mlpipe_commands", 0, &earliest, &latest, NULL) == 0);
    CHECK(latest - earliest == 1);
    env_close(&v);
}

int main(void)
{
    RUN(test_table_latest_per_key);
    RUN(test_stream_partitions_and_bad_records);
    RUN(test_not_replayed);
    lt_cleanup();
    return TEST_SUMMARY();
}
