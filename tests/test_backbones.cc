// Backbone tests: parameter counts, determinism, shape validation, wrapper
// behaviour (normalisation, chunked inference), batch-norm modes, and a
// finite-difference gradient check of every backbone through the wrapper.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <set>
#include <string>
#include <vector>

extern "C" {
#include "backbones/backbone.h"
#include "nn/layers.h"
#include "core/rng.h"
#include "core/threads.h"
}

namespace {

// GHM_THREADS (ctest sets 1) or all cores; one thread keeps the suite fast on a loaded machine.
const int kThreads = ghm_threads_set(0);

std::vector<float> rand_vec(size_t n, uint64_t seed, float lo = 0.0f, float hi = 1.0f)
{
    ghm_rng r;
    ghm_rng_seed(&r, seed, GHM_STREAM_USER);
    std::vector<float> v(n);
    for (auto &x : v) x = ghm_rng_uniformf(&r, lo, hi);
    return v;
}

struct Net {
    ghm_backbone *b = nullptr;
    ghm_error err{};
    int rc = 0;
    Net(const char *name, int c, int h, int w, int dim, int norm, int max_batch, uint64_t seed,
        const ghm_params *p = nullptr)
    {
        rc = ghm_backbone_create(name, p, c, h, w, dim, norm, max_batch, seed, &b, &err);
    }
    ~Net() { ghm_backbone_destroy(b); }
    size_t img() const { return (size_t)b->in_c * b->in_h * b->in_w; }
};

double dot(const std::vector<float> &a, const std::vector<float> &b)
{
    double s = 0;
    for (size_t i = 0; i < a.size(); i++) s += (double)a[i] * b[i];
    return s;
}

}  // namespace

TEST(Backbones, RegistryListsAll)
{
    ASSERT_GE(ghm_backbone_count(), 3);
    std::set<std::string> names;
    for (int i = 0; i < ghm_backbone_count(); i++) {
        const ghm_backbone_ops *o = ghm_backbone_at(i);
        SCOPED_TRACE(o->name);
        names.insert(o->name);
        EXPECT_EQ(ghm_backbone_find(o->name), o); // found by its own name
        // each builds with its defaults and maps 2 images to 2 unit-norm embeddings of the asked size
        Net n(o->name, 1, 28, 28, 12, 1, 2, 1);
        ASSERT_EQ(n.rc, 0) << n.err.msg;
        EXPECT_EQ(n.b->dim, 12);
        std::vector<float> x(2 * 28 * 28), e(2 * 12);
        for (size_t k = 0; k < x.size(); k++) x[k] = (float)((k * 37) % 101) / 101.0f;
        ghm_error err;
        ASSERT_EQ(ghm_backbone_forward(n.b, x.data(), 2, e.data(), 0, &err), 0) << err.msg;
        for (int r = 0; r < 2; r++) {
            double s = 0;
            for (int k = 0; k < 12; k++) s += (double)e[r * 12 + k] * e[r * 12 + k];
            EXPECT_NEAR(s, 1.0, 1e-5);
        }
    }
    EXPECT_EQ(names.size(), (size_t)ghm_backbone_count()); // no two entries share a name
    for (const char *want : {"convnet", "mlp", "resnet"}) EXPECT_EQ(names.count(want), 1u) << want;
    EXPECT_EQ(ghm_backbone_find("convnets"), nullptr);
}

