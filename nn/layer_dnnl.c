/* Optional oneDNN backend for 2-D convolutions on channel-major (C, B, H, W)
 * maps (see nn/layers.h, "convolution backend"). Built when CMake finds
 * oneDNN (GHM_HAVE_DNNL); otherwise every entry point reports "unavailable"
 * and callers use the reference im2col + sgemm path.
 *
 * oneDNN's fast kernels want their own (blocked) layouts, so each call
 * reorders the (C, B, H, W) input into the layout the primitive chose and the
 * result back, in a workspace the caller provides (and may share between
 * layers: nothing in it is kept from one call to the next). oneDNN runs on the same OpenMP threads as the rest of ghm
 * (Debian builds it with the GNU OpenMP runtime); for a fixed thread count its
 * results are the same from run to run. */
#include "nn/layers.h"
#include "core/tensor.h"

#include <stdlib.h>
#include <string.h>

#ifdef GHM_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static dnnl_engine_t g_engine;
static dnnl_stream_t g_stream;
/* Streams for primitives run side by side, one per thread of the caller's parallel region (a stream is not
 * for two threads at once): g_streams[t] for thread t >= 1 (ghm_dnnl_streams_reserve), thread 0 and code
 * outside a parallel region on g_stream. Made by the main thread before such a region, kept to the end. */
#define GHM_DNNL_STREAMS 256
static dnnl_stream_t g_streams[GHM_DNNL_STREAMS];
static int g_nstreams = 1;
static int g_ok;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init_once(void)
{
    if (dnnl_engine_create(&g_engine, dnnl_cpu, 0) != dnnl_success) return;
    if (dnnl_stream_create(&g_stream, g_engine, dnnl_stream_default_flags) != dnnl_success) {
        dnnl_engine_destroy(g_engine);
        return;
    }
    g_ok = 1;
}

int ghm_conv_dnnl_available(void)
{
    pthread_once(&g_once, init_once);
    return g_ok;
}

/* One direction of data movement: a reorder between the user's (C, B, H, W)
 * layout and the primitive's, or nothing when they coincide. */
typedef struct reo {
    dnnl_primitive_t prim; /* NULL: same layout, use the user's buffer */
    dnnl_memory_t from, to;
} reo;

/* A memory in the primitive's layout: in the caller's workspace at offset
 * `off` (floats) or in an owned buffer, unless the layout is the user's. */
typedef struct pmem {
    dnnl_memory_t mem;
    float *buf;  /* owned buffer (weights), or NULL */
    size_t off;  /* workspace offset in floats, when buf is NULL and !same */
    int same;    /* 1: the primitive's layout is the user's (no copy) */
    reo in, out; /* user -> primitive, primitive -> user */
} pmem;

struct ghm_conv_dnnl {
    int B, C, H, W, OC, K, stride, pad, OH, OW;
    int fused;                       /* 1: inference with a bias and post-ops (ghm_conv_dnnl_create_fused) */
    int sum;                         /* 1: the forward adds to what y holds (a sum post-op) */
    dnnl_memory_t bias;              /* (OC) bias of the fused forward, bound to the caller's array per call */
    dnnl_primitive_t fwd, bwd_data, bwd_w;
    pmem src, dst, w_fwd;            /* forward */
    pmem ddst, src_w, dsrc, w_bwd, dw; /* backward (diff_src in src_w's place when the layouts match) */
    pmem ddst_w;                     /* the weight gradient's diff_dst when its layout is not ddst's (split_dd) */
    int split_dd;                    /* 1: the two backward primitives want diff_dst in different layouts */
    size_t ws;                       /* workspace floats (the larger of forward's and backward's) */
    /* the fused forward's scratchpad, in the caller's workspace at scr_off (user scratchpad mode: oneDNN's
     * own is shared by the primitives of the thread that made them, and inference passes run a primitive's
     * copies on other threads side by side); NULL: it needs none */
    dnnl_memory_t scr;
    size_t scr_off;
};

static void reo_free(reo *r)
{
    if (r->prim) dnnl_primitive_destroy(r->prim);
    if (r->from) dnnl_memory_destroy(r->from);
    if (r->to) dnnl_memory_destroy(r->to);
    memset(r, 0, sizeof *r);
}

