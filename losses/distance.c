/* Shared pairwise geometry for the losses, through sgemm:
 *   ||a - b||^2 = |a|^2 + |b|^2 - 2 a.b
 * Every distance-based loss uses these, so they all measure the same thing. */
#include "loss.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>

void ghm_row_sqnorms(const float *x, int n, int d, double *out)
{
    for (int i = 0; i < n; i++) {
        double s = 0.0;
        const float *r = x + (size_t)i * d;
        for (int k = 0; k < d; k++) s += (double)r[k] * r[k];
        out[i] = s;
    }
}

int ghm_loss_gram(const float *emb, int n, int d, double *S, ghm_error *err)
{
    float *G = malloc((size_t)n * n * sizeof *G);
    if (!G) return ghm_error_set(err, GHM_ENOMEM, "out of memory for a %d x %d Gram matrix", n, n);
    /* G (n, n) = emb (n, d) . emb^T (d, n) */
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, n, d, 1.0f, emb, d, 0.0f, G, n);
    for (int i = 0; i < n; i++)
        for (int j = i; j < n; j++) S[(size_t)i * n + j] = S[(size_t)j * n + i] = G[(size_t)i * n + j];
    free(G);
    return 0;
}

int ghm_loss_pdist(const float *emb, int n, int d, double *D, ghm_error *err)
{
    double *sq = malloc((size_t)n * sizeof *sq);
    if (!sq) return ghm_error_set(err, GHM_ENOMEM, "out of memory for pairwise distances");
    int rc = ghm_loss_gram(emb, n, d, D, err);
    if (rc) {
        free(sq);
        return rc;
    }
    for (int i = 0; i < n; i++) sq[i] = D[(size_t)i * n + i];
    for (int i = 0; i < n; i++) {
        D[(size_t)i * n + i] = sqrt(GHM_DIST_EPS);
        for (int j = i + 1; j < n; j++) {
            double v = sq[i] + sq[j] - 2.0 * D[(size_t)i * n + j];
            double dist = sqrt((v > 0.0 ? v : 0.0) + GHM_DIST_EPS);
            D[(size_t)i * n + j] = D[(size_t)j * n + i] = dist;
        }
    }
    free(sq);
    return 0;
}

void ghm_loss_pdist_backward(const float *emb, int n, int d, const double *D, const double *G, float *grad)
{
    /* dD_ij/df_i = (f_i - f_j) / D_ij  (the Gram-based form has the same derivative:
     * d(|f_i|^2 + |f_j|^2 - 2 f_i.f_j)/df_i = 2 (f_i - f_j)).
     * Accumulated in double, in column chunks so no allocation is needed. */
    enum { CHUNK = 256 };
    double acc[CHUNK];
    for (int i = 0; i < n; i++) {
        const float *fi = emb + (size_t)i * d;
        float *gi = grad + (size_t)i * d;
        for (int k0 = 0; k0 < d; k0 += CHUNK) {
            int k1 = k0 + CHUNK < d ? k0 + CHUNK : d;
            for (int k = k0; k < k1; k++) acc[k - k0] = 0.0;
            for (int j = 0; j < n; j++) {
                if (j == i) continue;
                double c = G[(size_t)i * n + j] + G[(size_t)j * n + i];
                if (c == 0.0) continue;
                c /= D[(size_t)i * n + j];
                const float *fj = emb + (size_t)j * d;
                for (int k = k0; k < k1; k++) acc[k - k0] += c * ((double)fi[k] - fj[k]);
            }
            for (int k = k0; k < k1; k++) gi[k] += (float)acc[k - k0];
        }
    }
}
