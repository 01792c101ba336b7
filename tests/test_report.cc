// report/report.c, record.c, plot.c: statistics, record round trip, table
// shapes from synthetic records, PCA.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include "core/json.h"
#include "report/plot.h"
#include "experiment/record.h"
#include "report/report.h"
}

#include "test_util.h"

namespace {

using ghm_test::tmpdir;
using ghm_test::rmrf;
using ghm_test::read_all;

std::vector<std::string> lines(const std::string &s)
{
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string l;
    while (std::getline(ss, l)) out.push_back(l);
    return out;
}

std::vector<std::string> split(const std::string &s, char c)
{
    std::vector<std::string> out;
    std::string cur;
    for (char ch : s) {
        if (ch == c) {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += ch;
        }
    }
    out.push_back(cur);
    return out;
}

// A synthetic finished record.
ghm_record make_record(const char *id, int index, const char *loss, const char *swept, double sv, uint64_t seed,
                       double r1, double val_r1)
{
    ghm_record r;
    ghm_record_init(&r);
    snprintf(r.run_id, sizeof r.run_id, "%s", id);
    snprintf(r.experiment, sizeof r.experiment, "exp");
    snprintf(r.loss, sizeof r.loss, "%s", loss);
    r.index = index;
    r.seed = seed;
    if (swept) {
        r.n_swept = 1;
        snprintf(r.swept_name[0], GHM_NAME_MAX, "%s", swept);
        r.swept_value[0] = sv;
        snprintf(r.swept_text[0], GHM_NAME_MAX, "%g", sv);
    }
    ghm_metric_set_put(&r.test, "recall@1", r1);
    ghm_metric_set_put(&r.test, "recall@2", std::min(1.0, r1 + 0.1));
    ghm_metric_set_put(&r.test, "map@r", r1 / 2);
    ghm_metric_set_put(&r.test, "nmi", 0.5);
    r.has_val = 1;
    ghm_metric_set_put(&r.val, "recall@1", val_r1);
    for (int e = 1; e <= 2; e++) {
        ghm_history_entry h;
        memset(&h, 0, sizeof h);
        h.epoch = e;
        h.train_loss = 1.0 / e;
        h.lr = 0.001;
        h.seconds = e;
        h.has_val = 1;
        ghm_metric_set_put(&h.val, "recall@1", val_r1 * e / 2);
        ghm_record_add_history(&r, &h, nullptr);
    }
    r.seconds = 3;
    r.epochs = 2;
    return r;
}

void write_record(const std::string &dir, const ghm_record &r)
{
    ghm_error err;
    std::string rd = dir + "/runs/" + r.run_id;
    ASSERT_EQ(ghm_record_write(&r, nullptr, rd.c_str(), &err), 0) << err.msg;
}

} // namespace

TEST(ReportStats, MeanStdCiHandComputed)
{
    const double x[] = {0.70, 0.72, 0.74};
    EXPECT_NEAR(ghm_stat_mean(x, 3), 0.72, 1e-12);
    // deviations -0.02, 0, 0.02: sum sq 0.0008 / (n-1 = 2) = 0.0004 -> std 0.02
    EXPECT_NEAR(ghm_stat_std(x, 3), 0.02, 1e-12);
    // t_{0.975,2} = 4.3027; ci = 4.3027 * 0.02 / sqrt(3) = 0.049683...
    EXPECT_NEAR(ghm_stat_ci95(x, 3), 4.3027 * 0.02 / std::sqrt(3.0), 1e-12);
    EXPECT_NEAR(ghm_stat_ci95(x, 3), 0.0496833, 1e-6);

    const double one[] = {0.5};
    EXPECT_EQ(ghm_stat_std(one, 1), 0.0);
    EXPECT_EQ(ghm_stat_ci95(one, 1), 0.0);
    EXPECT_TRUE(std::isnan(ghm_stat_mean(one, 0)));

    const double two[] = {1.0, 3.0}; // std = sqrt(2), ci = 12.7062 * sqrt(2) / sqrt(2) = 12.7062
    EXPECT_NEAR(ghm_stat_std(two, 2), std::sqrt(2.0), 1e-12);
    EXPECT_NEAR(ghm_stat_ci95(two, 2), 12.7062, 1e-9);

    EXPECT_NEAR(ghm_stat_t975(1), 12.7062, 1e-4);
    EXPECT_NEAR(ghm_stat_t975(4), 2.7764, 1e-4);
    EXPECT_NEAR(ghm_stat_t975(30), 2.0423, 1e-4);
    EXPECT_TRUE(std::isnan(ghm_stat_t975(0)));
    EXPECT_TRUE(std::isnan(ghm_stat_t975(-3)));
    // monotone decreasing towards the normal quantile, across the end of the table too
    for (int d = 1; d < 200; d++) EXPECT_GT(ghm_stat_t975(d), ghm_stat_t975(d + 1)) << d;
    EXPECT_GT(ghm_stat_t975(100000), 1.959963);
    EXPECT_LT(ghm_stat_t975(100000), 1.96);
}

