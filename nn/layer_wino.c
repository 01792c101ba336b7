/* Winograd F(4x4, 3x3) convolution for inference (Lavin & Gray, "Fast
 * Algorithms for Convolutional Neural Networks", CVPR 2016), for the residual
 * network's 3x3 stride-1 convolutions with batch norm folded in.
 *
 * A 4 x 4 block of outputs of one output channel needs, directly, 16 x 9
 * multiply-adds per input channel; with the Winograd transform it needs 36:
 *     Y = A^T [ sum over c of (G g_c G^T) . (B^T d_c B) ] A
 * d_c the 6 x 6 input patch of channel c (one pixel of padding around the
 * tile), g_c the 3 x 3 kernel, "." the element-wise product, and B^T (6 x 6),
 * G (6 x 3), A^T (4 x 6) the matrices of F(4, 3) with interpolation points
 * 0, +-1, +-2 (and infinity). The weights are transformed once per inference
 * call (ghm_wino3x3_weights); each tile's input transform and output
 * transform are additions and multiplications by 2, 4, 5 and 8; the sum over
 * channels is, for each of the 36 positions, a product (tiles x C) by
 * (C x OC), run here on a register tile of 6 tiles x 2 vectors of output
 * channels. So the multiply-adds drop 4x; the transforms cost about a third
 * of what is saved on the residual network's layers (16-64 channels).
 *
 * Rounding: the transforms scale values by up to 5 x 5 and sum 36 products,
 * so outputs carry errors of about 1e-6 to 1e-5 of the inputs' magnitude
 * times the weights', against about 1e-7 for a direct convolution
 * (tests/test_layers_wino.cc compares with a double-precision convolution).
 * Inference only: training keeps direct kernels, whose gradients the tests
 * check by finite differences.
 *
 * Each output is computed by the same operations in the same order whatever
 * the thread count or the chunk a tile falls in, so results depend only on
 * the inputs (and the machine's vector width choice, made by the caller).
 *
 * The same layouts hold the output of ghm_conv3x3_in_forward, the direct
 * first convolution of a network (few input channels, where Winograd would
 * transform more than it saves).
 *
 * Written on GCC / Clang vector extensions for 8 and 16 floats (the body
 * nn/layer_wino_body.h is included once per width); built with
 * -ffp-contract=fast so the multiply-adds are fused where the target has
 * them. */
#include "nn/layers.h"
#include "core/tensor.h"

#include <stddef.h>
#include <stdint.h>
#if defined(__AVX__) || defined(__AVX512F__)
#include <immintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* tiles per chunk (nn/layer_wino_body.h) */
#define WINO_TB 6

typedef struct wino_shape {
    int C, H, W, OC, sum, relu;
    long tiles;                /* B * ceil(H / 4) * ceil(W / 4) */
    size_t xns, xgs, xps;      /* x: image, channel-group and pixel strides (floats) */
    size_t yns, ygs, yps;      /* y: the same */
} wino_shape;

#define WVW 8
#include "nn/layer_wino_body.h"
#undef WVW
#define WVW 16
#include "nn/layer_wino_body.h"
#undef WVW

/* One chunk's work: a tile range's input transforms, products and output transforms (nn/layer_wino_body.h) */
typedef void (*wino_chunk_fn)(float *y, int32_t *arg, const float *x, const float *u, const float *bias, float *v,
                              float *m, const wino_shape *s, long k0, long k1);

/* Runs chunk over all of s's tiles: an equal share per thread (to one tile), in chunks of WINO_TB, each
 * thread with its transformed inputs (36 x TB x C) and the products of two output vectors (36 x TB x 32) in
 * ws; as many threads as the caller's workspace holds, else a workspace of our own. 0, or -1 (no memory). */
