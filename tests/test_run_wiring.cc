// The training loop's wiring (runner/run.c), observed through the per-step
// progress report: the learning rate the optimizer applied at every step is the
// schedule's, the batches are the sampler's (and the sampler's epoch covers what
// it promises), and what the record holds per epoch is what was computed.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

extern "C" {
#include "core/npy.h"
#include "datasets/dataset.h"
#include "eval/eval.h"
#include "experiment/experiment.h"
#include "experiment/record.h"
#include "runner/run.h"
}

namespace {

struct Step {
    int epoch, batch, sampler_epoch, sampler_batch;
    double lr, progress_lr, loss, mean_so_far;
    std::vector<int> idx, labels;
};

struct Seen {
    std::vector<Step> steps;
    std::vector<std::pair<int, ghm_metric_set>> val; // (epoch, metrics) as reported
};

void on_progress(const ghm_run_progress *p, void *user)
{
    Seen *s = static_cast<Seen *>(user);
    if (p->phase == GHM_RUN_PHASE_TRAIN) {
        Step st;
        st.epoch = p->epoch;
        st.batch = p->batch;
        st.sampler_epoch = p->sampler_epoch;
        st.sampler_batch = p->sampler_batch;
        st.lr = p->applied_lr;
        st.progress_lr = p->lr;
        st.loss = p->batch_loss;
        st.mean_so_far = p->loss;
        if (p->idx) st.idx.assign(p->idx, p->idx + p->n);
        if (p->labels) st.labels.assign(p->labels, p->labels + p->n);
        s->steps.push_back(st);
    }
    if (p->phase == GHM_RUN_PHASE_EVAL_VAL && p->val) s->val.push_back({p->epoch, *p->val});
}

// 4 classes x 12 training images, a quarter carved for validation: 36 training
// images, batches of 8 (4 classes x 2) -> 4 sampler batches per epoch, while
// training uses 5 steps per epoch, so sampler epochs and training epochs drift.
const char *kWired = "name: wired\n"
                     "seeds: [5]\n"
                     "dataset: {name: synthetic, classes: 4, train_per_class: 12, test_per_class: 6, image_size: 8, "
                     "val_fraction: 0.25}\n"
                     "backbone: {name: mlp, embedding_dim: 4, hidden1: 16, hidden2: 8}\n"
                     "train:\n"
                     "  epochs: 3\n"
                     "  steps_per_epoch: 5\n"
                     "  batch_size: 8\n"
                     "  m_per_class: 2\n"
                     "  optimizer: {name: sgd, lr: 0.1, momentum: 0.5}\n"
                     "  schedule: {name: cosine, warmup_epochs: 0.5, min_lr_ratio: 0.1}\n"
                     "eval: {every: 1, recall_at: [1, 2], save_embeddings: true}\n"
                     "losses:\n"
                     "  - name: contrastive\n";

// The schedule written out independently of nn/optim.c: linear warm-up over
// 0.5 epochs, then cosine from 0.1 down to 0.1 * 0.1 at the end of epoch 3.
double expected_lr(int ep, int b, int steps)
{
    const double base = 0.1, warm = 0.5, total = 3, r = 0.1;
    double t = ep + (double)b / steps;
    double p = std::min(1.0, std::max(0.0, (t - warm) / (total - warm)));
    double f = r + (1 - r) * 0.5 * (1 + std::cos(M_PI * p));
    if (t < warm) f *= t / warm;
    return base * f;
}

struct Fixture {
    ghm_experiment e;
    ghm_error err;
    std::string dir;
    Seen seen;
    ghm_record rec;
    int rc = -1;
    Fixture()
    {
        ghm_error_clear(&err);
        ghm_record_init(&rec);
        memset(&e, 0, sizeof e);
        if (ghm_experiment_load_string(kWired, "wired.yaml", &e, &err)) return;
        char tmpl[] = "/tmp/ghm_wiring_XXXXXX";
        char *d = mkdtemp(tmpl);
        dir = d ? d : "/tmp";
        ghm_run_hooks h;
        memset(&h, 0, sizeof h);
        h.progress = on_progress;
        h.user = &seen;
        rc = ghm_run_one(&e.runs[0], (dir + "/run").c_str(), &h, &rec, &err);
    }
    ~Fixture()
    {
        ghm_record_free(&rec);
        ghm_experiment_free(&e);
        int r = system(("rm -rf '" + dir + "'").c_str());
        (void)r;
    }
};

Fixture &run()
{
    static Fixture f; // one training run shared by the tests below
    return f;
}

} // namespace

