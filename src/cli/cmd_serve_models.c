/* mlpipe serve-models: TensorFlow Serving's REST API for a model directory
 * (or a model config file), with tensorflow_model_server's flag names, so
 * scripts written for TensorFlow Serving run unchanged. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "server/model_service.h"
#include "server/server.h"

static const char usage[] =
    "usage: mlpipe serve-models --model_base_path DIR [--model_name NAME] [options]\n"
    "       mlpipe serve-models --model_config_file FILE [options]\n"
    "\n"
    "Serves TensorFlow Serving's REST API (GET /v1/models/NAME[/versions/N][/metadata],\n"
    "POST /v1/models/NAME[/versions/N]:predict|:classify|:regress) for the versions in\n"
    "DIR (DIR/1/model.safetensors, DIR/2/..., as `mlpipe train --model-dir DIR` writes\n"
    "them), and Prometheus metrics at /monitoring/prometheus/metrics and /metrics.\n"
    "New versions are picked up while serving. Runs until SIGINT or SIGTERM.\n"
    "Flags are tensorflow_model_server's; --flag=value works too. See docs/serving.md.\n"
    "\n"
    "  --model_base_path DIR     the model's directory of versions\n"
    "  --model_name NAME         the name it is served under (default \"default\")\n"
    "  --model_config_file FILE  several models and their version policies (model_config_list)\n"
    "  --rest_api_port N         the HTTP port (default 8501; 0: any free port)\n"
    "  --rest_api_host HOST      the address to listen on (default 127.0.0.1)\n"
    "  --rest_api_timeout_in_ms N  close connections idle this long (default 30000)\n"
    "  --file_system_poll_wait_seconds S  how often to look for new versions (default 1;\n"
    "                            0: load once at start)\n"
    "  --enable_batching         merge concurrent predict requests into one model call\n"
    "  --batching_parameters_file FILE  max_batch_size { value: 32 },\n"
    "                            batch_timeout_micros { value: 1000 }\n"
    "  --max_body_bytes N        larger request bodies get 413 (default 8388608)\n"
    "  --users_file FILE         require HTTP Basic authentication\n"
    "  --verbose                 access log on stderr\n"
    "  --port N, --rest_api_num_threads N, --model_config_file_poll_wait_seconds S,\n"
    "  --monitoring_config_file FILE  accepted for compatibility and ignored\n";

static const mp_flag flags[] = {
    {"model_base_path", 1, 0},
    {"model_name", 1, 0},
    {"model_config_file", 1, 0},
    {"rest_api_port", 1, 0},
    {"rest_api_host", 1, 0},
    {"rest_api_timeout_in_ms", 1, 0},
    {"file_system_poll_wait_seconds", 1, 0},
    {"enable_batching", 0, 0},
    {"batching_parameters_file", 1, 0},
    {"max_body_bytes", 1, 0},
    {"users_file", 1, 0},
    {"verbose", 0, 0},
    {"port", 1, 0},
    {"rest_api_num_threads", 1, 0},
    {"model_config_file_poll_wait_seconds", 1, 0},
    {"monitoring_config_file", 1, 0},
    {NULL, 0, 0},
};

typedef struct app {
    mp_server *srv;
    mp_model_service *models;
} app;

static void route(void *ctx, const mp_http_request *req, mp_http_response *resp)
{
    app *a = ctx;
    if (mp_model_service_handle(a->models, req, resp))
        return;
    if (!strcmp(req->path, "/monitoring/prometheus/metrics") || !strcmp(req->path, "/metrics")) {
        if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")) {
            mp_http_respond_error(resp, 405, "metrics take GET");
            mp_http_add_header(resp, "Allow", "GET");
            return;
        }
        mp_buf b = {0};
        mp_server_metrics(a->srv, &b);
        mp_model_service_metrics(a->models, &b);
        if (b.oom) {
            mp_buf_free(&b);
            mp_http_respond_error(resp, 500, "out of memory");
            return;
        }
        size_t len = b.len;
        mp_http_respond_owned(resp, 200, "text/plain; version=0.0.4; charset=utf-8", mp_buf_take(&b),
                              len);
        return;
    }
    char msg[200];
    snprintf(msg, sizeof msg, "Malformed request: %.20s %.120s", req->method, req->path);
    mp_http_respond_error(resp, 404, msg);
}

/* TensorFlow Serving's boolean flags take "=true"/"=false"; our parser's
 * booleans take no value, so those forms are rewritten first. Returns 2 on
 * a value that is neither. */
