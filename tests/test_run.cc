// runner/run.c: selection (--only, --shard, finished), a tiny end-to-end sweep
// on synthetic data, resume after a simulated kill, interruption, data cache,
// and the CLI's exit codes.
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

const char *kTiny = "name: tiny\n"
                    "seeds: [0]\n"
                    "dataset: {name: synthetic, classes: 4, train_per_class: 12, test_per_class: 6, image_size: 8, "
                    "val_fraction: 0.25}\n"
                    "backbone: {name: mlp, embedding_dim: 4}\n"
                    "train: {epochs: 1, steps_per_epoch: 2, batch_size: 8, m_per_class: 2}\n"
                    "eval: {save_embeddings: true}\n"
                    "losses:\n"
                    "  - name: triplet\n"
                    "    sweep: {margin: [0.1, 0.2]}\n";

struct Counter {
    int starts = 0, done = 0, failed = 0;
};

void count_events(const ghm_sweep_event *ev, void *user)
{
    Counter *c = static_cast<Counter *>(user);
    if (ev->kind == GHM_SWEEP_START) c->starts++;
    if (ev->kind == GHM_SWEEP_DONE) c->done++;
    if (ev->kind == GHM_SWEEP_FAILED) c->failed++;
}

int exit_status(const std::string &cmd)
{
    int st = system(cmd.c_str());
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

} // namespace

TEST(RunSelect, OnlyShardAndMatches)
{
    ghm_experiment e;
    memset(&e, 0, sizeof e);
    e.n_runs = 5;
    std::vector<ghm_run_spec> runs(5);
    memset(runs.data(), 0, sizeof(ghm_run_spec) * 5);
    const char *losses[] = {"ghm", "ghm", "triplet", "contrastive", "ghm"};
    for (int i = 0; i < 5; i++) {
        snprintf(runs[i].run_id, sizeof runs[i].run_id, "%015d%d", 0, i);
        snprintf(runs[i].loss, sizeof runs[i].loss, "%s", losses[i]);
        runs[i].index = i;
    }
    e.runs = runs.data();
    EXPECT_TRUE(ghm_run_matches(&runs[2], "trip"));
    EXPECT_TRUE(ghm_run_matches(&runs[2], "t*t"));
    EXPECT_TRUE(ghm_run_matches(&runs[2], "0000000000000002"));
    EXPECT_TRUE(ghm_run_matches(&runs[2], "*2"));
    EXPECT_FALSE(ghm_run_matches(&runs[2], "ghm"));
    EXPECT_TRUE(ghm_run_matches(&runs[2], nullptr));

    std::string d = tmpdir();
    int idx[5], n, total;
    ghm_select_opts o = {nullptr, 0, 0, 0, 0};
    ghm_sweep_select(&e, d.c_str(), &o, idx, &n, &total);
    EXPECT_EQ(n, 5);
    o.shard_i = 2;
    o.shard_n = 2; // index % 2 == 1
    ghm_sweep_select(&e, d.c_str(), &o, idx, &n, &total);
    ASSERT_EQ(n, 2);
    EXPECT_EQ(idx[0], 1);
    EXPECT_EQ(idx[1], 3);
    o.shard_i = 1;
    o.shard_n = 3; // 0, 3
    ghm_sweep_select(&e, d.c_str(), &o, idx, &n, &total);
    ASSERT_EQ(n, 2);
    EXPECT_EQ(idx[0], 0);
    EXPECT_EQ(idx[1], 3);
    o.shard_n = 0;
    o.only = "ghm";
    ghm_sweep_select(&e, d.c_str(), &o, idx, &n, &total);
    EXPECT_EQ(n, 3);
    // a finished run (its record, as ghm writes it for that run) is skipped unless forced
    ghm_record r;
    ghm_record_init(&r);
    ghm_record_from_spec(&r, &runs[4]);
    ghm_metric_set_put(&r.test, "recall@1", 0.5);
    ghm_error err;
    std::string rd = d + "/runs/" + runs[4].run_id;
    ASSERT_EQ(ghm_record_write(&r, &runs[4], rd.c_str(), &err), 0) << err.msg;
    ghm_sweep_select(&e, d.c_str(), &o, idx, &n, &total);
    EXPECT_EQ(n, 2);
    EXPECT_EQ(total, 3);
    o.force = 1;
    ghm_sweep_select(&e, d.c_str(), &o, idx, &n, &total);
    EXPECT_EQ(n, 3);
    rmrf(d);
}

