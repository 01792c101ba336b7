/* `ghm report --combine DIR...`: the main table of a paper, losses as rows and
 * experiments (dataset x protocol) as columns. See report.h. */
#include "../core/fsutil.h"
#include "../core/json.h"
#include "report/report.h"
#include "search/search.h"
#include "report/search_report.h"
#include "core/textbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define COMBINE_MAX_LOSSES 64

/* A loss of a search directory: its chosen setting and its final runs' test metrics over reproductions,
 * separate (mean of the fold models' own metrics) and concatenated (their embeddings joined), as the
 * search's summary.csv has them. */
typedef struct {
    char label[48];            /* loss name, "#n" appended for a repeated name (as in summary.csv) */
    char setting[512];         /* "alpha = 0.55702, tau = 0.336814" ("" untuned or not chosen yet) */
    int tuned;
    ghm_stat sep[2], cat[2];   /* per metrics[] */
} search_loss;

typedef struct {
    char label[160];   /* "fashion-mnist, standard" */
    char name[GHM_NAME_MAX];
    ghm_record *recs;
    int n_recs;
    ghm_experiment e;
    int have_e;
    ghm_summary s;
    int have_s;
    int search;        /* 1: a search directory: the cells come from sl */
    char objective[GHM_METRIC_NAME_MAX];
    int n_sl;
    search_loss *sl;   /* (n_sl) per loss entry */
} column;

static const char *const metrics[2] = {"recall@1", "map@r"};
static const char *const metric_md[2] = {"R@1", "MAP@R"};
/* the cells of a search column: each metric separate and concatenated */
static const char *const search_md[4] = {"R@1", "R@1 concat.", "MAP@R", "MAP@R concat."};

static int n_cells(const column *c) { return c->search ? 4 : 2; }

static void free_column(column *c)
{
    free(c->sl);
    if (c->have_s) ghm_summary_free(&c->s);
    ghm_records_free(c->recs, c->n_recs);
    if (c->have_e) ghm_experiment_free(&c->e);
    memset(c, 0, sizeof *c);
}

static void set_stat(ghm_stat *st, const double *v, int n)
{
    double buf[64];
    int k = 0;
    for (int i = 0; i < n && k < 64; i++)
        if (isfinite(v[i])) buf[k++] = v[i];
    st->n = k;
    st->mean = k ? ghm_stat_mean(buf, k) : NAN;
    st->std = k ? ghm_stat_std(buf, k) : NAN;
    st->ci95 = k ? ghm_stat_ci95(buf, k) : NAN;
}

