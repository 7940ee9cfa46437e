/* One-time jti records under state_dir (pam_jwt(8), VALIDATION).
 *
 * One file per accepted (iss, jti), named by the BLAKE2b-256 hex of
 * iss "\n" jti, holding the token's exp (rounded up). It blocks every line
 * sharing the store until exp + PJ_LEEWAY_MAX, whatever the leeway of the
 * line that wrote it or reads it, and is pruned only after that. (A record
 * of an older version holds exp + its writer's leeway: it blocks a little
 * longer, never shorter.) A record is made complete in a temporary file
 * (created O_CREAT|O_EXCL, synced) and published with link(), which fails
 * when the name exists: of two logins with one token, exactly one wins,
 * and no reader ever sees half a record. Replacing a stale record and pruning
 * happen under state_dir/.lock; creation needs no lock, since link()
 * cannot succeed while a record (stale or not) exists.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cache.h"
#include "err.h"
#include "num.h"
#include "replay.h"
#include "trust.h"
#include "util.h"

#define RECORD_MAX 32
#define PRUNE_SAMPLE 8		/* records looked at per call: bounded work */
#define PRUNE_SCAN_MAX 100000	/* directory entries read per call, at most */
#define TMP_PREFIX ".tmp-"
#define TMP_STALE 3600		/* a temporary file this old was left by a killed login */
#define LOCK_NAME ".lock"
#define LOCK_WAIT_MS 2000
#define LOCK_POLL_MS 5

enum { REC_NONE, REC_VALID, REC_UNTRUSTED, REC_ERROR };

/* A record of exp still blocks at now: the token may be accepted on some
 * line while now < exp + leeway, and no line's leeway exceeds the max. */
static int
record_blocks(int64_t exp, int64_t now)
{
	return now - PJ_LEEWAY_MAX < exp;
}

/* state_dir: 1 when it does not exist (and create is off), 0 and *dfd, or
 * PJ_ERR_REPLAY_STORE_UNAVAILABLE (logged). */
static int
open_dir(const struct pj_config *cfg, const struct pj_log *lg, int create, int *dfd)
{
	const char *why = NULL;
	int made = 0;

	*dfd = -1;
	if (pj_trust_open(cfg->state_dir, PJ_TRUST_DIR, PJ_TRUST_RDONLY, dfd, &why) == 0)
		return 0;
	if (errno != ENOENT)
		goto bad;
	if (!create)
		return 1;
	if (mkdir(cfg->state_dir, 0700) == 0)
		made = 1;
	else if (errno != EEXIST) {
		why = strerror(errno);
		goto bad;
	}
	if (pj_trust_open(cfg->state_dir, PJ_TRUST_DIR, PJ_TRUST_RDONLY, dfd, &why) != 0)
		goto bad;
	if (made && fchmod(*dfd, 0700) != 0) {
		why = strerror(errno);
		close(*dfd);
		*dfd = -1;
		goto bad;
	}
	return 0;
bad:
	pj_log(lg, LOG_ERR, "jti_replay: state_dir %s: %s", cfg->state_dir, why != NULL ? why : "unusable");
	return PJ_ERR_REPLAY_STORE_UNAVAILABLE;
}

/* "EXP\n" as write_tmp makes it: canonical digits. */
static int
parse_expiry(const char *buf, size_t len, int64_t *out)
{
	long long v;

	if (len < 2 || buf[len - 1] != '\n' ||
	    pj_num_parse(buf, len - 1, 0, INT64_MAX, PJ_NUM_CANONICAL, &v) != 0)
		return -1;
	*out = v;
	return 0;
}

/* A record we cannot trust still counts as there: one-time use never fails open. */
static int
read_record(int dfd, const char *name, const struct pj_log *lg, int64_t *exp)
{
	char buf[RECORD_MAX + 1];
	const char *why = NULL;
	ssize_t n;
	int fd;

	if (pj_trust_openat(dfd, name, PJ_TRUST_FILE, PJ_TRUST_RDONLY, &fd, &why) != 0) {
		if (errno == ENOENT)
			return REC_NONE;
		if (pj_trust_refused(errno))
			goto untrusted;
		pj_log(lg, LOG_ERR, "jti_replay: record %s: %s", name, strerror(errno));
		return REC_ERROR;
	}
	while ((n = read(fd, buf, sizeof(buf))) < 0 && errno == EINTR)
		;
	if (n < 0 || parse_expiry(buf, (size_t)n, exp) != 0) {
		why = "unreadable or garbage";
		goto untrusted;
	}
	close(fd);
	return REC_VALID;
untrusted:
	if (fd >= 0)
		close(fd);
	pj_log(lg, LOG_WARNING, "jti_replay: record %s: %s: counted as used", name, why);
	return REC_UNTRUSTED;
}

