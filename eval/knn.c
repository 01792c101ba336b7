/* Exact k nearest neighbours on sgemm, in row blocks.
 *
 * Distances: d(i, j) = max(0, |q_i|^2 + |g_j|^2 - 2 q_i.g_j) computed in float,
 * the dot products by cblas_sgemm on a (block, ng) panel, so memory is
 * O(block * ng), never O(nq * ng). The ORDER of neighbours is the order of these
 * computed values, ties (equal computed values) broken by lower gallery index;
 * two points whose true distances differ by less than float rounding may come
 * out in either order (docs/metrics.md).
 *
 * Top-k selection per row:
 *  - k <= 32: one pass keeping a sorted array of the best k (insertion; the
 *    common case of Recall@K),
 *  - larger k (MAP@R needs the R nearest, R ~ n / classes): a bucket pass.
 *    The row's values are mapped monotonically onto NB linear buckets between
 *    the row minimum and maximum; a histogram finds the bucket holding the k-th
 *    value; one pass scatters the columns of the buckets up to that one
 *    (counting sort, in index order); each bucket is then sorted by (value,
 *    index). Cost O(ng + k * log(bucket size)) instead of O(ng log ng).
 * Rows of a block run in parallel (OpenMP); each row's result depends only on
 * its panel row, so results do not depend on the number of threads.
 */
#include "eval.h"
#include "eval_internal.h"

#include <cblas.h>
#include <math.h>
#if defined(__AVX512F__)
#include <immintrin.h>
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#define KNN_SMALL_K 32       /* insertion top-k up to this k */
#define KNN_CHUNK 64         /* small k: columns per vectorised chunk */
#define KNN_NB_MAX 65535     /* most buckets of the large-k sort */
#define KNN_SAMPLE 4096      /* sampled columns for the large-k threshold */
#define KNN_INSERTION_MAX 48 /* buckets larger than this are sorted with qsort */
#define KNN_PANEL_FLOATS (16u << 20) /* automatic block: panel of at most 64 MB */

typedef struct knn_pair {
    float d;
    int i;
} knn_pair;

typedef struct knn_scratch {
    uint16_t *bk;    /* (ng) bucket of each candidate */
    int *slot;       /* (ng) candidates scattered by bucket: column index */
    float *sv;       /* (ng) ... and value */
    int *ci;         /* (ng) candidate columns */
    float *cd;       /* (ng) candidate values */
    float *samp;     /* (ng) sampled values (about KNN_SAMPLE used) */
    int *cnt;        /* (NB + 1) histogram */
    int *pos;        /* (NB + 1) scatter positions */
    knn_pair *pairs; /* (ng) for large buckets */
    float tkd[KNN_SMALL_K];
    int tki[KNN_SMALL_K];
} knn_scratch;

int ghm_eval_check_finite(const float *x, int n, int d, const char *what, ghm_error *err)
{
    for (size_t i = 0; i < (size_t)n; i++)
        for (int j = 0; j < d; j++)
            if (!isfinite(x[i * (size_t)d + (size_t)j]))
                return ghm_error_set(err, GHM_EINPUT, "%s: non-finite value (%g) at row %zu, column %d", what,
                                     (double)x[i * (size_t)d + (size_t)j], i, j);
    return 0;
}

static int cmp_pair(const void *a, const void *b)
{
    const knn_pair *x = a, *y = b;
    if (x->d < y->d) return -1;
    if (x->d > y->d) return 1;
    return (x->i > y->i) - (x->i < y->i);
}

/* Small k: sorted insertion over columns [lo, hi). Columns arrive in increasing
 * index order and only a strictly smaller value displaces, so ties keep the
 * lower index first. */
static int topk_small_range(const float *drow, int lo, int hi, int k, float *tkd, int *tki, int c)
{
    for (int j = lo; j < hi; j++) {
        float v = drow[j];
        int p;
        if (c < k)
            p = c++;
        else if (v < tkd[k - 1])
            p = k - 1;
        else
            continue;
        while (p > 0 && tkd[p - 1] > v) {
            tkd[p] = tkd[p - 1];
            tki[p] = tki[p - 1];
            p--;
        }
        tkd[p] = v;
        tki[p] = j;
    }
    return c;
}

