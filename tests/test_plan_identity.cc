// Run identity (experiment/plan.c, GHM_RUN_SPEC_FIELDS in experiment/experiment.h):
// the field table covers every byte of ghm_run_spec, every hashed field
// changes the canonical text and the id when it changes, the deliberately
// excluded ones do not, and values that mean the same give the same id.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

extern "C" {
#include "experiment/experiment.h"
#include "experiment/settings.h"
}

namespace {

std::string canonical(const ghm_run_spec &r)
{
    int n = ghm_run_spec_canonical(&r, nullptr, 0);
    EXPECT_GT(n, 0);
    std::vector<char> buf((size_t)n + 1);
    EXPECT_EQ(ghm_run_spec_canonical(&r, buf.data(), n + 1), n);
    return std::string(buf.data());
}

std::string id_of(ghm_run_spec r)
{
    ghm_run_spec_compute_id(&r);
    return r.run_id;
}

// A run whose lists and parameter sets are not empty, so every kind of field
// can be changed in place.
const char *kRich = R"(name: ident
seeds: [3]
dataset:
  name: synthetic
  classes: 8
  split: classes
  train_classes: [0, 2, 4, 6]
  val_fraction: 0.25
  limit: {train: 100, test: 50}
backbone: {name: mlp, embedding_dim: 16, normalize: true, hidden1: 32}
train:
  epochs: 2
  steps_per_epoch: 5
  batch_size: 16
  m_per_class: 4
  optimizer: {name: sgd, lr: 0.01, momentum: 0.8, weight_decay: 0.0001}
  schedule: {name: step, warmup_epochs: 0.5, step_epochs: 1, gamma: 0.5}
eval:
  every: 1
  recall_at: [1, 2, 4]
  metrics: [recall, nmi]
losses:
  - name: ghm
    params: {alpha: 0.25, tau: 0.2, prob: js}
)";

struct Base {
    ghm_experiment e;
    ghm_error err;
    int rc;
    Base()
    {
        ghm_error_clear(&err);
        rc = ghm_experiment_load_string(kRich, "ident.yaml", &e, &err);
    }
    ~Base() { ghm_experiment_free(&e); }
};

template <typename T> T get(const ghm_run_spec &r, const ghm_run_spec_field &f)
{
    T v;
    memcpy(&v, (const char *)&r + f.offset, sizeof v);
    return v;
}
template <typename T> void put(ghm_run_spec &r, const ghm_run_spec_field &f, T v)
{
    memcpy((char *)&r + f.offset, &v, sizeof v);
}

const ghm_run_spec_field *find_part(const char *key)
{
    for (int i = 0; i < ghm_run_spec_n_fields; i++)
        if (ghm_run_spec_fields[i].kind == GHM_CANON_PART && !strcmp(ghm_run_spec_fields[i].key, key))
            return &ghm_run_spec_fields[i];
    return nullptr;
}

