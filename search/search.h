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
#include "experiment/experiment.h"

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

/* ---- successive halving (search.halving; docs/search.md) ----
 *
 * Rung 0 trains every trial at min_fraction of the full length; after each
 * rung the best floor(n / eta) (at least 1) of its n trials go on to the next
 * rung, eta times as long; the last rung is the full length. Rung r < last has
 * the fraction min_fraction * eta^r; the first rung whose fraction reaches
 * 0.99 is the last (so {eta: 3, min_fraction: 0.111} has rungs 1/9, 1/3, 1).
 * A rung's length is whole steps per epoch: round(fraction x steps_per_epoch)
 * with the epochs (and so the schedule, warm-up and evaluations, which are in
 * epochs) unchanged. Without halving there is one rung, the full length. */
#define GHM_SEARCH_MAX_RUNGS 16
/* Rungs of the search (1 without halving); may exceed GHM_SEARCH_MAX_RUNGS
 * (the configuration refuses such a file). */
int ghm_search_n_rungs(const ghm_search_config *s);
/* Trials that run at rung `rung`: all trials at rung 0, then max(1, floor(n / eta)). */
int ghm_search_rung_trials(const ghm_search_config *s, int rung);
/* Trial runs of one tuned loss entry over all rungs, per fold. */
int ghm_search_trial_slots(const ghm_search_config *s);
/* Steps per epoch of rung `rung` when the full length has `spe` per epoch. */
int ghm_search_rung_steps_per_epoch(const ghm_search_config *s, int rung, int spe);
/* Promotion: the k best of n trials (objective y, maximised; NaN = failed,
 * ranked last; ties go to the lower trial index). out (k) gets the chosen
 * trials in increasing trial order. Deterministic. */
void ghm_search_promote(const double *y, const int *trial, int n, int k, int *out);

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
