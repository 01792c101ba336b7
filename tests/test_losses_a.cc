// Tests of the pair-based losses (losses/ghm.c, contrastive.c, triplet.c, npair.c,
// lifted_structure.c, multi_similarity.c, margin.c, circle.c).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

extern "C" {
#include "losses/ghm_loss.h"
#include "losses/loss.h"
}

namespace {

using Params = std::vector<std::pair<std::string, double>>;

struct LossPtr {
    ghm_loss *l = nullptr;
    ~LossPtr() { ghm_loss_destroy(l); }
};

ghm_loss *make_loss(const char *name, const Params &ps, int d, LossPtr &holder)
{
    ghm_params p;
    ghm_params_clear(&p);
    for (const auto &kv : ps) EXPECT_EQ(ghm_params_set(&p, kv.first.c_str(), kv.second), 0);
    ghm_error err;
    ghm_error_clear(&err);
    int rc = ghm_loss_create(name, &p, d, 16, 7, &holder.l, &err);
    EXPECT_EQ(rc, 0) << err.msg;
    return holder.l;
}

std::vector<float> random_batch(int n, int d, uint64_t seed, double scale, bool normalize)
{
    ghm_rng r;
    ghm_rng_seed(&r, seed, GHM_STREAM_USER);
    std::vector<float> e((size_t)n * d);
    for (auto &x : e) x = (float)(scale * ghm_rng_normal(&r));
    if (normalize)
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (int k = 0; k < d; k++) s += (double)e[(size_t)i * d + k] * e[(size_t)i * d + k];
            for (int k = 0; k < d; k++) e[(size_t)i * d + k] = (float)(e[(size_t)i * d + k] / std::sqrt(s));
        }
    return e;
}

double eval(ghm_loss *l, const std::vector<float> &e, const std::vector<int> &y, int d, std::vector<float> *g = nullptr)
{
    int n = (int)y.size();
    std::vector<float> tmp((size_t)n * d, 123.0f); // garbage: the loss must overwrite it
    double v = NAN;
    ghm_error err;
    ghm_error_clear(&err);
    EXPECT_EQ(ghm_loss_forward_backward(l, e.data(), y.data(), n, d, &v, tmp.data(), &err), 0) << err.msg;
    if (g) *g = tmp;
    return v;
}

struct Config {
    const char *name;
    Params params;
    bool normalize; // similarity losses are meant for L2-normalised embeddings
};

// Every loss/configuration the gradient tests run.
std::vector<Config> configs()
{
    return {
        {"ghm", {}, false},
        {"ghm", {{"alpha", 0.0}}, false},
        {"ghm", {{"alpha", 0.3}, {"prob", 1}, {"tau", 0.5}}, false},
        {"ghm", {{"alpha", 0.0}, {"prob", 1}, {"tau", 0.05}, {"neg_margin", 2.0}}, false},
        {"contrastive", {}, false},
        {"contrastive", {{"pos_margin", 0.5}, {"neg_margin", 3.0}}, false},
        {"triplet", {}, false},
        {"triplet", {{"mining", 0}, {"margin", 1.0}}, false},
        {"triplet", {{"mining", 2}, {"reduce", 1}, {"margin", 1.0}}, false},
        {"npair", {}, false},
        {"npair", {{"scale", 4.0}, {"l2_reg", 0.01}}, false},
        {"lifted_structure", {}, false},
        // alpha/beta/gamma are lowered for the finite-difference runs: the central
        // difference error is ~h^2 L'''/6 and L''' grows like beta^3 (gamma^3); with
        // the defaults (beta 50, gamma 256) and h = 1e-3 it would be O(1). The
        // defaults are covered by the value tests below.
        {"multi_similarity", {{"beta", 10.0}}, true},
        {"multi_similarity", {{"mine", 0}, {"beta", 10.0}, {"alpha", 4.0}}, true},
        {"margin", {}, false},
        {"margin", {{"learn_beta", 0}, {"beta", 2.0}}, false},
        {"circle", {{"detach", 0}, {"gamma", 16.0}}, true},
    };
}

struct Batch {
    std::vector<int> y;
    int d;
    double scale;
};

