// The one table of run settings (experiment/settings.h): its defaults are the
// library's, its parser checks type and range naming file:line:column and the
// key, and the run ids of every committed record are what its directory says.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <dirent.h>
#include <sys/stat.h>

#include "core/json.h"
#include "experiment/experiment.h"
#include "experiment/record.h"
#include "search/search.h"
#include "experiment/settings.h"

static bool exists(const std::string &p)
{
    struct stat st;
    return stat(p.c_str(), &st) == 0;
}

static std::vector<std::string> entries(const std::string &dir)
{
    std::vector<std::string> out;
    DIR *d = opendir(dir.c_str());
    if (!d) return out;
    while (struct dirent *e = readdir(d))
        if (e->d_name[0] != '.') out.push_back(e->d_name);
    closedir(d);
    return out;
}

// The table's defaults are the defaults of the structs it fills (optimizer,
// schedule, synthetic data set, evaluation), so code that builds a run
// without a file agrees with a file that leaves the key out.
TEST(Settings, DefaultsAreTheLibraryDefaults)
{
    ghm_run_spec r;
    memset(&r, 0x5a, sizeof r);
    char msg[256] = "";
    ASSERT_EQ(ghm_settings_defaults(&r, msg, sizeof msg), 0) << msg;
    ghm_optim_config o;
    ghm_optim_config_default(&o);
    ghm_schedule_config sc;
    ghm_schedule_config_default(&sc);
    ghm_dataset_opts d;
    ghm_dataset_opts_default(&d);
    ghm_eval_opts e;
    ghm_eval_opts_default(&e);
    EXPECT_EQ(r.optim.kind, o.kind);
    EXPECT_EQ(r.optim.lr, o.lr);
    EXPECT_EQ(r.optim.momentum, o.momentum);
    EXPECT_EQ(r.optim.nesterov, o.nesterov);
    EXPECT_EQ(r.optim.weight_decay, o.weight_decay);
    EXPECT_EQ(r.optim.beta1, o.beta1);
    EXPECT_EQ(r.optim.beta2, o.beta2);
    EXPECT_EQ(r.optim.eps, o.eps);
    EXPECT_EQ(r.schedule.kind, sc.kind);
    EXPECT_EQ(r.schedule.warmup_epochs, sc.warmup_epochs);
    EXPECT_EQ(r.schedule.step_epochs, sc.step_epochs);
    EXPECT_EQ(r.schedule.gamma, sc.gamma);
    EXPECT_EQ(r.schedule.min_lr_ratio, sc.min_lr_ratio);
    EXPECT_EQ(r.data.classes, d.classes);
    EXPECT_EQ(r.data.train_per_class, d.train_per_class);
    EXPECT_EQ(r.data.test_per_class, d.test_per_class);
    EXPECT_EQ(r.data.image_size, d.image_size);
    EXPECT_EQ(r.eval.kmeans_restarts, e.kmeans_restarts);
    EXPECT_EQ(r.eval.kmeans_max_iter, e.kmeans_max_iter);
    EXPECT_EQ(r.eval.exclude_same_group, 0);
    EXPECT_EQ(r.split.protocol, GHM_SPLIT_STANDARD);
    EXPECT_STREQ(r.dataset_name, "");
    EXPECT_STREQ(r.backbone, "");
}

// Every row: a YAML path with a section, a member inside the struct, a default
// that passes its own check, distinct paths and legacy keys; the listing has
// one line a setting.
TEST(Settings, EveryRowIsWellFormed)
{
    ASSERT_GE(ghm_settings_count, 30);
    std::map<std::string, int> seen;
    for (int i = 0; i < ghm_settings_count; i++) {
        const ghm_setting &s = ghm_settings[i];
        EXPECT_NE(strchr(s.path, '.'), nullptr) << s.path;
        EXPECT_LE(s.offset + s.size, sizeof(ghm_run_spec)) << s.path;
        EXPECT_EQ(seen[s.path]++, 0) << "duplicate " << s.path;
        if (s.legacy) {
            EXPECT_EQ(seen[std::string("legacy:") + s.legacy]++, 0) << s.legacy;
        }
        EXPECT_EQ(ghm_setting_find(s.path), &s);
        EXPECT_TRUE(s.doc && s.doc[0]) << s.path;
        if (s.type == GHM_SET_CHOICE) {
            EXPECT_NE(s.choices, nullptr) << s.path;
        }
    }
    EXPECT_EQ(ghm_setting_find("train.optimizer.lrr"), nullptr);
    char *text = ghm_settings_list(0);
    ASSERT_NE(text, nullptr);
    int lines = 0;
    for (const char *p = text; *p; p++) lines += *p == '\n';
    EXPECT_EQ(lines, ghm_settings_count);
    EXPECT_NE(strstr(text, "train.optimizer.lr"), nullptr);
    free(text);
}

