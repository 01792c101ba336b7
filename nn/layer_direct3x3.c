/* Direct kernels for 3x3 convolutions at stride 1 (pad 1) on blocked maps, for
 * the residual network's training beside oneDNN's AVX2 kernels (nn/layers.h):
 * the weight gradient (ghm_conv2d_wgrad_3x3_blocked, 1.2-1.6x oneDNN's) and the
 * forward (ghm_conv3x3_blocked_forward, 1.1-1.2x), timed alternating with
 * oneDNN's inside one training process. oneDNN stays faster for the input
 * gradient, at stride 2 and for the 1x1 shortcuts.
 *
 * Weight gradient: dw[oc][ic][kh][kw] = sum over images n and positions (oh, ow) of
 *     dy[n][oc][oh][ow] * x[n][ic][oh + kh - 1][ow + kw - 1]
 * Work is split into (8 output channels, 8 input channels) pairs; a thread
 * owns whole pairs, so every weight's sum runs in the same order whatever the
 * thread count. A pair accumulates in vector registers over a chunk of images
 * (the chunk's maps of its 8 + 8 channels stay in L2), then adds into dw.
 * Along a row, each input pixel's 4 channels are broadcast once and meet the
 * output-gradient vectors of every tap that reads them (3 for a 3x3 at stride
 * 1), so a row costs one vector load per output pixel plus 4 broadcasts per
 * input pixel for 12 multiply-adds: bound by the multiply-add units, not by
 * loads.
 *
 * This file is built with -ffp-contract=fast (CMakeLists.txt), so the
 * multiply-adds are fused where the target has them. */
#include "nn/layers.h"
#include "nn/layer_vec8.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* floats of one 8-channel group of a chunk's images (128 KB) */
#define WGRAD_CHUNK_FLOATS 32768

/* One row: a[kw * 4 + j] += sum over ow of d[ow] * x[ow + kw - 1][j], j < 4 input channels at x; ps the
 * pixel stride of both maps (the channel block). Input pixel iw meets d[iw + 1] (kw 0), d[iw] (kw 1) and
 * d[iw - 1] (kw 2). */
#define S1K3_PIXEL(dn)                                                                                               \
    do {                                                                                                             \
        const float *xp_ = x + (size_t)iw * ps;                                                                      \
        for (int j = 0; j < 4; j++) {                                                                                \
            const v8f b_ = v8_set(xp_[j]);                                                                        \
            a[j] += (dn) * b_;                                                                                       \
            a[4 + j] += dc * b_;                                                                                     \
            a[8 + j] += dm * b_;                                                                                     \
        }                                                                                                            \
    } while (0)

static inline void row_s1k3(v8f *a, const float *d, const float *x, int W, int ps)
{
    v8f dm = v8_set(0.0f), dc = v8_ld(d); /* d[iw - 1], d[iw] */
    int iw = 0;
    for (; iw + 1 < W; iw++) {
        const v8f dn = v8_ld(d + (size_t)(iw + 1) * ps);
        S1K3_PIXEL(dn);
        dm = dc;
        dc = dn;
    }
    const v8f zero = v8_set(0.0f);
    S1K3_PIXEL(zero); /* the last pixel: no d[W] */
}

/* One (8 output, 8 input channels) pair's sums over images n0..n1-1 of maps (B, C/blk, H, W, blk) and
 * (B, OC/blk, H, W, blk), stored (first) or added into dw (OC, C, 3, 3). */
static void wgrad_pair(float *dw, const float *dy, const float *x, int n0, int n1, int first, int C, int OC, int H,
                       int W, int blk, int og, int ig)
{
    /* channel group g starts at block g * 8 / blk, offset g * 8 % blk */
    const size_t row = (size_t)W * blk, dn = (size_t)OC / blk * H * row, xn = (size_t)C / blk * H * row;
    const float *dy0 = dy + (size_t)og * 8 / blk * H * row + (size_t)og * 8 % blk;
    for (int kh = 0; kh < 3; kh++)
        for (int jh = 0; jh < 2; jh++) { /* input channels ig * 8 + 4 jh .. + 3 */
            const float *x0 = x + (size_t)ig * 8 / blk * H * row + (size_t)ig * 8 % blk + 4 * (size_t)jh;
            v8f a[12];
            for (int i = 0; i < 12; i++) a[i] = v8_set(0.0f);
            for (int n = n0; n < n1; n++)
                for (int oh = 0; oh < H; oh++) {
                    const int ih = oh + kh - 1;
                    if (ih >= 0 && ih < H)
                        row_s1k3(a, dy0 + n * dn + oh * row, x0 + n * xn + ih * row, W, blk);
                }
            for (int kw = 0; kw < 3; kw++)
                for (int j = 0; j < 4; j++) {
                    float v[8];
                    v8_st(v, a[kw * 4 + j]);
                    const int ic = ig * 8 + 4 * jh + j;
                    for (int l = 0; l < 8; l++) {
                        float *p = dw + (((size_t)(og * 8 + l) * C + ic) * 3 + kh) * 3 + kw;
                        *p = first ? v[l] : *p + v[l];
                    }
                }
        }
}

