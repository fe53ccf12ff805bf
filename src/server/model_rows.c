/* Request rows for the model service: the three JSON forms a client may
 * send (row "instances", columnar "inputs", classify/regress "examples")
 * checked against a model's input columns, and the one-call prediction of
 * several requests' rows together.
 *
 * Every cell is checked here, before any prediction runs, so a request
 * that would fail cannot fail a batch it shares with others, and the
 * message names the instance and the feature. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/model_service_internal.h"

#define MISSING SIZE_MAX

void ms_rows_free(ms_rows *r)
{
    free(r->num);
    free(r->off);
    mp_buf_free(&r->text);
    memset(r, 0, sizeof *r);
}

static int rows_alloc(ms_rows *r, size_t n, size_t ncols, char *msg, size_t msglen)
{
    memset(r, 0, sizeof *r);
    r->n = n;
    r->ncols = ncols;
    size_t cells = n * ncols;
    if (ncols && cells / ncols != n) {
        snprintf(msg, msglen, "too many instances");
        return 400;
    }
    r->num = malloc((cells ? cells : 1) * sizeof *r->num);
    r->off = malloc((cells ? cells : 1) * sizeof *r->off);
    if (!r->num || !r->off) {
        ms_rows_free(r);
        snprintf(msg, msglen, "out of memory");
        return 500;
    }
    for (size_t i = 0; i < cells; i++) {
        r->num[i] = NAN;
        r->off[i] = MISSING;
    }
    return 0;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

/* "age, sex, trestbps" (shortened for wide models) for messages. */
static void feature_list(const mp_model *m, char *out, size_t n)
{
    size_t len = 0;
    out[0] = 0;
    for (size_t i = 0; i < m->prep.ncols && len + 1 < n; i++) {
        int w = snprintf(out + len, n - len, "%s%s", i ? ", " : "", m->prep.cols[i].name);
        if (w < 0 || (size_t)w >= n - len) {
            if (n > 4)
                strcpy(out + n - 4, "...");
            return;
        }
        len += (size_t)w;
    }
}

/* Stores value v as cell (row, col). `where` says where it came from
 * ("instance 3" / "example 0" / "inputs row 2"). Returns 0 or 400. */
static int put_cell(const mp_model *m, ms_rows *r, size_t row, size_t col, const json_t *v,
                    int allow_list, const char *where, char *msg, size_t msglen)
{
    const mp_prep_col *pc = &m->prep.cols[col];
    size_t cell = row * r->ncols + col;
    if (allow_list && json_is_array(v)) {
        /* A tf.Example feature is a list; a one-element list is a value. */
        if (json_array_size(v) != 1) {
            snprintf(msg, msglen, "%s, feature '%s': expected one value, got a list of %zu", where,
                     pc->name, json_array_size(v));
            return 400;
        }
        v = json_array_get(v, 0);
    }
    if (json_is_null(v)) {
        if (m->prep.missing != MP_MISSING_MEAN) {
            snprintf(msg, msglen,
                     "%s, feature '%s': null (a missing value), but the model was not trained to "
                     "impute missing values (train with --missing mean)",
                     where, pc->name);
            return 400;
        }
        return 0; /* NaN / MISSING already */
    }
    if (pc->kind == MP_COL_NUMERIC) {
        if (!json_is_number(v)) {
            snprintf(msg, msglen, "%s, feature '%s': expected a number, got %s", where, pc->name,
                     json_kind(v));
            return 400;
        }
        double x = json_number_value(v);
        if (!isfinite(x)) {
            snprintf(msg, msglen, "%s, feature '%s': the number is out of range", where, pc->name);
            return 400;
        }
        r->num[cell] = x;
        return 0;
    }
    /* Categorical: strings, or numbers matched by their text (a column of
     * numbers trained as categorical). */
    char tmp[40];
    const char *s;
    if (json_is_string(v)) {
        s = json_string_value(v);
        if (strlen(s) != json_string_length(v)) {
            snprintf(msg, msglen, "%s, feature '%s': the string holds a NUL character", where,
                     pc->name);
            return 400;
        }
    } else if (json_is_number(v)) {
        mp_format_double(tmp, sizeof tmp, json_number_value(v));
        s = tmp;
    } else {
        snprintf(msg, msglen, "%s, feature '%s': expected a string (a categorical feature), got %s",
                 where, pc->name, json_kind(v));
        return 400;
    }
    r->num[cell] = 0;
    r->off[cell] = r->text.len;
    mp_buf_append(&r->text, s, strlen(s) + 1);
    if (r->text.oom) {
        snprintf(msg, msglen, "out of memory");
        return 500;
    }
    return 0;
}