TEST(RunWiring, AppliedLearningRateFollowsTheScheduleAtEveryStep)
{
    Fixture &f = run();
    ASSERT_EQ(f.rc, 0) << f.err.msg;
    const int steps = 5, epochs = 3;
    ASSERT_EQ((int)f.seen.steps.size(), steps * epochs);
    for (int g = 0; g < steps * epochs; g++) {
        const Step &s = f.seen.steps[g];
        SCOPED_TRACE("step " + std::to_string(g));
        EXPECT_EQ(s.epoch, g / steps + 1);
        EXPECT_EQ(s.batch, g % steps + 1);
        EXPECT_NEAR(s.lr, expected_lr(g / steps, g % steps, steps), 1e-15);
        EXPECT_EQ(s.progress_lr, s.lr);
    }
    // hand values: step 0 (t = 0) is 0 in warm-up; step 1 (t = 0.2) is 0.1 * 0.2 / 0.5 = 0.04;
    // step 14 (t = 2.8, p = 0.92): 0.1 * (0.1 + 0.9 * 0.5 * (1 + cos(0.92 pi)))
    EXPECT_EQ(f.seen.steps[0].lr, 0.0);
    EXPECT_NEAR(f.seen.steps[1].lr, 0.04, 1e-15);
    EXPECT_NEAR(f.seen.steps[14].lr, 0.1 * (0.1 + 0.45 * (1 + std::cos(0.92 * M_PI))), 1e-15);
}

TEST(RunWiring, BatchesAreTheSamplersInOrderAcrossEpochs)
{
    Fixture &f = run();
    ASSERT_EQ(f.rc, 0) << f.err.msg;
    const ghm_run_spec &r = f.e.runs[0];
    // the same split and sampler, made here
    ghm_dataset ds;
    ghm_split sp;
    ghm_error err;
    ghm_dataset_opts o = r.data;
    ASSERT_EQ(ghm_dataset_load(&o, &ds, &err), 0) << err.msg;
    ASSERT_EQ(ghm_split_make(&ds, &r.split, &sp, &err), 0) << err.msg;
    ASSERT_EQ(sp.train.img.n, 36);
    ghm_sampler *s = nullptr;
    ASSERT_EQ(ghm_sampler_create(sp.train.img.labels, sp.train.img.n, sp.train.n_classes, 8, 2, r.seed, &s, &err), 0);
    const int bpe = ghm_sampler_batches_per_epoch(s);
    ASSERT_EQ(bpe, 4);
    std::vector<int> want(8);
    for (size_t g = 0; g < f.seen.steps.size(); g++) {
        const Step &st = f.seen.steps[g];
        SCOPED_TRACE("step " + std::to_string(g));
        EXPECT_EQ(st.sampler_epoch, (int)g / bpe);
        EXPECT_EQ(st.sampler_batch, (int)g % bpe);
        ASSERT_EQ(ghm_sampler_batch(s, (int)g / bpe, (int)g % bpe, want.data(), &err), 0);
        EXPECT_EQ(st.idx, want);
        ASSERT_EQ(st.labels.size(), 8u);
        for (int i = 0; i < 8; i++) EXPECT_EQ(st.labels[i], sp.train.img.labels[want[i]]);
    }
    ghm_sampler_destroy(s);
    ghm_split_free(&sp);
    ghm_dataset_free(&ds);
}

