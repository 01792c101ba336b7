/* The backbone interface: images (B, C, H, W) -> embeddings (B, D).
 *
 * Every backbone ends in a linear layer to `dim`; optional L2 normalisation of
 * the embedding is applied by the shared wrapper (backbones/backbone.c), not by
 * each backbone. The wrapper also owns the forward/backward bookkeeping, so a
 * backbone implements only its own layers.
 *
 * Inputs are float32 (B, C, H, W), pixel values scaled to [0, 1].
 */
#ifndef GHM_BACKBONE_H
#define GHM_BACKBONE_H

#include "../core/error.h"
#include "../core/params.h"
#include "../core/rng.h"
#include "../core/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ghm_backbone ghm_backbone;

typedef struct ghm_backbone_ops {
    const char *name;             /* "convnet" */
    const char *doc;              /* one line */
    const ghm_param_spec *params; /* extra parameters (hidden sizes, widths); terminated by {NULL} */
    /* Allocate b->impl and parameters for inputs (b->in_c, b->in_h, b->in_w),
     * batches up to b->max_batch, output b->dim; initialise weights from rng.
     * Reject unsupported input shapes with GHM_EINPUT. */
    int (*create)(ghm_backbone *b, ghm_rng *rng, ghm_error *err);
    /* x (n, C, H, W) -> out (n, dim) (pre-normalisation). train = 1 caches what
     * backward needs and uses batch statistics for batch norm; train = 0 is
     * inference (running statistics). n <= max_batch. */
    int (*forward)(ghm_backbone *b, const float *x, int n, float *out, int train, ghm_error *err);
    /* dout (n, dim) -> parameter gradients (overwritten) for the last train forward. */
    int (*backward)(ghm_backbone *b, const float *dout, ghm_error *err);
    /* Number of parameter tensors; *tensors points at an array owned by the backbone. */
    int (*tensors)(ghm_backbone *b, ghm_tensor ***tensors);
    void (*destroy)(ghm_backbone *b);
    /* Floating-point operations per image of the matrix products (convolutions
     * and linear layers; 2 per multiply-add): *fwd of one forward pass, *train
     * of one training step's forward + backward (weight and input gradients;
     * none for the input's own gradient), as the backbone's kernels run them
     * now (the residual network's inference on Winograd counts the products
     * of the transformed tiles). Element-wise layers are not counted.
     * May be NULL (unknown). */
    void (*flops)(ghm_backbone *b, double *fwd, double *train);
} ghm_backbone_ops;

struct ghm_backbone {
    const ghm_backbone_ops *ops;
    ghm_params params; /* resolved extra parameters */
    int in_c, in_h, in_w; /* input shape */
    int dim;           /* embedding size */
    int normalize;     /* 1: L2-normalise the embedding (done by the wrapper) */
    int max_batch;     /* largest n for forward */
    void *impl;        /* backbone-private state */
    /* wrapper state for normalisation backward */
    float *raw;        /* (max_batch, dim) last pre-normalisation output */
    float *draw;       /* (max_batch, dim) scratch */
    int last_n;
};

int ghm_backbone_count(void);
const ghm_backbone_ops *ghm_backbone_at(int i);
const ghm_backbone_ops *ghm_backbone_find(const char *name);

int ghm_backbone_create(const char *name, const ghm_params *params, int in_c, int in_h, int in_w, int dim,
                        int normalize, int max_batch, uint64_t seed, ghm_backbone **out, ghm_error *err);
void ghm_backbone_destroy(ghm_backbone *b);
/* emb (n, dim), normalised when b->normalize. Any n: internally chunks by max_batch when train == 0. */
int ghm_backbone_forward(ghm_backbone *b, const float *x, int n, float *emb, int train, ghm_error *err);
/* demb (n, dim) for the last train forward -> parameter gradients. */
int ghm_backbone_backward(ghm_backbone *b, const float *demb, ghm_error *err);
int ghm_backbone_tensors(ghm_backbone *b, ghm_tensor ***tensors);
/* Flops per image (see ghm_backbone_ops.flops); both 0 when the backbone does not count them. */
void ghm_backbone_flops(ghm_backbone *b, double *fwd, double *train);
/* Total number of trainable scalars. */
size_t ghm_backbone_param_count(ghm_backbone *b);

#ifdef __cplusplus
}
#endif
#endif
