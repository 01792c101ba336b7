/* ghm: the command-line entry point. Dispatches to cli/cmd_*.c. */
#include "cli.h"

#include "../backbones/backbone.h"
#include "../core/threads.h"
#include "../datasets/dataset.h"
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
    "usage: ghm COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  run X.yaml [--out DIR] [--threads N] [--only PATTERN] [--force] [--retry-failed] [--dry-run] [--shard I/N]\n"
    "                       run every unfinished run of an experiment file, then report\n"
    "  report results/NAME  aggregate finished runs into summary tables and plots\n"
    "  eval --embeddings E.npy --labels L.npy [--k 1,2,4,8] [--metrics ...] [--json]\n"
    "                       Recall@K, MAP@R, R-precision, NMI/AMI of saved embeddings\n"
    "  loss NAME --embeddings E.npy --labels L.npy [--set k=v] [--grad-out G.npy] [--check]\n"
    "                       evaluate one loss (and check its gradient) on a saved batch\n"
    "  list losses|backbones|datasets\n"
    "                       what is available, with parameters and defaults\n"
    "  data info NAME       counts per split and class, image shape, where the files are\n"
    "  bench train|embed|eval [options]\n"
    "                       speed and memory benchmarks (JSON on the last line)\n"
    "  help                 this text\n"
    "\n"
    "many processes / machines: mpirun -np N ghm run X.yaml (a shared work queue), or\n"
    "  ghm run X.yaml --shard I/N for job arrays, then ghm report results/NAME\n"
    "\n"
    "exit status: 0 ok, 1 run failed, 2 bad input or usage\n"
    "environment: GHM_THREADS (threads when --threads is not given), GHM_DATA (data directory)\n";

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
    if (strcmp(what, "datasets") == 0) {
        printf("%d datasets:\n", ghm_dataset_count());
        for (int i = 0; i < ghm_dataset_count(); i++)
            printf("  %-20s %s\n", ghm_dataset_name_at(i), ghm_dataset_doc_at(i));
        return 0;
    }
    return ghm_cli_usage("list", "expected one of: losses, backbones, datasets");
}

static int cmd_bench(int argc, char **argv)
{
    if (argc < 2) return ghm_cli_usage("bench", "expected one of: train, embed, eval");
    if (strcmp(argv[1], "train") == 0) return ghm_cmd_bench_train(argc - 1, argv + 1);
    if (strcmp(argv[1], "embed") == 0) return ghm_cmd_bench_embed(argc - 1, argv + 1);
    if (strcmp(argv[1], "eval") == 0) return ghm_cmd_bench_eval(argc - 1, argv + 1);
    if (strcmp(argv[1], "pdist") == 0) return ghm_cmd_bench_pdist(argc - 1, argv + 1);
    return ghm_cli_usage("bench", "unknown benchmark '%s' (expected train, embed or eval)", argv[1]);
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
    const char *cmd = argv[1];
    int sub_argc = argc - 1;
    char **sub_argv = argv + 1;
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
