/* The streaming-SQL shell: see sql_shell.h. */
#include "cli/sql_shell.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <editline/readline.h>

#include "sql/sql_lexer.h"

static atomic_int interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    atomic_store(&interrupted, 1);
}

void mp_shell_catch_sigint(void)
{
    /* No SA_RESTART: a blocking wait wakes up and sees the flag. */
    struct sigaction sa = {0};
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
}

int mp_shell_interrupted(void)
{
    return atomic_load(&interrupted);
}

void mp_shell_init(mp_shell *sh, mp_shell_exec_fn execute, void *ctx)
{
    memset(sh, 0, sizeof *sh);
    sh->execute = execute;
    sh->ctx = ctx;
}

void mp_shell_free(mp_shell *sh)
{
    free(sh->width);
    mp_buf_free(&sh->line);
    sh->width = NULL;
    sh->ncols = 0;
}

/* ---- output ---- */

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
    mp_shell *sh = ctx;
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
    mp_shell *sh = ctx;
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

int mp_shell_run(mp_shell *sh, const char *sql)
{
    mp_engine_sink sink = {sh, on_message, on_table, on_header, on_row, on_cancelled};
    mp_error e = {0};
    atomic_store(&interrupted, 0);
    int rc = sh->execute(sh->ctx, sql, &sink, &e);
    if (rc) {
        /* An executor that forgot its message still gets a readable report. */
        if (!e.msg[0])
            mp_error_set(&e, rc, "%s", mp_strerror(rc));
        report(sql, &e);
    }
    return rc;
}

/* ---- the interactive loop ---- */

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

int mp_shell_interactive(mp_shell *sh, const char *banner)
{
    mp_buf stmt = {0};
    printf("%s\n", banner);
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
        mp_shell_run(sh, stmt.data);
        stmt.len = 0;
        stmt.data[0] = 0;
    }
    putchar('\n');
    mp_buf_free(&stmt);
    return 0;
}
