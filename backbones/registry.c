/* The backbone registry. Adding a backbone = its file and one line in the list
 * below (which declares its table and enters it in the registry); the tests
 * iterate over the registry (tests/test_backbones.cc: every entry is
 * gradient-checked by finite differences). */
#include "backbone.h"

#include <string.h>

/* X(name): the backbone's ghm_backbone_ops is ghm_backbone_<name>, defined in its file. */
#define GHM_BACKBONE_LIST(X)                                                 \
    X(mlp)      /* flatten -> two hidden ReLU layers -> D */                 \
    X(convnet)  /* small CNN: conv + pool stages, fully connected head */    \
    X(resnet)   /* small ResNet with batch norm */

#define GHM_BACKBONE_DECLARE(n) extern const ghm_backbone_ops ghm_backbone_##n;
GHM_BACKBONE_LIST(GHM_BACKBONE_DECLARE)
#define GHM_BACKBONE_ENTRY(n) &ghm_backbone_##n,
static const ghm_backbone_ops *const registry[] = {GHM_BACKBONE_LIST(GHM_BACKBONE_ENTRY)};

int ghm_backbone_count(void) { return (int)(sizeof registry / sizeof registry[0]); }

const ghm_backbone_ops *ghm_backbone_at(int i) { return (i >= 0 && i < ghm_backbone_count()) ? registry[i] : NULL; }

const ghm_backbone_ops *ghm_backbone_find(const char *name)
{
    for (int i = 0; i < ghm_backbone_count(); i++)
        if (strcmp(registry[i]->name, name) == 0) return registry[i];
    return NULL;
}
