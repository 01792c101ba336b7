// Tests for the proxy / classifier / softmax-family losses: nca, proxy_nca,
// proxy_anchor, normalized_softmax, arcface, supcon, softmax.
//
// Gradient-check tolerances. Each of these losses converts its float32 inputs
// (embeddings, proxies) to double and does every later step (normalisation,
// dgemm, log-sum-exp, gradient) in double; only the returned gradients are
// rounded to float (relative error <= 6e-8). The finite differences are taken
// with the step actually representable in float (ghm_loss_check_grad and
// tensor_check below both divide by the real step), so the numerical gradient's
// error is the central-difference truncation ~h^2 |L'''| / 6 plus the double
// rounding noise of L divided by h (~1e-15 |L| / h: ~1e-10 absolute at
// h = 1e-4 for |L| ~ 20, e.g. proxy_anchor with alpha 32).
// The error measure is |g_a - g_n| / max(|g_a| + |g_n|, floor) with floor 1e-4,
// i.e. coordinates whose true gradient is ~0 are compared in absolute terms
// (|g_a - g_n| < 1e-8), which the rounding noise above stays well below.
// Measured over every test here (all losses, batch shapes, parameters):
// worst 7e-4 at h = 1e-3, 7e-6 at h = 1e-4 (the h^2 law: truncation dominates),
// 4e-6 at h = 1e-5 (noise starts to dominate). We use h = 1e-4 and assert
// < 1e-4: 14x above the worst measured, while a wrong or missing term in a
// gradient gives errors of order 1e-2..1.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

extern "C" {
#include "core/rng.h"
#include "losses/loss.h"
}

namespace {

const char *const kLosses[] = {"nca", "proxy_nca", "proxy_anchor", "normalized_softmax", "arcface", "supcon",
                               "softmax"};

bool has_tensors(const std::string &name) { return name != "nca" && name != "supcon"; }

struct LossPtr {
    ghm_loss *l = nullptr;
    ~LossPtr() { ghm_loss_destroy(l); }
};

ghm_loss *make(const char *name, int dim, int n_classes, uint64_t seed = 1,
               std::vector<std::pair<const char *, double>> kv = {})
{
    ghm_params p;
    ghm_params_clear(&p);
    for (auto &e : kv) ghm_params_set(&p, e.first, e.second);
    ghm_error err;
    ghm_error_clear(&err);
    ghm_loss *l = nullptr;
    int rc = ghm_loss_create(name, &p, dim, n_classes, seed, &l, &err);
    EXPECT_EQ(rc, 0) << name << ": " << err.msg;
    return l;
}

std::vector<float> randn(int count, uint64_t seed, double scale = 1.0)
{
    ghm_rng r;
    ghm_rng_seed(&r, seed, GHM_STREAM_USER);
    std::vector<float> v(count);
    for (auto &x : v) x = (float)(scale * ghm_rng_normal(&r));
    return v;
}

double fb(ghm_loss *l, const std::vector<float> &emb, const std::vector<int> &labels, int d, float *grad)
{
    ghm_error err;
    ghm_error_clear(&err);
    double v = NAN;
    int rc = ghm_loss_forward_backward(l, emb.data(), labels.data(), (int)labels.size(), d, &v, grad, &err);
    EXPECT_EQ(rc, 0) << err.msg;
    return v;
}

// Central finite differences w.r.t. every element of every tensor the loss
// owns (ghm_loss_check_grad covers the embeddings only). Same error measure as
// ghm_loss_check_grad: max |g_a - g_n| / max(|g_a| + |g_n|, floor).
double tensor_check(ghm_loss *l, const std::vector<float> &emb, const std::vector<int> &labels, int d, double h,
                    double floor)
{
    ghm_tensor **ts = nullptr;
    int nt = ghm_loss_tensors(l, &ts);
    std::vector<float> g(emb.size());
    fb(l, emb, labels, d, g.data());
    std::vector<std::vector<float>> ana(nt);
    for (int t = 0; t < nt; t++) ana[t].assign(ts[t]->grad, ts[t]->grad + ts[t]->n);
    double worst = 0.0;
    for (int t = 0; t < nt; t++) {
        for (size_t k = 0; k < ts[t]->n; k++) {
            float orig = ts[t]->data[k];
            ts[t]->data[k] = (float)(orig + h);
            double hp = (double)ts[t]->data[k] - orig;
            double vp = fb(l, emb, labels, d, nullptr);
            ts[t]->data[k] = (float)(orig - h);
            double hm = orig - (double)ts[t]->data[k];
            double vm = fb(l, emb, labels, d, nullptr);
            ts[t]->data[k] = orig;
            double num = (vp - vm) / (hp + hm);
            double rel = std::fabs(num - ana[t][k]) / std::fmax(std::fabs(num) + std::fabs(ana[t][k]), floor);
            if (!(rel <= worst)) worst = rel;
        }
    }
    fb(l, emb, labels, d, g.data());
    return worst;
}

struct Batch {
    const char *what;
    int n_classes, d;
    std::vector<int> labels;
};

// several shapes: balanced, a singleton class (+ a class absent from the
// batch), a single class, two items, a single item
std::vector<Batch> batches()
{
    return {
        {"balanced 4x2", 4, 5, {0, 0, 1, 1, 2, 2, 3, 3}},
        {"singleton class", 5, 3, {0, 0, 0, 1, 1, 2, 3}},
        {"single class", 3, 4, {1, 1, 1, 1, 1}},
        {"pair", 2, 6, {1, 0}},
        {"one item", 3, 4, {2}},
    };
}

const double kH = 1e-4, kFloor = 1e-4, kTol = 1e-4;

}  // namespace

