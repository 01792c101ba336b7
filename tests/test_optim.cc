// Optimizers and learning-rate schedules against hand-computed steps.
//
// Every optimizer case updates a 3-element tensor w0 = [1, -2, 0.5] for three
// steps with the fixed gradients
//   g1 = [0.1, 0.2, -0.3], g2 = [-0.2, 0.1, 0.4], g3 = [0.3, -0.1, 0].
// The expected values follow the PyTorch update rules written out in
// nn/optim.h; the first steps are derived by hand in the comments, and all
// were checked with a 20-line double-precision re-implementation of those rules
// (plain Python floats). The library computes in float32, so the tolerance is
// 2e-6 absolute: a few float ulps (6e-8 near 1) accumulated over three steps.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

extern "C" {
#include "nn/optim.h"
}

namespace {

const float kW0[3] = {1.0f, -2.0f, 0.5f};
const float kG[3][3] = {{0.1f, 0.2f, -0.3f}, {-0.2f, 0.1f, 0.4f}, {0.3f, -0.1f, 0.0f}};
const double kTol = 2e-6;

struct Tensor3 {
    ghm_tensor t;
    explicit Tensor3(int decay = 1, double lr_mult = 1.0) {
        int shape[1] = {3};
        EXPECT_EQ(ghm_tensor_init(&t, "w", 1, shape, decay), 0);
        t.lr_mult = lr_mult;
        for (int i = 0; i < 3; i++) t.data[i] = kW0[i];
    }
    ~Tensor3() { ghm_tensor_free(&t); }
};

// Runs three steps and compares after each with expected[step][i].
void run3(const ghm_optim_config &c, double lr, Tensor3 &w, const double expected[3][3]) {
    ghm_tensor *list[1] = {&w.t};
    ghm_optimizer *o = nullptr;
    ghm_error err;
    ghm_error_clear(&err);
    ASSERT_EQ(ghm_optimizer_create(&c, list, 1, &o, &err), 0) << err.msg;
    for (int s = 0; s < 3; s++) {
        for (int i = 0; i < 3; i++) w.t.grad[i] = kG[s][i];
        ghm_optimizer_step(o, lr);
        for (int i = 0; i < 3; i++)
            EXPECT_NEAR(w.t.data[i], expected[s][i], kTol) << "step " << s + 1 << " element " << i;
    }
    ghm_optimizer_destroy(o);
}

ghm_optim_config cfg(int kind, double momentum, int nesterov, double wd) {
    ghm_optim_config c;
    ghm_optim_config_default(&c);
    c.kind = kind;
    c.momentum = momentum;
    c.nesterov = nesterov;
    c.weight_decay = wd;
    return c;
}

}  // namespace

TEST(Optim, Defaults) {
    ghm_optim_config c;
    ghm_optim_config_default(&c);
    EXPECT_EQ(c.lr, 1e-3);
    EXPECT_EQ(c.momentum, 0.9);
    EXPECT_EQ(c.nesterov, 0);
    EXPECT_EQ(c.weight_decay, 0.0);
    EXPECT_EQ(c.beta1, 0.9);
    EXPECT_EQ(c.beta2, 0.999);
    EXPECT_EQ(c.eps, 1e-8);
    EXPECT_STREQ(ghm_optim_names[GHM_OPT_SGD], "sgd");
    EXPECT_STREQ(ghm_optim_names[GHM_OPT_ADAM], "adam");
    EXPECT_STREQ(ghm_optim_names[GHM_OPT_ADAMW], "adamw");
    EXPECT_EQ(ghm_optim_names[3], nullptr);
    EXPECT_STREQ(ghm_schedule_names[GHM_SCHED_CONSTANT], "constant");
    EXPECT_STREQ(ghm_schedule_names[GHM_SCHED_STEP], "step");
    EXPECT_STREQ(ghm_schedule_names[GHM_SCHED_COSINE], "cosine");
    EXPECT_EQ(ghm_schedule_names[3], nullptr);
}

// Plain SGD (momentum 0, no decay): w -= 0.1 g.
//   w1 = [1 - .01, -2 - .02, .5 + .03] = [0.99, -2.02, 0.53]
//   w2 = w1 - 0.1 g2 = [1.01, -2.03, 0.49];  w3 = [0.98, -2.02, 0.49]
TEST(Optim, SgdPlain) {
    const double e[3][3] = {{0.99, -2.02, 0.53}, {1.01, -2.03, 0.49}, {0.98, -2.02, 0.49}};
    Tensor3 w;
    run3(cfg(GHM_OPT_SGD, 0.0, 0, 0.0), 0.1, w, e);
}

