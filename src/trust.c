/* The one trust rule for files and folders: see trust.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trust.h"

#define OPEN_TRIES 3	/* an entry replaced (renamed over) between lstat and open */

static int
owner_ok(const struct stat *st)
{
	return st->st_uid == 0 || st->st_uid == geteuid();
}

static int
refuse(int err, const char *reason, const char **why)
{
	*why = reason;
	errno = err;
	return -1;
}

/* Why a stat or open failed, as a static string. */
static const char *
errno_why(int err)
{
	switch (err) {
	case ENOENT: return "does not exist";
	case EACCES: return "permission denied (it or a folder on its path)";
	case ENOTDIR: return "a component of its path is not a directory";
	case ELOOP: return "is a symbolic link";
	case ENAMETOOLONG: return "path too long";
	default: return "cannot be opened";
	}
}

/* The entry itself: type, owner, mode. */
static int
entry_ok(const struct stat *st, int type, const char **why)
{
	if (S_ISLNK(st->st_mode))
		return refuse(ELOOP, "is a symbolic link", why);
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
		return refuse(ENODEV, "a FIFO, socket or device, not a regular file", why);
	if (type == PJ_TRUST_DIR && !S_ISDIR(st->st_mode))
		return refuse(EINVAL, "not a directory", why);
	if (type != PJ_TRUST_DIR && !S_ISREG(st->st_mode))
		return refuse(EINVAL, "a directory, not a regular file", why);
	if (!owner_ok(st))
		return refuse(EPERM, "not owned by root or the current user", why);
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return refuse(EPERM, "writable by group or other", why);
	return 0;
}

/*
 * Every folder from the one holding path up to "/", on its resolved path
 * (realpath of the folder: the final component is never resolved). child is
 * the lstat of the entry below the folder being looked at.
 */
static int
parents_ok(const char *path, const struct stat *entry, const char **why)
{
	char buf[PATH_MAX], real[PATH_MAX], *slash;
	const char *dir;
	struct stat st, child = *entry;
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return refuse(n == 0 ? ENOENT : ENAMETOOLONG,
		    n == 0 ? "empty path" : "path too long", why);
	memcpy(buf, path, n + 1);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	if ((slash = strrchr(buf, '/')) == NULL)
		dir = ".";
	else if (slash == buf)
		dir = "/";
	else {
		*slash = '\0';
		dir = buf;
	}
	if (realpath(dir, real) == NULL) {
		*why = errno_why(errno);
		return -1;
	}
	for (;;) {
		if (lstat(real, &st) != 0) {
			*why = errno_why(errno);
			return -1;
		}
		if (!S_ISDIR(st.st_mode))
			return refuse(ENOTDIR, "a component of its path is not a directory", why);
		if (!owner_ok(&st))
			return refuse(EPERM,
			    "a folder on its path is not owned by root or the current user", why);
		/* A shared folder is safe only when sticky: nobody else can
		 * then rename or remove what we own in it. */
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) &&
		    (!(st.st_mode & S_ISVTX) || !owner_ok(&child)))
			return refuse(EPERM, "a folder on its path is writable by group or other",
			    why);
		if (strcmp(real, "/") == 0)
			return 0;
		slash = strrchr(real, '/');
		if (slash == real)
			slash[1] = '\0';
		else
			*slash = '\0';
		child = st;
	}
}

static int
open_flags(int type, int how)
{
	int fl = O_NOFOLLOW | O_CLOEXEC | (type == PJ_TRUST_DIR ? O_DIRECTORY : 0);

	if (how == PJ_TRUST_PATH)
		return fl | O_PATH;
	fl |= O_NONBLOCK | O_NOCTTY;
	return fl | (how == PJ_TRUST_LOCK ? O_RDWR : O_RDONLY);
}

/* What was opened is what was checked. O_NONBLOCK stays: it only kept a
 * FIFO from blocking the open, and it has no effect on the regular file or
 * directory this proves the descriptor to be (two system calls saved on
 * every open of the login path). */
