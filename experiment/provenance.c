/* Provenance of a build and a machine (provenance.h). */
#include "experiment/provenance.h"

#include "nn/layers.h"

#include <stdio.h>

#define GHM_STR2(x) #x
#define GHM_STR(x) GHM_STR2(x)

const char *ghm_prov_compiler(void)
{
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " GHM_STR(__GNUC__) "." GHM_STR(__GNUC_MINOR__) "." GHM_STR(__GNUC_PATCHLEVEL__);
#else
    return "unknown";
#endif
}

const char *ghm_prov_cpu_isa(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "avx512";
    if (__builtin_cpu_supports("avx2")) return "avx2";
    if (__builtin_cpu_supports("avx")) return "avx";
    if (__builtin_cpu_supports("sse4.2")) return "sse4.2";
    return "x86-64";
#elif defined(__aarch64__)
    return "aarch64";
#else
    return "unknown";
#endif
}

const char *ghm_prov_build_isa(void)
{
#if defined(__AVX512F__)
    return "avx512";
#elif defined(__AVX2__)
    return "avx2";
#elif defined(__AVX__)
    return "avx";
#elif defined(__SSE4_2__)
    return "sse4.2";
#elif defined(__x86_64__)
    return "x86-64";
#elif defined(__aarch64__)
    return "aarch64";
#else
    return "unknown";
#endif
}

/* "+winograd": inference runs the residual network's 3x3 and the convnet's conv2 on Winograd kernels
 * (nn/layer_wino.c), whose last bits differ from the direct convolutions' */
const char *ghm_prov_conv_backend(void)
{
    if (!ghm_conv_backend_dnnl()) return "reference";
    return ghm_wino_enabled() ? "onednn+winograd" : "onednn";
}

const char *ghm_prov_gemm_backend(void)
{
    static char buf[64];
    if (!buf[0]) snprintf(buf, sizeof buf, "%s %s", ghm_gemm_backend_name(), ghm_gemm_isa_name());
    return buf;
}
