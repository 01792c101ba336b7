// Evaluation: exact kNN (blocked sgemm vs brute force), Recall@K, R-precision,
// MAP@R (hand-computed), NMI/AMI (known values, one checked against
// scikit-learn), k-means, query/gallery mode, input errors.
#include <gtest/gtest.h>

#include "metric_access.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <numeric>
#include <set>
#include <string>
#include <vector>

extern "C" {
#include "core/rng.h"
#include "eval/eval.h"
}

namespace {

ghm_eval_opts opts_ks(std::vector<int> ks)
{
    ghm_eval_opts o;
    ghm_eval_opts_default(&o);
    o.n_k = (int)ks.size();
    for (size_t i = 0; i < ks.size(); i++) o.ks[i] = ks[i];
    return o;
}

// Random integer coordinates in [-3, 3]: every sgemm product and distance is
// an exact small integer in float, whatever the blocking or summation order,
// so the kNN order is fully determined and the data have many exact ties.
std::vector<float> int_data(int n, int d, uint64_t seed, int lo = -3, int hi = 3)
{
    ghm_rng r;
    ghm_rng_seed(&r, seed, GHM_STREAM_USER);
    std::vector<float> x((size_t)n * d);
    for (auto &v : x) v = (float)(lo + (int)ghm_rng_below(&r, (uint32_t)(hi - lo + 1)));
    return x;
}

// Brute force: exact integer distances, sorted by (distance, index).
std::vector<int> brute_knn(const std::vector<float> &q, int nq, const std::vector<float> &g, int ng, int d, int k,
                           bool self, std::vector<long> *dist = nullptr)
{
    std::vector<int> out((size_t)nq * k);
    if (dist) dist->assign((size_t)nq * k, 0);
    for (int i = 0; i < nq; i++) {
        std::vector<std::pair<long, int>> v;
        for (int j = 0; j < ng; j++) {
            if (self && j == i) continue;
            long s = 0;
            for (int c = 0; c < d; c++) {
                long t = (long)q[(size_t)i * d + c] - (long)g[(size_t)j * d + c];
                s += t * t;
            }
            v.push_back({s, j});
        }
        std::sort(v.begin(), v.end());
        for (int t = 0; t < k; t++) {
            out[(size_t)i * k + t] = v[t].second;
            if (dist) (*dist)[(size_t)i * k + t] = v[t].first;
        }
    }
    return out;
}

// Reference metrics from a brute-force ordering (R-th neighbours), as the
// definitions in docs/metrics.md say.
struct RefMetrics {
    std::vector<double> recall;
    double map_r = 0, r_prec = 0;
    int n_r0 = 0;
};

RefMetrics brute_metrics(const std::vector<float> &x, const std::vector<int> &lab, int n, int d,
                         const std::vector<int> &ks)
{
    std::vector<int> nn = brute_knn(x, n, x, n, d, n - 1, true);
    RefMetrics m;
    m.recall.assign(ks.size(), 0.0);
    int counted = 0;
    for (int i = 0; i < n; i++) {
        const int *row = &nn[(size_t)i * (n - 1)];
        for (size_t j = 0; j < ks.size(); j++) {
            bool hit = false;
            for (int t = 0; t < ks[j]; t++) hit = hit || lab[row[t]] == lab[i];
            m.recall[j] += hit;
        }
        int R = (int)std::count(lab.begin(), lab.end(), lab[i]) - 1;
        if (R == 0) {
            m.n_r0++;
            continue;
        }
        counted++;
        int hits = 0;
        double ap = 0;
        for (int t = 0; t < R; t++)
            if (lab[row[t]] == lab[i]) {
                hits++;
                ap += (double)hits / (t + 1);
            }
        m.r_prec += (double)hits / R;
        m.map_r += ap / R;
    }
    for (auto &r : m.recall) r /= n;
    m.r_prec /= counted;
    m.map_r /= counted;
    return m;
}

}  // namespace

// ---------------------------------------------------------------- hand-computed

