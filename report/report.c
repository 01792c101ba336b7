/* Aggregation of records: statistics over seeds, summary tables, report files. */
#include "report/report.h"

#include "../core/fsutil.h"
#include "../core/json.h"
#include "report/plot.h"
#include "core/textbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tables ---- */

static int column_best(const ghm_summary *s, int m)
{
    int best = -1;
    for (int g = 0; g < s->n_groups; g++) {
        if (s->groups[g].test[m].n == 0) continue;
        if (best < 0 || s->groups[g].test[m].mean > s->groups[best].test[m].mean) best = g;
    }
    return best;
}

static void csv_field(ghm_tb *b, const char *t)
{
    if (strpbrk(t, ",\"\r\n")) {
        ghm_tb_puts(b, "\"");
        for (const char *p = t; *p; p++) ghm_tb_printf(b, *p == '"' ? "\"\"" : "%c", *p);
        ghm_tb_puts(b, "\"");
    } else {
        ghm_tb_puts(b, t);
    }
}

static void num_field(ghm_tb *b, double v)
{
    if (isfinite(v)) ghm_tb_printf(b, "%.6g", v);
}

int ghm_summary_csv(const ghm_summary *s, char **out, ghm_error *err)
{
    ghm_tb b;
    ghm_tb_init(&b);
    ghm_tb_puts(&b, "loss");
    for (int c = 0; c < s->n_swept; c++) {
        ghm_tb_puts(&b, ",");
        csv_field(&b, s->swept[c]);
    }
    ghm_tb_puts(&b, ",seeds");
    for (int m = 0; m < s->n_metrics; m++)
        for (int k = 0; k < 3; k++) {
            char h[GHM_REC_METRIC_NAME + 8];
            snprintf(h, sizeof h, "%s_%s", s->metrics[m], k == 0 ? "mean" : k == 1 ? "std" : "ci95");
            ghm_tb_puts(&b, ",");
            csv_field(&b, h);
        }
    ghm_tb_puts(&b, "\n");
    for (int g = 0; g < s->n_groups; g++) {
        const ghm_group *G = &s->groups[g];
        csv_field(&b, G->loss);
        for (int c = 0; c < s->n_swept; c++) {
            ghm_tb_puts(&b, ",");
            if (G->has[c]) csv_field(&b, G->text[c]);
        }
        ghm_tb_printf(&b, ",%d", G->n_members);
        for (int m = 0; m < s->n_metrics; m++) {
            const ghm_stat *st = &G->test[m];
            ghm_tb_puts(&b, ",");
            if (st->n > 0) num_field(&b, st->mean);
            ghm_tb_puts(&b, ",");
            if (st->n > 0) num_field(&b, st->std);
            ghm_tb_puts(&b, ",");
            if (st->n > 0) num_field(&b, st->ci95);
        }
        ghm_tb_puts(&b, "\n");
    }
    return ghm_tb_finish(&b, out, err);
}

static void md_stat(ghm_tb *b, const ghm_stat *st, int bold)
{
    if (st->n == 0) {
        ghm_tb_puts(b, " – |");
        return;
    }
    /* a single seed has no spread: print the value alone rather than "± 0.00" */
    if (st->n == 1)
        ghm_tb_printf(b, bold ? " **%.2f** |" : " %.2f |", 100 * st->mean);
    else
        ghm_tb_printf(b, bold ? " **%.2f ± %.2f** |" : " %.2f ± %.2f |", 100 * st->mean, 100 * st->ci95);
}

/* " text |": a Markdown table cell, escaped */
static void md_cell(ghm_tb *b, const char *t)
{
    ghm_tb_puts(b, " ");
    ghm_tb_md(b, t);
    ghm_tb_puts(b, " |");
}

static void md_setting(ghm_tb *b, const ghm_summary *s, const ghm_group *G)
{
    int any = 0;
    for (int c = 0; c < s->n_swept; c++)
        if (G->has[c]) {
            ghm_tb_puts(b, any ? ", " : "");
            ghm_tb_md(b, s->swept[c]);
            ghm_tb_puts(b, "=");
            ghm_tb_md(b, G->text[c]);
            any = 1;
        }
    if (!any) ghm_tb_puts(b, "(defaults)");
}

