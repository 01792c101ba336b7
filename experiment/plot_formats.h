/* The figure formats an experiment file (`report.formats`) and `ghm report
 * --formats` name, as bits. Here, below report/, because the config reads them;
 * report/plot.c draws them. */
#ifndef GHM_PLOT_FORMATS_H
#define GHM_PLOT_FORMATS_H

#ifdef __cplusplus
extern "C" {
#endif

/* Output formats of every figure (bits). */
#define GHM_PLOT_PNG 1u
#define GHM_PLOT_PDF 2u /* pdfcairo: vector graphics for LaTeX */
#define GHM_PLOT_SVG 4u
#define GHM_PLOT_DEFAULT (GHM_PLOT_PNG | GHM_PLOT_PDF)
#define GHM_PLOT_FORMATS (GHM_PLOT_PNG | GHM_PLOT_PDF | GHM_PLOT_SVG)
/* Not a format: the figure size. Default: one column of a two-column paper
 * (8.5 cm wide, 8 pt text at that width); with this bit, the full text width
 * (17.5 cm). Set by `ghm report --figure-size page`. */
#define GHM_PLOT_WIDE 8u
/* "png,pdf,svg" (any non-empty subset, any order) -> bits; -1 on an unknown name. */
int ghm_plot_formats_parse(const char *text, unsigned *out);

#ifdef __cplusplus
}
#endif

#endif
