/* A minimal grey-scale PNG writer (8-bit, one IDAT compressed by zlib), for
 * dataset montages (`ghm data montage`). */
#ifndef GHM_PNG_H
#define GHM_PNG_H

#include "../core/error.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Write a w x h 8-bit grey image (row-major, w * h bytes) to path (atomically). */
int ghm_png_write_grey(const char *path, const uint8_t *px, int w, int h, ghm_error *err);

#ifdef __cplusplus
}
#endif
#endif
