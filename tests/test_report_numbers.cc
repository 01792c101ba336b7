// The report's numbers (report/report.c, plot.c): the whole t table against
// reference quantiles, every selection path (validation, the single setting,
// the fallback to test when there is no validation metric, ties), and the
// plot .dat files parsed back and compared with the summary's means and std.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include "experiment/record.h"
#include "report/report.h"

#include "test_util.h"
}

namespace {

using ghm_test::TempDir;

// Student t 0.975 quantiles, computed independently (bisection on the t CDF,
// the density integrated by Simpson's rule with 20,000 intervals; they agree
// with published tables to all 6 decimals shown).
const struct {
    int dof;
    double t;
} kT975[] = {
    {1, 12.706205}, {2, 4.302653},  {3, 3.182446},  {4, 2.776445},  {5, 2.570582},  {6, 2.446912},
    {7, 2.364624},  {8, 2.306004},  {9, 2.262157},  {10, 2.228139}, {11, 2.200985}, {12, 2.178813},
    {13, 2.160369}, {14, 2.144787}, {15, 2.131450}, {16, 2.119905}, {17, 2.109816}, {18, 2.100922},
    {19, 2.093024}, {20, 2.085963}, {21, 2.079614}, {22, 2.073873}, {23, 2.068658}, {24, 2.063899},
    {25, 2.059539}, {26, 2.055529}, {27, 2.051831}, {28, 2.048407}, {29, 2.045230}, {30, 2.042272},
    {31, 2.039513}, {40, 2.021075}, {60, 2.000298}, {120, 1.979930}, {1000, 1.962339},
};

std::string slurp(const std::string &path)
{
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// A finished record: test Recall@1/@2 and MAP@R, per-epoch training loss and
// (when val >= 0) validation Recall@1.
ghm_record rec(int index, const char *loss, const char *swept, double sv, uint64_t seed, double r1, double val,
               const std::vector<double> &train_loss)
{
    ghm_record r;
    ghm_record_init(&r);
    snprintf(r.run_id, sizeof r.run_id, "%016x", index + 1);
    snprintf(r.experiment, sizeof r.experiment, "num");
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
    ghm_metric_set_put(&r.test, "recall@2", r1 + 0.05 + 0.01 * (double)seed);
    ghm_metric_set_put(&r.test, "map@r", r1 / 2);
    r.has_val = val >= 0;
    if (val >= 0) ghm_metric_set_put(&r.val, "recall@1", val);
    for (size_t e = 0; e < train_loss.size(); e++) {
        ghm_history_entry h;
        memset(&h, 0, sizeof h);
        h.epoch = (int)e + 1;
        h.train_loss = train_loss[e];
        h.lr = 0.01;
        h.seconds = (double)e + 1;
        if (val >= 0) {
            h.has_val = 1;
            ghm_metric_set_put(&h.val, "recall@1", val * (double)(e + 1) / (double)train_loss.size());
        }
        ghm_record_add_history(&r, &h, nullptr);
    }
    r.epochs = (int)train_loss.size();
    r.seconds = 5;
    return r;
}

// triplet: one setting, 3 seeds, with validation.
// ghm: alpha 0.5 (val 0.70, 0.74) and 1 (val 0.50, 0.52, but the better TEST): selection picks 0.5.
// npair: l2_reg 0.001 / 0.01, no validation part: the fallback picks the better test Recall@1 (0.01).
// proxy_nca: one setting, no validation: its only setting.
std::vector<ghm_record> make_records()
{
    std::vector<ghm_record> v;
    int i = 0;
    v.push_back(rec(i++, "triplet", nullptr, 0, 0, 0.70, 0.60, {1.0, 0.8}));
    v.push_back(rec(i++, "triplet", nullptr, 0, 1, 0.72, 0.62, {1.2, 0.7}));
    v.push_back(rec(i++, "triplet", nullptr, 0, 2, 0.77, 0.61, {0.9, 0.6}));
    v.push_back(rec(i++, "ghm", "alpha", 0.5, 0, 0.80, 0.70, {2.0, 1.0}));
    v.push_back(rec(i++, "ghm", "alpha", 0.5, 1, 0.84, 0.74, {2.5, 1.5}));
    v.push_back(rec(i++, "ghm", "alpha", 1.0, 0, 0.90, 0.50, {2.0, 1.1}));
    v.push_back(rec(i++, "ghm", "alpha", 1.0, 1, 0.93, 0.52, {2.2, 1.3}));
    v.push_back(rec(i++, "npair", "l2_reg", 0.001, 0, 0.60, -1, {3.0, 2.0}));
    v.push_back(rec(i++, "npair", "l2_reg", 0.001, 1, 0.62, -1, {3.0, 2.5}));
    v.push_back(rec(i++, "npair", "l2_reg", 0.01, 0, 0.66, -1, {3.0, 1.0}));
    v.push_back(rec(i++, "npair", "l2_reg", 0.01, 1, 0.64, -1, {2.0, 1.0}));
    v.push_back(rec(i++, "proxy_nca", nullptr, 0, 0, 0.50, -1, {4.0}));
    return v;
}

struct Summary {
    std::vector<ghm_record> recs = make_records();
    ghm_summary s;
    ghm_error err;
    int rc;
    Summary() { rc = ghm_summary_build(recs.data(), (int)recs.size(), nullptr, &s, &err); }
    ~Summary()
    {
        if (rc == 0) ghm_summary_free(&s);
        for (auto &r : recs) ghm_record_free(&r);
    }
    int group(const char *loss, const char *text) const
    {
        for (int g = 0; g < s.n_groups; g++) {
            if (strcmp(s.groups[g].loss, loss) != 0) continue;
            bool any = false;
            for (int c = 0; c < s.n_swept; c++)
                if (s.groups[g].has[c]) {
                    any = true;
                    if (text && !strcmp(s.groups[g].text[c], text)) return g;
                }
            if (!any && !text) return g;
        }
        return -1;
    }
};

// A .dat file: blocks separated by blank lines, each named by its last '#' line.
std::map<std::string, std::vector<std::vector<double>>> parse_dat(const std::string &text)
{
    std::map<std::string, std::vector<std::vector<double>>> out;
    std::stringstream ss(text);
    std::string line, name;
    while (std::getline(ss, line)) {
        if (line.empty()) continue;
        if (line[0] == '#') {
            name = line.substr(line.find_first_not_of("# "));
            continue;
        }
        std::stringstream ls(line);
        std::vector<double> row;
        double x;
        while (ls >> x) row.push_back(x);
        out[name].push_back(row);
    }
    return out;
}

double rel(double a, double b) { return std::fabs(a - b) / std::max(1e-300, std::fabs(b)); }

} // namespace

TEST(ReportT, WholeTableAgainstReferenceQuantiles)
{
    for (const auto &r : kT975) {
        // the table holds 4 decimals; beyond it the expansion is within 1e-6
        EXPECT_NEAR(ghm_stat_t975(r.dof), r.t, r.dof <= 30 ? 5e-5 : 2e-6) << "dof " << r.dof;
    }
    for (int d = 1; d <= 30; d++) EXPECT_GE(ghm_stat_t975(d), kT975[d - 1].t - 5e-5);
    // the confidence half-width uses t at n - 1 degrees of freedom
    for (int n : {2, 3, 5, 10, 31, 32, 100}) {
        std::vector<double> x(n);
        for (int i = 0; i < n; i++) x[i] = (i % 2) ? 1.0 : 0.0;
        double want = ghm_stat_t975(n - 1) * ghm_stat_std(x.data(), n) / std::sqrt((double)n);
        EXPECT_DOUBLE_EQ(ghm_stat_ci95(x.data(), n), want) << n;
    }
}

TEST(ReportSelect, EveryPath)
{
    Summary S;
    ASSERT_EQ(S.rc, 0) << S.err.msg;
    const ghm_summary &s = S.s;
    ASSERT_EQ(s.n_groups, 6);
    int trip = S.group("triplet", nullptr), g05 = S.group("ghm", "0.5"), g1 = S.group("ghm", "1"),
        n001 = S.group("npair", "0.001"), n01 = S.group("npair", "0.01"), prox = S.group("proxy_nca", nullptr);
    ASSERT_GE(trip, 0);
    ASSERT_GE(g05, 0);
    ASSERT_GE(g1, 0);
    ASSERT_GE(n001, 0);
    ASSERT_GE(n01, 0);
    ASSERT_GE(prox, 0);
    // validation Recall@1 over seeds
    EXPECT_EQ(s.groups[g05].val_recall1.n, 2);
    EXPECT_NEAR(s.groups[g05].val_recall1.mean, 0.72, 1e-12);
    EXPECT_EQ(s.groups[n01].val_recall1.n, 0);

    // 1. on validation, although the other setting has the better test score
    EXPECT_EQ(ghm_summary_select_val(&s, "ghm"), g05);
    int on_test = -1;
    EXPECT_EQ(ghm_summary_best(&s, "ghm", &on_test), g05);
    EXPECT_EQ(on_test, 0);
    // 2. one setting with validation
    EXPECT_EQ(ghm_summary_select_val(&s, "triplet"), trip);
    EXPECT_EQ(ghm_summary_best(&s, "triplet", &on_test), trip);
    EXPECT_EQ(on_test, 0);
    // 3. no validation metric, several settings: fallback to test Recall@1, said so
    EXPECT_EQ(ghm_summary_select_val(&s, "npair"), -1);
    EXPECT_EQ(ghm_summary_best(&s, "npair", &on_test), n01);
    EXPECT_EQ(on_test, 1);
    EXPECT_EQ(ghm_summary_best(&s, "npair", nullptr), n01);
    // 4. no validation metric, one setting: that one, not "selected on test"
    EXPECT_EQ(ghm_summary_select_val(&s, "proxy_nca"), -1);
    EXPECT_EQ(ghm_summary_best(&s, "proxy_nca", &on_test), prox);
    EXPECT_EQ(on_test, 0);
    // 5. a loss without runs
    EXPECT_EQ(ghm_summary_select_val(&s, "arcface"), -1);
    EXPECT_EQ(ghm_summary_best(&s, "arcface", &on_test), -1);
    EXPECT_EQ(on_test, 0);

    // the Markdown table says what was selected, and that npair could not be
    char *md = nullptr;
    ASSERT_EQ(ghm_summary_markdown(&s, "num", &md, &S.err), 0);
    std::string m(md);
    free(md);
    EXPECT_NE(m.find("| ghm | alpha=0.5 | 72.00 ± 25.41 |"), std::string::npos) << m; // t(1) * 0.02*sqrt2/sqrt2
    EXPECT_NE(m.find("| npair | (no validation metrics"), std::string::npos) << m;
    EXPECT_EQ(m.find("| triplet | ("), std::string::npos) << m; // not swept: no selection row
}

TEST(ReportSelect, TiesKeepThePlanOrder)
{
    std::vector<ghm_record> v;
    v.push_back(rec(0, "ghm", "alpha", 0.25, 0, 0.60, 0.70, {1.0}));
    v.push_back(rec(1, "ghm", "alpha", 0.75, 0, 0.65, 0.70, {1.0}));
    v.push_back(rec(2, "npair", "l2_reg", 0.1, 0, 0.50, -1, {1.0}));
    v.push_back(rec(3, "npair", "l2_reg", 0.2, 0, 0.50, -1, {1.0}));
    ghm_summary s;
    ghm_error err;
    ASSERT_EQ(ghm_summary_build(v.data(), (int)v.size(), nullptr, &s, &err), 0) << err.msg;
    int g = ghm_summary_select_val(&s, "ghm");
    ASSERT_GE(g, 0);
    EXPECT_STREQ(s.groups[g].text[0], "0.25");
    int on_test;
    g = ghm_summary_best(&s, "npair", &on_test);
    ASSERT_GE(g, 0);
    EXPECT_STREQ(s.groups[g].text[1], "0.1");
    EXPECT_EQ(on_test, 1);
    ghm_summary_free(&s);
    for (auto &r : v) ghm_record_free(&r);
}

TEST(ReportPlots, DatFilesCarryTheSummarysMeansAndStd)
{
    Summary S;
    ASSERT_EQ(S.rc, 0) << S.err.msg;
    TempDir td;
    const std::string &d = td.path;
    for (auto &r : S.recs) {
        ghm_error err;
        ASSERT_EQ(ghm_record_write(&r, nullptr, (d + "/runs/" + r.run_id).c_str(), &err), 0) << err.msg;
    }
    ghm_report_opts ro;
    ghm_report_opts_default(&ro);
    ro.gnuplot = "/nonexistent/gnuplot"; // the .dat files are written without gnuplot
    ghm_report_result res;
    ghm_error err;
    ASSERT_EQ(ghm_report_write(d.c_str(), nullptr, &ro, &res, &err), 0) << err.msg;
    EXPECT_EQ(res.n_records, 12);
    EXPECT_EQ(res.n_groups, 6);
    const ghm_summary &s = S.s;
    int r1 = ghm_summary_metric(&s, "recall@1"), r2 = ghm_summary_metric(&s, "recall@2");
    ASSERT_GE(r1, 0);
    ASSERT_GE(r2, 0);

    // test Recall@1 against alpha: one curve for ghm, x sorted, mean std n of each setting
    std::string text = slurp(d + "/plots/recall_at_1_vs_alpha.dat");
    ASSERT_FALSE(text.empty());
    EXPECT_NE(text.find("mean std n"), std::string::npos) << text; // the columns it claims
    auto dat = parse_dat(text);
    ASSERT_EQ(dat.count("ghm"), 1u) << text;
    const auto &rows = dat["ghm"];
    ASSERT_EQ(rows.size(), 2u);
    const int gs[2] = {S.group("ghm", "0.5"), S.group("ghm", "1")};
    for (int k = 0; k < 2; k++) {
        ASSERT_EQ(rows[k].size(), 4u);
        const ghm_stat &st = s.groups[gs[k]].test[r1];
        EXPECT_EQ(rows[k][0], k == 0 ? 0.5 : 1.0);
        EXPECT_LT(rel(rows[k][1], 100 * st.mean), 1e-8); // percent, as the tables
        EXPECT_LT(rel(rows[k][2], 100 * st.std), 1e-8);
        EXPECT_EQ(rows[k][3], st.n);
    }
    // by hand: alpha 1 -> mean (0.90 + 0.93) / 2 = 0.915, std |0.93 - 0.90| / sqrt 2
    EXPECT_NEAR(rows[1][1], 91.5, 1e-7);
    EXPECT_NEAR(rows[1][2], 3 / std::sqrt(2.0), 1e-7);
    // npair is not swept over alpha: no curve (it is drawn as a baseline)
    EXPECT_EQ(dat.count("npair"), 0u);

    // Recall@K: one block per loss, its selected setting; K, mean, std, n
    auto rk = parse_dat(slurp(d + "/plots/recall_at_k.dat"));
    const std::map<std::string, int> best = {{"triplet", S.group("triplet", nullptr)},
                                             {"ghm", S.group("ghm", "0.5")},
                                             {"npair", S.group("npair", "0.01")},
                                             {"proxy_nca", S.group("proxy_nca", nullptr)}};
    ASSERT_EQ(rk.size(), best.size());
    for (const auto &kv : best) {
        SCOPED_TRACE(kv.first);
        const auto &b = rk[kv.first];
        ASSERT_EQ(b.size(), 2u);
        EXPECT_EQ(b[0][0], 1);
        EXPECT_EQ(b[1][0], 2);
        const ghm_group &G = s.groups[kv.second];
        EXPECT_LT(rel(b[0][1], 100 * G.test[r1].mean), 1e-8);
        EXPECT_LT(rel(b[1][1], 100 * G.test[r2].mean), 1e-8);
        EXPECT_NEAR(b[0][2], 100 * G.test[r1].std, 1e-7); // printed with 9 significant digits
        EXPECT_EQ(b[0][3], G.test[r1].n);
    }
    // triplet by hand: R@1 = 0.70, 0.72, 0.77 -> mean 0.73, std sqrt((0.03^2 + 0.01^2 + 0.04^2) / 2)
    EXPECT_NEAR(rk["triplet"][0][1], 73, 1e-7);
    EXPECT_NEAR(rk["triplet"][0][2], 100 * std::sqrt((0.0009 + 0.0001 + 0.0016) / 2), 1e-7);

    // training loss per epoch of each selected setting: mean and std over its seeds
    auto tl = parse_dat(slurp(d + "/plots/train_loss.dat"));
    ASSERT_EQ(tl.size(), 4u);
    // ghm alpha 0.5: epoch 1 (2.0, 2.5), epoch 2 (1.0, 1.5)
    ASSERT_EQ(tl["ghm"].size(), 2u);
    EXPECT_EQ(tl["ghm"][0][0], 1);
    // each loss relative to its first value (issue 28.4): ghm's is 2.25, npair's 2.5
    EXPECT_NEAR(tl["ghm"][0][1], 2.25 / 2.25, 1e-8);
    EXPECT_NEAR(tl["ghm"][0][2], 0.5 / std::sqrt(2.0) / 2.25, 1e-8);
    EXPECT_EQ(tl["ghm"][0][3], 2);
    EXPECT_NEAR(tl["ghm"][1][1], 1.25 / 2.25, 1e-8);
    // npair by test fallback, l2_reg 0.01: epoch 1 (3.0, 2.0), epoch 2 (1.0, 1.0)
    EXPECT_NEAR(tl["npair"][0][1], 2.5 / 2.5, 1e-8);
    EXPECT_NEAR(tl["npair"][1][1], 1.0 / 2.5, 1e-8);
    EXPECT_NEAR(tl["npair"][1][2], 0.0, 1e-12);
    // triplet: epoch 2 (0.8, 0.7, 0.6)
    // (relative to its epoch-1 mean, 3.1 / 3)
    EXPECT_NEAR(tl["triplet"][1][1], 0.7 / (3.1 / 3), 1e-8);
    EXPECT_NEAR(tl["triplet"][1][2], 0.1 / (3.1 / 3), 1e-8);
    EXPECT_EQ(tl["triplet"][1][3], 3);
    // proxy_nca: one epoch, one seed
    ASSERT_EQ(tl["proxy_nca"].size(), 1u);
    EXPECT_NEAR(tl["proxy_nca"][0][1], 4.0 / 4.0, 1e-12);

    // validation Recall@1 per epoch: only the losses with validation
    auto vr = parse_dat(slurp(d + "/plots/val_recall1_vs_epoch.dat"));
    EXPECT_EQ(vr.count("npair"), 0u);
    EXPECT_EQ(vr.count("proxy_nca"), 0u);
    ASSERT_EQ(vr["ghm"].size(), 2u);
    // alpha 0.5: epoch e of 2 holds val * e / 2 -> epoch 1 (0.35, 0.37), epoch 2 (0.70, 0.74)
    // (in percent, as the tables)
    EXPECT_NEAR(vr["ghm"][0][1], 36, 1e-7);
    EXPECT_NEAR(vr["ghm"][1][1], 72, 1e-7);
    EXPECT_NEAR(vr["ghm"][1][2], 4 / std::sqrt(2.0), 1e-7);
}
