/* Splits: which images train, validate and test.
 *
 * standard: train = official train part, test = official test part, all
 *           classes on both sides. Validation = a stratified random
 *           val_fraction of the (limited) training images of every class.
 * classes:  class-disjoint (the metric-learning protocol): training classes
 *           are train_classes (or the first half, 0..K/2-1), the test classes
 *           are all the others; each side uses the images of its classes from
 *           BOTH official parts. Validation = round(val_fraction * n_train)
 *           training classes (at least 2 when val_fraction > 0), drawn at
 *           random (seeded) and held out whole; at least 2 must stay for
 *           training.
 * Folds (folds >= 2, k-fold cross-validation inside the training part;
 *           val_fraction is then not used): standard: every class's training
 *           images are shuffled (seeded) and cut into `folds` contiguous
 *           chunks of equal size (+-1), so each fold is stratified; classes:
 *           the training classes, in increasing id order, are cut into `folds`
 *           contiguous ranges (fold f holds classes [f*n/k, (f+1)*n/k), as
 *           the rotating class ranges of "A Metric Learning Reality Check"),
 *           each of at least 2 classes. Fold `fold` validates, the others
 *           train. The folds of one seed are disjoint and cover the training
 *           part.
 * Limits (limit_train, limit_test) are applied first, to the training pool
 * (before validation is carved out of it) and to the test pool: a stratified
 * subsample (each class keeps its share, largest remainders first), seeded.
 * Every subset keeps its images in dataset order (train part, then test part).
 */
#include "internal.h"

#include "../core/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void ghm_split_opts_default(ghm_split_opts *o)
{
    memset(o, 0, sizeof *o);
    o->protocol = GHM_SPLIT_STANDARD;
}

/* Image g of the dataset: train part first, then test part. */
static int label_of(const ghm_dataset *d, int g)
{
    return g < d->train.n ? d->train.labels[g] : d->test.labels[g - d->train.n];
}