// Change one field in place to another valid value; returns a description.
std::vector<std::string> perturb(const ghm_run_spec &base, const ghm_run_spec_field &f,
                                 std::vector<ghm_run_spec> *out)
{
    std::vector<std::string> what;
    ghm_run_spec r = base;
    switch (f.kind) {
    case GHM_CANON_STR: {
        char *s = (char *)&r + f.offset;
        bool empty = s[0] == '\0';
        s[0] = s[0] == 'x' ? 'y' : 'x';
        if (empty) s[1] = '\0';
        out->push_back(r);
        what.push_back("first character");
        r = base;
        s = (char *)&r + f.offset;
        size_t n = strlen(s);
        if (n + 1 < f.size) {
            s[n] = 'z';
            s[n + 1] = '\0';
            out->push_back(r);
            what.push_back("one more character");
        }
        break;
    }
    case GHM_CANON_ON:
        if (f.size == sizeof(double)) {
            put<double>(r, f, get<double>(r, f) ? 0.0 : 0.5);
            out->push_back(r);
            what.push_back("0 <-> 0.5");
            break;
        }
        [[fallthrough]];
    case GHM_CANON_INT:
    case GHM_CANON_PROTOCOL:
        put<int>(r, f, get<int>(r, f) ? 0 : 1);
        out->push_back(r);
        what.push_back("0 <-> 1");
        r = base;
        put<int>(r, f, get<int>(r, f) + 7);
        out->push_back(r);
        what.push_back("+7");
        break;
    case GHM_CANON_METRIC:
        // each registered metric's switch, on <-> off (entries sharing a switch flip their owner's)
        for (int i = 0; i < ghm_metric_count(); i++) {
            const ghm_metric_ops *mo = ghm_metric_at(i);
            if (mo->shares) continue;
            r = base;
            ghm_metric_switch(&r.eval, mo, !ghm_metric_on(&r.eval, mo));
            out->push_back(r);
            what.push_back(std::string("switch of ") + mo->name);
        }
        break;
    case GHM_CANON_U64:
        put<uint64_t>(r, f, get<uint64_t>(r, f) + 1);
        out->push_back(r);
        what.push_back("+1");
        break;
    case GHM_CANON_DBL:
        put<double>(r, f, get<double>(r, f) * 1.5 + 0.125);
        out->push_back(r);
        what.push_back("x1.5+0.125");
        r = base;
        put<double>(r, f, std::nextafter(get<double>(r, f), 1e9));
        out->push_back(r);
        what.push_back("next double up");
        break;
    case GHM_CANON_CHOICE:
        put<int>(r, f, get<int>(r, f) == 1 ? 0 : 1);
        out->push_back(r);
        what.push_back("other choice");
        break;
    case GHM_CANON_PART: {
        int n = get<int>(r, f);
        put<int>(r, f, n > 0 ? n - 1 : 1);
        out->push_back(r);
        what.push_back("count - 1");
        break;
    }
    case GHM_CANON_CLASSES:
    case GHM_CANON_KS: {
        const ghm_run_spec_field *cnt = find_part(f.key);
        EXPECT_NE(cnt, nullptr) << f.key;
        if (!cnt) break;
        int n = get<int>(r, *cnt);
        EXPECT_GT(n, 0) << "the base run must have a non-empty " << f.key;
        int *v = (int *)(void *)((char *)&r + f.offset);
        v[n - 1] += 1;
        out->push_back(r);
        what.push_back("last element + 1");
        break;
    }
    case GHM_CANON_BB_PARAMS:
    case GHM_CANON_LOSS_PARAMS: {
        ghm_params *p = (ghm_params *)(void *)((char *)&r + f.offset);
        EXPECT_GT(p->n, 0) << "the base run must have " << f.key << " parameters";
        // a numeric parameter (choices are written by name)
        int k = -1;
        for (int i = 0; i < p->n; i++)
            if (!strcmp(p->name[i], "alpha") || !strcmp(p->name[i], "channels1") || !strcmp(p->name[i], "hidden1") ||
                !strcmp(p->name[i], "tau"))
                k = i;
        if (k < 0) k = 0;
        p->value[k] += 1;
        out->push_back(r);
        what.push_back(std::string("value of ") + p->name[k]);
        r = base;
        p = (ghm_params *)(void *)((char *)&r + f.offset);
        ghm_params_set(p, "zz_extra", 1.0);
        out->push_back(r);
        what.push_back("one more parameter");
        break;
    }
    case GHM_CANON_SKIP:
        break;
    }
    return what;
}

