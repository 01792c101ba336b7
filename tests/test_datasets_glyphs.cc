// The glyphs dataset: the character set and its homoglyph rule, the font list
// reader, rendering from the six faces of fonts-dejavu-core (installed by ./ghm
// as a test dependency): missing glyphs skipped, duplicates dropped, faces in a
// stable order, the IDX + manifest cache round trip, and broken cache files.
#include <gtest/gtest.h>

extern "C" {
#include "datasets/dataset.h"
#include "datasets/glyphs.h"
}

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <sys/wait.h>

#include "test_util.h"

namespace {

using ghm_test::TempDir;

using ghm_test::read_all;

const char *kDejaVuDir = "/usr/share/fonts/truetype/dejavu/";
const char *kFaces[6] = {"DejaVuSans.ttf",      "DejaVuSans-Bold.ttf",  "DejaVuSerif.ttf",
                         "DejaVuSerif-Bold.ttf", "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf"};
// '0', 'A', 'B', 'a', 'g', Cyrillic Zhe, and a CJK ideograph DejaVu does not have
const uint32_t kChars[7] = {0x30, 0x41, 0x42, 0x61, 0x67, 0x416, 0x4E00};

void spit(const std::string &path, const std::string &data)
{
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f << data;
}

std::vector<ghm_font_entry> dejavu(int n = 6)
{
    std::vector<ghm_font_entry> v;
    for (int i = 0; i < n; i++) {
        ghm_font_entry e;
        memset(&e, 0, sizeof e);
        snprintf(e.package, sizeof e.package, "fonts-dejavu-core");
        snprintf(e.version, sizeof e.version, "test");
        snprintf(e.path, sizeof e.path, "%s%s", kDejaVuDir, kFaces[i]);
        v.push_back(e);
    }
    return v;
}

class Glyphs : public ::testing::Test {
  protected:
    void SetUp() override
    {
        for (const char *f : kFaces)
            ASSERT_TRUE(std::filesystem::exists(std::string(kDejaVuDir) + f))
                << kDejaVuDir << f << " is missing: install the Debian package fonts-dejavu-core (./ghm does)";
        ghm_glyphs_opts_default(&opts);
        opts.chars = kChars;
        opts.n_chars = 7;
        ghm_error_clear(&err);
    }
    ghm_glyphs_opts opts;
    ghm_error err;
};

// ink bounding box of an S x S image: rows [r0, r1], cols [c0, c1]
void ink_box(const uint8_t *img, int S, int *r0, int *r1, int *c0, int *c1)
{
    *r0 = S, *r1 = -1, *c0 = S, *c1 = -1;
    for (int r = 0; r < S; r++)
        for (int c = 0; c < S; c++)
            if (img[r * S + c]) {
                *r0 = std::min(*r0, r), *r1 = std::max(*r1, r), *c0 = std::min(*c0, c), *c1 = std::max(*c1, c);
            }
}

}  // namespace

TEST(GlyphsCharset, AtLeast200ClassesInCodePointOrderWithoutHomoglyphs)
{
    const uint32_t *cs, *cand;
    int n = ghm_glyphs_charset(&cs), nc = ghm_glyphs_candidates(&cand);
    EXPECT_GE(n, 200);
    EXPECT_LE(n, GHM_MAX_CLASSES);
    for (int i = 1; i < n; i++) EXPECT_LT(cs[i - 1], cs[i]);
    EXPECT_EQ(nc - ghm_glyphs_homoglyph_count(), n);
    auto in_set = [&](uint32_t c) { return std::find(cs, cs + n, c) != cs + n; };
    // Latin, Greek, Cyrillic and digits are all there
    for (uint32_t c : {0x30u, 0x39u, 0x41u, 0x7Au, 0x3A9u, 0x3C9u, 0x416u, 0x44Fu}) EXPECT_TRUE(in_set(c)) << c;
    for (int i = 0; i < ghm_glyphs_homoglyph_count(); i++) {
        uint32_t d = 0, k = 0;
        ASSERT_TRUE(ghm_glyphs_homoglyph_at(i, &d, &k));
        EXPECT_FALSE(in_set(d)) << "dropped U+" << std::hex << d << " is a class";
        EXPECT_TRUE(in_set(k)) << "U+" << std::hex << d << " duplicates U+" << k << ", which is no class";
        EXPECT_LT(k, d) << "the earlier code point is the one kept";
    }
    uint32_t d, k;
    EXPECT_FALSE(ghm_glyphs_homoglyph_at(ghm_glyphs_homoglyph_count(), &d, &k));
    // glyphs v2 (issue 25): pairs drawn alike up to a pixel are never two classes: kappa / ka, Phi / Ef,
    // K / Ka, v / nu, 3 / Ze, and n / pe, r / ghe (italic look-alikes that straddled the script split)
    for (auto pr : std::vector<std::pair<uint32_t, uint32_t>>{{0x3BA, 0x43A}, {0x3A6, 0x424}, {0x4B, 0x41A},
                                                              {0x76, 0x3BD}, {0x33, 0x417}, {0x6E, 0x43F},
                                                              {0x72, 0x433}, {0x70, 0x3C1}})
        EXPECT_FALSE(in_set(pr.first) && in_set(pr.second)) << std::hex << pr.first << " " << pr.second;
    // Latin A kept, Greek Alpha and Cyrillic A left out
    EXPECT_TRUE(in_set(0x41));
    EXPECT_FALSE(in_set(0x391));
    EXPECT_FALSE(in_set(0x410));
    char b[8];
    EXPECT_STREQ(ghm_glyphs_utf8(0x416, b), "\xD0\x96");
    EXPECT_STREQ(ghm_glyphs_utf8(0x20AC, b), "\xE2\x82\xAC");
}

