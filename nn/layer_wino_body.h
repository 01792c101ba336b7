/* The body of nn/layer_wino.c for one vector width, included once per width
 * with WVW (8 or 16) defined: functions wino_*_WVW on vectors of WVW floats.
 * Internal to the layers module; see nn/layer_wino.c for the method. */
#ifndef WVW
#error "define WVW (8 or 16) before including nn/layer_wino_body.h"
#endif

#define WCAT2(a, b) a##b
#define WCAT(a, b) WCAT2(a, b)
#define WFN(name) WCAT(name, WVW)
/* tiles per chunk, the register tile of the products: 6 x 2 vectors of accumulators. On AVX-512 12 x 2 would
 * fit the 32 registers, but the chunk's transformed inputs and products then spill out of L1: 6 was
 * 25-35% faster on the residual network's layers (2 threads, passes of 20 images). */
#define WTB 6
#define WVEC WCAT(wvec, WVW)
#define WVEC_U WCAT(wvec_u, WVW)
#define WVEC_I WCAT(wvec_i, WVW)

typedef float WVEC __attribute__((vector_size(WVW * 4)));
typedef float WVEC_U __attribute__((vector_size(WVW * 4), aligned(4)));
typedef int WVEC_I __attribute__((vector_size(WVW * 4)));

/* max(r, 0) lane by lane: 0 for r = -0 and for NaN, as (r > 0 ? r : 0); one instruction where the
 * target has it (MAXPS returns its second operand unless the first is greater) */
#if WVW == 16 && defined(__AVX512F__)
#define WRELU(r) ((WVEC)_mm512_max_ps((__m512)(r), _mm512_setzero_ps()))
#elif WVW == 8 && defined(__AVX__)
#define WRELU(r) ((WVEC)_mm256_max_ps((__m256)(r), _mm256_setzero_ps()))
#else
#define WRELU(r) ((WVEC)((WVEC_I)(r) & ((r) > WSET(0.0f))))
#endif

#define WLD(p) (*(const WVEC_U *)(const void *)(p))
#define WST(p, v) (*(WVEC_U *)(void *)(p) = (v))
/* a broadcast ({0} + a would be an addition: x + 0 is not x for x = -0) */
#if WVW == 8
#define WSET(a) ((WVEC){(a), (a), (a), (a), (a), (a), (a), (a)})
#else
#define WSET(a) ((WVEC){(a), (a), (a), (a), (a), (a), (a), (a), (a), (a), (a), (a), (a), (a), (a), (a)})
#endif

/* One tile's input transform for the WVW channels of its 6 x 6 patch d, d[i][j] at x + i * rs + j * ps:
 * v[pos * vs] = (B^T d B)[pos]. */
static inline void WFN(wino_in_)(float *v, size_t vs, const float *x, size_t rs, size_t ps)
{
    const WVEC f2 = WSET(2.0f), f4 = WSET(4.0f), f5 = WSET(5.0f);
    WVEC t[6][6];
    for (int j = 0; j < 6; j++) {
        WVEC d[6];
        for (int i = 0; i < 6; i++) d[i] = WLD(x + (size_t)i * rs + (size_t)j * ps);
        t[0][j] = f4 * d[0] - f5 * d[2] + d[4];
        t[1][j] = (d[3] + d[4]) - f4 * (d[1] + d[2]);
        t[2][j] = (d[4] - d[3]) + f4 * (d[1] - d[2]);
        t[3][j] = (d[4] - d[2]) + f2 * (d[3] - d[1]);
        t[4][j] = (d[4] - d[2]) - f2 * (d[3] - d[1]);
        t[5][j] = f4 * d[1] - f5 * d[3] + d[5];
    }
    for (int i = 0; i < 6; i++) {
        const WVEC *d = t[i];
        float *o = v + (size_t)i * 6 * vs;
        WST(o, f4 * d[0] - f5 * d[2] + d[4]);
        WST(o + vs, (d[3] + d[4]) - f4 * (d[1] + d[2]));
        WST(o + 2 * vs, (d[4] - d[3]) + f4 * (d[1] - d[2]));
        WST(o + 3 * vs, (d[4] - d[2]) + f2 * (d[3] - d[1]));
        WST(o + 4 * vs, (d[4] - d[2]) - f2 * (d[3] - d[1]));
        WST(o + 5 * vs, f4 * d[1] - f5 * d[3] + d[5]);
    }
}

