/* Dense layers: layout transposes, linear, ReLU, batch norm, residual add, L2
 * normalisation and PyTorch-style initialisers. See nn/layers.h. */
#include "nn/layers.h"
#include "nn/layer_vec8.h"

#include "core/rng.h"

#include <math.h>
#include <string.h>

/* Layout copies below this many floats run on one thread (cheaper than a
 * parallel region's fork and closing barrier). */
#define LAYOUT_PAR_MIN ((size_t)1 << 20)

void ghm_nchw_to_cbhw(float *y, const float *x, int B, int C, int HW)
{
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)B * C * HW > LAYOUT_PAR_MIN)
    for (int c = 0; c < C; c++)
        for (int b = 0; b < B; b++)
            memcpy(y + ((size_t)c * B + b) * HW, x + ((size_t)b * C + c) * HW, sizeof(float) * (size_t)HW);
}

void ghm_cbhw_to_nchw(float *y, const float *x, int B, int C, int HW)
{
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)B * C * HW > LAYOUT_PAR_MIN)
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            memcpy(y + ((size_t)b * C + c) * HW, x + ((size_t)c * B + b) * HW, sizeof(float) * (size_t)HW);
}

void ghm_linear_forward(float *y, const float *x, const float *w, const float *bias, int B, int In, int O)
{
    if (bias)
        for (int b = 0; b < B; b++) memcpy(y + (size_t)b * O, bias, sizeof(float) * (size_t)O);
    /* y (B, O) (+)= x (B, I) @ w^T (In, O) */
    ghm_sgemm(0, 1, B, O, In, 1.0f, x, In, w, In, bias ? 1.0f : 0.0f, y, O);
}

void ghm_linear_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, int B,
                         int In, int O)
{
    if (db) {
        for (int o = 0; o < O; o++) db[o] = 0.0f;
        for (int b = 0; b < B; b++)
            for (int o = 0; o < O; o++) db[o] += dy[(size_t)b * O + o];
    }
    /* dw (O, I) = dy^T (O, B) @ x (B, In) */
    if (dw) ghm_sgemm(1, 0, O, In, B, 1.0f, dy, O, x, In, 0.0f, dw, In);
    /* dx (B, I) = dy (B, O) @ w (O, I) */
    if (dx) ghm_sgemm(0, 0, B, In, O, 1.0f, dy, O, w, In, 0.0f, dx, In);
}

/* Element-wise layers run on several threads only above this many elements:
 * below it, starting the threads costs more than the loop. */
#define GHM_OMP_MIN_ELEMENTS 65536

