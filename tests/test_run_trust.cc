// Results directories are untrusted input (issue 23): concurrent `ghm run`s
// on one directory all succeed; a directory of another experiment file with
// the same name: is refused (and committed directories are adopted); a record
// that contradicts the plan in any value its run id covers is named and
// redone; unreadable test embeddings make a run unfinished instead of
// blocking every later run and report.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

extern "C" {
#include "core/json.h"
#include "experiment/experiment.h"
#include "runner/lock.h"
#include "experiment/record.h"
#include "runner/run.h"
#include "search/search.h"
}

#include "test_util.h"

namespace {

using ghm_test::exists;
using ghm_test::read_all;
using ghm_test::rmrf;
using ghm_test::shell;
using ghm_test::tmpdir;

void write_file(const std::string &p, const std::string &s) { std::ofstream(p) << s; }

// replace the first occurrence of `from` in a file
bool edit_file(const std::string &p, const std::string &from, const std::string &to)
{
    std::string s = read_all(p);
    size_t k = s.find(from);
    if (k == std::string::npos) return false;
    s.replace(k, from.size(), to);
    write_file(p, s);
    return true;
}

int count(const std::string &s, const std::string &what)
{
    int n = 0;
    for (size_t k = 0; (k = s.find(what, k)) != std::string::npos; k += what.size()) n++;
    return n;
}

#define NEED_BINARY()                                                                                                  \
    do {                                                                                                               \
        if (!exists(GHM_BINARY)) GTEST_SKIP() << "ghm binary not built";                                               \
    } while (0)

const char *kPlain = "name: %s\n"
                     "seeds: [0, 1]\n"
                     "dataset: {name: synthetic, classes: 4, train_per_class: 12, test_per_class: 6, image_size: 8}\n"
                     "backbone: {name: mlp, embedding_dim: 4}\n"
                     "train: {epochs: 1, steps_per_epoch: 1, batch_size: 8, m_per_class: 2}\n"
                     "eval: {metrics: [recall]}\n"
                     "losses:\n"
                     "  - name: triplet\n";

// 2 trials x 2 folds of triplet, then 2 reproductions x 2 folds of each loss: 12 runs
const char *kSearch = "name: %s\n"
                      "dataset: {name: synthetic, classes: 12, train_per_class: 12, test_per_class: 5, image_size: 8, "
                      "split: classes}\n"
                      "backbone: {name: mlp, embedding_dim: 6}\n"
                      "train: {epochs: 1, steps_per_epoch: 3, batch_size: 12, m_per_class: 4}\n"
                      "eval: {every: 0, metrics: [recall, map_r, r_precision]}\n"
                      "search: {method: random, trials: 2, objective: map@r, seed: 1}\n"
                      "protocol: {folds: 2}\n"
                      "final: {reproductions: 2}\n"
                      "losses:\n"
                      "  - name: triplet\n"
                      "    search: {margin: {min: 0.02, max: 1.0, log: true}}\n"
                      "  - name: contrastive\n";

std::string yaml(const char *tmpl, const char *name)
{
    char buf[2048];
    snprintf(buf, sizeof buf, tmpl, name);
    return buf;
}

// ghm without gnuplot on its PATH: the figures are not what these tests are
// about, and drawing them takes most of a tiny run's time (the report is
// written all the same, its figures left out with a warning)
const std::string kNoPlots = "env PATH=/nonexistent ";

std::string run_cmd(const std::string &file, const std::string &out, const std::string &log,
                    const std::string &extra = "")
{
    return kNoPlots + GHM_BINARY + " run " + file + " --out " + out + " --threads 1 " + extra + " >" + log + " 2>&1";
}

// ---- item 3: the experiment file's copy, under the directory's lock ----

// A report holding the directory's lock removes the *.tmp files left in it;
// the copy of the experiment file must therefore be written under that lock
// too: with the lock held elsewhere, `ghm run` waits before it writes
// experiment.yaml (it used to copy at once and wait only for its report).
TEST(RunTrust, TheExperimentCopyIsWrittenUnderTheDirectoryLock)
{
    NEED_BINARY();
    std::string d = tmpdir(), y = d + "/lk.yaml", res = d + "/out/lk", log = d + "/run.log";
    write_file(y, yaml(kPlain, "lk"));
    char lp[4096];
    ASSERT_EQ(ghm_lock_dir_path(res.c_str(), lp, sizeof lp), 0);
    ghm_lock held;
    ghm_error err;
    ghm_error_clear(&err);
    ASSERT_EQ(ghm_lock_take(lp, 0, &held, nullptr, 0, &err), 0) << err.msg;
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", run_cmd(y, d + "/out", log).c_str(), (char *)nullptr);
        _exit(127);
    }
    bool waiting = false;
    for (int i = 0; i < 300 && !waiting; i++) { // up to 30 s for the "waiting" line
        usleep(100000);
        waiting = read_all(log).find("waiting for") != std::string::npos;
    }
    EXPECT_TRUE(waiting) << read_all(log);
    EXPECT_FALSE(exists(res + "/experiment.yaml")) << "copied without the directory's lock";
    EXPECT_FALSE(exists(res + "/runs")) << "trained before the directory was claimed";
    ghm_lock_release(&held);
    int st = 0;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << read_all(log);
    EXPECT_EQ(read_all(res + "/experiment.yaml"), read_all(y));
    rmrf(d);
}

