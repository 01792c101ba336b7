/* `ghm bench search`: how close random search and TPE (search/search.c) get
 * to the optimum of known objectives at the budgets the studies use.
 *
 * For every objective, budget (--trials, default 6,10,20) and batch size
 * (--batch, default 1,2,4), each method runs the search --seeds times (search
 * seeds 0 .. seeds-1, default 500) exactly as `ghm run` proposes it (trial t
 * sees the results of trials 0 .. ghm_search_depends_on(t) - 1 only), and the
 * regret of a run is the optimum minus the best objective found. Prints a
 * Markdown table of the mean regret of each method (with its standard error)
 * and one JSON object on the last line of stdout. Nothing is timed.
 *
 * The objectives (maximised; every optimum is 0):
 *   1d-interior   x in [0, 1]:                          -(x - 0.3)^2
 *   2d-interior   x in [0, 1], y in [0.01, 1] (log):    -(x - 0.62)^2 - 0.25 (log10 y + 1.3)^2
 *   edge          x in [0, 1], y in [0, 1]:             -(1 - x)^2 - (y - 0.4)^2   (optimum at x = 1)
 *   mix           c in {a, b, c}, x in [0, 1], y in [1e-4, 1e-1] (log):
 *                 -[0.1, 0, 0.05][c] - (x - 0.7)^2 - 0.1 (log10 y + 2.5)^2
 *   inert         2d-interior plus z in [0, 1] that changes nothing
 * The interior objectives are the ones the goal "TPE never worse than random"
 * is about; the edge objective shows what the candidates' pull away from the
 * range edges costs when the optimum is on one.
 */
#include "cli.h"

#include "search/search.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bench_objective {
    const char *name;
    int interior; /* 1: the optimum is inside every range */
    ghm_search_space sp;
    double (*f)(const double *x);
} bench_objective;

static double f_1d(const double *x) { return -(x[0] - 0.3) * (x[0] - 0.3); }
static double f_2d(const double *x)
{
    double a = x[0] - 0.62, b = log10(x[1]) + 1.3;
    return -a * a - 0.25 * b * b;
}
static double f_edge(const double *x) { return -(1 - x[0]) * (1 - x[0]) - (x[1] - 0.4) * (x[1] - 0.4); }
static double f_mix(const double *x)
{
    static const double pen[3] = {0.1, 0.0, 0.05};
    int c = (int)x[0];
    double a = x[1] - 0.7, b = log10(x[2]) + 2.5;
    return -pen[c < 0 || c > 2 ? 0 : c] - a * a - 0.1 * b * b;
}

static void dim_range(ghm_search_dim *d, const char *name, double lo, double hi, int log_scale)
{
    memset(d, 0, sizeof *d);
    snprintf(d->path, sizeof d->path, "%s", name);
    d->kind = GHM_DIM_RANGE, d->lo = lo, d->hi = hi, d->log = log_scale;
}

static int make_objectives(bench_objective *o)
{
    memset(o, 0, 5 * sizeof *o);
    o[0] = (bench_objective){"1d-interior", 1, {0}, f_1d};
    o[0].sp.n = 1;
    dim_range(&o[0].sp.dims[0], "x", 0, 1, 0);
    o[1] = (bench_objective){"2d-interior", 1, {0}, f_2d};
    o[1].sp.n = 2;
    dim_range(&o[1].sp.dims[0], "x", 0, 1, 0);
    dim_range(&o[1].sp.dims[1], "y", 0.01, 1, 1);
    o[2] = (bench_objective){"edge", 0, {0}, f_edge};
    o[2].sp.n = 2;
    dim_range(&o[2].sp.dims[0], "x", 0, 1, 0);
    dim_range(&o[2].sp.dims[1], "y", 0, 1, 0);
    o[3] = (bench_objective){"mix", 1, {0}, f_mix};
    o[3].sp.n = 3;
    o[3].sp.dims[0].kind = GHM_DIM_CHOICES, o[3].sp.dims[0].n_choices = 3;
    snprintf(o[3].sp.dims[0].path, sizeof o[3].sp.dims[0].path, "c");
    dim_range(&o[3].sp.dims[1], "x", 0, 1, 0);
    dim_range(&o[3].sp.dims[2], "y", 1e-4, 1e-1, 1);
    o[4] = (bench_objective){"inert", 1, {0}, f_2d}; /* the third dimension is never read */
    o[4].sp.n = 3;
    dim_range(&o[4].sp.dims[0], "x", 0, 1, 0);
    dim_range(&o[4].sp.dims[1], "y", 0.01, 1, 1);
    dim_range(&o[4].sp.dims[2], "z", 0, 1, 0);
    return 5;
}