TEST(Backbones, ParamCounts)
{
    // convnet, D = 128: 32*25+32 + 64*800+64 + 1024*256+256 + 256*128+128
    //                 = 832 + 51,264 + 262,400 + 32,896 = 347,392
    Net c("convnet", 1, 28, 28, 128, 1, 4, 1);
    ASSERT_EQ(c.rc, 0) << c.err.msg;
    EXPECT_EQ(ghm_backbone_param_count(c.b), 347392u);
    ghm_tensor **t;
    ASSERT_EQ(ghm_backbone_tensors(c.b, &t), 8);
    EXPECT_STREQ(t[0]->name, "conv1.weight");
    EXPECT_EQ(t[0]->decay, 1);
    EXPECT_EQ(t[1]->decay, 0);
    // only fc1's input grows with the image: 32x32 -> 28 -> 14 -> 10 -> 5, F = 64*5*5 = 1600;
    // 28 rows x 32 columns -> (24 x 28) -> (12 x 14) -> (8 x 10) -> (4 x 5), F = 64*4*5 = 1280;
    // 16x16 (the smallest) -> 12 -> 6 -> 2 -> 1, F = 64
    const struct {
        int h, w, f;
    } sizes[] = {{32, 32, 1600}, {28, 32, 1280}, {16, 16, 64}};
    for (const auto &sz : sizes) {
        SCOPED_TRACE(testing::Message() << sz.h << "x" << sz.w);
        Net c2("convnet", 1, sz.h, sz.w, 128, 1, 4, 1);
        ASSERT_EQ(c2.rc, 0) << c2.err.msg;
        EXPECT_EQ(ghm_backbone_param_count(c2.b), (size_t)(832 + 51264 + sz.f * 256 + 256 + 32896));
        ASSERT_EQ(ghm_backbone_tensors(c2.b, &t), 8);
        EXPECT_STREQ(t[4]->name, "fc1.weight");
        EXPECT_EQ(t[4]->shape[0], 256);
        EXPECT_EQ(t[4]->shape[1], sz.f);
    }

    Net m("mlp", 1, 28, 28, 64, 1, 4, 1);
    ASSERT_EQ(m.rc, 0) << m.err.msg;
    EXPECT_EQ(ghm_backbone_param_count(m.b), (size_t)(784 * 512 + 512 + 512 * 256 + 256 + 256 * 64 + 64));

    ghm_params p;
    ghm_params_clear(&p);
    ghm_params_set(&p, "hidden1", 32);
    ghm_params_set(&p, "hidden2", 16);
    Net m2("mlp", 3, 4, 4, 8, 1, 4, 1, &p);
    ASSERT_EQ(m2.rc, 0) << m2.err.msg;
    EXPECT_EQ(ghm_backbone_param_count(m2.b), (size_t)(48 * 32 + 32 + 32 * 16 + 16 + 16 * 8 + 8));

    // resnet, blocks = 1, 3 input channels, D = 10:
    // stem 3*16*9 + 32 (BN); layer1 2*(16*16*9 + 32);
    // layer2 32*16*9 + 64 + 32*32*9 + 64 + shortcut 32*16 + 64;
    // layer3 64*32*9 + 128 + 64*64*9 + 128 + shortcut 64*32 + 128; fc 64*10 + 10
    Net r("resnet", 3, 32, 32, 10, 1, 4, 1);
    ASSERT_EQ(r.rc, 0) << r.err.msg;
    size_t expect = 3 * 16 * 9 + 32 + 2 * (16 * 16 * 9 + 32) + (32 * 16 * 9 + 64 + 32 * 32 * 9 + 64 + 32 * 16 + 64) +
                    (64 * 32 * 9 + 128 + 64 * 64 * 9 + 128 + 64 * 32 + 128) + 64 * 10 + 10;
    EXPECT_EQ(ghm_backbone_param_count(r.b), expect);
}

TEST(Backbones, InputShapeValidation)
{
    Net c("convnet", 3, 32, 32, 16, 1, 4, 1);
    EXPECT_EQ(c.rc, GHM_EINPUT);
    EXPECT_NE(std::string(c.err.msg).find("3x32x32"), std::string::npos) << c.err.msg;
    EXPECT_EQ(c.b, nullptr);
    // convnet: both conv outputs must be even (the max-pools tile them): sides multiples of 4, >= 16;
    // the message names the shape, the rule and the stage that does not fit
    const struct {
        int h, w;
        const char *why;
    } bad[] = {{30, 30, "height 30: conv1 26, pool 13 gives an odd conv2 output of 9"},
               {29, 29, "height 29 gives an odd conv1 output of 25"},
               {28, 34, "width 34: conv1 30, pool 15 gives an odd conv2 output of 11"},
               {12, 12, "height 12: conv1 8, pool 4 leaves a conv2 output of 0"},
               {4, 4, "height 4 leaves a conv1 output of 0"},
               {1, 1, "height 1 leaves a conv1 output of -3"}};
    for (const auto &s : bad) {
        Net v("convnet", 1, s.h, s.w, 16, 1, 4, 1);
        const std::string msg = v.err.msg, shape = "1x" + std::to_string(s.h) + "x" + std::to_string(s.w);
        EXPECT_EQ(v.rc, GHM_EINPUT) << shape;
        EXPECT_EQ(v.b, nullptr);
        EXPECT_NE(msg.find(shape), std::string::npos) << msg;
        EXPECT_NE(msg.find("multiples of 4, at least 16"), std::string::npos) << msg;
        EXPECT_NE(msg.find(s.why), std::string::npos) << msg;
    }
    // too large for fc1's int indexing: refused before any allocation
    Net big("convnet", 1, 4096, 4096, 16, 1, 4, 1);
    EXPECT_EQ(big.rc, GHM_EINPUT);
    EXPECT_NE(std::string(big.err.msg).find("too large"), std::string::npos) << big.err.msg;
    Net r("resnet", 2, 28, 28, 16, 1, 4, 1);
    EXPECT_EQ(r.rc, GHM_EINPUT);
    EXPECT_NE(std::string(r.err.msg).find("2x28x28"), std::string::npos) << r.err.msg;
    Net u("convnett", 1, 28, 28, 16, 1, 4, 1);
    EXPECT_EQ(u.rc, GHM_EINPUT);
    EXPECT_NE(std::string(u.err.msg).find("did you mean 'convnet'"), std::string::npos) << u.err.msg;
    ghm_params p;
    ghm_params_clear(&p);
    ghm_params_set(&p, "hiden1", 32);
    Net m("mlp", 1, 28, 28, 16, 1, 4, 1, &p);
    EXPECT_EQ(m.rc, GHM_EINPUT);
    EXPECT_NE(std::string(m.err.msg).find("hidden1"), std::string::npos) << m.err.msg;
    Net z("mlp", 1, 28, 28, 0, 1, 4, 1);
    EXPECT_EQ(z.rc, GHM_EINPUT);
}