// SGD, lr 0.1, momentum 0.9, weight decay 0.01.
// step 1: g' = g1 + 0.01 w0 = [0.11, 0.18, -0.295]; v = g';
//         w1 = w0 - 0.1 v = [0.989, -2.018, 0.5295]
// step 2: g' = g2 + 0.01 w1 = [-0.19011, 0.07982, 0.405295]
//         v = 0.9 [0.11, 0.18, -0.295] + g' = [-0.09111, 0.24182, 0.139795]
//         w2 = w1 - 0.1 v = [0.998111, -2.042182, 0.5155205]
TEST(Optim, SgdMomentumWeightDecay) {
    const double e[3][3] = {{0.989, -2.018, 0.5295},
                            {0.998111, -2.042182, 0.5155205},
                            {0.975312789, -2.05190362, 0.502423429}};
    Tensor3 w;
    run3(cfg(GHM_OPT_SGD, 0.9, 0, 0.01), 0.1, w, e);
}

// Nesterov: same v, but the step is g' + 0.9 v.
// step 1: g' = v = [0.11, 0.18, -0.295]; step = 1.9 g' = [0.209, 0.342, -0.5605]
//         w1 = w0 - 0.1 step = [0.9791, -2.0342, 0.55605]
TEST(Optim, SgdNesterov) {
    const double e[3][3] = {{0.9791, -2.0342, 0.55605},
                            {1.00632971, -2.06391502, 0.502888505},
                            {0.954805613, -2.06056788, 0.490588116}};
    Tensor3 w;
    run3(cfg(GHM_OPT_SGD, 0.9, 1, 0.01), 0.1, w, e);
}

// lr_mult 2 doubles the rate; decay = 0 exempts the tensor from weight decay
// (0.5 here, which would change everything if applied).
// step 1: v = g1; w1 = w0 - 0.2 g1 = [0.98, -2.04, 0.56]
// step 2: v = 0.9 g1 + g2 = [-0.11, 0.28, 0.13]; w2 = w1 - 0.2 v = [1.002, -2.096, 0.534]
TEST(Optim, SgdLrMultAndDecayExempt) {
    const double e[3][3] = {{0.98, -2.04, 0.56}, {1.002, -2.096, 0.534}, {0.9618, -2.1264, 0.5106}};
    Tensor3 w(/*decay=*/0, /*lr_mult=*/2.0);
    run3(cfg(GHM_OPT_SGD, 0.9, 0, 0.5), 0.1, w, e);
}

// Adam, lr 0.01, no decay. Step 1: m = 0.1 g, v = 0.001 g^2, bias correction
// gives m^ = g, v^ = g^2, so w1 = w0 - 0.01 g/(|g| + 1e-8) = w0 - 0.01 sign(g)
//   = [0.99, -2.01, 0.51].
// Step 2 (element 0): m = 0.9*0.01 + 0.1*(-0.2) = -0.011,
//   v = 0.999*1e-5 + 0.001*0.04 = 4.999e-5; m^ = -0.011/0.19 = -0.0578947,
//   v^ = 4.999e-5/0.001999 = 0.0250075, sqrt = 0.158138;
//   w2 = 0.99 + 0.01*0.0578947/0.158138 = 0.993661.
TEST(Optim, Adam) {
    const double e[3][3] = {{0.99, -2.01, 0.51},
                            {0.993661036, -2.0193218, 0.508064896},
                            {0.990228625, -2.02328885, 0.506569055}};
    Tensor3 w;
    run3(cfg(GHM_OPT_ADAM, 0.9, 0, 0.0), 0.01, w, e);
}

// Adam with L2 weight decay 0.1 in the gradient: g' = g1 + 0.1 w0 = [0.2, 0, -0.25].
// Step 1: w1 = w0 - 0.01 sign(g') = [0.99, -2 (g' = 0: no move), 0.51].
TEST(Optim, AdamWeightDecay) {
    const double e[3][3] = {{0.99, -2.0, 0.51},
                            {0.987375197, -1.99255863, 0.506738237},
                            {0.980811595, -1.98467727, 0.503603849}};
    Tensor3 w;
    run3(cfg(GHM_OPT_ADAM, 0.9, 0, 0.1), 0.01, w, e);
}

// AdamW, decoupled decay 0.1: w <- w (1 - 0.01*0.1) first, then Adam on g.
// Step 1: w0 * 0.999 = [0.999, -1.998, 0.4995]; minus 0.01 sign(g1)
//   = [0.989, -2.008, 0.5095].
TEST(Optim, AdamW) {
    const double e[3][3] = {{0.989, -2.008, 0.5095},
                            {0.991672036, -2.0153138, 0.507055396},
                            {0.987247953, -2.01726553, 0.505052499}};
    Tensor3 w;
    run3(cfg(GHM_OPT_ADAMW, 0.9, 0, 0.1), 0.01, w, e);
}

