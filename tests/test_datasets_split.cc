// Splits (standard / class-disjoint, validation, limits) and the m-per-class sampler.
#include <gtest/gtest.h>

extern "C" {
#include "datasets/dataset.h"
}

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

// A toy dataset: K classes, tr/te images per class in each part, 1x2x2 images
// whose 4 pixels encode the image's global id (train part first) so copies can
// be traced: pixel0 = id % 256, pixel1 = id / 256.
struct Toy {
    ghm_dataset d;
    Toy(int K, int tr, int te)
    {
        memset(&d, 0, sizeof d);
        snprintf(d.name, sizeof d.name, "toy");
        d.n_classes = K;
        fill(&d.train, K * tr, 0);
        fill(&d.test, K * te, K * tr);
        for (int k = 0; k < K; k++) snprintf(d.class_names[k], GHM_CLASS_NAME_MAX, "c%d", k);
    }
    void fill(ghm_images *im, int n, int first)
    {
        im->n = n;
        im->c = 1;
        im->h = 2;
        im->w = 2;
        im->pixels = (uint8_t *)malloc((size_t)n * 4 + 1);
        im->labels = (int *)malloc(sizeof(int) * (size_t)n + 1);
        for (int i = 0; i < n; i++) {
            int id = first + i;
            im->labels[i] = i % d.n_classes;
            im->pixels[i * 4 + 0] = (uint8_t)(id % 256);
            im->pixels[i * 4 + 1] = (uint8_t)(id / 256);
            im->pixels[i * 4 + 2] = 0;
            im->pixels[i * 4 + 3] = 255;
        }
    }
    ~Toy() { ghm_dataset_free(&d); }
    // original class of global image id
    int label(int id) const { return id < d.train.n ? d.train.labels[id] : d.test.labels[id - d.train.n]; }
};

int img_id(const ghm_subset &s, int i) { return s.img.pixels[i * 4] + 256 * s.img.pixels[i * 4 + 1]; }

std::set<int> ids_of(const ghm_subset &s)
{
    std::set<int> r;
    for (int i = 0; i < s.img.n; i++) r.insert(img_id(s, i));
    return r;
}

std::set<int> classes_of(const ghm_subset &s)
{
    std::set<int> r;
    for (int i = 0; i < s.img.n; i++) r.insert(s.class_ids[s.img.labels[i]]);
    return r;
}

// Every subset image carries the right dense label for its original class.
void check_labels(const Toy &t, const ghm_subset &s)
{
    for (int i = 0; i < s.img.n; i++) {
        int dl = s.img.labels[i];
        ASSERT_GE(dl, 0);
        ASSERT_LT(dl, s.n_classes);
        EXPECT_EQ(s.class_ids[dl], t.label(img_id(s, i)));
    }
}

bool disjoint(const std::set<int> &a, const std::set<int> &b)
{
    for (int x : a)
        if (b.count(x)) return false;
    return true;
}

ghm_split_opts sopts(int protocol, double val, uint64_t seed = 1)
{
    ghm_split_opts o;
    ghm_split_opts_default(&o);
    o.protocol = protocol;
    o.val_fraction = val;
    o.seed = seed;
    return o;
}

TEST(Split, StandardKeepsOfficialParts)
{
    Toy t(6, 10, 4);
    ghm_split s;
    ghm_error err;
    ghm_split_opts o = sopts(GHM_SPLIT_STANDARD, 0);
    ASSERT_EQ(ghm_split_make(&t.d, &o, &s, &err), 0) << err.msg;
    EXPECT_EQ(s.train.img.n, 60);
    EXPECT_EQ(s.test.img.n, 24);
    EXPECT_EQ(s.val.img.n, 0);
    EXPECT_EQ(s.train.n_classes, 6);
    EXPECT_EQ(s.train.class_ids[5], 5);
    EXPECT_EQ(img_id(s.train, 17), 17); // dataset order kept
    EXPECT_EQ(img_id(s.test, 3), 63);
    check_labels(t, s.train);
    check_labels(t, s.test);
    ghm_split_free(&s);
}

