/* The run loop: data (cached) -> split -> sampler -> backbone -> loss ->
 * trainer; epochs x steps with the LR schedule; validation every eval_every
 * epochs and at the end; final test evaluation; record. And sweeps over lists
 * of plan indices. */
#include "runner/run.h"

#include "../backbones/backbone.h"
#include "../core/fileio.h"
#include "../core/fsutil.h"
#include "../core/json.h"
#include "../core/npy.h"
#include "nn/optim.h"
#include "../core/progress.h"
#include "../core/threads.h"
#include "../eval/eval.h"
#include "../losses/loss.h"
#include "experiment/config_internal.h"
#include "runner/lock.h"
#include "runner/trainer.h"

#include <dirent.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- metric sets from evaluation results ---- */

void ghm_metric_set_from(ghm_metric_set *s, const ghm_metrics *m)
{
    char names[GHM_REC_MAX_METRICS][GHM_METRIC_NAME_MAX];
    double values[GHM_REC_MAX_METRICS];
    memset(s, 0, sizeof *s);
    int n = ghm_metrics_list(m, names, values, GHM_REC_MAX_METRICS);
    for (int i = 0; i < n; i++) ghm_metric_set_put(s, names[i], values[i]);
}

/* ---- dataset cache ---- */

#define GHM_CACHE_SLOTS 8

typedef struct {
    int used;
    char key[GHM_PATH_MAX * 2 + 256];
    ghm_dataset data;
    unsigned long last_use;
} cache_slot;

struct ghm_data_cache {
    cache_slot slot[GHM_CACHE_SLOTS];
    unsigned long tick;
    int loads;
};

int ghm_data_cache_create(ghm_data_cache **out, ghm_error *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out) return GHM_FAIL(err, GHM_ENOMEM, "out of memory (data cache)");
    return 0;
}

void ghm_data_cache_destroy(ghm_data_cache *c)
{
    if (!c) return;
    for (int i = 0; i < GHM_CACHE_SLOTS; i++)
        if (c->slot[i].used) ghm_dataset_free(&c->slot[i].data);
    free(c);
}

int ghm_data_cache_loads(const ghm_data_cache *c) { return c ? c->loads : 0; }

static void cache_key(const ghm_dataset_opts *o, char *key, size_t n)
{
    int synthetic = ghm_dataset_is_generated(o->name);
    if (synthetic)
        snprintf(key, n, "%s|%s|%s|%d|%d|%d|%d|%llu", o->name, o->path ? o->path : "",
                 o->data_root ? o->data_root : "", o->classes, o->train_per_class, o->test_per_class, o->image_size,
                 (unsigned long long)o->seed);
    else
        snprintf(key, n, "%s|%s|%s", o->name ? o->name : "", o->path ? o->path : "", o->data_root ? o->data_root : "");
}

int ghm_data_cache_get(ghm_data_cache *c, const ghm_dataset_opts *o, const ghm_dataset **out, ghm_error *err)
{
    *out = NULL;
    char key[sizeof c->slot[0].key];
    cache_key(o, key, sizeof key);
    c->tick++;
    for (int i = 0; i < GHM_CACHE_SLOTS; i++)
        if (c->slot[i].used && strcmp(c->slot[i].key, key) == 0) {
            c->slot[i].last_use = c->tick;
            *out = &c->slot[i].data;
            return 0;
        }
    /* free slot, else evict the least recently used */
    int v = -1;
    for (int i = 0; i < GHM_CACHE_SLOTS && v < 0; i++)
        if (!c->slot[i].used) v = i;
    if (v < 0) {
        v = 0;
        for (int i = 1; i < GHM_CACHE_SLOTS; i++)
            if (c->slot[i].last_use < c->slot[v].last_use) v = i;
        ghm_dataset_free(&c->slot[v].data);
        c->slot[v].used = 0;
    }
    cache_slot *s = &c->slot[v];
    memset(&s->data, 0, sizeof s->data);
    int rc = ghm_dataset_load(o, &s->data, err);
    if (rc < 0) return rc;
    s->used = 1;
    s->last_use = c->tick;
    snprintf(s->key, sizeof s->key, "%s", key);
    c->loads++;
    *out = &s->data;
    return 0;
}

/* ---- one run ---- */

static void report(const ghm_run_hooks *h, const ghm_run_progress *p)
{
    if (h && h->progress) h->progress(p, h->user);
}

