/* Small residual network with batch norm (CIFAR-style ResNet, He et al. 2016):
 *
 *   x (B, C, H, W), C in {1, 3}, H = W in {28, 32}
 *   stem: conv3x3 C->16 (pad 1), BN, ReLU
 *   3 stages of `blocks` basic blocks, widths 16, 32, 64, first block strides 1, 2, 2:
 *       out = ReLU(BN(conv3x3(ReLU(BN(conv3x3(x))))) + shortcut(x))
 *       shortcut = identity, or conv1x1 (stride s) + BN when the shape changes
 *   global average pool -> (B, 64); linear 64->D
 *
 * Convolutions have no bias (BN follows). Feature maps are channel-major
 * (C, B, H, W) (nn/layers.h). Initialisation as torchvision's ResNet:
 * conv weights Kaiming normal (fan_out, ReLU gain), BN gamma 1 and beta 0,
 * the final linear PyTorch's default U(-1/sqrt(64), 1/sqrt(64)).
 * Convolutions use a bounded im2col workspace (chunks of images) and recompute
 * it in backward when a chunk does not cover the batch. On the oneDNN path the
 * blocks' 3x3 stride-1 convolutions run as Winograd F(4x4, 3x3) in inference
 * (and, on the AVX2 kernels, in training's forward and input gradient; see
 * struct resnet), the stem's inference on a direct kernel of ghm's
 * (ghm_conv3x3_in_forward), and inference runs its passes side by side, one
 * per thread (struct fworker).
 */
#include "backbone.h"
#include "common.h"

#include "core/threads.h"
#include "nn/layers.h"

#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static const ghm_param_spec params[] = {
    {"blocks", 1, 1, 8, "basic blocks per stage (3 stages)", NULL, 1, 0, 0}, {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0}};

#define COL_BUDGET ((size_t)4 << 20) /* floats of im2col workspace (16 MB) */
#define EVAL_CHUNK 64
/* Images per inference pass on the fused primitives (at most; a call is split
 * into equal passes): the maps of 16-20 images (about 1 MB for the first
 * stage, half per thread) stay in cache from one convolution to the next,
 * those of 64 or 120 images (3-6 MB each) do not. Measured with ghm bench
 * embed (2 threads, alternating runs; the backbone's batch there is 64):
 * passes of 30 images 1.18x faster than passes of 64 (6 of 6 pairs); 2 x 32
 * faster than 1 x 64 in 5 of 5 pairs; 4 x 16 faster than 2 x 32 in 5 of 8
 * (median 6,228 against 5,949 img/s). */
#define FUSED_BATCH 20

/* conv (no bias) + batch norm. */
typedef struct cbn {
    ghm_tensor *w, *gamma, *beta;
    float *rmean, *rvar;   /* (cout) running statistics */
    float *mean, *invstd;  /* (cout) batch statistics of the last train forward */
    float *fbias;          /* (cout) bias of the folded batch norm (inference) */
    int cin, cout, k, stride, pad, H, W, OH, OW;
    int chunk;             /* images per im2col chunk */
    float *y;              /* (cout, B, OH, OW) conv output (BN input) */
    float *z;              /* (cout, B, OH, OW) BN output (ReLU applied in place where the net has one) */
    ghm_conv_dnnl *dn;     /* oneDNN convolution for a batch of the capacity (NULL: reference path) */
    ghm_conv_dnnl *fz;     /* its inference form with batch norm folded in (and ReLU / residual sum fused) */
    float *wu;             /* 3x3 stride 1 on the fused path: its folded weights, Winograd-transformed (NULL: fz) */
    float *wd;             /* the stem on the fused path: its folded weights for ghm_conv3x3_in_forward (NULL: fz) */
    int wsum;              /* inference adds the residual (branch b), before the ReLU every such cbn has */
    int relu;              /* ReLU after batch norm (set by the forward) */
    int idx;               /* its place in FOR_CBN's order */
    int fsum, frelu;       /* fz's sum and ReLU */
} cbn;

typedef struct block {
    cbn a, b, s;
    int proj;   /* 1: shortcut s is conv1x1 + BN */
    float *out; /* (cout, B, OH, OW) block output */
} block;

/* passes per thread in a round of run_passes (at most): the threads take a round's passes as they come
 * free, so one slow pass (a descheduled thread) does not leave the others idle at every pass */
#define PASS_ROUND 8

/* Inference passes side by side: with T threads, T fused passes run at once, one per thread, each pass
 * on one thread from the stem to the pooled features (oneDNN runs sequentially inside a parallel region),
 * instead of every layer of one pass split over the threads. A layer split over 2 threads spent about a
 * fifth of its time at the barrier that ends it (perf: libgomp's wait against the kernels), and two
 * 1-thread processes side by side embedded 20-23.5k img/s against 14.6-16.7k for one of 2 threads
 * (AMD EPYC, AVX-512). A worker holds one pass's maps, workspace and primitives: worker 0 the backbone's
 * own (z of the stem and of each block's first cbn, the blocks' out, col, fz), the others copies. */
typedef struct fworker {
    float *arena;       /* workers >= 1: their maps and workspace */
    float *xin;         /* (C, fcap, H, W) */
    float *ws;          /* workspace of ws_size floats: oneDNN's reorders and scratchpad, Winograd's */
    size_t ws_size;
    float *fold;        /* the largest cbn's folded weights (worker 0: r->fold) */
    float **z;          /* [cbn idx]: output of the stem and of the blocks' a (others NULL) */
    float **out;        /* [block]: output */
    ghm_conv_dnnl **fz; /* [cbn idx]: fused primitive */
} fworker;

