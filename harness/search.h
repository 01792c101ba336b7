/* Hyper-parameter search: trial proposals (random, TPE) and the dynamic plan
 * of a search file (trials x folds, then the best setting x reproductions x
 * folds), rebuilt from the finished records alone.
 *
 * Determinism: trial i of a loss entry depends only on the file, the entry, i
 * and the results of trials 0 .. ghm_search_depends_on(i) - 1 (the trials of
 * the earlier batches). A resumed search, one spread over MPI ranks or
 * shards, and a fresh rerun therefore propose the same trials and pick the
 * same best setting. The search has no state file: its state is the records.
 *
 * Library code: nothing is printed.
 */
#ifndef GHM_SEARCH_H
#define GHM_SEARCH_H

#include "../core/error.h"
#include "experiment.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- proposals ---- */

/* TPE's start-up trials (a Latin hypercube) before it starts modelling:
 * ceil(trials / 3) in [5, 10], rounded up to whole batches, at most trials. */
int ghm_search_n_startup(const ghm_search_config *s);
/* Number of earlier trials whose results trial `trial` depends on: 0 for
 * random search and for TPE's start-up trials, else the trials of the earlier
 * batches, floor(trial / batch) * batch. */
int ghm_search_depends_on(const ghm_search_config *s, int trial);

/* Propose the values of trial `trial` (x_out: one per dimension; a choice is
 * its index). key identifies the loss entry (ghm_search_key). obs_x
 * (n_obs x sp->n, row-major) and obs_y (n_obs) are the earlier trials it
 * depends on, in trial order; obs_y NaN = failed (ranked worst). Objectives
 * are maximised. Trials n_obs .. trial - 1 (the earlier trials of trial's
 * batch) are recomputed, not read from obs_x. */
void ghm_search_propose(const ghm_search_config *s, const ghm_search_space *sp, uint64_t key, int trial,
                        const double *obs_x, const double *obs_y, int n_obs, double *x_out);
/* Key of a loss entry: a hash of the search seed, the entry's index and name. */
uint64_t ghm_search_key(const ghm_search_config *s, int loss_entry, const char *loss_name);

/* ---- statistics of a trial ---- */

/* Objective of one run record's validation metrics; NaN when absent. */

/* ---- the dynamic plan ---- */

/* Rebuild e->runs from the search state in out_dir (NULL: no records yet):
 * for every loss entry, the trials that can be proposed now (x folds), and,
 * once every trial of the entry has a result, the final runs of its best
 * setting (x reproductions x folds). *complete (may be NULL) gets 1 when the
 * plan is final (nothing waits on unfinished runs). Plan order: loss entry,
 * trials (trial, fold), then finals (reproduction, fold). */
int ghm_search_expand(ghm_experiment *e, const char *out_dir, int *complete, ghm_error *err);

#ifdef __cplusplus
}
#endif
#endif
