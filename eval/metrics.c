/* ghm_evaluate: the shared inputs of the metrics, computed once, then each
 * switched-on metric's compute hook (eval/metric_*.c, listed in
 * eval/metric_registry.c). Definitions in docs/metrics.md.
 *
 * One blocked kNN pass (eval/knn.c, ghm_knn_retrieval) serves every retrieval
 * metric: each query row looks at its k_i = max(max K, R_i) nearest (R_i only
 * when a metric needing the R nearest is on), where R_i = number of other items
 * with the query's label, and yields
 *   first_i = position of the first same-label neighbour among them,
 *   hits_i  = same-label among the R_i nearest,
 *   ap_i    = sum_{t <= R_i, match at t} (matches up to t) / t.
 * Per-row values land in arrays that the metrics sum in row order, so results
 * do not depend on the thread count. Clustering metrics get the k-means
 * clusters (k = number of distinct labels, eval/kmeans.c) and dense labels.
 */
#include "../core/progress.h"
#include "eval.h"
#include "eval_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void ghm_eval_opts_default(ghm_eval_opts *o)
{
    memset(o, 0, sizeof *o);
    o->n_k = 4;
    o->ks[0] = 1;
    o->ks[1] = 2;
    o->ks[2] = 4;
    o->ks[3] = 8;
    for (int i = 0; i < ghm_metric_count(); i++)
        if (ghm_metric_at(i)->default_on) ghm_metric_switch(o, ghm_metric_at(i), 1);
    o->seed = 0;
    o->kmeans_restarts = 3;
    o->kmeans_max_iter = 100;
    o->block = 0;
}

static int cmp_int(const void *x, const void *y)
{
    int a = *(const int *)x, b = *(const int *)y;
    return (a > b) - (a < b);
}

/* number of entries equal to v in the sorted array s (n) */
static int count_sorted(const int *s, int n, int v)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int m = lo + (hi - lo) / 2;
        if (s[m] < v) lo = m + 1; else hi = m;
    }
    int a = lo;
    hi = n;
    while (lo < hi) {
        int m = lo + (hi - lo) / 2;
        if (s[m] <= v) lo = m + 1; else hi = m;
    }
    return lo - a;
}

/* whether a switched-on metric of o needs any of `needs` */
static int any_needs(const ghm_eval_opts *o, unsigned needs)
{
    for (int i = 0; i < ghm_metric_count(); i++)
        if ((ghm_metric_at(i)->needs & needs) && ghm_metric_on(o, ghm_metric_at(i))) return 1;
    return 0;
}

static int check_opts(const ghm_eval_opts *o, int avail, ghm_error *err)
{
    if (any_needs(o, GHM_METRIC_NEEDS_K)) {
        if (o->n_k < 1 || o->n_k > GHM_MAX_K)
            return ghm_error_set(err, GHM_EINPUT, "eval: number of K values %d must be in [1, %d]", o->n_k, GHM_MAX_K);
        for (int i = 0; i < o->n_k; i++) {
            if (o->ks[i] < 1) return ghm_error_set(err, GHM_EINPUT, "eval: K = %d must be >= 1", o->ks[i]);
            if (i > 0 && o->ks[i] <= o->ks[i - 1])
                return ghm_error_set(err, GHM_EINPUT, "eval: K values must be strictly ascending (%d after %d)",
                                     o->ks[i], o->ks[i - 1]);
        }
        if (o->ks[o->n_k - 1] > avail)
            return ghm_error_set(err, GHM_EINPUT,
                                 "eval: K = %d is larger than the %d neighbours available to each query",
                                 o->ks[o->n_k - 1], avail);
    }
    if (any_needs(o, GHM_METRIC_NEEDS_CLUSTERING) && (o->kmeans_restarts < 1 || o->kmeans_max_iter < 1))
        return ghm_error_set(err, GHM_EINPUT, "eval: kmeans_restarts (%d) and kmeans_max_iter (%d) must be >= 1",
                             o->kmeans_restarts, o->kmeans_max_iter);
    if (o->block < 0) return ghm_error_set(err, GHM_EINPUT, "eval: block = %d must be >= 0", o->block);
    return 0;
}

/* ---- family-held-out retrieval (ghm_eval_opts.exclude_group) ----
 * Per query row, from the full row of distances the driver hands over: the kept
 * gallery items are those not the query itself and not of its group (group >= 0);
 * R = kept items with the query's label; the k = max(max K, R) nearest kept
 * items are found by a quickselect threshold on their distances and sorted by
 * (distance, index), exactly the order of the plain path; then first match,
 * hits and ap as in the plain path. O(ng) per row plus O(k log k). */
