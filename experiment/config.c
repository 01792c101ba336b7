/* Experiment files: YAML parsing and structural validation (libyaml document
 * API), and the typed setter shared with the planner (experiment/plan.c).
 *
 * The schema is a fixed table of dotted paths (`fields` below): sections
 * (mappings), scalar fields (typed, ranged, sweepable), lists, and a few
 * special top-level keys. Anything not in the table is an unknown key, except
 * under `backbone:` where extra keys are the backbone's own parameters,
 * resolved against its spec once the backbone name is known (plan.c).
 *
 * Every error is GHM_EINPUT "file:line:column: what is wrong" with 1-based
 * positions from libyaml marks. See docs/experiment_format.md.
 */
#include "experiment/config_internal.h"
#include "experiment/settings.h"
#include "experiment/yaml_limits.h"
#include "experiment/plot_formats.h"

#include "../backbones/backbone.h"
#include "../losses/loss.h"

#include <yaml.h>

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


/* ---- the schema ------------------------------------------------------------ */

/* The keys that are not run settings: sections, lists and the special
 * top-level keys. The scalar settings (typed, ranged, sweepable) are the table
 * of experiment/settings.h. */
enum { K_SECTION, K_LIST, K_SPECIAL };

typedef struct field_def {
    const char *path;
    int kind; /* K_* */
} field_def;

#define SEC(p) {p, K_SECTION}
#define LST(p) {p, K_LIST}
#define SPC(p) {p, K_SPECIAL}

static const field_def fields[] = {
    SPC("name"),
    SPC("description"),
    LST("seeds"),
    SEC("dataset"),
    LST("dataset.train_classes"),
    SEC("dataset.limit"),
    SEC("backbone"),
    SEC("train"),
    SEC("train.optimizer"),
    SEC("train.schedule"),
    SEC("eval"),
    LST("eval.recall_at"),
    LST("eval.metrics"),
    SEC("report"),
    LST("report.formats"),
    SPC("losses"),
    SPC("sweep"),
    SPC("search"),
    SPC("protocol"),
    SPC("final"),
    SPC("compare_to"),
    SPC("primary"),
};
#define N_FIELDS ((int)(sizeof fields / sizeof fields[0]))

static const field_def *field_find(const char *path)
{
    for (int i = 0; i < N_FIELDS; i++)
        if (strcmp(fields[i].path, path) == 0) return &fields[i];
    return NULL;
}

int ghm_cfg_is_field(const char *path) { return ghm_setting_find(path) != NULL; }

/* Every setting's path into cands (for "did you mean"); returns the count. */
static int setting_paths(const char **cands, int cap)
{
    int n = 0;
    for (int i = 0; i < ghm_settings_count && n < cap; i++) cands[n++] = ghm_settings[i].path;
    return n;
}

/* ---- errors and small helpers ----------------------------------------------- */

