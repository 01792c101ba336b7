/* The run settings table (experiment/settings.h) as data, its typed parser,
 * defaults, canonical formatting and listing. */
#include "settings.h"

#include "../backbones/backbone.h"
#include "../core/params.h"
#include "core/textbuf.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const ghm_cfg_split_names[] = {"standard", "classes", NULL};

#define GHM_SETTING_ROW(path, type, member, def, lo, hi, lo_open, hi_open, choices, id, legacy, doc)                 \
    {path, GHM_SET_##type, #member, offsetof(ghm_run_spec, member), sizeof(((ghm_run_spec *)0)->member), def, lo, hi, \
     lo_open, hi_open, choices, GHM_SET_##id, legacy, doc},
const ghm_setting ghm_settings[] = {GHM_SETTINGS(GHM_SETTING_ROW)};
#undef GHM_SETTING_ROW
const int ghm_settings_count = (int)(sizeof ghm_settings / sizeof ghm_settings[0]);

const ghm_setting *ghm_setting_find(const char *path)
{
    for (int i = 0; i < ghm_settings_count; i++)
        if (strcmp(ghm_settings[i].path, path) == 0) return &ghm_settings[i];
    return NULL;
}

static int fail(char *msg, size_t cap, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int fail(char *msg, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    return GHM_EINPUT;
}

/* Strict number: the whole text, finite; -0 is 0 (one canonical text, one run id). */
int ghm_cfg_parse_double(const char *text, double *v)
{
    if (!text || !*text) return -1;
    char *end = NULL;
    errno = 0;
    double x = strtod(text, &end);
    if (end == text || *end != '\0' || !isfinite(x)) return -1;
    *v = x == 0 ? 0.0 : x;
    return 0;
}

int ghm_cfg_parse_bool(const char *t, int *v)
{
    static const char *const yes[] = {"true", "yes", "on", "1"}, *const no[] = {"false", "no", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(t, yes[i]) == 0) return *v = 1, 0;
        if (strcasecmp(t, no[i]) == 0) return *v = 0, 0;
    }
    return -1;
}

static const char *fmt_num(double v, char *buf, size_t n)
{
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, n, "%.0f", v);
    else
        snprintf(buf, n, "%g", v);
    return buf;
}

void ghm_cfg_join_names(const char *const *names, int n, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (int i = 0; i < n && names[i]; i++) {
        if (i) strncat(buf, " | ", cap - strlen(buf) - 1);
        strncat(buf, names[i], cap - strlen(buf) - 1);
    }
}

/* " (did you mean 'x'?)" or "" */
const char *ghm_cfg_did_you_mean(const char *name, const char *const *cands, int n, char *buf, size_t cap)
{
    const char *close = ghm_closest_name(name, cands, n);
    if (close)
        snprintf(buf, cap, " (did you mean '%s'?)", close);
    else
        buf[0] = '\0';
    return buf;
}

/* A registered name (data set or backbone) into dst. */
static int parse_name(const ghm_setting *s, const char *text, char *dst, double *value, char *msg, size_t cap)
{
    int is_ds = s->type == GHM_SET_DATASET;
    int n = is_ds ? ghm_dataset_count() : ghm_backbone_count();
    const char *names[64];
    char hint[96], list[512];
    if (n > 64) n = 64;
    for (int i = 0; i < n; i++) {
        names[i] = is_ds ? ghm_dataset_name_at(i) : ghm_backbone_at(i)->name;
        if (strcmp(names[i], text) == 0) {
            snprintf(dst, s->size, "%s", text);
            *value = i;
            return 0;
        }
    }
    ghm_cfg_join_names(names, n, list, sizeof list);
    return fail(msg, cap, "%s: unknown %s '%s'%s; available: %s", s->path, is_ds ? "dataset" : "backbone", text,
                ghm_cfg_did_you_mean(text, names, n, hint, sizeof hint), n ? list : "(none)");
}

int ghm_setting_parse(const ghm_setting *s, const char *text, ghm_run_spec *r, double *value, char *msg, size_t cap)
{
    char b1[64], b2[64], hint[96], list[512];
    char *dst = (char *)r + s->offset;
    *value = 0;
    if (!text && s->type != GHM_SET_STR) return fail(msg, cap, "%s: missing value", s->path);
    switch (s->type) {
    case GHM_SET_INT:
    case GHM_SET_DBL: {
        int is_int = s->type == GHM_SET_INT;
        double v;
        if (ghm_cfg_parse_double(text, &v))
            return fail(msg, cap, "%s: expected %s, got '%s'", s->path, is_int ? "an integer" : "a number", text);
        if (is_int && v != floor(v)) return fail(msg, cap, "%s: expected an integer, got '%s'", s->path, text);
        int below = s->lo_open ? v <= s->lo : v < s->lo;
        int above = s->hi_open ? v >= s->hi : v > s->hi;
        if (below || above)
            return fail(msg, cap, "%s = %s is out of range %s%s, %s%s", s->path, text, s->lo_open ? "(" : "[",
                        fmt_num(s->lo, b1, sizeof b1), fmt_num(s->hi, b2, sizeof b2), s->hi_open ? ")" : "]");
        if (is_int) {
            int iv = (int)v;
            memcpy(dst, &iv, sizeof iv);
        } else {
            memcpy(dst, &v, sizeof v);
        }
        *value = v;
        return 0;
    }
    case GHM_SET_BOOL: {
        int v;
        if (ghm_cfg_parse_bool(text, &v)) return fail(msg, cap, "%s: expected true or false, got '%s'", s->path, text);
        memcpy(dst, &v, sizeof v);
        *value = v;
        return 0;
    }
    case GHM_SET_STR: {
        const char *t = text ? text : "";
        if (strlen(t) >= s->size)
            return fail(msg, cap, "%s: value is too long (at most %zu characters)", s->path, s->size - 1);
        memcpy(dst, t, strlen(t) + 1);
        *value = NAN;
        return 0;
    }
    case GHM_SET_CHOICE: {
        int n = 0;
        while (s->choices[n]) n++;
        for (int i = 0; i < n; i++)
            if (strcmp(s->choices[i], text) == 0) {
                memcpy(dst, &i, sizeof i);
                *value = i;
                return 0;
            }
        ghm_cfg_join_names(s->choices, n, list, sizeof list);
        return fail(msg, cap, "%s: unknown value '%s'; expected one of %s%s", s->path, text, list,
                    ghm_cfg_did_you_mean(text, s->choices, n, hint, sizeof hint));
    }
    case GHM_SET_DATASET:
    case GHM_SET_BACKBONE:
        return parse_name(s, text, dst, value, msg, cap);
    }
    return fail(msg, cap, "%s: internal error: bad setting type", s->path);
}