// 1-D points (d = 1), labels a=0, b=1, c=2:
//   p0 = 0 (a), p1 = 0 (b, duplicate of p0), p2 = 1 (a), p3 = 2 (b), p4 = 5 (c, a class of one)
// Neighbour orders (squared distances, ties by lower index, self excluded):
//   q0: p1 0, p2 1, p3 4, p4 25      -> labels b a b c   R=1  first match at 2nd
//   q1: p0 0, p2 1, p3 4, p4 25      -> labels a a b c   R=1  first match at 3rd
//   q2: p0 1, p1 1, p3 1, p4 16      -> labels a b b c   R=1  first match at 1st (3-way tie by index)
//   q3: p2 1, p0 4, p1 4, p4 9       -> labels a a b c   R=1  first match at 3rd
//   q4: p3 9, p2 16, p0 25, p1 25    -> R=0: a miss for Recall@K, left out of R-precision/MAP@R
// Recall@1 = 1/5, Recall@2 = 2/5 (q0, q2), Recall@4 = 4/5.
// R-precision = MAP@R = (0 + 0 + 1 + 0) / 4 = 0.25, n_r0 = 1.
TEST(EvalHand, TiesDuplicatesAndSingletonClass)
{
    std::vector<float> x = {0, 0, 1, 2, 5};
    std::vector<int> lab = {0, 1, 0, 1, 2};
    ghm_eval_opts o = opts_ks({1, 2, 4});
    mset(o, "nmi", 0);
    ghm_metrics m;
    ghm_error err;
    ASSERT_EQ(ghm_evaluate(x.data(), lab.data(), 5, 1, &o, &m, &err), 0) << err.msg;
    EXPECT_EQ(m.n, 5);
    EXPECT_EQ(m.dim, 1);
    ASSERT_EQ(m.n_k, 3);
    EXPECT_DOUBLE_EQ(mval(m, "recall", 0), 0.2);
    EXPECT_DOUBLE_EQ(mval(m, "recall", 1), 0.4);
    EXPECT_DOUBLE_EQ(mval(m, "recall", 2), 0.8);
    EXPECT_DOUBLE_EQ(mval(m, "r_precision"), 0.25);
    EXPECT_DOUBLE_EQ(mval(m, "map_r"), 0.25);
    EXPECT_EQ(m.n_r0, 1);
    EXPECT_TRUE(mhas(m, "recall") && mhas(m, "map_r") && mhas(m, "r_precision"));
    EXPECT_FALSE(mhas(m, "nmi"));

    int idx[5 * 4];
    float d2[5 * 4];
    ASSERT_EQ(ghm_knn_self(x.data(), 5, 1, 4, 0, idx, d2, &err), 0) << err.msg;
    const int want[5][4] = {{1, 2, 3, 4}, {0, 2, 3, 4}, {0, 1, 3, 4}, {2, 0, 1, 4}, {3, 2, 0, 1}};
    const float wd[5][4] = {{0, 1, 4, 25}, {0, 1, 4, 25}, {1, 1, 1, 16}, {1, 4, 4, 9}, {9, 16, 25, 25}};
    for (int i = 0; i < 5; i++)
        for (int t = 0; t < 4; t++) {
            EXPECT_EQ(idx[i * 4 + t], want[i][t]) << "row " << i << " pos " << t;
            EXPECT_FLOAT_EQ(d2[i * 4 + t], wd[i][t]) << "row " << i << " pos " << t;
        }
}

// Query mode, gallery g0..g5 = 1 A, 2 B, 3 A, 4 B, 5 A, 6 B (R = 3 for both labels).
//   q = 0   (A): order g0 A, g1 B, g2 A         -> R-prec 2/3, MAP@R (1/1 + 2/3)/3 = 5/9
//   q = 6.5 (B): order g5 B, g4 A, g3 B         -> R-prec 2/3, MAP@R 5/9
//   q = 2.5 (B): g1 0.25, g2 0.25 (tie: g1 first), g0 2.25, g3 2.25 (tie: g0 first)
//                order g1 B, g2 A, g0 A         -> R-prec 1/3, MAP@R (1/1)/3 = 1/3
// Means: R-precision 5/9, MAP@R 13/27; every first neighbour matches: Recall@1 = 1.
// Recall@2 for q=0 ... all 1 too. No self-exclusion in query mode.
TEST(EvalHand, QueryModeMapR)
{
    std::vector<float> g = {1, 2, 3, 4, 5, 6};
    std::vector<int> gl = {0, 1, 0, 1, 0, 1};
    std::vector<float> q = {0, 6.5f, 2.5f};
    std::vector<int> ql = {0, 1, 1};
    ghm_eval_opts o = opts_ks({1, 2});
    mset(o, "nmi", 0);
    ghm_metrics m;
    ghm_error err;
    ASSERT_EQ(ghm_evaluate_query(q.data(), ql.data(), 3, g.data(), gl.data(), 6, 1, &o, &m, &err), 0) << err.msg;
    EXPECT_EQ(m.n, 3);
    EXPECT_DOUBLE_EQ(mval(m, "recall", 0), 1.0);
    EXPECT_DOUBLE_EQ(mval(m, "recall", 1), 1.0);
    EXPECT_NEAR(mval(m, "r_precision"), 5.0 / 9.0, 1e-12);
    EXPECT_NEAR(mval(m, "map_r"), 13.0 / 27.0, 1e-12);
    EXPECT_EQ(m.n_r0, 0);

    int idx[3 * 3];
    ASSERT_EQ(ghm_knn_query(q.data(), 3, g.data(), 6, 1, 3, 0, idx, nullptr, &err), 0) << err.msg;
    const int want[3][3] = {{0, 1, 2}, {5, 4, 3}, {1, 2, 0}};
    for (int i = 0; i < 3; i++)
        for (int t = 0; t < 3; t++) EXPECT_EQ(idx[i * 3 + t], want[i][t]) << "row " << i << " pos " << t;

    // a query whose label is absent from the gallery: R = 0
    std::vector<int> ql2 = {0, 1, 7};
    ASSERT_EQ(ghm_evaluate_query(q.data(), ql2.data(), 3, g.data(), gl.data(), 6, 1, &o, &m, &err), 0) << err.msg;
    EXPECT_EQ(m.n_r0, 1);
    EXPECT_NEAR(mval(m, "map_r"), 5.0 / 9.0, 1e-12);
    EXPECT_NEAR(mval(m, "recall", 0), 2.0 / 3.0, 1e-12);
}

