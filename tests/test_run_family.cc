// Family-held-out evaluation through a whole run (issue 25): the experiment key
// eval.exclude_same_family reaches the run spec, enters the run id only when
// on (plain runs keep their ids), and a run on a glyphs set evaluates with the
// families of its test images; on a data set without families it is an error.
#include <gtest/gtest.h>

extern "C" {
#include "datasets/glyphs.h"
#include "experiment/experiment.h"
#include "experiment/record.h"
#include "runner/run.h"
}

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

namespace {

std::string tmpdir()
{
    char tmpl[] = "/tmp/ghm_test_family_XXXXXX";
    const char *p = mkdtemp(tmpl);
    return p ? p : "";
}

std::string yaml(const std::string &dataset, bool exclude)
{
    return "name: fam\nseeds: [0]\ndataset: " + dataset +
           "\nbackbone: {name: mlp, embedding_dim: 4}\n"
           "train: {epochs: 1, steps_per_epoch: 2, batch_size: 4, m_per_class: 2}\n"
           "eval: {metrics: [recall], recall_at: [1, 2]" +
           std::string(exclude ? ", exclude_same_family: true" : "") + "}\nlosses:\n  - name: triplet\n";
}

// 8 characters rendered from the six DejaVu faces (one design family) into
// <d>/glyphs; "" after a skip (fonts missing) or a failure, which it reports.
std::string dejavu_glyphs()
{
    const char *dir = "/usr/share/fonts/truetype/dejavu/";
    const char *faces[6] = {"DejaVuSans.ttf",      "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf",
                            "DejaVuSerif-Bold.ttf", "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf"};
    ghm_font_entry fonts[6];
    for (int i = 0; i < 6; i++) {
        memset(&fonts[i], 0, sizeof fonts[i]);
        snprintf(fonts[i].package, sizeof fonts[i].package, "fonts-dejavu-core");
        snprintf(fonts[i].version, sizeof fonts[i].version, "test");
        snprintf(fonts[i].path, sizeof fonts[i].path, "%s%s", dir, faces[i]);
        if (!std::filesystem::exists(fonts[i].path)) {
            GTEST_LOG_(INFO) << fonts[i].path << " missing (fonts-dejavu-core)";
            return "";
        }
    }
    const uint32_t chars[8] = {0x30, 0x31, 0x41, 0x42, 0x61, 0x62, 0x67, 0x416};
    ghm_glyphs_opts o;
    ghm_glyphs_opts_default(&o);
    o.chars = chars;
    o.n_chars = 8;
    ghm_glyph_set s;
    ghm_error err;
    int rc = ghm_glyphs_render(fonts, 6, &o, &s, &err);
    EXPECT_EQ(rc, 0) << err.msg;
    if (rc) return "";
    std::string d = tmpdir();
    rc = ghm_glyphs_write(&s, (d + "/glyphs").c_str(), nullptr, &err);
    ghm_glyph_set_free(&s);
    EXPECT_EQ(rc, 0) << err.msg;
    return rc ? "" : d;
}

}  // namespace

TEST(RunFamily, KeyReachesTheSpecAndTheIdOnlyWhenOn)
{
    const std::string ds = "{name: synthetic, classes: 4, train_per_class: 6, test_per_class: 3, image_size: 8}";
    ghm_experiment a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    ghm_error err;
    ASSERT_EQ(ghm_experiment_load_string(yaml(ds, false).c_str(), "a.yaml", &a, &err), 0) << err.msg;
    ASSERT_EQ(ghm_experiment_load_string(yaml(ds, true).c_str(), "b.yaml", &b, &err), 0) << err.msg;
    EXPECT_EQ(a.runs[0].eval.exclude_same_group, 0);
    EXPECT_EQ(b.runs[0].eval.exclude_same_group, 1);
    EXPECT_STRNE(a.runs[0].run_id, b.runs[0].run_id);
    char buf[8192];
    ASSERT_GT(ghm_run_spec_canonical(&a.runs[0], buf, sizeof buf), 0);
    EXPECT_EQ(strstr(buf, "exclude_same_family"), nullptr) << "a plain run's canonical text is unchanged";
    ASSERT_GT(ghm_run_spec_canonical(&b.runs[0], buf, sizeof buf), 0);
    EXPECT_NE(strstr(buf, "eval.exclude_same_family"), nullptr) << buf;
    // synthetic data has no families: the run fails, saying why
    std::string d = tmpdir();
    ghm_run_hooks hooks = {nullptr, nullptr, nullptr, nullptr, nullptr};
    EXPECT_EQ(ghm_run_one(&b.runs[0], (d + "/r").c_str(), &hooks, nullptr, &err), GHM_EINPUT);
    EXPECT_NE(strstr(err.msg, "exclude_same_family"), nullptr) << err.msg;
    ghm_experiment_free(&a);
    ghm_experiment_free(&b);
    std::filesystem::remove_all(d);
}

