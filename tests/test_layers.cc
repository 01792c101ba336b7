// Layer tests: finite-difference gradient checks and reference comparisons.
//
// Gradient checks use the scalar L = sum(y * r) for a fixed random r, so
// dL/dy = r is fed to the backward. Numeric gradients are central differences
// (L(p+h) - L(p-h)) / 2h with L accumulated in double over a float forward.
// Tolerance: the layers compute in float32 (relative rounding ~6e-8 per op);
// with |L| = O(10) the rounding noise in L is ~1e-5 at worst, which after
// division by 2h (h = 1e-2) is ~1e-3 absolute. Linear maps (linear, conv,
// pooling, add) have no truncation error; smooth non-linear ones (batch norm,
// L2 normalisation) have O(h^2) truncation error, ~1e-4 relative here. So we
// accept |num - ana| <= 1e-2 * max(|num|, |ana|) + 3e-3. Piecewise-linear ops
// (ReLU, max-pool) are tested on inputs kept > h away from their kinks.
#include <gtest/gtest.h>

#include "layer_test_util.h"

#include <cmath>
#include <functional>
#include <vector>

extern "C" {
#include "nn/layers.h"
#include "core/rng.h"
}

namespace {

using ghm_test::rand_vec;

double dot(const std::vector<float> &a, const std::vector<float> &b)
{
    double s = 0;
    for (size_t i = 0; i < a.size(); i++) s += (double)a[i] * b[i];
    return s;
}

const double kRel = 1e-2, kAbs = 3e-3, kH = 1e-2;

// Check analytic gradient `ana` of loss() w.r.t. every coordinate of p.
void check_grad(const char *what, std::vector<float> &p, const std::vector<float> &ana,
                const std::function<double()> &loss, double h = kH)
{
    ASSERT_EQ(p.size(), ana.size());
    for (size_t i = 0; i < p.size(); i++) {
        const float keep = p[i];
        p[i] = keep + (float)h;
        const double lp = loss();
        p[i] = keep - (float)h;
        const double lm = loss();
        p[i] = keep;
        const double num = (lp - lm) / (2 * h);
        const double tol = kRel * std::max(std::fabs(num), std::fabs((double)ana[i])) + kAbs;
        ASSERT_NEAR(ana[i], num, tol) << what << " coordinate " << i;
    }
}

// Values spaced >= 0.02 apart in random order, away from 0: no kinks within h.
std::vector<float> distinct_vec(size_t n, uint64_t seed)
{
    std::vector<int> idx(n);
    for (size_t i = 0; i < n; i++) idx[i] = (int)i;
    ghm_rng r;
    ghm_rng_seed(&r, seed, GHM_STREAM_USER);
    ghm_rng_shuffle(&r, idx.data(), (int)n);
    std::vector<float> v(n);
    for (size_t i = 0; i < n; i++) {
        float x = -1.0f + 0.02f * (float)idx[i] * (2.0f / (float)(n > 100 ? n / 100.0 : 1.0));
        if (std::fabs(x) < 0.03f) x += 0.05f;
        v[i] = x;
    }
    return v;
}

}  // namespace

TEST(Layers, LinearGradients)
{
    const int B = 3, I = 5, O = 4;
    auto x = rand_vec(B * I, 1), w = rand_vec(O * I, 2), b = rand_vec(O, 3), r = rand_vec(B * O, 4);
    std::vector<float> y(B * O), dx(B * I), dw(O * I), db(O);
    auto loss = [&] {
        ghm_linear_forward(y.data(), x.data(), w.data(), b.data(), B, I, O);
        return dot(y, r);
    };
    loss();
    // forward against a hand loop
    for (int i = 0; i < B; i++)
        for (int o = 0; o < O; o++) {
            double s = b[o];
            for (int k = 0; k < I; k++) s += (double)x[i * I + k] * w[o * I + k];
            EXPECT_NEAR(y[i * O + o], s, 1e-5);
        }
    ghm_linear_backward(dx.data(), dw.data(), db.data(), r.data(), x.data(), w.data(), B, I, O);
    check_grad("linear dx", x, dx, loss);
    check_grad("linear dw", w, dw, loss);
    check_grad("linear db", b, db, loss);
}