// Recall@K is "at least one match among the K nearest", not the fraction of
// matches: q's neighbours are [other, same, other, other], Recall@4 = 1 (not 1/4).
TEST(EvalHand, RecallIsAnyMatchNotFraction)
{
    std::vector<float> x = {0, 1, 2, 3, 4};
    std::vector<int> lab = {0, 1, 0, 1, 2};
    ghm_eval_opts o = opts_ks({1, 4});
    mset(o, "nmi", 0);
    mset(o, "map_r", 0);
    mset(o, "r_precision", 0);
    ghm_metrics m;
    ghm_error err;
    ASSERT_EQ(ghm_evaluate(x.data(), lab.data(), 5, 1, &o, &m, &err), 0) << err.msg;
    // q0: p1(b) p2(a) ... hit@2;  q1: p0 a (tie 1 with p2; p0 first) p2 a p3 b -> hit@3
    // q2: p1 b, p3 b (tie), p0 a -> hit@3; q3: p2 a, p4 c (tie), p1 b -> hit@3; q4: R=0 never.
    EXPECT_DOUBLE_EQ(mval(m, "recall", 0), 0.0);
    EXPECT_DOUBLE_EQ(mval(m, "recall", 1), 0.8);
    EXPECT_FALSE(mhas(m, "map_r"));
}

// ---------------------------------------------------------------- blocked kNN

TEST(EvalKnn, BlockedEqualsBruteForceIntegerData)
{
    const int n = 150, d = 6;
    std::vector<float> x = int_data(n, d, 11);
    ghm_error err;
    for (int k : {1, 5, 32, 33, 60, n - 1}) {
        std::vector<long> bd;
        std::vector<int> want = brute_knn(x, n, x, n, d, k, true, &bd);
        for (int block : {1, 3, 7, 64, n, 0}) {
            std::vector<int> idx((size_t)n * k);
            std::vector<float> d2((size_t)n * k);
            ASSERT_EQ(ghm_knn_self(x.data(), n, d, k, block, idx.data(), d2.data(), &err), 0) << err.msg;
            ASSERT_EQ(idx, want) << "k " << k << " block " << block;
            for (size_t t = 0; t < d2.size(); t++) ASSERT_EQ(d2[t], (float)bd[t]);
        }
    }
}

TEST(EvalKnn, QueryEqualsBruteForceIntegerData)
{
    const int nq = 40, ng = 120, d = 5;
    std::vector<float> q = int_data(nq, d, 21), g = int_data(ng, d, 22);
    ghm_error err;
    for (int k : {1, 8, 50, ng}) {
        std::vector<int> want = brute_knn(q, nq, g, ng, d, k, false);
        for (int block : {1, 7, 64, nq}) {
            std::vector<int> idx((size_t)nq * k);
            ASSERT_EQ(ghm_knn_query(q.data(), nq, g.data(), ng, d, k, block, idx.data(), nullptr, &err), 0)
                << err.msg;
            ASSERT_EQ(idx, want) << "k " << k << " block " << block;
        }
    }
}

// Real-valued data: the float distances carry rounding, so check against a
// double-precision reference with a tolerance: the returned distances are the
// true ones up to float rounding (|a|^2+|b|^2 ~ 2d = 32, relative float error
// ~1e-7 per term, a few ulps of 32 -> 1e-4 absolute is generous), ascending,
// and nothing left out is nearer than the k-th by more than that tolerance.
TEST(EvalKnn, RandomFloatDataWithinRounding)
{
    const int n = 300, d = 16, k = 40;
    ghm_rng r;
    ghm_rng_seed(&r, 5, GHM_STREAM_USER);
    std::vector<float> x((size_t)n * d);
    for (auto &v : x) v = (float)ghm_rng_normal(&r);
    ghm_error err;
    for (int block : {1, 3, 7, 64, n}) {
        std::vector<int> idx((size_t)n * k);
        std::vector<float> d2((size_t)n * k);
        ASSERT_EQ(ghm_knn_self(x.data(), n, d, k, block, idx.data(), d2.data(), &err), 0) << err.msg;
        for (int i = 0; i < n; i++) {
            std::vector<double> exact(n);
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int c = 0; c < d; c++) {
                    double t = (double)x[(size_t)i * d + c] - x[(size_t)j * d + c];
                    s += t * t;
                }
                exact[j] = s;
            }
            std::vector<char> in(n, 0);
            for (int t = 0; t < k; t++) {
                int j = idx[(size_t)i * k + t];
                ASSERT_NE(j, i);
                ASSERT_FALSE(in[j]) << "duplicate neighbour";
                in[j] = 1;
                EXPECT_NEAR(d2[(size_t)i * k + t], exact[j], 1e-4);
                if (t) {
                    ASSERT_LE(d2[(size_t)i * k + t - 1], d2[(size_t)i * k + t]);
                }
            }
            double kth = exact[idx[(size_t)i * k + k - 1]];
            for (int j = 0; j < n; j++) {
                if (j != i && !in[j]) {
                    ASSERT_GE(exact[j], kth - 1e-4) << "row " << i << " missed " << j;
                }
            }
        }
    }
}

