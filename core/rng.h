/* Seeded random numbers: PCG32 (O'Neill 2014), one independent stream per use.
 *
 * Reproducibility contract: the same (seed, stream) pair gives the same
 * sequence on every machine. Derive streams for independent consumers
 * (weight init, sampler, dropout, k-means) with distinct stream ids, so adding
 * draws in one consumer never shifts another's sequence.
 */
#ifndef GHM_RNG_H
#define GHM_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ghm_rng {
    uint64_t state; /* internal state */
    uint64_t inc;   /* stream selector (always odd) */
} ghm_rng;

/* Well-known stream ids, so consumers never collide. */
enum {
    GHM_STREAM_INIT = 1,     /* backbone / loss parameter initialisation */
    GHM_STREAM_SAMPLER = 2,  /* batch sampler */
    GHM_STREAM_SPLIT = 3,    /* validation split */
    GHM_STREAM_KMEANS = 4,   /* k-means restarts */
    GHM_STREAM_DATA = 5,     /* synthetic data generation */
    GHM_STREAM_LOSS = 6,     /* loss-internal randomness */
    GHM_STREAM_USER = 100    /* tests and tools */
};

void ghm_rng_seed(ghm_rng *r, uint64_t seed, uint64_t stream);
uint32_t ghm_rng_u32(ghm_rng *r);
/* Uniform integer in [0, n), unbiased (n > 0). */
uint32_t ghm_rng_below(ghm_rng *r, uint32_t n);
/* Uniform double in [0, 1) with 53 random bits. */
double ghm_rng_uniform(ghm_rng *r);
/* Uniform float in [lo, hi). */
float ghm_rng_uniformf(ghm_rng *r, float lo, float hi);
/* Standard normal (Box-Muller, no cached second value: stateless besides r). */
double ghm_rng_normal(ghm_rng *r);
/* Fisher-Yates shuffle of n ints. */
void ghm_rng_shuffle(ghm_rng *r, int *a, int n);

#ifdef __cplusplus
}
#endif
#endif
