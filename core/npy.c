/* NumPy .npy reader/writer. Format: "\x93NUMPY", major, minor, header length
 * (2 bytes for v1, 4 bytes for v2/v3, little-endian), then an ASCII Python dict
 * literal {'descr': '<f4', 'fortran_order': False, 'shape': (n, d), }
 * padded with spaces and a newline, then the raw data in C order. */
#include "npy.h"

#include "fileio.h"
#include "fsutil.h"
#include "json.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct {
    const char *descr;
    ghm_npy_dtype dtype;
    size_t size;
} dtypes[] = {{"<f4", GHM_NPY_F32, 4}, {"<f8", GHM_NPY_F64, 8}, {"<i4", GHM_NPY_I32, 4}, {"<i8", GHM_NPY_I64, 8}};

static size_t dtype_size(ghm_npy_dtype t)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (dtypes[i].dtype == t) return dtypes[i].size;
    return 0;
}

void ghm_npy_free(ghm_npy *a)
{
    if (!a) return;
    free(a->data);
    a->data = NULL;
}

/* Find the value text after 'key': in the header dict. */
static const char *find_key(const char *h, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(h, pat);
    if (!p) {
        snprintf(pat, sizeof pat, "\"%s\"", key);
        p = strstr(h, pat);
    }
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ') p++;
    if (*p != ':') return NULL;
    p++;
    while (*p == ' ') p++;
    return p;
}

static int parse_header(const char *path, const char *h, ghm_npy *out, ghm_error *err)
{
    const char *p = find_key(h, "descr");
    if (!p || (*p != '\'' && *p != '"'))
        return ghm_error_set(err, GHM_EINPUT, "%s: .npy header has no 'descr' string", path);
    char q = *p++;
    char descr[16];
    int n = 0;
    while (*p && *p != q && n < 15) descr[n++] = *p++;
    descr[n] = '\0';
    int found = 0;
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (strcmp(descr, dtypes[i].descr) == 0) {
            out->dtype = dtypes[i].dtype;
            found = 1;
        }
    if (!found) {
        if (descr[0] == '>')
            return ghm_error_set(err, GHM_EINPUT, "%s: big-endian dtype '%s' is not supported (use little-endian)",
                                 path, descr);
        return ghm_error_set(err, GHM_EINPUT,
                             "%s: dtype '%s' is not supported (expected float32 '<f4', float64 '<f8', int32 '<i4' "
                             "or int64 '<i8')",
                             path, descr);
    }
    p = find_key(h, "fortran_order");
    if (!p) return ghm_error_set(err, GHM_EINPUT, "%s: .npy header has no 'fortran_order'", path);
    if (strncmp(p, "True", 4) == 0)
        return ghm_error_set(err, GHM_EINPUT, "%s: Fortran-order arrays are not supported (save with C order)", path);
    if (strncmp(p, "False", 5) != 0)
        return ghm_error_set(err, GHM_EINPUT, "%s: malformed 'fortran_order' in .npy header", path);
    p = find_key(h, "shape");
    if (!p || *p != '(') return ghm_error_set(err, GHM_EINPUT, "%s: .npy header has no 'shape' tuple", path);
    p++;
    out->ndim = 0;
    out->count = 1;
    for (;;) {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ')') break;
        if (!isdigit((unsigned char)*p))
            return ghm_error_set(err, GHM_EINPUT, "%s: malformed 'shape' in .npy header", path);
        if (out->ndim >= 4)
            return ghm_error_set(err, GHM_EINPUT, "%s: arrays with more than 4 dimensions are not supported", path);
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (v > (1ull << 40)) return ghm_error_set(err, GHM_EINPUT, "%s: dimension %llu is too large", path, v);
        out->shape[out->ndim++] = (size_t)v;
        if (v && out->count > ((size_t)1 << 40) / v)
            return ghm_error_set(err, GHM_EINPUT, "%s: array is too large", path);
        out->count *= (size_t)v;
        p = end;
    }
    return 0;
}

