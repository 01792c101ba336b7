/* The `glyphs` dataset: rendering (FreeType), de-duplication, cache files and
 * the loader. The pipeline and its rules are described in glyphs.h and
 * docs/glyphs.md.
 */
#include "glyphs.h"

#include "../core/json.h"
#include "internal.h"

#include <ft2build.h>
#include FT_FREETYPE_H
#include <nettle/sha2.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the character set ---------------------------------------------------- */
/* Candidates, in code-point order: ASCII symbols with a drawing of their own,
 * digits, Latin letters, the Latin-1 letters and symbols, Greek, Cyrillic
 * (Russian, Ukrainian, Belarusian, Serbian, Macedonian letters), the euro sign. */
static const uint32_t candidate_ranges[][2] = {
    {0x21, 0x21},   {0x23, 0x26},   {0x30, 0x39},   {0x3F, 0x5A},   {0x61, 0x7A},   {0xA1, 0xA3},
    {0xA5, 0xA5},   {0xA7, 0xA7},   {0xA9, 0xA9},   {0xAE, 0xAE},   {0xB6, 0xB6},   {0xBF, 0xD6},
    {0xD8, 0xF6},   {0xF8, 0xFF},   {0x391, 0x3A1}, {0x3A3, 0x3A9}, {0x3B1, 0x3C9}, {0x401, 0x40C},
    {0x40E, 0x44F}, {0x451, 0x45C}, {0x45E, 0x45F}, {0x490, 0x491}, {0x20AC, 0x20AC},
};

/* Homoglyphs: {dropped, kept}. The rule: a candidate is left out when, in at
 * least half of the faces that have both, its image equals (mean absolute
 * difference <= 1 grey level) that of an earlier candidate in code-point order.
 * Measured with `ghm data build-glyphs --candidates` on the documented font
 * set (rates in docs/glyphs.md); the next pairs below the rule are Latin K /
 * Cyrillic Ka (30%) and Greek Phi / Cyrillic Ef (29%), which stay classes. */
static const uint32_t homoglyphs[][2] = {
    /* Greek capitals drawn as Latin capitals */
    {0x391, 0x41}, {0x392, 0x42}, {0x395, 0x45}, {0x396, 0x5A}, {0x397, 0x48}, {0x399, 0x49}, {0x39A, 0x4B},
    {0x39C, 0x4D}, {0x39D, 0x4E}, {0x39F, 0x4F}, {0x3A1, 0x50}, {0x3A4, 0x54}, {0x3A5, 0x59}, {0x3A7, 0x58},
    /* Greek small omicron = Latin o */
    {0x3BF, 0x6F},
    /* Cyrillic capitals drawn as Latin or Greek capitals */
    {0x401, 0xCB}, {0x405, 0x53}, {0x406, 0x49}, {0x407, 0xCF}, {0x408, 0x4A}, {0x410, 0x41}, {0x412, 0x42},
    {0x413, 0x393}, {0x415, 0x45}, {0x41C, 0x4D}, {0x41D, 0x48}, {0x41E, 0x4F}, {0x41F, 0x3A0},
    {0x420, 0x50}, {0x421, 0x43}, {0x422, 0x54}, {0x425, 0x58},
    /* Cyrillic small letters drawn as Latin small letters */
    {0x430, 0x61}, {0x435, 0x65}, {0x43E, 0x6F}, {0x440, 0x70}, {0x441, 0x63}, {0x443, 0x79}, {0x445, 0x78},
    {0x451, 0xEB}, {0x455, 0x73}, {0x456, 0x69}, {0x457, 0xEF}, {0x458, 0x6A},
};
#define N_HOMOGLYPHS ((int)(sizeof homoglyphs / sizeof homoglyphs[0]))

/* Families whose drawings at these code points are not those characters. */
static const char *const excluded_families[][2] = {
    {"D050000L", "dingbats at letter code points"},
    {"Standard Symbols PS", "symbol encoding: Latin code points carry Greek letters and symbols"},
    {"Linux Biolinum Keyboard O", "letters drawn on keyboard key caps"},
    {"Go Smallcaps", "small capitals in place of lower case"},
};
#define MAX_CANDIDATES 512

static uint32_t charset_buf[MAX_CANDIDATES];
static int charset_n = -1;

static int is_dropped(uint32_t cp)
{
    for (int i = 0; i < N_HOMOGLYPHS; i++)
        if (homoglyphs[i][0] == cp) return 1;
    return 0;
}

int ghm_glyphs_candidates(const uint32_t **chars)
{
    static uint32_t buf[MAX_CANDIDATES];
    static int n = -1;
    if (n < 0) {
        int k = 0;
        for (size_t r = 0; r < sizeof candidate_ranges / sizeof candidate_ranges[0]; r++)
            for (uint32_t c = candidate_ranges[r][0]; c <= candidate_ranges[r][1] && k < MAX_CANDIDATES; c++) buf[k++] = c;
        n = k;
    }
    *chars = buf;
    return n;
}

int ghm_glyphs_charset(const uint32_t **chars)
{
    if (charset_n < 0) {
        const uint32_t *cand;
        int nc = ghm_glyphs_candidates(&cand), k = 0;
        for (int i = 0; i < nc; i++)
            if (!is_dropped(cand[i])) charset_buf[k++] = cand[i];
        charset_n = k;
    }
    *chars = charset_buf;
    return charset_n;
}

int ghm_glyphs_homoglyph_count(void) { return N_HOMOGLYPHS; }

int ghm_glyphs_homoglyph_at(int i, uint32_t *dropped, uint32_t *same_as)
{
    if (i < 0 || i >= N_HOMOGLYPHS) return 0;
    *dropped = homoglyphs[i][0];
    *same_as = homoglyphs[i][1];
    return 1;
}

char *ghm_glyphs_utf8(uint32_t cp, char *b)
{
    if (cp < 0x80) {
        b[0] = (char)cp;
        b[1] = 0;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        b[2] = 0;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        b[3] = 0;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        b[4] = 0;
    }
    return b;
}

