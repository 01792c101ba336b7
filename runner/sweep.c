/* Running a whole experiment file (runner/sweep.h): rounds of plan, select,
 * check inputs, run over the MPI ranks (or one process), until a plain file
 * is done or a search has planned and run everything. */
#include "runner/sweep.h"

#include "core/fsutil.h"
#include "core/json.h"
#include "core/threads.h"
#include "experiment/record.h"
#include "runner/inputs.h"
#include "search/search.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void sayf(ghm_say_fn say, void *user, ghm_say_level lvl, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static void sayf(ghm_say_fn say, void *user, ghm_say_level lvl, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (say) say(lvl, line, user);
}

static int say_error(const ghm_sweep_ui *ui, const ghm_error *err)
{
    ui->say(GHM_SAY_ERROR, err->msg[0] ? err->msg : ghm_error_name(err->code), ui->user);
    return ghm_error_exit_status(err->code ? err->code : GHM_EFAIL);
}

/* the exit status for a failed sweep (1 run failed, 2 bad input) */
static int failure_status(int rc)
{
    int status = ghm_error_exit_status(rc);
    if (status == 0 || status == 2) status = (rc == GHM_EINPUT) ? 2 : 1;
    return status;
}

int ghm_results_lock(const char *dir, ghm_lock *lk, ghm_say_fn say, void *user, ghm_error *err)
{
    char lp[GHM_PATH_MAX + 64], holder[256], sub[GHM_PATH_MAX + 64];
    if (ghm_lock_dir_path(dir, lp, sizeof lp) < 0) return ghm_error_set(err, GHM_EINPUT, "%s: path too long", dir);
    int lr = ghm_lock_take(lp, 0, lk, holder, sizeof holder, err);
    if (lr == 1) {
        sayf(say, user, GHM_SAY_NOTE,
             "waiting for %s (held by %s, which is writing a report or the directory's experiment file)", lp, holder);
        lr = ghm_lock_take(lp, 1, lk, NULL, 0, err);
    }
    if (lr < 0) return lr;
    ghm_remove_stale_tmp(dir);
    snprintf(sub, sizeof sub, "%s/plots", dir);
    ghm_remove_stale_tmp(sub);
    return 0;
}

int ghm_out_dir_claim(const char *out_dir, const ghm_experiment *e, int dry, int force, ghm_say_fn say, void *user,
                      ghm_error *err)
{
    int took = 0, rc;
    if (dry) {
        rc = ghm_results_dir_claim(out_dir, e, 0, force, &took, err);
        if (rc == 0 && took) sayf(say, user, GHM_SAY_INFO, "--force: %s would be taken over by %s", out_dir, e->file);
        return rc;
    }
    if ((rc = ghm_mkdirs(out_dir, err)) < 0) {
        ghm_error_prefix(err, "--out: cannot create the output directory");
        return err->code = GHM_EINPUT;
    }
    ghm_lock lk;
    if ((rc = ghm_results_lock(out_dir, &lk, say, user, err)) < 0) return rc;
    rc = ghm_results_dir_claim(out_dir, e, 1, force, &took, err);
    ghm_lock_release(&lk);
    if (rc == 0 && took) sayf(say, user, GHM_SAY_NOTE, "--force: %s now holds the results of %s", out_dir, e->file);
    return rc;
}

int ghm_out_dir_check(const char *out_opt, const char *out_dir, ghm_error *err)
{
    if (out_opt && !*out_opt) return ghm_error_set(err, GHM_EINPUT, "--out: empty output directory");
    /* <out>/runs/<16 hex>/embeddings_test_labels.npy.XXXXXX.tmp */
    size_t need = strlen(out_dir) + strlen("/runs/0123456789abcdef/embeddings_test_labels.npy.XXXXXX.tmp") + 1;
    if (need > GHM_PATH_MAX)
        return ghm_error_set(err, GHM_EINPUT, "--out: output path too long (%zu characters; at most %d with the run "
                                              "files under it): %.80s...",
                             strlen(out_dir), GHM_PATH_MAX - (int)(need - strlen(out_dir)), out_dir);
    char p[GHM_PATH_MAX + 128];
    snprintf(p, sizeof p, "%s", out_dir);
    /* the deepest part that exists */
    for (;;) {
        struct stat st;
        if (stat(p, &st) == 0) {
            if (!S_ISDIR(st.st_mode))
                return ghm_error_set(err, GHM_EINPUT, "--out: '%s' exists and is not a directory", p);
            if (access(p, W_OK | X_OK) != 0)
                return ghm_error_set(err, GHM_EINPUT, "--out: cannot write into '%s' (%s)", p, strerror(errno));
            return 0;
        }
        if (errno != ENOENT && errno != ENOTDIR)
            return ghm_error_set(err, GHM_EINPUT, "--out: cannot use '%s' (%s)", p, strerror(errno));
        char *slash = strrchr(p, '/');
        while (slash && slash > p && slash[1] == '\0') { /* trailing slashes */
            *slash = '\0';
            slash = strrchr(p, '/');
        }
        if (!slash) {
            snprintf(p, sizeof p, ".");
        } else if (slash == p) {
            p[1] = '\0';
        } else {
            *slash = '\0';
        }
    }
}

