/* ghm loss NAME [--embeddings E.npy --labels L.npy | --n N --dim D --per-class M]
 *               [--set key=value ...] [--grad-out G.npy] [--check [--tol T] [--h H]]
 *               [--classes C] [--seed S]
 * Evaluates one loss on a saved batch (or a random L2-normalised one),
 * optionally writes dL/dE and checks the gradient against finite differences
 * (losses/loss.h: ghm_loss_check_gradient), printing PASS or FAIL; a failed
 * check exits 1. The LAST stdout line is one JSON object:
 * {"loss": NAME, "value": V[, "max_rel_err": X, "discontinuous": K, "pass": true|false]}. */
#include "cli.h"

#include "../core/npy.h"
#include "../core/progress.h"
#include "../losses/loss.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --check estimated to take longer than this (seconds): a warning first, then progress on stderr */
#define CHECK_SLOW_S 10.0

/* progress of a long --check on stderr: one redrawn line on a terminal, else a line every 10 s */
typedef struct {
    int tty;
    double t0, last;
} check_ui;

static void check_progress(void *ctx, long done, long total)
{
    check_ui *u = (check_ui *)ctx;
    const double now = ghm_clock();
    if (done < total && now - u->last < (u->tty ? 0.2 : 10.0)) return;
    u->last = now;
    char eta[32] = "?";
    const double f = total > 0 ? (double)done / (double)total : 1.0;
    if (done > 0) ghm_format_duration(eta, sizeof eta, ghm_progress_eta(f, now - u->t0));
    fprintf(stderr, "%sgradient check: %ld/%ld coordinates (%.0f%%), ETA %s%s", u->tty ? "\r" : "", done, total,
            100 * f, eta, u->tty && done < total ? "" : "\n");
    fflush(stderr);
}

/* Labels may reach max(n, LOSS_CLASS_FLOOR) - 1 for n rows (max_classes). */
#define LOSS_CLASS_FLOOR 65536
#define LOSS_STR_(x) #x
#define LOSS_STR(x) LOSS_STR_(x)

static const char *const usage =
    "ghm loss NAME [--embeddings E.npy --labels L.npy] [--set key=value ...] [--grad-out G.npy]\n"
    "              [--check] [--tol T] [--h H] [--classes C] [--seed S] [--n N] [--dim D] [--per-class M]\n"
    "labels: integers in [0, C); C (default: largest label + 1) is at most max(n, " LOSS_STR(LOSS_CLASS_FLOOR) ") for n rows";

static const char *const help_text =
    "ghm loss NAME: one loss on one batch: its value, its gradient, and a finite-difference check\n"
    "\n"
    "  --embeddings E.npy   batch of embeddings, float32 (n, d)\n"
    "  --labels L.npy       its labels, integers (n) >= 0\n"
    "                       without these two: a random batch of --n rows of dimension --dim,\n"
    "                       classes of --per-class items, L2-normalised, seeded by --seed\n"
    "  --n N                random batch: rows (default 32)\n"
    "  --dim D              random batch: dimension (default 12)\n"
    "  --per-class M        random batch: items per class (default 4, so 8 classes)\n"
    "  --set key=value      a loss parameter (repeatable; `ghm list losses` shows them)\n"
    "  --classes C          number of classes for proxy/classifier losses (default: max label + 1)\n"
    "  --seed S             seed of the loss's own initialisation and of the random batch (default 0)\n"
    "  --grad-out G.npy     write dL/dE, float32 (n, d)\n"
    "  --check              compare the gradient with finite differences; prints PASS or FAIL,\n"
    "                       exit status 1 on FAIL\n"
    "  --tol T              tolerance of the check's relative error |g - g_fd| / max(|g| + |g_fd|, 1e-3)\n"
    "                       (default 0.01)\n"
    "  --h H                first finite-difference step (default 0.001; 1/8 and 1/64 of it where the\n"
    "                       first step is not conclusive)\n"
    "\n"
    "A coordinate is wrong when the central difference disagrees with the gradient at two steps where\n"
    "the value looks smooth (both one-sided differences agree) and gives the same derivative at both.\n"
    "Coordinates still unresolved at h/64 are non-smooth there (a mined triplet switching, a count of\n"
    "non-zero terms changing): they are reported and left out; the check fails if any other coordinate\n"
    "is outside the tolerance, or if more than a quarter of the coordinates are left out. A large batch\n"
    "takes long (2 to 6 loss evaluations per coordinate): a warning with the estimate, then progress on\n"
    "stderr. Losses with a stop-gradient (circle, detach = 1)\n"
    "are checked against the gradient they implement: the derivative with the detached weights held\n"
    "constant.\n"
    "Exit status: 0 ok (check passed), 1 check failed, 2 bad input.\n";