// All points identical: every distance ties, neighbours come in index order
// (exercises the large-bucket path of the selection).
TEST(EvalKnn, AllDuplicatesInIndexOrder)
{
    const int n = 200, d = 3, k = 150;
    std::vector<float> x((size_t)n * d, 0.5f);
    std::vector<int> idx((size_t)n * k);
    ghm_error err;
    ASSERT_EQ(ghm_knn_self(x.data(), n, d, k, 16, idx.data(), nullptr, &err), 0) << err.msg;
    for (int i = 0; i < n; i++) {
        int want = 0;
        for (int t = 0; t < k; t++, want++) {
            if (want == i) want++;
            ASSERT_EQ(idx[(size_t)i * k + t], want);
        }
    }
}

TEST(EvalKnn, BadArguments)
{
    std::vector<float> x = {0, 1, 2};
    int idx[9];
    ghm_error err;
    EXPECT_EQ(ghm_knn_self(x.data(), 3, 1, 3, 0, idx, nullptr, &err), GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find("k = 3"), std::string::npos) << err.msg;
    EXPECT_EQ(ghm_knn_self(x.data(), 3, 1, 0, 0, idx, nullptr, &err), GHM_EINPUT);
    x[1] = NAN;
    EXPECT_EQ(ghm_knn_self(x.data(), 3, 1, 1, 0, idx, nullptr, &err), GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find("row 1"), std::string::npos) << err.msg;
    EXPECT_EQ(ghm_knn_query(x.data(), 1, x.data(), 3, 1, 4, 0, idx, nullptr, &err), GHM_EINPUT);
}

// Rows longer than 2 * 4096 columns take the sampled-threshold path of the
// large-k selection; check some rows against brute force, including data
// built so that the strided sample (every 2nd column) sees only near points
// and under-estimates the threshold (the full-row fallback must kick in).
TEST(EvalKnn, LargeRowsSampledThresholdAndFallback)
{
    const int n = 8200, d = 3;
    ghm_error err;
    for (int variant = 0; variant < 2; variant++) {
        // variant 1: k above the 4100 near (even) rows: the sample cannot reach it
        std::vector<float> x = int_data(n, d, 31 + variant);
        if (variant == 1)
            for (int i = 1; i < n; i += 2) x[(size_t)i * d] += 40.0f;  // odd rows far away
        for (int k : {variant ? 4200 : 700}) {
            std::vector<int> idx((size_t)n * k);
            std::vector<float> d2((size_t)n * k);
            ASSERT_EQ(ghm_knn_self(x.data(), n, d, k, 512, idx.data(), d2.data(), &err), 0) << err.msg;
            for (int i : {0, 1, 2, 77, 4500, 8199}) {
                std::vector<std::pair<long, int>> v;
                for (int j = 0; j < n; j++) {
                    if (j == i) continue;
                    long s2 = 0;
                    for (int c = 0; c < d; c++) {
                        long t = (long)x[(size_t)i * d + c] - (long)x[(size_t)j * d + c];
                        s2 += t * t;
                    }
                    v.push_back({s2, j});
                }
                std::sort(v.begin(), v.end());
                for (int t = 0; t < k; t++) {
                    ASSERT_EQ(idx[(size_t)i * k + t], v[t].second) << "variant " << variant << " k " << k << " row " << i
                                                                    << " pos " << t;
                    ASSERT_EQ(d2[(size_t)i * k + t], (float)v[t].first);
                }
            }
        }
    }
}

// ---------------------------------------------------------------- metrics vs brute force

