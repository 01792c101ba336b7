/* "synthetic": procedural grey images of K classes, deterministic by seed.
 *
 * Each class has a prototype made of primitives in normalised coordinates
 * ([-1, 1]^2 is the image): two bent strokes of its own (3-point polylines),
 * one stroke from a small pool shared between classes (so classes overlap),
 * and one Gaussian blob. Every image draws its class prototype with
 *   - per-point jitter of the primitives (sigma 0.06),
 *   - a random affine warp: rotation +-25 degrees, scale 0.8..1.2, shift +-0.25,
 *   - with probability 0.5 one random distractor stroke,
 *   - a random contrast (0.6..1) and Gaussian pixel noise (sigma 0.08).
 * The warps make pixel-space nearest neighbours far from perfect while a
 * small network learns the classes easily (tests/test_datasets.cc measures
 * the pixel 1-NN accuracy).
 *
 * Random streams: prototypes from (seed, GHM_STREAM_DATA); the train and
 * test images from two further streams derived from the seed, so changing
 * train_per_class does not change the test images.
 */
#include "internal.h"

#include "../core/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYN_STROKE_PTS 3
#define SYN_OWN_STROKES 2

typedef struct syn_stroke {
    float x[SYN_STROKE_PTS], y[SYN_STROKE_PTS]; /* polyline */
    float width;                               /* Gaussian profile sigma, normalised units */
} syn_stroke;

typedef struct syn_proto {
    syn_stroke strokes[SYN_OWN_STROKES + 1]; /* own strokes, then the shared one */
    float bx, by, br;                        /* blob centre and radius */
} syn_proto;

static void random_stroke(ghm_rng *r, syn_stroke *s)
{
    /* start anywhere, then two steps of random direction and length, kept inside */
    float x = ghm_rng_uniformf(r, -0.6f, 0.6f), y = ghm_rng_uniformf(r, -0.6f, 0.6f);
    float ang = ghm_rng_uniformf(r, 0.0f, 6.2831853f);
    for (int k = 0; k < SYN_STROKE_PTS; k++) {
        s->x[k] = x;
        s->y[k] = y;
        float len = ghm_rng_uniformf(r, 0.4f, 0.8f);
        ang += ghm_rng_uniformf(r, -1.6f, 1.6f);
        x += len * cosf(ang);
        y += len * sinf(ang);
        if (x < -0.75f || x > 0.75f) { ang = 3.14159265f - ang; x = x < 0 ? -0.75f : 0.75f; }
        if (y < -0.75f || y > 0.75f) { ang = -ang; y = y < 0 ? -0.75f : 0.75f; }
    }
    s->width = ghm_rng_uniformf(r, 0.06f, 0.10f);
}

/* Squared distance from (px, py) to segment (ax, ay)-(bx, by). */
static float seg_dist2(float px, float py, float ax, float ay, float bx, float by)
{
    float dx = bx - ax, dy = by - ay;
    float l2 = dx * dx + dy * dy;
    float t = l2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / l2 : 0.0f;
    if (t < 0) t = 0;
    if (t > 1) t = 1;
    float qx = ax + t * dx - px, qy = ay + t * dy - py;
    return qx * qx + qy * qy;
}

/* Draw stroke s (already warped) with intensity a into img (S, S) by max. */
static void draw_stroke(float *img, int S, const syn_stroke *s, float a)
{
    float inv = 1.0f / (2.0f * s->width * s->width);
    for (int i = 0; i < S; i++) {
        float py = -1.0f + (2.0f * i + 1.0f) / S;
        for (int j = 0; j < S; j++) {
            float px = -1.0f + (2.0f * j + 1.0f) / S;
            float d2 = 1e9f;
            for (int k = 0; k + 1 < SYN_STROKE_PTS; k++) {
                float e = seg_dist2(px, py, s->x[k], s->y[k], s->x[k + 1], s->y[k + 1]);
                if (e < d2) d2 = e;
            }
            if (d2 * inv > 9.0f) continue;
            float v = a * expf(-d2 * inv);
            if (v > img[i * S + j]) img[i * S + j] = v;
        }
    }
}

