// The training step and subset embedding (runner/trainer.h), plus the engine
// acceptance test: a convnet trained with the contrastive loss on synthetic
// data must reduce its loss and retrieve held-out images far above chance.
#include <gtest/gtest.h>

#include "metric_access.h"

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

extern "C" {
#include "backbones/backbone.h"
#include "nn/optim.h"
#include "core/threads.h"
#include "datasets/dataset.h"
#include "eval/eval.h"
#include "runner/trainer.h"
#include "losses/loss.h"
}

namespace {

// ---- a synthetic dataset with the standard split ----
struct Data {
    ghm_dataset d;
    ghm_split s;
    bool ok = false;
    Data(int classes, int train_per_class, int test_per_class, uint64_t seed = 7) {
        memset(&d, 0, sizeof d);
        memset(&s, 0, sizeof s);
        ghm_dataset_opts o;
        ghm_dataset_opts_default(&o);
        o.name = "synthetic";
        o.classes = classes;
        o.train_per_class = train_per_class;
        o.test_per_class = test_per_class;
        o.image_size = 28;
        o.seed = seed;
        ghm_error err;
        int rc = ghm_dataset_load(&o, &d, &err);
        EXPECT_EQ(rc, 0) << err.msg;
        if (rc) return;
        ghm_split_opts so;
        ghm_split_opts_default(&so);
        so.protocol = GHM_SPLIT_STANDARD;
        so.val_fraction = 0;
        so.seed = seed;
        rc = ghm_split_make(&d, &so, &s, &err);
        EXPECT_EQ(rc, 0) << err.msg;
        if (rc) {
            ghm_dataset_free(&d);
            return;
        }
        ok = true;
    }
    ~Data() {
        if (!ok) return;
        ghm_split_free(&s);
        ghm_dataset_free(&d);
    }
};

ghm_backbone *make_backbone(const char *name, int dim, int max_batch, uint64_t seed = 3) {
    ghm_params none;
    ghm_params_clear(&none);
    ghm_backbone *b = nullptr;
    ghm_error err;
    int rc = ghm_backbone_create(name, &none, 1, 28, 28, dim, 1, max_batch, seed, &b, &err);
    EXPECT_EQ(rc, 0) << err.msg;
    return b;
}

// ---- a dummy loss whose value / tensor gradient can be made non-finite ----
struct DummyImpl {
    int mode;  // 0: finite, 1: NaN loss, 2: Inf in the gradient of its tensor
    ghm_tensor proxies;
    ghm_tensor *list[1];
};

int dummy_fb(ghm_loss *l, const float *emb, const int *, int n, int d, double *value, float *grad, ghm_error *) {
    DummyImpl *im = static_cast<DummyImpl *>(l->impl);
    double s = 0;  // L = 0.5 * sum emb^2 (+ proxies . 1)
    for (int i = 0; i < n * d; i++) {
        s += 0.5 * emb[i] * emb[i];
        if (grad) grad[i] = emb[i];
    }
    for (size_t i = 0; i < im->proxies.n; i++) im->proxies.grad[i] = 1.0f;
    if (im->mode == 1) s = NAN;
    if (im->mode == 2) im->proxies.grad[1] = INFINITY;
    *value = s;
    return 0;
}
int dummy_tensors(ghm_loss *l, ghm_tensor ***t) {
    DummyImpl *im = static_cast<DummyImpl *>(l->impl);
    *t = im->list;
    return 1;
}
const ghm_param_spec kNoParams[] = {{nullptr, 0, 0, 0, nullptr, nullptr, 0, 0, 0}};
const ghm_loss_ops kDummyOps = {"dummy", "test loss", kNoParams, nullptr, dummy_fb, dummy_tensors, nullptr, 0, nullptr};

struct DummyLoss {
    ghm_loss l;
    DummyImpl im;
    DummyLoss(int dim, int mode) {
        memset(&l, 0, sizeof l);
        l.ops = &kDummyOps;
        l.dim = dim;
        l.n_classes = 4;
        im.mode = mode;
        int shape[2] = {4, dim};
        EXPECT_EQ(ghm_tensor_init(&im.proxies, "proxies", 2, shape, 0), 0);
        for (size_t i = 0; i < im.proxies.n; i++) im.proxies.data[i] = 0.25f * (float)i;
        im.list[0] = &im.proxies;
        l.impl = &im;
    }
    ~DummyLoss() { ghm_tensor_free(&im.proxies); }
};

// Copy of every trainable value of a backbone and a loss.
std::vector<std::vector<float>> snapshot(ghm_backbone *b, ghm_loss *l) {
    std::vector<std::vector<float>> out;
    ghm_tensor **t = nullptr;
    int n = ghm_backbone_tensors(b, &t);
    for (int i = 0; i < n; i++) out.emplace_back(t[i]->data, t[i]->data + t[i]->n);
    n = ghm_loss_tensors(l, &t);
    for (int i = 0; i < n; i++) out.emplace_back(t[i]->data, t[i]->data + t[i]->n);
    return out;
}

// First n training images (and labels) as floats.
void first_images(const ghm_subset &s, int n, std::vector<float> &x, std::vector<int> &y) {
    std::vector<int> idx(n);
    for (int i = 0; i < n; i++) idx[i] = i * (s.img.n / n);  // spread over classes
    x.resize((size_t)n * 28 * 28);
    y.resize(n);
    ghm_subset_gather(&s, idx.data(), n, x.data(), y.data());
}

ghm_optim_config adam(double lr) {
    ghm_optim_config c;
    ghm_optim_config_default(&c);
    c.kind = GHM_OPT_ADAM;
    c.lr = lr;
    return c;
}

}  // namespace

