/* Supervised contrastive loss (Khosla, Teterwak, Wang, Sarna, Tian, Isola,
 * Maschinot, Liu, Krishnan, "Supervised Contrastive Learning", NeurIPS 2020,
 * eq. 2, L^sup_out), with the batch items as the views:
 *
 *   L = 1/|V| sum_{i in V} -1/|P(i)| sum_{p in P(i)}
 *         log( exp(z_i.z_p / tau) / sum_{a != i} exp(z_i.z_a / tau) )
 *
 * z = L2-normalised embeddings (normalised here, and differentiated through),
 * P(i) = other items of i's class, V = anchors with |P(i)| >= 1 (none: L = 0,
 * zero gradient), tau = `temperature` (default 0.1, pytorch-metric-learning's
 * default; the paper's best is 0.1 too).
 *
 * Computation, in double: S = Z Z^T via dgemm, l_ij = S_ij / tau; per anchor
 * loss_i = lse_{a != i}(l_i) - mean_{p in P(i)} l_ip (stable log-sum-exp).
 * Gradient: dloss_i/dl_ij = softmax_ij - [j in P(i)] / |P(i)|;
 * G_ij = that / (tau |V|) = dL/dS_ij; dL/dZ = (G + G^T) Z; then through the
 * normalisation: dL/dx = (g - z (z.g)) / |x|.
 */
#include "proxy_util.h"

#include <math.h>
#include <stdlib.h>

static const ghm_param_spec params[] = {
    {"temperature", 0.1, 0.0, 100.0, "temperature tau on the cosine similarities (paper: 0.1)", NULL, 0, 1, 0},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0}};

typedef struct {
    double temperature;
} supcon;

static int create(ghm_loss *l, ghm_rng *rng, ghm_error *err)
{
    (void)rng;
    supcon *p = calloc(1, sizeof *p);
    if (!p) return ghm_error_set(err, GHM_ENOMEM, "loss 'supcon': out of memory");
    p->temperature = ghm_loss_param(l, "temperature");
    l->impl = p;
    return 0;
}

static int forward_backward(ghm_loss *l, const float *emb, const int *labels, int n, int d, double *value,
                            float *grad, ghm_error *err)
{
    const supcon *p = l->impl;
    double inv_t = 1.0 / p->temperature;
    double *Zn = ghm_lm_dalloc((size_t)n * d), *r = ghm_lm_dalloc((size_t)n); /* (n, d), (n) */
    double *S = ghm_lm_dalloc((size_t)n * n);                                 /* (n, n) logits, then G + G^T */
    double *G = ghm_lm_dalloc((size_t)n * n);                                 /* (n, n) dL/dS */
    double *gZ = ghm_lm_dalloc((size_t)n * d);                                /* (n, d) */
    unsigned char *other = malloc((size_t)n);
    int rc = 0;
    if (!Zn || !r || !S || !G || !gZ || !other) {
        rc = ghm_error_set(err, GHM_ENOMEM, "loss 'supcon': out of memory for a batch of %d x %d", n, d);
        goto done;
    }
    ghm_lu_normalize_rows(emb, n, d, Zn, r);
    ghm_lu_gemm_nt(Zn, Zn, n, n, d, S);
    for (size_t k = 0; k < (size_t)n * n; k++) S[k] *= inv_t;
    int n_valid = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (j != i && labels[j] == labels[i]) {
                n_valid++;
                break;
            }
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        const double *li = S + (size_t)i * n;
        double *g = G + (size_t)i * n;
        int n_pos = 0;
        double pos_sum = 0.0;
        for (int j = 0; j < n; j++) {
            other[j] = j != i;
            g[j] = 0.0;
            if (j != i && labels[j] == labels[i]) {
                n_pos++;
                pos_sum += li[j];
            }
        }
        if (!n_pos) continue;
        double lse = ghm_lm_logsumexp(li, other, n);
        total += lse - pos_sum / n_pos;
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            double w = exp(li[j] - lse) - (labels[j] == labels[i] ? 1.0 / n_pos : 0.0);
            g[j] = w * inv_t / n_valid;
        }
    }
    *value = n_valid ? total / n_valid : 0.0;
    if (grad) {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) S[(size_t)i * n + j] = G[(size_t)i * n + j] + G[(size_t)j * n + i];
        ghm_lu_gemm_nn(S, Zn, n, n, d, gZ); /* dL/dZ (n, d) = (G + G^T) Z */
        ghm_lu_normalize_backward(Zn, r, gZ, n, d, grad);
    }
done:
    free(Zn);
    free(r);
    free(S);
    free(G);
    free(gZ);
    free(other);
    return rc;
}

static void destroy(ghm_loss *l)
{
    free(l->impl);
    l->impl = NULL;
}

const ghm_loss_ops ghm_loss_supcon = {"supcon", "Supervised contrastive loss (Khosla et al. 2020)",
                                      params, create, forward_backward, NULL, destroy, 0, NULL};
