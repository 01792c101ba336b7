/* Hypothesis tests for paired comparisons (report/stats.c), written by hand
 * (the project's numerics are its point; no statistics library):
 *
 *  - the regularised incomplete beta function I_x(a, b) (continued fraction,
 *    modified Lentz), and from it Student's t distribution function;
 *  - the paired t-test, two-sided;
 *  - the exact Wilcoxon signed-rank test, two-sided;
 *  - Holm's step-down adjustment of a family of p-values.
 *
 * Conventions match SciPy 1.10 (scipy.stats.ttest_rel, wilcoxon, and
 * statsmodels' multipletests(method="holm")) where SciPy is exact; where SciPy
 * falls back to a normal approximation (Wilcoxon with tied |d|), ghm keeps the
 * exact distribution of the tied-rank statistic instead (stated in
 * ghm_stat_wilcoxon). tests/test_stats.cc holds SciPy's values.
 */
#ifndef GHM_STATS_H
#define GHM_STATS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Regularised incomplete beta I_x(a, b) for a, b > 0, 0 <= x <= 1 (NaN
 * otherwise); relative error about 1e-13 over the range the tests cover. The
 * t functions below reach a relative error of 2e-12 against SciPy up to 1000
 * degrees of freedom and 5e-11 up to 10^6 (4,400 random points checked, tails
 * down to 1e-290 included). */
double ghm_stat_betai(double a, double b, double x);
/* Student t distribution function P(T <= t) with dof > 0 degrees of freedom
 * (dof need not be an integer); t may be +-inf. NaN for NaN or dof <= 0. */
double ghm_stat_t_cdf(double t, double dof);
/* Two-sided tail P(|T| >= |t|) = I_{dof/(dof+t^2)}(dof/2, 1/2): accurate for
 * tiny p (no 1 - cdf cancellation). */
double ghm_stat_t_p2(double t, double dof);
/* Paired (one-sample) t-test of differences d[0..n-1] against 0, two-sided:
 * t = mean / (s / sqrt(n)), dof n - 1 (as scipy.stats.ttest_rel). NaN for
 * n < 2 or when every difference is 0; 0 when the differences are constant
 * and non-zero (t infinite, as SciPy). */
double ghm_stat_ttest_p(const double *d, int n);
/* Exact two-sided p-value of the Wilcoxon signed-rank test of differences d:
 * zeros dropped first (Wilcoxon's method, SciPy's default zero_method="wilcox"),
 * tied |d| get average ranks, p = 2 min(P(W+ <= w), P(W+ >= w)) under the
 * exact null distribution of the signed-rank sum with those (tied) ranks,
 * capped at 1. Without ties this is SciPy's exact p-value; with ties SciPy 1.10
 * switches to the normal approximation, ghm stays exact (the permutation
 * distribution of the same statistic, scipy.stats.permutation_test). NaN when
 * no difference is non-zero or more than 1000 are. */
double ghm_stat_wilcoxon(const double *d, int n);
/* Holm's step-down adjustment: adj[i] = max over j with p_(j) <= p_i of
 * min(1, (m - rank_j) p_(j)), m = number of finite p (NaN entries stay NaN
 * and do not count). adj may alias p. -1 when out of memory, else 0. */
int ghm_stat_holm(const double *p, int n, double *adj);

/* ---- paired differences ---- */
typedef struct ghm_paired {
    int n;              /* pairs (both values finite) */
    double mean_diff;   /* mean of a - b */
    double lo, hi;      /* 95% paired-t interval (NaN for n < 2) */
    double p_t;         /* paired t-test, two-sided (NaN for n < 2) */
    double p_value;     /* exact Wilcoxon signed-rank, two-sided (NaN for n < min_wilcoxon) */
} ghm_paired;

/* Differences a[i] - b[i] over the pairs where both are finite. */
void ghm_stat_paired(const double *a, const double *b, int n, int min_wilcoxon, ghm_paired *out);

#ifdef __cplusplus
}
#endif
#endif