int ghm_cfg_error(ghm_error *err, const ghm_cfg *c, ghm_cfg_mark m, const char *fmt, ...)
{
    if (!err) return GHM_EINPUT;
    char msg[GHM_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ghm_error_set(err, GHM_EINPUT, "%s:%d:%d: %s", c->file, m.line, m.col, msg);
}

/* ---- the typed setter ------------------------------------------------------- */

int ghm_cfg_apply(const ghm_cfg *c, ghm_run_spec *r, ghm_cfg_pending *bb, const char *path, const char *text,
                  ghm_cfg_mark key, ghm_cfg_mark val, double *value, ghm_error *err)
{
    *value = 0;
    const ghm_setting *f = ghm_setting_find(path);
    if (!f) {
        if (strncmp(path, "backbone.", 9) == 0 && strchr(path + 9, '.') == NULL) {
            const char *pname = path + 9;
            int k;
            for (k = 0; k < bb->n; k++)
                if (strcmp(bb->name[k], pname) == 0) break;
            if (k == bb->n) {
                if (bb->n >= GHM_MAX_PARAMS || strlen(pname) >= GHM_PARAM_NAME_MAX)
                    return ghm_cfg_error(err, c, key, "%s: too many backbone parameters or name too long", path);
                bb->n++;
                snprintf(bb->name[k], GHM_PARAM_NAME_MAX, "%s", pname);
            }
            bb->text[k] = text;
            bb->key[k] = key;
            bb->val[k] = val;
            *value = NAN;
            return 0;
        }
        return ghm_cfg_error(err, c, key, "'%s' is not a scalar setting", path);
    }
    char msg[GHM_ERROR_MSG_MAX];
    if (ghm_setting_parse(f, text, r, value, msg, sizeof msg)) return ghm_cfg_error(err, c, val, "%s", msg);
    return 0;
}

/* ---- the YAML walk ---------------------------------------------------------- */

typedef struct walker {
    yaml_document_t *doc;
    ghm_cfg *c;
    ghm_error *err;
} walker;

static ghm_cfg_mark mk(yaml_mark_t m) { return (ghm_cfg_mark){(int)m.line + 1, (int)m.column + 1}; }
static ghm_cfg_mark nmark(const yaml_node_t *n) { return mk(n->start_mark); }

static yaml_node_t *node_at(walker *w, int i) { return yaml_document_get_node(w->doc, i); }

static int is_null(const yaml_node_t *n)
{
    if (!n) return 1;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
    const char *s = (const char *)n->data.scalar.value;
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
           strcmp(s, "NULL") == 0;
}

static const char *scalar_text(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

static const char *kind_name(const yaml_node_t *n)
{
    if (!n) return "nothing";
    switch (n->type) {
    case YAML_SCALAR_NODE: return is_null(n) ? "nothing" : "a single value";
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_MAPPING_NODE: return "a mapping";
    default: return "nothing";
    }
}

static int cfg_err(walker *w, const yaml_node_t *n, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int cfg_err(walker *w, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[GHM_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ghm_cfg_error(w->err, w->c, n ? nmark(n) : w->c->root, "%s", msg);
}

static char *dup_text(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static int add_setting(walker *w, ghm_cfg_setting *arr, int *count, int cap, const char *path, const yaml_node_t *k,
                       const yaml_node_t *v)
{
    if (*count >= cap) return cfg_err(w, k, "%s: too many settings (at most %d)", path, cap);
    ghm_cfg_setting *s = &arr[*count];
    memset(s, 0, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s", path);
    s->key = nmark(k);
    s->val = nmark(v);
    if (!is_null(v)) {
        s->text = dup_text(scalar_text(v));
        if (!s->text) return ghm_error_set(w->err, GHM_ENOMEM, "out of memory reading %s", w->c->file);
    }
    (*count)++;
    return 0;
}

/* Key of pair i of a mapping, checked: a non-empty scalar, no duplicate of an
 * earlier key. */
static int map_key(walker *w, yaml_node_t *map, yaml_node_pair_t *p, const char *where, const char **out)
{
    yaml_node_t *k = node_at(w, p->key);
    if (!k || k->type != YAML_SCALAR_NODE || is_null(k))
        return cfg_err(w, k ? k : map, "%s: keys must be plain names, got %s", where, kind_name(k));
    const char *name = scalar_text(k);
    for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
        yaml_node_t *kq = node_at(w, q->key);
        if (kq && kq->type == YAML_SCALAR_NODE && strcmp(scalar_text(kq), name) == 0) {
            ghm_cfg_mark m = nmark(kq);
            return cfg_err(w, k, "%s: duplicate key '%s' (first given at line %d, column %d)", where, name, m.line,
                           m.col);
        }
    }
    *out = name;
    return 0;
}

static int map_has(walker *w, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE) return 0;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(w, p->key);
        if (k && k->type == YAML_SCALAR_NODE && strcmp(scalar_text(k), key) == 0) return 1;
    }
    return 0;
}

static int check_required(walker *w, yaml_node_t *map, const char *where, const char *const *req)
{
    for (int i = 0; req[i]; i++)
        if (!map_has(w, map, req[i])) {
            if (where[0])
                return cfg_err(w, map, "%s: missing required key '%s'", where, req[i]);
            return cfg_err(w, map, "missing required key '%s'", req[i]);
        }
    return 0;
}

/* Children names of a section, for "did you mean". */
static int children(const char *prefix, const char **out, int cap)
{
    size_t pl = strlen(prefix);
    int n = 0;
    for (int i = 0; i < ghm_settings_count + N_FIELDS && n < cap; i++) {
        const char *p = i < ghm_settings_count ? ghm_settings[i].path : fields[i - ghm_settings_count].path;
        if (pl) {
            if (strncmp(p, prefix, pl) != 0 || p[pl] != '.') continue;
            p += pl + 1;
        }
        if (strchr(p, '.')) continue;
        out[n++] = p;
    }
    return n;
}

static int unknown_key(walker *w, yaml_node_t *k, const char *prefix, const char *name)
{
    const char *cands[64];
    int n = children(prefix, cands, 64);
    char hint[96], list[512];
    ghm_cfg_did_you_mean(name, cands, n, hint, sizeof hint);
    ghm_cfg_join_names(cands, n, list, sizeof list);
    if (prefix[0]) return cfg_err(w, k, "unknown key '%s' in %s%s; known keys: %s", name, prefix, hint, list);
    return cfg_err(w, k, "unknown top-level key '%s'%s; known keys: %s", name, hint, list);
}

/* List of scalars: each item must be a non-null scalar. */
static int seq_check(walker *w, yaml_node_t *v, const char *path, const char *what)
{
    if (!v || v->type != YAML_SEQUENCE_NODE)
        return cfg_err(w, v, "%s: expected a list (each item: %s), got %s", path, what, kind_name(v));
    if (v->data.sequence.items.top == v->data.sequence.items.start)
        return cfg_err(w, v, "%s: the list is empty; expected at least one %s", path, what);
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        yaml_node_t *x = node_at(w, *it);
        if (!x || x->type != YAML_SCALAR_NODE || is_null(x))
            return cfg_err(w, x ? x : v, "%s: expected %s, got %s", path, what, kind_name(x));
    }
    return 0;
}

static int seq_len(const yaml_node_t *v) { return (int)(v->data.sequence.items.top - v->data.sequence.items.start); }

/* Integer list items in [lo, hi], no duplicates. */
static int parse_int_list(walker *w, yaml_node_t *v, const char *path, long lo, long hi, int cap, int *out, int *n_out)
{
    int rc = seq_check(w, v, path, "integer");
    if (rc) return rc;
    if (seq_len(v) > cap) return cfg_err(w, v, "%s: too many values (%d, at most %d)", path, seq_len(v), cap);
    int n = 0;
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        yaml_node_t *x = node_at(w, *it);
        double d;
        if (ghm_cfg_parse_double(scalar_text(x), &d) || d != floor(d))
            return cfg_err(w, x, "%s: expected an integer, got '%s'", path, scalar_text(x));
        if (d < lo || d > hi) return cfg_err(w, x, "%s: %s is out of range [%ld, %ld]", path, scalar_text(x), lo, hi);
        for (int j = 0; j < n; j++)
            if (out[j] == (int)d) return cfg_err(w, x, "%s: duplicate value %s", path, scalar_text(x));
        out[n++] = (int)d;
    }
    *n_out = n;
    return 0;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int parse_list(walker *w, const char *path, yaml_node_t *v)
{
    ghm_cfg *c = w->c;
    if (strcmp(path, "seeds") == 0) {
        int rc = seq_check(w, v, path, "non-negative integer (e.g. seeds: [0, 1, 2])");
        if (rc) return rc;
        c->has_seeds = 1;
        c->seeds_mark = nmark(v);
        if (seq_len(v) > 64) return cfg_err(w, v, "seeds: too many seeds (%d, at most 64)", seq_len(v));
        c->n_seeds = 0;
        for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
            yaml_node_t *x = node_at(w, *it);
            const char *t = scalar_text(x);
            int ok = t[0] != '\0' && strlen(t) <= 20;
            for (const char *p = t; ok && *p; p++) ok = (*p >= '0' && *p <= '9');
            unsigned long long s = 0;
            if (ok) {
                errno = 0;
                s = strtoull(t, NULL, 10);
                ok = errno == 0;
            }
            if (!ok) return cfg_err(w, x, "seeds: expected a non-negative integer, got '%s'", t);
            for (int j = 0; j < c->n_seeds; j++)
                if (c->seeds[j] == (uint64_t)s) return cfg_err(w, x, "seeds: duplicate seed %s", t);
            c->seeds[c->n_seeds++] = (uint64_t)s;
        }
        return 0;
    }
    if (strcmp(path, "report.formats") == 0) {
        int rc = seq_check(w, v, path, "plot format (png | pdf | svg)");
        if (rc) return rc;
        c->report_formats = 0;
        for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
            yaml_node_t *x = node_at(w, *it);
            unsigned f;
            if (ghm_plot_formats_parse(scalar_text(x), &f) < 0 || strchr(scalar_text(x), ','))
                return cfg_err(w, x, "report.formats: unknown format '%s'; expected png | pdf | svg", scalar_text(x));
            c->report_formats |= f;
        }
        if (!c->report_formats) return cfg_err(w, v, "report.formats: expected at least one of png | pdf | svg");
        return 0;
    }
    if (strcmp(path, "dataset.train_classes") == 0) {
        int n = 0;
        int rc = parse_int_list(w, v, path, 0, GHM_MAX_CLASSES - 1, GHM_MAX_CLASSES, c->tmpl.split.train_classes, &n);
        if (rc) return rc;
        c->tmpl.split.n_train_classes = n;
        c->has_train_classes = 1;
        return 0;
    }
    if (strcmp(path, "eval.recall_at") == 0) {
        int n = 0;
        int rc = parse_int_list(w, v, path, 1, 1000000, GHM_MAX_K, c->tmpl.eval.ks, &n);
        if (rc) return rc;
        qsort(c->tmpl.eval.ks, (size_t)n, sizeof(int), cmp_int);
        c->tmpl.eval.n_k = n;
        return 0;
    }
    if (strcmp(path, "eval.metrics") == 0) {
        /* the names come from the metric registry (eval/metric_registry.c); a record key
         * ("map@r") is accepted as well as the file spelling ("map_r") */
        const char *names[32];
        char expected[256];
        size_t used = 0;
        int nn = 0;
        expected[0] = '\0';
        for (int i = 0; i < ghm_metric_count() && nn < 32; i++)
            if (ghm_metric_at(i)->name) {
                names[nn] = ghm_metric_at(i)->name;
                int wr = snprintf(expected + used, sizeof expected - used, "%s%s", nn ? " | " : "", names[nn]);
                if (wr > 0 && (size_t)wr < sizeof expected - used) used += (size_t)wr;
                nn++;
            }
        char what[300];
        snprintf(what, sizeof what, "metric name (%s)", expected);
        int rc = seq_check(w, v, path, what);
        if (rc) return rc;
        const ghm_metric_ops *seen[32];
        int n_seen = 0;
        for (int i = 0; i < ghm_metric_count(); i++) ghm_metric_switch(&c->tmpl.eval, ghm_metric_at(i), 0);
        for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
            yaml_node_t *x = node_at(w, *it);
            const char *t = scalar_text(x);
            int k = 0;
            const ghm_metric_ops *mo = ghm_metric_find(t, &k);
            if (!mo || k) {
                char hint[96];
                return cfg_err(w, x, "eval.metrics: unknown metric '%s'%s; expected %s", t,
                               ghm_cfg_did_you_mean(t, names, nn, hint, sizeof hint), expected);
            }
            for (int j = 0; j < n_seen; j++)
                if (seen[j] == mo) return cfg_err(w, x, "eval.metrics: duplicate metric '%s'", t);
            if (n_seen < 32) seen[n_seen++] = mo;
            ghm_metric_switch(&c->tmpl.eval, mo, 1);
        }
        return 0;
    }
    return cfg_err(w, v, "%s: internal error: unhandled list", path);
}

