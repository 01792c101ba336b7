/* Exact k nearest neighbours on sgemm, in row blocks.
 *
 * Distances: d(i, j) = max(0, |q_i|^2 + |g_j|^2 - 2 q_i.g_j) computed in float,
 * the dot products by ghm_sgemm (nn/layers.h) on a (block, ng) panel, so memory is
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
 *
 * Retrieval statistics (ghm_knn_retrieval, for Recall@K, R-precision, MAP@R)
 * need, for each same-label item ("match") among the R nearest, only its rank,
 * i.e. (matches before it) + (non-matches before it) + 1. Rows asking for more
 * than KNN_SMALL_K neighbours therefore never sort the R nearest:
 *  1. one vectorised pass writes the row's distances to a per-thread buffer
 *     (cache-resident; the panel is only read); threshold key tau from a
 *     histogram of a strided sample of them, such that very probably >= k
 *     values lie at or below it;
 *  2. one AVX-512 pass appends the columns at or below tau, in index order, to
 *     a match list or a non-match list (label compare); the candidates are all items up to tau, a prefix of the exact
 *     (distance, index) order, and hold >= k items (else: the whole row);
 *  3. the SMALLER of the two lists is sorted (stable LSD radix sort of the
 *     float bits, which order like unsigned integers for distances >= +0, so
 *     ties keep index order; non-matches after the last match are dropped
 *     first, they move no match's rank); every item of the other list is
 *     located in it (bucket table on the key + short scan, ties by index), giving per
 *     match the number of non-matches before it;
 *  4. one pass over the matches in order yields first match position, hits in
 *     the top R and sum hits / rank, the same terms in the same order as a
 *     scan of the sorted list, hence bit-identical results. A run of matches
 *     with no non-match before them contributes exactly 1 each (summed at once).
 */
#include "eval.h"
#include "eval_internal.h"

#include "nn/layers.h"

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
#define KNN_SAMPLE_HIST 1024 /* histogram buckets for the sampled threshold (retrieval) */
#define KNN_TAB_MAX 65536    /* most buckets of the locate table (retrieval) */
#define KNN_RADIX_BITS 11    /* radix sort digit width */
#define KNN_RADIX_SMALL 48   /* lists up to this size: insertion sort */
_Static_assert((3 << KNN_RADIX_BITS) >= 4 * KNN_SAMPLE_HIST, "knn_scratch.hist serves both");

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
    /* retrieval statistics only */
    int *mi, *ni;          /* (ng + 16) candidate match / non-match columns */
    uint32_t *mk, *nk;     /* (ng + 16) their distance bits */
    int *ti;               /* (ng) radix sort temporaries */
    uint32_t *tk;          /* (ng) */
    int *gap;              /* (ng + 1) located counts */
    int *tab;              /* (KNN_TAB_MAX + 2) locate table */
    uint32_t *sk;          /* (ng) sampled keys */
    float *dist;           /* (ng) the row's distances */
    int *hist;             /* (3 << KNN_RADIX_BITS), >= 4 * KNN_SAMPLE_HIST */
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

/* k-th smallest (0-based) of a (n), reorders a. Quickselect, median of three (eval_internal.h). */
float ghm_eval_select_kth(float *a, int n, int k)
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
        if (t < ns - 1) tau = ghm_eval_select_kth(s->samp, ns, (int)t);
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

/* ---- retrieval statistics without sorting the R nearest (file comment) ---- */

