/* Lifted structured loss, smooth version (Song, Xiang, Jegelka & Savarese 2016,
 * "Deep Metric Learning via Lifted Structured Feature Embedding", CVPR, eq. 4):
 *
 *   J_ij = log( sum_{k: y_k != y_i} exp(margin - d_ik) + sum_{l: y_l != y_j} exp(margin - d_jl) ) + d_ij
 *   L    = 1/(2|P|) sum_{(i,j) in P} [J_ij]_+^2
 *
 * over the positive pairs i < j, d = ghm_loss_pdist (Euclidean, not squared),
 * margin default 1. The log-sum-exp is evaluated in double with a max shift.
 * When the whole batch is one class there is no negative, J = -inf and L = 0.
 * Gradient: with w = J_ij / |P| for J_ij > 0: dL/dd_ij = w,
 * dL/dd_ik = -w exp(margin - d_ik) / Z_ij for every negative term (k of i, l of j).
 */
#include "loss.h"
#include "pair_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const ghm_param_spec params[] = {
    {"margin", 1.0, 0.0, 100.0, "margin alpha inside exp(alpha - d) of the negatives", NULL, 0, 0, 0},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0}};

typedef struct {
    double margin;
} lifted_impl;

static int create(ghm_loss *l, ghm_rng *rng, ghm_error *err)
{
    (void)rng;
    lifted_impl *c = malloc(sizeof *c);
    if (!c) return ghm_error_set(err, GHM_ENOMEM, "loss 'lifted_structure': out of memory");
    c->margin = ghm_loss_param(l, "margin");
    l->impl = c;
    return 0;
}

static void destroy(ghm_loss *l) { free(l->impl); }

static int forward_backward(ghm_loss *l, const float *emb, const int *labels, int n, int d, double *value,
                            float *grad, ghm_error *err)
{
    const lifted_impl *c = l->impl;
    if (grad) memset(grad, 0, (size_t)n * d * sizeof *grad);
    *value = 0.0;
    long n_pos, n_neg;
    ghm_pu_count_pairs(labels, n, &n_pos, &n_neg);
    if (n_pos == 0 || n_neg == 0) return 0;
    double *D = ghm_lm_dalloc((size_t)n * n), *G = ghm_lm_dalloc((size_t)n * n); /* (n, n) each */
    if (!D || !G) {
        free(D);
        free(G);
        return ghm_error_set(err, GHM_ENOMEM, "loss 'lifted_structure': out of memory (%d x %d)", n, n);
    }
    int rc = ghm_loss_pdist(emb, n, d, D, err);
    if (rc) goto done;
    double total = 0.0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            if (labels[i] != labels[j]) continue;
            /* negatives of i and of j are the same set (y_i = y_j) */
            const double *Di = D + (size_t)i * n, *Dj = D + (size_t)j * n;
            double mx = -INFINITY;
            for (int k = 0; k < n; k++)
                if (labels[k] != labels[i]) {
                    double a = c->margin - Di[k], b = c->margin - Dj[k];
                    if (a > mx) mx = a;
                    if (b > mx) mx = b;
                }
            double z = 0.0;
            for (int k = 0; k < n; k++)
                if (labels[k] != labels[i]) z += exp(c->margin - Di[k] - mx) + exp(c->margin - Dj[k] - mx);
            double J = mx + log(z) + Di[j];
            if (J <= 0) continue;
            total += J * J;
            if (!grad) continue;
            double w = J / (double)n_pos; /* d/dJ of J^2 / (2|P|) */
            G[(size_t)i * n + j] += w;
            for (int k = 0; k < n; k++)
                if (labels[k] != labels[i]) {
                    G[(size_t)i * n + k] -= w * exp(c->margin - Di[k] - mx) / z;
                    G[(size_t)j * n + k] -= w * exp(c->margin - Dj[k] - mx) / z;
                }
        }
    *value = total / (2.0 * (double)n_pos);
    if (grad) ghm_loss_pdist_backward(emb, n, d, D, G, grad);
done:
    free(D);
    free(G);
    return rc;
}

const ghm_loss_ops ghm_loss_lifted_structure = {
    "lifted_structure", "Lifted structured loss, smooth log-sum-exp form (Song et al. 2016)", params, create,
    forward_backward, NULL, destroy, 0, NULL};