TEST(GlyphsFontList, ReadsValidAndRejectsBrokenLines)
{
    TempDir t;
    spit(t / "ok.tsv", "# comment\n\nfonts-a\t1.0\t/x/a.ttf\r\nfonts-b\t2\t/x/b.otf");
    ghm_font_entry *v = nullptr;
    int n = 0;
    ghm_error err;
    ASSERT_EQ(ghm_glyphs_read_font_list((t / "ok.tsv").c_str(), &v, &n, &err), 0) << err.msg;
    ASSERT_EQ(n, 2);
    EXPECT_STREQ(v[0].package, "fonts-a");
    EXPECT_STREQ(v[0].path, "/x/a.ttf");
    EXPECT_STREQ(v[1].version, "2");
    free(v);

    struct Case {
        const char *text, *expect;
    } cases[] = {
        {"fonts-a\t1.0\t/x/a.ttf\nfonts-b /x/b.ttf\n", ":2: expected three tab-separated fields"},
        {"fonts-a\t1.0\t/x/a.ttf\textra\n", ":1: expected three"},
        {"fonts-a\t\t/x/a.ttf\n", ":1: empty version"},
        {"# only a comment\n", "no font files listed"},
        {"", "no font files listed"},
    };
    for (const Case &c : cases) {
        spit(t / "bad.tsv", c.text);
        v = nullptr;
        EXPECT_EQ(ghm_glyphs_read_font_list((t / "bad.tsv").c_str(), &v, &n, &err), GHM_EINPUT) << c.text;
        EXPECT_NE(strstr(err.msg, c.expect), nullptr) << err.msg;
        EXPECT_NE(strstr(err.msg, "bad.tsv"), nullptr) << err.msg;
        EXPECT_EQ(v, nullptr);
    }
    spit(t / "nul.tsv", std::string("a\tb\t/c\0d\n", 9));
    EXPECT_EQ(ghm_glyphs_read_font_list((t / "nul.tsv").c_str(), &v, &n, &err), GHM_EINPUT);
    EXPECT_NE(strstr(err.msg, "NUL"), nullptr) << err.msg;
    EXPECT_NE(ghm_glyphs_read_font_list((t / "absent.tsv").c_str(), &v, &n, &err), 0);
}

// Issue 23 item 4: a font list or font file that is no regular file (a directory,
// /dev/zero) is refused at once, naming it, instead of being read for ever.
TEST(GlyphsFontList, RefusesNonRegularFilesNamingThem)
{
    TempDir t;
    ghm_font_entry *v = nullptr;
    int n = 0;
    ghm_error err;
    for (const std::string &bad : {std::string("/dev/zero"), t.path}) {
        ghm_error_clear(&err);
        EXPECT_EQ(ghm_glyphs_read_font_list(bad.c_str(), &v, &n, &err), GHM_EINPUT) << bad;
        EXPECT_NE(strstr(err.msg, bad.c_str()), nullptr) << err.msg;
        EXPECT_NE(strstr(err.msg, "not a regular file"), nullptr) << err.msg;
        EXPECT_EQ(v, nullptr);
        char hex[65];
        EXPECT_EQ(ghm_glyphs_sha256_file(bad.c_str(), hex, &err), GHM_EINPUT) << bad;
        EXPECT_NE(strstr(err.msg, bad.c_str()), nullptr) << err.msg;
    }
    // a font list naming /dev/zero as a font: the renderer refuses it (it used to hash it for ever)
    ghm_font_entry e;
    memset(&e, 0, sizeof e);
    snprintf(e.package, sizeof e.package, "p");
    snprintf(e.version, sizeof e.version, "1");
    snprintf(e.path, sizeof e.path, "/dev/zero");
    ghm_glyph_set s;
    ghm_error_clear(&err);
    EXPECT_EQ(ghm_glyphs_render(&e, 1, nullptr, &s, &err), GHM_EINPUT);
    EXPECT_NE(strstr(err.msg, "/dev/zero"), nullptr) << err.msg;
    // a list larger than the cap is refused by its size, before it is read
    {
        std::ofstream f(t / "huge.tsv", std::ios::binary);
        f.seekp(GHM_GLYPHS_MAX_LIST_BYTES);
        f.put('\n');
    }
    EXPECT_EQ(ghm_glyphs_read_font_list((t / "huge.tsv").c_str(), &v, &n, &err), GHM_EINPUT);
    EXPECT_NE(strstr(err.msg, "huge.tsv"), nullptr) << err.msg;
    // an output "directory" that is a file (or lies below one) is bad input, not a run failure
    spit(t / "file", "x");
    EXPECT_EQ(ghm_glyphs_check_out_dir((t / "file").c_str(), &err), GHM_EINPUT);
    EXPECT_NE(strstr(err.msg, "not a directory"), nullptr) << err.msg;
    EXPECT_EQ(ghm_glyphs_check_out_dir((t / "file/sub").c_str(), &err), GHM_EINPUT);
    EXPECT_EQ(ghm_glyphs_check_out_dir((t / "new").c_str(), &err), 0);
}

