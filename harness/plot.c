/* Report figures: .dat + .gp + .png through gnuplot, and a 2-D PCA in C. */
#include "plot.h"

#include "../core/json.h"
#include "../core/npy.h"
#include "textbuf.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

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

static void safe_name(const char *in, char *out, size_t n)
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

/* a string for a gnuplot double-quoted literal */
static void gp_str(ghm_tb *b, const char *s)
{
    ghm_tb_puts(b, "\"");
    for (const char *p = s; *p; p++) {
        if (*p == '"' || *p == '\\') ghm_tb_puts(b, "\\");
        ghm_tb_printf(b, "%c", *p);
    }
    ghm_tb_puts(b, "\"");
}

static const char *metric_title(const char *m, char *buf, size_t n)
{
    if (strncmp(m, "recall@", 7) == 0)
        snprintf(buf, n, "Recall@%s", m + 7);
    else if (strcmp(m, "map@r") == 0)
        snprintf(buf, n, "MAP@R");
    else if (strcmp(m, "r_precision") == 0)
        snprintf(buf, n, "R-precision");
    else if (strcmp(m, "nmi") == 0)
        snprintf(buf, n, "NMI");
    else if (strcmp(m, "ami") == 0)
        snprintf(buf, n, "AMI");
    else
        snprintf(buf, n, "%s", m);
    return buf;
}

static void gp_header(ghm_tb *b, const char *png, const char *title, const char *xlabel, const char *ylabel)
{
    ghm_tb_puts(b, "# generated by ghm report: edit and rerun `gnuplot <this file>` to restyle\n");
    ghm_tb_puts(b, "if (strstrt(GPVAL_TERMINALS, \"pngcairo\") > 0) {\n"
                   "    set terminal pngcairo size 900,600 noenhanced\n"
                   "} else {\n"
                   "    set terminal png size 900,600 noenhanced\n"
                   "}\n");
    ghm_tb_printf(b, "set output '%s'\n", png);
    ghm_tb_puts(b, "set title ");
    gp_str(b, title);
    ghm_tb_puts(b, "\nset xlabel ");
    gp_str(b, xlabel);
    ghm_tb_puts(b, "\nset ylabel ");
    gp_str(b, ylabel);
    ghm_tb_puts(b, "\nset grid\nset key outside right top\n");
}

typedef struct {
    const char *dir;     /* <dir>/plots */
    const char *gnuplot;
    int have_gnuplot;    /* 1: run it */
    int n_plots;
    int n_failed;
    char first_fail[128];
    ghm_error *err;
} plot_ctx;

static int write_file(plot_ctx *c, const char *name, const char *text)
{
    char path[GHM_PATH_MAX + 128];
    snprintf(path, sizeof path, "%s/%s", c->dir, name);
    return ghm_write_file_atomic(path, text, strlen(text), c->err);
}

/* write base.dat and base.gp, run gnuplot on base.gp when available */
static int emit(plot_ctx *c, const char *base, ghm_tb *dat, ghm_tb *gp)
{
    char *d = NULL, *g = NULL, name[256];
    int rc = ghm_tb_finish(dat, &d, c->err);
    if (rc < 0) {
        ghm_tb_free(gp);
        return rc;
    }
    if ((rc = ghm_tb_finish(gp, &g, c->err)) < 0) {
        free(d);
        return rc;
    }
    snprintf(name, sizeof name, "%s.dat", base);
    rc = write_file(c, name, d);
    if (rc == 0) {
        snprintf(name, sizeof name, "%s.gp", base);
        rc = write_file(c, name, g);
    }
    free(d);
    free(g);
    if (rc < 0) return rc;
    if (!c->have_gnuplot) return 0;
    char cmd[2 * GHM_PATH_MAX + 512];
    snprintf(cmd, sizeof cmd, "cd '%s' && '%s' '%s.gp' >>gnuplot.log 2>&1", c->dir, c->gnuplot, base);
    int st = system(cmd);
    char png[GHM_PATH_MAX + 300];
    snprintf(png, sizeof png, "%s/%s.png", c->dir, base);
    struct stat sb;
    if (st == 0 && stat(png, &sb) == 0 && sb.st_size > 0) {
        c->n_plots++;
    } else {
        if (c->n_failed++ == 0) snprintf(c->first_fail, sizeof c->first_fail, "%s.gp", base);
    }
    return 0;
}

