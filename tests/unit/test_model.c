/* The model pipeline: preprocessing fitted on training rows, every
 * algorithm trained, published as a version, loaded back, and predicting
 * the same numbers; categorical columns, unseen levels, imputation. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fileio.h"
#include "data/dataset.h"
#include "data/table.h"
#include "ml/model.h"
#include "test.h"

static char tmpdir[] = "/tmp/mp-test-model.XXXXXX";

static mp_dataset *load(const char *csv, const char *target, const char *id, mp_missing_policy mp)
{
    mp_table *t = NULL;
    mp_dataset *d = NULL;
    mp_error e = {0};
    if (mp_csv_parse("mem.csv", csv, strlen(csv), 0, &t, &e)) {
        fprintf(stderr, "%s\n", e.msg);
        return NULL;
    }
    mp_load_opts o = {.target = target, .id = id, .missing = mp};
    if (mp_dataset_from_table(t, &o, &d, &e))
        fprintf(stderr, "%s\n", e.msg);
    mp_table_destroy(t);
    return d;
}

static const char heart[] = "id,age,sex,trestbps,target\n0,63,1,233,1\n1,37,1,250,0\n2,41,0,204,1\n"
                            "3,56,1,236,1\n4,57,0,354,0\n5,57,1,192,0\n6,56,0,294,0\n7,44,1,263,1\n"
                            "8,52,1,199,1\n9,57,1,168,1\n10,54,1,239,1\n11,48,0,275,0\n12,49,1,266,1\n"
                            "13,64,1,211,0\n14,58,0,283,1\n";

static void round_trip(const char *algo, const char *target, int expect_task)
{
    mp_dataset *d = load(heart, target, "id", MP_MISSING_ERROR);
    REQUIRE(d);
    mp_error e = {0};
    mp_model *m = NULL, *m2 = NULL;
    mp_train_opts o = {.algorithm = algo, .scale = -1, .seed = 1};
    int rc = mp_model_train(d, NULL, 0, &o, &m, &e);
    if (rc)
        fprintf(stderr, "%s: %s\n", algo, e.msg);
    REQUIRE(rc == 0);
    CHECK((int)m->task == expect_task);
    CHECK(m->prep.ncols == 3); /* the id and the target are not features */
    char dir[256];
    snprintf(dir, sizeof dir, "%s/%s-%s", tmpdir, algo, target);
    long v1 = 0, v2 = 0, lv = 0;
    CHECK(mp_model_publish(m, dir, &v1, &e) == 0);
    CHECK(mp_model_publish(m, dir, &v2, &e) == 0);
    CHECK(v1 == 1 && v2 == 2);
    rc = mp_model_load(dir, &m2, &lv, &e);
    if (rc)
        fprintf(stderr, "%s\n", e.msg);
    REQUIRE(rc == 0);
    CHECK(lv == 2);
    mp_predictions p1, p2;
    REQUIRE(mp_model_predict(m, d, NULL, 0, 0, &p1, &e) == 0);
    REQUIRE(mp_model_predict(m2, d, NULL, 0, 0, &p2, &e) == 0);
    if (m->task == MP_TASK_CLASSIFY) {
        CHECK(m2->nclasses == 2 && !strcmp(m2->classes[0], "0") && !strcmp(m2->classes[1], "1"));
        CHECK(memcmp(p1.proba, p2.proba, 15 * 2 * sizeof(double)) == 0);
        CHECK(memcmp(p1.label, p2.label, 15 * sizeof(size_t)) == 0);
    } else {
        CHECK(memcmp(p1.value, p2.value, 15 * sizeof(double)) == 0);
    }
    mp_predictions_free(&p1);
    mp_predictions_free(&p2);
    mp_model_release(m);
    mp_model_release(m2);
    mp_dataset_destroy(d);
}

static void test_knn(void) { round_trip("knn", "target", MP_TASK_CLASSIFY); }
static void test_naive_bayes(void) { round_trip("naive-bayes", "target", MP_TASK_CLASSIFY); }
static void test_logistic(void) { round_trip("logistic-regression", "target", MP_TASK_CLASSIFY); }
static void test_linear(void) { round_trip("linear-regression", "trestbps", MP_TASK_REGRESS); }
static void test_knn_regression(void) { round_trip("knn", "trestbps", MP_TASK_REGRESS); }

