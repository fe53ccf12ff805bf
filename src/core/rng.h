/* A small, fast, seedable random generator (xoshiro256**, seeded through
 * splitmix64). Deterministic across platforms for a given seed, which is what
 * makes `--seed N` reproducible. Not for cryptography. Not thread-safe: one
 * generator per thread. */
#ifndef MP_CORE_RNG_H
#define MP_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct mp_rng {
    uint64_t s[4];
} mp_rng;

void mp_rng_seed(mp_rng *r, uint64_t seed);
uint64_t mp_rng_next(mp_rng *r);
/* Uniform in [0, 1). */
double mp_rng_uniform(mp_rng *r);
/* Uniform integer in [0, n), unbiased; n > 0. */
uint64_t mp_rng_below(mp_rng *r, uint64_t n);
/* Standard normal (Box-Muller). */
double mp_rng_normal(mp_rng *r);
/* Fisher-Yates shuffle of idx[0..n). */
void mp_rng_shuffle(mp_rng *r, size_t *idx, size_t n);

#endif