/* Warn (naming the file) about records of selected runs that are unreadable
 * or do not match the plan (they are redone), and count the failed runs
 * skipped because --retry-failed was not given. */
static void note_records(const ghm_experiment *e, const char *out_dir, const ghm_select_opts *sel,
                         const ghm_sweep_ui *ui, int *n_skipped)
{
    *n_skipped = 0;
    for (int i = 0; i < e->n_runs; i++) {
        const ghm_run_spec *r = &e->runs[i];
        if (sel->shard_n > 0 && r->index % sel->shard_n != sel->shard_i - 1) continue;
        if (!ghm_run_matches(r, sel->only)) continue;
        ghm_error ee;
        ghm_error_clear(&ee);
        int st = ghm_record_state_spec(out_dir, r, &ee);
        if (st == GHM_RUN_INVALID && !sel->force)
            sayf(ui->say, ui->user, GHM_SAY_WARN, "%s: the run will be redone", ee.msg);
        else if (st == GHM_RUN_FAILED && !sel->force && !sel->retry_failed)
            (*n_skipped)++;
    }
}

/* threads per process: --threads, else $GHM_THREADS, else (under MPI) the
 * node's cores shared by its ranks, else all cores */
static int set_threads(const ghm_mpi *mpi, const ghm_sweep_args *a, const ghm_sweep_ui *ui)
{
    const char *env_threads = getenv("GHM_THREADS");
    int threads = (int)a->threads;
    if (threads <= 0 && !(env_threads && *env_threads) && mpi->active) threads = ghm_mpi_default_threads(mpi);
    threads = ghm_threads_set(threads);
    if (mpi->size > 1 && mpi->rank == 0 && threads > ghm_mpi_affinity_cpus())
        sayf(ui->say, ui->user, GHM_SAY_WARN,
             "%d thread(s) per rank but rank 0 may run on %d CPU(s) only (the launcher bound it): "
             "use `mpirun --bind-to none` or `--map-by slot:PE=%d`",
             threads, ghm_mpi_affinity_cpus(), threads);
    return threads;
}

/* Every rank parses the file; an error is said by rank 0, or by the rank that
 * alone could not read it. Then the plans must agree, and rank 0 checks the
 * output directory. Returns 0, or the exit status. */
static int load_and_check(const ghm_mpi *mpi, const ghm_sweep_args *a, const ghm_sweep_ui *ui, ghm_sweep_outcome *o)
{
    int root = mpi->rank == 0;
    ghm_error err;
    ghm_error_clear(&err);
    int ok = ghm_experiment_load(a->file, &o->e, &err) == 0;
    int ok0 = ghm_mpi_bcast_int(mpi, ok);
    int all_ok = ghm_mpi_allreduce_int(mpi, ok, GHM_MPI_MIN);
    if (!ok && (root || ok0)) say_error(ui, &err);
    o->loaded = ok;
    if (!all_ok) return ok ? 2 : failure_status(err.code);
    int differs = 0;
    if (ghm_mpi_check_plan(mpi, &o->e, &differs, &err) < 0) {
        if (root || differs) say_error(ui, &err);
        return 2;
    }
    snprintf(o->out_dir, sizeof o->out_dir, "%s/%s", a->out ? a->out : "results", o->e.name);
    /* checked by rank 0 (it alone writes there first), before anything is written */
    int out_ok = root ? ghm_out_dir_check(a->out, o->out_dir, &err) == 0 : 1;
    if (!ghm_mpi_bcast_int(mpi, out_ok)) {
        if (root) say_error(ui, &err);
        return 2;
    }
    return 0;
}

