/* `ghm bench pdist`: what the exact recomputation of near pairs costs in the
 * shared distance matrix (losses/distance.c).
 *
 * Builds a batch of unit-norm embeddings like the backbone's output: --classes
 * class centres drawn uniformly on the sphere, --batch / --classes rows per
 * class at centre + spread * noise (noise N(0, I/d), so spread is about the
 * distance of a row from its centre), renormalised. spread 1 or more is an
 * untrained network (rows almost independent), 0.3 a trained one, 0.05 a
 * collapsed class. --embeddings E.npy takes the first --batch rows of a float32
 * (n, d) array instead. Then times, per call, the fastest of 10 interleaved
 * rounds of --reps / 10 calls:
 *   gram    the sgemm path alone (threshold -inf, the former behaviour);
 *   pdist   ghm_loss_pdist (sgemm + near pairs recomputed in double);
 *   direct  every pair computed directly in double;
 *   loss    contrastive forward + backward (which calls ghm_loss_pdist),
 * and reports the fraction of pairs recomputed and the largest relative
 * difference between gram and pdist. JSON on the last line of stdout. */
#include "cli.h"

#include "../core/json.h"
#include "../core/npy.h"
#include "../core/progress.h"
#include "../core/rng.h"
#include "../losses/loss.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double time_pdist(const float *e, int n, int d, double thr, int reps, double *D, long *n_exact)
{
    ghm_error err;
    double t0 = ghm_clock();
    for (int r = 0; r < reps; r++)
        if (ghm_loss_pdist_ex(e, n, d, thr, D, n_exact, &err)) return -1.0;
    return (ghm_clock() - t0) / reps;
}

/* A synthetic batch (see the top of this file): classes centres on the unit sphere, row i at centre
 * i % classes + spread * N(0, I/d), renormalised. *e is malloc'd; -1 when out of memory. */
static int synthetic_batch(long n, long d, long classes, long seed, double spread, float **e)
{
    *e = malloc((size_t)n * d * sizeof **e);
    double *c = malloc((size_t)classes * d * sizeof *c);
    if (!*e || !c) {
        free(*e);
        *e = NULL;
        free(c);
        return -1;
    }
    ghm_rng r;
    ghm_rng_seed(&r, (uint64_t)seed, GHM_STREAM_USER);
    for (long k = 0; k < classes; k++) {
        double s = 0.0;
        for (long j = 0; j < d; j++) {
            c[k * d + j] = ghm_rng_normal(&r);
            s += c[k * d + j] * c[k * d + j];
        }
        for (long j = 0; j < d; j++) c[k * d + j] /= sqrt(s);
    }
    for (long i = 0; i < n; i++) {
        double *ci = c + (i % classes) * d, s = 0.0;
        float *ei = *e + i * d;
        for (long j = 0; j < d; j++) {
            double x = ci[j] + spread * ghm_rng_normal(&r) / sqrt((double)d);
            ei[j] = (float)x;
            s += x * x;
        }
        for (long j = 0; j < d; j++) ei[j] = (float)(ei[j] / sqrt(s));
    }
    free(c);
    return 0;
}

/* What one benchmark measured: per-call times in seconds (the fastest round of each variant). */
typedef struct {
    double thr;                               /* ghm_loss_pdist_threshold(d) */
    long n_exact, pairs;                      /* pairs recomputed by pdist, of all pairs i < j */
    double t_gram, t_pdist, t_direct, t_loss; /* the four variants */
    double t_recompute;                       /* the recomputation's own cost */
    double maxdiff;                           /* largest relative difference gram vs pdist */
} pdist_result;

/* Time the four variants on e (n, d) with labels: ROUNDS interleaved rounds of reps / ROUNDS calls each,
 * after a warm-up. D, Dg (n, n) and grad (n, d) are scratch. Returns 0 or an error. */
