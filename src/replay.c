/*
 * One-time jti records: one file per accepted (iss, jti) under state_dir,
 * named by BLAKE2b-256(iss "\n" jti) in hex (never from token bytes), holding
 * the time until which the token could still be valid. Check, create and
 * prune run under an exclusive flock of state_dir/.lock, so two logins with
 * one token cannot both find it unused.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "err.h"
#include "replay.h"
#include "util.h"

#define PRUNE_PER_CALL 32

static void
record_name(char out[2 * crypto_generichash_BYTES + 1], const char *iss, const char *jti)
{
	unsigned char h[crypto_generichash_BYTES];
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const unsigned char *)iss, strlen(iss));
	crypto_generichash_update(&st, (const unsigned char *)"\n", 1);
	crypto_generichash_update(&st, (const unsigned char *)jti, strlen(jti));
	crypto_generichash_final(&st, h, sizeof(h));
	sodium_bin2hex(out, 2 * crypto_generichash_BYTES + 1, h, sizeof(h));
}

/* The expiry in a record; -1 when unreadable (then treated as in use). */
static long long
read_expiry(int dfd, const char *name)
{
	char buf[32];
	long long v = -1;
	ssize_t n;
	int fd;

	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ? -2 : -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (sscanf(buf, "%lld", &v) != 1)
		return -1;
	return v;
}

/* Bounded work: look at a few records, drop those that cannot be used. */
static void
prune(int dfd, int64_t now)
{
	DIR *d;
	struct dirent *e;
	int seen = 0, fd = dup(dfd);

	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while (seen < PRUNE_PER_CALL && (e = readdir(d)) != NULL) {
		long long exp;

		if (strlen(e->d_name) != 2 * crypto_generichash_BYTES)
			continue;
		seen++;
		if ((exp = read_expiry(dfd, e->d_name)) >= 0 && exp <= now)
			unlinkat(dfd, e->d_name, 0);
	}
	closedir(d);
}

static int
open_state_dir(const struct pj_config *cfg, const struct pj_log *lg, int create, int *dfd)
{
	const char *why = NULL;

	if (pj_open_safely(cfg->state_dir, 1, dfd, &why) == 0)
		return 0;
	if (errno == ENOENT && create) {
		if (mkdir(cfg->state_dir, 0700) != 0 && errno != EEXIST) {
			pj_log(lg, LOG_ERR, "state_dir %s: cannot create: %s", cfg->state_dir, strerror(errno));
			return PJ_ERR_REPLAY_STORE_UNAVAILABLE;
		}
		if (pj_open_safely(cfg->state_dir, 1, dfd, &why) == 0)
			return 0;
	}
	if (errno == ENOENT && !create)
		return PJ_ERR_KEYS_UNAVAILABLE; /* nothing recorded: not an error for a reader */
	pj_log(lg, LOG_ERR, "state_dir %s: %s", cfg->state_dir, why);
	return PJ_ERR_REPLAY_STORE_UNAVAILABLE;
}

int
pj_replay_check(const struct pj_config *cfg, const struct pj_log *lg, const char *iss,
    const char *jti, double exp, int64_t now, int record)
{
	char name[2 * crypto_generichash_BYTES + 1], val[32];
	long long until = (long long)exp, old;
	int dfd = -1, lfd = -1, fd = -1, r = PJ_ERR_REPLAY_STORE_UNAVAILABLE;
	size_t vlen;

	if (iss == NULL || jti == NULL || jti[0] == '\0')
		return PJ_ERR_REPLAYED;
	/* Kept while the token could still be valid: exp (rounded up) + leeway. */
	if ((double)until < exp)
		until++;
	until += cfg->leeway;
	record_name(name, iss, jti);
	if ((r = open_state_dir(cfg, lg, record, &dfd)) != 0)
		return r == PJ_ERR_KEYS_UNAVAILABLE ? 0 : r;
	r = PJ_ERR_REPLAY_STORE_UNAVAILABLE;
	if (!record) {
		/* The tool reads; it never writes, nor takes the lock. */
		old = read_expiry(dfd, name);
		r = (old == -2 || (old >= 0 && old <= now)) ? 0 : PJ_ERR_REPLAYED;
		goto out;
	}
	if ((lfd = openat(dfd, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
	    flock(lfd, LOCK_EX) != 0) {
		pj_log(lg, LOG_ERR, "state_dir %s: cannot lock: %s", cfg->state_dir, strerror(errno));
		goto out;
	}
	old = read_expiry(dfd, name);
	if (old == -1 || old > now) {
		r = PJ_ERR_REPLAYED;
		goto out;
	}
	if (old >= 0 && unlinkat(dfd, name, 0) != 0)
		goto out;
	vlen = (size_t)snprintf(val, sizeof(val), "%lld\n", until);
	if ((fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0 ||
	    write(fd, val, vlen) != (ssize_t)vlen || fsync(fd) != 0 || fsync(dfd) != 0) {
		pj_log(lg, LOG_ERR, "state_dir %s: cannot record the jti: %s", cfg->state_dir,
		    strerror(errno));
		if (fd >= 0)
			unlinkat(dfd, name, 0);
		goto out;
	}
	prune(dfd, now);
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	if (lfd >= 0)
		close(lfd); /* releases the lock */
	close(dfd);
	return r;
}
