/* mlpipe produce: appends standard input to a topic, one record per line. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/varint.h"
#include "log/log.h"

static const char usage[] =
    "usage: mlpipe produce TOPIC [--key K | --key-separator SEP] [--partition P]\n"
    "                            [--timestamp MS] [--header KEY=VALUE]... [--verbose]\n"
    "\n"
    "Appends one record per line of standard input to TOPIC (the newline, and a\n"
    "CR before it, are not part of the record; an empty line is an empty value).\n"
    "Lines are sent in batches of up to 1000 lines or 1 MB; a record is\n"
    "acknowledged when its batch is written (and fsynced when the topic has\n"
    "flush.messages=1). At the end, the topic's retention is applied (the log\n"
    "runs no background thread between commands).\n"
    "\n"
    "One writer at a time: readers (mlpipe consume, --follow too) run beside a\n"
    "produce, but a second produce (or topic create/delete/compact) waits up to\n"
    "$MLPIPE_LOCK_WAIT_MS ms (default 3000) for the first, then fails naming it.\n"
    "\n"
    "  --data-dir DIR       the log's directory (default: $MLPIPE_DATA_DIR, else\n"
    "                       ./mlpipe-data)\n"
    "  --key K              give every record the key K (default: no key)\n"
    "  --key-separator SEP  split each line at the first SEP into key and value;\n"
    "                       a line without SEP becomes a record with no key and\n"
    "                       the whole line as value (as kcat -K does)\n"
    "  --partition P        write every record to partition P (default: keyed\n"
    "                       records where Kafka's murmur2 partitioner puts them,\n"
    "                       keyless ones spread round robin)\n"
    "  --timestamp MS       the records' timestamp, ms since the epoch (default:\n"
    "                       the time of writing)\n"
    "  --header KEY=VALUE   add this header to every record; repeatable\n"
    "  --verbose            print \"partition offset\" for each record once its batch\n"
    "                       is acknowledged, in input order\n";

static const mp_flag flags[] = {
    {"data-dir", 1, 0}, {"key", 1, 0},    {"key-separator", 1, 0}, {"partition", 1, 0},
    {"timestamp", 1, 0}, {"header", 1, 1}, {"verbose", 0, 0},      {NULL, 0, 0},
};

#define BATCH_LINES 1000
#define BATCH_BYTES ((size_t)1 << 20)

/* Where a pending record's key and value lie in the pending bytes (the
 * buffer may move as it grows, so pointers are made only when sending). */
typedef struct span {
    size_t koff, voff;
    int32_t klen, vlen; /* klen -1: no key (or --key, which is not stored here) */
} span;

typedef struct producer {
    mp_log *log;
    const char *topic;
    int32_t partition;
    int64_t timestamp;
    const uint8_t *fixed_key; /* --key */
    int32_t fixed_key_len;
    const mp_record_header *headers;
    size_t nheaders;
    int verbose;
    mp_buf bytes;
    span *spans;
    mp_record *recs;
    mp_log_produced *out;
    size_t n, cap;
    unsigned long first_line; /* stdin line number of spans[0] */
} producer;

static int grow(producer *p, mp_error *e)
{
    if (p->n < p->cap)
        return 0;
    size_t cap = p->cap ? p->cap * 2 : 256;
    span *s = realloc(p->spans, cap * sizeof *s);
    if (s)
        p->spans = s;
    mp_record *r = realloc(p->recs, cap * sizeof *r);
    if (r)
        p->recs = r;
    mp_log_produced *o = realloc(p->out, cap * sizeof *o);
    if (o)
        p->out = o;
    if (!s || !r || !o)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    p->cap = cap;
    return 0;
}

/* Sends the pending lines as one produce call, prints their positions with
 * --verbose, and empties the batch. */
