// runner/run.c + experiment/record.c reliability: a failed run writes a failure
// record and the sweep goes on; failed runs are skipped on resume unless asked,
// left out of the statistics and listed by the report; runs at chance level are
// flagged; records that are malformed or do not match the plan are named,
// treated as unfinished and redone.
#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <vector>

extern "C" {
#include "core/json.h"
#include "experiment/experiment.h"
#include "experiment/record.h"
#include "report/report.h"
#include "runner/run.h"
}

#include "test_util.h"

namespace {

using ghm_test::tmpdir;
using ghm_test::rmrf;
using ghm_test::exists;
using ghm_test::read_all;

// npair without normalisation at lr 10 and momentum 0.99 diverges within two
// epochs; at lr 0.001 it trains normally
const char *kDiverge = "name: div\n"
                       "seeds: [0]\n"
                       "dataset: {name: synthetic, classes: 4, train_per_class: 12, test_per_class: 6, image_size: 8, "
                       "val_fraction: 0.25}\n"
                       "backbone: {name: mlp, embedding_dim: 4, normalize: false}\n"
                       "train: {epochs: 3, steps_per_epoch: 4, batch_size: 8, m_per_class: 2, optimizer: {name: sgd, "
                       "lr: 10, momentum: 0.99}}\n"
                       "losses:\n"
                       "  - name: npair\n"
                       "    params: {l2_reg: 0}\n"
                       "sweep: {train.optimizer.lr: [0.001, 10]}\n";

void write_file(const std::string &p, const std::string &s)
{
    std::ofstream f(p);
    f << s;
}

int exit_status(const std::string &cmd)
{
    int st = system(cmd.c_str());
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

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

struct Events {
    int starts = 0, done = 0, failed = 0;
    std::string last_error;
};

void on_event(const ghm_sweep_event *ev, void *user)
{
    Events *c = static_cast<Events *>(user);
    if (ev->kind == GHM_SWEEP_START) c->starts++;
    if (ev->kind == GHM_SWEEP_DONE) c->done++;
    if (ev->kind == GHM_SWEEP_FAILED) {
        c->failed++;
        c->last_error = ev->err ? ev->err->msg : "";
    }
}

struct Warnings {
    std::vector<std::string> msgs;
};

void collect(const char *msg, void *user) { static_cast<Warnings *>(user)->msgs.push_back(msg); }

} // namespace

TEST(RunFailure, SweepGoesOnRecordsTheFailureAndSkipsItOnResume)
{
    ghm_experiment e;
    memset(&e, 0, sizeof e);
    ghm_error err;
    ASSERT_EQ(ghm_experiment_load_string(kDiverge, "div.yaml", &e, &err), 0) << err.msg;
    ASSERT_EQ(e.n_runs, 2);
    // the diverging run first: the sweep must not stop there
    int idx[2] = {1, 0}, n;
    std::string d = tmpdir(), out = d + "/div";
    ghm_run_hooks hooks = {nullptr, nullptr, nullptr, nullptr, nullptr};
    Events ev;
    int done = -1, failed = -1;
    int rc = ghm_sweep_run(&e, out.c_str(), idx, 2, &hooks, on_event, &ev, &done, &failed, &err);
    EXPECT_LT(rc, 0);
    EXPECT_NE(rc, GHM_EINTR);
    EXPECT_NE(rc, GHM_EINPUT); // a failed run is a run-time failure (exit 1), not bad input
    EXPECT_EQ(done, 1);
    EXPECT_EQ(failed, 1);
    EXPECT_EQ(ev.starts, 2);
    EXPECT_EQ(ev.failed, 1);
    EXPECT_NE(ev.last_error.find("non-finite"), std::string::npos) << ev.last_error;
    EXPECT_NE(std::string(err.msg).find(e.runs[1].run_id), std::string::npos) << err.msg;

    EXPECT_EQ(ghm_record_state(out.c_str(), e.runs[0].run_id), GHM_RUN_FINISHED);
    EXPECT_EQ(ghm_record_state(out.c_str(), e.runs[1].run_id), GHM_RUN_FAILED);
    EXPECT_TRUE(ghm_record_is_finished(out.c_str(), e.runs[0].run_id));
    EXPECT_FALSE(ghm_record_is_finished(out.c_str(), e.runs[1].run_id));

    // the failure record: status, reason, epoch, batch
    std::string rp = out + "/runs/" + e.runs[1].run_id + "/record.json";
    ghm_record r;
    ASSERT_EQ(ghm_record_read(rp.c_str(), &r, &err), 0) << err.msg;
    EXPECT_TRUE(r.failed);
    EXPECT_NE(std::string(r.failure).find("non-finite"), std::string::npos) << r.failure;
    EXPECT_GE(r.fail_epoch, 1);
    EXPECT_GE(r.fail_batch, 1);
    EXPECT_EQ(r.test.n, 0);
    ghm_record_free(&r);
    ghm_json *j;
    ASSERT_EQ(ghm_json_parse_file(rp.c_str(), &j, &err), 0);
    EXPECT_STREQ(ghm_json_str(j, "status", ""), "failed");
    EXPECT_GE(ghm_json_num(ghm_json_get(j, "failure"), "epoch", -1), 1);
    ghm_json_free(j);
    ASSERT_EQ(ghm_json_parse_file((out + "/runs/" + e.runs[0].run_id + "/record.json").c_str(), &j, &err), 0);
    EXPECT_STREQ(ghm_json_str(j, "status", ""), "ok");
    ghm_json_free(j);

    // resume: the failed run is skipped unless retry_failed
    ghm_select_opts so = {nullptr, 0, 0, 0, 0};
    int total;
    ghm_sweep_select(&e, out.c_str(), &so, idx, &n, &total);
    EXPECT_EQ(n, 0);
    EXPECT_EQ(total, 2);
    so.retry_failed = 1;
    ghm_sweep_select(&e, out.c_str(), &so, idx, &n, &total);
    ASSERT_EQ(n, 1);
    EXPECT_EQ(idx[0], 1);

    // loading: statistics never see failed records; they can be asked for
    ghm_record *recs;
    int nr, bad;
    ASSERT_EQ(ghm_records_load(out.c_str(), &recs, &nr, &bad, &err), 0);
    EXPECT_EQ(nr, 1);
    EXPECT_EQ(bad, 0);
    ghm_records_free(recs, nr);
    ASSERT_EQ(ghm_records_load_ex(out.c_str(), GHM_RECORDS_FAILED, &e, nullptr, nullptr, &recs, &nr, &bad, &err), 0);
    ASSERT_EQ(nr, 1);
    EXPECT_TRUE(recs[0].failed);
    EXPECT_STREQ(recs[0].run_id, e.runs[1].run_id);
    ghm_records_free(recs, nr);

    // the report: one run in the statistics, the failed one listed
    ghm_report_opts ro;
    ghm_report_opts_default(&ro);
    ro.plots = 0;
    ghm_report_result res;
    ASSERT_EQ(ghm_report_write(out.c_str(), &e, &ro, &res, &err), 0) << err.msg;
    EXPECT_EQ(res.n_records, 1);
    EXPECT_EQ(res.n_failed, 1);
    EXPECT_EQ(res.n_missing, 0);
    std::string md = read_all(out + "/summary.md");
    EXPECT_NE(md.find("## Failed runs"), std::string::npos) << md;
    EXPECT_NE(md.find(e.runs[1].run_id), std::string::npos) << md;
    EXPECT_NE(md.find("left out of every statistic"), std::string::npos) << md;
    std::string csv = read_all(out + "/summary.csv");
    EXPECT_EQ(csv.find("lr=10"), std::string::npos);

    ghm_experiment_free(&e);
    rmrf(d);
}

TEST(RunFailure, InterruptedRunLeavesNoEmptyDirectory)
{
    ghm_experiment e;
    memset(&e, 0, sizeof e);
    ghm_error err;
    ASSERT_EQ(ghm_experiment_load_string(kDiverge, "div.yaml", &e, &err), 0) << err.msg;
    std::string d = tmpdir(), rd = d + "/runs/x";
    volatile sig_atomic_t stop = 1;
    ghm_run_hooks hooks = {nullptr, nullptr, &stop, nullptr, nullptr};
    EXPECT_EQ(ghm_run_one(&e.runs[0], rd.c_str(), &hooks, nullptr, &err), GHM_EINTR);
    EXPECT_FALSE(exists(rd));
    ghm_experiment_free(&e);
    rmrf(d);
}

TEST(RunFailure, CliGoesOnExitsOneAndRetriesOnlyWhenAsked)
{
    std::string bin = GHM_BINARY;
    if (!exists(bin)) GTEST_SKIP() << "ghm binary not built";
    std::string d = tmpdir();
    write_file(d + "/div.yaml", kDiverge);
    std::string run = bin + " run " + d + "/div.yaml --threads 1 --out " + d + "/res";
    EXPECT_EQ(exit_status(run + " >" + d + "/log 2>&1"), 1);
    std::string log = read_all(d + "/log");
    EXPECT_NE(log.find("1 run(s) failed"), std::string::npos) << log;
    EXPECT_NE(log.find("--retry-failed"), std::string::npos) << log;
    EXPECT_TRUE(exists(d + "/res/div/summary.md")); // the report is written for the runs that finished
    // rerun: the failed run is skipped, and the user is told
    EXPECT_EQ(exit_status(run + " >" + d + "/log 2>&1"), 0);
    log = read_all(d + "/log");
    EXPECT_NE(log.find("1 failed before (skipped"), std::string::npos) << log;
    EXPECT_NE(log.find("0 to run"), std::string::npos) << log;
    // --retry-failed: tried again (and fails again)
    EXPECT_EQ(exit_status(run + " --retry-failed >" + d + "/log 2>&1"), 1);
    log = read_all(d + "/log");
    EXPECT_NE(log.find("1 to run"), std::string::npos) << log;
    rmrf(d);
}

TEST(RunFailure, ReportFlagsRunsAtChanceLevel)
{
    std::string d = tmpdir();
    for (int i = 0; i < 2; i++) {
        ghm_record r;
        ghm_record_init(&r);
        snprintf(r.run_id, sizeof r.run_id, "000000000000000%d", i);
        snprintf(r.loss, sizeof r.loss, "triplet");
        r.index = i;
        r.seed = (uint64_t)i;
        ghm_metric_set_put(&r.test, "recall@1", i == 0 ? 0.12 : 0.8);
        r.chance = 0.125;
        r.at_chance = i == 0;
        ghm_error err;
        ASSERT_EQ(ghm_record_write(&r, nullptr, (d + "/runs/" + r.run_id).c_str(), &err), 0) << err.msg;
    }
    ghm_record r;
    ghm_error err;
    ASSERT_EQ(ghm_record_read((d + "/runs/0000000000000000/record.json").c_str(), &r, &err), 0) << err.msg;
    EXPECT_TRUE(r.at_chance);
    EXPECT_DOUBLE_EQ(r.chance, 0.125);
    ghm_record_free(&r);
    ghm_report_opts ro;
    ghm_report_opts_default(&ro);
    ro.plots = 0;
    ghm_report_result res;
    ASSERT_EQ(ghm_report_write(d.c_str(), nullptr, &ro, &res, &err), 0) << err.msg;
    EXPECT_EQ(res.n_at_chance, 1);
    std::string md = read_all(d + "/summary.md");
    size_t k = md.find("## Runs at chance level");
    ASSERT_NE(k, std::string::npos) << md;
    EXPECT_NE(md.find("0000000000000000", k), std::string::npos) << md;
    EXPECT_EQ(md.find("0000000000000001", k), std::string::npos) << md;
    rmrf(d);
}

// A run that learns nothing (the classes of the synthetic data are told apart
// by nothing the loss sees: a learning rate of 0 with a tiny embedding) is
// flagged by the run itself; a run that learns is not.
TEST(RunFailure, RunAtChanceIsFlaggedInItsRecord)
{
    const char *y = "name: ch\n"
                    "seeds: [0]\n"
                    "dataset: {name: synthetic, classes: 8, train_per_class: 40, test_per_class: 10, image_size: 8, "
                    "val_fraction: 0.5}\n"
                    "backbone: {name: mlp, embedding_dim: 8}\n"
                    "train: {epochs: 1, steps_per_epoch: 2, batch_size: 16, m_per_class: 2}\n"
                    "losses:\n"
                    "  - name: proxy_nca\n"
                    "    params: {softmax_scale: 10000}\n";
    ghm_experiment e;
    memset(&e, 0, sizeof e);
    ghm_error err;
    ASSERT_EQ(ghm_experiment_load_string(y, "ch.yaml", &e, &err), 0) << err.msg;
    std::string d = tmpdir();
    ghm_run_hooks hooks = {nullptr, nullptr, nullptr, nullptr, nullptr};
    ghm_record r;
    ASSERT_EQ(ghm_run_one(&e.runs[0], (d + "/r").c_str(), &hooks, &r, &err), 0) << err.msg;
    // 8 balanced classes, 160 validation items: chance = 19/159
    EXPECT_NEAR(r.chance, 19.0 / 159.0, 1e-12);
    double v1 = -1;
    ASSERT_TRUE(ghm_metric_set_find(&r.val, "recall@1", &v1));
    double thr = r.chance + 3 * sqrt(r.chance * (1 - r.chance) / 160);
    EXPECT_EQ(r.at_chance, v1 <= thr) << v1 << " vs " << thr;
    ghm_record_free(&r);
    ghm_experiment_free(&e);
    rmrf(d);
}

// ---- record validation ----

class RecordValidation : public ::testing::Test {
  protected:
    void SetUp() override
    {
        const char *y = "name: tiny\n"
                        "seeds: [0, 1]\n"
                        "dataset: {name: synthetic, classes: 4, train_per_class: 12, test_per_class: 6, "
                        "image_size: 8, val_fraction: 0.25}\n"
                        "backbone: {name: mlp, embedding_dim: 4}\n"
                        "train: {epochs: 1, steps_per_epoch: 1, batch_size: 8, m_per_class: 2}\n"
                        "losses:\n"
                        "  - name: triplet\n";
        memset(&e, 0, sizeof e);
        ghm_error err;
        ASSERT_EQ(ghm_experiment_load_string(y, "tiny.yaml", &e, &err), 0) << err.msg;
        d = tmpdir();
        out = d + "/tiny";
        int idx[2] = {0, 1};
        ghm_run_hooks hooks = {nullptr, nullptr, nullptr, nullptr, nullptr};
        int done = 0;
        ASSERT_EQ(ghm_sweep_run(&e, out.c_str(), idx, 2, &hooks, nullptr, nullptr, &done, nullptr, &err), 0)
            << err.msg;
        path = out + "/runs/" + e.runs[1].run_id + "/record.json";
        original = read_all(path);
    }
    void TearDown() override
    {
        ghm_experiment_free(&e);
        rmrf(d);
    }
    // the record of run 1 after an edit: its state against the plan, and the warning
    int state_after(const std::string &from, const std::string &to, std::string *msg)
    {
        write_file(path, original);
        EXPECT_TRUE(edit_file(path, from, to)) << from;
        ghm_error err;
        ghm_error_clear(&err);
        int st = ghm_record_state_spec(out.c_str(), &e.runs[1], &err);
        if (msg) *msg = err.msg;
        return st;
    }
    ghm_experiment e;
    std::string d, out, path, original;
};

TEST_F(RecordValidation, BadValuesAreNamedAndTreatedAsUnfinished)
{
    ASSERT_EQ(ghm_record_state_spec(out.c_str(), &e.runs[1], nullptr), GHM_RUN_FINISHED);
    struct Case {
        const char *from, *to, *expect;
    } cases[] = {
        {"\"recall@1\": ", "\"recall@1\": 5, \"x\": ", "outside"},          // out of range
        {"\"recall@1\": ", "\"recall@1\": \"0.5\", \"x\": ", "number"},     // a string
        {"\"recall@1\": ", "\"recall@1\": null, \"x\": ", "number"},        // null
        {"\"recall@1\": ", "\"recall@1\": -0.1, \"x\": ", "outside"},       // negative
        {"\"ami\": ", "\"ami\": 1e400, \"x\": ", ""},                       // overflow (parser or range)
        {"\"loss\": \"triplet\"", "\"loss\": \"nonexistent\"", "loss"},     // unknown loss
        {"\"loss\": \"triplet\"", "\"loss\": \"contrastive\"", "contrastive"}, // another loss than planned
        {"\"status\": \"ok\"", "\"status\": \"maybe\"", "status"},
        {"\"format\": \"ghm-record-1\"", "\"format\": \"ghm-record-9\"", "format"},
    };
    for (const Case &c : cases) {
        std::string msg;
        EXPECT_EQ(state_after(c.from, c.to, &msg), GHM_RUN_INVALID) << c.to;
        EXPECT_NE(msg.find(path), std::string::npos) << c.to << ": " << msg;
        EXPECT_NE(msg.find(c.expect), std::string::npos) << c.to << ": " << msg;
        // without the plan only the schema is checked: another valid loss passes there
        if (strcmp(c.expect, "contrastive") != 0) {
            EXPECT_EQ(ghm_record_state(out.c_str(), e.runs[1].run_id), GHM_RUN_MISSING) << c.to;
        }
    }
}

TEST_F(RecordValidation, MissingPlannedMetricOrEmptyTestIsInvalid)
{
    std::string msg;
    // "test": {} -- cut the whole test object's content
    std::string s = original;
    size_t a = s.find("\"test\": {");
    ASSERT_NE(a, std::string::npos);
    size_t b = s.find('}', a);
    write_file(path, s.substr(0, a) + "\"test\": {" + s.substr(b));
    ghm_error err;
    EXPECT_EQ(ghm_record_state_spec(out.c_str(), &e.runs[1], &err), GHM_RUN_INVALID);
    EXPECT_NE(std::string(err.msg).find(path), std::string::npos) << err.msg;
    // one planned metric missing (renamed to another valid one)
    EXPECT_EQ(state_after("\"recall@2\": ", "\"recall@16\": ", &msg), GHM_RUN_INVALID);
    EXPECT_NE(msg.find("recall@2"), std::string::npos) << msg;
    // the run id of another run
    EXPECT_EQ(state_after(std::string("\"run_id\": \"") + e.runs[1].run_id,
                          std::string("\"run_id\": \"") + e.runs[0].run_id, &msg),
              GHM_RUN_INVALID);
    // the seed of another run
    EXPECT_EQ(state_after("\"seed_text\": \"", "\"seed_text\": \"9", &msg), GHM_RUN_INVALID);
    EXPECT_NE(msg.find("seed"), std::string::npos) << msg;
}

TEST_F(RecordValidation, SelectRedoesAndReportIgnoresBadRecordsNamingThem)
{
    ASSERT_TRUE(edit_file(path, "\"recall@1\": ", "\"recall@1\": 5, \"x\": "));
    int idx[2], n;
    ghm_sweep_select(&e, out.c_str(), nullptr, idx, &n, nullptr);
    ASSERT_EQ(n, 1);
    EXPECT_EQ(idx[0], 1);
    ghm_report_opts ro;
    ghm_report_opts_default(&ro);
    ro.plots = 0;
    Warnings w;
    ro.warn = collect;
    ro.warn_user = &w;
    ghm_report_result res;
    ghm_error err;
    ASSERT_EQ(ghm_report_write(out.c_str(), &e, &ro, &res, &err), 0) << err.msg;
    EXPECT_EQ(res.n_records, 1);
    EXPECT_EQ(res.n_bad, 1);
    EXPECT_EQ(res.n_missing, 1);
    ASSERT_EQ(w.msgs.size(), 1u);
    EXPECT_NE(w.msgs[0].find(path), std::string::npos) << w.msgs[0];
    // an unreadable record is named too
    write_file(path, "{\"run_id\": ");
    w.msgs.clear();
    ASSERT_EQ(ghm_report_write(out.c_str(), &e, &ro, &res, &err), 0) << err.msg;
    ASSERT_EQ(w.msgs.size(), 1u);
    EXPECT_NE(w.msgs[0].find(path), std::string::npos) << w.msgs[0];
    // the sweep redoes it
    ghm_run_hooks hooks = {nullptr, nullptr, nullptr, nullptr, nullptr};
    int done = 0;
    ASSERT_EQ(ghm_sweep_run(&e, out.c_str(), idx, n, &hooks, nullptr, nullptr, &done, nullptr, &err), 0) << err.msg;
    EXPECT_EQ(ghm_record_state_spec(out.c_str(), &e.runs[1], &err), GHM_RUN_FINISHED) << err.msg;
}

TEST_F(RecordValidation, CliNamesTheBadRecord)
{
    std::string bin = GHM_BINARY;
    if (!exists(bin)) GTEST_SKIP() << "ghm binary not built";
    ASSERT_TRUE(edit_file(path, "\"recall@1\": ", "\"recall@1\": 5, \"x\": "));
    // ghm report: warns with the path, the mean is not corrupted
    EXPECT_EQ(exit_status(bin + " report --no-plots " + out + " >" + d + "/log 2>&1"), 0);
    std::string log = read_all(d + "/log");
    EXPECT_NE(log.find(path), std::string::npos) << log;
    std::string csv = read_all(out + "/summary.csv");
    EXPECT_EQ(csv.find("500"), std::string::npos) << csv;
    // old records without "status" are finished records
    write_file(path, original);
    ASSERT_TRUE(edit_file(path, "\"status\": \"ok\",", ""));
    EXPECT_EQ(ghm_record_state(out.c_str(), e.runs[1].run_id), GHM_RUN_FINISHED);
}

// ---- locks ----

#include <csignal>
#include <unistd.h>
extern "C" {
#include "runner/lock.h"
}

TEST(RunLock, StaleLockOfAKilledProcessDoesNotBlock)
{
    std::string d = tmpdir(), lp = d + "/sub/x.lock";
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
        ghm_lock l;
        ghm_error e;
        if (ghm_lock_take(lp.c_str(), 0, &l, nullptr, 0, &e) != 0) _exit(3);
        raise(SIGKILL); // killed while holding it
        _exit(4);
    }
    int st = 0;
    ASSERT_EQ(waitpid(pid, &st, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(st)) << st;
    ASSERT_TRUE(exists(lp)); // the lock file is left behind...
    ghm_lock l;
    ghm_error e;
    EXPECT_EQ(ghm_lock_take(lp.c_str(), 0, &l, nullptr, 0, &e), 0) << e.msg; // ...and does not block
    // held: a second taker is told who holds it
    ghm_lock l2;
    char who[256];
    EXPECT_EQ(ghm_lock_take(lp.c_str(), 0, &l2, who, sizeof who, &e), 1);
    EXPECT_NE(std::string(who).find("pid " + std::to_string(getpid())), std::string::npos) << who;
    ghm_lock_release(&l);
    EXPECT_EQ(ghm_lock_take(lp.c_str(), 0, &l2, who, sizeof who, &e), 0);
    ghm_lock_release(&l2);
    rmrf(d);
}

TEST(RunLock, ARunHeldByAnotherProcessIsSkippedNotTrainedTwice)
{
    const char *y = "name: lk\n"
                    "seeds: [0, 1, 2]\n"
                    "dataset: {name: synthetic, classes: 4, train_per_class: 12, test_per_class: 6, image_size: 8}\n"
                    "backbone: {name: mlp, embedding_dim: 4}\n"
                    "train: {epochs: 1, steps_per_epoch: 1, batch_size: 8, m_per_class: 2}\n"
                    "losses:\n"
                    "  - name: triplet\n";
    ghm_experiment e;
    memset(&e, 0, sizeof e);
    ghm_error err;
    ASSERT_EQ(ghm_experiment_load_string(y, "lk.yaml", &e, &err), 0) << err.msg;
    ASSERT_EQ(e.n_runs, 3);
    std::string d = tmpdir(), out = d + "/lk";
    char lp[2048];
    ASSERT_EQ(ghm_lock_run_path(out.c_str(), e.runs[1].run_id, lp, sizeof lp), 0);
    ghm_lock held;
    ASSERT_EQ(ghm_lock_take(lp, 0, &held, nullptr, 0, &err), 0) << err.msg;
    int idx[3] = {0, 1, 2}, done = 0, failed = 0;
    ghm_run_hooks hooks = {nullptr, nullptr, nullptr, nullptr, nullptr};
    struct Ev {
        int starts = 0, skipped = 0;
        std::string msg;
    } ev;
    auto fn = [](const ghm_sweep_event *x, void *u) {
        Ev *v = static_cast<Ev *>(u);
        if (x->kind == GHM_SWEEP_START) v->starts++;
        if (x->kind == GHM_SWEEP_SKIPPED) {
            v->skipped++;
            v->msg = x->err ? x->err->msg : "";
        }
    };
    EXPECT_EQ(ghm_sweep_run(&e, out.c_str(), idx, 3, &hooks, fn, &ev, &done, &failed, &err), 0) << err.msg;
    EXPECT_EQ(done, 2);
    EXPECT_EQ(failed, 0);
    EXPECT_EQ(ev.starts, 2);
    EXPECT_EQ(ev.skipped, 1);
    EXPECT_NE(ev.msg.find("pid"), std::string::npos) << ev.msg;
    EXPECT_EQ(ghm_record_state(out.c_str(), e.runs[1].run_id), GHM_RUN_MISSING);
    EXPECT_FALSE(exists(out + "/runs/" + e.runs[1].run_id));
    ghm_lock_release(&held);
    // a run another process finished after this one selected it is not redone
    ev = Ev();
    int one[1] = {0};
    EXPECT_EQ(ghm_sweep_run(&e, out.c_str(), one, 1, &hooks, fn, &ev, &done, &failed, &err), 0) << err.msg;
    EXPECT_EQ(done, 0);
    EXPECT_EQ(ev.skipped, 1);
    EXPECT_NE(ev.msg.find("finished"), std::string::npos) << ev.msg;
    ghm_experiment_free(&e);
    rmrf(d);
}

TEST(RunLock, TwoProcessesOnOneDirectoryTrainEachRunOnce)
{
    std::string bin = GHM_BINARY;
    if (!exists(bin)) GTEST_SKIP() << "ghm binary not built";
    std::string d = tmpdir();
    write_file(d + "/t.yaml", "name: two\n"
                              "seeds: [0, 1, 2, 3, 4, 5]\n"
                              "dataset: {name: synthetic, classes: 4, train_per_class: 12, test_per_class: 6, "
                              "image_size: 8}\n"
                              "backbone: {name: mlp, embedding_dim: 4}\n"
                              "train: {epochs: 2, steps_per_epoch: 3, batch_size: 8, m_per_class: 2}\n"
                              "losses:\n"
                              "  - name: triplet\n");
    std::string run = bin + " run " + d + "/t.yaml --threads 1 --out " + d + "/res";
    int rc = system(("(" + run + " >" + d + "/a.log 2>&1; echo $? >" + d + "/a.rc) & (" + run + " >" + d +
                     "/b.log 2>&1; echo $? >" + d + "/b.rc) & wait")
                        .c_str());
    ASSERT_EQ(rc, 0);
    EXPECT_EQ(read_all(d + "/a.rc"), "0\n") << read_all(d + "/a.log");
    EXPECT_EQ(read_all(d + "/b.rc"), "0\n") << read_all(d + "/b.log");
    std::string logs = read_all(d + "/a.log") + read_all(d + "/b.log");
    int trained = 0;
    for (size_t k = 0; (k = logs.find("    done in ", k)) != std::string::npos; k++) trained++;
    EXPECT_EQ(trained, 6) << logs; // every run trained exactly once between the two
    ghm_experiment e;
    memset(&e, 0, sizeof e);
    ghm_error err;
    ASSERT_EQ(ghm_experiment_load((d + "/t.yaml").c_str(), &e, &err), 0);
    for (int i = 0; i < e.n_runs; i++) EXPECT_EQ(ghm_record_state((d + "/res/two").c_str(), e.runs[i].run_id), GHM_RUN_FINISHED);
    ghm_experiment_free(&e);
    EXPECT_TRUE(exists(d + "/res/two/summary.csv"));
    rmrf(d);
}

TEST(RunLock, ReportRemovesStaleTemporaries)
{
    std::string bin = GHM_BINARY;
    if (!exists(bin)) GTEST_SKIP() << "ghm binary not built";
    std::string d = tmpdir();
    ghm_record r;
    ghm_record_init(&r);
    snprintf(r.run_id, sizeof r.run_id, "00000000000000aa");
    snprintf(r.loss, sizeof r.loss, "triplet");
    ghm_metric_set_put(&r.test, "recall@1", 0.5);
    ghm_error err;
    ASSERT_EQ(ghm_record_write(&r, nullptr, (d + "/runs/" + r.run_id).c_str(), &err), 0) << err.msg;
    // what a report killed with SIGKILL leaves behind
    write_file(d + "/summary.csv.Ab12Cd.tmp", "half a tab");
    ASSERT_EQ(system(("mkdir -p '" + d + "/plots'").c_str()), 0);
    write_file(d + "/plots/test_recall1.png.Xy34Zw.tmp", "half a png");
    EXPECT_EQ(exit_status(bin + " report --no-plots " + d + " >/dev/null 2>&1"), 0);
    EXPECT_FALSE(exists(d + "/summary.csv.Ab12Cd.tmp"));
    EXPECT_FALSE(exists(d + "/plots/test_recall1.png.Xy34Zw.tmp"));
    EXPECT_TRUE(exists(d + "/summary.csv"));
    rmrf(d);
}
