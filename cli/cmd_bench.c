/* `ghm bench train` and `ghm bench embed`: speed and memory of the training
 * step and of inference, on a real dataset.
 *
 * Both print one human-readable line, then ONE JSON object on the last line of
 * stdout with at least: images_per_s, peak_rss_mb, steps, batch, threads,
 * backbone, loss, seconds. Progress (if any) goes to stderr.
 */
#include "cli.h"

#include "../backbones/backbone.h"
#include "../core/json.h"
#include "experiment/provenance.h"
#include "nn/layers.h"
#include "nn/optim.h"
#include "../core/progress.h"
#include "../core/threads.h"
#include "../datasets/dataset.h"
#include "runner/trainer.h"
#include "../losses/loss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* CPU seconds (user + system, all threads) this process has used so far. */
static double cpu_seconds(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
}

/* Peak resident set size of this process in MiB (Linux reports ru_maxrss in KiB). */
static double peak_rss_mb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return -1;
    return (double)ru.ru_maxrss / 1024.0;
}

typedef struct bench_result {
    const char *kind;      /* "train" | "embed" */
    const char *backbone, *loss, *dataset;
    int steps, batch, threads, dim, images, m_per_class;
    double seconds, final_loss;
    double cpu_seconds;     /* CPU time of the timed part, all threads (>= seconds x threads on an idle machine) */
    double flops_per_image; /* backbone flops per image (0: not counted) */
    double sgemm_gflops;    /* measured sgemm rate (0: not measured) */
    double peak256, peak512; /* measured FMA peaks of all threads, GFLOPS (0: not measured) */
} bench_result;

/* The machine's sgemm rate in GFLOPS with the layers' own product (ghm_sgemm:
 * OpenBLAS single-threaded per part, split over the current OpenMP threads),
 * on square 1024 products: the best of repeated products over about `secs`
 * seconds, so a busy machine lowers it as little as possible. 0 on failure. */
