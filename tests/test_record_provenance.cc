// Provenance: the build's git commit (captured at build time by
// cmake/ghm_version.cmake), the compiler, the convolution backend and the
// CPU's instruction set in every record and in `ghm --version`; records
// written before these fields existed still read.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <sys/stat.h>

extern "C" {
#include "experiment/provenance.h"
#include "experiment/record.h"
}

#include "test_util.h"

namespace {

using namespace ghm_test;

// stdout of a shell command, trailing newline removed
std::string capture(const std::string &cmd)
{
    std::string out;
    FILE *p = popen(cmd.c_str(), "r");
    if (!p) return out;
    char buf[512];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

bool source_is_git_checkout()
{
    return on_path("git") && exists(std::string(GHM_SOURCE_DIR) + "/.git") &&
           shell("git -C '" + std::string(GHM_SOURCE_DIR) + "' rev-parse --verify HEAD >/dev/null 2>&1") == 0;
}

// The commit a binary was built from: HEAD when it was built, so HEAD or one
// of its ancestors now (a commit made since the last build, or a merge, leaves
// the binary one step behind until the next build); "unknown" outside git.
void expect_commit_of_this_checkout(const std::string &c, const std::string &what)
{
    if (!source_is_git_checkout()) {
        EXPECT_EQ(c, "unknown") << what;
        return;
    }
    ASSERT_EQ(c.size(), 40u) << what << ": " << c;
    EXPECT_EQ(c.find_first_not_of("0123456789abcdef"), std::string::npos) << what << ": " << c;
    EXPECT_EQ(shell("git -C '" + std::string(GHM_SOURCE_DIR) + "' merge-base --is-ancestor " + c + " HEAD"), 0)
        << what << ": " << c << " is not HEAD or an ancestor of it";
}

TEST(Provenance, VersionPrintsTheCommitOfTheBuild)
{
    std::string v = capture(std::string(GHM_BINARY) + " --version");
    EXPECT_EQ(v.rfind(std::string("ghm ") + GHM_VERSION_STRING + "\ncommit ", 0), 0u) << v;
    size_t at = v.find("\ncommit ");
    ASSERT_NE(at, std::string::npos) << v;
    std::string c = v.substr(at + 8, v.find_first_of(" \n", at + 8) - (at + 8));
    expect_commit_of_this_checkout(c, "ghm --version");
    expect_commit_of_this_checkout(ghm_build_commit(), "ghm_build_commit()");
    EXPECT_NE(v.find("\ncompiler "), std::string::npos);
    EXPECT_NE(v.find(std::string("\nconv_backend ") + ghm_prov_conv_backend()), std::string::npos);
    EXPECT_NE(v.find(std::string("\ngemm_backend ") + ghm_prov_gemm_backend()), std::string::npos);
    EXPECT_NE(v.find(std::string("\ncpu_isa ") + ghm_prov_cpu_isa()), std::string::npos);
    EXPECT_EQ(shell(std::string(GHM_BINARY) + " --version >/dev/null"), 0);
}

TEST(Provenance, EveryRecordCarriesItAndReadsItBack)
{
    std::string d = tmpdir();
    ghm_record r;
    ghm_record_init(&r);
    snprintf(r.run_id, sizeof r.run_id, "0123456789abcdef");
    snprintf(r.loss, sizeof r.loss, "ghm");
    ghm_metric_set_put(&r.test, "recall@1", 0.5);
    char *json = nullptr;
    ghm_error err;
    ASSERT_EQ(ghm_record_to_json(&r, nullptr, &json, &err), 0) << err.msg;
    std::string j = json;
    free(json);
    EXPECT_NE(j.find(std::string("\"commit\": \"") + ghm_build_commit() + "\""), std::string::npos) << j;
    EXPECT_NE(j.find(std::string("\"compiler\": \"") + ghm_prov_compiler() + "\""), std::string::npos) << j;
    EXPECT_NE(j.find(std::string("\"conv_backend\": \"") + ghm_prov_conv_backend() + "\""), std::string::npos) << j;
    EXPECT_NE(j.find(std::string("\"gemm_backend\": \"") + ghm_prov_gemm_backend() + "\""), std::string::npos) << j;
    {
        /* the products' library, then its kernels' instruction set */
        const std::string g = ghm_prov_gemm_backend();
        EXPECT_TRUE(g.rfind("onednn ", 0) == 0 || g.rfind("openblas ", 0) == 0) << g;
    }
    EXPECT_NE(j.find(std::string("\"cpu_isa\": \"") + ghm_prov_cpu_isa() + "\""), std::string::npos) << j;
    EXPECT_NE(j.find(std::string("\"build_isa\": \"") + ghm_prov_build_isa() + "\""), std::string::npos) << j;
    if (ghm_build_dirty() >= 0) {
        EXPECT_NE(j.find(ghm_build_dirty() ? "\"dirty\": true" : "\"dirty\": false"), std::string::npos) << j;
    }
    ASSERT_EQ(ghm_record_write(&r, nullptr, (d + "/run").c_str(), &err), 0) << err.msg;
    ghm_record_free(&r);
    ghm_record back;
    ASSERT_EQ(ghm_record_read((d + "/run/record.json").c_str(), &back, &err), 0) << err.msg;
    EXPECT_STREQ(back.commit, ghm_build_commit());
    EXPECT_EQ(back.dirty, ghm_build_dirty());
    ghm_record_free(&back);
    rmrf(d);
}

TEST(Provenance, CommittedRecordsWithoutItStillRead)
{
    std::string p = std::string(GHM_SOURCE_DIR) + "/results/paper_fair_fashion_mnist/runs/03008cc119547ea9/record.json";
    if (!exists(p)) GTEST_SKIP() << "committed record not present";
    ASSERT_EQ(read_all(p).find("\"commit\""), std::string::npos) << "this record was meant to predate provenance";
    ghm_record r;
    ghm_error err;
    ASSERT_EQ(ghm_record_read(p.c_str(), &r, &err), 0) << err.msg;
    EXPECT_STREQ(r.commit, "");
    EXPECT_EQ(r.dirty, -1);
    EXPECT_EQ(std::string(r.loss), "ghm");
    ghm_record_free(&r);
}

// The generator the build runs: "unknown" outside git; the commit and the
// dirty flag of a checkout; the file is rewritten only when its text changes
// (so an unchanged build recompiles nothing) and follows a new commit.
TEST(Provenance, BuildTimeGeneratorFollowsCommitsAndRewritesOnlyOnChange)
{
    if (!on_path("cmake") || !on_path("git")) GTEST_SKIP() << "cmake or git missing";
    std::string d = tmpdir(), out = d + "/v.c";
    std::string gen = "cmake -DSRC='" + d + "/src' -DOUT='" + out + "' -P '" + std::string(GHM_SOURCE_DIR) +
                      "/cmake/ghm_version.cmake' >/dev/null 2>&1";
    ASSERT_EQ(shell("mkdir -p '" + d + "/src' && echo a > '" + d + "/src/f'"), 0);
    ASSERT_EQ(shell(gen), 0); // a tarball: no .git
    EXPECT_NE(read_all(out).find("return \"unknown\";"), std::string::npos) << read_all(out);
    EXPECT_NE(read_all(out).find("return -1;"), std::string::npos);
    std::string g = "git -C '" + d + "/src' -c user.name=t -c user.email=t@t -c commit.gpgsign=false ";
    ASSERT_EQ(shell(g + "init -q && " + g + "add f && " + g + "commit -q -m one"), 0);
    std::string c1 = capture("git -C '" + d + "/src' rev-parse HEAD");
    ASSERT_EQ(c1.size(), 40u);
    ASSERT_EQ(shell(gen), 0);
    EXPECT_NE(read_all(out).find("return \"" + c1 + "\";"), std::string::npos) << read_all(out);
    EXPECT_NE(read_all(out).find("return 0;"), std::string::npos) << "clean tree";
    // unchanged: not rewritten (mtime kept; set it into the past to see it)
    ASSERT_EQ(shell("touch -d '2000-01-01' '" + out + "'"), 0);
    ASSERT_EQ(shell(gen), 0);
    struct stat st;
    ASSERT_EQ(stat(out.c_str(), &st), 0);
    EXPECT_LT(st.st_mtime, 1000000000) << "rewritten although nothing changed";
    // an edit of a tracked file: dirty
    ASSERT_EQ(shell("echo b > '" + d + "/src/f'"), 0);
    ASSERT_EQ(shell(gen), 0);
    EXPECT_NE(read_all(out).find("return 1;"), std::string::npos) << read_all(out);
    // a new commit: the new hash, clean again
    ASSERT_EQ(shell(g + "commit -q -am two"), 0);
    std::string c2 = capture("git -C '" + d + "/src' rev-parse HEAD");
    ASSERT_NE(c1, c2);
    ASSERT_EQ(shell(gen), 0);
    EXPECT_NE(read_all(out).find("return \"" + c2 + "\";"), std::string::npos) << read_all(out);
    EXPECT_NE(read_all(out).find("return 0;"), std::string::npos);
    rmrf(d);
}

} // namespace
