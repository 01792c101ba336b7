/* Private helpers shared by the pair-based losses (ghm, contrastive, triplet,
 * npair, lifted_structure, multi_similarity, margin, circle). Everything is in
 * double; only final gradients are rounded to float. */
#ifndef GHM_PAIR_UTIL_H
#define GHM_PAIR_UTIL_H

#include "loss.h"
#include "loss_math.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Counts of positive (same label) and negative pairs i < j in a batch. */
void ghm_pu_count_pairs(const int *labels, int n, long *n_pos, long *n_neg);

/* Backward of a Gram matrix S = E E^T: given G = dL/dS (n, n, need not be
 * symmetric), accumulates grad (n, d) += (G + G^T) E through sgemm.
 * Returns 0 or GHM_ENOMEM (message names the loss `who`). */
int ghm_pu_gram_backward(const float *emb, int n, int d, const double *G, float *grad, const char *who,
                         ghm_error *err);

/* softplus(x) = log(1 + exp(x)), stable; sigmoid(x). */
double ghm_pu_softplus(double x);
double ghm_pu_sigmoid(double x);

#ifdef __cplusplus
}
#endif
#endif
