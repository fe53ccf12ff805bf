/* CSV reading: one pass over one buffer.
 *
 * Cells are unquoted and trimmed into a single text buffer, each followed by
 * a NUL; the table keeps offsets into it. A cell never grows when unquoted
 * (quotes, the delimiter or line end after it make room for the NUL), so
 * when the reader owns the file's bytes it parses them in place and the
 * table's text is the file buffer itself: no copy, no per-cell allocation.
 * The write position therefore never passes the read position; the code
 * below reads every byte it still needs before writing over it. */
#include "data/table.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fileio.h"
#include "core/strmap.h"
#include "data/reader_internal.h"

typedef struct parser {
    const char *source;
    const char *s; /* input; s[len] == '\0' */
    size_t len;
    char *dst;     /* output text; may be the same memory as s */
    size_t w;      /* write position in dst */
    char delim;
    size_t pos;        /* read position */
    uint32_t line;     /* 1-based line of pos */
    size_t line_start; /* offset of the first byte of the current line */
    /* Set by parse_field: */
    char term;      /* what ended the field: the delimiter, '\n' or '\0' (end of input) */
    size_t eol_pos; /* where the line's content ends (before any "\r\n") */
    mp_error *e;
} parser;

static inline int is_ws(char c, char delim) { return (c == ' ' || c == '\t') && c != delim; }

static uint32_t col_of(const parser *p, size_t at) { return (uint32_t)(at - p->line_start + 1); }

static int nul_error(parser *p, size_t at)
{
    return mp_error_set(p->e, MP_EINPUT, "%s:%u:%u: unexpected NUL byte (is this a binary file?)",
                        p->source, p->line, col_of(p, at));
}

/* Counts the fields of the record starting at i without storing anything
 * (delimiter sniffing and "row has N fields" messages); *next receives the
 * start of the following record. */
static size_t count_fields(const char *s, size_t len, size_t i, char delim, size_t *next)
{
    size_t n = 1;
    while (i < len) {
        while (i < len && is_ws(s[i], delim))
            i++;
        if (i < len && s[i] == '"') {
            for (i++; i < len; i++) {
                if (s[i] == '"') {
                    if (i + 1 < len && s[i + 1] == '"')
                        i++;
                    else {
                        i++;
                        break;
                    }
                }
            }
        }
        while (i < len && s[i] != delim && s[i] != '\n')
            i++;
        if (i >= len)
            break;
        if (s[i] == '\n') {
            i++;
            break;
        }
        n++; /* a delimiter: another field follows */
        i++;
        if (i >= len)
            break;
    }
    *next = i;
    return n;
}

/* Offset of the next line that holds something besides blanks. */
static size_t skip_blank(const char *s, size_t len, size_t i, char delim)
{
    for (;;) {
        size_t j = i;
        while (j < len && (is_ws(s[j], delim) || s[j] == '\r'))
            j++;
        if (j >= len)
            return len;
        if (s[j] != '\n')
            return i;
        i = j + 1;
    }
}

static void skip_blank_lines(parser *p)
{
    for (;;) {
        size_t j = p->pos;
        while (j < p->len && (is_ws(p->s[j], p->delim) || p->s[j] == '\r'))
            j++;
        if (j >= p->len) {
            p->pos = p->len;
            return;
        }
        if (p->s[j] != '\n')
            return;
        p->pos = j + 1;
        p->line++;
        p->line_start = p->pos;
    }
}

/* Picks the candidate delimiter that splits the header into the most
 * fields, preferring one that gives the same count on the next records. */
static char sniff_delimiter(const char *s, size_t len, size_t start)
{
    static const char cand[] = {',', ';', '\t', '|'};
    char best = ',';
    size_t best_n = 1;
    int best_consistent = 0;
    for (size_t k = 0; k < sizeof cand; k++) {
        char d = cand[k];
        size_t i;
        size_t h = count_fields(s, len, start, d, &i);
        if (h < 2)
            continue;
        int consistent = 1;
        for (int rec = 0; rec < 50; rec++) {
            i = skip_blank(s, len, i, d);
            if (i >= len)
                break;
            if (count_fields(s, len, i, d, &i) != h) {
                consistent = 0;
                break;
            }
        }
        if ((consistent && !best_consistent) || (consistent == best_consistent && h > best_n)) {
            best = d;
            best_n = h;
            best_consistent = consistent;
        }
    }
    return best;
}

static void describe_char(char c, char *out, size_t n)
{
    unsigned char u = (unsigned char)c;
    if (u >= 0x20 && u < 0x7f)
        snprintf(out, n, "'%c'", c);
    else
        snprintf(out, n, "byte 0x%02X", u);
}