/* One tile's output transform for WVW output channels: m[pos * ms] the 36 products, y pixel (0, 0) of the
 * tile's 4 x 4 outputs, of which rows < nr and columns < nc are inside the map; y = A^T m A + bias (+ y
 * when sum), then ReLU when relu. Column 1 of A^T is all ones, so the bias added to m at position (1, 1)
 * reaches each of the 16 outputs once: one addition per tile instead of 16. */
static inline void WFN(wino_out_)(float *y, size_t rs, size_t ps, int nr, int nc, const float *m, size_t ms,
                                  WVEC bias, int sum, int relu)
{
    const WVEC f2 = WSET(2.0f), f4 = WSET(4.0f), f8 = WSET(8.0f);
    WVEC t[4][6];
    for (int j = 0; j < 6; j++) {
        WVEC d[6];
        for (int i = 0; i < 6; i++) d[i] = WLD(m + (size_t)(i * 6 + j) * ms);
        if (j == 1) d[1] += bias;
        const WVEC a = d[1] + d[2], b = d[1] - d[2], c = d[3] + d[4], e = d[3] - d[4];
        t[0][j] = d[0] + a + c;
        t[1][j] = b + f2 * e;
        t[2][j] = a + f4 * c;
        t[3][j] = b + f8 * e + d[5];
    }
    WVEC o[4][4];
    for (int i = 0; i < 4; i++) {
        const WVEC *d = t[i];
        const WVEC a = d[1] + d[2], b = d[1] - d[2], c = d[3] + d[4], e = d[3] - d[4];
        o[i][0] = d[0] + a + c;
        o[i][1] = b + f2 * e;
        o[i][2] = a + f4 * c;
        o[i][3] = b + f8 * e + d[5];
    }
    if (nr == 4 && nc == 4 && sum && relu) { /* the residual blocks' second convolutions, inside the map */
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) {
                float *p = y + (size_t)i * rs + (size_t)j * ps;
                WST(p, WRELU(o[i][j] + WLD(p)));
            }
    } else if (nr == 4 && nc == 4 && !sum && relu) { /* their first */
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) WST(y + (size_t)i * rs + (size_t)j * ps, WRELU(o[i][j]));
    } else {
        for (int i = 0; i < nr; i++)
            for (int j = 0; j < nc; j++) {
                float *p = y + (size_t)i * rs + (size_t)j * ps;
                WVEC r = o[i][j];
                if (sum) r += WLD(p);
                if (relu) r = WRELU(r);
                WST(p, r);
            }
    }
}

/* The products of one chunk of TB tiles for output groups og..og+OGB-1: m[(pos * TB + t) * 2 WVW + j WVW]
 * = sum over c of v[(pos * TB + t) * C + c] * u[((pos * OG + og + j) * C + c) * WVW] (vectors of WVW output
 * channels), c in order 0..C-1 for every output whatever the chunk. The output transforms of these groups
 * follow at once, so m holds two groups (small enough to stay in L1 beside v). */
