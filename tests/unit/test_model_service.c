/* The TensorFlow-Serving-compatible model endpoints, driven through
 * mp_model_service_handle with synthetic requests (no network): status,
 * metadata, the predict forms against mp_model_predict on the same rows,
 * classify and regress, every error path, versions coming and going under
 * the watcher, a request finishing on a version unloaded under it,
 * batching, and the config and batching file readers. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/fileio.h"
#include "data/dataset.h"
#include "data/table.h"
#include "ml/model.h"
#include "server/model_service.h"
#include "server/model_service_internal.h"
#include "test.h"

static char root[] = "/tmp/mp-test-model-service.XXXXXX";
static char reg[512];   /* the registry: heart, my_model, pets, sensor, heart_mean */
static char multi[512]; /* heart with two versions (logistic regression, knn) */

static const char heart_csv[] =
    "id,age,sex,trestbps,target\n0,63,1,233,1\n1,37,1,250,0\n2,41,0,204,1\n3,56,1,236,1\n"
    "4,57,0,354,0\n5,57,1,192,0\n6,56,0,294,0\n7,44,1,263,1\n8,52,1,199,1\n9,57,1,168,1\n"
    "10,54,1,239,1\n11,48,0,275,0\n12,49,1,266,1\n13,64,1,211,0\n14,58,0,283,1\n";
static const char heart_rows[] = "id,age,sex,trestbps\n0,63,1,233\n1,37,1,250\n2,41,0,204\n"
                                 "3,56,1,236\n4,57,0,354\n5,57,1,192\n";
/* half_plus_three, as in TensorFlow Serving's example. */
static const char line_csv[] = "x,y\n0,3\n1,3.5\n2,4\n4,5\n6,6\n10,8\n";
static const char line2_csv[] = "x,y\n0,1\n1,3\n2,5\n4,9\n6,13\n";
static const char pets_csv[] =
    "color,weight,label\nred,1.0,cat\nred,1.2,cat\nblue,5.0,dog\nblue,6.0,dog\nred,1.1,cat\n"
    "green,5.5,dog\ngreen,1.3,cat\nblue,4.8,dog\n";

/* ---- helpers ---- */

static mp_dataset *load(const char *csv, const char *target, const char *id)
{
    mp_table *t = NULL;
    mp_dataset *d = NULL;
    mp_error e = {0};
    if (mp_csv_parse("mem.csv", csv, strlen(csv), 0, &t, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return NULL;
    }
    mp_load_opts o = {.target = target, .id = id, .missing = MP_MISSING_MEAN};
    if (mp_dataset_from_table(t, &o, &d, &e))
        fprintf(stderr, "%s\n", e.msg);
    mp_table_destroy(t);
    return d;
}

static int train_publish(const char *csv, const char *target, const char *id, const char *algo,
                         const char *const *params, mp_missing_policy missing, const char *dir,
                         long *version)
{
    mp_dataset *d = load(csv, target, id);
    if (!d)
        return -1;
    mp_params p = {0};
    mp_error e = {0};
    for (size_t i = 0; params && params[i]; i++)
        mp_params_add(&p, params[i], &e);
    mp_train_opts o = {.algorithm = algo, .params = &p, .scale = -1, .missing = missing, .seed = 1};
    mp_model *m = NULL;
    int rc = mp_model_train(d, NULL, 0, &o, &m, &e);
    if (rc == 0)
        rc = mp_model_publish(m, dir, version, &e);
    if (rc)
        fprintf(stderr, "train %s: %s\n", algo, e.msg);
    mp_model_release(m);
    mp_params_free(&p);
    mp_dataset_destroy(d);
    return rc;
}

typedef struct reply {
    int ours;
    int status;
    char *body;
    json_t *j;
    char allow[128];
} reply;

static reply call(mp_model_service *s, const char *method, const char *path, const char *body)
{
    mp_http_request req = {.method = method, .path = path, .query = "", .body = body ? body : "",
                           .body_len = body ? strlen(body) : 0, .peer = "test", .http_version = 11};
    mp_http_response resp;
    memset(&resp, 0, sizeof resp);
    reply r = {0};
    r.ours = mp_model_service_handle(s, &req, &resp);
    r.status = resp.status;
    if (resp.body)
        r.body = strndup(resp.body, resp.body_len);
    for (size_t i = 0; i < resp.nheaders; i++)
        if (!strcmp(resp.header_name[i], "Allow"))
            snprintf(r.allow, sizeof r.allow, "%s", resp.header_value[i]);
    mp_http_response_clear(&resp);
    if (r.body)
        r.j = json_loads(r.body, 0, NULL);
    return r;
}

static void reply_free(reply *r)
{
    free(r->body);
    json_decref(r->j);
}

static const char *error_of(const reply *r)
{
    return r->j ? json_string_value(json_object_get(r->j, "error")) : NULL;
}

/* The value of the metric line that starts with `series` ("name{labels}"),
 * or -1. */
static double metric(mp_model_service *s, const char *series)
{
    mp_buf b = {0};
    mp_model_service_metrics(s, &b);
    double v = -1;
    size_t n = strlen(series);
    for (const char *p = b.data; p && *p;) {
        if (!strncmp(p, series, n) && p[n] == ' ') {
            v = strtod(p + n + 1, NULL);
            break;
        }
        const char *nl = strchr(p, '\n');
        p = nl ? nl + 1 : NULL;
    }
    mp_buf_free(&b);
    return v;
}

static void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* The "version" of the first status entry in state AVAILABLE, or -1. */
static long serving_version(mp_model_service *s, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "/v1/models/%s", name);
    reply r = call(s, "GET", path, NULL);
    long v = -1;
    json_t *list = json_object_get(r.j, "model_version_status");
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *x = json_array_get(list, i);
        if (!strcmp(json_string_value(json_object_get(x, "state")), "AVAILABLE")) {
            long n = atol(json_string_value(json_object_get(x, "version")));
            if (n > v)
                v = n;
        }
    }
    reply_free(&r);
    return v;
}

static const char *state_of(mp_model_service *s, const char *name, long version)
{
    static char state[32];
    char path[256];
    snprintf(path, sizeof path, "/v1/models/%s/versions/%ld", name, version);
    reply r = call(s, "GET", path, NULL);
    snprintf(state, sizeof state, "%s",
             r.status == 200 ? json_string_value(json_object_get(
                                   json_array_get(json_object_get(r.j, "model_version_status"), 0),
                                   "state"))
                             : "none");
    reply_free(&r);
    return state;
}

