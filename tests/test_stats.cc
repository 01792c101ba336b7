// Hypothesis tests of paired comparisons (report/stats.c) against reference
// values computed with SciPy 1.10.1 / statsmodels 0.13 (Debian 12's
// python3-scipy, python3-statsmodels) and written here; the `primary:` key of
// experiment files; and paired.csv / summary.md of a committed study
// reported with a primary family.
//
// How the reference numbers were made (Python 3.11):
//   scipy.special.betainc(a, b, x)
//   scipy.stats.t.cdf(t, df), 2 * scipy.stats.t.sf(abs(t), df)
//   scipy.stats.ttest_rel(a, b).pvalue
//   scipy.stats.wilcoxon(d, method="exact").pvalue                (no ties, no zeros)
//   scipy.stats.permutation_test((d_nonzero,), W+, permutation_type="samples",
//       n_resamples=inf, alternative="two-sided").pvalue          (ties and zeros: W+ = the
//       signed-rank sum with average ranks, zeros dropped first)
//   statsmodels.stats.multitest.multipletests(p, method="holm")[1]
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include "experiment/experiment.h"
#include "report/report.h"
#include "report/stats.h"
}

#include "test_util.h"

namespace {

using namespace ghm_test;

// relative error, for values that may be tiny
void expect_rel(double got, double want, double tol, const std::string &what)
{
    EXPECT_LE(std::fabs(got - want), tol * std::fabs(want) + 1e-300) << what << ": got " << got << " want " << want;
}

TEST(Stats, IncompleteBetaMatchesScipy)
{
    struct {
        double a, b, x, want;
    } c[] = {
        {0.5, 0.5, 0.3, 0.3690101195655454},    {1, 1, 0.42, 0.42},
        {2.5, 0.5, 0.9, 0.4895897445644274},    {0.5, 2.5, 0.01, 0.1689177210279435},
        {10, 20, 0.3, 0.3640040810719437},      {50, 0.5, 0.98, 0.15624350786681956},
        {1.5, 0.5, 1e-06, 4.244133089024102e-10}, {250, 0.5, 0.995, 0.11357434834042068},
        {0.5, 250, 0.002, 0.682689734592148},   {3, 7, 0.999, 0.9999999999999999},
    };
    for (auto &k : c) {
        std::ostringstream w;
        w << "I_" << k.x << "(" << k.a << ", " << k.b << ")";
        expect_rel(ghm_stat_betai(k.a, k.b, k.x), k.want, 1e-12, w.str());
    }
    EXPECT_EQ(ghm_stat_betai(2, 3, 0), 0.0);
    EXPECT_EQ(ghm_stat_betai(2, 3, 1), 1.0);
    EXPECT_TRUE(std::isnan(ghm_stat_betai(0, 3, 0.5)));
    EXPECT_TRUE(std::isnan(ghm_stat_betai(2, 3, 1.5)));
    EXPECT_TRUE(std::isnan(ghm_stat_betai(2, 3, NAN)));
}

TEST(Stats, StudentTMatchesScipy)
{
    struct {
        double t, df, cdf, p2;
    } c[] = {
        {0, 1, 0.5, 1.0},
        {1, 1, 0.7500000000000002, 0.49999999999999956},
        {-2, 2, 0.09175170953613696, 0.1835034190722739},
        {2.9199855803537247, 2, 0.95, 0.10000000000000003},
        {4.302652729911275, 2, 0.9750000000017417, 0.04999999999651663},
        {1.5, 3, 0.8847080673775886, 0.23058386524482283},
        {-3.7, 5, 0.006999703487849554, 0.013999406975699107},
        {10, 2, 0.9950737714883371, 0.009852457023325692},
        {-25, 4, 7.598762881657872e-06, 1.5197525763315744e-05},
        {2.5, 9.5, 0.9837074711051979, 0.032585057789604334},
        {0.3, 30, 0.6168769473578236, 0.7662461052843528},
        {-1.96, 1000, 0.025136592477874354, 0.05027318495574871},
        {40, 3, 0.9999828096596054, 3.438068078915854e-05},
        {-8, 10, 5.887471394833078e-06, 1.1774942789666156e-05},
        {0.001, 7, 0.5003849913775006, 0.9992300172449988},
        {2.5, 1e6, 0.9937902552489184, 0.012419489502163228},
        {-40, 1000, 5.239426077586736e-210, 1.0478852155173472e-209},
        {12, 64, 1.0, 4.941491913077973e-18},
    };
    for (auto &k : c) {
        std::ostringstream w;
        w << "t=" << k.t << " df=" << k.df;
        // relative accuracy: 1e-11 up to 1000 degrees of freedom, 1e-9 beyond (SciPy's own digits thin out there)
        double tol = k.df <= 1000 ? 1e-11 : 1e-9;
        expect_rel(ghm_stat_t_cdf(k.t, k.df), k.cdf, tol, "cdf " + w.str());
        expect_rel(ghm_stat_t_p2(k.t, k.df), k.p2, tol, "p2 " + w.str());
    }
    EXPECT_EQ(ghm_stat_t_cdf(INFINITY, 3), 1.0);
    EXPECT_EQ(ghm_stat_t_cdf(-INFINITY, 3), 0.0);
    EXPECT_EQ(ghm_stat_t_p2(INFINITY, 3), 0.0);
    EXPECT_TRUE(std::isnan(ghm_stat_t_cdf(1, 0)));
    EXPECT_TRUE(std::isnan(ghm_stat_t_p2(NAN, 3)));
    // the 0.975 quantiles of the CI table (4 decimals) are where the cdf says 0.975
    for (int dof = 1; dof <= 40; dof++)
        EXPECT_NEAR(ghm_stat_t_cdf(ghm_stat_t975(dof), dof), 0.975, 1e-5) << "dof " << dof;
}

TEST(Stats, PairedTTestMatchesScipy)
{
    struct {
        std::vector<double> a, b;
        double p;
    } c[] = {
        {{0.71, 0.74, 0.69}, {0.7, 0.71, 0.7}, 0.4777670321329065},
        {{0.5, 0.52, 0.55, 0.51, 0.56, 0.58}, {0.49, 0.5, 0.5, 0.52, 0.51, 0.52}, 0.04458482350979878},
        {{1.2, 3.4, 2.2, 5.1, 0.3, 2.2, 4.4, 1.0, 0.0, 3.3},
         {1.0, 2.9, 2.5, 4.0, 0.1, 1.1, 4.4, 1.9, -0.5, 2.0},
         0.12171818507891212},
        {{0.801, 0.8, 0.799}, {0.7, 0.7, 0.7}, 3.333166675925386e-05},
    };
    for (auto &k : c) {
        std::vector<double> d;
        for (size_t i = 0; i < k.a.size(); i++) d.push_back(k.a[i] - k.b[i]);
        expect_rel(ghm_stat_ttest_p(d.data(), (int)d.size()), k.p, 1e-10, "ttest_rel n=" + std::to_string(d.size()));
        ghm_paired p;
        ghm_stat_paired(k.a.data(), k.b.data(), (int)k.a.size(), 6, &p);
        expect_rel(p.p_t, k.p, 1e-10, "ghm_stat_paired p_t");
        EXPECT_EQ(std::isnan(p.p_value), k.a.size() < 6); // Wilcoxon only from 6 pairs on
    }
    // SciPy's edge cases: constant non-zero differences give t = inf, p = 0; all zero give NaN; n < 2 NaN
    double cst[] = {0.5, 0.5, 0.5}, zero[] = {0, 0, 0}, one[] = {0.3};
    EXPECT_EQ(ghm_stat_ttest_p(cst, 3), 0.0);
    EXPECT_TRUE(std::isnan(ghm_stat_ttest_p(zero, 3)));
    EXPECT_TRUE(std::isnan(ghm_stat_ttest_p(one, 1)));
}

TEST(Stats, WilcoxonExactMatchesScipyWithoutTies)
{
    struct {
        std::vector<double> d;
        double p;
    } c[] = {
        {{1.5, -0.3, 2.2, 0.7, 1.1, -0.9}, 0.21875},
        {{0.2, 0.4, 0.6, 0.8, 1.0, 1.2}, 0.03125},
        {{-1, -2, -3, -4, -5, -6, 7}, 0.296875},
        {{0.11, -0.52, 0.33, 0.94, -0.25, 0.66, 0.47, -0.08, 0.79, 1.3, 0.15, -0.61}, 0.1513671875},
        {{0.5, -1.5, 2.5, -3.5, 4.5, 5.5, -6.5, 7.5, 8.5, 9.5, 10.5, -11.5, 12.5, 13.5, 14.5, 15.5, 16.5, -17.5, 18.5,
          19.5},
         0.01923370361328125},
    };
    for (auto &k : c)
        expect_rel(ghm_stat_wilcoxon(k.d.data(), (int)k.d.size()), k.p, 1e-13, "n=" + std::to_string(k.d.size()));
}

TEST(Stats, WilcoxonTiesAndZerosMatchTheExactPermutationDistribution)
{
    // zeros are dropped before ranking (scipy's zero_method="wilcox"); tied |d| share the
    // average rank and the p-value is exact under that statistic's sign-flip distribution
    struct {
        std::vector<double> d;
        double p;
    } c[] = {
        {{1, 1, -1, 2, 2, 3}, 0.125},
        {{0, 0.5, 0.5, -1, 2, 2, 2, -3}, 0.578125},
        {{0.1, 0.1, 0.1, 0.1, 0.1, -0.1}, 0.21875},
        {{3, -3, 0, 1, -1, 2, 2, 5}, 0.3125},
    };
    for (auto &k : c)
        expect_rel(ghm_stat_wilcoxon(k.d.data(), (int)k.d.size()), k.p, 1e-13, "ties n=" + std::to_string(k.d.size()));
}

TEST(Stats, HolmMatchesStatsmodels)
{
    struct {
        std::vector<double> p, want;
    } c[] = {
        {{0.01, 0.04, 0.03, 0.005}, {0.03, 0.06, 0.06, 0.02}},
        {{0.2, 0.2, 0.01, 0.5, 0.04}, {0.6000000000000001, 0.6000000000000001, 0.05, 0.6000000000000001, 0.16}},
        {{0.0003, 0.047, 0.012, 0.9, 0.0301, 0.0302}, {0.0018, 0.1204, 0.06, 0.9, 0.1204, 0.1204}},
    };
    for (auto &k : c) {
        std::vector<double> adj(k.p.size());
        ASSERT_EQ(ghm_stat_holm(k.p.data(), (int)k.p.size(), adj.data()), 0);
        for (size_t i = 0; i < adj.size(); i++) expect_rel(adj[i], k.want[i], 1e-14, "holm " + std::to_string(i));
    }
    // NaN entries stay NaN and do not count in the family size; in place works
    double p[] = {0.01, NAN, 0.04};
    ASSERT_EQ(ghm_stat_holm(p, 3, p), 0);
    EXPECT_DOUBLE_EQ(p[0], 0.02);
    EXPECT_TRUE(std::isnan(p[1]));
    EXPECT_DOUBLE_EQ(p[2], 0.04);
}

// ---- primary: in experiment files ---------------------------------------------

const char *kSearchBase = "name: s\n"
                          "dataset: {name: synthetic, classes: 12, train_per_class: 10, test_per_class: 4, "
                          "image_size: 8, split: classes}\n"
                          "backbone: {name: mlp, embedding_dim: 4}\n"
                          "train: {epochs: 1, steps_per_epoch: 2, batch_size: 12, m_per_class: 4}\n"
                          "eval: {recall_at: [1, 2], metrics: [recall, map_r, nmi]}\n"
                          "search: {trials: 2}\nprotocol: {folds: 2}\ncompare_to: contrastive\n"
                          "losses:\n  - name: ghm\n    search: {alpha: {min: 0, max: 1}}\n"
                          "  - name: contrastive\n  - name: triplet\n";

std::string load(const std::string &rest, ghm_experiment *out = nullptr)
{
    ghm_experiment e;
    ghm_error err;
    int rc = ghm_experiment_load_string((std::string(kSearchBase) + rest).c_str(), "t.yaml", &e, &err);
    if (rc != 0) {
        EXPECT_EQ(rc, GHM_EINPUT);
        return err.msg;
    }
    if (out)
        *out = e;
    else
        ghm_experiment_free(&e);
    return "OK";
}

TEST(StatsPrimary, ParsesTheConfirmatoryFamily)
{
    ghm_experiment e;
    ASSERT_EQ(load("primary:\n"
                   "  - {loss: ghm, against: contrastive, metric: map@r, evaluation: separate}\n"
                   "  - {loss: ghm, against: best_other, metric: recall@2, evaluation: concatenated}\n",
                   &e),
              "OK");
    ASSERT_NE(e.search, nullptr);
    ASSERT_EQ(e.search->n_primary, 2);
    EXPECT_EQ(std::string(e.search->primary[0].loss), "ghm");
    EXPECT_EQ(std::string(e.search->primary[0].against), "contrastive");
    EXPECT_EQ(std::string(e.search->primary[0].metric), "map@r");
    EXPECT_EQ(e.search->primary[0].concat, 0);
    EXPECT_EQ(std::string(e.search->primary[1].against), "best_other");
    EXPECT_EQ(std::string(e.search->primary[1].metric), "recall@2");
    EXPECT_EQ(e.search->primary[1].concat, 1);
    // primary: changes no run: same plan, same ids as without it
    ghm_experiment f;
    ASSERT_EQ(load("", &f), "OK");
    ASSERT_EQ(e.n_runs, f.n_runs);
    for (int i = 0; i < e.n_runs; i++) EXPECT_STREQ(e.runs[i].run_id, f.runs[i].run_id);
    EXPECT_EQ(f.search->n_primary, 0);
    ghm_experiment_free(&e);
    ghm_experiment_free(&f);
}

TEST(StatsPrimary, ErrorsNameFileLineColumn)
{
    const std::string P = "primary:\n  - ";
    struct {
        std::string yaml, want;
    } cases[] = {
        {P + "{loss: ghm, against: contrastive, metric: map@r, evaluation: seperate}\n",
         "t.yaml:15:66: primary: evaluation: unknown value 'seperate' (did you mean 'separate'?)"},
        {P + "{loss: ghm, against: contrastiv, metric: map@r, evaluation: separate}\n",
         "t.yaml:15:26: primary: against: 'contrastiv' is not a loss of this file (did you mean 'contrastive'?)"},
        {P + "{loss: gmh, against: contrastive, metric: map@r, evaluation: separate}\n",
         "t.yaml:15:12: primary: loss: 'gmh' is not a loss of this file (did you mean 'ghm'?)"},
        {P + "{loss: ghm, against: contrastive, metric: recall@4, evaluation: separate}\n",
         "t.yaml:15:47: primary: metric 'recall@4' is not a test metric of this file"},
        {P + "{loss: ghm, against: contrastive, metric: r_precision, evaluation: separate}\n",
         "t.yaml:15:47: primary: metric 'r_precision' is not a test metric"},
        {P + "{loss: ghm, against: ghm, metric: map@r, evaluation: separate}\n",
         "t.yaml:15:26: primary: compares 'ghm' with itself"},
        {P + "{loss: ghm, against: contrastive, metric: map@r}\n", "t.yaml:15:5: primary: comparison 1 has no 'evaluation'"},
        {P + "{loss: ghm, agains: contrastive, metric: map@r, evaluation: separate}\n",
         "t.yaml:15:17: unknown key 'agains' in primary (did you mean 'against'?)"},
        {P + "{loss: [ghm], against: contrastive, metric: map@r, evaluation: separate}\n",
         "t.yaml:15:12: primary: loss: expected a name, got a list"},
        {"primary: {loss: ghm}\n", "t.yaml:14:10: primary: expected a non-empty list of comparisons"},
        {"primary: []\n", "t.yaml:14:10: primary: expected a non-empty list"},
        {P + "ghm\n", "t.yaml:15:5: primary: each comparison is a mapping"},
        {P + "{loss: ghm, against: contrastive, metric: map@r, evaluation: separate}\n  - "
             "{loss: ghm, against: contrastive, metric: map@r, evaluation: separate}\n",
         "t.yaml:16:12: primary: comparison 2 repeats comparison 1"},
    };
    for (auto &c : cases) {
        std::string msg = load(c.yaml);
        EXPECT_NE(msg.find(c.want), std::string::npos) << "yaml:\n" << c.yaml << "\nmessage: " << msg;
    }
    // without a search it has nothing to compare
    ghm_experiment e;
    ghm_error err;
    std::string y = "name: s\ndataset: {name: synthetic, classes: 4}\nbackbone: {name: mlp}\n"
                    "losses:\n  - name: ghm\n  - name: contrastive\n"
                    "primary:\n  - {loss: ghm, against: contrastive, metric: map@r, evaluation: separate}\n";
    EXPECT_EQ(ghm_experiment_load_string(y.c_str(), "t.yaml", &e, &err), GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find("t.yaml:8:3: protocol:, final:, compare_to:, primary: and a loss's search: and "
                                        "search_seed: belong to a hyper-parameter search"),
              std::string::npos)
        << err.msg;
}

// ---- paired.csv of a committed study, with a primary family ---------------------

std::vector<std::vector<std::string>> csv_rows(const std::string &text)
{
    std::vector<std::vector<std::string>> rows;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::vector<std::string> f;
        std::string cell;
        std::istringstream l(line);
        while (std::getline(l, cell, ',')) f.push_back(cell);
        if (!line.empty() && line.back() == ',') f.push_back("");
        rows.push_back(f);
    }
    return rows;
}

