#include "sql/sql_catalog.h"

#include <stdlib.h>
#include <string.h>

void mp_source_free(mp_source *s)
{
    if (!s)
        return;
    free(s->name);
    mp_codec_destroy(s->key_codec);
    mp_codec_destroy(s->value_codec);
    mp_schema_destroy(s->schema);
    free(s->topic);
    free(s->timestamp_col);
    free(s->timestamp_format);
    free(s->sql);
    free(s->writer_query);
    free(s);
}

mp_source *mp_catalog_find(const mp_catalog *c, const char *name)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->sources[i]->name, name))
            return c->sources[i];
    return NULL;
}

int mp_catalog_add(mp_catalog *c, mp_source *src, mp_error *e)
{
    const mp_source *old = mp_catalog_find(c, src->name);
    if (old) {
        int rc = mp_error_set(e, MP_EEXIST, "cannot add %s '%s': a %s with the same name already exists",
                              src->kind == MP_SRC_STREAM ? "stream" : "table", src->name,
                              old->kind == MP_SRC_STREAM ? "stream" : "table");
        mp_source_free(src);
        return rc;
    }
    mp_source **ns = realloc(c->sources, (c->n + 1) * sizeof *ns);
    if (!ns) {
        mp_source_free(src);
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    }
    c->sources = ns;
    c->sources[c->n++] = src;
    return 0;
}

int mp_catalog_drop(mp_catalog *c, const char *name, mp_error *e)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->sources[i]->name, name)) {
            mp_source_free(c->sources[i]);
            memmove(c->sources + i, c->sources + i + 1, (c->n - i - 1) * sizeof *c->sources);
            c->n--;
            return 0;
        }
    return mp_error_set(e, MP_ENOTFOUND, "stream or table '%s' does not exist", name);
}

void mp_catalog_clear(mp_catalog *c)
{
    for (size_t i = 0; i < c->n; i++)
        mp_source_free(c->sources[i]);
    free(c->sources);
    c->sources = NULL;
    c->n = 0;
}