static inline __attribute__((always_inline)) void WFN(wino_gemm_)(float *m, const float *v, const float *u, int C,
                                                                   int OC, int og, const int OGB)
{
    const int OG = OC / WVW;
    for (int pos = 0; pos < 36; pos++) {
        WVEC a[WTB][2];
        for (int t = 0; t < WTB; t++)
            for (int j = 0; j < OGB; j++) a[t][j] = WSET(0.0f);
        const float *vp = v + (size_t)pos * WTB * C;
        const float *up = u + ((size_t)pos * OG + og) * C * WVW;
        for (int c = 0; c < C; c++) {
            WVEC w[2];
            for (int j = 0; j < OGB; j++) w[j] = WLD(up + ((size_t)j * C + c) * WVW);
            for (int t = 0; t < WTB; t++) {
                const WVEC b = WSET(vp[(size_t)t * C + c]);
                for (int j = 0; j < OGB; j++) a[t][j] += w[j] * b;
            }
        }
        float *mp = m + (size_t)pos * WTB * 2 * WVW;
        for (int t = 0; t < WTB; t++)
            for (int j = 0; j < OGB; j++) WST(mp + (size_t)t * 2 * WVW + (size_t)j * WVW, a[t][j]);
    }
}

/* The products of output groups og and og + 1 (or og alone, the last of an odd count) into m; returns how
 * many. */
static int WFN(wino_products_)(float *m, const float *v, const float *u, int C, int OC, int og)
{
    if (OC / WVW - og >= 2) {
        WFN(wino_gemm_)(m, v, u, C, OC, og, 2);
        return 2;
    }
    WFN(wino_gemm_)(m, v, u, C, OC, og, 1);
    return 1;
}

/* y from x for tiles k0..k0+TB-1 of the flattened (image, tile row, tile column) index (those from k1 on are
 * zero and not written); v, m the thread's workspaces. Layout of a map with C channels:
 * element (n, c, h, w) at n * ns + (c / WVW) * gs + (h * W + w) * ps + c % WVW. */
static void WFN(wino_chunk_)(float *y, int32_t *arg, const float *x, const float *u, const float *bias, float *v,
                             float *m, const wino_shape *s, long k0, long k1)
{
    (void)arg; /* (the pooling form's argument; the chunk functions share one type) */
    const int TH = (s->H + 3) / 4, TW = (s->W + 3) / 4, G = s->C / WVW, OG = s->OC / WVW;
    /* the first tile's (image, tile row, tile column); later tiles step along (no divisions per tile) */
    const int n0 = (int)(k0 / ((long)TH * TW)), th0 = (int)(k0 / TW % TH), tw0 = (int)(k0 % TW);
    int n = n0, th = th0, tw = tw0;
    for (int t = 0; t < WTB; t++) {
        if (k0 + t >= k1) {
            for (int pos = 0; pos < 36; pos++)
                for (int c = 0; c < s->C; c++) v[((size_t)pos * WTB + t) * s->C + c] = 0.0f;
            continue;
        }
        const int h0 = th * 4 - 1, w0 = tw * 4 - 1; /* the patch's pixel (0, 0) */
        const int r0 = h0 < 0 ? -h0 : 0, r1 = s->H - h0 < 6 ? s->H - h0 : 6;
        const int c0 = w0 < 0 ? -w0 : 0, c1 = s->W - w0 < 6 ? s->W - w0 : 6;
        const int inside = r0 == 0 && r1 == 6 && c0 == 0 && c1 == 6;
        for (int g = 0; g < G; g++) { /* addressed through the patch's first pixel inside the map */
            const float *xo = x + (size_t)n * s->xns + (size_t)g * s->xgs +
                              ((size_t)(h0 + r0) * s->W + (size_t)(w0 + c0)) * s->xps;
            float *vo = v + (size_t)t * s->C + (size_t)g * WVW;
            if (inside) {
                WFN(wino_in_)(vo, (size_t)WTB * s->C, xo, (size_t)s->W * s->xps, s->xps);
            } else { /* a tile at the border: the patch with its zero padding, copied */
                float patch[36 * WVW] __attribute__((aligned(64)));
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 6; j++)
                        WST(patch + (i * 6 + j) * WVW,
                            i >= r0 && i < r1 && j >= c0 && j < c1
                                ? WLD(xo + (size_t)(i - r0) * s->W * s->xps + (size_t)(j - c0) * s->xps)
                                : WSET(0.0f));
                WFN(wino_in_)(vo, (size_t)WTB * s->C, patch, 6 * WVW, WVW);
            }
        }
        if (++tw == TW) {
            tw = 0;
            if (++th == TH) th = 0, n++;
        }
    }
    for (int og = 0; og < OG;) {
        const int ogb = WFN(wino_products_)(m, v, u, s->C, s->OC, og);
        n = n0, th = th0, tw = tw0;
        for (int t = 0; t < WTB && k0 + t < k1; t++) {
            const int nr = s->H - th * 4 < 4 ? s->H - th * 4 : 4, nc = s->W - tw * 4 < 4 ? s->W - tw * 4 : 4;
            for (int j = 0; j < ogb; j++) {
                float *yo = y + (size_t)n * s->yns + (size_t)(og + j) * s->ygs +
                            ((size_t)th * 4 * s->W + (size_t)tw * 4) * s->yps;
                WFN(wino_out_)(yo, (size_t)s->W * s->yps, s->yps, nr, nc, m + (size_t)t * 2 * WVW + (size_t)j * WVW,
                               (size_t)WTB * 2 * WVW, bias ? WLD(bias + (size_t)(og + j) * WVW) : WSET(0.0f), s->sum,
                               s->relu);
            }
            if (++tw == TW) {
                tw = 0;
                if (++th == TH) th = 0, n++;
            }
        }
        og += ogb;
    }
}

