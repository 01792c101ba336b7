/* Softmax cross-entropy classifier: the classification baseline of metric
 * learning (Zhai & Wu 2018; Boudiaf et al., "A Unifying Mutual Information View
 * of Metric Learning: Cross-Entropy vs. Pairwise Losses", ECCV 2020). A linear layer on the
 * (unnormalised) embedding, then cross-entropy:
 *
 *   z_i = W x_i + b,   L = -1/n sum_i log( exp(z_{i,y_i}) / sum_c exp(z_ic) )
 *
 * W (C, d), b (C). Gradients: G = (softmax(Z) - onehot(Y)) / n  (n, C),
 * dL/dX = G W (n, d), dL/dW = G^T X (C, d), dL/db = column sums of G.
 *
 * Initialisation from the loss's seeded stream: W ~ N(0, 1/(3d)) (the variance
 * of PyTorch's nn.Linear default U(-1/sqrt(d), 1/sqrt(d))), b = 0.
 * Weight decay applies to W (decay = 1, it is an ordinary weight matrix), not
 * to b (decay = 0, usual practice for biases). `proxy_lr_mult` (default 1)
 * multiplies the learning rate of both, named like the other losses' so a
 * sweep can use one key for every classifier/proxy loss.
 */
#include "proxy_util.h"

#include <math.h>
#include <stdlib.h>

static const ghm_param_spec params[] = {
    {"proxy_lr_mult", 1.0, 0.0, 1e6, "learning-rate multiplier of the classifier weights and bias", NULL, 0, 0, 0},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0}};

static int create(ghm_loss *l, ghm_rng *rng, ghm_error *err)
{
    /* state: t[0] weight (C, d), t[1] bias (C) */
    return ghm_lu_proxy_create(l, sizeof(ghm_lu_proxy), "weight", 1.0 / sqrt(3.0 * l->dim), 1, 1, NULL, rng, err);
}

static int forward_backward(ghm_loss *l, const float *emb, const int *labels, int n, int d, double *value,
                            float *grad, ghm_error *err)
{
    ghm_lu_proxy *sm = l->impl;
    ghm_tensor *W = &sm->t[0], *b = &sm->t[1];
    int C = W->shape[0];
    double *X = ghm_lm_dalloc((size_t)n * d), *Wd = ghm_lm_dalloc((size_t)C * d); /* (n, d), (C, d) */
    double *Z = ghm_lm_dalloc((size_t)n * C);                                       /* (n, C) */
    double *gX = ghm_lm_dalloc((size_t)n * d), *gW = ghm_lm_dalloc((size_t)C * d);
    int rc = 0;
    if (!X || !Wd || !Z || !gX || !gW) {
        rc = ghm_error_set(err, GHM_ENOMEM, "loss 'softmax': out of memory for a batch of %d x %d (%d classes)",
                           n, d, C);
        goto done;
    }
    ghm_lu_to_double(emb, (size_t)n * d, X);
    ghm_lu_to_double(W->data, (size_t)C * d, Wd);
    ghm_lu_gemm_nt(X, Wd, n, C, d, Z); /* Z (n, C) = X W^T */
    for (int i = 0; i < n; i++)
        for (int c = 0; c < C; c++) Z[(size_t)i * C + c] += b->data[c];
    *value = ghm_lu_cross_entropy(Z, labels, n, C, 1.0 / n) / n; /* Z <- G */
    ghm_lu_gemm_tn(Z, X, n, C, d, gW);                             /* dW (C, d) = G^T X */
    for (size_t k = 0; k < (size_t)C * d; k++) W->grad[k] = (float)gW[k];
    for (int c = 0; c < C; c++) {
        double s = 0.0;
        for (int i = 0; i < n; i++) s += Z[(size_t)i * C + c];
        b->grad[c] = (float)s;
    }
    if (grad) {
        ghm_lu_gemm_nn(Z, Wd, n, C, d, gX); /* dX (n, d) = G W */
        for (size_t k = 0; k < (size_t)n * d; k++) grad[k] = (float)gX[k];
    }
done:
    free(X);
    free(Wd);
    free(Z);
    free(gX);
    free(gW);
    return rc;
}

const ghm_loss_ops ghm_loss_softmax = {
    "softmax", "Softmax cross-entropy classifier baseline (cf. Boudiaf et al. 2020)", params,
    create, forward_backward, ghm_lu_proxy_tensors, ghm_lu_proxy_destroy, 1, NULL};