TEST(LossesB, RegisteredWithDocsAndParams)
{
    for (const char *name : kLosses) {
        const ghm_loss_ops *ops = ghm_loss_find(name);
        ASSERT_NE(ops, nullptr) << name;
        EXPECT_EQ(ops->needs_classes, has_tensors(name) ? 1 : 0) << name;
        ASSERT_NE(ops->forward_backward, nullptr);
        ASSERT_NE(ops->destroy, nullptr);
    }
}

TEST(LossesB, GradientWrtEmbeddings)
{
    int seed = 11;
    for (const char *name : kLosses)
        for (const Batch &b : batches()) {
            LossPtr lp;
            lp.l = make(name, b.d, b.n_classes, 3);
            ASSERT_NE(lp.l, nullptr);
            int n = (int)b.labels.size();
            std::vector<float> emb = randn(n * b.d, seed++, 0.7);
            double rel = -1;
            ghm_error err;
            ghm_error_clear(&err);
            ASSERT_EQ(ghm_loss_check_grad(lp.l, emb.data(), b.labels.data(), n, b.d, kH, kFloor, &rel, &err), 0)
                << err.msg;
            EXPECT_LT(rel, kTol) << name << " on " << b.what;
        }
}

TEST(LossesB, GradientWrtEmbeddingsNonDefaultParams)
{
    // margins/temperatures away from the defaults (incl. arcface with a small
    // scale, where the margin term dominates the logits)
    struct Case {
        const char *name;
        std::vector<std::pair<const char *, double>> kv;
    } cases[] = {
        {"nca", {{"softmax_scale", 3.0}}},
        {"proxy_nca", {{"softmax_scale", 1.0}}},
        {"proxy_anchor", {{"alpha", 8.0}, {"margin", 0.3}}},
        {"normalized_softmax", {{"temperature", 0.5}}},
        {"arcface", {{"scale", 4.0}, {"margin", 1.2}}},
        {"supcon", {{"temperature", 0.5}}},
    };
    int seed = 200;
    for (auto &c : cases) {
        Batch b = batches()[1];
        LossPtr lp;
        lp.l = make(c.name, b.d, b.n_classes, 5, c.kv);
        ASSERT_NE(lp.l, nullptr);
        int n = (int)b.labels.size();
        std::vector<float> emb = randn(n * b.d, seed++);
        double rel = -1;
        ghm_error err;
        ghm_error_clear(&err);
        ASSERT_EQ(ghm_loss_check_grad(lp.l, emb.data(), b.labels.data(), n, b.d, kH, kFloor, &rel, &err), 0);
        EXPECT_LT(rel, kTol) << c.name;
        if (has_tensors(c.name)) {
            EXPECT_LT(tensor_check(lp.l, emb, b.labels, b.d, kH, kFloor), kTol) << c.name;
        }
    }
}

