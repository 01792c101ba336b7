/* The backbone registry: one line per backbone. */
#include "backbone.h"

#include <string.h>

extern const ghm_backbone_ops ghm_backbone_mlp, ghm_backbone_convnet, ghm_backbone_resnet;

static const ghm_backbone_ops *const registry[] = {&ghm_backbone_mlp, &ghm_backbone_convnet, &ghm_backbone_resnet};

int ghm_backbone_count(void) { return (int)(sizeof registry / sizeof registry[0]); }

const ghm_backbone_ops *ghm_backbone_at(int i) { return (i >= 0 && i < ghm_backbone_count()) ? registry[i] : NULL; }

const ghm_backbone_ops *ghm_backbone_find(const char *name)
{
    for (int i = 0; i < ghm_backbone_count(); i++)
        if (strcmp(registry[i]->name, name) == 0) return registry[i];
    return NULL;
}
