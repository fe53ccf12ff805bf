/* The log's side of `make bench-log`: produce and consume throughput
 * in-process through the log API (log.h), one thread.
 *
 * usage: bench_log DIR [--repeats N] [ROW_ID...]
 *   DIR: an empty or missing directory on the disk to measure (removed
 *   again at the end). Each row runs N times (default 3) on a fresh topic;
 *   the runner takes the best time of each phase. With ROW_IDs only those
 *   rows run (handy under perf).
 *
 * For each row it opens the embedded log in DIR (no background thread),
 * creates a topic, produces the records with mp_log_produce_batch in calls
 * of RECS_PER_CALL records (keyless, so spread round robin over the
 * partitions; uncompressed values of the row's size, no key, no headers),
 * then fetches every partition from its start with MAX_FETCH-byte fetches,
 * touching each value. Producing is timed from the first call to the last
 * (with flush.messages=1 each call fsyncs the batches it wrote; with the OS
 * policy nothing is fsynced while timing, as dd without conv=fdatasync).
 * Prints one JSON object per row on stdout; bench/run-bench-log reads them. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/clock.h"
#include "core/error.h"
#include "core/fileio.h"
#include "log/log.h"

#define RECS_PER_CALL 1000
#define MAX_FETCH ((size_t)8 << 20)

typedef struct bench_row {
    const char *id;
    int size;       /* value bytes */
    long records;
    int partitions;
    int flush_batch; /* 1: flush.messages=1 */
} bench_row;

/* Counts keep the whole run within a few minutes and under 1 GB of disk at
 * a time (each run's topic is deleted before the next). */
