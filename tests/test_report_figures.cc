// Report figures, index.html and the cross-experiment table (report/plot.c,
// report_html.c, report_combine.c) from synthetic records; the per-step loss
// in the record.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <vector>

extern "C" {
#include "report/plot.h"
#include "experiment/record.h"
#include "report/report.h"
}

#include "test_util.h"

namespace {

using ghm_test::tmpdir;
using ghm_test::rmrf;
using ghm_test::read_all;

bool exists(const std::string &p)
{
    struct stat st;
    return stat(p.c_str(), &st) == 0 && st.st_size > 0;
}

bool have_gnuplot() { return system("gnuplot -e 'exit' >/dev/null 2>&1") == 0; }

// a finished record with per-step losses; sweep "dim" (a power of two) for `swept` losses
ghm_record make(const char *id, const char *loss, const char *dataset, double dim, uint64_t seed, double r1,
                int steps)
{
    ghm_record r;
    ghm_record_init(&r);
    snprintf(r.run_id, sizeof r.run_id, "%s", id);
    snprintf(r.experiment, sizeof r.experiment, "exp");
    snprintf(r.loss, sizeof r.loss, "%s", loss);
    snprintf(r.dataset, sizeof r.dataset, "%s", dataset);
    r.seed = seed;
    if (dim > 0) {
        r.n_swept = 1;
        snprintf(r.swept_name[0], GHM_NAME_MAX, "backbone.embedding_dim");
        r.swept_value[0] = dim;
        snprintf(r.swept_text[0], GHM_NAME_MAX, "%g", dim);
    }
    ghm_metric_set_put(&r.test, "recall@1", r1);
    ghm_metric_set_put(&r.test, "recall@2", std::min(1.0, r1 + 0.05));
    ghm_metric_set_put(&r.test, "map@r", r1 / 2);
    r.has_val = 1;
    ghm_metric_set_put(&r.val, "recall@1", r1 - 0.01);
    ghm_history_entry h;
    memset(&h, 0, sizeof h);
    h.epoch = 1;
    h.train_loss = 0.5;
    h.has_val = 1;
    ghm_metric_set_put(&h.val, "recall@1", r1 - 0.01);
    ghm_record_add_history(&r, &h, nullptr);
    for (int t = 0; t < steps; t++) ghm_record_add_step(&r, 1.0 / (1 + t) + 0.01 * (t % 3), nullptr);
    r.epochs = 1;
    r.seconds = 2;
    return r;
}

void write(const std::string &dir, ghm_record r)
{
    ghm_error err;
    std::string rd = dir + "/runs/" + r.run_id;
    ASSERT_EQ(ghm_record_write(&r, nullptr, rd.c_str(), &err), 0) << err.msg;
    ghm_record_free(&r);
}

// one experiment directory: ghm swept over dim {16, 32, 64} x 2 seeds, triplet x 2 seeds
std::string make_experiment(double shift, const char *dataset = "fashion-mnist")
{
    std::string d = tmpdir();
    int k = 1;
    char id[24];
    for (double dim : {16.0, 32.0, 64.0})
        for (uint64_t seed = 0; seed < 2; seed++) {
            snprintf(id, sizeof id, "%016x", k++);
            write(d, make(id, "ghm", dataset, dim, seed, 0.7 + dim / 1000 + shift + 0.01 * seed, 40));
        }
    for (uint64_t seed = 0; seed < 2; seed++) {
        snprintf(id, sizeof id, "%016x", k++);
        write(d, make(id, "triplet", dataset, 0, seed, 0.75 + shift + 0.02 * seed, 40));
    }
    return d;
}

} // namespace

