/* The reference convnet (the classic MNIST metric-learning network), here
 * for a 1 x H x W input (28 x 28: Fashion-MNIST, MNIST, glyphs):
 *
 *   x (B, 1, H, W)
 *   conv 5x5 1->32 (no padding)  -> (32, B, H-4, W-4), ReLU, max-pool 2 -> (32, B, H1/2, W1/2)
 *   conv 5x5 32->64 (no padding) -> (64, B, H1/2-4, ...), ReLU, max-pool 2 -> (64, B, Q, R)
 *   flatten (PyTorch (c, h, w) order) -> (B, F), F = 64 * Q * R
 *   linear F->256, ReLU; linear 256->D -> (B, D)
 *
 *   28 x 28: conv 24 -> pool 12 -> conv 8 -> pool 4, F = 1024 (the reference);
 *   32 x 32: conv 28 -> pool 14 -> conv 10 -> pool 5, F = 1600 (glyphs-xl).
 *
 * Both conv outputs must be even so that the max-pools tile them exactly (no
 * row or column dropped): H and W multiples of 4, at least 16 (create()
 * rejects other shapes with the rule). Only fc1's input width grows with the
 * image; the architecture is the same.
 *
 * Feature maps are channel-major (C, B, H, W) (nn/layers.h). Each conv is
 * fused with its bias, ReLU and max-pool (ghm_conv2d_pool_forward: per-thread
 * L2-sized blocks of images, im2col + sgemm + pooling while the block is in
 * cache; relu(maxpool(y + b)) == maxpool(relu(y + b))), so the conv outputs
 * (24x24 and 8x8 at 28 x 28) never go through memory. With one input channel
 * the input (B, 1, H, W) already is (1, B, H, W). One exception, for speed:
 * on AVX-512 machines conv2 of a training step with an output of 10 x 10 or
 * more (32 x 32 images) runs on oneDNN's convolution primitive (conv2_dnnl).
 * With the oneDNN backend conv2's forward (inference, and training steps
 * where conv2 is not on oneDNN) runs as Winograd F(2x2, 5x5) fused with bias,
 * ReLU and pool (wino_prepare); its backward stays the fused direct one.
 *
 * Initialisation = PyTorch's default for nn.Conv2d / nn.Linear
 * (kaiming_uniform_ with a = sqrt(5)): weights and biases U(-1/sqrt(fan_in),
 * 1/sqrt(fan_in)), fan_in = in_channels * 5 * 5 for convs, in_features for
 * linears. Tensors are drawn in order conv1.weight, conv1.bias, conv2.weight,
 * conv2.bias, fc1.weight, fc1.bias, fc2.weight, fc2.bias.
 *
 * Parameters: 32*25+32 + 64*800+64 + F*256+256 + 256*D+D (347,392 for 28 x 28
 * and D = 128; 494,848 for 32 x 32).
 */
#include "backbone.h"
#include "common.h"

#include "nn/layers.h"

#include <limits.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static const ghm_param_spec params[] = {{NULL, 0, 0, 0, NULL, NULL, 0, 0, 0}};

enum { C1 = 32, C2 = 64, K = 5, HID = 256, MIN_SIDE = 16 };
#define EVAL_CHUNK 128 /* inference runs the net on sub-batches of this many images (bounds memory) */