// Integer data (exact distances) with 3 labels: R ~ 100 neighbours per query
// (the large-k selection path), Recall@K, R-precision and MAP@R against the
// brute-force definitions; several block sizes and thread-independent.
TEST(EvalMetrics, MatchBruteForceLargeR)
{
    const int n = 301, d = 4;
    std::vector<float> x = int_data(n, d, 3, -2, 2);
    std::vector<int> lab(n);
    ghm_rng r;
    ghm_rng_seed(&r, 9, GHM_STREAM_USER);
    for (int i = 0; i < n; i++) lab[i] = (int)ghm_rng_below(&r, 3) * 10 - 7;  // labels -7, 3, 13
    lab[5] = 99;                                                               // a class of one
    // shift the data a little by label so the metrics are not at chance
    for (int i = 0; i < n; i++) x[(size_t)i * d] += (float)(lab[i] == 3 ? 2 : lab[i] == 13 ? -2 : 0);
    std::vector<int> ks = {1, 2, 4, 8, 16, 40};
    RefMetrics ref = brute_metrics(x, lab, n, d, ks);
    for (int block : {1, 7, 64, 0}) {
        ghm_eval_opts o = opts_ks(ks);
        mset(o, "nmi", 0);
        o.block = block;
        ghm_metrics m;
        ghm_error err;
        ASSERT_EQ(ghm_evaluate(x.data(), lab.data(), n, d, &o, &m, &err), 0) << err.msg;
        for (size_t j = 0; j < ks.size(); j++) EXPECT_NEAR(mval(m, "recall", j), ref.recall[j], 1e-12) << "K " << ks[j];
        EXPECT_NEAR(mval(m, "map_r"), ref.map_r, 1e-12);
        EXPECT_NEAR(mval(m, "r_precision"), ref.r_prec, 1e-12);
        EXPECT_EQ(m.n_r0, ref.n_r0);
        EXPECT_EQ(m.n_r0, 1);
    }
}

TEST(EvalMetrics, WellSeparatedClustersArePerfect)
{
    const int per = 40, c = 4, d = 8, n = per * c;
    ghm_rng r;
    ghm_rng_seed(&r, 1, GHM_STREAM_USER);
    std::vector<float> x((size_t)n * d);
    std::vector<int> lab(n);
    for (int i = 0; i < n; i++) {
        lab[i] = (i * 7) % c;  // interleaved labels
        for (int t = 0; t < d; t++) x[(size_t)i * d + t] = (t == lab[i] ? 50.0f : 0.0f) + (float)ghm_rng_normal(&r);
    }
    ghm_eval_opts o = opts_ks({1, 2, 4, 8});
    ghm_metrics m;
    ghm_error err;
    ASSERT_EQ(ghm_evaluate(x.data(), lab.data(), n, d, &o, &m, &err), 0) << err.msg;
    for (int j = 0; j < 4; j++) EXPECT_DOUBLE_EQ(mval(m, "recall", j), 1.0);
    EXPECT_DOUBLE_EQ(mval(m, "map_r"), 1.0);
    EXPECT_DOUBLE_EQ(mval(m, "r_precision"), 1.0);
    EXPECT_NEAR(mval(m, "nmi"), 1.0, 1e-12);
    EXPECT_NEAR(mval(m, "ami"), 1.0, 1e-12);
    EXPECT_GE(m.seconds, 0.0);

    char names[16][GHM_METRIC_NAME_MAX];
    double vals[16];
    int cnt = ghm_metrics_list(&m, names, vals, 16);
    const char *want[] = {"recall@1", "recall@2", "recall@4", "recall@8", "map@r", "r_precision", "nmi", "ami"};
    ASSERT_EQ(cnt, 8);
    for (int i = 0; i < 8; i++) EXPECT_STREQ(names[i], want[i]);
    EXPECT_DOUBLE_EQ(vals[4], mval(m, "map_r"));
    EXPECT_DOUBLE_EQ(vals[7], mval(m, "ami"));
    EXPECT_EQ(ghm_metrics_list(&m, names, vals, 3), 3);  // truncated at max

    // only some metrics
    mset(o, "recall", 0);
    mset(o, "nmi", 0);
    mset(o, "r_precision", 0);
    ASSERT_EQ(ghm_evaluate(x.data(), lab.data(), n, d, &o, &m, &err), 0) << err.msg;
    cnt = ghm_metrics_list(&m, names, vals, 16);
    ASSERT_EQ(cnt, 1);
    EXPECT_STREQ(names[0], "map@r");
}

