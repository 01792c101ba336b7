/* Minimal JSON: a DOM parser (for records, npm data) and a streaming writer
 * (records, --json output). Why it is hand-written: docs/architecture.md,
 * "Design notes".
 *
 * Numbers are doubles; the writer prints them so that they parse back to the
 * same double (integers below 1e15 without decimals, others with %.17g; -0 as
 * 0), NaN/Inf as null. Object members keep their order, in the parsed DOM and
 * in the written text. Parse errors are GHM_EINPUT
 * "<source>:line:column: message" (line and column 1-based, column in bytes).
 */
#ifndef GHM_JSON_H
#define GHM_JSON_H

#include "error.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Deepest nesting of arrays and objects, in what the parser accepts and the
 * writer writes: "[[1]]" is 2 deep. Deeper input is a parse error (never a
 * stack overflow); a writer asked to go deeper fails (failed = 1). Nothing ghm
 * writes or reads nests more than a few levels; experiment files have the
 * same limit for flow collections (GHM_YAML_MAX_DEPTH). */
#define GHM_JSON_MAX_DEPTH 64

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
 * are handled automatically. An allocation failure, or nesting deeper than
 * GHM_JSON_MAX_DEPTH, sets failed = 1 (and nothing more is written). */
typedef struct ghm_jw {
    char *buf;       /* NUL-terminated output */
    size_t len, cap;
    int depth;       /* arrays and objects open */
    int first[GHM_JSON_MAX_DEPTH + 1]; /* per depth: 1 until the first element is written */
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

#ifdef __cplusplus
}
#endif
#endif