TEST(Layers, ReluGradient)
{
    const size_t n = 50;
    auto x = distinct_vec(n, 5), r = rand_vec(n, 6);
    std::vector<float> y(n), dx(n);
    auto loss = [&] {
        ghm_relu_forward(y.data(), x.data(), n);
        return dot(y, r);
    };
    loss();
    for (size_t i = 0; i < n; i++) EXPECT_EQ(y[i], x[i] > 0 ? x[i] : 0.0f);
    ghm_relu_backward(dx.data(), r.data(), y.data(), n);
    check_grad("relu dx", x, dx, loss);
}

TEST(Layers, LayoutRoundTrip)
{
    const int B = 3, C = 4, HW = 5;
    auto x = rand_vec(B * C * HW, 7);
    std::vector<float> y(x.size()), z(x.size());
    ghm_nchw_to_cbhw(y.data(), x.data(), B, C, HW);
    EXPECT_EQ(y[(2 * B + 1) * HW + 3], x[(1 * C + 2) * HW + 3]);
    ghm_cbhw_to_nchw(z.data(), y.data(), B, C, HW);
    EXPECT_EQ(x, z);
}

// Direct convolution in double, NCHW-free indexing on (C, B, H, W).
static std::vector<double> conv_ref(const std::vector<float> &x, const std::vector<float> &w, const float *bias, int B,
                                    int C, int H, int W, int OC, int K, int S, int P)
{
    const int OH = ghm_conv2d_out(H, K, S, P), OW = ghm_conv2d_out(W, K, S, P);
    std::vector<double> y((size_t)OC * B * OH * OW);
    for (int o = 0; o < OC; o++)
        for (int b = 0; b < B; b++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    double s = bias ? bias[o] : 0.0;
                    for (int c = 0; c < C; c++)
                        for (int kh = 0; kh < K; kh++)
                            for (int kw = 0; kw < K; kw++) {
                                int ih = oh * S - P + kh, iw = ow * S - P + kw;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                                s += (double)x[(((size_t)c * B + b) * H + ih) * W + iw] *
                                     w[(((size_t)o * C + c) * K + kh) * K + kw];
                            }
                    y[(((size_t)o * B + b) * OH + oh) * OW + ow] = s;
                }
    return y;
}

struct ConvCase {
    int B, C, H, W, OC, K, S, P, chunk;
};

class ConvTest : public ::testing::TestWithParam<ConvCase> {};

TEST_P(ConvTest, ForwardMatchesReferenceAndGradients)
{
    const ConvCase c = GetParam();
    const int OH = ghm_conv2d_out(c.H, c.K, c.S, c.P), OW = ghm_conv2d_out(c.W, c.K, c.S, c.P);
    auto x = rand_vec((size_t)c.C * c.B * c.H * c.W, 11), w = rand_vec((size_t)c.OC * c.C * c.K * c.K, 12),
         b = rand_vec(c.OC, 13), r = rand_vec((size_t)c.OC * c.B * OH * OW, 14);
    const int chunk = c.chunk > 0 ? c.chunk : c.B;
    std::vector<float> y(r.size()), col(ghm_conv2d_col_size(c.C, c.K, OH, OW, chunk));
    std::vector<float> dx(x.size()), dw(w.size()), db(b.size());
    auto loss = [&] {
        ghm_conv2d_forward(y.data(), col.data(), x.data(), w.data(), b.data(), c.B, c.C, c.H, c.W, c.OC, c.K, c.S,
                           c.P, chunk);
        return dot(y, r);
    };
    loss();
    auto ref = conv_ref(x, w, b.data(), c.B, c.C, c.H, c.W, c.OC, c.K, c.S, c.P);
    for (size_t i = 0; i < y.size(); i++) ASSERT_NEAR(y[i], ref[i], 1e-4) << i;
    ghm_conv2d_backward(dx.data(), dw.data(), db.data(), r.data(), x.data(), w.data(), col.data(), chunk >= c.B, c.B,
                        c.C, c.H, c.W, c.OC, c.K, c.S, c.P, chunk);
    check_grad("conv dx", x, dx, loss);
    check_grad("conv dw", w, dw, loss);
    check_grad("conv db", b, db, loss);
}

