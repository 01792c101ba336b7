/* `ghm run X.yaml` and `ghm report results/<name>`. */
#include "cli.h"

#include "../core/json.h"
#include "../core/progress.h"
#include "../core/threads.h"
#include "../harness/experiment.h"
#include "../harness/inputs.h"
#include "../harness/lock.h"
#include "../harness/mpi.h"
#include "../harness/record.h"
#include "../harness/report.h"
#include "../harness/run.h"
#include "../harness/search.h"
#include "../harness/search_report.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <errno.h>
#include <unistd.h>

static volatile sig_atomic_t g_stop = 0;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void install_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* ---- progress display ---- */

/* Under MPI (more than one rank) every line starts with "[rank r/N] " and
 * there are no '\r' bars: mpirun interleaves the ranks' output line by line. */
static char g_prefix[48] = "";

typedef struct {
    ghm_progress bar;     /* per-run progress */
    int tty;
    int ranks;            /* ranks sharing the sweep (1 without MPI) */
    int done;             /* finished so far (by this process) */
    int failed;           /* failed so far (by this process) */
    int skipped;          /* skipped: another process holds or finished them */
    double done_seconds;  /* their total time */
    double t_start;
    char label[64];       /* "  train", or "[rank r/N]   train" */
} run_ui;

static void format_swept(const ghm_run_spec *r, char *buf, size_t n)
{
    int k = snprintf(buf, n, "%s", r->loss);
    for (int i = 0; i < r->n_swept && k > 0 && (size_t)k < n; i++)
        k += snprintf(buf + k, n - (size_t)k, " %s=%s", r->swept_name[i], r->swept_text[i]);
    if (k > 0 && (size_t)k < n) k += snprintf(buf + k, n - (size_t)k, " seed=%llu", (unsigned long long)r->seed);
    if (r->role != GHM_ROLE_PLAIN && k > 0 && (size_t)k < n)
        snprintf(buf + k, n - (size_t)k, r->role == GHM_ROLE_TRIAL ? " trial=%d fold=%d" : " final rep=%d fold=%d",
                 r->role == GHM_ROLE_TRIAL ? r->trial : r->reproduction, r->split.fold);
}

static void on_progress(const ghm_run_progress *p, void *user)
{
    run_ui *ui = user;
    if (p->phase == GHM_RUN_PHASE_EVAL_VAL && p->val) {
        double r1;
        if (ghm_metric_set_find(p->val, "recall@1", &r1)) {
            ghm_progress_finish(&ui->bar);
            printf("%s    epoch %d/%d: validation Recall@1 %.2f%%\n", g_prefix, p->epoch, p->epochs, 100 * r1);
            fflush(stdout);
        }
        return;
    }
    if (p->phase != GHM_RUN_PHASE_TRAIN) return;
    ghm_progress_info info;
    ghm_progress_info_init(&info);
    info.label = ui->label;
    info.epoch = p->epoch;
    info.epochs = p->epochs;
    info.batch = p->batch;
    info.batches = p->batches;
    info.loss = p->loss;
    info.images_per_s = p->images_per_s;
    int force = p->batch == p->batches && p->epoch == p->epochs;
    ghm_progress_update(&ui->bar, p->fraction, &info, force);
}

