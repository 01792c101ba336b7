/* Distributed sweeps over MPI ranks (see mpi.h).
 *
 * How the work is handed out, and why this way
 * --------------------------------------------
 * Runs are coarse (seconds to hours) and few (tens to thousands), so the queue
 * needs little bandwidth but must balance long and short runs and must let
 * rank 0 train too. Two designs were considered:
 *
 *  1. An MPI-3 RMA counter (MPI_Win_allocate on rank 0, MPI_Fetch_and_op under
 *     MPI_Win_lock(MPI_LOCK_SHARED)). Passive-target RMA only completes when
 *     the target makes MPI progress, unless the network does the atomic in
 *     hardware. With Open MPI 4.1 that holds for osc/sm on one node and for
 *     osc/rdma on RDMA fabrics (InfiniBand via UCX), but over plain TCP
 *     between nodes the fetch-and-op is emulated in software and waits until
 *     rank 0 enters the MPI library, which it does not do while it trains: a
 *     rank asking for work would wait for rank 0's whole run. Which osc
 *     component is picked also depends on the installation (osc/pt2pt needs
 *     MPI_THREAD_MULTIPLE in 4.x, osc/ucx needs UCX).
 *
 *  2. A coordinator thread on rank 0 (chosen). It serves requests with
 *     two-sided messages (MPI_Iprobe / MPI_Recv / MPI_Send, tags below) that
 *     every transport supports, on one node (shared memory) or many (TCP,
 *     InfiniBand); rank 0's own training loop takes work from the same queue
 *     under a mutex and makes no MPI call while the coordinator runs, so
 *     MPI_THREAD_SERIALIZED is enough (asked for; Open MPI 4.1 provides it).
 *     The coordinator polls with MPI_Iprobe and sleeps 2 ms between polls, so
 *     it costs rank 0's training nothing measurable, and answers within
 *     milliseconds. If the library provides less than SERIALIZED, rank 0
 *     falls back to coordinating only (it then does not train).
 *
 * Protocol: a worker sends {status, 0} (TAG_REQ) where status is READY,
 * FAILED or INTERRUPTED (about its previous run) and receives {plan index,
 * position} (TAG_REP), index -1 meaning "no more work": the list is exhausted,
 * or some rank failed / was interrupted (then, like a single process stopping
 * at its first failure, nothing new is started; runs in flight finish). Each
 * worker receives exactly one -1, which is how the coordinator knows when all
 * workers are done.
 *
 * Waiting: Open MPI's blocking calls spin a core. A rank waiting for work or
 * for the other ranks to finish would steal a core from a rank still training
 * when the node is full, so every wait here is a nonblocking request tested
 * with short sleeps in between.
 *
 * Failure model: records are written atomically by each rank exactly as in a
 * single process, and a run is finished iff its record exists, so a rank that
 * dies (or the whole job, which mpirun aborts when one rank dies) loses only
 * the runs in flight; rerunning the same command selects what is missing.
 */
#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "runner/mpi.h"

#include "../core/threads.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if GHM_HAVE_MPI
#include <mpi.h>
#include <pthread.h>
#endif

int ghm_mpi_available(void) { return GHM_HAVE_MPI ? 1 : 0; }

int ghm_mpi_launched(void)
{
#if GHM_HAVE_MPI
    const char *off = getenv("GHM_MPI");
    if (off && strcmp(off, "0") == 0) return 0;
    /* Open MPI (mpirun / orted), PMIx (Open MPI, srun --mpi=pmix), PMI-1/2
     * (MPICH Hydra, Intel MPI, srun --mpi=pmi2), MVAPICH */
    static const char *vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MV2_COMM_WORLD_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v) return 1;
    }
#endif
    return 0;
}

static void single_process(ghm_mpi *m)
{
    memset(m, 0, sizeof *m);
    m->rank = 0;
    m->size = 1;
    m->local_size = 1;
    m->rank0_trains = 1;
    m->thread_level = -1;
}

