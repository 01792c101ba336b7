// Exact part sizes of the split (datasets/split.c): the validation part takes
// round(val_fraction * n_c) images of each class (at least 1 of a class of 2 or
// more, never all of them), and whole classes in the classes protocol.
#include <gtest/gtest.h>

#include <map>

extern "C" {
#include "datasets/dataset.h"
}

namespace {

struct Parts {
    int train = 0, val = 0, test = 0;
    std::map<int, int> val_per_class;
};

Parts split_of(int classes, int per_class, double f, int protocol = GHM_SPLIT_STANDARD)
{
    ghm_dataset_opts o;
    ghm_dataset_opts_default(&o);
    o.name = "synthetic";
    o.classes = classes;
    o.train_per_class = per_class;
    o.test_per_class = 2;
    o.image_size = 8;
    ghm_dataset d;
    ghm_error err;
    Parts p;
    EXPECT_EQ(ghm_dataset_load(&o, &d, &err), 0) << err.msg;
    ghm_split_opts so;
    ghm_split_opts_default(&so);
    so.protocol = protocol;
    so.val_fraction = f;
    ghm_split s;
    EXPECT_EQ(ghm_split_make(&d, &so, &s, &err), 0) << err.msg;
    p.train = s.train.img.n;
    p.val = s.val.img.n;
    p.test = s.test.img.n;
    for (int i = 0; i < s.val.img.n; i++) p.val_per_class[s.val.class_ids[s.val.img.labels[i]]]++;
    ghm_split_free(&s);
    ghm_dataset_free(&d);
    return p;
}

} // namespace

TEST(SplitCounts, ValidationTakesTheRoundedShareOfEachClass)
{
    // 12 per class: 0.3 -> round(3.6) = 4; 0.2 -> round(2.4) = 2; 0.125 -> round(1.5) = 2 (half away from 0)
    const struct {
        double f;
        int per_class_val;
    } cases[] = {{0.3, 4}, {0.2, 2}, {0.125, 2}, {0.25, 3}, {0.01, 1}, {0.99, 11}};
    for (const auto &c : cases) {
        SCOPED_TRACE(c.f);
        Parts p = split_of(3, 12, c.f);
        EXPECT_EQ(p.val, 3 * c.per_class_val);
        EXPECT_EQ(p.train, 3 * (12 - c.per_class_val));
        EXPECT_EQ(p.test, 3 * 2);
        for (int k = 0; k < 3; k++) EXPECT_EQ(p.val_per_class[k], c.per_class_val) << "class " << k;
    }
    Parts none = split_of(3, 12, 0.0);
    EXPECT_EQ(none.val, 0);
    EXPECT_EQ(none.train, 36);
}

TEST(SplitCounts, ClassesProtocolHoldsOutRoundedWholeClasses)
{
    // 8 classes: the first half (4) train; val_fraction 0.6 of them -> round(2.4) = 2 whole classes
    Parts p = split_of(8, 5, 0.6, GHM_SPLIT_CLASSES);
    EXPECT_EQ(p.val_per_class.size(), 2u);
    for (const auto &kv : p.val_per_class) EXPECT_EQ(kv.second, 5 + 2) << "class " << kv.first; // train and test images
    EXPECT_EQ(p.train, 2 * 7);
}
