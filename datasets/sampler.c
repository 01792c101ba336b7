/* m-per-class batch sampler.
 *
 * A batch holds P = batch_size / m classes with exactly m images each, laid
 * out class by class: [c1 x m, c2 x m, ...]. Only classes with at least m
 * images take part. An epoch has n / batch_size batches (at least 1), so it
 * covers the training set about once:
 *   - each class keeps a shuffled queue of its images and hands out m at a
 *     time; when fewer than m remain, the queue is reshuffled (no image twice
 *     in a batch);
 *   - the P classes of a batch are drawn without replacement with weight =
 *     the number of m-chunks the class still has this epoch, so big classes
 *     appear proportionally more often; once fewer than P classes have chunks
 *     left, the rest are drawn uniformly.
 * The whole epoch is generated at once from a stream seeded by (seed, epoch),
 * so batch (e, b) is a pure function of (seed, e, b) whatever was asked before.
 */
#include "internal.h"

#include "../core/rng.h"

#include <stdlib.h>
#include <string.h>

struct ghm_sampler {
    int n, n_classes, batch, m, per_batch; /* per_batch = batch / m classes */
    int n_elig;                            /* classes with >= m images */
    int *elig;                             /* (n_elig) their ids */
    int *start, *count;                    /* (n_classes): images of class c are members[start[c] .. +count[c]) */
    int *members;                          /* (n) image indices grouped by class, in index order */
    uint64_t seed;
    int n_batches;                         /* batches per epoch */
    int epoch;                             /* epoch held in `batches`, -1 none */
    int *batches;                          /* (n_batches, batch) */
    /* scratch for generating an epoch */
    int *queue, *pos, *chunks, *chosen;
};

void ghm_sampler_destroy(ghm_sampler *s)
{
    if (!s) return;
    free(s->elig);
    free(s->start);
    free(s->count);
    free(s->members);
    free(s->batches);
    free(s->queue);
    free(s->pos);
    free(s->chunks);
    free(s->chosen);
    free(s);
}

int ghm_sampler_create(const int *labels, int n, int n_classes, int batch_size, int m_per_class, uint64_t seed,
                       ghm_sampler **out, ghm_error *err)
{
    *out = NULL;
    if (n_classes < 1 || n_classes > GHM_MAX_CLASSES)
        return ghm_error_set(err, GHM_EINPUT, "sampler: n_classes = %d must be in [1, %d]", n_classes, GHM_MAX_CLASSES);
    if (m_per_class < 1) return ghm_error_set(err, GHM_EINPUT, "sampler: m_per_class = %d must be >= 1", m_per_class);
    if (batch_size < 1 || batch_size % m_per_class != 0)
        return ghm_error_set(err, GHM_EINPUT, "sampler: batch_size = %d must be a positive multiple of m_per_class = %d",
                             batch_size, m_per_class);
    if (n < 1) return ghm_error_set(err, GHM_EINPUT, "sampler: no training images");
    for (int i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= n_classes)
            return ghm_error_set(err, GHM_EINPUT, "sampler: label %d of image %d is out of range [0, %d)", labels[i], i,
                                 n_classes);
    ghm_sampler *s = calloc(1, sizeof *s);
    if (!s) return ghm_error_set(err, GHM_ENOMEM, "sampler: out of memory");
    s->n = n;
    s->n_classes = n_classes;
    s->batch = batch_size;
    s->m = m_per_class;
    s->per_batch = batch_size / m_per_class;
    s->seed = seed;
    s->epoch = -1;
    s->elig = malloc(sizeof(int) * (size_t)n_classes);
    s->start = calloc((size_t)n_classes + 1, sizeof(int));
    s->count = calloc((size_t)n_classes, sizeof(int));
    s->members = malloc(sizeof(int) * (size_t)n);
    s->queue = malloc(sizeof(int) * (size_t)n);
    s->pos = calloc((size_t)n_classes, sizeof(int));
    s->chunks = calloc((size_t)n_classes, sizeof(int));
    s->chosen = calloc((size_t)n_classes, sizeof(int));
    if (!s->elig || !s->start || !s->count || !s->members || !s->queue || !s->pos || !s->chunks || !s->chosen) {
        ghm_sampler_destroy(s);
        return ghm_error_set(err, GHM_ENOMEM, "sampler: out of memory");
    }
    for (int i = 0; i < n; i++) s->count[labels[i]]++;
    for (int c = 0; c < n_classes; c++) s->start[c + 1] = s->start[c] + s->count[c];
    int *fill = s->pos; /* borrow as a fill counter */
    for (int i = 0; i < n; i++) s->members[s->start[labels[i]] + fill[labels[i]]++] = i;
    memset(s->pos, 0, sizeof(int) * (size_t)n_classes);
    for (int c = 0; c < n_classes; c++)
        if (s->count[c] >= m_per_class) s->elig[s->n_elig++] = c;
    if (s->n_elig < s->per_batch) {
        int have = s->n_elig;
        ghm_sampler_destroy(s);
        return ghm_error_set(err, GHM_EINPUT,
                             "sampler: batch_size %d with m_per_class %d needs %d classes with at least %d images each, "
                             "but only %d of the %d classes have that many%s",
                             batch_size, m_per_class, batch_size / m_per_class, m_per_class, have, n_classes,
                             have < n_classes ? " (lower batch_size or m_per_class)" : " (lower batch_size)");
    }
    s->n_batches = n / batch_size;
    if (s->n_batches < 1) s->n_batches = 1;
    s->batches = malloc(sizeof(int) * (size_t)s->n_batches * (size_t)batch_size);
    if (!s->batches) {
        ghm_sampler_destroy(s);
        return ghm_error_set(err, GHM_ENOMEM, "sampler: out of memory for %d batches", n / batch_size);
    }
    *out = s;
    return 0;
}

