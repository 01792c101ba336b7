/* `ghm run X.yaml`: options, the progress display and the report after the
 * sweep (runner/sweep.c runs it); the locked report is shared with
 * `ghm report` (cli/cmd_report.c). */
#include "cli.h"

#include "../core/json.h"
#include "../core/progress.h"
#include "../core/threads.h"
#include "experiment/experiment.h"
#include "runner/inputs.h"
#include "runner/lock.h"
#include "runner/mpi.h"
#include "experiment/record.h"
#include "report/report.h"
#include "runner/run.h"
#include "runner/sweep.h"
#include "search/search.h"
#include "report/search_report.h"

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
static int ui_tty, ui_ranks; /* of this process: set once by run_sweep */

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

/* Lines from the library (runner/sweep.h): INFO to stdout; the rest to
 * stderr after ending a progress line. */
static void cli_say(ghm_say_level level, const char *text, void *user)
{
    run_ui *ui = user;
    if (ui) ghm_progress_finish(&ui->bar);
    if (level == GHM_SAY_INFO) {
        printf("%s\n", text);
        fflush(stdout);
        return;
    }
    fflush(stdout);
    fprintf(stderr, "%s%s%s\n", g_prefix,
            level == GHM_SAY_ERROR ? "ghm: error: " : level == GHM_SAY_WARN ? "ghm: warning: " : "ghm: ", text);
    fflush(stderr);
}

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

/* Write the report under the results directory's lock. */
int ghm_cli_report_locked(const char *dir, const ghm_experiment *e, const ghm_report_opts *ro, ghm_report_result *rr,
                         ghm_error *err)
{
    ghm_lock lk;
    int rc = ghm_results_lock(dir, &lk, cli_say, NULL, err);
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

static void print_dry_run(const ghm_experiment *e, const char *out_dir, const ghm_select_opts *sel, int n_sel,
                          int n_idx, void *user)
{
    (void)user;
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

/* Ensembles (concatenated evaluation) of finished reproductions, then the
 * search report. Returns the exit status. */
int ghm_cli_write_search_report(const char *out_dir, ghm_experiment *e, int plots, unsigned formats)
{
    ghm_error err;
    ghm_error_clear(&err);
    /* the same lock as the sweep report: two reports (or a report and a
     * shard's final round) never interleave their ensemble records or files */
    ghm_lock lk;
    if (ghm_results_lock(out_dir, &lk, cli_say, NULL, &err) < 0) return ghm_cli_fail(&err);
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

static void cli_arm(void *user)
{
    run_ui *ui = user;
    install_handlers();
    memset(ui, 0, sizeof *ui);
    ui->tty = ui_tty;
    ui->ranks = ui_ranks;
    ui->t_start = ghm_clock();
    snprintf(ui->label, sizeof ui->label, "%s  train", g_prefix);
}

/* `ghm run`: the sweep (runner/sweep.c), then rank 0's report, then rank 0's
 * final status on every rank. */
static int run_sweep(const ghm_mpi *mpi, const ghm_sweep_args *a)
{
    run_ui ui;
    memset(&ui, 0, sizeof ui);
    ui_ranks = mpi->size;
    ui_tty = mpi->size > 1 ? 0 : ghm_cli_isatty();
    ghm_sweep_ui sui = {cli_say, print_dry_run, cli_arm, on_progress, on_sweep, &ui, &g_stop};
    ghm_sweep_outcome *o = calloc(1, sizeof *o);
    if (!o) {
        fprintf(stderr, "ghm: error: out of memory\n");
        return 1;
    }
    int status = ghm_experiment_sweep(mpi, a, &sui, o);
    if (o->report == GHM_SWEEP_REPORT_SEARCH) {
        int st = ghm_cli_write_search_report(o->out_dir, &o->e, 1, 0);
        if (status == 0) status = st;
    } else if (o->report == GHM_SWEEP_REPORT_PLAIN) {
        ghm_error err;
        ghm_error_clear(&err);
        ghm_report_opts ro;
        ghm_report_opts_default(&ro);
        ro.warn = ghm_cli_warn_record;
        ghm_report_result rr;
        if (ghm_cli_report_locked(o->out_dir, &o->e, &ro, &rr, &err) < 0) {
            int st = ghm_cli_fail(&err);
            if (status == 0) status = st;
        } else {
            ghm_cli_print_report_result(o->out_dir, &rr);
        }
    }
    fflush(stdout);
    if (o->loaded) ghm_experiment_free(&o->e);
    if (o->bcast) status = ghm_mpi_bcast_int(mpi, status);
    free(o);
    return status;
}

int ghm_cmd_run(int argc, char **argv)
{
    const char *threads_s = NULL, *shard_s = NULL, *only = NULL, *v;
    ghm_sweep_args a;
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
