/* Generic loss plumbing: creation from a loss's table with parameter
 * resolution, dispatch, and the finite-difference gradient check used by tests
 * and `ghm loss --check`. (Creation by name is in registry.c.) */
#include "loss.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ghm_loss_create_ops(const ghm_loss_ops *ops, const ghm_params *params, int dim, int n_classes, uint64_t seed,
                        ghm_loss **out, ghm_error *err)
{
    *out = NULL;
    const char *name = ops->name;
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

void ghm_grad_check_init(ghm_grad_check *c)
{
    memset(c, 0, sizeof *c);
    c->h = 1e-3;
    c->tol = 1e-2;
    c->floor = 1e-3;
    c->scale_floor = 0.1;
    c->max_discontinuous = 0.25;
    c->worst = -1;
}

/* the function the check differentiates: the loss value, or ops->check_value around ref */
static int check_eval(ghm_loss *l, const float *ref, const float *x, const int *labels, int n, int d, float *scratch,
                      double *v, int *frozen, ghm_error *err)
{
    if (l->ops->check_value) {
        int rc = l->ops->check_value(l, ref, x, labels, n, d, v, err);
        if (rc < 0) return rc;
        if (frozen) *frozen = rc > 0;
        return 0;
    }
    return ghm_loss_forward_backward(l, x, labels, n, d, v, scratch, err);
}

static double rel_err(double a, double b, double floor) { return fabs(a - b) / fmax(fabs(a) + fabs(b), floor); }

int ghm_loss_check_gradient(ghm_loss *l, const float *emb, const int *labels, int n, int d, ghm_grad_check *c,
                            ghm_error *err)
{
    if (!(c->h > 0 && c->h < 1) || !(c->tol > 0) || !(c->floor > 0))
        return ghm_error_set(err, GHM_EINPUT, "gradient check: need 0 < h < 1, tol > 0 and floor > 0");
    size_t nd = (size_t)n * (size_t)d;
    float *x = malloc(nd * sizeof *x), *g = malloc(nd * sizeof *g), *scratch = malloc(nd * sizeof *scratch);
    if (!x || !g || !scratch) {
        free(x);
        free(g);
        free(scratch);
        return ghm_error_set(err, GHM_ENOMEM, "out of memory in gradient check");
    }
    memcpy(x, emb, nd * sizeof *x);
    c->n_central = c->n_smaller_step = c->n_one_sided = c->n_discontinuous = c->n_wrong = 0;
    c->max_rel_err = 0.0;
    c->worst = -1;
    c->worst_analytic = c->worst_numeric = 0.0;
    c->used_check_value = 0;
    c->pass = 0;
    for (int i = 0; i < GHM_GRAD_CHECK_LEFT_OUT; i++) c->left_out[i] = -1;
    double v0;
    int rc = ghm_loss_forward_backward(l, x, labels, n, d, &v0, g, err);
    if (rc == 0 && l->ops->check_value) rc = check_eval(l, emb, x, labels, n, d, scratch, &v0, &c->used_check_value, err);
    double gmax = 0.0;
    for (size_t k = 0; rc == 0 && k < nd; k++) gmax = fmax(gmax, fabs((double)g[k]));
    const double floor = fmax(c->floor, c->scale_floor * gmax);
    static const double shrink[3] = {1.0, 1.0 / 8, 1.0 / 64};
    int n_left = 0;
    /* all coordinates, or max_coords of them spread evenly over the batch */
    const size_t n_check = c->max_coords > 0 && (size_t)c->max_coords < nd ? (size_t)c->max_coords : nd;
    c->n_coords = (int)n_check;
    for (size_t j = 0; rc == 0 && j < n_check; j++) {
        const size_t k = n_check == nd ? j : (size_t)((double)j * (double)nd / (double)n_check);
        if (c->progress && j % 64 == 0) c->progress(c->progress_ctx, (long)j, (long)n_check);
        const float orig = x[k];
        const double ana = g[k];
        double err_k = NAN, num_k = NAN;
        int verdict = 0; /* 1 central, 2 smaller step, 3 one-sided, 4 smooth but wrong, 5 discontinuous */
        double best_side = INFINITY, best_side_num = NAN;
        double prev_smooth = NAN; /* the central difference of the last step that looked smooth */
        for (int s = 0; s < 3 && verdict == 0; s++) {
            double h = c->h * shrink[s], vp, vm;
            x[k] = (float)(orig + h);
            double hp = (double)x[k] - orig;
            rc = check_eval(l, emb, x, labels, n, d, scratch, &vp, NULL, err);
            if (rc) break;
            x[k] = (float)(orig - h);
            double hm = orig - (double)x[k];
            rc = check_eval(l, emb, x, labels, n, d, scratch, &vm, NULL, err);
            x[k] = orig;
            if (rc) break;
            if (!(hp > 0 && hm > 0)) break; /* the step vanished in float: no smaller one either */
            double central = (vp - vm) / (hp + hm), fwd = (vp - v0) / hp, bwd = (v0 - vm) / hm;
            double r = rel_err(central, ana, floor);
            if (r <= c->tol) {
                verdict = s == 0 ? 1 : 2, err_k = r, num_k = central;
            } else if (isnan(r)) {
                verdict = 4, err_k = r, num_k = central;
            } else if (rel_err(fwd, bwd, floor) <= c->tol) {
                /* The one-sided differences agree and the gradient disagrees: smooth and wrong, or an event
                 * (a mined triplet switching) on BOTH sides within h that looks like agreement. The latter
                 * adds jump / h to the difference, so it changes when h shrinks (or vanishes, and the central
                 * difference agrees): WRONG only when two smooth-looking steps give the same derivative. */
                if (!isnan(prev_smooth) && rel_err(central, prev_smooth, floor) <= c->tol)
                    verdict = 4, err_k = r, num_k = central;
                prev_smooth = central;
            } else {
                /* a kink or jump within h: remember the better one-sided difference, try a smaller step */
                double rf = rel_err(fwd, ana, floor), rb = rel_err(bwd, ana, floor);
                if (fmin(rf, rb) < best_side) best_side = fmin(rf, rb), best_side_num = rf < rb ? fwd : bwd;
            }
        }
        if (rc == 0 && verdict == 0 && best_side <= c->tol) verdict = 3, err_k = best_side, num_k = best_side_num;
        x[k] = orig;
        if (rc) break;
        if (verdict == 0 && n_left < GHM_GRAD_CHECK_LEFT_OUT) c->left_out[n_left++] = (long)k;
        switch (verdict) {
        case 1: c->n_central++; break;
        case 2: c->n_smaller_step++; break;
        case 3: c->n_one_sided++; break;
        case 4: c->n_wrong++; break;
        default: c->n_discontinuous++; continue;
        }
        if (c->worst < 0 || !(err_k <= c->max_rel_err)) {
            c->max_rel_err = err_k; /* NaN sticks as the worst */
            c->worst = (int)k;
            c->worst_analytic = ana;
            c->worst_numeric = num_k;
        }
    }
    if (rc == 0 && c->progress) c->progress(c->progress_ctx, (long)n_check, (long)n_check);
    /* restore the loss's own gradients to the unperturbed point */
    if (rc == 0) rc = ghm_loss_forward_backward(l, emb, labels, n, d, &v0, scratch, err);
    free(x);
    free(g);
    free(scratch);
    if (rc) return rc;
    c->pass = c->n_wrong == 0 && !isnan(c->max_rel_err) && c->max_rel_err <= c->tol &&
              c->n_discontinuous <= c->max_discontinuous * c->n_coords;
    return 0;
}

int ghm_loss_check_grad(ghm_loss *l, const float *emb, const int *labels, int n, int d, double h, double floor,
                        double *max_rel_err, ghm_error *err)
{
    ghm_grad_check c;
    ghm_grad_check_init(&c);
    c.h = h;
    c.floor = floor;
    c.scale_floor = 0.0;
    int rc = ghm_loss_check_gradient(l, emb, labels, n, d, &c, err);
    if (rc) return rc;
    *max_rel_err = c.pass || c.n_wrong > 0 || isnan(c.max_rel_err) ? c.max_rel_err : 1.0;
    return 0;
}
