// Near pairs: the shared distances (ghm_loss_pdist) and every loss that uses
// them, on a batch of unit-norm rows with exact duplicates and pairs 1e-6 to
// 1e-3 apart (d = 128), against a double-precision reference computed here
// from the same float rows. The Gram form alone is off by large factors on
// such pairs (checked below), so these tests fail without the recomputation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

extern "C" {
#include "losses/ghm_loss.h"
#include "losses/loss.h"
}

namespace {

const int N = 32, DIM = 128, CLASSES = 4;
const double DELTAS[8] = {0.0, 1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3};

// Rows 2m and 2m+1 are a near pair, |f_2m+1 - f_2m| ~ DELTAS[m % 8] (before
// rounding to float); pairs m < 8 share a label, pairs m >= 8 do not. Every
// class has 8 rows.
struct Batch {
    std::vector<float> e;
    std::vector<int> y;
};

Batch near_batch(uint64_t seed)
{
    ghm_rng r;
    ghm_rng_seed(&r, seed, GHM_STREAM_USER);
    Batch b;
    b.e.assign((size_t)N * DIM, 0.0f);
    b.y.assign(N, 0);
    auto unit = [&](std::vector<double> &v) {
        double s = 0;
        for (auto &x : v) {
            x = ghm_rng_normal(&r);
            s += x * x;
        }
        for (auto &x : v) x /= std::sqrt(s);
    };
    std::vector<double> base(DIM), dir(DIM);
    for (int m = 0; m < N / 2; m++) {
        unit(base);
        unit(dir);
        for (int k = 0; k < DIM; k++) {
            b.e[(size_t)(2 * m) * DIM + k] = (float)base[k];
            b.e[(size_t)(2 * m + 1) * DIM + k] = (float)(base[k] + DELTAS[m % 8] * dir[k]);
        }
        b.y[2 * m] = m % CLASSES;
        b.y[2 * m + 1] = m < 8 ? m % CLASSES : (m + 1) % CLASSES;
    }
    return b;
}

// Reference distances: sqrt(sum_k (f_ik - f_jk)^2 + eps), plain double loop.
std::vector<double> ref_pdist(const std::vector<float> &e, int n, int d)
{
    std::vector<double> D((size_t)n * n);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++) {
            double s = 0;
            for (int k = 0; k < d; k++) {
                double t = (double)e[(size_t)i * d + k] - (double)e[(size_t)j * d + k];
                s += t * t;
            }
            D[(size_t)i * n + j] = std::sqrt(s + GHM_DIST_EPS);
        }
    return D;
}

double max_rel_err(const std::vector<double> &D, const std::vector<double> &R)
{
    double m = 0;
    for (size_t k = 0; k < D.size(); k++) m = std::max(m, std::fabs(D[k] - R[k]) / R[k]);
    return m;
}

// A reference loss: value, dL/dD (n, n) and any gradient of f that does not go
// through D (the probabilistic part of ghm), from the reference distances.
struct Ref {
    double value = 0;
    std::vector<double> G;     // (n, n) dL/dD_ij
    std::vector<double> extra; // (n, d) or empty
    double gbeta = 0;          // margin: dL/dbeta
};
using RefFn = std::function<Ref(const Batch &, const std::vector<double> &D)>;

Ref ref_contrastive(const Batch &b, const std::vector<double> &D, double pm, double nm)
{
    Ref r;
    r.G.assign((size_t)N * N, 0.0);
    long np = 0, nn = 0;
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++) (b.y[i] == b.y[j] ? np : nn)++;
    double sp = 0, sn = 0;
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++) {
            double d = D[(size_t)i * N + j];
            if (b.y[i] == b.y[j] && d > pm) {
                sp += (d - pm) * (d - pm);
                r.G[(size_t)i * N + j] = 2 * (d - pm) / np;
            } else if (b.y[i] != b.y[j] && d < nm) {
                sn += (nm - d) * (nm - d);
                r.G[(size_t)i * N + j] = -2 * (nm - d) / nn;
            }
        }
    r.value = sp / np + sn / nn;
    return r;
}