typedef struct convnet {
    bb_tensors ts;
    /* shapes (rows x columns): input H0 x W0, conv1 output H1 x W1, pooled Q1 x R1,
     * conv2 output H2 x W2, pooled Q2 x R2; F = C2 * Q2 * R2 (fc1's input) */
    int H0, W0, H1, W1, Q1, R1, H2, W2, Q2, R2, F;
    ghm_tensor *w1, *b1, *w2, *b2, *w3, *b3, *w4, *b4;
    int cap;       /* images the buffers hold */
    int threads;   /* threads the conv workspaces are sized for */
    float *arena;
    float *ws1;    /* conv1 workspace (ws1n floats): per-thread im2col / conv-output blocks */
    float *ws2;    /* conv2 workspace (ws2n floats) */
    size_t ws1n, ws2n;
    /* activations (B = n of the last forward) */
    /* shapes at 28 x 28 in brackets */
    float *xin;    /* (B, 1, H0, W0) copy of the last train input (conv1's backward recomputes its im2col) */
    float *p1;     /* (32, B, Q1, R1) [12 x 12] relu(maxpool(conv1(x) + b1)) */
    int32_t *a1;   /* (32, B, Q1, R1) argmax within the H1 x W1 [24 x 24] conv plane */
    float *p2;     /* (64, B, Q2, R2) [4 x 4] relu(maxpool(conv2(p1) + b2)) */
    int32_t *a2;   /* (64, B, Q2, R2) */
    float *f;      /* (B, F) [1024] flattened p2 */
    float *h;      /* (B, 256) relu(fc1) */
    float *dh;     /* (B, 256) */
    float *df;     /* (B, F) */
    float *dp2;    /* (64, B, Q2, R2) */
    float *dp1;    /* (32, B, Q1, R1) */
    int n;         /* batch of the last train forward (0: none) */
    /* conv2 in training on oneDNN's convolution primitive (see conv2_dnnl): */
    ghm_conv_dnnl *cd2; /* forward + backward primitive for a batch of cd2_n, or NULL */
    int cd2_n;          /* batch cd2 was made for (cd2 NULL: oneDNN refused it, the fused path runs); 0: none */
    float *y2;          /* (64, cd2_n, H2, W2) conv2's output, then (backward) its gradient */
    float *cdws;        /* oneDNN's reorder workspace */
    int dnnl2;          /* 1: the last train forward ran conv2 on cd2 */
    /* conv2 on Winograd F(2x2, 5x5) fused with bias, ReLU and the max-pool (nn/layer_wino.c; see wino_prepare): */
    float *wu2;         /* (36 x C1 x C2) conv2's weights, transformed for the current forward */
    float *xb;          /* (xb_cap images) conv2's input in the vector layout */
    float *wws;         /* the products' workspace (wwsn floats) */
    size_t wwsn;
    int xb_cap;
    int wlay;           /* GHM_WINO_BLOCKED8 or GHM_WINO_NHWC16; 0: not prepared */
} convnet;

static size_t per_image(const convnet *c)
{
    const size_t in = (size_t)c->H0 * c->W0, m1 = (size_t)C1 * c->Q1 * c->R1, m2 = (size_t)C2 * c->Q2 * c->R2;
    return in + 2 * m1 + 2 * m2 + (size_t)c->F + HID + HID + (size_t)c->F + m2 + m1;
}

static int max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static int ensure(convnet *c, int n, ghm_error *err)
{
    const int threads = max_threads();
    if (n <= c->cap && threads <= c->threads) return 0;
    if (n < c->cap) n = c->cap;
    ghm_free(c->arena);
    c->cap = c->threads = 0;
    c->ws1n = ghm_conv2d_pool_ws_size(1, K, c->H1, c->W1, C1, threads);
    c->ws2n = ghm_conv2d_pool_ws_size(C1, K, c->H2, c->W2, C2, threads);
    c->arena = ghm_alloc_floats(per_image(c) * (size_t)n + c->ws1n + c->ws2n);
    if (!c->arena) return GHM_FAIL(err, GHM_ENOMEM, "convnet: out of memory for a batch of %d", n);
    c->cap = n;
    c->threads = threads;
    float *p = c->arena;
    c->ws1 = p;
    p += c->ws1n;
    c->ws2 = p;
    p += c->ws2n;
#define TAKE(field, type, count)                                                                                     \
    do {                                                                                                             \
        c->field = (type *)p;                                                                                        \
        p += (size_t)(count) * (size_t)n;                                                                            \
    } while (0)
    const size_t in = (size_t)c->H0 * c->W0, m1 = (size_t)C1 * c->Q1 * c->R1, m2 = (size_t)C2 * c->Q2 * c->R2;
    TAKE(xin, float, in);
    TAKE(p1, float, m1);
    TAKE(a1, int32_t, m1);
    TAKE(p2, float, m2);
    TAKE(a2, int32_t, m2);
    TAKE(f, float, c->F);
    TAKE(h, float, HID);
    TAKE(dh, float, HID);
    TAKE(df, float, c->F);
    TAKE(dp2, float, m2);
    TAKE(dp1, float, m1);
#undef TAKE
    return 0;
}

static void cd2_free(convnet *c)
{
    ghm_conv_dnnl_destroy(c->cd2);
    ghm_free(c->y2);
    ghm_free(c->cdws);
    c->cd2 = NULL;
    c->y2 = c->cdws = NULL;
    c->cd2_n = 0;
}

