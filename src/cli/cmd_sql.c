/* mlpipe sql: the streaming-SQL shell over the embedded log, interactive
 * (line editing and history through libedit) or in batch (-f, -e). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/sql_shell.h"
#include "core/fileio.h"
#include "stream/engine.h"

static const char usage[] =
    "usage: mlpipe sql [--data-dir DIR] [--registry DIR] [--ext-dir DIR] [-f FILE | -e 'STATEMENTS']\n"
    "\n"
    "Runs streaming SQL in ksqlDB's dialect over the event log: CREATE STREAM/TABLE,\n"
    "SELECT ... EMIT CHANGES (push queries, until LIMIT or Ctrl-C), CREATE STREAM ... AS\n"
    "SELECT (persistent queries, running while the engine runs and resumed at the\n"
    "next start), INSERT INTO ... VALUES, SHOW, DESCRIBE, DROP, TERMINATE, PRINT,\n"
    "SET, RUN SCRIPT. Without -f or -e, an interactive shell: statements end with ';'\n"
    "and may span lines; Ctrl-C stops the running query, Ctrl-D leaves.\n"
    "\n"
    "  --data-dir DIR   the log's directory (default $MLPIPE_DATA_DIR or ./mlpipe-data)\n"
    "  --registry DIR   the model registry for PREDICT (a directory of model directories)\n"
    "  --ext-dir DIR    user-defined functions: loads every *.so in DIR (see docs/sql.md)\n"
    "  -f, --file FILE  run the statements in FILE, then exit\n"
    "  -e, --execute S  run the statements S, then exit\n"
    "  --run-for SECS   batch mode: keep persistent queries running this long before\n"
    "                   exiting (default 0: exit when the statements are done)\n";

static const mp_flag flags[] = {
    {"data-dir", 1, 0}, {"registry", 1, 0}, {"file", 1, 0}, {"execute", 1, 0},
    {"run-for", 1, 0},  {"ext-dir", 1, 0}, {NULL, 0, 0},
};

/* The shell's executor over the embedded engine. */
static int engine_execute(void *ctx, const char *sql, const mp_engine_sink *sink, mp_error *e)
{
    return mp_engine_execute(ctx, sql, sink, e);
}

int mp_cmd_sql(int argc, char **argv)
{
    /* -f and -e are the shell's short spellings. */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-f"))
            argv[i] = "--file";
        else if (!strcmp(argv[i], "-e"))
            argv[i] = "--execute";
    }
    mp_args a;
    int rc = mp_args_parse(argc, argv, flags, &a, usage);
    if (rc)
        return rc;
    if (a.help) {
        fputs(usage, stdout);
        return 0;
    }
    const char *file = mp_args_get(&a, "file"), *exec = mp_args_get(&a, "execute");
    if (a.npos || (file && exec)) {
        fprintf(stderr, "mlpipe sql: %s\n%s", a.npos ? "unexpected argument" : "give -f or -e, not both",
                usage);
        return 2;
    }
    double run_for;
    if (mp_args_double(&a, "sql", "run-for", 0, &run_for))
        return 2;
    mp_error e = {0};
    char *script = NULL;
    if (file) {
        size_t n;
        if ((rc = mp_read_file_raw(file, &script, &n, &e)))
            return mp_cli_fail("sql", &e);
    }
    mp_log *log = NULL;
    mp_engine *en = NULL;
    if ((rc = mp_cli_open_log(&a, 1, &log, &e))) {
        free(script);
        return mp_cli_fail("sql", &e);
    }
    mp_engine_opts eo = {.registry_dir = mp_args_get(&a, "registry"),
                         .ext_dir = mp_args_get(&a, "ext-dir")};
    if ((rc = mp_engine_open(log, &eo, &en, &e))) {
        mp_log_close(log, NULL);
        free(script);
        return mp_cli_fail("sql", &e);
    }
    mp_shell_catch_sigint();
    mp_shell sh;
    mp_shell_init(&sh, engine_execute, en);
    if (file || exec) {
        rc = mp_shell_run(&sh, file ? script : exec);
        /* Persistent queries run only while the engine runs. */
        for (double t = 0; rc == 0 && t < run_for && !mp_shell_interrupted(); t += 0.05)
            usleep(50000);
    } else {
        rc = mp_shell_interactive(&sh, "mlpipe sql: statements end with ';'. Ctrl-C stops a "
                                       "running query, Ctrl-D leaves.");
    }
    mp_engine_close(en);
    mp_log_close(log, NULL);
    mp_shell_free(&sh);
    free(script);
    return rc ? 2 : 0;
}
