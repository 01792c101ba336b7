/* Run records: JSON serialisation, atomic write, reading, and discovery. */
#include "experiment/record.h"

#include "../core/fsutil.h"
#include "../core/json.h"
#include "../core/npy.h"
#include "core/textbuf.h"
#include "../backbones/backbone.h"
#include "../core/threads.h"
#include "../losses/loss.h"
#include "experiment/provenance.h"
#include "experiment/settings.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- metric sets ---- */

int ghm_metric_set_find(const ghm_metric_set *s, const char *name, double *v)
{
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->name[i], name) == 0) {
            if (v) *v = s->value[i];
            return 1;
        }
    return 0;
}

int ghm_metric_set_put(ghm_metric_set *s, const char *name, double v)
{
    if (strlen(name) >= GHM_REC_METRIC_NAME) return GHM_EINPUT;
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->name[i], name) == 0) {
            s->value[i] = v;
            return 0;
        }
    if (s->n >= GHM_REC_MAX_METRICS) return GHM_EINPUT;
    snprintf(s->name[s->n], GHM_REC_METRIC_NAME, "%s", name);
    s->value[s->n++] = v;
    return 0;
}

/* ---- records ---- */

void ghm_record_init(ghm_record *r) { memset(r, 0, sizeof *r); }

void ghm_record_from_spec(ghm_record *r, const ghm_run_spec *spec)
{
    snprintf(r->run_id, sizeof r->run_id, "%s", spec->run_id);
    snprintf(r->experiment, sizeof r->experiment, "%s", spec->experiment);
    snprintf(r->loss, sizeof r->loss, "%s", spec->loss);
    snprintf(r->dataset, sizeof r->dataset, "%s", spec->data.name ? spec->data.name : "");
    r->index = spec->index;
    r->seed = spec->seed;
    r->n_swept = spec->n_swept < GHM_MAX_SWEPT ? spec->n_swept : GHM_MAX_SWEPT;
    for (int i = 0; i < r->n_swept; i++) {
        snprintf(r->swept_name[i], GHM_NAME_MAX, "%s", spec->swept_name[i]);
        snprintf(r->swept_text[i], GHM_NAME_MAX, "%s", spec->swept_text[i]);
        r->swept_value[i] = spec->swept_value[i];
    }
}

int ghm_record_add_history(ghm_record *r, const ghm_history_entry *h, ghm_error *err)
{
    if (r->n_history == r->cap_history) {
        int nc = r->cap_history ? 2 * r->cap_history : 16;
        ghm_history_entry *nh = realloc(r->history, (size_t)nc * sizeof *nh);
        if (!nh) return GHM_FAIL(err, GHM_ENOMEM, "out of memory (record history)");
        r->history = nh;
        r->cap_history = nc;
    }
    r->history[r->n_history++] = *h;
    return 0;
}

void ghm_record_free(ghm_record *r)
{
    if (!r) return;
    free(r->history);
    r->history = NULL;
    r->n_history = r->cap_history = 0;
    free(r->step_loss);
    r->step_loss = NULL;
    r->n_steps = r->cap_steps = 0;
    free(r->identity);
    r->identity = NULL;
}

int ghm_record_add_step(ghm_record *r, double loss, ghm_error *err)
{
    if (r->n_steps == r->cap_steps) {
        int cap = r->cap_steps ? 2 * r->cap_steps : 256;
        float *p = realloc(r->step_loss, (size_t)cap * sizeof *p);
        if (!p) return GHM_FAIL(err, GHM_ENOMEM, "out of memory (record of %d steps)", cap);
        r->step_loss = p;
        r->cap_steps = cap;
    }
    r->step_loss[r->n_steps++] = (float)loss;
    return 0;
}

/* the step losses as one string "v v v ..." (5 significant digits); NULL on OOM */
static char *steps_text(const ghm_record *r)
{
    size_t cap = (size_t)r->n_steps * 16 + 1, len = 0;
    char *s = malloc(cap);
    if (!s) return NULL;
    s[0] = '\0';
    for (int i = 0; i < r->n_steps; i++) {
        double v = r->step_loss[i];
        if (isfinite(v))
            len += (size_t)snprintf(s + len, cap - len, "%s%.5g", i ? " " : "", v);
        else
            len += (size_t)snprintf(s + len, cap - len, "%snan", i ? " " : "");
    }
    return s;
}

static void jw_metrics(ghm_jw *w, const ghm_metric_set *s)
{
    ghm_jw_begin_object(w);
    for (int i = 0; i < s->n; i++) {
        ghm_jw_key(w, s->name[i]);
        ghm_jw_number(w, s->value[i]);
    }
    ghm_jw_end_object(w);
}

static void jw_kv_num(ghm_jw *w, const char *k, double v)
{
    ghm_jw_key(w, k);
    ghm_jw_number(w, v);
}

static void jw_kv_int(ghm_jw *w, const char *k, long long v)
{
    ghm_jw_key(w, k);
    ghm_jw_int(w, v);
}

static void jw_kv_str(ghm_jw *w, const char *k, const char *v)
{
    ghm_jw_key(w, k);
    ghm_jw_string(w, v);
}

/* Resolved parameters; enum-valued ones (per spec) by name, as in the experiment file. */
static void jw_params(ghm_jw *w, const ghm_params *p, const ghm_param_spec *spec)
{
    ghm_jw_begin_object(w);
    for (int i = 0; i < p->n; i++) {
        const ghm_param_spec *ps = spec ? ghm_param_spec_find(spec, p->name[i]) : NULL;
        if (ps && ps->choices) {
            char buf[64];
            jw_kv_str(w, p->name[i], ghm_param_format(ps, p->value[i], buf, sizeof buf));
        } else {
            jw_kv_num(w, p->name[i], p->value[i]);
        }
    }
    ghm_jw_end_object(w);
}

/* What a record holds under "params" besides the settings: written when the
 * section `sec` closes (the lists, the resolved parameters, the data set's
 * manifest and the synthetic data's seed). */
