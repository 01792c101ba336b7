/* An experiment file, parsed and validated (experiment/config.c), and its plan:
 * the list of fully resolved runs (experiment/plan.c).
 *
 * A ghm_run_spec holds EVERY value a run depends on, so a run can be executed
 * and recorded from it alone, and its run id is a hash of its canonical text
 * (ghm_run_spec_canonical): the same resolved values give the same id, any
 * change gives a new id.
 */
#ifndef GHM_EXPERIMENT_H
#define GHM_EXPERIMENT_H

#include "../core/error.h"
#include "nn/optim.h"
#include "../core/params.h"
#include "../datasets/dataset.h"
#include "../eval/eval.h"

#include <stddef.h>
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

    /* the fair protocol (files with a `search:` block; docs/experiment_format.md).
     * A plain run has role PLAIN, eval_test 1 and split.folds 0; these fields
     * then leave the canonical text (and so the run ids of plain files) unchanged. */
    int role;                       /* GHM_ROLE_* */
    int loss_entry;                 /* index of the run's loss entry in the file */
    int trial;                      /* TRIAL: trial index within its loss entry (0-based); FINAL: the chosen trial */
    int reproduction;               /* FINAL: 0..reproductions-1 */
    int rung;                       /* TRIAL of a search with halving: its rung (0 = the shortest); else 0 */
    int eval_test;                  /* 1: evaluate on the test set at the end; 0 (search trials): never look at it */
} ghm_run_spec;

enum { GHM_ROLE_PLAIN = 0, GHM_ROLE_TRIAL = 1, GHM_ROLE_FINAL = 2 };

/* ---- hyper-parameter search (search/search.h has the machinery) ---- */
#define GHM_SEARCH_MAX_DIMS 8
#define GHM_SEARCH_MAX_CHOICES 16
enum { GHM_SEARCH_RANDOM = 0, GHM_SEARCH_TPE = 1, GHM_SEARCH_TPE_V1 = 2 /* TPE before issue 24 (search.c) */ };
enum { GHM_DIM_RANGE = 0, GHM_DIM_CHOICES = 1 };

/* One searched key: a range {min, max[, log][, int]} or {choices: [...]}. */
typedef struct ghm_search_dim {
    char path[GHM_NAME_MAX];        /* as in the file: a loss parameter ("alpha") or a dotted key ("train.optimizer.lr") */
    int kind;                       /* GHM_DIM_RANGE | GHM_DIM_CHOICES */
    double lo, hi;                  /* RANGE */
    int log, is_int;                /* RANGE: sample log-uniformly / integers */
    int n_choices;                  /* CHOICES */
    char choices[GHM_SEARCH_MAX_CHOICES][GHM_NAME_MAX];
} ghm_search_dim;

/* A loss entry's search space (n = 0: not tuned, its defaults run once). */
typedef struct ghm_search_space {
    int n;
    ghm_search_dim dims[GHM_SEARCH_MAX_DIMS];
    int has_seed;                   /* the entry's own search_seed: given (e.g. an edge-rule rerun of one loss) */
    uint64_t seed;                  /* then it replaces search.seed for this entry's proposals and trials */
} ghm_search_space;

/* One confirmatory comparison of `primary:` (docs/experiment_format.md):
 * `loss` minus `against` on a test metric, separate or concatenated
 * evaluation. against "best_other": the other loss whose chosen setting has the
 * best validation objective (picked by the report, never on the test set). */
#define GHM_MAX_PRIMARY 16
typedef struct ghm_primary {
    char loss[32];
    char against[32];               /* a loss name, or "best_other" */
    char metric[GHM_METRIC_NAME_MAX]; /* a test metric: recall@K, map@r, r_precision, nmi, ami */
    int concat;                     /* 0: separate, 1: concatenated */
} ghm_primary;

typedef struct ghm_search_config {
    int method;                     /* GHM_SEARCH_RANDOM | GHM_SEARCH_TPE | GHM_SEARCH_TPE_V1 */
    int trials;                     /* per tuned loss entry (equal budget) */
    char objective[GHM_METRIC_NAME_MAX]; /* validation metric, mean over folds: map@r | recall@1 | r_precision | nmi */
    uint64_t seed;                  /* of the proposals; trials train with seed GHM_TRIAL_SEED_BASE + seed */
    int batch;                      /* tpe: trials proposed at a time from those finished before them */
    int halving;                    /* 1: successive halving (search.halving; search/search.h) */
    int eta;                        /* halving: 1/eta of a rung's trials go on, at eta times the length */
    double min_fraction;            /* halving: rung 0's fraction of the full training length */
    int folds;                      /* protocol.folds (1 = the single val split of val_fraction) */
    int reproductions;              /* final.reproductions */
    int n_rep_seeds;
    uint64_t rep_seeds[64];         /* seed of each reproduction (the file's seeds, or 0..R-1) */
    char compare_to[32];            /* reference loss for paired differences ("" = the first loss) */
    int n_primary;                  /* primary: the confirmatory family (0: none declared) */
    ghm_primary primary[GHM_MAX_PRIMARY];
    int n_losses;
    ghm_search_space space[32];     /* per loss entry */
} ghm_search_config;

#define GHM_TRIAL_SEED_BASE 1000000ULL

/* The search seed of loss entry l: its own search_seed when given, else
 * search.seed. Its proposals and its trials' training seed come from it. */
