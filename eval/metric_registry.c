/* The metric registry: one line per metric, the single place that maps a metric's
 * names (experiment file, record key, display) to its switch and its value.
 * ghm_evaluate (metrics.c) computes what the switches ask for; the registry order
 * is the order of records, summary.csv and `ghm eval --json`. */
#include "eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- per-metric accessors -------------------------------------------------- */
static int recall_on(const ghm_eval_opts *o) { return o->do_recall; }
static void recall_set(ghm_eval_opts *o, int on) { o->do_recall = on; }
static int recall_n(const ghm_metrics *m) { return m->has_recall ? (m->n_k < GHM_MAX_K ? m->n_k : GHM_MAX_K) : 0; }
static double recall_v(const ghm_metrics *m, int j) { return m->recall[j]; }

static int map_r_on(const ghm_eval_opts *o) { return o->do_map_r; }
static void map_r_set(ghm_eval_opts *o, int on) { o->do_map_r = on; }
static int map_r_n(const ghm_metrics *m) { return m->has_map_r; }
static double map_r_v(const ghm_metrics *m, int j) { return (void)j, m->map_r; }

static int rprec_on(const ghm_eval_opts *o) { return o->do_r_precision; }
static void rprec_set(ghm_eval_opts *o, int on) { o->do_r_precision = on; }
static int rprec_n(const ghm_metrics *m) { return m->has_r_precision; }
static double rprec_v(const ghm_metrics *m, int j) { return (void)j, m->r_precision; }

/* NMI and AMI come from the same clustering: one switch */
static int nmi_on(const ghm_eval_opts *o) { return o->do_nmi; }
static void nmi_set(ghm_eval_opts *o, int on) { o->do_nmi = on; }
static int nmi_n(const ghm_metrics *m) { return m->has_nmi; }
static double nmi_v(const ghm_metrics *m, int j) { return (void)j, m->nmi; }
static double ami_v(const ghm_metrics *m, int j) { return (void)j, m->ami; }

#define L GHM_METRIC_NEEDS_LABELS
#define K GHM_METRIC_NEEDS_K
#define C GHM_METRIC_NEEDS_CLUSTERING
static const ghm_metric_ops registry[] = {
    /* name          key            short    long           higher needs  objective range  undefined */
    {"recall",      "recall@",     "R@",    "Recall@",     1, L | K, 1, 0, 1, 0, recall_on, recall_set, recall_n, recall_v},
    {"map_r",       "map@r",       "MAP@R", "MAP@R",       1, L,     1, 0, 1, 1, map_r_on, map_r_set, map_r_n, map_r_v},
    {"r_precision", "r_precision", "RP",    "R-precision", 1, L,     1, 0, 1, 1, rprec_on, rprec_set, rprec_n, rprec_v},
    {"nmi",         "nmi",         "NMI",   "NMI",         1, C,     1, 0, 1, 0, nmi_on, nmi_set, nmi_n, nmi_v},
    {"ami",         "ami",         "AMI",   "AMI",         1, C,     0, -1, 1, 0, nmi_on, nmi_set, nmi_n, ami_v},
};
#undef L
#undef K
#undef C
#define N_METRICS ((int)(sizeof registry / sizeof registry[0]))

int ghm_metric_count(void) { return N_METRICS; }
const ghm_metric_ops *ghm_metric_at(int i) { return i >= 0 && i < N_METRICS ? &registry[i] : NULL; }

/* "recall@12" against prefix "recall@": 12, else 0 */
static int per_k_suffix(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0 || name[n] < '1' || name[n] > '9') return 0;
    char *end = NULL;
    long k = strtol(name + n, &end, 10);
    return (*end == '\0' && k >= 1 && k <= 1000000) ? (int)k : 0;
}

const ghm_metric_ops *ghm_metric_find(const char *name, int *k)
{
    if (k) *k = 0;
    if (!name) return NULL;
    for (int i = 0; i < N_METRICS; i++) {
        const ghm_metric_ops *m = &registry[i];
        if (m->name && strcmp(m->name, name) == 0) return m;
        if (m->needs & GHM_METRIC_NEEDS_K) {
            int kk = per_k_suffix(name, m->key);
            if (kk) {
                if (k) *k = kk;
                return m;
            }
        } else if (strcmp(m->key, name) == 0)
            return m;
    }
    return NULL;
}

const ghm_metric_ops *ghm_metric_by_key(const char *key)
{
    int k = 0;
    const ghm_metric_ops *mo = ghm_metric_find(key, &k);
    if (!mo) return NULL;
    if (mo->needs & GHM_METRIC_NEEDS_K) return k ? mo : NULL;
    return strcmp(key, mo->key) == 0 ? mo : NULL;
}

void ghm_metric_key(const ghm_metric_ops *mo, const ghm_metrics *m, int j, char out[GHM_METRIC_NAME_MAX])
{
    if (mo->needs & GHM_METRIC_NEEDS_K)
        snprintf(out, GHM_METRIC_NAME_MAX, "%s%d", mo->key, m->ks[j]);
    else
        snprintf(out, GHM_METRIC_NAME_MAX, "%s", mo->key);
}

int ghm_metric_key_computed(const ghm_eval_opts *o, const char *key)
{
    int k = 0;
    const ghm_metric_ops *mo = ghm_metric_by_key(key);
    if (!mo || !mo->enabled(o)) return 0;
    if (!(mo->needs & GHM_METRIC_NEEDS_K)) return 1;
    ghm_metric_find(key, &k);
    for (int i = 0; i < o->n_k && i < GHM_MAX_K; i++)
        if (o->ks[i] == k) return 1;
    return 0;
}

int ghm_metric_keys(const ghm_eval_opts *o, char names[][GHM_METRIC_NAME_MAX], int max)
{
    int c = 0;
    for (int i = 0; i < N_METRICS; i++) {
        const ghm_metric_ops *mo = &registry[i];
        if (!mo->enabled(o)) continue;
        if (mo->needs & GHM_METRIC_NEEDS_K) {
            for (int j = 0; j < o->n_k && j < GHM_MAX_K && c < max; j++)
                snprintf(names[c++], GHM_METRIC_NAME_MAX, "%s%d", mo->key, o->ks[j]);
        } else if (c < max)
            snprintf(names[c++], GHM_METRIC_NAME_MAX, "%s", mo->key);
    }
    return c;
}

int ghm_metrics_list(const ghm_metrics *m, char names[][GHM_METRIC_NAME_MAX], double *values, int max)
{
    int c = 0;
    for (int i = 0; i < N_METRICS; i++) {
        const ghm_metric_ops *mo = &registry[i];
        int n = mo->count(m);
        for (int j = 0; j < n && c < max; j++, c++) {
            if (names) ghm_metric_key(mo, m, j, names[c]);
            if (values) values[c] = mo->value(m, j);
        }
    }
    return c;
}

const char *ghm_metric_label(const char *key, int short_form, char *out, size_t n)
{
    int k = 0;
    const ghm_metric_ops *mo = ghm_metric_by_key(key);
    if (mo) ghm_metric_find(key, &k);
    if (!mo)
        snprintf(out, n, "%s", key);
    else if (mo->needs & GHM_METRIC_NEEDS_K)
        snprintf(out, n, "%s%d", short_form ? mo->short_name : mo->long_name, k);
    else
        snprintf(out, n, "%s", short_form ? mo->short_name : mo->long_name);
    return out;
}