int ghm_mpi_init(ghm_mpi *m, ghm_error *err)
{
    single_process(m);
#if GHM_HAVE_MPI
    if (!ghm_mpi_launched()) return 0;
    int inited = 0, provided = MPI_THREAD_SINGLE;
    MPI_Initialized(&inited);
    if (!inited) {
        if (MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
            return ghm_error_set(err, GHM_EFAIL, "MPI_Init_thread failed (launched by an MPI launcher, but MPI "
                                                 "could not start; set GHM_MPI=0 to run as one process)");
        m->active = 1;
    } else {
        MPI_Query_thread(&provided);
        m->active = 0; /* someone else owns MPI (a test harness): do not finalise it */
    }
    m->thread_level = provided;
    MPI_Comm_rank(MPI_COMM_WORLD, &m->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &m->size);
    MPI_Comm node;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, m->rank, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
        MPI_Comm_size(node, &m->local_size);
        MPI_Comm_free(&node);
    } else {
        const char *ls = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
        m->local_size = ls && atoi(ls) > 0 ? atoi(ls) : 1;
    }
    m->rank0_trains = provided >= MPI_THREAD_SERIALIZED;
    const char *co = getenv("GHM_MPI_RANK0_TRAINS"); /* "0": rank 0 only coordinates (tests, busy rank 0) */
    if (co && strcmp(co, "0") == 0) m->rank0_trains = 0;
    if (!m->active) m->active = 2; /* in use, but not ours to finalise */
#else
    (void)err;
#endif
    return 0;
}

void ghm_mpi_finalize(ghm_mpi *m)
{
#if GHM_HAVE_MPI
    if (m && m->active == 1) MPI_Finalize();
#endif
    if (m) m->active = 0;
}

int ghm_mpi_affinity_cpus(void)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
    return ghm_cores();
}

