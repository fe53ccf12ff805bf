/* mlpipe server: the streaming-SQL engine behind ksqlDB's REST API and the
 * model registry behind TensorFlow Serving's, on one port. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "core/fileio.h"
#include "server/ksql_api.h"
#include "server/model_service.h"
#include "server/server.h"
#include "sql/sql_parser.h"
#include "stream/engine.h"

static const char usage[] =
    "usage: mlpipe server [--data-dir DIR] [--registry DIR] [--listen HOST:PORT]\n"
    "                     [--queries-file FILE] [--config FILE] [--ext-dir DIR] [options]\n"
    "\n"
    "Serves ksqlDB's REST API (/ksql, /query, /query-stream, /inserts-stream,\n"
    "/close-query, /info, /healthcheck, /status) over HTTP/1.1 and HTTP/2, TensorFlow\n"
    "Serving's model API (/v1/models/...) for every model in --registry, and /metrics.\n"
    "Runs until SIGINT or SIGTERM, then stops its queries, commits and exits 0.\n"
    "\n"
    "  --data-dir DIR          the log's directory (default $MLPIPE_DATA_DIR or ./mlpipe-data)\n"
    "  --registry DIR          models for PREDICT and /v1/models (a directory of model dirs)\n"
    "  --listen HOST:PORT      where to listen (default 127.0.0.1:8088)\n"
    "  --queries-file FILE     headless: run FILE's statements at start and refuse\n"
    "                          statements over REST\n"
    "  --config FILE           server properties (key=value, see docs/server.md);\n"
    "                          flags override them\n"
    "  --ext-dir DIR           user-defined functions: every *.so in DIR\n"
    "  --users-file FILE       require HTTP Basic authentication (all but /healthcheck)\n"
    "  --max-body-bytes N      larger request bodies get 413 (default 8388608)\n"
    "  --idle-timeout SECS     close connections idle this long (default 30)\n"
    "  --model-config-file F   model version policies (TF Serving's model_config_list)\n"
    "  --poll-seconds S        how often to look for new model versions (default 1)\n"
    "  --enable-batching       merge concurrent predict requests into batches\n"
    "  --verbose               access log on stderr\n"
    "  --run-for SECS          stop by itself after SECS (for scripts and tests)\n";

static const mp_flag flags[] = {
    {"data-dir", 1, 0},     {"registry", 1, 0},       {"listen", 1, 0},
    {"queries-file", 1, 0}, {"config", 1, 0},         {"ext-dir", 1, 0},
    {"users-file", 1, 0},   {"max-body-bytes", 1, 0}, {"idle-timeout", 1, 0},
    {"model-config-file", 1, 0}, {"poll-seconds", 1, 0}, {"enable-batching", 0, 0},
    {"verbose", 0, 0},      {"run-for", 1, 0},        {NULL, 0, 0},
};

/* ---- server.properties ---- */

typedef struct config {
    char *text; /* the file, split into keys and values in place */
    const char *keys[64], *values[64];
    size_t n;
} config;

/* Keys ksqlDB's server.properties uses, and mlpipe's own. */
static const char *const known_keys[] = {
    "listeners", "ksql.extension.dir", "ksql.queries.file", "ksql.streams.state.dir",
    "mlpipe.data.dir", "mlpipe.registry", "mlpipe.users.file", "mlpipe.max.body.bytes",
    "mlpipe.idle.timeout.seconds", "mlpipe.model.config.file", "mlpipe.model.poll.seconds",
    "mlpipe.enable.batching", "ksql.service.id", "bootstrap.servers",
    "ksql.logging.processing.topic.auto.create", "ksql.logging.processing.stream.auto.create",
};

static int config_read(const char *path, config *c, mp_error *e)
{
    size_t len;
    int rc = mp_read_file_raw(path, &c->text, &len, e);
    if (rc)
        return rc;
    int line = 0;
    for (char *p = c->text; p && *p;) {
        line++;
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        char *s = p;
        p = nl ? nl + 1 : NULL;
        while (*s == ' ' || *s == '\t')
            s++;
        char *end = s + strlen(s);
        while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
            *--end = '\0';
        if (!*s || *s == '#' || *s == '!')
            continue;
        char *eq = strpbrk(s, "=:");
        if (!eq)
            return mp_error_set(e, MP_EINPUT, "%s:%d:1: expected key=value", path, line);
        char *k_end = eq;
        while (k_end > s && (k_end[-1] == ' ' || k_end[-1] == '\t'))
            k_end--;
        *k_end = '\0';
        char *v = eq + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        int known = 0;
        for (size_t i = 0; i < sizeof known_keys / sizeof known_keys[0]; i++)
            known |= !strcmp(s, known_keys[i]);
        if (!known)
            fprintf(stderr, "mlpipe server: %s:%d: ignoring unknown property '%s'\n", path, line,
                    s);
        if (c->n == 64)
            return mp_error_set(e, MP_EINPUT, "%s:%d: more than 64 properties", path, line);
        c->keys[c->n] = s;
        c->values[c->n++] = v;
    }
    return 0;
}

