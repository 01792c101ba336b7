/* `ghm eval` (metrics of saved embeddings) and `ghm bench eval` (speed of the
 * evaluation on generated clustered embeddings). Definitions: docs/metrics.md. */
#include "../core/progress.h"
#include "cli.h"

#include "../core/npy.h"
#include "../core/params.h"
#include "../core/rng.h"
#include "../core/tensor.h"
#include "../core/threads.h"
#include "../eval/eval.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Parse "1,2,4,8" into ascending, distinct K values. */
static int parse_ks(const char *cmd, const char *text, ghm_eval_opts *o)
{
    int ks[GHM_MAX_K], n = 0;
    const char *p = text;
    while (*p) {
        char *end = NULL;
        long v = strtol(p, &end, 10);
        if (end == p || (*end && *end != ',')) return ghm_cli_usage(cmd, "--k expects a list like 1,2,4,8, got '%s'", text);
        if (v < 1 || v > 1000000000L) return ghm_cli_usage(cmd, "--k values must be >= 1, got %ld", v);
        if (n == GHM_MAX_K) return ghm_cli_usage(cmd, "--k takes at most %d values", GHM_MAX_K);
        ks[n++] = (int)v;
        p = *end ? end + 1 : end;
    }
    if (n == 0) return ghm_cli_usage(cmd, "--k needs at least one value");
    /* sort ascending, drop duplicates */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && ks[j - 1] > ks[j]; j--) {
            int t = ks[j];
            ks[j] = ks[j - 1];
            ks[j - 1] = t;
        }
    o->n_k = 0;
    for (int i = 0; i < n; i++)
        if (i == 0 || ks[i] != ks[i - 1]) o->ks[o->n_k++] = ks[i];
    return 0;
}

static int parse_metrics(const char *cmd, const char *text, ghm_eval_opts *o)
{
    /* the names come from the metric registry (eval/metric_registry.c): the file spelling
     * ("map_r") or the record key ("map@r"); metrics sharing a computation share a switch */
    const char *names[32];
    char known[256];
    size_t used = 0;
    int nn = 0;
    known[0] = '\0';
    for (int i = 0; i < ghm_metric_count() && nn < 32; i++) {
        const ghm_metric_ops *mo = ghm_metric_at(i);
        ghm_metric_switch(o, mo, 0);
        if (!mo->name) continue;
        names[nn] = mo->name;
        int wr = snprintf(known + used, sizeof known - used, "%s%s", nn ? ", " : "", mo->name);
        if (wr > 0 && (size_t)wr < sizeof known - used) used += (size_t)wr;
        nn++;
    }
    char buf[256];
    if (strlen(text) >= sizeof buf) return ghm_cli_usage(cmd, "--metrics list too long");
    strcpy(buf, text);
    int any = 0;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        any = 1;
        int k = 0;
        const ghm_metric_ops *mo = ghm_metric_find(strcmp(t, "precision@1") == 0 ? "recall" : t, &k);
        if (mo && !k)
            ghm_metric_switch(o, mo, 1);
        else {
            const char *close = ghm_closest_name(t, names, nn);
            if (close)
                return ghm_cli_usage(cmd, "unknown metric '%s' (did you mean '%s'? known: %s)", t, close, known);
            return ghm_cli_usage(cmd, "unknown metric '%s' (known: %s)", t, known);
        }
    }
    if (!any) return ghm_cli_usage(cmd, "--metrics needs at least one name");
    return 0;
}

static void json_num(double v)
{
    if (isfinite(v))
        printf("%.10g", v);
    else
        printf("null");
}

static void print_table(const ghm_metrics *m)
{
    char names[GHM_MAX_K + GHM_MAX_METRICS][GHM_METRIC_NAME_MAX];
    double vals[GHM_MAX_K + GHM_MAX_METRICS];
    int c = ghm_metrics_list(m, names, vals, GHM_MAX_K + GHM_MAX_METRICS);
    printf("  %-14s %s\n", "metric", "value");
    for (int i = 0; i < c; i++) {
        printf("  %-14s ", names[i]);
        if (isfinite(vals[i]))
            printf("%.4f\n", vals[i]);
        else
            printf("n/a\n");
    }
    if (m->n_r0 > 0)
        printf("  (%d queries have no other item of their label: misses for Recall@K, left out of MAP@R and "
               "R-precision)\n",
               m->n_r0);
}

/* Prints the metrics as JSON members (no braces), each preceded by a comma except the first. */
static void print_json_members(const ghm_metrics *m)
{
    char names[GHM_MAX_K + GHM_MAX_METRICS][GHM_METRIC_NAME_MAX];
    double vals[GHM_MAX_K + GHM_MAX_METRICS];
    int c = ghm_metrics_list(m, names, vals, GHM_MAX_K + GHM_MAX_METRICS);
    for (int i = 0; i < c; i++) {
        printf("%s\"%s\": ", i ? ", " : "", names[i]);
        json_num(vals[i]);
    }
    printf("%s\"n\": %d, \"dim\": %d, \"n_r0\": %d, \"seconds\": ", c ? ", " : "", m->n, m->dim, m->n_r0);
    json_num(m->seconds);
}