/* Sweep values: a non-empty list of distinct scalars. */
static int parse_sweep_values(walker *w, yaml_node_t *k, yaml_node_t *v, const char *where, ghm_cfg_sweep *s)
{
    const char *path = scalar_text(k);
    if (!v || v->type != YAML_SEQUENCE_NODE)
        return cfg_err(w, v ? v : k, "%s: sweep over '%s' needs a list of values, e.g. [0.1, 0.5], got %s", where, path,
                       kind_name(v));
    int n = seq_len(v);
    if (n == 0) return cfg_err(w, v, "%s: sweep over '%s' has an empty list of values", where, path);
    memset(s, 0, sizeof *s);
    snprintf(s->path, sizeof s->path, "%s", path);
    s->key = nmark(k);
    s->text = calloc((size_t)n, sizeof(char *));
    s->marks = calloc((size_t)n, sizeof(ghm_cfg_mark));
    if (!s->text || !s->marks) return ghm_error_set(w->err, GHM_ENOMEM, "out of memory reading %s", w->c->file);
    for (int i = 0; i < n; i++) {
        yaml_node_t *x = node_at(w, v->data.sequence.items.start[i]);
        if (!x || x->type != YAML_SCALAR_NODE || is_null(x))
            return cfg_err(w, x ? x : v, "%s: sweep values of '%s' must be single values, got %s", where, path,
                           kind_name(x));
        for (int j = 0; j < i; j++)
            if (strcmp(s->text[j], scalar_text(x)) == 0)
                return cfg_err(w, x, "%s: duplicate value '%s' in the sweep over '%s'", where, scalar_text(x), path);
        s->text[i] = dup_text(scalar_text(x));
        if (!s->text[i]) return ghm_error_set(w->err, GHM_ENOMEM, "out of memory reading %s", w->c->file);
        s->marks[i] = nmark(x);
        s->n = i + 1;
    }
    return 0;
}

static int parse_top_sweep(walker *w, yaml_node_t *v)
{
    ghm_cfg *c = w->c;
    if (is_null(v)) return 0;
    if (v->type != YAML_MAPPING_NODE)
        return cfg_err(w, v, "sweep: expected a mapping of dotted paths to lists, e.g. {train.optimizer.lr: [0.001, 0.0003]}, got %s",
                       kind_name(v));
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        const char *path;
        int rc = map_key(w, v, p, "sweep", &path);
        if (rc) return rc;
        yaml_node_t *k = node_at(w, p->key);
        const field_def *f = field_find(path);
        if (strlen(path) >= GHM_CFG_PATH_MAX) return cfg_err(w, k, "sweep: path '%s' is too long", path);
        if (f) {
            if (strcmp(path, "seeds") == 0)
                return cfg_err(w, k, "sweep: 'seeds' cannot be swept; list the seeds under the top-level key 'seeds'");
            return cfg_err(w, k, "sweep: '%s' is not a scalar key, so it cannot be swept", path);
        }
        if (!ghm_setting_find(path)) {
            if (strncmp(path, "losses", 6) == 0 || strncmp(path, "loss.", 5) == 0)
                return cfg_err(w, k, "sweep: '%s': sweep loss parameters with a `sweep:` inside the loss entry", path);
            /* backbone.<param>: the backbone's own parameters, checked when resolved */
            int bb = strncmp(path, "backbone.", 9) == 0 && path[9] && !strchr(path + 9, '.');
            if (!bb) {
                const char *cands[64];
                int n = setting_paths(cands, 64);
                char hint[96];
                return cfg_err(w, k, "sweep: unknown setting '%s'%s; sweep keys are dotted paths of scalar keys such as train.optimizer.lr",
                               path, ghm_cfg_did_you_mean(path, cands, n, hint, sizeof hint));
            }
        }
        int most = 0; /* loss entries parsed so far count too */
        for (int l = 0; l < c->n_losses; l++)
            if (c->losses[l].n_sweeps > most) most = c->losses[l].n_sweeps;
        if (c->n_sweeps + most >= GHM_MAX_SWEPT)
            return cfg_err(w, k, "sweep: too many swept keys (at most %d per run, loss sweeps included)", GHM_MAX_SWEPT);
        rc = parse_sweep_values(w, k, node_at(w, p->value), "sweep", &c->sweeps[c->n_sweeps]);
        c->n_sweeps++; /* counted even on error so ghm_cfg_free releases it */
        if (rc) return rc;
    }
    return 0;
}


/* ---- the fair protocol: search:, protocol:, final:, compare_to: ------------ */

static int search_alloc(walker *w)
{
    if (w->c->search) return 0;
    w->c->search = calloc(1, sizeof *w->c->search);
    if (!w->c->search) return ghm_error_set(w->err, GHM_ENOMEM, "out of memory reading %s", w->c->file);
    ghm_search_config *s = &w->c->search->conf;
    s->method = GHM_SEARCH_TPE;
    s->trials = 20;
    snprintf(s->objective, sizeof s->objective, "map@r");
    s->seed = 0;
    s->batch = 4;
    s->folds = 4;
    s->reproductions = 3;
    return 0;
}

/* An integer scalar in [lo, hi]. */
static int scalar_int(walker *w, yaml_node_t *v, const char *path, long lo, long hi, long *out)
{
    double d;
    if (!v || v->type != YAML_SCALAR_NODE || is_null(v))
        return cfg_err(w, v, "%s: expected an integer, got %s", path, kind_name(v));
    if (ghm_cfg_parse_double(scalar_text(v), &d) || d != floor(d))
        return cfg_err(w, v, "%s: expected an integer, got '%s'", path, scalar_text(v));
    if (d < lo || d > hi) return cfg_err(w, v, "%s = %s is out of range [%ld, %ld]", path, scalar_text(v), lo, hi);
    *out = (long)d;
    return 0;
}

static int search_block_map(walker *w, yaml_node_t *v, const char *what)
{
    if (!v || v->type != YAML_MAPPING_NODE) return cfg_err(w, v, "%s: expected a mapping, got %s", what, kind_name(v));
    return 0;
}

static const char *const search_methods[] = {"random", "tpe", "tpe_v1", NULL};

/* The search objectives: the record key of every metric of the registry marked as one
 * (per-K metrics at K = 1); the file spelling ("map_r") is accepted and stored as the key. */
static int search_objective_names(char keys[][GHM_METRIC_NAME_MAX], const char **names, int max)
{
    int n = 0;
    for (int i = 0; i < ghm_metric_count() && n < max - 1; i++) {
        const ghm_metric_ops *mo = ghm_metric_at(i);
        if (!mo->objective) continue;
        snprintf(keys[n], GHM_METRIC_NAME_MAX, "%s%s", mo->key, (mo->needs & GHM_METRIC_NEEDS_K) ? "1" : "");
        names[n] = keys[n];
        n++;
    }
    names[n] = NULL;
    return n;
}

