/* Checks of a plan against its data, before anything runs (see inputs.h). */
#include "runner/inputs.h"

#include "experiment/config_internal.h"

#include "../backbones/backbone.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Where `path` is set in the file: its value (a scalar setting) or its key (a
 * sweep); def when the file does not name it. */
static ghm_cfg_mark mark_of(const ghm_cfg *c, const char *path, ghm_cfg_mark def)
{
    for (int i = 0; i < c->n_settings; i++)
        if (strcmp(c->settings[i].path, path) == 0) return c->settings[i].val;
    for (int i = 0; i < c->n_sweeps; i++)
        if (strcmp(c->sweeps[i].path, path) == 0) return c->sweeps[i].key;
    return def;
}

/* The folds' mark: protocol.folds when written, else the protocol / search block. */
static ghm_cfg_mark folds_mark(const ghm_cfg *c)
{
    if (c->search && c->search->has_folds) return c->search->m_folds;
    if (c->search && c->search->has_protocol) return c->search->m_protocol;
    if (c->search) return c->search->mark;
    return c->root;
}

/* Runs that check the same things: same data, split (seeds aside: they move
 * images between parts, not the counts per class), batch and evaluation. */
/* the largest K a switched-on per-K metric needs (0: none) */
static int largest_k(const ghm_eval_opts *o)
{
    int k = 0;
    for (int i = 0; i < ghm_metric_count(); i++) {
        const ghm_metric_ops *mo = ghm_metric_at(i);
        if ((mo->needs & GHM_METRIC_NEEDS_K) && ghm_metric_on(o, mo) && o->n_k > 0) k = o->ks[o->n_k - 1];
    }
    return k;
}

static int same_check(const ghm_run_spec *a, const ghm_run_spec *b)
{
    if (strcmp(a->dataset_name, b->dataset_name) || strcmp(a->dataset_path, b->dataset_path)) return 0;
    if (a->data.classes != b->data.classes || a->data.train_per_class != b->data.train_per_class ||
        a->data.test_per_class != b->data.test_per_class || a->data.image_size != b->data.image_size)
        return 0;
    ghm_split_opts x = a->split, y = b->split;
    x.seed = y.seed = 0;
    if (memcmp(&x, &y, sizeof x) != 0) return 0;
    if (a->batch_size != b->batch_size || a->m_per_class != b->m_per_class || a->eval_test != b->eval_test) return 0;
    return largest_k(&a->eval) == largest_k(&b->eval);
}

static int same_data(const ghm_run_spec *a, const ghm_run_spec *b)
{
    return !strcmp(a->dataset_name, b->dataset_name) && !strcmp(a->dataset_path, b->dataset_path) &&
           (!ghm_dataset_is_generated(a->dataset_name) ||
            (a->data.classes == b->data.classes && a->data.train_per_class == b->data.train_per_class &&
             a->data.test_per_class == b->data.test_per_class && a->data.image_size == b->data.image_size));
}

/* Training images of each class, as the split will see them (standard
 * protocol: the official training part, after limit_train). */
static int min_train_per_class(const ghm_dataset *d, const ghm_split_opts *o, int *cls)
{
    int count[GHM_MAX_CLASSES] = {0};
    for (int i = 0; i < d->train.n; i++)
        if (d->train.labels[i] >= 0 && d->train.labels[i] < GHM_MAX_CLASSES) count[d->train.labels[i]]++;
    int best = -1;
    for (int c = 0; c < d->n_classes; c++) {
        int nc = count[c];
        if (o->limit_train > 0 && d->train.n > o->limit_train) /* stratified share, rounded down */
            nc = (int)((long long)nc * o->limit_train / d->train.n);
        if (nc > 0 && (best < 0 || nc < best)) {
            best = nc;
            *cls = c;
        }
    }
    return best;
}

/* Bytes the allocator has handed out (glibc: arena + mmap'd blocks). */
static double heap_bytes(void)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    struct mallinfo2 mi = mallinfo2();
    return (double)mi.uordblks + (double)mi.hblkhd;
#else
    return -1;
#endif
}

double ghm_machine_memory_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (double)pages * (double)size : 0;
}

/* Bytes the backbone holds after one training step's forward and backward on
 * n blank images (its weights, activations and workspaces), plus gradients and
 * two optimizer moments per parameter: -1 when unknown, -2 on error. */
static double backbone_bytes(const ghm_run_spec *r, int c, int h, int w, int n, ghm_error *err)
{
    double before = heap_bytes();
    if (before < 0) return -1;
    ghm_backbone *b = NULL;
    if (ghm_backbone_create(r->backbone, &r->backbone_params, c, h, w, r->embedding_dim, r->normalize, n, r->seed, &b,
                            err) < 0)
        return -2;
    float *x = calloc((size_t)n * c * h * w + 1, sizeof *x), *emb = calloc((size_t)n * r->embedding_dim + 1, sizeof *emb);
    double after = -1;
    if (x && emb && ghm_backbone_forward(b, x, n, emb, 1, err) == 0 && ghm_backbone_backward(b, emb, err) == 0)
        after = heap_bytes() - (double)((size_t)n * c * h * w + (size_t)n * r->embedding_dim + 2) * sizeof(float);
    free(x);
    free(emb);
    size_t params = ghm_backbone_param_count(b);
    ghm_backbone_destroy(b);
    if (after < 0) return -1;
    return after - before + 3.0 * (double)params * sizeof(float);
}