/* embed a subset and evaluate it; emb_out (may be NULL) receives the embeddings (malloc'd) */
static int embed_eval(ghm_backbone *b, const ghm_subset *s, const ghm_eval_opts *eo, ghm_metric_set *ms,
                      float **emb_out, ghm_error *err)
{
    if (emb_out) *emb_out = NULL;
    int n = s->img.n, d = b->dim;
    float *emb = malloc((size_t)n * d * sizeof *emb);
    if (!emb) return GHM_FAIL(err, GHM_ENOMEM, "out of memory (%d x %d embeddings)", n, d);
    int rc = ghm_embed_subset(b, s, emb, err);
    if (rc == 0) {
        ghm_metrics m;
        ghm_eval_opts o = *eo;
        if (o.exclude_same_group) o.exclude_group = s->img.groups; /* family-held-out (glyphs) */
        rc = ghm_evaluate(emb, s->img.labels, n, d, &o, &m, err);
        if (rc == 0) ghm_metric_set_from(ms, &m);
    }
    if (rc == 0 && emb_out)
        *emb_out = emb;
    else
        free(emb);
    return rc;
}

/* remove leftovers of an interrupted attempt (temp files of atomic writes) */
static void clean_tmp(const char *run_dir)
{
    DIR *d = opendir(run_dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strstr(e->d_name, ".tmp")) {
            char p[GHM_PATH_MAX + 300];
            snprintf(p, sizeof p, "%s/%s", run_dir, e->d_name);
            unlink(p);
        }
    }
    closedir(d);
}

/* Recall@1 of random embeddings on a subset: the chance that a random other
 * item has the query's class, sum_c n_c (n_c - 1) / (n (n - 1)). */
static double chance_recall1(const ghm_subset *s)
{
    int n = s->img.n;
    if (n < 2 || s->n_classes < 1) return NAN;
    long *cnt = calloc((size_t)s->n_classes, sizeof *cnt);
    if (!cnt) return NAN;
    for (int i = 0; i < n; i++) {
        int l = s->img.labels[i];
        if (l >= 0 && l < s->n_classes) cnt[l]++;
    }
    double same = 0;
    for (int c = 0; c < s->n_classes; c++) same += (double)cnt[c] * (double)(cnt[c] - 1);
    free(cnt);
    return same / ((double)n * (double)(n - 1));
}

/* 1 when the best Recall@1 is within three binomial standard errors of chance */
static int near_chance(double best_r1, double chance, int n)
{
    if (!isfinite(best_r1) || !isfinite(chance) || n < 2) return 0;
    return best_r1 <= chance + 3.0 * sqrt(chance * (1.0 - chance) / n);
}

/* Remove run_dir when a run left it empty (interrupted before anything was written). */
static void remove_if_empty(const char *run_dir) { rmdir(run_dir); }

/* Everything one run holds while it trains (ghm_run_one). */
typedef struct {
    const ghm_run_spec *r;
    const char *run_dir;
    const ghm_run_hooks *h;
    double t0;
    ghm_run_progress P;
    ghm_record rec;
    ghm_dataset local;
    const ghm_dataset *ds;
    int own_ds, have_split;
    ghm_split split;
    ghm_sampler *sampler;
    ghm_backbone *bb;
    ghm_loss *loss;
    ghm_trainer *tr;
    float *x, *test_emb;
    int *idx, *labels;
    int cur_epoch, cur_batch; /* where a failure happened (0: outside training) */
    int steps, bpe;           /* training steps per epoch, the sampler's batches per epoch */
    double best_val_r1;
} run_ctx;

static int stopped(const run_ctx *c) { return c->h && c->h->stop && *c->h->stop; }

/* the data set (through the cache when there is one) and its split */
static int load_data(run_ctx *c, ghm_error *err)
{
    const ghm_run_spec *r = c->r;
    const ghm_run_hooks *h = c->h;
    ghm_dataset_opts dopts = r->data;
    dopts.name = r->dataset_name;
    dopts.path = r->dataset_path[0] ? r->dataset_path : NULL;
    if (h && h->data_root) dopts.data_root = h->data_root;
    int rc;
    if (h && h->cache) {
        rc = ghm_data_cache_get(h->cache, &dopts, &c->ds, err);
    } else {
        memset(&c->local, 0, sizeof c->local);
        rc = ghm_dataset_load(&dopts, &c->local, err);
        if (rc == 0) {
            c->ds = &c->local;
            c->own_ds = 1;
        }
    }
    if (rc < 0) return rc;
    snprintf(c->rec.dataset_manifest, sizeof c->rec.dataset_manifest, "%s", c->ds->manifest);
    if ((rc = ghm_split_make(c->ds, &r->split, &c->split, err)) < 0) return rc;
    c->have_split = 1;
    return 0;
}

