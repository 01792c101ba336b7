/* Evaluation of embeddings: exact kNN on sgemm, Recall@K, R-precision, MAP@R,
 * NMI and AMI over k-means (the metrics are the entries of the registry below,
 * one file each: eval/metric_*.c). Definitions in docs/metrics.md:
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
/* Most entries of the metric registry (eval/metric_registry.c; a test checks it). */
#define GHM_MAX_METRICS 16

typedef struct ghm_eval_opts {
    int n_k;               /* number of K values */
    int ks[GHM_MAX_K];     /* ascending K values for Recall@K (default 1,2,4,8) */
    /* Which metrics: bit i switches registry entry i on (ghm_metric_on / ghm_metric_switch;
     * entries sharing a computation, like NMI and AMI, share the bit of the first).
     * Default: the entries marked default_on (recall, map_r, r_precision, nmi). */
    unsigned metrics;
    uint64_t seed;         /* k-means seed */
    int kmeans_restarts;   /* default 3 */
    int kmeans_max_iter;   /* default 100 */
    int block;             /* kNN block rows (0 = automatic) */
    /* Optional held-out groups (e.g. the font family of each glyph image): when
     * set, a query's items of its own group (group id >= 0) are removed from its
     * gallery before the retrieval metrics (R counts only the items
     * left), so sibling drawings of one design cannot answer the query. NULL =
     * off. Self mode: exclude_group (n) per item; query mode: exclude_group (nq)
     * per query and exclude_group_gallery (ng) per gallery item. NMI is unchanged. */
    const int *exclude_group;
    const int *exclude_group_gallery;
    int exclude_same_group;  /* 1: the caller asked for the above (experiment key eval.exclude_same_family);
                                an evaluation with it set and exclude_group NULL is an error */
} ghm_eval_opts;

/* Values per registry entry, not per named field: entry i (ghm_metric_at(i)) has
 * count[i] values v[i][0..count[i]-1] (one per K for per-K metrics, else one; 0 =
 * not computed). Read them by record key with ghm_metrics_value, or in record
 * order with ghm_metrics_list. */
typedef struct ghm_metrics {
    int n, dim;                  /* evaluated items and dimension */
    int n_k;                     /* K values of the per-K metrics */
    int ks[GHM_MAX_K];
    int count[GHM_MAX_METRICS];
    double v[GHM_MAX_METRICS][GHM_MAX_K];
    int n_r0;                    /* queries with R = 0, left out of MAP@R and R-precision */
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
 * and `ghm eval --json` (the registry order): "recall@1", ..., "map@r",
 * "r_precision", "nmi", "ami". Only computed metrics are listed. Returns the count (<= max). */
int ghm_metrics_list(const ghm_metrics *m, char names[][GHM_METRIC_NAME_MAX], double *values, int max);
/* The value of record key `key` ("map@r", "recall@4") in m: 1 and *v set when
 * computed, else 0. */
int ghm_metrics_value(const ghm_metrics *m, const char *key, double *v);

/* ---- the metric registry (eval/metric_registry.c): one line per metric ----
 * Adding a metric = its file in eval/ (defining `const ghm_metric_ops
 * ghm_metric_<id>`) + one line in GHM_METRIC_LIST (eval/metric_registry.c) + its
 * entry in docs/metrics.md. Everything else comes from the entry: the experiment
 * file's eval.metrics and search.objective, `ghm eval --metrics` and its help,
 * run identity (only when switched on, see id_pos), records, summary.csv,
 * `ghm eval --json`, tables and figure titles.
 *
 * `name` is the spelling in experiment files (eval.metrics) and `ghm eval
 * --metrics`, `key` the record key (records, summary.csv, search objectives,
 * primary comparisons). A metric with needs & GHM_METRIC_NEEDS_K has one value per
 * K (key "recall@K"). Metrics sharing one computation (NMI and AMI: one
 * clustering) share a switch: `shares` names the entry owning it. The order of
 * the registry is the order of records.
 *
 * compute reduces the per-query statistics of ONE shared kNN pass (or the ONE
 * k-means clustering) to the metric's values: see ghm_eval_shared in
 * eval/eval_internal.h, and eval/metrics.c for how they are made. */
enum {
    GHM_METRIC_NEEDS_LABELS = 1,     /* same-label neighbours (retrieval) */
    GHM_METRIC_NEEDS_K = 2,          /* one value per K of eval.recall_at; each query's max K nearest */
    GHM_METRIC_NEEDS_CLUSTERING = 4, /* k-means with k = number of classes */
    GHM_METRIC_NEEDS_R = 8,          /* each query's R nearest (R = other items of its label) */
};

struct ghm_eval_shared;

typedef struct ghm_metric_ops {
    const char *name;          /* experiment-file / --metrics spelling: "map_r" */
    const char *key;           /* record key: "map@r"; for per-K metrics the prefix "recall@" */
    const char *short_name;    /* table header: "MAP@R" ("R@" + K for per-K metrics) */
    const char *long_name;     /* plot titles and prose: "MAP@R" ("Recall@" + K) */
    const char *help;          /* one line for `ghm eval --metrics` help and `ghm list metrics` */
    int higher_is_better;      /* 1: larger is better */
    unsigned needs;            /* GHM_METRIC_NEEDS_* */
    int objective;             /* 1: allowed as a search objective (validation metric) */
    double lo, hi;             /* range of its values (a record outside it is corrupt) */
    int may_be_undefined;      /* 1: NaN (JSON null) when no query has a relevant item */
    int default_on;            /* 1: computed unless eval.metrics says otherwise (only the first four:
                                  a new default would change every run's identity) */
    int id_pos;                /* position in the run id's "eval.metrics=" line, written only when on
                                  (recall 1, nmi 2, map_r 3, r_precision 4 as before the registry; a
                                  new metric takes the next number; 0: shares a switch, not written) */
    const char *shares;        /* NULL, or the name of the entry whose switch (and computation) it shares */
    /* v (GHM_MAX_K): the values, one per K of o (NEEDS_K) or one. 0 or an error code. */
    int (*compute)(const struct ghm_eval_shared *s, const ghm_eval_opts *o, double *v, ghm_error *err);
} ghm_metric_ops;

int ghm_metric_count(void);
const ghm_metric_ops *ghm_metric_at(int i);
/* Registry position of mo (-1 when not registered). */
int ghm_metric_index(const ghm_metric_ops *mo);
/* The switch of mo in o: read, set (entries sharing a switch follow each other). */
int ghm_metric_on(const ghm_eval_opts *o, const ghm_metric_ops *mo);
void ghm_metric_switch(ghm_eval_opts *o, const ghm_metric_ops *mo, int on);
/* Values of mo present in m (0: not computed) and value j. */
int ghm_metric_n(const ghm_metrics *m, const ghm_metric_ops *mo);
double ghm_metric_v(const ghm_metrics *m, const ghm_metric_ops *mo, int j);
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
/* The selectable names joined by sep ("recall, map_r, r_precision, nmi, ami"). Returns out. */
const char *ghm_metric_names(const char *sep, char *out, size_t n);
/* The names of the switched-on metrics in run-identity order (id_pos), comma-separated:
 * the value of the run id's "eval.metrics=" line. Returns out. */
const char *ghm_metric_id_text(const ghm_eval_opts *o, char *out, size_t n);

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
