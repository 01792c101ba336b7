/* Concatenated evaluation of a search's final runs: for each loss and
 * reproduction, the k fold models' test embeddings side by side, each row
 * L2-normalised, evaluated as one embedding ("concatenated" in the Reality
 * Check's terms; the "separate" figure is the mean of the k models' own test
 * metrics, taken from their records).
 *
 * The result is a record of its own in <out>/ensembles/<id>/record.json, id =
 * a hash of the member run ids, so it is computed once, survives without the
 * (uncommitted) embeddings and is redone only when its members change.
 */
#include "report/search_report.h"

#include "../core/json.h"
#include "../core/npy.h"
#include "../eval/eval.h"
#include "experiment/record.h"
#include "runner/run.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void ghm_ensemble_id(const char *const *member_ids, int k, char out[24])
{
    uint64_t h = 14695981039346656037ULL;
    const char *tag = "ghm.ensemble.concat.1";
    for (const char *p = tag; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    for (int i = 0; i < k; i++) {
        for (const char *p = member_ids[i]; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        h = (h ^ '\n') * 1099511628211ULL;
    }
    snprintf(out, 24, "%016llx", (unsigned long long)h);
}

int ghm_ensemble_path(const char *out_dir, const char *id, char *buf, int n)
{
    int k = snprintf(buf, (size_t)n, "%s/ensembles/%s", out_dir, id);
    return (k < 0 || k >= n) ? -1 : k;
}

/* The font family of each test item of run r, for family-held-out evaluation
 * (eval.exclude_same_family): the embeddings files hold labels only (the
 * original class ids), so the families come from the data set, split as the
 * run split it. The split's test classes must equal the saved labels item for
 * item, else the embeddings are not this data's test set and nothing is
 * evaluated. On success *sp holds the split (free with ghm_split_free) and
 * *groups points into it. */
static int ensemble_groups(const ghm_run_spec *r, const char *npy, const int *labels, int n, ghm_data_cache **cache,
                           ghm_split *sp, const int **groups, ghm_error *err)
{
    int rc;
    if (!*cache && (rc = ghm_data_cache_create(cache, err)) < 0) return rc;
    ghm_dataset_opts dopts = r->data;
    dopts.name = r->dataset_name;
    dopts.path = r->dataset_path[0] ? r->dataset_path : NULL;
    const ghm_dataset *ds = NULL;
    if ((rc = ghm_data_cache_get(*cache, &dopts, &ds, err)) < 0) return rc;
    if ((rc = ghm_split_make(ds, &r->split, sp, err)) < 0) return rc;
    const ghm_images *t = &sp->test.img;
    if (!t->groups) {
        ghm_split_free(sp);
        return ghm_error_set(err, GHM_EINPUT,
                             "%s: eval.exclude_same_family is on but data set '%s' has no font family per image", npy,
                             r->dataset_name);
    }
    int same = t->n == n;
    for (int i = 0; same && i < n; i++) same = sp->test.class_ids[t->labels[i]] == labels[i];
    if (!same) {
        ghm_split_free(sp);
        return ghm_error_set(err, GHM_EINPUT,
                             "%s: these %d test labels are not those of the data set's test split (%d items) of run "
                             "%s; the families of the items cannot be matched",
                             npy, n, t->n, r->run_id);
    }
    *groups = t->groups;
    return 0;
}

/* Evaluate one ensemble: members[k] are the fold runs of one reproduction. */
static int ensemble_eval(const char *out_dir, const ghm_run_spec *const *members, int k, const char *id,
                         ghm_data_cache **cache, ghm_error *err)
{
    ghm_split sp;
    int have_split = 0;
    char lab_path[GHM_PATH_MAX + 128] = "";
    float **emb = calloc((size_t)k, sizeof(float *));
    int **lab = calloc((size_t)k, sizeof(int *));
    float *cat = NULL;
    int n = -1, d_total = 0, rc = 0;
    int *dims = calloc((size_t)k, sizeof(int));
    if (!emb || !lab || !dims) {
        rc = ghm_error_set(err, GHM_ENOMEM, "out of memory (ensemble)");
        goto done;
    }
    for (int i = 0; i < k && !rc; i++) {
        char dir[GHM_PATH_MAX + 64], p[GHM_PATH_MAX + 128];
        ghm_record_run_dir(out_dir, members[i]->run_id, dir, sizeof dir);
        int ni, di, nl;
        snprintf(p, sizeof p, "%s/embeddings_test.npy", dir);
        if ((rc = ghm_npy_read_f32_2d(p, &emb[i], &ni, &di, err)) < 0) break;
        snprintf(p, sizeof p, "%s/embeddings_test_labels.npy", dir);
        if (i == 0) snprintf(lab_path, sizeof lab_path, "%s", p);
        if ((rc = ghm_npy_read_labels(p, &lab[i], &nl, err)) < 0) break;
        if (nl != ni || (n >= 0 && ni != n)) {
            rc = ghm_error_set(err, GHM_EINPUT, "%s: %d embeddings and %d labels, other folds have %d", p, ni, nl, n);
            break;
        }
        if (i > 0 && memcmp(lab[i], lab[0], sizeof(int) * (size_t)ni) != 0) {
            rc = ghm_error_set(err, GHM_EINPUT,
                               "%s: the test items differ from fold 0's (the folds of one reproduction must share the "
                               "test set)",
                               p);
            break;
        }
        n = ni;
        dims[i] = di;
        d_total += di;
    }
    if (rc) goto done;
    cat = malloc(sizeof(float) * (size_t)n * (size_t)d_total + 1);
    if (!cat) {
        rc = ghm_error_set(err, GHM_ENOMEM, "out of memory (ensemble of %d x %d)", n, d_total);
        goto done;
    }
    for (int r = 0; r < n; r++) {
        float *row = cat + (size_t)r * d_total;
        int o = 0;
        for (int i = 0; i < k; i++) {
            memcpy(row + o, emb[i] + (size_t)r * dims[i], sizeof(float) * (size_t)dims[i]);
            o += dims[i];
        }
        double s = 0;
        for (int j = 0; j < d_total; j++) s += (double)row[j] * row[j];
        float inv = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
        for (int j = 0; j < d_total; j++) row[j] *= inv;
    }
    ghm_metrics m;
    ghm_eval_opts eo = members[0]->eval;
    if (eo.exclude_same_group) { /* family-held-out (glyphs): the families of the test items */
        const int *groups = NULL;
        if ((rc = ensemble_groups(members[0], lab_path, lab[0], n, cache, &sp, &groups, err)) < 0) goto done;
        have_split = 1;
        eo.exclude_group = groups;
    }
    if ((rc = ghm_evaluate(cat, lab[0], n, d_total, &eo, &m, err)) < 0) goto done;
    ghm_record rec;
    ghm_record_init(&rec);
    ghm_record_from_spec(&rec, members[0]);
    snprintf(rec.run_id, sizeof rec.run_id, "%s", id);
    ghm_metric_set_from(&rec.test, &m);
    rec.has_val = 0;
    char edir[GHM_PATH_MAX + 64];
    if (ghm_ensemble_path(out_dir, id, edir, sizeof edir) < 0) {
        rc = ghm_error_set(err, GHM_EINPUT, "output path too long: %s", out_dir);
    } else {
        rc = ghm_record_write(&rec, NULL, edir, err);
    }
    ghm_record_free(&rec);
done:
    if (have_split) ghm_split_free(&sp);
    for (int i = 0; emb && lab && i < k; i++) {
        free(emb[i]);
        free(lab[i]);
    }
    free(emb);
    free(lab);
    free(dims);
    free(cat);
    return rc;
}

int ghm_search_ensembles(const ghm_experiment *e, const char *out_dir, int *n_new, int *n_missing, ghm_error *err)
{
    if (n_new) *n_new = 0;
    if (n_missing) *n_missing = 0;
    if (!e->search) return 0;
    int K = e->search->folds >= 2 ? e->search->folds : 1;
    const ghm_run_spec **members = calloc((size_t)K, sizeof *members);
    const char **ids = calloc((size_t)K, sizeof *ids);
    if (!members || !ids) {
        free(members);
        free(ids);
        return ghm_error_set(err, GHM_ENOMEM, "out of memory");
    }
    int rc = 0;
    ghm_data_cache *cache = NULL; /* data sets, loaded only for family-held-out ensembles */
    for (int i = 0; i < e->n_runs && !rc; i++) {
        const ghm_run_spec *r = &e->runs[i];
        if (r->role != GHM_ROLE_FINAL || r->split.fold != 0) continue;
        /* the K folds of this reproduction follow it in plan order */
        int k = 0;
        for (int j = i; j < e->n_runs && k < K; j++) {
            const ghm_run_spec *q = &e->runs[j];
            if (q->role == GHM_ROLE_FINAL && q->loss_entry == r->loss_entry && q->reproduction == r->reproduction) {
                members[k] = q;
                ids[k] = q->run_id;
                k++;
            }
        }
        if (k < K) continue;
        int all = 1;
        for (int f = 0; f < K; f++) all &= ghm_record_is_finished(out_dir, members[f]->run_id);
        if (!all) continue;
        char id[24], dir[GHM_PATH_MAX + 64], path[GHM_PATH_MAX + 96];
        ghm_ensemble_id(ids, K, id);
        if (ghm_ensemble_path(out_dir, id, dir, sizeof dir) < 0) continue;
        snprintf(path, sizeof path, "%s/record.json", dir);
        struct stat st;
        if (stat(path, &st) == 0) continue; /* done before */
        /* the embeddings must still be there */
        char emb[GHM_PATH_MAX + 128];
        int have = 1;
        for (int f = 0; f < K && have; f++) {
            char rd[GHM_PATH_MAX + 64];
            ghm_record_run_dir(out_dir, members[f]->run_id, rd, sizeof rd);
            snprintf(emb, sizeof emb, "%s/embeddings_test.npy", rd);
            have = stat(emb, &st) == 0;
        }
        if (!have) {
            if (n_missing) (*n_missing)++;
            continue;
        }
        rc = ensemble_eval(out_dir, members, K, id, &cache, err);
        if (!rc && n_new) (*n_new)++;
    }
    ghm_data_cache_destroy(cache);
    free(members);
    free(ids);
    return rc;
}
