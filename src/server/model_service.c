/* The model service: which models and versions are served (the watcher and
 * the version policies), how a request finds its version, and the HTTP
 * side of TensorFlow Serving's REST API: routes, status, metadata,
 * predict/classify/regress, errors and metrics.
 *
 * Locking: `mu` guards the list of models, each model's list of versions
 * and every version's state, model pointer and error. Only a scan (the
 * watcher's or mp_model_service_poll's, one at a time under `scan_mu`)
 * changes them, so a scan may read them without `mu`; it takes `mu` only
 * to write. Loading a model file happens outside `mu`, so requests never
 * wait for a load. Counters are atomics in records that live until close. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "ml/registry.h"
#include "server/model_service.h"
#include "server/model_service_internal.h"

#define DEFAULT_MAX_BATCH 32
#define DEFAULT_TIMEOUT_US 1000
#define DEFAULT_JSON_DEPTH 64
#define MSG_MAX 1024

typedef enum { VS_LOADING, VS_AVAILABLE, VS_END } vstate;
static const char *const state_names[] = {"LOADING", "AVAILABLE", "END"};

typedef enum { M_PREDICT, M_CLASSIFY, M_REGRESS, M_COUNT } method;
static const char *const method_names[] = {"predict", "classify", "regress"};

/* Batch-size histogram bounds (instances per model call). */
static const unsigned bucket_le[] = {1, 2, 4, 8, 16, 32, 64, 128, 256};
#define NBUCKETS (sizeof bucket_le / sizeof bucket_le[0])

typedef struct version {
    long version;
    vstate state;
    mp_model *m;      /* the service's reference while AVAILABLE */
    char *error;      /* why loading failed, or NULL */
    int error_code;   /* MP_E* of that failure */
    int failed;       /* not retried until the directory goes away and comes back */
    atomic_ullong predictions;
    atomic_ullong requests[M_COUNT];
} version;

typedef struct servable {
    char *name;
    char *base_path;
    ms_policy policy;
    ms_label *labels; /* points into the service's config; not owned */
    size_t nlabels;
    version **versions; /* ascending by number */
    size_t nversions, cap;
    atomic_ullong load_failures;
    atomic_ullong batch_bucket[NBUCKETS + 1];
    atomic_ullong batch_count, batch_sum;
} servable;

struct mp_model_service {
    char *registry_dir;
    int batching;
    size_t max_json_depth;
    double poll_seconds;
    ms_config config;
    ms_batcher *batcher;

    pthread_mutex_t mu;
    servable **models;
    size_t nmodels, cap;

    pthread_mutex_t scan_mu;
    pthread_mutex_t stop_mu;
    pthread_cond_t stop_cv;
    int stopping;
    int has_watcher;
    pthread_t watcher;
};

/* ---------------------------------------------------------------- records */

static void servable_free(servable *sv)
{
    if (!sv)
        return;
    for (size_t i = 0; i < sv->nversions; i++) {
        mp_model_release(sv->versions[i]->m);
        free(sv->versions[i]->error);
        free(sv->versions[i]);
    }
    free(sv->versions);
    ms_policy_free(&sv->policy);
    free(sv->name);
    free(sv->base_path);
    free(sv);
}

static int copy_policy(const ms_policy *from, ms_policy *to)
{
    *to = *from;
    to->versions = NULL;
    if (from->nversions) {
        to->versions = malloc(from->nversions * sizeof *to->versions);
        if (!to->versions)
            return MP_ENOMEM;
        memcpy(to->versions, from->versions, from->nversions * sizeof *to->versions);
    }
    return 0;
}