/* What mp_model_predict says for the CSV rows with the given version dir. */
static int expected(const char *model_path, const char *rows_csv, mp_model **m, mp_predictions *p)
{
    mp_error e = {0};
    if (mp_model_load(model_path, m, NULL, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return -1;
    }
    mp_dataset *d = load(rows_csv, NULL, strstr(rows_csv, "id,") == rows_csv ? "id" : NULL);
    int rc = d ? mp_model_predict(*m, d, NULL, 0, 1, p, &e) : -1;
    if (rc)
        fprintf(stderr, "%s\n", e.msg);
    mp_dataset_destroy(d);
    return rc;
}

static mp_model_service *open_registry(double poll)
{
    mp_model_service *s = NULL;
    mp_error e = {0};
    mp_model_service_opts o = {.registry_dir = reg, .poll_seconds = poll};
    if (mp_model_service_open(&o, &s, &e))
        fprintf(stderr, "open: %s\n", e.msg);
    return s;
}

/* ---- status and metadata ---- */

static void test_status(void)
{
    mp_model_service *s = open_registry(0);
    REQUIRE(s);
    reply r = call(s, "GET", "/v1/models/heart", NULL);
    CHECK(r.ours == 1 && r.status == 200);
    CHECK_STR_CONTAINS(r.body, "{\"model_version_status\":[{\"version\":\"1\",\"state\":\"AVAILABLE\","
                               "\"status\":{\"error_code\":\"OK\",\"error_message\":\"\"}}]}");
    reply_free(&r);
    r = call(s, "GET", "/v1/models/heart/versions/1", NULL);
    CHECK(r.status == 200);
    reply_free(&r);
    r = call(s, "GET", "/v1/models/heart/versions/7", NULL);
    CHECK(r.status == 404);
    CHECK_STR_CONTAINS(error_of(&r), "Could not find version 7 of model heart");
    reply_free(&r);
    r = call(s, "GET", "/v1/models/nope", NULL);
    CHECK(r.status == 404);
    CHECK_STR_CONTAINS(error_of(&r), "Could not find any versions of model nope");
    reply_free(&r);
    /* Paths that are not ours are left alone. */
    r = call(s, "GET", "/v1/modelsx", NULL);
    CHECK(r.ours == 0 && r.status == 0);
    reply_free(&r);
    r = call(s, "GET", "/ksql", NULL);
    CHECK(r.ours == 0);
    reply_free(&r);
    mp_model_service_close(s);
}

static void test_metadata(void)
{
    mp_model_service *s = open_registry(0);
    REQUIRE(s);
    reply r = call(s, "GET", "/v1/models/heart/metadata", NULL);
    CHECK(r.status == 200);
    json_t *spec = json_object_get(r.j, "model_spec");
    CHECK(!strcmp(json_string_value(json_object_get(spec, "name")), "heart"));
    CHECK(!strcmp(json_string_value(json_object_get(spec, "version")), "1"));
    CHECK(!strcmp(json_string_value(json_object_get(spec, "signature_name")), ""));
    json_t *sigs = json_object_get(json_object_get(json_object_get(r.j, "metadata"), "signature_def"),
                                   "signature_def");
    json_t *def = json_object_get(sigs, "serving_default");
    REQUIRE(def);
    json_t *in = json_object_get(def, "inputs");
    CHECK(json_object_size(in) == 3);
    CHECK(!strcmp(json_string_value(json_object_get(json_object_get(in, "age"), "dtype")), "DT_DOUBLE"));
    CHECK(!strcmp(json_string_value(json_object_get(json_object_get(json_object_get(def, "outputs"),
                                                                    "label"), "dtype")), "DT_INT64"));
    CHECK(!strcmp(json_string_value(json_object_get(def, "method_name")), "tensorflow/serving/predict"));
    CHECK(json_object_get(sigs, "classification") && json_object_get(sigs, "predict_proba"));
    json_t *ml = json_object_get(json_object_get(r.j, "metadata"), "mlpipe");
    CHECK(!strcmp(json_string_value(json_object_get(ml, "algorithm")), "logistic-regression"));
    CHECK(json_array_size(json_object_get(ml, "classes")) == 2);
    reply_free(&r);

    /* Categorical inputs are strings with their levels; string labels. */
    r = call(s, "GET", "/v1/models/pets/versions/1/metadata", NULL);
    CHECK(r.status == 200);
    CHECK_STR_CONTAINS(r.body, "\"color\":{\"dtype\":\"DT_STRING\"");
    CHECK_STR_CONTAINS(r.body, "\"label\":{\"dtype\":\"DT_STRING\"");
    CHECK_STR_CONTAINS(r.body, "\"levels\":[\"red\",\"blue\",\"green\"]");
    reply_free(&r);
    r = call(s, "GET", "/v1/models/sensor/metadata", NULL);
    CHECK_STR_CONTAINS(r.body, "\"anomaly\":{\"dtype\":\"DT_BOOL\"");
    reply_free(&r);
    r = call(s, "GET", "/v1/models/my_model/metadata", NULL);
    CHECK_STR_CONTAINS(r.body, "\"regression\":{");
    reply_free(&r);
    r = call(s, "GET", "/v1/models/heart/versions/2/metadata", NULL);
    CHECK(r.status == 404);
    CHECK_STR_CONTAINS(error_of(&r), "Servable not found for request: Specific(heart, 2)");
    reply_free(&r);
    mp_model_service_close(s);
}

/* ---- predict ---- */

static void check_heart_predictions(json_t *list, const mp_model *m, const mp_predictions *p)
{
    REQUIRE(json_array_size(list) == p->n);
    for (size_t i = 0; i < p->n; i++) {
        json_t *v = json_array_get(list, i);
        CHECK(json_is_integer(v));
        CHECK(json_integer_value(v) == atol(m->classes[p->label[i]]));
    }
}

static void test_predict_forms(void)
{
    mp_model_service *s = open_registry(0);
    REQUIRE(s);
    char path[600];
    snprintf(path, sizeof path, "%s/heart/1", reg);
    mp_model *m = NULL;
    mp_predictions p = {0};
    REQUIRE(expected(path, heart_rows, &m, &p) == 0);

    const char *bodies[] = {
        "{\"instances\": [[63,1,233],[37,1,250],[41,0,204],[56,1,236],[57,0,354],[57,1,192]]}",
        "{\"instances\": [{\"age\":63,\"sex\":1,\"trestbps\":233},{\"trestbps\":250,\"age\":37,\"sex\":1},"
        "{\"age\":41,\"sex\":0,\"trestbps\":204},{\"age\":56,\"sex\":1,\"trestbps\":236},"
        "{\"age\":57,\"sex\":0,\"trestbps\":354},{\"age\":57.0,\"sex\":1,\"trestbps\":192}],"
        "\"signature_name\":\"serving_default\"}",
    };
    for (size_t k = 0; k < 2; k++) {
        reply r = call(s, "POST", "/v1/models/heart:predict", bodies[k]);
        CHECK(r.status == 200);
        check_heart_predictions(json_object_get(r.j, "predictions"), m, &p);
        reply_free(&r);
    }
    /* The columnar form, named and as one tensor of rows. */
    reply r = call(s, "POST", "/v1/models/heart/versions/1:predict",
                   "{\"inputs\": {\"age\":[63,37,41,56,57,57],\"sex\":[1,1,0,1,0,1],"
                   "\"trestbps\":[233,250,204,236,354,192]}}");
    CHECK(r.status == 200);
    check_heart_predictions(json_object_get(r.j, "outputs"), m, &p);
    reply_free(&r);
    r = call(s, "POST", "/v1/models/heart:predict",
             "{\"inputs\": [[63,1,233],[37,1,250],[41,0,204],[56,1,236],[57,0,354],[57,1,192]]}");
    CHECK(r.status == 200);
    check_heart_predictions(json_object_get(r.j, "outputs"), m, &p);
    reply_free(&r);

    /* Probabilities: exactly mp_model_predict's numbers. */
    r = call(s, "POST", "/v1/models/heart:predict",
             "{\"signature_name\":\"predict_proba\",\"instances\": [[63,1,233],[37,1,250],[41,0,204],"
             "[56,1,236],[57,0,354],[57,1,192]]}");
    CHECK(r.status == 200);
    json_t *list = json_object_get(r.j, "predictions");
    CHECK(json_array_size(list) == p.n);
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *o = json_array_get(list, i);
        CHECK(json_integer_value(json_object_get(o, "label")) == atol(m->classes[p.label[i]]));
        json_t *pr = json_object_get(o, "probabilities");
        CHECK(json_array_size(pr) == 2);
        for (size_t c = 0; c < 2; c++)
            CHECK(json_number_value(json_array_get(pr, c)) == p.proba[i * 2 + c]);
    }
    reply_free(&r);
    r = call(s, "POST", "/v1/models/heart:predict", "{\"instances\": []}");
    CHECK(r.status == 200);
    CHECK_STR_CONTAINS(r.body, "{\"predictions\":[]}");
    reply_free(&r);
    mp_predictions_free(&p);
    mp_model_release(m);

    /* The talk's call on a one-feature model: one instance per scalar. */
    snprintf(path, sizeof path, "%s/my_model/1", reg);
    REQUIRE(expected(path, "x\n1.0\n2.0\n5.0\n", &m, &p) == 0);
    r = call(s, "POST", "/v1/models/my_model:predict", "{\"instances\": [1.0, 2.0, 5.0]}");
    CHECK(r.status == 200);
    list = json_object_get(r.j, "predictions");
    REQUIRE(json_array_size(list) == 3);
    for (size_t i = 0; i < 3; i++)
        CHECK(json_number_value(json_array_get(list, i)) == p.value[i]);
    CHECK_NEAR(json_number_value(json_array_get(list, 0)), 3.5, 1e-9);
    CHECK_NEAR(json_number_value(json_array_get(list, 2)), 5.5, 1e-9);
    reply_free(&r);
    r = call(s, "POST", "/v1/models/my_model:predict", "{\"instances\": [[1.0], {\"x\": 2}, 5]}");
    CHECK(r.status == 200);
    for (size_t i = 0; i < 3; i++)
        CHECK(json_number_value(json_array_get(json_object_get(r.j, "predictions"), i)) == p.value[i]);
    reply_free(&r);
    r = call(s, "POST", "/v1/models/my_model:predict", "{\"inputs\": [1.0, 2.0, 5.0]}");
    CHECK(r.status == 200);
    for (size_t i = 0; i < 3; i++)
        CHECK(json_number_value(json_array_get(json_object_get(r.j, "outputs"), i)) == p.value[i]);
    reply_free(&r);
    r = call(s, "POST", "/v1/models/my_model:predict", "{\"inputs\": {\"x\": 2.0}}");
    CHECK(r.status == 200 && json_number_value(json_array_get(json_object_get(r.j, "outputs"), 0)) ==
                                 p.value[1]);
    reply_free(&r);
    mp_predictions_free(&p);
    mp_model_release(m);
    mp_model_service_close(s);
}