typedef struct resnet {
    bb_tensors ts;
    cbn stem;
    block *blk;
    int nblk;
    ghm_tensor *fw, *fb;
    float *stats;       /* running stats + batch stats storage */
    int cap;            /* images the activation buffers hold */
    float *arena;
    float *xin;         /* (C, B, H, W) input, channel-major */
    float *pool;        /* (B, 64) */
    float *dpool;       /* (B, 64) */
    float *g[3];        /* scratch gradients, each max activation size */
    float *col;         /* im2col workspace (oneDNN's reorder workspace on that path) */
    size_t col_size;
    int n;
    /* oneDNN path (nn/layers.h), for batches of exactly `cap` images: every
     * map from the stem's output on is in oneDNN's blocked layout (the same
     * buffers: the widths are multiples of its channel block), so no layer
     * reorders; the global pool reads the last block's output in that layout */
    int dnnl;           /* 1: the primitives below exist */
    int cur_dnnl;       /* path of the current pass (and of the last train forward) */
    float *xpad, *opad; /* (cap, C, H, W) and (cap, dim): inference on fewer images, zero-padded */
    /* inference with batch norm folded into each convolution (the fz primitives):
     * w' = w * s, bias = beta - running_mean * s, s = gamma / sqrt(running_var + eps)
     * per output channel (cbn_fold), once per inference call where the primitives keep the weights */
    int fused;          /* 1: every cbn has its fz, made for batches of fcap images */
    int kept;           /* 1: every fz holds the folded weights of the current inference call */
    int fcap;           /* cap split evenly into passes of at most FUSED_BATCH */
    int nhwc;           /* 1: the fused passes' maps are NHWC (else blocked) */
    /* the fused passes run the 3x3 stride-1 convolutions (each block's, not the stem's) as Winograd F(4x4, 3x3)
     * (nn/layer_wino.c) on the same maps: 4x fewer multiply-adds; GHM_WINOGRAD=0 keeps them on oneDNN */
    int wlay;           /* GHM_WINO_BLOCKED8 or GHM_WINO_NHWC16 */
    /* training on the AVX2 kernels (own3x3's layers, blocks of 8): the forward and the input gradient of the
     * 3x3 stride-1 convolutions on Winograd too (the weight gradient stays direct); wtrain the current
     * convolution's transformed weights, wflip its weights flipped for the input gradient (NULL: the direct
     * forward and oneDNN's input gradient) */
    float *wtrain, *wflip;
    float *fold;        /* the largest cbn's folded weights */
    int ncbn;           /* cbns (FOR_CBN's count) */
    fworker *pw;        /* npw pass workers (npw 0: none; 1: passes one after another) */
    int npw;
    float *gpool;       /* (PASS_ROUND * npw * fcap, 64): the pooled features of a round of passes */
} resnet;

static int cbn_init(resnet *r, cbn *c, const char *name, int cin, int cout, int k, int stride, int H, int W,
                    ghm_rng *rng, ghm_error *err)
{
    char nm[96];
    c->cin = cin;
    c->cout = cout;
    c->k = k;
    c->stride = stride;
    c->pad = k / 2;
    c->H = H;
    c->W = W;
    c->OH = ghm_conv2d_out(H, k, stride, c->pad);
    c->OW = ghm_conv2d_out(W, k, stride, c->pad);
    const int sw[4] = {cout, cin, k, k}, sc[1] = {cout};
    snprintf(nm, sizeof nm, "%s.conv.weight", name);
    if (!(c->w = bb_tensor_add(&r->ts, nm, 4, sw, 1, err))) return err ? err->code : GHM_ENOMEM;
    snprintf(nm, sizeof nm, "%s.bn.weight", name);
    if (!(c->gamma = bb_tensor_add(&r->ts, nm, 1, sc, 0, err))) return err ? err->code : GHM_ENOMEM;
    snprintf(nm, sizeof nm, "%s.bn.bias", name);
    if (!(c->beta = bb_tensor_add(&r->ts, nm, 1, sc, 0, err))) return err ? err->code : GHM_ENOMEM;
    ghm_init_kaiming_normal(c->w->data, c->w->n, cout * k * k, rng);
    for (int i = 0; i < cout; i++) c->gamma->data[i] = 1.0f;
    const size_t per = (size_t)cin * k * k * c->OH * c->OW;
    c->chunk = (int)(COL_BUDGET / per);
    if (c->chunk < 1) c->chunk = 1;
    return 0;
}

static size_t act(const cbn *c) { return (size_t)c->cout * c->OH * c->OW; }

/* Visit every cbn. */
#define FOR_CBN(r, body)                                                                                             \
    do {                                                                                                             \
        cbn *c_ = &(r)->stem;                                                                                        \
        body;                                                                                                        \
        for (int i_ = 0; i_ < (r)->nblk; i_++) {                                                                     \
            c_ = &(r)->blk[i_].a;                                                                                    \
            body;                                                                                                    \
            c_ = &(r)->blk[i_].b;                                                                                    \
            body;                                                                                                    \
            if ((r)->blk[i_].proj) {                                                                                 \
                c_ = &(r)->blk[i_].s;                                                                                \
                body;                                                                                                \
            }                                                                                                        \
        }                                                                                                            \
    } while (0)

static void workers_free(resnet *r)
{
    for (int t = 0; t < r->npw; t++) {
        fworker *w = &r->pw[t];
        if (t > 0 && w->fz)
            for (int i = 0; i < r->ncbn; i++) ghm_conv_dnnl_destroy(w->fz[i]);
        free(w->fz);
        free(w->z);
        free(w->out);
        ghm_free(w->arena);
    }
    free(r->pw);
    ghm_free(r->gpool);
    r->pw = NULL;
    r->gpool = NULL;
    r->npw = 0;
}

static void dnnl_free(resnet *r)
{
    workers_free(r);
    if (r->stats) FOR_CBN(r, {
            ghm_conv_dnnl_destroy(c_->dn);
            ghm_conv_dnnl_destroy(c_->fz);
            c_->dn = c_->fz = NULL;
            ghm_free(c_->wu);
            ghm_free(c_->wd);
            c_->wu = c_->wd = NULL;
        });
    r->fused = 0;
    r->dnnl = 0;
}

static void destroy(ghm_backbone *b)
{
    resnet *r = (resnet *)b->impl;
    if (!r) return;
    dnnl_free(r);
    bb_tensors_free(&r->ts);
    free(r->blk);
    ghm_free(r->stats);
    ghm_free(r->arena);
    ghm_free(r->col);
    ghm_free(r->xpad);
    ghm_free(r->opad);
    ghm_free(r->fold);
    ghm_free(r->wtrain);
    ghm_free(r->wflip);
    free(r);
    b->impl = NULL;
}