/* The features of an object: every model input must be there (in obj or
 * in ctx), and nothing else. */
static int put_object(const mp_model *m, ms_rows *r, size_t row, json_t *obj, json_t *ctx,
                      int allow_list, const char *where, char *msg, size_t msglen)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        int known = 0;
        for (size_t c = 0; c < m->prep.ncols && !known; c++)
            known = !strcmp(m->prep.cols[c].name, key);
        if (!known) {
            char names[400];
            feature_list(m, names, sizeof names);
            snprintf(msg, msglen, "%s: unknown feature '%.200s' (the model's features: %s)", where,
                     key, names);
            return 400;
        }
        if (ctx && json_object_get(ctx, key)) {
            snprintf(msg, msglen, "%s: feature '%.200s' is also in the context", where, key);
            return 400;
        }
    }
    for (size_t c = 0; c < m->prep.ncols; c++) {
        const char *name = m->prep.cols[c].name;
        v = json_object_get(obj, name);
        if (!v && ctx)
            v = json_object_get(ctx, name);
        if (!v) {
            snprintf(msg, msglen, "%s: feature '%s' is missing", where, name);
            return 400;
        }
        int rc = put_cell(m, r, row, c, v, allow_list, where, msg, msglen);
        if (rc)
            return rc;
    }
    return 0;
}

/* One instance of the row form: a list of every feature value in the
 * model's order, an object of named features, or a bare value when the
 * model has one feature. */
static int put_instance(const mp_model *m, ms_rows *r, size_t row, json_t *v, const char *where,
                        char *msg, size_t msglen)
{
    size_t nc = m->prep.ncols;
    if (json_is_object(v))
        return put_object(m, r, row, v, NULL, 0, where, msg, msglen);
    if (json_is_array(v)) {
        if (json_array_size(v) != nc) {
            char names[400];
            feature_list(m, names, sizeof names);
            snprintf(msg, msglen, "%s: expected %zu feature value%s (%s), got %zu", where, nc,
                     nc == 1 ? "" : "s", names, json_array_size(v));
            return 400;
        }
        for (size_t c = 0; c < nc; c++) {
            int rc = put_cell(m, r, row, c, json_array_get(v, c), 0, where, msg, msglen);
            if (rc)
                return rc;
        }
        return 0;
    }
    if (nc == 1)
        return put_cell(m, r, row, 0, v, 0, where, msg, msglen);
    char names[400];
    feature_list(m, names, sizeof names);
    snprintf(msg, msglen,
             "%s: got %s, but the model takes %zu features (%s): send each instance as a list of "
             "its %zu values or as an object of named features",
             where, json_kind(v), nc, names, nc);
    return 400;
}

/* A list of instances; `what` names them in messages. */
static int rows_from_list(const mp_model *m, json_t *list, const char *what, ms_rows *out,
                          char *msg, size_t msglen)
{
    size_t n = json_array_size(list);
    int rc = rows_alloc(out, n, m->prep.ncols, msg, msglen);
    for (size_t i = 0; !rc && i < n; i++) {
        char where[48];
        snprintf(where, sizeof where, "%s %zu", what, i);
        rc = put_instance(m, out, i, json_array_get(list, i), where, msg, msglen);
    }
    if (rc)
        ms_rows_free(out);
    return rc;
}

int ms_rows_from_instances(const mp_model *m, json_t *instances, ms_rows *out, char *msg,
                           size_t msglen)
{
    if (!json_is_array(instances)) {
        snprintf(msg, msglen, "'instances' must be a list, got %s", json_kind(instances));
        return 400;
    }
    return rows_from_list(m, instances, "instance", out, msg, msglen);
}

