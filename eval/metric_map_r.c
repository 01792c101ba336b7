/* MAP@R (Musgrave et al. 2020; docs/metrics.md): per query with R >= 1,
 * (1/R) sum over the R nearest of precision at each same-label rank; the mean
 * over those queries (queries with R = 0 left out; NaN when none is left). */
#include "eval.h"
#include "eval_internal.h"

#include <math.h>

static int map_r_compute(const ghm_eval_shared *s, const ghm_eval_opts *o, double *v, ghm_error *err)
{
    (void)o;
    (void)err;
    double sum = 0.0;
    for (int i = 0; i < s->nq; i++)
        if (s->r[i] > 0) sum += s->ap[i] / s->r[i];
    int nr = s->nq - s->n_r0;
    v[0] = nr > 0 ? sum / nr : NAN;
    return 0;
}

const ghm_metric_ops ghm_metric_map_r = {
    .name = "map_r", .key = "map@r", .short_name = "MAP@R", .long_name = "MAP@R",
    .help = "mean average precision over each query's R nearest",
    .higher_is_better = 1, .needs = GHM_METRIC_NEEDS_LABELS | GHM_METRIC_NEEDS_R, .objective = 1, .lo = 0, .hi = 1,
    .may_be_undefined = 1, .default_on = 1, .id_pos = 3, .compute = map_r_compute,
};
