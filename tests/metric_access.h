// Reading ghm_metrics and switching metrics by name in tests: the values are
// per registry entry (eval/metric_registry.c), not named fields.
#pragma once

#include <gtest/gtest.h>

#include <cmath>

#include "eval/eval.h"

inline const ghm_metric_ops *metric_named(const char *name)
{
    const ghm_metric_ops *mo = ghm_metric_find(name, nullptr);
    EXPECT_NE(mo, nullptr) << "no metric '" << name << "' in the registry";
    return mo;
}
// value j (the j-th K for per-K metrics) of metric `name` ("recall", "map_r", ...); NaN if not computed
inline double mval(const ghm_metrics &m, const char *name, int j = 0)
{
    const ghm_metric_ops *mo = metric_named(name);
    return mo && j < ghm_metric_n(&m, mo) ? ghm_metric_v(&m, mo, j) : NAN;
}
inline bool mhas(const ghm_metrics &m, const char *name)
{
    const ghm_metric_ops *mo = metric_named(name);
    return mo && ghm_metric_n(&m, mo) > 0;
}
inline void mset(ghm_eval_opts &o, const char *name, int on)
{
    const ghm_metric_ops *mo = metric_named(name);
    if (mo) ghm_metric_switch(&o, mo, on);
}
inline int mon(const ghm_eval_opts &o, const char *name)
{
    const ghm_metric_ops *mo = metric_named(name);
    return mo ? ghm_metric_on(&o, mo) : -1;
}