static const uint8_t *pixels_of(const ghm_dataset *d, int g, size_t img)
{
    return g < d->train.n ? d->train.pixels + (size_t)g * img : d->test.pixels + (size_t)(g - d->train.n) * img;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Keep a stratified random `limit` of list (n items) in place; *n updated. */
static int limit_stratified(const ghm_dataset *d, int *list, int *n, int limit, ghm_rng *r)
{
    if (limit <= 0 || limit >= *n) return 0;
    int K = d->n_classes, N = *n;
    int *cnt = calloc((size_t)K, sizeof(int)), *quota = calloc((size_t)K, sizeof(int));
    double *frac = calloc((size_t)K, sizeof(double));
    int *byclass = malloc(sizeof(int) * (size_t)N), *start = calloc((size_t)K + 1, sizeof(int));
    if (!cnt || !quota || !frac || !byclass || !start) {
        free(cnt), free(quota), free(frac), free(byclass), free(start);
        return GHM_ENOMEM;
    }
    for (int i = 0; i < N; i++) cnt[label_of(d, list[i])]++;
    int given = 0;
    for (int c = 0; c < K; c++) {
        double q = (double)limit * cnt[c] / N;
        quota[c] = (int)floor(q);
        frac[c] = q - quota[c];
        given += quota[c];
    }
    while (given < limit) { /* largest remainder first, ties to the lower class id */
        int best = -1;
        for (int c = 0; c < K; c++)
            if (quota[c] < cnt[c] && (best < 0 || frac[c] > frac[best])) best = c;
        if (best < 0) break;
        quota[best]++;
        frac[best] = -1.0;
        given++;
    }
    for (int c = 0; c < K; c++) start[c + 1] = start[c] + cnt[c];
    int *fill = calloc((size_t)K, sizeof(int));
    if (!fill) {
        free(cnt), free(quota), free(frac), free(byclass), free(start);
        return GHM_ENOMEM;
    }
    for (int i = 0; i < N; i++) {
        int c = label_of(d, list[i]);
        byclass[start[c] + fill[c]++] = list[i];
    }
    int m = 0;
    for (int c = 0; c < K; c++) {
        ghm_rng_shuffle(r, byclass + start[c], cnt[c]);
        for (int k = 0; k < quota[c]; k++) list[m++] = byclass[start[c] + k];
    }
    qsort(list, (size_t)m, sizeof(int), cmp_int);
    *n = m;
    free(cnt), free(quota), free(frac), free(byclass), free(start), free(fill);
    return 0;
}

/* Build subset s from the images list (n, sorted) and the classes it uses
 * (ids, k of them, in dense order). */
static int make_subset(const ghm_dataset *d, const int *list, int n, const int *ids, int k, ghm_subset *s)
{
    memset(s, 0, sizeof *s);
    size_t img = (size_t)d->train.c * d->train.h * d->train.w;
    int dense[GHM_MAX_CLASSES];
    for (int c = 0; c < GHM_MAX_CLASSES; c++) dense[c] = -1;
    for (int j = 0; j < k; j++) {
        s->class_ids[j] = ids[j];
        dense[ids[j]] = j;
    }
    s->n_classes = k;
    s->img.n = n;
    s->img.c = d->train.c;
    s->img.h = d->train.h;
    s->img.w = d->train.w;
    s->img.pixels = malloc(img * (size_t)n + 1);
    s->img.labels = malloc(sizeof(int) * (size_t)n + 1);
    if (!s->img.pixels || !s->img.labels) return GHM_ENOMEM;
    if (d->train.groups && d->test.groups && !(s->img.groups = malloc(sizeof(int) * (size_t)n + 1))) return GHM_ENOMEM;
    for (int i = 0; i < n; i++) {
        memcpy(s->img.pixels + (size_t)i * img, pixels_of(d, list[i], img), img);
        s->img.labels[i] = dense[label_of(d, list[i])];
        if (s->img.groups) /* image g of the dataset: train part first, then test */
            s->img.groups[i] = list[i] < d->train.n ? d->train.groups[list[i]] : d->test.groups[list[i] - d->train.n];
    }
    return 0;
}

static void subset_free(ghm_subset *s)
{
    free(s->img.pixels);
    free(s->img.labels);
    free(s->img.groups);
    memset(s, 0, sizeof *s);
}

void ghm_split_free(ghm_split *s)
{
    if (!s) return;
    subset_free(&s->train);
    subset_free(&s->val);
    subset_free(&s->test);
}

/* The options ghm_split_make checks first. */
static int split_check_opts(const ghm_dataset *d, const ghm_split_opts *o, ghm_error *err)
{
    int K = d->n_classes;
    if (K < 1 || K > GHM_MAX_CLASSES) return ghm_error_set(err, GHM_EINPUT, "split: dataset has %d classes", K);
    if (d->test.n > 0 && (d->test.c != d->train.c || d->test.h != d->train.h || d->test.w != d->train.w))
        return ghm_error_set(err, GHM_EINPUT, "split: train and test images of '%s' differ in shape", d->name);
    if (o->protocol != GHM_SPLIT_STANDARD && o->protocol != GHM_SPLIT_CLASSES)
        return ghm_error_set(err, GHM_EINPUT, "split: unknown protocol %d (0 = standard, 1 = classes)", o->protocol);
    if (!(o->val_fraction >= 0.0 && o->val_fraction < 1.0))
        return ghm_error_set(err, GHM_EINPUT, "split: val_fraction = %g must be in [0, 1)", o->val_fraction);
    if (o->folds < 0 || o->folds > GHM_MAX_CLASSES * 64 || (o->folds >= 2 && (o->fold < 0 || o->fold >= o->folds)))
        return ghm_error_set(err, GHM_EINPUT, "split: fold %d of %d folds is not a fold (0..%d)", o->fold, o->folds,
                             o->folds - 1);
    if (o->limit_train < 0 || o->limit_test < 0)
        return ghm_error_set(err, GHM_EINPUT, "split: limit_train = %d and limit_test = %d must be >= 0", o->limit_train,
                             o->limit_test);
    return 0;
}

/* Which classes train (is_train[c]): all of them (standard), else the listed ones or the first half, with
 * at least 2 on each side. */
static int split_train_classes(const ghm_dataset *d, const ghm_split_opts *o, int *is_train, ghm_error *err)
{
    int K = d->n_classes;
    for (int c = 0; c < K; c++) is_train[c] = 1;
    if (o->protocol != GHM_SPLIT_CLASSES) return 0;
    if (o->n_train_classes < 0 || o->n_train_classes > K)
        return ghm_error_set(err, GHM_EINPUT, "split: %d train classes for a dataset of %d classes", o->n_train_classes,
                             K);
    for (int c = 0; c < K; c++) is_train[c] = o->n_train_classes == 0 ? c < K / 2 : 0;
    for (int j = 0; j < o->n_train_classes; j++) {
        int c = o->train_classes[j];
        if (c < 0 || c >= K)
            return ghm_error_set(err, GHM_EINPUT, "split: train_classes[%d] = %d is not a class of '%s' (0..%d)", j, c,
                                 d->name, K - 1);
        if (is_train[c]) return ghm_error_set(err, GHM_EINPUT, "split: train_classes lists class %d twice", c);
        is_train[c] = 1;
    }
    int ntr = 0;
    for (int c = 0; c < K; c++) ntr += is_train[c];
    if (ntr < 2 || K - ntr < 2)
        return ghm_error_set(err, GHM_EINPUT,
                             "split: the classes protocol needs at least 2 train and 2 test classes, got %d and %d "
                             "(dataset '%s' has %d classes)",
                             ntr, K - ntr, d->name, K);
    return 0;
}

/* The images (global indices) and classes of each side while a split is made. */
typedef struct {
    int *trp, *tep, *valp; /* images of train, test, validation */
    int ntr, nte, nval;
    int tr_ids[GHM_MAX_CLASSES], val_ids[GHM_MAX_CLASSES], te_ids[GHM_MAX_CLASSES]; /* classes, increasing */
    int ktr, kval, kte;
} split_work;

/* Move the training images i with mark[i] to validation, keeping the order of both. */
static void move_marked_to_val(split_work *w, const int *mark)
{
    int m = 0;
    for (int i = 0; i < w->ntr; i++) {
        if (mark[i]) w->valp[w->nval++] = w->trp[i];
        else w->trp[m++] = w->trp[i];
    }
    w->ntr = m;
}

/* Standard protocol, validation from the training images of every class: fold o->fold of o->folds (per
 * class: its training images shuffled, fold f = chunk [f*nc/k, (f+1)*nc/k)), or round(val_fraction * nc)
 * of them (>= 1 when nc >= 2). */
static int standard_val(const ghm_dataset *d, const ghm_split_opts *o, uint64_t base, ghm_rng *r, split_work *w,
                        ghm_error *err)
{
    const int K = d->n_classes;
    for (int c = 0; c < K; c++) w->val_ids[w->kval++] = c;
    if (o->folds >= 2) ghm_rng_seed(r, base + 4, GHM_STREAM_SPLIT);
    int *mark = calloc((size_t)w->ntr + 1, sizeof(int)), *cls = malloc(sizeof(int) * ((size_t)w->ntr + 1));
    if (!mark || !cls) {
        free(mark);
        free(cls);
        return ghm_error_set(err, GHM_ENOMEM, "split: out of memory");
    }
    for (int c = 0; c < K; c++) {
        int nc = 0;
        for (int i = 0; i < w->ntr; i++)
            if (label_of(d, w->trp[i]) == c) cls[nc++] = i;
        if (o->folds >= 2) {
            ghm_rng_shuffle(r, cls, nc);
            long lo = (long)o->fold * nc / o->folds, hi = (long)(o->fold + 1) * nc / o->folds;
            for (long k = lo; k < hi; k++) mark[cls[k]] = 1;
        } else {
            int take = (int)lround(o->val_fraction * nc);
            if (take < 1 && nc >= 2) take = 1;
            if (take > nc - 1) take = nc > 0 ? nc - 1 : 0;
            ghm_rng_shuffle(r, cls, nc);
            for (int k = 0; k < take; k++) mark[cls[k]] = 1;
        }
    }
    move_marked_to_val(w, mark);
    free(mark);
    free(cls);
    if (o->folds >= 2 && (w->nval == 0 || w->ntr == 0))
        return ghm_error_set(err, GHM_EINPUT, "split: %d folds of %d training images leave fold %d or its training part empty",
                             o->folds, w->nval + w->ntr, o->fold);
    if (o->folds < 2 && w->nval == 0)
        return ghm_error_set(err, GHM_EINPUT, "split: val_fraction = %g leaves no validation images", o->val_fraction);
    return 0;
}

/* Classes protocol: the test classes, and validation classes held out of the train classes (fold o->fold of
 * o->folds, or round(val_fraction * n) of them, at least 2, shuffled), with their images. */
static int classes_val(const ghm_dataset *d, const ghm_split_opts *o, const int *is_train, ghm_rng *r, split_work *w,
                       ghm_error *err)
{
    const int K = d->n_classes;
    int is_val[GHM_MAX_CLASSES] = {0};
    int cand[GHM_MAX_CLASSES], ncand = 0;
    for (int c = 0; c < K; c++) {
        if (is_train[c]) cand[ncand++] = c;
        else w->te_ids[w->kte++] = c;
    }
    if (o->folds >= 2) {
        if (ncand / o->folds < 2) /* each fold >= 2 classes; then >= 2 remain to train */
            return ghm_error_set(err, GHM_EINPUT,
                                 "split: %d folds over %d training classes: every fold needs at least 2 classes "
                                 "(at most %d folds)",
                                 o->folds, ncand, ncand / 2);
        int lo = (int)((long)o->fold * ncand / o->folds), hi = (int)((long)(o->fold + 1) * ncand / o->folds);
        for (int k = lo; k < hi; k++) is_val[cand[k]] = 1;
    } else if (o->val_fraction > 0) {
        int hold = (int)lround(o->val_fraction * ncand);
        if (hold < 2) hold = 2;
        if (ncand - hold < 2)
            return ghm_error_set(err, GHM_EINPUT,
                                 "split: val_fraction = %g holds out %d of the %d training classes for validation, "
                                 "leaving %d (at least 2 must remain): use more train classes or a smaller val_fraction",
                                 o->val_fraction, hold, ncand, ncand - hold);
        ghm_rng_shuffle(r, cand, ncand);
        for (int k = 0; k < hold; k++) is_val[cand[k]] = 1;
    }
    for (int c = 0; c < K; c++) {
        if (!is_train[c]) continue;
        if (is_val[c]) w->val_ids[w->kval++] = c;
        else w->tr_ids[w->ktr++] = c;
    }
    if (w->kval > 0) {
        int m = 0;
        for (int i = 0; i < w->ntr; i++) {
            if (is_val[label_of(d, w->trp[i])]) w->valp[w->nval++] = w->trp[i];
            else w->trp[m++] = w->trp[i];
        }
        w->ntr = m;
    }
    return 0;
}

int ghm_split_make(const ghm_dataset *d, const ghm_split_opts *o, ghm_split *out, ghm_error *err)
{
    memset(out, 0, sizeof *out);
    int rc = split_check_opts(d, o, err);
    if (rc) return rc;
    const int K = d->n_classes;
    int is_train[GHM_MAX_CLASSES];
    if ((rc = split_train_classes(d, o, is_train, err))) return rc;

    int N = d->train.n + d->test.n;
    split_work *w = calloc(1, sizeof *w);
    if (!w) return ghm_error_set(err, GHM_ENOMEM, "split: out of memory");
    w->trp = malloc(sizeof(int) * ((size_t)N + 1));
    w->tep = malloc(sizeof(int) * ((size_t)N + 1));
    w->valp = malloc(sizeof(int) * ((size_t)N + 1));
    if (!w->trp || !w->tep || !w->valp) {
        rc = ghm_error_set(err, GHM_ENOMEM, "split: out of memory");
        goto done;
    }
    if (o->protocol == GHM_SPLIT_STANDARD) {
        for (int i = 0; i < d->train.n; i++) w->trp[w->ntr++] = i;
        for (int i = 0; i < d->test.n; i++) w->tep[w->nte++] = d->train.n + i;
    } else {
        for (int g = 0; g < N; g++) {
            if (is_train[label_of(d, g)]) w->trp[w->ntr++] = g;
            else w->tep[w->nte++] = g;
        }
    }
    uint64_t base = ghm_ds_mix(o->seed);
    ghm_rng r;
    ghm_rng_seed(&r, base + 1, GHM_STREAM_SPLIT);
    if (limit_stratified(d, w->trp, &w->ntr, o->limit_train, &r)) {
        rc = ghm_error_set(err, GHM_ENOMEM, "split: out of memory");
        goto done;
    }
    ghm_rng_seed(&r, base + 3, GHM_STREAM_SPLIT);
    if (limit_stratified(d, w->tep, &w->nte, o->limit_test, &r)) {
        rc = ghm_error_set(err, GHM_ENOMEM, "split: out of memory");
        goto done;
    }

    /* classes of each side, in increasing id order */
    ghm_rng_seed(&r, base + 2, GHM_STREAM_SPLIT);
    if (o->protocol == GHM_SPLIT_STANDARD) {
        for (int c = 0; c < K; c++) w->tr_ids[w->ktr++] = w->te_ids[w->kte++] = c;
        if (o->folds >= 2 || o->val_fraction > 0) rc = standard_val(d, o, base, &r, w, err);
    } else {
        rc = classes_val(d, o, is_train, &r, w, err);
    }
    if (rc) goto done;
    if (make_subset(d, w->trp, w->ntr, w->tr_ids, w->ktr, &out->train) ||
        make_subset(d, w->valp, w->nval, w->val_ids, w->kval, &out->val) ||
        make_subset(d, w->tep, w->nte, w->te_ids, w->kte, &out->test))
        rc = ghm_error_set(err, GHM_ENOMEM, "split: out of memory copying images");
done:
    if (rc) ghm_split_free(out);
    free(w->trp);
    free(w->tep);
    free(w->valp);
    free(w);
    return rc;
}

void ghm_subset_gather(const ghm_subset *s, const int *idx, int n, float *x_out, int *labels_out)
{
    size_t img = (size_t)s->img.c * s->img.h * s->img.w;
    const float scale = 1.0f / 255.0f;
    for (int i = 0; i < n; i++) {
        const uint8_t *p = s->img.pixels + (size_t)idx[i] * img;
        float *x = x_out + (size_t)i * img;
        for (size_t k = 0; k < img; k++) x[k] = (float)p[k] * scale;
        if (labels_out) labels_out[i] = s->img.labels[idx[i]];
    }
}

void ghm_subset_range(const ghm_subset *s, int start, int n, float *x_out)
{
    size_t img = (size_t)s->img.c * s->img.h * s->img.w;
    const float scale = 1.0f / 255.0f;
    const uint8_t *p = s->img.pixels + (size_t)start * img;
    size_t total = img * (size_t)n;
    for (size_t k = 0; k < total; k++) x_out[k] = (float)p[k] * scale;
}
