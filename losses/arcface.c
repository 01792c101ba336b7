/* ArcFace: additive angular margin loss (Deng, Guo, Xue, Zafeiriou, "ArcFace:
 * Additive Angular Margin Loss for Deep Face Recognition", CVPR 2019, eq. 3):
 *
 *   L = -1/n sum_i log( e^{s cos(theta_{y_i} + m)}
 *                       / (e^{s cos(theta_{y_i} + m)} + sum_{c != y_i} e^{s cos theta_c}) )
 *
 * theta_c = angle between the L2-normalised embedding and the L2-normalised
 * class weight w_c; m = 0.5 rad (paper; pytorch-metric-learning's 28.6 degrees
 * is the same), s = 64.
 *
 * arccos is never evaluated: with c = cos theta in [-1, 1] and theta in [0, pi],
 *   cos(theta + m) = c cos m - sin(theta) sin m,   sin(theta) = sqrt(max(1 - c^2, 0) + eps),
 *   d cos(theta + m) / dc = cos m + sin m * c / sin(theta),
 * with eps = 1e-7 bounding the derivative (arccos' is infinite at c = +-1) at
 * sin m / sqrt(eps) ~ 1.5e3, like pytorch-metric-learning's clamp of c to
 * +-(1 - 1e-7); the value changes by at most s sin(m) sqrt(eps) ~ 0.01 logits
 * at c = +-1 and by < 1e-6 for |c| < 0.99. This is the exact cos(theta + m), so
 * (as in the paper's eq. 3) it is not monotonic for theta > pi - m; the
 * "easy margin" variant and the official code's linear fallback are not used.
 *
 * Class weights: (C, d), N(0, 1/d) init from the loss's seeded stream; decay = 0
 * (the loss is invariant to their norm); `proxy_lr_mult` default 1.
 */
#include "proxy_util.h"

#include <math.h>
#include <stdlib.h>

#define ARCFACE_SIN_EPS 1e-7

static const ghm_param_spec params[] = {
    {"margin", 0.5, 0.0, 3.14159, "additive angular margin m in radians (paper: 0.5)", NULL, 0, 0, 0},
    {"scale", 64.0, 0.0, 1e4, "logit scale s (paper: 64)", NULL, 0, 1, 0},
    {"proxy_lr_mult", 1.0, 0.0, 1e6, "learning-rate multiplier of the class weights", NULL, 0, 0, 0},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0}};

typedef struct {
    ghm_lu_proxy base; /* t[0]: class weights (C, d) */
    double margin, scale;
} arcface;

static double af_loss(void *ctx, double *sim, const int *labels, int n, int C, double *dtarget)
{
    const arcface *af = ctx;
    double s = af->scale, cm = cos(af->margin), sm = sin(af->margin);
    /* logits: s sim for every class, s cos(theta + m) for the target;
     * dtarget[i] = d logit_{i,y_i} / d cos_{i,y_i} */
    for (int i = 0; i < n; i++) {
        double *z = sim + (size_t)i * C;
        double c0 = z[labels[i]];
        for (int c = 0; c < C; c++) z[c] *= s;
        double one_m = 1.0 - c0 * c0;
        double sn = sqrt((one_m > 0.0 ? one_m : 0.0) + ARCFACE_SIN_EPS);
        z[labels[i]] = s * (c0 * cm - sn * sm);
        dtarget[i] = s * (cm + (one_m > 0.0 ? sm * c0 / sn : 0.0));
    }
    /* sim <- dL/dlogit = (softmax - onehot) / n */
    double total = ghm_lu_cross_entropy(sim, labels, n, C, 1.0 / n);
    for (int i = 0; i < n; i++) {
        double *g = sim + (size_t)i * C;
        double gt = g[labels[i]];
        for (int c = 0; c < C; c++) g[c] *= s;
        g[labels[i]] = gt * dtarget[i];
    }
    return total / n;
}

static int create(ghm_loss *l, ghm_rng *rng, ghm_error *err)
{
    int rc = ghm_lu_proxy_create(l, sizeof(arcface), "weights", 1.0 / sqrt((double)l->dim), 0, 0, af_loss, rng, err);
    if (rc) return rc;
    arcface *af = l->impl;
    af->margin = ghm_loss_param(l, "margin");
    af->scale = ghm_loss_param(l, "scale");
    return 0;
}

const ghm_loss_ops ghm_loss_arcface = {"arcface", "ArcFace additive angular margin loss (Deng et al. 2019)", params,
    create, ghm_lu_proxy_cosine_fb, ghm_lu_proxy_tensors, ghm_lu_proxy_destroy, 1, NULL};
