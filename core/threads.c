#include "threads.h"

#include <cblas.h>
#include <stdlib.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static int g_threads = 0;

int ghm_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int ghm_threads_set(int n)
{
    if (n <= 0) {
        const char *env = getenv("GHM_THREADS");
        if (env && *env) n = atoi(env);
    }
    if (n <= 0) n = ghm_cores();
    if (n > 256) n = 256;
    g_threads = n;
    openblas_set_num_threads(n);
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
    return n;
}

int ghm_threads_get(void)
{
    if (g_threads == 0) return ghm_threads_set(0);
    return g_threads;
}