static void jw_section_extras(ghm_jw *w, const ghm_run_spec *s, const char *sec, const char *manifest)
{
    char seedbuf[32];
    if (strcmp(sec, "dataset") == 0) {
        if (manifest && manifest[0]) jw_kv_str(w, "manifest", manifest);
        if (s->split.protocol == GHM_SPLIT_CLASSES) {
            ghm_jw_key(w, "train_classes");
            ghm_jw_begin_array(w);
            for (int i = 0; i < s->split.n_train_classes && i < GHM_MAX_CLASSES; i++)
                ghm_jw_int(w, s->split.train_classes[i]);
            ghm_jw_end_array(w);
        }
        if (ghm_dataset_is_generated(s->dataset_name)) { /* its parameters are its data */
            snprintf(seedbuf, sizeof seedbuf, "%llu", (unsigned long long)s->data.seed);
            jw_kv_str(w, "seed", seedbuf);
        }
    } else if (strcmp(sec, "backbone") == 0) {
        ghm_jw_key(w, "params");
        const ghm_backbone_ops *bops = ghm_backbone_find(s->backbone);
        jw_params(w, &s->backbone_params, bops ? bops->params : NULL);
    } else if (strcmp(sec, "eval") == 0) {
        ghm_jw_key(w, "recall_at");
        ghm_jw_begin_array(w);
        for (int i = 0; i < s->eval.n_k && i < GHM_MAX_K; i++) ghm_jw_int(w, s->eval.ks[i]);
        ghm_jw_end_array(w);
        /* each metric's switch, in registry order (eval/metric_registry.c): the
         * default ones always, a metric off by default only when switched on (as
         * in the run id); entries sharing a switch (ami) are not written */
        for (int i = 0; i < ghm_metric_count(); i++) {
            const ghm_metric_ops *mo = ghm_metric_at(i);
            int on = ghm_metric_on(&s->eval, mo);
            if (mo->shares || (!mo->default_on && !on)) continue;
            ghm_jw_key(w, mo->name);
            ghm_jw_bool(w, on);
        }
    }
}

/* One setting's value at its key (the last part of its path). */
static void jw_setting(ghm_jw *w, const ghm_setting *st, const ghm_run_spec *s, const char *key)
{
    char buf[GHM_PATH_MAX + 8];
    int iv;
    double d;
    ghm_jw_key(w, key);
    switch (st->type) {
    case GHM_SET_INT:
        memcpy(&iv, (const char *)s + st->offset, sizeof iv);
        ghm_jw_int(w, iv);
        break;
    case GHM_SET_BOOL:
        memcpy(&iv, (const char *)s + st->offset, sizeof iv);
        ghm_jw_bool(w, iv);
        break;
    case GHM_SET_DBL:
        memcpy(&d, (const char *)s + st->offset, sizeof d);
        ghm_jw_number(w, d);
        break;
    default:
        ghm_jw_string(w, ghm_setting_format(st, s, buf, sizeof buf));
        break;
    }
}

/* "params": every setting of the table at its YAML path (objects opened and
 * closed along the dotted paths, which the table keeps grouped), then the
 * loss. */
static void jw_spec_params(ghm_jw *w, const ghm_run_spec *s, const char *manifest)
{
    enum { MAXD = 4 };
    char open[MAXD][GHM_NAME_MAX];
    int depth = 0;
    ghm_jw_begin_object(w);
    for (int i = 0; i <= ghm_settings_count; i++) {
        /* the parts of the path: all but the last are objects */
        char parts[MAXD + 1][GHM_NAME_MAX];
        int np = 0;
        if (i < ghm_settings_count) {
            const char *p = ghm_settings[i].path;
            while (np <= MAXD) {
                const char *dot = strchr(p, '.');
                size_t n = dot ? (size_t)(dot - p) : strlen(p);
                if (n >= GHM_NAME_MAX) n = GHM_NAME_MAX - 1;
                memcpy(parts[np], p, n);
                parts[np++][n] = '\0';
                if (!dot) break;
                p = dot + 1;
            }
        }
        int keep = 0;
        while (keep < depth && keep < np - 1 && strcmp(open[keep], parts[keep]) == 0) keep++;
        while (depth > keep) {
            depth--;
            if (depth == 0) jw_section_extras(w, s, open[0], manifest);
            ghm_jw_end_object(w);
        }
        if (i == ghm_settings_count) break;
        for (; depth < np - 1 && depth < MAXD; depth++) {
            snprintf(open[depth], GHM_NAME_MAX, "%s", parts[depth]);
            ghm_jw_key(w, parts[depth]);
            ghm_jw_begin_object(w);
        }
        jw_setting(w, &ghm_settings[i], s, parts[np - 1]);
    }

    ghm_jw_key(w, "loss");
    ghm_jw_begin_object(w);
    jw_kv_str(w, "name", s->loss);
    ghm_jw_key(w, "params");
    const ghm_loss_ops *lops = ghm_loss_find(s->loss);
    jw_params(w, &s->loss_params, lops ? lops->params : NULL);
    ghm_jw_end_object(w);

    ghm_jw_end_object(w);
}

/* Where the run stands in a hyper-parameter search (the report rebuilds it
 * from the plan; ghm_record_check_spec checks it): nothing for a plain run. */
static void jw_search(ghm_jw *w, const ghm_run_spec *spec)
{
    if (spec->role == GHM_ROLE_PLAIN) return;
    ghm_jw_key(w, "search");
    ghm_jw_begin_object(w);
    jw_kv_str(w, "role", spec->role == GHM_ROLE_TRIAL ? "trial" : "final");
    jw_kv_int(w, "loss_entry", spec->loss_entry);
    jw_kv_int(w, "trial", spec->trial);
    if (spec->role == GHM_ROLE_FINAL) jw_kv_int(w, "reproduction", spec->reproduction);
    jw_kv_int(w, "folds", spec->split.folds);
    jw_kv_int(w, "fold", spec->split.fold);
    jw_kv_int(w, "eval_test", spec->eval_test);
    ghm_jw_end_object(w);
}

