/* Lloyd k-means with k-means++ initialisation (Arthur & Vassilvitskii 2007),
 * several restarts keeping the lowest inertia.
 *
 * - Assignment distances |x|^2 + |c|^2 - 2 x.c through one sgemm (n, k) per
 *   iteration, ties to the lower cluster index.
 * - Centre update: means accumulated in double, serially in point order (row
 *   by row, cache-friendly), so the sums do not depend on the thread count.
 * - An empty cluster takes the point farthest from its current centre (as
 *   scikit-learn does) so k clusters always remain.
 * - Stops when no assignment changes or after max_iter iterations.
 * - Inertia = sum of squared distances to the assigned centre, in double.
 * Random draws come from the GHM_STREAM_KMEANS stream of `seed`: same seed,
 * same clusters.
 */
#include "eval.h"
#include "eval_internal.h"

#include "nn/layers.h"
#include "../core/rng.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double sqdist_d(const float *a, const float *b, int d)
{
    double s = 0.0;
    for (int c = 0; c < d; c++) {
        double t = (double)a[c] - (double)b[c];
        s += t * t;
    }
    return s;
}

/* k-means++: first centre uniform, then each next centre drawn with
 * probability proportional to the squared distance to the nearest centre. */
static void kmeanspp(const float *x, int n, int d, int k, ghm_rng *rng, float *cent, double *mind)
{
    int first = (int)ghm_rng_below(rng, (uint32_t)n);
    memcpy(cent, x + (size_t)first * (size_t)d, sizeof(float) * (size_t)d);
    for (int i = 0; i < n; i++) mind[i] = sqdist_d(x + (size_t)i * (size_t)d, cent, d);
    for (int c = 1; c < k; c++) {
        double tot = 0.0;
        for (int i = 0; i < n; i++) tot += mind[i];
        int pick = 0;
        if (tot > 0.0) {
            double u = ghm_rng_uniform(rng) * tot, acc = 0.0;
            pick = -1;
            for (int i = 0; i < n; i++) {
                acc += mind[i];
                if (mind[i] > 0.0 && acc > u) {
                    pick = i;
                    break;
                }
            }
            if (pick < 0) /* rounding at the very end: last point with weight */
                for (int i = n - 1; i >= 0; i--)
                    if (mind[i] > 0.0) {
                        pick = i;
                        break;
                    }
        } else {
            pick = (int)ghm_rng_below(rng, (uint32_t)n); /* all points coincide with centres */
        }
        float *cc = cent + (size_t)c * (size_t)d;
        memcpy(cc, x + (size_t)pick * (size_t)d, sizeof(float) * (size_t)d);
        for (int i = 0; i < n; i++) {
            double t = sqdist_d(x + (size_t)i * (size_t)d, cc, d);
            if (t < mind[i]) mind[i] = t;
        }
    }
}

