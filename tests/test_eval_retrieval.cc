// Retrieval statistics without sorting (ghm_knn_retrieval, eval/knn.c): per
// row, the first-match position, R-precision and MAP@R must be EXACTLY (bit for
// bit) those of a scan of the sorted neighbour list, on every code path:
//  - one list precedes the other (high precision: non-matches sorted, matches
//    located) and interleaved lists (low precision: matches sorted, non-matches
//    located), radix sorts of one and several passes, short insertion sorts;
//  - exact ties (integer data: many equal keys in one locate bucket);
//  - rows long enough for the sampled threshold (ng >= 2 * 4096) and the
//    fallback to the whole row when the sample under-estimates it;
//  - query/gallery mode, classes of one (R = 0), max K above 32 with and
//    without R-precision/MAP@R, R below max K.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

extern "C" {
#include "core/rng.h"
#include "eval/eval.h"
#include "eval/eval_internal.h"
}

namespace {

struct Stats {
    std::vector<int> first, hits;
    std::vector<double> ap;
    explicit Stats(int n) : first(n, -7), hits(n, -1), ap(n, -1.0) {}
};

// Statistics of one row from its sorted neighbour labels (the definitions, as
// the pre-sorting implementation computed them: same terms, same order). The
// first match is looked for among the row's k = max(maxk, do_r ? r : 0) nearest.
void stats_from_order(const int *nbr_lab, int count, int lab, int r, int maxk, int do_r, int *first, int *hits_out,
                      double *ap_out)
{
    int k = std::min(count, std::max(maxk, do_r ? r : 0));
    *first = -1;
    for (int t = 0; t < k; t++)
        if (nbr_lab[t] == lab) {
            *first = t;
            break;
        }
    *hits_out = 0;
    *ap_out = 0.0;
    if (!do_r || r <= 0) return;
    int hits = 0;
    double ap = 0.0;
    for (int t = 0; t < r; t++)
        if (nbr_lab[t] == lab) {
            hits++;
            ap += (double)hits / (double)(t + 1);
        }
    *hits_out = hits;
    *ap_out = ap;
}

struct ListCtx {
    const int *qlab, *glab, *r;
    int maxk, do_r;
    Stats *out;
};

// Reference through the generic sorted kNN driver (same sgemm, same block, so
// the same distances): statistics from the sorted list.
void list_row(void *vctx, int row, const int *nbr, int count, const float *)
{
    ListCtx *c = (ListCtx *)vctx;
    std::vector<int> labs(count);
    for (int t = 0; t < count; t++) labs[t] = c->glab[nbr[t]];
    stats_from_order(labs.data(), count, c->qlab[row], c->r[row], c->maxk, c->do_r, &c->out->first[row],
                     &c->out->hits[row], &c->out->ap[row]);
}

std::vector<int> r_of(const std::vector<int> &ql, const std::vector<int> &gl, bool self)
{
    std::vector<int> r(ql.size());
    for (size_t i = 0; i < ql.size(); i++) r[i] = (int)std::count(gl.begin(), gl.end(), ql[i]) - (self ? 1 : 0);
    return r;
}

// Compare ghm_knn_retrieval with the sorted-list reference on every row.
void check_against_driver(const std::vector<float> &q, const std::vector<int> &ql, const std::vector<float> &g,
                          const std::vector<int> &gl, int d, bool self, int maxk, int do_r, int block,
                          const char *what)
{
    int nq = (int)ql.size(), ng = (int)gl.size();
    std::vector<int> r = r_of(ql, gl, self);
    std::vector<int> need(nq);
    for (int i = 0; i < nq; i++) need[i] = std::max(maxk, do_r ? r[i] : 0);
    Stats ref(nq), got(nq);
    ListCtx lc = {ql.data(), gl.data(), r.data(), maxk, do_r, &ref};
    ghm_error err;
    ASSERT_EQ(ghm_knn_drive(q.data(), nq, g.data(), ng, d, self, need.data(), 0, block, list_row, &lc, &err), 0)
        << err.msg;
    ghm_knn_rstats st = {ql.data(), gl.data(), r.data(), maxk, do_r, got.first.data(), got.hits.data(),
                         got.ap.data()};
    ASSERT_EQ(ghm_knn_retrieval(q.data(), nq, g.data(), ng, d, self, block, &st, &err), 0) << err.msg;
    for (int i = 0; i < nq; i++) {
        ASSERT_EQ(got.first[i], ref.first[i]) << what << " row " << i;
        ASSERT_EQ(got.hits[i], ref.hits[i]) << what << " row " << i;
        ASSERT_EQ(got.ap[i], ref.ap[i]) << what << " row " << i;  // bit-identical
    }
}

// Unit-norm clustered data: class centres plus Gaussian noise of norm ~noise.
void clustered(int n, int d, int classes, double noise, uint64_t seed, std::vector<float> &x, std::vector<int> &lab)
{
    ghm_rng r;
    ghm_rng_seed(&r, seed, GHM_STREAM_USER);
    std::vector<double> cent((size_t)classes * d);
    for (auto &v : cent) v = ghm_rng_normal(&r);
    x.assign((size_t)n * d, 0.0f);
    lab.assign(n, 0);
    for (int i = 0; i < n; i++) {
        int c = (int)ghm_rng_below(&r, (uint32_t)classes);
        lab[i] = 3 * c - 5;
        double s = 0;
        for (int t = 0; t < d; t++) {
            double v = cent[(size_t)c * d + t] / std::sqrt((double)d) + noise / std::sqrt((double)d) * ghm_rng_normal(&r);
            x[(size_t)i * d + t] = (float)v;
            s += v * v;
        }
        for (int t = 0; t < d; t++) x[(size_t)i * d + t] = (float)(x[(size_t)i * d + t] / std::sqrt(s));
    }
}

}  // namespace