TEST(LossesB, GradientWrtOwnTensors)
{
    int seed = 100;
    for (const char *name : kLosses) {
        if (!has_tensors(name)) continue;
        for (const Batch &b : batches()) {
            LossPtr lp;
            lp.l = make(name, b.d, b.n_classes, 4);
            ASSERT_NE(lp.l, nullptr);
            // move the softmax bias off zero so its gradient is checked at a generic point
            ghm_tensor **ts;
            int nt = ghm_loss_tensors(lp.l, &ts);
            for (int t = 1; t < nt; t++)
                for (size_t k = 0; k < ts[t]->n; k++) ts[t]->data[k] = 0.1f * (float)k - 0.2f;
            int n = (int)b.labels.size();
            std::vector<float> emb = randn(n * b.d, seed++, 0.7);
            EXPECT_LT(tensor_check(lp.l, emb, b.labels, b.d, kH, kFloor), kTol) << name << " on " << b.what;
        }
    }
}

TEST(LossesB, EmptyCasesGiveZeroLossAndZeroGradient)
{
    // nca / supcon: no item has a positive (all singletons, or a single item)
    for (const char *name : {"nca", "supcon"}) {
        for (std::vector<int> labels : {std::vector<int>{0, 1, 2, 3}, std::vector<int>{5}}) {
            LossPtr lp;
            lp.l = make(name, 3, 0);
            std::vector<float> emb = randn((int)labels.size() * 3, 9);
            std::vector<float> g(emb.size(), 123.0f);  // garbage: must be overwritten
            double v = fb(lp.l, emb, labels, 3, g.data());
            EXPECT_EQ(v, 0.0) << name;
            for (float x : g) EXPECT_EQ(x, 0.0f) << name;
        }
    }
}

TEST(LossesB, GradientsAreOverwrittenAndDeterministic)
{
    Batch b = batches()[0];
    int n = (int)b.labels.size();
    std::vector<float> emb = randn(n * b.d, 77);
    for (const char *name : kLosses) {
        LossPtr lp;
        lp.l = make(name, b.d, b.n_classes, 9);
        std::vector<float> g1(emb.size(), 0.0f), g2(emb.size(), -7.0f);
        double v1 = fb(lp.l, emb, b.labels, b.d, g1.data());
        ghm_tensor **ts;
        int nt = ghm_loss_tensors(lp.l, &ts);
        std::vector<std::vector<float>> tg(nt);
        for (int t = 0; t < nt; t++) {
            tg[t].assign(ts[t]->grad, ts[t]->grad + ts[t]->n);
            for (size_t k = 0; k < ts[t]->n; k++) ts[t]->grad[k] = 99.0f;  // garbage
        }
        double v2 = fb(lp.l, emb, b.labels, b.d, g2.data());
        EXPECT_EQ(v1, v2) << name;
        EXPECT_EQ(g1, g2) << name;
        for (int t = 0; t < nt; t++)
            EXPECT_EQ(tg[t], std::vector<float>(ts[t]->grad, ts[t]->grad + ts[t]->n)) << name;
        // value without gradient is the same
        EXPECT_EQ(fb(lp.l, emb, b.labels, b.d, nullptr), v1) << name;
        EXPECT_TRUE(std::isfinite(v1) && v1 >= 0.0) << name << " " << v1;
    }
}

