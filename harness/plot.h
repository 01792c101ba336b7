/* Plots of a report, through gnuplot: for every figure a data file (.dat), a
 * script (.gp, restylable) and the image (.png) in <dir>/plots/.
 *
 * Figures: each test metric (Recall@1, NMI, MAP@R) against each numeric swept
 * parameter (mean with std error bars over seeds, one curve per loss, losses
 * without that parameter as horizontal baseline lines); Recall@K against K per
 * loss (best setting); training loss and validation Recall@1 against epoch
 * (best setting of each loss); 2-D PCA of the test embeddings coloured by class
 * (best run of each loss, when its embeddings were saved).
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

/* Write data + scripts for every figure into <dir>/plots/ and run gnuplot
 * (command `gnuplot`) on each. *n_plots gets the PNGs made. When gnuplot is
 * missing or fails, data and scripts are still written, warning (size wn) says
 * why plots were skipped, and 0 is returned; I/O errors on the files return < 0. */
int ghm_plots_write(const ghm_summary *s, const char *dir, const char *gnuplot, int *n_plots, char *warning, int wn,
                    ghm_error *err);

#ifdef __cplusplus
}
#endif
#endif