/* search.halving: {eta, min_fraction} (successive halving, search/search.h) */
static int parse_halving_block(walker *w, yaml_node_t *v)
{
    static const char *const keys[] = {"eta", "min_fraction", NULL};
    int rc = search_block_map(w, v, "search.halving");
    if (rc) return rc;
    ghm_cfg_search *S = w->c->search;
    ghm_search_config *s = &S->conf;
    s->halving = 1;
    s->eta = 3;
    s->min_fraction = 1.0 / 9.0;
    S->m_halving = nmark(v);
    S->m_min_fraction = nmark(v);
    char hint[96];
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        const char *key;
        if ((rc = map_key(w, v, p, "search.halving", &key))) return rc;
        yaml_node_t *k = node_at(w, p->key), *x = node_at(w, p->value);
        if (strcmp(key, "eta") == 0) {
            long n;
            if ((rc = scalar_int(w, x, "search.halving.eta", 2, 100, &n))) return rc;
            s->eta = (int)n;
        } else if (strcmp(key, "min_fraction") == 0) {
            double d;
            if (!x || x->type != YAML_SCALAR_NODE || is_null(x))
                return cfg_err(w, x ? x : k, "search.halving.min_fraction: expected a number, got %s", kind_name(x));
            if (ghm_cfg_parse_double(scalar_text(x), &d) || !isfinite(d))
                return cfg_err(w, x, "search.halving.min_fraction: expected a number, got '%s'", scalar_text(x));
            if (!(d > 0 && d <= 1))
                return cfg_err(w, x,
                               "search.halving.min_fraction = %s is out of range (0, 1]: it is the first rung's "
                               "fraction of the full training length",
                               scalar_text(x));
            s->min_fraction = d;
            S->m_min_fraction = nmark(x);
        } else {
            return cfg_err(w, k, "search.halving: unknown key '%s'%s; expected eta or min_fraction", key,
                           ghm_cfg_did_you_mean(key, keys, 2, hint, sizeof hint));
        }
    }
    return 0;
}

static int parse_search_block(walker *w, yaml_node_t *v)
{
    static const char *const keys[] = {"method", "trials", "objective", "seed", "batch", "halving", NULL};
    int rc = search_block_map(w, v, "search");
    if (!rc) rc = search_alloc(w);
    if (rc) return rc;
    ghm_cfg_search *S = w->c->search;
    ghm_search_config *s = &S->conf;
    S->present = 1;
    S->mark = nmark(v);
    char hint[96];
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        const char *key;
        if ((rc = map_key(w, v, p, "search", &key))) return rc;
        yaml_node_t *k = node_at(w, p->key), *x = node_at(w, p->value);
        long n;
        if (strcmp(key, "method") == 0 || strcmp(key, "objective") == 0) {
            int is_m = key[0] == 'm';
            char okeys[16][GHM_METRIC_NAME_MAX];
            const char *onames[16];
            int n_obj = search_objective_names(okeys, onames, 16);
            const char *const *names = is_m ? search_methods : onames;
            if (!x || x->type != YAML_SCALAR_NODE || is_null(x))
                return cfg_err(w, x ? x : k, "search.%s: expected a name, got %s", key, kind_name(x));
            const char *t = scalar_text(x);
            if (!is_m) { /* the file spelling of a metric ("map_r") names its record key */
                int kk = 0;
                const ghm_metric_ops *mo = ghm_metric_find(t, &kk);
                if (mo && mo->name && strcmp(t, mo->name) == 0 && !(mo->needs & GHM_METRIC_NEEDS_K)) t = mo->key;
            }
            int i;
            for (i = 0; names[i]; i++)
                if (strcmp(names[i], t) == 0) break;
            if (!names[i]) {
                char list[256];
                ghm_cfg_join_names(names, is_m ? 3 : n_obj, list, sizeof list);
                return cfg_err(w, x, "search.%s: unknown value '%s'%s; expected one of %s", key, t,
                               ghm_cfg_did_you_mean(t, names, is_m ? 3 : n_obj, hint, sizeof hint), list);
            }
            if (is_m)
                s->method = i;
            else {
                snprintf(s->objective, sizeof s->objective, "%s", t);
                S->m_objective = nmark(x);
            }
        } else if (strcmp(key, "trials") == 0) {
            if ((rc = scalar_int(w, x, "search.trials", 1, 10000, &n))) return rc;
            s->trials = (int)n;
            S->m_trials = nmark(x);
        } else if (strcmp(key, "batch") == 0) {
            if ((rc = scalar_int(w, x, "search.batch", 1, 10000, &n))) return rc;
            s->batch = (int)n;
        } else if (strcmp(key, "seed") == 0) {
            if ((rc = scalar_int(w, x, "search.seed", 0, 1000000000L, &n))) return rc;
            s->seed = (uint64_t)n;
        } else if (strcmp(key, "halving") == 0) {
            if ((rc = parse_halving_block(w, x))) return rc;
        } else {
            return cfg_err(w, k, "unknown key '%s' in search%s; known keys: method | trials | objective | seed | batch | halving",
                           key, ghm_cfg_did_you_mean(key, keys, 6, hint, sizeof hint));
        }
    }
    return 0;
}

static int parse_protocol_block(walker *w, yaml_node_t *v)
{
    int rc = search_block_map(w, v, "protocol");
    if (!rc) rc = search_alloc(w);
    if (rc) return rc;
    ghm_cfg_search *S = w->c->search;
    S->has_protocol = 1;
    S->m_protocol = nmark(v);
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        const char *key;
        if ((rc = map_key(w, v, p, "protocol", &key))) return rc;
        yaml_node_t *k = node_at(w, p->key), *x = node_at(w, p->value);
        if (strcmp(key, "folds") != 0) return cfg_err(w, k, "unknown key '%s' in protocol; known keys: folds", key);
        long n;
        if ((rc = scalar_int(w, x, "protocol.folds", 1, 100, &n))) return rc;
        S->conf.folds = (int)n;
        S->has_folds = 1;
        S->m_folds = nmark(x);
    }
    return 0;
}

static int parse_final_block(walker *w, yaml_node_t *v)
{
    int rc = search_block_map(w, v, "final");
    if (!rc) rc = search_alloc(w);
    if (rc) return rc;
    ghm_cfg_search *S = w->c->search;
    S->has_final = 1;
    S->m_final = nmark(v);
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        const char *key;
        if ((rc = map_key(w, v, p, "final", &key))) return rc;
        yaml_node_t *k = node_at(w, p->key), *x = node_at(w, p->value);
        if (strcmp(key, "reproductions") != 0)
            return cfg_err(w, k, "unknown key '%s' in final; known keys: reproductions", key);
        long n;
        if ((rc = scalar_int(w, x, "final.reproductions", 1, 64, &n))) return rc;
        S->conf.reproductions = (int)n;
        S->has_reps = 1;
        S->m_reps = nmark(x);
    }
    return 0;
}

static int parse_compare_to(walker *w, yaml_node_t *v)
{
    int rc = search_alloc(w);
    if (rc) return rc;
    if (!v || v->type != YAML_SCALAR_NODE || is_null(v))
        return cfg_err(w, v, "compare_to: expected a loss name, got %s", kind_name(v));
    ghm_cfg_search *S = w->c->search;
    if (strlen(scalar_text(v)) >= sizeof S->conf.compare_to)
        return cfg_err(w, v, "compare_to: '%s' is too long", scalar_text(v));
    snprintf(S->conf.compare_to, sizeof S->conf.compare_to, "%s", scalar_text(v));
    S->has_compare = 1;
    S->m_compare = nmark(v);
    return 0;
}