TEST(LossesB, StableForLargeAndDegenerateInputs)
{
    Batch b = batches()[1];
    int n = (int)b.labels.size();
    std::vector<float> big = randn(n * b.d, 31, 1e3);  // NCA logits ~ -1e6: exp underflows everywhere
    std::vector<float> zero(n * b.d, 0.0f);            // all embeddings at the origin
    std::vector<float> same(n * b.d);                  // all embeddings identical
    for (int i = 0; i < n; i++)
        for (int k = 0; k < b.d; k++) same[i * b.d + k] = 0.5f + k;
    for (const char *name : kLosses)
        for (const std::vector<float> *e : {&big, &zero, &same}) {
            LossPtr lp;
            lp.l = make(name, b.d, b.n_classes, 2);
            std::vector<float> g(e->size());
            double v = fb(lp.l, *e, b.labels, b.d, g.data());
            EXPECT_TRUE(std::isfinite(v)) << name;
            EXPECT_TRUE(ghm_all_finite(g.data(), g.size())) << name;
            ghm_tensor **ts;
            int nt = ghm_loss_tensors(lp.l, &ts);
            for (int t = 0; t < nt; t++) EXPECT_TRUE(ghm_all_finite(ts[t]->grad, ts[t]->n)) << name;
        }
}

TEST(LossesB, TensorsInitDeterministicAndExposed)
{
    for (const char *name : kLosses) {
        LossPtr a, b, c;
        a.l = make(name, 8, 6, 42);
        b.l = make(name, 8, 6, 42);
        c.l = make(name, 8, 6, 43);
        ghm_tensor **ta, **tb, **tc;
        int na = ghm_loss_tensors(a.l, &ta), nb = ghm_loss_tensors(b.l, &tb), nc = ghm_loss_tensors(c.l, &tc);
        if (!has_tensors(name)) {
            EXPECT_EQ(na, 0) << name;
            continue;
        }
        ASSERT_GT(na, 0) << name;
        ASSERT_EQ(na, nb);
        ASSERT_EQ(na, nc);
        EXPECT_EQ(ta[0]->ndim, 2);
        EXPECT_EQ(ta[0]->shape[0], 6) << name;
        EXPECT_EQ(ta[0]->shape[1], 8) << name;
        EXPECT_EQ(std::memcmp(ta[0]->data, tb[0]->data, ta[0]->n * sizeof(float)), 0) << name << ": same seed";
        EXPECT_NE(std::memcmp(ta[0]->data, tc[0]->data, ta[0]->n * sizeof(float)), 0) << name << ": other seed";
        EXPECT_TRUE(ghm_all_finite(ta[0]->data, ta[0]->n));
        double norm2 = 0;
        for (size_t k = 0; k < ta[0]->n; k++) norm2 += (double)ta[0]->data[k] * ta[0]->data[k];
        EXPECT_GT(norm2, 0.0) << name;
    }
    // learning-rate multipliers and decay flags
    LossPtr pa, pn, sm;
    pa.l = make("proxy_anchor", 4, 3);
    pn.l = make("proxy_nca", 4, 3, 1, {{"proxy_lr_mult", 10.0}});
    sm.l = make("softmax", 4, 3);
    ghm_tensor **t;
    ASSERT_EQ(ghm_loss_tensors(pa.l, &t), 1);
    EXPECT_EQ(t[0]->lr_mult, 100.0);  // Kim et al. 2020 train proxies with a 100x learning rate
    EXPECT_EQ(t[0]->decay, 0);
    ASSERT_EQ(ghm_loss_tensors(pn.l, &t), 1);
    EXPECT_EQ(t[0]->lr_mult, 10.0);
    ASSERT_EQ(ghm_loss_tensors(sm.l, &t), 2);
    EXPECT_EQ(t[0]->decay, 1);  // weight
    EXPECT_EQ(t[1]->decay, 0);  // bias
    EXPECT_EQ(t[1]->n, 3u);
}

