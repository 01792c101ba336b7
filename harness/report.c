/* Aggregation of records: statistics over seeds, summary tables, report files. */
#include "report.h"

#include "../core/fsutil.h"
#include "../core/json.h"
#include "plot.h"
#include "textbuf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- statistics ---- */

double ghm_stat_mean(const double *x, int n)
{
    if (n <= 0) return NAN;
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i];
    return s / n;
}

double ghm_stat_std(const double *x, int n)
{
    if (n <= 0) return NAN;
    if (n == 1) return 0;
    double m = ghm_stat_mean(x, n), s = 0;
    for (int i = 0; i < n; i++) s += (x[i] - m) * (x[i] - m);
    return sqrt(s / (n - 1));
}

double ghm_stat_t975(int dof)
{
    /* Student t, two-sided 95% (0.975 quantile), dof 1..30 */
    static const double t[30] = {12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.3060, 2.2622, 2.2281,
                                 2.2010,  2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.0930, 2.0860,
                                 2.0796,  2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423};
    if (dof < 1) return NAN;
    if (dof <= 30) return t[dof - 1];
    /* beyond the table: the Cornish-Fisher expansion in 1/dof around the
     * normal quantile (Abramowitz & Stegun 26.7.5), within 1e-6 for dof > 30 */
    const double z = 1.959963984540054, z2 = z * z, v = dof;
    const double g1 = (z2 + 1) * z / 4, g2 = ((5 * z2 + 16) * z2 + 3) * z / 96,
                 g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384,
                 g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160;
    return z + (g1 + (g2 + (g3 + g4 / v) / v) / v) / v;
}

double ghm_stat_ci95(const double *x, int n)
{
    if (n <= 0) return NAN;
    if (n == 1) return 0;
    return ghm_stat_t975(n - 1) * ghm_stat_std(x, n) / sqrt((double)n);
}

static ghm_stat stat_of(const double *x, int n)
{
    ghm_stat s;
    s.n = n;
    s.mean = ghm_stat_mean(x, n);
    s.std = ghm_stat_std(x, n);
    s.ci95 = ghm_stat_ci95(x, n);
    return s;
}

/* ---- grouping ---- */

int ghm_summary_metric(const ghm_summary *s, const char *name)
{
    for (int i = 0; i < s->n_metrics; i++)
        if (strcmp(s->metrics[i], name) == 0) return i;
    return -1;
}

void ghm_summary_free(ghm_summary *s)
{
    if (!s) return;
    for (int g = 0; g < s->n_groups; g++) free(s->groups[g].members);
    free(s->groups);
    s->groups = NULL;
    s->n_groups = 0;
}

static int add_loss(ghm_summary *s, const char *loss)
{
    for (int i = 0; i < s->n_losses; i++)
        if (strcmp(s->losses[i], loss) == 0) return i;
    if (s->n_losses >= 32) return -1;
    snprintf(s->losses[s->n_losses], 32, "%s", loss);
    return s->n_losses++;
}

/* does record r belong to group g (same loss, same swept values)? */
static int same_group(const ghm_summary *s, const ghm_group *g, const ghm_record *r)
{
    if (strcmp(g->loss, r->loss) != 0) return 0;
    for (int c = 0; c < s->n_swept; c++) {
        if (s->swept_loss[c][0] && strcmp(s->swept_loss[c], r->loss) != 0) continue; /* another loss's column */
        int k = -1;
        for (int i = 0; i < r->n_swept; i++)
            if (strcmp(r->swept_name[i], s->swept_key[c]) == 0) k = i;
        if ((k >= 0) != (g->has[c] != 0)) return 0;
        if (k >= 0 && strcmp(r->swept_text[k], g->text[c]) != 0 && r->swept_value[k] != g->value[c]) return 0;
    }
    return 1;
}

