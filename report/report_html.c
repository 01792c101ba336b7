/* index.html of a results directory: one self-contained page (inline CSS, no
 * script, no network) with everything a report holds. See report.h. */
#include "../core/fileio.h"
#include "../core/fsutil.h"
#include "../core/json.h"
#include "report/plot.h"
#include "report/report.h"
#include "core/textbuf.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* every text in the page (names, settings, captions, the experiment file) is escaped (textbuf.h) */
static void esc(ghm_tb *b, const char *t) { ghm_tb_html(b, t); }

/* a path segment for an href: names here are [A-Za-z0-9._@-], anything else is %-encoded */
static void href(ghm_tb *b, const char *t)
{
    for (const char *p = t; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("._-/", c))
            ghm_tb_printf(b, "%c", c);
        else
            ghm_tb_printf(b, "%%%02X", c);
    }
}

static int file_exists(const char *dir, const char *name)
{
    char p[GHM_PATH_MAX + 300];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static void stat_cell(ghm_tb *b, const ghm_stat *st, int bold)
{
    if (st->n == 0) {
        ghm_tb_puts(b, "<td class=n>–</td>");
        return;
    }
    ghm_tb_puts(b, bold ? "<td class=n><b>" : "<td class=n>");
    if (st->n == 1)
        ghm_tb_printf(b, "%.2f", 100 * st->mean);
    else
        ghm_tb_printf(b, "%.2f ± %.2f", 100 * st->mean, 100 * st->ci95);
    ghm_tb_puts(b, bold ? "</b></td>" : "</td>");
}

static void setting_text(ghm_tb *b, const ghm_summary *s, const ghm_group *G)
{
    int any = 0;
    for (int c = 0; c < s->n_swept; c++)
        if (G->has[c]) {
            ghm_tb_puts(b, any ? ", " : "");
            esc(b, s->swept[c]);
            ghm_tb_puts(b, " = ");
            esc(b, G->text[c]);
            any = 1;
        }
    if (!any) ghm_tb_puts(b, "(defaults)");
}

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* sorted names of regular files in dir whose name ends with suffix (malloc'd array of malloc'd strings) */
static int list_files(const char *dir, const char *suffix, char ***out)
{
    *out = NULL;
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0, cap = 0;
    char **v = NULL;
    struct dirent *de;
    size_t ls = strlen(suffix);
    while ((de = readdir(d)) != NULL) {
        size_t ln = strlen(de->d_name);
        if (de->d_name[0] == '.' || ln <= ls || strcmp(de->d_name + ln - ls, suffix) != 0) continue;
        if (!file_exists(dir, de->d_name)) continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **nv = realloc(v, (size_t)cap * sizeof *nv);
            if (!nv) break;
            v = nv;
        }
        if (!(v[n] = strdup(de->d_name))) break;
        n++;
    }
    closedir(d);
    if (n > 1) qsort(v, (size_t)n, sizeof *v, name_cmp);
    *out = v;
    return n;
}

