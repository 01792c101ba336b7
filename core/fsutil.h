/* Output files: mkdir -p and atomic writes by path, and safe output files in a
 * results directory.
 *
 * A results directory is untrusted input: someone else may have made it and
 * placed symbolic links in it (plots -> /elsewhere, summary.md -> ~/.bashrc).
 * The directory the user names (root) may itself be a link (results/ on
 * another disk); nothing below it is followed: every component of a relative
 * path is opened with O_NOFOLLOW, a file is created under a fresh temporary
 * name with O_CREAT | O_EXCL | O_NOFOLLOW, written, fsync'ed and renamed into
 * place (a rename replaces a link at the final name, it never writes through
 * it). Every file ghm writes into a results directory goes through here.
 */
#ifndef GHM_FSUTIL_H
#define GHM_FSUTIL_H

#include "error.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Open the directory root/rel (rel NULL or "": root itself; '/'-separated,
 * ".." refused), making missing directories when create. A symbolic link or a
 * non-directory at any component of rel is refused with GHM_EINPUT naming it.
 * Returns a file descriptor (close-on-exec) >= 0, or a negative error. */
int ghm_out_dir_open(const char *root, const char *rel, int create, ghm_error *err);

/* Make the directory path (mkdir -p) where its last `below` components lie
 * inside a results directory: none of them may be a symbolic link (GHM_EINPUT
 * naming it). E.g. ghm_out_mkdirs(".../results/x/runs/0123abcd", 2, err)
 * refuses a runs/ or runs/0123abcd that is a link. Later path-based writes
 * into it (ghm_write_file_atomic) then stay in the results directory. */
int ghm_out_mkdirs(const char *path, int below, ghm_error *err);

/* Write n bytes as the file `name` (no '/') of the open directory dfd,
 * atomically: temporary "<name>.XXXXXX.tmp" (O_CREAT | O_EXCL | O_NOFOLLOW,
 * mode 0666 & ~umask), fsync, rename. `where` names dfd in error messages. */
int ghm_out_write_at(int dfd, const char *where, const char *name, const void *data, size_t n, ghm_error *err);

/* ghm_out_write_at into root/rel: the directories of rel are made (with
 * ghm_out_dir_open's rules), e.g. ghm_out_write(dir, "plots/x.gp", ...). */
int ghm_out_write(const char *root, const char *rel, const void *data, size_t n, ghm_error *err);

/* Write a file atomically by its path: the directory as the caller names it
 * (it may be a link the user made), the file created with ghm_out_write_at's
 * rules (temporary name, fsync, rename). A reader sees either the old content
 * or the new, never a partial file. */
int ghm_write_file_atomic(const char *path, const void *data, size_t n, ghm_error *err);

/* mkdir -p (links followed: for directories the user names; inside a results
 * directory use ghm_out_mkdirs). */
int ghm_mkdirs(const char *path, ghm_error *err);

/* Make a fresh private directory "<prefix>XXXXXX.tmp" (mode 0700) in dfd for
 * another program's outputs; its name goes to name (size nn). Returns its fd. */
int ghm_out_tmpdir_at(int dfd, const char *where, const char *prefix, char *name, size_t nn, ghm_error *err);

/* Move the file sname of directory sfd to dname of dfd when it is a non-empty
 * regular file (not a link): 0, else -1 (nothing moved). */
int ghm_out_move_at(int sfd, const char *sname, int dfd, const char *dname);

/* Remove the directory `name` of dfd and the files directly in it (links
 * removed, never followed; nothing recursive beyond one level). */
void ghm_out_rmdir_at(int dfd, const char *name);

#ifdef __cplusplus
}
#endif
#endif