/* primary: [{loss: L, against: M | best_other, metric: X, evaluation: separate | concatenated}, ...]:
 * the confirmatory comparisons (Holm over this family in paired.csv). Names
 * are checked against the losses and the evaluation in ghm_cfg_primary_check,
 * once the whole file is read. */
static int parse_primary(walker *w, yaml_node_t *v)
{
    static const char *const keys[] = {"loss", "against", "metric", "evaluation", NULL};
    static const char *const evals[] = {"separate", "concatenated", NULL};
    int rc = search_alloc(w);
    if (rc) return rc;
    ghm_cfg_search *S = w->c->search;
    ghm_search_config *s = &S->conf;
    char hint[96];
    if (!v || v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.start == v->data.sequence.items.top)
        return cfg_err(w, v,
                       "primary: expected a non-empty list of comparisons {loss: L, against: M, metric: map@r, "
                       "evaluation: separate}, got %s",
                       kind_name(v));
    S->has_primary = 1;
    S->m_primary = nmark(v);
    s->n_primary = 0;
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top; it++) {
        yaml_node_t *x = node_at(w, *it);
        if (!x || x->type != YAML_MAPPING_NODE)
            return cfg_err(w, x ? x : v,
                           "primary: each comparison is a mapping {loss, against, metric, evaluation}, got %s",
                           kind_name(x));
        if (s->n_primary >= GHM_MAX_PRIMARY)
            return cfg_err(w, x, "primary: more than %d comparisons; a confirmatory family should be small",
                           GHM_MAX_PRIMARY);
        int i = s->n_primary;
        ghm_primary *P = &s->primary[i];
        memset(P, 0, sizeof *P);
        int seen = 0;
        for (yaml_node_pair_t *p = x->data.mapping.pairs.start; p < x->data.mapping.pairs.top; p++) {
            const char *key;
            if ((rc = map_key(w, x, p, "primary", &key))) return rc;
            yaml_node_t *k = node_at(w, p->key), *y = node_at(w, p->value);
            int ki;
            for (ki = 0; keys[ki]; ki++)
                if (strcmp(keys[ki], key) == 0) break;
            if (!keys[ki])
                return cfg_err(w, k, "unknown key '%s' in primary%s; known keys: loss | against | metric | evaluation",
                               key, ghm_cfg_did_you_mean(key, keys, 4, hint, sizeof hint));
            if (!y || y->type != YAML_SCALAR_NODE || is_null(y))
                return cfg_err(w, y ? y : k, "primary: %s: expected a name, got %s", key, kind_name(y));
            const char *t = scalar_text(y);
            seen |= 1 << ki;
            if (ki == 3) {
                int e;
                for (e = 0; evals[e]; e++)
                    if (strcmp(evals[e], t) == 0) break;
                if (!evals[e])
                    return cfg_err(w, y,
                                   "primary: evaluation: unknown value '%s'%s; expected one of separate, concatenated",
                                   t, ghm_cfg_did_you_mean(t, evals, 2, hint, sizeof hint));
                P->concat = e;
                continue;
            }
            char *dst = ki == 0 ? P->loss : ki == 1 ? P->against : P->metric;
            size_t cap = ki == 2 ? sizeof P->metric : sizeof P->loss;
            if (strlen(t) >= cap) return cfg_err(w, y, "primary: %s: '%s' is too long", key, t);
            memcpy(dst, t, strlen(t) + 1);
            if (ki == 0) S->pm_loss[i] = nmark(y);
            if (ki == 1) S->pm_against[i] = nmark(y);
            if (ki == 2) S->pm_metric[i] = nmark(y);
        }
        for (int ki = 0; ki < 4; ki++)
            if (!(seen & (1 << ki)))
                return cfg_err(w, x, "primary: comparison %d has no '%s' (each needs loss, against, metric and "
                                     "evaluation)",
                               i + 1, keys[ki]);
        s->n_primary++;
    }
    return 0;
}

/* The names of primary: against the whole file (losses, evaluation metrics). */
int ghm_cfg_primary_check(const ghm_cfg *c, ghm_error *err)
{
    const ghm_cfg_search *S = c->search;
    if (!S || !S->has_primary) return 0;
    const ghm_search_config *s = &S->conf;
    const ghm_eval_opts *eo = &c->tmpl.eval;
    const char *names[GHM_CFG_MAX_LOSSES];
    for (int l = 0; l < c->n_losses; l++) names[l] = c->losses[l].name;
    for (int i = 0; i < s->n_primary; i++) {
        const ghm_primary *P = &s->primary[i];
        for (int side = 0; side < 2; side++) {
            const char *n = side ? P->against : P->loss;
            ghm_cfg_mark m = side ? S->pm_against[i] : S->pm_loss[i];
            if (side && strcmp(n, "best_other") == 0) continue;
            int found = 0;
            for (int l = 0; l < c->n_losses; l++) found += strcmp(names[l], n) == 0;
            if (!found) {
                const char *close = ghm_closest_name(n, names, c->n_losses);
                return ghm_cfg_error(err, c, m, "primary: %s: '%s' is not a loss of this file%s%s%s%s",
                                     side ? "against" : "loss", n, close ? " (did you mean '" : "", close ? close : "",
                                     close ? "'?)" : "",
                                     side ? "; or best_other: the best other loss on validation" : "");
            }
            if (found > 1)
                return ghm_cfg_error(err, c, m, "primary: loss '%s' has %d entries in this file; a comparison needs "
                                                "a loss with one entry",
                                     n, found);
        }
        if (strcmp(P->loss, P->against) == 0)
            return ghm_cfg_error(err, c, S->pm_against[i], "primary: compares '%s' with itself", P->loss);
        const char *mt = P->metric;
        if (!ghm_metric_key_computed(eo, mt)) {
            char keys[GHM_MAX_K + GHM_MAX_METRICS][GHM_METRIC_NAME_MAX], list[512];
            int nk = ghm_metric_keys(eo, keys, GHM_MAX_K + GHM_MAX_METRICS);
            size_t len = 0;
            list[0] = '\0';
            for (int j = 0; j < nk && len < sizeof list; j++)
                len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", j ? ", " : "", keys[j]);
            return ghm_cfg_error(err, c, S->pm_metric[i],
                                 "primary: metric '%s' is not a test metric of this file (eval.recall_at and "
                                 "eval.metrics compute: %s)",
                                 mt, list);
        }
        for (int j = 0; j < i; j++) {
            const ghm_primary *Q = &s->primary[j];
            if (!strcmp(Q->loss, P->loss) && !strcmp(Q->against, P->against) && !strcmp(Q->metric, P->metric) &&
                Q->concat == P->concat)
                return ghm_cfg_error(err, c, S->pm_loss[i], "primary: comparison %d repeats comparison %d", i + 1,
                                     j + 1);
        }
    }
    return 0;
}

/* A number in a search range (min/max). */
static int search_number(walker *w, yaml_node_t *x, const char *where, const char *key, double *out)
{
    if (!x || x->type != YAML_SCALAR_NODE || is_null(x) || ghm_cfg_parse_double(scalar_text(x), out))
        return cfg_err(w, x, "%s: %s: expected a number, got %s%s%s", where, key,
                       x && x->type == YAML_SCALAR_NODE && !is_null(x) ? "'" : "",
                       x && x->type == YAML_SCALAR_NODE && !is_null(x) ? scalar_text(x) : kind_name(x),
                       x && x->type == YAML_SCALAR_NODE && !is_null(x) ? "'" : "");
    return 0;
}

