// File readers at their exact boundaries: an IDX or .npy file one byte short
// of its declared size (and every shorter prefix) and one byte long is
// GHM_EINPUT naming the file; the exact size reads back the same bytes.
#include <gtest/gtest.h>

#include <unistd.h>
#include <zlib.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include "core/npy.h"
#include "datasets/dataset.h"

#include "test_util.h"
}

namespace {

using ghm_test::TempDir;

std::string bytes_of(const std::string &path)
{
    std::ifstream f(path, std::ios::binary);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

void put(const std::string &path, const std::string &b)
{
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(b.data(), (std::streamsize)b.size());
}

void put_gz(const std::string &path, const std::string &b)
{
    gzFile g = gzopen(path.c_str(), "wb");
    ASSERT_NE(g, nullptr);
    if (!b.empty()) {
        ASSERT_EQ(gzwrite(g, b.data(), (unsigned)b.size()), (int)b.size());
    }
    gzclose(g);
}

bool mentions(const ghm_error &e, const std::string &path) { return std::string(e.msg).find(path) != std::string::npos; }

int read_idx(const std::string &path, ghm_error *err, std::vector<uint8_t> *out = nullptr)
{
    int nd = 0, dims[4] = {0, 0, 0, 0};
    uint8_t *data = nullptr;
    int rc = ghm_idx_read(path.c_str(), &nd, dims, &data, err);
    if (rc == 0 && out) {
        size_t n = 1;
        for (int i = 0; i < nd; i++) n *= (size_t)dims[i];
        out->assign(data, data + n);
    }
    free(data);
    return rc;
}

} // namespace

TEST(IdxBounds, OneByteShortOrLongIsRejected)
{
    TempDir t;
    // 3 images of 2 x 5: 16 bytes of header (magic + 3 dims), 30 of data
    std::vector<uint8_t> px(30);
    for (int i = 0; i < 30; i++) px[i] = (uint8_t)(7 * i + 1);
    const int dims[3] = {3, 2, 5};
    ghm_error err;
    ASSERT_EQ(ghm_idx_write((t / "ok").c_str(), 3, dims, px.data(), &err), 0) << err.msg;
    const std::string good = bytes_of(t / "ok");
    ASSERT_EQ(good.size(), 4u + 3 * 4 + 30);
    std::vector<uint8_t> back;
    ASSERT_EQ(read_idx(t / "ok", &err, &back), 0) << err.msg;
    EXPECT_EQ(back, px);

    // raw: every prefix, down to the empty file, and one byte more
    for (size_t len = 0; len < good.size(); len++) {
        SCOPED_TRACE("raw, " + std::to_string(len) + " bytes");
        put(t / "cut", good.substr(0, len));
        EXPECT_EQ(read_idx(t / "cut", &err), GHM_EINPUT);
        EXPECT_TRUE(mentions(err, t / "cut")) << err.msg;
    }
    put(t / "long", good + std::string(1, '\0'));
    EXPECT_EQ(read_idx(t / "long", &err), GHM_EINPUT);
    EXPECT_TRUE(mentions(err, t / "long")) << err.msg;
    EXPECT_NE(std::string(err.msg).find("trailing"), std::string::npos) << err.msg;

    // gzip'd: content one byte short / long, and the compressed stream itself cut by one byte
    put_gz(t / "short.gz", good.substr(0, good.size() - 1));
    EXPECT_EQ(read_idx(t / "short.gz", &err), GHM_EINPUT);
    EXPECT_TRUE(mentions(err, t / "short.gz")) << err.msg;
    put_gz(t / "long.gz", good + "x");
    EXPECT_EQ(read_idx(t / "long.gz", &err), GHM_EINPUT);
    EXPECT_TRUE(mentions(err, t / "long.gz")) << err.msg;
    put_gz(t / "exact.gz", good);
    ASSERT_EQ(read_idx(t / "exact.gz", &err, &back), 0) << err.msg;
    EXPECT_EQ(back, px);
    const std::string gz = bytes_of(t / "exact.gz");
    // the last 8 bytes are the trailer (CRC-32, length): any cut there loses the check
    for (size_t cut = 1; cut <= 9; cut++) {
        SCOPED_TRACE("gzip stream cut by " + std::to_string(cut));
        put(t / "cutstream.gz", gz.substr(0, gz.size() - cut));
        EXPECT_EQ(read_idx(t / "cutstream.gz", &err), GHM_EINPUT);
        EXPECT_TRUE(mentions(err, t / "cutstream.gz")) << err.msg;
    }

    // a label file (1-D): the same at its boundary
    const int ld[1] = {5};
    const uint8_t lab[5] = {0, 1, 2, 3, 4};
    ASSERT_EQ(ghm_idx_write((t / "lab").c_str(), 1, ld, lab, &err), 0);
    const std::string lb = bytes_of(t / "lab");
    ASSERT_EQ(lb.size(), 4u + 4 + 5);
    put(t / "lab_short", lb.substr(0, lb.size() - 1));
    EXPECT_EQ(read_idx(t / "lab_short", &err), GHM_EINPUT);
    put(t / "lab_long", lb + "\x05");
    EXPECT_EQ(read_idx(t / "lab_long", &err), GHM_EINPUT);
}

TEST(NpyBounds, OneByteShortOrLongIsRejected)
{
    TempDir t;
    ghm_error err;
    const float f[6] = {1.5f, -2.0f, 3.25f, 0.0f, 1e-3f, 7.0f};
    const size_t shape[2] = {3, 2};
    ASSERT_EQ(ghm_npy_write_f32((t / "f.npy").c_str(), f, 2, shape, &err), 0) << err.msg;
    const int32_t l[3] = {4, 0, 9};
    const size_t lshape[1] = {3};
    ASSERT_EQ(ghm_npy_write_i32((t / "l.npy").c_str(), l, 1, lshape, &err), 0) << err.msg;

    struct File {
        std::string name;
        size_t data_bytes;
    } files[] = {{"f.npy", 6 * 4}, {"l.npy", 3 * 4}};
    for (const File &fl : files) {
        SCOPED_TRACE(fl.name);
        const std::string good = bytes_of(t / fl.name);
        // header: magic, version, a 2-byte length, the dict padded to a multiple of 64
        ASSERT_EQ((good.size() - fl.data_bytes) % 64, 0u);
        ghm_npy a;
        ASSERT_EQ(ghm_npy_read((t / fl.name).c_str(), &a, &err), 0) << err.msg;
        ghm_npy_free(&a);
        for (size_t len = 0; len < good.size(); len++) {
            SCOPED_TRACE(std::to_string(len) + " bytes");
            put(t / "cut.npy", good.substr(0, len));
            EXPECT_EQ(ghm_npy_read((t / "cut.npy").c_str(), &a, &err), GHM_EINPUT);
            EXPECT_TRUE(mentions(err, t / "cut.npy")) << err.msg;
        }
        put(t / "long.npy", good + std::string(1, '\0'));
        EXPECT_EQ(ghm_npy_read((t / "long.npy").c_str(), &a, &err), GHM_EINPUT);
        EXPECT_TRUE(mentions(err, t / "long.npy")) << err.msg;
        EXPECT_NE(std::string(err.msg).find("trailing"), std::string::npos) << err.msg;
    }
    // the convenience readers pass the error on
    const std::string good = bytes_of(t / "f.npy");
    put(t / "cut.npy", good.substr(0, good.size() - 1));
    float *x = nullptr;
    int n = 0, d = 0;
    EXPECT_EQ(ghm_npy_read_f32_2d((t / "cut.npy").c_str(), &x, &n, &d, &err), GHM_EINPUT);
    EXPECT_EQ(x, nullptr);
    const std::string lgood = bytes_of(t / "l.npy");
    put(t / "long.npy", lgood + "\x01");
    int *lab = nullptr;
    EXPECT_EQ(ghm_npy_read_labels((t / "long.npy").c_str(), &lab, &n, &err), GHM_EINPUT);
    EXPECT_EQ(lab, nullptr);
}