// The registry (eval/metric_registry.c): every entry well formed, the run
// identity's order of the first four kept, and every metric computable alone.
TEST(MetricRegistry, EveryEntryIsWellFormed)
{
    ASSERT_GE(ghm_metric_count(), 5);
    ASSERT_LE(ghm_metric_count(), GHM_MAX_METRICS);
    std::set<std::string> names, keys;
    std::set<int> pos;
    for (int i = 0; i < ghm_metric_count(); i++) {
        const ghm_metric_ops *mo = ghm_metric_at(i);
        ASSERT_NE(mo, nullptr);
        SCOPED_TRACE(mo->key ? mo->key : "(no key)");
        ASSERT_TRUE(mo->name && mo->key && mo->short_name && mo->long_name && mo->help && mo->compute);
        EXPECT_LT(strlen(mo->key) + ((mo->needs & GHM_METRIC_NEEDS_K) ? 4 : 0), (size_t)GHM_METRIC_NAME_MAX);
        EXPECT_TRUE(names.insert(mo->name).second) << "duplicate name";
        EXPECT_TRUE(keys.insert(mo->key).second) << "duplicate key";
        EXPECT_EQ(ghm_metric_index(mo), i);
        EXPECT_EQ(ghm_metric_find(mo->name, nullptr), mo);
        EXPECT_LT(mo->lo, mo->hi);
        if (mo->shares) {
            const ghm_metric_ops *owner = ghm_metric_find(mo->shares, nullptr);
            ASSERT_NE(owner, nullptr) << "shares names no entry";
            EXPECT_EQ(owner->shares, nullptr);
            EXPECT_EQ(mo->id_pos, 0) << "an entry sharing a switch is not written in the run id";
        } else {
            EXPECT_GT(mo->id_pos, 0) << "an entry with its own switch needs its place in the run id";
            EXPECT_TRUE(pos.insert(mo->id_pos).second) << "duplicate id_pos";
            // a new metric must not be on by default: every run id would change
            if (mo->default_on) {
                EXPECT_LE(mo->id_pos, 4);
            }
        }
    }
    ghm_eval_opts o;
    ghm_eval_opts_default(&o);
    char text[256];
    EXPECT_STREQ(ghm_metric_id_text(&o, text, sizeof text), "recall,nmi,map_r,r_precision");
    char keyv[GHM_MAX_K + GHM_MAX_METRICS][GHM_METRIC_NAME_MAX];
    int nk = ghm_metric_keys(&o, keyv, GHM_MAX_K + GHM_MAX_METRICS);
    std::string all;
    for (int i = 0; i < nk; i++) all += std::string(i ? "," : "") + keyv[i];
    EXPECT_EQ(all, "recall@1,recall@2,recall@4,recall@8,map@r,r_precision,nmi,ami");
}

TEST(MetricRegistry, EveryMetricAloneMatchesItsValueInTheFullEvaluation)
{
    const int n = 300, d = 6, c = 5;
    ghm_rng r;
    ghm_rng_seed(&r, 3, GHM_STREAM_USER);
    std::vector<float> x((size_t)n * d);
    std::vector<int> lab(n);
    for (int i = 0; i < n; i++) {
        lab[i] = i % c;
        for (int t = 0; t < d; t++) x[(size_t)i * d + t] = (t == lab[i] ? 1.5f : 0.0f) + (float)ghm_rng_normal(&r);
    }
    ghm_eval_opts all = opts_ks({1, 4, 16});
    for (int i = 0; i < ghm_metric_count(); i++) ghm_metric_switch(&all, ghm_metric_at(i), 1);
    ghm_metrics full, one;
    ghm_error err;
    ASSERT_EQ(ghm_evaluate(x.data(), lab.data(), n, d, &all, &full, &err), 0) << err.msg;
    for (int i = 0; i < ghm_metric_count(); i++) {
        const ghm_metric_ops *mo = ghm_metric_at(i);
        SCOPED_TRACE(mo->name);
        ghm_eval_opts o = all;
        o.metrics = 0;
        ghm_metric_switch(&o, mo, 1);
        ASSERT_EQ(ghm_evaluate(x.data(), lab.data(), n, d, &o, &one, &err), 0) << err.msg;
        int cnt = ghm_metric_n(&one, mo);
        ASSERT_EQ(cnt, (mo->needs & GHM_METRIC_NEEDS_K) ? 3 : 1);
        ASSERT_EQ(ghm_metric_n(&full, mo), cnt);
        for (int j = 0; j < cnt; j++) {
            double v = ghm_metric_v(&one, mo, j);
            EXPECT_EQ(v, ghm_metric_v(&full, mo, j)) << "value " << j;  // the same numbers, whatever else is on
            EXPECT_TRUE(v >= mo->lo && v <= mo->hi) << v;
            char key[GHM_METRIC_NAME_MAX];
            double w = -1;
            ghm_metric_key(mo, &one, j, key);
            EXPECT_EQ(ghm_metrics_value(&one, key, &w), 1) << key;
            EXPECT_EQ(w, v);
        }
        for (int k = 0; k < ghm_metric_count(); k++)
            if (!ghm_metric_on(&o, ghm_metric_at(k))) {
                EXPECT_EQ(ghm_metric_n(&one, ghm_metric_at(k)), 0);
            }
    }
    double v = 0;
    EXPECT_EQ(ghm_metrics_value(&full, "recall@2", &v), 0);  // K = 2 was not asked for
    EXPECT_EQ(ghm_metrics_value(&full, "map_r", &v), 0);     // the file spelling is not a record key
}