/* One dimension: {min, max[, log][, int]} or {choices: [...]}. */
static int parse_search_dim(walker *w, yaml_node_t *k, yaml_node_t *v, const char *where, ghm_search_dim *d,
                            ghm_cfg_dim_marks *dm)
{
    static const char *const keys[] = {"min", "max", "log", "int", "choices", NULL};
    const char *path = scalar_text(k);
    char hint[96];
    memset(d, 0, sizeof *d);
    memset(dm, 0, sizeof *dm);
    snprintf(d->path, sizeof d->path, "%s", path);
    dm->key = nmark(k);
    if (!v || v->type != YAML_MAPPING_NODE)
        return cfg_err(w, v ? v : k,
                       "%s: '%s' needs a range {min: A, max: B} (optional log: true, int: true) or {choices: [...]}, got %s",
                       where, path, kind_name(v));
    int has_min = 0, has_max = 0, has_choices = 0, rc;
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        const char *key;
        if ((rc = map_key(w, v, p, where, &key))) return rc;
        yaml_node_t *kk = node_at(w, p->key), *x = node_at(w, p->value);
        if (strcmp(key, "min") == 0) {
            if ((rc = search_number(w, x, where, "min", &d->lo))) return rc;
            has_min = 1;
            dm->lo = nmark(x);
        } else if (strcmp(key, "max") == 0) {
            if ((rc = search_number(w, x, where, "max", &d->hi))) return rc;
            has_max = 1;
            dm->hi = nmark(x);
        } else if (strcmp(key, "log") == 0 || strcmp(key, "int") == 0) {
            int b;
            if (!x || x->type != YAML_SCALAR_NODE || is_null(x) || ghm_cfg_parse_bool(scalar_text(x), &b))
                return cfg_err(w, x ? x : kk, "%s: %s of '%s': expected true or false", where, key, path);
            if (key[0] == 'l')
                d->log = b;
            else
                d->is_int = b;
        } else if (strcmp(key, "choices") == 0) {
            if ((rc = seq_check(w, x, "choices", "value"))) return rc;
            int n = seq_len(x);
            if (n > GHM_SEARCH_MAX_CHOICES)
                return cfg_err(w, x, "%s: '%s' has %d choices, at most %d", where, path, n, GHM_SEARCH_MAX_CHOICES);
            for (int i = 0; i < n; i++) {
                yaml_node_t *it = node_at(w, x->data.sequence.items.start[i]);
                const char *t = scalar_text(it);
                if (strlen(t) >= GHM_NAME_MAX) return cfg_err(w, it, "%s: choice '%s' is too long", where, t);
                for (int j = 0; j < i; j++)
                    if (strcmp(d->choices[j], t) == 0) return cfg_err(w, it, "%s: duplicate choice '%s'", where, t);
                snprintf(d->choices[i], GHM_NAME_MAX, "%s", t);
                dm->choice[i] = nmark(it);
            }
            d->n_choices = n;
            has_choices = 1;
        } else {
            return cfg_err(w, kk, "%s: unknown key '%s' in the range of '%s'%s; known keys: min | max | log | int | choices",
                           where, key, path, ghm_cfg_did_you_mean(key, keys, 5, hint, sizeof hint));
        }
    }
    if (has_choices) {
        if (has_min || has_max || d->log || d->is_int)
            return cfg_err(w, v, "%s: '%s' gives both choices and a range; use one of them", where, path);
        d->kind = GHM_DIM_CHOICES;
        return 0;
    }
    d->kind = GHM_DIM_RANGE;
    if (!has_min || !has_max)
        return cfg_err(w, v, "%s: the range of '%s' needs both min and max (or choices: [...])", where, path);
    if (d->lo > d->hi) return ghm_cfg_error(w->err, w->c, dm->lo, "%s: '%s' has min %g > max %g", where, path, d->lo, d->hi);
    if (d->log && d->lo <= 0)
        return ghm_cfg_error(w->err, w->c, dm->lo, "%s: '%s' is searched on a log scale, so min must be > 0 (got %g)", where, path, d->lo);
    if (d->is_int && (d->lo != floor(d->lo) || d->hi != floor(d->hi)))
        return cfg_err(w, v, "%s: '%s' is an integer range, so min and max must be integers", where, path);
    return 0;
}

/* A loss entry's search: map. ops: the loss (for its parameter names). */
static int parse_loss_space(walker *w, yaml_node_t *x, int l, const ghm_cfg_loss *L, const ghm_loss_ops *ops)
{
    int rc = search_alloc(w);
    if (rc) return rc;
    ghm_cfg_search *S = w->c->search;
    ghm_search_space *sp = &S->conf.space[l];
    char where[96], hint[96];
    snprintf(where, sizeof where, "loss '%s' search", L->name);
    S->loss_has_space[l] = 1;
    S->loss_space_mark[l] = nmark(x);
    for (yaml_node_pair_t *q = x->data.mapping.pairs.start; q < x->data.mapping.pairs.top; q++) {
        const char *pn;
        if ((rc = map_key(w, x, q, where, &pn))) return rc;
        yaml_node_t *pk = node_at(w, q->key), *pv = node_at(w, q->value);
        int ok = ghm_param_spec_find(ops->params, pn) != NULL || ghm_cfg_is_field(pn) ||
                 (strncmp(pn, "backbone.", 9) == 0 && !strchr(pn + 9, '.') && pn[9]);
        if (!ok) {
            const char *cands[GHM_MAX_PARAMS + 64];
            int n = 0;
            for (int i = 0; ops->params && ops->params[i].name && n < GHM_MAX_PARAMS; i++) cands[n++] = ops->params[i].name;
            n += setting_paths(cands + n, 64);
            return cfg_err(w, pk,
                           "%s: unknown key '%s'%s; search keys are parameters of loss '%s' or dotted keys of the file "
                           "such as train.optimizer.lr",
                           where, pn, ghm_cfg_did_you_mean(pn, cands, n, hint, sizeof hint), L->name);
        }
        if (strcmp(pn, "dataset.name") == 0 || strcmp(pn, "backbone.name") == 0 || strcmp(pn, "dataset.split") == 0 ||
            strcmp(pn, "dataset.path") == 0)
            return cfg_err(w, pk, "%s: '%s' cannot be searched (it changes the task, not a hyper-parameter)", where, pn);
        if (sp->n >= GHM_SEARCH_MAX_DIMS)
            return cfg_err(w, pk, "%s: too many searched keys (at most %d)", where, GHM_SEARCH_MAX_DIMS);
        rc = parse_search_dim(w, pk, pv, where, &sp->dims[sp->n], &S->dm[l][sp->n]);
        if (rc) return rc;
        sp->n++;
    }
    if (sp->n == 0) return cfg_err(w, x, "%s: the search space is empty; remove it to run the defaults once", where);
    return 0;
}