int ghm_run_memory_estimate(const ghm_run_spec *r, int c, int h, int w, double *bytes, ghm_error *err)
{
    *bytes = -1;
    const double B = r->batch_size, f = sizeof(float);
    if (strcmp(r->backbone, "mlp") == 0) {
        /* the one backbone without an input-shape limit, whose weights alone can exceed memory (hidden1 x C*H*W):
         * counted, not created (creating it would touch them all). Weights, gradients, two optimizer moments;
         * per image: the input (gathered and kept for backward) and each layer's output and gradient. */
        double in = (double)c * h * w, h1 = ghm_params_get(&r->backbone_params, "hidden1", 512),
               h2 = ghm_params_get(&r->backbone_params, "hidden2", 256), D = r->embedding_dim;
        double P = in * h1 + h1 + h1 * h2 + h2 + h2 * D + D;
        *bytes = 4.0 * P * f + B * (2.0 * in + 2.0 * (h1 + h2 + D)) * f;
        return 0;
    }
    /* allocations grow linearly with the batch: measure a step on 2 and 4 images, extrapolate */
    double b2 = backbone_bytes(r, c, h, w, 2, err);
    if (b2 == -2) return err ? err->code : GHM_EINPUT;
    double b4 = backbone_bytes(r, c, h, w, 4, err);
    if (b4 == -2) return err ? err->code : GHM_EINPUT;
    if (b2 < 0 || b4 < 0) return 0;
    double per = b4 - b2 > 0 ? (b4 - b2) / 2 : 0;
    /* + the float batch the run gathers */
    *bytes = b2 + per * (B - 2) + B * c * h * w * f;
    return 0;
}

/* want_test: check the test part even when r does not evaluate it (a search's trials: its final runs will) */
static int check_run(const ghm_cfg *c, const ghm_run_spec *r, const ghm_dataset *d, int want_test, ghm_error *err)
{
    /* standard folds: every fold needs an image of every class */
    if (r->split.protocol == GHM_SPLIT_STANDARD && r->split.folds >= 2) {
        int cls = 0, least = min_train_per_class(d, &r->split, &cls);
        if (least >= 0 && least < r->split.folds)
            return ghm_cfg_error(err, c, folds_mark(c),
                                 "protocol.folds = %d: class %d ('%s') of dataset '%s' has only %d training image(s), "
                                 "so some folds would hold none of it; use at most %d folds (or more images per class)",
                                 r->split.folds, cls, d->class_names[cls], r->dataset_name, least, least);
    }
    ghm_split s;
    ghm_error e;
    ghm_error_clear(&e);
    int rc = ghm_split_make(d, &r->split, &s, &e);
    if (rc == GHM_EINPUT) {
        ghm_cfg_mark m = r->split.folds >= 2 ? folds_mark(c)
                         : mark_of(c, "dataset.val_fraction", mark_of(c, "dataset.split", c->sec_dataset));
        return ghm_cfg_error(err, c, m, "dataset '%s': %s", r->dataset_name, e.msg);
    }
    if (rc) {
        if (err) *err = e;
        return rc;
    }
    const ghm_subset *tr = &s.train;
    ghm_cfg_mark bm = mark_of(c, "train.batch_size", c->sec_train);
    if (r->batch_size > tr->img.n) {
        rc = ghm_cfg_error(err, c, bm, "train.batch_size = %d is larger than the %d training images of this run%s",
                           r->batch_size, tr->img.n, r->split.folds >= 2 ? " (one fold held out)" : "");
        goto done;
    }
    /* the sampler's own rule: batch_size / m_per_class classes with m_per_class images each */
    ghm_sampler *sp = NULL;
    ghm_error_clear(&e);
    rc = ghm_sampler_create(tr->img.labels, tr->img.n, tr->n_classes, r->batch_size, r->m_per_class, r->seed, &sp, &e);
    ghm_sampler_destroy(sp);
    if (rc == GHM_EINPUT) {
        char why[160] = "";
        if (r->split.protocol == GHM_SPLIT_CLASSES)
            snprintf(why, sizeof why, " (%d training classes%s)", tr->n_classes,
                     r->split.folds >= 2 ? " once a fold of classes is held out" : "");
        rc = ghm_cfg_error(err, c, bm, "dataset '%s'%s: %s", r->dataset_name, why, e.msg);
        goto done;
    }
    if (rc) {
        if (err) *err = e;
        goto done;
    }
    /* training memory (estimated) against the machine's */
    double need = 0, have = ghm_machine_memory_bytes();
    ghm_error_clear(&e);
    rc = ghm_run_memory_estimate(r, tr->img.c, tr->img.h, tr->img.w, &need, &e);
    if (rc == GHM_EINPUT) {
        rc = ghm_cfg_error(err, c, mark_of(c, "backbone.name", c->sec_backbone), "%s", e.msg);
        goto done;
    }
    if (rc) {
        if (err) *err = e;
        goto done;
    }
    if (have > 0 && need > have) {
        rc = ghm_cfg_error(err, c, mark_of(c, "backbone.name", c->sec_backbone),
                           "backbone '%s' on %dx%dx%d images with train.batch_size = %d needs about %.1f GiB to train "
                           "(estimated), more than the %.1f GiB of memory of this machine: lower train.batch_size, the "
                           "image size or the backbone's size",
                           r->backbone, tr->img.c, tr->img.h, tr->img.w, r->batch_size, need / (1024.0 * 1024 * 1024),
                           have / (1024.0 * 1024 * 1024));
        goto done;
    }
    /* Recall@K needs K neighbours: more than K items in every evaluated part */
    if (largest_k(&r->eval) > 0) {
        int K = largest_k(&r->eval);
        const ghm_subset *parts[2] = {&s.val, r->eval_test || want_test ? &s.test : NULL};
        const char *names[2] = {"validation", "test"};
        for (int p = 0; p < 2 && rc == 0; p++) {
            if (!parts[p] || parts[p]->img.n == 0) continue;
            if (K > parts[p]->img.n - 1)
                rc = ghm_cfg_error(err, c, c->sec_eval,
                                   "eval.recall_at: K = %d needs more than %d items, but the %s part of this run holds "
                                   "%d%s",
                                   K, K, names[p], parts[p]->img.n,
                                   p == 0 && r->split.folds >= 2 ? " (one fold): use fewer folds or a smaller K" : "");
        }
    }
done:
    ghm_split_free(&s);
    return rc;
}