static void pmem_free(pmem *m)
{
    reo_free(&m->in);
    reo_free(&m->out);
    if (m->mem) dnnl_memory_destroy(m->mem);
    ghm_free(m->buf);
    memset(m, 0, sizeof *m);
}

static int reo_make(reo *r, const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b)
{
    dnnl_primitive_desc_t pd;
    if (dnnl_reorder_primitive_desc_create(&pd, a, g_engine, b, g_engine, NULL) != dnnl_success) return -1;
    dnnl_status_t s = dnnl_primitive_create(&r->prim, pd);
    dnnl_primitive_desc_destroy(pd);
    if (s != dnnl_success) return -1;
    if (dnnl_memory_create(&r->from, a, g_engine, DNNL_MEMORY_NONE) != dnnl_success) return -1;
    if (dnnl_memory_create(&r->to, b, g_engine, DNNL_MEMORY_NONE) != dnnl_success) return -1;
    return 0;
}

static size_t md_floats(const dnnl_memory_desc_t *md) { return (dnnl_memory_desc_get_size(md) + 63) / 64 * 16; }

/* Set up m for the primitive's descriptor pd_md given the user's user_md;
 * dirs: 1 user -> primitive, 2 primitive -> user, 3 both. own: 1 to allocate
 * a buffer, 0 to live in the workspace at *ws (advanced by its size). */
static int pmem_make(pmem *m, const dnnl_memory_desc_t *pd_md, const dnnl_memory_desc_t *user_md, int dirs, int own,
                     size_t *ws)
{
    m->same = dnnl_memory_desc_equal(pd_md, user_md);
    if (!m->same) {
        if (own) {
            if (!(m->buf = ghm_alloc_floats(md_floats(pd_md)))) return -1;
        } else {
            m->off = *ws;
            *ws += md_floats(pd_md);
        }
        if ((dirs & 1) && reo_make(&m->in, user_md, pd_md)) return -1;
        if ((dirs & 2) && reo_make(&m->out, pd_md, user_md)) return -1;
    }
    if (dnnl_memory_create(&m->mem, pd_md, g_engine, m->buf ? (void *)m->buf : DNNL_MEMORY_NONE) != dnnl_success)
        return -1;
    return 0;
}

/* point a workspace-resident memory at its place in ws */
static void pmem_bind(pmem *m, float *ws)
{
    if (!m->same && !m->buf) dnnl_memory_set_data_handle(m->mem, ws + m->off);
}

static float *pmem_ptr(const pmem *m)
{
    void *p = NULL;
    dnnl_memory_get_data_handle(m->mem, &p);
    return (float *)p;
}

int ghm_dnnl_streams_reserve(int n)
{
    if (!ghm_conv_dnnl_available() || n > GHM_DNNL_STREAMS) return -1;
    for (; g_nstreams < n; g_nstreams++)
        if (dnnl_stream_create(&g_streams[g_nstreams], g_engine, dnnl_stream_default_flags) != dnnl_success) return -1;
    return 0;
}

/* the calling thread's stream (NULL: none reserved for it) */
static dnnl_stream_t cur_stream(void)
{
#ifdef _OPENMP
    if (omp_in_parallel()) {
        const int t = omp_get_thread_num();
        return t == 0 ? g_stream : t < g_nstreams ? g_streams[t] : NULL;
    }
#endif
    return g_stream;
}

static int exec(dnnl_primitive_t p, int n, const dnnl_exec_arg_t *args)
{
    dnnl_stream_t st = cur_stream();
    return st && dnnl_primitive_execute(p, st, n, args) == dnnl_success ? 0 : -1;
}

/* A reorder on one thread: the weights' reorders are a few thousand floats,
 * less work than a parallel region's fork and barrier (oneDNN sizes its
 * regions by omp_get_max_threads() when a primitive runs). */
static int exec_serial(dnnl_primitive_t p, int n, const dnnl_exec_arg_t *args)
{
#ifdef _OPENMP
    const int t = omp_get_max_threads();
    if (t > 1) omp_set_num_threads(1);
    const int rc = exec(p, n, args);
    if (t > 1) omp_set_num_threads(t);
    return rc;
#else
    return exec(p, n, args);
#endif
}

