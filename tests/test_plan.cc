// The plan (experiment/plan.c): sweep expansion, run order, swept names and
// values, canonical text and run-id stability.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

extern "C" {
#include "experiment/experiment.h"
}

namespace {

struct Loaded {
    ghm_experiment e;
    ghm_error err;
    int rc;
    explicit Loaded(const std::string &yaml, const char *file = "p.yaml")
    {
        ghm_error_clear(&err);
        rc = ghm_experiment_load_string(yaml.c_str(), file, &e, &err);
    }
    ~Loaded() { ghm_experiment_free(&e); }
};

const char *kBase = "name: p\ndataset: {name: synthetic}\nbackbone: {name: mlp}\n";

std::string canonical(const ghm_run_spec &r)
{
    int n = ghm_run_spec_canonical(&r, nullptr, 0);
    EXPECT_GT(n, 0);
    std::vector<char> buf((size_t)n + 1);
    EXPECT_EQ(ghm_run_spec_canonical(&r, buf.data(), n + 1), n);
    return std::string(buf.data());
}

std::vector<std::string> ids(const ghm_experiment &e)
{
    std::vector<std::string> v;
    for (int i = 0; i < e.n_runs; i++) v.push_back(e.runs[i].run_id);
    return v;
}

// The example from the task: 2 losses (one with 5 alphas), top-level 2 lrs, 3 seeds.
const char *kSweepFile = R"(name: fmnist_ghm_alpha
seeds: [0, 1, 2]
dataset: {name: synthetic}
backbone: {name: convnet, embedding_dim: 64, normalize: true}
train: {epochs: 2, batch_size: 64, m_per_class: 4, optimizer: {name: adam, lr: 0.001}}
losses:
  - name: contrastive
    params: {neg_margin: 0.5}
  - name: ghm
    params: {tau: 0.1, prob: js}
    sweep: {alpha: [0.0, 0.25, 0.5, 0.75, 1.0]}
sweep: {train.optimizer.lr: [0.001, 0.0003]}
)";

}  // namespace

TEST(Plan, SweepExpansionCountAndOrder)
{
    Loaded L(kSweepFile);
    ASSERT_EQ(L.rc, 0) << L.err.msg;
    const ghm_experiment &e = L.e;
    ASSERT_EQ(e.n_runs, (1 + 5) * 2 * 3);  // 36
    EXPECT_EQ(e.n_losses, 2);
    EXPECT_STREQ(e.loss_names[0], "contrastive");
    EXPECT_STREQ(e.loss_names[1], "ghm");
    // union of swept names, first-seen order: contrastive's runs come first
    ASSERT_EQ(e.n_swept, 2);
    EXPECT_STREQ(e.swept_names[0], "train.optimizer.lr");
    EXPECT_STREQ(e.swept_names[1], "alpha");

    // order: loss entry, sweep combination (first key slowest), seed
    const double alphas[] = {0.0, 0.25, 0.5, 0.75, 1.0};
    const double lrs[] = {0.001, 0.0003};
    int i = 0;
    for (int lr = 0; lr < 2; lr++)
        for (int s = 0; s < 3; s++, i++) {
            const ghm_run_spec &r = e.runs[i];
            EXPECT_EQ(r.index, i);
            EXPECT_STREQ(r.loss, "contrastive");
            EXPECT_EQ(r.seed, (uint64_t)s);
            EXPECT_DOUBLE_EQ(r.optim.lr, lrs[lr]);
            EXPECT_EQ(ghm_params_get(&r.loss_params, "neg_margin", -1), 0.5);
            ASSERT_EQ(r.n_swept, 1);
            EXPECT_STREQ(r.swept_name[0], "train.optimizer.lr");
            EXPECT_DOUBLE_EQ(r.swept_value[0], lrs[lr]);
        }
    for (int a = 0; a < 5; a++)
        for (int lr = 0; lr < 2; lr++)
            for (int s = 0; s < 3; s++, i++) {
                const ghm_run_spec &r = e.runs[i];
                SCOPED_TRACE(i);
                EXPECT_EQ(r.index, i);
                EXPECT_STREQ(r.loss, "ghm");
                EXPECT_EQ(r.seed, (uint64_t)s);
                EXPECT_DOUBLE_EQ(r.optim.lr, lrs[lr]);
                EXPECT_DOUBLE_EQ(ghm_params_get(&r.loss_params, "alpha", -1), alphas[a]);
                EXPECT_DOUBLE_EQ(ghm_params_get(&r.loss_params, "tau", -1), 0.1);
                // loss sweep keys first, then top-level ones
                ASSERT_EQ(r.n_swept, 2);
                EXPECT_STREQ(r.swept_name[0], "alpha");
                EXPECT_DOUBLE_EQ(r.swept_value[0], alphas[a]);
                EXPECT_STREQ(r.swept_name[1], "train.optimizer.lr");
                EXPECT_DOUBLE_EQ(r.swept_value[1], lrs[lr]);
            }
    EXPECT_EQ(i, 36);
    EXPECT_STREQ(e.runs[6 + 6 + 3].swept_text[0], "0.25");  // as written
    EXPECT_STREQ(e.runs[6 + 6 + 3].swept_text[1], "0.0003");

    // every run id distinct, 16 lowercase hex digits
    std::set<std::string> uniq;
    for (const std::string &id : ids(e)) {
        EXPECT_EQ(id.size(), 16u);
        EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
        uniq.insert(id);
    }
    EXPECT_EQ(uniq.size(), 36u);
}

