/* The crash test: a child process produces with flush.messages=1 and
 * reports every acknowledged record through a pipe; the parent kills it
 * with SIGKILL at a random moment, reopens the log and checks that every
 * acknowledged record is there with identical bytes, offsets are
 * contiguous, nothing is duplicated, and the reopen is clean. Many rounds
 * on the same data directory, so kills also land inside recovery. */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "log/log.h"
#include "log_test_util.h"

enum { ROUNDS = 30, NPARTS = 2, MAX_ACKS = 200000 };

typedef struct ack {
    int32_t partition;
    int64_t offset;
    char value[72];
} ack;

static ack *acks;
static size_t nacks;

static void child(const char *dir, int round, int fd)
{
    mp_log *log = lt_open(dir);
    if (!log) {
        (void)!write(fd, "ERR open\n", 9);
        _exit(1);
    }
    mp_error e = {0};
    uint64_t s = (uint64_t)round * 7919 + 1;
    for (int seq = 0; seq < 50000; seq++) {
        int k = 1 + seq % 4;
        mp_record recs[4];
        char vals[4][72], keys[4][8];
        for (int i = 0; i < k; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            int pad = (int)(s >> 59); /* 0..31 */
            snprintf(vals[i], sizeof vals[i], "r%d-s%d-i%d-%.*s", round, seq, i, pad,
                     "pppppppppppppppppppppppppppppppp");
            snprintf(keys[i], sizeof keys[i], "k%d", (seq + i) % 10);
            recs[i] = lt_rec(keys[i], vals[i], 1000 + seq);
        }
        mp_log_produced out[4];
        if (mp_log_produce_batch(log, "crash", MP_LOG_ANY_PARTITION, recs, (size_t)k, out, &e)) {
            char msg[300];
            int n = snprintf(msg, sizeof msg, "ERR %.200s\n", e.msg);
            (void)!write(fd, msg, (size_t)n);
            _exit(1);
        }
        /* Acknowledged: report it in one write (atomic below PIPE_BUF). */
        char line[512];
        size_t len = 0;
        for (int i = 0; i < k; i++)
            len += (size_t)snprintf(line + len, sizeof line - len, "%d %lld %s\n",
                                    (int)out[i].partition, (long long)out[i].offset, vals[i]);
        if (write(fd, line, len) != (ssize_t)len)
            _exit(1);
    }
    _exit(0);
}

