// What the plan and the data decide is refused before anything runs, as exit 2
// naming file:line:column (runner/inputs.c), instead of one failure record per
// run that a plain rerun then skips: folds the images per class cannot fill,
// class-disjoint folds leaving too few training classes for the batch, a batch
// larger than the data, a missing data set, a dataset.path that does not exist.
#include <gtest/gtest.h>

#include <string>
#include <sys/stat.h>
#include <unistd.h>

extern "C" {
#include "experiment/experiment.h"
#include "runner/inputs.h"
}

#include "test_util.h"

namespace {

using ghm_test::exists;
using ghm_test::read_all;
using ghm_test::rmrf;
using ghm_test::shell;
using ghm_test::tmpdir;

bool has(const std::string &hay, const std::string &needle) { return hay.find(needle) != std::string::npos; }

// The check's message for a file (GHM_EINPUT expected), "" when it passes.
std::string check(const std::string &yaml, const char *data_root = nullptr)
{
    ghm_experiment e;
    ghm_error err;
    ghm_error_clear(&err);
    int rc = ghm_experiment_load_string(yaml.c_str(), "x.yaml", &e, &err);
    EXPECT_EQ(rc, 0) << err.msg;
    if (rc) return "load failed: " + std::string(err.msg);
    rc = ghm_experiment_check_inputs(&e, nullptr, 0, nullptr, data_root, &err);
    ghm_experiment_free(&e);
    if (rc == 0) return "";
    EXPECT_EQ(rc, GHM_EINPUT) << err.msg;
    return err.msg;
}

const std::string kModel = "backbone: {name: mlp, embedding_dim: 4, hidden1: 16, hidden2: 8}\n";

std::string search_file(const std::string &dataset, int folds, const std::string &train)
{
    return "name: s\nseeds: [0]\n" + dataset + kModel + train +
           "search: {trials: 1}\n"
           "protocol: {folds: " +
           std::to_string(folds) +
           "}\n"
           "final: {reproductions: 1}\n"
           "losses:\n"
           "  - name: contrastive\n"
           "    search: {neg_margin: {min: 0.5, max: 1.5}}\n";
}

} // namespace

TEST(RunUpfront, StandardFoldsMoreThanImagesPerClass)
{
    const std::string ds = "dataset: {name: synthetic, classes: 4, train_per_class: 30, test_per_class: 6, image_size: 8}\n";
    const std::string tr = "train: {epochs: 1, steps_per_epoch: 1, batch_size: 8, m_per_class: 2}\n";
    // 50 folds of 30 images per class: some folds hold none of a class (160 of 200 runs failed at run time)
    std::string m = check(search_file(ds, 50, tr));
    EXPECT_TRUE(has(m, "x.yaml:7:19: protocol.folds = 50: class 0 ('class0') of dataset 'synthetic' has only 30 "
                       "training image(s)"))
        << m;
    EXPECT_TRUE(has(m, "use at most 30 folds")) << m;
    // 10 folds: 3 images of each class per fold, 12 validation items: Recall@8 can be computed
    EXPECT_EQ(check(search_file(ds, 10, tr)), "");
    // 30 folds: one image per class per fold, 4 validation items cannot give Recall@8 (the default
    // recall_at: the mark is the top of the file, which has no eval: section)
    m = check(search_file(ds, 30, tr));
    EXPECT_TRUE(has(m, "x.yaml:1:1: eval.recall_at: K = 8 needs more than 8 items, but the validation part of this run "
                       "holds 4 (one fold)"))
        << m;
}

TEST(RunUpfront, SearchTestPartTooSmallForTheFinalRuns)
{
    // the trials never look at the test set, but the final runs will: 4 test images cannot give Recall@8
    const std::string ds = "dataset: {name: synthetic, classes: 4, train_per_class: 30, test_per_class: 1, image_size: 8}\n";
    std::string m = check(search_file(ds, 2, "train: {epochs: 1, steps_per_epoch: 1, batch_size: 8, m_per_class: 2}\n"));
    EXPECT_TRUE(has(m, "eval.recall_at: K = 8 needs more than 8 items, but the test part of this run holds 4")) << m;
}