/* On CPUs whose products run on oneDNN (ghm_gemm_backend_dnnl(): AVX-512),
 * conv2 in training runs on oneDNN's convolution primitive instead of the
 * fused im2col + sgemm when its output plane has at least CONV2_DNNL_MIN_PIXELS
 * pixels. Measured on a 2-core AVX-512 EPYC (bench train, before/after
 * binaries alternating, README's Performance): at 32 x 32 (glyphs-xl, 10 x 10
 * conv2 output) training steps are 13-18% faster on 2 threads (1 thread: 2 of
 * 3 rounds 20-30% faster, one 4% slower, inside this VM's noise); at
 * 28 x 28 (8 x 8) the fused path is as fast on 2 threads and faster on 1, so
 * it stays. Bias, ReLU and max-pool then run on oneDNN's output with
 * ghm_maxpool_forward, the same arithmetic as the fused path. conv1 (one input
 * channel) and inference keep the fused path. The choice depends only on the
 * shape and the backends, never on timings, so results stay deterministic.
 * 1 when the primitive for a batch of n is ready, 0 to use the fused path,
 * -1 out of memory. */
#define CONV2_DNNL_MIN_PIXELS 100
static int conv2_dnnl(convnet *c, int n)
{
    if (c->H2 * c->W2 < CONV2_DNNL_MIN_PIXELS || !ghm_gemm_backend_dnnl() || !ghm_conv_backend_dnnl()) return 0;
    if (c->cd2_n == n) return c->cd2 != NULL;
    cd2_free(c);
    c->cd2_n = n;
    c->cd2 = ghm_conv_dnnl_create(n, C1, c->Q1, c->R1, C2, K, 1, 0, 1, 0, 0);
    if (!c->cd2) return 0;
    c->y2 = ghm_alloc_floats((size_t)C2 * n * c->H2 * c->W2);
    c->cdws = ghm_alloc_floats(ghm_conv_dnnl_ws_size(c->cd2) + 16);
    if (!c->y2 || !c->cdws) {
        cd2_free(c);
        return -1;
    }
    return 1;
}

static void wino_free(convnet *c)
{
    ghm_free(c->wu2);
    ghm_free(c->xb);
    ghm_free(c->wws);
    c->wu2 = c->xb = c->wws = NULL;
    c->wwsn = 0;
    c->xb_cap = 0;
    c->wlay = 0;
}

/* conv2 runs as Winograd F(2x2, 5x5) (ghm_wino5x5_pool_forward: 2.8x fewer multiply-adds; its input
 * packed from conv1's pooled output into vectors of channels, 16 (NHWC) where oneDNN runs AVX-512 kernels,
 * else 8) when ghm_wino_enabled(), in inference (its output written straight into fc1's input) and in
 * training steps that do not run conv2 on oneDNN (its output and each maximum's position as the fused
 * kernel's, whose backward follows). Prepares the buffers for batches of n images and transforms the current
 * weights: 1, or 0 (the fused direct path runs: Winograd off, or no memory). */
static int wino_prepare(convnet *c, int n)
{
    if (!ghm_wino_enabled()) return 0;
    const int lay = ghm_dnnl_block() == 16 ? GHM_WINO_NHWC16 : GHM_WINO_BLOCKED8, vw = lay == GHM_WINO_NHWC16 ? 16 : 8;
    const int threads = max_threads();
    if (lay != c->wlay || n > c->xb_cap || ghm_wino3x3_ws_size(C1, C2, threads) > c->wwsn) {
        wino_free(c);
        c->wu2 = ghm_alloc_floats(ghm_wino5x5_weights_size(C1, C2));
        c->xb = ghm_alloc_floats((size_t)C1 * c->Q1 * c->R1 * (size_t)n);
        c->wwsn = ghm_wino3x3_ws_size(C1, C2, threads);
        c->wws = ghm_alloc_floats(c->wwsn);
        if (!c->wu2 || !c->xb || !c->wws) {
            wino_free(c);
            return 0;
        }
        c->xb_cap = n;
        c->wlay = lay;
    }
    return ghm_wino5x5_weights(c->wu2, c->w2->data, C1, C2, vw) == 0;
}

static void destroy(ghm_backbone *b)
{
    convnet *c = (convnet *)b->impl;
    if (!c) return;
    cd2_free(c);
    wino_free(c);
    bb_tensors_free(&c->ts);
    ghm_free(c->arena);
    free(c);
    b->impl = NULL;
}

/* The stages along one side of n pixels: conv n -> *o1, pool -> *q1, conv -> *o2, pool -> *q2.
 * 1 when both conv outputs are even and at least 2 (each max-pool tiles its input), else 0. */