TEST(RunEndToEnd, TinySweepRecordsReportsAndResumes)
{
    ghm_experiment e;
    memset(&e, 0, sizeof e);
    ghm_error err;
    ASSERT_EQ(ghm_experiment_load_string(kTiny, "tiny.yaml", &e, &err), 0) << err.msg;
    ASSERT_EQ(e.n_runs, 2);
    std::string d = tmpdir();
    std::string out = d + "/tiny";

    ghm_data_cache *cache;
    ASSERT_EQ(ghm_data_cache_create(&cache, &err), 0);
    ghm_run_hooks hooks = {nullptr, nullptr, nullptr, cache, nullptr};
    int idx[2], n;
    ghm_sweep_select(&e, out.c_str(), nullptr, idx, &n, nullptr);
    ASSERT_EQ(n, 2);
    Counter c;
    int done = 0;
    ASSERT_EQ(ghm_sweep_run(&e, out.c_str(), idx, n, &hooks, count_events, &c, &done, nullptr, &err), 0) << err.msg;
    EXPECT_EQ(done, 2);
    EXPECT_EQ(c.starts, 2);
    EXPECT_EQ(c.done, 2);
    // same dataset parameters for both runs (same seed): loaded once
    EXPECT_EQ(ghm_data_cache_loads(cache), 1);

    for (int i = 0; i < 2; i++) {
        std::string rd = out + "/runs/" + e.runs[i].run_id;
        ghm_record r;
        ASSERT_EQ(ghm_record_read((rd + "/record.json").c_str(), &r, &err), 0) << err.msg;
        EXPECT_STREQ(r.loss, "triplet");
        EXPECT_EQ(r.n_history, 1);
        double v;
        EXPECT_TRUE(ghm_metric_set_find(&r.test, "recall@1", &v));
        EXPECT_GE(v, 0.0);
        EXPECT_LE(v, 1.0);
        EXPECT_TRUE(ghm_metric_set_find(&r.test, "nmi", &v));
        EXPECT_TRUE(r.has_val);
        EXPECT_TRUE(r.has_embeddings);
        EXPECT_TRUE(exists(rd + "/embeddings_test.npy"));
        EXPECT_TRUE(exists(rd + "/embeddings_test_labels.npy"));
        ghm_record_free(&r);
        // every resolved parameter is in the record
        ghm_json *j;
        ASSERT_EQ(ghm_json_parse_file((rd + "/record.json").c_str(), &j, &err), 0);
        const ghm_json *p = ghm_json_get(j, "params");
        ASSERT_NE(p, nullptr);
        EXPECT_STREQ(ghm_json_str(ghm_json_get(p, "backbone"), "name", ""), "mlp");
        double margin = ghm_json_num(ghm_json_get(ghm_json_get(p, "loss"), "params"), "margin", -1);
        EXPECT_EQ(margin, ghm_json_num(ghm_json_get(j, "swept"), "margin", -2));
        EXPECT_EQ(margin, i == 0 ? 0.1 : 0.2);
        ghm_json_free(j);
    }

    // rerun: nothing to do
    ghm_sweep_select(&e, out.c_str(), nullptr, idx, &n, nullptr);
    EXPECT_EQ(n, 0);

    // report with the plan: nothing missing
    ghm_report_opts ro;
    ghm_report_opts_default(&ro);
    ro.plots = 0;
    ghm_report_result res;
    ASSERT_EQ(ghm_report_write(out.c_str(), &e, &ro, &res, &err), 0) << err.msg;
    EXPECT_EQ(res.n_records, 2);
    EXPECT_EQ(res.n_missing, 0);
    EXPECT_EQ(res.n_groups, 2);
    EXPECT_TRUE(exists(out + "/summary.csv"));
    EXPECT_TRUE(exists(out + "/summary.md"));

    // simulated kill of run 1: its record is gone, a temp file is left over
    std::string rd1 = out + "/runs/" + e.runs[1].run_id;
    ASSERT_EQ(remove((rd1 + "/record.json").c_str()), 0);
    FILE *f = fopen((rd1 + "/record.json.XyZ123.tmp").c_str(), "w");
    ASSERT_TRUE(f);
    fputs("{\"run_id\": \"", f);
    fclose(f);
    ghm_sweep_select(&e, out.c_str(), nullptr, idx, &n, nullptr);
    ASSERT_EQ(n, 1);
    EXPECT_EQ(idx[0], 1);
    ASSERT_EQ(ghm_report_write(out.c_str(), &e, &ro, &res, &err), 0) << err.msg;
    EXPECT_EQ(res.n_missing, 1);
    EXPECT_EQ(res.n_records, 1);

    // interruption: the stop flag makes the run return EINTR without a record
    volatile sig_atomic_t stop = 1;
    ghm_run_hooks stop_hooks = {nullptr, nullptr, &stop, cache, nullptr};
    EXPECT_EQ(ghm_run_one(&e.runs[1], rd1.c_str(), &stop_hooks, nullptr, &err), GHM_EINTR);
    EXPECT_FALSE(ghm_record_is_finished(out.c_str(), e.runs[1].run_id));

    // resume: only run 1 is redone, and the leftover temp file is cleaned up
    c = Counter();
    ASSERT_EQ(ghm_sweep_run(&e, out.c_str(), idx, n, &hooks, count_events, &c, &done, nullptr, &err), 0) << err.msg;
    EXPECT_EQ(c.starts, 1);
    EXPECT_TRUE(ghm_record_is_finished(out.c_str(), e.runs[1].run_id));
    EXPECT_FALSE(exists(rd1 + "/record.json.XyZ123.tmp"));
    EXPECT_EQ(ghm_data_cache_loads(cache), 1); // still loaded once
    ghm_sweep_select(&e, out.c_str(), nullptr, idx, &n, nullptr);
    EXPECT_EQ(n, 0);

    ghm_data_cache_destroy(cache);
    ghm_experiment_free(&e);
    rmrf(d);
}

