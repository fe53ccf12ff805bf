#include "core/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

struct slot {
    char *key;
    uint64_t hash;
    int value;
};

struct mp_strmap {
    struct slot *slots;
    size_t cap; /* power of two */
    size_t size;
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

mp_strmap *mp_strmap_create(void)
{
    mp_strmap *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->cap = 16;
    m->slots = calloc(m->cap, sizeof *m->slots);
    if (!m->slots) {
        free(m);
        return NULL;
    }
    return m;
}

void mp_strmap_destroy(mp_strmap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].key);
    free(m->slots);
    free(m);
}

static struct slot *find(const mp_strmap *m, const char *key, uint64_t h)
{
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct slot *s = &m->slots[i];
        if (!s->key || (s->hash == h && strcmp(s->key, key) == 0))
            return s;
    }
}

int mp_strmap_get(const mp_strmap *m, const char *key)
{
    struct slot *s = find(m, key, fnv1a(key));
    return s->key ? s->value : -1;
}

static int grow(mp_strmap *m)
{
    size_t ncap = m->cap * 2;
    struct slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return MP_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        struct slot *s = &m->slots[i];
        if (!s->key)
            continue;
        size_t j = s->hash & (ncap - 1);
        while (ns[j].key)
            j = (j + 1) & (ncap - 1);
        ns[j] = *s;
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

int mp_strmap_put(mp_strmap *m, const char *key, int value)
{
    if ((m->size + 1) * 4 > m->cap * 3 && grow(m))
        return MP_ENOMEM;
    uint64_t h = fnv1a(key);
    struct slot *s = find(m, key, h);
    if (!s->key) {
        s->key = strdup(key);
        if (!s->key)
            return MP_ENOMEM;
        s->hash = h;
        m->size++;
    }
    s->value = value;
    return 0;
}

size_t mp_strmap_size(const mp_strmap *m) { return m->size; }