typedef struct {
    const ghm_sweep_ui *ui;
    int skipped;
} event_relay;

static void relay_event(const ghm_sweep_event *ev, void *user)
{
    event_relay *r = user;
    if (ev->kind == GHM_SWEEP_SKIPPED) r->skipped++;
    if (r->ui->event) r->ui->event(ev, r->ui->user);
}

typedef struct {
    int threads, waiting_said, fail, status;
    ghm_data_cache *dcache; /* decoded data sets: the input check's, kept for the runs of every round */
    ghm_mpi_sweep_result total;
} sweep_state;

/* Rank 0: what this round runs. Returns 0 or a negative error (said). */
static int select_round(const ghm_mpi *mpi, const ghm_sweep_args *a, const ghm_sweep_ui *ui, ghm_sweep_outcome *o,
                        sweep_state *s, int round, int complete, int **idx, int *n_idx)
{
    ghm_experiment *e = &o->e;
    ghm_error err;
    ghm_error_clear(&err);
    int rc = 0, n_sel = 0, n_failed_skipped = 0;
    ghm_select_opts sel = a->sel;
    if (round > 0) sel.force = 0; /* --force reruns what was there at the start, once */
    /* whose directory it is, and the copy of the experiment file (before anything else is written) */
    if (round == 0) rc = ghm_out_dir_claim(o->out_dir, e, a->dry, a->sel.force, ui->say, ui->user, &err);
    if (rc == 0 && !(*idx = malloc((size_t)(e->n_runs > 0 ? e->n_runs : 1) * sizeof **idx)))
        rc = ghm_error_set(&err, GHM_ENOMEM, "out of memory");
    if (rc == 0) ghm_sweep_select(e, o->out_dir, &sel, *idx, n_idx, &n_sel);
    if (rc == 0) note_records(e, o->out_dir, &sel, ui, &n_failed_skipped);
    /* what the data decide (missing data set, folds, batch size) fails here, once, not per run */
    if (rc == 0 && round == 0 && *n_idx > 0) {
        if (!s->dcache && ghm_data_cache_create(&s->dcache, NULL) != 0) s->dcache = NULL; /* (then loaded apart) */
        rc = ghm_experiment_check_inputs(e, *idx, *n_idx, s->dcache, NULL, &err);
    }
    if (rc == 0 && a->dry) {
        if (ui->dry_run) ui->dry_run(e, o->out_dir, &a->sel, n_sel, *n_idx, ui->user);
        if (e->search && !complete)
            sayf(ui->say, ui->user, GHM_SAY_INFO,
                 "search: later trials and the final runs are planned as results come in (%d trials x %d "
                 "fold(s) per tuned loss, then %d reproduction(s) x %d fold(s) of the best setting)",
                 e->search->trials, e->search->folds >= 2 ? e->search->folds : 1, e->search->reproductions,
                 e->search->folds >= 2 ? e->search->folds : 1);
        if (e->search && e->search->halving && !complete)
            sayf(ui->say, ui->user, GHM_SAY_INFO,
                 "search: successive halving, %d rungs: the best 1/%d of each rung's trials go on at %d "
                 "times the length",
                 ghm_search_n_rungs(e->search), e->search->eta, e->search->eta);
    }
    if (rc < 0) {
        say_error(ui, &err);
        return rc;
    }
    if (!a->dry && (round == 0 || *n_idx > 0)) {
        char line[1024];
        int k;
        if (round == 0)
            k = snprintf(line, sizeof line, "%s: %d run(s) in the plan%s, %d selected, %d already finished, ", e->name,
                         e->n_runs, e->search && !complete ? " so far" : "", n_sel, n_sel - *n_idx - n_failed_skipped);
        else
            k = snprintf(line, sizeof line, "%s: search round %d: %d run(s) planned so far, ", e->name, round + 1,
                         e->n_runs);
        if (n_failed_skipped > 0 && k < (int)sizeof line)
            k += snprintf(line + k, sizeof line - (size_t)k,
                          "%d failed before (skipped; --retry-failed reruns them), ", n_failed_skipped);
        if (k < (int)sizeof line) k += snprintf(line + k, sizeof line - (size_t)k, "%d to run ", *n_idx);
        if (k < (int)sizeof line) {
            if (mpi->size > 1)
                snprintf(line + k, sizeof line - (size_t)k, "(%d ranks x %d thread(s)%s) -> %s", mpi->size,
                         s->threads, mpi->rank0_trains ? "" : ", rank 0 coordinates only", o->out_dir);
            else
                snprintf(line + k, sizeof line - (size_t)k, "(threads %d) -> %s", s->threads, o->out_dir);
        }
        ui->say(GHM_SAY_INFO, line, ui->user);
    }
    return 0;
}