static int measure(const float *e, const int *labels, int n, int d, int reps, ghm_loss *loss, double *D, double *Dg,
                   float *grad, pdist_result *res, ghm_error *err)
{
    const double thr = ghm_loss_pdist_threshold(d);
    long n_exact = 0, dummy;
    /* warm up (page in, BLAS threads), then time each variant */
    if (time_pdist(e, n, d, thr, 3, D, &n_exact) < 0)
        return ghm_error_set(err, GHM_ENOMEM, "out of memory in ghm_loss_pdist");
    /* ROUNDS interleaved rounds of reps / ROUNDS calls each; the fastest round
     * of each variant counts (the least disturbed by other processes) */
    enum { ROUNDS = 10 };
    const int per = reps / ROUNDS > 0 ? reps / ROUNDS : 1;
    double t_gram = INFINITY, t_pdist = INFINITY, t_direct = INFINITY, t_loss = INFINITY, value = 0.0;
    for (int round = 0; round < ROUNDS; round++) {
        double t = time_pdist(e, n, d, -INFINITY, per, Dg, &dummy);
        if (t < t_gram) t_gram = t;
        t = time_pdist(e, n, d, thr, per, D, &n_exact);
        if (t < t_pdist) t_pdist = t;
        t = time_pdist(e, n, d, INFINITY, per, D, &dummy);
        if (t < t_direct) t_direct = t;
        double t0 = ghm_clock();
        for (int r = 0; r < per; r++) {
            int rc = ghm_loss_forward_backward(loss, e, labels, n, d, &value, grad, err);
            if (rc) return rc;
        }
        t = (ghm_clock() - t0) / per;
        if (t < t_loss) t_loss = t;
    }
    (void)time_pdist(e, n, d, thr, 1, D, &n_exact);
    double maxdiff = 0.0;
    for (long k = 0; k < (long)n * n; k++) {
        double rel = fabs(Dg[k] - D[k]) / D[k];
        if (rel > maxdiff) maxdiff = rel;
    }
    res->thr = thr;
    res->n_exact = n_exact;
    res->pairs = (long)n * (n - 1) / 2;
    res->t_gram = t_gram;
    res->t_pdist = t_pdist;
    res->t_direct = t_direct;
    res->t_loss = t_loss;
    /* the recomputation's own cost, from the per-pair cost of the direct sum
     * (steadier than the difference of two noisy timings) */
    res->t_recompute = (double)n_exact * t_direct / (double)res->pairs;
    res->maxdiff = maxdiff;
    return 0;
}

/* The result as one line of text and, last, one JSON line (spread null for --embeddings). */
static int print_result(long n, long d, long classes, long reps, const char *emb_path, double spread,
                        const pdist_result *r, ghm_error *err)
{
    printf("pdist n=%ld d=%ld spread=%g: gram %.1f us, pdist %.1f us (%+.1f%%), direct %.1f us, "
           "contrastive fwd+bwd %.1f us; %ld of %ld pairs recomputed (threshold %.4f, about %.1f us); "
           "largest gram vs pdist relative difference %.3g\n",
           n, d, emb_path ? -1.0 : spread, 1e6 * r->t_gram, 1e6 * r->t_pdist,
           100.0 * (r->t_pdist - r->t_gram) / r->t_gram, 1e6 * r->t_direct, 1e6 * r->t_loss, r->n_exact, r->pairs,
           r->thr, 1e6 * r->t_recompute, r->maxdiff);
    ghm_jw w;
    ghm_jw_init(&w, 0);
    ghm_jw_begin_object(&w);
    ghm_jw_key(&w, "bench");
    ghm_jw_string(&w, "pdist");
    ghm_jw_key(&w, "batch");
    ghm_jw_int(&w, n);
    ghm_jw_key(&w, "dim");
    ghm_jw_int(&w, d);
    ghm_jw_key(&w, "classes");
    ghm_jw_int(&w, classes);
    ghm_jw_key(&w, "spread");
    if (emb_path)
        ghm_jw_null(&w);
    else
        ghm_jw_number(&w, spread);
    ghm_jw_key(&w, "reps");
    ghm_jw_int(&w, reps);
    ghm_jw_key(&w, "threshold");
    ghm_jw_number(&w, r->thr);
    ghm_jw_key(&w, "pairs");
    ghm_jw_int(&w, r->pairs);
    ghm_jw_key(&w, "pairs_recomputed");
    ghm_jw_int(&w, r->n_exact);
    ghm_jw_key(&w, "gram_us");
    ghm_jw_number(&w, 1e6 * r->t_gram);
    ghm_jw_key(&w, "pdist_us");
    ghm_jw_number(&w, 1e6 * r->t_pdist);
    ghm_jw_key(&w, "direct_us");
    ghm_jw_number(&w, 1e6 * r->t_direct);
    ghm_jw_key(&w, "recompute_us");
    ghm_jw_number(&w, 1e6 * r->t_recompute);
    ghm_jw_key(&w, "contrastive_us");
    ghm_jw_number(&w, 1e6 * r->t_loss);
    ghm_jw_key(&w, "max_rel_diff_gram");
    ghm_jw_number(&w, r->maxdiff);
    ghm_jw_end_object(&w);
    if (w.failed) {
        ghm_jw_free(&w);
        return ghm_error_set(err, GHM_ENOMEM, "out of memory writing JSON");
    }
    printf("%s\n", w.buf);
    ghm_jw_free(&w);
    return 0;
}

