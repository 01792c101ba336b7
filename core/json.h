/* Minimal JSON: a DOM parser (for records, npm data) and a streaming writer
 * (records, --json output), plus atomic file writes.
 *
 * Numbers are doubles; the writer prints them with %.17g (round-trip exact),
 * NaN/Inf as null. Parse errors are GHM_EINPUT "<source>:line:column: message".
 */
#ifndef GHM_JSON_H
#define GHM_JSON_H

#include "error.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { GHM_JSON_NULL, GHM_JSON_BOOL, GHM_JSON_NUMBER, GHM_JSON_STRING, GHM_JSON_ARRAY, GHM_JSON_OBJECT } ghm_json_type;

typedef struct ghm_json {
    ghm_json_type type;
    double num;              /* NUMBER (and BOOL as 0/1) */
    char *str;               /* STRING (NUL-terminated, UTF-8) */
    int n;                   /* ARRAY/OBJECT: number of items */
    struct ghm_json *items;  /* ARRAY/OBJECT: (n) values */
    char **keys;             /* OBJECT: (n) keys */
} ghm_json;

int ghm_json_parse(const char *text, size_t len, const char *source, ghm_json **out, ghm_error *err);
/* Parse a regular file of at most GHM_READ_MAX_TEXT bytes (core/fileio.h). */
int ghm_json_parse_file(const char *path, ghm_json **out, ghm_error *err);
void ghm_json_free(ghm_json *j);
/* Object member by key (NULL when absent or j is not an object). */
const ghm_json *ghm_json_get(const ghm_json *j, const char *key);
/* Typed getters with defaults (when absent or of another type). */
double ghm_json_num(const ghm_json *j, const char *key, double def);
const char *ghm_json_str(const ghm_json *j, const char *key, const char *def);

/* Streaming writer into a growing buffer. Commas and (when pretty) indentation
 * are handled automatically. Any allocation failure sets failed = 1. */
typedef struct ghm_jw {
    char *buf;       /* NUL-terminated output */
    size_t len, cap;
    int depth;
    int first[64];   /* per depth: 1 until the first element is written */
    int after_key;   /* 1 right after a key: the next value needs no comma */
    int pretty;      /* 1: newlines and 2-space indentation */
    int failed;
} ghm_jw;

void ghm_jw_init(ghm_jw *w, int pretty);
void ghm_jw_free(ghm_jw *w);
void ghm_jw_begin_object(ghm_jw *w);
void ghm_jw_end_object(ghm_jw *w);
void ghm_jw_begin_array(ghm_jw *w);
void ghm_jw_end_array(ghm_jw *w);
void ghm_jw_key(ghm_jw *w, const char *key);
void ghm_jw_string(ghm_jw *w, const char *s);
void ghm_jw_number(ghm_jw *w, double v);
void ghm_jw_int(ghm_jw *w, long long v);
void ghm_jw_bool(ghm_jw *w, int v);
void ghm_jw_null(ghm_jw *w);

/* Write a file atomically: temp file in the same directory, fsync, rename.
 * A reader sees either the old content or the new, never a partial file. */
int ghm_write_file_atomic(const char *path, const void *data, size_t n, ghm_error *err);
/* Read a whole file (NUL-terminated, malloc'd): a regular file of at most
 * GHM_READ_MAX_TEXT bytes; ghm_read_file_max (core/fileio.h) takes a cap. */
int ghm_read_file(const char *path, char **data, size_t *n, ghm_error *err);
/* mkdir -p. */
int ghm_mkdirs(const char *path, ghm_error *err);

#ifdef __cplusplus
}
#endif
#endif