static int parse_loss(walker *w, yaml_node_t *v, ghm_cfg_loss *L, int l)
{
    static const char *const keys[] = {"name", "params", "sweep", "search", "search_seed", NULL};
    static const char *const req[] = {"name", NULL};
    char hint[96];
    memset(L, 0, sizeof *L);
    if (!v || v->type != YAML_MAPPING_NODE)
        return cfg_err(w, v, "losses: each entry must be a mapping such as {name: triplet, params: {margin: 0.2}}, got %s",
                       kind_name(v));
    L->mark = nmark(v);
    int rc = check_required(w, v, "losses entry", req);
    if (rc) return rc;
    /* the name first, so params and sweeps are checked against its spec */
    const ghm_loss_ops *ops = NULL;
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        const char *key;
        rc = map_key(w, v, p, "losses entry", &key);
        if (rc) return rc;
        if (strcmp(key, "name") != 0) continue;
        yaml_node_t *x = node_at(w, p->value);
        if (!x || x->type != YAML_SCALAR_NODE || is_null(x))
            return cfg_err(w, x ? x : v, "losses: name: expected a loss name, got %s", kind_name(x));
        const char *name = scalar_text(x);
        ops = ghm_loss_find(name);
        if (!ops) {
            const char *names[64];
            int n = ghm_loss_count();
            if (n > 64) n = 64;
            for (int i = 0; i < n; i++) names[i] = ghm_loss_at(i)->name;
            char list[1024];
            ghm_cfg_join_names(names, n, list, sizeof list);
            return cfg_err(w, x, "losses: unknown loss '%s'%s; available: %s", name,
                           ghm_cfg_did_you_mean(name, names, n, hint, sizeof hint), list);
        }
        snprintf(L->name, sizeof L->name, "%s", ops->name);
        L->name_mark = nmark(x);
    }
    const char *pnames[GHM_MAX_PARAMS + 1];
    int np = ghm_param_spec_count(ops->params);
    if (np > GHM_MAX_PARAMS) np = GHM_MAX_PARAMS;
    for (int i = 0; i < np; i++) pnames[i] = ops->params[i].name;
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *k = node_at(w, p->key), *x = node_at(w, p->value);
        const char *key = scalar_text(k);
        if (strcmp(key, "name") == 0) continue;
        int is_params = strcmp(key, "params") == 0, is_sweep = strcmp(key, "sweep") == 0;
        int is_search = strcmp(key, "search") == 0;
        if (strcmp(key, "search_seed") == 0) {
            long n;
            char what[64];
            snprintf(what, sizeof what, "loss '%s' search_seed", L->name);
            if ((rc = scalar_int(w, x, what, 0, 1000000000L, &n))) return rc;
            if ((rc = search_alloc(w))) return rc;
            ghm_cfg_search *S = w->c->search;
            S->conf.space[l].has_seed = 1;
            S->conf.space[l].seed = (uint64_t)n;
            S->loss_seed_mark[l] = nmark(x);
            continue;
        }
        if (!is_params && !is_sweep && !is_search)
            return cfg_err(w, k,
                           "unknown key '%s' in a losses entry%s; known keys: name | params | sweep | search | search_seed",
                           key, ghm_cfg_did_you_mean(key, keys, 5, hint, sizeof hint));
        if (is_null(x)) continue;
        if (x->type != YAML_MAPPING_NODE)
            return cfg_err(w, x, "losses: %s of loss '%s': expected a mapping, got %s", key, L->name, kind_name(x));
        if (is_search) {
            rc = parse_loss_space(w, x, l, L, ops);
            if (rc) return rc;
            continue;
        }
        char where[96];
        snprintf(where, sizeof where, "loss '%s' %s", L->name, key);
        for (yaml_node_pair_t *q = x->data.mapping.pairs.start; q < x->data.mapping.pairs.top; q++) {
            const char *pn;
            rc = map_key(w, x, q, where, &pn);
            if (rc) return rc;
            yaml_node_t *pk = node_at(w, q->key), *pv = node_at(w, q->value);
            if (!ghm_param_spec_find(ops->params, pn)) {
                if (np == 0)
                    return cfg_err(w, pk, "%s: %sunknown parameter '%s' (loss '%s' takes no parameters)", where,
                                   is_sweep ? "sweep over " : "", pn, L->name);
                char list[512];
                ghm_cfg_join_names(pnames, np, list, sizeof list);
                return cfg_err(w, pk, "%s: %sunknown parameter '%s'%s; parameters of '%s': %s", where,
                               is_sweep ? "sweep over " : "", pn, ghm_cfg_did_you_mean(pn, pnames, np, hint, sizeof hint),
                               L->name, list);
            }
            if (is_params) {
                if (!pv || pv->type != YAML_SCALAR_NODE || is_null(pv))
                    return cfg_err(w, pv ? pv : pk, "%s: parameter '%s' expects a single value, got %s", where, pn,
                                   kind_name(pv));
                rc = add_setting(w, L->params, &L->n_params, GHM_MAX_PARAMS, pn, pk, pv);
                if (rc) return rc;
            } else {
                if (L->n_sweeps + w->c->n_sweeps >= GHM_MAX_SWEPT)
                    return cfg_err(w, pk, "%s: too many swept keys (at most %d per run, top-level sweep included)",
                                   where, GHM_MAX_SWEPT);
                rc = parse_sweep_values(w, pk, pv, where, &L->sweeps[L->n_sweeps]);
                L->n_sweeps++;
                if (rc) return rc;
            }
        }
    }
    return 0;
}

static int parse_losses(walker *w, yaml_node_t *v)
{
    ghm_cfg *c = w->c;
    if (!v || v->type != YAML_SEQUENCE_NODE)
        return cfg_err(w, v, "losses: expected a list of loss entries (- name: ...), got %s", kind_name(v));
    int n = seq_len(v);
    if (n == 0) return cfg_err(w, v, "losses: the list is empty; give at least one loss");
    if (n > GHM_CFG_MAX_LOSSES) return cfg_err(w, v, "losses: too many entries (%d, at most %d)", n, GHM_CFG_MAX_LOSSES);
    for (int i = 0; i < n; i++) {
        int rc = parse_loss(w, node_at(w, v->data.sequence.items.start[i]), &c->losses[i], i);
        c->n_losses = i + 1;
        if (rc) return rc;
    }
    return 0;
}

static int parse_name(walker *w, yaml_node_t *v)
{
    if (!v || v->type != YAML_SCALAR_NODE || is_null(v))
        return cfg_err(w, v, "name: expected the experiment name, got %s", kind_name(v));
    const char *s = scalar_text(v);
    size_t n = strlen(s);
    if (n >= GHM_NAME_MAX) return cfg_err(w, v, "name: too long (%zu characters, at most %d)", n, GHM_NAME_MAX - 1);
    int dots = 1;
    for (const char *p = s; *p; p++) {
        char ch = *p;
        int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
                 ch == '-' || ch == '.';
        if (!ok)
            return cfg_err(w, v, "name: '%s' may contain only letters, digits, '_', '-' and '.' (it names the directory results/<name>/)", s);
        if (ch != '.') dots = 0;
    }
    if (dots) return cfg_err(w, v, "name: '%s' is not a usable directory name", s);
    memcpy(w->c->name, s, n + 1);
    return 0;
}

