/* libFuzzer target: any bytes as a model file, through the safetensors
 * decoder and, when that succeeds, the model loader's own validation
 * (preprocessing and algorithm state against the metadata). */
#include <stddef.h>
#include <stdint.h>

#include "ml/algo.h"
#include "ml/preprocess.h"
#include "ml/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mp_tensors b = {0};
    mp_error e;
    if (mp_safetensors_decode("fuzz.safetensors", data, size, &b, &e) != 0)
        return 0;
    mp_prep p;
    if (mp_prep_load(&p, &b, &e) == 0) {
        static const char *const names[] = {"knn", "naive-bayes", "linear-regression", "logistic-regression"};
        for (size_t i = 0; i < 4; i++) {
            const mp_algo *a = mp_algo_find(names[i]);
            for (int task = 1; task <= 2; task++) {
                void *state = NULL;
                if (a->load(&b, (mp_task)task, p.nout, task == 1 ? 3 : 0, &state, &e) == 0)
                    a->destroy(state);
            }
        }
        mp_prep_free(&p);
    }
    mp_tensors_free(&b);
    return 0;
}