int ghm_cmd_bench_pdist(int argc, char **argv)
{
    const char *cmd = "bench pdist";
    long n = 120, d = 128, classes = 30, reps = 300, seed = 0;
    double spread = 1.0;
    const char *emb_path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int m;
#define OPT(name) ((m = ghm_cli_opt(argc, argv, &i, name, &v)) != 0)
        if (OPT("--batch")) {
            if (m < 0 || ghm_cli_int(cmd, "--batch", v, 2, 4096, &n)) return 2;
        } else if (OPT("--dim")) {
            if (m < 0 || ghm_cli_int(cmd, "--dim", v, 1, GHM_MAX_EMBEDDING_DIM, &d)) return 2;
        } else if (OPT("--classes")) {
            if (m < 0 || ghm_cli_int(cmd, "--classes", v, 1, 4096, &classes)) return 2;
        } else if (OPT("--reps")) {
            if (m < 0 || ghm_cli_int(cmd, "--reps", v, 1, 1000000, &reps)) return 2;
        } else if (OPT("--seed")) {
            if (m < 0 || ghm_cli_int(cmd, "--seed", v, 0, 1000000000, &seed)) return 2;
        } else if (OPT("--spread")) {
            if (m < 0 || ghm_cli_double(cmd, "--spread", v, &spread)) return 2;
            if (!(spread >= 0.0 && spread <= 100.0)) return ghm_cli_usage(cmd, "--spread must be in [0, 100]");
        } else if (OPT("--embeddings")) {
            if (m < 0) return ghm_cli_usage(cmd, "--embeddings needs a path");
            emb_path = v;
        } else {
            const char *opts = "--batch --dim --classes --spread --embeddings --reps --seed";
            return ghm_cli_usage(cmd, "unknown option '%s'%s (options: %s)", argv[i], ghm_cli_option_hint(cmd, argv[i], opts),
                                 opts);
        }
#undef OPT
    }
    if (classes > n) return ghm_cli_usage(cmd, "--classes (%ld) must not exceed --batch (%ld)", classes, n);
    ghm_error err;
    ghm_error_clear(&err);
    float *e = NULL;
    if (emb_path) {
        int rn, rd;
        if (ghm_npy_read_f32_2d(emb_path, &e, &rn, &rd, &err)) return ghm_cli_fail(&err);
        if (rn < n) {
            free(e);
            return ghm_cli_usage(cmd, "%s has %d rows, fewer than --batch %ld", emb_path, rn, n);
        }
        d = rd;
    } else if (synthetic_batch(n, d, classes, seed, spread, &e)) {
        ghm_error_set(&err, GHM_ENOMEM, "out of memory for a %ld x %ld batch", n, d);
        return ghm_cli_fail(&err);
    }
    int *labels = malloc((size_t)n * sizeof *labels);
    double *D = malloc((size_t)n * n * sizeof *D), *Dg = malloc((size_t)n * n * sizeof *Dg);
    float *grad = malloc((size_t)n * d * sizeof *grad);
    ghm_loss *loss = NULL;
    int st = 0;
    if (!labels || !D || !Dg || !grad) {
        ghm_error_set(&err, GHM_ENOMEM, "out of memory for a %ld x %ld batch", n, d);
        st = ghm_cli_fail(&err);
        goto done;
    }
    for (long i = 0; i < n; i++) labels[i] = (int)(i % classes);
    ghm_params p;
    ghm_params_clear(&p);
    pdist_result res = {0};
    if (ghm_loss_create("contrastive", &p, (int)d, (int)classes, 0, &loss, &err) ||
        measure(e, labels, (int)n, (int)d, (int)reps, loss, D, Dg, grad, &res, &err) ||
        print_result(n, d, classes, reps, emb_path, spread, &res, &err))
        st = ghm_cli_fail(&err);
done:
    ghm_loss_destroy(loss);
    free(e);
    free(labels);
    free(D);
    free(Dg);
    free(grad);
    return st;
}