static int wino_run(wino_chunk_fn chunk, float *y, int32_t *arg, const float *x, const float *u, const float *bias,
                    const wino_shape *s, float *ws, size_t ws_floats)
{
    int nt = 1;
#ifdef _OPENMP
    nt = omp_get_max_threads();
#endif
    const size_t per = ghm_wino3x3_ws_size(s->C, s->OC, 1);
    float *own = NULL;
    if (ws && ws_floats >= per) {
        if ((size_t)nt > ws_floats / per) nt = (int)(ws_floats / per);
    } else {
        if (!(own = ghm_alloc_floats(per * (size_t)nt))) return -1;
        ws = own;
    }
#pragma omp parallel num_threads(nt)
    {
        int t = 0, nth = 1;
#ifdef _OPENMP
        t = omp_get_thread_num();
        nth = omp_get_num_threads();
#endif
        float *v = ws + per * (size_t)t, *m = v + (size_t)36 * WINO_TB * s->C;
        const long k0 = s->tiles * t / nth, k1 = s->tiles * (t + 1) / nth;
        for (long k = k0; k < k1; k += WINO_TB) chunk(y, arg, x, u, bias, v, m, s, k, k1);
    }
    ghm_free(own);
    return 0;
}

size_t ghm_wino3x3_weights_size(int C, int OC) { return (size_t)36 * C * OC; }

int ghm_wino3x3_weights(float *u, const float *w, int C, int OC, int vw)
{
    if (C < 1 || OC < 1 || (vw != 8 && vw != 16) || C % vw || OC % vw) return -1;
    if (vw == 8)
        wino_weights_8(u, w, C, OC);
    else
        wino_weights_16(u, w, C, OC);
    return 0;
}

size_t ghm_wino3x3_ws_size(int C, int OC, int threads)
{
    (void)OC; /* the products of two output vectors at a time: 32 channels */
    return (size_t)36 * WINO_TB * ((size_t)C + 32) * (size_t)(threads > 1 ? threads : 1);
}

/* Winograd on or off: on with the oneDNN convolution backend (the reference path, GHM_CONV_BACKEND=ref or a
 * build without oneDNN, stays direct), unless GHM_WINOGRAD=0 (for comparisons); ghm_wino_set overrides the
 * variable */
static int g_wino = -1;

int ghm_wino_enabled(void)
{
    if (g_wino < 0) {
        const char *e = getenv("GHM_WINOGRAD");
        g_wino = !(e && strcmp(e, "0") == 0);
    }
    return g_wino && ghm_conv_backend_dnnl();
}

void ghm_wino_set(int on) { g_wino = on != 0; }

int ghm_wino3x3_forward(float *y, const float *x, const float *u, const float *bias, int B, int C, int H, int W,
                        int OC, int layout, int sum, int relu, float *ws, size_t ws_floats)
{
    const int vw = layout == GHM_WINO_NHWC16 ? 16 : 8;
    if ((layout != GHM_WINO_BLOCKED8 && layout != GHM_WINO_NHWC16) || B < 1 || H < 1 || W < 1 || C < vw ||
        OC < vw || C % vw || OC % vw)
        return -1;
    wino_shape s = {C, H, W, OC, sum != 0, relu != 0, 0, 0, 0, 0, 0, 0, 0};
    s.tiles = (long)B * ((H + 3) / 4) * ((W + 3) / 4);
    const size_t plane = (size_t)H * W;
    if (layout == GHM_WINO_BLOCKED8) {
        s.xns = plane * C, s.xgs = plane * 8, s.xps = 8;
        s.yns = plane * OC, s.ygs = plane * 8, s.yps = 8;
    } else {
        s.xns = plane * C, s.xgs = 16, s.xps = (size_t)C;
        s.yns = plane * OC, s.ygs = 16, s.yps = (size_t)OC;
    }
    return wino_run(vw == 8 ? wino_chunk_8 : wino_chunk_16, y, NULL, x, u, bias, &s, ws, ws_floats);
}

size_t ghm_wino5x5_weights_size(int C, int OC) { return (size_t)36 * C * OC; }

int ghm_wino5x5_weights(float *u, const float *w, int C, int OC, int vw)
{
    if (C < 1 || OC < 1 || (vw != 8 && vw != 16) || C % vw || OC % vw) return -1;
    if (vw == 8)
        wino25_weights_8(u, w, C, OC);
    else
        wino25_weights_16(u, w, C, OC);
    return 0;
}