static int create(ghm_backbone *b, ghm_rng *rng, ghm_error *err)
{
    if ((b->in_c != 1 && b->in_c != 3) || b->in_h != b->in_w || (b->in_h != 28 && b->in_h != 32))
        return ghm_error_set(err, GHM_EINPUT,
                             "backbone 'resnet' needs 1 or 3 channels of 28x28 or 32x32 pixels, got %dx%dx%d "
                             "(C x H x W)",
                             b->in_c, b->in_h, b->in_w);
    resnet *r = (resnet *)calloc(1, sizeof *r);
    if (!r) return GHM_FAIL(err, GHM_ENOMEM, "resnet: out of memory");
    b->impl = r;
    const int nb = (int)ghm_params_get(&b->params, "blocks", 1);
    r->nblk = 3 * nb;
    r->blk = (block *)calloc((size_t)r->nblk, sizeof *r->blk);
    if (!r->blk) {
        destroy(b);
        return GHM_FAIL(err, GHM_ENOMEM, "resnet: out of memory");
    }
    int rc = cbn_init(r, &r->stem, "stem", b->in_c, 16, 3, 1, b->in_h, b->in_w, rng, err);
    int cin = 16, H = b->in_h;
    static const int width[3] = {16, 32, 64}, stride0[3] = {1, 2, 2};
    for (int s = 0; s < 3 && !rc; s++)
        for (int j = 0; j < nb && !rc; j++) {
            block *k = &r->blk[s * nb + j];
            const int stride = j == 0 ? stride0[s] : 1, cout = width[s];
            char nm[40];
            snprintf(nm, sizeof nm, "layer%d.%d.a", s + 1, j);
            rc = cbn_init(r, &k->a, nm, cin, cout, 3, stride, H, H, rng, err);
            const int OH = k->a.OH;
            snprintf(nm, sizeof nm, "layer%d.%d.b", s + 1, j);
            if (!rc) rc = cbn_init(r, &k->b, nm, cout, cout, 3, 1, OH, OH, rng, err);
            k->proj = stride != 1 || cin != cout;
            snprintf(nm, sizeof nm, "layer%d.%d.shortcut", s + 1, j);
            if (!rc && k->proj) rc = cbn_init(r, &k->s, nm, cin, cout, 1, stride, H, H, rng, err);
            cin = cout;
            H = OH;
        }
    const int sw[2] = {b->dim, 64}, sb[1] = {b->dim};
    if (!rc && (!(r->fw = bb_tensor_add(&r->ts, "fc.weight", 2, sw, 1, err)) ||
                !(r->fb = bb_tensor_add(&r->ts, "fc.bias", 1, sb, 0, err))))
        rc = err ? err->code : GHM_ENOMEM;
    if (rc) {
        destroy(b);
        return rc;
    }
    ghm_init_uniform_fan_in(r->fw->data, r->fw->n, 64, rng);
    ghm_init_uniform_fan_in(r->fb->data, r->fb->n, 64, rng);
    /* statistics: 4 arrays of cout per cbn, and the folded bias */
    size_t ns = 0;
    FOR_CBN(r, ns += 5 * (size_t)c_->cout);
    r->stats = ghm_alloc_floats(ns);
    if (!r->stats) {
        destroy(b);
        return GHM_FAIL(err, GHM_ENOMEM, "resnet: out of memory");
    }
    float *p = r->stats;
    FOR_CBN(r, {
        c_->rmean = p;
        c_->rvar = p + c_->cout;
        c_->mean = p + 2 * c_->cout;
        c_->invstd = p + 3 * c_->cout;
        c_->fbias = p + 4 * c_->cout;
        for (int q = 0; q < c_->cout; q++) c_->rvar[q] = 1.0f;
        p += 5 * (size_t)c_->cout;
        c_->idx = r->ncbn++;
    });
    return 0;
}

/* One cbn's fused inference primitive (x blocked except for the stem's input,
 * y blocked). sum: add the block's shortcut, which y holds; relu: then ReLU.
 * Grows *ws to its workspace and *fold to its weights. 0 or -1. */
static int fz_make(resnet *r, cbn *c, int n, int sum, int relu, size_t *ws, size_t *fold)
{
    /* the maps in NHWC on AVX-512 (blocks of 16): oneDNN's fastest inference kernels there (brgconv) work on
     * NHWC and would otherwise reorder every map in and out of each convolution (14% of the time) */
    const int lay = ghm_dnnl_block() == 16 ? 2 : 1;
    c->fz = ghm_conv_dnnl_create_fused(n, c->cin, c->H, c->W, c->cout, c->k, c->stride, c->pad,
                                       c != &r->stem ? lay : 0, lay, sum, relu);
    c->fsum = sum;
    c->frelu = relu;
    r->nhwc = lay == 2;
    if (!c->fz) return -1;
    if (ghm_conv_dnnl_ws_size(c->fz) > *ws) *ws = ghm_conv_dnnl_ws_size(c->fz);
    const size_t f = (size_t)c->cout * c->cin * c->k * c->k;
    if (f > *fold) *fold = f;
    return 0;
}

/* The pass workers for fused passes of r->fcap images (struct fworker): nw of them where oneDNN has a
 * stream for each, else worker 0 alone. -1: out of memory or a primitive failed (workers_free then). */