std::vector<Batch> batches()
{
    return {
        {{0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2}, 8, 0.5}, // m-per-class batch
        {{3, 0, 3, 1, 0, 2, 3, 1, 5}, 5, 0.5},          // classes 2 and 5 have a single item
        {{0, 1, 2, 3, 4, 5}, 4, 0.3},                   // no positive pair
        {{4, 4, 4, 4, 4}, 3, 0.4},                      // no negative pair
        {{1, 1}, 6, 0.2},                               // one positive pair
    };
}

} // namespace

// Finite-difference gradient check that tolerates hinge / mining kinks.
// For every coordinate it compares the analytic gradient with the central
// difference (L(x+h) - L(x-h)) / 2h and, only when that disagrees, with the two
// one-sided differences. A kink (hinge corner, a mining choice switching, a
// `nonzero` count changing) lying within h of x spoils the central difference
// and at most one one-sided difference; a wrong gradient (sign, factor, missing
// term) spoils all three. The number of coordinates needing the fallback is
// counted and bounded by the caller.
// Returns the worst per-coordinate relative error |g_a - g_n| / max(|g_a| + |g_n|, floor)
// of the best of the three differences.
static double kink_robust_check(ghm_loss *l, std::vector<float> e, const std::vector<int> &y, int d, double h,
                                double floor, double tol, int *n_fallback)
{
    std::vector<float> g;
    double v0 = eval(l, e, y, d, &g), worst = 0;
    *n_fallback = 0;
    for (size_t k = 0; k < e.size(); k++) {
        float o = e[k];
        e[k] = (float)(o + h);
        double hp = (double)e[k] - o, vp = eval(l, e, y, d);
        e[k] = (float)(o - h);
        double hm = o - (double)e[k], vm = eval(l, e, y, d);
        e[k] = o;
        auto rel = [&](double num) {
            return std::fabs(num - g[k]) / std::max(std::fabs(num) + std::fabs((double)g[k]), floor);
        };
        double r = rel((vp - vm) / (hp + hm));
        if (r > tol) {
            double r1 = std::min(rel((vp - v0) / hp), rel((v0 - vm) / hm));
            if (r1 < r) {
                r = r1;
                ++*n_fallback;
            }
        }
        worst = std::max(worst, r);
    }
    return worst;
}

// Finite-difference gradients of every loss on several batch shapes.
// h = 1e-3 and tolerance 1e-2 (relative, floor 1e-3): the inputs are float32 and
// the distance / Gram matrices come from a float sgemm, so the loss carries a
// relative rounding noise of ~1e-7 * |f|^2, i.e. ~1e-4 in a difference quotient
// with h = 1e-3 (with h = 1e-4 it grows tenfold; measured up to 5e-2).
// The central-difference truncation error h^2 L'''/6 is < 1e-5 for the parameters
// above; the one-sided fallback (only next to a kink) has error h L''/2 ~ 1e-3.
// A wrong factor or sign gives errors of order 1.
TEST(LossesA, FiniteDifferenceGradients)
{
    int seed = 1, fallbacks = 0, coords = 0;
    for (const auto &c : configs()) {
        for (const auto &b : batches()) {
            int n = (int)b.y.size();
            LossPtr h;
            ghm_loss *l = make_loss(c.name, c.params, b.d, h);
            ASSERT_NE(l, nullptr);
            auto e = random_batch(n, b.d, 1000 + seed++, b.scale, c.normalize);
            int nf = 0;
            double mre = kink_robust_check(l, e, b.y, b.d, 1e-3, 1e-3, 1e-2, &nf);
            double v = eval(l, e, b.y, b.d);
            EXPECT_TRUE(std::isfinite(v));
            EXPECT_LT(mre, 1e-2) << c.name << " (config with " << c.params.size() << " params) on n=" << n
                                 << " d=" << b.d << " value " << v;
            fallbacks += nf;
            coords += n * b.d;
        }
    }
    // kinks within h of a random point are rare: a few coordinates in total
    EXPECT_LT(fallbacks, coords / 50) << fallbacks << " of " << coords;
    printf("finite differences: %d coordinates, %d needed a one-sided difference\n", coords, fallbacks);
}