// AdamW with decay = 0 (exempt) and lr_mult 0.5: plain Adam at lr 0.005.
// Step 1: w1 = w0 - 0.005 sign(g1) = [0.995, -2.005, 0.505].
TEST(Optim, AdamWDecayExemptLrMult) {
    const double e[3][3] = {{0.995, -2.005, 0.505},
                            {0.996830518, -2.0096609, 0.504032448},
                            {0.995114313, -2.01164442, 0.503284527}};
    Tensor3 w(/*decay=*/0, /*lr_mult=*/0.5);
    run3(cfg(GHM_OPT_ADAMW, 0.9, 0, 0.1), 0.01, w, e);
}

// Several tensors in one optimizer are updated independently (each with its
// own state), and a step with lr 0 leaves everything unchanged.
TEST(Optim, MultipleTensorsIndependent) {
    Tensor3 a, b(/*decay=*/1, /*lr_mult=*/0.5);
    ghm_tensor *list[2] = {&a.t, &b.t};
    ghm_optim_config c = cfg(GHM_OPT_ADAM, 0.9, 0, 0.0);
    ghm_optimizer *o = nullptr;
    ghm_error err;
    ASSERT_EQ(ghm_optimizer_create(&c, list, 2, &o, &err), 0);
    for (int i = 0; i < 3; i++) a.t.grad[i] = b.t.grad[i] = kG[0][i];
    ghm_optimizer_step(o, 0.0);
    for (int i = 0; i < 3; i++) EXPECT_EQ(a.t.data[i], kW0[i]);
    ghm_optimizer_destroy(o);
    ASSERT_EQ(ghm_optimizer_create(&c, list, 2, &o, &err), 0);
    ghm_optimizer_step(o, 0.01);
    EXPECT_NEAR(a.t.data[0], 0.99, kTol);
    EXPECT_NEAR(b.t.data[0], 0.995, kTol);
    ghm_optimizer_destroy(o);
}

TEST(Optim, RejectsBadConfig) {
    Tensor3 w;
    ghm_tensor *list[1] = {&w.t};
    ghm_optimizer *o = nullptr;
    ghm_error err;
    ghm_optim_config c = cfg(7, 0.9, 0, 0.0);
    EXPECT_EQ(ghm_optimizer_create(&c, list, 1, &o, &err), GHM_EINPUT);
    EXPECT_EQ(o, nullptr);
    c = cfg(GHM_OPT_SGD, 1.5, 0, 0.0);
    EXPECT_EQ(ghm_optimizer_create(&c, list, 1, &o, &err), GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find("momentum"), std::string::npos) << err.msg;
    c = cfg(GHM_OPT_ADAM, 0.9, 0, -1.0);
    EXPECT_EQ(ghm_optimizer_create(&c, list, 1, &o, &err), GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find("weight_decay"), std::string::npos) << err.msg;
    c = cfg(GHM_OPT_ADAM, 0.9, 0, 0.0);
    c.lr = NAN;
    EXPECT_EQ(ghm_optimizer_create(&c, list, 1, &o, &err), GHM_EINPUT);
    c = cfg(GHM_OPT_ADAM, 0.9, 0, 0.0);
    c.beta2 = 1.0;
    EXPECT_EQ(ghm_optimizer_create(&c, list, 1, &o, &err), GHM_EINPUT);
    // zero tensors is valid (a loss-only or empty model)
    c = cfg(GHM_OPT_SGD, 0.9, 0, 0.0);
    ASSERT_EQ(ghm_optimizer_create(&c, nullptr, 0, &o, &err), 0);
    ghm_optimizer_step(o, 0.1);
    ghm_optimizer_destroy(o);
}

// ---- schedules ----

ghm_schedule_config sched(int kind, double warm) {
    ghm_schedule_config s;
    ghm_schedule_config_default(&s);
    s.kind = kind;
    s.warmup_epochs = warm;
    return s;
}

TEST(Schedule, Defaults) {
    ghm_schedule_config s;
    ghm_schedule_config_default(&s);
    EXPECT_EQ(s.kind, GHM_SCHED_CONSTANT);
    EXPECT_EQ(s.warmup_epochs, 0.0);
    EXPECT_EQ(s.step_epochs, 10.0);
    EXPECT_EQ(s.gamma, 0.1);
    EXPECT_EQ(s.min_lr_ratio, 0.0);
}

TEST(Schedule, Constant) {
    ghm_schedule_config s = sched(GHM_SCHED_CONSTANT, 0);
    EXPECT_DOUBLE_EQ(ghm_schedule_lr(&s, 0.1, 0.0, 10), 0.1);
    EXPECT_DOUBLE_EQ(ghm_schedule_lr(&s, 0.1, 7.3, 10), 0.1);
    EXPECT_DOUBLE_EQ(ghm_schedule_lr(&s, 0.1, 10.0, 10), 0.1);
}