// Four `ghm run`s of one file started together on one directory, a few times
// over: every one exits 0 (7-8 in 100 used to fail with "experiment.yaml:
// rename failed"), and every run is trained once.
TEST(RunTrust, ConcurrentRunsOnOneDirectoryAllSucceed)
{
    NEED_BINARY();
    std::string d = tmpdir(), y = d + "/c.yaml";
    write_file(y, yaml(kPlain, "c"));
    for (int round = 0; round < 3; round++) {
        std::string out = d + "/out" + std::to_string(round), cmd;
        for (int k = 0; k < 4; k++) {
            std::string log = d + "/" + std::to_string(round) + "_" + std::to_string(k);
            cmd += "(" + run_cmd(y, out, log + ".log") + "; echo $? >" + log + ".rc) & ";
        }
        ASSERT_EQ(shell(cmd + "wait"), 0);
        std::string logs;
        for (int k = 0; k < 4; k++) {
            std::string log = d + "/" + std::to_string(round) + "_" + std::to_string(k);
            EXPECT_EQ(read_all(log + ".rc"), "0\n") << read_all(log + ".log");
            logs += read_all(log + ".log");
        }
        EXPECT_EQ(count(logs, "    done in "), 2) << logs; // 2 runs in the plan, each trained once
        EXPECT_EQ(read_all(out + "/c/experiment.yaml"), read_all(y));
    }
    rmrf(d);
}

// ---- item 5: one results directory, one experiment file ----