// Triplet, every valid triplet (mining: all), mean over them.
Ref ref_triplet_all(const Batch &b, const std::vector<double> &D, double margin)
{
    Ref r;
    r.G.assign((size_t)N * N, 0.0);
    long count = 0;
    double sum = 0;
    for (int a = 0; a < N; a++)
        for (int p = 0; p < N; p++) {
            if (p == a || b.y[p] != b.y[a]) continue;
            for (int q = 0; q < N; q++) {
                if (b.y[q] == b.y[a]) continue;
                count++;
                double v = D[(size_t)a * N + p] - D[(size_t)a * N + q] + margin;
                if (v > 0) {
                    sum += v;
                    r.G[(size_t)a * N + p] += 1;
                    r.G[(size_t)a * N + q] -= 1;
                }
            }
        }
    r.value = sum / count;
    for (auto &g : r.G) g /= count;
    return r;
}

Ref ref_lifted(const Batch &b, const std::vector<double> &D, double margin)
{
    Ref r;
    r.G.assign((size_t)N * N, 0.0);
    long np = 0;
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++) np += b.y[i] == b.y[j];
    double total = 0;
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++) {
            if (b.y[i] != b.y[j]) continue;
            double z = 0;
            for (int k = 0; k < N; k++)
                if (b.y[k] != b.y[i]) z += std::exp(margin - D[(size_t)i * N + k]) + std::exp(margin - D[(size_t)j * N + k]);
            double J = std::log(z) + D[(size_t)i * N + j];
            if (J <= 0) continue;
            total += J * J;
            double w = J / np;
            r.G[(size_t)i * N + j] += w;
            for (int k = 0; k < N; k++)
                if (b.y[k] != b.y[i]) {
                    r.G[(size_t)i * N + k] -= w * std::exp(margin - D[(size_t)i * N + k]) / z;
                    r.G[(size_t)j * N + k] -= w * std::exp(margin - D[(size_t)j * N + k]) / z;
                }
        }
    r.value = total / (2.0 * np);
    return r;
}

Ref ref_margin(const Batch &b, const std::vector<double> &D, double margin, double beta)
{
    Ref r;
    r.G.assign((size_t)N * N, 0.0);
    long active = 0;
    double total = 0;
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++) {
            double y = b.y[i] == b.y[j] ? 1.0 : -1.0;
            double v = margin + y * (D[(size_t)i * N + j] - beta);
            if (v <= 0) continue;
            total += v;
            active++;
            r.G[(size_t)i * N + j] = y;
            r.gbeta -= y;
        }
    r.value = total / active;
    for (auto &g : r.G) g /= active;
    r.gbeta /= active;
    return r;
}