int ghm_summary_markdown(const ghm_summary *s, const char *title, char **out, ghm_error *err)
{
    ghm_tb b;
    ghm_tb_init(&b);
    char lab[32];
    ghm_tb_puts(&b, "# ");
    ghm_tb_md(&b, title ? title : "Results");
    ghm_tb_puts(&b, "\n\n");
    ghm_tb_printf(&b,
                  "Test metrics in percent, mean ± 95%% confidence half-width (t distribution) over seeds; "
                  "best mean per column in bold. %d runs in %d settings.\n\n",
                  s->n_recs, s->n_groups);
    int best[GHM_REC_MAX_METRICS];
    for (int m = 0; m < s->n_metrics; m++) best[m] = column_best(s, m);
    ghm_tb_puts(&b, "| loss |");
    for (int c = 0; c < s->n_swept; c++) {
        ghm_tb_puts(&b, " ");
        ghm_tb_md(&b, s->swept[c]);
        ghm_tb_puts(&b, " |");
    }
    ghm_tb_puts(&b, " seeds |");
    for (int m = 0; m < s->n_metrics; m++) md_cell(&b, ghm_metric_display(s->metrics[m], 1, lab, sizeof lab));
    ghm_tb_puts(&b, "\n|---|");
    for (int c = 0; c < s->n_swept; c++) ghm_tb_puts(&b, "---:|");
    ghm_tb_puts(&b, "---:|");
    for (int m = 0; m < s->n_metrics; m++) ghm_tb_puts(&b, "---:|");
    ghm_tb_puts(&b, "\n");
    for (int g = 0; g < s->n_groups; g++) {
        const ghm_group *G = &s->groups[g];
        ghm_tb_puts(&b, "|");
        md_cell(&b, G->loss);
        for (int c = 0; c < s->n_swept; c++) md_cell(&b, G->has[c] ? G->text[c] : "");
        ghm_tb_printf(&b, " %d |", G->n_members);
        for (int m = 0; m < s->n_metrics; m++) md_stat(&b, &G->test[m], best[m] == g);
        ghm_tb_puts(&b, "\n");
    }

    /* selection on validation */
    int any_sweep = 0;
    for (int l = 0; l < s->n_losses; l++)
        if (ghm_summary_loss_groups(s, s->losses[l]) > 1) any_sweep = 1;
    if (any_sweep) {
        ghm_tb_puts(&b, "\n## Selected on validation\n\n");
        ghm_tb_puts(&b,
                    "For each swept loss, the setting with the best mean validation Recall@1 (the test set is "
                    "never used for selection), and its test metrics.\n\n");
        ghm_tb_puts(&b, "| loss | setting | val R@1 |");
        for (int m = 0; m < s->n_metrics; m++) md_cell(&b, ghm_metric_display(s->metrics[m], 1, lab, sizeof lab));
        ghm_tb_puts(&b, "\n|---|---|---:|");
        for (int m = 0; m < s->n_metrics; m++) ghm_tb_puts(&b, "---:|");
        ghm_tb_puts(&b, "\n");
        for (int l = 0; l < s->n_losses; l++) {
            if (ghm_summary_loss_groups(s, s->losses[l]) < 2) continue;
            int g = ghm_summary_select_val(s, s->losses[l]);
            if (g < 0) {
                ghm_tb_puts(&b, "|");
                md_cell(&b, s->losses[l]);
                ghm_tb_puts(&b, " (no validation metrics: set dataset.val_fraction > 0) | – |");
                for (int m = 0; m < s->n_metrics; m++) ghm_tb_puts(&b, " – |");
                ghm_tb_puts(&b, "\n");
                continue;
            }
            const ghm_group *G = &s->groups[g];
            ghm_tb_puts(&b, "|");
            md_cell(&b, G->loss);
            ghm_tb_puts(&b, " ");
            md_setting(&b, s, G);
            ghm_tb_puts(&b, " |");
            md_stat(&b, &G->val_recall1, 0);
            for (int m = 0; m < s->n_metrics; m++) md_stat(&b, &G->test[m], 0);
            ghm_tb_puts(&b, "\n");
        }
    }
    return ghm_tb_finish(&b, out, err);
}

