// Helpers shared by the layer tests: seeded uniform vectors and the OpenMP thread count.
#ifndef GHM_TESTS_LAYER_TEST_UTIL_H
#define GHM_TESTS_LAYER_TEST_UTIL_H

#include <cstdint>
#include <vector>

extern "C" {
#include "core/rng.h"
}
#ifdef _OPENMP
#include <omp.h>
#endif

namespace ghm_test {

// n values uniform in [lo, hi) from the user stream of seed
inline std::vector<float> rand_vec(size_t n, uint64_t seed, float lo = -1.0f, float hi = 1.0f)
{
    ghm_rng r;
    ghm_rng_seed(&r, seed, GHM_STREAM_USER);
    std::vector<float> v(n);
    for (auto &x : v) x = ghm_rng_uniformf(&r, lo, hi);
    return v;
}

inline void set_threads(int n)
{
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}

} // namespace ghm_test

#endif