TEST(Backbones, DeterministicInit)
{
    for (const char *name : {"convnet", "mlp", "resnet"}) {
        Net a(name, 1, 28, 28, 16, 1, 4, 42), b(name, 1, 28, 28, 16, 1, 4, 42), c(name, 1, 28, 28, 16, 1, 4, 43);
        ASSERT_EQ(a.rc, 0) << a.err.msg;
        ghm_tensor **ta, **tb, **tc;
        int n = ghm_backbone_tensors(a.b, &ta);
        ASSERT_EQ(n, ghm_backbone_tensors(b.b, &tb));
        ghm_backbone_tensors(c.b, &tc);
        bool differs = false;
        for (int i = 0; i < n; i++) {
            ASSERT_EQ(0, memcmp(ta[i]->data, tb[i]->data, ta[i]->n * sizeof(float))) << name << " " << ta[i]->name;
            if (memcmp(ta[i]->data, tc[i]->data, ta[i]->n * sizeof(float))) differs = true;
        }
        EXPECT_TRUE(differs) << name;
        auto x = rand_vec(3 * 784, 5);
        std::vector<float> ea(3 * 16), eb(3 * 16);
        ASSERT_EQ(0, ghm_backbone_forward(a.b, x.data(), 3, ea.data(), 1, &a.err)) << a.err.msg;
        ASSERT_EQ(0, ghm_backbone_forward(b.b, x.data(), 3, eb.data(), 1, &b.err));
        EXPECT_EQ(ea, eb) << name;
    }
}

TEST(Backbones, NormalisedOutputAndChunkedInference)
{
    for (const char *name : {"convnet", "mlp", "resnet"}) {
        // max_batch 2 forces the wrapper to chunk 5 images into 2 + 2 + 1
        Net a(name, 1, 28, 28, 8, 1, 2, 3);
        ASSERT_EQ(a.rc, 0) << a.err.msg;
        auto x = rand_vec(5 * 784, 9);
        std::vector<float> all(5 * 8), one(8);
        ASSERT_EQ(0, ghm_backbone_forward(a.b, x.data(), 5, all.data(), 0, &a.err)) << a.err.msg;
        for (int i = 0; i < 5; i++) {
            double s = 0;
            for (int j = 0; j < 8; j++) s += (double)all[i * 8 + j] * all[i * 8 + j];
            EXPECT_NEAR(s, 1.0, 1e-5);
            ASSERT_EQ(0, ghm_backbone_forward(a.b, x.data() + i * 784, 1, one.data(), 0, &a.err));
            for (int j = 0; j < 8; j++) EXPECT_NEAR(one[j], all[i * 8 + j], 1e-5) << name << " image " << i;
        }
        // training batches above max_batch are refused; backward needs a train forward
        EXPECT_EQ(GHM_EINPUT, ghm_backbone_forward(a.b, x.data(), 3, all.data(), 1, &a.err));
        EXPECT_NE(0, ghm_backbone_backward(a.b, all.data(), &a.err));
    }
}

TEST(Backbones, ResnetBatchNormModes)
{
    Net r("resnet", 1, 28, 28, 8, 0, 8, 3);
    ASSERT_EQ(r.rc, 0) << r.err.msg;
    auto x = rand_vec(4 * 784, 10);
    std::vector<float> e4(4 * 8), e2(2 * 8), t4(4 * 8), t2(2 * 8);
    // eval: each image's embedding is independent of the rest of the batch
    ASSERT_EQ(0, ghm_backbone_forward(r.b, x.data(), 4, e4.data(), 0, &r.err));
    ASSERT_EQ(0, ghm_backbone_forward(r.b, x.data(), 2, e2.data(), 0, &r.err));
    for (int i = 0; i < 16; i++) EXPECT_NEAR(e2[i], e4[i], 1e-5);
    // train: batch statistics make it depend on the batch
    ASSERT_EQ(0, ghm_backbone_forward(r.b, x.data(), 4, t4.data(), 1, &r.err));
    ASSERT_EQ(0, ghm_backbone_forward(r.b, x.data(), 2, t2.data(), 1, &r.err));
    double diff = 0;
    for (int i = 0; i < 16; i++) diff += std::fabs(t2[i] - t4[i]);
    EXPECT_GT(diff, 1e-4);
    // after train forwards the running statistics moved, so eval output changed
    std::vector<float> e4b(4 * 8);
    ASSERT_EQ(0, ghm_backbone_forward(r.b, x.data(), 4, e4b.data(), 0, &r.err));
    diff = 0;
    for (int i = 0; i < 32; i++) diff += std::fabs(e4b[i] - e4[i]);
    EXPECT_GT(diff, 1e-4);
}