TEST(LossesB, RejectsBadParams)
{
    ghm_params p;
    ghm_params_clear(&p);
    ghm_params_set(&p, "temperature", 0.0);  // lower bound is exclusive
    ghm_loss *l = nullptr;
    ghm_error err;
    ghm_error_clear(&err);
    EXPECT_EQ(ghm_loss_create("supcon", &p, 4, 0, 1, &l, &err), GHM_EINPUT);
    EXPECT_EQ(l, nullptr);
    EXPECT_NE(std::string(err.msg).find("temperature"), std::string::npos) << err.msg;
    ghm_params_clear(&p);
    EXPECT_EQ(ghm_loss_create("arcface", &p, 4, 0, 1, &l, &err), GHM_EINPUT);  // needs classes
}

// ---- hand-computed values ------------------------------------------------

TEST(LossesB, NcaValue)
{
    // x0 = (0,0), x1 = (1,0), x2 = (0,2), labels {0, 0, 1}, s = 1.
    // squared distances: d01 = 1, d02 = 4, d12 = 1 + 4 = 5.
    // item 0: -log(e^-1 / (e^-1 + e^-4)) = log(1 + e^-3) = 0.0485873516
    // item 1: -log(e^-1 / (e^-1 + e^-5)) = log(1 + e^-4) = 0.0181499279
    // item 2: no other item of class 1 -> not counted.
    // L = (0.0485873516 + 0.0181499279) / 2 = 0.0333686398
    LossPtr lp;
    lp.l = make("nca", 2, 0);
    std::vector<float> emb = {0, 0, 1, 0, 0, 2};
    std::vector<float> g(6);
    EXPECT_NEAR(fb(lp.l, emb, {0, 0, 1}, 2, g.data()), 0.0333686398, 1e-9);
    // item 2 contributes nothing through its own term, but still receives
    // gradient as a negative of items 0 and 1
    EXPECT_NE(g[4] * g[4] + g[5] * g[5], 0.0f);
}

TEST(LossesB, SupconValue)
{
    // z0 = (2,0) -> (1,0), z1 = (0,3) -> (0,1), z2 = (-1,0), labels {0, 0, 1}, tau = 1.
    // cosines: s01 = 0, s02 = -1, s12 = 0.
    // anchor 0: -log(e^0 / (e^0 + e^-1)) = log(1 + e^-1) = 0.3132616875
    // anchor 1: -log(e^0 / (e^0 + e^0)) = log 2        = 0.6931471806
    // anchor 2: no positive -> not counted.
    // L = (0.3132616875 + 0.6931471806) / 2 = 0.5032044340
    LossPtr lp;
    lp.l = make("supcon", 2, 0, 1, {{"temperature", 1.0}});
    std::vector<float> emb = {2, 0, 0, 3, -1, 0};
    EXPECT_NEAR(fb(lp.l, emb, {0, 0, 1}, 2, nullptr), 0.5032044340, 1e-9);
}

namespace {
// Shared tiny proxy setup: x0 = (1,1) label 0, x1 = (1, sqrt 3) label 1,
// class vectors w0 = (1,0), w1 = (0,1) (written into the loss's tensor, scaled
// by 2 for the normalised losses to check that they normalise them).
// Cosines: cos(x0,w0) = cos(x0,w1) = 1/sqrt2 = 0.7071067812;
//          cos(x1,w0) = 1/2, cos(x1,w1) = sqrt3/2 = 0.8660254038.
const std::vector<float> kX = {1.0f, 1.0f, 1.0f, 1.7320508f};
const std::vector<int> kY = {0, 1};

void set_class_vectors(ghm_loss *l, float scale)
{
    ghm_tensor **t;
    ASSERT_GE(ghm_loss_tensors(l, &t), 1);
    ASSERT_EQ(t[0]->n, 4u);
    const float w[4] = {scale, 0, 0, scale};
    std::memcpy(t[0]->data, w, sizeof w);
}
}  // namespace