TEST(EvalMetrics, BadInput)
{
    std::vector<float> x = {0, 1, 2, 3};
    std::vector<int> lab = {0, 0, 1, 1};
    ghm_eval_opts o = opts_ks({1, 4});  // K = 4 > N - 1 = 3
    ghm_metrics m;
    ghm_error err;
    EXPECT_EQ(ghm_evaluate(x.data(), lab.data(), 4, 1, &o, &m, &err), GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find("K = 4"), std::string::npos) << err.msg;
    o = opts_ks({2, 1});  // not ascending
    EXPECT_EQ(ghm_evaluate(x.data(), lab.data(), 4, 1, &o, &m, &err), GHM_EINPUT);
    o = opts_ks({1});
    x[2] = INFINITY;
    EXPECT_EQ(ghm_evaluate(x.data(), lab.data(), 4, 1, &o, &m, &err), GHM_EINPUT);
    EXPECT_NE(std::string(err.msg).find("row 2"), std::string::npos) << err.msg;
    x[2] = 2;
    EXPECT_EQ(ghm_evaluate(x.data(), lab.data(), 1, 1, &o, &m, &err), GHM_EINPUT);  // nobody to retrieve
    EXPECT_EQ(ghm_evaluate(x.data(), lab.data(), 4, 1, &o, &m, &err), 0) << err.msg;
}

// ---------------------------------------------------------------- NMI / AMI

TEST(EvalNmi, KnownValues)
{
    std::vector<int> a = {0, 0, 0, 1, 1, 1, 2, 2, 2};
    std::vector<int> perm = {5, 5, 5, -1, -1, -1, 9, 9, 9};  // same partition, other names
    EXPECT_NEAR(ghm_nmi(a.data(), a.data(), 9), 1.0, 1e-12);
    EXPECT_NEAR(ghm_nmi(a.data(), perm.data(), 9), 1.0, 1e-12);
    EXPECT_NEAR(ghm_ami(a.data(), perm.data(), 9), 1.0, 1e-12);

    // exactly independent: a = i % 2, b = (i / 2) % 2 -> MI = 0
    std::vector<int> x(1000), y(1000);
    for (int i = 0; i < 1000; i++) {
        x[i] = i % 2;
        y[i] = (i / 2) % 2;
    }
    EXPECT_NEAR(ghm_nmi(x.data(), y.data(), 1000), 0.0, 1e-12);
    // sklearn: adjusted_mutual_info_score -> -0.0007229537548690348 (slightly below chance)
    EXPECT_NEAR(ghm_ami(x.data(), y.data(), 1000), -0.0007229537548690348, 1e-9);

    // sklearn edge cases: [0,0,1,1] vs [0,1,0,1]: NMI 0, AMI -0.5;
    // one cluster vs all singletons: NMI 0, AMI 0; one cluster vs one cluster: 1, 1.
    std::vector<int> p = {0, 0, 1, 1}, q = {0, 1, 0, 1}, one = {0, 0, 0, 0}, sing = {0, 1, 2, 3}, one2 = {1, 1, 1, 1};
    EXPECT_NEAR(ghm_nmi(p.data(), q.data(), 4), 0.0, 1e-12);
    EXPECT_NEAR(ghm_ami(p.data(), q.data(), 4), -0.5, 1e-12);
    EXPECT_NEAR(ghm_nmi(one.data(), sing.data(), 4), 0.0, 1e-12);
    EXPECT_NEAR(ghm_ami(one.data(), sing.data(), 4), 0.0, 1e-12);
    EXPECT_DOUBLE_EQ(ghm_nmi(one.data(), one2.data(), 4), 1.0);
    EXPECT_DOUBLE_EQ(ghm_ami(one.data(), one2.data(), 4), 1.0);
}

