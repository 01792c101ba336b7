// Tests of the Winograd F(4x4, 3x3) inference convolution (nn/layer_wino.c)
// against a direct convolution in double precision, on both layouts (blocks of
// 8 channels; NHWC in vectors of 16), with the bias, the residual sum and the
// ReLU, on the residual network's shapes and on odd ones (maps not a multiple
// of the 4 x 4 tile, 1 x 1 maps, output channels not a multiple of the
// register tile's two vectors, tile counts not a multiple of the chunk).
//
// Tolerance: each output's error is compared with S = sum over the 3 x 3 x C
// window of |x| |w|, the size of the terms it sums. The transforms multiply
// values by at most 5 per side and sum 36 products, so float rounding gives
// errors of order 1e-6 S; we accept 2e-5 S + 1e-6. A wrong transform entry or
// a misplaced tile gives errors of order S.
#include <gtest/gtest.h>

#include "layer_test_util.h"

#include <cmath>
#include <vector>

extern "C" {
#include "core/rng.h"
#include "nn/layers.h"
}
#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

using ghm_test::rand_vec;
using ghm_test::set_threads;

struct Shape {
    int B, C, H, W, OC;
};

// index of (n, c, h, w) in a map of the layout
size_t at(int layout, const Shape &s, int C, int n, int c, int h, int w)
{
    const size_t plane = (size_t)s.H * s.W;
    if (layout == GHM_WINO_BLOCKED8) return (size_t)n * C * plane + (size_t)(c / 8) * plane * 8 + ((size_t)h * s.W + w) * 8 + c % 8;
    return ((size_t)n * plane + (size_t)h * s.W + w) * C + c;
}

// Runs one case; returns the outputs (for the thread-count comparison).
std::vector<float> run_case(const Shape &s, int layout, int sum, int relu, int threads, bool with_bias = true)
{
    set_threads(threads);
    const int vw = layout == GHM_WINO_BLOCKED8 ? 8 : 16;
    const size_t plane = (size_t)s.H * s.W, nx = (size_t)s.B * s.C * plane, ny = (size_t)s.B * s.OC * plane;
    auto x = rand_vec(nx, 21), w = rand_vec((size_t)s.OC * s.C * 9, 22, -0.5f, 0.5f);
    auto bias = rand_vec(s.OC, 23, -0.3f, 0.3f), y0 = rand_vec(ny, 24);
    if (!with_bias) bias.assign(s.OC, 0.0f); // and the kernel gets NULL
    std::vector<float> u(ghm_wino3x3_weights_size(s.C, s.OC));
    EXPECT_EQ(0, ghm_wino3x3_weights(u.data(), w.data(), s.C, s.OC, vw));
    std::vector<float> y = y0;
    // the caller's workspace for the threads asked for (the thread-count test), else one of its own
    std::vector<float> ws(ghm_wino3x3_ws_size(s.C, s.OC, threads));
    EXPECT_EQ(0, ghm_wino3x3_forward(y.data(), x.data(), u.data(), with_bias ? bias.data() : nullptr, s.B, s.C, s.H,
                                     s.W, s.OC, layout,
                                     sum, relu, threads == 2 ? ws.data() : nullptr, threads == 2 ? ws.size() : 0));
    double worst = 0;
    for (int n = 0; n < s.B; n++)
        for (int o = 0; o < s.OC; o++)
            for (int h = 0; h < s.H; h++)
                for (int q = 0; q < s.W; q++) {
                    double v = 0, S = 0;
                    for (int c = 0; c < s.C; c++)
                        for (int kh = 0; kh < 3; kh++)
                            for (int kw = 0; kw < 3; kw++) {
                                const int ih = h + kh - 1, iw = q + kw - 1;
                                if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
                                const double p = (double)x[at(layout, s, s.C, n, c, ih, iw)] *
                                                 w[(((size_t)o * s.C + c) * 3 + kh) * 3 + kw];
                                v += p;
                                S += std::fabs(p);
                            }
                    const size_t j = at(layout, s, s.OC, n, o, h, q);
                    v += bias[o];
                    if (sum) v += y0[j];
                    if (relu) v = std::max(0.0, v);
                    const double e = std::fabs(y[j] - v);
                    worst = std::max(worst, e / (S + 1e-30));
                    if (e > 2e-5 * S + 1e-6) {
                        ADD_FAILURE() << "layout " << layout << " B" << s.B << " C" << s.C << " " << s.H << "x" << s.W
                                      << " OC" << s.OC << ": image " << n << " channel " << o << " (" << h << ", "
                                      << q << "): " << y[j] << " against " << v << " (S " << S << ")";
                        return y;
                    }
                }
    ::testing::Test::RecordProperty("worst_relative_error", std::to_string(worst));
    return y;
}

