/* Convolution (im2col + sgemm) and pooling layers on channel-major (C, B, H, W)
 * feature maps. See core/layers.h for the conventions. */
#include "layers.h"

#include <cblas.h>
#include <float.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

size_t ghm_conv2d_col_size(int C, int K, int OH, int OW, int chunk)
{
    return (size_t)C * K * K * (size_t)OH * OW * (size_t)chunk;
}

/* Each thread works on im2col blocks of about this many floats, so that a
 * block is still in its L2 cache when the GEMM (and, in backward, col2im)
 * reads it. */
#define COL_BLOCK_FLOATS (32 * 1024)

static int block_images(int CKK, int P)
{
    size_t per = (size_t)CKK * (size_t)P;
    size_t m = per ? COL_BLOCK_FLOATS / per : 1;
    return m < 1 ? 1 : (m > 64 ? 64 : (int)m);
}

/* This thread's contiguous share [lo, hi) of n items (static, deterministic). */
static inline void thread_range(int n, int *lo, int *hi)
{
#ifdef _OPENMP
    const int t = omp_get_thread_num(), T = omp_get_num_threads();
#else
    const int t = 0, T = 1;
#endif
    *lo = (int)((long)n * t / T);
    *hi = (int)((long)n * (t + 1) / T);
}

/* Valid (stride 1, no padding) im2col / col2im of one channel plane for one
 * kernel offset (kh, kw): out (OH, OW) <-> x[kh.., kw..] (rows of W). The
 * reference convnet's shapes (24x24 and 8x8 outputs) get constant trip counts,
 * which compile to whole-vector moves without loop overhead. */
#define VALID_COPY(OH_, OW_)                                                                                         \
    for (int oh = 0; oh < (OH_); oh++)                                                                               \
        for (int j = 0; j < (OW_); j++) out[oh * (OW_) + j] = src[(size_t)oh * W + j]
#define VALID_ADD(OH_, OW_)                                                                                          \
    for (int oh = 0; oh < (OH_); oh++)                                                                               \
        for (int j = 0; j < (OW_); j++) dst[(size_t)oh * W + j] += in[oh * (OW_) + j]

static inline void valid_copy(float *restrict out, const float *restrict src, int OH, int OW, int W)
{
    if (OH == 8 && OW == 8) {
        VALID_COPY(8, 8);
    } else if (OH == 24 && OW == 24) {
        VALID_COPY(24, 24);
    } else {
        VALID_COPY(OH, OW);
    }
}

static inline void valid_add(float *restrict dst, const float *restrict in, int OH, int OW, int W)
{
    if (OH == 8 && OW == 8) {
        VALID_ADD(8, 8);
    } else if (OH == 24 && OW == 24) {
        VALID_ADD(24, 24);
    } else {
        VALID_ADD(OH, OW);
    }
}

/* Valid output columns [*ow0, *ow1) for kernel column kw: 0 <= ow*stride - pad + kw < W. */
static inline void valid_cols(int OW, int W, int kw, int stride, int pad, int *ow0, int *ow1)
{
    int a = 0, b = OW;
    while (a < OW && a * stride - pad + kw < 0) a++;
    while (b > a && (b - 1) * stride - pad + kw >= W) b--;
    *ow0 = a;
    *ow1 = b;
}

/* Max pool of one plane x (H, W) -> y (OH, OW), arg (OH, OW) (index of the
 * first maximum within the plane); add is added to the maximum, relu clamps
 * it at 0. */
