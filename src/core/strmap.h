/* An open-addressing hash map from strings to int indexes, used to intern
 * category levels and column names. Keys are copied. Not thread-safe. */
#ifndef MP_CORE_STRMAP_H
#define MP_CORE_STRMAP_H

#include <stddef.h>

typedef struct mp_strmap mp_strmap;

mp_strmap *mp_strmap_create(void);
void mp_strmap_destroy(mp_strmap *m);
/* Returns the value for key, or -1 if absent. */
int mp_strmap_get(const mp_strmap *m, const char *key);
/* Sets key to value; 0 on success, MP_ENOMEM on failure. */
int mp_strmap_put(mp_strmap *m, const char *key, int value);
size_t mp_strmap_size(const mp_strmap *m);

#endif