/* The largest class count `ghm loss` accepts for n rows: class-sized state
 * (proxies, centres) is allocated from it, so it is bounded before anything
 * is sized from a label. */
static long max_classes(int n) { return n > LOSS_CLASS_FLOOR ? (long)n : (long)LOSS_CLASS_FLOOR; }

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

/* a random batch: n rows of dimension d, L2-normalised, labels i / per_class */
static int random_batch(int n, int d, int per_class, uint64_t seed, float **emb, int **labels)
{
    *emb = malloc((size_t)n * d * sizeof **emb);
    *labels = malloc((size_t)n * sizeof **labels);
    if (!*emb || !*labels) return -1;
    ghm_rng r;
    ghm_rng_seed(&r, seed, GHM_STREAM_USER);
    for (int i = 0; i < n; i++) {
        double s = 0;
        float *row = *emb + (size_t)i * d;
        for (int k = 0; k < d; k++) {
            row[k] = (float)ghm_rng_normal(&r);
            s += (double)row[k] * row[k];
        }
        s = sqrt(s > 0 ? s : 1);
        for (int k = 0; k < d; k++) row[k] = (float)(row[k] / s);
        (*labels)[i] = i / per_class;
    }
    return 0;
}

/* What the command line asked for. */
typedef struct {
    const char *name, *emb_path, *lab_path, *grad_path;
    const char *sets[GHM_MAX_PARAMS]; /* --set key=value, in order */
    int n_sets, check;
    long classes, seed, rn, rdim, rper; /* rn, rdim, rper: the random batch */
    double h, tol;
} loss_args;

/* Parse argv into a. Returns -1 to go on, else the exit status (0 after --help). */
static int parse_args(int argc, char **argv, loss_args *a)
{
    const char *val;
    for (int i = 1; i < argc; i++) {
        int m;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(help_text, stdout);
            return 0;
        }
        if ((m = ghm_cli_opt(argc, argv, &i, "--embeddings", &val))) {
            if (m < 0) return ghm_cli_usage("loss", "--embeddings needs a file");
            a->emb_path = val;
        } else if ((m = ghm_cli_opt(argc, argv, &i, "--labels", &val))) {
            if (m < 0) return ghm_cli_usage("loss", "--labels needs a file");
            a->lab_path = val;
        } else if ((m = ghm_cli_opt(argc, argv, &i, "--grad-out", &val))) {
            if (m < 0) return ghm_cli_usage("loss", "--grad-out needs a file");
            a->grad_path = val;
        } else if ((m = ghm_cli_opt(argc, argv, &i, "--set", &val))) {
            if (m < 0) return ghm_cli_usage("loss", "--set needs key=value");
            if (a->n_sets >= GHM_MAX_PARAMS) return ghm_cli_usage("loss", "too many --set values");
            a->sets[a->n_sets++] = val;
        } else if ((m = ghm_cli_opt(argc, argv, &i, "--classes", &val))) {
            if (m < 0) return ghm_cli_usage("loss", "--classes needs a number");
            if (ghm_cli_int("loss", "--classes", val, 1, 100000000, &a->classes)) return 2;
        } else if ((m = ghm_cli_opt(argc, argv, &i, "--seed", &val))) {
            if (m < 0) return ghm_cli_usage("loss", "--seed needs a number");
            if (ghm_cli_int("loss", "--seed", val, 0, 2147483647L, &a->seed)) return 2;
        } else if ((m = ghm_cli_opt(argc, argv, &i, "--h", &val))) {
            if (m < 0) return ghm_cli_usage("loss", "--h needs a number");
            if (ghm_cli_double("loss", "--h", val, &a->h)) return 2;
            if (!(a->h > 0 && a->h < 1)) return ghm_cli_usage("loss", "--h must be in (0, 1), got %s", val);
        } else if ((m = ghm_cli_opt(argc, argv, &i, "--tol", &val))) {
            if (m < 0) return ghm_cli_usage("loss", "--tol needs a number");
            if (ghm_cli_double("loss", "--tol", val, &a->tol)) return 2;
            if (!(a->tol > 0 && a->tol < 1)) return ghm_cli_usage("loss", "--tol must be in (0, 1), got %s", val);
        } else if ((m = ghm_cli_opt(argc, argv, &i, "--n", &val))) {
            if (m < 0) return ghm_cli_usage("loss", "--n needs a number");
            if (ghm_cli_int("loss", "--n", val, 1, 4096, &a->rn)) return 2;
        } else if ((m = ghm_cli_opt(argc, argv, &i, "--dim", &val))) {
            if (m < 0) return ghm_cli_usage("loss", "--dim needs a number");
            if (ghm_cli_int("loss", "--dim", val, 1, 4096, &a->rdim)) return 2;
        } else if ((m = ghm_cli_opt(argc, argv, &i, "--per-class", &val))) {
            if (m < 0) return ghm_cli_usage("loss", "--per-class needs a number");
            if (ghm_cli_int("loss", "--per-class", val, 1, 4096, &a->rper)) return 2;
        } else if (strcmp(argv[i], "--check") == 0) {
            a->check = 1;
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            return ghm_cli_usage("loss", "unknown option '%s'%s\nusage: %s", argv[i],
                                 ghm_cli_option_hint("loss", argv[i], usage), usage);
        } else if (!a->name) {
            a->name = argv[i];
        } else {
            return ghm_cli_usage("loss", "unexpected argument '%s'\nusage: %s", argv[i], usage);
        }
    }
    if (!a->name) return ghm_cli_usage("loss", "missing loss NAME\nusage: %s", usage);
    if (!a->emb_path != !a->lab_path)
        return ghm_cli_usage("loss", "--embeddings and --labels go together\nusage: %s", usage);
    return -1;
}

