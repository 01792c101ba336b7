/* Contrastive loss (Hadsell, Chopra & LeCun 2006, "Dimensionality Reduction by
 * Learning an Invariant Mapping", CVPR), in the two-margin form used by
 * pytorch-metric-learning:
 *
 *   L = 1/|P| sum_{(i,j) in P} [d_ij - m_pos]_+^2  +  1/|N| sum_{(i,j) in N} [m_neg - d_ij]_+^2
 *
 * over the pairs i < j of the batch, P = same label, N = different label,
 * d_ij = ghm_loss_pdist (Euclidean, eps inside the sqrt). A term whose pair set
 * is empty contributes 0. Defaults m_pos = 0, m_neg = 1 (Hadsell's original).
 * dL/dd_ij = 2 [d_ij - m_pos]_+ / |P|  or  -2 [m_neg - d_ij]_+ / |N|.
 */
#include "loss.h"
#include "pair_util.h"

#include <stdlib.h>
#include <string.h>

static const ghm_param_spec params[] = {
    {"pos_margin", 0.0, 0.0, 100.0, "positive pairs are pulled in to this distance", NULL, 0, 0, 0},
    {"neg_margin", 1.0, 0.0, 100.0, "negative pairs are pushed out to this distance", NULL, 0, 0, 0},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0}};

typedef struct {
    double pos_margin, neg_margin;
} contrastive_impl;

static int create(ghm_loss *l, ghm_rng *rng, ghm_error *err)
{
    (void)rng;
    contrastive_impl *c = malloc(sizeof *c);
    if (!c) return ghm_error_set(err, GHM_ENOMEM, "loss 'contrastive': out of memory");
    c->pos_margin = ghm_loss_param(l, "pos_margin");
    c->neg_margin = ghm_loss_param(l, "neg_margin");
    l->impl = c;
    return 0;
}

static void destroy(ghm_loss *l) { free(l->impl); }

static int forward_backward(ghm_loss *l, const float *emb, const int *labels, int n, int d, double *value,
                            float *grad, ghm_error *err)
{
    const contrastive_impl *c = l->impl;
    long n_pos, n_neg;
    ghm_pu_count_pairs(labels, n, &n_pos, &n_neg);
    if (grad) memset(grad, 0, (size_t)n * d * sizeof *grad);
    *value = 0.0;
    if (n_pos + n_neg == 0) return 0;
    double *D = ghm_lm_dalloc((size_t)n * n), *G = ghm_lm_dalloc((size_t)n * n); /* (n, n) each */
    if (!D || !G) {
        free(D);
        free(G);
        return ghm_error_set(err, GHM_ENOMEM, "loss 'contrastive': out of memory (%d x %d)", n, n);
    }
    int rc = ghm_loss_pdist(emb, n, d, D, err);
    if (rc) goto done;
    /* per-row sums added in row order: the order of ghm (losses/ghm.c), so
     * ghm with alpha = 1 equals this loss bit for bit in value too */
    double sp = 0.0, sn = 0.0;
    for (int i = 0; i < n; i++) {
        double spi = 0.0, sni = 0.0;
        for (int j = i + 1; j < n; j++) {
            double dij = D[(size_t)i * n + j];
            if (labels[i] == labels[j]) {
                double t = dij - c->pos_margin;
                if (t > 0) {
                    spi += t * t;
                    G[(size_t)i * n + j] = 2.0 * t / (double)n_pos;
                }
            } else {
                double t = c->neg_margin - dij;
                if (t > 0) {
                    sni += t * t;
                    G[(size_t)i * n + j] = -2.0 * t / (double)n_neg;
                }
            }
        }
        sp += spi;
        sn += sni;
    }
    *value = (n_pos ? sp / (double)n_pos : 0.0) + (n_neg ? sn / (double)n_neg : 0.0);
    if (grad) ghm_loss_pdist_backward(emb, n, d, D, G, grad);
done:
    free(D);
    free(G);
    return rc;
}

const ghm_loss_ops ghm_loss_contrastive = {
    "contrastive", "Contrastive loss with positive and negative margins (Hadsell et al. 2006)",
    params, create, forward_backward, NULL, destroy, 0, NULL};
