/* An experiment file, parsed and validated (harness/config.c), and its plan:
 * the list of fully resolved runs (harness/plan.c).
 *
 * A ghm_run_spec holds EVERY value a run depends on, so a run can be executed
 * and recorded from it alone, and its run id is a hash of its canonical text
 * (ghm_run_spec_canonical): the same resolved values give the same id, any
 * change gives a new id.
 */
#ifndef GHM_EXPERIMENT_H
#define GHM_EXPERIMENT_H

#include "../core/error.h"
#include "../core/optim.h"
#include "../core/params.h"
#include "../datasets/dataset.h"
#include "../eval/eval.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GHM_MAX_SWEPT 8
#define GHM_NAME_MAX 64
#define GHM_PATH_MAX 1024

typedef struct ghm_run_spec {
    /* identity */
    char experiment[GHM_NAME_MAX];  /* experiment name */
    char run_id[24];                /* 16 hex digits of a 64-bit FNV-1a hash of the canonical text */
    int index;                      /* position in the plan (0-based) */
    uint64_t seed;                  /* the run's seed */

    /* dataset */
    ghm_dataset_opts data;          /* name/path point into the strings below */
    char dataset_name[32];
    char dataset_path[GHM_PATH_MAX]; /* "" = search order */
    ghm_split_opts split;

    /* backbone */
    char backbone[32];
    ghm_params backbone_params;     /* resolved against the backbone's spec */
    int embedding_dim;
    int normalize;

    /* training */
    int epochs;
    int steps_per_epoch;            /* 0 = one pass over the training set (sampler's batches per epoch) */
    int batch_size;
    int m_per_class;
    ghm_optim_config optim;
    ghm_schedule_config schedule;

    /* evaluation */
    int eval_every;                 /* epochs between validation evaluations (0 = only at the end) */
    ghm_eval_opts eval;
    int save_embeddings;            /* 1: write test embeddings .npy beside the record (for plots) */

    /* loss */
    char loss[32];
    ghm_params loss_params;         /* resolved against the loss's spec */

    /* what was swept to make this run (for tables/plots): names as in the file
     * ("alpha", "train.optimizer.lr") and values */
    int n_swept;
    char swept_name[GHM_MAX_SWEPT][GHM_NAME_MAX];
    double swept_value[GHM_MAX_SWEPT];
    char swept_text[GHM_MAX_SWEPT][GHM_NAME_MAX]; /* value as text (enums by name) */
} ghm_run_spec;

typedef struct ghm_experiment {
    char name[GHM_NAME_MAX];
    char file[GHM_PATH_MAX];        /* the YAML file it came from */
    int n_seeds;
    uint64_t seeds[64];
    unsigned report_formats;        /* report.formats: plot formats (GHM_PLOT_* of plot.h), 0 = default */
    int n_losses;                   /* loss entries in the file, in order */
    char loss_names[32][32];
    /* union of swept parameter names over the whole file, in first-seen order (summary columns) */
    int n_swept;
    char swept_names[GHM_MAX_SWEPT * 4][GHM_NAME_MAX];
    int n_runs;
    ghm_run_spec *runs;             /* (n_runs), malloc'd, plan order: loss entry, sweep combination, seed */
} ghm_experiment;

/* Parse, validate and expand a file. Errors: GHM_EINPUT with "file:line:column: message". */
int ghm_experiment_load(const char *path, ghm_experiment *out, ghm_error *err);
/* Same from a string (path used only in messages). */
int ghm_experiment_load_string(const char *yaml, const char *path, ghm_experiment *out, ghm_error *err);
void ghm_experiment_free(ghm_experiment *e);

/* Canonical text of every resolved value (sorted "key=value" lines) and the id. */
int ghm_run_spec_canonical(const ghm_run_spec *r, char *buf, int n);
void ghm_run_spec_compute_id(ghm_run_spec *r);

#ifdef __cplusplus
}
#endif
#endif
