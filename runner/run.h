/* Executing one run (train, evaluate, record): what the sweep of `ghm run`
 * calls for each run it executes, in a single process, in one --shard of a job
 * array, or on each rank of an MPI work queue (runner/mpi.h).
 *
 * Library code: nothing is printed. Progress is reported through a callback;
 * a `volatile sig_atomic_t` stop flag (set by the CLI's signal handler) is
 * checked between batches and makes the run return GHM_EINTR without writing
 * a record (a run is finished iff its record.json exists and says "ok"). A run
 * that fails otherwise writes a failure record ("status": "failed").
 */
#ifndef GHM_RUN_H
#define GHM_RUN_H

#include "../core/error.h"
#include "../datasets/dataset.h"
#include "experiment/experiment.h"
#include "experiment/record.h"

#include <signal.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- dataset cache: data is loaded once per process, not once per run ---- */
typedef struct ghm_data_cache ghm_data_cache;
int ghm_data_cache_create(ghm_data_cache **out, ghm_error *err);
void ghm_data_cache_destroy(ghm_data_cache *c);
/* The dataset for o (loaded on first use; keyed by name, path, data_root and
 * the synthetic parameters). The cache owns it. */
int ghm_data_cache_get(ghm_data_cache *c, const ghm_dataset_opts *o, const ghm_dataset **out, ghm_error *err);
/* Number of loads performed so far (for tests). */
int ghm_data_cache_loads(const ghm_data_cache *c);

/* ---- progress ---- */
enum { GHM_RUN_PHASE_DATA = 0, GHM_RUN_PHASE_TRAIN = 1, GHM_RUN_PHASE_EVAL_VAL = 2, GHM_RUN_PHASE_EVAL_TEST = 3 };

typedef struct ghm_run_progress {
    int phase;                  /* GHM_RUN_PHASE_* */
    int epoch, epochs;          /* 1-based epoch */
    int batch, batches;         /* 1-based batch within the epoch (TRAIN) */
    double loss;                /* mean training loss over the epoch so far (NaN before the first batch) */
    double lr;                  /* current learning rate */
    double images_per_s;        /* training throughput over the run so far */
    double elapsed_s;           /* since the run started */
    double fraction;            /* of the run's training steps done, [0, 1] */
    const ghm_metric_set *val;  /* EVAL_VAL: the new validation metrics; else NULL */
    /* TRAIN: the step just taken, as it was taken (for tests of the loop's wiring) */
    double applied_lr;          /* learning rate the optimizer applied (ghm_trainer_last_lr) */
    double batch_loss;          /* loss value of this batch */
    int sampler_epoch, sampler_batch; /* the sampler batch trained on */
    int n;                      /* batch size */
    const int *idx;             /* (n) image indices into the training part of the split */
    const int *labels;          /* (n) their dense labels, as given to the loss */
} ghm_run_progress;

typedef void (*ghm_run_progress_fn)(const ghm_run_progress *p, void *user);

typedef struct ghm_run_hooks {
    ghm_run_progress_fn progress;   /* may be NULL */
    void *user;
    volatile sig_atomic_t *stop;    /* may be NULL; nonzero = stop at the next batch */
    ghm_data_cache *cache;          /* may be NULL: load the data for this run only */
    const char *data_root;          /* optional data directory override (tests) */
} ghm_run_hooks;

/* Train, evaluate and record one run into run_dir (created): record.json
 * (atomic) and, when r->save_embeddings, embeddings_test.npy / embeddings_test_labels.npy.
 * rec_out (may be NULL) receives the record (free with ghm_record_free).
 * Errors: GHM_ENUM "epoch E, batch B: <message>" on NaN/Inf, GHM_EINTR when
 * stopped, GHM_EINPUT for impossible settings, others from the modules. On
 * every error but GHM_EINTR a failure record is written (status "failed",
 * failure reason/epoch/batch); an interrupted run leaves no empty run_dir. */
int ghm_run_one(const ghm_run_spec *r, const char *run_dir, const ghm_run_hooks *h, ghm_record *rec_out,
                ghm_error *err);

/* ---- selecting and running a sweep ---- */

