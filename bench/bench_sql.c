/* mlpipe's side of `make bench-sql`: records per second through the
 * streaming-SQL engine, end to end (log -> decode -> WHERE -> projection
 * -> encode -> log), beside the raw log read rate of the same records.
 *
 * usage: bench_sql WORK_DIR N REGISTRY
 *   Writes N records into topics pv_delim (DELIMITED) and pv_json (JSON)
 *   in WORK_DIR/data (one partition each, so one query thread: one core),
 *   writes the DELIMITED values to WORK_DIR/values.txt for the script's
 *   `grep -c` peer, then for each query: starts it as a persistent query
 *   (CREATE STREAM ... AS SELECT), waits until its output topic holds
 *   every expected record, and prints one JSON line per row. REGISTRY
 *   holds the model `bench` (logistic regression over two numbers) for
 *   the PREDICT row. Row (e) joins pv_delim with a table of 10 000 users
 *   (topic users_e, keyed User_0 .. User_9999, written before the stream
 *   records in time so the table is loaded first). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "log/log.h"
#include "stream/engine.h"

static void die(const char *what, const mp_error *e)
{
    fprintf(stderr, "bench_sql: %s: %s\n", what, e ? e->msg : "");
    exit(1);
}

/* Row i: viewtime, userid, pageid, amount, score. 1 in 4 rows has
 * userid User_1 (the filter keeps those). */
static void make_row(size_t i, int json, mp_buf *b)
{
    unsigned long long vt = 1510923225000ULL + i;
    unsigned u = (unsigned)(i % 4 == 0 ? 1 : 2 + i % 97);
    double amount = (double)(i % 1000) / 10.0, score = (double)(i % 37) / 37.0;
    if (json)
        mp_buf_printf(b, "{\"viewtime\":%llu,\"userid\":\"User_%u\",\"pageid\":\"Page_%zu\",\"amount\":%.1f,\"score\":%.4f}",
                      vt, u, i % 500, amount, score);
    else
        mp_buf_printf(b, "%llu,User_%u,Page_%zu,%.1f,%.4f", vt, u, i % 500, amount, score);
}

static void fill(mp_log *log, const char *topic, size_t n, int json, FILE *values)
{
    mp_error e = {0};
    if (mp_log_topic_create(log, topic, 1, NULL, 0, &e))
        die("create topic", &e);
    const size_t chunk = 10000;
    mp_record *recs = calloc(chunk, sizeof *recs);
    size_t *off = calloc(chunk, sizeof *off);
    mp_buf b = {0};
    for (size_t i0 = 0; i0 < n; i0 += chunk) {
        size_t m = n - i0 < chunk ? n - i0 : chunk;
        b.len = 0;
        for (size_t k = 0; k < m; k++) {
            off[k] = b.len;
            make_row(i0 + k, json, &b);
            if (values) {
                fwrite(b.data + off[k], 1, b.len - off[k], values);
                fputc('\n', values);
            }
        }
        for (size_t k = 0; k < m; k++) {
            size_t end = k + 1 < m ? off[k + 1] : b.len;
            recs[k] = (mp_record){.timestamp = 1510923225000LL + (int64_t)(i0 + k), .key_len = -1,
                                  .value = (const uint8_t *)b.data + off[k],
                                  .value_len = (int32_t)(end - off[k])};
        }
        if (mp_log_produce_batch(log, topic, 0, recs, m, NULL, &e))
            die("produce", &e);
    }
    mp_buf_free(&b);
    free(recs);
    free(off);
}

/* The users table of row (e): key User_<i>, value "name_<i>,<region>",
 * stamped before every pageview. */
static void fill_users(mp_log *log, size_t nkeys)
{
    mp_error e = {0};
    if (mp_log_topic_create(log, "users_e", 1, NULL, 0, &e))
        die("create users topic", &e);
    mp_record *recs = calloc(nkeys, sizeof *recs);
    size_t *koff = calloc(nkeys, sizeof *koff), *voff = calloc(nkeys, sizeof *voff);
    mp_buf kb = {0}, vb = {0};
    if (!recs || !koff || !voff)
        die("out of memory", NULL);
    for (size_t i = 0; i < nkeys; i++) {
        koff[i] = kb.len;
        mp_buf_printf(&kb, "User_%zu", i);
        voff[i] = vb.len;
        mp_buf_printf(&vb, "name_%zu,region_%zu", i, i % 17);
    }
    for (size_t i = 0; i < nkeys; i++) {
        size_t kend = i + 1 < nkeys ? koff[i + 1] : kb.len, vend = i + 1 < nkeys ? voff[i + 1] : vb.len;
        recs[i] = (mp_record){.timestamp = 1510923224000LL, .key = (const uint8_t *)kb.data + koff[i],
                              .key_len = (int32_t)(kend - koff[i]),
                              .value = (const uint8_t *)vb.data + voff[i],
                              .value_len = (int32_t)(vend - voff[i])};
    }
    if (mp_log_produce_batch(log, "users_e", 0, recs, nkeys, NULL, &e))
        die("produce users", &e);
    mp_buf_free(&kb);
    mp_buf_free(&vb);
    free(recs);
    free(koff);
    free(voff);
}

static double raw_read(mp_log *log, const char *topic, size_t *count)
{
    mp_log_fetch_result r = {0};
    mp_error e = {0};
    int64_t off = 0, latest = 0;
    mp_log_offsets(log, topic, 0, NULL, &latest, NULL);
    double t0 = mp_clock_now();
    size_t n = 0;
    while (off < latest) {
        if (mp_log_fetch(log, topic, 0, off, 1 << 20, &r, &e))
            die("fetch", &e);
        n += r.n;
        off = r.next_offset;
    }
    double t = mp_clock_now() - t0;
    mp_log_fetch_result_free(&r);
    *count = n;
    return t;
}

