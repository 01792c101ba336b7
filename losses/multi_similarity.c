/* Multi-similarity loss (Wang, Han, Huang, Dong & Scott 2019, "Multi-Similarity
 * Loss with General Pair Weighting for Deep Metric Learning", CVPR), with its
 * pair mining (eq. 7-8) included:
 *
 *   S_ij = f_i . f_j  (cosine similarity when the embeddings are L2-normalised)
 *   mining, per anchor i (P_i positives j != i, N_i negatives):
 *     keep negative k if S_ik + epsilon > min_{j in P_i} S_ij
 *     keep positive j if S_ij - epsilon < max_{k in N_i} S_ik
 *   L_i = 1/alpha log(1 + sum_{kept j} exp(-alpha (S_ij - base)))
 *       + 1/beta  log(1 + sum_{kept k} exp( beta (S_ik - base)))
 *   L   = 1/n sum_i L_i
 * An anchor without a kept positive AND a kept negative contributes 0 (as in
 * the authors' code, which skips it; the divisor stays n = batch size).
 * Defaults alpha 2, beta 50, base 0.5, epsilon 0.1 (pytorch-metric-learning's).
 * mine = 0 keeps every pair (no mining). Mining is a selection: no gradient
 * through it. dL/dS_ij = -w_ij / n (positives), +w_ik / n (negatives), with
 * w the softmax weights of the log(1 + sum exp) terms.
 */
#include "loss.h"
#include "pair_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const ghm_param_spec params[] = {
    {"alpha", 2.0, 0.0, 1000.0, "scale of the positive pairs", NULL, 0, 1, 0},
    {"beta", 50.0, 0.0, 1000.0, "scale of the negative pairs", NULL, 0, 1, 0},
    {"base", 0.5, -1.0, 1.0, "similarity offset lambda", NULL, 0, 0, 0},
    {"epsilon", 0.1, 0.0, 2.0, "mining margin", NULL, 0, 0, 0},
    {"mine", 1, 0, 1, "1: multi-similarity pair mining, 0: use every pair", NULL, 1, 0, 0},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0}};

typedef struct {
    double alpha, beta, base, eps;
    int mine;
} ms_impl;

static int create(ghm_loss *l, ghm_rng *rng, ghm_error *err)
{
    (void)rng;
    ms_impl *c = malloc(sizeof *c);
    if (!c) return ghm_error_set(err, GHM_ENOMEM, "loss 'multi_similarity': out of memory");
    c->alpha = ghm_loss_param(l, "alpha");
    c->beta = ghm_loss_param(l, "beta");
    c->base = ghm_loss_param(l, "base");
    c->eps = ghm_loss_param(l, "epsilon");
    c->mine = (int)ghm_loss_param(l, "mine");
    l->impl = c;
    return 0;
}

static void destroy(ghm_loss *l) { free(l->impl); }

static int forward_backward(ghm_loss *l, const float *emb, const int *labels, int n, int d, double *value,
                            float *grad, ghm_error *err)
{
    const ms_impl *c = l->impl;
    if (grad) memset(grad, 0, (size_t)n * d * sizeof *grad);
    *value = 0.0;
    double *S = ghm_lm_dalloc((size_t)n * n), *G = ghm_lm_dalloc((size_t)n * n); /* (n, n) each */
    double *zp = ghm_lm_dalloc((size_t)n), *zn = ghm_lm_dalloc((size_t)n);
    unsigned char *mp = calloc((size_t)n, 1), *mn = calloc((size_t)n, 1);
    int rc = 0, any = 0;
    if (!S || !G || !zp || !zn || !mp || !mn) {
        rc = ghm_error_set(err, GHM_ENOMEM, "loss 'multi_similarity': out of memory (%d x %d)", n, n);
        goto done;
    }
    rc = ghm_loss_gram(emb, n, d, S, err);
    if (rc) goto done;
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        const double *Si = S + (size_t)i * n;
        double min_p = INFINITY, max_n = -INFINITY;
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            if (labels[j] == labels[i]) {
                if (Si[j] < min_p) min_p = Si[j];
            } else if (Si[j] > max_n) {
                max_n = Si[j];
            }
        }
        if (min_p == INFINITY || max_n == -INFINITY) continue; /* no positive or no negative */
        int np = 0, nq = 0;
        for (int j = 0; j < n; j++) {
            mp[j] = mn[j] = 0;
            if (j == i) continue;
            if (labels[j] == labels[i]) {
                if (!c->mine || Si[j] - c->eps < max_n) {
                    mp[j] = 1;
                    np++;
                }
                zp[j] = -c->alpha * (Si[j] - c->base);
            } else {
                if (!c->mine || Si[j] + c->eps > min_p) {
                    mn[j] = 1;
                    nq++;
                }
                zn[j] = c->beta * (Si[j] - c->base);
            }
        }
        if (np == 0 || nq == 0) continue;
        any = 1;
        double lp = ghm_lm_log1p_sumexp(zp, mp, n), ln = ghm_lm_log1p_sumexp(zn, mn, n);
        total += lp / c->alpha + ln / c->beta;
        double *Gi = G + (size_t)i * n;
        for (int j = 0; j < n; j++) {
            if (mp[j]) Gi[j] = -exp(zp[j] - lp) / n;
            if (mn[j]) Gi[j] = exp(zn[j] - ln) / n;
        }
    }
    *value = total / n;
    if (grad && any) rc = ghm_pu_gram_backward(emb, n, d, G, grad, "multi_similarity", err);
done:
    free(S);
    free(G);
    free(zp);
    free(zn);
    free(mp);
    free(mn);
    return rc;
}

const ghm_loss_ops ghm_loss_multi_similarity = {
    "multi_similarity", "Multi-similarity loss with its pair mining, dot-product similarities (Wang et al. 2019)",
    params, create, forward_backward, NULL, destroy, 0, NULL};