/* user buffer u -> primitive memory m (bound to u when the layouts match); serial: on one thread */
static int to_prim_x(pmem *m, const float *u, int serial)
{
    if (m->same) return dnnl_memory_set_data_handle(m->mem, (void *)u) == dnnl_success ? 0 : -1;
    dnnl_memory_set_data_handle(m->in.from, (void *)u);
    dnnl_memory_set_data_handle(m->in.to, pmem_ptr(m));
    const dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, m->in.from}, {DNNL_ARG_TO, m->in.to}};
    return serial ? exec_serial(m->in.prim, 2, a) : exec(m->in.prim, 2, a);
}

static int to_prim(pmem *m, const float *u) { return to_prim_x(m, u, 0); }
static int weights_to_prim(pmem *m, const float *u) { return to_prim_x(m, u, 1); }

/* primitive memory m -> user buffer u */
static int from_prim_x(pmem *m, float *u, int serial)
{
    if (m->same) return 0;
    dnnl_memory_set_data_handle(m->out.from, pmem_ptr(m));
    dnnl_memory_set_data_handle(m->out.to, u);
    const dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, m->out.from}, {DNNL_ARG_TO, m->out.to}};
    return serial ? exec_serial(m->out.prim, 2, a) : exec(m->out.prim, 2, a);
}

static int from_prim(pmem *m, float *u) { return from_prim_x(m, u, 0); }

/* bind m to the user's output buffer u when the layouts match */
static void bind_out(pmem *m, float *u)
{
    if (m->same) dnnl_memory_set_data_handle(m->mem, u);
}

static int prim_from(dnnl_primitive_t *p, const void *desc, const_dnnl_primitive_attr_t attr,
                     const_dnnl_primitive_desc_t hint, dnnl_primitive_desc_t *pd_out)
{
    dnnl_primitive_desc_t pd;
    if (dnnl_primitive_desc_create(&pd, desc, attr, g_engine, hint) != dnnl_success) return -1;
    if (dnnl_primitive_create(p, pd) != dnnl_success) {
        dnnl_primitive_desc_destroy(pd);
        return -1;
    }
    *pd_out = pd;
    return 0;
}

void ghm_conv_dnnl_destroy(ghm_conv_dnnl *c)
{
    if (!c) return;
    if (c->fwd) dnnl_primitive_destroy(c->fwd);
    if (c->bwd_data) dnnl_primitive_destroy(c->bwd_data);
    if (c->bwd_w) dnnl_primitive_destroy(c->bwd_w);
    if (c->bias) dnnl_memory_destroy(c->bias);
    if (c->scr) dnnl_memory_destroy(c->scr);
    pmem_free(&c->src);
    pmem_free(&c->dst);
    pmem_free(&c->w_fwd);
    pmem_free(&c->w_bwd);
    pmem_free(&c->dw);
    pmem_free(&c->dsrc);
    pmem_free(&c->ddst);
    pmem_free(&c->ddst_w);
    pmem_free(&c->src_w);
    free(c);
}

/* The blocked layout oneDNN's convolutions use on this CPU: channels in
 * blocks of 16 with AVX-512, else 8 (nChw16c / nChw8c). */
static dnnl_format_tag_t blocked_tag(void)
{
    return dnnl_get_effective_cpu_isa() >= dnnl_cpu_isa_avx512_core ? dnnl_aBcd16b : dnnl_aBcd8b;
}

const char *ghm_dnnl_isa_name(void)
{
    if (!ghm_conv_dnnl_available()) return "none";
    const dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    if (isa >= dnnl_cpu_isa_avx512_core) return "avx512";
    if (isa >= dnnl_cpu_isa_avx2) return "avx2";
    if (isa >= dnnl_cpu_isa_sse41) return "sse41";
    return "other";
}

int ghm_dnnl_block(void) { return ghm_conv_dnnl_available() ? (blocked_tag() == dnnl_aBcd16b ? 16 : 8) : 0; }

/* The user's descriptor of a (C, B, H, W) map (blocked = 0), of the blocked
 * layout (blocked = 1; plain NCHW for one channel, which is also (C, B, H, W)),
 * or of (B, H, W, C) (blocked = 2, NHWC). */