int ghm_record_to_json(const ghm_record *r, const ghm_run_spec *spec, char **json, ghm_error *err)
{
    *json = NULL;
    ghm_jw w;
    ghm_jw_init(&w, 1);
    char seedbuf[32];
    ghm_jw_begin_object(&w);
    jw_kv_str(&w, "format", "ghm-record-1");
    jw_kv_str(&w, "run_id", r->run_id);
    jw_kv_str(&w, "experiment", r->experiment);
    jw_kv_int(&w, "index", r->index);
    jw_kv_str(&w, "loss", r->loss);
    if (r->dataset[0]) jw_kv_str(&w, "dataset", r->dataset);
    /* seeds are 64-bit: as a string (exact) and as a number (convenient) */
    snprintf(seedbuf, sizeof seedbuf, "%llu", (unsigned long long)r->seed);
    jw_kv_str(&w, "seed_text", seedbuf);
    jw_kv_num(&w, "seed", (double)r->seed);

    ghm_jw_key(&w, "swept");
    ghm_jw_begin_object(&w);
    for (int i = 0; i < r->n_swept; i++) jw_kv_num(&w, r->swept_name[i], r->swept_value[i]);
    ghm_jw_end_object(&w);
    ghm_jw_key(&w, "swept_text");
    ghm_jw_begin_object(&w);
    for (int i = 0; i < r->n_swept; i++) jw_kv_str(&w, r->swept_name[i], r->swept_text[i]);
    ghm_jw_end_object(&w);

    if (spec) {
        ghm_jw_key(&w, "params");
        jw_spec_params(&w, spec, r->dataset_manifest);
        jw_search(&w, spec);
    }

    jw_kv_str(&w, "status", r->failed ? "failed" : "ok");
    if (r->failed) {
        ghm_jw_key(&w, "failure");
        ghm_jw_begin_object(&w);
        jw_kv_str(&w, "reason", r->failure);
        jw_kv_int(&w, "epoch", r->fail_epoch);
        jw_kv_int(&w, "batch", r->fail_batch);
        ghm_jw_end_object(&w);
    }
    jw_kv_num(&w, "chance", r->chance);
    ghm_jw_key(&w, "at_chance");
    ghm_jw_bool(&w, r->at_chance);

    ghm_jw_key(&w, "test");
    jw_metrics(&w, &r->test);
    ghm_jw_key(&w, "val");
    if (r->has_val)
        jw_metrics(&w, &r->val);
    else
        ghm_jw_null(&w);

    ghm_jw_key(&w, "history");
    ghm_jw_begin_array(&w);
    for (int i = 0; i < r->n_history; i++) {
        const ghm_history_entry *h = &r->history[i];
        ghm_jw_begin_object(&w);
        jw_kv_int(&w, "epoch", h->epoch);
        jw_kv_num(&w, "train_loss", h->train_loss);
        jw_kv_num(&w, "lr", h->lr);
        jw_kv_num(&w, "seconds", h->seconds);
        if (h->has_val) {
            ghm_jw_key(&w, "val");
            jw_metrics(&w, &h->val);
        }
        ghm_jw_end_object(&w);
    }
    ghm_jw_end_array(&w);

    if (r->n_steps > 0) {
        char *st = steps_text(r);
        if (!st) {
            ghm_jw_free(&w);
            return GHM_FAIL(err, GHM_ENOMEM, "out of memory (record)");
        }
        jw_kv_str(&w, "train_loss_steps", st);
        free(st);
    }
    jw_kv_num(&w, "seconds", r->seconds);
    jw_kv_int(&w, "epochs", r->epochs);
    ghm_jw_key(&w, "embeddings");
    ghm_jw_bool(&w, r->has_embeddings);

    ghm_jw_key(&w, "host");
    ghm_jw_begin_object(&w);
    jw_kv_str(&w, "ghm_version", GHM_VERSION_STRING);
    /* provenance (provenance.h); records written before it lack these keys */
    jw_kv_str(&w, "commit", ghm_build_commit());
    if (ghm_build_dirty() >= 0) {
        ghm_jw_key(&w, "dirty");
        ghm_jw_bool(&w, ghm_build_dirty());
    }
    jw_kv_str(&w, "compiler", ghm_prov_compiler());
    jw_kv_str(&w, "conv_backend", ghm_prov_conv_backend());
    jw_kv_str(&w, "gemm_backend", ghm_prov_gemm_backend());
    jw_kv_str(&w, "cpu_isa", ghm_prov_cpu_isa());
    jw_kv_str(&w, "build_isa", ghm_prov_build_isa());
    jw_kv_int(&w, "threads", r->threads);
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    host[sizeof host - 1] = '\0';
    jw_kv_str(&w, "hostname", host);
    char when[64] = "";
    time_t now = time(NULL);
    struct tm tmv;
    if (gmtime_r(&now, &tmv)) strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    jw_kv_str(&w, "written_utc", when);
    ghm_jw_end_object(&w);

    ghm_jw_end_object(&w);
    if (w.failed) {
        ghm_jw_free(&w);
        return GHM_FAIL(err, GHM_ENOMEM, "out of memory (record JSON)");
    }
    /* trailing newline for friendly files */
    char *out = realloc(w.buf, w.len + 2);
    if (!out) {
        ghm_jw_free(&w);
        return GHM_FAIL(err, GHM_ENOMEM, "out of memory (record JSON)");
    }
    out[w.len] = '\n';
    out[w.len + 1] = '\0';
    *json = out;
    return 0;
}

int ghm_record_run_dir(const char *out_dir, const char *run_id, char *buf, int n)
{
    int k = snprintf(buf, (size_t)n, "%s/runs/%s", out_dir, run_id);
    return (k < 0 || k >= n) ? GHM_EINPUT : 0;
}

int ghm_record_write(const ghm_record *r, const ghm_run_spec *spec, const char *run_dir, ghm_error *err)
{
    int rc = ghm_out_mkdirs(run_dir, 2, err); /* runs/<id>: never through a link */
    if (rc < 0) return rc;
    char *json;
    rc = ghm_record_to_json(r, spec, &json, err);
    if (rc < 0) return rc;
    size_t pl = strlen(run_dir) + 32;
    char *path = malloc(pl);
    if (!path) {
        free(json);
        return GHM_FAIL(err, GHM_ENOMEM, "out of memory");
    }
    snprintf(path, pl, "%s/record.json", run_dir);
    rc = ghm_write_file_atomic(path, json, strlen(json), err);
    free(path);
    free(json);
    return rc;
}

/* The range of a metric's values: [0, 1], ami [-1, 1]; 0 for unknown names. */
static int metric_range(const char *name, double *lo, double *hi)
{
    const ghm_metric_ops *mo = ghm_metric_by_key(name); /* eval/metric_registry.c */
    if (!mo) return 0;
    *lo = mo->lo;
    *hi = mo->hi;
    return 1;
}