static int workers_make(ghm_backbone *b, resnet *r, int nw)
{
    const int fc = r->fcap, lay = ghm_dnnl_block() == 16 ? 2 : 1;
    if (nw < 1 || ghm_dnnl_streams_reserve(nw)) nw = 1;
    if (!(r->pw = (fworker *)calloc((size_t)nw, sizeof *r->pw))) return -1;
    r->npw = nw;
    if (!(r->gpool = ghm_alloc_floats((size_t)PASS_ROUND * nw * fc * 64))) return -1;
    /* each worker's workspace: the largest of its primitives' and of a 1-thread Winograd call's */
    size_t ws = 0;
    FOR_CBN(r, {
        if (ghm_conv_dnnl_ws_size(c_->fz) > ws) ws = ghm_conv_dnnl_ws_size(c_->fz);
        if (c_->wu && ghm_wino3x3_ws_size(c_->cin, c_->cout, 1) > ws) ws = ghm_wino3x3_ws_size(c_->cin, c_->cout, 1);
    });
    const size_t img = (size_t)b->in_c * b->in_h * b->in_w;
    size_t maps = img + act(&r->stem), fold = 0;
    for (int i = 0; i < r->nblk; i++) maps += act(&r->blk[i].a) + act(&r->blk[i].b);
    FOR_CBN(r, {
        const size_t f = (size_t)c_->cout * c_->cin * c_->k * c_->k;
        if (f > fold) fold = f;
    });
    for (int t = 0; t < nw; t++) {
        fworker *w = &r->pw[t];
        w->z = (float **)calloc((size_t)r->ncbn, sizeof *w->z);
        w->out = (float **)calloc((size_t)r->nblk, sizeof *w->out);
        w->fz = (ghm_conv_dnnl **)calloc((size_t)r->ncbn, sizeof *w->fz);
        if (!w->z || !w->out || !w->fz) return -1;
        if (t == 0) { /* the backbone's own */
            w->xin = r->xin;
            w->ws = r->col;
            w->ws_size = r->col_size;
            w->fold = r->fold;
            FOR_CBN(r, {
                w->z[c_->idx] = c_->z;
                w->fz[c_->idx] = c_->fz;
            });
            for (int i = 0; i < r->nblk; i++) w->out[i] = r->blk[i].out;
            continue;
        }
        if (!(w->arena = ghm_alloc_floats(maps * fc + fold + ws))) return -1;
        float *p = w->arena;
        w->xin = p;
        p += img * fc;
        w->z[r->stem.idx] = p;
        p += act(&r->stem) * fc;
        for (int i = 0; i < r->nblk; i++) {
            w->z[r->blk[i].a.idx] = p;
            p += act(&r->blk[i].a) * fc;
            w->out[i] = p;
            p += act(&r->blk[i].b) * fc;
        }
        w->fold = p;
        p += fold;
        w->ws = p;
        w->ws_size = ws;
        int ok = 1;
        FOR_CBN(r, {
            if (ok) {
                ghm_conv_dnnl *f = ghm_conv_dnnl_create_fused(fc, c_->cin, c_->H, c_->W, c_->cout, c_->k, c_->stride,
                                                              c_->pad, c_ != &r->stem ? lay : 0, lay, c_->fsum,
                                                              c_->frelu);
                w->fz[c_->idx] = f;
                ok = f && ghm_conv_dnnl_ws_size(f) <= ws;
            }
        });
        if (!ok) return -1;
    }
    return 0;
}

static int own3x3(const resnet *r, const cbn *c)
{
    return c != &r->stem && c->k == 3 && c->stride == 1 && ghm_dnnl_block() == 8;
}

/* Make the oneDNN primitives for batches of n (before any step); on any
 * failure none are kept and the reference path runs. Needs r->col_size set to
 * the im2col size: grows it to the largest reorder workspace. */
static void dnnl_make(ghm_backbone *b, resnet *r, int n)
{
    dnnl_free(r);
    if (!ghm_conv_backend_dnnl()) return;
    int ok = 1;
    size_t ws = r->col_size;
    FOR_CBN(r, {
        if (ok) {
            const int stem = c_ == &r->stem;
            c_->dn = ghm_conv_dnnl_create(n, c_->cin, c_->H, c_->W, c_->cout, c_->k, c_->stride, c_->pad, 1, !stem,
                                          1);
            /* element-wise layers (ReLU, residual add) treat the blocked maps as flat arrays, batch norm
             * needs whole channel blocks */
            ok = c_->dn && c_->cout % ghm_dnnl_block() == 0 && ghm_dnnl_map_size(n, c_->cout, c_->OH, c_->OW, 1) == act(c_) * n &&
                 (stem || ghm_dnnl_map_size(n, c_->cin, c_->H, c_->W, 1) == (size_t)c_->cin * c_->H * c_->W * n);
            if (ok && ghm_conv_dnnl_ws_size(c_->dn) > ws) ws = ghm_conv_dnnl_ws_size(c_->dn);
        }
    });
    /* the inference primitives: without them inference runs the training primitives and batch norm apart */
    size_t fold = 0;
    /* passes of at most FUSED_BATCH that split a call of n images evenly (120 -> 6 x 20; 64 -> 4 x 16, not
     * 3 x 20 + 4 padded to 20: callers such as the embedding of a dataset pass n at a time), as many as a
     * multiple of the threads, which run them side by side (struct fworker; 120 in 3 x 40 on 2 threads
     * left one thread idle for the third pass: 11.8k img/s against 20.9k for 6 x 20) */
    const int nt = ghm_threads_get() > 1 ? ghm_threads_get() : 1;
    int passes = (n + FUSED_BATCH - 1) / FUSED_BATCH;
    if (passes % nt) passes += nt - passes % nt;
    if (passes > n) passes = n;
    const int fn = (n + passes - 1) / passes;
    int fused = ok && !fz_make(r, &r->stem, fn, 0, 1, &ws, &fold);
    for (int i = 0; i < r->nblk && fused; i++) {
        block *k = &r->blk[i];
        fused = !fz_make(r, &k->a, fn, 0, 1, &ws, &fold) && !fz_make(r, &k->b, fn, 1, 1, &ws, &fold) &&
                (!k->proj || !fz_make(r, &k->s, fn, 0, 0, &ws, &fold));
    }
    if (fused) {
        ghm_free(r->fold);
        fused = (r->fold = ghm_alloc_floats(fold)) != NULL;
        r->fcap = fn;
    }
    /* Winograd for the blocks' 3x3 stride-1 convolutions, on the fused passes' maps (blocks of 8 channels,
     * or NHWC in vectors of 16); a cbn whose weights cannot be allocated stays on its fz primitive */
    r->wlay = r->nhwc ? GHM_WINO_NHWC16 : GHM_WINO_BLOCKED8;
    const int vw = r->nhwc ? 16 : 8;
    if (fused && ghm_wino_enabled() && (r->nhwc || ghm_dnnl_block() == 8)) {
        /* the stem: direct (1 -> 16 channels, 28 x 28: oneDNN's kernel ran at a quarter of the peak) */
        cbn *st = &r->stem;
        if (st->cout % vw == 0 && st->H % 2 == 0 && st->W % 4 == 0)
            st->wd = ghm_alloc_floats(ghm_conv3x3_in_weights_size(st->cin, st->cout));
        for (int i = 0; i < r->nblk; i++) {
            cbn *w2[2] = {&r->blk[i].a, &r->blk[i].b};
            for (int j = 0; j < 2; j++) {
                cbn *c = w2[j];
                if (c->k != 3 || c->stride != 1 || c->cin % vw || c->cout % vw) continue;
                c->wu = ghm_alloc_floats(ghm_wino3x3_weights_size(c->cin, c->cout));
                c->wsum = j == 1;
                const size_t need = ghm_wino3x3_ws_size(c->cin, c->cout, ghm_threads_get());
                if (c->wu && need > ws) ws = need;
            }
        }
    }

    if (!fused) FOR_CBN(r, {
            ghm_conv_dnnl_destroy(c_->fz);
            c_->fz = NULL;
        });
    if (ok && ws > r->col_size) {
        float *col = ghm_alloc_floats(ws);
        if (col) {
            ghm_free(r->col);
            r->col = col;
            r->col_size = ws;
        }
        ok = col != NULL;
    }
    if (ok) {
        r->xpad = ghm_alloc_floats((size_t)n * b->in_c * b->in_h * b->in_w);
        r->opad = ghm_alloc_floats((size_t)n * b->dim);
        ok = r->xpad && r->opad;
    }
    if (!ok) {
        dnnl_free(r);
        return;
    }
    r->dnnl = 1;
    r->fused = fused;
    if (fused && workers_make(b, r, ghm_threads_get())) {
        workers_free(r); /* then the passes run one after another, each layer on all threads */
        if (workers_make(b, r, 1)) {
            workers_free(r);
            r->fused = 0;
        }
    }
    ghm_free(r->wtrain);
    ghm_free(r->wflip);
    r->wtrain = r->wflip = NULL;
    if (ghm_wino_enabled() && ghm_dnnl_block() == 8) { /* the largest 3x3 stride-1 layer: 64 x 64 */
        size_t most = 0;
        FOR_CBN(r, {
            if (own3x3(r, c_) && (size_t)c_->cin * c_->cout > most) most = (size_t)c_->cin * c_->cout;
        });
        if (most) {
            r->wtrain = ghm_alloc_floats(36 * most);
            r->wflip = ghm_alloc_floats(9 * most);
            if (!r->wtrain || !r->wflip) {
                ghm_free(r->wtrain);
                ghm_free(r->wflip);
                r->wtrain = r->wflip = NULL;
            }
        }
    }
}

