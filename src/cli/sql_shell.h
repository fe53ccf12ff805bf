/* The streaming-SQL shell shared by `mlpipe sql` (the embedded engine) and
 * `mlpipe ksql` (a server over REST): the interactive loop with line
 * editing and history, statements that span lines until a ';', the
 * output (status lines, aligned tables, query rows as they stream), error
 * reports with a caret under the position, and Ctrl-C, which stops the
 * running statement rather than the shell.
 *
 * Whatever runs the statements is an executor: a function that runs a
 * script and reports through an mp_engine_sink. The shell's sink polls
 * Ctrl-C through its `cancelled` callback, so an executor that honours it
 * stops a push query at once.
 *
 * Thread-safety: one shell per process (Ctrl-C is process-wide). */
#ifndef MP_CLI_SQL_SHELL_H
#define MP_CLI_SQL_SHELL_H

#include <stddef.h>

#include "core/buf.h"
#include "core/error.h"
#include "stream/engine.h"

/* Runs a script of ';'-separated statements in order, stopping at the
 * first failure. Returns 0 or a negative MP_E* code with e filled; a
 * message starting "line L:C:" gets a caret under that place in sql. */
typedef int (*mp_shell_exec_fn)(void *ctx, const char *sql, const mp_engine_sink *sink,
                                mp_error *e);

typedef struct mp_shell {
    mp_shell_exec_fn execute;
    void *ctx;
    /* The running query's column widths: rows stream, so their widths
     * are fixed by the header. */
    size_t ncols;
    size_t *width;
    mp_buf line;
} mp_shell;

void mp_shell_init(mp_shell *sh, mp_shell_exec_fn execute, void *ctx);
void mp_shell_free(mp_shell *sh);

/* Makes SIGINT (Ctrl-C) stop the running statement instead of the
 * process; mp_shell_interrupted says whether it came since the last
 * statement began. */
void mp_shell_catch_sigint(void);
int mp_shell_interrupted(void);

/* Runs sql, printing its output to stdout and any error to stderr.
 * Returns 0 or the error's (negative) code. */
int mp_shell_run(mp_shell *sh, const char *sql);

/* Prints banner, then reads statements from the terminal (or stdin when it
 * is not one) until end of input, running each when it ends with ';'.
 * Errors are reported and the loop goes on; returns 0. */
int mp_shell_interactive(mp_shell *sh, const char *banner);

#endif