static int side_fits(int n, int *o1, int *q1, int *o2, int *q2)
{
    *o1 = n - (K - 1);
    *q1 = *o1 / 2;
    *o2 = *q1 - (K - 1);
    *q2 = *o2 / 2;
    return *o1 >= 2 && *o1 % 2 == 0 && *o2 >= 2 && *o2 % 2 == 0;
}

/* Why one side of n pixels does not fit, into buf. */
static void side_why(char *buf, size_t cap, const char *what, int n)
{
    const int o1 = n - (K - 1), q1 = o1 / 2, o2 = q1 - (K - 1);
    if (o1 < 2)
        snprintf(buf, cap, "%s %d leaves a conv1 output of %d", what, n, o1);
    else if (o1 % 2)
        snprintf(buf, cap, "%s %d gives an odd conv1 output of %d", what, n, o1);
    else if (o2 < 2)
        snprintf(buf, cap, "%s %d: conv1 %d, pool %d leaves a conv2 output of %d", what, n, o1, q1, o2);
    else
        snprintf(buf, cap, "%s %d: conv1 %d, pool %d gives an odd conv2 output of %d", what, n, o1, q1, o2);
}

static int create(ghm_backbone *b, ghm_rng *rng, ghm_error *err)
{
    int h1, q1, h2, q2, w1, r1, w2, r2;
    const int hok = side_fits(b->in_h, &h1, &q1, &h2, &q2), wok = side_fits(b->in_w, &w1, &r1, &w2, &r2);
    if (b->in_c != 1 || !hok || !wok) {
        char why[160] = "";
        if (b->in_c != 1)
            snprintf(why, sizeof why, "%d channels", b->in_c);
        else
            side_why(why, sizeof why, hok ? "width" : "height", hok ? b->in_w : b->in_h);
        return ghm_error_set(err, GHM_EINPUT,
                             "backbone 'convnet' needs 1-channel images whose two conv5x5 + max-pool-2 stages tile "
                             "exactly (both conv outputs even: height and width multiples of 4, at least %d, e.g. "
                             "1x28x28 or 1x32x32), got %dx%dx%d (C x H x W): %s; use 'resnet' or 'mlp' for other "
                             "shapes",
                             MIN_SIDE, b->in_c, b->in_h, b->in_w, why);
    }
    /* fc1 (256 x F) must stay within int indexing */
    if ((long long)C2 * q2 * r2 > INT_MAX / HID)
        return ghm_error_set(err, GHM_EINPUT,
                             "backbone 'convnet': a %dx%dx%d image is too large (fc1 would have 256 x %lld weights)",
                             b->in_c, b->in_h, b->in_w, (long long)C2 * q2 * r2);
    convnet *c = (convnet *)calloc(1, sizeof *c);
    if (!c) return GHM_FAIL(err, GHM_ENOMEM, "convnet: out of memory");
    b->impl = c;
    c->H0 = b->in_h;
    c->W0 = b->in_w;
    c->H1 = h1;
    c->W1 = w1;
    c->Q1 = q1;
    c->R1 = r1;
    c->H2 = h2;
    c->W2 = w2;
    c->Q2 = q2;
    c->R2 = r2;
    c->F = C2 * q2 * r2;
    const int D = b->dim, F = c->F;
    const int s_w1[4] = {C1, 1, K, K}, s_b1[1] = {C1}, s_w2[4] = {C2, C1, K, K}, s_b2[1] = {C2};
    const int s_w3[2] = {HID, F}, s_b3[1] = {HID}, s_w4[2] = {D, HID}, s_b4[1] = {D};
    if (!(c->w1 = bb_tensor_add(&c->ts, "conv1.weight", 4, s_w1, 1, err)) ||
        !(c->b1 = bb_tensor_add(&c->ts, "conv1.bias", 1, s_b1, 0, err)) ||
        !(c->w2 = bb_tensor_add(&c->ts, "conv2.weight", 4, s_w2, 1, err)) ||
        !(c->b2 = bb_tensor_add(&c->ts, "conv2.bias", 1, s_b2, 0, err)) ||
        !(c->w3 = bb_tensor_add(&c->ts, "fc1.weight", 2, s_w3, 1, err)) ||
        !(c->b3 = bb_tensor_add(&c->ts, "fc1.bias", 1, s_b3, 0, err)) ||
        !(c->w4 = bb_tensor_add(&c->ts, "fc2.weight", 2, s_w4, 1, err)) ||
        !(c->b4 = bb_tensor_add(&c->ts, "fc2.bias", 1, s_b4, 0, err))) {
        destroy(b);
        return err ? err->code : GHM_ENOMEM;
    }
    ghm_init_uniform_fan_in(c->w1->data, c->w1->n, 25, rng);
    ghm_init_uniform_fan_in(c->b1->data, c->b1->n, 25, rng);
    ghm_init_uniform_fan_in(c->w2->data, c->w2->n, C1 * 25, rng);
    ghm_init_uniform_fan_in(c->b2->data, c->b2->n, C1 * 25, rng);
    ghm_init_uniform_fan_in(c->w3->data, c->w3->n, F, rng);
    ghm_init_uniform_fan_in(c->b3->data, c->b3->n, F, rng);
    ghm_init_uniform_fan_in(c->w4->data, c->w4->n, HID, rng);
    ghm_init_uniform_fan_in(c->b4->data, c->b4->n, HID, rng);
    return 0;
}

