// The built binary (GHM_BINARY) on inputs that used to be read without end or
// mis-handled: a record.json linked to /dev/zero in `ghm report`, `report
// --combine --out ""`, `data info glyphs` speaking of an experiment.
#include <gtest/gtest.h>

#include <string>
#include <unistd.h>

#include "test_util.h"

namespace {

using ghm_test::exists;
using ghm_test::read_all;
using ghm_test::rmrf;
using ghm_test::shell;
using ghm_test::tmpdir;

bool has(const std::string &hay, const std::string &needle) { return hay.find(needle) != std::string::npos; }

void write_text(const std::string &p, const std::string &s)
{
    FILE *f = fopen(p.c_str(), "wb");
    ASSERT_NE(f, nullptr) << p;
    fwrite(s.data(), 1, s.size(), f);
    fclose(f);
}

// `cd DIR && timeout 60 ghm ARGS`, stdout and stderr to DIR/.out, DIR/.err; the exit status
int ghm_in(const std::string &dir, const std::string &args)
{
    return shell("cd '" + dir + "' && timeout 60 " + std::string(GHM_BINARY) + " " + args + " >.out 2>.err </dev/null");
}

// One tiny finished experiment shared by the tests of this file (about 2 s).
class CliInputs : public ::testing::Test {
  protected:
    static std::string dir_;
    static void SetUpTestSuite()
    {
        if (!exists(GHM_BINARY)) return;
        dir_ = tmpdir();
        write_text(dir_ + "/tiny.yaml",
                   "name: tiny\nseeds: [0]\n"
                   "dataset: {name: synthetic, classes: 4, train_per_class: 12, test_per_class: 6, image_size: 8, "
                   "val_fraction: 0.25}\n"
                   "backbone: {name: mlp, embedding_dim: 4, hidden1: 16, hidden2: 8}\n"
                   "train: {epochs: 1, steps_per_epoch: 2, batch_size: 8, m_per_class: 2}\n"
                   "eval: {recall_at: [1, 2]}\n"
                   "losses:\n  - name: contrastive\n  - name: triplet\n");
        int rc = ghm_in(dir_, "run tiny.yaml --out res --threads 1");
        EXPECT_EQ(rc, 0) << read_all(dir_ + "/.err");
    }
    static void TearDownTestSuite()
    {
        if (!dir_.empty()) rmrf(dir_);
    }
    void SetUp() override
    {
        if (!exists(GHM_BINARY)) GTEST_SKIP() << "ghm binary not built";
    }
};
std::string CliInputs::dir_;

} // namespace

TEST_F(CliInputs, CombineWithAnEmptyOutPrefixExitsTwoAndWritesNothing)
{
    std::string cw = dir_ + "/cw";
    ASSERT_EQ(shell("mkdir -p '" + cw + "'"), 0);
    EXPECT_EQ(ghm_in(cw, "report --combine ../res/tiny --out ''"), 2);
    EXPECT_TRUE(has(read_all(cw + "/.err"), "--out needs a file prefix")) << read_all(cw + "/.err");
    EXPECT_FALSE(exists(cw + "/.md"));
    EXPECT_FALSE(exists(cw + "/.tex"));
    EXPECT_EQ(ghm_in(cw, "report --combine ../res/tiny --out sub/"), 2);
    EXPECT_FALSE(exists(cw + "/sub/.md"));
    // a real prefix works
    EXPECT_EQ(ghm_in(cw, "report --combine ../res/tiny --out both"), 0) << read_all(cw + "/.err");
    EXPECT_TRUE(exists(cw + "/both.md"));
}

TEST_F(CliInputs, RecordLinkedToDevZeroIsNamedAndSkipped)
{
    // a copy of the results, one record replaced by a link to /dev/zero: the report used to read it forever
    std::string copy = dir_ + "/copy";
    ASSERT_EQ(shell("rm -rf '" + copy + "' && cp -r '" + dir_ + "/res/tiny' '" + copy + "'"), 0);
    std::string rec = copy + "/runs/$(ls '" + copy + "/runs' | head -1)/record.json";
    ASSERT_EQ(shell("rm " + rec + " && ln -s /dev/zero " + rec), 0);
    int rc = ghm_in(dir_, "report copy --no-plots");
    std::string err = read_all(dir_ + "/.err");
    EXPECT_NE(rc, 124) << "timed out reading /dev/zero";
    EXPECT_EQ(rc, 0) << err;
    EXPECT_TRUE(has(err, "/record.json: is a character device, not a regular file")) << err;
    // an experiment.yaml that is a FIFO: not waited on, named, the records still reported
    ASSERT_EQ(shell("rm '" + copy + "/experiment.yaml' && mkfifo '" + copy + "/experiment.yaml'"), 0);
    rc = ghm_in(dir_, "report copy --no-plots");
    err = read_all(dir_ + "/.err");
    EXPECT_NE(rc, 124) << "blocked on a FIFO";
    EXPECT_TRUE(has(err, "experiment.yaml: is a FIFO")) << err;
}

TEST_F(CliInputs, DataInfoGlyphsTakesTheRenderedSize)
{
    const char *font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
    if (!exists(font)) GTEST_SKIP() << font << " missing (Debian package fonts-dejavu-core)";
    write_text(dir_ + "/fonts.tsv", std::string("fonts-dejavu-core\t1\t") + font + "\n");
    ASSERT_EQ(ghm_in(dir_, "data build-glyphs fonts.tsv gl --image-size 16"), 0) << read_all(dir_ + "/.err");
    // no experiment involved: the set's own size is used (it said "the experiment asks for image_size 28")
    EXPECT_EQ(ghm_in(dir_, "data info glyphs --path gl"), 0) << read_all(dir_ + "/.err");
    EXPECT_TRUE(has(read_all(dir_ + "/.out"), "1x16x16")) << read_all(dir_ + "/.out");
    // a size asked for and not rendered: exit 2, and no experiment in the message
    EXPECT_EQ(ghm_in(dir_, "data info glyphs --path gl --image-size 20"), 2);
    std::string err = read_all(dir_ + "/.err");
    EXPECT_TRUE(has(err, "holds 16x16 glyphs, not the image_size 20 asked for")) << err;
    EXPECT_FALSE(has(err, "experiment")) << err;
}
