// core/fileio.c: bounded reads of untrusted files, and the readers built on it
// (JSON, .npy): devices, FIFOs, directories and oversized files are refused at
// once, naming the file, instead of being read without end.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

extern "C" {
#include "core/fileio.h"
#include "core/json.h"
#include "core/npy.h"
}

#include "test_util.h"

namespace {

using ghm_test::rmrf;
using ghm_test::tmpdir;

bool has(const std::string &hay, const std::string &needle) { return hay.find(needle) != std::string::npos; }

void write_bytes(const std::string &p, const std::string &s)
{
    FILE *f = fopen(p.c_str(), "wb");
    ASSERT_NE(f, nullptr) << p;
    fwrite(s.data(), 1, s.size(), f);
    fclose(f);
}

struct Dir {
    std::string path = tmpdir();
    ~Dir() { rmrf(path); }
    std::string operator/(const std::string &s) const { return path + "/" + s; }
};

} // namespace

TEST(CoreFileio, ReadsARegularFileUpToItsCap)
{
    Dir d;
    write_bytes(d / "a.txt", std::string(100, 'x'));
    char *data = nullptr;
    size_t n = 0;
    ghm_error err;
    ghm_error_clear(&err);
    ASSERT_EQ(ghm_read_file_max((d / "a.txt").c_str(), "text", 100, &data, &n, &err), 0) << err.msg;
    EXPECT_EQ(n, 100u);
    EXPECT_EQ(data[100], '\0');
    free(data);
    // one byte over the cap: refused before reading, naming the file, its role and the cap
    EXPECT_EQ(ghm_read_file_max((d / "a.txt").c_str(), "manifest", 99, &data, &n, &err), GHM_EINPUT);
    EXPECT_EQ(data, nullptr);
    EXPECT_TRUE(has(err.msg, d / "a.txt")) << err.msg;
    EXPECT_TRUE(has(err.msg, "manifest of 100 bytes is larger than the limit of 99 bytes")) << err.msg;
    // a link to a regular file is followed
    ASSERT_EQ(symlink((d / "a.txt").c_str(), (d / "link").c_str()), 0);
    ASSERT_EQ(ghm_read_file((d / "link").c_str(), &data, &n, &err), 0) << err.msg;
    EXPECT_EQ(n, 100u);
    free(data);
    // an empty file is fine
    write_bytes(d / "empty", "");
    ASSERT_EQ(ghm_read_file((d / "empty").c_str(), &data, &n, &err), 0) << err.msg;
    EXPECT_EQ(n, 0u);
    free(data);
}

TEST(CoreFileio, RefusesDevicesFifosAndDirectoriesNamingTheFile)
{
    Dir d;
    ASSERT_EQ(symlink("/dev/zero", (d / "record.json").c_str()), 0);
    ASSERT_EQ(mkfifo((d / "fifo").c_str(), 0600), 0);
    ASSERT_EQ(mkdir((d / "dir").c_str(), 0700), 0);
    struct Case {
        std::string path, kind;
    } cases[] = {{d / "record.json", "a character device"}, {d / "fifo", "a FIFO"}, {d / "dir", "a directory"}};
    for (const Case &c : cases) {
        SCOPED_TRACE(c.path);
        char *data = nullptr;
        size_t n = 0;
        ghm_error err;
        ghm_error_clear(&err);
        // ghm_read_file: what every JSON, manifest and copy reader goes through
        EXPECT_EQ(ghm_read_file(c.path.c_str(), &data, &n, &err), GHM_EINPUT);
        EXPECT_EQ(data, nullptr);
        EXPECT_TRUE(has(err.msg, c.path + ": is " + c.kind)) << err.msg;
        EXPECT_TRUE(has(err.msg, "not a regular file")) << err.msg;
        ghm_json *j = nullptr;
        EXPECT_EQ(ghm_json_parse_file(c.path.c_str(), &j, &err), GHM_EINPUT);
        EXPECT_TRUE(has(err.msg, c.path + ": is " + c.kind)) << err.msg;
        EXPECT_TRUE(has(err.msg, ", not a regular file (JSON file expected)")) << err.msg;
        ghm_npy a;
        EXPECT_EQ(ghm_npy_read(c.path.c_str(), &a, &err), GHM_EINPUT);
        EXPECT_TRUE(has(err.msg, "not a regular file (.npy file expected)")) << err.msg;
    }
}

TEST(CoreFileio, JsonFileOverTheCapIsRefusedUnread)
{
    Dir d;
    // a sparse file one byte over the cap: refused from its size, nothing read or allocated
    int fd = open((d / "big.json").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(ftruncate(fd, (off_t)GHM_READ_MAX_TEXT + 1), 0);
    close(fd);
    ghm_json *j = nullptr;
    ghm_error err;
    ghm_error_clear(&err);
    EXPECT_EQ(ghm_json_parse_file((d / "big.json").c_str(), &j, &err), GHM_EINPUT);
    EXPECT_TRUE(has(err.msg, "big.json: JSON file of 268435457 bytes is larger than the limit of 256 MiB")) << err.msg;
}

TEST(CoreFileio, SizeText)
{
    char b[32];
    EXPECT_STREQ(ghm_size_text((size_t)256 << 20, b, sizeof b), "256 MiB");
    EXPECT_STREQ(ghm_size_text((unsigned long long)8 << 30, b, sizeof b), "8 GiB");
    EXPECT_STREQ(ghm_size_text(2048, b, sizeof b), "2 KiB");
    EXPECT_STREQ(ghm_size_text(1000, b, sizeof b), "1000 bytes");
}