TEST(RunWiring, RecordHoldsWhatWasComputed)
{
    Fixture &f = run();
    ASSERT_EQ(f.rc, 0) << f.err.msg;
    const int steps = 5;
    ASSERT_EQ(f.rec.n_history, 3);
    ASSERT_EQ(f.rec.epochs, 3);
    ASSERT_EQ(f.seen.val.size(), 3u); // eval every epoch
    for (int ep = 0; ep < 3; ep++) {
        SCOPED_TRACE("epoch " + std::to_string(ep + 1));
        const ghm_history_entry &h = f.rec.history[ep];
        EXPECT_EQ(h.epoch, ep + 1);
        double sum = 0;
        for (int b = 0; b < steps; b++) sum += f.seen.steps[ep * steps + b].loss;
        EXPECT_DOUBLE_EQ(h.train_loss, sum / steps);
        EXPECT_DOUBLE_EQ(f.seen.steps[ep * steps + steps - 1].mean_so_far, sum / steps);
        EXPECT_EQ(h.lr, f.seen.steps[ep * steps + steps - 1].lr); // the lr of the epoch's last batch
        ASSERT_EQ(h.has_val, 1);
        EXPECT_EQ(f.seen.val[ep].first, ep + 1);
        const ghm_metric_set &v = f.seen.val[ep].second;
        ASSERT_EQ(h.val.n, v.n);
        ASSERT_GE(v.n, 4); // recall@1, recall@2, map@r, r_precision, nmi, ami
        for (int k = 0; k < v.n; k++) {
            EXPECT_STREQ(h.val.name[k], v.name[k]);
            EXPECT_EQ(h.val.value[k], v.value[k]) << v.name[k];
        }
    }
    // the final validation metrics are the last epoch's
    ASSERT_EQ(f.rec.has_val, 1);
    ASSERT_EQ(f.rec.val.n, f.rec.history[2].val.n);
    for (int k = 0; k < f.rec.val.n; k++) EXPECT_EQ(f.rec.val.value[k], f.rec.history[2].val.value[k]);
    // the losses differ from step to step (the loop trains on the batches it reports)
    std::set<double> distinct;
    for (const Step &s : f.seen.steps) distinct.insert(s.loss);
    EXPECT_GT(distinct.size(), 10u);

    // the test metrics are those of the saved test embeddings
    const ghm_run_spec &r = f.e.runs[0];
    float *emb = nullptr;
    int *lab = nullptr, n = 0, d = 0, nl = 0;
    ghm_error err;
    ASSERT_EQ(ghm_npy_read_f32_2d((f.dir + "/run/embeddings_test.npy").c_str(), &emb, &n, &d, &err), 0) << err.msg;
    ASSERT_EQ(ghm_npy_read_labels((f.dir + "/run/embeddings_test_labels.npy").c_str(), &lab, &nl, &err), 0) << err.msg;
    EXPECT_EQ(n, 4 * 6); // the test part: 4 classes x 6
    EXPECT_EQ(d, 4);
    ASSERT_EQ(nl, n);
    ghm_metrics m;
    ASSERT_EQ(ghm_evaluate(emb, lab, n, d, &r.eval, &m, &err), 0) << err.msg;
    ghm_metric_set ms;
    ghm_metric_set_from(&ms, &m);
    ASSERT_EQ(ms.n, f.rec.test.n);
    for (int k = 0; k < ms.n; k++) {
        EXPECT_STREQ(ms.name[k], f.rec.test.name[k]);
        EXPECT_EQ(ms.value[k], f.rec.test.value[k]) << ms.name[k];
    }
    free(emb);
    free(lab);
}

// ---- the m-per-class sampler's epoch -------------------------------------------