static int read_metrics(const ghm_json *o, ghm_metric_set *s, const char *path, const char *what, ghm_error *err)
{
    memset(s, 0, sizeof *s);
    if (!o || o->type == GHM_JSON_NULL) return 0;
    if (o->type != GHM_JSON_OBJECT) return ghm_error_set(err, GHM_EINPUT, "%s: '%s' must be an object", path, what);
    for (int i = 0; i < o->n; i++) {
        const char *k = o->keys[i];
        const ghm_json *it = &o->items[i];
        double lo, hi, v;
        if (!metric_range(k, &lo, &hi))
            return ghm_error_set(err, GHM_EINPUT, "%s: %s: unknown metric '%s'", path, what, k);
        if (ghm_metric_set_find(s, k, NULL))
            return ghm_error_set(err, GHM_EINPUT, "%s: %s: metric '%s' given twice", path, what, k);
        if (it->type == GHM_JSON_NUMBER) {
            v = it->num;
            if (!(v >= lo - 1e-9 && v <= hi + 1e-9))
                return ghm_error_set(err, GHM_EINPUT, "%s: %s.%s = %g is outside [%g, %g]", path, what, k, v, lo, hi);
        } else if (it->type == GHM_JSON_NULL && ghm_metric_by_key(k)->may_be_undefined) {
            v = NAN; /* undefined when no query has a relevant item */
        } else {
            return ghm_error_set(err, GHM_EINPUT, "%s: %s.%s must be a number", path, what, k);
        }
        if (ghm_metric_set_put(s, k, v) < 0)
            return ghm_error_set(err, GHM_EINPUT, "%s: '%s': too many metrics or name too long ('%s')", path, what, k);
    }
    return 0;
}

/* ---- what a record says its run is (ghm_record.identity) ---- */

/* s with '\\' and '\n' escaped: one value, one line */
static void tb_escaped(ghm_tb *b, const char *s)
{
    char run[256];
    size_t k = 0;
    for (;; s++) {
        if (k + 2 >= sizeof run || !*s || *s == '\\' || *s == '\n') {
            run[k] = '\0';
            ghm_tb_puts(b, run);
            k = 0;
        }
        if (!*s) break;
        if (*s == '\\' || *s == '\n') {
            ghm_tb_puts(b, *s == '\n' ? "\\n" : "\\\\");
            continue;
        }
        run[k++] = *s;
    }
}

/* a value as text: strings quoted (so "3" and 3 differ), arrays and objects inline */
static void flat_value(ghm_tb *b, const ghm_json *v, int depth)
{
    switch (v->type) {
    case GHM_JSON_NULL:
        ghm_tb_puts(b, "null");
        break;
    case GHM_JSON_BOOL:
        ghm_tb_puts(b, v->num != 0 ? "true" : "false");
        break;
    case GHM_JSON_NUMBER:
        ghm_tb_printf(b, "%.17g", v->num == 0 ? 0.0 : v->num);
        break;
    case GHM_JSON_STRING:
        ghm_tb_puts(b, "\"");
        tb_escaped(b, v->str);
        ghm_tb_puts(b, "\"");
        break;
    case GHM_JSON_ARRAY:
    case GHM_JSON_OBJECT:
        ghm_tb_puts(b, v->type == GHM_JSON_ARRAY ? "[" : "{");
        for (int i = 0; i < v->n && depth < 16; i++) {
            if (i) ghm_tb_puts(b, ",");
            if (v->type == GHM_JSON_OBJECT) {
                tb_escaped(b, v->keys[i]);
                ghm_tb_puts(b, ":");
            }
            flat_value(b, &v->items[i], depth + 1);
        }
        ghm_tb_puts(b, v->type == GHM_JSON_ARRAY ? "]" : "}");
        break;
    }
}

/* every leaf under v as a line "\n<prefix>.<key>...=<value>" (objects are walked, other values inline) */
static void flatten(ghm_tb *b, const ghm_json *v, const char *prefix, int depth)
{
    if (!v) return;
    if (v->type != GHM_JSON_OBJECT || depth >= 16) {
        ghm_tb_puts(b, "\n");
        tb_escaped(b, prefix);
        ghm_tb_puts(b, "=");
        flat_value(b, v, depth);
        return;
    }
    for (int i = 0; i < v->n; i++) {
        /* "<prefix>.<key>", cut at 511 bytes (a record's keys are short; a longer one only has to differ) */
        char key[512];
        size_t pl = strnlen(prefix, sizeof key - 2), kl = strnlen(v->keys[i], sizeof key - 2 - pl);
        memcpy(key, prefix, pl);
        key[pl] = '.';
        memcpy(key + pl + 1, v->keys[i], kl);
        key[pl + 1 + kl] = '\0';
        flatten(b, &v->items[i], key, depth + 1);
    }
}

/* ---- records of before: keys that were not YAML paths ----
 *
 * Records written before their keys were the settings' YAML paths
 * (experiment/settings.h) kept some settings elsewhere under "params":
 * "split.protocol" for dataset.split, "optimizer.lr" for train.optimizer.lr,
 * "eval.eval_every" for eval.every (the table's `legacy` column), and two lists
 * (below). Reading a record renames those identity lines to the YAML path, so
 * a record of before is checked against the plan exactly as a new one; and
 * because the writer of before left out the synthetic data set's keys for
 * other data sets and never wrote eval.exclude_same_family, such a record (one
 * that has any legacy key) may lack those (absent_in_legacy). */
static const char *const legacy_lists[][2] = {
    {"split.train_classes", "dataset.train_classes"},
    {"eval.recall_k", "eval.recall_at"},
};
static const char *const legacy_absent[] = {"dataset.classes", "dataset.train_per_class", "dataset.test_per_class",
                                            "dataset.image_size", "eval.exclude_same_family", NULL};
#define LEGACY_MARK "legacy.keys=1"

/* The YAML path of legacy key k (after "params."), klen bytes, or NULL. */
static const char *legacy_rename(const char *k, size_t klen)
{
    for (int i = 0; i < ghm_settings_count; i++) {
        const char *l = ghm_settings[i].legacy;
        if (l && strlen(l) == klen && strncmp(l, k, klen) == 0) return ghm_settings[i].path;
    }
    for (size_t i = 0; i < sizeof legacy_lists / sizeof legacy_lists[0]; i++)
        if (strlen(legacy_lists[i][0]) == klen && strncmp(legacy_lists[i][0], k, klen) == 0) return legacy_lists[i][1];
    return NULL;
}

/* id with every "params.<legacy key>=" line renamed to "params.<YAML path>=", and a
 * LEGACY_MARK line added when there was any. Takes and returns malloc'd text (NULL on OOM). */
