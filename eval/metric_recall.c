/* Recall@K (docs/metrics.md): the fraction of queries with at least one
 * same-label item among their K nearest, for each K of eval.recall_at. A query
 * with R = 0 can never hit and counts as a miss. */
#include "eval.h"
#include "eval_internal.h"

static int recall_compute(const ghm_eval_shared *s, const ghm_eval_opts *o, double *v, ghm_error *err)
{
    (void)err;
    for (int j = 0; j < o->n_k; j++) {
        long hit = 0;
        for (int i = 0; i < s->nq; i++) hit += s->first[i] >= 0 && s->first[i] < o->ks[j];
        v[j] = (double)hit / s->nq;
    }
    return 0;
}

const ghm_metric_ops ghm_metric_recall = {
    .name = "recall", .key = "recall@", .short_name = "R@", .long_name = "Recall@",
    .help = "Recall@K for each K of --k / eval.recall_at",
    .higher_is_better = 1, .needs = GHM_METRIC_NEEDS_LABELS | GHM_METRIC_NEEDS_K, .objective = 1, .lo = 0, .hi = 1,
    .default_on = 1, .id_pos = 1, .compute = recall_compute,
};
