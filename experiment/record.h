/* The record of one run: results/<experiment>/runs/<run-id>/record.json.
 *
 * Written atomically (temp file in the same directory + fsync + rename), so a
 * run is finished iff its record.json exists, is valid and carries the same
 * run_id. "status" is "ok" (finished) or "failed" (the run stopped on an error:
 * "failure": {"reason", "epoch", "batch"}; no metrics); records without a
 * status are "ok". The JSON holds every resolved parameter of the run (params: every
 * setting at its YAML path, experiment/settings.h; records of before used other keys
 * for some, which the reader renames: see record.c, "records of before"), what was
 * swept to make it (swept), its seed, final test and validation metrics (named
 * as in summary.csv: recall@1 ... map@r, r_precision, nmi, ami), the per-epoch
 * history and timing, plus version/threads/host information and provenance
 * (host.commit, dirty, compiler, conv_backend, cpu_isa, build_isa:
 * experiment/provenance.h; absent from records written before them).
 *
 * "train_loss_steps": the training loss of every step, in order, as ONE string
 * of space-separated numbers with 5 significant digits ("0.69315 0.68712 ...":
 * about 8 bytes a step, where a pretty-printed JSON array would take a line
 * each). Absent in records written before it existed: plots then fall back to
 * the per-epoch means of "history".
 */
#ifndef GHM_RECORD_H
#define GHM_RECORD_H

#include "../core/error.h"
#include "experiment/experiment.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GHM_REC_MAX_METRICS 48
#define GHM_REC_METRIC_NAME GHM_METRIC_NAME_MAX
#define GHM_VERSION_STRING "0.1.0"

/* Named metric values in canonical order (ghm_metrics_list). */
typedef struct ghm_metric_set {
    int n;
    char name[GHM_REC_MAX_METRICS][GHM_REC_METRIC_NAME];
    double value[GHM_REC_MAX_METRICS];
} ghm_metric_set;

/* Fill from evaluation results (ghm_metrics_list). */
void ghm_metric_set_from(ghm_metric_set *s, const ghm_metrics *m);
/* Value by name: 1 and *v when present, else 0. */
int ghm_metric_set_find(const ghm_metric_set *s, const char *name, double *v);
/* Add or replace. Returns 0, or GHM_EINPUT when full / name too long. */
int ghm_metric_set_put(ghm_metric_set *s, const char *name, double v);

/* One history row: after epoch `epoch` (1-based). */
typedef struct ghm_history_entry {
    int epoch;
    double train_loss;   /* mean training loss over the epoch's batches */
    double lr;           /* learning rate at the last batch of the epoch */
    double seconds;      /* elapsed wall time since the run started */
    int has_val;         /* 1: validation metrics were computed at this epoch */
    ghm_metric_set val;
} ghm_history_entry;

typedef struct ghm_record {
    char run_id[24];
    char experiment[GHM_NAME_MAX];
    char loss[32];
    char dataset[32];                /* params.dataset.name ("" when unknown) */
    int index;                       /* plan index */
    uint64_t seed;
    int n_swept;
    char swept_name[GHM_MAX_SWEPT][GHM_NAME_MAX];
    double swept_value[GHM_MAX_SWEPT];
    char swept_text[GHM_MAX_SWEPT][GHM_NAME_MAX];
    ghm_metric_set test;             /* final test metrics */
    int has_val;                     /* 1: a validation part existed */
    ghm_metric_set val;              /* final validation metrics */
    int n_history, cap_history;
    ghm_history_entry *history;      /* (n_history), malloc'd */
    double seconds;                  /* wall time of the whole run */
    int epochs;                      /* epochs trained */
    int threads;                     /* thread count used */
    int has_embeddings;              /* 1: embeddings_test.npy / embeddings_test_labels.npy beside the record */
    int failed;                      /* 1: "status": "failed" */
    char failure[256];               /* failed: why (the error message) */
    int fail_epoch, fail_batch;      /* failed: 1-based epoch and batch, 0 = before training / outside a batch */
    double chance;                   /* Recall@1 of random embeddings on the evaluated part (NaN: unknown) */
    int at_chance;                   /* 1: the run's Recall@1 (validation, else test) never rose above chance */
    char dataset_manifest[72];       /* "sha256:<hex>" of the dataset's manifest (glyphs), "" when it has none */
    char commit[48];                 /* host.commit: the build's git commit ("" in records older than it) */
    int dirty;                       /* host.dirty: 1 / 0, -1 when absent or unknown (read only) */
    int n_steps, cap_steps;
    float *step_loss;                /* (n_steps) training loss of every step, malloc'd (may be NULL) */
    char *identity;                  /* what the record says the run is, as "\nkey=value" lines (experiment,
                                        seed, every params.* and search.* leaf), malloc'd by ghm_record_read;
                                        NULL when built in memory. ghm_record_check_spec compares it with the plan */
} ghm_record;