static int user_md(dnnl_memory_desc_t *md, int B, int C, int H, int W, int blocked)
{
    const dnnl_dims_t d = {B, C, H, W};
    if (blocked == 2) return dnnl_memory_desc_init_by_tag(md, 4, d, dnnl_f32, dnnl_acdb);
    if (blocked) return dnnl_memory_desc_init_by_tag(md, 4, d, dnnl_f32, C == 1 ? dnnl_abcd : blocked_tag());
    const dnnl_dims_t st = {(dnnl_dim_t)H * W, (dnnl_dim_t)B * H * W, W, 1};
    return dnnl_memory_desc_init_by_strides(md, 4, d, dnnl_f32, st);
}

size_t ghm_dnnl_map_size(int B, int C, int H, int W, int blocked)
{
    if (!ghm_conv_dnnl_available()) return 0;
    dnnl_memory_desc_t md;
    if (user_md(&md, B, C, H, W, blocked) != dnnl_success) return 0;
    return dnnl_memory_desc_get_size(&md) / sizeof(float);
}

/* Test hook (ghm_conv_dnnl_fail_at): the creation attempt that fails on purpose, -1 none. */
static long g_attempts, g_fail_at = -1;

void ghm_conv_dnnl_fail_at(long k) { g_fail_at = k < 0 ? -1 : g_attempts + k; }
long ghm_conv_dnnl_attempts(void) { return g_attempts; }

int ghm_conv_dnnl_fast_kernel(int B, int C, int H, int W, int OC, int K, int stride, int pad)
{
    if (!ghm_conv_dnnl_available()) return 0;
    const int OH = ghm_conv2d_out(H, K, stride, pad), OW = ghm_conv2d_out(W, K, stride, pad);
    const dnnl_dims_t xd = {B, C, H, W}, yd = {B, OC, OH, OW}, wd = {OC, C, K, K};
    const dnnl_dims_t st = {stride, stride}, pl = {pad, pad},
                      pr = {(OH - 1) * stride + K - H - pad, (OW - 1) * stride + K - W - pad};
    dnnl_memory_desc_t ax, ay, aw;
    dnnl_convolution_desc_t fd;
    dnnl_primitive_desc_t pd;
    if (dnnl_memory_desc_init_by_tag(&ax, 4, xd, dnnl_f32, dnnl_format_tag_any) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&ay, 4, yd, dnnl_f32, dnnl_format_tag_any) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&aw, 4, wd, dnnl_f32, dnnl_format_tag_any) != dnnl_success ||
        dnnl_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct, &ax, &aw, NULL, &ay,
                                           st, pl, pr) != dnnl_success ||
        dnnl_primitive_desc_create(&pd, &fd, NULL, g_engine, NULL) != dnnl_success)
        return 0;
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    const int fast = impl && strncmp(impl, "ref", 3) != 0;
    dnnl_primitive_desc_destroy(pd);
    return fast;
}

/* fused: inference with a bias, then (sum) y's previous contents added, then (relu) a ReLU, as
 * oneDNN post-ops; otherwise no bias, training (backward) or inference. */
