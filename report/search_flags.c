/* Warnings about a loss's search (search_report.h): budgets that bought
 * nothing and ranges that cut the search short. Written into summary.md by
 * report/search_report.c.
 */
#include "report/search_report.h"

#include "report/report.h"
#include "core/textbuf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* position of v in its range in the searched scale (log for log ranges), in [0, 1] */
static double range_pos(const ghm_search_dim *d, double v)
{
    if (d->log) return log(v / d->lo) / log(d->hi / d->lo);
    return (v - d->lo) / (d->hi - d->lo);
}

int ghm_search_flags(const ghm_search_flags_in *in, ghm_tb *out)
{
    int n = 0;
    const ghm_search_space *sp = in->sp;
    const char *who = in->label;
    /* trials that trained identically: the same objective on every fold, bit for bit */
    for (int a = 0; a < in->T; a++) {
        if (!isfinite(in->trial_y[a])) continue;
        for (int b = a + 1; b < in->T; b++) {
            if (!isfinite(in->trial_y[b])) continue;
            int same = 1;
            for (int f = 0; f < in->K && same; f++)
                if (!(in->fold_y[(size_t)a * in->K + f] == in->fold_y[(size_t)b * in->K + f])) same = 0;
            if (!same) continue;
            ghm_tb_printf(out,
                          "- %s: trials %d and %d trained identically (the same objective on every fold): what "
                          "differs between them had no effect, so one trial of the budget was spent twice.\n",
                          who, a, b);
            n++;
            break; /* one line per trial a */
        }
    }
    /* the noise floor: the chosen setting's objective over the reproductions (other seeds) */
    double reps[64];
    int nr = 0;
    for (int r = 0; r < in->R && nr < 64; r++)
        if (isfinite(in->rep_y[r])) reps[nr++] = in->rep_y[r];
    int nt = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (int t = 0; t < in->T; t++)
        if (isfinite(in->trial_y[t])) {
            nt++;
            if (in->trial_y[t] < lo) lo = in->trial_y[t];
            if (in->trial_y[t] > hi) hi = in->trial_y[t];
        }
    if (nr >= 2 && nt >= 2) {
        double noise = ghm_stat_std(reps, nr);
        if (hi - lo < noise) {
            ghm_tb_printf(out,
                          "- %s: the space may be inert: the %d trials' objectives span %.4f, less than the noise "
                          "floor %.4f (standard deviation of the chosen setting's validation objective over %d "
                          "reproductions); the search could not tell its settings apart.\n",
                          who, nt, hi - lo, noise, nr);
            n++;
        }
    }
    /* a chosen value at a range edge */
    if (in->best >= 0 && in->best < in->T)
        for (int j = 0; j < sp->n; j++) {
            const ghm_search_dim *d = &sp->dims[j];
            if (d->kind != GHM_DIM_RANGE || !(d->hi > d->lo)) continue;
            double v = in->trial_x[(size_t)in->best * sp->n + j];
            if (!isfinite(v)) continue;
            double p = range_pos(d, v);
            if (p >= 0.05 && p <= 0.95) continue;
            ghm_tb_printf(out,
                          "- %s: the chosen %s = %g is within 5%% of the %s edge of its range [%g, %g]%s: the best "
                          "setting may lie beyond it; widen the range.\n",
                          who, d->path, v, p < 0.05 ? "lower" : "upper", d->lo, d->hi, d->log ? " (log scale)" : "");
            n++;
        }
    return n;
}
