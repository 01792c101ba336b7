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

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GHM_MAX_K 32
/* Longest metric name plus its terminator ("recall@32", "r_precision"): the size of every
 * buffer that holds a metric's record key. */
#define GHM_METRIC_NAME_MAX 24

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
int ghm_metrics_list(const ghm_metrics *m, char names[][GHM_METRIC_NAME_MAX], double *values, int max);

/* ---- the metric registry (eval/metric_registry.c): one line per metric ----
 * The single place that maps a metric's names: `name` as written in experiment
 * files (eval.metrics) and `ghm eval --metrics`, `key` in records, summary.csv,
 * search objectives and primary comparisons. A metric with needs & GHM_METRIC_NEEDS_K
 * has one value per K (key "recall@K"); `enabled`/`enable` read and set its switch
 * in ghm_eval_opts, `computed` says whether ghm_evaluate filled it and `value`
 * returns value number j (j < its count). Metrics sharing one computation (NMI and
 * AMI: one clustering) share a switch; `name` of the second is NULL when it is not
 * separately selectable. The order of the registry is the order of records. */
enum {
    GHM_METRIC_NEEDS_LABELS = 1,     /* same-label neighbours (retrieval) */
    GHM_METRIC_NEEDS_K = 2,          /* one value per K of eval.recall_at */
    GHM_METRIC_NEEDS_CLUSTERING = 4, /* k-means with k = number of classes */
};

typedef struct ghm_metric_ops {
    const char *name;          /* experiment-file / --metrics spelling: "map_r" (NULL: follows the previous entry) */
    const char *key;           /* record key: "map@r"; for per-K metrics the prefix "recall@" */
    const char *short_name;    /* table header: "MAP@R" ("R@" + K for per-K metrics) */
    const char *long_name;     /* plot titles and prose: "MAP@R" ("Recall@" + K) */
    int higher_is_better;      /* 1: larger is better */
    unsigned needs;            /* GHM_METRIC_NEEDS_* */
    int objective;             /* 1: allowed as a search objective (validation metric) */
    double lo, hi;             /* range of its values (a record outside it is corrupt) */
    int may_be_undefined;      /* 1: NaN (JSON null) when no query has a relevant item */
    int (*enabled)(const ghm_eval_opts *o);
    void (*enable)(ghm_eval_opts *o, int on);
    int (*count)(const ghm_metrics *m);            /* values present in m (0: not computed) */
    double (*value)(const ghm_metrics *m, int j);  /* value j; its key: key, or key + K for per-K */
} ghm_metric_ops;

int ghm_metric_count(void);
const ghm_metric_ops *ghm_metric_at(int i);
/* By the name a user writes: the experiment-file name ("map_r") or the record key
 * ("map@r"), and for per-K metrics "recall" or "recall@K" (*k set to K, else 0). */
const ghm_metric_ops *ghm_metric_find(const char *name, int *k);
/* Record key j of a metric in m (e.g. "recall@4") into out. */
void ghm_metric_key(const ghm_metric_ops *mo, const ghm_metrics *m, int j, char out[GHM_METRIC_NAME_MAX]);
/* By record key only ("map@r", "recall@4"; not "map_r"): the entry or NULL. */
const ghm_metric_ops *ghm_metric_by_key(const char *key);
/* Whether options o compute the metric with record key `key` ("recall@4" only when 4 is one of o's K). */
int ghm_metric_key_computed(const ghm_eval_opts *o, const char *key);
/* The record keys options o produce, in record order (recall@K for each K, map@r, ...). Returns the count (<= max). */
int ghm_metric_keys(const ghm_eval_opts *o, char names[][GHM_METRIC_NAME_MAX], int max);
/* Display name of a record key: short for table headers ("recall@1" -> "R@1", "r_precision" -> "RP"),
 * long for plot titles ("Recall@1", "R-precision"); an unknown key is returned as it is. Returns out. */
const char *ghm_metric_label(const char *key, int short_form, char *out, size_t n);

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
