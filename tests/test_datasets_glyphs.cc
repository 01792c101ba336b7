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

#include "test_util.h"

namespace {

using ghm_test::read_all;

const char *kDejaVuDir = "/usr/share/fonts/truetype/dejavu/";
const char *kFaces[6] = {"DejaVuSans.ttf",      "DejaVuSans-Bold.ttf",  "DejaVuSerif.ttf",
                         "DejaVuSerif-Bold.ttf", "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf"};
// '0', 'A', 'B', 'a', 'g', Cyrillic Zhe, and a CJK ideograph DejaVu does not have
const uint32_t kChars[7] = {0x30, 0x41, 0x42, 0x61, 0x67, 0x416, 0x4E00};

struct TempDir {
    std::string path;
    TempDir()
    {
        char tmpl[] = "/tmp/ghm_test_glyphs_XXXXXX";
        const char *p = mkdtemp(tmpl);
        path = p ? p : "";
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string operator/(const std::string &name) const { return path + "/" + name; }
};

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

    // kept as a face of its own, every image of the copy is an exact duplicate: dropped,
    // and the face, adding nothing, is not counted
    opts.keep_same_name_faces = 1;
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
        {std::string(good).replace(good.find("ghm-glyphs-1"), 12, "ghm-glyphs-9"), "not a glyphs manifest"},
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
