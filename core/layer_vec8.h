/* 8-float vectors for the hand-written kernels on blocked maps (core/layers.c,
 * core/layer_direct3x3.c): GCC / Clang vector extensions, one AVX register or two
 * SSE ones. Internal to the layers module. */
#ifndef GHM_LAYER_VEC8_H
#define GHM_LAYER_VEC8_H

typedef float bnb_v8 __attribute__((vector_size(32)));
typedef int bnb_v8i __attribute__((vector_size(32)));
/* the same vector at float alignment, for loads and stores anywhere in a map (vector types alias
 * their element type) */
typedef float bnb_v8u __attribute__((vector_size(32), aligned(4)));

/* Macros, not functions: a vector passed or returned by value would change the calling convention
 * between builds with and without AVX (-Wpsabi). */
#define v8_ld(p) (*(const bnb_v8u *)(const void *)(p))
#define v8_st(p, v) (*(bnb_v8u *)(void *)(p) = (v))
#define v8_set(a) ((bnb_v8){(a), (a), (a), (a), (a), (a), (a), (a)})
/* g where m > 0, else 0 (also where m is NaN) */
#define v8_mask_pos(g, m) ((bnb_v8)((bnb_v8i)(g) & ((m) > v8_set(0.0f))))

#endif