INSTANTIATE_TEST_SUITE_P(Shapes, ConvTest,
                         ::testing::Values(ConvCase{2, 1, 8, 8, 3, 5, 1, 0, 0},   // convnet-like, cached col
                                           ConvCase{2, 2, 7, 6, 3, 3, 2, 1, 1},   // stride 2, padding, chunks of 1
                                           ConvCase{3, 2, 6, 6, 2, 3, 1, 1, 2},   // uneven chunks
                                           ConvCase{2, 3, 5, 5, 4, 1, 1, 0, 0},   // 1x1 direct path
                                           ConvCase{2, 2, 6, 6, 3, 1, 2, 0, 0},   // 1x1 stride 2
                                           ConvCase{1, 1, 4, 4, 2, 3, 1, 2, 0})); // padding > K/2

TEST(Layers, Im2colAdjoint)
{
    // <im2col(x), c> == <x, col2im(c)> for stride 2 + padding
    const int B = 2, C = 3, H = 7, W = 5, K = 3, S = 2, P = 1;
    const int OH = ghm_conv2d_out(H, K, S, P), OW = ghm_conv2d_out(W, K, S, P);
    auto x = rand_vec((size_t)C * B * H * W, 21), cv = rand_vec((size_t)C * K * K * B * OH * OW, 22);
    std::vector<float> col(cv.size()), dx(x.size());
    ghm_im2col(col.data(), x.data(), B, C, H, W, K, S, P);
    ghm_col2im(dx.data(), cv.data(), B, C, H, W, K, S, P);
    EXPECT_NEAR(dot(col, cv), dot(x, dx), 1e-4);
}

TEST(Layers, MaxPoolWithBiasReluGradients)
{
    const int C = 2, B = 2, H = 6, W = 6, K = 2, S = 2, OH = 3, OW = 3;
    const int P = C * B;
    auto x = distinct_vec((size_t)P * H * W, 31), r = rand_vec((size_t)P * OH * OW, 32);
    std::vector<float> bias = {0.013f, -0.007f}; // keeps x + b away from 0 by > h
    std::vector<float> y(r.size()), dx(x.size());
    std::vector<int32_t> arg(r.size());
    auto loss = [&] {
        ghm_maxpool_forward(y.data(), arg.data(), x.data(), bias.data(), 1, P, B, H, W, K, S);
        return dot(y, r);
    };
    loss();
    for (int p = 0; p < P; p++)
        for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++) {
                float m = -1e9f;
                for (int kh = 0; kh < K; kh++)
                    for (int kw = 0; kw < K; kw++) m = std::max(m, x[(p * H + oh * S + kh) * W + ow * S + kw]);
                m = std::max(m + bias[p / B], 0.0f);
                EXPECT_EQ(y[(p * OH + oh) * OW + ow], m);
            }
    ghm_maxpool_backward(dx.data(), r.data(), y.data(), arg.data(), 1, P, H, W, K, S);
    check_grad("maxpool dx", x, dx, loss);
}

TEST(Layers, MaxPoolOverlappingGradients)
{
    const int P = 3, H = 7, W = 7, K = 3, S = 2, OH = 3, OW = 3;
    auto x = distinct_vec((size_t)P * H * W, 33), r = rand_vec((size_t)P * OH * OW, 34);
    std::vector<float> y(r.size()), dx(x.size());
    std::vector<int32_t> arg(r.size());
    auto loss = [&] {
        ghm_maxpool_forward(y.data(), arg.data(), x.data(), nullptr, 0, P, 1, H, W, K, S);
        return dot(y, r);
    };
    loss();
    ghm_maxpool_backward(dx.data(), r.data(), y.data(), arg.data(), 0, P, H, W, K, S);
    check_grad("maxpool overlap dx", x, dx, loss);
}