int ghm_summary_latex(const ghm_summary *s, const char *title, char **out, ghm_error *err)
{
    ghm_tb b;
    ghm_tb_init(&b);
    char lab[32];
    int best[GHM_REC_MAX_METRICS];
    for (int m = 0; m < s->n_metrics; m++) best[m] = column_best(s, m);
    ghm_tb_puts(&b, "% generated by ghm report; needs \\usepackage{booktabs}\n");
    ghm_tb_puts(&b, "\\begin{table}[t]\n\\centering\n\\small\n");
    ghm_tb_puts(&b, "\\caption{");
    ghm_tb_tex(&b, title ? title : "Results");
    ghm_tb_puts(&b, ": test metrics (\\%), mean $\\pm$ 95\\% CI half-width over seeds.}\n");
    ghm_tb_puts(&b, "\\begin{tabular}{l");
    for (int c = 0; c < s->n_swept; c++) ghm_tb_puts(&b, "r");
    ghm_tb_puts(&b, "r");
    for (int m = 0; m < s->n_metrics; m++) ghm_tb_puts(&b, "r");
    ghm_tb_puts(&b, "}\n\\toprule\nLoss");
    for (int c = 0; c < s->n_swept; c++) {
        ghm_tb_puts(&b, " & ");
        ghm_tb_tex(&b, s->swept[c]);
    }
    ghm_tb_puts(&b, " & Seeds");
    for (int m = 0; m < s->n_metrics; m++) {
        ghm_tb_puts(&b, " & ");
        ghm_tb_tex(&b, ghm_metric_display(s->metrics[m], 1, lab, sizeof lab));
    }
    ghm_tb_puts(&b, " \\\\\n\\midrule\n");
    for (int g = 0; g < s->n_groups; g++) {
        const ghm_group *G = &s->groups[g];
        if (g > 0 && strcmp(G->loss, s->groups[g - 1].loss) != 0) ghm_tb_puts(&b, "\\addlinespace\n");
        ghm_tb_tex(&b, G->loss);
        for (int c = 0; c < s->n_swept; c++) {
            ghm_tb_puts(&b, " & ");
            if (G->has[c]) ghm_tb_tex(&b, G->text[c]);
        }
        ghm_tb_printf(&b, " & %d", G->n_members);
        for (int m = 0; m < s->n_metrics; m++) {
            const ghm_stat *st = &G->test[m];
            if (st->n == 0)
                ghm_tb_puts(&b, " & --");
            else if (st->n == 1)
                ghm_tb_printf(&b, best[m] == g ? " & $\\mathbf{%.2f}$" : " & $%.2f$", 100 * st->mean);
            else if (best[m] == g)
                ghm_tb_printf(&b, " & $\\mathbf{%.2f \\pm %.2f}$", 100 * st->mean, 100 * st->ci95);
            else
                ghm_tb_printf(&b, " & $%.2f \\pm %.2f$", 100 * st->mean, 100 * st->ci95);
        }
        ghm_tb_puts(&b, " \\\\\n");
    }
    ghm_tb_puts(&b, "\\bottomrule\n\\end{tabular}\n\\end{table}\n");
    return ghm_tb_finish(&b, out, err);
}

/* ---- report files ---- */

void ghm_report_opts_default(ghm_report_opts *o)
{
    o->plots = 1;
    o->gnuplot = "gnuplot";
    o->warn = NULL;
    o->warn_user = NULL;
    o->formats = 0;
    o->html = 1;
}

static void md_run_setting(ghm_tb *b, const ghm_record *r)
{
    ghm_tb_md(b, r->loss);
    for (int i = 0; i < r->n_swept; i++) {
        ghm_tb_puts(b, i == 0 ? " " : ", ");
        ghm_tb_md(b, r->swept_name[i]);
        ghm_tb_puts(b, "=");
        ghm_tb_md(b, r->swept_text[i]);
    }
}

