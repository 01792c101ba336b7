/* NCA: Neighbourhood Components Analysis loss (Goldberger, Roweis, Hinton,
 * Salakhutdinov, "Neighbourhood Components Analysis", NIPS 2004), on a batch as
 * in pytorch-metric-learning:
 *
 *   p_ij = exp(-s ||x_i - x_j||^2) / sum_{k != i} exp(-s ||x_i - x_k||^2)   (j != i)
 *   L    = -1/|V| sum_{i in V} log( sum_{j != i, y_j = y_i} p_ij )
 *
 * s = `softmax_scale` (default 1), V = items with at least one other item of
 * their class in the batch (none: L = 0, zero gradient). The paper maximises
 * the expected number of correctly classified points, sum_i p_i; the log form
 * (its eq. 6 variant, the one pytorch-metric-learning uses) is used here.
 * Distances are those of the embeddings as given: with the backbone's L2
 * normalisation on, this matches pytorch-metric-learning's default (which
 * normalises inside its distance).
 *
 * Computation, in double: squared distances D2 = |x_i|^2 + |x_j|^2 - 2 x_i.x_j
 * (clamped at 0) through dgemm; log(sum_{pos} p_ij) = lse_{pos}(z_i) - lse_{k != i}(z_i)
 * with z_ij = -s D2_ij, so no probability underflows to log(0).
 * Gradient: dloss_i/dz_ij = p_ij - q_ij, q_ij = exp(z_ij - lse_pos) on
 * positives (0 elsewhere); dL/dD2_ij = -s (p_ij - q_ij) / |V| =: G_ij; and
 * dL/dx_i = 2 sum_j (G_ij + G_ji) (x_i - x_j).
 */
#include "proxy_util.h"

#include <math.h>
#include <stdlib.h>

static const ghm_param_spec params[] = {
    {"softmax_scale", 1.0, 0.0, 1e4, "scale s of the negative squared distances in the softmax", NULL, 0, 1, 0},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0}};

typedef struct {
    double scale;
} nca;

static int create(ghm_loss *l, ghm_rng *rng, ghm_error *err)
{
    (void)rng;
    nca *p = calloc(1, sizeof *p);
    if (!p) return ghm_error_set(err, GHM_ENOMEM, "loss 'nca': out of memory");
    p->scale = ghm_loss_param(l, "softmax_scale");
    l->impl = p;
    return 0;
}

static int forward_backward(ghm_loss *l, const float *emb, const int *labels, int n, int d, double *value,
                            float *grad, ghm_error *err)
{
    const nca *p = l->impl;
    double s = p->scale;
    double *X = ghm_lm_dalloc((size_t)n * d);   /* (n, d) */
    double *Z = ghm_lm_dalloc((size_t)n * n);   /* (n, n): Gram, then logits, then G + G^T */
    double *G = ghm_lm_dalloc((size_t)n * n);   /* (n, n): dL/dD2 */
    double *HX = ghm_lm_dalloc((size_t)n * d);  /* (n, d) */
    double *sq = ghm_lm_dalloc((size_t)n);      /* (n) */
    unsigned char *pos = malloc((size_t)n), *other = malloc((size_t)n);
    int rc = 0;
    if (!X || !Z || !G || !HX || !sq || !pos || !other) {
        rc = ghm_error_set(err, GHM_ENOMEM, "loss 'nca': out of memory for a batch of %d x %d", n, d);
        goto done;
    }
    ghm_lu_to_double(emb, (size_t)n * d, X);
    ghm_lu_gemm_nt(X, X, n, n, d, Z); /* Gram (n, n) */
    for (int i = 0; i < n; i++) sq[i] = Z[(size_t)i * n + i];
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double v = sq[i] + sq[j] - 2.0 * Z[(size_t)i * n + j];
            Z[(size_t)i * n + j] = -s * (v > 0.0 ? v : 0.0);
        }
    int n_valid = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (j != i && labels[j] == labels[i]) {
                n_valid++;
                break;
            }
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        double *z = Z + (size_t)i * n, *g = G + (size_t)i * n;
        int has_pos = 0;
        for (int j = 0; j < n; j++) {
            other[j] = j != i;
            pos[j] = j != i && labels[j] == labels[i];
            has_pos |= pos[j];
            g[j] = 0.0;
        }
        if (!has_pos) continue;
        double lse_all = ghm_lm_logsumexp(z, other, n);
        double lse_pos = ghm_lm_logsumexp(z, pos, n);
        total += lse_all - lse_pos;
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            double pij = exp(z[j] - lse_all), qij = pos[j] ? exp(z[j] - lse_pos) : 0.0;
            g[j] = -s * (pij - qij) / n_valid;
        }
    }
    *value = n_valid ? total / n_valid : 0.0;
    if (grad) {
        /* H = G + G^T (zero diagonal); dL/dx_i = 2 (rowsum(H)_i x_i - (H X)_i) */
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) Z[(size_t)i * n + j] = G[(size_t)i * n + j] + G[(size_t)j * n + i];
        ghm_lu_gemm_nn(Z, X, n, n, d, HX);
        for (int i = 0; i < n; i++) {
            double rs = 0.0;
            for (int j = 0; j < n; j++) rs += Z[(size_t)i * n + j];
            for (int k = 0; k < d; k++)
                grad[(size_t)i * d + k] = (float)(2.0 * (rs * X[(size_t)i * d + k] - HX[(size_t)i * d + k]));
        }
    }
done:
    free(X);
    free(Z);
    free(G);
    free(HX);
    free(sq);
    free(pos);
    free(other);
    return rc;
}

static void destroy(ghm_loss *l)
{
    free(l->impl);
    l->impl = NULL;
}

const ghm_loss_ops ghm_loss_nca = {"nca", "Neighbourhood Components Analysis loss (Goldberger et al. 2004)",
                                   params, create, forward_backward, NULL, destroy, 0, NULL};
