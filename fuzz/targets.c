/* Fuzz target bodies; see targets.h. */
#include "targets.h"

#include "../core/json.h"
#include "../core/npy.h"
#include "../datasets/dataset.h"
#include "experiment/experiment.h"
#include "experiment/record.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The readers take paths: the bytes go to an unlinked temporary file reached
 * as /proc/self/fd/N (one per process, rewritten for every input). */
static int g_fd = -1;
static char g_path[64];

static const char *as_file(const uint8_t *data, size_t n)
{
    if (g_fd < 0) {
        const char *dir = getenv("TMPDIR");
        char tmpl[512];
        snprintf(tmpl, sizeof tmpl, "%s/ghm_fuzz_XXXXXX", dir && *dir ? dir : "/tmp");
        g_fd = mkstemp(tmpl);
        if (g_fd < 0) abort();
        unlink(tmpl);
        snprintf(g_path, sizeof g_path, "/proc/self/fd/%d", g_fd);
    }
    if (ftruncate(g_fd, 0) != 0) abort();
    size_t done = 0;
    while (done < n) {
        ssize_t w = pwrite(g_fd, data + done, n - done, (off_t)done);
        if (w <= 0) abort();
        done += (size_t)w;
    }
    return g_path;
}

/* a failed reader must say why */
static void check_error(int rc, const ghm_error *e)
{
    if (rc < 0 && e->msg[0] == '\0') abort();
    if (rc > 0) abort();
}

int ghm_fuzz_npy(const uint8_t *data, size_t n)
{
    const char *p = as_file(data, n);
    ghm_error e;
    ghm_error_clear(&e);
    ghm_npy a;
    int rc = ghm_npy_read(p, &a, &e);
    check_error(rc, &e);
    if (rc == 0) {
        size_t count = 1;
        for (int i = 0; i < a.ndim; i++) count *= a.shape[i];
        if (count != a.count || a.ndim < 0 || a.ndim > 4) abort();
        ghm_npy_free(&a);
    }
    float *x = NULL;
    int rows = 0, cols = 0;
    ghm_error_clear(&e);
    rc = ghm_npy_read_f32_2d(p, &x, &rows, &cols, &e);
    check_error(rc, &e);
    if (rc == 0) {
        if (rows < 1 || cols < 1) abort();
        volatile float sink = x[(size_t)rows * cols - 1]; /* the whole array is there */
        (void)sink;
        free(x);
    }
    int *lab = NULL, nl = 0;
    ghm_error_clear(&e);
    rc = ghm_npy_read_labels(p, &lab, &nl, &e);
    check_error(rc, &e);
    if (rc == 0) free(lab);
    return 0;
}

int ghm_fuzz_idx(const uint8_t *data, size_t n)
{
    const char *p = as_file(data, n);
    ghm_error e;
    ghm_error_clear(&e);
    int nd = 0, dims[4] = {0, 0, 0, 0};
    uint8_t *d = NULL;
    int rc = ghm_idx_read(p, &nd, dims, &d, &e);
    check_error(rc, &e);
    if (rc == 0) {
        size_t total = 1;
        for (int k = 0; k < nd; k++) total *= (size_t)dims[k];
        if (nd < 1 || nd > 4) abort();
        if (total > 0) {
            volatile uint8_t sink = d[total - 1];
            (void)sink;
        }
        free(d);
    } else if (d) {
        abort(); /* no data on error */
    }
    return 0;
}

int ghm_fuzz_yaml(const uint8_t *data, size_t n)
{
    char *text = malloc(n + 1);
    if (!text) return 0;
    memcpy(text, data, n);
    text[n] = '\0';
    ghm_experiment ex;
    memset(&ex, 0, sizeof ex);
    ghm_error e;
    ghm_error_clear(&e);
    int rc = ghm_experiment_load_string(text, "fuzz.yaml", &ex, &e);
    check_error(rc, &e);
    if (rc == 0) {
        if (ex.n_runs < 1 || !ex.runs) abort();
        for (int i = 0; i < ex.n_runs; i++)
            if (strlen(ex.runs[i].run_id) != 16) abort();
        ghm_experiment_free(&ex);
    }
    free(text);
    return 0;
}

int ghm_fuzz_record(const uint8_t *data, size_t n)
{
    const char *p = as_file(data, n);
    ghm_error e;
    ghm_error_clear(&e);
    ghm_record r;
    int rc = ghm_record_read(p, &r, &e);
    check_error(rc, &e);
    if (rc == 0) {
        /* what the statistics may rely on (search trials carry no test metrics) */
        for (int i = 0; i < r.test.n; i++) {
            double v = r.test.value[i];
            if (strcmp(r.test.name[i], "map@r") != 0 && strcmp(r.test.name[i], "r_precision") != 0 && !isfinite(v))
                abort();
            if (isfinite(v) && (v < -1 - 1e-9 || v > 1 + 1e-9)) abort();
        }
        if (strlen(r.run_id) != 16) abort();
        /* and it writes back as JSON that reads again */
        char *json = NULL;
        if (ghm_record_to_json(&r, NULL, &json, &e) == 0) {
            ghm_json *j = NULL;
            if (ghm_json_parse(json, strlen(json), "rewritten", &j, &e) != 0) abort();
            ghm_json_free(j);
            free(json);
        }
        ghm_record_free(&r);
    }
    return 0;
}
