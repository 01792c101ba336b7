// Every loss's parameter spec drives validation the same way: defaults are
// valid, a value just outside a bound or not among the choices is GHM_EINPUT
// naming the parameter and the loss, a misspelt name gets a suggestion, and
// the bounds themselves are accepted.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

extern "C" {
#include "losses/loss.h"
}

namespace {

int create(const char *name, const ghm_params *p, ghm_error *err)
{
    ghm_loss *l = nullptr;
    ghm_error_clear(err);
    int rc = ghm_loss_create(name, p, 4, 3, 1, &l, err);
    if (rc == 0) {
        EXPECT_NE(l, nullptr);
        ghm_loss_destroy(l);
    } else {
        EXPECT_EQ(l, nullptr);
    }
    return rc;
}

bool has(const char *msg, const std::string &s) { return std::string(msg).find(s) != std::string::npos; }

} // namespace

TEST(LossSpec, EveryParameterOfEveryLossIsValidated)
{
    int checked = 0;
    for (int i = 0; i < ghm_loss_count(); i++) {
        const ghm_loss_ops *o = ghm_loss_at(i);
        SCOPED_TRACE(o->name);
        EXPECT_EQ(ghm_loss_find(o->name), o);
        ghm_params p;
        ghm_error err;
        ghm_params_clear(&p);
        ASSERT_EQ(create(o->name, &p, &err), 0) << err.msg;
        for (const ghm_param_spec *s = o->params; s && s->name; s++) {
            SCOPED_TRACE(s->name);
            // the default, written out, is the same as leaving it out
            ghm_params_clear(&p);
            ghm_params_set(&p, s->name, s->def);
            EXPECT_EQ(create(o->name, &p, &err), 0) << err.msg;
            if (s->choices) {
                int n = 0;
                while (s->choices[n]) n++;
                ghm_params_clear(&p);
                ghm_params_set(&p, s->name, n - 1); // the last choice
                EXPECT_EQ(create(o->name, &p, &err), 0) << err.msg;
                ghm_params_set(&p, s->name, n); // one past the last
                EXPECT_EQ(create(o->name, &p, &err), GHM_EINPUT);
                EXPECT_TRUE(has(err.msg, s->name)) << err.msg;
                checked++;
                continue;
            }
            // the closed bounds are accepted, one step outside is not
            const double step = s->is_int ? 1.0 : std::max(1e-9, 1e-6 * std::fabs(s->hi - s->lo));
            for (int side = 0; side < 2; side++) {
                double bound = side ? s->hi : s->lo;
                bool open = side ? false : s->lo_open;
                ghm_params_clear(&p);
                if (!open) {
                    ghm_params_set(&p, s->name, bound);
                    EXPECT_EQ(create(o->name, &p, &err), 0) << (side ? "hi " : "lo ") << bound << ": " << err.msg;
                } else {
                    ghm_params_set(&p, s->name, bound);
                    EXPECT_EQ(create(o->name, &p, &err), GHM_EINPUT) << "open lower bound " << bound;
                }
                ghm_params_set(&p, s->name, side ? bound + step : bound - step);
                EXPECT_EQ(create(o->name, &p, &err), GHM_EINPUT) << (side ? "above hi " : "below lo ") << bound;
                EXPECT_TRUE(has(err.msg, s->name)) << err.msg;
                EXPECT_TRUE(has(err.msg, o->name)) << err.msg;
            }
            if (s->is_int && s->hi > s->lo) {
                ghm_params_clear(&p);
                ghm_params_set(&p, s->name, s->lo + 0.5);
                EXPECT_EQ(create(o->name, &p, &err), GHM_EINPUT) << "non-integer value";
            }
            // a misspelt name: rejected with a suggestion of the right one
            std::string typo = std::string(s->name);
            typo[typo.size() / 2] = typo[typo.size() / 2] == 'x' ? 'y' : 'x';
            ghm_params_clear(&p);
            ghm_params_set(&p, typo.c_str(), s->def);
            EXPECT_EQ(create(o->name, &p, &err), GHM_EINPUT);
            EXPECT_TRUE(has(err.msg, typo)) << err.msg;
            checked++;
        }
    }
    EXPECT_GE(checked, 30);
}
