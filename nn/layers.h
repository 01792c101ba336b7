/* Neural-network layers: plain forward/backward function pairs (llm.c style).
 *
 * Conventions
 *  - Row-major float32. Shapes are given in the comment of every function.
 *  - Feature maps of the convolutional stack are stored CHANNEL-MAJOR,
 *    (C, B, H, W) ("CBHW"): a convolution over the whole batch is then one GEMM
 *    whose output (OC, B*OH*OW) is already the next layer's input, batch norm
 *    statistics are contiguous per channel, and pooling works plane by plane.
 *    Images arrive as (B, C, H, W); ghm_nchw_to_cbhw converts (a no-op copy for
 *    C == 1, where both layouts coincide).
 *  - Backward functions OVERWRITE parameter gradients (dw, db, ...) and input
 *    gradients (dx). Any gradient pointer may be NULL to skip that output
 *    (e.g. dx of the first layer).
 *  - Element-wise / pooling / im2col loops use OpenMP with static schedules
 *    (deterministic for a fixed thread count); matrix products use OpenBLAS
 *    single-threaded, split over the same OpenMP threads (one thread pool, see
 *    ghm_sgemm).
 *  - Functions never fail: buffers are allocated by the caller.
 */
#ifndef GHM_LAYERS_H
#define GHM_LAYERS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- matrix products ---------------------------------------------------
 * One thread pool: the layers run OpenBLAS single-threaded and split products
 * across the OpenMP threads (OpenBLAS's own spinning workers and libgomp's
 * would otherwise compete for the cores). */

/* C (M, N) = alpha op(A) op(B) + beta C, row-major (ta/tb = 1: transposed, as
 * cblas_sgemm). Split over the OpenMP threads by columns (or rows when M > N),
 * each part one single-threaded OpenBLAS call; inside a parallel region it is
 * one serial call. Deterministic for a fixed thread count. */
void ghm_sgemm(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb,
               float beta, float *C, int ldc);
/* The same product on the calling thread only: OpenBLAS's sgemm, or oneDNN's
 * (dnnl_sgemm, JIT-compiled for the CPU, independent of OpenBLAS's core type)
 * when ghm_gemm_backend_dnnl(). */
void ghm_sgemm_serial(int ta, int tb, int M, int N, int K, float alpha, const float *A, int lda, const float *B,
                      int ldb, float beta, float *C, int ldc);
/* 1 when the products above run on oneDNN: by default on CPUs where oneDNN
 * runs AVX-512 kernels (DNNL_MAX_CPU_ISA can lower that) and the convolution
 * backend is oneDNN; $GHM_GEMM_BACKEND=openblas|onednn overrides the choice
 * (read once; onednn still needs oneDNN and GHM_CONV_BACKEND unset or not
 * "ref"). ghm_gemm_backend_set: tests and benchmarks (1 oneDNN when built in, 0
 * OpenBLAS, -1 the default again). Name: "onednn" or "openblas". */
int ghm_gemm_backend_dnnl(void);
void ghm_gemm_backend_set(int use_dnnl);
const char *ghm_gemm_backend_name(void);
/* The instruction set of the products' kernels: oneDNN's (ghm_dnnl_isa_name) on
 * oneDNN, else OpenBLAS's core type ("avx512", "avx2" or OpenBLAS's core name). */
const char *ghm_gemm_isa_name(void);
/* Make OpenBLAS single-threaded until ghm_blas_serial_end(returned value);
 * nestable, and a no-op inside a parallel region. Wrap whole training steps /
 * inference passes in it so that no call wakes OpenBLAS's thread pool. */
int ghm_blas_serial_begin(void);
void ghm_blas_serial_end(int saved);

/* ---- layout ------------------------------------------------------------ */

/* x (B, C, HW) -> y (C, B, HW). */
void ghm_nchw_to_cbhw(float *y, const float *x, int B, int C, int HW);
/* x (C, B, HW) -> y (B, C, HW). Also the flatten of a CBHW map to (B, C*HW)
 * in PyTorch's (c, h, w) feature order; its backward is ghm_nchw_to_cbhw. */
void ghm_cbhw_to_nchw(float *y, const float *x, int B, int C, int HW);

/* ---- linear: y = x W^T + b (PyTorch weight layout) ---------------------- */

