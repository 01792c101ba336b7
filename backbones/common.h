/* Helpers shared by the backbone implementations (internal, not a contract):
 * a growable list of parameter tensors and grow-only activation buffers. */
#ifndef GHM_BACKBONES_COMMON_H
#define GHM_BACKBONES_COMMON_H

#include "../core/error.h"
#include "../core/tensor.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* The parameter tensors of a backbone, in a fixed order (the optimizer's). */
typedef struct bb_tensors {
    ghm_tensor **ptr; /* (n) tensors, each separately allocated */
    int n, cap;
} bb_tensors;

/* Add a zero-initialised tensor; NULL (and err set) on allocation failure. */
static inline ghm_tensor *bb_tensor_add(bb_tensors *ts, const char *name, int ndim, const int *shape, int decay,
                                        ghm_error *err)
{
    if (ts->n == ts->cap) {
        int cap = ts->cap ? 2 * ts->cap : 16;
        ghm_tensor **p = (ghm_tensor **)realloc(ts->ptr, sizeof(*p) * (size_t)cap);
        if (!p) {
            GHM_FAIL(err, GHM_ENOMEM, "out of memory for tensor '%s'", name);
            return NULL;
        }
        ts->ptr = p;
        ts->cap = cap;
    }
    ghm_tensor *t = (ghm_tensor *)calloc(1, sizeof *t);
    if (!t || ghm_tensor_init(t, name, ndim, shape, decay)) {
        free(t);
        GHM_FAIL(err, GHM_ENOMEM, "out of memory for tensor '%s'", name);
        return NULL;
    }
    ts->ptr[ts->n++] = t;
    return t;
}

static inline void bb_tensors_free(bb_tensors *ts)
{
    for (int i = 0; i < ts->n; i++) {
        ghm_tensor_free(ts->ptr[i]);
        free(ts->ptr[i]);
    }
    free(ts->ptr);
    ts->ptr = NULL;
    ts->n = ts->cap = 0;
}

/* Ensure *p holds at least n elements of size elt (grow only, contents lost on growth). */
static inline int bb_grow(void **p, size_t *cap, size_t n, size_t elt)
{
    if (n <= *cap && *p) return 0;
    ghm_free(*p);
    *p = ghm_alloc(n * elt);
    *cap = *p ? n : 0;
    return *p ? 0 : GHM_ENOMEM;
}

#endif
