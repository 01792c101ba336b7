/* Dense layers: layout transposes, linear, ReLU, batch norm, residual add, L2
 * normalisation and PyTorch-style initialisers. See core/layers.h. */
#include "layers.h"

#include "rng.h"

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

void ghm_relu_forward(float *y, const float *x, size_t n)
{
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void ghm_relu_backward(float *dx, const float *dy, const float *y, size_t n)
{
#pragma omp parallel for schedule(static) if (n > 65536)
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
 * numbers do not depend on the thread count. BLK is a literal at every call, so the lane loops vectorise. */

static inline void bnb_forward(float *y, float *mean, float *invstd, float *running_mean, float *running_var,
                               const float *x, const float *gamma, const float *beta, int B, int C, int HW, int train,
                               int relu, const int BLK)
{
    const int CB = C / BLK;
    const size_t plane = (size_t)HW * BLK, nstride = (size_t)CB * plane;
    const double N = (double)B * HW;
#pragma omp parallel for schedule(static)
    for (int cb = 0; cb < CB; cb++) {
        float a[16], b0[16];
        const int c0 = cb * BLK;
        if (train) {
            double s[16] = {0}, v[16] = {0}, mu[16];
            /* per image: float partial sums over its HW values (vector lanes), then into double */
            for (int n = 0; n < B; n++) {
                const float *p = x + (size_t)n * nstride + (size_t)cb * plane;
                float f[16] = {0};
                for (int i = 0; i < HW; i++)
                    for (int j = 0; j < BLK; j++) f[j] += p[(size_t)i * BLK + j];
                for (int j = 0; j < BLK; j++) s[j] += f[j];
            }
            float muf[16];
            for (int j = 0; j < BLK; j++) {
                mu[j] = s[j] / N;
                muf[j] = (float)mu[j];
            }
            for (int n = 0; n < B; n++) {
                const float *p = x + (size_t)n * nstride + (size_t)cb * plane;
                float f[16] = {0};
                for (int i = 0; i < HW; i++)
                    for (int j = 0; j < BLK; j++) {
                        const float d = p[(size_t)i * BLK + j] - muf[j];
                        f[j] += d * d;
                    }
                for (int j = 0; j < BLK; j++) v[j] += f[j];
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
        for (int n = 0; n < B; n++) {
            const size_t at = (size_t)n * nstride + (size_t)cb * plane;
            const float *p = x + at;
            float *q = y + at;
            for (int i = 0; i < HW; i++)
                for (int j = 0; j < BLK; j++) {
                    const float t = a[j] * p[(size_t)i * BLK + j] + b0[j];
                    q[(size_t)i * BLK + j] = relu && t < 0.0f ? 0.0f : t;
                }
        }
    }
}

void ghm_batchnorm_blocked_forward(float *y, float *mean, float *invstd, float *running_mean, float *running_var,
                                   const float *x, const float *gamma, const float *beta, int B, int C, int HW,
                                   int blk, int train, int relu)
{
    if (blk == 8)
        bnb_forward(y, mean, invstd, running_mean, running_var, x, gamma, beta, B, C, HW, train, relu, 8);
    else
        bnb_forward(y, mean, invstd, running_mean, running_var, x, gamma, beta, B, C, HW, train, relu, 16);
}

static inline void bnb_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                const float *mean, const float *invstd, const float *gamma, const float *z, int B,
                                int C, int HW, const int BLK)
{
    const int CB = C / BLK;
    const size_t plane = (size_t)HW * BLK, nstride = (size_t)CB * plane;
    const double N = (double)B * HW;
#pragma omp parallel for schedule(static)
    for (int cb = 0; cb < CB; cb++) {
        const int c0 = cb * BLK;
        float m[16], is[16], k[16], mg[16], mgx[16];
        double sg[16] = {0}, sgx[16] = {0}; /* sum dy, sum dy * xhat (dy after the ReLU mask) */
        for (int j = 0; j < BLK; j++) {
            m[j] = mean[c0 + j];
            is[j] = invstd[c0 + j];
        }
        for (int n = 0; n < B; n++) { /* per image in float lanes, then into double */
            const size_t at = (size_t)n * nstride + (size_t)cb * plane;
            const float *p = x + at, *g = dy + at, *zz = z ? z + at : NULL;
            float f[16] = {0}, fx[16] = {0};
            for (int i = 0; i < HW; i++)
                for (int j = 0; j < BLK; j++) {
                    const size_t e = (size_t)i * BLK + j;
                    const float gv = zz && !(zz[e] > 0.0f) ? 0.0f : g[e];
                    f[j] += gv;
                    fx[j] += gv * ((p[e] - m[j]) * is[j]);
                }
            for (int j = 0; j < BLK; j++) {
                sg[j] += f[j];
                sgx[j] += fx[j];
            }
        }
        for (int j = 0; j < BLK; j++) {
            if (dgamma) dgamma[c0 + j] = (float)sgx[j];
            if (dbeta) dbeta[c0 + j] = (float)sg[j];
            k[j] = gamma[c0 + j] * is[j];
            mg[j] = (float)(sg[j] / N);
            mgx[j] = (float)(sgx[j] / N);
        }
        if (!dx) continue;
        for (int n = 0; n < B; n++) {
            const size_t at = (size_t)n * nstride + (size_t)cb * plane;
            const float *p = x + at, *g = dy + at, *zz = z ? z + at : NULL;
            float *d = dx + at;
            for (int i = 0; i < HW; i++)
                for (int j = 0; j < BLK; j++) {
                    const size_t e = (size_t)i * BLK + j;
                    const float gv = zz && !(zz[e] > 0.0f) ? 0.0f : g[e];
                    const float xh = (p[e] - m[j]) * is[j];
                    d[e] = k[j] * (gv - mg[j] - xh * mgx[j]);
                }
        }
    }
}

void ghm_batchnorm_blocked_backward(float *dx, float *dgamma, float *dbeta, const float *dy, const float *x,
                                    const float *mean, const float *invstd, const float *gamma, const float *z, int B,
                                    int C, int HW, int blk)
{
    if (blk == 8)
        bnb_backward(dx, dgamma, dbeta, dy, x, mean, invstd, gamma, z, B, C, HW, 8);
    else
        bnb_backward(dx, dgamma, dbeta, dy, x, mean, invstd, gamma, z, B, C, HW, 16);
}

void ghm_add_forward(float *y, const float *a, const float *b, size_t n)
{
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

void ghm_add_relu_forward(float *y, const float *a, const float *b, size_t n)
{
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) {
        const float v = a[i] + b[i];
        y[i] = v > 0.0f ? v : 0.0f;
    }
}

void ghm_relu_backward_dup(float *dx, float *dx2, const float *dy, const float *y, size_t n)
{
#pragma omp parallel for schedule(static) if (n > 65536)
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
#pragma omp parallel for schedule(static) if (n > 65536)
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
