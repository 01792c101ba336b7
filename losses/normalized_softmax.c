/* Normalized softmax loss (Zhai & Wu, "Classification is a Strong Baseline for
 * Deep Metric Learning", BMVC 2019 / arXiv 2018, eq. 2):
 *
 *   L = -1/n sum_i log( exp(cos(x_i, w_{y_i}) / T) / sum_c exp(cos(x_i, w_c) / T) )
 *
 * i.e. softmax cross-entropy whose logits are the cosine similarities between
 * the L2-normalised embedding and the L2-normalised class weights, divided by
 * the temperature T (default 0.05, as in the paper and pytorch-metric-learning).
 *
 * Gradient: dL/dcos_ic = (softmax_ic - [c = y_i]) / (n T), then through the
 * cosine and both normalisations.
 *
 * Class weights: (C, d), N(0, 1/d) init from the loss's seeded stream; exempt
 * from weight decay (decay = 0, the loss is invariant to their norm);
 * `proxy_lr_mult` (default 1: the paper uses one learning rate).
 */
#include "proxy_util.h"

#include <math.h>
#include <stdlib.h>

static const ghm_param_spec params[] = {
    {"temperature", 0.05, 0.0, 100.0, "softmax temperature T on the cosines (paper: 0.05)", NULL, 0, 1, 0},
    {"proxy_lr_mult", 1.0, 0.0, 1e6, "learning-rate multiplier of the class weights", NULL, 0, 0, 0},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0}};

typedef struct {
    ghm_lu_tensors w; /* w.t[0]: class weights (C, d) */
    double temperature;
} normalized_softmax;

static double ns_loss(void *ctx, double *sim, const int *labels, int n, int C, double *scratch)
{
    (void)scratch;
    const normalized_softmax *ns = ctx;
    double inv_t = 1.0 / ns->temperature;
    for (size_t k = 0; k < (size_t)n * C; k++) sim[k] *= inv_t;
    /* d/dcos = d/dz * (1/T) */
    return ghm_lu_cross_entropy(sim, labels, n, C, inv_t / n) / n;
}

static int create(ghm_loss *l, ghm_rng *rng, ghm_error *err)
{
    normalized_softmax *ns = calloc(1, sizeof *ns);
    if (!ns) return ghm_error_set(err, GHM_ENOMEM, "loss 'normalized_softmax': out of memory");
    ns->temperature = ghm_loss_param(l, "temperature");
    int rc = ghm_lu_init_weights(&ns->w.t[0], "normalized_softmax", "weights", l->n_classes, l->dim,
                                 1.0 / sqrt((double)l->dim), 0, ghm_loss_param(l, "proxy_lr_mult"), rng, err);
    if (rc) {
        free(ns);
        return rc;
    }
    ns->w.ptr[0] = &ns->w.t[0];
    ns->w.n = 1;
    l->impl = ns;
    return 0;
}

static int forward_backward(ghm_loss *l, const float *emb, const int *labels, int n, int d, double *value,
                            float *grad, ghm_error *err)
{
    normalized_softmax *ns = l->impl;
    return ghm_lu_cosine_fb("normalized_softmax", emb, labels, n, d, &ns->w.t[0], ns_loss, ns, value, grad, err);
}

static int tensors(ghm_loss *l, ghm_tensor ***out)
{
    normalized_softmax *ns = l->impl;
    *out = ns->w.ptr;
    return ns->w.n;
}

static void destroy(ghm_loss *l)
{
    normalized_softmax *ns = l->impl;
    if (!ns) return;
    ghm_tensor_free(&ns->w.t[0]);
    free(ns);
    l->impl = NULL;
}

const ghm_loss_ops ghm_loss_normalized_softmax = {"normalized_softmax",
                                                  "Normalized softmax loss (Zhai & Wu 2018)",
                                                  params,
                                                  create,
                                                  forward_backward,
                                                  tensors,
                                                  destroy,
                                                  1,
                                                  NULL};