static void pool_plane(float *restrict yp, int32_t *restrict ap, const float *restrict xp, float add, int relu, int H,
                       int W, int K, int S)
{
    const int OH = (H - K) / S + 1, OW = (W - K) / S + 1;
    for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++) {
            int best = (oh * S) * W + ow * S;
            float m = xp[best];
            if (K == 2) {
                const int i1 = best + 1, i2 = best + W, i3 = best + W + 1;
                if (xp[i1] > m) { m = xp[i1]; best = i1; }
                if (xp[i2] > m) { m = xp[i2]; best = i2; }
                if (xp[i3] > m) { m = xp[i3]; best = i3; }
            } else {
                for (int kh = 0; kh < K; kh++)
                    for (int kw = 0; kw < K; kw++) {
                        const int i = (oh * S + kh) * W + ow * S + kw;
                        if (xp[i] > m) { m = xp[i]; best = i; }
                    }
            }
            m += add;
            if (relu && m < 0.0f) m = 0.0f;
            yp[oh * OW + ow] = m;
            ap[oh * OW + ow] = best;
        }
}

/* Adjoint of pool_plane: dy (OH, OW) -> dx (H, W) (overwritten); with relu
 * the gradient passes only where the pooled output y > 0. */
static void unpool_plane(float *restrict dp, const float *restrict g, const float *restrict yp,
                         const int32_t *restrict ap, int relu, int H, int W, int K, int S)
{
    const int OH = (H - K) / S + 1, OW = (W - K) / S + 1;
    memset(dp, 0, sizeof(float) * (size_t)H * W);
    for (int j = 0; j < OH * OW; j++)
        if (!relu || yp[j] > 0.0f) dp[ap[j]] += g[j];
}

/* Serial im2col of nimg images: x points at the first image of channel 0 of a
 * (C, *, H, W) map with channel stride xcs -> col (C*K*K rows, row stride ld),
 * image i in columns [i*OH*OW, (i+1)*OH*OW). */
static void im2col_images(float *col, size_t ld, const float *x, size_t xcs, int nimg, int C, int H, int W, int K,
                          int stride, int pad, int OH, int OW)
{
    const int P = OH * OW;
    if (stride == 1 && pad == 0) {
        for (int i = 0; i < nimg; i++)
            for (int c = 0; c < C; c++) {
                const float *xp = x + (size_t)c * xcs + (size_t)i * H * W;
                float *out = col + (size_t)c * K * K * ld + (size_t)i * P;
                for (int kh = 0; kh < K; kh++)
                    for (int kw = 0; kw < K; kw++, out += ld) valid_copy(out, xp + (size_t)kh * W + kw, OH, OW, W);
            }
        return;
    }
    for (int c = 0; c < C; c++)
        for (int kh = 0; kh < K; kh++)
            for (int kw = 0; kw < K; kw++) {
                float *row = col + (size_t)((c * K + kh) * K + kw) * ld;
                int ow0, ow1;
                valid_cols(OW, W, kw, stride, pad, &ow0, &ow1);
                for (int i = 0; i < nimg; i++) {
                    const float *xp = x + (size_t)c * xcs + (size_t)i * H * W;
                    float *out = row + (size_t)i * P;
                    for (int oh = 0; oh < OH; oh++) {
                        float *restrict o = out + (size_t)oh * OW;
                        const int ih = oh * stride - pad + kh;
                        if (ih < 0 || ih >= H) {
                            memset(o, 0, sizeof(float) * (size_t)OW);
                            continue;
                        }
                        const float *restrict r = xp + (size_t)ih * W - pad + kw;
                        for (int ow = 0; ow < ow0; ow++) o[ow] = 0.0f;
                        if (stride == 1)
                            for (int ow = ow0; ow < ow1; ow++) o[ow] = r[ow];
                        else
                            for (int ow = ow0; ow < ow1; ow++) o[ow] = r[(size_t)ow * stride];
                        for (int ow = ow1; ow < OW; ow++) o[ow] = 0.0f;
                    }
                }
            }
}

/* Serial adjoint of im2col_images: col (C*K*K rows, stride ld) -> nimg images
 * of dx (channel stride dxcs), overwritten. */
