/* Hypothesis tests for paired comparisons (stats.h). */
#include "report/stats.h"

#include "report/report.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- incomplete beta and Student's t ---- */

/* The continued fraction of I_x(a, b) (Numerical Recipes' betacf, evaluated by
 * the modified Lentz method); converges fast for x < (a + 1) / (a + b + 2). */
static double betacf(double a, double b, double x)
{
    const double tiny = 1e-300, eps = 1e-16;
    double qab = a + b, qap = a + 1, qam = a - 1;
    double c = 1, d = 1 - qab * x / qap;
    if (fabs(d) < tiny) d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 10000; m++) {
        int m2 = 2 * m;
        double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1 + aa * d;
        if (fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (fabs(c) < tiny) c = tiny;
        d = 1 / d;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < eps) break;
    }
    return h;
}

/* Stirling's remainder w(z) = lgamma(z) - [(z - 1/2) log z - z + log(2 pi) / 2], z >= 10 */
static double stirling_w(double z)
{
    double z2 = 1 / (z * z);
    return (1.0 / 12 - z2 * (1.0 / 360 - z2 * (1.0 / 1260 - z2 * (1.0 / 1680)))) / z;
}

/* log B(a, b) = lgamma(a) + lgamma(b) - lgamma(a + b). When the larger
 * argument is >= 10, lgamma(a) - lgamma(a + b) is formed from Stirling's
 * series as differences (log1p), not as the difference of two large numbers
 * that cancel (for the t distribution with dof = 10^6 the direct form loses
 * 9 digits). */
static double log_beta(double a, double b)
{
    if (a < b) {
        double t = a;
        a = b;
        b = t;
    }
    if (a < 10) return lgamma(a) + lgamma(b) - lgamma(a + b);
    /* lgamma(a + b) - lgamma(a) = (a - 1/2) log1p(b / a) + b log(a + b) - b + w(a + b) - w(a) */
    double d = (a - 0.5) * log1p(b / a) + b * log(a + b) - b + stirling_w(a + b) - stirling_w(a);
    return lgamma(b) - d;
}

/* I_x(a, b) with y = 1 - x given separately (exactly, where the caller can):
 * for x near 1, 1 - x rounded from x would lose the tail's digits */
static double betai_xy(double a, double b, double x, double y)
{
    if (x == 0) return 0;
    if (y == 0) return 1;
    /* x^a y^b / (a B(a, b)) in logs */
    /* log x near x = 1 from y (log1p), as x itself is rounded there */
    double lx = x > 0.5 ? log1p(-y) : log(x), ly = y > 0.5 ? log1p(-x) : log(y);
    double lbt = a * lx + b * ly - log_beta(a, b);
    if (x < (a + 1) / (a + b + 2)) return exp(lbt) * betacf(a, b, x) / a;
    return 1 - exp(lbt) * betacf(b, a, y) / b;
}

double ghm_stat_betai(double a, double b, double x)
{
    if (!(a > 0) || !(b > 0) || !(x >= 0) || !(x <= 1) || !isfinite(a) || !isfinite(b)) return NAN;
    return betai_xy(a, b, x, 1 - x);
}

double ghm_stat_t_p2(double t, double dof)
{
    if (isnan(t) || !(dof > 0) || !isfinite(dof)) return NAN;
    if (isinf(t)) return 0;
    if (t == 0) return 1;
    /* P(|T| >= |t|) = I_x(dof/2, 1/2) with x = dof / (dof + t^2) and
     * 1 - x = t^2 / (dof + t^2), both computed directly (no cancellation);
     * scaled by |t| so that large |t| does not overflow */
    double at = fabs(t), x, y;
    if (at * at > dof) {
        double r = dof / at / at; /* x = r / (1 + r), y = 1 / (1 + r) */
        x = r / (1 + r);
        y = 1 / (1 + r);
    } else {
        double q = at * at / dof; /* x = 1 / (1 + q), y = q / (1 + q) */
        x = 1 / (1 + q);
        y = q / (1 + q);
    }
    return betai_xy(dof / 2, 0.5, x, y);
}

double ghm_stat_t_cdf(double t, double dof)
{
    if (isnan(t) || !(dof > 0)) return NAN;
    if (t == INFINITY) return 1;
    if (t == -INFINITY) return 0;
    double tail = 0.5 * ghm_stat_t_p2(t, dof); /* P(T >= |t|) */
    return t < 0 ? tail : 1 - tail;
}

double ghm_stat_ttest_p(const double *d, int n)
{
    if (n < 2) return NAN;
    double m = ghm_stat_mean(d, n), s = ghm_stat_std(d, n);
    if (!isfinite(m) || !isfinite(s)) return NAN;
    if (s == 0) return m == 0 ? NAN : 0;
    return ghm_stat_t_p2(m / (s / sqrt((double)n)), n - 1);
}

/* ---- Wilcoxon signed-rank ---- */