// Linear warm-up from 0 over 2 epochs: 0 at t = 0, half at t = 1, full at t = 2.
TEST(Schedule, WarmupConstant) {
    ghm_schedule_config s = sched(GHM_SCHED_CONSTANT, 2.0);
    EXPECT_DOUBLE_EQ(ghm_schedule_lr(&s, 0.1, 0.0, 10), 0.0);
    EXPECT_DOUBLE_EQ(ghm_schedule_lr(&s, 0.1, 0.5, 10), 0.025);
    EXPECT_DOUBLE_EQ(ghm_schedule_lr(&s, 0.1, 1.0, 10), 0.05);
    EXPECT_DOUBLE_EQ(ghm_schedule_lr(&s, 0.1, 2.0, 10), 0.1);
    EXPECT_DOUBLE_EQ(ghm_schedule_lr(&s, 0.1, 5.0, 10), 0.1);
}

// Step: gamma 0.1 every 10 epochs; boundaries belong to the next interval.
TEST(Schedule, StepBoundaries) {
    ghm_schedule_config s = sched(GHM_SCHED_STEP, 0);
    EXPECT_DOUBLE_EQ(ghm_schedule_lr(&s, 1.0, 0.0, 30), 1.0);
    EXPECT_DOUBLE_EQ(ghm_schedule_lr(&s, 1.0, 9.999, 30), 1.0);
    EXPECT_NEAR(ghm_schedule_lr(&s, 1.0, 10.0, 30), 0.1, 1e-15);
    EXPECT_NEAR(ghm_schedule_lr(&s, 1.0, 19.5, 30), 0.1, 1e-15);
    EXPECT_NEAR(ghm_schedule_lr(&s, 1.0, 20.0, 30), 0.01, 1e-15);
    // a boundary reached as step / steps_per_epoch (float rounding)
    EXPECT_NEAR(ghm_schedule_lr(&s, 1.0, 300.0 / 30.0, 30), 0.1, 1e-15);
    s.step_epochs = 3;
    s.gamma = 0.5;
    EXPECT_DOUBLE_EQ(ghm_schedule_lr(&s, 0.2, 6.0, 30), 0.05);
}

// Cosine over 10 epochs without warm-up: base at 0, half at 5, min at 10.
// With min_lr_ratio r = 0.1: lr(5) = base (0.1 + 0.9 * 0.5) = 0.55 base;
// lr(2.5) = base (0.1 + 0.9 (1 + cos(pi/4))/2) = base (0.1 + 0.9 * 0.853553).
TEST(Schedule, Cosine) {
    ghm_schedule_config s = sched(GHM_SCHED_COSINE, 0);
    EXPECT_DOUBLE_EQ(ghm_schedule_lr(&s, 0.1, 0.0, 10), 0.1);
    EXPECT_NEAR(ghm_schedule_lr(&s, 0.1, 5.0, 10), 0.05, 1e-15);
    EXPECT_NEAR(ghm_schedule_lr(&s, 0.1, 10.0, 10), 0.0, 1e-15);
    EXPECT_NEAR(ghm_schedule_lr(&s, 0.1, 12.0, 10), 0.0, 1e-15);  // clamped past the end
    s.min_lr_ratio = 0.1;
    EXPECT_NEAR(ghm_schedule_lr(&s, 1.0, 5.0, 10), 0.55, 1e-12);
    EXPECT_NEAR(ghm_schedule_lr(&s, 1.0, 2.5, 10), 0.1 + 0.9 * 0.8535533905932737, 1e-12);
    EXPECT_NEAR(ghm_schedule_lr(&s, 1.0, 10.0, 10), 0.1, 1e-12);
}

// Cosine with 2 warm-up epochs out of 12: linear 0 -> base over [0, 2], then
// the cosine over the remaining 10 epochs (midpoint at t = 7).
TEST(Schedule, CosineWarmup) {
    ghm_schedule_config s = sched(GHM_SCHED_COSINE, 2.0);
    EXPECT_DOUBLE_EQ(ghm_schedule_lr(&s, 0.1, 0.0, 12), 0.0);
    EXPECT_NEAR(ghm_schedule_lr(&s, 0.1, 1.0, 12), 0.05, 1e-15);
    EXPECT_NEAR(ghm_schedule_lr(&s, 0.1, 2.0, 12), 0.1, 1e-15);
    EXPECT_NEAR(ghm_schedule_lr(&s, 0.1, 7.0, 12), 0.05, 1e-15);
    EXPECT_NEAR(ghm_schedule_lr(&s, 0.1, 12.0, 12), 0.0, 1e-15);
    // monotone non-increasing after warm-up
    double prev = 1.0;
    for (double t = 2.0; t <= 12.0; t += 0.25) {
        double lr = ghm_schedule_lr(&s, 0.1, t, 12);
        EXPECT_LE(lr, prev + 1e-15);
        prev = lr;
    }
}