// Glyphs from the six DejaVu faces: one design family, so with the option every
// same-class item of a query is its own family's and none may answer (Recall@K
// 0), while without it a sibling face answers some queries.
TEST(RunFamily, GlyphsRunEvaluatesFamilyHeldOut)
{
    const std::string d = dejavu_glyphs();
    if (d.empty()) {
        if (HasFailure()) return;
        GTEST_SKIP() << "DejaVu fonts missing (fonts-dejavu-core)";
    }
    ghm_error err;
    const std::string ds = "{name: glyphs, path: " + d + "/glyphs, image_size: 28, split: classes}";
    double r1[2] = {-1, -1};
    for (int ex = 0; ex < 2; ex++) {
        ghm_experiment e;
        memset(&e, 0, sizeof e);
        ASSERT_EQ(ghm_experiment_load_string(yaml(ds, ex).c_str(), "g.yaml", &e, &err), 0) << err.msg;
        ghm_run_hooks hooks = {nullptr, nullptr, nullptr, nullptr, nullptr};
        ghm_record rec;
        ASSERT_EQ(ghm_run_one(&e.runs[0], (d + "/run" + std::to_string(ex)).c_str(), &hooks, &rec, &err), 0)
            << err.msg;
        for (int i = 0; i < rec.test.n; i++)
            if (!strcmp(rec.test.name[i], "recall@2")) r1[ex] = rec.test.value[i];
        ghm_record_free(&rec);
        ghm_experiment_free(&e);
    }
    EXPECT_GT(r1[0], 0.0) << "plain: some sibling answers";
    EXPECT_EQ(r1[1], 0.0) << "family held out: nothing of the one family may answer";
    std::filesystem::remove_all(d);
}

// The concatenated evaluation of a search's reproductions (ensembles) is
// family-held-out too: the embeddings files hold labels only, so the ensemble
// takes the families from the data set's test split, and with one design
// family nothing may answer a query (Recall@K 0), as in the runs themselves.
TEST(RunFamily, SearchEnsemblesEvaluateFamilyHeldOut)
{
    if (!std::filesystem::exists(GHM_BINARY)) GTEST_SKIP() << "ghm binary not built";
    const std::string d = dejavu_glyphs();
    if (d.empty()) {
        if (HasFailure()) return;
        GTEST_SKIP() << "DejaVu fonts missing (fonts-dejavu-core)";
    }
    ghm_error err;
    std::string res[2];
    for (int ex = 0; ex < 2; ex++) {
        std::string y = d + "/s" + std::to_string(ex) + ".yaml";
        FILE *f = fopen(y.c_str(), "w");
        ASSERT_NE(f, nullptr);
        fprintf(f,
                "name: fam_search\n"
                "dataset: {name: glyphs, path: %s/glyphs, image_size: 28, split: classes}\n"
                "backbone: {name: mlp, embedding_dim: 4}\n"
                "train: {epochs: 1, steps_per_epoch: 2, batch_size: 4, m_per_class: 2}\n"
                "eval: {every: 0, metrics: [recall, map_r], recall_at: [1, 2]%s}\n"
                "search: {method: random, trials: 1, objective: recall@1, seed: 1}\n"
                "protocol: {folds: 2}\nfinal: {reproductions: 1}\n"
                "losses:\n  - name: contrastive\n    search: {neg_margin: {min: 0.3, max: 2.0}}\n",
                d.c_str(), ex ? ", exclude_same_family: true" : "");
        fclose(f);
        std::string out = d + "/out" + std::to_string(ex);
        std::string cmd = std::string(GHM_BINARY) + " run " + y + " --out " + out + " --threads 1 >" + out +
                          ".log 2>&1";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
        res[ex] = out + "/fam_search/ensembles";
    }
    double r2[2] = {-1, -1};
    for (int ex = 0; ex < 2; ex++) {
        int n = 0;
        for (const auto &ent : std::filesystem::directory_iterator(res[ex])) {
            ghm_record rec;
            ASSERT_EQ(ghm_record_read((ent.path().string() + "/record.json").c_str(), &rec, &err), 0) << err.msg;
            for (int i = 0; i < rec.test.n; i++)
                if (!strcmp(rec.test.name[i], "recall@2")) r2[ex] = rec.test.value[i];
            ghm_record_free(&rec);
            n++;
        }
        EXPECT_EQ(n, 1) << res[ex];
    }
    EXPECT_GT(r2[0], 0.0) << "plain: some sibling answers in the concatenated embedding";
    EXPECT_EQ(r2[1], 0.0) << "family held out: nothing of the one family may answer";
    std::filesystem::remove_all(d);
}
