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
    ghm_lu_proxy base; /* t[0]: class weights (C, d) */
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
    int rc = ghm_lu_proxy_create(l, sizeof(normalized_softmax), "weights", 1.0 / sqrt((double)l->dim), 0, 0, ns_loss,
                                 rng, err);
    if (rc) return rc;
    normalized_softmax *ns = l->impl;
    ns->temperature = ghm_loss_param(l, "temperature");
    return 0;
}

const ghm_loss_ops ghm_loss_normalized_softmax = {
    "normalized_softmax", "Normalized softmax loss (Zhai & Wu 2018)", params,
    create, ghm_lu_proxy_cosine_fb, ghm_lu_proxy_tensors, ghm_lu_proxy_destroy, 1, NULL};
