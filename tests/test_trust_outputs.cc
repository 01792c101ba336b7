// Trust (issue 23, items 1, 2, 12): a results directory or an experiment file
// from someone else may make ghm draw odd-looking labels, never run a command,
// never write outside the results directory, never follow a link placed in it.
//
// The built binary (GHM_BINARY) runs `ghm run` and `ghm report` as a user
// would. Hostile strings (line breaks, quotes, backquotes, $( ), @macros,
// "!command", control characters, <script>, Markdown links, LaTeX commands,
// long text) come from every string that reaches an output: the experiment
// file (description, dataset.path: an existing directory with a hostile name),
// and the fields of records in a copied results directory (experiment,
// dataset, swept names and values, failure reasons). Every command payload
// would `touch` a marker file; the tests check that no marker exists anywhere,
// that no file outside the results directory changed (including the targets
// of links placed inside it), that the figures are still drawn, and that the
// tables show the text escaped.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

extern "C" {
#include "experiment/record.h"
}

#include "test_util.h"

namespace fs = std::filesystem;

namespace {

using ghm_test::read_all;
using ghm_test::rmrf;
using ghm_test::shell;
using ghm_test::tmpdir;

bool have_gnuplot() { return shell("gnuplot -e 'exit' >/dev/null 2>&1") == 0; }

// Every payload would create a file whose name starts with "PWN" (relative names: gnuplot runs in
// plots/, a shell in the working directory: both inside the sandbox, where the test looks).
const std::vector<std::string> &payloads()
{
    static const std::vector<std::string> p = {
        "a\nsystem('touch PWN1')\n#",                 // a line break ends the string and the command
        "b`touch PWN2`",                              // command substitution in double quotes
        "c\"; system(\"touch PWN3\"); \"",            // break out of a double-quoted string
        "d'; system('touch PWN4'); '",                // break out of a single-quoted string
        "e$(touch PWN5)<script>alert(1)</script>",    // a shell, and HTML
        "f\\\n!touch PWN6\n",                         // backslash-newline continuation, shell escape
        "g\x01\x1b[31m\r\t@PWN7 [x](javascript:1)|", // control characters, a macro, a link, a cell break
        "h\\input{/etc/passwd}\\",                    // LaTeX; ends in a backslash (continuation)
        std::string(60, 'L') + "'`",                  // long, at the record limit (63 characters)
    };
    return p;
}

// names of marker files anywhere under dir
std::vector<std::string> markers(const std::string &dir)
{
    std::vector<std::string> found;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
         it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        std::string n = it->path().filename().string();
        if (n.rfind("PWN", 0) == 0) found.push_back(it->path().string());
    }
    return found;
}

// path -> what it is (link target, or file size and content), for every entry under dir except
// those under `skip` (the results directories the test lets ghm write)
std::map<std::string, std::string> snapshot(const std::string &dir, const std::vector<std::string> &skip)
{
    std::map<std::string, std::string> m;
    std::error_code ec;
    auto it = fs::recursive_directory_iterator(dir, ec);
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) break;
        std::string p = it->path().string();
        bool skipped = false;
        for (const std::string &s : skip)
            if (p == s || p.rfind(s + "/", 0) == 0) skipped = true;
        if (skipped) {
            if (it->is_directory(ec) && !it->is_symlink(ec)) it.disable_recursion_pending();
            continue;
        }
        if (it->is_symlink(ec))
            m[p] = "link -> " + fs::read_symlink(it->path(), ec).string();
        else if (it->is_directory(ec))
            m[p] = "dir";
        else
            m[p] = "file " + read_all(p);
    }
    return m;
}

void expect_same(const std::map<std::string, std::string> &a, const std::map<std::string, std::string> &b)
{
    for (auto &kv : b) {
        auto f = a.find(kv.first);
        EXPECT_TRUE(f != a.end()) << "created outside the results directory: " << kv.first;
        if (f != a.end()) {
            EXPECT_EQ(f->second.substr(0, 200), kv.second.substr(0, 200)) << "changed: " << kv.first;
        }
    }
    for (auto &kv : a) EXPECT_TRUE(b.count(kv.first)) << "removed outside the results directory: " << kv.first;
}

// `ghm ARGS` in directory cwd; stderr into err (may be NULL); the exit status
int ghm(const std::string &cwd, const std::string &args, std::string *err = nullptr)
{
    std::string e = cwd + "/.stderr";
    int rc = shell("cd '" + cwd + "' && " + GHM_BINARY + " " + args + " >/dev/null 2>'" + e + "' </dev/null");
    if (err) *err = read_all(e);
    unlink(e.c_str());
    return rc;
}

int count_ext(const std::string &dir, const std::string &ext)
{
    int n = 0;
    std::error_code ec;
    for (auto &en : fs::directory_iterator(dir, ec))
        if (en.is_regular_file(ec) && en.path().extension() == ext) n++;
    return n;
}

