/* The `glyphs` dataset: characters rendered from real typefaces with FreeType.
 *
 * A class is a character (a Unicode code point of a fixed, documented set);
 * an instance is one face's drawing of it. The pipeline, all in this module:
 *
 *   font list   lines "package<TAB>version<TAB>file" (written by ./ghm from
 *               `dpkg -L` of the font packages it installs)
 *   faces       every face of every file, sorted by (package, file, face
 *               index); a file whose content (SHA-256) was seen already, a face
 *               that is not scalable, has no Unicode character map, or whose
 *               family + style name was seen already, is skipped (reason kept)
 *   render      per face, one scale: the height of its 'H' (else Cyrillic En,
 *               else Greek Eta, else 0.7 em) becomes cap_px = size / 2 pixels;
 *               unhinted outlines, FreeType's 8-bit anti-aliased rasteriser;
 *               a glyph whose ink box is wider or taller than box_px =
 *               size - 4 is re-rendered smaller to fit; the ink box is
 *               centred in the size x size image
 *   missing     a character is missing from a face when the face maps it to
 *               glyph 0 (.notdef), to a glyph named ".notdef", to a glyph
 *               with no ink, or to a drawing identical to its .notdef glyph;
 *               there is no fallback to another face
 *   duplicates  within a class, an image equal byte for byte to one already
 *               kept (an earlier face) is dropped; images within a mean
 *               absolute difference of near_dup_level (2) grey levels of an
 *               earlier kept image are counted as near-duplicates (kept)
 *   split       per class, of the kept images in face order every sixth
 *               (k % 6 == 5) goes to the test part, the others to train
 *   files       train-/t10k- images-idx3 / labels-idx1 (gzip) and
 *               manifest.json (packages, faces with file hashes, per-class
 *               counts, the IDX files' hashes); its SHA-256 names the set
 *
 * Homoglyphs (Latin A, Greek Alpha, Cyrillic A) are handled by the character
 * set itself: of a group of characters drawn alike in most faces only the
 * first in code-point order is a class; ghm_glyphs_homoglyph_at() lists the
 * others and the character each duplicates. ghm_glyphs_render() also counts,
 * for every pair of classes, the faces where the two drawings are equal within
 * homoglyph_level (a mean absolute difference of 1 grey level),
 * so that a set can be checked (ghm_glyphs_confusable()).
 */
#ifndef GHM_GLYPHS_H
#define GHM_GLYPHS_H

#include "../core/error.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The default character set: the classes, in code-point order. */
int ghm_glyphs_charset(const uint32_t **chars);
/* The candidates before homoglyphs are left out (to measure confusability). */
int ghm_glyphs_candidates(const uint32_t **chars);
/* Homoglyphs left out of the set: i-th dropped code point and the kept code
 * point it duplicates. Returns 0 when i is out of range. */
int ghm_glyphs_homoglyph_count(void);
int ghm_glyphs_homoglyph_at(int i, uint32_t *dropped, uint32_t *same_as);
/* UTF-8 of a code point into buf (>= 5 bytes); returns buf. */
char *ghm_glyphs_utf8(uint32_t cp, char *buf);

/* One line of a font list. */
typedef struct ghm_font_entry {
    char package[64];
    char version[64];
    char path[512];
} ghm_font_entry;

/* Read a font list: lines "package<TAB>version<TAB>path"; '#' comments and
 * blank lines skipped. Errors name the file and line. *out is malloc'd. */
int ghm_glyphs_read_font_list(const char *path, ghm_font_entry **out, int *n, ghm_error *err);

typedef struct ghm_glyphs_opts {
    int image_size;            /* side of the square images (default 28) */
    const uint32_t *chars;     /* classes; NULL = ghm_glyphs_charset() */
    int n_chars;
    int near_dup_level;        /* mean |a - b| in grey levels at or below which two images of a class are near-duplicates (2) */
    int homoglyph_level;       /* the same, for two characters of a face to count as one drawing (1) */
    int keep_same_name_faces;  /* 1: do not skip a face whose family + style was seen already (tests) */
    int shift_level;           /* shift-tolerant homoglyph test: sum |a - b| of the half-resolution (2 x 2 box
                                  averaged) images, best of the 9 shifts by -1..1 pixel, at most this percent
                                  of the larger image's ink (sum of grey values) (10) */
    int clone_level;           /* clone rule: mean |a - b| at or below which two faces draw a character alike (1) */
    double clone_fraction;     /* a face drawing at least this fraction of the characters it shares with an
                                  earlier kept face alike (clone_level) is a clone and left out (0.2) */
    int clone_min_shared;      /* ... counting only earlier faces sharing at least this many characters
                                  (glyphs: 1; glyphs-xl: 100, so that a face of 5 characters judges nobody) */
    int faint_peak;            /* a face whose median image peak (darkest grey value) is below this is faint
                                  and left out (128) */
    int min_ink_px;            /* an image with fewer pixels at >= 128 than this counts as missing (5) */
    int keep_clones, keep_faint_faces; /* 1: do not apply the clone / faint-face rules (measurements, tests) */
    const uint32_t *scale_refs; /* the characters whose ink height sets a face's scale, first found wins
                                   (NULL: H, Cyrillic En, Greek Eta; glyphs-xl: GHM_GLYPHS_XL_SCALE_REFS) */
    int n_scale_refs;
    int cap_px;                /* that height in pixels (0: image_size / 2) */
    /* optional progress: called after each font file with the files done, their count and the faces kept */
    void (*progress)(void *ctx, int files_done, int files, int faces);
    void *progress_ctx;
} ghm_glyphs_opts;