TEST(Plan, MultipleLossSweepsFirstKeySlowest)
{
    std::string yaml = std::string(kBase) +
                       "seeds: [5]\nlosses:\n  - name: ghm\n    sweep: {tau: [0.1, 0.2, 0.3], alpha: [0, 1]}\n"
                       "sweep: {train.epochs: [1, 2]}\n";
    Loaded L(yaml);
    ASSERT_EQ(L.rc, 0) << L.err.msg;
    ASSERT_EQ(L.e.n_runs, 12);
    int i = 0;
    for (double tau : {0.1, 0.2, 0.3})
        for (double alpha : {0.0, 1.0})
            for (int ep : {1, 2}) {
                const ghm_run_spec &r = L.e.runs[i++];
                EXPECT_DOUBLE_EQ(ghm_params_get(&r.loss_params, "tau", -1), tau);
                EXPECT_DOUBLE_EQ(ghm_params_get(&r.loss_params, "alpha", -1), alpha);
                EXPECT_EQ(r.epochs, ep);
                EXPECT_EQ(r.seed, 5u);
                ASSERT_EQ(r.n_swept, 3);
                EXPECT_STREQ(r.swept_name[0], "tau");
                EXPECT_STREQ(r.swept_name[1], "alpha");
                EXPECT_STREQ(r.swept_name[2], "train.epochs");
                EXPECT_EQ(r.swept_value[2], ep);
            }
    ASSERT_EQ(L.e.n_swept, 3);
}

TEST(Plan, SweepOverridesTheFileValue)
{
    std::string yaml = std::string(kBase) +
                       "train: {optimizer: {lr: 0.5}}\nlosses:\n  - name: ghm\n    params: {alpha: 0.9}\n"
                       "    sweep: {alpha: [0.1, 0.2]}\nsweep: {train.optimizer.lr: [0.01]}\n";
    Loaded L(yaml);
    ASSERT_EQ(L.rc, 0) << L.err.msg;
    ASSERT_EQ(L.e.n_runs, 2);
    EXPECT_DOUBLE_EQ(L.e.runs[0].optim.lr, 0.01);
    EXPECT_DOUBLE_EQ(ghm_params_get(&L.e.runs[0].loss_params, "alpha", -1), 0.1);
    EXPECT_DOUBLE_EQ(ghm_params_get(&L.e.runs[1].loss_params, "alpha", -1), 0.2);
}

