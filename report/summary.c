/* Records grouped into the summary of an experiment (report/report.h): one
 * group per loss and setting, with the statistics of every metric over its
 * seeds or reproductions; the selections (best on validation) and the metric
 * display names that the tables, figures and pages share. */
#include "report/report.h"

#include "report/stats.h"
#include "eval/eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Display name of a metric: short for table headers ("recall@1" -> "R@1",
 * "r_precision" -> "RP"), long for plot titles ("Recall@1", "R-precision"). */
const char *ghm_metric_display(const char *m, int short_form, char *buf, size_t n)
{
    return ghm_metric_label(m, short_form, buf, n); /* eval/metric_registry.c */
}