/* ---- hashing -------------------------------------------------------------- */
static void hex_digest(const uint8_t *d, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[64] = 0;
}

static void sha256_bytes(const void *data, size_t n, char hex[65])
{
    struct sha256_ctx ctx;
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_init(&ctx);
    sha256_update(&ctx, n, data);
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, d);
    hex_digest(d, hex);
}

int ghm_glyphs_sha256_file(const char *path, char hex[65], ghm_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) return ghm_error_set(err, errno == ENOENT ? GHM_EINPUT : GHM_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    uint8_t buf[1 << 16];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) sha256_update(&ctx, got, buf);
    int bad = ferror(f);
    fclose(f);
    if (bad) return ghm_error_set(err, GHM_EIO, "%s: read error", path);
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, d);
    hex_digest(d, hex);
    return 0;
}

/* ---- font list ------------------------------------------------------------ */
int ghm_glyphs_read_font_list(const char *path, ghm_font_entry **out, int *n, ghm_error *err)
{
    *out = NULL;
    *n = 0;
    char *text = NULL;
    size_t len = 0;
    int rc = ghm_read_file(path, &text, &len, err);
    if (rc) return rc;
    if (strlen(text) != len) {
        free(text);
        return ghm_error_set(err, GHM_EINPUT, "%s: contains a NUL byte (not a font list)", path);
    }
    int cap = 16, cnt = 0;
    ghm_font_entry *v = malloc(sizeof *v * (size_t)cap);
    if (!v) {
        free(text);
        return ghm_error_set(err, GHM_ENOMEM, "%s: out of memory", path);
    }
    int line = 0;
    char *p = text;
    while (*p) {
        line++;
        char *end = strchr(p, '\n');
        char *next = end ? end + 1 : p + strlen(p);
        if (end) *end = 0;
        size_t l = strlen(p);
        if (l && p[l - 1] == '\r') p[--l] = 0;
        if (l == 0 || p[0] == '#') {
            p = next;
            continue;
        }
        char *t1 = strchr(p, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t1 || !t2 || strchr(t2 + 1, '\t')) {
            rc = ghm_error_set(err, GHM_EINPUT, "%s:%d: expected three tab-separated fields: package, version, font file",
                               path, line);
            break;
        }
        *t1 = *t2 = 0;
        const char *f[3] = {p, t1 + 1, t2 + 1};
        static const char *const what[3] = {"package", "version", "font file"};
        size_t lim[3] = {sizeof v->package, sizeof v->version, sizeof v->path};
        for (int k = 0; k < 3 && !rc; k++) {
            if (!f[k][0]) rc = ghm_error_set(err, GHM_EINPUT, "%s:%d: empty %s field", path, line, what[k]);
            else if (strlen(f[k]) >= lim[k])
                rc = ghm_error_set(err, GHM_EINPUT, "%s:%d: %s field longer than %zu characters", path, line, what[k],
                                   lim[k] - 1);
        }
        if (rc) break;
        if (cnt == cap) {
            cap *= 2;
            ghm_font_entry *nv = realloc(v, sizeof *v * (size_t)cap);
            if (!nv) {
                rc = ghm_error_set(err, GHM_ENOMEM, "%s: out of memory", path);
                break;
            }
            v = nv;
        }
        snprintf(v[cnt].package, sizeof v[cnt].package, "%s", f[0]);
        snprintf(v[cnt].version, sizeof v[cnt].version, "%s", f[1]);
        snprintf(v[cnt].path, sizeof v[cnt].path, "%s", f[2]);
        cnt++;
        p = next;
    }
    free(text);
    if (!rc && cnt == 0) rc = ghm_error_set(err, GHM_EINPUT, "%s: no font files listed", path);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = cnt;
    return 0;
}

/* ---- rendering ------------------------------------------------------------ */
void ghm_glyphs_opts_default(ghm_glyphs_opts *o)
{
    memset(o, 0, sizeof *o);
    o->image_size = 28;
    o->near_dup_level = 2;
    o->homoglyph_level = 1;
}

static int cmp_entry(const void *a, const void *b)
{
    const ghm_font_entry *x = a, *y = b;
    int c = strcmp(x->package, y->package);
    return c ? c : strcmp(x->path, y->path);
}

/* Render glyph gi at ppem into img (S x S, zeroed here), ink box centred and
 * shrunk to fit box. 0 ok, 1 no ink, <0 FreeType error (code in *fterr). */
static int render_glyph(FT_Face face, FT_UInt gi, double ppem, int S, int box, uint8_t *img, int *fterr)
{
    memset(img, 0, (size_t)S * S);
    for (int attempt = 0; attempt < 6; attempt++) {
        FT_Error e = FT_Set_Char_Size(face, 0, (FT_F26Dot6)lround(ppem * 64.0), 72, 72);
        if (!e) e = FT_Load_Glyph(face, gi, FT_LOAD_NO_HINTING | FT_LOAD_NO_BITMAP);
        if (!e) e = FT_Render_Glyph(face->glyph, FT_RENDER_MODE_NORMAL);
        if (e) {
            *fterr = (int)e;
            return -1;
        }
        const FT_Bitmap *bm = &face->glyph->bitmap;
        if (bm->pixel_mode != FT_PIXEL_MODE_GRAY || bm->pitch < 0) {
            *fterr = -1;
            return -1;
        }
        int rows = (int)bm->rows, cols = (int)bm->width;
        int r0 = rows, r1 = -1, c0 = cols, c1 = -1;
        for (int r = 0; r < rows; r++) {
            const unsigned char *row = bm->buffer + (size_t)r * (size_t)bm->pitch;
            for (int c = 0; c < cols; c++)
                if (row[c]) {
                    if (r < r0) r0 = r;
                    if (r > r1) r1 = r;
                    if (c < c0) c0 = c;
                    if (c > c1) c1 = c;
                }
        }
        if (r1 < 0) return 1;
        int h = r1 - r0 + 1, w = c1 - c0 + 1, m = h > w ? h : w;
        if (m > box && attempt < 5) {
            ppem *= ((double)box - 0.5) / (double)m;
            continue;
        }
        /* centre (crops only if the shrinking above did not converge) */
        int y0 = (S - h) / 2, x0 = (S - w) / 2;
        for (int r = 0; r < h; r++) {
            int y = y0 + r;
            if (y < 0 || y >= S) continue;
            const unsigned char *row = bm->buffer + (size_t)(r0 + r) * (size_t)bm->pitch + c0;
            for (int c = 0; c < w; c++) {
                int x = x0 + c;
                if (x >= 0 && x < S) img[(size_t)y * S + x] = row[c];
            }
        }
        return 0;
    }
    return 1;
}