static void col2im_images(float *dx, size_t dxcs, const float *col, size_t ld, int nimg, int C, int H, int W, int K,
                          int stride, int pad, int OH, int OW)
{
    const int P = OH * OW;
    const int valid = stride == 1 && pad == 0;
    for (int i = 0; i < nimg; i++)
        for (int c = 0; c < C; c++) {
            float *dp = dx + (size_t)c * dxcs + (size_t)i * H * W;
            memset(dp, 0, sizeof(float) * (size_t)H * W);
            const float *in = col + (size_t)c * K * K * ld + (size_t)i * P;
            if (valid) {
                for (int kh = 0; kh < K; kh++)
                    for (int kw = 0; kw < K; kw++, in += ld) valid_add(dp + (size_t)kh * W + kw, in, OH, OW, W);
                continue;
            }
            for (int kh = 0; kh < K; kh++)
                for (int kw = 0; kw < K; kw++, in += ld) {
                    int ow0, ow1;
                    valid_cols(OW, W, kw, stride, pad, &ow0, &ow1);
                    for (int oh = 0; oh < OH; oh++) {
                        const int ih = oh * stride - pad + kh;
                        if (ih < 0 || ih >= H) continue;
                        float *restrict r = dp + (size_t)ih * W - pad + kw;
                        const float *restrict s = in + (size_t)oh * OW;
                        if (stride == 1)
                            for (int ow = ow0; ow < ow1; ow++) r[ow] += s[ow];
                        else
                            for (int ow = ow0; ow < ow1; ow++) r[(size_t)ow * stride] += s[ow];
                    }
                }
        }
}

void ghm_im2col(float *col, const float *x, int B, int C, int H, int W, int K, int stride, int pad)
{
    const int OH = ghm_conv2d_out(H, K, stride, pad), OW = ghm_conv2d_out(W, K, stride, pad);
    const size_t ld = (size_t)B * OH * OW, xcs = (size_t)B * H * W;
#pragma omp parallel
    {
        int lo, hi;
        thread_range(B, &lo, &hi);
        if (hi > lo)
            im2col_images(col + (size_t)lo * OH * OW, ld, x + (size_t)lo * H * W, xcs, hi - lo, C, H, W, K, stride,
                          pad, OH, OW);
    }
}

void ghm_col2im(float *dx, const float *col, int B, int C, int H, int W, int K, int stride, int pad)
{
    const int OH = ghm_conv2d_out(H, K, stride, pad), OW = ghm_conv2d_out(W, K, stride, pad);
    const size_t ld = (size_t)B * OH * OW, xcs = (size_t)B * H * W;
#pragma omp parallel
    {
        int lo, hi;
        thread_range(B, &lo, &hi);
        if (hi > lo)
            col2im_images(dx + (size_t)lo * H * W, xcs, col + (size_t)lo * OH * OW, ld, hi - lo, C, H, W, K, stride,
                          pad, OH, OW);
    }
}

/* Threads that get a private share of a workspace of ws floats, each share
 * holding an im2col block of *sb images (CKK*P floats each) plus `extra`
 * floats; 0 when not even one image fits. */
static int plan_workers(size_t ws, int CKK, int P, size_t extra, int *sb)
{
#ifdef _OPENMP
    int T = omp_in_parallel() ? 1 : omp_get_max_threads();
#else
    int T = 1;
#endif
    const size_t img = (size_t)CKK * (size_t)P;
    const int target = block_images(CKK, P);
    for (int nw = T; nw >= 1; nw--) {
        const size_t share = ws / (size_t)nw;
        if (share < extra + img) continue;
        size_t m = (share - extra) / img;
        *sb = m < (size_t)target ? (int)m : target;
        return nw;
    }
    return 0;
}