void ghm_relu_forward(float *y, const float *x, size_t n)
{
#pragma omp parallel for schedule(static) if (n > GHM_OMP_MIN_ELEMENTS)
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void ghm_relu_backward(float *dx, const float *dy, const float *y, size_t n)
{
#pragma omp parallel for schedule(static) if (n > GHM_OMP_MIN_ELEMENTS)
    for (size_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
}

void ghm_batchnorm_forward(float *y, float *mean, float *invstd, float *running_mean, float *running_var,
                           const float *x, const float *gamma, const float *beta, int C, int N, int train)
{
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        const float *xc = x + (size_t)c * N;
        float *yc = y + (size_t)c * N;
        float m, is;
        if (train) {
            double s = 0.0;
            for (int i = 0; i < N; i++) s += xc[i];
            const double mu = s / N;
            double v = 0.0;
            for (int i = 0; i < N; i++) {
                const double d = xc[i] - mu;
                v += d * d;
            }
            const double var = v / N;
            m = (float)mu;
            is = (float)(1.0 / sqrt(var + GHM_BN_EPS));
            mean[c] = m;
            invstd[c] = is;
            const double unbiased = N > 1 ? v / (N - 1) : var;
            running_mean[c] = (1.0f - GHM_BN_MOMENTUM) * running_mean[c] + GHM_BN_MOMENTUM * m;
            running_var[c] = (1.0f - GHM_BN_MOMENTUM) * running_var[c] + GHM_BN_MOMENTUM * (float)unbiased;
        } else {
            m = running_mean[c];
            is = 1.0f / sqrtf(running_var[c] + GHM_BN_EPS);
        }
        const float a = gamma[c] * is, b0 = beta[c] - m * a; /* y = a x + b0 */
        for (int i = 0; i < N; i++) yc[i] = a * xc[i] + b0;
    }
}

void ghm_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                            const float *mean, const float *invstd, const float *gamma, int C, int N)
{
#pragma omp parallel for schedule(static)
    for (int c = 0; c < C; c++) {
        const float *xc = x + (size_t)c * N, *gc = dy + (size_t)c * N;
        const float m = mean[c], is = invstd[c];
        double sg = 0.0, sgx = 0.0; /* sum dy, sum dy * xhat */
        for (int i = 0; i < N; i++) {
            sg += gc[i];
            sgx += (double)gc[i] * ((xc[i] - m) * is);
        }
        if (dgamma) dgamma[c] = (float)sgx;
        if (dbeta) dbeta[c] = (float)sg;
        if (dx) {
            /* dx = gamma*invstd/N * (N dy - sum dy - xhat sum(dy xhat)) */
            float *dc = dx + (size_t)c * N;
            const float k = gamma[c] * is;
            const float mg = (float)(sg / N), mgx = (float)(sgx / N);
            for (int i = 0; i < N; i++) {
                const float xh = (xc[i] - m) * is;
                dc[i] = k * (gc[i] - mg - xh * mgx);
            }
        }
    }
}

/* ---- batch norm on blocked maps (B, C/blk, HW, blk) ----------------------
 * One thread per channel block (static schedule), each channel's sums in a
 * fixed order (float over one image's HW values, double across images): the
 * numbers do not depend on the thread count.
 * The lane loops are written on 8-float vectors (GCC / Clang vector
 * extensions: one AVX register, two SSE ones; a block of 16 channels is two
 * vectors), NV = blk / 8 a literal at every call, so that every accumulator
 * stays in a register. Sums over an image run in interleaved accumulators
 * (one chain of additions is bound by the adder's latency, not by memory).
 * The training statistics take one pass over the map: each image's sum, then
 * its squared deviations from its own mean while its block is still in cache,
 * merged across images in double (Chan, Golub & LeVeque's pairwise update). */

/* out[v] = sum over i < HW of the vector p[i * BLK + 8 v ...] */
static inline void bnb_lane_sum(v8f *out, const float *p, int HW, const int NV)
{
    const int BLK = 8 * NV;
    v8f a0[2], a1[2], a2[2], a3[2];
    for (int v = 0; v < NV; v++) a0[v] = a1[v] = a2[v] = a3[v] = v8_set(0.0f);
    int i = 0;
    for (; i + 4 <= HW; i += 4, p += 4 * BLK)
        for (int v = 0; v < NV; v++) {
            a0[v] += v8_ld(p + 8 * v);
            a1[v] += v8_ld(p + BLK + 8 * v);
            a2[v] += v8_ld(p + 2 * BLK + 8 * v);
            a3[v] += v8_ld(p + 3 * BLK + 8 * v);
        }
    for (; i < HW; i++, p += BLK)
        for (int v = 0; v < NV; v++) a0[v] += v8_ld(p + 8 * v);
    for (int v = 0; v < NV; v++) out[v] = (a0[v] + a1[v]) + (a2[v] + a3[v]);
}