// GHM-Loss: h = alpha g + (1 - alpha) s q, q the JS (prob 0) or Hellinger
// (prob 1) distance of softmax(f / tau); squared-hinge contrastive on h.
Ref ref_ghm(const Batch &b, const std::vector<double> &D, double alpha, double tau, int prob, double s, double pm,
            double nm)
{
    Ref r;
    r.G.assign((size_t)N * N, 0.0);
    r.extra.assign((size_t)N * DIM, 0.0);
    std::vector<double> P((size_t)N * DIM), LP((size_t)N * DIM), GP((size_t)N * DIM, 0.0);
    for (int i = 0; i < N; i++) {
        double mx = -INFINITY, z = 0;
        for (int k = 0; k < DIM; k++) mx = std::max(mx, b.e[(size_t)i * DIM + k] / tau);
        for (int k = 0; k < DIM; k++) z += std::exp(b.e[(size_t)i * DIM + k] / tau - mx);
        for (int k = 0; k < DIM; k++) {
            LP[(size_t)i * DIM + k] = b.e[(size_t)i * DIM + k] / tau - mx - std::log(z);
            P[(size_t)i * DIM + k] = std::exp(LP[(size_t)i * DIM + k]);
        }
    }
    long np = 0, nn = 0;
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++) (b.y[i] == b.y[j] ? np : nn)++;
    double sp = 0, sn = 0;
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++) {
            const double *pi = &P[(size_t)i * DIM], *pj = &P[(size_t)j * DIM];
            double q2 = 0;
            for (int k = 0; k < DIM; k++) {
                double m = 0.5 * (pi[k] + pj[k]);
                if (prob == 0)
                    q2 += 0.5 * pi[k] * std::log(pi[k] / m) + 0.5 * pj[k] * std::log(pj[k] / m);
                else
                    q2 += 0.5 * (std::sqrt(pi[k]) - std::sqrt(pj[k])) * (std::sqrt(pi[k]) - std::sqrt(pj[k]));
            }
            if (prob == 0) q2 = std::max(q2, 0.0) / std::log(2.0);
            double q = std::sqrt(q2 + GHM_PROB_EPS);
            double h = alpha * D[(size_t)i * N + j] + (1 - alpha) * s * q, dh = 0;
            if (b.y[i] == b.y[j] && h > pm) {
                sp += (h - pm) * (h - pm);
                dh = 2 * (h - pm) / np;
            } else if (b.y[i] != b.y[j] && h < nm) {
                sn += (nm - h) * (nm - h);
                dh = -2 * (nm - h) / nn;
            }
            r.G[(size_t)i * N + j] = alpha * dh;
            double dq = (1 - alpha) * s * dh;
            for (int k = 0; k < DIM; k++) {
                if (prob == 0) { // dq/dp_ik = ln(p_ik / m_k) / (4 q ln 2)
                    double m = 0.5 * (pi[k] + pj[k]);
                    GP[(size_t)i * DIM + k] += dq * std::log(pi[k] / m) / (4 * q * std::log(2.0));
                    GP[(size_t)j * DIM + k] += dq * std::log(pj[k] / m) / (4 * q * std::log(2.0));
                } else { // dq/dr_ik = (r_ik - r_jk) / (2 q)
                    double t = dq * (std::sqrt(pi[k]) - std::sqrt(pj[k])) / (2 * q);
                    GP[(size_t)i * DIM + k] += t;
                    GP[(size_t)j * DIM + k] -= t;
                }
            }
        }
    r.value = sp / np + sn / nn;
    for (int i = 0; i < N; i++) { // through the softmax (and r = sqrt p)
        const double *pi = &P[(size_t)i * DIM], *gi = &GP[(size_t)i * DIM];
        double dot = 0;
        for (int k = 0; k < DIM; k++) dot += (prob == 0 ? pi[k] : std::sqrt(pi[k])) * gi[k];
        for (int k = 0; k < DIM; k++)
            r.extra[(size_t)i * DIM + k] = prob == 0 ? pi[k] * (gi[k] - dot) / tau
                                                     : 0.5 * (gi[k] * std::sqrt(pi[k]) - pi[k] * dot) / tau;
    }
    return r;
}

// dL/df_i = sum_j (G_ij + G_ji) (f_i - f_j) / D_ij + extra_i
std::vector<double> ref_grad(const Batch &b, const std::vector<double> &D, const Ref &r)
{
    std::vector<double> g((size_t)N * DIM, 0.0);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            if (j == i) continue;
            double c = (r.G[(size_t)i * N + j] + r.G[(size_t)j * N + i]) / D[(size_t)i * N + j];
            for (int k = 0; k < DIM; k++)
                g[(size_t)i * DIM + k] += c * ((double)b.e[(size_t)i * DIM + k] - b.e[(size_t)j * DIM + k]);
        }
    if (!r.extra.empty())
        for (size_t k = 0; k < g.size(); k++) g[k] += r.extra[k];
    return g;
}

// Largest row-wise relative error |g_i - r_i| / |r_i| over rows with |r_i| above
// 1e-3 of the largest row; smaller rows are held to 1e-3 * tol of the largest.
double grad_rel_err(const std::vector<float> &g, const std::vector<double> &r, double tol, bool *small_ok)
{
    std::vector<double> rn(N), en(N);
    double big = 0;
    for (int i = 0; i < N; i++) {
        double a = 0, e = 0;
        for (int k = 0; k < DIM; k++) {
            double x = r[(size_t)i * DIM + k], t = g[(size_t)i * DIM + k] - x;
            a += x * x;
            e += t * t;
        }
        rn[i] = std::sqrt(a);
        en[i] = std::sqrt(e);
        big = std::max(big, rn[i]);
    }
    double m = 0;
    *small_ok = true;
    for (int i = 0; i < N; i++) {
        if (rn[i] > 1e-3 * big)
            m = std::max(m, en[i] / rn[i]);
        else if (en[i] > 1e-3 * tol * big)
            *small_ok = false;
    }
    return m;
}

struct LossPtr {
    ghm_loss *l = nullptr;
    ~LossPtr() { ghm_loss_destroy(l); }
};

