// Family-held-out retrieval (ghm_eval_opts.exclude_group, eval/metrics.c):
// Recall@K, R-precision and MAP@R with a query's own group removed from its
// gallery must equal a brute-force reference that sorts every kept item by
// (distance, index) and applies the definitions; with no group (-1) or one
// group per item they must equal the plain path; a hand-made case where the
// only near neighbours are siblings shows the option changes the numbers.
#include <gtest/gtest.h>

#include "metric_access.h"

#include <algorithm>
#include <cmath>
#include <vector>

extern "C" {
#include "core/rng.h"
#include "eval/eval.h"
}

namespace {

struct Ref {
    std::vector<double> recall;
    double map_r = 0, r_prec = 0;
    int n_r0 = 0;
};

// The definitions, by brute force in double (inputs are small integers, so the
// float distances of the library are exact and ties are real ties).
Ref brute(const std::vector<float> &x, const std::vector<int> &lab, const std::vector<int> &grp, int n, int d,
          const std::vector<int> &ks)
{
    Ref ref;
    ref.recall.assign(ks.size(), 0.0);
    double sm = 0, sr = 0;
    int nr = 0;
    for (int i = 0; i < n; i++) {
        std::vector<std::pair<double, int>> v;
        for (int j = 0; j < n; j++) {
            if (j == i || (grp[i] >= 0 && grp[j] == grp[i])) continue;
            double s = 0;
            for (int c = 0; c < d; c++) {
                double t = (double)x[i * d + c] - x[j * d + c];
                s += t * t;
            }
            v.push_back({s, j});
        }
        std::sort(v.begin(), v.end());
        int r = 0;
        for (auto &p : v) r += lab[p.second] == lab[i];
        for (size_t q = 0; q < ks.size(); q++) {
            int hit = 0;
            for (int t = 0; t < ks[q] && t < (int)v.size(); t++) hit |= lab[v[t].second] == lab[i];
            ref.recall[q] += hit;
        }
        if (r == 0) {
            ref.n_r0++;
            continue;
        }
        int hits = 0;
        double ap = 0;
        for (int t = 0; t < r; t++)
            if (lab[v[t].second] == lab[i]) {
                hits++;
                ap += (double)hits / (t + 1);
            }
        sr += (double)hits / r;
        sm += ap / r;
        nr++;
    }
    for (double &v : ref.recall) v /= n;
    ref.map_r = nr ? sm / nr : NAN;
    ref.r_prec = nr ? sr / nr : NAN;
    return ref;
}

ghm_eval_opts opts_no_nmi(const std::vector<int> &ks)
{
    ghm_eval_opts o;
    ghm_eval_opts_default(&o);
    mset(o, "nmi", 0);
    o.n_k = (int)ks.size();
    for (size_t i = 0; i < ks.size(); i++) o.ks[i] = ks[i];
    return o;
}

}  // namespace

// Random integer data with many ties: classes x families, several sizes so that
// R is both below and above the largest K, and families of 1 to 8 members.
TEST(EvalFamily, MatchesBruteForce)
{
    const std::vector<int> ks = {1, 2, 4, 8, 16};
    for (int trial = 0; trial < 12; trial++) {
        ghm_rng rng;
        ghm_rng_seed(&rng, 100 + trial, 0);
        int classes = 2 + trial % 5, families = 1 + trial % 7, per = 3 + trial % 4, d = 1 + trial % 3;
        int n = classes * families * per;
        if (n < 20) continue;
        std::vector<float> x((size_t)n * d);
        std::vector<int> lab(n), grp(n);
        for (int i = 0; i < n; i++) {
            lab[i] = (int)(ghm_rng_u32(&rng) % classes);
            grp[i] = (int)(ghm_rng_u32(&rng) % (families + 1)) - 1; /* -1: in no group */
            for (int c = 0; c < d; c++) x[(size_t)i * d + c] = (float)(ghm_rng_u32(&rng) % 7) + lab[i] % 2;
        }
        ghm_eval_opts o = opts_no_nmi(ks);
        o.exclude_group = grp.data();
        ghm_metrics m;
        ghm_error err;
        ASSERT_EQ(ghm_evaluate(x.data(), lab.data(), n, d, &o, &m, &err), 0) << err.msg;
        Ref ref = brute(x, lab, grp, n, d, ks);
        for (size_t q = 0; q < ks.size(); q++) EXPECT_DOUBLE_EQ(mval(m, "recall", q), ref.recall[q]) << trial << " K=" << ks[q];
        EXPECT_EQ(m.n_r0, ref.n_r0) << trial;
        if (std::isnan(ref.map_r)) {
            EXPECT_TRUE(std::isnan(mval(m, "map_r")));
        } else {
            EXPECT_NEAR(mval(m, "map_r"), ref.map_r, 1e-12) << trial;
            EXPECT_NEAR(mval(m, "r_precision"), ref.r_prec, 1e-12) << trial;
        }
    }
}

