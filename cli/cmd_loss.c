/* ghm loss NAME --embeddings E.npy --labels L.npy [--set key=value ...]
 *               [--grad-out G.npy] [--check] [--classes C] [--seed S]
 * Evaluates one loss on a saved batch, optionally writes dL/dE and checks the
 * gradient against central finite differences. The LAST stdout line is one
 * JSON object: {"loss": NAME, "value": V[, "max_rel_err": X]}. */
#include "cli.h"

#include "../core/npy.h"
#include "../losses/loss.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const usage =
    "ghm loss NAME --embeddings E.npy --labels L.npy [--set key=value ...] [--grad-out G.npy] [--check]\n"
    "         [--classes C] [--seed S] [--h H]\n"
    "labels: integers in [0, C); C (default: largest label + 1) is at most max(n, 65536) for n rows";

/* The largest class count `ghm loss` accepts for n rows: class-sized state
 * (proxies, centres) is allocated from it, so it is bounded before anything
 * is sized from a label. */
static long max_classes(int n) { return n > 65536 ? (long)n : 65536L; }

/* JSON has no NaN or Infinity: such a number is written as null */
static void print_json_number(const char *key, double v)
{
    if (isfinite(v))
        printf(", \"%s\": %.17g", key, v);
    else
        printf(", \"%s\": null", key);
}

/* --set key=value against the loss's spec: unknown key (did you mean), bad value. */
static int parse_set(const ghm_loss_ops *ops, const char *kv, ghm_params *p)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) return ghm_cli_usage("loss", "--set expects key=value, got '%s'", kv);
    char key[GHM_PARAM_NAME_MAX];
    size_t len = (size_t)(eq - kv);
    if (len >= sizeof key) return ghm_cli_usage("loss", "parameter name too long in '%s'", kv);
    memcpy(key, kv, len);
    key[len] = '\0';
    const ghm_param_spec *s = ghm_param_spec_find(ops->params, key);
    if (!s) {
        const char *names[GHM_MAX_PARAMS];
        int n = 0;
        for (const ghm_param_spec *q = ops->params; q && q->name && n < GHM_MAX_PARAMS; q++) names[n++] = q->name;
        const char *close = ghm_closest_name(key, names, n);
        if (close)
            return ghm_cli_usage("loss", "unknown parameter '%s' for loss '%s' (did you mean '%s'?)", key, ops->name,
                                 close);
        return ghm_cli_usage("loss", "unknown parameter '%s' for loss '%s' (see `ghm list losses`)", key, ops->name);
    }
    char owner[64];
    snprintf(owner, sizeof owner, "loss '%s'", ops->name);
    ghm_error err;
    ghm_error_clear(&err);
    double v;
    if (ghm_param_parse(s, eq + 1, &v, owner, &err) || ghm_param_check(s, v, owner, &err)) return ghm_cli_fail(&err);
    if (ghm_params_set(p, key, v)) return ghm_cli_usage("loss", "too many --set values");
    return 0;
}