int ghm_npy_read(const char *path, ghm_npy *out, ghm_error *err)
{
    memset(out, 0, sizeof *out);
    FILE *f;
    int orc = ghm_file_open_regular(path, ".npy file", GHM_READ_MAX_NPY, &f, NULL, err);
    if (orc) return orc;
    unsigned char pre[10];
    int rc = 0;
    char *header = NULL;
    if (fread(pre, 1, 8, f) != 8 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        rc = ghm_error_set(err, GHM_EINPUT, "%s: not a .npy file (bad magic)", path);
        goto done;
    }
    size_t hlen;
    if (pre[6] == 1) {
        if (fread(pre + 8, 1, 2, f) != 2) {
            rc = ghm_error_set(err, GHM_EINPUT, "%s: truncated .npy header", path);
            goto done;
        }
        hlen = (size_t)pre[8] | ((size_t)pre[9] << 8);
    } else if (pre[6] == 2 || pre[6] == 3) {
        unsigned char l4[4];
        if (fread(l4, 1, 4, f) != 4) {
            rc = ghm_error_set(err, GHM_EINPUT, "%s: truncated .npy header", path);
            goto done;
        }
        hlen = (size_t)l4[0] | ((size_t)l4[1] << 8) | ((size_t)l4[2] << 16) | ((size_t)l4[3] << 24);
    } else {
        rc = ghm_error_set(err, GHM_EINPUT, "%s: unsupported .npy format version %d", path, pre[6]);
        goto done;
    }
    if (hlen > (1u << 20)) {
        rc = ghm_error_set(err, GHM_EINPUT, "%s: .npy header length %zu is implausible", path, hlen);
        goto done;
    }
    header = malloc(hlen + 1);
    if (!header) {
        rc = ghm_error_set(err, GHM_ENOMEM, "%s: out of memory", path);
        goto done;
    }
    if (fread(header, 1, hlen, f) != hlen) {
        rc = ghm_error_set(err, GHM_EINPUT, "%s: truncated .npy header", path);
        goto done;
    }
    header[hlen] = '\0';
    rc = parse_header(path, header, out, err);
    if (rc) goto done;
    size_t es = dtype_size(out->dtype), bytes = out->count * es;
    /* a regular file must hold exactly the data the header declares: checked
     * before anything is allocated from the header's numbers */
    struct stat st;
    long pos = ftell(f);
    if (pos >= 0 && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) {
        unsigned long long left = st.st_size > pos ? (unsigned long long)st.st_size - (unsigned long long)pos : 0;
        if (left < bytes) {
            rc = ghm_error_set(err, GHM_EINPUT,
                               "%s: truncated .npy data: the header declares %zu elements (%zu bytes), the file holds "
                               "%llu bytes of data",
                               path, out->count, bytes, left);
            goto done;
        }
        if (left > bytes) {
            rc = ghm_error_set(err, GHM_EINPUT,
                               "%s: trailing bytes after the .npy data (shape says %zu elements, %llu extra bytes)",
                               path, out->count, left - bytes);
            goto done;
        }
    }
    out->data = malloc(bytes ? bytes : 1);
    if (!out->data) {
        rc = ghm_error_set(err, GHM_ENOMEM, "%s: out of memory for %zu bytes", path, bytes);
        goto done;
    }
    size_t got = fread(out->data, 1, bytes, f);
    if (got != bytes) {
        rc = ghm_error_set(err, GHM_EINPUT, "%s: truncated .npy data: expected %zu bytes, found %zu", path, bytes,
                           got);
        goto done;
    }
    if (fgetc(f) != EOF) {
        rc = ghm_error_set(err, GHM_EINPUT, "%s: trailing bytes after the .npy data (shape says %zu elements)", path,
                           out->count);
        goto done;
    }
done:
    free(header);
    fclose(f);
    if (rc) ghm_npy_free(out);
    return rc;
}

int ghm_npy_read_f32_2d(const char *path, float **data, int *n, int *d, ghm_error *err)
{
    ghm_npy a;
    int rc = ghm_npy_read(path, &a, err);
    if (rc) return rc;
    if (a.ndim != 2) {
        rc = ghm_error_set(err, GHM_EINPUT, "%s: expected a 2-D array (n, d), got %d dimensions", path, a.ndim);
    } else if (a.dtype != GHM_NPY_F32 && a.dtype != GHM_NPY_F64) {
        rc = ghm_error_set(err, GHM_EINPUT, "%s: expected float32 or float64 values, got integers", path);
    } else if (a.shape[0] == 0 || a.shape[1] == 0 || a.shape[0] > 0x7fffffff || a.shape[1] > 0x7fffffff) {
        rc = ghm_error_set(err, GHM_EINPUT, "%s: bad shape (%zu, %zu)", path, a.shape[0], a.shape[1]);
    }
    if (rc) {
        ghm_npy_free(&a);
        return rc;
    }
    float *out = malloc(a.count * sizeof *out);
    if (!out) {
        ghm_npy_free(&a);
        return ghm_error_set(err, GHM_ENOMEM, "%s: out of memory", path);
    }
    if (a.dtype == GHM_NPY_F32)
        memcpy(out, a.data, a.count * sizeof *out);
    else
        for (size_t i = 0; i < a.count; i++) out[i] = (float)((double *)a.data)[i];
    *n = (int)a.shape[0];
    *d = (int)a.shape[1];
    *data = out;
    ghm_npy_free(&a);
    return 0;
}