// Issue 23 items 4 and 12 through the CLI: exit 2 (bad input), quickly, naming the file.
TEST(GlyphsCli, BuildGlyphsBadPathsExitTwo)
{
    if (!std::filesystem::exists(GHM_BINARY)) GTEST_SKIP() << "ghm binary not built";
    TempDir t;
    spit(t / "list.tsv", std::string("fonts-dejavu-core\t1\t") + kDejaVuDir + "DejaVuSans.ttf\n");
    spit(t / "file", "x");
    struct Case {
        std::string args, expect;
    } cases[] = {
        {"/dev/zero " + (t / "o"), "/dev/zero: not a regular file"},
        {t.path + " " + (t / "o"), "not a regular file"},
        {(t / "list.tsv") + " " + (t / "file"), "not a directory"},
    };
    for (const Case &c : cases) {
        std::string cmd = std::string("timeout 20 ") + GHM_BINARY + " data build-glyphs " + c.args + " >'" +
                          (t / "out") + "' 2>'" + (t / "err") + "' </dev/null";
        int st = std::system(cmd.c_str());
        ASSERT_TRUE(WIFEXITED(st)) << cmd;
        EXPECT_EQ(WEXITSTATUS(st), 2) << cmd << "\n" << read_all(t / "err");
        EXPECT_NE(read_all(t / "err").find(c.expect), std::string::npos) << read_all(t / "err");
    }
    EXPECT_FALSE(std::filesystem::exists(t / "o"));
}

TEST_F(Glyphs, SkipsMissingGlyphsAndCentresTheInk)
{
    auto fonts = dejavu();
    ghm_glyph_set s;
    ASSERT_EQ(ghm_glyphs_render(fonts.data(), 6, &opts, &s, &err), 0) << err.msg;
    EXPECT_EQ(s.n_faces, 6);
    EXPECT_EQ(s.size, 28);
    // DejaVu has no CJK ideograph: missing in all six faces, no image
    EXPECT_EQ(s.missing[6], 6);
    EXPECT_EQ(s.count[6], 0);
    for (int c = 0; c < 6; c++) {
        EXPECT_EQ(s.missing[c], 0) << c;
        EXPECT_EQ(s.count[c] + s.exact_dups[c], 6) << c;
    }
    int total = 0;
    for (int c = 0; c < 7; c++) total += s.count[c];
    EXPECT_EQ(s.n_images, total);
    for (int i = 0; i < s.n_images; i++) {
        const uint8_t *img = s.pixels + (size_t)i * 28 * 28;
        int r0, r1, c0, c1;
        ink_box(img, 28, &r0, &r1, &c0, &c1);
        ASSERT_GE(r1, 0) << "image " << i << " has no ink";
        // the ink box fits the 24-pixel box and is centred (to one pixel)
        EXPECT_LE(r1 - r0 + 1, 24);
        EXPECT_LE(c1 - c0 + 1, 24);
        EXPECT_LE(std::abs(r0 - (27 - r1)), 1) << i;
        EXPECT_LE(std::abs(c0 - (27 - c1)), 1) << i;
        EXPECT_TRUE(i == 0 || s.labels[i] >= s.labels[i - 1]) << "class-major order";
    }
    // the same scale for every character of a face: capital A is taller than small a
    int ia = -1, ilower = -1;
    for (int i = 0; i < s.n_images; i++) {
        if (s.labels[i] == 1 && s.face_of[i] == 0) ia = i;
        if (s.labels[i] == 3 && s.face_of[i] == 0) ilower = i;
    }
    ASSERT_GE(ia, 0);
    ASSERT_GE(ilower, 0);
    int r0, r1, c0, c1, q0, q1;
    ink_box(s.pixels + (size_t)ia * 784, 28, &r0, &r1, &c0, &c1);
    ink_box(s.pixels + (size_t)ilower * 784, 28, &q0, &q1, &c0, &c1);
    EXPECT_GE(r1 - r0 + 1, 14) << "cap height is image_size / 2 (+ anti-aliasing)";
    EXPECT_LE(r1 - r0 + 1, 15);
    EXPECT_LT(q1 - q0, r1 - r0);
    ghm_glyph_set_free(&s);
}

