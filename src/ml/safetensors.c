#include "ml/safetensors.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileio.h"

/* A header larger than this is taken as corruption rather than a model:
 * real headers are a few kilobytes, and the limit bounds what a hostile
 * length field can make us parse. */
#define MP_ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)

/* The file is little-endian. The big-endian path is compiled everywhere (so
 * it cannot rot) but only taken on a big-endian host. */
#if defined(__BYTE_ORDER__) && defined(__ORDER_BIG_ENDIAN__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define MP_HOST_BIG_ENDIAN 1
#else
#define MP_HOST_BIG_ENDIAN 0
#endif

/* Copies nelems elements of esize bytes between host order and file order
 * (the same operation in both directions). */
static void copy_le(void *dst, const void *src, size_t nelems, size_t esize)
{
    if (!MP_HOST_BIG_ENDIAN || esize == 1) {
        if (nelems)
            memcpy(dst, src, nelems * esize);
        return;
    }
    unsigned char *d = dst;
    const unsigned char *s = src;
    for (size_t i = 0; i < nelems; i++, d += esize, s += esize)
        for (size_t k = 0; k < esize; k++)
            d[k] = s[esize - 1 - k];
}

static int utf8_valid(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        unsigned c = *s;
        int extra;
        uint32_t cp;
        if (c < 0x80) {
            s++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            extra = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            extra = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            extra = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        for (int i = 1; i <= extra; i++) {
            if ((s[i] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i] & 0x3F);
        }
        if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        s += extra + 1;
    }
    return 1;
}