TEST(RunTrust, ASearchAndAPlainFileWithOneNameDoNotShareADirectory)
{
    NEED_BINARY();
    std::string d = tmpdir(), out = d + "/out", res = out + "/same";
    std::string ys = d + "/same_search.yaml", yp = d + "/same_plain.yaml";
    write_file(ys, yaml(kSearch, "same"));
    write_file(yp, yaml(kPlain, "same"));
    ASSERT_EQ(shell(run_cmd(ys, out, d + "/s.log")), 0) << read_all(d + "/s.log");
    std::string id = read_all(res + "/" GHM_IDENTITY_FILE);
    EXPECT_NE(id.find("\"file\": \"same_search.yaml\""), std::string::npos) << id;
    EXPECT_NE(id.find("\"kind\": \"search\""), std::string::npos) << id;
    std::string copy = read_all(res + "/experiment.yaml");

    // the plain file: refused before anything is written, naming both files and the ways out
    for (const char *extra : {"", "--dry-run"}) {
        ASSERT_EQ(shell(run_cmd(yp, out, d + "/p.log", extra)), 2) << extra << read_all(d + "/p.log");
        std::string log = read_all(d + "/p.log");
        EXPECT_NE(log.find("same_search.yaml"), std::string::npos) << log;
        EXPECT_NE(log.find(yp), std::string::npos) << log;
        EXPECT_NE(log.find("--out"), std::string::npos) << log;
        EXPECT_NE(log.find("--force"), std::string::npos) << log;
        EXPECT_NE(log.find("another name"), std::string::npos) << log;
        EXPECT_EQ(log.find("done in"), std::string::npos) << log;
        EXPECT_EQ(read_all(res + "/experiment.yaml"), copy);
        EXPECT_EQ(read_all(res + "/" GHM_IDENTITY_FILE), id);
    }
    // the search file under another file name but byte for byte the same: its directory
    write_file(d + "/copy_of_it.yaml", read_all(ys));
    EXPECT_EQ(shell(run_cmd(d + "/copy_of_it.yaml", out, d + "/c.log")), 0) << read_all(d + "/c.log");
    EXPECT_EQ(read_all(res + "/" GHM_IDENTITY_FILE), id);
    // the same file edited (another seed for the trials) stays its directory
    write_file(ys, read_all(ys) + "seeds: [0, 1]\n");
    EXPECT_EQ(shell(run_cmd(ys, out, d + "/e.log", "--dry-run")), 0) << read_all(d + "/e.log");
    // --force takes the directory over
    EXPECT_EQ(shell(run_cmd(yp, out, d + "/f.log", "--force")), 0) << read_all(d + "/f.log");
    id = read_all(res + "/" GHM_IDENTITY_FILE);
    EXPECT_NE(id.find("\"file\": \"same_plain.yaml\""), std::string::npos) << id;
    EXPECT_NE(id.find("\"kind\": \"plain\""), std::string::npos) << id;
    EXPECT_EQ(read_all(res + "/experiment.yaml"), read_all(yp));
    // and now the search file is the other one
    EXPECT_EQ(shell(run_cmd(ys, out, d + "/s2.log", "--dry-run")), 2) << read_all(d + "/s2.log");
    rmrf(d);
}

// A directory from before identity.json: its copy of the experiment file
// decides (same name and kind: adopted; a plain file on a search file's
// directory: refused); an unreadable identity.json is refused too.
TEST(RunTrust, DirectoriesWithoutIdentityAreJudgedByTheirCopy)
{
    std::string d = tmpdir(), res = d + "/same";
    ASSERT_EQ(shell("mkdir -p '" + res + "'"), 0);
    ghm_experiment plain, search;
    ghm_error err;
    std::string yp = d + "/plain.yaml", ys = d + "/search.yaml";
    write_file(yp, yaml(kPlain, "same"));
    write_file(ys, yaml(kSearch, "same"));
    ASSERT_EQ(ghm_experiment_load(yp.c_str(), &plain, &err), 0) << err.msg;
    ASSERT_EQ(ghm_experiment_load(ys.c_str(), &search, &err), 0) << err.msg;
    std::string idp = res + "/" GHM_IDENTITY_FILE;
    // an old search directory: the plain file is refused, nothing written
    write_file(res + "/experiment.yaml", "# old comment\n" + yaml(kSearch, "same"));
    int took = -1;
    EXPECT_EQ(ghm_results_dir_claim(res.c_str(), &plain, 1, 0, &took, &err), GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find("search experiment named 'same'"), std::string::npos) << err.msg;
    EXPECT_FALSE(exists(idp));
    // ...the search file (another comment: not the same bytes) is adopted and stamped
    EXPECT_EQ(ghm_results_dir_claim(res.c_str(), &search, 1, 0, &took, &err), 0) << err.msg;
    EXPECT_EQ(took, 0);
    EXPECT_NE(read_all(idp).find("\"file\": \"search.yaml\""), std::string::npos) << read_all(idp);
    EXPECT_EQ(read_all(res + "/experiment.yaml"), read_all(ys));
    // a dry run checks but writes nothing
    ASSERT_EQ(remove(idp.c_str()), 0);
    write_file(res + "/experiment.yaml", yaml(kPlain, "other_name"));
    EXPECT_EQ(ghm_results_dir_claim(res.c_str(), &plain, 0, 0, &took, &err), GHM_EINPUT);
    EXPECT_EQ(ghm_results_dir_claim(res.c_str(), &plain, 0, 1, &took, &err), 0) << err.msg;
    EXPECT_EQ(took, 1);
    EXPECT_FALSE(exists(idp));
    EXPECT_EQ(read_all(res + "/experiment.yaml"), yaml(kPlain, "other_name"));
    // an identity file that is not one
    write_file(idp, "{\"format\": \"ghm-identity-1\", \"name\": 3}");
    EXPECT_EQ(ghm_results_dir_claim(res.c_str(), &plain, 1, 0, &took, &err), GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find(idp), std::string::npos) << err.msg;
    ASSERT_EQ(remove(idp.c_str()), 0);
    ASSERT_EQ(symlink("/dev/zero", idp.c_str()), 0);
    EXPECT_EQ(ghm_results_dir_claim(res.c_str(), &plain, 1, 0, &took, &err), GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find("not a regular file"), std::string::npos) << err.msg;
    EXPECT_EQ(ghm_results_dir_claim(res.c_str(), &plain, 1, 1, &took, &err), 0) << err.msg;
    EXPECT_NE(read_all(idp).find("\"kind\": \"plain\""), std::string::npos); // the link was replaced, not followed
    ghm_experiment_free(&plain);
    ghm_experiment_free(&search);
    rmrf(d);
}

