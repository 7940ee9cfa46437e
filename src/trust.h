#ifndef PJ_TRUST_H
#define PJ_TRUST_H

/*
 * The one rule for every file and folder the module trusts (pam_jwt.conf(5),
 * FILES): the config, user_map, jwks_file, ca_file, fetch_helper, cache_dir,
 * state_dir, and the files inside those two folders.
 *
 * - The entry is owned by root or the effective user and is not writable by
 *   group or other; a final symlink is never followed.
 * - Every folder from "/" down to it, on the path with symlinks resolved, is
 *   owned by root or the effective user and not writable by group or other,
 *   except that a folder with the sticky bit (/tmp) may be, as long as the
 *   entry below it is owned by root or the effective user. Checked at every
 *   call: nothing is remembered between logins.
 * - A file is a regular file, a folder a directory: the type is read with
 *   lstat before anything is opened, so a FIFO, socket or device is never
 *   opened (no login hangs on one); the open then never follows a symlink,
 *   never blocks, never takes a terminal, and what it gave (fstat) must be
 *   the entry that was checked (same device and inode).
 */

enum { PJ_TRUST_FILE, PJ_TRUST_DIR };

enum {
	PJ_TRUST_RDONLY,	/* read it (a folder: to use with openat) */
	PJ_TRUST_PATH,		/* O_PATH: checked, not read (to fstat or execveat) */
	PJ_TRUST_LOCK		/* pj_trust_openat only: O_RDWR, created 0600 when missing */
};

/*
 * Check path by the rule above and open it: 0 and *fd (close-on-exec; for
 * PJ_TRUST_RDONLY in blocking mode), else -1, *fd -1, *why a short static
 * reason and errno:
 *   ENOENT, EACCES, ENOTDIR (or another open error): missing or unreadable,
 *     the entry or a folder on its path;
 *   EPERM: the owner or mode rule fails, for it or a folder on its path, or
 *     it changed while being opened;
 *   ELOOP: it is a symlink;
 *   ENODEV: a FIFO, socket or device; EINVAL: a directory where a file is
 *     wanted, or the reverse (these four: pj_trust_refused).
 */
int pj_trust_open(const char *path, int type, int how, int *fd, const char **why);

/*
 * The same for name (one path component, no '/') inside the folder dfd,
 * which the caller already trusts (opened with pj_trust_open): the folders
 * above are not walked again. PJ_TRUST_LOCK opens read-write and creates
 * the file 0600 (O_EXCL) when it does not exist.
 */
int pj_trust_openat(int dfd, const char *name, int type, int how, int *fd, const char **why);

/* 1 when err (errno after the two above) says the entry is there and the
 * rule refuses it (EPERM, ELOOP, ENODEV, EINVAL); 0 when it is missing or
 * cannot be read (ENOENT, EACCES, ENOTDIR, EIO...). */
int pj_trust_refused(int err);

#endif
