// Small file and process helpers that many suites share (header-only, C++).
// Each suite pulls in the names it uses with using-declarations, so a suite
// that needs a different meaning (for example "exists and is non-empty")
// keeps its own function under its own name.
#ifndef GHM_TEST_UTIL_H
#define GHM_TEST_UTIL_H

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
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