/* sampler, backbone, loss, trainer and the batch buffers */
static int build_model(run_ctx *c, ghm_error *err)
{
    const ghm_run_spec *r = c->r;
    const ghm_subset *train = &c->split.train;
    int B = r->batch_size, rc;
    if ((rc = ghm_sampler_create(train->img.labels, train->img.n, train->n_classes, B, r->m_per_class, r->seed,
                                 &c->sampler, err)) < 0)
        return rc;
    if ((rc = ghm_backbone_create(r->backbone, &r->backbone_params, train->img.c, train->img.h, train->img.w,
                                  r->embedding_dim, r->normalize, B, r->seed, &c->bb, err)) < 0)
        return rc;
    if ((rc = ghm_loss_create(r->loss, &r->loss_params, r->embedding_dim, train->n_classes, r->seed, &c->loss,
                              err)) < 0)
        return rc;
    if ((rc = ghm_trainer_create(c->bb, c->loss, &r->optim, B, &c->tr, err)) < 0) return rc;

    size_t img_sz = (size_t)train->img.c * train->img.h * train->img.w;
    c->x = malloc((size_t)B * img_sz * sizeof *c->x);
    c->idx = malloc((size_t)B * sizeof *c->idx);
    c->labels = malloc((size_t)B * sizeof *c->labels);
    if (!c->x || !c->idx || !c->labels) return GHM_FAIL(err, GHM_ENOMEM, "out of memory (batch of %d images)", B);

    c->bpe = ghm_sampler_batches_per_epoch(c->sampler);
    c->steps = r->steps_per_epoch > 0 ? r->steps_per_epoch : c->bpe;
    if (c->steps < 1 || c->bpe < 1)
        return ghm_error_set(err, GHM_EINPUT, "run %s: no training batches per epoch", r->run_id);
    return 0;
}

/* One training step (batch b of epoch ep) and its progress report. */
static int train_step(run_ctx *c, int ep, int b, double lr, double t_train, long *images, double *sum, int *nb,
                      ghm_error *err)
{
    const ghm_run_spec *r = c->r;
    int B = r->batch_size, rc;
    /* the sampler's epochs run independently of training epochs, so
     * steps_per_epoch may differ from its batches per epoch */
    long g = (long)ep * c->steps + b;
    if ((rc = ghm_sampler_batch(c->sampler, (int)(g / c->bpe), (int)(g % c->bpe), c->idx, err)) < 0) return rc;
    ghm_subset_gather(&c->split.train, c->idx, B, c->x, c->labels);
    double lv;
    if ((rc = ghm_trainer_step(c->tr, c->x, c->labels, B, lr, &lv, err)) < 0) {
        ghm_error_prefix(err, "epoch %d, batch %d", ep + 1, b + 1);
        return rc;
    }
    *sum += lv;
    (*nb)++;
    *images += B;
    if ((rc = ghm_record_add_step(&c->rec, lv, err)) < 0) return rc;
    ghm_run_progress *P = &c->P;
    double now = ghm_clock();
    P->phase = GHM_RUN_PHASE_TRAIN;
    P->batch = b + 1;
    P->loss = *sum / *nb;
    P->lr = lr;
    P->elapsed_s = now - c->t0;
    P->images_per_s = now > t_train ? *images / (now - t_train) : 0;
    P->fraction = (double)(ep * c->steps + b + 1) / ((double)r->epochs * c->steps);
    P->val = NULL;
    P->applied_lr = ghm_trainer_last_lr(c->tr);
    P->batch_loss = lv;
    P->sampler_epoch = (int)(g / c->bpe);
    P->sampler_batch = (int)(g % c->bpe);
    P->n = B;
    P->idx = c->idx;
    P->labels = c->labels;
    report(c->h, P);
    P->idx = P->labels = NULL;
    return 0;
}