static int send(producer *p, mp_error *e)
{
    if (p->n == 0)
        return 0;
    if (p->bytes.oom)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    /* Only empty lines so far: no bytes allocated, and NULL + 0 is not a
     * pointer C allows. */
    const uint8_t *base = (const uint8_t *)(p->bytes.data ? p->bytes.data : "");
    for (size_t i = 0; i < p->n; i++) {
        const span *s = &p->spans[i];
        p->recs[i] = (mp_record){
            .offset = 0,
            .timestamp = p->timestamp,
            .key = p->fixed_key ? p->fixed_key : s->klen >= 0 ? base + s->koff : NULL,
            .key_len = p->fixed_key ? p->fixed_key_len : s->klen,
            .value = base + s->voff,
            .value_len = s->vlen,
            .nheaders = p->nheaders,
            .headers = p->headers,
        };
    }
    int rc = mp_log_produce_batch(p->log, p->topic, p->partition, p->recs, p->n, p->out, e);
    size_t written = 0;
    for (size_t i = 0; i < p->n; i++) {
        if (p->out[i].partition < 0)
            continue;
        written++;
        if (p->verbose)
            printf("%d %" PRId64 "\n", (int)p->out[i].partition, p->out[i].offset);
    }
    /* Acknowledgements go out as soon as the batch is on disk: a caller
     * (or a crash test) may rely on every printed line. */
    if (p->verbose && fflush(stdout) && !rc)
        rc = mp_error_set(e, MP_EIO, "cannot write to standard output: %s", strerror(errno));
    if (rc) {
        unsigned long last = p->first_line + p->n - 1;
        mp_error_prefix(e, "stdin lines %lu..%lu (%zu of these %zu records were written)", p->first_line,
                        last, written, p->n);
        return rc;
    }
    p->first_line += p->n;
    p->n = 0;
    mp_buf_reset(&p->bytes);
    return 0;
}

/* The size of a batch holding just this record: what max.message.bytes and
 * segment.bytes are compared with. */
static uint64_t single_batch_size(int64_t klen, int64_t vlen, const mp_record_header *h, size_t nh)
{
    uint64_t body = 1 + 1 + 1; /* attributes, timestamp delta 0, offset delta 0 */
    body += mp_varint_size64(klen) + (klen > 0 ? (uint64_t)klen : 0);
    body += mp_varint_size64(vlen) + (vlen > 0 ? (uint64_t)vlen : 0);
    body += mp_varint_size64((int64_t)nh);
    for (size_t i = 0; i < nh; i++) {
        body += mp_varint_size64((int64_t)h[i].key_len) + h[i].key_len;
        body += mp_varint_size64(h[i].value_len) + (h[i].value_len > 0 ? (uint64_t)h[i].value_len : 0);
    }
    return MP_BATCH_HEADER_SIZE + mp_varint_size64((int64_t)(body > INT64_MAX ? INT64_MAX : body)) + body;
}

/* The first occurrence of sep[0..seplen) in s[0..len), or NULL (memmem is
 * a GNU extension). */
static const char *find_sep(const char *s, size_t len, const char *sep, size_t seplen)
{
    if (seplen == 0 || seplen > len)
        return NULL;
    for (const char *q = s, *end = s + len - seplen; q <= end; q++) {
        q = memchr(q, sep[0], (size_t)(end - q) + 1);
        if (!q)
            return NULL;
        if (!memcmp(q, sep, seplen))
            return q;
    }
    return NULL;
}