int ghm_npy_read_labels(const char *path, int **labels, int *n, ghm_error *err)
{
    ghm_npy a;
    int rc = ghm_npy_read(path, &a, err);
    if (rc) return rc;
    if (a.ndim != 1 && !(a.ndim == 2 && a.shape[1] == 1)) {
        ghm_npy_free(&a);
        return ghm_error_set(err, GHM_EINPUT, "%s: expected a 1-D array of labels, got %d dimensions", path, a.ndim);
    }
    if (a.count == 0 || a.count > 0x7fffffff) {
        ghm_npy_free(&a);
        return ghm_error_set(err, GHM_EINPUT, "%s: expected at least one label", path);
    }
    int *out = malloc(a.count * sizeof *out);
    if (!out) {
        ghm_npy_free(&a);
        return ghm_error_set(err, GHM_ENOMEM, "%s: out of memory", path);
    }
    for (size_t i = 0; i < a.count && rc == 0; i++) {
        double v;
        switch (a.dtype) {
        case GHM_NPY_I32: v = ((int32_t *)a.data)[i]; break;
        case GHM_NPY_I64: v = (double)((int64_t *)a.data)[i]; break;
        case GHM_NPY_F32: v = ((float *)a.data)[i]; break;
        default: v = ((double *)a.data)[i]; break;
        }
        if (!(v >= -2147483647.0 && v <= 2147483647.0) || v != (double)(long long)v)
            rc = ghm_error_set(err, GHM_EINPUT, "%s: label %zu = %g is not an integer", path, i, v);
        else
            out[i] = (int)v;
    }
    ghm_npy_free(&a);
    if (rc) {
        free(out);
        return rc;
    }
    *labels = out;
    *n = (int)a.count;
    return 0;
}

static int npy_write(const char *path, const char *descr, const void *data, size_t es, int ndim, const size_t *shape,
                     ghm_error *err)
{
    if (ndim < 1 || ndim > 4) return ghm_error_set(err, GHM_EINPUT, "%s: cannot write a %d-D array", path, ndim);
    char dict[256];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    size_t count = 1;
    for (int i = 0; i < ndim; i++) {
        n += snprintf(dict + n, sizeof dict - (size_t)n, "%zu%s", shape[i], (ndim == 1 || i + 1 < ndim) ? "," : "");
        if (i + 1 < ndim) n += snprintf(dict + n, sizeof dict - (size_t)n, " ");
        count *= shape[i];
    }
    n += snprintf(dict + n, sizeof dict - (size_t)n, "), }");
    /* total header (magic 6 + version 2 + len 2 + dict + pad + \n) a multiple of 64 */
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)n + pad + 1;
    size_t bytes = 10 + hlen + count * es;
    unsigned char *buf = malloc(bytes);
    if (!buf) return ghm_error_set(err, GHM_ENOMEM, "%s: out of memory", path);
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    memcpy(buf + 10, dict, (size_t)n);
    memset(buf + 10 + n, ' ', pad);
    buf[10 + hlen - 1] = '\n';
    if (count) memcpy(buf + 10 + hlen, data, count * es);
    int rc = ghm_write_file_atomic(path, buf, bytes, err);
    free(buf);
    return rc;
}

int ghm_npy_write_f32(const char *path, const float *data, int ndim, const size_t *shape, ghm_error *err)
{
    return npy_write(path, "<f4", data, 4, ndim, shape, err);
}

int ghm_npy_write_i32(const char *path, const int32_t *data, int ndim, const size_t *shape, ghm_error *err)
{
    return npy_write(path, "<i4", data, 4, ndim, shape, err);
}

int ghm_npy_write_f64(const char *path, const double *data, int ndim, const size_t *shape, ghm_error *err)
{
    return npy_write(path, "<f8", data, 8, ndim, shape, err);
}