const Shape kShapes[] = {
    {2, 16, 28, 28, 16}, // the residual network's first stage
    {2, 32, 14, 14, 32}, // second
    {2, 64, 7, 7, 64},   // third
    {3, 16, 5, 9, 48},   // partial tiles both ways; 3 output vectors of 16 (one pair and one single)
    {1, 32, 1, 1, 16},   // a single pixel: only the centre tap
    {7, 16, 2, 3, 32},   // 7 tiles: a full chunk of 6 and a partial one
    {13, 16, 2, 3, 16},  // 13 tiles: two full chunks of 6 and a partial one
};

} // namespace

TEST(LayersWino, Blocked8MatchesDirectConvolution)
{
    for (const Shape &s : kShapes)
        for (int mode = 0; mode < 4; mode++) run_case(s, GHM_WINO_BLOCKED8, mode & 1, mode >> 1, 2);
    // 3 vectors of 8 output channels: a pair and a single in the products
    run_case({2, 8, 6, 6, 24}, GHM_WINO_BLOCKED8, 1, 1, 2);
    // no bias, no sum, no ReLU: the plain convolution training runs (forward and input gradient)
    run_case({3, 16, 28, 28, 32}, GHM_WINO_BLOCKED8, 0, 0, 2, false);
    run_case({2, 64, 7, 7, 16}, GHM_WINO_BLOCKED8, 0, 0, 2, false);
}

TEST(LayersWino, Nhwc16MatchesDirectConvolution)
{
    for (const Shape &s : kShapes)
        for (int mode = 0; mode < 4; mode++) run_case(s, GHM_WINO_NHWC16, mode & 1, mode >> 1, 2);
}

TEST(LayersWino, SameBitsOnAnyThreadCount)
{
    for (int layout : {GHM_WINO_BLOCKED8, GHM_WINO_NHWC16}) {
        const Shape s = {3, 32, 14, 14, 32};
        const auto one = run_case(s, layout, 1, 1, 1), two = run_case(s, layout, 1, 1, 2);
        ASSERT_EQ(one.size(), two.size());
        for (size_t i = 0; i < one.size(); i++) ASSERT_EQ(one[i], two[i]) << "layout " << layout << " at " << i;
    }
    set_threads(1);
}

TEST(LayersWino, RefusesShapesOutOfRange)
{
    std::vector<float> u(ghm_wino3x3_weights_size(16, 16)), w(16 * 16 * 9), x(16 * 16), y(16 * 16), b(16);
    EXPECT_EQ(-1, ghm_wino3x3_weights(u.data(), w.data(), 12, 16, 8)); // C not a multiple of 8
    EXPECT_EQ(-1, ghm_wino3x3_weights(u.data(), w.data(), 16, 16, 4)); // no such vector width
    EXPECT_EQ(-1, ghm_wino3x3_weights(u.data(), w.data(), 8, 16, 16)); // C below the width
    EXPECT_EQ(-1, ghm_wino3x3_forward(y.data(), x.data(), u.data(), b.data(), 1, 8, 4, 4, 16, GHM_WINO_NHWC16, 0, 0, nullptr, 0));
    EXPECT_EQ(-1, ghm_wino3x3_forward(y.data(), x.data(), u.data(), b.data(), 0, 16, 4, 4, 16, GHM_WINO_BLOCKED8, 0, 0, nullptr, 0));
    EXPECT_EQ(-1, ghm_wino3x3_forward(y.data(), x.data(), u.data(), b.data(), 1, 16, 0, 4, 16, GHM_WINO_BLOCKED8, 0, 0, nullptr, 0));
    EXPECT_EQ(-1, ghm_wino3x3_forward(y.data(), x.data(), u.data(), b.data(), 1, 16, 4, 4, 16, 3, 0, 0, nullptr, 0));
    EXPECT_EQ(-1, ghm_wino3x3_forward(y.data(), x.data(), u.data(), b.data(), 1, 16, 4, 4, 20, GHM_WINO_BLOCKED8, 0, 0, nullptr, 0));
}


