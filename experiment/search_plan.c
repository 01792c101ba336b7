/* The dynamic plan of a search file (search.h): rebuilt from the finished
 * records each time, so the search needs no state of its own.
 *
 * Every run has a stable plan index, whatever is known yet: loss entries in
 * file order, each with trials x folds (trial-major) and then reproductions x
 * folds of its final runs. Shards (--shard I/N) split on this index, so every
 * process agrees on who runs what as the plan grows.
 */
#include "search/search.h"

#include "experiment/config_internal.h"
#include "experiment/record.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Result of one run: 0 no usable record yet (none, unreadable, or not this
 * run's: such a record is redone), 1 finished (objective in *y, NaN when the
 * metric is missing), 2 failed. */
static int run_result(const char *out_dir, const ghm_run_spec *spec, const char *objective, double *y)
{
    *y = NAN;
    if (!out_dir) return 0;
    char dir[GHM_PATH_MAX + 64], path[GHM_PATH_MAX + 96];
    if (ghm_record_run_dir(out_dir, spec->run_id, dir, sizeof dir) < 0) return 0;
    snprintf(path, sizeof path, "%s/record.json", dir);
    ghm_record rec;
    ghm_error e;
    if (ghm_record_read(path, &rec, &e) < 0) return 0;
    int state = 0;
    if (ghm_record_check_spec(&rec, spec, path, &e) == 0) {
        state = ghm_record_failed(&rec) ? 2 : 1;
        if (state == 1 && rec.has_val) ghm_metric_set_find(&rec.val, objective, y);
    }
    ghm_record_free(&rec);
    return state;
}

static void add_swept_names(ghm_experiment *e, const ghm_search_space *sp)
{
    for (int j = 0; j < sp->n; j++) {
        int k;
        for (k = 0; k < e->n_swept; k++)
            if (strcmp(e->swept_names[k], sp->dims[j].path) == 0) break;
        if (k == e->n_swept && e->n_swept < GHM_MAX_SWEPT * 4)
            snprintf(e->swept_names[e->n_swept++], GHM_NAME_MAX, "%s", sp->dims[j].path);
    }
}

/* ---- successive halving (the rung arithmetic: search/search_rungs.c) ---- */

typedef struct rank_item {
    double y;
    int trial;
} rank_item;

