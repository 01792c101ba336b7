/* The reference convnet (the classic MNIST metric-learning network):
 *
 *   x (B, 1, 28, 28)
 *   conv 5x5 1->32 (no padding)  -> (32, B, 24, 24), ReLU, max-pool 2 -> (32, B, 12, 12)
 *   conv 5x5 32->64 (no padding) -> (64, B, 8, 8),   ReLU, max-pool 2 -> (64, B, 4, 4)
 *   flatten (PyTorch (c, h, w) order) -> (B, 1024)
 *   linear 1024->256, ReLU; linear 256->D -> (B, D)
 *
 * Feature maps are channel-major (C, B, H, W) (core/layers.h), so each
 * convolution is one sgemm over the whole batch; a conv's bias, its ReLU and the
 * following max-pool are fused into one pass over the pooled output
 * (relu(maxpool(y + b)) == maxpool(relu(y + b))). With one input channel the
 * input (B, 1, 28, 28) already is (1, B, 28, 28).
 *
 * Initialisation = PyTorch's default for nn.Conv2d / nn.Linear
 * (kaiming_uniform_ with a = sqrt(5)): weights and biases U(-1/sqrt(fan_in),
 * 1/sqrt(fan_in)), fan_in = in_channels * 5 * 5 for convs, in_features for
 * linears. Tensors are drawn in order conv1.weight, conv1.bias, conv2.weight,
 * conv2.bias, fc1.weight, fc1.bias, fc2.weight, fc2.bias.
 *
 * Parameters: 32*25+32 + 64*800+64 + 1024*256+256 + 256*D+D (347,232 for D = 128).
 */
#include "backbone.h"
#include "common.h"

#include "../core/layers.h"

#include <string.h>

static const ghm_param_spec params[] = {{NULL, 0, 0, 0, NULL, NULL, 0, 0}};

enum { C1 = 32, C2 = 64, K = 5, H0 = 28, H1 = 24, P1 = 12, H2 = 8, P2 = 4, F = C2 * P2 * P2, HID = 256 };
#define EVAL_CHUNK 128 /* inference runs the net on sub-batches of this many images (bounds memory) */

typedef struct convnet {
    bb_tensors ts;
    ghm_tensor *w1, *b1, *w2, *b2, *w3, *b3, *w4, *b4;
    int cap;    /* images the buffers hold */
    float *arena;
    /* activations (B = n of the last forward) */
    float *col1;   /* (25, B*576) im2col of the input */
    float *y1;     /* (32, B, 24, 24) conv1 output without bias; reused for its gradient */
    float *p1;     /* (32, B, 12, 12) relu(maxpool(y1 + b1)) */
    int32_t *a1;   /* (32, B, 12, 12) argmax */
    float *col2;   /* (800, B*64) im2col of p1; clobbered by backward */
    float *y2;     /* (64, B, 8, 8); reused for its gradient */
    float *p2;     /* (64, B, 4, 4) */
    int32_t *a2;   /* (64, B, 4, 4) */
    float *f;      /* (B, 1024) flattened p2 */
    float *h;      /* (B, 256) relu(fc1) */
    float *dh;     /* (B, 256) */
    float *df;     /* (B, 1024) */
    float *dp2;    /* (64, B, 4, 4) */
    float *dp1;    /* (32, B, 12, 12) */
    int n;         /* batch of the last train forward (0: none) */
} convnet;

static size_t per_image(void)
{
    return (size_t)25 * H1 * H1 + (size_t)C1 * H1 * H1 + 2 * (size_t)C1 * P1 * P1 + (size_t)C1 * 25 * H2 * H2 +
           (size_t)C2 * H2 * H2 + 2 * (size_t)C2 * P2 * P2 + F + HID + HID + F + (size_t)C2 * P2 * P2 +
           (size_t)C1 * P1 * P1;
}

static int ensure(convnet *c, int n, ghm_error *err)
{
    if (n <= c->cap) return 0;
    ghm_free(c->arena);
    c->cap = 0;
    c->arena = ghm_alloc_floats(per_image() * (size_t)n);
    if (!c->arena) return GHM_FAIL(err, GHM_ENOMEM, "convnet: out of memory for a batch of %d", n);
    c->cap = n;
    float *p = c->arena;
#define TAKE(field, type, count)                                                                                     \
    do {                                                                                                             \
        c->field = (type *)p;                                                                                        \
        p += (size_t)(count) * (size_t)n;                                                                            \
    } while (0)
    TAKE(col1, float, 25 * H1 * H1);
    TAKE(y1, float, C1 * H1 * H1);
    TAKE(p1, float, C1 * P1 * P1);
    TAKE(a1, int32_t, C1 * P1 * P1);
    TAKE(col2, float, C1 * 25 * H2 * H2);
    TAKE(y2, float, C2 * H2 * H2);
    TAKE(p2, float, C2 * P2 * P2);
    TAKE(a2, int32_t, C2 * P2 * P2);
    TAKE(f, float, F);
    TAKE(h, float, HID);
    TAKE(dh, float, HID);
    TAKE(df, float, F);
    TAKE(dp2, float, C2 * P2 * P2);
    TAKE(dp1, float, C1 * P1 * P1);
#undef TAKE
    return 0;
}