static const char *config_get(const config *c, const char *key)
{
    const char *v = NULL;
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->keys[i], key))
            v = c->values[i];
    return v;
}

/* "http://127.0.0.1:8088" (ksqlDB's listeners) → "127.0.0.1:8088". */
static const char *listener_address(const char *v, char *buf, size_t n)
{
    if (!strncmp(v, "http://", 7))
        v += 7;
    snprintf(buf, n, "%s", v);
    char *comma = strchr(buf, ',');
    if (comma)
        *comma = '\0';
    size_t l = strlen(buf);
    if (l && buf[l - 1] == '/')
        buf[l - 1] = '\0';
    return buf;
}

/* ---- routing ---- */

typedef struct app {
    mp_server *srv;
    mp_ksql_api *ksql;
    mp_model_service *models;
} app;

static void route(void *ctx, const mp_http_request *req, mp_http_response *resp)
{
    app *a = ctx;
    if (!strcmp(req->path, "/metrics")) {
        if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")) {
            mp_http_respond_error(resp, 405, "/metrics takes GET");
            return;
        }
        mp_buf b = {0};
        mp_server_metrics(a->srv, &b);
        mp_ksql_api_metrics(a->ksql, &b);
        if (a->models)
            mp_model_service_metrics(a->models, &b);
        if (b.oom) {
            mp_buf_free(&b);
            mp_http_respond_error(resp, 500, "out of memory");
            return;
        }
        size_t len = b.len;
        mp_http_respond_owned(resp, 200, "text/plain; version=0.0.4; charset=utf-8",
                              mp_buf_take(&b), len);
        return;
    }
    if (a->models && mp_model_service_handle(a->models, req, resp))
        return;
    if (!a->models && !strncmp(req->path, "/v1/models", 10)) {
        mp_http_respond_error(resp, 404, "no models are served: start the server with --registry");
        return;
    }
    if (mp_ksql_api_handle(a->ksql, req, resp))
        return;
    char msg[160];
    snprintf(msg, sizeof msg, "no such endpoint: %.120s", req->path);
    mp_http_respond_error(resp, 404, msg);
}

/* ---- headless mode ---- */

static void print_message(void *ctx, const char *text)
{
    (void)ctx;
    fprintf(stderr, "mlpipe server: %s\n", text);
}

/* Runs the queries file one statement at a time. A restart finds the
 * file's streams, tables and queries already there (the command topic
 * brought them back), so "already exists" keeps the running definition. */
static int run_queries_file(mp_engine *en, const char *path, mp_error *e)
{
    char *text = NULL;
    size_t len;
    int rc = mp_read_file_raw(path, &text, &len, e);
    if (rc)
        return rc;
    mp_sql_script *script = NULL;
    mp_sql_pos pos;
    if ((rc = mp_sql_parse_script(text, len, &script, &pos, e))) {
        mp_error_prefix(e, "%s", path);
        free(text);
        return rc;
    }
    mp_engine_sink sink = {.message = print_message};
    for (size_t i = 0; i < script->n && !rc; i++) {
        const mp_sql_stmt *st = script->stmts[i];
        char *stmt = strndup(text + st->span_offset, st->span_len);
        if (!stmt) {
            rc = mp_error_set(e, MP_ENOMEM, "out of memory");
            break;
        }
        mp_error se = {0};
        int src = mp_engine_execute(en, stmt, &sink, &se);
        if (src == MP_EEXIST) {
            fprintf(stderr, "mlpipe server: %s:%u: kept from the last start: %s\n", path,
                    st->pos.line, se.msg);
        } else if (src) {
            rc = mp_error_set(e, src, "%s:%u: %s", path, st->pos.line, se.msg);
        }
        free(stmt);
    }
    mp_sql_script_free(script);
    free(text);
    return rc;
}

