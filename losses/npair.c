/* Multi-class N-pair loss (Sohn 2016, "Improved Deep Metric Learning with
 * Multi-class N-pair Loss Objective", NeurIPS):
 *
 *   L = 1/k sum_i -log( exp(s a_i . p_i) / sum_j exp(s a_i . p_j) )
 *       + l2_reg * 1/(2k) sum_i (|a_i|^2 + |p_i|^2)
 *
 * s = `scale` (an inverse temperature; 1 is Sohn's loss). On L2-normalised
 * embeddings the regulariser is a constant, so the scale is the parameter that
 * shapes the loss there: at s = 1 the logits lie in [-1, 1] and the softmax
 * can never become confident.
 *
 * One (anchor, positive) pair per class present in the batch with at least two
 * items: the FIRST TWO items of that class in batch order (a_i first, p_i
 * second); other items of the class are not used, classes with a single item
 * are skipped. k = number of such classes. Similarities are dot products
 * (the Gram matrix, through sgemm). With k = 1 the cross-entropy is 0 and only
 * the regulariser remains; with k = 0 the loss and gradient are 0.
 * Gradient: dL/dS_ij = s (softmax_j(s S_i) - [i = j]) / k with S_ij = a_i . p_j,
 * dL/da_i = sum_j dS_ij p_j, dL/dp_j = sum_i dS_ij a_i; regulariser l2_reg x / k.
 */
#include "loss.h"
#include "pair_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const ghm_param_spec params[] = {
    {"l2_reg", 0.002, 0.0, 10.0, "weight of the mean squared norm of the anchors and positives", NULL, 0, 0, 0},
    {"scale", 1.0, 0.0, 1000.0, "multiplies the similarities before the softmax (inverse temperature)", NULL, 0, 1, 1},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0}};

typedef struct {
    double l2_reg, scale;
} npair_impl;

static int create(ghm_loss *l, ghm_rng *rng, ghm_error *err)
{
    (void)rng;
    npair_impl *c = malloc(sizeof *c);
    if (!c) return ghm_error_set(err, GHM_ENOMEM, "loss 'npair': out of memory");
    c->l2_reg = ghm_loss_param(l, "l2_reg");
    c->scale = ghm_loss_param(l, "scale");
    l->impl = c;
    return 0;
}

static void destroy(ghm_loss *l) { free(l->impl); }

static int forward_backward(ghm_loss *l, const float *emb, const int *labels, int n, int d, double *value,
                            float *grad, ghm_error *err)
{
    const npair_impl *c = l->impl;
    if (grad) memset(grad, 0, (size_t)n * d * sizeof *grad);
    *value = 0.0;
    int *anc = malloc((size_t)n * sizeof *anc), *pos = malloc((size_t)n * sizeof *pos);
    double *S = ghm_lm_dalloc((size_t)n * n), *G = ghm_lm_dalloc((size_t)n * n), *row = ghm_lm_dalloc((size_t)n);
    int rc = 0;
    if (!anc || !pos || !S || !G || !row) {
        rc = ghm_error_set(err, GHM_ENOMEM, "loss 'npair': out of memory (batch of %d)", n);
        goto done;
    }
    int k = 0; /* classes with a pair */
    for (int i = 0; i < n; i++) {
        int first = 1;
        for (int j = 0; j < i && first; j++)
            if (labels[j] == labels[i]) first = 0;
        if (!first) continue;
        for (int j = i + 1; j < n; j++)
            if (labels[j] == labels[i]) {
                anc[k] = i;
                pos[k] = j;
                k++;
                break;
            }
    }
    if (k == 0) goto done;
    rc = ghm_loss_gram(emb, n, d, S, err);
    if (rc) goto done;
    double ce = 0.0, reg = 0.0;
    for (int i = 0; i < k; i++) {
        for (int j = 0; j < k; j++) row[j] = c->scale * S[(size_t)anc[i] * n + pos[j]];
        double lse = ghm_lm_logsumexp(row, NULL, k);
        ce += lse - row[i];
        reg += S[(size_t)anc[i] * n + anc[i]] + S[(size_t)pos[i] * n + pos[i]];
        for (int j = 0; j < k; j++)
            G[(size_t)anc[i] * n + pos[j]] = c->scale * (exp(row[j] - lse) - (i == j ? 1.0 : 0.0)) / (double)k;
    }
    *value = ce / k + c->l2_reg * reg / (2.0 * k);
    if (!grad) goto done;
    rc = ghm_pu_gram_backward(emb, n, d, G, grad, "npair", err);
    if (rc) goto done;
    for (int i = 0; i < k; i++) {
        const int idx[2] = {anc[i], pos[i]};
        for (int t = 0; t < 2; t++) {
            const float *x = emb + (size_t)idx[t] * d;
            float *g = grad + (size_t)idx[t] * d;
            for (int q = 0; q < d; q++) g[q] += (float)(c->l2_reg * x[q] / k);
        }
    }
done:
    free(anc);
    free(pos);
    free(S);
    free(G);
    free(row);
    return rc;
}

const ghm_loss_ops ghm_loss_npair = {"npair",
                                     "Multi-class N-pair loss with a similarity scale and L2 regularisation of the embeddings (Sohn 2016)",
                                     params, create, forward_backward, NULL, destroy, 0, NULL};
