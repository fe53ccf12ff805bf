/* Entry points shared by the readers in src/data only (not a public
 * interface): mp_dataset_load reads a file once and hands the bytes to the
 * CSV or the IDX reader, so that a large file is neither read twice nor
 * copied. */
#ifndef MP_DATA_READER_INTERNAL_H
#define MP_DATA_READER_INTERNAL_H

#include <stddef.h>

#include "core/error.h"
#include "data/dataset.h"
#include "data/table.h"

/* Like mp_csv_parse, but takes ownership of buf (malloc'd, NUL at buf[len]),
 * which it parses in place and keeps as the table's text; buf is freed on
 * error. */
int mp_csv_parse_owned(const char *source, char *buf, size_t len, char delim, mp_table **out,
                       mp_error *e);

/* 1 if the bytes start with an IDX magic number (00 00 type ndims). */
int mp_idx_has_magic(const unsigned char *p, size_t len);

/* Builds a dataset from the bytes of an IDX image file (already gunzipped);
 * path names it in messages and o->labels names its label file. */
int mp_idx_load_images(const char *path, const unsigned char *data, size_t len,
                       const mp_load_opts *o, mp_dataset **out, mp_error *e);

#endif