/* sum |a - b| over n bytes */
static long sad(const uint8_t *a, const uint8_t *b, int n)
{
    long s = 0;
    for (int i = 0; i < n; i++) s += a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];
    return s;
}

typedef struct cls_list {
    int n, cap;
    uint8_t *px;  /* (n, S*S) */
    int *face;    /* (n) */
} cls_list;

static int add_skip(ghm_glyph_set *s, int *cap, const char *path, int index, const char *reason)
{
    if (s->n_skipped == *cap) {
        int nc = *cap ? 2 * *cap : 16;
        ghm_glyph_skip *v = realloc(s->skipped, sizeof *v * (size_t)nc);
        if (!v) return -1;
        s->skipped = v;
        *cap = nc;
    }
    ghm_glyph_skip *k = &s->skipped[s->n_skipped++];
    snprintf(k->path, sizeof k->path, "%s", path);
    k->index = index;
    snprintf(k->reason, sizeof k->reason, "%s", reason);
    return 0;
}

/* Render one face into the class lists. 0 ok, <0 error. */
static int do_face(ghm_glyph_set *s, FT_Face face, int fidx, cls_list *lists, uint8_t *fbuf, uint8_t *have,
                   const char *path, ghm_error *err)
{
    const int S = s->size, n = s->n_chars, P = S * S;
    /* scale: the face's cap height (ink height of H, else Cyrillic En, else Greek Eta) becomes cap_px */
    static const uint32_t refs[3] = {0x48, 0x41D, 0x397};
    double ref_ppem = 256.0, cap = 0;
    if (FT_Set_Char_Size(face, 0, (FT_F26Dot6)(ref_ppem * 64), 72, 72))
        return ghm_error_set(err, GHM_EINPUT, "%s: face %d: FreeType cannot set a size", path, fidx);
    for (int k = 0; k < 3 && cap <= 0; k++) {
        FT_UInt gi = FT_Get_Char_Index(face, refs[k]);
        if (gi && !FT_Load_Glyph(face, gi, FT_LOAD_NO_HINTING | FT_LOAD_NO_BITMAP))
            cap = (double)face->glyph->metrics.height / 64.0;
    }
    if (cap <= 0) cap = 0.7 * ref_ppem;
    double ppem = ref_ppem * s->cap_px / cap;

    int fterr = 0;
    uint8_t *notdef = fbuf + (size_t)n * P; /* one spare image */
    int rn = render_glyph(face, 0, ppem, S, s->box_px, notdef, &fterr);
    int notdef_ink = rn == 0;
    ghm_glyph_face *F = &s->faces[fidx];
    for (int c = 0; c < n; c++) {
        have[c] = 0;
        FT_UInt gi = FT_Get_Char_Index(face, s->chars[c]);
        if (gi == 0) continue;
        if (FT_HAS_GLYPH_NAMES(face)) {
            char name[64] = "";
            if (!FT_Get_Glyph_Name(face, gi, name, sizeof name) && strcmp(name, ".notdef") == 0) continue;
        }
        uint8_t *img = fbuf + (size_t)c * P;
        int r = render_glyph(face, gi, ppem, S, s->box_px, img, &fterr);
        if (r < 0)
            return ghm_error_set(err, GHM_EINPUT, "%s: face %d: FreeType error %d rendering U+%04X", path, fidx, fterr,
                                 (unsigned)s->chars[c]);
        if (r == 1) continue;
        if (notdef_ink && memcmp(img, notdef, (size_t)P) == 0) continue;
        have[c] = 1;
    }
    /* confusability between classes within this face */
    long same = (long)s->homoglyph_level * P, near = (long)s->near_dup_level * P;
    for (int a = 0; a < n; a++) {
        if (!have[a]) continue;
        for (int b = a + 1; b < n; b++) {
            if (!have[b]) continue;
            s->pair_both[(size_t)a * n + b]++;
            if (sad(fbuf + (size_t)a * P, fbuf + (size_t)b * P, P) <= same) s->pair_near[(size_t)a * n + b]++;
        }
    }
    /* into the class lists, dropping exact duplicates */
    for (int c = 0; c < n; c++) {
        if (!have[c]) {
            s->missing[c]++;
            F->missing++;
            continue;
        }
        const uint8_t *img = fbuf + (size_t)c * P;
        cls_list *L = &lists[c];
        int dup = 0, isnear = 0;
        for (int i = 0; i < L->n && !dup; i++) {
            const uint8_t *o = L->px + (size_t)i * P;
            if (memcmp(o, img, (size_t)P) == 0) dup = 1;
            else if (!isnear && sad(o, img, P) <= near) isnear = 1;
        }
        if (dup) {
            s->exact_dups[c]++;
            continue;
        }
        if (isnear) s->near_dups[c]++;
        if (L->n == L->cap) {
            int nc = L->cap ? 2 * L->cap : 64;
            uint8_t *px = realloc(L->px, (size_t)nc * P);
            if (!px) return ghm_error_set(err, GHM_ENOMEM, "out of memory (glyph images)");
            L->px = px;
            int *fc = realloc(L->face, sizeof(int) * (size_t)nc);
            if (!fc) return ghm_error_set(err, GHM_ENOMEM, "out of memory (glyph images)");
            L->face = fc;
            L->cap = nc;
        }
        memcpy(L->px + (size_t)L->n * P, img, (size_t)P);
        L->face[L->n++] = fidx;
        F->glyphs++;
    }
    return 0;
}