int ghm_cmd_eval(int argc, char **argv)
{
    const char *cmd = "eval";
    const char *emb_path = NULL, *lab_path = NULL, *q_path = NULL, *ql_path = NULL;
    ghm_eval_opts o;
    ghm_eval_opts_default(&o);
    long threads = 0, v;
    int json = 0;
    const char *grp_path = NULL;
    int *grp = NULL, ngr = 0;
    for (int i = 1; i < argc; i++) {
        const char *val = NULL;
        int r;
        if ((r = ghm_cli_opt(argc, argv, &i, "--embeddings", &val)) != 0) {
            if (r < 0) return ghm_cli_usage(cmd, "--embeddings needs a file");
            emb_path = val;
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--labels", &val)) != 0) {
            if (r < 0) return ghm_cli_usage(cmd, "--labels needs a file");
            lab_path = val;
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--groups", &val)) != 0) {
            if (r < 0) return ghm_cli_usage(cmd, "--groups needs a file");
            grp_path = val; /* family-held-out: a query's own group is removed from its gallery */
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--query-labels", &val)) != 0) {
            if (r < 0) return ghm_cli_usage(cmd, "--query-labels needs a file");
            ql_path = val;
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--query", &val)) != 0) {
            if (r < 0) return ghm_cli_usage(cmd, "--query needs a file");
            q_path = val;
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--k", &val)) != 0) {
            if (r < 0) return ghm_cli_usage(cmd, "--k needs a list like 1,2,4,8");
            if (parse_ks(cmd, val, &o)) return 2;
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--metrics", &val)) != 0) {
            if (r < 0) return ghm_cli_usage(cmd, "--metrics needs a list like recall,map_r,r_precision,nmi");
            if (parse_metrics(cmd, val, &o)) return 2;
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--seed", &val)) != 0) {
            if (r < 0) return ghm_cli_usage(cmd, "--seed needs a value");
            if (ghm_cli_int(cmd, "--seed", val, 0, 0x7fffffffL, &v)) return 2;
            o.seed = (uint64_t)v;
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--threads", &val)) != 0) {
            if (r < 0) return ghm_cli_usage(cmd, "--threads needs a value");
            if (ghm_cli_int(cmd, "--threads", val, 1, 256, &threads)) return 2;
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--block", &val)) != 0) {
            if (r < 0) return ghm_cli_usage(cmd, "--block needs a value");
            if (ghm_cli_int(cmd, "--block", val, 0, 1 << 20, &v)) return 2;
            o.block = (int)v;
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--restarts", &val)) != 0) {
            if (r < 0) return ghm_cli_usage(cmd, "--restarts needs a value");
            if (ghm_cli_int(cmd, "--restarts", val, 1, 1000, &v)) return 2;
            o.kmeans_restarts = (int)v;
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--max-iter", &val)) != 0) {
            if (r < 0) return ghm_cli_usage(cmd, "--max-iter needs a value");
            if (ghm_cli_int(cmd, "--max-iter", val, 1, 100000, &v)) return 2;
            o.kmeans_max_iter = (int)v;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = 1;
        } else {
            return ghm_cli_usage(cmd, "unknown option '%s'%s", argv[i], ghm_cli_option_hint(cmd, argv[i], NULL));
        }
    }
    if (!emb_path || !lab_path) return ghm_cli_usage(cmd, "--embeddings E.npy and --labels L.npy are required");
    if ((q_path != NULL) != (ql_path != NULL))
        return ghm_cli_usage(cmd, "--query and --query-labels go together");
    ghm_threads_set((int)threads);

    ghm_error err;
    ghm_error_clear(&err);
    float *emb = NULL, *q = NULL;
    int *lab = NULL, *ql = NULL;
    int n = 0, d = 0, nl = 0, nq = 0, dq = 0, nql = 0, rc = 0;
    if ((rc = ghm_npy_read_f32_2d(emb_path, &emb, &n, &d, &err)) || (rc = ghm_npy_read_labels(lab_path, &lab, &nl, &err)))
        goto fail;
    if (nl != n) {
        rc = ghm_error_set(&err, GHM_EINPUT, "%s has %d labels but %s has %d rows", lab_path, nl, emb_path, n);
        goto fail;
    }
    if (q_path) {
        if ((rc = ghm_npy_read_f32_2d(q_path, &q, &nq, &dq, &err)) || (rc = ghm_npy_read_labels(ql_path, &ql, &nql, &err)))
            goto fail;
        if (nql != nq) {
            rc = ghm_error_set(&err, GHM_EINPUT, "%s has %d labels but %s has %d rows", ql_path, nql, q_path, nq);
            goto fail;
        }
        if (dq != d) {
            rc = ghm_error_set(&err, GHM_EINPUT, "%s has dimension %d but the gallery %s has %d", q_path, dq, emb_path, d);
            goto fail;
        }
    }
    if (grp_path) {
        if (q_path) {
            rc = ghm_error_set(&err, GHM_EINPUT, "--groups works on self-retrieval only (not with --query)");
            goto fail;
        }
        if ((rc = ghm_npy_read_labels(grp_path, &grp, &ngr, &err))) goto fail;
        if (ngr != n) {
            rc = ghm_error_set(&err, GHM_EINPUT, "%s has %d groups but %s has %d rows", grp_path, ngr, emb_path, n);
            goto fail;
        }
        o.exclude_group = grp;
        o.exclude_same_group = 1;
    }
    ghm_metrics m;
    if (q_path)
        rc = ghm_evaluate_query(q, ql, nq, emb, lab, n, d, &o, &m, &err);
    else
        rc = ghm_evaluate(emb, lab, n, d, &o, &m, &err);
    if (rc) goto fail;

    if (json) { /* stdout holds the one JSON object and nothing else (the table's numbers are all in it) */
        printf("{");
        print_json_members(&m);
        printf("}\n");
    } else {
        if (q_path)
            printf("ghm eval: %d queries against a gallery of %d, dim %d\n", nq, n, d);
        else
            printf("ghm eval: %d items, dim %d (each item queries all others)\n", n, d);
        print_table(&m);
        printf("  time %.3f s on %d threads\n", m.seconds, ghm_threads_get());
    }
    fflush(stdout);
fail:
    free(emb);
    free(lab);
    free(grp);
    free(q);
    free(ql);
    return rc ? ghm_cli_fail(&err) : 0;
}