class TrainerTest : public ::testing::Test {
  protected:
    void SetUp() override { ghm_threads_set(2); }
};

TEST_F(TrainerTest, NanLossLeavesParametersUnchanged) {
    Data data(4, 10, 2);
    ASSERT_TRUE(data.ok);
    ghm_backbone *b = make_backbone("convnet", 16, 8);
    ASSERT_NE(b, nullptr);
    DummyLoss loss(16, /*mode=*/1);
    ghm_optim_config oc = adam(1e-2);
    ghm_trainer *t = nullptr;
    ghm_error err;
    ASSERT_EQ(ghm_trainer_create(b, &loss.l, &oc, 8, &t, &err), 0) << err.msg;
    std::vector<float> x;
    std::vector<int> y;
    first_images(data.s.train, 8, x, y);
    auto before = snapshot(b, &loss.l);
    double value = 0;
    EXPECT_EQ(ghm_trainer_step(t, x.data(), y.data(), 8, 1e-2, &value, &err), GHM_ENUM);
    EXPECT_NE(std::string(err.msg).find("non-finite loss"), std::string::npos) << err.msg;
    EXPECT_TRUE(std::isnan(value));
    EXPECT_EQ(snapshot(b, &loss.l), before);
    // the same trainer still works once the loss is finite again
    loss.im.mode = 0;
    ASSERT_EQ(ghm_trainer_step(t, x.data(), y.data(), 8, 1e-2, &value, &err), 0) << err.msg;
    EXPECT_NEAR(value, 4.0, 1e-5);  // L = 0.5 sum |e_i|^2 over 8 unit-norm embeddings
    EXPECT_NE(snapshot(b, &loss.l), before);
    ghm_trainer_destroy(t);
    ghm_backbone_destroy(b);
}