/* u[((pos * OG + og) * C + c) * WVW + l] = (G g G^T)[pos] of output channel og * WVW + l, input c: the
 * WVW output channels of a group in one vector (float arithmetic, as the convolution's) */
static void WFN(wino_weights_)(float *u, const float *w, int C, int OC)
{
    const WVEC q4 = WSET(0.25f), s6 = WSET(1.0f / 6), s12 = WSET(1.0f / 12), s24 = WSET(1.0f / 24);
    const int OG = OC / WVW;
    for (int og = 0; og < OG; og++)
        for (int c = 0; c < C; c++) {
            float gl[9][WVW];
            for (int l = 0; l < WVW; l++)
                for (int k = 0; k < 9; k++) gl[k][l] = w[((size_t)(og * WVW + l) * C + c) * 9 + k];
            /* t = G g (6 x 3), by columns j of g */
            WVEC t[6][3];
            for (int j = 0; j < 3; j++) {
                const WVEC g0 = WLD(gl[j]), g1 = WLD(gl[3 + j]), g2 = WLD(gl[6 + j]);
                t[0][j] = q4 * g0;
                t[1][j] = -s6 * (g0 + g1 + g2);
                t[2][j] = -s6 * (g0 - g1 + g2);
                t[3][j] = s24 * g0 + s12 * g1 + s6 * g2;
                t[4][j] = s24 * g0 - s12 * g1 + s6 * g2;
                t[5][j] = g2;
            }
            /* u = t G^T, row by row */
            for (int i = 0; i < 6; i++) {
                const WVEC g0 = t[i][0], g1 = t[i][1], g2 = t[i][2];
                const WVEC r[6] = {q4 * g0,
                                   -s6 * (g0 + g1 + g2),
                                   -s6 * (g0 - g1 + g2),
                                   s24 * g0 + s12 * g1 + s6 * g2,
                                   s24 * g0 - s12 * g1 + s6 * g2,
                                   g2};
                for (int j = 0; j < 6; j++) WST(u + (((size_t)(i * 6 + j) * OG + og) * C + c) * WVW, r[j]);
            }
        }
}

/* ---- F(2x2, 5x5), valid convolution, fused with bias, ReLU and the 2 x 2 max-pool -------------------------
 * Same input transform (the same 6 interpolation points) and products; a tile is one pooling window. */

/* max of two vectors, lane by lane (a where a > b, else b) */
#define WMAX(a, b) ((WVEC)(((WVEC_I)(a) & ((a) > (b))) | ((WVEC_I)(b) & ~((a) > (b)))))

