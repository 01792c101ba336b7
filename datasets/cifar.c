/* CIFAR-10, binary version (cifar-10-binary.tar.gz from
 * https://www.cs.toronto.edu/~kriz/cifar.html).
 *
 * data_batch_1.bin .. data_batch_5.bin (train) and test_batch.bin (test);
 * each record is 1 label byte followed by 3072 pixel bytes (3 planes of 32x32:
 * red, green, blue), which is already (C, H, W) order. Searched in the same
 * places as the other datasets (<dir>/ or <dir>/cifar-10-batches-bin/).
 */
#include "internal.h"

#include "../core/fileio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CIFAR_REC 3073
#define CIFAR_PIX 3072

/* Append the records of one file to im (grown with realloc). */
static int read_batch(const char *path, ghm_images *im, ghm_error *err)
{
    FILE *f;
    unsigned long long fsize;
    int orc = ghm_file_open_regular(path, "CIFAR-10 batch", GHM_READ_MAX_CIFAR, &f, &fsize, err);
    if (orc) return orc;
    long long size = (long long)fsize;
    if (size == 0 || size % CIFAR_REC != 0) {
        fclose(f);
        long long recs = size / CIFAR_REC;
        return ghm_error_set(err, GHM_EINPUT,
                             "%s: expected a multiple of %d bytes (1 label + 3x32x32 pixels per record, 30730000 for "
                             "10,000 records), found %lld (%lld whole records + %lld bytes): truncated or not a CIFAR-10 "
                             "binary batch",
                             path, CIFAR_REC, size, recs, size - recs * CIFAR_REC);
    }
    long long nrec = size / CIFAR_REC;
    if (im->n + nrec > (1 << 24)) {
        fclose(f);
        return ghm_error_set(err, GHM_EINPUT, "%s: too many records", path);
    }
    int n0 = im->n, n1 = im->n + (int)nrec;
    uint8_t *px = realloc(im->pixels, (size_t)n1 * CIFAR_PIX);
    if (!px) {
        fclose(f);
        return ghm_error_set(err, GHM_ENOMEM, "%s: out of memory", path);
    }
    im->pixels = px;
    int *lb = realloc(im->labels, sizeof(int) * (size_t)n1);
    if (!lb) {
        fclose(f);
        return ghm_error_set(err, GHM_ENOMEM, "%s: out of memory", path);
    }
    im->labels = lb;
    uint8_t *buf = malloc((size_t)size);
    if (!buf) {
        fclose(f);
        return ghm_error_set(err, GHM_ENOMEM, "%s: out of memory", path);
    }
    size_t got = fread(buf, 1, (size_t)size, f);
    fclose(f);
    if (got != (size_t)size) {
        free(buf);
        return ghm_error_set(err, GHM_EIO, "%s: read %zu of %lld bytes", path, got, size);
    }
    for (long long r = 0; r < nrec; r++) {
        const uint8_t *rec = buf + r * CIFAR_REC;
        if (rec[0] >= 10) {
            int bad = rec[0];
            free(buf);
            return ghm_error_set(err, GHM_EINPUT, "%s: record %lld has label %d (expected 0..9): not a CIFAR-10 batch",
                                 path, r, bad);
        }
        im->labels[n0 + r] = rec[0];
        memcpy(im->pixels + (size_t)(n0 + r) * CIFAR_PIX, rec + 1, CIFAR_PIX);
    }
    free(buf);
    im->n = n1;
    im->c = 3;
    im->h = 32;
    im->w = 32;
    return 0;
}

static const char *const cifar10_names[10] = {"airplane", "automobile", "bird",  "cat",  "deer",
                                             "dog",      "frog",       "horse", "ship", "truck"};

static int load_cifar10(const ghm_dataset_opts *o, ghm_dataset *d, ghm_error *err)
{
    const char *const *names = cifar10_names;
    char *dirs[4];
    int nd = ghm_ds_search_dirs(o, "cifar10", dirs);
    char *found = NULL;
    for (int i = 0; i < nd && !found; i++) {
        if (!dirs[i]) continue;
        const char *subs[2] = {"", "/cifar-10-batches-bin"};
        for (int s = 0; s < 2 && !found; s++) {
            char *p = ghm_ds_strdupf("%s%s/data_batch_1.bin", dirs[i], subs[s]);
            if (p && ghm_ds_file_exists(p)) found = ghm_ds_strdupf("%s%s", dirs[i], subs[s]);
            free(p);
        }
    }
    if (!found) {
        char list[800];
        size_t used = 0;
        list[0] = '\0';
        for (int i = 0; i < nd && used < sizeof list; i++) {
            int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", dirs[i] ? dirs[i] : "?");
            if (w > 0) used += (size_t)w;
        }
        ghm_ds_free_dirs(dirs, nd);
        return ghm_error_set(err, GHM_EINPUT,
                             "dataset 'cifar10' not found: no data_batch_1.bin in any of: %s (nor in their "
                             "cifar-10-batches-bin/). To get it: download "
                             "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz and extract it into data/cifar10",
                             list);
    }
    ghm_ds_free_dirs(dirs, nd);
    int rc = 0;
    for (int b = 1; b <= 6 && rc == 0; b++) {
        char *p = b <= 5 ? ghm_ds_strdupf("%s/data_batch_%d.bin", found, b) : ghm_ds_strdupf("%s/test_batch.bin", found);
        if (!p) {
            rc = ghm_error_set(err, GHM_ENOMEM, "out of memory");
            break;
        }
        rc = read_batch(p, b <= 5 ? &d->train : &d->test, err);
        free(p);
    }
    if (rc == 0) {
        d->n_classes = 10;
        for (int i = 0; i < 10; i++) snprintf(d->class_names[i], GHM_CLASS_NAME_MAX, "%s", names[i]);
        snprintf(d->source, sizeof d->source, "%s (CIFAR-10 binary batches)", found);
    }
    free(found);
    return rc;
}

/* its registry entry (GHM_DATASET_LIST in datasets/registry.c) */
const ghm_dataset_info ghm_dataset_cifar10 = {
    "cifar10", "CIFAR-10 binary version: 50,000 + 10,000 colour 3x32x32 images of 10 classes", 0, GHM_DS_FILES, 10,
    cifar10_names, load_cifar10};
