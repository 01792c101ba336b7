/* Weight gradient of 3x3 convolutions at stride 1 on blocked maps
 * (ghm_conv2d_wgrad_3x3_blocked, core/layers.h), 1.2-1.5x oneDNN's AVX2
 * kernel on the residual network's layers (measured with caches cold, as in a
 * training step; oneDNN stays faster at stride 2 and for the 1x1 shortcuts).
 *
 * dw[oc][ic][kh][kw] = sum over images n and positions (oh, ow) of
 *     dy[n][oc][oh][ow] * x[n][ic][oh + kh - 1][ow + kw - 1]
 *
 * Work is split into (8 output channels, 8 input channels) pairs; a thread
 * owns whole pairs, so every weight's sum runs in the same order whatever the
 * thread count. A pair accumulates in vector registers over a chunk of images
 * (the chunk's maps of its 8 + 8 channels stay in L2), then adds into dw.
 * Along a row, each input pixel's 4 channels are broadcast once and meet the
 * output-gradient vectors of every tap that reads them (3 for a 3x3 at stride
 * 1), so a row costs one vector load per output pixel plus 4 broadcasts per
 * input pixel for 12 multiply-adds: bound by the multiply-add units, not by
 * loads. This file is built with -ffp-contract=fast (CMakeLists.txt), so those
 * are fused multiply-adds where the target has them. */
#include "layers.h"
#include "layer_vec8.h"

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
            const bnb_v8 b_ = v8_set(xp_[j]);                                                                        \
            a[j] += (dn) * b_;                                                                                       \
            a[4 + j] += dc * b_;                                                                                     \
            a[8 + j] += dm * b_;                                                                                     \
        }                                                                                                            \
    } while (0)

static inline void row_s1k3(bnb_v8 *a, const float *d, const float *x, int W, int ps)
{
    bnb_v8 dm = v8_set(0.0f), dc = v8_ld(d); /* d[iw - 1], d[iw] */
    int iw = 0;
    for (; iw + 1 < W; iw++) {
        const bnb_v8 dn = v8_ld(d + (size_t)(iw + 1) * ps);
        S1K3_PIXEL(dn);
        dm = dc;
        dc = dn;
    }
    const bnb_v8 zero = v8_set(0.0f);
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
            bnb_v8 a[12];
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
