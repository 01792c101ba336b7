// Experiment-file validation (experiment/config.c + experiment/plan.c): a table of
// bad files, each with the expected message and position, plus valid files.
//
// Positions: in each bad file a '@' marks the character the error must point
// at; the test removes it, computes its 1-based line:column and expects the
// message to start with "t.yaml:<line>:<column>: ".
#include <gtest/gtest.h>

#include "metric_access.h"

#include <dirent.h>

#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

extern "C" {
#include "backbones/backbone.h"
#include "experiment/experiment.h"
#include "losses/loss.h"
}

namespace {

struct Loaded {
    ghm_experiment e;
    ghm_error err;
    int rc;
    explicit Loaded(const std::string &yaml, const char *file = "t.yaml")
    {
        ghm_error_clear(&err);
        rc = ghm_experiment_load_string(yaml.c_str(), file, &e, &err);
    }
    ~Loaded() { ghm_experiment_free(&e); }
};

struct BadCase {
    const char *what;
    const char *yaml;    // '@' marks the expected error position (absent: position not checked)
    const char *expect;  // substring of the message
};

// A minimal valid file is
//   name: t / dataset: {name: synthetic} / backbone: {name: mlp} / losses: [{name: contrastive}]
const BadCase kBad[] = {
    {"unknown top-level key, did you mean",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\n@lossez: []\nlosses: [{name: contrastive}]\n",
     "unknown top-level key 'lossez' (did you mean 'losses'?)"},
    {"unknown nested key, did you mean",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\ntrain: {@epoch: 3}\nlosses: [{name: contrastive}]\n",
     "unknown key 'epoch' in train (did you mean 'epochs'?)"},
    {"unknown key two levels down",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\ntrain:\n  optimizer:\n    name: adam\n    @learning_rate: 0.1\n"
     "losses: [{name: contrastive}]\n",
     "unknown key 'learning_rate' in train.optimizer"},
    {"integer expected",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\ntrain: {epochs: @abc}\nlosses: [{name: contrastive}]\n",
     "train.epochs: expected an integer, got 'abc'"},
    {"integer expected, fraction given",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\ntrain: {batch_size: @64.5}\nlosses: [{name: contrastive}]\n",
     "train.batch_size: expected an integer, got '64.5'"},
    {"number expected",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\ntrain: {optimizer: {lr: @fast}}\nlosses: [{name: contrastive}]\n",
     "train.optimizer.lr: expected a number, got 'fast'"},
    {"scalar expected, list given",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\ntrain: {epochs: @[1, 2]}\nlosses: [{name: contrastive}]\n",
     "train.epochs: expected a single value, got a list"},
    {"out of range (block style)",
     "name: t\ndataset:\n  name: synthetic\n  val_fraction: @0.95\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\n",
     "dataset.val_fraction = 0.95 is out of range [0, 0.9]"},
    {"open lower bound",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\ntrain: {optimizer: {lr: @0}}\nlosses: [{name: contrastive}]\n",
     "train.optimizer.lr = 0 is out of range (0, 10]"},
    {"bool expected",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp, normalize: @maybe}\nlosses: [{name: contrastive}]\n",
     "backbone.normalize: expected true or false, got 'maybe'"},
    {"unknown enum value",
     "name: t\ndataset: {name: synthetic, split: @clases}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\n",
     "dataset.split: unknown value 'clases'; expected one of standard | classes (did you mean 'classes'?)"},
    {"unknown optimizer",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\ntrain: {optimizer: {name: @adamm}}\nlosses: [{name: contrastive}]\n",
     "did you mean 'adam"},
    {"unknown loss, did you mean",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses:\n  - name: @contrastiv\n",
     "unknown loss 'contrastiv' (did you mean 'contrastive'?)"},
    {"unknown backbone, did you mean",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: @convnt}\nlosses: [{name: contrastive}]\n",
     "unknown backbone 'convnt' (did you mean 'convnet'?)"},
    {"unknown dataset, did you mean",
     "name: t\ndataset: {name: @fashion_mnist}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\n",
     "unknown dataset 'fashion_mnist' (did you mean 'fashion-mnist'?)"},
    {"unknown loss parameter, did you mean",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses:\n  - name: contrastive\n    params: {@neg_margn: 0.5}\n",
     "unknown parameter 'neg_margn' (did you mean 'neg_margin'?)"},
    {"loss parameter out of range",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses:\n  - name: ghm\n    params: {alpha: @1.5}\n",
     "loss 'ghm': parameter 'alpha' = 1.5 is out of range [0, 1]"},
    {"loss parameter open bound",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses:\n  - name: ghm\n    params: {tau: @0}\n",
     "parameter 'tau' = 0 is out of range (0"},
    {"loss enum parameter",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses:\n  - name: ghm\n    params: {prob: @jss}\n",
     "parameter 'prob' must be one of js | hellinger, got 'jss' (did you mean 'js'?)"},
    {"loss parameter not a number",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses:\n  - name: ghm\n    params: {alpha: @half}\n",
     "parameter 'alpha' expects a number, got 'half'"},
    {"sweep over a parameter the loss does not have",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses:\n  - name: ghm\n    sweep: {@alpah: [0.1, 0.2]}\n",
     "sweep over unknown parameter 'alpah' (did you mean 'alpha'?)"},
    {"sweep value out of range points at the value",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses:\n  - name: ghm\n    sweep: {alpha: [0.0, 0.5, @2.0]}\n",
     "parameter 'alpha' = 2 is out of range [0, 1]"},
    {"empty loss sweep list",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses:\n  - name: ghm\n    sweep: {alpha: @[]}\n",
     "sweep over 'alpha' has an empty list of values"},
    {"sweep needs a list",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses:\n  - name: ghm\n    sweep: {alpha: @0.5}\n",
     "sweep over 'alpha' needs a list of values"},
    {"duplicate sweep value",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses:\n  - name: ghm\n    sweep: {alpha: [0.5, @0.5]}\n",
     "duplicate value '0.5' in the sweep over 'alpha'"},
    {"top-level sweep over an unknown path",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\nsweep: {@train.optimizer.lrr: [0.1]}\n",
     "unknown setting 'train.optimizer.lrr' (did you mean 'train.optimizer.lr'?)"},
    {"top-level sweep over a non-scalar key",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\nsweep: {@train.optimizer: [1]}\n",
     "'train.optimizer' is not a scalar key"},
    {"top-level sweep over a list key",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\nsweep: {@eval.recall_at: [1]}\n",
     "'eval.recall_at' is not a scalar key"},
    {"top-level sweep over seeds",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\nsweep: {@seeds: [1, 2]}\n",
     "'seeds' cannot be swept"},
    {"top-level sweep: empty list",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\nsweep:\n  train.epochs: @[]\n",
     "sweep over 'train.epochs' has an empty list of values"},
    {"top-level sweep value out of range",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\n"
     "sweep: {train.optimizer.lr: [0.001, @-1]}\n",
     "train.optimizer.lr = -1 is out of range (0, 10]"},
    {"top-level sweep over a backbone parameter that does not exist",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\n"
     "sweep: {@backbone.hiddn1: [8, 16]}\n",
     "backbone 'mlp': unknown parameter 'hiddn1' (did you mean 'hidden1'?)"},
    {"backbone parameter unknown",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp, @hiden1: 5}\nlosses: [{name: contrastive}]\n",
     "backbone 'mlp': unknown parameter 'hiden1' (did you mean 'hidden1'?)"},
    {"backbone parameter out of range",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp, hidden1: @0}\nlosses: [{name: contrastive}]\n",
     "parameter 'hidden1' = 0 is out of range [1, 65536]"},
    {"backbone parameter must be an integer",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp, hidden1: @8.5}\nlosses: [{name: contrastive}]\n",
     "parameter 'hidden1' must be an integer"},
    {"batch size not a multiple of m_per_class",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\ntrain:\n  batch_size: @30\n  m_per_class: 4\n"
     "losses: [{name: contrastive}]\n",
     "train.batch_size (30) must be a multiple of train.m_per_class (4)"},
    {"swept batch size not a multiple points at the value",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\n"
     "sweep: {train.batch_size: [64, @66]}\n",
     "train.batch_size (66) must be a multiple of train.m_per_class (4)"},
    {"one class per batch",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\ntrain: {batch_size: 8, m_per_class: @8}\n"
     "losses: [{name: contrastive}]\n",
     "1 class per batch"},
    {"duplicate top-level key",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\n@name: u\nlosses: [{name: contrastive}]\n",
     "duplicate key 'name' (first given at line 1, column 1)"},
    {"duplicate nested key",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\ntrain:\n  epochs: 2\n  @epochs: 3\nlosses: [{name: contrastive}]\n",
     "train: duplicate key 'epochs'"},
    {"duplicate loss parameter",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses:\n  - name: ghm\n    params: {alpha: 0.1, @alpha: 0.2}\n",
     "duplicate key 'alpha'"},
    {"missing losses",
     "@name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\n",
     "missing required key 'losses'"},
    {"missing name",
     "@dataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\n",
     "missing required key 'name'"},
    {"missing backbone",
     "@name: t\ndataset: {name: synthetic}\nlosses: [{name: contrastive}]\n",
     "missing required key 'backbone'"},
    {"missing dataset name",
     "name: t\ndataset: @{split: standard}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\n",
     "dataset: missing required key 'name'"},
    {"missing loss name",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses:\n  - @params: {alpha: 0.1}\n",
     "losses entry: missing required key 'name'"},
    {"unknown key in a loss entry",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses:\n  - name: ghm\n    @param: {alpha: 0.1}\n",
     "unknown key 'param' in a losses entry (did you mean 'params'?)"},
    {"empty losses",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses: @[]\n",
     "losses: the list is empty"},
    {"losses not a list",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses: @contrastive\n",
     "losses: expected a list of loss entries"},
    {"dataset given as a scalar",
     "name: t\ndataset: @fashion-mnist\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\n",
     "dataset: expected a mapping"},
    {"negative seed",
     "name: t\nseeds: [0, @-1]\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\n",
     "seeds: expected a non-negative integer, got '-1'"},
    {"fractional seed",
     "name: t\nseeds: [@1.5]\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\n",
     "seeds: expected a non-negative integer, got '1.5'"},
    {"duplicate seed",
     "name: t\nseeds: [1, 2, @1]\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\n",
     "seeds: duplicate seed 1"},
    {"empty seeds",
     "name: t\nseeds: @[]\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\n",
     "seeds: the list is empty"},
    {"seeds as a scalar",
     "name: t\nseeds: @3\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\n",
     "seeds: expected a list (each item: non-negative integer"},
    {"bad experiment name",
     "name: @a/b\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\n",
     "name: 'a/b' may contain only letters, digits"},
    {"experiment name of dots",
     "name: @..\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\n",
     "not a usable directory name"},
    {"momentum with adam",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\ntrain: {optimizer: {name: adam, @momentum: 0.9}}\n"
     "losses: [{name: contrastive}]\n",
     "train.optimizer.momentum applies only to optimizer sgd (this run uses adam)"},
    {"beta1 with sgd",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\ntrain: {optimizer: {name: sgd, @beta1: 0.9}}\n"
     "losses: [{name: contrastive}]\n",
     "train.optimizer.beta1 applies only to optimizers adam and adamw"},
    {"gamma with cosine",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\ntrain: {schedule: {name: cosine, @gamma: 0.5}}\n"
     "losses: [{name: contrastive}]\n",
     "apply only to schedule step (this run uses cosine)"},
    {"min_lr_ratio with step",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\ntrain: {schedule: {name: step, @min_lr_ratio: 0.5}}\n"
     "losses: [{name: contrastive}]\n",
     "min_lr_ratio applies only to schedule cosine"},
    {"train_classes with the standard split",
     "name: t\ndataset: {name: synthetic, @train_classes: [0, 1]}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\n",
     "dataset.train_classes applies only to split: classes"},
    {"duplicate train class",
     "name: t\ndataset: {name: synthetic, split: classes, train_classes: [0, 1, @1]}\nbackbone: {name: mlp}\n"
     "losses: [{name: contrastive}]\n",
     "dataset.train_classes: duplicate value 1"},
    {"train class that the dataset does not have",
     "name: t\ndataset: {name: fashion-mnist, split: classes, @train_classes: [0, 10]}\nbackbone: {name: mlp}\n"
     "losses: [{name: contrastive}]\n",
     "dataset.train_classes: class 10 does not exist in 'fashion-mnist' (10 classes, ids 0..9)"},
    {"train classes leave nothing to test",
     "name: t\ndataset: {name: synthetic, classes: 3, split: classes, @train_classes: [0, 1, 2]}\nbackbone: {name: mlp}\n"
     "losses: [{name: contrastive}]\n",
     "lists all 3 classes of 'synthetic'"},
    {"synthetic-only key with mnist",
     "name: t\ndataset: {name: mnist, @classes: 5}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\n",
     "dataset.classes applies only to the synthetic dataset (this run uses 'mnist')"},
    {"idx needs a path",
     "name: t\ndataset: {name: @idx}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\n",
     "dataset 'idx' needs dataset.path"},
    {"negative limit",
     "name: t\ndataset: {name: synthetic, limit: {train: @-5}}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\n",
     "dataset.limit.train = -5 is out of range [0, "},
    {"limit as a scalar",
     "name: t\ndataset: {name: synthetic, limit: @5000}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\n",
     "dataset.limit: expected a mapping"},
    {"unknown metric",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\neval: {metrics: [nmi, @recal]}\nlosses: [{name: contrastive}]\n",
     "eval.metrics: unknown metric 'recal' (did you mean 'recall'?)"},
    {"recall_at zero",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\neval: {recall_at: [1, @0]}\nlosses: [{name: contrastive}]\n",
     "eval.recall_at: 0 is out of range [1, "},
    {"identical loss entries",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses:\n  - name: contrastive\n  - @name: contrastive\n",
     "runs #1 and #2 are identical"},
    {"identical after defaults",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses:\n  - name: ghm\n  - @name: ghm\n    params: {alpha: 0.5}\n",
     "are identical"},
    {"top level is a list",
     "@- a\n- b\n",
     "expected a mapping (key: value lines) at the top level"},
    {"empty file", "@", "the file is empty"},
    {"two documents",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\n---\n@name: u\n",
     "only one YAML document"},
    {"too many swept keys",
     "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses:\n  - name: ghm\n"
     "    sweep: {alpha: [0, 1], tau: [0.1, 1], prob_scale: [1, 2], pos_margin: [0, 0.1], neg_margin: [1, 2]}\n"
     "sweep: {train.epochs: [1, 2], train.batch_size: [8, 16], train.m_per_class: [2, 4], @eval.every: [0, 1]}\n",
     "too many swept keys"},
};