TEST(Split, StandardValidationIsStratifiedAndDisjoint)
{
    Toy t(6, 10, 4);
    ghm_split s;
    ghm_error err;
    ghm_split_opts o = sopts(GHM_SPLIT_STANDARD, 0.2);
    ASSERT_EQ(ghm_split_make(&t.d, &o, &s, &err), 0) << err.msg;
    EXPECT_EQ(s.val.img.n, 12); // 2 of each class's 10
    EXPECT_EQ(s.train.img.n, 48);
    EXPECT_EQ(s.test.img.n, 24);
    std::map<int, int> per;
    for (int i = 0; i < s.val.img.n; i++) per[s.val.img.labels[i]]++;
    for (int k = 0; k < 6; k++) EXPECT_EQ(per[k], 2);
    auto tr = ids_of(s.train), va = ids_of(s.val), te = ids_of(s.test);
    EXPECT_TRUE(disjoint(tr, va));
    EXPECT_TRUE(disjoint(tr, te));
    for (int x : va) EXPECT_LT(x, 60); // carved from the training part
    check_labels(t, s.val);
    // seeded: same seed same validation images, another seed others
    ghm_split s2, s3;
    ASSERT_EQ(ghm_split_make(&t.d, &o, &s2, &err), 0);
    o.seed = 2;
    ASSERT_EQ(ghm_split_make(&t.d, &o, &s3, &err), 0);
    EXPECT_EQ(ids_of(s2.val), va);
    EXPECT_NE(ids_of(s3.val), va);
    ghm_split_free(&s);
    ghm_split_free(&s2);
    ghm_split_free(&s3);
}

TEST(Split, ClassesProtocolIsClassDisjoint)
{
    Toy t(6, 10, 4);
    ghm_split s;
    ghm_error err;
    ghm_split_opts o = sopts(GHM_SPLIT_CLASSES, 0);
    ASSERT_EQ(ghm_split_make(&t.d, &o, &s, &err), 0) << err.msg;
    // first half (0, 1, 2) trains, with the images of both official parts
    EXPECT_EQ(s.train.n_classes, 3);
    EXPECT_EQ(s.test.n_classes, 3);
    EXPECT_EQ(s.train.img.n, 3 * 14);
    EXPECT_EQ(s.test.img.n, 3 * 14);
    EXPECT_EQ(classes_of(s.train), (std::set<int>{0, 1, 2}));
    EXPECT_EQ(classes_of(s.test), (std::set<int>{3, 4, 5}));
    EXPECT_EQ(s.test.class_ids[0], 3); // dense labels 0..2 map back to 3..5
    check_labels(t, s.train);
    check_labels(t, s.test);
    ghm_split_free(&s);

    o.n_train_classes = 3;
    o.train_classes[0] = 5;
    o.train_classes[1] = 1;
    o.train_classes[2] = 3;
    ASSERT_EQ(ghm_split_make(&t.d, &o, &s, &err), 0) << err.msg;
    EXPECT_EQ(classes_of(s.train), (std::set<int>{1, 3, 5}));
    EXPECT_EQ(classes_of(s.test), (std::set<int>{0, 2, 4}));
    check_labels(t, s.train);
    ghm_split_free(&s);
}

TEST(Split, ClassesProtocolValidationHoldsOutWholeClasses)
{
    Toy t(12, 5, 5);
    ghm_split s;
    ghm_error err;
    ghm_split_opts o = sopts(GHM_SPLIT_CLASSES, 0.34); // round(0.34 * 6) = 2 classes held out
    ASSERT_EQ(ghm_split_make(&t.d, &o, &s, &err), 0) << err.msg;
    EXPECT_EQ(s.val.n_classes, 2);
    EXPECT_EQ(s.train.n_classes, 4);
    EXPECT_EQ(s.test.n_classes, 6);
    auto ctr = classes_of(s.train), cva = classes_of(s.val), cte = classes_of(s.test);
    EXPECT_TRUE(disjoint(ctr, cva));
    EXPECT_TRUE(disjoint(ctr, cte));
    EXPECT_TRUE(disjoint(cva, cte));
    for (int c : cva) EXPECT_LT(c, 6);
    EXPECT_EQ(s.val.img.n, 2 * 10);
    EXPECT_EQ(s.train.img.n, 4 * 10);
    check_labels(t, s.val);
    check_labels(t, s.train);
    ghm_split_free(&s);

    // a small fraction still holds out 2 classes
    o.val_fraction = 0.05;
    ASSERT_EQ(ghm_split_make(&t.d, &o, &s, &err), 0) << err.msg;
    EXPECT_EQ(s.val.n_classes, 2);
    ghm_split_free(&s);

    // too few training classes left
    o.val_fraction = 0.7; // holds out 4 of 6, leaving 2: fine
    ASSERT_EQ(ghm_split_make(&t.d, &o, &s, &err), 0) << err.msg;
    ghm_split_free(&s);
    o.val_fraction = 0.8; // holds out 5 of 6, leaving 1
    EXPECT_EQ(ghm_split_make(&t.d, &o, &s, &err), GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find("leaving 1"), std::string::npos) << err.msg;
}

