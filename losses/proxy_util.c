/* Private helpers shared by the proxy / classifier / normalised losses; see proxy_util.h. */
#include "proxy_util.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ghm_lu_to_double(const float *x, size_t n, double *out)
{
    for (size_t k = 0; k < n; k++) out[k] = x[k];
}

void ghm_lu_normalize_rows(const float *x, int n, int d, double *y, double *r)
{
    for (int i = 0; i < n; i++) {
        const float *xi = x + (size_t)i * d;
        double s = 0.0;
        for (int k = 0; k < d; k++) s += (double)xi[k] * xi[k];
        double ri = sqrt(s + GHM_LU_NORM_EPS);
        r[i] = ri;
        double *yi = y + (size_t)i * d;
        for (int k = 0; k < d; k++) yi[k] = xi[k] / ri;
    }
}

void ghm_lu_normalize_backward(const double *y, const double *r, const double *gy, int n, int d, float *gx)
{
    /* y = x / r, r = sqrt(|x|^2 + eps): dy/dx = I / r - x x^T / r^3
     * => gx = gy / r - x (x . gy) / r^3 = (gy - y (y . gy)) / r */
    for (int i = 0; i < n; i++) {
        const double *yi = y + (size_t)i * d, *gi = gy + (size_t)i * d;
        double dot = 0.0;
        for (int k = 0; k < d; k++) dot += yi[k] * gi[k];
        float *o = gx + (size_t)i * d;
        for (int k = 0; k < d; k++) o[k] = (float)((gi[k] - yi[k] * dot) / r[i]);
    }
}

void ghm_lu_gemm_nt(const double *A, const double *B, int n, int m, int d, double *C)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, m, d, 1.0, A, d, B, d, 0.0, C, m);
}

void ghm_lu_gemm_nn(const double *G, const double *B, int n, int m, int d, double *C)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, m, 1.0, G, m, B, d, 0.0, C, d);
}

void ghm_lu_gemm_tn(const double *G, const double *A, int n, int m, int d, double *C)
{
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m, d, n, 1.0, G, m, A, d, 0.0, C, d);
}

double ghm_lu_cross_entropy(double *Z, const int *y, int n, int C, double scale)
{
    double total = 0.0;
    for (int i = 0; i < n; i++) {
        double *z = Z + (size_t)i * C;
        double lse = ghm_lm_logsumexp(z, NULL, C);
        total += lse - z[y[i]];
        for (int c = 0; c < C; c++) z[c] = scale * exp(z[c] - lse);
        z[y[i]] -= scale;
    }
    return total;
}

int ghm_lu_init_weights(ghm_tensor *t, const char *loss, const char *name, int C, int d, double std, int decay,
                        double lr_mult, ghm_rng *rng, ghm_error *err)
{
    char full[48];
    snprintf(full, sizeof full, "%s.%s", loss, name);
    int shape[2] = {C, d};
    if (ghm_tensor_init(t, full, 2, shape, decay))
        return ghm_error_set(err, GHM_ENOMEM, "loss '%s': out of memory for %s (%d x %d)", loss, name, C, d);
    for (size_t k = 0; k < t->n; k++) t->data[k] = (float)(std * ghm_rng_normal(rng));
    t->lr_mult = lr_mult;
    return 0;
}

