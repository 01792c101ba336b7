/* Generic loss plumbing: creation by name with parameter resolution, dispatch,
 * and the finite-difference gradient check used by tests and `ghm loss --check`. */
#include "loss.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ghm_loss_create(const char *name, const ghm_params *params, int dim, int n_classes, uint64_t seed,
                    ghm_loss **out, ghm_error *err)
{
    *out = NULL;
    const ghm_loss_ops *ops = ghm_loss_find(name);
    if (!ops) {
        const char *names[64];
        int n = ghm_loss_count();
        for (int i = 0; i < n && i < 64; i++) names[i] = ghm_loss_at(i)->name;
        const char *close = ghm_closest_name(name, names, n < 64 ? n : 64);
        if (close) return ghm_error_set(err, GHM_EINPUT, "unknown loss '%s' (did you mean '%s'?)", name, close);
        return ghm_error_set(err, GHM_EINPUT, "unknown loss '%s' (see `ghm list losses`)", name);
    }
    if (dim <= 0) return ghm_error_set(err, GHM_EINPUT, "loss '%s': embedding dimension must be > 0", name);
    if (ops->needs_classes && n_classes < 1)
        return ghm_error_set(err, GHM_EINPUT, "loss '%s' needs the number of classes (got %d)", name, n_classes);
    ghm_loss *l = calloc(1, sizeof *l);
    if (!l) return ghm_error_set(err, GHM_ENOMEM, "out of memory creating loss '%s'", name);
    l->ops = ops;
    l->dim = dim;
    l->n_classes = n_classes;
    char owner[64];
    snprintf(owner, sizeof owner, "loss '%s'", name);
    int rc = ghm_params_resolve(ops->params, params, &l->params, owner, err);
    if (rc) {
        free(l);
        return rc;
    }
    ghm_rng rng;
    ghm_rng_seed(&rng, seed, GHM_STREAM_LOSS);
    rc = ops->create(l, &rng, err);
    if (rc) {
        free(l);
        return rc;
    }
    *out = l;
    return 0;
}

void ghm_loss_destroy(ghm_loss *l)
{
    if (!l) return;
    if (l->ops && l->ops->destroy) l->ops->destroy(l);
    free(l);
}

int ghm_loss_forward_backward(ghm_loss *l, const float *emb, const int *labels, int n, int d, double *value,
                              float *grad, ghm_error *err)
{
    if (n < 1 || d != l->dim)
        return ghm_error_set(err, GHM_EINPUT, "loss '%s': batch of %d x %d, expected n >= 1 and d = %d",
                             l->ops->name, n, d, l->dim);
    if (l->ops->needs_classes)
        for (int i = 0; i < n; i++)
            if (labels[i] < 0 || labels[i] >= l->n_classes)
                return ghm_error_set(err, GHM_EINPUT, "loss '%s': label %d of item %d is outside [0, %d)",
                                     l->ops->name, labels[i], i, l->n_classes);
    return l->ops->forward_backward(l, emb, labels, n, d, value, grad, err);
}

int ghm_loss_tensors(ghm_loss *l, ghm_tensor ***tensors)
{
    *tensors = NULL;
    if (!l->ops->tensors) return 0;
    return l->ops->tensors(l, tensors);
}

double ghm_loss_param(const ghm_loss *l, const char *name)
{
    const ghm_param_spec *s = ghm_param_spec_find(l->ops->params, name);
    return ghm_params_get(&l->params, name, s ? s->def : 0.0);
}

int ghm_loss_check_grad(ghm_loss *l, const float *emb, const int *labels, int n, int d, double h, double floor,
                        double *max_rel_err, ghm_error *err)
{
    size_t nd = (size_t)n * (size_t)d;
    float *x = malloc(nd * sizeof *x), *g = malloc(nd * sizeof *g), *scratch = malloc(nd * sizeof *scratch);
    if (!x || !g || !scratch) {
        free(x);
        free(g);
        free(scratch);
        return ghm_error_set(err, GHM_ENOMEM, "out of memory in gradient check");
    }
    memcpy(x, emb, nd * sizeof *x);
    double v0;
    int rc = ghm_loss_forward_backward(l, x, labels, n, d, &v0, g, err);
    double worst = 0.0;
    for (size_t k = 0; rc == 0 && k < nd; k++) {
        float orig = x[k];
        double vp, vm;
        /* the step actually taken in float (x + h may round) */
        x[k] = (float)(orig + h);
        double hp = (double)x[k] - orig;
        rc = ghm_loss_forward_backward(l, x, labels, n, d, &vp, scratch, err);
        if (rc) break;
        x[k] = (float)(orig - h);
        double hm = orig - (double)x[k];
        rc = ghm_loss_forward_backward(l, x, labels, n, d, &vm, scratch, err);
        x[k] = orig;
        if (rc) break;
        /* Central difference first; when the step straddles a kink of a piecewise
         * loss (a hinge switching on, a mined negative changing), one of the
         * one-sided differences stays on the side where the analytic gradient
         * holds, so the best of the three is the fair comparison. */
        double ana = g[k];
        double nums[3] = {(vp - vm) / (hp + hm), (vp - v0) / hp, (v0 - vm) / hm};
        double rel = INFINITY;
        for (int t = 0; t < 3; t++) {
            double r = fabs(nums[t] - ana) / fmax(fabs(nums[t]) + fabs(ana), floor);
            if (r < rel || isnan(r)) rel = r;
        }
        if (!(rel <= worst)) worst = rel; /* NaN propagates as worst */
    }
    /* restore the loss's own gradients to the unperturbed point */
    if (rc == 0) rc = ghm_loss_forward_backward(l, emb, labels, n, d, &v0, scratch, err);
    free(x);
    free(g);
    free(scratch);
    if (rc) return rc;
    *max_rel_err = worst;
    return 0;
}