// The library's own checker (ghm_loss_check_grad, central differences) on GHM
// configurations (no mining; for these seeds no hinge corner lies within h).
TEST(LossesA, GhmCheckGradLibrary)
{
    std::vector<int> y = {0, 0, 0, 1, 1, 1, 2, 2, 2, 3};
    int k = 0;
    for (const auto &ps : std::vector<Params>{{}, {{"prob", 1}}, {{"alpha", 0.0}}, {{"alpha", 0.7}, {"tau", 1.0}}}) {
        LossPtr h;
        ghm_loss *l = make_loss("ghm", ps, 6, h);
        auto e = random_batch(10, 6, 500 + k++, 0.5, false);
        double mre = -1;
        ghm_error err;
        ghm_error_clear(&err);
        ASSERT_EQ(ghm_loss_check_grad(l, e.data(), y.data(), 10, 6, 1e-3, 1e-3, &mre, &err), 0) << err.msg;
        EXPECT_LT(mre, 1e-2) << k; // same justification as above
    }
}

// A batch without a valid pair/triplet gives exactly 0 and a zero gradient.
TEST(LossesA, NoValidTupleGivesZero)
{
    const char *names[] = {"triplet", "lifted_structure", "multi_similarity", "circle", "npair"};
    std::vector<int> y = {0, 1, 2, 3, 4}; // no positive pair
    for (const char *name : names) {
        LossPtr h;
        ghm_loss *l = make_loss(name, {}, 3, h);
        auto e = random_batch(5, 3, 5, 1.0, true);
        std::vector<float> g;
        EXPECT_EQ(eval(l, e, y, 3, &g), 0.0) << name;
        for (float x : g) EXPECT_EQ(x, 0.0f) << name;
    }
    // all one class: no negative
    std::vector<int> same = {2, 2, 2, 2};
    const char *neg_needed[] = {"triplet", "lifted_structure", "multi_similarity", "circle"};
    for (const char *name : neg_needed) {
        LossPtr h;
        ghm_loss *l = make_loss(name, {}, 3, h);
        auto e = random_batch(4, 3, 6, 1.0, true);
        std::vector<float> g;
        EXPECT_EQ(eval(l, e, same, 3, &g), 0.0) << name;
        for (float x : g) EXPECT_EQ(x, 0.0f) << name;
    }
    // a single item
    for (const char *name : {"ghm", "contrastive", "margin", "npair", "triplet"}) {
        LossPtr h;
        ghm_loss *l = make_loss(name, {}, 3, h);
        std::vector<float> e = {0.5f, -1.0f, 2.0f}, g;
        EXPECT_EQ(eval(l, e, {0}, 3, &g), 0.0) << name;
        for (float x : g) EXPECT_EQ(x, 0.0f) << name;
    }
}

// The square 0.6 x 0.8 in 2-D: x0 = (0,0), x1 = (0.6,0) (class 0), x2 = (0,0.8),
// x3 = (0.6,0.8) (class 1). Distances: d01 = d23 = 0.6 (positives),
// d02 = d13 = 0.8, d03 = d12 = 1.0 (negatives). (The eps 1e-12 inside the sqrt
// moves distances by < 1e-12.)
static const std::vector<float> kSquare = {0, 0, 0.6f, 0, 0, 0.8f, 0.6f, 0.8f};
static const std::vector<int> kSquareY = {0, 0, 1, 1};

TEST(LossesA, ContrastiveHandValue)
{
    // positives: (0.6^2 + 0.6^2) / 2 = 0.36; negatives: ([1-0.8]^2 + 0 + 0 + [1-0.8]^2) / 4 = 0.02
    LossPtr h;
    ghm_loss *l = make_loss("contrastive", {}, 2, h);
    EXPECT_NEAR(eval(l, kSquare, kSquareY, 2), 0.38, 1e-6);
}