static void destroy(ghm_backbone *b)
{
    convnet *c = (convnet *)b->impl;
    if (!c) return;
    bb_tensors_free(&c->ts);
    ghm_free(c->arena);
    free(c);
    b->impl = NULL;
}

static int create(ghm_backbone *b, ghm_rng *rng, ghm_error *err)
{
    if (b->in_c != 1 || b->in_h != H0 || b->in_w != H0)
        return ghm_error_set(err, GHM_EINPUT,
                             "backbone 'convnet' needs 1x28x28 images (MNIST-like), got %dx%dx%d (C x H x W); use "
                             "'resnet' or 'mlp' for other shapes",
                             b->in_c, b->in_h, b->in_w);
    convnet *c = (convnet *)calloc(1, sizeof *c);
    if (!c) return GHM_FAIL(err, GHM_ENOMEM, "convnet: out of memory");
    b->impl = c;
    const int D = b->dim;
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

/* x (n, 1, 28, 28) -> out (n, D); activations kept for backward. */
static void run(convnet *c, const float *x, int n, float *out, int D)
{
    const int P = C1 * n, Q = C2 * n;
    ghm_conv2d_forward(c->y1, c->col1, x, c->w1->data, NULL, n, 1, H0, H0, C1, K, 1, 0, n);
    ghm_maxpool_forward(c->p1, c->a1, c->y1, c->b1->data, 1, P, n, H1, H1, 2, 2);
    ghm_conv2d_forward(c->y2, c->col2, c->p1, c->w2->data, NULL, n, C1, P1, P1, C2, K, 1, 0, n);
    ghm_maxpool_forward(c->p2, c->a2, c->y2, c->b2->data, 1, Q, n, H2, H2, 2, 2);
    ghm_cbhw_to_nchw(c->f, c->p2, n, C2, P2 * P2);
    ghm_linear_forward(c->h, c->f, c->w3->data, c->b3->data, n, F, HID);
    ghm_relu_forward(c->h, c->h, (size_t)n * HID);
    ghm_linear_forward(out, c->h, c->w4->data, c->b4->data, n, HID, D);
}

static int forward(ghm_backbone *b, const float *x, int n, float *out, int train, ghm_error *err)
{
    convnet *c = (convnet *)b->impl;
    c->n = 0;
    if (train) {
        int rc = ensure(c, n, err);
        if (rc) return rc;
        run(c, x, n, out, b->dim);
        c->n = n;
        return 0;
    }
    int chunk = c->cap > EVAL_CHUNK ? c->cap : (n < EVAL_CHUNK ? n : EVAL_CHUNK);
    int rc = ensure(c, chunk, err);
    if (rc) return rc;
    for (int i = 0; i < n; i += chunk) {
        int m = n - i < chunk ? n - i : chunk;
        run(c, x + (size_t)i * H0 * H0, m, out + (size_t)i * b->dim, b->dim);
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
    ghm_linear_backward(c->df, c->w3->grad, c->b3->grad, c->dh, c->f, c->w3->data, n, F, HID);
    ghm_nchw_to_cbhw(c->dp2, c->df, n, C2, P2 * P2);
    ghm_maxpool_backward(c->y2, c->dp2, c->p2, c->a2, 1, C2 * n, H2, H2, 2, 2); /* y2 := dL/dy2 */
    ghm_conv2d_backward(c->dp1, c->w2->grad, c->b2->grad, c->y2, c->p1, c->w2->data, c->col2, 1, n, C1, P1, P1, C2,
                        K, 1, 0, n);
    ghm_maxpool_backward(c->y1, c->dp1, c->p1, c->a1, 1, C1 * n, H1, H1, 2, 2); /* y1 := dL/dy1 */
    ghm_conv2d_backward(NULL, c->w1->grad, c->b1->grad, c->y1, NULL, c->w1->data, c->col1, 1, n, 1, H0, H0, C1, K, 1,
                        0, n);
    c->n = 0; /* the caches are consumed (col2, y1, y2 hold gradients now) */
    return 0;
}

static int tensors(ghm_backbone *b, ghm_tensor ***out)
{
    convnet *c = (convnet *)b->impl;
    *out = c->ts.ptr;
    return c->ts.n;
}

const ghm_backbone_ops ghm_backbone_convnet = {
    "convnet", "reference MNIST convnet: 2x (conv5x5, ReLU, maxpool2) 32/64 ch, fc 1024->256->D (1x28x28 only)",
    params, create, forward, backward, tensors, destroy};