TEST_F(Glyphs, DropsExactDuplicatesAndSameFaces)
{
    TempDir t;
    // a copy with other bytes (a trailing pad FreeType ignores): same outlines, another file hash
    std::string sans = read_all(std::string(kDejaVuDir) + kFaces[0]);
    ASSERT_GT(sans.size(), 1000u);
    spit(t / "copy.ttf", sans + std::string(4, '\0'));
    spit(t / "same.ttf", sans);
    spit(t / "notafont.ttf", "this is not a font\n");
    auto fonts = dejavu(1);
    ghm_font_entry e = fonts[0];
    snprintf(e.path, sizeof e.path, "%s", (t / "copy.ttf").c_str());
    snprintf(e.package, sizeof e.package, "zz-copy");
    fonts.push_back(e);
    snprintf(e.path, sizeof e.path, "%s", (t / "same.ttf").c_str());
    fonts.push_back(e);
    snprintf(e.path, sizeof e.path, "%s", (t / "notafont.ttf").c_str());
    fonts.push_back(e);

    ghm_glyph_set s;
    // by default the copy is skipped: same family and style; same.ttf: same content
    ASSERT_EQ(ghm_glyphs_render(fonts.data(), (int)fonts.size(), &opts, &s, &err), 0) << err.msg;
    EXPECT_EQ(s.n_faces, 1);
    ASSERT_EQ(s.n_skipped, 3);
    std::string reasons;
    for (int i = 0; i < s.n_skipped; i++) reasons += std::string(s.skipped[i].reason) + "|";
    EXPECT_NE(reasons.find("same family and style"), std::string::npos) << reasons;
    EXPECT_NE(reasons.find("same content as DejaVuSans.ttf"), std::string::npos) << reasons;
    EXPECT_NE(reasons.find("FreeType cannot open"), std::string::npos) << reasons;
    ghm_glyph_set_free(&s);

    // kept as a face of its own, the copy is a clone (every image equal to DejaVu Sans's)
    opts.keep_same_name_faces = 1;
    ASSERT_EQ(ghm_glyphs_render(fonts.data(), (int)fonts.size(), &opts, &s, &err), 0) << err.msg;
    EXPECT_EQ(s.n_faces, 1);
    reasons.clear();
    for (int i = 0; i < s.n_skipped; i++) reasons += std::string(s.skipped[i].reason) + "|";
    EXPECT_NE(reasons.find("clone of DejaVu Sans Book (DejaVuSans.ttf): 6 of 6 shared characters"), std::string::npos)
        << reasons;
    ghm_glyph_set_free(&s);
    // without the clone rule, every image of the copy is an exact duplicate: dropped, and the face,
    // adding nothing, is not counted
    opts.keep_clones = 1;
    ASSERT_EQ(ghm_glyphs_render(fonts.data(), (int)fonts.size(), &opts, &s, &err), 0) << err.msg;
    EXPECT_EQ(s.n_faces, 1);
    for (int c = 0; c < 6; c++) {
        EXPECT_EQ(s.count[c], 1) << c;
        EXPECT_EQ(s.exact_dups[c], 1) << c;
    }
    reasons.clear();
    for (int i = 0; i < s.n_skipped; i++) reasons += std::string(s.skipped[i].reason) + "|";
    EXPECT_NE(reasons.find("every image equals one of an earlier face"), std::string::npos) << reasons;
    ghm_glyph_set_free(&s);

    // nothing usable at all is an input error
    std::vector<ghm_font_entry> bad(1, fonts.back());
    EXPECT_EQ(ghm_glyphs_render(bad.data(), 1, &opts, &s, &err), GHM_EINPUT);
    EXPECT_NE(strstr(err.msg, "usable face"), nullptr) << err.msg;
    // an absent file names itself
    snprintf(bad[0].path, sizeof bad[0].path, "%s", (t / "absent.ttf").c_str());
    EXPECT_EQ(ghm_glyphs_render(bad.data(), 1, &opts, &s, &err), GHM_EINPUT);
    EXPECT_NE(strstr(err.msg, "absent.ttf"), nullptr) << err.msg;
    // characters out of order
    uint32_t backwards[2] = {0x42, 0x41};
    opts.chars = backwards;
    opts.n_chars = 2;
    EXPECT_EQ(ghm_glyphs_render(fonts.data(), 1, &opts, &s, &err), GHM_EINPUT);
}

TEST_F(Glyphs, DeterministicWhateverTheListOrder)
{
    auto fonts = dejavu();
    ghm_glyph_set a, b;
    ASSERT_EQ(ghm_glyphs_render(fonts.data(), 6, &opts, &a, &err), 0) << err.msg;
    std::reverse(fonts.begin(), fonts.end());
    std::swap(fonts[1], fonts[4]);
    ASSERT_EQ(ghm_glyphs_render(fonts.data(), 6, &opts, &b, &err), 0) << err.msg;
    ASSERT_EQ(a.n_images, b.n_images);
    ASSERT_EQ(a.n_faces, b.n_faces);
    for (int f = 0; f < a.n_faces; f++) {
        EXPECT_STREQ(a.faces[f].path, b.faces[f].path);
        EXPECT_STREQ(a.faces[f].sha256, b.faces[f].sha256);
    }
    EXPECT_EQ(memcmp(a.pixels, b.pixels, (size_t)a.n_images * 784), 0);
    EXPECT_EQ(memcmp(a.labels, b.labels, sizeof(int) * (size_t)a.n_images), 0);
    // faces sorted by (package, file): DejaVuSans-Bold.ttf sorts before DejaVuSans.ttf
    EXPECT_NE(strstr(a.faces[0].path, "DejaVuSans-Bold.ttf"), nullptr) << a.faces[0].path;
    ghm_glyph_set_free(&a);
    ghm_glyph_set_free(&b);
}