// Type and range errors name the file, line, column and key, for a number, an
// integer, a bool and a choice, and the bounds (open or closed) are the table's.
TEST(Settings, ParseErrorsNameFileLineColumnAndKey)
{
    struct Case {
        const char *line, *want;
    } cases[] = {
        {"train: {optimizer: {lr: 0}}", "exp.yaml:4:25: train.optimizer.lr = 0 is out of range (0, 10]"},
        {"train: {optimizer: {lr: abc}}", "exp.yaml:4:25: train.optimizer.lr: expected a number, got 'abc'"},
        {"train: {epochs: 2.5}", "exp.yaml:4:17: train.epochs: expected an integer, got '2.5'"},
        {"backbone: {name: mlp, normalize: maybe}", "exp.yaml:4:34: backbone.normalize: expected true or false, got 'maybe'"},
        {"train: {optimizer: {name: adamx}}",
         "exp.yaml:4:27: train.optimizer.name: unknown value 'adamx'; expected one of sgd | adam | adamw (did you mean 'adam'?)"},
        {"train: {optimizer: {momentum: 1}}", "exp.yaml:4:31: train.optimizer.momentum = 1 is out of range [0, 1)"},
    };
    for (const Case &c : cases) {
        std::string y = std::string("name: t\ndataset: {name: synthetic}\nlosses: [{name: ghm}]\n") + c.line +
                        (strncmp(c.line, "backbone", 8) ? "\nbackbone: {name: mlp}\n" : "\n");
        ghm_experiment e;
        ghm_error err;
        ghm_error_clear(&err);
        EXPECT_EQ(ghm_experiment_load_string(y.c_str(), "exp.yaml", &e, &err), GHM_EINPUT) << c.line;
        EXPECT_STREQ(err.msg, c.want) << c.line;
    }
}

// HARD rule: the run id of every committed record is its directory's name and
// the id the directory's own experiment file gives it now (its spec rebuilt
// from the settings table and hashed): a change of the table that moved a
// canonical line would fail here. Every record of results/*/runs/ is checked,
// finished, failed or of a study in progress.
TEST(Settings, EveryCommittedRecordKeepsItsRunId)
{
    std::string root = std::string(GHM_SOURCE_DIR) + "/results";
    int n_records = 0, n_dirs = 0;
    for (const std::string &name : entries(root)) {
        std::string dir = root + "/" + name;
        if (!exists(dir + "/runs") || !exists(dir + "/experiment.yaml")) continue;
        ghm_experiment e;
        ghm_error err;
        ghm_error_clear(&err);
        ASSERT_EQ(ghm_experiment_load((dir + "/experiment.yaml").c_str(), &e, &err), 0) << err.msg;
        if (e.search) {
            int complete = 0;
            ASSERT_EQ(ghm_search_expand(&e, dir.c_str(), &complete, &err), 0) << err.msg;
        }
        std::map<std::string, int> plan;
        for (int i = 0; i < e.n_runs; i++) plan[e.runs[i].run_id] = i;
        n_dirs++;
        for (const std::string &id : entries(dir + "/runs")) {
            std::string path = dir + "/runs/" + id + "/record.json";
            if (!exists(path)) continue;
            ghm_json *j = nullptr;
            ASSERT_EQ(ghm_json_parse_file(path.c_str(), &j, &err), 0) << err.msg;
            const char *rid = ghm_json_str(j, "run_id", "");
            EXPECT_EQ(id, rid) << path;
            ghm_json_free(j);
            auto it = plan.find(id);
            EXPECT_NE(it, plan.end()) << path << ": no run of " << dir << "/experiment.yaml has this id";
            if (it == plan.end()) continue;
            ghm_run_spec r = e.runs[it->second];
            ghm_run_spec_compute_id(&r);
            EXPECT_EQ(id, r.run_id) << path;
            ghm_record rec;
            ghm_error_clear(&err);
            ASSERT_EQ(ghm_record_read(path.c_str(), &rec, &err), 0) << err.msg;
            ghm_error_clear(&err);
            EXPECT_EQ(ghm_record_check_spec(&rec, &e.runs[it->second], path.c_str(), &err), 0) << err.msg;
            ghm_record_free(&rec);
            n_records++;
        }
        ghm_experiment_free(&e);
    }
    EXPECT_GE(n_dirs, 8);
    EXPECT_GE(n_records, 500);
    printf("%d committed records in %d directories keep their run ids\n", n_records, n_dirs);
}