ghm_loss *make_loss(const char *name, const std::vector<std::pair<std::string, double>> &ps, LossPtr &h)
{
    ghm_params p;
    ghm_params_clear(&p);
    for (const auto &kv : ps) EXPECT_EQ(ghm_params_set(&p, kv.first.c_str(), kv.second), 0);
    ghm_error err;
    ghm_error_clear(&err);
    EXPECT_EQ(ghm_loss_create(name, &p, DIM, CLASSES, 7, &h.l, &err), 0) << err.msg;
    return h.l;
}

// The reference for each loss that uses the shared distances, with the
// loss's default parameters except where noted. Triplet uses mining: all. Its
// default semihard (and batch_hard) mining picks among candidates whose
// distances differ by less than the float error of the Gram path, since the two
// rows of a near pair are at almost the same distance from every anchor; the
// pick is a discontinuity of the loss, so it is not comparable to a reference
// (the distances it compares are still those checked here).
using Params = std::vector<std::pair<std::string, double>>;
struct RefCase {
    Params params;
    RefFn fn;
};
const std::map<std::string, RefCase> &references()
{
    static const std::map<std::string, RefCase> m = {
        {"ghm", {{}, [](const Batch &b, const std::vector<double> &D) { return ref_ghm(b, D, 0.5, 0.1, 0, 2.0, 0.0, 1.0); }}},
        {"contrastive", {{}, [](const Batch &b, const std::vector<double> &D) { return ref_contrastive(b, D, 0.0, 1.0); }}},
        {"triplet", {{{"mining", 0}}, [](const Batch &b, const std::vector<double> &D) { return ref_triplet_all(b, D, 0.2); }}},
        {"lifted_structure", {{}, [](const Batch &b, const std::vector<double> &D) { return ref_lifted(b, D, 1.0); }}},
        {"margin", {{}, [](const Batch &b, const std::vector<double> &D) { return ref_margin(b, D, 0.2, 1.2); }}},
    };
    return m;
}

const double GRAD_TOL = 1e-4;  // row-wise relative error of the gradient
const double VALUE_TOL = 1e-6; // relative error of the loss value

void check_loss(ghm_loss *l, const Batch &b, const Ref &ref, const std::vector<double> &D, const std::string &what)
{
    std::vector<float> g((size_t)N * DIM, 123.0f);
    double v = NAN;
    ghm_error err;
    ghm_error_clear(&err);
    ASSERT_EQ(ghm_loss_forward_backward(l, b.e.data(), b.y.data(), N, DIM, &v, g.data(), &err), 0) << err.msg;
    ASSERT_GT(ref.value, 0.0) << what;
    EXPECT_LE(std::fabs(v - ref.value) / ref.value, VALUE_TOL) << what << ": " << v << " vs " << ref.value;
    bool small_ok;
    double ge = grad_rel_err(g, ref_grad(b, D, ref), GRAD_TOL, &small_ok);
    EXPECT_LE(ge, GRAD_TOL) << what;
    EXPECT_TRUE(small_ok) << what;
    std::printf("  %-28s value rel err %.2e, gradient row rel err %.2e\n", what.c_str(),
                std::fabs(v - ref.value) / ref.value, ge);
}

} // namespace