int ghm_mpi_default_threads(const ghm_mpi *m)
{
    int local = m && m->local_size > 0 ? m->local_size : 1;
    int t = ghm_cores() / local;
    int a = ghm_mpi_affinity_cpus();
    if (a < t) t = a;
    return t < 1 ? 1 : t;
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

uint64_t ghm_plan_hash(const ghm_experiment *e)
{
    uint64_t h = 14695981039346656037ULL;
    h = fnv1a(h, e->name, strlen(e->name) + 1);
    char buf[32];
    int k = snprintf(buf, sizeof buf, "%d;", e->n_runs);
    h = fnv1a(h, buf, (size_t)k);
    for (int i = 0; i < e->n_runs; i++) h = fnv1a(h, e->runs[i].run_id, strlen(e->runs[i].run_id) + 1);
    return h;
}

/* ---- work queue ---- */

void ghm_work_queue_init(ghm_work_queue *q, const int *idx, int n)
{
    q->idx = idx;
    q->n = n > 0 ? n : 0;
    q->next = 0;
    q->stopped = 0;
}

int ghm_work_queue_take(ghm_work_queue *q, int *pos)
{
    if (pos) *pos = -1;
    if (q->stopped || q->next >= q->n) return -1;
    if (pos) *pos = q->next;
    return q->idx[q->next++];
}

void ghm_work_queue_stop(ghm_work_queue *q) { q->stopped = 1; }

/* ---- waiting without spinning ---- */

#if GHM_HAVE_MPI
static void nap(int round)
{
    /* quick answers first (a reply is usually a few microseconds away), then
     * 2 ms naps: a waiting rank uses well under 1% of a core */
    struct timespec ts = {0, round < 20 ? 50000L : 2000000L};
    nanosleep(&ts, NULL);
}

static void wait_request(MPI_Request *r)
{
    for (int round = 0;; round++) {
        int done = 0;
        MPI_Test(r, &done, MPI_STATUS_IGNORE);
        if (done) return;
        nap(round);
    }
}
#endif

int ghm_mpi_allreduce_int(const ghm_mpi *m, int v, int op)
{
#if GHM_HAVE_MPI
    if (!m || !m->active || m->size <= 1) return v;
    MPI_Op o = op == GHM_MPI_MAX ? MPI_MAX : op == GHM_MPI_MIN ? MPI_MIN : MPI_SUM;
    int out = v;
    MPI_Request r;
    MPI_Iallreduce(&v, &out, 1, MPI_INT, o, MPI_COMM_WORLD, &r);
    wait_request(&r);
    return out;
#else
    (void)m;
    (void)op;
    return v;
#endif
}

int ghm_mpi_bcast_int(const ghm_mpi *m, int v)
{
#if GHM_HAVE_MPI
    if (!m || !m->active || m->size <= 1) return v;
    MPI_Request r;
    MPI_Ibcast(&v, 1, MPI_INT, 0, MPI_COMM_WORLD, &r);
    wait_request(&r);
#else
    (void)m;
#endif
    return v;
}

int ghm_mpi_check_plan(const ghm_mpi *m, const ghm_experiment *e, int *differs, ghm_error *err)
{
    uint64_t mine = ghm_plan_hash(e);
    if (differs) *differs = 0;
#if GHM_HAVE_MPI
    if (!m || !m->active || m->size <= 1) return 0;
    unsigned long long root = (unsigned long long)mine;
    MPI_Request r;
    MPI_Ibcast(&root, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD, &r);
    wait_request(&r);
    int differ = root != (unsigned long long)mine;
    if (differs) *differs = differ;
    int n_differ = ghm_mpi_allreduce_int(m, differ, GHM_MPI_SUM);
    int first = ghm_mpi_allreduce_int(m, differ ? m->rank : m->size, GHM_MPI_MIN);
    if (n_differ == 0) return 0;
    if (differ)
        return ghm_error_set(err, GHM_EINPUT,
                             "rank %d: experiment '%s' (%d runs) has plan hash %016llx but rank 0's is %016llx: "
                             "every rank must read the same experiment file",
                             m->rank, e->name, e->n_runs, (unsigned long long)mine, root);
    return ghm_error_set(err, GHM_EINPUT,
                         "%d of %d rank(s) (first: rank %d) parsed a different plan than rank 0 (plan hash "
                         "%016llx, %d runs): every rank must read the same experiment file",
                         n_differ, m->size, first, root, e->n_runs);
#else
    (void)m;
    (void)e;
    (void)err;
    (void)mine;
    return 0;
#endif
}

/* ---- the distributed sweep ---- */

#if GHM_HAVE_MPI
typedef struct {
    ghm_sweep_fn fn;
    void *user;
    int pos, n; /* position of the current run in rank 0's list, and its length */
} event_relay;

/* ghm_sweep_run sees a list of one run: report the global position instead */
static void relay(const ghm_sweep_event *ev, void *user)
{
    event_relay *r = user;
    if (!r->fn) return;
    ghm_sweep_event e = *ev;
    e.i = r->pos;
    e.n = r->n;
    r->fn(&e, r->user);
}

/* run plan index `index` (position pos) on this rank; counts it in *n_done
 * or *n_failed. The first failure's error is kept in *first (rc in *first_rc). */
static int run_index(const ghm_experiment *e, const char *out_dir, int index, int pos, const ghm_run_hooks *h,
                     event_relay *rel, int *n_done, int *n_failed, int *first_rc, ghm_error *first)
{
    rel->pos = pos;
    int nd = 0, nf = 0;
    ghm_error e1;
    ghm_error_clear(&e1);
    int rc = ghm_sweep_run(e, out_dir, &index, 1, h, relay, rel, &nd, &nf, &e1);
    *n_done += nd;
    *n_failed += nf;
    if (rc < 0 && *first_rc == 0) {
        *first_rc = rc;
        if (first) *first = e1;
    }
    return rc;
}

enum { TAG_REQ = 7301, TAG_REP = 7302 };
enum { REQ_READY = 0, REQ_FAILED = 1, REQ_INTERRUPTED = 2 };

typedef struct {
    ghm_work_queue q;
    pthread_mutex_t mu;
    int n_workers; /* remote ranks that still have to be told "no more work" */
} coordinator;

static void *coordinate(void *arg)
{
    coordinator *c = arg;
    int remaining = c->n_workers;
    int round = 0;
    while (remaining > 0) {
        int flag = 0;
        MPI_Status st;
        MPI_Iprobe(MPI_ANY_SOURCE, TAG_REQ, MPI_COMM_WORLD, &flag, &st);
        if (!flag) {
            nap(round++ < 20 ? 0 : 20);
            continue;
        }
        round = 0;
        int req[2], rep[2];
        MPI_Recv(req, 2, MPI_INT, st.MPI_SOURCE, TAG_REQ, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        pthread_mutex_lock(&c->mu);
        if (req[0] == REQ_INTERRUPTED) ghm_work_queue_stop(&c->q);
        rep[0] = ghm_work_queue_take(&c->q, &rep[1]);
        pthread_mutex_unlock(&c->mu);
        MPI_Send(rep, 2, MPI_INT, st.MPI_SOURCE, TAG_REP, MPI_COMM_WORLD);
        if (rep[0] < 0) remaining--;
    }
    return NULL;
}

static int stop_requested(const ghm_run_hooks *h) { return h && h->stop && *h->stop; }

/* rank 0's own training loop: takes work from the queue the coordinator serves;
 * a failed run does not stop it, an interrupt does */
static int local_worker(coordinator *c, const ghm_experiment *e, const char *out_dir, const ghm_run_hooks *h,
                        event_relay *rel, int *n_done, int *n_failed, ghm_error *err)
{
    int first_rc = 0;
    for (;;) {
        int pos, index;
        pthread_mutex_lock(&c->mu);
        if (stop_requested(h)) ghm_work_queue_stop(&c->q);
        index = ghm_work_queue_take(&c->q, &pos);
        pthread_mutex_unlock(&c->mu);
        if (index < 0) break;
        int rc = run_index(e, out_dir, index, pos, h, rel, n_done, n_failed, &first_rc, err);
        if (rc == GHM_EINTR) {
            pthread_mutex_lock(&c->mu);
            ghm_work_queue_stop(&c->q);
            pthread_mutex_unlock(&c->mu);
            return rc;
        }
    }
    if (stop_requested(h)) return ghm_error_set(err, GHM_EINTR, "interrupted");
    return first_rc;
}

/* any other rank: ask rank 0 for work until told there is none */
static int remote_worker(const ghm_experiment *e, const char *out_dir, const ghm_run_hooks *h, event_relay *rel,
                         int *n_done, int *n_failed, ghm_error *err)
{
    int first_rc = 0, status = REQ_READY, intr = 0;
    for (;;) {
        if (status == REQ_READY && stop_requested(h)) {
            status = REQ_INTERRUPTED;
            intr = 1;
        }
        int req[2] = {status, 0}, rep[2] = {-1, -1};
        MPI_Request r;
        MPI_Irecv(rep, 2, MPI_INT, 0, TAG_REP, MPI_COMM_WORLD, &r);
        MPI_Send(req, 2, MPI_INT, 0, TAG_REQ, MPI_COMM_WORLD);
        wait_request(&r);
        if (rep[0] < 0) break;
        if (rep[0] >= e->n_runs) {
            /* cannot happen when the plans agree (checked before); stay in the protocol */
            if (first_rc == 0)
                first_rc = ghm_error_set(err, GHM_EFAIL, "rank 0 sent run index %d, plan has %d runs", rep[0],
                                         e->n_runs);
            (*n_failed)++;
            continue;
        }
        int rc = run_index(e, out_dir, rep[0], rep[1], h, rel, n_done, n_failed, &first_rc, err);
        if (rc == GHM_EINTR) {
            status = REQ_INTERRUPTED;
            intr = 1;
        }
    }
    if (intr) return ghm_error_set(err, GHM_EINTR, "interrupted");
    return first_rc;
}
#endif

int ghm_mpi_sweep_run(const ghm_mpi *m, const ghm_experiment *e, const char *out_dir, const int *idx, int n_idx,
                      const ghm_run_hooks *h, ghm_sweep_fn fn, void *user, ghm_mpi_sweep_result *res,
                      ghm_error *err)
{
    memset(res, 0, sizeof *res);
    int rc = 0;
#if GHM_HAVE_MPI
    if (m && m->active && m->size > 1) {
        event_relay rel = {fn, user, 0, n_idx};
        rel.n = ghm_mpi_bcast_int(m, m->rank == 0 ? n_idx : 0);
        if (m->rank == 0) {
            coordinator c;
            ghm_work_queue_init(&c.q, idx, n_idx);
            pthread_mutex_init(&c.mu, NULL);
            c.n_workers = m->size - 1;
            if (m->rank0_trains) {
                pthread_t th;
                if (pthread_create(&th, NULL, coordinate, &c) != 0) {
                    coordinate(&c); /* no thread: coordinate only */
                } else {
                    rc = local_worker(&c, e, out_dir, h, &rel, &res->n_done, &res->n_failed, err);
                    pthread_join(th, NULL);
                }
            } else {
                coordinate(&c);
            }
            pthread_mutex_destroy(&c.mu);
        } else {
            rc = remote_worker(e, out_dir, h, &rel, &res->n_done, &res->n_failed, err);
        }
        res->n_done_all = ghm_mpi_allreduce_int(m, res->n_done, GHM_MPI_SUM);
        res->n_failed_all = ghm_mpi_allreduce_int(m, res->n_failed, GHM_MPI_SUM);
        res->n_interrupted_all = ghm_mpi_allreduce_int(m, rc == GHM_EINTR, GHM_MPI_SUM);
        return rc;
    }
#else
    (void)m;
#endif
    rc = ghm_sweep_run(e, out_dir, idx, n_idx, h, fn, user, &res->n_done, &res->n_failed, err);
    res->n_done_all = res->n_done;
    res->n_failed_all = res->n_failed;
    res->n_interrupted_all = rc == GHM_EINTR;
    return rc;
}
