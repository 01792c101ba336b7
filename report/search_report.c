/* The report of a hyper-parameter search (search_report.h). */
#include "report/search_report.h"
#include "eval/eval.h"

#include "../core/fileio.h"
#include "../core/fsutil.h"
#include "../core/json.h"
#include "experiment/config_internal.h"
#include "report/plot.h"
#include "experiment/record.h"
#include "report/report.h"
#include "search/search.h"
#include "core/textbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- gathering: the plan and its records ---- */

#define SR_MAX_METRICS GHM_REC_MAX_METRICS

typedef struct sr_trial {
    int state;                      /* 0 pending / not proposed, 1 done, 2 failed */
    double y;                       /* objective: mean over folds */
    double *fold_y;                 /* (K) NaN where missing; then (K) per rung (halving): rung r at (1 + r) * K */
    char text[GHM_SEARCH_MAX_DIMS][GHM_NAME_MAX];
    double value[GHM_SEARCH_MAX_DIMS];
    int proposed;
    /* halving: the trial's result at each rung; y, fold_y[0..K) and state above are its highest rung's */
    int top;                        /* highest rung planned (-1: none) */
    int r_proposed[GHM_SEARCH_MAX_RUNGS], r_state[GHM_SEARCH_MAX_RUNGS];
    double r_y[GHM_SEARCH_MAX_RUNGS];
    long r_steps[GHM_SEARCH_MAX_RUNGS]; /* training steps of one run of the rung */
} sr_trial;

typedef struct sr_loss {
    char label[48];                 /* loss name, "#n" appended for a repeated name */
    int entry, tuned, T;
    sr_trial *trials;               /* (T) */
    int best;                       /* chosen trial (-1: none yet / untuned) */
    int runs_done, runs_failed;
    long trial_steps;               /* halving: training steps of the trial runs with a record */
    double seconds, core_seconds;
    double *sep, *cat;              /* (R x n_metrics) per reproduction, NaN where missing */
    int *sep_folds;                 /* (R) fold models finished */
    double *rep_val;                /* (R) sum of the final runs' validation objectives (search flags' noise floor) */
    int *rep_val_n;                 /* (R) how many */
} sr_loss;

typedef struct sr_data {
    int K, R, n_losses, n_metrics;
    int NR;                         /* rungs (1 without halving) */
    char metrics[SR_MAX_METRICS][GHM_REC_METRIC_NAME];
    sr_loss *L;
    int ref;                        /* index of compare_to */
} sr_data;

static void sr_free(sr_data *D)
{
    for (int l = 0; D->L && l < D->n_losses; l++) {
        sr_loss *x = &D->L[l];
        for (int t = 0; x->trials && t < x->T; t++) free(x->trials[t].fold_y);
        free(x->trials);
        free(x->sep);
        free(x->cat);
        free(x->sep_folds);
        free(x->rep_val);
        free(x->rep_val_n);
    }
    free(D->L);
}