int ms_rows_from_inputs(const mp_model *m, json_t *inputs, ms_rows *out, char *msg, size_t msglen)
{
    size_t nc = m->prep.ncols;
    if (json_is_array(inputs)) {
        /* One unnamed input tensor: its rows are instances. */
        return rows_from_list(m, inputs, "inputs row", out, msg, msglen);
    }
    if (!json_is_object(inputs)) {
        if (nc != 1) {
            snprintf(msg, msglen, "'inputs' must be an object of named features or a list, got %s",
                     json_kind(inputs));
            return 400;
        }
        int rc = rows_alloc(out, 1, 1, msg, msglen);
        if (!rc)
            rc = put_cell(m, out, 0, 0, inputs, 0, "inputs", msg, msglen);
        if (rc)
            ms_rows_free(out);
        return rc;
    }
    /* Named columns of equal length. A bare value is a column of one. */
    size_t n = 0;
    const char *first = NULL;
    const char *key;
    json_t *v;
    json_object_foreach(inputs, key, v) {
        int known = 0;
        for (size_t c = 0; c < nc && !known; c++)
            known = !strcmp(m->prep.cols[c].name, key);
        if (!known) {
            char names[400];
            feature_list(m, names, sizeof names);
            snprintf(msg, msglen, "inputs: unknown feature '%.200s' (the model's features: %s)", key,
                     names);
            return 400;
        }
    }
    for (size_t c = 0; c < nc; c++) {
        const char *name = m->prep.cols[c].name;
        v = json_object_get(inputs, name);
        if (!v) {
            snprintf(msg, msglen, "inputs: feature '%s' is missing", name);
            return 400;
        }
        size_t len = json_is_array(v) ? json_array_size(v) : 1;
        if (!first) {
            first = name;
            n = len;
        } else if (len != n) {
            snprintf(msg, msglen, "inputs: feature '%s' has %zu value%s but '%s' has %zu; every "
                     "feature needs one value per instance", name, len, len == 1 ? "" : "s", first, n);
            return 400;
        }
    }
    int rc = rows_alloc(out, n, nc, msg, msglen);
    for (size_t c = 0; !rc && c < nc; c++) {
        v = json_object_get(inputs, m->prep.cols[c].name);
        for (size_t i = 0; !rc && i < n; i++) {
            char where[48];
            snprintf(where, sizeof where, "inputs row %zu", i);
            rc = put_cell(m, out, i, c, json_is_array(v) ? json_array_get(v, i) : v, 0, where, msg,
                          msglen);
        }
    }
    if (rc)
        ms_rows_free(out);
    return rc;
}

int ms_rows_from_examples(const mp_model *m, json_t *examples, json_t *context, ms_rows *out,
                          char *msg, size_t msglen)
{
    if (!json_is_array(examples)) {
        snprintf(msg, msglen, "'examples' must be a list of objects, got %s",
                 examples ? json_kind(examples) : "nothing");
        return 400;
    }
    if (context && !json_is_object(context)) {
        snprintf(msg, msglen, "'context' must be an object of features, got %s", json_kind(context));
        return 400;
    }
    size_t n = json_array_size(examples);
    int rc = rows_alloc(out, n, m->prep.ncols, msg, msglen);
    for (size_t i = 0; !rc && i < n; i++) {
        char where[48];
        snprintf(where, sizeof where, "example %zu", i);
        json_t *ex = json_array_get(examples, i);
        if (!json_is_object(ex)) {
            snprintf(msg, msglen, "%s: expected an object of named features, got %s", where,
                     json_kind(ex));
            rc = 400;
            break;
        }
        rc = put_object(m, out, i, ex, context, 1, where, msg, msglen);
    }
    if (rc)
        ms_rows_free(out);
    return rc;
}

