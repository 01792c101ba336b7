/* `ghm report --combine DIR...`: the main table of a paper, losses as rows and
 * experiments (dataset x protocol) as columns. See report.h. */
#include "../core/json.h"
#include "report.h"
#include "textbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define COMBINE_MAX_LOSSES 64

typedef struct {
    char label[160];   /* "fashion-mnist, standard" */
    char name[GHM_NAME_MAX];
    ghm_record *recs;
    int n_recs;
    ghm_experiment e;
    int have_e;
    ghm_summary s;
    int have_s;
} column;

static const char *const metrics[2] = {"recall@1", "map@r"};
static const char *const metric_md[2] = {"R@1", "MAP@R"};

static void free_column(column *c)
{
    if (c->have_s) ghm_summary_free(&c->s);
    ghm_records_free(c->recs, c->n_recs);
    if (c->have_e) ghm_experiment_free(&c->e);
    memset(c, 0, sizeof *c);
}

/* load one results directory: its plan (experiment.yaml, when readable) and records */
static int load_column(const char *dir, column *c, ghm_error *err)
{
    memset(c, 0, sizeof *c);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return ghm_error_set(err, GHM_EINPUT, "report --combine: '%s' is not a directory", dir);
    char yaml[GHM_PATH_MAX + 64];
    snprintf(yaml, sizeof yaml, "%s/experiment.yaml", dir);
    ghm_error e2;
    ghm_error_clear(&e2);
    if (stat(yaml, &st) == 0 && ghm_experiment_load(yaml, &c->e, &e2) == 0) c->have_e = 1;
    int n_bad = 0, rc = ghm_records_load(dir, &c->recs, &c->n_recs, &n_bad, err);
    if (rc < 0) return rc;
    if (c->have_e) { /* keep the records of the current plan only, as ghm report does */
        int k = 0;
        for (int i = 0; i < c->n_recs; i++) {
            int found = 0;
            for (int p = 0; p < c->e.n_runs && !found; p++) found = strcmp(c->e.runs[p].run_id, c->recs[i].run_id) == 0;
            if (found)
                c->recs[k++] = c->recs[i];
            else
                ghm_record_free(&c->recs[i]);
        }
        c->n_recs = k;
    }
    if (c->n_recs == 0) return ghm_error_set(err, GHM_EINPUT, "report --combine: %s has no finished runs", dir);
    if ((rc = ghm_summary_build(c->recs, c->n_recs, c->have_e ? &c->e : NULL, &c->s, err)) < 0) return rc;
    c->have_s = 1;
    const char *dataset = c->recs[0].dataset[0] ? c->recs[0].dataset : "?";
    const char *protocol = "";
    if (c->have_e && c->e.n_runs > 0) {
        dataset = c->e.runs[0].dataset_name[0] ? c->e.runs[0].dataset_name : dataset;
        protocol = c->e.runs[0].split.protocol == GHM_SPLIT_CLASSES ? "class-disjoint" : "standard";
    }
    snprintf(c->name, sizeof c->name, "%s", c->have_e ? c->e.name : c->recs[0].experiment);
    if (protocol[0])
        snprintf(c->label, sizeof c->label, "%s, %s", dataset, protocol);
    else
        snprintf(c->label, sizeof c->label, "%s (%s)", dataset, c->name);
    return 0;
}

/* names, labels, paths and settings come from results directories: escaped (textbuf.h) */
static void tex_esc(ghm_tb *b, const char *t) { ghm_tb_tex(b, t); }

/* the selected group of a loss in a column, or -1 */
static int cell_group(const column *c, const char *loss) { return ghm_summary_best(&c->s, loss, NULL); }

static const ghm_stat *cell_stat(const column *c, const char *loss, int k)
{
    int g = cell_group(c, loss), m = ghm_summary_metric(&c->s, metrics[k]);
    if (g < 0 || m < 0 || c->s.groups[g].test[m].n == 0) return NULL;
    return &c->s.groups[g].test[m];
}

