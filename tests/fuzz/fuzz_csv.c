/* libFuzzer target: any bytes through the CSV reader and the dataset
 * builder (inference, missing values), with and without a target. */
#include <stddef.h>
#include <stdint.h>

#include "data/dataset.h"
#include "data/table.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mp_table *t = NULL;
    mp_error e;
    if (mp_csv_parse("fuzz.csv", (const char *)data, size, 0, &t, &e) != 0)
        return 0;
    for (int policy = 0; policy < 3; policy++) {
        mp_load_opts o = {.missing = (mp_missing_policy)policy,
                          .target = t->ncols > 1 ? t->names[t->ncols - 1] : NULL,
                          .id = t->ncols > 2 ? t->names[0] : NULL};
        mp_dataset *d = NULL;
        if (mp_dataset_from_table(t, &o, &d, &e) == 0)
            mp_dataset_destroy(d);
    }
    mp_table_destroy(t);
    return 0;
}
