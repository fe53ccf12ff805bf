/* IDX files (the MNIST format): a magic number 00 00 <type> <ndims>, ndims
 * big-endian 32-bit sizes, then the elements row-major. Only unsigned
 * bytes (type 0x08) are supported. Images (count x rows x cols [x
 * channels]) become one dataset row per image with pixel features scaled
 * to [0, 1]; a label file (idx1) supplies the target. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/fileio.h"
#include "data/dataset.h"
#include "data/reader_internal.h"

#define IDX_MAX_DIMS 8

static const char *type_name(unsigned t)
{
    switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return NULL;
    }
}

int mp_idx_has_magic(const unsigned char *p, size_t len)
{
    return len >= 4 && p[0] == 0 && p[1] == 0 && type_name(p[2]) && p[3] >= 1 &&
           p[3] <= IDX_MAX_DIMS;
}

int mp_is_idx_file(const char *path)
{
    /* gzread passes plain files through unchanged. */
    gzFile f = gzopen(path, "rb");
    if (!f)
        return 0;
    unsigned char m[4];
    int n = gzread(f, m, sizeof m);
    gzclose(f);
    return n == 4 && mp_idx_has_magic(m, 4);
}

typedef struct idx_header {
    unsigned ndims;
    size_t dims[IDX_MAX_DIMS];
    size_t nelems; /* product of dims */
    size_t data;   /* offset of the first element */
} idx_header;

static int read_header(const char *path, const unsigned char *p, size_t len, idx_header *h,
                       mp_error *e)
{
    if (len < 4)
        return mp_error_set(e, MP_EINPUT,
                            "%s: truncated IDX file: expected at least 4 bytes, found %zu", path,
                            len);
    if (p[0] != 0 || p[1] != 0 || !type_name(p[2]) || p[3] == 0 || p[3] > IDX_MAX_DIMS)
        return mp_error_set(e, MP_EINPUT,
                            "%s: not an IDX file (magic number %02X %02X %02X %02X, expected 00 00 "
                            "<type> <dimensions>)",
                            path, p[0], p[1], p[2], p[3]);
    if (p[2] != 0x08)
        return mp_error_set(e, MP_EINPUT,
                            "%s: unsupported IDX element type 0x%02X (%s); only unsigned bytes "
                            "(0x08) are supported",
                            path, p[2], type_name(p[2]));
    h->ndims = p[3];
    h->data = 4 + 4 * (size_t)h->ndims;
    if (len < h->data)
        return mp_error_set(e, MP_EINPUT,
                            "%s: truncated IDX file: the header needs %zu bytes, found %zu", path,
                            h->data, len);
    h->nelems = 1;
    for (unsigned k = 0; k < h->ndims; k++) {
        const unsigned char *q = p + 4 + 4 * k;
        uint32_t v = (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 | (uint32_t)q[2] << 8 | q[3];
        h->dims[k] = v;
        if (v && h->nelems > (SIZE_MAX - h->data) / v)
            return mp_error_set(e, MP_EINPUT, "%s: IDX dimensions too large", path);
        h->nelems *= v;
    }
    size_t want = h->data + h->nelems;
    if (len < want)
        return mp_error_set(e, MP_EINPUT,
                            "%s: truncated IDX file: the header declares %zu bytes, found %zu",
                            path, want, len);
    if (len > want)
        return mp_error_set(e, MP_EINPUT,
                            "%s: IDX file has %zu bytes, but its header declares %zu", path, len,
                            want);
    return 0;
}

static int labels_from(const char *path, const unsigned char *p, size_t len, size_t limit,
                       int **labels, size_t *n, mp_error *e)
{
    idx_header h;
    int rc = read_header(path, p, len, &h, e);
    if (rc)
        return rc;
    if (h.ndims != 1)
        return mp_error_set(e, MP_EINPUT,
                            "%s: expected an IDX label file (1 dimension), found %u dimensions",
                            path, h.ndims);
    size_t cnt = h.dims[0];
    if (limit && limit < cnt)
        cnt = limit;
    int *l = malloc((cnt ? cnt : 1) * sizeof *l);
    if (!l)
        return mp_error_set(e, MP_ENOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < cnt; i++)
        l[i] = p[h.data + i];
    *labels = l;
    *n = cnt;
    return 0;
}

int mp_idx_read_labels(const char *path, size_t limit, int **labels, size_t *n, mp_error *e)
{
    *labels = NULL;
    *n = 0;
    char *buf;
    size_t len;
    int rc = mp_read_file(path, &buf, &len, e);
    if (rc)
        return rc;
    rc = labels_from(path, (const unsigned char *)buf, len, limit, labels, n, e);
    free(buf);
    return rc;
}

/* "pixel<k>" with k < npix and no leading zeros: k, else -1. */
static long pixel_index(const char *name, size_t npix)
{
    if (strncmp(name, "pixel", 5) != 0)
        return -1;
    const char *s = name + 5;
    if (!*s || (s[0] == '0' && s[1]) || strlen(s) > 12)
        return -1;
    long k = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        k = k * 10 + (*s - '0');
    }
    return (size_t)k < npix ? k : -1;
}

