/* Optimizers (SGD with momentum / Nesterov, Adam, AdamW) and learning-rate
 * schedules (constant, step, cosine; optional linear warm-up).
 *
 * Semantics follow the common frameworks (PyTorch):
 *  - SGD: g' = g + wd*w; v = mu*v + g'; step = nesterov ? g' + mu*v : v; w -= lr*step.
 *  - Adam: g' = g + wd*w (L2 in the gradient), bias-corrected moments.
 *  - AdamW: decoupled decay w -= lr*wd*w, then the Adam step on g.
 * Weight decay applies only to tensors with decay = 1. Each tensor's lr is
 * multiplied by its lr_mult.
 */
#ifndef GHM_OPTIM_H
#define GHM_OPTIM_H

#include "core/error.h"
#include "core/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

enum { GHM_OPT_SGD = 0, GHM_OPT_ADAM = 1, GHM_OPT_ADAMW = 2 };
enum { GHM_SCHED_CONSTANT = 0, GHM_SCHED_STEP = 1, GHM_SCHED_COSINE = 2 };

typedef struct ghm_optim_config {
    int kind;            /* GHM_OPT_* */
    double lr;           /* base learning rate (default 1e-3) */
    double momentum;     /* SGD (default 0.9) */
    int nesterov;        /* SGD (default 0) */
    double weight_decay; /* default 0 */
    double beta1, beta2, eps; /* Adam(W) (0.9, 0.999, 1e-8) */
} ghm_optim_config;

typedef struct ghm_schedule_config {
    int kind;             /* GHM_SCHED_* */
    double warmup_epochs; /* linear warm-up from 0 over this many epochs (fractional ok) */
    double step_epochs;   /* step: multiply by gamma every step_epochs epochs (default 10) */
    double gamma;         /* step: factor (default 0.1) */
    double min_lr_ratio;  /* cosine: final lr = base * min_lr_ratio (default 0) */
} ghm_schedule_config;

void ghm_optim_config_default(ghm_optim_config *c);
void ghm_schedule_config_default(ghm_schedule_config *c);

/* Names for parsing/printing: "sgd" "adam" "adamw"; "constant" "step" "cosine". Index = enum. */
extern const char *const ghm_optim_names[];    /* NULL-terminated */
extern const char *const ghm_schedule_names[]; /* NULL-terminated */

/* Learning rate at (fractional) epoch position t = step / steps_per_epoch,
 * out of total_epochs. */
double ghm_schedule_lr(const ghm_schedule_config *s, double base_lr, double t, double total_epochs);

typedef struct ghm_optimizer ghm_optimizer;
int ghm_optimizer_create(const ghm_optim_config *c, ghm_tensor **tensors, int n_tensors, ghm_optimizer **out,
                         ghm_error *err);
/* One update of every tensor from its grad with learning rate lr. */
void ghm_optimizer_step(ghm_optimizer *o, double lr);
void ghm_optimizer_destroy(ghm_optimizer *o);

#ifdef __cplusplus
}
#endif
#endif