/* k-th smallest (0-based) of a (n), reorders a. Quickselect, median of three. */
static float select_kth(float *a, int n, int k)
{
    int lo = 0, hi = n - 1;
    while (hi > lo) {
        int mid = lo + (hi - lo) / 2;
        float x = a[lo], y = a[mid], z = a[hi];
        float piv = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] < piv) i++;
            while (a[j] > piv) j--;
            if (i <= j) {
                float t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return a[k];
    }
    return a[k];
}

/* Large k (see the file comment):
 *  1. threshold: from a strided sample of the row (about KNN_SAMPLE values) take
 *     a value a little above the sample quantile of k, so that (with very high
 *     probability) at least k values lie at or below it;
 *  2. one pass writes the row's distances into drow and appends the columns at
 *     or below the threshold, in index order, to the candidates (a full pass
 *     over all columns is the fallback when fewer than k qualify);
 *  3. the candidates are bucket-sorted between their minimum and the threshold
 *     (counting sort, then a stable sort of each bucket by value, so equal
 *     values keep index order), only up to the bucket holding the k-th.
 * prow: the panel row (dot products), overwritten by the distances. */
static void topk_large(float *prow, float qi, const float *sqg, int ng, int self, int k, knn_scratch *s)
{
    int navail = ng - (self >= 0);
    /* 1. threshold */
    float tau = INFINITY;
    int st = ng / KNN_SAMPLE;
    if (st >= 2) {
        int ns = 0;
        for (int j = 0; j < ng; j += st) {
            if (j == self) continue;
            float v = qi + sqg[j] - 2.0f * prow[j];
            s->samp[ns++] = v > 0.0f ? v : 0.0f;
        }
        double e = (double)k * ns / navail;
        double t = e + 4.0 * sqrt(e) + 8.0;
        if (t < ns - 1) tau = select_kth(s->samp, ns, (int)t);
    }
    /* 2. distances + candidates */
    int *ci = s->ci, c;
    float *cd = s->cd;
    c = 0;
    int j0 = 0;
#if defined(__AVX512F__)
    {
        /* same arithmetic as the scalar loop: (qi + sqg) - 2 * dot, then max(., +0) */
        const __m512 vq = _mm512_set1_ps(qi), two = _mm512_set1_ps(2.0f), zero = _mm512_setzero_ps();
        const __m512 vt = _mm512_set1_ps(tau);
        const __m512i step = _mm512_set1_epi32(16);
        __m512i jj = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        for (; j0 + 16 <= ng; j0 += 16) {
            __m512 v = _mm512_sub_ps(_mm512_add_ps(vq, _mm512_loadu_ps(sqg + j0)),
                                     _mm512_mul_ps(two, _mm512_loadu_ps(prow + j0)));
            v = _mm512_max_ps(v, zero);
            _mm512_storeu_ps(prow + j0, v);
            __mmask16 m = _mm512_cmp_ps_mask(v, vt, _CMP_LE_OQ);
            if (self >= j0 && self < j0 + 16) m &= (__mmask16) ~(1u << (self - j0));
            /* compress into registers, store 16 (the arrays have 16 spare slots) */
            _mm512_storeu_si512((void *)(ci + c), _mm512_maskz_compress_epi32(m, jj));
            _mm512_storeu_ps(cd + c, _mm512_maskz_compress_ps(m, v));
            c += __builtin_popcount((unsigned)m);
            jj = _mm512_add_epi32(jj, step);
        }
    }
#endif
    for (int j = j0; j < ng; j++) {
        float v = qi + sqg[j] - 2.0f * prow[j];
        v = v > 0.0f ? v : 0.0f;
        prow[j] = v;
        ci[c] = j;
        cd[c] = v;
        c += (v <= tau) & (j != self);
    }
    if (c < k) { /* the sample under-estimated the threshold: take every column */
        c = 0;
        for (int j = 0; j < ng; j++) {
            ci[c] = j;
            cd[c] = prow[j];
            c += j != self;
        }
    }
    /* 3. bucket sort of the candidates up to the k-th */
    float lo = INFINITY, hi = -INFINITY;
    for (int t = 0; t < c; t++) {
        lo = cd[t] < lo ? cd[t] : lo;
        hi = cd[t] > hi ? cd[t] : hi;
    }
    int nb = c / 2;
    if (nb < 16) nb = 16;
    if (nb > KNN_NB_MAX) nb = KNN_NB_MAX;
    float scale = hi > lo ? (float)(nb - 1) / (hi - lo) : 0.0f;
    if (!isfinite(scale)) scale = 0.0f;
    int *cnt = s->cnt, *pos = s->pos;
    uint16_t *bk = s->bk;
    memset(cnt, 0, sizeof(int) * (size_t)nb);
    for (int t = 0; t < c; t++) {
        /* (v - lo) * scale is monotone non-decreasing in v under rounding */
        int b = (int)((cd[t] - lo) * scale);
        b = b > nb - 1 ? nb - 1 : b;
        bk[t] = (uint16_t)b;
        cnt[b]++;
    }
    int tb, cum = 0;
    for (tb = 0; tb < nb; tb++) {
        pos[tb] = cum;
        cum += cnt[tb];
        if (cum >= k) break;
    }
    if (tb >= nb) tb = nb - 1;
    int *slot = s->slot;
    float *sv = s->sv;
    for (int t = 0; t < c; t++) {
        int b = bk[t];
        if (b <= tb) {
            int p = pos[b]++;
            slot[p] = ci[t];
            sv[p] = cd[t];
        }
    }
    int start = 0;
    for (int b = 0; b <= tb && start < k; b++) {
        int m = cnt[b];
        int *a = slot + start;
        float *av = sv + start;
        if (m > KNN_INSERTION_MAX) {
            knn_pair *pr = s->pairs;
            for (int t = 0; t < m; t++) {
                pr[t].d = av[t];
                pr[t].i = a[t];
            }
            qsort(pr, (size_t)m, sizeof *pr, cmp_pair);
            for (int t = 0; t < m; t++) {
                a[t] = pr[t].i;
                av[t] = pr[t].d;
            }
        } else {
            for (int t = 1; t < m; t++) {
                int x = a[t];
                float v = av[t];
                int p = t;
                while (p > 0 && av[p - 1] > v) {
                    a[p] = a[p - 1];
                    av[p] = av[p - 1];
                    p--;
                }
                a[p] = x;
                av[p] = v;
            }
        }
        start += m;
    }
}

