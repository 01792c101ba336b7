/* GHM-Loss: contrastive loss on a hybrid geometric + probabilistic distance
 * (this project's formulation; docs/ghm_loss.md has the derivations and proofs).
 *
 * For embeddings f_1..f_n in R^d with labels y_i:
 *   g_ij = sqrt(|f_i - f_j|^2 + eps)                     (ghm_loss_pdist, as contrastive)
 *   p_i  = softmax(f_i / tau)
 *   q_ij = sqrt(JS(p_i, p_j) / ln 2 + eps')              prob = js (default)
 *          JS(p, r) = 1/2 KL(p || m) + 1/2 KL(r || m),  m = (p + r) / 2   (natural log)
 *   q_ij = sqrt(1/2 |sqrt(p_i) - sqrt(p_j)|^2 + eps')    prob = hellinger
 *   h_ij = alpha g_ij + (1 - alpha) s q_ij              (s = prob_scale)
 *   L    = 1/|P| sum_{P} [h_ij - m_pos]_+^2 + 1/|N| sum_{N} [m_neg - h_ij]_+^2
 * over pairs i < j (P: same label, N: different label; an empty set gives 0).
 * alpha = 1 is exactly the contrastive loss (losses/contrastive.c), bit for bit in
 * value and gradient: same distances, same hinge arithmetic, same summation order.
 *
 * The JS distance sqrt(JS) is a metric on the simplex (Endres & Schindelin
 * 2003, "A new metric for probability distributions", IEEE Trans. Inf. Theory);
 * the Hellinger distance is (1/sqrt 2) times the L2 distance of sqrt(p).
 *
 * Gradients (accumulated in double, softmax in the log domain so that tiny p stay
 * exact; the geometric and probabilistic parts are each rounded to float and
 * added in float; g comes from a float Gram matrix, see losses/distance.c):
 *   dL/dh_ij  = 2 [h - m_pos]_+ / |P|   or  -2 [m_neg - h]_+ / |N|
 *   geometric: dL/dg = alpha dL/dh -> ghm_loss_pdist_backward
 *   js:        dq/dp_i,k = (1/2) ln(p_i,k / m_k) / (2 q ln 2)
 *   hellinger: dq/dr_i,k = (r_i,k - r_j,k) / (2 q),  r = sqrt(p)
 *   softmax:   dL/dz_l = p_l (gp_l - <p, gp>)  (js),  (1/2)(gr_l r_l - p_l <r, gr>)  (hellinger);
 *              z = f / tau, dL/df = dL/dz / tau.
 * Cost O(n^2 d) with one log per pair and coordinate for js; the probabilistic
 * part is skipped when alpha = 1, the geometric part when alpha = 0.
 */
#include "ghm_loss.h"

#include "loss.h"
#include "pair_util.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define LN2 0.69314718055994530942

static const char *const prob_choices[] = {"js", "hellinger", NULL};

static const ghm_param_spec params[] = {
    {"alpha", 0.5, 0.0, 1.0, "trade-off: 1 = geometric only (contrastive), 0 = probabilistic only", NULL, 0, 0, 0},
    {"tau", 0.1, 0.0, 100.0, "softmax temperature of the probabilistic embedding p = softmax(f / tau)", NULL, 0, 1, 0},
    {"prob", GHM_PROB_JS, 0, 0, "probabilistic distance: Jensen-Shannon distance or Hellinger distance",
     prob_choices, 0, 0, 0},
    {"prob_scale", 2.0, 0.0, 100.0, "scale s of the probabilistic distance (q is in [0, 1])", NULL, 0, 0, 0},
    {"pos_margin", 0.0, 0.0, 100.0, "positive pairs are pulled in to this hybrid distance", NULL, 0, 0, 0},
    {"neg_margin", 1.0, 0.0, 100.0, "negative pairs are pushed out to this hybrid distance", NULL, 0, 0, 0},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0}};

typedef struct {
    double alpha, tau, s, pos_margin, neg_margin;
    int prob;
} ghm_impl;

/* Log-softmax of z = f / tau: lp (d) = z - logsumexp(z), p (d) = exp(lp). */
static void log_softmax_row(const float *f, int d, double tau, double *lp, double *p)
{
    double mx = -INFINITY;
    for (int k = 0; k < d; k++) {
        lp[k] = (double)f[k] / tau;
        if (lp[k] > mx) mx = lp[k];
    }
    double s = 0.0;
    for (int k = 0; k < d; k++) s += exp(lp[k] - mx);
    double lse = mx + log(s);
    for (int k = 0; k < d; k++) {
        lp[k] -= lse;
        p[k] = exp(lp[k]);
    }
}