void ghm_glyph_set_free(ghm_glyph_set *s)
{
    if (!s) return;
    free(s->chars);
    free(s->faces);
    free(s->skipped);
    free(s->pixels);
    free(s->labels);
    free(s->face_of);
    free(s->count);
    free(s->missing);
    free(s->exact_dups);
    free(s->near_dups);
    free(s->pair_both);
    free(s->pair_near);
    memset(s, 0, sizeof *s);
}

int ghm_glyphs_render(const ghm_font_entry *fonts, int n_fonts, const ghm_glyphs_opts *o, ghm_glyph_set *s,
                      ghm_error *err)
{
    memset(s, 0, sizeof *s);
    ghm_glyphs_opts def;
    if (!o) {
        ghm_glyphs_opts_default(&def);
        o = &def;
    }
    if (o->image_size < 8 || o->image_size > 256)
        return ghm_error_set(err, GHM_EINPUT, "glyphs: image_size %d is out of range [8, 256]", o->image_size);
    if (o->near_dup_level < 0 || o->near_dup_level > 255 || o->homoglyph_level < 0 || o->homoglyph_level > 255)
        return ghm_error_set(err, GHM_EINPUT, "glyphs: near_dup_level %d / homoglyph_level %d out of range [0, 255]",
                             o->near_dup_level, o->homoglyph_level);
    const uint32_t *chars = o->chars;
    int n = o->n_chars;
    if (!chars) n = ghm_glyphs_charset(&chars);
    if (n < 1 || n > MAX_CANDIDATES)
        return ghm_error_set(err, GHM_EINPUT, "glyphs: %d characters (expected 1 to %d)", n, MAX_CANDIDATES);
    if (n_fonts < 1) return ghm_error_set(err, GHM_EINPUT, "glyphs: no font files");

    const int S = o->image_size, P = S * S;
    s->size = S;
    s->cap_px = S / 2;
    s->box_px = S - 4;
    s->near_dup_level = o->near_dup_level;
    s->homoglyph_level = o->homoglyph_level;
    s->n_chars = n;
    int rc = 0, skip_cap = 0;
    FT_Library lib = NULL;
    ghm_font_entry *sorted = NULL;
    char(*hashes)[65] = NULL;
    cls_list *lists = NULL;
    uint8_t *fbuf = NULL, *have = NULL;

    s->chars = malloc(sizeof(uint32_t) * (size_t)n);
    s->count = calloc((size_t)n, sizeof(int));
    s->missing = calloc((size_t)n, sizeof(int));
    s->exact_dups = calloc((size_t)n, sizeof(int));
    s->near_dups = calloc((size_t)n, sizeof(int));
    s->pair_both = calloc((size_t)n * n, sizeof(int));
    s->pair_near = calloc((size_t)n * n, sizeof(int));
    sorted = malloc(sizeof *sorted * (size_t)n_fonts);
    hashes = malloc(sizeof *hashes * (size_t)n_fonts);
    lists = calloc((size_t)n, sizeof *lists);
    fbuf = malloc((size_t)(n + 1) * P);
    have = malloc((size_t)n);
    if (!s->chars || !s->count || !s->missing || !s->exact_dups || !s->near_dups || !s->pair_both || !s->pair_near ||
        !sorted || !hashes || !lists || !fbuf || !have) {
        rc = ghm_error_set(err, GHM_ENOMEM, "glyphs: out of memory");
        goto done;
    }
    memcpy(s->chars, chars, sizeof(uint32_t) * (size_t)n);
    for (int i = 1; i < n; i++)
        if (chars[i] <= chars[i - 1]) {
            rc = ghm_error_set(err, GHM_EINPUT, "glyphs: characters must be in increasing code-point order (U+%04X after U+%04X)",
                               (unsigned)chars[i], (unsigned)chars[i - 1]);
            goto done;
        }
    memcpy(sorted, fonts, sizeof *sorted * (size_t)n_fonts);
    qsort(sorted, (size_t)n_fonts, sizeof *sorted, cmp_entry);

    if (FT_Init_FreeType(&lib)) {
        rc = ghm_error_set(err, GHM_EFAIL, "glyphs: FreeType failed to initialise");
        lib = NULL;
        goto done;
    }
    FT_Int vmaj, vmin, vpat;
    FT_Library_Version(lib, &vmaj, &vmin, &vpat);
    snprintf(s->freetype, sizeof s->freetype, "%d.%d.%d", vmaj, vmin, vpat);

    int face_cap = 0;
    for (int fi = 0; fi < n_fonts; fi++) {
        const ghm_font_entry *E = &sorted[fi];
        if ((rc = ghm_glyphs_sha256_file(E->path, hashes[fi], err)) < 0) goto done;
        int seen = -1;
        for (int k = 0; k < fi && seen < 0; k++)
            if (strcmp(hashes[k], hashes[fi]) == 0) seen = k;
        char why[640];
        if (seen >= 0) {
            const char *base = strrchr(sorted[seen].path, '/');
            snprintf(why, sizeof why, "same content as %s", base ? base + 1 : sorted[seen].path);
            if (add_skip(s, &skip_cap, E->path, -1, why)) goto oom;
            continue;
        }
        FT_Face probe = NULL;
        FT_Error fe = FT_New_Face(lib, E->path, -1, &probe);
        if (fe) {
            snprintf(why, sizeof why, "FreeType cannot open it (error %d)", (int)fe);
            if (add_skip(s, &skip_cap, E->path, -1, why)) goto oom;
            continue;
        }
        long nfaces = probe->num_faces;
        FT_Done_Face(probe);
        for (long xi = 0; xi < nfaces; xi++) {
            FT_Face face = NULL;
            fe = FT_New_Face(lib, E->path, xi, &face);
            if (fe) {
                snprintf(why, sizeof why, "FreeType cannot open face %ld (error %d)", xi, (int)fe);
                if (add_skip(s, &skip_cap, E->path, (int)xi, why)) goto oom;
                continue;
            }
            const char *fam = face->family_name ? face->family_name : "", *sty = face->style_name ? face->style_name : "";
            why[0] = 0;
            if (!FT_IS_SCALABLE(face)) snprintf(why, sizeof why, "not scalable (a bitmap font)");
            else if (FT_Select_Charmap(face, FT_ENCODING_UNICODE)) snprintf(why, sizeof why, "no Unicode character map");
            else if (!fam[0]) snprintf(why, sizeof why, "no family name");
            for (size_t k = 0; k < sizeof excluded_families / sizeof excluded_families[0] && !why[0]; k++)
                if (strcmp(fam, excluded_families[k][0]) == 0)
                    snprintf(why, sizeof why, "family left out: %s", excluded_families[k][1]);
            if (!why[0] && !o->keep_same_name_faces)
                for (int k = 0; k < s->n_faces && !why[0]; k++)
                    if (strcmp(s->faces[k].family, fam) == 0 && strcmp(s->faces[k].style, sty) == 0)
                        snprintf(why, sizeof why, "same family and style as %s", s->faces[k].path);
            if (why[0]) {
                FT_Done_Face(face);
                if (add_skip(s, &skip_cap, E->path, (int)xi, why)) goto oom;
                continue;
            }
            if (s->n_faces == face_cap) {
                int nc = face_cap ? 2 * face_cap : 64;
                ghm_glyph_face *v = realloc(s->faces, sizeof *v * (size_t)nc);
                if (!v) {
                    FT_Done_Face(face);
                    goto oom;
                }
                s->faces = v;
                face_cap = nc;
            }
            ghm_glyph_face *F = &s->faces[s->n_faces];
            memset(F, 0, sizeof *F);
            snprintf(F->package, sizeof F->package, "%s", E->package);
            snprintf(F->version, sizeof F->version, "%s", E->version);
            snprintf(F->path, sizeof F->path, "%s", E->path);
            F->index = (int)xi;
            snprintf(F->family, sizeof F->family, "%s", fam);
            snprintf(F->style, sizeof F->style, "%s", sty);
            memcpy(F->sha256, hashes[fi], 65);
            rc = do_face(s, face, s->n_faces, lists, fbuf, have, E->path, err);
            FT_Done_Face(face);
            if (rc < 0) goto done;
            if (F->glyphs == 0) { /* nothing of its own: not one of the faces, its gaps are no class's */
                for (int c = 0; c < n; c++) s->missing[c] -= !have[c];
                snprintf(why, sizeof why, "%s",
                         F->missing == n ? "has none of the characters"
                                         : "every image equals one of an earlier face (exact duplicate outlines)");
                if (add_skip(s, &skip_cap, E->path, (int)xi, why)) goto oom;
                continue;
            }
            s->n_faces++;
        }
    }
    if (s->n_faces == 0) {
        rc = ghm_error_set(err, GHM_EINPUT, "glyphs: none of the %d font files has a usable face", n_fonts);
        goto done;
    }
    /* gather, class-major */
    long total = 0;
    for (int c = 0; c < n; c++) total += lists[c].n;
    s->pixels = malloc((size_t)(total ? total : 1) * P);
    s->labels = malloc(sizeof(int) * (size_t)(total ? total : 1));
    s->face_of = malloc(sizeof(int) * (size_t)(total ? total : 1));
    if (!s->pixels || !s->labels || !s->face_of) goto oom;
    long k = 0;
    for (int c = 0; c < n; c++) {
        if (lists[c].n) memcpy(s->pixels + (size_t)k * P, lists[c].px, (size_t)lists[c].n * P);
        for (int i = 0; i < lists[c].n; i++, k++) {
            s->labels[k] = c;
            s->face_of[k] = lists[c].face[i];
        }
        s->count[c] = lists[c].n;
    }
    s->n_images = (int)total;
    goto done;
oom:
    rc = ghm_error_set(err, GHM_ENOMEM, "glyphs: out of memory");
done:
    if (lib) FT_Done_FreeType(lib);
    if (lists)
        for (int c = 0; c < n; c++) {
            free(lists[c].px);
            free(lists[c].face);
        }
    free(lists);
    free(sorted);
    free(hashes);
    free(fbuf);
    free(have);
    if (rc < 0) ghm_glyph_set_free(s);
    return rc;
}