TEST(Record, WriteReadRoundTrip)
{
    std::string d = tmpdir();
    ghm_record r = make_record("00000000000000ab", 7, "ghm", "alpha", 0.25, 18446744073709551615ull, 0.8125, 0.75);
    write_record(d, r);
    std::string path = d + "/runs/00000000000000ab/record.json";
    ghm_record q;
    ghm_error err;
    ASSERT_EQ(ghm_record_read(path.c_str(), &q, &err), 0) << err.msg;
    EXPECT_STREQ(q.run_id, "00000000000000ab");
    EXPECT_STREQ(q.loss, "ghm");
    EXPECT_STREQ(q.experiment, "exp");
    EXPECT_EQ(q.index, 7);
    EXPECT_EQ(q.seed, 18446744073709551615ull); // exact through seed_text
    ASSERT_EQ(q.n_swept, 1);
    EXPECT_STREQ(q.swept_name[0], "alpha");
    EXPECT_EQ(q.swept_value[0], 0.25);
    EXPECT_STREQ(q.swept_text[0], "0.25");
    double v;
    ASSERT_TRUE(ghm_metric_set_find(&q.test, "recall@1", &v));
    EXPECT_EQ(v, 0.8125);
    EXPECT_EQ(q.test.n, 4);
    EXPECT_STREQ(q.test.name[2], "map@r"); // order kept
    ASSERT_TRUE(q.has_val);
    ASSERT_EQ(q.n_history, 2);
    EXPECT_EQ(q.history[1].epoch, 2);
    EXPECT_EQ(q.history[1].train_loss, 0.5);
    EXPECT_TRUE(q.history[1].has_val);
    EXPECT_EQ(q.seconds, 3);
    EXPECT_TRUE(ghm_record_is_finished(d.c_str(), "00000000000000ab"));
    EXPECT_FALSE(ghm_record_is_finished(d.c_str(), "00000000000000ac"));
    ghm_record_free(&q);

    // truncated record: not finished, read error names the file
    std::string text = read_all(path);
    {
        std::ofstream f(path, std::ios::trunc);
        f << text.substr(0, text.size() / 2);
    }
    EXPECT_FALSE(ghm_record_is_finished(d.c_str(), "00000000000000ab"));
    EXPECT_EQ(ghm_record_read(path.c_str(), &q, &err), GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find("record.json:"), std::string::npos) << err.msg;
    // valid JSON that is not a record
    {
        std::ofstream f(path, std::ios::trunc);
        f << "{\"hello\": 1}";
    }
    EXPECT_EQ(ghm_record_read(path.c_str(), &q, &err), GHM_EINPUT);
    // a record with another run id is not this run's
    ghm_record other = make_record("ffffffffffffffff", 0, "ghm", nullptr, 0, 0, 0.5, 0.5);
    char *json;
    ASSERT_EQ(ghm_record_to_json(&other, nullptr, &json, &err), 0);
    {
        std::ofstream f(path, std::ios::trunc);
        f << json;
    }
    free(json);
    EXPECT_FALSE(ghm_record_is_finished(d.c_str(), "00000000000000ab"));
    ghm_record_free(&other);
    ghm_record_free(&r);
    rmrf(d);
}