int ghm_report_combine_markdown(const char *const *dirs, int n, char **md, char **tex, ghm_combine_result *res,
                                ghm_error *err)
{
    *md = *tex = NULL;
    memset(res, 0, sizeof *res);
    if (n < 1) return ghm_error_set(err, GHM_EINPUT, "report --combine: no results directories given");
    column *cols = calloc((size_t)n, sizeof *cols);
    if (!cols) return GHM_FAIL(err, GHM_ENOMEM, "out of memory (combine)");
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) rc = load_column(dirs[i], &cols[i], err);
    char losses[COMBINE_MAX_LOSSES][32];
    int n_losses = 0;
    for (int i = 0; i < n && rc == 0; i++)
        for (int l = 0; l < cols[i].s.n_losses; l++) {
            int seen = 0;
            for (int k = 0; k < n_losses; k++) seen |= strcmp(losses[k], cols[i].s.losses[l]) == 0;
            if (!seen && n_losses < COMBINE_MAX_LOSSES) snprintf(losses[n_losses++], 32, "%s", cols[i].s.losses[l]);
        }
    if (rc < 0) goto done;
    res->n_experiments = n;
    res->n_losses = n_losses;

    /* best mean per (column, metric) */
    int best[64][2];
    for (int i = 0; i < n && i < 64; i++)
        for (int k = 0; k < 2; k++) {
            best[i][k] = -1;
            double bm = -INFINITY;
            for (int l = 0; l < n_losses; l++) {
                const ghm_stat *st = cell_stat(&cols[i], losses[l], k);
                if (st && st->mean > bm) bm = st->mean, best[i][k] = l;
            }
        }

    ghm_tb m, t;
    ghm_tb_init(&m);
    ghm_tb_init(&t);
    /* ---- Markdown ---- */
    ghm_tb_puts(&m, "| loss |");
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 2; k++) {
            ghm_tb_puts(&m, " ");
            ghm_tb_md(&m, cols[i].label);
            ghm_tb_printf(&m, ": %s |", metric_md[k]);
        }
    ghm_tb_puts(&m, "\n|---|");
    for (int i = 0; i < 2 * n; i++) ghm_tb_puts(&m, "---:|");
    ghm_tb_puts(&m, "\n");
    for (int l = 0; l < n_losses; l++) {
        ghm_tb_puts(&m, "| ");
        ghm_tb_md(&m, losses[l]);
        ghm_tb_puts(&m, " |");
        for (int i = 0; i < n; i++)
            for (int k = 0; k < 2; k++) {
                const ghm_stat *st = cell_stat(&cols[i], losses[l], k);
                int bold = i < 64 && best[i][k] == l;
                if (!st)
                    ghm_tb_puts(&m, " – |");
                else if (st->n == 1)
                    ghm_tb_printf(&m, bold ? " **%.1f** |" : " %.1f |", 100 * st->mean);
                else
                    ghm_tb_printf(&m, bold ? " **%.1f ± %.1f** |" : " %.1f ± %.1f |", 100 * st->mean, 100 * st->ci95);
            }
        ghm_tb_puts(&m, "\n");
    }
    ghm_tb_puts(&m, "\nTest metrics in percent, mean ± 95% confidence half-width (t distribution) over seeds, of "
                    "each loss's setting selected on validation Recall@1; best mean per column in bold. Sources:");
    for (int i = 0; i < n; i++) {
        ghm_tb_puts(&m, i ? ", " : " ");
        ghm_tb_md(&m, dirs[i]);
        ghm_tb_puts(&m, " (");
        ghm_tb_md(&m, cols[i].name);
        ghm_tb_puts(&m, ")");
    }
    ghm_tb_puts(&m, ".");
    int any_sel = 0;
    for (int l = 0; l < n_losses; l++)
        for (int i = 0; i < n; i++) {
            if (ghm_summary_loss_groups(&cols[i].s, losses[l]) < 2) continue;
            int g = cell_group(&cols[i], losses[l]);
            if (g < 0) continue;
            const ghm_group *G = &cols[i].s.groups[g];
            ghm_tb_puts(&m, any_sel ? "; " : " Selected: ");
            ghm_tb_md(&m, losses[l]);
            ghm_tb_puts(&m, " on ");
            ghm_tb_md(&m, cols[i].label);
            ghm_tb_puts(&m, ": ");
            int first = 1;
            for (int c = 0; c < cols[i].s.n_swept; c++)
                if (G->has[c]) {
                    ghm_tb_puts(&m, first ? "" : ", ");
                    ghm_tb_md(&m, cols[i].s.swept[c]);
                    ghm_tb_puts(&m, " = ");
                    ghm_tb_md(&m, G->text[c]);
                    first = 0;
                }
            any_sel = 1;
        }
    ghm_tb_puts(&m, any_sel ? ".\n" : "\n");

    /* ---- LaTeX (booktabs) ---- */
    ghm_tb_puts(&t, "% generated by ghm report --combine; needs \\usepackage{booktabs}\n");
    ghm_tb_puts(&t, "\\begin{table}[t]\n\\centering\n\\small\n\\caption{Test Recall@1 and MAP@R (\\%), mean "
                    "$\\pm$ 95\\% CI half-width over seeds, of each loss's setting selected on validation.}\n");
    ghm_tb_puts(&t, "\\begin{tabular}{l");
    for (int i = 0; i < 2 * n; i++) ghm_tb_puts(&t, "r");
    ghm_tb_puts(&t, "}\n\\toprule\n");
    for (int i = 0; i < n; i++) {
        ghm_tb_puts(&t, " & \\multicolumn{2}{c}{");
        tex_esc(&t, cols[i].label);
        ghm_tb_puts(&t, "}");
    }
    ghm_tb_puts(&t, " \\\\\n");
    for (int i = 0; i < n; i++) ghm_tb_printf(&t, "\\cmidrule(lr){%d-%d}", 2 + 2 * i, 3 + 2 * i);
    ghm_tb_puts(&t, "\nLoss");
    for (int i = 0; i < n; i++) ghm_tb_puts(&t, " & R@1 & MAP@R");
    ghm_tb_puts(&t, " \\\\\n\\midrule\n");
    for (int l = 0; l < n_losses; l++) {
        tex_esc(&t, losses[l]);
        for (int i = 0; i < n; i++)
            for (int k = 0; k < 2; k++) {
                const ghm_stat *st = cell_stat(&cols[i], losses[l], k);
                int bold = i < 64 && best[i][k] == l;
                if (!st)
                    ghm_tb_puts(&t, " & --");
                else if (st->n == 1)
                    ghm_tb_printf(&t, bold ? " & $\\mathbf{%.1f}$" : " & $%.1f$", 100 * st->mean);
                else
                    ghm_tb_printf(&t, bold ? " & $\\mathbf{%.1f \\pm %.1f}$" : " & $%.1f \\pm %.1f$", 100 * st->mean,
                                  100 * st->ci95);
            }
        ghm_tb_puts(&t, " \\\\\n");
    }
    ghm_tb_puts(&t, "\\bottomrule\n\\end{tabular}\n\\end{table}\n");
    if ((rc = ghm_tb_finish(&m, md, err)) < 0) {
        ghm_tb_free(&t);
        goto done;
    }
    if ((rc = ghm_tb_finish(&t, tex, err)) < 0) {
        free(*md);
        *md = NULL;
        goto done;
    }
    rc = 0;
done:
    for (int i = 0; i < n; i++) free_column(&cols[i]);
    free(cols);
    return rc;
}

int ghm_report_combine(const char *const *dirs, int n, const char *prefix, ghm_combine_result *res, ghm_error *err)
{
    char *md = NULL, *tex = NULL;
    int rc = ghm_report_combine_markdown(dirs, n, &md, &tex, res, err);
    if (rc < 0) return rc;
    snprintf(res->md_path, sizeof res->md_path, "%s.md", prefix);
    snprintf(res->tex_path, sizeof res->tex_path, "%s.tex", prefix);
    rc = ghm_write_file_atomic(res->md_path, md, strlen(md), err);
    if (rc == 0) rc = ghm_write_file_atomic(res->tex_path, tex, strlen(tex), err);
    free(md);
    free(tex);
    return rc;
}