static int
opened_ok(int f, const struct stat *lst, int type, const char **why)
{
	struct stat st;

	if (fstat(f, &st) != 0) {
		*why = "cannot stat";
		return -1;
	}
	if (st.st_dev != lst->st_dev || st.st_ino != lst->st_ino)
		return refuse(EAGAIN, "changed while being opened", why);
	return entry_ok(&st, type, why);
}

static void
close_keep_errno(int f)
{
	int e = errno;

	close(f);
	errno = e;
}

/* 0: *fd is what was checked; 1: it changed under us, try again; -1: refused. */
static int
settle(int f, const struct stat *lst, int type, int *fd, const char **why)
{
	if (opened_ok(f, lst, type, why) == 0) {
		*fd = f;
		return 0;
	}
	close_keep_errno(f);
	return errno == EAGAIN ? 1 : -1;
}

int
pj_trust_open(const char *path, int type, int how, int *fd, const char **why)
{
	char buf[PATH_MAX];
	struct stat lst;
	size_t n = strlen(path);
	int f, r;

	*fd = -1;
	*why = NULL;
	if (how != PJ_TRUST_RDONLY && how != PJ_TRUST_PATH)
		return refuse(EINVAL, "internal: bad open mode", why);
	/* "dir/" would make lstat and open follow a symlink at dir. */
	if (type == PJ_TRUST_DIR && n > 1 && path[n - 1] == '/') {
		if (n >= sizeof(buf))
			return refuse(ENAMETOOLONG, "path too long", why);
		memcpy(buf, path, n + 1);
		while (n > 1 && buf[n - 1] == '/')
			buf[--n] = '\0';
		path = buf;
	}
	for (int tries = 0; tries < OPEN_TRIES; tries++) {
		if (lstat(path, &lst) != 0) {
			*why = errno_why(errno);
			return -1;
		}
		if (entry_ok(&lst, type, why) != 0 || parents_ok(path, &lst, why) != 0)
			return -1;
		if ((f = open(path, open_flags(type, how))) < 0) {
			*why = errno_why(errno);
			return -1;
		}
		if ((r = settle(f, &lst, type, fd, why)) <= 0)
			return r;
	}
	return refuse(EPERM, "keeps changing while being opened", why);
}

int
pj_trust_openat(int dfd, const char *name, int type, int how, int *fd, const char **why)
{
	struct stat lst;
	int f, r;

	*fd = -1;
	*why = NULL;
	if (strchr(name, '/') != NULL || name[0] == '\0' || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return refuse(EINVAL, "internal: not a plain name", why);
	if (how == PJ_TRUST_LOCK && type != PJ_TRUST_FILE)
		return refuse(EINVAL, "internal: bad open mode", why);
	for (int tries = 0; tries < OPEN_TRIES; tries++) {
		if (fstatat(dfd, name, &lst, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno != ENOENT || how != PJ_TRUST_LOCK) {
				*why = errno_why(errno);
				return -1;
			}
			/* Made here and now: ours, and no one else's to swap. */
			f = openat(dfd, name, open_flags(type, how) | O_CREAT | O_EXCL, 0600);
			if (f < 0 && errno == EEXIST)
				continue;
			if (f < 0) {
				*why = errno_why(errno);
				return -1;
			}
			if (fstat(f, &lst) != 0) {
				close_keep_errno(f);
				*why = "cannot stat";
				return -1;
			}
		} else {
			if (entry_ok(&lst, type, why) != 0)
				return -1;
			if ((f = openat(dfd, name, open_flags(type, how))) < 0) {
				*why = errno_why(errno);
				return -1;
			}
		}
		if ((r = settle(f, &lst, type, fd, why)) <= 0)
			return r;
	}
	return refuse(EPERM, "keeps changing while being opened", why);
}

int
pj_trust_refused(int err)
{
	return err == EPERM || err == ELOOP || err == ENODEV || err == EINVAL;
}