TEST(Split, LimitsAreStratifiedAndSeeded)
{
    Toy t(6, 10, 4);
    ghm_split s, s2, s3;
    ghm_error err;
    ghm_split_opts o = sopts(GHM_SPLIT_STANDARD, 0);
    o.limit_train = 30;
    o.limit_test = 12;
    ASSERT_EQ(ghm_split_make(&t.d, &o, &s, &err), 0) << err.msg;
    EXPECT_EQ(s.train.img.n, 30);
    EXPECT_EQ(s.test.img.n, 12);
    std::map<int, int> per;
    for (int i = 0; i < s.train.img.n; i++) per[s.train.img.labels[i]]++;
    for (int k = 0; k < 6; k++) EXPECT_EQ(per[k], 5);
    for (int i = 1; i < s.train.img.n; i++) EXPECT_LT(img_id(s.train, i - 1), img_id(s.train, i)); // order kept
    ASSERT_EQ(ghm_split_make(&t.d, &o, &s2, &err), 0);
    EXPECT_EQ(ids_of(s2.train), ids_of(s.train));
    o.seed = 9;
    ASSERT_EQ(ghm_split_make(&t.d, &o, &s3, &err), 0);
    EXPECT_NE(ids_of(s3.train), ids_of(s.train));
    ghm_split_free(&s);
    ghm_split_free(&s2);
    ghm_split_free(&s3);

    // uneven quotas: 32 of 60 over 6 classes -> 5 or 6 each, total exact
    o.limit_train = 32;
    o.val_fraction = 0.25; // then val is carved from the 32
    ASSERT_EQ(ghm_split_make(&t.d, &o, &s, &err), 0) << err.msg;
    EXPECT_EQ(s.train.img.n + s.val.img.n, 32);
    EXPECT_GE(s.val.img.n, 6);
    ghm_split_free(&s);

    // a limit above the size keeps everything
    o.limit_train = 1000;
    o.val_fraction = 0;
    ASSERT_EQ(ghm_split_make(&t.d, &o, &s, &err), 0);
    EXPECT_EQ(s.train.img.n, 60);
    ghm_split_free(&s);

    // classes protocol + limits
    o = sopts(GHM_SPLIT_CLASSES, 0);
    o.limit_train = 21;
    o.limit_test = 9;
    ASSERT_EQ(ghm_split_make(&t.d, &o, &s, &err), 0);
    EXPECT_EQ(s.train.img.n, 21);
    EXPECT_EQ(s.test.img.n, 9);
    EXPECT_EQ(classes_of(s.train), (std::set<int>{0, 1, 2}));
    ghm_split_free(&s);
}

