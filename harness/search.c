/* Trial proposals: random search and the tree-structured Parzen estimator
 * (TPE, Bergstra, Bardenet, Bengio & Kegl, NeurIPS 2011), and the dynamic plan
 * of a search file (see search.h).
 *
 * TPE, as implemented here (independent per dimension, as in hyperopt's
 * default): the n earlier trials are ranked by objective (failed trials
 * last); the best max(1, ceil(n / 4)) form the "good" set, the rest the "bad"
 * set. Each set gives a density over the dimension: for a range, a mixture of
 * Gaussians in the searched scale (log for log ranges) with one component per
 * point plus a wide prior component at the centre (sigma = the range), each
 * point's sigma the larger gap to its neighbours, clipped to
 * [range / min(100, n + 1), range], truncated to the range; for choices,
 * counts plus one pseudo-count per choice. 24 candidates are drawn from the
 * good density and the one with the largest good/bad density ratio (the
 * expected-improvement criterion of the paper) is proposed.
 */
#include "search.h"

#include "config_internal.h"
#include "record.h"

#include "../core/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TPE_CANDIDATES 24
#define TPE_MAX_OBS 4096

int ghm_search_n_startup(const ghm_search_config *s)
{
    int n = s->trials / 3;
    if (n > 10) n = 10;
    if (n < 2) n = 2;
    return n;
}