static int parse_acks(char *text, int *errors)
{
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (!strncmp(line, "ERR", 3)) {
            fprintf(stderr, "child: %s\n", line);
            (*errors)++;
            continue;
        }
        int p;
        long long off;
        char v[72];
        if (sscanf(line, "%d %lld %71s", &p, &off, v) != 3 || nacks >= MAX_ACKS) {
            (*errors)++;
            continue;
        }
        acks[nacks].partition = p;
        acks[nacks].offset = off;
        snprintf(acks[nacks].value, sizeof acks[nacks].value, "%s", v);
        nacks++;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_sigkill_rounds(void)
{
    char dir[256];
    lt_dir(dir, sizeof dir);
    mp_log *log = lt_open(dir);
    REQUIRE(log);
    mp_error e = {0};
    const char *cfg[] = {"flush.messages=1", "segment.bytes=20000", "index.interval.bytes=256"};
    REQUIRE(mp_log_topic_create(log, "crash", NPARTS, cfg, 3, &e) == 0);
    lt_close(log);
    acks = calloc(MAX_ACKS, sizeof *acks);
    REQUIRE(acks);
    uint64_t s = 42;
    int child_errors = 0, open_failures = 0, missing = 0, changed = 0, gaps = 0, dups = 0;
    int64_t truncated_total = 0;
    size_t max_records = 0;
    static char buf[1 << 22];
    for (int round = 0; round < ROUNDS; round++) {
        int pfd[2];
        REQUIRE(pipe(pfd) == 0);
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            close(pfd[0]);
            child(dir, round, pfd[1]);
        }
        close(pfd[1]);
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        int ms = 5 + (int)((s >> 33) % 60);
        /* Drain while waiting so the child never blocks on a full pipe. */
        size_t got = 0;
        struct timespec start, now;
        clock_gettime(CLOCK_MONOTONIC, &start);
        fcntl(pfd[0], F_SETFL, O_NONBLOCK);
        for (;;) {
            ssize_t r = read(pfd[0], buf + got, sizeof buf - 1 - got);
            if (r > 0)
                got += (size_t)r;
            clock_gettime(CLOCK_MONOTONIC, &now);
            long el = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
            if (el >= ms || r == 0)
                break;
            if (r < 0) {
                struct timespec t = {0, 1000000};
                nanosleep(&t, NULL);
            }
        }
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        fcntl(pfd[0], F_SETFL, 0);
        ssize_t r;
        while ((r = read(pfd[0], buf + got, sizeof buf - 1 - got)) > 0)
            got += (size_t)r;
        close(pfd[0]);
        /* A line cut by the kill was never acknowledged: drop it. */
        while (got > 0 && buf[got - 1] != '\n')
            got--;
        buf[got] = '\0';
        parse_acks(buf, &child_errors);

        /* Reopen and check everything acknowledged so far. */
        log = lt_open(dir);
        if (!log) {
            open_failures++;
            break;
        }
        size_t total = 0;
        static lt_seen *parts[NPARTS];
        long np[NPARTS];
        for (int p = 0; p < NPARTS; p++) {
            if (!parts[p])
                parts[p] = calloc(MAX_ACKS, sizeof(lt_seen));
            np[p] = lt_read_all(log, "crash", p, 0, 1 << 16, parts[p], MAX_ACKS);
            if (np[p] < 0) {
                open_failures++;
                np[p] = 0;
            }
            for (long i = 0; i < np[p]; i++)
                gaps += parts[p][i].offset != i;
            total += (size_t)np[p];
        }
        for (size_t i = 0; i < nacks; i++) {
            const ack *a = &acks[i];
            if (a->partition < 0 || a->partition >= NPARTS || a->offset >= np[a->partition]) {
                missing++;
                continue;
            }
            changed += strcmp(parts[a->partition][a->offset].value, a->value) != 0;
        }
        /* No record twice (every value is unique by construction). */
        char **vals = malloc((total ? total : 1) * sizeof *vals);
        REQUIRE(vals);
        size_t k = 0;
        for (int p = 0; p < NPARTS; p++)
            for (long i = 0; i < np[p]; i++)
                vals[k++] = parts[p][i].value;
        qsort(vals, k, sizeof *vals, cmp_str);
        for (size_t i = 1; i < k; i++)
            dups += !strcmp(vals[i - 1], vals[i]);
        free(vals);
        mp_log_topic_info *info;
        if (mp_log_topic_describe(log, "crash", &info, &e) == 0) {
            for (int p = 0; p < NPARTS; p++)
                truncated_total += info->parts[p].truncated_bytes;
            mp_log_topic_info_free(info);
        }
        max_records = total;
        lt_close(log);
        if (round == ROUNDS - 1) {
            for (int p = 0; p < NPARTS; p++) {
                free(parts[p]);
                parts[p] = NULL;
            }
        }
    }
    CHECK(child_errors == 0);
    CHECK(open_failures == 0);
    CHECK(missing == 0);
    CHECK(changed == 0);
    CHECK(gaps == 0);
    CHECK(dups == 0);
    CHECK(nacks > 100);           /* the children did work */
    CHECK(max_records >= nacks);  /* unacknowledged writes may survive too */
    if (getenv("MP_TEST_VERBOSE"))
        fprintf(stderr, "%zu acknowledged, %zu stored, %lld bytes of torn tails cut\n", nacks,
                max_records, (long long)truncated_total);
    free(acks);
}

int main(void)
{
    RUN(test_sigkill_rounds);
    lt_cleanup();
    return TEST_SUMMARY();
}