static int read_rec(const char *dir, const char *sub, const char *id, ghm_record *rec)
{
    char path[GHM_PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/%s/%s/record.json", dir, sub, id);
    ghm_error e;
    if (ghm_record_read(path, rec, &e) < 0) return 0;
    if (strcmp(rec->run_id, id) != 0) {
        ghm_record_free(rec);
        return 0;
    }
    return 1;
}

static int metric_index(sr_data *D, const char *name, int add)
{
    for (int i = 0; i < D->n_metrics; i++)
        if (strcmp(D->metrics[i], name) == 0) return i;
    if (!add || D->n_metrics >= SR_MAX_METRICS) return -1;
    size_t len = strlen(name);
    if (len >= GHM_REC_METRIC_NAME) return -1;
    memcpy(D->metrics[D->n_metrics], name, len + 1);
    return D->n_metrics++;
}

/* loss entry l of the plan: its label, its planned trials and its per-reproduction arrays (NaN:
 * missing), counted in res's planned totals */
static int sr_loss_init(const ghm_experiment *e, sr_data *D, int l, ghm_search_report_result *res, ghm_error *err)
{
    const ghm_search_config *s = e->search;
    sr_loss *x = &D->L[l];
    int same = 0, before = 0;
    for (int j = 0; j < D->n_losses; j++)
        if (strcmp(e->loss_names[j], e->loss_names[l]) == 0) {
            same++;
            if (j < l) before++;
        }
    if (same > 1)
        snprintf(x->label, sizeof x->label, "%s#%d", e->loss_names[l], before + 1);
    else
        snprintf(x->label, sizeof x->label, "%s", e->loss_names[l]);
    x->entry = l;
    x->tuned = s->space[l].n > 0;
    x->T = x->tuned ? s->trials : 0;
    x->best = -1;
    x->trials = calloc((size_t)x->T + 1, sizeof(sr_trial));
    x->sep = malloc(sizeof(double) * (size_t)D->R * SR_MAX_METRICS);
    x->cat = malloc(sizeof(double) * (size_t)D->R * SR_MAX_METRICS);
    x->sep_folds = calloc((size_t)D->R, sizeof(int));
    x->rep_val = calloc((size_t)D->R + 1, sizeof(double));
    x->rep_val_n = calloc((size_t)D->R + 1, sizeof(int));
    if (!x->trials || !x->sep || !x->cat || !x->sep_folds || !x->rep_val || !x->rep_val_n) return ghm_error_set(err, GHM_ENOMEM, "out of memory");
    for (int i = 0; i < D->R * SR_MAX_METRICS; i++) x->sep[i] = x->cat[i] = NAN;
    for (int t = 0; t < x->T; t++) {
        x->trials[t].fold_y = malloc(sizeof(double) * (size_t)D->K * (size_t)(D->NR + 1));
        if (!x->trials[t].fold_y) return ghm_error_set(err, GHM_ENOMEM, "out of memory");
        for (int f = 0; f < D->K * (D->NR + 1); f++) x->trials[t].fold_y[f] = NAN;
        x->trials[t].y = NAN;
        x->trials[t].top = -1;
        for (int q = 0; q < GHM_SEARCH_MAX_RUNGS; q++) x->trials[t].r_y[q] = NAN;
    }
    if (x->tuned) res->n_trials_planned += x->T;
    res->n_final_planned += D->R * D->K;
    return 0;
}

/* a trial run r of loss x (rec: its record when have): the trial's setting, rung and fold objective */
static void sr_trial_run(const ghm_search_config *s, sr_data *D, sr_loss *x, const ghm_run_spec *r, int have,
                         const ghm_record *rec)
{
    sr_trial *t = &x->trials[r->trial];
    int rung = r->rung >= 0 && r->rung < D->NR ? r->rung : 0;
    t->proposed = 1;
    t->r_proposed[rung] = 1;
    t->r_steps[rung] = (long)r->epochs * r->steps_per_epoch;
    if (rung > t->top) t->top = rung;
    if (have && s->halving) x->trial_steps += (long)r->epochs * r->steps_per_epoch;
    for (int j = 0; j < r->n_swept && j < GHM_SEARCH_MAX_DIMS; j++) {
        snprintf(t->text[j], GHM_NAME_MAX, "%s", r->swept_text[j]);
        t->value[j] = r->swept_value[j];
    }
    if (have && !ghm_record_failed(rec)) {
        double y = NAN;
        if (rec->has_val) ghm_metric_set_find(&rec->val, s->objective, &y);
        t->fold_y[(size_t)(1 + rung) * D->K + r->split.fold] = y;
    }
}

/* a final run r of loss x: the chosen trial, and a finished run's validation objective and test
 * metrics (summed into sep_sum, R x SR_MAX_METRICS per loss entry) */
static void sr_final_run(const ghm_search_config *s, sr_data *D, sr_loss *x, const ghm_run_spec *r, int have,
                         const ghm_record *rec, double *sep_sum)
{
    x->best = r->trial;
    if (!have || ghm_record_failed(rec)) return;
    x->sep_folds[r->reproduction]++;
    double y = NAN;
    if (rec->has_val && ghm_metric_set_find(&rec->val, s->objective, &y) && isfinite(y))
        x->rep_val[r->reproduction] += y, x->rep_val_n[r->reproduction]++;
    for (int m = 0; m < rec->test.n; m++) {
        int mi = metric_index(D, rec->test.name[m], 1);
        if (mi >= 0)
            sep_sum[((size_t)r->loss_entry * D->R + r->reproduction) * SR_MAX_METRICS + mi] += rec->test.value[m];
    }
}

/* every planned run of e with the record in dir/runs, if any: trials, final runs, counts and times */
static void sr_read_runs(const char *dir, const ghm_experiment *e, sr_data *D, double *sep_sum,
                         ghm_search_report_result *res)
{
    for (int i = 0; i < e->n_runs; i++) {
        const ghm_run_spec *r = &e->runs[i];
        sr_loss *x = &D->L[r->loss_entry];
        ghm_record rec;
        int have = read_rec(dir, "runs", r->run_id, &rec);
        if (r->role == GHM_ROLE_TRIAL && r->trial >= 0 && r->trial < x->T) sr_trial_run(e->search, D, x, r, have, &rec);
        if (r->role == GHM_ROLE_FINAL) sr_final_run(e->search, D, x, r, have, &rec, sep_sum);
        if (have) {
            if (ghm_record_failed(&rec)) {
                x->runs_failed++;
                res->n_failed++;
            } else {
                x->runs_done++;
                if (r->role == GHM_ROLE_FINAL) res->n_final_done++;
            }
            x->seconds += rec.seconds;
            x->core_seconds += rec.seconds * (rec.threads > 0 ? rec.threads : 1);
            ghm_record_free(&rec);
        }
    }
}

/* trial objectives (mean over folds, all folds needed, per rung and at the highest rung) and the
 * separate test metrics (mean over the K fold models, complete reproductions only) */
static void sr_objectives(sr_data *D, const double *sep_sum, ghm_search_report_result *res)
{
    for (int l = 0; l < D->n_losses; l++) {
        sr_loss *x = &D->L[l];
        for (int t = 0; t < x->T; t++) {
            sr_trial *tr = &x->trials[t];
            /* a fold that ran but failed shows up as a missing value among finished runs */
            for (int q = 0; q < D->NR; q++) {
                const double *fy = tr->fold_y + (size_t)(1 + q) * D->K;
                int nf = 0;
                double sum = 0;
                for (int f = 0; f < D->K; f++)
                    if (isfinite(fy[f])) sum += fy[f], nf++;
                if (nf == D->K) tr->r_state[q] = 1, tr->r_y[q] = sum / D->K;
            }
            if (tr->top >= 0) {
                memcpy(tr->fold_y, tr->fold_y + (size_t)(1 + tr->top) * D->K, sizeof(double) * (size_t)D->K);
                if (tr->r_state[tr->top] == 1) {
                    tr->state = 1;
                    tr->y = tr->r_y[tr->top];
                    res->n_trials_done++;
                }
            }
        }
        for (int rr = 0; rr < D->R; rr++)
            if (x->sep_folds[rr] == D->K)
                for (int m = 0; m < D->n_metrics; m++)
                    x->sep[rr * SR_MAX_METRICS + m] =
                        sep_sum[((size_t)l * D->R + rr) * SR_MAX_METRICS + m] / D->K;
    }
}

/* the concatenated test metrics: the ensemble records (dir/ensembles) of each reproduction's fold models */
static int sr_read_ensembles(const char *dir, const ghm_experiment *e, sr_data *D, ghm_error *err)
{
    int K = D->K;
    const char **ids = calloc((size_t)K, sizeof *ids);
    if (!ids) return ghm_error_set(err, GHM_ENOMEM, "out of memory");
    for (int i = 0; i < e->n_runs; i++) {
        const ghm_run_spec *r = &e->runs[i];
        if (r->role != GHM_ROLE_FINAL || r->split.fold != 0 || i + K > e->n_runs) continue;
        for (int f = 0; f < K; f++) ids[f] = e->runs[i + f].run_id;
        char id[24];
        ghm_ensemble_id(ids, K, id);
        ghm_record rec;
        if (!read_rec(dir, "ensembles", id, &rec)) continue;
        sr_loss *x = &D->L[r->loss_entry];
        for (int m = 0; m < rec.test.n; m++) {
            int mi = metric_index(D, rec.test.name[m], 0);
            if (mi >= 0) x->cat[r->reproduction * SR_MAX_METRICS + mi] = rec.test.value[m];
        }
        ghm_record_free(&rec);
    }
    free(ids);
    return 0;
}

/* D: the search of e and what its records in dir hold (free with sr_free, also after an error) */
static int sr_gather(const char *dir, const ghm_experiment *e, sr_data *D, ghm_search_report_result *res,
                     ghm_error *err)
{
    const ghm_search_config *s = e->search;
    memset(D, 0, sizeof *D);
    D->K = s->folds >= 2 ? s->folds : 1;
    D->R = s->reproductions;
    D->NR = ghm_search_n_rungs(s);
    if (D->NR > GHM_SEARCH_MAX_RUNGS) D->NR = GHM_SEARCH_MAX_RUNGS;
    D->n_losses = e->n_losses;
    D->L = calloc((size_t)D->n_losses, sizeof(sr_loss));
    if (!D->L) return ghm_error_set(err, GHM_ENOMEM, "out of memory (report)");
    D->ref = 0;
    for (int l = 0; l < D->n_losses; l++)
        if (strcmp(e->loss_names[l], s->compare_to) == 0) {
            D->ref = l;
            break;
        }
    for (int l = 0; l < D->n_losses; l++) {
        int rc = sr_loss_init(e, D, l, res, err);
        if (rc < 0) return rc;
    }
    double *sep_sum = calloc((size_t)D->n_losses * D->R * SR_MAX_METRICS, sizeof(double));
    if (!sep_sum) return ghm_error_set(err, GHM_ENOMEM, "out of memory");
    /* metric names: as the final records list them (the evaluation's canonical order) */
    sr_read_runs(dir, e, D, sep_sum, res);
    sr_objectives(D, sep_sum, res);
    free(sep_sum);
    return sr_read_ensembles(dir, e, D, err);
}

/* ---- tables ---- */

static void stat_of(const double *v, int stride, int n, int *cnt, double *mean, double *sd, double *ci)
{
    double buf[64];
    int k = 0;
    for (int i = 0; i < n && k < 64; i++)
        if (isfinite(v[(size_t)i * stride])) buf[k++] = v[(size_t)i * stride];
    *cnt = k;
    *mean = k ? ghm_stat_mean(buf, k) : NAN;
    *sd = k ? ghm_stat_std(buf, k) : NAN;
    *ci = k ? ghm_stat_ci95(buf, k) : NAN;
}

static void csv_num(ghm_tb *b, double v)
{
    if (isfinite(v))
        ghm_tb_printf(b, ",%.6g", v);
    else
        ghm_tb_puts(b, ",");
}

/* the chosen value of searched key `name` for loss x ("" when not searched) */
static const char *chosen_text(const ghm_experiment *e, const sr_loss *x, const char *name)
{
    const ghm_search_space *sp = &e->search->space[x->entry];
    if (x->best < 0 || x->best >= x->T) return "";
    for (int j = 0; j < sp->n; j++)
        if (strcmp(sp->dims[j].path, name) == 0) return x->trials[x->best].text[j];
    return "";
}

/* The searched keys as columns: a loss parameter that two or more losses
 * search (ghm's and multi_similarity's alpha) gets one column per loss,
 * "<loss>.<key>" (ghm_swept_columns, as the sweep report). */
typedef struct sr_cols {
    int n;
    char names[GHM_SUM_MAX_SWEPT][GHM_NAME_MAX], keys[GHM_SUM_MAX_SWEPT][GHM_NAME_MAX], losses[GHM_SUM_MAX_SWEPT][32];
} sr_cols;

static void sr_columns(const ghm_experiment *e, sr_cols *C)
{
    const char *pl[GHM_SUM_MAX_SWEPT * 4], *pk[GHM_SUM_MAX_SWEPT * 4];
    int np = 0;
    for (int l = 0; l < e->n_losses; l++)
        for (int j = 0; j < e->search->space[l].n && np < GHM_SUM_MAX_SWEPT * 4; j++)
            pl[np] = e->loss_names[l], pk[np] = e->search->space[l].dims[j].path, np++;
    C->n = ghm_swept_columns(pl, pk, np, GHM_SUM_MAX_SWEPT, C->names, C->keys, C->losses);
    if (C->n < 0) { /* more columns than fit: the keys alone (as before) */
        C->n = 0;
        for (int k = 0; k < e->n_swept && k < GHM_SUM_MAX_SWEPT; k++, C->n++) {
            snprintf(C->names[k], GHM_NAME_MAX, "%s", e->swept_names[k]);
            snprintf(C->keys[k], GHM_NAME_MAX, "%s", e->swept_names[k]);
            C->losses[k][0] = '\0';
        }
    }
}

/* does column c belong to loss entry l? */
static int sr_col_of(const ghm_experiment *e, const sr_cols *C, int c, int l)
{
    return !C->losses[c][0] || strcmp(C->losses[c], e->loss_names[l]) == 0;
}

static char *search_csv(const ghm_experiment *e, const sr_data *D)
{
    ghm_tb b;
    ghm_tb_init(&b);
    sr_cols cols;
    sr_columns(e, &cols);
    int halving = e->search->halving;
    ghm_tb_puts(&b, halving ? "loss,trial,rung,steps" : "loss,trial");
    for (int k = 0; k < cols.n; k++) ghm_tb_printf(&b, ",%s", cols.names[k]);
    ghm_tb_puts(&b, ",objective");
    for (int f = 0; f < D->K; f++) ghm_tb_printf(&b, ",fold_%d", f);
    ghm_tb_puts(&b, ",status\n");
    for (int l = 0; l < D->n_losses; l++) {
        const sr_loss *x = &D->L[l];
        const ghm_search_space *sp = &e->search->space[l];
        for (int t = 0; t < x->T; t++) {
            const sr_trial *tr = &x->trials[t];
            if (!tr->proposed) continue;
            /* halving: one row per rung the trial reached; "chosen" on its full-length row */
            for (int q = halving ? 0 : tr->top; q <= tr->top; q++) {
                if (halving && !tr->r_proposed[q]) continue;
                ghm_tb_printf(&b, "%s,%d", x->label, t);
                if (halving) ghm_tb_printf(&b, ",%d,%ld", q, tr->r_steps[q]);
                for (int k = 0; k < cols.n; k++) {
                    const char *v = "";
                    for (int j = 0; j < sp->n && sr_col_of(e, &cols, k, l); j++)
                        if (strcmp(sp->dims[j].path, cols.keys[k]) == 0) v = tr->text[j];
                    ghm_tb_printf(&b, ",%s", v);
                }
                csv_num(&b, tr->r_y[q]);
                for (int f = 0; f < D->K; f++) csv_num(&b, tr->fold_y[(size_t)(1 + q) * D->K + f]);
                const char *st = tr->r_state[q] != 1 ? "pending"
                                 : q == D->NR - 1 && t == x->best ? "chosen"
                                 : halving && q < tr->top ? "promoted"
                                                          : "done";
                ghm_tb_printf(&b, ",%s\n", st);
            }
        }
    }
    return b.failed ? (ghm_tb_free(&b), NULL) : b.buf;
}

static char *summary_csv(const ghm_experiment *e, const sr_data *D)
{
    ghm_tb b;
    ghm_tb_init(&b);
    sr_cols cols;
    sr_columns(e, &cols);
    ghm_tb_puts(&b, "loss,tuned,trials,folds,reproductions");
    for (int k = 0; k < cols.n; k++) ghm_tb_printf(&b, ",%s", cols.names[k]);
    ghm_tb_printf(&b, ",val_%s", e->search->objective);
    for (int m = 0; m < D->n_metrics; m++)
        ghm_tb_printf(&b, ",%s_mean,%s_std,%s_ci95,%s_concat_mean,%s_concat_std,%s_concat_ci95", D->metrics[m],
                      D->metrics[m], D->metrics[m], D->metrics[m], D->metrics[m], D->metrics[m]);
    ghm_tb_puts(&b, ",runs,failed_runs,cpu_seconds\n");
    for (int l = 0; l < D->n_losses; l++) {
        const sr_loss *x = &D->L[l];
        int done = 0;
        for (int t = 0; t < x->T; t++) done += x->trials[t].state == 1;
        int reps = 0;
        for (int r = 0; r < D->R; r++) reps += x->sep_folds[r] == D->K;
        ghm_tb_printf(&b, "%s,%s,%d,%d,%d", x->label, x->tuned ? "yes" : "no", done, D->K, reps);
        for (int k = 0; k < cols.n; k++)
            ghm_tb_printf(&b, ",%s", sr_col_of(e, &cols, k, l) ? chosen_text(e, x, cols.keys[k]) : "");
        csv_num(&b, x->best >= 0 && x->best < x->T ? x->trials[x->best].y : NAN);
        for (int m = 0; m < D->n_metrics; m++) {
            int c;
            double mean, sd, ci;
            stat_of(x->sep + m, SR_MAX_METRICS, D->R, &c, &mean, &sd, &ci);
            csv_num(&b, mean), csv_num(&b, sd), csv_num(&b, ci);
            stat_of(x->cat + m, SR_MAX_METRICS, D->R, &c, &mean, &sd, &ci);
            csv_num(&b, mean), csv_num(&b, sd), csv_num(&b, ci);
        }
        ghm_tb_printf(&b, ",%d,%d,%.1f\n", x->runs_done, x->runs_failed, x->core_seconds);
    }
    return b.failed ? (ghm_tb_free(&b), NULL) : b.buf;
}

/* paired differences of loss l minus loss o, metric m (concat: 1) */
static void paired_ab(const sr_data *D, int l, int o, int m, int concat, ghm_paired *p)
{
    double a[64], b[64];
    int n = D->R < 64 ? D->R : 64;
    const double *va = concat ? D->L[l].cat : D->L[l].sep, *vb = concat ? D->L[o].cat : D->L[o].sep;
    for (int r = 0; r < n; r++) {
        a[r] = m >= 0 ? va[r * SR_MAX_METRICS + m] : NAN;
        b[r] = m >= 0 ? vb[r * SR_MAX_METRICS + m] : NAN;
    }
    ghm_stat_paired(a, b, n, 6, p);
}

/* ---- the comparisons and their families ----
 * Every loss against compare_to, every metric, both evaluations (exploratory),
 * plus the file's primary: comparisons (confirmatory; one that is already a
 * row, or its reverse, marks that row). Holm's adjustment runs over each family
 * separately, on the paired-t p-values. */
typedef struct sr_cmp {
    int a, b, m, concat;            /* loss a minus loss b, metric index m (-1: not in the records) */
    const char *metric;             /* its name */
    int primary;                    /* 1: confirmatory (primary:) */
    ghm_paired p;
    double holm;                    /* Holm-adjusted p_t within its family */
} sr_cmp;

typedef struct sr_cmps {
    int n, cap;
    sr_cmp *c;
    int n_primary_decl;             /* declarations in the file */
    int best_other[GHM_MAX_PRIMARY]; /* per declaration: the resolved loss (-1: none), for best_other */
    int row[GHM_MAX_PRIMARY];       /* per declaration: its row (-1: not resolved yet); two declarations
                                     * that resolve to one comparison share a row (counted once by Holm) */
    int tested[2];                  /* comparisons with a p-value: [0] exploratory, [1] primary */
} sr_cmps;

static int cmp_add(sr_cmps *C, int a, int b, int m, int concat)
{
    if (C->n == C->cap) {
        int cap = C->cap ? 2 * C->cap : 128;
        sr_cmp *n = realloc(C->c, sizeof *n * (size_t)cap);
        if (!n) return -1;
        C->c = n, C->cap = cap;
    }
    sr_cmp *x = &C->c[C->n++];
    memset(x, 0, sizeof *x);
    x->a = a, x->b = b, x->m = m, x->concat = concat, x->holm = NAN;
    return C->n - 1;
}

static int loss_by_name(const ghm_experiment *e, const char *name)
{
    for (int l = 0; l < e->n_losses; l++)
        if (strcmp(e->loss_names[l], name) == 0) return l;
    return -1;
}

/* best_other: the loss other than `a` whose chosen setting has the best
 * validation objective (mean over folds); -1 when none has one yet */
static int best_other(const sr_data *D, int a)
{
    int best = -1;
    double by = -INFINITY;
    for (int l = 0; l < D->n_losses; l++) {
        const sr_loss *x = &D->L[l];
        if (l == a || x->best < 0 || x->best >= x->T) continue;
        double y = x->trials[x->best].y;
        if (isfinite(y) && y > by) by = y, best = l;
    }
    return best;
}

static void cmps_free(sr_cmps *C) { free(C->c); }

static int sr_comparisons(const ghm_experiment *e, sr_data *D, sr_cmps *C)
{
    memset(C, 0, sizeof *C);
    for (int l = 0; l < D->n_losses; l++) {
        if (l == D->ref) continue;
        for (int concat = 0; concat < 2; concat++)
            for (int m = 0; m < D->n_metrics; m++)
                if (cmp_add(C, l, D->ref, m, concat) < 0) return -1;
                else C->c[C->n - 1].metric = D->metrics[m];
    }
    const ghm_search_config *s = e->search;
    C->n_primary_decl = s->n_primary;
    for (int i = 0; i < s->n_primary; i++) {
        const ghm_primary *P = &s->primary[i];
        int a = loss_by_name(e, P->loss);
        int b = strcmp(P->against, "best_other") == 0 ? best_other(D, a) : loss_by_name(e, P->against);
        int m = metric_index(D, P->metric, 0);
        C->best_other[i] = b;
        C->row[i] = -1;
        if (a < 0 || b < 0) continue; /* best_other not known yet: listed in summary.md as pending */
        int k;
        for (k = 0; k < C->n; k++) {
            sr_cmp *x = &C->c[k];
            if (x->m == m && x->concat == P->concat && ((x->a == a && x->b == b) || (x->a == b && x->b == a))) break;
        }
        if (k == C->n) {
            if ((k = cmp_add(C, a, b, m, P->concat)) < 0) return -1;
            C->c[k].metric = P->metric;
        }
        C->c[k].primary = 1;
        C->row[i] = k;
    }
    for (int k = 0; k < C->n; k++) paired_ab(D, C->c[k].a, C->c[k].b, C->c[k].m, C->c[k].concat, &C->c[k].p);
    double *p = malloc(sizeof(double) * ((size_t)C->n + 1)), *adj = malloc(sizeof(double) * ((size_t)C->n + 1));
    if (!p || !adj) {
        free(p), free(adj);
        return -1;
    }
    for (int fam = 0; fam < 2; fam++) {
        int n = 0;
        for (int k = 0; k < C->n; k++)
            if (C->c[k].primary == fam) p[n++] = C->c[k].p.p_t;
        if (ghm_stat_holm(p, n, adj) < 0) {
            free(p), free(adj);
            return -1;
        }
        n = 0;
        for (int k = 0; k < C->n; k++)
            if (C->c[k].primary == fam) {
                C->c[k].holm = adj[n++];
                C->tested[fam] += isfinite(C->c[k].p.p_t);
            }
    }
    free(p), free(adj);
    return 0;
}

static char *paired_csv(const sr_data *D, const sr_cmps *C)
{
    ghm_tb b;
    ghm_tb_init(&b);
    ghm_tb_puts(&b, "loss,compare_to,metric,mean_diff,ci95_low,ci95_high,p_value_t,p_value_wilcoxon,p_holm,primary,"
                    "pairs\n");
    for (int k = 0; k < C->n; k++) {
        const sr_cmp *x = &C->c[k];
        ghm_tb_printf(&b, "%s,%s,%s%s", D->L[x->a].label, D->L[x->b].label,
                      x->metric, x->concat ? "_concat" : "");
        const ghm_paired *p = &x->p;
        csv_num(&b, p->mean_diff), csv_num(&b, p->lo), csv_num(&b, p->hi), csv_num(&b, p->p_t);
        csv_num(&b, p->p_value), csv_num(&b, x->holm);
        ghm_tb_printf(&b, ",%s,%d\n", x->primary ? "yes" : "no", p->n);
    }
    return b.failed ? (ghm_tb_free(&b), NULL) : b.buf;
}

/* the metrics shown in the Markdown/LaTeX tables: every one with its own switch in
 * the metric registry (recall@k, map@r, r_precision, nmi), not one sharing another's
 * computation (ami) */
static int shown(const sr_data *D, int m)
{
    const ghm_metric_ops *mo = ghm_metric_by_key(D->metrics[m]);
    return !mo || !mo->shares;
}

static void pm(ghm_tb *b, double mean, double ci, int n, int latex)
{
    if (!isfinite(mean)) {
        ghm_tb_puts(b, latex ? " & --" : " | –");
        return;
    }
    if (n >= 2)
        ghm_tb_printf(b, latex ? " & %.2f $\\pm$ %.2f" : " | %.2f ± %.2f", 100 * mean, 100 * ci);
    else
        ghm_tb_printf(b, latex ? " & %.2f" : " | %.2f", 100 * mean);
}

static void put_name(ghm_tb *b, const char *s, int latex)
{
    if (latex)
        ghm_tb_tex(b, s);
    else
        ghm_tb_md(b, s);
}

static void test_table(ghm_tb *b, const sr_data *D, int concat, int latex)
{
    char disp[64];
    if (latex) {
        ghm_tb_puts(b, "\\begin{tabular}{l r");
        for (int m = 0; m < D->n_metrics; m++)
            if (shown(D, m)) ghm_tb_puts(b, " r");
        ghm_tb_puts(b, "}\n\\toprule\nloss & reps");
        for (int m = 0; m < D->n_metrics; m++)
            if (shown(D, m)) {
                ghm_tb_puts(b, " & ");
                put_name(b, ghm_metric_display(D->metrics[m], 1, disp, sizeof disp), 1);
            }
        ghm_tb_puts(b, " \\\\\n\\midrule\n");
    } else {
        ghm_tb_puts(b, "| loss | reps |");
        for (int m = 0; m < D->n_metrics; m++)
            if (shown(D, m)) {
                ghm_tb_puts(b, " ");
                put_name(b, ghm_metric_display(D->metrics[m], 1, disp, sizeof disp), 0);
                ghm_tb_puts(b, " |");
            }
        ghm_tb_puts(b, "\n|---|---:|");
        for (int m = 0; m < D->n_metrics; m++)
            if (shown(D, m)) ghm_tb_puts(b, "---:|");
        ghm_tb_puts(b, "\n");
    }
    for (int l = 0; l < D->n_losses; l++) {
        const sr_loss *x = &D->L[l];
        const double *v = concat ? x->cat : x->sep;
        int reps = 0;
        for (int r = 0; r < D->R; r++) reps += isfinite(v[r * SR_MAX_METRICS + 0]);
        ghm_tb_puts(b, latex ? "" : "| ");
        put_name(b, x->label, latex);
        ghm_tb_printf(b, latex ? " & %d" : " | %d", reps);
        for (int m = 0; m < D->n_metrics; m++) {
            if (!shown(D, m)) continue;
            int c;
            double mean, sd, ci;
            stat_of(v + m, SR_MAX_METRICS, D->R, &c, &mean, &sd, &ci);
            pm(b, mean, ci, c, latex);
        }
        ghm_tb_puts(b, latex ? " \\\\\n" : " |\n");
    }
    if (latex) ghm_tb_puts(b, "\\bottomrule\n\\end{tabular}\n");
}

static void fmt_duration(double s, char *buf, size_t n)
{
    if (s >= 3600)
        snprintf(buf, n, "%.1f h", s / 3600);
    else if (s >= 60)
        snprintf(buf, n, "%.1f min", s / 60);
    else
        snprintf(buf, n, "%.0f s", s);
}

/* "## Search warnings": ghm_search_flags for every tuned loss (nothing when there is none) */
static void search_flags_md(ghm_tb *b, const ghm_experiment *e, const sr_data *D)
{
    ghm_tb w;
    ghm_tb_init(&w);
    for (int l = 0; l < D->n_losses; l++) {
        const sr_loss *x = &D->L[l];
        const ghm_search_space *sp = &e->search->space[l];
        if (!x->tuned || x->T == 0) continue;
        double *y = malloc(sizeof(double) * (size_t)x->T), *fy = malloc(sizeof(double) * (size_t)x->T * D->K),
               *xs = malloc(sizeof(double) * (size_t)x->T * sp->n), *ry = malloc(sizeof(double) * ((size_t)D->R + 1));
        if (y && fy && xs && ry) {
            for (int t = 0; t < x->T; t++) {
                const sr_trial *tr = &x->trials[t];
                /* halving: every trial at one length, rung 0's */
                int q = e->search->halving ? 1 : 0;
                y[t] = q ? tr->r_y[0] : tr->state == 1 ? tr->y : NAN;
                for (int f = 0; f < D->K; f++) fy[(size_t)t * D->K + f] = tr->fold_y[(size_t)q * D->K + f];
                for (int j = 0; j < sp->n; j++) xs[(size_t)t * sp->n + j] = tr->value[j];
            }
            for (int r = 0; r < D->R; r++) ry[r] = x->rep_val_n[r] == D->K ? x->rep_val[r] / D->K : NAN;
            ghm_search_flags_in in = {x->label, sp, x->T, D->K, y, fy, xs, x->best, D->R, ry};
            ghm_search_flags(&in, &w);
        } else {
            w.failed = 1;
        }
        free(y), free(fy), free(xs), free(ry);
    }
    if (w.len > 0 && !w.failed)
        ghm_tb_printf(b, "\n## Search warnings\n\n%s", w.buf);
    b->failed |= w.failed;
    ghm_tb_free(&w);
}

/* summary.md's title, the paragraph on the search's protocol and progress, and the two test tables */
static void md_intro(ghm_tb *b, const ghm_experiment *e, const sr_data *D, const ghm_search_report_result *res)
{
    const ghm_search_config *s = e->search;
    char disp[64];
    ghm_tb_puts(b, "# ");
    ghm_tb_md(b, e->name);
    ghm_tb_puts(b, "\n\n");
    ghm_tb_printf(b,
                  "Hyper-parameter search with an equal budget: %s, %d trials per tuned loss, objective validation "
                  "%s (mean over %d fold%s; the test set is never used to choose). The chosen setting of each loss "
                  "was retrained %d times (reproductions, seeds",
                  s->method != GHM_SEARCH_RANDOM ? "TPE" : "random search", s->trials,
                  ghm_metric_display(s->objective, 0, disp, sizeof disp), D->K, D->K > 1 ? "s" : "", D->R);
    for (int r = 0; r < s->n_rep_seeds; r++) ghm_tb_printf(b, "%s%llu", r ? ", " : " ", (unsigned long long)s->rep_seeds[r]);
    ghm_tb_printf(b, "), each a full %d-fold training, and evaluated on the test set. Trials done: %d of %d; final "
                     "runs done: %d of %d%s.\n\n",
                  D->K, res->n_trials_done, res->n_trials_planned, res->n_final_done, res->n_final_planned,
                  res->n_failed ? " (some runs failed: see the budget table)" : "");
    ghm_tb_puts(b, "## Test metrics, separate (mean of the fold models' own metrics)\n\n"
                   "Percent, mean ± 95% t confidence half-width over reproductions.\n\n");
    test_table(b, D, 0, 0);
    ghm_tb_puts(b, "\n## Test metrics, concatenated (the fold models' embeddings joined, L2-normalised)\n\n");
    test_table(b, D, 1, 0);
}

/* the "chosen" cell of loss x: its chosen setting as path=value pairs, or why there is none */
static void md_chosen(ghm_tb *chosen, const sr_loss *x, const ghm_search_space *sp)
{
    if (!x->tuned)
        ghm_tb_puts(chosen, "defaults (not tuned)");
    else if (x->best >= 0) {
        for (int j = 0; j < sp->n; j++) {
            ghm_tb_puts(chosen, j ? ", " : "");
            ghm_tb_md(chosen, sp->dims[j].path);
            ghm_tb_puts(chosen, "=");
            ghm_tb_md(chosen, x->trials[x->best].text[j]);
        }
    } else
        ghm_tb_puts(chosen, "(search not finished)");
}

/* "## Chosen settings and budget": per loss its chosen setting, validation objective, runs and CPU time */
static void md_budget(ghm_tb *b, const ghm_experiment *e, const sr_data *D)
{
    const ghm_search_config *s = e->search;
    char disp[64], t1[32], t2[32];
    ghm_tb_printf(b, "\n## Chosen settings and budget\n\n| loss | tuned | trials | chosen | val %s | runs | failed | CPU time |\n|---|---|---:|---|---:|---:|---:|---:|\n",
                  ghm_metric_display(s->objective, 1, disp, sizeof disp));
    for (int l = 0; l < D->n_losses; l++) {
        const sr_loss *x = &D->L[l];
        int done = 0;
        for (int t = 0; t < x->T; t++) done += x->trials[t].state == 1;
        ghm_tb chosen;
        ghm_tb_init(&chosen);
        md_chosen(&chosen, x, &s->space[l]);
        fmt_duration(x->core_seconds, t1, sizeof t1);
        double y = x->best >= 0 && x->best < x->T ? x->trials[x->best].y : NAN;
        if (isfinite(y))
            snprintf(t2, sizeof t2, "%.2f", 100 * y);
        else
            snprintf(t2, sizeof t2, "–");
        ghm_tb_puts(b, "| ");
        ghm_tb_md(b, x->label);
        ghm_tb_printf(b, " | %s | %d | %s | %s | %d | %d | %s |\n", x->tuned ? "yes" : "no", done,
                      chosen.buf ? chosen.buf : "", t2, x->runs_done, x->runs_failed, t1);
        ghm_tb_free(&chosen);
    }
    ghm_tb_puts(b, "\nCPU time: wall time of the loss's runs times their threads.\n");
}

/* "## Training steps (successive halving)": per loss the trial runs' steps and the trials per rung
 * (nothing without halving) */
static void md_halving(ghm_tb *b, const ghm_experiment *e, const sr_data *D)
{
    const ghm_search_config *s = e->search;
    if (!s->halving) return;
    ghm_tb_printf(b,
                  "\n## Training steps (successive halving)\n\nHalving with eta %d from %g of the full length "
                  "(%d rungs). Steps of the trial runs with a record (every rung, every fold), and the trials "
                  "that reached each rung:\n\n| loss | training steps | trials per rung |\n|---|---:|---|\n",
                  s->eta, s->min_fraction, D->NR);
    for (int l = 0; l < D->n_losses; l++) {
        const sr_loss *x = &D->L[l];
        ghm_tb_puts(b, "| ");
        ghm_tb_md(b, x->label);
        ghm_tb_printf(b, " | %ld | ", x->trial_steps);
        for (int q = 0; q < D->NR; q++) {
            int n = 0;
            for (int t = 0; t < x->T; t++) n += x->trials[t].r_proposed[q];
            ghm_tb_printf(b, "%s%d", q ? ", " : "", n);
        }
        ghm_tb_puts(b, " |\n");
    }
}

/* one row of the primary comparisons' table: declaration i of the experiment file and its result */
static void md_primary_row(ghm_tb *b, const ghm_experiment *e, const sr_data *D, const sr_cmps *C, int i)
{
    char disp[64];
    const ghm_primary *P = &e->search->primary[i];
    int bo = strcmp(P->against, "best_other") == 0;
    const sr_cmp *x = C->row[i] >= 0 ? &C->c[C->row[i]] : NULL;
    ghm_tb_printf(b, "| %s %s − %s", ghm_metric_display(P->metric, 1, disp, sizeof disp), P->loss,
                  bo ? "best other" : P->against);
    if (bo && C->best_other[i] >= 0) ghm_tb_printf(b, " (%s)", D->L[C->best_other[i]].label);
    ghm_tb_printf(b, " | %s", P->concat ? "concatenated" : "separate");
    if (!x || !isfinite(x->p.mean_diff)) {
        ghm_tb_puts(b, " | – | – | – | – | not tested yet |\n");
        return;
    }
    /* a declaration matched the reverse of a row: show it in the declared direction */
    double sg = (x->a == loss_by_name(e, P->loss)) ? 1 : -1;
    double lo = sg > 0 ? x->p.lo : -x->p.hi, hi = sg > 0 ? x->p.hi : -x->p.lo;
    ghm_tb_printf(b, " | %+.2f", 100 * sg * x->p.mean_diff);
    if (isfinite(lo)) ghm_tb_printf(b, " [%+.2f, %+.2f]", 100 * lo, 100 * hi);
    ghm_tb_printf(b, " (n=%d)", x->p.n);
    for (int q = 0; q < 3; q++) {
        double v = q == 0 ? x->p.p_t : q == 1 ? x->p.p_value : x->holm;
        if (isfinite(v))
            ghm_tb_printf(b, " | %.3g", v);
        else
            ghm_tb_puts(b, " | –");
    }
    ghm_tb_printf(b, " | %s |\n",
                  !isfinite(x->holm)  ? "–"
                  : x->holm < 0.05    ? "**significant**"
                                      : "not significant");
}

/* "## Comparisons and multiple testing": how many comparisons, the families, the primary ones' table */
static void md_comparisons(ghm_tb *b, const ghm_experiment *e, const sr_data *D, const sr_cmps *C)
{
    char objd[64];
    ghm_metric_display(e->search->objective, 0, objd, sizeof objd);
    int n_rows = C->n, n_tested = C->tested[0] + C->tested[1];
    ghm_tb_puts(b, "\n## Comparisons and multiple testing\n\n");
    ghm_tb_printf(b,
                  "%d paired comparisons were made (`paired.csv`: every loss against %s on every test metric, "
                  "separate and concatenated, plus the primary comparisons); %d of them have a p-value (at least "
                  "2 complete pairs). p-values are two-sided paired t-tests over reproductions (`p_value_t`; the "
                  "exact Wilcoxon signed-rank p-value `p_value_wilcoxon` from 6 pairs on); `p_holm` is Holm's "
                  "adjustment of `p_value_t` within the comparison's family.\n\n",
                  n_rows, D->L[D->ref].label, n_tested);
    if (C->n_primary_decl == 0) {
        ghm_tb_printf(b, "No `primary:` comparisons are declared in the experiment file, so every comparison is "
                         "exploratory: Holm runs over all %d together, and no single one is confirmatory.\n",
                      C->tested[0]);
        return;
    }
    ghm_tb_printf(b,
                  "**Primary (confirmatory)**: the %d comparison%s declared under `primary:` in the experiment "
                  "file, Holm over this family of %d. Every other comparison is **exploratory** (Holm over the "
                  "%d exploratory comparisons together). A primary comparison against `best_other` compares "
                  "with the other loss whose chosen setting has the best validation %s (never the test set).\n\n",
                  C->n_primary_decl, C->n_primary_decl > 1 ? "s" : "", C->tested[1], C->tested[0], objd);
    ghm_tb_puts(b, "| primary comparison | evaluation | difference [95% CI] | p (t) | p (Wilcoxon) | p (Holm) | "
                   "at 0.05 after Holm |\n|---|---|---:|---:|---:|---:|---|\n");
    for (int i = 0; i < C->n_primary_decl; i++) md_primary_row(b, e, D, C, i);
}

/* a cell of the paired differences' table: comparison x (NULL: none) as difference [CI], p-values, n */
static void md_paired_cell(ghm_tb *b, const sr_cmp *x)
{
    if (!x || !isfinite(x->p.mean_diff)) {
        ghm_tb_puts(b, " | –");
        return;
    }
    const ghm_paired *p = &x->p;
    int sig = isfinite(p->lo) && (p->lo > 0 || p->hi < 0);
    ghm_tb_printf(b, " | %s%+.2f", sig ? "**" : "", 100 * p->mean_diff);
    if (isfinite(p->lo)) ghm_tb_printf(b, " [%+.2f, %+.2f]", 100 * p->lo, 100 * p->hi);
    if (sig) ghm_tb_puts(b, "**");
    if (isfinite(p->p_t)) ghm_tb_printf(b, " p=%.2g, Holm %.2g", p->p_t, x->holm);
    if (isfinite(p->p_value)) ghm_tb_printf(b, ", Wilcoxon p=%.3g", p->p_value);
    ghm_tb_printf(b, " (n=%d)%s", p->n, x->primary ? " *primary*" : "");
}

/* "## Paired differences against REF": every other loss minus the reference, per shown test metric,
 * separate and concatenated */
static void md_paired(ghm_tb *b, const sr_data *D, const sr_cmps *C)
{
    char disp[64];
    ghm_tb_puts(b, "\n## Paired differences against ");
    ghm_tb_md(b, D->L[D->ref].label);
    ghm_tb_puts(b, "\n\nEach row: loss minus ");
    ghm_tb_md(b, D->L[D->ref].label);
    ghm_tb_printf(b,
                  ", paired by reproduction (same seed: same initialisation, batches and "
                  "folds); mean difference in points with its 95%% paired-t interval (not corrected for multiple "
                  "comparisons), the paired-t p-value, its Holm-adjusted value within its family (exploratory "
                  "unless marked *primary*), and the exact Wilcoxon signed-rank p-value where there are at least 6 "
                  "pairs. **Bold**: the interval excludes 0 (uncorrected).\n\n");
    ghm_tb_puts(b, "| loss | metric | separate | concatenated |\n|---|---|---:|---:|\n");
    for (int l = 0; l < D->n_losses; l++) {
        if (l == D->ref) continue;
        for (int m = 0; m < D->n_metrics; m++) {
            if (!shown(D, m)) continue;
            ghm_tb_puts(b, "| ");
            ghm_tb_md(b, D->L[l].label);
            ghm_tb_puts(b, " | ");
            ghm_tb_md(b, ghm_metric_display(D->metrics[m], 1, disp, sizeof disp));
            for (int concat = 0; concat < 2; concat++) {
                const sr_cmp *x = NULL;
                for (int k = 0; k < C->n && !x; k++)
                    if (C->c[k].a == l && C->c[k].b == D->ref && C->c[k].m == m && C->c[k].concat == concat)
                        x = &C->c[k];
                md_paired_cell(b, x);
            }
            ghm_tb_puts(b, " |\n");
        }
    }
}

/* "## Figure" (the comparison figure on the objective) and the list of the other files */
static void md_figure(ghm_tb *b, const ghm_experiment *e, const sr_data *D)
{
    const ghm_search_config *s = e->search;
    char objd[64], mn[96];
    ghm_metric_display(s->objective, 0, objd, sizeof objd);
    ghm_tb_puts(b, "\n## Figure\n\n");
    ghm_plot_safe_name(s->objective, mn, sizeof mn);
    ghm_tb_printf(b, "![test %s per loss and paired differences](plots/compare_%s.png)\n\n"
                     "`plots/compare_%s.pdf` (and `compare_recall_at_1`): test %s per loss, mean and 95%% CI "
                     "over reproductions, separate and concatenated; below, the paired differences against ",
                  objd, mn, mn, objd);
    ghm_tb_md(b, D->L[D->ref].label);
    ghm_tb_puts(b, " and the primary comparisons with their 95% paired-t intervals (as in `paired.csv`); filled "
                   "markers: Holm-adjusted p < 0.05; (P): primary.\n");
    ghm_tb_puts(b, "\nFiles: `search.csv` (every trial, per-fold objectives), `summary.csv`, `paired.csv`, "
                   "`plots/search_progress.png` (best objective so far per trial: did the search converge, was the "
                   "budget equal?), `plots/search_<loss>_<key>.png` (objective against each searched key).\n");
}

/* summary.md of a search (NULL when out of memory) */
static char *summary_md(const ghm_experiment *e, const sr_data *D, const sr_cmps *C,
                        const ghm_search_report_result *res)
{
    ghm_tb b;
    ghm_tb_init(&b);
    md_intro(&b, e, D, res);
    md_budget(&b, e, D);
    md_halving(&b, e, D);
    search_flags_md(&b, e, D);
    md_comparisons(&b, e, D, C);
    md_paired(&b, D, C);
    md_figure(&b, e, D);
    return b.failed ? (ghm_tb_free(&b), NULL) : b.buf;
}

static char *summary_tex(const ghm_experiment *e, const sr_data *D)
{
    ghm_tb b;
    int t = 0;
    ghm_tb_init(&b);
    ghm_tb_puts(&b, "% generated by ghm report (booktabs): test metrics in percent, mean $\\pm$ 95% CI over reproductions\n");
    ghm_tb_puts(&b, "% separate: mean of the fold models' own metrics\n");
    (void)t;
    ghm_tb_puts(&b, "% "); /* a comment: no line break can end it (ghm_tb_text) */
    ghm_tb_text(&b, e->name);
    ghm_tb_puts(&b, "\n");
    test_table(&b, D, 0, 1);
    ghm_tb_puts(&b, "% concatenated: the fold models' embeddings joined\n");
    test_table(&b, D, 1, 1);
    return b.failed ? (ghm_tb_free(&b), NULL) : b.buf;
}

/* ---- plots ---- */

static int plot_progress(ghm_plot_out *c, const ghm_experiment *e, const sr_data *D)
{
    ghm_tb dat, gp;
    ghm_tb_init(&dat);
    ghm_tb_init(&gp);
    char disp[64], yl[96];
    ghm_metric_display(e->search->objective, 0, disp, sizeof disp);
    snprintf(yl, sizeof yl, "best validation %s so far (%%)", disp);
    ghm_tb cmd;
    ghm_tb_init(&cmd);
    ghm_gp_header(&gp, "search_progress", "Hyper-parameter search: best objective so far", "trial", yl);
    /* steps from t - 0.5: trial t holds its best-so-far over [t - 0.5, t + 0.5] (a closing row ends the
     * last step), so the last trial shows too and no line drops to the axis at either end */
    ghm_tb_printf(&gp, "set xrange [0.5:%d.5]\nset xtics 1\n", e->search->trials);
    ghm_tb_puts(&cmd, "plot ");
    int blocks = 0;
    for (int l = 0; l < D->n_losses; l++) {
        const sr_loss *x = &D->L[l];
        if (!x->tuned) continue;
        double best = NAN;
        int rows = 0, last = 0;
        for (int t = 0; t < x->T; t++) {
            double y = x->trials[t].y;
            if (x->trials[t].state != 1) continue;
            if (isfinite(y) && (!isfinite(best) || y > best)) best = y;
            if (isfinite(best)) {
                if (!rows) {
                    ghm_tb_puts(&dat, "# ");
                    ghm_tb_text(&dat, x->label);
                    ghm_tb_puts(&dat, ": trial best_so_far objective (the last row only closes the step)\n");
                }
                ghm_tb_printf(&dat, "%d %.6g %.6g\n", t + 1, 100 * best, isfinite(y) ? 100 * y : NAN);
                rows++;
                last = t + 1;
            }
        }
        if (!rows) continue; /* nothing finished yet: no curve */
        ghm_tb_printf(&dat, "%d %.6g nan\n\n\n", last + 1, 100 * best);
        /* each loss its colour, dash type and marker (the sweep figures' rule): a marker on every finished
         * trial, the legend shows line and marker */
        ghm_tb_printf(&cmd, "%s'search_progress.dat' index %d using ($1-0.5):2 with steps lw 2",
                      blocks ? ", \\\n     " : "", blocks);
        ghm_gp_series_line(&cmd, l);
        ghm_tb_printf(&cmd, " notitle, \\\n     'search_progress.dat' index %d using 1:($3==$3 ? $2 : 1/0) with points "
                            "ps 0.8", blocks);
        ghm_gp_series_style(&cmd, l);
        ghm_tb_puts(&cmd, " notitle, \\\n     keyentry with linespoints lw 2 ps 0.8");
        ghm_gp_series_style(&cmd, l);
        ghm_tb_puts(&cmd, " title ");
        ghm_gp_str(&cmd, x->label);
        blocks++;
    }
    if (!blocks) {
        ghm_tb_free(&dat);
        ghm_tb_free(&gp);
        ghm_tb_free(&cmd);
        return 0;
    }
    ghm_tb_puts(&cmd, "\n");
    return ghm_plot_emit(c, "search_progress", "Best validation objective so far against the trial, per loss", &dat,
                         &gp, &cmd);
}

static int plot_scatter(ghm_plot_out *c, const ghm_experiment *e, const sr_data *D, int l, int j)
{
    const sr_loss *x = &D->L[l];
    const ghm_search_dim *d = &e->search->space[l].dims[j];
    char base[200], a[96], b2[96], title[256], disp[64], yl[96];
    ghm_plot_safe_name(x->label, a, sizeof a);
    ghm_plot_safe_name(d->path, b2, sizeof b2);
    snprintf(base, sizeof base, "search_%s_%s", a, b2);
    ghm_tb dat, gp;
    ghm_tb_init(&dat);
    ghm_tb_init(&gp);
    ghm_tb_puts(&dat, "# ");
    ghm_tb_text(&dat, x->label);
    ghm_tb_puts(&dat, ": ");
    ghm_tb_text(&dat, d->path);
    ghm_tb_puts(&dat, " objective trial (choices: index into the list)\n");
    int rows = 0;
    for (int t = 0; t < x->T; t++) {
        if (x->trials[t].state != 1 || !isfinite(x->trials[t].y)) continue;
        ghm_tb_printf(&dat, "%.9g %.6g %d\n", x->trials[t].value[j], 100 * x->trials[t].y, t);
        rows++;
    }
    if (!rows) {
        ghm_tb_free(&dat);
        ghm_tb_free(&gp);
        return 0;
    }
    ghm_metric_display(e->search->objective, 0, disp, sizeof disp);
    snprintf(title, sizeof title, "%s: validation %s against %s", x->label, disp, d->path);
    snprintf(yl, sizeof yl, "validation %s (%%, mean over folds)", disp);
    ghm_gp_header(&gp, base, title, d->path, yl);
    if (d->kind == GHM_DIM_CHOICES) {
        ghm_tb_printf(&gp, "set xrange [-0.5:%d.5]\nset xtics (", d->n_choices - 1);
        for (int k = 0; k < d->n_choices; k++) {
            ghm_tb_puts(&gp, k ? ", " : "");
            ghm_gp_str(&gp, d->choices[k]);
            ghm_tb_printf(&gp, " %d", k);
        }
        ghm_tb_puts(&gp, ")\n");
    } else {
        if (d->log) ghm_tb_puts(&gp, "set logscale x\n");
        ghm_tb_printf(&gp, "set xrange [%.9g:%.9g]\n", d->lo, d->hi > d->lo ? d->hi : d->lo + 1);
    }
    ghm_tb cmd;
    ghm_tb_init(&cmd);
    /* the key's rows are spaced for the circle, so its marker is not cut off */
    ghm_tb_puts(&gp, "set key spacing 1.8\n");
    ghm_tb_printf(&cmd, "plot '%s.dat' using 1:2 with points pt 7 ps 0.9 lc rgb '#1f77b4' title 'trial'", base);
    /* the chosen trial, circled */
    if (x->best >= 0 && x->best < x->T && isfinite(x->trials[x->best].y))
        ghm_tb_printf(&cmd, ", \\\n     '%s.dat' using ($3==%d ? $1 : 1/0):2 with points pt 6 ps 2 lw 1.5 "
                            "lc rgb '#d62728' title 'chosen'",
                      base, x->best);
    ghm_tb_puts(&cmd, "\n");
    char caption[320];
    snprintf(caption, sizeof caption, "%s: validation objective of every trial against %s (chosen trial circled)",
             x->label, d->path);
    return ghm_plot_emit(c, base, caption, &dat, &gp, &cmd);
}

/* The figure a paper would use: test metric m per loss (separate and
 * concatenated, mean and 95% CI over reproductions), and the paired
 * differences against compare_to plus the primary comparisons on m, with
 * their 95% paired-t intervals as paired.csv has them. */
static int plot_compare(ghm_plot_out *c, const ghm_experiment *e, const sr_data *D, const sr_cmps *C, int m)
{
    int nl = D->n_losses;
    ghm_forest_row *top = calloc((size_t)nl, sizeof *top), *diff = calloc((size_t)C->n + 1, sizeof *diff);
    if (!top || !diff) {
        free(top), free(diff);
        return ghm_error_set(c->err, GHM_ENOMEM, "out of memory (plot)");
    }
    for (int l = 0; l < nl; l++) {
        ghm_forest_row *r = &top[l];
        snprintf(r->label, sizeof r->label, "%s", D->L[l].label);
        for (int ev = 0; ev < 2; ev++) {
            int cnt;
            double mean, sd, ci;
            stat_of((ev ? D->L[l].cat : D->L[l].sep) + m, SR_MAX_METRICS, D->R, &cnt, &mean, &sd, &ci);
            r->mean[ev] = mean;
            r->lo[ev] = cnt >= 2 ? mean - ci : NAN;
            r->hi[ev] = cnt >= 2 ? mean + ci : NAN;
            r->p_holm[ev] = NAN;
        }
    }
    /* rows: every loss against compare_to, then the primary comparisons that are not */
    int nd = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int k = 0; k < C->n; k++) {
            const sr_cmp *x = &C->c[k];
            if (x->m != m || (pass == 0) != (x->b == D->ref && x->a != D->ref) || (pass == 1 && !x->primary)) continue;
            int i;
            char lab[112];
            if (pass == 0)
                snprintf(lab, sizeof lab, "%s", D->L[x->a].label);
            else
                snprintf(lab, sizeof lab, "%s \u2212 %s", D->L[x->a].label, D->L[x->b].label);
            for (i = 0; i < nd; i++)
                if (strcmp(diff[i].label, lab) == 0) break;
            if (i == nd) {
                memset(&diff[nd], 0, sizeof diff[nd]);
                snprintf(diff[nd].label, sizeof diff[nd].label, "%s", lab);
                for (int ev = 0; ev < 2; ev++)
                    diff[nd].mean[ev] = diff[nd].lo[ev] = diff[nd].hi[ev] = diff[nd].p_holm[ev] = NAN;
                nd++;
            }
            ghm_forest_row *r = &diff[i];
            r->mean[x->concat] = x->p.mean_diff;
            r->lo[x->concat] = x->p.lo;
            r->hi[x->concat] = x->p.hi;
            r->p_holm[x->concat] = x->holm;
            r->primary |= x->primary;
        }
    char disp[64], mname[64], base[96], title[160], mlab[128], dlab[160], dtitle[160], caption[480];
    ghm_metric_display(D->metrics[m], 0, disp, sizeof disp);
    ghm_plot_safe_name(D->metrics[m], mname, sizeof mname);
    snprintf(base, sizeof base, "compare_%s", mname);
    snprintf(title, sizeof title, "Test %s per loss, %d reproduction%s", disp, D->R, D->R == 1 ? "" : "s");
    snprintf(mlab, sizeof mlab, "test %s (%%), mean and 95%% CI", disp);
    snprintf(dtitle, sizeof dtitle, "Paired differences to %s (or as named), 95%% CI", D->L[D->ref].label);
    snprintf(dlab, sizeof dlab, "points; filled: Holm-adjusted p < 0.05");
    snprintf(caption, sizeof caption,
             "Test %s per loss (mean and 95%% t interval over reproductions, separate and concatenated) and the "
             "paired differences against %s with their 95%% paired-t intervals (filled: Holm-adjusted p < 0.05; "
             "(P): primary comparison)",
             disp, D->L[D->ref].label);
    (void)e;
    ghm_forest f = {base, title, caption, mlab, dtitle, dlab, {"separate", "concatenated"}, top, nl, diff, nd};
    int rc = ghm_plot_forest(c, &f);
    free(top), free(diff);
    return rc;
}

