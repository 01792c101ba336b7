/* 8-float vectors for the hand-written kernels on blocked maps (nn/layers.c,
 * nn/layer_direct3x3.c): GCC / Clang vector extensions, one AVX register or two
 * SSE ones. Internal to the layers module. */
#ifndef GHM_LAYER_VEC8_H
#define GHM_LAYER_VEC8_H

typedef float v8f __attribute__((vector_size(32)));
typedef int v8f_i __attribute__((vector_size(32)));
/* the same vector at float alignment, for loads and stores anywhere in a map (vector types alias
 * their element type) */
typedef float v8f_u __attribute__((vector_size(32), aligned(4)));

/* Macros, not functions: a vector passed or returned by value would change the calling convention
 * between builds with and without AVX (-Wpsabi). */
#define v8_ld(p) (*(const v8f_u *)(const void *)(p))
#define v8_st(p, v) (*(v8f_u *)(void *)(p) = (v))
#define v8_set(a) ((v8f){(a), (a), (a), (a), (a), (a), (a), (a)})
/* g where m > 0, else 0 (also where m is NaN) */
#define v8_mask_pos(g, m) ((v8f)((v8f_i)(g) & ((m) > v8_set(0.0f))))

#endif