TEST(Split, RejectsBadOptions)
{
    Toy t(6, 10, 4);
    ghm_split s;
    ghm_error err;
    ghm_split_opts o = sopts(GHM_SPLIT_STANDARD, 1.0);
    EXPECT_EQ(ghm_split_make(&t.d, &o, &s, &err), GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find("val_fraction"), std::string::npos);
    o = sopts(7, 0);
    EXPECT_EQ(ghm_split_make(&t.d, &o, &s, &err), GHM_EINPUT);
    o = sopts(GHM_SPLIT_CLASSES, 0);
    o.n_train_classes = 2;
    o.train_classes[0] = 1;
    o.train_classes[1] = 6;
    EXPECT_EQ(ghm_split_make(&t.d, &o, &s, &err), GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find("train_classes[1] = 6"), std::string::npos) << err.msg;
    o.train_classes[1] = 1;
    EXPECT_EQ(ghm_split_make(&t.d, &o, &s, &err), GHM_EINPUT); // listed twice
    o.n_train_classes = 5;
    for (int k = 0; k < 5; k++) o.train_classes[k] = k;
    EXPECT_EQ(ghm_split_make(&t.d, &o, &s, &err), GHM_EINPUT); // one test class only
    o = sopts(GHM_SPLIT_STANDARD, 0);
    o.limit_train = -1;
    EXPECT_EQ(ghm_split_make(&t.d, &o, &s, &err), GHM_EINPUT);
}

TEST(Split, GatherAndRangeScaleToUnit)
{
    Toy t(3, 4, 2);
    ghm_split s;
    ghm_error err;
    ghm_split_opts o = sopts(GHM_SPLIT_STANDARD, 0);
    ASSERT_EQ(ghm_split_make(&t.d, &o, &s, &err), 0);
    int idx[2] = {5, 2};
    float x[8];
    int lab[2];
    ghm_subset_gather(&s.train, idx, 2, x, lab);
    EXPECT_FLOAT_EQ(x[0], 5.0f / 255.0f);
    EXPECT_FLOAT_EQ(x[3], 1.0f);
    EXPECT_FLOAT_EQ(x[4], 2.0f / 255.0f);
    EXPECT_EQ(lab[0], 2);
    EXPECT_EQ(lab[1], 2);
    ghm_subset_range(&s.test, 1, 2, x);
    EXPECT_FLOAT_EQ(x[0], 13.0f / 255.0f);
    EXPECT_FLOAT_EQ(x[4], 14.0f / 255.0f);
    EXPECT_FLOAT_EQ(x[2], 0.0f);
    ghm_split_free(&s);
}

// ---- sampler -----------------------------------------------------------------

std::vector<int> labels_balanced(int K, int per)
{
    std::vector<int> l;
    for (int i = 0; i < K * per; i++) l.push_back((i * 7) % K);
    return l;
}

std::vector<int> batch(ghm_sampler *s, int e, int b, int B)
{
    std::vector<int> v(B);
    ghm_error err;
    EXPECT_EQ(ghm_sampler_batch(s, e, b, v.data(), &err), 0) << err.msg;
    return v;
}

TEST(Sampler, BatchesHaveMPerClass)
{
    auto lab = labels_balanced(10, 40);
    ghm_sampler *s = nullptr;
    ghm_error err;
    const int B = 32, m = 4;
    ASSERT_EQ(ghm_sampler_create(lab.data(), (int)lab.size(), 10, B, m, 3, &s, &err), 0) << err.msg;
    EXPECT_EQ(ghm_sampler_batches_per_epoch(s), 400 / 32);
    std::vector<int> seen(lab.size(), 0);
    for (int e = 0; e < 2; e++)
        for (int b = 0; b < ghm_sampler_batches_per_epoch(s); b++) {
            auto v = batch(s, e, b, B);
            std::map<int, int> per;
            std::set<int> uniq(v.begin(), v.end());
            EXPECT_EQ((int)uniq.size(), B) << "an image twice in a batch";
            for (int i : v) {
                ASSERT_GE(i, 0);
                ASSERT_LT(i, (int)lab.size());
                per[lab[i]]++;
                if (e == 0) seen[i]++;
            }
            EXPECT_EQ((int)per.size(), B / m);
            for (auto &kv : per) EXPECT_EQ(kv.second, m);
            for (int j = 0; j < B; j++) EXPECT_EQ(lab[v[j]], lab[v[j / m * m]]); // grouped by class
        }
    // one epoch covers most of the set (384 of 400 draws; some repeats at the end)
    int covered = 0;
    for (int c : seen) covered += c > 0;
    EXPECT_GE(covered, 340);
    ghm_sampler_destroy(s);
}

