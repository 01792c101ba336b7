/* Successive halving's rung arithmetic (declared in search/search.h): how
 * many rungs, trials per rung and each rung's length. Its own file because
 * both the planner's checks (experiment/plan.c) and the search expansion
 * (experiment/search_plan.c) need it, and the expansion calls the planner.
 */
#include "search/search.h"

#include <math.h>

int ghm_search_n_rungs(const ghm_search_config *s)
{
    if (!s->halving || s->eta < 2 || !(s->min_fraction > 0)) return 1;
    int r = 0;
    double f = s->min_fraction;
    while (f < 0.99 && r < 64) f *= s->eta, r++;
    return r + 1;
}

int ghm_search_rung_trials(const ghm_search_config *s, int rung)
{
    int n = s->trials;
    for (int r = 0; r < rung && s->eta >= 2; r++) {
        n /= s->eta;
        if (n < 1) n = 1;
    }
    return n;
}

int ghm_search_trial_slots(const ghm_search_config *s)
{
    int nr = ghm_search_n_rungs(s), total = 0;
    if (nr > GHM_SEARCH_MAX_RUNGS) nr = GHM_SEARCH_MAX_RUNGS;
    for (int r = 0; r < nr; r++) total += ghm_search_rung_trials(s, r);
    return total;
}

int ghm_search_rung_steps_per_epoch(const ghm_search_config *s, int rung, int spe)
{
    int nr = ghm_search_n_rungs(s);
    if (rung >= nr - 1) return spe;
    double f = s->min_fraction;
    for (int r = 0; r < rung; r++) f *= s->eta;
    long v = lround(f * spe);
    return v < 1 ? 1 : (int)v;
}