int ghm_cmd_loss(int argc, char **argv)
{
    const char *name = NULL, *emb_path = NULL, *lab_path = NULL, *grad_path = NULL, *val;
    const char *sets[GHM_MAX_PARAMS];
    int n_sets = 0, check = 0;
    long classes = 0, seed = 0;
    double h = 1e-3;
    for (int i = 1; i < argc; i++) {
        int m;
        if ((m = ghm_cli_opt(argc, argv, &i, "--embeddings", &val))) {
            if (m < 0) return ghm_cli_usage("loss", "--embeddings needs a file");
            emb_path = val;
        } else if ((m = ghm_cli_opt(argc, argv, &i, "--labels", &val))) {
            if (m < 0) return ghm_cli_usage("loss", "--labels needs a file");
            lab_path = val;
        } else if ((m = ghm_cli_opt(argc, argv, &i, "--grad-out", &val))) {
            if (m < 0) return ghm_cli_usage("loss", "--grad-out needs a file");
            grad_path = val;
        } else if ((m = ghm_cli_opt(argc, argv, &i, "--set", &val))) {
            if (m < 0) return ghm_cli_usage("loss", "--set needs key=value");
            if (n_sets >= GHM_MAX_PARAMS) return ghm_cli_usage("loss", "too many --set values");
            sets[n_sets++] = val;
        } else if ((m = ghm_cli_opt(argc, argv, &i, "--classes", &val))) {
            if (m < 0) return ghm_cli_usage("loss", "--classes needs a number");
            if (ghm_cli_int("loss", "--classes", val, 1, 100000000, &classes)) return 2;
        } else if ((m = ghm_cli_opt(argc, argv, &i, "--seed", &val))) {
            if (m < 0) return ghm_cli_usage("loss", "--seed needs a number");
            if (ghm_cli_int("loss", "--seed", val, 0, 2147483647L, &seed)) return 2;
        } else if ((m = ghm_cli_opt(argc, argv, &i, "--h", &val))) {
            if (m < 0) return ghm_cli_usage("loss", "--h needs a number");
            if (ghm_cli_double("loss", "--h", val, &h)) return 2;
            if (!(h > 0 && h < 1)) return ghm_cli_usage("loss", "--h must be in (0, 1), got %s", val);
        } else if (strcmp(argv[i], "--check") == 0) {
            check = 1;
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            return ghm_cli_usage("loss", "unknown option '%s'\nusage: %s", argv[i], usage);
        } else if (!name) {
            name = argv[i];
        } else {
            return ghm_cli_usage("loss", "unexpected argument '%s'\nusage: %s", argv[i], usage);
        }
    }
    if (!name) return ghm_cli_usage("loss", "missing loss NAME\nusage: %s", usage);
    if (!emb_path || !lab_path) return ghm_cli_usage("loss", "--embeddings and --labels are required\nusage: %s", usage);

    ghm_error err;
    ghm_error_clear(&err);
    const ghm_loss_ops *ops = ghm_loss_find(name);
    if (!ops) {
        ghm_params none;
        ghm_params_clear(&none);
        ghm_loss *tmp = NULL;
        ghm_loss_create(name, &none, 1, 1, 0, &tmp, &err); /* builds the "did you mean" message */
        ghm_loss_destroy(tmp);
        return ghm_cli_fail(&err);
    }
    ghm_params params;
    ghm_params_clear(&params);
    for (int k = 0; k < n_sets; k++) {
        int rc = parse_set(ops, sets[k], &params);
        if (rc) return rc;
    }

    float *emb = NULL, *grad = NULL;
    int *labels = NULL, n = 0, d = 0, nl = 0, status = 0;
    ghm_loss *loss = NULL;
    if (ghm_npy_read_f32_2d(emb_path, &emb, &n, &d, &err) || ghm_npy_read_labels(lab_path, &labels, &nl, &err)) {
        status = ghm_cli_fail(&err);
        goto done;
    }
    if (n < 1 || d < 1) {
        status = ghm_cli_usage("loss", "%s: empty embedding array (%d x %d)", emb_path, n, d);
        goto done;
    }
    if (nl != n) {
        status = ghm_cli_usage("loss", "%s has %d labels but %s has %d rows", lab_path, nl, emb_path, n);
        goto done;
    }
    for (size_t k = 0; k < (size_t)n * d; k++)
        if (!isfinite(emb[k])) {
            status = ghm_cli_usage("loss", "%s: row %zu, column %zu: non-finite value (%g); embeddings must be finite",
                                   emb_path, k / (size_t)d, k % (size_t)d, (double)emb[k]);
            goto done;
        }
    int max_label = 0;
    for (int i = 0; i < n; i++) {
        if (labels[i] < 0) {
            status = ghm_cli_usage("loss", "%s: label %d of item %d is negative", lab_path, labels[i], i);
            goto done;
        }
        if (labels[i] >= max_classes(n)) {
            status = ghm_cli_usage("loss",
                                   "%s: label %d of item %d is too large: labels must be below max(n, 65536) = %ld "
                                   "for n = %d rows (renumber the classes 0, 1, 2, ...)",
                                   lab_path, labels[i], i, max_classes(n), n);
            goto done;
        }
        if (labels[i] > max_label) max_label = labels[i];
    }
    if (classes > max_classes(n)) {
        status = ghm_cli_usage("loss", "--classes %ld is too large: at most max(n, 65536) = %ld for n = %d rows",
                               classes, max_classes(n), n);
        goto done;
    }
    if (classes == 0) classes = (long)max_label + 1;
    if (max_label >= classes) {
        status = ghm_cli_usage("loss", "%s: label %d is outside [0, %ld) (--classes)", lab_path, max_label, classes);
        goto done;
    }
    if (ghm_loss_create(name, &params, d, (int)classes, (uint64_t)seed, &loss, &err)) {
        status = ghm_cli_fail(&err);
        goto done;
    }
    grad = malloc((size_t)n * d * sizeof *grad);
    if (!grad) {
        ghm_error_set(&err, GHM_ENOMEM, "out of memory for a %d x %d gradient", n, d);
        status = ghm_cli_fail(&err);
        goto done;
    }
    double value = 0.0, mre = 0.0;
    if (ghm_loss_forward_backward(loss, emb, labels, n, d, &value, grad, &err)) {
        status = ghm_cli_fail(&err);
        goto done;
    }
    if (!isfinite(value) || !ghm_all_finite(grad, (size_t)n * d)) {
        ghm_error_set(&err, GHM_ENUM, "loss '%s': non-finite value or gradient", name);
        status = ghm_cli_fail(&err);
        goto done;
    }
    printf("loss %s on %d x %d embeddings, %ld classes: %.10g\n", name, n, d, classes, value);
    if (grad_path) {
        size_t shape[2] = {(size_t)n, (size_t)d};
        if (ghm_npy_write_f32(grad_path, grad, 2, shape, &err)) {
            status = ghm_cli_fail(&err);
            goto done;
        }
        printf("wrote dL/dE (%d, %d) to %s\n", n, d, grad_path);
    }
    if (check) {
        if (ghm_loss_check_grad(loss, emb, labels, n, d, h, 1e-3, &mre, &err)) {
            status = ghm_cli_fail(&err);
            goto done;
        }
        printf("gradient check: finite differences (central, or one-sided at a kink), h = %g, max relative "
               "error %.3g\n",
               h, mre);
        double detach = 0.0;
        if (ghm_params_find(&loss->params, "detach", &detach) && detach != 0.0)
            printf("note: detach = 1 stops the gradient through part of this loss (as its paper does), so it "
                   "is not the derivative of the value; use --set detach=0 to check the exact gradient\n");
        if (!isfinite(mre)) {
            fprintf(stderr, "ghm: error: loss '%s': the gradient check gave a non-finite error (finite differences "
                            "overflow at these embedding values?)\n", name);
            status = 1;
        }
        printf("{\"loss\": \"%s\"", name);
        print_json_number("value", value);
        print_json_number("max_rel_err", mre);
        printf("}\n");
    } else {
        printf("{\"loss\": \"%s\"", name);
        print_json_number("value", value);
        printf("}\n");
    }
done:
    ghm_loss_destroy(loss);
    free(emb);
    free(labels);
    free(grad);
    return status;
}
