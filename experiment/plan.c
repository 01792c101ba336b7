/* The plan: expansion of an experiment file into fully resolved runs, their
 * canonical text and run ids.
 *
 * Runs, in order: for each loss entry, for each combination of that entry's
 * `sweep:` lists followed by the top-level `sweep:` lists (first key slowest),
 * for each seed. Each run is built from the template (defaults + lists) by
 * applying every scalar setting of the file, then the combination's values;
 * then backbone and loss parameters are resolved against their specs and the
 * cross-field rules are checked. The whole plan is built (and so the whole
 * file validated) before anything is returned.
 */
#include "experiment/config_internal.h"
#include "experiment/settings.h"

#include "../backbones/backbone.h"
#include "../losses/loss.h"
#include "search/search.h"
#include "experiment/yaml_limits.h"

#include "../core/fileio.h"

#include <errno.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Truncating string copy (dst has cap bytes). */
static void copy_name(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ---- canonical text and id -------------------------------------------------- */

#define CANON_VERSION 1

typedef struct lines {
    char **v;
    int n, cap;
    int failed;
} lines;

static void add_line(lines *L, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#include <stdarg.h>

/* Append "key=value" with '\\' and '\n' in the value escaped (one line per value). */
static void add_line(lines *L, const char *key, const char *fmt, ...)
{
    if (L->failed) return;
    char val[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(val, sizeof val, fmt, ap);
    va_end(ap);
    size_t need = strlen(key) + 1 + 2 * strlen(val) + 1;
    char *s = malloc(need);
    if (!s) {
        L->failed = 1;
        return;
    }
    char *p = s + sprintf(s, "%s=", key);
    for (const char *q = val; *q; q++) {
        if (*q == '\\' || *q == '\n') {
            *p++ = '\\';
            *p++ = *q == '\n' ? 'n' : '\\';
        } else {
            *p++ = *q;
        }
    }
    *p = '\0';
    if (L->n == L->cap) {
        int cap = L->cap ? 2 * L->cap : 64;
        char **v = realloc(L->v, (size_t)cap * sizeof(char *));
        if (!v) {
            free(s);
            L->failed = 1;
            return;
        }
        L->v = v;
        L->cap = cap;
    }
    L->v[L->n++] = s;
}

/* A double as canonical text: values that mean the same give the same text
 * (-0 is written as 0). */
static double canon_double(double v) { return v == 0 ? 0.0 : v; }

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void add_params(lines *L, const char *prefix, const ghm_param_spec *spec, const ghm_params *p)
{
    char key[128];
    for (int i = 0; i < p->n; i++) {
        snprintf(key, sizeof key, "%s.params.%s", prefix, p->name[i]);
        const ghm_param_spec *s = spec ? ghm_param_spec_find(spec, p->name[i]) : NULL;
        if (s && s->added_later && p->value[i] == s->def) continue; /* ids of runs recorded before it */
        if (s && s->choices) {
            char buf[64];
            add_line(L, key, "%s", ghm_param_format(s, p->value[i], buf, sizeof buf));
        } else {
            add_line(L, key, "%.17g", canon_double(p->value[i]));
        }
    }
}

static const char *choice(const char *const *names, int i)
{
    int n = 0;
    while (names[n]) n++;
    return (i >= 0 && i < n) ? names[i] : "?";
}

/* How a setting's type enters the canonical text (an ID_ON setting is
 * written only when not 0: GHM_CANON_ON). */
enum {
    CANON_OF_INT = GHM_CANON_INT, CANON_OF_BOOL = GHM_CANON_INT, CANON_OF_DBL = GHM_CANON_DBL,
    CANON_OF_STR = GHM_CANON_STR, CANON_OF_DATASET = GHM_CANON_STR, CANON_OF_BACKBONE = GHM_CANON_STR,
    CANON_OF_CHOICE = GHM_CANON_CHOICE
};
#define GHM_SETTING_FIELD_ROW(path, type, member, def, lo, hi, lo_open, hi_open, choices, id, legacy, doc)           \
    {path, #member, offsetof(ghm_run_spec, member), sizeof(((ghm_run_spec *)0)->member),                               \
     (ghm_canon_kind)(GHM_SET_##id == GHM_SET_ID_ON ? GHM_CANON_ON : CANON_OF_##type), choices},
#define GHM_FIELD_ROW(key, member, kind) \
    {key, #member, offsetof(ghm_run_spec, member), sizeof(((ghm_run_spec *)0)->member), GHM_CANON_##kind, NULL},
const ghm_run_spec_field ghm_run_spec_fields[] = {GHM_SETTINGS(GHM_SETTING_FIELD_ROW)
                                                      GHM_RUN_SPEC_FIELDS(GHM_FIELD_ROW)};
#undef GHM_FIELD_ROW
#undef GHM_SETTING_FIELD_ROW
const int ghm_run_spec_n_fields = (int)(sizeof ghm_run_spec_fields / sizeof ghm_run_spec_fields[0]);

/* "a,b,c" of the int list at f, its count in the PART row of the same key. */
static void add_int_list(lines *L, const ghm_run_spec *r, const ghm_run_spec_field *f)
{
    int count = 0;
    for (int j = 0; j < ghm_run_spec_n_fields; j++)
        if (ghm_run_spec_fields[j].kind == GHM_CANON_PART && !strcmp(ghm_run_spec_fields[j].key, f->key))
            memcpy(&count, (const char *)r + ghm_run_spec_fields[j].offset, sizeof count);
    int cap = (int)(f->size / sizeof(int));
    const int *v = (const int *)(const void *)((const char *)r + f->offset);
    char tmp[4096];
    size_t len = 0;
    tmp[0] = '\0';
    for (int i = 0; i < count && i < cap && len + 16 < sizeof tmp; i++)
        len += (size_t)snprintf(tmp + len, sizeof tmp - len, "%s%d", i ? "," : "", v[i]);
    add_line(L, f->key, "%s", tmp);
}

/* A field of the fair protocol: written only when the run is not a plain
 * run's default there (experiment.h), so plain files keep their ids. */
static void add_protocol(lines *L, const ghm_run_spec *r, const ghm_run_spec_field *f, int v)
{
    size_t o = f->offset;
    int write;
    if (o == offsetof(ghm_run_spec, split.folds))
        write = v != 0;
    else if (o == offsetof(ghm_run_spec, split.fold))
        write = r->split.folds != 0 || v != 0;
    else if (o == offsetof(ghm_run_spec, eval_test))
        write = v != 1;
    else if (o == offsetof(ghm_run_spec, role))
        write = v != GHM_ROLE_PLAIN;
    else if (o == offsetof(ghm_run_spec, loss_entry))
        write = r->role != GHM_ROLE_PLAIN || v != 0;
    else if (o == offsetof(ghm_run_spec, trial))
        write = r->role != GHM_ROLE_PLAIN || v != -1;
    else /* reproduction */
        write = r->role == GHM_ROLE_FINAL || v != 0;
    if (!write) return;
    if (o == offsetof(ghm_run_spec, role)) {
        if (v == GHM_ROLE_TRIAL || v == GHM_ROLE_FINAL)
            add_line(L, f->key, "%s", v == GHM_ROLE_TRIAL ? "trial" : "final");
        else
            add_line(L, f->key, "%d", v);
    } else {
        add_line(L, f->key, "%d", v);
    }
}

int ghm_run_spec_canonical(const ghm_run_spec *r, char *buf, int n)
{
    lines L = {NULL, 0, 0, 0};
    char metrics[256] = "";

    add_line(&L, "ghm.canonical", "%d", CANON_VERSION);
    for (int i = 0; i < ghm_run_spec_n_fields; i++) {
        const ghm_run_spec_field *f = &ghm_run_spec_fields[i];
        const void *p = (const char *)r + f->offset;
        int iv = 0;
        if (f->size == sizeof(int)) memcpy(&iv, p, sizeof iv);
        switch (f->kind) {
        case GHM_CANON_SKIP:
        case GHM_CANON_PART:
            break;
        case GHM_CANON_STR:
            add_line(&L, f->key, "%.*s", (int)strnlen((const char *)p, f->size), (const char *)p);
            break;
        case GHM_CANON_INT:
            add_line(&L, f->key, "%d", iv);
            break;
        case GHM_CANON_U64: {
            uint64_t u;
            memcpy(&u, p, sizeof u);
            add_line(&L, f->key, "%llu", (unsigned long long)u);
            break;
        }
        case GHM_CANON_DBL: {
            double d;
            memcpy(&d, p, sizeof d);
            add_line(&L, f->key, "%.17g", canon_double(d));
            break;
        }
        case GHM_CANON_CHOICE:
            add_line(&L, f->key, "%s", choice(f->choices, iv));
            break;
        case GHM_CANON_CLASSES:
        case GHM_CANON_KS:
            add_int_list(&L, r, f);
            break;
        case GHM_CANON_METRIC:
            ghm_metric_id_text(&r->eval, metrics, sizeof metrics); /* the one METRIC field: eval.metrics */
            break;
        case GHM_CANON_BB_PARAMS: {
            const ghm_backbone_ops *bo = ghm_backbone_find(r->backbone);
            add_params(&L, f->key, bo ? bo->params : NULL, (const ghm_params *)p);
            break;
        }
        case GHM_CANON_LOSS_PARAMS: {
            const ghm_loss_ops *lo = ghm_loss_find(r->loss);
            add_params(&L, f->key, lo ? lo->params : NULL, (const ghm_params *)p);
            break;
        }
        case GHM_CANON_PROTOCOL:
            add_protocol(&L, r, f, iv);
            break;
        case GHM_CANON_ON:
            if (f->size == sizeof(double)) {
                double d;
                memcpy(&d, p, sizeof d);
                if (d != 0) add_line(&L, f->key, "%.17g", d);
            } else if (iv) {
                add_line(&L, f->key, "%d", iv);
            }
            break;
        }
    }
    add_line(&L, "eval.metrics", "%s", metrics);

    int rc = 0;
    if (L.failed) {
        rc = GHM_ENOMEM;
    } else {
        qsort(L.v, (size_t)L.n, sizeof(char *), cmp_str);
        long total = 0;
        for (int i = 0; i < L.n; i++) {
            size_t len = strlen(L.v[i]);
            if (buf && n > 0 && total < n - 1) {
                size_t room = (size_t)(n - 1 - total);
                size_t k = len < room ? len : room;
                memcpy(buf + total, L.v[i], k);
                if (k < room) buf[total + k] = '\n';
            }
            total += (long)len + 1;
        }
        if (buf && n > 0) buf[total < n ? total : n - 1] = '\0';
        rc = (int)total;
    }
    for (int i = 0; i < L.n; i++) free(L.v[i]);
    free(L.v);
    return rc;
}

static uint64_t fnv1a64(const char *s, size_t n)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

void ghm_run_spec_compute_id(ghm_run_spec *r)
{
    int len = ghm_run_spec_canonical(r, NULL, 0);
    char *buf = len > 0 ? malloc((size_t)len + 1) : NULL;
    if (!buf) {
        snprintf(r->run_id, sizeof r->run_id, "%016llx", 0ULL);
        return;
    }
    ghm_run_spec_canonical(r, buf, len + 1);
    snprintf(r->run_id, sizeof r->run_id, "%016llx", (unsigned long long)fnv1a64(buf, (size_t)len));
    free(buf);
}

/* ---- building one run ---------------------------------------------------------- */

/* Where each path of this run got its value (for cross-field messages). */
typedef struct where {
    int n;
    const char *path[GHM_CFG_MAX_SETTINGS + 2 * GHM_MAX_SWEPT];
    ghm_cfg_mark key[GHM_CFG_MAX_SETTINGS + 2 * GHM_MAX_SWEPT];
    ghm_cfg_mark val[GHM_CFG_MAX_SETTINGS + 2 * GHM_MAX_SWEPT];
} where;

static void where_add(where *w, const char *path, ghm_cfg_mark k, ghm_cfg_mark v)
{
    if (w->n >= (int)(sizeof w->path / sizeof w->path[0])) return;
    w->path[w->n] = path;
    w->key[w->n] = k;
    w->val[w->n] = v;
    w->n++;
}

/* Latest mark for path (value mark when want_val), or NULL-like: returns 0 when unset. */
static int where_find(const where *w, const char *path, int want_val, ghm_cfg_mark *m)
{
    for (int i = w->n - 1; i >= 0; i--)
        if (strcmp(w->path[i], path) == 0) {
            *m = want_val ? w->val[i] : w->key[i];
            return 1;
        }
    return 0;
}

static ghm_cfg_mark where_or(const where *w, const char *path, int want_val, ghm_cfg_mark def)
{
    ghm_cfg_mark m;
    return where_find(w, path, want_val, &m) ? m : def;
}

/* Resolve pending (name, text) params against spec into out. */
static int resolve_params(const ghm_cfg *c, const ghm_param_spec *spec, const ghm_cfg_pending *pend, const char *owner,
                          ghm_cfg_mark owner_mark, const char *const *extra, ghm_params *out, ghm_error *err)
{
    ghm_params user;
    ghm_params_clear(&user);
    int ns = ghm_param_spec_count(spec);
    for (int i = 0; i < pend->n; i++) {
        const ghm_param_spec *s = ghm_param_spec_find(spec, pend->name[i]);
        if (!s) {
            const char *cands[GHM_MAX_PARAMS + 8];
            int n = 0;
            for (int j = 0; j < ns && n < GHM_MAX_PARAMS; j++) cands[n++] = spec[j].name;
            for (int j = 0; extra && extra[j]; j++) cands[n++] = extra[j];
            const char *close = ghm_closest_name(pend->name[i], cands, n);
            char list[512] = "";
            for (int j = 0; j < ns; j++) {
                if (j) strncat(list, " | ", sizeof list - strlen(list) - 1);
                strncat(list, spec[j].name, sizeof list - strlen(list) - 1);
            }
            if (close)
                return ghm_cfg_error(err, c, pend->key[i], "%s: unknown parameter '%s' (did you mean '%s'?); its parameters: %s",
                                     owner, pend->name[i], close, ns ? list : "(none)");
            return ghm_cfg_error(err, c, pend->key[i], "%s: unknown parameter '%s'; its parameters: %s", owner,
                                 pend->name[i], ns ? list : "(none)");
        }
        if (!pend->text[i]) return ghm_cfg_error(err, c, pend->val[i], "%s: parameter '%s' has no value", owner, s->name);
        double v;
        int rc = ghm_param_parse(s, pend->text[i], &v, owner, err);
        if (rc) {
            ghm_cfg_mark m = pend->val[i];
            return ghm_error_prefix(err, "%s:%d:%d", c->file, m.line, m.col);
        }
        ghm_params_set(&user, s->name, v);
    }
    int rc = ghm_params_resolve(spec, &user, out, owner, err);
    if (rc) return ghm_error_prefix(err, "%s:%d:%d", c->file, owner_mark.line, owner_mark.col);
    return 0;
}

/* A run's combination: index into each swept list; loss sweeps first. */
typedef struct combo {
    int n;                        /* number of swept keys */
    const ghm_cfg_sweep *sw[GHM_MAX_SWEPT];
    int is_loss[GHM_MAX_SWEPT];
    int idx[GHM_MAX_SWEPT];
} combo;

/* Scratch of one run being built: where each path got its value, the
 * backbone and loss parameters still to resolve, the swept values. */
typedef struct build_state {
    where w;
    ghm_cfg_pending bb, lp;
    double swept_val[GHM_MAX_SWEPT];
} build_state;

/* Steps 1-3: the file's settings, the loss entry's params, the combination's values. */
static int apply_values(const ghm_cfg *c, const ghm_cfg_loss *L, const combo *cb, ghm_run_spec *r, build_state *st,
                        ghm_error *err)
{
    where *w = &st->w;
    ghm_cfg_pending *bb = &st->bb, *lp = &st->lp;
    double *swept_val = st->swept_val;
    int rc = 0;
    /* 1. every scalar setting of the file */
    for (int i = 0; i < c->n_settings && !rc; i++) {
        const ghm_cfg_setting *s = &c->settings[i];
        double v;
        rc = ghm_cfg_apply(c, r, bb, s->path, s->text, s->key, s->val, &v, err);
        where_add(w, s->path, s->key, s->val);
    }
    /* 2. the loss entry's params */
    for (int i = 0; i < L->n_params && !rc; i++) {
        const ghm_cfg_setting *s = &L->params[i];
        int k = lp->n++;
        copy_name(lp->name[k], GHM_PARAM_NAME_MAX, s->path);
        lp->text[k] = s->text;
        lp->key[k] = s->key;
        lp->val[k] = s->val;
    }
    /* 3. the combination's values (override) */
    for (int j = 0; j < cb->n && !rc; j++) {
        const ghm_cfg_sweep *sw = cb->sw[j];
        const char *text = sw->text[cb->idx[j]];
        ghm_cfg_mark vm = sw->marks[cb->idx[j]];
        swept_val[j] = NAN;
        if (cb->is_loss[j]) {
            int k;
            for (k = 0; k < lp->n; k++)
                if (strcmp(lp->name[k], sw->path) == 0) break;
            if (k == lp->n) {
                if (lp->n >= GHM_MAX_PARAMS) {
                    rc = ghm_cfg_error(err, c, sw->key, "loss '%s': too many parameters", L->name);
                    return rc;
                }
                lp->n++;
                copy_name(lp->name[k], GHM_PARAM_NAME_MAX, sw->path);
            }
            lp->text[k] = text;
            lp->key[k] = sw->key;
            lp->val[k] = vm;
        } else {
            rc = ghm_cfg_apply(c, r, bb, sw->path, text, sw->key, vm, &swept_val[j], err);
            where_add(w, sw->path, sw->key, vm);
        }
    }
    return rc;
}

/* Step 4: backbone and loss parameters against their specs. */
static int resolve_run_params(const ghm_cfg *c, const ghm_cfg_loss *L, ghm_run_spec *r, build_state *st,
                              ghm_error *err)
{
    static const char *const bb_fixed[] = {"name", "embedding_dim", "normalize", NULL};
    where *w = &st->w;
    const ghm_cfg_pending *bb = &st->bb, *lp = &st->lp;
    int rc;
    const ghm_backbone_ops *bo = ghm_backbone_find(r->backbone);
    if (!bo) return ghm_cfg_error(err, c, c->sec_backbone, "backbone: unknown backbone '%s'", r->backbone);
    char owner[96];
    snprintf(owner, sizeof owner, "backbone '%s'", r->backbone);
    rc = resolve_params(c, bo->params, bb, owner, where_or(w, "backbone.name", 1, c->sec_backbone), bb_fixed,
                        &r->backbone_params, err);
    if (rc) return rc;
    const ghm_loss_ops *lo = ghm_loss_find(L->name);
    snprintf(owner, sizeof owner, "loss '%s'", L->name);
    rc = resolve_params(c, lo->params, lp, owner, L->name_mark, NULL, &r->loss_params, err);
    if (rc) return rc;

    return 0;
}

/* Step 5a: the batch's shape. */
static int check_batch(const ghm_cfg *c, const ghm_run_spec *r, const where *w, ghm_error *err)
{
    int rc = 0;
    ghm_cfg_mark m;
    if (r->batch_size % r->m_per_class != 0) {
        m = where_or(w, "train.batch_size", 1, where_or(w, "train.m_per_class", 1, c->sec_train));
        rc = ghm_cfg_error(err, c, m, "train.batch_size (%d) must be a multiple of train.m_per_class (%d)",
                           r->batch_size, r->m_per_class);
        return rc;
    }
    if (r->batch_size / r->m_per_class < 2) {
        m = where_or(w, "train.m_per_class", 1, where_or(w, "train.batch_size", 1, c->sec_train));
        rc = ghm_cfg_error(err, c, m,
                           "train.batch_size (%d) / train.m_per_class (%d) gives %d class per batch; at least 2 are "
                           "needed for negatives",
                           r->batch_size, r->m_per_class, r->batch_size / r->m_per_class);
        return rc;
    }
    return rc;
}

/* Step 5b: keys of the data set that this run's data set or split cannot use. */
static int check_dataset_keys(const ghm_cfg *c, const ghm_run_spec *r, const where *w, ghm_error *err)
{
    int rc = 0;
    ghm_cfg_mark m;
    if (c->has_train_classes && r->split.protocol != GHM_SPLIT_CLASSES) {
        rc = ghm_cfg_error(err, c, c->train_classes_key,
                           "dataset.train_classes applies only to split: classes (this run uses split: %s)",
                           choice(ghm_cfg_split_names, r->split.protocol));
        return rc;
    }
    if (c->has_train_classes) {
        /* class counts known without loading (datasets/registry.c) */
        int known = ghm_dataset_known_classes(r->dataset_name, r->data.classes);
        for (int i = 0; known && i < r->split.n_train_classes; i++)
            if (r->split.train_classes[i] >= known) {
                rc = ghm_cfg_error(err, c, c->train_classes_key,
                                   "dataset.train_classes: class %d does not exist in '%s' (%d classes, ids 0..%d)",
                                   r->split.train_classes[i], r->dataset_name, known, known - 1);
                return rc;
            }
        if (known && r->split.n_train_classes >= known) {
            rc = ghm_cfg_error(err, c, c->train_classes_key,
                               "dataset.train_classes lists all %d classes of '%s'; leave some for testing", known,
                               r->dataset_name);
            return rc;
        }
    }
    {
        /* generator parameters apply to the data sets whose registry line lists them */
        static const char *const gen[] = {"dataset.classes", "dataset.train_per_class", "dataset.test_per_class",
                                          "dataset.image_size", NULL};
        const ghm_dataset_info *di = ghm_dataset_find(r->dataset_name);
        for (int i = 0; di && gen[i]; i++)
            if (!(di->params & ghm_dataset_param_bit(gen[i])) && where_find(w, gen[i], 0, &m)) {
                char users[256];
                size_t used = 0;
                int nu = 0;
                users[0] = '\0';
                for (int j = 0; j < ghm_dataset_count(); j++)
                    if (ghm_dataset_at(j)->params & ghm_dataset_param_bit(gen[i])) {
                        int wr = snprintf(users + used, sizeof users - used, "%s%s", nu++ ? ", " : "",
                                          ghm_dataset_at(j)->name);
                        if (wr > 0 && (size_t)wr < sizeof users - used) used += (size_t)wr;
                    }
                rc = ghm_cfg_error(err, c, m, "%s applies only to the %s dataset%s (this run uses '%s')", gen[i], users,
                                   nu > 1 ? "s" : "", r->dataset_name);
                return rc;
            }
    }
    ghm_error dserr = {0};
    if (!r->dataset_path[0] && ghm_dataset_check(r->dataset_name, r->dataset_path, &dserr)) { /* its own checks */
        rc = ghm_cfg_error(err, c, where_or(w, "dataset.name", 1, c->sec_dataset), "%s", dserr.msg);
        return rc;
    }
    return rc;
}

/* Step 5c: optimizer and schedule keys that this run's optimizer or schedule does not use. */
static int check_optim_keys(const ghm_cfg *c, const ghm_run_spec *r, const where *w, ghm_error *err)
{
    int rc = 0;
    ghm_cfg_mark m;
    {
        static const char *const sgd_only[] = {"train.optimizer.momentum", "train.optimizer.nesterov", NULL};
        static const char *const adam_only[] = {"train.optimizer.beta1", "train.optimizer.beta2",
                                                "train.optimizer.eps", NULL};
        const char *oname = choice(ghm_optim_names, r->optim.kind);
        for (int i = 0; sgd_only[i]; i++)
            if (r->optim.kind != GHM_OPT_SGD && where_find(w, sgd_only[i], 0, &m)) {
                rc = ghm_cfg_error(err, c, m, "%s applies only to optimizer sgd (this run uses %s)", sgd_only[i], oname);
                return rc;
            }
        for (int i = 0; adam_only[i]; i++)
            if (r->optim.kind == GHM_OPT_SGD && where_find(w, adam_only[i], 0, &m)) {
                rc = ghm_cfg_error(err, c, m, "%s applies only to optimizers adam and adamw (this run uses sgd)",
                                   adam_only[i]);
                return rc;
            }
        const char *sname = choice(ghm_schedule_names, r->schedule.kind);
        if (r->schedule.kind != GHM_SCHED_STEP) {
            if (where_find(w, "train.schedule.step_epochs", 0, &m) || where_find(w, "train.schedule.gamma", 0, &m)) {
                rc = ghm_cfg_error(err, c, m,
                                   "train.schedule.step_epochs and gamma apply only to schedule step (this run uses %s)",
                                   sname);
                return rc;
            }
        }
        if (r->schedule.kind != GHM_SCHED_COSINE && where_find(w, "train.schedule.min_lr_ratio", 0, &m)) {
            rc = ghm_cfg_error(err, c, m, "train.schedule.min_lr_ratio applies only to schedule cosine (this run uses %s)",
                               sname);
            return rc;
        }
    }
    /* combinations that cannot be meant */
    if (r->schedule.warmup_epochs > r->epochs) {
        rc = ghm_cfg_error(err, c, where_or(w, "train.schedule.warmup_epochs", 1, c->sec_train),
                           "train.schedule.warmup_epochs = %g is longer than the run (train.epochs = %d): the learning "
                           "rate would never reach its value",
                           r->schedule.warmup_epochs, r->epochs);
        return rc;
    }
    return rc;
}

/* Step 5d: the last combinations that cannot be meant. */
static int check_late(const ghm_cfg *c, const ghm_cfg_loss *L, const ghm_run_spec *r, const where *w, ghm_error *err)
{
    int rc = 0;
    ghm_error dserr = {0};
    if (r->dataset_path[0] && ghm_dataset_check(r->dataset_name, r->dataset_path, &dserr)) { /* its own checks */
        rc = ghm_cfg_error(err, c, where_or(w, "dataset.path", 1, c->sec_dataset), "%s", dserr.msg);
        return rc;
    }
    {
        double pm, nm;
        if (ghm_params_find(&r->loss_params, "pos_margin", &pm) && ghm_params_find(&r->loss_params, "neg_margin", &nm) &&
            pm >= nm) {
            rc = ghm_cfg_error(err, c, L->mark,
                               "loss '%s': pos_margin = %g must be below neg_margin = %g (positive pairs would be "
                               "pulled in no closer than negatives are pushed out)",
                               L->name, pm, nm);
            return rc;
        }
    }

    return rc;
}

/* Step 6: the values that follow from the others, and what was swept. */
static void set_derived(ghm_run_spec *r, const combo *cb, const double *swept_val, uint64_t seed)
{
    r->data.name = r->dataset_name;
    r->data.path = r->dataset_path[0] ? r->dataset_path : NULL;
    r->data.data_root = NULL;
    r->data.seed = seed;
    r->split.seed = seed;
    r->eval.seed = seed;
    r->n_swept = cb->n;
    for (int j = 0; j < cb->n; j++) {
        const ghm_cfg_sweep *sw = cb->sw[j];
        double v = swept_val[j];
        if (cb->is_loss[j])
            v = ghm_params_get(&r->loss_params, sw->path, NAN);
        else if (isnan(v) && strncmp(sw->path, "backbone.", 9) == 0)
            v = ghm_params_get(&r->backbone_params, sw->path + 9, NAN);
        if (!isfinite(v)) v = cb->idx[j]; /* strings: position in the list */
        snprintf(r->swept_name[j], GHM_NAME_MAX, "%s", sw->path);
        snprintf(r->swept_text[j], GHM_NAME_MAX, "%s", sw->text[cb->idx[j]]);
        r->swept_value[j] = v;
    }
}

static int build_run(const ghm_cfg *c, const ghm_cfg_loss *L, const combo *cb, uint64_t seed, ghm_run_spec *r,
                     ghm_error *err)
{
    *r = c->tmpl;
    snprintf(r->experiment, sizeof r->experiment, "%s", c->name);
    snprintf(r->loss, sizeof r->loss, "%s", L->name);
    r->seed = seed;
    build_state *st = calloc(1, sizeof *st);
    if (!st) return ghm_error_set(err, GHM_ENOMEM, "out of memory building the plan");
    int rc = apply_values(c, L, cb, r, st, err);
    if (!rc) rc = resolve_run_params(c, L, r, st, err);
    if (!rc) rc = check_batch(c, r, &st->w, err);
    if (!rc) rc = check_dataset_keys(c, r, &st->w, err);
    if (!rc) rc = check_optim_keys(c, r, &st->w, err);
    if (!rc) rc = check_late(c, L, r, &st->w, err);
    if (!rc) {
        set_derived(r, cb, st->swept_val, seed);
        ghm_run_spec_compute_id(r);
    }
    free(st);
    return rc;
}

/* ---- runs of a search file ----------------------------------------------------- */

const char *ghm_search_value_text(const ghm_search_dim *d, double x, char *buf, size_t n)
{
    if (d->kind == GHM_DIM_CHOICES) {
        int i = (int)x;
        if (i < 0) i = 0;
        if (i >= d->n_choices) i = d->n_choices - 1;
        snprintf(buf, n, "%s", d->choices[i]);
    } else if (d->is_int) {
        snprintf(buf, n, "%.0f", x);
    } else {
        snprintf(buf, n, "%.6g", x);
    }
    return buf;
}

int ghm_cfg_build_search_run(const ghm_cfg *c, int l, const double *x, int role, int trial, int reproduction,
                             int fold, uint64_t seed, ghm_run_spec *r, ghm_error *err)
{
    const ghm_cfg_loss *L = &c->losses[l];
    const ghm_cfg_search *S = c->search;
    const ghm_search_space *sp = &S->conf.space[l];
    const ghm_loss_ops *ops = ghm_loss_find(L->name);
    ghm_cfg_sweep sw[GHM_SEARCH_MAX_DIMS];
    char text[GHM_SEARCH_MAX_DIMS][GHM_NAME_MAX];
    char *tp[GHM_SEARCH_MAX_DIMS];
    ghm_cfg_mark vm[GHM_SEARCH_MAX_DIMS];
    combo cb;
    memset(&cb, 0, sizeof cb);
    for (int j = 0; j < sp->n; j++) {
        const ghm_search_dim *d = &sp->dims[j];
        const ghm_cfg_dim_marks *dm = &S->dm[l][j];
        /* Values are written with %.6g: the text is what the run gets, so
         * record, canonical text and table agree. */
        ghm_search_value_text(d, x[j], text[j], sizeof text[j]);
        tp[j] = text[j];
        if (d->kind == GHM_DIM_CHOICES) vm[j] = dm->choice[(int)x[j] < d->n_choices ? (int)x[j] : 0];
        else vm[j] = x[j] <= d->lo ? dm->lo : x[j] >= d->hi ? dm->hi : dm->key;
        memset(&sw[j], 0, sizeof sw[j]);
        copy_name(sw[j].path, sizeof sw[j].path, d->path);
        sw[j].key = dm->key;
        sw[j].n = 1;
        sw[j].text = &tp[j];
        sw[j].marks = &vm[j];
        cb.sw[cb.n] = &sw[j];
        cb.is_loss[cb.n] = ops && ghm_param_spec_find(ops->params, d->path) != NULL;
        cb.idx[cb.n] = 0;
        cb.n++;
    }
    int rc = build_run(c, L, &cb, seed, r, err);
    if (rc) return rc;
    for (int j = 0; j < sp->n; j++)
        if (sp->dims[j].kind == GHM_DIM_CHOICES) r->swept_value[j] = x[j]; /* position in the choices */
    r->role = role;
    r->loss_entry = l;
    r->trial = trial;
    r->reproduction = role == GHM_ROLE_FINAL ? reproduction : 0;
    r->eval_test = role == GHM_ROLE_TRIAL ? 0 : 1;
    if (S->conf.folds >= 2) {
        r->split.folds = S->conf.folds;
        r->split.fold = fold;
        r->split.val_fraction = 0;
    }
    /* trial runs evaluate only their validation fold; their test embeddings are never made */
    if (role == GHM_ROLE_TRIAL) r->save_embeddings = 0;
    if (role == GHM_ROLE_FINAL) r->save_embeddings = 1; /* the concatenated evaluation needs them */
    r->data.name = r->dataset_name;
    r->data.path = r->dataset_path[0] ? r->dataset_path : NULL;
    ghm_run_spec_compute_id(r);
    return 0;
}

/* Checks of a search file that need the whole file: blocks that belong
 * together, the objective, folds against the classes, and every end of every
 * searched range (a run is built at min, max and each choice, so a value out
 * of a parameter's range is an error now, not in trial 17). */
static int search_finalize(ghm_cfg *c, ghm_error *err)
{
    ghm_cfg_search *S = c->search;
    ghm_search_config *s = &S->conf;
    if (!S->present) {
        ghm_cfg_mark m = S->has_protocol ? S->m_protocol : S->has_final ? S->m_final : S->has_compare ? S->m_compare
                           : S->has_primary ? S->m_primary : S->loss_space_mark[0];
        for (int l = 0; l < c->n_losses && !S->has_protocol && !S->has_final && !S->has_compare && !S->has_primary; l++)
            if (S->loss_has_space[l] || S->conf.space[l].has_seed) {
                m = S->loss_has_space[l] ? S->loss_space_mark[l] : S->loss_seed_mark[l];
                break;
            }
        return ghm_cfg_error(err, c, m,
                             "protocol:, final:, compare_to:, primary: and a loss's search: and search_seed: belong to a "
                             "hyper-parameter search; "
                             "add a top-level search: block (e.g. search: {method: tpe, trials: 20})");
    }
    if (c->n_sweeps > 0)
        return ghm_cfg_error(err, c, c->sweeps[0].key,
                             "sweep: cannot be combined with search: (give the searched keys a range in each loss's "
                             "search: map instead)");
    for (int l = 0; l < c->n_losses; l++)
        if (c->losses[l].n_sweeps > 0)
            return ghm_cfg_error(err, c, c->losses[l].sweeps[0].key,
                                 "loss '%s': sweep: cannot be combined with search: (use a search: map with choices: "
                                 "[...] instead)",
                                 c->losses[l].name);
    s->n_losses = c->n_losses;
    for (int l = 0; l < c->n_losses; l++)
        if (s->space[l].has_seed && !S->loss_has_space[l])
            return ghm_cfg_error(err, c, S->loss_seed_mark[l],
                                 "loss '%s': search_seed: is the seed of the loss's own search, but the entry has no "
                                 "search: map (it is not tuned)",
                                 c->losses[l].name);
    /* reproductions and their seeds */
    if (c->has_seeds && S->has_reps && c->n_seeds != s->reproductions)
        return ghm_cfg_error(err, c, S->m_reps,
                             "final.reproductions = %d but seeds: lists %d seeds; the seeds are those of the "
                             "reproductions, so give one seed per reproduction (or drop one of the two keys)",
                             s->reproductions, c->n_seeds);
    if (c->has_seeds) {
        s->reproductions = c->n_seeds;
        s->n_rep_seeds = c->n_seeds;
        memcpy(s->rep_seeds, c->seeds, sizeof(uint64_t) * (size_t)c->n_seeds);
    } else {
        s->n_rep_seeds = s->reproductions;
        for (int i = 0; i < s->reproductions; i++) s->rep_seeds[i] = (uint64_t)i;
    }
    /* compare_to */
    if (!S->has_compare) {
        snprintf(s->compare_to, sizeof s->compare_to, "%s", c->losses[0].name);
    } else {
        int found = 0;
        for (int l = 0; l < c->n_losses; l++) found += strcmp(c->losses[l].name, s->compare_to) == 0;
        if (!found) {
            const char *names[GHM_CFG_MAX_LOSSES];
            for (int l = 0; l < c->n_losses; l++) names[l] = c->losses[l].name;
            const char *close = ghm_closest_name(s->compare_to, names, c->n_losses);
            return ghm_cfg_error(err, c, S->m_compare, "compare_to: '%s' is not a loss of this file%s%s%s",
                                 s->compare_to, close ? " (did you mean '" : "", close ? close : "", close ? "'?)" : "");
        }
        if (found > 1)
            return ghm_cfg_error(err, c, S->m_compare,
                                 "compare_to: loss '%s' has %d entries in this file; the reference must be one entry",
                                 s->compare_to, found);
    }
    /* the plan's size, known now: trials x folds + reproductions x folds per searched loss */
    {
        int K = s->folds >= 2 ? s->folds : 1;
        long cap = 0;
        if (s->halving && ghm_search_n_rungs(s) > GHM_SEARCH_MAX_RUNGS)
            return ghm_cfg_error(err, c, S->m_min_fraction,
                                 "search.halving: min_fraction %g with eta %d gives %d rungs, more than %d; use a "
                                 "larger min_fraction or eta",
                                 s->min_fraction, s->eta, ghm_search_n_rungs(s), GHM_SEARCH_MAX_RUNGS);
        int slots = ghm_search_trial_slots(s);
        for (int l = 0; l < c->n_losses; l++)
            cap += (long)(s->space[l].n ? slots : 0) * K + (long)s->reproductions * K;
        if (cap > GHM_CFG_MAX_RUNS)
            return ghm_cfg_error(err, c, S->m_trials.line ? S->m_trials : S->mark,
                                 "search.trials = %d: the search would have %ld runs (trials (over all rungs) x folds + "
                                 "reproductions x folds, per loss), more than %d; use fewer trials, folds or losses",
                                 s->trials, cap, GHM_CFG_MAX_RUNS);
    }
    int prc = ghm_cfg_primary_check(c, err);
    if (prc) return prc;
    /* the objective must be computed */
    const ghm_eval_opts *eo = &c->tmpl.eval;
    const char *o = s->objective;
    if (!ghm_metric_key_computed(eo, o))
        return ghm_cfg_error(err, c, S->m_objective.line ? S->m_objective : S->mark,
                             "search.objective = %s is not computed: add it to eval.metrics (and 1 to eval.recall_at "
                             "for recall@1)",
                             o);
    /* validation: folds or val_fraction */
    int has_vf = 0;
    ghm_cfg_mark vfm = c->sec_dataset;
    for (int i = 0; i < c->n_settings; i++)
        if (!strcmp(c->settings[i].path, "dataset.val_fraction")) {
            has_vf = c->settings[i].text && strtod(c->settings[i].text, NULL) != 0;
            vfm = c->settings[i].key;
        }
    if (s->folds >= 2 && has_vf)
        return ghm_cfg_error(err, c, vfm,
                             "dataset.val_fraction is not used with protocol.folds = %d (each fold validates in "
                             "turn); remove it, or set protocol.folds: 1 for a single validation split",
                             s->folds);
    return 0;
}

/* Halving needs a training length in steps, and a first rung of at least one
 * step per epoch (checked on every run built at the ends of the ranges, since
 * steps_per_epoch may itself be searched). */
static int halving_check(const ghm_cfg *c, int l, const ghm_run_spec *r, ghm_error *err)
{
    const ghm_cfg_search *S = c->search;
    const ghm_search_config *s = &S->conf;
    if (!s->halving) return 0;
    if (r->steps_per_epoch <= 0)
        return ghm_cfg_error(err, c, S->m_halving,
                             "search.halving counts the training length in steps: loss '%s' has "
                             "train.steps_per_epoch = 0 (one pass over the data); set train.steps_per_epoch",
                             c->losses[l].name);
    /* at least one step per epoch, to the 1% that makes 0.111 x 9 the full length too */
    if (s->min_fraction * r->steps_per_epoch < 0.99)
        return ghm_cfg_error(err, c, S->m_min_fraction,
                             "search.halving.min_fraction = %g of train.steps_per_epoch = %d (loss '%s') is %.3g steps "
                             "per epoch, less than 1; use a min_fraction of at least %.3g or more steps per epoch",
                             s->min_fraction, r->steps_per_epoch, c->losses[l].name,
                             s->min_fraction * r->steps_per_epoch, 1.0 / r->steps_per_epoch);
    return 0;
}

/* After the first run is built (so the dataset and split are known): folds
 * against the training classes, and every end of every searched range. */
static int search_check_runs(const ghm_cfg *c, ghm_error *err)
{
    const ghm_cfg_search *S = c->search;
    const ghm_search_config *s = &S->conf;
    ghm_run_spec *r = malloc(sizeof *r);
    if (!r) return ghm_error_set(err, GHM_ENOMEM, "out of memory checking the search");
    int rc = 0;
    double x[GHM_SEARCH_MAX_DIMS];
    for (int l = 0; l < c->n_losses && !rc; l++) {
        const ghm_search_space *sp = &s->space[l];
        for (int j = 0; j < sp->n; j++)
            x[j] = sp->dims[j].kind == GHM_DIM_CHOICES ? 0 : sp->dims[j].lo;
        rc = ghm_cfg_build_search_run(c, l, x, GHM_ROLE_TRIAL, 0, 0, 0, 0, r, err);
        if (!rc) rc = halving_check(c, l, r, err);
        for (int j = 0; j < sp->n && !rc; j++) {
            const ghm_search_dim *d = &sp->dims[j];
            double keep = x[j];
            if (d->kind == GHM_DIM_CHOICES) {
                /* choices that resolve to the same setting ([0.5, 0.50], [true, yes]) would waste trials:
                 * the same run id means the same resolved values */
                char ids[GHM_SEARCH_MAX_CHOICES][sizeof r->run_id];
                for (int k = 0; k < d->n_choices && !rc; k++) {
                    x[j] = k;
                    rc = ghm_cfg_build_search_run(c, l, x, GHM_ROLE_TRIAL, 0, 0, 0, 0, r, err);
                    if (rc) break;
                    memcpy(ids[k], r->run_id, sizeof ids[k]);
                    for (int q = 0; q < k; q++)
                        if (strcmp(ids[q], ids[k]) == 0) {
                            rc = ghm_cfg_error(err, c, S->dm[l][j].choice[k],
                                               "loss '%s' search: choice '%s' of '%s' is the same setting as choice "
                                               "'%s'; list each value once",
                                               c->losses[l].name, d->choices[k], d->path, d->choices[q]);
                            break;
                        }
                }
            } else {
                x[j] = d->hi;
                rc = ghm_cfg_build_search_run(c, l, x, GHM_ROLE_TRIAL, 0, 0, 0, 0, r, err);
                if (!rc) rc = halving_check(c, l, r, err);
            }
            x[j] = keep;
        }
        if (!rc && l == 0) {
            int known = ghm_dataset_known_classes(r->dataset_name, r->data.classes);
            if (known && s->folds >= 2) {
                int ntr = r->split.protocol == GHM_SPLIT_CLASSES
                              ? (r->split.n_train_classes ? r->split.n_train_classes : known / 2)
                              : known;
                if (r->split.protocol == GHM_SPLIT_CLASSES && ntr / s->folds < 2)
                    rc = ghm_cfg_error(err, c, S->has_folds ? S->m_folds : S->mark,
                                       "protocol.folds = %d: the class-disjoint protocol splits the %d training classes "
                                       "into class-disjoint folds of at least 2 classes each, so at most %d folds",
                                       s->folds, ntr, ntr / 2);
            }
            if (!rc && s->folds < 2 && r->split.val_fraction <= 0)
                rc = ghm_cfg_error(err, c, S->has_folds ? S->m_folds : S->mark,
                                   "protocol.folds = 1 validates on dataset.val_fraction, which is 0: set "
                                   "dataset.val_fraction (or use protocol.folds >= 2)");
        }
    }
    free(r);
    return rc;
}

/* ---- the whole plan --------------------------------------------------------------- */

typedef struct id_pos {
    const char *id;
    int index;
} id_pos;

static int cmp_id(const void *a, const void *b)
{
    const id_pos *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

static int expand(const ghm_cfg *c, ghm_experiment *e, ghm_error *err)
{
    /* count */
    long total = 0;
    long per_loss[GHM_CFG_MAX_LOSSES];
    for (int l = 0; l < c->n_losses; l++) {
        const ghm_cfg_loss *L = &c->losses[l];
        if (L->n_sweeps + c->n_sweeps > GHM_MAX_SWEPT)
            return ghm_cfg_error(err, c, L->mark, "loss '%s': %d swept keys with the top-level sweep, at most %d",
                                 L->name, L->n_sweeps + c->n_sweeps, GHM_MAX_SWEPT);
        long k = c->n_seeds;
        for (int s = 0; s < L->n_sweeps && k <= GHM_CFG_MAX_RUNS; s++) k *= L->sweeps[s].n;
        for (int s = 0; s < c->n_sweeps && k <= GHM_CFG_MAX_RUNS; s++) k *= c->sweeps[s].n;
        per_loss[l] = k;
        total += k;
        if (total > GHM_CFG_MAX_RUNS)
            return ghm_cfg_error(err, c, L->mark, "the plan has more than %d runs; reduce the sweeps or seeds",
                                 GHM_CFG_MAX_RUNS);
    }
    e->runs = calloc((size_t)total, sizeof(ghm_run_spec));
    if (!e->runs) return ghm_error_set(err, GHM_ENOMEM, "out of memory: plan of %ld runs", total);

    int ri = 0;
    for (int l = 0; l < c->n_losses; l++) {
        const ghm_cfg_loss *L = &c->losses[l];
        combo cb;
        memset(&cb, 0, sizeof cb);
        for (int s = 0; s < L->n_sweeps; s++) {
            cb.sw[cb.n] = &L->sweeps[s];
            cb.is_loss[cb.n++] = 1;
        }
        for (int s = 0; s < c->n_sweeps; s++) cb.sw[cb.n++] = &c->sweeps[s];
        long n_combo = per_loss[l] / c->n_seeds;
        for (long k = 0; k < n_combo; k++) {
            /* mixed radix, last key fastest */
            long rem = k;
            for (int j = cb.n - 1; j >= 0; j--) {
                cb.idx[j] = (int)(rem % cb.sw[j]->n);
                rem /= cb.sw[j]->n;
            }
            for (int s = 0; s < c->n_seeds; s++) {
                ghm_run_spec *r = &e->runs[ri];
                int rc = build_run(c, L, &cb, c->seeds[s], r, err);
                if (rc) return rc;
                r->index = ri;
                /* fix the self-pointers (the struct is in its final place now) */
                r->data.name = r->dataset_name;
                r->data.path = r->dataset_path[0] ? r->dataset_path : NULL;
                ri++;
                e->n_runs = ri;
            }
        }
    }

    /* identical runs would share a directory: refuse */
    id_pos *ids = malloc((size_t)e->n_runs * sizeof *ids);
    if (!ids) return ghm_error_set(err, GHM_ENOMEM, "out of memory checking run ids");
    for (int i = 0; i < e->n_runs; i++) ids[i] = (id_pos){e->runs[i].run_id, i};
    qsort(ids, (size_t)e->n_runs, sizeof *ids, cmp_id);
    int rc = 0;
    for (int i = 1; i < e->n_runs && !rc; i++)
        if (strcmp(ids[i].id, ids[i - 1].id) == 0) {
            int a = ids[i - 1].index, b = ids[i].index;
            /* find the loss entry of run b */
            int acc = 0, l = 0;
            for (; l < c->n_losses; l++) {
                acc += (int)per_loss[l];
                if (b < acc) break;
            }
            if (l >= c->n_losses) l = c->n_losses - 1;
            rc = ghm_cfg_error(err, c, c->losses[l].mark,
                               "runs #%d and #%d are identical (loss '%s', same resolved values, run id %s); remove the "
                               "duplicate loss entry or sweep value",
                               a + 1, b + 1, e->runs[b].loss, e->runs[b].run_id);
        }
    free(ids);
    if (rc) return rc;

    /* union of swept names, first-seen order */
    for (int i = 0; i < e->n_runs; i++)
        for (int j = 0; j < e->runs[i].n_swept; j++) {
            const char *nm = e->runs[i].swept_name[j];
            int k;
            for (k = 0; k < e->n_swept; k++)
                if (strcmp(e->swept_names[k], nm) == 0) break;
            if (k == e->n_swept) {
                if (e->n_swept >= GHM_MAX_SWEPT * 4)
                    return ghm_cfg_error(err, c, c->root, "too many distinct swept names in one file (at most %d)",
                                         GHM_MAX_SWEPT * 4);
                snprintf(e->swept_names[e->n_swept++], GHM_NAME_MAX, "%s", nm);
            }
        }
    return 0;
}

int ghm_plan_build(const char *yaml, const char *path, ghm_experiment *out, ghm_error *err)
{
    memset(out, 0, sizeof *out);
    ghm_error_clear(err);
    if (!yaml) return ghm_error_set(err, GHM_EINPUT, "%s: no text", path ? path : "<string>");
    ghm_cfg *c = malloc(sizeof *c);
    if (!c) return ghm_error_set(err, GHM_ENOMEM, "out of memory reading %s", path ? path : "<string>");
    int rc = ghm_cfg_parse(yaml, strlen(yaml), path, c, err);
    if (rc) {
        free(c);
        return rc;
    }
    snprintf(out->name, sizeof out->name, "%s", c->name);
    snprintf(out->file, sizeof out->file, "%s", c->file);
    out->n_seeds = c->n_seeds;
    out->report_formats = c->report_formats;
    memcpy(out->seeds, c->seeds, sizeof c->seeds);
    out->n_losses = c->n_losses;
    for (int l = 0; l < c->n_losses; l++) snprintf(out->loss_names[l], sizeof out->loss_names[l], "%s", c->losses[l].name);
    if (c->search) {
        rc = search_finalize(c, err);
        if (!rc) rc = search_check_runs(c, err);
        if (!rc) {
            out->search = malloc(sizeof *out->search);
            if (!out->search) rc = ghm_error_set(err, GHM_ENOMEM, "out of memory");
            else *out->search = c->search->conf;
        }
        if (!rc) {
            out->cfg = c; /* the runs: ghm_search_expand (experiment/experiment_load.c) */
            return 0;
        }
        ghm_cfg_free(c);
        free(c);
        return rc;
    }
    rc = expand(c, out, err);
    out->cfg = c; /* kept: ghm_experiment_check_inputs points into the file */
    if (rc) ghm_experiment_free(out);
    return rc;
}

void ghm_experiment_free(ghm_experiment *e)
{
    if (!e) return;
    free(e->runs);
    e->runs = NULL;
    e->n_runs = 0;
    free(e->search);
    e->search = NULL;
    if (e->cfg) {
        ghm_cfg_free(e->cfg);
        free(e->cfg);
        e->cfg = NULL;
    }
}
