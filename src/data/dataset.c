/* Datasets from tables: choosing the id, target and feature columns,
 * inferring column kinds, applying the missing-value policy and the row
 * limit. Errors point at the offending cell as file:line:column. */
#include "data/dataset.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/fileio.h"
#include "core/strmap.h"
#include "data/reader_internal.h"

/* Error naming a column that is not there, listing those that are. */
static int no_column(const mp_table *t, const char *name, mp_error *e)
{
    mp_buf b = {0};
    size_t shown = t->ncols < 30 ? t->ncols : 30;
    for (size_t i = 0; i < shown; i++) {
        if (i)
            mp_buf_puts(&b, ", ");
        mp_buf_puts(&b, t->names[i]);
    }
    if (shown < t->ncols)
        mp_buf_printf(&b, ", ... (%zu in all)", t->ncols);
    int rc;
    if (b.oom)
        rc = mp_error_set(e, MP_ENOMEM, "%s: out of memory", t->source);
    else
        rc = mp_error_set(e, MP_EINPUT, "%s: no column '%s' (columns: %s)", t->source, name,
                          b.data ? b.data : "");
    mp_buf_free(&b);
    return rc;
}

static int missing_error(const mp_table *t, size_t r, size_t c, mp_error *e)
{
    size_t k = r * t->ncols + c;
    return mp_error_set(e, MP_EINPUT,
                        "%s:%u:%u: missing value in column '%s' (use --missing drop or --missing "
                        "mean)",
                        t->source, t->line[k], t->col[k], t->names[c]);
}

static int number_error(const mp_table *t, size_t r, size_t c, mp_error *e)
{
    size_t k = r * t->ncols + c;
    const char *s = mp_table_cell(t, r, c);
    size_t n = strlen(s);
    return mp_error_set(e, MP_EINPUT, "%s:%u:%u: cannot parse '%.*s%s' as a number in column '%s'",
                        t->source, t->line[k], t->col[k], n > 60 ? 60 : (int)n, s,
                        n > 60 ? "..." : "", t->names[c]);
}

void mp_dataset_destroy(mp_dataset *d)
{
    if (!d)
        return;
    for (size_t j = 0; d->cols && j < d->ncols; j++) {
        free(d->cols[j].name);
        for (size_t k = 0; d->cols[j].levels && k < d->cols[j].nlevels; k++)
            free(d->cols[j].levels[k]);
        free(d->cols[j].levels);
    }
    free(d->cols);
    free(d->X);
    for (size_t i = 0; d->ids && i < d->nrows; i++)
        free(d->ids[i]);
    free(d->ids);
    for (size_t i = 0; d->y_text && i < d->nrows; i++)
        free(d->y_text[i]);
    free(d->y_text);
    free(d->y);
    free(d->source);
    free(d->id_name);
    free(d->target_name);
    free(d);
}

int mp_dataset_find(const mp_dataset *d, const char *name)
{
    for (size_t j = 0; j < d->ncols; j++)
        if (strcmp(d->cols[j].name, name) == 0)
            return (int)j;
    return -1;
}

/* Turns column j of X into level codes, levels in first-seen order. */
static int fill_levels(const mp_table *t, size_t tc, const size_t *rows, size_t n, mp_dataset *d,
                       size_t j)
{
    mp_column *col = &d->cols[j];
    mp_strmap *map = mp_strmap_create();
    size_t cap = 16;
    col->levels = malloc(cap * sizeof *col->levels);
    if (!map || !col->levels) {
        mp_strmap_destroy(map);
        return MP_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const char *s = mp_table_cell(t, rows[i], tc);
        double *x = &d->X[i * d->ncols + j];
        if (mp_is_missing(s)) {
            *x = NAN;
            d->nmissing++;
            continue;
        }
        int lv = mp_strmap_get(map, s);
        if (lv < 0) {
            if (col->nlevels == cap) {
                char **nl = realloc(col->levels, cap * 2 * sizeof *nl);
                if (!nl)
                    goto oom;
                col->levels = nl;
                cap *= 2;
            }
            lv = (int)col->nlevels;
            col->levels[lv] = strdup(s);
            if (!col->levels[lv] || mp_strmap_put(map, s, lv))
                goto oom_level;
            col->nlevels++;
        }
        *x = (double)lv;
    }
    mp_strmap_destroy(map);
    return 0;
oom_level:
    free(col->levels[col->nlevels]);
oom:
    mp_strmap_destroy(map);
    return MP_ENOMEM;
}

