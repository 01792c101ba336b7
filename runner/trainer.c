/* One training step and inference over a subset (see runner/trainer.h).
 *
 * The trainer owns the embedding and embedding-gradient buffers (batch, dim)
 * and one optimizer over the backbone's tensors followed by the loss's own
 * tensors (proxies, centres). A step never updates anything unless the loss
 * value, the embedding gradient and every parameter gradient are finite.
 */
#include "runner/trainer.h"

#include "nn/layers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct ghm_trainer {
    ghm_backbone *b;       /* not owned */
    ghm_loss *l;           /* not owned */
    ghm_optimizer *opt;    /* over tensors[] */
    int batch, dim;        /* largest batch, embedding size */
    float *emb;            /* (batch, dim) embeddings of the current batch */
    float *demb;           /* (batch, dim) dL/demb */
    ghm_tensor **tensors;  /* (n_tensors) backbone tensors, then loss tensors */
    int n_tensors;
    double last_lr;        /* learning rate of the last step (NaN before any) */
};

void ghm_trainer_destroy(ghm_trainer *t)
{
    if (!t) return;
    ghm_optimizer_destroy(t->opt);
    ghm_free(t->emb);
    ghm_free(t->demb);
    free(t->tensors);
    free(t);
}

int ghm_trainer_create(ghm_backbone *b, ghm_loss *l, const ghm_optim_config *oc, int batch, ghm_trainer **out,
                       ghm_error *err)
{
    *out = NULL;
    if (!b || !l || !oc) return GHM_FAIL(err, GHM_EINPUT, "trainer: NULL backbone, loss or optimizer config");
    if (batch < 1) return ghm_error_set(err, GHM_EINPUT, "trainer: batch must be >= 1, got %d", batch);
    if (batch > b->max_batch)
        return ghm_error_set(err, GHM_EINPUT, "trainer: batch %d exceeds the backbone's max_batch %d", batch,
                             b->max_batch);
    if (l->dim != b->dim)
        return ghm_error_set(err, GHM_EINPUT, "trainer: loss dimension %d differs from backbone dimension %d",
                             l->dim, b->dim);
    ghm_trainer *t = (ghm_trainer *)calloc(1, sizeof *t);
    if (!t) return GHM_FAIL(err, GHM_ENOMEM, "trainer: out of memory");
    t->b = b;
    t->l = l;
    t->batch = batch;
    t->last_lr = NAN;
    t->dim = b->dim;
    size_t n = (size_t)batch * (size_t)b->dim;
    t->emb = ghm_alloc_floats(n);
    t->demb = ghm_alloc_floats(n);
    ghm_tensor **bt = NULL, **lt = NULL;
    int nb = ghm_backbone_tensors(b, &bt);
    int nl = ghm_loss_tensors(l, &lt);
    if (nb < 0 || nl < 0) {
        ghm_trainer_destroy(t);
        return GHM_FAIL(err, GHM_EFAIL, "trainer: could not list the tensors of the backbone (%d) or loss (%d)", nb,
                        nl);
    }
    t->n_tensors = nb + nl;
    t->tensors = (ghm_tensor **)calloc((size_t)(t->n_tensors > 0 ? t->n_tensors : 1), sizeof *t->tensors);
    if (!t->emb || !t->demb || !t->tensors) {
        ghm_trainer_destroy(t);
        return GHM_FAIL(err, GHM_ENOMEM, "trainer: out of memory for (%d, %d) embedding buffers", batch, b->dim);
    }
    for (int i = 0; i < nb; i++) t->tensors[i] = bt[i];
    for (int i = 0; i < nl; i++) t->tensors[nb + i] = lt[i];
    int rc = ghm_optimizer_create(oc, t->tensors, t->n_tensors, &t->opt, err);
    if (rc) {
        ghm_trainer_destroy(t);
        return ghm_error_prefix(err, "trainer");
    }
    *out = t;
    return 0;
}

static int step(ghm_trainer *t, const float *x, const int *labels, int n, double lr, double *loss, ghm_error *err);

