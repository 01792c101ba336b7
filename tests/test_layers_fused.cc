// Tests of the fused convolution + bias + ReLU + max-pool layer
// (ghm_conv2d_pool_forward / _backward) and of the thread-split products.
//
// The fused layer is checked against (a) a direct double-precision
// convolution followed by pooling, and (b) the composition of the unfused
// layers (ghm_maxpool_backward then ghm_conv2d_backward), whose gradients are
// finite-difference checked in test_layers.cc. Given the same argmax and ReLU
// mask both backward paths are the same linear map, so they agree to float
// rounding: sums of at most a few hundred float products of O(1) values,
// relative error ~1e-6; we accept 1e-4 * max(1, |value|).
#include <gtest/gtest.h>

#include "layer_test_util.h"

#include <cmath>
#include <vector>

extern "C" {
#include "nn/layers.h"
#include "core/rng.h"
}
#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

using ghm_test::rand_vec;
using ghm_test::set_threads;

struct Case {
    int B, C, H, W, OC, K, S, P, pk, ps;
};

// Conv output (OC, B, OH, OW) in double, no bias.
std::vector<double> ref_conv(const Case &c, const std::vector<float> &x, const std::vector<float> &w)
{
    const int OH = ghm_conv2d_out(c.H, c.K, c.S, c.P), OW = ghm_conv2d_out(c.W, c.K, c.S, c.P);
    std::vector<double> y((size_t)c.OC * c.B * OH * OW, 0.0);
    for (int o = 0; o < c.OC; o++)
        for (int b = 0; b < c.B; b++)
            for (int oh = 0; oh < OH; oh++)
                for (int ow = 0; ow < OW; ow++) {
                    double s = 0;
                    for (int ch = 0; ch < c.C; ch++)
                        for (int kh = 0; kh < c.K; kh++)
                            for (int kw = 0; kw < c.K; kw++) {
                                int ih = oh * c.S - c.P + kh, iw = ow * c.S - c.P + kw;
                                if (ih < 0 || ih >= c.H || iw < 0 || iw >= c.W) continue;
                                s += (double)x[(((size_t)ch * c.B + b) * c.H + ih) * c.W + iw] *
                                     w[(((size_t)o * c.C + ch) * c.K + kh) * c.K + kw];
                            }
                    y[(((size_t)o * c.B + b) * OH + oh) * OW + ow] = s;
                }
    return y;
}

void expect_close(const std::vector<float> &a, const std::vector<float> &b, const char *what)
{
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); i++)
        ASSERT_NEAR(a[i], b[i], 1e-4 * std::max(1.0, (double)std::fabs(b[i]))) << what << " at " << i;
}

