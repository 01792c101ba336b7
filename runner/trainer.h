/* One training step and inference, shared by `ghm run` and `ghm bench`.
 *
 * A step: backbone forward (train mode) -> L2 norm (wrapper) -> loss
 * forward_backward -> backbone backward -> finiteness check of the loss and of
 * every gradient -> optimizer step on backbone and loss tensors.
 */
#ifndef GHM_TRAINER_H
#define GHM_TRAINER_H

#include "../backbones/backbone.h"
#include "../core/error.h"
#include "nn/optim.h"
#include "../datasets/dataset.h"
#include "../losses/loss.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ghm_trainer ghm_trainer;

/* batch: the largest batch that will be stepped. The trainer does not own b or l. */
int ghm_trainer_create(ghm_backbone *b, ghm_loss *l, const ghm_optim_config *oc, int batch, ghm_trainer **out,
                       ghm_error *err);
void ghm_trainer_destroy(ghm_trainer *t);
/* One step on x (n, C, H, W), labels (n) with learning rate lr. *loss gets the
 * loss value. A non-finite loss or gradient returns GHM_ENUM ("non-finite loss"
 * / "non-finite gradient in <tensor name>") without updating any parameter. */
int ghm_trainer_step(ghm_trainer *t, const float *x, const int *labels, int n, double lr, double *loss,
                     ghm_error *err);

/* The learning rate the last successful step gave the optimizer (NaN before any). */
double ghm_trainer_last_lr(const ghm_trainer *t);

/* Embed a whole subset in inference mode: emb (s->img.n, b->dim). */
int ghm_embed_subset(ghm_backbone *b, const ghm_subset *s, float *emb, ghm_error *err);

#ifdef __cplusplus
}
#endif
#endif