/* x (B, I), w (O, I), bias (O) or NULL -> y (B, O). */
void ghm_linear_forward(float *y, const float *x, const float *w, const float *bias, int B, int In, int O);
/* dy (B, O), x (B, I), w (O, I) -> dx (B, I), dw (O, I), db (O); each may be NULL. */
void ghm_linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, int B,
                         int In, int O);

/* ---- ReLU (in place allowed: y == x, dx == dy) --------------------------- */

/* x (n) -> y (n) = max(x, 0). */
void ghm_relu_forward(float *y, const float *x, size_t n);
/* dy (n), y (n) the forward OUTPUT -> dx (n) = dy * (y > 0). */
void ghm_relu_backward(float *dx, const float *dy, const float *y, size_t n);

/* ---- 2-D convolution (square kernel, any stride and zero padding) -------
 *
 * x (C, B, H, W), w (OC, C, K, K), bias (OC) or NULL -> y (OC, B, OH, OW)
 * with OH = (H + 2 pad - K) / stride + 1 (likewise OW).
 * Computed as im2col + sgemm: each OpenMP thread takes a contiguous share of
 * the images and processes them in blocks small enough to stay in its L2
 * cache (im2col of the block, then y[:, block] = w (OC, C*K*K) @ col_block).
 * col is a caller workspace of ghm_conv2d_col_size(C, K, OH, OW, chunk)
 * floats (chunk >= 1; a larger chunk lets more threads work, up to B), split
 * into per-thread shares. Its contents are scratch: nothing is kept between
 * forward and backward (streaming a whole-batch im2col through memory cost
 * more than recomputing it per block). */
static inline int ghm_conv2d_out(int H, int K, int stride, int pad) { return (H + 2 * pad - K) / stride + 1; }
size_t ghm_conv2d_col_size(int C, int K, int OH, int OW, int chunk);
/* x (C, B, H, W) -> col (C*K*K, B*OH*OW): one row per (c, kh, kw), zero outside the image. */
void ghm_im2col(float *col, const float *x, int B, int C, int H, int W, int K, int stride, int pad);
/* col (C*K*K, B*OH*OW) -> dx (C, B, H, W): the adjoint of ghm_im2col (dx overwritten). */
void ghm_col2im(float *dx, const float *col, int B, int C, int H, int W, int K, int stride, int pad);
void ghm_conv2d_forward(float *y, float *col, const float *x, const float *w, const float *bias, int B, int C, int H,
                        int W, int OC, int K, int stride, int pad, int chunk);
/* dy (OC, B, OH, OW), x (C, B, H, W) the forward input (required), w -> dx (C, B, H, W),
 * dw (OC, C, K, K), db (OC); each output may be NULL. col: workspace as in forward, clobbered.
 * col_valid is ignored (kept for source compatibility: the im2col is always recomputed per block).
 * dw is the sum of per-thread partial products added in thread order: deterministic for a fixed
 * thread count (and workspace size). */
void ghm_conv2d_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, float *col,
                         int col_valid, int B, int C, int H, int W, int OC, int K, int stride, int pad, int chunk);

/* ---- convolution backend: oneDNN (optional) ------------------------------
 * When the build found oneDNN (Debian libdnnl-dev), convolutions can run on its
 * kernels instead of the im2col + sgemm reference above: a ghm_conv_dnnl holds
 * the primitives for one shape and batch size (created once, outside the
 * training step), takes and returns the same (C, B, H, W) maps and OIHW
 * weights, and reorders internally into the layouts oneDNN's kernels use.
 * Results equal the reference up to float rounding (a different summation
 * order; tests/test_layers_dnnl.cc states the tolerance) and are identical from
 * run to run for a fixed thread count. No bias in training (the residual
 * network's convolutions feed batch norm); the fused inference form has one. */
typedef struct ghm_conv_dnnl ghm_conv_dnnl;
/* 1 when oneDNN is built in and its CPU engine starts. */
int ghm_conv_dnnl_available(void);
/* 1 when backbones should use oneDNN: available, and neither $GHM_CONV_BACKEND=ref
 * nor ghm_conv_backend_set(0) chose the reference path. Read once. */
