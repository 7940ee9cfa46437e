/* The on-disk JWKS cache: names, safe reads, atomic writes, .meta, .lock. */
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
#include "util.h"

#define META_MAX 16384
#define LOCK_TRIES 8
#define LOCK_POLL_MS 10

struct pj_cache {
	char *dir;
	char hex[PJ_CACHE_HEX_LEN + 1];
	char *jwks_path, *meta_path, *lock_path;
	int lockfd;
};

static const char *const causes[] = {"empty", "expired", "kid_miss", "refresh"};

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
	free(c->dir);
	free(c->jwks_path);
	free(c->meta_path);
	free(c->lock_path);
	free(c);
}

const char *
pj_cache_name(const struct pj_cache *c)
{
	return c->hex;
}

const char *
pj_cache_jwks_path(const struct pj_cache *c)
{
	return c->jwks_path;
}

/* cache_dir: there and safe, or created 0755 when asked to. */
static int
open_dir(const char *dir, const struct pj_log *lg, int create)
{
	const char *why = NULL;
	int fd = -1, made = 0;

	if (pj_open_safely(dir, 1, &fd, &why) != 0 && errno == ENOENT && create) {
		if (mkdir(dir, 0755) == 0)
			made = 1;
		else if (errno != EEXIST) {
			pj_log(lg, errno == EACCES || errno == EROFS ? LOG_INFO : LOG_ERR,
			    "cache_dir %s: cannot create: %s", dir, strerror(errno));
			return PJ_ERR_KEYS_UNAVAILABLE;
		}
		if (pj_open_safely(dir, 1, &fd, &why) != 0)
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
	close(fd);
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
	c->lockfd = -1;
	pj_hash_hex(src, strlen(src), c->hex);
	if ((c->dir = strdup(cfg->cache_dir)) == NULL ||
	    (c->jwks_path = path_join(c->dir, c->hex, ".jwks")) == NULL ||
	    (c->meta_path = path_join(c->dir, c->hex, ".meta")) == NULL ||
	    (c->lock_path = path_join(c->dir, c->hex, ".lock")) == NULL)
		goto out;
	if ((r = open_dir(c->dir, lg, create)) != 0)
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
	m->attempt_at = m->fetched = m->fresh_until = m->kid_miss_at = m->failed_at = -1;
}

void
pj_meta_clear(struct pj_meta *m)
{
	free(m->jwks_uri);
	pj_meta_init(m);
}

int
pj_meta_copy(struct pj_meta *dst, const struct pj_meta *src)
{
	pj_meta_clear(dst);
	*dst = *src;
	dst->jwks_uri = NULL;
	if (src->jwks_uri != NULL && (dst->jwks_uri = strdup(src->jwks_uri)) == NULL)
		return PJ_ERR_NOMEM;
	return 0;
}

static int
parse_time(const char *s, size_t len, int64_t *out)
{
	int64_t v = 0;

	if (len == 0 || len > 18 || (len > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
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

/* Strict: every line "key=value\n", keys known and once, values well formed. */
static const char *
parse_meta(const char *buf, size_t len, struct pj_meta *m)
{
	const char *p = buf, *end = buf + len, *nl, *eq, *v;
	unsigned seen = 0;
	size_t klen, vlen;

	if (len == 0)
		return "empty";
	while (p < end) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return "truncated (no final newline)";
		if ((eq = memchr(p, '=', (size_t)(nl - p))) == NULL)
			return "a line without '='";
		klen = (size_t)(eq - p);
		v = eq + 1;
		vlen = (size_t)(nl - v);
#define KEY(name, bit) (klen == sizeof(name) - 1 && memcmp(p, name, klen) == 0 && \
	    !(seen & (bit)) && (seen |= (bit)))
		if (KEY("attempt_at", 1u)) {
			if (parse_time(v, vlen, &m->attempt_at) != 0)
				return "bad attempt_at";
		} else if (KEY("attempt_cause", 2u)) {
			size_t i;

			for (i = 0; i < sizeof(causes) / sizeof(causes[0]); i++)
				if (strlen(causes[i]) == vlen && memcmp(causes[i], v, vlen) == 0)
					break;
			if (i == sizeof(causes) / sizeof(causes[0]))
				return "bad attempt_cause";
			memcpy(m->attempt_cause, v, vlen);
			m->attempt_cause[vlen] = '\0';
		} else if (KEY("fetched", 4u)) {
			if (parse_time(v, vlen, &m->fetched) != 0)
				return "bad fetched";
		} else if (KEY("fresh_until", 8u)) {
			if (parse_time(v, vlen, &m->fresh_until) != 0)
				return "bad fresh_until";
		} else if (KEY("kid_miss_at", 16u)) {
			if (parse_time(v, vlen, &m->kid_miss_at) != 0)
				return "bad kid_miss_at";
		} else if (KEY("failed_at", 32u)) {
			if (parse_time(v, vlen, &m->failed_at) != 0)
				return "bad failed_at";
		} else if (KEY("jwks_uri", 64u)) {
			if (!pj_cache_uri_ok(v, vlen))
				return "bad jwks_uri";
			if ((m->jwks_uri = strndup(v, vlen)) == NULL)
				return "out of memory";
		} else
			return "unknown or repeated key";
#undef KEY
		p = nl + 1;
	}
	if ((m->fetched >= 0) != (m->fresh_until >= 0))
		return "fetched without fresh_until, or the reverse";
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
	if (pj_open_safely(c->meta_path, 0, &fd, &why) != 0) {
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
	if (pj_open_safely(c->jwks_path, 0, fd, &why) != 0) {
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

/* A temporary file in the same folder, mode 0644, synced, renamed. */
static int
write_atomic(struct pj_cache *c, const struct pj_log *lg, const char *path, const char *buf,
    size_t len)
{
	size_t n = strlen(c->dir) + strlen(c->hex) + 16, off = 0;
	char *tmp = NULL;
	ssize_t w;
	int fd = -1, r = PJ_ERR_INTERNAL;

	if ((tmp = malloc(n)) == NULL)
		return PJ_ERR_NOMEM;
	snprintf(tmp, n, "%s/.%s.XXXXXX", c->dir, c->hex);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		pj_log(lg, LOG_ERR, "cache_dir %s: cannot create a file: %s", c->dir, strerror(errno));
		free(tmp);
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
	if (rename(tmp, path) != 0)
		goto fail;
	r = 0;
	goto out;
fail:
	pj_log(lg, LOG_ERR, "cache file %s: cannot write: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out:
	free(tmp);
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
	if (m->fetched >= 0)
		ADD("fetched=%" PRId64 "\nfresh_until=%" PRId64 "\n", m->fetched, m->fresh_until);
	if (m->failed_at >= 0)
		ADD("failed_at=%" PRId64 "\n", m->failed_at);
	if (m->jwks_uri != NULL)
		ADD("jwks_uri=%s\n", m->jwks_uri);
#undef ADD
	if (n >= sizeof(buf))
		return PJ_ERR_INTERNAL;
	return write_atomic(c, lg, c->meta_path, buf, n);
}

int
pj_cache_write_jwks(struct pj_cache *c, const struct pj_log *lg, const char *buf, size_t len)
{
	return write_atomic(c, lg, c->jwks_path, buf, len);
}

/* ---------------------------------------------------------------- .lock */

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

int
pj_cache_lock(struct pj_cache *c, const struct pj_log *lg, const struct timespec *deadline)
{
	struct stat st, lst;
	long left;
	int fd = -1;

	if (c->lockfd >= 0)
		return 0;
	for (int tries = 0; tries < LOCK_TRIES; tries++) {
		fd = open(c->lock_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
		if (fd < 0 && errno == ELOOP) {
			pj_log(lg, LOG_WARNING, "cache file %s: is a symbolic link: not trusted, replaced",
			    c->lock_path);
			if (unlink(c->lock_path) != 0 && errno != ENOENT)
				return PJ_ERR_CONFIG;
			continue;
		}
		if (fd < 0) {
			pj_log(lg, errno == EACCES || errno == EROFS || errno == EPERM ? LOG_DEBUG : LOG_WARNING,
			    "cache file %s: cannot open for writing (%s): reading the cache only",
			    c->lock_path, strerror(errno));
			return PJ_ERR_CONFIG;
		}
		if (fstat(fd, &st) != 0)
			goto fail;
		/* Nobody else may even open it: an open file can be locked. */
		if (!S_ISREG(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()) ||
		    (st.st_mode & 077) != 0) {
			pj_log(lg, LOG_WARNING, "cache file %s: %s: not trusted, replaced", c->lock_path,
			    !S_ISREG(st.st_mode) ? "not a regular file" :
			    (st.st_mode & 077) != 0 ? "open to group or other" :
			    "not owned by root or the current user");
			if (lstat(c->lock_path, &lst) == 0 && lst.st_ino == st.st_ino &&
			    lst.st_dev == st.st_dev && unlink(c->lock_path) != 0)
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
			sleep_ms(left < LOCK_POLL_MS ? left : LOCK_POLL_MS);
		}
		/* Still the file at that name (not replaced while we waited)? */
		if (lstat(c->lock_path, &lst) == 0 && lst.st_ino == st.st_ino && lst.st_dev == st.st_dev) {
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
