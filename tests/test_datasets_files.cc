// Dataset readers on files that are not what they should be: a link to a
// device, a FIFO, a directory. Each is refused at once with GHM_EINPUT naming
// the file (before: /dev/zero was parsed as data, a FIFO blocked forever).
#include <gtest/gtest.h>

#include <string>
#include <sys/stat.h>
#include <unistd.h>

extern "C" {
#include "datasets/dataset.h"
}

#include "test_util.h"

namespace {
using ghm_test::rmrf;
using ghm_test::tmpdir;
bool has(const std::string &hay, const std::string &needle) { return hay.find(needle) != std::string::npos; }
} // namespace

TEST(DatasetsFiles, IdxRefusesNonRegularFiles)
{
    std::string d = tmpdir();
    ASSERT_EQ(symlink("/dev/zero", (d + "/zero-idx").c_str()), 0);
    ASSERT_EQ(mkfifo((d + "/fifo-idx").c_str(), 0600), 0);
    for (const char *name : {"zero-idx", "fifo-idx"}) {
        std::string p = d + "/" + name;
        int nd = 0, dims[4];
        uint8_t *px = nullptr;
        ghm_error err;
        ghm_error_clear(&err);
        EXPECT_EQ(ghm_idx_read(p.c_str(), &nd, dims, &px, &err), GHM_EINPUT) << name;
        EXPECT_EQ(px, nullptr);
        EXPECT_TRUE(has(err.msg, p + ": is a")) << err.msg;
        EXPECT_TRUE(has(err.msg, "not a regular file (IDX file expected)")) << err.msg;
    }
    rmrf(d);
}

TEST(DatasetsFiles, CifarBatchThatIsADeviceIsRefused)
{
    std::string d = tmpdir();
    // a valid first batch (one record of label 3), then a device as the second
    std::string rec(3073, '\0');
    rec[0] = 3;
    FILE *f = fopen((d + "/data_batch_1.bin").c_str(), "wb");
    ASSERT_NE(f, nullptr);
    fwrite(rec.data(), 1, rec.size(), f);
    fclose(f);
    ASSERT_EQ(symlink("/dev/zero", (d + "/data_batch_2.bin").c_str()), 0);
    ghm_dataset_opts o;
    ghm_dataset_opts_default(&o);
    o.name = "cifar10";
    o.path = d.c_str();
    o.data_root = d.c_str();
    ghm_dataset ds;
    ghm_error err;
    ghm_error_clear(&err);
    EXPECT_EQ(ghm_dataset_load(&o, &ds, &err), GHM_EINPUT);
    EXPECT_TRUE(has(err.msg, d + "/data_batch_2.bin: is a character device, not a regular file (CIFAR-10 batch expected)"))
        << err.msg;
    rmrf(d);
}

TEST(DatasetsFiles, AGivenPathIsTheOnlyPlaceLookedAt)
{
    // an existing directory without the files: not found there, no fall-back to data/ or /usr/share/datasets
    std::string d = tmpdir();
    ghm_dataset_opts o;
    ghm_dataset_opts_default(&o);
    o.name = "fashion-mnist";
    o.path = d.c_str();
    ghm_dataset ds;
    ghm_error err;
    ghm_error_clear(&err);
    EXPECT_EQ(ghm_dataset_load(&o, &ds, &err), GHM_EINPUT);
    EXPECT_TRUE(has(err.msg, "in any of: " + d + ". To get it")) << err.msg;
    // a path that does not exist, or is a file
    std::string nowhere = d + "/nowhere";
    o.path = nowhere.c_str();
    EXPECT_EQ(ghm_dataset_load(&o, &ds, &err), GHM_EINPUT);
    EXPECT_TRUE(has(err.msg, "dataset.path '" + nowhere + "' does not exist")) << err.msg;
    FILE *f = fopen((d + "/file").c_str(), "w");
    ASSERT_NE(f, nullptr);
    fclose(f);
    std::string file = d + "/file";
    o.path = file.c_str();
    EXPECT_EQ(ghm_dataset_load(&o, &ds, &err), GHM_EINPUT);
    EXPECT_TRUE(has(err.msg, "is not a directory")) << err.msg;
    rmrf(d);
}