/* summary.md sections on failed runs and runs at chance level (md is replaced) */
static int md_append_run_checks(char **md, const ghm_record *ok, int n_ok, const ghm_record *failed, int n_failed,
                                ghm_error *err)
{
    int n_chance = 0;
    for (int i = 0; i < n_ok; i++) n_chance += ok[i].at_chance;
    if (n_failed == 0 && n_chance == 0) return 0;
    ghm_tb b;
    ghm_tb_init(&b);
    ghm_tb_puts(&b, *md);
    if (n_failed > 0) {
        ghm_tb_printf(&b,
                      "\n## Failed runs\n\n%d run(s) failed; they are left out of every statistic above. "
                      "`ghm run --retry-failed` reruns them.\n\n| run | setting | seed | epoch | batch | reason |\n"
                      "|---|---|---:|---:|---:|---|\n",
                      n_failed);
        for (int i = 0; i < n_failed; i++) {
            const ghm_record *r = &failed[i];
            ghm_tb_puts(&b, "| ");
            ghm_tb_md(&b, r->run_id);
            ghm_tb_puts(&b, " | ");
            md_run_setting(&b, r);
            ghm_tb_printf(&b, " | %llu | %d | %d | ", (unsigned long long)r->seed, r->fail_epoch, r->fail_batch);
            ghm_tb_md(&b, r->failure);
            ghm_tb_puts(&b, " |\n");
        }
    }
    if (n_chance > 0) {
        ghm_tb_printf(&b,
                      "\n## Runs at chance level\n\n%d run(s) never rose above chance: their best Recall@1 (on "
                      "validation, else test) is within three standard errors of the Recall@1 of random "
                      "embeddings. They are included above.\n\n| run | setting | seed | chance R@1 |\n"
                      "|---|---|---:|---:|\n",
                      n_chance);
        for (int i = 0; i < n_ok; i++) {
            const ghm_record *r = &ok[i];
            if (!r->at_chance) continue;
            ghm_tb_puts(&b, "| ");
            ghm_tb_md(&b, r->run_id);
            ghm_tb_puts(&b, " | ");
            md_run_setting(&b, r);
            ghm_tb_printf(&b, " | %llu | %.2f |\n", (unsigned long long)r->seed, 100 * r->chance);
        }
    }
    char *out;
    int rc = ghm_tb_finish(&b, &out, err);
    if (rc < 0) return rc;
    free(*md);
    *md = out;
    return 0;
}

/* summary.md: the paper figure (plot.c's fig_compare) linked, with where the others are (md is replaced) */
static int md_append_figure(char **md, const ghm_summary *s, ghm_error *err)
{
    int m = ghm_summary_metric(s, "recall@1");
    if (m < 0) m = ghm_summary_metric(s, "map@r");
    if (m < 0) return 0;
    char disp[40], mn[64];
    ghm_metric_display(s->metrics[m], 0, disp, sizeof disp);
    ghm_plot_safe_name(s->metrics[m], mn, sizeof mn);
    ghm_tb b;
    ghm_tb_init(&b);
    ghm_tb_puts(&b, *md);
    ghm_tb_printf(&b,
                  "\n## Figures\n\n![test %s per loss](plots/compare_%s.png)\n\n`plots/compare_%s.pdf`: test %s "
                  "per loss at its setting selected on validation, mean and 95%% CI over seeds (also "
                  "`compare_map_at_r`). Every figure (PNG and PDF, with its data and gnuplot script) is in "
                  "`plots/` and shown in `index.html`.\n",
                  disp, mn, mn, disp);
    char *out;
    int rc = ghm_tb_finish(&b, &out, err);
    if (rc < 0) return rc;
    free(*md);
    *md = out;
    return 0;
}

static int write_text(const char *dir, const char *name, const char *text, ghm_error *err)
{
    return ghm_out_write(dir, name, text, strlen(text), err);
}

