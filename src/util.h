#ifndef PJ_UTIL_H
#define PJ_UTIL_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Open path read-only without following a final symlink (O_NOFOLLOW), and
 * check what was opened (fstat): a regular file (a directory when want_dir),
 * owned by root or the effective uid, not writable by group or other.
 * Returns 0 and *fd; else -1 with *why set to a short static reason and
 * errno preserved (ENOENT when it does not exist, ELOOP for a symlink,
 * EPERM for a failed owner/mode check, EISDIR/ENOTDIR for the wrong type).
 */
int pj_open_safely(const char *path, int want_dir, int *fd, const char **why);

/* Read fd to EOF, at most max bytes (PJ_ERR_TOO_LARGE past that); *buf is
 * NUL-terminated (not counted); *buf NULL on entry; free with free(). */
int pj_read_all(int fd, size_t max, char **buf, size_t *len);

/* Trim ASCII whitespace at both ends of [*p, *p + *len). */
void pj_trim(const char **p, size_t *len);

/* Wipe and free (free(NULL) is fine). */
void pj_freezero(void *p, size_t len);

/* Sleep ms milliseconds (a lock poll; a signal may cut it short). */
void pj_sleep_ms(long ms);

#endif
