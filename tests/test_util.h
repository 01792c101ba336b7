// Small file and process helpers that many suites share (header-only, C++).
// Each suite pulls in the names it uses with using-declarations, so a suite
// that needs a different meaning (for example "exists and is non-empty")
// keeps its own function under its own name.
#ifndef GHM_TEST_UTIL_H
#define GHM_TEST_UTIL_H

#include <gtest/gtest.h>

#include <zlib.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ghm_test {

// A fresh directory /tmp/<test program>_XXXXXX (the program's name tells
// whose leftovers a failed run left behind).
inline std::string tmpdir()
{
    std::string tmpl = std::string("/tmp/") + program_invocation_short_name + "_XXXXXX";
    char *d = mkdtemp(&tmpl[0]);
    EXPECT_NE(d, nullptr) << "mkdtemp " << tmpl;
    return d ? std::string(d) : std::string("/tmp");
}

inline void rmrf(const std::string &p)
{
    int rc = system(("rm -rf '" + p + "'").c_str());
    (void)rc;
}

inline bool exists(const std::string &p)
{
    struct stat st;
    return stat(p.c_str(), &st) == 0;
}

// The whole file ("" when it cannot be read).
inline std::string read_all(const std::string &p)
{
    std::string s;
    FILE *f = fopen(p.c_str(), "rb");
    if (!f) return s;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
    fclose(f);
    return s;
}

// A fresh directory (tmpdir()) removed however the test ends; `dir / "name"` is a path inside it.
struct TempDir {
    std::string path;
    TempDir() : path(tmpdir()) {}
    ~TempDir() { rmrf(path); }
    TempDir(const TempDir &) = delete;
    TempDir &operator=(const TempDir &) = delete;
    std::string operator/(const std::string &name) const { return path + "/" + name; }
};

using Bytes = std::vector<uint8_t>;

// The whole file as bytes (empty when it cannot be read).
inline Bytes read_bytes(const std::string &path)
{
    std::string s = read_all(path);
    return Bytes(s.begin(), s.end());
}

// b as the whole of a plain file / a gzip file.
inline void write_raw(const std::string &path, const Bytes &b)
{
    FILE *f = fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr) << path;
    if (!b.empty()) {
        ASSERT_EQ(fwrite(b.data(), 1, b.size(), f), b.size());
    }
    fclose(f);
}

inline void write_gz(const std::string &path, const Bytes &b)
{
    gzFile g = gzopen(path.c_str(), "wb");
    ASSERT_NE(g, nullptr) << path;
    if (!b.empty()) {
        ASSERT_EQ(gzwrite(g, b.data(), (unsigned)b.size()), (int)b.size());
    }
    gzclose(g);
}

// Exit status of `sh -c cmd` (-1 when it did not exit normally).
inline int shell(const std::string &cmd)
{
    int st = system(cmd.c_str());
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

inline bool on_path(const char *prog)
{
    return shell(std::string("command -v ") + prog + " >/dev/null 2>&1") == 0;
}

} // namespace ghm_test

#endif