/* One tile's 2 x 2 outputs for WVW output channels from the products m[pos * ms]: the window's maximum +
 * bias, ReLU, to f[l * fs] for lane l; with arg, arg[l * fs] = the maximum's position in the conv output
 * plane (rows of W2), a0 the window's first, the first in row-major order among equal values (as the
 * direct fused kernel, nn/layers.h). */
static inline void WFN(wino25_out_)(float *f, int32_t *arg, size_t fs, const float *m, size_t ms, WVEC bias, int a0,
                                    int W2)
{
    const WVEC f2 = WSET(2.0f), z = WSET(0.0f);
    WVEC t[2][6];
    for (int j = 0; j < 6; j++) {
        WVEC d[6];
        for (int i = 0; i < 6; i++) d[i] = WLD(m + (size_t)(i * 6 + j) * ms);
        t[0][j] = d[0] + (d[1] + d[2]) + (d[3] + d[4]);
        t[1][j] = (d[1] - d[2]) + f2 * (d[3] - d[4]) + d[5];
    }
    WVEC o[4];
    for (int i = 0; i < 2; i++) {
        const WVEC *d = t[i];
        o[2 * i] = d[0] + (d[1] + d[2]) + (d[3] + d[4]);
        o[2 * i + 1] = (d[1] - d[2]) + f2 * (d[3] - d[4]) + d[5];
    }
    WVEC best = o[0];
    WVEC_I idx = (WVEC_I){0};
    for (int k = 1; k < 4; k++) {
        const WVEC_I gt = o[k] > best;
        best = (WVEC)(((WVEC_I)o[k] & gt) | ((WVEC_I)best & ~gt));
        idx = (idx & ~gt) | (gt & k);
    }
    WVEC r = best + bias;
    r = (WVEC)((WVEC_I)r & (r > z));
    float lanes[WVW];
    WST(lanes, r);
    for (int l = 0; l < WVW; l++) f[(size_t)l * fs] = lanes[l];
    if (arg)
        for (int l = 0; l < WVW; l++) arg[(size_t)l * fs] = a0 + (idx[l] >> 1) * W2 + (idx[l] & 1);
}

/* Tiles k0..k0+TB-1 (below k1) of the flattened (image, pooled row, pooled column) index; x as wino_chunk_, f and arg
 * with image stride s->yns and channel stride s->ygs. */
static void WFN(wino25_chunk_)(float *f, int32_t *arg, const float *x, const float *u, const float *bias, float *v,
                               float *m, const wino_shape *s, long k0, long k1)
{
    const int Q = (s->H - 4) / 2, R = (s->W - 4) / 2, G = s->C / WVW, OG = s->OC / WVW;
    const size_t QR = (size_t)Q * R;
    const int n0 = (int)(k0 / (long)QR), i0 = (int)(k0 / R % Q), j0 = (int)(k0 % R);
    int n = n0, ti = i0, tj = j0;
    for (int t = 0; t < WTB; t++) {
        if (k0 + t >= k1) {
            for (int pos = 0; pos < 36; pos++)
                for (int c = 0; c < s->C; c++) v[((size_t)pos * WTB + t) * s->C + c] = 0.0f;
            continue;
        }
        for (int g = 0; g < G; g++) {
            const float *xo = x + (size_t)n * s->xns + (size_t)g * s->xgs + ((size_t)2 * ti * s->W + 2 * tj) * s->xps;
            WFN(wino_in_)(v + (size_t)t * s->C + (size_t)g * WVW, (size_t)WTB * s->C, xo, (size_t)s->W * s->xps,
                          s->xps);
        }
        if (++tj == R) {
            tj = 0;
            if (++ti == Q) ti = 0, n++;
        }
    }
    for (int og = 0; og < OG;) {
        const int ogb = WFN(wino_products_)(m, v, u, s->C, s->OC, og);
        n = n0, ti = i0, tj = j0;
        for (int t = 0; t < WTB && k0 + t < k1; t++) {
            for (int j = 0; j < ogb; j++) {
                /* output (n, o, ti, tj) at n * yns + o * ygs + ti * R + tj */
                const size_t at = (size_t)n * s->yns + (size_t)(og + j) * WVW * s->ygs + (size_t)ti * R + tj;
                WFN(wino25_out_)(f + at, arg ? arg + at : NULL, s->ygs, m + (size_t)t * 2 * WVW + (size_t)j * WVW,
                                 (size_t)WTB * 2 * WVW, WLD(bias + (size_t)(og + j) * WVW),
                                 2 * ti * (s->W - 4) + 2 * tj, s->W - 4);
            }
            if (++tj == R) {
                tj = 0;
                if (++ti == Q) ti = 0, n++;
            }
        }
        og += ogb;
    }
}