int ghm_conv_backend_dnnl(void);
void ghm_conv_backend_set(int use_dnnl);
/* Channel block of oneDNN's blocked layout on this CPU (8 or 16; 0 without oneDNN).
 * A BLOCKED map (B, C, H, W) is stored as (B, C/blk, H, W, blk) (channels padded
 * to a multiple of blk), or as plain (B, 1, H, W) for C == 1. */
int ghm_dnnl_block(void);
/* The instruction set of oneDNN's kernels on this CPU, after DNNL_MAX_CPU_ISA:
 * "avx512", "avx2", "sse41", "other"; "none" without oneDNN. */
const char *ghm_dnnl_isa_name(void);
/* Floats of a (B, C, H, W) map in the blocked (1) or (C, B, H, W) (0) layout; 0 without oneDNN. */
size_t ghm_dnnl_map_size(int B, int C, int H, int W, int blocked);
/* Primitives for x (C, B, H, W) -> y (OC, B, OH, OW), square K, stride, pad;
 * backward = 0 for inference only; x_blocked / y_blocked: x and dx, y and dy
 * are in the blocked layout instead (no reorder for them). NULL when oneDNN is
 * unavailable or has no fast kernel for the shape. */
ghm_conv_dnnl *ghm_conv_dnnl_create(int B, int C, int H, int W, int OC, int K, int stride, int pad, int backward,
                                    int x_blocked, int y_blocked);
void ghm_conv_dnnl_destroy(ghm_conv_dnnl *c);
/* 1 when oneDNN has a fast (non-reference) forward kernel for this shape on this CPU: the one
 * legitimate reason for ghm_conv_dnnl_create to return NULL when oneDNN is available is that it has none
 * (which kernels exist depends on the CPU: AVX2, AVX-512, ...). */
int ghm_conv_dnnl_fast_kernel(int B, int C, int H, int W, int OC, int K, int stride, int pad);
/* For tests of the fallback: creation attempt k (0: the next call of ghm_conv_dnnl_create or
 * _create_fused) fails after building everything, as a late oneDNN failure would; k < 0: none.
 * ghm_conv_dnnl_attempts counts the attempts so far (0 without oneDNN). */
void ghm_conv_dnnl_fail_at(long k);
long ghm_conv_dnnl_attempts(void);
/* oneDNN's name of the forward kernel ("jit:avx512_core", ...). */
const char *ghm_conv_dnnl_impl(const ghm_conv_dnnl *c);
/* Floats of scratch workspace forward and backward need (for the reordered
 * maps; nothing in it survives a call, so layers may share one). */
size_t ghm_conv_dnnl_ws_size(const ghm_conv_dnnl *c);
/* y = conv(x, w). Returns 0, or -1 on a oneDNN failure. */
int ghm_conv_dnnl_forward(ghm_conv_dnnl *c, float *ws, float *y, const float *x, const float *w);
/* Inference with what follows the convolution fused in, as oneDNN post-ops:
 * y = relu?(conv(x, w) + bias (+ y's previous contents when sum)), bias (OC).
 * A batch norm with fixed statistics folds into w and bias (the residual
 * network's inference path). Layouts as ghm_conv_dnnl_create, and x_blocked /
 * y_blocked 2 for NHWC (B, H, W, C); no backward.
 * NULL when oneDNN is unavailable or has no fast kernel for the shape. */
ghm_conv_dnnl *ghm_conv_dnnl_create_fused(int B, int C, int H, int W, int OC, int K, int stride, int pad,
                                          int x_blocked, int y_blocked, int sum, int relu);
/* The forward of a fused primitive (ghm_conv_dnnl_forward refuses those, and this the others). 0 or -1.
 * w NULL: the weights of the last ghm_conv_dnnl_set_weights (kept in the primitive's layout, so that
 * several passes with the same weights reorder them once). */
int ghm_conv_dnnl_forward_fused(ghm_conv_dnnl *c, float *ws, float *y, const float *x, const float *w,
                                const float *bias);
/* Keep w (OIHW) for the forwards of fused primitive c that pass no weights. 0, or -1 (keep passing them). */
int ghm_conv_dnnl_set_weights(ghm_conv_dnnl *c, const float *w);
/* Side by side: the fused forwards of distinct ghm_conv_dnnl objects (each with its own workspace) may run
 * at once on the threads 0..n-1 of one OpenMP parallel region (each on one thread: oneDNN runs
 * sequentially inside a parallel region) once ghm_dnnl_streams_reserve(n) has returned 0; call it from
 * outside any parallel region. 0, or -1 (no oneDNN, or n too large). */
