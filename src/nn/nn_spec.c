/* The spec language of networks (grammar in nn_spec.h) and the table of
 * layer kinds. */
#include "nn/nn_spec.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "nn/layers.h"

/* The order messages list the kinds in: the common ones first. */
static const mp_nn_layer_ops *const kinds[] = {
    &mp_nn_dense_ops,   &mp_nn_conv2d_ops,  &mp_nn_maxpool_ops,   &mp_nn_avgpool_ops,
    &mp_nn_lstm_ops,    &mp_nn_gru_ops,     &mp_nn_flatten_ops,   &mp_nn_dropout_ops,
    &mp_nn_batchnorm_ops, &mp_nn_relu_ops,  &mp_nn_leaky_relu_ops, &mp_nn_sigmoid_ops,
    &mp_nn_tanh_ops,    &mp_nn_softmax_ops,
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

const mp_nn_layer_ops *const *mp_nn_spec_kinds(size_t *n)
{
    if (n)
        *n = NKINDS;
    return kinds;
}

const mp_nn_layer_ops *mp_nn_spec_find(const char *name, size_t len)
{
    for (size_t k = 0; k < NKINDS; k++) {
        const char *kn = kinds[k]->name;
        if (strlen(kn) == len && strncasecmp(kn, name, len) == 0)
            return kinds[k];
    }
    return NULL;
}

void mp_nn_spec_free(mp_nn_spec *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        mp_nn_spec_layer *l = &s->layers[i];
        for (size_t a = 0; a < l->nargs; a++) {
            free((char *)l->args[a].key);
            free((char *)l->args[a].word);
        }
        free(l->args);
        free(l->text);
    }
    free(s->layers);
    s->layers = NULL;
    s->n = 0;
}

typedef struct parser {
    const char *s;
    size_t i;
    mp_error *e;
} parser;

static int is_ident_start(char c) { return isalpha((unsigned char)c) || c == '_'; }
static int is_ident(char c) { return isalnum((unsigned char)c) || c == '_'; }

static void skip_space(parser *p)
{
    while (p->s[p->i] && isspace((unsigned char)p->s[p->i]))
        p->i++;
}

/* A syntax error at byte `at`, naming what was found there. */
static int syntax(parser *p, size_t at, const char *what)
{
    char got[32];
    unsigned char c = (unsigned char)p->s[at];
    if (!c)
        snprintf(got, sizeof got, "the end of the spec");
    else if (isprint(c))
        snprintf(got, sizeof got, "'%c'", c);
    else
        snprintf(got, sizeof got, "byte 0x%02x", c);
    return mp_error_set(p->e, MP_EINVAL, "spec position %zu: expected %s, got %s (in \"%s\")",
                        at + 1, what, got, p->s);
}

static char *dup_range(const char *s, size_t len)
{
    char *r = malloc(len + 1);
    if (r) {
        memcpy(r, s, len);
        r[len] = '\0';
    }
    return r;
}

/* Scans a number literal at s; returns its length (0 when none). */
static size_t scan_number(const char *s)
{
    size_t i = 0, digits = 0;
    if (s[i] == '+' || s[i] == '-')
        i++;
    while (isdigit((unsigned char)s[i]))
        i++, digits++;
    if (s[i] == '.') {
        i++;
        while (isdigit((unsigned char)s[i]))
            i++, digits++;
    }
    if (!digits)
        return 0;
    if (s[i] == 'e' || s[i] == 'E') {
        size_t j = i + 1;
        if (s[j] == '+' || s[j] == '-')
            j++;
        if (!isdigit((unsigned char)s[j]))
            return i; /* "1e": the caller reports the stray 'e' */
        while (isdigit((unsigned char)s[j]))
            j++;
        i = j;
    }
    return i;
}

/* Parses one argument at p->i into *a and appends its normalised text to t. */
static int parse_arg(parser *p, mp_nn_arg *a, mp_buf *t)
{
    size_t start = p->i;
    if (is_ident_start(p->s[p->i])) {
        size_t j = p->i;
        while (is_ident(p->s[j]))
            j++;
        size_t wlen = j - p->i;
        size_t k = j;
        while (p->s[k] && isspace((unsigned char)p->s[k]))
            k++;
        if (p->s[k] == '=') {
            a->key = dup_range(p->s + start, wlen);
            if (!a->key)
                return mp_error_set(p->e, MP_ENOMEM, "out of memory parsing a network spec");
            mp_buf_append(t, p->s + start, wlen);
            mp_buf_putc(t, '=');
            p->i = k + 1;
            skip_space(p);
        }
    }
    size_t vstart = p->i;
    size_t nlen = scan_number(p->s + vstart);
    if (nlen) {
        if (is_ident(p->s[vstart + nlen]) || p->s[vstart + nlen] == '.')
            return syntax(p, vstart + nlen, "a number");
        char buf[64];
        if (nlen >= sizeof buf)
            return mp_error_set(p->e, MP_EINVAL, "spec position %zu: number too long (in \"%s\")",
                                vstart + 1, p->s);
        memcpy(buf, p->s + vstart, nlen);
        buf[nlen] = '\0';
        a->num = strtod(buf, NULL);
        if (!isfinite(a->num))
            return mp_error_set(p->e, MP_EINVAL,
                                "spec position %zu: number %s is out of range (in \"%s\")",
                                vstart + 1, buf, p->s);
        mp_buf_append(t, p->s + vstart, nlen);
        p->i = vstart + nlen;
        return 0;
    }
    if (is_ident_start(p->s[vstart])) {
        size_t j = vstart;
        while (is_ident(p->s[j]))
            j++;
        a->word = dup_range(p->s + vstart, j - vstart);
        if (!a->word)
            return mp_error_set(p->e, MP_ENOMEM, "out of memory parsing a network spec");
        a->num = NAN;
        mp_buf_append(t, p->s + vstart, j - vstart);
        p->i = j;
        return 0;
    }
    return syntax(p, vstart, a->key ? "a number or a word after '='" : "a number or a word");
}