TEST(RunUpfront, ClassDisjointFoldsLeaveTooFewClassesForTheBatch)
{
    // 12 classes, split classes: 6 training classes, 2 folds of 3: 3 classes train, the batch needs 32 / 4 = 8
    const std::string ds = "dataset: {name: synthetic, classes: 12, train_per_class: 30, test_per_class: 6, "
                           "image_size: 8, split: classes}\n";
    std::string m = check(search_file(ds, 2, "train: {epochs: 1, steps_per_epoch: 1, batch_size: 32, m_per_class: 4}\n"));
    EXPECT_TRUE(has(m, "x.yaml:5:52: dataset 'synthetic' (3 training classes once a fold of classes is held out): "
                       "sampler: batch_size 32 with m_per_class 4 needs 8 classes"))
        << m;
    EXPECT_EQ(check(search_file(ds, 2, "train: {epochs: 1, steps_per_epoch: 1, batch_size: 6, m_per_class: 2}\n")), "");
}

TEST(RunUpfront, BatchLargerThanTheData)
{
    std::string m = check("name: b\n"
                          "dataset: {name: synthetic, classes: 4, train_per_class: 10, test_per_class: 6, image_size: 8}\n" +
                          kModel +
                          "train: {epochs: 1,\n"
                          "        batch_size: 64, m_per_class: 16}\n"
                          "losses:\n  - name: contrastive\n");
    EXPECT_TRUE(has(m, "x.yaml:5:21: train.batch_size = 64 is larger than the 40 training images of this run")) << m;
    // a sweep over batch_size: the mark is the sweep's key
    m = check("name: b\n"
              "dataset: {name: synthetic, classes: 4, train_per_class: 10, test_per_class: 6, image_size: 8}\n" +
              kModel + "train: {epochs: 1, m_per_class: 2}\nsweep: {train.batch_size: [8, 48]}\n" +
              "losses:\n  - name: contrastive\n");
    EXPECT_TRUE(has(m, "x.yaml:5:9: train.batch_size = 48 is larger than the 40 training images")) << m;
}

TEST(RunUpfront, MissingDataSetAndMissingPath)
{
    std::string root = tmpdir();
    // a dataset.path that does not exist was silently replaced by the search order
    std::string m = check("name: p\ndataset: {name: fashion-mnist, path: " + root + "/nowhere}\n" + kModel +
                              "losses:\n  - name: contrastive\n",
                          root.c_str());
    EXPECT_TRUE(has(m, "x.yaml:2:38: dataset.path '" + root + "/nowhere' does not exist")) << m;
    // ... also when the loader is called directly
    ghm_dataset_opts o;
    ghm_dataset_opts_default(&o);
    o.name = "fashion-mnist";
    std::string nowhere = root + "/nowhere";
    o.path = nowhere.c_str();
    ghm_dataset d;
    ghm_error err;
    EXPECT_EQ(ghm_dataset_load(&o, &d, &err), GHM_EINPUT);
    EXPECT_TRUE(has(err.msg, "dataset.path '" + nowhere + "' does not exist")) << err.msg;
    // a data set that is not there: the loader's message (with how to get it), at dataset.name
    if (!exists("/usr/share/datasets/cifar10") && !getenv("GHM_DATA")) {
        m = check("name: c\ndataset: {name: cifar10}\n" + kModel + "losses:\n  - name: contrastive\n", root.c_str());
        EXPECT_TRUE(has(m, "x.yaml:2:17: dataset 'cifar10' not found")) << m;
        EXPECT_TRUE(has(m, "To get it")) << m;
    }
    rmrf(root);
}

TEST(RunUpfront, GhmRunExitsTwoOnceAndRunsNothing)
{
    if (!exists(GHM_BINARY)) GTEST_SKIP() << "ghm binary not built";
    std::string t = tmpdir();
    std::string yaml = "name: f50\nseeds: [0]\n"
                       "dataset: {name: synthetic, classes: 4, train_per_class: 30, test_per_class: 6, image_size: 8}\n" +
                       kModel + "train: {epochs: 1, steps_per_epoch: 1, batch_size: 8, m_per_class: 2}\n" +
                       "search: {trials: 1}\nprotocol: {folds: 50}\nfinal: {reproductions: 1}\n"
                       "losses:\n  - name: contrastive\n    search: {neg_margin: {min: 0.5, max: 1.5}}\n";
    FILE *f = fopen((t + "/f50.yaml").c_str(), "w");
    ASSERT_NE(f, nullptr);
    fputs(yaml.c_str(), f);
    fclose(f);
    int rc = shell(std::string(GHM_BINARY) + " run " + t + "/f50.yaml --out " + t + "/res --threads 1 >" + t +
                   "/out 2>" + t + "/err");
    EXPECT_EQ(rc, 2);
    std::string e = read_all(t + "/err");
    EXPECT_TRUE(has(e, "f50.yaml:7:19: protocol.folds = 50")) << e;
    EXPECT_FALSE(exists(t + "/res/f50/runs")) << "runs were started";
    rmrf(t);
}

