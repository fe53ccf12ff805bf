/* mlpipe: the command-line front end over libmlpipe. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "mlpipe.h"

static const char usage[] =
    "usage: mlpipe <command> [options]\n"
    "\n"
    "Phase One, model building:\n"
    "  split    split labelled rows into training, testing and reserved actuals\n"
    "  train    train a model and save it as the next version in a model directory\n"
    "  predict  score rows with a saved model\n"
    "  eval     compare predictions with the actuals: how did we do?\n"
    "  cv       k-fold cross-validation of an algorithm\n"
    "  inspect  show a saved model and its versions\n"
    "\n"
    "Event log (embedded; Kafka's record format and partitioner):\n"
    "  topic    create, list, describe, delete or compact topics\n"
    "  produce  append standard input to a topic, one record per line\n"
    "  consume  print a topic's records, optionally as a consumer group\n"
    "\n"
    "Phase Two, production run:\n"
    "  sql      streaming SQL (ksqlDB dialect): streams, push and persistent queries\n"
    "  test-runner  test SQL statements against input and expected output records\n"
    "           (ksqlDB's ksql-test-runner files)\n"
    "  ksql     the sql shell against a server, over ksqlDB's REST API\n"
    "  server   ksqlDB's REST API, TensorFlow Serving's model API and /metrics on one port\n"
    "  serve-models  TensorFlow Serving's REST API for a model directory\n"
    "           (tensorflow_model_server's flags)\n"
    "\n"
    "Run 'mlpipe <command> --help' for a command's options.\n";

struct command {
    const char *name;
    int (*run)(int, char **);
};

static const struct command commands[] = {
    {"split", mp_cmd_split},   {"train", mp_cmd_train}, {"predict", mp_cmd_predict},
    {"eval", mp_cmd_eval},     {"cv", mp_cmd_cv},       {"inspect", mp_cmd_inspect},
    {"topic", mp_cmd_topic},   {"produce", mp_cmd_produce}, {"consume", mp_cmd_consume},
    {"sql", mp_cmd_sql},       {"test-runner", mp_cmd_test_runner},
    {"server", mp_cmd_server}, {"serve-models", mp_cmd_serve_models},
    {"ksql", mp_cmd_ksql},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        fputs(usage, stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("mlpipe %s\n", mp_version());
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "mlpipe: unknown command '%s'\n%s", argv[1], usage);
    return 2;
}