TEST(Plan, BackboneParamSweep)
{
    std::string yaml = "name: p\ndataset: {name: synthetic}\nbackbone: {name: mlp, hidden2: 32}\n"
                       "losses: [{name: contrastive}]\nsweep: {backbone.hidden1: [16, 64], backbone.embedding_dim: [8]}\n";
    Loaded L(yaml);
    ASSERT_EQ(L.rc, 0) << L.err.msg;
    ASSERT_EQ(L.e.n_runs, 2);
    EXPECT_EQ(ghm_params_get(&L.e.runs[1].backbone_params, "hidden1", -1), 64);
    EXPECT_EQ(ghm_params_get(&L.e.runs[1].backbone_params, "hidden2", -1), 32);
    EXPECT_EQ(L.e.runs[1].embedding_dim, 8);
    ASSERT_EQ(L.e.runs[1].n_swept, 2);
    EXPECT_STREQ(L.e.runs[1].swept_name[0], "backbone.hidden1");
    EXPECT_EQ(L.e.runs[1].swept_value[0], 64);
}

TEST(RunId, SameFileSameIds)
{
    Loaded A(kSweepFile), B(kSweepFile);
    ASSERT_EQ(A.rc, 0);
    ASSERT_EQ(B.rc, 0);
    EXPECT_EQ(ids(A.e), ids(B.e));
    // the file name does not enter the id
    Loaded C(kSweepFile, "elsewhere/other.yaml");
    EXPECT_EQ(ids(A.e), ids(C.e));
    // recomputing gives the same id
    ghm_run_spec r = A.e.runs[7];
    ghm_run_spec_compute_id(&r);
    EXPECT_STREQ(r.run_id, A.e.runs[7].run_id);
}

TEST(RunId, IsFnv1a64OfTheCanonicalText)
{
    Loaded A(kSweepFile);
    ASSERT_EQ(A.rc, 0);
    for (int i = 0; i < A.e.n_runs; i += 7) {
        std::string c = canonical(A.e.runs[i]);
        uint64_t h = 14695981039346656037ULL;
        for (unsigned char ch : c) {
            h ^= ch;
            h *= 1099511628211ULL;
        }
        char hex[24];
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)h);
        EXPECT_STREQ(A.e.runs[i].run_id, hex);
    }
}

TEST(RunId, KeyOrderAndFormattingDoNotMatter)
{
    const char *a = "name: p\nseeds: [1]\ndataset: {name: synthetic, val_fraction: 0.1}\nbackbone: {name: mlp, embedding_dim: 32}\n"
                    "train: {epochs: 3, batch_size: 32, optimizer: {name: adam, lr: 0.001}}\n"
                    "losses:\n  - name: ghm\n    params: {alpha: 0.25, tau: 0.2}\n";
    const char *b = "# same values, other order and style\nlosses:\n  - params:\n      tau: 0.20\n      alpha: .25\n    name: ghm\n"
                    "train:\n  optimizer: {lr: 1e-3, name: adam}\n  batch_size: 32\n  epochs: 3\n"
                    "backbone:\n  embedding_dim: 32\n  name: mlp\ndataset:\n  val_fraction: 0.10\n  name: synthetic\n"
                    "seeds: [1]\nname: p\n";
    Loaded A(a), B(b);
    ASSERT_EQ(A.rc, 0) << A.err.msg;
    ASSERT_EQ(B.rc, 0) << B.err.msg;
    EXPECT_STREQ(A.e.runs[0].run_id, B.e.runs[0].run_id);
    EXPECT_EQ(canonical(A.e.runs[0]), canonical(B.e.runs[0]));
    // writing a default explicitly gives the same id as leaving it out
    Loaded C("name: p\nseeds: [1]\ndataset: {name: synthetic, val_fraction: 0.1}\nbackbone: {name: mlp, embedding_dim: 32}\n"
             "train: {epochs: 3, batch_size: 32, m_per_class: 4, optimizer: {name: adam, lr: 0.001, beta1: 0.9}}\n"
             "losses:\n  - name: ghm\n    params: {alpha: 0.25, tau: 0.2, prob: js, neg_margin: 1}\n");
    ASSERT_EQ(C.rc, 0) << C.err.msg;
    EXPECT_STREQ(A.e.runs[0].run_id, C.e.runs[0].run_id);
}

