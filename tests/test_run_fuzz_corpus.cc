// Replays the fuzzing corpus (fuzz/corpus/<target>/) and every input that
// ever crashed a reader (fuzz/regressions/<target>/) through the fuzz target
// bodies, in the ordinary suite and under ASan/UBSan with `ghm test --asan`.
#include <gtest/gtest.h>

#include <dirent.h>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include "fuzz/targets.h"
}

namespace {

std::vector<std::string> files_in(const std::string &dir)
{
    std::vector<std::string> out;
    DIR *d = opendir(dir.c_str());
    if (!d) return out;
    while (struct dirent *e = readdir(d))
        if (e->d_name[0] != '.') out.push_back(dir + "/" + e->d_name);
    closedir(d);
    return out;
}

int replay(const char *target, int (*fn)(const uint8_t *, size_t))
{
    int n = 0;
    for (const char *kind : {"corpus", "regressions"}) {
        for (const std::string &p : files_in(std::string(GHM_SOURCE_DIR) + "/fuzz/" + kind + "/" + target)) {
            std::ifstream f(p, std::ios::binary);
            std::stringstream ss;
            ss << f.rdbuf();
            std::string s = ss.str();
            SCOPED_TRACE(p);
            fn(reinterpret_cast<const uint8_t *>(s.data()), s.size()); // aborts on a broken contract
            n++;
        }
    }
    return n;
}

} // namespace

TEST(FuzzCorpus, Npy) { EXPECT_GE(replay("npy", ghm_fuzz_npy), 3); }
TEST(FuzzCorpus, Idx) { EXPECT_GE(replay("idx", ghm_fuzz_idx), 3); }
TEST(FuzzCorpus, Yaml) { EXPECT_GE(replay("yaml", ghm_fuzz_yaml), 3); }
TEST(FuzzCorpus, Record) { EXPECT_GE(replay("record", ghm_fuzz_record), 3); }