// Rows of 8400 (sampled threshold), 3 classes (R ~ 2800): well separated (one
// list mostly precedes the other) and noisy (interleaved), self and query mode.
TEST(EvalRetrieval, FloatDataMatchesSortedListBitForBit)
{
    for (double noise : {0.3, 3.0}) {
        std::vector<float> x;
        std::vector<int> lab;
        clustered(8400, 8, 3, noise, 11, x, lab);
        check_against_driver(x, lab, x, lab, 8, true, 8, 1, 0, noise < 1 ? "self, separated" : "self, noisy");
        // query mode: 300 queries against the 8100 others (still sampled rows)
        std::vector<float> q(x.begin(), x.begin() + 300 * 8), g(x.begin() + 300 * 8, x.end());
        std::vector<int> ql(lab.begin(), lab.begin() + 300), gl(lab.begin() + 300, lab.end());
        std::vector<float> gg(g);
        std::vector<int> ggl(gl);
        gg.insert(gg.end(), q.begin(), q.begin() + 100 * 8);  // 8200 gallery rows >= 2 * 4096
        ggl.insert(ggl.end(), ql.begin(), ql.begin() + 100);
        check_against_driver(q, ql, gg, ggl, 8, false, 4, 1, 128, "query");
    }
}

// Many classes (R ~ 40, the short-list sorts), a class of one, and max K above
// 32: with R-precision/MAP@R (R below max K for most rows) and without.
TEST(EvalRetrieval, ShortListsSingletonsAndLargeK)
{
    std::vector<float> x;
    std::vector<int> lab;
    clustered(2000, 6, 50, 1.5, 5, x, lab);
    lab[17] = 1000;  // a class of one: R = 0
    check_against_driver(x, lab, x, lab, 6, true, 8, 1, 0, "R ~ 40");
    check_against_driver(x, lab, x, lab, 6, true, 64, 1, 300, "max K 64");
    check_against_driver(x, lab, x, lab, 6, true, 100, 0, 0, "max K 100, recall only");
    check_against_driver(x, lab, x, lab, 6, true, 0, 1, 0, "no recall");
}

// Integer coordinates: exact distances with many exact ties; brute force by
// (distance, index) on every row.
TEST(EvalRetrieval, ExactTiesMatchBruteForce)
{
    const int n = 700, d = 3;
    ghm_rng rg;
    ghm_rng_seed(&rg, 77, GHM_STREAM_USER);
    std::vector<float> x((size_t)n * d);
    for (auto &v : x) v = (float)((int)ghm_rng_below(&rg, 5) - 2);
    for (int classes : {2, 9}) {
        std::vector<int> lab(n);
        for (int i = 0; i < n; i++) lab[i] = (int)ghm_rng_below(&rg, (uint32_t)classes);
        // labels correlated with the first coordinate for some rows, so both
        // high- and low-precision rows occur
        for (int i = 0; i < n; i += 3) lab[i] = x[(size_t)i * d] > 0 ? 0 : 1;
        std::vector<int> r = r_of(lab, lab, true);
        Stats got(n);
        ghm_knn_rstats st = {lab.data(), lab.data(), r.data(), 8, 1, got.first.data(), got.hits.data(),
                             got.ap.data()};
        ghm_error err;
        ASSERT_EQ(ghm_knn_retrieval(x.data(), n, x.data(), n, d, 1, 64, &st, &err), 0) << err.msg;
        for (int i = 0; i < n; i++) {
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
            std::vector<int> labs(v.size());
            for (size_t t = 0; t < v.size(); t++) labs[t] = lab[v[t].second];
            int f;
            int rp;
            double mp;
            stats_from_order(labs.data(), (int)labs.size(), lab[i], r[i], 8, 1, &f, &rp, &mp);
            ASSERT_EQ(got.first[i], f) << "classes " << classes << " row " << i;
            ASSERT_EQ(got.hits[i], rp) << "classes " << classes << " row " << i;
            ASSERT_EQ(got.ap[i], mp) << "classes " << classes << " row " << i;
        }
    }
}