int mp_idx_load_images(const char *path, const unsigned char *data, size_t len,
                       const mp_load_opts *o, mp_dataset **out, mp_error *e)
{
    *out = NULL;
    idx_header h;
    int rc = read_header(path, data, len, &h, e);
    if (rc)
        return rc;
    if (h.ndims != 3 && h.ndims != 4)
        return mp_error_set(e, MP_EINPUT,
                            "%s: expected IDX images (3 dimensions: count, rows, columns; or 4 "
                            "with channels), found %u dimension%s",
                            path, h.ndims, h.ndims == 1 ? "" : "s");
    size_t count = h.dims[0];
    size_t npix = 1;
    for (unsigned k = 1; k < h.ndims; k++) {
        npix *= h.dims[k]; /* below 2^32 * INT_MAX: no overflow */
        if (npix > INT_MAX)
            return mp_error_set(e, MP_EINPUT, "%s: IDX images too large", path);
    }
    if (npix == 0)
        return mp_error_set(e, MP_EINPUT, "%s: IDX images of size zero", path);

    /* The target: only a label file can supply one. */
    int want_target = o->target && !o->target_optional;
    if (o->target && strcmp(o->target, "label") != 0 && want_target)
        return mp_error_set(e, MP_EINPUT,
                            "%s: no column '%s' (IDX images have features pixel0..pixel%zu and "
                            "the target 'label' from a label file)",
                            path, o->target, npix - 1);
    if (want_target && !o->labels)
        return mp_error_set(e, MP_EINPUT,
                            "%s: no column 'label': IDX images carry no labels (give the label "
                            "file)",
                            path);
    if (o->id)
        return mp_error_set(e, MP_EINPUT, "%s: no column '%s': IDX images have no id column",
                            path, o->id);

    int *labels = NULL;
    size_t nlabels = 0;
    if (o->labels) {
        rc = mp_idx_read_labels(o->labels, 0, &labels, &nlabels, e);
        if (rc)
            return rc;
        if (nlabels != count) {
            free(labels);
            return mp_error_set(e, MP_EINPUT, "%s: %zu images, but the label file %s has %zu labels",
                                path, count, o->labels, nlabels);
        }
    }
    size_t n = count;
    if (o->limit && o->limit < n)
        n = o->limit;
    if (n == 0) {
        free(labels);
        return mp_error_set(e, MP_EINPUT, "%s: no data rows", path);
    }

    /* Features: every pixel in order, or the schema's pixels in its order. */
    size_t nf = o->schema ? o->nschema : npix;
    size_t *map = NULL;
    mp_dataset *d = calloc(1, sizeof *d);
    if (!d)
        goto oom;
    if (o->schema) {
        map = malloc((nf ? nf : 1) * sizeof *map);
        if (!map)
            goto oom;
        for (size_t j = 0; j < nf; j++) {
            long k = pixel_index(o->schema[j].name, npix);
            if (k < 0) {
                rc = mp_error_set(e, MP_EINPUT,
                                  "%s: no column '%s' (IDX images have pixel0..pixel%zu)", path,
                                  o->schema[j].name, npix - 1);
                goto fail;
            }
            map[j] = (size_t)k;
        }
    }
    if (nf && n > SIZE_MAX / sizeof(double) / nf)
        goto oom;
    d->nrows = n;
    d->ncols = nf;
    d->source = strdup(path);
    d->id_name = strdup("id");
    d->cols = calloc(nf ? nf : 1, sizeof *d->cols);
    d->X = malloc((nf ? n * nf : 1) * sizeof *d->X);
    d->ids = calloc(n, sizeof *d->ids);
    if (!d->source || !d->id_name || !d->cols || !d->X || !d->ids)
        goto oom;
    for (size_t j = 0; j < nf; j++) {
        char name[32];
        snprintf(name, sizeof name, "pixel%zu", map ? map[j] : j);
        d->cols[j].name = strdup(name);
        d->cols[j].kind = MP_COL_NUMERIC;
        if (!d->cols[j].name)
            goto oom;
    }
    const unsigned char *px = data + h.data;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *img = px + i * npix;
        double *x = d->X + i * nf;
        if (map)
            for (size_t j = 0; j < nf; j++)
                x[j] = img[map[j]] / 255.0;
        else
            for (size_t j = 0; j < nf; j++)
                x[j] = img[j] / 255.0;
        char tmp[32];
        snprintf(tmp, sizeof tmp, "%zu", i);
        if (!(d->ids[i] = strdup(tmp)))
            goto oom;
    }
    d->nimage_dims = h.ndims - 1;
    for (unsigned k = 1; k < h.ndims; k++)
        d->image_dims[k - 1] = h.dims[k];
    if (labels) {
        d->target_name = strdup("label");
        d->y_text = calloc(n, sizeof *d->y_text);
        d->y = malloc(n * sizeof *d->y);
        if (!d->target_name || !d->y_text || !d->y)
            goto oom;
        d->y_numeric = 1;
        for (size_t i = 0; i < n; i++) {
            char tmp[16];
            snprintf(tmp, sizeof tmp, "%d", labels[i]);
            if (!(d->y_text[i] = strdup(tmp)))
                goto oom;
            d->y[i] = labels[i];
        }
    }
    free(labels);
    free(map);
    *out = d;
    return 0;
oom:
    rc = mp_error_set(e, MP_ENOMEM, "%s: out of memory", path);
fail:
    free(labels);
    free(map);
    mp_dataset_destroy(d);
    return rc;
}