/* Walk a mapping section (prefix "" = top level). */
static int walk_map(walker *w, yaml_node_t *map, const char *prefix)
{
    ghm_cfg *c = w->c;
    if (is_null(map)) return 0; /* an empty section: all defaults */
    if (map->type != YAML_MAPPING_NODE) {
        if (prefix[0] == '\0')
            return cfg_err(w, map, "expected a mapping (key: value lines) at the top level, got %s", kind_name(map));
        return cfg_err(w, map, "%s: expected a mapping (key: value lines), got %s", prefix, kind_name(map));
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
        const char *key;
        int rc = map_key(w, map, p, prefix[0] ? prefix : "top level", &key);
        if (rc) return rc;
        yaml_node_t *k = node_at(w, p->key), *v = node_at(w, p->value);
        char path[GHM_CFG_PATH_MAX + 8];
        if (strlen(prefix) + strlen(key) + 2 > GHM_CFG_PATH_MAX) {
            if (prefix[0]) return unknown_key(w, k, prefix, key);
            return cfg_err(w, k, "key '%s' is too long", key);
        }
        path[0] = '\0';
        if (prefix[0]) {
            strcat(path, prefix);
            strcat(path, ".");
        }
        strcat(path, key);
        const field_def *f = field_find(path);
        if (ghm_setting_find(path)) {
            if (v && v->type != YAML_SCALAR_NODE)
                return cfg_err(w, v, "%s: expected a single value, got %s", path, kind_name(v));
            rc = add_setting(w, c->settings, &c->n_settings, GHM_CFG_MAX_SETTINGS, path, k, v);
            if (rc) return rc;
            continue;
        }
        if (!f) {
            if (strcmp(prefix, "backbone") != 0) return unknown_key(w, k, prefix, key);
            /* the backbone's own parameter (checked against its spec later) */
            if (!v || v->type != YAML_SCALAR_NODE || is_null(v))
                return cfg_err(w, v ? v : k, "%s: expected a single value, got %s", path, kind_name(v));
            rc = add_setting(w, c->settings, &c->n_settings, GHM_CFG_MAX_SETTINGS, path, k, v);
            if (rc) return rc;
            continue;
        }
        switch (f->kind) {
        case K_SECTION: {
            ghm_cfg_mark m = nmark(v);
            if (strcmp(path, "dataset") == 0) c->sec_dataset = m;
            if (strcmp(path, "backbone") == 0) c->sec_backbone = m;
            if (strcmp(path, "train") == 0) c->sec_train = m;
            if (strcmp(path, "eval") == 0) c->sec_eval = m;
            rc = walk_map(w, v, path);
            if (!rc && strcmp(path, "dataset") == 0) {
                static const char *const req[] = {"name", NULL};
                rc = check_required(w, v, "dataset", req);
            }
            if (!rc && strcmp(path, "backbone") == 0) {
                static const char *const req[] = {"name", NULL};
                rc = check_required(w, v, "backbone", req);
            }
            break;
        }
        case K_LIST:
            if (strcmp(path, "dataset.train_classes") == 0) c->train_classes_key = nmark(k);
            rc = parse_list(w, path, v);
            break;
        default: /* K_SPECIAL */
            if (strcmp(path, "name") == 0)
                rc = parse_name(w, v);
            else if (strcmp(path, "description") == 0)
                rc = (v && v->type != YAML_SCALAR_NODE)
                         ? cfg_err(w, v, "description: expected text, got %s", kind_name(v))
                         : 0;
            else if (strcmp(path, "losses") == 0)
                rc = parse_losses(w, v);
            else if (strcmp(path, "search") == 0)
                rc = parse_search_block(w, v);
            else if (strcmp(path, "protocol") == 0)
                rc = parse_protocol_block(w, v);
            else if (strcmp(path, "final") == 0)
                rc = parse_final_block(w, v);
            else if (strcmp(path, "compare_to") == 0)
                rc = parse_compare_to(w, v);
            else if (strcmp(path, "primary") == 0)
                rc = parse_primary(w, v);
            else
                rc = parse_top_sweep(w, v);
            break;
        }
        if (rc) return rc;
    }
    return 0;
}

/* ---- defaults and entry point ------------------------------------------------ */

/* The template run: every setting at its table default (experiment/settings.h),
 * the lists at theirs, the protocol fields at a plain run's values. */
static int template_defaults(ghm_run_spec *r, ghm_error *err)
{
    memset(r, 0, sizeof *r);
    ghm_dataset_opts_default(&r->data);
    r->data.name = NULL;
    r->data.path = NULL;
    r->data.data_root = NULL;
    ghm_split_opts_default(&r->split);
    r->split.n_train_classes = 0;
    ghm_optim_config_default(&r->optim);
    ghm_schedule_config_default(&r->schedule);
    ghm_eval_opts_default(&r->eval); /* recall_at and metrics */
    r->eval_test = 1;
    r->trial = -1;
    char msg[GHM_ERROR_MSG_MAX];
    if (ghm_settings_defaults(r, msg, sizeof msg))
        return ghm_error_set(err, GHM_EINPUT, "internal error: a default of the settings table: %s", msg);
    return 0;
}

void ghm_cfg_free(ghm_cfg *c)
{
    if (!c) return;
    for (int i = 0; i < c->n_settings; i++) free(c->settings[i].text);
    for (int l = 0; l < c->n_losses; l++) {
        ghm_cfg_loss *L = &c->losses[l];
        for (int i = 0; i < L->n_params; i++) free(L->params[i].text);
        for (int s = 0; s < L->n_sweeps; s++) {
            for (int i = 0; i < L->sweeps[s].n; i++) free(L->sweeps[s].text[i]);
            free(L->sweeps[s].text);
            free(L->sweeps[s].marks);
        }
    }
    for (int s = 0; s < c->n_sweeps; s++) {
        for (int i = 0; i < c->sweeps[s].n; i++) free(c->sweeps[s].text[i]);
        free(c->sweeps[s].text);
        free(c->sweeps[s].marks);
    }
    c->n_settings = c->n_losses = c->n_sweeps = 0;
    free(c->search);
    c->search = NULL;
}

static int yaml_error(ghm_cfg *c, const yaml_parser_t *p, ghm_error *err)
{
    if (p->error == YAML_MEMORY_ERROR) return ghm_error_set(err, GHM_ENOMEM, "%s: out of memory parsing YAML", c->file);
    ghm_cfg_mark m = {(int)p->problem_mark.line + 1, (int)p->problem_mark.column + 1};
    const char *problem = p->problem ? p->problem : "syntax error";
    if (p->context) {
        ghm_cfg_mark cm = {(int)p->context_mark.line + 1, (int)p->context_mark.column + 1};
        return ghm_cfg_error(err, c, m, "YAML syntax error: %s (%s at line %d, column %d)", problem, p->context, cm.line,
                             cm.col);
    }
    return ghm_cfg_error(err, c, m, "YAML syntax error: %s", problem);
}

int ghm_cfg_parse(const char *yaml, size_t len, const char *file, ghm_cfg *c, ghm_error *err)
{
    memset(c, 0, sizeof *c);
    snprintf(c->file, sizeof c->file, "%s", file ? file : "<string>");
    c->root = (ghm_cfg_mark){1, 1};
    c->sec_dataset = c->sec_backbone = c->sec_train = c->sec_eval = c->root;
    c->n_seeds = 1;
    c->seeds[0] = 0;
    int drc = template_defaults(&c->tmpl, err);
    if (drc) return drc;

    int lim = ghm_yaml_check_limits(yaml, len, c->file, err);
    if (lim) return lim;
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) return ghm_error_set(err, GHM_ENOMEM, "%s: cannot start YAML parser", c->file);
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    if (!yaml_parser_load(&parser, &doc)) {
        int rc = yaml_error(c, &parser, err);
        yaml_parser_delete(&parser);
        return rc;
    }
    int rc = 0;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    walker w = {&doc, c, err};
    if (!root || is_null(root)) {
        rc = ghm_cfg_error(err, c, c->root, "the file is empty; expected a mapping with at least name, dataset, backbone and losses");
    } else {
        c->root = nmark(root);
        c->sec_dataset = c->sec_backbone = c->sec_train = c->sec_eval = c->root;
        rc = walk_map(&w, root, "");
        if (!rc) {
            static const char *const req[] = {"name", "dataset", "backbone", "losses", NULL};
            rc = check_required(&w, root, "", req);
        }
    }
    yaml_document_delete(&doc);
    if (!rc) {
        /* exactly one document */
        yaml_document_t doc2;
        if (!yaml_parser_load(&parser, &doc2)) {
            rc = yaml_error(c, &parser, err);
        } else {
            yaml_node_t *r2 = yaml_document_get_root_node(&doc2);
            if (r2) rc = ghm_cfg_error(err, c, nmark(r2), "only one YAML document per experiment file");
            yaml_document_delete(&doc2);
        }
    }
    yaml_parser_delete(&parser);
    if (rc) ghm_cfg_free(c);
    return rc;
}
