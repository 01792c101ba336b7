/* Optimizers (SGD with momentum / Nesterov, Adam, AdamW) and learning-rate
 * schedules. Semantics follow PyTorch (torch.optim.SGD / Adam / AdamW with
 * dampening 0, amsgrad off); see nn/optim.h.
 *
 * State per tensor: SGD keeps one momentum buffer v (n); Adam(W) keeps the
 * first and second moments m, v (n). Buffers start at zero, which for SGD with
 * dampening 0 is the same as PyTorch's "buf = g on the first step".
 * The update arithmetic is done in float32 like the frameworks, with the
 * scalar factors (bias corrections, lr) computed in double.
 */
#include "nn/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *const ghm_optim_names[] = {"sgd", "adam", "adamw", NULL};
const char *const ghm_schedule_names[] = {"constant", "step", "cosine", NULL};

void ghm_optim_config_default(ghm_optim_config *c)
{
    memset(c, 0, sizeof *c);
    c->kind = GHM_OPT_ADAM;
    c->lr = 1e-3;
    c->momentum = 0.9;
    c->nesterov = 0;
    c->weight_decay = 0.0;
    c->beta1 = 0.9;
    c->beta2 = 0.999;
    c->eps = 1e-8;
}

void ghm_schedule_config_default(ghm_schedule_config *c)
{
    memset(c, 0, sizeof *c);
    c->kind = GHM_SCHED_CONSTANT;
    c->warmup_epochs = 0.0;
    c->step_epochs = 10.0;
    c->gamma = 0.1;
    c->min_lr_ratio = 0.0;
}

/* Learning rate at fractional epoch t of total_epochs.
 *  - warm-up: for t < warmup_epochs the rate is base * t / warmup_epochs
 *    (linear from 0), multiplied by the schedule's own factor at t; so the
 *    warm-up reaches exactly the schedule value at t = warmup_epochs.
 *  - constant: base.
 *  - step: base * gamma^floor(t / step_epochs).
 *  - cosine: annealed over [warmup_epochs, total_epochs] from base to
 *    base * min_lr_ratio: base * (r + (1 - r) * (1 + cos(pi * p)) / 2) with
 *    p = (t - warmup) / (total - warmup) clamped to [0, 1]. */
double ghm_schedule_lr(const ghm_schedule_config *s, double base_lr, double t, double total_epochs)
{
    if (t < 0) t = 0;
    double warm = s->warmup_epochs > 0 ? s->warmup_epochs : 0.0;
    double factor = 1.0;
    switch (s->kind) {
    case GHM_SCHED_STEP: {
        double se = s->step_epochs > 0 ? s->step_epochs : 10.0;
        double k = floor(t / se + 1e-9); /* tolerance: t = 2*se computed as a ratio of ints */
        factor = pow(s->gamma, k);
        break;
    }
    case GHM_SCHED_COSINE: {
        double span = total_epochs - warm;
        double p = span > 0 ? (t - warm) / span : 1.0;
        if (p < 0) p = 0;
        if (p > 1) p = 1;
        double r = s->min_lr_ratio;
        factor = r + (1.0 - r) * 0.5 * (1.0 + cos(M_PI * p));
        break;
    }
    default:
        factor = 1.0;
        break;
    }
    if (warm > 0 && t < warm) factor *= t / warm;
    return base_lr * factor;
}

struct ghm_optimizer {
    ghm_optim_config c;
    int n;              /* number of tensors */
    ghm_tensor **t;     /* (n) tensors, not owned */
    float **m;          /* (n) first moment (Adam) or momentum buffer (SGD) per tensor */
    float **v;          /* (n) second moment (Adam), NULL for SGD */
    long long steps;    /* number of steps taken (Adam bias correction) */
};

