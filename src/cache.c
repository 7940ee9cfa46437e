/* The on-disk JWKS cache: names, safe reads, atomic writes, .meta, .lock.
 * Everything inside cache_dir goes through the descriptor of the folder
 * that was checked (openat, renameat), never through its path again. */
#include "config.h"

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
#include "trust.h"
#include "util.h"

#define META_MAX 16384
#define LOCK_TRIES 8
#define LOCK_POLL_MS 10
#define TIME_MAX 999999999999999999LL
#define TTL_DEFAULT 3600
#define TTL_MIN 60
#define TTL_MAX 86400

#define NAME_LEN (PJ_CACHE_HEX_LEN + 6)	/* <hash>.jwks */

struct pj_cache {
	char *dir;
	char hex[PJ_CACHE_HEX_LEN + 1];
	char *jwks_path, *meta_path, *lock_path;	/* for the logs */
	char jwks_name[NAME_LEN], meta_name[NAME_LEN], lock_name[NAME_LEN];
	int dfd;	/* cache_dir, as checked */
	int lockfd;
};

static const char *const causes[PJ_CAUSE_COUNT] = {"empty", "expired", "kid_miss", "refresh"};

void
pj_hash_hex(const void *buf, size_t len, char hex[PJ_CACHE_HEX_LEN + 1])
{
	unsigned char h[32];

	crypto_generichash(h, sizeof(h), buf, len, NULL, 0);
	sodium_bin2hex(hex, PJ_CACHE_HEX_LEN + 1, h, sizeof(h));
}

void
pj_deadline_set(struct timespec *d, long seconds)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += seconds;
}

long
pj_deadline_left_ms(const struct timespec *d)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(d->tv_sec - now.tv_sec) * 1000 + (d->tv_nsec - now.tv_nsec) / 1000000;
	return ms > 0 ? (long)ms : 0;
}

static char *
path_join(const char *dir, const char *hex, const char *ext)
{
	size_t n = strlen(dir) + 1 + strlen(hex) + strlen(ext) + 1;
	char *p = malloc(n);

	if (p != NULL)
		snprintf(p, n, "%s/%s%s", dir, hex, ext);
	return p;
}

void
pj_cache_close(struct pj_cache *c)
{
	if (c == NULL)
		return;
	pj_cache_unlock(c);
	if (c->dfd >= 0)
		close(c->dfd);
	free(c->dir);
	free(c->jwks_path);
	free(c->meta_path);
	free(c->lock_path);
	free(c);
}

const char *
pj_cache_jwks_path(const struct pj_cache *c)
{
	return c->jwks_path;
}

/* cache_dir: there and trusted, or created 0755 when asked to; *dfd kept. */
static int
open_dir(const char *dir, const struct pj_log *lg, int create, int *dfd)
{
	const char *why = NULL;
	int fd = -1, made = 0;

	*dfd = -1;
	if (pj_trust_open(dir, PJ_TRUST_DIR, PJ_TRUST_RDONLY, &fd, &why) != 0 && errno == ENOENT &&
	    create) {
		if (mkdir(dir, 0755) == 0)
			made = 1;
		else if (errno != EEXIST) {
			pj_log(lg, errno == EACCES || errno == EROFS ? LOG_INFO : LOG_ERR,
			    "cache_dir %s: cannot create: %s", dir, strerror(errno));
			return PJ_ERR_KEYS_UNAVAILABLE;
		}
		if (pj_trust_open(dir, PJ_TRUST_DIR, PJ_TRUST_RDONLY, &fd, &why) != 0)
			goto bad;
		/* Exactly 0755, whatever the umask: readers of public keys. */
		if (made && fchmod(fd, 0755) != 0) {
			pj_log(lg, LOG_ERR, "cache_dir %s: chmod: %s", dir, strerror(errno));
			close(fd);
			return PJ_ERR_KEYS_UNAVAILABLE;
		}
		pj_log(lg, LOG_INFO, "cache_dir %s: created", dir);
	}
	if (fd < 0)
		goto bad;
	*dfd = fd;
	return 0;
bad:
	if (errno == ENOENT)
		pj_log(lg, LOG_DEBUG, "cache_dir %s: does not exist", dir);
	else
		pj_log(lg, LOG_ERR, "cache_dir %s: %s", dir, why != NULL ? why : strerror(errno));
	return PJ_ERR_KEYS_UNAVAILABLE;
}