TEST(RecordSteps, RoundTripCompact)
{
    std::string d = tmpdir();
    ghm_record r = make("00000000000000aa", "ghm", "mnist", 0, 1, 0.5, 1000);
    std::vector<float> steps(r.step_loss, r.step_loss + r.n_steps);
    write(d, r);
    std::string json = read_all(d + "/runs/00000000000000aa/record.json");
    size_t p = json.find("\"train_loss_steps\": \"1 0.51 0.35333");
    EXPECT_NE(p, std::string::npos) << json.substr(0, 400);
    // compact: one line of at most ~10 bytes a step (5 significant digits)
    size_t open = json.find('"', p + 19), close = json.find('"', open + 1);
    ASSERT_NE(close, std::string::npos);
    EXPECT_EQ(json.substr(open, close - open).find('\n'), std::string::npos);
    EXPECT_LT(close - open, 10u * 1000);
    ghm_record back;
    ghm_error err;
    ASSERT_EQ(ghm_record_read((d + "/runs/00000000000000aa/record.json").c_str(), &back, &err), 0) << err.msg;
    ASSERT_EQ(back.n_steps, 1000);
    for (int t = 0; t < 1000; t++) EXPECT_NEAR(back.step_loss[t], steps[t], 5e-5 * std::fabs(steps[t])) << t;
    EXPECT_STREQ(back.dataset, "mnist");
    ghm_record_free(&back);
    // a corrupt step list is an error naming the field
    std::string bad = json;
    bad.replace(bad.find("0.51"), 4, "x.51");
    FILE *f = fopen((d + "/bad.json").c_str(), "w");
    fputs(bad.c_str(), f);
    fclose(f);
    EXPECT_EQ(ghm_record_read((d + "/bad.json").c_str(), &back, &err), GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find("train_loss_steps"), std::string::npos) << err.msg;
    rmrf(d);
}

TEST(PlotFormats, Parse)
{
    unsigned f = 0;
    EXPECT_EQ(ghm_plot_formats_parse("png,pdf,svg", &f), 0);
    EXPECT_EQ(f, GHM_PLOT_PNG | GHM_PLOT_PDF | GHM_PLOT_SVG);
    EXPECT_EQ(ghm_plot_formats_parse("svg", &f), 0);
    EXPECT_EQ(f, GHM_PLOT_SVG);
    EXPECT_EQ(ghm_plot_formats_parse("png,jpg", &f), -1);
    EXPECT_EQ(ghm_plot_formats_parse("", &f), -1);
    EXPECT_EQ(ghm_plot_formats_parse(",", &f), -1);
}