/* The 5 x 5 weights' transform G g G^T, G (6 x 5) of F(2, 5) on the same points; layout as wino_weights_. */
static void WFN(wino25_weights_)(float *u, const float *w, int C, int OC)
{
    const WVEC q4 = WSET(0.25f), s6 = WSET(1.0f / 6), s24 = WSET(1.0f / 24), f2 = WSET(2.0f), f4 = WSET(4.0f),
               f8 = WSET(8.0f), f16 = WSET(16.0f);
    const int OG = OC / WVW;
    for (int og = 0; og < OG; og++)
        for (int c = 0; c < C; c++) {
            float gl[25][WVW];
            for (int l = 0; l < WVW; l++)
                for (int k = 0; k < 25; k++) gl[k][l] = w[((size_t)(og * WVW + l) * C + c) * 25 + k];
            WVEC t[6][5]; /* G g, by columns j of g */
            for (int j = 0; j < 5; j++) {
                WVEC g[5];
                for (int i = 0; i < 5; i++) g[i] = WLD(gl[i * 5 + j]);
                const WVEC ev = g[0] + g[2] + g[4], od = g[1] + g[3];
                const WVEC ev2 = g[0] + f4 * g[2] + f16 * g[4], od2 = f2 * g[1] + f8 * g[3];
                t[0][j] = q4 * g[0];
                t[1][j] = -s6 * (ev + od);
                t[2][j] = -s6 * (ev - od);
                t[3][j] = s24 * (ev2 + od2);
                t[4][j] = s24 * (ev2 - od2);
                t[5][j] = g[4];
            }
            for (int i = 0; i < 6; i++) { /* (G g) G^T, row by row */
                const WVEC *g = t[i];
                const WVEC ev = g[0] + g[2] + g[4], od = g[1] + g[3];
                const WVEC ev2 = g[0] + f4 * g[2] + f16 * g[4], od2 = f2 * g[1] + f8 * g[3];
                const WVEC r[6] = {q4 * g[0], -s6 * (ev + od), -s6 * (ev - od), s24 * (ev2 + od2), s24 * (ev2 - od2),
                                   g[4]};
                for (int j = 0; j < 6; j++) WST(u + (((size_t)(i * 6 + j) * OG + og) * C + c) * WVW, r[j]);
            }
        }
}

/* ---- The first convolution, direct: 3x3, pad 1, stride 1, few input channels ------------------------------
 * y = ReLU(conv(x) + bias) for images n0..n1-1 of x (C, B, H, W) channel-major, y in this width's layout
 * (strides of s as wino_chunk_'s); u[((og * C + c) * 9 + tap) * WVW + l] the weights of output channel
 * og * WVW + l. A register tile of 2 rows x 4 pixels of one output vector: 8 independent sums, each weight
 * vector loaded once per tile and each input pixel broadcast from a zero-padded copy of the image (xp,
 * C x (H + 2) x (W + 2)). Sums in the order bias, then c, kh, kw. Needs H even and W a multiple of 4. */