// A YAML double-quoted scalar of s: every byte outside printable ASCII escaped.
std::string yq(const std::string &s)
{
    std::string o = "\"";
    char b[8];
    for (unsigned char c : s) {
        if (c == '"' || c == '\\')
            o += '\\', o += (char)c;
        else if (c < 0x20 || c >= 0x7f)
            snprintf(b, sizeof b, "\\x%02x", c), o += b;
        else
            o += (char)c;
    }
    return o + "\"";
}

// The text of the escaped outputs must show no raw markup and no new line from a payload.
void expect_escaped(const std::string &dir)
{
    std::string md = read_all(dir + "/summary.md"), tex = read_all(dir + "/summary.tex"),
                html = read_all(dir + "/index.html");
    ASSERT_FALSE(md.empty());
    ASSERT_FALSE(html.empty());
    for (const char *bad : {"<script", "[x](javascript", "\nsystem(", "\n!touch", "\x1b", "\x01"})
        EXPECT_EQ(md.find(bad), std::string::npos) << bad << "\n" << md;
    EXPECT_EQ(html.find("<script"), std::string::npos);
    EXPECT_EQ(html.find("\x1b"), std::string::npos);
    EXPECT_EQ(tex.find("\\input{"), std::string::npos) << tex;
    EXPECT_EQ(tex.find("\nsystem("), std::string::npos) << tex;
    // every line of a Markdown table has as many cells as its header
    int want = -1;
    size_t pos = 0;
    while (pos < md.size()) {
        size_t e = md.find('\n', pos);
        std::string line = md.substr(pos, e == std::string::npos ? std::string::npos : e - pos);
        pos = e == std::string::npos ? md.size() : e + 1;
        if (line.empty() || line[0] != '|') {
            want = -1;
            continue;
        }
        int cells = 0;
        for (size_t i = 0; i < line.size(); i++)
            if (line[i] == '|' && (i == 0 || line[i - 1] != '\\')) cells++;
        if (want < 0) want = cells;
        EXPECT_EQ(cells, want) << line;
    }
}

// A finished (or failed) record whose string fields are hostile.
void write_record(const std::string &dir, int k, const char *loss, const std::string &text, double lr, bool failed)
{
    ghm_record r;
    ghm_record_init(&r);
    snprintf(r.run_id, sizeof r.run_id, "%016x", k);
    const std::string &p = payloads()[(size_t)k % payloads().size()];
    snprintf(r.experiment, sizeof r.experiment, "%s", payloads()[0].c_str());
    snprintf(r.loss, sizeof r.loss, "%s", loss);
    snprintf(r.dataset, sizeof r.dataset, "%.31s", p.c_str());
    r.seed = (uint64_t)k;
    r.n_swept = 2;
    snprintf(r.swept_name[0], GHM_NAME_MAX, "lr`touch PWN8`\n#");
    r.swept_value[0] = lr;
    snprintf(r.swept_text[0], GHM_NAME_MAX, "%g", lr);
    snprintf(r.swept_name[1], GHM_NAME_MAX, "%s", payloads()[2].c_str());
    snprintf(r.swept_text[1], GHM_NAME_MAX, "%s", text.c_str());
    double r1 = 0.5 + 0.01 * k;
    ghm_metric_set_put(&r.test, "recall@1", r1);
    ghm_metric_set_put(&r.test, "recall@2", r1 + 0.1);
    ghm_metric_set_put(&r.test, "map@r", r1 / 2);
    ghm_metric_set_put(&r.test, "nmi", r1 / 3);
    r.has_val = 1;
    ghm_metric_set_put(&r.val, "recall@1", r1 - 0.01);
    ghm_history_entry h;
    memset(&h, 0, sizeof h);
    h.epoch = 1;
    h.train_loss = 0.5;
    h.has_val = 1;
    ghm_metric_set_put(&h.val, "recall@1", r1 - 0.01);
    ghm_record_add_history(&r, &h, nullptr);
    for (int t = 0; t < 20; t++) ghm_record_add_step(&r, 1.0 / (1 + t), nullptr);
    r.epochs = 1;
    r.seconds = 1;
    if (failed) {
        r.failed = 1;
        snprintf(r.failure, sizeof r.failure, "%s %s %s", payloads()[0].c_str(), payloads()[4].c_str(),
                 payloads()[6].c_str());
    }
    ghm_error err;
    std::string rd = dir + "/runs/" + r.run_id;
    ASSERT_EQ(ghm_record_write(&r, nullptr, rd.c_str(), &err), 0) << err.msg;
    ghm_record_free(&r);
}

