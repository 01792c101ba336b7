/* Private helpers shared by the proxy / classifier / normalised losses
 * (nca, proxy_nca, proxy_anchor, normalized_softmax, arcface, supcon, softmax),
 * and the plumbing of the losses with class vectors (proxy_nca, proxy_anchor,
 * normalized_softmax, arcface, softmax), so that each of their files holds its
 * parameters and its math only.
 * Everything here works in double: inputs are float32, all intermediate
 * similarities, log-sum-exps and gradients are accumulated in float64 and only
 * the final gradients are rounded to float. */
#ifndef GHM_PROXY_UTIL_H
#define GHM_PROXY_UTIL_H

#include "loss.h"
#include "loss_math.h"

#ifdef __cplusplus
extern "C" {
#endif

/* epsilon added to the squared norm before the square root in L2 normalisation:
 * y = x / sqrt(|x|^2 + eps). Keeps a zero row finite (y = 0). */
#define GHM_LU_NORM_EPS 1e-12

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

/* The state a loss with class vectors starts with (the first member of its
 * own state struct, which ops->create allocates through ghm_lu_proxy_create). */
typedef struct ghm_lu_proxy {
    ghm_tensor t[2];            /* t[0]: class vectors (C, d); t[1]: bias (C) when n == 2 */
    ghm_tensor *ptr[2];         /* &t[0], &t[1]: what ops->tensors hands to the optimizer */
    int n;                      /* tensors in use: 1, or 2 with a bias */
    ghm_lu_cos_loss_fn cos_loss; /* the loss on the cosine matrix (ghm_lu_proxy_cosine_fb), or NULL */
} ghm_lu_proxy;

/* The common part of ops->create: l->impl = `size` zeroed bytes (the loss's
 * state, starting with a ghm_lu_proxy), class vectors "<loss>.<weights>"
 * (n_classes, dim) drawn by ghm_lu_init_weights with std and decay, a zero
 * bias "<loss>.bias" (n_classes, decay 0) when bias, both with the learning-
 * rate multiplier of the loss's `proxy_lr_mult` parameter. The caller then
 * reads its own parameters into its state. On error nothing stays allocated. */
int ghm_lu_proxy_create(ghm_loss *l, size_t size, const char *weights, double std, int decay, int bias,
                        ghm_lu_cos_loss_fn cos_loss, ghm_rng *rng, ghm_error *err);

/* ops->forward_backward of a loss defined on cosines: ghm_lu_cosine_fb with
 * the class vectors t[0] and the state's cos_loss (ctx: l->impl). */
int ghm_lu_proxy_cosine_fb(ghm_loss *l, const float *emb, const int *labels, int n, int d, double *value,
                           float *grad, ghm_error *err);

/* ops->tensors and ops->destroy of every loss created by ghm_lu_proxy_create. */
int ghm_lu_proxy_tensors(ghm_loss *l, ghm_tensor ***out);
void ghm_lu_proxy_destroy(ghm_loss *l);

#ifdef __cplusplus
}
#endif
#endif