TEST(ReportFigures, ScriptsDataAndIndex)
{
    std::string d = make_experiment(0);
    // a table another module wrote; an HTML fragment in the directory (it may come from someone else) is
    // never inlined
    {
        std::ofstream(d + "/search.section.html") << "<h2 id=search>Search</h2><script>alert(1)</script>";
        std::ofstream(d + "/search.csv") << "trial,value\n";
    }
    ghm_report_opts ro;
    ghm_report_opts_default(&ro);
    ro.formats = GHM_PLOT_PNG | GHM_PLOT_PDF | GHM_PLOT_SVG;
    ghm_report_result res;
    ghm_error err;
    ASSERT_EQ(ghm_report_write(d.c_str(), nullptr, &ro, &res, &err), 0) << err.msg;
    EXPECT_TRUE(res.wrote_index);

    // swept dim: all powers of two -> log2 axis, x range around the data, ticks at the values
    std::string gp = read_all(d + "/plots/recall_at_1_vs_backbone_embedding_dim.gp");
    EXPECT_NE(gp.find("set logscale x 2"), std::string::npos) << gp;
    EXPECT_NE(gp.find("set xtics (16, 32, 64)"), std::string::npos) << gp;
    EXPECT_NE(gp.find("error bars: std over seeds"), std::string::npos) << gp; // 2 seeds
    // issue 28.6: the axis says what the key means
    EXPECT_NE(gp.find("set xlabel 'embedding dimension'"), std::string::npos) << gp;
    EXPECT_NE(gp.find("set xrange [13.45"), std::string::npos) << gp; // 16 / 2^0.25
    // the baseline is a band (mean +- std) drawn across the x range
    EXPECT_NE(gp.find("filledcurves"), std::string::npos) << gp;
    std::string dat = read_all(d + "/plots/recall_at_1_vs_backbone_embedding_dim.dat");
    EXPECT_NE(dat.find("# triplet (baseline)"), std::string::npos) << dat;
    // every format from one script, output name overridable for the temporary render
    for (const char *t : {"pngcairo", "pdfcairo", "svg", "if (!exists(\"out\"))"})
        EXPECT_NE(gp.find(t), std::string::npos) << t << "\n" << gp;
    // issue 28.2: one column of a two-column paper by default (8.5 cm, 8 pt)
    EXPECT_NE(gp.find("pdfcairo size 8.5cm,7.5cm noenhanced font \"Sans,8\""), std::string::npos) << gp;
    // training curve per step, with a moving average
    std::string tl = read_all(d + "/plots/train_loss.dat");
    EXPECT_NE(tl.find("step raw_mean smoothed"), std::string::npos) << tl;
    EXPECT_NE(tl.find("\n40 "), std::string::npos) << tl;
    EXPECT_NE(read_all(d + "/plots/train_loss.gp").find("set xlabel 'step'"), std::string::npos);
    // issue 28.4: each loss relative to its first value (step 1 loss is 1.0 in make(), so row 2 is 0.5 + 0.01)
    EXPECT_NE(tl.find("\n1 1 "), std::string::npos) << tl;
    EXPECT_NE(tl.find("\n2 0.51 "), std::string::npos) << tl;
    EXPECT_NE(read_all(d + "/plots/train_loss.gp").find("its first value"), std::string::npos);

    std::string html = read_all(d + "/index.html");
    for (const char *t : {"<table>", "Selected settings", "runs/0000000000000001/record.json", "finished",
                          "href=\"search.csv\"", "No experiment.yaml"})
        EXPECT_NE(html.find(t), std::string::npos) << t;
    EXPECT_EQ(html.find("<h2 id=search>"), std::string::npos);
    EXPECT_EQ(html.find("<script"), std::string::npos);
    EXPECT_EQ(html.find("http"), std::string::npos) << "index.html must not reach the network";

    if (have_gnuplot()) {
        EXPECT_GE(res.n_plots, 5);
        for (const char *ext : {"png", "pdf", "svg"})
            EXPECT_TRUE(exists(d + "/plots/recall_at_1_vs_backbone_embedding_dim." + ext)) << ext;
        EXPECT_EQ(read_all(d + "/plots/train_loss.pdf").rfind("%PDF", 0), 0u);
        // no temporary render is left behind
        EXPECT_NE(system(("ls -a '" + d + "/plots' | grep -q '^\\.tmp-'").c_str()), 0);
        EXPECT_NE(html.find("<img src=\"plots/recall_at_1_vs_backbone_embedding_dim.png\""), std::string::npos);
        EXPECT_NE(html.find("href=\"plots/train_loss.pdf\""), std::string::npos);
    }
    rmrf(d);
}

TEST(ReportFigures, FailedRenderKeepsThePreviousFigure)
{
    if (!have_gnuplot()) GTEST_SKIP() << "gnuplot not installed";
    std::string d = make_experiment(0);
    ghm_report_opts ro;
    ghm_report_opts_default(&ro);
    ghm_report_result res;
    ghm_error err;
    ASSERT_EQ(ghm_report_write(d.c_str(), nullptr, &ro, &res, &err), 0) << err.msg;
    std::string before = read_all(d + "/plots/recall_at_k.png");
    ASSERT_FALSE(before.empty());
    // a "gnuplot" that writes half a file and fails
    std::string fake = d + "/fakegnuplot";
    {
        std::ofstream(fake) << "#!/bin/sh\n[ \"$1\" = -e ] && [ \"$2\" = exit ] && exit 0\n"
                               "out=$(echo \"$2\" | sed \"s/out='\\(.*\\)'/\\1/\")\n"
                               "printf 'partial' > \"$out.png\"\nexit 1\n";
    }
    ASSERT_EQ(system(("chmod +x '" + fake + "'").c_str()), 0);
    ro.gnuplot = fake.c_str();
    ASSERT_EQ(ghm_report_write(d.c_str(), nullptr, &ro, &res, &err), 0) << err.msg;
    EXPECT_EQ(res.n_plots, 0);
    EXPECT_NE(std::string(res.warning).find("gnuplot failed"), std::string::npos) << res.warning;
    EXPECT_EQ(read_all(d + "/plots/recall_at_k.png"), before) << "a failed render replaced a good figure";
    EXPECT_NE(system(("ls -a '" + d + "/plots' | grep -q '^\\.tmp-'").c_str()), 0);
    rmrf(d);
}