static int rewrite_bools(int argc, char **argv, char **out, int *outc)
{
    static const char *const bools[] = {"enable_batching", "verbose", NULL};
    int n = 0;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        int handled = 0;
        for (size_t b = 0; bools[b] && !handled && !strncmp(s, "--", 2); b++) {
            size_t l = strlen(bools[b]);
            if (strncmp(s + 2, bools[b], l) || s[2 + l] != '=')
                continue;
            const char *v = s + 3 + l;
            if (!strcmp(v, "true") || !strcmp(v, "1")) {
                static char buf[2][40];
                snprintf(buf[b], sizeof buf[b], "--%s", bools[b]);
                out[n++] = buf[b];
            } else if (strcmp(v, "false") && strcmp(v, "0")) {
                fprintf(stderr, "mlpipe serve-models: --%s: '%s' is not true or false\n", bools[b], v);
                return 2;
            }
            handled = 1;
        }
        if (!handled)
            out[n++] = argv[i];
    }
    *outc = n;
    return 0;
}

int mp_cmd_serve_models(int argc, char **argv)
{
    char **av = calloc((size_t)argc + 1, sizeof *av);
    if (!av) {
        fprintf(stderr, "mlpipe serve-models: out of memory\n");
        return 1;
    }
    int ac = 0;
    mp_args a;
    int rc = rewrite_bools(argc, argv, av, &ac);
    if (!rc)
        rc = mp_args_parse(ac, av, flags, &a, usage);
    if (rc) {
        free(av);
        return rc;
    }
    if (a.help) {
        fputs(usage, stdout);
        free(av);
        return 0;
    }
    if (a.npos) {
        fprintf(stderr, "mlpipe serve-models: unexpected argument '%s'\n%s", a.pos[0], usage);
        free(av);
        return 2;
    }
    const char *base = mp_args_get(&a, "model_base_path");
    const char *config = mp_args_get(&a, "model_config_file");
    if (!base && !config) {
        fprintf(stderr, "mlpipe serve-models: give --model_base_path DIR or --model_config_file FILE\n%s",
                usage);
        free(av);
        return 2;
    }
    if (base && config) {
        fprintf(stderr, "mlpipe serve-models: --model_base_path and --model_config_file exclude each "
                        "other (put the model in the config file)\n");
        free(av);
        return 2;
    }
    if (mp_args_has(&a, "model_name") && !base) {
        fprintf(stderr, "mlpipe serve-models: --model_name needs --model_base_path\n");
        free(av);
        return 2;
    }
    unsigned long port = 8501, timeout_ms = 30000, max_body = 8u << 20, ignored;
    double poll = 1;
    if (mp_args_ulong(&a, "serve-models", "rest_api_port", 8501, &port) ||
        mp_args_ulong(&a, "serve-models", "rest_api_timeout_in_ms", 30000, &timeout_ms) ||
        mp_args_ulong(&a, "serve-models", "max_body_bytes", max_body, &max_body) ||
        mp_args_double(&a, "serve-models", "file_system_poll_wait_seconds", 1, &poll) ||
        mp_args_ulong(&a, "serve-models", "port", 0, &ignored) ||
        mp_args_ulong(&a, "serve-models", "rest_api_num_threads", 0, &ignored)) {
        free(av);
        return 2;
    }
    if (port > 65535) {
        fprintf(stderr, "mlpipe serve-models: --rest_api_port: %lu is not a port\n", port);
        free(av);
        return 2;
    }
    if (!isfinite(poll) || poll < 0 || poll > 86400) {
        fprintf(stderr, "mlpipe serve-models: --file_system_poll_wait_seconds: between 0 and 86400\n");
        free(av);
        return 2;
    }
    if (timeout_ms == 0 || max_body == 0) {
        fprintf(stderr, "mlpipe serve-models: --rest_api_timeout_in_ms and --max_body_bytes must be "
                        "positive\n");
        free(av);
        return 2;
    }
    static const char *const ignored_flags[] = {"port", "rest_api_num_threads",
                                                "model_config_file_poll_wait_seconds",
                                                "monitoring_config_file", NULL};
    for (size_t i = 0; ignored_flags[i]; i++)
        if (mp_args_has(&a, ignored_flags[i]))
            fprintf(stderr, "mlpipe serve-models: ignoring --%s (%s)\n", ignored_flags[i],
                    !strcmp(ignored_flags[i], "port") ? "no gRPC API; the REST API is on --rest_api_port"
                                                      : "not needed here");

    mp_error e = {0};
    mp_model_service_opts mo = {
        .model_base_path = base,
        .model_name = mp_args_get(&a, "model_name"),
        .model_config_file = config,
        .poll_seconds = poll,
        .enable_batching = mp_args_has(&a, "enable_batching"),
    };
    const char *bfile = mp_args_get(&a, "batching_parameters_file");
    if (bfile) {
        if ((rc = mp_model_service_read_batching_file(bfile, &mo, &e))) {
            free(av);
            return mp_cli_fail("serve-models", &e);
        }
        /* As in TensorFlow Serving, the file alone does not turn batching on. */
        if (!mo.enable_batching)
            fprintf(stderr, "mlpipe serve-models: --batching_parameters_file without "
                            "--enable_batching: batching stays off\n");
    }

    /* Signals are taken by sigtimedwait below; every thread started from
     * here on inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    app ap = {0};
    if ((rc = mp_model_service_open(&mo, &ap.models, &e))) {
        free(av);
        return mp_cli_fail("serve-models", &e);
    }
    const char *host = mp_args_get(&a, "rest_api_host");
    if (!host || !*host)
        host = "127.0.0.1";
    char listen[300];
    /* An IPv6 address needs brackets before the port. */
    if (strchr(host, ':') && host[0] != '[')
        snprintf(listen, sizeof listen, "[%.250s]:%lu", host, port);
    else
        snprintf(listen, sizeof listen, "%.250s:%lu", host, port);
    mp_server_opts so = {
        .listen = listen,
        .max_body = max_body,
        .idle_timeout_s = (int)((timeout_ms + 999) / 1000),
        .users_file = mp_args_get(&a, "users_file"),
        .verbose = mp_args_has(&a, "verbose"),
    };
    if ((rc = mp_server_start(&so, route, &ap, &ap.srv, &e))) {
        mp_model_service_close(ap.models);
        free(av);
        return mp_cli_fail("serve-models", &e);
    }
    int v6 = strchr(host, ':') && host[0] != '[';
    fprintf(stderr, "mlpipe serve-models: listening on http://%s%s%s:%d/\n", v6 ? "[" : "", host,
            v6 ? "]" : "", mp_server_port(ap.srv));
    fflush(stderr);

    struct timespec tick = {.tv_sec = 0, .tv_nsec = 200 * 1000000L};
    for (;;) {
        int sig = sigtimedwait(&sigs, NULL, &tick);
        if (sig == SIGINT || sig == SIGTERM) {
            fprintf(stderr, "mlpipe serve-models: %s: shutting down\n",
                    sig == SIGINT ? "SIGINT" : "SIGTERM");
            break;
        }
    }
    mp_server_stop(ap.srv);
    mp_model_service_close(ap.models);
    fprintf(stderr, "mlpipe serve-models: stopped\n");
    free(av);
    return 0;
}
