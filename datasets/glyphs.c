/* The `glyphs` dataset: rendering (FreeType), de-duplication, cache files and
 * the loader. The pipeline and its rules are described in glyphs.h and
 * docs/glyphs.md.
 */
#include "glyphs.h"

#include "../core/fsutil.h"
#include "../core/json.h"
#include "../core/rng.h"
#include "internal.h"

#include <ft2build.h>
#include FT_FREETYPE_H
#include <nettle/sha2.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    /* glyphs v2: drawn alike up to a pixel of width or position (docs/glyphs.md, "Homoglyphs"): each is
     * listed as confusable by Unicode's confusables data (UTS #39, Debian python3-confusable-homoglyphs)
     * and/or has a cross-family nearest-neighbour confusion >= 0.5 (issue 25's check), and is alike in
     * 22% to 39% of faces by the shift-tolerant test */
    {0x3BD, 0x76},  /* Greek nu = Latin v (UTS #39; confusion 0.75) */
    {0x3C1, 0x70},  /* Greek rho = Latin p (UTS #39) */
    {0x417, 0x33},  /* Cyrillic Ze = digit 3 (UTS #39; 0.71) */
    {0x41A, 0x4B},  /* Cyrillic Ka = Latin K (UTS #39; 0.91) */
    {0x424, 0x3A6}, /* Cyrillic Ef = Greek Phi (UTS #39; 0.85) */
    {0x433, 0x72},  /* Cyrillic ghe = Latin r in italics (UTS #39; 0.51) */
    {0x43A, 0x3BA}, /* Cyrillic ka = Greek kappa (0.93) */
    {0x43F, 0x6E},  /* Cyrillic pe = Latin n in italics (0.68) */
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

/* Open path for reading only if it is a regular file of at most cap bytes
 * (FIFOs and devices such as /dev/zero never end; directories are no files).
 * Returns the fd, or a negative error naming the file. */
static int open_regular(const char *path, long long cap, const char *what, long long *size, ghm_error *err)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return ghm_error_set(err, e == ENOENT || e == ENOTDIR || e == EISDIR ? GHM_EINPUT : GHM_EIO,
                             "%s: cannot open: %s", path, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return ghm_error_set(err, GHM_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return ghm_error_set(err, GHM_EINPUT, "%s: not a regular file (%s expected)", path, what);
    }
    if ((long long)st.st_size > cap) {
        close(fd);
        return ghm_error_set(err, GHM_EINPUT, "%s: %lld bytes, more than the %lld that a %s may have", path,
                             (long long)st.st_size, cap, what);
    }
    *size = (long long)st.st_size;
    return fd;
}

/* Read a whole regular file of at most cap bytes, NUL-terminated. */
static int read_capped(const char *path, long long cap, const char *what, char **out, size_t *len, ghm_error *err)
{
    *out = NULL;
    *len = 0;
    long long size = 0;
    int fd = open_regular(path, cap, what, &size, err);
    if (fd < 0) return fd;
    char *buf = malloc((size_t)size + 2);
    if (!buf) {
        close(fd);
        return ghm_error_set(err, GHM_ENOMEM, "%s: out of memory", path);
    }
    size_t got = 0;
    for (;;) { /* reads at most size + 1 bytes: a file that grew past its size is refused */
        ssize_t r = read(fd, buf + got, (size_t)size + 1 - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return ghm_error_set(err, GHM_EIO, "%s: read failed: %s", path, strerror(e));
        }
        if (r == 0) break;
        got += (size_t)r;
        if (got > (size_t)size) {
            free(buf);
            close(fd);
            return ghm_error_set(err, GHM_EINPUT, "%s: grew while being read (more than %lld bytes)", path, size);
        }
    }
    close(fd);
    buf[got] = 0;
    *out = buf;
    *len = got;
    return 0;
}

int ghm_glyphs_sha256_file(const char *path, char hex[65], ghm_error *err)
{
    long long size = 0;
    int fd = open_regular(path, GHM_GLYPHS_MAX_FILE_BYTES, "font or data file", &size, err);
    if (fd < 0) return fd;
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    uint8_t buf[1 << 16];
    long long total = 0;
    for (;;) {
        ssize_t got = read(fd, buf, sizeof buf);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            int e = errno;
            close(fd);
            return ghm_error_set(err, GHM_EIO, "%s: read error: %s", path, strerror(e));
        }
        if (got == 0) break;
        total += got;
        if (total > GHM_GLYPHS_MAX_FILE_BYTES) {
            close(fd);
            return ghm_error_set(err, GHM_EINPUT, "%s: more than %lld bytes (grew while being read)", path,
                                 (long long)GHM_GLYPHS_MAX_FILE_BYTES);
        }
        sha256_update(&ctx, (size_t)got, buf);
    }
    close(fd);
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, d);
    hex_digest(d, hex);
    return 0;
}

int ghm_glyphs_check_out_dir(const char *dir, ghm_error *err)
{
    struct stat st;
    if (!dir || !dir[0]) return ghm_error_set(err, GHM_EINPUT, "glyphs: empty output directory name");
    if (stat(dir, &st) == 0 ? !S_ISDIR(st.st_mode) : errno == ENOTDIR)
        return ghm_error_set(err, GHM_EINPUT, "%s: exists and is not a directory, or lies below a file (the output "
                             "directory)", dir);
    return 0;
}

/* ---- font list ------------------------------------------------------------ */
int ghm_glyphs_read_font_list(const char *path, ghm_font_entry **out, int *n, ghm_error *err)
{
    *out = NULL;
    *n = 0;
    char *text = NULL;
    size_t len = 0;
    int rc = read_capped(path, GHM_GLYPHS_MAX_LIST_BYTES, "font list", &text, &len, err);
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
    o->shift_level = 10;
    o->clone_level = 1;
    o->clone_fraction = 0.2;
    o->clone_min_shared = 1;
    o->faint_peak = 128;
    o->min_ink_px = 5;
    o->scale_refs = NULL;
    o->n_scale_refs = 0;
    o->cap_px = 0;
}

