/* Aggregation of run records into summary tables (CSV, Markdown, LaTeX) and
 * plots (report/plot.h).
 *
 * Groups: one per (loss, combination of swept values); each aggregates its
 * seeds. Statistics over seeds: mean, sample std (n - 1) and the half-width of
 * the 95% confidence interval of the mean, t_{0.975, n-1} * std / sqrt(n)
 * (0 for n = 1). Hyper-parameters are selected on VALIDATION Recall@1, never on
 * the test set.
 */
#ifndef GHM_REPORT_H
#define GHM_REPORT_H

#include "../core/error.h"
#include "experiment/experiment.h"
#include "experiment/record.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- statistics ---- */
double ghm_stat_mean(const double *x, int n);      /* NaN for n = 0 */
double ghm_stat_std(const double *x, int n);       /* sample std (n - 1); 0 for n = 1, NaN for n = 0 */
double ghm_stat_t975(int dof);                     /* t quantile 0.975 (table for dof 1..30, expansion beyond) */
double ghm_stat_ci95(const double *x, int n);      /* t975(n-1) * std / sqrt(n); 0 for n = 1 */

#define GHM_SUM_MAX_SWEPT (GHM_MAX_SWEPT * 4)

typedef struct ghm_stat {
    int n;                 /* seeds with this metric */
    double mean, std, ci95;
} ghm_stat;

typedef struct ghm_group {
    char loss[32];
    int has[GHM_SUM_MAX_SWEPT];                     /* per summary swept column: 1 when set for this group */
    double value[GHM_SUM_MAX_SWEPT];
    char text[GHM_SUM_MAX_SWEPT][GHM_NAME_MAX];
    int n_members;
    int *members;                                   /* (n_members) indices into the summary's records */
    ghm_stat test[GHM_REC_MAX_METRICS];             /* per summary metric */
    ghm_stat val_recall1;                           /* validation Recall@1 over seeds (n = 0: none) */
} ghm_group;

typedef struct ghm_summary {
    const ghm_record *recs;                         /* not owned */
    int n_recs;
    int n_swept;                                    /* swept columns, in file order */
    char swept[GHM_SUM_MAX_SWEPT][GHM_NAME_MAX];    /* column name: the key, or "<loss>.<key>" (below) */
    char swept_key[GHM_SUM_MAX_SWEPT][GHM_NAME_MAX]; /* the key as the records name it */
    char swept_loss[GHM_SUM_MAX_SWEPT][32];         /* "" or the loss this column belongs to: a loss
                                                     * parameter (a key without a '.') that two or more
                                                     * losses sweep gets one column per loss, named
                                                     * "<loss>.<key>" (ghm.alpha, multi_similarity.alpha),
                                                     * in the tables and the figures alike */
    int n_metrics;                                  /* test metrics, canonical order */
    char metrics[GHM_REC_MAX_METRICS][GHM_REC_METRIC_NAME];
    int n_losses;                                   /* losses in file order */
    char losses[32][32];
    int n_groups;
    ghm_group *groups;                              /* plan order */
} ghm_summary;

/* Group records. e (may be NULL) gives loss and swept-column order. */
/* The summary column of swept key `key` of a run of loss `loss`, or -1. */
int ghm_summary_swept_col(const ghm_summary *s, const char *loss, const char *key);
/* The swept columns of a study from its (loss, key) pairs (a key a loss
 * sweeps; any order, repeats allowed): one column per key in first-seen
 * order, except a loss parameter (a key without a '.') that two or more
 * different losses sweep, which gets one column per loss (first-seen order),
 * named "<loss>.<key>", so ghm's alpha and multi_similarity's never share a
 * column or an axis. Writes names/keys/losses ("" when not qualified) and
 * returns the number of columns, -1 when more than max. Shared by the sweep
 * and the search reports. */
int ghm_swept_columns(const char *const *pair_loss, const char *const *pair_key, int n_pairs, int max,
                      char (*names)[GHM_NAME_MAX], char (*keys)[GHM_NAME_MAX], char (*losses)[32]);
int ghm_summary_build(const ghm_record *recs, int n, const ghm_experiment *e, ghm_summary *out, ghm_error *err);
void ghm_summary_free(ghm_summary *s);
/* Index of a metric in s->metrics, or -1. */
int ghm_summary_metric(const ghm_summary *s, const char *name);
/* Number of groups of a loss (> 1 means the loss was swept). */
int ghm_summary_loss_groups(const ghm_summary *s, const char *loss);
/* The group of `loss` with the best mean validation Recall@1, or -1 when none
 * has validation metrics. */