/* The loss's table and the --set values resolved against its spec. Returns -1 to go on, else the exit
 * status (an unknown name gets the registry's "did you mean"). */
static int resolve_loss(const loss_args *a, const ghm_loss_ops **ops, ghm_params *params)
{
    ghm_error err;
    ghm_error_clear(&err);
    *ops = ghm_loss_find(a->name);
    if (!*ops) {
        ghm_params none;
        ghm_params_clear(&none);
        ghm_loss *tmp = NULL;
        ghm_loss_create(a->name, &none, 1, 1, 0, &tmp, &err); /* builds the "did you mean" message */
        ghm_loss_destroy(tmp);
        return ghm_cli_fail(&err);
    }
    ghm_params_clear(params);
    for (int k = 0; k < a->n_sets; k++) {
        int rc = parse_set(*ops, a->sets[k], params);
        if (rc) return rc;
    }
    return -1;
}

/* The batch: the files, or a random one. Returns -1 to go on, else the exit status. */
static int load_batch(const loss_args *a, float **emb, int **labels, int *n, int *d)
{
    ghm_error err;
    ghm_error_clear(&err);
    int nl = 0;
    if (!a->emb_path) {
        if (random_batch((int)a->rn, (int)a->rdim, (int)a->rper, (uint64_t)a->seed, emb, labels)) {
            ghm_error_set(&err, GHM_ENOMEM, "out of memory for a %ld x %ld batch", a->rn, a->rdim);
            return ghm_cli_fail(&err);
        }
        *n = nl = (int)a->rn;
        *d = (int)a->rdim;
        printf("random batch: %d x %d, L2-normalised, %ld classes of %ld (the last may be smaller), seed %ld\n", *n,
               *d, (a->rn + a->rper - 1) / a->rper, a->rper, a->seed);
    } else if (ghm_npy_read_f32_2d(a->emb_path, emb, n, d, &err) ||
               ghm_npy_read_labels(a->lab_path, labels, &nl, &err)) {
        return ghm_cli_fail(&err);
    }
    if (*n < 1 || *d < 1) return ghm_cli_usage("loss", "%s: empty embedding array (%d x %d)", a->emb_path, *n, *d);
    if (nl != *n)
        return ghm_cli_usage("loss", "%s has %d labels but %s has %d rows", a->lab_path, nl, a->emb_path, *n);
    for (size_t k = 0; k < (size_t)*n * *d; k++)
        if (!isfinite((*emb)[k]))
            return ghm_cli_usage("loss", "%s: row %zu, column %zu: non-finite value (%g); embeddings must be finite",
                                 a->emb_path, k / (size_t)*d, k % (size_t)*d, (double)(*emb)[k]);
    return -1;
}

/* Labels in [0, classes) with classes = --classes or the largest label + 1, both bounded by
 * max_classes(n). Returns -1 to go on (with *classes set), else the exit status. */