// The step applies exactly the learning rate it is given: plain SGD (no
// momentum, no decay) moves every trainable value by -lr * its gradient. The
// dummy loss's tensor has gradient 1 everywhere, so its values must move by
// exactly -lr; every backbone value must move by -lr times the gradient the
// backward left in its tensor.
TEST_F(TrainerTest, SgdStepMovesEveryValueByMinusLrTimesItsGradient) {
    Data data(4, 10, 2);
    ASSERT_TRUE(data.ok);
    ghm_backbone *b = make_backbone("mlp", 8, 8);
    ASSERT_NE(b, nullptr);
    DummyLoss loss(8, /*mode=*/0);
    ghm_optim_config oc;
    ghm_optim_config_default(&oc);
    oc.kind = GHM_OPT_SGD;
    oc.momentum = 0;
    oc.weight_decay = 0;
    ghm_trainer *t = nullptr;
    ghm_error err;
    ASSERT_EQ(ghm_trainer_create(b, &loss.l, &oc, 8, &t, &err), 0) << err.msg;
    std::vector<float> x;
    std::vector<int> y;
    first_images(data.s.train, 8, x, y);
    for (double lr : {0.25, 0.0625}) {
        auto before = snapshot(b, &loss.l);
        double value = 0;
        ASSERT_EQ(ghm_trainer_step(t, x.data(), y.data(), 8, lr, &value, &err), 0) << err.msg;
        EXPECT_EQ(ghm_trainer_last_lr(t), lr);
        auto after = snapshot(b, &loss.l);
        ghm_tensor **bt = nullptr;
        int nb = ghm_backbone_tensors(b, &bt);
        ASSERT_EQ((size_t)nb + 1, after.size());
        size_t moved = 0;
        for (int i = 0; i < nb; i++)
            for (size_t k = 0; k < bt[i]->n; k++) {
                const float want = before[i][k] - (float)(lr * bt[i]->grad[k]);
                ASSERT_NEAR(after[i][k], want, 1e-6f * (1.0f + std::fabs(want)))
                    << bt[i]->name << "[" << k << "] lr " << lr;
                moved += bt[i]->grad[k] != 0.0f;
            }
        EXPECT_GT(moved, 100u); // the check above is not vacuous
        for (size_t k = 0; k < after[nb].size(); k++)
            EXPECT_FLOAT_EQ(after[nb][k], before[nb][k] - (float)lr) << "proxies[" << k << "] lr " << lr;
    }
    ghm_trainer_destroy(t);
    ghm_backbone_destroy(b);
}

TEST_F(TrainerTest, NonFiniteGradientNamesTensorAndLeavesParametersUnchanged) {
    Data data(4, 10, 2);
    ASSERT_TRUE(data.ok);
    ghm_backbone *b = make_backbone("convnet", 16, 8);
    ASSERT_NE(b, nullptr);
    DummyLoss loss(16, /*mode=*/2);
    ghm_optim_config oc = adam(1e-2);
    ghm_trainer *t = nullptr;
    ghm_error err;
    ASSERT_EQ(ghm_trainer_create(b, &loss.l, &oc, 8, &t, &err), 0) << err.msg;
    std::vector<float> x;
    std::vector<int> y;
    first_images(data.s.train, 8, x, y);
    auto before = snapshot(b, &loss.l);
    double value = 0;
    EXPECT_EQ(ghm_trainer_step(t, x.data(), y.data(), 8, 1e-2, &value, &err), GHM_ENUM);
    EXPECT_NE(std::string(err.msg).find("non-finite gradient in proxies"), std::string::npos) << err.msg;
    EXPECT_EQ(snapshot(b, &loss.l), before);
    ghm_trainer_destroy(t);
    ghm_backbone_destroy(b);
}

TEST_F(TrainerTest, CreateAndStepValidateArguments) {
    ghm_backbone *b = make_backbone("convnet", 16, 8);
    ASSERT_NE(b, nullptr);
    DummyLoss loss(16, 0), wrong(32, 0);
    ghm_optim_config oc = adam(1e-3);
    ghm_trainer *t = nullptr;
    ghm_error err;
    EXPECT_EQ(ghm_trainer_create(b, &loss.l, &oc, 9, &t, &err), GHM_EINPUT);  // > max_batch
    EXPECT_EQ(t, nullptr);
    EXPECT_EQ(ghm_trainer_create(b, &wrong.l, &oc, 8, &t, &err), GHM_EINPUT);  // dim mismatch
    EXPECT_NE(std::string(err.msg).find("dimension"), std::string::npos) << err.msg;
    oc.lr = -1;
    EXPECT_EQ(ghm_trainer_create(b, &loss.l, &oc, 8, &t, &err), GHM_EINPUT);  // optimizer config
    oc = adam(1e-3);
    ASSERT_EQ(ghm_trainer_create(b, &loss.l, &oc, 4, &t, &err), 0) << err.msg;
    std::vector<float> x(8 * 28 * 28, 0.5f);
    std::vector<int> y(8, 0);
    double v;
    EXPECT_EQ(ghm_trainer_step(t, x.data(), y.data(), 5, 1e-3, &v, &err), GHM_EINPUT);  // > batch
    EXPECT_EQ(ghm_trainer_step(t, x.data(), y.data(), 0, 1e-3, &v, &err), GHM_EINPUT);
    ghm_trainer_destroy(t);
    ghm_backbone_destroy(b);
}