// Finite-difference check of parameter gradients through the wrapper (with L2
// normalisation), L = sum(emb * r), central differences with h = 3e-4 over a
// float32 forward, L accumulated in double.
// Why these tolerances:
//  - rounding: embeddings carry ~1e-7 relative float error, |L| = O(1), so the
//    noise in (L+ - L-) / 2h is ~1e-7 / 6e-4 ~ 2e-4 absolute;
//  - truncation: the un-normalised embeddings are small at PyTorch's init
//    (|raw| ~ 0.1), so L2 normalisation is strongly curved; a larger h (1e-2)
//    gave 10% truncation errors, h = 3e-4 makes them negligible;
//  - kinks: ReLU / max-pool switch when a perturbation moves a unit across
//    0 / a tie. After batch norm many units sit near 0, so in the resnet a
//    stem weight perturbation flips ~0.1-1 unit on average, an error of a few
//    1e-3 on that coordinate (seen with both signs, shrinking toward the output,
//    i.e. noise rather than bias; every batch-norm layer agrees to ~1e-4).
// So: coordinates with |g| > 1e-3 must agree within 5% + 2e-3 for at least 90%
// of them, and all of them within 50% + 1e-2 (a wrong sign or scale fails).
static void grad_check(const char *name, int C, int H, int B, int D, int ncoord, int W = 0)
{
    Net n(name, C, H, W > 0 ? W : H, D, 1, B, 7);
    ASSERT_EQ(n.rc, 0) << n.err.msg;
    auto x = rand_vec((size_t)B * n.img(), 11);
    auto r = rand_vec((size_t)B * D, 12, -1, 1);
    std::vector<float> e((size_t)B * D);
    ghm_tensor **t;
    int nt = ghm_backbone_tensors(n.b, &t);
    auto loss = [&] {
        EXPECT_EQ(0, ghm_backbone_forward(n.b, x.data(), B, e.data(), 1, &n.err));
        return dot(e, r);
    };
    loss();
    ASSERT_EQ(0, ghm_backbone_backward(n.b, r.data(), &n.err)) << n.err.msg;
    // copy analytic grads; check they are overwritten, not accumulated, by a second pass
    std::vector<std::vector<float>> g(nt);
    for (int i = 0; i < nt; i++) g[i].assign(t[i]->grad, t[i]->grad + t[i]->n);
    loss();
    ASSERT_EQ(0, ghm_backbone_backward(n.b, r.data(), &n.err));
    for (int i = 0; i < nt; i++)
        for (size_t j = 0; j < t[i]->n; j++) ASSERT_EQ(g[i][j], t[i]->grad[j]) << t[i]->name;

    ghm_rng rng;
    ghm_rng_seed(&rng, 99, GHM_STREAM_USER);
    const double h = 3e-4;
    int checked = 0, good = 0;
    for (int k = 0; k < ncoord; k++) {
        // every tensor gets coordinates: cycle through them, random index inside
        int ti = k % nt;
        size_t j = ghm_rng_below(&rng, (uint32_t)t[ti]->n);
        float keep = t[ti]->data[j];
        t[ti]->data[j] = keep + (float)h;
        double lp = loss();
        t[ti]->data[j] = keep - (float)h;
        double lm = loss();
        t[ti]->data[j] = keep;
        double num = (lp - lm) / (2 * h), ana = g[ti][j];
        if (std::fabs(ana) < 1e-3 && std::fabs(num) < 1e-3) continue;
        checked++;
        double scale = std::max(std::fabs(num), std::fabs(ana));
        if (std::fabs(num - ana) <= 5e-2 * scale + 2e-3) good++;
        EXPECT_LE(std::fabs(num - ana), 0.5 * scale + 1e-2)
            << name << " " << t[ti]->name << "[" << j << "] analytic " << ana << " numeric " << num;
    }
    EXPECT_GE(checked, ncoord / 3) << name;
    EXPECT_GE(good, (int)(0.9 * checked)) << name << ": " << good << " of " << checked;
}

// Every registry entry, by its registry line (a new backbone is checked without a new test): 3 grey
// 28 x 28 images (the Fashion-MNIST / MNIST shape every backbone takes) through the wrapper with
// L2 normalisation.
class EveryBackbone : public ::testing::TestWithParam<int> {};
TEST_P(EveryBackbone, GradientsByFiniteDifferences)
{
    const ghm_backbone_ops *o = ghm_backbone_at(GetParam());
    ASSERT_NE(o, nullptr);
    grad_check(o->name, 1, 28, 3, 8, 60);
}
INSTANTIATE_TEST_SUITE_P(Registry, EveryBackbone, ::testing::Range(0, ghm_backbone_count()),
                         [](const ::testing::TestParamInfo<int> &info) {
                             return std::string(ghm_backbone_at(info.param)->name);
                         });

// Shapes beyond the registry check:
// glyphs-xl's 32x32 (conv2 output 10x10, pooled to an odd 5x5), and a non-square 28 x 32 (rows and columns
// of every stage differ, so a swapped height and width would show)
TEST(Backbones, ConvnetGradients32x32) { grad_check("convnet", 1, 32, 2, 8, 60); }
TEST(Backbones, ConvnetGradients28x32) { grad_check("convnet", 1, 28, 2, 8, 60, 32); }
// three channels (the resnet's RGB stem path)
TEST(Backbones, ResnetGradientsRgb32x32) { grad_check("resnet", 3, 32, 3, 8, 60); }

// The convnet's products (im2col convolutions and linear layers) on oneDNN's
// sgemm (the default on AVX-512 CPUs) and on OpenBLAS (the reference): finite
// differences on each, and the two against each other on one training step and
// an inference pass (tolerance as for the resnet below: 1e-3 of each tensor's
// largest value), and a second step on oneDNN identical to the first.
TEST(Backbones, ConvnetGradientsOnEachGemmBackend)
{
    for (int path = 0; path < 2; path++) {
        if (path == 1 && !ghm_conv_dnnl_available()) break;
        ghm_gemm_backend_set(path);
        grad_check("convnet", 1, 28, 2, 8, 60);
        grad_check("convnet", 1, 32, 2, 8, 60);
    }
    ghm_gemm_backend_set(-1);
}

