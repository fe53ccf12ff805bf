#include "ml/preprocess.h"

#include "core/buf.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *mp_scale_name(mp_scale s)
{
    return s == MP_SCALE_STANDARD ? "standard" : s == MP_SCALE_MINMAX ? "minmax" : "none";
}

const char *mp_missing_name(mp_missing_policy m)
{
    return m == MP_MISSING_DROP ? "drop" : m == MP_MISSING_MEAN ? "mean" : "error";
}

static int set_levels(mp_prep_col *c, char **levels, size_t n)
{
    c->nlevels = n;
    c->levels = calloc(n ? n : 1, sizeof *c->levels);
    c->index = mp_strmap_create();
    if (!c->levels || !c->index)
        return MP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        c->levels[i] = strdup(levels[i]);
        if (!c->levels[i] || mp_strmap_put(c->index, levels[i], (int)i))
            return MP_ENOMEM;
    }
    return 0;
}

/* Output layout follows from the columns; shared by fit and load. */
static int layout(mp_prep *p)
{
    size_t out = 0;
    for (size_t j = 0; j < p->ncols; j++) {
        p->cols[j].out = out;
        out += (p->cols[j].kind == MP_COL_CATEGORICAL && p->onehot) ? p->cols[j].nlevels : 1;
    }
    p->nout = out;
    p->ncats = calloc(out ? out : 1, sizeof *p->ncats);
    if (!p->ncats)
        return MP_ENOMEM;
    if (!p->onehot)
        for (size_t j = 0; j < p->ncols; j++)
            if (p->cols[j].kind == MP_COL_CATEGORICAL)
                p->ncats[p->cols[j].out] = p->cols[j].nlevels;
    return 0;
}

/* Means, and the spread the scaling needs, of every numeric column. The
 * matrix is row-major, so the sums run along rows: one pass for the means
 * (and extremes), a second for the squared deviations when standard
 * scaling needs them. Two passes keep the variance exact for data far from
 * zero, as a one-pass sum of squares would not. */
static int numeric_stats(mp_prep *p, const mp_dataset *d, const size_t *rows, size_t n, mp_scale scale)
{
    size_t m = d->ncols;
    double *sum = calloc(m ? 4 * m : 1, sizeof *sum);
    size_t *cnt = calloc(m ? m : 1, sizeof *cnt);
    if (!sum || !cnt) {
        free(sum);
        free(cnt);
        return MP_ENOMEM;
    }
    double *mn = sum + m, *mx = sum + 2 * m, *ss = sum + 3 * m;
    for (size_t j = 0; j < m; j++) {
        mn[j] = INFINITY;
        mx[j] = -INFINITY;
    }
    for (size_t i = 0; i < n; i++) {
        const double *x = d->X + (rows ? rows[i] : i) * m;
        for (size_t j = 0; j < m; j++) {
            double v = x[j];
            if (isnan(v))
                continue;
            sum[j] += v;
            cnt[j]++;
            mn[j] = v < mn[j] ? v : mn[j];
            mx[j] = v > mx[j] ? v : mx[j];
        }
    }
    for (size_t j = 0; j < m; j++)
        sum[j] = cnt[j] ? sum[j] / (double)cnt[j] : 0.0; /* now the mean */
    if (scale == MP_SCALE_STANDARD) {
        for (size_t i = 0; i < n; i++) {
            const double *x = d->X + (rows ? rows[i] : i) * m;
            for (size_t j = 0; j < m; j++)
                if (!isnan(x[j]))
                    ss[j] += (x[j] - sum[j]) * (x[j] - sum[j]);
        }
    }
    for (size_t j = 0; j < m; j++) {
        mp_prep_col *c = &p->cols[j];
        if (c->kind != MP_COL_NUMERIC)
            continue;
        c->fill = sum[j];
        if (scale == MP_SCALE_STANDARD) {
            /* Population standard deviation, as scikit-learn's StandardScaler;
             * a constant column keeps scale 1 instead of dividing by zero. */
            double sd = cnt[j] ? sqrt(ss[j] / (double)cnt[j]) : 0.0;
            c->center = sum[j];
            c->scale = sd > 1e-12 * (fabs(sum[j]) + 1.0) ? sd : 1.0;
        } else if (scale == MP_SCALE_MINMAX) {
            c->center = cnt[j] ? mn[j] : 0.0;
            c->scale = (cnt[j] && mx[j] > mn[j]) ? mx[j] - mn[j] : 1.0;
        }
    }
    free(sum);
    free(cnt);
    return 0;
}