int ghm_summary_select_val(const ghm_summary *s, const char *loss);
/* For plots: best by validation Recall@1 if possible, else the loss's only
 * group, else best by test Recall@1 (*on_test = 1). -1 when the loss has no group. */
int ghm_summary_best(const ghm_summary *s, const char *loss, int *on_test);
/* Display name of a metric: short_form for table headers ("R@1", "RP"), else
 * for plot titles ("Recall@1", "R-precision"). Writes buf (size n), returns it. */
const char *ghm_metric_display(const char *m, int short_form, char *buf, size_t n);

/* Table texts (malloc'd). */
int ghm_summary_csv(const ghm_summary *s, char **out, ghm_error *err);
int ghm_summary_markdown(const ghm_summary *s, const char *title, char **out, ghm_error *err);
int ghm_summary_latex(const ghm_summary *s, const char *title, char **out, ghm_error *err);

typedef struct ghm_report_opts {
    int plots;               /* 1: write plots (default) */
    const char *gnuplot;     /* gnuplot command (default "gnuplot") */
    ghm_record_warn_fn warn; /* may be NULL: told about every bad record (message names the file) */
    void *warn_user;
    unsigned formats;        /* plot formats, GHM_PLOT_* bits of plot.h (0: png + pdf) */
    int html;                /* 1: write index.html (default) */
} ghm_report_opts;

typedef struct ghm_report_result {
    int n_records;           /* records used */
    int n_bad;               /* record.json files that did not parse or are invalid */
    int n_failed;            /* failed runs (listed in summary.md, left out of the statistics) */
    int n_at_chance;         /* runs whose Recall@1 never rose above chance (flagged in summary.md) */
    int n_stale;             /* records not in the experiment's plan (ignored) */
    int n_planned;           /* runs in the plan (0 when no experiment given) */
    int n_missing;           /* planned runs without a record */
    int n_groups;
    int n_plots;             /* figures made (each in every requested format) */
    int wrote_index;         /* 1: index.html written */
    char warning[512];       /* non-fatal problem (e.g. gnuplot missing: plots skipped) */
} ghm_report_result;

void ghm_report_opts_default(ghm_report_opts *o);
/* Read <dir>/runs/<id>/record.json, write <dir>/summary.{csv,md,tex},
 * <dir>/plots/ and <dir>/index.html. e (may be NULL) is the experiment (plan)
 * the directory belongs to: records outside the plan are ignored, missing runs
 * counted. */
int ghm_report_write(const char *dir, const ghm_experiment *e, const ghm_report_opts *o, ghm_report_result *res,
                     ghm_error *err);

/* ---- index.html (report/report_html.c) ----
 * One self-contained page per results directory (no network, no script): the
 * summary tables, the settings selected on validation, every figure (PNG shown,
 * PDF/SVG/.gp/.dat linked), the runs with their status and a link to each
 * record, and the experiment file. Every text in it is escaped, and nothing
 * found in the directory is inlined as HTML (a results directory may come from
 * someone else). plots/search*.png and plots/ *paired*.png (not made by this
 * report) are shown under "More figures", and every other top-level
 * .csv/.md/.tex file (e.g. search.csv, paired.csv) is linked. */
struct ghm_plot_list;
int ghm_report_html(const char *dir, const ghm_experiment *e, const ghm_summary *s,
                    const struct ghm_plot_list *plots, const ghm_report_result *res, ghm_error *err);

/* ---- cross-experiment table (report/report_combine.c) ----
 * For results directories d_1..d_n (each reported as above): one row per loss
 * (first appearance order), one column group per experiment (dataset x
 * protocol, from its experiment.yaml), cells Recall@1 and MAP@R of the loss's
 * setting selected on validation, in percent, mean +- 95% CI half-width over
 * seeds; best mean per column in bold. A search directory's column is the
 * setting its search chose and its final runs' test metrics over reproductions,
 * separate and concatenated (as its summary.csv). Columns on the same dataset
 * and protocol carry the experiment's name. Writes <prefix>.md and <prefix>.tex. */
typedef struct ghm_combine_result {
    int n_experiments, n_losses;
    char md_path[GHM_PATH_MAX + 8], tex_path[GHM_PATH_MAX + 8];
} ghm_combine_result;
int ghm_report_combine(const char *const *dirs, int n, const char *prefix, ghm_combine_result *res, ghm_error *err);
/* The Markdown table alone (malloc'd), for README. */
int ghm_report_combine_markdown(const char *const *dirs, int n, char **md, char **tex, ghm_combine_result *res,
                                ghm_error *err);

#ifdef __cplusplus
}
#endif
#endif