int ghm_swept_columns(const char *const *pair_loss, const char *const *pair_key, int n_pairs, int max,
                      char (*names)[GHM_NAME_MAX], char (*keys)[GHM_NAME_MAX], char (*losses)[32])
{
    int n = 0;
    for (int i = 0; i < n_pairs; i++) {
        const char *key = pair_key[i];
        int seen = 0;
        for (int c = 0; c < n && !seen; c++) seen = strcmp(keys[c], key) == 0;
        if (seen) continue; /* the key's columns are made at its first pair */
        /* a loss parameter swept by two or more different losses? */
        int shared = 0;
        if (!strchr(key, '.'))
            for (int j = i + 1; j < n_pairs && !shared; j++)
                shared = strcmp(pair_key[j], key) == 0 && strcmp(pair_loss[j], pair_loss[i]) != 0;
        for (int j = i; j < n_pairs; j++) {
            if (strcmp(pair_key[j], key) != 0) continue;
            if (shared) {
                int dup = 0;
                for (int c = 0; c < n && !dup; c++)
                    dup = strcmp(keys[c], key) == 0 && strcmp(losses[c], pair_loss[j]) == 0;
                if (dup) continue;
            }
            if (n >= max) return -1;
            snprintf(keys[n], GHM_NAME_MAX, "%s", key);
            snprintf(losses[n], 32, "%s", shared ? pair_loss[j] : "");
            if (shared)
                snprintf(names[n], GHM_NAME_MAX, "%.31s.%s", pair_loss[j], key);
            else
                snprintf(names[n], GHM_NAME_MAX, "%s", key);
            n++;
            if (!shared) break;
        }
    }
    return n;
}

int ghm_summary_swept_col(const ghm_summary *s, const char *loss, const char *key)
{
    for (int c = 0; c < s->n_swept; c++)
        if (strcmp(s->swept_key[c], key) == 0 && (!s->swept_loss[c][0] || strcmp(s->swept_loss[c], loss) == 0))
            return c;
    return -1;
}

/* the summary's swept columns from the plan's runs (e, may be NULL) and the records */
static int summary_columns(ghm_summary *out, const ghm_record *recs, int n, const ghm_experiment *e, ghm_error *err)
{
    enum { MAXP = 1024 };
    const char **pl = malloc(sizeof *pl * MAXP), **pk = malloc(sizeof *pk * MAXP);
    if (!pl || !pk) {
        free(pl), free(pk);
        return GHM_FAIL(err, GHM_ENOMEM, "out of memory (report)");
    }
    int np = 0, over = 0;
    int n_runs = e ? e->n_runs : 0;
    for (int i = 0; i < n_runs + n && !over; i++) {
        const char *loss = i < n_runs ? e->runs[i].loss : recs[i - n_runs].loss;
        int ns = i < n_runs ? e->runs[i].n_swept : recs[i - n_runs].n_swept;
        for (int j = 0; j < ns; j++) {
            const char *key = i < n_runs ? e->runs[i].swept_name[j] : recs[i - n_runs].swept_name[j];
            int dup = 0;
            for (int q = 0; q < np && !dup; q++) dup = strcmp(pk[q], key) == 0 && strcmp(pl[q], loss) == 0;
            if (dup) continue;
            if (np >= MAXP) {
                over = 1;
                break;
            }
            pl[np] = loss, pk[np] = key, np++;
        }
    }
    int nc = over ? -1 : ghm_swept_columns(pl, pk, np, GHM_SUM_MAX_SWEPT, out->swept, out->swept_key, out->swept_loss);
    free(pl), free(pk);
    if (nc < 0) return ghm_error_set(err, GHM_EINPUT, "report: more than %d swept columns", GHM_SUM_MAX_SWEPT);
    out->n_swept = nc;
    return 0;
}