int ghm_lu_cosine_fb(const char *loss, const float *emb, const int *labels, int n, int d, ghm_tensor *W,
                     ghm_lu_cos_loss_fn fn, void *ctx, double *value, float *grad, ghm_error *err)
{
    int C = W->shape[0];
    double *En = ghm_lm_dalloc((size_t)n * d), *re = ghm_lm_dalloc((size_t)n); /* (n, d), (n) */
    double *Wn = ghm_lm_dalloc((size_t)C * d), *rw = ghm_lm_dalloc((size_t)C); /* (C, d), (C) */
    double *cos = ghm_lm_dalloc((size_t)n * C), *scratch = ghm_lm_dalloc((size_t)n); /* (n, C), (n) */
    double *gE = ghm_lm_dalloc((size_t)n * d), *gW = ghm_lm_dalloc((size_t)C * d);
    int rc = 0;
    if (!En || !re || !Wn || !rw || !cos || !scratch || !gE || !gW) {
        rc = ghm_error_set(err, GHM_ENOMEM, "loss '%s': out of memory for a batch of %d x %d (%d classes)", loss,
                           n, d, C);
        goto done;
    }
    ghm_lu_normalize_rows(emb, n, d, En, re);
    ghm_lu_normalize_rows(W->data, C, d, Wn, rw);
    ghm_lu_gemm_nt(En, Wn, n, C, d, cos); /* cos (n, C) = En (n, d) Wn^T (d, C) */
    *value = fn(ctx, cos, labels, n, C, scratch);  /* cos now holds dL/dcos */
    ghm_lu_gemm_nn(cos, Wn, n, C, d, gE); /* dL/dEn (n, d) = G (n, C) Wn (C, d) */
    ghm_lu_gemm_tn(cos, En, n, C, d, gW); /* dL/dWn (C, d) = G^T (C, n) En (n, d) */
    if (grad) ghm_lu_normalize_backward(En, re, gE, n, d, grad);
    ghm_lu_normalize_backward(Wn, rw, gW, C, d, W->grad);
done:
    free(En);
    free(re);
    free(Wn);
    free(rw);
    free(cos);
    free(scratch);
    free(gE);
    free(gW);
    return rc;
}

int ghm_lu_proxy_create(ghm_loss *l, size_t size, const char *weights, double std, int decay, int bias,
                        ghm_lu_cos_loss_fn cos_loss, ghm_rng *rng, ghm_error *err)
{
    const char *loss = l->ops->name;
    ghm_lu_proxy *p = calloc(1, size);
    if (!p) return ghm_error_set(err, GHM_ENOMEM, "loss '%s': out of memory", loss);
    double lr_mult = ghm_loss_param(l, "proxy_lr_mult");
    int rc = ghm_lu_init_weights(&p->t[0], loss, weights, l->n_classes, l->dim, std, decay, lr_mult, rng, err);
    if (rc) {
        free(p);
        return rc;
    }
    p->ptr[0] = &p->t[0];
    p->n = 1;
    if (bias) {
        char name[48];
        snprintf(name, sizeof name, "%s.bias", loss);
        int shape[1] = {l->n_classes};
        if (ghm_tensor_init(&p->t[1], name, 1, shape, 0)) {
            ghm_tensor_free(&p->t[0]);
            free(p);
            return ghm_error_set(err, GHM_ENOMEM, "loss '%s': out of memory for the bias (%d)", loss, l->n_classes);
        }
        p->t[1].lr_mult = lr_mult;
        p->ptr[1] = &p->t[1];
        p->n = 2;
    }
    p->cos_loss = cos_loss;
    l->impl = p;
    return 0;
}

int ghm_lu_proxy_cosine_fb(ghm_loss *l, const float *emb, const int *labels, int n, int d, double *value,
                           float *grad, ghm_error *err)
{
    ghm_lu_proxy *p = l->impl;
    return ghm_lu_cosine_fb(l->ops->name, emb, labels, n, d, &p->t[0], p->cos_loss, p, value, grad, err);
}

int ghm_lu_proxy_tensors(ghm_loss *l, ghm_tensor ***out)
{
    ghm_lu_proxy *p = l->impl;
    *out = p->ptr;
    return p->n;
}

void ghm_lu_proxy_destroy(ghm_loss *l)
{
    ghm_lu_proxy *p = l->impl;
    if (!p) return;
    for (int i = 0; i < p->n; i++) ghm_tensor_free(&p->t[i]);
    free(p);
    l->impl = NULL;
}
