/* Report figures: .dat + .gp + .png through gnuplot, and a 2-D PCA in C. */
#include "report/plot.h"

#include "../core/fsutil.h"
#include "../core/json.h"
#include "../core/npy.h"
#include "core/textbuf.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- PCA ---- */

int ghm_pca2(const float *x, int n, int d, float *out, ghm_error *err)
{
    if (n < 1 || d < 1) return ghm_error_set(err, GHM_EINPUT, "pca: need n >= 1 and d >= 1 (got %d, %d)", n, d);
    float *xc = malloc((size_t)n * d * sizeof *xc);  /* (n, d) centred */
    float *cov = malloc((size_t)d * d * sizeof *cov); /* (d, d) */
    double *mean = calloc((size_t)d, sizeof *mean);
    double *v = malloc((size_t)2 * d * sizeof *v);   /* (2, d) eigenvectors */
    double *w = malloc((size_t)d * sizeof *w);
    if (!xc || !cov || !mean || !v || !w) {
        free(xc), free(cov), free(mean), free(v), free(w);
        return GHM_FAIL(err, GHM_ENOMEM, "out of memory (pca %d x %d)", n, d);
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) mean[j] += x[(size_t)i * d + j];
    for (int j = 0; j < d; j++) mean[j] /= n;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) xc[(size_t)i * d + j] = (float)(x[(size_t)i * d + j] - mean[j]);
    /* cov = xc^T xc / n  (d, d) */
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, d, n, 1.0f / (float)n, xc, d, xc, d, 0.0f, cov, d);
    double lambda0 = 0;
    for (int k = 0; k < 2; k++) {
        double *vk = v + (size_t)k * d;
        for (int j = 0; j < d; j++) vk[j] = 1.0 + 0.01 * j; /* deterministic start */
        double lambda = 0;
        for (int it = 0; it < 500; it++) {
            /* w = (C - lambda0 v0 v0^T) vk */
            for (int a = 0; a < d; a++) {
                double s = 0;
                for (int b = 0; b < d; b++) s += (double)cov[(size_t)a * d + b] * vk[b];
                w[a] = s;
            }
            if (k == 1) {
                double dot = 0;
                for (int j = 0; j < d; j++) dot += v[j] * vk[j];
                for (int j = 0; j < d; j++) w[j] -= lambda0 * dot * v[j];
                /* keep orthogonal to v0 against round-off */
                dot = 0;
                for (int j = 0; j < d; j++) dot += v[j] * w[j];
                for (int j = 0; j < d; j++) w[j] -= dot * v[j];
            }
            double nrm = 0;
            for (int j = 0; j < d; j++) nrm += w[j] * w[j];
            nrm = sqrt(nrm);
            if (nrm < 1e-30) { /* degenerate (e.g. rank 1): keep a zero direction */
                for (int j = 0; j < d; j++) vk[j] = 0;
                lambda = 0;
                break;
            }
            double change = 0;
            for (int j = 0; j < d; j++) {
                double nv = w[j] / nrm;
                change += fabs(nv - vk[j]);
                vk[j] = nv;
            }
            lambda = nrm;
            if (change < 1e-10 * d) break;
        }
        /* sign: largest |component| positive */
        int arg = 0;
        for (int j = 1; j < d; j++)
            if (fabs(vk[j]) > fabs(vk[arg])) arg = j;
        if (vk[arg] < 0)
            for (int j = 0; j < d; j++) vk[j] = -vk[j];
        if (k == 0) lambda0 = lambda;
    }
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 2; k++) {
            double s = 0;
            for (int j = 0; j < d; j++) s += (double)xc[(size_t)i * d + j] * v[(size_t)k * d + j];
            out[(size_t)i * 2 + k] = (float)s;
        }
    free(xc), free(cov), free(mean), free(v), free(w);
    return 0;
}

/* ---- helpers ---- */

void ghm_plot_safe_name(const char *in, char *out, size_t n)
{
    size_t k = 0;
    for (const char *p = in; *p && k + 1 < n; p++) {
        char c = *p;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-')
            out[k++] = c;
        else if (c == '@' && k + 5 < n) {
            memcpy(out + k, "_at_", 4);
            k += 4;
        } else
            out[k++] = '_';
    }
    out[k < n ? k : n - 1] = '\0';
}

/* A gnuplot string literal that cannot become code. Single quotes: gnuplot
 * substitutes `command` and @macro inside double-quoted strings (and expands
 * backslash escapes there), never inside single-quoted ones, where the only
 * special character is the quote itself (doubled). A line break would end
 * the command: control characters never pass (ghm_tb_safe_char). */
void ghm_gp_str(ghm_tb *b, const char *s)
{
    /* a file name that starts with '<' or '|' is a command to gnuplot: no literal starts so */
    ghm_tb_puts(b, (*s == '<' || *s == '|') ? "' " : "'");
    for (const char *p = s; *p; p++) {
        char c = ghm_tb_safe_char(*p);
        ghm_tb_printf(b, c == '\'' ? "''" : "%c", c);
    }
    ghm_tb_puts(b, "'");
}

/* gnuplot words that run or read other things (commands, files, shell) */
static int gp_forbidden_word(const char *w, size_t n)
{
    static const char *const words[] = {"system", "shell", "load", "call", "eval", "evaluate", "import",
                                        "cd",     "pipe",  "save", "print", "fit", NULL};
    for (int i = 0; words[i]; i++)
        if (strlen(words[i]) == n && strncmp(words[i], w, n) == 0) return 1;
    return 0;
}

int ghm_gp_check(const char *script, char *why, size_t wn)
{
    int line = 1, in = 0; /* in: 0 code, '\'' or '"' inside a string */
    const char *line_start = script;
    for (const char *p = script; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c < 0x20 && c != '\n') || c == 0x7f) {
            snprintf(why, wn, "line %d: control character 0x%02x", line, c);
            return -1;
        }
        if (c == '\n') {
            if (in) {
                snprintf(why, wn, "line %d: a string runs past the end of the line", line);
                return -1;
            }
            line++;
            line_start = p + 1;
            continue;
        }
        if (in == '\'') {
            if (c == '\'') {
                if (p[1] == '\'')
                    p++; /* '' inside: a quote */
                else
                    in = 0;
            } else if (c == '\\' && p[1] == '\n') {
                snprintf(why, wn, "line %d: a string continued on the next line", line);
                return -1;
            }
            continue;
        }
        if (in == '"') {
            if (c == '\\' && p[1] && p[1] != '\n')
                p++;
            else if (c == '"')
                in = 0;
            else if (c == '`' || c == '@' || (c == '\\' && p[1] == '\n')) {
                snprintf(why, wn, "line %d: '%c' in a double-quoted string", line, c);
                return -1;
            }
            continue;
        }
        /* code */
        if (c == '#') { /* comment to the end of the line (a trailing backslash would continue it) */
            while (p[1] && p[1] != '\n') p++;
            if (*p == '\\') {
                snprintf(why, wn, "line %d: a comment continued on the next line", line);
                return -1;
            }
            continue;
        }
        if (c == '\'' || c == '"') {
            in = c;
            if (p[1] == '<' || p[1] == '|') { /* plot '< cmd', set output '| cmd' */
                snprintf(why, wn, "line %d: a string that starts with '%c'", line, p[1]);
                return -1;
            }
            continue;
        }
        if (c == '`' || c == '@') {
            snprintf(why, wn, "line %d: '%c' outside a string", line, c);
            return -1;
        }
        if (c == '!') { /* "!command" at the start of a command is a shell command; "!x" is negation */
            const char *q = p;
            while (q > line_start && (q[-1] == ' ' || q[-1] == '\t')) q--;
            if (q == line_start || q[-1] == ';' || q[-1] == '{') {
                snprintf(why, wn, "line %d: a shell command", line);
                return -1;
            }
        }
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') {
            const char *w = p;
            while ((p[1] >= 'a' && p[1] <= 'z') || (p[1] >= 'A' && p[1] <= 'Z') || (p[1] >= '0' && p[1] <= '9') ||
                   p[1] == '_')
                p++;
            if (gp_forbidden_word(w, (size_t)(p - w + 1))) {
                snprintf(why, wn, "line %d: '%.*s' outside a string", line, (int)(p - w + 1), w);
                return -1;
            }
        }
    }
    if (in) {
        snprintf(why, wn, "line %d: unterminated string", line);
        return -1;
    }
    return 0;
}

/* Ten clearly distinct colours (matplotlib's tab10), cycled; each loss keeps its
 * colour (its index in the file) in every figure. */
static const char *const palette[10] = {"1f77b4", "ff7f0e", "2ca02c", "d62728", "9467bd",
                                        "8c564b", "e377c2", "7f7f7f", "bcbd22", "17becf"};

/* Series style: colour, dash type and marker all differ between losses, so a
 * curve drawn exactly under another (e.g. ghm at alpha = 1 and contrastive)
 * still shows, and the figure reads in black and white. */