static char *migrate_identity(char *id)
{
    if (!id) return NULL;
    ghm_tb b;
    ghm_tb_init(&b);
    int any = 0;
    for (const char *p = id; *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        const char *to = NULL;
        if (eq && len > 7 && strncmp(p, "params.", 7) == 0) to = legacy_rename(p + 7, (size_t)(eq - p - 7));
        if (to) {
            any = 1;
            ghm_tb_printf(&b, "params.%s%.*s", to, (int)(len - (size_t)(eq - p)), eq);
        } else {
            ghm_tb_printf(&b, "%.*s", (int)len, p);
        }
        if (!end) break;
        ghm_tb_puts(&b, "\n");
        p = end + 1;
    }
    if (any) ghm_tb_puts(&b, LEGACY_MARK "\n");
    free(id);
    char *out = NULL;
    ghm_error e;
    if (ghm_tb_finish(&b, &out, &e) < 0) return NULL;
    return out;
}

/* 1 when identity line key (klen, "params.<path>") may be missing from the record: a
 * setting the table marks ID_ON (added after records existed) at 0 in the plan's run
 * (its run id leaves it out too), or one the writer of before left out (legacy record). */
static int absent_in_legacy(const char *have, const ghm_run_spec *spec, const char *key, size_t klen)
{
    if (klen <= 7) return 0;
    for (int i = 0; i < ghm_settings_count; i++) {
        const ghm_setting *st = &ghm_settings[i];
        if (st->id != GHM_SET_ID_ON || strlen(st->path) != klen - 7 || strncmp(st->path, key + 7, klen - 7)) continue;
        char buf[64];
        const char *v = ghm_setting_format(st, spec, buf, sizeof buf);
        if (strcmp(v, "0") == 0) return 1;
    }
    if (!strstr(have, "\n" LEGACY_MARK "\n")) return 0;
    for (int i = 0; legacy_absent[i]; i++)
        if (strlen(legacy_absent[i]) == klen - 7 && strncmp(key + 7, legacy_absent[i], klen - 7) == 0) return 1;
    return 0;
}

/* The identity lines of a record's JSON (or of what the plan's run would
 * write): experiment, seed, params.*, search.*; ends with "\n". NULL on OOM. */
static char *identity_of(const ghm_json *j)
{
    static const char *const top[] = {"experiment", "seed_text", "seed", "params", "search"};
    ghm_tb b;
    ghm_tb_init(&b);
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++) flatten(&b, ghm_json_get(j, top[i]), top[i], 0);
    ghm_tb_puts(&b, "\n");
    char *out = NULL;
    ghm_error e;
    if (ghm_tb_finish(&b, &out, &e) < 0) return NULL;
    return migrate_identity(out);
}

/* What the plan's run would write there (the same writer, read back the same way). */
static char *spec_identity(const ghm_run_spec *spec)
{
    ghm_jw w;
    ghm_jw_init(&w, 0);
    char seedbuf[32];
    ghm_jw_begin_object(&w);
    jw_kv_str(&w, "experiment", spec->experiment);
    snprintf(seedbuf, sizeof seedbuf, "%llu", (unsigned long long)spec->seed);
    jw_kv_str(&w, "seed_text", seedbuf);
    jw_kv_num(&w, "seed", (double)spec->seed);
    ghm_jw_key(&w, "params");
    jw_spec_params(&w, spec, NULL);
    jw_search(&w, spec);
    ghm_jw_end_object(&w);
    char *out = NULL;
    ghm_json *j = NULL;
    ghm_error e;
    if (!w.failed && ghm_json_parse(w.buf, w.len, "plan", &j, &e) == 0) {
        out = identity_of(j);
        ghm_json_free(j);
    }
    ghm_jw_free(&w);
    return out;
}

/* The value of line `key` in identity text id (a pointer to it and its length), or NULL. */
static const char *identity_find(const char *id, const char *key, size_t klen, size_t *vlen)
{
    for (const char *p = id; (p = strchr(p, '\n')) != NULL; p++) {
        if (strncmp(p + 1, key, klen) != 0 || p[1 + klen] != '=') continue;
        const char *v = p + 2 + klen, *end = strchr(v, '\n');
        *vlen = end ? (size_t)(end - v) : strlen(v);
        return v;
    }
    return NULL;
}

/* Every line of the plan's identity must be in the record's, with the same
 * value; the record's search.* lines must all be the plan's (a plain run has
 * none). GHM_EINPUT naming the first difference. */
/* 1 when identity line `key` (klen) is a loss or backbone parameter that came after records existed
 * (ghm_param_spec.added_later) and the plan's run has it at its default: a record written before it
 * existed lacks the line, and the run id leaves it out too (experiment/plan.c), so its absence matches. */
static int absent_is_default(const ghm_run_spec *spec, const char *key, size_t klen)
{
    static const char lp[] = "params.loss.params.", bp[] = "params.backbone.params.";
    const ghm_param_spec *specs = NULL;
    const ghm_params *vals = NULL;
    size_t plen = 0;
    if (klen > sizeof lp - 1 && strncmp(key, lp, sizeof lp - 1) == 0) {
        const ghm_loss_ops *o = ghm_loss_find(spec->loss);
        specs = o ? o->params : NULL, vals = &spec->loss_params, plen = sizeof lp - 1;
    } else if (klen > sizeof bp - 1 && strncmp(key, bp, sizeof bp - 1) == 0) {
        const ghm_backbone_ops *o = ghm_backbone_find(spec->backbone);
        specs = o ? o->params : NULL, vals = &spec->backbone_params, plen = sizeof bp - 1;
    }
    if (!specs) return 0;
    char name[GHM_PARAM_NAME_MAX];
    if (klen - plen >= sizeof name) return 0;
    memcpy(name, key + plen, klen - plen);
    name[klen - plen] = '\0';
    const ghm_param_spec *s = ghm_param_spec_find(specs, name);
    double v;
    return s && s->added_later && ghm_params_find(vals, name, &v) && v == s->def;
}