static void draw_blob(float *img, int S, float cx, float cy, float r, float a)
{
    float inv = 1.0f / (2.0f * r * r);
    for (int i = 0; i < S; i++) {
        float py = -1.0f + (2.0f * i + 1.0f) / S;
        for (int j = 0; j < S; j++) {
            float px = -1.0f + (2.0f * j + 1.0f) / S;
            float d2 = (px - cx) * (px - cx) + (py - cy) * (py - cy);
            float v = a * expf(-d2 * inv);
            if (v > img[i * S + j]) img[i * S + j] = v;
        }
    }
}

typedef struct syn_affine {
    float a, b, c, d, tx, ty; /* p' = [a b; c d] p + t */
} syn_affine;

static void warp_point(const syn_affine *t, float *x, float *y)
{
    float nx = t->a * *x + t->b * *y + t->tx, ny = t->c * *x + t->d * *y + t->ty;
    *x = nx;
    *y = ny;
}

/* Render one image of prototype p into out (S*S bytes); tmp is S*S floats. */
static void render(ghm_rng *r, const syn_proto *p, int S, float *tmp, uint8_t *out)
{
    memset(tmp, 0, sizeof(float) * (size_t)S * S);
    float th = ghm_rng_uniformf(r, -0.611f, 0.611f); /* +-35 degrees */
    float sc = ghm_rng_uniformf(r, 0.75f, 1.25f);
    float asp = ghm_rng_uniformf(r, 0.9f, 1.1f);     /* mild anisotropy */
    syn_affine t = {sc * asp * cosf(th), -sc * sinf(th), sc * asp * sinf(th), sc * cosf(th),
                    ghm_rng_uniformf(r, -0.35f, 0.35f), ghm_rng_uniformf(r, -0.35f, 0.35f)};
    float contrast = ghm_rng_uniformf(r, 0.6f, 1.0f);
    for (int s = 0; s < SYN_OWN_STROKES + 1; s++) {
        syn_stroke w = p->strokes[s];
        if (ghm_rng_uniform(r) < 0.15) continue; /* drop this primitive */
        for (int k = 0; k < SYN_STROKE_PTS; k++) {
            w.x[k] += 0.09f * (float)ghm_rng_normal(r);
            w.y[k] += 0.09f * (float)ghm_rng_normal(r);
            warp_point(&t, &w.x[k], &w.y[k]);
        }
        w.width *= sc;
        draw_stroke(tmp, S, &w, contrast);
    }
    float bx = p->bx + 0.06f * (float)ghm_rng_normal(r), by = p->by + 0.06f * (float)ghm_rng_normal(r);
    warp_point(&t, &bx, &by);
    draw_blob(tmp, S, bx, by, p->br * sc, contrast);
    if (ghm_rng_uniform(r) < 0.7) {
        syn_stroke d;
        random_stroke(r, &d);
        draw_stroke(tmp, S, &d, 0.7f * contrast);
    }
    for (int i = 0; i < S * S; i++) {
        float v = tmp[i] + 0.10f * (float)ghm_rng_normal(r);
        v = v < 0 ? 0 : v > 1 ? 1 : v;
        out[i] = (uint8_t)lrintf(v * 255.0f);
    }
}

static int make_part(uint64_t seed, int part, const syn_proto *protos, int K, int per_class, int S, ghm_images *im,
                     ghm_error *err)
{
    im->n = K * per_class;
    im->c = 1;
    im->h = S;
    im->w = S;
    im->pixels = malloc((size_t)im->n * S * S + 1);
    im->labels = malloc(sizeof(int) * ((size_t)im->n + 1));
    float *tmp = malloc(sizeof(float) * (size_t)S * S);
    if (!im->pixels || !im->labels || !tmp) {
        free(tmp);
        return ghm_error_set(err, GHM_ENOMEM, "synthetic: out of memory for %d images of %dx%d", im->n, S, S);
    }
    ghm_rng r;
    ghm_rng_seed(&r, ghm_ds_mix(seed ^ (0xA5A5ULL + (uint64_t)part)), GHM_STREAM_DATA);
    for (int i = 0; i < im->n; i++) {
        int c = i % K; /* classes interleaved */
        im->labels[i] = c;
        render(&r, &protos[c], S, tmp, im->pixels + (size_t)i * S * S);
    }
    free(tmp);
    return 0;
}