static void test_categorical_and_anomaly(void)
{
    mp_model_service *s = open_registry(0);
    REQUIRE(s);
    char path[600];
    snprintf(path, sizeof path, "%s/pets/1", reg);
    mp_model *m = NULL;
    mp_predictions p = {0};
    REQUIRE(expected(path, "color,weight\nred,1.1\nblue,5.2\npurple,3.0\n", &m, &p) == 0);
    reply r = call(s, "POST", "/v1/models/pets:predict",
                   "{\"instances\": [[\"red\",1.1],{\"color\":\"blue\",\"weight\":5.2},[\"purple\",3.0]]}");
    CHECK(r.status == 200);
    json_t *list = json_object_get(r.j, "predictions");
    REQUIRE(json_array_size(list) == 3);
    for (size_t i = 0; i < 3; i++)
        CHECK(!strcmp(json_string_value(json_array_get(list, i)), m->classes[p.label[i]]));
    reply_free(&r);
    /* classify: label/score pairs in class order, labels as strings. */
    r = call(s, "POST", "/v1/models/pets:classify",
             "{\"examples\": [{\"color\":\"red\",\"weight\":[1.1]}, {\"color\":\"blue\",\"weight\":5.2}]}");
    CHECK(r.status == 200);
    json_t *res = json_object_get(r.j, "results");
    REQUIRE(json_array_size(res) == 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *pairs = json_array_get(res, i);
        REQUIRE(json_array_size(pairs) == m->nclasses);
        for (size_t c = 0; c < m->nclasses; c++) {
            json_t *pair = json_array_get(pairs, c);
            CHECK(!strcmp(json_string_value(json_array_get(pair, 0)), m->classes[c]));
            CHECK(json_number_value(json_array_get(pair, 1)) == p.proba[i * m->nclasses + c]);
        }
    }
    reply_free(&r);
    /* A shared context. */
    r = call(s, "POST", "/v1/models/pets:classify",
             "{\"context\": {\"color\": \"blue\"}, \"examples\": [{\"weight\":5.2}]}");
    CHECK(r.status == 200);
    CHECK(json_number_value(json_array_get(json_array_get(json_array_get(json_object_get(r.j, "results"), 0), 0), 1)) ==
          p.proba[1 * m->nclasses + 0]);
    reply_free(&r);
    r = call(s, "POST", "/v1/models/pets:classify",
             "{\"context\": {\"color\": \"blue\"}, \"examples\": [{\"weight\":5.2,\"color\":\"red\"}]}");
    CHECK(r.status == 400);
    CHECK_STR_CONTAINS(error_of(&r), "example 0: feature 'color' is also in the context");
    reply_free(&r);
    r = call(s, "POST", "/v1/models/pets:predict", "{\"instances\": [[true, 1.0]]}");
    CHECK(r.status == 400);
    CHECK_STR_CONTAINS(error_of(&r), "instance 0, feature 'color': expected a string (a categorical "
                                     "feature), got a boolean");
    reply_free(&r);
    mp_predictions_free(&p);
    mp_model_release(m);

    /* Anomaly detectors: score and flag per instance. */
    snprintf(path, sizeof path, "%s/sensor/1", reg);
    REQUIRE(expected(path, "a,b\n1,2\n40,-9\n", &m, &p) == 0);
    r = call(s, "POST", "/v1/models/sensor:predict", "{\"instances\": [[1,2],[40,-9]]}");
    CHECK(r.status == 200);
    list = json_object_get(r.j, "predictions");
    REQUIRE(json_array_size(list) == 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *o = json_array_get(list, i);
        CHECK(json_number_value(json_object_get(o, "score")) == p.value[i]);
        CHECK(json_is_boolean(json_object_get(o, "anomaly")));
        CHECK(json_is_true(json_object_get(o, "anomaly")) == (p.label[i] != 0));
    }
    reply_free(&r);
    r = call(s, "POST", "/v1/models/sensor:predict", "{\"inputs\": {\"a\":[1,40],\"b\":[2,-9]}}");
    CHECK(r.status == 200);
    CHECK(json_number_value(json_array_get(json_object_get(json_object_get(r.j, "outputs"), "score"), 1)) ==
          p.value[1]);
    reply_free(&r);
    mp_predictions_free(&p);
    mp_model_release(m);

    /* A model trained with --missing mean takes null as missing. */
    r = call(s, "POST", "/v1/models/heart_mean:predict", "{\"instances\": [[63,null,233]]}");
    CHECK(r.status == 200);
    reply_free(&r);
    mp_model_service_close(s);
}