int mp_prep_fit(mp_prep *p, const mp_dataset *d, const size_t *rows, size_t n, mp_scale scale,
                mp_missing_policy missing, int onehot, mp_error *e)
{
    memset(p, 0, sizeof *p);
    if (!rows)
        n = d->nrows;
    p->scale = scale;
    p->missing = missing;
    p->onehot = onehot;
    p->ncols = d->ncols;
    p->cols = calloc(d->ncols ? d->ncols : 1, sizeof *p->cols);
    if (!p->cols)
        goto oom;
    for (size_t j = 0; j < d->ncols; j++) {
        const mp_column *dc = &d->cols[j];
        mp_prep_col *c = &p->cols[j];
        c->name = strdup(dc->name);
        c->kind = dc->kind;
        c->center = 0.0;
        c->scale = 1.0;
        if (!c->name)
            goto oom;
        if (dc->kind == MP_COL_CATEGORICAL) {
            /* Levels used by the training rows only, in first-seen order, so
             * that a fold of cross-validation knows only what it saw. */
            size_t *count = calloc(dc->nlevels ? dc->nlevels : 1, sizeof *count);
            char **seen = calloc(dc->nlevels ? dc->nlevels : 1, sizeof *seen);
            if (!count || !seen) {
                free(count);
                free(seen);
                goto oom;
            }
            size_t nseen = 0;
            size_t *order = calloc(dc->nlevels ? dc->nlevels : 1, sizeof *order);
            if (!order) {
                free(count);
                free(seen);
                goto oom;
            }
            for (size_t i = 0; i < n; i++) {
                size_t r = rows ? rows[i] : i;
                double v = d->X[r * d->ncols + j];
                if (isnan(v))
                    continue;
                size_t lv = (size_t)v;
                if (count[lv]++ == 0)
                    order[nseen++] = lv;
            }
            size_t best = 0;
            for (size_t k = 0; k < nseen; k++) {
                seen[k] = dc->levels[order[k]];
                if (count[order[k]] > count[order[best]])
                    best = k;
            }
            c->fill = (double)best;
            int rc = set_levels(c, seen, nseen);
            free(count);
            free(seen);
            free(order);
            if (rc)
                goto oom;
        }
    }
    if (numeric_stats(p, d, rows, n, scale))
        goto oom;
    if (layout(p))
        goto oom;
    return 0;
oom:
    mp_prep_free(p);
    return mp_error_set(e, MP_ENOMEM, "out of memory while fitting preprocessing");
}

