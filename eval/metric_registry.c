/* The metric registry: one line per metric in GHM_METRIC_LIST, the single place
 * that lists the metrics; each entry (its names, record key, range, needs,
 * run-identity position and compute hook) is defined in its own file,
 * eval/metric_<id>.c. ghm_evaluate (metrics.c) computes the shared inputs the
 * switched-on entries need and calls their compute hooks; the list order is
 * the order of records, summary.csv and `ghm eval --json`.
 *
 * Adding a metric = its file + one line below + its entry in docs/metrics.md. */
#include "eval.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* X(id): the metric's ghm_metric_ops is ghm_metric_<id>, defined in eval/metric_<id>.c
 * (nmi and ami: one clustering, one file). */
#define GHM_METRIC_LIST(X)                                    \
    X(recall)      /* Recall@K */                             \
    X(map_r)       /* MAP@R, Musgrave et al. 2020 */          \
    X(r_precision) /* R-precision */                          \
    X(nmi)         /* NMI of k-means clusters */              \
    X(ami)         /* AMI of the same clustering */

#define GHM_METRIC_DECLARE(id) extern const ghm_metric_ops ghm_metric_##id;
GHM_METRIC_LIST(GHM_METRIC_DECLARE)
#define GHM_METRIC_ENTRY(id) &ghm_metric_##id,
static const ghm_metric_ops *const registry[] = {GHM_METRIC_LIST(GHM_METRIC_ENTRY)};
#define N_METRICS ((int)(sizeof registry / sizeof registry[0]))
_Static_assert(sizeof registry / sizeof registry[0] <= GHM_MAX_METRICS, "raise GHM_MAX_METRICS (eval/eval.h)");
_Static_assert(GHM_MAX_METRICS <= 32, "ghm_eval_opts.metrics has 32 switch bits");

int ghm_metric_count(void) { return N_METRICS; }
const ghm_metric_ops *ghm_metric_at(int i) { return i >= 0 && i < N_METRICS ? registry[i] : NULL; }

int ghm_metric_index(const ghm_metric_ops *mo)
{
    for (int i = 0; i < N_METRICS; i++)
        if (registry[i] == mo) return i;
    return -1;
}

/* the bit of mo's switch: its own position, or that of the entry it shares with */
static int switch_bit(const ghm_metric_ops *mo)
{
    if (mo && mo->shares)
        for (int i = 0; i < N_METRICS; i++)
            if (registry[i]->name && strcmp(registry[i]->name, mo->shares) == 0) return i;
    return ghm_metric_index(mo);
}

int ghm_metric_on(const ghm_eval_opts *o, const ghm_metric_ops *mo)
{
    int b = switch_bit(mo);
    return b >= 0 && ((o->metrics >> b) & 1u);
}

void ghm_metric_switch(ghm_eval_opts *o, const ghm_metric_ops *mo, int on)
{
    int b = switch_bit(mo);
    if (b < 0) return;
    if (on)
        o->metrics |= 1u << b;
    else
        o->metrics &= ~(1u << b);
}

int ghm_metric_n(const ghm_metrics *m, const ghm_metric_ops *mo)
{
    int i = ghm_metric_index(mo);
    if (i < 0) return 0;
    int c = m->count[i];
    return c < 0 ? 0 : c > GHM_MAX_K ? GHM_MAX_K : c;
}

double ghm_metric_v(const ghm_metrics *m, const ghm_metric_ops *mo, int j)
{
    int i = ghm_metric_index(mo);
    return i >= 0 && j >= 0 && j < GHM_MAX_K ? m->v[i][j] : 0.0;
}

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
        const ghm_metric_ops *m = registry[i];
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
    if (!mo || !ghm_metric_on(o, mo)) return 0;
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
        const ghm_metric_ops *mo = registry[i];
        if (!ghm_metric_on(o, mo)) continue;
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
        const ghm_metric_ops *mo = registry[i];
        int n = ghm_metric_n(m, mo);
        for (int j = 0; j < n && c < max; j++, c++) {
            if (names) ghm_metric_key(mo, m, j, names[c]);
            if (values) values[c] = m->v[i][j];
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

int ghm_metrics_value(const ghm_metrics *m, const char *key, double *v)
{
    int k = 0;
    const ghm_metric_ops *mo = ghm_metric_by_key(key);
    if (!mo) return 0;
    int n = ghm_metric_n(m, mo);
    if (!(mo->needs & GHM_METRIC_NEEDS_K)) {
        if (n < 1) return 0;
        if (v) *v = ghm_metric_v(m, mo, 0);
        return 1;
    }
    ghm_metric_find(key, &k);
    for (int j = 0; j < n && j < m->n_k; j++)
        if (m->ks[j] == k) {
            if (v) *v = ghm_metric_v(m, mo, j);
            return 1;
        }
    return 0;
}

const char *ghm_metric_names(const char *sep, char *out, size_t n)
{
    size_t len = 0;
    if (n) out[0] = '\0';
    for (int i = 0; i < N_METRICS && len < n; i++)
        if (registry[i]->name)
            len += (size_t)snprintf(out + len, n - len, "%s%s", len ? sep : "", registry[i]->name);
    return out;
}

const char *ghm_metric_id_text(const ghm_eval_opts *o, char *out, size_t n)
{
    size_t len = 0;
    if (n) out[0] = '\0';
    /* the entries in id_pos order (small list: pick the next position each time) */
    int last = 0;
    for (;;) {
        int best = -1;
        for (int i = 0; i < N_METRICS; i++) {
            int p = registry[i]->id_pos;
            if (p > last && (best < 0 || p < registry[best]->id_pos)) best = i;
        }
        if (best < 0) break;
        last = registry[best]->id_pos;
        if (ghm_metric_on(o, registry[best]) && len < n)
            len += (size_t)snprintf(out + len, n - len, "%s%s", len ? "," : "", registry[best]->name);
    }
    return out;
}