std::string strip_marker(const char *yaml, int *line, int *col)
{
    std::string s;
    *line = *col = 0;
    int l = 1, c = 1;
    for (const char *p = yaml; *p; p++) {
        if (*p == '@' && *line == 0) {
            *line = l;
            *col = c;
            continue;
        }
        s += *p;
        if (*p == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    return s;
}

}  // namespace

TEST(ConfigBad, TableOfBadFiles)
{
    for (const BadCase &bc : kBad) {
        SCOPED_TRACE(bc.what);
        int line, col;
        std::string yaml = strip_marker(bc.yaml, &line, &col);
        Loaded L(yaml);
        EXPECT_EQ(L.rc, GHM_EINPUT);
        EXPECT_EQ(L.err.code, GHM_EINPUT);
        EXPECT_EQ(L.e.n_runs, 0);
        EXPECT_EQ(L.e.runs, nullptr);
        std::string msg = L.err.msg;
        EXPECT_NE(msg.find(bc.expect), std::string::npos) << "message: " << msg;
        if (line) {
            char prefix[64];
            snprintf(prefix, sizeof prefix, "t.yaml:%d:%d: ", line, col);
            EXPECT_EQ(msg.rfind(prefix, 0), 0u) << "expected prefix " << prefix << "\nmessage: " << msg;
        }
    }
}

// A few positions spelled out literally, as a reader would see them.
TEST(ConfigBad, LiteralPositions)
{
    {
        Loaded L("name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlossez: []\nlosses: [{name: contrastive}]\n",
                 "exp.yaml");
        EXPECT_STREQ(L.err.msg,
                     "exp.yaml:4:1: unknown top-level key 'lossez' (did you mean 'losses'?); known keys: name | "
                     "description | seeds | dataset | backbone | train | eval | report | losses | sweep | search | "
                     "protocol | final | compare_to | primary");
    }
    {
        Loaded L("name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\ntrain: {epochs: abc}\nlosses: [{name: contrastive}]\n",
                 "exp.yaml");
        EXPECT_STREQ(L.err.msg, "exp.yaml:4:17: train.epochs: expected an integer, got 'abc'");
    }
    {
        Loaded L("name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses:\n  - name: ghm\n    sweep:\n"
                 "      alpha: [0.0, 0.5, 3]\n",
                 "exp.yaml");
        EXPECT_STREQ(L.err.msg, "exp.yaml:7:25: loss 'ghm': parameter 'alpha' = 3 is out of range [0, 1]");
    }
}

TEST(ConfigBad, YamlSyntaxError)
{
    Loaded L("name: t\ndataset: {name: synthetic\nbackbone: {name: mlp}\n");
    EXPECT_EQ(L.rc, GHM_EINPUT);
    EXPECT_EQ(std::string(L.err.msg).rfind("t.yaml:", 0), 0u) << L.err.msg;
    EXPECT_NE(std::string(L.err.msg).find("YAML syntax error"), std::string::npos) << L.err.msg;
    // the position is a real line:column
    int line = 0, col = 0;
    EXPECT_EQ(sscanf(L.err.msg, "t.yaml:%d:%d:", &line, &col), 2);
    EXPECT_GE(line, 2);
    EXPECT_GE(col, 1);

    Loaded T("name: t\n\tdataset: x\n");  // tab indentation
    EXPECT_EQ(T.rc, GHM_EINPUT);
    EXPECT_NE(std::string(T.err.msg).find("YAML syntax error"), std::string::npos) << T.err.msg;
}

TEST(ConfigBad, MissingFile)
{
    ghm_experiment e;
    ghm_error err;
    int rc = ghm_experiment_load("/nonexistent/dir/x.yaml", &e, &err);
    EXPECT_EQ(rc, GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find("/nonexistent/dir/x.yaml"), std::string::npos);
    EXPECT_EQ(e.runs, nullptr);
    ghm_experiment_free(&e);
}

TEST(ConfigValid, MinimalFileAndDefaults)
{
    Loaded L("name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\n");
    ASSERT_EQ(L.rc, 0) << L.err.msg;
    ASSERT_EQ(L.e.n_runs, 1);
    EXPECT_STREQ(L.e.name, "t");
    EXPECT_STREQ(L.e.file, "t.yaml");
    EXPECT_EQ(L.e.n_seeds, 1);
    EXPECT_EQ(L.e.seeds[0], 0u);
    EXPECT_EQ(L.e.n_losses, 1);
    EXPECT_STREQ(L.e.loss_names[0], "contrastive");
    EXPECT_EQ(L.e.n_swept, 0);
    const ghm_run_spec &r = L.e.runs[0];
    EXPECT_STREQ(r.experiment, "t");
    EXPECT_EQ(strlen(r.run_id), 16u);
    EXPECT_EQ(r.index, 0);
    EXPECT_EQ(r.seed, 0u);
    // dataset defaults
    EXPECT_STREQ(r.dataset_name, "synthetic");
    EXPECT_STREQ(r.data.name, "synthetic");
    EXPECT_EQ(r.data.name, r.dataset_name);  // points into the spec
    EXPECT_EQ(r.data.path, nullptr);
    ghm_dataset_opts dd;
    ghm_dataset_opts_default(&dd);
    EXPECT_EQ(r.data.classes, dd.classes);
    EXPECT_EQ(r.data.train_per_class, dd.train_per_class);
    EXPECT_EQ(r.data.image_size, dd.image_size);
    EXPECT_EQ(r.split.protocol, GHM_SPLIT_STANDARD);
    EXPECT_EQ(r.split.n_train_classes, 0);
    EXPECT_EQ(r.split.limit_train, 0);
    // backbone: fixed defaults + every spec entry resolved
    EXPECT_STREQ(r.backbone, "mlp");
    EXPECT_EQ(r.embedding_dim, 64);
    EXPECT_EQ(r.normalize, 1);
    const ghm_backbone_ops *bo = ghm_backbone_find("mlp");
    ASSERT_NE(bo, nullptr);
    EXPECT_EQ(r.backbone_params.n, ghm_param_spec_count(bo->params));
    for (int i = 0; i < r.backbone_params.n; i++) {
        double v = -1;
        EXPECT_TRUE(ghm_params_find(&r.backbone_params, bo->params[i].name, &v));
        EXPECT_EQ(v, bo->params[i].def);
    }
    // training defaults
    EXPECT_EQ(r.epochs, 10);
    EXPECT_EQ(r.steps_per_epoch, 0);
    EXPECT_EQ(r.batch_size, 64);
    EXPECT_EQ(r.m_per_class, 4);
    ghm_optim_config oc;
    ghm_optim_config_default(&oc);
    EXPECT_EQ(r.optim.kind, oc.kind);
    EXPECT_EQ(r.optim.lr, oc.lr);
    EXPECT_EQ(r.optim.beta2, oc.beta2);
    ghm_schedule_config sc;
    ghm_schedule_config_default(&sc);
    EXPECT_EQ(r.schedule.kind, sc.kind);
    EXPECT_EQ(r.schedule.gamma, sc.gamma);
    // eval defaults
    ghm_eval_opts eo;
    ghm_eval_opts_default(&eo);
    EXPECT_EQ(r.eval_every, 1);
    EXPECT_EQ(r.save_embeddings, 1);
    EXPECT_EQ(r.eval.n_k, eo.n_k);
    EXPECT_EQ(mon(r.eval, "recall"), mon(eo, "recall"));
    EXPECT_EQ(mon(r.eval, "nmi"), mon(eo, "nmi"));
    EXPECT_EQ(r.eval.kmeans_restarts, eo.kmeans_restarts);
    // loss: every spec entry present with its default
    EXPECT_STREQ(r.loss, "contrastive");
    const ghm_loss_ops *lo = ghm_loss_find("contrastive");
    ASSERT_NE(lo, nullptr);
    EXPECT_EQ(r.loss_params.n, ghm_param_spec_count(lo->params));
    EXPECT_EQ(ghm_params_get(&r.loss_params, "pos_margin", -1), 0.0);
    EXPECT_EQ(ghm_params_get(&r.loss_params, "neg_margin", -1), 1.0);
    EXPECT_EQ(r.n_swept, 0);
}

TEST(ConfigValid, FullFileAllValuesLand)
{
    const char *yaml = R"(name: full.test-1
description: every key once
seeds: [7, 3]
dataset:
  name: fashion-mnist
  path: /some/dir
  split: classes
  train_classes: [4, 0, 2]
  val_fraction: 0.1
  limit: {train: 5000, test: 2000}
backbone: {name: mlp, embedding_dim: 32, normalize: false, hidden1: 128}
train:
  epochs: 5
  steps_per_epoch: 100
  batch_size: 60
  m_per_class: 6
  optimizer: {name: sgd, lr: 0.05, momentum: 0.8, nesterov: yes, weight_decay: 0.0001}
  schedule: {name: step, warmup_epochs: 0.5, step_epochs: 2, gamma: 0.5}
eval:
  every: 2
  recall_at: [8, 1, 4]
  metrics: [recall, map_r]
  save_embeddings: false
  kmeans_restarts: 2
  kmeans_max_iter: 50
losses:
  - name: ghm
    params: {tau: 0.2, prob: hellinger}
)";
    Loaded L(yaml);
    ASSERT_EQ(L.rc, 0) << L.err.msg;
    ASSERT_EQ(L.e.n_runs, 2);
    const ghm_run_spec &r = L.e.runs[0];
    EXPECT_EQ(r.seed, 7u);
    EXPECT_EQ(L.e.runs[1].seed, 3u);
    EXPECT_STREQ(r.experiment, "full.test-1");
    EXPECT_STREQ(r.dataset_name, "fashion-mnist");
    EXPECT_STREQ(r.dataset_path, "/some/dir");
    EXPECT_STREQ(r.data.path, "/some/dir");
    EXPECT_EQ(r.data.seed, 7u);
    EXPECT_EQ(r.split.seed, 7u);
    EXPECT_EQ(r.eval.seed, 7u);
    EXPECT_EQ(r.split.protocol, GHM_SPLIT_CLASSES);
    ASSERT_EQ(r.split.n_train_classes, 3);
    EXPECT_EQ(r.split.train_classes[0], 4);  // order as written
    EXPECT_EQ(r.split.train_classes[2], 2);
    EXPECT_DOUBLE_EQ(r.split.val_fraction, 0.1);
    EXPECT_EQ(r.split.limit_train, 5000);
    EXPECT_EQ(r.split.limit_test, 2000);
    EXPECT_EQ(r.embedding_dim, 32);
    EXPECT_EQ(r.normalize, 0);
    EXPECT_EQ(ghm_params_get(&r.backbone_params, "hidden1", -1), 128);
    EXPECT_EQ(ghm_params_get(&r.backbone_params, "hidden2", -1), 256);  // default filled
    EXPECT_EQ(r.epochs, 5);
    EXPECT_EQ(r.steps_per_epoch, 100);
    EXPECT_EQ(r.batch_size, 60);
    EXPECT_EQ(r.m_per_class, 6);
    EXPECT_EQ(r.optim.kind, GHM_OPT_SGD);
    EXPECT_DOUBLE_EQ(r.optim.lr, 0.05);
    EXPECT_DOUBLE_EQ(r.optim.momentum, 0.8);
    EXPECT_EQ(r.optim.nesterov, 1);
    EXPECT_DOUBLE_EQ(r.optim.weight_decay, 1e-4);
    EXPECT_EQ(r.schedule.kind, GHM_SCHED_STEP);
    EXPECT_DOUBLE_EQ(r.schedule.warmup_epochs, 0.5);
    EXPECT_DOUBLE_EQ(r.schedule.step_epochs, 2);
    EXPECT_DOUBLE_EQ(r.schedule.gamma, 0.5);
    EXPECT_EQ(r.eval_every, 2);
    ASSERT_EQ(r.eval.n_k, 3);
    EXPECT_EQ(r.eval.ks[0], 1);  // sorted
    EXPECT_EQ(r.eval.ks[1], 4);
    EXPECT_EQ(r.eval.ks[2], 8);
    EXPECT_EQ(mon(r.eval, "recall"), 1);
    EXPECT_EQ(mon(r.eval, "map_r"), 1);
    EXPECT_EQ(mon(r.eval, "nmi"), 0);
    EXPECT_EQ(mon(r.eval, "r_precision"), 0);
    EXPECT_EQ(r.save_embeddings, 0);
    EXPECT_EQ(r.eval.kmeans_restarts, 2);
    EXPECT_EQ(r.eval.kmeans_max_iter, 50);
    EXPECT_STREQ(r.loss, "ghm");
    EXPECT_EQ(ghm_params_get(&r.loss_params, "alpha", -1), 0.5);  // default
    EXPECT_EQ(ghm_params_get(&r.loss_params, "tau", -1), 0.2);
    EXPECT_EQ(ghm_params_get(&r.loss_params, "prob", -1), 1.0);  // hellinger = choice #1
    EXPECT_EQ(r.loss_params.n, ghm_param_spec_count(ghm_loss_find("ghm")->params));
}

