/* mlpipe sql: the streaming-SQL shell over the embedded log, interactive
 * (line editing and history through libedit) or in batch (-f, -e). */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <editline/readline.h>

#include "cli/cli.h"
#include "core/fileio.h"
#include "sql/sql_lexer.h"
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

static atomic_int interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    atomic_store(&interrupted, 1);
}

/* Query output: a header line, then one line per row as it arrives, with
 * columns padded to the header's widths (rows stream, so widths cannot
 * wait for the data). */
typedef struct shell {
    size_t ncols;
    size_t *width;
    mp_buf line;
} shell;

static void print_rule(const size_t *w, size_t n)
{
    putchar('+');
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < w[i] + 2; k++)
            putchar('-');
        putchar('+');
    }
    putchar('\n');
}

static void print_cells(const size_t *w, size_t n, const char *const *cells)
{
    putchar('|');
    for (size_t i = 0; i < n; i++)
        printf(" %-*s |", (int)w[i], cells[i]);
    putchar('\n');
}

static void on_message(void *ctx, const char *text)
{
    (void)ctx;
    printf("%s\n", text);
    fflush(stdout);
}

static void on_table(void *ctx, const char *title, size_t ncols, const char *const *header,
                     size_t nrows, const char *const *cells)
{
    (void)ctx;
    size_t *w = calloc(ncols ? ncols : 1, sizeof *w);
    if (!w)
        return;
    for (size_t c = 0; c < ncols; c++) {
        w[c] = strlen(header[c]);
        for (size_t r = 0; r < nrows; r++) {
            size_t l = strlen(cells[r * ncols + c]);
            if (l > w[c])
                w[c] = l;
        }
    }
    if (title && *title)
        printf("%s\n", title);
    print_rule(w, ncols);
    print_cells(w, ncols, header);
    print_rule(w, ncols);
    for (size_t r = 0; r < nrows; r++)
        print_cells(w, ncols, cells + r * ncols);
    if (nrows)
        print_rule(w, ncols);
    fflush(stdout);
    free(w);
}

static void on_header(void *ctx, const char *query_id, size_t ncols, const char *const *names,
                      const char *const *types)
{
    shell *sh = ctx;
    (void)query_id;
    (void)types;
    free(sh->width);
    sh->ncols = ncols;
    sh->width = calloc(ncols ? ncols : 1, sizeof *sh->width);
    if (!sh->width)
        return;
    for (size_t i = 0; i < ncols; i++) {
        size_t l = strlen(names[i]);
        sh->width[i] = l < 12 ? 12 : l;
    }
    print_rule(sh->width, ncols);
    print_cells(sh->width, ncols, names);
    print_rule(sh->width, ncols);
    fflush(stdout);
}

static int on_row(void *ctx, size_t ncols, const mp_value *v)
{
    shell *sh = ctx;
    if (!sh->width || ncols != sh->ncols)
        return 0;
    putchar('|');
    for (size_t i = 0; i < ncols; i++) {
        sh->line.len = 0;
        mp_value_format(&v[i], &sh->line);
        printf(" %-*.*s |", (int)sh->width[i], (int)sh->line.len, sh->line.data ? sh->line.data : "");
    }
    putchar('\n');
    fflush(stdout);
    return 0;
}

static int on_cancelled(void *ctx)
{
    (void)ctx;
    return atomic_load(&interrupted);
}

/* Prints an error; a "line L:C:" message gets the statement line and a
 * caret under the column. */
static void report(const char *sql, const mp_error *e)
{
    fprintf(stderr, "error: %s\n", e->msg);
    unsigned line, col;
    if (sql && sscanf(e->msg, "line %u:%u:", &line, &col) == 2) {
        mp_buf b = {0};
        mp_sql_caret_context(sql, strlen(sql), line, col, &b);
        if (b.data)
            fprintf(stderr, "%s", b.data);
        mp_buf_free(&b);
    }
}

static int run(mp_engine *en, const char *sql, shell *sh)
{
    mp_engine_sink sink = {sh, on_message, on_table, on_header, on_row, on_cancelled};
    mp_error e = {0};
    atomic_store(&interrupted, 0);
    int rc = mp_engine_execute(en, sql, &sink, &e);
    if (rc)
        report(sql, &e);
    return rc;
}

/* True when text holds a complete statement: a ';' outside quotes and
 * comments. */
static int complete(const char *s)
{
    char q = 0;
    int last_semi = 0;
    for (; *s; s++) {
        if (q) {
            if (*s == q)
                q = 0;
            continue;
        }
        if (*s == '\'' || *s == '`' || *s == '"')
            q = *s;
        else if (*s == '-' && s[1] == '-')
            while (*s && *s != '\n')
                s++;
        if (!*s)
            break;
        if (*s == ';')
            last_semi = 1;
        else if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            last_semi = 0;
    }
    return last_semi && !q;
}

static int interactive(mp_engine *en, shell *sh)
{
    mp_buf stmt = {0};
    printf("mlpipe sql: statements end with ';'. Ctrl-C stops a running query, Ctrl-D leaves.\n");
    for (;;) {
        char *line = readline(stmt.len ? "      > " : "mlpipe> ");
        if (!line)
            break;
        if (stmt.len)
            mp_buf_putc(&stmt, '\n');
        mp_buf_puts(&stmt, line);
        free(line);
        if (stmt.oom)
            break;
        if (!complete(stmt.data))
            continue;
        add_history(stmt.data);
        run(en, stmt.data, sh);
        stmt.len = 0;
        stmt.data[0] = 0;
    }
    putchar('\n');
    mp_buf_free(&stmt);
    return 0;
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
    struct sigaction sa = {0};
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    shell sh = {0};
    if (file || exec) {
        rc = run(en, file ? script : exec, &sh);
        /* Persistent queries run only while the engine runs. */
        for (double t = 0; rc == 0 && t < run_for && !atomic_load(&interrupted); t += 0.05)
            usleep(50000);
    } else {
        rc = interactive(en, &sh);
    }
    mp_engine_close(en);
    mp_log_close(log, NULL);
    free(sh.width);
    mp_buf_free(&sh.line);
    free(script);
    return rc ? 2 : 0;
}