// Every committed results directory (on a copy) is still its experiment
// file's: every planned run finished (the stricter record checks accept the
// committed records) and the directory is adopted and stamped; a committed
// search directory is refused to a plain file of the same name. A study still
// running across sessions says so in results/<name>/IN_PROGRESS.md (what is done,
// what remains): then every committed record must still be a finished run of
// the plan, but runs may be missing.
TEST(RunTrust, CommittedResultsResumeTheirOwnDirectories)
{
    std::string src = GHM_SOURCE_DIR;
    std::vector<std::string> files;
    FILE *p = popen(("ls " + src + "/experiments/*.yaml " + src + "/experiments/checks/*.yaml 2>/dev/null").c_str(),
                    "r");
    ASSERT_NE(p, nullptr);
    char line[4096];
    while (fgets(line, sizeof line, p)) {
        std::string f = line;
        if (!f.empty() && f.back() == '\n') f.pop_back();
        files.push_back(f);
    }
    pclose(p);
    std::string d = tmpdir();
    int n_dirs = 0, n_search = 0;
    std::string a_search;
    for (const std::string &f : files) {
        ghm_experiment e;
        ghm_error err;
        ASSERT_EQ(ghm_experiment_load(f.c_str(), &e, &err), 0) << err.msg;
        std::string committed = src + "/results/" + e.name;
        if (!exists(committed + "/runs")) {
            ghm_experiment_free(&e);
            continue;
        }
        // the plan of the file that made the records: the directory's own copy (an experiment file may have
        // moved on since, e.g. a fair-study file that now searches more keys; its records stay valid for the copy)
        ghm_experiment ec;
        ASSERT_EQ(ghm_experiment_load((committed + "/experiment.yaml").c_str(), &ec, &err), 0) << err.msg;
        // the records are read where they are; the claim writes into a copy
        // of the directory's experiment.yaml (and identity.json, when committed
        // later: left out, so the adoption of an old directory is what is tested)
        std::string res = d + "/" + e.name;
        ASSERT_EQ(shell("mkdir '" + res + "' && cp '" + committed + "/experiment.yaml' '" + res + "/'"), 0);
        int complete = 1, in_progress = exists(committed + "/IN_PROGRESS.md");
        if (ec.search) {
            ASSERT_EQ(ghm_search_expand(&ec, committed.c_str(), &complete, &err), 0) << err.msg;
            n_search++;
            a_search = res;
        }
        if (!in_progress) {
            EXPECT_TRUE(complete) << f;
        }
        int n_records = 0;
        for (int i = 0; i < ec.n_runs; i++) {
            ghm_error_clear(&err);
            if (in_progress && !exists(committed + "/runs/" + ec.runs[i].run_id + "/record.json")) continue;
            n_records++;
            EXPECT_EQ(ghm_record_state_spec(committed.c_str(), &ec.runs[i], &err), GHM_RUN_FINISHED)
                << f << " run " << ec.runs[i].run_id << ": " << err.msg;
        }
        if (in_progress) {
            EXPECT_GT(n_records, 0) << f << ": IN_PROGRESS.md but no record of the plan";
        }
        ghm_experiment_free(&ec);
        int took = -1;
        EXPECT_EQ(ghm_results_dir_claim(res.c_str(), &e, 1, 0, &took, &err), 0) << f << ": " << err.msg;
        EXPECT_EQ(took, 0);
        std::string id = read_all(res + "/" GHM_IDENTITY_FILE);
        std::string base = f.substr(f.rfind('/') + 1);
        EXPECT_NE(id.find("\"file\": \"" + base + "\""), std::string::npos) << id;
        EXPECT_NE(id.find(e.search ? "\"kind\": \"search\"" : "\"kind\": \"plain\""), std::string::npos) << id;
        EXPECT_EQ(ghm_results_dir_claim(res.c_str(), &e, 1, 0, &took, &err), 0) << f << ": " << err.msg;
        n_dirs++;
        ghm_experiment_free(&e);
    }
    EXPECT_GE(n_dirs, 8);
    ASSERT_GE(n_search, 1);
    // an old search directory (no identity.json) and a plain file of the same name
    ASSERT_EQ(shell("rm -f '" + a_search + "/" GHM_IDENTITY_FILE + "'"), 0);
    std::string name = a_search.substr(a_search.rfind('/') + 1), yp = d + "/plain.yaml";
    write_file(yp, yaml(kPlain, name.c_str()));
    ghm_experiment plain;
    ghm_error err;
    ASSERT_EQ(ghm_experiment_load(yp.c_str(), &plain, &err), 0) << err.msg;
    EXPECT_EQ(ghm_results_dir_claim(a_search.c_str(), &plain, 1, 0, nullptr, &err), GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find("a search experiment"), std::string::npos) << err.msg;
    ghm_experiment_free(&plain);
    rmrf(d);
}

