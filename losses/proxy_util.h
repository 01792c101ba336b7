/* Private helpers shared by the proxy / classifier / normalised losses
 * (nca, proxy_nca, proxy_anchor, normalized_softmax, arcface, supcon, softmax).
 * Everything here works in double: inputs are float32, all intermediate
 * similarities, log-sum-exps and gradients are accumulated in float64 and only
 * the final gradients are rounded to float. */
#ifndef GHM_PROXY_UTIL_H
#define GHM_PROXY_UTIL_H

#include "loss.h"

#ifdef __cplusplus
extern "C" {
#endif

/* epsilon added to the squared norm before the square root in L2 normalisation:
 * y = x / sqrt(|x|^2 + eps). Keeps a zero row finite (y = 0). */
#define GHM_LU_NORM_EPS 1e-12

/* A loss's trainable tensors: up to two (weights [+ bias]) and the pointer array
 * handed to the optimizer by ops->tensors. */
typedef struct ghm_lu_tensors {
    ghm_tensor t[2];     /* owned tensors */
    ghm_tensor *ptr[2];  /* &t[0], &t[1] */
    int n;               /* number in use */
} ghm_lu_tensors;

/* x (n, d) float -> out (n, d) double. */
void ghm_lu_to_double(const float *x, size_t n, double *out);

/* L2-normalise rows: y_i = x_i / r_i with r_i = sqrt(|x_i|^2 + eps).
 * x (n, d) float, y (n, d) double, r (n) double. */
void ghm_lu_normalize_rows(const float *x, int n, int d, double *y, double *r);

/* Backward of ghm_lu_normalize_rows: given gy = dL/dy (n, d), writes (overwrites)
 * gx_i = (gy_i - y_i (y_i . gy_i)) / r_i, exact for r = sqrt(|x|^2 + eps). */
void ghm_lu_normalize_backward(const double *y, const double *r, const double *gy, int n, int d, float *gx);

/* C (n, m) = A (n, d) . B (m, d)^T in double (cblas_dgemm). */
void ghm_lu_gemm_nt(const double *A, const double *B, int n, int m, int d, double *C);
/* C (n, d) = G (n, m) . B (m, d) in double (cblas_dgemm). */
void ghm_lu_gemm_nn(const double *G, const double *B, int n, int m, int d, double *C);
/* C (m, d) = G (n, m)^T . A (n, d) in double (cblas_dgemm). */
void ghm_lu_gemm_tn(const double *G, const double *A, int n, int m, int d, double *C);

/* log(sum_k exp(z_k)) over the k with mask[k] != 0 (mask NULL: all), plus
 * exp(0) = 1 inside the sum when add_one. -INFINITY when the set is empty and
 * add_one is 0. Stable: shifts by the maximum. stride: distance between z's. */
double ghm_lu_logsumexp(const double *z, const unsigned char *mask, int n, int stride, int add_one);

/* Softmax cross-entropy over rows of logits Z (n, C) with targets y: returns
 * sum_i (lse_i - Z_i,y_i) and overwrites Z with dLoss/dZ scaled by `scale`
 * (scale * (softmax - onehot)). */
double ghm_lu_cross_entropy(double *Z, const int *y, int n, int C, double scale);

/* Initialise t as a (C, d) tensor named `name` with entries N(0, 1) * std drawn
 * from rng (deterministic: row-major order), decay flag, lr multiplier.
 * Returns 0 or GHM_ENOMEM with a message naming the loss. */
int ghm_lu_init_weights(ghm_tensor *t, const char *loss, const char *name, int C, int d, double std, int decay,
                        double lr_mult, ghm_rng *rng, ghm_error *err);

/* The loss as a function of the cosine matrix cos (n, C) between the normalised
 * embeddings and the normalised class vectors: returns the loss and overwrites
 * cos with dLoss/dcos. ctx: the loss's own parameters; scratch: n doubles of
 * workspace. */
typedef double (*ghm_lu_cos_loss_fn)(void *ctx, double *cos, const int *labels, int n, int C, double *scratch);

/* Forward/backward of a loss defined on cosines to class vectors W (C, d):
 * normalises emb and W rows, cos = En Wn^T via dgemm, calls fn, then
 * back-propagates dLoss/dcos through the product and both normalisations:
 * overwrites grad (n, d) (when not NULL) and W->grad (C, d). */
int ghm_lu_cosine_fb(const char *loss, const float *emb, const int *labels, int n, int d, ghm_tensor *W,
                     ghm_lu_cos_loss_fn fn, void *ctx, double *value, float *grad, ghm_error *err);

/* Allocate an array of `count` zeroed doubles, or NULL. */
double *ghm_lu_dalloc(size_t count);

#ifdef __cplusplus
}
#endif
#endif