// The Gram form alone is badly wrong on this batch; ghm_loss_pdist is within
// the derived bound on every pair and exact (to double rounding) on near pairs.
TEST(LossesNear, PdistHasBoundedRelativeError)
{
    for (uint64_t seed : {1, 2, 3}) {
        Batch b = near_batch(seed);
        auto R = ref_pdist(b.e, N, DIM);
        std::vector<double> D((size_t)N * N), Dg((size_t)N * N), Dx((size_t)N * N);
        ghm_error err;
        ghm_error_clear(&err);
        long n_exact = 0, n_all = 0;
        ASSERT_EQ(ghm_loss_pdist(b.e.data(), N, DIM, D.data(), &err), 0);
        ASSERT_EQ(ghm_loss_pdist_ex(b.e.data(), N, DIM, ghm_loss_pdist_threshold(DIM), Dx.data(), &n_exact, &err), 0);
        ASSERT_EQ(ghm_loss_pdist_ex(b.e.data(), N, DIM, -INFINITY, Dg.data(), nullptr, &err), 0);
        EXPECT_EQ(D, Dx);
        double gram = max_rel_err(Dg, R), ours = max_rel_err(D, R);
        std::printf("  seed %d: max relative error of d: Gram only %.3g, ghm_loss_pdist %.3g (%ld of %d pairs direct)\n",
                    (int)seed, gram, ours, n_exact, N * (N - 1) / 2);
        EXPECT_GT(gram, 1.0) << "the batch no longer exercises the cancellation";
        if (seed == 1)
            for (int m = 0; m < 8; m++) {
                size_t k = (size_t)(2 * m) * N + 2 * m + 1;
                std::printf("    pair %.0e apart: exact d %.3g, Gram form %.3g (x%.3g), ghm_loss_pdist %.3g\n", DELTAS[m],
                            R[k], Dg[k], Dg[k] / R[k], D[k]);
            }
        EXPECT_LE(ours, 0.51 * GHM_PDIST_REL_ERR);
        EXPECT_GE(n_exact, N / 2); // at least the 16 near pairs
        EXPECT_LT(n_exact, N * (N - 1) / 2); // but not the far ones
        for (int m = 0; m < N / 2; m++) { // near pairs: direct sum, a few double ulps
            size_t k = (size_t)(2 * m) * N + 2 * m + 1;
            EXPECT_NEAR(D[k], R[k], 1e-14 * R[k]) << "pair " << m;
        }
        ASSERT_EQ(ghm_loss_pdist_ex(b.e.data(), N, DIM, INFINITY, Dx.data(), &n_all, &err), 0);
        EXPECT_EQ(n_all, N * (N - 1) / 2);
        EXPECT_LE(max_rel_err(Dx, R), 1e-14);
    }
    // threshold: grows with d, always recomputes when the float bound is void
    EXPECT_GT(ghm_loss_pdist_threshold(512), ghm_loss_pdist_threshold(128));
    EXPECT_NEAR(ghm_loss_pdist_threshold(128), 0.0313, 1e-3);
    EXPECT_EQ(ghm_loss_pdist_threshold(1 << 23), INFINITY);
}

// Every loss of the registry that calls ghm_loss_pdist (found by running it)
// has a reference here, and its value and gradient match it on the near batch.
TEST(LossesNear, EveryDistanceLossIsAccurateOnNearPairs)
{
    Batch b = near_batch(5);
    auto R = ref_pdist(b.e, N, DIM);
    std::vector<std::string> found;
    for (int i = 0; i < ghm_loss_count(); i++) {
        const char *name = ghm_loss_at(i)->name;
        LossPtr h;
        ghm_loss *l = make_loss(name, {}, h);
        ASSERT_NE(l, nullptr) << name;
        std::vector<float> g((size_t)N * DIM);
        double v;
        ghm_error err;
        ghm_error_clear(&err);
        long before = ghm_loss_pdist_calls();
        ASSERT_EQ(ghm_loss_forward_backward(l, b.e.data(), b.y.data(), N, DIM, &v, g.data(), &err), 0) << err.msg;
        if (ghm_loss_pdist_calls() == before) continue;
        found.push_back(name);
        auto it = references().find(name);
        if (it == references().end()) {
            ADD_FAILURE() << "loss '" << name << "' uses ghm_loss_pdist: add a double-precision reference of its "
                          << "value and dL/dD (a Ref, as ref_contrastive) to references() in tests/test_losses_near.cc "
                          << "(docs/adding_a_loss.md, section 4)";
            continue;
        }
        LossPtr h2;
        if (!it->second.params.empty()) l = make_loss(name, it->second.params, h2);
        Ref ref = it->second.fn(b, R);
        check_loss(l, b, ref, R, name);
        if (std::string(name) == "margin") {
            ghm_tensor **t;
            ASSERT_EQ(ghm_loss_tensors(l, &t), 1);
            EXPECT_NEAR(t[0]->grad[0], ref.gbeta, 1e-6 * std::fabs(ref.gbeta));
        }
    }
    for (const auto &kv : references()) // no stale entry: each is found by the scan
        EXPECT_NE(std::find(found.begin(), found.end(), kv.first), found.end()) << kv.first;
    // other configurations of the same code paths
    {
        LossPtr h;
        ghm_loss *l = make_loss("ghm", {{"prob", GHM_PROB_HELLINGER}}, h);
        check_loss(l, b, ref_ghm(b, R, 0.5, 0.1, 1, 2.0, 0.0, 1.0), R, "ghm prob=hellinger");
    }
    {
        LossPtr h;
        ghm_loss *l = make_loss("ghm", {{"alpha", 1.0}}, h);
        check_loss(l, b, ref_contrastive(b, R, 0.0, 1.0), R, "ghm alpha=1");
    }
}