static inline uint64_t ghm_search_seed_of(const ghm_search_config *s, int l)
{
    return l >= 0 && l < 32 && s->space[l].has_seed ? s->space[l].seed : s->seed;
}

/* Every field of ghm_run_spec, once, and how it enters the canonical text
 * (ghm_run_spec_canonical), so a field cannot be forgotten: a field that is a
 * run setting (a scalar key of the file) is ONE line of the settings table
 * (experiment/settings.h), every other field ONE line here, and
 * tests/test_plan_identity.cc fails until the two tables together cover the
 * whole struct (ghm_run_spec_fields is both: the settings first).
 *
 *   X(key, member, kind)
 *
 * kinds: STR (char array), INT, U64, DBL ("%.17g", -0 written as 0),
 * CHOICE (enum written by name; settings only), CLASSES / KS (int list of the
 * count kept in the PART entry named by the same key), PART (the count of a
 * list: hashed through the list's line), METRIC (the metric switches, written
 * as the one "eval.metrics=" line: the names of the switched-on metrics in the
 * order of their registry entries' id_pos, so recall,nmi,map_r,r_precision as
 * ever, and a metric added later only when on),
 * BB_PARAMS / LOSS_PARAMS (resolved parameters, one line each),
 * PROTOCOL (an int of the fair protocol, written only when it differs from a
 * plain run's value: folds 0, fold 0, role plain, loss_entry 0, trial -1,
 * reproduction 0, eval_test 1; search runs always write role, loss_entry and
 * trial, final runs their reproduction, k-fold runs folds and fold),
 * ON (a setting written only when not 0: an int, or a double when 8 bytes;
 * settings only), SKIP (deliberately not hashed; the reason is beside it). */
#define GHM_RUN_SPEC_FIELDS(X) \
    X("-", run_id, SKIP)                    /* the hash itself */ \
    X("-", index, SKIP)                     /* position in the plan, not a setting */ \
    X("experiment", experiment, STR) \
    X("seed", seed, U64) \
    X("-", data.name, SKIP)                 /* points at dataset_name */ \
    X("-", data.path, SKIP)                 /* points at dataset_path */ \
    X("-", data.data_root, SKIP)            /* tests' search root, not a setting */ \
    X("-", data.seed, SKIP)                 /* always equal to seed */ \
    X("dataset.train_classes", split.n_train_classes, PART) \
    X("dataset.train_classes", split.train_classes, CLASSES) \
    X("-", split.seed, SKIP)                /* always equal to seed */ \
    X("backbone", backbone_params, BB_PARAMS) \
    X("eval.recall_at", eval.n_k, PART) \
    X("eval.recall_at", eval.ks, KS) \
    X("eval.metrics", eval.metrics, METRIC) /* the switches: ghm_metric_id_text (eval/metric_registry.c) */ \
    X("-", eval.seed, SKIP)                 /* always equal to seed */ \
    X("-", eval.block, SKIP)                /* kNN block size: same numbers, only speed */ \
    X("-", eval.exclude_group, SKIP)        /* set per evaluation from the data's groups */ \
    X("-", eval.exclude_group_gallery, SKIP) /* idem */ \
    X("loss.name", loss, STR) \
    X("loss", loss_params, LOSS_PARAMS) \
    X("-", n_swept, SKIP)                   /* how the run was made; its values are hashed above */ \
    X("-", swept_name, SKIP)                /* idem */ \
    X("-", swept_value, SKIP)               /* idem */ \
    X("-", swept_text, SKIP)                /* idem */ \
    X("protocol.folds", split.folds, PROTOCOL)    /* the fair protocol: written only when not at the */ \
    X("protocol.fold", split.fold, PROTOCOL)      /* plain default, so plain runs keep their ids */ \
    X("search.role", role, PROTOCOL) \
    X("search.loss_entry", loss_entry, PROTOCOL) \
    X("search.trial", trial, PROTOCOL) \
    X("search.reproduction", reproduction, PROTOCOL) \
    X("-", rung, SKIP)                      /* a rung's length is its steps_per_epoch, hashed above */ \
    X("eval.test", eval_test, PROTOCOL)

typedef enum ghm_canon_kind {
    GHM_CANON_SKIP, GHM_CANON_STR, GHM_CANON_INT, GHM_CANON_U64, GHM_CANON_DBL,
    GHM_CANON_CHOICE, GHM_CANON_PART, GHM_CANON_CLASSES, GHM_CANON_KS,
    GHM_CANON_METRIC, GHM_CANON_BB_PARAMS, GHM_CANON_LOSS_PARAMS, GHM_CANON_PROTOCOL, GHM_CANON_ON
} ghm_canon_kind;

/* The settings table and the table above as data: key, byte offset and size
 * of the member, kind, and the names of a CHOICE. */
typedef struct ghm_run_spec_field {
    const char *key;
    const char *member;
    size_t offset, size;
    ghm_canon_kind kind;
    const char *const *choices;
} ghm_run_spec_field;
extern const ghm_run_spec_field ghm_run_spec_fields[];
extern const int ghm_run_spec_n_fields;

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
    ghm_run_spec *runs;             /* (n_runs), malloc'd, plan order: loss entry, sweep combination, seed;
                                       search files: the runs known so far (ghm_search_expand) */
    ghm_search_config *search;      /* NULL: no `search:` block (a plain sweep) */
    void *cfg;                      /* the parsed file, kept to build search runs (internal) */
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
