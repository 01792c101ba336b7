/* IDX files (LeCun's MNIST format), raw or gzip-compressed.
 *
 * Layout: magic 0x00 0x00 <type> <ndim>, then ndim big-endian uint32
 * dimensions, then prod(dims) items. Images are type 0x08 (unsigned byte);
 * labels may also be 0x0B (int16) or 0x0C (int32, big-endian), for data sets
 * of more than 256 classes (written as int32 only when a label exceeds 255, so
 * sets of up to 256 classes keep their uint8 files byte for byte).
 * Compression is decided by content (gzip magic 1f 8b), not by file name.
 * Every check names the file: wrong magic, unsupported type, absurd
 * dimensions, truncated data ("expected N bytes of image data, found M"),
 * trailing bytes after the data, corrupt gzip streams.
 */
#include "dataset.h"

#include "../core/fileio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define IDX_MAX_DIM (1 << 28)                       /* per dimension */
#define IDX_MAX_BYTES ((size_t)GHM_READ_MAX_IDX)      /* 4 GiB of items */

/* ---- a byte source over a raw or gzip file -------------------------------- */
/* gzip is decoded with zlib's inflate (not gzread) so that everything zlib can
 * check is checked: the CRC-32 and length trailer of every member, a stream
 * cut off before its trailer, and bytes after the last member that are not
 * another gzip member (gzread ignores those). */
typedef struct idx_src {
    const char *path;
    FILE *f;
    int is_gz;     /* content starts with 1f 8b */
    int z_init;    /* zs initialised */
    int z_end;     /* the last member ended (and nothing follows) */
    z_stream zs;
    unsigned char in[1 << 16];
    char cut[128]; /* non-empty when a gzip stream ended early */
} idx_src;

static int src_open(idx_src *s, const char *path, ghm_error *err)
{
    memset(s, 0, sizeof *s);
    s->path = path;
    /* a gzip file holds at most its items; IDX_MAX_BYTES + header caps both kinds */
    int rc = ghm_file_open_regular(path, "IDX file", GHM_READ_MAX_IDX + 64, &s->f, NULL, err);
    if (rc) return rc;
    unsigned char m[2] = {0, 0};
    size_t got = fread(m, 1, 2, s->f);
    s->is_gz = got == 2 && m[0] == 0x1f && m[1] == 0x8b;
    if (!s->is_gz) {
        rewind(s->f);
        return 0;
    }
    memcpy(s->in, m, 2);
    s->zs.next_in = s->in;
    s->zs.avail_in = 2;
    if (inflateInit2(&s->zs, 15 + 16) != Z_OK) return ghm_error_set(err, GHM_ENOMEM, "%s: cannot start zlib", path);
    s->z_init = 1;
    return 0;
}

/* refill the input buffer when empty: 1 when there is input, 0 at end of file */
static int z_fill(idx_src *s)
{
    if (s->zs.avail_in > 0) return 1;
    size_t r = fread(s->in, 1, sizeof s->in, s->f);
    s->zs.next_in = s->in;
    s->zs.avail_in = (uInt)r;
    return r > 0;
}

/* Read up to n bytes; returns the count read (short at the end of the data;
 * s->cut is set when a gzip stream ended early) or a negative code on corrupt
 * gzip data (err filled). */
static long long src_read(idx_src *s, void *buf, size_t n, ghm_error *err)
{
    if (!s->is_gz) return (long long)fread(buf, 1, n, s->f);
    size_t done = 0;
    unsigned char *p = buf;
    while (done < n && !s->z_end) {
        if (!z_fill(s)) {
            snprintf(s->cut, sizeof s->cut, " (gzip stream ends early: no end-of-stream and CRC/length trailer)");
            break;
        }
        size_t chunk = n - done;
        if (chunk > (1u << 30)) chunk = 1u << 30;
        s->zs.next_out = p + done;
        s->zs.avail_out = (uInt)chunk;
        int zr = inflate(&s->zs, Z_NO_FLUSH);
        done += chunk - s->zs.avail_out;
        if (zr == Z_STREAM_END) {
            /* another member may follow; anything else is garbage */
            if (!z_fill(s)) {
                s->z_end = 1;
                break;
            }
            if (s->zs.avail_in >= 1 && s->zs.next_in[0] != 0x1f)
                return ghm_error_set(err, GHM_EINPUT, "%s: trailing bytes after the gzip stream", s->path);
            if (inflateReset(&s->zs) != Z_OK) return ghm_error_set(err, GHM_EINPUT, "%s: corrupt gzip data", s->path);
            continue;
        }
        if (zr == Z_BUF_ERROR) continue; /* needs more input: z_fill above */
        if (zr != Z_OK)
            return ghm_error_set(err, GHM_EINPUT, "%s: corrupt gzip data (%s)", s->path,
                                 s->zs.msg ? s->zs.msg : "inflate failed");
    }
    return (long long)done;
}