TEST(LossesA, TripletHandValues)
{
    // margin 0.5, anchor-positive pairs (0,1), (1,0), (2,3), (3,2), all d_ap = 0.6; each
    // anchor has one negative at 0.8 and one at 1.0:
    //   0.6 - 0.8 + 0.5 = 0.3,  0.6 - 1.0 + 0.5 = 0.1
    // all: (4 * (0.3 + 0.1)) / 8 = 0.2; semihard: closest negative beyond 0.6 is 0.8 -> 0.3;
    // batch_hard: farthest positive 0.6, closest negative 0.8 -> 0.3.
    struct {
        int mining, reduce;
        double margin, want;
    } cases[] = {{0, 0, 0.5, 0.2},
                 {1, 0, 0.5, 0.3},
                 {2, 0, 0.5, 0.3},
                 // margin 0.3: 0.6-0.8+0.3 = 0.1 (active), 0.6-1.0+0.3 < 0: mean 0.4/8, nonzero 0.4/4
                 {0, 0, 0.3, 0.05},
                 {0, 1, 0.3, 0.1}};
    for (const auto &c : cases) {
        LossPtr h;
        ghm_loss *l = make_loss("triplet", {{"mining", c.mining}, {"reduce", c.reduce}, {"margin", c.margin}}, 2, h);
        EXPECT_NEAR(eval(l, kSquare, kSquareY, 2), c.want, 1e-6) << c.mining << " " << c.reduce;
    }
    // semihard fallback: x0 = (0,0), x1 = (2,0) (class 0), x2 = (1,0) (class 1): d_ap = 2, the only
    // negative is at 1 < 2, so the farthest negative is used: 2 - 1 + 0.2 = 1.2 for both anchors.
    LossPtr h;
    ghm_loss *l = make_loss("triplet", {}, 2, h);
    EXPECT_NEAR(eval(l, {0, 0, 2, 0, 1, 0}, {0, 0, 1}, 2), 1.2, 1e-6);
}

TEST(LossesA, NpairHandValue)
{
    // anchors/positives: a0 = (1,0), p0 = (0.5,0) (class 0); a1 = (0,1), p1 = (0,2) (class 1)
    // S = [[a0.p0, a0.p1], [a1.p0, a1.p1]] = [[0.5, 0], [0, 2]]
    // CE_0 = log(e^0.5 + e^0) - 0.5 = log(1 + e^-0.5) = 0.4740770
    // CE_1 = log(e^0 + e^2) - 2 = log(1 + e^-2) = 0.1269280
    // reg = 0.002 * (1 + 0.25 + 1 + 4) / (2 * 2) = 0.003125; total 0.3005025 + 0.003125 = 0.3036275
    // A third class-0 item and a singleton class-2 item are ignored.
    LossPtr h;
    ghm_loss *l = make_loss("npair", {}, 2, h);
    std::vector<float> e = {1, 0, 0.5f, 0, 0, 1, 7, 7, 0, 2, -3, 1};
    EXPECT_NEAR(eval(l, e, {0, 0, 1, 0, 1, 2}, 2), 0.3036274976, 1e-6);
    // scale 2 multiplies S: CE_0 = log(1 + e^-1), CE_1 = log(1 + e^-4); the regulariser is unscaled:
    // (0.3132617 + 0.0181499) / 2 + 0.003125 = 0.1688308
    LossPtr h2;
    ghm_loss *l2 = make_loss("npair", {{"scale", 2.0}}, 2, h2);
    EXPECT_NEAR(eval(l2, e, {0, 0, 1, 0, 1, 2}, 2), 0.1688308077, 1e-6);
}

TEST(LossesA, LiftedStructureHandValue)
{
    // pair (0,1): J = log(e^{1-0.8} + e^{1-1.0} + e^{1-1.0} + e^{1-0.8}) + 0.6 = log(2 + 2 e^0.2) + 0.6
    //             = 2.0912860; pair (2,3) is the mirror image, same J.
    // L = (J^2 + J^2) / (2 * 2) = J^2 / 2 = 2.1867387
    LossPtr h;
    ghm_loss *l = make_loss("lifted_structure", {}, 2, h);
    EXPECT_NEAR(eval(l, kSquare, kSquareY, 2), 2.1867386713, 1e-5);
}

