/* Multi-layer perceptron: flatten (B, C*H*W) -> hidden1 -> ReLU -> hidden2 ->
 * ReLU -> D. Any input shape. Initialisation = PyTorch's nn.Linear default:
 * weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)). */
#include "backbone.h"
#include "common.h"

#include "nn/layers.h"

#include <string.h>

#define MLP_MAX_WIDTH 65536 /* widest hidden layer */

static const ghm_param_spec params[] = {
    {"hidden1", 512, 1, MLP_MAX_WIDTH, "width of the first hidden layer", NULL, 1, 0, 0},
    {"hidden2", 256, 1, MLP_MAX_WIDTH, "width of the second hidden layer", NULL, 1, 0, 0},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0}};

typedef struct mlp {
    bb_tensors ts;
    ghm_tensor *w1, *b1, *w2, *b2, *w3, *b3;
    int in, h1, h2;
    int cap;
    float *arena;
    float *x;      /* (B, in) copy of the input */
    float *a1;     /* (B, h1) relu(fc1) */
    float *a2;     /* (B, h2) relu(fc2) */
    float *d1, *d2; /* (B, h1), (B, h2) gradients */
    int n;
} mlp;

static int ensure(mlp *m, int n, ghm_error *err)
{
    if (n <= m->cap) return 0;
    ghm_free(m->arena);
    m->cap = 0;
    const size_t per = (size_t)m->in + 2 * (size_t)m->h1 + 2 * (size_t)m->h2;
    m->arena = ghm_alloc_floats(per * (size_t)n);
    if (!m->arena) return GHM_FAIL(err, GHM_ENOMEM, "mlp: out of memory for a batch of %d", n);
    m->cap = n;
    m->x = m->arena;
    m->a1 = m->x + (size_t)n * m->in;
    m->a2 = m->a1 + (size_t)n * m->h1;
    m->d1 = m->a2 + (size_t)n * m->h2;
    m->d2 = m->d1 + (size_t)n * m->h1;
    return 0;
}

static void destroy(ghm_backbone *b)
{
    mlp *m = (mlp *)b->impl;
    if (!m) return;
    bb_tensors_free(&m->ts);
    ghm_free(m->arena);
    free(m);
    b->impl = NULL;
}

static int create(ghm_backbone *b, ghm_rng *rng, ghm_error *err)
{
    mlp *m = (mlp *)calloc(1, sizeof *m);
    if (!m) return GHM_FAIL(err, GHM_ENOMEM, "mlp: out of memory");
    b->impl = m;
    m->in = b->in_c * b->in_h * b->in_w;
    m->h1 = (int)ghm_params_get(&b->params, "hidden1", 512);
    m->h2 = (int)ghm_params_get(&b->params, "hidden2", 256);
    const int D = b->dim;
    const int s1[2] = {m->h1, m->in}, s2[2] = {m->h2, m->h1}, s3[2] = {D, m->h2};
    if (!(m->w1 = bb_tensor_add(&m->ts, "fc1.weight", 2, s1, 1, err)) ||
        !(m->b1 = bb_tensor_add(&m->ts, "fc1.bias", 1, s1, 0, err)) ||
        !(m->w2 = bb_tensor_add(&m->ts, "fc2.weight", 2, s2, 1, err)) ||
        !(m->b2 = bb_tensor_add(&m->ts, "fc2.bias", 1, s2, 0, err)) ||
        !(m->w3 = bb_tensor_add(&m->ts, "fc3.weight", 2, s3, 1, err)) ||
        !(m->b3 = bb_tensor_add(&m->ts, "fc3.bias", 1, s3, 0, err))) {
        destroy(b);
        return err ? err->code : GHM_ENOMEM;
    }
    ghm_init_uniform_fan_in(m->w1->data, m->w1->n, m->in, rng);
    ghm_init_uniform_fan_in(m->b1->data, m->b1->n, m->in, rng);
    ghm_init_uniform_fan_in(m->w2->data, m->w2->n, m->h1, rng);
    ghm_init_uniform_fan_in(m->b2->data, m->b2->n, m->h1, rng);
    ghm_init_uniform_fan_in(m->w3->data, m->w3->n, m->h2, rng);
    ghm_init_uniform_fan_in(m->b3->data, m->b3->n, m->h2, rng);
    return 0;
}

static void run(mlp *m, const float *x, int n, float *out, int D)
{
    ghm_linear_forward(m->a1, x, m->w1->data, m->b1->data, n, m->in, m->h1);
    ghm_relu_forward(m->a1, m->a1, (size_t)n * m->h1);
    ghm_linear_forward(m->a2, m->a1, m->w2->data, m->b2->data, n, m->h1, m->h2);
    ghm_relu_forward(m->a2, m->a2, (size_t)n * m->h2);
    ghm_linear_forward(out, m->a2, m->w3->data, m->b3->data, n, m->h2, D);
}

static int forward(ghm_backbone *b, const float *x, int n, float *out, int train, ghm_error *err)
{
    mlp *m = (mlp *)b->impl;
    m->n = 0;
    int chunk = train ? n : (m->cap > 256 ? m->cap : (n < 256 ? n : 256));
    int rc = ensure(m, chunk, err);
    if (rc) return rc;
    if (train) {
        memcpy(m->x, x, sizeof(float) * (size_t)n * m->in);
        run(m, m->x, n, out, b->dim);
        m->n = n;
        return 0;
    }
    for (int i = 0; i < n; i += chunk) {
        int k = n - i < chunk ? n - i : chunk;
        run(m, x + (size_t)i * m->in, k, out + (size_t)i * b->dim, b->dim);
    }
    return 0;
}

static int backward(ghm_backbone *b, const float *dout, ghm_error *err)
{
    mlp *m = (mlp *)b->impl;
    const int n = m->n;
    if (n <= 0) return GHM_FAIL(err, GHM_EFAIL, "mlp: backward without a preceding train forward");
    ghm_linear_backward(m->d2, m->w3->grad, m->b3->grad, dout, m->a2, m->w3->data, n, m->h2, b->dim);
    ghm_relu_backward(m->d2, m->d2, m->a2, (size_t)n * m->h2);
    ghm_linear_backward(m->d1, m->w2->grad, m->b2->grad, m->d2, m->a1, m->w2->data, n, m->h1, m->h2);
    ghm_relu_backward(m->d1, m->d1, m->a1, (size_t)n * m->h1);
    ghm_linear_backward(NULL, m->w1->grad, m->b1->grad, m->d1, m->x, m->w1->data, n, m->in, m->h1);
    m->n = 0;
    return 0;
}

static int tensors(ghm_backbone *b, ghm_tensor ***out)
{
    mlp *m = (mlp *)b->impl;
    *out = m->ts.ptr;
    return m->ts.n;
}

static void flops(ghm_backbone *b, double *fwd, double *train)
{
    const mlp *m = (const mlp *)b->impl;
    const double first = (double)m->in * m->h1, rest = (double)m->h1 * m->h2 + (double)m->h2 * b->dim;
    *fwd = 2.0 * (first + rest);
    *train = 2.0 * (2.0 * first + 3.0 * rest); /* the first layer needs no input gradient */
}

const ghm_backbone_ops ghm_backbone_mlp = {"mlp", "multi-layer perceptron: flatten -> hidden1 -> hidden2 -> D (ReLU)",
                                           params, create, forward, backward, tensors, destroy, flops};