/* Adds a model to the service (under mu). cfg may be NULL (defaults). */
static int add_servable(mp_model_service *s, const char *name, const char *base_path,
                        const ms_model_config *cfg, mp_error *e)
{
    servable *sv = calloc(1, sizeof *sv);
    if (!sv)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    sv->name = strdup(name);
    sv->base_path = strdup(base_path);
    sv->policy.kind = MS_POLICY_LATEST;
    sv->policy.num_versions = 1;
    int rc = (!sv->name || !sv->base_path) ? MP_ENOMEM : 0;
    if (!rc && cfg) {
        rc = copy_policy(&cfg->policy, &sv->policy);
        sv->labels = cfg->labels;
        sv->nlabels = cfg->nlabels;
    }
    if (!rc) {
        pthread_mutex_lock(&s->mu);
        if (s->nmodels == s->cap) {
            size_t cap = s->cap ? 2 * s->cap : 8;
            servable **m = realloc(s->models, cap * sizeof *m);
            if (m) {
                s->models = m;
                s->cap = cap;
            }
        }
        if (s->nmodels < s->cap)
            s->models[s->nmodels++] = sv;
        else
            rc = MP_ENOMEM;
        pthread_mutex_unlock(&s->mu);
    }
    if (rc) {
        servable_free(sv);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    return 0;
}

static servable *find_servable(mp_model_service *s, const char *name)
{
    for (size_t i = 0; i < s->nmodels; i++)
        if (!strcmp(s->models[i]->name, name))
            return s->models[i];
    return NULL;
}

static version *find_version(const servable *sv, long v)
{
    for (size_t i = 0; i < sv->nversions; i++)
        if (sv->versions[i]->version == v)
            return sv->versions[i];
    return NULL;
}

/* The record of version v, created (state END) when new. Scan only. */
static version *get_version(mp_model_service *s, servable *sv, long v)
{
    version *r = find_version(sv, v);
    if (r)
        return r;
    r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->version = v;
    r->state = VS_END;
    pthread_mutex_lock(&s->mu);
    if (sv->nversions == sv->cap) {
        size_t cap = sv->cap ? 2 * sv->cap : 4;
        version **vs = realloc(sv->versions, cap * sizeof *vs);
        if (!vs) {
            pthread_mutex_unlock(&s->mu);
            free(r);
            return NULL;
        }
        sv->versions = vs;
        sv->cap = cap;
    }
    size_t at = sv->nversions;
    while (at > 0 && sv->versions[at - 1]->version > v) {
        sv->versions[at] = sv->versions[at - 1];
        at--;
    }
    sv->versions[at] = r;
    sv->nversions++;
    pthread_mutex_unlock(&s->mu);
    return r;
}

/* ------------------------------------------------------------------ scans */

static int on_disk(const long *disk, size_t nd, long v)
{
    for (size_t i = 0; i < nd; i++)
        if (disk[i] == v)
            return 1;
    return 0;
}

/* Marks in want[] the versions of disk (ascending) that the policy serves,
 * leaving out versions that failed to load, so that a newest version that
 * cannot load leaves the one before it serving. */
static void choose(const servable *sv, const long *disk, size_t nd, char *want)
{
    memset(want, 0, nd ? nd : 1);
    long left = sv->policy.kind == MS_POLICY_LATEST ? sv->policy.num_versions : -1;
    for (size_t k = nd; k-- > 0;) {
        const version *r = find_version(sv, disk[k]);
        if (r && r->failed)
            continue;
        if (sv->policy.kind == MS_POLICY_LATEST) {
            if (left <= 0)
                break;
            left--;
            want[k] = 1;
        } else if (sv->policy.kind == MS_POLICY_ALL) {
            want[k] = 1;
        } else {
            for (size_t j = 0; j < sv->policy.nversions; j++)
                want[k] |= sv->policy.versions[j] == disk[k];
        }
    }
}

static const char *error_code_name(int code)
{
    switch (code) {
    case MP_ENOTFOUND: return "NOT_FOUND";
    case MP_ENOMEM: return "RESOURCE_EXHAUSTED";
    case MP_EFORMAT: return "DATA_LOSS";
    case MP_EIO: return "UNAVAILABLE";
    case MP_EINVAL:
    case MP_EINPUT: return "INVALID_ARGUMENT";
    default: return "UNKNOWN";
    }
}

/* Loads version r of sv (outside mu; publishes the result under it). */
static int load_version(mp_model_service *s, servable *sv, version *r)
{
    pthread_mutex_lock(&s->mu);
    r->state = VS_LOADING;
    pthread_mutex_unlock(&s->mu);
    char path[4096];
    mp_error e = {0};
    mp_model *m = NULL;
    int rc;
    if (snprintf(path, sizeof path, "%s/%ld", sv->base_path, r->version) >= (int)sizeof path)
        rc = mp_error_set(&e, MP_EINVAL, "%s/%ld: path too long", sv->base_path, r->version);
    else
        rc = mp_model_load(path, &m, NULL, &e);
    char *msg = rc ? strdup(e.msg) : NULL;
    pthread_mutex_lock(&s->mu);
    free(r->error);
    r->error = NULL;
    r->error_code = rc;
    if (rc == 0) {
        r->m = m;
        r->state = VS_AVAILABLE;
    } else {
        r->error = msg ? msg : NULL;
        r->state = VS_END;
        r->failed = 1;
    }
    pthread_mutex_unlock(&s->mu);
    if (rc)
        atomic_fetch_add(&sv->load_failures, 1);
    return rc;
}

static void scan_servable(mp_model_service *s, servable *sv)
{
    long *disk = NULL;
    size_t nd = 0;
    int rc = mp_registry_versions(sv->base_path, &disk, &nd, NULL);
    if (rc && rc != MP_ENOTFOUND)
        return; /* an I/O hiccup must not unload anything */
    char *want = malloc(nd ? nd : 1);
    if (!want) {
        free(disk);
        return;
    }
    /* A failed version whose directory went away gets a new chance if it
     * is published again. */
    for (size_t i = 0; i < sv->nversions; i++)
        if (sv->versions[i]->failed && !on_disk(disk, nd, sv->versions[i]->version))
            sv->versions[i]->failed = 0;
    /* Load first, unload after, so the model never goes without a version
     * while a newer one loads. A failure changes the choice: choose again. */
    for (int again = 1; again;) {
        again = 0;
        choose(sv, disk, nd, want);
        for (size_t k = nd; k-- > 0;) {
            if (!want[k])
                continue;
            version *r = get_version(s, sv, disk[k]);
            if (!r || r->state == VS_AVAILABLE)
                continue;
            if (load_version(s, sv, r))
                again = 1;
        }
    }
    for (size_t i = 0; i < sv->nversions; i++) {
        version *r = sv->versions[i];
        if (r->state != VS_AVAILABLE)
            continue;
        int keep = 0;
        for (size_t k = 0; k < nd && !keep; k++)
            keep = want[k] && disk[k] == r->version;
        if (keep)
            continue;
        pthread_mutex_lock(&s->mu);
        mp_model *old = r->m;
        r->m = NULL;
        r->state = VS_END;
        pthread_mutex_unlock(&s->mu);
        /* Requests still on this version hold their own references. */
        mp_model_release(old);
    }
    free(want);
    free(disk);
}

static const ms_model_config *config_for(const mp_model_service *s, const char *name)
{
    for (size_t i = 0; i < s->config.n; i++)
        if (!strcmp(s->config.models[i].name, name))
            return &s->config.models[i];
    return NULL;
}

/* Registry mode: every new subdirectory with a servable name is a model. */
static void discover(mp_model_service *s)
{
    DIR *d = opendir(s->registry_dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (!ms_name_valid(de->d_name) || find_servable(s, de->d_name))
            continue;
        char path[4096];
        struct stat st;
        if (snprintf(path, sizeof path, "%s/%s", s->registry_dir, de->d_name) >= (int)sizeof path ||
            stat(path, &st) || !S_ISDIR(st.st_mode))
            continue;
        add_servable(s, de->d_name, path, config_for(s, de->d_name), NULL);
    }
    closedir(d);
}

void mp_model_service_poll(mp_model_service *s)
{
    pthread_mutex_lock(&s->scan_mu);
    if (s->registry_dir)
        discover(s);
    for (size_t i = 0; i < s->nmodels; i++)
        scan_servable(s, s->models[i]);
    pthread_mutex_unlock(&s->scan_mu);
}

static void *watch(void *arg)
{
    mp_model_service *s = arg;
    pthread_mutex_lock(&s->stop_mu);
    while (!s->stopping) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        double secs = s->poll_seconds;
        long whole = (long)secs;
        long ns = t.tv_nsec + (long)((secs - (double)whole) * 1e9);
        t.tv_sec += whole + ns / 1000000000;
        t.tv_nsec = ns % 1000000000;
        while (!s->stopping && pthread_cond_timedwait(&s->stop_cv, &s->stop_mu, &t) != ETIMEDOUT) {
        }
        if (s->stopping)
            break;
        pthread_mutex_unlock(&s->stop_mu);
        mp_model_service_poll(s);
        pthread_mutex_lock(&s->stop_mu);
    }
    pthread_mutex_unlock(&s->stop_mu);
    return NULL;
}