/* sum_k p_k ln p_k (p_k = 0 contributes 0 since lp is finite). */
static double neg_entropy(const double *lp, const double *p, int d)
{
    double s = 0.0;
    for (int k = 0; k < d; k++) s += p[k] * lp[k];
    return s;
}

/* Natural log of a positive normal double, branch-free so that loops over it
 * vectorise (glibc's log does not without -ffast-math): x = 2^e f with
 * f in [sqrt(1/2), sqrt(2)), ln f = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...),
 * s = (f - 1)/(f + 1), |s| <= 0.172; 12 terms leave a truncation below
 * 1e-18 (s^25/25), so the result is within a few ulp of log(x). */
static inline double fast_log(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    int64_t e = (int64_t)(u >> 52) - 1023;
    u = (u & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull; /* f in [1, 2) */
    double f;
    memcpy(&f, &u, sizeof f);
    const int big = f > 1.4142135623730951;
    f = big ? 0.5 * f : f;
    e += big;
    const double s = (f - 1.0) / (f + 1.0), z = s * s;
    double p = 1.0 / 25;
    p = p * z + 1.0 / 23;
    p = p * z + 1.0 / 21;
    p = p * z + 1.0 / 19;
    p = p * z + 1.0 / 17;
    p = p * z + 1.0 / 15;
    p = p * z + 1.0 / 13;
    p = p * z + 1.0 / 11;
    p = p * z + 1.0 / 9;
    p = p * z + 1.0 / 7;
    p = p * z + 1.0 / 5;
    p = p * z + 1.0 / 3;
    const double ed = (double)e;
    /* ln 2 split in a high part exact in 32 bits times e and the rest */
    return ed * 6.93147180369123816490e-01 + (2.0 * s + (2.0 * s * z * p + ed * 1.90821492927058770002e-10));
}

/* JS(p_i, p_j) in nats (>= 0); lm (d) receives ln m_k, m = (p_i + p_j) / 2. */
static double js_div(const double *lpi, const double *pi, double ni, const double *lpj, const double *pj,
                     double nj, int d, double *lm)
{
    for (int k = 0; k < d; k++) lm[k] = fast_log(0.5 * (pi[k] + pj[k])); /* vectorised */
    double smm = 0.0;
    for (int k = 0; k < d; k++) {
        double m = 0.5 * (pi[k] + pj[k]);
        if (!(m > 1e-300)) { /* tiny or both underflowed: ln m = logaddexp(lp_i, lp_j) - ln 2 */
            double a = lpi[k] > lpj[k] ? lpi[k] : lpj[k], b = lpi[k] > lpj[k] ? lpj[k] : lpi[k];
            lm[k] = a + log1p(exp(b - a)) - LN2;
        }
        smm += m * lm[k];
    }
    double js = 0.5 * (ni + nj) - smm;
    return js > 0.0 ? js : 0.0;
}

/* Squared Hellinger distance 1/2 |r_i - r_j|^2 (no eps). */
static double hel_sq(const double *ri, const double *rj, int d)
{
    double s = 0.0;
    for (int k = 0; k < d; k++) {
        double t = ri[k] - rj[k];
        s += t * t;
    }
    return 0.5 * s;
}

static int create(ghm_loss *l, ghm_rng *rng, ghm_error *err)
{
    (void)rng;
    ghm_impl *c = malloc(sizeof *c);
    if (!c) return ghm_error_set(err, GHM_ENOMEM, "loss 'ghm': out of memory");
    c->alpha = ghm_loss_param(l, "alpha");
    c->tau = ghm_loss_param(l, "tau");
    c->prob = (int)ghm_loss_param(l, "prob");
    c->s = ghm_loss_param(l, "prob_scale");
    c->pos_margin = ghm_loss_param(l, "pos_margin");
    c->neg_margin = ghm_loss_param(l, "neg_margin");
    l->impl = c;
    return 0;
}

static void destroy(ghm_loss *l) { free(l->impl); }

/* One batch's work: the loss's parameters as the pair loop uses them and the buffers (NULL when unused). */
typedef struct {
    const ghm_impl *c;
    int n, d, T;                  /* batch, dimension, threads of the pair loop */
    double alpha, ps;             /* h = alpha g + ps q */
    int use_geo, use_prob, js;    /* alpha > 0, alpha < 1, prob = js */
    long n_pos, n_neg;            /* positive / negative pairs */
    double *D, *G;                /* (n, n) distances, dL/dg (geometric part) */
    double *LP, *P, *R, *GP, *NE; /* (n, d) log p, p, sqrt(p) (hellinger), dL/dp or dL/dr; (n) neg. entropy */
    double *lm;                   /* (T, d) ln m per thread (js) */
    double *RS;                   /* (2, n) per-row positive / negative sums */
    double *GPT;                  /* (T-1, n, d) gradient rows of threads 1.. */
} ghm_work;

static void work_free(ghm_work *w)
{
    free(w->D);
    free(w->G);
    free(w->LP);
    free(w->P);
    free(w->R);
    free(w->GP);
    free(w->NE);
    free(w->lm);
    free(w->RS);
    free(w->GPT);
}

/* Allocate w's buffers and compute what the pairs share: the distance matrix (geometric part), log p, p and
 * the negative entropies (js) or sqrt(p) (hellinger) of every row. Returns 0, GHM_ENOMEM (-> caller's
 * message) as 1, or a negative error of ghm_loss_pdist. */
static int work_prepare(ghm_work *w, const float *emb, int want_grad, ghm_error *err)
{
    const int n = w->n, d = w->d;
    size_t nn = (size_t)n * n, nd = (size_t)n * d;
    if (w->use_geo) {
        w->D = ghm_lm_dalloc(nn); /* (n, n) distances */
        w->G = ghm_lm_dalloc(nn); /* (n, n) dL/dg */
        if (!w->D || !w->G) return 1;
        int rc = ghm_loss_pdist(emb, n, d, w->D, err);
        if (rc) return rc;
    }
    w->T = 1; /* threads for the pair loop (only the probabilistic part is costly) */
#ifdef _OPENMP
    if (w->use_prob && (double)n * n * d >= 2e5) w->T = omp_get_max_threads();
#endif
    if (w->use_prob) {
        w->LP = ghm_lm_dalloc(nd); /* (n, d) log p */
        w->P = ghm_lm_dalloc(nd);  /* (n, d) p */
        w->GP = ghm_lm_dalloc(nd); /* (n, d) dL/dp (js) or dL/dr (hellinger) */
        w->NE = ghm_lm_dalloc((size_t)n);
        w->lm = ghm_lm_dalloc((size_t)w->T * d); /* (T, d) ln m per thread */
        if (!w->LP || !w->P || !w->GP || !w->NE || !w->lm) return 1;
        if (!w->js && !(w->R = ghm_lm_dalloc(nd))) return 1; /* (n, d) sqrt(p) */
        for (int i = 0; i < n; i++) {
            double *lpi = w->LP + (size_t)i * d, *pi = w->P + (size_t)i * d;
            log_softmax_row(emb + (size_t)i * d, d, w->c->tau, lpi, pi);
            if (w->js)
                w->NE[i] = neg_entropy(lpi, pi, d);
            else
                for (int k = 0; k < d; k++) w->R[(size_t)i * d + k] = exp(0.5 * lpi[k]);
        }
    }
    w->RS = ghm_lm_dalloc((size_t)2 * n); /* (2, n) per-row positive / negative sums */
    if (!w->RS) return 1;
    if (w->use_prob) {
        if (w->T > 1 && want_grad && !(w->GPT = ghm_lm_dalloc((size_t)(w->T - 1) * nd))) return 1; /* (T-1, n, d) */
    }
    return 0;
}

/* The probabilistic distance q of the pair (i, j); lmt: the thread's ln m buffer (js). */
static double pair_q(const ghm_work *w, int i, int j, double *lmt)
{
    const int d = w->d;
    if (w->js)
        return sqrt(js_div(w->LP + (size_t)i * d, w->P + (size_t)i * d, w->NE[i], w->LP + (size_t)j * d,
                           w->P + (size_t)j * d, w->NE[j], d, lmt) / LN2 +
                    GHM_PROB_EPS);
    return sqrt(hel_sq(w->R + (size_t)i * d, w->R + (size_t)j * d, d) + GHM_PROB_EPS);
}

/* Add dq (= ps dL/dh of the pair (i, j) at distance q) through q to the rows i and j of gpt: dL/dp (js,
 * with lmt the ln m pair_q left) or dL/dr (hellinger). */
static void pair_prob_grad(const ghm_work *w, int i, int j, double q, double dq, const double *lmt, double *gpt)
{
    const int d = w->d;
    double *gi = gpt + (size_t)i * d, *gj = gpt + (size_t)j * d;
    if (w->js) {
        /* dq/dJS = 1 / (2 q ln 2); dJS/dp_i,k = (1/2)(ln p_i,k - ln m_k) */
        double wt = dq / (2.0 * q * LN2) * 0.5;
        const double *lpi = w->LP + (size_t)i * d, *lpj = w->LP + (size_t)j * d;
        for (int k = 0; k < d; k++) {
            gi[k] += wt * (lpi[k] - lmt[k]);
            gj[k] += wt * (lpj[k] - lmt[k]);
        }
    } else {
        /* q^2 = 1/2 |r_i - r_j|^2 + eps: dq/dr_i = (r_i - r_j) / (2 q) */
        double wt = dq / (2.0 * q);
        const double *ri = w->R + (size_t)i * d, *rj = w->R + (size_t)j * d;
        for (int k = 0; k < d; k++) {
            double tt = wt * (ri[k] - rj[k]);
            gi[k] += tt;
            gj[k] -= tt;
        }
    }
}

/* The pairs (i, j > i) of row i: its positive and negative sums into RS, dL/dg into G, and (with grad)
 * dL/dp or dL/dr into gpt. */
static void pair_row(ghm_work *w, const int *labels, int i, int want_grad, double *gpt, double *lmt)
{
    const ghm_impl *c = w->c;
    const int n = w->n;
    double spi = 0.0, sni = 0.0;
    for (int j = i + 1; j < n; j++) {
        double h = 0.0, q = 0.0;
        if (w->use_geo) h = w->alpha * w->D[(size_t)i * n + j];
        if (w->use_prob) {
            q = pair_q(w, i, j, lmt);
            h += w->ps * q;
        }
        double dh = 0.0; /* dL/dh_ij */
        if (labels[i] == labels[j]) {
            double tt = h - c->pos_margin;
            if (tt > 0) {
                spi += tt * tt;
                dh = 2.0 * tt / (double)w->n_pos;
            }
        } else {
            double tt = c->neg_margin - h;
            if (tt > 0) {
                sni += tt * tt;
                dh = -2.0 * tt / (double)w->n_neg;
            }
        }
        if (dh == 0.0 || !want_grad) continue;
        if (w->use_geo) w->G[(size_t)i * n + j] = w->alpha * dh;
        if (w->use_prob && w->ps != 0.0) pair_prob_grad(w, i, j, q, w->ps * dh, lmt, gpt);
    }
    w->RS[i] = spi;
    w->RS[n + i] = sni;
}

/* Every pair, rows dealt round-robin to the threads (balanced and fixed). Loss sums are kept per row and
 * added in row order, so the loss does not depend on the thread count; gradient rows go to per-thread
 * buffers (GP for thread 0) added in thread order: deterministic for a fixed thread count. Returns the
 * loss. */
static double pair_loop(ghm_work *w, const int *labels, int want_grad)
{
    const int n = w->n, d = w->d, T = w->T;
    const size_t nd = (size_t)n * d;
#pragma omp parallel num_threads(T) if (T > 1)
    {
#ifdef _OPENMP
        const int t = omp_get_thread_num();
#else
        const int t = 0;
#endif
        double *gpt = t == 0 ? w->GP : (w->GPT ? w->GPT + (size_t)(t - 1) * nd : NULL);
        double *lmt = w->lm ? w->lm + (size_t)t * d : NULL;
#pragma omp for schedule(static, 1)
        for (int i = 0; i < n; i++) pair_row(w, labels, i, want_grad, gpt, lmt);
    }
    double sp = 0.0, sn = 0.0;
    for (int i = 0; i < n; i++) {
        sp += w->RS[i];
        sn += w->RS[n + i];
    }
    if (w->GPT)
        for (int t = 1; t < T; t++) {
            const double *g = w->GPT + (size_t)(t - 1) * nd;
            for (size_t k = 0; k < nd; k++) w->GP[k] += g[k];
        }
    return (w->n_pos ? sp / (double)w->n_pos : 0.0) + (w->n_neg ? sn / (double)w->n_neg : 0.0);
}

/* grad += dL/dp (js) or dL/dr (hellinger) through r = sqrt(p) and the softmax Jacobian
 * (diag(p) - p p^T) / tau. */
static void prob_backward(const ghm_work *w, float *grad)
{
    const int n = w->n, d = w->d;
    const double tau = w->c->tau;
    for (int i = 0; i < n; i++) {
        const double *pi = w->P + (size_t)i * d, *gpi = w->GP + (size_t)i * d;
        float *gf = grad + (size_t)i * d;
        double dot = 0.0;
        if (w->js) {
            for (int k = 0; k < d; k++) dot += pi[k] * gpi[k];
            for (int k = 0; k < d; k++) gf[k] += (float)(pi[k] * (gpi[k] - dot) / tau);
        } else {
            const double *ri = w->R + (size_t)i * d;
            for (int k = 0; k < d; k++) dot += ri[k] * gpi[k];
            for (int k = 0; k < d; k++) gf[k] += (float)(0.5 * (gpi[k] * ri[k] - pi[k] * dot) / tau);
        }
    }
}

static int forward_backward(ghm_loss *l, const float *emb, const int *labels, int n, int d, double *value,
                            float *grad, ghm_error *err)
{
    const ghm_impl *c = l->impl;
    ghm_work w = {0};
    w.c = c;
    w.n = n;
    w.d = d;
    w.alpha = c->alpha;
    w.ps = (1.0 - c->alpha) * c->s;
    w.use_geo = c->alpha > 0.0;
    w.use_prob = c->alpha < 1.0;
    w.js = c->prob == GHM_PROB_JS;
    ghm_pu_count_pairs(labels, n, &w.n_pos, &w.n_neg);
    if (grad) memset(grad, 0, (size_t)n * d * sizeof *grad);
    *value = 0.0;
    if (w.n_pos + w.n_neg == 0) return 0;

    int rc = work_prepare(&w, emb, grad != NULL, err);
    if (rc == 0) {
        *value = pair_loop(&w, labels, grad != NULL);
        if (grad && w.use_geo) ghm_loss_pdist_backward(emb, n, d, w.D, w.G, grad);
        if (grad && w.use_prob) prob_backward(&w, grad);
    } else if (rc > 0) {
        rc = ghm_error_set(err, GHM_ENOMEM, "loss 'ghm': out of memory (batch %d x %d)", n, d);
    }
    work_free(&w);
    return rc;
}

double ghm_prob_distance(const float *a, const float *b, int d, double tau, int prob)
{
    double *w = malloc((size_t)5 * (d > 0 ? d : 1) * sizeof *w);
    if (!w || d <= 0) {
        free(w);
        return NAN;
    }
    double *lpa = w, *pa = w + d, *lpb = w + 2 * d, *pb = w + 3 * d;
    log_softmax_row(a, d, tau, lpa, pa);
    log_softmax_row(b, d, tau, lpb, pb);
    double q;
    if (prob == GHM_PROB_JS) {
        double js = js_div(lpa, pa, neg_entropy(lpa, pa, d), lpb, pb, neg_entropy(lpb, pb, d), d, w + 4 * d);
        q = sqrt(js / LN2 + GHM_PROB_EPS);
    } else {
        for (int k = 0; k < d; k++) {
            pa[k] = exp(0.5 * lpa[k]);
            pb[k] = exp(0.5 * lpb[k]);
        }
        q = sqrt(hel_sq(pa, pb, d) + GHM_PROB_EPS);
    }
    free(w);
    return q;
}

double ghm_hybrid_distance(const float *a, const float *b, int d, double alpha, double tau, int prob, double s)
{
    double h = 0.0;
    if (alpha > 0.0) {
        double ss = 0.0;
        for (int k = 0; k < d; k++) {
            double t = (double)a[k] - b[k];
            ss += t * t;
        }
        h = alpha * sqrt(ss + GHM_DIST_EPS);
    }
    if (alpha < 1.0) h += (1.0 - alpha) * s * ghm_prob_distance(a, b, d, tau, prob);
    return h;
}

const ghm_loss_ops ghm_loss_ghm = {
    "ghm", "GHM-Loss: contrastive loss on a hybrid Euclidean + Jensen-Shannon/Hellinger distance (this project)",
    params, create, forward_backward, NULL, destroy, 0, NULL};