int mp_cmd_server(int argc, char **argv)
{
    mp_args a;
    int rc = mp_args_parse(argc, argv, flags, &a, usage);
    if (rc)
        return rc;
    if (a.help) {
        fputs(usage, stdout);
        return 0;
    }
    if (a.npos) {
        fprintf(stderr, "mlpipe server: unexpected argument '%s'\n%s", a.pos[0], usage);
        return 2;
    }
    mp_error e = {0};
    config cfg = {0};
    const char *cfg_path = mp_args_get(&a, "config");
    if (cfg_path && (rc = config_read(cfg_path, &cfg, &e))) {
        free(cfg.text);
        return mp_cli_fail("server", &e);
    }
#define SETTING(flag, key) (mp_args_get(&a, flag) ? mp_args_get(&a, flag) : config_get(&cfg, key))
    char listen_buf[300];
    const char *listen = mp_args_get(&a, "listen");
    if (!listen && config_get(&cfg, "listeners"))
        listen = listener_address(config_get(&cfg, "listeners"), listen_buf, sizeof listen_buf);
    const char *registry = SETTING("registry", "mlpipe.registry");
    const char *queries_file = SETTING("queries-file", "ksql.queries.file");
    const char *ext_dir = SETTING("ext-dir", "ksql.extension.dir");
    const char *users_file = SETTING("users-file", "mlpipe.users.file");
    const char *model_config = SETTING("model-config-file", "mlpipe.model.config.file");
    const char *data_dir = SETTING("data-dir", "mlpipe.data.dir");
    unsigned long max_body = 8u << 20, idle = 30;
    double poll = 1, run_for = 0;
    int verbose = mp_args_has(&a, "verbose");
    int batching = mp_args_has(&a, "enable-batching") ||
                   (config_get(&cfg, "mlpipe.enable.batching") &&
                    !strcmp(config_get(&cfg, "mlpipe.enable.batching"), "true"));
    const char *v;
    char *end;
    if ((v = config_get(&cfg, "mlpipe.max.body.bytes")))
        max_body = strtoul(v, &end, 10);
    if ((v = config_get(&cfg, "mlpipe.idle.timeout.seconds")))
        idle = strtoul(v, &end, 10);
    if ((v = config_get(&cfg, "mlpipe.model.poll.seconds")))
        poll = strtod(v, &end);
    if (mp_args_ulong(&a, "server", "max-body-bytes", max_body, &max_body) ||
        mp_args_ulong(&a, "server", "idle-timeout", idle, &idle) ||
        mp_args_double(&a, "server", "poll-seconds", poll, &poll) ||
        mp_args_double(&a, "server", "run-for", 0, &run_for)) {
        free(cfg.text);
        return 2;
    }
    if (max_body == 0 || idle == 0) {
        fprintf(stderr, "mlpipe server: --max-body-bytes and --idle-timeout must be positive\n");
        free(cfg.text);
        return 2;
    }

    /* Signals are taken by sigtimedwait below; every thread started from
     * here on inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    mp_log *log = NULL;
    mp_engine *en = NULL;
    mp_ksql_api *ksql = NULL;
    mp_model_service *models = NULL;
    app ap = {0};
    mp_args la = a;
    if (data_dir) {
        /* The config's data directory, unless --data-dir said otherwise. */
        for (size_t i = 0; flags[i].name; i++)
            if (!strcmp(flags[i].name, "data-dir"))
                la.value[i] = data_dir;
    }
    if ((rc = mp_cli_open_log(&la, 1, &log, &e)))
        goto fail;
    mp_engine_opts eo = {.registry_dir = registry, .ext_dir = ext_dir, .quiet_replay = 1};
    if ((rc = mp_engine_open(log, &eo, &en, &e)))
        goto fail;
    if (queries_file && (rc = run_queries_file(en, queries_file, &e)))
        goto fail;
    mp_ksql_api_opts ko = {.engine = en, .headless = queries_file != NULL};
    if ((rc = mp_ksql_api_new(&ko, &ksql, &e)))
        goto fail;
    if (registry) {
        /* An empty registry is a fine start: CREATE MODEL and `mlpipe
         * train --model-dir` fill it while the server runs. */
        if ((rc = mp_mkdirs(registry, &e)))
            goto fail;
        mp_model_service_opts mo = {.registry_dir = registry, .model_config_file = model_config,
                                    .poll_seconds = poll, .enable_batching = batching};
        if ((rc = mp_model_service_open(&mo, &models, &e)))
            goto fail;
    }
    ap.ksql = ksql;
    ap.models = models;
    mp_server_opts so = {.listen = listen, .max_body = max_body, .idle_timeout_s = (int)idle,
                         .users_file = users_file, .verbose = verbose};
    if ((rc = mp_server_start(&so, route, &ap, &ap.srv, &e)))
        goto fail;
    char host[256] = "127.0.0.1";
    if (listen && strrchr(listen, ':') && strrchr(listen, ':') != listen)
        snprintf(host, sizeof host, "%.*s", (int)(strrchr(listen, ':') - listen), listen);
    fprintf(stderr, "mlpipe server: listening on http://%s:%d/%s%s\n", host,
            mp_server_port(ap.srv), queries_file ? " (headless)" : "",
            users_file ? " (basic authentication)" : "");
    fflush(stderr);

    struct timespec tick = {.tv_sec = 0, .tv_nsec = 200 * 1000000L};
    double waited = 0;
    for (;;) {
        int sig = sigtimedwait(&sigs, NULL, &tick);
        if (sig == SIGINT || sig == SIGTERM) {
            fprintf(stderr, "mlpipe server: %s: shutting down\n",
                    sig == SIGINT ? "SIGINT" : "SIGTERM");
            break;
        }
        waited += 0.2;
        if (run_for > 0 && waited >= run_for)
            break;
    }
    mp_server_stop(ap.srv);
    mp_ksql_api_free(ksql);
    mp_model_service_close(models);
    mp_engine_close(en);
    rc = mp_log_close(log, &e);
    free(cfg.text);
    if (rc)
        return mp_cli_fail("server", &e);
    fprintf(stderr, "mlpipe server: stopped\n");
    return 0;
fail:
    mp_ksql_api_free(ksql);
    mp_model_service_close(models);
    if (en)
        mp_engine_close(en);
    if (log)
        mp_log_close(log, NULL);
    free(cfg.text);
    return mp_cli_fail("server", &e);
}
