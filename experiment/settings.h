/* The run settings: ONE table of every scalar key of an experiment file that
 * sets a value of a run (ghm_run_spec). Everything else about a setting comes
 * from its line here:
 *   - parsing, type and range checks and defaults (experiment/config.c through
 *     ghm_setting_parse and ghm_settings_defaults),
 *   - the run identity: the line of the canonical text (experiment/plan.c builds
 *     ghm_run_spec_fields from this table and GHM_RUN_SPEC_FIELDS),
 *   - the record: its key in record.json is "params." + the YAML path
 *     (experiment/record.c), and the reader renames the record keys of before
 *     (the `legacy` column) to it,
 *   - `ghm list settings [--markdown]` and the settings list of
 *     docs/experiment_format.md (ghm_settings_list; tests/test_docs.cc checks
 *     the document holds exactly that list).
 * So adding or changing a setting is one line below (plus the code that uses
 * the value).
 *
 *   X(path, type, member, default, lo, hi, lo_open, hi_open, choices, id, legacy, doc)
 *
 * path: YAML path (= record key under "params"); type: INT, DBL, BOOL, STR,
 * CHOICE (index into `choices`), DATASET / BACKBONE (a registered name);
 * member: of ghm_run_spec; default: as it would be written in the file ("" for
 * a required name); lo/hi and *_open: the range of numbers (open bounds
 * exclusive); id: ID (a line of the canonical text, so of the run id) or
 * ID_ON (INT, BOOL or DBL with default 0: a line only when the value is not
 * 0, so the runs of files written before the setting existed keep their run
 * ids: a NEW setting is ID_ON); legacy: the record key of records
 * written before keys were YAML paths (NULL: the same); doc: one line.
 */
#ifndef GHM_SETTINGS_H
#define GHM_SETTINGS_H

#include "experiment.h"

#include <limits.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

extern const char *const ghm_cfg_split_names[]; /* "standard", "classes" */

