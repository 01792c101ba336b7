/* Convolution (im2col + sgemm) and pooling layers on channel-major (C, B, H, W)
 * feature maps. See core/layers.h for the conventions. */
#include "layers.h"

#include <cblas.h>
#include <float.h>
#include <string.h>

size_t ghm_conv2d_col_size(int C, int K, int OH, int OW, int chunk)
{
    return (size_t)C * K * K * (size_t)OH * OW * (size_t)chunk;
}

/* x: images b0.. of a (C, B, H, W) map (x points at image b0 of channel 0,
 * cstride = B*H*W) -> col (C*K*K, nb*OH*OW). */
static void im2col_chunk(float *col, const float *x, size_t cstride, int nb, int C, int H, int W, int K, int stride,
                         int pad)
{
    const int OH = ghm_conv2d_out(H, K, stride, pad), OW = ghm_conv2d_out(W, K, stride, pad);
    const int rows = C * K * K;
    const size_t ncol = (size_t)nb * OH * OW;
#pragma omp parallel for collapse(2) schedule(static)
    for (int r = 0; r < rows; r++) {
        for (int b = 0; b < nb; b++) {
            const int c = r / (K * K), kh = (r / K) % K, kw = r % K;
            const float *xp = x + (size_t)c * cstride + (size_t)b * H * W;
            float *out = col + (size_t)r * ncol + (size_t)b * OH * OW;
            /* valid output columns for this kw: 0 <= ow*stride - pad + kw < W */
            int ow0 = 0, ow1 = OW; /* [ow0, ow1) */
            while (ow0 < OW && ow0 * stride - pad + kw < 0) ow0++;
            while (ow1 > ow0 && (ow1 - 1) * stride - pad + kw >= W) ow1--;
            for (int oh = 0; oh < OH; oh++) {
                float *restrict o = out + (size_t)oh * OW;
                const int ih = oh * stride - pad + kh;
                if (ih < 0 || ih >= H) {
                    memset(o, 0, sizeof(float) * (size_t)OW);
                    continue;
                }
                const float *restrict row = xp + (size_t)ih * W - pad + kw;
                for (int ow = 0; ow < ow0; ow++) o[ow] = 0.0f;
                if (stride == 1) /* short rows (8-24 floats): a plain loop beats a memcpy call */
                    for (int ow = ow0; ow < ow1; ow++) o[ow] = row[ow];
                else
                    for (int ow = ow0; ow < ow1; ow++) o[ow] = row[(size_t)ow * stride];
                for (int ow = ow1; ow < OW; ow++) o[ow] = 0.0f;
            }
        }
    }
}

/* Adjoint of im2col_chunk: col (C*K*K, nb*OH*OW) -> dx images b0.. (overwritten). */
static void col2im_chunk(float *dx, const float *col, size_t cstride, int nb, int C, int H, int W, int K, int stride,
                         int pad)
{
    const int OH = ghm_conv2d_out(H, K, stride, pad), OW = ghm_conv2d_out(W, K, stride, pad);
    const size_t ncol = (size_t)nb * OH * OW;
#pragma omp parallel for collapse(2) schedule(static)
    for (int c = 0; c < C; c++) {
        for (int b = 0; b < nb; b++) {
            float *dp = dx + (size_t)c * cstride + (size_t)b * H * W;
            memset(dp, 0, sizeof(float) * (size_t)H * W);
            for (int kh = 0; kh < K; kh++)
                for (int kw = 0; kw < K; kw++) {
                    const int r = (c * K + kh) * K + kw;
                    const float *in = col + (size_t)r * ncol + (size_t)b * OH * OW;
                    int ow0 = 0, ow1 = OW;
                    while (ow0 < OW && ow0 * stride - pad + kw < 0) ow0++;
                    while (ow1 > ow0 && (ow1 - 1) * stride - pad + kw >= W) ow1--;
                    for (int oh = 0; oh < OH; oh++) {
                        const int ih = oh * stride - pad + kh;
                        if (ih < 0 || ih >= H) continue;
                        float *restrict row = dp + (size_t)ih * W - pad + kw;
                        const float *restrict i = in + (size_t)oh * OW;
                        if (stride == 1)
                            for (int ow = ow0; ow < ow1; ow++) row[ow] += i[ow];
                        else
                            for (int ow = ow0; ow < ow1; ow++) row[(size_t)ow * stride] += i[ow];
                    }
                }
        }
    }
}

void ghm_im2col(float *col, const float *x, int B, int C, int H, int W, int K, int stride, int pad)
{
    im2col_chunk(col, x, (size_t)B * H * W, B, C, H, W, K, stride, pad);
}

void ghm_col2im(float *dx, const float *col, int B, int C, int H, int W, int K, int stride, int pad)
{
    col2im_chunk(dx, col, (size_t)B * H * W, B, C, H, W, K, stride, pad);
}

