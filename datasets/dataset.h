/* Datasets, splits and the m-per-class sampler.
 *
 * Every dataset loads to the same shape: uint8 images (N, C, H, W) with int
 * labels in [0, n_classes), for an official train and test part, plus class
 * names and a description of where the files were found.
 * Loaders: "fashion-mnist", "mnist", "cifar10", "synthetic", "glyphs" (rendered
 * characters, datasets/glyphs.h), "idx" (any pair of IDX image/label files, given by path).
 */
#ifndef GHM_DATASET_H
#define GHM_DATASET_H

#include "../core/error.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Class arrays below are fixed-size: 4096 classes (glyphs-xl has about 2,500) keep a ghm_dataset at
 * 128 KiB of class names and a ghm_split_opts / ghm_subset at 16 KiB, small enough for the stack. */
#define GHM_MAX_CLASSES 4096
#define GHM_CLASS_NAME_MAX 32

typedef struct ghm_images {
    int n, c, h, w;   /* count and image shape */
    uint8_t *pixels;  /* (n, c, h, w), malloc'd */
    int *labels;      /* (n) */
    int *groups;      /* (n) group of each image (glyphs: design family id), or NULL */
} ghm_images;

typedef struct ghm_dataset {
    char name[32];                                   /* "fashion-mnist" */
    char source[1024];                               /* where it was found / how it was made */
    char manifest[72];                               /* "sha256:<hex>" of the files' manifest (glyphs), else "" */
    int n_classes;                                   /* labels in [0, n_classes) */
    char class_names[GHM_MAX_CLASSES][GHM_CLASS_NAME_MAX];
    ghm_images train, test;                          /* the official parts */
} ghm_dataset;

typedef struct ghm_dataset_opts {
    const char *name;        /* loader name */
    const char *path;        /* optional directory (or NULL): searched first */
    const char *data_root;   /* optional project data dir (default "data"), for tests */
    /* synthetic only */
    int classes, train_per_class, test_per_class, image_size;
    uint64_t seed;
} ghm_dataset_opts;

/* Fill with defaults (synthetic: 10 classes, 200 train and 100 test per class, 28x28). */
void ghm_dataset_opts_default(ghm_dataset_opts *o);

/* ---- the data-set registry (datasets/registry.c): one line per data set ----
 * Everything the rest of the program knows about a data set without loading it:
 * which generator parameters (dataset.classes, ...) apply, whether it reads files
 * and needs a path, its class count and names when they are fixed, and its own
 * checks of the options. No data-set name is special-cased outside its own file. */
enum {
    GHM_DS_PARAM_CLASSES = 1,          /* dataset.classes */
    GHM_DS_PARAM_TRAIN_PER_CLASS = 2,  /* dataset.train_per_class */
    GHM_DS_PARAM_TEST_PER_CLASS = 4,   /* dataset.test_per_class */
    GHM_DS_PARAM_IMAGE_SIZE = 8,       /* dataset.image_size */
};
enum {
    GHM_DS_FILES = 0,           /* reads files: dataset.path optional (else the search order) */
    GHM_DS_FILES_NEED_PATH = 1, /* reads files from dataset.path, which is required */
    GHM_DS_GENERATED = 2,       /* made from its parameters and seed: reads no files, no dataset.path; its
                                   parameters enter the record and the data cache's key */
};

typedef struct ghm_dataset_info {
    const char *name;               /* "fashion-mnist" */
    const char *doc;                /* one line, for `ghm list datasets` */
    unsigned params;                /* GHM_DS_PARAM_* that apply to it */
    int source;                     /* GHM_DS_FILES | GHM_DS_FILES_NEED_PATH | GHM_DS_GENERATED */
    int n_classes;                  /* fixed class count (0: from the files, or dataset.classes when it applies) */
    const char *const *class_names; /* the n_classes names when fixed, else NULL */
    int (*load)(const ghm_dataset_opts *o, ghm_dataset *d, ghm_error *err);
} ghm_dataset_info;

int ghm_dataset_count(void);
const ghm_dataset_info *ghm_dataset_at(int i);
const ghm_dataset_info *ghm_dataset_find(const char *name); /* NULL when unknown */
const char *ghm_dataset_name_at(int i);
const char *ghm_dataset_doc_at(int i);
/* Classes of data set `name` known without loading: its fixed count, or `classes_param`
 * when dataset.classes applies to it; 0 when only its files tell. */