/* One input line: splits it, checks its size, adds it to the batch. */
static int add_line(producer *p, const char *line, size_t len, unsigned long lineno, const char *sep,
                    int64_t limit, mp_error *e)
{
    int rc;
    if (len && line[len - 1] == '\r')
        len--;
    size_t klen = 0, voff = 0;
    int keyed = 0;
    if (sep) {
        const char *at = find_sep(line, len, sep, strlen(sep));
        if (at) {
            keyed = 1;
            klen = (size_t)(at - line);
            voff = klen + strlen(sep);
        }
    }
    size_t vlen = len - voff;
    int64_t kl = p->fixed_key ? p->fixed_key_len : keyed ? (int64_t)klen : -1;
    uint64_t size = len > INT32_MAX ? UINT64_MAX : single_batch_size(kl, (int64_t)vlen, p->headers, p->nheaders);
    if (size > (uint64_t)limit || len > INT32_MAX) {
        /* Everything before this line is produced, nothing from it on. */
        if ((rc = send(p, e)))
            return rc;
        if (len > INT32_MAX)
            return mp_error_set(e, MP_EINPUT, "stdin line %lu: longer than 2 GB; nothing from this line "
                                "on was produced", lineno);
        return mp_error_set(e, MP_EINPUT,
                            "stdin line %lu: a record of %" PRIu64 " bytes (as a batch of its own) is "
                            "larger than topic %s allows (%" PRId64 " bytes: max.message.bytes and "
                            "segment.bytes); nothing from this line on was produced",
                            lineno, size, p->topic, limit);
    }
    if (p->n == 0)
        p->first_line = lineno;
    if ((rc = grow(p, e)))
        return rc;
    span *s = &p->spans[p->n++];
    s->koff = p->bytes.len;
    s->klen = keyed ? (int32_t)klen : -1;
    mp_buf_append(&p->bytes, line, len);
    s->voff = s->koff + voff;
    s->vlen = (int32_t)vlen;
    if (p->n >= BATCH_LINES || p->bytes.len >= BATCH_BYTES)
        return send(p, e);
    return 0;
}

/* 1 when more input can be read without waiting. */
static int input_ready(int fd)
{
    struct pollfd pfd = {fd, POLLIN, 0};
    return poll(&pfd, 1, 0) > 0;
}

/* Reads stdin with read(2) rather than stdio so that it knows when no more
 * input is waiting: a partial batch is sent then, so lines arriving slowly
 * (tail -f | mlpipe produce) are not held back until a batch fills. */
static int run(producer *p, const char *sep, int64_t limit, mp_error *e)
{
    size_t cap = (size_t)1 << 20, start = 0, end = 0;
    char *buf = malloc(cap);
    if (!buf)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    unsigned long lineno = 0;
    int rc = 0;
    p->first_line = 1;
    for (;;) {
        if (end == cap) {
            if (start > 0) {
                memmove(buf, buf + start, end - start);
                end -= start;
                start = 0;
            } else { /* one line fills the buffer: grow it */
                char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
                if (!nb) {
                    rc = mp_error_set(e, MP_ENOMEM, "stdin line %lu: out of memory", lineno + 1);
                    break;
                }
                buf = nb;
                cap *= 2;
            }
        }
        ssize_t got = read(STDIN_FILENO, buf + end, cap - end);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = mp_error_set(e, MP_EIO, "cannot read standard input: %s", strerror(errno));
            break;
        }
        if (got == 0) { /* the last line may lack its newline */
            if (end > start)
                rc = add_line(p, buf + start, end - start, ++lineno, sep, limit, e);
            break;
        }
        end += (size_t)got;
        char *nl;
        while (!rc && (nl = memchr(buf + start, '\n', end - start))) {
            size_t len = (size_t)(nl - (buf + start));
            rc = add_line(p, buf + start, len, ++lineno, sep, limit, e);
            start += len + 1;
        }
        if (rc)
            break;
        if (start == end)
            start = end = 0;
        if (p->n && !input_ready(STDIN_FILENO) && (rc = send(p, e)))
            break;
    }
    if (!rc)
        rc = send(p, e);
    free(buf);
    return rc;
}

