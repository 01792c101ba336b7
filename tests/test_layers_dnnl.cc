// oneDNN backend (nn/layer_dnnl.c) against the reference layers: convolution
// forward / input and weight gradients in both layouts, the fused inference form
// (bias, residual sum, ReLU as post-ops; inference only, so no gradient to check), the batch norm (+ ReLU)
// kernel for oneDNN's blocked maps (nn/layers.c), finite-difference checks of
// both, and run-to-run identity.
//
// Tolerance against the reference: both compute in float32 with different
// summation orders (oneDNN accumulates in its own blocking, the reference in
// sgemm's), so each output of a sum of n terms of size O(s) differs by
// ~n * 6e-8 * s. With n <= 600 here and values O(1) that is < 1e-4; we accept
// |dnnl - ref| <= 2e-4 * (1 + |ref|) for convolutions. Finite differences use
// the tolerances of test_layers.cc.
// Skipped (with a message) when the build has no oneDNN.
#include <gtest/gtest.h>

#include "layer_test_util.h"

#include <cmath>
#include <cstring>
#include <functional>
#include <vector>

extern "C" {
#include "nn/layers.h"
#include "core/rng.h"
#include "core/threads.h"
}

namespace {

using ghm_test::rand_vec;

double dot(const std::vector<float> &a, const std::vector<float> &b)
{
    double s = 0;
    for (size_t i = 0; i < a.size(); i++) s += (double)a[i] * b[i];
    return s;
}

void expect_close(const std::vector<float> &a, const std::vector<float> &ref, double rel, const char *what)
{
    ASSERT_EQ(a.size(), ref.size()) << what;
    double worst = 0;
    for (size_t i = 0; i < a.size(); i++) {
        const double d = std::fabs((double)a[i] - ref[i]) / (1.0 + std::fabs((double)ref[i]));
        if (d > worst) worst = d;
        ASSERT_LE(d, rel) << what << " [" << i << "] dnnl " << a[i] << " ref " << ref[i];
    }
}

void check_grad(const char *what, std::vector<float> &p, const std::vector<float> &ana,
                const std::function<double()> &loss, double h = 1e-2)
{
    for (size_t i = 0; i < p.size(); i++) {
        const float keep = p[i];
        p[i] = keep + (float)h;
        const double lp = loss();
        p[i] = keep - (float)h;
        const double lm = loss();
        p[i] = keep;
        const double num = (lp - lm) / (2 * h);
        const double tol = 1e-2 * std::max(std::fabs(num), std::fabs((double)ana[i])) + 3e-3;
        ASSERT_NEAR(ana[i], num, tol) << what << " coordinate " << i;
    }
}

#define NEED_DNNL()                                                                                                  \
    do {                                                                                                             \
        if (!ghm_conv_dnnl_available()) GTEST_SKIP() << "built without oneDNN (libdnnl-dev): nothing to compare";    \
    } while (0)

struct Shape {
    int B, C, H, OC, K, S, P;
};

// oneDNN may lack a fast kernel for a shape on some CPU (which kernels exist depends on the ISA: AVX2,
// AVX-512, ...); then ghm_conv_dnnl_create returns NULL and the callers take the reference path (tested
// on its own in DnnlFallback and Backbones.ResnetDnnlFallsBackWhenAPrimitiveFails). That is the only
// acceptable NULL: when oneDNN has a fast kernel, the primitives must come up, whatever layouts it picks.
#define NEED_CONV(c, B, C, H, OC, K, S, P)                                                                           \
    do {                                                                                                             \
        if (!(c)) {                                                                                                  \
            ASSERT_FALSE(ghm_conv_dnnl_fast_kernel(B, C, H, H, OC, K, S, P))                                         \
                << "oneDNN has a fast kernel for this shape but the primitives were not set up";                     \
            GTEST_SKIP() << "oneDNN has no fast kernel for this shape on this CPU (the reference path runs)";        \
        }                                                                                                            \
    } while (0)

class DnnlConv : public ::testing::TestWithParam<Shape> {};

// (C, B, H, W) in and out: equal to the reference im2col + sgemm, forward and backward.
TEST_P(DnnlConv, MatchesReferencePlainLayout)
{
    NEED_DNNL();
    const Shape s = GetParam();
    const int OH = ghm_conv2d_out(s.H, s.K, s.S, s.P);
    auto x = rand_vec((size_t)s.C * s.B * s.H * s.H, 1), w = rand_vec((size_t)s.OC * s.C * s.K * s.K, 2),
         dy = rand_vec((size_t)s.OC * s.B * OH * OH, 3);
    ghm_conv_dnnl *c = ghm_conv_dnnl_create(s.B, s.C, s.H, s.H, s.OC, s.K, s.S, s.P, 1, 0, 0);
    NEED_CONV(c, s.B, s.C, s.H, s.OC, s.K, s.S, s.P);
    std::vector<float> ws(ghm_conv_dnnl_ws_size(c) + 1), col(ghm_conv2d_col_size(s.C, s.K, OH, OH, s.B));
    std::vector<float> y(dy.size()), yr(dy.size()), dx(x.size()), dxr(x.size()), dw(w.size()), dwr(w.size());
    ASSERT_EQ(0, ghm_conv_dnnl_forward(c, ws.data(), y.data(), x.data(), w.data()));
    ghm_conv2d_forward(yr.data(), col.data(), x.data(), w.data(), nullptr, s.B, s.C, s.H, s.H, s.OC, s.K, s.S, s.P,
                       s.B);
    expect_close(y, yr, 2e-4, "y");
    ASSERT_EQ(0, ghm_conv_dnnl_backward(c, ws.data(), dx.data(), dw.data(), dy.data(), x.data(), w.data()));
    ghm_conv2d_backward(dxr.data(), dwr.data(), nullptr, dy.data(), x.data(), w.data(), col.data(), 0, s.B, s.C, s.H,
                        s.H, s.OC, s.K, s.S, s.P, s.B);
    expect_close(dx, dxr, 2e-4, "dx");
    expect_close(dw, dwr, 2e-4, "dw");
    // the same inputs give the same bits again
    std::vector<float> y2(y.size()), dw2(w.size());
    ASSERT_EQ(0, ghm_conv_dnnl_forward(c, ws.data(), y2.data(), x.data(), w.data()));
    ASSERT_EQ(0, ghm_conv_dnnl_backward(c, ws.data(), nullptr, dw2.data(), dy.data(), x.data(), w.data()));
    EXPECT_EQ(0, std::memcmp(y.data(), y2.data(), sizeof(float) * y.size()));
    EXPECT_EQ(0, std::memcmp(dw.data(), dw2.data(), sizeof(float) * dw.size()));
    ghm_conv_dnnl_destroy(c);
}

// Blocked layout in and out (the residual network's path): the same numbers after converting.
TEST_P(DnnlConv, MatchesReferenceBlockedLayout)
{
    NEED_DNNL();
    const Shape s = GetParam();
    const int OH = ghm_conv2d_out(s.H, s.K, s.S, s.P);
    auto x = rand_vec((size_t)s.C * s.B * s.H * s.H, 4), w = rand_vec((size_t)s.OC * s.C * s.K * s.K, 5),
         dy = rand_vec((size_t)s.OC * s.B * OH * OH, 6);
    ghm_conv_dnnl *c = ghm_conv_dnnl_create(s.B, s.C, s.H, s.H, s.OC, s.K, s.S, s.P, 1, 1, 1);
    NEED_CONV(c, s.B, s.C, s.H, s.OC, s.K, s.S, s.P);
    ghm_dnnl_reorder *xin = ghm_dnnl_reorder_create(s.B, s.C, s.H, s.H, 1),
                     *xout = ghm_dnnl_reorder_create(s.B, s.C, s.H, s.H, 0),
                     *yin = ghm_dnnl_reorder_create(s.B, s.OC, OH, OH, 1),
                     *yout = ghm_dnnl_reorder_create(s.B, s.OC, OH, OH, 0);
    ASSERT_TRUE(xin && xout && yin && yout);
    std::vector<float> xb(ghm_dnnl_map_size(s.B, s.C, s.H, s.H, 1)), yb(ghm_dnnl_map_size(s.B, s.OC, OH, OH, 1));
    std::vector<float> dyb(yb.size()), dxb(xb.size()), ws(ghm_conv_dnnl_ws_size(c) + 1);
    std::vector<float> y(dy.size()), yr(dy.size()), dx(x.size()), dxr(x.size()), dw(w.size()), dwr(w.size());
    std::vector<float> col(ghm_conv2d_col_size(s.C, s.K, OH, OH, s.B));
    ASSERT_EQ(0, ghm_dnnl_reorder_run(xin, xb.data(), x.data()));
    ASSERT_EQ(0, ghm_conv_dnnl_forward(c, ws.data(), yb.data(), xb.data(), w.data()));
    ASSERT_EQ(0, ghm_dnnl_reorder_run(yout, y.data(), yb.data()));
    ghm_conv2d_forward(yr.data(), col.data(), x.data(), w.data(), nullptr, s.B, s.C, s.H, s.H, s.OC, s.K, s.S, s.P,
                       s.B);
    expect_close(y, yr, 2e-4, "y");
    ASSERT_EQ(0, ghm_dnnl_reorder_run(yin, dyb.data(), dy.data()));
    ASSERT_EQ(0, ghm_conv_dnnl_backward(c, ws.data(), dxb.data(), dw.data(), dyb.data(), xb.data(), w.data()));
    ASSERT_EQ(0, ghm_dnnl_reorder_run(xout, dx.data(), dxb.data()));
    ghm_conv2d_backward(dxr.data(), dwr.data(), nullptr, dy.data(), x.data(), w.data(), col.data(), 0, s.B, s.C, s.H,
                        s.H, s.OC, s.K, s.S, s.P, s.B);
    expect_close(dx, dxr, 2e-4, "dx");
    expect_close(dw, dwr, 2e-4, "dw");
    for (auto *o : {xin, xout, yin, yout}) ghm_dnnl_reorder_destroy(o);
    ghm_conv_dnnl_destroy(c);
}

// The fused inference form (batch norm folded into w and bias, then the residual sum and ReLU as
// post-ops): y = relu?(conv(x, w) + bias (+ y0)) equals the reference convolution with bias followed
// by the reference add and ReLU, in the plain layout (the sum then goes through oneDNN's reorder of
// y0 into its layout) and in the blocked one (y0 read in place); the same bits when run again.
TEST_P(DnnlConv, FusedInferenceMatchesReference)
{
    NEED_DNNL();
    const Shape s = GetParam();
    const int OH = ghm_conv2d_out(s.H, s.K, s.S, s.P);
    auto x = rand_vec((size_t)s.C * s.B * s.H * s.H, 7), w = rand_vec((size_t)s.OC * s.C * s.K * s.K, 8),
         bias = rand_vec((size_t)s.OC, 9), y0 = rand_vec((size_t)s.OC * s.B * OH * OH, 10);
    std::vector<float> col(ghm_conv2d_col_size(s.C, s.K, OH, OH, s.B)), conv(y0.size());
    ghm_conv2d_forward(conv.data(), col.data(), x.data(), w.data(), bias.data(), s.B, s.C, s.H, s.H, s.OC, s.K, s.S,
                       s.P, s.B);
    for (int blocked = 0; blocked < 2; blocked++)
        for (int sum = 0; sum < 2; sum++)
            for (int relu = 0; relu < 2; relu++) {
                SCOPED_TRACE(testing::Message() << "blocked " << blocked << " sum " << sum << " relu " << relu);
                std::vector<float> ref(conv);
                for (size_t i = 0; i < ref.size(); i++) {
                    if (sum) ref[i] += y0[i];
                    if (relu && ref[i] < 0.0f) ref[i] = 0.0f;
                }
                ghm_conv_dnnl *c = ghm_conv_dnnl_create_fused(s.B, s.C, s.H, s.H, s.OC, s.K, s.S, s.P, blocked,
                                                              blocked, sum, relu);
                NEED_CONV(c, s.B, s.C, s.H, s.OC, s.K, s.S, s.P);
                // a fused primitive has no bias-free forward and no backward
                std::vector<float> ws(ghm_conv_dnnl_ws_size(c) + 1), y(y0.size());
                EXPECT_EQ(-1, ghm_conv_dnnl_forward(c, ws.data(), y.data(), x.data(), w.data()));
                EXPECT_EQ(-1, ghm_conv_dnnl_backward(c, ws.data(), nullptr, w.data(), y0.data(), x.data(), w.data()));
                std::vector<float> got(y0.size()), again(y0.size());
                for (auto *out : {&got, &again}) {
                    if (!blocked) {
                        *out = y0;
                        ASSERT_EQ(0, ghm_conv_dnnl_forward_fused(c, ws.data(), out->data(), x.data(), w.data(),
                                                                 bias.data()));
                        continue;
                    }
                    ghm_dnnl_reorder *xin = ghm_dnnl_reorder_create(s.B, s.C, s.H, s.H, 1),
                                     *yin = ghm_dnnl_reorder_create(s.B, s.OC, OH, OH, 1),
                                     *yout = ghm_dnnl_reorder_create(s.B, s.OC, OH, OH, 0);
                    ASSERT_TRUE(xin && yin && yout);
                    std::vector<float> xb(ghm_dnnl_map_size(s.B, s.C, s.H, s.H, 1)),
                        yb(ghm_dnnl_map_size(s.B, s.OC, OH, OH, 1));
                    ASSERT_EQ(0, ghm_dnnl_reorder_run(xin, xb.data(), x.data()));
                    ASSERT_EQ(0, ghm_dnnl_reorder_run(yin, yb.data(), y0.data()));
                    ASSERT_EQ(0,
                              ghm_conv_dnnl_forward_fused(c, ws.data(), yb.data(), xb.data(), w.data(), bias.data()));
                    ASSERT_EQ(0, ghm_dnnl_reorder_run(yout, out->data(), yb.data()));
                    for (auto *o : {xin, yin, yout}) ghm_dnnl_reorder_destroy(o);
                }
                expect_close(got, ref, 2e-4, "fused y");
                EXPECT_EQ(0, std::memcmp(got.data(), again.data(), sizeof(float) * got.size()));
                ghm_conv_dnnl_destroy(c);
            }
}

INSTANTIATE_TEST_SUITE_P(Shapes, DnnlConv,
                         ::testing::Values(Shape{3, 16, 8, 16, 3, 1, 1},  // residual block 3x3
                                           Shape{2, 16, 9, 32, 3, 2, 1},  // stage transition, odd size
                                           Shape{2, 16, 8, 32, 1, 2, 0},  // 1x1 projection shortcut
                                           Shape{2, 1, 7, 16, 3, 1, 1},   // stem, one channel
                                           Shape{2, 3, 6, 16, 3, 1, 1},   // stem, three channels
                                           Shape{2, 8, 8, 8, 5, 1, 0}));  // 5x5 without padding

// Finite differences straight through the oneDNN convolution.
TEST(DnnlLayers, ConvGradients)
{
    NEED_DNNL();
    const int B = 2, C = 8, H = 5, OC = 8, K = 3, S = 1, P = 1;
    auto x = rand_vec((size_t)C * B * H * H, 7), w = rand_vec((size_t)OC * C * K * K, 8),
         r = rand_vec((size_t)OC * B * H * H, 9);
    ghm_conv_dnnl *c = ghm_conv_dnnl_create(B, C, H, H, OC, K, S, P, 1, 0, 0);
    NEED_CONV(c, B, C, H, OC, K, S, P);
    std::vector<float> ws(ghm_conv_dnnl_ws_size(c) + 1), y(r.size()), dx(x.size()), dw(w.size());
    auto loss = [&] {
        EXPECT_EQ(0, ghm_conv_dnnl_forward(c, ws.data(), y.data(), x.data(), w.data()));
        return dot(y, r);
    };
    loss();
    ASSERT_EQ(0, ghm_conv_dnnl_backward(c, ws.data(), dx.data(), dw.data(), r.data(), x.data(), w.data()));
    check_grad("dnnl conv dx", x, dx, loss);
    check_grad("dnnl conv dw", w, dw, loss);
    ghm_conv_dnnl_destroy(c);
}

// A primitive that fails to come up is reported as NULL and leaves nothing behind (the hook fails the
// attempt after building everything, so the cleanup of a late failure runs; ASan checks it); the
// attempts around it are unaffected, and a shape with a fast kernel is reported as such.
TEST(DnnlFallback, FailedCreationIsCleanAndIsolated)
{
    NEED_DNNL();
    const long a0 = ghm_conv_dnnl_attempts();
    ghm_conv_dnnl_fail_at(1); // the second attempt from here
    ghm_conv_dnnl *first = ghm_conv_dnnl_create(2, 16, 8, 8, 16, 3, 1, 1, 1, 0, 0);
    ghm_conv_dnnl *failed = ghm_conv_dnnl_create(2, 16, 8, 8, 16, 3, 1, 1, 1, 0, 0);
    ghm_conv_dnnl *fused = ghm_conv_dnnl_create_fused(2, 16, 8, 8, 16, 3, 1, 1, 1, 1, 1, 1);
    ghm_conv_dnnl *third = ghm_conv_dnnl_create(2, 16, 8, 8, 16, 3, 1, 1, 1, 0, 0);
    ghm_conv_dnnl_fail_at(-1);
    EXPECT_EQ(ghm_conv_dnnl_attempts() - a0, 4);
    EXPECT_EQ(failed, nullptr);
    EXPECT_TRUE(ghm_conv_dnnl_fast_kernel(2, 16, 8, 8, 16, 3, 1, 1));
    EXPECT_NE(first, nullptr);
    EXPECT_NE(fused, nullptr);
    EXPECT_NE(third, nullptr);
    EXPECT_STREQ(ghm_conv_dnnl_impl(failed), "none");
    EXPECT_EQ(ghm_conv_dnnl_ws_size(failed), 0u);
    for (auto *c : {first, fused, third}) ghm_conv_dnnl_destroy(c);
    // a failing fused attempt too
    ghm_conv_dnnl_fail_at(0);
    EXPECT_EQ(ghm_conv_dnnl_create_fused(2, 16, 8, 8, 16, 3, 1, 1, 1, 1, 1, 1), nullptr);
    ghm_conv_dnnl_fail_at(-1);
}

// Batch norm (+ ReLU) on a blocked map: equal to the reference layers
// (statistics, running statistics, output, gradients), finite differences,
// eval mode. The blocked kernel sums each image in float (<= 784 terms,
// ~1e-6 relative) and across images in double, the reference all in double:
// 1e-5 relative.
class BlockedBatchNorm : public ::testing::TestWithParam<int> {};

TEST_P(BlockedBatchNorm, MatchesReferenceAndGradients)
{
    NEED_DNNL();
    const int relu = GetParam();
    const int B = 3, C = 2 * ghm_dnnl_block(), H = 3, HW = H * H, N = B * HW, blk = ghm_dnnl_block();
    auto x = rand_vec((size_t)C * N, 21, -2, 3), gamma = rand_vec(C, 22, 0.5, 1.5), beta = rand_vec(C, 23),
         r = rand_vec((size_t)C * N, 24);
    // keep BN outputs away from the ReLU kink for finite differences: shift beta so no channel is near 0 at
    // the mean, and check on coordinates whose output stays on one side (see below)
    ghm_dnnl_reorder *in = ghm_dnnl_reorder_create(B, C, H, H, 1), *out = ghm_dnnl_reorder_create(B, C, H, H, 0);
    ASSERT_TRUE(in && out);
    const size_t nb = ghm_dnnl_map_size(B, C, H, H, 1);
    ASSERT_EQ(nb, x.size());
    std::vector<float> xb(nb), yb(nb), rb(nb), dxb(nb), y(x.size()), dx(x.size());
    std::vector<float> mean(C), inv(C), rm(C, 0.0f), rv(C, 1.0f), dg(C), dbt(C);
    std::vector<float> yr(x.size()), meanr(C), invr(C), rmr(C, 0.0f), rvr(C, 1.0f), dxr(x.size()), dgr(C), dbr(C);
    ASSERT_EQ(0, ghm_dnnl_reorder_run(in, xb.data(), x.data()));
    ASSERT_EQ(0, ghm_dnnl_reorder_run(in, rb.data(), r.data()));
    ghm_batchnorm_blocked_forward(yb.data(), mean.data(), inv.data(), rm.data(), rv.data(), xb.data(), gamma.data(),
                                  beta.data(), B, C, HW, blk, 1, relu);
    ASSERT_EQ(0, ghm_dnnl_reorder_run(out, y.data(), yb.data()));
    ghm_batchnorm_forward(yr.data(), meanr.data(), invr.data(), rmr.data(), rvr.data(), x.data(), gamma.data(),
                          beta.data(), C, N, 1);
    if (relu) ghm_relu_forward(yr.data(), yr.data(), yr.size());
    expect_close(y, yr, 1e-5, "bn y");
    expect_close(mean, meanr, 1e-6, "bn mean");
    expect_close(inv, invr, 1e-6, "bn invstd");
    expect_close(rm, rmr, 1e-6, "running mean");
    expect_close(rv, rvr, 1e-6, "running var");
    // backward: dy before the ReLU mask goes in, z = the forward output masks it
    ghm_batchnorm_blocked_backward(dxb.data(), dg.data(), dbt.data(), rb.data(), xb.data(), mean.data(), inv.data(),
                                   gamma.data(), beta.data(), relu, B, C, HW, blk);
    ASSERT_EQ(0, ghm_dnnl_reorder_run(out, dx.data(), dxb.data()));
    std::vector<float> rr = r;
    if (relu) ghm_relu_backward(rr.data(), rr.data(), yr.data(), rr.size());
    ghm_batchnorm_backward(dxr.data(), dgr.data(), dbr.data(), rr.data(), x.data(), meanr.data(), invr.data(),
                           gamma.data(), C, N);
    expect_close(dx, dxr, 1e-5, "bn dx");
    expect_close(dg, dgr, 1e-5, "bn dgamma");
    expect_close(dbt, dbr, 1e-5, "bn dbeta");
    // in place (dx aliases dy) gives the same bits
    std::vector<float> ib = rb;
    ghm_batchnorm_blocked_backward(ib.data(), nullptr, nullptr, ib.data(), xb.data(), mean.data(), inv.data(),
                                   gamma.data(), beta.data(), relu, B, C, HW, blk);
    EXPECT_EQ(0, std::memcmp(ib.data(), dxb.data(), sizeof(float) * nb));
    // finite differences through the blocked forward; with the ReLU, skip coordinates whose perturbation
    // moves some output across 0 (compare the sign pattern of the outputs)
    std::vector<float> y0 = yb;
    bool crossed = false;
    auto loss = [&] {
        std::vector<float> m2(C), v2(C), rm2(C), rv2(C);
        ghm_batchnorm_blocked_forward(yb.data(), m2.data(), v2.data(), rm2.data(), rv2.data(), xb.data(),
                                      gamma.data(), beta.data(), B, C, HW, blk, 1, relu);
        for (size_t i = 0; i < nb && relu; i++)
            if ((yb[i] > 0.0f) != (y0[i] > 0.0f)) crossed = true;
        return dot(yb, rb);
    };
    const double h = 1e-3;
    int checked = 0;
    for (std::vector<float> *p : {&xb, &gamma, &beta}) {
        const std::vector<float> &ana = p == &xb ? dxb : (p == &gamma ? dg : dbt);
        for (size_t i = 0; i < p->size(); i++) {
            const float keep = (*p)[i];
            crossed = false;
            (*p)[i] = keep + (float)h;
            const double lp = loss();
            (*p)[i] = keep - (float)h;
            const double lm = loss();
            (*p)[i] = keep;
            if (crossed) continue;
            checked++;
            const double num = (lp - lm) / (2 * h);
            ASSERT_NEAR(ana[i], num, 1e-2 * std::max(std::fabs(num), std::fabs((double)ana[i])) + 3e-3)
                << (p == &xb ? "dx" : p == &gamma ? "dgamma" : "dbeta") << " [" << i << "]";
        }
    }
    EXPECT_GE(checked, (int)(nb / 2));
    // eval mode: the running statistics
    ghm_batchnorm_blocked_forward(yb.data(), nullptr, nullptr, rm.data(), rv.data(), xb.data(), gamma.data(),
                                  beta.data(), B, C, HW, blk, 0, relu);
    ASSERT_EQ(0, ghm_dnnl_reorder_run(out, y.data(), yb.data()));
    ghm_batchnorm_forward(yr.data(), nullptr, nullptr, rm.data(), rv.data(), x.data(), gamma.data(), beta.data(), C,
                          N, 0);
    if (relu) ghm_relu_forward(yr.data(), yr.data(), yr.size());
    expect_close(y, yr, 1e-6, "bn eval y");
    ghm_dnnl_reorder_destroy(in);
    ghm_dnnl_reorder_destroy(out);
}

INSTANTIATE_TEST_SUITE_P(Relu, BlockedBatchNorm, ::testing::Values(0, 1));

// Global average pool on blocked maps, both block sizes: the same bits as the reference pool on the
// (C, B, HW) map (same sums, same order), and its backward the reference backward, blocked.
TEST(GapBlocked, MatchesReferenceBothBlockSizes)
{
    const int B = 3, C = 32, HW = 7;
    auto x = rand_vec((size_t)C * B * HW, 71), dy = rand_vec((size_t)B * C, 72);
    std::vector<float> yr((size_t)B * C), dxr(x.size());
    ghm_gap_forward(yr.data(), x.data(), B, C, HW);
    ghm_gap_backward(dxr.data(), dy.data(), B, C, HW);
    for (int blk : {8, 16}) {
        SCOPED_TRACE(testing::Message() << "blk " << blk);
        auto at = [&](int c, int b, int i) { return (((size_t)b * (C / blk) + c / blk) * HW + i) * blk + c % blk; };
        std::vector<float> xb(x.size()), y((size_t)B * C), dxb(x.size(), 9.0f);
        for (int c = 0; c < C; c++)
            for (int b = 0; b < B; b++)
                for (int i = 0; i < HW; i++) xb[at(c, b, i)] = x[((size_t)c * B + b) * HW + i];
        ghm_gap_blocked_forward(y.data(), xb.data(), B, C, HW, blk);
        EXPECT_EQ(0, std::memcmp(y.data(), yr.data(), sizeof(float) * y.size()));
        ghm_gap_blocked_backward(dxb.data(), dy.data(), B, C, HW, blk);
        for (int c = 0; c < C; c++)
            for (int b = 0; b < B; b++)
                for (int i = 0; i < HW; i++)
                    ASSERT_EQ(dxb[at(c, b, i)], dxr[((size_t)c * B + b) * HW + i]) << c << " " << b << " " << i;
    }
}

// Weight gradient for few input channels (the stem) from a blocked dy: equal to the reference
// im2col + sgemm backward, and to finite differences of <conv(x, w), r> (r the output gradient), for
// both block sizes, one and three input channels, stride 1 and 2, K 3 and 5. Needs no oneDNN.
TEST(ConvWgradFewIn, MatchesReferenceAndFiniteDifferences)
{
    struct Case {
        int B, C, H, OC, K, S, P, blk;
    };
    for (Case t : {Case{3, 1, 7, 16, 3, 1, 1, 8}, Case{3, 1, 7, 16, 3, 1, 1, 16}, Case{2, 3, 6, 16, 3, 1, 1, 8},
                   Case{2, 3, 9, 32, 3, 2, 1, 16}, Case{2, 1, 8, 8, 5, 1, 2, 8}}) {
        SCOPED_TRACE(testing::Message() << "C " << t.C << " K " << t.K << " stride " << t.S << " blk " << t.blk);
        const int OH = ghm_conv2d_out(t.H, t.K, t.S, t.P), HW = OH * OH;
        auto x = rand_vec((size_t)t.C * t.B * t.H * t.H, 61), w = rand_vec((size_t)t.OC * t.C * t.K * t.K, 62),
             r = rand_vec((size_t)t.OC * t.B * HW, 63);
        std::vector<float> rb(r.size()); // (OC, B, OH*OW) -> (B, OC/blk, OH*OW, blk)
        for (int o = 0; o < t.OC; o++)
            for (int b = 0; b < t.B; b++)
                for (int i = 0; i < HW; i++)
                    rb[(((size_t)b * (t.OC / t.blk) + o / t.blk) * HW + i) * t.blk + o % t.blk] =
                        r[((size_t)o * t.B + b) * HW + i];
        std::vector<float> dw(w.size(), 7.0f), dwr(w.size()), col(ghm_conv2d_col_size(t.C, t.K, OH, OH, t.B));
        ASSERT_EQ(0, ghm_conv2d_wgrad_few_in(dw.data(), rb.data(), x.data(), t.B, t.C, t.H, t.H, t.OC, t.K, t.S, t.P,
                                             t.blk));
        ghm_conv2d_backward(nullptr, dwr.data(), nullptr, r.data(), x.data(), w.data(), col.data(), 0, t.B, t.C, t.H,
                            t.H, t.OC, t.K, t.S, t.P, t.B);
        expect_close(dw, dwr, 1e-5, "dw");
        std::vector<float> y(r.size());
        check_grad("dw", w, dw, [&] {
            ghm_conv2d_forward(y.data(), col.data(), x.data(), w.data(), nullptr, t.B, t.C, t.H, t.H, t.OC, t.K, t.S,
                               t.P, t.B);
            return dot(y, r);
        });
    }
    // out of range: nothing written, -1
    std::vector<float> dw(16 * 49, 1.0f), dy(8 * 16 * 64), x(8 * 64);
    EXPECT_EQ(-1, ghm_conv2d_wgrad_few_in(dw.data(), dy.data(), x.data(), 8, 1, 8, 8, 16, 7, 1, 3, 8));
    EXPECT_EQ(-1, ghm_conv2d_wgrad_few_in(dw.data(), dy.data(), x.data(), 8, 1, 8, 8, 12, 3, 1, 1, 8));
    EXPECT_EQ(-1, ghm_conv2d_wgrad_few_in(dw.data(), dy.data(), x.data(), 1, 1, 70, 70, 16, 3, 1, 1, 8));
    EXPECT_EQ(1.0f, dw[0]);
}

// Weight gradient of 3x3 convolutions (stride 1) on blocked maps, both block sizes, odd and even widths,
// the narrowest row (W 2), a batch over several image chunks: equal to the reference im2col + sgemm
// backward and to finite differences of <conv(x, w), r>; the same bits whatever the thread count. Needs
// no oneDNN.
TEST(ConvWgrad3x3Blocked, MatchesReferenceAndFiniteDifferences)
{
    struct Case {
        int B, C, H, W, OC, blk;
    };
    for (Case t : {Case{3, 16, 7, 7, 16, 8}, Case{2, 16, 6, 5, 32, 16}, Case{2, 32, 4, 9, 16, 8},
                   Case{2, 8, 3, 2, 8, 8}, Case{700, 8, 7, 7, 8, 8}}) {
        SCOPED_TRACE(testing::Message() << "B " << t.B << " C " << t.C << " H " << t.H << " W " << t.W << " OC "
                                        << t.OC << " blk " << t.blk);
        const int HW = t.H * t.W;
        auto x = rand_vec((size_t)t.C * t.B * HW, 81), w = rand_vec((size_t)t.OC * t.C * 9, 82),
             r = rand_vec((size_t)t.OC * t.B * HW, 83);
        // (C, B, HW) -> (B, C/blk, HW, blk)
        auto blocked = [&](const std::vector<float> &v, int ch) {
            std::vector<float> o(v.size());
            for (int c = 0; c < ch; c++)
                for (int b = 0; b < t.B; b++)
                    for (int i = 0; i < HW; i++)
                        o[(((size_t)b * (ch / t.blk) + c / t.blk) * HW + i) * t.blk + c % t.blk] =
                            v[((size_t)c * t.B + b) * HW + i];
            return o;
        };
        const std::vector<float> xb = blocked(x, t.C), rb = blocked(r, t.OC);
        std::vector<float> dw(w.size(), 7.0f), dwr(w.size()), col(ghm_conv2d_col_size(t.C, 3, t.H, t.W, t.B));
        ASSERT_EQ(0, ghm_conv2d_wgrad_3x3_blocked(dw.data(), rb.data(), xb.data(), t.B, t.C, t.H, t.W, t.OC, t.blk));
        ghm_conv2d_backward(nullptr, dwr.data(), nullptr, r.data(), x.data(), w.data(), col.data(), 0, t.B, t.C, t.H,
                            t.W, t.OC, 3, 1, 1, t.B);
        expect_close(dw, dwr, t.B > 100 ? 1e-4 : 1e-5, "dw");
        const int keep = ghm_threads_get();
        for (int threads : {1, 3}) { // each weight's sum in one order, whatever the split
            std::vector<float> dt(w.size());
            ghm_threads_set(threads);
            ASSERT_EQ(0, ghm_conv2d_wgrad_3x3_blocked(dt.data(), rb.data(), xb.data(), t.B, t.C, t.H, t.W, t.OC,
                                                      t.blk));
            EXPECT_EQ(0, std::memcmp(dt.data(), dw.data(), sizeof(float) * dw.size())) << threads << " threads";
        }
        ghm_threads_set(keep);
        if (t.B > 100) continue; // finite differences on the small cases
        std::vector<float> y(r.size());
        check_grad("dw", w, dw, [&] {
            ghm_conv2d_forward(y.data(), col.data(), x.data(), w.data(), nullptr, t.B, t.C, t.H, t.W, t.OC, 3, 1, 1,
                               t.B);
            return dot(y, r);
        });
    }
    // out of range: nothing written, -1
    std::vector<float> dw(16 * 16 * 9, 1.0f), dy(2 * 16 * 64), x(2 * 16 * 64);
    EXPECT_EQ(-1, ghm_conv2d_wgrad_3x3_blocked(dw.data(), dy.data(), x.data(), 2, 12, 8, 8, 16, 8));
    EXPECT_EQ(-1, ghm_conv2d_wgrad_3x3_blocked(dw.data(), dy.data(), x.data(), 2, 16, 8, 8, 16, 4));
    EXPECT_EQ(-1, ghm_conv2d_wgrad_3x3_blocked(dw.data(), dy.data(), x.data(), 2, 16, 8, 1, 16, 8));
    EXPECT_EQ(1.0f, dw[0]);
}

// Forward of 3x3 convolutions (stride 1) on maps in blocks of 8: equal to the reference im2col + sgemm
// forward for widths that leave 0-3 pixels after the 4-pixel tiles and for 1 and 2 pairs of output groups;
// the same bits whatever the thread count; and finite differences of <forward(x, w), r> in w are the weight
// gradient of the blocked kernel above (the two kernels are a function and its derivative). Needs no oneDNN.
TEST(Conv3x3BlockedForward, MatchesReferenceAndFiniteDifferences)
{
    struct Case {
        int B, C, H, W, OC;
    };
    for (Case t : {Case{2, 16, 5, 8, 16}, Case{3, 8, 4, 7, 32}, Case{2, 24, 3, 6, 16}, Case{2, 8, 6, 5, 16},
                   Case{2, 16, 1, 1, 16}}) {
        SCOPED_TRACE(testing::Message() << "B " << t.B << " C " << t.C << " H " << t.H << " W " << t.W << " OC "
                                        << t.OC);
        const int HW = t.H * t.W;
        auto x = rand_vec((size_t)t.C * t.B * HW, 91), w = rand_vec((size_t)t.OC * t.C * 9, 92),
             r = rand_vec((size_t)t.OC * t.B * HW, 93);
        auto at = [&](int ch, int c, int b, int i) { return (((size_t)b * (ch / 8) + c / 8) * HW + i) * 8 + c % 8; };
        std::vector<float> xb(x.size()), rb(r.size());
        for (int c = 0; c < t.C; c++)
            for (int b = 0; b < t.B; b++)
                for (int i = 0; i < HW; i++) xb[at(t.C, c, b, i)] = x[((size_t)c * t.B + b) * HW + i];
        for (int c = 0; c < t.OC; c++)
            for (int b = 0; b < t.B; b++)
                for (int i = 0; i < HW; i++) rb[at(t.OC, c, b, i)] = r[((size_t)c * t.B + b) * HW + i];
        std::vector<float> y(r.size(), 7.0f), yr(r.size()), ws(w.size()), col(ghm_conv2d_col_size(t.C, 3, t.H, t.W, t.B));
        ASSERT_EQ(0, ghm_conv3x3_blocked_forward(y.data(), xb.data(), w.data(), ws.data(), t.B, t.C, t.H, t.W, t.OC));
        ghm_conv2d_forward(yr.data(), col.data(), x.data(), w.data(), nullptr, t.B, t.C, t.H, t.W, t.OC, 3, 1, 1, t.B);
        for (int c = 0; c < t.OC; c++)
            for (int b = 0; b < t.B; b++)
                for (int i = 0; i < HW; i++)
                    ASSERT_NEAR(y[at(t.OC, c, b, i)], yr[((size_t)c * t.B + b) * HW + i], 1e-5) << c << " " << b << " " << i;
        const int keep = ghm_threads_get();
        for (int threads : {1, 3}) {
            std::vector<float> yt(y.size());
            ghm_threads_set(threads);
            ASSERT_EQ(0, ghm_conv3x3_blocked_forward(yt.data(), xb.data(), w.data(), ws.data(), t.B, t.C, t.H, t.W,
                                                     t.OC));
            EXPECT_EQ(0, std::memcmp(yt.data(), y.data(), sizeof(float) * y.size())) << threads << " threads";
        }
        ghm_threads_set(keep);
        if (t.W < 2) continue; // (the weight-gradient kernel needs rows of 2)
        std::vector<float> dw(w.size());
        ASSERT_EQ(0, ghm_conv2d_wgrad_3x3_blocked(dw.data(), rb.data(), xb.data(), t.B, t.C, t.H, t.W, t.OC, 8));
        check_grad("dw", w, dw, [&] {
            ghm_conv3x3_blocked_forward(y.data(), xb.data(), w.data(), ws.data(), t.B, t.C, t.H, t.W, t.OC);
            return dot(y, rb);
        });
    }
    std::vector<float> y(2 * 16 * 16), x(2 * 16 * 16), w(16 * 16 * 9), ws(w.size());
    EXPECT_EQ(-1, ghm_conv3x3_blocked_forward(y.data(), x.data(), w.data(), ws.data(), 2, 12, 4, 4, 16));
    EXPECT_EQ(-1, ghm_conv3x3_blocked_forward(y.data(), x.data(), w.data(), ws.data(), 2, 16, 4, 4, 8));
}

// The blocked batch norm kernel for both block sizes (8: AVX2, 16: AVX-512), whichever oneDNN would pick
// here: blocked maps made by hand, (B, C/blk, HW, blk), compared with the reference layers in training and
// inference, backward with and without the ReLU mask, the form with the residual sum; HW = 13 runs the
// vector loops' tails too.
TEST(BlockedBatchNorm, BothBlockSizesMatchReference)
{
    const int B = 3, C = 32, HW = 13, N = B * HW;
    auto x = rand_vec((size_t)C * N, 51, -2, 3), gamma = rand_vec(C, 52, 0.5, 1.5), beta = rand_vec(C, 53),
         r = rand_vec((size_t)C * N, 54);
    for (int blk : {8, 16})
        for (int relu = 0; relu < 2; relu++) {
            SCOPED_TRACE(testing::Message() << "blk " << blk << " relu " << relu);
            // (C, B, HW) <-> (B, C/blk, HW, blk)
            auto at = [&](int c, int b, int i) { return (((size_t)b * (C / blk) + c / blk) * HW + i) * blk + c % blk; };
            auto to_blocked = [&](const std::vector<float> &v) {
                std::vector<float> o(v.size());
                for (int c = 0; c < C; c++)
                    for (int b = 0; b < B; b++)
                        for (int i = 0; i < HW; i++) o[at(c, b, i)] = v[((size_t)c * B + b) * HW + i];
                return o;
            };
            auto from_blocked = [&](const std::vector<float> &v) {
                std::vector<float> o(v.size());
                for (int c = 0; c < C; c++)
                    for (int b = 0; b < B; b++)
                        for (int i = 0; i < HW; i++) o[((size_t)c * B + b) * HW + i] = v[at(c, b, i)];
                return o;
            };
            std::vector<float> xb = to_blocked(x), rb = to_blocked(r), yb(xb.size()), dxb(xb.size());
            std::vector<float> mean(C), inv(C), rm(C, 0.1f), rv(C, 0.9f), dg(C), dbt(C);
            std::vector<float> yr(x.size()), meanr(C), invr(C), rmr(C, 0.1f), rvr(C, 0.9f), dxr(x.size()), dgr(C),
                dbr(C);
            ghm_batchnorm_blocked_forward(yb.data(), mean.data(), inv.data(), rm.data(), rv.data(), xb.data(),
                                          gamma.data(), beta.data(), B, C, HW, blk, 1, relu);
            ghm_batchnorm_forward(yr.data(), meanr.data(), invr.data(), rmr.data(), rvr.data(), x.data(),
                                  gamma.data(), beta.data(), C, N, 1);
            if (relu) ghm_relu_forward(yr.data(), yr.data(), yr.size());
            expect_close(from_blocked(yb), yr, 1e-5, "y");
            expect_close(mean, meanr, 1e-6, "mean");
            expect_close(inv, invr, 1e-6, "invstd");
            expect_close(rm, rmr, 1e-6, "running mean");
            expect_close(rv, rvr, 1e-6, "running var");
            ghm_batchnorm_blocked_backward(dxb.data(), dg.data(), dbt.data(), rb.data(), xb.data(), mean.data(),
                                           inv.data(), gamma.data(), beta.data(), relu, B, C, HW, blk);
            if (relu) { // the mask recomputed from x is exactly the forward output's: the same bits as masking by it
                std::vector<float> pre(rb.size()), dxm(rb.size()), dgm(C), dbm(C);
                for (size_t i = 0; i < rb.size(); i++) pre[i] = yb[i] > 0.0f ? rb[i] : 0.0f;
                ghm_batchnorm_blocked_backward(dxm.data(), dgm.data(), dbm.data(), pre.data(), xb.data(), mean.data(),
                                               inv.data(), gamma.data(), beta.data(), 0, B, C, HW, blk);
                EXPECT_EQ(0, std::memcmp(dxm.data(), dxb.data(), sizeof(float) * dxb.size()));
                EXPECT_EQ(0, std::memcmp(dgm.data(), dg.data(), sizeof(float) * C));
                EXPECT_EQ(0, std::memcmp(dbm.data(), dbt.data(), sizeof(float) * C));
            }
            std::vector<float> rr = r;
            if (relu) ghm_relu_backward(rr.data(), rr.data(), yr.data(), rr.size());
            ghm_batchnorm_backward(dxr.data(), dgr.data(), dbr.data(), rr.data(), x.data(), meanr.data(),
                                   invr.data(), gamma.data(), C, N);
            expect_close(from_blocked(dxb), dxr, 1e-5, "dx");
            expect_close(dg, dgr, 1e-5, "dgamma");
            expect_close(dbt, dbr, 1e-5, "dbeta");
            ghm_batchnorm_blocked_forward(yb.data(), nullptr, nullptr, rm.data(), rv.data(), xb.data(), gamma.data(),
                                          beta.data(), B, C, HW, blk, 0, relu);
            ghm_batchnorm_forward(yr.data(), nullptr, nullptr, rm.data(), rv.data(), x.data(), gamma.data(),
                                  beta.data(), C, N, 0);
            if (relu) ghm_relu_forward(yr.data(), yr.data(), yr.size());
            expect_close(from_blocked(yb), yr, 1e-6, "eval y");
            // with the residual sum before the ReLU (training statistics again, from fresh running ones)
            auto sc = rand_vec(x.size(), 55);
            std::vector<float> scb = to_blocked(sc), ya(xb.size()), rma(C, 0.1f), rva(C, 0.9f);
            ghm_batchnorm_blocked_forward_add_relu(ya.data(), mean.data(), inv.data(), rma.data(), rva.data(),
                                                   xb.data(), gamma.data(), beta.data(), scb.data(), B, C, HW, blk,
                                                   1);
            std::vector<float> rmr2(C, 0.1f), rvr2(C, 0.9f);
            ghm_batchnorm_forward(yr.data(), meanr.data(), invr.data(), rmr2.data(), rvr2.data(), x.data(),
                                  gamma.data(), beta.data(), C, N, 1);
            ghm_add_relu_forward(yr.data(), yr.data(), sc.data(), yr.size());
            expect_close(from_blocked(ya), yr, 1e-5, "y with the sum");
            expect_close(rva, rvr2, 1e-6, "running var with the sum");
        }
}

}  // namespace

