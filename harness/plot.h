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

#include "../core/error.h"
#include "report.h"

#ifdef __cplusplus
extern "C" {
#endif

/* First two principal components of x (n, d): out (n, 2) = centred x projected
 * on the top-2 eigenvectors of its covariance (power iteration with deflation,
 * deterministic start; sign fixed so the largest |component| is positive). */
int ghm_pca2(const float *x, int n, int d, float *out, ghm_error *err);

/* Output formats of every figure (bits). */
#define GHM_PLOT_PNG 1u
#define GHM_PLOT_PDF 2u /* pdfcairo: vector graphics for LaTeX */
#define GHM_PLOT_SVG 4u
#define GHM_PLOT_DEFAULT (GHM_PLOT_PNG | GHM_PLOT_PDF)
/* "png,pdf,svg" (any non-empty subset, any order) -> bits; -1 on an unknown name. */
int ghm_plot_formats_parse(const char *text, unsigned *out);

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