// F(2x2, 5x5) fused with bias, ReLU and the 2x2 max-pool (the convnet's conv2 in inference), from maps packed
// by ghm_wino_pack, against the double-precision convolution pooled the same way. Tolerance as above in
// terms of S, the window's sum of |x| |w| over 5 x 5 x C.
namespace {
void run_pool_case(int B, int C, int H, int W, int OC, int layout)
{
    const int vw = layout == GHM_WINO_BLOCKED8 ? 8 : 16, Q = (H - 4) / 2, R = (W - 4) / 2;
    auto x = rand_vec((size_t)C * B * H * W, 41), w = rand_vec((size_t)OC * C * 25, 42, -0.3f, 0.3f);
    auto bias = rand_vec(OC, 43, -0.5f, 0.5f);
    std::vector<float> xp(x.size()), u(ghm_wino5x5_weights_size(C, OC)), f((size_t)B * OC * Q * R, -9.0f);
    ASSERT_EQ(0, ghm_wino_pack(xp.data(), x.data(), B, C, H, W, layout));
    ASSERT_EQ(0, ghm_wino5x5_weights(u.data(), w.data(), C, OC, vw));
    ASSERT_EQ(0, ghm_wino5x5_pool_forward(f.data(), nullptr, xp.data(), u.data(), bias.data(), B, C, H, W, OC, layout,
                                          0, nullptr, 0));
    for (int n = 0; n < B; n++)
        for (int o = 0; o < OC; o++)
            for (int i = 0; i < Q; i++)
                for (int j = 0; j < R; j++) {
                    double best = -1e300, S = 0;
                    for (int dy = 0; dy < 2; dy++)
                        for (int dx = 0; dx < 2; dx++) {
                            double v = 0;
                            for (int c = 0; c < C; c++)
                                for (int kh = 0; kh < 5; kh++)
                                    for (int kw = 0; kw < 5; kw++) {
                                        const double p = (double)x[(((size_t)c * B + n) * H + 2 * i + dy + kh) * W +
                                                                   2 * j + dx + kw] *
                                                         w[(((size_t)o * C + c) * 5 + kh) * 5 + kw];
                                        v += p;
                                    }
                            best = std::max(best, v);
                        }
                    // S: a bound on each window's sum of |x| |w| (|w| <= 0.3), over the tile's 6 x 6 patch
                    for (int c = 0; c < C; c++)
                        for (int kh = 0; kh < 6; kh++)
                            for (int kw = 0; kw < 6; kw++)
                                S += std::fabs(x[(((size_t)c * B + n) * H + 2 * i + kh) * W + 2 * j + kw]) * 0.3;
                    const double want = std::max(0.0, best + bias[o]);
                    const float got = f[(((size_t)n * OC + o) * Q + i) * R + j];
                    ASSERT_NEAR(got, want, 2e-5 * S + 1e-6) << "layout " << layout << " C" << C << " " << H << "x" << W
                                                             << " OC" << OC << ": image " << n << " channel " << o
                                                             << " (" << i << ", " << j << ")";
                }
}
} // namespace

TEST(LayersWino, Pool5x5MatchesDirectConvolution)
{
    for (int layout : {GHM_WINO_BLOCKED8, GHM_WINO_NHWC16}) {
        run_pool_case(3, 32, 12, 12, 64, layout); // the convnet at 28 x 28
        run_pool_case(2, 32, 14, 14, 64, layout); // at 32 x 32
        run_pool_case(13, 16, 6, 8, 16, layout);  // one window per image row; 26 tiles: partial chunks
    }
    run_pool_case(2, 8, 8, 6, 24, GHM_WINO_BLOCKED8); // a pair and a single output vector
}

TEST(LayersWino, Pool5x5RefusesShapesOutOfRange)
{
    std::vector<float> x(32 * 12 * 12), u(36 * 32 * 64), b(64), f(64 * 16);
    EXPECT_EQ(-1, ghm_wino5x5_pool_forward(f.data(), nullptr, x.data(), u.data(), b.data(), 1, 32, 11, 12, 64,
                                           GHM_WINO_BLOCKED8, 0, nullptr, 0)); // odd conv output
    EXPECT_EQ(-1, ghm_wino5x5_pool_forward(f.data(), nullptr, x.data(), u.data(), b.data(), 1, 32, 4, 12, 64,
                                           GHM_WINO_BLOCKED8, 0, nullptr, 0)); // no window
    EXPECT_EQ(-1, ghm_wino5x5_pool_forward(f.data(), nullptr, x.data(), u.data(), b.data(), 1, 8, 12, 12, 64,
                                           GHM_WINO_NHWC16, 0, nullptr, 0)); // C below the width
    EXPECT_EQ(-1, ghm_wino5x5_weights(u.data(), x.data(), 12, 64, 8));
    EXPECT_EQ(-1, ghm_wino_pack(f.data(), x.data(), 1, 12, 4, 4, GHM_WINO_BLOCKED8));
    EXPECT_EQ(-1, ghm_wino_pack(f.data(), x.data(), 1, 16, 4, 4, 0));
}

