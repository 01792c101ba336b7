/* Proxy-NCA loss (Movshovitz-Attias, Toshev, Leung, Ioffe, Singh, "No Fuss
 * Distance Metric Learning using Proxies", ICCV 2017), in the form used by
 * pytorch-metric-learning (the de-facto standard):
 *
 *   L = -1/n sum_i log( exp(-s ||x_i - p_{y_i}||^2) / sum_{c=1..C} exp(-s ||x_i - p_c||^2) )
 *
 * with x_i and the proxies p_c L2-normalised, one proxy per class, and
 * s = `softmax_scale`. For unit vectors ||x - p||^2 = 2 - 2 cos(x, p), so this is
 * softmax cross-entropy over the logits 2 s cos - 2 s, and dL/dcos = 2 s (softmax - onehot) / n.
 *
 * Differences from the paper, chosen deliberately:
 *  - the paper's denominator sums over the proxies of the OTHER classes only
 *    (so its loss is unbounded below); like pytorch-metric-learning and
 *    ProxyNCA++ (Teh et al. 2020) we keep the positive proxy in the denominator,
 *    which makes L >= 0 an ordinary cross-entropy;
 *  - default s = 9: pytorch-metric-learning's s = 1 leaves the logits in
 *    [-4, 0] on the unit sphere, too flat to separate many classes; s = 9 is the
 *    widely used re-implementation's scaling of both x and p by 3
 *    (||3x - 3p||^2 = 9 ||x - p||^2) and ProxyNCA++'s temperature 1/9.
 *
 * Proxies: (C, d), N(0, 1/d) init from the loss's seeded stream; decay = 0 (the
 * loss is invariant to their norm); `proxy_lr_mult` default 1.
 */
#include "proxy_util.h"

#include <math.h>
#include <stdlib.h>

static const ghm_param_spec params[] = {
    {"softmax_scale", 9.0, 0.0, 1e4, "scale s of the negative squared distances (pml: 1; ProxyNCA++: 9)", NULL, 0, 1, 0},
    {"proxy_lr_mult", 1.0, 0.0, 1e6, "learning-rate multiplier of the proxies", NULL, 0, 0, 0},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0}};

typedef struct {
    ghm_lu_proxy base; /* t[0]: proxies (C, d) */
    double scale;
} proxy_nca;

static double pn_loss(void *ctx, double *sim, const int *labels, int n, int C, double *scratch)
{
    (void)scratch;
    const proxy_nca *pn = ctx;
    double s = pn->scale;
    /* logits -s ||x - p||^2 = -s (2 - 2 cos) */
    for (size_t k = 0; k < (size_t)n * C; k++) sim[k] = -s * (2.0 - 2.0 * sim[k]);
    /* dL/dcos = dL/dz * 2 s */
    return ghm_lu_cross_entropy(sim, labels, n, C, 2.0 * s / n) / n;
}

static int create(ghm_loss *l, ghm_rng *rng, ghm_error *err)
{
    int rc = ghm_lu_proxy_create(l, sizeof(proxy_nca), "proxies", 1.0 / sqrt((double)l->dim), 0, 0, pn_loss, rng, err);
    if (rc) return rc;
    proxy_nca *pn = l->impl;
    pn->scale = ghm_loss_param(l, "softmax_scale");
    return 0;
}

const ghm_loss_ops ghm_loss_proxy_nca = {"proxy_nca", "Proxy-NCA loss (Movshovitz-Attias et al. 2017)", params,
    create, ghm_lu_proxy_cosine_fb, ghm_lu_proxy_tensors, ghm_lu_proxy_destroy, 1, NULL};
