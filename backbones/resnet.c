/* STUB: to be implemented. */
#include "backbone.h"

static const ghm_param_spec params[] = {{NULL, 0, 0, 0, NULL, NULL, 0, 0}};

static int create(ghm_backbone *b, ghm_rng *rng, ghm_error *err)
{
    (void)b;
    (void)rng;
    return ghm_error_set(err, GHM_EFAIL, "backbone 'resnet' is not implemented yet");
}

const ghm_backbone_ops ghm_backbone_resnet = {"resnet", "not implemented yet", params, create, NULL, NULL, NULL, NULL};