static int cmp_rank(const void *a, const void *b)
{
    const rank_item *x = a, *y = b;
    int nx = isnan(x->y), ny = isnan(y->y);
    if (nx != ny) return nx - ny; /* failed last */
    if (!nx && x->y != y->y) return x->y > y->y ? -1 : 1;
    return (x->trial > y->trial) - (x->trial < y->trial);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

void ghm_search_promote(const double *y, const int *trial, int n, int k, int *out)
{
    rank_item *it = malloc(sizeof *it * (size_t)(n > 0 ? n : 1));
    if (k > n) k = n;
    if (!it) { /* no memory to rank: the lowest trial indices (still deterministic) */
        for (int i = 0; i < k; i++) out[i] = trial[i];
        qsort(out, (size_t)k, sizeof *out, cmp_int);
        return;
    }
    for (int i = 0; i < n; i++) it[i] = (rank_item){isfinite(y[i]) ? y[i] : NAN, trial[i]};
    qsort(it, (size_t)n, sizeof *it, cmp_rank);
    for (int i = 0; i < k; i++) out[i] = it[i].trial;
    qsort(out, (size_t)k, sizeof *out, cmp_int);
    free(it);
}

/* A trial run of rung `rung`: the rung's steps per epoch (halving only, so
 * the ids of searches without halving are unchanged). */
static void set_rung(const ghm_search_config *s, ghm_run_spec *r, int rung)
{
    if (!s->halving) return;
    r->rung = rung;
    r->steps_per_epoch = ghm_search_rung_steps_per_epoch(s, rung, r->steps_per_epoch);
    ghm_run_spec_compute_id(r);
}

int ghm_search_expand(ghm_experiment *e, const char *out_dir, int *complete, ghm_error *err)
{
    const ghm_cfg *c = e->cfg;
    const ghm_search_config *s = e->search;
    if (complete) *complete = 0;
    if (!c || !s) return ghm_error_set(err, GHM_EINPUT, "%s: not a search file", e->file);
    int K = s->folds >= 2 ? s->folds : 1, R = s->reproductions;
    long cap = 0;
    int slots = ghm_search_trial_slots(s), NR = ghm_search_n_rungs(s);
    if (NR > GHM_SEARCH_MAX_RUNGS) NR = GHM_SEARCH_MAX_RUNGS;
    for (int l = 0; l < c->n_losses; l++) cap += (long)(s->space[l].n ? slots : 0) * K + (long)R * K;
    if (cap > GHM_CFG_MAX_RUNS)
        return ghm_error_set(err, GHM_EINPUT,
                             "%s: the search has %ld runs (trials x folds + reproductions x folds per loss), more than %d",
                             e->file, cap, GHM_CFG_MAX_RUNS);
    ghm_run_spec *runs = calloc((size_t)cap + 1, sizeof *runs);
    if (!runs) return ghm_error_set(err, GHM_ENOMEM, "out of memory: search plan of %ld runs", cap);
    int n = 0, rc = 0, all_done = 1;
    long base = 0;
    e->n_swept = 0;
    for (int l = 0; l < c->n_losses && !rc; l++) {
        const ghm_search_space *sp = &s->space[l];
        int nd = sp->n, T = nd ? s->trials : 0;
        add_swept_names(e, sp);
        double *xs = calloc((size_t)T * (nd ? nd : 1) + 1, sizeof(double));
        double *ys = calloc((size_t)T + 1, sizeof(double));
        if (!xs || !ys) {
            free(xs);
            free(ys);
            rc = ghm_error_set(err, GHM_ENOMEM, "out of memory planning the search");
            break;
        }
        uint64_t key = ghm_search_key(s, l, c->losses[l].name);
        int n_done = 0; /* trials 0..n_done-1 all have results */
        int t;
        for (t = 0; t < T && !rc; t++) {
            int dep = ghm_search_depends_on(s, t);
            if (dep > n_done) break; /* waits on unfinished trials */
            ghm_search_propose(s, sp, key, t, xs, ys, dep, xs + (size_t)t * nd);
            int finished = 0, failed = 0;
            double sum = 0;
            for (int f = 0; f < K && !rc; f++) {
                ghm_run_spec *r = &runs[n];
                rc = ghm_cfg_build_search_run(c, l, xs + (size_t)t * nd, GHM_ROLE_TRIAL, t, 0, f,
                                              GHM_TRIAL_SEED_BASE + ghm_search_seed_of(s, l), r, err);
                if (rc) break;
                set_rung(s, r, 0);
                r->index = (int)(base + (long)t * K + f);
                n++;
                double y;
                int st = run_result(out_dir, r, s->objective, &y);
                if (st == 2 || (st == 1 && !isfinite(y))) failed++;
                if (st) finished++;
                if (st == 1) sum += y;
            }
            if (finished == K && n_done == t) {
                ys[t] = failed ? NAN : sum / K;
                n_done++;
            } else if (finished == K) {
                ys[t] = failed ? NAN : sum / K;
            }
        }
        if (!rc && n_done < T) all_done = 0;
        base += (long)T * K;
        /* the later rungs (halving): the best of the rung before, in trial order */
        int ready = !rc && n_done == T; /* every trial of the last rung planned so far has its result */
        int n_prev = T;
        int *prev_t = calloc((size_t)T + 1, sizeof(int)), *cur_t = calloc((size_t)T + 1, sizeof(int));
        double *prev_y = calloc((size_t)T + 1, sizeof(double)), *cur_y = calloc((size_t)T + 1, sizeof(double));
        if (!prev_t || !cur_t || !prev_y || !cur_y) {
            rc = ghm_error_set(err, GHM_ENOMEM, "out of memory planning the search");
            ready = 0;
        }
        for (int i = 0; i < T && !rc; i++) prev_t[i] = i, prev_y[i] = ys[i];
        for (int rung = 1; T && rung < NR && !rc; rung++) {
            int k = ghm_search_rung_trials(s, rung);
            if (ready) {
                ghm_search_promote(prev_y, prev_t, n_prev, k, cur_t);
                int fin_all = 1;
                for (int i = 0; i < k && !rc; i++) {
                    int tt = cur_t[i], finished = 0, failed = 0;
                    double sum = 0;
                    for (int f = 0; f < K && !rc; f++) {
                        ghm_run_spec *r = &runs[n];
                        rc = ghm_cfg_build_search_run(c, l, xs + (size_t)tt * nd, GHM_ROLE_TRIAL, tt, 0, f,
                                                      GHM_TRIAL_SEED_BASE + ghm_search_seed_of(s, l), r, err);
                        if (rc) break;
                        set_rung(s, r, rung);
                        r->index = (int)(base + (long)i * K + f);
                        n++;
                        double y;
                        int st = run_result(out_dir, r, s->objective, &y);
                        if (st == 2 || (st == 1 && !isfinite(y))) failed++;
                        if (st) finished++;
                        if (st == 1) sum += y;
                    }
                    cur_y[i] = failed ? NAN : sum / K;
                    if (finished < K) fin_all = 0;
                }
                if (!fin_all) {
                    ready = 0;
                    all_done = 0;
                }
                int *tp = prev_t;
                double *yp = prev_y;
                prev_t = cur_t, prev_y = cur_y, cur_t = tp, cur_y = yp;
                n_prev = k;
            }
            base += (long)k * K;
        }
        if (!rc && ready) {
            int best = -1;
            if (T) ghm_search_promote(prev_y, prev_t, n_prev, 1, &best);
            if (T) {
                /* the chosen setting: the best at the full length; none when every trial there failed */
                int ok = 0;
                for (int i = 0; i < n_prev; i++)
                    if (prev_t[i] == best && !isnan(prev_y[i])) ok = 1;
                if (!ok) best = -1;
            }
            if (T == 0) best = 0; /* not tuned: its defaults */
            for (int rr = 0; best >= 0 && rr < R && !rc; rr++)
                for (int f = 0; f < K && !rc; f++) {
                    ghm_run_spec *r = &runs[n];
                    rc = ghm_cfg_build_search_run(c, l, T ? xs + (size_t)best * nd : xs, GHM_ROLE_FINAL, T ? best : -1,
                                                  rr, f, s->rep_seeds[rr], r, err);
                    if (rc) break;
                    r->index = (int)(base + (long)rr * K + f);
                    n++;
                }
        }
        base += (long)R * K;
        free(prev_t);
        free(cur_t);
        free(prev_y);
        free(cur_y);
        free(xs);
        free(ys);
    }
    if (rc) {
        free(runs);
        return rc;
    }
    free(e->runs);
    e->runs = runs;
    e->n_runs = n;
    if (complete) *complete = all_done;
    return 0;
}