static void on_sweep(const ghm_sweep_event *ev, void *user)
{
    run_ui *ui = user;
    char what[512], eta[32] = "?";
    format_swept(ev->run, what, sizeof what);
    if (ev->kind == GHM_SWEEP_SKIPPED) {
        ui->skipped++;
        printf("%s[run %d/%d] %s\n", g_prefix, ev->i + 1, ev->n, ev->err ? ev->err->msg : "skipped");
        fflush(stdout);
        return;
    }
    if (ev->kind == GHM_SWEEP_START) {
        /* runs still to start, shared by the ranks, at this process's pace */
        if (ui->done > 0)
            ghm_format_duration(eta, sizeof eta,
                                ui->done_seconds / ui->done * (double)(ev->n - ev->i) / (ui->ranks > 0 ? ui->ranks : 1));
        printf("%s[run %d/%d] %s  %s  (sweep ETA %s)\n", g_prefix, ev->i + 1, ev->n, ev->run->run_id, what, eta);
        fflush(stdout);
        ghm_progress_init(&ui->bar, stdout, ui->tty, ui->tty ? 0.1 : 10.0);
        return;
    }
    ghm_progress_finish(&ui->bar);
    char dur[32];
    ghm_format_duration(dur, sizeof dur, ev->seconds);
    if (ev->kind == GHM_SWEEP_DONE) {
        ui->done++;
        ui->done_seconds += ev->seconds;
        printf("%s    done in %s (run %s)\n", g_prefix, dur, ev->run->run_id);
    } else if (ev->err && ev->err->code != GHM_EINTR) {
        ui->failed++;
        fflush(stdout);
        fprintf(stderr, "%sghm: run failed after %s (failure recorded; the sweep goes on): %s\n", g_prefix, dur,
                ev->err->msg);
        fflush(stderr);
    }
    fflush(stdout);
}

/* ---- ghm run ---- */

int ghm_cli_print_report_result(const char *dir, const ghm_report_result *res)
{
    printf("report: %d run(s) in %d setting(s)", res->n_records, res->n_groups);
    if (res->n_planned > 0) printf(", %d of %d planned run(s) missing", res->n_missing, res->n_planned);
    printf("\n  %s/summary.md\n  %s/summary.csv\n  %s/summary.tex\n", dir, dir, dir);
    if (res->n_plots > 0) printf("  %s/plots/ (%d plot(s))\n", dir, res->n_plots);
    if (res->wrote_index) printf("  %s/index.html\n", dir);
    if (res->n_failed > 0)
        fprintf(stderr, "ghm: warning: %d failed run(s) left out of the statistics (listed in %s/summary.md)\n",
                res->n_failed, dir);
    if (res->n_at_chance > 0)
        fprintf(stderr,
                "ghm: warning: %d run(s) never rose above chance-level Recall@1 (flagged in %s/summary.md)\n",
                res->n_at_chance, dir);
    if (res->n_bad > 0) fprintf(stderr, "ghm: warning: %d unreadable or invalid record(s) ignored\n", res->n_bad);
    if (res->n_stale > 0)
        fprintf(stderr, "ghm: warning: %d record(s) not in the current experiment plan ignored\n", res->n_stale);
    if (res->warning[0]) fprintf(stderr, "ghm: warning: %s\n", res->warning);
    return 0;
}

/* Take the results directory's lock (waiting for another process's report,
 * or its copy of the experiment file, to finish) and remove the temporary
 * files that a killed process left behind. Returns 0 (the caller releases lk)
 * or a negative error. */
static int take_report_lock(const char *dir, ghm_lock *lk, ghm_error *err)
{
    char lp[GHM_PATH_MAX + 64], holder[256], sub[GHM_PATH_MAX + 64];
    if (ghm_lock_dir_path(dir, lp, sizeof lp) < 0) return ghm_error_set(err, GHM_EINPUT, "%s: path too long", dir);
    int lr = ghm_lock_take(lp, 0, lk, holder, sizeof holder, err);
    if (lr == 1) {
        fprintf(stderr, "ghm: waiting for %s (held by %s, which is writing a report or the directory's experiment "
                        "file)\n",
                lp, holder);
        lr = ghm_lock_take(lp, 1, lk, NULL, 0, err);
    }
    if (lr < 0) return lr;
    ghm_remove_stale_tmp(dir);
    snprintf(sub, sizeof sub, "%s/plots", dir);
    ghm_remove_stale_tmp(sub);
    return 0;
}