/* Nothing to run this round: 1 when the sweep is done (or stopped), 0 to plan again (shards waiting for each other). */
static int idle_round(const ghm_mpi *mpi, const ghm_sweep_args *a, const ghm_sweep_ui *ui, const ghm_experiment *e,
                      int complete, sweep_state *s)
{
    volatile sig_atomic_t *stop = ui->stop;
    /* nothing to run here: done, or (shards) wait for the other shards' runs this round needs */
    if (!e->search || complete || a->sel.shard_n == 0 || (stop && *stop)) return 1;
    if (mpi->rank == 0 && !s->waiting_said) {
        sayf(ui->say, ui->user, GHM_SAY_INFO,
             "shard %d/%d: waiting for other shards to finish the runs the next trials depend on "
             "(Ctrl-C to stop; rerun to resume)",
             a->sel.shard_i, a->sel.shard_n);
        s->waiting_said = 1;
    }
    if (ui->arm) ui->arm(ui->user);
    sleep(2);
    if (stop && *stop) {
        s->total.n_interrupted_all = 1;
        return 1;
    }
    return 0;
}

/* Runs this round's selection over the ranks. Returns 1 when the sweep ends
 * here, 0 to go on with the next round, or a negative exit status. */
static int run_round(const ghm_mpi *mpi, const ghm_sweep_ui *ui, ghm_sweep_outcome *o, sweep_state *s, int *idx,
                     int n_idx)
{
    ghm_error err;
    ghm_error_clear(&err);
    s->waiting_said = 0;
    if (ui->arm) ui->arm(ui->user);
    int ok = s->dcache || ghm_data_cache_create(&s->dcache, &err) == 0;
    if (!ghm_mpi_allreduce_int(mpi, ok, GHM_MPI_MIN)) {
        if (!ok) say_error(ui, &err);
        return -1;
    }
    event_relay relay = {ui, 0};
    ghm_run_hooks hooks = {ui->progress, ui->user, ui->stop, s->dcache, NULL};
    ghm_mpi_sweep_result res;
    int rc = ghm_mpi_sweep_run(mpi, &o->e, o->out_dir, idx, n_idx, &hooks, relay_event, &relay, &res, &err);
    if (relay.skipped > 0)
        sayf(ui->say, ui->user, GHM_SAY_INFO,
             "%d run(s) skipped: another process is running or has finished them (their records will be in %s/runs)",
             relay.skipped, o->out_dir);
    s->total.n_done_all += res.n_done_all;
    s->total.n_failed_all += res.n_failed_all;
    s->total.n_interrupted_all += res.n_interrupted_all;
    /* this rank's outcome, then everyone's: failed runs were recorded and the
     * sweep (and a search) went on; the status is 1 at the end (after the report) */
    int f = 0;
    if (rc < 0 && rc != GHM_EINTR) f = res.n_failed > 0 ? 1 : failure_status(rc);
    if (rc < 0 && rc != GHM_EINTR && res.n_failed == 0) say_error(ui, &err);
    f = ghm_mpi_allreduce_int(mpi, f, GHM_MPI_MAX);
    if (f > s->fail) s->fail = f;
    if (res.n_interrupted_all > 0 || (f && res.n_failed_all == 0)) return 1;
    return o->e.search ? 0 : 1;
}

/* The rounds. Returns 0 when they ran (s->status says how), or an exit status
 * to return at once (dry run, bad input). */
