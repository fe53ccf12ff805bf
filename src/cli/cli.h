/* Shared pieces of the mlpipe subcommands. */
#ifndef MP_CLI_CLI_H
#define MP_CLI_CLI_H

#include "cli/args.h"
#include "core/buf.h"
#include "core/error.h"
#include "data/dataset.h"
#include "log/log.h"
#include "ml/model.h"

/* Exit codes: 0 ok, 1 runtime failure, 2 usage or input error. */
int mp_cli_exit_code(int rc);
/* Prints "mlpipe CMD: message" to stderr and returns the exit code. */
int mp_cli_fail(const char *cmd, const mp_error *e);

/* Parses --delimiter (one character, or "tab"/"\t"). Returns 2 on error. */
int mp_cli_delimiter(const mp_args *a, const char *cmd, char *out);
/* Parses --missing error|drop|mean; def when absent. Returns 2 on error. */
int mp_cli_missing(const mp_args *a, const char *cmd, mp_missing_policy def, mp_missing_policy *out);

/* What train and cv share: the algorithm and its options, and how to load
 * DATA (the one positional argument). */
typedef struct mp_cli_training {
    const char *data;
    mp_train_opts train; /* .params points at params below */
    mp_params params;
    mp_load_opts load;   /* .categorical points at cats below */
    const char *cats[MP_ARGS_MAX_REPEAT];
} mp_cli_training;

/* The flags of neural-network training, mapped onto --param names by
 * mp_cli_training_parse; in train's and cv's flag tables. */
#define MP_CLI_NN_FLAGS                                                                    \
    {"layers", 1, 0}, {"input-shape", 1, 0}, {"epochs", 1, 0}, {"batch-size", 1, 0},       \
        {"learning-rate", 1, 0}, {"optimizer", 1, 0}

/* Reads --algorithm, --target/--labels, --id, --param, --scale, --missing,
 * --task, --categorical, --limit, --seed, --delimiter and the
 * MP_CLI_NN_FLAGS. Prints a usage
 * error and returns 2 on bad flags; free with mp_cli_training_free. */
int mp_cli_training_parse(const mp_args *a, const char *cmd, const char *usage, mp_cli_training *t);
void mp_cli_training_free(mp_cli_training *t);

/* Writes b to path atomically, or to stdout when path is NULL or "-". */
int mp_cli_write_output(const char *path, const mp_buf *b, mp_error *e);

int mp_cmd_split(int argc, char **argv);
int mp_cmd_train(int argc, char **argv);
int mp_cmd_predict(int argc, char **argv);
int mp_cmd_eval(int argc, char **argv);
int mp_cmd_cv(int argc, char **argv);
int mp_cmd_inspect(int argc, char **argv);

/* ---- the event-log commands (topic, produce, consume) ---- */

/* The log's data directory: --data-dir, else $MLPIPE_DATA_DIR (when set and
 * not empty), else ./mlpipe-data. */
const char *mp_cli_data_dir(const mp_args *a);

/* How mp_cli_open_log opens the log (`create` below). 0: as its writer,
 * waiting briefly (MLPIPE_LOCK_WAIT_MS, default 3000) for another writer
 * to finish; MP_CLI_LOG_CREATE (1): the same, creating a missing data
 * directory; MP_CLI_LOG_READ: as a reader, beside whatever writer there is
 * (consume); MP_CLI_LOG_READ_IF_LOCKED: as the writer when the directory
 * is free, else as a reader (topic list, describe). */
#define MP_CLI_LOG_CREATE 1
#define MP_CLI_LOG_READ 2
#define MP_CLI_LOG_READ_IF_LOCKED 3

/* Opens the embedded log in mp_cli_data_dir(a) with no background thread
 * (one-shot commands; mp_log_close flushes). A data directory that is not a
 * directory or not accessible gives MP_EINVAL; a missing one MP_ENOTFOUND
 * unless create is MP_CLI_LOG_CREATE, when it (and its parents) are
 * created. */
int mp_cli_open_log(const mp_args *a, int create, mp_log **out, mp_error *e);

/* Parses --partition (a non-negative integer) into *out, -1 when absent.
 * Prints "mlpipe CMD: ..." and returns 2 on a bad value. */
int mp_cli_partition_flag(const mp_args *a, const char *cmd, int32_t *out);

int mp_cmd_topic(int argc, char **argv);
int mp_cmd_produce(int argc, char **argv);
int mp_cmd_consume(int argc, char **argv);
int mp_cmd_sql(int argc, char **argv);
/* ksqlDB's ksql-test-runner: statements, input and expected output files. */
int mp_cmd_test_runner(int argc, char **argv);
/* The HTTP server: ksqlDB's REST API and TensorFlow Serving's model API. */
int mp_cmd_server(int argc, char **argv);
/* The `mlpipe sql` shell against a server's ksqlDB REST API. */
int mp_cmd_ksql(int argc, char **argv);
/* Only the model endpoints, with tensorflow_model_server's flag names. */
int mp_cmd_serve_models(int argc, char **argv);

#endif
