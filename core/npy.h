/* NumPy .npy read/write (format versions 1.0, 2.0 and 3.0 readable; 1.0 written).
 *
 * Supported: C order, little-endian float32 ('<f4'), float64 ('<f8') arrays,
 * int32 ('<i4') and int64 ('<i8') arrays, 1-D or 2-D (any ndim up to 4 readable).
 * Anything else (Fortran order, big-endian, object arrays, other dtypes, a
 * truncated file, a malformed header) is GHM_EINPUT with a message naming the
 * file and what is wrong.
 */
#ifndef GHM_NPY_H
#define GHM_NPY_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { GHM_NPY_F32, GHM_NPY_F64, GHM_NPY_I32, GHM_NPY_I64 } ghm_npy_dtype;

typedef struct ghm_npy {
    ghm_npy_dtype dtype; /* element type in the file */
    int ndim;            /* 0..4 */
    size_t shape[4];     /* dims */
    size_t count;        /* product of dims */
    void *data;          /* count elements of dtype, malloc'd; free with ghm_npy_free */
} ghm_npy;

int ghm_npy_read(const char *path, ghm_npy *out, ghm_error *err);
void ghm_npy_free(ghm_npy *a);

/* Convenience readers with conversion:
 * floats: a 2-D float32/float64 array -> float32 (n, d) (malloc'd).
 * labels: a 1-D int32/int64 array (or float with integral values) -> int (n). */
int ghm_npy_read_f32_2d(const char *path, float **data, int *n, int *d, ghm_error *err);
int ghm_npy_read_labels(const char *path, int **labels, int *n, ghm_error *err);

/* Writers (atomic: temp file + rename). shape has ndim entries. */
int ghm_npy_write_f32(const char *path, const float *data, int ndim, const size_t *shape, ghm_error *err);
int ghm_npy_write_i32(const char *path, const int32_t *data, int ndim, const size_t *shape, ghm_error *err);
int ghm_npy_write_f64(const char *path, const double *data, int ndim, const size_t *shape, ghm_error *err);

#ifdef __cplusplus
}
#endif
#endif