// ---- item 6: records that contradict the plan ----

class RecordTrust : public ::testing::Test {
  protected:
    // runs plan index 0 of the file into d/<name>; path = its record
    void run_first(const std::string &y, const char *name)
    {
        memset(&e, 0, sizeof e);
        ghm_error err;
        ASSERT_EQ(ghm_experiment_load_string(y.c_str(), "t.yaml", &e, &err), 0) << err.msg;
        d = tmpdir();
        out = d + "/" + name;
        int idx[1] = {0};
        ghm_run_hooks hooks = {nullptr, nullptr, nullptr, nullptr, nullptr};
        int done = 0;
        ASSERT_EQ(ghm_sweep_run(&e, out.c_str(), idx, 1, &hooks, nullptr, nullptr, &done, nullptr, &err), 0)
            << err.msg;
        path = out + "/runs/" + e.runs[0].run_id + "/record.json";
        original = read_all(path);
        ASSERT_EQ(ghm_record_state_spec(out.c_str(), &e.runs[0], &err), GHM_RUN_FINISHED) << err.msg;
    }
    void TearDown() override
    {
        ghm_experiment_free(&e);
        rmrf(d);
    }
    // after one edit of the record: it is not finished, and the message names
    // the file and the field; a sweep selects it again
    void expect_redone(const std::string &from, const std::string &to, const std::string &field)
    {
        write_file(path, original);
        ASSERT_TRUE(edit_file(path, from, to)) << from;
        ghm_error err;
        ghm_error_clear(&err);
        EXPECT_EQ(ghm_record_state_spec(out.c_str(), &e.runs[0], &err), GHM_RUN_INVALID) << to;
        std::string msg = err.msg;
        EXPECT_NE(msg.find(path), std::string::npos) << to << ": " << msg;
        EXPECT_NE(msg.find(field), std::string::npos) << to << ": " << msg;
        std::vector<int> idx((size_t)e.n_runs);
        int n = 0;
        ghm_sweep_select(&e, out.c_str(), nullptr, idx.data(), &n, nullptr);
        bool selected = false;
        for (int i = 0; i < n; i++) selected |= idx[(size_t)i] == 0;
        EXPECT_TRUE(selected) << to;
    }
    ghm_experiment e;
    std::string d, out, path, original;
};