static uint32_t key_of(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

static float float_of(uint32_t u)
{
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* (ka, ia) before (kb, ib) in the (distance, index) order */
static int key_less(uint32_t ka, int ia, uint32_t kb, int ib)
{
    return ka < kb || (ka == kb && ia < ib);
}

/* Threshold key for k of the row's distances drow (ng): from a strided sample
 * (about KNN_SAMPLE values), the upper edge of the histogram bucket holding the
 * sample quantile of k plus a margin of 4 standard deviations, so that at
 * least k values are very probably at or below it (rows shorter than 2 *
 * KNN_SAMPLE: the whole row, so surely). UINT32_MAX: no threshold (the margin
 * reaches the whole sample). */
static uint32_t sample_tau(const float *drow, int ng, int self, int k, knn_scratch *s)
{
    int navail = ng - (self >= 0);
    int st = ng / KNN_SAMPLE;
    if (st < 1) st = 1; /* short rows: the whole row, exact count */
    uint32_t *sk = s->sk, lo = UINT32_MAX, hi = 0;
    int ns = 0;
    for (int j = 0; j < ng; j += st) {
        if (j == self) continue;
        uint32_t u = key_of(drow[j]);
        sk[ns++] = u;
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
    }
    double e = (double)k * ns / navail;
    double t = st == 1 ? k - 1 : e + 4.0 * sqrt(e) + 8.0;
    if (!(t < ns - 1)) return UINT32_MAX;
    int tt = (int)t;
    uint32_t span = hi - lo;
    int sh = 0;
    while ((span >> sh) >= KNN_SAMPLE_HIST) sh++;
    /* four interleaved histograms: increments of one bucket do not queue */
    int *h0 = s->hist, *h1 = h0 + KNN_SAMPLE_HIST, *h2 = h1 + KNN_SAMPLE_HIST, *h3 = h2 + KNN_SAMPLE_HIST;
    memset(h0, 0, sizeof(int) * 4 * KNN_SAMPLE_HIST);
    int t2 = 0;
    for (; t2 + 4 <= ns; t2 += 4) {
        h0[(sk[t2] - lo) >> sh]++;
        h1[(sk[t2 + 1] - lo) >> sh]++;
        h2[(sk[t2 + 2] - lo) >> sh]++;
        h3[(sk[t2 + 3] - lo) >> sh]++;
    }
    for (; t2 < ns; t2++) h0[(sk[t2] - lo) >> sh]++;
    int b = 0, cum = h0[0] + h1[0] + h2[0] + h3[0];
    while (cum <= tt) { /* > tt sampled keys lie in buckets 0..b */
        b++;
        cum += h0[b] + h1[b] + h2[b] + h3[b];
    }
    uint64_t top = (uint64_t)lo + (((uint64_t)b + 1) << sh) - 1;
    return top > hi ? hi : (uint32_t)top;
}

/* Stable sort of k (n) with payload ix by key: insertion sort for short lists,
 * else LSD radix sort of (key - min) in digits of at most KNN_RADIX_BITS. */
static void radix_sort(uint32_t *k, int *ix, int n, knn_scratch *s)
{
    if (n <= KNN_RADIX_SMALL) {
        for (int t = 1; t < n; t++) {
            uint32_t kv = k[t];
            int iv = ix[t], p = t;
            while (p > 0 && k[p - 1] > kv) {
                k[p] = k[p - 1];
                ix[p] = ix[p - 1];
                p--;
            }
            k[p] = kv;
            ix[p] = iv;
        }
        return;
    }
    uint32_t lo = UINT32_MAX, hi = 0;
    for (int t = 0; t < n; t++) {
        lo = k[t] < lo ? k[t] : lo;
        hi = k[t] > hi ? k[t] : hi;
    }
    uint32_t span = hi - lo;
    if (span == 0) return; /* all equal: index order already */
    int bits = 32 - __builtin_clz(span);
    int passes = (bits + KNN_RADIX_BITS - 1) / KNN_RADIX_BITS;
    int w = (bits + passes - 1) / passes; /* digit width <= KNN_RADIX_BITS */
    uint32_t mask = (1u << w) - 1;
    int nbk = 1 << w;
    int *h = s->hist; /* (passes << w) */
    memset(h, 0, sizeof(int) * (size_t)(passes * nbk));
    for (int t = 0; t < n; t++) {
        uint32_t v = k[t] - lo;
        for (int p = 0; p < passes; p++) h[p * nbk + (int)((v >> (p * w)) & mask)]++;
    }
    uint32_t *sk = k, *dk = s->tk;
    int *si = ix, *di = s->ti;
    for (int p = 0; p < passes; p++) {
        int *hp = h + p * nbk, sum = 0;
        for (int b = 0; b < nbk; b++) {
            int c = hp[b];
            hp[b] = sum;
            sum += c;
        }
        int sh = p * w;
        for (int t = 0; t < n; t++) {
            int q = hp[((sk[t] - lo) >> sh) & mask]++;
            dk[q] = sk[t];
            di[q] = si[t];
        }
        uint32_t *tk = sk;
        sk = dk;
        dk = tk;
        int *ti = si;
        si = di;
        di = ti;
    }
    if (sk != k) {
        memcpy(k, sk, sizeof(uint32_t) * (size_t)n);
        memcpy(ix, si, sizeof(int) * (size_t)n);
    }
}

/* Position of (kv, iv) among a[lo, hi) (sorted, all of a[0, lo) before it, all
 * of a[hi, na) after it): lo + number of a[lo, hi) before it. Runs of equal
 * keys (ties) are binary-searched. */
static int locate_one(const uint32_t *ak, const int *ai, int lo, int hi, uint32_t kv, int iv)
{
    while (hi - lo > 8) {
        int mid = lo + (hi - lo) / 2;
        if (key_less(ak[mid], ai[mid], kv, iv))
            lo = mid + 1;
        else
            hi = mid;
    }
    while (lo < hi && key_less(ak[lo], ai[lo], kv, iv)) lo++;
    return lo;
}

/* a (na) sorted by (key, index); b (nb) any order. gap[g] (na + 1) = number of
 * b items with exactly g items of a before them in the (key, index) order.
 * A bucket table over a's key range (about one a item per bucket) narrows each
 * b item down to the a items of its bucket. */
static void locate(const uint32_t *ak, const int *ai, int na, const uint32_t *bk, const int *bi, int nb, int *gap,
                   knn_scratch *s)
{
    memset(gap, 0, sizeof(int) * (size_t)(na + 1));
    if (na == 0) {
        gap[0] = nb;
        return;
    }
    /* tab[c] = items of a in buckets < c, c = 0..nbk */
    uint32_t base = ak[0], span = ak[na - 1] - base;
    int cap = 16;
    while (cap < na && cap < KNN_TAB_MAX) cap <<= 1;
    int sh = 0;
    while ((span >> sh) >= (uint32_t)cap) sh++;
    int nbk = (int)(span >> sh) + 1, *tab = s->tab;
    int t = 0;
    for (int c = 0; c < nbk; c++) {
        tab[c] = t;
        while (t < na && (int)((ak[t] - base) >> sh) == c) t++;
    }
    tab[nbk] = na;
    int g0 = 0;
    t = 0;
#if defined(__AVX512F__)
    /* items before a[0] (the common case when one list precedes the other) */
    {
        const __m512i vb = _mm512_set1_epi32((int)base);
        for (; t + 16 <= nb; t += 16) {
            __mmask16 m = _mm512_cmpge_epu32_mask(_mm512_loadu_si512((const void *)(bk + t)), vb);
            g0 += 16 - __builtin_popcount((unsigned)m);
            while (m) {
                int u = t + __builtin_ctz((unsigned)m);
                m &= (__mmask16)(m - 1);
                uint32_t c = (bk[u] - base) >> sh;
                gap[c < (uint32_t)nbk ? locate_one(ak, ai, tab[c], tab[c + 1], bk[u], bi[u]) : na]++;
            }
        }
    }
#endif
    for (; t < nb; t++) {
        uint32_t kv = bk[t];
        if (kv < base) {
            g0++;
            continue;
        }
        uint32_t c = (kv - base) >> sh;
        gap[c < (uint32_t)nbk ? locate_one(ak, ai, tab[c], tab[c + 1], kv, bi[t]) : na]++;
    }
    gap[0] += g0;
}

/* One row of ghm_knn_retrieval with k > KNN_SMALL_K. prow: the panel row (dot
 * products); the distances go to a per-thread row (cached, and the panel is
 * not written back to memory). */
static void retrieval_large(const float *prow, float qi, const float *sqg, int ng, int self, int k, int row,
                            const ghm_knn_rstats *st, knn_scratch *s)
{
    const int *glab = st->glab;
    int lab = st->qlab[row];
    /* 1. distances (same arithmetic as the other paths) */
    float *drow = s->dist;
#pragma omp simd
    for (int j = 0; j < ng; j++) {
        float v = qi + sqg[j] - 2.0f * prow[j];
        drow[j] = v > 0.0f ? v : 0.0f;
    }
    /* 2. threshold from a sample of the (now cached) row */
    uint32_t tk = sample_tau(drow, ng, self, k, s);
    float tau = tk == UINT32_MAX ? INFINITY : float_of(tk);
    /* 3. candidates at or below it, split by label, in index order */
    int *mi = s->mi, *ni = s->ni;
    uint32_t *mk = s->mk, *nk = s->nk;
    int nm = 0, nn = 0, j0 = 0;
#if defined(__AVX512F__)
    {
        const __m512 vt = _mm512_set1_ps(tau);
        const __m512i vl = _mm512_set1_epi32(lab), step = _mm512_set1_epi32(16);
        __m512i jj = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        for (; j0 + 16 <= ng; j0 += 16) {
            __m512 v = _mm512_loadu_ps(drow + j0);
            __mmask16 m = _mm512_cmp_ps_mask(v, vt, _CMP_LE_OQ);
            if (self >= j0 && self < j0 + 16) m &= (__mmask16) ~(1u << (self - j0));
            if (!m) {
                jj = _mm512_add_epi32(jj, step);
                continue;
            }
            __mmask16 same = _mm512_cmpeq_epi32_mask(_mm512_loadu_si512((const void *)(glab + j0)), vl);
            __mmask16 mm = m & same, mn = m & (__mmask16)~same;
            __m512i vk = _mm512_castps_si512(v);
            /* compress into registers, store 16 (the arrays have 16 spare slots) */
            _mm512_storeu_si512((void *)(mi + nm), _mm512_maskz_compress_epi32(mm, jj));
            _mm512_storeu_si512((void *)(mk + nm), _mm512_maskz_compress_epi32(mm, vk));
            _mm512_storeu_si512((void *)(ni + nn), _mm512_maskz_compress_epi32(mn, jj));
            _mm512_storeu_si512((void *)(nk + nn), _mm512_maskz_compress_epi32(mn, vk));
            nm += __builtin_popcount((unsigned)mm);
            nn += __builtin_popcount((unsigned)mn);
            jj = _mm512_add_epi32(jj, step);
        }
    }
#endif
    for (int j = j0; j < ng; j++) {
        float v = drow[j];
        if (j == self || !(v <= tau)) continue;
        if (glab[j] == lab) {
            mi[nm] = j;
            mk[nm++] = key_of(v);
        } else {
            ni[nn] = j;
            nk[nn++] = key_of(v);
        }
    }
    if (nm + nn < k) { /* the sample under-estimated the threshold: take every column */
        nm = nn = 0;
        for (int j = 0; j < ng; j++) {
            if (j == self) continue;
            if (glab[j] == lab) {
                mi[nm] = j;
                mk[nm++] = key_of(drow[j]);
            } else {
                ni[nn] = j;
                nk[nn++] = key_of(drow[j]);
            }
        }
    }
    /* before[u] (u-th match in order) = non-matches before it, via gap counts */
    int *gap = s->gap;
    int r = st->do_r ? st->r[row] : 0;
    int first = -1, hits = 0;
    double ap = 0.0;
    if (nn <= nm) {
        /* non-matches after the last match change no match's rank: drop them
         * (keeping index order), then sort the rest; gap[g] = matches with g
         * non-matches before them */
        uint32_t mmax = 0;
        for (int u = 0; u < nm; u++) mmax = mk[u] > mmax ? mk[u] : mmax;
        int kept = 0;
        for (int u = 0; u < nn; u++) {
            ni[kept] = ni[u];
            nk[kept] = nk[u];
            kept += nk[u] <= mmax;
        }
        nn = kept;
        radix_sort(nk, ni, nn, s);
        locate(nk, ni, nn, mk, mi, nm, gap, s);
        int h = 0;
        for (int g = 0; g <= nn; g++) {
            int c = gap[g];
            if (c == 0) continue;
            if (first < 0) first = g;
            if (h + g >= r) break; /* next rank h + 1 + g > r */
            if (g == 0) { /* ranks 1..c, each term exactly 1 */
                h = c < r ? c : r;
                ap = (double)h;
                continue;
            }
            for (int u = 0; u < c && h + 1 + g <= r; u++) {
                h++;
                ap += (double)h / (double)(h + g);
            }
        }
        hits = h;
    } else {
        /* sort the matches; gap[p] = non-matches with p matches before them */
        radix_sort(mk, mi, nm, s);
        locate(mk, mi, nm, nk, ni, nn, gap, s);
        int before = 0;
        for (int u = 0; u < nm; u++) {
            before += gap[u];
            if (first < 0) first = before;
            int rank = u + 1 + before;
            if (rank > r) break;
            hits = u + 1;
            ap += (double)hits / (double)rank;
        }
    }
    st->first[row] = first >= 0 && first < k ? first : -1;
    if (r > 0) {
        st->hits[row] = hits;
        st->ap[row] = ap;
    } else {
        st->hits[row] = 0;
        st->ap[row] = 0.0;
    }
}

/* Rows with k <= KNN_SMALL_K: statistics from the sorted neighbour list. */
static void retrieval_small(void *ctx, int row, const int *nbr, int count, const float *drow)
{
    (void)drow;
    const ghm_knn_rstats *st = ctx;
    int lab = st->qlab[row];
    int first = -1;
    for (int t = 0; t < count; t++) /* count = the row's k neighbours */
        if (st->glab[nbr[t]] == lab) {
            first = t;
            break;
        }
    st->first[row] = first;
    int r = st->r[row];
    if (!st->do_r || r <= 0) {
        st->hits[row] = 0;
        st->ap[row] = 0.0;
        return;
    }
    int hits = 0;
    double ap = 0.0;
    for (int t = 0; t < r; t++)
        if (st->glab[nbr[t]] == lab) {
            hits++;
            ap += (double)hits / (double)(t + 1);
        }
    st->hits[row] = hits;
    st->ap[row] = ap;
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
        free(s[t].mi);
        free(s[t].ni);
        free(s[t].mk);
        free(s[t].nk);
        free(s[t].ti);
        free(s[t].tk);
        free(s[t].gap);
        free(s[t].tab);
        free(s[t].sk);
        free(s[t].dist);
        free(s[t].hist);
    }
    free(s);
}

/* The blocked driver. rs != NULL: retrieval statistics, rows with more than
 * KNN_SMALL_K neighbours go to retrieval_large (fn gets the small rows). */
static int drive(const float *q, int nq, const float *g, int ng, int d, int self, const int *need, int need_const,
                 int block, ghm_knn_row_fn fn, void *ctx, const ghm_knn_rstats *rs, ghm_error *err)
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
    for (int t = 0; ok && big && rs && t < nt; t++) {
        sc[t].mi = malloc(sizeof(int) * (ngs + 16)); /* + 16: vector stores past the end */
        sc[t].ni = malloc(sizeof(int) * (ngs + 16));
        sc[t].mk = malloc(sizeof(uint32_t) * (ngs + 16));
        sc[t].nk = malloc(sizeof(uint32_t) * (ngs + 16));
        sc[t].ti = malloc(sizeof(int) * ngs);
        sc[t].tk = malloc(sizeof(uint32_t) * ngs);
        sc[t].gap = malloc(sizeof(int) * (ngs + 1));
        sc[t].tab = malloc(sizeof(int) * (KNN_TAB_MAX + 2));
        sc[t].sk = malloc(sizeof(uint32_t) * ngs);
        sc[t].dist = malloc(sizeof(float) * ngs);
        sc[t].hist = malloc(sizeof(int) * (3u << KNN_RADIX_BITS));
        ok = sc[t].mi && sc[t].ni && sc[t].mk && sc[t].nk && sc[t].ti && sc[t].tk && sc[t].gap && sc[t].tab &&
             sc[t].sk && sc[t].dist && sc[t].hist;
    }
    for (int t = 0; ok && big && !rs && t < nt; t++) {
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
            ghm_sgemm(0, 1, m, ng, d, 1.0f, q + i0 * (size_t)d, d, g, d, 0.0f, panel, ng);
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
            } else if (rs) {
                retrieval_large(drow, qi, sqg, ng, ex, k, i, rs, s);
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

int ghm_knn_drive(const float *q, int nq, const float *g, int ng, int d, int self, const int *need, int need_const,
                  int block, ghm_knn_row_fn fn, void *ctx, ghm_error *err)
{
    return drive(q, nq, g, ng, d, self, need, need_const, block, fn, ctx, NULL, err);
}

int ghm_knn_retrieval(const float *q, int nq, const float *g, int ng, int d, int self, int block,
                      const ghm_knn_rstats *st, ghm_error *err)
{
    if (!st || !st->qlab || !st->glab || !st->r || !st->first || !st->hits || !st->ap)
        return GHM_FAIL(err, GHM_EINPUT, "knn: NULL retrieval argument");
    if (st->maxk < 0 || (nq > 0 && st->maxk > ng - self))
        return ghm_error_set(err, GHM_EINPUT, "knn: largest K = %d but only %d neighbours are available", st->maxk,
                             ng - self);
    int *need = malloc(sizeof(int) * (size_t)(nq > 0 ? nq : 1));
    if (!need) return GHM_FAIL(err, GHM_ENOMEM, "knn: out of memory (n = %d)", nq);
    for (int i = 0; i < nq; i++) {
        int k = st->maxk;
        if (st->do_r && st->r[i] > k) k = st->r[i];
        need[i] = k;
    }
    int rc = drive(q, nq, g, ng, d, self, need, 0, block, retrieval_small, (void *)st, st, err);
    free(need);
    return rc;
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