// Three unit vectors: x0 = (1,0), x1 = (0.8,0.6) (class 0), x2 = (0.6,0.8) (class 1).
// S01 = 0.8, S02 = 0.6, S12 = 0.96.
static const std::vector<float> kTri = {1, 0, 0.8f, 0.6f, 0.6f, 0.8f};
static const std::vector<int> kTriY = {0, 0, 1};

TEST(LossesA, MultiSimilarityHandValue)
{
    // anchor 0: min positive 0.8, its negative 0.6 + 0.1 > 0.8 fails -> no kept negative -> skipped.
    // anchor 1: positive 0.8 (0.8 - 0.1 < 0.96 kept), negative 0.96 (0.96 + 0.1 > 0.8 kept):
    //   L_1 = 1/2 log(1 + e^{-2 (0.8 - 0.5)}) + 1/50 log(1 + e^{50 (0.96 - 0.5)})
    //       = 1/2 log(1 + e^-0.6) + 1/50 log(1 + e^23)
    // anchor 2: no positive. L = L_1 / 3.
    double l1 = 0.5 * std::log(1 + std::exp(-0.6)) + std::log(1 + std::exp(23.0)) / 50;
    LossPtr h;
    ghm_loss *l = make_loss("multi_similarity", {}, 2, h);
    EXPECT_NEAR(eval(l, kTri, kTriY, 2), l1 / 3, 1e-5);
    // without mining anchor 0 also counts: 1/2 log(1 + e^-0.6) + 1/50 log(1 + e^{50 * 0.1})
    double l0 = 0.5 * std::log(1 + std::exp(-0.6)) + std::log(1 + std::exp(5.0)) / 50;
    LossPtr h2;
    ghm_loss *l2 = make_loss("multi_similarity", {{"mine", 0}}, 2, h2);
    EXPECT_NEAR(eval(l2, kTri, kTriY, 2), (l0 + l1) / 3, 1e-5);
}

TEST(LossesA, CircleHandValue)
{
    // m = 0.25, gamma = 2: Delta_p = 0.75, Delta_n = 0.25.
    // anchor 0: s_p = 0.8: a_p = 1.25 - 0.8 = 0.45, logit_p = -2 * 0.45 * 0.05 = -0.045;
    //           s_n = 0.6: a_n = 0.85, logit_n = 2 * 0.85 * 0.35 = 0.595; L_0 = softplus(0.55)
    // anchor 1: s_p = 0.8 (same logit_p); s_n = 0.96: a_n = 1.21, logit_n = 2 * 1.21 * 0.71 = 1.7182;
    //           L_1 = softplus(1.6732)
    // anchor 2 has no positive. L = (L_0 + L_1) / 2.
    auto sp = [](double x) { return std::log1p(std::exp(x)); };
    LossPtr h;
    ghm_loss *l = make_loss("circle", {{"gamma", 2.0}}, 2, h);
    EXPECT_NEAR(eval(l, kTri, kTriY, 2), (sp(0.55) + sp(1.6732)) / 2, 1e-5);
    // default gamma 256: logits of hundreds stay finite (log-sum-exp in double)
    LossPtr h2;
    ghm_loss *l2 = make_loss("circle", {}, 2, h2);
    std::vector<float> g;
    double v = eval(l2, kTri, kTriY, 2, &g);
    // anchor 1 dominates: softplus(256 * 1.21 * 0.71 - 256 * 0.45 * 0.05) ~ 214.16
    EXPECT_NEAR(v, (sp(256 * 0.85 * 0.35 - 256 * 0.45 * 0.05) + sp(256 * 1.21 * 0.71 - 256 * 0.45 * 0.05)) / 2, 1e-3);
    for (float x : g) EXPECT_TRUE(std::isfinite(x));
}

