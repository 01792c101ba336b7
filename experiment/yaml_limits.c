/* Size and nesting limits on YAML text, checked before libyaml sees it. */
#include "experiment/yaml_limits.h"

int ghm_yaml_check_limits(const char *text, size_t len, const char *file, ghm_error *err)
{
    if (!file) file = "<string>";
    if (len > GHM_YAML_MAX_BYTES)
        return ghm_error_set(err, GHM_EINPUT, "%s: file too large for an experiment (%zu bytes; at most %zu)", file,
                             len, GHM_YAML_MAX_BYTES);
    /* a light scan: quoted scalars and comments are skipped, brackets counted */
    int depth = 0, line = 1;
    char quote = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = text[i];
        if (ch == '\n') line++;
        if (quote) {
            if (quote == '"' && ch == '\\' && i + 1 < len) {
                i++;
                if (text[i] == '\n') line++;
            } else if (ch == quote) {
                quote = 0;
            }
            continue;
        }
        char prev = i > 0 ? text[i - 1] : '\n';
        int after_space = prev == ' ' || prev == '\t' || prev == '\n' || prev == '\r';
        if (ch == '#' && after_space) {
            while (i + 1 < len && text[i + 1] != '\n') i++;
            continue;
        }
        if ((ch == '\'' || ch == '"') && (after_space || prev == ':' || prev == '[' || prev == '{' || prev == ',')) {
            quote = ch;
            continue;
        }
        if (ch == '[' || ch == '{') {
            if (++depth > GHM_YAML_MAX_DEPTH)
                return ghm_error_set(err, GHM_EINPUT,
                                     "%s:%d: collections nested more than %d deep ('[' and '{'); an experiment file "
                                     "needs a few levels",
                                     file, line, GHM_YAML_MAX_DEPTH);
        } else if ((ch == ']' || ch == '}') && depth > 0) {
            depth--;
        }
    }
    return 0;
}
