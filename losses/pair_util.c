/* Private helpers shared by the pair-based losses; see pair_util.h. */
#include "pair_util.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>

void ghm_pu_count_pairs(const int *labels, int n, long *n_pos, long *n_neg)
{
    long p = 0, q = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            if (labels[i] == labels[j])
                p++;
            else
                q++;
        }
    *n_pos = p;
    *n_neg = q;
}

int ghm_pu_gram_backward(const float *emb, int n, int d, const double *G, float *grad, const char *who,
                         ghm_error *err)
{
    float *Gs = malloc((size_t)n * n * sizeof *Gs); /* (n, n) = G + G^T */
    if (!Gs) return ghm_error_set(err, GHM_ENOMEM, "loss '%s': out of memory (%d x %d matrix)", who, n, n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) Gs[(size_t)i * n + j] = (float)(G[(size_t)i * n + j] + G[(size_t)j * n + i]);
    /* grad (n, d) += Gs (n, n) . emb (n, d) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, n, 1.0f, Gs, n, emb, d, 1.0f, grad, d);
    free(Gs);
    return 0;
}

double ghm_pu_softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

double ghm_pu_sigmoid(double x)
{
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}
