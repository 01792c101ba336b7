/* A growing text buffer with printf-style appends (harness-internal). */
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
/* Hand the text to *out (malloc'd) or fail with GHM_ENOMEM; b is reset either way. */
int ghm_tb_finish(ghm_tb *b, char **out, ghm_error *err);

#endif