int ghm_sampler_batches_per_epoch(const ghm_sampler *s) { return s->n_batches; }

static void make_epoch(ghm_sampler *s, int epoch)
{
    ghm_rng r;
    ghm_rng_seed(&r, ghm_ds_mix(s->seed) ^ ghm_ds_mix(0x5A17ULL + (uint64_t)epoch), GHM_STREAM_SAMPLER);
    /* shuffled queue per class */
    memcpy(s->queue, s->members, sizeof(int) * (size_t)s->n);
    for (int k = 0; k < s->n_elig; k++) {
        int c = s->elig[k];
        ghm_rng_shuffle(&r, s->queue + s->start[c], s->count[c]);
        s->pos[c] = 0;
        s->chunks[c] = s->count[c] / s->m;
    }
    for (int b = 0; b < s->n_batches; b++) {
        int *out = s->batches + (size_t)b * s->batch;
        for (int k = 0; k < s->n_elig; k++) s->chosen[s->elig[k]] = 0;
        for (int j = 0; j < s->per_batch; j++) {
            long long total = 0;
            for (int k = 0; k < s->n_elig; k++) {
                int c = s->elig[k];
                if (!s->chosen[c]) total += s->chunks[c];
            }
            int pick = -1;
            if (total > 0) {
                long long t = (long long)(ghm_rng_uniform(&r) * (double)total);
                for (int k = 0; k < s->n_elig; k++) {
                    int c = s->elig[k];
                    if (s->chosen[c] || s->chunks[c] == 0) continue;
                    if (t < s->chunks[c]) {
                        pick = c;
                        break;
                    }
                    t -= s->chunks[c];
                }
            }
            if (pick < 0) { /* no chunks left among the unchosen: uniform */
                int left = 0;
                for (int k = 0; k < s->n_elig; k++) left += !s->chosen[s->elig[k]];
                int t = (int)ghm_rng_below(&r, (uint32_t)left);
                for (int k = 0; k < s->n_elig; k++) {
                    int c = s->elig[k];
                    if (s->chosen[c]) continue;
                    if (t-- == 0) {
                        pick = c;
                        break;
                    }
                }
            }
            s->chosen[pick] = 1;
            if (s->chunks[pick] > 0) s->chunks[pick]--;
            int *q = s->queue + s->start[pick];
            if (s->pos[pick] + s->m > s->count[pick]) {
                ghm_rng_shuffle(&r, q, s->count[pick]);
                s->pos[pick] = 0;
            }
            memcpy(out + (size_t)j * s->m, q + s->pos[pick], sizeof(int) * (size_t)s->m);
            s->pos[pick] += s->m;
        }
    }
    s->epoch = epoch;
}

int ghm_sampler_batch(ghm_sampler *s, int epoch, int batch, int *idx, ghm_error *err)
{
    if (epoch < 0) return ghm_error_set(err, GHM_EINPUT, "sampler: epoch %d < 0", epoch);
    if (batch < 0 || batch >= s->n_batches)
        return ghm_error_set(err, GHM_EINPUT, "sampler: batch %d is out of range [0, %d)", batch, s->n_batches);
    if (s->epoch != epoch) make_epoch(s, epoch);
    memcpy(idx, s->batches + (size_t)batch * s->batch, sizeof(int) * (size_t)s->batch);
    return 0;
}