void run_case(const Case &c, int threads)
{
    set_threads(threads);
    const int OH = ghm_conv2d_out(c.H, c.K, c.S, c.P), OW = ghm_conv2d_out(c.W, c.K, c.S, c.P);
    const int PH = (OH - c.pk) / c.ps + 1, PW = (OW - c.pk) / c.ps + 1;
    const size_t nx = (size_t)c.C * c.B * c.H * c.W, np = (size_t)c.OC * c.B * PH * PW;
    const size_t ny = (size_t)c.OC * c.B * OH * OW, nw = (size_t)c.OC * c.C * c.K * c.K;
    auto x = rand_vec(nx, 11), w = rand_vec(nw, 12, -0.5f, 0.5f), b = rand_vec(c.OC, 13, -0.3f, 0.3f);
    auto dp = rand_vec(np, 14);
    std::vector<float> ws(ghm_conv2d_pool_ws_size(c.C, c.K, OH, OW, c.OC, threads));
    std::vector<float> p(np);
    std::vector<int32_t> arg(np);
    ASSERT_EQ(0, ghm_conv2d_pool_forward(p.data(), arg.data(), ws.data(), ws.size(), x.data(), w.data(), b.data(), 1,
                                         c.B, c.C, c.H, c.W, c.OC, c.K, c.S, c.P, c.pk, c.ps));
    // forward: p is relu(max over the window + b), and arg points at a window element holding that maximum
    auto y = ref_conv(c, x, w);
    for (int o = 0; o < c.OC; o++)
        for (int bb = 0; bb < c.B; bb++)
            for (int ph = 0; ph < PH; ph++)
                for (int pw = 0; pw < PW; pw++) {
                    const size_t plane = ((size_t)o * c.B + bb) * OH * OW;
                    double m = -1e300;
                    for (int kh = 0; kh < c.pk; kh++)
                        for (int kw = 0; kw < c.pk; kw++)
                            m = std::max(m, y[plane + (size_t)(ph * c.ps + kh) * OW + pw * c.ps + kw]);
                    const size_t j = (((size_t)o * c.B + bb) * PH + ph) * PW + pw;
                    EXPECT_NEAR(p[j], std::max(0.0, m + b[o]), 1e-5) << "p at " << j;
                    const int a = arg[j], ah = a / OW, aw = a % OW;
                    EXPECT_TRUE(ah >= ph * c.ps && ah < ph * c.ps + c.pk && aw >= pw * c.ps && aw < pw * c.ps + c.pk);
                    EXPECT_NEAR(y[plane + a], m, 1e-5) << "arg at " << j;
                }
    // backward against the unfused composition with the same arg / mask
    std::vector<float> dx(nx), dw(nw), db(c.OC);
    ASSERT_EQ(0, ghm_conv2d_pool_backward(dx.data(), dw.data(), db.data(), dp.data(), p.data(), arg.data(), 1,
                                          ws.data(), ws.size(), x.data(), w.data(), c.B, c.C, c.H, c.W, c.OC, c.K,
                                          c.S, c.P, c.pk, c.ps));
    std::vector<float> dy(ny), rdx(nx), rdw(nw), rdb(c.OC);
    std::vector<float> col(ghm_conv2d_col_size(c.C, c.K, OH, OW, c.B));
    ghm_maxpool_backward(dy.data(), dp.data(), p.data(), arg.data(), 1, c.OC * c.B, OH, OW, c.pk, c.ps);
    ghm_conv2d_backward(rdx.data(), rdw.data(), rdb.data(), dy.data(), x.data(), w.data(), col.data(), 0, c.B, c.C,
                        c.H, c.W, c.OC, c.K, c.S, c.P, c.B);
    expect_close(dx, rdx, "dx");
    expect_close(dw, rdw, "dw");
    expect_close(db, rdb, "db");
    // determinism: a second run gives identical bits
    std::vector<float> dx2(nx), dw2(nw), db2(c.OC);
    ghm_conv2d_pool_backward(dx2.data(), dw2.data(), db2.data(), dp.data(), p.data(), arg.data(), 1, ws.data(),
                             ws.size(), x.data(), w.data(), c.B, c.C, c.H, c.W, c.OC, c.K, c.S, c.P, c.pk, c.ps);
    EXPECT_EQ(dx, dx2);
    EXPECT_EQ(dw, dw2);
    EXPECT_EQ(db, db2);
    set_threads(1);
}

}  // namespace

TEST(LayersFused, ConvPoolLikeConvnet)
{
    for (int t : {1, 2, 3}) run_case({5, 1, 12, 12, 4, 5, 1, 0, 2, 2}, t);  // 8x8 conv -> 4x4
}

TEST(LayersFused, ConvPoolMultiChannelPadded)
{
    // 3 channels, 9x9 + pad 1, 3x3 kernel -> 9x9 conv, pool 2/2 -> 4x4 (last row/column unpooled)
    for (int t : {1, 2}) run_case({4, 3, 9, 9, 5, 3, 1, 1, 2, 2}, t);
}

TEST(LayersFused, ConvPoolStridedOverlapping)
{
    // stride-2 conv, overlapping 3/2 pooling (gradients of shared elements add up)
    for (int t : {1, 2}) run_case({3, 2, 11, 10, 3, 3, 2, 1, 3, 2}, t);
}