// S x S images (28: the reference, 32: glyphs-xl)
static void convnet_onednn_matches_openblas(int S)
{
    SCOPED_TRACE(testing::Message() << S << "x" << S);
    const int B = 24, D = 16, M = 37;
    auto x = rand_vec((size_t)M * S * S, 41, 0, 1);
    auto r = rand_vec((size_t)B * D, 42, -1, 1);
    std::vector<float> emb[3], inf[3];
    std::vector<std::vector<float>> grads[3];
    for (int run = 0; run < 3; run++) {
        ghm_gemm_backend_set(run == 0 ? 0 : 1); /* 0: OpenBLAS, 1 and 2: oneDNN twice */
        Net n("convnet", 1, S, S, D, 1, B, 5);
        ASSERT_EQ(n.rc, 0) << n.err.msg;
        emb[run].resize((size_t)B * D);
        inf[run].resize((size_t)M * D);
        ASSERT_EQ(0, ghm_backbone_forward(n.b, x.data(), B, emb[run].data(), 1, &n.err)) << n.err.msg;
        ASSERT_EQ(0, ghm_backbone_backward(n.b, r.data(), &n.err)) << n.err.msg;
        ghm_tensor **t;
        int nt = ghm_backbone_tensors(n.b, &t);
        for (int i = 0; i < nt; i++) grads[run].emplace_back(t[i]->grad, t[i]->grad + t[i]->n);
        ASSERT_EQ(0, ghm_backbone_forward(n.b, x.data(), M, inf[run].data(), 0, &n.err)) << n.err.msg;
    }
    ghm_gemm_backend_set(-1);
    auto close = [](const std::vector<float> &a, const std::vector<float> &b, const char *what) {
        ASSERT_EQ(a.size(), b.size());
        double m = 0;
        for (float v : b) m = std::max(m, (double)std::fabs(v));
        for (size_t i = 0; i < a.size(); i++) ASSERT_NEAR(a[i], b[i], 1e-3 * m + 1e-7) << what << " [" << i << "]";
    };
    close(emb[1], emb[0], "train embedding");
    close(inf[1], inf[0], "inference embedding");
    ASSERT_EQ(grads[0].size(), grads[1].size());
    for (size_t i = 0; i < grads[0].size(); i++) close(grads[1][i], grads[0][i], "gradient");
    EXPECT_EQ(emb[1], emb[2]) << "oneDNN: not the same numbers twice";
    EXPECT_EQ(inf[1], inf[2]) << "oneDNN: not the same numbers twice";
    EXPECT_EQ(grads[1], grads[2]) << "oneDNN: not the same numbers twice";
}

TEST(Backbones, ConvnetOnednnGemmMatchesOpenblas)
{
    if (!ghm_conv_dnnl_available()) GTEST_SKIP() << "built without oneDNN: only the OpenBLAS path exists";
    convnet_onednn_matches_openblas(28);
}

TEST(Backbones, ConvnetOnednnGemmMatchesOpenblas32x32)
{
    if (!ghm_conv_dnnl_available()) GTEST_SKIP() << "built without oneDNN: only the OpenBLAS path exists";
    convnet_onednn_matches_openblas(32);
}

// conv2 of the convnet in training runs on oneDNN's convolution primitive when the products run on
// oneDNN and its output has at least 10 x 10 pixels (backbones/convnet.c, conv2_dnnl: 32 x 32 images;
// ConvnetOnednnGemmMatchesOpenblas32x32 compares it with OpenBLAS). When that
// primitive cannot be made, training falls back to the fused im2col path, gives the same numbers within
// the tolerance above, and does not try again on every step.
TEST(Backbones, ConvnetConv2FallsBackWhenItsPrimitiveFails)
{
    if (!ghm_conv_dnnl_available()) GTEST_SKIP() << "built without oneDNN: only the OpenBLAS path exists";
    const int B = 24, D = 16, S = 32;
    auto x = rand_vec((size_t)B * S * S, 41, 0, 1);
    auto r = rand_vec((size_t)B * D, 42, -1, 1);
    ghm_gemm_backend_set(1);
    std::vector<float> emb[2], grad[2];
    long made[2];
    for (int fail = 0; fail < 2; fail++) {
        Net n("convnet", 1, S, S, D, 1, B, 5);
        ASSERT_EQ(n.rc, 0) << n.err.msg;
        const long a0 = ghm_conv_dnnl_attempts();
        if (fail) ghm_conv_dnnl_fail_at(0);
        for (int step = 0; step < 2; step++) {
            emb[fail].assign((size_t)B * D, 0.0f);
            ASSERT_EQ(0, ghm_backbone_forward(n.b, x.data(), B, emb[fail].data(), 1, &n.err)) << n.err.msg;
            ASSERT_EQ(0, ghm_backbone_backward(n.b, r.data(), &n.err)) << n.err.msg;
        }
        ghm_conv_dnnl_fail_at(-1);
        made[fail] = ghm_conv_dnnl_attempts() - a0;
        ghm_tensor **t;
        const int nt = ghm_backbone_tensors(n.b, &t);
        for (int i = 0; i < nt; i++) grad[fail].insert(grad[fail].end(), t[i]->grad, t[i]->grad + t[i]->n);
    }
    ghm_gemm_backend_set(-1);
    EXPECT_EQ(made[0], 1) << "one primitive for two steps of one batch size";
    EXPECT_EQ(made[1], 1) << "a failed primitive is not tried again on the next step";
    double m = 0;
    for (float v : grad[0]) m = std::max(m, (double)std::fabs(v));
    for (size_t i = 0; i < grad[0].size(); i++) ASSERT_NEAR(grad[1][i], grad[0][i], 1e-3 * m + 1e-7) << "gradient " << i;
    for (size_t i = 0; i < emb[0].size(); i++) ASSERT_NEAR(emb[1][i], emb[0][i], 1e-3) << "embedding " << i;
    EXPECT_NE(0, std::memcmp(grad[0].data(), grad[1].data(), sizeof(float) * grad[0].size()))
        << "the fallback gave oneDNN's bits: did the primitive run at all?";
}

