/* The loss interface. A loss is a table of function pointers plus a parameter
 * spec; the registry (losses/registry.c) is a static array of them. The same
 * spec drives YAML validation, `ghm list losses`, defaults and documentation,
 * so a new loss is one file plus its two lines in the registry (and README's
 * regenerated loss table; docs/adding_a_loss.md).
 *
 * Conventions every loss follows:
 *   - emb is (n, d) row-major float32, labels (n) are dense class ids in
 *     [0, n_classes) (the split remaps training classes to 0..C-1).
 *   - forward_backward returns the scalar loss in *value and OVERWRITES
 *     grad (n, d) with dL/demb when grad != NULL; it also overwrites the grad of
 *     every tensor the loss owns (proxies, ...). Internally accumulate in double
 *     where sums are long.
 *   - A batch with no valid pair/triplet gives loss 0 and zero gradient, never NaN.
 *   - Pairwise Euclidean distances use ghm_loss_pdist (the shared definition:
 *     d_ij = sqrt(|f_i - f_j|^2 + GHM_DIST_EPS), computed through sgemm as
 *     |f_i|^2 + |f_j|^2 - 2 f_i.f_j, with near pairs recomputed directly in
 *     double so that every d_ij has relative error below GHM_PDIST_REL_ERR),
 *     so every distance-based loss measures the same thing.
 */
#ifndef GHM_LOSS_H
#define GHM_LOSS_H

#include "../core/error.h"
#include "../core/params.h"
#include "../core/rng.h"
#include "../core/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* epsilon inside the square root of every Euclidean distance (keeps d(f,f) differentiable) */
#define GHM_DIST_EPS 1e-12

typedef struct ghm_loss ghm_loss;

typedef struct ghm_loss_ops {
    const char *name;              /* "triplet" */
    const char *doc;               /* "Triplet margin loss (Schroff et al. 2015)" */
    const ghm_param_spec *params;  /* terminated by {NULL} */
    /* Allocate l->impl; may use l->params (resolved, every spec entry present),
     * l->dim, l->n_classes, and rng to initialise trainable tensors. */
    int (*create)(ghm_loss *l, ghm_rng *rng, ghm_error *err);
    /* Loss value and gradients (see conventions above). n >= 1. */
    int (*forward_backward)(ghm_loss *l, const float *emb, const int *labels, int n, int d, double *value,
                            float *grad, ghm_error *err);
    /* Optional (NULL when the loss has no trainable tensors): returns the number
     * of tensors and points *tensors at an array of them owned by the loss. */
    int (*tensors)(ghm_loss *l, ghm_tensor ***tensors);
    void (*destroy)(ghm_loss *l);
    int needs_classes;             /* 1: uses n_classes (proxies, classifiers) */
    /* Optional, for losses with a stop-gradient (see ghm_loss_check_gradient):
     * the value at emb with every detached quantity computed from ref instead;
     * its derivative at emb = ref is the gradient forward_backward returns.
     * Returns 1 when a stop-gradient is active (the value was frozen at ref),
     * 0 when it computed the plain loss, < 0 on error. */
    int (*check_value)(ghm_loss *l, const float *ref, const float *emb, const int *labels, int n, int d,
                       double *value, ghm_error *err);
} ghm_loss_ops;

struct ghm_loss {
    const ghm_loss_ops *ops; /* the loss's table */
    ghm_params params;       /* resolved parameters (every spec entry, spec order) */
    int dim;                 /* embedding dimension d */
    int n_classes;           /* number of training classes (labels in [0, n_classes)) */
    void *impl;              /* loss-private state */
};

/* Registry. */
int ghm_loss_count(void);
const ghm_loss_ops *ghm_loss_at(int i);
const ghm_loss_ops *ghm_loss_find(const char *name);

/* Create by name (registry.c): an unknown name is GHM_EINPUT suggesting the
 * closest registered one; then ghm_loss_create_ops. */
