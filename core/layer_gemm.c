/* Matrix products for the layers: one thread pool for the whole program.
 *
 * OpenBLAS (pthreads build) keeps its own worker threads, which spin with
 * sched_yield after each call, while libgomp's workers spin after each OpenMP
 * region: with both pools active, 2 cores host 3-4 busy threads and every
 * parallel region waits for a descheduled thread (measured: 2 threads no
 * faster than 1). So the layers run OpenBLAS single-threaded and split each
 * product across the OpenMP threads themselves (ghm_sgemm). See core/layers.h.
 */
#include "layers.h"

#include <cblas.h>
#ifdef _OPENMP
#include <omp.h>
#endif

int ghm_blas_serial_begin(void)
{
#ifdef _OPENMP
    if (omp_in_parallel()) return 1; /* the enclosing code already made OpenBLAS serial */
#endif
    int saved = openblas_get_num_threads();
    if (saved != 1) openblas_set_num_threads(1);
    return saved;
}

void ghm_blas_serial_end(int saved)
{
    if (saved > 1) openblas_set_num_threads(saved);
}

/* Products below this many multiply-adds run on one thread: a parallel region
 * costs a few microseconds on an idle machine, but up to a scheduler time
 * slice when the other core is busy and a thread waits at the closing barrier
 * (8e6 multiply-adds take ~0.1 ms on one core). */
#define GEMM_PAR_MIN 8000000.0

void ghm_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
               float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
    const enum CBLAS_TRANSPOSE TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
    int nt = 1;
#ifdef _OPENMP
    if (!omp_in_parallel() && (double)M * N * K >= GEMM_PAR_MIN) nt = omp_get_max_threads();
#endif
    const int saved = ghm_blas_serial_begin();
    if (nt <= 1) {
        cblas_sgemm(CblasRowMajor, TA, TB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        ghm_blas_serial_end(saved);
        return;
    }
    /* Split the larger of M and N into contiguous parts (columns in units of
     * 16 for the kernels' vector width). Each C entry is computed by exactly
     * one call: no reduction across threads, and a fixed split per thread count. */
    const int split_n = N >= M;
    const int units = split_n ? (N + 15) / 16 : M;
#pragma omp parallel num_threads(nt)
    {
#ifdef _OPENMP
        const int t = omp_get_thread_num(), T = omp_get_num_threads();
#else
        const int t = 0, T = 1;
#endif
        int lo = (int)((long)units * t / T), hi = (int)((long)units * (t + 1) / T);
        if (split_n) {
            lo *= 16;
            hi = hi * 16 < N ? hi * 16 : N;
            if (hi > lo) {
                const float *Bp = tb ? B + (size_t)lo * ldb : B + lo;
                cblas_sgemm(CblasRowMajor, TA, TB, M, hi - lo, K, alpha, A, lda, Bp, ldb, beta, C + lo, ldc);
            }
        } else if (hi > lo) {
            const float *Ap = ta ? A + lo : A + (size_t)lo * lda;
            cblas_sgemm(CblasRowMajor, TA, TB, hi - lo, N, K, alpha, Ap, lda, B, ldb, beta, C + (size_t)lo * ldc,
                        ldc);
        }
    }
    ghm_blas_serial_end(saved);
}
