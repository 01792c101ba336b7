/* ghm error reporting.
 *
 * Library functions never print and never exit. They return 0 on success or a
 * negative GHM_E* code, and fill a ghm_error with a human-readable message.
 * Only the CLI prints the message and chooses the exit code:
 *   0 ok, 1 run failed (GHM_EFAIL, GHM_ENOMEM, GHM_EIO, GHM_ENUM), 2 bad input / usage (GHM_EINPUT).
 *
 * Messages name where the problem is: a file (and line/column for YAML), a
 * field, or a source location for internal errors ("core/npy.c:120").
 */
#ifndef GHM_ERROR_H
#define GHM_ERROR_H

#ifdef __cplusplus
extern "C" {
#endif

enum {
    GHM_OK = 0,
    GHM_EINPUT = -1, /* bad user input: file format, config value, shape, usage -> exit 2 */
    GHM_EIO = -2,    /* I/O failure (cannot open/read/write a file that should be fine) -> exit 1 */
    GHM_ENOMEM = -3, /* allocation failed -> exit 1 */
    GHM_ENUM = -4,   /* numerical failure: NaN/Inf in loss or gradients -> exit 1 */
    GHM_EFAIL = -5,  /* anything else that failed at run time -> exit 1 */
    GHM_EINTR = -6   /* interrupted by a signal (Ctrl-C); work so far is kept -> exit 130 */
};

#define GHM_ERROR_MSG_MAX 1024

typedef struct ghm_error {
    int code;                     /* one of GHM_E*, 0 when no error */
    char msg[GHM_ERROR_MSG_MAX];  /* "file:line: what is wrong" */
} ghm_error;

/* Clear an error (code 0, empty message). err may be NULL. */
void ghm_error_clear(ghm_error *err);

/* Set err (may be NULL) to code with a printf-style message; returns code so
 * callers can write `return ghm_error_set(err, GHM_EINPUT, "...")`. */
int ghm_error_set(ghm_error *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Prepend context to an existing message: "ctx: old message". Returns err->code. */
int ghm_error_prefix(ghm_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The CLI exit status for an error code: 0, 1, 2 or 130. */
int ghm_error_exit_status(int code);

/* Short name of a code ("bad input", "I/O error", ...). */
const char *ghm_error_name(int code);

/* Set an internal error tagged with the source location. */
#define GHM_FAIL(err, code, ...) ghm_error_set_at((err), (code), __FILE__, __LINE__, __VA_ARGS__)
int ghm_error_set_at(ghm_error *err, int code, const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

#ifdef __cplusplus
}
#endif
#endif