// The residual network on oneDNN (the default when built in) against the
// reference im2col + sgemm layers: same seed, same batch, one training
// forward + backward and an inference pass. Different summation orders through
// 7 convolutions and batch norms leave float-rounding differences: we accept
// 1e-3 relative to each tensor's largest value (measured: ~1e-5).
TEST(Backbones, ResnetDnnlMatchesReference)
{
    if (!ghm_conv_dnnl_available()) GTEST_SKIP() << "built without oneDNN: only the reference path exists";
    const int B = 6, D = 16;
    auto x = rand_vec((size_t)B * 784, 31);
    auto r = rand_vec((size_t)B * D, 32, -1, 1);
    std::vector<float> emb[2], inf[2];
    std::vector<std::vector<float>> grads[2];
    for (int path = 0; path < 2; path++) {
        ghm_conv_backend_set(path); /* 0: reference, 1: oneDNN */
        Net n("resnet", 1, 28, 28, D, 1, B, 5);
        ASSERT_EQ(n.rc, 0) << n.err.msg;
        emb[path].resize((size_t)B * D);
        inf[path].resize((size_t)B * D);
        ASSERT_EQ(0, ghm_backbone_forward(n.b, x.data(), B, emb[path].data(), 1, &n.err)) << n.err.msg;
        ASSERT_EQ(0, ghm_backbone_backward(n.b, r.data(), &n.err)) << n.err.msg;
        ghm_tensor **t;
        int nt = ghm_backbone_tensors(n.b, &t);
        for (int i = 0; i < nt; i++) grads[path].emplace_back(t[i]->grad, t[i]->grad + t[i]->n);
        // inference with the running statistics the step left, on fewer images than the batch
        ASSERT_EQ(0, ghm_backbone_forward(n.b, x.data(), B - 1, inf[path].data(), 0, &n.err)) << n.err.msg;
    }
    ghm_conv_backend_set(1);
    auto close = [](const std::vector<float> &a, const std::vector<float> &b, const char *what) {
        ASSERT_EQ(a.size(), b.size());
        double m = 0;
        for (float v : b) m = std::max(m, (double)std::fabs(v));
        for (size_t i = 0; i < a.size(); i++) ASSERT_NEAR(a[i], b[i], 1e-3 * m + 1e-7) << what << " [" << i << "]";
    };
    close(emb[1], emb[0], "train embedding");
    close(std::vector<float>(inf[1].begin(), inf[1].begin() + (B - 1) * D),
          std::vector<float>(inf[0].begin(), inf[0].begin() + (B - 1) * D), "inference embedding");
    ASSERT_EQ(grads[0].size(), grads[1].size());
    for (size_t i = 0; i < grads[0].size(); i++) close(grads[1][i], grads[0][i], "gradient");
}

// Inference on more images than the fused primitives' batch (40 split into passes of at most 20
// here): several passes, the last one zero-padded, after a training step on a batch of 40; then a second step that
// changes the weights (plain SGD) and inference again (the folded weights the primitives keep must be
// the new ones): the same embeddings as the reference path both times.
TEST(Backbones, ResnetDnnlInferenceInChunksMatchesReference)
{
    if (!ghm_conv_dnnl_available()) GTEST_SKIP() << "built without oneDNN: only the reference path exists";
    const int B = 40, M = 97, D = 8;
    auto x = rand_vec((size_t)M * 784, 33);
    auto r = rand_vec((size_t)B * D, 34, -1, 1);
    std::vector<float> inf[2][2];
    for (int path = 0; path < 2; path++) {
        ghm_conv_backend_set(path);
        Net n("resnet", 1, 28, 28, D, 1, B, 6);
        ASSERT_EQ(n.rc, 0) << n.err.msg;
        std::vector<float> e((size_t)B * D);
        for (int round = 0; round < 2; round++) {
            ASSERT_EQ(0, ghm_backbone_forward(n.b, x.data(), B, e.data(), 1, &n.err)) << n.err.msg;
            ASSERT_EQ(0, ghm_backbone_backward(n.b, r.data(), &n.err)) << n.err.msg;
            if (round == 1) {
                ghm_tensor **t;
                const int nt = ghm_backbone_tensors(n.b, &t);
                for (int i = 0; i < nt; i++)
                    for (size_t j = 0; j < t[i]->n; j++) t[i]->data[j] -= 0.05f * t[i]->grad[j];
            }
            inf[path][round].resize((size_t)M * D);
            ASSERT_EQ(0, ghm_backbone_forward(n.b, x.data(), M, inf[path][round].data(), 0, &n.err)) << n.err.msg;
        }
    }
    ghm_conv_backend_set(1);
    for (int round = 0; round < 2; round++) {
        const std::vector<float> &a = inf[1][round], &ref = inf[0][round];
        double m = 0;
        for (float v : ref) m = std::max(m, (double)std::fabs(v));
        for (size_t i = 0; i < ref.size(); i++)
            ASSERT_NEAR(a[i], ref[i], 1e-3 * m + 1e-7) << "round " << round << " [" << i << "]";
    }
    // the step moved the embeddings (else the second comparison would prove nothing)
    double moved = 0;
    for (size_t i = 0; i < inf[0][0].size(); i++) moved = std::max(moved, (double)std::fabs(inf[0][1][i] - inf[0][0][i]));
    EXPECT_GT(moved, 1e-3);
}