void ghm_conv2d_forward(float *y, float *col, const float *x, const float *w, const float *bias, int B, int C, int H,
                        int W, int OC, int K, int stride, int pad, int chunk)
{
    const int OH = ghm_conv2d_out(H, K, stride, pad), OW = ghm_conv2d_out(W, K, stride, pad);
    const int P = OH * OW, CKK = C * K * K;
    const size_t ldy = (size_t)B * P, xcs = (size_t)B * H * W;
    const int direct = K == 1 && stride == 1 && pad == 0; /* a 1x1 convolution reads x as its col */
    if (chunk <= 0 || chunk > B) chunk = B;
    int sb = 1, nw = 1;
    if (direct) {
#ifdef _OPENMP
        nw = omp_in_parallel() ? 1 : omp_get_max_threads();
#endif
        sb = block_images(CKK, P);
    } else {
        nw = plan_workers(ghm_conv2d_col_size(C, K, OH, OW, chunk), CKK, P, 0, &sb);
    }
    const size_t share = direct ? 0 : ghm_conv2d_col_size(C, K, OH, OW, chunk) / (size_t)nw;
    const int saved = ghm_blas_serial_begin();
    /* each thread: its images, in L2-sized blocks: im2col into its share of
     * col, then y[:, block] (OC, m*P) = w (OC, CKK) @ col (CKK, m*P) */
#pragma omp parallel num_threads(nw) if (nw > 1)
    {
        int lo, hi;
        thread_range(B, &lo, &hi);
#ifdef _OPENMP
        float *cb = direct ? NULL : col + share * (size_t)omp_get_thread_num();
#else
        float *cb = col;
#endif
        for (int i = lo; i < hi; i += sb) {
            const int m = hi - i < sb ? hi - i : sb, n = m * P;
            float *yb = y + (size_t)i * P;
            const float *src;
            size_t lds;
            if (direct) {
                src = x + (size_t)i * P;
                lds = xcs;
            } else {
                im2col_images(cb, (size_t)n, x + (size_t)i * H * W, xcs, m, C, H, W, K, stride, pad, OH, OW);
                src = cb;
                lds = (size_t)n;
            }
            if (bias)
                for (int o = 0; o < OC; o++) {
                    float *r = yb + (size_t)o * ldy;
                    for (int j = 0; j < n; j++) r[j] = bias[o];
                }
            ghm_sgemm_serial(0, 0, OC, n, CKK, 1.0f, w, CKK, src, (int)lds,
                        bias ? 1.0f : 0.0f, yb, (int)ldy);
        }
    }
    ghm_blas_serial_end(saved);
}

/* db (OC) = row sums of dy (OC, len), each in double over 8 fixed interleaved
 * partial sums (vectorisable; independent of the thread count). */
static void bias_grad(float *db, const float *dy, int OC, size_t len)
{
#pragma omp parallel for schedule(static)
    for (int o = 0; o < OC; o++) {
        const float *r = dy + (size_t)o * len;
        double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        size_t j = 0;
        for (; j + 8 <= len; j += 8)
            for (int l = 0; l < 8; l++) acc[l] += (double)r[j + l];
        double s = 0.0;
        for (; j < len; j++) s += r[j];
        db[o] = (float)(s + (((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]))));
    }
}