/* ---- the whole report ---- */

static int write_text(const char *dir, const char *name, char *text, ghm_error *err)
{
    if (!text) return ghm_error_set(err, GHM_ENOMEM, "out of memory writing %s", name);
    int rc = ghm_out_write(dir, name, text, strlen(text), err);
    free(text);
    return rc;
}

static void html_esc(ghm_tb *b, const char *t) { ghm_tb_html(b, t); }

/* a file of the results directory, escaped, inside <pre> */
static void html_file(ghm_tb *b, const char *path)
{
    char *text = NULL;
    if (ghm_read_file(path, &text, NULL, NULL) == 0 && text) ghm_tb_html_pre(b, text);
    free(text);
}

/* index.html of a search: one self-contained page (no network, no script):
 * the search summary, every search figure, every run with its role, status
 * and record, and the experiment file. */
static int search_index_html(const char *dir, const ghm_experiment *e, ghm_error *err)
{
    char path[GHM_PATH_MAX + 128];
    ghm_tb b;
    ghm_tb_init(&b);
    ghm_tb_puts(&b, "<!DOCTYPE html>\n<html lang=en>\n<head>\n<meta charset=utf-8>\n<title>");
    html_esc(&b, e->name);
    ghm_tb_puts(&b, " – ghm search report</title>\n<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;"
                    "padding:0 1em}pre{background:#f6f6f6;padding:1em;white-space:pre-wrap;font-size:13px}"
                    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;font-size:13px}"
                    "img{max-width:48%;margin:4px;border:1px solid #ddd}</style>\n</head>\n<body>\n<h1>");
    html_esc(&b, e->name);
    ghm_tb_puts(&b, "</h1>\n<p>Files: <a href=\"summary.md\">summary.md</a>, <a href=\"summary.csv\">summary.csv</a>, "
                    "<a href=\"summary.tex\">summary.tex</a>, <a href=\"search.csv\">search.csv</a>, "
                    "<a href=\"paired.csv\">paired.csv</a>, <a href=\"experiment.yaml\">experiment.yaml</a>.</p>\n"
                    "<h2>Summary</h2>\n<pre>");
    snprintf(path, sizeof path, "%s/summary.md", dir);
    html_file(&b, path);
    ghm_tb_puts(&b, "</pre>\n<h2>Figures</h2>\n<p>");
    /* the paper figures (test metric per loss, paired differences), then the search's own */
    for (int k = 0; k < 2; k++) {
        const char *m = k == 0 ? e->search->objective : "recall@1";
        if (k == 1 && strcmp(m, e->search->objective) == 0) continue;
        char base[128], mn[96];
        ghm_plot_safe_name(m, mn, sizeof mn);
        snprintf(base, sizeof base, "compare_%s", mn);
        struct stat st;
        snprintf(path, sizeof path, "%s/plots/%s.png", dir, base);
        if (stat(path, &st) != 0) continue;
        ghm_tb_printf(&b, "<a href=\"plots/%s.pdf\"><img src=\"plots/%s.png\" alt=\"%s\"></a>\n", base, base, base);
    }
    for (int l = -1; l < e->n_losses; l++) {
        /* the progress plot first, then each loss's scatter plots */
        for (int j = l < 0 ? 0 : 0; j < (l < 0 ? 1 : e->search->space[l].n); j++) {
            char base[200], a[96], k[96];
            if (l < 0) {
                snprintf(base, sizeof base, "search_progress");
            } else {
                ghm_plot_safe_name(e->loss_names[l], a, sizeof a);
                ghm_plot_safe_name(e->search->space[l].dims[j].path, k, sizeof k);
                snprintf(base, sizeof base, "search_%s_%s", a, k);
            }
            struct stat st;
            snprintf(path, sizeof path, "%s/plots/%s.png", dir, base);
            if (stat(path, &st) != 0) continue;
            ghm_tb_printf(&b, "<a href=\"plots/%s.png\"><img src=\"plots/%s.png\" alt=\"%s\"></a>\n", base, base, base);
        }
    }
    ghm_tb_puts(&b, "</p>\n<h2>Runs</h2>\n<table>\n<tr><th>index</th><th>run</th><th>loss</th><th>role</th>"
                    "<th>setting</th><th>seed</th><th>status</th></tr>\n");
    for (int i = 0; i < e->n_runs; i++) {
        const ghm_run_spec *r = &e->runs[i];
        int st = ghm_record_state(dir, r->run_id);
        ghm_tb_printf(&b, "<tr><td>%d</td><td>", r->index);
        if (st != GHM_RUN_MISSING)
            ghm_tb_printf(&b, "<a href=\"runs/%s/record.json\">%s</a>", r->run_id, r->run_id);
        else
            ghm_tb_puts(&b, r->run_id);
        ghm_tb_puts(&b, "</td><td>");
        html_esc(&b, r->loss);
        if (r->role == GHM_ROLE_TRIAL)
            ghm_tb_printf(&b, "</td><td>trial %d, fold %d</td><td>", r->trial, r->split.fold);
        else
            ghm_tb_printf(&b, "</td><td>final, reproduction %d, fold %d</td><td>", r->reproduction, r->split.fold);
        for (int j = 0; j < r->n_swept; j++) {
            html_esc(&b, j ? ", " : "");
            html_esc(&b, r->swept_name[j]);
            html_esc(&b, "=");
            html_esc(&b, r->swept_text[j]);
        }
        ghm_tb_printf(&b, "</td><td>%llu</td><td>%s</td></tr>\n", (unsigned long long)r->seed,
                      st == GHM_RUN_FINISHED ? "finished" : st == GHM_RUN_FAILED ? "failed" : "not run yet");
    }
    ghm_tb_puts(&b, "</table>\n<p>Later trials and the final runs are planned as results come in.</p>\n"
                    "<h2>Experiment file</h2>\n<pre>");
    snprintf(path, sizeof path, "%s/experiment.yaml", dir);
    html_file(&b, path);
    ghm_tb_puts(&b, "</pre>\n</body>\n</html>\n");
    char *html = NULL;
    int rc = ghm_tb_finish(&b, &html, err);
    if (rc < 0) return rc;
    rc = ghm_out_write(dir, "index.html", html, strlen(html), err);
    free(html);
    return rc;
}