class GlyphsCache : public Glyphs {
  protected:
    void SetUp() override
    {
        Glyphs::SetUp();
        auto fonts = dejavu();
        ASSERT_EQ(ghm_glyphs_render(fonts.data(), 6, &opts, &set, &err), 0) << err.msg;
        dir = t / "glyphs";
        ASSERT_EQ(ghm_glyphs_write(&set, dir.c_str(), hash, &err), 0) << err.msg;
    }
    void TearDown() override { ghm_glyph_set_free(&set); }
    int load(ghm_dataset *d, int image_size = 28)
    {
        ghm_dataset_opts o;
        ghm_dataset_opts_default(&o);
        o.name = "glyphs";
        o.path = dir.c_str();
        o.image_size = image_size;
        return ghm_dataset_load(&o, d, &err);
    }
    TempDir t;
    std::string dir;
    ghm_glyph_set set;
    char hash[65];
};

TEST_F(GlyphsCache, RoundTripsThroughIdxAndManifest)
{
    ghm_dataset d;
    ASSERT_EQ(load(&d), 0) << err.msg;
    EXPECT_EQ(d.n_classes, 7);
    EXPECT_STREQ(d.class_names[1], "U+0041 A");
    EXPECT_STREQ(d.class_names[5], "U+0416 \xD0\x96");
    EXPECT_EQ(std::string(d.manifest), std::string("sha256:") + hash);
    char file_hash[65];
    ASSERT_EQ(ghm_glyphs_sha256_file((dir + "/manifest.json").c_str(), file_hash, &err), 0);
    EXPECT_STREQ(file_hash, hash);
    EXPECT_EQ(d.train.n + d.test.n, set.n_images);
    EXPECT_EQ(d.train.h, 28);
    EXPECT_EQ(d.train.c, 1);
    // per class, every sixth image in face order is a test image; pixels unchanged
    int ti = 0, si = 0;
    for (int i = 0, k = 0; i < set.n_images; i++) {
        k = (i > 0 && set.labels[i] == set.labels[i - 1]) ? k + 1 : 0;
        const ghm_images &part = k % 6 == 5 ? d.test : d.train;
        int &j = k % 6 == 5 ? si : ti;
        ASSERT_LT(j, part.n);
        EXPECT_EQ(part.labels[j], set.labels[i]);
        EXPECT_EQ(memcmp(part.pixels + (size_t)j * 784, set.pixels + (size_t)i * 784, 784), 0) << i;
        j++;
    }
    EXPECT_EQ(ti, d.train.n);
    EXPECT_EQ(si, d.test.n);
    EXPECT_GT(d.test.n, 0);
    ghm_dataset_free(&d);

    // the manifest names packages, faces with hashes, per-class counts
    std::string m = read_all(dir + "/manifest.json");
    for (const char *key : {"\"fonts-dejavu-core\"", "\"sha256\"", "\"missing\": 6", "\"exact_duplicates\"",
                            "\"near_duplicates\"", "\"U+4E00\"", "\"homoglyphs_left_out\"", "\"faces\": 6"})
        EXPECT_NE(m.find(key), std::string::npos) << key;

    // a second write of the same set is byte-identical (deterministic gzip, no time stamps)
    char hash2[65];
    ASSERT_EQ(ghm_glyphs_write(&set, (t / "again").c_str(), hash2, &err), 0) << err.msg;
    EXPECT_STREQ(hash, hash2);
    EXPECT_EQ(read_all(dir + "/train-images-idx3-ubyte.gz"), read_all(t / "again/train-images-idx3-ubyte.gz"));
}

