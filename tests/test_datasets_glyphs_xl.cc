// glyphs-xl's pipeline on small hand-made font lists: the shared clone rule
// (a copy of a face is dropped), the xl homoglyph rule (a confusable pair: the
// later class is left out, reason listed), the faces / families rule, the
// seeded class order, the manifest round trip through the `glyphs-xl` loader,
// the candidate selection by character-map coverage, and the CJK family keys.
#include <gtest/gtest.h>

extern "C" {
#include "datasets/dataset.h"
#include "datasets/glyphs.h"
#include "datasets/png.h"
}

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "test_util.h"

namespace {

using ghm_test::TempDir;

using ghm_test::read_all;

const char *kDejaVuDir = "/usr/share/fonts/truetype/dejavu/";
const char *kFaces[6] = {"DejaVuSans.ttf",      "DejaVuSans-Bold.ttf",  "DejaVuSerif.ttf",
                         "DejaVuSerif-Bold.ttf", "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf"};

ghm_font_entry entry(const char *pkg, const std::string &path)
{
    ghm_font_entry e;
    memset(&e, 0, sizeof e);
    snprintf(e.package, sizeof e.package, "%s", pkg);
    snprintf(e.version, sizeof e.version, "test");
    snprintf(e.path, sizeof e.path, "%s", path.c_str());
    return e;
}

// DejaVu's six faces plus a byte-for-byte copy of DejaVu Serif under another name (a clone)
std::vector<ghm_font_entry> fonts_with_clone(const TempDir &t)
{
    std::vector<ghm_font_entry> v;
    for (const char *f : kFaces) v.push_back(entry("fonts-dejavu-core", std::string(kDejaVuDir) + f));
    std::string serif = read_all(std::string(kDejaVuDir) + "DejaVuSerif.ttf");
    std::ofstream(t / "serif-copy.ttf", std::ios::binary) << serif << std::string(8, '\0');
    v.push_back(entry("zz-clone", t / "serif-copy.ttf"));
    return v;
}

// A, B, K, o, Cyrillic Ka, Cyrillic o (confusable with Latin o in every DejaVu face), an ideograph DejaVu lacks
const uint32_t kChars[7] = {0x41, 0x42, 0x4B, 0x6F, 0x41A, 0x43E, 0x4E00};

class GlyphsXl : public ::testing::Test {
  protected:
    void SetUp() override
    {
        for (const char *f : kFaces)
            ASSERT_TRUE(std::filesystem::exists(std::string(kDejaVuDir) + f))
                << kDejaVuDir << f << " is missing: install the Debian package fonts-dejavu-core (./ghm does)";
        ghm_glyphs_xl_opts(&opts);
        static const uint32_t refs[1] = {0x48}; // DejaVu has no ideograph: scale by H
        opts.scale_refs = refs;
        opts.n_scale_refs = 1;
        opts.keep_same_name_faces = 1; // the copy keeps its name: only the clone rule may drop it
        opts.chars = kChars;
        opts.n_chars = 7;
        EXPECT_EQ(opts.clone_min_shared, 100);
        opts.clone_min_shared = 1; // 7 characters: no two faces share xl's 100 (tested below)
        ghm_error_clear(&err);
    }
    ghm_glyphs_opts opts;
    ghm_error err;
};

TEST_F(GlyphsXl, CloneAndHomoglyphRulesThenSeededOrderAndRoundTrip)
{
    TempDir t;
    auto fonts = fonts_with_clone(t);
    ghm_glyph_set s;
    ASSERT_EQ(ghm_glyphs_render(fonts.data(), (int)fonts.size(), &opts, &s, &err), 0) << err.msg;
    EXPECT_EQ(s.size, 32);
    EXPECT_EQ(s.cap_px, 24);
    // the clone rule (shared with glyphs): the copy is dropped, the six DejaVu faces stay
    EXPECT_EQ(s.n_faces, 6);
    ASSERT_EQ(s.n_skipped, 1);
    EXPECT_NE(strstr(s.skipped[0].reason, "clone of DejaVu Serif Book"), nullptr) << s.skipped[0].reason;
    // 3 design families by key: DejaVu only (one key) -> families rule with min 1
    EXPECT_EQ(s.n_families, 1);

    // the xl rules: Cyrillic o is alike Latin o in every face -> left out; the ideograph has no face;
    // everything else has at least 3 faces of 1 family
    ASSERT_EQ(ghm_glyphs_xl_finish(&s, 3, 1, 0.2, 25, &err), 0) << err.msg;
    std::set<uint32_t> kept(s.chars, s.chars + s.n_chars);
    EXPECT_EQ(kept.count(0x43E), 0u);
    EXPECT_EQ(kept.count(0x4E00), 0u);
    EXPECT_EQ(kept.count(0x6F), 1u);
    EXPECT_EQ(kept.count(0x41), 1u);
    EXPECT_EQ(kept.count(0x42), 1u);
    std::string left;
    for (int i = 0; i < s.n_left_out; i++) left += std::string(s.left_out[i]) + "\n";
    EXPECT_NE(left.find("U+043E \xD0\xBE: alike U+006F o in 6 of 6 faces"), std::string::npos) << left;
    EXPECT_NE(left.find("U+4E00 \xE4\xB8\x80: 0 faces of 0 families (needs 3 of 1)"), std::string::npos) << left;
    EXPECT_STREQ(s.set_name, "glyphs-xl");
    // labels follow the new class order, images class-major, one per face
    for (int i = 0; i < s.n_images; i++) {
        ASSERT_GE(s.labels[i], 0);
        ASSERT_LT(s.labels[i], s.n_chars);
        if (i) {
            ASSERT_GE(s.labels[i], s.labels[i - 1]);
        }
    }
    int total = 0;
    for (int c = 0; c < s.n_chars; c++) total += s.count[c];
    EXPECT_EQ(total, s.n_images);
    // the same seed gives the same order; the order is a permutation of the kept classes
    std::vector<uint32_t> order(s.chars, s.chars + s.n_chars);

    ASSERT_EQ(ghm_glyphs_write(&s, (t / "xl").c_str(), nullptr, &err), 0) << err.msg;
    std::string m = read_all(t / "xl/manifest.json");
    for (const char *key : {"\"set\": \"glyphs-xl\"", "\"class_order_seed\": 25", "\"classes_left_out\"", "U+043E"})
        EXPECT_NE(m.find(key), std::string::npos) << key;

    // round trip through the glyphs-xl loader; the plain glyphs loader refuses the set
    ghm_dataset_opts o;
    ghm_dataset_opts_default(&o);
    o.name = "glyphs-xl";
    std::string dir = t / "xl";
    o.path = dir.c_str();
    ghm_dataset *d = new ghm_dataset;
    ASSERT_EQ(ghm_dataset_load(&o, d, &err), 0) << err.msg;
    EXPECT_EQ(d->n_classes, s.n_chars);
    EXPECT_EQ(d->train.h, 32);
    EXPECT_EQ(d->train.n + d->test.n, s.n_images);
    for (int c = 0; c < d->n_classes; c++) {
        char want[32], u8[8];
        snprintf(want, sizeof want, "U+%04X %s", (unsigned)order[c], ghm_glyphs_utf8(order[c], u8));
        EXPECT_STREQ(d->class_names[c], want);
    }
    ASSERT_NE(d->train.groups, nullptr);
    ghm_dataset_free(d);
    o.name = "glyphs";
    EXPECT_EQ(ghm_dataset_load(&o, d, &err), GHM_EINPUT);
    EXPECT_NE(strstr(err.msg, "a manifest of the set 'glyphs-xl', not of 'glyphs'"), nullptr) << err.msg;
    delete d;

    // a second build with the same seed: the same order; another seed: another order (5 classes: 120 orders)
    ghm_glyph_set s2;
    ASSERT_EQ(ghm_glyphs_render(fonts.data(), (int)fonts.size(), &opts, &s2, &err), 0) << err.msg;
    ASSERT_EQ(ghm_glyphs_xl_finish(&s2, 3, 1, 0.2, 25, &err), 0) << err.msg;
    EXPECT_EQ(std::vector<uint32_t>(s2.chars, s2.chars + s2.n_chars), order);
    ghm_glyph_set_free(&s2);
    bool differs = false;
    for (uint64_t seed = 26; seed < 30 && !differs; seed++) {
        ASSERT_EQ(ghm_glyphs_render(fonts.data(), (int)fonts.size(), &opts, &s2, &err), 0) << err.msg;
        ASSERT_EQ(ghm_glyphs_xl_finish(&s2, 3, 1, 0.2, seed, &err), 0) << err.msg;
        differs = std::vector<uint32_t>(s2.chars, s2.chars + s2.n_chars) != order;
        ghm_glyph_set_free(&s2);
    }
    EXPECT_TRUE(differs);
    ghm_glyph_set_free(&s);
}

TEST_F(GlyphsXl, FacesAndFamiliesRuleAndBadArguments)
{
    TempDir t;
    auto fonts = fonts_with_clone(t);
    ghm_glyph_set s;
    // the clone rule counts only faces sharing at least clone_min_shared characters: 6 shared (the
    // ideograph is missing everywhere) < 7, so the copy is not judged a clone (and goes as an exact duplicate)
    opts.clone_min_shared = 7;
    ASSERT_EQ(ghm_glyphs_render(fonts.data(), (int)fonts.size(), &opts, &s, &err), 0) << err.msg;
    ASSERT_EQ(s.n_skipped, 1);
    EXPECT_NE(strstr(s.skipped[0].reason, "every image equals one of an earlier face"), nullptr) << s.skipped[0].reason;
    ghm_glyph_set_free(&s);
    opts.clone_min_shared = 6; // a clone again
    ASSERT_EQ(ghm_glyphs_render(fonts.data(), (int)fonts.size(), &opts, &s, &err), 0) << err.msg;
    ASSERT_EQ(s.n_skipped, 1);
    EXPECT_NE(strstr(s.skipped[0].reason, "clone of DejaVu Serif Book"), nullptr) << s.skipped[0].reason;
    ghm_glyph_set_free(&s);
    opts.clone_min_shared = 0;
    EXPECT_EQ(ghm_glyphs_render(fonts.data(), (int)fonts.size(), &opts, &s, &err), GHM_EINPUT);
    opts.clone_min_shared = 1;
    ASSERT_EQ(ghm_glyphs_render(fonts.data(), (int)fonts.size(), &opts, &s, &err), 0) << err.msg;
    // two families needed, DejaVu is one: nothing is left
    EXPECT_EQ(ghm_glyphs_xl_finish(&s, 1, 2, 0.2, 25, &err), GHM_EINPUT);
    EXPECT_NE(strstr(err.msg, "0 classes are left"), nullptr) << err.msg;
    ghm_glyph_set_free(&s);
    ASSERT_EQ(ghm_glyphs_render(fonts.data(), (int)fonts.size(), &opts, &s, &err), 0) << err.msg;
    EXPECT_EQ(ghm_glyphs_xl_finish(&s, 0, 1, 0.2, 25, &err), GHM_EINPUT);
    EXPECT_EQ(ghm_glyphs_xl_finish(&s, 1, 1, 0.0, 25, &err), GHM_EINPUT);
    int bad[2] = {0, 0};
    EXPECT_EQ(ghm_glyphs_select_classes(&s, bad, 2, &err), GHM_EINPUT);
    EXPECT_NE(strstr(err.msg, "not a distinct class"), nullptr) << err.msg;
    ghm_glyph_set_free(&s);
}

TEST(GlyphsXlCandidates, ByCoverageSeededAndInCodePointOrder)
{
    ghm_error err;
    std::vector<ghm_font_entry> dv = {entry("fonts-dejavu-core", std::string(kDejaVuDir) + "DejaVuSans.ttf")};
    uint32_t *c = nullptr;
    int n = 0;
    EXPECT_EQ(ghm_glyphs_xl_candidates(dv.data(), 1, 1, 100, 25, &c, &n, nullptr, &err), GHM_EINPUT);
    EXPECT_NE(strstr(err.msg, "only 0 ideographs"), nullptr) << err.msg;
    const std::string droid = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf";
    if (!std::filesystem::exists(droid)) GTEST_SKIP() << droid << " (fonts-droid-fallback) is not installed";
    std::vector<ghm_font_entry> f = {entry("fonts-droid-fallback", droid)};
    int ne = 0;
    ASSERT_EQ(ghm_glyphs_xl_candidates(f.data(), 1, 1, 50, 25, &c, &n, &ne, &err), 0) << err.msg;
    ASSERT_EQ(n, 50);
    EXPECT_GT(ne, 20000); // Droid Sans Fallback maps nearly all of U+4E00..U+9FFF
    std::vector<uint32_t> a(c, c + n);
    free(c);
    for (int i = 0; i < n; i++) {
        EXPECT_GE(a[i], 0x4E00u);
        EXPECT_LE(a[i], 0x9FFFu);
        if (i) {
            EXPECT_LT(a[i - 1], a[i]);
        }
    }
    ASSERT_EQ(ghm_glyphs_xl_candidates(f.data(), 1, 1, 50, 25, &c, &n, nullptr, &err), 0);
    EXPECT_EQ(std::vector<uint32_t>(c, c + n), a);
    free(c);
    ASSERT_EQ(ghm_glyphs_xl_candidates(f.data(), 1, 1, 50, 26, &c, &n, nullptr, &err), 0);
    EXPECT_NE(std::vector<uint32_t>(c, c + n), a);
    free(c);
    // one family cannot reach two
    EXPECT_EQ(ghm_glyphs_xl_candidates(f.data(), 1, 2, 50, 25, &c, &n, nullptr, &err), GHM_EINPUT);
}

TEST(GlyphsXlFamilies, CjkNamesShareAKeyPerDesign)
{
    char k[64];
    const char *cases[][2] = {{"IPAGothic", "IPA"},          {"IPAexMincho", "IPA"},
                              {"TakaoPGothic", "IPA"},        {"UnBatang", "Un"},
                              {"NanumBarunGothic", "Nanum"},  {"AR PL UMing TW", "AR"},
                              {"Noto Serif CJK KR", "Noto"},  {"WenQuanYi Micro Hei Mono", "Droid"},
                              {"WenQuanYi Zen Hei", "WenQuanYi"}, {"Droid Sans Fallback", "Droid"},
                              {"HanaMinB", "HanaMin"},        {"Baekmuk Batang", "Baekmuk"}};
    for (auto &c : cases) {
        ghm_glyphs_family_key(c[0], k);
        EXPECT_STREQ(k, c[1]) << c[0];
    }
}

TEST(Png, WritesAValidGreyImage)
{
    TempDir t;
    ghm_error err;
    std::vector<uint8_t> px(5 * 3);
    for (size_t i = 0; i < px.size(); i++) px[i] = (uint8_t)(i * 17);
    ASSERT_EQ(ghm_png_write_grey((t / "a.png").c_str(), px.data(), 5, 3, &err), 0) << err.msg;
    std::string b = read_all(t / "a.png");
    ASSERT_GT(b.size(), 8u + 25 + 12 + 12);
    EXPECT_EQ(b.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
    EXPECT_EQ(b.substr(12, 4), "IHDR");
    EXPECT_EQ((unsigned char)b[16 + 3], 5); // width
    EXPECT_EQ((unsigned char)b[20 + 3], 3); // height
    EXPECT_EQ(b.substr(b.size() - 8, 4), "IEND");
    EXPECT_EQ(ghm_png_write_grey((t / "b.png").c_str(), px.data(), 0, 3, &err), GHM_EINPUT);
    EXPECT_EQ(ghm_png_write_grey((t / "nodir/c.png").c_str(), px.data(), 5, 3, &err) != 0, true);
}

} // namespace