/* out[v] = sum over i < HW of (p[i * BLK + 8 v ...] - m[v])^2 */
static inline void bnb_lane_sqdev(v8f *out, const float *p, const v8f *m, int HW, const int NV)
{
    const int BLK = 8 * NV;
    v8f a0[2], a1[2], a2[2], a3[2];
    for (int v = 0; v < NV; v++) a0[v] = a1[v] = a2[v] = a3[v] = v8_set(0.0f);
    int i = 0;
    for (; i + 4 <= HW; i += 4, p += 4 * BLK)
        for (int v = 0; v < NV; v++) {
            const v8f d0 = v8_ld(p + 8 * v) - m[v], d1 = v8_ld(p + BLK + 8 * v) - m[v],
                         d2 = v8_ld(p + 2 * BLK + 8 * v) - m[v], d3 = v8_ld(p + 3 * BLK + 8 * v) - m[v];
            a0[v] += d0 * d0;
            a1[v] += d1 * d1;
            a2[v] += d2 * d2;
            a3[v] += d3 * d3;
        }
    for (; i < HW; i++, p += BLK)
        for (int v = 0; v < NV; v++) {
            const v8f d = v8_ld(p + 8 * v) - m[v];
            a0[v] += d * d;
        }
    for (int v = 0; v < NV; v++) out[v] = (a0[v] + a1[v]) + (a2[v] + a3[v]);
}

/* sg[v] = sum of g, sgx[v] = sum of g * (x - m[v]) * is[v] over i < HW, where g = dy masked by the
 * forward's ReLU (masked = 1): 0 where av * x + bv, the forward's batch norm output, is not > 0 (the same
 * operations as the forward, so the same mask, without reading its output) */
static inline void bnb_lane_dsums(v8f *sg, v8f *sgx, const float *x, const float *dy, const int masked,
                                  const v8f *av, const v8f *bv, const v8f *m, const v8f *is, int HW,
                                  const int NV)
{
    const int BLK = 8 * NV;
    v8f g0[2], g1[2], x0[2], x1[2];
    for (int v = 0; v < NV; v++) g0[v] = g1[v] = x0[v] = x1[v] = v8_set(0.0f);
    int i = 0;
    for (; i + 2 <= HW; i += 2) {
        const size_t e = (size_t)i * BLK;
        for (int v = 0; v < NV; v++) {
            const size_t ea = e + 8 * (size_t)v, eb = ea + BLK;
            const v8f xa = v8_ld(x + ea), xb = v8_ld(x + eb);
            v8f ga = v8_ld(dy + ea), gb = v8_ld(dy + eb);
            if (masked) {
                ga = v8_mask_pos(ga, av[v] * xa + bv[v]);
                gb = v8_mask_pos(gb, av[v] * xb + bv[v]);
            }
            g0[v] += ga;
            g1[v] += gb;
            x0[v] += ga * ((xa - m[v]) * is[v]);
            x1[v] += gb * ((xb - m[v]) * is[v]);
        }
    }
    for (; i < HW; i++)
        for (int v = 0; v < NV; v++) {
            const size_t ea = (size_t)i * BLK + 8 * (size_t)v;
            const v8f xa = v8_ld(x + ea);
            v8f ga = v8_ld(dy + ea);
            if (masked) ga = v8_mask_pos(ga, av[v] * xa + bv[v]);
            g0[v] += ga;
            x0[v] += ga * ((xa - m[v]) * is[v]);
        }
    for (int v = 0; v < NV; v++) {
        sg[v] = g0[v] + g1[v];
        sgx[v] = x0[v] + x1[v];
    }
}

