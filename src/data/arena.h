/* A bump allocator for per-record and per-query memory.
 *
 * Allocation is a pointer bump in the current chunk; nothing is freed
 * individually. mp_arena_reset() releases everything allocated since the
 * last reset at once, which is how a decoded row (all its strings, arrays,
 * maps and structs) is freed. After a reset that found more than one chunk
 * in use, the arena keeps a single chunk big enough for that whole load, so
 * a steady stream of similar records allocates nothing from malloc.
 *
 * Every allocation is aligned to MP_ARENA_ALIGN (16) bytes.
 *
 * Ownership: the arena owns its chunks; mp_arena_free() returns them. The
 * struct itself is the caller's (usually on the stack or inside another
 * object). Not thread-safe: one arena per thread / per record in flight. */
#ifndef MP_DATA_ARENA_H
#define MP_DATA_ARENA_H

#include <stddef.h>
#include <stdint.h>

#define MP_ARENA_ALIGN 16
#define MP_ARENA_DEFAULT_CHUNK 8192

typedef struct mp_arena_chunk mp_arena_chunk;

typedef struct mp_arena {
    char *cur;             /* next free byte in the current chunk */
    char *end;             /* end of the current chunk */
    char *last;            /* start of the most recent allocation (for in-place growth) */
    mp_arena_chunk *chunks; /* current chunk first, then older ones */
    size_t chunk_size;     /* minimum size of a new chunk */
    size_t used;           /* bytes handed out since the last reset (incl. padding) */
    size_t limit;          /* 0, or the most bytes handed out between resets */
} mp_arena;

/* Initialises an empty arena (no memory is allocated until first use).
 * chunk_size 0 means MP_ARENA_DEFAULT_CHUNK. */
void mp_arena_init(mp_arena *a, size_t chunk_size);

/* Caps the bytes handed out between resets (0 = no cap): past it,
 * allocations return NULL as if memory ran out. Guards against hostile
 * records that would otherwise grow an arena without bound. */
void mp_arena_set_limit(mp_arena *a, size_t limit);

void *mp_arena_alloc_slow(mp_arena *a, size_t n);

/* n bytes, 16-byte aligned, uninitialised; NULL when out of memory (or past
 * the limit). n == 0 returns a valid unique-enough pointer. */
static inline void *mp_arena_alloc(mp_arena *a, size_t n)
{
    size_t rounded = (n + (MP_ARENA_ALIGN - 1)) & ~(size_t)(MP_ARENA_ALIGN - 1);
    if (rounded == 0)
        rounded = MP_ARENA_ALIGN; /* n == 0 (or wrapped: caught below) */
    if (rounded >= n && (size_t)((uintptr_t)a->end - (uintptr_t)a->cur) >= rounded &&
        (a->limit == 0 || a->used + rounded <= a->limit)) {
        char *p = a->cur;
        a->cur += rounded;
        a->used += rounded;
        a->last = p;
        return p;
    }
    return mp_arena_alloc_slow(a, n);
}

/* Like mp_arena_alloc, zero-filled. */
void *mp_arena_calloc(mp_arena *a, size_t n);

/* Grows (or shrinks) an allocation of old_n bytes at p to new_n bytes.
 * When p is the most recent allocation and the chunk has room this is done
 * in place; otherwise a new block is allocated and the old bytes copied
 * (the old block stays until the next reset). p may be NULL (old_n 0). */
void *mp_arena_realloc(mp_arena *a, void *p, size_t old_n, size_t new_n);

/* A NUL-terminated copy of n bytes at s (s may hold NULs; they are copied). */
char *mp_arena_strndup(mp_arena *a, const char *s, size_t n);

/* Frees everything allocated since the last reset; the memory is kept for
 * reuse (see the header comment). */
void mp_arena_reset(mp_arena *a);

/* Returns all memory to the system; the arena can be reused after
 * mp_arena_init or directly (it is left empty). */
void mp_arena_free(mp_arena *a);

/* Chunks currently held (for tests and diagnostics). */
size_t mp_arena_chunk_count(const mp_arena *a);

/* Bytes handed out since the last reset. */
static inline size_t mp_arena_used(const mp_arena *a)
{
    return a->used;
}

#endif
