/* The schema of a stream or table: ordered columns, each with a name, a
 * type and a namespace (KEY, VALUE, or HEADER), with lookup by name.
 *
 * Names are stored as the parser normalises them (upper case unless they
 * were back-quoted) and are compared exactly. Column order is declaration
 * order; a row is an array of mp_value with one slot per column, in this
 * order, keys and values together.
 *
 * Ownership: the schema owns its columns, names and types;
 * mp_schema_destroy frees them. Immutable once built, so it may be shared
 * read-only between threads. */
#ifndef MP_DATA_SQL_SCHEMA_H
#define MP_DATA_SQL_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/error.h"
#include "data/sql_type.h"

typedef enum mp_column_ns {
    MP_COL_VALUE = 0,
    MP_COL_KEY = 1,    /* KEY / PRIMARY KEY: decoded from the record key */
    MP_COL_HEADER = 2, /* HEADERS or HEADER('k'): from record headers (not decoded by codecs) */
} mp_column_ns;

typedef struct mp_schema_column {
    char *name;
    mp_type *type;
    mp_column_ns ns;
    char *header_key; /* HEADER('k') columns: k; NULL for HEADERS (all) and non-header columns */
} mp_schema_column;

typedef struct mp_strmap mp_strmap;

typedef struct mp_schema {
    size_t ncols;
    mp_schema_column *cols;
    mp_strmap *index; /* name -> column index */
} mp_schema;

mp_schema *mp_schema_create(void);
void mp_schema_destroy(mp_schema *s);

/* Appends a column. Takes ownership of type (freed on failure). MP_EEXIST
 * for a duplicate name, MP_EINVAL for an empty name or a missing type. */
int mp_schema_add(mp_schema *s, const char *name, mp_type *type, mp_column_ns ns, mp_error *e);
/* Appends a HEADER('key') column (header_key NULL: HEADERS). */
int mp_schema_add_header(mp_schema *s, const char *name, mp_type *type, const char *header_key,
                         mp_error *e);

/* Index of the column named exactly `name`, or -1. */
int mp_schema_find(const mp_schema *s, const char *name);
/* Number of columns in namespace ns. */
size_t mp_schema_count(const mp_schema *s, mp_column_ns ns);

mp_schema *mp_schema_clone(const mp_schema *s);
bool mp_schema_equal(const mp_schema *a, const mp_schema *b);

/* Appends the schema as ksqlDB prints a logical schema:
 * "`ID` BIGINT KEY, `NAME` STRING, `H` BYTES HEADER('k')". 0 or MP_ENOMEM. */
int mp_schema_print(const mp_schema *s, mp_buf *out);

/* Parses a column list in that form (also as written in CREATE: bare names
 * are upper-cased, `quoted` ones kept; KEY or PRIMARY KEY marks keys;
 * HEADERS / HEADER('k') marks headers). MP_EINPUT names the offset. */
int mp_schema_parse(const char *text, mp_schema **out, mp_error *e);

#endif