void ghm_optimizer_destroy(ghm_optimizer *o)
{
    if (!o) return;
    for (int i = 0; i < o->n; i++) {
        if (o->m) ghm_free(o->m[i]);
        if (o->v) ghm_free(o->v[i]);
    }
    free(o->m);
    free(o->v);
    free(o->t);
    free(o);
}

int ghm_optimizer_create(const ghm_optim_config *c, ghm_tensor **tensors, int n_tensors, ghm_optimizer **out,
                         ghm_error *err)
{
    *out = NULL;
    if (!c) return GHM_FAIL(err, GHM_EINPUT, "optimizer: NULL config");
    if (c->kind < GHM_OPT_SGD || c->kind > GHM_OPT_ADAMW)
        return ghm_error_set(err, GHM_EINPUT, "optimizer: unknown kind %d (expected sgd, adam or adamw)", c->kind);
    if (!(c->lr >= 0) || !isfinite(c->lr))
        return ghm_error_set(err, GHM_EINPUT, "optimizer: lr must be a finite number >= 0, got %g", c->lr);
    if (!(c->weight_decay >= 0) || !isfinite(c->weight_decay))
        return ghm_error_set(err, GHM_EINPUT, "optimizer: weight_decay must be >= 0, got %g", c->weight_decay);
    if (c->kind == GHM_OPT_SGD) {
        if (!(c->momentum >= 0 && c->momentum < 1))
            return ghm_error_set(err, GHM_EINPUT, "optimizer: momentum must be in [0, 1), got %g", c->momentum);
        if (c->nesterov && c->momentum <= 0)
            return ghm_error_set(err, GHM_EINPUT, "optimizer: nesterov needs momentum > 0");
    } else {
        if (!(c->beta1 >= 0 && c->beta1 < 1))
            return ghm_error_set(err, GHM_EINPUT, "optimizer: beta1 must be in [0, 1), got %g", c->beta1);
        if (!(c->beta2 >= 0 && c->beta2 < 1))
            return ghm_error_set(err, GHM_EINPUT, "optimizer: beta2 must be in [0, 1), got %g", c->beta2);
        if (!(c->eps > 0))
            return ghm_error_set(err, GHM_EINPUT, "optimizer: eps must be > 0, got %g", c->eps);
    }
    if (n_tensors < 0 || (n_tensors > 0 && !tensors))
        return GHM_FAIL(err, GHM_EINPUT, "optimizer: bad tensor list (n = %d)", n_tensors);

    ghm_optimizer *o = (ghm_optimizer *)calloc(1, sizeof *o);
    if (!o) return GHM_FAIL(err, GHM_ENOMEM, "optimizer: out of memory");
    o->c = *c;
    o->n = n_tensors;
    size_t cnt = n_tensors > 0 ? (size_t)n_tensors : 1;
    o->t = (ghm_tensor **)calloc(cnt, sizeof *o->t);
    o->m = (float **)calloc(cnt, sizeof *o->m);
    if (c->kind != GHM_OPT_SGD) o->v = (float **)calloc(cnt, sizeof *o->v);
    if (!o->t || !o->m || (c->kind != GHM_OPT_SGD && !o->v)) goto oom;
    for (int i = 0; i < n_tensors; i++) {
        ghm_tensor *t = tensors[i];
        if (!t || (t->n > 0 && (!t->data || !t->grad))) {
            ghm_optimizer_destroy(o);
            return GHM_FAIL(err, GHM_EINPUT, "optimizer: tensor %d (%s) has no data or gradient", i,
                            t ? t->name : "NULL");
        }
        o->t[i] = t;
        if (t->n == 0) continue;
        int need_m = c->kind != GHM_OPT_SGD || c->momentum > 0;
        if (need_m && !(o->m[i] = ghm_alloc_floats(t->n))) goto oom;
        if (o->v && !(o->v[i] = ghm_alloc_floats(t->n))) goto oom;
    }
    *out = o;
    return 0;
oom:
    ghm_optimizer_destroy(o);
    return GHM_FAIL(err, GHM_ENOMEM, "optimizer: out of memory for the state of %d tensors", n_tensors);
}