/* the validation evaluation at the end of epoch ep, into he */
static int eval_val(run_ctx *c, int ep, ghm_history_entry *he, ghm_error *err)
{
    ghm_run_progress *P = &c->P;
    P->phase = GHM_RUN_PHASE_EVAL_VAL;
    P->val = NULL;
    report(c->h, P);
    int rc = embed_eval(c->bb, &c->split.val, &c->r->eval, &he->val, NULL, err);
    if (rc < 0) {
        ghm_error_prefix(err, "epoch %d: validation", ep + 1);
        return rc;
    }
    he->has_val = 1;
    double v1;
    if (ghm_metric_set_find(&he->val, "recall@1", &v1) && v1 > c->best_val_r1) c->best_val_r1 = v1;
    c->rec.val = he->val;
    P->val = &c->rec.val;
    report(c->h, P);
    P->val = NULL;
    return 0;
}

/* every epoch: its steps, then (when due) the validation evaluation, then its history entry */
static int train(run_ctx *c, ghm_error *err)
{
    const ghm_run_spec *r = c->r;
    double t_train = ghm_clock();
    long images = 0;
    int has_val = c->split.val.img.n > 0, rc;
    c->rec.has_val = has_val;
    c->P.batches = c->steps;
    c->best_val_r1 = -1;
    for (int ep = 0; ep < r->epochs; ep++) {
        double sum = 0;
        int nb = 0;
        double lr = r->optim.lr;
        c->P.epoch = ep + 1;
        c->cur_epoch = ep + 1;
        for (int b = 0; b < c->steps; b++) {
            c->cur_batch = b + 1;
            if (stopped(c))
                return ghm_error_set(err, GHM_EINTR, "run %s interrupted at epoch %d, batch %d (not recorded)",
                                     r->run_id, ep + 1, b + 1);
            lr = ghm_schedule_lr(&r->schedule, r->optim.lr, ep + (double)b / c->steps, r->epochs);
            if ((rc = train_step(c, ep, b, lr, t_train, &images, &sum, &nb, err)) < 0) return rc;
        }
        ghm_history_entry he;
        memset(&he, 0, sizeof he);
        he.epoch = ep + 1;
        he.train_loss = nb ? sum / nb : NAN;
        he.lr = lr;
        c->cur_batch = 0;
        int last = ep == r->epochs - 1;
        if (has_val && (last || (r->eval_every > 0 && (ep + 1) % r->eval_every == 0)))
            if ((rc = eval_val(c, ep, &he, err)) < 0) return rc;
        he.seconds = ghm_clock() - c->t0;
        if ((rc = ghm_record_add_history(&c->rec, &he, err)) < 0) return rc;
        c->rec.epochs = ep + 1;
    }
    if (stopped(c))
        return ghm_error_set(err, GHM_EINTR, "run %s interrupted before its test evaluation (not recorded)", r->run_id);
    return 0;
}

/* the test embeddings and their labels (original class ids, so plots name the dataset's classes) */
static int save_test_embeddings(run_ctx *c, ghm_error *err)
{
    const ghm_subset *test = &c->split.test;
    char p[GHM_PATH_MAX + 64];
    size_t shape[2] = {(size_t)test->img.n, (size_t)c->bb->dim};
    snprintf(p, sizeof p, "%s/embeddings_test.npy", c->run_dir);
    int rc = ghm_npy_write_f32(p, c->test_emb, 2, shape, err);
    if (rc < 0) return rc;
    int32_t *lab = malloc((size_t)test->img.n * sizeof *lab + 1);
    if (!lab) return GHM_FAIL(err, GHM_ENOMEM, "out of memory (labels)");
    for (int i = 0; i < test->img.n; i++) lab[i] = test->class_ids[test->img.labels[i]];
    snprintf(p, sizeof p, "%s/embeddings_test_labels.npy", c->run_dir);
    rc = ghm_npy_write_i32(p, lab, 1, shape, err);
    free(lab);
    if (rc < 0) return rc;
    c->rec.has_embeddings = 1;
    return 0;
}

