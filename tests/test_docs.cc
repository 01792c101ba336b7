// The repository's documents and files agree with the code: README's quick-start
// example is the quick-start file, README's loss table is the registry, and the
// quick start's results are never committed (a fresh clone's first command must
// train, not find every run finished).
// GCC 12's <regex> instantiations warn -Wmaybe-uninitialized inside libstdc++'s
// std::function under the sanitizer build's flags: a false positive in the
// system headers, silenced for this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "datasets/dataset.h"
#include "eval/eval.h"
#include "experiment/settings.h"
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

// stdout of `ghm ARGS` (the built binary)
static std::string run_ghm(const std::string &args)
{
    std::string out;
    FILE *p = popen((std::string(GHM_BINARY) + " " + args + " 2>/dev/null").c_str(), "r");
    EXPECT_NE(p, nullptr);
    if (!p) return out;
    char buf[512];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    EXPECT_EQ(pclose(p), 0) << "ghm " << args;
    return out;
}

// stderr of `ghm ARGS` run in DIR
static std::string run_ghm_in(const std::string &dir, const std::string &args)
{
    std::string out;
    FILE *p = popen(("cd '" + dir + "' && " + GHM_BINARY + " " + args + " 2>&1 >/dev/null").c_str(), "r");
    EXPECT_NE(p, nullptr);
    if (!p) return out;
    char buf[512];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
    return out;
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
    // and it is exactly what `ghm list losses --markdown` prints (the command docs/adding_a_loss.md gives)
    std::string md = run_ghm("list losses --markdown");
    size_t open = readme.find("| name | loss |\n", sec);
    ASSERT_NE(open, std::string::npos) << "README's '## Losses' has no '| name | loss |' table";
    size_t close = readme.find("\n\n", open);
    std::string table = readme.substr(open, close == std::string::npos ? std::string::npos : close + 1 - open);
    EXPECT_EQ(table, md) << "README's loss table differs from the registry: run `./build/ghm list losses --markdown` "
                            "and paste its output over the table under '## Losses' in README.md";
    int baselines = ghm_loss_count() - 1; // every loss but GHM-Loss itself
    const char *word = number_word(baselines);
    ASSERT_NE(word, nullptr);
    std::string flat = readme;
    for (char &ch : flat)
        if (ch == '\n') ch = ' ';
    EXPECT_NE(flat.find(std::string(word) + " baseline losses"), std::string::npos)
        << "README should say '" << word << " baseline losses' (the registry has " << ghm_loss_count()
        << " losses, GHM-Loss included): edit the count in README's first paragraph";
}

// docs/experiment_format.md documents every key the experiment-file parser
// knows, and no key it does not: the settings table (experiment/settings.h), the
// schema table of experiment/config.c (its SEC/LST/SPC entries) and the keys its "known keys: a | b" messages name
// for search, protocol, final and a losses entry. A section counts as
// documented when one of its keys is (`dataset.limit` by `limit.train`).
TEST(Docs, ExperimentFormatListsEveryKnownKey)
{
    std::string cfg = slurp(src("experiment/config.c")), doc = slurp(src("docs/experiment_format.md"));
    std::set<std::string> known;
    std::regex field(R"((?:SEC|LST|SPC)\("([a-z0-9_.]+)\")");
    for (std::sregex_iterator it(cfg.begin(), cfg.end(), field), end; it != end; ++it) known.insert((*it)[1]);
    EXPECT_GE(known.size(), 20u) << "the schema table of experiment/config.c was not found";
    for (int i = 0; i < ghm_settings_count; i++) known.insert(ghm_settings[i].path); // experiment/settings.h
    std::regex msg(R"(in (search|protocol|final|a losses entry)[^;"]*; known keys: ([a-z0-9_ |]+))");
    int messages = 0;
    for (std::sregex_iterator it(cfg.begin(), cfg.end(), msg), end; it != end; ++it, messages++) {
        std::string prefix = (*it)[1] == "a losses entry" ? "losses" : std::string((*it)[1]);
        std::istringstream keys((*it)[2]);
        std::string k;
        while (keys >> k)
            if (k != "|") known.insert(prefix + "." + k);
    }
    EXPECT_EQ(messages, 4) << "experiment/config.c's 'known keys' messages of search, protocol, final, a losses entry";

    // the doc's tables: the first cell's `key`s, qualified by the section ("### `train`",
    // a "`train.optimizer` (...)" line) under "## Keys" and "## Hyper-parameter search"
    std::set<std::string> documented;
    std::istringstream lines(doc);
    std::string line, prefix;
    bool in_keys = false;
    std::regex tick("`([a-z0-9_.]+)`");
    while (std::getline(lines, line)) {
        std::smatch m;
        if (line.rfind("## ", 0) == 0) {
            in_keys = line == "## Keys" || line.rfind("## Hyper-parameter search", 0) == 0;
            prefix = "";
        } else if (line.rfind("### ", 0) == 0) {
            prefix = std::regex_search(line, m, tick) ? std::string(m[1]) : "";
        } else if (line.rfind("`", 0) == 0 && std::regex_search(line, m, tick) && m.position(0) == 0 &&
                   known.count(m[1]) && line.compare(m.length(0), 2, " (") == 0) {
            prefix = m[1];
        } else if (in_keys && line.rfind("| `", 0) == 0) {
            std::string cell = line.substr(1, line.find('|', 1) - 1);
            for (std::sregex_iterator it(cell.begin(), cell.end(), tick), end; it != end; ++it)
                documented.insert(prefix.empty() ? std::string((*it)[1]) : prefix + "." + std::string((*it)[1]));
        }
    }
    for (const std::string &k : known) {
        bool found = documented.count(k) > 0; // top-level keys: in the top-level table itself
        for (const std::string &d : documented) found = found || (k.find('.') != k.npos && d.rfind(k + ".", 0) == 0);
        EXPECT_TRUE(found) << "key '" << k << "' (experiment/config.c) is missing from docs/experiment_format.md's tables";
    }
    for (const std::string &d : documented)
        EXPECT_TRUE(known.count(d)) << "docs/experiment_format.md documents '" << d
                                    << "', which experiment/config.c does not know";
}