int ghm_search_report_write(const char *dir, ghm_experiment *e, int plots, unsigned formats,
                            ghm_search_report_result *res,
                            ghm_error *err)
{
    memset(res, 0, sizeof *res);
    if (!e || !e->search) return ghm_error_set(err, GHM_EINPUT, "not a search experiment");
    sr_data D;
    int rc = sr_gather(dir, e, &D, res, err);
    if (rc == 0) rc = write_text(dir, "search.csv", search_csv(e, &D), err);
    if (rc == 0) rc = write_text(dir, "summary.csv", summary_csv(e, &D), err);
    sr_cmps C;
    memset(&C, 0, sizeof C);
    if (rc == 0 && sr_comparisons(e, &D, &C) < 0) rc = ghm_error_set(err, GHM_ENOMEM, "out of memory (comparisons)");
    if (rc == 0) rc = write_text(dir, "paired.csv", paired_csv(&D, &C), err);
    if (rc == 0) rc = write_text(dir, "summary.md", summary_md(e, &D, &C, res), err);
    if (rc == 0) rc = write_text(dir, "summary.tex", summary_tex(e, &D), err);
    if (rc == 0 && plots) {
        ghm_plot_out c;
        rc = ghm_plot_out_open(&c, dir, NULL, formats, NULL, res->warning, (int)sizeof res->warning, err);
        if (rc == 0) rc = plot_progress(&c, e, &D);
        /* the paper figure: the objective's test metric, and Recall@1 */
        int mo = metric_index(&D, e->search->objective, 0), mr = metric_index(&D, "recall@1", 0);
        if (rc == 0 && mo >= 0) rc = plot_compare(&c, e, &D, &C, mo);
        if (rc == 0 && mr >= 0 && mr != mo) rc = plot_compare(&c, e, &D, &C, mr);
        for (int l = 0; rc == 0 && l < D.n_losses; l++)
            for (int j = 0; rc == 0 && j < e->search->space[l].n; j++) rc = plot_scatter(&c, e, &D, l, j);
        res->n_plots = c.n_plots;
        if (!res->warning[0]) ghm_plot_out_warning(&c, res->warning, (int)sizeof res->warning);
    }
    cmps_free(&C);
    if (rc == 0) rc = search_index_html(dir, e, err);
    sr_free(&D);
    return rc;
}