// The class-disjoint Fashion-MNIST study (3 reproductions): its records are
// reported again with a primary family of two comparisons. Reference p-values:
// scipy.stats.ttest_rel over the per-reproduction test MAP@R of the records
// (separate: mean of the 3 fold models; concatenated: the ensemble records).
TEST(StatsReport, PairedCsvHasTestsHolmAndPrimaryOfACommittedStudy)
{
    std::string src = std::string(GHM_SOURCE_DIR) + "/results/paper_fair_fashion_mnist_classes";
    if (!exists(src + "/runs")) GTEST_SKIP() << "committed study not present";
    std::string dir = tmpdir();
    std::string res = dir + "/study";
    ASSERT_EQ(shell("mkdir -p '" + res + "' && cp -r '" + src + "/runs' '" + src + "/ensembles' '" + res + "/'"), 0);
    // the committed experiment file without any primary: block, plus this test's own
    std::string y = read_all(src + "/experiment.yaml"), kept;
    {
        std::istringstream in(y);
        std::string line;
        bool skip = false;
        while (std::getline(in, line)) {
            if (line.rfind("primary:", 0) == 0) {
                skip = true;
                continue;
            }
            if (skip && (line.rfind("  ", 0) == 0 || line.rfind("- ", 0) == 0)) continue;
            skip = false;
            kept += line + "\n";
        }
    }
    kept += "primary:\n"
            "  - {loss: ghm, against: contrastive, metric: map@r, evaluation: separate}\n"
            "  - {loss: ghm, against: best_other, metric: map@r, evaluation: separate}\n";
    FILE *f = fopen((res + "/experiment.yaml").c_str(), "wb");
    ASSERT_NE(f, nullptr);
    fputs(kept.c_str(), f);
    fclose(f);
    ASSERT_EQ(shell(std::string(GHM_BINARY) + " report '" + res + "' --no-plots >/dev/null 2>&1"), 0);

    auto rows = csv_rows(read_all(res + "/paired.csv"));
    ASSERT_GT(rows.size(), 1u);
    const std::vector<std::string> header = {"loss",    "compare_to",       "metric", "mean_diff", "ci95_low",
                                             "ci95_high", "p_value_t", "p_value_wilcoxon", "p_holm", "primary", "pairs"};
    ASSERT_EQ(rows[0], header);
    std::map<std::string, std::vector<std::string>> by;
    int n_primary = 0, n_expl = 0;
    double min_expl = 2;
    for (size_t i = 1; i < rows.size(); i++) {
        ASSERT_EQ(rows[i].size(), header.size()) << i;
        by[rows[i][0] + "," + rows[i][1] + "," + rows[i][2]] = rows[i];
        EXPECT_EQ(rows[i][7], "") << "3 pairs: no Wilcoxon p-value";
        if (rows[i][9] == "yes")
            n_primary++;
        else {
            EXPECT_EQ(rows[i][9], "no");
            n_expl++;
            min_expl = std::min(min_expl, std::stod(rows[i][6]));
        }
    }
    // 5 losses x 8 metrics x 2 evaluations against contrastive, one of them primary, plus
    // GHM against the best other loss on validation MAP@R: multi-similarity (0.7017 > GHM's 0.6940)
    EXPECT_EQ(rows.size(), 1u + 80 + 1);
    EXPECT_EQ(n_primary, 2);
    EXPECT_EQ(n_expl, 80 - 1);
    auto &a = by["ghm,contrastive,map@r"], &b = by["ghm,multi_similarity,map@r"], &c = by["ghm,contrastive,map@r_concat"];
    ASSERT_EQ(a.size(), header.size());
    ASSERT_EQ(b.size(), header.size());
    ASSERT_EQ(c.size(), header.size());
    EXPECT_EQ(a[9], "yes");
    EXPECT_EQ(b[9], "yes");
    EXPECT_EQ(c[9], "no");
    // scipy.stats.ttest_rel on the records (6 significant digits in the CSV)
    expect_rel(std::stod(a[3]), 0.11160399310459436, 1e-5, "GHM - contrastive MAP@R separate");
    expect_rel(std::stod(a[6]), 0.007855059458841284, 1e-5, "p_t GHM - contrastive");
    expect_rel(std::stod(b[3]), 0.0041900752130617685, 1e-5, "GHM - multi-similarity MAP@R separate");
    expect_rel(std::stod(b[6]), 0.7456261714596942, 1e-5, "p_t GHM - multi-similarity");
    expect_rel(std::stod(c[3]), 0.10595859430720266, 1e-5, "GHM - contrastive MAP@R concatenated");
    expect_rel(std::stod(c[6]), 0.10108778939079839, 1e-5, "p_t GHM - contrastive concatenated");
    // Holm over the primary family of 2: min(1, 2 p_(1)), then max(that, p_(2))
    expect_rel(std::stod(a[8]), 2 * 0.007855059458841284, 1e-5, "Holm primary 1");
    expect_rel(std::stod(b[8]), 0.7456261714596942, 1e-5, "Holm primary 2");
    // the exploratory family is the other 79: its smallest p is multiplied by 79
    bool found = false;
    for (size_t i = 1; i < rows.size(); i++)
        if (rows[i][9] == "no" && std::stod(rows[i][6]) == min_expl) {
            expect_rel(std::stod(rows[i][8]), std::min(1.0, 79 * min_expl), 1e-5, "Holm exploratory min");
            found = true;
        }
    EXPECT_TRUE(found);
    std::string md = read_all(res + "/summary.md");
    EXPECT_NE(md.find("81 paired comparisons were made"), std::string::npos) << md;
    EXPECT_NE(md.find("Holm over this family of 2"), std::string::npos);
    EXPECT_NE(md.find("Holm over the 79 exploratory comparisons"), std::string::npos);
    EXPECT_NE(md.find("| MAP@R ghm − best other (multi_similarity) | separate | +0.42"), std::string::npos) << md;

    // two declarations of one comparison (one reversed) share its row: a family of 1, no extra row
    f = fopen((res + "/experiment.yaml").c_str(), "wb");
    ASSERT_NE(f, nullptr);
    fputs((kept.substr(0, kept.find("primary:\n")) +
           "primary:\n"
           "  - {loss: contrastive, against: ghm, metric: map@r, evaluation: separate}\n"
           "  - {loss: ghm, against: contrastive, metric: map@r, evaluation: separate}\n")
              .c_str(),
          f);
    fclose(f);
    ASSERT_EQ(shell(std::string(GHM_BINARY) + " report '" + res + "' --no-plots >/dev/null 2>&1"), 0);
    rows = csv_rows(read_all(res + "/paired.csv"));
    EXPECT_EQ(rows.size(), 1u + 80);
    int prim = 0;
    for (size_t i = 1; i < rows.size(); i++)
        if (rows[i][9] == "yes") {
            prim++;
            EXPECT_EQ(rows[i][0] + "," + rows[i][1] + "," + rows[i][2], "ghm,contrastive,map@r");
            expect_rel(std::stod(rows[i][8]), 0.007855059458841284, 1e-5, "Holm over a family of 1 = p");
        }
    EXPECT_EQ(prim, 1);
    md = read_all(res + "/summary.md");
    EXPECT_NE(md.find("| MAP@R contrastive − ghm | separate | -11.16 [-15.44, -6.88] (n=3) | 0.00786"), std::string::npos)
        << md;
    EXPECT_NE(md.find("| MAP@R ghm − contrastive | separate | +11.16 [+6.88, +15.44] (n=3) | 0.00786"), std::string::npos);
    EXPECT_NE(md.find("Holm over this family of 1"), std::string::npos);
    rmrf(dir);
}

} // namespace