double ghm_stat_wilcoxon(const double *d, int n)
{
    int m = 0;
    for (int i = 0; i < n; i++) m += d[i] != 0 && isfinite(d[i]);
    if (m == 0 || m > 1000) return NAN;
    double *a = malloc(sizeof(double) * (size_t)m);
    int *sign = malloc(sizeof(int) * (size_t)m), *r2 = malloc(sizeof(int) * (size_t)m);
    int *ord = malloc(sizeof(int) * (size_t)m);
    if (!a || !sign || !r2 || !ord) {
        free(a), free(sign), free(r2), free(ord);
        return NAN;
    }
    int k = 0;
    for (int i = 0; i < n; i++)
        if (d[i] != 0 && isfinite(d[i])) {
            a[k] = fabs(d[i]);
            sign[k] = d[i] > 0;
            k++;
        }
    /* doubled average ranks (integers): a tie group at positions i..j-1 (1-based
     * i+1..j) gets rank (i+1+j)/2, doubled i+1+j */
    for (int i = 0; i < m; i++) ord[i] = i;
    for (int i = 1; i < m; i++) { /* insertion sort by |d| (m is small) */
        int v = ord[i], j = i;
        while (j > 0 && a[ord[j - 1]] > a[v]) {
            ord[j] = ord[j - 1];
            j--;
        }
        ord[j] = v;
    }
    for (int i = 0; i < m;) {
        int j = i + 1;
        while (j < m && a[ord[j]] == a[ord[i]]) j++;
        for (int q = i; q < j; q++) r2[ord[q]] = i + 1 + j;
        i = j;
    }
    long total = 0, w = 0;
    for (int i = 0; i < m; i++) {
        total += r2[i];
        if (sign[i]) w += r2[i];
    }
    /* cnt[s]: sign assignments whose doubled positive rank sum is s, built one
     * rank at a time (the exact null distribution: every sign equally likely) */
    double *cnt = calloc((size_t)total + 1, sizeof(double));
    double p = NAN;
    if (cnt) {
        cnt[0] = 1;
        long reach = 0;
        for (int i = 0; i < m; i++) {
            for (long s = reach; s >= 0; s--)
                if (cnt[s] != 0) cnt[s + r2[i]] += cnt[s];
            reach += r2[i];
        }
        double all = ldexp(1.0, m), le = 0, ge = 0;
        for (long s = 0; s <= total; s++) {
            if (s <= w) le += cnt[s];
            if (s >= w) ge += cnt[s];
        }
        p = 2.0 * (le < ge ? le : ge) / all;
        if (p > 1) p = 1;
    }
    free(cnt);
    free(a), free(sign), free(r2), free(ord);
    return p;
}

/* ---- Holm ---- */

typedef struct {
    double p;
    int i;
} holm_item;

static int holm_cmp(const void *x, const void *y)
{
    const holm_item *a = x, *b = y;
    if (a->p < b->p) return -1;
    if (a->p > b->p) return 1;
    return a->i - b->i; /* stable: equal p keep their order */
}

int ghm_stat_holm(const double *p, int n, double *adj)
{
    holm_item *it = malloc(sizeof *it * ((size_t)n + 1));
    if (!it) return -1;
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(p[i])) it[m].p = p[i], it[m].i = i, m++;
    for (int i = 0; i < n; i++)
        if (!isfinite(p[i])) adj[i] = NAN;
    qsort(it, (size_t)m, sizeof *it, holm_cmp);
    double run = 0;
    for (int r = 0; r < m; r++) {
        double v = (double)(m - r) * it[r].p;
        if (v > 1) v = 1;
        if (v > run) run = v;
        adj[it[r].i] = run;
    }
    free(it);
    return 0;
}

/* ---- paired differences ---- */

void ghm_stat_paired(const double *a, const double *b, int n, int min_wilcoxon, ghm_paired *out)
{
    double *d = malloc(sizeof(double) * ((size_t)n + 1));
    int k = 0;
    for (int i = 0; d && i < n; i++)
        if (isfinite(a[i]) && isfinite(b[i])) d[k++] = a[i] - b[i];
    out->n = k;
    out->mean_diff = k ? ghm_stat_mean(d, k) : NAN;
    out->lo = out->hi = NAN;
    out->p_t = NAN;
    out->p_value = NAN;
    if (k >= 2) {
        double h = ghm_stat_ci95(d, k);
        out->lo = out->mean_diff - h;
        out->hi = out->mean_diff + h;
        out->p_t = ghm_stat_ttest_p(d, k);
    }
    if (k >= min_wilcoxon && k > 0) out->p_value = ghm_stat_wilcoxon(d, k);
    free(d);
}

/* ---- mean, standard deviation, 95% confidence intervals ---- */

double ghm_stat_mean(const double *x, int n)
{
    if (n <= 0) return NAN;
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i];
    return s / n;
}

double ghm_stat_std(const double *x, int n)
{
    if (n <= 0) return NAN;
    if (n == 1) return 0;
    double m = ghm_stat_mean(x, n), s = 0;
    for (int i = 0; i < n; i++) s += (x[i] - m) * (x[i] - m);
    return sqrt(s / (n - 1));
}

double ghm_stat_t975(int dof)
{
    /* Student t, two-sided 95% (0.975 quantile), dof 1..30 */
    static const double t[30] = {12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
                                 2.2010,  2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
                                 2.0796,  2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423};
    if (dof < 1) return NAN;
    if (dof <= 30) return t[dof - 1];
    /* beyond the table: the Cornish-Fisher expansion in 1/dof around the
     * normal quantile (Abramowitz & Stegun 26.7.5), within 1e-6 for dof > 30 */
    const double z = 1.959963984540054, z2 = z * z, v = dof;
    const double g1 = (z2 + 1) * z / 4, g2 = ((5 * z2 + 16) * z2 + 3) * z / 96,
                 g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384,
                 g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160;
    return z + (g1 + (g2 + (g3 + g4 / v) / v) / v) / v;
}

double ghm_stat_ci95(const double *x, int n)
{
    if (n <= 0) return NAN;
    if (n == 1) return 0;
    return ghm_stat_t975(n - 1) * ghm_stat_std(x, n) / sqrt((double)n);
}
