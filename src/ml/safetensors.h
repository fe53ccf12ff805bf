/* The safetensors file layout: 8-byte little-endian header length N, N bytes
 * of JSON mapping each tensor name to {dtype, shape, data_offsets} plus a
 * "__metadata__" object of string->string, then the raw little-endian
 * tensor bytes. Any safetensors reader can read what we write.
 *
 * Decoding validates everything before trusting it: header length within
 * the file, well-formed JSON, known dtypes, shapes whose byte size matches
 * the offsets, offsets in bounds, in order and covering the data section
 * exactly, and no trailing bytes. Violations are MP_EFORMAT with a message
 * naming the source and what is wrong. */
#ifndef MP_ML_SAFETENSORS_H
#define MP_ML_SAFETENSORS_H

#include <stddef.h>

#include "core/buf.h"
#include "core/error.h"
#include "ml/tensors.h"

int mp_safetensors_encode(const mp_tensors *b, mp_buf *out, mp_error *e);
/* Fills an empty bag from bytes; `source` names them in messages. */
int mp_safetensors_decode(const char *source, const void *data, size_t len, mp_tensors *b,
                          mp_error *e);
/* Encode + mp_write_atomic. */
int mp_safetensors_write(const char *path, const mp_tensors *b, mp_error *e);
int mp_safetensors_read(const char *path, mp_tensors *b, mp_error *e);

#endif