// <prefix>-images-idx3-ubyte and <prefix>-labels-idx1-ubyte: per_class 28 x 28 images of each of
// `classes` classes (a bright band whose row is the class, plus a little deterministic noise)
void write_idx(const std::string &prefix, int classes, int per_class)
{
    int n = classes * per_class;
    auto be32 = [](std::string &s, uint32_t v) {
        for (int k = 3; k >= 0; k--) s += (char)((v >> (8 * k)) & 0xff);
    };
    std::string im, lb;
    be32(im, 0x803), be32(im, (uint32_t)n), be32(im, 28), be32(im, 28);
    be32(lb, 0x801), be32(lb, (uint32_t)n);
    uint32_t h = 12345;
    for (int i = 0; i < n; i++) {
        int c = i % classes;
        lb += (char)c;
        for (int p = 0; p < 28 * 28; p++) {
            h = h * 1664525u + 1013904223u;
            int row = p / 28, v = (row / 3 == c ? 200 : 20) + (int)(h >> 28);
            im += (char)v;
        }
    }
    std::ofstream(prefix + "-images-idx3-ubyte", std::ios::binary) << im;
    std::ofstream(prefix + "-labels-idx1-ubyte", std::ios::binary) << lb;
}

struct Sandbox {
    std::string root, out, victim, vdir;
    Sandbox()
    {
        root = tmpdir();
        out = root + "/res";
        victim = root + "/outside/victim.txt";
        vdir = root + "/outside/vdir";
        fs::create_directories(vdir);
        std::ofstream(victim) << "precious\n";
        std::ofstream(vdir + "/keep.tmp") << "keep\n";
        std::ofstream(vdir + "/recall_at_k.png") << "not a figure of ours\n";
    }
    ~Sandbox() { rmrf(root); }
};

// records from someone else: every string field hostile, links to files outside placed where
// ghm writes (temporaries, logs, final names)
TEST(TrustOutputs, HostileRecordsRunNothingAndWriteOnlyInTheDirectory)
{
    if (!fs::exists(GHM_BINARY)) GTEST_SKIP() << "ghm binary not built";
    Sandbox S;
    int k = 1;
    for (const char *loss : {"ghm", "triplet"})
        for (size_t t = 0; t < 3; t++)
            for (double lr : {0.001, 0.002}) write_record(S.out, k++, loss, payloads()[(t * 3 + 1) % 9], lr, false);
    write_record(S.out, k++, "ghm", payloads()[5], 0.004, true);
    fs::create_directories(S.out + "/plots");
    for (const char *l : {"plots/.tmp-recall_at_k.png", "plots/.tmp-recall_at_k.svg", "plots/gnuplot.log",
                          "plots/recall_at_k.svg", "plots/recall_at_k.gp", "plots/recall_at_k.dat",
                          "plots/recall_at_k.gp.AAAAAA.tmp", "summary.md", "index.html", "summary.md.AAAAAA.tmp"})
        fs::create_symlink(S.victim, S.out + "/" + l);
    auto before = snapshot(S.root, {S.out});

    std::string err;
    EXPECT_EQ(ghm(S.root, "report res --formats svg", &err), 0) << err;

    EXPECT_EQ(markers(S.root), std::vector<std::string>{}) << "a payload ran";
    expect_same(before, snapshot(S.root, {S.out}));
    EXPECT_EQ(read_all(S.victim), "precious\n");
    expect_escaped(S.out);
    if (have_gnuplot()) {
        // metric vs lr (3), Recall@K, training loss, validation Recall@1: drawn despite the labels
        EXPECT_GE(count_ext(S.out + "/plots", ".svg"), 6) << read_all(S.out + "/plots/gnuplot.log");
        EXPECT_EQ(read_all(S.out + "/plots/gnuplot.log"), "");
        EXPECT_NE(read_all(S.out + "/plots/recall_at_k.svg").find("<svg"), std::string::npos);
    }
    // the tables keep the hostile text, escaped, rather than dropping it
    std::string md = read_all(S.out + "/summary.md");
    EXPECT_NE(md.find("e$(touch PWN5)&lt;script&gt;"), std::string::npos) << md;
    EXPECT_NE(md.find("## Failed runs"), std::string::npos) << md;
}