/* Clustered unit-norm embeddings: class centres are random unit vectors, an
 * item is its class centre plus Gaussian noise of norm ~ noise, renormalised.
 * Labels are drawn uniformly. (n, d) and (n). */
static void gen_clustered(float *x, int *lab, int n, int d, int classes, double noise, uint64_t seed)
{
    ghm_rng r;
    ghm_rng_seed(&r, seed, GHM_STREAM_DATA);
    float *cent = malloc(sizeof(float) * (size_t)classes * (size_t)d);
    if (!cent) return;
    for (int c = 0; c < classes; c++) {
        double s = 0;
        for (int t = 0; t < d; t++) {
            double g = ghm_rng_normal(&r);
            cent[(size_t)c * d + t] = (float)g;
            s += g * g;
        }
        s = 1.0 / sqrt(s);
        for (int t = 0; t < d; t++) cent[(size_t)c * d + t] *= (float)s;
    }
    double sd = noise / sqrt((double)d);
    for (int i = 0; i < n; i++) {
        int c = (int)ghm_rng_below(&r, (uint32_t)classes);
        lab[i] = c;
        float *row = x + (size_t)i * d;
        double s = 0;
        for (int t = 0; t < d; t++) {
            double v = cent[(size_t)c * d + t] + sd * ghm_rng_normal(&r);
            row[t] = (float)v;
            s += v * v;
        }
        s = 1.0 / sqrt(s);
        for (int t = 0; t < d; t++) row[t] *= (float)s;
    }
    free(cent);
}

