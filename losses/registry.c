/* The loss registry: one line per loss. Adding a loss = one file + one line here. */
#include "loss.h"

#include <string.h>

extern const ghm_loss_ops ghm_loss_ghm, ghm_loss_contrastive, ghm_loss_triplet, ghm_loss_npair,
    ghm_loss_lifted_structure, ghm_loss_multi_similarity, ghm_loss_margin, ghm_loss_circle, ghm_loss_nca,
    ghm_loss_proxy_nca, ghm_loss_proxy_anchor, ghm_loss_normalized_softmax, ghm_loss_arcface, ghm_loss_supcon,
    ghm_loss_softmax;

static const ghm_loss_ops *const registry[] = {
    &ghm_loss_ghm,               /* GHM-Loss (this project's formulation) */
    &ghm_loss_contrastive,       /* Hadsell et al. 2006 */
    &ghm_loss_triplet,           /* Schroff et al. 2015 */
    &ghm_loss_npair,             /* Sohn 2016 */
    &ghm_loss_lifted_structure,  /* Song et al. 2016 */
    &ghm_loss_multi_similarity,  /* Wang et al. 2019 */
    &ghm_loss_margin,            /* Wu et al. 2017 */
    &ghm_loss_circle,            /* Sun et al. 2020 */
    &ghm_loss_nca,               /* Goldberger et al. 2004 */
    &ghm_loss_proxy_nca,         /* Movshovitz-Attias et al. 2017 */
    &ghm_loss_proxy_anchor,      /* Kim et al. 2020 */
    &ghm_loss_normalized_softmax,/* Zhai & Wu 2018 */
    &ghm_loss_arcface,           /* Deng et al. 2019 */
    &ghm_loss_supcon,            /* Khosla et al. 2020 */
    &ghm_loss_softmax,           /* cross-entropy classifier baseline */
};

int ghm_loss_count(void) { return (int)(sizeof registry / sizeof registry[0]); }

const ghm_loss_ops *ghm_loss_at(int i) { return (i >= 0 && i < ghm_loss_count()) ? registry[i] : NULL; }

const ghm_loss_ops *ghm_loss_find(const char *name)
{
    for (int i = 0; i < ghm_loss_count(); i++)
        if (strcmp(registry[i]->name, name) == 0) return registry[i];
    return NULL;
}
