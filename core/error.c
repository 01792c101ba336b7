#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void ghm_error_clear(ghm_error *err)
{
    if (!err) return;
    err->code = 0;
    err->msg[0] = '\0';
}

int ghm_error_set(ghm_error *err, int code, const char *fmt, ...)
{
    if (!err) return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

int ghm_error_set_at(ghm_error *err, int code, const char *file, int line, const char *fmt, ...)
{
    if (!err) return code;
    err->code = code;
    const char *base = strrchr(file, '/');
    /* keep "dir/file.c" for readability */
    if (base && base != file) {
        const char *p = base - 1;
        while (p > file && *p != '/') p--;
        file = (*p == '/') ? p + 1 : p;
    }
    int n = snprintf(err->msg, sizeof err->msg, "%s:%d: ", file, line);
    if (n < 0 || (size_t)n >= sizeof err->msg) return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg + n, sizeof err->msg - (size_t)n, fmt, ap);
    va_end(ap);
    return code;
}

int ghm_error_prefix(ghm_error *err, const char *fmt, ...)
{
    if (!err) return GHM_EFAIL;
    char buf[2 * GHM_ERROR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, GHM_ERROR_MSG_MAX, fmt, ap);
    va_end(ap);
    if (n < 0) return err->code;
    if (n >= GHM_ERROR_MSG_MAX) n = GHM_ERROR_MSG_MAX - 1;
    memcpy(buf + n, ": ", 3);
    size_t used = (size_t)n + 2, len = strlen(err->msg);
    memcpy(buf + used, err->msg, len + 1);
    memcpy(err->msg, buf, GHM_ERROR_MSG_MAX - 1);
    err->msg[GHM_ERROR_MSG_MAX - 1] = '\0';
    return err->code;
}

int ghm_error_exit_status(int code)
{
    switch (code) {
    case GHM_OK: return 0;
    case GHM_EINPUT: return 2;
    case GHM_EINTR: return 130;
    default: return 1;
    }
}

const char *ghm_error_name(int code)
{
    switch (code) {
    case GHM_OK: return "ok";
    case GHM_EINPUT: return "bad input";
    case GHM_EIO: return "I/O error";
    case GHM_ENOMEM: return "out of memory";
    case GHM_ENUM: return "numerical error";
    case GHM_EINTR: return "interrupted";
    default: return "failed";
    }
}