TEST_F(RecordTrust, EveryValueTheRunIdCoversIsChecked)
{
    run_first(yaml(kPlain, "tiny"), "tiny");
    // params come before the record's own "epochs" (epochs trained) and "seed" after "seed_text"
    expect_redone("\"epochs\": 1", "\"epochs\": 3", "params.train.epochs");
    expect_redone("\"seed\": 0", "\"seed\": 7", "seed");
    expect_redone("\"experiment\": \"tiny\"", "\"experiment\": \"other\"", "experiment");
    expect_redone("\"batch_size\": 8", "\"batch_size\": 16", "params.train.batch_size");
    expect_redone("\"lr\": ", "\"lr\": 0.5, \"x\": ", "params.train.optimizer.lr");
    expect_redone("\"embedding_dim\": 4", "\"embedding_dim\": \"4\"", "params.backbone.embedding_dim");
    expect_redone("\"name\": \"mlp\"", "\"name\": \"convnet\"", "params.backbone.name");
    expect_redone("\"status\": \"ok\"", "\"search\": {\"role\": \"trial\", \"trial\": 0}, \"status\": \"ok\"",
                  "search.role");
    // a record without its params at all
    write_file(path, original);
    std::string s = read_all(path);
    size_t a = s.find("\"params\": {"), b = s.find("\"status\"");
    ASSERT_TRUE(a != std::string::npos && b != std::string::npos && a < b);
    write_file(path, s.substr(0, a) + s.substr(b));
    ghm_error err;
    EXPECT_EQ(ghm_record_state_spec(out.c_str(), &e.runs[0], &err), GHM_RUN_INVALID);
    EXPECT_NE(std::string(err.msg).find("missing"), std::string::npos) << err.msg;
    // what the run id does not cover may change: the plan index, the host, the timings
    write_file(path, original);
    ASSERT_TRUE(edit_file(path, "\"threads\": ", "\"threads\": 99, \"x\": "));
    ASSERT_TRUE(edit_file(path, "\"index\": 0", "\"index\": 5"));
    EXPECT_EQ(ghm_record_state_spec(out.c_str(), &e.runs[0], &err), GHM_RUN_FINISHED) << err.msg;
}

TEST_F(RecordTrust, SearchFieldsAreChecked)
{
    run_first(yaml(kSearch, "tiny_search"), "tiny_search");
    ASSERT_EQ(e.runs[0].role, GHM_ROLE_TRIAL);
    expect_redone("\"trial\": 0", "\"trial\": 1", "search.trial");
    expect_redone("\"role\": \"trial\"", "\"role\": \"final\"", "search.role");
    expect_redone("\"fold\": 0", "\"fold\": 1", "search.fold");
    expect_redone("\"eval_test\": 0", "\"eval_test\": 1", "test"); // a trial that claims a test evaluation
    expect_redone("\"trial\": 0", "\"trial\": 0, \"reproduction\": 1", "search.reproduction");
    // the report ignores it, naming it
    write_file(path, original);
    ASSERT_TRUE(edit_file(path, "\"trial\": 0", "\"trial\": 1"));
    ghm_record *recs = nullptr;
    int n = 0, n_bad = 0;
    ghm_error err;
    ASSERT_EQ(ghm_records_load_ex(out.c_str(), GHM_RECORDS_ALL, &e, nullptr, nullptr, &recs, &n, &n_bad, &err), 0);
    EXPECT_EQ(n, 0);
    EXPECT_EQ(n_bad, 1);
    ghm_records_free(recs, n);
}

