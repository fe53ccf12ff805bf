/* The function registry: definitions kept sorted by name (ASCII
 * case-insensitive) in one array, so lookup is a binary search and
 * SHOW FUNCTIONS is a copy. A few hundred entries, registered at start
 * and when extensions load; a read-write lock lets lookups run
 * concurrently with an extension registering. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sql/fn_builtin.h"
#include "sql/sql_func.h"

struct mp_fn_registry {
    pthread_rwlock_t lock;
    const mp_fn_def **defs;
    size_t n, cap;
};

/* Position of name, or where it would go (*found says which). */
static size_t find_pos(const mp_fn_registry *r, const char *name, int *found)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcasecmp(r->defs[mid]->name, name);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static int check_def(const mp_fn_def *def, mp_error *e)
{
    if (!def || !def->name || !def->name[0])
        return mp_error_set(e, MP_EINVAL, "function registry: a function needs a name");
    for (const char *p = def->name; *p; p++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return mp_error_set(e, MP_EINVAL,
                                "function registry: '%s' is not a valid function name", def->name);
    }
    if (def->name[0] >= '0' && def->name[0] <= '9')
        return mp_error_set(e, MP_EINVAL, "function registry: '%s' is not a valid function name",
                            def->name);
    const void *impl = def->kind == MP_FN_SCALAR      ? (const void *)def->scalar
                       : def->kind == MP_FN_AGGREGATE ? (const void *)def->aggregate
                       : def->kind == MP_FN_TABLE     ? (const void *)def->table
                                                      : NULL;
    if (!impl)
        return mp_error_set(e, MP_EINVAL, "function registry: %s has no bind function for its kind",
                            def->name);
    if (def->ndocs && !def->docs)
        return mp_error_set(e, MP_EINVAL, "function registry: %s: ndocs without docs", def->name);
    return 0;
}

static int insert_locked(mp_fn_registry *r, const mp_fn_def *def, int replace, mp_error *e)
{
    int found;
    size_t pos = find_pos(r, def->name, &found);
    if (found) {
        if (!replace)
            return mp_error_set(e, MP_EEXIST, "function %s already exists", def->name);
        r->defs[pos] = def;
        return 0;
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        const mp_fn_def **d = realloc(r->defs, cap * sizeof *d);
        if (!d)
            return mp_error_set(e, MP_ENOMEM, "function registry: out of memory");
        r->defs = d;
        r->cap = cap;
    }
    memmove(&r->defs[pos + 1], &r->defs[pos], (r->n - pos) * sizeof *r->defs);
    r->defs[pos] = def;
    r->n++;
    return 0;
}

int mp_fn_register(mp_fn_registry *r, const mp_fn_def *def, int replace, mp_error *e)
{
    if (!r)
        return mp_error_set(e, MP_EINVAL, "function registry: no registry");
    int rc = check_def(def, e);
    if (rc)
        return rc;
    pthread_rwlock_wrlock(&r->lock);
    rc = insert_locked(r, def, replace, e);
    pthread_rwlock_unlock(&r->lock);
    return rc;
}

int mp_fn_registry_new(mp_fn_registry **out, mp_error *e)
{
    *out = NULL;
    mp_fn_registry *r = calloc(1, sizeof *r);
    if (!r)
        return mp_error_set(e, MP_ENOMEM, "function registry: out of memory");
    if (pthread_rwlock_init(&r->lock, NULL)) {
        free(r);
        return mp_error_set(e, MP_ENOMEM, "function registry: cannot create its lock");
    }
    static const struct {
        const mp_fn_def *defs;
        const size_t *n;
    } tables[] = {
        {mp_fn_math_defs, &mp_fn_math_count},
        {mp_fn_string_defs, &mp_fn_string_count},
        {mp_fn_convert_defs, &mp_fn_convert_count},
        {mp_fn_datetime_defs, &mp_fn_datetime_count},
        {mp_fn_json_defs, &mp_fn_json_count},
        {mp_fn_collections_defs, &mp_fn_collections_count},
        {mp_fn_null_defs, &mp_fn_null_count},
        {mp_fn_aggregate_defs, &mp_fn_aggregate_count},
        {mp_fn_table_defs, &mp_fn_table_count},
        {mp_fn_lambda_defs, &mp_fn_lambda_count},
    };
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
        for (size_t i = 0; i < *tables[t].n; i++) {
            /* a duplicate among the built-ins is a bug: refuse loudly */
            int rc = mp_fn_register(r, &tables[t].defs[i], 0, e);
            if (rc) {
                mp_fn_registry_free(r);
                return rc;
            }
        }
    }
    *out = r;
    return 0;
}

void mp_fn_registry_free(mp_fn_registry *r)
{
    if (!r)
        return;
    pthread_rwlock_destroy(&r->lock);
    free(r->defs);
    free(r);
}

const mp_fn_def *mp_fn_lookup(const mp_fn_registry *r, const char *name)
{
    if (!r || !name)
        return NULL;
    mp_fn_registry *w = (mp_fn_registry *)r; /* the lock is not part of the value */
    pthread_rwlock_rdlock(&w->lock);
    int found;
    size_t pos = find_pos(r, name, &found);
    const mp_fn_def *d = found ? r->defs[pos] : NULL;
    pthread_rwlock_unlock(&w->lock);
    return d;
}

const mp_fn_def **mp_fn_list(const mp_fn_registry *r, size_t *n)
{
    *n = 0;
    if (!r)
        return NULL;
    mp_fn_registry *w = (mp_fn_registry *)r;
    pthread_rwlock_rdlock(&w->lock);
    const mp_fn_def **copy = malloc((r->n ? r->n : 1) * sizeof *copy);
    if (copy) {
        memcpy(copy, r->defs, r->n * sizeof *copy);
        *n = r->n;
    }
    pthread_rwlock_unlock(&w->lock);
    return copy;
}