// docs/experiment_format.md's "## Settings table" is exactly what
// `ghm list settings --markdown` prints (ghm_settings_list: the one table of
// run settings in experiment/settings.h), like README's loss table.
TEST(Docs, ExperimentFormatSettingsTableIsTheTable)
{
    std::string doc = slurp(src("docs/experiment_format.md"));
    char *md = ghm_settings_list(1);
    ASSERT_NE(md, nullptr);
    std::string table = md;
    free(md);
    size_t sec = doc.find("\n## Settings table\n");
    ASSERT_NE(sec, std::string::npos) << "docs/experiment_format.md has no '## Settings table' section";
    size_t open = doc.find("\n| setting |", sec);
    size_t next = doc.find("\n## ", sec + 1);
    ASSERT_NE(open, std::string::npos) << "'## Settings table' has no '| setting |' table";
    ASSERT_TRUE(next == std::string::npos || open < next) << "'## Settings table' has no '| setting |' table";
    size_t close = doc.find("\n\n", open + 1);
    std::string have = doc.substr(open + 1, close == std::string::npos ? std::string::npos : close - open);
    EXPECT_EQ(have, table) << "docs/experiment_format.md's settings table differs from experiment/settings.h: run "
                              "`./build/ghm list settings --markdown` and paste its output over the table under "
                              "'## Settings table'";
    // one row per setting, each naming its YAML path
    for (int i = 0; i < ghm_settings_count; i++)
        EXPECT_NE(have.find(std::string("| `") + ghm_settings[i].path + "` |"), std::string::npos)
            << ghm_settings[i].path;
}

// The doc's example of an unknown top-level key is the parser's message,
// "known keys" list included (it once lacked report, search, protocol, ...).
TEST(Docs, ExperimentFormatUnknownKeyExampleIsTheParsersMessage)
{
    char tmpl[] = "/tmp/ghm_docs_testXXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    std::string dir = tmpl;
    {
        std::ofstream f(dir + "/exp.yaml");
        f << "name: x\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlossez: [{name: ghm}]\n";
    }
    std::string err = run_ghm_in(dir, "run exp.yaml --dry-run");
    int rc = system(("rm -rf '" + dir + "'").c_str());
    (void)rc;
    const std::string lead = "ghm: error: ";
    ASSERT_EQ(err.rfind(lead, 0), 0u) << err;
    std::string message = err.substr(lead.size());
    if (!message.empty() && message.back() == '\n') message.pop_back();
    ASSERT_NE(message.find("known keys: "), std::string::npos) << message;
    std::string doc = slurp(src("docs/experiment_format.md"));
    EXPECT_NE(doc.find("\n" + message + "\n"), std::string::npos)
        << "docs/experiment_format.md's 'Validation errors' should show the parser's message:\n" << message;
}

// docs/metrics.md defines every metric of the registry (eval/metric_registry.c):
// its display name in bold where the definition is, "**MAP@R**", "**Recall@K**".
TEST(Docs, MetricsPageDefinesEveryRegisteredMetric)
{
    std::string page = slurp(src("docs/metrics.md"));
    for (int i = 0; i < ghm_metric_count(); i++) {
        const ghm_metric_ops *mo = ghm_metric_at(i);
        std::string bold = std::string("**") + mo->long_name + ((mo->needs & GHM_METRIC_NEEDS_K) ? "K" : "") + "**";
        EXPECT_NE(page.find(bold), std::string::npos)
            << "docs/metrics.md has no definition of metric '" << mo->name << "': write it as a bullet starting "
            << bold << " under '## Retrieval metrics' or '## Clustering metrics'";
    }
}

// Every registered data set has its row in README's data set table (the
// registry is one line per data set; its user-facing description is README's).
TEST(Docs, ReadmeDatasetTableNamesEveryRegisteredDataset)
{
    std::string readme = slurp(src("README.md"));
    size_t at = readme.find("\n## Datasets\n");
    ASSERT_NE(at, std::string::npos) << "README.md has no '## Datasets' section";
    size_t end = readme.find("\n## ", at + 1);
    std::string section = readme.substr(at, end == std::string::npos ? std::string::npos : end - at);
    for (int i = 0; i < ghm_dataset_count(); i++) {
        std::string row = std::string("\n| `") + ghm_dataset_name_at(i) + "` |";
        EXPECT_NE(section.find(row), std::string::npos)
            << "README.md's '## Datasets' table has no row for data set '" << ghm_dataset_name_at(i)
            << "': add one starting " << row.substr(1);
    }
}