// With one class per batch (batch = m) and class sizes that are multiples of m,
// an epoch hands out every chunk exactly once: every image exactly once, big
// classes proportionally more often.
TEST(SamplerEpoch, OneClassPerBatchCoversEveryImageExactlyOnce)
{
    std::vector<int> lab;
    const int counts[4] = {4, 8, 12, 16};
    for (int c = 0; c < 4; c++)
        for (int i = 0; i < counts[c]; i++) lab.push_back(c);
    // interleave so that indices of a class are not contiguous
    std::vector<int> mixed(lab.size());
    for (size_t i = 0; i < lab.size(); i++) mixed[(i * 7) % lab.size()] = lab[i];
    ghm_sampler *s = nullptr;
    ghm_error err;
    ASSERT_EQ(ghm_sampler_create(mixed.data(), (int)mixed.size(), 4, 4, 4, 9, &s, &err), 0) << err.msg;
    ASSERT_EQ(ghm_sampler_batches_per_epoch(s), 40 / 4);
    for (int e = 0; e < 3; e++) {
        std::vector<int> times(mixed.size(), 0);
        std::map<int, int> per_class;
        std::vector<int> idx(4);
        for (int b = 0; b < ghm_sampler_batches_per_epoch(s); b++) {
            ASSERT_EQ(ghm_sampler_batch(s, e, b, idx.data(), &err), 0);
            per_class[mixed[idx[0]]]++;
            for (int i : idx) {
                EXPECT_EQ(mixed[i], mixed[idx[0]]);
                times[i]++;
            }
        }
        for (size_t i = 0; i < times.size(); i++) EXPECT_EQ(times[i], 1) << "epoch " << e << " image " << i;
        for (int c = 0; c < 4; c++) EXPECT_EQ(per_class[c], counts[c] / 4) << "class " << c;
    }
    ghm_sampler_destroy(s);
}

// Several classes per batch: within an epoch a class hands out its images
// without repetition until its queue is used up, and the epoch has exactly
// n / batch batches of batch / m classes.
TEST(SamplerEpoch, NoImageRepeatsBeforeItsClassQueueIsUsedUp)
{
    std::vector<int> lab;
    for (int c = 0; c < 6; c++)
        for (int i = 0; i < 10 + 2 * c; i++) lab.push_back(c); // 10, 12, ..., 20 images
    const int n = (int)lab.size(), B = 12, m = 3;
    ghm_sampler *s = nullptr;
    ghm_error err;
    ASSERT_EQ(ghm_sampler_create(lab.data(), n, 6, B, m, 4, &s, &err), 0) << err.msg;
    ASSERT_EQ(ghm_sampler_batches_per_epoch(s), n / B);
    for (int e = 0; e < 4; e++) {
        std::map<int, std::vector<int>> handed; // class -> images in order of handing out
        std::vector<int> idx(B);
        int draws = 0;
        for (int b = 0; b < n / B; b++) {
            ASSERT_EQ(ghm_sampler_batch(s, e, b, idx.data(), &err), 0);
            for (int j = 0; j < B; j += m) {
                draws++;
                for (int k = 0; k < m; k++) handed[lab[idx[j]]].push_back(idx[j + k]);
            }
        }
        EXPECT_EQ(draws, (n / B) * (B / m));
        int total_chunks = 0;
        for (int c = 0; c < 6; c++) total_chunks += (10 + 2 * c) / m;
        int drawn_within_chunks = 0;
        for (auto &kv : handed) {
            int count = 10 + 2 * kv.first;
            int chunks = count / m;
            // the first min(draws, chunks) * m images of the class are distinct
            size_t first = std::min(kv.second.size(), (size_t)chunks * m);
            std::set<int> u(kv.second.begin(), kv.second.begin() + first);
            EXPECT_EQ(u.size(), first) << "epoch " << e << " class " << kv.first;
            drawn_within_chunks += (int)std::min((int)kv.second.size() / m, chunks);
        }
        // draws follow the remaining chunks: nearly every draw uses a fresh chunk
        EXPECT_GE(drawn_within_chunks, draws - B / m) << "epoch " << e;
        EXPECT_LE(draws, total_chunks);
    }
    ghm_sampler_destroy(s);
}