// Training's form: channel-major output (OC, B, Q, R) with each maximum's position, against the direct fused
// kernel ghm_conv2d_pool_forward (whose backward then applies): the same positions, values within rounding.
TEST(LayersWino, Pool5x5ChannelMajorWithArgmaxMatchesTheFusedKernel)
{
    for (int layout : {GHM_WINO_BLOCKED8, GHM_WINO_NHWC16})
        for (int B : {3, 13}) {
            const int C = 32, H = 12, W = 12, OC = 64, Q = 4, R = 4, vw = layout == GHM_WINO_BLOCKED8 ? 8 : 16;
            auto x = rand_vec((size_t)C * B * H * W, 51), w = rand_vec((size_t)OC * C * 25, 52, -0.2f, 0.2f);
            auto bias = rand_vec(OC, 53, -0.5f, 0.5f);
            std::vector<float> xp(x.size()), u(ghm_wino5x5_weights_size(C, OC)), f((size_t)OC * B * Q * R);
            std::vector<int32_t> arg(f.size(), -1);
            ASSERT_EQ(0, ghm_wino_pack(xp.data(), x.data(), B, C, H, W, layout));
            ASSERT_EQ(0, ghm_wino5x5_weights(u.data(), w.data(), C, OC, vw));
            ASSERT_EQ(0, ghm_wino5x5_pool_forward(f.data(), arg.data(), xp.data(), u.data(), bias.data(), B, C, H, W,
                                                  OC, layout, 1, nullptr, 0));
            std::vector<float> ws(ghm_conv2d_pool_ws_size(C, 5, H - 4, W - 4, OC, 2)), p(f.size());
            std::vector<int32_t> a(f.size());
            ASSERT_EQ(0, ghm_conv2d_pool_forward(p.data(), a.data(), ws.data(), ws.size(), x.data(), w.data(),
                                                 bias.data(), 1, B, C, H, W, OC, 5, 1, 0, 2, 2));
            int moved = 0;
            for (size_t i = 0; i < f.size(); i++) {
                ASSERT_NEAR(f[i], p[i], 1e-4 * std::max(1.0f, std::fabs(p[i]))) << "layout " << layout << " at " << i;
                moved += arg[i] != a[i];
            }
            // random values: two window elements within rounding of each other are rare
            EXPECT_LE(moved, 2) << "layout " << layout << ": " << moved << " maxima at another position";
        }
}