/* ---------------------------------------------------------- open / close */

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int setup_models(mp_model_service *s, const mp_model_service_opts *o, mp_error *e)
{
    if (o->model_base_path) {
        const char *name = o->model_name ? o->model_name : "default";
        if (!ms_name_valid(name))
            return mp_error_set(e, MP_EINVAL,
                                "model name '%s' may hold only letters, digits, '.', '_' and '-'", name);
        if (!is_dir(o->model_base_path))
            return mp_error_set(e, MP_ENOTFOUND, "model base path %s: no such directory",
                                o->model_base_path);
        return add_servable(s, name, o->model_base_path, NULL, e);
    }
    for (size_t i = 0; i < s->config.n; i++) {
        const ms_model_config *c = &s->config.models[i];
        char path[4096];
        const char *base = c->base_path;
        if (!base) {
            if (!s->registry_dir)
                return mp_error_set(e, MP_EINPUT, "%s:%d: model '%s' needs a base_path",
                                    o->model_config_file, c->line, c->name);
            if (snprintf(path, sizeof path, "%s/%s", s->registry_dir, c->name) >= (int)sizeof path)
                return mp_error_set(e, MP_EINVAL, "model path too long");
            base = path;
        }
        if (!is_dir(base))
            return mp_error_set(e, MP_ENOTFOUND, "%s:%d: model '%s': base_path %s: no such directory",
                                o->model_config_file, c->line, c->name, base);
        int rc = add_servable(s, c->name, base, c, e);
        if (rc)
            return rc;
    }
    if (s->registry_dir && !is_dir(s->registry_dir))
        return mp_error_set(e, MP_ENOTFOUND, "model registry %s: no such directory", s->registry_dir);
    return 0;
}

int mp_model_service_open(const mp_model_service_opts *o, mp_model_service **out, mp_error *e)
{
    *out = NULL;
    if (!o->registry_dir && !o->model_base_path && !o->model_config_file)
        return mp_error_set(e, MP_EINVAL, "no models: give a registry directory, a model base path "
                            "or a model config file");
    if (o->model_base_path && (o->registry_dir || o->model_config_file))
        return mp_error_set(e, MP_EINVAL, "a model base path serves one model; it cannot be combined "
                            "with a registry directory or a model config file");
    if (o->model_name && !o->model_base_path)
        return mp_error_set(e, MP_EINVAL, "a model name needs a model base path");
    mp_model_service *s = calloc(1, sizeof *s);
    if (!s)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->scan_mu, NULL);
    pthread_mutex_init(&s->stop_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->stop_cv, &ca);
    pthread_condattr_destroy(&ca);
    s->batching = o->enable_batching;
    s->max_json_depth = o->max_json_depth ? o->max_json_depth : DEFAULT_JSON_DEPTH;
    s->poll_seconds = o->poll_seconds < 0 ? 1.0 : o->poll_seconds;
    if (!(s->poll_seconds <= 1e6)) /* also NaN: beyond this, never is meant */
        s->poll_seconds = s->poll_seconds > 0 ? 1e6 : 0;
    int rc = 0;
    if (o->registry_dir && !(s->registry_dir = strdup(o->registry_dir)))
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
    if (!rc && o->model_config_file)
        rc = ms_config_read(o->model_config_file, &s->config, e);
    if (!rc && s->batching) {
        size_t max = o->max_batch_size ? o->max_batch_size : DEFAULT_MAX_BATCH;
        long t = o->batch_timeout_micros == 0 ? DEFAULT_TIMEOUT_US : o->batch_timeout_micros;
        if (ms_batcher_create(max, t, &s->batcher))
            rc = mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    if (!rc)
        rc = setup_models(s, o, e);
    if (rc) {
        mp_model_service_close(s);
        return rc;
    }
    mp_model_service_poll(s);
    if (s->poll_seconds > 0) {
        if (pthread_create(&s->watcher, NULL, watch, s)) {
            mp_model_service_close(s);
            return mp_error_set(e, MP_EIO, "cannot start the model watcher thread");
        }
        s->has_watcher = 1;
    }
    *out = s;
    return 0;
}