int ghm_glyphs_confusable(const ghm_glyph_set *s, double min_fraction, int min_faces, int cap, int *a, int *b,
                          double *frac)
{
    int m = 0, n = s->n_chars;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            int both = s->pair_both[(size_t)i * n + j], nr = s->pair_near[(size_t)i * n + j];
            if (both < min_faces || both == 0) continue;
            double f = (double)nr / both;
            if (f < min_fraction) continue;
            /* insert sorted by fraction (descending), then index */
            int pos = m < cap ? m : cap;
            while (pos > 0 && frac[pos - 1] < f) pos--;
            if (pos >= cap) continue;
            int last = m < cap ? m : cap - 1;
            for (int q = last; q > pos; q--) {
                a[q] = a[q - 1];
                b[q] = b[q - 1];
                frac[q] = frac[q - 1];
            }
            a[pos] = i;
            b[pos] = j;
            frac[pos] = f;
            if (m < cap) m++;
        }
    return m;
}

/* ---- cache files ---------------------------------------------------------- */
static const char *const idx_names[4] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"};

static void kv_str(ghm_jw *w, const char *k, const char *v)
{
    ghm_jw_key(w, k);
    ghm_jw_string(w, v);
}

static void kv_int(ghm_jw *w, const char *k, long long v)
{
    ghm_jw_key(w, k);
    ghm_jw_int(w, v);
}