static int ensure(ghm_backbone *b, int n, ghm_error *err)
{
    resnet *r = (resnet *)b->impl;
    if (n <= r->cap) return 0;
    ghm_free(r->arena);
    ghm_free(r->col);
    ghm_free(r->xpad);
    ghm_free(r->opad);
    r->col = r->xpad = r->opad = NULL;
    r->cap = 0;
    dnnl_free(r);
    const size_t img = (size_t)b->in_c * b->in_h * b->in_w;
    size_t per = img + 2 * 64, amax = img, colmax = 0;
    FOR_CBN(r, {
        per += 2 * act(c_);
        if (act(c_) > amax) amax = act(c_);
        int ch = c_->chunk < n ? c_->chunk : n;
        size_t cs = ghm_conv2d_col_size(c_->cin, c_->k, c_->OH, c_->OW, ch);
        if (cs > colmax) colmax = cs;
    });
    for (int i = 0; i < r->nblk; i++) per += act(&r->blk[i].b);
    per += 3 * amax;
    r->arena = ghm_alloc_floats(per * (size_t)n);
    r->col = ghm_alloc_floats(colmax);
    if (!r->arena || !r->col) {
        ghm_free(r->arena);
        ghm_free(r->col);
        r->arena = r->col = NULL;
        return GHM_FAIL(err, GHM_ENOMEM, "resnet: out of memory for a batch of %d", n);
    }
    r->col_size = colmax;
    r->cap = n;
    float *p = r->arena;
    r->xin = p;
    p += img * n;
    r->pool = p;
    p += 64 * (size_t)n;
    r->dpool = p;
    p += 64 * (size_t)n;
    FOR_CBN(r, {
        c_->y = p;
        p += act(c_) * n;
        c_->z = p;
        p += act(c_) * n;
    });
    for (int i = 0; i < r->nblk; i++) {
        r->blk[i].out = p;
        p += act(&r->blk[i].b) * n;
    }
    for (int i = 0; i < 3; i++) {
        r->g[i] = p;
        p += amax * n;
    }
    dnnl_make(b, r, n);
    return 0;
}

/* 3x3 stride-1 layers beside oneDNN's AVX2 kernels (blocks of 8): ghm's direct kernels for their forward
 * (1.1-1.2x oneDNN's) and weight gradient (1.2-1.6x), measured alternating in one training process */
/* The convolution of a forward on the oneDNN path (x and c->y blocked). 0, or -1 when oneDNN fails. */
static int conv_forward_dnnl(resnet *r, cbn *c, const float *x, int n)
{
    if (own3x3(r, c) && r->wtrain && !ghm_wino3x3_weights(r->wtrain, c->w->data, c->cin, c->cout, 8) &&
        !ghm_wino3x3_forward(c->y, x, r->wtrain, NULL, n, c->cin, c->H, c->W, c->cout, GHM_WINO_BLOCKED8, 0, 0,
                             r->col, r->col_size))
        return 0;
    if (own3x3(r, c) && (size_t)c->cout * c->cin * 9 <= r->col_size && /* r->col: the weights' workspace */
        !ghm_conv3x3_blocked_forward(c->y, x, c->w->data, r->col, n, c->cin, c->H, c->W, c->cout))
        return 0;
    return ghm_conv_dnnl_forward(c->dn, r->col, c->y, x, c->w->data);
}

/* On the oneDNN path (r->cur_dnnl) x, y, z are blocked (batch norm and ReLU
 * fused). Returns 0, or -1 when oneDNN fails. */
static int cbn_forward(resnet *r, cbn *c, const float *x, int n, int train, int relu)
{
    const int N = n * c->OH * c->OW;
    c->relu = relu;
    if (r->cur_dnnl) {
        if (conv_forward_dnnl(r, c, x, n)) return -1;
        ghm_batchnorm_blocked_forward(c->z, c->mean, c->invstd, c->rmean, c->rvar, c->y, c->gamma->data,
                                      c->beta->data, n, c->cout, c->OH * c->OW, ghm_dnnl_block(), train, relu);
        return 0;
    } else {
        ghm_conv2d_forward(c->y, r->col, x, c->w->data, NULL, n, c->cin, c->H, c->W, c->cout, c->k, c->stride,
                           c->pad, c->chunk);
        ghm_batchnorm_forward(c->z, c->mean, c->invstd, c->rmean, c->rvar, c->y, c->gamma->data, c->beta->data,
                              c->cout, N, train);
    }
    if (relu) ghm_relu_forward(c->z, c->z, (size_t)c->cout * N);
    return 0;
}

