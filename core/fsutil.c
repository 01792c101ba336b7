/* Output files: mkdir -p, atomic writes, safe files in a results directory; see fsutil.h. */
#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* six characters [A-Za-z0-9] for a temporary name (not a secret: O_EXCL makes it safe, this only avoids
 * collisions between processes) */
static void rand6(char *out)
{
    static uint64_t state;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    state += ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^ 0x9E3779B97F4A7C15ull;
    uint64_t x = state;
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (int i = 0; i < 6; i++) {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdull;
        x ^= x >> 29;
        out[i] = al[x % 62];
    }
    out[6] = '\0';
}

/* why openat(O_NOFOLLOW | O_DIRECTORY) of `comp` failed with errno e */
static int refuse(int dfd, const char *root, const char *shown, const char *comp, int e, ghm_error *err)
{
    struct stat st;
    if (fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISLNK(st.st_mode))
            return ghm_error_set(err, GHM_EINPUT,
                                 "%s/%s is a symbolic link: ghm never writes through a link inside a results "
                                 "directory (remove the link, or write the report into a fresh directory)",
                                 root, shown);
        if (!S_ISDIR(st.st_mode))
            return ghm_error_set(err, GHM_EINPUT, "%s/%s exists and is not a directory", root, shown);
    }
    return ghm_error_set(err, e == ENOENT ? GHM_EINPUT : GHM_EIO, "%s/%s: cannot open directory: %s", root, shown,
                         strerror(e));
}

int ghm_out_dir_open(const char *root, const char *rel, int create, ghm_error *err)
{
    if (!root || !*root) root = ".";
    if (create) {
        int rc = ghm_mkdirs(root, err);
        if (rc < 0) return rc;
    }
    int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        return ghm_error_set(err, e == ENOENT || e == ENOTDIR ? GHM_EINPUT : GHM_EIO, "%s: cannot open directory: %s",
                             root, strerror(e));
    }
    if (!rel || !*rel) return fd;
    size_t rl = strlen(rel);
    char *copy = malloc(rl + 1);
    if (!copy) {
        close(fd);
        return ghm_error_set(err, GHM_ENOMEM, "%s/%s: out of memory", root, rel);
    }
    memcpy(copy, rel, rl + 1);
    char *p = copy;
    while (*p) {
        char *slash = strchr(p, '/');
        if (slash) *slash = '\0';
        if (*p && strcmp(p, ".") != 0) {
            if (strcmp(p, "..") == 0) {
                close(fd);
                free(copy);
                return ghm_error_set(err, GHM_EINPUT, "%s/%s: '..' in an output path", root, rel);
            }
            int nfd = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (nfd < 0 && errno == ENOENT && create) {
                if (mkdirat(fd, p, 0777) < 0 && errno != EEXIST) {
                    int e = errno;
                    close(fd);
                    int rc = ghm_error_set(err, GHM_EIO, "%s/%s: cannot create directory: %s", root, rel,
                                           strerror(e));
                    free(copy);
                    return rc;
                }
                nfd = openat(fd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            }
            if (nfd < 0) {
                int e = errno;
                /* the path up to and including this component, for the message */
                char shown[4096];
                snprintf(shown, sizeof shown, "%.*s", (int)(p - copy + strlen(p)), rel);
                int rc = refuse(fd, root, shown, p, e, err);
                close(fd);
                free(copy);
                return rc;
            }
            close(fd);
            fd = nfd;
        }
        if (!slash) break;
        p = slash + 1;
    }
    free(copy);
    return fd;
}

int ghm_out_mkdirs(const char *path, int below, ghm_error *err)
{
    size_t n = strlen(path);
    char buf[4096];
    if (n == 0 || n >= sizeof buf) return ghm_error_set(err, GHM_EINPUT, "%s: bad directory path", path);
    memcpy(buf, path, n + 1);
    while (n > 1 && buf[n - 1] == '/') buf[--n] = '\0';
    /* root = buf up to the `below`-th '/' from the end, rel = the components after it */
    const char *root = ".", *rel = buf;
    size_t end = n;
    for (int k = 0; k < below; k++) {
        size_t i = end;
        while (i > 0 && buf[i - 1] != '/') i--;
        if (i == 0) { /* fewer components than `below`: all of a relative path */
            root = ".";
            rel = buf;
            break;
        }
        end = i - 1; /* the slash */
        root = buf;
        rel = buf + i;
    }
    if (root == buf) {
        buf[end] = '\0';
        if (end == 0) root = "/";
    }
    int fd = ghm_out_dir_open(root, rel, 1, err);
    if (fd < 0) return fd;
    close(fd);
    return 0;
}

