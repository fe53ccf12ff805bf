/* mlpipe ksql: the `mlpipe sql` shell against a server's ksqlDB REST API
 * (`mlpipe server`, or ksqlDB itself), interactive or in batch (-f, -e). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/ksql_client.h"
#include "cli/sql_shell.h"
#include "core/fileio.h"

#define DEFAULT_URL "http://localhost:8088"

static const char usage[] =
    "usage: mlpipe ksql [URL] [--user U --password P] [-f FILE | -e 'STATEMENTS']\n"
    "\n"
    "The shell of `mlpipe sql`, running its statements on a server over ksqlDB's\n"
    "REST API (`mlpipe server`) at URL (default " DEFAULT_URL "). Push queries\n"
    "stream their rows as they come, until LIMIT or Ctrl-C; SET and UNSET stay\n"
    "in this session and go with every statement; RUN SCRIPT reads a local file.\n"
    "Without -f or -e, an interactive shell: statements end with ';' and may span\n"
    "lines; Ctrl-C stops the running query, Ctrl-D leaves.\n"
    "\n"
    "  --user U         HTTP Basic authentication as U\n"
    "  --password P     U's password\n"
    "  -f, --file FILE  run the statements in FILE, then exit\n"
    "  -e, --execute S  run the statements S, then exit\n"
    "\n"
    "Exit status: 0 done, 1 the server cannot be reached (or failed), 2 a\n"
    "statement was refused, authentication failed, or bad usage.\n";

static const mp_flag flags[] = {
    {"user", 1, 0}, {"password", 1, 0}, {"file", 1, 0}, {"execute", 1, 0}, {NULL, 0, 0},
};

int mp_cmd_ksql(int argc, char **argv)
{
    /* -f and -e are the shell's short spellings, as in `mlpipe sql`. */
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
    const char *user = mp_args_get(&a, "user"), *password = mp_args_get(&a, "password");
    const char *problem = a.npos > 1          ? "give at most one URL"
                          : file && exec      ? "give -f or -e, not both"
                          : user && !password ? "--user needs --password"
                          : password && !user ? "--password needs --user"
                                              : NULL;
    if (problem) {
        fprintf(stderr, "mlpipe ksql: %s\n%s", problem, usage);
        return 2;
    }
    const char *url = a.npos ? a.pos[0] : DEFAULT_URL;
    mp_error e = {0};
    char *script = NULL;
    if (file) {
        size_t n;
        if (mp_read_file_raw(file, &script, &n, &e))
            return mp_cli_fail("ksql", &e);
    }
    mp_ksql_client_opts o = {.url = url, .user = user, .password = password};
    mp_ksql_client *c = NULL;
    if (mp_ksql_client_new(&o, &c, &e)) {
        free(script);
        return mp_cli_fail("ksql", &e);
    }
    /* Check the server first: an unreachable server or refused
     * credentials end the session before any statement. */
    char *version = NULL;
    if (mp_ksql_client_info(c, &version, &e)) {
        int unauthorized = mp_ksql_client_status(c) == 401;
        fprintf(stderr, "mlpipe ksql: %s\n", e.msg);
        mp_ksql_client_free(c);
        free(script);
        return unauthorized ? 2 : 1;
    }
    mp_shell_catch_sigint();
    mp_shell sh;
    mp_shell_init(&sh, mp_ksql_client_execute, c);
    if (file || exec) {
        rc = mp_shell_run(&sh, file ? script : exec);
        rc = mp_cli_exit_code(rc);
    } else {
        printf("Connected to mlpipe server %s at %s\n", version, url);
        rc = mp_shell_interactive(&sh, "mlpipe ksql: statements end with ';'. Ctrl-C stops a "
                                       "running query, Ctrl-D leaves.");
    }
    mp_shell_free(&sh);
    mp_ksql_client_free(c);
    free(version);
    free(script);
    return rc;
}
