/* A table of text cells read from a delimited file, before any typing.
 *
 * Every cell remembers where it came from (1-based line and column), so
 * that later stages can report `file:line:column: message`. Ownership: the
 * table owns all its strings; mp_table_destroy frees everything. Immutable
 * after reading, so it may be shared between threads for reading. */
#ifndef MP_DATA_TABLE_H
#define MP_DATA_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

typedef struct mp_table {
    char *source;   /* file name used in messages */
    char delim;     /* the delimiter used (given or detected) */
    size_t nrows;   /* data rows, header excluded */
    size_t ncols;
    char **names;   /* ncols header names */
    char *text;     /* storage for all cells, each NUL-terminated */
    size_t *cell;   /* nrows*ncols offsets into text, row-major */
    uint32_t *line; /* nrows*ncols: 1-based line where each cell starts */
    uint32_t *col;  /* nrows*ncols: 1-based column (byte) where each cell starts */
} mp_table;

/* Reads a CSV file with a header row. delim 0 auto-detects among , ; TAB |.
 * RFC 4180 quoting, a leading UTF-8 BOM is skipped, CRLF and LF accepted,
 * blank lines skipped, gzip input decompressed. Errors (MP_EINPUT) name
 * file:line:column: an empty file, a ragged row, an unterminated quote,
 * duplicate or empty header names. */
int mp_csv_read(const char *path, char delim, mp_table **out, mp_error *e);
/* The same over a buffer; `source` names it in messages. */
int mp_csv_parse(const char *source, const char *data, size_t len, char delim, mp_table **out,
                 mp_error *e);

static inline const char *mp_table_cell(const mp_table *t, size_t r, size_t c)
{
    return t->text + t->cell[r * t->ncols + c];
}
/* Index of the column called name, or -1. */
int mp_table_find(const mp_table *t, const char *name);
void mp_table_destroy(mp_table *t);

/* 1 if s is a missing-value marker: "", "NA", "N/A", "NaN", "nan", "?", "null". */
int mp_is_missing(const char *s);
/* Parses a whole cell as a decimal number (optional sign, digits, point,
 * exponent; surrounding spaces allowed). Returns 1 and sets *v on success. */
int mp_parse_number(const char *s, double *v);

#endif