static void test_standard_scaling_is_population(void)
{
    mp_dataset *d = load("x,y\n1,0\n2,1\n3,0\n4,1\n", "y", NULL, MP_MISSING_ERROR);
    REQUIRE(d);
    mp_prep p;
    REQUIRE(mp_prep_fit(&p, d, NULL, 0, MP_SCALE_STANDARD, MP_MISSING_ERROR, 1, NULL) == 0);
    CHECK_NEAR(p.cols[0].center, 2.5, 1e-15);
    CHECK_NEAR(p.cols[0].scale, sqrt(1.25), 1e-15); /* ddof = 0 */
    double *X;
    REQUIRE(mp_prep_transform(&p, d, NULL, 0, 0, &X, NULL, NULL) == 0);
    CHECK_NEAR(X[0], -1.5 / sqrt(1.25), 1e-15);
    free(X);
    mp_prep_free(&p);
    REQUIRE(mp_prep_fit(&p, d, NULL, 0, MP_SCALE_MINMAX, MP_MISSING_ERROR, 1, NULL) == 0);
    REQUIRE(mp_prep_transform(&p, d, NULL, 0, 0, &X, NULL, NULL) == 0);
    CHECK_NEAR(X[0], 0.0, 0) ;
    CHECK_NEAR(X[3], 1.0, 1e-15);
    free(X);
    mp_prep_free(&p);
    mp_dataset_destroy(d);
}

static void test_categorical_and_unseen(void)
{
    const char *train = "color,size,label\nred,1,a\nblue,2,b\nred,3,a\ngreen,4,b\nblue,5,b\nred,6,a\n";
    mp_dataset *d = load(train, "label", NULL, MP_MISSING_ERROR);
    REQUIRE(d);
    mp_error e = {0};
    mp_model *m = NULL;
    mp_train_opts o = {.algorithm = "logistic-regression", .scale = -1};
    REQUIRE(mp_model_train(d, NULL, 0, &o, &m, &e) == 0);
    CHECK(m->prep.nout == 4); /* 3 one-hot levels + size */
    CHECK(m->prep.cols[0].kind == MP_COL_CATEGORICAL);
    /* Prediction data: columns in another order, a level never seen. */
    const char *test = "size,color\n1,red\n2,purple\n";
    mp_column *schema = mp_prep_schema(&m->prep);
    mp_table *t = NULL;
    mp_dataset *td = NULL;
    REQUIRE(mp_csv_parse("t.csv", test, strlen(test), 0, &t, &e) == 0);
    mp_load_opts lo = {.schema = schema, .nschema = m->prep.ncols};
    REQUIRE(mp_dataset_from_table(t, &lo, &td, &e) == 0);
    mp_predictions p;
    REQUIRE(mp_model_predict(m, td, NULL, 0, 0, &p, &e) == 0);
    CHECK(p.unseen == 1);
    CHECK(!strcmp(m->classes[p.label[0]], "a"));
    mp_predictions_free(&p);
    /* Naive Bayes takes the codes themselves. */
    mp_model *nb = NULL;
    mp_train_opts on = {.algorithm = "naive-bayes", .scale = -1};
    REQUIRE(mp_model_train(d, NULL, 0, &on, &nb, &e) == 0);
    CHECK(nb->prep.nout == 2 && nb->prep.ncats[0] == 3 && nb->prep.ncats[1] == 0);
    REQUIRE(mp_model_predict(nb, td, NULL, 0, 0, &p, &e) == 0);
    CHECK(p.unseen == 1);
    mp_predictions_free(&p);
    mp_model_release(nb);
    mp_dataset_destroy(td);
    mp_table_destroy(t);
    free(schema);
    mp_model_release(m);
    mp_dataset_destroy(d);
}

