/* Matrix products for the layers: one thread pool for the whole program.
 *
 * OpenBLAS (pthreads build) keeps its own worker threads, which spin with
 * sched_yield after each call, while libgomp's workers spin after each OpenMP
 * region: with both pools active, 2 cores host 3-4 busy threads and every
 * parallel region waits for a descheduled thread (measured: 2 threads no
 * faster than 1). So the layers run OpenBLAS single-threaded and split each
 * product across the OpenMP threads themselves (ghm_sgemm). See nn/layers.h.
 */
#include "nn/layers.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef GHM_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#endif

/* The single-threaded products' kernel: OpenBLAS, or oneDNN's JIT sgemm on
 * CPUs with AVX-512 (chosen once; see layers.h). -1: not chosen yet. */
static int g_gemm = -1;

static int gemm_auto(void)
{
#ifdef GHM_HAVE_DNNL
    const char *e = getenv("GHM_GEMM_BACKEND");
    if (e && strcmp(e, "openblas") == 0) return 0;
    if (!ghm_conv_backend_dnnl()) return 0;
    if (e && strcmp(e, "onednn") == 0) return 1;
    return dnnl_get_effective_cpu_isa() >= dnnl_cpu_isa_avx512_core;
#else
    return 0;
#endif
}

int ghm_gemm_backend_dnnl(void)
{
    if (g_gemm < 0) g_gemm = gemm_auto();
    return g_gemm;
}

void ghm_gemm_backend_set(int use_dnnl)
{
    if (use_dnnl < 0) {
        g_gemm = -1; /* the default again */
        return;
    }
#ifdef GHM_HAVE_DNNL
    g_gemm = use_dnnl ? ghm_conv_dnnl_available() : 0;
#else
    (void)use_dnnl;
    g_gemm = 0;
#endif
}

const char *ghm_gemm_backend_name(void) { return ghm_gemm_backend_dnnl() ? "onednn" : "openblas"; }

const char *ghm_gemm_isa_name(void)
{
    if (ghm_gemm_backend_dnnl()) return ghm_dnnl_isa_name();
    const char *c = openblas_get_corename();
    if (!c) return "unknown";
    static const char *const avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
    static const char *const avx2[] = {"Haswell", "Zen"};
    for (size_t i = 0; i < sizeof avx512 / sizeof *avx512; i++)
        if (strcmp(c, avx512[i]) == 0) return "avx512";
    for (size_t i = 0; i < sizeof avx2 / sizeof *avx2; i++)
        if (strcmp(c, avx2[i]) == 0) return "avx2";
    return c;
}

void ghm_sgemm_serial(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                      int ldb, float beta, float *C, int ldc)
{
    if (M <= 0 || N <= 0) return;
#ifdef GHM_HAVE_DNNL
    if (ghm_gemm_backend_dnnl()) {
        /* oneDNN threads its products unless called inside an active parallel region */
#ifdef _OPENMP
        const int t = omp_in_parallel() ? 1 : omp_get_max_threads();
        if (t > 1) omp_set_num_threads(1);
#endif
        const dnnl_status_t s = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
#ifdef _OPENMP
        if (t > 1) omp_set_num_threads(t);
#endif
        if (s == dnnl_success) return;
        /* (only on invalid arguments, which OpenBLAS then reports the same way) */
    }
#endif
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda,
                B, ldb, beta, C, ldc);
}

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
    int nt = 1;
#ifdef _OPENMP
    if (!omp_in_parallel() && (double)M * N * K >= GEMM_PAR_MIN) nt = omp_get_max_threads();
#endif
    const int saved = ghm_blas_serial_begin();
    if (nt <= 1) {
        ghm_sgemm_serial(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
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
                ghm_sgemm_serial(ta, tb, M, hi - lo, K, alpha, A, lda, Bp, ldb, beta, C + lo, ldc);
            }
        } else if (hi > lo) {
            const float *Ap = ta ? A + lo : A + (size_t)lo * lda;
            ghm_sgemm_serial(ta, tb, hi - lo, N, K, alpha, Ap, lda, B, ldb, beta, C + (size_t)lo * ldc, ldc);
        }
    }
    ghm_blas_serial_end(saved);
}