TEST(Sampler, PureFunctionOfSeedEpochBatch)
{
    auto lab = labels_balanced(8, 25);
    ghm_sampler *a = nullptr, *b = nullptr, *c = nullptr;
    ghm_error err;
    ASSERT_EQ(ghm_sampler_create(lab.data(), 200, 8, 16, 2, 11, &a, &err), 0);
    ASSERT_EQ(ghm_sampler_create(lab.data(), 200, 8, 16, 2, 11, &b, &err), 0);
    ASSERT_EQ(ghm_sampler_create(lab.data(), 200, 8, 16, 2, 12, &c, &err), 0);
    // b is asked in another order: batches must not depend on the history
    auto b_late = batch(b, 3, 5, 16);
    auto b_first = batch(b, 0, 0, 16);
    for (int e = 0; e < 4; e++)
        for (int k = 0; k < ghm_sampler_batches_per_epoch(a); k++) {
            auto va = batch(a, e, k, 16);
            if (e == 3 && k == 5) {
                EXPECT_EQ(va, b_late);
            }
            if (e == 0 && k == 0) {
                EXPECT_EQ(va, b_first);
            }
            EXPECT_EQ(va, batch(b, e, k, 16));
        }
    int differ = 0;
    for (int k = 0; k < ghm_sampler_batches_per_epoch(a); k++) differ += batch(a, 0, k, 16) != batch(c, 0, k, 16);
    EXPECT_GT(differ, ghm_sampler_batches_per_epoch(a) / 2);
    EXPECT_NE(batch(a, 0, 0, 16), batch(a, 1, 0, 16)); // epochs differ
    ghm_sampler_destroy(a);
    ghm_sampler_destroy(b);
    ghm_sampler_destroy(c);
}

TEST(Sampler, SkipsClassesWithTooFewImages)
{
    // class 3 has a single image: with m = 2 it must never appear
    std::vector<int> lab;
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 10; i++) lab.push_back(c);
    lab.push_back(3);
    ghm_sampler *s = nullptr;
    ghm_error err;
    ASSERT_EQ(ghm_sampler_create(lab.data(), (int)lab.size(), 4, 6, 2, 1, &s, &err), 0) << err.msg;
    for (int e = 0; e < 3; e++)
        for (int b = 0; b < ghm_sampler_batches_per_epoch(s); b++)
            for (int i : batch(s, e, b, 6)) EXPECT_NE(lab[i], 3);
    ghm_sampler_destroy(s);
}

TEST(Sampler, ClearErrors)
{
    auto lab = labels_balanced(4, 5);
    ghm_sampler *s = nullptr;
    ghm_error err;
    EXPECT_EQ(ghm_sampler_create(lab.data(), 20, 4, 10, 4, 0, &s, &err), GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find("multiple of m_per_class"), std::string::npos) << err.msg;
    EXPECT_EQ(s, nullptr);
    EXPECT_EQ(ghm_sampler_create(lab.data(), 20, 4, 20, 4, 0, &s, &err), GHM_EINPUT); // needs 5 classes
    EXPECT_NE(std::string(err.msg).find("needs 5 classes with at least 4 images"), std::string::npos) << err.msg;
    EXPECT_EQ(ghm_sampler_create(lab.data(), 20, 4, 12, 6, 0, &s, &err), GHM_EINPUT); // 5 images < m = 6
    EXPECT_NE(std::string(err.msg).find("only 0 of the 4 classes"), std::string::npos) << err.msg;
    lab[3] = 9;
    EXPECT_EQ(ghm_sampler_create(lab.data(), 20, 4, 8, 2, 0, &s, &err), GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find("label 9 of image 3"), std::string::npos) << err.msg;
    lab[3] = 1;
    ASSERT_EQ(ghm_sampler_create(lab.data(), 20, 4, 8, 2, 0, &s, &err), 0);
    int idx[8];
    EXPECT_EQ(ghm_sampler_batch(s, 0, ghm_sampler_batches_per_epoch(s), idx, &err), GHM_EINPUT);
    EXPECT_EQ(ghm_sampler_batch(s, -1, 0, idx, &err), GHM_EINPUT);
    ghm_sampler_destroy(s);
}

} // namespace