static inline void bnb_forward(float *y, float *mean, float *invstd, float *running_mean, float *running_var,
                               const float *x, const float *gamma, const float *beta, const float *add, int B, int C,
                               int HW, int train, int relu, const int NV)
{
    const int BLK = 8 * NV, CB = C / BLK;
    const size_t plane = (size_t)HW * BLK, nstride = (size_t)CB * plane;
    const double N = (double)B * HW;
#pragma omp parallel for schedule(static)
    for (int cb = 0; cb < CB; cb++) {
        float a[16] = {0}, b0[16] = {0};
        const int c0 = cb * BLK;
        if (train) {
            /* per image its sum and squared deviations from its own mean (float lanes), merged into
             * the running mean mu and sum of squared deviations v in double */
            double mu[16] = {0}, v[16] = {0}, cnt = 0.0;
            for (int n = 0; n < B; n++) {
                const float *p = x + (size_t)n * nstride + (size_t)cb * plane;
                v8f sum[2], mv[2], q[2];
                float mi[16], qi[16];
                bnb_lane_sum(sum, p, HW, NV);
                for (int u = 0; u < NV; u++) {
                    mv[u] = sum[u] / v8_set((float)HW);
                    v8_st(mi + 8 * u, mv[u]);
                }
                bnb_lane_sqdev(q, p, mv, HW, NV);
                for (int u = 0; u < NV; u++) v8_st(qi + 8 * u, q[u]);
                const double tot = cnt + HW, wn = HW / tot, wc = cnt * HW / tot;
                for (int j = 0; j < BLK; j++) {
                    const double d = (double)mi[j] - mu[j];
                    mu[j] += d * wn;
                    v[j] += qi[j] + d * d * wc;
                }
                cnt = tot;
            }
            for (int j = 0; j < BLK; j++) {
                const double var = v[j] / N, unbiased = N > 1 ? v[j] / (N - 1) : var;
                const float m = (float)mu[j], is = (float)(1.0 / sqrt(var + GHM_BN_EPS));
                mean[c0 + j] = m;
                invstd[c0 + j] = is;
                running_mean[c0 + j] = (1.0f - GHM_BN_MOMENTUM) * running_mean[c0 + j] + GHM_BN_MOMENTUM * m;
                running_var[c0 + j] =
                    (1.0f - GHM_BN_MOMENTUM) * running_var[c0 + j] + GHM_BN_MOMENTUM * (float)unbiased;
                a[j] = gamma[c0 + j] * is;
                b0[j] = beta[c0 + j] - m * a[j];
            }
        } else {
            for (int j = 0; j < BLK; j++) {
                const float is = 1.0f / sqrtf(running_var[c0 + j] + GHM_BN_EPS);
                a[j] = gamma[c0 + j] * is;
                b0[j] = beta[c0 + j] - running_mean[c0 + j] * a[j];
            }
        }
        v8f av[2], bv[2];
        for (int u = 0; u < NV; u++) {
            av[u] = v8_ld(a + 8 * u);
            bv[u] = v8_ld(b0 + 8 * u);
        }
        for (int n = 0; n < B; n++) {
            const size_t at = (size_t)n * nstride + (size_t)cb * plane;
            const float *p = x + at, *s = add ? add + at : NULL;
            float *q = y + at;
            for (int i = 0; i < HW; i++, p += BLK, q += BLK)
                for (int u = 0; u < NV; u++) {
                    v8f t = av[u] * v8_ld(p + 8 * u) + bv[u];
                    if (s) t += v8_ld(s + (size_t)i * BLK + 8 * u);
                    /* ReLU: 0 where t < 0 (NaN passes, as the scalar layers) */
                    v8_st(q + 8 * u, relu ? (v8f)((v8f_i)t & ~(t < v8_set(0.0f))) : t);
                }
        }
    }
}

void ghm_batchnorm_blocked_forward(float *y, float *mean, float *invstd, float *running_mean, float *running_var,
                                   const float *x, const float *gamma, const float *beta, int B, int C, int HW,
                                   int blk, int train, int relu)
{
    if (blk == 8)
        bnb_forward(y, mean, invstd, running_mean, running_var, x, gamma, beta, NULL, B, C, HW, train, relu, 1);
    else
        bnb_forward(y, mean, invstd, running_mean, running_var, x, gamma, beta, NULL, B, C, HW, train, relu, 2);
}

void ghm_batchnorm_blocked_forward_add_relu(float *y, float *mean, float *invstd, float *running_mean,
                                            float *running_var, const float *x, const float *gamma, const float *beta,
                                            const float *add, int B, int C, int HW, int blk, int train)
{
    if (blk == 8)
        bnb_forward(y, mean, invstd, running_mean, running_var, x, gamma, beta, add, B, C, HW, train, 1, 1);
    else
        bnb_forward(y, mean, invstd, running_mean, running_var, x, gamma, beta, add, B, C, HW, train, 1, 2);
}

