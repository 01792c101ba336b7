/* Grey-scale PNG writer: signature, IHDR, one IDAT (zlib), IEND; CRCs by zlib's crc32. */
#include "png.h"

#include "../core/fsutil.h"
#include "../core/json.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* append a chunk (length, type, data, CRC of type + data) at out + *at */
static void chunk(uint8_t *out, size_t *at, const char type[4], const uint8_t *data, uint32_t n)
{
    uint8_t *p = out + *at;
    be32(p, n);
    memcpy(p + 4, type, 4);
    if (n) memcpy(p + 8, data, n);
    uLong crc = crc32(0L, p + 4, 4 + n);
    be32(p + 8 + n, (uint32_t)crc);
    *at += 12 + (size_t)n;
}

int ghm_png_write_grey(const char *path, const uint8_t *px, int w, int h, ghm_error *err)
{
    if (w < 1 || h < 1 || w > (1 << 15) || h > (1 << 15))
        return ghm_error_set(err, GHM_EINPUT, "%s: PNG of %d x %d pixels (1 to 32768 a side)", path, w, h);
    size_t raw_n = (size_t)h * ((size_t)w + 1);
    uint8_t *raw = malloc(raw_n);
    uLongf zn = compressBound((uLong)raw_n);
    uint8_t *out = malloc(8 + 25 + 12 + (size_t)zn + 12);
    if (!raw || !out) {
        free(raw);
        free(out);
        return ghm_error_set(err, GHM_ENOMEM, "%s: out of memory for a %d x %d PNG", path, w, h);
    }
    for (int y = 0; y < h; y++) {
        raw[(size_t)y * (w + 1)] = 0; /* filter: none */
        memcpy(raw + (size_t)y * (w + 1) + 1, px + (size_t)y * w, (size_t)w);
    }
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    size_t at = 8;
    memcpy(out, sig, 8);
    uint8_t ihdr[13];
    be32(ihdr, (uint32_t)w);
    be32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 8;  /* bit depth */
    ihdr[9] = 0;  /* grey */
    ihdr[10] = 0; /* deflate */
    ihdr[11] = 0; /* filtering: adaptive (each row says none) */
    ihdr[12] = 0; /* no interlace */
    chunk(out, &at, "IHDR", ihdr, 13);
    /* IDAT: compress straight after its header */
    uint8_t *idat = out + at + 8;
    int zr = compress2(idat, &zn, raw, (uLong)raw_n, 9);
    free(raw);
    if (zr != Z_OK) {
        free(out);
        return ghm_error_set(err, GHM_EFAIL, "%s: zlib failed to compress the image", path);
    }
    be32(out + at, (uint32_t)zn);
    memcpy(out + at + 4, "IDAT", 4);
    be32(out + at + 8 + zn, (uint32_t)crc32(0L, out + at + 4, (uInt)(4 + zn)));
    at += 12 + (size_t)zn;
    chunk(out, &at, "IEND", NULL, 0);
    int rc = ghm_write_file_atomic(path, out, at, err);
    free(out);
    return rc;
}
