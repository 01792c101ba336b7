/* Bounded reads of untrusted files (see fileio.h). */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *ghm_size_text(unsigned long long bytes, char *buf, size_t n)
{
    if (bytes >= ((unsigned long long)1 << 30) && bytes % ((unsigned long long)1 << 30) == 0)
        snprintf(buf, n, "%llu GiB", bytes >> 30);
    else if (bytes >= ((unsigned long long)1 << 20) && bytes % ((unsigned long long)1 << 20) == 0)
        snprintf(buf, n, "%llu MiB", bytes >> 20);
    else if (bytes >= 1024 && bytes % 1024 == 0)
        snprintf(buf, n, "%llu KiB", bytes >> 10);
    else
        snprintf(buf, n, "%llu bytes", bytes);
    return buf;
}

static const char *kind_of(mode_t m)
{
    if (S_ISDIR(m)) return "a directory";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISFIFO(m)) return "a FIFO (named pipe)";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

int ghm_file_open_regular(const char *path, const char *what, unsigned long long max_bytes, FILE **f,
                          unsigned long long *size, ghm_error *err)
{
    *f = NULL;
    if (size) *size = 0;
    if (!what) what = "file";
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; cleared below */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        int e = errno;
        return ghm_error_set(err, e == ENOENT || e == ENOTDIR || e == EISDIR || e == ELOOP ? GHM_EINPUT : GHM_EIO,
                             "%s: cannot open %s: %s", path, what, strerror(e));
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return ghm_error_set(err, GHM_EIO, "%s: cannot stat %s: %s", path, what, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return ghm_error_set(err, GHM_EINPUT, "%s: is %s, not a regular file (%s expected)", path,
                             kind_of(st.st_mode), what);
    }
    if ((unsigned long long)st.st_size > max_bytes) {
        char a[32];
        close(fd);
        return ghm_error_set(err, GHM_EINPUT, "%s: %s of %llu bytes is larger than the limit of %s", path, what,
                             (unsigned long long)st.st_size, ghm_size_text(max_bytes, a, sizeof a));
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    FILE *fp = fdopen(fd, "rb");
    if (!fp) {
        int e = errno;
        close(fd);
        return ghm_error_set(err, GHM_ENOMEM, "%s: cannot open %s: %s", path, what, strerror(e));
    }
    *f = fp;
    if (size) *size = (unsigned long long)st.st_size;
    return 0;
}

int ghm_read_file_max(const char *path, const char *what, size_t max_bytes, char **data, size_t *n,
                      ghm_error *err)
{
    *data = NULL;
    if (n) *n = 0;
    if (!what) what = "file";
    FILE *f;
    unsigned long long size;
    int rc = ghm_file_open_regular(path, what, max_bytes, &f, &size, err);
    if (rc) return rc;
    /* sized from fstat, but read until EOF: files in /proc report 0, others may grow */
    size_t cap = (size_t)size + 1, len = 0;
    if (cap < 4096) cap = 4096;
    if (cap > max_bytes + 1) cap = max_bytes + 1;
    char *buf = malloc(cap + 1);
    if (!buf) {
        fclose(f);
        return ghm_error_set(err, GHM_ENOMEM, "%s: out of memory for %zu bytes", path, cap);
    }
    for (;;) {
        if (len == cap) {
            if (len > max_bytes) break;
            size_t nc = cap * 2;
            if (nc > max_bytes + 1) nc = max_bytes + 1;
            char *nb = realloc(buf, nc + 1);
            if (!nb) {
                free(buf);
                fclose(f);
                return ghm_error_set(err, GHM_ENOMEM, "%s: out of memory for %zu bytes", path, nc);
            }
            buf = nb;
            cap = nc;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0) break;
    }
    if (ferror(f)) {
        int e = errno;
        free(buf);
        fclose(f);
        return ghm_error_set(err, GHM_EIO, "%s: read failed: %s", path, strerror(e));
    }
    fclose(f);
    if (len > max_bytes) {
        char a[32];
        free(buf);
        return ghm_error_set(err, GHM_EINPUT, "%s: %s grew past the limit of %s while being read", path, what,
                             ghm_size_text(max_bytes, a, sizeof a));
    }
    buf[len] = '\0';
    *data = buf;
    if (n) *n = len;
    return 0;
}

int ghm_read_file(const char *path, char **data, size_t *n, ghm_error *err)
{
    return ghm_read_file_max(path, NULL, GHM_READ_MAX_TEXT, data, n, err);
}