TEST(RunEndToEnd, SameSeedSameNumbers)
{
    ghm_experiment e;
    memset(&e, 0, sizeof e);
    ghm_error err;
    ASSERT_EQ(ghm_experiment_load_string(kTiny, "tiny.yaml", &e, &err), 0) << err.msg;
    std::string d = tmpdir();
    ghm_record a, b;
    ghm_run_hooks hooks = {nullptr, nullptr, nullptr, nullptr, nullptr};
    ASSERT_EQ(ghm_run_one(&e.runs[0], (d + "/a").c_str(), &hooks, &a, &err), 0) << err.msg;
    ASSERT_EQ(ghm_run_one(&e.runs[0], (d + "/b").c_str(), &hooks, &b, &err), 0) << err.msg;
    ASSERT_EQ(a.test.n, b.test.n);
    for (int i = 0; i < a.test.n; i++) EXPECT_EQ(a.test.value[i], b.test.value[i]) << a.test.name[i];
    EXPECT_EQ(a.history[0].train_loss, b.history[0].train_loss);
    ghm_record_free(&a);
    ghm_record_free(&b);
    ghm_experiment_free(&e);
    rmrf(d);
}

TEST(RunCli, DryRunReportAndExitCodes)
{
    std::string d = tmpdir();
    std::string yaml = d + "/tiny.yaml";
    FILE *f = fopen(yaml.c_str(), "w");
    ASSERT_TRUE(f);
    fputs(kTiny, f);
    fclose(f);
    std::string bin = GHM_BINARY;
    if (!exists(bin)) GTEST_SKIP() << "ghm binary not built";
    std::string q = " >/dev/null 2>&1";
    EXPECT_EQ(exit_status(bin + " run " + yaml + " --out " + d + "/res --dry-run" + q), 0);
    EXPECT_FALSE(exists(d + "/res/tiny/runs"));
    EXPECT_EQ(exit_status(bin + " run " + yaml + " --out " + d + "/res --shard 3/2" + q), 2);
    EXPECT_EQ(exit_status(bin + " run " + d + "/missing.yaml" + q), 2);
    EXPECT_EQ(exit_status(bin + " run " + yaml + " --out " + d + "/res --shard 1/2" + q), 0);
    EXPECT_TRUE(exists(d + "/res/tiny/experiment.yaml"));
    EXPECT_FALSE(exists(d + "/res/tiny/summary.csv")); // sharded and incomplete: no report yet
    EXPECT_EQ(exit_status(bin + " run " + yaml + " --out " + d + "/res --shard 2/2" + q), 0);
    EXPECT_TRUE(exists(d + "/res/tiny/summary.csv"));
    EXPECT_EQ(exit_status(bin + " report " + d + "/res/tiny" + q), 0);
    EXPECT_EQ(exit_status(bin + " report " + d + "/nonexistent" + q), 2);
    rmrf(d);
}
