/* A named bag of tensors plus string metadata: the in-memory form of a
 * model file. Algorithms save their state into a bag and load it back; the
 * safetensors codec (safetensors.h) turns a bag into bytes and back.
 *
 * Ownership: the bag owns copies of every name, value and tensor buffer. */
#ifndef MP_ML_TENSORS_H
#define MP_ML_TENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef enum { MP_DT_F64, MP_DT_F32, MP_DT_I64, MP_DT_I32, MP_DT_U8 } mp_dtype;

#define MP_TENSOR_MAX_DIMS 8

typedef struct mp_tensor {
    char *name;
    mp_dtype dtype;
    int ndim;
    int64_t shape[MP_TENSOR_MAX_DIMS];
    size_t nelems;
    void *data; /* nelems elements of dtype, naturally aligned */
} mp_tensor;

typedef struct mp_tensors {
    size_t n;
    mp_tensor *t;
    size_t nmeta;
    char **meta_keys;
    char **meta_vals;
} mp_tensors;

size_t mp_dtype_size(mp_dtype dt);
const char *mp_dtype_name(mp_dtype dt); /* safetensors names: "F64", "F32", "I64", "I32", "U8" */

/* Adds a tensor, copying name and data. A duplicate name is MP_EEXIST. */
int mp_tensors_add(mp_tensors *b, const char *name, mp_dtype dt, int ndim, const int64_t *shape,
                   const void *data, mp_error *e);
/* The tensor called name or NULL. */
const mp_tensor *mp_tensors_get(const mp_tensors *b, const char *name);
/* Finds name and checks its dtype, rank and shape (-1 in `shape` matches any
 * extent); MP_EFORMAT naming the tensor and what was expected otherwise. */
int mp_tensors_expect(const mp_tensors *b, const char *name, mp_dtype dt, int ndim,
                      const int64_t *shape, const mp_tensor **out, mp_error *e);
/* Sets (or replaces) a metadata string. */
int mp_tensors_set_meta(mp_tensors *b, const char *key, const char *val);
/* A metadata string or NULL. */
const char *mp_tensors_meta(const mp_tensors *b, const char *key);
void mp_tensors_free(mp_tensors *b);

#endif