int ghm_dataset_known_classes(const char *name, int classes_param);
/* Name of class `id` of a data set with fixed class names, else NULL. */
const char *ghm_dataset_class_name(const char *name, int id);
/* 1 when data set `name` is generated from its parameters (GHM_DS_GENERATED). */
int ghm_dataset_is_generated(const char *name);
/* The GHM_DS_PARAM_* bit of an experiment key ("dataset.classes"), 0 for other keys. */
unsigned ghm_dataset_param_bit(const char *key);
/* The checks of data set `name` that need no loading (a required dataset.path, a
 * generated set given one): 0, or GHM_EINPUT with the message. */
int ghm_dataset_check(const char *name, const char *path, ghm_error *err);

int ghm_dataset_load(const ghm_dataset_opts *o, ghm_dataset *out, ghm_error *err);
void ghm_dataset_free(ghm_dataset *d);

/* IDX reader (raw or .gz, decided by content): type must be unsigned byte (labels: ghm_idx_read_labels).
 * dims/ndim receive the dimensions; data receives the bytes (malloc'd). */
int ghm_idx_read(const char *path, int *ndim, int dims[4], uint8_t **data, ghm_error *err);
/* IDX writer (uint8, raw or gzip'd when path ends in .gz). */
int ghm_idx_write(const char *path, int ndim, const int *dims, const uint8_t *data, ghm_error *err);
/* IDX labels: 1-dimensional, of type unsigned byte (0x08), int16 (0x0B) or int32 (0x0C); a label
 * outside 0..max_label is an error naming the file and index. *labels is malloc'd (n ints). */
int ghm_idx_read_labels(const char *path, int max_label, int *n, int **labels, ghm_error *err);
/* Writes uint8 labels when every label is <= 255 (byte-identical to ghm_idx_write), else int32 (0x0C). */
int ghm_idx_write_labels(const char *path, int n, const int *labels, ghm_error *err);

/* ---- splits ---- */
enum { GHM_SPLIT_STANDARD = 0, GHM_SPLIT_CLASSES = 1 };

typedef struct ghm_split_opts {
    int protocol;              /* GHM_SPLIT_STANDARD | GHM_SPLIT_CLASSES */
    int n_train_classes;       /* classes protocol: 0 = first half; else count of train_classes */
    int train_classes[GHM_MAX_CLASSES];
    double val_fraction;       /* 0 = no validation part (ignored when folds >= 2) */
    int folds;                 /* >= 2: k-fold cross-validation inside the training part: the
                                  validation part is fold `fold`, training uses the other folds
                                  (0 or 1 = no folds: val_fraction as above) */
    int fold;                  /* 0..folds-1 */
    int limit_train, limit_test; /* 0 = no limit; else keep this many (stratified, seeded) */
    uint64_t seed;             /* for validation carving and limits */
} ghm_split_opts;

/* A part of a dataset: its own copy of the pixels, with DENSE labels
 * 0..n_classes-1 and the original class id of each dense label. */
typedef struct ghm_subset {
    ghm_images img;          /* img.labels are dense */
    int n_classes;
    int class_ids[GHM_MAX_CLASSES]; /* dense id -> original class id */
} ghm_subset;

typedef struct ghm_split {
    ghm_subset train, val, test; /* val.img.n == 0 when val_fraction == 0 */
} ghm_split;

void ghm_split_opts_default(ghm_split_opts *o);
int ghm_split_make(const ghm_dataset *d, const ghm_split_opts *o, ghm_split *out, ghm_error *err);
void ghm_split_free(ghm_split *s);

/* Gather images idx[0..n) of a subset as float32 (n, C, H, W) scaled to [0, 1];
 * labels_out (n) gets the dense labels (may be NULL). */
void ghm_subset_gather(const ghm_subset *s, const int *idx, int n, float *x_out, int *labels_out);
/* Contiguous range [start, start+n) as float32. */
void ghm_subset_range(const ghm_subset *s, int start, int n, float *x_out);

/* ---- m-per-class sampler ---- */
typedef struct ghm_sampler ghm_sampler;

/* batch_size must be a multiple of m_per_class; batch_size / m_per_class
 * classes must exist with at least m_per_class images each (else GHM_EINPUT
 * naming the class / numbers). */
int ghm_sampler_create(const int *labels, int n, int n_classes, int batch_size, int m_per_class, uint64_t seed,
                       ghm_sampler **out, ghm_error *err);
void ghm_sampler_destroy(ghm_sampler *s);
int ghm_sampler_batches_per_epoch(const ghm_sampler *s);
/* Indices of batch b (0-based) of epoch e (0-based): batch_size ints; a pure
 * function of (seed, e, b) so a resumed run sees the same batches. */
int ghm_sampler_batch(ghm_sampler *s, int epoch, int batch, int *idx, ghm_error *err);

#ifdef __cplusplus
}
#endif
#endif
