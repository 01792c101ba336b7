/* Internal to eval/: the blocked kNN driver shared by ghm_knn_* and the
 * retrieval metrics. Not part of the public contract (eval/eval.h). */
#ifndef GHM_EVAL_INTERNAL_H
#define GHM_EVAL_INTERNAL_H

#include "../core/error.h"

/* Called once per query row, possibly from several threads at once (only for
 * distinct rows): nbr (count) are the neighbour indices in order (ascending
 * distance, ties by lower index), drow (ng) the row's distances (indexed by
 * gallery index, clamped to >= 0). */
typedef void (*ghm_knn_row_fn)(void *ctx, int row, const int *nbr, int count, const float *drow);

/* Exact kNN of q (nq, d) against g (ng, d) in row blocks of sgemm.
 * self = 1: q and g are the same set and row i excludes column i (by index).
 * need: per-row neighbour counts (nq), or NULL to use need_const for every row;
 * each must be in [0, ng - self]. block = rows per sgemm block (0 = auto). */
int ghm_knn_drive(const float *q, int nq, const float *g, int ng, int d, int self, const int *need, int need_const,
                  int block, ghm_knn_row_fn fn, void *ctx, ghm_error *err);

/* Retrieval statistics per query row (eval/metrics.c hands them to the metrics'
 * compute hooks, which sum them in row order). Row i asks for k_i = max(maxk,
 * do_r ? r[i] : 0) neighbours and gets:
 *   first[i] = position (0-based) of the first same-label item among its k_i nearest, else -1;
 *   hits[i]  = same-label items among its r[i] nearest                   (do_r; else 0);
 *   ap[i]    = sum_{t <= r[i], match at t} (matches up to t) / t          (likewise).
 * The values are exactly those of the sorted neighbour list (same terms summed
 * in the same order), but rows asking for more than 32 neighbours never sort
 * them: see eval/knn.c. */
typedef struct ghm_knn_rstats {
    const int *qlab, *glab; /* (nq), (ng) labels */
    const int *r;           /* (nq) R per query, in [0, ng - self] */
    int maxk;               /* largest K of the per-K metrics (0: none), <= ng - self */
    int do_r;               /* a metric needing each query's R nearest is on */
    int *first, *hits;      /* (nq) out */
    double *ap;             /* (nq) out */
} ghm_knn_rstats;

/* What the metrics' compute hooks (ghm_metric_ops.compute) reduce: computed once
 * per evaluation for all switched-on metrics. Retrieval part (set when a metric
 * with NEEDS_LABELS is on): the arrays of ghm_knn_rstats, per query, after the
 * query's own group was removed when ghm_eval_opts.exclude_group is set.
 * Clustering part (NEEDS_CLUSTERING): the k-means clusters of the queries. */
typedef struct ghm_eval_shared {
    int nq;                 /* queries */
    int maxk, do_r;         /* the row neighbour counts k_i = max(maxk, do_r ? r[i] : 0) */
    const int *r;           /* (nq) R: other items with the query's label */
    int n_r0;               /* queries with r = 0 */
    const int *first;       /* (nq) as ghm_knn_rstats */
    const int *hits;
    const double *ap;
    const int *classes;     /* (nq) dense label ids 0..c-1 */
    const int *clusters;    /* (nq) k-means cluster of each query, k = c */
} ghm_eval_shared;

int ghm_knn_retrieval(const float *q, int nq, const float *g, int ng, int d, int self, int block,
                      const ghm_knn_rstats *st, ghm_error *err);

/* Returns GHM_EINPUT when x (n, d) holds a NaN or Inf, naming the row/column. */
/* The k-th smallest (0-based) of a (n) by quickselect; reorders a (eval/knn.c). */
float ghm_eval_select_kth(float *a, int n, int k);

int ghm_eval_check_finite(const float *x, int n, int d, const char *what, ghm_error *err);

/* Map labels (n) to dense ids 0..c-1 in ascending label order: out (n), and
 * *counts (c, malloc'd) the size of each. Returns c, or -1 when out of memory. */
int ghm_eval_densify(const int *lab, int n, int *out, int **counts);

#endif