#define GHM_SETTINGS(X)                                                                                              \
    X("dataset.name", DATASET, dataset_name, "", 0, 0, 0, 0, NULL, ID, NULL,                                        \
      "data set (required; see ghm list datasets)")                                                                    \
    X("dataset.path", STR, dataset_path, "", 0, 0, 0, 0, NULL, ID, NULL,                                            \
      "directory of the data set's files (empty: the search order)")                                                 \
    X("dataset.split", CHOICE, split.protocol, "standard", 0, 0, 0, 0, ghm_cfg_split_names, ID, "split.protocol",     \
      "standard: the data set's own train/test; classes: train on train_classes, test on the others")               \
    X("dataset.val_fraction", DBL, split.val_fraction, "0", 0, 0.9, 0, 0, NULL, ID, "split.val_fraction",            \
      "fraction of the training part held out for validation")                                                       \
    X("dataset.limit.train", INT, split.limit_train, "0", 0, INT_MAX, 0, 0, NULL, ID, "split.limit_train",           \
      "at most this many training images (0: all)")                                                                  \
    X("dataset.limit.test", INT, split.limit_test, "0", 0, INT_MAX, 0, 0, NULL, ID, "split.limit_test",              \
      "at most this many test images (0: all)")                                                                      \
    X("dataset.classes", INT, data.classes, "10", 2, GHM_MAX_CLASSES, 0, 0, NULL, ID, NULL,                           \
      "synthetic: number of classes")                                                                                \
    X("dataset.train_per_class", INT, data.train_per_class, "200", 1, 100000, 0, 0, NULL, ID, NULL,                   \
      "synthetic: training images per class")                                                                        \
    X("dataset.test_per_class", INT, data.test_per_class, "100", 1, 100000, 0, 0, NULL, ID, NULL,                     \
      "synthetic: test images per class")                                                                            \
    X("dataset.image_size", INT, data.image_size, "28", 8, 256, 0, 0, NULL, ID, NULL,                                 \
      "synthetic and glyphs: image side in pixels")                                                                  \
    X("backbone.name", BACKBONE, backbone, "", 0, 0, 0, 0, NULL, ID, NULL, "backbone (required; see ghm list backbones)") \
    X("backbone.embedding_dim", INT, embedding_dim, "64", 1, 65536, 0, 0, NULL, ID, NULL, "embedding size")          \
    X("backbone.normalize", BOOL, normalize, "true", 0, 1, 0, 0, NULL, ID, NULL, "L2-normalize the embeddings")       \
    X("train.epochs", INT, epochs, "10", 1, 1000000, 0, 0, NULL, ID, NULL, "training epochs")                        \
    X("train.steps_per_epoch", INT, steps_per_epoch, "0", 0, 1000000000, 0, 0, NULL, ID, NULL,                        \
      "batches per epoch (0: one pass over the training set)")                                                       \
    X("train.batch_size", INT, batch_size, "64", 2, 1000000, 0, 0, NULL, ID, NULL, "images per batch")              \
    X("train.m_per_class", INT, m_per_class, "4", 1, 1000000, 0, 0, NULL, ID, NULL, "images per class in a batch")   \
    X("train.optimizer.name", CHOICE, optim.kind, "adam", 0, 0, 0, 0, ghm_optim_names, ID, "optimizer.name",          \
      "optimizer")                                                                                                   \
    X("train.optimizer.lr", DBL, optim.lr, "0.001", 0, 10, 1, 0, NULL, ID, "optimizer.lr", "learning rate")          \
    X("train.optimizer.momentum", DBL, optim.momentum, "0.9", 0, 1, 0, 1, NULL, ID, "optimizer.momentum",            \
      "sgd: momentum")                                                                                               \
    X("train.optimizer.nesterov", BOOL, optim.nesterov, "false", 0, 1, 0, 0, NULL, ID, "optimizer.nesterov",          \
      "sgd: Nesterov momentum")                                                                                      \
    X("train.optimizer.weight_decay", DBL, optim.weight_decay, "0", 0, 10, 0, 0, NULL, ID, "optimizer.weight_decay",  \
      "weight decay (adamw: decoupled)")                                                                             \
    X("train.optimizer.beta1", DBL, optim.beta1, "0.9", 0, 1, 0, 1, NULL, ID, "optimizer.beta1", "adam/adamw: beta1") \
    X("train.optimizer.beta2", DBL, optim.beta2, "0.999", 0, 1, 0, 1, NULL, ID, "optimizer.beta2",                    \
      "adam/adamw: beta2")                                                                                           \
    X("train.optimizer.eps", DBL, optim.eps, "1e-08", 0, 1, 1, 0, NULL, ID, "optimizer.eps", "adam/adamw: epsilon")  \
    X("train.schedule.name", CHOICE, schedule.kind, "constant", 0, 0, 0, 0, ghm_schedule_names, ID, "schedule.name",   \
      "learning-rate schedule")                                                                                      \
    X("train.schedule.warmup_epochs", DBL, schedule.warmup_epochs, "0", 0, 1000000, 0, 0, NULL, ID,                   \
      "schedule.warmup_epochs", "linear warm-up length in epochs")                                                   \
    X("train.schedule.step_epochs", DBL, schedule.step_epochs, "10", 0, 1000000, 1, 0, NULL, ID,                      \
      "schedule.step_epochs", "step: epochs between decays")                                                         \
    X("train.schedule.gamma", DBL, schedule.gamma, "0.1", 0, 1, 1, 0, NULL, ID, "schedule.gamma",                     \
      "step: decay factor")                                                                                          \
    X("train.schedule.min_lr_ratio", DBL, schedule.min_lr_ratio, "0", 0, 1, 0, 0, NULL, ID, "schedule.min_lr_ratio",  \
      "cosine: final rate as a fraction of lr")                                                                      \
    X("eval.every", INT, eval_every, "1", 0, 1000000, 0, 0, NULL, ID, "eval.eval_every",                              \
      "epochs between validation evaluations (0: only at the end)")                                                  \
    X("eval.save_embeddings", BOOL, save_embeddings, "true", 0, 1, 0, 0, NULL, ID, NULL,                              \
      "write the test embeddings beside the record")                                                                 \
    X("eval.exclude_same_family", BOOL, eval.exclude_same_group, "false", 0, 1, 0, 0, NULL, ID_ON, NULL,              \
      "retrieval ignores gallery items of the query's family")                                                       \
    X("eval.kmeans_restarts", INT, eval.kmeans_restarts, "3", 1, 1000, 0, 0, NULL, ID, NULL,                          \
      "k-means restarts for NMI/AMI")                                                                                \
    X("eval.kmeans_max_iter", INT, eval.kmeans_max_iter, "100", 1, 1000000, 0, 0, NULL, ID, NULL,                     \
      "k-means iterations per restart")

