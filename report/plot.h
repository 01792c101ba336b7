/* Plots of a report, through gnuplot: for every figure a data file (.dat), a
 * script (.gp, restylable) and the image (.png) in <dir>/plots/.
 *
 * Figures: each test metric (Recall@1, NMI, MAP@R) against each numeric swept
 * parameter (mean with std error bars over seeds, one curve per loss, losses
 * without that parameter as bands mean +- std; x range fitted to the data, a
 * log2 axis when every value is a power of two); Recall@K against K per loss
 * (best setting); training loss per step (raw mean over seeds, light, and its
 * moving average) and validation Recall@1 per epoch (best setting of each
 * loss); 2-D PCA of the test embeddings coloured and named by class (best run
 * of each loss, when its embeddings were saved).
 *
 * The best setting of a loss is chosen on validation Recall@1 (see report.h).
 */
#ifndef GHM_PLOT_H
#define GHM_PLOT_H

#include "experiment/plot_formats.h"
#include "../core/error.h"
#include "report/report.h"
#include "core/textbuf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* First two principal components of x (n, d): out (n, 2) = centred x projected
 * on the top-2 eigenvectors of its covariance (power iteration with deflation,
 * deterministic start; sign fixed so the largest |component| is positive). */
int ghm_pca2(const float *x, int n, int d, float *out, ghm_error *err);

/* Output formats (GHM_PLOT_* bits) and their parser: experiment/plot_formats.h. */

/* The figures made, for index.html: file base name (plots/<base>.png ...) and a caption. */
#define GHM_PLOT_LIST_MAX 64
typedef struct ghm_plot_entry {
    char base[128];
    char caption[320];
} ghm_plot_entry;
typedef struct ghm_plot_list {
    int n;
    ghm_plot_entry items[GHM_PLOT_LIST_MAX];
} ghm_plot_list;

/* The figure writer that the sweep report and the search report share. A
 * figure is a data file (base.dat), a restylable script (base.gp: a head from
 * ghm_gp_header, any settings, then the plot command given apart so it can be
 * repeated for every format) and its images (base.png, .pdf, .svg), rendered
 * under temporary names and renamed into place only when gnuplot succeeded. */
typedef struct ghm_plot_out {
    char root[GHM_PATH_MAX];     /* the results directory */
    char dir[GHM_PATH_MAX + 16]; /* <results dir>/plots (for messages) */
    const char *gnuplot;         /* command */
    unsigned formats;            /* GHM_PLOT_* bits */
    int have_gnuplot;            /* 1: gnuplot runs (else data and scripts only) */
    int n_plots, n_failed;       /* figures made in every format; scripts gnuplot failed on */
    char first_fail[128];
    ghm_plot_list *list;         /* figures made (may be NULL) */
    ghm_error *err;
} ghm_plot_out;
/* Make <dir>/plots (refused with GHM_EINPUT when it is a link), check gnuplot (command `gnuplot`, NULL: "gnuplot"; fmts 0:
 * GHM_PLOT_DEFAULT), start a fresh plots/gnuplot.log. When gnuplot is missing,
 * warning says so; returns < 0 only when the directory cannot be made. */
int ghm_plot_out_open(ghm_plot_out *o, const char *dir, const char *gnuplot, unsigned fmts, ghm_plot_list *list,
                      char *warning, int wn, ghm_error *err);
/* warning (size wn) names the first failed script when gnuplot failed on any */
void ghm_plot_out_warning(const ghm_plot_out *o, char *warning, int wn);
/* Script head: the output name variable, title and axis labels, grid, key below. */
void ghm_gp_header(ghm_tb *gp, const char *base, const char *title, const char *xlabel, const char *ylabel);
/* s as a gnuplot string literal that cannot become code: single-quoted
 * (gnuplot substitutes `...` and @macros only outside single quotes), quotes
 * doubled, control characters replaced (ghm_tb_safe_char), never starting
 * with '<' or '|' (a command as a file name). Every text that reaches a
 * script goes through here. */
void ghm_gp_str(ghm_tb *b, const char *s);
/* 0 when script holds nothing that runs or reads other things outside its
 * string literals (no control character but line breaks, no string across
 * a line, no ` or @ outside single quotes, no "!command", no system, shell,
 * load, call, eval, cd, print, save, fit..., no literal starting with < or |);
 * else -1 and why (size wn) says what and on which line. ghm_plot_emit refuses
 * to write or run a script that fails it. */
int ghm_gp_check(const char *script, char *why, size_t wn);
/* a file-name-safe form of a loss, key or metric name ('@' -> "_at_", others -> '_') */
void ghm_plot_safe_name(const char *in, char *out, size_t n);
/* Write base.dat and base.gp (gp: the head and settings; plot_cmd: the plot
 * command, ending in a newline), run gnuplot once for every format; the three
 * buffers are consumed. Returns < 0 only on an I/O error of the data or script. */
int ghm_plot_emit(ghm_plot_out *o, const char *base, const char *caption, ghm_tb *dat, ghm_tb *gp, ghm_tb *plot_cmd);

/* Series style of series l (its colour, dash type and marker: all three
 * differ between series), appended to a plot term: " dt .. pt .. lc rgb ..". */
void ghm_gp_series_style(ghm_tb *plot, int l);
/* the same without the marker, for styles that take none (histeps) */
void ghm_gp_series_line(ghm_tb *plot, int l);

/* The figure a paper would use (issue 28.7): a dot-and-whisker plot of a test
 * metric per loss (mean and 95% CI, in percent) and, below it, the paired
 * differences against the reference loss with their 95% intervals (a dashed
 * line at 0). Up to two evaluations per row (e.g. separate and concatenated),
 * each its own marker and colour; a difference whose Holm-adjusted p-value is
 * below 0.05 is drawn filled, others open; rows marked primary get " (P)". */
typedef struct ghm_forest_row {
    char label[112];
    double mean[2], lo[2], hi[2]; /* fractions (drawn in percent); NaN: none */
    double p_holm[2];             /* differences only (NaN: not tested) */
    int primary;                  /* differences only */
} ghm_forest_row;
typedef struct ghm_forest {
    const char *base, *title, *caption;
    const char *metric_label;     /* x label of the top panel */
    const char *diff_title;       /* title of the differences panel (e.g. "paired differences to contrastive") */
    const char *diff_label;       /* x label of the differences panel */
    const char *series[2];        /* evaluation names; series[1] NULL: one evaluation */
    const ghm_forest_row *top;
    int n_top;
    const ghm_forest_row *diff;   /* may be NULL: the top panel alone */
    int n_diff;
} ghm_forest;
int ghm_plot_forest(ghm_plot_out *o, const ghm_forest *f);

/* Write data + scripts for every figure into <dir>/plots/ and run gnuplot
 * (command `gnuplot`) on each, once per format in fmts (0: GHM_PLOT_DEFAULT).
 * Every output is rendered under a temporary name and renamed into place, so a
 * failed run never leaves a truncated figure. *n_plots gets the figures made
 * (in every format), list (may be NULL) their names. When gnuplot is missing
 * or fails, data and scripts are still written, warning (size wn) says why
 * plots were skipped, and 0 is returned; I/O errors on the files return < 0. */
int ghm_plots_write(const ghm_summary *s, const char *dir, const char *gnuplot, unsigned fmts, ghm_plot_list *list,
                    int *n_plots, char *warning, int wn, ghm_error *err);

#ifdef __cplusplus
}
#endif
#endif