TEST(LayersFused, TooSmallWorkspace)
{
    const Case c{2, 1, 8, 8, 2, 3, 1, 0, 2, 2};
    auto x = rand_vec(2 * 64, 1), w = rand_vec(18, 2);
    std::vector<float> p(2 * 2 * 9), ws(4);
    std::vector<int32_t> arg(p.size());
    EXPECT_EQ(-1, ghm_conv2d_pool_forward(p.data(), arg.data(), ws.data(), ws.size(), x.data(), w.data(), nullptr, 1,
                                          c.B, c.C, c.H, c.W, c.OC, c.K, c.S, c.P, c.pk, c.ps));
}

TEST(LayersFused, SgemmSplitMatchesSerial)
{
    // ghm_sgemm splits columns (or rows) over threads: same result as one thread
    const int M = 64, N = 1001, K = 130; // M*N*K > 8e6: really split
    auto a = rand_vec((size_t)M * K, 3), b = rand_vec((size_t)K * N, 4);
    for (int tb = 0; tb < 2; tb++) {
        std::vector<float> c1((size_t)M * N), c2((size_t)M * N), bt((size_t)K * N);
        if (tb)
            for (int k = 0; k < K; k++)
                for (int n = 0; n < N; n++) bt[(size_t)n * K + k] = b[(size_t)k * N + n];
        const float *B = tb ? bt.data() : b.data();
        const int ldb = tb ? K : N;
        set_threads(1);
        ghm_sgemm(0, tb, M, N, K, 1.0f, a.data(), K, B, ldb, 0.0f, c1.data(), N);
        set_threads(2);
        ghm_sgemm(0, tb, M, N, K, 1.0f, a.data(), K, B, ldb, 0.0f, c2.data(), N);
        set_threads(1);
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++) {
                double s = 0;
                for (int k = 0; k < K; k++) s += (double)a[(size_t)m * K + k] * b[(size_t)k * N + n];
                ASSERT_NEAR(c1[(size_t)m * N + n], s, 1e-4);
                ASSERT_NEAR(c2[(size_t)m * N + n], s, 1e-4);
            }
    }
}

TEST(LayersFused, ConvPoolTiesPickFirstMaximum)
{
    // zero weights: every conv output equals the bias, so each 2x2 window (and the 3x3 ones of the general
    // path) is a 4-way tie and the pooled index must be the window's first element, as the unfused
    // ghm_maxpool_forward picks it; negative bias: ReLU clamps to 0
    for (int pk : {2, 3}) {
        for (float bias : {0.25f, -0.5f}) {
            const Case c{3, 2, 10, 10, 4, 3, 1, 0, pk, 2};
            const int OH = ghm_conv2d_out(c.H, c.K, c.S, c.P), OW = OH, PH = (OH - pk) / 2 + 1, PW = PH;
            auto x = rand_vec((size_t)c.C * c.B * c.H * c.W, 5);
            std::vector<float> w((size_t)c.OC * c.C * c.K * c.K, 0.0f), b(c.OC, bias);
            std::vector<float> ws(ghm_conv2d_pool_ws_size(c.C, c.K, OH, OW, c.OC, 1));
            std::vector<float> p((size_t)c.OC * c.B * PH * PW);
            std::vector<int32_t> arg(p.size());
            ASSERT_EQ(0, ghm_conv2d_pool_forward(p.data(), arg.data(), ws.data(), ws.size(), x.data(), w.data(),
                                                 b.data(), 1, c.B, c.C, c.H, c.W, c.OC, c.K, c.S, c.P, pk, 2));
            for (size_t j = 0; j < p.size(); j++) {
                const int q = (int)(j % (size_t)(PH * PW)), ph = q / PW, pw = q % PW;
                EXPECT_EQ(p[j], bias > 0 ? bias : 0.0f) << "p at " << j;
                EXPECT_EQ(arg[j], ph * 2 * OW + pw * 2) << "arg at " << j;
            }
        }
    }
}