// Inference with the passes side by side, one per thread (struct fworker in backbones/resnet.c): on 2
// threads the passes of 20 images (97 in 2 x 20 per call of 40, the last padded) run two at a time, each
// on one thread with its own maps, workspace and primitives. Each image goes through the same kernels as on one thread, so the embeddings are the same
// bits; on 3 threads (passes of 14: a multiple of the threads) they match the reference path. Then the
// same with each worker primitive's creation failing in turn: the passes run one after another, and the
// numbers stay the same.
TEST(Backbones, ResnetInferencePassesSideBySide)
{
    if (!ghm_conv_dnnl_available()) GTEST_SKIP() << "built without oneDNN: only the reference path exists";
    const int B = 40, M = 97, D = 8;
    auto x = rand_vec((size_t)M * 784, 35);
    auto shift = rand_vec(64, 36, -0.3f, 0.3f);
    // batch norm's scales and shifts moved from their initial 1 and 0 (a training step would, but its
    // numbers depend on the thread count); the first inference call makes the primitives. Returns the
    // primitive creation attempts.
    auto embed = [&](int threads, int backend, long fail_at, std::vector<float> &out) -> long {
        ghm_threads_set(threads);
        ghm_conv_backend_set(backend);
        Net n("resnet", 1, 28, 28, D, 1, B, 7);
        EXPECT_EQ(n.rc, 0) << n.err.msg;
        ghm_tensor **t;
        const int nt = ghm_backbone_tensors(n.b, &t);
        for (int i = 0; i < nt; i++)
            if (std::strstr(t[i]->name, ".bn."))
                for (size_t j = 0; j < t[i]->n; j++) t[i]->data[j] += shift[j % shift.size()];
        const long a0 = ghm_conv_dnnl_attempts();
        if (fail_at >= 0) ghm_conv_dnnl_fail_at(fail_at);
        out.assign((size_t)M * D, 0.0f);
        EXPECT_EQ(0, ghm_backbone_forward(n.b, x.data(), M, out.data(), 0, &n.err)) << n.err.msg;
        ghm_conv_dnnl_fail_at(-1);
        return ghm_conv_dnnl_attempts() - a0;
    };
    std::vector<float> one, two, three, ref;
    const long a1 = embed(1, 1, -1, one), a2 = embed(2, 1, -1, two);
    embed(3, 1, -1, three);
    embed(1, 0, -1, ref);
    ghm_threads_set(kThreads);
    ghm_conv_backend_set(1);
    EXPECT_EQ(0, std::memcmp(one.data(), two.data(), sizeof(float) * one.size())) << "2 threads changed the bits";
    double m = 0;
    for (float v : ref) m = std::max(m, (double)std::fabs(v));
    for (size_t i = 0; i < ref.size(); i++) {
        ASSERT_NEAR(three[i], ref[i], 1e-3 * m + 1e-7) << "3 threads [" << i << "]";
        ASSERT_NEAR(two[i], ref[i], 1e-3 * m + 1e-7) << "2 threads [" << i << "]";
    }
    // the second worker's primitives are the last creation attempts on 2 threads (one per convolution)
    ASSERT_EQ(a2 - a1, 9) << "one copy of each convolution: the stem, 2 + 3 + 3 in the blocks";
    for (long k = a1; k < a2; k++) {
        std::vector<float> f;
        EXPECT_EQ(k + 1, embed(2, 1, k, f)) << "creation went on after the failure at attempt " << k;
        ghm_threads_set(kThreads);
        for (size_t i = 0; i < ref.size(); i++)
            ASSERT_NEAR(f[i], ref[i], 1e-3 * m + 1e-7) << "copy " << k - a1 << " failed [" << i << "]";
    }
}