TEST(ReportCombine, LossesByExperiments)
{
    std::string a = make_experiment(0), b = make_experiment(0.1, "mnist");
    const char *dirs[2] = {a.c_str(), b.c_str()};
    char *md = nullptr, *tex = nullptr;
    ghm_combine_result res;
    ghm_error err;
    ASSERT_EQ(ghm_report_combine_markdown(dirs, 2, &md, &tex, &res, &err), 0) << err.msg;
    EXPECT_EQ(res.n_experiments, 2);
    EXPECT_EQ(res.n_losses, 2);
    std::string m = md, t = tex;
    free(md);
    free(tex);
    // header: loss, then R@1 and MAP@R per experiment
    EXPECT_NE(m.find("| loss | fashion-mnist (exp): R@1 | fashion-mnist (exp): MAP@R | mnist (exp): R@1 |"),
              std::string::npos)
        << m;
    // ghm's selected setting (best validation: dim 64, seeds 0.764 / 0.774 -> test mean 76.9 +- ci)
    // t(1) = 12.706, std = 0.00707 -> ci = 12.706 * 0.00707 / sqrt(2) = 6.35
    EXPECT_NE(m.find("| ghm | **76.9 ± 6.4** | **38.5 ± 3.2** |"), std::string::npos) << m;
    EXPECT_NE(m.find("| triplet | 76.0 ± 12.7 | 38.0 ± 6.4 |"), std::string::npos) << m;
    EXPECT_NE(m.find("backbone.embedding_dim = 64"), std::string::npos) << m;
    EXPECT_NE(t.find("\\multicolumn{2}{c}{mnist (exp)}"), std::string::npos) << t;
    EXPECT_NE(t.find("\\mathbf{86.9 \\pm 6.4}"), std::string::npos) << t;
    // not a results directory
    const char *bad[1] = {"/nonexistent/dir"};
    EXPECT_EQ(ghm_report_combine_markdown(bad, 1, &md, &tex, &res, &err), GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find("/nonexistent/dir"), std::string::npos);
    rmrf(a);
    rmrf(b);
}

// report.formats in the experiment file: parsed, validated with file:line:col, not part of any run id
TEST(ReportFormats, FromTheExperimentFile)
{
    const char *base = "name: f\ndataset: {name: synthetic}\nbackbone: {name: mlp}\nlosses:\n  - name: contrastive\n";
    ghm_experiment e, e2;
    ghm_error err;
    std::string with = std::string(base) + "report: {formats: [svg, pdf]}\n";
    ASSERT_EQ(ghm_experiment_load_string(with.c_str(), "f.yaml", &e, &err), 0) << err.msg;
    EXPECT_EQ(e.report_formats, GHM_PLOT_SVG | GHM_PLOT_PDF);
    ASSERT_EQ(ghm_experiment_load_string(base, "f.yaml", &e2, &err), 0) << err.msg;
    EXPECT_EQ(e2.report_formats, 0u);
    ASSERT_GT(e.n_runs, 0);
    EXPECT_STREQ(e.runs[0].run_id, e2.runs[0].run_id) << "report settings must not change run ids";
    ghm_experiment_free(&e);
    ghm_experiment_free(&e2);
    std::string bad = std::string(base) + "report: {formats: [png, gif]}\n";
    EXPECT_EQ(ghm_experiment_load_string(bad.c_str(), "f.yaml", &e, &err), GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find("f.yaml:6:"), std::string::npos) << err.msg;
    EXPECT_NE(std::string(err.msg).find("gif"), std::string::npos) << err.msg;
}

