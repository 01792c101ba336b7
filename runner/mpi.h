/* Sweeps across processes and machines: `mpirun -np N ghm run X.yaml`.
 *
 * Every rank parses the same experiment file; rank 0 checks that all ranks
 * hold the same plan (a hash of the experiment name and the run ids), selects
 * the unfinished runs and hands them out one at a time from a dynamic work
 * queue, so long and short runs balance. Rank 0 trains as well. Every rank
 * writes its records into the shared results folder exactly as a single
 * process would (atomic writes), so a rank that dies loses only its run in
 * flight and rerunning the same command finishes the rest.
 *
 * Built without MPI (GHM_HAVE_MPI == 0), or when the process was not started
 * by an MPI launcher, every function here works for a single process
 * (rank 0 of 1) and MPI is never initialised.
 *
 * Library code: nothing is printed; errors fill a ghm_error.
 */
#ifndef GHM_MPI_H
#define GHM_MPI_H

#include "../core/error.h"
#include "experiment/experiment.h"
#include "runner/run.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ghm_mpi {
    int active;     /* 1: MPI was initialised by ghm_mpi_init (and must be finalised) */
    int rank, size; /* this process in MPI_COMM_WORLD; 0 and 1 when not active */
    int local_size; /* ranks on this node (MPI_COMM_TYPE_SHARED); 1 when not active */
    int rank0_trains; /* 1: rank 0 trains too (a coordinator thread serves the queue);
                         0: rank 0 only coordinates (MPI without MPI_THREAD_SERIALIZED,
                         or GHM_MPI_RANK0_TRAINS=0 in the environment) */
    int thread_level; /* the MPI thread level provided (MPI_THREAD_*), -1 when not active */
} ghm_mpi;

/* 1 when the environment says an MPI launcher started this process
 * (mpirun/mpiexec of Open MPI, MPICH/Hydra or Intel MPI, srun with PMI/PMIx),
 * 0 otherwise. GHM_MPI=0 in the environment forces 0. Always 0 when built
 * without MPI. */
int ghm_mpi_launched(void);

/* 1 when this build has MPI support. */
int ghm_mpi_available(void);

/* Initialise MPI when launched by an MPI launcher (see ghm_mpi_launched),
 * else fill m for a single process without touching MPI (no singleton init:
 * it is slow and noisy). Returns 0 or GHM_EFAIL. */
int ghm_mpi_init(ghm_mpi *m, ghm_error *err);
/* MPI_Finalize when m->active. */
void ghm_mpi_finalize(ghm_mpi *m);

/* Number of CPUs this process may run on (sched_getaffinity; cores when unknown). */
int ghm_mpi_affinity_cpus(void);
/* Default threads per rank, so that N ranks x T threads do not oversubscribe
 * the node: max(1, min(cores / local_size, cpus in this rank's affinity mask)). */
int ghm_mpi_default_threads(const ghm_mpi *m);

/* 64-bit FNV-1a hash of the experiment name, the number of runs and every
 * run id in plan order: equal hashes = same plan. */
uint64_t ghm_plan_hash(const ghm_experiment *e);

/* Collective: every rank compares its plan hash with rank 0's. Returns 0 when
 * all agree; GHM_EINPUT on every rank otherwise (err says which ranks differ
 * on rank 0, and this rank's and rank 0's hash on a differing rank).
 * *differs (may be NULL) gets 1 on the ranks whose plan differs from rank 0's
 * (so that only rank 0 and those need to show the error). */
int ghm_mpi_check_plan(const ghm_mpi *m, const ghm_experiment *e, int *differs, ghm_error *err);

/* Small collectives over MPI_COMM_WORLD (identity when not active). They wait
 * with short sleeps rather than spinning, so an idle rank leaves its core to
 * the ranks still training. */
enum { GHM_MPI_SUM = 0, GHM_MPI_MAX = 1, GHM_MPI_MIN = 2 };
int ghm_mpi_allreduce_int(const ghm_mpi *m, int v, int op);
int ghm_mpi_bcast_int(const ghm_mpi *m, int v); /* rank 0's v on every rank */

/* ---- the work queue (rank 0) ---- */

typedef struct ghm_work_queue {
    const int *idx; /* plan indices, in the order handed out */
    int n;          /* length of idx */
    int next;       /* next position to hand out */
    int stopped;    /* 1: hand out nothing more (a run failed or was interrupted) */
} ghm_work_queue;

void ghm_work_queue_init(ghm_work_queue *q, const int *idx, int n);
/* The next plan index (and its 0-based position in the list, *pos), or -1
 * when the list is exhausted or the queue was stopped. */
int ghm_work_queue_take(ghm_work_queue *q, int *pos);
void ghm_work_queue_stop(ghm_work_queue *q);

/* ---- a distributed sweep ---- */

typedef struct ghm_mpi_sweep_result {
    int n_done;         /* runs finished (recorded) by this rank */
    int n_done_all;     /* ... by all ranks */
    int n_failed;       /* runs that failed on this rank (failure records written) */
    int n_failed_all;   /* ... on all ranks */
    int n_interrupted_all; /* ranks that were interrupted (signal) */
} ghm_mpi_sweep_result;

/* Collective: run the plan indices idx[0..n_idx) (meaningful on rank 0 only;
 * other ranks pass NULL, 0) over all ranks with a dynamic queue. Each rank
 * calls ghm_sweep_run for one run at a time with its hooks; fn receives the
 * events with i = the run's position in rank 0's list and n = n_idx. Like a
 * single-process sweep, a failed run gets a failure record and work goes on
 * being handed out; only an interrupt stops the handing out of new runs (runs
 * in flight on other ranks finish and are recorded). When not active it is
 * ghm_sweep_run. Returns this rank's result: 0, GHM_EINTR, or the error of the
 * first run that failed here (err names it); res is filled on every rank. */
int ghm_mpi_sweep_run(const ghm_mpi *m, const ghm_experiment *e, const char *out_dir, const int *idx, int n_idx,
                      const ghm_run_hooks *h, ghm_sweep_fn fn, void *user, ghm_mpi_sweep_result *res,
                      ghm_error *err);

#ifdef __cplusplus
}
#endif
#endif
