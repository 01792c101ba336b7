/* Limits checked on an experiment file's text before libyaml parses it: its
 * size and the nesting depth of flow collections ([...] and {...}). libyaml
 * takes time quadratic in the nesting depth (100,000 levels: 16 s), so a
 * hostile or broken file is refused at once instead. */
#ifndef GHM_YAML_LIMITS_H
#define GHM_YAML_LIMITS_H

#include "../core/error.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GHM_YAML_MAX_BYTES ((size_t)1 << 20) /* 1 MiB: experiment files are a few KiB */
#define GHM_YAML_MAX_DEPTH 64                 /* flow collections ([..], {..}) nested in each other */

/* 0, or GHM_EINPUT naming file (and line) when the text is too large or nested too deep. */
int ghm_yaml_check_limits(const char *text, size_t len, const char *file, ghm_error *err);

#ifdef __cplusplus
}
#endif
#endif
