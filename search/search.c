/* Trial proposals: random search and the tree-structured Parzen estimator
 * (TPE, Bergstra, Bardenet, Bengio & Kegl, NeurIPS 2011), and the dynamic plan
 * of a search file (see search.h).
 *
 * TPE, as implemented here, is tuned for the small budgets of the studies
 * (6 to 20 trials, in batches); `ghm bench search` measures it against random
 * search on known objectives (docs/search.md has the table):
 *
 * - Start-up: the first ceil(trials / 3) trials, at least 5 and at most 10,
 *   rounded up to whole batches (never more than the trials), form a Latin
 *   hypercube: each range is cut into that many equal strata in its searched
 *   scale (log for log ranges) and every start-up trial takes its own stratum
 *   in every dimension (a permutation fixed by the loss entry), at a uniform
 *   position inside it; choices are dealt out in turn. With fewer points a
 *   fitted model is worse than more random points (measured: at 6 trials in
 *   batches of 2, two start-up trials gave TPE almost twice random's regret).
 * - Model (independent per dimension, as in hyperopt's default): the n
 *   earlier trials are ranked by objective (failed trials last); the best
 *   max(1, ceil(n / 4)) form the "good" set, the rest the "bad" set. Each set
 *   gives a density per dimension: for a range, a mixture of Gaussians in the
 *   searched scale with one component per point plus a wide prior component
 *   at the centre (sigma = the range), each point's sigma the larger gap to
 *   its neighbours, clipped to [range / min(100, n + 1), range], truncated to
 *   the range; for choices, counts plus one pseudo-count per choice.
 * - Candidates: n of them (at least 4, at most 24) drawn from the good
 *   densities; the one with the largest summed log good/bad density ratio
 *   (the expected-improvement criterion of the paper) is proposed. With few
 *   points the ratio grows towards the range edges away from the bad points,
 *   so many candidates mean a proposal at an edge: the count grows with the
 *   evidence instead (on an interior 2-D optimum, 10 trials in batches of 2,
 *   the former 24 candidates and 2 start-up trials put 39% of the modelled
 *   trials in the outer 5% of a range, a uniform draw 19%, this rule 16%).
 * - Batches (constant liar): the trials of one batch see the same results;
 *   trial k of a batch counts the batch's earlier trials (recomputed: each is
 *   a function of the same results) as "bad" points, so it moves away from
 *   them instead of proposing the same setting again. Trials past the 16th
 *   of a batch count the first 16 only, so a large batch stays cheap.
 */
#include "search/search.h"

#include "experiment/config_internal.h"
#include "experiment/record.h"

#include "../core/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TPE_CANDIDATES_MIN 4  /* candidates per proposal: the number of observations, in [4, 24] */
#define TPE_CANDIDATES_MAX 24
#define TPE_STARTUP_MIN 5     /* start-up trials: ceil(trials / 3) in [5, 10] */
#define TPE_STARTUP_MAX 10
#define TPE_MAX_OBS 4096
#define TPE_MAX_LIES 16       /* liar: a batch's first 16 trials (each recomputed: the cost grows as their square) */