/* A block's second conv + batch norm, then the shortcut sum and the block's ReLU: out =
 * ReLU(BN(conv(x)) + sc). On the oneDNN path batch norm, sum and ReLU are one pass and c->z is not
 * written; either way the ReLU belongs to the block (its backward masks with out), not to c. */
static int cbn_forward_add_relu(resnet *r, cbn *c, const float *x, int n, int train, const float *sc, float *out)
{
    if (!r->cur_dnnl) {
        if (cbn_forward(r, c, x, n, train, 0)) return -1;
        ghm_add_relu_forward(out, c->z, sc, act(c) * n);
        return 0;
    }
    c->relu = 0;
    if (conv_forward_dnnl(r, c, x, n)) return -1;
    ghm_batchnorm_blocked_forward_add_relu(out, c->mean, c->invstd, c->rmean, c->rvar, c->y, c->gamma->data,
                                           c->beta->data, sc, n, c->cout, c->OH * c->OW, ghm_dnnl_block(), train);
    return 0;
}

/* dz (cout, B, OH, OW): gradient w.r.t. the BN output (after any ReLU backward),
 * clobbered; x the conv input; dx (cin, B, H, W) or NULL. */
static int cbn_backward(resnet *r, cbn *c, float *dz, const float *x, float *dx, int n)
{
    if (r->cur_dnnl) { /* dz arrives before the ReLU backward where the cbn has one (batch norm masks it) */
        ghm_batchnorm_blocked_backward(dz, c->gamma->grad, c->beta->grad, dz, c->y, c->mean, c->invstd,
                                       c->gamma->data, c->beta->data, c->relu, n, c->cout, c->OH * c->OW,
                                       ghm_dnnl_block());
        /* the weight gradient on ghm's own kernels where they are faster (nn/layers.h): the stem's few input
         * channels (plain x; oneDNN ran at a tenth of its usual speed there) and own3x3's layers; oneDNN for
         * the rest and for the input gradient */
        const int blk = ghm_dnnl_block();
        int own = 0;
        if (c == &r->stem)
            own = !ghm_conv2d_wgrad_few_in(c->w->grad, dz, x, n, c->cin, c->H, c->W, c->cout, c->k, c->stride, c->pad,
                                           blk);
        else if (own3x3(r, c))
            own = !ghm_conv2d_wgrad_3x3_blocked(c->w->grad, dz, x, n, c->cin, c->H, c->W, c->cout, blk);
        /* the input gradient of a 3x3 stride-1 (pad 1) convolution is the same convolution of dz with the
         * kernels flipped and input / output channels swapped: Winograd where training runs it */
        if (dx && own3x3(r, c) && r->wflip) {
            for (int o = 0; o < c->cout; o++)
                for (int i = 0; i < c->cin; i++)
                    for (int k = 0; k < 9; k++)
                        r->wflip[((size_t)i * c->cout + o) * 9 + k] = c->w->data[((size_t)o * c->cin + i) * 9 + 8 - k];
            if (!ghm_wino3x3_weights(r->wtrain, r->wflip, c->cout, c->cin, 8) &&
                !ghm_wino3x3_forward(dx, dz, r->wtrain, NULL, n, c->cout, c->H, c->W, c->cin, GHM_WINO_BLOCKED8, 0,
                                     0, r->col, r->col_size))
                dx = NULL;
        }
        if (own && !dx) return 0;
        return ghm_conv_dnnl_backward(c->dn, r->col, dx, own ? NULL : c->w->grad, dz, x, c->w->data);
    }
    const int N = n * c->OH * c->OW;
    ghm_batchnorm_backward(dz, c->gamma->grad, c->beta->grad, dz, c->y, c->mean, c->invstd, c->gamma->data, c->cout,
                           N);
    ghm_conv2d_backward(dx, c->w->grad, NULL, dz, x, c->w->data, r->col, 0, n, c->cin, c->H, c->W, c->cout, c->k,
                        c->stride, c->pad, c->chunk);
    return 0;
}

/* Inference on the oneDNN path with batch norm folded into each convolution
 * (module comment at struct resnet) and the ReLUs and residual sums fused:
 * one pass over each map instead of three. */
/* the folded weights into w (returned) and, with bias, the folded bias into c->fbias */
static const float *cbn_fold(cbn *c, float *w, int bias)
{
    const int per = c->cin * c->k * c->k;
    for (int o = 0; o < c->cout; o++) {
        const float s = c->gamma->data[o] * (1.0f / sqrtf(c->rvar[o] + GHM_BN_EPS));
        const float *src = c->w->data + (size_t)o * per;
        float *dst = w + (size_t)o * per;
        for (int i = 0; i < per; i++) dst[i] = src[i] * s;
        if (bias) c->fbias[o] = c->beta->data[o] - c->rmean[o] * s;
    }
    return w;
}

/* Before an inference call's passes: fold every cbn once and leave the weights in its primitive
 * (r->kept), or, where a primitive cannot keep them, fold again in every pass. */
static void fold_all(resnet *r)
{
    r->kept = 1;
    FOR_CBN(r, {
        const float *w = cbn_fold(c_, r->fold, 1);
        if (c_->wu && ghm_wino3x3_weights(c_->wu, w, c_->cin, c_->cout, r->wlay == GHM_WINO_NHWC16 ? 16 : 8)) {
            ghm_free(c_->wu);
            c_->wu = NULL;
        }
        if (c_->wd && ghm_conv3x3_in_weights(c_->wd, w, c_->cin, c_->cout, r->wlay == GHM_WINO_NHWC16 ? 16 : 8)) {
            ghm_free(c_->wd);
            c_->wd = NULL;
        }
        for (int t = 0; t < r->npw; t++)
            if (!c_->wu && !c_->wd && ghm_conv_dnnl_set_weights(r->pw[t].fz[c_->idx], w)) r->kept = 0;
    });
}

static int cbn_fused(resnet *r, fworker *wk, cbn *c, const float *x, float *y)
{
    if (c->wu && !ghm_wino3x3_forward(y, x, c->wu, c->fbias, r->fcap, c->cin, c->H, c->W, c->cout, r->wlay,
                                      c->wsum, 1, wk->ws, wk->ws_size))
        return 0;
    if (c->wd && !ghm_conv3x3_in_forward(y, x, c->wd, c->fbias, r->fcap, c->cin, c->H, c->W, c->cout, r->wlay))
        return 0;
    /* no Winograd (or no memory for its workspace): the primitive, given the weights where it does not hold
     * them, folded into the worker's own buffer (the bias is fold_all's) */
    const float *w = r->kept && !c->wu && !c->wd ? NULL : cbn_fold(c, wk->fold, 0);
    return ghm_conv_dnnl_forward_fused(wk->fz[c->idx], wk->ws, y, x, w, c->fbias);
}