static inline int ghm_record_failed(const ghm_record *r) { return r->failed; }

/* Zero a record (no allocation). */
void ghm_record_init(ghm_record *r);
/* Identity and swept values from a run spec. */
void ghm_record_from_spec(ghm_record *r, const ghm_run_spec *spec);
/* Append a history row (copied). GHM_ENOMEM on failure. */
int ghm_record_add_history(ghm_record *r, const ghm_history_entry *h, ghm_error *err);
void ghm_record_free(ghm_record *r);
/* Append one step's training loss. GHM_ENOMEM on failure. */
int ghm_record_add_step(ghm_record *r, double loss, ghm_error *err);

/* Serialise: the record plus, when spec != NULL, every resolved parameter of
 * the run under "params". *json is malloc'd, NUL-terminated. */
int ghm_record_to_json(const ghm_record *r, const ghm_run_spec *spec, char **json, ghm_error *err);
/* Write <run_dir>/record.json atomically (creating run_dir). */
int ghm_record_write(const ghm_record *r, const ghm_run_spec *spec, const char *run_dir, ghm_error *err);
/* Read a record.json and check its schema (GHM_EINPUT naming the file and the
 * field when malformed): run_id, loss and status; an "ok" record has test
 * metrics, every metric value a number in its range ([0, 1]; ami [-1, 1]). */
int ghm_record_read(const char *path, ghm_record *r, ghm_error *err);
/* Check a record read from `path` against the run the plan expects: same run
 * id, loss, seed and swept values; every value the run id covers (the
 * record's "experiment", "seed", "params" and "search", compared with what the
 * plan's run would write there: a field missing or different is named, so a
 * record edited by hand or copied from another run is never taken for this
 * run); and (when ok) every metric the run's evaluation settings produce.
 * GHM_EINPUT naming path and the mismatch. */
int ghm_record_check_spec(const ghm_record *r, const ghm_run_spec *spec, const char *path, ghm_error *err);

/* <out_dir>/runs/<run_id> and <out_dir>/runs/<run_id>/record.json into buf. */
int ghm_record_run_dir(const char *out_dir, const char *run_id, char *buf, int n);

enum { GHM_RUN_MISSING = 0, GHM_RUN_FINISHED = 1, GHM_RUN_FAILED = 2, GHM_RUN_INVALID = 3 };
/* State of a run's record: MISSING (no record, or one that is unreadable or
 * invalid), FINISHED ("ok") or FAILED. A finished record whose run kept its
 * test embeddings ("embeddings": true) is finished only when those files are
 * absent (they are not committed) or readable and consistent: a truncated or
 * corrupt embeddings_test.npy makes the run unfinished (it is redone). */
int ghm_record_state(const char *out_dir, const char *run_id);
/* As ghm_record_state, also checked against the plan's spec (ghm_record_check_spec).
 * Returns GHM_RUN_INVALID (err names the file and the problem) for a record
 * that exists but is unreadable or invalid; callers treat that as missing. */
int ghm_record_state_spec(const char *out_dir, const ghm_run_spec *spec, ghm_error *err);
/* 1 when <out_dir>/runs/<run_id>/record.json exists, is valid, has that run_id
 * and status "ok". */
int ghm_record_is_finished(const char *out_dir, const char *run_id);

/* Records under <out_dir>/runs/ that are valid and finished ("ok"); failed
 * records are left out, invalid ones are skipped and counted in *n_bad.
 * Sorted by plan index, then run id. *recs malloc'd; free with ghm_records_free. */
int ghm_records_load(const char *out_dir, ghm_record **recs, int *n, int *n_bad, ghm_error *err);

/* Which records ghm_records_load_ex returns. */
enum { GHM_RECORDS_OK = 1, GHM_RECORDS_FAILED = 2, GHM_RECORDS_ALL = 3 };
/* Called once per bad record with a message naming its file and the problem. */
typedef void (*ghm_record_warn_fn)(const char *msg, void *user);
/* ghm_records_load with choices: which (GHM_RECORDS_*); plan (may be NULL):
 * records of runs in the plan are also checked against their spec (records
 * not in the plan are returned unchecked); warn (may be NULL) receives every
 * bad record. */
int ghm_records_load_ex(const char *out_dir, int which, const ghm_experiment *plan, ghm_record_warn_fn warn,
                        void *user, ghm_record **recs, int *n, int *n_bad, ghm_error *err);
void ghm_records_free(ghm_record *recs, int n);

#ifdef __cplusplus
}
#endif
#endif
