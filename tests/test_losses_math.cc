// losses/loss_math.c: the log-sum-exps and the double buffers every loss uses, at the edges (empty sets,
// count 0, large and -inf arguments).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

extern "C" {
#include "losses/loss_math.h"
}

TEST(LossMath, LogSumExpMatchesTheDefinition)
{
    const double z[] = {0.5, -1.25, 2.0, 0.0, 3.5};
    const unsigned char mask[] = {1, 0, 1, 0, 1};
    double all = 0.0, some = 0.0;
    for (int k = 0; k < 5; k++) {
        all += std::exp(z[k]);
        if (mask[k]) some += std::exp(z[k]);
    }
    EXPECT_NEAR(ghm_lm_logsumexp(z, nullptr, 5), std::log(all), 1e-14);
    EXPECT_NEAR(ghm_lm_logsumexp(z, mask, 5), std::log(some), 1e-14);
    EXPECT_NEAR(ghm_lm_log1p_sumexp(z, nullptr, 5), std::log(1.0 + all), 1e-14);
    EXPECT_NEAR(ghm_lm_log1p_sumexp(z, mask, 5), std::log(1.0 + some), 1e-14);
    // one term: exactly itself
    EXPECT_EQ(ghm_lm_logsumexp(z + 2, nullptr, 1), 2.0);
}

TEST(LossMath, LogSumExpIsStable)
{
    // exp(1000) overflows; the shift by the maximum keeps the result finite and exact to rounding
    const double big[] = {1000.0, 1000.0, -1000.0};
    EXPECT_NEAR(ghm_lm_logsumexp(big, nullptr, 3), 1000.0 + std::log(2.0), 1e-12);
    EXPECT_NEAR(ghm_lm_log1p_sumexp(big, nullptr, 3), 1000.0 + std::log(2.0), 1e-12);
    const double small[] = {-1000.0, -1001.0};
    EXPECT_NEAR(ghm_lm_logsumexp(small, nullptr, 2), -1000.0 + std::log1p(std::exp(-1.0)), 1e-12);
    EXPECT_NEAR(ghm_lm_log1p_sumexp(small, nullptr, 2), 0.0, 1e-300);
}

TEST(LossMath, EmptySetsHaveDefinedValues)
{
    const double z[] = {1.0, 2.0};
    const unsigned char none[] = {0, 0};
    // the log of an empty sum is -inf; log(1 + empty sum) is 0
    EXPECT_EQ(ghm_lm_logsumexp(z, nullptr, 0), -INFINITY);
    EXPECT_EQ(ghm_lm_logsumexp(z, none, 2), -INFINITY);
    EXPECT_EQ(ghm_lm_logsumexp(nullptr, nullptr, 0), -INFINITY);
    EXPECT_EQ(ghm_lm_log1p_sumexp(z, nullptr, 0), 0.0);
    EXPECT_EQ(ghm_lm_log1p_sumexp(z, none, 2), 0.0);
    EXPECT_EQ(ghm_lm_log1p_sumexp(nullptr, nullptr, 0), 0.0);
    // terms of exp(-inf) = 0 count as nothing
    const double minf[] = {-INFINITY, -INFINITY};
    EXPECT_EQ(ghm_lm_logsumexp(minf, nullptr, 2), -INFINITY);
    EXPECT_EQ(ghm_lm_log1p_sumexp(minf, nullptr, 2), 0.0);
}

TEST(LossMath, DallocZeroesAndNeverReturnsNullForCountZero)
{
    double *a = ghm_lm_dalloc(0);
    ASSERT_NE(a, nullptr); // NULL means out of memory only
    EXPECT_EQ(a[0], 0.0);  // one double, zeroed
    free(a);
    double *b = ghm_lm_dalloc(1000);
    ASSERT_NE(b, nullptr);
    for (int k = 0; k < 1000; k++) ASSERT_EQ(b[k], 0.0);
    free(b);
}