/* The body of run() for inference on the fused primitives, on worker wk: x (C, fcap, H, W) in wk->xin.
 * Returns the last block's output (blocked or NHWC), or NULL when oneDNN fails. */
static const float *run_fused(resnet *r, fworker *wk)
{
    float *h = wk->z[r->stem.idx];
    if (cbn_fused(r, wk, &r->stem, wk->xin, h)) return NULL;
    for (int i = 0; i < r->nblk; i++) {
        block *k = &r->blk[i];
        /* the sum lands on the shortcut: the projection's output, or the block input itself (which
         * inference does not read again) */
        float *o = k->proj ? wk->out[i] : h, *az = wk->z[k->a.idx];
        if (cbn_fused(r, wk, &k->a, h, az) || (k->proj && cbn_fused(r, wk, &k->s, h, o)) ||
            cbn_fused(r, wk, &k->b, az, o))
            return NULL;
        h = o;
    }
    return h;
}

/* The global pool of a fused pass's last map h into pool (fcap, 64). */
static void pool_fused(const resnet *r, float *pool, const float *h)
{
    const block *last = &r->blk[r->nblk - 1];
    if (r->nhwc)
        ghm_gap_nhwc_forward(pool, h, r->fcap, 64, last->b.OH * last->b.OW);
    else
        ghm_gap_blocked_forward(pool, h, r->fcap, 64, last->b.OH * last->b.OW, ghm_dnnl_block());
}

/* Inference on the fused primitives with the passes side by side (struct fworker): x (n, C, H, W) in
 * passes of fcap images, rounds of up to PASS_ROUND * npw passes, each pass on the thread that takes it
 * (worker = thread); each pass's pooled features into gpool, then each pass's linear layer (on all
 * threads, after the round). The last pass is padded with zero images. Each image goes through the same
 * kernels, in the same shapes, as in passes one after another on one thread (tests/test_backbones.cc
 * checks the bits). 0, or -1 when oneDNN fails. */
static int run_passes(ghm_backbone *b, const float *x, int n, float *out)
{
    resnet *r = (resnet *)b->impl;
    const int fc = r->fcap, C = b->in_c, HW = b->in_h * b->in_w, np = (n + fc - 1) / fc;
    const size_t img = (size_t)C * HW;
    r->cur_dnnl = 1;
    const int round = PASS_ROUND * r->npw;
    for (int p0 = 0; p0 < np; p0 += round) {
        const int rp = np - p0 < round ? np - p0 : round; /* passes in this round */
        int fail = 0;
#pragma omp parallel num_threads(rp < r->npw ? rp : r->npw) reduction(| : fail)
        {
            int t = 0;
#ifdef _OPENMP
            t = omp_get_thread_num();
#endif
            fworker *wk = &r->pw[t];
#pragma omp for schedule(dynamic, 1)
            for (int j = 0; j < rp; j++) {
                const int i0 = (p0 + j) * fc, m = n - i0 < fc ? n - i0 : fc;
                for (int c = 0; c < C; c++) { /* (C, fcap, H, W), zero images after the m-th */
                    float *d = wk->xin + (size_t)c * fc * HW;
                    for (int i = 0; i < m; i++)
                        memcpy(d + (size_t)i * HW, x + (size_t)(i0 + i) * img + (size_t)c * HW, sizeof(float) * HW);
                    memset(d + (size_t)m * HW, 0, sizeof(float) * (size_t)(fc - m) * HW);
                }
                const float *h = run_fused(r, wk);
                if (h)
                    pool_fused(r, r->gpool + (size_t)j * fc * 64, h);
                else
                    fail = 1;
            }
        }
        if (fail) return -1;
        for (int j = 0; j < rp; j++) { /* (per pass: sgemm on 2 x 20 rows rounds as on 1 x 40 only on some CPUs) */
            const int i0 = (p0 + j) * fc, m = n - i0 < fc ? n - i0 : fc;
            ghm_linear_forward(out + (size_t)i0 * b->dim, r->gpool + (size_t)j * fc * 64, r->fw->data, r->fb->data,
                               m, 64, b->dim);
        }
    }
    return 0;
}

/* One pass over n images: x (n, C, H, W) -> out (n, dim). Returns 0, or -1 when oneDNN fails. */
static int run(ghm_backbone *b, const float *x, int n, float *out, int train)
{
    resnet *r = (resnet *)b->impl;
    const int fused = !train && r->fused && n == r->fcap;
    r->cur_dnnl = fused || (r->dnnl && n == r->cap);
    const int HW = b->in_h * b->in_w;
    ghm_nchw_to_cbhw(r->xin, x, n, b->in_c, HW);
    const float *h;
    if (fused) {
        if (!(h = run_fused(r, &r->pw[0]))) return -1;
    } else {
        if (cbn_forward(r, &r->stem, r->xin, n, train, 1)) return -1;
        h = r->stem.z;
        for (int i = 0; i < r->nblk; i++) {
            block *k = &r->blk[i];
            const float *sc = h;
            if (cbn_forward(r, &k->a, h, n, train, 1)) return -1;
            if (k->proj) {
                if (cbn_forward(r, &k->s, h, n, train, 0)) return -1;
                sc = k->s.z;
            }
            if (cbn_forward_add_relu(r, &k->b, k->a.z, n, train, sc, k->out)) return -1;
            h = k->out;
        }
    }
    const block *last = &r->blk[r->nblk - 1];
    if (fused && r->nhwc)
        ghm_gap_nhwc_forward(r->pool, h, n, 64, last->b.OH * last->b.OW);
    else if (r->cur_dnnl)
        ghm_gap_blocked_forward(r->pool, h, n, 64, last->b.OH * last->b.OW, ghm_dnnl_block());
    else
        ghm_gap_forward(r->pool, h, n, 64, last->b.OH * last->b.OW);
    ghm_linear_forward(out, r->pool, r->fw->data, r->fb->data, n, 64, b->dim);
    return 0;
}

static int dnnl_failed(ghm_error *err) { return GHM_FAIL(err, GHM_EFAIL, "resnet: a oneDNN primitive failed"); }

