/* `ghm run X.yaml` and `ghm report results/<name>`. */
#include "cli.h"

#include "../core/json.h"
#include "../core/progress.h"
#include "../core/threads.h"
#include "../harness/experiment.h"
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

typedef struct {
    ghm_progress bar;     /* per-run progress */
    int tty;
    int n;                /* runs in this invocation */
    int done;             /* finished so far */
    double done_seconds;  /* their total time */
    double t_start;
    char label[64];
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
            printf("    epoch %d/%d: validation Recall@1 %.2f%%\n", p->epoch, p->epochs, 100 * r1);
            fflush(stdout);
        }
        return;
    }
    if (p->phase != GHM_RUN_PHASE_TRAIN) return;
    ghm_progress_info info;
    ghm_progress_info_init(&info);
    info.label = "  train";
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
        if (ui->done > 0) ghm_format_duration(eta, sizeof eta, ui->done_seconds / ui->done * (ui->n - ui->done));
        printf("[run %d/%d] %s  %s  (sweep ETA %s)\n", ev->i + 1, ev->n, ev->run->run_id, what, eta);
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
        printf("    done in %s\n", dur);
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

static int print_report_result(const char *dir, const ghm_report_result *res)
{
    printf("report: %d run(s) in %d setting(s)", res->n_records, res->n_groups);
    if (res->n_planned > 0) printf(", %d of %d planned run(s) missing", res->n_missing, res->n_planned);
    printf("\n  %s/summary.md\n  %s/summary.csv\n  %s/summary.tex\n", dir, dir, dir);
    if (res->n_plots > 0) printf("  %s/plots/ (%d plot(s))\n", dir, res->n_plots);
    if (res->n_bad > 0) fprintf(stderr, "ghm: warning: %d unreadable record(s) ignored\n", res->n_bad);
    if (res->n_stale > 0)
        fprintf(stderr, "ghm: warning: %d record(s) not in the current experiment plan ignored\n", res->n_stale);
    if (res->warning[0]) fprintf(stderr, "ghm: warning: %s\n", res->warning);
    return 0;
}

