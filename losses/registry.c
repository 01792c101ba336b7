/* The loss registry, and creation of a loss by name.
 *
 * Adding a loss (docs/adding_a_loss.md) = its file, two lines here (its
 * `extern` declaration and its table entry), and its row in README's loss
 * table (regenerated with `ghm list losses --markdown`; the Docs tests check
 * it). The generic tests iterate over this table. */
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

int ghm_loss_create(const char *name, const ghm_params *params, int dim, int n_classes, uint64_t seed,
                    ghm_loss **out, ghm_error *err)
{
    *out = NULL;
    const ghm_loss_ops *ops = ghm_loss_find(name);
    if (!ops) {
        const char *names[sizeof registry / sizeof registry[0]];
        for (int i = 0; i < ghm_loss_count(); i++) names[i] = registry[i]->name;
        const char *close = ghm_closest_name(name, names, ghm_loss_count());
        if (close) return ghm_error_set(err, GHM_EINPUT, "unknown loss '%s' (did you mean '%s'?)", name, close);
        return ghm_error_set(err, GHM_EINPUT, "unknown loss '%s' (see `ghm list losses`)", name);
    }
    return ghm_loss_create_ops(ops, params, dim, n_classes, seed, out, err);
}
