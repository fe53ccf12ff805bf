/* A minimal unit-test harness: CHECK records a failure and continues,
 * REQUIRE stops the current test function. Each test file defines main()
 * as a list of RUN(test_fn) calls followed by `return TEST_SUMMARY();`,
 * which prints "N passed, N failed" and returns nonzero on any failure. */
#ifndef MP_TEST_H
#define MP_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int mp_test_failed_checks;
static int mp_test_passed, mp_test_failed;

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);      \
            mp_test_failed_checks++;                                                       \
        }                                                                                  \
    } while (0)

#define REQUIRE(cond)                                                                      \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond);    \
            mp_test_failed_checks++;                                                       \
            return;                                                                        \
        }                                                                                  \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                              \
    do {                                                                                   \
        double a_ = (a), b_ = (b);                                                         \
        if (!(fabs(a_ - b_) <= (tol))) {                                                   \
            fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s = %.10g, %s = %.10g (tol %g)\n", \
                    __FILE__, __LINE__, #a, a_, #b, b_, (double)(tol));                    \
            mp_test_failed_checks++;                                                       \
        }                                                                                  \
    } while (0)

#define CHECK_STR_CONTAINS(hay, needle)                                                    \
    do {                                                                                   \
        const char *h_ = (hay), *n_ = (needle);                                            \
        if (!h_ || !strstr(h_, n_)) {                                                      \
            fprintf(stderr, "%s:%d: expected \"%s\" to contain \"%s\"\n", __FILE__,        \
                    __LINE__, h_ ? h_ : "(null)", n_);                                     \
            mp_test_failed_checks++;                                                       \
        }                                                                                  \
    } while (0)

#define RUN(fn)                                                                            \
    do {                                                                                   \
        int before_ = mp_test_failed_checks;                                               \
        fn();                                                                              \
        if (mp_test_failed_checks == before_) {                                            \
            mp_test_passed++;                                                              \
        } else {                                                                           \
            mp_test_failed++;                                                              \
            fprintf(stderr, "FAIL %s\n", #fn);                                             \
        }                                                                                  \
    } while (0)

#define TEST_SUMMARY()                                                                     \
    (printf("%d passed, %d failed\n", mp_test_passed, mp_test_failed), mp_test_failed != 0)

#endif
