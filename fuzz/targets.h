/* Fuzz target bodies, shared by the libFuzzer drivers (fuzz/fuzz_*.c, built
 * with clang by fuzz/run.sh) and by the corpus replay test
 * (tests/test_run_fuzz_corpus.cc), which runs every file under fuzz/corpus/ and
 * fuzz/regressions/ through them in the ordinary test suite.
 *
 * Each takes arbitrary bytes, feeds them to a reader of outside data, and
 * aborts when the reader breaks its contract: an error without a message, or
 * a result that violates the reader's documented invariants. Memory errors and
 * undefined behaviour are caught by the sanitizers. */
#ifndef GHM_FUZZ_TARGETS_H
#define GHM_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

int ghm_fuzz_npy(const uint8_t *data, size_t n);    /* .npy reader (and its float/label converters) */
int ghm_fuzz_idx(const uint8_t *data, size_t n);    /* IDX reader, raw or gzip */
int ghm_fuzz_yaml(const uint8_t *data, size_t n);   /* experiment file (YAML -> plan) */
int ghm_fuzz_record(const uint8_t *data, size_t n); /* run record (JSON) */

#ifdef __cplusplus
}
#endif
#endif