// No groups (-1 everywhere) or one group per item: only the query itself is
// removed, so the numbers equal the plain path's (a different code path).
TEST(EvalFamily, SingletonGroupsEqualThePlainPath)
{
    const int n = 300, d = 4;
    ghm_rng rng;
    ghm_rng_seed(&rng, 7, 0);
    std::vector<float> x((size_t)n * d);
    std::vector<int> lab(n), none(n, -1), own(n);
    for (int i = 0; i < n; i++) {
        lab[i] = i % 6;
        own[i] = i;
        for (int c = 0; c < d; c++) x[(size_t)i * d + c] = ghm_rng_normal(&rng) + 0.7f * (lab[i] == c);
    }
    ghm_eval_opts o = opts_no_nmi({1, 2, 4, 8});
    ghm_metrics plain, a, b;
    ghm_error err;
    ASSERT_EQ(ghm_evaluate(x.data(), lab.data(), n, d, &o, &plain, &err), 0) << err.msg;
    o.exclude_group = none.data();
    ASSERT_EQ(ghm_evaluate(x.data(), lab.data(), n, d, &o, &a, &err), 0) << err.msg;
    o.exclude_group = own.data();
    ASSERT_EQ(ghm_evaluate(x.data(), lab.data(), n, d, &o, &b, &err), 0) << err.msg;
    for (int q = 0; q < 4; q++) {
        EXPECT_EQ(mval(a, "recall", q), mval(plain, "recall", q));
        EXPECT_EQ(mval(b, "recall", q), mval(plain, "recall", q));
    }
    EXPECT_NEAR(mval(a, "map_r"), mval(plain, "map_r"), 1e-12);
    EXPECT_NEAR(mval(b, "map_r"), mval(plain, "map_r"), 1e-12);
    EXPECT_NEAR(mval(b, "r_precision"), mval(plain, "r_precision"), 1e-12);
}

// Two characters (classes 0, 1) drawn by two families, each with two sibling
// weights at nearly the same place: a sibling answers every query when family
// is allowed (Recall@1 = 1); held out, the other family's drawings of the same
// character are farther than the other character's sibling drawings.
TEST(EvalFamily, SiblingsNoLongerAnswerTheQuery)
{
    // item: (x, class, family)
    const float x[8] = {0.0f, 0.1f, 10.0f, 10.1f, 1.0f, 1.1f, 11.0f, 11.1f};
    const int lab[8] = {0, 0, 0, 0, 1, 1, 1, 1};
    const int fam[8] = {0, 0, 1, 1, 0, 0, 1, 1};
    // family 0 draws class 0 at 0.0/0.1 and class 1 at 1.0/1.1; family 1 at 10/11
    ghm_eval_opts o = opts_no_nmi({1});
    ghm_metrics plain, held;
    ghm_error err;
    ASSERT_EQ(ghm_evaluate(x, lab, 8, 1, &o, &plain, &err), 0) << err.msg;
    EXPECT_DOUBLE_EQ(mval(plain, "recall", 0), 1.0);
    o.exclude_group = fam;
    ASSERT_EQ(ghm_evaluate(x, lab, 8, 1, &o, &held, &err), 0) << err.msg;
    // query 0 (x = 0, family 0) keeps 10, 10.1 (class 0) and 11, 11.1 (class 1): nearest 10 -> hit.
    // query 4 (x = 1, family 0, class 1): kept 10 (class 0) nearest -> miss. Symmetric for family 1:
    // query 2 (x = 10, class 0): kept 0.0, 0.1, 1.0, 1.1: nearest 1.1 (class 1) -> miss; query 6 (x = 11,
    // class 1): nearest 1.1 -> hit. So half the queries hit.
    EXPECT_DOUBLE_EQ(mval(held, "recall", 0), 0.5);
    // R = 2 for every query (3 without the option): queries 0, 1, 6, 7 rank both kept same-class items
    // first (AP 1), queries 2, 3, 4, 5 rank both last (AP 0): MAP@R 0.5; plain: (1 + 0 + 0) / 3 for each
    EXPECT_DOUBLE_EQ(mval(held, "map_r"), 0.5);
    EXPECT_NEAR(mval(plain, "map_r"), 1.0 / 3.0, 1e-12);
    Ref ref = brute(std::vector<float>(x, x + 8), std::vector<int>(lab, lab + 8), std::vector<int>(fam, fam + 8), 8,
                    1, {1});
    EXPECT_NEAR(mval(held, "map_r"), ref.map_r, 1e-12);
    // query mode needs the gallery's groups too
    o.exclude_group_gallery = nullptr;
    EXPECT_EQ(ghm_evaluate_query(x, lab, 8, x, lab, 8, 1, &o, &held, &err), GHM_EINPUT);
    o.exclude_group_gallery = fam;
    ASSERT_EQ(ghm_evaluate_query(x, lab, 8, x, lab, 8, 1, &o, &held, &err), 0) << err.msg;
    EXPECT_DOUBLE_EQ(mval(held, "recall", 0), 0.5); /* same-family removal also removes the query's copy */
}