int ghm_conv2d_wgrad_3x3_blocked(float *dw, const float *dy, const float *x, int B, int C, int H, int W, int OC,
                                 int blk)
{
    if ((blk != 8 && blk != 16) || C % blk || OC % blk || B < 1 || H < 1 || W < 2) return -1;
    const int G = C / 8, pairs = (OC / 8) * G;
    int nc = WGRAD_CHUNK_FLOATS / (H * W * 8);
    if (nc < 1) nc = 1;
#pragma omp parallel
    {
        int t = 0, nt = 1;
#ifdef _OPENMP
        t = omp_get_thread_num();
        nt = omp_get_num_threads();
#endif
        const int p0 = (int)((long)pairs * t / nt), p1 = (int)((long)pairs * (t + 1) / nt);
        for (int n0 = 0; n0 < B; n0 += nc) {
            const int n1 = n0 + nc < B ? n0 + nc : B;
            for (int p = p0; p < p1; p++) wgrad_pair(dw, dy, x, n0, n1, n0 == 0, C, OC, H, W, blk, p / G, p % G);
        }
    }
    return 0;
}

/* ---- forward: blocks of 8 channels only ------------------------------------------------------------------
 * y[og][oh][ow] (8 output channels) = sum over input groups ig, taps (kh, kw) and channels j of
 *     wb[og][ig][kh][kw][j] (8 output channels) * x[ig][oh + kh - 1][ow + kw - 1][j]
 * A tile is R output pixels of a row for 16 output channels (2 groups): 2 R accumulators; each input pixel's
 * channel j is broadcast once and meets the 3 taps of both groups that read it. */
static inline void fwd_tile(float *y, size_t ygs, const float *x, size_t xgs, const float *wb, size_t wgs, int G,
                            int H, int W, int oh, int ow0, const int R)
{
    v8f a[4], c[4];
    for (int q = 0; q < R; q++) a[q] = c[q] = v8_set(0.0f);
    const int left = ow0 > 0, right = ow0 + R < W;
    for (int ig = 0; ig < G; ig++)
        for (int kh = 0; kh < 3; kh++) {
            const int ih = oh + kh - 1;
            if (ih < 0 || ih >= H) continue;
            const float *xr = x + (size_t)ig * xgs + ((size_t)ih * W + ow0) * 8;
            const float *wk = wb + ((size_t)ig * 3 + kh) * 192, *wl = wk + wgs;
            for (int j = 0; j < 8; j++) {
                const v8f w0 = v8_ld(wk + j * 8), w1 = v8_ld(wk + 64 + j * 8), w2 = v8_ld(wk + 128 + j * 8);
                const v8f u0 = v8_ld(wl + j * 8), u1 = v8_ld(wl + 64 + j * 8), u2 = v8_ld(wl + 128 + j * 8);
                if (left) {
                    const v8f b = v8_set(xr[j - 8]);
                    a[0] += w0 * b;
                    c[0] += u0 * b;
                }
                for (int p = 0; p < R; p++) {
                    const v8f b = v8_set(xr[p * 8 + j]);
                    if (p + 1 < R) {
                        a[p + 1] += w0 * b;
                        c[p + 1] += u0 * b;
                    }
                    a[p] += w1 * b;
                    c[p] += u1 * b;
                    if (p >= 1) {
                        a[p - 1] += w2 * b;
                        c[p - 1] += u2 * b;
                    }
                }
                if (right) {
                    const v8f b = v8_set(xr[R * 8 + j]);
                    a[R - 1] += w2 * b;
                    c[R - 1] += u2 * b;
                }
            }
        }
    float *yr = y + ((size_t)oh * W + ow0) * 8;
    for (int q = 0; q < R; q++) {
        v8_st(yr + q * 8, a[q]);
        v8_st(yr + ygs + q * 8, c[q]);
    }
}

/* y (B, Cout/8, H, W, 8) from x (B, Cin/8, H, W, 8) and wb (Cout/8, Cin/8, 3, 3, 8, 8) */
static void direct(float *y, const float *x, const float *wb, int B, int Cin, int H, int W, int Cout)
{
    const int G = Cin / 8, OG = Cout / 8, pairs = Cout / 16;
    const size_t plane = (size_t)H * W * 8, wgs = (size_t)G * 9 * 64;
#pragma omp parallel for schedule(static)
    for (int t = 0; t < B * pairs; t++) {
        const int n = t / pairs, og = 2 * (t % pairs);
        float *yn = y + ((size_t)n * OG + og) * plane;
        const float *xn = x + (size_t)n * G * plane, *w = wb + (size_t)og * wgs;
        for (int oh = 0; oh < H; oh++) {
            int ow0 = 0;
            for (; ow0 + 4 <= W; ow0 += 4) fwd_tile(yn, plane, xn, plane, w, wgs, G, H, W, oh, ow0, 4);
            switch (W - ow0) {
            case 3: fwd_tile(yn, plane, xn, plane, w, wgs, G, H, W, oh, ow0, 3); break;
            case 2: fwd_tile(yn, plane, xn, plane, w, wgs, G, H, W, oh, ow0, 2); break;
            case 1: fwd_tile(yn, plane, xn, plane, w, wgs, G, H, W, oh, ow0, 1); break;
            default: break;
            }
        }
    }
}

int ghm_conv3x3_blocked_forward(float *y, const float *x, const float *w, float *ws, int B, int C, int H, int W,
                                int OC)
{
    if (C % 8 || OC % 16 || B < 1 || H < 1 || W < 1) return -1;
    for (int o = 0; o < OC; o++)
        for (int i = 0; i < C; i++)
            for (int k = 0; k < 9; k++)
                ws[((((size_t)(o / 8) * (C / 8) + i / 8) * 9 + k) * 8 + i % 8) * 8 + o % 8] =
                    w[((size_t)o * C + i) * 9 + k];
    direct(y, x, ws, B, C, H, W, OC);
    return 0;
}
