/* A dataset: feature columns as a dense double matrix with column metadata,
 * row ids, and an optional target. Built from a CSV table or an IDX file.
 *
 * Categorical (string) columns are stored as level indexes into the
 * column's own `levels`; mapping levels to a model's training levels is the
 * preprocessing step's job (src/ml). Missing feature cells are NaN.
 * Ownership: the dataset owns everything it points to. */
#ifndef MP_DATA_DATASET_H
#define MP_DATA_DATASET_H

#include <stddef.h>

#include "core/error.h"
#include "data/table.h"

typedef enum { MP_COL_NUMERIC = 0, MP_COL_CATEGORICAL = 1 } mp_col_kind;

typedef enum {
    MP_MISSING_ERROR = 0, /* a missing cell is an input error (file:line:column) */
    MP_MISSING_DROP = 1,  /* rows with a missing feature or target are dropped */
    MP_MISSING_MEAN = 2,  /* missing features stay NaN, imputed by the model; rows
                             with a missing target are dropped */
} mp_missing_policy;

typedef struct mp_column {
    char *name;
    mp_col_kind kind;
    size_t nlevels; /* categorical only */
    char **levels;  /* categorical only: level strings in first-seen order */
} mp_column;

typedef struct mp_dataset {
    char *source;
    size_t nrows;
    size_t ncols; /* feature columns (id and target excluded) */
    mp_column *cols;
    double *X;    /* nrows*ncols row-major; NaN marks a missing cell */
    char *id_name; /* the id column's name ("id" when generated) */
    char **ids;    /* nrows id strings; generated "0".."n-1" without an id column */
    char *target_name; /* NULL when there is no target */
    char **y_text;     /* nrows target cells as written, or NULL */
    double *y;         /* nrows numeric target values (NaN when not a number), or NULL */
    int y_numeric;     /* 1 when every target cell is a number */
    size_t nimage_dims; /* IDX images: 2 or 3 (rows, cols[, channels]) else 0 */
    size_t image_dims[3];
    size_t ndropped;    /* rows dropped by MP_MISSING_DROP */
    size_t nmissing;    /* feature cells kept as NaN (missing) */
} mp_dataset;

typedef struct mp_load_opts {
    char delimiter;         /* 0: auto-detect */
    const char *target;     /* target column name, or NULL */
    int target_optional;    /* 1: a target column that is absent is not an error */
    const char *id;         /* id column name, or NULL to number rows from 0 */
    mp_missing_policy missing;
    size_t limit;           /* keep only the first `limit` rows; 0 keeps all */
    const char *labels;     /* IDX label file for IDX image data, or NULL */
    /* When set, the features are exactly these columns in this order with
     * these kinds (a model's input schema): other columns are ignored and an
     * absent one is an error. Levels in the schema are not used here. */
    const mp_column *schema;
    size_t nschema;
    /* Column names forced to be categorical during inference. */
    const char *const *categorical;
    size_t ncategorical;
} mp_load_opts;

/* Loads CSV or IDX (detected from the file's magic number, gzip or not). */
int mp_dataset_load(const char *path, const mp_load_opts *o, mp_dataset **out, mp_error *e);
int mp_dataset_from_table(const mp_table *t, const mp_load_opts *o, mp_dataset **out, mp_error *e);

/* Reads an IDX label file (idx1, unsigned bytes) into n labels. */
int mp_idx_read_labels(const char *path, size_t limit, int **labels, size_t *n, mp_error *e);
/* 1 if the file (possibly gzip) starts with an IDX magic number. */
int mp_is_idx_file(const char *path);

/* Column index of a feature called name, or -1. */
int mp_dataset_find(const mp_dataset *d, const char *name);
void mp_dataset_destroy(mp_dataset *d);

#endif
