/* Proxy-Anchor loss (Kim, Kim, Cho, Kwak, "Proxy Anchor Loss for Deep Metric
 * Learning", CVPR 2020, eq. 4):
 *
 *   L = 1/|P+| sum_{p in P+} log(1 + sum_{x in X_p+} exp(-alpha (s(x, p) - delta)))
 *     + 1/|P|  sum_{p in P}  log(1 + sum_{x in X_p-} exp( alpha (s(x, p) + delta)))
 *
 * s = cosine similarity between the embedding and the (L2-normalised) proxy,
 * P = all proxies (one per class), P+ = proxies whose class occurs in the batch,
 * X_p+ / X_p- = batch items of / not of the proxy's class. alpha = 32,
 * delta = 0.1 (the paper's defaults, also pytorch-metric-learning's).
 * log(1 + sum exp(.)) is a log-sum-exp over {0, terms}, computed stably.
 *
 * Gradients: with w_x = exp(term_x - lse_p) (the softmax weight of x inside the
 * log), dL/ds(x,p) = -alpha w_x / |P+| for positives and +alpha w_x / |P| for
 * negatives, then through the cosine and both normalisations.
 *
 * Proxies: (C, d), N(0, 1/d) init from the loss's seeded stream (rows of about
 * unit norm). The paper trains proxies with a 100x larger learning rate, exposed
 * as `proxy_lr_mult` (default 100). Proxies are exempt from weight decay
 * (decay = 0): the loss is invariant to their norm, so decay would only shrink
 * them and inflate their effective step size.
 */
#include "proxy_util.h"

#include <math.h>
#include <stdlib.h>

static const ghm_param_spec params[] = {
    {"alpha", 32.0, 0.0, 1e4, "scale of the similarities (paper: 32)", NULL, 0, 1, 0},
    {"margin", 0.1, -1.0, 1.0, "margin delta on the cosine similarity (paper: 0.1)", NULL, 0, 0, 0},
    {"proxy_lr_mult", 100.0, 0.0, 1e6, "learning-rate multiplier of the proxies (paper: 100)", NULL, 0, 0, 0},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0}};

typedef struct {
    ghm_lu_proxy base; /* t[0]: proxies (C, d) */
    double alpha, margin;
} proxy_anchor;

static double pa_loss(void *ctx, double *sim, const int *labels, int n, int C, double *scratch)
{
    (void)scratch;
    const proxy_anchor *pa = ctx;
    double a = pa->alpha, m = pa->margin;
    int n_pos_proxies = 0;
    for (int c = 0; c < C; c++) {
        int has = 0;
        for (int i = 0; i < n && !has; i++) has = labels[i] == c;
        n_pos_proxies += has;
    }
    double pos_sum = 0.0, neg_sum = 0.0;
    /* per proxy (column c): two log-sum-exps over the batch, with a leading 1 */
    for (int c = 0; c < C; c++) {
        double mp = 0.0, mn = 0.0; /* maxima, starting at the exp(0) term */
        for (int i = 0; i < n; i++) {
            double s = sim[(size_t)i * C + c];
            if (labels[i] == c) {
                double t = -a * (s - m);
                if (t > mp) mp = t;
            } else {
                double t = a * (s + m);
                if (t > mn) mn = t;
            }
        }
        double sp = exp(-mp), sn = exp(-mn);
        int has_pos = 0;
        for (int i = 0; i < n; i++) {
            double s = sim[(size_t)i * C + c];
            if (labels[i] == c) {
                sp += exp(-a * (s - m) - mp);
                has_pos = 1;
            } else
                sn += exp(a * (s + m) - mn);
        }
        double lse_p = mp + log(sp), lse_n = mn + log(sn);
        if (has_pos) pos_sum += lse_p;
        neg_sum += lse_n;
        /* gradients, written over the cosines of column c */
        for (int i = 0; i < n; i++) {
            double *s = &sim[(size_t)i * C + c];
            if (labels[i] == c)
                *s = -a * exp(-a * (*s - m) - lse_p) / n_pos_proxies;
            else
                *s = a * exp(a * (*s + m) - lse_n) / C;
        }
    }
    return pos_sum / n_pos_proxies + neg_sum / C;
}

static int create(ghm_loss *l, ghm_rng *rng, ghm_error *err)
{
    int rc = ghm_lu_proxy_create(l, sizeof(proxy_anchor), "proxies", 1.0 / sqrt((double)l->dim), 0, 0, pa_loss, rng,
                                 err);
    if (rc) return rc;
    proxy_anchor *pa = l->impl;
    pa->alpha = ghm_loss_param(l, "alpha");
    pa->margin = ghm_loss_param(l, "margin");
    return 0;
}

const ghm_loss_ops ghm_loss_proxy_anchor = {"proxy_anchor", "Proxy-Anchor loss (Kim et al. 2020)", params,
    create, ghm_lu_proxy_cosine_fb, ghm_lu_proxy_tensors, ghm_lu_proxy_destroy, 1, NULL};