int ghm_search_depends_on(const ghm_search_config *s, int trial)
{
    if (s->method == GHM_SEARCH_RANDOM) return 0;
    int b = s->batch > 0 ? s->batch : 1;
    int dep = (trial / b) * b;
    return dep < ghm_search_n_startup(s) ? 0 : dep;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

uint64_t ghm_search_key(const ghm_search_config *s, int loss_entry, const char *loss_name)
{
    uint64_t h = 14695981039346656037ULL;
    for (const char *p = loss_name; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 1099511628211ULL;
    }
    return mix64(h ^ mix64(s->seed + 0x9e3779b97f4a7c15ULL * (uint64_t)(loss_entry + 1)));
}

/* searched scale of a range: log for log ranges */
static double to_u(const ghm_search_dim *d, double x) { return d->log ? log(x) : x; }
static double from_u(const ghm_search_dim *d, double u)
{
    double x = d->log ? exp(u) : u;
    if (x < d->lo) x = d->lo;
    if (x > d->hi) x = d->hi;
    if (d->is_int) {
        x = floor(x + 0.5);
        if (x < d->lo) x = ceil(d->lo);
        if (x > d->hi) x = floor(d->hi);
    }
    return x;
}

static double sample_uniform(const ghm_search_dim *d, ghm_rng *r)
{
    if (d->kind == GHM_DIM_CHOICES) return (double)ghm_rng_below(r, (uint32_t)d->n_choices);
    double a = to_u(d, d->lo), b = to_u(d, d->hi);
    if (d->is_int && !d->log) { /* every integer equally likely */
        double lo = ceil(d->lo), n = floor(d->hi) - lo + 1;
        double k = floor(ghm_rng_uniform(r) * n);
        if (k >= n) k = n - 1;
        return lo + k;
    }
    return from_u(d, a + (b - a) * ghm_rng_uniform(r));
}

/* ---- Parzen estimators ---- */

typedef struct parzen {
    int n;              /* components (points + prior) */
    double *mu, *sigma; /* (n) */
    double a, b;        /* the range in the searched scale */
} parzen;

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* pts (m, searched scale) -> estimator; buffers of size m + 1 */
static void parzen_fit(parzen *p, const double *pts, int m, double a, double b, double *mu, double *sigma)
{
    p->a = a;
    p->b = b;
    p->mu = mu;
    p->sigma = sigma;
    double range = b - a > 0 ? b - a : 1.0;
    for (int i = 0; i < m; i++) mu[i] = pts[i];
    mu[m] = 0.5 * (a + b); /* the prior */
    p->n = m + 1;
    qsort(mu, (size_t)p->n, sizeof(double), cmp_double);
    double lo_clip = range / (m + 1 < 100 ? m + 1 : 100), hi_clip = range;
    int prior_done = 0;
    for (int i = 0; i < p->n; i++) {
        double left = i > 0 ? mu[i] - mu[i - 1] : mu[i] - a;
        double right = i + 1 < p->n ? mu[i + 1] - mu[i] : b - mu[i];
        double s = left > right ? left : right;
        if (s < lo_clip) s = lo_clip;
        if (s > hi_clip) s = hi_clip;
        sigma[i] = s;
        if (!prior_done && mu[i] == 0.5 * (a + b)) {
            sigma[i] = range; /* the prior component is wide */
            prior_done = 1;
        }
    }
}

static double norm_cdf(double z) { return 0.5 * erfc(-z / sqrt(2.0)); }

/* log density (truncated to [a, b]) */
static double parzen_logpdf(const parzen *p, double u)
{
    double s = 0;
    for (int i = 0; i < p->n; i++) {
        double z = (u - p->mu[i]) / p->sigma[i];
        double mass = norm_cdf((p->b - p->mu[i]) / p->sigma[i]) - norm_cdf((p->a - p->mu[i]) / p->sigma[i]);
        if (mass < 1e-12) mass = 1e-12;
        s += exp(-0.5 * z * z) / (p->sigma[i] * sqrt(2 * M_PI) * mass);
    }
    s /= p->n;
    return log(s > 1e-300 ? s : 1e-300);
}

static double parzen_sample(const parzen *p, ghm_rng *r)
{
    int i = (int)ghm_rng_below(r, (uint32_t)p->n);
    for (int tries = 0; tries < 64; tries++) {
        double u = p->mu[i] + p->sigma[i] * ghm_rng_normal(r);
        if (u >= p->a && u <= p->b) return u;
    }
    double u = p->mu[i];
    return u < p->a ? p->a : u > p->b ? p->b : u;
}

typedef struct ranked {
    double y;
    int i;
} ranked;

static int cmp_ranked(const void *x, const void *y)
{
    const ranked *a = x, *b = y;
    int an = isnan(a->y), bn = isnan(b->y);
    if (an != bn) return an - bn;      /* failed trials last */
    if (!an && a->y != b->y) return a->y < b->y ? 1 : -1; /* larger objective first */
    return (a->i > b->i) - (a->i < b->i);
}

static void tpe_dim(const ghm_search_dim *d, int j, int nd, const double *obs_x, const ranked *rk, int n, int n_good,
                    ghm_rng *r, double *x_out, double *buf)
{
    if (d->kind == GHM_DIM_CHOICES) {
        int K = d->n_choices;
        double good[GHM_SEARCH_MAX_CHOICES], bad[GHM_SEARCH_MAX_CHOICES];
        for (int k = 0; k < K; k++) good[k] = bad[k] = 1.0;
        for (int t = 0; t < n; t++) {
            int k = (int)obs_x[(size_t)rk[t].i * nd + j];
            if (k < 0 || k >= K) continue;
            if (t < n_good) good[k] += 1;
            else bad[k] += 1;
        }
        double sg = 0, sb = 0;
        for (int k = 0; k < K; k++) sg += good[k], sb += bad[k];
        double best = -INFINITY;
        int arg = 0;
        for (int c = 0; c < TPE_CANDIDATES; c++) {
            double u = ghm_rng_uniform(r) * sg, acc = 0;
            int k = 0;
            for (; k < K - 1; k++) {
                acc += good[k];
                if (u < acc) break;
            }
            double score = log(good[k] / sg) - log(bad[k] / sb);
            if (score > best) best = score, arg = k;
        }
        *x_out = arg;
        return;
    }
    double a = to_u(d, d->lo), b = to_u(d, d->hi);
    if (!(b > a)) {
        *x_out = d->lo;
        return;
    }
    /* buf: 6 * (n + 1) doubles */
    double *gp = buf, *bp = buf + (n + 1), *gm = buf + 2 * (n + 1), *gs = buf + 3 * (n + 1), *bm = buf + 4 * (n + 1),
           *bs = buf + 5 * (n + 1);
    int ng = 0, nb = 0;
    for (int t = 0; t < n; t++) {
        double u = to_u(d, obs_x[(size_t)rk[t].i * nd + j]);
        if (t < n_good) gp[ng++] = u;
        else bp[nb++] = u;
    }
    parzen g, l;
    parzen_fit(&l, gp, ng, a, b, gm, gs);
    parzen_fit(&g, bp, nb, a, b, bm, bs);
    double best = -INFINITY, arg = 0.5 * (a + b);
    for (int c = 0; c < TPE_CANDIDATES; c++) {
        double u = parzen_sample(&l, r);
        double score = parzen_logpdf(&l, u) - parzen_logpdf(&g, u);
        if (score > best) best = score, arg = u;
    }
    *x_out = from_u(d, arg);
}

void ghm_search_propose(const ghm_search_config *s, const ghm_search_space *sp, uint64_t key, int trial,
                        const double *obs_x, const double *obs_y, int n_obs, double *x_out)
{
    ghm_rng r;
    ghm_rng_seed(&r, mix64(key + 0x632be59bd9b4e019ULL * (uint64_t)(trial + 1)), GHM_STREAM_USER + 7);
    int tpe = s->method == GHM_SEARCH_TPE && n_obs >= ghm_search_n_startup(s) && n_obs > 0;
    if (n_obs > TPE_MAX_OBS) n_obs = TPE_MAX_OBS;
    ranked *rk = tpe ? malloc(sizeof(ranked) * (size_t)n_obs) : NULL;
    double *buf = tpe ? malloc(sizeof(double) * 6 * ((size_t)n_obs + 1)) : NULL;
    if (tpe && (!rk || !buf)) tpe = 0; /* out of memory: fall back to random, still deterministic */
    if (!tpe) {
        for (int j = 0; j < sp->n; j++) x_out[j] = sample_uniform(&sp->dims[j], &r);
        free(rk);
        free(buf);
        return;
    }
    for (int t = 0; t < n_obs; t++) rk[t] = (ranked){obs_y[t], t};
    qsort(rk, (size_t)n_obs, sizeof *rk, cmp_ranked);
    int n_good = (int)ceil(0.25 * n_obs);
    if (n_good < 1) n_good = 1;
    for (int j = 0; j < sp->n; j++) tpe_dim(&sp->dims[j], j, sp->n, obs_x, rk, n_obs, n_good, &r, &x_out[j], buf);
    free(rk);
    free(buf);
}