static void scratch_free(knn_scratch *s, int nt)
{
    if (!s) return;
    for (int t = 0; t < nt; t++) {
        free(s[t].bk);
        free(s[t].slot);
        free(s[t].cnt);
        free(s[t].pos);
        free(s[t].pairs);
        free(s[t].sv);
        free(s[t].ci);
        free(s[t].cd);
        free(s[t].samp);
    }
    free(s);
}

int ghm_knn_drive(const float *q, int nq, const float *g, int ng, int d, int self, const int *need, int need_const,
                  int block, ghm_knn_row_fn fn, void *ctx, ghm_error *err)
{
    if (nq < 0 || ng < 0 || d < 1)
        return GHM_FAIL(err, GHM_EINPUT, "knn: bad sizes (nq %d, ng %d, dim %d)", nq, ng, d);
    if (self && nq != ng) return GHM_FAIL(err, GHM_EINPUT, "knn: self mode needs nq == ng (%d vs %d)", nq, ng);
    if (block < 0) return GHM_FAIL(err, GHM_EINPUT, "knn: block must be >= 0, got %d", block);
    int maxk = need_const;
    if (need) {
        maxk = 0;
        for (int i = 0; i < nq; i++) {
            if (need[i] < 0 || need[i] > ng - self)
                return GHM_FAIL(err, GHM_EINPUT, "knn: row %d asks for %d neighbours, only %d available", i, need[i],
                                ng - self);
            if (need[i] > maxk) maxk = need[i];
        }
    } else if (need_const < 0 || need_const > ng - self) {
        return ghm_error_set(err, GHM_EINPUT, "knn: k = %d but only %d neighbours are available (n = %d%s)",
                             need_const, ng - self, ng, self ? ", query excluded" : "");
    }
    if (nq == 0) return 0;

    size_t bm = (size_t)block;
    if (bm == 0) {
        bm = KNN_PANEL_FLOATS / (size_t)(ng > 0 ? ng : 1);
        if (bm < 8) bm = 8;
        if (bm > 1024) bm = 1024;
    }
    if (bm > (size_t)nq) bm = (size_t)nq;

    int nt = 1;
#ifdef _OPENMP
    nt = omp_get_max_threads();
    if (nt < 1) nt = 1;
#endif
    int big = maxk > KNN_SMALL_K;
    size_t ngs = ng > 0 ? (size_t)ng : 1;
    float *panel = malloc(sizeof(float) * bm * ngs);
    float *sqq = malloc(sizeof(float) * (size_t)nq);
    float *sqg = self ? sqq : malloc(sizeof(float) * ngs);
    knn_scratch *sc = calloc((size_t)nt, sizeof *sc);
    int ok = panel && sqq && sqg && sc;
    for (int t = 0; ok && big && t < nt; t++) {
        sc[t].bk = malloc(sizeof(uint16_t) * ngs);
        sc[t].slot = malloc(sizeof(int) * ngs);
        sc[t].cnt = malloc(sizeof(int) * (KNN_NB_MAX + 1));
        sc[t].pos = malloc(sizeof(int) * (KNN_NB_MAX + 1));
        sc[t].pairs = malloc(sizeof(knn_pair) * ngs);
        sc[t].sv = malloc(sizeof(float) * ngs);
        sc[t].ci = malloc(sizeof(int) * (ngs + 16)); /* + 16: vector stores past the end */
        sc[t].cd = malloc(sizeof(float) * (ngs + 16));
        sc[t].samp = malloc(sizeof(float) * ngs);
        ok = sc[t].bk && sc[t].slot && sc[t].cnt && sc[t].pos && sc[t].pairs && sc[t].sv && sc[t].ci && sc[t].cd &&
             sc[t].samp;
    }
    if (!ok) {
        free(panel);
        free(sqq);
        if (!self) free(sqg);
        scratch_free(sc, nt);
        return GHM_FAIL(err, GHM_ENOMEM, "knn: out of memory (panel %zu x %d floats)", bm, ng);
    }

    for (int i = 0; i < nq; i++) {
        const float *r = q + (size_t)i * (size_t)d;
        float s = 0.0f;
        for (int c = 0; c < d; c++) s += r[c] * r[c];
        sqq[i] = s;
    }
    if (!self)
        for (int j = 0; j < ng; j++) {
            const float *r = g + (size_t)j * (size_t)d;
            float s = 0.0f;
            for (int c = 0; c < d; c++) s += r[c] * r[c];
            sqg[j] = s;
        }

    for (size_t i0 = 0; i0 < (size_t)nq; i0 += bm) {
        int m = (int)((size_t)nq - i0 < bm ? (size_t)nq - i0 : bm);
        /* panel (m, ng) = q[i0:i0+m] (m, d) . g^T (d, ng) */
        if (ng > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, ng, d, 1.0f, q + i0 * (size_t)d, d, g, d, 0.0f,
                        panel, ng);
#pragma omp parallel for schedule(dynamic, 4)
        for (int r = 0; r < m; r++) {
            int tid = 0;
#ifdef _OPENMP
            tid = omp_get_thread_num();
#endif
            knn_scratch *s = &sc[tid];
            int i = (int)i0 + r;
            float *drow = panel + (size_t)r * ngs;
            float qi = sqq[i];
            int k = need ? need[i] : need_const;
            int ex = self ? i : -1;
            if (k <= KNN_SMALL_K) {
                int c = 0;
                for (int j0 = 0; j0 < ng; j0 += KNN_CHUNK) {
                    int j1 = j0 + KNN_CHUNK < ng ? j0 + KNN_CHUNK : ng;
                    float mn = INFINITY;
#pragma omp simd reduction(min : mn)
                    for (int j = j0; j < j1; j++) {
                        float v = qi + sqg[j] - 2.0f * drow[j];
                        v = v > 0.0f ? v : 0.0f;
                        drow[j] = v;
                        mn = v < mn ? v : mn;
                    }
                    /* full list and nothing strictly below its worst: skip the chunk */
                    if (c == k && (k == 0 || !(mn < s->tkd[k - 1]))) continue;
                    if (ex >= j0 && ex < j1) {
                        c = topk_small_range(drow, j0, ex, k, s->tkd, s->tki, c);
                        c = topk_small_range(drow, ex + 1, j1, k, s->tkd, s->tki, c);
                    } else {
                        c = topk_small_range(drow, j0, j1, k, s->tkd, s->tki, c);
                    }
                }
                fn(ctx, i, s->tki, c, drow);
            } else {
                topk_large(drow, qi, sqg, ng, ex, k, s);
                fn(ctx, i, s->slot, k, drow);
            }
        }
    }
    free(panel);
    free(sqq);
    if (!self) free(sqg);
    scratch_free(sc, nt);
    return 0;
}

