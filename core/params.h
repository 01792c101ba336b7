/* Named numeric parameters with a spec: the one mechanism behind loss and
 * backbone parameters, YAML validation, `ghm list`, defaults and docs.
 *
 * Enum-valued parameters (e.g. `prob: js | hellinger`) store the index of the
 * chosen value in `choices` as a double (0, 1, ...).
 */
#ifndef GHM_PARAMS_H
#define GHM_PARAMS_H

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ghm_param_spec {
    const char *name;            /* "alpha" */
    double def;                  /* default value (enum: index of default choice) */
    double lo, hi;               /* inclusive range for numbers (ignored for enums) */
    const char *doc;             /* one line: "trade-off: 1 = geometric only, 0 = probabilistic only" */
    const char *const *choices;  /* NULL for numbers; else NULL-terminated list of names */
    int is_int;                  /* 1: value must be an integer */
    int lo_open;                 /* 1: lower bound is exclusive (e.g. tau > 0) */
    int added_later;             /* 1: added after runs were recorded without it: at its default it stays out of
                                  * the run id (experiment/plan.c), so those runs keep their ids and records */
} ghm_param_spec;
/* A spec array ends with an entry whose name is NULL. */

#define GHM_MAX_PARAMS 24
#define GHM_PARAM_NAME_MAX 40

typedef struct ghm_params {
    int n;                                     /* number of set values */
    char name[GHM_MAX_PARAMS][GHM_PARAM_NAME_MAX];
    double value[GHM_MAX_PARAMS];
} ghm_params;

void ghm_params_clear(ghm_params *p);
/* Set (add or replace). Returns 0 or GHM_EINPUT when full/name too long. */
int ghm_params_set(ghm_params *p, const char *name, double value);
/* 1 and *value when set, else 0. */
int ghm_params_find(const ghm_params *p, const char *name, double *value);
/* The value, or def when unset. */
double ghm_params_get(const ghm_params *p, const char *name, double def);

/* The spec entry for name, or NULL. */
const ghm_param_spec *ghm_param_spec_find(const ghm_param_spec *spec, const char *name);
/* Number of entries in a spec array. */
int ghm_param_spec_count(const ghm_param_spec *spec);

/* Check that value is legal for s. On error fills err with "<owner>: parameter
 * '<name>' = <v> is out of range [lo, hi]" style messages. */
int ghm_param_check(const ghm_param_spec *s, double value, const char *owner, ghm_error *err);

/* Parse a textual value for s: a number, or for enums one of the choices
 * (also accepted: the numeric index). */
int ghm_param_parse(const ghm_param_spec *s, const char *text, double *value, const char *owner, ghm_error *err);

/* Format a value for display: enums by name, integers without decimals,
 * else shortest round-trip %g. Writes into buf (size n), returns buf. */
const char *ghm_param_format(const ghm_param_spec *s, double value, char *buf, int n);

/* Resolve user params against a spec: every user name must exist in the spec
 * (else "unknown parameter 'x' for <owner> (did you mean 'y'?)"), every value
 * must be in range; out gets every spec entry, defaults filled, in spec order. */
int ghm_params_resolve(const ghm_param_spec *spec, const ghm_params *in, ghm_params *out,
                       const char *owner, ghm_error *err);

/* Closest name among candidates by edit distance (NULL if none within 3 edits). */
const char *ghm_closest_name(const char *name, const char *const *candidates, int n);
/* Levenshtein distance (for "did you mean"). */
int ghm_edit_distance(const char *a, const char *b);

#ifdef __cplusplus
}
#endif
#endif
