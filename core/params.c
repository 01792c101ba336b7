#include "params.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ghm_params_clear(ghm_params *p) { memset(p, 0, sizeof *p); }

int ghm_params_set(ghm_params *p, const char *name, double value)
{
    if (strlen(name) >= GHM_PARAM_NAME_MAX) return GHM_EINPUT;
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->name[i], name) == 0) {
            p->value[i] = value;
            return 0;
        }
    if (p->n >= GHM_MAX_PARAMS) return GHM_EINPUT;
    snprintf(p->name[p->n], GHM_PARAM_NAME_MAX, "%s", name);
    p->value[p->n++] = value;
    return 0;
}

int ghm_params_find(const ghm_params *p, const char *name, double *value)
{
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->name[i], name) == 0) {
            if (value) *value = p->value[i];
            return 1;
        }
    return 0;
}

double ghm_params_get(const ghm_params *p, const char *name, double def)
{
    double v;
    return ghm_params_find(p, name, &v) ? v : def;
}

const ghm_param_spec *ghm_param_spec_find(const ghm_param_spec *spec, const char *name)
{
    for (; spec && spec->name; spec++)
        if (strcmp(spec->name, name) == 0) return spec;
    return NULL;
}

int ghm_param_spec_count(const ghm_param_spec *spec)
{
    int n = 0;
    while (spec && spec[n].name) n++;
    return n;
}

static int n_choices(const ghm_param_spec *s)
{
    int n = 0;
    while (s->choices[n]) n++;
    return n;
}

int ghm_param_check(const ghm_param_spec *s, double v, const char *owner, ghm_error *err)
{
    if (!isfinite(v))
        return ghm_error_set(err, GHM_EINPUT, "%s: parameter '%s' must be a finite number", owner, s->name);
    if (s->choices) {
        int n = n_choices(s);
        if (v != floor(v) || v < 0 || v >= n)
            return ghm_error_set(err, GHM_EINPUT, "%s: parameter '%s' has no choice #%g", owner, s->name, v);
        return 0;
    }
    if (s->is_int && v != floor(v))
        return ghm_error_set(err, GHM_EINPUT, "%s: parameter '%s' must be an integer, got %g", owner, s->name, v);
    if ((s->lo_open ? v <= s->lo : v < s->lo) || v > s->hi)
        return ghm_error_set(err, GHM_EINPUT, "%s: parameter '%s' = %g is out of range %s%g, %g]", owner,
                             s->name, v, s->lo_open ? "(" : "[", s->lo, s->hi);
    return 0;
}

int ghm_param_parse(const ghm_param_spec *s, const char *text, double *value, const char *owner, ghm_error *err)
{
    if (s->choices) {
        int n = n_choices(s);
        for (int i = 0; i < n; i++)
            if (strcmp(s->choices[i], text) == 0) {
                *value = i;
                return 0;
            }
        char list[512] = "";
        for (int i = 0; i < n; i++) {
            strncat(list, s->choices[i], sizeof list - strlen(list) - 1);
            if (i + 1 < n) strncat(list, " | ", sizeof list - strlen(list) - 1);
        }
        const char *close = ghm_closest_name(text, (const char *const *)s->choices, n);
        if (close)
            return ghm_error_set(err, GHM_EINPUT, "%s: parameter '%s' must be one of %s, got '%s' (did you mean '%s'?)",
                                 owner, s->name, list, text, close);
        return ghm_error_set(err, GHM_EINPUT, "%s: parameter '%s' must be one of %s, got '%s'", owner, s->name, list,
                             text);
    }
    char *end = NULL;
    double v = strtod(text, &end);
    if (!text[0] || !end || *end != '\0')
        return ghm_error_set(err, GHM_EINPUT, "%s: parameter '%s' expects a number, got '%s'", owner, s->name, text);
    int rc = ghm_param_check(s, v, owner, err);
    if (rc) return rc;
    *value = v == 0 ? 0.0 : v; /* -0.0 is 0 (one canonical text) */
    return 0;
}

const char *ghm_param_format(const ghm_param_spec *s, double v, char *buf, int n)
{
    if (s && s->choices) {
        int k = (int)v;
        if (k >= 0 && k < n_choices(s)) {
            snprintf(buf, (size_t)n, "%s", s->choices[k]);
            return buf;
        }
    }
    if (v == floor(v) && fabs(v) < 1e15)
        snprintf(buf, (size_t)n, "%.0f", v);
    else
        snprintf(buf, (size_t)n, "%.9g", v);
    return buf;
}

int ghm_params_resolve(const ghm_param_spec *spec, const ghm_params *in, ghm_params *out, const char *owner,
                       ghm_error *err)
{
    ghm_params res;
    ghm_params_clear(&res);
    int ns = ghm_param_spec_count(spec);
    const char *names[GHM_MAX_PARAMS + 1];
    for (int i = 0; i < ns && i < GHM_MAX_PARAMS; i++) names[i] = spec[i].name;
    for (int i = 0; in && i < in->n; i++) {
        const ghm_param_spec *s = ghm_param_spec_find(spec, in->name[i]);
        if (!s) {
            const char *close = ghm_closest_name(in->name[i], names, ns);
            if (close)
                return ghm_error_set(err, GHM_EINPUT, "unknown parameter '%s' for %s (did you mean '%s'?)",
                                     in->name[i], owner, close);
            return ghm_error_set(err, GHM_EINPUT, "unknown parameter '%s' for %s%s", in->name[i], owner,
                                 ns ? "" : " (it takes no parameters)");
        }
        int rc = ghm_param_check(s, in->value[i], owner, err);
        if (rc) return rc;
    }
    for (int i = 0; i < ns; i++) {
        double v = spec[i].def;
        if (in) ghm_params_find(in, spec[i].name, &v);
        if (ghm_params_set(&res, spec[i].name, v))
            return ghm_error_set(err, GHM_EINPUT, "%s: too many parameters", owner);
    }
    *out = res;
    return 0;
}

int ghm_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64) return 1000;
    int prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++) prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            int m = sub < del ? sub : del;
            cur[j] = m < ins ? m : ins;
        }
        memcpy(prev, cur, sizeof(int) * (lb + 1));
    }
    return prev[lb];
}

const char *ghm_closest_name(const char *name, const char *const *cands, int n)
{
    const char *best = NULL;
    int bestd = 4;
    for (int i = 0; i < n; i++) {
        if (!cands[i]) continue;
        int d = ghm_edit_distance(name, cands[i]);
        if (d < bestd) {
            bestd = d;
            best = cands[i];
        }
    }
    return best;
}
