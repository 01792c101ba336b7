/* Aligned float buffers and trainable parameter tensors.
 *
 * A ghm_tensor is a named trainable parameter: its values and the gradient the
 * last backward pass wrote. Backbones and losses with trainable state (proxies,
 * class centres, margins) expose arrays of ghm_tensor* to the optimizer.
 * Gradients are OVERWRITTEN (not accumulated) by each backward pass of their
 * owner, so no zeroing step is needed between iterations.
 */
#ifndef GHM_TENSOR_H
#define GHM_TENSOR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GHM_ALIGN 64

/* Largest embedding dimension ghm accepts: backbone.embedding_dim of an
 * experiment file, --dim of `ghm bench train|embed|eval|pdist`. */
#define GHM_MAX_EMBEDDING_DIM 65536

/* 64-byte aligned allocation (zero-filled). Returns NULL on failure or n == 0. Free with ghm_free. */
void *ghm_alloc(size_t bytes);
float *ghm_alloc_floats(size_t n);
void ghm_free(void *p);

typedef struct ghm_tensor {
    char name[48];  /* "conv1.weight", "proxies", ... */
    float *data;    /* (n) values, owned by the tensor */
    float *grad;    /* (n) gradient, owned by the tensor */
    size_t n;       /* number of elements */
    int ndim;       /* number of dims in shape */
    int shape[4];   /* logical shape, row-major */
    int decay;      /* 1: weight decay applies (weights); 0: exempt (biases, BN affine, learnable margins) */
    double lr_mult; /* per-tensor learning-rate multiplier (1.0 by default; proxies often use larger) */
} ghm_tensor;

/* Allocate data and grad (zeroed) for a tensor of the given shape. Returns 0 or GHM_ENOMEM. */
int ghm_tensor_init(ghm_tensor *t, const char *name, int ndim, const int *shape, int decay);
void ghm_tensor_free(ghm_tensor *t);

/* 1 if all n values are finite, else 0. */
int ghm_all_finite(const float *x, size_t n);

#ifdef __cplusplus
}
#endif
#endif