TEST(LossesB, NormalizedSoftmaxValue)
{
    // T = 0.5: logits = 2 cos.
    // x0: (1.4142135624, 1.4142135624), label 0 -> log 2 = 0.6931471806
    // x1: (1, 1.7320508076), label 1 -> log(1 + e^(1 - 1.7320508076)) = log(1 + e^-0.7320508076)
    //     = log(1.4809217) = 0.3926647 (e^-0.7320508 = 0.4809217)
    // L = (0.6931472 + 0.3926647) / 2 = 0.5429059
    LossPtr lp;
    lp.l = make("normalized_softmax", 2, 2, 1, {{"temperature", 0.5}});
    set_class_vectors(lp.l, 2.0f);
    double expect = (std::log(2.0) + std::log1p(std::exp(1.0 - std::sqrt(3.0)))) / 2;
    EXPECT_NEAR(expect, 0.5429059, 1e-6);
    EXPECT_NEAR(fb(lp.l, kX, kY, 2, nullptr), expect, 1e-7);
}

TEST(LossesB, ProxyNcaValue)
{
    // s = 1: logits -||x - p||^2 = 2 cos - 2; the constant -2 cancels, so the
    // loss equals normalized softmax with T = 0.5: 0.5429059 (see above).
    LossPtr lp;
    lp.l = make("proxy_nca", 2, 2, 1, {{"softmax_scale", 1.0}});
    set_class_vectors(lp.l, 2.0f);
    EXPECT_NEAR(fb(lp.l, kX, kY, 2, nullptr), (std::log(2.0) + std::log1p(std::exp(1.0 - std::sqrt(3.0)))) / 2,
                1e-7);
    EXPECT_NEAR(fb(lp.l, kX, kY, 2, nullptr), 0.5429059, 1e-6);
}

TEST(LossesB, ProxyAnchorValue)
{
    // alpha = 1, delta = 0.1, both proxies have a positive: |P+| = |P| = 2.
    // proxy 0: pos x0: log(1 + e^-(0.7071068 - 0.1)) = log(1 + e^-0.6071068) = log(1.5449252) = 0.4349755
    //          neg x1: log(1 + e^(0.5 + 0.1))       = log(1 + e^0.6)        = log(2.8221188) = 1.0374880
    // proxy 1: pos x1: log(1 + e^-(0.8660254 - 0.1)) = log(1 + e^-0.7660254) = log(1.4648570) = 0.3817576
    //          neg x0: log(1 + e^(0.7071068 + 0.1)) = log(1 + e^0.8071068) = log(3.2414137) = 1.1760096
    // L = (0.4349755 + 0.3817576) / 2 + (1.0374880 + 1.1760096) / 2 = 0.4083666 + 1.1067488 = 1.5151153
    LossPtr lp;
    lp.l = make("proxy_anchor", 2, 2, 1, {{"alpha", 1.0}, {"margin", 0.1}});
    set_class_vectors(lp.l, 2.0f);
    EXPECT_NEAR(fb(lp.l, kX, kY, 2, nullptr), 1.5151153, 1e-6);

    // 3 classes, proxy 2 = (-1, 0) has no item in the batch: it is in P (negative
    // term: log(1 + e^(-0.7071068 + 0.1) + e^(-0.5 + 0.1)) = log(1 + 0.5449252 + 0.6703200)
    // = log(2.2152452) = 0.7953631) but not in P+.
    // L = (0.4349755 + 0.3817576) / 2 + (1.0374880 + 1.1760096 + 0.7953631) / 3 = 0.4083666 + 1.0029536
    //   = 1.4113201
    LossPtr l3;
    l3.l = make("proxy_anchor", 2, 3, 1, {{"alpha", 1.0}, {"margin", 0.1}});
    ghm_tensor **t;
    ASSERT_EQ(ghm_loss_tensors(l3.l, &t), 1);
    const float w[6] = {1, 0, 0, 1, -1, 0};
    std::memcpy(t[0]->data, w, sizeof w);
    EXPECT_NEAR(fb(l3.l, kX, kY, 2, nullptr), 1.4113201, 1e-6);
}

