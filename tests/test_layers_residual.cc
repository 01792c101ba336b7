// Fused residual layers (nn/layers.c): add + ReLU forward and the ReLU
// backward that writes both branches' gradients. Compared with the unfused
// layers (bit for bit: the same float operations) and checked by finite
// differences on inputs kept away from the ReLU kink (|a + b| >= 0.05 > h).
#include <gtest/gtest.h>

#include "layer_test_util.h"

#include <cmath>
#include <vector>

extern "C" {
#include "nn/layers.h"
#include "core/rng.h"
}

namespace {

using ghm_test::rand_vec;

}  // namespace

TEST(ResidualLayers, AddReluMatchesUnfusedAndGradients)
{
    const size_t n = 200000; // above the threshold for a parallel loop
    auto a = rand_vec(n, 1), b = rand_vec(n, 2), dy = rand_vec(n, 3);
    for (size_t i = 0; i < n; i++)
        if (std::fabs(a[i] + b[i]) < 0.05f) a[i] += 0.1f; // away from the kink
    std::vector<float> y(n), ref(n);
    ghm_add_relu_forward(y.data(), a.data(), b.data(), n);
    ghm_add_forward(ref.data(), a.data(), b.data(), n);
    ghm_relu_forward(ref.data(), ref.data(), n);
    for (size_t i = 0; i < n; i++) ASSERT_EQ(y[i], ref[i]) << i;
    // backward: dL/da = dL/db = dy * (y > 0); both outputs, also with dx aliasing dy
    std::vector<float> d1(n), d2(n), dref(n), din = dy;
    ghm_relu_backward_dup(d1.data(), d2.data(), dy.data(), y.data(), n);
    ghm_relu_backward(dref.data(), dy.data(), y.data(), n);
    for (size_t i = 0; i < n; i++) {
        ASSERT_EQ(d1[i], dref[i]) << i;
        ASSERT_EQ(d2[i], dref[i]) << i;
    }
    std::vector<float> d3(n);
    ghm_relu_backward_dup(din.data(), d3.data(), din.data(), y.data(), n);
    for (size_t i = 0; i < n; i++) ASSERT_EQ(din[i], dref[i]) << i;
    // finite differences of L = sum(add_relu(a, b) * dy) through the fused kernel, on the first 1000 entries
    const size_t m = 1000;
    const double h = 1e-2;
    std::vector<float> ys(m);
    auto loss = [&] {
        ghm_add_relu_forward(ys.data(), a.data(), b.data(), m);
        double s = 0;
        for (size_t i = 0; i < m; i++) s += (double)ys[i] * dy[i];
        return s;
    };
    for (size_t i = 0; i < m; i++) {
        std::vector<float> &p = (i % 2) ? a : b;
        const float keep = p[i];
        p[i] = keep + (float)h;
        const double lp = loss();
        p[i] = keep - (float)h;
        const double lm = loss();
        p[i] = keep;
        ASSERT_NEAR((lp - lm) / (2 * h), d1[i], 1e-3) << i;
    }
}