static inline void bnb_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                const float *mean, const float *invstd, const float *gamma, const float *beta,
                                int relu, int B, int C, int HW, const int NV)
{
    const int BLK = 8 * NV, CB = C / BLK;
    const size_t plane = (size_t)HW * BLK, nstride = (size_t)CB * plane;
    const double N = (double)B * HW;
#pragma omp parallel for schedule(static)
    for (int cb = 0; cb < CB; cb++) {
        const int c0 = cb * BLK;
        float mg[16], mgx[16], a[16], b0[16];
        double sg[16] = {0}, sgx[16] = {0}; /* sum dy, sum dy * xhat (dy after the ReLU mask) */
        for (int j = 0; j < BLK; j++) { /* the forward's affine map, as bnb_forward computed it (a: dx's scale) */
            a[j] = gamma[c0 + j] * invstd[c0 + j];
            b0[j] = beta[c0 + j] - mean[c0 + j] * a[j];
        }
        v8f m[2], is[2], av[2], bv[2];
        for (int u = 0; u < NV; u++) {
            m[u] = v8_ld(mean + c0 + 8 * u);
            is[u] = v8_ld(invstd + c0 + 8 * u);
            av[u] = v8_ld(a + 8 * u);
            bv[u] = v8_ld(b0 + 8 * u);
        }
        for (int n = 0; n < B; n++) { /* per image in float lanes, then into double */
            const size_t at = (size_t)n * nstride + (size_t)cb * plane;
            v8f f[2], fx[2];
            float fs[16], fxs[16];
            if (relu)
                bnb_lane_dsums(f, fx, x + at, dy + at, 1, av, bv, m, is, HW, NV);
            else
                bnb_lane_dsums(f, fx, x + at, dy + at, 0, av, bv, m, is, HW, NV);
            for (int u = 0; u < NV; u++) {
                v8_st(fs + 8 * u, f[u]);
                v8_st(fxs + 8 * u, fx[u]);
            }
            for (int j = 0; j < BLK; j++) {
                sg[j] += fs[j];
                sgx[j] += fxs[j];
            }
        }
        for (int j = 0; j < BLK; j++) {
            if (dgamma) dgamma[c0 + j] = (float)sgx[j];
            if (dbeta) dbeta[c0 + j] = (float)sg[j];
            mg[j] = (float)(sg[j] / N);
            mgx[j] = (float)(sgx[j] / N);
        }
        if (!dx) continue;
        v8f mgv[2], mgxv[2];
        for (int u = 0; u < NV; u++) {
            mgv[u] = v8_ld(mg + 8 * u);
            mgxv[u] = v8_ld(mgx + 8 * u);
        }
        for (int n = 0; n < B; n++) {
            const size_t at = (size_t)n * nstride + (size_t)cb * plane;
            for (size_t e = at; e < at + plane; e += BLK)
                for (int u = 0; u < NV; u++) {
                    const size_t q = e + 8 * (size_t)u;
                    const v8f xv = v8_ld(x + q);
                    v8f g = v8_ld(dy + q);
                    if (relu) g = v8_mask_pos(g, av[u] * xv + bv[u]);
                    const v8f xh = (xv - m[u]) * is[u];
                    v8_st(dx + q, av[u] * (g - mgv[u] - xh * mgxv[u]));
                }
        }
    }
}

void ghm_batchnorm_blocked_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                    const float *mean, const float *invstd, const float *gamma, const float *beta,
                                    int relu, int B, int C, int HW, int blk)
{
    if (blk == 8)
        bnb_backward(dx, dgamma, dbeta, dy, x, mean, invstd, gamma, beta, relu, B, C, HW, 1);
    else
        bnb_backward(dx, dgamma, dbeta, dy, x, mean, invstd, gamma, beta, relu, B, C, HW, 2);
}