static void test_regress(void)
{
    mp_model_service *s = open_registry(0);
    REQUIRE(s);
    char path[600];
    snprintf(path, sizeof path, "%s/my_model/1", reg);
    mp_model *m = NULL;
    mp_predictions p = {0};
    REQUIRE(expected(path, "x\n1.0\n2.0\n", &m, &p) == 0);
    reply r = call(s, "POST", "/v1/models/my_model:regress",
                   "{\"signature_name\": \"tensorflow/serving/regress\", \"examples\": [{\"x\": 1.0}, "
                   "{\"x\": 2.0}]}");
    CHECK(r.status == 200);
    json_t *res = json_object_get(r.j, "results");
    REQUIRE(json_array_size(res) == 2);
    CHECK(json_number_value(json_array_get(res, 0)) == p.value[0]);
    CHECK(json_number_value(json_array_get(res, 1)) == p.value[1]);
    reply_free(&r);
    r = call(s, "POST", "/v1/models/my_model:classify", "{\"examples\": [{\"x\": 1.0}]}");
    CHECK(r.status == 400);
    CHECK_STR_CONTAINS(error_of(&r), ":classify needs a classifier");
    reply_free(&r);
    r = call(s, "POST", "/v1/models/heart:regress", "{\"examples\": [{\"age\": 1, \"sex\": 1, \"trestbps\": 1}]}");
    CHECK(r.status == 400);
    CHECK_STR_CONTAINS(error_of(&r), ":regress needs a regression model");
    reply_free(&r);
    mp_predictions_free(&p);
    mp_model_release(m);
    mp_model_service_close(s);
}

/* ---- errors ---- */

static void expect_error(mp_model_service *s, const char *method, const char *path, const char *body,
                         int status, const char *needle)
{
    reply r = call(s, method, path, body);
    if (r.status != status)
        fprintf(stderr, "%s %s %s: status %d, wanted %d (%s)\n", method, path, body ? body : "",
                r.status, status, r.body ? r.body : "");
    CHECK(r.ours == 1);
    CHECK(r.status == status);
    CHECK(error_of(&r) != NULL);
    CHECK_STR_CONTAINS(error_of(&r), needle);
    reply_free(&r);
}

static void test_errors(void)
{
    mp_model_service *s = open_registry(0);
    REQUIRE(s);
    const char *P = "/v1/models/heart:predict";
    expect_error(s, "POST", P, "{\"instances\": [[1,2,3]", 400, "JSON Parse error");
    expect_error(s, "POST", P, "", 400, "JSON Parse error");
    expect_error(s, "POST", P, "[1,2]", 400, "must be a JSON object");
    /* 65 levels of nesting (the default limit is 64), refused before parsing. */
    char deep[400] = "{\"instances\":";
    for (int i = 0; i < 64; i++)
        strcat(deep, "[");
    for (int i = 0; i < 64; i++)
        strcat(deep, "]");
    strcat(deep, "}");
    expect_error(s, "POST", P, deep, 400, "nesting deeper than 64");
    /* Brackets inside strings do not count. */
    expect_error(s, "POST", P, "{\"instances\": [[\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\",1,2]]}",
                 400, "instance 0, feature 'age': expected a number, got a string");
    expect_error(s, "POST", P, "{\"instances\": [[63,1,233],[37,1]]}", 400,
                 "instance 1: expected 3 feature values (age, sex, trestbps), got 2");
    expect_error(s, "POST", P, "{\"instances\": [1.0, 2.0, 5.0]}", 400,
                 "instance 0: got a number, but the model takes 3 features");
    expect_error(s, "POST", P, "{\"instances\": [{\"age\":63,\"sex\":1}]}", 400,
                 "instance 0: feature 'trestbps' is missing");
    expect_error(s, "POST", P, "{\"instances\": [{\"age\":63,\"sex\":1,\"trestbps\":2,\"chol\":5}]}", 400,
                 "instance 0: unknown feature 'chol'");
    expect_error(s, "POST", P, "{\"instances\": [[63,1,233],[37,\"male\",250]]}", 400,
                 "instance 1, feature 'sex': expected a number, got a string");
    expect_error(s, "POST", P, "{\"instances\": [[63,null,233]]}", 400,
                 "instance 0, feature 'sex': null (a missing value)");
    expect_error(s, "POST", P, "{\"instances\": {\"age\": 1}}", 400, "'instances' must be a list");
    expect_error(s, "POST", P, "{\"inputs\": {\"age\":[1,2],\"sex\":[1],\"trestbps\":[1,2]}}", 400,
                 "inputs: feature 'sex' has 1 value but 'age' has 2");
    expect_error(s, "POST", P, "{\"inputs\": [[1,2]]}", 400, "inputs row 0: expected 3 feature values");
    expect_error(s, "POST", P, "{\"instances\": [], \"inputs\": []}", 400, "not both");
    expect_error(s, "POST", P, "{\"examples\": []}", 400, "Missing 'inputs' or 'instances' key");
    expect_error(s, "POST", P, "{\"signature_name\": \"nope\", \"instances\": []}", 400,
                 "Serving signature name: \"nope\" not found");
    expect_error(s, "POST", P, "{\"signature_name\": 3, \"instances\": []}", 400, "must be a string");
    expect_error(s, "POST", "/v1/models/heart:classify", "{\"examples\": [[1,2,3]]}", 400,
                 "example 0: expected an object of named features, got a list");
    expect_error(s, "POST", "/v1/models/heart:classify", "{\"examples\": [{\"age\":[1,2],\"sex\":1,\"trestbps\":1}]}",
                 400, "example 0, feature 'age': expected one value, got a list of 2");
    expect_error(s, "POST", "/v1/models/heart:classify", "{}", 400, "Missing 'examples' key");
    /* Unknown models and versions. */
    expect_error(s, "POST", "/v1/models/half:predict", "{\"instances\": [1.0,5.0]}", 404,
                 "Servable not found for request: Latest(half)");
    expect_error(s, "POST", "/v1/models/heart/versions/9:predict", "{\"instances\": []}", 404,
                 "Servable not found for request: Specific(heart, 9)");
    expect_error(s, "POST", "/v1/models/heart/labels/stable:predict", "{\"instances\": []}", 404,
                 "Unrecognized servable version label: stable");
    /* Names that could leave the registry, malformed paths. */
    expect_error(s, "POST", "/v1/models/..%2f..%2fetc:predict", "{}", 400, "Invalid model name");
    expect_error(s, "GET", "/v1/models/..", NULL, 400, "Invalid model name");
    expect_error(s, "GET", "/v1/models/%2e%2e/metadata", NULL, 400, "Invalid model name");
    expect_error(s, "GET", "/v1/models/.hidden", NULL, 400, "Invalid model name");
    expect_error(s, "GET", "/v1/models/a..b", NULL, 400, "Invalid model name");
    expect_error(s, "GET", "/v1/models/a%00b", NULL, 400, "Invalid model name");
    expect_error(s, "GET", "/v1/models/a%zz", NULL, 400, "Invalid model name");
    expect_error(s, "GET", "/v1/models/a b", NULL, 400, "Invalid model name");
    expect_error(s, "GET", "/v1/models/../../etc/passwd", NULL, 400, "Invalid model name");
    expect_error(s, "GET", "/v1/models", NULL, 400, "Malformed request");
    expect_error(s, "GET", "/v1/models/", NULL, 400, "Malformed request");
    expect_error(s, "GET", "/v1/models/heart/", NULL, 400, "Malformed request");
    expect_error(s, "POST", "/v1/models/heart:explain", "{}", 400, "Malformed request");
    expect_error(s, "GET", "/v1/models/heart/versions/0", NULL, 400, "Invalid model version");
    expect_error(s, "GET", "/v1/models/heart/versions/-1", NULL, 400, "Invalid model version");
    expect_error(s, "GET", "/v1/models/heart/versions/99999999999999999999999", NULL, 400,
                 "Invalid model version");
    expect_error(s, "GET", "/v1/models/heart/versions/1x", NULL, 400, "Invalid model version");
    /* Wrong methods, with Allow. */
    reply r = call(s, "GET", P, NULL);
    CHECK(r.status == 405 && !strcmp(r.allow, "POST"));
    reply_free(&r);
    r = call(s, "POST", "/v1/models/heart", "{}");
    CHECK(r.status == 405 && !strcmp(r.allow, "GET"));
    reply_free(&r);
    r = call(s, "DELETE", "/v1/models/heart/metadata", NULL);
    CHECK(r.status == 405 && !strcmp(r.allow, "GET"));
    reply_free(&r);
    mp_model_service_close(s);
}