TEST(ConfigValid, NullSectionsAndCommentsAreFine)
{
    const char *yaml = "# comment\nname: t   # trailing\ndataset:\n  name: synthetic\n  path:\nbackbone: {name: convnet}\n"
                       "train:\neval:\nlosses:\n  - name: ghm\n    params:\n";
    Loaded L(yaml);
    ASSERT_EQ(L.rc, 0) << L.err.msg;
    EXPECT_EQ(L.e.n_runs, 1);
    EXPECT_STREQ(L.e.runs[0].dataset_path, "");
    EXPECT_EQ(L.e.runs[0].data.path, nullptr);
}

TEST(ConfigValid, AnchorsAndAliases)
{
    const char *yaml = "name: t\ndataset: {name: synthetic}\nbackbone: {name: mlp}\n"
                       "losses:\n  - name: ghm\n    params: &p {tau: 0.3}\n  - name: ghm\n    params: *p\n"
                       "    sweep: {alpha: [0.1]}\n";
    Loaded L(yaml);
    ASSERT_EQ(L.rc, 0) << L.err.msg;
    ASSERT_EQ(L.e.n_runs, 2);
    EXPECT_EQ(ghm_params_get(&L.e.runs[1].loss_params, "tau", -1), 0.3);
}

TEST(ConfigValid, SyntheticKeysAndSweepOverEnumsAndBools)
{
    const char *yaml = R"(name: t
dataset: {name: synthetic, classes: 6, train_per_class: 20, test_per_class: 10, image_size: 16}
backbone: {name: mlp}
losses:
  - name: ghm
    sweep: {prob: [js, hellinger]}
sweep:
  backbone.normalize: [true, false]
  train.optimizer.name: [adam, adamw]
)";
    Loaded L(yaml);
    ASSERT_EQ(L.rc, 0) << L.err.msg;
    ASSERT_EQ(L.e.n_runs, 8);
    EXPECT_EQ(L.e.runs[0].data.classes, 6);
    EXPECT_EQ(L.e.runs[0].data.image_size, 16);
    // last run: hellinger, normalize false, adamw
    const ghm_run_spec &r = L.e.runs[7];
    ASSERT_EQ(r.n_swept, 3);
    EXPECT_STREQ(r.swept_name[0], "prob");
    EXPECT_STREQ(r.swept_text[0], "hellinger");
    EXPECT_EQ(r.swept_value[0], 1.0);
    EXPECT_STREQ(r.swept_name[1], "backbone.normalize");
    EXPECT_STREQ(r.swept_text[1], "false");
    EXPECT_EQ(r.swept_value[1], 0.0);
    EXPECT_EQ(r.normalize, 0);
    EXPECT_STREQ(r.swept_name[2], "train.optimizer.name");
    EXPECT_EQ(r.swept_value[2], (double)GHM_OPT_ADAMW);
    EXPECT_EQ(r.optim.kind, GHM_OPT_ADAMW);
}