// Issue 28.1: two losses with identical data (ghm at alpha = 1 is contrastive) draw one curve exactly
// under the other; every series has its own dash type and marker, and the legend says they coincide.
TEST(ReportFigures, CoincidingSeriesAreNamedAndStyled)
{
    std::string d = tmpdir();
    int k = 1;
    char id[24];
    for (const char *loss : {"contrastive", "ghm", "triplet"})
        for (uint64_t seed = 0; seed < 2; seed++) {
            snprintf(id, sizeof id, "%016x", k++);
            double r1 = strcmp(loss, "triplet") == 0 ? 0.8 : 0.7; // ghm == contrastive, record for record
            write(d, make(id, loss, "fashion-mnist", 0, seed, r1 + 0.01 * seed, r1 > 0.75 ? 41 : 40));
        }
    ghm_report_opts ro;
    ghm_report_opts_default(&ro);
    ro.formats = GHM_PLOT_PNG;
    ghm_report_result res;
    ghm_error err;
    ASSERT_EQ(ghm_report_write(d.c_str(), nullptr, &ro, &res, &err), 0) << err.msg;
    for (const char *f : {"recall_at_k", "train_loss", "val_recall1_vs_epoch"}) {
        std::string gp = read_all(d + "/plots/" + f + ".gp");
        EXPECT_NE(gp.find("title 'ghm (= contrastive)'"), std::string::npos) << f << "\n" << gp;
        EXPECT_NE(gp.find("title 'triplet'"), std::string::npos) << f << "\n" << gp;
        EXPECT_EQ(gp.find("(= ghm)"), std::string::npos) << f << "\n" << gp;
        // three distinct dash types
        for (const char *dt : {" dt 1 ", " dt 2 ", " dt 3 "}) EXPECT_NE(gp.find(dt), std::string::npos) << f << dt;
    }
    // issue 28.2: metrics in percent, as the tables: Recall@1 of ghm is 70.5 (seeds 0.70, 0.71)
    EXPECT_NE(read_all(d + "/plots/recall_at_k.dat").find("\n1 70.5 "), std::string::npos)
        << read_all(d + "/plots/recall_at_k.dat");
    EXPECT_NE(read_all(d + "/plots/recall_at_k.gp").find("set ylabel 'test Recall@K (%)'"), std::string::npos);
    // two seeds: the title promises error bars
    EXPECT_NE(read_all(d + "/plots/recall_at_k.gp").find("error bars: std over seeds"), std::string::npos);
    rmrf(d);
}

// Issue 28.3: with one seed the title says there are no error bars instead of promising them.
TEST(ReportFigures, OneSeedTitleSaysNoErrorBars)
{
    std::string d = tmpdir();
    {
        // a loss on another scale: 4x the steps of make(); drawn relative to its first value (issue 28.4)
        ghm_record r = make("0000000000000001", "contrastive", "fashion-mnist", 0, 0, 0.7, 10);
        for (int t = 0; t < r.n_steps; t++) r.step_loss[t] *= 4;
        write(d, r);
    }
    write(d, make("0000000000000002", "triplet", "fashion-mnist", 0, 0, 0.8, 10));
    ghm_report_opts ro;
    ghm_report_opts_default(&ro);
    ro.formats = GHM_PLOT_WIDE; // --figure-size page alone: the default formats, full text width
    ghm_report_result res;
    ghm_error err;
    ASSERT_EQ(ghm_report_write(d.c_str(), nullptr, &ro, &res, &err), 0) << err.msg;
    std::string gp = read_all(d + "/plots/recall_at_k.gp");
    EXPECT_NE(gp.find("pdfcairo size 17.5cm,9cm"), std::string::npos) << gp;
    EXPECT_NE(gp.find("pngcairo size 1240,640"), std::string::npos) << gp;
    EXPECT_NE(gp.find("1 seed, no error bars"), std::string::npos) << gp;
    EXPECT_EQ(gp.find("std over seeds"), std::string::npos) << gp;
    std::string tl = read_all(d + "/plots/train_loss.dat");
    EXPECT_EQ(tl.find("\n2 2.04 "), std::string::npos) << tl; // raw
    EXPECT_NE(tl.find("\n2 0.51 "), std::string::npos) << tl; // relative
    // equal relative curves of different raw losses do not coincide
    EXPECT_EQ(read_all(d + "/plots/train_loss.gp").find("(= "), std::string::npos);
    // a swept loss with one seed: the metric-vs-parameter title says so too
    write(d, make("0000000000000003", "ghm", "fashion-mnist", 16, 0, 0.7, 10));
    write(d, make("0000000000000004", "ghm", "fashion-mnist", 32, 0, 0.72, 10));
    ASSERT_EQ(ghm_report_write(d.c_str(), nullptr, &ro, &res, &err), 0) << err.msg;
    gp = read_all(d + "/plots/recall_at_1_vs_backbone_embedding_dim.gp");
    EXPECT_NE(gp.find("1 seed, no error bars"), std::string::npos) << gp;
    rmrf(d);
}