// Same seed, same data, same threads -> bit-identical parameters.
TEST_F(TrainerTest, Deterministic) {
    Data data(4, 10, 2);
    ASSERT_TRUE(data.ok);
    std::vector<float> x;
    std::vector<int> y;
    first_images(data.s.train, 8, x, y);
    std::vector<std::vector<float>> params[2];
    for (int run = 0; run < 2; run++) {
        ghm_backbone *b = make_backbone("convnet", 16, 8, 11);
        ASSERT_NE(b, nullptr);
        ghm_params none;
        ghm_params_clear(&none);
        ghm_loss *l = nullptr;
        ghm_error err;
        ASSERT_EQ(ghm_loss_create("contrastive", &none, 16, 4, 5, &l, &err), 0) << err.msg;
        ghm_optim_config oc = adam(1e-3);
        ghm_trainer *t = nullptr;
        ASSERT_EQ(ghm_trainer_create(b, l, &oc, 8, &t, &err), 0) << err.msg;
        double v;
        for (int s = 0; s < 3; s++) ASSERT_EQ(ghm_trainer_step(t, x.data(), y.data(), 8, 1e-3, &v, &err), 0) << err.msg;
        params[run] = snapshot(b, l);
        ghm_trainer_destroy(t);
        ghm_loss_destroy(l);
        ghm_backbone_destroy(b);
    }
    EXPECT_EQ(params[0], params[1]);
}

// ghm_embed_subset chunks by max_batch and matches a direct inference forward.
TEST_F(TrainerTest, EmbedSubsetMatchesForward) {
    Data data(3, 4, 10);  // 30 test images, chunks of 8
    ASSERT_TRUE(data.ok);
    ghm_backbone *b = make_backbone("convnet", 16, 8);
    ASSERT_NE(b, nullptr);
    const ghm_subset &s = data.s.test;
    ASSERT_EQ(s.img.n, 30);
    std::vector<float> emb((size_t)s.img.n * 16, NAN), ref((size_t)s.img.n * 16), x((size_t)s.img.n * 28 * 28);
    ghm_error err;
    ASSERT_EQ(ghm_embed_subset(b, &s, emb.data(), &err), 0) << err.msg;
    ghm_subset_range(&s, 0, s.img.n, x.data());
    ASSERT_EQ(ghm_backbone_forward(b, x.data(), s.img.n, ref.data(), 0, &err), 0) << err.msg;
    for (size_t i = 0; i < emb.size(); i++) ASSERT_NEAR(emb[i], ref[i], 1e-6) << i;
    for (int i = 0; i < s.img.n; i++) {  // L2-normalised rows
        double n2 = 0;
        for (int j = 0; j < 16; j++) n2 += (double)emb[i * 16 + j] * emb[i * 16 + j];
        EXPECT_NEAR(n2, 1.0, 1e-5);
    }
    // wrong image shape
    ghm_subset bad = s;
    bad.img.h = 32;
    EXPECT_EQ(ghm_embed_subset(b, &bad, emb.data(), &err), GHM_EINPUT);
    ghm_backbone_destroy(b);
}