TEST(LossesB, ArcfaceValue)
{
    // s = 1, m = 0.5. theta(x0, w0) = pi/4, theta(x1, w1) = pi/6.
    // x0: target logit cos(pi/4 + 0.5) = cos(1.2853982) = 0.2815395, other 0.7071068
    //     loss0 = log(1 + e^(0.7071068 - 0.2815395)) = log(1 + e^0.4255673) = log(2.5304583) = 0.9284004
    // x1: target logit cos(pi/6 + 0.5) = cos(1.0235988) = 0.5202960, other 0.5
    //     loss1 = log(1 + e^(0.5 - 0.5202960)) = log(1 + e^-0.0202960) = log(1.9799085) = 0.6830507
    // L = (0.9284004 + 0.6830507) / 2 = 0.8057256
    // (the sin epsilon changes sin(theta) by < 1e-6 at these angles)
    LossPtr lp;
    lp.l = make("arcface", 2, 2, 1, {{"scale", 1.0}, {"margin", 0.5}});
    set_class_vectors(lp.l, 2.0f);
    EXPECT_NEAR(fb(lp.l, kX, kY, 2, nullptr), 0.8057256, 1e-6);
    // margin 0 -> plain normalised softmax with T = 1
    LossPtr l0;
    l0.l = make("arcface", 2, 2, 1, {{"scale", 1.0}, {"margin", 0.0}});
    set_class_vectors(l0.l, 2.0f);
    EXPECT_NEAR(fb(l0.l, kX, kY, 2, nullptr),
                (std::log(2.0) + std::log1p(std::exp(0.5 - std::sqrt(3.0) / 2))) / 2, 1e-6);
}

TEST(LossesB, SoftmaxValue)
{
    // W = I, b = (0.5, -0.5).
    // x0 = (1,1): logits (1.5, 0.5), label 0 -> log(1 + e^-1) = 0.3132617
    // x1 = (1, sqrt3): logits (1.5, 1.2320508), label 1 -> log(1 + e^0.2679492) = log(2.3072807) = 0.8360697
    // L = (0.3132617 + 0.8360697) / 2 = 0.5746657
    LossPtr lp;
    lp.l = make("softmax", 2, 2);
    set_class_vectors(lp.l, 1.0f);
    ghm_tensor **t;
    ASSERT_EQ(ghm_loss_tensors(lp.l, &t), 2);
    t[1]->data[0] = 0.5f;
    t[1]->data[1] = -0.5f;
    std::vector<float> g(4);
    EXPECT_NEAR(fb(lp.l, kX, kY, 2, g.data()), 0.5746657, 1e-6);
    // bias gradient = mean over items of (softmax - onehot); sums to 0 over classes
    EXPECT_NEAR(t[1]->grad[0] + t[1]->grad[1], 0.0, 1e-7);
}

TEST(LossesB, GradientDescentLowersTheLoss)
{
    // 30 plain gradient steps on the embeddings and the loss's own tensors
    // (with their lr multipliers) must lower every loss on a fixed batch.
    Batch b = batches()[0];
    int n = (int)b.labels.size();
    for (const char *name : kLosses) {
        LossPtr lp;
        lp.l = make(name, b.d, b.n_classes, 13);
        std::vector<float> emb = randn(n * b.d, 55), g(emb.size());
        ghm_tensor **ts;
        int nt = ghm_loss_tensors(lp.l, &ts);
        double first = fb(lp.l, emb, b.labels, b.d, g.data()), last = first;
        const double lr = 1e-3;
        for (int step = 0; step < 30; step++) {
            for (size_t k = 0; k < emb.size(); k++) emb[k] -= (float)(lr * g[k]);
            for (int t = 0; t < nt; t++)
                for (size_t k = 0; k < ts[t]->n; k++)
                    ts[t]->data[k] -= (float)(lr * std::fmin(ts[t]->lr_mult, 10.0) * ts[t]->grad[k]);
            last = fb(lp.l, emb, b.labels, b.d, g.data());
        }
        EXPECT_LT(last, first) << name;
    }
}