// an experiment file with hostile text: `ghm run`, then `ghm report` on a copy of its directory
TEST(TrustOutputs, HostileExperimentFileRunsNothing)
{
    if (!fs::exists(GHM_BINARY)) GTEST_SKIP() << "ghm binary not built";
    Sandbox S;
    std::string desc;
    for (const std::string &p : payloads()) desc += p + " ";
    desc += std::string(20000, 'D');
    // dataset.path (issue 23's reproduction): existing directories with hostile names, holding a small
    // Fashion-MNIST-shaped data set (raw IDX files)
    for (int i : {0, 1}) {
        std::string d = S.root + "/" + payloads()[i];
        fs::create_directories(d);
        write_idx(d + "/train", 10, 16);
        write_idx(d + "/t10k", 10, 8);
    }
    std::string y = "name: hostile\ndescription: " + yq(desc) + "\nseeds: [0]\n";
    y += "dataset: {name: fashion-mnist, val_fraction: 0.25}\n";
    y += "sweep: {train.optimizer.lr: [0.001, 0.002], dataset.path: [" + yq(payloads()[0]) + ", " +
         yq(payloads()[1]) + "]}\n";
    y += "backbone: {name: mlp, embedding_dim: 8, normalize: true, hidden1: 16, hidden2: 16}\n"
         "train: {epochs: 1, batch_size: 8, m_per_class: 2, optimizer: {name: adam, lr: 0.002}}\n"
         "eval: {every: 1, recall_at: [1, 2]}\nreport: {formats: [svg]}\nlosses:\n  - name: ghm\n";
    std::ofstream(S.root + "/x.yaml") << y;
    auto before = snapshot(S.root, {S.out, S.root + "/copy"});

    std::string err;
    ASSERT_EQ(ghm(S.root, "run x.yaml --out res", &err), 0) << err << "\n" << y.substr(0, 400);
    std::string dir = S.out + "/hostile";
    EXPECT_EQ(markers(S.root), std::vector<std::string>{}) << "a payload ran during ghm run";
    expect_escaped(dir);
    // a copied directory: `ghm report` reads its experiment.yaml
    ASSERT_EQ(shell("cp -r '" + dir + "' '" + S.root + "/copy'"), 0);
    rmrf(S.root + "/copy/plots");
    EXPECT_EQ(ghm(S.root, "report copy", &err), 0) << err;
    EXPECT_EQ(markers(S.root), std::vector<std::string>{}) << "a payload ran during ghm report";
    expect_same(before, snapshot(S.root, {S.out, S.root + "/copy"}));
    expect_escaped(S.root + "/copy");
    if (have_gnuplot()) {
        // Recall@1, MAP@R and NMI against lr, each curve labelled with a hostile dataset.path; Recall@K,
        // training loss, validation Recall@1
        int want = 6;
        EXPECT_GE(count_ext(dir + "/plots", ".svg"), want) << read_all(dir + "/plots/gnuplot.log");
        EXPECT_GE(count_ext(S.root + "/copy/plots", ".svg"), want) << read_all(S.root + "/copy/plots/gnuplot.log");
        std::string gp = read_all(dir + "/plots/recall_at_1_vs_train_optimizer_lr.gp");
        EXPECT_NE(gp.find("dataset.path=a system("), std::string::npos) << gp;
    }
}

// a plots/ that is a link is refused (nothing written or removed in its target); a link at the
// lock file or at runs/ is never written through
TEST(TrustOutputs, LinksInTheDirectoryAreNeverFollowed)
{
    if (!fs::exists(GHM_BINARY)) GTEST_SKIP() << "ghm binary not built";
    Sandbox S;
    write_record(S.out, 1, "ghm", "x", 0.001, false);
    write_record(S.out, 2, "ghm", "x", 0.002, false);
    fs::create_directory_symlink(S.vdir, S.out + "/plots");
    auto before = snapshot(S.root, {S.out});
    std::string err;
    EXPECT_EQ(ghm(S.root, "report res --formats svg", &err), 2) << err;
    EXPECT_NE(err.find("res/plots is a symbolic link"), std::string::npos) << err;
    expect_same(before, snapshot(S.root, {S.out}));

    // the lock file
    fs::remove(S.out + "/plots");
    fs::remove(S.out + "/.lock");
    fs::create_symlink(S.victim, S.out + "/.lock");
    EXPECT_NE(ghm(S.root, "report res --formats svg", &err), 0) << err;
    EXPECT_EQ(read_all(S.victim), "precious\n");
    expect_same(before, snapshot(S.root, {S.out}));

    // runs/ of a new run
    std::ofstream(S.root + "/x.yaml")
        << "name: x\nseeds: [0]\ndataset: {name: synthetic, classes: 4, train_per_class: 24, test_per_class: 12, "
           "image_size: 8}\nbackbone: {name: mlp, embedding_dim: 8, hidden1: 16, hidden2: 16}\n"
           "train: {epochs: 1, batch_size: 8, m_per_class: 2}\nlosses:\n  - name: ghm\n";
    fs::create_directories(S.root + "/res2/x");
    fs::create_directory_symlink(S.vdir, S.root + "/res2/x/runs");
    before = snapshot(S.root, {S.out, S.root + "/res2", S.root + "/x.yaml"});
    EXPECT_NE(ghm(S.root, "run x.yaml --out res2", &err), 0) << err;
    EXPECT_NE(err.find("runs is a symbolic link"), std::string::npos) << err;
    expect_same(before, snapshot(S.root, {S.out, S.root + "/res2", S.root + "/x.yaml"}));
}

} // namespace