void mp_model_service_close(mp_model_service *s)
{
    if (!s)
        return;
    if (s->has_watcher) {
        pthread_mutex_lock(&s->stop_mu);
        s->stopping = 1;
        pthread_cond_broadcast(&s->stop_cv);
        pthread_mutex_unlock(&s->stop_mu);
        pthread_join(s->watcher, NULL);
    }
    for (size_t i = 0; i < s->nmodels; i++)
        servable_free(s->models[i]);
    free(s->models);
    ms_config_free(&s->config);
    ms_batcher_destroy(s->batcher);
    free(s->registry_dir);
    pthread_cond_destroy(&s->stop_cv);
    pthread_mutex_destroy(&s->stop_mu);
    pthread_mutex_destroy(&s->scan_mu);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

/* ----------------------------------------------------------------- routes */

typedef enum { R_STATUS, R_METADATA, R_PREDICT, R_CLASSIFY, R_REGRESS } route_kind;

typedef struct route {
    route_kind kind;
    char name[256];
    int has_version;
    long version;
    char label[256];
} route;

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Reads a path segment up to '/', ':' or the end, percent-decoded, into
 * out. Returns the number of raw bytes read, or -1 when it is malformed
 * or too long. */
static long segment(const char *p, char *out, size_t n)
{
    size_t len = 0;
    const char *a = p;
    while (*p && *p != '/' && *p != ':') {
        char c = *p;
        if (c == '%') {
            int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = (char)(hi * 16 + lo);
            p += 3;
        } else {
            p++;
        }
        if (c == 0 || len + 1 >= n)
            return -1;
        out[len++] = c;
    }
    out[len] = 0;
    return (long)(p - a);
}

/* Parses /v1/models/NAME[/versions/V|/labels/L][/metadata|:verb].
 * Returns 0 or 400 with msg. */
static int parse_route(const char *path, route *r, char *msg, size_t msglen)
{
    memset(r, 0, sizeof *r);
    const char *p = path + strlen("/v1/models");
    if (*p != '/' || !p[1]) {
        snprintf(msg, msglen, "Malformed request: no model name in %.200s", path);
        return 400;
    }
    p++;
    long k = segment(p, r->name, sizeof r->name);
    if (k < 0 || !ms_name_valid(r->name)) {
        snprintf(msg, msglen,
                 "Invalid model name in %.200s: a name holds only letters, digits, '.', '_' and '-' "
                 "and neither starts with '.' nor holds '..'",
                 path);
        return 400;
    }
    p += k;
    if (!strncmp(p, "/versions/", 10)) {
        char num[32];
        p += 10;
        k = segment(p, num, sizeof num);
        char *end = NULL;
        errno = 0;
        long v = k > 0 ? strtol(num, &end, 10) : 0;
        if (k <= 0 || !isdigit((unsigned char)num[0]) || errno || *end || v <= 0) {
            snprintf(msg, msglen, "Invalid model version in %.200s: a version is a positive integer",
                     path);
            return 400;
        }
        r->has_version = 1;
        r->version = v;
        p += k;
    } else if (!strncmp(p, "/labels/", 8)) {
        p += 8;
        k = segment(p, r->label, sizeof r->label);
        if (k <= 0 || !ms_name_valid(r->label)) {
            snprintf(msg, msglen, "Invalid version label in %.200s", path);
            return 400;
        }
        p += k;
    }
    if (!*p)
        r->kind = R_STATUS;
    else if (!strcmp(p, "/metadata"))
        r->kind = R_METADATA;
    else if (!strcmp(p, ":predict"))
        r->kind = R_PREDICT;
    else if (!strcmp(p, ":classify"))
        r->kind = R_CLASSIFY;
    else if (!strcmp(p, ":regress"))
        r->kind = R_REGRESS;
    else {
        snprintf(msg, msglen, "Malformed request: %.200s", path);
        return 400;
    }
    return 0;
}

/* What a request asked for, TensorFlow Serving's way: Latest(name),
 * Specific(name, 3) or Label(name, stable). */
static void spec_text(const route *r, char *out, size_t n)
{
    if (r->has_version)
        snprintf(out, n, "Specific(%s, %ld)", r->name, r->version);
    else if (r->label[0])
        snprintf(out, n, "Label(%s, %s)", r->name, r->label);
    else
        snprintf(out, n, "Latest(%s)", r->name);
}

/* Finds the version a request is for and takes a reference on its model.
 * Returns 0, or 404 with msg. */
static int resolve(mp_model_service *s, const route *r, mp_model **m, version **rec, char *msg,
                   size_t msglen)
{
    char spec[600];
    spec_text(r, spec, sizeof spec);
    pthread_mutex_lock(&s->mu);
    servable *sv = find_servable(s, r->name);
    version *v = NULL;
    long want = r->has_version ? r->version : 0;
    if (sv && r->label[0]) {
        want = -1;
        for (size_t i = 0; i < sv->nlabels; i++)
            if (!strcmp(sv->labels[i].label, r->label))
                want = sv->labels[i].version;
    }
    if (sv && want > 0) {
        v = find_version(sv, want);
        if (v && v->state != VS_AVAILABLE)
            v = NULL;
    } else if (sv && want == 0) {
        for (size_t i = sv->nversions; i-- > 0 && !v;)
            if (sv->versions[i]->state == VS_AVAILABLE)
                v = sv->versions[i];
    }
    if (!v) {
        pthread_mutex_unlock(&s->mu);
        if (sv && want < 0)
            snprintf(msg, msglen, "Unrecognized servable version label: %s", r->label);
        else
            snprintf(msg, msglen, "Servable not found for request: %s", spec);
        return 404;
    }
    *m = mp_model_retain(v->m);
    *rec = v;
    pthread_mutex_unlock(&s->mu);
    return 0;
}

/* ------------------------------------------------------------ responses */

static void respond_json(mp_http_response *resp, int status, mp_buf *b)
{
    if (b->oom) {
        mp_buf_free(b);
        mp_http_respond_error(resp, 500, "out of memory");
        return;
    }
    size_t len = b->len;
    char *body = mp_buf_take(b);
    if (!body) {
        mp_http_respond_error(resp, 500, "out of memory");
        return;
    }
    mp_http_respond_owned(resp, status, "application/json", body, len);
}

static void respond_status(mp_model_service *s, const route *r, mp_http_response *resp)
{
    mp_buf b = {0};
    int found = 0;
    pthread_mutex_lock(&s->mu);
    servable *sv = find_servable(s, r->name);
    long want = r->has_version ? r->version : 0;
    for (size_t i = 0; sv && r->label[0] && i < sv->nlabels; i++)
        if (!strcmp(sv->labels[i].label, r->label))
            want = sv->labels[i].version;
    int label_unknown = sv && r->label[0] && want == 0;
    mp_buf_puts(&b, "{\"model_version_status\":[");
    for (size_t i = sv ? sv->nversions : 0; !label_unknown && i-- > 0;) {
        const version *v = sv->versions[i];
        if (want && v->version != want)
            continue;
        mp_buf_printf(&b, "%s{\"version\":\"%ld\",\"state\":\"%s\",\"status\":{\"error_code\":\"%s\","
                      "\"error_message\":", found ? "," : "", v->version, state_names[v->state],
                      v->error_code ? error_code_name(v->error_code) : "OK");
        ms_json_string(&b, v->error ? v->error : "");
        mp_buf_puts(&b, "}}");
        found++;
    }
    pthread_mutex_unlock(&s->mu);
    mp_buf_puts(&b, "]}");
    if (!found) {
        mp_buf_free(&b);
        char msg[700];
        if (label_unknown)
            snprintf(msg, sizeof msg, "Unrecognized servable version label: %s", r->label);
        else if (want)
            snprintf(msg, sizeof msg, "Could not find version %ld of model %s", want, r->name);
        else
            snprintf(msg, sizeof msg, "Could not find any versions of model %s", r->name);
        mp_http_respond_error(resp, 404, msg);
        return;
    }
    respond_json(resp, 200, &b);
}

/* "DT_INT64" / "DT_DOUBLE" / "DT_STRING": how the class labels travel. */
static const char *label_dtype(const mp_model *m)
{
    if (!ms_labels_numeric(m))
        return "DT_STRING";
    for (size_t c = 0; c < m->nclasses; c++)
        if (strpbrk(m->classes[c], ".eE"))
            return "DT_DOUBLE";
    return "DT_INT64";
}

static void tensor_info(mp_buf *b, const char *name, const char *dtype, long cols, int first)
{
    if (!first)
        mp_buf_putc(b, ',');
    ms_json_string(b, name);
    mp_buf_printf(b, ":{\"dtype\":\"%s\",\"tensor_shape\":{\"dim\":[{\"size\":\"-1\",\"name\":\"\"}", dtype);
    if (cols > 0)
        mp_buf_printf(b, ",{\"size\":\"%ld\",\"name\":\"\"}", cols);
    mp_buf_puts(b, "],\"unknown_rank\":false},\"name\":");
    ms_json_string(b, name);
    mp_buf_putc(b, '}');
}

static void signature(mp_buf *b, const mp_model *m, const char *sig, const char *method_name, int first)
{
    if (!first)
        mp_buf_putc(b, ',');
    mp_buf_printf(b, "\"%s\":{\"inputs\":{", sig);
    for (size_t i = 0; i < m->prep.ncols; i++)
        tensor_info(b, m->prep.cols[i].name,
                    m->prep.cols[i].kind == MP_COL_NUMERIC ? "DT_DOUBLE" : "DT_STRING", 0, i == 0);
    mp_buf_puts(b, "},\"outputs\":{");
    long k = (long)m->nclasses;
    if (!strcmp(sig, "classification")) {
        tensor_info(b, "classes", "DT_STRING", k, 1);
        tensor_info(b, "scores", "DT_DOUBLE", k, 0);
    } else if (!strcmp(sig, "regression")) {
        tensor_info(b, "outputs", "DT_DOUBLE", 0, 1);
    } else if (m->task == MP_TASK_CLASSIFY) {
        tensor_info(b, "label", label_dtype(m), 0, 1);
        if (!strcmp(sig, "predict_proba"))
            tensor_info(b, "probabilities", "DT_DOUBLE", k, 0);
    } else if (m->task == MP_TASK_ANOMALY) {
        tensor_info(b, "score", "DT_DOUBLE", 0, 1);
        tensor_info(b, "anomaly", "DT_BOOL", 0, 0);
    } else {
        tensor_info(b, "value", "DT_DOUBLE", 0, 1);
    }
    mp_buf_printf(b, "},\"method_name\":\"%s\"}", method_name);
}

static void respond_metadata(const route *r, const mp_model *m, long vnum, mp_http_response *resp)
{
    mp_buf b = {0};
    mp_buf_puts(&b, "{\"model_spec\":{\"name\":");
    ms_json_string(&b, r->name);
    mp_buf_printf(&b, ",\"signature_name\":\"\",\"version\":\"%ld\"},", vnum);
    mp_buf_puts(&b, "\"metadata\":{\"signature_def\":{\"signature_def\":{");
    signature(&b, m, "serving_default", "tensorflow/serving/predict", 1);
    if (m->task == MP_TASK_CLASSIFY) {
        signature(&b, m, "predict_proba", "tensorflow/serving/predict", 0);
        signature(&b, m, "classification", "tensorflow/serving/classify", 0);
    } else if (m->task == MP_TASK_REGRESS) {
        signature(&b, m, "regression", "tensorflow/serving/regress", 0);
    }
    mp_buf_puts(&b, "}},\"mlpipe\":{\"algorithm\":");
    ms_json_string(&b, m->algo->name);
    mp_buf_printf(&b, ",\"task\":\"%s\",\"target\":", mp_task_name(m->task));
    ms_json_string(&b, m->target ? m->target : "");
    mp_buf_puts(&b, ",\"inputs\":[");
    for (size_t i = 0; i < m->prep.ncols; i++) {
        const mp_prep_col *c = &m->prep.cols[i];
        mp_buf_puts(&b, i ? ",{\"name\":" : "{\"name\":");
        ms_json_string(&b, c->name);
        mp_buf_printf(&b, ",\"type\":\"%s\"", c->kind == MP_COL_NUMERIC ? "numeric" : "categorical");
        if (c->kind == MP_COL_CATEGORICAL) {
            mp_buf_puts(&b, ",\"levels\":[");
            for (size_t k = 0; k < c->nlevels; k++) {
                if (k)
                    mp_buf_putc(&b, ',');
                ms_json_string(&b, c->levels[k]);
            }
            mp_buf_putc(&b, ']');
        }
        mp_buf_putc(&b, '}');
    }
    mp_buf_putc(&b, ']');
    if (m->task == MP_TASK_CLASSIFY) {
        mp_buf_puts(&b, ",\"classes\":[");
        for (size_t c = 0; c < m->nclasses; c++) {
            if (c)
                mp_buf_putc(&b, ',');
            ms_json_string(&b, m->classes[c]);
        }
        mp_buf_putc(&b, ']');
    }
    if (m->task == MP_TASK_ANOMALY) {
        mp_buf_puts(&b, ",\"threshold\":");
        ms_json_number(&b, mp_model_threshold(m));
    }
    mp_buf_puts(&b, ",\"missing\":");
    ms_json_string(&b, mp_missing_name(m->prep.missing));
    if (m->created) {
        mp_buf_puts(&b, ",\"created\":");
        ms_json_string(&b, m->created);
    }
    mp_buf_printf(&b, ",\"training_rows\":%zu}}}", m->ntrain);
    respond_json(resp, 200, &b);
}

/* A class label as a prediction: a JSON number when the labels are. */
static void put_label(mp_buf *b, const mp_model *m, int numeric, size_t c)
{
    if (numeric)
        mp_buf_puts(b, m->classes[c]);
    else
        ms_json_string(b, m->classes[c]);
}

typedef enum { SIG_DEFAULT, SIG_PROBA } sig_kind;

/* The value of output `out` (0 or 1) for instance i. */
static void put_output(mp_buf *b, const mp_model *m, int numeric, const mp_predictions *p, size_t i,
                       int out)
{
    if (m->task == MP_TASK_CLASSIFY) {
        if (out == 0) {
            put_label(b, m, numeric, p->label[i]);
            return;
        }
        mp_buf_putc(b, '[');
        for (size_t c = 0; c < p->nclasses; c++) {
            if (c)
                mp_buf_putc(b, ',');
            ms_json_number(b, p->proba[i * p->nclasses + c]);
        }
        mp_buf_putc(b, ']');
    } else if (m->task == MP_TASK_ANOMALY) {
        if (out == 0)
            ms_json_number(b, p->value[i]);
        else
            mp_buf_puts(b, p->label[i] ? "true" : "false");
    } else {
        ms_json_number(b, p->value[i]);
    }
}

static void format_predict(mp_buf *b, const mp_model *m, sig_kind sig, const mp_predictions *p,
                           int columnar)
{
    int numeric = ms_labels_numeric(m);
    const char *names[2] = {NULL, NULL};
    size_t nout = 1;
    if (m->task == MP_TASK_ANOMALY) {
        names[0] = "score";
        names[1] = "anomaly";
        nout = 2;
    } else if (m->task == MP_TASK_CLASSIFY && sig == SIG_PROBA) {
        names[0] = "label";
        names[1] = "probabilities";
        nout = 2;
    }
    if (!columnar) {
        mp_buf_puts(b, "{\"predictions\":[");
        for (size_t i = 0; i < p->n; i++) {
            if (i)
                mp_buf_putc(b, ',');
            if (nout == 1) {
                put_output(b, m, numeric, p, i, 0);
                continue;
            }
            for (size_t o = 0; o < nout; o++) {
                mp_buf_printf(b, "%s\"%s\":", o ? "," : "{", names[o]);
                put_output(b, m, numeric, p, i, (int)o);
            }
            mp_buf_putc(b, '}');
        }
        mp_buf_puts(b, "]}");
        return;
    }
    mp_buf_puts(b, nout == 1 ? "{\"outputs\":" : "{\"outputs\":{");
    for (size_t o = 0; o < nout; o++) {
        if (nout > 1)
            mp_buf_printf(b, "%s\"%s\":", o ? "," : "", names[o]);
        mp_buf_putc(b, '[');
        for (size_t i = 0; i < p->n; i++) {
            if (i)
                mp_buf_putc(b, ',');
            put_output(b, m, numeric, p, i, (int)o);
        }
        mp_buf_putc(b, ']');
    }
    mp_buf_puts(b, nout == 1 ? "}" : "}}");
}

static void format_classify(mp_buf *b, const mp_model *m, const mp_predictions *p)
{
    mp_buf_puts(b, "{\"results\":[");
    for (size_t i = 0; i < p->n; i++) {
        mp_buf_puts(b, i ? ",[" : "[");
        for (size_t c = 0; c < p->nclasses; c++) {
            mp_buf_puts(b, c ? ",[" : "[");
            ms_json_string(b, m->classes[c]);
            mp_buf_putc(b, ',');
            ms_json_number(b, p->proba[i * p->nclasses + c]);
            mp_buf_putc(b, ']');
        }
        mp_buf_putc(b, ']');
    }
    mp_buf_puts(b, "]}");
}

static void format_regress(mp_buf *b, const mp_predictions *p)
{
    mp_buf_puts(b, "{\"results\":[");
    for (size_t i = 0; i < p->n; i++) {
        if (i)
            mp_buf_putc(b, ',');
        ms_json_number(b, p->value[i]);
    }
    mp_buf_puts(b, "]}");
}

/* The nesting depth of JSON text, counted without parsing, so that a
 * hostile body cannot make a parser recurse deeply. Returns 1 when it
 * stays within max. */
static int depth_ok(const char *p, size_t n, size_t max)
{
    size_t depth = 0;
    int in_string = 0;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = 0;
        } else if (c == '"') {
            in_string = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max)
                return 0;
        } else if ((c == ']' || c == '}') && depth) {
            depth--;
        }
    }
    return 1;
}