int ghm_summary_build(const ghm_record *recs, int n, const ghm_experiment *e, ghm_summary *out, ghm_error *err)
{
    memset(out, 0, sizeof *out);
    out->recs = recs;
    out->n_recs = n;
    if (e)
        for (int i = 0; i < e->n_losses; i++) add_loss(out, e->loss_names[i]);
    int rc = summary_columns(out, recs, n, e, err);
    if (rc < 0) return rc;
    for (int r = 0; r < n; r++) {
        if (add_loss(out, recs[r].loss) < 0) return ghm_error_set(err, GHM_EINPUT, "report: more than 32 losses");
        for (int i = 0; i < recs[r].test.n; i++)
            if (ghm_summary_metric(out, recs[r].test.name[i]) < 0 && out->n_metrics < GHM_REC_MAX_METRICS)
                snprintf(out->metrics[out->n_metrics++], GHM_REC_METRIC_NAME, "%s", recs[r].test.name[i]);
    }
    /* groups in loss order (file order), then first appearance (records are in plan order) */
    out->groups = calloc((size_t)(n > 0 ? n : 1), sizeof *out->groups);
    double *buf = malloc((size_t)(n > 0 ? n : 1) * sizeof *buf);
    if (!out->groups || !buf) {
        free(buf);
        ghm_summary_free(out);
        return GHM_FAIL(err, GHM_ENOMEM, "out of memory (report)");
    }
    for (int l = 0; l < out->n_losses; l++) {
        for (int r = 0; r < n; r++) {
            if (strcmp(recs[r].loss, out->losses[l]) != 0) continue;
            int g;
            for (g = 0; g < out->n_groups; g++)
                if (same_group(out, &out->groups[g], &recs[r])) break;
            ghm_group *G = &out->groups[g];
            if (g == out->n_groups) {
                out->n_groups++;
                snprintf(G->loss, sizeof G->loss, "%s", recs[r].loss);
                for (int i = 0; i < recs[r].n_swept; i++) {
                    int c = ghm_summary_swept_col(out, recs[r].loss, recs[r].swept_name[i]);
                    if (c >= 0) {
                        G->has[c] = 1;
                        G->value[c] = recs[r].swept_value[i];
                        snprintf(G->text[c], GHM_NAME_MAX, "%s", recs[r].swept_text[i]);
                    }
                }
                G->members = malloc((size_t)n * sizeof *G->members);
                if (!G->members) {
                    free(buf);
                    ghm_summary_free(out);
                    return GHM_FAIL(err, GHM_ENOMEM, "out of memory (report)");
                }
            }
            G->members[G->n_members++] = r;
        }
    }
    for (int g = 0; g < out->n_groups; g++) {
        ghm_group *G = &out->groups[g];
        for (int m = 0; m < out->n_metrics; m++) {
            int k = 0;
            for (int i = 0; i < G->n_members; i++) {
                double v;
                if (ghm_metric_set_find(&recs[G->members[i]].test, out->metrics[m], &v) && isfinite(v)) buf[k++] = v;
            }
            G->test[m] = stat_of(buf, k);
        }
        int k = 0;
        for (int i = 0; i < G->n_members; i++) {
            double v;
            const ghm_record *R = &recs[G->members[i]];
            if (R->has_val && ghm_metric_set_find(&R->val, "recall@1", &v) && isfinite(v)) buf[k++] = v;
        }
        G->val_recall1 = stat_of(buf, k);
    }
    free(buf);
    return 0;
}

int ghm_summary_loss_groups(const ghm_summary *s, const char *loss)
{
    int c = 0;
    for (int g = 0; g < s->n_groups; g++)
        if (strcmp(s->groups[g].loss, loss) == 0) c++;
    return c;
}

int ghm_summary_select_val(const ghm_summary *s, const char *loss)
{
    int best = -1;
    for (int g = 0; g < s->n_groups; g++) {
        const ghm_group *G = &s->groups[g];
        if (strcmp(G->loss, loss) != 0 || G->val_recall1.n == 0) continue;
        if (best < 0 || G->val_recall1.mean > s->groups[best].val_recall1.mean) best = g;
    }
    return best;
}

int ghm_summary_best(const ghm_summary *s, const char *loss, int *on_test)
{
    if (on_test) *on_test = 0;
    int g = ghm_summary_select_val(s, loss);
    if (g >= 0) return g;
    int m = ghm_summary_metric(s, "recall@1"), best = -1, count = 0;
    for (int i = 0; i < s->n_groups; i++) {
        if (strcmp(s->groups[i].loss, loss) != 0) continue;
        count++;
        if (best < 0 || (m >= 0 && s->groups[i].test[m].mean > s->groups[best].test[m].mean)) best = i;
    }
    if (count > 1 && on_test) *on_test = 1;
    return best;
}

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

/* Display name of a metric: short for table headers ("recall@1" -> "R@1",
 * "r_precision" -> "RP"), long for plot titles ("Recall@1", "R-precision"). */
const char *ghm_metric_display(const char *m, int short_form, char *buf, size_t n)
{
    return ghm_metric_label(m, short_form, buf, n); /* eval/metric_registry.c */
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
