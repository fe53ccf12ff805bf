#include "log/log_index.h"

#include <stdlib.h>
#include <string.h>

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void *grow(void *arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return arr;
    size_t c = *cap ? *cap : 64;
    while (c < need)
        c *= 2;
    void *p = realloc(arr, c * elem);
    if (p)
        *cap = c;
    return p;
}

int mp_offset_index_append(mp_offset_index *ix, uint32_t rel, uint32_t pos)
{
    if (ix->n && (rel <= ix->ent[ix->n - 1].rel || pos <= ix->ent[ix->n - 1].pos))
        return MP_EINVAL;
    mp_offset_entry *p = grow(ix->ent, &ix->cap, ix->n + 1, sizeof *p);
    if (!p)
        return MP_ENOMEM;
    ix->ent = p;
    ix->ent[ix->n++] = (mp_offset_entry){rel, pos};
    return 0;
}

long mp_offset_index_floor(const mp_offset_index *ix, uint32_t target)
{
    size_t lo = 0, hi = ix->n; /* first entry with rel > target */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->ent[mid].rel <= target)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (long)lo - 1;
}

void mp_offset_index_truncate_pos(mp_offset_index *ix, uint64_t pos)
{
    while (ix->n && ix->ent[ix->n - 1].pos >= pos)
        ix->n--;
}

void mp_offset_index_free(mp_offset_index *ix)
{
    free(ix->ent);
    memset(ix, 0, sizeof *ix);
}

void mp_offset_index_encode(const mp_offset_index *ix, mp_buf *out)
{
    for (size_t i = 0; i < ix->n; i++) {
        uint8_t b[MP_OFFSET_INDEX_ENTRY];
        put32(b, ix->ent[i].rel);
        put32(b + 4, ix->ent[i].pos);
        mp_buf_append(out, b, sizeof b);
    }
}

int mp_offset_index_decode(mp_offset_index *ix, const uint8_t *data, size_t len,
                           uint64_t log_size, mp_error *e)
{
    ix->n = 0;
    if (len % MP_OFFSET_INDEX_ENTRY)
        return mp_error_set(e, MP_EFORMAT, "%zu bytes is not a whole number of 8-byte entries",
                            len);
    size_t n = len / MP_OFFSET_INDEX_ENTRY;
    if (n == 0)
        return 0; /* an empty index (a segment smaller than index.interval.bytes) */
    mp_offset_entry *p = grow(ix->ent, &ix->cap, n, sizeof *p);
    if (!p)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    ix->ent = p;
    for (size_t i = 0; i < n; i++) {
        uint32_t rel = get32(data + i * 8), pos = get32(data + i * 8 + 4);
        if (pos >= log_size) {
            ix->n = 0;
            return mp_error_set(e, MP_EFORMAT, "entry %zu points to position %u past the log (%llu bytes)",
                                i, pos, (unsigned long long)log_size);
        }
        if (i && (rel <= ix->ent[i - 1].rel || pos <= ix->ent[i - 1].pos)) {
            ix->n = 0;
            return mp_error_set(e, MP_EFORMAT, "entry %zu (offset +%u, position %u) does not follow "
                                "entry %zu (+%u, %u)",
                                i, rel, pos, i - 1, ix->ent[i - 1].rel, ix->ent[i - 1].pos);
        }
        ix->ent[i] = (mp_offset_entry){rel, pos};
    }
    ix->n = n;
    return 0;
}

int mp_time_index_maybe_append(mp_time_index *ti, int64_t ts, uint32_t rel)
{
    if (ti->n) {
        if (rel < ti->ent[ti->n - 1].rel)
            return MP_EINVAL;
        if (ts <= ti->ent[ti->n - 1].ts)
            return 0;
    }
    mp_time_entry *p = grow(ti->ent, &ti->cap, ti->n + 1, sizeof *p);
    if (!p)
        return MP_ENOMEM;
    ti->ent = p;
    ti->ent[ti->n++] = (mp_time_entry){ts, rel};
    return 0;
}

long mp_time_index_last_before(const mp_time_index *ti, int64_t ts)
{
    size_t lo = 0, hi = ti->n; /* first entry with timestamp >= ts */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ti->ent[mid].ts < ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (long)lo - 1;
}

void mp_time_index_truncate_rel(mp_time_index *ti, uint32_t rel)
{
    while (ti->n && ti->ent[ti->n - 1].rel >= rel)
        ti->n--;
}

void mp_time_index_free(mp_time_index *ti)
{
    free(ti->ent);
    memset(ti, 0, sizeof *ti);
}

void mp_time_index_encode(const mp_time_index *ti, mp_buf *out)
{
    for (size_t i = 0; i < ti->n; i++) {
        uint8_t b[MP_TIME_INDEX_ENTRY];
        uint64_t ts = (uint64_t)ti->ent[i].ts;
        put32(b, (uint32_t)(ts >> 32));
        put32(b + 4, (uint32_t)ts);
        put32(b + 8, ti->ent[i].rel);
        mp_buf_append(out, b, sizeof b);
    }
}

int mp_time_index_decode(mp_time_index *ti, const uint8_t *data, size_t len, uint32_t max_rel,
                         mp_error *e)
{
    ti->n = 0;
    if (len % MP_TIME_INDEX_ENTRY)
        return mp_error_set(e, MP_EFORMAT, "%zu bytes is not a whole number of 12-byte entries",
                            len);
    size_t n = len / MP_TIME_INDEX_ENTRY;
    if (n == 0)
        return 0;
    mp_time_entry *p = grow(ti->ent, &ti->cap, n, sizeof *p);
    if (!p)
        return mp_error_set(e, MP_ENOMEM, "out of memory");
    ti->ent = p;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *q = data + i * MP_TIME_INDEX_ENTRY;
        int64_t ts = (int64_t)((uint64_t)get32(q) << 32 | get32(q + 4));
        uint32_t rel = get32(q + 8);
        if (rel > max_rel) {
            ti->n = 0;
            return mp_error_set(e, MP_EFORMAT, "entry %zu names offset +%u past the segment (+%u)",
                                i, rel, max_rel);
        }
        if (i && (ts <= ti->ent[i - 1].ts || rel < ti->ent[i - 1].rel)) {
            ti->n = 0;
            return mp_error_set(e, MP_EFORMAT, "entry %zu (time %lld, offset +%u) does not follow "
                                "entry %zu",
                                i, (long long)ts, rel, i - 1);
        }
        ti->ent[i] = (mp_time_entry){ts, rel};
    }
    ti->n = n;
    return 0;
}