/* the test evaluation (final runs only), chance level, and the record */
static int finish(run_ctx *c, ghm_error *err)
{
    const ghm_run_spec *r = c->r;
    ghm_record *rec = &c->rec;
    int rc;
    /* search trials never look at the test set (eval_test = 0): their record has validation metrics only */
    c->cur_epoch = 0;
    if (r->eval_test) {
        c->P.phase = GHM_RUN_PHASE_EVAL_TEST;
        report(c->h, &c->P);
        if ((rc = embed_eval(c->bb, &c->split.test, &r->eval, &rec->test, r->save_embeddings ? &c->test_emb : NULL,
                             err)) < 0) {
            ghm_error_prefix(err, "test evaluation");
            return rc;
        }
    }
    if (r->eval_test && r->save_embeddings && (rc = save_test_embeddings(c, err)) < 0) return rc;
    if (stopped(c))
        return ghm_error_set(err, GHM_EINTR, "run %s interrupted before its record was written (not recorded)",
                             r->run_id);
    /* chance level: validation Recall@1 when there is a validation part, else test */
    double test_r1 = NAN;
    if (c->split.val.img.n > 0 && c->best_val_r1 >= 0) {
        rec->chance = chance_recall1(&c->split.val);
        rec->at_chance = near_chance(c->best_val_r1, rec->chance, c->split.val.img.n);
    } else if (ghm_metric_set_find(&rec->test, "recall@1", &test_r1)) {
        rec->chance = chance_recall1(&c->split.test);
        rec->at_chance = near_chance(test_r1, rec->chance, c->split.test.img.n);
    } else {
        rec->chance = NAN;
    }
    rec->seconds = ghm_clock() - c->t0;
    return ghm_record_write(rec, r, c->run_dir, err);
}

/* a failure record, so that the sweep goes on and a rerun knows */
static void write_failure(const run_ctx *c, const ghm_error *err)
{
    ghm_record fr;
    ghm_record_init(&fr);
    ghm_record_from_spec(&fr, c->r);
    fr.threads = c->rec.threads;
    fr.failed = 1;
    fr.chance = NAN;
    snprintf(fr.failure, sizeof fr.failure, "%.255s", err ? err->msg : "failed");
    fr.fail_epoch = c->cur_epoch;
    fr.fail_batch = c->cur_batch;
    fr.epochs = c->rec.epochs;
    fr.seconds = ghm_clock() - c->t0;
    ghm_error e2;
    if (ghm_record_write(&fr, c->r, c->run_dir, &e2) < 0) remove_if_empty(c->run_dir);
}

static void release(run_ctx *c)
{
    free(c->x);
    free(c->idx);
    free(c->labels);
    free(c->test_emb);
    ghm_trainer_destroy(c->tr);
    if (c->loss) ghm_loss_destroy(c->loss);
    if (c->bb) ghm_backbone_destroy(c->bb);
    ghm_sampler_destroy(c->sampler);
    if (c->have_split) ghm_split_free(&c->split);
    if (c->own_ds) ghm_dataset_free(&c->local);
}

int ghm_run_one(const ghm_run_spec *r, const char *run_dir, const ghm_run_hooks *h, ghm_record *rec_out,
                ghm_error *err)
{
    run_ctx *c = calloc(1, sizeof *c);
    if (!c) return GHM_FAIL(err, GHM_ENOMEM, "out of memory (run %s)", r->run_id);
    c->r = r;
    c->run_dir = run_dir;
    c->h = h;
    c->t0 = ghm_clock();
    c->P.phase = GHM_RUN_PHASE_DATA;
    c->P.epochs = r->epochs;
    c->P.loss = NAN;
    report(h, &c->P);
    ghm_record_init(&c->rec);
    ghm_record_from_spec(&c->rec, r);
    c->rec.threads = ghm_threads_get();

    int rc = ghm_out_mkdirs(run_dir, 2, err); /* runs/<id>: never through a link */
    if (rc == 0) {
        clean_tmp(run_dir);
        rc = load_data(c, err);
    }
    if (rc == 0) rc = build_model(c, err);
    if (rc == 0) rc = train(c, err);
    if (rc == 0) rc = finish(c, err);
    if (rc > 0) rc = 0;

    if (rc == GHM_EINTR)
        remove_if_empty(run_dir);
    else if (rc < 0)
        write_failure(c, err);
    release(c);
    if (rc == 0 && rec_out)
        *rec_out = c->rec;
    else
        ghm_record_free(&c->rec);
    free(c);
    return rc;
}

/* ---- sweeps ---- */

int ghm_run_matches(const ghm_run_spec *r, const char *pattern)
{
    if (!pattern || !*pattern) return 1;
    if (strstr(r->run_id, pattern) || strstr(r->loss, pattern)) return 1;
    if (fnmatch(pattern, r->run_id, 0) == 0 || fnmatch(pattern, r->loss, 0) == 0) return 1;
    return 0;
}

/* When this process first selected or ran a sweep: a finished record newer
 * than that was written by another process (this one selected the run as
 * unfinished, or was told to redo it with --force). */
static time_t g_sweep_epoch = 0;

static void note_sweep_epoch(void)
{
    if (g_sweep_epoch == 0) g_sweep_epoch = time(NULL);
}