TEST(RunIdentity, TableCoversEveryByteOfTheSpec)
{
    // offset, size, alignment of every member named in the table
    struct M {
        const char *member;
        size_t off, size, align;
    };
#define ROW(key, member, kind)                                                                                   \
    M{#member, offsetof(ghm_run_spec, member), sizeof(((ghm_run_spec *)nullptr)->member),                        \
      alignof(decltype(((ghm_run_spec *)nullptr)->member))},
#define SETTING_ROW(path, type, member, def, lo, hi, lo_open, hi_open, choices, id, legacy, doc) ROW(path, member, x)
    // the settings table (experiment/settings.h) and the other fields (GHM_RUN_SPEC_FIELDS)
    std::vector<M> rows = {GHM_SETTINGS(SETTING_ROW) GHM_RUN_SPEC_FIELDS(ROW)};
#undef SETTING_ROW
#undef ROW
    ASSERT_EQ((int)rows.size(), ghm_run_spec_n_fields);
    std::sort(rows.begin(), rows.end(), [](const M &a, const M &b) { return a.off < b.off; });
    size_t at = 0, padding = 0;
    for (const M &m : rows) {
        // a member starts where the previous one ended, after alignment padding
        // only (less than 8 bytes): a larger byte range that no row names is a
        // field the table forgot
        EXPECT_EQ(m.off % m.align, 0u) << m.member;
        EXPECT_TRUE(m.off >= at && m.off - at < 8) << "bytes " << at << ".." << m.off << " before " << m.member
                                                  << " are not in GHM_SETTINGS or GHM_RUN_SPEC_FIELDS: add the new field there";
        if (m.off >= at) padding += m.off - at;
        at = std::max(at, m.off + m.size);
    }
    size_t end = (at + alignof(ghm_run_spec) - 1) / alignof(ghm_run_spec) * alignof(ghm_run_spec);
    EXPECT_EQ(end, sizeof(ghm_run_spec)) << "bytes after the last row are not in GHM_RUN_SPEC_FIELDS";
    padding += sizeof(ghm_run_spec) - at;
    // A field put into an alignment hole would keep the layout: the padding
    // is fixed too (x86-64 and other LP64 ABIs). When this fails after adding
    // a field, add the field to GHM_RUN_SPEC_FIELDS, then update the number.
    if (sizeof(void *) == 8 && alignof(double) == 8 && alignof(uint64_t) == 8 && alignof(int) == 4) {
        // (40 until the four metric ints became one switch mask, eval.metrics)
        EXPECT_EQ(padding, 36u) << "the padding inside ghm_run_spec changed: a new field sits in an alignment hole"
                                   " and is missing from GHM_RUN_SPEC_FIELDS?";
    }
}

TEST(RunIdentity, EveryHashedFieldChangesTextAndId)
{
    Base B;
    ASSERT_EQ(B.rc, 0) << B.err.msg;
    const ghm_run_spec &base = B.e.runs[0];
    const std::string c0 = canonical(base), id0 = id_of(base);
    int changed = 0;
    std::set<std::string> keys;
    for (int i = 0; i < ghm_run_spec_n_fields; i++) {
        const ghm_run_spec_field &f = ghm_run_spec_fields[i];
        if (f.kind == GHM_CANON_SKIP) continue;
        SCOPED_TRACE(std::string(f.member) + " (" + f.key + ")");
        std::vector<ghm_run_spec> variants;
        std::vector<std::string> what = perturb(base, f, &variants);
        ASSERT_FALSE(variants.empty()) << "no way to change this kind of field";
        for (size_t v = 0; v < variants.size(); v++) {
            SCOPED_TRACE(what[v]);
            EXPECT_NE(canonical(variants[v]), c0);
            EXPECT_NE(id_of(variants[v]), id0);
            changed++;
        }
        if (f.kind != GHM_CANON_PROTOCOL && f.kind != GHM_CANON_ON) keys.insert(f.key); /* protocol, ON lines: only off the defaults */
    }
    EXPECT_GE(changed, 60);
    // every hashed key (other than metric names and parameter prefixes) has its line
    for (const std::string &k : keys) {
        if (k == "backbone" || k == "loss") continue;
        EXPECT_NE(("\n" + c0).find("\n" + k + "="), std::string::npos) << k;
    }
    EXPECT_NE(c0.find("\neval.metrics=recall,nmi\n"), std::string::npos) << c0;
    EXPECT_NE(c0.find("\nloss.params.alpha=0.25\n"), std::string::npos) << c0;
    EXPECT_NE(c0.find("\nbackbone.params."), std::string::npos) << c0;
}

TEST(RunIdentity, NothingChangedKeepsTextAndId)
{
    Base A, B;
    ASSERT_EQ(A.rc, 0) << A.err.msg;
    ASSERT_EQ(B.rc, 0) << B.err.msg;
    EXPECT_EQ(canonical(A.e.runs[0]), canonical(B.e.runs[0]));
    EXPECT_STREQ(A.e.runs[0].run_id, B.e.runs[0].run_id);
    ghm_run_spec copy = A.e.runs[0];
    EXPECT_EQ(id_of(copy), A.e.runs[0].run_id);
    EXPECT_EQ(canonical(copy), canonical(A.e.runs[0]));
}