int ghm_glyphs_write(const ghm_glyph_set *s, const char *dir, char *manifest_sha256, ghm_error *err)
{
    const int S = s->size, P = S * S, n = s->n_chars;
    if (n < 2 || n > GHM_MAX_CLASSES)
        return ghm_error_set(err, GHM_EINPUT, "glyphs: %d classes cannot be written (a dataset has 2 to %d)", n,
                             GHM_MAX_CLASSES);
    int rc = ghm_mkdirs(dir, err);
    if (rc) return rc;
    /* per class, in face order: every sixth kept image (k % 6 == 5) tests */
    int ntr = 0, nte = 0;
    int *test_n = calloc((size_t)n, sizeof(int));
    uint8_t *px[2] = {malloc((size_t)(s->n_images + 1) * P), malloc((size_t)(s->n_images + 1) * P)};
    uint8_t *lb[2] = {malloc((size_t)s->n_images + 1), malloc((size_t)s->n_images + 1)};
    char *path = NULL;
    ghm_jw w;
    ghm_jw_init(&w, 1);
    char hex[4][65];
    if (!test_n || !px[0] || !px[1] || !lb[0] || !lb[1]) {
        rc = ghm_error_set(err, GHM_ENOMEM, "glyphs: out of memory");
        goto done;
    }
    for (int i = 0, k = 0; i < s->n_images; i++) {
        k = (i > 0 && s->labels[i] == s->labels[i - 1]) ? k + 1 : 0;
        int t = k % 6 == 5;
        int *cnt = t ? &nte : &ntr;
        memcpy(px[t] + (size_t)*cnt * P, s->pixels + (size_t)i * P, (size_t)P);
        lb[t][*cnt] = (uint8_t)s->labels[i];
        (*cnt)++;
        if (t) test_n[s->labels[i]]++;
    }
    for (int f = 0; f < 4 && !rc; f++) {
        int part = f / 2, cnt = part ? nte : ntr;
        free(path);
        path = ghm_ds_strdupf("%s/%s", dir, idx_names[f]);
        if (!path) {
            rc = ghm_error_set(err, GHM_ENOMEM, "glyphs: out of memory");
            break;
        }
        int dims[3] = {cnt, S, S};
        rc = f % 2 == 0 ? ghm_idx_write(path, 3, dims, px[part], err) : ghm_idx_write(path, 1, dims, lb[part], err);
        if (!rc) rc = ghm_glyphs_sha256_file(path, hex[f], err);
    }
    if (rc) goto done;

    char u8[8], buf[64];
    ghm_jw_begin_object(&w);
    kv_str(&w, "format", "ghm-glyphs-1");
    kv_int(&w, "image_size", S);
    kv_int(&w, "cap_px", s->cap_px);
    kv_int(&w, "box_px", s->box_px);
    kv_int(&w, "near_dup_level", s->near_dup_level);
    kv_int(&w, "homoglyph_level", s->homoglyph_level);
    snprintf(buf, sizeof buf, "FreeType %s", s->freetype);
    kv_str(&w, "renderer", buf);
    kv_str(&w, "split", "per class, in face order: every sixth image (k % 6 == 5) test, the others train");
    ghm_jw_key(&w, "files");
    ghm_jw_begin_object(&w);
    for (int f = 0; f < 4; f++) kv_str(&w, idx_names[f], hex[f]);
    ghm_jw_end_object(&w);
    /* packages (name, version), in face order, each once */
    ghm_jw_key(&w, "packages");
    ghm_jw_begin_array(&w);
    for (int i = 0; i < s->n_faces; i++) {
        int seen = 0;
        for (int k = 0; k < i && !seen; k++) seen = strcmp(s->faces[k].package, s->faces[i].package) == 0;
        if (seen) continue;
        int faces = 0;
        for (int k = i; k < s->n_faces; k++) faces += strcmp(s->faces[k].package, s->faces[i].package) == 0;
        ghm_jw_begin_object(&w);
        kv_str(&w, "name", s->faces[i].package);
        kv_str(&w, "version", s->faces[i].version);
        kv_int(&w, "faces", faces);
        ghm_jw_end_object(&w);
    }
    ghm_jw_end_array(&w);
    ghm_jw_key(&w, "faces");
    ghm_jw_begin_array(&w);
    for (int i = 0; i < s->n_faces; i++) {
        const ghm_glyph_face *F = &s->faces[i];
        ghm_jw_begin_object(&w);
        kv_str(&w, "package", F->package);
        kv_str(&w, "file", F->path);
        kv_int(&w, "index", F->index);
        kv_str(&w, "family", F->family);
        kv_str(&w, "style", F->style);
        kv_str(&w, "sha256", F->sha256);
        kv_int(&w, "glyphs", F->glyphs);
        kv_int(&w, "missing", F->missing);
        ghm_jw_end_object(&w);
    }
    ghm_jw_end_array(&w);
    ghm_jw_key(&w, "skipped");
    ghm_jw_begin_array(&w);
    for (int i = 0; i < s->n_skipped; i++) {
        ghm_jw_begin_object(&w);
        kv_str(&w, "file", s->skipped[i].path);
        kv_int(&w, "index", s->skipped[i].index);
        kv_str(&w, "reason", s->skipped[i].reason);
        ghm_jw_end_object(&w);
    }
    ghm_jw_end_array(&w);
    long tot_exact = 0, tot_near = 0, tot_missing = 0;
    ghm_jw_key(&w, "classes");
    ghm_jw_begin_array(&w);
    for (int c = 0; c < n; c++) {
        ghm_jw_begin_object(&w);
        kv_str(&w, "char", ghm_glyphs_utf8(s->chars[c], u8));
        snprintf(buf, sizeof buf, "U+%04X", (unsigned)s->chars[c]);
        kv_str(&w, "codepoint", buf);
        kv_int(&w, "train", s->count[c] - test_n[c]);
        kv_int(&w, "test", test_n[c]);
        kv_int(&w, "missing", s->missing[c]);
        kv_int(&w, "exact_duplicates", s->exact_dups[c]);
        kv_int(&w, "near_duplicates", s->near_dups[c]);
        ghm_jw_end_object(&w);
        tot_exact += s->exact_dups[c];
        tot_near += s->near_dups[c];
        tot_missing += s->missing[c];
    }
    ghm_jw_end_array(&w);
    ghm_jw_key(&w, "homoglyphs_left_out");
    ghm_jw_begin_array(&w);
    for (int i = 0; i < N_HOMOGLYPHS; i++) {
        char u2[8];
        snprintf(buf, sizeof buf, "U+%04X %s = U+%04X %s", (unsigned)homoglyphs[i][0], ghm_glyphs_utf8(homoglyphs[i][0], u8),
                 (unsigned)homoglyphs[i][1], ghm_glyphs_utf8(homoglyphs[i][1], u2));
        ghm_jw_string(&w, buf);
    }
    ghm_jw_end_array(&w);
    enum { CAP = 64 };
    int pa[CAP], pb[CAP];
    double pf[CAP];
    int np = ghm_glyphs_confusable(s, 0.5, 10, CAP, pa, pb, pf);
    ghm_jw_key(&w, "confusable_classes");
    ghm_jw_begin_array(&w);
    for (int i = 0; i < np; i++) {
        char u2[8];
        int both = s->pair_both[(size_t)pa[i] * n + pb[i]];
        snprintf(buf, sizeof buf, "U+%04X %s ~ U+%04X %s: %d of %d faces", (unsigned)s->chars[pa[i]],
                 ghm_glyphs_utf8(s->chars[pa[i]], u8), (unsigned)s->chars[pb[i]], ghm_glyphs_utf8(s->chars[pb[i]], u2),
                 s->pair_near[(size_t)pa[i] * n + pb[i]], both);
        ghm_jw_string(&w, buf);
    }
    ghm_jw_end_array(&w);
    ghm_jw_key(&w, "totals");
    ghm_jw_begin_object(&w);
    kv_int(&w, "classes", n);
    kv_int(&w, "faces", s->n_faces);
    kv_int(&w, "images", s->n_images);
    kv_int(&w, "train", ntr);
    kv_int(&w, "test", nte);
    kv_int(&w, "missing", tot_missing);
    kv_int(&w, "exact_duplicates", tot_exact);
    kv_int(&w, "near_duplicates", tot_near);
    ghm_jw_end_object(&w);
    ghm_jw_end_object(&w);
    if (w.failed) {
        rc = ghm_error_set(err, GHM_ENOMEM, "glyphs: out of memory (manifest)");
        goto done;
    }
    free(path);
    path = ghm_ds_strdupf("%s/manifest.json", dir);
    if (!path) {
        rc = ghm_error_set(err, GHM_ENOMEM, "glyphs: out of memory");
        goto done;
    }
    rc = ghm_write_file_atomic(path, w.buf, w.len, err);
    if (!rc && manifest_sha256) sha256_bytes(w.buf, w.len, manifest_sha256);
done:
    ghm_jw_free(&w);
    free(path);
    free(test_n);
    free(px[0]);
    free(px[1]);
    free(lb[0]);
    free(lb[1]);
    return rc;
}

