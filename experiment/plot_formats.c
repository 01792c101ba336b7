/* Figure format names -> bits (experiment/plot_formats.h). */
#include "experiment/plot_formats.h"

#include <string.h>

static const struct {
    const char *ext;
    unsigned bit;
} names[] = {{"png", GHM_PLOT_PNG}, {"pdf", GHM_PLOT_PDF}, {"svg", GHM_PLOT_SVG}};

int ghm_plot_formats_parse(const char *text, unsigned *out)
{
    unsigned f = 0;
    const char *p = text;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        int found = 0;
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
            if (strlen(names[k].ext) == len && strncmp(names[k].ext, p, len) == 0) {
                f |= names[k].bit;
                found = 1;
            }
        if (!found) return -1;
        p += len;
        if (*p == ',') p++;
    }
    if (!f) return -1;
    *out = f;
    return 0;
}
