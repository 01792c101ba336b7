/* NMI (arithmetic normalisation, sklearn's default) and AMI between the k-means
 * clusters (k = number of distinct labels) and the labels (docs/metrics.md).
 * One clustering serves both: AMI shares NMI's switch (`shares`), so selecting
 * either computes both and the run identity names only "nmi". */
#include "eval.h"
#include "eval_internal.h"

#include <math.h>

static int nmi_compute(const ghm_eval_shared *s, const ghm_eval_opts *o, double *v, ghm_error *err)
{
    (void)o;
    v[0] = ghm_nmi(s->classes, s->clusters, s->nq);
    if (isnan(v[0])) return GHM_FAIL(err, GHM_ENOMEM, "eval: out of memory computing NMI/AMI");
    return 0;
}

static int ami_compute(const ghm_eval_shared *s, const ghm_eval_opts *o, double *v, ghm_error *err)
{
    (void)o;
    v[0] = ghm_ami(s->classes, s->clusters, s->nq);
    if (isnan(v[0])) return GHM_FAIL(err, GHM_ENOMEM, "eval: out of memory computing NMI/AMI");
    return 0;
}

const ghm_metric_ops ghm_metric_nmi = {
    .name = "nmi", .key = "nmi", .short_name = "NMI", .long_name = "NMI",
    .help = "normalised mutual information of k-means clusters and labels",
    .higher_is_better = 1, .needs = GHM_METRIC_NEEDS_CLUSTERING, .objective = 1, .lo = 0, .hi = 1,
    .default_on = 1, .id_pos = 2, .compute = nmi_compute,
};

const ghm_metric_ops ghm_metric_ami = {
    .name = "ami", .key = "ami", .short_name = "AMI", .long_name = "AMI",
    .help = "adjusted mutual information (computed with nmi)",
    .higher_is_better = 1, .needs = GHM_METRIC_NEEDS_CLUSTERING, .objective = 0, .lo = -1, .hi = 1,
    .id_pos = 0, .shares = "nmi", .compute = ami_compute, /* on and off with nmi */
};
