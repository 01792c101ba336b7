/* Private numeric helpers shared by every loss (pair_util.h and proxy_util.h
 * include this): log-sum-exps and double buffers, with defined results for an
 * empty set. */
#ifndef GHM_LOSS_MATH_H
#define GHM_LOSS_MATH_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Stable log(sum_k exp(z_k)) over the k < n with mask[k] != 0 (mask NULL: all),
 * shifted by the maximum. -INFINITY when the set is empty (n <= 0 or nothing
 * masked in): the log of an empty sum. Its derivative d/dz_k is
 * exp(z_k - result). */
double ghm_lm_logsumexp(const double *z, const unsigned char *mask, int n);

/* Stable log(1 + sum_k exp(z_k)) over the same set (the 1 is exp(0)): 0 when
 * the set is empty. Its derivative d/dz_k is exp(z_k - result). */
double ghm_lm_log1p_sumexp(const double *z, const unsigned char *mask, int n);

/* calloc of count doubles, zeroed. count 0 allocates one double, so NULL always
 * means out of memory (an empty batch or a zero dimension is not an error). */
double *ghm_lm_dalloc(size_t count);

#ifdef __cplusplus
}
#endif
#endif