void ghm_conv2d_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, float *col,
                         int col_valid, int B, int C, int H, int W, int OC, int K, int stride, int pad, int chunk)
{
    const int OH = ghm_conv2d_out(H, K, stride, pad), OW = ghm_conv2d_out(W, K, stride, pad);
    const int P = OH * OW, CKK = C * K * K;
    const size_t ldy = (size_t)B * P, xcs = (size_t)B * H * W;
    const int direct = K == 1 && stride == 1 && pad == 0; /* col == x */
    if (chunk <= 0 || chunk > B || direct) chunk = B;
    (void)col_valid; /* the forward keeps no whole-batch im2col any more (core/layers.h) */
    if (db) bias_grad(db, dy, OC, ldy);
    if (!dw && !dx) return;
    const int saved = ghm_blas_serial_begin();
    int sb = 1;
    const size_t dwn = (size_t)OC * CKK;
    const size_t ws = ghm_conv2d_col_size(C, K, OH, OW, chunk);
    const int nw = direct ? 0 : plan_workers(ws, CKK, P, dw ? dwn : 0, &sb);
    if (nw > 0) {
        /* Each thread, per L2-sized block of its images, in its share of col:
         * recompute the block's im2col (cheaper than streaming a stored
         * whole-batch col through memory), dw_t (+)= dy[:, block] col^T,
         * dcol = w^T dy[:, block] over the block, col2im. Then dw = sum of the
         * dw_t in thread order (deterministic for a fixed thread count). */
        const size_t share = ws / (size_t)nw;
        int team = 1; /* threads the region really ran with (<= nw) */
#pragma omp parallel num_threads(nw) if (nw > 1)
        {
            int lo, hi;
            thread_range(B, &lo, &hi);
#ifdef _OPENMP
            if (omp_get_thread_num() == 0) team = omp_get_num_threads(); /* partials written */
            float *cb = col + share * (size_t)omp_get_thread_num();
#else
            float *cb = col;
#endif
            float *dwt = cb + (size_t)sb * CKK * P; /* (OC, CKK) this thread's dw */
            if (dw && hi <= lo) memset(dwt, 0, sizeof(float) * dwn);
            for (int i = lo; i < hi; i += sb) {
                const int m = hi - i < sb ? hi - i : sb, n = m * P;
                const float *dyb = dy + (size_t)i * P;
                if (dw) {
                    im2col_images(cb, (size_t)n, x + (size_t)i * H * W, xcs, m, C, H, W, K, stride, pad, OH, OW);
                    ghm_sgemm_serial(0, 1, OC, CKK, n, 1.0f, dyb, (int)ldy, cb, n,
                                i == lo ? 0.0f : 1.0f, dwt, CKK);
                }
                if (dx) {
                    ghm_sgemm_serial(1, 0, CKK, n, OC, 1.0f, w, CKK, dyb, (int)ldy, 0.0f,
                                cb, n);
                    col2im_images(dx + (size_t)i * H * W, xcs, cb, (size_t)n, m, C, H, W, K, stride, pad, OH, OW);
                }
            }
        }
        if (dw) {
            const float *d0 = col + (size_t)sb * CKK * P;
#pragma omp parallel for schedule(static)
            for (size_t k = 0; k < dwn; k++) {
                float v = d0[k];
                for (int t = 1; t < team; t++) v += d0[share * (size_t)t + k];
                dw[k] = v;
            }
        }
        ghm_blas_serial_end(saved);
        return;
    }
    /* fallback (workspace too small for private shares, or a 1x1 convolution):
     * whole-chunk im2col, products split by ghm_sgemm */
    sb = block_images(CKK, P);
    for (int b0 = 0; b0 < B; b0 += chunk) {
        const int nb = B - b0 < chunk ? B - b0 : chunk;
        const int n = nb * P;
        const size_t ldc = (size_t)n;
        const float *dyc = dy + (size_t)b0 * P;
        if (dw) {
            const float *src = col;
            size_t lds = ldc;
            if (direct) {
                src = x + (size_t)b0 * P;
                lds = xcs;
            } else {
#pragma omp parallel
                {
                    int lo, hi;
                    thread_range(nb, &lo, &hi);
                    if (hi > lo)
                        im2col_images(col + (size_t)lo * P, ldc, x + (size_t)(b0 + lo) * H * W, xcs, hi - lo, C, H, W,
                                      K, stride, pad, OH, OW);
                }
            }
            /* dw (OC, CKK) (+)= dy (OC, n) @ col^T (n, CKK) */
            ghm_sgemm(0, 1, OC, CKK, n, 1.0f, dyc, (int)ldy, src, (int)lds, b0 == 0 ? 0.0f : 1.0f, dw, CKK);
        }
        if (!dx) continue;
        if (direct) {
            /* dx (C, n) = w^T (C, OC) @ dy (OC, n) */
            ghm_sgemm(1, 0, C, n, OC, 1.0f, w, CKK, dyc, (int)ldy, 0.0f, dx + (size_t)b0 * P, (int)xcs);
            continue;
        }
        /* each thread, per L2-sized block of its images: dcol (CKK, m*P) =
         * w^T (CKK, OC) @ dy[:, block] (OC, m*P), written over col, then col2im */
#pragma omp parallel
        {
            int lo, hi;
            thread_range(nb, &lo, &hi);
            for (int i = lo; i < hi; i += sb) {
                const int m = hi - i < sb ? hi - i : sb;
                float *cb = col + (size_t)i * P;
                ghm_sgemm_serial(1, 0, CKK, m * P, OC, 1.0f, w, CKK, dyc + (size_t)i * P,
                            (int)ldy, 0.0f, cb, (int)ldc);
                col2im_images(dx + (size_t)(b0 + i) * H * W, xcs, cb, ldc, m, C, H, W, K, stride, pad, OH, OW);
            }
        }
    }
    ghm_blas_serial_end(saved);
}