static const bench_row rows[] = {
    {"100b-1p-os", 100, 2000000, 1, 0},    {"100b-4p-os", 100, 2000000, 4, 0},
    {"1k-1p-os", 1024, 500000, 1, 0},      {"1k-4p-os", 1024, 500000, 4, 0},
    {"100b-1p-batch", 100, 2000000, 1, 1}, {"100b-4p-batch", 100, 2000000, 4, 1},
    {"1k-1p-batch", 1024, 500000, 1, 1},   {"1k-4p-batch", 1024, 500000, 4, 1},
};
#define NROWS (sizeof rows / sizeof rows[0])

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int run_row(const char *dir, const bench_row *r, int rep, mp_error *e)
{
    mp_log *log = NULL;
    mp_log_options opts = MP_LOG_OPTIONS_INIT;
    opts.background = 0;
    int rc = mp_log_open_embedded(dir, &opts, &log, e);
    if (rc)
        return rc;
    char parts[32];
    snprintf(parts, sizeof parts, "partitions=%d", r->partitions);
    const char *cfg[] = {parts, "flush.messages=1"};
    uint8_t *value = malloc((size_t)r->size);
    mp_record *recs = calloc(RECS_PER_CALL, sizeof *recs);
    mp_log_fetch_result fr = {0};
    if (!value || !recs) {
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < r->size; i++)
        value[i] = (uint8_t)('a' + i % 26);
    for (int i = 0; i < RECS_PER_CALL; i++)
        recs[i] = (mp_record){.timestamp = -1, .key = NULL, .key_len = -1, .value = value,
                              .value_len = r->size};
    if ((rc = mp_log_topic_create(log, "bench", 0, cfg, r->flush_batch ? 2 : 1, e)))
        goto done;

    double c0 = cpu_seconds(), t0 = mp_clock_now();
    for (long done_n = 0; done_n < r->records;) {
        size_t n = r->records - done_n < RECS_PER_CALL ? (size_t)(r->records - done_n) : RECS_PER_CALL;
        if ((rc = mp_log_produce_batch(log, "bench", MP_LOG_ANY_PARTITION, recs, n, NULL, e)))
            goto done;
        done_n += (long)n;
    }
    double produce_s = mp_clock_now() - t0, produce_cpu = cpu_seconds() - c0;
    /* The OS-flush rows' data reaches the disk here, untimed (like dd
     * without conv=fdatasync); then both read from the page cache. */
    double f0 = mp_clock_now();
    if ((rc = mp_log_flush(log, "bench", e)))
        goto done;
    double flush_s = mp_clock_now() - f0;

    long consumed = 0;
    uint64_t value_bytes = 0, batch_bytes = 0, touch = 0;
    c0 = cpu_seconds();
    t0 = mp_clock_now();
    for (int p = 0; p < r->partitions; p++) {
        int64_t off = 0, latest = 0;
        if ((rc = mp_log_offsets(log, "bench", p, &off, &latest, e)))
            goto done;
        while (off < latest) {
            if ((rc = mp_log_fetch(log, "bench", p, off, MAX_FETCH, &fr, e)))
                goto done;
            for (size_t i = 0; i < fr.n; i++) {
                value_bytes += (uint64_t)fr.recs[i].value_len;
                touch += fr.recs[i].value[fr.recs[i].value_len - 1];
            }
            consumed += (long)fr.n;
            batch_bytes += fr.bytes;
            if (fr.next_offset <= off) {
                rc = mp_error_set(e, MP_EFORMAT, "bench-%d: fetch at %" PRId64 " made no progress", p, off);
                goto done;
            }
            off = fr.next_offset;
        }
    }
    double consume_s = mp_clock_now() - t0, consume_cpu = cpu_seconds() - c0;
    if (consumed != r->records || value_bytes != (uint64_t)r->records * (uint64_t)r->size) {
        rc = mp_error_set(e, MP_EFORMAT, "consumed %ld records (%" PRIu64 " value bytes), produced %ld",
                          consumed, value_bytes, r->records);
        goto done;
    }
    mp_log_topic_info *info = NULL;
    int64_t disk = 0;
    int segments = 0;
    if ((rc = mp_log_topic_describe(log, "bench", &info, e)))
        goto done;
    for (int p = 0; p < info->partitions; p++) {
        disk += info->parts[p].size_bytes;
        segments += info->parts[p].segments;
    }
    mp_log_topic_info_free(info);
    printf("{\"id\": \"%s\", \"rep\": %d, \"size\": %d, \"records\": %ld, \"partitions\": %d, \"flush\": \"%s\", "
           "\"recs_per_call\": %d, \"produce_s\": %.6f, \"produce_cpu_s\": %.6f, \"flush_s\": %.6f, "
           "\"consume_s\": %.6f, \"consume_cpu_s\": %.6f, \"value_bytes\": %" PRIu64 ", "
           "\"disk_bytes\": %" PRId64 ", \"segments\": %d, \"touch\": %" PRIu64 "}\n",
           r->id, rep, r->size, r->records, r->partitions, r->flush_batch ? "batch" : "os", RECS_PER_CALL,
           produce_s, produce_cpu, flush_s, consume_s, consume_cpu, value_bytes, disk, segments,
           touch % 2);
    fflush(stdout);
    rc = mp_log_topic_delete(log, "bench", e);
done:
    mp_log_fetch_result_free(&fr);
    free(value);
    free(recs);
    mp_error ce = {0};
    int crc = mp_log_close(log, &ce);
    if (!rc && crc) {
        *e = ce;
        rc = crc;
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_log DIR [--repeats N] [ROW_ID...]\n");
        return 2;
    }
    const char *dir = argv[1];
    int repeats = 3, first = 2;
    if (argc > 3 && !strcmp(argv[2], "--repeats")) {
        repeats = atoi(argv[3]);
        first = 4;
        if (repeats < 1) {
            fprintf(stderr, "bench_log: --repeats: give at least 1\n");
            return 2;
        }
    }
    int status = 0;
    for (size_t i = 0; i < NROWS; i++) {
        int wanted = argc == first;
        for (int a = first; a < argc; a++)
            wanted |= !strcmp(argv[a], rows[i].id);
        if (!wanted)
            continue;
        fprintf(stderr, "bench_log: %s: %ld records of %d bytes, %d partition%s, %s flush, %d runs\n",
                rows[i].id, rows[i].records, rows[i].size, rows[i].partitions,
                rows[i].partitions == 1 ? "" : "s", rows[i].flush_batch ? "per-batch" : "OS", repeats);
        for (int rep = 0; rep < repeats; rep++) {
            mp_remove_tree(dir);
            mp_error e = {0};
            if (run_row(dir, &rows[i], rep, &e)) {
                fprintf(stderr, "bench_log: %s: %s\n", rows[i].id, e.msg);
                printf("{\"id\": \"%s\", \"rep\": %d, \"error\": \"see stderr\"}\n", rows[i].id, rep);
                status = 1;
                break;
            }
        }
    }
    mp_remove_tree(dir);
    return status;
}
