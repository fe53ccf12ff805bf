/* Loading user-defined functions from shared libraries: every *.so of an
 * extension directory, in name order, as ksqlDB loads every jar of its
 * ksql.extension.dir at start.
 *
 * A library is loaded once per process (keyed by its real path) and never
 * unloaded: running queries hold pointers into it, and ksqlDB too needs a
 * restart to pick up a changed jar. The cache also means a second engine
 * over the same directory does not run an entry point twice. A library
 * that fails is not cached, so the next attempt reports it again. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sql/udf.h"

typedef struct loaded {
    char *real; /* realpath of the file */
    void *handle;
    mp_udf_lib *lib;
    struct loaded *next;
} loaded;

static pthread_mutex_t load_mu = PTHREAD_MUTEX_INITIALIZER;
static loaded *cache;

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* The *.so names in dir (not hidden ones), sorted. */
static int list_libs(const char *dir, char ***out, size_t *nout, mp_error *e)
{
    *out = NULL;
    *nout = 0;
    DIR *d = opendir(dir);
    if (!d) {
        int err = errno;
        return mp_error_set(e, err == ENOENT ? MP_ENOTFOUND : err == ENOTDIR ? MP_EINVAL : MP_EIO,
                            "extension directory '%s': %s", dir, strerror(err));
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    errno = 0;
    while (!rc && (de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (de->d_name[0] == '.' || len < 4 || strcmp(de->d_name + len - 3, ".so"))
            continue;
        if (n == cap) {
            size_t nc = cap ? 2 * cap : 8;
            char **g = realloc(names, nc * sizeof *g);
            if (!g) {
                rc = mp_error_set(e, MP_ENOMEM, "out of memory");
                break;
            }
            names = g;
            cap = nc;
        }
        if (!(names[n] = strdup(de->d_name)))
            rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        else
            n++;
    }
    if (!rc && errno)
        rc = mp_error_set(e, MP_EIO, "extension directory '%s': %s", dir, strerror(errno));
    closedir(d);
    if (rc) {
        free_names(names, n);
        return rc;
    }
    if (n)
        qsort(names, n, sizeof *names, by_name);
    *out = names;
    *nout = n;
    return 0;
}

/* dlopen + checks + entry point; the caller holds load_mu. */
static int load_one(const char *path, const char *real, const mp_udf_lib **out, mp_error *e)
{
    for (loaded *l = cache; l; l = l->next)
        if (!strcmp(l->real, real)) {
            *out = l->lib;
            return 0;
        }
    dlerror();
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        return mp_error_set(e, MP_EINVAL, "%s: cannot load: %s", path, why ? why : "unknown error");
    }
    int rc;
    mp_udf_lib *lib = NULL;
    /* dlsym returns object pointers; the entry point is reached through a
     * union rather than a cast, which ISO C leaves undefined. */
    union {
        void *p;
        mp_udf_init_fn fn;
    } init = {dlsym(h, "mlpipe_udf_init")};
    const int *version = dlsym(h, "mlpipe_udf_api_version");
    if (!init.p)
        rc = mp_error_set(e, MP_EINVAL, "%s: not an mlpipe extension: it does not export "
                          "mlpipe_udf_init", path);
    else if (!version)
        rc = mp_error_set(e, MP_EINVAL, "%s: does not say which UDF API it was built for "
                          "(write MP_UDF_MODULE; in one of its sources)", path);
    else if (*version != MP_UDF_API_VERSION)
        rc = mp_error_set(e, MP_EINVAL, "%s: built for UDF API version %d, but this mlpipe "
                          "supports version %d: rebuild it against this mlpipe_udf.h", path,
                          *version, MP_UDF_API_VERSION);
    else
        rc = mp_udf_lib_build(init.fn, path, &lib, e);
    loaded *l = NULL;
    if (!rc && (!(l = calloc(1, sizeof *l)) || !(l->real = strdup(real)))) {
        free(l);
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    if (rc) {
        mp_udf_lib_free(lib);
        dlclose(h);
        return rc;
    }
    l->handle = h;
    l->lib = lib;
    l->next = cache;
    cache = l;
    *out = lib;
    return 0;
}

int mp_udf_load_dir(mp_fn_registry *r, const char *dir, mp_error *e)
{
    if (!r || !dir || !*dir)
        return mp_error_set(e, MP_EINVAL, "extension directory: none given");
    char **names = NULL;
    size_t n = 0;
    int rc = list_libs(dir, &names, &n, e);
    if (rc)
        return rc;
    const mp_udf_lib **libs = calloc(n ? n : 1, sizeof *libs);
    if (!libs) {
        free_names(names, n);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    size_t dlen = strlen(dir);
    int slash = dir[dlen - 1] != '/';
    pthread_mutex_lock(&load_mu);
    for (size_t i = 0; i < n && !rc; i++) {
        char *path = malloc(dlen + (size_t)slash + strlen(names[i]) + 1), *real = NULL;
        if (!path) {
            rc = mp_error_set(e, MP_ENOMEM, "out of memory");
            break;
        }
        strcpy(path, dir);
        if (slash)
            strcat(path, "/");
        strcat(path, names[i]);
        struct stat st;
        /* a dangling link or a directory called x.so is not a library */
        bool skip = stat(path, &st) || !S_ISREG(st.st_mode);
        if (skip)
            libs[i] = NULL;
        else if (!(real = realpath(path, NULL)))
            rc = mp_error_set(e, MP_EIO, "%s: %s", path, strerror(errno));
        else
            rc = load_one(path, real, &libs[i], e);
        free(real);
        free(path);
    }
    /* skipped entries left holes: close them up */
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (libs[i])
            libs[m++] = libs[i];
    if (!rc)
        rc = mp_udf_libs_register(r, libs, m, e);
    pthread_mutex_unlock(&load_mu);
    free(libs);
    free_names(names, n);
    return rc;
}
