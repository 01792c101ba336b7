/* ghm report results/NAME [--no-plots] [--formats png,pdf,svg] [--figure-size column|page]
 * ghm report --combine DIR... [--out PREFIX]
 * Aggregates the finished runs of one results directory (tables, plots,
 * index.html), or several results directories into one cross-experiment table. */
#include "cli.h"

#include "experiment/experiment.h"
#include "report/plot.h"
#include "report/report.h"
#include "search/search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int cmd_combine(int argc, char **argv)
{
    const char *prefix = "combined", *val;
    const char **dirs = calloc((size_t)argc, sizeof *dirs);
    if (!dirs) return 1;
    int n = 0;
    for (int i = 1; i < argc; i++) {
        int m;
        if (strcmp(argv[i], "--combine") == 0) continue;
        if ((m = ghm_cli_opt(argc, argv, &i, "--out", &val))) {
            if (m < 0) {
                free(dirs);
                return ghm_cli_usage("report", "--out needs a file prefix");
            }
            /* PREFIX.md and PREFIX.tex: an empty prefix or one ending in '/' would write hidden ".md" files */
            size_t len = strlen(val);
            if (len == 0 || val[len - 1] == '/') {
                free(dirs);
                return ghm_cli_usage("report", "--out needs a file prefix such as results/combined (the tables go to "
                                               "PREFIX.md and PREFIX.tex), got '%s'",
                                     val);
            }
            prefix = val;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            free(dirs);
            return ghm_cli_usage("report", "unknown option '%s' with --combine (only --out PREFIX)%s", argv[i],
                                 ghm_cli_option_hint("report", argv[i], "--out"));
        } else {
            dirs[n++] = argv[i];
        }
    }
    if (n == 0) {
        free(dirs);
        return ghm_cli_usage("report", "--combine needs results directories (ghm report --combine results/a results/b)");
    }
    ghm_error err;
    ghm_error_clear(&err);
    ghm_combine_result res;
    int rc = ghm_report_combine(dirs, n, prefix, &res, &err);
    free(dirs);
    if (rc < 0) return ghm_cli_fail(&err);
    printf("combined %d experiment(s), %d loss(es):\n  %s\n  %s\n", res.n_experiments, res.n_losses, res.md_path,
           res.tex_path);
    return 0;
}

int ghm_cmd_report(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--combine") == 0) return cmd_combine(argc, argv);
    const char *dir = NULL, *val;
    int no_plots = 0;
    unsigned formats = 0, wide = 0;
    for (int i = 1; i < argc; i++) {
        int m;
        if (strcmp(argv[i], "--no-plots") == 0) {
            no_plots = 1;
        } else if ((m = ghm_cli_opt(argc, argv, &i, "--formats", &val))) {
            if (m < 0) return ghm_cli_usage("report", "--formats needs a list like png,pdf,svg");
            if (ghm_plot_formats_parse(val, &formats) < 0)
                return ghm_cli_usage("report", "--formats: expected a comma-separated list of png, pdf, svg, got '%s'",
                                     val);
        } else if ((m = ghm_cli_opt(argc, argv, &i, "--figure-size", &val))) {
            /* column: 8.5 cm (one column of a two-column paper, the default); page: 17.5 cm */
            if (m < 0 || (strcmp(val, "column") != 0 && strcmp(val, "page") != 0))
                return ghm_cli_usage("report", "--figure-size: expected column (8.5 cm) or page (17.5 cm)");
            wide = strcmp(val, "page") == 0 ? GHM_PLOT_WIDE : 0;
        } else if (strcmp(argv[i], "--out") == 0) {
            return ghm_cli_usage("report", "--out goes with --combine (a report is written into its directory)");
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return ghm_cli_usage("report", "unknown option '%s'%s", argv[i], ghm_cli_option_hint("report", argv[i], NULL));
        } else if (!dir) {
            dir = argv[i];
        } else {
            return ghm_cli_usage("report", "one results directory expected (several: --combine)");
        }
    }
    if (!dir) return ghm_cli_usage("report", "missing results directory (ghm report results/NAME)");
    formats |= wide;
    char dirbuf[GHM_PATH_MAX];
    snprintf(dirbuf, sizeof dirbuf, "%s", dir);
    for (size_t k = strlen(dirbuf); k > 1 && dirbuf[k - 1] == '/'; k--) dirbuf[k - 1] = '\0'; /* results/x/ */
    dir = dirbuf;
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
    if (have_e && e.search) {
        int s = ghm_search_expand(&e, dir, NULL, &err) < 0 ? ghm_cli_fail(&err)
                                                          : ghm_cli_write_search_report(dir, &e, !no_plots, formats);
        ghm_experiment_free(&e);
        return s;
    }
    ghm_report_opts ro;
    ghm_report_opts_default(&ro);
    ro.plots = !no_plots;
    ro.formats = formats;
    ro.warn = ghm_cli_warn_record;
    ghm_report_result res;
    int rc = ghm_cli_report_locked(dir, have_e ? &e : NULL, &ro, &res, &err);
    if (have_e) ghm_experiment_free(&e);
    if (rc < 0) return ghm_cli_fail(&err);
    ghm_cli_print_report_result(dir, &res);
    return 0;
}
