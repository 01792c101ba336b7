/* Evaluation of embeddings: exact kNN on sgemm, Recall@K, R-precision, MAP@R,
 * NMI and AMI over k-means. Definitions in docs/metrics.md:
 *  - neighbours exclude the query itself BY INDEX; ties broken by lower index;
 *  - Recall@K = fraction of queries with >= 1 same-label item in their K nearest;
 *  - R = number of other items with the query's label; R-precision and MAP@R as
 *    in Musgrave et al. 2020, queries with R = 0 left out (counted in n_r0);
 *  - with ghm_eval_opts.exclude_group, a query's own group is removed from its
 *    gallery first (family-held-out retrieval), the same definitions otherwise;
 *  - NMI (arithmetic normalisation) and AMI between k-means clusters (k = number
 *    of distinct labels) and labels.
 */
#ifndef GHM_EVAL_H
#define GHM_EVAL_H

#include "../core/error.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GHM_MAX_K 32

typedef struct ghm_eval_opts {
    int n_k;               /* number of K values */
    int ks[GHM_MAX_K];     /* ascending K values for Recall@K (default 1,2,4,8) */
    int do_recall, do_map_r, do_r_precision, do_nmi; /* which metrics (all 1 by default) */
    uint64_t seed;         /* k-means seed */
    int kmeans_restarts;   /* default 3 */
    int kmeans_max_iter;   /* default 100 */
    int block;             /* kNN block rows (0 = automatic) */
    /* Optional held-out groups (e.g. the font family of each glyph image): when
     * set, a query's items of its own group (group id >= 0) are removed from its
     * gallery before Recall@K, R-precision and MAP@R (R counts only the items
     * left), so sibling drawings of one design cannot answer the query. NULL =
     * off. Self mode: exclude_group (n) per item; query mode: exclude_group (nq)
     * per query and exclude_group_gallery (ng) per gallery item. NMI is unchanged. */
    const int *exclude_group;
    const int *exclude_group_gallery;
    int exclude_same_group;  /* 1: the caller asked for the above (experiment key eval.exclude_same_family);
                                an evaluation with it set and exclude_group NULL is an error */
} ghm_eval_opts;

typedef struct ghm_metrics {
    int n, dim;                  /* evaluated items and dimension */
    int n_k;                     /* Recall@K values present */
    int ks[GHM_MAX_K];
    double recall[GHM_MAX_K];    /* fractions in [0, 1] */
    double map_r, r_precision;   /* fractions */
    double nmi, ami;
    int n_r0;                    /* queries with R = 0, left out of MAP@R and R-precision */
    int has_recall, has_map_r, has_r_precision, has_nmi; /* which were computed */
    double seconds;              /* wall time of the evaluation */
} ghm_metrics;

void ghm_eval_opts_default(ghm_eval_opts *o);

/* Self-retrieval: every item is a query against all others. */
int ghm_evaluate(const float *emb, const int *labels, int n, int d, const ghm_eval_opts *o, ghm_metrics *out,
                 ghm_error *err);
/* Query/gallery mode: queries against a separate reference set (no self-exclusion).
 * NMI is computed on the queries. */
int ghm_evaluate_query(const float *q, const int *qlabels, int nq, const float *g, const int *glabels, int ng, int d,
                       const ghm_eval_opts *o, ghm_metrics *out, ghm_error *err);

/* Metric names and values in the canonical order used by records, summary.csv
 * and `ghm eval --json`: "recall@1", ..., "map@r", "r_precision", "nmi", "ami".
 * Only computed metrics are listed. Returns the count (<= max). */
int ghm_metrics_list(const ghm_metrics *m, char names[][24], double *values, int max);

/* ---- building blocks ---- */
/* k nearest neighbours of every row of x (n, d) among the other rows (self
 * excluded by index), ascending distance, ties by lower index. idx (n, k), dist2
 * (n, k) squared distances (may be NULL). block = rows per sgemm block (0 = auto).
 * Memory is O(block * n), not O(n^2). */
int ghm_knn_self(const float *x, int n, int d, int k, int block, int *idx, float *dist2, ghm_error *err);
/* k nearest gallery rows for each query row. */
int ghm_knn_query(const float *q, int nq, const float *g, int ng, int d, int k, int block, int *idx, float *dist2,
                  ghm_error *err);
/* Lloyd k-means with k-means++ init, restarts keeping lowest inertia. */
int ghm_kmeans(const float *x, int n, int d, int k, uint64_t seed, int restarts, int max_iter, int *assign,
               double *inertia, ghm_error *err);
/* NMI (arithmetic mean normalisation, sklearn's default) and AMI of two labelings. */
double ghm_nmi(const int *a, const int *b, int n);
double ghm_ami(const int *a, const int *b, int n);

#ifdef __cplusplus
}
#endif
#endif