void ghm_glyphs_opts_default(ghm_glyphs_opts *o);

typedef struct ghm_glyph_face {
    char package[64], version[64], path[512];
    int index;                 /* face index in the file */
    char family[64], style[64];
    char sha256[65];           /* of the file */
    int glyphs;                /* images kept from this face */
    int missing;               /* characters it lacks */
    int family_id;             /* index into ghm_glyph_set.families: the design family (ghm_glyphs_family_key) */
} ghm_glyph_face;

typedef struct ghm_glyph_skip {
    char path[512];
    int index;
    char reason[640];
} ghm_glyph_skip;

typedef struct ghm_glyph_set {
    int size;                    /* image side */
    int cap_px, box_px;          /* rendering constants (see above) */
    int near_dup_level, homoglyph_level;
    int shift_level, clone_level, faint_peak, min_ink_px;
    double clone_fraction;
    int clone_min_shared;
    int n_chars;
    uint32_t *chars;             /* (n_chars) */
    int n_faces;
    ghm_glyph_face *faces;       /* (n_faces) rendered faces, in order */
    int n_skipped;
    ghm_glyph_skip *skipped;     /* (n_skipped) files/faces left out, with why */
    int n_images;
    uint8_t *pixels;             /* (n_images, size, size), class-major, faces in order within a class */
    int *labels;                 /* (n_images) class index */
    int *face_of;                /* (n_images) face index */
    int *count;                  /* (n_chars) images kept */
    int *missing;                /* (n_chars) faces without a real glyph */
    int *exact_dups;             /* (n_chars) dropped as byte-equal to an earlier face's image */
    int *near_dups;              /* (n_chars) kept images near an earlier kept image */
    int *pair_both;              /* (n_chars, n_chars) faces with both characters (upper triangle) */
    int *pair_near;              /* (n_chars, n_chars) of those, faces where the two are near-equal */
    int *pair_shift;             /* (n_chars, n_chars) of those, faces where the two are alike by the
                                    shift-tolerant test (shift_level) */
    long faint_images;           /* images counted missing for too little ink (min_ink_px) */
    int n_families;
    char (*families)[64];        /* (n_families) design family names, in order of first face */
    char freetype[32];           /* FreeType version used */
    char set_name[16];           /* "" (glyphs) or "glyphs-xl": the manifest then names it and lists the
                                    classes left out (left_out) instead of glyphs' homoglyph table */
    int n_left_out;
    char (*left_out)[192];       /* (n_left_out) "U+XXXX c: why", of ghm_glyphs_xl_finish */
    int order_seed;              /* glyphs-xl: classes shuffled with this seed (-1: code-point order) */
    int xl_min_faces, xl_min_families; /* glyphs-xl: the rules ghm_glyphs_xl_finish applied */
    double xl_alike_fraction;
} ghm_glyph_set;

/* ---- glyphs-xl: CJK ideographs (docs/glyphs.md, "glyphs-xl") ----
 * Candidates: the CJK Unified Ideographs U+4E00..U+9FFF that the Unicode character maps of faces of at
 * least min_families design families (ghm_glyphs_family_key) map to a glyph, in code-point order; of those,
 * a seeded random sample of target (all when fewer), in code-point order. *chars is malloc'd; *n_eligible
 * (may be NULL) gets the count before sampling. */
#define GHM_GLYPHS_XL_MIN_CMAP_FAMILIES 10
#define GHM_GLYPHS_XL_TARGET 2600
#define GHM_GLYPHS_XL_SEED 25
#define GHM_GLYPHS_XL_SIZE 32
#define GHM_GLYPHS_XL_MIN_FACES 10      /* a class keeps at least this many images (faces) ... */
#define GHM_GLYPHS_XL_MIN_FAMILIES 5    /* ... from at least this many design families */
#define GHM_GLYPHS_XL_ALIKE_FRACTION 0.2 /* a pair alike by the shift test in >= this fraction of faces
                                           having both (at least 5) is one drawing: the later is left out */
