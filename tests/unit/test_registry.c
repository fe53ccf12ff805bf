/* The model registry: version numbering, resolution of --model paths,
 * failed publishes leaving nothing behind, and concurrent publishers. */
#include <dirent.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fileio.h"
#include "ml/registry.h"
#include "ml/safetensors.h"
#include "ml/tensors.h"
#include "test.h"

static char base[64];

/* What a writer puts into a version: one I64 tensor "who" = {a, b}. */
typedef struct writer_ctx {
    long a, b;
    int fail;        /* return MP_EINPUT ... */
    int fail_after;  /* ... after writing the file */
    int write_none;  /* write nothing at all */
} writer_ctx;

static int write_model(const char *tmpdir, void *ctx, mp_error *e)
{
    writer_ctx *w = ctx;
    if (w->write_none)
        return 0;
    if (w->fail && !w->fail_after)
        return mp_error_set(e, MP_EINPUT, "training data is bad");
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", tmpdir, MP_REGISTRY_MODEL_FILE);
    mp_tensors b = {0};
    int64_t who[2] = {w->a, w->b}, shape[1] = {2};
    int rc = mp_tensors_add(&b, "who", MP_DT_I64, 1, shape, who, e);
    if (!rc)
        rc = mp_tensors_set_meta(&b, "format", "mlpipe-1");
    if (!rc)
        rc = mp_safetensors_write(path, &b, e);
    mp_tensors_free(&b);
    if (!rc && w->fail)
        return mp_error_set(e, MP_EINPUT, "failed after writing");
    return rc;
}

/* Reads "who" back from DIR/VERSION/model.safetensors; 0 on success. */
static int read_who(const char *dir, long version, int64_t who[2])
{
    char path[512];
    snprintf(path, sizeof path, "%s/%ld/%s", dir, version, MP_REGISTRY_MODEL_FILE);
    mp_tensors b = {0};
    mp_error e = {0};
    int64_t shape[1] = {2};
    const mp_tensor *t;
    int rc = mp_safetensors_read(path, &b, &e);
    if (!rc)
        rc = mp_tensors_expect(&b, "who", MP_DT_I64, 1, shape, &t, &e);
    if (!rc)
        memcpy(who, t->data, sizeof(int64_t) * 2);
    mp_tensors_free(&b);
    return rc;
}

/* Entries of dir whose names start with prefix. */
static int count_prefix(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (!strncmp(de->d_name, prefix, strlen(prefix)))
            n++;
    closedir(d);
    return n;
}

static void sub(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", base, name);
}

static void test_versions_and_latest(void)
{
    char dir[256], p[512];
    mp_error e = {0};
    long *v = NULL;
    size_t n = 99;
    long latest = -1;
    sub(dir, sizeof dir, "m");

    CHECK(mp_registry_versions(dir, &v, &n, &e) == MP_ENOTFOUND);
    CHECK_STR_CONTAINS(e.msg, "/m: no such model directory");
    CHECK(v == NULL && n == 0);
    CHECK(mp_registry_latest(dir, &latest, &e) == MP_ENOTFOUND);

    REQUIRE(mp_mkdirs(dir, &e) == 0);
    CHECK(mp_registry_versions(dir, &v, &n, &e) == 0 && n == 0 && v == NULL);
    CHECK(mp_registry_latest(dir, &latest, &e) == MP_ENOTFOUND);
    CHECK_STR_CONTAINS(e.msg, "/m: no model versions");

    for (long i = 1; i <= 3; i++) {
        writer_ctx w = {.a = 100, .b = i};
        long ver = 0;
        CHECK(mp_registry_publish(dir, write_model, &w, &ver, &e) == 0);
        CHECK(ver == i);
    }
    CHECK(mp_registry_latest(dir, &latest, &e) == 0 && latest == 3);
    for (long i = 1; i <= 3; i++) {
        int64_t who[2] = {0, 0};
        CHECK(read_who(dir, i, who) == 0 && who[0] == 100 && who[1] == i);
    }

    /* Entries that are not versions are ignored. */
    const char *junk_dirs[] = {"foo", ".tmp-abc123", "007", "0", "12abc", "-3", "+4", "99999999999999999999999"};
    for (size_t i = 0; i < sizeof junk_dirs / sizeof *junk_dirs; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, junk_dirs[i]);
        CHECK(mkdir(p, 0755) == 0);
    }
    snprintf(p, sizeof p, "%s/9", dir); /* a file, not a directory */
    CHECK(mp_write_atomic(p, "x", 1, &e) == 0);
    CHECK(mp_registry_versions(dir, &v, &n, &e) == 0);
    CHECK(n == 3 && v && v[0] == 1 && v[1] == 2 && v[2] == 3);
    free(v);

    /* Ascending numeric order, not name order: 10 sorts after 9. */
    snprintf(p, sizeof p, "%s/10", dir);
    CHECK(mkdir(p, 0755) == 0);
    CHECK(mp_registry_versions(dir, &v, &n, &e) == 0);
    CHECK(n == 4 && v && v[2] == 3 && v[3] == 10);
    free(v);
    writer_ctx w = {.a = 100, .b = 11};
    long ver = 0;
    CHECK(mp_registry_publish(dir, write_model, &w, &ver, &e) == 0 && ver == 11);

    /* A non-directory squatting on the next number is stepped over. */
    snprintf(p, sizeof p, "%s/12", dir);
    CHECK(mp_write_atomic(p, "x", 1, &e) == 0);
    w.b = 13;
    CHECK(mp_registry_publish(dir, write_model, &w, &ver, &e) == 0 && ver == 13);
    int64_t who[2];
    CHECK(read_who(dir, 13, who) == 0 && who[1] == 13);
    CHECK(count_prefix(dir, ".tmp-") == 1); /* only the one made by hand */

    /* publish creates missing parents. */
    sub(p, sizeof p, "deep/er/model");
    w.b = 1;
    CHECK(mp_registry_publish(p, write_model, &w, &ver, &e) == 0 && ver == 1);
    CHECK(read_who(p, 1, who) == 0);
}