/* Check that out_dir belongs to experiment e (ghm_results_dir_claim) and,
 * unless a dry run, create it and copy the experiment file there, under the
 * directory's lock: concurrent `ghm run`s never remove each other's temporary
 * copy (a report holding the lock cleans up *.tmp). GHM_EINPUT (exit 2) for a
 * directory of another experiment file. */
static int claim_out_dir(const char *out_dir, const ghm_experiment *e, int dry, int force, ghm_error *err)
{
    int took = 0, rc;
    if (dry) {
        rc = ghm_results_dir_claim(out_dir, e, 0, force, &took, err);
        if (rc == 0 && took) printf("--force: %s would be taken over by %s\n", out_dir, e->file);
        return rc;
    }
    if ((rc = ghm_mkdirs(out_dir, err)) < 0) {
        ghm_error_prefix(err, "--out: cannot create the output directory");
        return err->code = GHM_EINPUT;
    }
    ghm_lock lk;
    if ((rc = take_report_lock(out_dir, &lk, err)) < 0) return rc;
    rc = ghm_results_dir_claim(out_dir, e, 1, force, &took, err);
    ghm_lock_release(&lk);
    if (rc == 0 && took) fprintf(stderr, "ghm: --force: %s now holds the results of %s\n", out_dir, e->file);
    return rc;
}

/* Write the report under the results directory's lock. */
int ghm_cli_report_locked(const char *dir, const ghm_experiment *e, const ghm_report_opts *ro, ghm_report_result *rr,
                         ghm_error *err)
{
    ghm_lock lk;
    int rc = take_report_lock(dir, &lk, err);
    if (rc < 0) return rc;
    rc = ghm_report_write(dir, e, ro, rr, err);
    ghm_lock_release(&lk);
    return rc;
}

void ghm_cli_warn_record(const char *msg, void *user)
{
    (void)user;
    fprintf(stderr, "ghm: warning: %s (ignored)\n", msg);
}

/* the exit status for a failed sweep (1 run failed, 2 bad input) */
static int failure_status(int rc)
{
    int status = ghm_error_exit_status(rc);
    if (status == 0 || status == 2) status = (rc == GHM_EINPUT) ? 2 : 1;
    return status;
}

static void print_dry_run(const ghm_experiment *e, const char *out_dir, const ghm_select_opts *sel, int n_sel,
                          int n_idx)
{
    printf("%s: %d run(s) in the plan, %d selected, %d to run; output %s\n", e->name, e->n_runs, n_sel, n_idx,
           out_dir);
    printf("%5s  %-16s  %-9s  %-20s  %s\n", "index", "run id", "finished", "loss", "swept / seed");
    ghm_select_opts all = *sel;
    all.force = 1;
    int *sidx = malloc((size_t)(e->n_runs > 0 ? e->n_runs : 1) * sizeof *sidx);
    int ns = 0;
    if (sidx) ghm_sweep_select(e, out_dir, &all, sidx, &ns, NULL);
    for (int k = 0; k < ns; k++) {
        const ghm_run_spec *r = &e->runs[sidx[k]];
        char sw[512];
        int o = 0;
        sw[0] = '\0';
        for (int s = 0; s < r->n_swept && o < (int)sizeof sw; s++)
            o += snprintf(sw + o, sizeof sw - (size_t)o, "%s=%s ", r->swept_name[s], r->swept_text[s]);
        if (o < (int)sizeof sw) o += snprintf(sw + o, sizeof sw - (size_t)o, "seed=%llu", (unsigned long long)r->seed);
        if (r->role != GHM_ROLE_PLAIN && o < (int)sizeof sw)
            snprintf(sw + o, sizeof sw - (size_t)o, r->role == GHM_ROLE_TRIAL ? " trial=%d fold=%d" : " final rep=%d fold=%d",
                     r->role == GHM_ROLE_TRIAL ? r->trial : r->reproduction, r->split.fold);
        ghm_error ee;
        int st = ghm_record_state_spec(out_dir, r, &ee);
        printf("%5d  %-16s  %-9s  %-20s  %s\n", r->index, r->run_id,
               st == GHM_RUN_FINISHED ? "yes" : st == GHM_RUN_FAILED ? "failed" : st == GHM_RUN_INVALID ? "invalid" : "no",
               r->loss, sw);
    }
    free(sidx);
}

