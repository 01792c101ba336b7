/* Loading an experiment file: the plan (experiment/plan.c), then, for a file
 * with a `search:` block, the runs known so far (experiment/search_plan.c). The
 * entry point sits above both, so the planner does not call back into the
 * search expansion that calls it. */
#include "experiment/config_internal.h"
#include "search/search.h"
#include "experiment/yaml_limits.h"

#include "../core/fileio.h"

#include <stdlib.h>
#include <string.h>

int ghm_experiment_load_string(const char *yaml, const char *path, ghm_experiment *out, ghm_error *err)
{
    int rc = ghm_plan_build(yaml, path, out, err);
    if (rc || !out->search) return rc;
    rc = ghm_search_expand(out, NULL, NULL, err);
    if (rc) ghm_experiment_free(out);
    return rc;
}

int ghm_experiment_load(const char *path, ghm_experiment *out, ghm_error *err)
{
    memset(out, 0, sizeof *out);
    char *buf = NULL;
    size_t n = 0;
    int rc = ghm_read_file_max(path, "experiment file", GHM_YAML_MAX_BYTES, &buf, &n, err);
    if (rc) return rc;
    if (memchr(buf, '\0', n))
        rc = ghm_error_set(err, GHM_EINPUT, "%s: not a text file (contains a NUL byte)", path);
    if (rc) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    rc = ghm_experiment_load_string(buf, path, out, err);
    free(buf);
    return rc;
}