int ghm_search_n_startup(const ghm_search_config *s)
{
    if (s->method == GHM_SEARCH_TPE_V1) return s->trials / 3 > 10 ? 10 : s->trials / 3 < 2 ? 2 : s->trials / 3;
    int T = s->trials, b = s->batch > 0 ? s->batch : 1;
    int n = (T + 2) / 3; /* ceil(T / 3) */
    if (n > TPE_STARTUP_MAX) n = TPE_STARTUP_MAX;
    if (n < TPE_STARTUP_MIN) n = TPE_STARTUP_MIN;
    n = (n + b - 1) / b * b;
    if (n > T) n = T;
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
    return mix64(h ^ mix64(ghm_search_seed_of(s, loss_entry) + 0x9e3779b97f4a7c15ULL * (uint64_t)(loss_entry + 1)));
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

/* a draw from component i, truncated to the range */
static double parzen_sample_from(const parzen *p, int i, ghm_rng *r)
{
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

/* ---- start-up: a Latin hypercube over the start-up trials ---- */

/* Start-up trial t of n: in every dimension its own stratum (a permutation
 * of the n strata fixed by the loss entry's key and the dimension), at a
 * uniform position inside it. */
static double latin_value(const ghm_search_dim *d, int j, uint64_t key, int t, int n, ghm_rng *r)
{
    int *perm = malloc(sizeof(int) * (size_t)n);
    if (!perm) return sample_uniform(d, r); /* out of memory: a random start-up trial, still deterministic */
    ghm_rng pr;
    ghm_rng_seed(&pr, mix64(key ^ (0xa0761d6478bd642fULL * (uint64_t)(j + 1))), GHM_STREAM_USER + 8);
    for (int i = 0; i < n; i++) perm[i] = i;
    ghm_rng_shuffle(&pr, perm, n);
    int stratum = perm[t];
    free(perm);
    double w = (stratum + ghm_rng_uniform(r)) / n; /* in [0, 1) */
    if (d->kind == GHM_DIM_CHOICES) return (double)(stratum % d->n_choices);
    if (d->is_int && !d->log) {
        double lo = ceil(d->lo), m = floor(d->hi) - lo + 1;
        double k = floor(w * m);
        if (k >= m) k = m - 1;
        return lo + k;
    }
    double a = to_u(d, d->lo), b = to_u(d, d->hi);
    return from_u(d, a + (b - a) * w);
}

/* ---- TPE ---- */

/* One TPE proposal from the n observations in rk order (the first n_good are
 * "good"), plus n_lie pending proposals of the same batch (lie_x, rows of nd)
 * counted as "bad" (the constant liar: a pending trial is assumed to do no
 * better than the bad set, so the next proposal of the batch moves away from
 * it). buf: 6 * (n + n_lie + 1) doubles. */
static void tpe_one(const ghm_search_space *sp, const double *obs_x, const ranked *rk, int n, int n_good,
                    const double *lie_x, int n_lie, ghm_rng *r, double *x_out, double *buf)
{
    int nd = sp->n;
    int ncand = n < TPE_CANDIDATES_MIN ? TPE_CANDIDATES_MIN : n > TPE_CANDIDATES_MAX ? TPE_CANDIDATES_MAX : n;
    double cand[GHM_SEARCH_MAX_DIMS], best_x[GHM_SEARCH_MAX_DIMS];
    double best = -INFINITY;
    /* per-dimension estimators */
    parzen L[GHM_SEARCH_MAX_DIMS], G[GHM_SEARCH_MAX_DIMS];
    double good[GHM_SEARCH_MAX_DIMS][GHM_SEARCH_MAX_CHOICES], bad[GHM_SEARCH_MAX_DIMS][GHM_SEARCH_MAX_CHOICES];
    double sg[GHM_SEARCH_MAX_DIMS], sb[GHM_SEARCH_MAX_DIMS];
    size_t stride = (size_t)(n + n_lie + 1);
    for (int j = 0; j < nd; j++) {
        const ghm_search_dim *d = &sp->dims[j];
        if (d->kind == GHM_DIM_CHOICES) {
            int K = d->n_choices;
            for (int k = 0; k < K; k++) good[j][k] = bad[j][k] = 1.0;
            for (int t = 0; t < n + n_lie; t++) {
                int k = (int)(t < n ? obs_x[(size_t)rk[t].i * nd + j] : lie_x[(size_t)(t - n) * nd + j]);
                if (k < 0 || k >= K) continue;
                if (t < n_good) good[j][k] += 1;
                else bad[j][k] += 1;
            }
            sg[j] = sb[j] = 0;
            for (int k = 0; k < K; k++) sg[j] += good[j][k], sb[j] += bad[j][k];
            continue;
        }
        double a = to_u(d, d->lo), b = to_u(d, d->hi);
        if (!(b > a)) continue;
        double *base = buf + (size_t)j * 6 * stride;
        double *gp = base, *bp = base + stride, *gm = base + 2 * stride, *gs = base + 3 * stride,
               *bm = base + 4 * stride, *bs = base + 5 * stride;
        int kg = 0, kb = 0;
        for (int t = 0; t < n + n_lie; t++) {
            double u = to_u(d, t < n ? obs_x[(size_t)rk[t].i * nd + j] : lie_x[(size_t)(t - n) * nd + j]);
            if (t < n_good) gp[kg++] = u;
            else bp[kb++] = u;
        }
        parzen_fit(&L[j], gp, kg, a, b, gm, gs);
        parzen_fit(&G[j], bp, kb, a, b, bm, bs);
    }
    for (int c = 0; c < ncand; c++) {
        double score = 0;
        for (int j = 0; j < nd; j++) {
            const ghm_search_dim *d = &sp->dims[j];
            if (d->kind == GHM_DIM_CHOICES) {
                int K = d->n_choices;
                double u = ghm_rng_uniform(r) * sg[j], acc = 0;
                int k = 0;
                for (; k < K - 1; k++) {
                    acc += good[j][k];
                    if (u < acc) break;
                }
                cand[j] = k;
                score += log(good[j][k] / sg[j]) - log(bad[j][k] / sb[j]);
                continue;
            }
            double a = to_u(d, d->lo), b = to_u(d, d->hi);
            if (!(b > a)) {
                cand[j] = a;
                continue;
            }
            double u = parzen_sample_from(&L[j], (int)ghm_rng_below(r, (uint32_t)L[j].n), r);
            cand[j] = u;
            score += parzen_logpdf(&L[j], u) - parzen_logpdf(&G[j], u);
        }
        if (score > best) {
            best = score;
            memcpy(best_x, cand, sizeof(double) * (size_t)nd);
        }
    }
    for (int j = 0; j < nd; j++) {
        const ghm_search_dim *d = &sp->dims[j];
        if (d->kind == GHM_DIM_CHOICES) x_out[j] = best_x[j];
        else if (!(to_u(d, d->hi) > to_u(d, d->lo))) x_out[j] = d->lo;
        else x_out[j] = from_u(d, best_x[j]);
    }
}

/* ---- TPE before issue 24 (method tpe_v1) ----
 * Kept so the studies run with it still re-plan to their own records: start-up
 * max(2, min(10, trials / 3)) random trials, 24 candidates per dimension at
 * any budget, one dimension at a time, no liar. */
static void tpe_v1_dim(const ghm_search_dim *d, int j, int nd, const double *obs_x, const ranked *rk, int n, int n_good,
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
        for (int c = 0; c < TPE_CANDIDATES_MAX; c++) {
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
    double *gp = buf, *bp = buf + (n + 1), *gm = buf + 2 * (n + 1), *gs = buf + 3 * (n + 1), *bm = buf + 4 * (n + 1),
           *bs = buf + 5 * (n + 1);
    int ng = 0, nb = 0;
    for (int t = 0; t < n; t++) {
        double u = to_u(d, obs_x[(size_t)rk[t].i * nd + j]);
        if (t < n_good) gp[ng++] = u;
        else bp[nb++] = u;
    }
    parzen l, g;
    parzen_fit(&l, gp, ng, a, b, gm, gs);
    parzen_fit(&g, bp, nb, a, b, bm, bs);
    double best = -INFINITY, arg = 0.5 * (a + b);
    for (int c = 0; c < TPE_CANDIDATES_MAX; c++) {
        double u = parzen_sample_from(&l, (int)ghm_rng_below(r, (uint32_t)l.n), r);
        double score = parzen_logpdf(&l, u) - parzen_logpdf(&g, u);
        if (score > best) best = score, arg = u;
    }
    *x_out = from_u(d, arg);
}

static void propose_v1(const ghm_search_space *sp, const double *obs_x, const double *obs_y, int n_obs, ghm_rng *r,
                       double *x_out)
{
    ranked *rk = malloc(sizeof(ranked) * (size_t)n_obs);
    double *buf = malloc(sizeof(double) * 6 * ((size_t)n_obs + 1));
    if (!rk || !buf) { /* out of memory: random, still deterministic */
        for (int j = 0; j < sp->n; j++) x_out[j] = sample_uniform(&sp->dims[j], r);
    } else {
        for (int t = 0; t < n_obs; t++) rk[t] = (ranked){obs_y[t], t};
        qsort(rk, (size_t)n_obs, sizeof *rk, cmp_ranked);
        int n_good = (int)ceil(0.25 * n_obs);
        if (n_good < 1) n_good = 1;
        for (int j = 0; j < sp->n; j++) tpe_v1_dim(&sp->dims[j], j, sp->n, obs_x, rk, n_obs, n_good, r, &x_out[j], buf);
    }
    free(rk);
    free(buf);
}

void ghm_search_propose(const ghm_search_config *s, const ghm_search_space *sp, uint64_t key, int trial,
                        const double *obs_x, const double *obs_y, int n_obs, double *x_out)
{
    ghm_rng r;
    ghm_rng_seed(&r, mix64(key + 0x632be59bd9b4e019ULL * (uint64_t)(trial + 1)), GHM_STREAM_USER + 7);
    if (s->method == GHM_SEARCH_TPE_V1) {
        if (n_obs >= ghm_search_n_startup(s) && n_obs > 0) {
            if (n_obs > TPE_MAX_OBS) n_obs = TPE_MAX_OBS;
            propose_v1(sp, obs_x, obs_y, n_obs, &r, x_out);
            return;
        }
        for (int j = 0; j < sp->n; j++) x_out[j] = sample_uniform(&sp->dims[j], &r);
        return;
    }
    int n_start = ghm_search_n_startup(s);
    int tpe = s->method == GHM_SEARCH_TPE && n_obs >= n_start && n_obs > 0;
    if (s->method == GHM_SEARCH_TPE && !tpe && trial < n_start) {
        for (int j = 0; j < sp->n; j++) x_out[j] = latin_value(&sp->dims[j], j, key, trial, n_start, &r);
        return;
    }
    if (n_obs > TPE_MAX_OBS) n_obs = TPE_MAX_OBS;
    int n_lie = tpe && trial > n_obs ? trial - n_obs : 0;
    if (n_lie > TPE_MAX_LIES) n_lie = TPE_MAX_LIES;
    int nd = sp->n > 0 ? sp->n : 1;
    ranked *rk = tpe ? malloc(sizeof(ranked) * (size_t)n_obs) : NULL;
    double *buf = tpe ? malloc(sizeof(double) * 6 * (size_t)nd * ((size_t)n_obs + n_lie + 1)) : NULL;
    double *lie = tpe ? malloc(sizeof(double) * (size_t)nd * ((size_t)n_lie + 1)) : NULL;
    if (tpe && (!rk || !buf || !lie)) tpe = 0; /* out of memory: fall back to random, still deterministic */
    if (!tpe) {
        for (int j = 0; j < sp->n; j++) x_out[j] = sample_uniform(&sp->dims[j], &r);
        free(rk);
        free(buf);
        free(lie);
        return;
    }
    for (int t = 0; t < n_obs; t++) rk[t] = (ranked){obs_y[t], t};
    qsort(rk, (size_t)n_obs, sizeof *rk, cmp_ranked);
    int n_good = (int)ceil(0.25 * n_obs);
    if (n_good < 1) n_good = 1;
    /* the pending trials of this batch, recomputed (each a function of the same observations) */
    for (int p = 0; p < n_lie; p++) {
        ghm_rng rp;
        ghm_rng_seed(&rp, mix64(key + 0x632be59bd9b4e019ULL * (uint64_t)(n_obs + p + 1)), GHM_STREAM_USER + 7);
        tpe_one(sp, obs_x, rk, n_obs, n_good, lie, p, &rp, lie + (size_t)p * sp->n, buf);
    }
    tpe_one(sp, obs_x, rk, n_obs, n_good, lie, n_lie, &r, x_out, buf);
    free(rk);
    free(buf);
    free(lie);
}
