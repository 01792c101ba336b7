/* Minimal JSON: recursive-descent DOM parser with line:column errors and a
 * streaming writer. */
#include "json.h"

#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* parser                                                                    */

#define GHM_JSON_STR_(x) #x
#define GHM_JSON_STR(x) GHM_JSON_STR_(x)

typedef struct {
    const char *s;      /* text */
    size_t len, pos;    /* length, cursor */
    const char *source; /* name for messages */
    ghm_error *err;
} jp;

static void jp_linecol(const jp *p, size_t pos, int *line, int *col)
{
    int l = 1, c = 1;
    for (size_t i = 0; i < pos && i < p->len; i++) {
        if (p->s[i] == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

static int jp_fail(jp *p, size_t pos, const char *msg)
{
    int line, col;
    jp_linecol(p, pos, &line, &col);
    return ghm_error_set(p->err, GHM_EINPUT, "%s:%d:%d: %s", p->source ? p->source : "<json>", line, col, msg);
}

static void jp_ws(jp *p)
{
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
            p->pos++;
        else
            break;
    }
}

/* growing char buffer */
typedef struct {
    char *b;
    size_t n, cap;
} sbuf;

static int sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 32;
        while (cap < b->n + n + 1) cap *= 2;
        char *nb = realloc(b->b, cap);
        if (!nb) return -1;
        b->b = nb;
        b->cap = cap;
    }
    memcpy(b->b + b->n, s, n);
    b->n += n;
    b->b[b->n] = '\0';
    return 0;
}

