/* ghm: the command-line entry point. Dispatches to cli/cmd_*.c. */
#include "cli.h"

#include "../backbones/backbone.h"
#include "../core/threads.h"
#include "../datasets/dataset.h"
#include "experiment/provenance.h"
#include "experiment/record.h"
#include "experiment/settings.h"
#include "../eval/eval.h"
#include "../losses/loss.h"

#include <cblas.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 1 and prints the command's help when argv has --help or -h */
static int command_help(const char *cmd, int argc, char **argv)
{
    int asked = 0;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) asked = 1;
    if (!asked) return 0;
    for (size_t k = 0; k < (size_t)ghm_cli_n_help_texts; k++)
        if (strcmp(ghm_cli_help_texts[k].cmd, cmd) == 0 && ghm_cli_help_texts[k].text) {
            ghm_cli_help_print(ghm_cli_help_texts[k].text, stdout);
            return 1;
        }
    return 0;
}

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
    static const char *const whats[] = {"losses", "backbones", "datasets", "settings", "metrics"};
    int known = 0;
    for (int k = 0; k < 5; k++) known |= strcmp(what, whats[k]) == 0;
    if (!known) {
        const char *close = ghm_closest_name(what, whats, 5);
        if (close) return ghm_cli_usage("list", "unknown list '%s' (did you mean '%s'?)", what, close);
        return ghm_cli_usage("list", "expected one of: losses, backbones, datasets, settings, metrics");
    }
    int markdown = argc > 2 && (strcmp(what, "losses") == 0 || strcmp(what, "settings") == 0) &&
                   strcmp(argv[2], "--markdown") == 0;
    if (argc > 2 + markdown)
        return ghm_cli_usage("list", "unexpected '%s'%s", argv[2 + markdown],
                             ghm_cli_option_hint("list", argv[2 + markdown], NULL));
    if (strcmp(what, "settings") == 0) { /* docs/experiment_format.md's settings table with --markdown */
        char *text = ghm_settings_list(markdown);
        if (!text) {
            fprintf(stderr, "ghm: error: out of memory\n");
            return 1;
        }
        fputs(text, stdout);
        free(text);
        return 0;
    }
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
    if (strcmp(what, "metrics") == 0) { /* the metric registry (eval/metric_registry.c) */
        ghm_eval_opts def;
        ghm_eval_opts_default(&def);
        printf("%d metrics (name in eval.metrics, record key; * = on by default):\n", ghm_metric_count());
        for (int i = 0; i < ghm_metric_count(); i++) {
            const ghm_metric_ops *mo = ghm_metric_at(i);
            char key[GHM_METRIC_NAME_MAX + 2];
            snprintf(key, sizeof key, "%s%s", mo->key, (mo->needs & GHM_METRIC_NEEDS_K) ? "K" : "");
            printf("  %c %-12s %-12s %s\n", ghm_metric_on(&def, mo) ? '*' : ' ', mo->name, key, mo->help);
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
        fputs(ghm_cli_usage_text, argc < 2 ? stderr : stdout);
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