int ghm_loss_create(const char *name, const ghm_params *params, int dim, int n_classes, uint64_t seed,
                    ghm_loss **out, ghm_error *err);
/* Create from a loss's table (loss.c): resolves params against the spec
 * (unknown names / ranges -> GHM_EINPUT naming the parameter), then
 * ops->create. *out is heap-allocated. */
int ghm_loss_create_ops(const ghm_loss_ops *ops, const ghm_params *params, int dim, int n_classes, uint64_t seed,
                        ghm_loss **out, ghm_error *err);
void ghm_loss_destroy(ghm_loss *l);
int ghm_loss_forward_backward(ghm_loss *l, const float *emb, const int *labels, int n, int d, double *value,
                              float *grad, ghm_error *err);
/* Trainable tensors of the loss (0 when none). */
int ghm_loss_tensors(ghm_loss *l, ghm_tensor ***tensors);
/* Parameter value by name (resolved). */
double ghm_loss_param(const ghm_loss *l, const char *name);

/* Shared geometry helpers (losses/distance.c). */
/* Squared norms (n) of the rows of x (n, d). */
void ghm_row_sqnorms(const float *x, int n, int d, double *out);
/* Pairwise Euclidean distance matrix D (n, n) in double, D_ij =
 * sqrt(|f_i - f_j|^2 + GHM_DIST_EPS), D_ii = sqrt(eps): via sgemm, with every
 * pair whose Gram-based d^2 is below ghm_loss_pdist_threshold(d) times
 * |f_i|^2 + |f_j|^2 recomputed directly in double (losses/distance.c derives
 * the threshold); the relative error of every D_ij is below GHM_PDIST_REL_ERR
 * (about half of it in the worst case, far less in practice). */
int ghm_loss_pdist(const float *emb, int n, int d, double *D, ghm_error *err);
/* Guaranteed bound r on the relative error of the d^2 kept from the Gram path. */
#define GHM_PDIST_REL_ERR (1.0 / 4096)
/* The threshold T(d) (INFINITY: always recompute). */
double ghm_loss_pdist_threshold(int d);
/* ghm_loss_pdist with an explicit threshold (-INFINITY: Gram path only; INFINITY:
 * every pair direct) and the number of recomputed pairs i < j in *n_exact
 * (may be NULL). For benchmarks and tests. */
int ghm_loss_pdist_ex(const float *emb, int n, int d, double threshold, double *D, long *n_exact,
                      ghm_error *err);
/* |a - b|^2 in double for two float rows of length d (the direct form). */
double ghm_sqdist_exact(const float *a, const float *b, int d);
/* Number of ghm_loss_pdist / _ex calls since the program started (lets the
 * tests find, through the registry, every loss that uses the shared distances). */
long ghm_loss_pdist_calls(void);
/* Gram matrix S = emb emb^T (n, n) in double via sgemm. */
int ghm_loss_gram(const float *emb, int n, int d, double *S, ghm_error *err);
/* Backward of the distance matrix: given G = dL/dD (n, n, need not be
 * symmetric) and D, accumulate into grad (n, d) (grad += ...):
 * dL/df_i = sum_j (G_ij + G_ji) (f_i - f_j) / D_ij. */
void ghm_loss_pdist_backward(const float *emb, int n, int d, const double *D, const double *G, float *grad);