static ghm_conv_dnnl *conv_create(int B, int C, int H, int W, int OC, int K, int stride, int pad, int backward,
                                  int x_blocked, int y_blocked, int fused, int sum, int relu)
{
    if (!ghm_conv_dnnl_available()) return NULL;
    const long attempt = g_attempts++;
    ghm_conv_dnnl *c = (ghm_conv_dnnl *)calloc(1, sizeof *c);
    if (!c) return NULL;
    c->B = B, c->C = C, c->H = H, c->W = W, c->OC = OC, c->K = K, c->stride = stride, c->pad = pad;
    c->fused = fused, c->sum = fused && sum;
    if (fused) backward = 0;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    c->OH = ghm_conv2d_out(H, K, stride, pad);
    c->OW = ghm_conv2d_out(W, K, stride, pad);
    /* the user's layouts: (C, B, H, W) maps described as (N, C, H, W) with strides, or blocked; weights OIHW */
    const dnnl_dims_t xd = {B, C, H, W}, yd = {B, OC, c->OH, c->OW}, wd = {OC, C, K, K};
    const dnnl_dims_t st = {stride, stride}, pl = {pad, pad},
                      pr = {(c->OH - 1) * stride + K - H - pad, (c->OW - 1) * stride + K - W - pad};
    const dnnl_dims_t bd = {OC};
    dnnl_memory_desc_t ux, uy, uw, ax, ay, aw, ub;
    dnnl_primitive_desc_t fpd = NULL, dpd = NULL, wpd = NULL;
    if (dnnl_memory_desc_init_by_tag(&ub, 1, bd, dnnl_f32, dnnl_a) != dnnl_success ||
        user_md(&ux, B, C, H, W, x_blocked) != dnnl_success ||
        user_md(&uy, B, OC, c->OH, c->OW, y_blocked) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&uw, 4, wd, dnnl_f32, dnnl_oihw) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&ax, 4, xd, dnnl_f32, dnnl_format_tag_any) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&ay, 4, yd, dnnl_f32, dnnl_format_tag_any) != dnnl_success ||
        dnnl_memory_desc_init_by_tag(&aw, 4, wd, dnnl_f32, dnnl_format_tag_any) != dnnl_success)
        goto fail;
    dnnl_convolution_desc_t fd, dd, wdsc;
    if (dnnl_convolution_forward_desc_init(&fd, backward ? dnnl_forward_training : dnnl_forward_inference,
                                           dnnl_convolution_direct, &ax, &aw, fused ? &ub : NULL, &ay, st, pl,
                                           pr) != dnnl_success)
        goto fail;
    if (fused) {
        if (dnnl_primitive_attr_create(&attr) != dnnl_success || dnnl_post_ops_create(&po) != dnnl_success ||
            (c->sum && dnnl_post_ops_append_sum(po, 1.0f) != dnnl_success) ||
            (relu && dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f) != dnnl_success) ||
            dnnl_primitive_attr_set_post_ops(attr, po) != dnnl_success ||
            dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) != dnnl_success)
            goto fail;
    }
    if (prim_from(&c->fwd, &fd, attr, NULL, &fpd)) goto fail;
    {
        const char *impl = NULL;
        dnnl_primitive_desc_query(fpd, dnnl_query_impl_info_str, 0, &impl);
        if (!impl || strncmp(impl, "ref", 3) == 0) goto fail; /* no fast kernel: the im2col path is faster */
    }
    const dnnl_memory_desc_t *fx = dnnl_primitive_desc_query_md(fpd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *fy = dnnl_primitive_desc_query_md(fpd, dnnl_query_dst_md, 0);
    const dnnl_memory_desc_t *fw = dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0);
    size_t ws = 0;
    if (pmem_make(&c->src, fx, &ux, 1, 0, &ws) || pmem_make(&c->dst, fy, &uy, 3, 0, &ws) ||
        pmem_make(&c->w_fwd, fw, &uw, 1, 1, NULL))
        goto fail;
    if (fused) {
        const dnnl_memory_desc_t *fb = dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 1);
        if (!fb || !dnnl_memory_desc_equal(fb, &ub) ||
            dnnl_memory_create(&c->bias, &ub, g_engine, DNNL_MEMORY_NONE) != dnnl_success)
            goto fail;
        const dnnl_memory_desc_t *sp = dnnl_primitive_desc_query_md(fpd, dnnl_query_scratchpad_md, 0);
        if (sp && dnnl_memory_desc_get_size(sp) > 0) {
            c->scr_off = ws;
            ws += md_floats(sp);
            if (dnnl_memory_create(&c->scr, sp, g_engine, DNNL_MEMORY_NONE) != dnnl_success) goto fail;
        }
    }
    if (backward) {
        if (dnnl_convolution_backward_data_desc_init(&dd, dnnl_convolution_direct, &ax, &aw, &ay, st, pl, pr) !=
                dnnl_success ||
            dnnl_convolution_backward_weights_desc_init(&wdsc, dnnl_convolution_direct, &ax, &aw, NULL, &ay, st, pl,
                                                        pr) != dnnl_success)
            goto fail;
        if (prim_from(&c->bwd_data, &dd, NULL, fpd, &dpd) || prim_from(&c->bwd_w, &wdsc, NULL, fpd, &wpd)) goto fail;
        const dnnl_memory_desc_t *dx_md = dnnl_primitive_desc_query_md(dpd, dnnl_query_diff_src_md, 0);
        const dnnl_memory_desc_t *dw_w = dnnl_primitive_desc_query_md(dpd, dnnl_query_weights_md, 0);
        const dnnl_memory_desc_t *dd_md = dnnl_primitive_desc_query_md(dpd, dnnl_query_diff_dst_md, 0);
        const dnnl_memory_desc_t *wx = dnnl_primitive_desc_query_md(wpd, dnnl_query_src_md, 0);
        const dnnl_memory_desc_t *wdw = dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_weights_md, 0);
        const dnnl_memory_desc_t *wdd = dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_dst_md, 0);
        /* The two backward primitives may want diff_dst in different layouts: with AVX-512 and 8
         * channels oneDNN 2.6 runs the forward and the data gradient on its AVX-512 kernels (channels
         * padded to blocks of 16) but the weight gradient on the AVX2 one (blocks of 8). Then dy is
         * reordered once for each. */
        c->split_dd = !dnnl_memory_desc_equal(wdd, dd_md);
        /* diff_src takes src_w's place when the layouts match (the weight gradient, which reads src, runs first) */
        size_t bws = 0, at;
        if (pmem_make(&c->ddst, dd_md, &uy, 1, 0, &bws)) goto fail;
        if (c->split_dd && pmem_make(&c->ddst_w, wdd, &uy, 1, 0, &bws)) goto fail;
        at = bws;
        if (pmem_make(&c->src_w, wx, &ux, 1, 0, &bws)) goto fail;
        if (pmem_make(&c->dsrc, dx_md, &ux, 2, 0, dnnl_memory_desc_equal(dx_md, wx) ? &at : &bws) ||
            pmem_make(&c->w_bwd, dw_w, &uw, 1, 1, NULL) || pmem_make(&c->dw, wdw, &uw, 2, 1, NULL))
            goto fail;
        if (bws > ws) ws = bws;
    }
    if (attempt == g_fail_at) goto fail; /* the test hook: fail with everything built, as a late failure would */
    c->ws = ws;
    dnnl_primitive_desc_destroy(fpd);
    if (dpd) dnnl_primitive_desc_destroy(dpd);
    if (wpd) dnnl_primitive_desc_destroy(wpd);
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return c;
fail:
    if (po) dnnl_post_ops_destroy(po);
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (fpd) dnnl_primitive_desc_destroy(fpd);
    if (dpd) dnnl_primitive_desc_destroy(dpd);
    if (wpd) dnnl_primitive_desc_destroy(wpd);
    ghm_conv_dnnl_destroy(c);
    return NULL;
}