/* ---- versions ---- */

static int wait_for_version(mp_model_service *s, const char *name, long want, long ms)
{
    for (long t = 0; t < ms; t += 10) {
        if (serving_version(s, name) == want)
            return 1;
        sleep_ms(10);
    }
    return serving_version(s, name) == want;
}

static double predict_x(mp_model_service *s, const char *path, double x)
{
    char body[100];
    snprintf(body, sizeof body, "{\"instances\": [%g]}", x);
    reply r = call(s, "POST", path, body);
    double v = r.status == 200 ? json_number_value(json_array_get(json_object_get(r.j, "predictions"), 0))
                               : NAN;
    reply_free(&r);
    return v;
}

static void test_watcher(void)
{
    char base[600], dir[700];
    snprintf(base, sizeof base, "%s/watched", root);
    REQUIRE(mp_mkdirs(base, NULL) == 0);
    snprintf(dir, sizeof dir, "%s/line", base);
    long v = 0;
    REQUIRE(train_publish(line_csv, "y", NULL, "linear-regression", NULL, MP_MISSING_ERROR, dir, &v) == 0);
    mp_model_service *s = NULL;
    mp_error e = {0};
    mp_model_service_opts o = {.model_base_path = dir, .model_name = "line", .poll_seconds = 0.05};
    REQUIRE(mp_model_service_open(&o, &s, &e) == 0);
    CHECK(serving_version(s, "line") == 1);
    CHECK_NEAR(predict_x(s, "/v1/models/line:predict", 2), 4, 1e-9);
    CHECK(metric(s, "mlpipe_model_versions_loaded{model=\"line\"}") == 1);

    /* Version 2 (y = 2x + 1) appears and takes over within a few polls. */
    REQUIRE(train_publish(line2_csv, "y", NULL, "linear-regression", NULL, MP_MISSING_ERROR, dir, &v) == 0);
    CHECK(v == 2);
    CHECK(wait_for_version(s, "line", 2, 3000));
    CHECK_NEAR(predict_x(s, "/v1/models/line:predict", 2), 5, 1e-9);
    CHECK(!strcmp(state_of(s, "line", 1), "END"));
    CHECK(metric(s, "mlpipe_model_versions_loaded{model=\"line\"}") == 1);
    reply gone = call(s, "POST", "/v1/models/line/versions/1:predict", "{\"instances\": [2]}");
    CHECK(gone.status == 404);
    reply_free(&gone);

    /* A version that cannot load is reported; version 2 keeps serving. */
    char tmp[800], bad[800];
    snprintf(tmp, sizeof tmp, "%s/.tmp-broken", dir);
    snprintf(bad, sizeof bad, "%s/3", dir);
    REQUIRE(mp_mkdirs(tmp, NULL) == 0);
    char file[900];
    snprintf(file, sizeof file, "%s/model.safetensors", tmp);
    REQUIRE(mp_write_atomic(file, "not a model", 11, NULL) == 0);
    REQUIRE(rename(tmp, bad) == 0);
    for (int i = 0; i < 300 && metric(s, "mlpipe_model_load_failures_total{model=\"line\"}") < 1; i++)
        sleep_ms(10);
    CHECK(metric(s, "mlpipe_model_load_failures_total{model=\"line\"}") == 1);
    reply r = call(s, "GET", "/v1/models/line/versions/3", NULL);
    CHECK(r.status == 200);
    CHECK_STR_CONTAINS(r.body, "\"state\":\"END\"");
    CHECK_STR_CONTAINS(r.body, "\"error_code\":\"DATA_LOSS\"");
    CHECK_STR_CONTAINS(r.body, "model.safetensors");
    reply_free(&r);
    CHECK(serving_version(s, "line") == 2);
    CHECK_NEAR(predict_x(s, "/v1/models/line:predict", 2), 5, 1e-9);
    sleep_ms(200); /* not retried while it stays */
    CHECK(metric(s, "mlpipe_model_load_failures_total{model=\"line\"}") == 1);
    REQUIRE(mp_remove_tree(bad) == 0);

    /* Version 2 removed: back to version 1. */
    snprintf(tmp, sizeof tmp, "%s/2", dir);
    REQUIRE(mp_remove_tree(tmp) == 0);
    CHECK(wait_for_version(s, "line", 1, 3000));
    CHECK_NEAR(predict_x(s, "/v1/models/line:predict", 2), 4, 1e-9);
    CHECK(!strcmp(state_of(s, "line", 2), "END"));
    mp_model_service_close(s);
}

typedef struct inflight {
    mp_model_service *s;
    const char *path;
    const char *body;
    reply r;
    atomic_int done;
} inflight;

static void *inflight_run(void *arg)
{
    inflight *f = arg;
    f->r = call(f->s, "POST", f->path, f->body);
    atomic_store(&f->done, 1);
    return NULL;
}

/* A request that took version 1 finishes on it although version 1 is
 * unloaded and deleted meanwhile. Batching with a long timeout holds the
 * request between taking its reference and predicting. */
static void test_inflight_request_keeps_version(void)
{
    char dir[700];
    snprintf(dir, sizeof dir, "%s/inflight/line", root);
    long v = 0;
    REQUIRE(train_publish(line_csv, "y", NULL, "linear-regression", NULL, MP_MISSING_ERROR, dir, &v) == 0);
    mp_model_service *s = NULL;
    mp_error e = {0};
    mp_model_service_opts o = {.model_base_path = dir, .model_name = "line", .poll_seconds = 0,
                               .enable_batching = 1, .batch_timeout_micros = 3000000};
    REQUIRE(mp_model_service_open(&o, &s, &e) == 0);
    inflight f = {.s = s, .path = "/v1/models/line:predict", .body = "{\"instances\": [2.0, 4.0]}"};
    pthread_t th;
    REQUIRE(pthread_create(&th, NULL, inflight_run, &f) == 0);
    const char *started = "mlpipe_model_requests_total{model=\"line\",version=\"1\",method=\"predict\"}";
    for (int i = 0; i < 500 && metric(s, started) < 1; i++)
        sleep_ms(5);
    CHECK(metric(s, started) == 1);
    /* Version 2 arrives, version 1 goes, from disk and from the service. */
    REQUIRE(train_publish(line2_csv, "y", NULL, "linear-regression", NULL, MP_MISSING_ERROR, dir, &v) == 0);
    char v1[800];
    snprintf(v1, sizeof v1, "%s/1", dir);
    REQUIRE(mp_remove_tree(v1) == 0);
    mp_model_service_poll(s);
    CHECK(!strcmp(state_of(s, "line", 1), "END"));
    CHECK(serving_version(s, "line") == 2);
    CHECK(atomic_load(&f.done) == 0); /* still waiting in its batch */
    pthread_join(th, NULL);
    CHECK(f.r.status == 200);
    json_t *list = json_object_get(f.r.j, "predictions");
    CHECK_NEAR(json_number_value(json_array_get(list, 0)), 4, 1e-9); /* version 1: x/2 + 3 */
    CHECK_NEAR(json_number_value(json_array_get(list, 1)), 5, 1e-9);
    reply_free(&f.r);
    CHECK(metric(s, "mlpipe_model_predictions_total{model=\"line\",version=\"1\"}") == 2);
    mp_model_service_close(s);
}