int ghm_cmd_bench_eval(int argc, char **argv)
{
    const char *cmd = "bench eval";
    long n = 35000, d = 128, classes = 5, threads = 2, seed = 0, v;
    double noise = 1.0;
    ghm_eval_opts o;
    ghm_eval_opts_default(&o);
    for (int i = 1; i < argc; i++) {
        const char *val = NULL;
        int r;
        if ((r = ghm_cli_opt(argc, argv, &i, "--n", &val)) != 0) {
            if (r < 0 || ghm_cli_int(cmd, "--n", val, 2, 10000000L, &n)) return r < 0 ? ghm_cli_usage(cmd, "--n needs a value") : 2;
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--dim", &val)) != 0) {
            if (r < 0 || ghm_cli_int(cmd, "--dim", val, 1, GHM_MAX_EMBEDDING_DIM, &d)) return r < 0 ? ghm_cli_usage(cmd, "--dim needs a value") : 2;
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--classes", &val)) != 0) {
            if (r < 0 || ghm_cli_int(cmd, "--classes", val, 1, 1000000L, &classes))
                return r < 0 ? ghm_cli_usage(cmd, "--classes needs a value") : 2;
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--threads", &val)) != 0) {
            if (r < 0 || ghm_cli_int(cmd, "--threads", val, 1, 256, &threads))
                return r < 0 ? ghm_cli_usage(cmd, "--threads needs a value") : 2;
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--seed", &val)) != 0) {
            if (r < 0 || ghm_cli_int(cmd, "--seed", val, 0, 0x7fffffffL, &seed))
                return r < 0 ? ghm_cli_usage(cmd, "--seed needs a value") : 2;
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--noise", &val)) != 0) {
            if (r < 0 || ghm_cli_double(cmd, "--noise", val, &noise)) return r < 0 ? ghm_cli_usage(cmd, "--noise needs a value") : 2;
            if (!(noise >= 0 && noise < 1e6)) return ghm_cli_usage(cmd, "--noise must be >= 0");
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--k", &val)) != 0) {
            if (r < 0) return ghm_cli_usage(cmd, "--k needs a list like 1,2,4,8");
            if (parse_ks(cmd, val, &o)) return 2;
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--block", &val)) != 0) {
            if (r < 0 || ghm_cli_int(cmd, "--block", val, 0, 1 << 20, &v)) return r < 0 ? ghm_cli_usage(cmd, "--block needs a value") : 2;
            o.block = (int)v;
        } else if ((r = ghm_cli_opt(argc, argv, &i, "--metrics", &val)) != 0) {
            if (r < 0) return ghm_cli_usage(cmd, "--metrics needs a list");
            if (parse_metrics(cmd, val, &o)) return 2;
        } else {
            const char *opts = "--n --dim --classes --threads --seed --noise --k --block --metrics";
            return ghm_cli_usage(cmd, "unknown option '%s'%s (options: %s)", argv[i], ghm_cli_option_hint(cmd, argv[i], opts), opts);
        }
    }
    if (classes > n) return ghm_cli_usage(cmd, "--classes (%ld) must be <= --n (%ld)", classes, n);
    int nt = ghm_threads_set((int)threads);
    o.seed = (uint64_t)seed;

    float *x = malloc(sizeof(float) * (size_t)n * (size_t)d);
    int *lab = malloc(sizeof(int) * (size_t)n);
    if (!x || !lab) {
        free(x);
        free(lab);
        fprintf(stderr, "ghm: bench eval: out of memory for %ld x %ld floats\n", n, d);
        return 1;
    }
    double t0 = ghm_clock();
    gen_clustered(x, lab, (int)n, (int)d, (int)classes, noise, (uint64_t)seed);
    double gen_s = ghm_clock() - t0;

    ghm_error err;
    ghm_error_clear(&err);
    ghm_metrics m, mc;
    /* retrieval metrics (one kNN pass), then clustering metrics, timed apart */
    ghm_eval_opts ok = o, oc = o;
    int any_k = 0, any_c = 0;
    for (int i = 0; i < ghm_metric_count(); i++) {
        const ghm_metric_ops *mo = ghm_metric_at(i);
        int clus = (mo->needs & GHM_METRIC_NEEDS_CLUSTERING) != 0;
        if (!ghm_metric_on(&o, mo)) continue;
        ghm_metric_switch(clus ? &ok : &oc, mo, 0);
        if (clus) any_c = 1; else any_k = 1;
    }
    int rc = 0;
    double knn_s = 0, km_s = 0;
    memset(&m, 0, sizeof m);
    if (any_k) {
        rc = ghm_evaluate(x, lab, (int)n, (int)d, &ok, &m, &err);
        knn_s = m.seconds;
    }
    if (!rc && any_c) {
        rc = ghm_evaluate(x, lab, (int)n, (int)d, &oc, &mc, &err);
        if (!rc) {
            km_s = mc.seconds;
            for (int i = 0; i < ghm_metric_count(); i++)
                if (mc.count[i]) {
                    m.count[i] = mc.count[i];
                    memcpy(m.v[i], mc.v[i], sizeof m.v[i]);
                }
            m.n = mc.n;
            m.dim = mc.dim;
        }
    }
    free(x);
    free(lab);
    if (rc) return ghm_cli_fail(&err);
    m.seconds = knn_s + km_s;
    printf("ghm bench eval: %ld x %ld unit-norm embeddings, %ld classes (noise %.2f), %d threads, BLAS core %s\n", n, d,
           classes, noise, nt, openblas_get_corename());
    print_table(&m);
    printf("  time: data %.3f s, kNN + retrieval metrics %.3f s, k-means + NMI/AMI %.3f s, total %.3f s\n", gen_s, knn_s,
           km_s, m.seconds);
    printf("{");
    print_json_members(&m);
    printf(", \"knn_s\": ");
    json_num(knn_s);
    printf(", \"kmeans_s\": ");
    json_num(km_s);
    printf(", \"gen_s\": ");
    json_num(gen_s);
    printf(", \"threads\": %d, \"classes\": %ld}\n", nt, classes);
    fflush(stdout);
    return 0;
}