TEST(Layers, AvgPoolAndGlobalAvgPoolGradients)
{
    const int P = 2, H = 6, W = 6, K = 3, S = 3;
    auto x = rand_vec((size_t)P * H * W, 41), r = rand_vec(P * 4, 42);
    std::vector<float> y(r.size()), dx(x.size());
    auto loss = [&] {
        ghm_avgpool_forward(y.data(), x.data(), P, H, W, K, S);
        return dot(y, r);
    };
    loss();
    double s = 0;
    for (int kh = 0; kh < 3; kh++)
        for (int kw = 0; kw < 3; kw++) s += x[kh * W + kw];
    EXPECT_NEAR(y[0], s / 9, 1e-6);
    ghm_avgpool_backward(dx.data(), r.data(), P, H, W, K, S);
    check_grad("avgpool dx", x, dx, loss);

    const int B = 3, C = 2, HW = 5;
    auto g = rand_vec((size_t)C * B * HW, 43), rg = rand_vec(B * C, 44);
    std::vector<float> gy(B * C), gdx(g.size());
    auto gloss = [&] {
        ghm_gap_forward(gy.data(), g.data(), B, C, HW);
        return dot(gy, rg);
    };
    gloss();
    double m = 0;
    for (int i = 0; i < HW; i++) m += g[(1 * B + 2) * HW + i];
    EXPECT_NEAR(gy[2 * C + 1], m / HW, 1e-6); // y[b=2][c=1]
    ghm_gap_backward(gdx.data(), rg.data(), B, C, HW);
    check_grad("gap dx", g, gdx, gloss);
}

TEST(Layers, BatchNormTrainGradientsAndRunningStats)
{
    const int C = 3, N = 10;
    auto x = rand_vec(C * N, 51, -2, 3), gamma = rand_vec(C, 52, 0.5, 1.5), beta = rand_vec(C, 53),
         r = rand_vec(C * N, 54);
    std::vector<float> y(C * N), mean(C), invstd(C), rm(C, 0.0f), rv(C, 1.0f);
    std::vector<float> dx(C * N), dg(C), dbt(C);
    auto loss = [&] {
        ghm_batchnorm_forward(y.data(), mean.data(), invstd.data(), rm.data(), rv.data(), x.data(), gamma.data(),
                              beta.data(), C, N, 1);
        return dot(y, r);
    };
    loss();
    // statistics: biased variance normalises, unbiased variance feeds running_var (PyTorch)
    for (int c = 0; c < C; c++) {
        double mu = 0, v = 0;
        for (int i = 0; i < N; i++) mu += x[c * N + i];
        mu /= N;
        for (int i = 0; i < N; i++) v += (x[c * N + i] - mu) * (x[c * N + i] - mu);
        EXPECT_NEAR(mean[c], mu, 1e-6);
        EXPECT_NEAR(invstd[c], 1 / std::sqrt(v / N + 1e-5), 1e-5);
        EXPECT_NEAR(rm[c], 0.1 * mu, 1e-6);
        EXPECT_NEAR(rv[c], 0.9 + 0.1 * v / (N - 1), 1e-5);
        EXPECT_NEAR(y[c * N], gamma[c] * (x[c * N] - mu) / std::sqrt(v / N + 1e-5) + beta[c], 1e-5);
    }
    std::vector<float> dy = r;
    ghm_batchnorm_backward(dx.data(), dg.data(), dbt.data(), dy.data(), x.data(), mean.data(), invstd.data(),
                           gamma.data(), C, N);
    // in-place variant (dx aliases dy) gives the same
    std::vector<float> dx2 = r;
    ghm_batchnorm_backward(dx2.data(), nullptr, nullptr, dx2.data(), x.data(), mean.data(), invstd.data(),
                           gamma.data(), C, N);
    for (int i = 0; i < C * N; i++) EXPECT_FLOAT_EQ(dx[i], dx2[i]);
    check_grad("bn dx", x, dx, loss);
    check_grad("bn dgamma", gamma, dg, loss);
    check_grad("bn dbeta", beta, dbt, loss);
}

