// Hostile inputs that used to get through or crash late: .npy sizes checked
// before allocation, IDX gzip trailer and trailing garbage, `ghm loss` labels
// and non-finite embeddings, `ghm run --out` checks, YAML size and depth caps,
// -0.0 canonicalised, image_size range checked at load.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern "C" {
#include "core/npy.h"
#include "datasets/dataset.h"
#include "experiment/experiment.h"
}

#include "test_util.h"

namespace {

using ghm_test::tmpdir;
using ghm_test::rmrf;
using ghm_test::exists;
using ghm_test::read_all;

void write_file(const std::string &p, const std::string &s)
{
    std::ofstream f(p, std::ios::binary);
    f << s;
}

int exit_status(const std::string &cmd)
{
    int st = system(cmd.c_str());
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::string npy_v1(const std::string &dict, const std::string &payload)
{
    std::string h = dict;
    while ((10 + h.size() + 1) % 64) h += ' ';
    h += '\n';
    std::string s("\x93NUMPY\x01\x00", 8);
    s += (char)(h.size() & 0xff);
    s += (char)(h.size() >> 8);
    return s + h + payload;
}

const char *kTinyYaml = "name: tiny\n"
                        "seeds: [0]\n"
                        "dataset: {name: synthetic, classes: 4, train_per_class: 12, test_per_class: 6, image_size: 8, "
                        "val_fraction: 0.25}\n"
                        "backbone: {name: mlp, embedding_dim: 4}\n"
                        "train: {epochs: 1, steps_per_epoch: 1, batch_size: 8, m_per_class: 2}\n"
                        "losses:\n"
                        "  - name: triplet\n";

} // namespace

// ---- .npy ----

TEST(NpyInput, DeclaredSizeIsCheckedAgainstTheFileBeforeAllocating)
{
    std::string d = tmpdir(), p = d + "/huge.npy";
    // 128 bytes declaring 2^40 float32 elements (4 TiB)
    write_file(p, npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (1048576, 1048576), }", ""));
    ghm_npy a;
    ghm_error e;
    EXPECT_EQ(ghm_npy_read(p.c_str(), &a, &e), GHM_EINPUT);
    EXPECT_NE(std::string(e.msg).find(p), std::string::npos) << e.msg;
    EXPECT_NE(std::string(e.msg).find("truncated"), std::string::npos) << e.msg;
    float *x = nullptr;
    int n, dim;
    EXPECT_EQ(ghm_npy_read_f32_2d(p.c_str(), &x, &n, &dim, &e), GHM_EINPUT);
    // data longer than declared: caught before reading
    write_file(p, npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }", std::string(12, '\0')));
    EXPECT_EQ(ghm_npy_read(p.c_str(), &a, &e), GHM_EINPUT);
    EXPECT_NE(std::string(e.msg).find("trailing"), std::string::npos) << e.msg;
    // exact: fine
    write_file(p, npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", std::string(8, '\0')));
    ASSERT_EQ(ghm_npy_read(p.c_str(), &a, &e), 0) << e.msg;
    ghm_npy_free(&a);
    // the CLI: exit 2 naming the file
    std::string bin = GHM_BINARY;
    if (exists(bin)) {
        write_file(p, npy_v1("{'descr': '<f4', 'fortran_order': False, 'shape': (1048576, 1048576), }", ""));
        write_file(d + "/l.npy", npy_v1("{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }",
                                        std::string(16, '\0')));
        EXPECT_EQ(exit_status(bin + " eval --embeddings " + p + " --labels " + d + "/l.npy >" + d + "/log 2>&1"), 2);
        EXPECT_NE(read_all(d + "/log").find(p), std::string::npos) << read_all(d + "/log");
    }
    rmrf(d);
}

// ---- IDX gzip ----

TEST(IdxInput, GzipTrailerAndTrailingGarbageAreChecked)
{
    std::string d = tmpdir(), gz = d + "/x.idx.gz";
    std::vector<uint8_t> img(3 * 4 * 4);
    for (size_t i = 0; i < img.size(); i++) img[i] = (uint8_t)(i * 7);
    int dims[3] = {3, 4, 4};
    ghm_error e;
    ASSERT_EQ(ghm_idx_write(gz.c_str(), 3, dims, img.data(), &e), 0) << e.msg;
    std::string good = read_all(gz);
    ASSERT_GT(good.size(), 18u);
    int nd, dd[4];
    uint8_t *data = nullptr;
    ASSERT_EQ(ghm_idx_read(gz.c_str(), &nd, dd, &data, &e), 0) << e.msg;
    EXPECT_EQ(memcmp(data, img.data(), img.size()), 0);
    free(data);

    struct Case {
        const char *what;
        std::string bytes;
        const char *expect;
    };
    std::string crc = good, len = good;
    crc[good.size() - 8] ^= 0x55; // CRC-32 of the data
    len[good.size() - 2] ^= 0x01; // ISIZE
    std::vector<Case> cases = {
        {"damaged CRC", crc, "corrupt gzip"},
        {"damaged length", len, "corrupt gzip"},
        {"missing trailer", good.substr(0, good.size() - 8), "ends early"},
        {"half a trailer", good.substr(0, good.size() - 3), "ends early"},
        {"trailing garbage", good + "garbage!", "trailing"},
        {"trailing zero", good + std::string(1, '\0'), "trailing"},
        {"a broken second member", good + std::string("\x1f\x8b\x08", 3), "gzip"},
    };
    for (const Case &c : cases) {
        write_file(gz, c.bytes);
        data = nullptr;
        EXPECT_EQ(ghm_idx_read(gz.c_str(), &nd, dd, &data, &e), GHM_EINPUT) << c.what;
        EXPECT_EQ(data, nullptr) << c.what;
        EXPECT_NE(std::string(e.msg).find(gz), std::string::npos) << c.what << ": " << e.msg;
        EXPECT_NE(std::string(e.msg).find(c.expect), std::string::npos) << c.what << ": " << e.msg;
    }
    // two gzip members holding one IDX file are a valid gzip file
    std::string raw = d + "/x.idx";
    ASSERT_EQ(ghm_idx_write(raw.c_str(), 3, dims, img.data(), &e), 0) << e.msg;
    std::string rawb = read_all(raw);
    std::string a = d + "/a.gz", b = d + "/b.gz";
    write_file(d + "/a", rawb.substr(0, 10));
    write_file(d + "/b", rawb.substr(10));
    ASSERT_EQ(system(("gzip -c '" + d + "/a' > '" + a + "' && gzip -c '" + d + "/b' > '" + b + "'").c_str()), 0);
    write_file(gz, read_all(a) + read_all(b));
    ASSERT_EQ(ghm_idx_read(gz.c_str(), &nd, dd, &data, &e), 0) << e.msg;
    EXPECT_EQ(memcmp(data, img.data(), img.size()), 0);
    free(data);
    rmrf(d);
}

// ---- ghm loss ----

class LossCli : public ::testing::Test {
  protected:
    void SetUp() override
    {
        bin = GHM_BINARY;
        if (!exists(bin)) GTEST_SKIP() << "ghm binary not built";
        d = tmpdir();
    }
    void TearDown() override
    {
        if (!d.empty()) rmrf(d);
    }
    void write_emb(const std::vector<float> &x, int n, int dim)
    {
        size_t shape[2] = {(size_t)n, (size_t)dim};
        ghm_error e;
        ASSERT_EQ(ghm_npy_write_f32((d + "/e.npy").c_str(), x.data(), 2, shape, &e), 0) << e.msg;
    }
    void write_labels(const std::vector<int32_t> &l)
    {
        size_t shape[1] = {l.size()};
        ghm_error e;
        ASSERT_EQ(ghm_npy_write_i32((d + "/l.npy").c_str(), l.data(), 1, shape, &e), 0) << e.msg;
    }
    int run(const std::string &args)
    {
        return exit_status(bin + " loss " + args + " --embeddings " + d + "/e.npy --labels " + d + "/l.npy >" + d +
                           "/out 2>" + d + "/err");
    }
    std::string bin, d;
};

TEST_F(LossCli, HugeLabelsAreRefusedBeforeSizingAnything)
{
    std::vector<float> x = {1, 0, 0, 1, 1, 0.1f, 0.1f, 1};
    write_emb(x, 4, 2);
    write_labels({0, 1, 0, 100000000});
    EXPECT_EQ(run("proxy_anchor"), 2);
    std::string err = read_all(d + "/err");
    EXPECT_NE(err.find("l.npy"), std::string::npos) << err;
    EXPECT_NE(err.find("100000000"), std::string::npos) << err;
    write_labels({0, 1, 0, 2147483647});
    EXPECT_EQ(run("proxy_anchor"), 2);
    write_labels({0, 1, 0, 1});
    EXPECT_EQ(run("proxy_anchor --classes 100000000"), 2);
    EXPECT_EQ(run("proxy_anchor --classes 100"), 0) << read_all(d + "/err");
    write_labels({0, 1, 0, 65535}); // at the documented limit max(n, 65536): accepted
    EXPECT_EQ(run("triplet"), 0) << read_all(d + "/err");
}

TEST_F(LossCli, NonFiniteEmbeddingsAreBadInputAndJsonHasNoNan)
{
    const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
    write_labels({0, 1, 0, 1});
    write_emb(std::vector<float>(8, nan), 4, 2);
    EXPECT_EQ(run("multi_similarity"), 2);
    std::string err = read_all(d + "/err");
    EXPECT_NE(err.find("e.npy"), std::string::npos) << err;
    EXPECT_NE(err.find("row 0, column 0"), std::string::npos) << err;
    std::vector<float> x = {1, 0, 0, 1, 1, 0.1f, 0.1f, 1};
    x[5] = inf;
    write_emb(x, 4, 2);
    EXPECT_EQ(run("contrastive"), 2);
    EXPECT_NE(read_all(d + "/err").find("row 2, column 1"), std::string::npos) << read_all(d + "/err");
    // huge but finite values: whatever the check gives, the JSON line is JSON
    std::vector<float> big = {1e38f, -1e38f, 3e37f, 1e38f, -2e38f, 1e37f, 5e37f, -1e38f};
    write_emb(big, 4, 2);
    run("proxy_nca --check");
    std::string out = read_all(d + "/out");
    size_t k = out.rfind('{');
    ASSERT_NE(k, std::string::npos) << out;
    std::string json = out.substr(k);
    EXPECT_EQ(json.find("nan"), std::string::npos) << json;
    EXPECT_EQ(json.find("inf"), std::string::npos) << json;
}

// ---- ghm run --out and the experiment file ----

TEST(RunOutCli, UnusableOutputIsBadInputAndNothingIsWritten)
{
    std::string bin = GHM_BINARY;
    if (!exists(bin)) GTEST_SKIP() << "ghm binary not built";
    std::string d = tmpdir(), y = d + "/tiny.yaml";
    write_file(y, kTinyYaml);
    std::string q = " >" + d + "/log 2>&1";
    // empty: used to write under /tiny
    EXPECT_EQ(exit_status(bin + " run " + y + " --out ''" + q), 2);
    EXPECT_NE(read_all(d + "/log").find("--out"), std::string::npos) << read_all(d + "/log");
    // a directory as the experiment file
    EXPECT_EQ(exit_status(bin + " run " + d + q), 2);
    // a file in the way
    write_file(d + "/afile", "x");
    EXPECT_EQ(exit_status(bin + " run " + y + " --out " + d + "/afile" + q), 2);
    EXPECT_NE(read_all(d + "/log").find("not a directory"), std::string::npos) << read_all(d + "/log");
    EXPECT_EQ(exit_status(bin + " run " + y + " --out " + d + "/afile/sub" + q), 2);
    // too long: refused before anything is written
    std::string lng = d + "/" + std::string(200, 'a') + "/" + std::string(200, 'b') + "/" + std::string(200, 'c') +
                      "/" + std::string(200, 'd') + "/" + std::string(200, 'e');
    EXPECT_EQ(exit_status(bin + " run " + y + " --out " + lng + q), 2);
    EXPECT_NE(read_all(d + "/log").find("too long"), std::string::npos) << read_all(d + "/log");
    EXPECT_FALSE(exists(d + "/" + std::string(200, 'a')));
    rmrf(d);
}

TEST(ExperimentInput, NegativeZeroIsCanonicalAndImageSizeIsCheckedAtLoad)
{
    std::string a = kTinyYaml, b = kTinyYaml;
    size_t k = b.find("val_fraction: 0.25");
    ASSERT_NE(k, std::string::npos);
    a.replace(k, strlen("val_fraction: 0.25"), "val_fraction: 0");
    b.replace(k, strlen("val_fraction: 0.25"), "val_fraction: -0.0");
    ghm_experiment ea, eb;
    memset(&ea, 0, sizeof ea);
    memset(&eb, 0, sizeof eb);
    ghm_error e;
    ASSERT_EQ(ghm_experiment_load_string(a.c_str(), "a.yaml", &ea, &e), 0) << e.msg;
    ASSERT_EQ(ghm_experiment_load_string(b.c_str(), "b.yaml", &eb, &e), 0) << e.msg;
    EXPECT_STREQ(ea.runs[0].run_id, eb.runs[0].run_id);
    ghm_experiment_free(&ea);
    ghm_experiment_free(&eb);
    // image_size 4: accepted by the file check before, refused by the loader only at run time
    std::string c = kTinyYaml;
    k = c.find("image_size: 8");
    c.replace(k, strlen("image_size: 8"), "image_size: 4");
    ghm_experiment ec;
    memset(&ec, 0, sizeof ec);
    EXPECT_EQ(ghm_experiment_load_string(c.c_str(), "c.yaml", &ec, &e), GHM_EINPUT);
    EXPECT_NE(std::string(e.msg).find("image_size"), std::string::npos) << e.msg;
}

TEST(ExperimentInput, DeepOrHugeYamlIsRefusedQuickly)
{
    // 100,000 levels of flow nesting took 16 s inside libyaml
    std::string deep = "name: x\nseeds: " + std::string(100000, '[') + std::string(100000, ']') + "\n";
    ghm_experiment e;
    memset(&e, 0, sizeof e);
    ghm_error err;
    EXPECT_EQ(ghm_experiment_load_string(deep.c_str(), "deep.yaml", &e, &err), GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find("deep.yaml"), std::string::npos) << err.msg;
    EXPECT_NE(std::string(err.msg).find("nest"), std::string::npos) << err.msg;
    // brackets inside quoted strings and comments do not count
    std::string ok = std::string(kTinyYaml) + "description: '" + std::string(100, '[') + "' # " +
                     std::string(100, '{') + "\n";
    ASSERT_EQ(ghm_experiment_load_string(ok.c_str(), "ok.yaml", &e, &err), 0) << err.msg;
    ghm_experiment_free(&e);
    // size
    std::string big = std::string(kTinyYaml) + "#" + std::string(2 << 20, 'x') + "\n";
    EXPECT_EQ(ghm_experiment_load_string(big.c_str(), "big.yaml", &e, &err), GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find("large"), std::string::npos) << err.msg;
}

TEST(ExperimentInput, CombinationsThatCannotBeMeantAreRefusedSayingWhy)
{
    struct Case {
        const char *from, *to, *expect;
    } cases[] = {
        {"  - name: triplet\n", "  - name: contrastive\n    params: {pos_margin: 1.5, neg_margin: 1.0}\n",
         "pos_margin"},
        {"  - name: triplet\n", "  - name: ghm\n    params: {pos_margin: 0.5, neg_margin: 0.5}\n", "pos_margin"},
        {"m_per_class: 2}", "m_per_class: 2, schedule: {name: cosine, warmup_epochs: 5}}", "warmup_epochs"},
        {"image_size: 8,", "image_size: 8, path: /usr/share/datasets,", "path"},
    };
    for (const Case &c : cases) {
        std::string y = kTinyYaml;
        size_t k = y.find(c.from);
        ASSERT_NE(k, std::string::npos) << c.from;
        y.replace(k, strlen(c.from), c.to);
        ghm_experiment e;
        memset(&e, 0, sizeof e);
        ghm_error err;
        EXPECT_EQ(ghm_experiment_load_string(y.c_str(), "c.yaml", &e, &err), GHM_EINPUT) << c.to;
        EXPECT_NE(std::string(err.msg).find(c.expect), std::string::npos) << err.msg;
        EXPECT_NE(std::string(err.msg).find("c.yaml:"), std::string::npos) << err.msg;
    }
    // the boundary cases are fine: warmup as long as the run, margins in order
    std::string y = kTinyYaml;
    size_t k = y.find("m_per_class: 2}");
    y.replace(k, strlen("m_per_class: 2}"), "m_per_class: 2, schedule: {name: cosine, warmup_epochs: 1}}");
    k = y.find("  - name: triplet\n");
    y.replace(k, strlen("  - name: triplet\n"), "  - name: contrastive\n    params: {pos_margin: 0.2, neg_margin: 1.0}\n");
    ghm_experiment e;
    memset(&e, 0, sizeof e);
    ghm_error err;
    ASSERT_EQ(ghm_experiment_load_string(y.c_str(), "ok.yaml", &e, &err), 0) << err.msg;
    ghm_experiment_free(&e);
}

// found by fuzz_idx: a few bytes declaring 3 GiB of items made the reader
// allocate 3 GiB before it found the data missing
TEST(IdxInput, DeclaredSizeIsNotAllocatedBeforeTheDataArrives)
{
    std::string d = tmpdir();
    std::string hdr("\x00\x00\x08\x03\x00\x00\x40\x00\x00\x00\x03\x00\x00\x00\x01\x00", 16); // 16384 x 768 x 256
    std::string raw = d + "/big.idx", gz = d + "/big.idx.gz";
    write_file(raw, hdr + "abc");
    ASSERT_EQ(system(("gzip -c '" + raw + "' > '" + gz + "'").c_str()), 0);
    for (const std::string &p : {raw, gz}) {
        // in a child limited to 1 GiB of address space (not under ASan, which
        // reserves far more): allocating the declared 3 GiB would fail there
        pid_t pid = fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
#if !defined(__SANITIZE_ADDRESS__)
            struct rlimit rl = {(rlim_t)1 << 30, (rlim_t)1 << 30};
            setrlimit(RLIMIT_AS, &rl);
#endif
            int nd, dd[4];
            uint8_t *data = nullptr;
            ghm_error e;
            int rc = ghm_idx_read(p.c_str(), &nd, dd, &data, &e);
            _exit(rc == GHM_EINPUT && strstr(e.msg, "truncated") && !data ? 0 : 1);
        }
        int st = 0;
        ASSERT_EQ(waitpid(pid, &st, 0), pid);
        EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << p;
    }
    rmrf(d);
}
