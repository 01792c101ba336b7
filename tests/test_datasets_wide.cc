// More than 256 classes: IDX labels wider than a byte (int16 / int32, with
// corrupt and truncated files), the IDX loader, the class-disjoint split and
// the m-per-class sampler on a data set of 1,500 classes (small sizes).
#include <gtest/gtest.h>
extern "C" {
#include "datasets/dataset.h"
}
#include <zlib.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

using ghm_test::TempDir;
using ghm_test::read_bytes;
using ghm_test::write_gz;
using ghm_test::write_raw;
using ghm_test::Bytes;

void put_be(Bytes &b, uint32_t v, int bytes)
{
    for (int k = bytes - 1; k >= 0; k--) b.push_back((uint8_t)(v >> (8 * k)));
}

// IDX label bytes of type 0x0B (2-byte) or 0x0C (4-byte) items
Bytes label_bytes(const std::vector<long> &v, uint8_t type)
{
    Bytes b = {0, 0, type, 1};
    put_be(b, (uint32_t)v.size(), 4);
    for (long x : v) put_be(b, (uint32_t)x, type == 0x0B ? 2 : 4);
    return b;
}

int read_labels(const std::string &path, std::vector<int> *out, ghm_error *err, int max_label = 1 << 20)
{
    int n = -1, *lab = nullptr;
    ghm_error_clear(err);
    int rc = ghm_idx_read_labels(path.c_str(), max_label, &n, &lab, err);
    if (rc == 0) out->assign(lab, lab + n);
    else EXPECT_EQ(lab, nullptr);
    free(lab);
    return rc;
}

bool has(const char *msg, const std::string &what) { return std::string(msg).find(what) != std::string::npos; }

TEST(WideLabels, ReadsInt32Int16AndUint8)
{
    TempDir t;
    ghm_error err;
    std::vector<int> got;
    write_raw(t / "i32", label_bytes({0, 255, 256, 4095, 70000}, 0x0C));
    ASSERT_EQ(read_labels(t / "i32", &got, &err), 0) << err.msg;
    EXPECT_EQ(got, (std::vector<int>{0, 255, 256, 4095, 70000}));
    write_gz(t / "i16.gz", label_bytes({3, 300, 32767}, 0x0B));
    ASSERT_EQ(read_labels(t / "i16.gz", &got, &err), 0) << err.msg;
    EXPECT_EQ(got, (std::vector<int>{3, 300, 32767}));
    write_raw(t / "u8", Bytes{0, 0, 8, 1, 0, 0, 0, 3, 7, 200, 255});
    ASSERT_EQ(read_labels(t / "u8", &got, &err), 0) << err.msg;
    EXPECT_EQ(got, (std::vector<int>{7, 200, 255}));
}

TEST(WideLabels, WriterKeepsBytesUpTo255AndWidensAbove)
{
    TempDir t;
    ghm_error err;
    std::vector<int> small = {0, 1, 255, 9};
    uint8_t small8[4] = {0, 1, 255, 9};
    int dims[1] = {4};
    ASSERT_EQ(ghm_idx_write_labels((t / "a").c_str(), 4, small.data(), &err), 0) << err.msg;
    ASSERT_EQ(ghm_idx_write((t / "b").c_str(), 1, dims, small8, &err), 0) << err.msg;
    EXPECT_EQ(read_bytes(t / "a"), read_bytes(t / "b")); // sets of <= 256 classes: byte for byte the old files
    std::vector<int> wide = {0, 256, 1999, 4095, 3};
    for (const char *name : {"w", "w.gz"}) {
        ASSERT_EQ(ghm_idx_write_labels((t / name).c_str(), 5, wide.data(), &err), 0) << err.msg;
        std::vector<int> got;
        ASSERT_EQ(read_labels(t / name, &got, &err), 0) << err.msg;
        EXPECT_EQ(got, wide) << name;
    }
    Bytes raw = read_bytes(t / "w");
    ASSERT_EQ(raw.size(), 8u + 5 * 4);
    EXPECT_EQ(raw[2], 0x0C);
    std::vector<int> neg = {1, -2};
    EXPECT_EQ(ghm_idx_write_labels((t / "n").c_str(), 2, neg.data(), &err), GHM_EINPUT);
    EXPECT_TRUE(has(err.msg, "label 1 = -2")) << err.msg;
}

