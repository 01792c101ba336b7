// The repository's documents and files agree with the code: README's quick-start
// example is the quick-start file, README's loss table is the registry, and the
// quick start's results are never committed (a fresh clone's first command must
// train, not find every run finished).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "losses/loss.h"

static std::string slurp(const std::string &path)
{
    std::ifstream f(path, std::ios::binary);
    EXPECT_TRUE(f.good()) << "cannot read " << path;
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

static std::string src(const char *rel) { return std::string(GHM_SOURCE_DIR) + "/" + rel; }

TEST(Docs, ReadmeQuickstartBlockIsTheFile)
{
    std::string readme = slurp(src("README.md")), file = slurp(src("experiments/quickstart.yaml"));
    size_t sec = readme.find("## Experiment files");
    ASSERT_NE(sec, std::string::npos) << "README has no '## Experiment files' section";
    size_t open = readme.find("```yaml\n", sec);
    ASSERT_NE(open, std::string::npos) << "README's '## Experiment files' has no ```yaml block";
    open += 8;
    size_t close = readme.find("```\n", open);
    ASSERT_NE(close, std::string::npos);
    EXPECT_EQ(readme.substr(open, close - open), file)
        << "README's quick-start YAML block differs from experiments/quickstart.yaml: copy the file into README";
}

TEST(Docs, QuickstartResultsAreIgnored)
{
    std::string gi = slurp(src(".gitignore"));
    std::istringstream lines(gi);
    std::string line;
    bool found = false;
    while (std::getline(lines, line))
        if (line == "/results/quickstart/") found = true;
    EXPECT_TRUE(found) << ".gitignore must list /results/quickstart/ (the quick start must train on a fresh clone)";
}

TEST(Docs, QuickstartResultsAreNotCommitted)
{
    // Only meaningful in a git checkout with git installed; a source tarball has nothing to check.
    std::string cmd = std::string("cd '") + GHM_SOURCE_DIR +
                      "' && test -d .git -o -f .git && command -v git >/dev/null 2>&1 && "
                      "git ls-files -- results/quickstart 2>/dev/null";
    FILE *p = popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    char buf[512];
    while (fgets(buf, sizeof buf, p)) out += buf;
    pclose(p);
    EXPECT_EQ(out, "") << "files under results/quickstart/ are committed: `git rm -r --cached results/quickstart`";
}
