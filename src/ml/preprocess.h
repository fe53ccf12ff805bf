/* Preprocessing fitted on training rows and saved with the model: missing
 * value imputation, scaling of numeric columns, and encoding of categorical
 * columns (one-hot, or raw level codes for algorithms that want them).
 *
 * Columns are matched by name at transform time, and categorical levels by
 * their text, so a prediction file may order its columns differently and
 * may hold levels in any order. A level unseen in training encodes as all
 * zeros (one-hot) or code -1 (raw) and is counted. Not thread-safe to fit;
 * a fitted mp_prep is immutable and may be used by several threads. */
#ifndef MP_ML_PREPROCESS_H
#define MP_ML_PREPROCESS_H

#include <stddef.h>

#include "core/strmap.h"
#include "data/dataset.h"
#include "ml/tensors.h"

typedef enum { MP_SCALE_NONE = 0, MP_SCALE_STANDARD = 1, MP_SCALE_MINMAX = 2 } mp_scale;

typedef struct mp_prep_col {
    char *name;
    mp_col_kind kind;
    double fill;   /* numeric: training mean; categorical: index of the most frequent level */
    double center; /* numeric: x' = (x - center) / scale */
    double scale;
    size_t nlevels; /* categorical */
    char **levels;
    mp_strmap *index; /* level text -> index */
    size_t out;       /* first output feature */
} mp_prep_col;

typedef struct mp_prep {
    size_t ncols;
    mp_prep_col *cols;
    mp_scale scale;
    mp_missing_policy missing;
    int onehot;      /* 1: one-hot; 0: raw codes */
    size_t nout;     /* output features */
    size_t *ncats;   /* nout entries: 0 numeric, k for a raw categorical code */
} mp_prep;

/* Fits on the rows of d listed in rows[0..n) (all rows when rows is NULL). */
int mp_prep_fit(mp_prep *p, const mp_dataset *d, const size_t *rows, size_t n, mp_scale scale,
                mp_missing_policy missing, int onehot, mp_error *e);
/* Writes n*nout features for the given rows of d (all when rows is NULL)
 * into a new array *X (caller frees). Missing numeric cells are imputed
 * when `impute` is set, and an error naming row and column otherwise.
 * *unseen (may be NULL) receives the number of unseen categorical cells. */
int mp_prep_transform(const mp_prep *p, const mp_dataset *d, const size_t *rows, size_t n,
                      int impute, double **X, size_t *unseen, mp_error *e);
/* When transforming rows[0..n) of d (all rows when rows is NULL) would
 * copy a contiguous block of d->X unchanged (numeric columns in the same
 * order, no scaling, no missing cells, consecutive rows), returns that
 * block, which callers may use instead; NULL otherwise. */
const double *mp_prep_passthrough(const mp_prep *p, const mp_dataset *d, const size_t *rows,
                                  size_t n);
/* Saves as tensors "prep.fill", "prep.center", "prep.scale" and metadata
 * "input_schema" (JSON list of {name, type, levels}) and "preprocessing". */
int mp_prep_save(const mp_prep *p, mp_tensors *b, mp_error *e);
int mp_prep_load(mp_prep *p, const mp_tensors *b, mp_error *e);
/* The input schema as dataset columns (for mp_load_opts.schema); the
 * columns point into p and live as long as it. Caller frees the array. */
mp_column *mp_prep_schema(const mp_prep *p);
void mp_prep_free(mp_prep *p);

const char *mp_scale_name(mp_scale s);
const char *mp_missing_name(mp_missing_policy m);

#endif