static void WFN(conv3x3_in_)(float *y, const float *x, const float *u, const float *bias, float *xp,
                             const wino_shape *s, int B, int n0, int n1)
{
    const int H = s->H, W = s->W, C = s->C, OG = s->OC / WVW, PW = W + 2;
    const size_t pp = (size_t)(H + 2) * PW; /* one channel of the padded copy */
    const WVEC z = WSET(0.0f);
    for (int n = n0; n < n1; n++) {
        for (int c = 0; c < C; c++) {
            float *d = xp + (size_t)c * pp;
            const float *src = x + ((size_t)c * B + n) * H * W;
            for (int i = 0; i < PW; i++) d[i] = d[(size_t)(H + 1) * PW + i] = 0.0f;
            for (int h = 0; h < H; h++) {
                float *row = d + (size_t)(h + 1) * PW;
                row[0] = row[W + 1] = 0.0f;
                for (int w = 0; w < W; w++) row[w + 1] = src[(size_t)h * W + w];
            }
        }
        for (int og = 0; og < OG; og++) {
            const WVEC bv = WLD(bias + (size_t)og * WVW);
            const float *uo = u + (size_t)og * C * 9 * WVW;
            float *yo = y + (size_t)n * s->yns + (size_t)og * s->ygs;
            for (int h = 0; h < H; h += 2)
                for (int w = 0; w < W; w += 4) {
                    WVEC a[2][4];
                    for (int i = 0; i < 2; i++)
                        for (int j = 0; j < 4; j++) a[i][j] = bv;
                    for (int c = 0; c < C; c++) {
                        const float *xc = xp + (size_t)c * pp + (size_t)h * PW + w;
                        for (int kh = 0; kh < 3; kh++)
                            for (int kw = 0; kw < 3; kw++) {
                                const WVEC wv = WLD(uo + ((size_t)c * 9 + (size_t)(kh * 3 + kw)) * WVW);
                                for (int i = 0; i < 2; i++)
                                    for (int j = 0; j < 4; j++)
                                        a[i][j] += wv * WSET(xc[(size_t)(i + kh) * PW + (size_t)(j + kw)]);
                            }
                    }
                    for (int i = 0; i < 2; i++)
                        for (int j = 0; j < 4; j++)
                            WST(yo + ((size_t)(h + i) * W + (size_t)(w + j)) * s->yps,
                                (WVEC)((WVEC_I)a[i][j] & (a[i][j] > z)));
                }
        }
    }
}

/* u for conv3x3_in_ from w (OC, C, 3, 3) */
static void WFN(conv3x3_in_weights_)(float *u, const float *w, int C, int OC)
{
    for (int og = 0; og < OC / WVW; og++)
        for (int c = 0; c < C; c++)
            for (int t = 0; t < 9; t++)
                for (int l = 0; l < WVW; l++)
                    u[(((size_t)og * C + c) * 9 + t) * WVW + l] = w[((size_t)(og * WVW + l) * C + c) * 9 + t];
}

/* (C, B, H, W) channel-major -> the vector layout of this width: blocks of 8 channels (B, C/8, H, W, 8) for
 * WVW 8, NHWC (B, H, W, C) for WVW 16 */
static void WFN(wino_pack_)(float *dst, const float *src, int B, int C, int HW)
{
#pragma omp parallel for schedule(static)
    for (int n = 0; n < B; n++)
        for (int c = 0; c < C; c++) {
            const float *sp = src + ((size_t)c * B + n) * HW;
            float *dp = WVW == 8 ? dst + (((size_t)n * (C / 8) + c / 8) * HW) * 8 + c % 8
                                 : dst + (size_t)n * HW * C + c;
            const size_t step = WVW == 8 ? 8 : (size_t)C;
            for (int p = 0; p < HW; p++) dp[(size_t)p * step] = sp[p];
        }
}

#undef WMAX
#undef WRELU

#undef WTB
#undef WLD
#undef WST
#undef WSET
#undef WVEC
#undef WVEC_U
#undef WVEC_I
#undef WFN
#undef WCAT
#undef WCAT2
