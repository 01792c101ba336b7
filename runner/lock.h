/* Advisory locks on files (flock): one per results directory (held while a
 * report is written) and one per run (held while the run trains), so that a
 * second `ghm run` on the same directory, shards on a shared file system or a
 * stray process cooperate instead of training the same run twice.
 *
 * The kernel releases a lock when its process ends, however it ends, so a
 * lock left by a killed process never blocks anyone. The lock file keeps the
 * holder's "pid P on host H" for messages; it is never deleted (deleting a
 * lock file races with a process that has just opened it).
 */
#ifndef GHM_LOCK_H
#define GHM_LOCK_H

#include "../core/error.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ghm_lock {
    int fd; /* -1: not held */
} ghm_lock;

/* Take the lock at path (its directory is created). wait = 1 blocks until it
 * is free. Returns 0 (held), 1 when !wait and another process holds it
 * (holder, may be NULL, gets "pid P on host H"), or a negative error. */
int ghm_lock_take(const char *path, int wait, ghm_lock *l, char *holder, size_t n, ghm_error *err);
/* Release (no-op when not held). */
void ghm_lock_release(ghm_lock *l);

/* The lock file of a run, <out_dir>/runs/.locks/<run_id>.lock, and of a
 * results directory, <out_dir>/.lock. 0, or -1 when buf is too small. */
int ghm_lock_run_path(const char *out_dir, const char *run_id, char *buf, size_t n);
int ghm_lock_dir_path(const char *out_dir, char *buf, size_t n);

/* Remove the temporary files ("*.tmp") left directly in dir by a process
 * killed while writing (call it while holding the directory's lock). Returns
 * the number removed. */
int ghm_remove_stale_tmp(const char *dir);

#ifdef __cplusplus
}
#endif
#endif
