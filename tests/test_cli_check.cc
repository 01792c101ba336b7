// Process-level tests of the ghm binary: `ghm loss NAME --check` (verdict and
// exit status for every registered loss), and `ghm CMD --help` (every option a
// command's parser accepts is in its help, in `ghm help` and in README).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <cctype>
#include <set>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <vector>

extern "C" {
#include "losses/loss.h"
}

#include "test_util.h"

namespace {

using ghm_test::read_all;

struct Result {
    int status;
    std::string out;
};

// run the ghm binary with args (a shell fragment), stdout + stderr captured
Result ghm(const std::string &args)
{
    std::string cmd = std::string("'") + GHM_BINARY + "' " + args + " 2>&1";
    FILE *p = popen(cmd.c_str(), "r");
    Result r{-1, ""};
    if (!p) return r;
    char buf[4096];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, k);
    int st = pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

// every "--option" string literal in a source file of cli/
std::set<std::string> options_in(const std::string &file)
{
    std::string text = read_all(std::string(GHM_SOURCE_DIR) + "/cli/" + file);
    EXPECT_FALSE(text.empty()) << file;
    std::set<std::string> out;
    for (size_t p = text.find("\"--"); p != std::string::npos; p = text.find("\"--", p + 1)) {
        size_t e = p + 3;
        while (e < text.size() && (islower((unsigned char)text[e]) || isdigit((unsigned char)text[e]) || text[e] == '-'))
            e++;
        if (e > p + 3 && e < text.size() && text[e] == '"') out.insert(text.substr(p + 1, e - p - 1));
    }
    return out;
}

bool has_option(const std::string &text, const std::string &opt)
{
    // the option as a word: not followed by another option character
    for (size_t p = text.find(opt); p != std::string::npos; p = text.find(opt, p + 1)) {
        char next = p + opt.size() < text.size() ? text[p + opt.size()] : ' ';
        if (!(isalnum((unsigned char)next) || next == '-')) return true;
    }
    return false;
}

} // namespace

TEST(CliCheck, EveryLossPassesAtDefaults)
{
    for (int i = 0; i < ghm_loss_count(); i++) {
        const char *name = ghm_loss_at(i)->name;
        Result r = ghm(std::string("loss ") + name + " --check");
        EXPECT_EQ(r.status, 0) << "ghm loss " << name << " --check:\n" << r.out;
        EXPECT_NE(r.out.find("PASS: " + std::string(name)), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("\"pass\": true"), std::string::npos) << r.out;
    }
}

TEST(CliCheck, FailureExitsOne)
{
    // a tolerance no finite difference in float can meet: the verdict must be FAIL, exit 1
    Result r = ghm("loss contrastive --check --tol 1e-12");
    EXPECT_EQ(r.status, 1) << r.out;
    EXPECT_NE(r.out.find("FAIL: contrastive"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"pass\": false"), std::string::npos) << r.out;
    // without --check there is no verdict and the status is 0
    r = ghm("loss contrastive");
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(r.out.find("PASS"), std::string::npos) << r.out;
}

TEST(CliCheck, StopGradientLossIsCheckedAgainstWhatItImplements)
{
    Result r = ghm("loss circle --check");
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("stop-gradient"), std::string::npos) << r.out;
    r = ghm("loss circle --check --set detach=0");
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(r.out.find("stop-gradient"), std::string::npos) << r.out;
}

TEST(CliCheck, BadCheckOptionsAreUsageErrors)
{
    for (const char *args : {"loss triplet --check --tol 0", "loss triplet --check --tol x", "loss triplet --h 2",
                             "loss triplet --n 0", "loss triplet --embeddings /nonexistent.npy"}) {
        Result r = ghm(args);
        EXPECT_EQ(r.status, 2) << args << ":\n" << r.out;
    }
}

// `ghm CMD --help` shows every option the command's parser accepts; `ghm help`
// and README name them too.
TEST(CliCheck, HelpShowsEveryOption)
{
    struct Family {
        std::vector<std::string> commands; // help texts to read
        std::vector<std::string> files;    // parsers in cli/
        bool in_main_help;                 // `ghm help` lists the options (all do)
    } families[] = {
        {{"run", "report"}, {"cmd_run.c", "cmd_report.c"}, true},
        {{"eval", "bench"}, {"cmd_eval.c"}, true}, // bench eval shares the file
        {{"loss"}, {"cmd_loss.c"}, true},
        {{"data"}, {"cmd_data.c"}, true},
        {{"bench"}, {"cmd_bench.c"}, true},
    };
    std::string readme = read_all(std::string(GHM_SOURCE_DIR) + "/README.md");
    Result main_help = ghm("help");
    ASSERT_EQ(main_help.status, 0);
    for (const Family &f : families) {
        std::string help;
        for (const std::string &c : f.commands) {
            Result r = ghm(c + " --help");
            EXPECT_EQ(r.status, 0) << "ghm " << c << " --help:\n" << r.out;
            help += r.out;
        }
        for (const std::string &file : f.files) {
            std::set<std::string> opts = options_in(file);
            EXPECT_GE(opts.size(), 2u) << "no option literals found in cli/" << file;
            for (const std::string &opt : opts) {
                if (opt == "--help") continue;
                EXPECT_TRUE(has_option(help, opt)) << opt << " (cli/" << file << ") is missing from `ghm "
                                                   << f.commands[0] << " --help`";
                EXPECT_TRUE(has_option(readme, opt)) << opt << " (cli/" << file << ") is missing from README";
                if (f.in_main_help) {
                    EXPECT_TRUE(has_option(main_help.out, opt)) << opt << " (cli/" << file
                                                                << ") is missing from `ghm help`";
                }
            }
        }
    }
    // -h works as well, and `list` has a help too
    EXPECT_EQ(ghm("list --help").status, 0);
    EXPECT_EQ(ghm("loss -h").status, 0);
}
