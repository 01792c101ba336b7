/* Internal helpers shared by the dataset loaders (not part of the public API). */
#ifndef GHM_DATASETS_INTERNAL_H
#define GHM_DATASETS_INTERNAL_H

#include "dataset.h"

#include <stddef.h>

/* datasets/locate.c. Candidate directories for a named dataset, in search order: opts->path
 * alone when given; else $GHM_DATA/<sub>, <data_root or "data">/<sub>,
 * /usr/share/datasets/<sub>.
 * Each dirs[i] is a malloc'd string; returns the count (<= 4). */
int ghm_ds_search_dirs(const ghm_dataset_opts *o, const char *sub, char *dirs[4]);
void ghm_ds_free_dirs(char *dirs[4], int n);
/* 1 when path is an existing regular file. */
int ghm_ds_file_exists(const char *path);
/* snprintf into a malloc'd string (NULL on failure). */
char *ghm_ds_strdupf(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;


/* 64-bit mix (splitmix64 finaliser), for deriving independent seeds. */
static inline unsigned long long ghm_ds_mix(unsigned long long x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

#endif