void ghm_conv2d_forward(float *y, float *col, const float *x, const float *w, const float *bias, int B, int C, int H,
                        int W, int OC, int K, int stride, int pad, int chunk)
{
    const int OH = ghm_conv2d_out(H, K, stride, pad), OW = ghm_conv2d_out(W, K, stride, pad);
    const int P = OH * OW, CKK = C * K * K;
    const size_t ldy = (size_t)B * P;
    if (chunk <= 0 || chunk > B) chunk = B;
    for (int b0 = 0; b0 < B; b0 += chunk) {
        const int nb = B - b0 < chunk ? B - b0 : chunk;
        const int n = nb * P;
        float *yc = y + (size_t)b0 * P;
        const float *src = col;
        if (K == 1 && stride == 1 && pad == 0 && nb == B)
            src = x; /* a 1x1 convolution over the whole batch needs no im2col */
        else
            im2col_chunk(col, x + (size_t)b0 * H * W, (size_t)B * H * W, nb, C, H, W, K, stride, pad);
        if (bias) {
#pragma omp parallel for schedule(static)
            for (int o = 0; o < OC; o++)
                for (int j = 0; j < n; j++) yc[(size_t)o * ldy + j] = bias[o];
        }
        /* (OC, n) = (OC, CKK) @ (CKK, n) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, OC, n, CKK, 1.0f, w, CKK, src, n, bias ? 1.0f : 0.0f,
                    yc, (int)ldy);
    }
}

void ghm_conv2d_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, float *col,
                         int col_valid, int B, int C, int H, int W, int OC, int K, int stride, int pad, int chunk)
{
    const int OH = ghm_conv2d_out(H, K, stride, pad), OW = ghm_conv2d_out(W, K, stride, pad);
    const int P = OH * OW, CKK = C * K * K;
    const size_t ldy = (size_t)B * P;
    if (chunk <= 0 || chunk > B) chunk = B;
    if (chunk < B) col_valid = 0;
    const int direct = (K == 1 && stride == 1 && pad == 0 && chunk == B); /* col == x */
    if (db) {
#pragma omp parallel for schedule(static)
        for (int o = 0; o < OC; o++) {
            const float *r = dy + (size_t)o * ldy;
            double s = 0.0;
            for (size_t j = 0; j < ldy; j++) s += r[j];
            db[o] = (float)s;
        }
    }
    for (int b0 = 0; b0 < B; b0 += chunk) {
        const int nb = B - b0 < chunk ? B - b0 : chunk;
        const int n = nb * P;
        const float *dyc = dy + (size_t)b0 * P;
        if (dw) {
            const float *src = col;
            if (direct)
                src = x;
            else if (!col_valid)
                im2col_chunk(col, x + (size_t)b0 * H * W, (size_t)B * H * W, nb, C, H, W, K, stride, pad);
            /* dw (OC, CKK) (+)= dy (OC, n) @ col^T (n, CKK) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, OC, CKK, n, 1.0f, dyc, (int)ldy, src, n,
                        b0 == 0 ? 0.0f : 1.0f, dw, CKK);
        }
        if (dx) {
            if (direct) {
                /* dx (C, n) = w^T (C, OC) @ dy (OC, n) */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, n, OC, 1.0f, w, CKK, dyc, (int)ldy, 0.0f, dx,
                            n);
            } else {
                /* dcol (CKK, n) = w^T (CKK, OC) @ dy (OC, n), written over col */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, CKK, n, OC, 1.0f, w, CKK, dyc, (int)ldy, 0.0f,
                            col, n);
                col2im_chunk(dx + (size_t)b0 * H * W, col, (size_t)B * H * W, nb, C, H, W, K, stride, pad);
            }
        }
    }
}

/* ---- pooling ------------------------------------------------------------- */

void ghm_maxpool_forward(float *y, int32_t *arg, const float *x, const float *bias, int relu, int P,
                         int planes_per_channel, int H, int W, int K, int S)
{
    const int OH = (H - K) / S + 1, OW = (W - K) / S + 1;
    if (planes_per_channel <= 0) planes_per_channel = 1;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < P; p++) {
        const float *xp = x + (size_t)p * H * W;
        float *yp = y + (size_t)p * OH * OW;
        int32_t *ap = arg + (size_t)p * OH * OW;
        const float add = bias ? bias[p / planes_per_channel] : 0.0f;
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
}

void ghm_maxpool_backward(float *dx, const float *dy, const float *y, const int32_t *arg, int relu, int P, int H,
                          int W, int K, int S)
{
    const int OH = (H - K) / S + 1, OW = (W - K) / S + 1;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < P; p++) {
        float *dp = dx + (size_t)p * H * W;
        const float *g = dy + (size_t)p * OH * OW;
        const float *yp = y + (size_t)p * OH * OW;
        const int32_t *ap = arg + (size_t)p * OH * OW;
        memset(dp, 0, sizeof(float) * (size_t)H * W);
        for (int j = 0; j < OH * OW; j++)
            if (!relu || yp[j] > 0.0f) dp[ap[j]] += g[j];
    }
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