static double sgemm_rate(double secs)
{
    const int n = 1024;
    float *a = ghm_alloc_floats((size_t)n * n), *b = ghm_alloc_floats((size_t)n * n),
          *c = ghm_alloc_floats((size_t)n * n);
    double best = 0.0;
    if (a && b && c) {
        for (size_t i = 0; i < (size_t)n * n; i++) {
            a[i] = (float)((i * 7919u) % 1000u) * 1e-3f - 0.5f;
            b[i] = (float)((i * 104729u) % 1000u) * 1e-3f - 0.5f;
        }
        const int saved = ghm_blas_serial_begin();
        ghm_sgemm(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n); /* warm-up */
        const double t_end = ghm_clock() + secs;
        int reps = 0;
        while (reps < 3 || ghm_clock() < t_end) {
            const double t0 = ghm_clock();
            ghm_sgemm(0, 0, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
            const double dt = ghm_clock() - t0;
            if (dt > 0 && 2.0 * n * n * n / dt > best) best = 2.0 * n * n * n / dt;
            if (++reps >= 200) break;
        }
        ghm_blas_serial_end(saved);
    }
    ghm_free(a);
    ghm_free(b);
    ghm_free(c);
    return best * 1e-9;
}

/* The cores' measured peak in GFLOPS for 256-bit (AVX2) and 512-bit (AVX-512)
 * fused multiply-adds: every thread runs 10 independent FMA chains at once (no
 * memory traffic), the best of 5 timed rounds of the whole team. This is the
 * ceiling any float kernel can reach on this machine at this moment: it
 * includes the boost clock that the nominal "cpu MHz" of /proc/cpuinfo leaves
 * out, and CPUs that execute 512-bit operations as two 256-bit halves show it
 * directly. 0 where unmeasured (not x86-64, or the CPU lacks the instructions). */
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#include <omp.h>
/* One function per vector width: 10 independent chains a = a * m + c (enough
 * to cover the FMA latency on two units), summed at the end so that none is
 * optimised away. */
#define GHM_FMA_CHAINS(NAME, TARGET, V, SET1, FMADD, ADD, STORE, LANES)                                         \
    __attribute__((target(TARGET))) static float NAME(long n)                                                   \
    {                                                                                                           \
        const V m = SET1(0.999999f), c = SET1(1e-7f);                                                           \
        V a0 = SET1(1), a1 = SET1(2), a2 = SET1(3), a3 = SET1(4), a4 = SET1(5), a5 = SET1(6), a6 = SET1(7),     \
          a7 = SET1(8), a8 = SET1(9), a9 = SET1(10);                                                            \
        for (long k = 0; k < n; k++)                                                                            \
            a0 = FMADD(a0, m, c), a1 = FMADD(a1, m, c), a2 = FMADD(a2, m, c), a3 = FMADD(a3, m, c),             \
            a4 = FMADD(a4, m, c), a5 = FMADD(a5, m, c), a6 = FMADD(a6, m, c), a7 = FMADD(a7, m, c),             \
            a8 = FMADD(a8, m, c), a9 = FMADD(a9, m, c);                                                         \
        const V s = ADD(ADD(ADD(a0, a1), ADD(a2, a3)), ADD(ADD(ADD(a4, a5), ADD(a6, a7)), ADD(a8, a9)));        \
        float f[LANES];                                                                                         \
        STORE(f, s);                                                                                            \
        return f[0];                                                                                            \
    }
GHM_FMA_CHAINS(fma_chains512, "avx512f,fma", __m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_add_ps,
               _mm512_storeu_ps, 16)
GHM_FMA_CHAINS(fma_chains256, "avx2,fma", __m256, _mm256_set1_ps, _mm256_fmadd_ps, _mm256_add_ps,
               _mm256_storeu_ps, 8)

static double fma_peak_gflops(int wide)
{
    __builtin_cpu_init();
    if (wide ? !__builtin_cpu_supports("avx512f") : !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")))
        return 0.0;
    const long n = 16000000; /* 160 M FMAs per thread: about 50-80 ms */
    double best = 0.0;
    volatile float sink = 0.0f;
    for (int rep = 0; rep < 5; rep++) {
        int team = 1;
        double t0 = 0.0, dt = 0.0;
#pragma omp parallel
        {
#pragma omp barrier
#pragma omp master
            {
                team = omp_get_num_threads();
                t0 = ghm_clock();
            }
            const float v = wide ? fma_chains512(n) : fma_chains256(n);
#pragma omp barrier
#pragma omp master
            dt = ghm_clock() - t0;
#pragma omp atomic
            sink += v;
        }
        const double flops = 2.0 * (wide ? 16 : 8) * 10.0 * (double)n * team;
        if (dt > 0 && flops / dt > best) best = flops / dt;
    }
    (void)sink;
    return best * 1e-9;
}
#else
static double fma_peak_gflops(int wide)
{
    (void)wide;
    return 0.0;
}
#endif

/* Print the JSON line (last line of stdout). */
static int print_json(const bench_result *r)
{
    ghm_jw w;
    ghm_jw_init(&w, 0);
    ghm_jw_begin_object(&w);
    ghm_jw_key(&w, "bench");
    ghm_jw_string(&w, r->kind);
    ghm_jw_key(&w, "images_per_s");
    ghm_jw_number(&w, r->seconds > 0 ? (double)r->images / r->seconds : 0.0);
    ghm_jw_key(&w, "peak_rss_mb");
    ghm_jw_number(&w, peak_rss_mb());
    ghm_jw_key(&w, "steps");
    ghm_jw_int(&w, r->steps);
    ghm_jw_key(&w, "batch");
    ghm_jw_int(&w, r->batch);
    ghm_jw_key(&w, "threads");
    ghm_jw_int(&w, r->threads);
    ghm_jw_key(&w, "backbone");
    ghm_jw_string(&w, r->backbone);
    ghm_jw_key(&w, "loss");
    if (r->loss)
        ghm_jw_string(&w, r->loss);
    else
        ghm_jw_null(&w);
    ghm_jw_key(&w, "seconds");
    ghm_jw_number(&w, r->seconds);
    ghm_jw_key(&w, "cpu_seconds");
    ghm_jw_number(&w, r->cpu_seconds);
    ghm_jw_key(&w, "images");
    ghm_jw_int(&w, r->images);
    ghm_jw_key(&w, "dataset");
    ghm_jw_string(&w, r->dataset);
    ghm_jw_key(&w, "dim");
    ghm_jw_int(&w, r->dim);
    /* which kernels ran: the products' library and the instruction set its kernels use, and oneDNN's */
    ghm_jw_key(&w, "gemm_backend");
    ghm_jw_string(&w, ghm_gemm_backend_name());
    ghm_jw_key(&w, "gemm_isa");
    ghm_jw_string(&w, ghm_gemm_isa_name());
    ghm_jw_key(&w, "conv_backend");
    ghm_jw_string(&w, ghm_prov_conv_backend());
    ghm_jw_key(&w, "onednn_isa");
    ghm_jw_string(&w, ghm_dnnl_isa_name());
    if (r->peak256 > 0) {
        ghm_jw_key(&w, "peak_gflops_avx2");
        ghm_jw_number(&w, r->peak256);
    }
    if (r->peak512 > 0) {
        ghm_jw_key(&w, "peak_gflops_avx512");
        ghm_jw_number(&w, r->peak512);
    }
    if (r->m_per_class > 0) {
        ghm_jw_key(&w, "m_per_class");
        ghm_jw_int(&w, r->m_per_class);
        ghm_jw_key(&w, "final_loss");
        ghm_jw_number(&w, r->final_loss);
    }
    if (r->flops_per_image > 0) {
        const double gf = r->seconds > 0 ? r->flops_per_image * r->images / r->seconds * 1e-9 : 0.0;
        ghm_jw_key(&w, "flops_per_image");
        ghm_jw_number(&w, r->flops_per_image);
        ghm_jw_key(&w, "gflops");
        ghm_jw_number(&w, gf);
        if (r->sgemm_gflops > 0) {
            ghm_jw_key(&w, "sgemm_gflops");
            ghm_jw_number(&w, r->sgemm_gflops);
            ghm_jw_key(&w, "fraction_of_sgemm");
            ghm_jw_number(&w, gf / r->sgemm_gflops);
        }
    }
    ghm_jw_end_object(&w);
    int failed = w.failed;
    if (!failed) printf("%s\n", w.buf);
    fflush(stdout);
    ghm_jw_free(&w);
    if (failed) {
        fprintf(stderr, "ghm: error: out of memory writing the JSON result\n");
        return 1;
    }
    return 0;
}

/* Options shared by both benchmarks. */
typedef struct bench_opts {
    const char *backbone, *loss, *dataset, *data_dir;
    long batch, steps, threads, m_per_class, dim, warmup, n, seed;
    int normalize;
    int sgemm; /* train: measure the sgemm rate after the steps */
} bench_opts;

/* Parse argv (argv[0] = "train" or "embed"). Returns 0, or the exit status. */
static int parse_opts(const char *cmd, int train, int argc, char **argv, bench_opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        int m;
#define OPT(name) ((m = ghm_cli_opt(argc, argv, &i, name, &v)) != 0)
#define NEED(name)                                                  \
    do {                                                            \
        if (m < 0) return ghm_cli_usage(cmd, "%s needs a value", name); \
    } while (0)
        if (OPT("--backbone")) {
            NEED("--backbone");
            o->backbone = v;
        } else if (OPT("--dataset")) {
            NEED("--dataset");
            o->dataset = v;
        } else if (OPT("--data")) {
            NEED("--data");
            o->data_dir = v;
        } else if (OPT("--batch")) {
            NEED("--batch");
            if (ghm_cli_int(cmd, "--batch", v, 1, 1 << 20, &o->batch)) return 2;
        } else if (OPT("--threads")) {
            NEED("--threads");
            if (ghm_cli_int(cmd, "--threads", v, 1, 256, &o->threads)) return 2;
        } else if (OPT("--dim")) {
            NEED("--dim");
            if (ghm_cli_int(cmd, "--dim", v, 1, GHM_MAX_EMBEDDING_DIM, &o->dim)) return 2;
        } else if (OPT("--seed")) {
            NEED("--seed");
            if (ghm_cli_int(cmd, "--seed", v, 0, 2147483647L, &o->seed)) return 2;
        } else if (OPT("--warmup")) {
            NEED("--warmup");
            if (ghm_cli_int(cmd, "--warmup", v, 0, 1 << 20, &o->warmup)) return 2;
        } else if (strcmp(argv[i], "--no-normalize") == 0) {
            o->normalize = 0;
        } else if (train && strcmp(argv[i], "--no-sgemm") == 0) {
            o->sgemm = 0;
        } else if (train && OPT("--steps")) {
            NEED("--steps");
            if (ghm_cli_int(cmd, "--steps", v, 1, 1 << 24, &o->steps)) return 2;
        } else if (train && OPT("--loss")) {
            NEED("--loss");
            o->loss = v;
        } else if (train && OPT("--m-per-class")) {
            NEED("--m-per-class");
            if (ghm_cli_int(cmd, "--m-per-class", v, 1, 1 << 20, &o->m_per_class)) return 2;
        } else if (!train && OPT("--n")) {
            NEED("--n");
            if (ghm_cli_int(cmd, "--n", v, 1, 1L << 30, &o->n)) return 2;
        } else {
            return ghm_cli_usage(cmd, "unknown option '%s'%s", argv[i], ghm_cli_option_hint(cmd, argv[i], NULL));
        }
#undef OPT
#undef NEED
    }
    return 0;
}

/* Load the dataset and make the standard split. Returns 0 or fills err. */
static int load_split(const bench_opts *o, ghm_dataset *d, ghm_split *s, ghm_error *err)
{
    ghm_dataset_opts dopt;
    ghm_dataset_opts_default(&dopt);
    dopt.name = o->dataset;
    dopt.path = o->data_dir;
    dopt.seed = (uint64_t)o->seed;
    int rc = ghm_dataset_load(&dopt, d, err);
    if (rc) return rc;
    ghm_split_opts sopt;
    ghm_split_opts_default(&sopt);
    sopt.protocol = GHM_SPLIT_STANDARD;
    sopt.val_fraction = 0;
    sopt.seed = (uint64_t)o->seed;
    rc = ghm_split_make(d, &sopt, s, err);
    if (rc) ghm_dataset_free(d);
    return rc;
}

int ghm_cmd_bench_train(int argc, char **argv)
{
    const char *cmd = "bench train";
    bench_opts o = {.backbone = "convnet", .loss = "contrastive", .dataset = "fashion-mnist", .batch = 120,
                    .steps = 50, .threads = 0, .m_per_class = 0, .dim = 128, .warmup = 5, .seed = 1,
                    .normalize = 1, .sgemm = 1};
    int st = parse_opts(cmd, 1, argc, argv, &o);
    if (st) return st;
    int threads = ghm_threads_set((int)o.threads);

    ghm_error err;
    ghm_error_clear(&err);
    ghm_dataset d;
    ghm_split sp;
    memset(&d, 0, sizeof d);
    memset(&sp, 0, sizeof sp);
    ghm_backbone *b = NULL;
    ghm_loss *l = NULL;
    ghm_trainer *tr = NULL;
    ghm_sampler *smp = NULL;
    float *x = NULL;
    int *idx = NULL, *labels = NULL;
    int status = 0, have_data = 0;
    int rc = load_split(&o, &d, &sp, &err);
    if (rc) goto fail;
    have_data = 1;
    const ghm_subset *tr_set = &sp.train;
    int ncls = tr_set->n_classes;
    int m = (int)o.m_per_class;
    if (m <= 0) { /* default: batch / classes, lowered until it divides the batch */
        m = ncls > 0 ? (int)(o.batch / ncls) : 1;
        if (m < 1) m = 1;
        while (m > 1 && o.batch % m) m--;
    }
    rc = ghm_sampler_create(tr_set->img.labels, tr_set->img.n, ncls, (int)o.batch, m, (uint64_t)o.seed, &smp, &err);
    if (rc) goto fail;
    ghm_params none;
    ghm_params_clear(&none);
    rc = ghm_backbone_create(o.backbone, &none, tr_set->img.c, tr_set->img.h, tr_set->img.w, (int)o.dim, o.normalize,
                             (int)o.batch, (uint64_t)o.seed, &b, &err);
    if (rc) goto fail;
    rc = ghm_loss_create(o.loss, &none, (int)o.dim, ncls, (uint64_t)o.seed, &l, &err);
    if (rc) goto fail;
    ghm_optim_config oc;
    ghm_optim_config_default(&oc);
    oc.kind = GHM_OPT_ADAM;
    oc.lr = 1e-4; /* small: the benchmark measures speed, it should not diverge */
    rc = ghm_trainer_create(b, l, &oc, (int)o.batch, &tr, &err);
    if (rc) goto fail;
    size_t per = (size_t)tr_set->img.c * tr_set->img.h * tr_set->img.w;
    x = ghm_alloc_floats((size_t)o.batch * per); /* (batch, C, H, W) */
    idx = (int *)malloc(sizeof(int) * (size_t)o.batch);
    labels = (int *)malloc(sizeof(int) * (size_t)o.batch);
    if (!x || !idx || !labels) {
        rc = GHM_FAIL(&err, GHM_ENOMEM, "bench: out of memory for a batch of %ld images", o.batch);
        goto fail;
    }
    int per_epoch = ghm_sampler_batches_per_epoch(smp);
    if (per_epoch < 1) per_epoch = 1;
    double loss = 0, t0 = 0, c0 = 0;
    ghm_progress prog;
    int tty = isatty(fileno(stderr));
    ghm_progress_init(&prog, stderr, tty, tty ? 0.2 : 10.0);
    long total = o.warmup + o.steps;
    for (long s = 0; s < total; s++) {
        if (s == o.warmup) {
            t0 = ghm_clock();
            c0 = cpu_seconds();
        }
        rc = ghm_sampler_batch(smp, (int)(s / per_epoch), (int)(s % per_epoch), idx, &err);
        if (rc) goto fail;
        ghm_subset_gather(tr_set, idx, (int)o.batch, x, labels);
        rc = ghm_trainer_step(tr, x, labels, (int)o.batch, oc.lr, &loss, &err);
        if (rc) {
            ghm_error_prefix(&err, "step %ld", s);
            goto fail;
        }
        if (s >= o.warmup) {
            ghm_progress_info pi;
            ghm_progress_info_init(&pi);
            pi.label = "bench train";
            pi.batch = s - o.warmup + 1;
            pi.batches = o.steps;
            pi.loss = loss;
            double el = ghm_clock() - t0;
            if (el > 0) pi.images_per_s = (double)pi.batch * (double)o.batch / el;
            ghm_progress_update(&prog, (double)pi.batch / (double)o.steps, &pi, 0);
        }
    }
    double secs = ghm_clock() - t0, cpu = cpu_seconds() - c0;
    ghm_progress_finish(&prog);
    double ffwd, ftrain;
    ghm_backbone_flops(b, &ffwd, &ftrain);
    bench_result r = {.kind = "train", .backbone = o.backbone, .loss = o.loss, .dataset = o.dataset,
                      .steps = (int)o.steps, .batch = (int)o.batch, .threads = threads, .dim = (int)o.dim,
                      .images = (int)(o.steps * o.batch), .m_per_class = m, .seconds = secs, .final_loss = loss,
                      .cpu_seconds = cpu, .flops_per_image = ftrain, .sgemm_gflops = o.sgemm ? sgemm_rate(0.5) : 0.0,
                      .peak256 = fma_peak_gflops(0), .peak512 = fma_peak_gflops(1)};
    const double gf = secs > 0 ? ftrain * r.images / secs * 1e-9 : 0.0;
    printf("bench train: %s + %s on %s, batch %ld (%d per class), dim %ld, %d threads: %ld steps in %.2f s = "
           "%.1f img/s, %.1f ms/step, %.1f GFLOPS",
           o.backbone, o.loss, o.dataset, o.batch, m, o.dim, threads, o.steps, secs,
           secs > 0 ? r.images / secs : 0.0, 1e3 * secs / (double)o.steps, gf);
    if (r.sgemm_gflops > 0) printf(" (%.0f%% of sgemm's %.1f)", 100.0 * gf / r.sgemm_gflops, r.sgemm_gflops);
    printf(", peak RSS %.0f MB, last loss %.4f\n", peak_rss_mb(), loss);
    status = print_json(&r);
    goto done;
fail:
    status = ghm_cli_fail(&err);
done:
    free(idx);
    free(labels);
    ghm_free(x);
    ghm_trainer_destroy(tr);
    ghm_loss_destroy(l);
    ghm_backbone_destroy(b);
    ghm_sampler_destroy(smp);
    if (have_data) {
        ghm_split_free(&sp);
        ghm_dataset_free(&d);
    }
    return status;
}

int ghm_cmd_bench_embed(int argc, char **argv)
{
    const char *cmd = "bench embed";
    bench_opts o = {.backbone = "convnet", .dataset = "fashion-mnist", .batch = 512, .threads = 0, .dim = 128,
                    .warmup = 1, .n = 0, .seed = 1, .normalize = 1};
    int st = parse_opts(cmd, 0, argc, argv, &o);
    if (st) return st;
    int threads = ghm_threads_set((int)o.threads);

    ghm_error err;
    ghm_error_clear(&err);
    ghm_dataset d;
    ghm_split sp;
    memset(&d, 0, sizeof d);
    memset(&sp, 0, sizeof sp);
    ghm_backbone *b = NULL;
    float *emb = NULL;
    int status = 0, have_data = 0;
    int rc = load_split(&o, &d, &sp, &err);
    if (rc) goto fail;
    have_data = 1;
    /* a view of the first n test images (shares the pixels; never freed through it) */
    ghm_subset view = sp.test;
    if (o.n > 0 && o.n < view.img.n) view.img.n = (int)o.n;
    if (view.img.n < 1) {
        rc = ghm_error_set(&err, GHM_EINPUT, "bench embed: the test part of %s is empty", o.dataset);
        goto fail;
    }
    ghm_params none;
    ghm_params_clear(&none);
    rc = ghm_backbone_create(o.backbone, &none, view.img.c, view.img.h, view.img.w, (int)o.dim, o.normalize,
                             (int)o.batch, (uint64_t)o.seed, &b, &err);
    if (rc) goto fail;
    emb = ghm_alloc_floats((size_t)view.img.n * (size_t)o.dim); /* (n, dim) */
    if (!emb) {
        rc = GHM_FAIL(&err, GHM_ENOMEM, "bench embed: out of memory for (%d, %ld) embeddings", view.img.n, o.dim);
        goto fail;
    }
    /* warm-up: one chunk */
    for (long w = 0; w < o.warmup; w++) {
        ghm_subset head = view;
        if (head.img.n > (int)o.batch) head.img.n = (int)o.batch;
        rc = ghm_embed_subset(b, &head, emb, &err);
        if (rc) goto fail;
    }
    double t0 = ghm_clock(), c0 = cpu_seconds();
    rc = ghm_embed_subset(b, &view, emb, &err);
    if (rc) goto fail;
    double secs = ghm_clock() - t0, cpu = cpu_seconds() - c0;
    int steps = (int)((view.img.n + o.batch - 1) / o.batch);
    double ffwd, ftrain;
    ghm_backbone_flops(b, &ffwd, &ftrain);
    bench_result r = {.kind = "embed", .backbone = o.backbone, .loss = NULL, .dataset = o.dataset, .steps = steps,
                      .batch = (int)o.batch, .threads = threads, .dim = (int)o.dim, .images = view.img.n,
                      .m_per_class = 0, .seconds = secs, .cpu_seconds = cpu, .flops_per_image = ffwd,
                      .peak256 = fma_peak_gflops(0), .peak512 = fma_peak_gflops(1)};
    printf("bench embed: %s on %s test (%d images), batch %ld, dim %ld, %d threads: %.2f s = %.1f img/s, "
           "%.1f GFLOPS, peak RSS %.0f MB\n",
           o.backbone, o.dataset, view.img.n, o.batch, o.dim, threads, secs, secs > 0 ? view.img.n / secs : 0.0,
           secs > 0 ? ffwd * view.img.n / secs * 1e-9 : 0.0, peak_rss_mb());
    status = print_json(&r);
    goto done;
fail:
    status = ghm_cli_fail(&err);
done:
    ghm_free(emb);
    ghm_backbone_destroy(b);
    if (have_data) {
        ghm_split_free(&sp);
        ghm_dataset_free(&d);
    }
    return status;
}