typedef struct group_ctx {
    const int *ql, *gl, *qg, *gg;
    int ng, self, maxk, do_r;
    int *r, *first, *hits;
    double *ap;
    int oom;
} group_ctx;

typedef struct dist_idx {
    float d;
    int i;
} dist_idx;

static int cmp_dist_idx(const void *x, const void *y)
{
    const dist_idx *a = x, *b = y;
    if (a->d < b->d) return -1;
    if (a->d > b->d) return 1;
    return (a->i > b->i) - (a->i < b->i);
}

static void group_row(void *ctx, int row, const int *nbr, int count, const float *drow)
{
    (void)nbr;
    (void)count;
    group_ctx *c = ctx;
    int lab = c->ql[row], grp = c->qg[row], ng = c->ng;
    c->first[row] = -1;
    c->hits[row] = 0;
    c->ap[row] = 0.0;
    c->r[row] = 0;
    float *vals = malloc(sizeof(float) * (size_t)(ng > 0 ? ng : 1));
    dist_idx *cand = malloc(sizeof(dist_idx) * (size_t)(ng > 0 ? ng : 1));
    if (!vals || !cand) {
        free(vals);
        free(cand);
        c->oom = 1;
        return;
    }
    int nk = 0, r = 0;
    for (int j = 0; j < ng; j++) {
        if ((c->self && j == row) || (grp >= 0 && c->gg[j] == grp)) continue;
        vals[nk++] = drow[j];
        r += c->gl[j] == lab;
    }
    c->r[row] = r;
    int k = c->maxk;
    if (c->do_r && r > k) k = r;
    if (k > nk) k = nk;
    if (k > 0) {
        float tau = ghm_eval_select_kth(vals, nk, k - 1);
        int nc = 0;
        for (int j = 0; j < ng; j++) {
            if ((c->self && j == row) || (grp >= 0 && c->gg[j] == grp) || !(drow[j] <= tau)) continue;
            cand[nc].d = drow[j];
            cand[nc].i = j;
            nc++;
        }
        qsort(cand, (size_t)nc, sizeof *cand, cmp_dist_idx);
        int lim = k < nc ? k : nc;
        for (int t = 0; t < lim; t++)
            if (c->gl[cand[t].i] == lab) {
                c->first[row] = t;
                break;
            }
        if (c->do_r && r > 0) {
            int hits = 0;
            double ap = 0.0;
            for (int t = 0; t < r && t < nc; t++)
                if (c->gl[cand[t].i] == lab) {
                    hits++;
                    ap += (double)hits / (double)(t + 1);
                }
            c->hits[row] = hits;
            c->ap[row] = ap;
        }
    }
    free(vals);
    free(cand);
}

