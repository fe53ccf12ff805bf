/* Hyper-parameters given as NAME=VALUE strings (`--param k=5`).
 *
 * An algorithm reads the ones it knows with the typed getters, which mark
 * them used and validate range and type; mp_params_check_unused then rejects
 * anything left over, naming the known parameters. */
#ifndef MP_ML_PARAMS_H
#define MP_ML_PARAMS_H

#include <stddef.h>

#include "core/error.h"

typedef struct mp_params {
    size_t n;
    char **names;
    char **values;
    unsigned char *used;
} mp_params;

/* Adds "name=value"; a repeated name replaces the earlier value. */
int mp_params_add(mp_params *p, const char *name_eq_value, mp_error *e);
int mp_params_set(mp_params *p, const char *name, const char *value);
/* The raw value of name or NULL (marks it used). */
const char *mp_params_get(mp_params *p, const char *name);
int mp_param_int(mp_params *p, const char *name, long def, long min, long max, long *out,
                 mp_error *e);
int mp_param_double(mp_params *p, const char *name, double def, double min, double max,
                    double *out, mp_error *e);
/* One of a NULL-terminated list of choices; *out is the index. */
int mp_param_choice(mp_params *p, const char *name, const char *const *choices, int def,
                    int *out, mp_error *e);
/* MP_EINVAL naming the first unused parameter and the known names. */
int mp_params_check_unused(const mp_params *p, const char *algo, const char *const *known,
                           mp_error *e);
void mp_params_free(mp_params *p);

#endif
