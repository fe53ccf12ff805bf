#include "ml/params.h"
#include "test.h"

static void test_typed_getters(void)
{
    mp_params p = {0};
    mp_error e = {0};
    REQUIRE(mp_params_add(&p, "k=7", &e) == 0);
    REQUIRE(mp_params_add(&p, "weights=distance", &e) == 0);
    REQUIRE(mp_params_add(&p, "C=0.5", &e) == 0);
    REQUIRE(mp_params_add(&p, "k=9", &e) == 0); /* a repeat replaces */
    long k;
    double c;
    int w;
    static const char *const choices[] = {"uniform", "distance", NULL};
    CHECK(mp_param_int(&p, "k", 5, 1, 100, &k, &e) == 0 && k == 9);
    CHECK(mp_param_double(&p, "C", 1.0, 0, 1e9, &c, &e) == 0 && c == 0.5);
    /* A match past the first choice (the path that once leaked). */
    CHECK(mp_param_choice(&p, "weights", choices, 0, &w, &e) == 0 && w == 1);
    CHECK(mp_param_int(&p, "absent", 5, 1, 100, &k, &e) == 0 && k == 5);
    static const char *const known[] = {"k", "weights", "C", NULL};
    CHECK(mp_params_check_unused(&p, "knn", known, &e) == 0);
    mp_params_free(&p);
}

static void test_errors(void)
{
    mp_params p = {0};
    mp_error e = {0};
    CHECK(mp_params_add(&p, "k", &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "not NAME=VALUE");
    CHECK(mp_params_add(&p, "=3", &e) == MP_EINVAL);
    CHECK(mp_params_add(&p, "k=", &e) == MP_EINVAL);
    REQUIRE(mp_params_add(&p, "k=0", &e) == 0);
    REQUIRE(mp_params_add(&p, "w=fast", &e) == 0);
    REQUIRE(mp_params_add(&p, "x=1e", &e) == 0);
    REQUIRE(mp_params_add(&p, "kk=1", &e) == 0);
    long k;
    double x;
    int w;
    CHECK(mp_param_int(&p, "k", 5, 1, 100, &k, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "k=0: must be between 1 and 100");
    static const char *const choices[] = {"uniform", "distance", NULL};
    CHECK(mp_param_choice(&p, "w", choices, 0, &w, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "expected one of uniform, distance");
    CHECK(mp_param_double(&p, "x", 1, 0, 10, &x, &e) == MP_EINVAL);
    static const char *const known[] = {"k", "w", "x", NULL};
    CHECK(mp_params_check_unused(&p, "knn", known, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "unknown parameter 'kk' for knn (known: k, w, x)");
    mp_params_free(&p);
}

int main(void)
{
    RUN(test_typed_getters);
    RUN(test_errors);
    return TEST_SUMMARY();
}