static void test_resolve(void)
{
    char dir[256], in[512], out[512];
    mp_error e = {0};
    long ver = 0;
    sub(dir, sizeof dir, "r");
    for (long i = 1; i <= 3; i++) {
        writer_ctx w = {.a = 7, .b = i};
        REQUIRE(mp_registry_publish(dir, write_model, &w, &ver, &e) == 0);
    }
    char want[600];

    CHECK(mp_registry_resolve(dir, out, sizeof out, &ver, &e) == 0);
    snprintf(want, sizeof want, "%s/3", dir);
    CHECK(!strcmp(out, want) && ver == 3);

    snprintf(in, sizeof in, "%s//", dir); /* trailing slashes */
    CHECK(mp_registry_resolve(in, out, sizeof out, &ver, &e) == 0);
    CHECK(!strcmp(out, want) && ver == 3);

    snprintf(in, sizeof in, "%s/2", dir);
    CHECK(mp_registry_resolve(in, out, sizeof out, &ver, &e) == 0);
    CHECK(!strcmp(out, in) && ver == 2);
    snprintf(in, sizeof in, "%s/2/", dir);
    CHECK(mp_registry_resolve(in, out, sizeof out, NULL, &e) == 0);
    snprintf(want, sizeof want, "%s/2", dir);
    CHECK(!strcmp(out, want));

    snprintf(in, sizeof in, "%s/4", dir);
    CHECK(mp_registry_resolve(in, out, sizeof out, &ver, &e) == MP_ENOTFOUND);
    snprintf(want, sizeof want, "%s: no version 4 (versions: 1, 2, 3)", dir);
    CHECK(!strcmp(e.msg, want));
    if (strcmp(e.msg, want))
        fprintf(stderr, "got: %s\n", e.msg);

    /* A model directory named by digits still means "its latest version". */
    char num[300];
    snprintf(num, sizeof num, "%s/2024", base);
    writer_ctx w = {.a = 2024, .b = 1};
    REQUIRE(mp_registry_publish(num, write_model, &w, &ver, &e) == 0);
    CHECK(mp_registry_resolve(num, out, sizeof out, &ver, &e) == 0);
    snprintf(want, sizeof want, "%s/1", num);
    CHECK(!strcmp(out, want) && ver == 1);

    /* Missing things. */
    sub(in, sizeof in, "nothing");
    CHECK(mp_registry_resolve(in, out, sizeof out, &ver, &e) == MP_ENOTFOUND);
    CHECK_STR_CONTAINS(e.msg, "/nothing: no such model directory");
    sub(in, sizeof in, "nothing/3");
    CHECK(mp_registry_resolve(in, out, sizeof out, &ver, &e) == MP_ENOTFOUND);
    CHECK_STR_CONTAINS(e.msg, "/nothing/3: no such model directory");
    sub(in, sizeof in, "emptymodel");
    REQUIRE(mp_mkdirs(in, &e) == 0);
    CHECK(mp_registry_resolve(in, out, sizeof out, &ver, &e) == MP_ENOTFOUND);
    CHECK_STR_CONTAINS(e.msg, "/emptymodel: no model versions");
    sub(in, sizeof in, "emptymodel/5");
    CHECK(mp_registry_resolve(in, out, sizeof out, &ver, &e) == MP_ENOTFOUND);
    CHECK_STR_CONTAINS(e.msg, "/emptymodel: no version 5 (no model versions)");
    snprintf(in, sizeof in, "%s/1/%s", dir, MP_REGISTRY_MODEL_FILE);
    CHECK(mp_registry_resolve(in, out, sizeof out, &ver, &e) == MP_ENOTFOUND);
    CHECK_STR_CONTAINS(e.msg, "not a model directory");
    CHECK(mp_registry_resolve("", out, sizeof out, &ver, &e) == MP_EINVAL);

    /* dir_out too small. */
    char tiny[4];
    CHECK(mp_registry_resolve(dir, tiny, sizeof tiny, &ver, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "path too long");

    /* Long version lists are abridged in the message. */
    sub(in, sizeof in, "many");
    for (int i = 1; i <= 15; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s/%d", in, i);
        REQUIRE(mp_mkdirs(p, &e) == 0);
    }
    sub(in, sizeof in, "many/16");
    CHECK(mp_registry_resolve(in, out, sizeof out, &ver, &e) == MP_ENOTFOUND);
    CHECK_STR_CONTAINS(e.msg, "no version 16 (versions: 1, 2, 3, 4, 5, ..., 11, 12, 13, 14, 15)");
}

static void test_publish_failure(void)
{
    char dir[256];
    mp_error e = {0};
    long ver = -5;
    sub(dir, sizeof dir, "f");
    writer_ctx ok = {.a = 1, .b = 1};
    REQUIRE(mp_registry_publish(dir, write_model, &ok, &ver, &e) == 0 && ver == 1);

    writer_ctx bad = {.fail = 1};
    ver = -5;
    CHECK(mp_registry_publish(dir, write_model, &bad, &ver, &e) == MP_EINPUT);
    CHECK(!strcmp(e.msg, "training data is bad")); /* the writer's own message */
    CHECK(ver == -5);
    writer_ctx late = {.fail = 1, .fail_after = 1};
    CHECK(mp_registry_publish(dir, write_model, &late, &ver, &e) == MP_EINPUT);
    writer_ctx none = {.write_none = 1};
    CHECK(mp_registry_publish(dir, write_model, &none, &ver, &e) == MP_EINVAL);
    CHECK_STR_CONTAINS(e.msg, "wrote no files");

    CHECK(count_prefix(dir, ".tmp-") == 0);
    long *v;
    size_t n;
    CHECK(mp_registry_versions(dir, &v, &n, &e) == 0 && n == 1 && v[0] == 1);
    free(v);
    CHECK(count_prefix(dir, "") == 3); /* ".", "..", "1" */

    /* A model_dir that cannot be a directory. */
    char file[300];
    snprintf(file, sizeof file, "%s/afile", base);
    REQUIRE(mp_write_atomic(file, "x", 1, &e) == 0);
    CHECK(mp_registry_publish(file, write_model, &ok, &ver, &e) == MP_EIO);
    CHECK(mp_registry_publish(dir, NULL, &ok, &ver, &e) == MP_EINVAL);
}

enum { NTHREADS = 4, PER_THREAD = 5 };

typedef struct thread_arg {
    const char *dir;
    long index;
    long got[PER_THREAD];
    int rc;
} thread_arg;

static void *publisher(void *p)
{
    thread_arg *a = p;
    for (int i = 0; i < PER_THREAD; i++) {
        writer_ctx w = {.a = a->index, .b = i};
        mp_error e = {0};
        int rc = mp_registry_publish(a->dir, write_model, &w, &a->got[i], &e);
        if (rc) {
            fprintf(stderr, "publish failed: %s\n", e.msg);
            a->rc = rc;
        }
    }
    return NULL;
}

static void test_concurrent_publish(void)
{
    char dir[256];
    sub(dir, sizeof dir, "c");
    thread_arg args[NTHREADS];
    pthread_t th[NTHREADS];
    memset(args, 0, sizeof args);
    for (int t = 0; t < NTHREADS; t++) {
        args[t].dir = dir;
        args[t].index = 1000 + t;
        REQUIRE(pthread_create(&th[t], NULL, publisher, &args[t]) == 0);
    }
    for (int t = 0; t < NTHREADS; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < NTHREADS; t++)
        CHECK(args[t].rc == 0);

    mp_error e = {0};
    long *v;
    size_t n;
    REQUIRE(mp_registry_versions(dir, &v, &n, &e) == 0);
    CHECK(n == NTHREADS * PER_THREAD);
    for (size_t i = 0; i < n; i++)
        CHECK(v[i] == (long)i + 1);
    free(v);
    CHECK(count_prefix(dir, ".tmp-") == 0);

    /* Each version holds exactly what its publisher wrote, and the numbers
     * a thread got increase with its own publishing order. */
    int seen[NTHREADS * PER_THREAD + 1] = {0};
    for (int t = 0; t < NTHREADS; t++) {
        for (int i = 0; i < PER_THREAD; i++) {
            long ver = args[t].got[i];
            REQUIRE(ver >= 1 && ver <= NTHREADS * PER_THREAD);
            seen[ver]++;
            int64_t who[2];
            CHECK(read_who(dir, ver, who) == 0);
            CHECK(who[0] == 1000 + t && who[1] == i);
            if (i > 0)
                CHECK(ver > args[t].got[i - 1]);
        }
    }
    for (int k = 1; k <= NTHREADS * PER_THREAD; k++)
        CHECK(seen[k] == 1);
}

int main(void)
{
    snprintf(base, sizeof base, "/tmp/mp_registry_test_XXXXXX");
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 1;
    }
    RUN(test_versions_and_latest);
    RUN(test_resolve);
    RUN(test_publish_failure);
    RUN(test_concurrent_publish);
    mp_remove_tree(base);
    return TEST_SUMMARY();
}