// ---- item 7: unreadable test embeddings ----

TEST(RunTrust, CorruptTestEmbeddingsMakeARunUnfinished)
{
    NEED_BINARY();
    std::string d = tmpdir(), y = d + "/emb.yaml", out = d + "/out", res = out + "/emb";
    write_file(y, yaml(kSearch, "emb"));
    ASSERT_EQ(shell(run_cmd(y, out, d + "/a.log")), 0) << read_all(d + "/a.log");
    ghm_experiment e;
    ghm_error err;
    ASSERT_EQ(ghm_experiment_load(y.c_str(), &e, &err), 0) << err.msg;
    int complete = 0;
    ASSERT_EQ(ghm_search_expand(&e, res.c_str(), &complete, &err), 0) << err.msg;
    ASSERT_TRUE(complete);
    const ghm_run_spec *fin = nullptr;
    for (int i = 0; i < e.n_runs && !fin; i++)
        if (e.runs[i].role == GHM_ROLE_FINAL) fin = &e.runs[i];
    ASSERT_NE(fin, nullptr);
    std::string rd = res + "/runs/" + fin->run_id, emb = rd + "/embeddings_test.npy";
    std::string lab = rd + "/embeddings_test_labels.npy", good = read_all(emb);
    ASSERT_GT(good.size(), 200u);
    // truncated: not finished, the file named
    write_file(emb, good.substr(0, 100));
    ghm_error_clear(&err);
    EXPECT_EQ(ghm_record_state_spec(res.c_str(), fin, &err), GHM_RUN_INVALID);
    EXPECT_NE(std::string(err.msg).find(emb), std::string::npos) << err.msg;
    EXPECT_FALSE(ghm_record_is_finished(res.c_str(), fin->run_id));
    // labels gone, embeddings there: not finished either
    write_file(emb, good);
    std::string labels = read_all(lab);
    ASSERT_EQ(remove(lab.c_str()), 0);
    EXPECT_EQ(ghm_record_state_spec(res.c_str(), fin, &err), GHM_RUN_INVALID);
    // both gone (they are not committed): finished
    ASSERT_EQ(remove(emb.c_str()), 0);
    EXPECT_EQ(ghm_record_state_spec(res.c_str(), fin, &err), GHM_RUN_FINISHED) << err.msg;
    write_file(lab, labels);

    // the report still computes every other concatenated evaluation
    ASSERT_EQ(shell("rm -rf '" + res + "/ensembles'"), 0);
    write_file(emb, good.substr(0, 100));
    EXPECT_EQ(shell(kNoPlots + GHM_BINARY + " report " + res + " >" + d + "/r.log 2>&1"), 0) << read_all(d + "/r.log");
    EXPECT_NE(read_all(d + "/r.log").find("3 reproduction(s) evaluated"), std::string::npos) << read_all(d + "/r.log");
    EXPECT_TRUE(exists(res + "/summary.md"));
    // ghm run names the run, redoes it (once) and then evaluates the fourth
    ASSERT_EQ(shell(run_cmd(y, out, d + "/b.log")), 0) << read_all(d + "/b.log");
    std::string log = read_all(d + "/b.log");
    EXPECT_NE(log.find(emb), std::string::npos) << log;
    EXPECT_NE(log.find("redone"), std::string::npos) << log;
    EXPECT_EQ(count(log, "    done in "), 1) << log;
    EXPECT_NE(log.find("1 reproduction(s) evaluated"), std::string::npos) << log;
    EXPECT_EQ(read_all(emb), good); // the same seed gives the same embeddings
    EXPECT_EQ(ghm_record_state_spec(res.c_str(), fin, &err), GHM_RUN_FINISHED) << err.msg;
    ghm_experiment_free(&e);
    rmrf(d);
}

} // namespace