// One value checked against scikit-learn 1.2.1, computed offline:
//   from sklearn.metrics import normalized_mutual_info_score, adjusted_mutual_info_score
//   a = [0,0,0,1,1,1,2,2,2,2]; b = [0,0,1,1,1,2,2,2,0,5]
//   normalized_mutual_info_score(a, b)   -> 0.42954169878661985
//   adjusted_mutual_info_score(a, b)     -> 0.12300591114600638
// By hand (N = 10): contingency a0: {b0: 2, b1: 1}, a1: {b1: 2, b2: 1}, a2: {b2: 2, b0: 1, b5: 1};
// marginals a = (3, 3, 4), b = (3, 3, 3, 1).
//   MI = 2 * [0.2 ln(20/9) + 0.1 ln(10/9)] + 0.2 ln(20/12) + 0.1 ln(10/12) + 0.1 ln(10/4) = 0.4654...
//   H(a) = -(2 * 0.3 ln 0.3 + 0.4 ln 0.4) = 1.0889, H(b) = -(3 * 0.3 ln 0.3 + 0.1 ln 0.1) = 1.3138
//   NMI = MI / ((H(a) + H(b)) / 2) = 0.4654 / 1.2014 = 0.4295.
TEST(EvalNmi, MatchesSklearn)
{
    std::vector<int> a = {0, 0, 0, 1, 1, 1, 2, 2, 2, 2};
    std::vector<int> b = {0, 0, 1, 1, 1, 2, 2, 2, 0, 5};
    double mi = 2 * (0.2 * std::log(20.0 / 9) + 0.1 * std::log(10.0 / 9)) + 0.2 * std::log(20.0 / 12) +
                0.1 * std::log(10.0 / 12) + 0.1 * std::log(10.0 / 4);
    double ha = -(2 * 0.3 * std::log(0.3) + 0.4 * std::log(0.4));
    double hb = -(3 * 0.3 * std::log(0.3) + 0.1 * std::log(0.1));
    EXPECT_NEAR(ghm_nmi(a.data(), b.data(), 10), mi / ((ha + hb) / 2), 1e-12);
    EXPECT_NEAR(ghm_nmi(a.data(), b.data(), 10), 0.42954169878661985, 1e-12);
    EXPECT_NEAR(ghm_ami(a.data(), b.data(), 10), 0.12300591114600638, 1e-10);
    // symmetric
    EXPECT_NEAR(ghm_nmi(b.data(), a.data(), 10), 0.42954169878661985, 1e-12);
    EXPECT_NEAR(ghm_ami(b.data(), a.data(), 10), 0.12300591114600638, 1e-10);

    // larger random case, same sklearn session:
    //   r = np.random.RandomState(0); a = r.randint(0, 7, 500); b = r.randint(0, 5, 500)
    // is not reproducible here without numpy's generator, so it is not hard-coded.
}

// ---------------------------------------------------------------- k-means

TEST(EvalKmeans, RecoversSeparatedClustersDeterministically)
{
    const int per = 50, k = 3, d = 2, n = per * k;
    const float centre[3][2] = {{0, 0}, {100, 0}, {0, 100}};
    ghm_rng r;
    ghm_rng_seed(&r, 2, GHM_STREAM_USER);
    std::vector<float> x((size_t)n * d);
    std::vector<int> truth(n);
    for (int i = 0; i < n; i++) {
        truth[i] = (i * 5) % k;
        for (int t = 0; t < d; t++) x[(size_t)i * d + t] = centre[truth[i]][t] + (float)ghm_rng_normal(&r);
    }
    std::vector<int> asg(n), asg2(n);
    double inertia = -1, inertia2 = -1;
    ghm_error err;
    ASSERT_EQ(ghm_kmeans(x.data(), n, d, k, 7, 3, 100, asg.data(), &inertia, &err), 0) << err.msg;
    EXPECT_NEAR(ghm_nmi(truth.data(), asg.data(), n), 1.0, 1e-12);
    // inertia ~ n * d * sigma^2 = 300 for unit noise
    EXPECT_GT(inertia, 150.0);
    EXPECT_LT(inertia, 600.0);
    ASSERT_EQ(ghm_kmeans(x.data(), n, d, k, 7, 3, 100, asg2.data(), &inertia2, &err), 0) << err.msg;
    EXPECT_EQ(asg, asg2);
    EXPECT_EQ(inertia, inertia2);

    // k = n: every point its own cluster, inertia 0
    std::vector<int> a5(5);
    ASSERT_EQ(ghm_kmeans(x.data(), 5, d, 5, 1, 1, 10, a5.data(), &inertia, &err), 0) << err.msg;
    EXPECT_NEAR(inertia, 0.0, 1e-9);
    std::vector<int> s = a5;
    std::sort(s.begin(), s.end());
    EXPECT_EQ(s, (std::vector<int>{0, 1, 2, 3, 4}));

    EXPECT_EQ(ghm_kmeans(x.data(), 5, d, 6, 1, 1, 10, a5.data(), &inertia, &err), GHM_EINPUT);
    EXPECT_EQ(ghm_kmeans(x.data(), 5, d, 0, 1, 1, 10, a5.data(), &inertia, &err), GHM_EINPUT);
}

// Duplicate points, more clusters than distinct points: still k valid ids, no crash.
TEST(EvalKmeans, FewerDistinctPointsThanClusters)
{
    std::vector<float> x = {1, 1, 1, 1, 2, 2, 2, 2};  // 4 points in 2-D, 2 distinct
    std::vector<int> asg(4);
    double inertia;
    ghm_error err;
    ASSERT_EQ(ghm_kmeans(x.data(), 4, 2, 3, 3, 2, 20, asg.data(), &inertia, &err), 0) << err.msg;
    EXPECT_NEAR(inertia, 0.0, 1e-12);
    for (int v : asg) {
        EXPECT_GE(v, 0);
        EXPECT_LT(v, 3);
    }
    EXPECT_NE(asg[0], asg[2]);
}