/* ---- public kNN ---- */

typedef struct knn_out {
    int k;
    int *idx;
    float *dist2;
} knn_out;

static void knn_out_row(void *ctx, int row, const int *nbr, int count, const float *drow)
{
    knn_out *o = ctx;
    int *ir = o->idx + (size_t)row * (size_t)o->k;
    for (int t = 0; t < count; t++) ir[t] = nbr[t];
    if (o->dist2) {
        float *dr = o->dist2 + (size_t)row * (size_t)o->k;
        for (int t = 0; t < count; t++) dr[t] = drow[nbr[t]];
    }
}

int ghm_knn_self(const float *x, int n, int d, int k, int block, int *idx, float *dist2, ghm_error *err)
{
    if (n < 1 || d < 1) return ghm_error_set(err, GHM_EINPUT, "knn: need n >= 1 and dim >= 1 (got %d, %d)", n, d);
    if (k < 1 || k > n - 1)
        return ghm_error_set(err, GHM_EINPUT, "knn: k = %d must be in [1, n - 1 = %d] (the query itself is excluded)",
                             k, n - 1);
    if (!x || !idx) return GHM_FAIL(err, GHM_EINPUT, "knn: NULL argument");
    int rc = ghm_eval_check_finite(x, n, d, "knn: embeddings", err);
    if (rc) return rc;
    knn_out o = {k, idx, dist2};
    return ghm_knn_drive(x, n, x, n, d, 1, NULL, k, block, knn_out_row, &o, err);
}

int ghm_knn_query(const float *q, int nq, const float *g, int ng, int d, int k, int block, int *idx, float *dist2,
                  ghm_error *err)
{
    if (nq < 0 || ng < 1 || d < 1)
        return ghm_error_set(err, GHM_EINPUT, "knn: need nq >= 0, ng >= 1 and dim >= 1 (got %d, %d, %d)", nq, ng, d);
    if (k < 1 || k > ng) return ghm_error_set(err, GHM_EINPUT, "knn: k = %d must be in [1, ng = %d]", k, ng);
    if (!q || !g || !idx) return GHM_FAIL(err, GHM_EINPUT, "knn: NULL argument");
    int rc = ghm_eval_check_finite(q, nq, d, "knn: queries", err);
    if (!rc) rc = ghm_eval_check_finite(g, ng, d, "knn: gallery", err);
    if (rc) return rc;
    knn_out o = {k, idx, dist2};
    return ghm_knn_drive(q, nq, g, ng, d, 0, NULL, k, block, knn_out_row, &o, err);
}