int ghm_wino_pack(float *dst, const float *src, int B, int C, int H, int W, int layout)
{
    const int vw = layout == GHM_WINO_NHWC16 ? 16 : 8;
    if ((layout != GHM_WINO_BLOCKED8 && layout != GHM_WINO_NHWC16) || B < 1 || C < vw || C % vw || H < 1 || W < 1)
        return -1;
    if (vw == 8)
        wino_pack_8(dst, src, B, C, H * W);
    else
        wino_pack_16(dst, src, B, C, H * W);
    return 0;
}

int ghm_wino5x5_pool_forward(float *f, int32_t *arg, const float *x, const float *u, const float *bias, int B, int C,
                             int H, int W, int OC, int layout, int channel_major, float *ws, size_t ws_floats)
{
    const int vw = layout == GHM_WINO_NHWC16 ? 16 : 8;
    if ((layout != GHM_WINO_BLOCKED8 && layout != GHM_WINO_NHWC16) || B < 1 || H < 6 || W < 6 || (H - 4) % 2 ||
        (W - 4) % 2 || C < vw || OC < vw || C % vw || OC % vw)
        return -1;
    wino_shape s = {C, H, W, OC, 0, 1, 0, 0, 0, 0, 0, 0, 0};
    s.tiles = (long)B * ((H - 4) / 2) * ((W - 4) / 2);
    const size_t plane = (size_t)H * W;
    if (layout == GHM_WINO_BLOCKED8)
        s.xns = plane * C, s.xgs = plane * 8, s.xps = 8;
    else
        s.xns = plane * C, s.xgs = 16, s.xps = (size_t)C;
    const size_t QR = (size_t)((H - 4) / 2) * ((W - 4) / 2); /* pooled plane */
    if (channel_major)
        s.yns = QR, s.ygs = QR * (size_t)B; /* (OC, B, Q, R) */
    else
        s.yns = QR * (size_t)OC, s.ygs = QR; /* (B, OC, Q, R) */
    return wino_run(vw == 8 ? wino25_chunk_8 : wino25_chunk_16, f, arg, x, u, bias, &s, ws, ws_floats);
}

/* ---- the first convolution (direct; nn/layer_wino_body.h conv3x3_in_) ---- */

size_t ghm_conv3x3_in_weights_size(int C, int OC) { return (size_t)9 * C * OC; }

int ghm_conv3x3_in_weights(float *u, const float *w, int C, int OC, int vw)
{
    if (C < 1 || OC < 1 || (vw != 8 && vw != 16) || OC % vw) return -1;
    if (vw == 8)
        conv3x3_in_weights_8(u, w, C, OC);
    else
        conv3x3_in_weights_16(u, w, C, OC);
    return 0;
}

/* the padded copy of one image lives on the stack: at most this many floats */
#define CONV_IN_PAD_FLOATS 8192

int ghm_conv3x3_in_forward(float *y, const float *x, const float *u, const float *bias, int B, int C, int H, int W,
                           int OC, int layout)
{
    const int vw = layout == GHM_WINO_NHWC16 ? 16 : 8;
    if ((layout != GHM_WINO_BLOCKED8 && layout != GHM_WINO_NHWC16) || B < 1 || C < 1 || H < 2 || W < 4 || H % 2 ||
        W % 4 || OC < vw || OC % vw || (size_t)C * (H + 2) * (W + 2) > CONV_IN_PAD_FLOATS)
        return -1;
    wino_shape s = {C, H, W, OC, 0, 1, 0, 0, 0, 0, 0, 0, 0};
    const size_t plane = (size_t)H * W;
    if (layout == GHM_WINO_BLOCKED8)
        s.yns = plane * OC, s.ygs = plane * 8, s.yps = 8;
    else
        s.yns = plane * OC, s.ygs = 16, s.yps = (size_t)OC;
#pragma omp parallel
    {
        float xp[CONV_IN_PAD_FLOATS] __attribute__((aligned(64)));
        int t = 0, nth = 1;
#ifdef _OPENMP
        t = omp_get_thread_num();
        nth = omp_get_num_threads();
#endif
        const int n0 = (int)((long)B * t / nth), n1 = (int)((long)B * (t + 1) / nth);
        if (vw == 8)
            conv3x3_in_8(y, x, u, bias, xp, &s, B, n0, n1);
        else
            conv3x3_in_16(y, x, u, bias, xp, &s, B, n0, n1);
    }
    return 0;
}
