/* Growing text buffer (harness-internal). */
#include "textbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ghm_tb_init(ghm_tb *b) { memset(b, 0, sizeof *b); }

void ghm_tb_free(ghm_tb *b)
{
    free(b->buf);
    memset(b, 0, sizeof *b);
}

static int tb_reserve(ghm_tb *b, size_t extra)
{
    if (b->failed) return -1;
    if (b->len + extra + 1 <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->len + extra + 1) cap *= 2;
    char *nb = realloc(b->buf, cap);
    if (!nb) {
        b->failed = 1;
        return -1;
    }
    b->buf = nb;
    b->cap = cap;
    return 0;
}

void ghm_tb_puts(ghm_tb *b, const char *s)
{
    size_t n = strlen(s);
    if (tb_reserve(b, n) < 0) return;
    memcpy(b->buf + b->len, s, n + 1);
    b->len += n;
}

void ghm_tb_printf(ghm_tb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || tb_reserve(b, (size_t)n) < 0) return;
    va_start(ap, fmt);
    vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

int ghm_tb_finish(ghm_tb *b, char **out, ghm_error *err)
{
    *out = NULL;
    if (tb_reserve(b, 0) < 0) {
        ghm_tb_free(b);
        return GHM_FAIL(err, GHM_ENOMEM, "out of memory (text)");
    }
    *out = b->buf;
    memset(b, 0, sizeof *b);
    return 0;
}