static void free_list(char **v, int n)
{
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

static const char *const css =
    "body{font-family:sans-serif;max-width:1200px;margin:1em auto;padding:0 1em;color:#222;line-height:1.4}"
    "h1{font-size:1.6em}h2{font-size:1.3em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}"
    "table{border-collapse:collapse;margin:.5em 0;font-size:.9em}"
    "th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left}th{background:#f2f2f2}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}"
    "tr:nth-child(even) td{background:#fafafa}"
    "figure{display:inline-block;vertical-align:top;width:46%;margin:.5em;border:1px solid #ddd;padding:.4em}"
    "figure img{width:100%}figcaption{font-size:.85em;color:#444}"
    "pre{background:#f6f6f6;border:1px solid #ddd;padding:.6em;overflow:auto;font-size:.85em}"
    ".ok{color:#1a7f37}.missing{color:#b35900}.note{color:#555;font-size:.9em}"
    "nav a{margin-right:1em}";

/* the page head, the title, the navigation and the paragraph that links every table of dir */
static void html_head(ghm_tb *b, const char *dir, const char *title, const ghm_summary *s,
                      const ghm_report_result *res)
{
    ghm_tb_puts(b, "<!DOCTYPE html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n<title>");
    esc(b, title);
    ghm_tb_printf(b, " – ghm report</title>\n<style>%s</style>\n</head>\n<body>\n<h1>", css);
    esc(b, title);
    ghm_tb_puts(b, "</h1>\n<nav><a href=\"#summary\">summary</a><a href=\"#selected\">selected settings</a>"
                   "<a href=\"#figures\">figures</a><a href=\"#runs\">runs</a><a href=\"#source\">experiment "
                   "file</a></nav>\n");
    ghm_tb_printf(b, "<p>%d finished run(s) in %d setting(s)", res->n_records, s->n_groups);
    if (res->n_planned > 0) ghm_tb_printf(b, "; %d of %d planned run(s) missing", res->n_missing, res->n_planned);
    ghm_tb_puts(b, ". Tables: <a href=\"summary.md\">summary.md</a>, <a href=\"summary.csv\">summary.csv</a>, "
                   "<a href=\"summary.tex\">summary.tex</a>");
    /* other top-level tables written by other modules (search.csv, paired.csv, ...) */
    static const char *const exts[] = {".csv", ".md", ".tex"};
    for (int x = 0; x < 3; x++) {
        char **names;
        int n = list_files(dir, exts[x], &names);
        for (int i = 0; i < n; i++) {
            if (strncmp(names[i], "summary.", 8) == 0) continue;
            ghm_tb_puts(b, ", <a href=\"");
            href(b, names[i]);
            ghm_tb_puts(b, "\">");
            esc(b, names[i]);
            ghm_tb_puts(b, "</a>");
        }
        free_list(names, n);
    }
    ghm_tb_puts(b, ".</p>\n");
}

/* the header cells of the test metrics, closing the header row */
static void metric_header_cells(ghm_tb *b, const ghm_summary *s)
{
    char lab[40];
    for (int m = 0; m < s->n_metrics; m++) {
        ghm_tb_puts(b, "<th>");
        esc(b, ghm_metric_display(s->metrics[m], 1, lab, sizeof lab));
        ghm_tb_puts(b, "</th>");
    }
    ghm_tb_puts(b, "</tr>\n");
}

/* section "Summary": one row per setting, the best mean of each metric in bold */
static void html_summary(ghm_tb *b, const ghm_summary *s)
{
    ghm_tb_puts(b, "<h2 id=summary>Summary</h2>\n<p class=note>Test metrics in percent, mean ± 95% confidence "
                   "half-width (t distribution) over seeds; best mean per column in bold.</p>\n<table>\n<tr><th>loss</th>");
    for (int c = 0; c < s->n_swept; c++) {
        ghm_tb_puts(b, "<th>");
        esc(b, s->swept[c]);
        ghm_tb_puts(b, "</th>");
    }
    ghm_tb_puts(b, "<th>seeds</th>");
    metric_header_cells(b, s);
    int best[GHM_REC_MAX_METRICS];
    for (int m = 0; m < s->n_metrics; m++) {
        best[m] = -1;
        for (int g = 0; g < s->n_groups; g++)
            if (s->groups[g].test[m].n > 0 &&
                (best[m] < 0 || s->groups[g].test[m].mean > s->groups[best[m]].test[m].mean))
                best[m] = g;
    }
    for (int g = 0; g < s->n_groups; g++) {
        const ghm_group *G = &s->groups[g];
        ghm_tb_puts(b, "<tr><td>");
        esc(b, G->loss);
        ghm_tb_puts(b, "</td>");
        for (int c = 0; c < s->n_swept; c++) {
            ghm_tb_puts(b, "<td>");
            if (G->has[c]) esc(b, G->text[c]);
            ghm_tb_puts(b, "</td>");
        }
        ghm_tb_printf(b, "<td class=n>%d</td>", G->n_members);
        for (int m = 0; m < s->n_metrics; m++) stat_cell(b, &G->test[m], best[m] == g);
        ghm_tb_puts(b, "</tr>\n");
    }
    ghm_tb_puts(b, "</table>\n");
}

/* section "Selected settings": per loss, the setting chosen on validation Recall@1 */
static void html_selected(ghm_tb *b, const ghm_summary *s)
{
    ghm_tb_puts(b, "<h2 id=selected>Selected settings</h2>\n<p class=note>For each loss, the setting with the "
                   "best mean validation Recall@1 (the test set is never used for selection) and its test "
                   "metrics.</p>\n<table>\n<tr><th>loss</th><th>setting</th><th>settings tried</th>"
                   "<th>val R@1</th>");
    metric_header_cells(b, s);
    for (int l = 0; l < s->n_losses; l++) {
        int on_test = 0, g = ghm_summary_best(s, s->losses[l], &on_test);
        if (g < 0) continue;
        const ghm_group *G = &s->groups[g];
        ghm_tb_puts(b, "<tr><td>");
        esc(b, G->loss);
        ghm_tb_puts(b, "</td><td>");
        setting_text(b, s, G);
        if (on_test) ghm_tb_puts(b, " <i>(no validation data: best on test)</i>");
        ghm_tb_printf(b, "</td><td class=n>%d</td>", ghm_summary_loss_groups(s, s->losses[l]));
        stat_cell(b, &G->val_recall1, 0);
        for (int m = 0; m < s->n_metrics; m++) stat_cell(b, &G->test[m], 0);
        ghm_tb_puts(b, "</tr>\n");
    }
    ghm_tb_puts(b, "</table>\n");
}

/* one figure of the report: the PNG (else the SVG) and links to each of its files in pdir */
static void html_figure(ghm_tb *b, const char *pdir, const ghm_plot_entry *p)
{
    char name[160];
    snprintf(name, sizeof name, "%s.png", p->base);
    int has_png = file_exists(pdir, name);
    if (!has_png) { /* an SVG-only report shows the SVG */
        snprintf(name, sizeof name, "%s.svg", p->base);
        has_png = file_exists(pdir, name);
    }
    ghm_tb_puts(b, "<figure>");
    if (has_png) {
        ghm_tb_puts(b, "<a href=\"plots/");
        href(b, name);
        ghm_tb_puts(b, "\"><img src=\"plots/");
        href(b, name);
        ghm_tb_puts(b, "\" alt=\"");
        esc(b, p->caption);
        ghm_tb_puts(b, "\"></a>");
    }
    ghm_tb_puts(b, "<figcaption>");
    esc(b, p->caption);
    ghm_tb_puts(b, " <span class=note>");
    static const char *const fx[] = {"png", "pdf", "svg", "gp", "dat"};
    for (int k = 0; k < 5; k++) {
        snprintf(name, sizeof name, "%s.%s", p->base, fx[k]);
        if (!file_exists(pdir, name)) continue;
        ghm_tb_puts(b, " <a href=\"plots/");
        href(b, name);
        ghm_tb_printf(b, "\">%s</a>", fx[k]);
    }
    ghm_tb_puts(b, "</span></figcaption></figure>\n");
}

/* section "Figures": the report's own figures, then "More figures" made by someone else
 * (e.g. plots/search_*.png) */
static void html_figures(ghm_tb *b, const char *pdir, const struct ghm_plot_list *plots)
{
    ghm_tb_puts(b, "<h2 id=figures>Figures</h2>\n");
    int shown = 0;
    for (int i = 0; plots && i < plots->n; i++) {
        html_figure(b, pdir, &plots->items[i]);
        shown++;
    }
    if (shown == 0)
        ghm_tb_puts(b, "<p class=note>No figures (gnuplot missing, or `ghm report --no-plots`): the data and "
                       "scripts are in plots/.</p>\n");

    char **names;
    int n = list_files(pdir, ".png", &names), header = 0;
    for (int i = 0; i < n; i++) {
        int ours = 0;
        for (int k = 0; plots && k < plots->n && !ours; k++) {
            size_t lb = strlen(plots->items[k].base);
            ours = strncmp(names[i], plots->items[k].base, lb) == 0 && strcmp(names[i] + lb, ".png") == 0;
        }
        /* figures of an earlier report that this one no longer makes are not shown either */
        if (ours || !(strncmp(names[i], "search", 6) == 0 || strstr(names[i], "paired"))) continue;
        if (!header) ghm_tb_puts(b, "<h2 id=more>More figures</h2>\n");
        header = 1;
        ghm_tb_puts(b, "<figure><a href=\"plots/");
        href(b, names[i]);
        ghm_tb_puts(b, "\"><img src=\"plots/");
        href(b, names[i]);
        ghm_tb_puts(b, "\" alt=\"");
        esc(b, names[i]);
        ghm_tb_puts(b, "\"></a><figcaption>");
        esc(b, names[i]);
        ghm_tb_puts(b, "</figcaption></figure>\n");
    }
    free_list(names, n);
}

/* a metric cell of the runs table: percent with 2 decimals, or a dash without the record or metric */
static void run_metric_cell(ghm_tb *b, const ghm_record *R, const char *metric)
{
    double v;
    if (R && ghm_metric_set_find(&R->test, metric, &v))
        ghm_tb_printf(b, "<td class=n>%.2f</td>", 100 * v);
    else
        ghm_tb_puts(b, "<td class=n>–</td>");
}

/* one row of the runs table: planned run p (record R, or NULL when not run yet), or record R
 * when there is no experiment (e == NULL) */
static void html_run_row(ghm_tb *b, const ghm_experiment *e, int p, const ghm_record *R)
{
    const char *id = R ? R->run_id : e->runs[p].run_id;
    ghm_tb_printf(b, "<tr><td class=n>%d</td><td>", p + 1);
    if (R) {
        ghm_tb_puts(b, "<a href=\"runs/");
        href(b, id);
        ghm_tb_puts(b, "/record.json\"><code>");
        esc(b, id);
        ghm_tb_puts(b, "</code></a></td><td class=ok>finished</td><td>");
    } else {
        ghm_tb_puts(b, "<code>");
        esc(b, id);
        ghm_tb_puts(b, "</code></td><td class=missing>not run yet</td><td>");
    }
    esc(b, R ? R->loss : e->runs[p].loss);
    ghm_tb_puts(b, "</td><td>");
    int ns = R ? R->n_swept : e->runs[p].n_swept, any = 0;
    for (int k = 0; k < ns; k++) {
        ghm_tb_puts(b, any ? ", " : "");
        esc(b, R ? R->swept_name[k] : e->runs[p].swept_name[k]);
        ghm_tb_puts(b, " = ");
        esc(b, R ? R->swept_text[k] : e->runs[p].swept_text[k]);
        any = 1;
    }
    ghm_tb_printf(b, "</td><td class=n>%llu</td>", (unsigned long long)(R ? R->seed : e->runs[p].seed));
    run_metric_cell(b, R, "recall@1");
    run_metric_cell(b, R, "map@r");
    if (R)
        ghm_tb_printf(b, "<td class=n>%.1f</td>", R->seconds);
    else
        ghm_tb_puts(b, "<td class=n>–</td>");
    ghm_tb_puts(b, "</tr>\n");
}

/* section "Runs": every planned run of the experiment (or every record without one) */
static void html_runs(ghm_tb *b, const ghm_experiment *e, const ghm_summary *s)
{
    ghm_tb_puts(b, "<h2 id=runs>Runs</h2>\n<table>\n<tr><th>#</th><th>run</th><th>status</th><th>loss</th>"
                   "<th>setting</th><th>seed</th><th>test R@1</th><th>test MAP@R</th><th>seconds</th></tr>\n");
    int n_rows = e ? e->n_runs : s->n_recs;
    for (int p = 0; p < n_rows; p++) {
        const ghm_record *R = NULL;
        if (e) {
            for (int i = 0; i < s->n_recs && !R; i++)
                if (strcmp(s->recs[i].run_id, e->runs[p].run_id) == 0) R = &s->recs[i];
        } else {
            R = &s->recs[p];
        }
        html_run_row(b, e, p, R);
    }
    ghm_tb_puts(b, "</table>\n");
}

/* section "Experiment file": dir/experiment.yaml verbatim (escaped), then the page's end */
static void html_source(ghm_tb *b, const char *dir, const ghm_experiment *e)
{
    ghm_tb_puts(b, "<h2 id=source>Experiment file</h2>\n");
    char yp[GHM_PATH_MAX + 64], *yaml = NULL;
    size_t ylen = 0;
    snprintf(yp, sizeof yp, "%s/experiment.yaml", dir);
    if (ghm_read_file(yp, &yaml, &ylen, NULL) == 0 && yaml) {
        ghm_tb_puts(b, "<p class=note><a href=\"experiment.yaml\">experiment.yaml</a>");
        if (e && e->file[0] && strcmp(e->file, yp) != 0) {
            ghm_tb_puts(b, ", a copy of <code>");
            esc(b, e->file);
            ghm_tb_puts(b, "</code>");
        }
        ghm_tb_puts(b, ":</p>\n<pre>");
        ghm_tb_html_pre(b, yaml);
        ghm_tb_puts(b, "</pre>\n");
    } else {
        ghm_tb_puts(b, "<p class=note>No experiment.yaml in this directory.</p>\n");
    }
    free(yaml);
    ghm_tb_puts(b, "<p class=note>Written by <code>ghm report</code>.</p>\n</body>\n</html>\n");
}

int ghm_report_html(const char *dir, const ghm_experiment *e, const ghm_summary *s,
                    const struct ghm_plot_list *plots, const ghm_report_result *res, ghm_error *err)
{
    ghm_tb b;
    ghm_tb_init(&b);
    const char *title = e ? e->name : (s->n_recs > 0 && s->recs[0].experiment[0] ? s->recs[0].experiment : "Results");
    html_head(&b, dir, title, s, res);
    html_summary(&b, s);
    html_selected(&b, s);
    char pdir[GHM_PATH_MAX + 16];
    snprintf(pdir, sizeof pdir, "%s/plots", dir);
    html_figures(&b, pdir, plots);
    html_runs(&b, e, s);
    html_source(&b, dir, e);

    char *html = NULL;
    int rc = ghm_tb_finish(&b, &html, err);
    if (rc < 0) return rc;
    rc = ghm_out_write(dir, "index.html", html, strlen(html), err);
    free(html);
    return rc;
}