// Issue 28.5: ghm's alpha (0..1) and multi_similarity's alpha (2..8) are
// different parameters: each gets its own column ("<loss>.alpha") in
// summary.csv/md/tex and its own figures (its own x axis); an unshared key
// (tau, ghm's alone) stays unqualified.
TEST(ReportTables, SharedLossParameterNamesAreQualifiedByLoss)
{
    std::string d = tmpdir();
    int k = 1;
    char id[24];
    auto add = [&](const char *loss, const char *key, double v, uint64_t seed, double r1, const char *key2 = nullptr,
                   double v2 = 0) {
        snprintf(id, sizeof id, "%016x", k++);
        ghm_record r = make(id, loss, "fashion-mnist", 0, seed, r1, 5);
        r.n_swept = 1;
        snprintf(r.swept_name[0], GHM_NAME_MAX, "%s", key);
        r.swept_value[0] = v;
        snprintf(r.swept_text[0], GHM_NAME_MAX, "%g", v);
        if (key2) {
            r.n_swept = 2;
            snprintf(r.swept_name[1], GHM_NAME_MAX, "%s", key2);
            r.swept_value[1] = v2;
            snprintf(r.swept_text[1], GHM_NAME_MAX, "%g", v2);
        }
        write(d, r);
    };
    for (uint64_t seed = 0; seed < 2; seed++) {
        for (double a : {0.0, 0.5, 1.0}) add("ghm", "alpha", a, seed, 0.70 + a / 10 + 0.01 * seed, "tau", 0.1);
        for (double a : {2.0, 8.0}) add("multi_similarity", "alpha", a, seed, 0.72 + a / 100 + 0.01 * seed);
    }
    ghm_report_opts ro;
    ghm_report_opts_default(&ro);
    ghm_report_result res;
    ghm_error err;
    ASSERT_EQ(ghm_report_write(d.c_str(), nullptr, &ro, &res, &err), 0) << err.msg;
    EXPECT_EQ(res.n_groups, 5);
    std::string csv = read_all(d + "/summary.csv");
    // the columns of a shared key stay together, in the order the losses first sweep it
    EXPECT_EQ(csv.rfind("loss,ghm.alpha,multi_similarity.alpha,tau,seeds,", 0), 0u) << csv.substr(0, 120);
    EXPECT_NE(csv.find("\nghm,0.5,,0.1,2,"), std::string::npos) << csv;
    EXPECT_NE(csv.find("\nmulti_similarity,,8,,2,"), std::string::npos) << csv;
    EXPECT_EQ(csv.find(",alpha,"), std::string::npos);
    std::string md = read_all(d + "/summary.md"), tex = read_all(d + "/summary.tex");
    EXPECT_NE(md.find("| loss | ghm.alpha | multi_similarity.alpha | tau | seeds |"), std::string::npos) << md;
    // the setting selected on validation names the qualified key
    EXPECT_NE(md.find("| ghm | ghm.alpha=1, tau=0.1 |"), std::string::npos) << md;
    EXPECT_NE(md.find("| multi_similarity | multi_similarity.alpha=8 |"), std::string::npos) << md;
    EXPECT_NE(tex.find("Loss & ghm.alpha & multi\\_similarity.alpha & tau & Seeds"), std::string::npos) << tex;
    // figures: one per qualified parameter, each with its own x axis and only its own loss's curve
    std::string g1 = read_all(d + "/plots/recall_at_1_vs_ghm_alpha.gp"),
                g2 = read_all(d + "/plots/recall_at_1_vs_multi_similarity_alpha.gp");
    ASSERT_FALSE(g1.empty());
    ASSERT_FALSE(g2.empty());
    EXPECT_TRUE(read_all(d + "/plots/recall_at_1_vs_alpha.gp").empty());
    EXPECT_NE(g1.find("set xlabel 'ghm.alpha'"), std::string::npos) << g1;
    EXPECT_NE(g2.find("set xlabel 'multi_similarity.alpha'"), std::string::npos) << g2;
    EXPECT_NE(g1.find("set xtics (0, 0.5, 1)"), std::string::npos) << g1;
    EXPECT_NE(g2.find("set xtics (2, 8)"), std::string::npos) << g2;
    // the other loss is a band (its selected setting), never a curve on this axis
    EXPECT_NE(g1.find("'multi_similarity (± std)'"), std::string::npos) << g1;
    EXPECT_NE(g2.find("'ghm (± std)'"), std::string::npos) << g2;
    rmrf(d);
}

