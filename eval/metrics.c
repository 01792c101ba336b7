/* Retrieval and clustering metrics of embeddings (definitions in docs/metrics.md).
 *
 * One blocked kNN pass (eval/knn.c, ghm_knn_retrieval) serves every retrieval
 * metric: each query row looks at its k_i = max(max K, R_i) nearest, where R_i =
 * number of other items with the query's label, and yields
 *   first_i  = position of the first same-label neighbour (Recall@K: first_i < K),
 *   rprec_i  = (same-label among the R_i nearest) / R_i,
 *   mapr_i   = (1/R_i) sum_{t <= R_i, match at t} (matches up to t) / t.
 * Per-row values land in arrays summed afterwards in row order, so the result
 * does not depend on the thread count. Recall@K averages over all queries (a
 * query with R = 0 can never hit); R-precision and MAP@R over queries with R >= 1.
 * NMI/AMI: k-means with k = number of distinct labels (eval/kmeans.c) against
 * the labels (eval/nmi.c).
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
    o->do_recall = o->do_map_r = o->do_r_precision = o->do_nmi = 1;
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

static int check_opts(const ghm_eval_opts *o, int avail, ghm_error *err)
{
    if (o->do_recall) {
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
    if (o->do_nmi && (o->kmeans_restarts < 1 || o->kmeans_max_iter < 1))
        return ghm_error_set(err, GHM_EINPUT, "eval: kmeans_restarts (%d) and kmeans_max_iter (%d) must be >= 1",
                             o->kmeans_restarts, o->kmeans_max_iter);
    if (o->block < 0) return ghm_error_set(err, GHM_EINPUT, "eval: block = %d must be >= 0", o->block);
    return 0;
}

/* NMI/AMI of k-means clusters (k = distinct labels) of x (n, d) against labels. */
static int eval_clusters(const float *x, const int *labels, int n, int d, const ghm_eval_opts *o, ghm_metrics *out,
                         ghm_error *err)
{
    int *dense = malloc(sizeof(int) * (size_t)n);
    int *asg = malloc(sizeof(int) * (size_t)n);
    int *cnt = NULL;
    int rc = 0;
    if (!dense || !asg) {
        rc = GHM_FAIL(err, GHM_ENOMEM, "eval: out of memory");
        goto done;
    }
    int k = ghm_eval_densify(labels, n, dense, &cnt);
    if (k < 0) {
        rc = GHM_FAIL(err, GHM_ENOMEM, "eval: out of memory");
        goto done;
    }
    rc = ghm_kmeans(x, n, d, k, o->seed, o->kmeans_restarts, o->kmeans_max_iter, asg, NULL, err);
    if (rc) goto done;
    out->nmi = ghm_nmi(dense, asg, n);
    out->ami = ghm_ami(dense, asg, n);
    if (isnan(out->nmi) || isnan(out->ami)) {
        rc = GHM_FAIL(err, GHM_ENOMEM, "eval: out of memory computing NMI/AMI");
        goto done;
    }
    out->has_nmi = 1;
done:
    free(dense);
    free(asg);
    free(cnt);
    return rc;
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
    rc = ghm_eval_check_finite(q, nq, d, self ? "eval: embeddings" : "eval: query embeddings", err);
    if (!rc && !self) rc = ghm_eval_check_finite(g, ng, d, "eval: gallery embeddings", err);
    if (rc) return rc;

    out->n = nq;
    out->dim = d;
    int do_r = opts->do_map_r || opts->do_r_precision;
    int maxk = opts->do_recall ? opts->ks[opts->n_k - 1] : 0;
    if (maxk > 0 || do_r) {
        int *sorted = malloc(sizeof(int) * (size_t)ng);
        int *r = malloc(sizeof(int) * (size_t)nq);
        int *first = malloc(sizeof(int) * (size_t)nq);
        double *rprec = malloc(sizeof(double) * (size_t)nq);
        double *mapr = malloc(sizeof(double) * (size_t)nq);
        if (!sorted || !r || !first || !rprec || !mapr) {
            rc = GHM_FAIL(err, GHM_ENOMEM, "eval: out of memory (n = %d)", nq);
        } else {
            memcpy(sorted, gl, sizeof(int) * (size_t)ng);
            qsort(sorted, (size_t)ng, sizeof(int), cmp_int);
            for (int i = 0; i < nq; i++) r[i] = count_sorted(sorted, ng, ql[i]) - self;
            ghm_knn_rstats st = {ql, gl, r, maxk, do_r, first, rprec, mapr};
            rc = ghm_knn_retrieval(q, nq, g, ng, d, self, opts->block, &st, err);
        }
        if (!rc) {
            int n_r0 = 0;
            double sr = 0.0, sm = 0.0;
            for (int i = 0; i < nq; i++) {
                if (r[i] <= 0) {
                    n_r0++;
                    continue;
                }
                sr += rprec[i];
                sm += mapr[i];
            }
            out->n_r0 = n_r0;
            if (maxk > 0) {
                out->n_k = opts->n_k;
                for (int j = 0; j < opts->n_k; j++) {
                    long hit = 0;
                    for (int i = 0; i < nq; i++) hit += first[i] >= 0 && first[i] < opts->ks[j];
                    out->ks[j] = opts->ks[j];
                    out->recall[j] = (double)hit / nq;
                }
                out->has_recall = 1;
            }
            int nr = nq - n_r0;
            if (opts->do_r_precision) {
                out->r_precision = nr > 0 ? sr / nr : NAN;
                out->has_r_precision = 1;
            }
            if (opts->do_map_r) {
                out->map_r = nr > 0 ? sm / nr : NAN;
                out->has_map_r = 1;
            }
        }
        free(sorted);
        free(r);
        free(first);
        free(rprec);
        free(mapr);
        if (rc) return rc;
    }
    if (opts->do_nmi) {
        rc = eval_clusters(q, ql, nq, d, opts, out, err);
        if (rc) return rc;
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

int ghm_metrics_list(const ghm_metrics *m, char names[][24], double *values, int max)
{
    int c = 0;
#define PUT(NAME_FMT, ARG, VAL)                                                                                     \
    do {                                                                                                            \
        if (c < max) {                                                                                              \
            if (names) snprintf(names[c], 24, NAME_FMT, ARG);                                                       \
            if (values) values[c] = (VAL);                                                                          \
            c++;                                                                                                    \
        }                                                                                                           \
    } while (0)
    if (m->has_recall)
        for (int j = 0; j < m->n_k && j < GHM_MAX_K; j++) PUT("recall@%d", m->ks[j], m->recall[j]);
    if (m->has_map_r) PUT("%s", "map@r", m->map_r);
    if (m->has_r_precision) PUT("%s", "r_precision", m->r_precision);
    if (m->has_nmi) {
        PUT("%s", "nmi", m->nmi);
        PUT("%s", "ami", m->ami);
    }
#undef PUT
    return c;
}