/* SGD: g' = g + wd*w; v = mu*v + g'; step = nesterov ? g' + mu*v : v; w -= lr*step. */
static void sgd_tensor(const ghm_optim_config *c, ghm_tensor *t, float *buf, double lr)
{
    const float wd = t->decay ? (float)c->weight_decay : 0.0f;
    const float mu = (float)c->momentum;
    const float flr = (float)lr;
    float *w = t->data;
    const float *g = t->grad;
    const size_t n = t->n;
    if (!buf) { /* momentum 0 */
        for (size_t i = 0; i < n; i++) w[i] -= flr * (g[i] + wd * w[i]);
        return;
    }
    if (c->nesterov) {
        for (size_t i = 0; i < n; i++) {
            float gi = g[i] + wd * w[i];
            float vi = mu * buf[i] + gi;
            buf[i] = vi;
            w[i] -= flr * (gi + mu * vi);
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            float gi = g[i] + wd * w[i];
            float vi = mu * buf[i] + gi;
            buf[i] = vi;
            w[i] -= flr * vi;
        }
    }
}

/* Adam / AdamW (PyTorch form):
 *   Adam:  g' = g + wd*w.      AdamW: w = w * (1 - lr*wd), g' = g.
 *   m = b1*m + (1-b1)*g';  v = b2*v + (1-b2)*g'^2;
 *   w -= lr * (m / bc1) / (sqrt(v / bc2) + eps),  bc_k = 1 - b_k^t. */
static void adam_tensor(const ghm_optim_config *c, ghm_tensor *t, float *m, float *v, double lr, long long step)
{
    const int decoupled = c->kind == GHM_OPT_ADAMW;
    const double wd = t->decay ? c->weight_decay : 0.0;
    const float l2 = decoupled ? 0.0f : (float)wd;
    const float shrink = decoupled ? (float)(1.0 - lr * wd) : 1.0f;
    const float b1 = (float)c->beta1, b2 = (float)c->beta2;
    const float ob1 = (float)(1.0 - c->beta1), ob2 = (float)(1.0 - c->beta2);
    const double bc1 = 1.0 - pow(c->beta1, (double)step);
    const double bc2 = 1.0 - pow(c->beta2, (double)step);
    const float step_size = (float)(lr / bc1);
    const float inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
    const float eps = (float)c->eps;
    float *restrict w = t->data;
    const float *restrict g = t->grad;
    float *restrict mm = m, *restrict vv = v;
    const long n = (long)t->n;
    /* element-wise, so vector lanes and threads give the same bits as one scalar loop (no
     * contraction into FMAs under -std=c11; sqrtf is correctly rounded either way: the file is
     * built with -fno-math-errno so that it vectorises). Threads for large tensors only. */
#pragma omp parallel for simd schedule(static) if (n >= 65536)
    for (long i = 0; i < n; i++) {
        float gi = g[i] + l2 * w[i];
        float mi = b1 * mm[i] + ob1 * gi;
        float vi = b2 * vv[i] + ob2 * gi * gi;
        mm[i] = mi;
        vv[i] = vi;
        float denom = sqrtf(vi) * inv_sqrt_bc2 + eps;
        w[i] = w[i] * shrink - step_size * mi / denom;
    }
}

void ghm_optimizer_step(ghm_optimizer *o, double lr)
{
    if (!o) return;
    o->steps++;
    for (int i = 0; i < o->n; i++) {
        ghm_tensor *t = o->t[i];
        if (t->n == 0) continue;
        double tlr = lr * t->lr_mult;
        if (o->c.kind == GHM_OPT_SGD)
            sgd_tensor(&o->c, t, o->m[i], tlr);
        else
            adam_tensor(&o->c, t, o->m[i], o->v[i], tlr, o->steps);
    }
}