int ghm_sweep_select(const ghm_experiment *e, const char *out_dir, const ghm_select_opts *o, int *idx, int *n_idx,
                     int *n_selected_total)
{
    int k = 0, total = 0;
    note_sweep_epoch();
    for (int i = 0; i < e->n_runs; i++) {
        const ghm_run_spec *r = &e->runs[i];
        if (o && o->shard_n > 0 && r->index % o->shard_n != o->shard_i - 1) continue;
        if (o && !ghm_run_matches(r, o->only)) continue;
        total++;
        if (!(o && o->force)) {
            ghm_error ee;
            int st = ghm_record_state_spec(out_dir, r, &ee);
            if (st == GHM_RUN_FINISHED) continue;
            if (st == GHM_RUN_FAILED && !(o && o->retry_failed)) continue;
        }
        idx[k++] = i;
    }
    *n_idx = k;
    if (n_selected_total) *n_selected_total = total;
    return 0;
}

static void describe_run(const ghm_run_spec *r, char *buf, size_t n)
{
    int k = snprintf(buf, n, "run %s (%s", r->run_id, r->loss);
    for (int i = 0; i < r->n_swept && k > 0 && (size_t)k < n; i++)
        k += snprintf(buf + k, n - (size_t)k, ", %s=%s", r->swept_name[i], r->swept_text[i]);
    if (k > 0 && (size_t)k < n) snprintf(buf + k, n - (size_t)k, ", seed %llu)", (unsigned long long)r->seed);
}

/* 1 when the run has a valid finished record written at or after t0 */
static int finished_since(const char *out_dir, const ghm_run_spec *r, time_t t0)
{
    char p[GHM_PATH_MAX + 96];
    if (snprintf(p, sizeof p, "%s/runs/%s/record.json", out_dir, r->run_id) >= (int)sizeof p) return 0;
    struct stat st;
    if (stat(p, &st) != 0 || st.st_mtime < t0) return 0;
    ghm_error e2;
    return ghm_record_state_spec(out_dir, r, &e2) == GHM_RUN_FINISHED;
}

int ghm_sweep_run(const ghm_experiment *e, const char *out_dir, const int *idx, int n_idx, const ghm_run_hooks *h,
                  ghm_sweep_fn fn, void *user, int *n_done, int *n_failed, ghm_error *err)
{
    if (n_done) *n_done = 0;
    if (n_failed) *n_failed = 0;
    int failed = 0, first_rc = 0;
    note_sweep_epoch();
    ghm_error first;
    ghm_error_clear(&first);
    for (int i = 0; i < n_idx; i++) {
        if (idx[i] < 0 || idx[i] >= e->n_runs)
            return GHM_FAIL(err, GHM_EINPUT, "run index %d out of range [0, %d)", idx[i], e->n_runs);
        const ghm_run_spec *r = &e->runs[idx[i]];
        if (h && h->stop && *h->stop) return ghm_error_set(err, GHM_EINTR, "interrupted");
        ghm_sweep_event ev = {GHM_SWEEP_START, i, n_idx, r, 0, NULL};
        char dir[GHM_PATH_MAX + 64], lock_path[GHM_PATH_MAX + 96];
        if (ghm_record_run_dir(out_dir, r->run_id, dir, sizeof dir) < 0 ||
            ghm_lock_run_path(out_dir, r->run_id, lock_path, sizeof lock_path) < 0)
            return ghm_error_set(err, GHM_EINPUT, "output path too long: %s", out_dir);
        ghm_error rerr;
        ghm_error_clear(&rerr);
        /* the run's lock: another process may be training it, or have finished it */
        ghm_lock lk;
        char holder[256];
        int lr = ghm_lock_take(lock_path, 0, &lk, holder, sizeof holder, &rerr);
        if (lr == 0 && finished_since(out_dir, r, g_sweep_epoch)) {
            ghm_lock_release(&lk);
            snprintf(holder, sizeof holder, "finished by another process meanwhile");
            lr = 1;
        }
        if (lr == 1) {
            ghm_error_set(&rerr, GHM_EINPUT, "run %s skipped: %s%s", r->run_id,
                          strncmp(holder, "finished", 8) == 0 ? "" : "being run by ", holder);
            ev.kind = GHM_SWEEP_SKIPPED;
            ev.err = &rerr;
            if (fn) fn(&ev, user);
            continue;
        }
        if (fn) fn(&ev, user);
        double t = ghm_clock();
        int rc = lr < 0 ? lr : ghm_run_one(r, dir, h, NULL, &rerr);
        ghm_lock_release(&lk);
        ev.seconds = ghm_clock() - t;
        if (rc == GHM_EINTR) {
            if (err) *err = rerr;
            ev.kind = GHM_SWEEP_FAILED;
            ev.err = &rerr;
            if (fn) fn(&ev, user);
            return rc;
        }
        if (rc < 0) {
            char what[512];
            describe_run(r, what, sizeof what);
            ghm_error_prefix(&rerr, "%s", what);
            ev.kind = GHM_SWEEP_FAILED;
            ev.err = &rerr;
            if (fn) fn(&ev, user);
            if (failed++ == 0) {
                first = rerr;
                first_rc = rc;
            }
            if (n_failed) (*n_failed)++;
            continue;
        }
        ev.kind = GHM_SWEEP_DONE;
        if (fn) fn(&ev, user);
        if (n_done) (*n_done)++;
    }
    if (failed == 0) return 0;
    if (err) *err = first;
    if (failed > 1) ghm_error_prefix(err, "%d run(s) failed; the first", failed);
    return first_rc == GHM_EINPUT ? GHM_EFAIL : first_rc;
}