int
pj_cache_open(const struct pj_config *cfg, const struct pj_log *lg, int create,
    struct pj_cache **out)
{
	struct pj_cache *c = NULL;
	char *src = NULL;
	size_t n;
	int r = PJ_ERR_NOMEM;

	*out = NULL;
	if (cfg->jwks_file != NULL || cfg->cache_dir == NULL || cfg->issuer == NULL)
		return PJ_ERR_INTERNAL;
	/* Never from a token field: the source, and the trust anchor. */
	n = strlen(cfg->jwks_uri != NULL ? cfg->jwks_uri : cfg->issuer) +
	    (cfg->ca_file != NULL ? strlen(cfg->ca_file) : 1) + 16;
	if ((src = malloc(n)) == NULL)
		goto out;
	if (cfg->jwks_uri != NULL)
		snprintf(src, n, "jwks_uri=%s\n%s", cfg->jwks_uri, cfg->ca_file != NULL ? cfg->ca_file : "-");
	else
		snprintf(src, n, "issuer=%s\n%s", cfg->issuer, cfg->ca_file != NULL ? cfg->ca_file : "-");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		goto out;
	c->dfd = c->lockfd = -1;
	pj_hash_hex(src, strlen(src), c->hex);
	snprintf(c->jwks_name, sizeof(c->jwks_name), "%s.jwks", c->hex);
	snprintf(c->meta_name, sizeof(c->meta_name), "%s.meta", c->hex);
	snprintf(c->lock_name, sizeof(c->lock_name), "%s.lock", c->hex);
	if ((c->dir = strdup(cfg->cache_dir)) == NULL ||
	    (c->jwks_path = path_join(c->dir, c->hex, ".jwks")) == NULL ||
	    (c->meta_path = path_join(c->dir, c->hex, ".meta")) == NULL ||
	    (c->lock_path = path_join(c->dir, c->hex, ".lock")) == NULL)
		goto out;
	if ((r = open_dir(c->dir, lg, create, &c->dfd)) != 0)
		goto out;
	*out = c;
	c = NULL;
	r = 0;
out:
	pj_cache_close(c);
	free(src);
	return r;
}

/* ---------------------------------------------------------------- .meta */

void
pj_meta_init(struct pj_meta *m)
{
	memset(m, 0, sizeof(*m));
	m->attempt_at = m->fetched = m->max_age = m->fresh_until = m->kid_miss_at = m->failed_at = -1;
	m->jitter = -1;
}

void
pj_meta_clear(struct pj_meta *m)
{
	free(m->jwks_uri);
	pj_meta_init(m);
}

const char *
pj_meta_cause_name(enum pj_meta_cause cause)
{
	return (unsigned)cause < PJ_CAUSE_COUNT ? causes[cause] : "";
}

long
pj_meta_lifetime(const struct pj_meta *m, long cache_ttl)
{
	if (cache_ttl > 0)
		return cache_ttl;
	if (m->max_age >= 0)
		return m->max_age < TTL_MIN ? TTL_MIN : m->max_age > TTL_MAX ? TTL_MAX : (long)m->max_age;
	return TTL_DEFAULT;
}

int64_t
pj_meta_fresh_deadline(const struct pj_meta *m, long cache_ttl)
{
	int64_t t;

	if (m->fetched < 0)
		return -1;
	if (m->jitter < 0)
		return m->fresh_until;	/* an older writer's .meta */
	t = pj_meta_lifetime(m, cache_ttl);
	/* now < fetched + T - T*j/10^6 holds for a whole now exactly when
	 * now < fetched + T - floor(T*j/10^6). */
	return m->fetched + t - t * m->jitter / PJ_JITTER_SCALE;
}

long
pj_meta_jitter_draw(void)
{
	return (long)randombytes_uniform(PJ_JITTER_MAX + 1);
}

/* Times we wrote: canonical digits; 18 of them, so adding a lifetime
 * cannot overflow. */
static int
parse_time(const char *s, size_t len, int64_t *out)
{
	long long v;

	if (pj_num_parse(s, len, 0, TIME_MAX, PJ_NUM_CANONICAL, &v) != 0)
		return -1;
	*out = v;
	return 0;
}