// detach = 1 (the default) stops the gradient through a_p, a_n: check it against
// an independent double-precision implementation of that rule.
TEST(LossesA, CircleDetachedGradient)
{
    const int n = 6, d = 3;
    std::vector<int> y = {0, 0, 1, 1, 2, 0};
    auto e = random_batch(n, d, 42, 1.0, true);
    const double m = 0.25, gamma = 8.0;
    LossPtr h;
    ghm_loss *l = make_loss("circle", {{"gamma", gamma}}, d, h);
    std::vector<float> g;
    eval(l, e, y, d, &g);
    std::vector<double> ref((size_t)n * d, 0.0);
    int count = 0;
    auto dot = [&](int i, int j) {
        double s = 0;
        for (int k = 0; k < d; k++) s += (double)e[i * d + k] * e[j * d + k];
        return s;
    };
    std::vector<double> dS((size_t)n * n, 0.0);
    for (int i = 0; i < n; i++) {
        double sum_p = 0, sum_n = 0;
        bool hp = false, hn = false;
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            double s = dot(i, j);
            if (y[j] == y[i]) {
                sum_p += std::exp(-gamma * std::max(0.0, 1 + m - s) * (s - 1 + m));
                hp = true;
            } else {
                sum_n += std::exp(gamma * std::max(0.0, s + m) * (s - m));
                hn = true;
            }
        }
        if (!hp || !hn) continue;
        count++;
        double x = sum_p * sum_n, sig = x / (1 + x); // d softplus(log x) / d log x
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            double s = dot(i, j);
            if (y[j] == y[i]) {
                double ap = std::max(0.0, 1 + m - s);
                dS[i * n + j] = sig * std::exp(-gamma * ap * (s - 1 + m)) / sum_p * (-gamma * ap);
            } else {
                double an = std::max(0.0, s + m);
                dS[i * n + j] = sig * std::exp(gamma * an * (s - m)) / sum_n * (gamma * an);
            }
        }
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            for (int k = 0; k < d; k++) ref[i * d + k] += (dS[i * n + j] + dS[j * n + i]) * e[j * d + k] / count;
    // float32 output of a double computation: 1e-5 relative to the largest entry
    double mx = 0;
    for (double r : ref) mx = std::max(mx, std::fabs(r));
    ASSERT_GT(mx, 0.0);
    for (size_t k = 0; k < ref.size(); k++) EXPECT_NEAR(g[k], ref[k], 1e-5 * mx) << k;
}

TEST(LossesA, MarginHandValueAndBetaGradient)
{
    // beta 1.2, margin 0.2. positives d = 0.6: 0.2 + (0.6 - 1.2) < 0 -> inactive.
    // negatives: 0.2 - (d - 1.2) = 1.4 - d: 0.6, 0.4, 0.4, 0.6 (d = 0.8, 1.0, 1.0, 0.8)
    // L = 2.0 / 4 = 0.5; dL/dbeta = -sum y / A = -(4 * -1) / 4 = +1.
    LossPtr h;
    ghm_loss *l = make_loss("margin", {}, 2, h);
    EXPECT_NEAR(eval(l, kSquare, kSquareY, 2), 0.5, 1e-6);
    ghm_tensor **t = nullptr;
    ASSERT_EQ(ghm_loss_tensors(l, &t), 1);
    EXPECT_STREQ(t[0]->name, "beta");
    EXPECT_EQ(t[0]->decay, 0);
    EXPECT_FLOAT_EQ(t[0]->data[0], 1.2f);
    EXPECT_NEAR(t[0]->grad[0], 1.0, 1e-6);

    // finite difference in beta on a random batch (float beta: h = 1e-2 is exact in the
    // piecewise-linear loss away from kinks; tolerance for float rounding)
    auto e = random_batch(10, 4, 77, 0.5, false);
    std::vector<int> y = {0, 0, 1, 1, 2, 2, 0, 1, 2, 3};
    LossPtr h3;
    l = make_loss("margin", {}, 4, h3);
    ASSERT_EQ(ghm_loss_tensors(l, &t), 1);
    eval(l, e, y, 4);
    double ga = t[0]->grad[0];
    float b0 = t[0]->data[0];
    t[0]->data[0] = b0 + 0.01f;
    double vp = eval(l, e, y, 4);
    t[0]->data[0] = b0 - 0.01f;
    double vm = eval(l, e, y, 4);
    t[0]->data[0] = b0;
    EXPECT_NEAR((vp - vm) / ((double)(b0 + 0.01f) - (double)(b0 - 0.01f)), ga, 1e-4);

    LossPtr h2;
    ghm_loss *fixed = make_loss("margin", {{"learn_beta", 0}}, 2, h2);
    EXPECT_EQ(ghm_loss_tensors(fixed, &t), 0);
}