TEST(WideLabels, CorruptAndTruncatedFilesNameTheProblem)
{
    TempDir t;
    ghm_error err;
    std::vector<int> got;
    // negative int32 / int16 labels
    write_raw(t / "neg32", label_bytes({1, -5}, 0x0C));
    EXPECT_EQ(read_labels(t / "neg32", &got, &err), GHM_EINPUT);
    EXPECT_TRUE(has(err.msg, "neg32: label 1 = -5 is outside")) << err.msg;
    write_raw(t / "neg16", label_bytes({-1}, 0x0B));
    EXPECT_EQ(read_labels(t / "neg16", &got, &err), GHM_EINPUT);
    EXPECT_TRUE(has(err.msg, "label 0 = -1")) << err.msg;
    // above the caller's bound
    write_raw(t / "big", label_bytes({4, 5000}, 0x0C));
    EXPECT_EQ(read_labels(t / "big", &got, &err, 4095), GHM_EINPUT);
    EXPECT_TRUE(has(err.msg, "label 1 = 5000 is outside 0..4095")) << err.msg;
    // truncated: 3 int32 labels announced, 2.5 present (raw and gzip)
    Bytes cut = label_bytes({1, 2, 3}, 0x0C);
    cut.resize(cut.size() - 6);
    write_raw(t / "cut", cut);
    EXPECT_EQ(read_labels(t / "cut", &got, &err), GHM_EINPUT);
    EXPECT_TRUE(has(err.msg, "cut: truncated: expected 12 bytes of label data, found 6")) << err.msg;
    write_gz(t / "cut.gz", cut);
    EXPECT_EQ(read_labels(t / "cut.gz", &got, &err), GHM_EINPUT);
    EXPECT_TRUE(has(err.msg, "truncated")) << err.msg;
    // trailing bytes (an odd count for int16)
    Bytes tr = label_bytes({1, 2}, 0x0B);
    tr.push_back(0);
    write_raw(t / "trail", tr);
    EXPECT_EQ(read_labels(t / "trail", &got, &err), GHM_EINPUT);
    EXPECT_TRUE(has(err.msg, "trailing")) << err.msg;
    // wide items are for labels only: a 2-D int32 file is refused, as is float data
    Bytes img = {0, 0, 0x0C, 2};
    put_be(img, 1, 4);
    put_be(img, 1, 4);
    put_be(img, 7, 4);
    write_raw(t / "img32", img);
    EXPECT_EQ(read_labels(t / "img32", &got, &err), GHM_EINPUT);
    EXPECT_TRUE(has(err.msg, "only labels (1 dimension)")) << err.msg;
    Bytes fl = {0, 0, 0x0D, 1, 0, 0, 0, 1, 0, 0, 0, 0};
    write_raw(t / "float", fl);
    EXPECT_EQ(read_labels(t / "float", &got, &err), GHM_EINPUT);
    EXPECT_TRUE(has(err.msg, "float32")) << err.msg;
    // the image reader still takes bytes only
    int nd = 0, dm[4];
    uint8_t *data = nullptr;
    EXPECT_EQ(ghm_idx_read((t / "neg32").c_str(), &nd, dm, &data, &err), GHM_EINPUT);
    EXPECT_EQ(data, nullptr);
    EXPECT_TRUE(has(err.msg, "only unsigned byte (0x08)")) << err.msg;
    // 1-byte labels of a 2-D file are not labels
    Bytes two = {0, 0, 8, 2, 0, 0, 0, 1, 0, 0, 0, 1, 5};
    write_raw(t / "two", two);
    EXPECT_EQ(read_labels(t / "two", &got, &err), GHM_EINPUT);
    EXPECT_TRUE(has(err.msg, "1-dimensional")) << err.msg;
}

// A 1,500-class IDX directory (int32 labels) with 4 train and 2 test images per class,
// image = the class id in two pixels so that every step can be traced.
constexpr int K = 1500;
void write_wide_dir(const std::string &dir)
{
    std::filesystem::create_directories(dir);
    for (int part = 0; part < 2; part++) {
        int per = part == 0 ? 4 : 2, n = K * per;
        Bytes px = {0, 0, 8, 3};
        put_be(px, (uint32_t)n, 4);
        put_be(px, 2, 4);
        put_be(px, 2, 4);
        std::vector<int> lab;
        for (int c = 0; c < K; c++)
            for (int i = 0; i < per; i++) {
                px.insert(px.end(), {(uint8_t)(c % 256), (uint8_t)(c / 256), (uint8_t)i, 0});
                lab.push_back(c);
            }
        std::string p = dir + (part == 0 ? "/train" : "/t10k");
        write_gz(p + "-images-idx3-ubyte.gz", px);
        ghm_error err;
        ASSERT_EQ(ghm_idx_write_labels((p + "-labels-idx1-ubyte.gz").c_str(), n, lab.data(), &err), 0) << err.msg;
    }
}