static void observe_batch(servable *sv, size_t n)
{
    size_t k = 0;
    while (k < NBUCKETS && n > bucket_le[k])
        k++;
    atomic_fetch_add(&sv->batch_bucket[k], 1);
    atomic_fetch_add(&sv->batch_count, 1);
    atomic_fetch_add(&sv->batch_sum, n);
}

static servable *servable_of(mp_model_service *s, const char *name)
{
    pthread_mutex_lock(&s->mu);
    servable *sv = find_servable(s, name);
    pthread_mutex_unlock(&s->mu);
    return sv;
}

/* :predict, :classify and :regress. */
static void respond_inference(mp_model_service *s, const route *r, const mp_http_request *req,
                              mp_http_response *resp)
{
    char msg[MSG_MAX];
    mp_model *m = NULL;
    version *rec = NULL;
    int status = resolve(s, r, &m, &rec, msg, sizeof msg);
    if (status) {
        mp_http_respond_error(resp, status, msg);
        return;
    }
    method meth = r->kind == R_PREDICT ? M_PREDICT : r->kind == R_CLASSIFY ? M_CLASSIFY : M_REGRESS;
    atomic_fetch_add(&rec->requests[meth], 1);

    json_t *root = NULL;
    ms_rows rows = {0};
    mp_predictions p = {0};
    int columnar = 0;
    sig_kind sig = SIG_DEFAULT;
    status = 400;
    if (!depth_ok(req->body, req->body_len, s->max_json_depth)) {
        snprintf(msg, sizeof msg, "JSON Parse error: nesting deeper than %zu levels",
                 s->max_json_depth);
        goto fail;
    }
    json_error_t jerr;
    root = json_loadb(req->body, req->body_len, 0, &jerr);
    if (!root) {
        snprintf(msg, sizeof msg, "JSON Parse error: %s at line %d column %d", jerr.text, jerr.line,
                 jerr.column);
        goto fail;
    }
    if (!json_is_object(root)) {
        snprintf(msg, sizeof msg, "JSON Value: the request body must be a JSON object");
        goto fail;
    }
    json_t *js = json_object_get(root, "signature_name");
    const char *signame = "";
    if (js && !json_is_string(js)) {
        snprintf(msg, sizeof msg, "'signature_name' must be a string");
        goto fail;
    }
    if (js)
        signame = json_string_value(js);
    int sig_ok = !*signame || !strcmp(signame, "serving_default");
    if (meth == M_PREDICT && !strcmp(signame, "predict_proba") && m->task == MP_TASK_CLASSIFY) {
        sig_ok = 1;
        sig = SIG_PROBA;
    }
    if (meth == M_CLASSIFY)
        sig_ok |= !strcmp(signame, "classification") || !strcmp(signame, "tensorflow/serving/classify");
    if (meth == M_REGRESS)
        sig_ok |= !strcmp(signame, "regression") || !strcmp(signame, "tensorflow/serving/regress");
    if (!sig_ok) {
        snprintf(msg, sizeof msg, "Serving signature name: \"%.200s\" not found in signature def",
                 signame);
        goto fail;
    }
    if (meth == M_CLASSIFY && m->task != MP_TASK_CLASSIFY) {
        snprintf(msg, sizeof msg, "model %s is a %s model: :classify needs a classifier (use :predict)",
                 r->name, mp_task_name(m->task));
        goto fail;
    }
    if (meth == M_REGRESS && m->task != MP_TASK_REGRESS) {
        snprintf(msg, sizeof msg, "model %s is a %s model: :regress needs a regression model (use %s)",
                 r->name, mp_task_name(m->task), m->task == MP_TASK_CLASSIFY ? ":classify or :predict"
                                                                             : ":predict");
        goto fail;
    }
    if (meth == M_PREDICT) {
        json_t *inst = json_object_get(root, "instances"), *inputs = json_object_get(root, "inputs");
        if (inst && inputs) {
            snprintf(msg, sizeof msg, "a request holds either 'instances' (row form) or 'inputs' "
                     "(columnar form), not both");
            goto fail;
        }
        if (!inst && !inputs) {
            snprintf(msg, sizeof msg, "Missing 'inputs' or 'instances' key");
            goto fail;
        }
        columnar = inputs != NULL;
        status = columnar ? ms_rows_from_inputs(m, inputs, &rows, msg, sizeof msg)
                          : ms_rows_from_instances(m, inst, &rows, msg, sizeof msg);
    } else {
        json_t *ex = json_object_get(root, "examples");
        if (!ex) {
            snprintf(msg, sizeof msg, "Missing 'examples' key");
            goto fail;
        }
        status = ms_rows_from_examples(m, ex, json_object_get(root, "context"), &rows, msg, sizeof msg);
    }
    if (status)
        goto fail;

    mp_error err = {0};
    int rc;
    size_t batch = 0;
    if (s->batcher && rows.n) {
        rc = ms_batcher_predict(s->batcher, m, m, &rows, &p, &batch, &err);
        if (batch) {
            servable *sv = servable_of(s, r->name);
            if (sv)
                observe_batch(sv, batch);
        }
    } else {
        ms_rows *one = &rows;
        rc = ms_rows_predict(m, &one, 1, &p, &err);
    }
    if (rc) {
        status = rc == MP_EINPUT || rc == MP_EINVAL ? 400 : 500;
        snprintf(msg, sizeof msg, "%s", err.msg);
        goto fail;
    }
    mp_buf b = {0};
    if (meth == M_PREDICT)
        format_predict(&b, m, sig, &p, columnar);
    else if (meth == M_CLASSIFY)
        format_classify(&b, m, &p);
    else
        format_regress(&b, &p);
    atomic_fetch_add(&rec->predictions, rows.n);
    respond_json(resp, 200, &b);
    status = 0;
fail:
    if (status)
        mp_http_respond_error(resp, status, msg);
    mp_predictions_free(&p);
    ms_rows_free(&rows);
    json_decref(root);
    mp_model_release(m);
}