/* Warn (naming the file) about records of selected runs that are unreadable
 * or do not match the plan (they are redone), and count the failed runs
 * skipped because --retry-failed was not given. */
static void note_records(const ghm_experiment *e, const char *out_dir, const ghm_select_opts *sel, int *n_skipped)
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
            fprintf(stderr, "ghm: warning: %s: the run will be redone\n", ee.msg);
        else if (st == GHM_RUN_FAILED && !sel->force && !sel->retry_failed)
            (*n_skipped)++;
    }
}

/* The output directory must be usable before anything is written: not empty,
 * short enough for every file a run writes, and every existing part of it a
 * directory this process can write into. GHM_EINPUT (exit 2) otherwise. */
static int check_out_dir(const char *out_opt, const char *out_dir, ghm_error *err)
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

/* Ensembles (concatenated evaluation) of finished reproductions, then the
 * search report. Returns the exit status. */
int ghm_cli_write_search_report(const char *out_dir, ghm_experiment *e, int plots, unsigned formats)
{
    ghm_error err;
    ghm_error_clear(&err);
    /* the same lock as the sweep report: two reports (or a report and a
     * shard's final round) never interleave their ensemble records or files */
    ghm_lock lk;
    if (take_report_lock(out_dir, &lk, &err) < 0) return ghm_cli_fail(&err);
    int n_new = 0, n_missing = 0;
    ghm_search_report_result rr;
    int rc = ghm_search_ensembles(e, out_dir, &n_new, &n_missing, &err);
    if (rc >= 0) rc = ghm_search_report_write(out_dir, e, plots, formats, &rr, &err);
    ghm_lock_release(&lk);
    if (rc < 0) return ghm_cli_fail(&err);
    if (n_new) printf("concatenated evaluation: %d reproduction(s) evaluated\n", n_new);
    if (n_missing)
        fprintf(stderr,
                "ghm: warning: %d reproduction(s) have no concatenated evaluation and their test embeddings are gone "
                "(rerun their final runs with --force --only <id> to make them)\n",
                n_missing);
    printf("report: %s/summary.md (search: %d of %d trials, %d of %d final runs%s; %d plot(s))\n", out_dir,
           rr.n_trials_done, rr.n_trials_planned, rr.n_final_done, rr.n_final_planned,
           rr.n_failed ? ", some runs failed" : "", rr.n_plots);
    if (rr.warning[0]) fprintf(stderr, "ghm: warning: %s\n", rr.warning);
    return 0;
}

typedef struct {
    const char *file, *out;
    ghm_select_opts sel;
    int dry;
    long threads; /* 0 = default */
} run_args;

/* Everything after option parsing; every rank of an MPI job goes through the
 * same collective steps in the same order, whatever fails where. */
