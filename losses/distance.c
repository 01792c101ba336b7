/* Shared pairwise geometry for the losses. Every distance-based loss uses
 * ghm_loss_pdist, so they all measure the same thing.
 *
 * Distances: sgemm first, then an exact recomputation of the near pairs.
 *   d_ij^2 = |f_i|^2 + |f_j|^2 - 2 f_i.f_j
 * with the Gram product f_i.f_j from ssyrk (float32) and the squared norms in
 * double. The product's rounding error is absolute, of the order of
 * |f_i| |f_j|, so for a near pair (d_ij << |f_i|) the cancellation leaves an
 * unbounded RELATIVE error in d_ij: with d = 128 on the unit sphere the Gram
 * form gave 5.8 times the true d for a pair 1e-4 apart, 40 times for 1e-5,
 * and 680 times sqrt(eps) for an exact duplicate. Such pairs are
 * recomputed directly in double as sum_k (f_ik - f_jk)^2.
 *
 * Threshold (docs/ghm_loss.md, "Numerics of the distances"). Let
 * s = |f_i|^2 + |f_j|^2 and u = 2^-24 (float unit roundoff). A float dot
 * product of length d, in any summation order and with or without FMA, obeys
 * |fl(f_i.f_j) - f_i.f_j| <= gamma_d sum_k |f_ik f_jk| <= gamma_d s / 2,
 * gamma_d = d u / (1 - d u) (Higham, Accuracy and Stability of Numerical
 * Algorithms, 2nd ed., eq. 3.5). The double norms and the double subtraction
 * add at most (d + 4) 2^-53 s. So the computed v = sq_i + sq_j - 2 G_ij obeys
 *   |v - d_ij^2| <= eta s,   eta = gamma_d + (d + 4) 2^-53.
 * A pair is kept from the Gram path only when v >= T s, T = eta (1 + 1/r);
 * then d_ij^2 >= v - eta s >= (T - eta) s = eta s / r, hence
 *   |v - d_ij^2| / d_ij^2 <= r
 * (up to a relative change of order d 2^-53 in r, from comparing with the
 * computed rather than the exact s), and sqrt(v + eps) is within relative
 * error r / (1 + sqrt(1 - r)) ~ r/2 of sqrt(d_ij^2 + eps), since
 * |sqrt a - sqrt b| / sqrt b = |a/b - 1| / (sqrt(a/b) + 1) and adding eps to
 * both only shrinks |a/b - 1|. Every other pair (v < T s) is recomputed in
 * double, where the error is a few units of 2^-53 (products of floats are
 * exact in double). r = GHM_PDIST_REL_ERR = 2^-12. For d = 128, T = 0.031:
 * on unit-norm embeddings only pairs closer than 0.25 are recomputed.
 * When d u >= 1/2 (d >= 2^23) the bound is void and every pair is recomputed.
 *
 * The gradient needs nothing extra: dd_ij/df_i = (f_i - f_j) / d_ij whichever
 * way d_ij was computed, and ghm_loss_pdist_backward forms f_i - f_j exactly
 * in double and divides by the same D the loss saw. */
#include "loss.h"

#include <cblas.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>

static atomic_long pdist_calls;

long ghm_loss_pdist_calls(void) { return atomic_load(&pdist_calls); }

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

double ghm_loss_pdist_threshold(int d)
{
    const double du = (double)d * 0x1p-24;
    if (du >= 0.5) return INFINITY;
    const double eta = du / (1.0 - du) + ((double)d + 4.0) * 0x1p-53;
    return eta * (1.0 + 1.0 / GHM_PDIST_REL_ERR);
}

double ghm_sqdist_exact(const float *a, const float *b, int d)
{
    /* four partial sums in a fixed order: deterministic, and the chains are
     * independent so the loop runs at the adder's throughput, not its latency */
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    int k = 0;
    for (; k + 4 <= d; k += 4) {
        double t0 = (double)a[k] - b[k], t1 = (double)a[k + 1] - b[k + 1];
        double t2 = (double)a[k + 2] - b[k + 2], t3 = (double)a[k + 3] - b[k + 3];
        s0 += t0 * t0;
        s1 += t1 * t1;
        s2 += t2 * t2;
        s3 += t3 * t3;
    }
    for (; k < d; k++) {
        double t = (double)a[k] - b[k];
        s0 += t * t;
    }
    return (s0 + s1) + (s2 + s3);
}

int ghm_loss_pdist_ex(const float *emb, int n, int d, double threshold, double *D, long *n_exact, ghm_error *err)
{
    atomic_fetch_add(&pdist_calls, 1);
    if (n_exact) *n_exact = 0;
    double *sq = malloc((size_t)n * sizeof *sq);
    if (!sq) return ghm_error_set(err, GHM_ENOMEM, "out of memory for pairwise distances");
    int rc = ghm_loss_gram(emb, n, d, D, err);
    if (rc) {
        free(sq);
        return rc;
    }
    ghm_row_sqnorms(emb, n, d, sq); /* double, not the float diagonal of the Gram matrix */
    long exact = 0;
    for (int i = 0; i < n; i++) {
        D[(size_t)i * n + i] = sqrt(GHM_DIST_EPS);
        for (int j = i + 1; j < n; j++) {
            double v = sq[i] + sq[j] - 2.0 * D[(size_t)i * n + j];
            if (!(v >= threshold * (sq[i] + sq[j]))) { /* near pair (or NaN): exact in double */
                v = ghm_sqdist_exact(emb + (size_t)i * d, emb + (size_t)j * d, d);
                exact++;
            }
            double dist = sqrt((v > 0.0 ? v : 0.0) + GHM_DIST_EPS);
            D[(size_t)i * n + j] = D[(size_t)j * n + i] = dist;
        }
    }
    if (n_exact) *n_exact = exact;
    free(sq);
    return 0;
}

int ghm_loss_pdist(const float *emb, int n, int d, double *D, ghm_error *err)
{
    return ghm_loss_pdist_ex(emb, n, d, ghm_loss_pdist_threshold(d), D, NULL, err);
}

void ghm_loss_pdist_backward(const float *emb, int n, int d, const double *D, const double *G, float *grad)
{
    /* dD_ij/df_i = (f_i - f_j) / D_ij, whether D_ij came from the Gram form or
     * from the direct sum (both have derivative 2 (f_i - f_j) for D_ij^2).
     * f_i - f_j is exact in double, so a near pair's direction is exact too.
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
