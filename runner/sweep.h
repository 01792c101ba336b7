/* Running a whole experiment file: the sweep orchestration behind `ghm run`.
 *
 * ghm_experiment_sweep loads and checks the file (on every MPI rank), claims
 * its results directory, and runs what is not finished yet: a plain file in
 * one round; a file with a `search:` block in rounds, each planning the
 * trials (and final runs) that the finished records allow, until the whole
 * search is planned and run. Every rank goes through the same collective
 * steps in the same order, whatever fails where. The library prints nothing:
 * lines for the user go to ui->say, per-run progress to ui->progress and
 * ui->event. The report is left to the caller (outcome->report says which),
 * so that report/ stays above runner/.
 */
#ifndef GHM_SWEEP_H
#define GHM_SWEEP_H

#include "experiment/experiment.h"
#include "runner/lock.h"
#include "runner/mpi.h"
#include "runner/run.h"

#include <signal.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { GHM_SAY_INFO = 0, GHM_SAY_NOTE, GHM_SAY_WARN, GHM_SAY_ERROR } ghm_say_level;
/* One line for the user, without its newline: INFO for stdout as is; NOTE,
 * WARN and ERROR for stderr ("ghm: ", "ghm: warning: ", "ghm: error: "). */
typedef void (*ghm_say_fn)(ghm_say_level level, const char *text, void *user);

typedef struct ghm_sweep_args {
    const char *file;     /* the experiment file */
    const char *out;      /* --out (NULL: results) */
    ghm_select_opts sel;  /* --only, --force, --shard, --retry-failed */
    int dry;              /* --dry-run: plan and list, run nothing */
    long threads;         /* --threads (0: $GHM_THREADS, else the cores) */
} ghm_sweep_args;

typedef struct ghm_sweep_ui {
    ghm_say_fn say;                 /* required */
    /* the --dry-run listing (may be NULL) */
    void (*dry_run)(const ghm_experiment *e, const char *out_dir, const ghm_select_opts *sel, int n_sel, int n_idx,
                    void *user);
    void (*arm)(void *user);        /* runs start now (the CLI catches Ctrl-C from here); may be NULL */
    ghm_run_progress_fn progress;   /* per-run progress (may be NULL) */
    ghm_sweep_fn event;             /* run started / done / failed / skipped (may be NULL) */
    void *user;
    volatile sig_atomic_t *stop;    /* nonzero: stop at the next batch (may be NULL) */
} ghm_sweep_ui;

enum { GHM_SWEEP_REPORT_NONE = 0, GHM_SWEEP_REPORT_PLAIN = 1, GHM_SWEEP_REPORT_SEARCH = 2 };

typedef struct ghm_sweep_outcome {
    int report;           /* GHM_SWEEP_REPORT_*: the report rank 0 writes now (NONE on other ranks) */
    int bcast;            /* 1: every rank still broadcasts rank 0's final status (ghm_mpi_bcast_int) */
    int loaded;           /* 1: e holds the plan; free it with ghm_experiment_free */
    ghm_experiment e;
    char out_dir[GHM_PATH_MAX + 128];
} ghm_sweep_outcome;

/* Returns the exit status so far (0 ok, 1 a run failed, 2 bad input, 130
 * interrupted). When outcome->bcast, the caller writes the report named by
 * outcome->report (rank 0), then broadcasts the final status. */
int ghm_experiment_sweep(const ghm_mpi *mpi, const ghm_sweep_args *a, const ghm_sweep_ui *ui,
                         ghm_sweep_outcome *outcome);

/* The output directory must be usable before anything is written: not empty,
 * short enough for every file a run writes, and every existing part of it a
 * directory this process can write into. GHM_EINPUT (exit 2) otherwise.
 * out_opt is the --out text (NULL when not given), for the messages. */
int ghm_out_dir_check(const char *out_opt, const char *out_dir, ghm_error *err);

/* Check that out_dir belongs to experiment e (ghm_results_dir_claim) and,
 * unless a dry run, create it and copy the experiment file there, under the
 * directory's lock: concurrent `ghm run`s never remove each other's temporary
 * copy (a report holding the lock cleans up *.tmp). GHM_EINPUT (exit 2) for a
 * directory of another experiment file. Says (NOTE) when --force takes it over. */
int ghm_out_dir_claim(const char *out_dir, const ghm_experiment *e, int dry, int force, ghm_say_fn say, void *user,
                      ghm_error *err);

/* Take the results directory's lock (waiting for another process's report,
 * or its copy of the experiment file, to finish; said as NOTE) and remove the
 * temporary files that a killed process left behind. Returns 0 (release lk
 * with ghm_lock_release) or a negative error. */
int ghm_results_lock(const char *dir, ghm_lock *lk, ghm_say_fn say, void *user, ghm_error *err);

#ifdef __cplusplus
}
#endif

#endif