void ghm_glyphs_family_key(const char *name, char out[64])
{
    static const char *const derived[][2] = {
        {"Hack", "DejaVu"},          /* Hack is a fork of DejaVu Sans Mono (Bitstream Vera) */
        {"FreeSans", "Nimbus"},      /* GNU FreeFont's Free* derive from URW's Nimbus */
        {"FreeSerif", "Nimbus"},
        {"FreeMono", "Nimbus"},
        {"Liberation", "Arimo"},     /* Liberation 1.x = Ascender's Arimo / Tinos / Cousine designs */
        {"Tinos", "Arimo"},
        {"Cousine", "Arimo"},
        /* glyphs-xl (CJK): one key per design, whatever the name says of weight, width or region */
        {"IPAGothic", "IPA"}, {"IPAPGothic", "IPA"}, {"IPAMincho", "IPA"}, {"IPAPMincho", "IPA"},
        {"IPAexGothic", "IPA"}, {"IPAexMincho", "IPA"}, /* IPAex derives from the IPA fonts */
        {"UnBatang", "Un"}, {"UnDotum", "Un"}, {"UnGungseo", "Un"}, {"UnDinaru", "Un"}, {"UnGraphic", "Un"},
        {"UnPilgi", "Un"},
        {"NanumGothic", "Nanum"}, {"NanumBarunGothic", "Nanum"}, {"NanumMyeongjo", "Nanum"}, {"NanumSquare", "Nanum"},
        {"NanumSquareRound", "Nanum"}, {"NanumGothicCoding", "Nanum"},
        {"HanaMinA", "HanaMin"}, {"HanaMinB", "HanaMin"},
        {"SetoFont", "Seto"}, {"SetoFont-ex", "Seto"},
        {"TakaoGothic", "IPA"}, {"TakaoPGothic", "IPA"}, {"TakaoMincho", "IPA"}, {"TakaoPMincho", "IPA"}, /* = IPA */
    };
    /* WenQuanYi Micro Hei derives from Droid Sans Fallback (Zen Hei is WenQuanYi's own design) */
    if (strncmp(name, "WenQuanYi Micro Hei", 19) == 0) {
        snprintf(out, 64, "Droid");
        return;
    }
    size_t k = strcspn(name, " ");
    if (k > 63) k = 63;
    memcpy(out, name, k);
    out[k] = 0;
    for (size_t i = 0; i < sizeof derived / sizeof derived[0]; i++)
        if (strcmp(out, derived[i][0]) == 0) {
            snprintf(out, 64, "%s", derived[i][1]);
            break;
        }
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

/* sum |a - b| over n bytes, or some value above limit as soon as it passes it */
static long sad_capped(const uint8_t *a, const uint8_t *b, int n, long limit)
{
    long s = 0;
    for (int i = 0; i < n && s <= limit; i += 64) {
        int e = i + 64 < n ? i + 64 : n;
        for (int k = i; k < e; k++) s += a[k] > b[k] ? a[k] - b[k] : b[k] - a[k];
    }
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

/* Render one face's characters into fbuf (n + 1 images), have[c] = 1 for the
 * characters it really draws. 0 ok, <0 error. */
static int render_face(ghm_glyph_set *s, const ghm_glyphs_opts *o, FT_Face face, int fidx, uint8_t *fbuf,
                       uint8_t *have, const char *path, ghm_error *err)
{
    const int S = s->size, n = s->n_chars, P = S * S;
    /* scale: the face's cap height (ink height of H, else Cyrillic En, else Greek Eta) becomes cap_px */
    static const uint32_t latin_refs[3] = {0x48, 0x41D, 0x397};
    const uint32_t *refs = o->scale_refs ? o->scale_refs : latin_refs;
    int nref = o->scale_refs ? o->n_scale_refs : 3;
    double ref_ppem = 256.0, cap = 0;
    if (FT_Set_Char_Size(face, 0, (FT_F26Dot6)(ref_ppem * 64), 72, 72))
        return ghm_error_set(err, GHM_EINPUT, "%s: face %d: FreeType cannot set a size", path, fidx);
    for (int k = 0; k < nref && cap <= 0; k++) {
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
        int ink = 0;
        for (int i = 0; i < P; i++) ink += img[i] >= 128;
        have[c] = ink < s->min_ink_px ? 2 : 1; /* 2: drawn, but with too little ink (see the caller) */
    }
    return 0;
}

/* 2 x 2 box average of an S x S image into (S/2) x (S/2) (S even; odd: last row/column dropped) */
static void half_res(const uint8_t *img, int S, uint8_t *out)
{
    int h = S / 2;
    for (int r = 0; r < h; r++)
        for (int c = 0; c < h; c++) {
            const uint8_t *p = img + (size_t)(2 * r) * S + 2 * c;
            out[r * h + c] = (uint8_t)((p[0] + p[1] + p[S] + p[S + 1] + 2) / 4);
        }
}

/* Shift-tolerant difference of two h x h images: the smallest, over shifts of b
 * by -1, 0, +1 pixel in each direction (pixels shifted in are 0), of sum |a - b|;
 * gives up (returns limit + 1) as soon as a shift's sum passes limit. */
static long shift_sad(const uint8_t *a, const uint8_t *b, int h, long limit)
{
    long best = limit + 1;
    for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
            long sum = 0;
            for (int r = 0; r < h && sum <= limit; r++) {
                int rb = r - dy;
                for (int c = 0; c < h; c++) {
                    int cb = c - dx;
                    int vb = rb >= 0 && rb < h && cb >= 0 && cb < h ? b[rb * h + cb] : 0;
                    sum += a[r * h + c] > vb ? a[r * h + c] - vb : vb - a[r * h + c];
                }
            }
            if (sum < best) best = sum;
        }
    return best;
}

int ghm_glyphs_alike_shifted(const uint8_t *a, const uint8_t *b, int size, int percent)
{
    if (size < 2 || size > 256 || (size & 1) || percent < 0) return 0;
    int h = size / 2;
    uint8_t *ha = malloc((size_t)h * h * 2);
    if (!ha) return -1;
    uint8_t *hb = ha + (size_t)h * h;
    half_res(a, size, ha);
    half_res(b, size, hb);
    long ia = 0, ib = 0;
    for (int i = 0; i < h * h; i++) {
        ia += ha[i];
        ib += hb[i];
    }
    long lim = (ia > ib ? ia : ib) * percent / 100;
    int r = shift_sad(ha, hb, h, lim) <= lim;
    free(ha);
    return r;
}

/* The faint-face rule: the median, over the face's images, of the image's
 * darkest (largest) grey value. */
static int median_peak(const uint8_t *fbuf, const uint8_t *have, int n, int P)
{
    int hist[256] = {0}, m = 0;
    for (int c = 0; c < n; c++) {
        if (!have[c]) continue; /* drawn (1) or drawn with too little ink (2) */
        const uint8_t *img = fbuf + (size_t)c * P;
        int pk = 0;
        for (int i = 0; i < P; i++)
            if (img[i] > pk) pk = img[i];
        hist[pk]++;
        m++;
    }
    if (m == 0) return 0;
    for (int v = 0, acc = 0; v < 256; v++) {
        acc += hist[v];
        if (2 * acc >= m) return v;
    }
    return 255;
}

/* The clone rule: the earlier kept face (index into allpx/allhave) with the largest
 * fraction of shared characters whose images are within clone_level (mean |a - b|
 * in grey levels) of this face's; *frac, *near, *both get that face's counts.
 * Returns -1 when no earlier face shares a character. */
static int closest_face(const ghm_glyph_set *s, const uint8_t *allpx, const uint8_t *allhave, int nprev,
                        const uint8_t *fbuf, const uint8_t *have, double *frac, int *near_out, int *both_out)
{
    const int n = s->n_chars, P = s->size * s->size;
    long lim = (long)s->clone_level * P;
    int best = -1;
    *frac = 0;
    *near_out = *both_out = 0;
    for (int f = 0; f < nprev; f++) {
        int both = 0, near = 0;
        for (int c = 0; c < n; c++) {
            if (!have[c] || !allhave[(size_t)f * n + c]) continue;
            both++;
            const uint8_t *a = fbuf + (size_t)c * P, *b = allpx + ((size_t)f * n + c) * P;
            long sum = 0;
            for (int i = 0; i < P && sum <= lim; i++) sum += a[i] > b[i] ? a[i] - b[i] : b[i] - a[i];
            near += sum <= lim;
        }
        if (both == 0 || both < s->clone_min_shared) continue;
        double fr = (double)near / both;
        if (best < 0 || fr > *frac) {
            best = f;
            *frac = fr;
            *near_out = near;
            *both_out = both;
        }
    }
    return best;
}

/* Add a rendered face (fbuf, have) to the class lists. 0 ok, <0 error. */
static int add_face(ghm_glyph_set *s, int fidx, cls_list *lists, const uint8_t *fbuf, const uint8_t *have,
                    uint8_t *half, ghm_error *err)
{
    const int S = s->size, n = s->n_chars, P = S * S, h = S / 2, H = h * h;
    ghm_glyph_face *F = &s->faces[fidx];
    for (int c = 0; c < n; c++)
        if (have[c]) half_res(fbuf + (size_t)c * P, S, half + (size_t)c * H);
    /* confusability between classes within this face: strict and shift-tolerant */
    /* shift-tolerant limit: shift_level percent of the larger image's ink (sum of grey values) */
    long *ink = malloc(sizeof(long) * (size_t)n);
    if (!ink) return ghm_error_set(err, GHM_ENOMEM, "out of memory (glyph images)");
    for (int c = 0; c < n; c++) {
        ink[c] = 0;
        if (have[c])
            for (int i = 0; i < H; i++) ink[c] += half[(size_t)c * H + i];
    }
    long same = (long)s->homoglyph_level * P, near = (long)s->near_dup_level * P;
    for (int a = 0; a < n; a++) {
        if (!have[a]) continue;
        for (int b = a + 1; b < n; b++) {
            if (!have[b]) continue;
            s->pair_both[(size_t)a * n + b]++;
            if (sad_capped(fbuf + (size_t)a * P, fbuf + (size_t)b * P, P, same) <= same) s->pair_near[(size_t)a * n + b]++;
            long lim = (ink[a] > ink[b] ? ink[a] : ink[b]) * s->shift_level / 100;
            if (shift_sad(half + (size_t)a * H, half + (size_t)b * H, h, lim) <= lim) s->pair_shift[(size_t)a * n + b]++;
        }
    }
    free(ink);
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
    free(s->pair_shift);
    free(s->families);
    free(s->left_out);
    memset(s, 0, sizeof *s);
}

/* Why a face is left out before rendering (empty when it is not), into why (GLYPHS_WHY bytes). */
#define GLYPHS_WHY 640

static int glyphs_oom(ghm_error *err) { return ghm_error_set(err, GHM_ENOMEM, "glyphs: out of memory"); }

/* The options ghm_glyphs_render checks before anything is allocated; *chars, *n: the characters. */
static int render_check_opts(const ghm_glyphs_opts *o, int n_fonts, const uint32_t **chars, int *n, ghm_error *err)
{
    if (o->image_size < 8 || o->image_size > 256)
        return ghm_error_set(err, GHM_EINPUT, "glyphs: image_size %d is out of range [8, 256]", o->image_size);
    if (o->near_dup_level < 0 || o->near_dup_level > 255 || o->homoglyph_level < 0 || o->homoglyph_level > 255 ||
        o->shift_level < 0 || o->shift_level > 255 || o->clone_level < 0 || o->clone_level > 255 ||
        o->faint_peak < 0 || o->faint_peak > 256 || o->min_ink_px < 0 || !(o->clone_fraction > 0) ||
        o->clone_min_shared < 1 ||
        o->clone_fraction > 1.0 || (o->image_size & 1))
        return ghm_error_set(err, GHM_EINPUT, "glyphs: a rendering constant is out of range (grey levels in [0, 255], "
                             "clone_fraction in (0, 1], an even image_size)");
    *chars = o->chars;
    *n = o->n_chars;
    if (!*chars) *n = ghm_glyphs_charset(chars);
    if (*n < 1 || *n > GHM_MAX_CLASSES)
        return ghm_error_set(err, GHM_EINPUT, "glyphs: %d characters (expected 1 to %d)", *n, GHM_MAX_CLASSES);
    if (o->cap_px < 0 || o->cap_px > o->image_size || (o->scale_refs && (o->n_scale_refs < 1 || o->n_scale_refs > 16)))
        return ghm_error_set(err, GHM_EINPUT, "glyphs: cap_px %d / %d scale characters out of range", o->cap_px,
                             o->n_scale_refs);
    if (n_fonts < 1) return ghm_error_set(err, GHM_EINPUT, "glyphs: no font files");
    return 0;
}

/* The set's rendering constants, from the options. */
static void render_set_constants(ghm_glyph_set *s, const ghm_glyphs_opts *o, int n)
{
    const int S = o->image_size;
    s->size = S;
    s->cap_px = o->cap_px > 0 ? o->cap_px : S / 2;
    s->order_seed = -1;
    s->box_px = S - 4;
    s->near_dup_level = o->near_dup_level;
    s->homoglyph_level = o->homoglyph_level;
    s->shift_level = o->shift_level;
    s->clone_level = o->clone_level;
    s->clone_fraction = o->clone_fraction;
    s->clone_min_shared = o->clone_min_shared;
    s->faint_peak = o->faint_peak;
    s->min_ink_px = o->min_ink_px;
    s->n_chars = n;
}

/* The work of ghm_glyphs_render. */
typedef struct {
    const ghm_glyphs_opts *o;
    int n, P;                 /* characters, pixels per image */
    FT_Library lib;
    ghm_font_entry *sorted;   /* the font files, sorted (cmp_entry) */
    char (*hashes)[65];       /* their SHA-256, in that order */
    cls_list *lists;          /* per class: the images kept */
    uint8_t *fbuf, *have;     /* one face's renders and which characters it has (2: too little ink) */
    uint8_t *half;            /* half-size images (render_face, add_face) */
    uint8_t *allpx, *allhave; /* every kept face's renders, for the clone rule */
    int skip_cap, face_cap;   /* capacities of s->skipped, s->faces */
} render_work;

static void render_work_free(render_work *w)
{
    if (w->lib) FT_Done_FreeType(w->lib);
    if (w->lists)
        for (int c = 0; c < w->n; c++) {
            free(w->lists[c].px);
            free(w->lists[c].face);
        }
    free(w->lists);
    free(w->sorted);
    free(w->hashes);
    free(w->fbuf);
    free(w->have);
    free(w->half);
    free(w->allpx);
    free(w->allhave);
}

/* Allocate the set's per-class arrays and w's buffers, check the character order, sort the font files and
 * start FreeType (its version goes into the set). */
static int render_start(ghm_glyph_set *s, render_work *w, const uint32_t *chars, const ghm_font_entry *fonts,
                        int n_fonts, ghm_error *err)
{
    const int n = w->n, S = w->o->image_size;
    s->chars = malloc(sizeof(uint32_t) * (size_t)n);
    s->count = calloc((size_t)n, sizeof(int));
    s->missing = calloc((size_t)n, sizeof(int));
    s->exact_dups = calloc((size_t)n, sizeof(int));
    s->near_dups = calloc((size_t)n, sizeof(int));
    s->pair_both = calloc((size_t)n * n, sizeof(int));
    s->pair_near = calloc((size_t)n * n, sizeof(int));
    s->pair_shift = calloc((size_t)n * n, sizeof(int));
    w->half = malloc((size_t)n * (S / 2) * (S / 2) + 1);
    w->sorted = malloc(sizeof *w->sorted * (size_t)n_fonts);
    w->hashes = malloc(sizeof *w->hashes * (size_t)n_fonts);
    w->lists = calloc((size_t)n, sizeof *w->lists);
    w->fbuf = malloc((size_t)(n + 1) * w->P);
    w->have = malloc((size_t)n);
    if (!s->chars || !s->count || !s->missing || !s->exact_dups || !s->near_dups || !s->pair_both || !s->pair_near ||
        !s->pair_shift || !w->half || !w->sorted || !w->hashes || !w->lists || !w->fbuf || !w->have)
        return glyphs_oom(err);
    memcpy(s->chars, chars, sizeof(uint32_t) * (size_t)n);
    for (int i = 1; i < n; i++)
        if (chars[i] <= chars[i - 1])
            return ghm_error_set(err, GHM_EINPUT, "glyphs: characters must be in increasing code-point order (U+%04X after U+%04X)",
                                 (unsigned)chars[i], (unsigned)chars[i - 1]);
    memcpy(w->sorted, fonts, sizeof *w->sorted * (size_t)n_fonts);
    qsort(w->sorted, (size_t)n_fonts, sizeof *w->sorted, cmp_entry);

    if (FT_Init_FreeType(&w->lib)) {
        w->lib = NULL;
        return ghm_error_set(err, GHM_EFAIL, "glyphs: FreeType failed to initialise");
    }
    FT_Int vmaj, vmin, vpat;
    FT_Library_Version(w->lib, &vmaj, &vmin, &vpat);
    snprintf(s->freetype, sizeof s->freetype, "%d.%d.%d", vmaj, vmin, vpat);
    return 0;
}

/* Why an opened face is left out before it is rendered (why empty: it is not): a bitmap font, no Unicode
 * map, no family name, an excluded family, or the family and style of a face already kept. */
static void face_skip_reason(const ghm_glyph_set *s, const ghm_glyphs_opts *o, FT_Face face, char why[GLYPHS_WHY])
{
    const char *fam = face->family_name ? face->family_name : "", *sty = face->style_name ? face->style_name : "";
    why[0] = 0;
    if (!FT_IS_SCALABLE(face)) snprintf(why, GLYPHS_WHY, "not scalable (a bitmap font)");
    else if (FT_Select_Charmap(face, FT_ENCODING_UNICODE)) snprintf(why, GLYPHS_WHY, "no Unicode character map");
    else if (!fam[0]) snprintf(why, GLYPHS_WHY, "no family name");
    for (size_t k = 0; k < sizeof excluded_families / sizeof excluded_families[0] && !why[0]; k++)
        if (strcmp(fam, excluded_families[k][0]) == 0)
            snprintf(why, GLYPHS_WHY, "family left out: %s", excluded_families[k][1]);
    if (!why[0] && !o->keep_same_name_faces)
        for (int k = 0; k < s->n_faces && !why[0]; k++)
            if (strcmp(s->faces[k].family, fam) == 0 && strcmp(s->faces[k].style, sty) == 0)
                snprintf(why, GLYPHS_WHY, "same family and style as %s", s->faces[k].path);
}

/* After the face s->n_faces is rendered into w->fbuf / w->have: why it is left out (why empty: kept) as
 * faint, empty or a clone of a kept face. Images with too little ink become missing ones (counted in
 * s->faint_images, which the caller restores when the face is left out). */
static void judge_rendered_face(ghm_glyph_set *s, render_work *w, char why[GLYPHS_WHY])
{
    const ghm_glyphs_opts *o = w->o;
    const int n = w->n;
    uint8_t *have = w->have;
    /* faint faces: median peak below faint_peak, or over 10% of the drawings with too little ink;
     * in a kept face, an image with too little ink counts as missing */
    int nhave = 0, npoor = 0;
    for (int c = 0; c < n; c++) {
        nhave += have[c] != 0;
        npoor += have[c] == 2;
    }
    int pk = nhave ? median_peak(w->fbuf, have, n, w->P) : 0;
    for (int c = 0; c < n; c++)
        if (have[c] == 2) have[c] = 0;
    if (nhave == 0) snprintf(why, GLYPHS_WHY, "has none of the characters");
    else if (!o->keep_faint_faces && (pk < s->faint_peak || 10 * npoor > nhave))
        snprintf(why, GLYPHS_WHY,
                 "faint: median image peak grey %d (left out below %d of 255), %d of %d drawings with fewer "
                 "than %d pixels at grey >= 128 (left out above 10%%)",
                 pk, s->faint_peak, npoor, nhave, s->min_ink_px);
    s->faint_images += npoor;
    nhave -= npoor;
    if (!why[0] && nhave == 0) snprintf(why, GLYPHS_WHY, "has none of the characters with enough ink");
    if (nhave > 0 && !why[0] && !o->keep_clones) {
        double fr = 0;
        int nr = 0, both = 0;
        int cf = closest_face(s, w->allpx, w->allhave, s->n_faces, w->fbuf, have, &fr, &nr, &both);
        if (cf >= 0 && fr >= s->clone_fraction) {
            const char *base = strrchr(s->faces[cf].path, '/');
            snprintf(why, GLYPHS_WHY,
                     "clone of %.60s %.60s (%.200s): %d of %d shared characters within %d grey level(s) (>= %.0f%%)",
                     s->faces[cf].family, s->faces[cf].style, base ? base + 1 : s->faces[cf].path, nr, both,
                     s->clone_level, 100.0 * s->clone_fraction);
        }
    }
}

/* Face xi of the font file w->sorted[fi]: opened, judged, rendered and kept as s->faces[s->n_faces], or
 * listed in s->skipped with the reason. */
static int render_font_face(ghm_glyph_set *s, render_work *w, int fi, long xi, ghm_error *err)
{
    const ghm_font_entry *E = &w->sorted[fi];
    const int n = w->n, P = w->P;
    char why[GLYPHS_WHY];
    FT_Face face = NULL;
    FT_Error fe = FT_New_Face(w->lib, E->path, xi, &face);
    if (fe) {
        snprintf(why, sizeof why, "FreeType cannot open face %ld (error %d)", xi, (int)fe);
        return add_skip(s, &w->skip_cap, E->path, (int)xi, why) ? glyphs_oom(err) : 0;
    }
    face_skip_reason(s, w->o, face, why);
    if (why[0]) {
        FT_Done_Face(face);
        return add_skip(s, &w->skip_cap, E->path, (int)xi, why) ? glyphs_oom(err) : 0;
    }
    if (s->n_faces == w->face_cap) {
        int nc = w->face_cap ? 2 * w->face_cap : 64;
        ghm_glyph_face *v = realloc(s->faces, sizeof *v * (size_t)nc);
        if (!v) {
            FT_Done_Face(face);
            return glyphs_oom(err);
        }
        s->faces = v;
        w->face_cap = nc;
    }
    const char *fam = face->family_name ? face->family_name : "", *sty = face->style_name ? face->style_name : "";
    ghm_glyph_face *F = &s->faces[s->n_faces];
    memset(F, 0, sizeof *F);
    snprintf(F->package, sizeof F->package, "%s", E->package);
    snprintf(F->version, sizeof F->version, "%s", E->version);
    snprintf(F->path, sizeof F->path, "%s", E->path);
    F->index = (int)xi;
    snprintf(F->family, sizeof F->family, "%s", fam);
    snprintf(F->style, sizeof F->style, "%s", sty);
    memcpy(F->sha256, w->hashes[fi], 65);
    long faint0 = s->faint_images; /* counted only for faces kept */
    int rc = render_face(s, w->o, face, s->n_faces, w->fbuf, w->have, E->path, err);
    FT_Done_Face(face);
    if (rc < 0) return rc;
    judge_rendered_face(s, w, why);
    if (why[0]) {
        s->faint_images = faint0;
        return add_skip(s, &w->skip_cap, E->path, (int)xi, why) ? glyphs_oom(err) : 0;
    }
    if ((rc = add_face(s, s->n_faces, w->lists, w->fbuf, w->have, w->half, err)) < 0) return rc;
    if (F->glyphs == 0) { /* nothing of its own: not one of the faces, its gaps are no class's */
        for (int c = 0; c < n; c++) s->missing[c] -= !w->have[c];
        s->faint_images = faint0;
        snprintf(why, sizeof why, "%s",
                 F->missing == n ? "has none of the characters"
                                 : "every image equals one of an earlier face (exact duplicate outlines)");
        return add_skip(s, &w->skip_cap, E->path, (int)xi, why) ? glyphs_oom(err) : 0;
    }
    /* kept: its renders stay for the clone rule */
    uint8_t *np = realloc(w->allpx, (size_t)(s->n_faces + 1) * n * P);
    if (!np) return glyphs_oom(err);
    w->allpx = np;
    uint8_t *nh = realloc(w->allhave, (size_t)(s->n_faces + 1) * n);
    if (!nh) return glyphs_oom(err);
    w->allhave = nh;
    memcpy(w->allpx + (size_t)s->n_faces * n * P, w->fbuf, (size_t)n * P);
    memcpy(w->allhave + (size_t)s->n_faces * n, w->have, (size_t)n);
    s->n_faces++;
    return 0;
}

/* The font file w->sorted[fi]: left out when its content repeats an earlier file's or FreeType cannot open
 * it, else each of its faces (render_font_face). */
static int render_font_file(ghm_glyph_set *s, render_work *w, int fi, ghm_error *err)
{
    const ghm_font_entry *E = &w->sorted[fi];
    int rc;
    if ((rc = ghm_glyphs_sha256_file(E->path, w->hashes[fi], err)) < 0) return rc;
    int seen = -1;
    for (int k = 0; k < fi && seen < 0; k++)
        if (strcmp(w->hashes[k], w->hashes[fi]) == 0) seen = k;
    char why[GLYPHS_WHY];
    if (seen >= 0) {
        const char *base = strrchr(w->sorted[seen].path, '/');
        snprintf(why, sizeof why, "same content as %s", base ? base + 1 : w->sorted[seen].path);
        return add_skip(s, &w->skip_cap, E->path, -1, why) ? glyphs_oom(err) : 0;
    }
    FT_Face probe = NULL;
    FT_Error fe = FT_New_Face(w->lib, E->path, -1, &probe);
    if (fe) {
        snprintf(why, sizeof why, "FreeType cannot open it (error %d)", (int)fe);
        return add_skip(s, &w->skip_cap, E->path, -1, why) ? glyphs_oom(err) : 0;
    }
    long nfaces = probe->num_faces;
    FT_Done_Face(probe);
    for (long xi = 0; xi < nfaces; xi++)
        if ((rc = render_font_face(s, w, fi, xi, err)) < 0) return rc;
    return 0;
}

/* Design families, in order of first face: s->families and each face's family_id. */
static int assign_families(ghm_glyph_set *s, ghm_error *err)
{
    s->families = malloc(sizeof *s->families * (size_t)(s->n_faces ? s->n_faces : 1));
    if (!s->families) return glyphs_oom(err);
    for (int f = 0; f < s->n_faces; f++) {
        char key[64];
        ghm_glyphs_family_key(s->faces[f].family, key);
        int id = -1;
        for (int k = 0; k < s->n_families && id < 0; k++)
            if (strcmp(s->families[k], key) == 0) id = k;
        if (id < 0) {
            id = s->n_families++;
            memcpy(s->families[id], key, 64);
        }
        s->faces[f].family_id = id;
    }
    return 0;
}

/* The kept images, class-major: s->pixels, labels, face_of, count and n_images. */
static int gather_images(ghm_glyph_set *s, const render_work *w, ghm_error *err)
{
    const int n = w->n, P = w->P;
    const cls_list *lists = w->lists;
    long total = 0;
    for (int c = 0; c < n; c++) total += lists[c].n;
    s->pixels = malloc((size_t)(total ? total : 1) * P);
    s->labels = malloc(sizeof(int) * (size_t)(total ? total : 1));
    s->face_of = malloc(sizeof(int) * (size_t)(total ? total : 1));
    if (!s->pixels || !s->labels || !s->face_of) return glyphs_oom(err);
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
    return 0;
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
    const uint32_t *chars = NULL;
    int n = 0;
    int rc = render_check_opts(o, n_fonts, &chars, &n, err);
    if (rc) return rc;
    render_set_constants(s, o, n);
    render_work w = {0};
    w.o = o;
    w.n = n;
    w.P = o->image_size * o->image_size;
    rc = render_start(s, &w, chars, fonts, n_fonts, err);
    for (int fi = 0; fi < n_fonts && rc == 0; fi++) {
        if (o->progress && fi > 0) o->progress(o->progress_ctx, fi, n_fonts, s->n_faces);
        rc = render_font_file(s, &w, fi, err);
    }
    if (rc == 0) rc = assign_families(s, err);
    if (rc == 0) {
        if (o->progress) o->progress(o->progress_ctx, n_fonts, n_fonts, s->n_faces);
        if (s->n_faces == 0)
            rc = ghm_error_set(err, GHM_EINPUT, "glyphs: none of the %d font files has a usable face", n_fonts);
    }
    if (rc == 0) rc = gather_images(s, &w, err);
    render_work_free(&w);
    if (rc < 0) ghm_glyph_set_free(s);
    return rc;
}

/* ---- glyphs-xl ------------------------------------------------------------ */
void ghm_glyphs_xl_opts(ghm_glyphs_opts *o)
{
    /* 国 (U+56FD), 口 (U+53E3), 田 (U+7530): full-height box-shaped ideographs */
    static const uint32_t refs[3] = {0x56FD, 0x53E3, 0x7530};
    ghm_glyphs_opts_default(o);
    o->image_size = GHM_GLYPHS_XL_SIZE;
    o->scale_refs = refs;
    o->n_scale_refs = 3;
    o->cap_px = GHM_GLYPHS_XL_SIZE * 3 / 4;
    o->clone_min_shared = 100;
}

int ghm_glyphs_xl_candidates(const ghm_font_entry *fonts, int n_fonts, int min_families, int target, uint64_t seed,
                             uint32_t **chars, int *n, int *n_eligible, ghm_error *err)
{
    if (n_eligible) *n_eligible = 0;
    enum { LO = 0x4E00, HI = 0x9FFF, NCP = HI - LO + 1 };
    *chars = NULL;
    *n = 0;
    if (n_fonts < 1 || min_families < 1 || target < 2)
        return ghm_error_set(err, GHM_EINPUT, "glyphs-xl: no fonts, or min_families / target out of range");
    /* per family key, a bit per code point; keys in order of first sight */
    int nk = 0, capk = 0, rc = 0;
    char(*keys)[64] = NULL;
    uint8_t *bits = NULL;
    FT_Library lib = NULL;
    if (FT_Init_FreeType(&lib)) return ghm_error_set(err, GHM_EFAIL, "glyphs-xl: FreeType failed to initialise");
    for (int fi = 0; fi < n_fonts && !rc; fi++) {
        FT_Face probe = NULL;
        if (FT_New_Face(lib, fonts[fi].path, -1, &probe)) continue; /* the renderer lists it as skipped */
        long nfaces = probe->num_faces;
        FT_Done_Face(probe);
        for (long xi = 0; xi < nfaces && !rc; xi++) {
            FT_Face face = NULL;
            if (FT_New_Face(lib, fonts[fi].path, xi, &face)) continue;
            if (!FT_IS_SCALABLE(face) || FT_Select_Charmap(face, FT_ENCODING_UNICODE) || !face->family_name) {
                FT_Done_Face(face);
                continue;
            }
            char key[64];
            ghm_glyphs_family_key(face->family_name, key);
            int k = -1;
            for (int i = 0; i < nk && k < 0; i++)
                if (strcmp(keys[i], key) == 0) k = i;
            if (k < 0) {
                if (nk == capk) {
                    int nc = capk ? 2 * capk : 16;
                    void *nkeys = realloc(keys, sizeof *keys * (size_t)nc);
                    uint8_t *nb = nkeys ? realloc(bits, (size_t)nc * NCP) : NULL;
                    if (nkeys) keys = nkeys;
                    if (!nkeys || !nb) {
                        FT_Done_Face(face);
                        rc = ghm_error_set(err, GHM_ENOMEM, "glyphs-xl: out of memory");
                        break;
                    }
                    bits = nb;
                    capk = nc;
                }
                k = nk++;
                memcpy(keys[k], key, 64);
                memset(bits + (size_t)k * NCP, 0, NCP);
            }
            FT_ULong cp;
            FT_UInt gi;
            for (cp = FT_Get_First_Char(face, &gi); gi != 0; cp = FT_Get_Next_Char(face, cp, &gi))
                if (cp >= LO && cp <= HI) bits[(size_t)k * NCP + (cp - LO)] = 1;
            FT_Done_Face(face);
        }
    }
    FT_Done_FreeType(lib);
    uint32_t *elig = rc ? NULL : malloc(sizeof(uint32_t) * NCP);
    if (!rc && !elig) rc = ghm_error_set(err, GHM_ENOMEM, "glyphs-xl: out of memory");
    int ne = 0;
    for (int c = 0; c < NCP && !rc; c++) {
        int fams = 0;
        for (int k = 0; k < nk; k++) fams += bits[(size_t)k * NCP + c];
        if (fams >= min_families) elig[ne++] = (uint32_t)(LO + c);
    }
    free(keys);
    free(bits);
    if (rc) {
        free(elig);
        return rc;
    }
    if (ne < 2) {
        free(elig);
        return ghm_error_set(err, GHM_EINPUT,
                             "glyphs-xl: only %d ideographs are mapped by faces of %d or more design families (of %d "
                             "families in the font list)", ne, min_families, nk);
    }
    if (n_eligible) *n_eligible = ne;
    if (ne > target) { /* seeded sample: the first target of a Fisher-Yates shuffle, back in code-point order */
        ghm_rng r;
        ghm_rng_seed(&r, seed, 0);
        for (int i = 0; i < target; i++) {
            int j = i + (int)ghm_rng_below(&r, (uint32_t)(ne - i));
            uint32_t t = elig[i];
            elig[i] = elig[j];
            elig[j] = t;
        }
        ne = target;
        for (int i = 1; i < ne; i++) /* insertion sort of a nearly random list: n = 2,600, fine once */
            for (int j = i; j > 0 && elig[j] < elig[j - 1]; j--) {
                uint32_t t = elig[j];
                elig[j] = elig[j - 1];
                elig[j - 1] = t;
            }
    }
    *chars = elig;
    *n = ne;
    return 0;
}

int ghm_glyphs_select_classes(ghm_glyph_set *s, const int *order, int n_keep, ghm_error *err)
{
    const int n = s->n_chars, P = s->size * s->size;
    if (n_keep < 1 || n_keep > n) return ghm_error_set(err, GHM_EINPUT, "glyphs: keep %d of %d classes", n_keep, n);
    int *newid = malloc(sizeof(int) * (size_t)n), *start = calloc((size_t)n + 1, sizeof(int));
    if (!newid || !start) {
        free(newid);
        free(start);
        return ghm_error_set(err, GHM_ENOMEM, "glyphs: out of memory");
    }
    for (int c = 0; c < n; c++) newid[c] = -1;
    for (int j = 0; j < n_keep; j++) {
        if (order[j] < 0 || order[j] >= n || newid[order[j]] >= 0) {
            free(newid);
            free(start);
            return ghm_error_set(err, GHM_EINPUT, "glyphs: class order entry %d = %d is not a distinct class", j,
                                 order[j]);
        }
        newid[order[j]] = j;
    }
    /* images are class-major: start[c] = first image of class c */
    for (int i = 0; i < s->n_images; i++) start[s->labels[i] + 1]++;
    for (int c = 0; c < n; c++) start[c + 1] += start[c];
    long total = 0;
    for (int j = 0; j < n_keep; j++) total += s->count[order[j]];
    uint8_t *px = malloc((size_t)(total ? total : 1) * P);
    int *lab = malloc(sizeof(int) * (size_t)(total ? total : 1)), *fo = malloc(sizeof(int) * (size_t)(total ? total : 1));
    uint32_t *ch = malloc(sizeof(uint32_t) * (size_t)n_keep);
    int *cnt[4] = {malloc(sizeof(int) * (size_t)n_keep), malloc(sizeof(int) * (size_t)n_keep),
                   malloc(sizeof(int) * (size_t)n_keep), malloc(sizeof(int) * (size_t)n_keep)};
    int *pr[3] = {calloc((size_t)n_keep * n_keep, sizeof(int)), calloc((size_t)n_keep * n_keep, sizeof(int)),
                  calloc((size_t)n_keep * n_keep, sizeof(int))};
    int ok = px && lab && fo && ch && cnt[0] && cnt[1] && cnt[2] && cnt[3] && pr[0] && pr[1] && pr[2];
    if (ok) {
        long k = 0;
        for (int j = 0; j < n_keep; j++) {
            int c = order[j];
            memcpy(px + (size_t)k * P, s->pixels + (size_t)start[c] * P, (size_t)s->count[c] * P);
            for (int i = 0; i < s->count[c]; i++, k++) {
                lab[k] = j;
                fo[k] = s->face_of[start[c] + i];
            }
            ch[j] = s->chars[c];
            cnt[0][j] = s->count[c];
            cnt[1][j] = s->missing[c];
            cnt[2][j] = s->exact_dups[c];
            cnt[3][j] = s->near_dups[c];
        }
        int *old[3] = {s->pair_both, s->pair_near, s->pair_shift};
        for (int a = 0; a < n; a++)
            for (int b = a + 1; b < n; b++) {
                int x = newid[a], y = newid[b];
                if (x < 0 || y < 0) continue;
                size_t at = x < y ? (size_t)x * n_keep + y : (size_t)y * n_keep + x;
                for (int t = 0; t < 3; t++) pr[t][at] = old[t][(size_t)a * n + b];
            }
        free(s->pixels);
        free(s->labels);
        free(s->face_of);
        free(s->chars);
        free(s->count);
        free(s->missing);
        free(s->exact_dups);
        free(s->near_dups);
        free(s->pair_both);
        free(s->pair_near);
        free(s->pair_shift);
        s->pixels = px;
        s->labels = lab;
        s->face_of = fo;
        s->chars = ch;
        s->count = cnt[0];
        s->missing = cnt[1];
        s->exact_dups = cnt[2];
        s->near_dups = cnt[3];
        s->pair_both = pr[0];
        s->pair_near = pr[1];
        s->pair_shift = pr[2];
        s->n_chars = n_keep;
        s->n_images = (int)total;
        /* per face: images kept */
        for (int f = 0; f < s->n_faces; f++) s->faces[f].glyphs = 0;
        for (int i = 0; i < s->n_images; i++) s->faces[s->face_of[i]].glyphs++;
    } else {
        free(px);
        free(lab);
        free(fo);
        free(ch);
        for (int t = 0; t < 4; t++) free(cnt[t]);
        for (int t = 0; t < 3; t++) free(pr[t]);
    }
    free(newid);
    free(start);
    return ok ? 0 : ghm_error_set(err, GHM_ENOMEM, "glyphs: out of memory");
}

static int add_left_out(ghm_glyph_set *s, const char *text)
{
    void *v = realloc(s->left_out, sizeof *s->left_out * (size_t)(s->n_left_out + 1));
    if (!v) return -1;
    s->left_out = v;
    snprintf(s->left_out[s->n_left_out++], sizeof s->left_out[0], "%s", text);
    return 0;
}

int ghm_glyphs_xl_finish(ghm_glyph_set *s, int min_faces, int min_families, double alike_fraction, uint64_t seed,
                         ghm_error *err)
{
    const int n = s->n_chars;
    if (min_faces < 1 || min_families < 1 || !(alike_fraction > 0) || alike_fraction > 1)
        return ghm_error_set(err, GHM_EINPUT, "glyphs-xl: min_faces, min_families or alike_fraction out of range");
    int *keep = malloc(sizeof(int) * (size_t)n), *fams = calloc((size_t)n, sizeof(int));
    uint8_t *seen = calloc((size_t)n * (size_t)(s->n_families ? s->n_families : 1), 1);
    if (!keep || !fams || !seen) {
        free(keep);
        free(fams);
        free(seen);
        return ghm_error_set(err, GHM_ENOMEM, "glyphs-xl: out of memory");
    }
    for (int i = 0; i < s->n_images; i++) {
        int c = s->labels[i], fam = s->faces[s->face_of[i]].family_id;
        uint8_t *q = &seen[(size_t)c * s->n_families + fam];
        fams[c] += !*q;
        *q = 1;
    }
    int rc = 0;
    char why[192], u1[8], u2[8];
    for (int c = 0; c < n; c++) keep[c] = 1;
    /* one drawing: the later of a pair alike by the shift test is left out (its partner stays) */
    for (int a = 0; a < n && !rc; a++) {
        if (!keep[a]) continue;
        for (int b = a + 1; b < n && !rc; b++) {
            size_t at = (size_t)a * n + b;
            int both = s->pair_both[at];
            if (!keep[b] || both < 5 || s->pair_shift[at] < alike_fraction * both) continue;
            keep[b] = 0;
            snprintf(why, sizeof why, "U+%04X %s: alike U+%04X %s in %d of %d faces (shift test)", (unsigned)s->chars[b],
                     ghm_glyphs_utf8(s->chars[b], u1), (unsigned)s->chars[a], ghm_glyphs_utf8(s->chars[a], u2),
                     s->pair_shift[at], both);
            if (add_left_out(s, why)) rc = ghm_error_set(err, GHM_ENOMEM, "glyphs-xl: out of memory");
        }
    }
    for (int c = 0; c < n && !rc; c++) {
        if (!keep[c] || (s->count[c] >= min_faces && fams[c] >= min_families)) continue;
        keep[c] = 0;
        snprintf(why, sizeof why, "U+%04X %s: %d faces of %d families (needs %d of %d)", (unsigned)s->chars[c],
                 ghm_glyphs_utf8(s->chars[c], u1), s->count[c], fams[c], min_faces, min_families);
        if (add_left_out(s, why)) rc = ghm_error_set(err, GHM_ENOMEM, "glyphs-xl: out of memory");
    }
    int nk = 0;
    for (int c = 0; c < n && !rc; c++)
        if (keep[c]) keep[nk++] = c;
    if (!rc && nk < 2) rc = ghm_error_set(err, GHM_EINPUT, "glyphs-xl: %d classes are left after the rules", nk);
    if (!rc) { /* seeded shuffle: the first half (the default class-disjoint split) is a random half */
        ghm_rng r;
        ghm_rng_seed(&r, seed, 0);
        for (int i = nk - 1; i > 0; i--) {
            int j = (int)ghm_rng_below(&r, (uint32_t)i + 1);
            int t = keep[i];
            keep[i] = keep[j];
            keep[j] = t;
        }
        rc = ghm_glyphs_select_classes(s, keep, nk, err);
    }
    if (!rc) {
        snprintf(s->set_name, sizeof s->set_name, "glyphs-xl");
        s->order_seed = (int)seed;
        s->xl_min_faces = min_faces;
        s->xl_min_families = min_families;
        s->xl_alike_fraction = alike_fraction;
    }
    free(keep);
    free(fams);
    free(seen);
    return rc;
}

static int confusable(const ghm_glyph_set *s, const int *pair, double min_fraction, int min_faces, int cap, int *a,
                      int *b, double *frac);

int ghm_glyphs_confusable(const ghm_glyph_set *s, double min_fraction, int min_faces, int cap, int *a, int *b,
                          double *frac)
{
    return confusable(s, s->pair_near, min_fraction, min_faces, cap, a, b, frac);
}

int ghm_glyphs_confusable_shift(const ghm_glyph_set *s, double min_fraction, int min_faces, int cap, int *a, int *b,
                                double *frac)
{
    return confusable(s, s->pair_shift, min_fraction, min_faces, cap, a, b, frac);
}

static int confusable(const ghm_glyph_set *s, const int *pair, double min_fraction, int min_faces, int cap, int *a,
                      int *b, double *frac)
{
    int m = 0, n = s->n_chars;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            int both = s->pair_both[(size_t)i * n + j], nr = pair[(size_t)i * n + j];
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
static const char *const idx_names[6] = {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                                         "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz",
                                         "train-faces.txt",            "t10k-faces.txt"};

/* The sidecar of one part: "ghm-glyphs-faces-1 <n>\n" then per image, in IDX
 * order, "<face id> <family id>\n". */
static int write_sidecar(const char *path, const int *face, const int *fam, int n, ghm_error *err)
{
    size_t cap = 40 + (size_t)n * 24, len = 0;
    char *buf = malloc(cap);
    if (!buf) return ghm_error_set(err, GHM_ENOMEM, "glyphs: out of memory");
    len += (size_t)snprintf(buf, cap, "ghm-glyphs-faces-1 %d\n", n);
    for (int i = 0; i < n; i++) len += (size_t)snprintf(buf + len, cap - len, "%d %d\n", face[i], fam[i]);
    int rc = ghm_write_file_atomic(path, buf, len, err);
    free(buf);
    return rc;
}

/* The random class split: classes 0..n-1 shuffled by a seeded Fisher-Yates
 * (core/rng, seed GHM_GLYPHS_SPLIT_SEED, stream 0); the first half, sorted,
 * trains. train (n) gets 1 for those. */
void ghm_glyphs_random_split(int n, uint64_t seed, int *train)
{
    int perm[GHM_MAX_CLASSES];
    if (n > GHM_MAX_CLASSES) n = GHM_MAX_CLASSES;
    ghm_rng r;
    ghm_rng_seed(&r, seed, 0);
    for (int i = 0; i < n; i++) perm[i] = i;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)ghm_rng_below(&r, (uint32_t)i + 1);
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (int i = 0; i < n; i++) train[i] = 0;
    for (int i = 0; i < n / 2; i++) train[perm[i]] = 1;
}

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

/* key: ["U+03BA κ ~ U+043A к: 9 of 28 faces", ...] for the np class pairs (pa[i], pb[i]); count is the
 * (n_chars, n_chars) table of faces where a pair was found alike (pair_near or pair_shift) */
static void jw_class_pairs(ghm_jw *w, const char *key, const ghm_glyph_set *s, int np, const int *pa, const int *pb,
                           const int *count)
{
    const int n = s->n_chars;
    ghm_jw_key(w, key);
    ghm_jw_begin_array(w);
    for (int i = 0; i < np; i++) {
        char u1[8], u2[8], buf[64];
        size_t at = (size_t)pa[i] * n + pb[i];
        snprintf(buf, sizeof buf, "U+%04X %s ~ U+%04X %s: %d of %d faces", (unsigned)s->chars[pa[i]],
                 ghm_glyphs_utf8(s->chars[pa[i]], u1), (unsigned)s->chars[pb[i]], ghm_glyphs_utf8(s->chars[pb[i]], u2),
                 count[at], s->pair_both[at]);
        ghm_jw_string(w, buf);
    }
    ghm_jw_end_array(w);
}

/* The train / test parts of a set as ghm_glyphs_write writes them, and per-class counts for the manifest. */
typedef struct {
    int ntr, nte;            /* images in train, test */
    int *test_n;             /* (n) test images per class */
    uint8_t *px[2];          /* [train, test]: images */
    int *lb[2], *fc[2], *fm[2]; /* [train, test]: labels, faces, design families */
    int *cls_faces, *cls_fams; /* (n) faces and design families per class */
    uint8_t *seen_fam;       /* (n, n_families) scratch */
} glyph_parts;

static void glyph_parts_free(glyph_parts *g)
{
    free(g->test_n);
    for (int t = 0; t < 2; t++) {
        free(g->px[t]);
        free(g->lb[t]);
        free(g->fc[t]);
        free(g->fm[t]);
    }
    free(g->cls_faces);
    free(g->cls_fams);
    free(g->seen_fam);
}

/* Split the set: per class, in face order, every sixth kept image (k % 6 == 5) tests. */
static int glyph_parts_split(const ghm_glyph_set *s, glyph_parts *g, ghm_error *err)
{
    const int P = s->size * s->size, n = s->n_chars;
    g->test_n = calloc((size_t)n, sizeof(int));
    for (int t = 0; t < 2; t++) {
        g->px[t] = malloc((size_t)(s->n_images + 1) * P);
        g->lb[t] = malloc(((size_t)s->n_images + 1) * sizeof(int));
        g->fc[t] = malloc(sizeof(int) * ((size_t)s->n_images + 1));
        g->fm[t] = malloc(sizeof(int) * ((size_t)s->n_images + 1));
    }
    g->cls_faces = calloc((size_t)n, sizeof(int));
    g->cls_fams = calloc((size_t)n, sizeof(int));
    g->seen_fam = calloc((size_t)n * (size_t)(s->n_families ? s->n_families : 1), 1);
    if (!g->test_n || !g->px[0] || !g->px[1] || !g->lb[0] || !g->lb[1] || !g->fc[0] || !g->fc[1] || !g->fm[0] ||
        !g->fm[1] || !g->cls_faces || !g->cls_fams || !g->seen_fam)
        return ghm_error_set(err, GHM_ENOMEM, "glyphs: out of memory");
    for (int i = 0, k = 0; i < s->n_images; i++) {
        k = (i > 0 && s->labels[i] == s->labels[i - 1]) ? k + 1 : 0;
        int t = k % 6 == 5;
        int *cnt = t ? &g->nte : &g->ntr;
        memcpy(g->px[t] + (size_t)*cnt * P, s->pixels + (size_t)i * P, (size_t)P);
        g->lb[t][*cnt] = s->labels[i];
        int f = s->face_of[i], fam = s->faces[f].family_id;
        g->fc[t][*cnt] = f;
        g->fm[t][*cnt] = fam;
        g->cls_faces[s->labels[i]]++; /* one image per face and class */
        uint8_t *sf = &g->seen_fam[(size_t)s->labels[i] * s->n_families + fam];
        g->cls_fams[s->labels[i]] += !*sf;
        *sf = 1;
        (*cnt)++;
        if (t) g->test_n[s->labels[i]]++;
    }
    return 0;
}

/* The IDX files and the face sidecars of both parts into dir; their SHA-256 into hex (idx_names order). */
static int glyph_parts_write(const ghm_glyph_set *s, const glyph_parts *g, const char *dir, char hex[6][65],
                             ghm_error *err)
{
    const int S = s->size;
    char *path = NULL;
    int rc = 0;
    for (int f = 0; f < 4 && !rc; f++) {
        int part = f / 2, cnt = part ? g->nte : g->ntr;
        free(path);
        path = ghm_ds_strdupf("%s/%s", dir, idx_names[f]);
        if (!path) {
            rc = ghm_error_set(err, GHM_ENOMEM, "glyphs: out of memory");
            break;
        }
        int dims[3] = {cnt, S, S};
        rc = f % 2 == 0 ? ghm_idx_write(path, 3, dims, g->px[part], err)
                        : ghm_idx_write_labels(path, cnt, g->lb[part], err);
        if (!rc) rc = ghm_glyphs_sha256_file(path, hex[f], err);
    }
    for (int part = 0; part < 2 && !rc; part++) {
        free(path);
        path = ghm_ds_strdupf("%s/%s", dir, idx_names[4 + part]);
        if (!path) {
            rc = ghm_error_set(err, GHM_ENOMEM, "glyphs: out of memory");
            break;
        }
        rc = write_sidecar(path, g->fc[part], g->fm[part], part ? g->nte : g->ntr, err);
        if (!rc) rc = ghm_glyphs_sha256_file(path, hex[4 + part], err);
    }
    free(path);
    return rc;
}

/* Manifest: the format, the class rules of a named set (glyphs-xl) and the rendering constants. */
static void jw_manifest_rules(ghm_jw *w, const ghm_glyph_set *s)
{
    char buf[64];
    kv_str(w, "format", GHM_GLYPHS_FORMAT);
    if (s->set_name[0]) {
        kv_str(w, "set", s->set_name);
        kv_int(w, "class_order_seed", s->order_seed);
        kv_int(w, "clone_min_shared", s->clone_min_shared);
        ghm_jw_key(w, "class_rules");
        ghm_jw_begin_object(w);
        kv_str(w, "candidates", "CJK Unified Ideographs U+4E00..U+9FFF mapped by faces of at least "
               "min_cmap_families design families; a seeded sample of at most target, in code-point order");
        kv_int(w, "min_cmap_families", GHM_GLYPHS_XL_MIN_CMAP_FAMILIES);
        kv_int(w, "target", GHM_GLYPHS_XL_TARGET);
        kv_int(w, "sample_seed", GHM_GLYPHS_XL_SEED);
        kv_int(w, "min_faces", s->xl_min_faces);
        kv_int(w, "min_families", s->xl_min_families);
        ghm_jw_key(w, "alike_fraction");
        ghm_jw_number(w, s->xl_alike_fraction);
        ghm_jw_end_object(w);
    }
    kv_int(w, "image_size", s->size);
    kv_int(w, "cap_px", s->cap_px);
    kv_int(w, "box_px", s->box_px);
    kv_int(w, "near_dup_level", s->near_dup_level);
    kv_int(w, "homoglyph_level", s->homoglyph_level);
    kv_int(w, "shift_level_percent", s->shift_level);
    kv_int(w, "clone_level", s->clone_level);
    ghm_jw_key(w, "clone_fraction");
    ghm_jw_number(w, s->clone_fraction);
    kv_int(w, "faint_peak", s->faint_peak);
    kv_int(w, "min_ink_px", s->min_ink_px);
    snprintf(buf, sizeof buf, "FreeType %s", s->freetype);
    kv_str(w, "renderer", buf);
    kv_str(w, "split", "per class, in face order: every sixth image (k % 6 == 5) test, the others train");
}

/* Manifest: the files' hashes, the design families and the two class-disjoint splits (train classes). */
static void jw_manifest_files_splits(ghm_jw *w, const ghm_glyph_set *s, char hex[6][65])
{
    const int n = s->n_chars;
    ghm_jw_key(w, "files");
    ghm_jw_begin_object(w);
    for (int f = 0; f < 6; f++) kv_str(w, idx_names[f], hex[f]);
    ghm_jw_end_object(w);
    ghm_jw_key(w, "families");
    ghm_jw_begin_array(w);
    for (int f = 0; f < s->n_families; f++) ghm_jw_string(w, s->families[f]);
    ghm_jw_end_array(w);
    /* the two class-disjoint splits: train classes of each */
    ghm_jw_key(w, "class_splits");
    ghm_jw_begin_object(w);
    ghm_jw_key(w, "script");
    ghm_jw_begin_array(w);
    for (int c = 0; c < n / 2; c++) ghm_jw_int(w, c);
    ghm_jw_end_array(w);
    kv_int(w, "random_seed", GHM_GLYPHS_SPLIT_SEED);
    ghm_jw_key(w, "random");
    ghm_jw_begin_array(w);
    {
        int tr[GHM_MAX_CLASSES];
        ghm_glyphs_random_split(n, GHM_GLYPHS_SPLIT_SEED, tr);
        for (int c = 0; c < n; c++)
            if (tr[c]) ghm_jw_int(w, c);
    }
    ghm_jw_end_array(w);
    ghm_jw_end_object(w);
}

/* Manifest: the packages (name, version, faces; in face order, each once), the faces and the files or faces
 * left out. */
static void jw_manifest_faces(ghm_jw *w, const ghm_glyph_set *s)
{
    ghm_jw_key(w, "packages");
    ghm_jw_begin_array(w);
    for (int i = 0; i < s->n_faces; i++) {
        int seen = 0;
        for (int k = 0; k < i && !seen; k++) seen = strcmp(s->faces[k].package, s->faces[i].package) == 0;
        if (seen) continue;
        int faces = 0;
        for (int k = i; k < s->n_faces; k++) faces += strcmp(s->faces[k].package, s->faces[i].package) == 0;
        ghm_jw_begin_object(w);
        kv_str(w, "name", s->faces[i].package);
        kv_str(w, "version", s->faces[i].version);
        kv_int(w, "faces", faces);
        ghm_jw_end_object(w);
    }
    ghm_jw_end_array(w);
    ghm_jw_key(w, "faces");
    ghm_jw_begin_array(w);
    for (int i = 0; i < s->n_faces; i++) {
        const ghm_glyph_face *F = &s->faces[i];
        ghm_jw_begin_object(w);
        kv_str(w, "package", F->package);
        kv_str(w, "file", F->path);
        kv_int(w, "index", F->index);
        kv_str(w, "family", F->family);
        kv_str(w, "style", F->style);
        kv_str(w, "sha256", F->sha256);
        kv_int(w, "family_id", F->family_id);
        kv_int(w, "glyphs", F->glyphs);
        kv_int(w, "missing", F->missing);
        ghm_jw_end_object(w);
    }
    ghm_jw_end_array(w);
    ghm_jw_key(w, "skipped");
    ghm_jw_begin_array(w);
    for (int i = 0; i < s->n_skipped; i++) {
        ghm_jw_begin_object(w);
        kv_str(w, "file", s->skipped[i].path);
        kv_int(w, "index", s->skipped[i].index);
        kv_str(w, "reason", s->skipped[i].reason);
        ghm_jw_end_object(w);
    }
    ghm_jw_end_array(w);
}

/* Manifest: per class its character and counts; the classes (glyphs-xl) and homoglyphs left out; the
 * pairs of classes drawn alike; the totals. */
static void jw_manifest_classes(ghm_jw *w, const ghm_glyph_set *s, const glyph_parts *g)
{
    const int n = s->n_chars;
    char u8[8], buf[64];
    long tot_exact = 0, tot_near = 0, tot_missing = 0;
    ghm_jw_key(w, "classes");
    ghm_jw_begin_array(w);
    for (int c = 0; c < n; c++) {
        ghm_jw_begin_object(w);
        kv_str(w, "char", ghm_glyphs_utf8(s->chars[c], u8));
        snprintf(buf, sizeof buf, "U+%04X", (unsigned)s->chars[c]);
        kv_str(w, "codepoint", buf);
        kv_int(w, "train", s->count[c] - g->test_n[c]);
        kv_int(w, "test", g->test_n[c]);
        kv_int(w, "missing", s->missing[c]);
        kv_int(w, "exact_duplicates", s->exact_dups[c]);
        kv_int(w, "near_duplicates", s->near_dups[c]);
        kv_int(w, "faces", g->cls_faces[c]);
        kv_int(w, "families", g->cls_fams[c]);
        ghm_jw_end_object(w);
        tot_exact += s->exact_dups[c];
        tot_near += s->near_dups[c];
        tot_missing += s->missing[c];
    }
    ghm_jw_end_array(w);
    if (s->set_name[0]) {
        ghm_jw_key(w, "classes_left_out");
        ghm_jw_begin_array(w);
        for (int i = 0; i < s->n_left_out; i++) ghm_jw_string(w, s->left_out[i]);
        ghm_jw_end_array(w);
    }
    ghm_jw_key(w, "homoglyphs_left_out");
    ghm_jw_begin_array(w);
    for (int i = 0; i < N_HOMOGLYPHS && !s->set_name[0]; i++) {
        char u2[8];
        snprintf(buf, sizeof buf, "U+%04X %s = U+%04X %s", (unsigned)homoglyphs[i][0], ghm_glyphs_utf8(homoglyphs[i][0], u8),
                 (unsigned)homoglyphs[i][1], ghm_glyphs_utf8(homoglyphs[i][1], u2));
        ghm_jw_string(w, buf);
    }
    ghm_jw_end_array(w);
    enum { CAP = 64 };
    int pa[CAP], pb[CAP];
    double pf[CAP];
    int np = ghm_glyphs_confusable(s, 0.5, 10, CAP, pa, pb, pf);
    jw_class_pairs(w, "confusable_classes", s, np, pa, pb, s->pair_near);
    np = ghm_glyphs_confusable_shift(s, 0.5, 10, CAP, pa, pb, pf);
    jw_class_pairs(w, "alike_by_shift_test", s, np, pa, pb, s->pair_shift);
    ghm_jw_key(w, "totals");
    ghm_jw_begin_object(w);
    kv_int(w, "classes", n);
    kv_int(w, "faces", s->n_faces);
    kv_int(w, "families", s->n_families);
    kv_int(w, "images", s->n_images);
    kv_int(w, "faint_images", s->faint_images);
    kv_int(w, "train", g->ntr);
    kv_int(w, "test", g->nte);
    kv_int(w, "missing", tot_missing);
    kv_int(w, "exact_duplicates", tot_exact);
    kv_int(w, "near_duplicates", tot_near);
    ghm_jw_end_object(w);
}

int ghm_glyphs_write(const ghm_glyph_set *s, const char *dir, char *manifest_sha256, ghm_error *err)
{
    const int n = s->n_chars;
    if (n < 2 || n > GHM_MAX_CLASSES)
        return ghm_error_set(err, GHM_EINPUT, "glyphs: %d classes cannot be written (a dataset has 2 to %d)", n,
                             GHM_MAX_CLASSES);
    int rc = ghm_glyphs_check_out_dir(dir, err);
    if (!rc) rc = ghm_mkdirs(dir, err);
    if (rc) return rc;
    glyph_parts g = {0};
    char hex[6][65];
    rc = glyph_parts_split(s, &g, err);
    if (!rc) rc = glyph_parts_write(s, &g, dir, hex, err);
    if (rc) {
        glyph_parts_free(&g);
        return rc;
    }
    ghm_jw w;
    ghm_jw_init(&w, 1);
    ghm_jw_begin_object(&w);
    jw_manifest_rules(&w, s);
    jw_manifest_files_splits(&w, s, hex);
    jw_manifest_faces(&w, s);
    jw_manifest_classes(&w, s, &g);
    ghm_jw_end_object(&w);
    glyph_parts_free(&g);
    char *path = NULL;
    if (w.failed)
        rc = ghm_error_set(err, GHM_ENOMEM, "glyphs: out of memory (manifest)");
    else if (!(path = ghm_ds_strdupf("%s/manifest.json", dir)))
        rc = ghm_error_set(err, GHM_ENOMEM, "glyphs: out of memory");
    else
        rc = ghm_write_file_atomic(path, w.buf, w.len, err);
    if (!rc && manifest_sha256) sha256_bytes(w.buf, w.len, manifest_sha256);
    ghm_jw_free(&w);
    free(path);
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
    uint8_t *px = NULL;
    int *lb = NULL;
    int rc = 0, nd = 0, dims[4], nl = 0;
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
    if ((rc = ghm_idx_read_labels(lp, INT32_MAX, &nl, &lb, err))) goto done;
    if (nl != dims[0]) {
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

/* Read sidecar f (idx_names[f]) of part im: its hash must be want; one line
 * "face family" per image, face in [0, n_faces), family = that face's. */
static int load_sidecar(const char *dir, int f, ghm_images *im, const int *face_fam, int n_faces, const char *want,
                        ghm_error *err)
{
    char *path = ghm_ds_strdupf("%s/%s", dir, idx_names[f]), *text = NULL;
    size_t len = 0;
    char hex[65];
    int rc = 0;
    if (!path) return ghm_error_set(err, GHM_ENOMEM, "out of memory");
    if ((rc = ghm_glyphs_sha256_file(path, hex, err))) goto done;
    if (strcmp(hex, want) != 0) {
        rc = ghm_error_set(err, GHM_EINPUT,
                           "%s: its SHA-256 differs from the one in %s/manifest.json (changed or corrupt); rebuild "
                           "with `./ghm data get glyphs --force`",
                           path, dir);
        goto done;
    }
    if ((rc = read_capped(path, GHM_GLYPHS_MAX_LIST_BYTES, "glyphs sidecar", &text, &len, err))) goto done;
    int n = -1, used = 0;
    if (sscanf(text, "ghm-glyphs-faces-1 %d\n%n", &n, &used) != 1 || used == 0 || n != im->n) {
        rc = ghm_error_set(err, GHM_EINPUT, "%s:1: expected \"ghm-glyphs-faces-1 %d\" (one line per image)", path, im->n);
        goto done;
    }
    im->groups = malloc(sizeof(int) * (size_t)(n ? n : 1));
    if (!im->groups) {
        rc = ghm_error_set(err, GHM_ENOMEM, "out of memory");
        goto done;
    }
    const char *p = text + used;
    for (int i = 0; i < n; i++) {
        char *end;
        long fa = strtol(p, &end, 10);
        if (end == p || *end != ' ' || fa < 0 || fa >= n_faces) {
            rc = ghm_error_set(err, GHM_EINPUT, "%s:%d: expected a face id in [0, %d)", path, i + 2, n_faces);
            break;
        }
        p = end + 1;
        long fm = strtol(p, &end, 10);
        if (end == p || *end != '\n' || fm != face_fam[fa]) {
            rc = ghm_error_set(err, GHM_EINPUT, "%s:%d: expected the family id of face %ld (%d), then a newline", path,
                               i + 2, fa, face_fam[fa]);
            break;
        }
        p = end + 1;
        im->groups[i] = (int)fm;
    }
    if (!rc && *p) rc = ghm_error_set(err, GHM_EINPUT, "%s:%d: more lines than the %d images", path, n + 2, n);
    if (rc) {
        free(im->groups);
        im->groups = NULL;
    }
done:
    free(text);
    free(path);
    return rc;
}

/* Load data from dir holding manifest.json (mpath). */
static int load_glyph_dir(const ghm_dataset_opts *o, const char *set, const char *dir, const char *mpath, ghm_dataset *d,
                          ghm_error *err)
{
    char *text = NULL;
    size_t len = 0;
    ghm_json *j = NULL;
    int rc = read_capped(mpath, GHM_GLYPHS_MAX_LIST_BYTES, "glyphs manifest", &text, &len, err);
    if (rc) return rc;
    char mhash[65];
    sha256_bytes(text, len, mhash);
    if ((rc = ghm_json_parse(text, len, mpath, &j, err))) goto done;
    if (j->type == GHM_JSON_OBJECT && strcmp(ghm_json_str(j, "format", ""), "ghm-glyphs-1") == 0) {
        rc = ghm_error_set(err, GHM_EINPUT,
                           "%s: a glyphs set of format 1 (before the clone, faint-face and homoglyph rules of "
                           "format 2): rebuild it with `./ghm data get glyphs --force`",
                           mpath);
        goto done;
    }
    if (j->type != GHM_JSON_OBJECT || strcmp(ghm_json_str(j, "format", ""), GHM_GLYPHS_FORMAT) != 0) {
        rc = ghm_error_set(err, GHM_EINPUT, "%s: not a glyphs manifest (expected \"format\": \"%s\")", mpath,
                           GHM_GLYPHS_FORMAT);
        goto done;
    }
    const char *has_set = ghm_json_str(j, "set", "");
    if (strcmp(has_set, strcmp(set, "glyphs") == 0 ? "" : set) != 0) {
        rc = ghm_error_set(err, GHM_EINPUT, "%s: a manifest of the set '%s', not of '%s'", mpath,
                           has_set[0] ? has_set : "glyphs", set);
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
    char want[6][65];
    for (int f = 0; f < 6; f++) {
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
    /* faces and design families of every image (the sidecars) */
    const ghm_json *faces = ghm_json_get(j, "faces"), *fams = ghm_json_get(j, "families");
    if (!faces || faces->type != GHM_JSON_ARRAY || faces->n < 1 || !fams || fams->type != GHM_JSON_ARRAY ||
        fams->n < 1 || fams->n > faces->n) {
        rc = ghm_error_set(err, GHM_EINPUT, "%s: faces / families: expected non-empty arrays (no more families "
                           "than faces)", mpath);
        goto done;
    }
    int *face_fam = malloc(sizeof(int) * (size_t)faces->n);
    if (!face_fam) {
        rc = ghm_error_set(err, GHM_ENOMEM, "out of memory");
        goto done;
    }
    for (int f = 0; f < faces->n && !rc; f++) {
        char where[48];
        long v = 0;
        snprintf(where, sizeof where, "faces[%d].", f);
        rc = get_int(&faces->items[f], "family_id", 0, fams->n - 1, mpath, where, &v, err);
        face_fam[f] = (int)v;
    }
    if (!rc) rc = load_sidecar(dir, 4, &d->train, face_fam, faces->n, want[4], err);
    if (!rc) rc = load_sidecar(dir, 5, &d->test, face_fam, faces->n, want[5], err);
    free(face_fam);
    if (rc) goto done;
    const ghm_json *tot = ghm_json_get(j, "totals");
    snprintf(d->source, sizeof d->source,
             "%s (glyphs rendered from %d faces of %d design families, %dx%d; manifest sha256:%.16s...)", dir,
             (int)ghm_json_num(tot, "faces", 0), (int)ghm_json_num(tot, "families", 0), (int)S, (int)S, mhash);
    snprintf(d->manifest, sizeof d->manifest, "sha256:%s", mhash);
done:
    ghm_json_free(j);
    free(text);
    return rc;
}

static int load_glyph_set(const ghm_dataset_opts *o, const char *set, ghm_dataset *d, ghm_error *err)
{
    char *dirs[4];
    int nd = ghm_ds_search_dirs(o, set, dirs);
    int rc = 1;
    for (int i = 0; i < nd; i++)
        if (!dirs[i]) {
            ghm_ds_free_dirs(dirs, nd);
            return ghm_error_set(err, GHM_ENOMEM, "out of memory");
        }
    for (int i = 0; i < nd && rc == 1; i++) {
        char *m = ghm_ds_strdupf("%s/manifest.json", dirs[i]);
        if (!m) rc = ghm_error_set(err, GHM_ENOMEM, "out of memory");
        else if (ghm_ds_file_exists(m)) rc = load_glyph_dir(o, set, dirs[i], m, d, err);
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
                           "dataset '%s' not found: no manifest.json in any of: %s. To build it: `./ghm data get "
                           "%s` (installs the font packages and renders the glyphs into data/%s)",
                           set, list, set, set);
    }
    ghm_ds_free_dirs(dirs, nd);
    return rc;
}

static int load_glyphs(const ghm_dataset_opts *o, ghm_dataset *d, ghm_error *err)
{
    return load_glyph_set(o, "glyphs", d, err);
}

static int load_glyphs_xl(const ghm_dataset_opts *o, ghm_dataset *d, ghm_error *err)
{
    /* one image size (GHM_GLYPHS_XL_SIZE, the manifest's): dataset.image_size is the synthetic set's */
    ghm_dataset_opts x = *o;
    x.image_size = 0;
    return load_glyph_set(&x, "glyphs-xl", d, err);
}

/* their registry entries (GHM_DATASET_LIST in datasets/registry.c) */
const ghm_dataset_info ghm_dataset_glyphs = {
    "glyphs",
    "characters rendered from Debian's fonts: 232 classes (Latin, Greek, Cyrillic, digits), one image per face, "
    "28x28 grey (`./ghm data get glyphs`; docs/glyphs.md)",
    GHM_DS_PARAM_IMAGE_SIZE, GHM_DS_FILES, 0, NULL, load_glyphs};
const ghm_dataset_info ghm_dataset_glyphs_xl = {
    "glyphs-xl",
    "CJK ideographs rendered from Debian's CJK and Hangul fonts: thousands of classes, one image per face, 32x32 "
    "grey, classes in seeded random order (`./ghm data get glyphs-xl`; docs/glyphs.md)",
    0, GHM_DS_FILES, 0, NULL, load_glyphs_xl};