/* ---- the results directory and the experiment file it belongs to ---- */

#define IDENTITY_FORMAT "ghm-identity-1"
#define DIR_FILE_MAX ((off_t)1 << 20) /* identity.json and experiment.yaml are a few KiB */

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static const char *kind_name(int search) { return search ? "search" : "plain"; }

/* A small regular file of the results directory (not a link, at most
 * DIR_FILE_MAX bytes): 1 and *data (malloc'd), 0 when absent, -1 when it is
 * something else (*why says what). */
static int read_dir_file(const char *path, char **data, size_t *n, const char **why)
{
    *data = NULL;
    struct stat st;
    if (lstat(path, &st) != 0) return 0;
    if (!S_ISREG(st.st_mode)) {
        *why = "not a regular file";
        return -1;
    }
    if (st.st_size > DIR_FILE_MAX) {
        *why = "larger than 1 MiB";
        return -1;
    }
    ghm_error e;
    if (ghm_read_file(path, data, n, &e) < 0) {
        *why = "unreadable";
        return -1;
    }
    return 1;
}

/* identity.json: 1 with its name, file and kind (0/1 search), 0 when absent,
 * -1 when it is not a valid identity file (*why). */
static int read_identity(const char *path, char *name, size_t nn, char *file, size_t nf, int *search,
                         const char **why)
{
    char *text;
    size_t n;
    int got = read_dir_file(path, &text, &n, why);
    if (got <= 0) return got;
    ghm_json *j = NULL;
    ghm_error e;
    int ok = ghm_json_parse(text, n, path, &j, &e) == 0;
    free(text);
    const char *fmt = ok ? ghm_json_str(j, "format", NULL) : NULL;
    const char *nm = ok ? ghm_json_str(j, "name", NULL) : NULL;
    const char *fl = ok ? ghm_json_str(j, "file", NULL) : NULL;
    const char *kd = ok ? ghm_json_str(j, "kind", NULL) : NULL;
    int rc = -1;
    *why = "not a ghm identity file";
    if (fmt && nm && fl && kd && strcmp(fmt, IDENTITY_FORMAT) == 0 &&
        (strcmp(kd, "plain") == 0 || strcmp(kd, "search") == 0) && strlen(nm) < nn && strlen(fl) < nf) {
        snprintf(name, nn, "%s", nm);
        snprintf(file, nf, "%s", fl);
        *search = strcmp(kd, "search") == 0;
        rc = 1;
    }
    ghm_json_free(j);
    return rc;
}

static int write_identity(const char *path, const ghm_experiment *e, ghm_error *err)
{
    ghm_jw w;
    ghm_jw_init(&w, 1);
    ghm_jw_begin_object(&w);
    ghm_jw_key(&w, "format");
    ghm_jw_string(&w, IDENTITY_FORMAT);
    ghm_jw_key(&w, "name");
    ghm_jw_string(&w, e->name);
    ghm_jw_key(&w, "file");
    ghm_jw_string(&w, base_name(e->file));
    ghm_jw_key(&w, "kind");
    ghm_jw_string(&w, kind_name(e->search != NULL));
    ghm_jw_end_object(&w);
    int rc = w.failed ? ghm_error_set(err, GHM_ENOMEM, "out of memory") : 0;
    /* with a final newline, like every other text file ghm writes */
    char *text = rc ? NULL : realloc(w.buf, w.len + 2);
    if (!rc && !text) rc = ghm_error_set(err, GHM_ENOMEM, "out of memory");
    if (text) {
        w.buf = text;
        text[w.len] = '\n';
        text[w.len + 1] = '\0';
        rc = ghm_write_file_atomic(path, text, w.len + 1, err);
    }
    ghm_jw_free(&w);
    return rc;
}

