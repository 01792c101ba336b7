/* A growing text buffer with printf-style appends. */
#ifndef GHM_TEXTBUF_H
#define GHM_TEXTBUF_H

#include "../core/error.h"

#include <stddef.h>

typedef struct ghm_tb {
    char *buf;   /* NUL-terminated text */
    size_t len, cap;
    int failed;  /* 1 after an allocation failure */
} ghm_tb;

void ghm_tb_init(ghm_tb *b);
void ghm_tb_free(ghm_tb *b);
void ghm_tb_puts(ghm_tb *b, const char *s);
void ghm_tb_printf(ghm_tb *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Escaping. Every string that comes from an experiment file, a record or a
 * results directory (names, paths, setting values, failure reasons, titles)
 * goes into an output through one of these (gnuplot: ghm_gp_str in plot.h).
 * Control characters never pass: a tab or line break becomes a space, any
 * other byte below 0x20 and 0x7f becomes '?', so no value can start a new
 * line, table row or command. */
void ghm_tb_text(ghm_tb *b, const char *s);     /* plain one-line text (comments in data files, messages) */
void ghm_tb_md(ghm_tb *b, const char *s);       /* Markdown text or table cell: HTML, links, code and '|' literal */
void ghm_tb_html(ghm_tb *b, const char *s);     /* HTML text or quoted attribute value */
void ghm_tb_html_pre(ghm_tb *b, const char *s); /* HTML inside <pre>: keeps line breaks and tabs */
void ghm_tb_tex(ghm_tb *b, const char *s);      /* LaTeX text */
/* The replacement of byte c under the rule above: c itself, ' ' or '?'. */
char ghm_tb_safe_char(char c);

/* Hand the text to *out (malloc'd) or fail with GHM_ENOMEM; b is reset either way. */
int ghm_tb_finish(ghm_tb *b, char **out, ghm_error *err);

#endif