int mp_prep_transform(const mp_prep *p, const mp_dataset *d, const size_t *rows, size_t n,
                      int impute, double **Xout, size_t *unseen, mp_error *e)
{
    if (!rows)
        n = d->nrows;
    int *src = calloc(p->ncols ? p->ncols : 1, sizeof *src);
    double *X = calloc(n * p->nout > 0 ? n * p->nout : 1, sizeof *X);
    /* Per input column, a map from the dataset's level codes to ours. */
    int **lmap = calloc(p->ncols ? p->ncols : 1, sizeof *lmap);
    size_t nunseen = 0;
    double *stats = NULL;
    int rc = 0;
    if (!src || !X || !lmap) {
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t j = 0; j < p->ncols; j++) {
        const mp_prep_col *c = &p->cols[j];
        int s = mp_dataset_find(d, c->name);
        if (s < 0) {
            rc = mp_error_set(e, MP_EINPUT, "%s: no column '%s', which the model needs", d->source,
                              c->name);
            goto done;
        }
        if (d->cols[s].kind != c->kind && c->kind == MP_COL_NUMERIC) {
            rc = mp_error_set(e, MP_EINPUT, "%s: column '%s' holds text, but the model needs numbers",
                              d->source, c->name);
            goto done;
        }
        src[j] = s;
        if (c->kind == MP_COL_CATEGORICAL) {
            const mp_column *dc = &d->cols[s];
            lmap[j] = malloc((dc->nlevels ? dc->nlevels : 1) * sizeof **lmap);
            if (!lmap[j]) {
                rc = mp_error_set(e, MP_ENOMEM, "out of memory");
                goto done;
            }
            for (size_t k = 0; k < dc->nlevels; k++)
                lmap[j][k] = dc->kind == MP_COL_CATEGORICAL ? mp_strmap_get(c->index, dc->levels[k]) : -1;
        }
    }
    /* The common case, numbers only and in the model's column order, runs
     * as one tight loop over contiguous rows. */
    int plain = p->nout == p->ncols && d->ncols == p->ncols;
    for (size_t j = 0; plain && j < p->ncols; j++)
        plain = p->cols[j].kind == MP_COL_NUMERIC && src[j] == (int)j;
    stats = plain ? malloc(3 * (p->ncols ? p->ncols : 1) * sizeof *stats) : NULL;
    if (plain && !stats) {
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        goto done;
    }
    if (plain) {
        size_t m = p->ncols;
        double *center = stats, *scale = stats + m, *fill = stats + 2 * m;
        for (size_t j = 0; j < m; j++) {
            center[j] = p->cols[j].center;
            scale[j] = p->cols[j].scale;
            fill[j] = p->cols[j].fill;
        }
        for (size_t i = 0; i < n; i++) {
            const double *x = d->X + (rows ? rows[i] : i) * m;
            double *out = X + i * m;
            for (size_t j = 0; j < m; j++) {
                double v = x[j];
                if (isnan(v)) {
                    if (!impute) {
                        size_t r = rows ? rows[i] : i;
                        rc = mp_error_set(e, MP_EINPUT,
                                          "%s: row with id '%s': missing value in column '%s' "
                                          "(use --missing mean to impute)",
                                          d->source, d->ids[r], p->cols[j].name);
                        goto done;
                    }
                    v = fill[j];
                }
                out[j] = (v - center[j]) / scale[j];
            }
        }
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        size_t r = rows ? rows[i] : i;
        double *out = X + i * p->nout;
        for (size_t j = 0; j < p->ncols; j++) {
            const mp_prep_col *c = &p->cols[j];
            const mp_column *dc = &d->cols[src[j]];
            double v = d->X[r * d->ncols + (size_t)src[j]];
            if (isnan(v) && !impute) {
                rc = mp_error_set(e, MP_EINPUT,
                                  "%s: row with id '%s': missing value in column '%s' "
                                  "(use --missing mean to impute)",
                                  d->source, d->ids[r], c->name);
                goto done;
            }
            if (c->kind == MP_COL_NUMERIC) {
                if (isnan(v))
                    v = c->fill;
                out[c->out] = (v - c->center) / c->scale;
                continue;
            }
            int code;
            if (isnan(v))
                code = (int)c->fill;
            else if (dc->kind == MP_COL_CATEGORICAL)
                code = lmap[j][(size_t)v];
            else {
                /* A numeric-looking column the model knows as categorical:
                 * match by the number's text. */
                char tmp[40];
                mp_format_double(tmp, sizeof tmp, v);
                code = mp_strmap_get(c->index, tmp);
            }
            if (code < 0)
                nunseen++;
            if (p->onehot) {
                if (code >= 0)
                    out[c->out + (size_t)code] = 1.0;
            } else {
                out[c->out] = (double)code;
            }
        }
    }
done:
    free(stats);
    if (lmap)
        for (size_t j = 0; j < p->ncols; j++)
            free(lmap[j]);
    free(lmap);
    free(src);
    if (rc) {
        free(X);
        return rc;
    }
    *Xout = X;
    if (unseen)
        *unseen = nunseen;
    return 0;
}