static int is_numeric_text(const char *t)
{
    char *end;
    if (!*t) return 0;
    strtod(t, &end);
    return *end == '\0';
}

/* ---- figures ---- */

/* metric vs swept parameter c */
static int fig_metric_vs_param(plot_ctx *pc, const ghm_summary *s, int c, int m)
{
    /* numeric, at least 2 distinct values */
    int nx = 0;
    double x0 = 0;
    for (int g = 0; g < s->n_groups; g++) {
        const ghm_group *G = &s->groups[g];
        if (!G->has[c]) continue;
        if (!is_numeric_text(G->text[c])) return 0;
        if (nx == 0) x0 = G->value[c], nx = 1;
        else if (G->value[c] != x0) nx = 2;
    }
    if (nx < 2) return 0;
    char mt[40], pname[GHM_NAME_MAX * 2], mname[64], base[256], title[256], ylab[128];
    metric_title(s->metrics[m], mt, sizeof mt);
    safe_name(s->swept[c], pname, sizeof pname);
    safe_name(s->metrics[m], mname, sizeof mname);
    snprintf(base, sizeof base, "%s_vs_%s", mname, pname);
    snprintf(title, sizeof title, "Test %s vs %s (mean, error bars: std over seeds)", mt, s->swept[c]);
    snprintf(ylab, sizeof ylab, "test %s", mt);

    ghm_tb dat, gp;
    ghm_tb_init(&dat);
    ghm_tb_init(&gp);
    char png[300];
    snprintf(png, sizeof png, "%s.png", base);
    gp_header(&gp, png, title, s->swept[c], ylab);
    ghm_tb_puts(&gp, "set offsets graph 0.05, graph 0.05, 0, 0\n");
    ghm_tb_printf(&dat, "# %s: x=%s mean std n, one block per curve\n", mt, s->swept[c]);

    int block = 0;
    int *used = calloc((size_t)s->n_groups, sizeof *used);
    if (!used) {
        ghm_tb_free(&dat);
        ghm_tb_free(&gp);
        return GHM_FAIL(pc->err, GHM_ENOMEM, "out of memory (plot)");
    }
    ghm_tb plot;
    ghm_tb_init(&plot);
    ghm_tb_puts(&plot, "plot");
    int nterms = 0;
    for (int l = 0; l < s->n_losses; l++) {
        const char *loss = s->losses[l];
        int has_p = 0;
        for (int g = 0; g < s->n_groups; g++)
            if (strcmp(s->groups[g].loss, loss) == 0 && s->groups[g].has[c]) has_p = 1;
        if (!has_p) {
            /* baseline: horizontal line at the loss's best setting */
            int on_test;
            int g = ghm_summary_best(s, loss, &on_test);
            if (g < 0 || s->groups[g].test[m].n == 0) continue;
            ghm_tb_printf(&gp, "base%d = %.9g\n", l, s->groups[g].test[m].mean);
            ghm_tb_printf(&plot, "%s base%d with lines dt 2 lw 2 title ", nterms++ ? ", \\\n    " : " ", l);
            char t[96];
            snprintf(t, sizeof t, "%s (baseline)", loss);
            gp_str(&plot, t);
            continue;
        }
        /* one curve per combination of the other swept values */
        for (int g0 = 0; g0 < s->n_groups; g0++) {
            const ghm_group *G0 = &s->groups[g0];
            if (used[g0] || strcmp(G0->loss, loss) != 0 || !G0->has[c]) continue;
            /* collect members of this curve, sort by x */
            int idx[256], k = 0;
            for (int g = g0; g < s->n_groups && k < 256; g++) {
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
            char label[256];
            int ln = snprintf(label, sizeof label, "%s", loss);
            int first = 1;
            for (int o = 0; o < s->n_swept && ln < (int)sizeof label - 1; o++)
                if (o != c && G0->has[o]) {
                    ln += snprintf(label + ln, sizeof label - (size_t)ln, "%s%s=%s", first ? " (" : ", ",
                                   s->swept[o], G0->text[o]);
                    first = 0;
                }
            if (!first && ln < (int)sizeof label - 1) snprintf(label + ln, sizeof label - (size_t)ln, ")");
            if (block > 0) ghm_tb_puts(&dat, "\n\n");
            ghm_tb_puts(&dat, "# ");
            ghm_tb_puts(&dat, label);
            ghm_tb_puts(&dat, "\n");
            for (int a = 0; a < k; a++) {
                const ghm_stat *st = &s->groups[idx[a]].test[m];
                if (st->n == 0) continue;
                ghm_tb_printf(&dat, "%.9g %.9g %.9g %d\n", s->groups[idx[a]].value[c], st->mean, st->std, st->n);
            }
            ghm_tb_printf(&plot, "%s'%s.dat' index %d using 1:2:3 with yerrorlines lw 2 title ",
                          nterms++ ? ", \\\n    " : " ", base, block);
            gp_str(&plot, label);
            block++;
        }
    }
    free(used);
    ghm_tb_puts(&plot, "\n");
    if (plot.buf) ghm_tb_puts(&gp, plot.buf);
    ghm_tb_free(&plot);
    if (block == 0) {
        ghm_tb_free(&dat);
        ghm_tb_free(&gp);
        return 0;
    }
    return emit(pc, base, &dat, &gp);
}

static int fig_recall_at_k(plot_ctx *pc, const ghm_summary *s)
{
    int nk = 0;
    for (int m = 0; m < s->n_metrics; m++)
        if (strncmp(s->metrics[m], "recall@", 7) == 0) nk++;
    if (nk < 2) return 0;
    ghm_tb dat, gp;
    ghm_tb_init(&dat);
    ghm_tb_init(&gp);
    gp_header(&gp, "recall_at_k.png", "Test Recall@K (best setting of each loss; error bars: std over seeds)", "K",
              "test Recall@K");
    ghm_tb_puts(&gp, "set logscale x 2\n");
    ghm_tb_puts(&dat, "# K mean std n, one block per loss\n");
    int block = 0;
    ghm_tb_puts(&gp, "plot");
    for (int l = 0; l < s->n_losses; l++) {
        int on_test;
        int g = ghm_summary_best(s, s->losses[l], &on_test);
        if (g < 0) continue;
        if (block > 0) ghm_tb_puts(&dat, "\n\n");
        ghm_tb_printf(&dat, "# %s\n", s->losses[l]);
        for (int m = 0; m < s->n_metrics; m++) {
            if (strncmp(s->metrics[m], "recall@", 7) != 0 || s->groups[g].test[m].n == 0) continue;
            const ghm_stat *st = &s->groups[g].test[m];
            ghm_tb_printf(&dat, "%s %.9g %.9g %d\n", s->metrics[m] + 7, st->mean, st->std, st->n);
        }
        ghm_tb_printf(&gp, "%s'recall_at_k.dat' index %d using 1:2:3 with yerrorlines lw 2 title ",
                      block ? ", \\\n    " : " ", block);
        gp_str(&gp, s->losses[l]);
        block++;
    }
    ghm_tb_puts(&gp, "\n");
    if (block == 0) {
        ghm_tb_free(&dat);
        ghm_tb_free(&gp);
        return 0;
    }
    return emit(pc, "recall_at_k", &dat, &gp);
}

/* per-epoch curves: what = 0 training loss, 1 validation Recall@1 */
static int fig_history(plot_ctx *pc, const ghm_summary *s, int what)
{
    const char *base = what ? "val_recall1_vs_epoch" : "train_loss_vs_epoch";
    char png[64];
    snprintf(png, sizeof png, "%s.png", base);
    ghm_tb dat, gp;
    ghm_tb_init(&dat);
    ghm_tb_init(&gp);
    gp_header(&gp, png,
              what ? "Validation Recall@1 per epoch (best setting of each loss; mean over seeds)"
                   : "Training loss per epoch (best setting of each loss; mean over seeds)",
              "epoch", what ? "validation Recall@1" : "mean training loss");
    ghm_tb_puts(&dat, "# epoch mean std n, one block per loss\n");
    ghm_tb_puts(&gp, "plot");
    int block = 0;
    for (int l = 0; l < s->n_losses; l++) {
        int on_test;
        int g = ghm_summary_best(s, s->losses[l], &on_test);
        if (g < 0) continue;
        const ghm_group *G = &s->groups[g];
        int max_ep = 0;
        for (int i = 0; i < G->n_members; i++) {
            const ghm_record *R = &s->recs[G->members[i]];
            for (int h = 0; h < R->n_history; h++)
                if (R->history[h].epoch > max_ep) max_ep = R->history[h].epoch;
        }
        int rows = 0;
        ghm_tb blk;
        ghm_tb_init(&blk);
        for (int ep = 1; ep <= max_ep; ep++) {
            double v[256];
            int k = 0;
            for (int i = 0; i < G->n_members && k < 256; i++) {
                const ghm_record *R = &s->recs[G->members[i]];
                for (int h = 0; h < R->n_history; h++) {
                    const ghm_history_entry *H = &R->history[h];
                    if (H->epoch != ep) continue;
                    double x = H->train_loss;
                    if (what && !(H->has_val && ghm_metric_set_find(&H->val, "recall@1", &x))) continue;
                    if (isfinite(x)) v[k++] = x;
                }
            }
            if (k == 0) continue;
            ghm_tb_printf(&blk, "%d %.9g %.9g %d\n", ep, ghm_stat_mean(v, k), ghm_stat_std(v, k), k);
            rows++;
        }
        if (rows > 0 && blk.buf) {
            if (block > 0) ghm_tb_puts(&dat, "\n\n");
            ghm_tb_printf(&dat, "# %s\n", s->losses[l]);
            ghm_tb_puts(&dat, blk.buf);
            ghm_tb_printf(&gp, "%s'%s.dat' index %d using 1:2 with linespoints lw 2 title ",
                          block ? ", \\\n    " : " ", base, block);
            gp_str(&gp, s->losses[l]);
            block++;
        }
        ghm_tb_free(&blk);
    }
    ghm_tb_puts(&gp, "\n");
    if (block == 0) {
        ghm_tb_free(&dat);
        ghm_tb_free(&gp);
        return 0;
    }
    return emit(pc, base, &dat, &gp);
}

static int fig_pca(plot_ctx *pc, const ghm_summary *s, const char *dir, int l)
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
    float *emb = NULL;
    int *lab = NULL, n = 0, d = 0, nl = 0;
    ghm_error e2;
    if (ghm_npy_read_f32_2d(pe, &emb, &n, &d, &e2) < 0) return 0; /* embeddings removed: skip */
    if (ghm_npy_read_labels(pl, &lab, &nl, &e2) < 0 || nl != n) {
        free(emb);
        free(lab);
        return 0;
    }
    /* subsample deterministically to at most 3000 points */
    int step = n > 3000 ? (n + 2999) / 3000 : 1, m = (n + step - 1) / step;
    float *sub = malloc((size_t)m * d * sizeof *sub), *proj = malloc((size_t)m * 2 * sizeof *proj);
    int *sl = malloc((size_t)m * sizeof *sl);
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
    int rc = ghm_pca2(sub, m, d, proj, pc->err);
    if (rc < 0) {
        free(sub), free(proj), free(sl);
        return rc;
    }
    int max_label = 0;
    for (int i = 0; i < m; i++)
        if (sl[i] > max_label) max_label = sl[i];
    char lname[64], base[128], png[160], title[256];
    safe_name(s->losses[l], lname, sizeof lname);
    snprintf(base, sizeof base, "pca_%s", lname);
    snprintf(png, sizeof png, "%s.png", base);
    snprintf(title, sizeof title, "PCA of test embeddings: %s (run %s, %d points)", s->losses[l], R->run_id, m);
    ghm_tb dat, gp;
    ghm_tb_init(&dat);
    ghm_tb_init(&gp);
    ghm_tb_puts(&dat, "# pc1 pc2 label\n");
    for (int i = 0; i < m; i++) ghm_tb_printf(&dat, "%.6g %.6g %d\n", proj[2 * i], proj[2 * i + 1], sl[i]);
    gp_header(&gp, png, title, "principal component 1", "principal component 2");
    /* one series per class present (the dataset's class ids), ten clearly distinct colours cycled */
    static const char *const colors[10] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
    ghm_tb_puts(&gp, "plot");
    int series = 0;
    for (int c = 0; c <= max_label; c++) {
        int present = 0;
        for (int i = 0; i < m && !present; i++) present = (sl[i] == c);
        if (!present) continue;
        ghm_tb_printf(&gp, "%s '%s.dat' using 1:($3==%d ? $2 : 1/0) with points pt 7 ps 0.5 lc rgb '%s' "
                           "title 'class %d'",
                      series ? ", \\\n    " : " ", base, c, colors[series % 10], c);
        series++;
    }
    ghm_tb_puts(&gp, "\n");
    free(sub), free(proj), free(sl);
    return emit(pc, base, &dat, &gp);
}