/* ---- the loader ----------------------------------------------------------- */
static int parse_cp(const char *s, uint32_t *cp)
{
    if (!s || s[0] != 'U' || s[1] != '+') return 0;
    char *end = NULL;
    unsigned long v = strtoul(s + 2, &end, 16);
    if (end == s + 2 || *end || v > 0x10FFFF) return 0;
    *cp = (uint32_t)v;
    return 1;
}

/* an integer member in [lo, hi], or an error naming the manifest and field */
static int get_int(const ghm_json *j, const char *key, long lo, long hi, const char *mpath, const char *where, long *v,
                   ghm_error *err)
{
    const ghm_json *x = ghm_json_get(j, key);
    if (!x || x->type != GHM_JSON_NUMBER || x->num != floor(x->num) || x->num < lo || x->num > hi)
        return ghm_error_set(err, GHM_EINPUT, "%s: %s%s: expected an integer in [%ld, %ld]", mpath, where, key, lo, hi);
    *v = (long)x->num;
    return 0;
}

static int load_part(const char *dir, int f, int S, int K, ghm_images *out, const char *want_hash, ghm_error *err)
{
    char *ip = ghm_ds_strdupf("%s/%s", dir, idx_names[f]), *lp = ghm_ds_strdupf("%s/%s", dir, idx_names[f + 1]);
    uint8_t *px = NULL, *lb = NULL;
    int rc = 0, nd = 0, dims[4], ld = 0, ldims[4];
    char hex[65];
    if (!ip || !lp) {
        rc = ghm_error_set(err, GHM_ENOMEM, "out of memory");
        goto done;
    }
    const char *paths[2] = {ip, lp};
    for (int k = 0; k < 2 && !rc; k++) {
        rc = ghm_glyphs_sha256_file(paths[k], hex, err);
        if (!rc && strcmp(hex, want_hash + 65 * k) != 0)
            rc = ghm_error_set(err, GHM_EINPUT,
                               "%s: its SHA-256 differs from the one in %s/manifest.json (changed or corrupt); rebuild "
                               "with `./ghm data get glyphs --force`",
                               paths[k], dir);
    }
    if (rc) goto done;
    if ((rc = ghm_idx_read(ip, &nd, dims, &px, err))) goto done;
    if (nd != 3 || dims[1] != S || dims[2] != S) {
        rc = ghm_error_set(err, GHM_EINPUT, "%s: expected (n, %d, %d) images as manifest.json says", ip, S, S);
        goto done;
    }
    if ((rc = ghm_idx_read(lp, &ld, ldims, &lb, err))) goto done;
    if (ld != 1 || ldims[0] != dims[0]) {
        rc = ghm_error_set(err, GHM_EINPUT, "%s: expected %d labels (one per image of %s)", lp, dims[0], ip);
        goto done;
    }
    out->labels = malloc(sizeof(int) * (size_t)(dims[0] ? dims[0] : 1));
    if (!out->labels) {
        rc = ghm_error_set(err, GHM_ENOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < dims[0]; i++) {
        if (lb[i] >= K) {
            rc = ghm_error_set(err, GHM_EINPUT, "%s: label %d of item %d is out of range [0, %d)", lp, lb[i], i, K);
            free(out->labels);
            out->labels = NULL;
            goto done;
        }
        out->labels[i] = lb[i];
    }
    out->n = dims[0];
    out->c = 1;
    out->h = out->w = S;
    out->pixels = px;
    px = NULL;
done:
    free(px);
    free(lb);
    free(ip);
    free(lp);
    return rc;
}

/* Load data from dir holding manifest.json (mpath). */
static int load_glyph_dir(const ghm_dataset_opts *o, const char *dir, const char *mpath, ghm_dataset *d, ghm_error *err)
{
    char *text = NULL;
    size_t len = 0;
    ghm_json *j = NULL;
    int rc = ghm_read_file(mpath, &text, &len, err);
    if (rc) return rc;
    char mhash[65];
    sha256_bytes(text, len, mhash);
    if ((rc = ghm_json_parse(text, len, mpath, &j, err))) goto done;
    if (j->type != GHM_JSON_OBJECT || strcmp(ghm_json_str(j, "format", ""), "ghm-glyphs-1") != 0) {
        rc = ghm_error_set(err, GHM_EINPUT, "%s: not a glyphs manifest (expected \"format\": \"ghm-glyphs-1\")", mpath);
        goto done;
    }
    long S = 0;
    if ((rc = get_int(j, "image_size", 8, 256, mpath, "", &S, err))) goto done;
    if (o->image_size && o->image_size != S) {
        rc = ghm_error_set(err, GHM_EINPUT,
                           "%s holds %ldx%ld glyphs, not the image_size %d asked for: rebuild with `./ghm data "
                           "get glyphs --force --image-size %d`",
                           dir, S, S, o->image_size, o->image_size);
        goto done;
    }
    const ghm_json *files = ghm_json_get(j, "files");
    char want[4][65];
    for (int f = 0; f < 4; f++) {
        const char *h = files ? ghm_json_str(files, idx_names[f], NULL) : NULL;
        if (!h || strlen(h) != 64 || strspn(h, "0123456789abcdef") != 64) {
            rc = ghm_error_set(err, GHM_EINPUT, "%s: files.%s: expected a SHA-256 (64 hex digits)", mpath, idx_names[f]);
            goto done;
        }
        memcpy(want[f], h, 65);
    }
    const ghm_json *cls = ghm_json_get(j, "classes");
    if (!cls || cls->type != GHM_JSON_ARRAY || cls->n < 2 || cls->n > GHM_MAX_CLASSES) {
        rc = ghm_error_set(err, GHM_EINPUT, "%s: classes: expected an array of 2 to %d classes", mpath, GHM_MAX_CLASSES);
        goto done;
    }
    int K = cls->n;
    long ctr[GHM_MAX_CLASSES], cte[GHM_MAX_CLASSES];
    for (int c = 0; c < K; c++) {
        char where[48];
        snprintf(where, sizeof where, "classes[%d].", c);
        const ghm_json *x = &cls->items[c];
        uint32_t cp;
        if (x->type != GHM_JSON_OBJECT || !parse_cp(ghm_json_str(x, "codepoint", NULL), &cp)) {
            rc = ghm_error_set(err, GHM_EINPUT, "%s: %scodepoint: expected \"U+XXXX\"", mpath, where);
            goto done;
        }
        if ((rc = get_int(x, "train", 0, 1L << 30, mpath, where, &ctr[c], err))) goto done;
        if ((rc = get_int(x, "test", 0, 1L << 30, mpath, where, &cte[c], err))) goto done;
        char u8[8];
        snprintf(d->class_names[c], GHM_CLASS_NAME_MAX, "U+%04X %s", (unsigned)cp, ghm_glyphs_utf8(cp, u8));
    }
    d->n_classes = K;
    if ((rc = load_part(dir, 0, (int)S, K, &d->train, want[0], err))) goto done;
    if ((rc = load_part(dir, 2, (int)S, K, &d->test, want[2], err))) goto done;
    long got_tr[GHM_MAX_CLASSES] = {0}, got_te[GHM_MAX_CLASSES] = {0};
    for (int i = 0; i < d->train.n; i++) got_tr[d->train.labels[i]]++;
    for (int i = 0; i < d->test.n; i++) got_te[d->test.labels[i]]++;
    for (int c = 0; c < K; c++)
        if (got_tr[c] != ctr[c] || got_te[c] != cte[c]) {
            rc = ghm_error_set(err, GHM_EINPUT, "%s: class %d (%s) has %ld train + %ld test images in the IDX files, the "
                               "manifest says %ld + %ld",
                               mpath, c, d->class_names[c], got_tr[c], got_te[c], ctr[c], cte[c]);
            goto done;
        }
    const ghm_json *tot = ghm_json_get(j, "totals");
    snprintf(d->source, sizeof d->source, "%s (glyphs rendered from %d faces, %dx%d; manifest sha256:%.16s...)", dir,
             (int)ghm_json_num(tot, "faces", 0), (int)S, (int)S, mhash);
    snprintf(d->manifest, sizeof d->manifest, "sha256:%s", mhash);
done:
    ghm_json_free(j);
    free(text);
    return rc;
}

int ghm_ds_load_glyphs(const ghm_dataset_opts *o, ghm_dataset *d, ghm_error *err)
{
    char *dirs[4];
    int nd = ghm_ds_search_dirs(o, "glyphs", dirs);
    int rc = 1;
    for (int i = 0; i < nd; i++)
        if (!dirs[i]) {
            ghm_ds_free_dirs(dirs, nd);
            return ghm_error_set(err, GHM_ENOMEM, "out of memory");
        }
    for (int i = 0; i < nd && rc == 1; i++) {
        char *m = ghm_ds_strdupf("%s/manifest.json", dirs[i]);
        if (!m) rc = ghm_error_set(err, GHM_ENOMEM, "out of memory");
        else if (ghm_ds_file_exists(m)) rc = load_glyph_dir(o, dirs[i], m, d, err);
        free(m);
    }
    if (rc == 1) {
        char list[800];
        size_t used = 0;
        list[0] = 0;
        for (int i = 0; i < nd && used < sizeof list; i++) {
            int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", dirs[i]);
            if (w > 0) used += (size_t)w;
        }
        rc = ghm_error_set(err, GHM_EINPUT,
                           "dataset 'glyphs' not found: no manifest.json in any of: %s. To build it: `./ghm data get "
                           "glyphs` (installs the font packages and renders the glyphs into data/glyphs)",
                           list);
    }
    ghm_ds_free_dirs(dirs, nd);
    return rc;
}
