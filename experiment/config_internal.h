/* Internal interface between the experiment-file parser (experiment/config.c)
 * and the planner (experiment/plan.c). Not part of the public API.
 *
 * config.c walks the YAML document once, checks the structure (known keys,
 * duplicate keys, required keys, shapes: scalar / list / mapping), parses the
 * list-valued keys into a template run spec, and records every scalar leaf as
 * a "setting" (dotted path, text, marks). plan.c builds each run from the
 * template by applying the settings and then the run's sweep values with
 * ghm_cfg_apply (which checks types and ranges), resolves backbone and loss
 * parameters against their specs, checks cross-field rules, and hashes.
 */
#ifndef GHM_CONFIG_INTERNAL_H
#define GHM_CONFIG_INTERNAL_H

#include "experiment/experiment.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GHM_CFG_PATH_MAX 64      /* longest dotted path ("train.optimizer.weight_decay") */
#define GHM_CFG_MAX_SETTINGS 160 /* scalar leaves in one file */
#define GHM_CFG_MAX_LOSSES 32    /* loss entries (= size of ghm_experiment.loss_names) */
#define GHM_CFG_MAX_RUNS 20000   /* plan size limit */

typedef struct ghm_cfg_mark {
    int line, col; /* 1-based */
} ghm_cfg_mark;

/* One scalar leaf: "train.optimizer.lr" = "0.001" (text NULL for a YAML null). */
typedef struct ghm_cfg_setting {
    char path[GHM_CFG_PATH_MAX]; /* dotted path; for loss params just the param name */
    char *text;                  /* malloc'd scalar text, NULL for null / empty */
    ghm_cfg_mark key, val;       /* where the key and the value are */
} ghm_cfg_setting;

/* One `sweep:` entry: path and its non-empty list of values. */
typedef struct ghm_cfg_sweep {
    char path[GHM_CFG_PATH_MAX]; /* as written: "alpha" or "train.optimizer.lr" */
    ghm_cfg_mark key;
    int n;                       /* number of values (>= 1) */
    char **text;                 /* (n) malloc'd */
    ghm_cfg_mark *marks;         /* (n) */
} ghm_cfg_sweep;

/* Where a search dimension was written (for errors found while planning). */
typedef struct ghm_cfg_dim_marks {
    ghm_cfg_mark key, lo, hi;
    ghm_cfg_mark choice[GHM_SEARCH_MAX_CHOICES];
} ghm_cfg_dim_marks;

/* The fair-protocol blocks: search:, protocol:, final:, compare_to: and every
 * loss entry's search: map. */
typedef struct ghm_cfg_search {
    int present;                  /* a top-level search: block was given */
    ghm_cfg_mark mark;            /* the search: block */
    ghm_cfg_mark m_objective, m_folds, m_reps, m_compare, m_protocol, m_final;
    ghm_cfg_mark m_trials;        /* search.trials (line 0 when not given) */
    ghm_cfg_mark m_halving, m_min_fraction; /* search.halving and its min_fraction (the block when not given) */
    int has_protocol, has_final, has_compare, has_folds, has_reps;
    ghm_search_config conf;
    ghm_cfg_dim_marks dm[32][GHM_SEARCH_MAX_DIMS]; /* per loss entry, per dimension */
    int loss_has_space[32];
    ghm_cfg_mark loss_space_mark[32];
    ghm_cfg_mark loss_seed_mark[32]; /* a loss entry's search_seed (line 0 when not given) */
    int has_primary;              /* primary: given */
    ghm_cfg_mark m_primary;
    ghm_cfg_mark pm_loss[GHM_MAX_PRIMARY], pm_against[GHM_MAX_PRIMARY], pm_metric[GHM_MAX_PRIMARY];
} ghm_cfg_search;

typedef struct ghm_cfg_loss {
    char name[32];
    ghm_cfg_mark mark, name_mark; /* the entry ("- name: ...") and its name value */
    int n_params;
    ghm_cfg_setting params[GHM_MAX_PARAMS];
    int n_sweeps;
    ghm_cfg_sweep sweeps[GHM_MAX_SWEPT];
} ghm_cfg_loss;