static void run_query(mp_engine *en, mp_log *log, const char *name, const char *sql,
                      const char *sink, int64_t expect, size_t n)
{
    mp_error e = {0};
    double t0 = mp_clock_now();
    if (mp_engine_execute(en, sql, NULL, &e))
        die(name, &e);
    int64_t latest = 0;
    /* Bounded: at most 10 minutes. */
    while (mp_clock_now() - t0 < 600) {
        latest = 0;
        mp_log_offsets(log, sink, 0, NULL, &latest, NULL);
        if (latest >= expect)
            break;
        usleep(2000);
    }
    double t = mp_clock_now() - t0;
    printf("{\"row\":\"%s\",\"records\":%zu,\"output\":%" PRId64 ",\"expected\":%" PRId64
           ",\"seconds\":%.4f,\"records_per_s\":%.0f}\n",
           name, n, latest, expect, t, (double)n / t);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_sql WORK_DIR N REGISTRY\n");
        return 2;
    }
    const char *work = argv[1];
    size_t n = strtoull(argv[2], NULL, 10);
    char data[4096], values[4096];
    snprintf(data, sizeof data, "%s/data", work);
    snprintf(values, sizeof values, "%s/values.txt", work);
    mp_error e = {0};
    mp_log *log = NULL;
    mp_log_options lo = MP_LOG_OPTIONS_INIT;
    lo.background = 0;
    if (mp_log_open_embedded(data, &lo, &log, &e))
        die("open log", &e);
    FILE *vf = fopen(values, "w");
    if (!vf)
        die("values file", NULL);
    double t0 = mp_clock_now();
    fill(log, "pv_delim", n, 0, vf);
    fill(log, "pv_json", n, 1, NULL);
    fill_users(log, 10000);
    fclose(vf);
    fprintf(stderr, "bench_sql: wrote 2 x %zu records in %.1f s\n", n, mp_clock_now() - t0);
    size_t cnt;
    double t = raw_read(log, "pv_delim", &cnt);
    printf("{\"row\":\"raw-read-delimited\",\"records\":%zu,\"seconds\":%.4f,\"records_per_s\":%.0f}\n",
           cnt, t, (double)cnt / t);
    t = raw_read(log, "pv_json", &cnt);
    printf("{\"row\":\"raw-read-json\",\"records\":%zu,\"seconds\":%.4f,\"records_per_s\":%.0f}\n",
           cnt, t, (double)cnt / t);
    fflush(stdout);

    mp_engine *en = NULL;
    mp_engine_opts eo = {.registry_dir = argv[3]};
    if (mp_engine_open(log, &eo, &en, &e))
        die("open engine", &e);
    if (mp_engine_execute(en,
                          "SET 'auto.offset.reset'='earliest';"
                          "CREATE STREAM pv_delim (viewtime BIGINT, userid VARCHAR, pageid VARCHAR, "
                          "amount DOUBLE, score DOUBLE) WITH (KAFKA_TOPIC='pv_delim', VALUE_FORMAT='DELIMITED');"
                          "CREATE STREAM pv_json (viewtime BIGINT, userid VARCHAR, pageid VARCHAR, "
                          "amount DOUBLE, score DOUBLE) WITH (KAFKA_TOPIC='pv_json', VALUE_FORMAT='JSON');"
                          "CREATE TABLE users_e (userid VARCHAR PRIMARY KEY, name VARCHAR, region VARCHAR) "
                          "WITH (KAFKA_TOPIC='users_e', VALUE_FORMAT='DELIMITED');",
                          NULL, &e))
        die("create streams", &e);
    int64_t kept = (int64_t)((n + 3) / 4);
    run_query(en, log, "filter-project-delimited",
              "CREATE STREAM out_a WITH (PARTITIONS=1) AS SELECT viewtime, pageid, amount * 2 AS amount2 "
              "FROM pv_delim WHERE userid = 'User_1';",
              "OUT_A", kept, n);
    run_query(en, log, "filter-project-json",
              "CREATE STREAM out_b WITH (PARTITIONS=1) AS SELECT viewtime, pageid, amount * 2 AS amount2 "
              "FROM pv_json WHERE userid = 'User_1';",
              "OUT_B", kept, n);
    /* (c) every record updates its group's one-minute window and emits
     * the group's new row (EMIT CHANGES). Record i has timestamp base + i
     * ms, so 10 M records span about 167 windows. */
    run_query(en, log, "group-by-count-sum-tumbling-1min",
              "CREATE TABLE out_c WITH (PARTITIONS=1) AS SELECT userid, COUNT(*) AS n, "
              "SUM(amount) AS total FROM pv_delim WINDOW TUMBLING (SIZE 1 MINUTE) GROUP BY userid;",
              "OUT_C", (int64_t)n, n);
    run_query(en, log, "predict-logreg",
              "CREATE STREAM out_d WITH (PARTITIONS=1) AS SELECT viewtime, "
              "PREDICT('bench', amount, score) AS label FROM pv_delim;",
              "OUT_D", (int64_t)n, n);
    /* (e) every pageview looks up its user in a 10 000-key table. */
    run_query(en, log, "stream-table-join-10k-keys",
              "CREATE STREAM out_e WITH (PARTITIONS=1) AS SELECT pv.userid, pv.pageid, pv.amount, "
              "u.name, u.region FROM pv_delim pv JOIN users_e u ON pv.userid = u.userid;",
              "OUT_E", (int64_t)n, n);
    mp_engine_close(en);
    mp_log_close(log, NULL);
    return 0;
}
