/* R-precision (docs/metrics.md): per query with R >= 1, the fraction of
 * same-label items among its R nearest; the mean over those queries (queries
 * with R = 0 left out; NaN when none is left). */
#include "eval.h"
#include "eval_internal.h"

#include <math.h>

static int r_precision_compute(const ghm_eval_shared *s, const ghm_eval_opts *o, double *v, ghm_error *err)
{
    (void)o;
    (void)err;
    double sum = 0.0;
    for (int i = 0; i < s->nq; i++)
        if (s->r[i] > 0) sum += (double)s->hits[i] / s->r[i];
    int nr = s->nq - s->n_r0;
    v[0] = nr > 0 ? sum / nr : NAN;
    return 0;
}

const ghm_metric_ops ghm_metric_r_precision = {
    .name = "r_precision", .key = "r_precision", .short_name = "RP", .long_name = "R-precision",
    .help = "fraction of same-label items among each query's R nearest",
    .higher_is_better = 1, .needs = GHM_METRIC_NEEDS_LABELS | GHM_METRIC_NEEDS_R, .objective = 1, .lo = 0, .hi = 1,
    .may_be_undefined = 1, .default_on = 1, .id_pos = 4, .compute = r_precision_compute,
};