TEST(RunIdentity, ExcludedFieldsDoNotChangeTheId)
{
    Base B;
    ASSERT_EQ(B.rc, 0) << B.err.msg;
    const ghm_run_spec &base = B.e.runs[0];
    const std::string c0 = canonical(base);
    int skipped = 0;
    for (int i = 0; i < ghm_run_spec_n_fields; i++) {
        const ghm_run_spec_field &f = ghm_run_spec_fields[i];
        if (f.kind != GHM_CANON_SKIP) continue;
        SCOPED_TRACE(f.member);
        ghm_run_spec r = base;
        // scribble over the whole member (pointers, counts, text, the id itself)
        memset((char *)&r + f.offset, 0x5a, f.size);
        if (!strcmp(f.member, "n_swept")) r.n_swept = 3;
        EXPECT_EQ(canonical(r), c0);
        skipped++;
    }
    EXPECT_EQ(skipped, 16); // + eval.exclude_group, eval.exclude_group_gallery (issue 25), rung (halving, issue 24)
}

TEST(RunIdentity, EquivalentValuesGiveTheSameId)
{
    Base B;
    ASSERT_EQ(B.rc, 0) << B.err.msg;
    ghm_run_spec a = B.e.runs[0], b = B.e.runs[0];
    a.optim.weight_decay = 0.0;
    b.optim.weight_decay = -0.0;
    a.schedule.min_lr_ratio = 0.0;
    b.schedule.min_lr_ratio = -0.0;
    ghm_params_set(&a.loss_params, "alpha", 0.0);
    ghm_params_set(&b.loss_params, "alpha", -0.0);
    EXPECT_EQ(canonical(a), canonical(b));
    EXPECT_EQ(id_of(a), id_of(b));
    EXPECT_NE(canonical(a).find("\ntrain.optimizer.weight_decay=0\n"), std::string::npos);
    EXPECT_NE(canonical(a).find("\nloss.params.alpha=0\n"), std::string::npos);

    // in a file: -0.0 and 0 written by the user
    ghm_experiment e1, e2;
    ghm_error err;
    const char *y1 = "name: p\nseeds: [1]\ndataset: {name: synthetic}\nbackbone: {name: mlp}\n"
                     "train: {optimizer: {name: adamw, weight_decay: -0.0}}\nlosses:\n  - name: ghm\n    params: {alpha: -0.0}\n";
    const char *y2 = "name: p\nseeds: [1]\ndataset: {name: synthetic}\nbackbone: {name: mlp}\n"
                     "train: {optimizer: {name: adamw, weight_decay: 0}}\nlosses:\n  - name: ghm\n    params: {alpha: 0}\n";
    ASSERT_EQ(ghm_experiment_load_string(y1, "a.yaml", &e1, &err), 0) << err.msg;
    ASSERT_EQ(ghm_experiment_load_string(y2, "b.yaml", &e2, &err), 0) << err.msg;
    EXPECT_STREQ(e1.runs[0].run_id, e2.runs[0].run_id);
    ghm_experiment_free(&e1);
    ghm_experiment_free(&e2);
}

// The canonical text of an existing run is pinned: results on disk are keyed
// by run ids, so a refactoring must not change them.
TEST(RunIdentity, CanonicalTextOfAKnownRunIsPinned)
{
    ghm_experiment e;
    ghm_error err;
    ASSERT_EQ(ghm_experiment_load(GHM_SOURCE_DIR "/experiments/paper_fashion_mnist.yaml", &e, &err), 0) << err.msg;
    ASSERT_GE(e.n_runs, 2);
    EXPECT_STREQ(e.runs[0].run_id, "f7c3ecea67d07529");
    EXPECT_STREQ(e.runs[1].run_id, "954ec0cce7e33d98");
    ghm_experiment_free(&e);
}

} // namespace