int mp_model_service_handle(mp_model_service *s, const mp_http_request *req,
                            mp_http_response *resp)
{
    const char *path = req->path;
    if (strncmp(path, "/v1/models", 10) || (path[10] && path[10] != '/'))
        return 0;
    char msg[MSG_MAX];
    route r;
    int status = parse_route(path, &r, msg, sizeof msg);
    if (status) {
        mp_http_respond_error(resp, status, msg);
        return 1;
    }
    int get = r.kind == R_STATUS || r.kind == R_METADATA;
    if (strcmp(req->method, get ? "GET" : "POST")) {
        snprintf(msg, sizeof msg, "Method %.20s is not allowed on %.200s: use %s", req->method, path,
                 get ? "GET" : "POST");
        mp_http_respond_error(resp, 405, msg);
        mp_http_add_header(resp, "Allow", get ? "GET" : "POST");
        return 1;
    }
    if (r.kind == R_STATUS) {
        respond_status(s, &r, resp);
    } else if (r.kind == R_METADATA) {
        mp_model *m = NULL;
        version *rec = NULL;
        if ((status = resolve(s, &r, &m, &rec, msg, sizeof msg))) {
            mp_http_respond_error(resp, status, msg);
            return 1;
        }
        respond_metadata(&r, m, rec->version, resp);
        mp_model_release(m);
    } else {
        respond_inference(s, &r, req, resp);
    }
    return 1;
}