// ---- the first convolution, direct (ghm_conv3x3_in_forward) ----------------------------------------------
// Against a double-precision direct convolution of the channel-major input, with padding, bias and ReLU,
// on both layouts: 1 and 3 input channels, one and two vectors of output channels, the network's 28 x 28
// and 32 x 32 and a small odd batch; the same bits on 1 and 2 threads. Tolerance as above (sums of 9 C
// products in float: errors of order 1e-7 S).
namespace {

std::vector<float> run_in_case(const Shape &s, int layout, int threads)
{
    set_threads(threads);
    const int vw = layout == GHM_WINO_BLOCKED8 ? 8 : 16;
    const size_t plane = (size_t)s.H * s.W, ny = (size_t)s.B * s.OC * plane;
    auto x = rand_vec((size_t)s.C * s.B * plane, 31), w = rand_vec((size_t)s.OC * s.C * 9, 32, -0.5f, 0.5f);
    auto bias = rand_vec(s.OC, 33, -0.3f, 0.3f);
    std::vector<float> u(ghm_conv3x3_in_weights_size(s.C, s.OC)), y(ny, -7.0f);
    EXPECT_EQ(0, ghm_conv3x3_in_weights(u.data(), w.data(), s.C, s.OC, vw));
    EXPECT_EQ(0, ghm_conv3x3_in_forward(y.data(), x.data(), u.data(), bias.data(), s.B, s.C, s.H, s.W, s.OC, layout));
    double worst = 0;
    for (int n = 0; n < s.B; n++)
        for (int o = 0; o < s.OC; o++)
            for (int h = 0; h < s.H; h++)
                for (int q = 0; q < s.W; q++) {
                    double v = bias[o], S = std::fabs(bias[o]);
                    for (int c = 0; c < s.C; c++)
                        for (int kh = 0; kh < 3; kh++)
                            for (int kw = 0; kw < 3; kw++) {
                                const int ih = h + kh - 1, iw = q + kw - 1;
                                if (ih < 0 || ih >= s.H || iw < 0 || iw >= s.W) continue;
                                const double p = (double)x[(((size_t)c * s.B + n) * s.H + ih) * s.W + iw] *
                                                 w[(((size_t)o * s.C + c) * 3 + kh) * 3 + kw];
                                v += p;
                                S += std::fabs(p);
                            }
                    if (v < 0) v = 0;
                    const double e = std::fabs(y[at(layout, s, s.OC, n, o, h, q)] - v) / (S + 1e-30);
                    if (e > worst) worst = e;
                    EXPECT_NEAR(y[at(layout, s, s.OC, n, o, h, q)], v, 2e-5 * S + 1e-6)
                        << "layout " << layout << " C " << s.C << " n " << n << " o " << o << " (" << h << ", " << q
                        << ")";
                }
    EXPECT_LT(worst, 2e-5);
    return y;
}

const Shape kInShapes[] = {
    {3, 1, 28, 28, 16}, // the residual network's stem on 28 x 28
    {2, 3, 32, 32, 16}, // on 32 x 32 RGB
    {5, 1, 4, 8, 32},   // two vectors of 16 (four of 8), a map of one register tile in height
};

} // namespace

TEST(LayersWino, FirstConvolutionMatchesDirectConvolution)
{
    for (int layout : {GHM_WINO_BLOCKED8, GHM_WINO_NHWC16})
        for (const Shape &s : kInShapes) {
            const auto one = run_in_case(s, layout, 1), two = run_in_case(s, layout, 2);
            for (size_t i = 0; i < one.size(); i++) ASSERT_EQ(one[i], two[i]) << "threads changed the bits at " << i;
        }
    set_threads(1);
}

TEST(LayersWino, FirstConvolutionRefusesShapesOutOfRange)
{
    std::vector<float> u(ghm_conv3x3_in_weights_size(3, 32)), w(32 * 3 * 9), x(3 * 2 * 64 * 64), y(2 * 32 * 64 * 64),
        b(32);
    EXPECT_EQ(-1, ghm_conv3x3_in_weights(u.data(), w.data(), 1, 12, 8));  // OC not a multiple of 8
    EXPECT_EQ(-1, ghm_conv3x3_in_weights(u.data(), w.data(), 1, 16, 4));  // no such vector width
    EXPECT_EQ(-1, ghm_conv3x3_in_weights(u.data(), w.data(), 0, 16, 16)); // no input channel
    ASSERT_EQ(0, ghm_conv3x3_in_weights(u.data(), w.data(), 1, 16, 16));
    const float *U = u.data(), *X = x.data(), *B = b.data();
    EXPECT_EQ(-1, ghm_conv3x3_in_forward(y.data(), X, U, B, 2, 1, 27, 28, 16, GHM_WINO_NHWC16)); // H odd
    EXPECT_EQ(-1, ghm_conv3x3_in_forward(y.data(), X, U, B, 2, 1, 28, 30, 16, GHM_WINO_NHWC16)); // W % 4
    EXPECT_EQ(-1, ghm_conv3x3_in_forward(y.data(), X, U, B, 2, 1, 28, 28, 8, GHM_WINO_NHWC16));  // OC < 16
    EXPECT_EQ(-1, ghm_conv3x3_in_forward(y.data(), X, U, B, 2, 3, 64, 64, 16, GHM_WINO_NHWC16)); // pad > 8192
    EXPECT_EQ(-1, ghm_conv3x3_in_forward(y.data(), X, U, B, 0, 1, 28, 28, 16, GHM_WINO_NHWC16)); // no image
    EXPECT_EQ(-1, ghm_conv3x3_in_forward(y.data(), X, U, B, 2, 1, 28, 28, 16, 3));               // no such layout
    for (float v : y) ASSERT_EQ(0.0f, v) << "a refused call wrote";
}
