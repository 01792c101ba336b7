/* Where a named dataset's files are, and small path helpers shared by the
 * loaders (datasets/internal.h). Kept apart from the registry so that the
 * loaders the registry calls do not call back into it. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

char *ghm_ds_strdupf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return NULL;
    char *s = malloc((size_t)n + 1);
    if (!s) return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

int ghm_ds_file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int ghm_ds_search_dirs(const ghm_dataset_opts *o, const char *sub, char *dirs[4])
{
    int n = 0;
    /* a given directory is the only place looked at: a record that names it used its files */
    if (o->path && o->path[0]) {
        dirs[n++] = ghm_ds_strdupf("%s", o->path);
        return n;
    }
    const char *env = getenv("GHM_DATA");
    if (env && env[0]) dirs[n++] = ghm_ds_strdupf("%s/%s", env, sub);
    dirs[n++] = ghm_ds_strdupf("%s/%s", o->data_root && o->data_root[0] ? o->data_root : "data", sub);
    dirs[n++] = ghm_ds_strdupf("/usr/share/datasets/%s", sub);
    return n;
}

void ghm_ds_free_dirs(char *dirs[4], int n)
{
    for (int i = 0; i < n; i++) free(dirs[i]);
}
