/* Shared argument helpers of the cli/cmd_*.c commands: errors, usage
 * messages, option matching with "did you mean" hints, number parsing. */
#include "cli/cli.h"

#include "core/error.h"
#include "core/params.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    for (size_t k = 0; !known && k < (size_t)ghm_cli_n_help_texts; k++)
        if (strlen(ghm_cli_help_texts[k].cmd) == w && strncmp(ghm_cli_help_texts[k].cmd, command, w) == 0) known = ghm_cli_help_texts[k].text;
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

