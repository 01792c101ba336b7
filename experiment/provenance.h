/* Where a number came from: the build's git commit (captured at build time by
 * cmake/ghm_version.cmake, "unknown" outside a git checkout), whether the
 * tracked files differed from it, the compiler, the convolution backend and the
 * CPU's instruction set. Every record carries them under "host"
 * (experiment/record.c); `ghm --version` prints them. */
#ifndef GHM_PROVENANCE_H
#define GHM_PROVENANCE_H

#ifdef __cplusplus
extern "C" {
#endif

/* 40 hex digits, or "unknown" (generated file, build/generated/ghm_version.c) */
const char *ghm_build_commit(void);
/* 1: tracked files differed from the commit when built, 0: clean, -1: unknown */
int ghm_build_dirty(void);
/* "gcc 12.2.0", "clang 14.0.6", ... (the compiler of this file) */
const char *ghm_prov_compiler(void);
/* widest vector instruction set of the CPU running now: "avx512", "avx2",
 * "avx", "sse4.2", "x86-64" (x86), or the architecture's name elsewhere */
const char *ghm_prov_cpu_isa(void);
/* the instruction set the binary was compiled for (-march=native: the build machine's) */
const char *ghm_prov_build_isa(void);
/* "onednn" or "reference" (im2col + sgemm): what backbones' convolutions use
 * in this process where oneDNN has primitives for them (the residual network;
 * the convnet's fused conv + pool layers always run im2col + sgemm, on
 * ghm_prov_gemm_backend); $GHM_CONV_BACKEND=ref chooses the reference */
const char *ghm_prov_conv_backend(void);
/* the matrix products' library and its kernels' instruction set in this
 * process, e.g. "onednn avx512" or "openblas avx2" (nn/layers.h, ghm_sgemm) */
const char *ghm_prov_gemm_backend(void);

#ifdef __cplusplus
}
#endif
#endif