TEST(Layers, BatchNormEvalUsesRunningStats)
{
    const int C = 2, N = 4;
    std::vector<float> x = {1, 2, 3, 4, -1, 0, 5, 8}, gamma = {2, 0.5}, beta = {0.1f, -0.3f};
    std::vector<float> rm = {0.5f, -1.0f}, rv = {4.0f, 0.25f}, y(C * N);
    ghm_batchnorm_forward(y.data(), nullptr, nullptr, rm.data(), rv.data(), x.data(), gamma.data(), beta.data(), C, N,
                          0);
    for (int c = 0; c < C; c++)
        for (int i = 0; i < N; i++)
            EXPECT_NEAR(y[c * N + i], gamma[c] * (x[c * N + i] - rm[c]) / std::sqrt(rv[c] + 1e-5) + beta[c], 1e-5);
    EXPECT_EQ(rm[0], 0.5f); // eval leaves running stats alone
    EXPECT_EQ(rv[1], 0.25f);
}

TEST(Layers, ResidualAdd)
{
    const size_t n = 7;
    auto a = rand_vec(n, 61), b = rand_vec(n, 62), r = rand_vec(n, 63);
    std::vector<float> y(n), da(n, 0.0f), db(n, 1.0f);
    auto loss = [&] {
        ghm_add_forward(y.data(), a.data(), b.data(), n);
        return dot(y, r);
    };
    loss();
    ghm_add_backward(da.data(), r.data(), n, 0);
    check_grad("add da", a, da, loss);
    ghm_add_backward(db.data(), r.data(), n, 1); // accumulates onto 1
    for (size_t i = 0; i < n; i++) EXPECT_FLOAT_EQ(db[i], 1.0f + r[i]);
}

TEST(Layers, L2NormGradients)
{
    const int B = 3, D = 6;
    auto x = rand_vec(B * D, 71), r = rand_vec(B * D, 72);
    std::vector<float> y(B * D), dx(B * D);
    auto loss = [&] {
        ghm_l2norm_forward(y.data(), x.data(), B, D);
        return dot(y, r);
    };
    loss();
    for (int b = 0; b < B; b++) {
        double s = 0;
        for (int j = 0; j < D; j++) s += (double)y[b * D + j] * y[b * D + j];
        EXPECT_NEAR(s, 1.0, 1e-5);
    }
    ghm_l2norm_backward(dx.data(), r.data(), x.data(), B, D);
    // smooth but curved: a smaller step keeps the O(h^2) truncation error small
    check_grad("l2norm dx", x, dx, loss, 3e-3);
    // in place (dx aliases dy)
    std::vector<float> g = r;
    ghm_l2norm_backward(g.data(), g.data(), x.data(), B, D);
    for (int i = 0; i < B * D; i++) EXPECT_FLOAT_EQ(g[i], dx[i]);
}

TEST(Layers, InitBounds)
{
    ghm_rng r;
    ghm_rng_seed(&r, 1, GHM_STREAM_USER);
    std::vector<float> w(10000);
    ghm_init_uniform_fan_in(w.data(), w.size(), 25, &r);
    double mx = 0, mean = 0;
    for (float v : w) {
        mx = std::max(mx, (double)std::fabs(v));
        mean += v;
    }
    EXPECT_LE(mx, 0.2);
    EXPECT_GT(mx, 0.19);
    EXPECT_NEAR(mean / w.size(), 0.0, 0.01);
}
