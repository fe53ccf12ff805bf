#include "ml/params.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

static int find(const mp_params *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->names[i], name))
            return (int)i;
    return -1;
}

int mp_params_set(mp_params *p, const char *name, const char *value)
{
    int i = find(p, name);
    if (i >= 0) {
        char *v = strdup(value);
        if (!v)
            return MP_ENOMEM;
        free(p->values[i]);
        p->values[i] = v;
        return 0;
    }
    size_t n = p->n + 1;
    char **nn = realloc(p->names, n * sizeof *nn);
    if (!nn)
        return MP_ENOMEM;
    p->names = nn;
    char **vv = realloc(p->values, n * sizeof *vv);
    if (!vv)
        return MP_ENOMEM;
    p->values = vv;
    unsigned char *uu = realloc(p->used, n);
    if (!uu)
        return MP_ENOMEM;
    p->used = uu;
    p->names[p->n] = strdup(name);
    p->values[p->n] = strdup(value);
    p->used[p->n] = 0;
    if (!p->names[p->n] || !p->values[p->n]) {
        free(p->names[p->n]);
        free(p->values[p->n]);
        return MP_ENOMEM;
    }
    p->n = n;
    return 0;
}

int mp_params_add(mp_params *p, const char *s, mp_error *e)
{
    const char *eq = strchr(s, '=');
    if (!eq || eq == s || !eq[1])
        return mp_error_set(e, MP_EINVAL, "parameter '%s' is not NAME=VALUE", s);
    char name[128];
    size_t len = (size_t)(eq - s);
    if (len >= sizeof name)
        return mp_error_set(e, MP_EINVAL, "parameter name too long in '%s'", s);
    memcpy(name, s, len);
    name[len] = '\0';
    if (mp_params_set(p, name, eq + 1))
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    return 0;
}

const char *mp_params_get(mp_params *p, const char *name)
{
    int i = find(p, name);
    if (i < 0)
        return NULL;
    p->used[i] = 1;
    return p->values[i];
}

int mp_param_int(mp_params *p, const char *name, long def, long min, long max, long *out,
                 mp_error *e)
{
    const char *v = mp_params_get(p, name);
    if (!v) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || *end || end == v)
        return mp_error_set(e, MP_EINVAL, "parameter %s=%s: expected an integer", name, v);
    if (x < min || x > max)
        return mp_error_set(e, MP_EINVAL, "parameter %s=%s: must be between %ld and %ld", name, v,
                            min, max);
    *out = x;
    return 0;
}

int mp_param_double(mp_params *p, const char *name, double def, double min, double max,
                    double *out, mp_error *e)
{
    const char *v = mp_params_get(p, name);
    if (!v) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || *end || end == v || !isfinite(x))
        return mp_error_set(e, MP_EINVAL, "parameter %s=%s: expected a number", name, v);
    if (x < min || x > max)
        return mp_error_set(e, MP_EINVAL, "parameter %s=%s: must be between %g and %g", name, v,
                            min, max);
    *out = x;
    return 0;
}

int mp_param_choice(mp_params *p, const char *name, const char *const *choices, int def,
                    int *out, mp_error *e)
{
    const char *v = mp_params_get(p, name);
    if (!v) {
        *out = def;
        return 0;
    }
    mp_buf known = {0};
    for (int i = 0; choices[i]; i++) {
        if (!strcmp(choices[i], v)) {
            *out = i;
            mp_buf_free(&known);
            return 0;
        }
        mp_buf_printf(&known, "%s%s", i ? ", " : "", choices[i]);
    }
    mp_error_set(e, MP_EINVAL, "parameter %s=%s: expected one of %s", name, v,
                 known.data ? known.data : "");
    mp_buf_free(&known);
    return MP_EINVAL;
}

int mp_params_check_unused(const mp_params *p, const char *algo, const char *const *known,
                           mp_error *e)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->used[i])
            continue;
        mp_buf k = {0};
        for (int j = 0; known && known[j]; j++)
            mp_buf_printf(&k, "%s%s", j ? ", " : "", known[j]);
        mp_error_set(e, MP_EINVAL, "unknown parameter '%s' for %s (known: %s)", p->names[i], algo,
                     k.data ? k.data : "none");
        mp_buf_free(&k);
        return MP_EINVAL;
    }
    return 0;
}

void mp_params_free(mp_params *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->names[i]);
        free(p->values[i]);
    }
    free(p->names);
    free(p->values);
    free(p->used);
    memset(p, 0, sizeof *p);
}