const double *mp_prep_passthrough(const mp_prep *p, const mp_dataset *d, const size_t *rows,
                                  size_t n)
{
    if (d->nmissing || p->nout != p->ncols || d->ncols != p->ncols)
        return NULL;
    for (size_t j = 0; j < p->ncols; j++) {
        const mp_prep_col *c = &p->cols[j];
        if (c->kind != MP_COL_NUMERIC || d->cols[j].kind != MP_COL_NUMERIC || c->center != 0.0 ||
            c->scale != 1.0 || strcmp(c->name, d->cols[j].name))
            return NULL;
    }
    if (!rows)
        return d->X;
    for (size_t i = 1; i < n; i++)
        if (rows[i] != rows[0] + i)
            return NULL;
    return n ? d->X + rows[0] * d->ncols : d->X;
}

int mp_prep_save(const mp_prep *p, mp_tensors *b, mp_error *e)
{
    size_t n = p->ncols;
    double *buf = malloc(3 * (n ? n : 1) * sizeof *buf);
    json_t *schema = json_array();
    json_t *info = json_pack("{s:s,s:s,s:b}", "scale", mp_scale_name(p->scale), "missing",
                             mp_missing_name(p->missing), "onehot", p->onehot);
    int rc = 0;
    if (!buf || !schema || !info) {
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t j = 0; j < n; j++) {
        const mp_prep_col *c = &p->cols[j];
        buf[j] = c->fill;
        buf[n + j] = c->center;
        buf[2 * n + j] = c->scale;
        json_t *col = json_pack("{s:s,s:s}", "name", c->name, "type",
                                c->kind == MP_COL_CATEGORICAL ? "categorical" : "numeric");
        if (c->kind == MP_COL_CATEGORICAL) {
            json_t *lv = json_array();
            for (size_t k = 0; k < c->nlevels; k++)
                json_array_append_new(lv, json_string(c->levels[k]));
            json_object_set_new(col, "levels", lv);
        }
        json_array_append_new(schema, col);
    }
    int64_t shape[1] = {(int64_t)n};
    if ((rc = mp_tensors_add(b, "prep.fill", MP_DT_F64, 1, shape, buf, e)) ||
        (rc = mp_tensors_add(b, "prep.center", MP_DT_F64, 1, shape, buf + n, e)) ||
        (rc = mp_tensors_add(b, "prep.scale", MP_DT_F64, 1, shape, buf + 2 * n, e)))
        goto done;
    char *s1 = json_dumps(schema, JSON_COMPACT);
    char *s2 = json_dumps(info, JSON_COMPACT);
    if (!s1 || !s2 || mp_tensors_set_meta(b, "input_schema", s1) ||
        mp_tensors_set_meta(b, "preprocessing", s2))
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
    free(s1);
    free(s2);
done:
    free(buf);
    json_decref(schema);
    json_decref(info);
    return rc;
}

static int parse_choice(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (s && !strcmp(s, names[i]))
            return i;
    return -1;
}