int mp_cmd_produce(int argc, char **argv)
{
    mp_args a;
    int rc = mp_args_parse(argc, argv, flags, &a, usage);
    if (rc)
        return rc;
    if (a.help) {
        fputs(usage, stdout);
        return 0;
    }
    if (a.npos != 1) {
        fprintf(stderr, "mlpipe produce: expected one TOPIC\n%s", usage);
        return 2;
    }
    const char *key = mp_args_get(&a, "key"), *sep = mp_args_get(&a, "key-separator");
    if (key && sep) {
        fprintf(stderr, "mlpipe produce: give --key or --key-separator, not both\n");
        return 2;
    }
    if (sep && !sep[0]) {
        fprintf(stderr, "mlpipe produce: --key-separator: the separator is empty\n");
        return 2;
    }
    if (key && strlen(key) > INT32_MAX) {
        fprintf(stderr, "mlpipe produce: --key: too long\n");
        return 2;
    }
    int32_t partition;
    if (mp_cli_partition_flag(&a, "produce", &partition))
        return 2;
    int64_t timestamp = -1;
    if (mp_args_has(&a, "timestamp")) {
        unsigned long ts;
        if (mp_args_ulong(&a, "produce", "timestamp", 0, &ts))
            return 2;
        if (ts > (unsigned long)INT64_MAX) {
            fprintf(stderr, "mlpipe produce: --timestamp: %lu is too large\n", ts);
            return 2;
        }
        timestamp = (int64_t)ts;
    }
    const char *hv[MP_ARGS_MAX_REPEAT];
    size_t nh = mp_args_all(&a, "header", hv, MP_ARGS_MAX_REPEAT);
    mp_record_header headers[MP_ARGS_MAX_REPEAT];
    for (size_t i = 0; i < nh; i++) {
        const char *eq = strchr(hv[i], '=');
        if (!eq) {
            fprintf(stderr, "mlpipe produce: --header '%s': expected KEY=VALUE\n", hv[i]);
            return 2;
        }
        headers[i] = (mp_record_header){hv[i], (size_t)(eq - hv[i]), (const uint8_t *)eq + 1,
                                        (int32_t)strlen(eq + 1)};
    }
    const char *topic = a.pos[0];
    mp_error e = {0};
    mp_log *log = NULL;
    if ((rc = mp_cli_open_log(&a, 0, &log, &e)))
        return mp_cli_fail("produce", &e);
    /* Checked up front so that a bad --partition or an oversized line is
     * reported before anything is written. */
    mp_log_topic_info *info = NULL;
    producer p = {
        .log = log, .topic = topic, .partition = partition < 0 ? MP_LOG_ANY_PARTITION : partition,
        .timestamp = timestamp, .fixed_key = (const uint8_t *)key,
        .fixed_key_len = key ? (int32_t)strlen(key) : -1, .headers = nh ? headers : NULL,
        .nheaders = nh, .verbose = mp_args_has(&a, "verbose"),
    };
    if ((rc = mp_log_topic_describe(log, topic, &info, &e)))
        goto done;
    if (partition >= info->partitions) {
        rc = mp_error_set(&e, MP_EINVAL, "--partition %d: topic %s has partitions 0..%d", (int)partition,
                          topic, (int)info->partitions - 1);
        goto done;
    }
    int64_t limit = info->config.max_message_bytes;
    if (info->config.segment_bytes < limit)
        limit = info->config.segment_bytes;
    /* A compressed batch may fit where the raw one would not: leave that
     * decision to the log. */
    if (info->config.compression != MP_LOG_COMPRESSION_PRODUCER &&
        info->config.compression != MP_COMPRESS_NONE)
        limit = INT64_MAX;
    rc = run(&p, sep, limit, &e);
    /* One-shot commands run no background thread, so this is where
     * retention (and flush.ms) is applied, as a broker's periodic check
     * would. */
    if (!rc && (rc = mp_log_maintain(log, &e)))
        mp_error_prefix(&e, "the records were produced, but the retention pass after them failed");
done:
    mp_log_topic_info_free(info);
    mp_buf_free(&p.bytes);
    free(p.spans);
    free(p.recs);
    free(p.out);
    mp_error ce = {0};
    int crc = mp_log_close(log, &ce);
    if (rc)
        return mp_cli_fail("produce", &e);
    return crc ? mp_cli_fail("produce", &ce) : 0;
}