/* ---- convolution fused with bias, ReLU and max-pool ------------------------ */

/* Per-thread share: im2col block, conv-output block (OC, sb*P), dw partial. */
static size_t fused_share(int CKK, int P, int OC, int sb)
{
    return (size_t)sb * CKK * P + (size_t)OC * sb * P + (size_t)OC * CKK;
}

size_t ghm_conv2d_pool_ws_size(int C, int K, int OH, int OW, int OC, int threads)
{
    const int CKK = C * K * K, P = OH * OW;
    return (size_t)(threads > 0 ? threads : 1) * fused_share(CKK, P, OC, block_images(CKK + OC, P));
}

/* Threads (<= the team size) whose shares fit in ws; 0 if none does. */
static int fused_workers(size_t ws, int CKK, int P, int OC, int *sb)
{
#ifdef _OPENMP
    int T = omp_in_parallel() ? 1 : omp_get_max_threads();
#else
    int T = 1;
#endif
    *sb = block_images(CKK + OC, P);
    for (int nw = T; nw >= 1; nw--)
        if (ws / (size_t)nw >= fused_share(CKK, P, OC, *sb)) return nw;
    *sb = 1;
    return ws >= fused_share(CKK, P, OC, 1) ? 1 : 0;
}

int ghm_conv2d_pool_forward(float *p, int32_t *arg, float *ws, size_t ws_floats, const float *x, const float *w,
                            const float *bias, int relu, int B, int C, int H, int W, int OC, int K, int stride,
                            int pad, int pk, int ps)
{
    const int OH = ghm_conv2d_out(H, K, stride, pad), OW = ghm_conv2d_out(W, K, stride, pad);
    const int P = OH * OW, CKK = C * K * K;
    const int PH = (OH - pk) / ps + 1, PW = (OW - pk) / ps + 1, PP = PH * PW;
    const size_t xcs = (size_t)B * H * W, pcs = (size_t)B * PP;
    int sb;
    const int nw = fused_workers(ws_floats, CKK, P, OC, &sb);
    if (nw == 0) return -1;
    const size_t share = ws_floats / (size_t)nw;
    const int saved = ghm_blas_serial_begin();
#pragma omp parallel num_threads(nw) if (nw > 1)
    {
        int lo, hi;
        thread_range(B, &lo, &hi);
#ifdef _OPENMP
        float *cb = ws + share * (size_t)omp_get_thread_num();
#else
        float *cb = ws;
#endif
        float *yb = cb + (size_t)sb * CKK * P; /* (OC, m*P) conv output of the block */
        for (int i = lo; i < hi; i += sb) {
            const int m = hi - i < sb ? hi - i : sb, n = m * P;
            im2col_images(cb, (size_t)n, x + (size_t)i * H * W, xcs, m, C, H, W, K, stride, pad, OH, OW);
            ghm_sgemm_serial(0, 0, OC, n, CKK, 1.0f, w, CKK, cb, n, 0.0f, yb, n);
            for (int o = 0; o < OC; o++)
                for (int k = 0; k < m; k++) {
                    const size_t at = (size_t)o * pcs + (size_t)(i + k) * PP;
                    pool_plane(p + at, arg + at, yb + (size_t)o * n + (size_t)k * P, bias ? bias[o] : 0.0f, relu, OH,
                               OW, pk, ps);
                }
        }
    }
    ghm_blas_serial_end(saved);
    return 0;
}