TEST(Report, TablesFromSyntheticRecords)
{
    std::string d = tmpdir();
    // triplet: no sweep, 3 seeds; ghm: alpha in {0.5, 1} x 2 seeds
    std::vector<ghm_record> recs;
    recs.push_back(make_record("0000000000000001", 0, "triplet", nullptr, 0, 0, 0.70, 0.6));
    recs.push_back(make_record("0000000000000002", 1, "triplet", nullptr, 0, 1, 0.72, 0.6));
    recs.push_back(make_record("0000000000000003", 2, "triplet", nullptr, 0, 2, 0.74, 0.6));
    recs.push_back(make_record("0000000000000004", 3, "ghm", "alpha", 0.5, 0, 0.80, 0.70));
    recs.push_back(make_record("0000000000000005", 4, "ghm", "alpha", 0.5, 1, 0.82, 0.72));
    // alpha = 1 has the better TEST but the worse VALIDATION recall: selection must pick 0.5
    recs.push_back(make_record("0000000000000006", 5, "ghm", "alpha", 1.0, 0, 0.90, 0.50));
    recs.push_back(make_record("0000000000000007", 6, "ghm", "alpha", 1.0, 1, 0.92, 0.52));
    for (auto &r : recs) write_record(d, r);
    // an unfinished run dir (temp file only) and garbage are ignored
    system(("mkdir -p " + d + "/runs/0000000000000008 && echo '{' > " + d +
            "/runs/0000000000000008/record.json.tmpAbCdEf").c_str());
    system(("mkdir -p " + d + "/runs/0000000000000009 && echo '{' > " + d + "/runs/0000000000000009/record.json")
               .c_str());

    ghm_record *loaded;
    int n, bad;
    ghm_error err;
    ASSERT_EQ(ghm_records_load(d.c_str(), &loaded, &n, &bad, &err), 0);
    EXPECT_EQ(n, 7);
    EXPECT_EQ(bad, 1);
    ghm_summary s;
    ASSERT_EQ(ghm_summary_build(loaded, n, nullptr, &s, &err), 0) << err.msg;
    ASSERT_EQ(s.n_groups, 3);
    EXPECT_EQ(s.n_swept, 1);
    EXPECT_EQ(s.n_losses, 2);
    EXPECT_EQ(ghm_summary_loss_groups(&s, "ghm"), 2);
    int g = ghm_summary_select_val(&s, "ghm");
    ASSERT_GE(g, 0);
    EXPECT_STREQ(s.groups[g].text[0], "0.5");
    int on_test = 1;
    EXPECT_EQ(ghm_summary_best(&s, "ghm", &on_test), g);
    EXPECT_EQ(on_test, 0);

    char *csv;
    ASSERT_EQ(ghm_summary_csv(&s, &csv, &err), 0);
    auto L = lines(csv);
    free(csv);
    ASSERT_EQ(L.size(), 4u); // header + 3 groups
    auto head = split(L[0], ',');
    ASSERT_EQ(head.size(), 3u + 4 * 3);
    EXPECT_EQ(head[0], "loss");
    EXPECT_EQ(head[1], "alpha");
    EXPECT_EQ(head[2], "seeds");
    EXPECT_EQ(head[3], "recall@1_mean");
    EXPECT_EQ(head[4], "recall@1_std");
    EXPECT_EQ(head[5], "recall@1_ci95");
    EXPECT_EQ(head[9], "map@r_mean");
    auto row = split(L[1], ',');
    ASSERT_EQ(row.size(), head.size());
    EXPECT_EQ(row[0], "triplet");
    EXPECT_EQ(row[1], ""); // not applicable
    EXPECT_EQ(row[2], "3");
    EXPECT_NEAR(atof(row[3].c_str()), 0.72, 1e-6);
    EXPECT_NEAR(atof(row[4].c_str()), 0.02, 1e-6);
    EXPECT_NEAR(atof(row[5].c_str()), 0.0496833, 1e-6);
    auto row2 = split(L[2], ',');
    EXPECT_EQ(row2[0], "ghm");
    EXPECT_EQ(row2[1], "0.5");
    EXPECT_EQ(row2[2], "2");
    EXPECT_NEAR(atof(row2[3].c_str()), 0.81, 1e-6);

    char *md;
    ASSERT_EQ(ghm_summary_markdown(&s, "exp", &md, &err), 0);
    std::string m(md);
    free(md);
    EXPECT_NE(m.find("| loss | alpha | seeds | R@1 | R@2 | MAP@R | NMI |"), std::string::npos) << m;
    EXPECT_NE(m.find("| triplet |  | 3 | 72.00 ± 4.97 |"), std::string::npos) << m;
    EXPECT_NE(m.find("**91.00 ± 12.71**"), std::string::npos) << m; // best R@1 in bold
    EXPECT_NE(m.find("## Selected on validation"), std::string::npos);
    EXPECT_NE(m.find("| ghm | alpha=0.5 | 71.00 ± 12.71 | 81.00 ± 12.71 |"), std::string::npos) << m;

    char *tex;
    ASSERT_EQ(ghm_summary_latex(&s, "exp", &tex, &err), 0);
    std::string t(tex);
    free(tex);
    EXPECT_NE(t.find("\\toprule"), std::string::npos);
    EXPECT_NE(t.find("\\bottomrule"), std::string::npos);
    EXPECT_NE(t.find("$\\mathbf{91.00 \\pm 12.71}$"), std::string::npos) << t;

    ghm_summary_free(&s);
    ghm_records_free(loaded, n);

    // whole report into files (plots with a missing gnuplot: warning, tables still written)
    ghm_report_opts ro;
    ghm_report_opts_default(&ro);
    ro.gnuplot = "/nonexistent/gnuplot";
    ghm_report_result res;
    ASSERT_EQ(ghm_report_write(d.c_str(), nullptr, &ro, &res, &err), 0) << err.msg;
    EXPECT_EQ(res.n_records, 7);
    EXPECT_EQ(res.n_groups, 3);
    EXPECT_EQ(res.n_plots, 0);
    EXPECT_NE(std::string(res.warning).find("plots skipped"), std::string::npos) << res.warning;
    EXPECT_EQ(lines(read_all(d + "/summary.csv")).size(), 4u);
    // the files hold the tables built above, as built
    {
        ghm_record *again;
        int n2, bad2;
        ASSERT_EQ(ghm_records_load(d.c_str(), &again, &n2, &bad2, &err), 0);
        ghm_summary s2;
        ASSERT_EQ(ghm_summary_build(again, n2, nullptr, &s2, &err), 0);
        char *t2;
        ASSERT_EQ(ghm_summary_latex(&s2, nullptr, &t2, &err), 0);
        std::string tex2(t2);
        free(t2);
        EXPECT_NE(read_all(d + "/summary.tex").find(tex2.substr(tex2.find("\\toprule"))), std::string::npos);
        std::string md2 = read_all(d + "/summary.md");
        EXPECT_NE(md2.find("| triplet |  | 3 | 72.00 ± 4.97 |"), std::string::npos) << md2;
        EXPECT_NE(md2.find("| ghm | alpha=0.5 | 71.00 ± 12.71 | 81.00 ± 12.71 |"), std::string::npos) << md2;
        ghm_summary_free(&s2);
        ghm_records_free(again, n2);
    }
    // the gnuplot script draws the .dat beside it into images of the same name (the baseline band is
    // block 0, the swept loss's curve block 1)
    std::string gp = read_all(d + "/plots/recall_at_1_vs_alpha.gp");
    EXPECT_NE(gp.find("out = 'recall_at_1_vs_alpha'"), std::string::npos) << gp;
    EXPECT_NE(gp.find("set output out.\".png\""), std::string::npos) << gp;
    EXPECT_NE(gp.find("'recall_at_1_vs_alpha.dat' index 1 using 1:2:3 with yerrorlines"), std::string::npos) << gp;
    std::string dat = read_all(d + "/plots/recall_at_1_vs_alpha.dat");
    EXPECT_NE(dat.find("0.5 81 "), std::string::npos) << dat; // percent, as the tables
    EXPECT_FALSE(read_all(d + "/plots/train_loss.gp").empty());

    // with gnuplot (when installed): PNGs appear
    if (system("gnuplot -e 'exit' >/dev/null 2>&1") == 0) {
        ghm_report_opts_default(&ro);
        ASSERT_EQ(ghm_report_write(d.c_str(), nullptr, &ro, &res, &err), 0) << err.msg;
        EXPECT_GE(res.n_plots, 5);
        EXPECT_EQ(res.warning[0], '\0') << res.warning;
        EXPECT_EQ(read_all(d + "/plots/recall_at_1_vs_alpha.png").substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
    }
    for (auto &r : recs) ghm_record_free(&r);
    rmrf(d);
}

TEST(Report, EmptyDirectoryIsAnError)
{
    std::string d = tmpdir();
    ghm_report_result res;
    ghm_error err;
    EXPECT_EQ(ghm_report_write(d.c_str(), nullptr, nullptr, &res, &err), GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find("no finished runs"), std::string::npos);
    rmrf(d);
}

TEST(Plot, Pca2FindsTheMainAxes)
{
    // points along (1, 1, 0) with large spread, along (0, 0, 1) with small spread
    const int n = 200, d = 3;
    std::vector<float> x(n * d), out(n * 2);
    for (int i = 0; i < n; i++) {
        double a = (i - 100) * 0.1, b = ((i * 37) % 11 - 5) * 0.01;
        x[i * 3 + 0] = (float)(a + 5);
        x[i * 3 + 1] = (float)(a - 2);
        x[i * 3 + 2] = (float)(b + 1);
    }
    ghm_error err;
    ASSERT_EQ(ghm_pca2(x.data(), n, d, out.data(), &err), 0);
    // pc1 = +-(a - mean a) * sqrt(2), pc2 = +-(b - mean b); the sign convention is
    // arbitrary here (both components of pc1 are equal), so compare magnitudes.
    double ma = 0, mb = 0;
    for (int i = 0; i < n; i++) {
        ma += (i - 100) * 0.1 / n;
        mb += ((i * 37) % 11 - 5) * 0.01 / n;
    }
    for (int i = 0; i < n; i++) {
        double a = (i - 100) * 0.1 - ma, b = ((i * 37) % 11 - 5) * 0.01 - mb;
        EXPECT_NEAR(std::fabs(out[i * 2]), std::fabs(a) * std::sqrt(2.0), 1e-3); // float32 data, |a| <= 10
        EXPECT_NEAR(std::fabs(out[i * 2 + 1]), std::fabs(b), 1e-3);
    }
    EXPECT_EQ(ghm_pca2(x.data(), 0, d, out.data(), &err), GHM_EINPUT);
}