int mp_prep_load(mp_prep *p, const mp_tensors *b, mp_error *e)
{
    memset(p, 0, sizeof *p);
    const char *schema_s = mp_tensors_meta(b, "input_schema");
    const char *info_s = mp_tensors_meta(b, "preprocessing");
    if (!schema_s || !info_s)
        return mp_error_set(e, MP_EFORMAT, "metadata lacks input_schema or preprocessing");
    json_error_t je;
    json_t *schema = json_loads(schema_s, JSON_REJECT_DUPLICATES, &je);
    json_t *info = json_loads(info_s, JSON_REJECT_DUPLICATES, &je);
    int rc = 0;
    if (!json_is_array(schema) || !json_is_object(info)) {
        rc = mp_error_set(e, MP_EFORMAT, "metadata input_schema or preprocessing is not valid JSON");
        goto done;
    }
    static const char *const scales[] = {"none", "standard", "minmax"};
    static const char *const missings[] = {"error", "drop", "mean"};
    int sc = parse_choice(json_string_value(json_object_get(info, "scale")), scales, 3);
    int mi = parse_choice(json_string_value(json_object_get(info, "missing")), missings, 3);
    json_t *oh = json_object_get(info, "onehot");
    if (sc < 0 || mi < 0 || !json_is_boolean(oh)) {
        rc = mp_error_set(e, MP_EFORMAT, "metadata preprocessing is not understood: %s", info_s);
        goto done;
    }
    p->scale = (mp_scale)sc;
    p->missing = (mp_missing_policy)mi;
    p->onehot = json_is_true(oh);
    size_t n = json_array_size(schema);
    int64_t shape[1] = {(int64_t)n};
    const mp_tensor *fill, *center, *scale;
    if ((rc = mp_tensors_expect(b, "prep.fill", MP_DT_F64, 1, shape, &fill, e)) ||
        (rc = mp_tensors_expect(b, "prep.center", MP_DT_F64, 1, shape, &center, e)) ||
        (rc = mp_tensors_expect(b, "prep.scale", MP_DT_F64, 1, shape, &scale, e)))
        goto done;
    p->ncols = n;
    p->cols = calloc(n ? n : 1, sizeof *p->cols);
    if (!p->cols) {
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t j = 0; j < n; j++) {
        json_t *col = json_array_get(schema, j);
        const char *name = json_string_value(json_object_get(col, "name"));
        const char *type = json_string_value(json_object_get(col, "type"));
        mp_prep_col *c = &p->cols[j];
        if (!name || !type || (strcmp(type, "numeric") && strcmp(type, "categorical"))) {
            rc = mp_error_set(e, MP_EFORMAT, "metadata input_schema entry %zu is not understood", j);
            goto done;
        }
        c->name = strdup(name);
        c->kind = !strcmp(type, "categorical") ? MP_COL_CATEGORICAL : MP_COL_NUMERIC;
        c->fill = ((const double *)fill->data)[j];
        c->center = ((const double *)center->data)[j];
        c->scale = ((const double *)scale->data)[j];
        if (!c->name) {
            rc = mp_error_set(e, MP_ENOMEM, "out of memory");
            goto done;
        }
        if (!isfinite(c->fill) || !isfinite(c->center) || !isfinite(c->scale) || c->scale == 0.0) {
            rc = mp_error_set(e, MP_EFORMAT, "preprocessing of column '%s' holds invalid numbers", name);
            goto done;
        }
        if (c->kind == MP_COL_CATEGORICAL) {
            json_t *lv = json_object_get(col, "levels");
            size_t k = json_array_size(lv);
            if (!json_is_array(lv) || (k > 0 && (c->fill < 0 || c->fill >= (double)k))) {
                rc = mp_error_set(e, MP_EFORMAT, "column '%s': levels missing or inconsistent", name);
                goto done;
            }
            char **levels = calloc(k ? k : 1, sizeof *levels);
            if (!levels) {
                rc = mp_error_set(e, MP_ENOMEM, "out of memory");
                goto done;
            }
            int bad = 0;
            for (size_t i = 0; i < k; i++) {
                levels[i] = (char *)json_string_value(json_array_get(lv, i));
                if (!levels[i])
                    bad = 1;
            }
            int r2 = bad ? MP_EFORMAT : set_levels(c, levels, k);
            free(levels);
            if (r2) {
                rc = mp_error_set(e, r2, "column '%s': %s", name,
                                  bad ? "a level is not a string" : "out of memory");
                goto done;
            }
        }
    }
    if (layout(p))
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
done:
    json_decref(schema);
    json_decref(info);
    if (rc)
        mp_prep_free(p);
    return rc;
}

mp_column *mp_prep_schema(const mp_prep *p)
{
    mp_column *s = calloc(p->ncols ? p->ncols : 1, sizeof *s);
    if (!s)
        return NULL;
    for (size_t j = 0; j < p->ncols; j++) {
        s[j].name = p->cols[j].name;
        s[j].kind = p->cols[j].kind;
    }
    return s;
}

void mp_prep_free(mp_prep *p)
{
    for (size_t j = 0; p->cols && j < p->ncols; j++) {
        mp_prep_col *c = &p->cols[j];
        free(c->name);
        for (size_t k = 0; c->levels && k < c->nlevels; k++)
            free(c->levels[k]);
        free(c->levels);
        mp_strmap_destroy(c->index);
    }
    free(p->cols);
    free(p->ncats);
    memset(p, 0, sizeof *p);
}