/* Finite-difference check of a loss's gradient with respect to the embeddings
 * (ghm_loss_check_gradient; `ghm loss NAME --check` prints its verdict).
 *
 * Error measure of one coordinate: |g_a - g_n| / max(|g_a| + |g_n|, F),
 * g_a analytic, g_n numerical, F = max(floor, scale_floor * max_k |g_a,k|):
 * coordinates much smaller than the largest are compared in absolute terms,
 * at the level where the float rounding noise of the value (divided by h)
 * lives. A sign error in any coordinate larger than scale_floor * tol / 2 of
 * the largest still fails. Per coordinate, with the step actually
 * representable in float and v0 = L(e):
 *   1. the central difference (L(e+h) - L(e-h)) / 2h; within tol: correct.
 *   2. otherwise compare the two one-sided differences with each other. If
 *      they agree (within tol), the value looks smooth at this scale, but an
 *      event on each side (a mined triplet switching at +h and at -h) can look
 *      the same: retry with the next smaller step. The gradient is WRONG when
 *      two steps look smooth and give the same central difference (within
 *      tol): a jump J within h adds J/h, which changes with h.
 *   3. if they disagree, the value has a kink or a jump within h (a hinge
 *      switching, a mined triplet changing, the "mean over non-zero terms"
 *      count changing): a kink or jump on one side leaves the other one-sided
 *      difference intact, so if one of them agrees the coordinate is correct;
 *      else retry with the next smaller step.
 *   4. steps h, h/8, h/64; a coordinate still unresolved is NON-SMOOTH (events
 *      within the smallest step): counted in n_discontinuous, its index in
 *      left_out (the first few), and left out of the verdict.
 * The check passes when every judged coordinate is within tol and at most
 * max_discontinuous of all coordinates were left out (so a loss whose value
 * is all jumps cannot pass by having nothing judged).
 *
 * Losses whose implemented gradient is deliberately not the derivative of
 * their value (stop-gradient, e.g. circle with detach = 1) provide
 * ops->check_value: the value with the detached quantities frozen at a
 * reference point, whose derivative at that point IS the implemented gradient;
 * the check then differentiates that function instead. */
#define GHM_GRAD_CHECK_LEFT_OUT 8
typedef struct ghm_grad_check {
    /* settings; ghm_grad_check_init sets the defaults */
    double h;                 /* first step (default 1e-3) */
    double tol;               /* tolerance of the relative error (default 1e-2) */
    double floor;             /* denominator floor of the relative error (default 1e-3) */
    double scale_floor;       /* ... and at least this fraction of max |gradient| (default 0.1) */
    double max_discontinuous; /* largest fraction of coordinates left out (default 0.25) */
    int max_coords;           /* > 0: check only this many coordinates, spread evenly (default 0: all) */
    /* optional: called every 64 coordinates (done of total) and once at the end; the check calls the
     * loss 2 to 6 times per coordinate, so n x d coordinates of a large batch take long */
    void (*progress)(void *ctx, long done, long total);
    void *progress_ctx;
    /* results */
    int n_coords;             /* coordinates checked: n * d, or max_coords of them */
    int n_central;            /* resolved by the central difference at the first step */
    int n_smaller_step;       /* resolved after shrinking the step */
    int n_one_sided;          /* kink/jump on one side, the other one-sided difference agrees */
    int n_discontinuous;      /* left out as non-smooth: unresolved at every step */
    long left_out[GHM_GRAD_CHECK_LEFT_OUT]; /* the first of them (row-major index), -1 past the end */
    int n_wrong;              /* judged and outside tol */
    double max_rel_err;       /* worst relative error over the judged coordinates */
    int worst;                /* its coordinate (row-major index), -1 when none */
    double worst_analytic, worst_numeric;
    int used_check_value;     /* 1: differentiated ops->check_value with a stop-gradient active */
    int pass;                 /* the verdict */
} ghm_grad_check;

void ghm_grad_check_init(ghm_grad_check *c);
int ghm_loss_check_gradient(ghm_loss *l, const float *emb, const int *labels, int n, int d, ghm_grad_check *c,
                            ghm_error *err);

/* Compatibility: the same check with step h, floor and tol 1e-2; *max_rel_err
 * is the worst judged error, or 1 when the check does not pass for another
 * reason (too many discontinuities). */
int ghm_loss_check_grad(ghm_loss *l, const float *emb, const int *labels, int n, int d, double h, double floor,
                        double *max_rel_err, ghm_error *err);

#ifdef __cplusplus
}
#endif
#endif