TEST(ConfigValid, EveryRegisteredLossResolves)
{
    // each registered loss with no params gives a run whose params hold every spec entry
    for (int i = 0; i < ghm_loss_count(); i++) {
        const ghm_loss_ops *lo = ghm_loss_at(i);
        SCOPED_TRACE(lo->name);
        std::string yaml = std::string("name: t\ndataset: {name: synthetic}\nbackbone: {name: convnet}\nlosses:\n  - name: ") +
                           lo->name + "\n";
        Loaded L(yaml);
        ASSERT_EQ(L.rc, 0) << L.err.msg;
        EXPECT_EQ(L.e.runs[0].loss_params.n, ghm_param_spec_count(lo->params));
    }
}

TEST(ConfigValid, LoadFromFile)
{
    char path[] = "/tmp/ghm_cfg_testXXXXXX";
    int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    const char *yaml = "name: f\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses: [{name: contrastive}]\n";
    FILE *f = fdopen(fd, "w");
    fputs(yaml, f);
    fclose(f);
    ghm_experiment e;
    ghm_error err;
    ASSERT_EQ(ghm_experiment_load(path, &e, &err), 0) << err.msg;
    EXPECT_STREQ(e.file, path);
    EXPECT_EQ(e.n_runs, 1);
    ghm_experiment_free(&e);
    ghm_experiment_free(&e);  // idempotent

    // an error names the file
    f = fopen(path, "w");
    fputs("name: f\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses: [{name: nope}]\n", f);
    fclose(f);
    EXPECT_EQ(ghm_experiment_load(path, &e, &err), GHM_EINPUT);
    EXPECT_EQ(std::string(err.msg).rfind(std::string(path) + ":4:17: ", 0), 0u) << err.msg;
    remove(path);
}

