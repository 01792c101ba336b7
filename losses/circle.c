/* Circle loss (Sun, Cheng, Zhang, Zhang, Zheng, Wang & Wei 2020, "Circle Loss:
 * A Unified Perspective of Pair Similarity Optimization", CVPR, eq. 6), pair
 * form with one anchor at a time:
 *
 *   S_ij = f_i . f_j  (cosine similarity when the embeddings are L2-normalised)
 *   a_p = [1 + m - s_p]_+ , a_n = [s_n + m]_+ , Delta_p = 1 - m, Delta_n = m
 *   L_i = softplus( LSE_{n in N_i} gamma a_n (s_n - Delta_n)
 *                 + LSE_{p in P_i} -gamma a_p (s_p - Delta_p) )
 *       = log(1 + sum_n exp(gamma a_n (s_n - Delta_n)) sum_p exp(-gamma a_p (s_p - Delta_p)))
 *   L   = mean of L_i over the anchors with at least one positive and one negative
 *         (softplus > 0, so this is pytorch-metric-learning's average over non-zero).
 * Defaults m = 0.25, gamma = 256 (pml's). The logits reach hundreds, so every
 * log-sum-exp is shifted by its maximum in double.
 * detach = 1 (default) treats a_p, a_n as constants in the backward pass, as
 * in the authors' code and pml; the gradient is then NOT the derivative of L.
 * detach = 0 differentiates through them (the exact gradient of L):
 *   d(logit_p)/ds_p = -gamma (a_p - (s_p - Delta_p) [1 + m > s_p])
 *   d(logit_n)/ds_n =  gamma (a_n + (s_n - Delta_n) [s_n + m > 0])
 * (detach = 1 drops the bracketed terms). dL_i/dlogit = sigmoid(A + B) softmax(logit).
 */
#include "loss.h"
#include "pair_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const ghm_param_spec params[] = {
    {"m", 0.25, 0.0, 1.0, "relaxation margin", NULL, 0, 0, 0},
    {"gamma", 256.0, 0.0, 4096.0, "scale factor", NULL, 0, 1, 0},
    {"detach", 1, 0, 1, "1: no gradient through the adaptive weights (paper, pml), 0: exact gradient", NULL, 1, 0, 0},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0}};

typedef struct {
    double m, gamma;
    int detach;
} circle_impl;

static int create(ghm_loss *l, ghm_rng *rng, ghm_error *err)
{
    (void)rng;
    circle_impl *c = malloc(sizeof *c);
    if (!c) return ghm_error_set(err, GHM_ENOMEM, "loss 'circle': out of memory");
    c->m = ghm_loss_param(l, "m");
    c->gamma = ghm_loss_param(l, "gamma");
    c->detach = (int)ghm_loss_param(l, "detach");
    l->impl = c;
    return 0;
}

static void destroy(ghm_loss *l) { free(l->impl); }

/* The loss at emb; with ref != NULL the adaptive weights a_p, a_n come from the
 * similarities of ref instead (detached: constants), which is what the
 * gradient check differentiates when detach = 1 (grad must be NULL then). */
static int circle_eval(ghm_loss *l, const float *ref, const float *emb, const int *labels, int n, int d,
                       double *value, float *grad, ghm_error *err)
{
    const circle_impl *c = l->impl;
    const double m = c->m, gamma = c->gamma, dp = 1.0 - m, dn = m;
    if (grad) memset(grad, 0, (size_t)n * d * sizeof *grad);
    *value = 0.0;
    double *S = ghm_lm_dalloc((size_t)n * n), *G = ghm_lm_dalloc((size_t)n * n); /* (n, n) each */
    double *W = ref ? ghm_lm_dalloc((size_t)n * n) : S; /* similarities the weights are computed from */
    double *z = ghm_lm_dalloc((size_t)n);                                       /* logits of row i */
    unsigned char *mp = calloc((size_t)n, 1), *mn = calloc((size_t)n, 1);
    int rc = 0;
    if (!S || !G || !W || !z || !mp || !mn) {
        rc = ghm_error_set(err, GHM_ENOMEM, "loss 'circle': out of memory (%d x %d)", n, n);
        goto done;
    }
    rc = ghm_loss_gram(emb, n, d, S, err);
    if (rc == 0 && ref) rc = ghm_loss_gram(ref, n, d, W, err);
    if (rc) goto done;
    double total = 0.0;
    long count = 0;
    for (int i = 0; i < n; i++) {
        const double *Si = S + (size_t)i * n, *Wi = W + (size_t)i * n;
        int np = 0, nq = 0;
        for (int j = 0; j < n; j++) {
            mp[j] = (unsigned char)(j != i && labels[j] == labels[i]);
            mn[j] = (unsigned char)(labels[j] != labels[i]);
            np += mp[j];
            nq += mn[j];
            double s = Si[j], w = Wi[j];
            if (mp[j]) {
                double ap = 1.0 + m - w;
                z[j] = -gamma * (ap > 0 ? ap : 0.0) * (s - dp);
            } else if (mn[j]) {
                double an = w + m;
                z[j] = gamma * (an > 0 ? an : 0.0) * (s - dn);
            }
        }
        if (np == 0 || nq == 0) continue;
        double A = ghm_lm_logsumexp(z, mn, n), B = ghm_lm_logsumexp(z, mp, n);
        total += ghm_pu_softplus(A + B);
        count++;
        if (!grad) continue;
        double sg = ghm_pu_sigmoid(A + B), *Gi = G + (size_t)i * n;
        for (int j = 0; j < n; j++) {
            double s = Si[j];
            if (mp[j]) {
                double ap = 1.0 + m - s, dz = -gamma * (ap > 0 ? ap : 0.0);
                if (!c->detach && ap > 0) dz += gamma * (s - dp);
                Gi[j] = sg * exp(z[j] - B) * dz;
            } else if (mn[j]) {
                double an = s + m, dz = gamma * (an > 0 ? an : 0.0);
                if (!c->detach && an > 0) dz += gamma * (s - dn);
                Gi[j] = sg * exp(z[j] - A) * dz;
            }
        }
    }
    if (count == 0) goto done;
    *value = total / (double)count;
    if (grad) {
        for (size_t k = 0; k < (size_t)n * n; k++) G[k] /= (double)count;
        rc = ghm_pu_gram_backward(emb, n, d, G, grad, "circle", err);
    }
done:
    if (W != S) free(W);
    free(S);
    free(G);
    free(z);
    free(mp);
    free(mn);
    return rc;
}

static int forward_backward(ghm_loss *l, const float *emb, const int *labels, int n, int d, double *value,
                            float *grad, ghm_error *err)
{
    return circle_eval(l, NULL, emb, labels, n, d, value, grad, err);
}

/* detach = 1: the weights held at ref, so the check differentiates what the gradient implements */
static int check_value(ghm_loss *l, const float *ref, const float *emb, const int *labels, int n, int d,
                       double *value, ghm_error *err)
{
    const circle_impl *c = l->impl;
    int rc = circle_eval(l, c->detach ? ref : NULL, emb, labels, n, d, value, NULL, err);
    return rc < 0 ? rc : c->detach ? 1 : 0;
}

const ghm_loss_ops ghm_loss_circle = {"circle",
                                      "Circle loss, pair form, dot-product similarities (Sun et al. 2020)", params,
                                      create, forward_backward, NULL, destroy, 0, check_value};
