/* Triplet margin loss (Schroff, Kalenichenko & Philbin 2015, "FaceNet: A Unified
 * Embedding for Face Recognition and Clustering", CVPR), with the batch-hard
 * miner of Hermans, Beyer & Leibe 2017 ("In Defense of the Triplet Loss for
 * Person Re-Identification"):
 *
 *   l(a, p, n) = [d_ap - d_an + margin]_+ ,   d = ghm_loss_pdist (Euclidean)
 *
 * Triplets (a, p, n): y_a = y_p, a != p, y_n != y_a, chosen by `mining`:
 *   all        every valid triplet of the batch;
 *   semihard   (default, FaceNet) for every ordered anchor-positive pair, the
 *              closest negative with d_an > d_ap; when none exists, the farthest
 *              negative (the rule of TensorFlow's triplet_semihard_loss);
 *   batch_hard per anchor, the farthest positive and the closest negative.
 * `reduce`: mean over the mined triplets (default) or over those with l > 0.
 * L = sum l / count; a batch with no triplet (or no active one for `nonzero`) gives 0.
 * Mining is a selection (no gradient through it): dL/dd_ap = 1/count,
 * dL/dd_an = -1/count for every active triplet.
 */
#include "loss.h"
#include "pair_util.h"

#include <stdlib.h>
#include <string.h>

enum { MINE_ALL = 0, MINE_SEMIHARD = 1, MINE_BATCH_HARD = 2 };
enum { REDUCE_MEAN = 0, REDUCE_NONZERO = 1 };
static const char *const mining_choices[] = {"all", "semihard", "batch_hard", NULL};
static const char *const reduce_choices[] = {"mean", "nonzero", NULL};

static const ghm_param_spec params[] = {
    {"margin", 0.2, 0.0, 100.0, "required gap d_an - d_ap", NULL, 0, 0, 0},
    {"mining", MINE_SEMIHARD, 0, 0, "triplets used: all, semihard (FaceNet), batch_hard (Hermans et al.)",
     mining_choices, 0, 0, 0},
    {"reduce", REDUCE_MEAN, 0, 0, "average over all mined triplets or over those with a positive loss",
     reduce_choices, 0, 0, 0},
    {NULL, 0, 0, 0, NULL, NULL, 0, 0, 0}};

typedef struct {
    double margin;
    int mining, reduce;
} triplet_impl;

static int create(ghm_loss *l, ghm_rng *rng, ghm_error *err)
{
    (void)rng;
    triplet_impl *c = malloc(sizeof *c);
    if (!c) return ghm_error_set(err, GHM_ENOMEM, "loss 'triplet': out of memory");
    c->margin = ghm_loss_param(l, "margin");
    c->mining = (int)ghm_loss_param(l, "mining");
    c->reduce = (int)ghm_loss_param(l, "reduce");
    l->impl = c;
    return 0;
}

static void destroy(ghm_loss *l) { free(l->impl); }

typedef struct {
    double sum;        /* sum of triplet losses */
    long count, active; /* mined triplets, those with loss > 0 */
} tally;

/* Adds triplet (a, p, q) to the tally; active ones add +1 / -1 to G (unnormalised dL/dD). */
static void add_triplet(const double *D, double *G, int n, int a, int p, int q, double margin, tally *t)
{
    double v = D[(size_t)a * n + p] - D[(size_t)a * n + q] + margin;
    t->count++;
    if (v > 0) {
        t->sum += v;
        t->active++;
        G[(size_t)a * n + p] += 1.0;
        G[(size_t)a * n + q] -= 1.0;
    }
}

static int forward_backward(ghm_loss *l, const float *emb, const int *labels, int n, int d, double *value,
                            float *grad, ghm_error *err)
{
    const triplet_impl *c = l->impl;
    if (grad) memset(grad, 0, (size_t)n * d * sizeof *grad);
    *value = 0.0;
    double *D = ghm_lm_dalloc((size_t)n * n), *G = ghm_lm_dalloc((size_t)n * n); /* (n, n) each */
    if (!D || !G) {
        free(D);
        free(G);
        return ghm_error_set(err, GHM_ENOMEM, "loss 'triplet': out of memory (%d x %d)", n, n);
    }
    int rc = ghm_loss_pdist(emb, n, d, D, err);
    if (rc) goto done;
    tally t = {0.0, 0, 0};
    for (int a = 0; a < n; a++) {
        const double *Da = D + (size_t)a * n;
        if (c->mining == MINE_BATCH_HARD) {
            int p = -1, q = -1;
            for (int j = 0; j < n; j++) {
                if (j == a) continue;
                if (labels[j] == labels[a]) {
                    if (p < 0 || Da[j] > Da[p]) p = j;
                } else if (q < 0 || Da[j] < Da[q]) {
                    q = j;
                }
            }
            if (p >= 0 && q >= 0) add_triplet(D, G, n, a, p, q, c->margin, &t);
            continue;
        }
        for (int p = 0; p < n; p++) {
            if (p == a || labels[p] != labels[a]) continue;
            if (c->mining == MINE_ALL) {
                for (int q = 0; q < n; q++)
                    if (labels[q] != labels[a]) add_triplet(D, G, n, a, p, q, c->margin, &t);
                continue;
            }
            int semi = -1, far = -1; /* closest negative beyond d_ap; farthest negative */
            for (int q = 0; q < n; q++) {
                if (labels[q] == labels[a]) continue;
                if (Da[q] > Da[p] && (semi < 0 || Da[q] < Da[semi])) semi = q;
                if (far < 0 || Da[q] > Da[far]) far = q;
            }
            if (far >= 0) add_triplet(D, G, n, a, p, semi >= 0 ? semi : far, c->margin, &t);
        }
    }
    long div = c->reduce == REDUCE_MEAN ? t.count : t.active;
    if (div > 0 && t.active > 0) {
        *value = t.sum / (double)div;
        if (grad) {
            for (size_t k = 0; k < (size_t)n * n; k++) G[k] /= (double)div;
            ghm_loss_pdist_backward(emb, n, d, D, G, grad);
        }
    }
done:
    free(D);
    free(G);
    return rc;
}

const ghm_loss_ops ghm_loss_triplet = {
    "triplet", "Triplet margin loss with all / semihard / batch-hard mining (Schroff et al. 2015, FaceNet)",
    params, create, forward_backward, NULL, destroy, 0, NULL};
