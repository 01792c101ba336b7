/* GHM-Loss (losses/ghm.c): the hybrid geometric/probabilistic distance, exposed
 * for tests and tools. See docs/ghm_loss.md for the formulation and proofs. */
#ifndef GHM_GHM_LOSS_H
#define GHM_GHM_LOSS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Values of the `prob` parameter. */
enum { GHM_PROB_JS = 0, GHM_PROB_HELLINGER = 1 };

/* epsilon inside the square root of the probabilistic distance q (keeps q
 * differentiable where the exact q is 0, i.e. whenever f_i - f_j is a multiple
 * of the all-ones vector, like GHM_DIST_EPS for the Euclidean distance). */
#define GHM_PROB_EPS 1e-12

/* Probabilistic distance q(a, b) in [0, 1] (up to the eps) between
 * p = softmax(a / tau) and softmax(b / tau); a, b have d entries. */
double ghm_prob_distance(const float *a, const float *b, int d, double tau, int prob);

/* Hybrid distance h = alpha * g + (1 - alpha) * s * q with g the Euclidean
 * distance sqrt(|a - b|^2 + GHM_DIST_EPS), computed directly in double (the
 * loss takes g from ghm_loss_pdist, which agrees to a relative error below
 * GHM_PDIST_REL_ERR). */
double ghm_hybrid_distance(const float *a, const float *b, int d, double alpha, double tau, int prob, double s);

#ifdef __cplusplus
}
#endif
#endif