int ghm_conv2d_pool_backward(float *dx, float *dw, float *db, const float *dp, const float *p, const int32_t *arg,
                             int relu, float *ws, size_t ws_floats, const float *x, const float *w, int B, int C,
                             int H, int W, int OC, int K, int stride, int pad, int pk, int ps)
{
    const int OH = ghm_conv2d_out(H, K, stride, pad), OW = ghm_conv2d_out(W, K, stride, pad);
    const int P = OH * OW, CKK = C * K * K;
    const int PH = (OH - pk) / ps + 1, PW = (OW - pk) / ps + 1, PP = PH * PW;
    const size_t xcs = (size_t)B * H * W, pcs = (size_t)B * PP, dwn = (size_t)OC * CKK;
    int sb;
    const int nw = fused_workers(ws_floats, CKK, P, OC, &sb);
    if (nw == 0) return -1;
    const size_t share = ws_floats / (size_t)nw;
    const int saved = ghm_blas_serial_begin();
    /* one parallel region (each region's closing barrier is costly on a busy machine) */
#pragma omp parallel num_threads(nw) if (nw > 1)
    {
        if (db) {
            /* db = sum of the conv-output gradient = sum of the pooled gradients that pass the ReLU
             * (each lands on exactly one conv output), per channel in a fixed order */
#pragma omp for schedule(static) nowait
            for (int o = 0; o < OC; o++) {
                const float *g = dp + (size_t)o * pcs, *pv = p + (size_t)o * pcs;
                double acc[4] = {0, 0, 0, 0}, s = 0.0;
                size_t j = 0;
                for (; j + 4 <= pcs; j += 4)
                    for (int l = 0; l < 4; l++) acc[l] += (!relu || pv[j + l] > 0.0f) ? (double)g[j + l] : 0.0;
                for (; j < pcs; j++) s += (!relu || pv[j] > 0.0f) ? (double)g[j] : 0.0;
                db[o] = (float)(s + ((acc[0] + acc[1]) + (acc[2] + acc[3])));
            }
        }
#ifdef _OPENMP
        const int t = omp_get_thread_num(), team = omp_get_num_threads();
#else
        const int t = 0, team = 1;
#endif
        int lo, hi;
        thread_range(B, &lo, &hi);
        float *cb = ws + share * (size_t)t;
        float *gb = cb + (size_t)sb * CKK * P;  /* (OC, m*P) conv-output gradient of the block */
        float *dwt = gb + (size_t)OC * sb * P; /* (OC, CKK) this thread's dw */
        if (dw && hi <= lo) memset(dwt, 0, sizeof(float) * dwn);
        for (int i = lo; i < hi && (dw || dx); i += sb) {
            const int m = hi - i < sb ? hi - i : sb, n = m * P;
            for (int o = 0; o < OC; o++)
                for (int k = 0; k < m; k++) {
                    const size_t at = (size_t)o * pcs + (size_t)(i + k) * PP;
                    unpool_plane(gb + (size_t)o * n + (size_t)k * P, dp + at, p + at, arg + at, relu, OH, OW, pk, ps);
                }
            if (dw) {
                im2col_images(cb, (size_t)n, x + (size_t)i * H * W, xcs, m, C, H, W, K, stride, pad, OH, OW);
                ghm_sgemm_serial(0, 1, OC, CKK, n, 1.0f, gb, n, cb, n,
                            i == lo ? 0.0f : 1.0f, dwt, CKK);
            }
            if (dx) {
                ghm_sgemm_serial(1, 0, CKK, n, OC, 1.0f, w, CKK, gb, n, 0.0f, cb, n);
                col2im_images(dx + (size_t)i * H * W, xcs, cb, (size_t)n, m, C, H, W, K, stride, pad, OH, OW);
            }
        }
        if (dw) {
            /* dw = the threads' partials added in thread order */
            const float *d0 = ws + (size_t)sb * CKK * P + (size_t)OC * sb * P;
#pragma omp barrier
#pragma omp for schedule(static)
            for (size_t k = 0; k < dwn; k++) {
                float v = d0[k];
                for (int u = 1; u < team; u++) v += d0[share * (size_t)u + k];
                dw[k] = v;
            }
        }
    }
    ghm_blas_serial_end(saved);
    return 0;
}