/* Shared body: self = 1 when q and g are the same set. */
static int evaluate(const float *q, const int *ql, int nq, const float *g, const int *gl, int ng, int d, int self,
                    const ghm_eval_opts *opts, ghm_metrics *out, ghm_error *err)
{
    double t0 = ghm_clock();
    ghm_eval_opts def;
    if (!opts) {
        ghm_eval_opts_default(&def);
        opts = &def;
    }
    if (!out) return GHM_FAIL(err, GHM_EINPUT, "eval: NULL output");
    memset(out, 0, sizeof *out);
    if (!q || !ql || !g || !gl) return GHM_FAIL(err, GHM_EINPUT, "eval: NULL input");
    if (d < 1) return ghm_error_set(err, GHM_EINPUT, "eval: dimension %d must be >= 1", d);
    if (nq < 1) return ghm_error_set(err, GHM_EINPUT, "eval: no queries (n = %d)", nq);
    if (ng - self < 1)
        return ghm_error_set(err, GHM_EINPUT, "eval: need at least %d items to retrieve from, got %d", 1 + self, ng);
    int rc = check_opts(opts, ng - self, err);
    if (rc) return rc;
    if (opts->exclude_same_group && !opts->exclude_group)
        return ghm_error_set(err, GHM_EINPUT, "eval: exclude_same_family needs a group (font family) per item; only "
                             "the glyphs data set has one");
    if (opts->exclude_group && !self && !opts->exclude_group_gallery)
        return ghm_error_set(err, GHM_EINPUT, "eval: exclude_group in query mode needs exclude_group_gallery too");
    rc = ghm_eval_check_finite(q, nq, d, self ? "eval: embeddings" : "eval: query embeddings", err);
    if (!rc && !self) rc = ghm_eval_check_finite(g, ng, d, "eval: gallery embeddings", err);
    if (rc) return rc;

    out->n = nq;
    out->dim = d;
    ghm_eval_shared sh;
    memset(&sh, 0, sizeof sh);
    sh.nq = nq;
    sh.do_r = any_needs(opts, GHM_METRIC_NEEDS_R);
    sh.maxk = any_needs(opts, GHM_METRIC_NEEDS_K) ? opts->ks[opts->n_k - 1] : 0;
    int *sorted = NULL, *r = NULL, *first = NULL, *hits = NULL, *dense = NULL, *asg = NULL, *cnt = NULL;
    double *ap = NULL;
    /* the retrieval statistics: one kNN pass */
    if (any_needs(opts, GHM_METRIC_NEEDS_LABELS)) {
        sorted = malloc(sizeof(int) * (size_t)ng);
        r = malloc(sizeof(int) * (size_t)nq);
        first = malloc(sizeof(int) * (size_t)nq);
        hits = malloc(sizeof(int) * (size_t)nq);
        ap = malloc(sizeof(double) * (size_t)nq);
        if (!sorted || !r || !first || !hits || !ap) {
            rc = GHM_FAIL(err, GHM_ENOMEM, "eval: out of memory (n = %d)", nq);
        } else if (opts->exclude_group) {
            group_ctx gc = {ql, gl, opts->exclude_group, self ? opts->exclude_group : opts->exclude_group_gallery,
                            ng, self, sh.maxk, sh.do_r, r, first, hits, ap, 0};
            rc = ghm_knn_drive(q, nq, g, ng, d, self, NULL, 0, opts->block, group_row, &gc, err);
            if (!rc && gc.oom) rc = GHM_FAIL(err, GHM_ENOMEM, "eval: out of memory (family-held-out rows)");
        } else {
            memcpy(sorted, gl, sizeof(int) * (size_t)ng);
            qsort(sorted, (size_t)ng, sizeof(int), cmp_int);
            for (int i = 0; i < nq; i++) r[i] = count_sorted(sorted, ng, ql[i]) - self;
            ghm_knn_rstats st = {ql, gl, r, sh.maxk, sh.do_r, first, hits, ap};
            rc = ghm_knn_retrieval(q, nq, g, ng, d, self, opts->block, &st, err);
        }
        if (!rc) {
            for (int i = 0; i < nq; i++) sh.n_r0 += r[i] <= 0;
            out->n_r0 = sh.n_r0;
            sh.r = r;
            sh.first = first;
            sh.hits = hits;
            sh.ap = ap;
        }
    }
    /* the clustering: k-means with k = distinct labels of the queries */
    if (!rc && any_needs(opts, GHM_METRIC_NEEDS_CLUSTERING)) {
        dense = malloc(sizeof(int) * (size_t)nq);
        asg = malloc(sizeof(int) * (size_t)nq);
        int k = dense && asg ? ghm_eval_densify(ql, nq, dense, &cnt) : -1;
        if (k < 0)
            rc = GHM_FAIL(err, GHM_ENOMEM, "eval: out of memory");
        else
            rc = ghm_kmeans(q, nq, d, k, opts->seed, opts->kmeans_restarts, opts->kmeans_max_iter, asg, NULL, err);
        sh.classes = dense;
        sh.clusters = asg;
    }
    /* each switched-on metric reduces them */
    if (!rc && opts->n_k <= GHM_MAX_K) {
        out->n_k = opts->n_k;
        for (int j = 0; j < opts->n_k; j++) out->ks[j] = opts->ks[j];
    }
    for (int i = 0; i < ghm_metric_count() && !rc; i++) {
        const ghm_metric_ops *mo = ghm_metric_at(i);
        if (!ghm_metric_on(opts, mo)) continue;
        rc = mo->compute(&sh, opts, out->v[i], err);
        if (!rc) out->count[i] = (mo->needs & GHM_METRIC_NEEDS_K) ? opts->n_k : 1;
    }
    if (!any_needs(opts, GHM_METRIC_NEEDS_K)) out->n_k = 0;
    free(sorted);
    free(r);
    free(first);
    free(hits);
    free(ap);
    free(dense);
    free(asg);
    free(cnt);
    if (rc) {
        memset(out->count, 0, sizeof out->count);
        return rc;
    }
    out->seconds = ghm_clock() - t0;
    return 0;
}

int ghm_evaluate(const float *emb, const int *labels, int n, int d, const ghm_eval_opts *o, ghm_metrics *out,
                 ghm_error *err)
{
    return evaluate(emb, labels, n, emb, labels, n, d, 1, o, out, err);
}

int ghm_evaluate_query(const float *q, const int *qlabels, int nq, const float *g, const int *glabels, int ng, int d,
                       const ghm_eval_opts *o, ghm_metrics *out, ghm_error *err)
{
    return evaluate(q, qlabels, nq, g, glabels, ng, d, 0, o, out, err);
}