TEST(ConfigValid, RepoExperimentFilesLoad)
{
    // every committed experiment file must stay valid
    std::vector<std::string> files;
    for (const char *dir : {GHM_SOURCE_DIR "/experiments", GHM_SOURCE_DIR "/experiments/examples"}) {
        DIR *d = opendir(dir);
        if (!d) continue;
        while (struct dirent *ent = readdir(d)) {
            std::string n = ent->d_name;
            if (n.size() > 5 && n.compare(n.size() - 5, 5, ".yaml") == 0) files.push_back(std::string(dir) + "/" + n);
        }
        closedir(d);
    }
    ASSERT_FALSE(files.empty());
    for (const std::string &p : files) {
        SCOPED_TRACE(p);
        ghm_experiment e;
        ghm_error err;
        ASSERT_EQ(ghm_experiment_load(p.c_str(), &e, &err), 0) << err.msg;
        ASSERT_GT(e.n_runs, 0);
        // a consistent plan: n_runs = seeds x settings, indices in order, distinct ids
        // (a search file plans its trials first: seeds belong to its final runs, tests/test_search.cc)
        if (!e.search) {
            EXPECT_EQ(e.n_runs % e.n_seeds, 0);
        }
        std::set<std::string> ids;
        for (int i = 0; i < e.n_runs; i++) {
            if (e.search) {
                EXPECT_TRUE(e.runs[i].role == GHM_ROLE_TRIAL || e.runs[i].role == GHM_ROLE_FINAL);
                EXPECT_LT(i > 0 ? e.runs[i - 1].index : -1, e.runs[i].index);
                EXPECT_STREQ(e.runs[i].experiment, e.name);
                ids.insert(e.runs[i].run_id);
                continue;
            }
            EXPECT_EQ(e.runs[i].index, i);
            EXPECT_EQ(e.runs[i].seed, e.seeds[i % e.n_seeds]);
            EXPECT_STREQ(e.runs[i].experiment, e.name);
            ids.insert(e.runs[i].run_id);
        }
        EXPECT_EQ((int)ids.size(), e.n_runs);
        ghm_experiment_free(&e);
    }
}