/* Per-feature bookkeeping during type inference. */
typedef struct feat {
    size_t tc;        /* table column */
    int fixed;        /* 1: kind given by the schema or forced categorical */
    mp_col_kind kind;
    size_t nnum, nbad;
    size_t first_bad; /* index into rows of the first non-number */
} feat;

int mp_dataset_from_table(const mp_table *t, const mp_load_opts *o, mp_dataset **out, mp_error *e)
{
    *out = NULL;
    mp_load_opts def = {0};
    if (!o)
        o = &def;
    int ti = -1, ii = -1;
    if (o->target) {
        ti = mp_table_find(t, o->target);
        if (ti < 0 && !o->target_optional)
            return no_column(t, o->target, e);
    }
    if (o->id) {
        ii = mp_table_find(t, o->id);
        if (ii < 0)
            return no_column(t, o->id, e);
        if (ii == ti)
            return mp_error_set(e, MP_EINVAL, "%s: column '%s' cannot be both the id and the target",
                                t->source, o->id);
    }

    /* Choose the features. */
    size_t nf = 0;
    feat *f = calloc(t->ncols + o->nschema + 1, sizeof *f);
    unsigned char *checked = calloc(t->ncols + 1, 1); /* columns whose cells must be present */
    size_t *rows = NULL;
    mp_dataset *d = NULL;
    int rc = 0;
    if (!f || !checked)
        goto oom;
    if (o->schema) {
        for (size_t k = 0; k < o->nschema; k++) {
            int c = mp_table_find(t, o->schema[k].name);
            if (c < 0) {
                rc = no_column(t, o->schema[k].name, e);
                goto done;
            }
            f[nf].tc = (size_t)c;
            f[nf].fixed = 1;
            f[nf].kind = o->schema[k].kind;
            nf++;
        }
    } else {
        for (size_t c = 0; c < t->ncols; c++) {
            if ((int)c == ti || (int)c == ii)
                continue;
            f[nf].tc = c;
            nf++;
        }
        for (size_t k = 0; k < o->ncategorical; k++) {
            int c = mp_table_find(t, o->categorical[k]);
            if (c < 0) {
                rc = no_column(t, o->categorical[k], e);
                goto done;
            }
            for (size_t j = 0; j < nf; j++)
                if (f[j].tc == (size_t)c) {
                    f[j].fixed = 1;
                    f[j].kind = MP_COL_CATEGORICAL;
                }
        }
    }
    for (size_t j = 0; j < nf; j++)
        checked[f[j].tc] = 1;
    if (ti >= 0)
        checked[ti] = 1;

    /* Rows: the limit first, then the missing-value policy. */
    size_t n = t->nrows;
    if (o->limit && o->limit < n)
        n = o->limit;
    rows = malloc((n ? n : 1) * sizeof *rows);
    if (!rows)
        goto oom;
    size_t nkeep = 0, ndropped = 0;
    for (size_t r = 0; r < n; r++) {
        int keep = 1;
        for (size_t c = 0; c < t->ncols && keep; c++) {
            if (!checked[c] || !mp_is_missing(mp_table_cell(t, r, c)))
                continue;
            if (o->missing == MP_MISSING_ERROR) {
                rc = missing_error(t, r, c, e);
                goto done;
            }
            /* MEAN keeps a missing feature as NaN, but a row without a
             * target teaches nothing. */
            if (o->missing == MP_MISSING_DROP || (int)c == ti)
                keep = 0;
        }
        if (keep)
            rows[nkeep++] = r;
        else
            ndropped++;
    }
    if (nkeep == 0) {
        if (ndropped)
            rc = mp_error_set(e, MP_EINPUT, "%s: no data rows (all %zu rows had missing values)",
                              t->source, ndropped);
        else
            rc = mp_error_set(e, MP_EINPUT, "%s: no data rows", t->source);
        goto done;
    }

    d = calloc(1, sizeof *d);
    if (!d)
        goto oom;
    d->nrows = nkeep;
    d->ncols = nf;
    d->ndropped = ndropped;
    d->source = strdup(t->source);
    d->id_name = strdup(o->id ? o->id : "id");
    d->cols = calloc(nf ? nf : 1, sizeof *d->cols);
    size_t nx;
    if (nf && nkeep > SIZE_MAX / sizeof(double) / nf)
        goto oom;
    nx = nkeep * nf;
    d->X = malloc((nx ? nx : 1) * sizeof *d->X);
    d->ids = calloc(nkeep, sizeof *d->ids);
    if (!d->source || !d->id_name || !d->cols || !d->X || !d->ids)
        goto oom;
    for (size_t j = 0; j < nf; j++) {
        d->cols[j].name = strdup(t->names[f[j].tc]);
        if (!d->cols[j].name)
            goto oom;
    }

    /* Numbers, row by row (the layout of both the table and X). */
    for (size_t i = 0; i < nkeep; i++) {
        size_t r = rows[i];
        double *x = d->X + i * nf;
        for (size_t j = 0; j < nf; j++) {
            feat *fj = &f[j];
            if (fj->fixed && fj->kind == MP_COL_CATEGORICAL)
                continue;
            const char *s = mp_table_cell(t, r, fj->tc);
            if (mp_is_missing(s)) {
                x[j] = NAN;
                d->nmissing++;
                continue;
            }
            if (mp_parse_number(s, &x[j])) {
                fj->nnum++;
                continue;
            }
            if (fj->fixed) {
                rc = number_error(t, r, fj->tc, e);
                goto done;
            }
            if (fj->nbad++ == 0)
                fj->first_bad = i;
        }
    }
    /* A column of mostly numbers with a few words is a typo, not a
     * category: report the earliest such cell. */
    size_t bad = SIZE_MAX;
    for (size_t j = 0; j < nf; j++) {
        feat *fj = &f[j];
        if (fj->fixed)
            continue;
        fj->kind = MP_COL_NUMERIC;
        if (fj->nbad == 0)
            continue;
        if (fj->nnum > fj->nbad) {
            if (bad == SIZE_MAX || fj->first_bad < f[bad].first_bad ||
                (fj->first_bad == f[bad].first_bad && fj->tc < f[bad].tc))
                bad = j;
        } else {
            fj->kind = MP_COL_CATEGORICAL;
        }
    }
    if (bad != SIZE_MAX) {
        rc = number_error(t, rows[f[bad].first_bad], f[bad].tc, e);
        goto done;
    }
    for (size_t j = 0; j < nf; j++) {
        d->cols[j].kind = f[j].kind;
        if (f[j].kind == MP_COL_CATEGORICAL && fill_levels(t, f[j].tc, rows, nkeep, d, j))
            goto oom;
    }

    for (size_t i = 0; i < nkeep; i++) {
        if (ii >= 0) {
            d->ids[i] = strdup(mp_table_cell(t, rows[i], (size_t)ii));
        } else {
            char tmp[32];
            snprintf(tmp, sizeof tmp, "%zu", rows[i]);
            d->ids[i] = strdup(tmp);
        }
        if (!d->ids[i])
            goto oom;
    }
    if (ti >= 0) {
        d->target_name = strdup(t->names[ti]);
        d->y_text = calloc(nkeep, sizeof *d->y_text);
        d->y = malloc(nkeep * sizeof *d->y);
        if (!d->target_name || !d->y_text || !d->y)
            goto oom;
        d->y_numeric = 1;
        for (size_t i = 0; i < nkeep; i++) {
            const char *s = mp_table_cell(t, rows[i], (size_t)ti);
            d->y_text[i] = strdup(s);
            if (!d->y_text[i])
                goto oom;
            if (!mp_parse_number(s, &d->y[i])) {
                d->y[i] = NAN;
                d->y_numeric = 0;
            }
        }
    }
    *out = d;
    d = NULL;
    goto done;
oom:
    rc = mp_error_set(e, MP_ENOMEM, "%s: out of memory building the dataset", t->source);
done:
    mp_dataset_destroy(d);
    free(f);
    free(checked);
    free(rows);
    return rc;
}

int mp_dataset_load(const char *path, const mp_load_opts *o, mp_dataset **out, mp_error *e)
{
    *out = NULL;
    mp_load_opts def = {0};
    if (!o)
        o = &def;
    char *buf;
    size_t len;
    int rc = mp_read_file(path, &buf, &len, e);
    if (rc)
        return rc;
    /* Text never starts with two NUL bytes; IDX always does. Sending every
     * such file to the IDX reader gives a precise message for a damaged or
     * unsupported one. */
    if (len >= 2 && buf[0] == '\0' && buf[1] == '\0') {
        rc = mp_idx_load_images(path, (const unsigned char *)buf, len, o, out, e);
        free(buf);
        return rc;
    }
    if (o->labels) {
        free(buf);
        return mp_error_set(e, MP_EINVAL,
                            "%s: a label file (%s) goes with IDX image data, but this is not IDX",
                            path, o->labels);
    }
    mp_table *t;
    rc = mp_csv_parse_owned(path, buf, len, o->delimiter, &t, e);
    if (rc)
        return rc;
    rc = mp_dataset_from_table(t, o, out, e);
    mp_table_destroy(t);
    return rc;
}