/* Regret of one search (seed) of `trials` trials; -1 on out of memory. */
static double one_search(const bench_objective *o, int method, int trials, int batch, uint64_t seed)
{
    ghm_search_config s;
    memset(&s, 0, sizeof s);
    s.method = method, s.trials = trials, s.batch = batch, s.seed = seed;
    int nd = o->sp.n;
    double *X = calloc((size_t)trials * nd, sizeof *X), *Y = calloc((size_t)trials, sizeof *Y);
    if (!X || !Y) {
        free(X);
        free(Y);
        return -1;
    }
    uint64_t key = ghm_search_key(&s, 0, o->name);
    double best = -INFINITY;
    for (int t = 0; t < trials; t++) {
        ghm_search_propose(&s, &o->sp, key, t, X, Y, ghm_search_depends_on(&s, t), X + (size_t)t * nd);
        Y[t] = o->f(X + (size_t)t * nd);
        if (Y[t] > best) best = Y[t];
    }
    free(X);
    free(Y);
    return -best;
}

/* "6,10,20" -> values in [lo, hi] */
static int parse_list(const char *cmd, const char *opt, const char *v, long lo, long hi, long *out, int max)
{
    int n = 0;
    const char *p = v;
    while (*p) {
        char *end;
        long x = strtol(p, &end, 10);
        if (end == p || x < lo || x > hi || (*end && *end != ',') || n >= max)
            return ghm_cli_usage(cmd, "%s: expected a comma-separated list of at most %d integers in [%ld, %ld], got '%s'",
                                 opt, max, lo, hi, v);
        out[n++] = x;
        p = *end ? end + 1 : end;
    }
    if (n == 0) return ghm_cli_usage(cmd, "%s: expected a comma-separated list of integers, got '%s'", opt, v);
    return -n;
}

int ghm_cmd_bench_search(int argc, char **argv)
{
    const char *cmd = "bench search";
    long seeds = 500, trials[8] = {6, 10, 20}, batches[8] = {1, 2, 4};
    int n_trials = 3, n_batches = 3;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int m;
#define OPT(name) ((m = ghm_cli_opt(argc, argv, &i, name, &v)) != 0)
        if (OPT("--seeds")) {
            if (m < 0 || ghm_cli_int(cmd, "--seeds", v, 1, 100000, &seeds)) return 2;
        } else if (OPT("--trials")) {
            int r = m < 0 ? 2 : parse_list(cmd, "--trials", v, 1, 1000, trials, 8);
            if (r > 0) return 2;
            n_trials = -r;
        } else if (OPT("--batch")) {
            int r = m < 0 ? 2 : parse_list(cmd, "--batch", v, 1, 100, batches, 8);
            if (r > 0) return 2;
            n_batches = -r;
        } else {
            return ghm_cli_usage(cmd, "unknown option '%s' (options: --seeds N --trials LIST --batch LIST)", argv[i]);
        }
#undef OPT
    }
    bench_objective obj[5];
    int n_obj = make_objectives(obj);
    int cells = 0, interior_cells = 0, tpe_not_worse = 0;
    printf("Mean regret (optimum minus the best objective found; lower is better) over %ld search seeds, "
           "+- one standard error.\n\n",
           seeds);
    printf("| objective | trials | batch | random | tpe | tpe / random |\n");
    printf("|---|---:|---:|---:|---:|---:|\n");
    double worst_ratio = 0; /* largest tpe / random over the interior cells */
    for (int k = 0; k < n_obj; k++)
        for (int a = 0; a < n_trials; a++)
            for (int b = 0; b < n_batches; b++) {
                double sum[2] = {0, 0}, sq[2] = {0, 0};
                for (int m = 0; m < 2; m++)
                    for (long sd = 0; sd < seeds; sd++) {
                        double r = one_search(&obj[k], m == 0 ? GHM_SEARCH_RANDOM : GHM_SEARCH_TPE, (int)trials[a],
                                              (int)batches[b], (uint64_t)sd);
                        if (r < 0) {
                            fprintf(stderr, "ghm bench search: out of memory\n");
                            return 1;
                        }
                        sum[m] += r, sq[m] += r * r;
                    }
                double mean[2], se[2];
                for (int m = 0; m < 2; m++) {
                    mean[m] = sum[m] / seeds;
                    double var = seeds > 1 ? (sq[m] - seeds * mean[m] * mean[m]) / (seeds - 1) : 0;
                    se[m] = var > 0 ? sqrt(var / seeds) : 0;
                }
                double ratio = mean[0] > 0 ? mean[1] / mean[0] : 0;
                printf("| %s | %ld | %ld | %.4f +- %.4f | %.4f +- %.4f | %.2f |\n", obj[k].name, trials[a], batches[b],
                       mean[0], se[0], mean[1], se[1], ratio);
                cells++;
                if (obj[k].interior) {
                    interior_cells++;
                    if (mean[1] <= mean[0]) tpe_not_worse++;
                    if (ratio > worst_ratio) worst_ratio = ratio;
                }
            }
    printf("\nTPE's mean regret <= random's in %d of %d interior-optimum cells (largest tpe / random %.2f).\n",
           tpe_not_worse, interior_cells, worst_ratio);
    printf("{\"seeds\": %ld, \"cells\": %d, \"interior_cells\": %d, \"tpe_not_worse\": %d, "
           "\"worst_interior_ratio\": %.4f}\n",
           seeds, cells, interior_cells, tpe_not_worse, worst_ratio);
    return 0;
}