int ghm_trainer_step(ghm_trainer *t, const float *x, const int *labels, int n, double lr, double *loss,
                     ghm_error *err)
{
    if (loss) *loss = NAN;
    if (n < 1 || n > t->batch)
        return ghm_error_set(err, GHM_EINPUT, "trainer: step on %d images, expected 1..%d", n, t->batch);
    if (!isfinite(lr)) return ghm_error_set(err, GHM_EINPUT, "trainer: learning rate is not finite");
    /* OpenBLAS single-threaded for the whole step: the layers split their
     * products over the OpenMP threads, and the loss's small products must not
     * wake OpenBLAS's own (spinning) pool either (nn/layers.h). */
    const int blas = ghm_blas_serial_begin();
    int rc = step(t, x, labels, n, lr, loss, err);
    ghm_blas_serial_end(blas);
    return rc;
}

static int step(ghm_trainer *t, const float *x, const int *labels, int n, double lr, double *loss, ghm_error *err)
{
    int rc = ghm_backbone_forward(t->b, x, n, t->emb, 1, err);
    if (rc) return rc;
    /* A forward pass that already produced NaN/Inf makes every later value meaningless. */
    if (!ghm_all_finite(t->emb, (size_t)n * (size_t)t->dim))
        return ghm_error_set(err, GHM_ENUM, "non-finite embedding from backbone '%s'", t->b->ops->name);
    double value = NAN;
    rc = ghm_loss_forward_backward(t->l, t->emb, labels, n, t->dim, &value, t->demb, err);
    if (rc) return rc;
    if (loss) *loss = value;
    if (!isfinite(value))
        return ghm_error_set(err, GHM_ENUM, "non-finite loss (%g) from loss '%s'", value, t->l->ops->name);
    if (!ghm_all_finite(t->demb, (size_t)n * (size_t)t->dim))
        return ghm_error_set(err, GHM_ENUM, "non-finite gradient in embeddings (from loss '%s')", t->l->ops->name);
    rc = ghm_backbone_backward(t->b, t->demb, err);
    if (rc) return rc;
    for (int i = 0; i < t->n_tensors; i++) {
        const ghm_tensor *p = t->tensors[i];
        if (!ghm_all_finite(p->grad, p->n)) return ghm_error_set(err, GHM_ENUM, "non-finite gradient in %s", p->name);
    }
    ghm_optimizer_step(t->opt, lr);
    t->last_lr = lr;
    return 0;
}

double ghm_trainer_last_lr(const ghm_trainer *t) { return t->last_lr; }

int ghm_embed_subset(ghm_backbone *b, const ghm_subset *s, float *emb, ghm_error *err)
{
    const ghm_images *im = &s->img;
    if (im->n == 0) return 0;
    if (im->c != b->in_c || im->h != b->in_h || im->w != b->in_w)
        return ghm_error_set(err, GHM_EINPUT, "embed: images are (%d, %d, %d) but the backbone expects (%d, %d, %d)",
                             im->c, im->h, im->w, b->in_c, b->in_h, b->in_w);
    int chunk = b->max_batch > 0 ? b->max_batch : 1;
    if (chunk > im->n) chunk = im->n;
    size_t per = (size_t)im->c * (size_t)im->h * (size_t)im->w;
    float *x = ghm_alloc_floats((size_t)chunk * per); /* (chunk, C, H, W) */
    if (!x) return GHM_FAIL(err, GHM_ENOMEM, "embed: out of memory for a chunk of %d images", chunk);
    int rc = 0;
    const int blas = ghm_blas_serial_begin(); /* one thread pool (see ghm_trainer_step) */
    for (int start = 0; start < im->n; start += chunk) {
        int m = im->n - start < chunk ? im->n - start : chunk;
        ghm_subset_range(s, start, m, x);
        rc = ghm_backbone_forward(b, x, m, emb + (size_t)start * (size_t)b->dim, 0, err);
        if (rc) break;
    }
    ghm_blas_serial_end(blas);
    ghm_free(x);
    return rc;
}