/* ---- pooling ------------------------------------------------------------- */

void ghm_maxpool_forward(float *y, int32_t *arg, const float *x, const float *bias, int relu, int P,
                         int planes_per_channel, int H, int W, int K, int S)
{
    const int OH = (H - K) / S + 1, OW = (W - K) / S + 1;
    if (planes_per_channel <= 0) planes_per_channel = 1;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < P; p++)
        pool_plane(y + (size_t)p * OH * OW, arg + (size_t)p * OH * OW, x + (size_t)p * H * W,
                   bias ? bias[p / planes_per_channel] : 0.0f, relu, H, W, K, S);
}

void ghm_maxpool_backward(float *dx, const float *dy, const float *y, const int32_t *arg, int relu, int P, int H,
                          int W, int K, int S)
{
    const int OH = (H - K) / S + 1, OW = (W - K) / S + 1;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < P; p++)
        unpool_plane(dx + (size_t)p * H * W, dy + (size_t)p * OH * OW, y + (size_t)p * OH * OW,
                     arg + (size_t)p * OH * OW, relu, H, W, K, S);
}

void ghm_avgpool_forward(float *y, const float *x, int P, int H, int W, int K, int S)
{
    const int OH = (H - K) / S + 1, OW = (W - K) / S + 1;
    const float inv = 1.0f / (float)(K * K);
#pragma omp parallel for schedule(static)
    for (int p = 0; p < P; p++) {
        const float *xp = x + (size_t)p * H * W;
        float *yp = y + (size_t)p * OH * OW;
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                float s = 0.0f;
                for (int kh = 0; kh < K; kh++)
                    for (int kw = 0; kw < K; kw++) s += xp[(oh * S + kh) * W + ow * S + kw];
                yp[oh * OW + ow] = s * inv;
            }
    }
}

void ghm_avgpool_backward(float *dx, const float *dy, int P, int H, int W, int K, int S)
{
    const int OH = (H - K) / S + 1, OW = (W - K) / S + 1;
    const float inv = 1.0f / (float)(K * K);
#pragma omp parallel for schedule(static)
    for (int p = 0; p < P; p++) {
        float *dp = dx + (size_t)p * H * W;
        const float *g = dy + (size_t)p * OH * OW;
        memset(dp, 0, sizeof(float) * (size_t)H * W);
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                const float v = g[oh * OW + ow] * inv;
                for (int kh = 0; kh < K; kh++)
                    for (int kw = 0; kw < K; kw++) dp[(oh * S + kh) * W + ow * S + kw] += v;
            }
    }
}

void ghm_gap_forward(float *y, const float *x, int B, int C, int HW)
{
    const float inv = 1.0f / (float)HW;
#pragma omp parallel for collapse(2) schedule(static)
    for (int c = 0; c < C; c++)
        for (int b = 0; b < B; b++) {
            const float *xp = x + ((size_t)c * B + b) * HW;
            float s = 0.0f;
            for (int i = 0; i < HW; i++) s += xp[i];
            y[(size_t)b * C + c] = s * inv;
        }
}

void ghm_gap_backward(float *dx, const float *dy, int B, int C, int HW)
{
    const float inv = 1.0f / (float)HW;
#pragma omp parallel for collapse(2) schedule(static)
    for (int c = 0; c < C; c++)
        for (int b = 0; b < B; b++) {
            float *dp = dx + ((size_t)c * B + b) * HW;
            const float v = dy[(size_t)b * C + c] * inv;
            for (int i = 0; i < HW; i++) dp[i] = v;
        }
}