static const int point_types[10] = {7, 5, 9, 11, 13, 15, 4, 6, 8, 10};
void ghm_gp_series_line(ghm_tb *plot, int l)
{
    ghm_tb_printf(plot, " dt %d lc rgb '#%s'", l % 5 + 1, palette[l % 10]);
}

void ghm_gp_series_style(ghm_tb *plot, int l)
{
    ghm_tb_printf(plot, " dt %d pt %d lc rgb '#%s'", l % 5 + 1, point_types[l % 10], palette[l % 10]);
}

/* Legend title of series k: its name, plus "(= other)" when its data block is
 * identical to that of an earlier series (the two curves coincide). */
static void gp_series_title(ghm_tb *plot, char *const *blocks, const char *const *names, int k)
{
    char t[GHM_NAME_MAX * 2 + 8];
    snprintf(t, sizeof t, "%s", names[k]);
    for (int j = 0; j < k; j++)
        if (blocks[j] && blocks[k] && strcmp(blocks[j], blocks[k]) == 0) {
            snprintf(t, sizeof t, "%s (= %s)", names[k], names[j]);
            break;
        }
    ghm_gp_str(plot, t);
}

/* Script head: titles and axes only. The terminal and output lines are added
 * by ghm_plot_emit() for every requested format; the output name is the variable
 * `out` (default: the figure's name), so `gnuplot NAME.gp` rewrites NAME.png,
 * NAME.pdf, ... and ghm renders under a temporary name, then renames. */
void ghm_gp_header(ghm_tb *b, const char *base, const char *title, const char *xlabel, const char *ylabel)
{
    ghm_tb_puts(b, "# generated by ghm report: edit and rerun `gnuplot <this file>` to restyle\n");
    ghm_tb_puts(b, "if (!exists(\"out\")) out = ");
    ghm_gp_str(b, base);
    ghm_tb_puts(b, "\n");
    ghm_tb_puts(b, "set title ");
    ghm_gp_str(b, title);
    ghm_tb_puts(b, "\nset xlabel ");
    ghm_gp_str(b, xlabel);
    ghm_tb_puts(b, "\nset ylabel ");
    ghm_gp_str(b, ylabel);
    ghm_tb_puts(b, "\nset grid\nset bmargin 7\nset key at screen 0.5,0.01 center bottom horizontal maxrows 3 samplen 2\n");
}



static const struct {
    unsigned bit;
    const char *ext, *terminal;
} formats[] = {
    {GHM_PLOT_PNG, "png", NULL /* pngcairo, or png when cairo is missing: see ghm_plot_emit() */},
    {GHM_PLOT_PDF, "pdf", NULL /* pdfcairo, size by GHM_PLOT_WIDE: see gp_outputs() */},
    {GHM_PLOT_SVG, "svg", "svg size 900,600 dynamic noenhanced background \"white\""},
};
#define N_FORMATS ((int)(sizeof formats / sizeof formats[0]))

/* Run gnuplot (no shell between): argv {gnuplot, -e, expr, script} (expr and
 * script may be NULL), working directory cwd_fd (-1: unchanged), stdout and
 * stderr into log_fd (-1: /dev/null). Returns the exit status, -1 when it
 * could not be started or died of a signal. */