void ghm_gap_blocked_forward(float *y, const float *x, int B, int C, int HW, int blk)
{
    const float inv = 1.0f / (float)HW;
    const int CB = C / blk;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++)
        for (int cb = 0; cb < CB; cb++) {
            const float *p = x + ((size_t)b * CB + cb) * HW * blk;
            float s[16] = {0};
            for (int i = 0; i < HW; i++)
                for (int j = 0; j < blk; j++) s[j] += p[(size_t)i * blk + j];
            for (int j = 0; j < blk; j++) y[(size_t)b * C + cb * blk + j] = s[j] * inv;
        }
}

void ghm_gap_nhwc_forward(float *y, const float *x, int B, int C, int HW)
{
    const float inv = 1.0f / (float)HW;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++) {
        float *yb = y + (size_t)b * C;
        const float *p = x + (size_t)b * HW * C;
        for (int c = 0; c < C; c++) yb[c] = 0.0f;
        for (int i = 0; i < HW; i++)
            for (int c = 0; c < C; c++) yb[c] += p[(size_t)i * C + c];
        for (int c = 0; c < C; c++) yb[c] *= inv;
    }
}

void ghm_gap_blocked_backward(float *dx, const float *dy, int B, int C, int HW, int blk)
{
    const float inv = 1.0f / (float)HW;
    const int CB = C / blk;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < B; b++)
        for (int cb = 0; cb < CB; cb++) {
            float *p = dx + ((size_t)b * CB + cb) * HW * blk;
            const float *g = dy + (size_t)b * C + cb * blk;
            for (int i = 0; i < HW; i++)
                for (int j = 0; j < blk; j++) p[(size_t)i * blk + j] = g[j] * inv;
        }
}

#define WGRAD_MAX_PLANE 4096

/* acc[kh * K + kw] = sum over the output positions of g (8 channels) * the input under tap (kh, kw) of
 * one zero-padded image xp (row length WP); K a literal at the hot call, so acc stays in registers */
static inline void wgrad_image(v8f *acc, const float *g, const float *xp, int OH, int OW, int WP, int stride,
                               int blk, const int K)
{
    for (int k = 0; k < K * K; k++) acc[k] = v8_set(0.0f);
    for (int oh = 0; oh < OH; oh++)
        for (int ow = 0; ow < OW; ow++) {
            const v8f gv = v8_ld(g + ((size_t)oh * OW + ow) * blk);
            const float *xr = xp + (size_t)oh * stride * WP + (size_t)ow * stride;
            for (int kh = 0; kh < K; kh++)
                for (int kw = 0; kw < K; kw++) acc[kh * K + kw] += gv * v8_set(xr[kh * WP + kw]);
        }
}

int ghm_conv2d_wgrad_few_in(float *dw, const float *dy, const float *x, int B, int C, int H, int W, int OC, int K,
                            int stride, int pad, int blk)
{
    const int HP = H + 2 * pad, WP = W + 2 * pad, KK = K * K;
    if (K < 1 || K > 5 || (size_t)HP * WP > WGRAD_MAX_PLANE || (blk != 8 && blk != 16) || OC % blk) return -1;
    const int OH = ghm_conv2d_out(H, K, stride, pad), OW = ghm_conv2d_out(W, K, stride, pad);
    const size_t plane = (size_t)OH * OW * blk, nstride = (size_t)(OC / blk) * plane;
    const int groups = OC / 8; /* 8 output channels each: (channel block, half of a 16-block) */
#pragma omp parallel for schedule(static)
    for (int gi = 0; gi < groups; gi++) {
        const int cb = gi * 8 / blk, off = gi * 8 % blk;
        float xp[WGRAD_MAX_PLANE]; /* one image's channel, zero-padded */
        memset(xp, 0, sizeof(float) * (size_t)HP * WP);
        for (int c = 0; c < C; c++) {
            double tot[25][8] = {{0}};
            for (int b = 0; b < B; b++) {
                const float *xs = x + ((size_t)c * B + b) * H * W;
                for (int i = 0; i < H; i++) memcpy(xp + (size_t)(i + pad) * WP + pad, xs + (size_t)i * W, sizeof(float) * W);
                const float *g = dy + (size_t)b * nstride + (size_t)cb * plane + off;
                v8f acc[25];
                if (K == 3)
                    wgrad_image(acc, g, xp, OH, OW, WP, stride, blk, 3);
                else
                    wgrad_image(acc, g, xp, OH, OW, WP, stride, blk, K);
                for (int k = 0; k < KK; k++) {
                    float a[8];
                    v8_st(a, acc[k]);
                    for (int j = 0; j < 8; j++) tot[k][j] += a[j];
                }
            }
            for (int k = 0; k < KK; k++)
                for (int j = 0; j < 8; j++) dw[((size_t)(gi * 8 + j) * C + c) * KK + k] = (float)tot[k][j];
        }
    }
    return 0;
}