TEST(LossesA, GhmHandValue)
{
    // f0 = (0,0), f1 = (ln 3, 0), tau = 1: p0 = (1/2, 1/2), p1 = (3/4, 1/4), m = (5/8, 3/8)
    // JS = 1/2 [1/2 ln(0.8) + 1/2 ln(4/3)] + 1/2 [3/4 ln(1.2) + 1/4 ln(2/3)] = 0.0338221 nats
    // q_js = sqrt(JS / ln 2) = 0.2208958
    // q_hel = |(0.7071068, 0.7071068) - (0.8660254, 0.5)| / sqrt 2 = 0.1845919
    // g = ln 3 = 1.0986123; h = 0.5 g + 0.5 * 2 * q
    //   js: h = 0.7702019 -> positive pair: h^2 = 0.5932110; negative pair: (1 - h)^2 = 0.0528072
    //   hellinger: h = 0.7338981 -> positive 0.5386064; negative 0.0708102
    std::vector<float> e = {0, 0, (float)std::log(3.0), 0};
    struct {
        int prob, same;
        double want;
    } cases[] = {{0, 1, 0.5932109871}, {0, 0, 0.0528071607}, {1, 1, 0.5386063560}, {1, 0, 0.0708102448}};
    for (const auto &c : cases) {
        LossPtr h;
        ghm_loss *l = make_loss("ghm", {{"tau", 1.0}, {"prob", c.prob}}, 2, h);
        EXPECT_NEAR(eval(l, e, {0, c.same ? 0 : 1}, 2), c.want, 2e-6) << c.prob << " " << c.same;
    }
    EXPECT_NEAR(ghm_prob_distance(e.data(), e.data() + 2, 2, 1.0, GHM_PROB_JS), 0.2208957688, 1e-6);
    EXPECT_NEAR(ghm_prob_distance(e.data(), e.data() + 2, 2, 1.0, GHM_PROB_HELLINGER), 0.1845919113, 1e-6);
}

// alpha = 1 is exactly the contrastive loss, bit for bit in value and gradient
// (both sum per row, then the rows in order), for any prob/tau.
TEST(LossesA, GhmAlphaOneEqualsContrastive)
{
    for (int trial = 0; trial < 24; trial++) {
        int n = 10 + 7 * (trial % 4) + trial, d = 3 + 5 * (trial % 4) + (trial % 3) * 40;
        std::vector<int> y(n);
        for (int i = 0; i < n; i++) y[i] = (i * 7 + trial) % (2 + trial % 4);
        auto e = random_batch(n, d, 300 + trial, 0.4, trial % 2 == 1);
        double pm = 0.1 * (trial % 4), nm = 1.0 + (trial % 4);
        LossPtr h1, h2;
        ghm_loss *a = make_loss("ghm", {{"alpha", 1.0}, {"prob", trial % 2}, {"pos_margin", pm}, {"neg_margin", nm}},
                                d, h1);
        ghm_loss *b = make_loss("contrastive", {{"pos_margin", pm}, {"neg_margin", nm}}, d, h2);
        std::vector<float> ga, gb;
        double va = eval(a, e, y, d, &ga), vb = eval(b, e, y, d, &gb);
        EXPECT_GT(vb, 0.0);
        EXPECT_EQ(std::memcmp(&va, &vb, sizeof va), 0) << "trial " << trial << ": " << va << " vs " << vb;
        ASSERT_EQ(ga.size(), gb.size());
        EXPECT_EQ(std::memcmp(ga.data(), gb.data(), ga.size() * sizeof ga[0]), 0) << "trial " << trial;
    }
}