// Engine acceptance: train `backbone` with the contrastive loss and Adam 1e-3
// on 10 synthetic classes (batch 40 = 10 classes x 4), then embed the held-out
// test images. The loss must fall and Recall@1 must clearly beat chance
// (0.1 with 10 balanced classes; we require > 0.5) and the untrained network
// (random conv features give about 0.35 here; we require +0.15). Measured:
// convnet, 200 train images per class, 200 steps: loss 0.53 -> 0.31 (the mean
// of the last 20 steps must be < 0.75 x the first 20), Recall@1 0.64
// (untrained 0.35), about 30 s of CPU on 2 threads; mlp, 600 per class, 600
// steps: loss 0.47 -> 0.26, Recall@1 0.63 (untrained 0.19), about 5 s.
// (With fewer training images both overfit: the loss keeps falling while
// held-out recall stalls near 0.55.)
static void train_and_check(const char *backbone, int steps, int train_per_class, double min_recall) {
    Data data(10, train_per_class, 30, 21);
    ASSERT_TRUE(data.ok);
    const int B = 40, M = 4, D = 32;
    ghm_backbone *b = make_backbone(backbone, D, B, 5);
    ASSERT_NE(b, nullptr);
    ghm_params none;
    ghm_params_clear(&none);
    ghm_loss *l = nullptr;
    ghm_error err;
    ASSERT_EQ(ghm_loss_create("contrastive", &none, D, 10, 5, &l, &err), 0) << err.msg;
    ghm_optim_config oc = adam(1e-3);
    ghm_trainer *t = nullptr;
    ASSERT_EQ(ghm_trainer_create(b, l, &oc, B, &t, &err), 0) << err.msg;
    // Recall@1 of the untrained network, for the report (random conv features already beat chance).
    const ghm_subset &te = data.s.test;
    std::vector<float> emb((size_t)te.img.n * D);
    ghm_eval_opts eo;
    ghm_eval_opts_default(&eo);
    mset(eo, "nmi", 0);
    mset(eo, "map_r", 0);
    mset(eo, "r_precision", 0);
    ghm_metrics m0, m;
    ASSERT_EQ(ghm_embed_subset(b, &te, emb.data(), &err), 0) << err.msg;
    ASSERT_EQ(ghm_evaluate(emb.data(), te.img.labels, te.img.n, D, &eo, &m0, &err), 0) << err.msg;

    const ghm_subset &tr = data.s.train;
    ghm_sampler *smp = nullptr;
    ASSERT_EQ(ghm_sampler_create(tr.img.labels, tr.img.n, tr.n_classes, B, M, 9, &smp, &err), 0) << err.msg;
    int per_epoch = ghm_sampler_batches_per_epoch(smp);
    ASSERT_GT(per_epoch, 0);
    std::vector<int> idx(B), y(B);
    std::vector<float> x((size_t)B * 28 * 28);
    std::vector<double> losses;
    for (int s = 0; s < steps; s++) {
        ASSERT_EQ(ghm_sampler_batch(smp, s / per_epoch, s % per_epoch, idx.data(), &err), 0) << err.msg;
        ghm_subset_gather(&tr, idx.data(), B, x.data(), y.data());
        double v;
        ASSERT_EQ(ghm_trainer_step(t, x.data(), y.data(), B, oc.lr, &v, &err), 0) << "step " << s << ": " << err.msg;
        losses.push_back(v);
    }
    const int w = 20;
    double first = 0, last = 0;
    for (int i = 0; i < w; i++) {
        first += losses[i] / w;
        last += losses[steps - w + i] / w;
    }
    EXPECT_LT(last, 0.75 * first) << "mean loss of the first " << w << " steps " << first << ", last " << last;

    ASSERT_EQ(ghm_embed_subset(b, &te, emb.data(), &err), 0) << err.msg;
    ASSERT_EQ(ghm_evaluate(emb.data(), te.img.labels, te.img.n, D, &eo, &m, &err), 0) << err.msg;
    ASSERT_TRUE(mhas(m, "recall"));
    ASSERT_EQ(m.ks[0], 1);
    EXPECT_GT(mval(m, "recall", 0), min_recall) << backbone << ": held-out Recall@1 " << mval(m, "recall", 0)
                                       << " (chance 0.1), loss " << first << " -> " << last;
    EXPECT_GT(mval(m, "recall", 0), mval(m0, "recall", 0) + 0.15) << "training did not improve on the untrained network";
    printf("[ %s ] %d steps: loss %.4f -> %.4f, held-out Recall@1 %.3f (untrained %.3f)\n", backbone, steps,
           first, last, mval(m, "recall", 0), mval(m0, "recall", 0));
    ghm_sampler_destroy(smp);
    ghm_trainer_destroy(t);
    ghm_loss_destroy(l);
    ghm_backbone_destroy(b);
}

TEST_F(TrainerTest, AcceptanceConvnetContrastive) { train_and_check("convnet", 200, 200, 0.5); }

// The same engine with the small MLP backbone (faster; a second architecture).
TEST_F(TrainerTest, AcceptanceMlpContrastive) { train_and_check("mlp", 600, 600, 0.5); }
