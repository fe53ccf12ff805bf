/* What `mlpipe test-runner`'s two modes share: the records of a test (as
 * ksql-test-runner's files and ksqlDB's query-validation tests give them)
 * and one run of a test on a fresh log. */
#ifndef MP_CLI_TEST_RUNNER_H
#define MP_CLI_TEST_RUNNER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"

typedef struct tr_record {
    const char *topic;
    json_t *key;    /* borrowed from the document; NULL: null */
    json_t *value;  /* borrowed; JSON null for a tombstone */
    json_t *window; /* borrowed; NULL: an unwindowed key */
    int has_ts;
    int64_t ts;
} tr_record;

typedef struct tr_file {
    const char *path; /* how errors name the records' origin */
    json_t *doc;      /* owned when loaded from a file; else NULL */
    size_t n;
    tr_record *recs;
} tr_file;

void tr_file_free(tr_file *f);

/* Reads the records of arr (the document's field "inputs" or "outputs")
 * into f, which borrows them. An empty "outputs" is refused unless
 * allow_empty. Returns 0; 2 for a malformed record, 3 for one the engine
 * cannot take yet (a windowed input, headers), with the problem in err
 * ("inputs[1]: missing field 'topic'"). */
int tr_parse_records(const char *path, const char *field, json_t *arr, int allow_empty, tr_file *f,
                     char *err, size_t errsz);

/* The column of the first character of the token a jansson syntax error
 * names. */
int tr_token_start(const json_error_t *je);

typedef struct tr_case {
    const char *const *stmts; /* run in order, each a script */
    size_t nstmts;
    const tr_file *in, *out;  /* out may be empty: nothing compared */
    json_t *props;            /* session properties; NULL: none */
    const char *keep_dir;     /* run there and keep it; NULL: a temporary one */
    const char *registry;     /* for PREDICT; may be NULL */
    double timeout;           /* seconds, the longest wait for the queries */
} tr_case;

enum {
    TR_PASS = 0,
    TR_DIFF = 1,  /* diag: the first difference, as ksql-test-runner words it */
    TR_INPUT = 2, /* diag: an input record that cannot be written */
    TR_STMT = 3,  /* *failed_stmt and se: the statement that failed */
    TR_SETUP = 4  /* diag: no log could be opened */
};

/* Runs c on a fresh log: the statements, then the inputs, then the
 * comparison of every topic named in the outputs. Returns one of TR_*. */
int tr_run_case(const tr_case *c, mp_buf *diag, mp_error *se, size_t *failed_stmt);

/* mlpipe test-runner --qtt FILE: ksqlDB's query-validation test files. */
int tr_run_qtt(const char *path, const char *name_filter, const char *registry, double timeout);

#endif