int ghm_experiment_check_inputs(const ghm_experiment *e, const int *idx, int n_idx, ghm_data_cache *cache,
                                const char *data_root, ghm_error *err)
{
    const ghm_cfg *c = e->cfg;
    if (!c || e->n_runs == 0) return 0;
    int n = idx ? n_idx : e->n_runs;
    int *done = malloc(sizeof(int) * ((size_t)n + 1)); /* indices of runs checked (one per distinct check) */
    if (!done) return ghm_error_set(err, GHM_ENOMEM, "out of memory checking the plan");
    int n_done = 0, rc = 0;
    ghm_dataset local;
    memset(&local, 0, sizeof local);
    const ghm_dataset *d = NULL;
    const ghm_run_spec *d_of = NULL; /* the run whose data d holds */
    for (int k = 0; k < n && rc == 0; k++) {
        const ghm_run_spec *r = &e->runs[idx ? idx[k] : k];
        int seen = 0;
        for (int j = 0; j < n_done && !seen; j++) seen = same_check(&e->runs[done[j]], r);
        if (seen) continue;
        done[n_done++] = idx ? idx[k] : k;
        if (!d_of || !same_data(d_of, r)) {
            if (!cache) ghm_dataset_free(&local);
            d = NULL;
            d_of = NULL;
            ghm_cfg_mark dm = mark_of(c, "dataset.name", c->sec_dataset);
            if (r->dataset_path[0]) {
                struct stat st;
                ghm_cfg_mark pm = mark_of(c, "dataset.path", c->sec_dataset);
                if (stat(r->dataset_path, &st) != 0 || !S_ISDIR(st.st_mode)) {
                    rc = ghm_cfg_error(err, c, pm, "dataset.path '%s' %s", r->dataset_path,
                                       stat(r->dataset_path, &st) != 0 ? "does not exist" : "is not a directory");
                    break;
                }
                dm = pm;
            }
            ghm_dataset_opts o = r->data;
            o.name = r->dataset_name;
            o.path = r->dataset_path[0] ? r->dataset_path : NULL;
            o.data_root = data_root;
            ghm_error le;
            ghm_error_clear(&le);
            int lrc;
            if (cache) {
                lrc = ghm_data_cache_get(cache, &o, &d, &le);
            } else {
                lrc = ghm_dataset_load(&o, &local, &le);
                if (lrc == 0) d = &local;
            }
            if (lrc == GHM_EINPUT) {
                rc = ghm_cfg_error(err, c, dm, "%s", le.msg);
                break;
            }
            if (lrc) {
                if (err) *err = le;
                rc = lrc;
                break;
            }
            d_of = r;
        }
        rc = check_run(c, r, d, e->search != NULL, err);
    }
    if (!cache) ghm_dataset_free(&local);
    free(done);
    return rc;
}