static int forward(ghm_backbone *b, const float *x, int n, float *out, int train, ghm_error *err)
{
    resnet *r = (resnet *)b->impl;
    r->n = 0;
    if (train) {
        if (n < 2) return ghm_error_set(err, GHM_EINPUT, "resnet: batch norm needs a training batch of >= 2, got %d", n);
        int rc = ensure(b, n, err);
        if (rc) return rc;
        if (run(b, x, n, out, 1)) return dnnl_failed(err);
        r->n = n;
        return 0;
    }
    /* inference in chunks of the training batch (callers such as the embedding of a dataset pass that
     * many images at a time, and the passes are made to split it evenly), at least EVAL_CHUNK */
    const int want = b->max_batch > EVAL_CHUNK ? b->max_batch : EVAL_CHUNK;
    int chunk = r->cap > want ? r->cap : (n < want ? n : want);
    int rc = ensure(b, chunk, err);
    if (rc) return rc;
    const int prim = r->fused ? r->fcap : r->cap; /* the batch of the primitives inference runs on */
    if (r->fused) {
        chunk = r->fcap;
        fold_all(r);
    }
    if (r->fused && r->kept && r->npw > 1 && n > r->fcap) return run_passes(b, x, n, out) ? dnnl_failed(err) : 0;
    const size_t img = (size_t)b->in_c * b->in_h * b->in_w;
    for (int i = 0; i < n; i += chunk) {
        int m = n - i < chunk ? n - i : chunk;
        const float *xi = x + (size_t)i * img;
        float *oi = out + (size_t)i * b->dim;
        if (r->dnnl && m < prim) {
            /* the oneDNN primitives are made for `prim` images: pad with zero images (inference treats
             * images independently) and keep the first m outputs */
            memcpy(r->xpad, xi, sizeof(float) * img * (size_t)m);
            memset(r->xpad + img * (size_t)m, 0, sizeof(float) * img * (size_t)(prim - m));
            if (run(b, r->xpad, prim, r->opad, 0)) return dnnl_failed(err);
            memcpy(oi, r->opad, sizeof(float) * (size_t)b->dim * (size_t)m);
        } else if (run(b, xi, m, oi, 0)) {
            return dnnl_failed(err);
        }
    }
    return 0;
}

static int backward(ghm_backbone *b, const float *dout, ghm_error *err)
{
    resnet *r = (resnet *)b->impl;
    const int n = r->n;
    if (n <= 0) return GHM_FAIL(err, GHM_EFAIL, "resnet: backward without a preceding train forward");
    r->n = 0;
    const block *last = &r->blk[r->nblk - 1];
    const int HW = last->b.OH * last->b.OW;
    ghm_linear_backward(r->dpool, r->fw->grad, r->fb->grad, dout, r->pool, r->fw->data, n, 64, b->dim);
    float *g0 = r->g[0], *g1 = r->g[1], *g2 = r->g[2];
    /* g0: dL/d(block output), in the layout of the forward's path */
    if (r->cur_dnnl)
        ghm_gap_blocked_backward(g0, r->dpool, n, 64, HW, ghm_dnnl_block());
    else
        ghm_gap_backward(g0, r->dpool, n, 64, HW);
    for (int i = r->nblk - 1; i >= 0; i--) {
        block *k = &r->blk[i];
        const float *h = i > 0 ? r->blk[i - 1].out : r->stem.z; /* block input */
        const size_t m = act(&k->b) * n;
        ghm_relu_backward_dup(g0, g1, g0, k->out, m);          /* g0: dL/d(sum), g1: branch b's copy */
        if (cbn_backward(r, &k->b, g1, k->a.z, g2, n)) return dnnl_failed(err); /* g2: dL/d(a.z) */
        if (!r->cur_dnnl) ghm_relu_backward(g2, g2, k->a.z, act(&k->a) * n); /* (fused on oneDNN's path) */
        if (cbn_backward(r, &k->a, g2, h, g1, n)) return dnnl_failed(err);      /* g1: dL/dh via branch */
        const size_t mi = (size_t)k->a.cin * k->a.H * k->a.W * n;
        if (k->proj) {
            if (cbn_backward(r, &k->s, g0, h, g2, n)) return dnnl_failed(err);  /* g2: dL/dh via shortcut */
            ghm_add_backward(g1, g2, mi, 1);
        } else {
            ghm_add_backward(g1, g0, mi, 1);
        }
        float *t = g0; /* the gradient w.r.t. the block input becomes the next g0 */
        g0 = g1;
        g1 = t;
    }
    if (!r->cur_dnnl) ghm_relu_backward(g0, g0, r->stem.z, act(&r->stem) * n);
    if (cbn_backward(r, &r->stem, g0, r->xin, NULL, n)) return dnnl_failed(err);
    return 0;
}

static int tensors(ghm_backbone *b, ghm_tensor ***out)
{
    resnet *r = (resnet *)b->impl;
    *out = r->ts.ptr;
    return r->ts.n;
}

static void flops(ghm_backbone *b, double *fwd, double *train)
{
    resnet *r = (resnet *)b->impl;
    double f = 0.0, t = 0.0;
    FOR_CBN(r, {
        const double macs = (double)c_->cout * c_->cin * c_->k * c_->k * c_->OH * c_->OW;
        /* inference on Winograd (the products of its 36 positions per 4 x 4 tile; the transforms, additions
         * mostly, are not counted, as element-wise layers are not) */
        const double wmacs = 36.0 * c_->cout * c_->cin * ((c_->OH + 3) / 4) * ((c_->OW + 3) / 4);
        f += c_->wu ? wmacs : macs;
        if (c_ == &r->stem)
            t += 2.0 * macs; /* the stem needs no input gradient */
        else /* training on the AVX2 kernels: forward and input gradient of the 3x3 stride-1 layers on Winograd */
            t += r->wtrain && own3x3(r, c_) ? 2.0 * wmacs + macs : 3.0 * macs;
    });
    const double fc = 64.0 * b->dim;
    *fwd = 2.0 * (f + fc);
    *train = 2.0 * (t + 3.0 * fc);
}

const ghm_backbone_ops ghm_backbone_resnet = {
    "resnet", "small ResNet with batch norm: stem 16, 3 stages (16/32/64, `blocks` each), GAP, fc -> D",
    params, create, forward, backward, tensors, destroy, flops};