TEST_F(GlyphsCache, RejectsBrokenManifestsAndFiles)
{
    ghm_dataset d;
    const std::string mpath = dir + "/manifest.json", good = read_all(mpath);
    struct Case {
        std::string text;
        const char *expect;
    } cases[] = {
        {good.substr(0, good.size() / 2), "manifest.json"},                        // truncated JSON
        {"", "manifest.json"},                                                     // empty
        {"[1, 2]", "not a glyphs manifest"},                                       // wrong shape
        {std::string(good).replace(good.find("ghm-glyphs-2"), 12, "ghm-glyphs-9"), "not a glyphs manifest"},
        {std::string(good).replace(good.find("ghm-glyphs-2"), 12, "ghm-glyphs-1"), "rebuild it with"},  // retired
        {std::string(good).replace(good.find("\"family_id\": "), 14, "\"family_id\": 9"), "faces[0].family_id"},
        {std::string(good).replace(good.find("\"families\": ["), good.find("]", good.find("\"families\": [")) + 1 -
                                                                  good.find("\"families\": ["),
                                   "\"families\": []"),
         "faces / families"},
        {std::string(good).replace(good.find("\"image_size\": 28"), 16, "\"image_size\": 2.5"), "image_size"},
        {std::string(good).replace(good.find("\"codepoint\": \"U+0030\""), 21, "\"codepoint\": \"X+0030\""),
         "classes[0].codepoint"},
        {std::string(good).replace(good.find("\"train\": "), 9, "\"train\": 1"), "has"},  // counts disagree
        {std::string(good).replace(good.find("\"train-images-idx3-ubyte.gz\": \"") + 31, 1, "g"), "SHA-256"},
    };
    for (const Case &c : cases) {
        spit(mpath, c.text);
        EXPECT_EQ(load(&d), GHM_EINPUT) << c.expect;
        EXPECT_NE(strstr(err.msg, c.expect), nullptr) << err.msg;
    }
    spit(mpath, good);
    ASSERT_EQ(load(&d), 0) << err.msg;
    ghm_dataset_free(&d);

    // another image size than the experiment's
    EXPECT_EQ(load(&d, 32), GHM_EINPUT);
    EXPECT_NE(strstr(err.msg, "image_size 32"), nullptr) << err.msg;

    // an IDX file changed, truncated, or gone
    const std::string ip = dir + "/t10k-images-idx3-ubyte.gz", img = read_all(ip);
    std::string flipped = img;
    flipped[flipped.size() / 2] ^= 0x40;
    for (const std::string &bad : {flipped, img.substr(0, img.size() - 7)}) {
        spit(ip, bad);
        EXPECT_EQ(load(&d), GHM_EINPUT);
        EXPECT_NE(strstr(err.msg, "t10k-images-idx3-ubyte.gz: its SHA-256 differs"), nullptr) << err.msg;
    }
    std::filesystem::remove(ip);
    EXPECT_EQ(load(&d), GHM_EINPUT);
    EXPECT_NE(strstr(err.msg, "t10k-images-idx3-ubyte.gz"), nullptr) << err.msg;

    // no manifest at all: says how to build it
    std::filesystem::remove(mpath);
    EXPECT_EQ(load(&d), GHM_EINPUT);
    EXPECT_NE(strstr(err.msg, "./ghm data get glyphs"), nullptr) << err.msg;
}

// The sidecars: a face id and a family id per image, in IDX order; the loader
// hands the family to every image (and the split to every subset), and refuses
// a changed, truncated or inconsistent sidecar naming file and line.
TEST_F(GlyphsCache, SidecarRoundTripAndCorruption)
{
    ghm_dataset d;
    ASSERT_EQ(load(&d), 0) << err.msg;
    ASSERT_NE(d.train.groups, nullptr);
    ASSERT_NE(d.test.groups, nullptr);
    int ti = 0, si = 0;
    for (int i = 0, k = 0; i < set.n_images; i++) {
        k = (i > 0 && set.labels[i] == set.labels[i - 1]) ? k + 1 : 0;
        int fam = set.faces[set.face_of[i]].family_id;
        if (k % 6 == 5) EXPECT_EQ(d.test.groups[si++], fam) << i;
        else EXPECT_EQ(d.train.groups[ti++], fam) << i;
    }
    // the six DejaVu faces are one design family
    EXPECT_EQ(set.n_families, 1);
    EXPECT_STREQ(set.families[0], "DejaVu");
    // a split carries the groups into its subsets
    ghm_split_opts so;
    ghm_split_opts_default(&so);
    so.protocol = GHM_SPLIT_CLASSES;
    ghm_split sp;
    ASSERT_EQ(ghm_split_make(&d, &so, &sp, &err), 0) << err.msg;
    ASSERT_NE(sp.test.img.groups, nullptr);
    for (int i = 0; i < sp.test.img.n; i++) EXPECT_EQ(sp.test.img.groups[i], 0);
    ghm_split_free(&sp);
    ghm_dataset_free(&d);

    const std::string mpath = dir + "/manifest.json", good = read_all(mpath);
    const std::string sc = dir + "/t10k-faces.txt", side = read_all(sc);
    ASSERT_EQ(side.rfind("ghm-glyphs-faces-1 ", 0), 0u) << side.substr(0, 40);
    // changed without the manifest knowing: the hash check names the file
    spit(sc, side + "0 0\n");
    EXPECT_EQ(load(&d), GHM_EINPUT);
    EXPECT_NE(strstr(err.msg, "t10k-faces.txt: its SHA-256 differs"), nullptr) << err.msg;
    // changed and re-hashed into the manifest: the parser names file and line
    const size_t first_nl = side.find('\n'), second_nl = side.find('\n', first_nl + 1);
    struct Case {
        std::string text, expect;
    } cases[] = {
        {side.substr(0, side.size() - 4), "t10k-faces.txt:"},                            // truncated
        {side + "0 0\n", "more lines than"},                                           // one too many
        {"ghm-glyphs-faces-1 1\n0 0\n", "t10k-faces.txt:1: expected"},                 // wrong count
        {side.substr(0, first_nl + 1) + "99 0" + side.substr(second_nl), "t10k-faces.txt:2: expected a face id"},
        {side.substr(0, first_nl + 1) + "0 5" + side.substr(second_nl), "t10k-faces.txt:2: expected the family id"},
        {"", "t10k-faces.txt:1"},
    };
    char old_hash[65], new_hash[65];
    ASSERT_EQ(ghm_glyphs_sha256_file(sc.c_str(), old_hash, &err), 0);
    spit(sc, side);
    ASSERT_EQ(ghm_glyphs_sha256_file(sc.c_str(), old_hash, &err), 0);
    for (const Case &c : cases) {
        spit(sc, c.text);
        ASSERT_EQ(ghm_glyphs_sha256_file(sc.c_str(), new_hash, &err), 0);
        std::string m = good;
        size_t at = m.find(old_hash);
        ASSERT_NE(at, std::string::npos);
        m.replace(at, 64, new_hash);
        spit(mpath, m);
        EXPECT_EQ(load(&d), GHM_EINPUT) << c.expect;
        EXPECT_NE(strstr(err.msg, c.expect.c_str()), nullptr) << err.msg;
    }
    spit(sc, side);
    spit(mpath, good);
    ASSERT_EQ(load(&d), 0) << err.msg;
    ghm_dataset_free(&d);
    // a sidecar that is a directory or gone names itself
    std::filesystem::remove(sc);
    EXPECT_EQ(load(&d), GHM_EINPUT);
    EXPECT_NE(strstr(err.msg, "t10k-faces.txt"), nullptr) << err.msg;
}

