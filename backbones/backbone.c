/* The backbone wrapper: parameter resolution, seeded initialisation, optional
 * L2 normalisation of the embedding (and its backward), inference chunking. */
#include "backbone.h"

#include "nn/layers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ghm_backbone_create(const char *name, const ghm_params *params, int in_c, int in_h, int in_w, int dim,
                        int normalize, int max_batch, uint64_t seed, ghm_backbone **out, ghm_error *err)
{
    *out = NULL;
    const ghm_backbone_ops *ops = name ? ghm_backbone_find(name) : NULL;
    if (!ops) {
        const char *names[16];
        int n = ghm_backbone_count();
        char list[256] = "";
        for (int i = 0; i < n && i < 16; i++) {
            names[i] = ghm_backbone_at(i)->name;
            strncat(list, names[i], sizeof list - strlen(list) - 1);
            if (i + 1 < n) strncat(list, ", ", sizeof list - strlen(list) - 1);
        }
        const char *close = name ? ghm_closest_name(name, names, n < 16 ? n : 16) : NULL;
        if (close)
            return ghm_error_set(err, GHM_EINPUT, "unknown backbone '%s' (did you mean '%s'? known: %s)", name, close,
                                 list);
        return ghm_error_set(err, GHM_EINPUT, "unknown backbone '%s' (known: %s)", name ? name : "(null)", list);
    }
    if (in_c <= 0 || in_h <= 0 || in_w <= 0)
        return ghm_error_set(err, GHM_EINPUT, "backbone '%s': invalid input shape %dx%dx%d", name, in_c, in_h, in_w);
    if (dim <= 0) return ghm_error_set(err, GHM_EINPUT, "backbone '%s': embedding dim must be > 0, got %d", name, dim);
    if (max_batch <= 0)
        return ghm_error_set(err, GHM_EINPUT, "backbone '%s': max_batch must be > 0, got %d", name, max_batch);
    if (!ops->create || !ops->forward || !ops->backward || !ops->tensors || !ops->destroy)
        return ghm_error_set(err, GHM_EFAIL, "backbone '%s' is not implemented", name);

    ghm_backbone *b = (ghm_backbone *)calloc(1, sizeof *b);
    if (!b) return GHM_FAIL(err, GHM_ENOMEM, "out of memory");
    b->ops = ops;
    b->in_c = in_c;
    b->in_h = in_h;
    b->in_w = in_w;
    b->dim = dim;
    b->normalize = normalize ? 1 : 0;
    b->max_batch = max_batch;
    char owner[64];
    snprintf(owner, sizeof owner, "backbone '%s'", ops->name);
    int rc = ghm_params_resolve(ops->params, params, &b->params, owner, err);
    if (rc) {
        free(b);
        return rc;
    }
    b->raw = ghm_alloc_floats((size_t)max_batch * dim);
    b->draw = ghm_alloc_floats((size_t)max_batch * dim);
    if (!b->raw || !b->draw) {
        ghm_free(b->raw);
        ghm_free(b->draw);
        free(b);
        return GHM_FAIL(err, GHM_ENOMEM, "out of memory for backbone '%s' (max_batch %d, dim %d)", name, max_batch,
                        dim);
    }
    ghm_rng rng;
    ghm_rng_seed(&rng, seed, GHM_STREAM_INIT);
    rc = ops->create(b, &rng, err);
    if (rc) {
        if (b->impl) ops->destroy(b);
        ghm_free(b->raw);
        ghm_free(b->draw);
        free(b);
        return rc;
    }
    *out = b;
    return 0;
}

void ghm_backbone_destroy(ghm_backbone *b)
{
    if (!b) return;
    if (b->impl && b->ops && b->ops->destroy) b->ops->destroy(b);
    ghm_free(b->raw);
    ghm_free(b->draw);
    free(b);
}

int ghm_backbone_forward(ghm_backbone *b, const float *x, int n, float *emb, int train, ghm_error *err)
{
    if (n <= 0) return ghm_error_set(err, GHM_EINPUT, "backbone '%s': forward on %d images", b->ops->name, n);
    const size_t img = (size_t)b->in_c * b->in_h * b->in_w;
    const int D = b->dim;
    b->last_n = 0;
    if (train) {
        if (n > b->max_batch)
            return ghm_error_set(err, GHM_EINPUT, "backbone '%s': training batch of %d exceeds max_batch %d",
                                 b->ops->name, n, b->max_batch);
        int rc = b->ops->forward(b, x, n, b->raw, 1, err);
        if (rc) return rc;
        if (b->normalize)
            ghm_l2norm_forward(emb, b->raw, n, D);
        else
            memcpy(emb, b->raw, sizeof(float) * (size_t)n * D);
        b->last_n = n;
        return 0;
    }
    for (int i = 0; i < n; i += b->max_batch) {
        const int m = n - i < b->max_batch ? n - i : b->max_batch;
        float *e = emb + (size_t)i * D;
        int rc = b->ops->forward(b, x + (size_t)i * img, m, e, 0, err);
        if (rc) return rc;
        if (b->normalize) ghm_l2norm_forward(e, e, m, D); /* in place is safe: row norm first, then scale */
    }
    return 0;
}

int ghm_backbone_backward(ghm_backbone *b, const float *demb, ghm_error *err)
{
    if (b->last_n <= 0)
        return GHM_FAIL(err, GHM_EFAIL, "backbone '%s': backward without a preceding train forward", b->ops->name);
    const float *g = demb;
    if (b->normalize) {
        ghm_l2norm_backward(b->draw, demb, b->raw, b->last_n, b->dim);
        g = b->draw;
    }
    int rc = b->ops->backward(b, g, err);
    b->last_n = 0;
    return rc;
}

int ghm_backbone_tensors(ghm_backbone *b, ghm_tensor ***tensors) { return b->ops->tensors(b, tensors); }

size_t ghm_backbone_param_count(ghm_backbone *b)
{
    ghm_tensor **t;
    int n = ghm_backbone_tensors(b, &t);
    size_t s = 0;
    for (int i = 0; i < n; i++) s += t[i]->n;
    return s;
}

void ghm_backbone_flops(ghm_backbone *b, double *fwd, double *train)
{
    *fwd = *train = 0.0;
    if (b && b->ops->flops) b->ops->flops(b, fwd, train);
}
