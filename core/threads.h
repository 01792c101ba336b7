/* Thread count for OpenBLAS (GEMMs) and OpenMP (element-wise loops).
 * Priority: explicit --threads N, else $GHM_THREADS, else the number of cores.
 * Results are identical for identical seed AND thread count. */
#ifndef GHM_THREADS_H
#define GHM_THREADS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Set both pools to n (n <= 0: from $GHM_THREADS, else all cores). Returns the count used. */
int ghm_threads_set(int n);
/* The count last set (or the default if never set). */
int ghm_threads_get(void);
/* Number of online cores. */
int ghm_cores(void);

#ifdef __cplusplus
}
#endif
#endif