// The manifest lists every decision: rules and thresholds, families, both class
// splits (the random one equal to ghm_glyphs_random_split with the documented seed).
TEST_F(GlyphsCache, ManifestListsRulesFamiliesAndBothSplits)
{
    std::string m = read_all(dir + "/manifest.json");
    for (const char *key : {"\"format\": \"ghm-glyphs-2\"", "\"clone_level\": 1", "\"clone_fraction\": 0.2",
                            "\"faint_peak\": 128", "\"min_ink_px\": 5", "\"shift_level_percent\": 10",
                            "\"families\": [", "\"family_id\": 0", "\"class_splits\"", "\"random_seed\": 25",
                            "\"train-faces.txt\"", "\"t10k-faces.txt\"", "\"alike_by_shift_test\""})
        EXPECT_NE(m.find(key), std::string::npos) << key;
    int tr[GHM_MAX_CLASSES], tr2[GHM_MAX_CLASSES];
    ghm_glyphs_random_split(232, GHM_GLYPHS_SPLIT_SEED, tr);
    ghm_glyphs_random_split(232, GHM_GLYPHS_SPLIT_SEED, tr2);
    int ones = 0, first_half = 0;
    for (int c = 0; c < 232; c++) {
        EXPECT_EQ(tr[c], tr2[c]);
        ones += tr[c];
        first_half += c < 116 && tr[c];
    }
    EXPECT_EQ(ones, 116);
    EXPECT_GT(first_half, 30);  // a mix of both halves, not the script split
    EXPECT_LT(first_half, 86);
    // the 7 classes of this set: the random split in the manifest is ghm_glyphs_random_split's
    ghm_glyphs_random_split(7, GHM_GLYPHS_SPLIT_SEED, tr);
    std::string want = "\"random\": [";
    for (int c = 0, k = 0; c < 7; c++)
        if (tr[c]) want += std::string(k++ ? ", " : "") + std::to_string(c);
    std::string compact;
    for (char ch : m.substr(m.find("\"random\": ["), 60))
        if (ch != '\n' && (ch != ' ' || (!compact.empty() && (compact.back() == ':' || compact.back() == ','))))
            compact += ch;
    EXPECT_EQ(compact.rfind(want, 0), 0u) << compact << " vs " << want;
}

// The clone rule on faces: an exact copy is a clone; DejaVu Sans, Serif and Mono
// (other designs of one family) and Bold (another weight) are not.
TEST_F(Glyphs, CloneRuleKeepsDistinctFacesAndDropsCopies)
{
    TempDir t;
    std::string serif = read_all(std::string(kDejaVuDir) + kFaces[2]);
    spit(t / "serif-copy.ttf", serif + std::string(8, '\0'));
    auto fonts = dejavu();
    ghm_font_entry e = fonts[2];
    snprintf(e.package, sizeof e.package, "zz-clone");
    snprintf(e.path, sizeof e.path, "%s", (t / "serif-copy.ttf").c_str());
    fonts.push_back(e);
    opts.keep_same_name_faces = 1;
    ghm_glyph_set s;
    ASSERT_EQ(ghm_glyphs_render(fonts.data(), (int)fonts.size(), &opts, &s, &err), 0) << err.msg;
    EXPECT_EQ(s.n_faces, 6);
    ASSERT_EQ(s.n_skipped, 1);
    EXPECT_NE(strstr(s.skipped[0].path, "serif-copy.ttf"), nullptr);
    EXPECT_NE(strstr(s.skipped[0].reason, "clone of DejaVu Serif Book (DejaVuSerif.ttf)"), nullptr)
        << s.skipped[0].reason;
    ghm_glyph_set_free(&s);
    // at a clone fraction above 1 nothing is a clone... (1.0: all shared characters alike, still a clone)
    opts.clone_fraction = 1.0;
    ASSERT_EQ(ghm_glyphs_render(fonts.data(), (int)fonts.size(), &opts, &s, &err), 0) << err.msg;
    EXPECT_EQ(s.n_faces, 6);
    ghm_glyph_set_free(&s);
    opts.clone_fraction = 1.5;
    EXPECT_EQ(ghm_glyphs_render(fonts.data(), (int)fonts.size(), &opts, &s, &err), GHM_EINPUT);
}