ghm_conv_dnnl *ghm_conv_dnnl_create(int B, int C, int H, int W, int OC, int K, int stride, int pad, int backward,
                                    int x_blocked, int y_blocked)
{
    return conv_create(B, C, H, W, OC, K, stride, pad, backward, x_blocked, y_blocked, 0, 0, 0);
}

ghm_conv_dnnl *ghm_conv_dnnl_create_fused(int B, int C, int H, int W, int OC, int K, int stride, int pad,
                                          int x_blocked, int y_blocked, int sum, int relu)
{
    return conv_create(B, C, H, W, OC, K, stride, pad, 0, x_blocked, y_blocked, 1, sum, relu);
}

const char *ghm_conv_dnnl_impl(const ghm_conv_dnnl *c)
{
    const char *s = NULL;
    const_dnnl_primitive_desc_t pd;
    if (!c || dnnl_primitive_get_primitive_desc(c->fwd, &pd) != dnnl_success) return "none";
    if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s) != dnnl_success || !s) return "unknown";
    return s;
}

size_t ghm_conv_dnnl_ws_size(const ghm_conv_dnnl *c) { return c ? c->ws : 0; }

static void set_bias(ghm_conv_dnnl *c, const float *bias) { dnnl_memory_set_data_handle(c->bias, (void *)bias); }

static int forward_run(ghm_conv_dnnl *c, float *ws, float *y, const float *x, const float *w, const float *bias)
{
    pmem_bind(&c->src, ws);
    pmem_bind(&c->dst, ws);
    if (to_prim(&c->src, x) || (w && weights_to_prim(&c->w_fwd, w))) return -1;
    bind_out(&c->dst, y);
    if (c->sum && to_prim(&c->dst, y)) return -1; /* the sum post-op reads y in the primitive's layout */
    if (c->fused) set_bias(c, bias);
    if (c->scr) dnnl_memory_set_data_handle(c->scr, ws + c->scr_off);
    const dnnl_exec_arg_t a[5] = {{DNNL_ARG_SRC, c->src.mem},
                                  {DNNL_ARG_WEIGHTS, c->w_fwd.mem},
                                  {DNNL_ARG_DST, c->dst.mem},
                                  {DNNL_ARG_BIAS, c->bias},
                                  {DNNL_ARG_SCRATCHPAD, c->scr}};
    if (exec(c->fwd, c->fused ? (c->scr ? 5 : 4) : 3, a) || from_prim(&c->dst, y)) return -1;
    return 0;
}

