/* flock-based advisory locks; see lock.h. */
#include "runner/lock.h"

#include "../core/fsutil.h"
#include "../core/json.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int ghm_lock_run_path(const char *out_dir, const char *run_id, char *buf, size_t n)
{
    int k = snprintf(buf, n, "%s/runs/.locks/%s.lock", out_dir, run_id);
    return (k < 0 || (size_t)k >= n) ? -1 : 0;
}

int ghm_lock_dir_path(const char *out_dir, char *buf, size_t n)
{
    int k = snprintf(buf, n, "%s/.lock", out_dir);
    return (k < 0 || (size_t)k >= n) ? -1 : 0;
}

static int make_parent(const char *path, ghm_error *err)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path) return 0;
    size_t n = (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (!dir) return ghm_error_set(err, GHM_ENOMEM, "out of memory");
    memcpy(dir, path, n);
    dir[n] = '\0';
    /* runs/.locks lies inside the results directory: neither may be a link (core/fsutil.h) */
    size_t sl = strlen("/runs/.locks");
    int rc = n > sl && strcmp(dir + n - sl, "/runs/.locks") == 0 ? ghm_out_mkdirs(dir, 2, err) : ghm_mkdirs(dir, err);
    free(dir);
    return rc;
}

int ghm_lock_take(const char *path, int wait, ghm_lock *l, char *holder, size_t n, ghm_error *err)
{
    l->fd = -1;
    if (holder && n) holder[0] = '\0';
    int rc = make_parent(path, err);
    if (rc < 0) return rc;
    /* O_NOFOLLOW: a link placed at DIR/.lock must not be truncated and written through */
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return ghm_error_set(err, GHM_EIO, "%s: cannot open lock file: %s", path, strerror(errno));
    for (;;) {
        if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) == 0) break;
        if (errno == EINTR && wait) continue;
        int e = errno;
        if (e == EWOULDBLOCK || e == EINTR) {
            if (holder && n) {
                ssize_t got = pread(fd, holder, n - 1, 0);
                holder[got > 0 ? got : 0] = '\0';
                char *nl = strchr(holder, '\n');
                if (nl) *nl = '\0';
                if (!holder[0]) snprintf(holder, n, "another process");
            }
            close(fd);
            return 1;
        }
        close(fd);
        return ghm_error_set(err, GHM_EIO, "%s: cannot lock: %s", path, strerror(e));
    }
    /* who holds it, for the others' messages */
    char host[128] = "";
    if (gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "?");
    host[sizeof host - 1] = '\0';
    char who[200];
    int k = snprintf(who, sizeof who, "pid %ld on host %s\n", (long)getpid(), host);
    if (ftruncate(fd, 0) == 0 && k > 0) {
        ssize_t w = pwrite(fd, who, (size_t)k, 0);
        (void)w;
    }
    l->fd = fd;
    return 0;
}

void ghm_lock_release(ghm_lock *l)
{
    if (!l || l->fd < 0) return;
    flock(l->fd, LOCK_UN);
    close(l->fd);
    l->fd = -1;
}

int ghm_remove_stale_tmp(const char *dir)
{
    /* dir (e.g. <results>/plots) is not followed when it is a link: the files in its target are not ours */
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0) close(fd);
        return 0;
    }
    int removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n <= 4 || strcmp(e->d_name + n - 4, ".tmp") != 0) continue;
        struct stat st;
        if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
            unlinkat(fd, e->d_name, 0) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}
