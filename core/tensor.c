#include "tensor.h"

#include "error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *ghm_alloc(size_t bytes)
{
    if (bytes == 0) return NULL;
    size_t rounded = (bytes + GHM_ALIGN - 1) / GHM_ALIGN * GHM_ALIGN;
    void *p = aligned_alloc(GHM_ALIGN, rounded);
    if (p) memset(p, 0, rounded);
    return p;
}

float *ghm_alloc_floats(size_t n) { return (float *)ghm_alloc(n * sizeof(float)); }

void ghm_free(void *p) { free(p); }

int ghm_tensor_init(ghm_tensor *t, const char *name, int ndim, const int *shape, int decay)
{
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name ? name : "");
    size_t n = 1;
    t->ndim = ndim;
    for (int i = 0; i < ndim && i < 4; i++) {
        t->shape[i] = shape[i];
        n *= (size_t)shape[i];
    }
    t->n = n;
    t->decay = decay;
    t->lr_mult = 1.0;
    t->data = ghm_alloc_floats(n);
    t->grad = ghm_alloc_floats(n);
    if (!t->data || !t->grad) {
        ghm_tensor_free(t);
        return GHM_ENOMEM;
    }
    return 0;
}

void ghm_tensor_free(ghm_tensor *t)
{
    if (!t) return;
    ghm_free(t->data);
    ghm_free(t->grad);
    t->data = t->grad = NULL;
    t->n = 0;
}

int ghm_all_finite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}