TEST(ReportTables, SweptColumnsQualifyOnlySharedLossParameters)
{
    const char *losses[] = {"ghm", "ghm", "multi_similarity", "triplet", "proxy_anchor", "ghm", "triplet"};
    const char *keys[] = {"alpha", "tau", "alpha", "margin", "margin", "backbone.embedding_dim",
                          "backbone.embedding_dim"};
    char names[16][GHM_NAME_MAX], k2[16][GHM_NAME_MAX], l2[16][32];
    int n = ghm_swept_columns(losses, keys, 7, 16, names, k2, l2);
    ASSERT_EQ(n, 6);
    const char *want[] = {"ghm.alpha", "multi_similarity.alpha", "tau", "triplet.margin", "proxy_anchor.margin",
                          "backbone.embedding_dim"};
    for (int i = 0; i < 6; i++) EXPECT_STREQ(names[i], want[i]) << i;
    EXPECT_STREQ(k2[0], "alpha");
    EXPECT_STREQ(l2[0], "ghm");
    EXPECT_STREQ(l2[2], ""); // tau: ghm's alone
    EXPECT_STREQ(l2[5], ""); // a dotted key means the same for every loss
    EXPECT_EQ(ghm_swept_columns(losses, keys, 7, 5, names, k2, l2), -1);
    // the same loss twice (two entries) shares its own key: one column
    const char *l3[] = {"ghm", "ghm"}, *k3[] = {"alpha", "alpha"};
    EXPECT_EQ(ghm_swept_columns(l3, k3, 2, 16, names, k2, l2), 1);
    EXPECT_STREQ(names[0], "alpha");
}

// Issue 28.7 (sweep): the paper figure, test metric per loss at its selected
// setting with its 95% CI; the data file holds the summary's mean and CI.
TEST(ReportFigures, CompareFigureHoldsTheSummaryIntervals)
{
    std::string d = make_experiment(0);
    ghm_report_opts ro;
    ghm_report_opts_default(&ro);
    ghm_report_result res;
    ghm_error err;
    ASSERT_EQ(ghm_report_write(d.c_str(), nullptr, &ro, &res, &err), 0) << err.msg;
    std::string dat = read_all(d + "/plots/compare_recall_at_1.dat"), gp = read_all(d + "/plots/compare_recall_at_1.gp");
    ASSERT_FALSE(dat.empty());
    // triplet: seeds 0.75 and 0.77 -> mean 76%, std 0.01 sqrt(2), CI t(1) std / sqrt(2) = 12.7062 * 1 point
    double mean = 76, ci = 12.7062;
    char want[128];
    snprintf(want, sizeof want, "0 %.9g %.9g %.9g 0 0", mean, mean - ci, mean + ci);
    EXPECT_NE(dat.find(want), std::string::npos) << want << "\n" << dat;
    EXPECT_NE(gp.find("set ytics ('ghm' 1, 'triplet' 0)"), std::string::npos) << gp;
    EXPECT_NE(gp.find("with xerrorbars"), std::string::npos);
    EXPECT_NE(gp.find("set terminal pdfcairo size 8.5cm,7.5cm"), std::string::npos);
    if (have_gnuplot()) {
        EXPECT_TRUE(exists(d + "/plots/compare_recall_at_1.pdf"));
        EXPECT_TRUE(exists(d + "/plots/compare_recall_at_1.png"));
        EXPECT_TRUE(exists(d + "/plots/compare_map_at_r.pdf"));
        EXPECT_NE(read_all(d + "/index.html").find("plots/compare_recall_at_1.png"), std::string::npos);
    }
    EXPECT_NE(read_all(d + "/summary.md").find("](plots/compare_recall_at_1.png)"), std::string::npos);
    rmrf(d);
}