int ghm_plots_write(const ghm_summary *s, const char *dir, const char *gnuplot, int *n_plots, char *warning, int wn,
                    ghm_error *err)
{
    *n_plots = 0;
    if (warning && wn > 0) warning[0] = '\0';
    char pdir[GHM_PATH_MAX + 16];
    snprintf(pdir, sizeof pdir, "%s/plots", dir);
    int rc = ghm_mkdirs(pdir, err);
    if (rc < 0) return rc;
    plot_ctx pc;
    memset(&pc, 0, sizeof pc);
    pc.dir = pdir;
    pc.gnuplot = gnuplot;
    pc.err = err;
    if (strchr(pdir, '\'') || strchr(gnuplot, '\'')) {
        if (warning) snprintf(warning, (size_t)wn, "plots skipped: a quote in the path %s", pdir);
    } else {
        char cmd[GHM_PATH_MAX + 64];
        snprintf(cmd, sizeof cmd, "'%s' -e 'exit' >/dev/null 2>&1", gnuplot);
        int st = system(cmd);
        pc.have_gnuplot = (st == 0);
        if (!pc.have_gnuplot && warning)
            snprintf(warning, (size_t)wn,
                     "gnuplot not found (`%s`): plots skipped; data and scripts are in %s "
                     "(install gnuplot-nox, then run `ghm report %s`)",
                     gnuplot, pdir, dir);
    }
    /* start a fresh log */
    char logp[GHM_PATH_MAX + 32];
    snprintf(logp, sizeof logp, "%s/gnuplot.log", pdir);
    remove(logp);

    static const char *const figure_metrics[] = {"recall@1", "nmi", "map@r"};
    for (int c = 0; c < s->n_swept; c++)
        for (int f = 0; f < 3; f++) {
            int m = ghm_summary_metric(s, figure_metrics[f]);
            if (m < 0) continue;
            if ((rc = fig_metric_vs_param(&pc, s, c, m)) < 0) return rc;
        }
    if ((rc = fig_recall_at_k(&pc, s)) < 0) return rc;
    if ((rc = fig_history(&pc, s, 0)) < 0) return rc;
    if ((rc = fig_history(&pc, s, 1)) < 0) return rc;
    for (int l = 0; l < s->n_losses; l++)
        if ((rc = fig_pca(&pc, s, dir, l)) < 0) return rc;
    *n_plots = pc.n_plots;
    if (pc.have_gnuplot && pc.n_failed > 0 && warning)
        snprintf(warning, (size_t)wn, "gnuplot failed on %d script(s) (first: %s); see %s/gnuplot.log", pc.n_failed,
                 pc.first_fail, pdir);
    return 0;
}