/* Parses one field at p->pos into dst, stores its offset, line and column,
 * and leaves p->pos on what ended it (p->term). */
static int parse_field(parser *p, size_t *off, uint32_t *line, uint32_t *col)
{
    const char *s = p->s;
    const char delim = p->delim;
    size_t i = p->pos;
    while (is_ws(s[i], delim))
        i++;
    *off = p->w;
    if (s[i] != '"') {
        size_t cstart = i;
        *line = p->line;
        *col = col_of(p, cstart);
        for (;;) {
            char c = s[i];
            if (c == delim || c == '\n' || c == '\0')
                break;
            i++;
        }
        if (s[i] == '\0' && i < p->len)
            return nul_error(p, i);
        p->term = s[i];
        size_t cend = i;
        while (cend > cstart && (is_ws(s[cend - 1], delim) || s[cend - 1] == '\r'))
            cend--;
        p->eol_pos = (p->term == '\n' && i > p->line_start && s[i - 1] == '\r') ? i - 1 : i;
        size_t n = cend - cstart;
        if (p->dst + p->w != s + cstart)
            memmove(p->dst + p->w, s + cstart, n);
        p->w += n;
        p->dst[p->w++] = '\0';
        p->pos = i;
        return 0;
    }
    /* Quoted: copy the runs between quotes, turning "" into ". */
    const uint32_t qline = p->line;
    const uint32_t qcol = col_of(p, i);
    *line = qline;
    *col = qcol;
    i++;
    for (;;) {
        const char *hit = memchr(s + i, '"', p->len - i);
        size_t end = hit ? (size_t)(hit - s) : p->len;
        if (memchr(s + i, '\0', end - i))
            return nul_error(p, (size_t)((const char *)memchr(s + i, '\0', end - i) - s));
        for (const char *nl = memchr(s + i, '\n', end - i); nl;
             nl = memchr(nl + 1, '\n', (size_t)(s + end - (nl + 1)))) {
            p->line++;
            p->line_start = (size_t)(nl - s) + 1;
        }
        if (!hit)
            return mp_error_set(p->e, MP_EINPUT, "%s:%u:%u: unterminated quoted field",
                                p->source, qline, qcol);
        memmove(p->dst + p->w, s + i, end - i);
        p->w += end - i;
        if (s[end + 1] == '"') {
            p->dst[p->w++] = '"';
            i = end + 2;
            continue;
        }
        i = end + 1;
        break;
    }
    while (is_ws(s[i], delim))
        i++;
    size_t eol = i;
    if (s[i] == '\r' && s[i + 1] == '\n')
        i++;
    char c = s[i];
    if (c != delim && c != '\n' && !(c == '\0' && i == p->len)) {
        char what[16];
        describe_char(c, what, sizeof what);
        if (c == '\0')
            return nul_error(p, i);
        return mp_error_set(p->e, MP_EINPUT, "%s:%u:%u: unexpected %s after the closing quote",
                            p->source, p->line, col_of(p, i), what);
    }
    p->term = c;
    p->eol_pos = eol;
    p->dst[p->w++] = '\0';
    p->pos = i;
    return 0;
}

/* After a delimiter or line end: step over it. */
static void advance(parser *p)
{
    if (p->term == '\n') {
        p->pos++;
        p->line++;
        p->line_start = p->pos;
    } else if (p->term != '\0') {
        p->pos++;
    }
}

static int checked_mul(size_t a, size_t b, size_t *out)
{
    if (a && b > SIZE_MAX / a)
        return -1;
    *out = a * b;
    return 0;
}

static int parse_header(parser *p, char ***names_out, size_t *ncols_out)
{
    char **names = NULL;
    size_t n = 0, cap = 0;
    mp_strmap *seen = mp_strmap_create();
    int rc = 0;
    if (!seen)
        return mp_error_set(p->e, MP_ENOMEM, "%s: out of memory", p->source);
    for (;;) {
        size_t off;
        uint32_t line, col;
        size_t w0 = p->w;
        rc = parse_field(p, &off, &line, &col);
        if (rc)
            goto fail;
        const char *name = p->dst + off;
        if (name[0] == '\0') {
            rc = mp_error_set(p->e, MP_EINPUT, "%s:%u:%u: empty column name in the header",
                              p->source, line, col);
            goto fail;
        }
        int prev = mp_strmap_get(seen, name);
        if (prev >= 0) {
            rc = mp_error_set(p->e, MP_EINPUT,
                              "%s:%u:%u: duplicate column name '%s' in the header (also column %d)",
                              p->source, line, col, name, prev + 1);
            goto fail;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nn = realloc(names, ncap * sizeof *nn);
            if (!nn)
                goto oom;
            names = nn;
            cap = ncap;
        }
        names[n] = strdup(name);
        if (!names[n])
            goto oom;
        n++;
        if (n > INT_MAX || mp_strmap_put(seen, name, (int)(n - 1)))
            goto oom;
        p->w = w0; /* names live in their own strings */
        char term = p->term;
        advance(p);
        if (term != p->delim)
            break;
    }
    mp_strmap_destroy(seen);
    *names_out = names;
    *ncols_out = n;
    return 0;
oom:
    rc = mp_error_set(p->e, MP_ENOMEM, "%s: out of memory reading the header", p->source);
fail:
    mp_strmap_destroy(seen);
    for (size_t k = 0; k < n; k++)
        free(names[k]);
    free(names);
    return rc;
}