int ghm_dnnl_streams_reserve(int n);
/* dy -> dx (C, B, H, W), dw (OC, C, K, K) (overwritten; either may be NULL), x the
 * forward input, w the weights. 0 or -1. */
int ghm_conv_dnnl_backward(ghm_conv_dnnl *c, float *ws, float *dx, float *dw, const float *dy, const float *x,
                           const float *w);

/* Layout conversion of a (B, C, H, W) map: (C, B, H, W) -> blocked (to_blocked = 1) or back. */
typedef struct ghm_dnnl_reorder ghm_dnnl_reorder;
ghm_dnnl_reorder *ghm_dnnl_reorder_create(int B, int C, int H, int W, int to_blocked);
void ghm_dnnl_reorder_destroy(ghm_dnnl_reorder *o);
int ghm_dnnl_reorder_run(ghm_dnnl_reorder *o, float *dst, const float *src);

/* ---- convolution fused with bias, ReLU and max-pool ------------------------
 * p = relu?(maxpool_{pk, ps}(conv(x) + bias)) without materialising the conv
 * output: each thread convolves L2-sized blocks of its images and pools them
 * at once (relu(maxpool(y + b)) == maxpool(relu(y + b))). The backward
 * rebuilds the conv-output gradient of each block from the pooled gradient,
 * then proceeds as ghm_conv2d_backward.
 * x (C, B, H, W), w (OC, C, K, K), bias (OC) or NULL -> p (OC, B, PH, PW),
 * arg (OC, B, PH, PW) (index within the (OH, OW) conv-output plane, as
 * ghm_maxpool_forward), PH = (OH - pk) / ps + 1.
 * ws: workspace of ws_floats floats, ghm_conv2d_pool_ws_size(..., threads)
 * for `threads` threads to work (fewer when it is smaller). Return 0, or -1
 * (nothing computed) when ws is too small for even one thread. */
size_t ghm_conv2d_pool_ws_size(int C, int K, int OH, int OW, int OC, int threads);
int ghm_conv2d_pool_forward(float *p, int32_t *arg, float *ws, size_t ws_floats, const float *x, const float *w,
                            const float *bias, int relu, int B, int C, int H, int W, int OC, int K, int stride,
                            int pad, int pk, int ps);
/* dp (OC, B, PH, PW), p and arg from the forward, x the forward input -> dx (C, B, H, W),
 * dw (OC, C, K, K), db (OC); each may be NULL. Deterministic for a fixed thread count
 * (dw: per-thread partial products added in thread order). Returns 0 or -1 as forward. */
int ghm_conv2d_pool_backward(float *dx, float *dw, float *db, const float *dp, const float *p, const int32_t *arg,
                             int relu, float *ws, size_t ws_floats, const float *x, const float *w, int B, int C,
                             int H, int W, int OC, int K, int stride, int pad, int pk, int ps);

/* ---- pooling on (C, B, H, W) maps; P = C*B planes ----------------------- */

/* Max pool, window K, stride S, no padding: x (P, H, W) -> y (P, OH, OW),
 * OH = (H - K) / S + 1; arg (P, OH, OW) receives the index (within the plane)
 * of each maximum. bias (C) or NULL is added to plane p's values first (plane p
 * belongs to channel p / B when planes_per_channel = B), and relu = 1 applies
 * max(0, .) to the result: relu(maxpool(x + b)) == maxpool(relu(x + b)), so a
 * conv's bias, ReLU and pooling cost one pass over the small pooled output. */
void ghm_maxpool_forward(float *y, int32_t *arg, const float *x, const float *bias, int relu, int P,
                         int planes_per_channel, int H, int W, int K, int S);
/* dy (P, OH, OW), y the forward output, arg -> dx (P, H, W) (overwritten).
 * With relu = 1 the gradient is passed only where y > 0. */
void ghm_maxpool_backward(float *dx, const float *dy, const float *y, const int32_t *arg, int relu, int P, int H,
                          int W, int K, int S);