int ghm_conv_dnnl_forward(ghm_conv_dnnl *c, float *ws, float *y, const float *x, const float *w)
{
    return c->fused || !w ? -1 : forward_run(c, ws, y, x, w, NULL);
}

int ghm_conv_dnnl_set_weights(ghm_conv_dnnl *c, const float *w)
{
    if (!c->fused || c->w_fwd.same) return -1; /* (same: no buffer of its own to keep them in) */
    return weights_to_prim(&c->w_fwd, w);
}

int ghm_conv_dnnl_forward_fused(ghm_conv_dnnl *c, float *ws, float *y, const float *x, const float *w,
                                const float *bias)
{
    return c->fused ? forward_run(c, ws, y, x, w, bias) : -1;
}

int ghm_conv_dnnl_backward(ghm_conv_dnnl *c, float *ws, float *dx, float *dw, const float *dy, const float *x,
                           const float *w)
{
    if (!c->bwd_w) return -1;
    pmem_bind(&c->ddst, ws);
    pmem_bind(&c->ddst_w, ws);
    pmem_bind(&c->src_w, ws);
    pmem_bind(&c->dsrc, ws);
    pmem *ddw = c->split_dd ? &c->ddst_w : &c->ddst; /* the weight gradient's diff_dst */
    if ((dx || !c->split_dd) && to_prim(&c->ddst, dy)) return -1;
    if (dw) {
        if ((c->split_dd && to_prim(ddw, dy)) || to_prim(&c->src_w, x)) return -1;
        bind_out(&c->dw, dw);
        const dnnl_exec_arg_t a[3] = {{DNNL_ARG_SRC, c->src_w.mem}, {DNNL_ARG_DIFF_DST, ddw->mem},
                                      {DNNL_ARG_DIFF_WEIGHTS, c->dw.mem}};
        if (exec(c->bwd_w, 3, a) || from_prim_x(&c->dw, dw, 1)) return -1;
    }
    if (dx) {
        if (weights_to_prim(&c->w_bwd, w)) return -1;
        bind_out(&c->dsrc, dx);
        const dnnl_exec_arg_t a[3] = {{DNNL_ARG_DIFF_DST, c->ddst.mem}, {DNNL_ARG_WEIGHTS, c->w_bwd.mem},
                                      {DNNL_ARG_DIFF_SRC, c->dsrc.mem}};
        if (exec(c->bwd_data, 3, a) || from_prim(&c->dsrc, dx)) return -1;
    }
    return 0;
}

static void set(dnnl_memory_t m, const float *p) { dnnl_memory_set_data_handle(m, (void *)p); }

/* ---- layout conversion -------------------------------------------------- */

struct ghm_dnnl_reorder {
    reo r;
};

ghm_dnnl_reorder *ghm_dnnl_reorder_create(int B, int C, int H, int W, int to_blocked)
{
    if (!ghm_conv_dnnl_available()) return NULL;
    ghm_dnnl_reorder *o = (ghm_dnnl_reorder *)calloc(1, sizeof *o);
    dnnl_memory_desc_t u, k;
    if (!o || user_md(&u, B, C, H, W, 0) != dnnl_success || user_md(&k, B, C, H, W, 1) != dnnl_success ||
        reo_make(&o->r, to_blocked ? &u : &k, to_blocked ? &k : &u)) {
        ghm_dnnl_reorder_destroy(o);
        return NULL;
    }
    return o;
}

void ghm_dnnl_reorder_destroy(ghm_dnnl_reorder *o)
{
    if (!o) return;
    reo_free(&o->r);
    free(o);
}

