/* Growing text buffer. */
#include "core/textbuf.h"

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

/* ---- escaping ---- */

char ghm_tb_safe_char(char c)
{
    unsigned char u = (unsigned char)c;
    if (u == '\t' || u == '\n' || u == '\r' || u == '\v' || u == '\f') return ' ';
    if (u < 0x20 || u == 0x7f) return '?';
    return c;
}

static void tb_putc(ghm_tb *b, char c)
{
    if (tb_reserve(b, 1) < 0) return;
    b->buf[b->len++] = c;
    b->buf[b->len] = '\0';
}

void ghm_tb_text(ghm_tb *b, const char *s)
{
    for (; *s; s++) tb_putc(b, ghm_tb_safe_char(*s));
}

void ghm_tb_md(ghm_tb *b, const char *s)
{
    for (; *s; s++) {
        char c = ghm_tb_safe_char(*s);
        switch (c) {
        case '&': ghm_tb_puts(b, "&amp;"); break;
        case '<': ghm_tb_puts(b, "&lt;"); break;
        case '>': ghm_tb_puts(b, "&gt;"); break;
        /* table cells, code spans, links and images, escapes: shown as written */
        case '|':
        case '`':
        case '[':
        case ']':
        case '\\':
            tb_putc(b, '\\');
            tb_putc(b, c);
            break;
        default: tb_putc(b, c);
        }
    }
}

static void html_esc(ghm_tb *b, const char *s, int pre)
{
    for (; *s; s++) {
        char c = (pre && (*s == '\n' || *s == '\t')) ? *s : ghm_tb_safe_char(*s);
        switch (c) {
        case '&': ghm_tb_puts(b, "&amp;"); break;
        case '<': ghm_tb_puts(b, "&lt;"); break;
        case '>': ghm_tb_puts(b, "&gt;"); break;
        case '"': ghm_tb_puts(b, "&quot;"); break;
        case '\'': ghm_tb_puts(b, "&#39;"); break;
        default: tb_putc(b, c);
        }
    }
}

void ghm_tb_html(ghm_tb *b, const char *s) { html_esc(b, s, 0); }
void ghm_tb_html_pre(ghm_tb *b, const char *s) { html_esc(b, s, 1); }

void ghm_tb_tex(ghm_tb *b, const char *s)
{
    for (; *s; s++) {
        char c = ghm_tb_safe_char(*s);
        switch (c) {
        case '_': ghm_tb_puts(b, "\\_"); break;
        case '%': ghm_tb_puts(b, "\\%"); break;
        case '&': ghm_tb_puts(b, "\\&"); break;
        case '#': ghm_tb_puts(b, "\\#"); break;
        case '$': ghm_tb_puts(b, "\\$"); break;
        case '{': ghm_tb_puts(b, "\\{"); break;
        case '}': ghm_tb_puts(b, "\\}"); break;
        case '~': ghm_tb_puts(b, "\\textasciitilde{}"); break;
        case '^': ghm_tb_puts(b, "\\textasciicircum{}"); break;
        case '\\': ghm_tb_puts(b, "\\textbackslash{}"); break;
        case '<': ghm_tb_puts(b, "\\textless{}"); break;
        case '>': ghm_tb_puts(b, "\\textgreater{}"); break;
        case '|': ghm_tb_puts(b, "\\textbar{}"); break;
        default: tb_putc(b, c);
        }
    }
}