static int check_labels(const loss_args *a, const int *labels, int n, long *classes)
{
    const char *lab_name = a->lab_path ? a->lab_path : "random batch";
    int max_label = 0;
    for (int i = 0; i < n; i++) {
        if (labels[i] < 0) return ghm_cli_usage("loss", "%s: label %d of item %d is negative", lab_name, labels[i], i);
        if (labels[i] >= max_classes(n))
            return ghm_cli_usage("loss",
                                 "%s: label %d of item %d is too large: labels must be below max(n, %d) = %ld "
                                 "for n = %d rows (renumber the classes 0, 1, 2, ...)",
                                 lab_name, labels[i], i, LOSS_CLASS_FLOOR, max_classes(n), n);
        if (labels[i] > max_label) max_label = labels[i];
    }
    *classes = a->classes;
    if (*classes > max_classes(n))
        return ghm_cli_usage("loss", "--classes %ld is too large: at most max(n, %d) = %ld for n = %d rows", *classes,
                             LOSS_CLASS_FLOOR, max_classes(n), n);
    if (*classes == 0) *classes = (long)max_label + 1;
    if (max_label >= *classes)
        return ghm_cli_usage("loss", "%s: label %d is outside [0, %ld) (--classes)", lab_name, max_label, *classes);
    return -1;
}

/* Say up front when the gradient check will take long (2 to 6 evaluations of the loss per coordinate; the
 * time of one evaluation: the faster of two, after the first call warmed up), and then show its progress
 * through ui. grad is scratch. Returns 0 or the exit status of a failed evaluation. */
static int warn_if_slow(ghm_loss *loss, const float *emb, const int *labels, int n, int d, float *grad,
                        ghm_grad_check *gc, check_ui *ui)
{
    ghm_error err;
    ghm_error_clear(&err);
    double t_eval = INFINITY, v_unused;
    for (int r = 0; r < 2; r++) {
        const double t0 = ghm_clock();
        if (ghm_loss_forward_backward(loss, emb, labels, n, d, &v_unused, grad, &err)) return ghm_cli_fail(&err);
        t_eval = fmin(t_eval, ghm_clock() - t0);
    }
    const double est = 2.0 * (double)n * d * t_eval;
    *ui = (check_ui){isatty(fileno(stderr)), ghm_clock(), -1e30};
    if (est > CHECK_SLOW_S) {
        char lo[32], hi[32];
        ghm_format_duration(lo, sizeof lo, est);
        ghm_format_duration(hi, sizeof hi, 3 * est);
        fprintf(stderr,
                "ghm loss: warning: the gradient check of %d x %d = %ld coordinates evaluates the loss 2 to 6 "
                "times per coordinate (%.3g s each here): about %s to %s. A smaller batch (--n/--dim, or "
                "fewer rows in E.npy) checks the same code faster.\n",
                n, d, (long)n * d, t_eval, lo, hi);
        gc->progress = check_progress;
        gc->progress_ctx = ui;
    }
    return 0;
}

/* The verdict of a finished gradient check: counts, left-out coordinates, worst error, PASS/FAIL. */
static void print_check(const char *name, const ghm_grad_check *gc, int d, double h, double tol)
{
    int judged = gc->n_coords - gc->n_discontinuous;
    printf("gradient check of %s (h = %g, tol = %g)%s:\n", name, h, tol,
           gc->used_check_value ? ", against the implemented stop-gradient (detached weights held constant)" : "");
    printf("  %d coordinates: %d agree by central difference, %d with a smaller step, %d by a one-sided "
           "difference (kink within h), %d discontinuities left out, %d wrong\n",
           gc->n_coords, gc->n_central, gc->n_smaller_step, gc->n_one_sided, gc->n_discontinuous, gc->n_wrong);
    if (gc->n_discontinuous > 0) {
        printf("  left out as non-smooth (an event within the smallest step, h/64):");
        for (int i = 0; i < GHM_GRAD_CHECK_LEFT_OUT && gc->left_out[i] >= 0; i++)
            printf("%s row %ld column %ld", i ? "," : "", gc->left_out[i] / d, gc->left_out[i] % d);
        printf("%s\n", gc->n_discontinuous > GHM_GRAD_CHECK_LEFT_OUT ? ", ..." : "");
    }
    if (gc->worst >= 0)
        printf("  max relative error %.3g over %d judged coordinates, at row %d column %d (analytic %.6g, "
               "numerical %.6g)\n",
               gc->max_rel_err, judged, gc->worst / d, gc->worst % d, gc->worst_analytic, gc->worst_numeric);
    if (gc->pass)
        printf("PASS: %s gradient agrees with finite differences (max relative error %.3g <= %g)\n", name,
               gc->max_rel_err, tol);
    else if (gc->n_wrong > 0 || !(gc->max_rel_err <= tol))
        printf("FAIL: %s gradient disagrees with finite differences at %d coordinate(s) (max relative error "
               "%.3g > %g)\n",
               name, gc->n_wrong, gc->max_rel_err, tol);
    else
        printf("FAIL: %s: %d of %d coordinates are discontinuities (more than %.0f%%): nothing to judge; try "
               "--h smaller or other parameters\n",
               name, gc->n_discontinuous, gc->n_coords, 100 * gc->max_discontinuous);
}