void ghm_add_forward(float *y, const float *a, const float *b, size_t n)
{
#pragma omp parallel for schedule(static) if (n > GHM_OMP_MIN_ELEMENTS)
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

void ghm_add_relu_forward(float *y, const float *a, const float *b, size_t n)
{
#pragma omp parallel for schedule(static) if (n > GHM_OMP_MIN_ELEMENTS)
    for (size_t i = 0; i < n; i++) {
        const float v = a[i] + b[i];
        y[i] = v > 0.0f ? v : 0.0f;
    }
}

void ghm_relu_backward_dup(float *dx, float *dx2, const float *dy, const float *y, size_t n)
{
#pragma omp parallel for schedule(static) if (n > GHM_OMP_MIN_ELEMENTS)
    for (size_t i = 0; i < n; i++) {
        const float g = y[i] > 0.0f ? dy[i] : 0.0f;
        dx[i] = g;
        dx2[i] = g;
    }
}

void ghm_add_backward(float *da, const float *dy, size_t n, int accumulate)
{
    if (!da) return;
    if (accumulate) {
#pragma omp parallel for schedule(static) if (n > GHM_OMP_MIN_ELEMENTS)
        for (size_t i = 0; i < n; i++) da[i] += dy[i];
    } else if (da != dy) {
        memcpy(da, dy, sizeof(float) * n);
    }
}

void ghm_l2norm_forward(float *y, const float *x, int B, int D)
{
    for (int b = 0; b < B; b++) {
        const float *xr = x + (size_t)b * D;
        float *yr = y + (size_t)b * D;
        double s = 0.0;
        for (int j = 0; j < D; j++) s += (double)xr[j] * xr[j];
        const float inv = (float)(1.0 / sqrt(s + GHM_L2_EPS));
        for (int j = 0; j < D; j++) yr[j] = xr[j] * inv;
    }
}

void ghm_l2norm_backward(float *dx, const float *dy, const float *x, int B, int D)
{
    for (int b = 0; b < B; b++) {
        const float *xr = x + (size_t)b * D, *gr = dy + (size_t)b * D;
        float *dr = dx + (size_t)b * D;
        double s = 0.0, xg = 0.0;
        for (int j = 0; j < D; j++) {
            s += (double)xr[j] * xr[j];
            xg += (double)xr[j] * gr[j];
        }
        s += GHM_L2_EPS;
        const double inv = 1.0 / sqrt(s);
        const float a = (float)inv, c = (float)(xg * inv / s); /* dx = dy/s - x (x.dy)/s^3 */
        for (int j = 0; j < D; j++) dr[j] = gr[j] * a - xr[j] * c;
    }
}

void ghm_init_uniform_fan_in(float *w, size_t n, int fan_in, struct ghm_rng *rng)
{
    const float bound = 1.0f / sqrtf((float)(fan_in > 0 ? fan_in : 1));
    for (size_t i = 0; i < n; i++) w[i] = ghm_rng_uniformf(rng, -bound, bound);
}

void ghm_init_kaiming_normal(float *w, size_t n, int fan_out, struct ghm_rng *rng)
{
    const double sd = sqrt(2.0 / (fan_out > 0 ? fan_out : 1));
    for (size_t i = 0; i < n; i++) w[i] = (float)(sd * ghm_rng_normal(rng));
}