int ghm_dnnl_reorder_run(ghm_dnnl_reorder *o, float *dst, const float *src)
{
    set(o->r.from, src), set(o->r.to, dst);
    const dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, o->r.from}, {DNNL_ARG_TO, o->r.to}};
    return exec(o->r.prim, 2, a);
}

#else /* no oneDNN */
int ghm_dnnl_streams_reserve(int n)
{
    (void)n;
    return -1;
}

void ghm_conv_dnnl_fail_at(long k) { (void)k; }
long ghm_conv_dnnl_attempts(void) { return 0; }
int ghm_conv_dnnl_fast_kernel(int B, int C, int H, int W, int OC, int K, int stride, int pad)
{
    (void)B, (void)C, (void)H, (void)W, (void)OC, (void)K, (void)stride, (void)pad;
    return 0;
}

int ghm_conv_dnnl_available(void) { return 0; }
int ghm_dnnl_block(void) { return 0; }
const char *ghm_dnnl_isa_name(void) { return "none"; }
size_t ghm_dnnl_map_size(int B, int C, int H, int W, int blocked)
{
    (void)B, (void)C, (void)H, (void)W, (void)blocked;
    return 0;
}
ghm_conv_dnnl *ghm_conv_dnnl_create(int B, int C, int H, int W, int OC, int K, int stride, int pad, int backward,
                                    int x_blocked, int y_blocked)
{
    (void)B, (void)C, (void)H, (void)W, (void)OC, (void)K, (void)stride, (void)pad, (void)backward;
    (void)x_blocked, (void)y_blocked;
    return NULL;
}
ghm_dnnl_reorder *ghm_dnnl_reorder_create(int B, int C, int H, int W, int to_blocked)
{
    (void)B, (void)C, (void)H, (void)W, (void)to_blocked;
    return NULL;
}
void ghm_dnnl_reorder_destroy(ghm_dnnl_reorder *o) { (void)o; }
int ghm_dnnl_reorder_run(ghm_dnnl_reorder *o, float *dst, const float *src)
{
    (void)o, (void)dst, (void)src;
    return -1;
}
ghm_conv_dnnl *ghm_conv_dnnl_create_fused(int B, int C, int H, int W, int OC, int K, int stride, int pad,
                                          int x_blocked, int y_blocked, int sum, int relu)
{
    (void)B, (void)C, (void)H, (void)W, (void)OC, (void)K, (void)stride, (void)pad;
    (void)x_blocked, (void)y_blocked, (void)sum, (void)relu;
    return NULL;
}
int ghm_conv_dnnl_forward_fused(ghm_conv_dnnl *c, float *ws, float *y, const float *x, const float *w,
                                const float *bias)
{
    (void)c, (void)ws, (void)y, (void)x, (void)w, (void)bias;
    return -1;
}
int ghm_conv_dnnl_set_weights(ghm_conv_dnnl *c, const float *w)
{
    (void)c, (void)w;
    return -1;
}
void ghm_conv_dnnl_destroy(ghm_conv_dnnl *c) { (void)c; }
const char *ghm_conv_dnnl_impl(const ghm_conv_dnnl *c)
{
    (void)c;
    return "none";
}
size_t ghm_conv_dnnl_ws_size(const ghm_conv_dnnl *c)
{
    (void)c;
    return 0;
}
int ghm_conv_dnnl_forward(ghm_conv_dnnl *c, float *ws, float *y, const float *x, const float *w)
{
    (void)c, (void)ws, (void)y, (void)x, (void)w;
    return -1;
}
int ghm_conv_dnnl_backward(ghm_conv_dnnl *c, float *ws, float *dx, float *dw, const float *dy, const float *x,
                           const float *w)
{
    (void)c, (void)ws, (void)dx, (void)dw, (void)dy, (void)x, (void)w;
    return -1;
}
#endif

/* Backend choice: oneDNN when built in, unless GHM_CONV_BACKEND=ref (or a call to ghm_conv_backend_set). */
static int g_backend = -1;

int ghm_conv_backend_dnnl(void)
{
    if (g_backend < 0) {
        const char *e = getenv("GHM_CONV_BACKEND");
        g_backend = (e && strcmp(e, "ref") == 0) ? 0 : ghm_conv_dnnl_available();
    }
    return g_backend;
}

void ghm_conv_backend_set(int use_dnnl) { g_backend = use_dnnl ? ghm_conv_dnnl_available() : 0; }