static void src_close(idx_src *s)
{
    if (s->z_init) inflateEnd(&s->zs);
    s->z_init = 0;
    if (s->f) fclose(s->f);
    s->f = NULL;
}

static const char *type_name(int t)
{
    switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "int16";
    case 0x0C: return "int32";
    case 0x0D: return "float32";
    case 0x0E: return "float64";
    default: return "unknown";
    }
}

static int item_size(int t)
{
    return t == 0x08 ? 1 : t == 0x0B ? 2 : t == 0x0C ? 4 : 0;
}

/* Read an IDX file whose item type is 0x08, or (labels_ok) 0x0B int16 / 0x0C int32: *type gets the type,
 * *data the raw big-endian items. */
static int idx_read_typed(const char *path, int labels_ok, int *type, int *ndim, int dims[4], uint8_t **data,
                          ghm_error *err)
{
    *data = NULL;
    *ndim = 0;
    idx_src s;
    int rc = src_open(&s, path, err);
    if (rc) return rc;

    unsigned char hdr[4 + 16];
    long long got = src_read(&s, hdr, 4, err);
    if (got < 0) goto fail_rc;
    if (got < 4) {
        rc = ghm_error_set(err, GHM_EINPUT, "%s: not an IDX file: only %lld bytes (a header needs 4)%s", path, got,
                           s.cut);
        goto fail;
    }
    if (hdr[0] != 0 || hdr[1] != 0) {
        rc = ghm_error_set(err, GHM_EINPUT,
                           "%s: not an IDX file: magic %02x %02x %02x %02x (expected 00 00 08 <ndim>)%s", path, hdr[0],
                           hdr[1], hdr[2], hdr[3], s.is_gz ? "" : " (and not gzip-compressed)");
        goto fail;
    }
    if (hdr[2] != 0x08 && !(labels_ok && (hdr[2] == 0x0B || hdr[2] == 0x0C))) {
        rc = ghm_error_set(err, GHM_EINPUT, "%s: IDX item type 0x%02x (%s) is not supported: only unsigned byte (0x08)%s",
                           path, hdr[2], type_name(hdr[2]), labels_ok ? ", int16 (0x0B) or int32 (0x0C) labels" : "");
        goto fail;
    }
    const size_t isz = (size_t)item_size(hdr[2]);
    int nd = hdr[3];
    if (isz > 1 && nd != 1) {
        rc = ghm_error_set(err, GHM_EINPUT, "%s: IDX %s items in %d dimensions: only labels (1 dimension) may be wider "
                           "than a byte", path, type_name(hdr[2]), nd);
        goto fail;
    }
    if (nd < 1 || nd > 4) {
        rc = ghm_error_set(err, GHM_EINPUT, "%s: IDX file has %d dimensions (supported: 1 to 4)", path, nd);
        goto fail;
    }
    got = src_read(&s, hdr + 4, (size_t)4 * nd, err);
    if (got < 0) goto fail_rc;
    if (got < 4 * nd) {
        rc = ghm_error_set(err, GHM_EINPUT, "%s: truncated IDX header: expected %d bytes of dimensions, found %lld%s",
                           path, 4 * nd, got, s.cut);
        goto fail;
    }
    size_t total = 1;
    for (int k = 0; k < nd; k++) {
        const unsigned char *b = hdr + 4 + 4 * k;
        uint32_t v = ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | (uint32_t)b[3];
        if (v > IDX_MAX_DIM || (v == 0 && k > 0)) {
            rc = ghm_error_set(err, GHM_EINPUT, "%s: absurd IDX dimension %d = %u (allowed: %s to %d)", path, k, v,
                               k > 0 ? "1" : "0", IDX_MAX_DIM);
            goto fail;
        }
        dims[k] = (int)v;
        total *= v;
        if (total * isz > IDX_MAX_BYTES) {
            rc = ghm_error_set(err, GHM_EINPUT, "%s: absurd IDX dimensions: more than %zu bytes of data", path,
                               IDX_MAX_BYTES);
            goto fail;
        }
    }
    for (int k = nd; k < 4; k++) dims[k] = 1;
    total *= isz; /* bytes from here on */

    const char *what = nd == 1 ? "label" : "image";
    /* nothing is sized from the header alone: a raw file must hold the data
     * (checked against its size), a gzip stream's buffer grows as data arrives */
    size_t cap = total;
    if (!s.is_gz) {
        struct stat st;
        long pos = ftell(s.f);
        if (pos >= 0 && fstat(fileno(s.f), &st) == 0 && S_ISREG(st.st_mode)) {
            unsigned long long left = st.st_size > pos ? (unsigned long long)st.st_size - (unsigned long long)pos : 0;
            if (left < total) {
                rc = ghm_error_set(err, GHM_EINPUT, "%s: truncated: expected %zu bytes of %s data, found %llu", path,
                                   total, what, left);
                goto fail;
            }
        }
    } else if (cap > ((size_t)1 << 20)) {
        cap = (size_t)1 << 20;
    }
    uint8_t *buf = malloc(cap ? cap : 1);
    if (!buf) {
        rc = ghm_error_set(err, GHM_ENOMEM, "%s: out of memory for %zu bytes", path, cap);
        goto fail;
    }
    size_t have = 0;
    for (;;) {
        got = src_read(&s, buf + have, cap - have, err);
        if (got < 0) {
            free(buf);
            goto fail_rc;
        }
        have += (size_t)got;
        if (have < cap || cap == total) break;
        size_t nc = cap * 2 < total ? cap * 2 : total;
        uint8_t *nb = realloc(buf, nc);
        if (!nb) {
            free(buf);
            rc = ghm_error_set(err, GHM_ENOMEM, "%s: out of memory for %zu bytes", path, nc);
            goto fail;
        }
        buf = nb;
        cap = nc;
    }
    got = (long long)have;
    if ((size_t)got < total) {
        free(buf);
        rc = ghm_error_set(err, GHM_EINPUT, "%s: truncated: expected %zu bytes of %s data, found %lld%s", path, total,
                           what, got, s.cut);
        goto fail;
    }
    unsigned char extra[16];
    got = src_read(&s, extra, sizeof extra, err);
    if (got < 0) {
        free(buf);
        goto fail_rc;
    }
    if (got == 0 && s.cut[0]) {
        free(buf);
        rc = ghm_error_set(err, GHM_EINPUT, "%s: corrupt gzip file%s", path, s.cut);
        goto fail;
    }
    if (got > 0) {
        free(buf);
        rc = ghm_error_set(err, GHM_EINPUT, "%s: trailing bytes after the %zu bytes of %s data (wrong dimensions?)", path,
                           total, what);
        goto fail;
    }
    if (s.cut[0]) { /* all the data, but the gzip trailer (CRC, length) is cut off */
        free(buf);
        rc = ghm_error_set(err, GHM_EINPUT, "%s: truncated gzip file: %s data complete, its check trailer is not%s",
                           path, what, s.cut);
        goto fail;
    }
    src_close(&s);
    *ndim = nd;
    *type = hdr[2];
    *data = buf;
    return 0;

fail_rc:
    rc = err ? err->code : GHM_EINPUT;
    if (rc == 0) rc = GHM_EINPUT;
fail:
    src_close(&s);
    return rc;
}