int ghm_cmd_run(int argc, char **argv)
{
    const char *file = NULL, *out = NULL, *only = NULL, *threads_s = NULL, *shard_s = NULL, *v;
    int force = 0, dry = 0;
    for (int i = 1; i < argc; i++) {
        int m;
        if ((m = ghm_cli_opt(argc, argv, &i, "--out", &v)) != 0) {
            if (m < 0) return ghm_cli_usage("run", "--out needs a directory");
            out = v;
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
            dry = 1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return ghm_cli_usage("run", "unknown option '%s'", argv[i]);
        } else if (!file) {
            file = argv[i];
        } else {
            return ghm_cli_usage("run", "one experiment file expected, got '%s' and '%s'", file, argv[i]);
        }
    }
    if (!file) return ghm_cli_usage("run", "missing experiment file (ghm run experiments/quickstart.yaml)");
    long threads = 0;
    if (threads_s && ghm_cli_int("run", "--threads", threads_s, 1, 1024, &threads)) return 2;
    ghm_select_opts sel = {only, force, 0, 0};
    if (shard_s) {
        int a, b;
        char extra;
        if (sscanf(shard_s, "%d/%d%c", &a, &b, &extra) != 2 || b < 1 || a < 1 || a > b)
            return ghm_cli_usage("run", "--shard expects I/N with 1 <= I <= N, got '%s'", shard_s);
        sel.shard_i = a;
        sel.shard_n = b;
    }
    ghm_threads_set((int)threads);

    ghm_error err;
    ghm_error_clear(&err);
    ghm_experiment e;
    memset(&e, 0, sizeof e);
    if (ghm_experiment_load(file, &e, &err) < 0) return ghm_cli_fail(&err);

    char out_dir[GHM_PATH_MAX + 128];
    snprintf(out_dir, sizeof out_dir, "%s/%s", out ? out : "results", e.name);

    int *idx = malloc((size_t)(e.n_runs > 0 ? e.n_runs : 1) * sizeof *idx);
    if (!idx) {
        ghm_experiment_free(&e);
        ghm_error_set(&err, GHM_ENOMEM, "out of memory");
        return ghm_cli_fail(&err);
    }
    int n_idx = 0, n_sel = 0;
    ghm_sweep_select(&e, out_dir, &sel, idx, &n_idx, &n_sel);

    if (dry) {
        printf("%s: %d run(s) in the plan, %d selected, %d to run; output %s\n", e.name, e.n_runs, n_sel,
               n_idx, out_dir);
        printf("%5s  %-16s  %-9s  %-20s  %s\n", "index", "run id", "finished", "loss", "swept / seed");
        ghm_select_opts all = sel;
        all.force = 1;
        int *sidx = malloc((size_t)(e.n_runs > 0 ? e.n_runs : 1) * sizeof *sidx);
        int ns = 0;
        if (sidx) ghm_sweep_select(&e, out_dir, &all, sidx, &ns, NULL);
        for (int k = 0; k < ns; k++) {
            const ghm_run_spec *r = &e.runs[sidx[k]];
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
        free(idx);
        ghm_experiment_free(&e);
        return 0;
    }

    int rc = ghm_mkdirs(out_dir, &err);
    if (rc == 0) rc = copy_experiment(file, out_dir, &err);
    if (rc < 0) {
        free(idx);
        ghm_experiment_free(&e);
        return ghm_cli_fail(&err);
    }

    printf("%s: %d run(s) in the plan, %d selected, %d already finished, %d to run (threads %d) -> %s\n", e.name,
           e.n_runs, n_sel, n_sel - n_idx, n_idx, ghm_threads_get(), out_dir);
    fflush(stdout);

    install_handlers();
    ghm_data_cache *cache = NULL;
    if ((rc = ghm_data_cache_create(&cache, &err)) < 0) {
        free(idx);
        ghm_experiment_free(&e);
        return ghm_cli_fail(&err);
    }
    run_ui ui;
    memset(&ui, 0, sizeof ui);
    ui.tty = ghm_cli_isatty();
    ui.n = n_idx;
    ui.t_start = ghm_clock();
    ghm_run_hooks hooks = {on_progress, &ui, &g_stop, cache, NULL};
    int n_done = 0;
    rc = ghm_sweep_run(&e, out_dir, idx, n_idx, &hooks, on_sweep, &ui, &n_done, &err);
    ghm_data_cache_destroy(cache);
    free(idx);
    int status = 0;
    if (rc == GHM_EINTR) {
        fprintf(stderr, "\nghm: interrupted: %d run(s) finished and recorded; the run in flight was not recorded. "
                        "Rerun the same command to resume.\n",
                n_done);
        ghm_experiment_free(&e);
        return 130;
    }
    if (rc < 0) {
        fprintf(stderr, "ghm: error: %s\n", err.msg);
        fprintf(stderr, "ghm: %d run(s) finished before the failure are recorded in %s/runs\n", n_done, out_dir);
        status = ghm_error_exit_status(rc);
        if (status == 0 || status == 2) status = (rc == GHM_EINPUT) ? 2 : 1;
        ghm_experiment_free(&e);
        return status;
    }

    /* report (when the whole plan is finished, or anything exists when not sharded) */
    int missing = 0;
    for (int i = 0; i < e.n_runs; i++)
        if (!ghm_record_is_finished(out_dir, e.runs[i].run_id)) missing++;
    if (sel.shard_n > 0 && missing > 0) {
        printf("shard %d/%d done; %d run(s) of the plan still missing (other shards): run `ghm report %s` when all "
               "shards are finished\n",
               sel.shard_i, sel.shard_n, missing, out_dir);
        ghm_experiment_free(&e);
        return 0;
    }
    if (missing == e.n_runs) {
        printf("no finished runs to report (selection empty)\n");
        ghm_experiment_free(&e);
        return 0;
    }
    ghm_report_opts ro;
    ghm_report_opts_default(&ro);
    ghm_report_result res;
    rc = ghm_report_write(out_dir, &e, &ro, &res, &err);
    ghm_experiment_free(&e);
    if (rc < 0) return ghm_cli_fail(&err);
    print_report_result(out_dir, &res);
    return status;
}

/* ---- ghm report ---- */

int ghm_cmd_report(int argc, char **argv)
{
    const char *dir = NULL;
    int no_plots = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--no-plots") == 0)
            no_plots = 1;
        else if (argv[i][0] == '-' && argv[i][1])
            return ghm_cli_usage("report", "unknown option '%s'", argv[i]);
        else if (!dir)
            dir = argv[i];
        else
            return ghm_cli_usage("report", "one results directory expected");
    }
    if (!dir) return ghm_cli_usage("report", "missing results directory (ghm report results/NAME)");
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) return ghm_cli_usage("report", "'%s' is not a directory", dir);

    ghm_error err;
    ghm_error_clear(&err);
    ghm_experiment e;
    memset(&e, 0, sizeof e);
    int have_e = 0;
    char yaml[GHM_PATH_MAX + 64];
    snprintf(yaml, sizeof yaml, "%s/experiment.yaml", dir);
    if (stat(yaml, &st) == 0) {
        if (ghm_experiment_load(yaml, &e, &err) == 0)
            have_e = 1;
        else
            fprintf(stderr, "ghm: warning: cannot use %s (%s); reporting every record found\n", yaml, err.msg);
    }
    ghm_report_opts ro;
    ghm_report_opts_default(&ro);
    ro.plots = !no_plots;
    ghm_report_result res;
    int rc = ghm_report_write(dir, have_e ? &e : NULL, &ro, &res, &err);
    if (have_e) ghm_experiment_free(&e);
    if (rc < 0) return ghm_cli_fail(&err);
    print_report_result(dir, &res);
    return 0;
}
