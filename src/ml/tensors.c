#include "ml/tensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t mp_dtype_size(mp_dtype dt)
{
    switch (dt) {
    case MP_DT_F64: return 8;
    case MP_DT_F32: return 4;
    case MP_DT_I64: return 8;
    case MP_DT_I32: return 4;
    case MP_DT_U8: return 1;
    }
    return 0;
}

const char *mp_dtype_name(mp_dtype dt)
{
    switch (dt) {
    case MP_DT_F64: return "F64";
    case MP_DT_F32: return "F32";
    case MP_DT_I64: return "I64";
    case MP_DT_I32: return "I32";
    case MP_DT_U8: return "U8";
    }
    return "?";
}

const mp_tensor *mp_tensors_get(const mp_tensors *b, const char *name)
{
    if (!b || !name)
        return NULL;
    for (size_t i = 0; i < b->n; i++)
        if (!strcmp(b->t[i].name, name))
            return &b->t[i];
    return NULL;
}

/* Formats "[3, 2]" (or "[3, -1]" for an expectation) into out. */
static void format_shape(char *out, size_t n, int ndim, const int64_t *shape)
{
    size_t used = 0;
    used += (size_t)snprintf(out, n, "[");
    for (int i = 0; i < ndim && used < n; i++)
        used += (size_t)snprintf(out + used, n - used, "%s%lld", i ? ", " : "",
                                 shape ? (long long)shape[i] : -1LL);
    if (used < n)
        snprintf(out + used, n - used, "]");
}

int mp_tensors_add(mp_tensors *b, const char *name, mp_dtype dt, int ndim, const int64_t *shape,
                   const void *data, mp_error *e)
{
    if (!b || !name || !*name)
        return mp_error_set(e, MP_EINVAL, "tensor name is empty");
    /* The safetensors header reserves this key for the metadata object. */
    if (!strcmp(name, "__metadata__"))
        return mp_error_set(e, MP_EINVAL, "tensor name '__metadata__' is reserved");
    size_t esize = mp_dtype_size(dt);
    if (esize == 0)
        return mp_error_set(e, MP_EINVAL, "tensor '%s': unknown dtype %d", name, (int)dt);
    if (ndim < 0 || ndim > MP_TENSOR_MAX_DIMS)
        return mp_error_set(e, MP_EINVAL, "tensor '%s': rank %d is outside 0..%d", name, ndim,
                            MP_TENSOR_MAX_DIMS);
    if (ndim > 0 && !shape)
        return mp_error_set(e, MP_EINVAL, "tensor '%s': no shape given", name);
    /* An extent of 0 makes the tensor empty whatever the other extents are,
     * so check for it before multiplying (which could overflow first). */
    int empty = 0;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return mp_error_set(e, MP_EINVAL, "tensor '%s': negative extent %lld", name,
                                (long long)shape[i]);
        if (shape[i] == 0)
            empty = 1;
    }
    size_t nelems = 1;
    if (empty) {
        nelems = 0;
    } else {
        for (int i = 0; i < ndim; i++) {
            if ((uint64_t)shape[i] > SIZE_MAX / esize / nelems)
                return mp_error_set(e, MP_EINVAL, "tensor '%s': shape too large", name);
            nelems *= (size_t)shape[i];
        }
    }
    if (nelems > 0 && !data)
        return mp_error_set(e, MP_EINVAL, "tensor '%s': no data given", name);
    if (mp_tensors_get(b, name))
        return mp_error_set(e, MP_EEXIST, "tensor '%s' already exists", name);

    /* Never NULL, even when empty, so callers may pass it to memcpy. */
    size_t nbytes = nelems * esize;
    void *copy = malloc(nbytes ? nbytes : 1);
    char *namecopy = strdup(name);
    mp_tensor *grown = realloc(b->t, (b->n + 1) * sizeof *b->t);
    if (grown)
        b->t = grown;
    if (!copy || !namecopy || !grown) {
        free(copy);
        free(namecopy);
        return mp_error_set(e, MP_ENOMEM, "tensor '%s': out of memory", name);
    }
    if (nbytes)
        memcpy(copy, data, nbytes);
    mp_tensor *t = &b->t[b->n++];
    memset(t, 0, sizeof *t);
    t->name = namecopy;
    t->dtype = dt;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        t->shape[i] = shape[i];
    t->nelems = nelems;
    t->data = copy;
    return 0;
}

int mp_tensors_expect(const mp_tensors *b, const char *name, mp_dtype dt, int ndim,
                      const int64_t *shape, const mp_tensor **out, mp_error *e)
{
    const mp_tensor *t = mp_tensors_get(b, name);
    if (!t)
        return mp_error_set(e, MP_EFORMAT, "missing tensor '%s'", name ? name : "(null)");
    int ok = t->dtype == dt && t->ndim == ndim;
    for (int i = 0; ok && shape && i < ndim; i++)
        if (shape[i] != -1 && shape[i] != t->shape[i])
            ok = 0;
    if (!ok) {
        char want[256], got[256];
        int wdim = ndim < 0 ? 0 : ndim > MP_TENSOR_MAX_DIMS ? MP_TENSOR_MAX_DIMS : ndim;
        format_shape(want, sizeof want, wdim, shape);
        format_shape(got, sizeof got, t->ndim, t->shape);
        return mp_error_set(e, MP_EFORMAT, "tensor '%s': expected %s of shape %s, found %s of shape %s",
                            name, mp_dtype_name(dt), want, mp_dtype_name(t->dtype), got);
    }
    if (out)
        *out = t;
    return 0;
}

int mp_tensors_set_meta(mp_tensors *b, const char *key, const char *val)
{
    if (!b || !key || !val)
        return MP_EINVAL;
    char *v = strdup(val);
    if (!v)
        return MP_ENOMEM;
    for (size_t i = 0; i < b->nmeta; i++) {
        if (!strcmp(b->meta_keys[i], key)) {
            free(b->meta_vals[i]);
            b->meta_vals[i] = v;
            return 0;
        }
    }
    char *k = strdup(key);
    char **nk = realloc(b->meta_keys, (b->nmeta + 1) * sizeof *nk);
    if (nk)
        b->meta_keys = nk;
    char **nv = realloc(b->meta_vals, (b->nmeta + 1) * sizeof *nv);
    if (nv)
        b->meta_vals = nv;
    if (!k || !nk || !nv) {
        free(k);
        free(v);
        return MP_ENOMEM;
    }
    b->meta_keys[b->nmeta] = k;
    b->meta_vals[b->nmeta] = v;
    b->nmeta++;
    return 0;
}

const char *mp_tensors_meta(const mp_tensors *b, const char *key)
{
    if (!b || !key)
        return NULL;
    for (size_t i = 0; i < b->nmeta; i++)
        if (!strcmp(b->meta_keys[i], key))
            return b->meta_vals[i];
    return NULL;
}

void mp_tensors_free(mp_tensors *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++) {
        free(b->t[i].name);
        free(b->t[i].data);
    }
    free(b->t);
    for (size_t i = 0; i < b->nmeta; i++) {
        free(b->meta_keys[i]);
        free(b->meta_vals[i]);
    }
    free(b->meta_keys);
    free(b->meta_vals);
    memset(b, 0, sizeof *b);
}