TEST(RunId, AnyChangeGivesANewId)
{
    const std::string base = "name: p\nseeds: [1]\ndataset: {name: synthetic}\nbackbone: {name: mlp}\n"
                             "losses:\n  - name: ghm\n    params: {alpha: 0.25}\n";
    Loaded B(base);
    ASSERT_EQ(B.rc, 0) << B.err.msg;
    const std::string id0 = B.e.runs[0].run_id;
    const char *variants[] = {
        "name: q\nseeds: [1]\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses:\n  - name: ghm\n    params: {alpha: 0.25}\n",
        "name: p\nseeds: [2]\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses:\n  - name: ghm\n    params: {alpha: 0.25}\n",
        "name: p\nseeds: [1]\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses:\n  - name: ghm\n    params: {alpha: 0.26}\n",
        "name: p\nseeds: [1]\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses:\n  - name: ghm\n    params: {alpha: 0.25, prob: hellinger}\n",
        "name: p\nseeds: [1]\ndataset: {name: synthetic, classes: 5}\nbackbone: {name: mlp}\nlosses:\n  - name: ghm\n    params: {alpha: 0.25}\n",
        "name: p\nseeds: [1]\ndataset: {name: synthetic, val_fraction: 0.2}\nbackbone: {name: mlp}\nlosses:\n  - name: ghm\n    params: {alpha: 0.25}\n",
        "name: p\nseeds: [1]\ndataset: {name: synthetic}\nbackbone: {name: mlp, hidden1: 100}\nlosses:\n  - name: ghm\n    params: {alpha: 0.25}\n",
        "name: p\nseeds: [1]\ndataset: {name: synthetic}\nbackbone: {name: convnet}\nlosses:\n  - name: ghm\n    params: {alpha: 0.25}\n",
        "name: p\nseeds: [1]\ndataset: {name: synthetic}\nbackbone: {name: mlp, normalize: false}\nlosses:\n  - name: ghm\n    params: {alpha: 0.25}\n",
        "name: p\nseeds: [1]\ndataset: {name: synthetic}\nbackbone: {name: mlp}\ntrain: {optimizer: {lr: 0.0010000001}}\nlosses:\n  - name: ghm\n    params: {alpha: 0.25}\n",
        "name: p\nseeds: [1]\ndataset: {name: synthetic}\nbackbone: {name: mlp}\ntrain: {schedule: {name: cosine}}\nlosses:\n  - name: ghm\n    params: {alpha: 0.25}\n",
        "name: p\nseeds: [1]\ndataset: {name: synthetic}\nbackbone: {name: mlp}\ntrain: {steps_per_epoch: 10}\nlosses:\n  - name: ghm\n    params: {alpha: 0.25}\n",
        "name: p\nseeds: [1]\ndataset: {name: synthetic}\nbackbone: {name: mlp}\neval: {recall_at: [1, 2]}\nlosses:\n  - name: ghm\n    params: {alpha: 0.25}\n",
        "name: p\nseeds: [1]\ndataset: {name: synthetic}\nbackbone: {name: mlp}\neval: {metrics: [recall]}\nlosses:\n  - name: ghm\n    params: {alpha: 0.25}\n",
        "name: p\nseeds: [1]\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses:\n  - name: contrastive\n",
    };
    std::set<std::string> seen{id0};
    for (const char *v : variants) {
        SCOPED_TRACE(v);
        Loaded L(v);
        ASSERT_EQ(L.rc, 0) << L.err.msg;
        EXPECT_TRUE(seen.insert(L.e.runs[0].run_id).second) << "id collides: " << L.e.runs[0].run_id;
    }
    // a change made directly in the spec (e.g. a changed default in code) also changes the id
    ghm_run_spec r = B.e.runs[0];
    r.optim.eps = 1e-7;
    ghm_run_spec_compute_id(&r);
    EXPECT_NE(id0, r.run_id);
    r = B.e.runs[0];
    ghm_params_set(&r.loss_params, "prob_scale", 2.5);
    ghm_run_spec_compute_id(&r);
    EXPECT_NE(id0, r.run_id);
}