static void test_mean_imputation_uses_training_means(void)
{
    mp_dataset *d = load("a,y\n1,1\n,2\n3,3\n5,4\n", "y", NULL, MP_MISSING_MEAN);
    REQUIRE(d);
    mp_model *m = NULL;
    mp_error e = {0};
    mp_train_opts o = {.algorithm = "linear-regression", .scale = -1, .missing = MP_MISSING_MEAN};
    REQUIRE(mp_model_train(d, NULL, 0, &o, &m, &e) == 0);
    CHECK_NEAR(m->prep.cols[0].fill, 3.0, 1e-15);
    mp_predictions p;
    CHECK(mp_model_predict(m, d, NULL, 0, 0, &p, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "missing value in column 'a'");
    REQUIRE(mp_model_predict(m, d, NULL, 0, 1, &p, &e) == 0);
    mp_predictions_free(&p);
    mp_model_release(m);
    mp_dataset_destroy(d);
}

static void test_passthrough_only_when_unchanged(void)
{
    mp_dataset *d = load("a,b,y\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n", "y", NULL, MP_MISSING_ERROR);
    REQUIRE(d);
    mp_prep p;
    REQUIRE(mp_prep_fit(&p, d, NULL, 0, MP_SCALE_NONE, MP_MISSING_ERROR, 1, NULL) == 0);
    size_t consecutive[] = {1, 2, 3}, gaps[] = {0, 2};
    CHECK(mp_prep_passthrough(&p, d, NULL, 0) == d->X);
    CHECK(mp_prep_passthrough(&p, d, consecutive, 3) == d->X + 2);
    CHECK(mp_prep_passthrough(&p, d, gaps, 2) == NULL);
    mp_prep_free(&p);
    REQUIRE(mp_prep_fit(&p, d, NULL, 0, MP_SCALE_STANDARD, MP_MISSING_ERROR, 1, NULL) == 0);
    CHECK(mp_prep_passthrough(&p, d, NULL, 0) == NULL);
    mp_prep_free(&p);
    /* Either way, the same predictions. */
    mp_model *m = NULL;
    mp_train_opts o = {.algorithm = "logistic-regression", .scale = MP_SCALE_NONE};
    REQUIRE(mp_model_train(d, NULL, 0, &o, &m, NULL) == 0);
    mp_predictions a, b;
    REQUIRE(mp_model_predict(m, d, consecutive, 3, 0, &a, NULL) == 0);
    REQUIRE(mp_model_predict(m, d, gaps, 2, 0, &b, NULL) == 0);
    CHECK(memcmp(a.proba + 2, b.proba + 2, 2 * sizeof(double)) == 0); /* row 2 in both */
    mp_predictions_free(&a);
    mp_predictions_free(&b);
    mp_model_release(m);
    mp_dataset_destroy(d);
}

static void test_task_errors(void)
{
    mp_dataset *d = load("a,y\n1,0.5\n2,1.5\n3,2.25\n", "y", NULL, MP_MISSING_ERROR);
    REQUIRE(d);
    mp_model *m = NULL;
    mp_error e = {0};
    mp_train_opts o = {.algorithm = "naive-bayes", .scale = -1};
    CHECK(mp_model_train(d, NULL, 0, &o, &m, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "continuous");
    mp_dataset_destroy(d);
    d = load("a,y\n1,x\n2,y\n3,x\n", "y", NULL, MP_MISSING_ERROR);
    REQUIRE(d);
    o.algorithm = "linear-regression";
    CHECK(mp_model_train(d, NULL, 0, &o, &m, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "holds text");
    o.algorithm = "no-such";
    CHECK(mp_model_train(d, NULL, 0, &o, &m, &e) == MP_EINVAL);
    mp_dataset_destroy(d);
    d = load("a,y\n1,x\n2,x\n", "y", NULL, MP_MISSING_ERROR);
    REQUIRE(d);
    o.algorithm = "knn";
    CHECK(mp_model_train(d, NULL, 0, &o, &m, &e) == MP_EINPUT);
    CHECK_STR_CONTAINS(e.msg, "single class");
    mp_dataset_destroy(d);
}

int main(void)
{
    if (!mkdtemp(tmpdir))
        return 1;
    RUN(test_knn);
    RUN(test_naive_bayes);
    RUN(test_logistic);
    RUN(test_linear);
    RUN(test_knn_regression);
    RUN(test_standard_scaling_is_population);
    RUN(test_categorical_and_unseen);
    RUN(test_mean_imputation_uses_training_means);
    RUN(test_passthrough_only_when_unchanged);
    RUN(test_task_errors);
    mp_remove_tree(tmpdir);
    return TEST_SUMMARY();
}