/* state_dir/.lock, exclusively, waiting at most wait_ms (0: try once; no
 * blocking flock in a PAM module). -1 when not had. */
static int
lock_store(int dfd, long wait_ms)
{
	const char *why;
	int fd;

	if (pj_trust_openat(dfd, LOCK_NAME, PJ_TRUST_FILE, PJ_TRUST_LOCK, &fd, &why) != 0)
		return -1;
	for (long waited = 0;; waited += LOCK_POLL_MS) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return fd;
		if ((errno != EWOULDBLOCK && errno != EINTR) || waited >= wait_ms) {
			close(fd);
			return -1;
		}
		pj_sleep_ms(LOCK_POLL_MS);
	}
}

/* The complete record, in a fresh temporary file: its name in tmp. */
static int
write_tmp(int dfd, int64_t exp, char tmp[sizeof(TMP_PREFIX) + 32])
{
	unsigned char rnd[16];
	char body[RECORD_MAX];
	int fd = -1, n;
	ssize_t w;

	randombytes_buf(rnd, sizeof(rnd));
	memcpy(tmp, TMP_PREFIX, sizeof(TMP_PREFIX) - 1);
	sodium_bin2hex(tmp + sizeof(TMP_PREFIX) - 1, 33, rnd, sizeof(rnd));
	if ((fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		return -1;
	n = snprintf(body, sizeof(body), "%" PRId64 "\n", exp);
	while ((w = write(fd, body, (size_t)n)) < 0 && errno == EINTR)
		;
	if (w != n || fchmod(fd, 0600) != 0 || fsync(fd) != 0 || close(fd) != 0) {
		int e = errno;

		close(fd);
		unlinkat(dfd, tmp, 0);
		errno = e;
		return -1;
	}
	return 0;
}

static int
is_record_name(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == PJ_CACHE_HEX_LEN;
}

/* A few records that block no line any more go, picked at random over the
 * folder (so that no part of it is never looked at), and temporary files
 * of killed logins. */
static void
prune(int dfd, int64_t now, const struct pj_log *lg)
{
	char pick[PRUNE_SAMPLE][PJ_CACHE_HEX_LEN + 1];
	size_t seen = 0, npick = 0, scanned = 0, gone = 0;
	struct dirent *de;
	struct stat st;
	int64_t exp;
	DIR *d = NULL;
	int lfd, fd;

	if ((lfd = lock_store(dfd, 0)) < 0)
		return;	/* someone else is at it */
	if ((fd = dup(dfd)) < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		goto out;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL && scanned++ < PRUNE_SCAN_MAX) {
		if (is_record_name(de->d_name)) {
			/* Reservoir sampling: each record equally likely. */
			size_t j = seen < PRUNE_SAMPLE ? seen : randombytes_uniform((uint32_t)(seen + 1));

			if (j < PRUNE_SAMPLE) {
				memcpy(pick[j], de->d_name, PJ_CACHE_HEX_LEN + 1);
				if (npick < PRUNE_SAMPLE)
					npick++;
			}
			seen++;
		} else if (strncmp(de->d_name, TMP_PREFIX, sizeof(TMP_PREFIX) - 1) == 0 && gone < PRUNE_SAMPLE &&
		    fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mtime + TMP_STALE < now) {
			if (unlinkat(dfd, de->d_name, 0) == 0)
				gone++;
		}
	}
	/* Under the lock: a stale record cannot be replaced meanwhile, and
	 * none can be created while it exists. */
	for (size_t i = 0; i < npick; i++) {
		if (read_record(dfd, pick[i], lg, &exp) == REC_VALID && !record_blocks(exp, now) &&
		    unlinkat(dfd, pick[i], 0) == 0)
			gone++;
	}
	if (gone > 0)
		pj_log(lg, LOG_DEBUG, "jti_replay: pruned %zu expired entries", gone);
out:
	if (d != NULL)
		closedir(d);
	close(lfd);
}

int
pj_replay_check(const struct pj_config *cfg, const struct pj_log *lg, const char *iss,
    const char *jti, double exp, int64_t now, int record)
{
	char name[PJ_CACHE_HEX_LEN + 1], tmp[sizeof(TMP_PREFIX) + 32] = "";
	char *src = NULL;
	size_t ilen, jlen;
	int64_t rec = 0, have = 0;
	int dfd = -1, lfd = -1, rr, r = PJ_ERR_REPLAY_STORE_UNAVAILABLE;

	if (jti == NULL || jti[0] == '\0')
		return PJ_ERR_REPLAYED;
	if (iss == NULL)
		iss = "";
	if (!(exp >= 0 && exp < 9007199254740992.0))
		return PJ_ERR_REPLAYED;	/* step 5 made sure of it; never trust twice */
	/* The file name is a hash, never token bytes. */
	ilen = strlen(iss);
	jlen = strlen(jti);
	if ((src = malloc(ilen + jlen + 2)) == NULL)
		return PJ_ERR_NOMEM;
	memcpy(src, iss, ilen);
	src[ilen] = '\n';
	memcpy(src + ilen + 1, jti, jlen + 1);
	pj_hash_hex(src, ilen + 1 + jlen, name);
	free(src);
	rec = (int64_t)exp;
	if ((double)rec < exp)
		rec++;	/* rounded up: never shorter */

	if ((rr = open_dir(cfg, lg, record, &dfd)) != 0)
		return rr == 1 ? 0 : rr;	/* no store yet: nothing was ever used */
	if (!record) {
		/* The tool reads; it never writes, nor takes the lock. */
		switch (read_record(dfd, name, lg, &have)) {
		case REC_NONE: r = 0; break;
		case REC_VALID: r = record_blocks(have, now) ? PJ_ERR_REPLAYED : 0; break;
		case REC_UNTRUSTED: r = PJ_ERR_REPLAYED; break;
		default: r = PJ_ERR_REPLAY_STORE_UNAVAILABLE; break;
		}
		goto out;
	}
	if (write_tmp(dfd, rec, tmp) != 0) {
		pj_log(lg, LOG_ERR, "jti_replay: state_dir %s: cannot write a record: %s", cfg->state_dir,
		    strerror(errno));
		tmp[0] = '\0';
		goto out;
	}
	if (linkat(dfd, tmp, dfd, name, 0) == 0) {
		r = 0;
		goto done;
	}
	if (errno != EEXIST) {
		pj_log(lg, LOG_ERR, "jti_replay: state_dir %s: cannot write a record: %s", cfg->state_dir,
		    strerror(errno));
		goto out;
	}
	rr = read_record(dfd, name, lg, &have);
	if (rr == REC_ERROR)
		goto out;
	if (rr == REC_UNTRUSTED || (rr == REC_VALID && record_blocks(have, now))) {
		r = PJ_ERR_REPLAYED;
		goto out;
	}
	/* Stale (or just pruned): replace it, one login at a time. */
	if ((lfd = lock_store(dfd, LOCK_WAIT_MS)) < 0) {
		pj_log(lg, LOG_ERR, "jti_replay: state_dir %s: cannot lock", cfg->state_dir);
		goto out;
	}
	rr = read_record(dfd, name, lg, &have);
	if (rr == REC_ERROR)
		goto out;
	if (rr == REC_UNTRUSTED || (rr == REC_VALID && record_blocks(have, now))) {
		r = PJ_ERR_REPLAYED;
		goto out;
	}
	if (rr == REC_NONE) {
		if (linkat(dfd, tmp, dfd, name, 0) != 0) {
			r = errno == EEXIST ? PJ_ERR_REPLAYED : PJ_ERR_REPLAY_STORE_UNAVAILABLE;
			goto out;
		}
	} else {
		if (renameat(dfd, tmp, dfd, name) != 0) {
			pj_log(lg, LOG_ERR, "jti_replay: state_dir %s: cannot replace a record: %s",
			    cfg->state_dir, strerror(errno));
			goto out;
		}
		tmp[0] = '\0';
	}
	r = 0;
done:
	if (tmp[0] != '\0') {
		unlinkat(dfd, tmp, 0);
		tmp[0] = '\0';
	}
	/* The record outlives a crash: the folder entry is on disk too. */
	if (fsync(dfd) != 0) {
		pj_log(lg, LOG_ERR, "jti_replay: state_dir %s: fsync: %s", cfg->state_dir, strerror(errno));
		r = PJ_ERR_REPLAY_STORE_UNAVAILABLE;
		goto out;
	}
	if (lfd >= 0) {
		close(lfd);
		lfd = -1;
	}
	prune(dfd, now, lg);
out:
	if (tmp[0] != '\0')
		unlinkat(dfd, tmp, 0);
	if (lfd >= 0)
		close(lfd);
	if (dfd >= 0)
		close(dfd);
	return r;
}