/* x (n, 1, H0, W0) -> out (n, D); activations kept for backward. Each conv
 * is fused with its bias, ReLU and max-pool (nn/layers.h); dnnl: conv2 on
 * oneDNN's primitive c->cd2 (conv2_dnnl), then bias, ReLU and pool; wino
 * (after wino_prepare; 1 inference, 2 training): conv2, bias, ReLU and pool
 * on Winograd, falling back to the fused path where it cannot run. 0, or -1
 * when a oneDNN primitive failed. */
static int run(convnet *c, const float *x, int n, float *out, int D, int dnnl, int wino)
{
    ghm_conv2d_pool_forward(c->p1, c->a1, c->ws1, c->ws1n, x, c->w1->data, c->b1->data, 1, n, 1, c->H0, c->W0, C1, K,
                            1, 0, 2, 2);
    /* wino 1 (inference): f (n, F) then holds fc1's input; 2 (training): p2 and a2 as the fused kernel's */
    const int packed = wino && !ghm_wino_pack(c->xb, c->p1, n, C1, c->Q1, c->R1, c->wlay);
    const int on_wino = packed && wino == 1 &&
                        !ghm_wino5x5_pool_forward(c->f, NULL, c->xb, c->wu2, c->b2->data, n, C1, c->Q1, c->R1, C2,
                                                  c->wlay, 0, c->wws, c->wwsn);
    const int p2_wino = packed && wino == 2 &&
                        !ghm_wino5x5_pool_forward(c->p2, c->a2, c->xb, c->wu2, c->b2->data, n, C1, c->Q1, c->R1, C2,
                                                  c->wlay, 1, c->wws, c->wwsn);
    if (p2_wino) {
        ghm_cbhw_to_nchw(c->f, c->p2, n, C2, c->Q2 * c->R2);
    } else if (!on_wino) {
        if (dnnl) {
            if (ghm_conv_dnnl_forward(c->cd2, c->cdws, c->y2, c->p1, c->w2->data)) return -1;
            ghm_maxpool_forward(c->p2, c->a2, c->y2, c->b2->data, 1, C2 * n, n, c->H2, c->W2, 2, 2);
        } else {
            ghm_conv2d_pool_forward(c->p2, c->a2, c->ws2, c->ws2n, c->p1, c->w2->data, c->b2->data, 1, n, C1, c->Q1,
                                    c->R1, C2, K, 1, 0, 2, 2);
        }
        ghm_cbhw_to_nchw(c->f, c->p2, n, C2, c->Q2 * c->R2);
    }
    ghm_linear_forward(c->h, c->f, c->w3->data, c->b3->data, n, c->F, HID);
    ghm_relu_forward(c->h, c->h, (size_t)n * HID);
    ghm_linear_forward(out, c->h, c->w4->data, c->b4->data, n, HID, D);
    return 0;
}

static int forward(ghm_backbone *b, const float *x, int n, float *out, int train, ghm_error *err)
{
    convnet *c = (convnet *)b->impl;
    c->n = 0;
    if (train) {
        int rc = ensure(c, n, err);
        if (rc) return rc;
        memcpy(c->xin, x, sizeof(float) * (size_t)n * c->H0 * c->W0);
        const int dnnl = conv2_dnnl(c, n);
        if (dnnl < 0) return GHM_FAIL(err, GHM_ENOMEM, "convnet: out of memory for conv2's oneDNN buffers");
        const int wino = !dnnl && wino_prepare(c, c->cap) ? 2 : 0;
        if (run(c, c->xin, n, out, b->dim, dnnl, wino))
            return GHM_FAIL(err, GHM_EFAIL, "convnet: oneDNN's conv2 failed");
        c->n = n;
        c->dnnl2 = dnnl;
        return 0;
    }
    int chunk = c->cap > EVAL_CHUNK ? c->cap : (n < EVAL_CHUNK ? n : EVAL_CHUNK);
    int rc = ensure(c, chunk, err);
    if (rc) return rc;
    const int wino = wino_prepare(c, chunk);
    for (int i = 0; i < n; i += chunk) {
        int m = n - i < chunk ? n - i : chunk;
        run(c, x + (size_t)i * c->H0 * c->W0, m, out + (size_t)i * b->dim, b->dim, 0, wino);
    }
    return 0;
}

