/* NMI and AMI between two labelings, matching scikit-learn
 * (normalized_mutual_info_score / adjusted_mutual_info_score with
 * average_method="arithmetic", natural logarithms):
 *   MI  = sum_ij n_ij/N log(N n_ij / (a_i b_j))
 *   H   = -sum_i a_i/N log(a_i/N)
 *   NMI = MI / ((H(a) + H(b)) / 2)
 *   AMI = (MI - E[MI]) / ((H(a) + H(b)) / 2 - E[MI])
 * E[MI] under the permutation (hypergeometric) model, Vinh, Epps & Bailey 2010:
 *   sum_ij sum_{nij=max(1, a_i+b_j-N)}^{min(a_i, b_j)} nij/N log(N nij/(a_i b_j))
 *      * a_i! b_j! (N-a_i)! (N-b_j)! / (N! nij! (a_i-nij)! (b_j-nij)! (N-a_i-b_j+nij)!)
 * with the factorials through lgamma. Special cases as in scikit-learn: both
 * labelings with a single cluster (or empty) -> 1; NMI with MI == 0 -> 0.
 * The contingency table is built sparsely (sort of label pairs), so thousands
 * of classes cost O(N log N) memory-light work.
 */
#include "eval.h"
#include "eval_internal.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

typedef struct nmi_pair {
    int a, b;
} nmi_pair;

static int cmp_int(const void *x, const void *y)
{
    int a = *(const int *)x, b = *(const int *)y;
    return (a > b) - (a < b);
}

static int cmp_pair(const void *x, const void *y)
{
    const nmi_pair *p = x, *q = y;
    if (p->a != q->a) return (p->a > q->a) - (p->a < q->a);
    return (p->b > q->b) - (p->b < q->b);
}

int ghm_eval_densify(const int *lab, int n, int *out, int **counts)
{
    int *s = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    if (!s) return -1;
    for (int i = 0; i < n; i++) s[i] = lab[i];
    qsort(s, (size_t)n, sizeof(int), cmp_int);
    int c = 0;
    for (int i = 0; i < n; i++)
        if (i == 0 || s[i] != s[i - 1]) s[c++] = s[i];
    int *cnt = calloc((size_t)(c > 0 ? c : 1), sizeof(int));
    if (!cnt) {
        free(s);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        int lo = 0, hi = c - 1;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (s[mid] < lab[i])
                lo = mid + 1;
            else
                hi = mid;
        }
        out[i] = lo;
        cnt[lo]++;
    }
    free(s);
    *counts = cnt;
    return c;
}

static double entropy(const int *cnt, int c, int n)
{
    double h = 0.0;
    for (int i = 0; i < c; i++)
        if (cnt[i] > 0) {
            double p = (double)cnt[i] / n;
            h -= p * log(p);
        }
    return h;
}

typedef struct nmi_parts {
    int ok;
    int ca, cb;     /* numbers of clusters */
    int *na, *nb;   /* (ca), (cb) marginals */
    double mi, ha, hb;
} nmi_parts;

static nmi_parts parts(const int *a, const int *b, int n)
{
    nmi_parts p = {0, 0, 0, NULL, NULL, 0.0, 0.0, 0.0};
    int *da = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    int *db = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    nmi_pair *pr = malloc(sizeof(nmi_pair) * (size_t)(n > 0 ? n : 1));
    if (!da || !db || !pr) goto out;
    p.ca = ghm_eval_densify(a, n, da, &p.na);
    if (p.ca < 0) goto out;
    p.cb = ghm_eval_densify(b, n, db, &p.nb);
    if (p.cb < 0) goto out;
    for (int i = 0; i < n; i++) {
        pr[i].a = da[i];
        pr[i].b = db[i];
    }
    qsort(pr, (size_t)n, sizeof *pr, cmp_pair);
    double mi = 0.0;
    for (int i = 0; i < n;) {
        int j = i;
        while (j < n && pr[j].a == pr[i].a && pr[j].b == pr[i].b) j++;
        double nij = j - i;
        mi += nij / n * (log(nij) + log((double)n) - log((double)p.na[pr[i].a]) - log((double)p.nb[pr[i].b]));
        i = j;
    }
    p.mi = mi > 0.0 ? mi : 0.0; /* clip rounding below zero, as sklearn does */
    p.ha = entropy(p.na, p.ca, n);
    p.hb = entropy(p.nb, p.cb, n);
    p.ok = 1;
out:
    free(da);
    free(db);
    free(pr);
    return p;
}

static void parts_free(nmi_parts *p)
{
    free(p->na);
    free(p->nb);
}

double ghm_nmi(const int *a, const int *b, int n)
{
    if (n <= 0) return 1.0;
    nmi_parts p = parts(a, b, n);
    double r;
    if (!p.ok)
        r = NAN;
    else if (p.ca == 1 && p.cb == 1)
        r = 1.0;
    else if (p.mi == 0.0)
        r = 0.0;
    else
        r = p.mi / (0.5 * (p.ha + p.hb));
    parts_free(&p);
    return r;
}

/* Expected MI under the hypergeometric model. gln[x] = lgamma(x + 1). */
static double emi(const int *na, int ca, const int *nb, int cb, int n, const double *gln)
{
    double N = n, e = 0.0;
    for (int i = 0; i < ca; i++) {
        int ai = na[i];
        for (int j = 0; j < cb; j++) {
            int bj = nb[j];
            int lo = ai + bj - n;
            if (lo < 1) lo = 1;
            int hi = ai < bj ? ai : bj;
            double base = gln[ai] + gln[bj] + gln[n - ai] + gln[n - bj] - gln[n];
            double lab = log((double)ai) + log((double)bj);
            for (int k = lo; k <= hi; k++) {
                double t1 = k / N;
                double t2 = log(N * k) - lab;
                double lp = base - gln[k] - gln[ai - k] - gln[bj - k] - gln[n - ai - bj + k];
                e += t1 * t2 * exp(lp);
            }
        }
    }
    return e;
}

double ghm_ami(const int *a, const int *b, int n)
{
    if (n <= 0) return 1.0;
    nmi_parts p = parts(a, b, n);
    double r = NAN;
    double *gln = NULL;
    if (!p.ok) goto out;
    if (p.ca == 1 && p.cb == 1) {
        r = 1.0;
        goto out;
    }
    gln = malloc(sizeof(double) * ((size_t)n + 1));
    if (!gln) goto out;
    for (int x = 0; x <= n; x++) gln[x] = lgamma((double)x + 1.0);
    double e = emi(p.na, p.ca, p.nb, p.cb, n, gln);
    double norm = 0.5 * (p.ha + p.hb);
    double den = norm - e;
    /* as sklearn: keep the sign, avoid 0/0 for a perfect match */
    if (den < 0.0)
        den = den < -DBL_EPSILON ? den : -DBL_EPSILON;
    else
        den = den > DBL_EPSILON ? den : DBL_EPSILON;
    r = (p.mi - e) / den;
out:
    free(gln);
    parts_free(&p);
    return r;
}