/* Average pool, window K, stride S, no padding: x (P, H, W) -> y (P, OH, OW). */
void ghm_avgpool_forward(float *y, const float *x, int P, int H, int W, int K, int S);
/* dy (P, OH, OW) -> dx (P, H, W) (overwritten). */
void ghm_avgpool_backward(float *dx, const float *dy, int P, int H, int W, int K, int S);
/* Global average pool: x (C, B, HW) -> y (B, C) (row-major, ready for a linear layer). */
void ghm_gap_forward(float *y, const float *x, int B, int C, int HW);
/* dy (B, C) -> dx (C, B, HW). */
void ghm_gap_backward(float *dx, const float *dy, int B, int C, int HW);

/* ---- batch normalisation over channel-major x (C, N), N = B*H*W ----------
 * PyTorch semantics: eps = 1e-5, momentum = 0.1; training uses the biased
 * batch variance to normalise and updates running_var with the unbiased one.
 * Eval mode uses the running statistics. */
#define GHM_BN_EPS 1e-5f
#define GHM_BN_MOMENTUM 0.1f
/* x (C, N), gamma, beta (C) -> y (C, N). train = 1: batch statistics, stores
 * mean (C) and invstd (C) for backward, updates running_mean/var (C) (N >= 2).
 * train = 0: running statistics (mean/invstd may be NULL). */
void ghm_batchnorm_forward(float *y, float *mean, float *invstd, float *running_mean, float *running_var,
                           const float *x, const float *gamma, const float *beta, int C, int N, int train);
/* dy (C, N), x the forward input, mean/invstd from the train forward -> dx (C, N), dgamma, dbeta (C).
 * dx may alias dy. */
void ghm_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                            const float *mean, const float *invstd, const float *gamma, int C, int N);

/* The same on a map in oneDNN's blocked layout (B, C/blk, HW, blk), blk = 8 or
 * 16 dividing C (nn/layer_dnnl.c), fused with an optional ReLU:
 * relu = 1 gives y = max(BN(x), 0). mean/invstd/running statistics as above.
 * In backward, relu = 1 (the forward had it) masks dy first: dx = BN'(dy *
 * (y > 0)), with y recomputed from x, mean, invstd, gamma and beta in the
 * forward's operations (the same mask, without reading y). Each channel's sums run on one thread
 * (float within an image, double across images): the numbers do not depend on
 * the thread count. dx may alias dy. */
void ghm_batchnorm_blocked_forward(float *y, float *mean, float *invstd, float *running_mean, float *running_var,
                                   const float *x, const float *gamma, const float *beta, int B, int C, int HW,
                                   int blk, int train, int relu);
/* The same with a residual sum before the ReLU, in the same pass: y = max(BN(x) + add, 0)
 * (add a map of the same shape and layout; the residual block's second batch norm). */
void ghm_batchnorm_blocked_forward_add_relu(float *y, float *mean, float *invstd, float *running_mean,
                                            float *running_var, const float *x, const float *gamma, const float *beta,
                                            const float *add, int B, int C, int HW, int blk, int train);
void ghm_batchnorm_blocked_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                    const float *mean, const float *invstd, const float *gamma, const float *beta,
                                    int relu, int B, int C, int HW, int blk);

/* Global average pool on a blocked map: x (B, C/blk, HW, blk) -> y (B, C), the
 * same sums in the same order as ghm_gap_forward (so the same bits); backward
 * dy (B, C) -> dx blocked (overwritten). blk 8 or 16 dividing C. */
void ghm_gap_blocked_forward(float *y, const float *x, int B, int C, int HW, int blk);
/* The same on an NHWC map x (B, HW, C) (sums in the same order). */
void ghm_gap_nhwc_forward(float *y, const float *x, int B, int C, int HW);
void ghm_gap_blocked_backward(float *dx, const float *dy, int B, int C, int HW, int blk);

/* Weight gradient of a convolution with few input channels (the residual
 * network's stem), where oneDNN's kernel reaches a tenth of its usual speed:
 * x (C, B, H, W) plain, dy (B, OC/blk, OH*OW, blk) blocked as above (blk 8 or
 * 16, OC a multiple of it) -> dw (OC, C, K, K), overwritten. Per output
 * channel: a float sum over each image's positions, then a double sum over
 * the images; one thread per 8 output channels, so the numbers do not depend on
 * the thread count. Returns 0, or -1 (nothing written) when the shape is out of
 * its range: K > 5 or a padded plane over 4096 floats. */