int ms_rows_predict(const mp_model *m, ms_rows *const *sets, size_t nsets, mp_predictions *out,
                    mp_error *e)
{
    memset(out, 0, sizeof *out);
    size_t nc = m->prep.ncols, n = 0;
    for (size_t s = 0; s < nsets; s++) {
        if (sets[s]->ncols != nc)
            return mp_error_set(e, MP_EINVAL, "rows for %zu features, the model takes %zu",
                                sets[s]->ncols, nc);
        n += sets[s]->n;
    }
    if (n == 0) {
        out->nclasses = m->task == MP_TASK_CLASSIFY ? m->nclasses : 0;
        return 0;
    }
    mp_column *cols = calloc(nc ? nc : 1, sizeof *cols);
    double *X = malloc(n * (nc ? nc : 1) * sizeof *X);
    char **levels = calloc(n * (nc ? nc : 1), sizeof *levels);
    char **ids = malloc(n * sizeof *ids);
    char *idtext = malloc(n * 24);
    int rc = 0;
    if (!cols || !X || !levels || !ids || !idtext) {
        rc = mp_error_set(e, MP_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t c = 0; c < nc; c++) {
        cols[c].name = m->prep.cols[c].name;
        cols[c].kind = m->prep.cols[c].kind;
        if (cols[c].kind == MP_COL_CATEGORICAL) {
            /* One level per row: the model maps levels to its own by text. */
            cols[c].levels = levels + c * n;
            cols[c].nlevels = n;
        }
    }
    size_t row = 0;
    for (size_t s = 0; s < nsets; s++) {
        const ms_rows *r = sets[s];
        for (size_t i = 0; i < r->n; i++, row++) {
            ids[row] = idtext + row * 24;
            snprintf(ids[row], 24, "%zu", i);
            for (size_t c = 0; c < nc; c++) {
                size_t cell = i * nc + c;
                if (cols[c].kind == MP_COL_NUMERIC) {
                    X[row * nc + c] = r->num[cell];
                } else if (r->off[cell] == MISSING) {
                    X[row * nc + c] = NAN;
                    cols[c].levels[row] = "";
                } else {
                    X[row * nc + c] = (double)row;
                    cols[c].levels[row] = r->text.data + r->off[cell];
                }
            }
        }
    }
    mp_dataset d = {0};
    d.source = "request";
    d.nrows = n;
    d.ncols = nc;
    d.cols = cols;
    d.X = X;
    d.id_name = "instance";
    d.ids = ids;
    rc = mp_model_predict(m, &d, NULL, 0, m->prep.missing == MP_MISSING_MEAN, out, e);
done:
    free(cols);
    free(X);
    free(levels);
    free(ids);
    free(idtext);
    return rc;
}

int ms_predictions_slice(const mp_predictions *all, size_t off, size_t n, mp_predictions *out)
{
    memset(out, 0, sizeof *out);
    out->n = n;
    out->nclasses = all->nclasses;
    size_t k = all->nclasses, nk = n * k;
    if (all->value && !(out->value = malloc((n ? n : 1) * sizeof *out->value)))
        goto oom;
    if (all->label && !(out->label = malloc((n ? n : 1) * sizeof *out->label)))
        goto oom;
    if (all->proba && !(out->proba = malloc((nk ? nk : 1) * sizeof *out->proba)))
        goto oom;
    if (out->value && n)
        memcpy(out->value, all->value + off, n * sizeof *out->value);
    if (out->label && n)
        memcpy(out->label, all->label + off, n * sizeof *out->label);
    if (out->proba && nk)
        memcpy(out->proba, all->proba + off * k, nk * sizeof *out->proba);
    return 0;
oom:
    mp_predictions_free(out);
    return MP_ENOMEM;
}

void ms_json_string(mp_buf *b, const char *s)
{
    mp_buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') {
            mp_buf_putc(b, '\\');
            mp_buf_putc(b, (char)*p);
        } else if (*p == '\n') {
            mp_buf_puts(b, "\\n");
        } else if (*p == '\t') {
            mp_buf_puts(b, "\\t");
        } else if (*p == '\r') {
            mp_buf_puts(b, "\\r");
        } else if (*p < 0x20 || *p == 0x7f) {
            mp_buf_printf(b, "\\u%04x", *p);
        } else {
            mp_buf_putc(b, (char)*p);
        }
    }
    mp_buf_putc(b, '"');
}

void ms_json_number(mp_buf *b, double v)
{
    if (isnan(v))
        mp_buf_puts(b, "NaN");
    else if (isinf(v))
        mp_buf_puts(b, v > 0 ? "Infinity" : "-Infinity");
    else
        mp_buf_double(b, v);
}

/* JSON's number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static int json_number_text(const char *s)
{
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return 0;
    if (*s == '.') {
        s++;
        if (!(*s >= '0' && *s <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return 0;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == 0;
}

int ms_labels_numeric(const mp_model *m)
{
    if (m->task != MP_TASK_CLASSIFY || !m->nclasses)
        return 0;
    for (size_t c = 0; c < m->nclasses; c++)
        if (!json_number_text(m->classes[c]))
            return 0;
    return 1;
}