/* ---- batching ---- */

typedef struct batch_job {
    mp_model_service *s;
    char path[128];
    char body[128];
    reply r;
} batch_job;

static void *batch_run(void *arg)
{
    batch_job *j = arg;
    j->r = call(j->s, "POST", j->path, j->body);
    return NULL;
}

static void test_batching(void)
{
    /* Two versions served side by side (policy all) from a config file. */
    char cfg[700], text[1400];
    snprintf(cfg, sizeof cfg, "%s/batch.config", root);
    snprintf(text, sizeof text,
             "model_config_list {\n  config {\n    name: 'heart'\n    base_path: '%s'\n"
             "    model_platform: \"mlpipe\"\n    model_version_policy { all {} }\n  }\n}\n", multi);
    REQUIRE(mp_write_atomic(cfg, text, strlen(text), NULL) == 0);
    mp_model_service *plain = NULL, *batched = NULL;
    mp_error e = {0};
    mp_model_service_opts o = {.model_config_file = cfg};
    REQUIRE(mp_model_service_open(&o, &plain, &e) == 0);
    o.enable_batching = 1;
    o.max_batch_size = 32;
    o.batch_timeout_micros = 300000;
    int rc = mp_model_service_open(&o, &batched, &e);
    if (rc)
        fprintf(stderr, "%s\n", e.msg);
    REQUIRE(rc == 0);
    CHECK(!strcmp(state_of(plain, "heart", 1), "AVAILABLE") && !strcmp(state_of(plain, "heart", 2), "AVAILABLE"));

    enum { N = 12 };
    static const int rows[6][3] = {{63, 1, 233}, {37, 1, 250}, {41, 0, 204},
                                   {56, 1, 236}, {57, 0, 354}, {57, 1, 192}};
    batch_job jobs[N];
    pthread_t th[N];
    for (int i = 0; i < N; i++) {
        jobs[i].s = batched;
        /* Versions 1 and 2 alternate: they cannot share a batch. */
        snprintf(jobs[i].path, sizeof jobs[i].path, "/v1/models/heart/versions/%d:predict", 1 + i % 2);
        snprintf(jobs[i].body, sizeof jobs[i].body,
                 "{\"signature_name\":\"predict_proba\",\"instances\": [[%d,%d,%d]]}", rows[i % 6][0],
                 rows[i % 6][1], rows[i % 6][2]);
        REQUIRE(pthread_create(&th[i], NULL, batch_run, &jobs[i]) == 0);
    }
    for (int i = 0; i < N; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < N; i++) {
        reply want = call(plain, "POST", jobs[i].path, jobs[i].body);
        CHECK(jobs[i].r.status == 200 && want.status == 200);
        CHECK(jobs[i].r.body && want.body && !strcmp(jobs[i].r.body, want.body));
        reply_free(&want);
        reply_free(&jobs[i].r);
    }
    double count = metric(batched, "mlpipe_model_batch_size_count{model=\"heart\"}");
    double sum = metric(batched, "mlpipe_model_batch_size_sum{model=\"heart\"}");
    double ones = metric(batched, "mlpipe_model_batch_size_bucket{model=\"heart\",le=\"1\"}");
    CHECK(sum == N);
    CHECK(count >= 2 && count < N); /* some model call served several requests */
    CHECK(ones < count);
    CHECK(metric(batched, "mlpipe_model_predictions_total{model=\"heart\",version=\"1\"}") == N / 2);
    CHECK(metric(batched, "mlpipe_model_predictions_total{model=\"heart\",version=\"2\"}") == N / 2);

    /* A request larger than a batch runs alone; a batch fills up. */
    mp_model_service_close(batched);
    o.max_batch_size = 2;
    REQUIRE(mp_model_service_open(&o, &batched, &e) == 0);
    reply r = call(batched, "POST", "/v1/models/heart/versions/1:predict",
                   "{\"instances\": [[63,1,233],[37,1,250],[41,0,204]]}");
    reply want = call(plain, "POST", "/v1/models/heart/versions/1:predict",
                      "{\"instances\": [[63,1,233],[37,1,250],[41,0,204]]}");
    CHECK(r.status == 200 && r.body && want.body && !strcmp(r.body, want.body));
    reply_free(&r);
    reply_free(&want);
    CHECK(metric(batched, "mlpipe_model_batch_size_bucket{model=\"heart\",le=\"4\"}") == 1);
    mp_model_service_close(batched);
    mp_model_service_close(plain);
}

/* ---- config files ---- */

