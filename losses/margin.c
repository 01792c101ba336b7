/* Margin loss (Wu, Manmatha, Smola & Krahenbuhl 2017, "Sampling Matters in Deep
 * Embedding Learning", ICCV, eq. 3):
 *
 *   l(i, j) = [margin + y_ij (d_ij - beta)]_+ ,  y_ij = +1 same label, -1 otherwise
 *   L = sum_{i<j} l(i, j) / #{(i, j): l(i, j) > 0}     (0 when no pair is active)
 *
 * d = ghm_loss_pdist (Euclidean). beta is one global learnable boundary
 * (tensor "beta", init `beta`, no weight decay; the paper's class- and
 * image-specific offsets and its nu-regulariser are not used); with
 * learn_beta = 0 it is a fixed constant and the loss exposes no tensor. Every
 * pair of the batch is used (the paper's distance-weighted sampling is not
 * implemented); the average over the active pairs is the authors' (and
 * pytorch-metric-learning's) reduction.
 * Gradients over active pairs: dL/dd_ij = y_ij / A, dL/dbeta = -sum y_ij / A.
 */
#include "loss.h"
#include "pair_util.h"

#include <stdlib.h>
#include <string.h>

static const ghm_param_spec params[] = {
    {"margin", 0.2, 0.0, 100.0, "margin alpha around the boundary beta", NULL, 0, 0, 0},
    {"beta", 1.2, 0.0, 100.0, "initial boundary beta between positive and negative distances", NULL, 0, 0, 0},
    {"learn_beta", 1, 0, 1, "1: beta is a trainable tensor (no weight decay), 0: fixed", NULL, 1, 0, 0},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0}};

typedef struct {
    double margin;
    int learn_beta;
    ghm_tensor beta; /* (1) */
    ghm_tensor *ptr[1];
} margin_impl;

static int create(ghm_loss *l, ghm_rng *rng, ghm_error *err)
{
    (void)rng;
    margin_impl *c = calloc(1, sizeof *c);
    if (!c) return ghm_error_set(err, GHM_ENOMEM, "loss 'margin': out of memory");
    const int shape[1] = {1};
    if (ghm_tensor_init(&c->beta, "beta", 1, shape, 0)) {
        free(c);
        return ghm_error_set(err, GHM_ENOMEM, "loss 'margin': out of memory for tensor 'beta'");
    }
    c->beta.data[0] = (float)ghm_loss_param(l, "beta");
    c->beta.lr_mult = 1.0;
    c->margin = ghm_loss_param(l, "margin");
    c->learn_beta = (int)ghm_loss_param(l, "learn_beta");
    c->ptr[0] = &c->beta;
    l->impl = c;
    return 0;
}

static void destroy(ghm_loss *l)
{
    margin_impl *c = l->impl;
    if (!c) return;
    ghm_tensor_free(&c->beta);
    free(c);
}

static int tensors(ghm_loss *l, ghm_tensor ***out)
{
    margin_impl *c = l->impl;
    if (!c->learn_beta) {
        *out = NULL;
        return 0;
    }
    *out = c->ptr;
    return 1;
}

static int forward_backward(ghm_loss *l, const float *emb, const int *labels, int n, int d, double *value,
                            float *grad, ghm_error *err)
{
    margin_impl *c = l->impl;
    const double beta = c->beta.data[0];
    if (grad) memset(grad, 0, (size_t)n * d * sizeof *grad);
    c->beta.grad[0] = 0.0f;
    *value = 0.0;
    double *D = ghm_lm_dalloc((size_t)n * n), *G = ghm_lm_dalloc((size_t)n * n); /* (n, n) each */
    if (!D || !G) {
        free(D);
        free(G);
        return ghm_error_set(err, GHM_ENOMEM, "loss 'margin': out of memory (%d x %d)", n, n);
    }
    int rc = n > 1 ? ghm_loss_pdist(emb, n, d, D, err) : 0;
    if (rc) goto done;
    double total = 0.0, gbeta = 0.0;
    long active = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            double y = labels[i] == labels[j] ? 1.0 : -1.0;
            double v = c->margin + y * (D[(size_t)i * n + j] - beta);
            if (v <= 0) continue;
            total += v;
            active++;
            G[(size_t)i * n + j] = y;
            gbeta -= y;
        }
    if (active == 0) goto done;
    *value = total / (double)active;
    if (c->learn_beta) c->beta.grad[0] = (float)(gbeta / (double)active);
    if (grad) {
        for (size_t k = 0; k < (size_t)n * n; k++) G[k] /= (double)active;
        ghm_loss_pdist_backward(emb, n, d, D, G, grad);
    }
done:
    free(D);
    free(G);
    return rc;
}

const ghm_loss_ops ghm_loss_margin = {
    "margin", "Margin loss with a learnable boundary beta, all pairs (Wu et al. 2017)", params, create,
    forward_backward, tensors, destroy, 0, NULL};