// Same seed and input: the same bits, twice (oneDNN path when built in).
TEST(Backbones, ResnetStepIsDeterministic)
{
    const int B = 4, D = 8;
    auto x = rand_vec((size_t)B * 784, 41);
    auto r = rand_vec((size_t)B * D, 42, -1, 1);
    std::vector<float> g[2];
    for (int k = 0; k < 2; k++) {
        Net n("resnet", 1, 28, 28, D, 1, B, 9);
        ASSERT_EQ(n.rc, 0) << n.err.msg;
        std::vector<float> e((size_t)B * D);
        ASSERT_EQ(0, ghm_backbone_forward(n.b, x.data(), B, e.data(), 1, &n.err));
        ASSERT_EQ(0, ghm_backbone_backward(n.b, r.data(), &n.err));
        ghm_tensor **t;
        int nt = ghm_backbone_tensors(n.b, &t);
        for (int i = 0; i < nt; i++) g[k].insert(g[k].end(), t[i]->grad, t[i]->grad + t[i]->n);
        g[k].insert(g[k].end(), e.begin(), e.end());
    }
    ASSERT_EQ(g[0].size(), g[1].size());
    EXPECT_EQ(0, std::memcmp(g[0].data(), g[1].data(), sizeof(float) * g[0].size()));
}

// The fallback when oneDNN cannot set up a primitive (no kernel for a shape on this CPU, a layout it
// cannot provide, out of memory): tested by making each creation attempt of a residual network fail in
// turn (ghm_conv_dnnl_fail_at), whatever this CPU's kernels are. A failed training primitive leaves
// none kept: training and inference run the reference path, the same bits as with the reference backend;
// a failed inference (fused) primitive leaves training on oneDNN and inference on the training
// primitives. Every variant gives the reference numbers (tolerance of ResnetDnnlMatchesReference).
TEST(Backbones, ResnetDnnlFallsBackWhenAPrimitiveFails)
{
    if (!ghm_conv_dnnl_available()) GTEST_SKIP() << "built without oneDNN: only the reference path exists";
    const int B = 2, D = 16, S = 28; // a small batch: 20 networks are built
    auto x = rand_vec((size_t)B * S * S, 41);
    auto r = rand_vec((size_t)B * D, 42, -1, 1);
    struct Out {
        std::vector<float> emb, inf, grad;
    };
    auto run = [&](int path, Out &o) {
        ghm_conv_backend_set(path);
        Net n("resnet", 1, S, S, D, 1, B, 5);
        ASSERT_EQ(n.rc, 0) << n.err.msg;
        o.emb.resize((size_t)B * D);
        o.inf.resize((size_t)B * D);
        ASSERT_EQ(0, ghm_backbone_forward(n.b, x.data(), B, o.emb.data(), 1, &n.err)) << n.err.msg;
        ASSERT_EQ(0, ghm_backbone_backward(n.b, r.data(), &n.err)) << n.err.msg;
        ghm_tensor **t;
        const int nt = ghm_backbone_tensors(n.b, &t);
        o.grad.clear();
        for (int i = 0; i < nt; i++) o.grad.insert(o.grad.end(), t[i]->grad, t[i]->grad + t[i]->n);
        ASSERT_EQ(0, ghm_backbone_forward(n.b, x.data(), B, o.inf.data(), 0, &n.err)) << n.err.msg;
    };
    auto same_bits = [](const std::vector<float> &a, const std::vector<float> &b) {
        return a.size() == b.size() && std::memcmp(a.data(), b.data(), sizeof(float) * a.size()) == 0;
    };
    auto close = [](const std::vector<float> &a, const std::vector<float> &b, const std::string &what) {
        ASSERT_EQ(a.size(), b.size());
        double m = 0;
        for (float v : b) m = std::max(m, (double)std::fabs(v));
        for (size_t i = 0; i < a.size(); i++) ASSERT_NEAR(a[i], b[i], 1e-3 * m + 1e-7) << what << " [" << i << "]";
    };
    Out ref, full;
    run(0, ref);
    const long a0 = ghm_conv_dnnl_attempts();
    run(1, full);
    const long total = ghm_conv_dnnl_attempts() - a0;
    ASSERT_GT(total, 2) << "the residual network made no oneDNN primitives";
    EXPECT_FALSE(same_bits(full.emb, ref.emb)) << "oneDNN's training path did not run";
    int on_reference = 0;
    for (long k = 0; k < total; k++) {
        SCOPED_TRACE(testing::Message() << "creation attempt " << k << " of " << total << " fails");
        Out got;
        ghm_conv_dnnl_fail_at(k);
        run(1, got);
        ghm_conv_dnnl_fail_at(-1);
        close(got.emb, ref.emb, "train embedding");
        close(got.grad, ref.grad, "gradient");
        close(got.inf, ref.inf, "inference embedding");
        const bool training_ref = same_bits(got.emb, ref.emb);
        // the training primitives come first: a failure among them drops all of them (the reference path,
        // bit for bit, also for the gradients and inference); a later one keeps them
        if (training_ref) {
            EXPECT_EQ(k, on_reference) << "fell back to the reference path for a failure after an attempt that did not";
            on_reference++;
            EXPECT_TRUE(same_bits(got.grad, ref.grad));
            EXPECT_TRUE(same_bits(got.inf, ref.inf));
        } else {
            EXPECT_TRUE(same_bits(got.grad, full.grad)) << "the training step is oneDNN's, as without the failure";
        }
    }
    EXPECT_GT(on_reference, 0);
    EXPECT_LT(on_reference, total) << "no inference primitive was made";
    ghm_conv_backend_set(1);
}