TEST(RunUpfront, TrainingMemoryEstimate)
{
    ghm_experiment e;
    ghm_error err;
    ghm_error_clear(&err);
    // mlp: counted from its sizes. 1x16x16 inputs (256), hidden 32 and 16, embedding 4, batch 8:
    // parameters 256*32+32 + 32*16+16 + 16*4+4 = 8820, times weights, gradients and two moments = 4 x 4 x 8820
    // bytes; per image 2 x 256 inputs and 2 x (32 + 16 + 4) outputs and gradients, 4 bytes each
    std::string y = "name: m\ndataset: {name: synthetic, classes: 4, image_size: 16}\n"
                    "backbone: {name: mlp, embedding_dim: 4, hidden1: 32, hidden2: 16}\n"
                    "train: {batch_size: 8, m_per_class: 2}\nlosses:\n  - name: contrastive\n";
    ASSERT_EQ(ghm_experiment_load_string(y.c_str(), "m.yaml", &e, &err), 0) << err.msg;
    double bytes = 0;
    ASSERT_EQ(ghm_run_memory_estimate(&e.runs[0], 1, 16, 16, &bytes, &err), 0) << err.msg;
    EXPECT_DOUBLE_EQ(bytes, 16.0 * 8820 + 8 * (2 * 256 + 2 * 52) * 4.0);
    ghm_experiment_free(&e);

    // resnet: measured from its allocations; grows with the batch
    y = "name: r\ndataset: {name: synthetic, classes: 4, image_size: 32}\n"
        "backbone: {name: resnet, embedding_dim: 16}\n"
        "train: {batch_size: 16, m_per_class: 4}\nlosses:\n  - name: contrastive\n";
    ASSERT_EQ(ghm_experiment_load_string(y.c_str(), "r.yaml", &e, &err), 0) << err.msg;
    double b16 = 0, b64 = 0;
    ASSERT_EQ(ghm_run_memory_estimate(&e.runs[0], 1, 32, 32, &b16, &err), 0) << err.msg;
    e.runs[0].batch_size = 64;
    ASSERT_EQ(ghm_run_memory_estimate(&e.runs[0], 1, 32, 32, &b64, &err), 0) << err.msg;
    ghm_experiment_free(&e);
    if (b16 < 0) GTEST_SKIP() << "the allocator cannot be asked (not glibc)";
    EXPECT_GT(b16, 64.0 * 32 * 32 * 4); // more than its input batch
    EXPECT_GT(b64, b16);
    EXPECT_LT(b64, 4.0 * (1 << 30));
}

TEST(RunUpfront, TrainingThatCannotFitInMemory)
{
    // an mlp whose first layer alone is 65536 x 65536 weights: about 64 GiB with its gradients and moments
    double have = ghm_machine_memory_bytes();
    if (have <= 0 || have > 60.0 * (1 << 30)) GTEST_SKIP() << "this machine has " << have / (1 << 30) << " GiB";
    std::string m = check("name: m\n"
                          "dataset: {name: synthetic, classes: 4, train_per_class: 4, test_per_class: 3, "
                          "image_size: 256}\n"
                          "backbone: {name: mlp, embedding_dim: 64, hidden1: 65536}\n"
                          "train: {epochs: 1, batch_size: 16, m_per_class: 4}\n"
                          "losses:\n  - name: contrastive\n");
    EXPECT_TRUE(has(m, "x.yaml:3:18: backbone 'mlp' on 1x256x256 images with train.batch_size = 16 needs about 64.3 "
                       "GiB to train (estimated), more than the"))
        << m;
}