/* One Lloyd run from the centres in cent (k, d). Returns the inertia. */
static double lloyd(const float *x, const float *sqx, int n, int d, int k, int max_iter, float *cent, int *asg,
                    float *dots, double *sums, int *count, double *pd)
{
    float *sqc = malloc(sizeof(float) * (size_t)k);
    if (!sqc) return -1.0;
    for (int i = 0; i < n; i++) asg[i] = -1;
    for (int it = 0; it < max_iter; it++) {
        for (int c = 0; c < k; c++) {
            float s = 0.0f;
            for (int t = 0; t < d; t++) s += cent[(size_t)c * d + t] * cent[(size_t)c * d + t];
            sqc[c] = s;
        }
        /* dots (n, k) = x (n, d) . cent^T (d, k) */
        ghm_sgemm(0, 1, n, k, d, 1.0f, x, d, cent, d, 0.0f, dots, k);
        int changed = 0;
        for (int i = 0; i < n; i++) {
            const float *r = dots + (size_t)i * (size_t)k;
            int best = 0;
            float bd = sqx[i] + sqc[0] - 2.0f * r[0];
            for (int c = 1; c < k; c++) {
                float v = sqx[i] + sqc[c] - 2.0f * r[c];
                if (v < bd) {
                    bd = v;
                    best = c;
                }
            }
            pd[i] = bd;
            if (asg[i] != best) {
                changed++;
                asg[i] = best;
            }
        }
        if (!changed) break;
        /* update: means in double, in point order */
        memset(count, 0, sizeof(int) * (size_t)k);
        for (int i = 0; i < n; i++) count[asg[i]]++;
        memset(sums, 0, sizeof(double) * (size_t)k * (size_t)d);
        for (int i = 0; i < n; i++) {
            double *sr = sums + (size_t)asg[i] * d;
            const float *xr = x + (size_t)i * d;
            for (int t = 0; t < d; t++) sr[t] += xr[t];
        }
        for (int c = 0; c < k; c++) {
            if (count[c] > 0) {
                for (int t = 0; t < d; t++) cent[(size_t)c * d + t] = (float)(sums[(size_t)c * d + t] / count[c]);
                continue;
            }
            /* empty cluster: take the point farthest from its centre (among
             * clusters with more than one point) */
            int far = -1;
            double fd = -1.0;
            for (int i = 0; i < n; i++)
                if (count[asg[i]] > 1 && pd[i] > fd) {
                    fd = pd[i];
                    far = i;
                }
            if (far < 0) continue; /* fewer distinct points than clusters */
            count[asg[far]]--;
            asg[far] = c;
            count[c] = 1;
            pd[far] = 0.0;
            memcpy(cent + (size_t)c * d, x + (size_t)far * d, sizeof(float) * (size_t)d);
        }
    }
    /* final assignment matches the final centres when converged; inertia exact */
    double inertia = 0.0;
    for (int i = 0; i < n; i++) inertia += sqdist_d(x + (size_t)i * d, cent + (size_t)asg[i] * d, d);
    free(sqc);
    return inertia;
}

int ghm_kmeans(const float *x, int n, int d, int k, uint64_t seed, int restarts, int max_iter, int *assign,
               double *inertia, ghm_error *err)
{
    if (!x || !assign) return GHM_FAIL(err, GHM_EINPUT, "kmeans: NULL argument");
    if (n < 1 || d < 1) return ghm_error_set(err, GHM_EINPUT, "kmeans: need n >= 1 and dim >= 1 (got %d, %d)", n, d);
    if (k < 1 || k > n) return ghm_error_set(err, GHM_EINPUT, "kmeans: k = %d must be in [1, n = %d]", k, n);
    if (restarts < 1) return ghm_error_set(err, GHM_EINPUT, "kmeans: restarts = %d must be >= 1", restarts);
    if (max_iter < 1) return ghm_error_set(err, GHM_EINPUT, "kmeans: max_iter = %d must be >= 1", max_iter);
    int rc = ghm_eval_check_finite(x, n, d, "kmeans: data", err);
    if (rc) return rc;

    size_t nd = (size_t)n, kd = (size_t)k * (size_t)d;
    float *sqx = malloc(sizeof(float) * nd);
    float *cent = malloc(sizeof(float) * kd);
    float *dots = malloc(sizeof(float) * nd * (size_t)k);
    double *sums = malloc(sizeof(double) * kd);
    double *pd = malloc(sizeof(double) * nd);
    int *count = malloc(sizeof(int) * (size_t)k);
    int *asg = malloc(sizeof(int) * nd);
    if (!sqx || !cent || !dots || !sums || !pd || !count || !asg) {
        rc = GHM_FAIL(err, GHM_ENOMEM, "kmeans: out of memory (n %d, k %d, dim %d)", n, k, d);
        goto done;
    }
    for (int i = 0; i < n; i++) {
        float s = 0.0f;
        for (int t = 0; t < d; t++) s += x[(size_t)i * d + t] * x[(size_t)i * d + t];
        sqx[i] = s;
    }
    ghm_rng rng;
    ghm_rng_seed(&rng, seed, GHM_STREAM_KMEANS);
    double best = INFINITY;
    for (int r = 0; r < restarts; r++) {
        kmeanspp(x, n, d, k, &rng, cent, pd);
        double in = lloyd(x, sqx, n, d, k, max_iter, cent, asg, dots, sums, count, pd);
        if (in < 0.0) {
            rc = GHM_FAIL(err, GHM_ENOMEM, "kmeans: out of memory");
            goto done;
        }
        if (in < best || r == 0) {
            best = in;
            memcpy(assign, asg, sizeof(int) * nd);
        }
    }
    if (inertia) *inertia = best;
done:
    free(sqx);
    free(cent);
    free(dots);
    free(sums);
    free(pd);
    free(count);
    free(asg);
    return rc;
}