// The implemented (eps-regularised) h is symmetric and satisfies the triangle
// inequality (docs/ghm_loss.md proves it); it is not a metric, since h(x, x) =
// alpha sqrt(eps) + (1 - alpha) s sqrt(eps') > 0. The JS and Hellinger parts alone
// too. q is in [0, 1], and q = 0 for f and f + c 1 (pseudometric on R^d).
TEST(LossesA, GhmRegularisedDistanceIsSymmetricAndSatisfiesTriangle)
{
    const int d = 6, npts = 24;
    for (int prob = 0; prob < 2; prob++)
        for (double alpha : {0.0, 0.3, 0.5, 1.0})
            for (double tau : {0.1, 1.0}) {
                auto x = random_batch(npts, d, 900 + prob, 1.0, false);
                auto H = [&](int i, int j) {
                    return ghm_hybrid_distance(&x[i * d], &x[j * d], d, alpha, tau, prob, 2.0);
                };
                for (int i = 0; i < npts; i++) {
                    double q = ghm_prob_distance(&x[i * d], &x[((i + 1) % npts) * d], d, tau, prob);
                    EXPECT_GE(q, 0.0);
                    EXPECT_LE(q, 1.0 + 1e-9);
                    EXPECT_LT(H(i, i), 3e-6); // sqrt(eps) terms only
                    EXPECT_GT(H(i, i), 0.0);  // so h is not a metric (h(x, x) != 0)
                    for (int j = 0; j < npts; j++) {
                        EXPECT_EQ(H(i, j), H(j, i));
                        for (int k = 0; k < npts; k += 3) EXPECT_LE(H(i, k), H(i, j) + H(j, k) + 1e-12);
                    }
                }
            }
    // the probabilistic part is only a pseudometric on R^d: f and f + c 1 have q = 0
    std::vector<float> a = {0.3f, -1.0f, 2.0f}, b = {1.3f, 0.0f, 3.0f};
    EXPECT_LT(ghm_prob_distance(a.data(), b.data(), 3, 0.5, GHM_PROB_JS), 1e-5);
    EXPECT_GT(ghm_hybrid_distance(a.data(), b.data(), 3, 0.5, 0.5, GHM_PROB_JS, 2.0), 0.8);
}

// Extreme logits (tau tiny): softmax probabilities underflow to 0 but value and
// gradient stay finite (log-domain softmax).
TEST(LossesA, GhmExtremeTemperatureIsFinite)
{
    for (int prob = 0; prob < 2; prob++) {
        LossPtr h;
        ghm_loss *l = make_loss("ghm", {{"tau", 1e-4}, {"prob", prob}, {"alpha", 0.2}}, 8, h);
        auto e = random_batch(12, 8, 11, 3.0, false);
        std::vector<int> y = {0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3};
        std::vector<float> g;
        double v = eval(l, e, y, 8, &g);
        EXPECT_TRUE(std::isfinite(v));
        for (float x : g) EXPECT_TRUE(std::isfinite(x));
    }
}

// The spec drives validation: unknown parameters, out-of-range values.
TEST(LossesA, ParameterValidation)
{
    ghm_params p;
    ghm_params_clear(&p);
    ghm_params_set(&p, "alpah", 0.5);
    ghm_loss *l = nullptr;
    ghm_error err;
    ghm_error_clear(&err);
    EXPECT_EQ(ghm_loss_create("ghm", &p, 4, 0, 1, &l, &err), GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find("alpha"), std::string::npos) << err.msg;
    ghm_params_clear(&p);
    ghm_params_set(&p, "tau", 0.0); // tau > 0
    EXPECT_EQ(ghm_loss_create("ghm", &p, 4, 0, 1, &l, &err), GHM_EINPUT);
    ghm_params_clear(&p);
    ghm_params_set(&p, "alpha", 1.5);
    EXPECT_EQ(ghm_loss_create("ghm", &p, 4, 0, 1, &l, &err), GHM_EINPUT);
    EXPECT_EQ(l, nullptr);
    for (const char *name : {"contrastive", "triplet", "npair", "lifted_structure", "multi_similarity", "margin",
                             "circle"}) {
        const ghm_loss_ops *o = ghm_loss_find(name);
        ASSERT_NE(o, nullptr) << name;
        ghm_params_clear(&p);
        EXPECT_EQ(ghm_loss_create(name, &p, 4, 3, 1, &l, &err), 0) << name << ": " << err.msg; // defaults are valid
        ghm_loss_destroy(l);
        l = nullptr;
    }
}