/* The parser proper. s may equal dst (in place); dst has room for len + 1
 * bytes. Never frees dst. */
static int parse(const char *source, const char *s, size_t len, char *dst, char delim,
                 mp_table **out, mp_error *e)
{
    *out = NULL;
    if (delim == '"' || delim == '\n' || delim == '\r')
        return mp_error_set(e, MP_EINVAL, "%s: invalid delimiter %s", source,
                            delim == '"' ? "'\"'" : "(a line break)");
    parser p = {.source = source, .s = s, .len = len, .dst = dst, .line = 1, .e = e};
    if (len >= 3 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB &&
        (unsigned char)s[2] == 0xBF) {
        p.pos = 3;
        p.line_start = 3;
    }
    p.delim = delim ? delim : ',';
    skip_blank_lines(&p);
    if (p.pos >= len)
        return mp_error_set(e, MP_EINPUT, "%s:1:1: empty file, expected a header row", source);
    if (!delim)
        p.delim = sniff_delimiter(s, len, p.pos);

    mp_table *t = calloc(1, sizeof *t);
    if (!t || !(t->source = strdup(source))) {
        free(t);
        return mp_error_set(e, MP_ENOMEM, "%s: out of memory", source);
    }
    t->delim = p.delim;
    int rc = parse_header(&p, &t->names, &t->ncols);
    if (rc)
        goto fail;
    p.w = 0;

    /* Rows are at most the line breaks left plus one, so one allocation
     * of each array fits them all. */
    size_t nl = 0;
    for (const char *q = memchr(s + p.pos, '\n', len - p.pos); q;
         q = memchr(q + 1, '\n', (size_t)(s + len - (q + 1))))
        nl++;
    size_t cap_cells;
    if (checked_mul(nl + 1, t->ncols, &cap_cells) || cap_cells > SIZE_MAX / sizeof(size_t))
        goto oom;
    t->cell = malloc(cap_cells * sizeof *t->cell);
    t->line = malloc(cap_cells * sizeof *t->line);
    t->col = malloc(cap_cells * sizeof *t->col);
    if (!t->cell || !t->line || !t->col)
        goto oom;

    const size_t ncols = t->ncols;
    size_t nrows = 0;
    for (;;) {
        skip_blank_lines(&p);
        if (p.pos >= len)
            break;
        size_t base = nrows * ncols;
        for (size_t c = 0;; c++) {
            if (c == ncols) {
                size_t j = p.pos, next;
                while (is_ws(s[j], p.delim))
                    j++;
                size_t total = ncols + count_fields(s, len, p.pos, p.delim, &next);
                rc = mp_error_set(e, MP_EINPUT, "%s:%u:%u: row has %zu fields, the header has %zu",
                                  source, p.line, col_of(&p, j), total, ncols);
                goto fail;
            }
            rc = parse_field(&p, &t->cell[base + c], &t->line[base + c], &t->col[base + c]);
            if (rc)
                goto fail;
            if (p.term == p.delim) {
                advance(&p);
                continue;
            }
            if (c + 1 < ncols) {
                rc = mp_error_set(e, MP_EINPUT, "%s:%u:%u: row has %zu fields, the header has %zu",
                                  source, p.line, col_of(&p, p.eol_pos), c + 1, ncols);
                goto fail;
            }
            advance(&p);
            break;
        }
        nrows++;
    }
    t->nrows = nrows;
    if (nrows > 0 && nrows * ncols < cap_cells) {
        /* Give back what blank lines and multi-line cells left unused. */
        size_t *c2 = realloc(t->cell, nrows * ncols * sizeof *c2);
        if (c2)
            t->cell = c2;
        uint32_t *l2 = realloc(t->line, nrows * ncols * sizeof *l2);
        if (l2)
            t->line = l2;
        uint32_t *o2 = realloc(t->col, nrows * ncols * sizeof *o2);
        if (o2)
            t->col = o2;
    }
    *out = t;
    return 0;
oom:
    rc = mp_error_set(e, MP_ENOMEM, "%s: out of memory", source);
fail:
    mp_table_destroy(t); /* t->text is still NULL: dst belongs to the caller */
    return rc;
}