static int run_sweep(const ghm_mpi *mpi, const run_args *a)
{
    int root = mpi->rank == 0;
    ghm_error err;
    ghm_error_clear(&err);

    /* threads per process: --threads, else $GHM_THREADS, else (under MPI) the
     * node's cores shared by its ranks, else all cores */
    const char *env_threads = getenv("GHM_THREADS");
    int threads = (int)a->threads;
    if (threads <= 0 && !(env_threads && *env_threads) && mpi->active) threads = ghm_mpi_default_threads(mpi);
    threads = ghm_threads_set(threads);
    if (mpi->size > 1 && root && threads > ghm_mpi_affinity_cpus())
        fprintf(stderr,
                "ghm: warning: %d thread(s) per rank but rank 0 may run on %d CPU(s) only (the launcher bound it): "
                "use `mpirun --bind-to none` or `--map-by slot:PE=%d`\n",
                threads, ghm_mpi_affinity_cpus(), threads);

    /* every rank parses the file; an error is shown by rank 0, or by the rank
     * that alone could not read it */
    ghm_experiment e;
    memset(&e, 0, sizeof e);
    int ok = ghm_experiment_load(a->file, &e, &err) == 0;
    int ok0 = ghm_mpi_bcast_int(mpi, ok);
    int all_ok = ghm_mpi_allreduce_int(mpi, ok, GHM_MPI_MIN);
    if (!ok && (root || ok0)) {
        fprintf(stderr, "%s", g_prefix);
        ghm_cli_fail(&err);
    }
    if (!all_ok) {
        if (ok) ghm_experiment_free(&e);
        return ok ? 2 : failure_status(err.code);
    }
    int differs = 0;
    if (ghm_mpi_check_plan(mpi, &e, &differs, &err) < 0) {
        if (root || differs) {
            fprintf(stderr, "%s", g_prefix);
            ghm_cli_fail(&err);
        }
        ghm_experiment_free(&e);
        return 2;
    }

    char out_dir[GHM_PATH_MAX + 128];
    snprintf(out_dir, sizeof out_dir, "%s/%s", a->out ? a->out : "results", e.name);
    /* checked by rank 0 (it alone writes there first), before anything is written */
    int out_ok = root ? check_out_dir(a->out, out_dir, &err) == 0 : 1;
    if (!ghm_mpi_bcast_int(mpi, out_ok)) {
        if (root) ghm_cli_fail(&err);
        ghm_experiment_free(&e);
        return 2;
    }

    /* A plain file is one round. A search file is several: each round plans
     * the trials (and final runs) that the finished records allow, runs them,
     * and plans again, until the whole search is planned and run. Every rank
     * plans from the same records (rounds end collectively). */
    int status = 0, round = 0, waiting_said = 0, fail = 0;
    /* decoded data sets: the input check's, kept for the runs of every round (no data set decoded twice) */
    ghm_data_cache *dcache = NULL;
    ghm_mpi_sweep_result res, total;
    memset(&total, 0, sizeof total);
    for (;; round++) {
        int complete = 1, rc = 0, n_failed_skipped = 0;
        if (e.search) {
            int ok_x = ghm_search_expand(&e, out_dir, &complete, &err) == 0;
            if (!ghm_mpi_allreduce_int(mpi, ok_x, GHM_MPI_MIN)) {
                if (!ok_x) ghm_cli_fail(&err);
                status = 2;
                break;
            }
            if (ghm_mpi_check_plan(mpi, &e, &differs, &err) < 0) {
                if (root || differs) ghm_cli_fail(&err);
                status = 2;
                break;
            }
        }
        /* rank 0 selects what to run (others must not look at the results folder:
         * a fast rank could already have finished a run) */
        int *idx = NULL, n_idx = 0, n_sel = 0;
        ghm_select_opts sel = a->sel;
        if (round > 0) sel.force = 0; /* --force reruns what was there at the start, once */
        if (root) {
            /* whose directory it is, and the copy of the experiment file (before anything else is written) */
            if (round == 0) rc = claim_out_dir(out_dir, &e, a->dry, a->sel.force, &err);
            if (rc == 0 && !(idx = malloc((size_t)(e.n_runs > 0 ? e.n_runs : 1) * sizeof *idx)))
                rc = ghm_error_set(&err, GHM_ENOMEM, "out of memory");
            if (rc == 0) ghm_sweep_select(&e, out_dir, &sel, idx, &n_idx, &n_sel);
            if (rc == 0) note_records(&e, out_dir, &sel, &n_failed_skipped);
            /* what the data decide (missing data set, folds, batch size) fails here, once, not per run */
            if (rc == 0 && round == 0 && n_idx > 0) {
                if (!dcache && ghm_data_cache_create(&dcache, NULL) != 0) dcache = NULL; /* (then loaded apart) */
                rc = ghm_experiment_check_inputs(&e, idx, n_idx, dcache, NULL, &err);
            }
            if (rc == 0 && a->dry) {
                print_dry_run(&e, out_dir, &a->sel, n_sel, n_idx);
                if (e.search && !complete)
                    printf("search: later trials and the final runs are planned as results come in (%d trials x %d "
                           "fold(s) per tuned loss, then %d reproduction(s) x %d fold(s) of the best setting)\n",
                           e.search->trials, e.search->folds >= 2 ? e.search->folds : 1, e.search->reproductions,
                           e.search->folds >= 2 ? e.search->folds : 1);
                if (e.search && e.search->halving && !complete)
                    printf("search: successive halving, %d rungs: the best 1/%d of each rung's trials go on at %d "
                           "times the length\n",
                           ghm_search_n_rungs(e.search), e.search->eta, e.search->eta);
            }
            if (rc < 0) ghm_cli_fail(&err);
        }
        rc = ghm_mpi_bcast_int(mpi, rc);
        if (rc < 0 || a->dry) {
            free(idx);
            ghm_data_cache_destroy(dcache);
            ghm_experiment_free(&e);
            return rc < 0 ? failure_status(rc) : 0;
        }
        int n_run = ghm_mpi_bcast_int(mpi, n_idx);
        if (root && (round == 0 || n_run > 0)) {
            if (round == 0)
                printf("%s: %d run(s) in the plan%s, %d selected, %d already finished, ", e.name, e.n_runs,
                       e.search && !complete ? " so far" : "", n_sel, n_sel - n_idx - n_failed_skipped);
            else
                printf("%s: search round %d: %d run(s) planned so far, ", e.name, round + 1, e.n_runs);
            if (n_failed_skipped > 0)
                printf("%d failed before (skipped; --retry-failed reruns them), ", n_failed_skipped);
            printf("%d to run ", n_idx);
            if (mpi->size > 1)
                printf("(%d ranks x %d thread(s)%s) -> %s\n", mpi->size, threads,
                       mpi->rank0_trains ? "" : ", rank 0 coordinates only", out_dir);
            else
                printf("(threads %d) -> %s\n", threads, out_dir);
            fflush(stdout);
        }
        if (n_run == 0) {
            free(idx);
            /* nothing to run here: done, or (shards) wait for the other shards' runs this round needs */
            if (!e.search || complete || a->sel.shard_n == 0 || g_stop) break;
            if (root && !waiting_said) {
                printf("shard %d/%d: waiting for other shards to finish the runs the next trials depend on "
                       "(Ctrl-C to stop; rerun to resume)\n",
                       a->sel.shard_i, a->sel.shard_n);
                fflush(stdout);
                waiting_said = 1;
            }
            install_handlers();
            sleep(2);
            if (g_stop) {
                total.n_interrupted_all = 1;
                break;
            }
            continue;
        }
        waiting_said = 0;

        install_handlers();
        ok = dcache || ghm_data_cache_create(&dcache, &err) == 0;
        if (!ghm_mpi_allreduce_int(mpi, ok, GHM_MPI_MIN)) {
            if (!ok) ghm_cli_fail(&err);
            ghm_data_cache_destroy(dcache);
            free(idx);
            ghm_experiment_free(&e);
            return 1;
        }
        run_ui ui;
        memset(&ui, 0, sizeof ui);
        ui.tty = mpi->size > 1 ? 0 : ghm_cli_isatty();
        ui.ranks = mpi->size;
        ui.t_start = ghm_clock();
        snprintf(ui.label, sizeof ui.label, "%s  train", g_prefix);
        ghm_run_hooks hooks = {on_progress, &ui, &g_stop, dcache, NULL};
        rc = ghm_mpi_sweep_run(mpi, &e, out_dir, idx, n_idx, &hooks, on_sweep, &ui, &res, &err);
        free(idx);
        if (ui.skipped > 0)
            printf("%s%d run(s) skipped: another process is running or has finished them (their records will be "
                   "in %s/runs)\n",
                   g_prefix, ui.skipped, out_dir);
        total.n_done_all += res.n_done_all;
        total.n_failed_all += res.n_failed_all;
        total.n_interrupted_all += res.n_interrupted_all;

        /* this rank's outcome, then everyone's: failed runs were recorded and the
         * sweep (and a search) went on; the status is 1 at the end (after the report) */
        int f = 0;
        if (rc < 0 && rc != GHM_EINTR) f = res.n_failed > 0 ? 1 : failure_status(rc);
        if (rc < 0 && rc != GHM_EINTR && res.n_failed == 0) fprintf(stderr, "%sghm: error: %s\n", g_prefix, err.msg);
        f = ghm_mpi_allreduce_int(mpi, f, GHM_MPI_MAX);
        if (f > fail) fail = f;
        if (res.n_interrupted_all > 0 || (f && res.n_failed_all == 0)) break;
        if (!e.search) break;
    }
    ghm_data_cache_destroy(dcache);
    res = total;
    if (status == 0 && res.n_interrupted_all > 0) {
        if (root)
            fprintf(stderr,
                    "\nghm: interrupted: %d run(s) finished and recorded%s; the run(s) in flight were not recorded. "
                    "Rerun the same command to resume.\n",
                    res.n_done_all, res.n_failed_all > 0 ? " (some failed)" : "");
        status = 130;
    } else if (status == 0 && fail && res.n_failed_all == 0) {
        status = fail;
    }
    if (status != 0 || !root) {
        /* rank 0 decides about the report and tells everyone the final status */
        status = ghm_mpi_bcast_int(mpi, status ? status : fail);
        ghm_experiment_free(&e);
        return status;
    }
    if (res.n_failed_all > 0) {
        fprintf(stderr, "ghm: %d run(s) failed (failure records in %s/runs; `ghm run --retry-failed` reruns them)\n",
                res.n_failed_all, out_dir);
        status = 1;
    }

    /* rank 0: report (when the whole plan is finished, or anything exists when not sharded) */
    int missing = 0, finished = 0;
    for (int i = 0; i < e.n_runs; i++) {
        ghm_error ee;
        int st = ghm_record_state_spec(out_dir, &e.runs[i], &ee);
        missing += st == GHM_RUN_MISSING || st == GHM_RUN_INVALID;
        finished += st == GHM_RUN_FINISHED;
    }
    if (mpi->size > 1) printf("all %d ranks done: %d run(s) finished\n", mpi->size, res.n_done_all);
    if (a->sel.shard_n > 0 && missing > 0) {
        printf("shard %d/%d done; %d run(s) of the plan still missing (other shards): run `ghm report %s` when all "
               "shards are finished\n",
               a->sel.shard_i, a->sel.shard_n, missing, out_dir);
    } else if (finished == 0) {
        printf("no finished runs to report%s\n", res.n_failed_all > 0 ? "" : " (selection empty)");
    } else if (e.search) {
        int st = ghm_cli_write_search_report(out_dir, &e, 1, 0);
        if (status == 0) status = st;
    } else {
        ghm_report_opts ro;
        ghm_report_opts_default(&ro);
        ro.warn = ghm_cli_warn_record;
        ghm_report_result rr;
        if (ghm_cli_report_locked(out_dir, &e, &ro, &rr, &err) < 0) {
            int st = ghm_cli_fail(&err);
            if (status == 0) status = st;
        } else {
            ghm_cli_print_report_result(out_dir, &rr);
        }
    }
    fflush(stdout);
    ghm_experiment_free(&e);
    return ghm_mpi_bcast_int(mpi, status);
}

