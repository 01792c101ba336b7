/* STUB: to be implemented. */
#include "loss.h"

static const ghm_param_spec params[] = {{NULL, 0, 0, 0, NULL, NULL, 0, 0}};

static int create(ghm_loss *l, ghm_rng *rng, ghm_error *err)
{
    (void)l;
    (void)rng;
    return ghm_error_set(err, GHM_EFAIL, "loss 'normalized_softmax' is not implemented yet");
}

const ghm_loss_ops ghm_loss_normalized_softmax = {"normalized_softmax", "not implemented yet", params, create, NULL, NULL, NULL, 0};
