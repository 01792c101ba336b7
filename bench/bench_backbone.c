/* Benchmark of a backbone through the wrapper (not a test; built by hand):
 *   gcc -O3 -march=native -fopenmp -I. bench/bench_backbone.c build-nn/libghm_backbones.a \
 *       build-nn/libghm_layers.a build-nn/libghm_core.a -lopenblas -lm -o build-nn/bench_backbone
 *   build-nn/bench_backbone [backbone] [threads] [reps]
 * Measures forward(train)+backward at batch 120 and inference at batch 512. */
#include "backbones/backbone.h"
#include "core/threads.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(int argc, char **argv)
{
    const char *name = argc > 1 ? argv[1] : "convnet";
    int threads = ghm_threads_set(argc > 2 ? atoi(argv[2]) : 2);
    int reps = argc > 3 ? atoi(argv[3]) : 5;
    int C = 1, H = 28, D = 128, Bt = 120, Bi = 512, iters = 20;
    ghm_error err;
    ghm_backbone *b;
    if (ghm_backbone_create(name, NULL, C, H, H, D, 1, Bi, 1, &b, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    float *x = malloc(sizeof(float) * (size_t)Bi * C * H * H), *e = malloc(sizeof(float) * (size_t)Bi * D);
    ghm_rng r;
    ghm_rng_seed(&r, 7, GHM_STREAM_USER);
    for (int i = 0; i < Bi * C * H * H; i++) x[i] = (float)ghm_rng_uniform(&r);
    printf("%s, %d threads, params %zu\n", name, threads, ghm_backbone_param_count(b));
    double best_t = 1e9, best_i = 1e9;
    for (int rep = 0; rep < reps; rep++) {
        double t0 = now();
        for (int it = 0; it < iters; it++) {
            ghm_backbone_forward(b, x, Bt, e, 1, &err);
            ghm_backbone_backward(b, e, &err);
        }
        double t1 = now();
        for (int it = 0; it < iters / 4; it++) ghm_backbone_forward(b, x, Bi, e, 0, &err);
        double t2 = now();
        double ti = (t1 - t0) / iters, tf = (t2 - t1) / (iters / 4);
        if (ti < best_t) best_t = ti;
        if (tf < best_i) best_i = tf;
        printf("rep %d: train fwd+bwd B=%d: %.2f ms (%.0f img/s)   inference B=%d: %.2f ms (%.0f img/s)\n", rep, Bt,
               ti * 1e3, Bt / ti, Bi, tf * 1e3, Bi / tf);
    }
    printf("best: train %.0f img/s, inference %.0f img/s\n", Bt / best_t, Bi / best_i);
    ghm_backbone_destroy(b);
    free(x);
    free(e);
    return 0;
}
