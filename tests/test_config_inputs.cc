// Experiment-file checks that used to let a file through or point nowhere:
// search choices that are the same setting after parsing ([0.5, 0.50],
// [true, yes]), a search too large for the plan (search.trials: 10000) with
// its line and column, and synthetic sizes beyond the loader's limit.
#include <gtest/gtest.h>

#include <string>

extern "C" {
#include "experiment/experiment.h"
}

namespace {

std::string load_error(const std::string &yaml)
{
    ghm_experiment e;
    ghm_error err;
    ghm_error_clear(&err);
    int rc = ghm_experiment_load_string(yaml.c_str(), "t.yaml", &e, &err);
    if (rc == 0) {
        ghm_experiment_free(&e);
        return "";
    }
    EXPECT_EQ(rc, GHM_EINPUT) << err.msg;
    return err.msg;
}

const std::string kHead = "name: s\n"
                          "dataset: {name: synthetic, classes: 4}\n"
                          "backbone: {name: mlp}\n"
                          "search: {trials: 2}\n"
                          "protocol: {folds: 2}\n"
                          "losses:\n";

} // namespace

TEST(ConfigInputs, EquivalentSearchChoicesAreRefused)
{
    struct Case {
        std::string loss, want;
    } cases[] = {
        {"  - name: triplet\n    search: {margin: {choices: [0.5, 0.50]}}\n",
         "t.yaml:8:38: loss 'triplet' search: choice '0.50' of 'margin' is the same setting as choice '0.5'"},
        {"  - name: triplet\n    search: {margin: {choices: [0.1, 0.5, 5e-1]}}\n",
         "t.yaml:8:43: loss 'triplet' search: choice '5e-1' of 'margin' is the same setting as choice '0.5'"},
        {"  - name: triplet\n    search: {mining: {choices: [all, semihard, hard, semihard ]}}\n",
         "duplicate choice 'semihard'"},
    };
    for (const Case &c : cases) {
        std::string msg = load_error(kHead + c.loss);
        EXPECT_NE(msg.find(c.want), std::string::npos) << c.loss << "\nmessage: " << msg;
        EXPECT_EQ(msg.rfind("t.yaml:8:", 0), 0u) << msg;
    }
    // a boolean searched key: true and yes are one value
    std::string msg = load_error("name: s\n"
                                 "dataset: {name: synthetic, classes: 4}\n"
                                 "backbone: {name: mlp}\n"
                                 "train: {optimizer: {name: sgd}}\n"
                                 "search: {trials: 2}\n"
                                 "protocol: {folds: 2}\n"
                                 "losses:\n"
                                 "  - name: triplet\n"
                                 "    search: {train.optimizer.nesterov: {choices: [true, yes]}}\n");
    EXPECT_EQ(msg.rfind("t.yaml:9:57: loss 'triplet' search: choice 'yes' of 'train.optimizer.nesterov' is the same "
                        "setting as choice 'true'",
                        0),
              0u)
        << msg;
    // distinct values pass
    EXPECT_EQ(load_error(kHead + "  - name: triplet\n    search: {margin: {choices: [0.1, 0.5]}}\n"), "");
}

TEST(ConfigInputs, TooManyTrialsNamesLineAndColumn)
{
    std::string msg = load_error("name: s\n"
                                 "dataset: {name: synthetic, classes: 4}\n"
                                 "backbone: {name: mlp}\n"
                                 "search: {trials: 10000}\n"
                                 "protocol: {folds: 4}\n"
                                 "losses:\n  - name: triplet\n    search: {margin: {min: 0.1, max: 1}}\n");
    EXPECT_EQ(msg.rfind("t.yaml:4:18: search.trials = 10000: the search would have 40012 runs", 0), 0u) << msg;
}

TEST(ConfigInputs, SyntheticSizesWithinTheLoadersLimit)
{
    // the loader accepts at most 100000 images per class; the file check says so at the value
    std::string msg = load_error("name: s\n"
                                 "dataset: {name: synthetic, classes: 4, train_per_class: 100001}\n"
                                 "backbone: {name: mlp}\nlosses:\n  - name: triplet\n");
    EXPECT_EQ(msg.rfind("t.yaml:2:57: dataset.train_per_class", 0), 0u) << msg;
    EXPECT_NE(msg.find("[1, 100000]"), std::string::npos) << msg;
    msg = load_error("name: s\n"
                     "dataset: {name: synthetic, classes: 4, test_per_class: 200000}\n"
                     "backbone: {name: mlp}\nlosses:\n  - name: triplet\n");
    EXPECT_NE(msg.find("dataset.test_per_class"), std::string::npos) << msg;
}