static int run_rounds(const ghm_mpi *mpi, const ghm_sweep_args *a, const ghm_sweep_ui *ui, ghm_sweep_outcome *o,
                      sweep_state *s, int *early)
{
    int root = mpi->rank == 0, differs = 0;
    ghm_error err;
    ghm_error_clear(&err);
    *early = 0;
    for (int round = 0;; round++) {
        int complete = 1, rc = 0;
        if (o->e.search) {
            int ok_x = ghm_search_expand(&o->e, o->out_dir, &complete, &err) == 0;
            if (!ghm_mpi_allreduce_int(mpi, ok_x, GHM_MPI_MIN)) {
                if (!ok_x) say_error(ui, &err);
                s->status = 2;
                return 0;
            }
            if (ghm_mpi_check_plan(mpi, &o->e, &differs, &err) < 0) {
                if (root || differs) say_error(ui, &err);
                s->status = 2;
                return 0;
            }
        }
        /* rank 0 selects what to run (others must not look at the results folder:
         * a fast rank could already have finished a run) */
        int *idx = NULL, n_idx = 0;
        if (root) rc = select_round(mpi, a, ui, o, s, round, complete, &idx, &n_idx);
        rc = ghm_mpi_bcast_int(mpi, rc);
        if (rc < 0 || a->dry) {
            free(idx);
            *early = 1;
            return rc < 0 ? failure_status(rc) : 0;
        }
        int n_run = ghm_mpi_bcast_int(mpi, n_idx);
        if (n_run == 0) {
            free(idx);
            if (idle_round(mpi, a, ui, &o->e, complete, s)) return 0;
            continue;
        }
        int end = run_round(mpi, ui, o, s, idx, n_idx);
        free(idx);
        if (end < 0) {
            *early = 1;
            return 1;
        }
        if (end) return 0;
    }
}

int ghm_experiment_sweep(const ghm_mpi *mpi, const ghm_sweep_args *a, const ghm_sweep_ui *ui,
                         ghm_sweep_outcome *o)
{
    int root = mpi->rank == 0;
    memset(o, 0, sizeof *o);
    sweep_state s;
    memset(&s, 0, sizeof s);
    s.threads = set_threads(mpi, a, ui);
    int st = load_and_check(mpi, a, ui, o);
    if (st) return st;

    int early = 0;
    st = run_rounds(mpi, a, ui, o, &s, &early);
    ghm_data_cache_destroy(s.dcache);
    if (early) return st;

    ghm_mpi_sweep_result res = s.total;
    int status = s.status;
    if (status == 0 && res.n_interrupted_all > 0) {
        if (root)
            sayf(ui->say, ui->user, GHM_SAY_NOTE,
                 "interrupted: %d run(s) finished and recorded%s; the run(s) in flight were not recorded. "
                 "Rerun the same command to resume.",
                 res.n_done_all, res.n_failed_all > 0 ? " (some failed)" : "");
        status = 130;
    } else if (status == 0 && s.fail && res.n_failed_all == 0) {
        status = s.fail;
    }
    o->bcast = 1;
    if (status != 0 || !root) return status ? status : s.fail; /* rank 0 decides and tells everyone */
    if (res.n_failed_all > 0) {
        sayf(ui->say, ui->user, GHM_SAY_NOTE,
             "%d run(s) failed (failure records in %s/runs; `ghm run --retry-failed` reruns them)", res.n_failed_all,
             o->out_dir);
        status = 1;
    }

    /* rank 0: report (when the whole plan is finished, or anything exists when not sharded) */
    int missing = 0, finished = 0;
    for (int i = 0; i < o->e.n_runs; i++) {
        ghm_error ee;
        int rs = ghm_record_state_spec(o->out_dir, &o->e.runs[i], &ee);
        missing += rs == GHM_RUN_MISSING || rs == GHM_RUN_INVALID;
        finished += rs == GHM_RUN_FINISHED;
    }
    if (mpi->size > 1)
        sayf(ui->say, ui->user, GHM_SAY_INFO, "all %d ranks done: %d run(s) finished", mpi->size, res.n_done_all);
    if (a->sel.shard_n > 0 && missing > 0)
        sayf(ui->say, ui->user, GHM_SAY_INFO,
             "shard %d/%d done; %d run(s) of the plan still missing (other shards): run `ghm report %s` when all "
             "shards are finished",
             a->sel.shard_i, a->sel.shard_n, missing, o->out_dir);
    else if (finished == 0)
        sayf(ui->say, ui->user, GHM_SAY_INFO, "no finished runs to report%s",
             res.n_failed_all > 0 ? "" : " (selection empty)");
    else
        o->report = o->e.search ? GHM_SWEEP_REPORT_SEARCH : GHM_SWEEP_REPORT_PLAIN;
    return status;
}