/* Parses "(arg, ...)" at p->i (which is at '('). */
static int parse_args(parser *p, mp_nn_spec_layer *l, mp_buf *t)
{
    size_t cap = 0;
    p->i++; /* '(' */
    skip_space(p);
    if (p->s[p->i] == ')') {
        p->i++;
        return 0;
    }
    mp_buf_putc(t, '(');
    for (;;) {
        if (l->nargs == cap) {
            size_t nc = cap ? 2 * cap : 4;
            mp_nn_arg *na = realloc(l->args, nc * sizeof *na);
            if (!na)
                return mp_error_set(p->e, MP_ENOMEM, "out of memory parsing a network spec");
            l->args = na;
            cap = nc;
        }
        mp_nn_arg *a = &l->args[l->nargs++];
        memset(a, 0, sizeof *a);
        int rc = parse_arg(p, a, t);
        if (rc)
            return rc;
        skip_space(p);
        if (p->s[p->i] == ',') {
            mp_buf_putc(t, ',');
            p->i++;
            skip_space(p);
            continue;
        }
        if (p->s[p->i] == ')') {
            mp_buf_putc(t, ')');
            p->i++;
            return 0;
        }
        return syntax(p, p->i, "',' or ')'");
    }
}

static int append_layer(mp_nn_spec *s, size_t *cap, mp_error *e)
{
    if (s->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 8;
        mp_nn_spec_layer *nl = realloc(s->layers, nc * sizeof *nl);
        if (!nl)
            return mp_error_set(e, MP_ENOMEM, "out of memory parsing a network spec");
        s->layers = nl;
        *cap = nc;
    }
    memset(&s->layers[s->n++], 0, sizeof s->layers[0]);
    return 0;
}

static int unknown_layer(parser *p, size_t index, size_t start, size_t len)
{
    mp_buf known = {0};
    for (size_t k = 0; k < NKINDS; k++) {
        if (k)
            mp_buf_puts(&known, ", ");
        mp_buf_puts(&known, kinds[k]->name);
    }
    if (known.oom) {
        mp_buf_free(&known);
        return mp_error_set(p->e, MP_ENOMEM, "out of memory parsing a network spec");
    }
    int rc = mp_error_set(p->e, MP_EINVAL, "layer %zu: unknown layer \"%.*s\"; known: %s", index,
                          (int)len, p->s + start, known.data);
    mp_buf_free(&known);
    return rc;
}

int mp_nn_spec_parse(const char *spec, mp_nn_spec *out, mp_error *e)
{
    memset(out, 0, sizeof *out);
    if (!spec)
        return mp_error_set(e, MP_EINVAL, "network spec is missing");
    parser p = {spec, 0, e};
    size_t cap = 0;
    skip_space(&p);
    while (spec[p.i]) {
        size_t start = p.i;
        if (!is_ident_start(spec[p.i]))
            return syntax(&p, p.i, "a layer name");
        while (is_ident(spec[p.i]))
            p.i++;
        const mp_nn_layer_ops *ops = mp_nn_spec_find(spec + start, p.i - start);
        if (!ops)
            return unknown_layer(&p, out->n + 1, start, p.i - start);
        int rc = append_layer(out, &cap, e);
        if (rc)
            return rc;
        mp_nn_spec_layer *l = &out->layers[out->n - 1];
        l->ops = ops;
        l->pos = start + 1;
        mp_buf t = {0};
        mp_buf_puts(&t, ops->name);
        size_t k = p.i;
        while (spec[k] && isspace((unsigned char)spec[k]))
            k++;
        if (spec[k] == '(') {
            p.i = k;
            rc = parse_args(&p, l, &t);
        }
        if (!rc && t.oom)
            rc = mp_error_set(e, MP_ENOMEM, "out of memory parsing a network spec");
        if (rc) {
            mp_buf_free(&t);
            return rc;
        }
        l->text = mp_buf_take(&t);
        if (spec[p.i] && !isspace((unsigned char)spec[p.i]))
            return syntax(&p, p.i, "a space between layers");
        skip_space(&p);
    }
    return 0;
}
