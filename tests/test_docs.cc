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

static const char *number_word(int n)
{
    static const char *const w[] = {"zero",    "one",     "two",       "three",    "four",    "five",    "six",
                                    "seven",   "eight",   "nine",      "ten",      "eleven",  "twelve",  "thirteen",
                                    "fourteen", "fifteen", "sixteen",  "seventeen", "eighteen", "nineteen", "twenty"};
    return n >= 0 && n <= 20 ? w[n] : nullptr;
}

// README's loss table lists exactly the registered losses, in registry order,
// and its count of baselines ("fourteen baseline losses") is the registry's.
TEST(Docs, ReadmeLossTableIsTheRegistry)
{
    std::string readme = slurp(src("README.md"));
    size_t sec = readme.find("\n## Losses");
    ASSERT_NE(sec, std::string::npos) << "README has no '## Losses' section";
    size_t end = readme.find("\n## ", sec + 5);
    std::istringstream lines(readme.substr(sec, end == std::string::npos ? std::string::npos : end - sec));
    std::string line;
    std::vector<std::string> names;
    while (std::getline(lines, line))
        if (line.rfind("| `", 0) == 0) {
            size_t close = line.find('`', 3);
            if (close != std::string::npos) names.push_back(line.substr(3, close - 3));
        }
    std::vector<std::string> reg;
    for (int i = 0; i < ghm_loss_count(); i++) reg.push_back(ghm_loss_at(i)->name);
    EXPECT_EQ(names, reg) << "README's loss table (## Losses) must list every registered loss, in registry order";
    int baselines = ghm_loss_count() - 1; // every loss but GHM-Loss itself
    const char *word = number_word(baselines);
    ASSERT_NE(word, nullptr);
    std::string flat = readme;
    for (char &ch : flat)
        if (ch == '\n') ch = ' ';
    EXPECT_NE(flat.find(std::string(word) + " baseline losses"), std::string::npos)
        << "README should say '" << word << " baseline losses' (the registry has " << ghm_loss_count()
        << " losses, GHM-Loss included)";
}
