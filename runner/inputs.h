/* Checks of a plan against its data, before anything runs.
 *
 * What a run would only find out after it started (and record as a failure
 * that a plain rerun then skips) is checked once, up front, for every run
 * about to execute: the data set exists and loads (else the loader's message,
 * with how to get it), dataset.path is a directory, the split can be made
 * (folds of at least one image of every class, enough classes), the sampler
 * can draw batches of batch_size with m_per_class, training fits in the
 * machine's memory (estimated), and the evaluated parts hold more items than
 * the largest eval.recall_at K. Errors are GHM_EINPUT
 * "file:line:column: ..." at the key in the experiment file that decides
 * them. The data are loaded once per distinct data set (through the cache
 * when one is given, so the runs then reuse them).
 */
#ifndef GHM_INPUTS_H
#define GHM_INPUTS_H

#include "experiment/experiment.h"
#include "runner/run.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Check e->runs[idx[0..n_idx)] (all runs when idx is NULL). cache and
 * data_root may be NULL. */
int ghm_experiment_check_inputs(const ghm_experiment *e, const int *idx, int n_idx, ghm_data_cache *cache,
                                const char *data_root, ghm_error *err);

/* Estimated bytes one training run of r needs on (c, h, w) images: the
 * backbone's weights, activations and workspaces (mlp: counted from its
 * sizes; others: measured with glibc's mallinfo2 over one forward + backward
 * on 2 and on 4 images, extrapolated to train.batch_size), its parameters'
 * gradients and optimizer moments, and the float batch. *bytes = -1 when the
 * allocator cannot be asked. Errors: the backbone's own (bad shape). */
int ghm_run_memory_estimate(const ghm_run_spec *r, int c, int h, int w, double *bytes, ghm_error *err);
/* Physical memory of this machine in bytes (0 when unknown). */
double ghm_machine_memory_bytes(void);

#ifdef __cplusplus
}
#endif
#endif