static std::string slurp(const std::string &p)
{
    FILE *f = fopen(p.c_str(), "rb");
    std::string s;
    if (!f) return s;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
    fclose(f);
    return s;
}

static void spit(const std::string &p, const std::string &s)
{
    FILE *f = fopen(p.c_str(), "wb");
    ASSERT_NE(f, nullptr) << p;
    fwrite(s.data(), 1, s.size(), f);
    fclose(f);
}

// The migration of record keys: a record written before keys were YAML paths
// ("optimizer": {"lr"}, "split": {"protocol"}, "eval": {"eval_every",
// "recall_k"}) is read as if it had the YAML paths, so a value changed under
// an old key is still caught and named by its YAML path; a record the writer
// makes now has the YAML paths and validates too.
TEST(Settings, RecordsOfBeforeAreReadUnderTheYamlPaths)
{
    std::string dir = std::string(GHM_SOURCE_DIR) + "/results/paper_mnist";
    ghm_experiment e;
    ghm_error err;
    ghm_error_clear(&err);
    ASSERT_EQ(ghm_experiment_load((dir + "/experiment.yaml").c_str(), &e, &err), 0) << err.msg;
    const ghm_run_spec &spec = e.runs[0];
    std::string rec_path = dir + "/runs/" + spec.run_id + "/record.json";
    std::string orig = slurp(rec_path);
    ASSERT_NE(orig.find("\"optimizer\": {"), std::string::npos) << "expected a record of before: " << rec_path;
    ASSERT_NE(orig.find("\"recall_k\": ["), std::string::npos);
    char tmpl[] = "/tmp/ghm_settings_testXXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    std::string p = std::string(tmpl) + "/record.json";
    struct Edit {
        const char *from, *to, *field;
    } edits[] = {
        {"\"lr\": 0.001", "\"lr\": 0.002", "params.train.optimizer.lr"},
        {"\"eval_every\": 1", "\"eval_every\": 2", "params.eval.every"},
        {"\"protocol\": \"standard\"", "\"protocol\": \"classes\"", "params.dataset.split"},
        {"\"recall_k\": [", "\"recall_k\": [16, ", "params.eval.recall_at"},
        {"\"limit_train\": 0", "\"limit_train\": 5", "params.dataset.limit.train"},
        {"\"beta2\": 0.999,", "", "params.train.optimizer.beta2"}, // a key of before that is missing
    };
    for (const Edit &ed : edits) {
        std::string s = orig;
        size_t at = s.find(ed.from);
        ASSERT_NE(at, std::string::npos) << ed.from;
        s.replace(at, strlen(ed.from), ed.to);
        spit(p, s);
        ghm_record rec;
        ghm_error_clear(&err);
        ASSERT_EQ(ghm_record_read(p.c_str(), &rec, &err), 0) << err.msg;
        ghm_error_clear(&err);
        EXPECT_EQ(ghm_record_check_spec(&rec, &spec, p.c_str(), &err), GHM_EINPUT) << ed.to;
        EXPECT_NE(std::string(err.msg).find(ed.field), std::string::npos) << ed.field << ": " << err.msg;
        ghm_record_free(&rec);
    }
    // unchanged: valid
    spit(p, orig);
    ghm_record rec;
    ASSERT_EQ(ghm_record_read(p.c_str(), &rec, &err), 0) << err.msg;
    ghm_error_clear(&err);
    EXPECT_EQ(ghm_record_check_spec(&rec, &spec, p.c_str(), &err), 0) << err.msg;
    // written now: the YAML paths, and it validates against the same run
    char *json = nullptr;
    ASSERT_EQ(ghm_record_to_json(&rec, &spec, &json, &err), 0) << err.msg;
    std::string now = json;
    free(json);
    ghm_record_free(&rec);
    EXPECT_NE(now.find("\"train\": {"), std::string::npos);
    EXPECT_EQ(now.find("\"eval_every\""), std::string::npos) << now;
    EXPECT_EQ(now.find("\"recall_k\""), std::string::npos) << now;
    EXPECT_NE(now.find("\"every\": 1"), std::string::npos) << now;
    EXPECT_NE(now.find("\"limit\": {"), std::string::npos) << now;
    spit(p, now);
    ASSERT_EQ(ghm_record_read(p.c_str(), &rec, &err), 0) << err.msg;
    ghm_error_clear(&err);
    EXPECT_EQ(ghm_record_check_spec(&rec, &spec, p.c_str(), &err), 0) << err.msg;
    ghm_record_free(&rec);
    ghm_experiment_free(&e);
    int rc = system(("rm -rf '" + std::string(tmpl) + "'").c_str());
    (void)rc;
}