static int hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static int utf8_put(sbuf *b, unsigned cp)
{
    char t[4];
    size_t n;
    if (cp < 0x80) {
        t[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        t[0] = (char)(0xC0 | (cp >> 6));
        t[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        t[0] = (char)(0xE0 | (cp >> 12));
        t[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        t[0] = (char)(0xF0 | (cp >> 18));
        t[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        t[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return sb_put(b, t, n);
}

/* p->pos at the opening quote; *out malloc'd */
static int jp_string(jp *p, char **out)
{
    size_t start = p->pos;
    p->pos++; /* '"' */
    sbuf b = {0};
    if (sb_put(&b, "", 0) < 0) return ghm_error_set(p->err, GHM_ENOMEM, "%s: out of memory", p->source);
    for (;;) {
        if (p->pos >= p->len) {
            free(b.b);
            return jp_fail(p, start, "unterminated string");
        }
        unsigned char c = (unsigned char)p->s[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20) {
            free(b.b);
            return jp_fail(p, p->pos, "control character in string");
        }
        if (c == '\\') {
            if (p->pos + 1 >= p->len) {
                free(b.b);
                return jp_fail(p, start, "unterminated string");
            }
            char e = p->s[p->pos + 1];
            const char *rep = NULL;
            switch (e) {
            case '"': rep = "\""; break;
            case '\\': rep = "\\"; break;
            case '/': rep = "/"; break;
            case 'b': rep = "\b"; break;
            case 'f': rep = "\f"; break;
            case 'n': rep = "\n"; break;
            case 'r': rep = "\r"; break;
            case 't': rep = "\t"; break;
            case 'u': break;
            default:
                free(b.b);
                return jp_fail(p, p->pos, "invalid escape in string");
            }
            if (rep) {
                if (sb_put(&b, rep, 1) < 0) goto nomem;
                p->pos += 2;
                continue;
            }
            unsigned cp;
            if (p->pos + 6 > p->len || hex4(p->s + p->pos + 2, &cp) < 0) {
                free(b.b);
                return jp_fail(p, p->pos, "invalid \\u escape");
            }
            size_t esc = p->pos;
            p->pos += 6;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned lo;
                if (p->pos + 6 <= p->len && p->s[p->pos] == '\\' && p->s[p->pos + 1] == 'u' &&
                    hex4(p->s + p->pos + 2, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p->pos += 6;
                } else {
                    free(b.b);
                    return jp_fail(p, esc, "unpaired surrogate in \\u escape");
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                free(b.b);
                return jp_fail(p, esc, "unpaired surrogate in \\u escape");
            }
            if (utf8_put(&b, cp) < 0) goto nomem;
            continue;
        }
        /* plain run */
        size_t q = p->pos;
        while (q < p->len && p->s[q] != '"' && p->s[q] != '\\' && (unsigned char)p->s[q] >= 0x20) q++;
        if (sb_put(&b, p->s + p->pos, q - p->pos) < 0) goto nomem;
        p->pos = q;
    }
    *out = b.b;
    return 0;
nomem:
    free(b.b);
    return ghm_error_set(p->err, GHM_ENOMEM, "%s: out of memory", p->source);
}

static int jp_number(jp *p, ghm_json *v)
{
    size_t start = p->pos, q = p->pos;
    if (q < p->len && p->s[q] == '-') q++;
    if (q >= p->len) return jp_fail(p, start, "invalid number");
    if (p->s[q] == '0') {
        q++;
    } else if (p->s[q] >= '1' && p->s[q] <= '9') {
        while (q < p->len && p->s[q] >= '0' && p->s[q] <= '9') q++;
    } else {
        return jp_fail(p, start, "invalid number");
    }
    if (q < p->len && p->s[q] == '.') {
        q++;
        if (q >= p->len || p->s[q] < '0' || p->s[q] > '9') return jp_fail(p, start, "invalid number: digit expected after '.'");
        while (q < p->len && p->s[q] >= '0' && p->s[q] <= '9') q++;
    }
    if (q < p->len && (p->s[q] == 'e' || p->s[q] == 'E')) {
        q++;
        if (q < p->len && (p->s[q] == '+' || p->s[q] == '-')) q++;
        if (q >= p->len || p->s[q] < '0' || p->s[q] > '9') return jp_fail(p, start, "invalid number: digit expected in exponent");
        while (q < p->len && p->s[q] >= '0' && p->s[q] <= '9') q++;
    }
    char tmp[128];
    size_t n = q - start;
    char *buf = tmp;
    if (n >= sizeof tmp) {
        buf = malloc(n + 1);
        if (!buf) return ghm_error_set(p->err, GHM_ENOMEM, "%s: out of memory", p->source);
    }
    memcpy(buf, p->s + start, n);
    buf[n] = '\0';
    v->type = GHM_JSON_NUMBER;
    v->num = strtod(buf, NULL);
    if (buf != tmp) free(buf);
    p->pos = q;
    return 0;
}

static int jp_lit(jp *p, const char *word)
{
    size_t n = strlen(word);
    if (p->pos + n > p->len || memcmp(p->s + p->pos, word, n) != 0) return 0;
    p->pos += n;
    return 1;
}

static int jp_value(jp *p, ghm_json *v, int depth);

/* append one value slot to an array/object under construction */
static int jp_push(jp *p, ghm_json *v, int *cap, int with_key)
{
    if (v->n == *cap) {
        int nc = *cap ? *cap * 2 : 4;
        ghm_json *ni = realloc(v->items, (size_t)nc * sizeof *ni);
        if (!ni) return ghm_error_set(p->err, GHM_ENOMEM, "%s: out of memory", p->source);
        v->items = ni;
        if (with_key) {
            char **nk = realloc(v->keys, (size_t)nc * sizeof *nk);
            if (!nk) return ghm_error_set(p->err, GHM_ENOMEM, "%s: out of memory", p->source);
            v->keys = nk;
        }
        *cap = nc;
    }
    memset(&v->items[v->n], 0, sizeof v->items[v->n]);
    if (with_key) v->keys[v->n] = NULL;
    return 0;
}

static void json_clear(ghm_json *j);

static int jp_value(jp *p, ghm_json *v, int depth)
{
    memset(v, 0, sizeof *v);
    jp_ws(p);
    if (p->pos >= p->len) return jp_fail(p, p->pos, "unexpected end of input, value expected");
    char c = p->s[p->pos];
    /* depth: the arrays and objects around this value */
    if ((c == '{' || c == '[') && depth >= GHM_JSON_MAX_DEPTH)
        return jp_fail(p, p->pos, "arrays and objects nested more than " GHM_JSON_STR(GHM_JSON_MAX_DEPTH) " deep");
    int rc;
    if (c == '{') {
        v->type = GHM_JSON_OBJECT;
        int cap = 0;
        p->pos++;
        jp_ws(p);
        if (p->pos < p->len && p->s[p->pos] == '}') {
            p->pos++;
            return 0;
        }
        for (;;) {
            jp_ws(p);
            if (p->pos >= p->len) return jp_fail(p, p->pos, "unexpected end of input in object");
            if (p->s[p->pos] != '"') return jp_fail(p, p->pos, "string key expected in object");
            if ((rc = jp_push(p, v, &cap, 1)) < 0) return rc;
            v->n++; /* slot owned now (key NULL, item NULL-type) so json_clear frees it on error */
            if ((rc = jp_string(p, &v->keys[v->n - 1])) < 0) return rc;
            jp_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':') return jp_fail(p, p->pos, "':' expected after object key");
            p->pos++;
            if ((rc = jp_value(p, &v->items[v->n - 1], depth + 1)) < 0) return rc;
            jp_ws(p);
            if (p->pos >= p->len) return jp_fail(p, p->pos, "unexpected end of input in object");
            if (p->s[p->pos] == ',') {
                p->pos++;
                continue;
            }
            if (p->s[p->pos] == '}') {
                p->pos++;
                return 0;
            }
            return jp_fail(p, p->pos, "',' or '}' expected in object");
        }
    }
    if (c == '[') {
        v->type = GHM_JSON_ARRAY;
        int cap = 0;
        p->pos++;
        jp_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ']') {
            p->pos++;
            return 0;
        }
        for (;;) {
            if ((rc = jp_push(p, v, &cap, 0)) < 0) return rc;
            v->n++;
            if ((rc = jp_value(p, &v->items[v->n - 1], depth + 1)) < 0) return rc;
            jp_ws(p);
            if (p->pos >= p->len) return jp_fail(p, p->pos, "unexpected end of input in array");
            if (p->s[p->pos] == ',') {
                p->pos++;
                continue;
            }
            if (p->s[p->pos] == ']') {
                p->pos++;
                return 0;
            }
            return jp_fail(p, p->pos, "',' or ']' expected in array");
        }
    }
    if (c == '"') {
        v->type = GHM_JSON_STRING;
        return jp_string(p, &v->str);
    }
    if (c == '-' || (c >= '0' && c <= '9')) return jp_number(p, v);
    if (jp_lit(p, "true")) {
        v->type = GHM_JSON_BOOL;
        v->num = 1;
        return 0;
    }
    if (jp_lit(p, "false")) {
        v->type = GHM_JSON_BOOL;
        v->num = 0;
        return 0;
    }
    if (jp_lit(p, "null")) {
        v->type = GHM_JSON_NULL;
        return 0;
    }
    return jp_fail(p, p->pos, "unexpected character, value expected");
}

static void json_clear(ghm_json *j)
{
    if (!j) return;
    free(j->str);
    for (int i = 0; i < j->n; i++) {
        if (j->items) json_clear(&j->items[i]);
        if (j->keys) free(j->keys[i]);
    }
    free(j->items);
    free(j->keys);
    memset(j, 0, sizeof *j);
}

int ghm_json_parse(const char *text, size_t len, const char *source, ghm_json **out, ghm_error *err)
{
    *out = NULL;
    jp p = {text, len, 0, source ? source : "<json>", err};
    ghm_json *v = calloc(1, sizeof *v);
    if (!v) return ghm_error_set(err, GHM_ENOMEM, "%s: out of memory", p.source);
    int rc = jp_value(&p, v, 0);
    if (rc == 0) {
        jp_ws(&p);
        if (p.pos < p.len) rc = jp_fail(&p, p.pos, "unexpected data after the JSON value");
    }
    if (rc < 0) {
        json_clear(v);
        free(v);
        return rc;
    }
    *out = v;
    return 0;
}

int ghm_json_parse_file(const char *path, ghm_json **out, ghm_error *err)
{
    *out = NULL;
    char *data;
    size_t n;
    int rc = ghm_read_file_max(path, "JSON file", GHM_READ_MAX_TEXT, &data, &n, err);
    if (rc < 0) return rc;
    rc = ghm_json_parse(data, n, path, out, err);
    free(data);
    return rc;
}

void ghm_json_free(ghm_json *j)
{
    if (!j) return;
    json_clear(j);
    free(j);
}

const ghm_json *ghm_json_get(const ghm_json *j, const char *key)
{
    if (!j || j->type != GHM_JSON_OBJECT || !key) return NULL;
    for (int i = 0; i < j->n; i++)
        if (j->keys[i] && strcmp(j->keys[i], key) == 0) return &j->items[i];
    return NULL;
}

double ghm_json_num(const ghm_json *j, const char *key, double def)
{
    const ghm_json *v = ghm_json_get(j, key);
    if (!v || (v->type != GHM_JSON_NUMBER && v->type != GHM_JSON_BOOL)) return def;
    return v->num;
}

const char *ghm_json_str(const ghm_json *j, const char *key, const char *def)
{
    const ghm_json *v = ghm_json_get(j, key);
    if (!v || v->type != GHM_JSON_STRING) return def;
    return v->str;
}

/* ------------------------------------------------------------------------ */
/* writer                                                                    */

void ghm_jw_init(ghm_jw *w, int pretty)
{
    memset(w, 0, sizeof *w);
    w->pretty = pretty;
    w->first[0] = 1;
    w->cap = 256;
    w->buf = malloc(w->cap);
    if (!w->buf) {
        w->failed = 1;
        w->cap = 0;
        return;
    }
    w->buf[0] = '\0';
}

void ghm_jw_free(ghm_jw *w)
{
    free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
}

static void jw_put(ghm_jw *w, const char *s, size_t n)
{
    if (w->failed) return;
    if (w->len + n + 1 > w->cap) {
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + n + 1) cap *= 2;
        char *nb = realloc(w->buf, cap);
        if (!nb) {
            w->failed = 1;
            return;
        }
        w->buf = nb;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static void jw_puts(ghm_jw *w, const char *s) { jw_put(w, s, strlen(s)); }

static void jw_newline(ghm_jw *w)
{
    if (!w->pretty) return;
    jw_put(w, "\n", 1);
    for (int i = 0; i < w->depth; i++) jw_put(w, "  ", 2);
}

/* before any value or key: comma + indentation as needed */
static void jw_pre(ghm_jw *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return;
    }
    if (!w->first[w->depth]) jw_put(w, ",", 1);
    w->first[w->depth] = 0;
    if (w->depth > 0) jw_newline(w);
}

static void jw_open(ghm_jw *w, const char *c)
{
    if (w->depth >= GHM_JSON_MAX_DEPTH) w->failed = 1; /* first[] has no room for one more level */
    jw_pre(w);
    jw_puts(w, c);
    if (w->failed) return;
    w->depth++;
    w->first[w->depth] = 1;
}

static void jw_close(ghm_jw *w, const char *c)
{
    int empty = w->first[w->depth];
    if (w->depth > 0) w->depth--;
    if (!empty) jw_newline(w);
    jw_puts(w, c);
}

void ghm_jw_begin_object(ghm_jw *w) { jw_open(w, "{"); }
void ghm_jw_end_object(ghm_jw *w) { jw_close(w, "}"); }
void ghm_jw_begin_array(ghm_jw *w) { jw_open(w, "["); }
void ghm_jw_end_array(ghm_jw *w) { jw_close(w, "]"); }

static void jw_quoted(ghm_jw *w, const char *s)
{
    jw_put(w, "\"", 1);
    if (!s) s = "";
    const char *run = s;
    for (const char *q = s; *q; q++) {
        unsigned char c = (unsigned char)*q;
        const char *esc = NULL;
        char ubuf[8];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
            if (c < 0x20) {
                snprintf(ubuf, sizeof ubuf, "\\u%04x", c);
                esc = ubuf;
            }
        }
        if (esc) {
            jw_put(w, run, (size_t)(q - run));
            jw_puts(w, esc);
            run = q + 1;
        }
    }
    jw_puts(w, run);
    jw_put(w, "\"", 1);
}

void ghm_jw_key(ghm_jw *w, const char *key)
{
    jw_pre(w);
    jw_quoted(w, key);
    jw_puts(w, w->pretty ? ": " : ":");
    w->after_key = 1;
}

void ghm_jw_string(ghm_jw *w, const char *s)
{
    jw_pre(w);
    jw_quoted(w, s);
}

void ghm_jw_number(ghm_jw *w, double v)
{
    jw_pre(w);
    if (!isfinite(v)) {
        jw_puts(w, "null");
        return;
    }
    char b[40];
    /* integers print without exponent/decimals; others round-trip exact */
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(b, sizeof b, "%.0f", v);
    else
        snprintf(b, sizeof b, "%.17g", v);
    if (strcmp(b, "-0") == 0) snprintf(b, sizeof b, "0");
    jw_puts(w, b);
}

void ghm_jw_int(ghm_jw *w, long long v)
{
    jw_pre(w);
    char b[32];
    snprintf(b, sizeof b, "%lld", v);
    jw_puts(w, b);
}

void ghm_jw_bool(ghm_jw *w, int v)
{
    jw_pre(w);
    jw_puts(w, v ? "true" : "false");
}

void ghm_jw_null(ghm_jw *w)
{
    jw_pre(w);
    jw_puts(w, "null");
}