// The shift-tolerant homoglyph test on a confusable pair: the same drawing moved
// by one pixel (Latin o in a face and itself shifted: simulated with Latin o and
// Cyrillic o, drawn alike in DejaVu) counts, A and B never do; the shift test
// counts every pair the strict test counts.
TEST_F(Glyphs, ShiftTolerantHomoglyphTest)
{
    const uint32_t chars[6] = {0x41, 0x42, 0x4B, 0x6F, 0x41A, 0x43E};
    opts.chars = chars;
    opts.n_chars = 6;
    auto fonts = dejavu();
    ghm_glyph_set s;
    ASSERT_EQ(ghm_glyphs_render(fonts.data(), 6, &opts, &s, &err), 0) << err.msg;
    auto at = [&](const int *m, int a, int b) { return m[a * 6 + b]; };
    for (int a = 0; a < 6; a++)
        for (int b = a + 1; b < 6; b++) EXPECT_GE(at(s.pair_shift, a, b), at(s.pair_near, a, b)) << a << " " << b;
    EXPECT_EQ(at(s.pair_shift, 0, 1), 0);                   // A, B
    EXPECT_EQ(at(s.pair_shift, 3, 5), at(s.pair_both, 3, 5)); // o, Cyrillic o: every face
    std::printf("K / Cyrillic Ka: strict %d, shift-tolerant %d of %d faces\n", at(s.pair_near, 2, 4),
                at(s.pair_shift, 2, 4), at(s.pair_both, 2, 4));
    EXPECT_GE(at(s.pair_shift, 2, 4), at(s.pair_near, 2, 4)); // K, Cyrillic Ka
    int a[8], b[8];
    double f[8];
    int np = ghm_glyphs_confusable_shift(&s, 0.5, 1, 8, a, b, f);
    bool has_o = false;
    for (int i = 0; i < np; i++) has_o |= a[i] == 3 && b[i] == 5;
    EXPECT_TRUE(has_o);
    ghm_glyph_set_free(&s);
}

// The shift-tolerant test on hand-made images: a confusable pair (one stroke
// and the same stroke a pixel wider and two pixels lower) is alike; the strict
// test (mean difference <= 1 grey level) does not see it; another shape is not.
TEST(GlyphsHomoglyphRule, ShiftTolerantOnHandMadeImages)
{
    const int S = 28;
    std::vector<uint8_t> a(S * S, 0), b(S * S, 0), c(S * S, 0);
    for (int r = 4; r < 24; r++)
        for (int x = 12; x < 15; x++) a[r * S + x] = 255;       // a vertical stroke, 3 wide
    for (int r = 6; r < 26; r++)
        for (int x = 12; x < 16; x++) b[r * S + x] = r == 6 ? 128 : 255; // 4 wide, 2 pixels lower
    for (int r = 12; r < 15; r++)
        for (int x = 4; x < 24; x++) c[r * S + x] = 255;        // a horizontal stroke
    long d = 0;
    for (int i = 0; i < S * S; i++) d += std::abs(a[i] - b[i]);
    EXPECT_GT(d, (long)S * S) << "the strict homoglyph test would not call them alike";
    EXPECT_EQ(ghm_glyphs_alike_shifted(a.data(), b.data(), S, 10), 0) << "4 wide vs 3: more than 10% of the ink";
    EXPECT_EQ(ghm_glyphs_alike_shifted(a.data(), b.data(), S, 40), 1);
    EXPECT_EQ(ghm_glyphs_alike_shifted(a.data(), a.data(), S, 0), 1);
    EXPECT_EQ(ghm_glyphs_alike_shifted(a.data(), c.data(), S, 40), 0);
    // the same stroke moved by two pixels only (one at half resolution): alike at 10%
    std::vector<uint8_t> m(S * S, 0);
    for (int r = 6; r < 26; r++)
        for (int x = 14; x < 17; x++) m[r * S + x] = 255;
    EXPECT_EQ(ghm_glyphs_alike_shifted(a.data(), m.data(), S, 10), 1);
    EXPECT_EQ(ghm_glyphs_alike_shifted(a.data(), m.data(), S, 0), 1);
}
