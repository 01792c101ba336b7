/* Internal to eval/: the blocked kNN driver shared by ghm_knn_* and the
 * retrieval metrics. Not part of the public contract (eval/eval.h). */
#ifndef GHM_EVAL_INTERNAL_H
#define GHM_EVAL_INTERNAL_H

#include "../core/error.h"

/* Called once per query row, possibly from several threads at once (only for
 * distinct rows): nbr (count) are the neighbour indices in order (ascending
 * distance, ties by lower index), drow (ng) the row's distances (indexed by
 * gallery index, clamped to >= 0). */
typedef void (*ghm_knn_row_fn)(void *ctx, int row, const int *nbr, int count, const float *drow);

/* Exact kNN of q (nq, d) against g (ng, d) in row blocks of sgemm.
 * self = 1: q and g are the same set and row i excludes column i (by index).
 * need: per-row neighbour counts (nq), or NULL to use need_const for every row;
 * each must be in [0, ng - self]. block = rows per sgemm block (0 = auto). */
int ghm_knn_drive(const float *q, int nq, const float *g, int ng, int d, int self, const int *need, int need_const,
                  int block, ghm_knn_row_fn fn, void *ctx, ghm_error *err);

/* Returns GHM_EINPUT when x (n, d) holds a NaN or Inf, naming the row/column. */
int ghm_eval_check_finite(const float *x, int n, int d, const char *what, ghm_error *err);

/* Map labels (n) to dense ids 0..c-1 in ascending label order: out (n), and
 * *counts (c, malloc'd) the size of each. Returns c, or -1 when out of memory. */
int ghm_eval_densify(const int *lab, int n, int *out, int **counts);

#endif
