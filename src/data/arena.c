#include "data/arena.h"

#include <stdlib.h>
#include <string.h>

struct mp_arena_chunk {
    mp_arena_chunk *next;
    size_t size; /* usable bytes after the header */
};

/* The usable area starts at the first 16-byte boundary after the header. */
static char *chunk_data(mp_arena_chunk *c)
{
    uintptr_t p = (uintptr_t)(c + 1);
    p = (p + (MP_ARENA_ALIGN - 1)) & ~(uintptr_t)(MP_ARENA_ALIGN - 1);
    return (char *)p;
}

void mp_arena_init(mp_arena *a, size_t chunk_size)
{
    memset(a, 0, sizeof *a);
    a->chunk_size = chunk_size ? chunk_size : MP_ARENA_DEFAULT_CHUNK;
}

void mp_arena_set_limit(mp_arena *a, size_t limit)
{
    a->limit = limit;
}

static mp_arena_chunk *chunk_new(size_t size)
{
    if (size > SIZE_MAX - sizeof(mp_arena_chunk) - 2 * MP_ARENA_ALIGN)
        return NULL;
    mp_arena_chunk *c = malloc(sizeof(mp_arena_chunk) + MP_ARENA_ALIGN + size);
    if (!c)
        return NULL;
    c->size = size;
    c->next = NULL;
    return c;
}

void *mp_arena_alloc_slow(mp_arena *a, size_t n)
{
    if (a->chunk_size == 0)
        a->chunk_size = MP_ARENA_DEFAULT_CHUNK;
    size_t rounded = (n + (MP_ARENA_ALIGN - 1)) & ~(size_t)(MP_ARENA_ALIGN - 1);
    if (rounded < n)
        return NULL;
    if (rounded == 0)
        rounded = MP_ARENA_ALIGN;
    if (a->limit && (rounded > a->limit || a->used > a->limit - rounded))
        return NULL;
    if ((size_t)((uintptr_t)a->end - (uintptr_t)a->cur) < rounded) {
        /* Chunks grow with the load so that large records need few of them. */
        size_t size = a->chunk_size;
        if (a->chunks && a->chunks->size > size && a->chunks->size <= SIZE_MAX / 2)
            size = a->chunks->size * 2;
        if (size < rounded)
            size = rounded;
        mp_arena_chunk *c = chunk_new(size);
        if (!c)
            return NULL;
        c->next = a->chunks;
        a->chunks = c;
        a->cur = chunk_data(c);
        a->end = a->cur + size;
    }
    char *p = a->cur;
    a->cur += rounded;
    a->used += rounded;
    a->last = p;
    return p;
}

void *mp_arena_calloc(mp_arena *a, size_t n)
{
    void *p = mp_arena_alloc(a, n);
    if (p)
        memset(p, 0, n);
    return p;
}

void *mp_arena_realloc(mp_arena *a, void *p, size_t old_n, size_t new_n)
{
    if (p && p == a->last) {
        size_t old_r = (old_n + (MP_ARENA_ALIGN - 1)) & ~(size_t)(MP_ARENA_ALIGN - 1);
        size_t new_r = (new_n + (MP_ARENA_ALIGN - 1)) & ~(size_t)(MP_ARENA_ALIGN - 1);
        if (new_r >= new_n && (char *)p + old_r == a->cur) {
            if (new_r <= old_r) {
                a->cur = (char *)p + new_r;
                a->used -= old_r - new_r;
                return p;
            }
            size_t extra = new_r - old_r;
            if ((size_t)((uintptr_t)a->end - (uintptr_t)a->cur) >= extra &&
                (a->limit == 0 || a->used + extra <= a->limit)) {
                a->cur += extra;
                a->used += extra;
                return p;
            }
        }
    }
    if (new_n <= old_n && p)
        return p;
    void *q = mp_arena_alloc(a, new_n);
    if (q && p && old_n)
        memcpy(q, p, old_n < new_n ? old_n : new_n);
    return q;
}

char *mp_arena_strndup(mp_arena *a, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *p = mp_arena_alloc(a, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void mp_arena_reset(mp_arena *a)
{
    mp_arena_chunk *c = a->chunks;
    if (c && c->next) {
        /* Several chunks were needed: replace them by one that holds the
         * whole load, so the next similar record fits without malloc. */
        size_t want = a->used;
        size_t total = 0;
        for (mp_arena_chunk *it = c; it; it = it->next)
            total += it->size;
        if (want < total)
            want = total;
        while (c) {
            mp_arena_chunk *next = c->next;
            free(c);
            c = next;
        }
        a->chunks = chunk_new(want);
        c = a->chunks; /* may be NULL: the next allocation retries */
    }
    if (c) {
        a->cur = chunk_data(c);
        a->end = a->cur + c->size;
    } else {
        a->cur = a->end = NULL;
    }
    a->last = NULL;
    a->used = 0;
}

void mp_arena_free(mp_arena *a)
{
    mp_arena_chunk *c = a->chunks;
    while (c) {
        mp_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->chunks = NULL;
    a->cur = a->end = a->last = NULL;
    a->used = 0;
}

size_t mp_arena_chunk_count(const mp_arena *a)
{
    size_t n = 0;
    for (const mp_arena_chunk *c = a->chunks; c; c = c->next)
        n++;
    return n;
}