static int backward(ghm_backbone *b, const float *dout, ghm_error *err)
{
    convnet *c = (convnet *)b->impl;
    const int n = c->n, D = b->dim;
    if (n <= 0) return GHM_FAIL(err, GHM_EFAIL, "convnet: backward without a preceding train forward");
    ghm_linear_backward(c->dh, c->w4->grad, c->b4->grad, dout, c->h, c->w4->data, n, HID, D);
    ghm_relu_backward(c->dh, c->dh, c->h, (size_t)n * HID);
    ghm_linear_backward(c->df, c->w3->grad, c->b3->grad, c->dh, c->f, c->w3->data, n, c->F, HID);
    ghm_nchw_to_cbhw(c->dp2, c->df, n, C2, c->Q2 * c->R2);
    if (c->dnnl2) {
        /* db from the pooled gradient as in the fused path (no dx, no dw: only the bias), then
         * the conv output's gradient (pool and ReLU backward) through oneDNN's backward */
        ghm_conv2d_pool_backward(NULL, NULL, c->b2->grad, c->dp2, c->p2, c->a2, 1, c->ws2, c->ws2n, c->p1,
                                 c->w2->data, n, C1, c->Q1, c->R1, C2, K, 1, 0, 2, 2);
        ghm_maxpool_backward(c->y2, c->dp2, c->p2, c->a2, 1, C2 * n, c->H2, c->W2, 2, 2);
        if (ghm_conv_dnnl_backward(c->cd2, c->cdws, c->dp1, c->w2->grad, c->y2, c->p1, c->w2->data)) {
            c->n = 0;
            return GHM_FAIL(err, GHM_EFAIL, "convnet: oneDNN's conv2 backward failed");
        }
    } else {
        ghm_conv2d_pool_backward(c->dp1, c->w2->grad, c->b2->grad, c->dp2, c->p2, c->a2, 1, c->ws2, c->ws2n, c->p1,
                                 c->w2->data, n, C1, c->Q1, c->R1, C2, K, 1, 0, 2, 2);
    }
    ghm_conv2d_pool_backward(NULL, c->w1->grad, c->b1->grad, c->dp1, c->p1, c->a1, 1, c->ws1, c->ws1n, c->xin,
                             c->w1->data, n, 1, c->H0, c->W0, C1, K, 1, 0, 2, 2);
    c->n = 0;
    return 0;
}

static int tensors(ghm_backbone *b, ghm_tensor ***out)
{
    convnet *c = (convnet *)b->impl;
    *out = c->ts.ptr;
    return c->ts.n;
}

static void flops(ghm_backbone *b, double *fwd, double *train)
{
    const convnet *c = (const convnet *)b->impl;
    const double c1 = (double)C1 * K * K * c->H1 * c->W1, c2 = (double)C2 * C1 * K * K * c->H2 * c->W2;
    const double fc = (double)c->F * HID + (double)HID * b->dim;
    /* conv2's forward on Winograd (inference, and training steps without oneDNN's conv2): the products of
     * its 36 positions per pooling window */
    const double c2w = c->wlay ? 36.0 * C2 * C1 * c->Q2 * c->R2 : c2, c2t = c->wlay && !c->cd2 ? c2w : c2;
    *fwd = 2.0 * (c1 + c2w + fc);
    *train = 2.0 * (2.0 * c1 + c2t + 2.0 * c2 + 3.0 * fc); /* conv1 needs no input gradient */
}

const ghm_backbone_ops ghm_backbone_convnet = {
    "convnet",
    "reference MNIST convnet: 2x (conv5x5, ReLU, maxpool2) 32/64 ch, fc F->256->D; 1xHxW, H and W multiples of 4 "
    ">= 16 (28x28: F = 1024, 32x32: F = 1600)",
    params, create, forward, backward, tensors, destroy, flops};