static void format_shape(char *out, size_t n, int ndim, const int64_t *shape)
{
    size_t used = (size_t)snprintf(out, n, "[");
    for (int i = 0; i < ndim && used < n; i++)
        used += (size_t)snprintf(out + used, n - used, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (used < n)
        snprintf(out + used, n - used, "]");
}

/* ---- encoding ---------------------------------------------------------- */

static int cmp_tensor_ptr_by_name(const void *a, const void *b)
{
    const mp_tensor *x = *(const mp_tensor *const *)a, *y = *(const mp_tensor *const *)b;
    return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Validates one tensor of a bag before it is written and returns its byte
 * size in *nbytes: a bag filled through mp_tensors_add is always valid, but
 * the struct is public and may have been built by hand. */
static int check_tensor(const mp_tensor *t, size_t *nbytes, mp_error *e)
{
    if (!t->name || !*t->name)
        return mp_error_set(e, MP_EINVAL, "tensor with an empty name");
    if (!strcmp(t->name, "__metadata__"))
        return mp_error_set(e, MP_EINVAL, "tensor name '__metadata__' is reserved");
    if (!utf8_valid(t->name))
        return mp_error_set(e, MP_EINVAL, "tensor name '%s' is not valid UTF-8", t->name);
    size_t esize = mp_dtype_size(t->dtype);
    if (!esize)
        return mp_error_set(e, MP_EINVAL, "tensor '%s': unknown dtype %d", t->name, (int)t->dtype);
    if (t->ndim < 0 || t->ndim > MP_TENSOR_MAX_DIMS)
        return mp_error_set(e, MP_EINVAL, "tensor '%s': rank %d is outside 0..%d", t->name,
                            t->ndim, MP_TENSOR_MAX_DIMS);
    size_t count = 1;
    int empty = 0;
    for (int i = 0; i < t->ndim; i++) {
        if (t->shape[i] < 0)
            return mp_error_set(e, MP_EINVAL, "tensor '%s': negative extent", t->name);
        if (t->shape[i] == 0)
            empty = 1;
    }
    if (empty) {
        count = 0;
    } else {
        for (int i = 0; i < t->ndim; i++) {
            if ((uint64_t)t->shape[i] > SIZE_MAX / esize / count)
                return mp_error_set(e, MP_EINVAL, "tensor '%s': shape too large", t->name);
            count *= (size_t)t->shape[i];
        }
    }
    if (count != t->nelems)
        return mp_error_set(e, MP_EINVAL, "tensor '%s': nelems %zu does not match its shape (%zu)",
                            t->name, t->nelems, count);
    if (count && !t->data)
        return mp_error_set(e, MP_EINVAL, "tensor '%s': no data", t->name);
    *nbytes = count * esize;
    return 0;
}

static json_t *shape_json(const mp_tensor *t)
{
    json_t *a = json_array();
    for (int i = 0; a && i < t->ndim; i++)
        if (json_array_append_new(a, json_integer((json_int_t)t->shape[i]))) {
            json_decref(a);
            return NULL;
        }
    return a;
}

/* Builds the header object; *data_len receives the data section size. */
static int build_header(const mp_tensors *b, const mp_tensor *const *order, json_t **out,
                        uint64_t *data_len, mp_error *e)
{
    json_t *root = json_object();
    if (!root)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    uint64_t off = 0;
    for (size_t k = 0; k < b->n; k++) {
        const mp_tensor *t = order[k];
        size_t nbytes = 0;
        int rc = check_tensor(t, &nbytes, e);
        if (rc) {
            json_decref(root);
            return rc;
        }
        if (k > 0 && !strcmp(t->name, order[k - 1]->name)) {
            json_decref(root);
            return mp_error_set(e, MP_EINVAL, "tensor '%s' appears twice", t->name);
        }
        if (nbytes > (uint64_t)INT64_MAX - off) {
            json_decref(root);
            return mp_error_set(e, MP_EINVAL, "tensors too large for one file");
        }
        json_t *shape = shape_json(t);
        json_t *entry = shape ? json_pack("{s:s, s:o, s:[I,I]}", "dtype", mp_dtype_name(t->dtype),
                                          "shape", shape, "data_offsets", (json_int_t)off,
                                          (json_int_t)(off + nbytes))
                              : NULL;
        if (!entry || json_object_set_new(root, t->name, entry)) {
            json_decref(root);
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        }
        off += nbytes;
    }
    if (b->nmeta > 0) {
        json_t *meta = json_object();
        if (!meta || json_object_set_new(root, "__metadata__", meta)) {
            json_decref(root);
            return mp_error_set(e, MP_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < b->nmeta; i++) {
            const char *k = b->meta_keys[i], *v = b->meta_vals[i];
            int rc = 0;
            if (!k || !v)
                rc = mp_error_set(e, MP_EINVAL, "metadata entry %zu is NULL", i);
            else if (!utf8_valid(k))
                rc = mp_error_set(e, MP_EINVAL, "metadata key '%s' is not valid UTF-8", k);
            else if (!utf8_valid(v))
                rc = mp_error_set(e, MP_EINVAL, "metadata '%s': value is not valid UTF-8", k);
            else if (json_object_get(meta, k))
                rc = mp_error_set(e, MP_EINVAL, "metadata key '%s' appears twice", k);
            else if (json_object_set_new(meta, k, json_string(v)))
                rc = mp_error_set(e, MP_ENOMEM, "out of memory");
            if (rc) {
                json_decref(root);
                return rc;
            }
        }
    }
    *out = root;
    *data_len = off;
    return 0;
}

int mp_safetensors_encode(const mp_tensors *b, mp_buf *out, mp_error *e)
{
    const mp_tensor **order = malloc((b->n ? b->n : 1) * sizeof *order);
    if (!order)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    for (size_t i = 0; i < b->n; i++)
        order[i] = &b->t[i];
    if (b->n > 1)
        qsort(order, b->n, sizeof *order, cmp_tensor_ptr_by_name);
    json_t *root = NULL;
    uint64_t data_len = 0;
    int rc = build_header(b, order, &root, &data_len, e);
    if (rc) {
        free(order);
        return rc;
    }
    char *hdr = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    if (!hdr) {
        free(order);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    size_t hlen = strlen(hdr);
    size_t padded = (hlen + 7) & ~(size_t)7; /* keeps the data section 8-aligned */
    if (padded > MP_ST_MAX_HEADER) {
        free(hdr);
        free(order);
        return mp_error_set(e, MP_EINVAL, "header of %zu bytes exceeds the %" PRIu64 "-byte limit",
                            padded, MP_ST_MAX_HEADER);
    }
    unsigned char lenbytes[8];
    for (int i = 0; i < 8; i++)
        lenbytes[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    mp_buf_append(out, lenbytes, 8);
    mp_buf_append(out, hdr, hlen);
    for (size_t i = hlen; i < padded; i++)
        mp_buf_putc(out, ' ');
    free(hdr);
    for (size_t k = 0; k < b->n && !out->oom; k++) {
        const mp_tensor *t = order[k];
        size_t esize = mp_dtype_size(t->dtype), nbytes = t->nelems * esize;
        if (!nbytes)
            continue;
        size_t at = out->len;
        mp_buf_append(out, t->data, nbytes); /* reserves the room */
        if (!out->oom && MP_HOST_BIG_ENDIAN)
            copy_le(out->data + at, t->data, t->nelems, esize);
    }
    free(order);
    if (out->oom)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    return 0;
}

/* ---- decoding ---------------------------------------------------------- */

typedef struct st_entry {
    const char *name; /* borrowed from the parsed header */
    mp_dtype dtype;
    int ndim;
    int64_t shape[MP_TENSOR_MAX_DIMS];
    size_t nelems;
    uint64_t begin, end;
} st_entry;

static int cmp_entry_offsets(const void *a, const void *b)
{
    const st_entry *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return strcmp(x->name, y->name);
}

static int cmp_entry_names(const void *a, const void *b)
{
    return strcmp(((const st_entry *)a)->name, ((const st_entry *)b)->name);
}

static int parse_dtype(const char *src, const char *name, json_t *v, mp_dtype *dt, mp_error *e)
{
    static const struct {
        const char *s;
        mp_dtype dt;
    } known[] = {{"F64", MP_DT_F64}, {"F32", MP_DT_F32}, {"I64", MP_DT_I64},
                 {"I32", MP_DT_I32}, {"U8", MP_DT_U8}};
    /* Valid in safetensors, but we hold no such element type. */
    static const char *const foreign[] = {"BOOL", "F16", "BF16", "I8", "I16", "U16", "U32",
                                          "U64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4", "F6_E2M3",
                                          "F6_E3M2", "C64", NULL};
    const char *s = json_string_value(v);
    if (!s)
        return mp_error_set(e, MP_EFORMAT, "%s: tensor '%s': dtype is not a string", src, name);
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(s, known[i].s)) {
            *dt = known[i].dt;
            return 0;
        }
    for (size_t i = 0; foreign[i]; i++)
        if (!strcmp(s, foreign[i]))
            return mp_error_set(e, MP_EFORMAT,
                                "%s: tensor '%s': dtype %s is not supported (supported: F64, F32, "
                                "I64, I32, U8)",
                                src, name, s);
    return mp_error_set(e, MP_EFORMAT, "%s: tensor '%s': unknown dtype '%s'", src, name, s);
}

static int parse_entry(const char *src, const char *name, json_t *obj, uint64_t data_len,
                       st_entry *out, mp_error *e)
{
    if (!*name)
        return mp_error_set(e, MP_EFORMAT, "%s: tensor with an empty name", src);
    if (!json_is_object(obj))
        return mp_error_set(e, MP_EFORMAT, "%s: tensor '%s': entry is not a JSON object", src, name);
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        if (strcmp(key, "dtype") && strcmp(key, "shape") && strcmp(key, "data_offsets"))
            return mp_error_set(e, MP_EFORMAT, "%s: tensor '%s': unexpected field '%s'", src, name,
                                key);
    }
    json_t *jdt = json_object_get(obj, "dtype"), *jshape = json_object_get(obj, "shape"),
           *joff = json_object_get(obj, "data_offsets");
    if (!jdt || !jshape || !joff)
        return mp_error_set(e, MP_EFORMAT, "%s: tensor '%s': missing field '%s'", src, name,
                            !jdt ? "dtype" : !jshape ? "shape" : "data_offsets");
    memset(out, 0, sizeof *out);
    out->name = name;
    int rc = parse_dtype(src, name, jdt, &out->dtype, e);
    if (rc)
        return rc;

    if (!json_is_array(jshape))
        return mp_error_set(e, MP_EFORMAT, "%s: tensor '%s': shape is not an array", src, name);
    size_t rank = json_array_size(jshape);
    if (rank > MP_TENSOR_MAX_DIMS)
        return mp_error_set(e, MP_EFORMAT, "%s: tensor '%s': rank %zu exceeds the limit of %d", src,
                            name, rank, MP_TENSOR_MAX_DIMS);
    out->ndim = (int)rank;
    int empty = 0;
    for (size_t i = 0; i < rank; i++) {
        json_t *d = json_array_get(jshape, i);
        if (!json_is_integer(d) || json_integer_value(d) < 0)
            return mp_error_set(e, MP_EFORMAT,
                                "%s: tensor '%s': shape entry %zu is not a non-negative integer",
                                src, name, i);
        out->shape[i] = (int64_t)json_integer_value(d);
        if (out->shape[i] == 0)
            empty = 1;
    }
    char shp[256];
    format_shape(shp, sizeof shp, out->ndim, out->shape);
    size_t esize = mp_dtype_size(out->dtype);
    uint64_t nelems = 1;
    if (empty) {
        nelems = 0;
    } else {
        /* Bound by SIZE_MAX so that nelems * esize fits both uint64 and size_t. */
        for (int i = 0; i < out->ndim; i++) {
            if ((uint64_t)out->shape[i] > (uint64_t)SIZE_MAX / esize / nelems)
                return mp_error_set(e, MP_EFORMAT,
                                    "%s: tensor '%s': shape %s of %s is too large (byte size "
                                    "overflows)",
                                    src, name, shp, mp_dtype_name(out->dtype));
            nelems *= (uint64_t)out->shape[i];
        }
    }
    out->nelems = (size_t)nelems;
    uint64_t need = nelems * esize;

    if (!json_is_array(joff) || json_array_size(joff) != 2 ||
        !json_is_integer(json_array_get(joff, 0)) || !json_is_integer(json_array_get(joff, 1)))
        return mp_error_set(e, MP_EFORMAT, "%s: tensor '%s': data_offsets is not two integers", src,
                            name);
    json_int_t jb = json_integer_value(json_array_get(joff, 0));
    json_int_t je = json_integer_value(json_array_get(joff, 1));
    if (jb < 0 || je < 0)
        return mp_error_set(e, MP_EFORMAT, "%s: tensor '%s': data_offsets [%lld, %lld] are negative",
                            src, name, (long long)jb, (long long)je);
    if (jb > je)
        return mp_error_set(e, MP_EFORMAT,
                            "%s: tensor '%s': data_offsets [%lld, %lld] begin after they end", src,
                            name, (long long)jb, (long long)je);
    out->begin = (uint64_t)jb;
    out->end = (uint64_t)je;
    if (out->end > data_len)
        return mp_error_set(e, MP_EFORMAT,
                            "%s: tensor '%s': data_offsets [%lld, %lld] run past the end of the "
                            "%" PRIu64 "-byte data section",
                            src, name, (long long)jb, (long long)je, data_len);
    if (out->end - out->begin != need)
        return mp_error_set(e, MP_EFORMAT,
                            "%s: tensor '%s': data_offsets [%lld, %lld] hold %" PRIu64
                            " bytes but shape %s of %s needs %" PRIu64,
                            src, name, (long long)jb, (long long)je, out->end - out->begin, shp,
                            mp_dtype_name(out->dtype), need);
    return 0;
}

static int parse_metadata(const char *src, json_t *meta, mp_tensors *b, mp_error *e)
{
    if (!json_is_object(meta))
        return mp_error_set(e, MP_EFORMAT, "%s: __metadata__ is not a JSON object", src);
    size_t n = json_object_size(meta), i = 0;
    const char **keys = malloc((n ? n : 1) * sizeof *keys);
    if (!keys)
        return mp_error_set(e, MP_ENOMEM, "%s: out of memory", src);
    const char *key;
    json_t *v;
    json_object_foreach(meta, key, v) {
        if (!json_is_string(v)) {
            free(keys);
            return mp_error_set(e, MP_EFORMAT, "%s: __metadata__ '%s' is not a string", src, key);
        }
        keys[i++] = key;
    }
    if (i > 1)
        qsort(keys, i, sizeof *keys, cmp_str_ptr); /* a stable order whatever the file's */
    for (size_t k = 0; k < i; k++)
        if (mp_tensors_set_meta(b, keys[k], json_string_value(json_object_get(meta, keys[k])))) {
            free(keys);
            return mp_error_set(e, MP_ENOMEM, "%s: out of memory", src);
        }
    free(keys);
    return 0;
}

/* Checks that the tensors, ordered by offset, tile [0, data_len) exactly:
 * each begins where the previous ended and the last ends at the end. */
static int check_coverage(const char *src, st_entry *ents, size_t n, uint64_t data_len, mp_error *e)
{
    if (n > 1)
        qsort(ents, n, sizeof *ents, cmp_entry_offsets);
    uint64_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (ents[i].begin < at)
            return mp_error_set(e, MP_EFORMAT,
                                "%s: tensor '%s': data_offsets [%" PRIu64 ", %" PRIu64
                                "] overlap tensor '%s' [%" PRIu64 ", %" PRIu64 "]",
                                src, ents[i].name, ents[i].begin, ents[i].end, ents[i - 1].name,
                                ents[i - 1].begin, ents[i - 1].end);
        if (ents[i].begin > at)
            return mp_error_set(e, MP_EFORMAT,
                                "%s: data bytes [%" PRIu64 ", %" PRIu64
                                ") belong to no tensor (hole before tensor '%s')",
                                src, at, ents[i].begin, ents[i].name);
        at = ents[i].end;
    }
    if (at != data_len)
        return mp_error_set(e, MP_EFORMAT,
                            "%s: %" PRIu64 " trailing bytes after the last tensor (data section is "
                            "%" PRIu64 " bytes, tensors cover %" PRIu64 ")",
                            src, data_len - at, data_len, at);
    return 0;
}

static int fill_bag(const char *src, const unsigned char *data, st_entry *ents, size_t n,
                    mp_tensors *b, mp_error *e)
{
    if (n == 0)
        return 0;
    qsort(ents, n, sizeof *ents, cmp_entry_names);
    b->t = calloc(n, sizeof *b->t);
    if (!b->t)
        return mp_error_set(e, MP_ENOMEM, "%s: out of memory", src);
    for (size_t i = 0; i < n; i++) {
        const st_entry *s = &ents[i];
        size_t esize = mp_dtype_size(s->dtype), nbytes = s->nelems * esize;
        mp_tensor *t = &b->t[i];
        t->name = strdup(s->name);
        t->data = malloc(nbytes ? nbytes : 1);
        if (!t->name || !t->data) {
            free(t->name);
            free(t->data);
            return mp_error_set(e, MP_ENOMEM, "%s: tensor '%s': out of memory", src, s->name);
        }
        b->n = i + 1; /* from here mp_tensors_free owns it */
        t->dtype = s->dtype;
        t->ndim = s->ndim;
        memcpy(t->shape, s->shape, sizeof t->shape);
        t->nelems = s->nelems;
        copy_le(t->data, data + s->begin, s->nelems, esize);
    }
    return 0;
}

int mp_safetensors_decode(const char *source, const void *data, size_t len, mp_tensors *b,
                          mp_error *e)
{
    const char *src = source ? source : "(safetensors)";
    if (b->n || b->nmeta || b->t || b->meta_keys)
        return mp_error_set(e, MP_EINVAL, "%s: decoding needs an empty tensor bag", src);
    const unsigned char *p = data;
    if (len < 8)
        return mp_error_set(e, MP_EFORMAT,
                            "%s: file of %zu bytes is too short for a safetensors header", src, len);
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++)
        hlen |= (uint64_t)p[i] << (8 * i);
    if (hlen > MP_ST_MAX_HEADER)
        return mp_error_set(e, MP_EFORMAT,
                            "%s: header length %" PRIu64 " is absurd (limit %" PRIu64 " bytes)", src,
                            hlen, MP_ST_MAX_HEADER);
    if (hlen > len - 8)
        return mp_error_set(e, MP_EFORMAT,
                            "%s: header length %" PRIu64 " runs past the end of the file (%zu bytes "
                            "follow the length field)",
                            src, hlen, len - 8);
    json_error_t jerr;
    /* DECODE_ANY so that "[1]" is reported as not an object, not as bad JSON. */
    json_t *root = json_loadb((const char *)p + 8, (size_t)hlen,
                              JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root)
        return mp_error_set(e, MP_EFORMAT, "%s: header is not valid JSON: %s (at header byte %d)",
                            src, jerr.text, jerr.position);
    if (!json_is_object(root)) {
        json_decref(root);
        return mp_error_set(e, MP_EFORMAT, "%s: header is not a JSON object", src);
    }
    const unsigned char *dsec = p + 8 + hlen;
    uint64_t data_len = (uint64_t)(len - 8 - (size_t)hlen);
    size_t cap = json_object_size(root), n = 0;
    st_entry *ents = malloc((cap ? cap : 1) * sizeof *ents);
    int rc = 0;
    if (!ents) {
        rc = mp_error_set(e, MP_ENOMEM, "%s: out of memory", src);
        goto done;
    }
    const char *key;
    json_t *v;
    json_t *meta = NULL;
    json_object_foreach(root, key, v) {
        if (!strcmp(key, "__metadata__")) {
            meta = v;
            continue;
        }
        if ((rc = parse_entry(src, key, v, data_len, &ents[n], e)))
            goto done;
        n++;
    }
    if ((rc = check_coverage(src, ents, n, data_len, e)))
        goto done;
    if (meta && (rc = parse_metadata(src, meta, b, e)))
        goto done;
    rc = fill_bag(src, dsec, ents, n, b, e);
done:
    free(ents);
    json_decref(root);
    if (rc)
        mp_tensors_free(b);
    return rc;
}

int mp_safetensors_write(const char *path, const mp_tensors *b, mp_error *e)
{
    mp_buf buf = {0};
    int rc = mp_safetensors_encode(b, &buf, e);
    if (rc) {
        mp_buf_free(&buf);
        mp_error_prefix(e, "%s", path);
        return rc;
    }
    rc = mp_write_atomic(path, buf.data, buf.len, e);
    mp_buf_free(&buf);
    return rc;
}

int mp_safetensors_read(const char *path, mp_tensors *b, mp_error *e)
{
    char *data;
    size_t len;
    int rc = mp_read_file_raw(path, &data, &len, e);
    if (rc)
        return rc;
    rc = mp_safetensors_decode(path, data, len, b, e);
    free(data);
    return rc;
}