int ghm_report_write(const char *dir, const ghm_experiment *e, const ghm_report_opts *opts, ghm_report_result *res,
                     ghm_error *err)
{
    ghm_report_opts defo;
    if (!opts) {
        ghm_report_opts_default(&defo);
        opts = &defo;
    }
    memset(res, 0, sizeof *res);
    ghm_record *recs;
    int n, rc;
    if ((rc = ghm_records_load_ex(dir, GHM_RECORDS_ALL, e, opts->warn, opts->warn_user, &recs, &n, &res->n_bad,
                                  err)) < 0)
        return rc;
    if (e) {
        /* keep records of the current plan only; count the missing runs */
        res->n_planned = e->n_runs;
        int *seen = calloc((size_t)(e->n_runs > 0 ? e->n_runs : 1), sizeof *seen);
        if (!seen) {
            ghm_records_free(recs, n);
            return GHM_FAIL(err, GHM_ENOMEM, "out of memory (report)");
        }
        int k = 0;
        for (int i = 0; i < n; i++) {
            int found = -1;
            for (int p = 0; p < e->n_runs; p++)
                if (strcmp(e->runs[p].run_id, recs[i].run_id) == 0) found = p;
            if (found < 0) {
                ghm_record_free(&recs[i]);
                res->n_stale++;
                continue;
            }
            seen[found] = 1;
            recs[i].index = found;
            recs[k++] = recs[i];
        }
        n = k;
        for (int p = 0; p < e->n_runs; p++)
            if (!seen[p]) res->n_missing++;
        free(seen);
    }
    /* failed runs: listed, never in the statistics (kept at the end of recs) */
    ghm_record *failed = calloc((size_t)(n > 0 ? n : 1), sizeof *failed);
    if (!failed) {
        ghm_records_free(recs, n);
        return GHM_FAIL(err, GHM_ENOMEM, "out of memory (report)");
    }
    int n_ok = 0, n_failed = 0;
    for (int i = 0; i < n; i++) {
        if (recs[i].failed)
            failed[n_failed++] = recs[i];
        else
            recs[n_ok++] = recs[i];
    }
    for (int i = 0; i < n_failed; i++) recs[n_ok + i] = failed[i];
    free(failed);
    failed = recs + n_ok;
    res->n_failed = n_failed;
    for (int i = 0; i < n_ok; i++) res->n_at_chance += recs[i].at_chance;
    int n_all = n;
    n = n_ok;
    res->n_records = n;
    if (n == 0) {
        ghm_records_free(recs, n_all);
        if (n_failed > 0)
            return ghm_error_set(err, GHM_EINPUT, "%s: no finished runs to report (%d failed run(s))", dir, n_failed);
        return ghm_error_set(err, GHM_EINPUT, "%s: no finished runs to report (no runs/*/record.json)", dir);
    }
    ghm_summary s;
    if ((rc = ghm_summary_build(recs, n, e, &s, err)) < 0) {
        ghm_records_free(recs, n_all);
        return rc;
    }
    res->n_groups = s.n_groups;
    const char *title = e ? e->name : (recs[0].experiment[0] ? recs[0].experiment : "Results");
    char *csv = NULL, *md = NULL, *tex = NULL;
    if ((rc = ghm_summary_csv(&s, &csv, err)) < 0) goto done;
    if ((rc = ghm_summary_markdown(&s, title, &md, err)) < 0) goto done;
    if ((rc = md_append_run_checks(&md, recs, n, failed, n_failed, err)) < 0) goto done;
    if (opts->plots && (rc = md_append_figure(&md, &s, err)) < 0) goto done;
    if ((rc = ghm_summary_latex(&s, title, &tex, err)) < 0) goto done;
    if ((rc = write_text(dir, "summary.csv", csv, err)) < 0) goto done;
    if ((rc = write_text(dir, "summary.md", md, err)) < 0) goto done;
    if ((rc = write_text(dir, "summary.tex", tex, err)) < 0) goto done;
    ghm_plot_list *plots = calloc(1, sizeof *plots);
    if (!plots) {
        rc = GHM_FAIL(err, GHM_ENOMEM, "out of memory (report)");
        goto done;
    }
    if (opts->plots) {
        /* --formats, else the file's; --figure-size page (GHM_PLOT_WIDE) applies to either */
        unsigned fmts = opts->formats & GHM_PLOT_FORMATS ? opts->formats
                        : (e ? e->report_formats : 0) | (opts->formats & GHM_PLOT_WIDE);
        rc = ghm_plots_write(&s, dir, opts->gnuplot ? opts->gnuplot : "gnuplot", fmts, plots,
                             &res->n_plots, res->warning, (int)sizeof res->warning, err);
        if (rc < 0) {
            free(plots);
            goto done;
        }
    }
    if (opts->html) {
        rc = ghm_report_html(dir, e, &s, plots, res, err);
        if (rc < 0) {
            free(plots);
            goto done;
        }
        res->wrote_index = 1;
    }
    free(plots);
    rc = 0;
done:
    free(csv);
    free(md);
    free(tex);
    ghm_summary_free(&s);
    ghm_records_free(recs, n_all);
    return rc;
}