int
pj_cache_uri_ok(const char *s, size_t len)
{
	if (len <= 8 || len > PJ_CACHE_URI_MAX || strncmp(s, "https://", 8) != 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

enum { MK_ATTEMPT_AT, MK_ATTEMPT_CAUSE, MK_FETCHED, MK_MAX_AGE, MK_JITTER, MK_FRESH_UNTIL,
	MK_KID_MISS_AT, MK_FAILED_AT, MK_JWKS_URI, MK_COUNT };
static const char *const meta_keys[MK_COUNT] = {"attempt_at", "attempt_cause", "fetched", "max_age",
	"jitter", "fresh_until", "kid_miss_at", "failed_at", "jwks_uri"};

/* Strict: every line "key=value\n", known keys once and well formed;
 * unknown keys (a newer writer's) are skipped. */
static const char *
parse_meta(const char *buf, size_t len, struct pj_meta *m)
{
	const char *p = buf, *end = buf + len, *nl, *eq, *v;
	unsigned seen = 0;
	size_t klen, vlen, i;
	long long n;

	if (len == 0)
		return "empty";
	for (; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return "truncated (no final newline)";
		if ((eq = memchr(p, '=', (size_t)(nl - p))) == NULL || eq == p)
			return "a line without 'key='";
		klen = (size_t)(eq - p);
		v = eq + 1;
		vlen = (size_t)(nl - v);
		for (i = 0; i < MK_COUNT; i++)
			if (strlen(meta_keys[i]) == klen && memcmp(meta_keys[i], p, klen) == 0)
				break;
		if (i == MK_COUNT)
			continue;
		if (seen & (1u << i))
			return "a repeated key";
		seen |= 1u << i;
		switch (i) {
		case MK_ATTEMPT_AT:
			if (parse_time(v, vlen, &m->attempt_at) != 0)
				return "bad attempt_at";
			break;
		case MK_ATTEMPT_CAUSE: {
			size_t c;

			for (c = 0; c < PJ_CAUSE_COUNT; c++)
				if (strlen(causes[c]) == vlen && memcmp(causes[c], v, vlen) == 0)
					break;
			if (c == PJ_CAUSE_COUNT)
				return "bad attempt_cause";
			memcpy(m->attempt_cause, v, vlen);
			m->attempt_cause[vlen] = '\0';
			break;
		}
		case MK_FETCHED:
			if (parse_time(v, vlen, &m->fetched) != 0)
				return "bad fetched";
			break;
		case MK_MAX_AGE:
			if (!(vlen == 1 && v[0] == '-') && parse_time(v, vlen, &m->max_age) != 0)
				return "bad max_age";
			break;
		case MK_JITTER:
			if (pj_num_parse(v, vlen, 0, PJ_JITTER_MAX, PJ_NUM_CANONICAL, &n) != 0)
				return "bad jitter";
			m->jitter = (long)n;
			break;
		case MK_FRESH_UNTIL:
			if (parse_time(v, vlen, &m->fresh_until) != 0)
				return "bad fresh_until";
			break;
		case MK_KID_MISS_AT:
			if (parse_time(v, vlen, &m->kid_miss_at) != 0)
				return "bad kid_miss_at";
			break;
		case MK_FAILED_AT:
			if (parse_time(v, vlen, &m->failed_at) != 0)
				return "bad failed_at";
			break;
		default:
			if (!pj_cache_uri_ok(v, vlen))
				return "bad jwks_uri";
			if ((m->jwks_uri = strndup(v, vlen)) == NULL)
				return "out of memory";
			break;
		}
	}
	if (!(seen & (1u << MK_MAX_AGE)) != !(seen & (1u << MK_JITTER)))
		return "max_age without jitter, or the reverse";
	/* A fetch time and something to judge it by, or neither. */
	if ((m->fetched >= 0) != (m->fresh_until >= 0 || m->jitter >= 0))
		return "fetched without fresh_until or jitter, or the reverse";
	if ((m->attempt_at >= 0) != (m->attempt_cause[0] != '\0'))
		return "attempt_at without attempt_cause, or the reverse";
	return NULL;
}

int
pj_cache_read_meta(struct pj_cache *c, const struct pj_log *lg, struct pj_meta *m, int *bad)
{
	const char *why = NULL;
	char *buf = NULL;
	size_t len = 0;
	int fd = -1, r;

	pj_meta_init(m);
	*bad = 0;
	if (pj_trust_openat(c->dfd, c->meta_name, PJ_TRUST_FILE, PJ_TRUST_RDONLY, &fd, &why) != 0) {
		if (errno == ENOENT)
			return 0;
		goto bad;
	}
	r = pj_read_all(fd, META_MAX, &buf, &len);
	close(fd);
	if (r == PJ_ERR_NOMEM)
		return r;
	if (r != 0) {
		why = r == PJ_ERR_TOO_LARGE ? "too large" : "cannot read";
		goto bad;
	}
	if ((why = parse_meta(buf, len, m)) != NULL) {
		pj_meta_clear(m);
		goto bad;
	}
	free(buf);
	return 0;
bad:
	free(buf);
	pj_log(lg, LOG_WARNING, "cache file %s: %s: not trusted (a good fetch replaces it)",
	    c->meta_path, why);
	*bad = 1;
	return 0;
}

int
pj_cache_open_jwks(struct pj_cache *c, const struct pj_log *lg, int *fd)
{
	const char *why = NULL;

	*fd = -1;
	if (pj_trust_openat(c->dfd, c->jwks_name, PJ_TRUST_FILE, PJ_TRUST_RDONLY, fd, &why) != 0) {
		if (errno == ENOENT)
			return PJ_ERR_KEYS_UNAVAILABLE;
		pj_log(lg, LOG_WARNING, "cache file %s: %s: not trusted (a good fetch replaces it)",
		    c->jwks_path, why);
		return PJ_ERR_KEYS_UNAVAILABLE;
	}
	return 0;
}

int
pj_cache_read_jwks_fd(struct pj_cache *c, const struct pj_log *lg, int fd, char **buf, size_t *len)
{
	int r;

	*buf = NULL;
	*len = 0;
	if ((r = pj_read_all(fd, PJ_CACHE_JWKS_MAX, buf, len)) == 0 || r == PJ_ERR_NOMEM)
		return r;
	pj_log(lg, LOG_WARNING, "cache file %s: %s: not trusted (a good fetch replaces it)",
	    c->jwks_path, r == PJ_ERR_TOO_LARGE ? "larger than 1 MiB" : "cannot read");
	return PJ_ERR_KEYS_UNAVAILABLE;
}

int
pj_cache_read_jwks(struct pj_cache *c, const struct pj_log *lg, char **buf, size_t *len)
{
	int fd = -1, r;

	*buf = NULL;
	*len = 0;
	if ((r = pj_cache_open_jwks(c, lg, &fd)) != 0)
		return r;
	r = pj_cache_read_jwks_fd(c, lg, fd, buf, len);
	close(fd);
	return r;
}

/* A temporary file in the same folder (a fresh random name, O_EXCL), mode
 * 0644, synced, renamed into place: all relative to the checked folder. */
static int
write_atomic(struct pj_cache *c, const struct pj_log *lg, const char *path, const char *name,
    const char *buf, size_t len)
{
	unsigned char rnd[8];
	char tmp[1 + PJ_CACHE_HEX_LEN + 1 + 2 * sizeof(rnd) + 1];
	size_t off = 0;
	ssize_t w;
	int fd = -1, r = PJ_ERR_INTERNAL;

	randombytes_buf(rnd, sizeof(rnd));
	snprintf(tmp, sizeof(tmp), ".%s.", c->hex);
	sodium_bin2hex(tmp + 2 + PJ_CACHE_HEX_LEN, 2 * sizeof(rnd) + 1, rnd, sizeof(rnd));
	fd = openat(c->dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		pj_log(lg, LOG_ERR, "cache_dir %s: cannot create a file: %s", c->dir, strerror(errno));
		return PJ_ERR_INTERNAL;
	}
	if (fchmod(fd, 0644) != 0)
		goto fail;
	while (off < len) {
		if ((w = write(fd, buf + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(c->dfd, tmp, c->dfd, name) != 0)
		goto fail;
	r = 0;
	goto out;
fail:
	pj_log(lg, LOG_ERR, "cache file %s: cannot write: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlinkat(c->dfd, tmp, 0);
out:
	return r;
}

int
pj_cache_write_meta(struct pj_cache *c, const struct pj_log *lg, const struct pj_meta *m)
{
	char buf[512 + PJ_CACHE_URI_MAX];
	size_t n = 0;

#define ADD(...) n += (size_t)snprintf(buf + n, sizeof(buf) - n, __VA_ARGS__)
	if (m->attempt_at >= 0)
		ADD("attempt_at=%" PRId64 "\nattempt_cause=%s\n", m->attempt_at, m->attempt_cause);
	if (m->kid_miss_at >= 0)
		ADD("kid_miss_at=%" PRId64 "\n", m->kid_miss_at);
	if (m->fetched >= 0 && m->jitter >= 0) {
		/* Integers only (PRId64, %ld): the same bytes whatever the locale. */
		ADD("fetched=%" PRId64 "\n", m->fetched);
		if (m->max_age >= 0)
			ADD("max_age=%" PRId64 "\n", m->max_age);
		else
			ADD("max_age=-\n");
		ADD("jitter=%ld\n", m->jitter);
		/* Kept for one release: the previous version judges by it. */
		if (m->fresh_until >= 0)
			ADD("fresh_until=%" PRId64 "\n", m->fresh_until);
	} else if (m->fetched >= 0)
		ADD("fetched=%" PRId64 "\nfresh_until=%" PRId64 "\n", m->fetched, m->fresh_until);
	if (m->failed_at >= 0)
		ADD("failed_at=%" PRId64 "\n", m->failed_at);
	if (m->jwks_uri != NULL)
		ADD("jwks_uri=%s\n", m->jwks_uri);
#undef ADD
	if (n >= sizeof(buf))
		return PJ_ERR_INTERNAL;
	return write_atomic(c, lg, c->meta_path, c->meta_name, buf, n);
}

int
pj_cache_write_jwks(struct pj_cache *c, const struct pj_log *lg, const char *buf, size_t len)
{
	return write_atomic(c, lg, c->jwks_path, c->jwks_name, buf, len);
}

/* ---------------------------------------------------------------- .lock */

int
pj_cache_lock(struct pj_cache *c, const struct pj_log *lg, const struct timespec *deadline)
{
	struct stat st, lst;
	const char *why = NULL;
	long left;
	int fd = -1;

	if (c->lockfd >= 0)
		return 0;
	for (int tries = 0; tries < LOCK_TRIES; tries++) {
		if (pj_trust_openat(c->dfd, c->lock_name, PJ_TRUST_FILE, PJ_TRUST_LOCK, &fd,
		    &why) != 0) {
			if (!pj_trust_refused(errno)) {
				pj_log(lg,
				    errno == EACCES || errno == EROFS ? LOG_DEBUG : LOG_WARNING,
				    "cache file %s: cannot open for writing (%s): "
				    "reading the cache only", c->lock_path, why);
				return PJ_ERR_CONFIG;
			}
			pj_log(lg, LOG_WARNING, "cache file %s: %s: not trusted, replaced",
			    c->lock_path, why);
			if (unlinkat(c->dfd, c->lock_name, 0) != 0 && errno != ENOENT)
				goto fail;
			continue;
		}
		if (fstat(fd, &st) != 0)
			goto fail;
		/* Nobody else may even open it: an open file can be locked. */
		if ((st.st_mode & 077) != 0) {
			pj_log(lg, LOG_WARNING,
			    "cache file %s: open to group or other: not trusted, replaced",
			    c->lock_path);
			if (fstatat(c->dfd, c->lock_name, &lst, AT_SYMLINK_NOFOLLOW) == 0 &&
			    lst.st_ino == st.st_ino && lst.st_dev == st.st_dev &&
			    unlinkat(c->dfd, c->lock_name, 0) != 0)
				goto fail;
			close(fd);
			fd = -1;
			continue;
		}
		if ((st.st_mode & 0777) != 0600)
			(void)fchmod(fd, 0600);
		for (;;) {
			if (flock(fd, LOCK_EX | LOCK_NB) == 0)
				break;
			if (errno != EWOULDBLOCK && errno != EINTR)
				goto fail;
			if ((left = pj_deadline_left_ms(deadline)) <= 0) {
				close(fd);
				return PJ_ERR_KEYS_UNAVAILABLE;
			}
			pj_sleep_ms(left < LOCK_POLL_MS ? left : LOCK_POLL_MS);
		}
		/* Still the file at that name (not replaced while we waited)? */
		if (fstatat(c->dfd, c->lock_name, &lst, AT_SYMLINK_NOFOLLOW) == 0 &&
		    lst.st_ino == st.st_ino && lst.st_dev == st.st_dev) {
			c->lockfd = fd;
			return 0;
		}
		close(fd);
		fd = -1;
	}
	pj_log(lg, LOG_WARNING, "cache file %s: keeps changing: not locked", c->lock_path);
	return PJ_ERR_CONFIG;
fail:
	pj_log(lg, LOG_WARNING, "cache file %s: %s", c->lock_path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return PJ_ERR_CONFIG;
}

void
pj_cache_unlock(struct pj_cache *c)
{
	if (c->lockfd >= 0) {
		close(c->lockfd);	/* releases the flock */
		c->lockfd = -1;
	}
}