int ghm_settings_defaults(ghm_run_spec *r, char *msg, size_t cap)
{
    for (int i = 0; i < ghm_settings_count; i++) {
        const ghm_setting *s = &ghm_settings[i];
        double v;
        if ((s->type == GHM_SET_DATASET || s->type == GHM_SET_BACKBONE) && !s->def[0]) {
            memset((char *)r + s->offset, 0, s->size); /* required: no default */
            continue;
        }
        int rc = ghm_setting_parse(s, s->def, r, &v, msg, cap);
        if (rc) return rc;
    }
    return 0;
}

const char *ghm_setting_format(const ghm_setting *s, const ghm_run_spec *r, char *buf, size_t cap)
{
    const char *p = (const char *)r + s->offset;
    int iv = 0;
    double d = 0;
    switch (s->type) {
    case GHM_SET_INT:
    case GHM_SET_BOOL:
        memcpy(&iv, p, sizeof iv);
        snprintf(buf, cap, "%d", iv);
        break;
    case GHM_SET_DBL:
        memcpy(&d, p, sizeof d);
        snprintf(buf, cap, "%.17g", d == 0 ? 0.0 : d); /* -0 is written as 0 */
        break;
    case GHM_SET_CHOICE: {
        memcpy(&iv, p, sizeof iv);
        int n = 0;
        while (s->choices[n]) n++;
        snprintf(buf, cap, "%s", iv >= 0 && iv < n ? s->choices[iv] : "?");
        break;
    }
    default:
        snprintf(buf, cap, "%.*s", (int)strnlen(p, s->size), p);
        break;
    }
    return buf;
}

static const char *type_name(const ghm_setting *s)
{
    static const char *const names[] = {"int", "number", "bool", "text", "choice", "dataset", "backbone"};
    return names[s->type];
}

/* "[0, 10]", "(0, 1)", "adam | sgd" (markdown: "adam, sgd"), "" */
static const char *range_text(const ghm_setting *s, int markdown, char *buf, size_t cap)
{
    char b1[64], b2[64];
    buf[0] = '\0';
    if (s->type == GHM_SET_INT || s->type == GHM_SET_DBL)
        snprintf(buf, cap, "%s%s, %s%s", s->lo_open ? "(" : "[", fmt_num(s->lo, b1, sizeof b1),
                 s->hi == INT_MAX ? "2147483647" : fmt_num(s->hi, b2, sizeof b2), s->hi_open ? ")" : "]");
    else if (s->type == GHM_SET_CHOICE && markdown)
        for (int i = 0; s->choices[i]; i++) {
            if (i) strncat(buf, ", ", cap - strlen(buf) - 1);
            strncat(buf, s->choices[i], cap - strlen(buf) - 1);
        }
    else if (s->type == GHM_SET_CHOICE)
        ghm_cfg_join_names(s->choices, 64, buf, cap);
    else if (s->type == GHM_SET_BOOL)
        snprintf(buf, cap, markdown ? "true, false" : "true | false");
    else if (s->type == GHM_SET_DATASET)
        snprintf(buf, cap, "`ghm list datasets`");
    else if (s->type == GHM_SET_BACKBONE)
        snprintf(buf, cap, "`ghm list backbones`");
    return buf;
}

char *ghm_settings_list(int markdown)
{
    ghm_tb b;
    ghm_tb_init(&b);
    char range[512];
    if (markdown) {
        ghm_tb_puts(&b, "| setting | type | default | range | in the run id | record key before | meaning |\n");
        ghm_tb_puts(&b, "|---|---|---|---|---|---|---|\n");
    }
    for (int i = 0; i < ghm_settings_count; i++) {
        const ghm_setting *s = &ghm_settings[i];
        range_text(s, markdown, range, sizeof range);
        const char *id = s->id == GHM_SET_ID_ON ? "when on" : "yes";
        int required = (s->type == GHM_SET_DATASET || s->type == GHM_SET_BACKBONE) && !s->def[0];
        const char *def = required ? "(required)" : s->def[0] ? s->def : "\"\"";
        if (markdown) {
            char legacy[96] = "";
            if (s->legacy) snprintf(legacy, sizeof legacy, "`%s`", s->legacy);
            ghm_tb_printf(&b, "| `%s` | %s | %s | %s | %s | %s | ", s->path, type_name(s), def, range, id, legacy);
            ghm_tb_md(&b, s->doc);
            ghm_tb_puts(&b, " |\n");
        } else {
            ghm_tb_printf(&b, "%-30s %-8s default %-10s %-24s id %-7s %s\n", s->path, type_name(s), def, range, id,
                          s->doc);
        }
    }
    char *out = NULL;
    ghm_error e;
    if (ghm_tb_finish(&b, &out, &e) < 0) return NULL;
    return out;
}