int ghm_out_write_at(int dfd, const char *where, const char *name, const void *data, size_t n, ghm_error *err)
{
    size_t nl = strlen(name);
    /* the temporary adds 11 characters; a file name has at most 255 */
    if (nl == 0 || strchr(name, '/') || nl > 240)
        return GHM_FAIL(err, GHM_EFAIL, "%s: bad output file name '%.60s'", where, name);
    char tmp[260];
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        char r[7];
        rand6(r);
        /* "<name>.XXXXXX.tmp": unique, beside the file, and removed by the stale-*.tmp clean-up */
        snprintf(tmp, sizeof tmp, "%s.%s.tmp", name, r);
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) {
        int e = errno;
        return ghm_error_set(err, GHM_EIO, "%s/%s: cannot create temporary file: %s", where, name, strerror(e));
    }
    const char *p = data;
    size_t left = n;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR) continue;
            int e = errno;
            close(fd);
            unlinkat(dfd, tmp, 0);
            return ghm_error_set(err, GHM_EIO, "%s/%s: write failed: %s", where, name, strerror(e));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        int e = errno;
        unlinkat(dfd, tmp, 0);
        return ghm_error_set(err, GHM_EIO, "%s/%s: fsync/close failed: %s", where, name, strerror(e));
    }
    if (renameat(dfd, tmp, dfd, name) < 0) {
        int e = errno;
        unlinkat(dfd, tmp, 0);
        return ghm_error_set(err, GHM_EIO, "%s/%s: rename failed: %s", where, name, strerror(e));
    }
    (void)fsync(dfd); /* make the rename durable (best effort) */
    return 0;
}

int ghm_out_write(const char *root, const char *rel, const void *data, size_t n, ghm_error *err)
{
    const char *slash = strrchr(rel, '/');
    char sub[4096];
    if (slash) {
        if ((size_t)(slash - rel) >= sizeof sub) return ghm_error_set(err, GHM_EINPUT, "%s/%s: path too long", root, rel);
        memcpy(sub, rel, (size_t)(slash - rel));
        sub[slash - rel] = '\0';
    } else {
        sub[0] = '\0';
    }
    int dfd = ghm_out_dir_open(root, sub, 1, err);
    if (dfd < 0) return dfd;
    char where[4096 + 16];
    snprintf(where, sizeof where, "%s%s%s", root, sub[0] ? "/" : "", sub);
    int rc = ghm_out_write_at(dfd, where, slash ? slash + 1 : rel, data, n, err);
    close(dfd);
    return rc;
}

int ghm_out_tmpdir_at(int dfd, const char *where, const char *prefix, char *name, size_t nn, ghm_error *err)
{
    for (int attempt = 0; attempt < 100; attempt++) {
        char r[7];
        rand6(r);
        snprintf(name, nn, "%s%s.tmp", prefix, r);
        if (mkdirat(dfd, name, 0700) == 0) {
            int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd >= 0) return fd;
            break;
        }
        if (errno != EEXIST) break;
    }
    int e = errno;
    return ghm_error_set(err, GHM_EIO, "%s: cannot create a temporary directory: %s", where, strerror(e));
}

int ghm_out_move_at(int sfd, const char *sname, int dfd, const char *dname)
{
    struct stat st;
    if (fstatat(sfd, sname, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) return -1;
    return renameat(sfd, sname, dfd, dname) == 0 ? 0 : -1;
}

void ghm_out_rmdir_at(int dfd, const char *name)
{
    int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        DIR *d = fdopendir(fd);
        if (d) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
                unlinkat(fd, e->d_name, 0); /* a file or a link (the link itself) */
            }
            closedir(d); /* closes fd */
        } else {
            close(fd);
        }
    }
    unlinkat(dfd, name, AT_REMOVEDIR);
}

/* ---- by path ----------------------------------------------------------- */

int ghm_write_file_atomic(const char *path, const void *data, size_t n, ghm_error *err)
{
    /* the directory as the caller names it (it may be a link the user made); the file itself is created
     * O_EXCL | O_NOFOLLOW under a temporary name and renamed (ghm_out_write_at) */
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - path) < sizeof dir)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    else
        return ghm_error_set(err, GHM_EINPUT, "%s: path too long", path);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        int e = errno;
        return ghm_error_set(err, GHM_EIO, "%s: cannot create temporary file: %s", path, strerror(e));
    }
    int rc = ghm_out_write_at(dfd, dir, slash ? slash + 1 : path, data, n, err);
    close(dfd);
    return rc;
}

int ghm_mkdirs(const char *path, ghm_error *err)
{
    if (!path || !*path) return 0;
    char *p = strdup(path);
    if (!p) return ghm_error_set(err, GHM_ENOMEM, "%s: out of memory", path);
    size_t len = strlen(p);
    while (len > 1 && p[len - 1] == '/') p[--len] = '\0';
    for (char *q = p + 1;; q++) {
        int end = (*q == '\0');
        if (*q == '/' || end) {
            char save = *q;
            *q = '\0';
            if (mkdir(p, 0777) < 0 && errno != EEXIST) {
                int e = errno;
                int rc = ghm_error_set(err, GHM_EIO, "%s: cannot create directory %s: %s", path, p, strerror(e));
                free(p);
                return rc;
            }
            *q = save;
        }
        if (end) break;
    }
    struct stat st;
    if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode)) {
        int rc = ghm_error_set(err, GHM_EIO, "%s: exists and is not a directory", path);
        free(p);
        return rc;
    }
    free(p);
    return 0;
}