typedef struct ghm_cfg {
    char file[GHM_PATH_MAX];      /* for messages */
    char name[GHM_NAME_MAX];
    ghm_cfg_mark root;            /* the top-level mapping */
    ghm_cfg_mark sec_dataset, sec_backbone, sec_train, sec_eval; /* section marks (root when absent) */
    int n_seeds;
    uint64_t seeds[64];
    unsigned report_formats;      /* report.formats (GHM_PLOT_* bits), 0 = not given */
    ghm_run_spec tmpl;            /* defaults + list-valued keys (train_classes, recall_at, metrics) */
    int has_train_classes;
    ghm_cfg_mark train_classes_key;
    int n_settings;
    ghm_cfg_setting settings[GHM_CFG_MAX_SETTINGS];
    int n_losses;
    ghm_cfg_loss losses[GHM_CFG_MAX_LOSSES];
    int n_sweeps;                 /* top-level sweep */
    ghm_cfg_sweep sweeps[GHM_MAX_SWEPT];
    int has_seeds;                /* seeds: was given */
    ghm_cfg_mark seeds_mark;
    int has_val_fraction;
    ghm_cfg_search *search;       /* malloc'd when the file has any search-related key; else NULL */
} ghm_cfg;

/* Build one run of a search file: loss entry `l` with the searched values x
 * (one per dimension of its space: numbers, or the index of a choice), role,
 * trial, reproduction, fold and seed. Errors point at the search dimensions. */
int ghm_cfg_build_search_run(const ghm_cfg *c, int l, const double *x, int role, int trial, int reproduction,
                             int fold, uint64_t seed, ghm_run_spec *r, ghm_error *err);
/* Text of searched value x of dimension d ("0.25", "semihard", "16"). */
const char *ghm_search_value_text(const ghm_search_dim *d, double x, char *buf, size_t n);

/* ghm_experiment_load_string without the search expansion: parse, validate
 * and plan; a search file gets out->search and out->cfg but no runs yet
 * (experiment/experiment_load.c then calls ghm_search_expand). */
int ghm_plan_build(const char *yaml, const char *path, ghm_experiment *out, ghm_error *err);

/* Check primary: against the losses and test metrics of the whole file
 * (file:line:column errors); 0 when there is none. */
int ghm_cfg_primary_check(const ghm_cfg *c, ghm_error *err);

/* Parse and check the structure of a YAML text. On error fills err (GHM_EINPUT
 * "file:line:col: ...") and leaves *c freed. c is caller-allocated (large). */
int ghm_cfg_parse(const char *yaml, size_t len, const char *file, ghm_cfg *c, ghm_error *err);
void ghm_cfg_free(ghm_cfg *c);

/* Set err to GHM_EINPUT "file:line:col: <message>". Returns GHM_EINPUT. */
int ghm_cfg_error(ghm_error *err, const ghm_cfg *c, ghm_cfg_mark m, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Backbone parameters collected while applying settings (resolved later,
 * once the backbone name is final). */
typedef struct ghm_cfg_pending {
    int n;
    char name[GHM_MAX_PARAMS][GHM_PARAM_NAME_MAX];
    const char *text[GHM_MAX_PARAMS];
    ghm_cfg_mark key[GHM_MAX_PARAMS], val[GHM_MAX_PARAMS];
} ghm_cfg_pending;

/* Apply one scalar `path: text` to r (path as in the file: "train.epochs",
 * "backbone.hidden1" goes to *bb). Checks type and range; errors at `val`
 * (value problems) naming the path. *value gets the numeric value (enum/name:
 * index; bool 0/1; string: 0; backbone param: NAN, resolved later). */
int ghm_cfg_apply(const ghm_cfg *c, ghm_run_spec *r, ghm_cfg_pending *bb, const char *path, const char *text,
                  ghm_cfg_mark key, ghm_cfg_mark val, double *value, ghm_error *err);

/* 1 when path names a sweepable scalar field of the fixed schema (not the
 * backbone's own parameters). */
int ghm_cfg_is_field(const char *path);

/* Names used in canonical text / messages. */
extern const char *const ghm_cfg_split_names[];  /* "standard", "classes" */

#ifdef __cplusplus
}
#endif
#endif