/* --check: time it, run it, print the verdict and the JSON line. Returns 0 (pass), 1 (fail) or the exit
 * status of an error. grad is scratch. */
static int run_check(const loss_args *a, ghm_loss *loss, const float *emb, const int *labels, int n, int d,
                     double value, float *grad)
{
    ghm_error err;
    ghm_error_clear(&err);
    ghm_grad_check gc;
    ghm_grad_check_init(&gc);
    gc.h = a->h;
    gc.tol = a->tol;
    check_ui ui;
    int rc = warn_if_slow(loss, emb, labels, n, d, grad, &gc, &ui);
    if (rc) return rc;
    if (ghm_loss_check_gradient(loss, emb, labels, n, d, &gc, &err)) return ghm_cli_fail(&err);
    print_check(a->name, &gc, d, a->h, a->tol);
    /* JSON: a non-finite value or error is written as null */
    printf("{\"loss\": \"%s\"", a->name);
    print_json_number("value", value);
    print_json_number("max_rel_err", gc.max_rel_err);
    printf(", \"discontinuous\": %d, \"pass\": %s}\n", gc.n_discontinuous, gc.pass ? "true" : "false");
    return gc.pass ? 0 : 1;
}

/* The loss's value and gradient on the batch, printed (and the gradient written with --grad-out), then
 * the check or the JSON line. */
static int evaluate(const loss_args *a, const ghm_params *params, const float *emb, const int *labels, int n, int d,
                    long classes)
{
    ghm_error err;
    ghm_error_clear(&err);
    ghm_loss *loss = NULL;
    float *grad = NULL;
    int status = 0;
    if (ghm_loss_create(a->name, params, d, (int)classes, (uint64_t)a->seed, &loss, &err)) {
        status = ghm_cli_fail(&err);
        goto done;
    }
    grad = malloc((size_t)n * d * sizeof *grad);
    if (!grad) {
        ghm_error_set(&err, GHM_ENOMEM, "out of memory for a %d x %d gradient", n, d);
        status = ghm_cli_fail(&err);
        goto done;
    }
    double value = 0.0;
    if (ghm_loss_forward_backward(loss, emb, labels, n, d, &value, grad, &err)) {
        status = ghm_cli_fail(&err);
        goto done;
    }
    if (!isfinite(value) || !ghm_all_finite(grad, (size_t)n * d)) {
        ghm_error_set(&err, GHM_ENUM, "loss '%s': non-finite value or gradient", a->name);
        status = ghm_cli_fail(&err);
        goto done;
    }
    printf("loss %s on %d x %d embeddings, %ld classes: %.10g\n", a->name, n, d, classes, value);
    if (a->grad_path) {
        size_t shape[2] = {(size_t)n, (size_t)d};
        if (ghm_npy_write_f32(a->grad_path, grad, 2, shape, &err)) {
            status = ghm_cli_fail(&err);
            goto done;
        }
        printf("wrote dL/dE (%d, %d) to %s\n", n, d, a->grad_path);
    }
    if (a->check) {
        status = run_check(a, loss, emb, labels, n, d, value, grad);
    } else {
        printf("{\"loss\": \"%s\"", a->name);
        print_json_number("value", value);
        printf("}\n");
    }
done:
    ghm_loss_destroy(loss);
    free(grad);
    return status;
}

int ghm_cmd_loss(int argc, char **argv)
{
    loss_args a = {0};
    a.rn = 32;
    a.rdim = 12;
    a.rper = 4;
    ghm_grad_check defaults;
    ghm_grad_check_init(&defaults);
    a.h = defaults.h;
    a.tol = defaults.tol;
    int status = parse_args(argc, argv, &a);
    if (status >= 0) return status;
    const ghm_loss_ops *ops;
    ghm_params params;
    status = resolve_loss(&a, &ops, &params);
    if (status >= 0) return status;

    float *emb = NULL;
    int *labels = NULL, n = 0, d = 0;
    long classes = 0;
    status = load_batch(&a, &emb, &labels, &n, &d);
    if (status < 0) status = check_labels(&a, labels, n, &classes);
    if (status < 0) status = evaluate(&a, &params, emb, labels, n, d, classes);
    free(emb);
    free(labels);
    return status;
}