/* 1 when pattern matches the run: glob (fnmatch) or substring, on run id or loss name. */
int ghm_run_matches(const ghm_run_spec *r, const char *pattern);

typedef struct ghm_select_opts {
    const char *only;   /* NULL = all */
    int force;          /* 1: include finished runs */
    int shard_i, shard_n; /* 1-based shard I of N (N = 0: no sharding): index % N == I - 1 */
    int retry_failed;   /* 1: include runs whose record says "failed" (skipped otherwise) */
} ghm_select_opts;

/* Indices (plan order) of the runs to execute: those passing --only and
 * --shard, and unfinished unless force (a record that is invalid or does not
 * match the plan counts as unfinished; a failed run is skipped unless
 * retry_failed). idx must hold e->n_runs entries.
 * *n_selected_total (may be NULL) gets the count before the finished filter. */
int ghm_sweep_select(const ghm_experiment *e, const char *out_dir, const ghm_select_opts *o, int *idx, int *n_idx,
                     int *n_selected_total);

enum { GHM_SWEEP_START = 0, GHM_SWEEP_DONE = 1, GHM_SWEEP_FAILED = 2, GHM_SWEEP_SKIPPED = 3 };

typedef struct ghm_sweep_event {
    int kind;                 /* GHM_SWEEP_* */
    int i, n;                 /* position in the list (0-based) and list length */
    const ghm_run_spec *run;
    double seconds;           /* DONE/FAILED: wall time of the run */
    const ghm_error *err;     /* FAILED / SKIPPED: why */
} ghm_sweep_event;

typedef void (*ghm_sweep_fn)(const ghm_sweep_event *ev, void *user);

/* Run e->runs[idx[0..n_idx)] in order into <out_dir>/runs/<run-id>/. Each run
 * is trained under its lock (runner/lock.h): a run whose lock another process
 * holds, or whose record another process wrote since this process first
 * selected or ran a sweep, is
 * skipped with a GHM_SWEEP_SKIPPED event (err says who holds it). A run
 * that fails (non-finite loss, ...) gets a failure record and the sweep goes
 * on with the next run (the GHM_SWEEP_FAILED event's err says why); only an
 * interrupt (GHM_EINTR) stops it. *n_done gets the runs finished by this call,
 * *n_failed (may be NULL) the runs that failed. Returns 0 when every run
 * finished, GHM_EINTR when interrupted, else the first failure's code
 * (GHM_EINPUT reported as GHM_EFAIL) with err naming it:
 * "[N run(s) failed; the first: ]run <id> (<loss>, ...): <message>". */
int ghm_sweep_run(const ghm_experiment *e, const char *out_dir, const int *idx, int n_idx, const ghm_run_hooks *h,
                  ghm_sweep_fn fn, void *user, int *n_done, int *n_failed, ghm_error *err);

/* ---- the results directory and the experiment file it belongs to ---- */

/* <out_dir>/identity.json: which experiment file a results directory belongs
 * to, {"format": "ghm-identity-1", "name": <experiment name>, "file": <the
 * experiment file's name, without its directory>, "kind": "plain" | "search"},
 * so that two files with the same `name:` never share one directory unnoticed. */
#define GHM_IDENTITY_FILE "identity.json"

/* Make out_dir (created) the results directory of experiment e, loaded from
 * e->file, and copy e->file to <out_dir>/experiment.yaml. Call it holding the
 * directory's lock (ghm_lock_dir_path), so that concurrent `ghm run`s and
 * reports never see a half-written copy or remove each other's temporaries.
 *
 * The directory belongs to e when its identity.json names e's file name, name
 * and kind, or when its experiment.yaml is byte for byte e's file (the same
 * experiment under another file name). A directory from before identity.json
 * gets one when its experiment.yaml has e's name and kind (or cannot be
 * parsed: then nothing says otherwise). Any other directory is GHM_EINPUT
 * naming both files and the ways out (--out, another name:, --force), unless
 * force: then e takes the directory over (*took_over = 1; may be NULL).
 * write = 0 (a dry run): the check only, nothing is written. */
int ghm_results_dir_claim(const char *out_dir, const ghm_experiment *e, int write, int force, int *took_over,
                          ghm_error *err);

#ifdef __cplusplus
}
#endif
#endif