static int check_identity(const ghm_record *r, const ghm_run_spec *spec, const char *path, ghm_error *err)
{
    char *want = spec_identity(spec);
    if (!want) return ghm_error_set(err, GHM_ENOMEM, "out of memory (checking %s)", path);
    int rc = 0;
    const char *have = r->identity;
    for (const char *p = want; *p && rc == 0;) {
        if (*p == '\n') {
            p++;
            continue;
        }
        const char *eq = strchr(p, '='), *end = strchr(p, '\n');
        if (!end) end = p + strlen(p);
        if (!eq || eq > end) break;
        size_t klen = (size_t)(eq - p), wlen = (size_t)(end - eq - 1), hlen = 0;
        const char *hv = identity_find(have, p, klen, &hlen);
        if (!hv && (absent_is_default(spec, p, klen) || absent_in_legacy(have, spec, p, klen))) {
            p = end;
            continue;
        }
        if (!hv)
            rc = ghm_error_set(err, GHM_EINPUT, "%s: %.*s is missing, but run %s of the plan has %.*s", path,
                               (int)klen, p, spec->run_id, (int)(wlen > 200 ? 200 : wlen), eq + 1);
        else if (hlen != wlen || memcmp(hv, eq + 1, wlen) != 0)
            rc = ghm_error_set(err, GHM_EINPUT, "%s: %.*s is %.*s, but run %s of the plan has %.*s", path, (int)klen, p,
                               (int)(hlen > 200 ? 200 : hlen), hv, spec->run_id, (int)(wlen > 200 ? 200 : wlen),
                               eq + 1);
        p = end;
    }
    /* search.* in the record that the plan's run does not have (a plain run has none) */
    for (const char *p = have; rc == 0 && (p = strstr(p, "\nsearch.")) != NULL; p++) {
        const char *eq = strchr(p + 1, '='), *end = strchr(p + 1, '\n');
        if (!eq || (end && eq > end)) continue;
        size_t klen = (size_t)(eq - p - 1), vlen = end ? (size_t)(end - eq - 1) : strlen(eq + 1), wl;
        if (!identity_find(want, p + 1, klen, &wl))
            rc = ghm_error_set(err, GHM_EINPUT, "%s: %.*s is %.*s, but run %s of the plan %s", path, (int)klen, p + 1,
                               (int)(vlen > 200 ? 200 : vlen), eq + 1, spec->run_id,
                               spec->role == GHM_ROLE_PLAIN ? "is not a search run" : "has no such field");
    }
    free(want);
    return rc;
}