int ghm_idx_read(const char *path, int *ndim, int dims[4], uint8_t **data, ghm_error *err)
{
    int type = 0;
    return idx_read_typed(path, 0, &type, ndim, dims, data, err);
}

int ghm_idx_read_labels(const char *path, int max_label, int *n, int **labels, ghm_error *err)
{
    *labels = NULL;
    *n = 0;
    int type = 0, nd = 0, dims[4];
    uint8_t *raw = NULL;
    int rc = idx_read_typed(path, 1, &type, &nd, dims, &raw, err);
    if (rc) return rc;
    if (nd != 1) {
        free(raw);
        return ghm_error_set(err, GHM_EINPUT, "%s: labels must be a 1-dimensional IDX file, not %d-dimensional", path,
                             nd);
    }
    int *lab = malloc((size_t)(dims[0] ? dims[0] : 1) * sizeof *lab);
    if (!lab) {
        free(raw);
        return ghm_error_set(err, GHM_ENOMEM, "%s: out of memory for %d labels", path, dims[0]);
    }
    for (int i = 0; i < dims[0]; i++) {
        const uint8_t *b = raw + (size_t)i * (size_t)item_size(type);
        long v = type == 0x08 ? (long)b[0]
               : type == 0x0B ? (long)(int16_t)(uint16_t)(((unsigned)b[0] << 8) | b[1])
                              : (long)(int32_t)(((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) |
                                                ((uint32_t)b[2] << 8) | (uint32_t)b[3]);
        if (v < 0 || v > max_label) {
            free(raw);
            free(lab);
            return ghm_error_set(err, GHM_EINPUT, "%s: label %d = %ld is outside 0..%d", path, i, v, max_label);
        }
        lab[i] = (int)v;
    }
    free(raw);
    *n = dims[0];
    *labels = lab;
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int idx_write_typed(const char *path, int type, int ndim, const int *dims, const uint8_t *data, ghm_error *err)
{
    if (ndim < 1 || ndim > 4) return ghm_error_set(err, GHM_EINPUT, "%s: IDX ndim %d (supported: 1 to 4)", path, ndim);
    size_t total = (size_t)item_size(type);
    unsigned char hdr[4 + 16] = {0, 0, (unsigned char)type, (unsigned char)ndim};
    for (int k = 0; k < ndim; k++) {
        if (dims[k] < 0) return ghm_error_set(err, GHM_EINPUT, "%s: negative IDX dimension %d", path, dims[k]);
        uint32_t v = (uint32_t)dims[k];
        hdr[4 + 4 * k] = (unsigned char)(v >> 24);
        hdr[5 + 4 * k] = (unsigned char)(v >> 16);
        hdr[6 + 4 * k] = (unsigned char)(v >> 8);
        hdr[7 + 4 * k] = (unsigned char)v;
        total *= v;
    }
    /* write to a temp file and rename, so a reader never sees a partial file */
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 16);
    if (!tmp) return ghm_error_set(err, GHM_ENOMEM, "%s: out of memory", path);
    snprintf(tmp, plen + 16, "%s.tmp%d", path, (int)(total % 9973));
    int rc = 0;
    if (ends_with(path, ".gz")) {
        gzFile g = gzopen(tmp, "wb6");
        if (!g) {
            rc = ghm_error_set(err, GHM_EIO, "%s: cannot create: %s", tmp, strerror(errno));
            goto done;
        }
        int ok = gzwrite(g, hdr, (unsigned)(4 + 4 * ndim)) == 4 + 4 * ndim;
        for (size_t off = 0; ok && off < total;) {
            size_t chunk = total - off > (1u << 30) ? (1u << 30) : total - off;
            ok = gzwrite(g, data + off, (unsigned)chunk) == (int)chunk;
            off += chunk;
        }
        if (gzclose(g) != Z_OK) ok = 0;
        if (!ok) rc = ghm_error_set(err, GHM_EIO, "%s: write failed", tmp);
    } else {
        FILE *f = fopen(tmp, "wb");
        if (!f) {
            rc = ghm_error_set(err, GHM_EIO, "%s: cannot create: %s", tmp, strerror(errno));
            goto done;
        }
        int ok = fwrite(hdr, 1, (size_t)(4 + 4 * ndim), f) == (size_t)(4 + 4 * ndim);
        if (ok && total) ok = fwrite(data, 1, total, f) == total;
        if (fclose(f) != 0) ok = 0;
        if (!ok) rc = ghm_error_set(err, GHM_EIO, "%s: write failed: %s", tmp, strerror(errno));
    }
    if (rc == 0 && rename(tmp, path) != 0)
        rc = ghm_error_set(err, GHM_EIO, "%s: cannot rename from %s: %s", path, tmp, strerror(errno));
    if (rc) remove(tmp);
done:
    free(tmp);
    return rc;
}

int ghm_idx_write(const char *path, int ndim, const int *dims, const uint8_t *data, ghm_error *err)
{
    return idx_write_typed(path, 0x08, ndim, dims, data, err);
}

int ghm_idx_write_labels(const char *path, int n, const int *labels, ghm_error *err)
{
    if (n < 0) return ghm_error_set(err, GHM_EINPUT, "%s: %d labels", path, n);
    int wide = 0;
    for (int i = 0; i < n; i++) {
        if (labels[i] < 0) return ghm_error_set(err, GHM_EINPUT, "%s: label %d = %d is negative", path, i, labels[i]);
        if (labels[i] > 255) wide = 1;
    }
    size_t isz = wide ? 4 : 1;
    uint8_t *b = malloc((size_t)(n ? n : 1) * isz);
    if (!b) return ghm_error_set(err, GHM_ENOMEM, "%s: out of memory for %d labels", path, n);
    for (int i = 0; i < n; i++) {
        uint32_t v = (uint32_t)labels[i];
        if (wide) {
            b[4 * (size_t)i] = (uint8_t)(v >> 24);
            b[4 * (size_t)i + 1] = (uint8_t)(v >> 16);
            b[4 * (size_t)i + 2] = (uint8_t)(v >> 8);
            b[4 * (size_t)i + 3] = (uint8_t)v;
        } else {
            b[i] = (uint8_t)v;
        }
    }
    int rc = idx_write_typed(path, wide ? 0x0C : 0x08, 1, &n, b, err);
    free(b);
    return rc;
}