int ghm_conv2d_wgrad_few_in(float *dw, const float *dy, const float *x, int B, int C, int H, int W, int OC, int K,
                            int stride, int pad, int blk);

/* Weight gradient of a 3x3 convolution (stride 1, pad 1) with both maps blocked
 * (B, C/blk, H, W, blk), blk 8 or 16 dividing C and OC: dw (OC, C, 3, 3),
 * overwritten (nn/layer_direct3x3.c: 1.2-1.6x oneDNN's AVX2 kernel on the
 * residual network's layers; written on 8-float vectors, so not meant to
 * replace oneDNN's AVX-512 kernels). Float sums; each weight's sum runs in an
 * order that does not depend on the thread count. Returns 0, or -1 (nothing
 * written) for a shape out of that range. */
int ghm_conv2d_wgrad_3x3_blocked(float *dw, const float *dy, const float *x, int B, int C, int H, int W, int OC,
                                 int blk);

/* Forward of a 3x3 convolution (stride 1, pad 1, no bias) on maps in blocks of
 * 8 channels: x (B, C/8, H, W, 8), w (OC, C, 3, 3) -> y (B, OC/8, H, W, 8),
 * overwritten; OC a multiple of 16; ws a workspace of OC * C * 9 floats
 * (nn/layer_direct3x3.c: 1.1-1.2x oneDNN's AVX2 forward on the residual
 * network's layers; its input gradient was no faster than oneDNN's, so there is
 * none). Each output by one thread, in a fixed order. 0, or -1 (nothing
 * written) for a shape out of that range. */
int ghm_conv3x3_blocked_forward(float *y, const float *x, const float *w, float *ws, int B, int C, int H, int W,
                                int OC);

/* Winograd F(4x4, 3x3) convolution for inference (stride 1, pad 1), with a
 * bias per output channel, optionally adding what y holds (a residual sum) and
 * then a ReLU: y = [ReLU](conv(x, w) + bias [+ y]) (nn/layer_wino.c: 4x fewer
 * multiply-adds than a direct convolution, outputs within about 1e-5 of it
 * relative to the magnitudes involved); bias may be NULL (none). Maps of B
 * images, C (OC) channels:
 *   GHM_WINO_BLOCKED8: (B, C/8, H, W, 8), vectors of 8 channels;
 *   GHM_WINO_NHWC16:   (B, H, W, C), vectors of 16 channels;
 * C and OC multiples of the vector width. u holds the transformed weights
 * (ghm_wino3x3_weights_size(C, OC) floats) that ghm_wino3x3_weights makes from
 * w (OC, C, 3, 3) for vector width vw (8 for BLOCKED8, 16 for NHWC16). The
 * forward runs on as many threads as its workspace ws holds
 * (ghm_wino3x3_ws_size(C, OC, threads) floats; with less than one thread's,
 * or NULL, it allocates its own). Results do not depend on the thread count.
 * Each returns 0, or -1 (nothing written) for a shape out of range or, for the
 * forward, no memory for its workspace. ghm_wino_enabled says whether callers
 * should use it: 1 on the oneDNN convolution backend (ghm_conv_backend_dnnl;
 * the reference path stays direct) unless GHM_WINOGRAD=0 (for comparisons)
 * or ghm_wino_set(0) was called. */
enum { GHM_WINO_BLOCKED8 = 1, GHM_WINO_NHWC16 = 2 };
size_t ghm_wino3x3_weights_size(int C, int OC);
size_t ghm_wino3x3_ws_size(int C, int OC, int threads);
int ghm_wino3x3_weights(float *u, const float *w, int C, int OC, int vw);
int ghm_wino3x3_forward(float *y, const float *x, const float *u, const float *bias, int B, int C, int H, int W,
                        int OC, int layout, int sum, int relu, float *ws, size_t ws_floats);
int ghm_wino_enabled(void);
void ghm_wino_set(int on);

