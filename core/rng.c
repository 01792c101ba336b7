#include "rng.h"

#include <math.h>

void ghm_rng_seed(ghm_rng *r, uint64_t seed, uint64_t stream)
{
    r->state = 0u;
    r->inc = (stream << 1u) | 1u;
    ghm_rng_u32(r);
    r->state += seed;
    ghm_rng_u32(r);
}

uint32_t ghm_rng_u32(ghm_rng *r)
{
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ULL + r->inc;
    uint32_t xorshifted = (uint32_t)(((old >> 18u) ^ old) >> 27u);
    uint32_t rot = (uint32_t)(old >> 59u);
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

uint32_t ghm_rng_below(ghm_rng *r, uint32_t n)
{
    uint32_t threshold = (uint32_t)(-n) % n;
    for (;;) {
        uint32_t x = ghm_rng_u32(r);
        if (x >= threshold) return x % n;
    }
}

double ghm_rng_uniform(ghm_rng *r)
{
    uint64_t hi = ghm_rng_u32(r) >> 5, lo = ghm_rng_u32(r) >> 6; /* 27 + 26 bits */
    return ((double)hi * 67108864.0 + (double)lo) / 9007199254740992.0;
}

float ghm_rng_uniformf(ghm_rng *r, float lo, float hi)
{
    return lo + (hi - lo) * (float)ghm_rng_uniform(r);
}

double ghm_rng_normal(ghm_rng *r)
{
    double u1 = ghm_rng_uniform(r), u2 = ghm_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}

void ghm_rng_shuffle(ghm_rng *r, int *a, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)ghm_rng_below(r, (uint32_t)(i + 1));
        int t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}