static int load_synthetic(const ghm_dataset_opts *o, ghm_dataset *d, ghm_error *err)
{
    int K = o->classes, ntr = o->train_per_class, nte = o->test_per_class, S = o->image_size;
    if (K < 2 || K > GHM_MAX_CLASSES)
        return ghm_error_set(err, GHM_EINPUT, "synthetic: classes = %d must be in [2, %d]", K, GHM_MAX_CLASSES);
    if (ntr < 1 || ntr > 100000)
        return ghm_error_set(err, GHM_EINPUT, "synthetic: train_per_class = %d must be in [1, 100000]", ntr);
    if (nte < 0 || nte > 100000)
        return ghm_error_set(err, GHM_EINPUT, "synthetic: test_per_class = %d must be in [0, 100000]", nte);
    if (S < 8 || S > 256) return ghm_error_set(err, GHM_EINPUT, "synthetic: image_size = %d must be in [8, 256]", S);
    if ((double)K * (ntr + nte) * S * S > 2e9)
        return ghm_error_set(err, GHM_EINPUT, "synthetic: %d classes x %d images of %dx%d is too large", K, ntr + nte, S,
                             S);

    syn_proto *protos = calloc((size_t)K, sizeof *protos);
    int npool = K / 2 < 4 ? 4 : K / 2;
    syn_stroke *pool = calloc((size_t)npool, sizeof *pool);
    if (!protos || !pool) {
        free(protos);
        free(pool);
        return ghm_error_set(err, GHM_ENOMEM, "synthetic: out of memory");
    }
    ghm_rng r;
    ghm_rng_seed(&r, o->seed, GHM_STREAM_DATA);
    for (int k = 0; k < npool; k++) random_stroke(&r, &pool[k]);
    for (int c = 0; c < K; c++) {
        for (int s = 0; s < SYN_OWN_STROKES; s++) random_stroke(&r, &protos[c].strokes[s]);
        protos[c].strokes[SYN_OWN_STROKES] = pool[ghm_rng_below(&r, (uint32_t)npool)];
        protos[c].bx = ghm_rng_uniformf(&r, -0.5f, 0.5f);
        protos[c].by = ghm_rng_uniformf(&r, -0.5f, 0.5f);
        protos[c].br = ghm_rng_uniformf(&r, 0.10f, 0.20f);
    }
    int rc = make_part(o->seed, 0, protos, K, ntr, S, &d->train, err);
    if (rc == 0) rc = make_part(o->seed, 1, protos, K, nte, S, &d->test, err);
    free(protos);
    free(pool);
    if (rc) return rc;
    d->n_classes = K;
    for (int c = 0; c < K; c++) snprintf(d->class_names[c], GHM_CLASS_NAME_MAX, "class%d", c);
    snprintf(d->source, sizeof d->source,
             "procedural (seed %llu): %d classes, %d train + %d test images per class, %dx%d grey",
             (unsigned long long)o->seed, K, ntr, nte, S, S);
    return 0;
}

/* its registry entry (GHM_DATASET_LIST in datasets/registry.c) */
const ghm_dataset_info ghm_dataset_synthetic = {
    "synthetic",
    "procedural grey images: K classes of random strokes/blobs under random affine warps and noise "
    "(params classes, train_per_class, test_per_class, image_size, seed)",
    GHM_DS_PARAM_CLASSES | GHM_DS_PARAM_TRAIN_PER_CLASS | GHM_DS_PARAM_TEST_PER_CLASS | GHM_DS_PARAM_IMAGE_SIZE,
    GHM_DS_GENERATED, 0, NULL, load_synthetic};