/* the record of run `id` under dir/sub, when it is there, is that run's and did not fail */
static int read_ok(const char *dir, const char *sub, const char *id, ghm_record *rec)
{
    char path[GHM_PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/%s/%s/record.json", dir, sub, id);
    ghm_error e;
    if (ghm_record_read(path, rec, &e) < 0) return 0;
    if (strcmp(rec->run_id, id) != 0 || ghm_record_failed(rec)) {
        ghm_record_free(rec);
        return 0;
    }
    return 1;
}

/* A search directory (c->e expanded against it): per loss entry, the chosen setting (what the final
 * runs train) and the final runs' test metrics, separate over complete reproductions and concatenated
 * from the ensemble records; the statistics of report/search_report.c's summary.csv. */
static int load_search(const char *dir, column *c, ghm_error *err)
{
    const ghm_experiment *e = &c->e;
    const ghm_search_config *sc = e->search;
    const int K = sc->folds >= 2 ? sc->folds : 1, R = sc->reproductions, L = e->n_losses;
    c->search = 1;
    snprintf(c->objective, sizeof c->objective, "%s", sc->objective);
    c->n_sl = L;
    c->sl = calloc((size_t)(L > 0 ? L : 1), sizeof *c->sl);
    double *sep = calloc((size_t)L * R * 2, sizeof(double)), *cat = malloc(sizeof(double) * (size_t)L * R * 2);
    int *folds = calloc((size_t)L * R, sizeof(int));
    const char **ids = calloc((size_t)K, sizeof *ids);
    if (!c->sl || !sep || !cat || !folds || !ids) {
        free(sep), free(cat), free(folds), free(ids);
        return GHM_FAIL(err, GHM_ENOMEM, "out of memory (combine)");
    }
    for (size_t i = 0; i < (size_t)L * R * 2; i++) cat[i] = NAN;
    for (int l = 0; l < L; l++) {
        int same = 0, before = 0;
        for (int j = 0; j < L; j++)
            if (strcmp(e->loss_names[j], e->loss_names[l]) == 0) same++, before += j < l;
        if (same > 1)
            snprintf(c->sl[l].label, sizeof c->sl[l].label, "%s#%d", e->loss_names[l], before + 1);
        else
            snprintf(c->sl[l].label, sizeof c->sl[l].label, "%s", e->loss_names[l]);
        c->sl[l].tuned = sc->space[l].n > 0;
    }
    for (int i = 0; i < e->n_runs; i++) {
        const ghm_run_spec *r = &e->runs[i];
        if (r->role != GHM_ROLE_FINAL || r->loss_entry < 0 || r->loss_entry >= L || r->reproduction < 0 ||
            r->reproduction >= R)
            continue;
        search_loss *x = &c->sl[r->loss_entry];
        if (x->tuned && !x->setting[0]) { /* the chosen trial's values, as the final runs train them */
            size_t at = 0;
            for (int j = 0; j < r->n_swept && at < sizeof x->setting; j++)
                at += (size_t)snprintf(x->setting + at, sizeof x->setting - at, "%s%s = %s", j ? ", " : "",
                                       r->swept_name[j], r->swept_text[j]);
        }
        ghm_record rec;
        if (read_ok(dir, "runs", r->run_id, &rec)) {
            const size_t at = ((size_t)r->loss_entry * R + r->reproduction) * 2;
            double v[2];
            int both = 1;
            for (int k = 0; k < 2; k++) both &= ghm_metric_set_find(&rec.test, metrics[k], &v[k]);
            if (both) {
                folds[(size_t)r->loss_entry * R + r->reproduction]++;
                sep[at] += v[0], sep[at + 1] += v[1];
            }
            ghm_record_free(&rec);
        }
        /* the concatenated evaluation of a reproduction's K fold models (planned as folds 0..K-1 in a row) */
        if (r->split.fold != 0 || i + K > e->n_runs) continue;
        for (int f = 0; f < K; f++) ids[f] = e->runs[i + f].run_id;
        char id[24];
        ghm_ensemble_id(ids, K, id);
        if (read_ok(dir, "ensembles", id, &rec)) {
            const size_t at = ((size_t)r->loss_entry * R + r->reproduction) * 2;
            for (int k = 0; k < 2; k++)
                if (!ghm_metric_set_find(&rec.test, metrics[k], &cat[at + k])) cat[at + k] = NAN;
            ghm_record_free(&rec);
        }
    }
    double *v = malloc(sizeof(double) * (size_t)(R > 0 ? R : 1));
    for (int l = 0; v && l < L; l++)
        for (int k = 0; k < 2; k++) {
            for (int rr = 0; rr < R; rr++) /* separate: complete reproductions only */
                v[rr] = folds[(size_t)l * R + rr] == K ? sep[((size_t)l * R + rr) * 2 + k] / K : NAN;
            set_stat(&c->sl[l].sep[k], v, R);
            for (int rr = 0; rr < R; rr++) v[rr] = cat[((size_t)l * R + rr) * 2 + k];
            set_stat(&c->sl[l].cat[k], v, R);
        }
    const int ok = v != NULL;
    free(v), free(sep), free(cat), free(folds), free(ids);
    return ok ? 0 : GHM_FAIL(err, GHM_ENOMEM, "out of memory (combine)");
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
    int rc;
    if (c->have_e && c->e.search) { /* the search's plan, rebuilt from its records: trials, then the finals */
        if ((rc = ghm_search_expand(&c->e, dir, NULL, err)) < 0) return rc;
        if ((rc = load_search(dir, c, err)) < 0) return rc;
        int any = 0;
        for (int l = 0; l < c->n_sl; l++) any |= c->sl[l].sep[0].n > 0 || c->sl[l].cat[0].n > 0;
        if (!any)
            return ghm_error_set(err, GHM_EINPUT, "report --combine: %s has no finished final runs of its search",
                                 dir);
        snprintf(c->name, sizeof c->name, "%s", c->e.name);
        const ghm_run_spec *r0 = &c->e.runs[0];
        snprintf(c->label, sizeof c->label, "%s, %s%s", r0->dataset_name[0] ? r0->dataset_name : "?",
                 r0->split.protocol == GHM_SPLIT_CLASSES ? "class-disjoint" : "standard",
                 r0->eval.exclude_same_group ? ", family held out" : "");
        return 0;
    }
    int n_bad = 0;
    rc = ghm_records_load(dir, &c->recs, &c->n_recs, &n_bad, err);
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
        snprintf(c->label, sizeof c->label, "%s, %s%s", dataset, protocol,
                 c->e.runs[0].eval.exclude_same_group ? ", family held out" : "");
    else
        snprintf(c->label, sizeof c->label, "%s (%s)", dataset, c->name);
    return 0;
}

/* names, labels, paths and settings come from results directories: escaped (textbuf.h) */
static void tex_esc(ghm_tb *b, const char *t) { ghm_tb_tex(b, t); }

/* the selected group of a loss in a column, or -1 */
static int cell_group(const column *c, const char *loss) { return ghm_summary_best(&c->s, loss, NULL); }

static const search_loss *search_find(const column *c, const char *loss)
{
    for (int l = 0; l < c->n_sl; l++)
        if (strcmp(c->sl[l].label, loss) == 0) return &c->sl[l];
    return NULL;
}

/* cell k of a loss in a column (n_cells: plain R@1, MAP@R; search the same, each separate and
 * concatenated), or NULL */
static const ghm_stat *cell_stat(const column *c, const char *loss, int k)
{
    if (c->search) {
        const search_loss *x = search_find(c, loss);
        const ghm_stat *st = x ? (k % 2 ? &x->cat[k / 2] : &x->sep[k / 2]) : NULL;
        return st && st->n > 0 ? st : NULL;
    }
    int g = cell_group(c, loss), m = ghm_summary_metric(&c->s, metrics[k]);
    if (g < 0 || m < 0 || c->s.groups[g].test[m].n == 0) return NULL;
    return &c->s.groups[g].test[m];
}

/* The combined table being written: its columns, its rows (the losses of all columns, in order of
 * first appearance) and the best row of each (column, cell). */
typedef struct {
    const char *const *dirs;
    column *cols;
    int n;
    char losses[COMBINE_MAX_LOSSES][48];
    int n_losses;
    int best[64][4];   /* row of the best mean per (column, cell); columns past 64 have none */
    int total_cells;
    int any_search;
} combined;

/* the rows: every loss of every column, once, in order of first appearance */
static void collect_losses(combined *T)
{
    T->n_losses = 0;
    for (int i = 0; i < T->n; i++) {
        const column *c = &T->cols[i];
        for (int l = 0; l < (c->search ? c->n_sl : c->s.n_losses); l++) {
            const char *name = c->search ? c->sl[l].label : c->s.losses[l];
            int seen = 0;
            for (int k = 0; k < T->n_losses; k++) seen |= strcmp(T->losses[k], name) == 0;
            if (!seen && T->n_losses < COMBINE_MAX_LOSSES)
                snprintf(T->losses[T->n_losses++], sizeof T->losses[0], "%s", name);
        }
    }
}

/* columns on the same dataset and protocol: told apart by the experiment's name (by the directory
 * when the names are the same too); decided for all before any label changes */
static int label_duplicates(combined *T, ghm_error *err)
{
    int n = T->n;
    column *cols = T->cols;
    if (n < 2) return 0; /* one column has no duplicate */
    int *dup = calloc((size_t)n, sizeof *dup);
    if (!dup) return GHM_FAIL(err, GHM_ENOMEM, "out of memory (combine)");
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (j != i && strcmp(cols[i].label, cols[j].label) == 0)
                dup[i] |= strcmp(cols[i].name, cols[j].name) == 0 ? 2 : 1;
    for (int i = 0; i < n; i++)
        if (dup[i]) {
            char base[sizeof cols[i].label];
            snprintf(base, sizeof base, "%s", cols[i].label);
            snprintf(cols[i].label, sizeof cols[i].label, "%.80s (%.70s)", base,
                     dup[i] & 2 ? T->dirs[i] : cols[i].name);
        }
    free(dup);
    return 0;
}

/* best mean per (column, metric), the number of cells and whether any column is a search */
static void find_best(combined *T)
{
    T->total_cells = 0;
    T->any_search = 0;
    for (int i = 0; i < T->n; i++) T->total_cells += n_cells(&T->cols[i]), T->any_search |= T->cols[i].search;
    for (int i = 0; i < T->n && i < 64; i++)
        for (int k = 0; k < n_cells(&T->cols[i]); k++) {
            T->best[i][k] = -1;
            double bm = -INFINITY;
            for (int l = 0; l < T->n_losses; l++) {
                const ghm_stat *st = cell_stat(&T->cols[i], T->losses[l], k);
                if (st && st->mean > bm) bm = st->mean, T->best[i][k] = l;
            }
        }
}

/* the Markdown table: header, alignment row, one row per loss */
static void md_table(ghm_tb *m, const combined *T)
{
    ghm_tb_puts(m, "| loss |");
    for (int i = 0; i < T->n; i++)
        for (int k = 0; k < n_cells(&T->cols[i]); k++) {
            ghm_tb_puts(m, " ");
            ghm_tb_md(m, T->cols[i].label);
            ghm_tb_printf(m, ": %s |", T->cols[i].search ? search_md[k] : metric_md[k]);
        }
    ghm_tb_puts(m, "\n|---|");
    for (int i = 0; i < T->total_cells; i++) ghm_tb_puts(m, "---:|");
    ghm_tb_puts(m, "\n");
    for (int l = 0; l < T->n_losses; l++) {
        ghm_tb_puts(m, "| ");
        ghm_tb_md(m, T->losses[l]);
        ghm_tb_puts(m, " |");
        for (int i = 0; i < T->n; i++)
            for (int k = 0; k < n_cells(&T->cols[i]); k++) {
                const ghm_stat *st = cell_stat(&T->cols[i], T->losses[l], k);
                int bold = i < 64 && T->best[i][k] == l;
                if (!st)
                    ghm_tb_puts(m, " – |");
                else if (st->n == 1)
                    ghm_tb_printf(m, bold ? " **%.1f** |" : " %.1f |", 100 * st->mean);
                else
                    ghm_tb_printf(m, bold ? " **%.1f ± %.1f** |" : " %.1f ± %.1f |", 100 * st->mean, 100 * st->ci95);
            }
        ghm_tb_puts(m, "\n");
    }
}

/* "; " or " Selected: ", then "LOSS on COLUMN: " */
static void md_selected_prefix(ghm_tb *m, int any_sel, const char *loss, const column *c)
{
    ghm_tb_puts(m, any_sel ? "; " : " Selected: ");
    ghm_tb_md(m, loss);
    ghm_tb_puts(m, " on ");
    ghm_tb_md(m, c->label);
    ghm_tb_puts(m, ": ");
}

/* the note's "Selected: ..." part: the setting chosen per (loss, column) where there was a choice,
 * then the note's final period and newline */
static void md_selected(ghm_tb *m, const combined *T)
{
    int any_sel = 0;
    for (int l = 0; l < T->n_losses; l++)
        for (int i = 0; i < T->n; i++) {
            const column *c = &T->cols[i];
            const char *loss = T->losses[l];
            if (c->search) { /* the search's choice, what its final runs trained */
                const search_loss *x = search_find(c, loss);
                if (!x || !x->setting[0]) continue;
                md_selected_prefix(m, any_sel, loss, c);
                ghm_tb_md(m, x->setting);
                any_sel = 1;
                continue;
            }
            if (ghm_summary_loss_groups(&c->s, loss) < 2) continue;
            int g = cell_group(c, loss);
            if (g < 0) continue;
            const ghm_group *G = &c->s.groups[g];
            md_selected_prefix(m, any_sel, loss, c);
            int first = 1;
            for (int k = 0; k < c->s.n_swept; k++)
                if (G->has[k]) {
                    ghm_tb_puts(m, first ? "" : ", ");
                    ghm_tb_md(m, c->s.swept[k]);
                    ghm_tb_puts(m, " = ");
                    ghm_tb_md(m, G->text[k]);
                    first = 0;
                }
            any_sel = 1;
        }
    ghm_tb_puts(m, any_sel ? ".\n" : "\n");
}

/* the note under the Markdown table: what the cells are, the sources, the selected settings */
static void md_note(ghm_tb *m, const combined *T)
{
    ghm_tb_puts(m, "\nTest metrics in percent, mean ± 95% confidence half-width (t distribution) over seeds, of "
                   "each loss's setting selected on validation ");
    ghm_tb_puts(m, T->any_search ? "(a sweep: validation Recall@1; a search: its own objective)" : "Recall@1");
    ghm_tb_puts(m, "; best mean per column in bold.");
    if (T->any_search)
        ghm_tb_puts(m, " Searches: the setting the search chose on its validation objective (mean over folds), "
                       "retrained per reproduction; ± over reproductions; R@1 and MAP@R the mean of the fold "
                       "models' own test metrics, concat. those of their embeddings joined.");
    ghm_tb_puts(m, " Sources:");
    for (int i = 0; i < T->n; i++) {
        ghm_tb_puts(m, i ? ", " : " ");
        ghm_tb_md(m, T->dirs[i]);
        ghm_tb_puts(m, " (");
        ghm_tb_md(m, T->cols[i].name);
        ghm_tb_puts(m, ")");
    }
    ghm_tb_puts(m, ".");
    md_selected(m, T);
}

/* the LaTeX table (booktabs): caption, two header rows, one row per loss */
static void tex_table(ghm_tb *t, const combined *T)
{
    ghm_tb_puts(t, "% generated by ghm report --combine; needs \\usepackage{booktabs}\n");
    ghm_tb_puts(t, "\\begin{table}[t]\n\\centering\n\\small\n\\caption{Test Recall@1 and MAP@R (\\%), mean "
                   "$\\pm$ 95\\% CI half-width over seeds, of each loss's setting selected on validation.");
    if (T->any_search)
        ghm_tb_puts(t, " Searches: the chosen setting retrained per reproduction ($\\pm$ over reproductions); "
                       "the mean of the fold models' own metrics, and (concat.) those of their embeddings joined.");
    ghm_tb_puts(t, "}\n");
    ghm_tb_puts(t, "\\begin{tabular}{l");
    for (int i = 0; i < T->total_cells; i++) ghm_tb_puts(t, "r");
    ghm_tb_puts(t, "}\n\\toprule\n");
    for (int i = 0; i < T->n; i++) {
        ghm_tb_printf(t, " & \\multicolumn{%d}{c}{", n_cells(&T->cols[i]));
        tex_esc(t, T->cols[i].label);
        ghm_tb_puts(t, "}");
    }
    ghm_tb_puts(t, " \\\\\n");
    for (int i = 0, at = 2; i < T->n; at += n_cells(&T->cols[i]), i++)
        ghm_tb_printf(t, "\\cmidrule(lr){%d-%d}", at, at + n_cells(&T->cols[i]) - 1);
    ghm_tb_puts(t, "\nLoss");
    for (int i = 0; i < T->n; i++)
        ghm_tb_puts(t, T->cols[i].search ? " & R@1 & R@1 concat. & MAP@R & MAP@R concat." : " & R@1 & MAP@R");
    ghm_tb_puts(t, " \\\\\n\\midrule\n");
    for (int l = 0; l < T->n_losses; l++) {
        tex_esc(t, T->losses[l]);
        for (int i = 0; i < T->n; i++)
            for (int k = 0; k < n_cells(&T->cols[i]); k++) {
                const ghm_stat *st = cell_stat(&T->cols[i], T->losses[l], k);
                int bold = i < 64 && T->best[i][k] == l;
                if (!st)
                    ghm_tb_puts(t, " & --");
                else if (st->n == 1)
                    ghm_tb_printf(t, bold ? " & $\\mathbf{%.1f}$" : " & $%.1f$", 100 * st->mean);
                else
                    ghm_tb_printf(t, bold ? " & $\\mathbf{%.1f \\pm %.1f}$" : " & $%.1f \\pm %.1f$", 100 * st->mean,
                                  100 * st->ci95);
            }
        ghm_tb_puts(t, " \\\\\n");
    }
    ghm_tb_puts(t, "\\bottomrule\n\\end{tabular}\n\\end{table}\n");
}

int ghm_report_combine_markdown(const char *const *dirs, int n, char **md, char **tex, ghm_combine_result *res,
                                ghm_error *err)
{
    *md = *tex = NULL;
    memset(res, 0, sizeof *res);
    if (n < 1) return ghm_error_set(err, GHM_EINPUT, "report --combine: no results directories given");
    combined *T = calloc(1, sizeof *T);
    column *cols = calloc((size_t)n, sizeof *cols);
    if (!T || !cols) {
        free(T);
        free(cols);
        return GHM_FAIL(err, GHM_ENOMEM, "out of memory (combine)");
    }
    T->dirs = dirs;
    T->cols = cols;
    T->n = n;
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) rc = load_column(dirs[i], &cols[i], err);
    if (rc < 0) goto done;
    collect_losses(T);
    if ((rc = label_duplicates(T, err)) < 0) goto done;
    res->n_experiments = n;
    res->n_losses = T->n_losses;
    find_best(T);

    ghm_tb m, t;
    ghm_tb_init(&m);
    ghm_tb_init(&t);
    md_table(&m, T);
    md_note(&m, T);
    tex_table(&t, T);
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
    free(T);
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