/* Winograd F(2x2, 5x5) of a valid (unpadded, stride 1) 5x5 convolution fused with its bias, ReLU and a 2x2
 * max-pool (the convnet's conv2): f = relu(maxpool(conv(x, w) + bias)), (B, OC, Q, R) or, channel_major,
 * (OC, B, Q, R), Q = (H-4)/2, R = (W-4)/2, from x in the layout's vectors (ghm_wino_pack) and u from
 * ghm_wino5x5_weights (w (OC, C, 5, 5)); H - 4 and W - 4 even. arg (NULL: none), in f's layout: each
 * maximum's position in its (H-4) x (W-4) conv output plane, the first in row-major order among equal
 * values, as ghm_conv2d_pool_forward's (so its backward applies). 2.8x fewer multiply-adds than the direct
 * convolution; same transform of the input as F(4x4, 3x3), same workspace (ghm_wino3x3_ws_size). 0, or -1
 * for a shape out of range or no memory. ghm_wino_pack: (C, B, H, W) channel-major -> the layout. */
size_t ghm_wino5x5_weights_size(int C, int OC);
int ghm_wino5x5_weights(float *u, const float *w, int C, int OC, int vw);
int ghm_wino_pack(float *dst, const float *src, int B, int C, int H, int W, int layout);
int ghm_wino5x5_pool_forward(float *f, int32_t *arg, const float *x, const float *u, const float *bias, int B, int C,
                             int H, int W, int OC, int layout, int channel_major, float *ws, size_t ws_floats);

/* The first convolution of a network, direct, for inference: 3x3, stride 1, pad 1, few input channels
 * (C * (H + 2) * (W + 2) <= 8192), y = ReLU(conv(x, w) + bias), x (C, B, H, W) channel-major, y in a
 * Winograd layout above (OC a multiple of its vector width), H even and W a multiple of 4. u from
 * ghm_conv3x3_in_weights (ghm_conv3x3_in_weights_size(C, OC) floats, w (OC, C, 3, 3), vw as above).
 * Images split over the threads; each output summed in the order bias, then input channel, kernel row,
 * kernel column, whatever the thread count (nn/layer_wino.c: the residual network's stem, 1 -> 16
 * channels at 28 x 28, ran at about a quarter of the cores' peak on oneDNN). 0, or -1 (nothing written)
 * for a shape out of range. */
size_t ghm_conv3x3_in_weights_size(int C, int OC);
int ghm_conv3x3_in_weights(float *u, const float *w, int C, int OC, int vw);
int ghm_conv3x3_in_forward(float *y, const float *x, const float *u, const float *bias, int B, int C, int H, int W,
                           int OC, int layout);

/* ---- residual add: y = a + b; backward passes dy to both branches ------- */
void ghm_add_forward(float *y, const float *a, const float *b, size_t n);
/* da += dy when accumulate, else da = dy (da may be NULL). */
void ghm_add_backward(float *da, const float *dy, size_t n, int accumulate);
/* Fused residual add + ReLU (one pass, one parallel region): y = max(a + b, 0). */
void ghm_add_relu_forward(float *y, const float *a, const float *b, size_t n);
/* ReLU backward written to two outputs (the residual sum's gradient feeds both
 * branches): dx = dx2 = dy * (y > 0), y the forward output. dx may alias dy. */
void ghm_relu_backward_dup(float *dx, float *dx2, const float *dy, const float *y, size_t n);

/* ---- L2 normalisation of rows: y = x / sqrt(|x|^2 + eps) ----------------- */
#define GHM_L2_EPS 1e-12f
/* x (B, D) -> y (B, D). */
void ghm_l2norm_forward(float *y, const float *x, int B, int D);
/* dy (B, D), x the forward input -> dx (B, D) = dy/s - x (x.dy)/s^3, s = sqrt(|x|^2 + eps). dx may alias dy. */
void ghm_l2norm_backward(float *dx, const float *dy, const float *x, int B, int D);

/* ---- initialisation ------------------------------------------------------ */
struct ghm_rng;
/* U(-bound, bound) with bound = 1/sqrt(fan_in): PyTorch's default for Linear and
 * Conv2d weights (kaiming_uniform_ with a = sqrt(5)) and biases. */
void ghm_init_uniform_fan_in(float *w, size_t n, int fan_in, struct ghm_rng *rng);
/* Kaiming normal, fan_out mode, ReLU gain: N(0, 2/fan_out) (torchvision ResNets). */
void ghm_init_kaiming_normal(float *w, size_t n, int fan_out, struct ghm_rng *rng);

#ifdef __cplusplus
}
#endif
#endif