static void test_config_parser(void)
{
    static const char good[] =
        "# models\n"
        "model_config_list {\n"
        "  config {\n"
        "    name: 'a'\n"
        "    base_path: \"/models/a\"\n"
        "    model_platform: \"mlpipe\"\n"
        "    model_version_policy { specific { versions: 3 versions: 1 versions: 3 } }\n"
        "    version_labels { key: 'stable' value: 1 }\n"
        "    version_labels { key: 'canary' value: 3 }\n"
        "  }\n"
        "  config: { name: \"b\", base_path: '/m/b', model_version_policy: { latest { num_versions: 2 } } }\n"
        "  config { name: 'c' base_path: '/m/c' model_version_policy { all {} } }\n"
        "  config { name: 'd' base_path: '/m/d' model_version_policy { specific { versions: [4, 5] } } }\n"
        "}\n";
    ms_config c;
    mp_error e = {0};
    int rc = ms_config_parse(good, strlen(good), "good.config", &c, &e);
    if (rc)
        fprintf(stderr, "%s\n", e.msg);
    REQUIRE(rc == 0);
    REQUIRE(c.n == 4);
    CHECK(!strcmp(c.models[0].name, "a") && !strcmp(c.models[0].base_path, "/models/a"));
    CHECK(c.models[0].policy.kind == MS_POLICY_SPECIFIC && c.models[0].policy.nversions == 2 &&
          c.models[0].policy.versions[0] == 1 && c.models[0].policy.versions[1] == 3);
    CHECK(c.models[0].nlabels == 2 && !strcmp(c.models[0].labels[1].label, "canary") &&
          c.models[0].labels[1].version == 3);
    CHECK(c.models[1].policy.kind == MS_POLICY_LATEST && c.models[1].policy.num_versions == 2);
    CHECK(c.models[2].policy.kind == MS_POLICY_ALL);
    CHECK(c.models[3].policy.nversions == 2 && c.models[3].policy.versions[1] == 5);
    CHECK(c.models[1].line == 11);
    ms_config_free(&c);

    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"model_config_list {\n  config {\n    name: 'a'\n    base_pth: '/x'\n  }\n}\n",
         "bad.config:4: unknown field 'base_pth' in 'config'"},
        {"model_config_list {\n  config {\n    name: 'a'\n", "bad.config:4: missing '}' at the end"},
        {"model_config_list {\n config { name: 'a' model_version_policy { latest { num_versions: 0 } } }\n}",
         "bad.config:2: 'num_versions: 0' is not a whole number >= 1"},
        {"model_config_list {\n config { name: 'a' model_platform: 'tensorflow' }\n}",
         "bad.config:2: model_platform \"tensorflow\" is not served here"},
        {"model_config_list {\n config { name: 'a' }\n config { name: 'a' }\n}",
         "bad.config:3: model 'a' is configured twice"},
        {"model_config_list {\n config { name: '../etc' }\n}", "bad.config:2: model name '../etc'"},
        {"model_config_list {\n config { name: a }\n}", "bad.config:2: 'name' needs a quoted string"},
        {"model_config_list {\n config {\n  name: 'a'\n  model_version_policy { all {} latest {} }\n }\n}",
         "bad.config:4: 'model_version_policy' needs exactly one of"},
        {"model_config_list {\n config {\n  name: 'a'\n  model_version_policy { newest {} }\n }\n}",
         "bad.config:4: unknown version policy 'newest'"},
        {"model_config_list {\n config { name: 'a\n }\n}", "bad.config:2: unterminated string"},
        {"\n\nmodels { }\n", "bad.config:3: unknown field 'models' (expected model_config_list)"},
        {"model_config_list { }\n", "bad.config:1: 'model_config_list' has no 'config' entries"},
        {"", "bad.config:1: no model_config_list"},
        {"model_config_list {\n config { name: 'a' @ }\n}", "bad.config:2: unexpected character '@'"},
        {"model_config_list {\n config { name 'a' }\n}", "bad.config:2: expected ':' or '{' after 'name'"},
        {"model_config_list {\n config { name: 'a' version_labels { key: 'x' } }\n}",
         "bad.config:2: 'version_labels' needs key"},
        {"model_config_list {\n config { name: 'a' model_version_policy { specific { } } }\n}",
         "bad.config:2: 'specific' needs at least one"},
        {"model_config_list {\n config { name: 'a' } }\n}\n", "bad.config:3: expected a field name"},
        {"{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{", "bad.config:1: expected a field name"},
        {"a{b{c{d{e{f{g{h{i{j{k{l{m{n{o{p{q{r{s{t{", "bad.config:1: messages nested too deeply"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&e, 0, sizeof e);
        rc = ms_config_parse(bad[i].text, strlen(bad[i].text), "bad.config", &c, &e);
        CHECK(rc == MP_EINPUT);
        if (!strstr(e.msg, bad[i].msg))
            fprintf(stderr, "bad config %zu: got \"%s\"\n", i, e.msg);
        CHECK_STR_CONTAINS(e.msg, bad[i].msg);
        CHECK(c.n == 0 && c.models == NULL);
    }

    /* Through the service: the file's name and line in errors; labels route. */
    char path[700], text[1400];
    snprintf(path, sizeof path, "%s/serve.config", root);
    snprintf(text, sizeof text,
             "model_config_list {\n config {\n  name: 'heart'\n  base_path: '%s'\n"
             "  model_version_policy { specific { versions: 1 } }\n"
             "  version_labels { key: 'stable' value: 1 }\n"
             "  version_labels { key: 'canary' value: 2 }\n }\n"
             " config { name: 'my_model' }\n}\n", multi);
    REQUIRE(mp_write_atomic(path, text, strlen(text), NULL) == 0);
    mp_model_service *s = NULL;
    mp_model_service_opts o = {.model_config_file = path};
    CHECK(mp_model_service_open(&o, &s, &e) == MP_EINPUT && !s);
    CHECK_STR_CONTAINS(e.msg, "serve.config:9: model 'my_model' needs a base_path");
    o.registry_dir = reg; /* a config without base_path finds the model in the registry */
    rc = mp_model_service_open(&o, &s, &e);
    if (rc)
        fprintf(stderr, "%s\n", e.msg);
    REQUIRE(rc == 0);
    CHECK(serving_version(s, "heart") == 1);
    CHECK(!strcmp(state_of(s, "heart", 2), "none")); /* not in the policy: never loaded */
    reply r = call(s, "POST", "/v1/models/heart/labels/stable:predict", "{\"instances\": [[63,1,233]]}");
    CHECK(r.status == 200);
    reply_free(&r);
    r = call(s, "POST", "/v1/models/heart/labels/canary:predict", "{\"instances\": [[63,1,233]]}");
    CHECK(r.status == 404);
    reply_free(&r);
    r = call(s, "GET", "/v1/models/heart/labels/stable", NULL);
    CHECK(r.status == 200);
    CHECK_STR_CONTAINS(r.body, "\"version\":\"1\"");
    reply_free(&r);
    CHECK(serving_version(s, "pets") == 1); /* discovered beside the configured ones */
    mp_model_service_close(s);

    snprintf(text, sizeof text, "model_config_list {\n config {\n  name: 'x'\n  base_path: '%s/none'\n }\n}\n", root);
    REQUIRE(mp_write_atomic(path, text, strlen(text), NULL) == 0);
    o.registry_dir = NULL;
    CHECK(mp_model_service_open(&o, &s, &e) == MP_ENOTFOUND);
    CHECK_STR_CONTAINS(e.msg, "serve.config:2: model 'x': base_path");
    o.model_config_file = "/nonexistent/file.config";
    CHECK(mp_model_service_open(&o, &s, &e) == MP_ENOTFOUND);
}

static void test_open_errors(void)
{
    mp_model_service *s = NULL;
    mp_error e = {0};
    mp_model_service_opts o = {0};
    CHECK(mp_model_service_open(&o, &s, &e) == MP_EINVAL && !s);
    o.registry_dir = reg;
    o.model_base_path = reg;
    CHECK(mp_model_service_open(&o, &s, &e) == MP_EINVAL);
    o = (mp_model_service_opts){.model_base_path = "/nonexistent/m", .model_name = "m"};
    CHECK(mp_model_service_open(&o, &s, &e) == MP_ENOTFOUND);
    CHECK_STR_CONTAINS(e.msg, "/nonexistent/m");
    o.model_name = "../m";
    CHECK(mp_model_service_open(&o, &s, &e) == MP_EINVAL);
    o = (mp_model_service_opts){.registry_dir = "/nonexistent/r"};
    CHECK(mp_model_service_open(&o, &s, &e) == MP_ENOTFOUND);
    /* A base path without versions yet serves nothing, without failing. */
    char dir[700];
    snprintf(dir, sizeof dir, "%s/empty", root);
    REQUIRE(mp_mkdirs(dir, NULL) == 0);
    o = (mp_model_service_opts){.model_base_path = dir};
    REQUIRE(mp_model_service_open(&o, &s, &e) == 0);
    reply r = call(s, "POST", "/v1/models/default:predict", "{\"instances\": [1]}");
    CHECK(r.status == 404);
    reply_free(&r);
    mp_model_service_close(s);
    mp_model_service_close(NULL);
}