int mp_csv_parse_owned(const char *source, char *buf, size_t len, char delim, mp_table **out,
                       mp_error *e)
{
    mp_table *t;
    int rc = parse(source, buf, len, buf, delim, &t, e);
    if (rc) {
        free(buf);
        *out = NULL;
        return rc;
    }
    /* Return the unused tail of the file buffer. */
    size_t used = 1;
    if (t->nrows) {
        size_t last = t->cell[t->nrows * t->ncols - 1];
        used = last + strlen(buf + last) + 1;
    }
    char *shrunk = realloc(buf, used);
    t->text = shrunk ? shrunk : buf;
    if (!t->nrows)
        t->text[0] = '\0';
    *out = t;
    return 0;
}

int mp_csv_parse(const char *source, const char *data, size_t len, char delim, mp_table **out,
                 mp_error *e)
{
    *out = NULL;
    /* The parser relies on a NUL after the last byte, which data may lack. */
    char *buf = malloc(len + 1);
    if (!buf)
        return mp_error_set(e, MP_ENOMEM, "%s: out of memory", source);
    if (len)
        memcpy(buf, data, len);
    buf[len] = '\0';
    return mp_csv_parse_owned(source, buf, len, delim, out, e);
}

int mp_csv_read(const char *path, char delim, mp_table **out, mp_error *e)
{
    *out = NULL;
    char *buf;
    size_t len;
    int rc = mp_read_file(path, &buf, &len, e);
    if (rc)
        return rc;
    return mp_csv_parse_owned(path, buf, len, delim, out, e);
}

int mp_table_find(const mp_table *t, const char *name)
{
    for (size_t i = 0; i < t->ncols; i++)
        if (strcmp(t->names[i], name) == 0)
            return (int)i;
    return -1;
}

void mp_table_destroy(mp_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; t->names && i < t->ncols; i++)
        free(t->names[i]);
    free(t->names);
    free(t->source);
    free(t->text);
    free(t->cell);
    free(t->line);
    free(t->col);
    free(t);
}

int mp_is_missing(const char *s)
{
    switch (s[0]) {
    case '\0': return 1;
    case 'N': return !strcmp(s, "NA") || !strcmp(s, "N/A") || !strcmp(s, "NaN");
    case 'n': return !strcmp(s, "nan") || !strcmp(s, "null");
    case '?': return s[1] == '\0';
    default: return 0;
    }
}

/* Powers of ten that doubles hold exactly. */
static const double pow10_exact[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

int mp_parse_number(const char *s, double *v)
{
    const char *p = s;
    while (*p == ' ' || *p == '\t')
        p++;
    const char *start = p;
    int neg = 0;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    uint64_t m = 0;
    int exp10 = 0, ndigits = 0, inexact = 0;
    for (; *p >= '0' && *p <= '9'; p++, ndigits++) {
        if (m <= (UINT64_MAX - 9) / 10)
            m = m * 10 + (uint64_t)(*p - '0');
        else {
            exp10++;
            inexact = 1;
        }
    }
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, ndigits++) {
            if (m <= (UINT64_MAX - 9) / 10) {
                m = m * 10 + (uint64_t)(*p - '0');
                exp10--;
            } else {
                inexact = 1;
            }
        }
    }
    if (ndigits == 0)
        return 0;
    if (*p == 'e' || *p == 'E') {
        p++;
        int eneg = 0;
        if (*p == '+' || *p == '-')
            eneg = *p++ == '-';
        if (!(*p >= '0' && *p <= '9'))
            return 0;
        int ev = 0;
        for (; *p >= '0' && *p <= '9'; p++)
            if (ev < 100000)
                ev = ev * 10 + (*p - '0');
        exp10 += eneg ? -ev : ev;
    }
    const char *end = p;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p)
        return 0;
    /* Clinger's fast path: an exact integer times or over an exact power of
     * ten is correctly rounded by one IEEE operation. */
    if (!inexact && m <= (UINT64_C(1) << 53) && exp10 >= -22 && exp10 <= 22) {
        double d = (double)m;
        d = exp10 < 0 ? d / pow10_exact[-exp10] : d * pow10_exact[exp10];
        *v = neg ? -d : d;
        return 1;
    }
    char *ep;
    double d = strtod(start, &ep);
    if (ep != end || isinf(d))
        return 0; /* out of range (or a locale with another decimal point) */
    *v = d;
    return 1;
}