TEST(RunId, CanonicalTextContents)
{
    Loaded L(kSweepFile);
    ASSERT_EQ(L.rc, 0);
    std::string c = canonical(L.e.runs[35]);
    // sorted key=value lines, one per value, ending in a newline
    ASSERT_FALSE(c.empty());
    EXPECT_EQ(c.back(), '\n');
    std::vector<std::string> lines;
    size_t p = 0;
    while (p < c.size()) {
        size_t q = c.find('\n', p);
        lines.push_back(c.substr(p, q - p));
        p = q + 1;
    }
    for (size_t i = 1; i < lines.size(); i++) EXPECT_LT(lines[i - 1], lines[i]);
    auto has = [&](const std::string &l) {
        for (const auto &x : lines)
            if (x == l) return true;
        return false;
    };
    EXPECT_TRUE(has("experiment=fmnist_ghm_alpha"));
    EXPECT_TRUE(has("seed=2"));
    EXPECT_TRUE(has("loss.name=ghm"));
    EXPECT_TRUE(has("loss.params.alpha=1"));
    EXPECT_TRUE(has("loss.params.tau=0.10000000000000001"));  // %.17g
    EXPECT_TRUE(has("loss.params.prob=js"));
    EXPECT_TRUE(has("loss.params.neg_margin=1"));
    EXPECT_TRUE(has("train.optimizer.lr=0.00029999999999999997"));
    EXPECT_TRUE(has("train.optimizer.name=adam"));
    EXPECT_TRUE(has("backbone.name=convnet"));
    EXPECT_TRUE(has("backbone.embedding_dim=64"));
    EXPECT_TRUE(has("dataset.name=synthetic"));
    EXPECT_TRUE(has("dataset.split=standard"));
    EXPECT_TRUE(has("train.batch_size=64"));
    bool any_recall = false;
    for (const auto &x : lines)
        if (x.rfind("eval.recall_at=", 0) == 0) any_recall = true;
    EXPECT_TRUE(any_recall);

    // truncation behaves like snprintf
    char small[16];
    int n = ghm_run_spec_canonical(&L.e.runs[0], small, sizeof small);
    EXPECT_GT(n, 16);
    EXPECT_EQ(strlen(small), 15u);
}

TEST(RunId, StringValuesAreEscaped)
{
    // a newline in a path cannot forge another key=value line
    Loaded A("name: p\ndataset: {name: idx, path: \"/d\\nseed=9\"}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\n");
    ASSERT_EQ(A.rc, 0) << A.err.msg;
    std::string c = canonical(A.e.runs[0]);
    EXPECT_NE(c.find("dataset.path=/d\\nseed=9\n"), std::string::npos) << c;
    EXPECT_EQ(c.find("\nseed=9\n"), std::string::npos);
}

TEST(Plan, QuickstartFile)
{
    ghm_experiment e;
    ghm_error err;
    ASSERT_EQ(ghm_experiment_load(GHM_SOURCE_DIR "/experiments/quickstart.yaml", &e, &err), 0) << err.msg;
    EXPECT_STREQ(e.name, "quickstart");
    EXPECT_EQ(e.n_runs, 7);
    EXPECT_EQ(e.n_seeds, 1);
    for (int i = 0; i < e.n_runs; i++) {
        EXPECT_STREQ(e.runs[i].dataset_name, "fashion-mnist");
        EXPECT_EQ(e.runs[i].batch_size % e.runs[i].m_per_class, 0);
    }
    ghm_experiment_free(&e);
}
