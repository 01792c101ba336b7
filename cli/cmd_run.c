/* `ghm run X.yaml` and `ghm report results/<name>`. */
#include "cli.h"

#include "../core/json.h"
#include "../core/progress.h"
#include "../core/threads.h"
#include "../harness/experiment.h"
#include "../harness/mpi.h"
#include "../harness/record.h"
#include "../harness/report.h"
#include "../harness/run.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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
    double done_seconds;  /* their total time */
    double t_start;
    char label[64];       /* "  train", or "[rank r/N]   train" */
} run_ui;

static void format_swept(const ghm_run_spec *r, char *buf, size_t n)
{
    int k = snprintf(buf, n, "%s", r->loss);
    for (int i = 0; i < r->n_swept && k > 0 && (size_t)k < n; i++)
        k += snprintf(buf + k, n - (size_t)k, " %s=%s", r->swept_name[i], r->swept_text[i]);
    if (k > 0 && (size_t)k < n) snprintf(buf + k, n - (size_t)k, " seed=%llu", (unsigned long long)r->seed);
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
    }
    fflush(stdout);
}

/* ---- ghm run ---- */

static int copy_experiment(const char *src, const char *out_dir, ghm_error *err)
{
    char *data;
    size_t n;
    int rc = ghm_read_file(src, &data, &n, err);
    if (rc < 0) return rc;
    char path[GHM_PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/experiment.yaml", out_dir);
    rc = ghm_write_file_atomic(path, data, n, err);
    free(data);
    return rc;
}

int ghm_cli_print_report_result(const char *dir, const ghm_report_result *res)
{
    printf("report: %d run(s) in %d setting(s)", res->n_records, res->n_groups);
    if (res->n_planned > 0) printf(", %d of %d planned run(s) missing", res->n_missing, res->n_planned);
    printf("\n  %s/summary.md\n  %s/summary.csv\n  %s/summary.tex\n", dir, dir, dir);
    if (res->n_plots > 0) printf("  %s/plots/ (%d plot(s))\n", dir, res->n_plots);
    if (res->wrote_index) printf("  %s/index.html\n", dir);
    if (res->n_bad > 0) fprintf(stderr, "ghm: warning: %d unreadable record(s) ignored\n", res->n_bad);
    if (res->n_stale > 0)
        fprintf(stderr, "ghm: warning: %d record(s) not in the current experiment plan ignored\n", res->n_stale);
    if (res->warning[0]) fprintf(stderr, "ghm: warning: %s\n", res->warning);
    return 0;
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
        if (o < (int)sizeof sw) snprintf(sw + o, sizeof sw - (size_t)o, "seed=%llu", (unsigned long long)r->seed);
        printf("%5d  %-16s  %-9s  %-20s  %s\n", r->index, r->run_id,
               ghm_record_is_finished(out_dir, r->run_id) ? "yes" : "no", r->loss, sw);
    }
    free(sidx);
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

    /* rank 0 selects what to run (others must not look at the results folder:
     * a fast rank could already have finished a run) */
    int *idx = NULL, n_idx = 0, n_sel = 0, rc = 0;
    if (root) {
        idx = malloc((size_t)(e.n_runs > 0 ? e.n_runs : 1) * sizeof *idx);
        if (!idx)
            rc = ghm_error_set(&err, GHM_ENOMEM, "out of memory");
        else
            ghm_sweep_select(&e, out_dir, &a->sel, idx, &n_idx, &n_sel);
        if (rc == 0 && a->dry) print_dry_run(&e, out_dir, &a->sel, n_sel, n_idx);
        if (rc == 0 && !a->dry) rc = ghm_mkdirs(out_dir, &err);
        if (rc == 0 && !a->dry) rc = copy_experiment(a->file, out_dir, &err);
        if (rc < 0) ghm_cli_fail(&err);
    }
    rc = ghm_mpi_bcast_int(mpi, rc);
    if (rc < 0 || a->dry) {
        free(idx);
        ghm_experiment_free(&e);
        return rc < 0 ? failure_status(rc) : 0;
    }
    if (root) {
        printf("%s: %d run(s) in the plan, %d selected, %d already finished, %d to run ", e.name, e.n_runs, n_sel,
               n_sel - n_idx, n_idx);
        if (mpi->size > 1)
            printf("(%d ranks x %d thread(s)%s) -> %s\n", mpi->size, threads,
                   mpi->rank0_trains ? "" : ", rank 0 coordinates only", out_dir);
        else
            printf("(threads %d) -> %s\n", threads, out_dir);
        fflush(stdout);
    }

    install_handlers();
    ghm_data_cache *cache = NULL;
    ok = ghm_data_cache_create(&cache, &err) == 0;
    if (!ghm_mpi_allreduce_int(mpi, ok, GHM_MPI_MIN)) {
        if (!ok) ghm_cli_fail(&err);
        ghm_data_cache_destroy(cache);
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
    ghm_run_hooks hooks = {on_progress, &ui, &g_stop, cache, NULL};
    ghm_mpi_sweep_result res;
    rc = ghm_mpi_sweep_run(mpi, &e, out_dir, idx, n_idx, &hooks, on_sweep, &ui, &res, &err);
    ghm_data_cache_destroy(cache);
    free(idx);

    /* this rank's outcome, then everyone's */
    int fail = 0;
    if (rc < 0 && rc != GHM_EINTR) {
        fprintf(stderr, "%sghm: error: %s\n", g_prefix, err.msg);
        fail = failure_status(rc);
    }
    fail = ghm_mpi_allreduce_int(mpi, fail, GHM_MPI_MAX);
    int status = 0;
    if (fail) {
        if (root)
            fprintf(stderr, "ghm: %d run(s) finished before the failure are recorded in %s/runs\n", res.n_done_all,
                    out_dir);
        status = fail;
    } else if (res.n_interrupted_all > 0) {
        if (root)
            fprintf(stderr,
                    "\nghm: interrupted: %d run(s) finished and recorded; the run(s) in flight were not recorded. "
                    "Rerun the same command to resume.\n",
                    res.n_done_all);
        status = 130;
    }
    if (status != 0 || !root) {
        /* rank 0 decides about the report and tells everyone the final status */
        status = ghm_mpi_bcast_int(mpi, status);
        ghm_experiment_free(&e);
        return status;
    }

    /* rank 0: report (when the whole plan is finished, or anything exists when not sharded) */
    int missing = 0;
    for (int i = 0; i < e.n_runs; i++)
        if (!ghm_record_is_finished(out_dir, e.runs[i].run_id)) missing++;
    if (mpi->size > 1) printf("all %d ranks done: %d run(s) finished\n", mpi->size, res.n_done_all);
    if (a->sel.shard_n > 0 && missing > 0) {
        printf("shard %d/%d done; %d run(s) of the plan still missing (other shards): run `ghm report %s` when all "
               "shards are finished\n",
               a->sel.shard_i, a->sel.shard_n, missing, out_dir);
    } else if (missing == e.n_runs) {
        printf("no finished runs to report (selection empty)\n");
    } else {
        ghm_report_opts ro;
        ghm_report_opts_default(&ro);
        ghm_report_result rr;
        if (ghm_report_write(out_dir, &e, &ro, &rr, &err) < 0)
            status = ghm_cli_fail(&err);
        else
            ghm_cli_print_report_result(out_dir, &rr);
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
    int force = 0;
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
        } else if (strcmp(argv[i], "--dry-run") == 0) {
            a.dry = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return ghm_cli_usage("run", "unknown option '%s'", argv[i]);
        } else if (!a.file) {
            a.file = argv[i];
        } else {
            return ghm_cli_usage("run", "one experiment file expected, got '%s' and '%s'", a.file, argv[i]);
        }
    }
    if (!a.file) return ghm_cli_usage("run", "missing experiment file (ghm run experiments/quickstart.yaml)");
    if (threads_s && ghm_cli_int("run", "--threads", threads_s, 1, 1024, &a.threads)) return 2;
    ghm_select_opts sel = {only, force, 0, 0};
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