static int run_gnuplot(const char *gnuplot, const char *expr, const char *script, int cwd_fd, int log_fd)
{
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        /* child: only async-signal-safe calls until exec */
        int nul = open("/dev/null", O_RDWR);
        if (nul >= 0) dup2(nul, 0);
        int out = log_fd >= 0 ? log_fd : nul;
        if (out >= 0) {
            dup2(out, 1);
            dup2(out, 2);
        }
        if (cwd_fd >= 0 && fchdir(cwd_fd) < 0) _exit(126);
        char *argv[6];
        int k = 0;
        argv[k++] = (char *)gnuplot;
        if (expr) {
            argv[k++] = (char *)"-e";
            argv[k++] = (char *)expr;
        }
        if (script) argv[k++] = (char *)script;
        argv[k] = NULL;
        execvp(gnuplot, argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Append the output section to a script whose last command is `plot ...`
 * (plot_cmd, the plot command text): one terminal + output per format. */
static void gp_outputs(ghm_tb *gp, unsigned fmts, const char *plot_cmd)
{
    int wide = (fmts & GHM_PLOT_WIDE) != 0;
    int first = 1;
    for (int f = 0; f < N_FORMATS; f++) {
        if (!(fmts & formats[f].bit)) continue;
        /* one column of a two-column paper (8.5 cm, 8 pt text), or the text width (17.5 cm) */
        if (formats[f].bit == GHM_PLOT_PNG)
            ghm_tb_printf(gp, "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
                              "    set terminal pngcairo size %s noenhanced font \"Sans,8\"\n"
                              "} else {\n"
                              "    set terminal png size %s noenhanced\n"
                              "}\n",
                          wide ? "1240,640" : "602,531", wide ? "1240,640" : "602,531");
        else if (formats[f].bit == GHM_PLOT_PDF)
            ghm_tb_printf(gp, "set terminal pdfcairo size %s noenhanced font \"Sans,8\"\n",
                          wide ? "17.5cm,9cm" : "8.5cm,7.5cm");
        else
            ghm_tb_printf(gp, "set terminal %s\n", formats[f].terminal);
        ghm_tb_printf(gp, "set output out.\".%s\"\n", formats[f].ext);
        /* a multiplot cannot be replotted: its commands are repeated */
        if (first || strncmp(plot_cmd, "set multiplot", 13) == 0)
            ghm_tb_puts(gp, plot_cmd);
        else
            ghm_tb_puts(gp, "replot\n");
        first = 0;
    }
    ghm_tb_puts(gp, "set output\n");
}

/* write base.dat and base.gp (gp holds the head, plot_cmd the plot command),
 * run gnuplot with out = a name in a fresh private directory, move every
 * output into place. plots/ is opened without following a link, every file
 * is created O_EXCL | O_NOFOLLOW and renamed (core/fsutil.h), and gnuplot
 * writes only into the directory made for it here: nothing follows a link
 * that someone placed in the results directory. */
int ghm_plot_emit(ghm_plot_out *c, const char *base, const char *caption, ghm_tb *dat, ghm_tb *gp, ghm_tb *plot_cmd)
{
    char *d = NULL, *g = NULL, *p = NULL, name[256], why[160];
    int rc = ghm_tb_finish(plot_cmd, &p, c->err);
    if (rc < 0) {
        ghm_tb_free(dat);
        ghm_tb_free(gp);
        return rc;
    }
    gp_outputs(gp, c->formats, p);
    free(p);
    if ((rc = ghm_tb_finish(dat, &d, c->err)) < 0) {
        ghm_tb_free(gp);
        return rc;
    }
    if ((rc = ghm_tb_finish(gp, &g, c->err)) < 0) {
        free(d);
        return rc;
    }
    /* the scripts are built from escaped literals (ghm_gp_str); check that they hold nothing else */
    if (ghm_gp_check(g, why, sizeof why) < 0) {
        rc = GHM_FAIL(c->err, GHM_EFAIL, "%s/%s.gp: refusing to write a script that could run commands (%s)", c->dir,
                      base, why);
        free(d);
        free(g);
        return rc;
    }
    int pfd = ghm_out_dir_open(c->root, "plots", 1, c->err);
    if (pfd < 0) {
        free(d);
        free(g);
        return pfd;
    }
    snprintf(name, sizeof name, "%s.dat", base);
    rc = ghm_out_write_at(pfd, c->dir, name, d, strlen(d), c->err);
    if (rc == 0) {
        snprintf(name, sizeof name, "%s.gp", base);
        rc = ghm_out_write_at(pfd, c->dir, name, g, strlen(g), c->err);
    }
    free(d);
    free(g);
    if (rc < 0 || !c->have_gnuplot) {
        close(pfd);
        return rc;
    }
    /* gnuplot's outputs go into a fresh directory only this process has made */
    char rdir[64];
    int rfd = ghm_out_tmpdir_at(pfd, c->dir, ".render-", rdir, sizeof rdir, c->err);
    if (rfd < 0) {
        close(pfd);
        return rfd;
    }
    int log = openat(pfd, "gnuplot.log", O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
    char out[300];
    snprintf(out, sizeof out, "%s/%s", rdir, base);
    ghm_tb e;
    ghm_tb_init(&e);
    ghm_tb_puts(&e, "out=");
    ghm_gp_str(&e, out);
    snprintf(name, sizeof name, "%s.gp", base);
    /* (no log when something that is not a file sits at gnuplot.log: gnuplot's messages are dropped) */
    int ok = !e.failed && ghm_gp_check(e.buf, why, sizeof why) == 0 &&
             run_gnuplot(c->gnuplot, e.buf, name, pfd, log) == 0;
    ghm_tb_free(&e);
    if (log >= 0) close(log);
    for (int f = 0; f < N_FORMATS; f++) {
        if (!(c->formats & formats[f].bit)) continue;
        char out_name[200];
        snprintf(out_name, sizeof out_name, "%s.%s", base, formats[f].ext);
        /* a failed, partial or missing output never replaces a good one */
        if (ok && ghm_out_move_at(rfd, out_name, pfd, out_name) != 0) ok = 0;
    }
    close(rfd);
    ghm_out_rmdir_at(pfd, rdir);
    close(pfd);
    if (ok) {
        c->n_plots++;
        if (c->list && c->list->n < GHM_PLOT_LIST_MAX) {
            ghm_plot_entry *en = &c->list->items[c->list->n++];
            snprintf(en->base, sizeof en->base, "%s", base);
            snprintf(en->caption, sizeof en->caption, "%s", caption);
        }
    } else {
        if (c->n_failed++ == 0) snprintf(c->first_fail, sizeof c->first_fail, "%s.gp", base);
    }
    return 0;
}

/* ---- the paper figure: metric per loss and paired differences (ghm_plot_forest) ---- */

/* rows of one panel, one data block per evaluation: y mean lo hi significant primary p_holm */
static int forest_block(ghm_tb *dat, const ghm_forest_row *rows, int n, int ev, int diff, double off)
{
    int k = 0;
    for (int i = 0; i < n; i++) {
        const ghm_forest_row *r = &rows[i];
        if (!isfinite(r->mean[ev])) continue;
        double lo = isfinite(r->lo[ev]) ? r->lo[ev] : r->mean[ev], hi = isfinite(r->hi[ev]) ? r->hi[ev] : r->mean[ev];
        ghm_tb_printf(dat, "%.6g %.9g %.9g %.9g %d %d %.6g\n", (double)(n - 1 - i) + off, 100 * r->mean[ev], 100 * lo,
                      100 * hi, diff && isfinite(r->p_holm[ev]) && r->p_holm[ev] < 0.05, r->primary,
                      diff ? r->p_holm[ev] : NAN);
        k++;
    }
    return k;
}

/* y tics: the row labels, top row first (" (P)" on primary comparisons) */
static void forest_ytics(ghm_tb *cmd, const ghm_forest_row *rows, int n, int diff)
{
    ghm_tb_puts(cmd, "set ytics (");
    for (int i = 0; i < n; i++) {
        char t[128];
        snprintf(t, sizeof t, "%s%s", rows[i].label, diff && rows[i].primary ? " (P)" : "");
        ghm_tb_puts(cmd, i ? ", " : "");
        ghm_gp_str(cmd, t);
        ghm_tb_printf(cmd, " %d", n - 1 - i);
    }
    ghm_tb_printf(cmd, ")\nset yrange [-0.6:%d.6]\n", n - 1);
}

int ghm_plot_forest(ghm_plot_out *o, const ghm_forest *f)
{
    if (f->n_top <= 0) return 0;
    static const char *const ev_col[2] = {"1f77b4", "ff7f0e"};
    static const int ev_pt[2][2] = {{6, 7}, {4, 5}}; /* [evaluation][significant]: circle, square; open, filled */
    int n_ev = f->series[1] ? 2 : 1, panels = f->diff && f->n_diff > 0 ? 2 : 1;
    double off[2] = {n_ev == 2 ? 0.15 : 0, -0.15};
    ghm_tb dat, gp, cmd;
    ghm_tb_init(&dat);
    ghm_tb_init(&gp);
    ghm_tb_init(&cmd);
    ghm_tb_puts(&dat, "# ");
    ghm_tb_text(&dat, f->title);
    ghm_tb_puts(&dat, "\n# blocks: per panel (metric, then differences) and evaluation; columns: y mean lo hi "
                      "(percent / points, 95% CI) holm_significant primary p_holm\n");
    int blk[2][2] = {{-1, -1}, {-1, -1}}, nb = 0;
    for (int p = 0; p < panels; p++)
        for (int ev = 0; ev < n_ev; ev++) {
            ghm_tb t;
            ghm_tb_init(&t);
            int k = forest_block(&t, p ? f->diff : f->top, p ? f->n_diff : f->n_top, ev, p, off[ev]);
            if (k > 0 && !t.failed) {
                if (nb > 0) ghm_tb_puts(&dat, "\n\n");
                ghm_tb_printf(&dat, "# %s, ", p ? "differences" : "metric");
                ghm_tb_text(&dat, f->series[ev] ? f->series[ev] : "");
                ghm_tb_puts(&dat, "\n");
                ghm_tb_puts(&dat, t.buf);
                blk[p][ev] = nb++;
            }
            dat.failed |= t.failed;
            ghm_tb_free(&t);
        }
    if (nb == 0) {
        ghm_tb_free(&dat);
        ghm_tb_free(&gp);
        ghm_tb_free(&cmd);
        return 0;
    }
    ghm_gp_header(&gp, f->base, f->title, f->metric_label, "");
    ghm_tb_puts(&gp, "unset title\nunset ylabel\nset grid xtics noytics\nset offsets graph 0.04, graph 0.04, 0, 0\n");
    /* the panels share the left edge (room for the row labels); heights follow their row counts */
    double top = 0.91, bottom = n_ev == 2 ? 0.13 : 0.11, gap = 0.19;
    double h_all = top - bottom - (panels == 2 ? gap : 0);
    double w0 = f->n_top + 1.0, w1 = panels == 2 ? f->n_diff + 1.0 : 0;
    double h0 = h_all * w0 / (w0 + w1);
    ghm_tb_puts(&cmd, "set multiplot title ");
    ghm_gp_str(&cmd, f->title);
    ghm_tb_puts(&cmd, "\nset lmargin at screen 0.34\nset rmargin at screen 0.96\n");
    for (int p = 0; p < panels; p++) {
        double t = p == 0 ? top : top - h0 - gap, b = p == 0 ? top - h0 : bottom;
        ghm_tb_printf(&cmd, "set tmargin at screen %.4f\nset bmargin at screen %.4f\n", t, b);
        forest_ytics(&cmd, p ? f->diff : f->top, p ? f->n_diff : f->n_top, p);
        ghm_tb_puts(&cmd, "set xlabel ");
        ghm_gp_str(&cmd, p ? f->diff_label : f->metric_label);
        ghm_tb_puts(&cmd, "\n");
        if (p == 1) {
            ghm_tb_puts(&cmd, "set arrow 1 from first 0, graph 0 to first 0, graph 1 nohead dt 2 lc rgb '#444444'\n"
                              "set title ");
            ghm_gp_str(&cmd, f->diff_title ? f->diff_title : "");
            ghm_tb_puts(&cmd, "\n");
        } else {
            ghm_tb_puts(&cmd, "unset arrow 1\nunset title\n");
        }
        /* the legend once, below the last panel (only with two evaluations) */
        if (p == panels - 1 && n_ev == 2)
            ghm_tb_puts(&cmd, "set key at screen 0.5,0.005 center bottom horizontal samplen 1\n");
        else
            ghm_tb_puts(&cmd, "unset key\n");
        ghm_tb_puts(&cmd, "plot");
        int terms = 0;
        for (int ev = 0; ev < n_ev; ev++) {
            if (blk[p][ev] < 0) continue;
            /* metric panel: filled markers; differences: filled when Holm-significant, open otherwise */
            for (int sig = p == 0 ? 1 : 0; sig < 2; sig++) {
                ghm_tb_printf(&cmd, "%s'%s.dat' index %d using 2:(%s$1 : 1/0):3:4 with xerrorbars pt %d ps 0.7 lw 1.5 "
                                    "lc rgb '#%s' ",
                              terms++ ? ", \\\n     " : " ", f->base, blk[p][ev],
                              p == 0 ? "1 ? " : sig ? "$5 == 1 ? " : "$5 == 0 ? ", ev_pt[ev][sig], ev_col[ev]);
                /* the legend's entry: the filled marker of each evaluation */
                if (sig == 1 && n_ev == 2 && p == panels - 1) {
                    ghm_tb_puts(&cmd, "title ");
                    ghm_gp_str(&cmd, f->series[ev]);
                } else {
                    ghm_tb_puts(&cmd, "notitle");
                }
            }
        }
        if (!terms) /* an empty panel still keeps its place: a point outside the range */
            ghm_tb_puts(&cmd, " 1/0 notitle");
        ghm_tb_puts(&cmd, "\n");
    }
    ghm_tb_puts(&cmd, "unset multiplot\n");
    return ghm_plot_emit(o, f->base, f->caption, &dat, &gp, &cmd);
}

static int is_numeric_text(const char *t)
{
    char *end;
    if (!*t) return 0;
    strtod(t, &end);
    return *end == '\0';
}

/* ---- figures ---- */

static int is_power_of_two(double v)
{
    if (!(v > 0) || !isfinite(v)) return 0;
    double e = log2(v);
    return fabs(e - round(e)) < 1e-9;
}

/* The human name of a swept key for an axis label (issue 28.6): one table;
 * a key not in it (a loss parameter such as `alpha`) is shown as it is. */
static const char *param_display(const char *key)
{
    static const struct {
        const char *key, *name;
    } names[] = {
        {"backbone.embedding_dim", "embedding dimension"},
        {"backbone.normalize", "L2-normalised embeddings"},
        {"dataset.train_per_class", "training images per class"},
        {"dataset.test_per_class", "test images per class"},
        {"dataset.image_size", "image size (pixels)"},
        {"train.epochs", "epochs"},
        {"train.steps_per_epoch", "steps per epoch"},
        {"train.batch_size", "batch size"},
        {"train.m_per_class", "images per class in a batch"},
        {"train.optimizer.lr", "learning rate"},
        {"train.optimizer.momentum", "momentum"},
        {"train.optimizer.weight_decay", "weight decay"},
        {"train.optimizer.eps", "optimizer epsilon"},
        {"train.schedule.warmup_epochs", "warm-up epochs"},
        {"train.schedule.step_epochs", "epochs per learning-rate step"},
        {"train.schedule.gamma", "learning-rate decay factor"},
        {"train.schedule.min_lr_ratio", "final / initial learning rate"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(key, names[i].key) == 0) return names[i].name;
    return key;
}

/* The values of swept parameter c over the groups that have it. */
typedef struct {
    int pow2;                  /* every value a power of two: a log2 axis */
    double xmin, xmax;
    double xs[64];             /* the distinct values (the first 64) */
    int n_xs;
} mvp_axis;

/* the values of swept parameter c: 1 when they are numeric with at least 2 distinct values, else 0 */
static int mvp_scan_axis(const ghm_summary *s, int c, mvp_axis *ax)
{
    int nx = 0;
    double x0 = 0;
    ax->pow2 = 1;
    ax->xmin = INFINITY;
    ax->xmax = -INFINITY;
    ax->n_xs = 0;
    for (int g = 0; g < s->n_groups; g++) {
        const ghm_group *G = &s->groups[g];
        if (!G->has[c]) continue;
        if (!is_numeric_text(G->text[c])) return 0;
        double v = G->value[c];
        if (nx == 0) x0 = v, nx = 1;
        else if (v != x0) nx = 2;
        ax->xmin = fmin(ax->xmin, v);
        ax->xmax = fmax(ax->xmax, v);
        if (!is_power_of_two(v)) ax->pow2 = 0;
        int seen = 0;
        for (int k = 0; k < ax->n_xs; k++) seen |= ax->xs[k] == v;
        if (!seen && ax->n_xs < 64) ax->xs[ax->n_xs++] = v;
    }
    return nx >= 2;
}

/* A metric-vs-parameter figure being written: metric m against swept parameter c, its data blocks
 * (dat, one per curve or band) and its plot command. */
typedef struct {
    const ghm_summary *s;
    int c, m;
    const char *base;
    double lo, hi;             /* the x range */
    ghm_tb *dat, *plot;
    int block, nterms;
} mvp_fig;

/* the x axis (range with a margin, log2 scale, ticks at the swept values when few) of the script gp */
static void mvp_x_axis(ghm_tb *gp, mvp_axis *ax, double lo, double hi)
{
    if (ax->pow2) ghm_tb_puts(gp, "set logscale x 2\n");
    ghm_tb_printf(gp, "set xrange [%.9g:%.9g]\n", lo, hi);
    if (ax->n_xs <= 12) {
        /* ticks at the swept values */
        double *xs = ax->xs;
        for (int a = 1; a < ax->n_xs; a++)
            for (int b2 = a; b2 > 0 && xs[b2] < xs[b2 - 1]; b2--) {
                double t = xs[b2];
                xs[b2] = xs[b2 - 1];
                xs[b2 - 1] = t;
            }
        ghm_tb_puts(gp, "set xtics (");
        for (int a = 0; a < ax->n_xs; a++) ghm_tb_printf(gp, "%s%.9g", a ? ", " : "", xs[a]);
        ghm_tb_puts(gp, ")\n");
    }
}

/* a loss l without parameter c: a band mean ± std of its selected setting across the x range (nothing
 * when it has no test value) */
static void mvp_baseline(mvp_fig *F, int l)
{
    const ghm_summary *s = F->s;
    const char *loss = s->losses[l];
    int on_test;
    int g = ghm_summary_best(s, loss, &on_test);
    if (g < 0 || s->groups[g].test[F->m].n == 0) return;
    const ghm_stat *st = &s->groups[g].test[F->m];
    if (F->block > 0) ghm_tb_puts(F->dat, "\n\n");
    ghm_tb_puts(F->dat, "# ");
    ghm_tb_text(F->dat, loss);
    ghm_tb_puts(F->dat, " (baseline)\n");
    for (int r = 0; r < 2; r++)
        ghm_tb_printf(F->dat, "%.9g %.9g %.9g %.9g\n", r ? F->hi : F->lo, 100 * (st->mean - st->std),
                      100 * (st->mean + st->std), 100 * st->mean); /* percent, as the tables */
    ghm_tb_printf(F->plot, "%s'%s.dat' index %d using 1:2:3 with filledcurves fs transparent solid 0.15 "
                           "noborder lc rgb '#%s' notitle",
                  F->nterms++ ? ", \\\n    " : " ", F->base, F->block, palette[l % 10]);
    /* the loss's own colour and dash type, as in every figure */
    ghm_tb_printf(F->plot, ", \\\n    '%s.dat' index %d using 1:4 with lines lw 2", F->base, F->block);
    ghm_gp_series_line(F->plot, l);
    ghm_tb_puts(F->plot, " title ");
    char t[96];
    snprintf(t, sizeof t, "%s (± std)", loss); /* short: the key fits two columns at 8.5 cm */
    ghm_gp_str(F->plot, t);
    F->block++;
}

/* the groups of loss with parameter c not yet used whose other swept values are those of group g0
 * (marked used, at most max, sorted by the value of c) into idx; returns how many */
static int mvp_curve_groups(const ghm_summary *s, int c, const char *loss, int g0, int *used, int *idx, int max)
{
    const ghm_group *G0 = &s->groups[g0];
    int k = 0;
    for (int g = g0; g < s->n_groups && k < max; g++) {
        const ghm_group *G = &s->groups[g];
        if (used[g] || strcmp(G->loss, loss) != 0 || !G->has[c]) continue;
        int same = 1;
        for (int o = 0; o < s->n_swept; o++) {
            if (o == c) continue;
            if (G->has[o] != G0->has[o] || (G->has[o] && strcmp(G->text[o], G0->text[o]) != 0)) same = 0;
        }
        if (!same) continue;
        used[g] = 1;
        idx[k++] = g;
    }
    for (int a = 1; a < k; a++)
        for (int b2 = a; b2 > 0 && s->groups[idx[b2]].value[c] < s->groups[idx[b2 - 1]].value[c]; b2--) {
            int t = idx[b2];
            idx[b2] = idx[b2 - 1];
            idx[b2 - 1] = t;
        }
    return k;
}

/* the legend of a curve: "loss (key=value, ...)" with the other swept values of group G0 */
static void mvp_curve_label(const ghm_summary *s, int c, const char *loss, const ghm_group *G0, char *label,
                            size_t size)
{
    int ln = snprintf(label, size, "%s", loss);
    int first = 1;
    for (int o = 0; o < s->n_swept && ln < (int)size - 1; o++)
        if (o != c && G0->has[o]) {
            ln += snprintf(label + ln, size - (size_t)ln, "%s%s=%s", first ? " (" : ", ", s->swept[o], G0->text[o]);
            first = 0;
        }
    if (!first && ln < (int)size - 1) snprintf(label + ln, size - (size_t)ln, ")");
}

/* a loss l with parameter c: one curve (mean, std error bars) per combination of the other swept
 * values; used marks the groups already drawn */
static void mvp_curves(mvp_fig *F, int l, int *used)
{
    const ghm_summary *s = F->s;
    const char *loss = s->losses[l];
    int c = F->c, curves = 0;
    for (int g0 = 0; g0 < s->n_groups; g0++) {
        const ghm_group *G0 = &s->groups[g0];
        if (used[g0] || strcmp(G0->loss, loss) != 0 || !G0->has[c]) continue;
        int idx[256];
        int k = mvp_curve_groups(s, c, loss, g0, used, idx, 256);
        char label[256];
        mvp_curve_label(s, c, loss, G0, label, sizeof label);
        if (F->block > 0) ghm_tb_puts(F->dat, "\n\n");
        ghm_tb_puts(F->dat, "# ");
        ghm_tb_text(F->dat, label);
        ghm_tb_puts(F->dat, "\n");
        for (int a = 0; a < k; a++) {
            const ghm_stat *st = &s->groups[idx[a]].test[F->m];
            if (st->n == 0) continue;
            ghm_tb_printf(F->dat, "%.9g %.9g %.9g %d\n", s->groups[idx[a]].value[c], 100 * st->mean, 100 * st->std,
                          st->n);
        }
        /* each curve its colour, dash type and marker; further curves of the same loss: the next styles */
        ghm_tb_printf(F->plot, "%s'%s.dat' index %d using 1:2:3 with yerrorlines lw 2 ps 0.8",
                      F->nterms++ ? ", \\\n    " : " ", F->base, F->block);
        ghm_gp_series_style(F->plot, l + curves * 3);
        ghm_tb_puts(F->plot, " title ");
        ghm_gp_str(F->plot, label);
        F->block++;
        curves++;
    }
}

/* metric m vs swept parameter c: a curve per setting of the other parameters of each loss that
 * sweeps c, a band for each loss that does not (no figure unless c is numeric with 2+ values) */
static int fig_metric_vs_param(ghm_plot_out *pc, const ghm_summary *s, int c, int m)
{
    mvp_axis ax;
    if (!mvp_scan_axis(s, c, &ax)) return 0;
    char mt[40], pname[GHM_NAME_MAX * 2], mname[64], base[256], title[256], ylab[128], caption[300];
    ghm_metric_display(s->metrics[m], 0, mt, sizeof mt);
    ghm_plot_safe_name(s->swept[c], pname, sizeof pname);
    ghm_plot_safe_name(s->metrics[m], mname, sizeof mname);
    snprintf(base, sizeof base, "%s_vs_%s", mname, pname);
    int max_n = 0; /* error bars only with >= 2 seeds: the title says which */
    for (int g = 0; g < s->n_groups; g++)
        if (s->groups[g].test[m].n > max_n) max_n = s->groups[g].test[m].n;
    snprintf(title, sizeof title, "Test %s vs %s (%s)", mt, param_display(s->swept[c]),
             max_n >= 2 ? "mean, error bars: std over seeds" : "1 seed, no error bars");
    snprintf(ylab, sizeof ylab, "test %s (%%)", mt);
    snprintf(caption, sizeof caption,
             "Test %s against %s: mean over seeds with std error bars; losses without %s as bands "
             "(mean ± std of their selected setting).",
             mt, s->swept[c], s->swept[c]);

    /* x range: the data plus a margin; log2 when every value is a power of two */
    double lo, hi;
    if (ax.pow2) {
        lo = ax.xmin / pow(2.0, 0.25);
        hi = ax.xmax * pow(2.0, 0.25);
    } else {
        double pad = 0.05 * (ax.xmax - ax.xmin);
        lo = ax.xmin - pad;
        hi = ax.xmax + pad;
    }
    ghm_tb dat, gp, plot;
    ghm_tb_init(&dat);
    ghm_tb_init(&gp);
    ghm_tb_init(&plot);
    ghm_gp_header(&gp, base, title, param_display(s->swept[c]), ylab);
    mvp_x_axis(&gp, &ax, lo, hi);
    ghm_tb_puts(&dat, "# ");
    ghm_tb_text(&dat, mt);
    ghm_tb_puts(&dat, ": curves: x=");
    ghm_tb_text(&dat, s->swept[c]);
    ghm_tb_puts(&dat, " mean std n; baselines: x lo hi mean (two rows); one block each\n");

    int *used = calloc((size_t)s->n_groups, sizeof *used);
    if (!used) {
        ghm_tb_free(&dat);
        ghm_tb_free(&gp);
        return GHM_FAIL(pc->err, GHM_ENOMEM, "out of memory (plot)");
    }
    ghm_tb_puts(&plot, "plot");
    mvp_fig F = {s, c, m, base, lo, hi, &dat, &plot, 0, 0};
    for (int l = 0; l < s->n_losses; l++) {
        int has_p = 0;
        for (int g = 0; g < s->n_groups; g++)
            if (strcmp(s->groups[g].loss, s->losses[l]) == 0 && s->groups[g].has[c]) has_p = 1;
        if (has_p)
            mvp_curves(&F, l, used);
        else
            mvp_baseline(&F, l);
    }
    free(used);
    ghm_tb_puts(&plot, "\n");
    if (F.block == 0) {
        ghm_tb_free(&dat);
        ghm_tb_free(&gp);
        ghm_tb_free(&plot);
        return 0;
    }
    return ghm_plot_emit(pc, base, caption, &dat, &gp, &plot);
}

static int fig_recall_at_k(ghm_plot_out *pc, const ghm_summary *s)
{
    int nk = 0;
    for (int m = 0; m < s->n_metrics; m++)
        if (strncmp(s->metrics[m], "recall@", 7) == 0) nk++;
    if (nk < 2) return 0;
    ghm_tb dat, gp, plot;
    ghm_tb_init(&dat);
    ghm_tb_init(&gp);
    ghm_tb_init(&plot);
    int max_n = 0; /* error bars only mean something with >= 2 seeds: say so in the title */
    for (int l = 0; l < s->n_losses; l++) {
        int on_test, g = ghm_summary_best(s, s->losses[l], &on_test);
        for (int m = 0; g >= 0 && m < s->n_metrics; m++)
            if (s->groups[g].test[m].n > max_n) max_n = s->groups[g].test[m].n;
    }
    ghm_gp_header(&gp, "recall_at_k",
                  max_n >= 2 ? "Test Recall@K (best setting of each loss; error bars: std over seeds)"
                             : "Test Recall@K (best setting of each loss; 1 seed, no error bars)",
                  "K", "test Recall@K (%)");
    ghm_tb_puts(&gp, "set logscale x 2\n");
    ghm_tb_puts(&dat, "# K mean std (percent) n, one block per loss\n");
    int block = 0;
    ghm_tb_puts(&plot, "plot");
    char **blocks = calloc((size_t)s->n_losses + 1, sizeof *blocks);
    const char **names = calloc((size_t)s->n_losses + 1, sizeof *names);
    for (int l = 0; blocks && names && l < s->n_losses; l++) {
        int on_test;
        int g = ghm_summary_best(s, s->losses[l], &on_test);
        if (g < 0) continue;
        if (block > 0) ghm_tb_puts(&dat, "\n\n");
        ghm_tb_puts(&dat, "# ");
        ghm_tb_text(&dat, s->losses[l]);
        ghm_tb_puts(&dat, "\n");
        ghm_tb blk;
        ghm_tb_init(&blk);
        for (int m = 0; m < s->n_metrics; m++) {
            if (strncmp(s->metrics[m], "recall@", 7) != 0 || s->groups[g].test[m].n == 0) continue;
            const ghm_stat *st = &s->groups[g].test[m];
            ghm_tb_text(&blk, s->metrics[m] + 7);
            ghm_tb_printf(&blk, " %.9g %.9g %d\n", 100 * st->mean, 100 * st->std, st->n); /* percent, as the tables */
        }
        if (blk.buf) ghm_tb_puts(&dat, blk.buf);
        blocks[block] = blk.buf; /* owned by blocks[] now */
        names[block] = s->losses[l];
        ghm_tb_printf(&plot, "%s'recall_at_k.dat' index %d using 1:2:3 with yerrorlines lw 2", block ? ", \\\n    " : " ",
                      block);
        ghm_gp_series_style(&plot, l);
        ghm_tb_puts(&plot, " title ");
        gp_series_title(&plot, blocks, names, block);
        block++;
    }
    for (int b = 0; blocks && b < s->n_losses; b++) free(blocks[b]);
    free(blocks);
    free(names);
    ghm_tb_puts(&plot, "\n");
    if (block == 0) {
        ghm_tb_free(&dat);
        ghm_tb_free(&gp);
        ghm_tb_free(&plot);
        return 0;
    }
    return ghm_plot_emit(pc, "recall_at_k", "Test Recall@K against K of each loss's selected setting (std error bars).",
                &dat, &gp, &plot);
}

/* The first training loss of group G, mean over its seeds: of the first step
 * (per_step) or of epoch 1; NAN when there is none. */
static double first_train_loss(const ghm_summary *s, const ghm_group *G, int per_step)
{
    double sum = 0;
    int k = 0;
    for (int i = 0; i < G->n_members; i++) {
        const ghm_record *R = &s->recs[G->members[i]];
        if (per_step) {
            if (R->n_steps > 0 && isfinite(R->step_loss[0])) sum += R->step_loss[0], k++;
        } else {
            for (int h = 0; h < R->n_history; h++)
                if (R->history[h].epoch == 1 && isfinite(R->history[h].train_loss)) sum += R->history[h].train_loss, k++;
        }
    }
    return k ? sum / k : NAN;
}

/* Training loss per step: for each loss's selected setting, the mean over
 * seeds of every step's loss (light) and its exponential moving average
 * (bias-corrected, span max(5, steps / 25)). Records without per-step losses (older
 * format) give the per-epoch means instead. */

/* The per-loss data blocks and legend names of a figure that checks for
 * coinciding series (n + 1 entries, zeroed); 0, or -1 with nothing allocated. */
static int series_tables_alloc(int n, char ***blocks, const char ***names)
{
    *blocks = calloc((size_t)n + 1, sizeof **blocks);
    *names = calloc((size_t)n + 1, sizeof **names);
    if (*blocks && *names) return 0;
    free(*blocks);
    free((void *)*names);
    *blocks = NULL;
    *names = NULL;
    return -1;
}

static int fig_train_loss(ghm_plot_out *pc, const ghm_summary *s)
{
    ghm_tb dat, gp, plot;
    ghm_tb_init(&dat);
    ghm_tb_init(&gp);
    ghm_tb_init(&plot);
    int per_step = 1, all_positive = 1;
    for (int l = 0; l < s->n_losses; l++) {
        int on_test, g = ghm_summary_best(s, s->losses[l], &on_test);
        if (g < 0) continue;
        for (int i = 0; i < s->groups[g].n_members; i++)
            if (s->recs[s->groups[g].members[i]].n_steps == 0) per_step = 0;
    }
    /* losses live on very different scales (proxy-anchor ~10, contrastive ~0.1): each is drawn
     * relative to its first value when every first value is positive (issue 28.4) */
    int rel = 1;
    for (int l = 0; l < s->n_losses; l++) {
        int on_test, g = ghm_summary_best(s, s->losses[l], &on_test);
        if (g >= 0 && !(first_train_loss(s, &s->groups[g], per_step) > 0)) rel = 0;
    }
    const char *base = "train_loss";
    ghm_tb_printf(&dat, "# %s\n", rel ? "each loss divided by its first value (mean over seeds)" : "raw losses");
    ghm_tb_printf(&dat, "# %s, one block per loss\n",
                  per_step ? "step raw_mean smoothed n (mean over seeds; smoothed: EMA)" : "epoch mean std n");
    ghm_tb_puts(&plot, "plot");
    int block = 0, max_x = 0;
    char **blocks;
    const char **names;
    if (series_tables_alloc(s->n_losses, &blocks, &names) != 0) {
        ghm_tb_free(&dat);
        ghm_tb_free(&gp);
        ghm_tb_free(&plot);
        return GHM_FAIL(pc->err, GHM_ENOMEM, "%s: out of memory", base);
    }
    for (int l = 0; l < s->n_losses; l++) {
        int on_test, g = ghm_summary_best(s, s->losses[l], &on_test);
        if (g < 0) continue;
        const ghm_group *G = &s->groups[g];
        double scale = rel ? 1 / first_train_loss(s, G, per_step) : 1;
        ghm_tb blk;
        ghm_tb_init(&blk);
        int rows = 0;
        if (per_step) {
            int len = 0;
            for (int i = 0; i < G->n_members; i++)
                if (s->recs[G->members[i]].n_steps > len) len = s->recs[G->members[i]].n_steps;
            double span = len / 25.0 < 5 ? 5 : len / 25.0, alpha = 2.0 / (span + 1), ema = 0, wsum = 0;
            for (int t = 0; t < len; t++) {
                double sum = 0;
                int k = 0;
                for (int i = 0; i < G->n_members; i++) {
                    const ghm_record *R = &s->recs[G->members[i]];
                    if (t < R->n_steps && isfinite(R->step_loss[t])) sum += R->step_loss[t], k++;
                }
                if (k == 0) continue;
                double v = scale * sum / k;
                ema = (1 - alpha) * ema + alpha * v;
                wsum = (1 - alpha) * wsum + alpha;
                if (!(v > 0)) all_positive = 0;
                ghm_tb_printf(&blk, "%d %.6g %.6g %d\n", t + 1, v, ema / wsum, k);
                rows++;
            }
            if (len > max_x) max_x = len;
        } else {
            int max_ep = 0;
            for (int i = 0; i < G->n_members; i++) {
                const ghm_record *R = &s->recs[G->members[i]];
                for (int h = 0; h < R->n_history; h++)
                    if (R->history[h].epoch > max_ep) max_ep = R->history[h].epoch;
            }
            for (int ep = 1; ep <= max_ep; ep++) {
                double v[256];
                int k = 0;
                for (int i = 0; i < G->n_members && k < 256; i++) {
                    const ghm_record *R = &s->recs[G->members[i]];
                    for (int h = 0; h < R->n_history; h++)
                        if (R->history[h].epoch == ep && isfinite(R->history[h].train_loss))
                            v[k++] = R->history[h].train_loss;
                }
                if (k == 0) continue;
                double mean = scale * ghm_stat_mean(v, k);
                if (!(mean > 0)) all_positive = 0;
                ghm_tb_printf(&blk, "%d %.9g %.9g %d\n", ep, mean, scale * ghm_stat_std(v, k), k);
                rows++;
            }
            if (max_ep > max_x) max_x = max_ep;
        }
        if (rows > 0 && blk.buf) {
            if (block > 0) ghm_tb_puts(&dat, "\n\n");
            ghm_tb_puts(&dat, "# ");
            ghm_tb_text(&dat, s->losses[l]);
            ghm_tb_puts(&dat, "\n");
            ghm_tb_puts(&dat, blk.buf);
            const char *col = palette[l % 10];
            if (per_step) {
                ghm_tb_printf(&plot, "%s'%s.dat' index %d using 1:2 with lines lw 1 lc rgb '#C0%s' notitle",
                              block ? ", \\\n    " : " ", base, block, col);
                ghm_tb_printf(&plot, ", \\\n    '%s.dat' index %d using 1:3 with linespoints lw 2.5 pi -%d", base,
                              block, rows / 8 > 1 ? rows / 8 : 1);
            } else {
                ghm_tb_printf(&plot, "%s'%s.dat' index %d using 1:2 with linespoints lw 2", block ? ", \\\n    " : " ",
                              base, block);
            }
            ghm_gp_series_style(&plot, l);
            ghm_tb_puts(&plot, " title ");
            /* coinciding means equal raw losses: the scale joins the relative values */
            ghm_tb key;
            ghm_tb_init(&key);
            ghm_tb_printf(&key, "%.17g\n", scale);
            ghm_tb_puts(&key, blk.buf);
            blocks[block] = key.buf; /* owned by blocks[] now */
            names[block] = s->losses[l];
            gp_series_title(&plot, blocks, names, block);
            block++;
        }
        ghm_tb_free(&blk);
    }
    for (int b = 0; b < s->n_losses; b++) free(blocks[b]);
    free(blocks);
    free(names);
    ghm_tb_puts(&plot, "\n");
    if (block == 0) {
        ghm_tb_free(&dat);
        ghm_tb_free(&gp);
        ghm_tb_free(&plot);
        return 0;
    }
    ghm_gp_header(&gp, base,
              per_step ? "Training loss per step (selected setting of each loss; mean over seeds, light: raw, "
                         "bold: moving average)"
                       : "Training loss per epoch (selected setting of each loss; mean over seeds)",
              per_step ? "step" : "epoch",
              rel ? (all_positive ? "training loss / its first value (log scale)" : "training loss / its first value")
                  : (all_positive ? "training loss (log scale)" : "training loss"));
    if (all_positive) ghm_tb_puts(&gp, "set logscale y\n");
    if (per_step)
        ghm_tb_printf(&gp, "set xrange [0:%d]\n", max_x);
    else
        ghm_tb_printf(&gp, "set xrange [0.5:%.1f]\nset xtics 1\n", max_x + 0.5);
    return ghm_plot_emit(pc, base,
                per_step ? "Training loss at every step (light) and its moving average (bold), mean over seeds."
                         : "Training loss per epoch (records without per-step losses), mean over seeds.",
                &dat, &gp, &plot);
}

/* validation Recall@1 at each evaluated epoch */
static int fig_val_recall(ghm_plot_out *pc, const ghm_summary *s)
{
    const char *base = "val_recall1_vs_epoch";
    ghm_tb dat, gp, plot;
    ghm_tb_init(&dat);
    ghm_tb_init(&gp);
    ghm_tb_init(&plot);
    ghm_tb_puts(&dat, "# epoch mean std (percent) n, one block per loss\n");
    ghm_tb_puts(&plot, "plot");
    int block = 0, max_x = 0;
    char **blocks;
    const char **names;
    if (series_tables_alloc(s->n_losses, &blocks, &names) != 0) {
        ghm_tb_free(&dat);
        ghm_tb_free(&gp);
        ghm_tb_free(&plot);
        return GHM_FAIL(pc->err, GHM_ENOMEM, "%s: out of memory", base);
    }
    for (int l = 0; l < s->n_losses; l++) {
        int on_test, g = ghm_summary_best(s, s->losses[l], &on_test);
        if (g < 0) continue;
        const ghm_group *G = &s->groups[g];
        int max_ep = 0, rows = 0;
        for (int i = 0; i < G->n_members; i++) {
            const ghm_record *R = &s->recs[G->members[i]];
            for (int h = 0; h < R->n_history; h++)
                if (R->history[h].epoch > max_ep) max_ep = R->history[h].epoch;
        }
        ghm_tb blk;
        ghm_tb_init(&blk);
        for (int ep = 1; ep <= max_ep; ep++) {
            double v[256];
            int k = 0;
            for (int i = 0; i < G->n_members && k < 256; i++) {
                const ghm_record *R = &s->recs[G->members[i]];
                for (int h = 0; h < R->n_history; h++) {
                    const ghm_history_entry *H = &R->history[h];
                    double x;
                    if (H->epoch == ep && H->has_val && ghm_metric_set_find(&H->val, "recall@1", &x) && isfinite(x))
                        v[k++] = x;
                }
            }
            if (k == 0) continue;
            ghm_tb_printf(&blk, "%d %.9g %.9g %d\n", ep, 100 * ghm_stat_mean(v, k), 100 * ghm_stat_std(v, k), k);
            rows++;
            if (ep > max_x) max_x = ep;
        }
        if (rows > 0 && blk.buf) {
            if (block > 0) ghm_tb_puts(&dat, "\n\n");
            ghm_tb_puts(&dat, "# ");
            ghm_tb_text(&dat, s->losses[l]);
            ghm_tb_puts(&dat, "\n");
            ghm_tb_puts(&dat, blk.buf);
            ghm_tb_printf(&plot, "%s'%s.dat' index %d using 1:2:3 with yerrorlines lw 2 ps 0.8", block ? ", \\\n    " : " ",
                          base, block);
            ghm_gp_series_style(&plot, l);
            ghm_tb_puts(&plot, " title ");
            blocks[block] = blk.buf; /* owned by blocks[] now */
            names[block] = s->losses[l];
            blk.buf = NULL;
            gp_series_title(&plot, blocks, names, block);
            block++;
        }
        ghm_tb_free(&blk);
    }
    for (int b = 0; b < s->n_losses; b++) free(blocks[b]);
    free(blocks);
    free(names);
    ghm_tb_puts(&plot, "\n");
    if (block == 0) {
        ghm_tb_free(&dat);
        ghm_tb_free(&gp);
        ghm_tb_free(&plot);
        return 0;
    }
    ghm_gp_header(&gp, base, "Validation Recall@1 per epoch (selected setting of each loss; mean, std over seeds)",
              "epoch", "validation Recall@1 (%)");
    ghm_tb_printf(&gp, "set xrange [0.5:%.1f]\n", max_x + 0.5);
    if (max_x <= 20) ghm_tb_puts(&gp, "set xtics 1\n");
    return ghm_plot_emit(pc, base, "Validation Recall@1 at each evaluated epoch, mean over seeds (std error bars).", &dat,
                &gp, &plot);
}

/* the name of class `id` of a known dataset, else NULL */
static const char *class_name(const char *dataset, int id)
{
    return ghm_dataset_class_name(dataset, id); /* datasets/registry.c */
}

/* the projection of an earlier report (plots/<base>.dat: "pc1 pc2 label" rows):
 * 1 and the arrays when there is one, 0 when not, < 0 on out-of-memory */
static int read_projection(ghm_plot_out *pc, const char *base, float **proj, int **labels, int *m)
{
    char path[GHM_PATH_MAX + 200];
    snprintf(path, sizeof path, "%s/%s.dat", pc->dir, base);
    /* a file of the results directory: a regular file (not a link, FIFO or device), at most the
     * 3000 points ghm writes (and some slack) */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0) return 0;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return 0;
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        return 0;
    }
    char line[256];
    int cap = 0, n = 0, ok = fgets(line, sizeof line, f) && strncmp(line, "# pc1 pc2 label", 15) == 0;
    float *p = NULL;
    int *lab = NULL;
    while (ok && n < 10000 && fgets(line, sizeof line, f)) {
        float a, b;
        int c;
        if (line[0] == '#') continue;
        if (sscanf(line, "%f %f %d", &a, &b, &c) != 3 || c < 0) {
            ok = 0;
            break;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            float *np = realloc(p, (size_t)cap * 2 * sizeof *np);
            int *nl = np ? realloc(lab, (size_t)cap * sizeof *nl) : NULL;
            if (np) p = np;
            if (nl) lab = nl;
            if (!np || !nl) {
                fclose(f);
                free(p);
                free(lab);
                return GHM_FAIL(pc->err, GHM_ENOMEM, "out of memory (pca plot)");
            }
        }
        p[2 * n] = a, p[2 * n + 1] = b, lab[n] = c;
        n++;
    }
    fclose(f);
    if (!ok || n == 0) {
        free(p);
        free(lab);
        return 0;
    }
    *proj = p, *labels = lab, *m = n;
    return 1;
}

#define PCA_MAX_CLASSES 256 /* up to this many test classes: every class is a series */
#define PCA_SHOWN_CLASSES 20 /* above: the points of the 20 smallest class ids */

static int fig_pca(ghm_plot_out *pc, const ghm_summary *s, const char *dir, int l)
{
    int on_test;
    int g = ghm_summary_best(s, s->losses[l], &on_test);
    if (g < 0) return 0;
    const ghm_group *G = &s->groups[g];
    const ghm_record *R = NULL;
    for (int i = 0; i < G->n_members && !R; i++)
        if (s->recs[G->members[i]].has_embeddings) R = &s->recs[G->members[i]];
    if (!R) return 0;
    char pe[GHM_PATH_MAX + 128], pl[GHM_PATH_MAX + 128];
    snprintf(pe, sizeof pe, "%s/runs/%s/embeddings_test.npy", dir, R->run_id);
    snprintf(pl, sizeof pl, "%s/runs/%s/embeddings_test_labels.npy", dir, R->run_id);
    float *emb = NULL, *sub = NULL, *proj = NULL;
    int *lab = NULL, *sl = NULL, n = 0, d = 0, nl = 0, m = 0, rc, shown_of = 0;
    ghm_error e2;
    char lname[64], base[128], title[256], caption[300];
    ghm_plot_safe_name(s->losses[l], lname, sizeof lname);
    snprintf(base, sizeof base, "pca_%s", lname);
    if (ghm_npy_read_f32_2d(pe, &emb, &n, &d, &e2) < 0 || ghm_npy_read_labels(pl, &lab, &nl, &e2) < 0 || nl != n) {
        /* embeddings not kept (they are not committed): redraw the projection of an earlier report */
        free(emb);
        free(lab);
        rc = read_projection(pc, base, &proj, &sl, &m);
        if (rc <= 0) return rc;
    } else {
        /* more than PCA_MAX_CLASSES classes (glyphs-xl's 1,300): one series per class would make gnuplot
         * read the data once per class, with a key nobody can read; keep the PCA_SHOWN_CLASSES smallest
         * class ids (data sets of up to PCA_MAX_CLASSES classes are drawn as before) */
        int maxl = 0, distinct = 0;
        for (int i = 0; i < n; i++)
            if (lab[i] > maxl) maxl = lab[i];
        unsigned char *seen = calloc((size_t)maxl + 1, 1);
        if (!seen) {
            free(emb), free(lab);
            return GHM_FAIL(pc->err, GHM_ENOMEM, "out of memory (pca plot)");
        }
        for (int i = 0; i < n; i++) {
            distinct += lab[i] >= 0 && !seen[lab[i]];
            if (lab[i] >= 0) seen[lab[i]] = 1;
        }
        if (distinct > PCA_MAX_CLASSES) {
            int cut = -1;
            for (int c = 0, k = 0; c <= maxl && k < PCA_SHOWN_CLASSES; c++)
                if (seen[c]) cut = c, k++;
            int k = 0;
            for (int i = 0; i < n; i++)
                if (lab[i] >= 0 && lab[i] <= cut) {
                    memmove(emb + (size_t)k * d, emb + (size_t)i * d, (size_t)d * sizeof *emb);
                    lab[k++] = lab[i];
                }
            n = k;
            shown_of = distinct;
        }
        free(seen);
        /* subsample deterministically to at most 3000 points */
        int step = n > 3000 ? (n + 2999) / 3000 : 1;
        m = (n + step - 1) / step;
        sub = malloc((size_t)m * d * sizeof *sub), proj = malloc((size_t)m * 2 * sizeof *proj);
        sl = malloc((size_t)m * sizeof *sl);
        if (!sub || !proj || !sl) {
            free(emb), free(lab), free(sub), free(proj), free(sl);
            return GHM_FAIL(pc->err, GHM_ENOMEM, "out of memory (pca plot)");
        }
        for (int i = 0, k = 0; i < n && k < m; i += step, k++) {
            memcpy(sub + (size_t)k * d, emb + (size_t)i * d, (size_t)d * sizeof *sub);
            sl[k] = lab[i];
        }
        free(emb);
        free(lab);
        rc = ghm_pca2(sub, m, d, proj, pc->err);
        if (rc < 0) {
            free(sub), free(proj), free(sl);
            return rc;
        }
    }
    int max_label = 0;
    for (int i = 0; i < m; i++)
        if (sl[i] > max_label) max_label = sl[i];
    if (shown_of)
        snprintf(title, sizeof title, "PCA of test embeddings: %s (run %s, %d points of %d of %d classes)",
                 s->losses[l], R->run_id, m, PCA_SHOWN_CLASSES, shown_of);
    else
        snprintf(title, sizeof title, "PCA of test embeddings: %s (run %s, %d points)", s->losses[l], R->run_id, m);
    snprintf(caption, sizeof caption, "First two principal components of the test embeddings of %s (run %s).",
             s->losses[l], R->run_id);
    ghm_tb dat, gp, plot;
    ghm_tb_init(&dat);
    ghm_tb_init(&gp);
    ghm_tb_init(&plot);
    ghm_tb_puts(&dat, "# pc1 pc2 label\n");
    for (int i = 0; i < m; i++) ghm_tb_printf(&dat, "%.6g %.6g %d\n", proj[2 * i], proj[2 * i + 1], sl[i]);
    ghm_gp_header(&gp, base, title, "principal component 1", "principal component 2");
    /* one series per class present (the dataset's class ids, named when the dataset is known) */
    ghm_tb_puts(&plot, "plot");
    int series = 0;
    for (int c = 0; c <= max_label; c++) {
        int present = 0;
        for (int i = 0; i < m && !present; i++) present = (sl[i] == c);
        if (!present) continue;
        char t[64];
        const char *cn = class_name(R->dataset, c);
        if (cn)
            snprintf(t, sizeof t, "%d %s", c, cn);
        else
            snprintf(t, sizeof t, "class %d", c);
        ghm_tb_printf(&plot, "%s '%s.dat' using 1:($3==%d ? $2 : 1/0) with points pt 7 ps 0.5 lc rgb '#%s' title ",
                      series ? ", \\\n    " : " ", base, c, palette[series % 10]);
        ghm_gp_str(&plot, t);
        series++;
    }
    ghm_tb_puts(&plot, "\n");
    free(sub), free(proj), free(sl);
    return ghm_plot_emit(pc, base, caption, &dat, &gp, &plot);
}

/* remove the render directories a killed report left in plots/ (under the results directory's lock) */
static void remove_stale_renders(int pfd)
{
    int fd = dup(pfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0) close(fd);
        return;
    }
    struct dirent *de;
    char names[16][64];
    int n = 0;
    while ((de = readdir(d)) != NULL && n < 16) {
        size_t l = strlen(de->d_name);
        if (strncmp(de->d_name, ".render-", 8) == 0 && l < 64 && l > 12 && strcmp(de->d_name + l - 4, ".tmp") == 0)
            snprintf(names[n++], sizeof names[0], "%s", de->d_name);
    }
    closedir(d);
    for (int i = 0; i < n; i++) ghm_out_rmdir_at(pfd, names[i]);
}

int ghm_plot_out_open(ghm_plot_out *o, const char *dir, const char *gnuplot, unsigned fmts, ghm_plot_list *list,
                      char *warning, int wn, ghm_error *err)
{
    memset(o, 0, sizeof *o);
    if (list) list->n = 0;
    snprintf(o->root, sizeof o->root, "%s", dir);
    snprintf(o->dir, sizeof o->dir, "%s/plots", dir);
    o->gnuplot = gnuplot ? gnuplot : "gnuplot";
    o->formats = fmts & GHM_PLOT_FORMATS ? fmts : GHM_PLOT_DEFAULT | (fmts & GHM_PLOT_WIDE);
    o->list = list;
    o->err = err;
    /* plots/ itself must not be a link (ghm would write and remove files in its target) */
    int pfd = ghm_out_dir_open(dir, "plots", 1, err);
    if (pfd < 0) return pfd;
    remove_stale_renders(pfd);
    /* start a fresh log (unlink removes a link placed there, never its target) */
    unlinkat(pfd, "gnuplot.log", 0);
    close(pfd);
    o->have_gnuplot = run_gnuplot(o->gnuplot, "exit", NULL, -1, -1) == 0;
    if (!o->have_gnuplot && warning)
        snprintf(warning, (size_t)wn,
                 "gnuplot not found (`%s`): plots skipped; data and scripts are in %s "
                 "(install gnuplot-nox, then run `ghm report %s`)",
                 o->gnuplot, o->dir, dir);
    return 0;
}

void ghm_plot_out_warning(const ghm_plot_out *o, char *warning, int wn)
{
    if (o->have_gnuplot && o->n_failed > 0 && warning)
        snprintf(warning, (size_t)wn, "gnuplot failed on %d script(s) (first: %s); see %s/gnuplot.log", o->n_failed,
                 o->first_fail, o->dir);
}

/* The paper figure of a sweep: test metric m per loss at its setting selected
 * on validation, mean and 95% CI over seeds (a sweep has no reference loss:
 * the paired differences are a search's, report/search_report.c). */
static int fig_compare(ghm_plot_out *pc, const ghm_summary *s, int m)
{
    ghm_forest_row rows[32];
    int n = 0, any_test = 0, max_n = 0;
    for (int l = 0; l < s->n_losses && n < 32; l++) {
        int on_test;
        int g = ghm_summary_best(s, s->losses[l], &on_test);
        if (g < 0 || s->groups[g].test[m].n == 0) continue;
        any_test |= on_test;
        const ghm_stat *st = &s->groups[g].test[m];
        ghm_forest_row *r = &rows[n++];
        memset(r, 0, sizeof *r);
        snprintf(r->label, sizeof r->label, "%s", s->losses[l]);
        r->mean[0] = st->mean;
        r->lo[0] = st->n >= 2 ? st->mean - st->ci95 : NAN;
        r->hi[0] = st->n >= 2 ? st->mean + st->ci95 : NAN;
        r->mean[1] = r->lo[1] = r->hi[1] = r->p_holm[0] = r->p_holm[1] = NAN;
        if (st->n > max_n) max_n = st->n;
    }
    if (n == 0) return 0;
    char disp[40], mname[64], base[96], title[160], mlab[128], caption[300];
    ghm_metric_display(s->metrics[m], 0, disp, sizeof disp);
    ghm_plot_safe_name(s->metrics[m], mname, sizeof mname);
    snprintf(base, sizeof base, "compare_%s", mname);
    snprintf(title, sizeof title, "Test %s per loss (%s)", disp,
             max_n >= 2 ? "mean, 95% CI over seeds" : "1 seed, no interval");
    snprintf(mlab, sizeof mlab, "test %s (%%)", disp);
    snprintf(caption, sizeof caption,
             "Test %s per loss at its setting selected on %s: mean and 95%% t interval over seeds", disp,
             any_test ? "validation (test where a loss has no validation metrics)" : "validation");
    ghm_forest f = {base, title, caption, mlab, NULL, NULL, {"selected setting", NULL}, rows, n, NULL, 0};
    return ghm_plot_forest(pc, &f);
}

int ghm_plots_write(const ghm_summary *s, const char *dir, const char *gnuplot, unsigned fmts, ghm_plot_list *list,
                    int *n_plots, char *warning, int wn, ghm_error *err)
{
    *n_plots = 0;
    if (warning && wn > 0) warning[0] = '\0';
    ghm_plot_out pc;
    int rc = ghm_plot_out_open(&pc, dir, gnuplot, fmts, list, warning, wn, err);
    if (rc < 0) return rc;

    static const char *const figure_metrics[] = {"recall@1", "nmi", "map@r"};
    for (int c = 0; c < s->n_swept; c++)
        for (int f = 0; f < 3; f++) {
            int m = ghm_summary_metric(s, figure_metrics[f]);
            if (m < 0) continue;
            if ((rc = fig_metric_vs_param(&pc, s, c, m)) < 0) return rc;
        }
    if ((rc = fig_recall_at_k(&pc, s)) < 0) return rc;
    if ((rc = fig_train_loss(&pc, s)) < 0) return rc;
    if ((rc = fig_val_recall(&pc, s)) < 0) return rc;
    for (int f = 0; f < 3; f += 2) { /* Recall@1 and MAP@R */
        int m = ghm_summary_metric(s, figure_metrics[f]);
        if (m >= 0 && (rc = fig_compare(&pc, s, m)) < 0) return rc;
    }
    for (int l = 0; l < s->n_losses; l++)
        if ((rc = fig_pca(&pc, s, dir, l)) < 0) return rc;
    *n_plots = pc.n_plots;
    ghm_plot_out_warning(&pc, warning, wn);
    return 0;
}