TEST(WideClasses, LoaderSplitAndSamplerHandleThousandsOfClasses)
{
    TempDir t;
    write_wide_dir(t / "d");
    ghm_dataset_opts o;
    ghm_dataset_opts_default(&o);
    o.name = "idx";
    std::string dir = t / "d";
    o.path = dir.c_str();
    ghm_dataset *d = new ghm_dataset;
    ghm_error err;
    ASSERT_EQ(ghm_dataset_load(&o, d, &err), 0) << err.msg;
    EXPECT_EQ(d->n_classes, K);
    EXPECT_EQ(d->train.n, 4 * K);
    for (int i = 0; i < d->train.n; i += 97)
        EXPECT_EQ(d->train.labels[i], d->train.pixels[i * 4] + 256 * d->train.pixels[i * 4 + 1]);

    // class-disjoint split: first half trains, the other half is the test set; 10% of the
    // training classes held out whole for validation
    ghm_split_opts so;
    ghm_split_opts_default(&so);
    so.protocol = GHM_SPLIT_CLASSES;
    so.val_fraction = 0.1;
    so.seed = 3;
    ghm_split *s = new ghm_split;
    ASSERT_EQ(ghm_split_make(d, &so, s, &err), 0) << err.msg;
    EXPECT_EQ(s->train.n_classes + s->val.n_classes, K / 2);
    EXPECT_EQ(s->val.n_classes, K / 20);
    EXPECT_EQ(s->test.n_classes, K - K / 2);
    std::set<int> tr_ids, te_ids;
    for (int j = 0; j < s->train.n_classes; j++) tr_ids.insert(s->train.class_ids[j]);
    for (int j = 0; j < s->val.n_classes; j++) EXPECT_EQ(tr_ids.count(s->val.class_ids[j]), 0u);
    for (int j = 0; j < s->test.n_classes; j++) {
        te_ids.insert(s->test.class_ids[j]);
        EXPECT_GE(s->test.class_ids[j], K / 2);
    }
    EXPECT_EQ((int)te_ids.size(), K - K / 2);
    // the dense test labels map back to the image's class
    for (int i = 0; i < s->test.img.n; i++) {
        int id = s->test.img.pixels[i * 4] + 256 * s->test.img.pixels[i * 4 + 1];
        ASSERT_EQ(s->test.class_ids[s->test.img.labels[i]], id);
    }

    // sampler over the training part: every batch 64 classes x 4, all from the part
    ghm_sampler *sm = nullptr;
    ASSERT_EQ(ghm_sampler_create(s->train.img.labels, s->train.img.n, s->train.n_classes, 256, 4, 7, &sm, &err), 0)
        << err.msg;
    std::vector<int> idx(256);
    std::set<int> seen;
    for (int b = 0; b < ghm_sampler_batches_per_epoch(sm); b++) {
        ASSERT_EQ(ghm_sampler_batch(sm, 0, b, idx.data(), &err), 0) << err.msg;
        std::set<int> cls;
        for (int i : idx) {
            ASSERT_GE(i, 0);
            ASSERT_LT(i, s->train.img.n);
            cls.insert(s->train.img.labels[i]);
            seen.insert(s->train.img.labels[i]);
        }
        EXPECT_EQ(cls.size(), 64u);
    }
    EXPECT_GT((int)seen.size(), s->train.n_classes * 9 / 10); // an epoch visits (nearly) every class
    ghm_sampler_destroy(sm);

    // an explicit train_classes list beyond 256
    ghm_split_opts so2;
    ghm_split_opts_default(&so2);
    so2.protocol = GHM_SPLIT_CLASSES;
    so2.n_train_classes = 3;
    so2.train_classes[0] = 1499;
    so2.train_classes[1] = 700;
    so2.train_classes[2] = 3;
    ghm_split *s2 = new ghm_split;
    ASSERT_EQ(ghm_split_make(d, &so2, s2, &err), 0) << err.msg;
    EXPECT_EQ(s2->train.n_classes, 3);
    EXPECT_EQ(s2->test.n_classes, K - 3);
    so2.train_classes[1] = K; // not a class
    ghm_split *s3 = new ghm_split;
    EXPECT_EQ(ghm_split_make(d, &so2, s3, &err), GHM_EINPUT);
    EXPECT_TRUE(has(err.msg, "train_classes[1] = 1500")) << err.msg;
    delete s3;
    ghm_split_free(s2);
    delete s2;
    ghm_split_free(s);
    delete s;
    ghm_dataset_free(d);
    delete d;
}

TEST(WideClasses, LoaderRejectsALabelAboveTheLimit)
{
    TempDir t;
    write_wide_dir(t / "d");
    // rewrite the test labels with one label = GHM_MAX_CLASSES
    std::vector<int> lab(2 * K);
    for (int i = 0; i < 2 * K; i++) lab[i] = i / 2;
    lab[17] = GHM_MAX_CLASSES;
    ghm_error err;
    std::string lp = t / "d/t10k-labels-idx1-ubyte.gz";
    ASSERT_EQ(ghm_idx_write_labels(lp.c_str(), 2 * K, lab.data(), &err), 0);
    ghm_dataset_opts o;
    ghm_dataset_opts_default(&o);
    o.name = "idx";
    std::string dir = t / "d";
    o.path = dir.c_str();
    ghm_dataset *d = new ghm_dataset;
    EXPECT_EQ(ghm_dataset_load(&o, d, &err), GHM_EINPUT);
    EXPECT_TRUE(has(err.msg, "t10k-labels-idx1-ubyte.gz")) << err.msg;
    EXPECT_TRUE(has(err.msg, "item 17")) << err.msg;
    delete d;
}
} // namespace
