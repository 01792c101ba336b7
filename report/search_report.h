/* Reports of a hyper-parameter search (files with a `search:` block):
 * search.csv, summary.{csv,md,tex}, paired.csv and the search plots, from
 * the plan (search/search.h) and the records. The concatenated evaluation
 * of the final fold models lives here too (runner/search_ensemble.c).
 *
 * Statistics over reproductions: the "separate" figure of a reproduction is
 * the mean of its k fold models' test metrics; the "concatenated" one
 * evaluates the k models' embeddings joined. Mean, sample std and the 95%
 * t confidence half-width over reproductions; paired differences against the
 * `compare_to` loss pair reproductions by index (same seed: same
 * initialisation, batches and folds), with a paired-t 95% interval and, from
 * 6 pairs on, the exact two-sided Wilcoxon signed-rank p-value.
 */
#ifndef GHM_SEARCH_REPORT_H
#define GHM_SEARCH_REPORT_H

#include "../core/error.h"
#include "experiment/experiment.h"
#include "report/stats.h" /* ghm_paired, ghm_stat_paired, ghm_stat_wilcoxon (moved there) */

#ifdef __cplusplus
extern "C" {
#endif

/* ---- concatenated evaluation ---- */
void ghm_ensemble_id(const char *const *member_ids, int k, char out[24]);
int ghm_ensemble_path(const char *out_dir, const char *id, char *buf, int n);
/* For every reproduction whose k final runs are finished and that has no
 * ensemble record yet: evaluate the concatenated embeddings, write the record.
 * *n_new: records written; *n_missing: reproductions whose embeddings are gone. */
int ghm_search_ensembles(const ghm_experiment *e, const char *out_dir, int *n_new, int *n_missing, ghm_error *err);

/* ---- warnings about a loss's search (report/search_flags.c) ---- */
struct ghm_tb;
typedef struct ghm_search_flags_in {
    const char *label;              /* the loss, as the report names it */
    const ghm_search_space *sp;
    int T, K;                       /* trials, folds */
    const double *trial_y;          /* (T) objective, mean over folds; NaN: not finished or failed */
    const double *fold_y;           /* (T x K) objective per fold */
    const double *trial_x;          /* (T x sp->n) searched values (a choice: its index) */
    int best;                       /* chosen trial, -1: none yet */
    int R;
    const double *rep_y;            /* (R) the chosen setting's validation objective per reproduction
                                       (mean over its folds); NaN where missing */
} ghm_search_flags_in;

/* Appends one Markdown list item per warning to out and returns their count:
 * - two finished trials with the same objective on every fold, bit for bit
 *   ("trained identically");
 * - the finished trials' objectives span less than the noise floor, the
 *   sample standard deviation of the chosen setting's objective over >= 2
 *   reproductions ("the space may be inert");
 * - the chosen value of a range within 5% of an edge, in the searched scale
 *   (log for log ranges) ("widen the range"). */
int ghm_search_flags(const ghm_search_flags_in *in, struct ghm_tb *out);

/* ---- the report ---- */
typedef struct ghm_search_report_result {
    int n_trials_done, n_trials_planned; /* over all tuned losses */
    int n_final_done, n_final_planned;   /* final runs */
    int n_failed;                        /* failed runs */
    int n_plots;
    char warning[256];
} ghm_search_report_result;

/* e must have been expanded against dir (ghm_search_expand). Writes
 * <dir>/search.csv, summary.csv, summary.md, summary.tex, paired.csv and
 * plots/search_*.{dat,gp} with their images in `formats` (GHM_PLOT_* bits of
 * plot.h; 0: png + pdf), through the sweep report's figure writer. */
int ghm_search_report_write(const char *dir, ghm_experiment *e, int plots, unsigned formats,
                            ghm_search_report_result *res, ghm_error *err);

#ifdef __cplusplus
}
#endif
#endif