int ghm_record_read(const char *path, ghm_record *r, ghm_error *err)
{
    ghm_record_init(r);
    ghm_json *j;
    int rc = ghm_json_parse_file(path, &j, err);
    if (rc < 0) return rc;
    rc = GHM_EINPUT;
    if (j->type != GHM_JSON_OBJECT) {
        ghm_error_set(err, GHM_EINPUT, "%s: a record must be a JSON object", path);
        goto done;
    }
    const char *fmt = ghm_json_str(j, "format", NULL);
    const char *id = ghm_json_str(j, "run_id", NULL);
    const char *loss = ghm_json_str(j, "loss", NULL);
    const ghm_json *test = ghm_json_get(j, "test");
    const ghm_json *status = ghm_json_get(j, "status");
    if (fmt && strcmp(fmt, "ghm-record-1") != 0) {
        ghm_error_set(err, GHM_EINPUT, "%s: unknown record format '%s' (expected ghm-record-1)", path, fmt);
        goto done;
    }
    if (status && (status->type != GHM_JSON_STRING || (strcmp(status->str, "ok") && strcmp(status->str, "failed")))) {
        ghm_error_set(err, GHM_EINPUT, "%s: status must be \"ok\" or \"failed\"", path);
        goto done;
    }
    r->failed = status && strcmp(status->str, "failed") == 0;
    if (!id || !loss || (!test && !r->failed)) {
        ghm_error_set(err, GHM_EINPUT, "%s: not a ghm record (run_id, loss and test are required)", path);
        goto done;
    }
    if (strlen(id) != 16 || strspn(id, "0123456789abcdef") != 16) {
        ghm_error_set(err, GHM_EINPUT, "%s: run_id '%.40s' is not 16 hexadecimal digits", path, id);
        goto done;
    }
    if (strlen(loss) >= sizeof r->loss || !ghm_loss_find(loss)) {
        ghm_error_set(err, GHM_EINPUT, "%s: unknown loss '%.40s'", path, loss);
        goto done;
    }
    if (r->failed) {
        const ghm_json *f = ghm_json_get(j, "failure");
        if (!f || f->type != GHM_JSON_OBJECT) {
            ghm_error_set(err, GHM_EINPUT, "%s: a failed record needs a 'failure' object", path);
            goto done;
        }
        snprintf(r->failure, sizeof r->failure, "%s", ghm_json_str(f, "reason", "unknown"));
        double fe = ghm_json_num(f, "epoch", 0), fb = ghm_json_num(f, "batch", 0);
        r->fail_epoch = fe >= 0 && fe < 1e9 ? (int)fe : 0;
        r->fail_batch = fb >= 0 && fb < 1e9 ? (int)fb : 0;
    }
    snprintf(r->run_id, sizeof r->run_id, "%s", id);
    snprintf(r->loss, sizeof r->loss, "%s", loss);
    snprintf(r->experiment, sizeof r->experiment, "%s", ghm_json_str(j, "experiment", ""));
    double ix = ghm_json_num(j, "index", -1);
    r->index = ix >= 0 && ix < 1e9 ? (int)ix : -1;
    const char *st = ghm_json_str(j, "seed_text", NULL);
    double sd = ghm_json_num(j, "seed", 0);
    r->seed = st ? strtoull(st, NULL, 10) : (sd >= 0 && sd < 1.8e19 ? (uint64_t)sd : 0);
    const ghm_json *sw = ghm_json_get(j, "swept");
    const ghm_json *swt = ghm_json_get(j, "swept_text");
    if (sw && sw->type == GHM_JSON_OBJECT) {
        for (int i = 0; i < sw->n && r->n_swept < GHM_MAX_SWEPT; i++) {
            int k = r->n_swept++;
            snprintf(r->swept_name[k], GHM_NAME_MAX, "%s", sw->keys[i]);
            r->swept_value[k] = sw->items[i].type == GHM_JSON_NUMBER ? sw->items[i].num : NAN;
            const char *t = ghm_json_str(swt, sw->keys[i], NULL);
            if (t)
                snprintf(r->swept_text[k], GHM_NAME_MAX, "%s", t);
            else
                snprintf(r->swept_text[k], GHM_NAME_MAX, "%g", r->swept_value[k]);
        }
    }
    if ((rc = read_metrics(test, &r->test, path, "test", err)) < 0) goto done;
    rc = GHM_EINPUT;
    /* a search trial never evaluates the test set: its record says so under "search" */
    const ghm_json *srch = ghm_json_get(j, "search");
    int trial_no_test = srch && ghm_json_num(srch, "eval_test", 1) == 0;
    if (!r->failed && r->test.n == 0 && !trial_no_test) {
        ghm_error_set(err, GHM_EINPUT, "%s: no test metrics", path);
        goto done;
    }
    const ghm_json *val = ghm_json_get(j, "val");
    r->has_val = val && val->type == GHM_JSON_OBJECT;
    if ((rc = read_metrics(val, &r->val, path, "val", err)) < 0) goto done;
    const ghm_json *hist = ghm_json_get(j, "history");
    if (hist && hist->type == GHM_JSON_ARRAY) {
        for (int i = 0; i < hist->n; i++) {
            const ghm_json *h = &hist->items[i];
            ghm_history_entry e;
            memset(&e, 0, sizeof e);
            double he = ghm_json_num(h, "epoch", i + 1);
            e.epoch = he >= 0 && he < 1e9 ? (int)he : i + 1;
            e.train_loss = ghm_json_num(h, "train_loss", NAN);
            e.lr = ghm_json_num(h, "lr", NAN);
            e.seconds = ghm_json_num(h, "seconds", NAN);
            const ghm_json *hv = ghm_json_get(h, "val");
            e.has_val = hv && hv->type == GHM_JSON_OBJECT;
            if ((rc = read_metrics(hv, &e.val, path, "history.val", err)) < 0) goto done;
            if ((rc = ghm_record_add_history(r, &e, err)) < 0) goto done;
        }
    }
    r->seconds = ghm_json_num(j, "seconds", 0);
    double ep = ghm_json_num(j, "epochs", 0), th = ghm_json_num(ghm_json_get(j, "host"), "threads", 0);
    r->epochs = ep >= 0 && ep < 1e9 ? (int)ep : 0;
    r->has_embeddings = ghm_json_num(j, "embeddings", 0) != 0;
    r->threads = th >= 0 && th < 1e9 ? (int)th : 0;
    const ghm_json *hj = ghm_json_get(j, "host");
    snprintf(r->commit, sizeof r->commit, "%s", ghm_json_str(hj, "commit", ""));
    r->dirty = ghm_json_get(hj, "dirty") ? ghm_json_num(hj, "dirty", 0) != 0 : -1;
    r->chance = ghm_json_num(j, "chance", NAN);
    r->at_chance = ghm_json_num(j, "at_chance", 0) != 0;
    const char *dsn = ghm_json_str(ghm_json_get(ghm_json_get(j, "params"), "dataset"), "name", NULL);
    if (!dsn) dsn = ghm_json_str(j, "dataset", NULL);
    snprintf(r->dataset, sizeof r->dataset, "%s", dsn ? dsn : "");
    if (!(r->identity = identity_of(j))) {
        rc = ghm_error_set(err, GHM_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    const char *steps = ghm_json_str(j, "train_loss_steps", NULL);
    for (const char *p = steps; p && *p;) {
        char *end;
        double v = strtod(p, &end);
        if (end == p) {
            rc = ghm_error_set(err, GHM_EINPUT, "%s: train_loss_steps: not a number at '%.20s'", path, p);
            goto done;
        }
        if ((rc = ghm_record_add_step(r, v, err)) < 0) goto done;
        p = end;
        while (*p == ' ') p++;
    }
    rc = 0;
done:
    ghm_json_free(j);
    if (rc < 0) ghm_record_free(r);
    return rc;
}

/* the path of a run's record.json into buf: 0, or -1 when too long */
static int record_path(const char *out_dir, const char *run_id, char *buf, size_t n)
{
    int k = snprintf(buf, n, "%s/runs/%s/record.json", out_dir, run_id);
    return (k < 0 || (size_t)k >= n) ? -1 : 0;
}

/* expected metric names of a run (as ghm_metrics_list names them) */
static int planned_metrics(const ghm_eval_opts *o, char names[][GHM_REC_METRIC_NAME], int max)
{
    return ghm_metric_keys(o, names, max); /* eval/metric_registry.c */
}

int ghm_record_check_spec(const ghm_record *r, const ghm_run_spec *spec, const char *path, ghm_error *err)
{
    if (strcmp(r->run_id, spec->run_id) != 0)
        return ghm_error_set(err, GHM_EINPUT, "%s: run_id %s, but the plan's run is %s", path, r->run_id,
                             spec->run_id);
    if (strcmp(r->loss, spec->loss) != 0)
        return ghm_error_set(err, GHM_EINPUT, "%s: loss '%s', but run %s of the plan uses '%s'", path, r->loss,
                             spec->run_id, spec->loss);
    if (r->seed != spec->seed)
        return ghm_error_set(err, GHM_EINPUT, "%s: seed %llu, but run %s of the plan has seed %llu", path,
                             (unsigned long long)r->seed, spec->run_id, (unsigned long long)spec->seed);
    for (int i = 0; i < spec->n_swept; i++) {
        int found = 0;
        for (int k = 0; k < r->n_swept; k++)
            if (strcmp(r->swept_name[k], spec->swept_name[i]) == 0) {
                found = 1;
                if (strcmp(r->swept_text[k], spec->swept_text[i]) != 0)
                    return ghm_error_set(err, GHM_EINPUT, "%s: swept %s = %s, but run %s of the plan has %s", path,
                                         spec->swept_name[i], r->swept_text[k], spec->run_id, spec->swept_text[i]);
            }
        if (!found)
            return ghm_error_set(err, GHM_EINPUT, "%s: swept value '%s' of run %s missing", path, spec->swept_name[i],
                                 spec->run_id);
    }
    /* every value the run id covers, as the record states it */
    if (r->identity) {
        int rc = check_identity(r, spec, path, err);
        if (rc < 0) return rc;
    }
    if (r->failed) return 0;
    char names[GHM_REC_MAX_METRICS][GHM_REC_METRIC_NAME];
    int nm = planned_metrics(&spec->eval, names, GHM_REC_MAX_METRICS);
    for (int i = 0; i < nm; i++) {
        /* search trials (eval_test = 0) never evaluate the test set: a test metric there is as wrong as a missing one */
        if (spec->eval_test && !ghm_metric_set_find(&r->test, names[i], NULL))
            return ghm_error_set(err, GHM_EINPUT, "%s: test metric '%s' missing", path, names[i]);
        if (!spec->eval_test && r->test.n > 0)
            return ghm_error_set(err, GHM_EINPUT, "%s: test metrics in a search trial's record (trials never look at "
                                 "the test set)", path);
        if (r->has_val && !ghm_metric_set_find(&r->val, names[i], NULL))
            return ghm_error_set(err, GHM_EINPUT, "%s: validation metric '%s' missing", path, names[i]);
    }
    return 0;
}

/* The test embeddings a finished run kept beside its record: absent (they are
 * not committed), or both files readable with one label per row. 0, or
 * GHM_EINPUT naming the file. */
static int check_embeddings(const char *out_dir, const char *run_id, ghm_error *err)
{
    char pe[GHM_PATH_MAX + 128], pl[GHM_PATH_MAX + 128];
    snprintf(pe, sizeof pe, "%s/runs/%s/embeddings_test.npy", out_dir, run_id);
    snprintf(pl, sizeof pl, "%s/runs/%s/embeddings_test_labels.npy", out_dir, run_id);
    struct stat st;
    if (lstat(pe, &st) != 0 && lstat(pl, &st) != 0) return 0;
    float *emb = NULL;
    int *lab = NULL, n = 0, d = 0, nl = 0;
    int rc = ghm_npy_read_f32_2d(pe, &emb, &n, &d, err);
    if (rc == 0) rc = ghm_npy_read_labels(pl, &lab, &nl, err);
    if (rc == 0 && nl != n) rc = ghm_error_set(err, GHM_EINPUT, "%s: %d labels for %d test embeddings", pl, nl, n);
    free(emb);
    free(lab);
    if (rc < 0) ghm_error_prefix(err, "the run's test embeddings are unreadable");
    return rc;
}

static int state_of(const char *out_dir, const char *run_id, const ghm_run_spec *spec, ghm_error *err)
{
    char path[GHM_PATH_MAX + 96];
    if (record_path(out_dir, run_id, path, sizeof path) < 0) return GHM_RUN_MISSING;
    struct stat st;
    if (stat(path, &st) < 0) return GHM_RUN_MISSING;
    ghm_record r;
    if (ghm_record_read(path, &r, err) < 0) return GHM_RUN_INVALID;
    int state = GHM_RUN_INVALID;
    if (strcmp(r.run_id, run_id) != 0)
        ghm_error_set(err, GHM_EINPUT, "%s: run_id %s does not match its directory (%s)", path, r.run_id, run_id);
    else if (!spec || ghm_record_check_spec(&r, spec, path, err) == 0)
        state = r.failed ? GHM_RUN_FAILED : GHM_RUN_FINISHED;
    if (state == GHM_RUN_FINISHED && r.has_embeddings && check_embeddings(out_dir, run_id, err) < 0)
        state = GHM_RUN_INVALID;
    ghm_record_free(&r);
    return state;
}

int ghm_record_state(const char *out_dir, const char *run_id)
{
    ghm_error e;
    int s = state_of(out_dir, run_id, NULL, &e);
    return s == GHM_RUN_INVALID ? GHM_RUN_MISSING : s;
}

int ghm_record_state_spec(const char *out_dir, const ghm_run_spec *spec, ghm_error *err)
{
    return state_of(out_dir, spec->run_id, spec, err);
}

int ghm_record_is_finished(const char *out_dir, const char *run_id)
{
    return ghm_record_state(out_dir, run_id) == GHM_RUN_FINISHED;
}

static int rec_cmp(const void *a, const void *b)
{
    const ghm_record *x = a, *y = b;
    if (x->index != y->index) return x->index < y->index ? -1 : 1;
    return strcmp(x->run_id, y->run_id);
}

void ghm_records_free(ghm_record *recs, int n)
{
    if (!recs) return;
    for (int i = 0; i < n; i++) ghm_record_free(&recs[i]);
    free(recs);
}

int ghm_records_load(const char *out_dir, ghm_record **recs, int *n, int *n_bad, ghm_error *err)
{
    return ghm_records_load_ex(out_dir, GHM_RECORDS_OK, NULL, NULL, NULL, recs, n, n_bad, err);
}

int ghm_records_load_ex(const char *out_dir, int which, const ghm_experiment *plan, ghm_record_warn_fn warn,
                        void *user, ghm_record **recs, int *n, int *n_bad, ghm_error *err)
{
    *recs = NULL;
    *n = 0;
    if (n_bad) *n_bad = 0;
    char runs[GHM_PATH_MAX + 16];
    snprintf(runs, sizeof runs, "%s/runs", out_dir);
    DIR *d = opendir(runs);
    if (!d) return 0; /* no runs yet */
    int cap = 0, cnt = 0;
    ghm_record *arr = NULL;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[GHM_PATH_MAX + 300];
        snprintf(path, sizeof path, "%s/%s/record.json", runs, e->d_name);
        struct stat st;
        if (stat(path, &st) < 0) continue; /* unfinished run */
        if (cnt == cap) {
            int nc = cap ? cap * 2 : 32;
            ghm_record *na = realloc(arr, (size_t)nc * sizeof *na);
            if (!na) {
                closedir(d);
                ghm_records_free(arr, cnt);
                return GHM_FAIL(err, GHM_ENOMEM, "out of memory (records)");
            }
            arr = na;
            cap = nc;
        }
        ghm_error e2;
        ghm_error_clear(&e2);
        int bad = ghm_record_read(path, &arr[cnt], &e2) < 0;
        if (!bad && strcmp(arr[cnt].run_id, e->d_name) != 0) { /* a copied/moved record: not this run */
            ghm_error_set(&e2, GHM_EINPUT, "%s: run_id %s does not match its directory", path, arr[cnt].run_id);
            ghm_record_free(&arr[cnt]);
            bad = 1;
        }
        if (!bad && plan) {
            for (int p = 0; p < plan->n_runs; p++)
                if (strcmp(plan->runs[p].run_id, arr[cnt].run_id) == 0) {
                    if (ghm_record_check_spec(&arr[cnt], &plan->runs[p], path, &e2) < 0) {
                        ghm_record_free(&arr[cnt]);
                        bad = 1;
                    }
                    break;
                }
        }
        if (bad) {
            if (n_bad) (*n_bad)++;
            if (warn) warn(e2.msg, user);
            continue;
        }
        int want = arr[cnt].failed ? (which & GHM_RECORDS_FAILED) : (which & GHM_RECORDS_OK);
        if (!want) {
            ghm_record_free(&arr[cnt]);
            continue;
        }
        cnt++;
    }
    closedir(d);
    if (cnt > 1) qsort(arr, (size_t)cnt, sizeof *arr, rec_cmp);
    *recs = arr;
    *n = cnt;
    return 0;
}