// ghm_sgemm on oneDNN's sgemm against OpenBLAS's: every transpose pair, row
// strides wider than the matrices, beta 0 and 1, products small (one thread)
// and large enough to be split over 2 threads; and the same numbers twice.
// Sums of K <= 300 terms of O(1): |dnnl - ref| <= 1e-4 * (1 + |ref|).
TEST(DnnlGemm, MatchesOpenblasEveryTransposeAndSplit)
{
    if (!ghm_conv_dnnl_available()) GTEST_SKIP() << "built without oneDNN";
    const int saved = ghm_threads_get();
    ghm_threads_set(2);
    const int shapes[][3] = {{5, 7, 3}, {33, 17, 65}, {64, 300, 250}, {300, 129, 200}};
    for (const auto &sh : shapes)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int beta = 0; beta < 2; beta++) {
                    const int M = sh[0], N = sh[1], K = sh[2];
                    const int lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 5;
                    auto A = rand_vec((size_t)(ta ? K : M) * lda, 51);
                    auto Bm = rand_vec((size_t)(tb ? N : K) * ldb, 52);
                    auto C0 = rand_vec((size_t)M * ldc, 53);
                    std::vector<float> c[3] = {C0, C0, C0};
                    for (int run = 0; run < 3; run++) {
                        ghm_gemm_backend_set(run == 0 ? 0 : 1);
                        ASSERT_EQ(ghm_gemm_backend_dnnl(), run == 0 ? 0 : 1);
                        ghm_sgemm(ta, tb, M, N, K, 0.5f, A.data(), lda, Bm.data(), ldb, (float)beta, c[run].data(),
                                  ldc);
                    }
                    ghm_gemm_backend_set(-1);
                    char what[96];
                    snprintf(what, sizeof what, "M %d N %d K %d ta %d tb %d beta %d", M, N, K, ta, tb, beta);
                    expect_close(c[1], c[0], 1e-4, what);
                    EXPECT_EQ(c[1], c[2]) << what << ": not the same numbers twice";
                    for (int i = 0; i < M; i++) /* the padding between rows is never written */
                        for (int j = N; j < ldc; j++)
                            ASSERT_EQ(c[1][(size_t)i * ldc + j], C0[(size_t)i * ldc + j]) << what;
                }
    ghm_threads_set(saved);
}

// The default: oneDNN's products exactly where oneDNN runs AVX-512 kernels (so
// DNNL_MAX_CPU_ISA=AVX2 keeps OpenBLAS), and the names the records carry.
TEST(DnnlGemm, DefaultFollowsTheKernelsInstructionSet)
{
    ghm_gemm_backend_set(-1);
    const int want = ghm_conv_backend_dnnl() && std::strcmp(ghm_dnnl_isa_name(), "avx512") == 0;
    const char *env = getenv("GHM_GEMM_BACKEND");
    if (env && *env) GTEST_SKIP() << "GHM_GEMM_BACKEND is set";
    EXPECT_EQ(ghm_gemm_backend_dnnl(), want) << ghm_dnnl_isa_name();
    EXPECT_STREQ(ghm_gemm_backend_name(), want ? "onednn" : "openblas");
    if (want) {
        EXPECT_STREQ(ghm_gemm_isa_name(), "avx512");
    }
}