typedef enum ghm_setting_type {
    GHM_SET_INT, GHM_SET_DBL, GHM_SET_BOOL, GHM_SET_STR, GHM_SET_CHOICE, GHM_SET_DATASET, GHM_SET_BACKBONE
} ghm_setting_type;
enum { GHM_SET_ID = 0, GHM_SET_ID_ON = 1 };

typedef struct ghm_setting {
    const char *path;            /* YAML path; the record key is "params." path */
    ghm_setting_type type;
    const char *member;          /* of ghm_run_spec, for messages and tests */
    size_t offset, size;         /* of the member in ghm_run_spec */
    const char *def;             /* default as written in a file ("" for a required name) */
    double lo, hi;
    int lo_open, hi_open;
    const char *const *choices;  /* CHOICE: NULL-terminated names */
    int id;                      /* GHM_SET_ID | GHM_SET_ID_ON */
    const char *legacy;          /* record key under "params" before keys were YAML paths, or NULL */
    const char *doc;
} ghm_setting;

extern const ghm_setting ghm_settings[];
extern const int ghm_settings_count;

/* The setting at a YAML path, or NULL. */
const ghm_setting *ghm_setting_find(const char *path);

/* Parse text (NULL: a YAML null) into the setting's member of r, with the
 * type and range checks. *value: the number (choice/name: its index; bool
 * 0/1; string: NAN). On error returns GHM_EINPUT and writes a message that
 * names the path (no file position) into msg. */
int ghm_setting_parse(const ghm_setting *s, const char *text, ghm_run_spec *r, double *value, char *msg, size_t cap);

/* Every setting at its default. Returns 0, or GHM_EINPUT (a default of the
 * table fails its own check; msg says which). */
int ghm_settings_defaults(ghm_run_spec *r, char *msg, size_t cap);

/* The value of setting s in r as the canonical text and the record write it
 * ("0.001", "adam", "true" for a bool when as_bool, else "1"). */
const char *ghm_setting_format(const ghm_setting *s, const ghm_run_spec *r, char *buf, size_t cap);

/* The table as text: `ghm list settings` (one line a setting) or, markdown,
 * docs/experiment_format.md's settings table. Returns a malloc'd string, or
 * NULL when out of memory. */
/* Small parsing helpers shared with experiment/config.c. */
void ghm_cfg_join_names(const char *const *names, int n, char *buf, size_t cap);      /* "a | b | c" */
const char *ghm_cfg_did_you_mean(const char *name, const char *const *cands, int n, char *buf, size_t cap);
int ghm_cfg_parse_double(const char *text, double *v); /* the whole text, finite; -0 is 0; -1 otherwise */
int ghm_cfg_parse_bool(const char *t, int *v);         /* true|yes|on|1 / false|no|off|0; -1 otherwise */

char *ghm_settings_list(int markdown);

#ifdef __cplusplus
}
#endif
#endif