/* ---------------------------------------------------------------- metrics */

void mp_model_service_metrics(mp_model_service *s, mp_buf *out)
{
    pthread_mutex_lock(&s->mu);
    mp_buf_puts(out, "# HELP mlpipe_model_predictions_total Instances predicted, per model version.\n"
                     "# TYPE mlpipe_model_predictions_total counter\n");
    for (size_t i = 0; i < s->nmodels; i++)
        for (size_t k = 0; k < s->models[i]->nversions; k++) {
            const version *v = s->models[i]->versions[k];
            mp_buf_printf(out, "mlpipe_model_predictions_total{model=\"%s\",version=\"%ld\"} %llu\n",
                          s->models[i]->name, v->version, (unsigned long long)atomic_load(&v->predictions));
        }
    mp_buf_puts(out, "# HELP mlpipe_model_requests_total Predict, classify and regress requests, per "
                     "model version.\n"
                     "# TYPE mlpipe_model_requests_total counter\n");
    for (size_t i = 0; i < s->nmodels; i++)
        for (size_t k = 0; k < s->models[i]->nversions; k++) {
            const version *v = s->models[i]->versions[k];
            for (int mt = 0; mt < M_COUNT; mt++)
                mp_buf_printf(out,
                              "mlpipe_model_requests_total{model=\"%s\",version=\"%ld\",method=\"%s\"} "
                              "%llu\n",
                              s->models[i]->name, v->version, method_names[mt],
                              (unsigned long long)atomic_load(&v->requests[mt]));
        }
    mp_buf_puts(out, "# HELP mlpipe_model_batch_size Instances per batched model call.\n"
                     "# TYPE mlpipe_model_batch_size histogram\n");
    for (size_t i = 0; s->batcher && i < s->nmodels; i++) {
        servable *sv = s->models[i];
        unsigned long long cum = 0;
        for (size_t k = 0; k <= NBUCKETS; k++) {
            cum += atomic_load(&sv->batch_bucket[k]);
            if (k < NBUCKETS)
                mp_buf_printf(out, "mlpipe_model_batch_size_bucket{model=\"%s\",le=\"%u\"} %llu\n",
                              sv->name, bucket_le[k], cum);
            else
                mp_buf_printf(out, "mlpipe_model_batch_size_bucket{model=\"%s\",le=\"+Inf\"} %llu\n",
                              sv->name, cum);
        }
        mp_buf_printf(out, "mlpipe_model_batch_size_sum{model=\"%s\"} %llu\n", sv->name,
                      (unsigned long long)atomic_load(&sv->batch_sum));
        mp_buf_printf(out, "mlpipe_model_batch_size_count{model=\"%s\"} %llu\n", sv->name,
                      (unsigned long long)atomic_load(&sv->batch_count));
    }
    mp_buf_puts(out, "# HELP mlpipe_model_load_failures_total Model versions that failed to load.\n"
                     "# TYPE mlpipe_model_load_failures_total counter\n");
    for (size_t i = 0; i < s->nmodels; i++)
        mp_buf_printf(out, "mlpipe_model_load_failures_total{model=\"%s\"} %llu\n", s->models[i]->name,
                      (unsigned long long)atomic_load(&s->models[i]->load_failures));
    mp_buf_puts(out, "# HELP mlpipe_model_versions_loaded Versions of a model currently serving.\n"
                     "# TYPE mlpipe_model_versions_loaded gauge\n");
    for (size_t i = 0; i < s->nmodels; i++) {
        size_t n = 0;
        for (size_t k = 0; k < s->models[i]->nversions; k++)
            n += s->models[i]->versions[k]->state == VS_AVAILABLE;
        mp_buf_printf(out, "mlpipe_model_versions_loaded{model=\"%s\"} %zu\n", s->models[i]->name, n);
    }
    pthread_mutex_unlock(&s->mu);
}