static void test_batching_file(void)
{
    char path[700];
    snprintf(path, sizeof path, "%s/batching.txt", root);
    const char *good = "# TF Serving batching\nmax_batch_size { value: 8 }\nbatch_timeout_micros { value: 0 }\n"
                       "num_batch_threads { value: 4 }\nmax_enqueued_batches { value: 100 }\n"
                       "allowed_batch_sizes: 4\nallowed_batch_sizes: 8\n";
    REQUIRE(mp_write_atomic(path, good, strlen(good), NULL) == 0);
    mp_model_service_opts o = {0};
    mp_error e = {0};
    int rc = mp_model_service_read_batching_file(path, &o, &e);
    if (rc)
        fprintf(stderr, "%s\n", e.msg);
    CHECK(rc == 0);
    CHECK(o.max_batch_size == 8 && o.batch_timeout_micros == -1);
    const char *good2 = "batch_timeout_micros { value: 250 }\n";
    REQUIRE(mp_write_atomic(path, good2, strlen(good2), NULL) == 0);
    CHECK(mp_model_service_read_batching_file(path, &o, &e) == 0);
    CHECK(o.max_batch_size == 8 && o.batch_timeout_micros == 250);
    const struct {
        const char *text, *msg;
    } bad[] = {
        {"max_batch_size { value: 8 }\nmax_batch_sise { value: 2 }\n", ":2: unknown batching parameter 'max_batch_sise'"},
        {"\nmax_batch_size { value: 0 }\n", ":2: 'value: 0' is not a whole number >= 1"},
        {"max_batch_size { value: -3 }\n", ":1: 'value: -3' is not a whole number >= 1"},
        {"max_batch_size { value: 'x' }\n", ":1: 'value' needs a number"},
        {"max_batch_size { size: 3 }\n", ":1: 'max_batch_size' needs { value: N }"},
        {"\n\nbatch_timeout_micros { value: 10 \n", ":4: missing '}'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        REQUIRE(mp_write_atomic(path, bad[i].text, strlen(bad[i].text), NULL) == 0);
        CHECK(mp_model_service_read_batching_file(path, &o, &e) == MP_EINPUT);
        CHECK_STR_CONTAINS(e.msg, bad[i].msg);
        CHECK_STR_CONTAINS(e.msg, "batching.txt");
    }
    CHECK(o.max_batch_size == 8 && o.batch_timeout_micros == 250); /* untouched by failures */
    CHECK(mp_model_service_read_batching_file("/nonexistent/b.txt", &o, &e) == MP_ENOTFOUND);
}

static void test_metrics_format(void)
{
    mp_model_service *s = open_registry(0);
    REQUIRE(s);
    reply r = call(s, "POST", "/v1/models/my_model:predict", "{\"instances\": [1.0, 2.0, 5.0]}");
    reply_free(&r);
    r = call(s, "POST", "/v1/models/my_model:regress", "{\"examples\": [{\"x\": 1}]}");
    reply_free(&r);
    mp_buf b = {0};
    mp_model_service_metrics(s, &b);
    CHECK_STR_CONTAINS(b.data, "# HELP mlpipe_model_predictions_total ");
    CHECK_STR_CONTAINS(b.data, "# TYPE mlpipe_model_predictions_total counter\n");
    CHECK_STR_CONTAINS(b.data, "mlpipe_model_predictions_total{model=\"my_model\",version=\"1\"} 4\n");
    CHECK_STR_CONTAINS(b.data, "# TYPE mlpipe_model_requests_total counter\n");
    CHECK_STR_CONTAINS(b.data, "mlpipe_model_requests_total{model=\"my_model\",version=\"1\",method=\"predict\"} 1\n");
    CHECK_STR_CONTAINS(b.data, "mlpipe_model_requests_total{model=\"my_model\",version=\"1\",method=\"regress\"} 1\n");
    CHECK_STR_CONTAINS(b.data, "# TYPE mlpipe_model_batch_size histogram\n");
    CHECK_STR_CONTAINS(b.data, "# TYPE mlpipe_model_load_failures_total counter\n");
    CHECK_STR_CONTAINS(b.data, "mlpipe_model_load_failures_total{model=\"heart\"} 0\n");
    CHECK_STR_CONTAINS(b.data, "# TYPE mlpipe_model_versions_loaded gauge\n");
    CHECK_STR_CONTAINS(b.data, "mlpipe_model_versions_loaded{model=\"pets\"} 1\n");
    mp_buf_free(&b);
    mp_model_service_close(s);
}

static int setup(void)
{
    if (!mkdtemp(root))
        return -1;
    snprintf(reg, sizeof reg, "%s/registry", root);
    snprintf(multi, sizeof multi, "%s/multi/heart", root);
    char dir[700];
    long v;
    const char *const k3[] = {"k=3", NULL};
    const char *const ae[] = {"epochs=30", "hidden=1", NULL};
    static const char sensor_csv[] = "a,b\n1,2\n2,4\n3,6\n1.5,3\n2.5,5\n0.5,1\n3.5,7\n4,8\n";
    int rc = 0;
    snprintf(dir, sizeof dir, "%s/heart", reg);
    rc |= train_publish(heart_csv, "target", "id", "logistic-regression", NULL, MP_MISSING_ERROR, dir, &v);
    snprintf(dir, sizeof dir, "%s/heart_mean", reg);
    rc |= train_publish(heart_csv, "target", "id", "logistic-regression", NULL, MP_MISSING_MEAN, dir, &v);
    snprintf(dir, sizeof dir, "%s/my_model", reg);
    rc |= train_publish(line_csv, "y", NULL, "linear-regression", NULL, MP_MISSING_ERROR, dir, &v);
    snprintf(dir, sizeof dir, "%s/pets", reg);
    rc |= train_publish(pets_csv, "label", NULL, "naive-bayes", NULL, MP_MISSING_ERROR, dir, &v);
    snprintf(dir, sizeof dir, "%s/sensor", reg);
    rc |= train_publish(sensor_csv, NULL, NULL, "autoencoder", ae, MP_MISSING_ERROR, dir, &v);
    rc |= train_publish(heart_csv, "target", "id", "logistic-regression", NULL, MP_MISSING_ERROR, multi, &v);
    rc |= train_publish(heart_csv, "target", "id", "knn", k3, MP_MISSING_ERROR, multi, &v);
    /* Not models: a file, a hidden directory and a half-published version. */
    snprintf(dir, sizeof dir, "%s/README", reg);
    rc |= mp_write_atomic(dir, "x", 1, NULL);
    snprintf(dir, sizeof dir, "%s/.hidden", reg);
    rc |= mp_mkdirs(dir, NULL);
    snprintf(dir, sizeof dir, "%s/heart/.tmp-abc123", reg);
    rc |= mp_mkdirs(dir, NULL);
    return rc;
}

int main(void)
{
    if (setup()) {
        fprintf(stderr, "fixture setup failed\n");
        return 1;
    }
    RUN(test_status);
    RUN(test_metadata);
    RUN(test_predict_forms);
    RUN(test_categorical_and_anomaly);
    RUN(test_regress);
    RUN(test_errors);
    RUN(test_watcher);
    RUN(test_inflight_request_keeps_version);
    RUN(test_batching);
    RUN(test_config_parser);
    RUN(test_open_errors);
    RUN(test_batching_file);
    RUN(test_metrics_format);
    mp_remove_tree(root);
    return TEST_SUMMARY();
}