int ghm_cmd_run(int argc, char **argv)
{
    const char *threads_s = NULL, *shard_s = NULL, *only = NULL, *v;
    run_args a;
    memset(&a, 0, sizeof a);
    int force = 0, retry_failed = 0;
    for (int i = 1; i < argc; i++) {
        int m;
        if ((m = ghm_cli_opt(argc, argv, &i, "--out", &v)) != 0) {
            if (m < 0) return ghm_cli_usage("run", "--out needs a directory");
            a.out = v;
        } else if ((m = ghm_cli_opt(argc, argv, &i, "--only", &v)) != 0) {
            if (m < 0) return ghm_cli_usage("run", "--only needs a pattern");
            only = v;
        } else if ((m = ghm_cli_opt(argc, argv, &i, "--threads", &v)) != 0) {
            if (m < 0) return ghm_cli_usage("run", "--threads needs a number");
            threads_s = v;
        } else if ((m = ghm_cli_opt(argc, argv, &i, "--shard", &v)) != 0) {
            if (m < 0) return ghm_cli_usage("run", "--shard needs I/N");
            shard_s = v;
        } else if (strcmp(argv[i], "--force") == 0) {
            force = 1;
        } else if (strcmp(argv[i], "--retry-failed") == 0) {
            retry_failed = 1;
        } else if (strcmp(argv[i], "--dry-run") == 0) {
            a.dry = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return ghm_cli_usage("run", "unknown option '%s'%s", argv[i], ghm_cli_option_hint("run", argv[i], NULL));
        } else if (!a.file) {
            a.file = argv[i];
        } else {
            return ghm_cli_usage("run", "one experiment file expected, got '%s' and '%s'", a.file, argv[i]);
        }
    }
    if (!a.file) return ghm_cli_usage("run", "missing experiment file (ghm run experiments/quickstart.yaml)");
    struct stat fst;
    if (stat(a.file, &fst) == 0 && S_ISDIR(fst.st_mode))
        return ghm_cli_usage("run", "'%s' is a directory, not an experiment file (ghm run experiments/quickstart.yaml)",
                             a.file);
    if (a.out && !*a.out) return ghm_cli_usage("run", "--out: empty output directory");
    if (threads_s && ghm_cli_int("run", "--threads", threads_s, 1, 1024, &a.threads)) return 2;
    ghm_select_opts sel = {only, force, 0, 0, retry_failed};
    if (shard_s) {
        int i, n;
        char extra;
        if (sscanf(shard_s, "%d/%d%c", &i, &n, &extra) != 2 || n < 1 || i < 1 || i > n)
            return ghm_cli_usage("run", "--shard expects I/N with 1 <= I <= N, got '%s'", shard_s);
        sel.shard_i = i;
        sel.shard_n = n;
    }
    a.sel = sel;

    /* under mpirun/srun: MPI; otherwise one process (no singleton MPI_Init) */
    ghm_error err;
    ghm_error_clear(&err);
    ghm_mpi mpi;
    if (ghm_mpi_init(&mpi, &err) < 0) return ghm_cli_fail(&err);
    if (mpi.size > 1) snprintf(g_prefix, sizeof g_prefix, "[rank %d/%d] ", mpi.rank, mpi.size);
    /* srun with several tasks but no PMI: every task would run the whole sweep */
    const char *ntasks = getenv("SLURM_NTASKS");
    if (!mpi.active && ntasks && atoi(ntasks) > 1 && getenv("SLURM_STEP_ID") && a.sel.shard_n == 0 && !a.dry)
        fprintf(stderr,
                "ghm: warning: started as one of %s Slurm tasks without MPI (no PMI/PMIx in the environment): each "
                "task runs the whole sweep. Use `srun --mpi=pmix`%s, or `--shard I/N`\n",
                ntasks, ghm_mpi_available() ? "" : " with an MPI build");
    int status = run_sweep(&mpi, &a);
    fflush(stdout);
    fflush(stderr);
    ghm_mpi_finalize(&mpi);
    return status;
}