// Robustness: every prefix of a valid file, and files with one byte replaced,
// either load or fail with GHM_EINPUT and a "file:line:column: " message; never
// crash or leak (run under the sanitizer build).
TEST(ConfigBad, TruncatedAndCorruptedFiles)
{
    const std::string full = R"(name: trunc
seeds: [0, 1]
dataset: {name: synthetic, classes: 6, val_fraction: 0.1}
backbone: {name: mlp, hidden1: 32}
train:
  epochs: 2
  optimizer: {name: sgd, lr: 0.01, momentum: 0.5}
eval: {recall_at: [1, 4], metrics: [recall, nmi]}
losses:
  - name: ghm
    params: {prob: hellinger}
    sweep: {alpha: [0, 1]}
  - name: triplet
sweep: {train.batch_size: [16, 32]}
)";
    auto check = [](const std::string &yaml) {
        Loaded L(yaml);
        if (L.rc == 0) {
            ASSERT_GT(L.e.n_runs, 0);
            // what loads is a whole plan: each id is the hash of its run's values
            for (int i = 0; i < L.e.n_runs; i++) {
                ghm_run_spec r = L.e.runs[i];
                ghm_run_spec_compute_id(&r);
                EXPECT_STREQ(r.run_id, L.e.runs[i].run_id);
                EXPECT_EQ(L.e.runs[i].index, i);
            }
            return;
        }
        EXPECT_EQ(L.rc, GHM_EINPUT) << L.err.msg;
        int line = 0, col = 0;
        EXPECT_EQ(sscanf(L.err.msg, "t.yaml:%d:%d: ", &line, &col), 2) << L.err.msg;
        EXPECT_GE(line, 1);
        EXPECT_GE(col, 1);
        EXPECT_EQ(L.e.runs, nullptr);
    };
    {
        Loaded L(full);
        ASSERT_EQ(L.rc, 0) << L.err.msg;
        EXPECT_EQ(L.e.n_runs, 3 * 2 * 2);
    }
    for (size_t n = 0; n < full.size(); n++) check(full.substr(0, n));
    const char repl[] = {'[', ']', '{', '}', ':', '-', ' ', 'x', '&', '*', '"', '\t', '#', '1'};
    for (size_t i = 0; i < full.size(); i += 3)
        for (char c : repl) {
            std::string s = full;
            s[i] = c;
            check(s);
        }
}