/* The name and kind of a results directory's experiment.yaml (structure only:
 * nothing is planned): 1, or 0 when it cannot be parsed. */
static int copy_name_kind(const char *path, const char *text, size_t n, char *name, size_t nn, int *search)
{
    ghm_cfg *c = malloc(sizeof *c);
    if (!c) return 0;
    ghm_error e;
    int ok = ghm_cfg_parse(text, n, path, c, &e) == 0;
    if (ok) {
        snprintf(name, nn, "%s", c->name);
        *search = c->search && c->search->present;
        ghm_cfg_free(c);
    }
    free(c);
    return ok;
}

int ghm_results_dir_claim(const char *out_dir, const ghm_experiment *e, int write, int force, int *took_over,
                          ghm_error *err)
{
    if (took_over) *took_over = 0;
    char ip[GHM_PATH_MAX + 64], cp[GHM_PATH_MAX + 64];
    if (snprintf(ip, sizeof ip, "%s/" GHM_IDENTITY_FILE, out_dir) >= (int)sizeof ip ||
        snprintf(cp, sizeof cp, "%s/experiment.yaml", out_dir) >= (int)sizeof cp)
        return ghm_error_set(err, GHM_EINPUT, "--out: output path too long: %s", out_dir);
    int search = e->search != NULL;
    char *src = NULL, *copy = NULL;
    size_t n_src = 0, n_copy = 0;
    int rc = ghm_read_file(e->file, &src, &n_src, err);
    if (rc < 0) return rc;

    /* whose directory is it? */
    char o_name[GHM_NAME_MAX] = "", o_file[GHM_PATH_MAX] = "";
    int o_search = 0, have_id, have_copy;
    const char *why = "", *why_copy = "";
    have_id = read_identity(ip, o_name, sizeof o_name, o_file, sizeof o_file, &o_search, &why);
    have_copy = read_dir_file(cp, &copy, &n_copy, &why_copy);
    int same_text = have_copy == 1 && n_copy == n_src && memcmp(copy, src, n_src) == 0;
    int mine = 1, stamp = write && have_id != 1;
    char other[GHM_PATH_MAX + 160] = "";
    if (have_id == 1) {
        mine = same_text || (strcmp(o_name, e->name) == 0 && strcmp(o_file, base_name(e->file)) == 0 &&
                             o_search == search);
        snprintf(other, sizeof other, "%s (a %s experiment named '%s', says %s)", o_file, kind_name(o_search), o_name,
                 ip);
    } else if (have_id < 0) {
        mine = same_text;
        snprintf(other, sizeof other, "an unknown experiment file (%s: %s)", ip, why);
    } else if (have_copy == 1 && !same_text) {
        /* a directory from before identity.json: its copy of the experiment file tells */
        if (copy_name_kind(cp, copy, n_copy, o_name, sizeof o_name, &o_search)) {
            mine = strcmp(o_name, e->name) == 0 && o_search == search;
            snprintf(other, sizeof other, "another experiment file (a %s experiment named '%s', says %s)",
                     kind_name(o_search), o_name, cp);
        }
    }
    if (!mine && !force) {
        rc = ghm_error_set(err, GHM_EINPUT,
                           "%s holds the results of %s, not of %s (a %s experiment named '%s'): write this file's "
                           "results elsewhere with --out DIR, give it another name:, or take the directory over with "
                           "--force (its finished runs are then redone)",
                           out_dir, other, e->file, kind_name(search), e->name);
        goto done;
    }
    if (!mine) {
        if (took_over) *took_over = 1;
        stamp = write;
    }
    if (!write) goto done;
    if ((rc = ghm_mkdirs(out_dir, err)) < 0) goto done;
    if (stamp && (rc = write_identity(ip, e, err)) < 0) goto done;
    rc = ghm_write_file_atomic(cp, src, n_src, err);
done:
    free(src);
    free(copy);
    return rc;
}