int ghm_glyphs_xl_candidates(const ghm_font_entry *fonts, int n_fonts, int min_families, int target, uint64_t seed,
                             uint32_t **chars, int *n, int *n_eligible, ghm_error *err);
/* Options for rendering glyphs-xl: 32 x 32, scale by the ink height of 国 / 口 / 田 (0.75 of the side). */
void ghm_glyphs_xl_opts(ghm_glyphs_opts *o);
/* After ghm_glyphs_render: leave out every class alike (shift test) in at least alike_fraction of the faces
 * having both (>= 5) to an earlier kept class, then every class with fewer than min_faces images or
 * min_families families; shuffle the rest (seeded) so that the default class-disjoint split (first half
 * trains) is a random one. Reasons go to s->left_out. */
int ghm_glyphs_xl_finish(ghm_glyph_set *s, int min_faces, int min_families, double alike_fraction, uint64_t seed,
                         ghm_error *err);
/* Keep classes order[0..n_keep) (old indices, distinct) in that order: images, counts, pair tables. */
int ghm_glyphs_select_classes(ghm_glyph_set *s, const int *order, int n_keep, ghm_error *err);

/* The design family of a face from its family name: the first word, with known
 * derivations joined (Hack is DejaVu's, FreeFont's Free* are URW Nimbus's,
 * Liberation is Arimo/Tinos/Cousine's). out gets at most 63 bytes. */
void ghm_glyphs_family_key(const char *family_name, char out[64]);

/* Render the classes from every face of the listed files. */
int ghm_glyphs_render(const ghm_font_entry *fonts, int n_fonts, const ghm_glyphs_opts *o, ghm_glyph_set *out,
                      ghm_error *err);
void ghm_glyph_set_free(ghm_glyph_set *s);

/* Pairs of classes near-equal in at least min_fraction of the faces having
 * both (and at least min_faces such faces); a (n) and b (n) get class
 * indices, frac (n) the fraction, sorted by fraction then index. Returns the
 * count (<= cap). */
int ghm_glyphs_confusable(const ghm_glyph_set *s, double min_fraction, int min_faces, int cap, int *a, int *b,
                          double *frac);
/* The shift-tolerant test on two size x size images (size even): 1 when, at
 * half resolution (2 x 2 box average) and at the best of the 9 shifts of b by
 * -1..1 pixel, sum |a - b| is at most percent % of the larger image's ink. */
int ghm_glyphs_alike_shifted(const uint8_t *a, const uint8_t *b, int size, int percent);
/* The same by the shift-tolerant test (pair_shift). */
int ghm_glyphs_confusable_shift(const ghm_glyph_set *s, double min_fraction, int min_faces, int cap, int *a, int *b,
                                double *frac);

/* Write the IDX files and manifest.json into dir (created when missing);
 * manifest_sha256 (65 bytes, may be NULL) receives the manifest's hash. */
int ghm_glyphs_write(const ghm_glyph_set *s, const char *dir, char *manifest_sha256, ghm_error *err);

/* Size caps: a font list or manifest is read only up to GHM_GLYPHS_MAX_LIST_BYTES
 * (16 MiB), a font or IDX file hashed only up to GHM_GLYPHS_MAX_FILE_BYTES
 * (256 MiB; the largest Debian CJK collections are about 60 MB); anything that is
 * not a regular file (a directory, FIFO, /dev/zero) is refused, naming the file. */
#define GHM_GLYPHS_MAX_LIST_BYTES (16LL << 20)
#define GHM_GLYPHS_MAX_FILE_BYTES (256LL << 20)

/* Manifest format written and read (version 2: clone / faint-face rules, families, sidecars, two splits;
 * version 1 sets are refused with the command that rebuilds them). */
#define GHM_GLYPHS_FORMAT "ghm-glyphs-2"
/* Seed of the random class split (core/rng stream 0). */
#define GHM_GLYPHS_SPLIT_SEED 25
/* train (n) gets 1 for the classes the random split trains on: n / 2 of them. */
void ghm_glyphs_random_split(int n, uint64_t seed, int *train);

/* SHA-256 of a regular file of at most GHM_GLYPHS_MAX_FILE_BYTES, as 64 hex digits. */
int ghm_glyphs_sha256_file(const char *path, char hex[65], ghm_error *err);
/* GHM_EINPUT when dir exists and is not a directory (checked before rendering). */
int ghm_glyphs_check_out_dir(const char *dir, ghm_error *err);

#ifdef __cplusplus
}
#endif
#endif
