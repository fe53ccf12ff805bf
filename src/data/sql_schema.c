#include "data/sql_schema.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/strmap.h"

mp_schema *mp_schema_create(void)
{
    mp_schema *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->index = mp_strmap_create();
    if (!s->index) {
        free(s);
        return NULL;
    }
    return s;
}

void mp_schema_destroy(mp_schema *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->ncols; i++) {
        free(s->cols[i].name);
        free(s->cols[i].header_key);
        mp_type_free(s->cols[i].type);
    }
    free(s->cols);
    mp_strmap_destroy(s->index);
    free(s);
}

static int add_col(mp_schema *s, const char *name, mp_type *type, mp_column_ns ns,
                   const char *header_key, mp_error *e)
{
    if (!name || !*name || !type) {
        mp_type_free(type);
        return mp_error_set(e, MP_EINVAL, "a column needs a name and a type");
    }
    if (mp_strmap_get(s->index, name) >= 0) {
        mp_type_free(type);
        return mp_error_set(e, MP_EEXIST, "duplicate column name `%s`", name);
    }
    if (s->ncols >= (size_t)INT32_MAX) {
        mp_type_free(type);
        return mp_error_set(e, MP_EINVAL, "too many columns");
    }
    mp_schema_column *c = realloc(s->cols, (s->ncols + 1) * sizeof *c);
    if (c)
        s->cols = c;
    char *nm = strdup(name);
    char *hk = header_key ? strdup(header_key) : NULL;
    if (!c || !nm || (header_key && !hk) ||
        mp_strmap_put(s->index, name, (int)s->ncols) != 0) {
        free(nm);
        free(hk);
        mp_type_free(type);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    s->cols[s->ncols] = (mp_schema_column){.name = nm, .type = type, .ns = ns, .header_key = hk};
    s->ncols++;
    return 0;
}

int mp_schema_add(mp_schema *s, const char *name, mp_type *type, mp_column_ns ns, mp_error *e)
{
    return add_col(s, name, type, ns, NULL, e);
}

int mp_schema_add_header(mp_schema *s, const char *name, mp_type *type, const char *header_key,
                         mp_error *e)
{
    return add_col(s, name, type, MP_COL_HEADER, header_key, e);
}

int mp_schema_find(const mp_schema *s, const char *name)
{
    return mp_strmap_get(s->index, name);
}

size_t mp_schema_count(const mp_schema *s, mp_column_ns ns)
{
    size_t n = 0;
    for (size_t i = 0; i < s->ncols; i++)
        n += s->cols[i].ns == ns;
    return n;
}

mp_schema *mp_schema_clone(const mp_schema *s)
{
    mp_schema *c = mp_schema_create();
    if (!c)
        return NULL;
    for (size_t i = 0; i < s->ncols; i++) {
        mp_type *t = mp_type_clone(s->cols[i].type);
        if (add_col(c, s->cols[i].name, t, s->cols[i].ns, s->cols[i].header_key, NULL)) {
            mp_schema_destroy(c);
            return NULL;
        }
    }
    return c;
}

bool mp_schema_equal(const mp_schema *a, const mp_schema *b)
{
    if (a->ncols != b->ncols)
        return false;
    for (size_t i = 0; i < a->ncols; i++) {
        const mp_schema_column *x = &a->cols[i], *y = &b->cols[i];
        if (strcmp(x->name, y->name) != 0 || x->ns != y->ns || !mp_type_equal(x->type, y->type))
            return false;
        if ((x->header_key == NULL) != (y->header_key == NULL) ||
            (x->header_key && strcmp(x->header_key, y->header_key) != 0))
            return false;
    }
    return true;
}

int mp_schema_print(const mp_schema *s, mp_buf *out)
{
    for (size_t i = 0; i < s->ncols; i++) {
        const mp_schema_column *c = &s->cols[i];
        if (i)
            mp_buf_puts(out, ", ");
        mp_buf_putc(out, '`');
        for (const char *p = c->name; *p; p++) {
            if (*p == '`')
                mp_buf_putc(out, '`');
            mp_buf_putc(out, *p);
        }
        mp_buf_puts(out, "` ");
        mp_type_print(c->type, out);
        if (c->ns == MP_COL_KEY) {
            mp_buf_puts(out, " KEY");
        } else if (c->ns == MP_COL_HEADER) {
            if (!c->header_key) {
                mp_buf_puts(out, " HEADERS");
            } else {
                mp_buf_puts(out, " HEADER('");
                for (const char *p = c->header_key; *p; p++) {
                    if (*p == '\'')
                        mp_buf_putc(out, '\'');
                    mp_buf_putc(out, *p);
                }
                mp_buf_puts(out, "')");
            }
        }
    }
    return out->oom ? MP_ENOMEM : 0;
}

/* ---- parsing: split the list at top-level commas, then each column is
 * `name type [KEY | PRIMARY KEY | HEADERS | HEADER('k')]`. ---- */

static bool ends_with_word(const char *s, size_t *len, const char *word)
{
    size_t n = *len, w = strlen(word);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if (n < w || strncasecmp(s + n - w, word, w) != 0)
        return false;
    if (n > w && !isspace((unsigned char)s[n - w - 1]) && s[n - w - 1] != '>' &&
        s[n - w - 1] != ')')
        return false;
    *len = n - w;
    return true;
}

static int parse_column(mp_schema *s, const char *text, size_t len, size_t base, mp_error *e)
{
    size_t i = 0;
    while (i < len && isspace((unsigned char)text[i]))
        i++;
    mp_buf name = {0};
    if (i < len && text[i] == '`') {
        i++;
        for (;;) {
            if (i >= len) {
                mp_buf_free(&name);
                return mp_error_set(e, MP_EINPUT, "schema: unterminated `name` at offset %zu",
                                    base + i);
            }
            char c = text[i++];
            if (c == '`') {
                if (i < len && text[i] == '`') {
                    i++;
                } else {
                    break;
                }
            }
            mp_buf_putc(&name, c);
        }
    } else {
        while (i < len && (isalnum((unsigned char)text[i]) || text[i] == '_'))
            mp_buf_putc(&name, (char)toupper((unsigned char)text[i++]));
    }
    if (name.len == 0 || name.oom) {
        int oom = name.oom;
        mp_buf_free(&name);
        return oom ? mp_error_set(e, MP_ENOMEM, "out of memory")
                   : mp_error_set(e, MP_EINPUT, "schema: expected a column name at offset %zu",
                                  base + i);
    }
    /* The namespace suffix, if any, is at the end. */
    size_t tlen = len;
    mp_column_ns ns = MP_COL_VALUE;
    char *header_key = NULL;
    size_t t2 = tlen;
    if (ends_with_word(text, &t2, "KEY")) {
        ns = MP_COL_KEY;
        tlen = t2;
        size_t t3 = tlen;
        if (ends_with_word(text, &t3, "PRIMARY"))
            tlen = t3;
    } else if (ends_with_word(text, &t2, "HEADERS")) {
        ns = MP_COL_HEADER;
        tlen = t2;
    } else {
        /* HEADER('k') */
        size_t n = len;
        while (n > 0 && isspace((unsigned char)text[n - 1]))
            n--;
        if (n >= 2 && text[n - 1] == ')' && text[n - 2] == '\'') {
            size_t q = n - 2; /* closing quote */
            size_t open = q;
            while (open > 0) {
                open--;
                if (text[open] == '\'') {
                    if (open > 0 && text[open - 1] == '\'') {
                        open--;
                        continue;
                    }
                    break;
                }
            }
            size_t hdr = open;
            while (hdr > 0 && text[hdr - 1] == '(')
                hdr--;
            size_t kw = hdr;
            while (kw > 0 && isalpha((unsigned char)text[kw - 1]))
                kw--;
            if (hdr - kw == 6 && strncasecmp(text + kw, "HEADER", 6) == 0 && open + 1 <= q) {
                mp_buf k = {0};
                for (size_t j = open + 1; j < q; j++) {
                    if (text[j] == '\'' && j + 1 < q && text[j + 1] == '\'')
                        j++;
                    mp_buf_putc(&k, text[j]);
                }
                header_key = k.data ? mp_buf_take(&k) : strdup("");
                ns = MP_COL_HEADER;
                tlen = kw;
            }
        }
    }
    char *ttext = strndup(text + i, tlen > i ? tlen - i : 0);
    if (!ttext) {
        mp_buf_free(&name);
        free(header_key);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    mp_type *t = NULL;
    int rc = mp_type_parse(ttext, &t, e);
    free(ttext);
    if (rc) {
        mp_error_prefix(e, "schema: column `%s` (offset %zu)", name.data, base + i);
    } else if (ns == MP_COL_HEADER) {
        rc = add_col(s, name.data, t, ns, header_key, e);
    } else {
        rc = mp_schema_add(s, name.data, t, ns, e);
    }
    mp_buf_free(&name);
    free(header_key);
    return rc;
}

int mp_schema_parse(const char *text, mp_schema **out, mp_error *e)
{
    *out = NULL;
    mp_schema *s = mp_schema_create();
    if (!s)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    size_t start = 0, i = 0;
    int depth = 0;
    bool in_bq = false, in_sq = false;
    for (;; i++) {
        char c = text[i];
        if (c == '\0' || (c == ',' && depth == 0 && !in_bq && !in_sq)) {
            size_t len = i - start;
            bool blank = true;
            for (size_t k = start; k < i; k++)
                if (!isspace((unsigned char)text[k]))
                    blank = false;
            if (!(blank && c == '\0' && s->ncols == 0)) {
                int rc = blank ? mp_error_set(e, MP_EINPUT, "schema: empty column at offset %zu",
                                              start)
                               : parse_column(s, text + start, len, start, e);
                if (rc) {
                    mp_schema_destroy(s);
                    return rc;
                }
            }
            if (c == '\0')
                break;
            start = i + 1;
            continue;
        }
        if (in_bq) {
            if (c == '`')
                in_bq = false;
        } else if (in_sq) {
            if (c == '\'')
                in_sq = false;
        } else if (c == '`') {
            in_bq = true;
        } else if (c == '\'') {
            in_sq = true;
        } else if (c == '<' || c == '(') {
            depth++;
        } else if (c == '>' || c == ')') {
            depth--;
        }
    }
    *out = s;
    return 0;
}