// Rows of 8400 where the strided sample sees only the near half (even rows;
// odd rows lie 40 away), so for R above the near half the sampled threshold is
// too low and the row falls back to every column. Integer data, brute force on
// some rows of each kind.
TEST(EvalRetrieval, SampledThresholdFallback)
{
    const int n = 8400, d = 3;
    ghm_rng rg;
    ghm_rng_seed(&rg, 78, GHM_STREAM_USER);
    std::vector<float> x((size_t)n * d);
    for (auto &v : x) v = (float)((int)ghm_rng_below(&rg, 7) - 3);
    std::vector<int> lab(n);
    for (int i = 0; i < n; i++) {
        if (i % 2) x[(size_t)i * d] += 40.0f;
        lab[i] = (i % 2 == 0 || i % 8 == 1) ? 4 : 9;  // label 4: 5250 items, more than the 4200 near ones
    }
    std::vector<int> r = r_of(lab, lab, true);
    Stats got(n);
    ghm_knn_rstats st = {lab.data(), lab.data(), r.data(), 4, 1, got.first.data(), got.hits.data(), got.ap.data()};
    ghm_error err;
    ASSERT_EQ(ghm_knn_retrieval(x.data(), n, x.data(), n, d, 1, 0, &st, &err), 0) << err.msg;
    for (int i : {0, 1, 2, 9, 3, 4444, 4445, 8391, 8398, 8399}) {
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
        std::vector<int> labs(v.size());
        for (size_t t = 0; t < v.size(); t++) labs[t] = lab[v[t].second];
        int f;
        int rp;
        double mp;
        stats_from_order(labs.data(), (int)labs.size(), lab[i], r[i], 4, 1, &f, &rp, &mp);
        ASSERT_EQ(got.first[i], f) << "row " << i;
        ASSERT_EQ(got.hits[i], rp) << "row " << i;
        ASSERT_EQ(got.ap[i], mp) << "row " << i;
    }
}

TEST(EvalRetrieval, BadArguments)
{
    std::vector<float> x(20, 0.0f);
    std::vector<int> lab(10, 1), r(10, 9), first(10), a(10);
    std::vector<double> b(10);
    ghm_error err;
    ghm_knn_rstats st = {lab.data(), lab.data(), r.data(), 10, 1, first.data(), a.data(), b.data()};
    EXPECT_EQ(ghm_knn_retrieval(x.data(), 10, x.data(), 10, 2, 1, 0, &st, &err), GHM_EINPUT);  // K 10 > 9
    EXPECT_NE(std::string(err.msg).find("K = 10"), std::string::npos) << err.msg;
    st.maxk = 4;
    r[3] = 10;  // more than the 9 others
    EXPECT_EQ(ghm_knn_retrieval(x.data(), 10, x.data(), 10, 2, 1, 0, &st, &err), GHM_EINPUT);
    EXPECT_EQ(ghm_knn_retrieval(x.data(), 10, x.data(), 10, 2, 1, 0, nullptr, &err), GHM_EINPUT);
    r[3] = 9;
    EXPECT_EQ(ghm_knn_retrieval(x.data(), 10, x.data(), 10, 2, 1, 0, &st, &err), 0) << err.msg;
    for (int i = 0; i < 10; i++) {  // all duplicates, one class: everything matches
        EXPECT_EQ(first[i], 0);
        EXPECT_EQ(a[i], 9);    // hits among the R = 9 nearest
        EXPECT_EQ(b[i], 9.0);  // ap: each of the 9 ranks adds exactly 1
    }
}
