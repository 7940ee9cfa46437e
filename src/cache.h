/* The on-disk JWKS cache under cache_dir (pam_jwt(8), The cache): one .jwks,
 * .meta and .lock per key source and trust anchor. */
#ifndef PJ_CACHE_H
#define PJ_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf.h"
#include "log.h"

#define PJ_CACHE_HEX_LEN 64
#define PJ_CACHE_JWKS_MAX ((size_t)1024 * 1024)
#define PJ_CACHE_URI_MAX 8191

/* The causes of a fetch attempt, as .meta's attempt_cause names them. */
enum pj_meta_cause { PJ_CAUSE_EMPTY, PJ_CAUSE_EXPIRED, PJ_CAUSE_KID_MISS, PJ_CAUSE_REFRESH, PJ_CAUSE_COUNT };

/* Jitter is in millionths of the lifetime, drawn at each fetch: hosts that
 * fetched together expire over [0.9 T, T], not at once. */
#define PJ_JITTER_MAX 99999
#define PJ_JITTER_SCALE 1000000

/* .meta: key=value lines. Times are seconds since the epoch, -1 when absent. */
struct pj_meta {
	int64_t attempt_at;
	char attempt_cause[16];	/* "" when absent */
	int64_t fetched;
	int64_t max_age;	/* the response's Cache-Control max-age; -1: none ("-") */
	long jitter;		/* 0 to PJ_JITTER_MAX; -1 when absent (an older writer) */
	int64_t fresh_until;	/* the writer's own deadline, for older readers */
	int64_t kid_miss_at;
	int64_t failed_at;
	char *jwks_uri;		/* the discovered one; NULL when absent; owned */
};

struct pj_cache;

/*
 * The cache of cfg's key source (jwks_uri or discovery; never jwks_file).
 * The file names are the lower-case hex BLAKE2b-256 of "jwks_uri=URI" or
 * "issuer=ISSUER", a newline, and the ca_file path or "-". When create is
 * set, a missing cache_dir is created mode 0755. cache_dir must pass the
 * owner/mode rule. Errors are logged: PJ_ERR_KEYS_UNAVAILABLE (no usable
 * folder), PJ_ERR_NOMEM. *out is NULL on entry.
 */
int pj_cache_open(const struct pj_config *cfg, const struct pj_log *lg, int create,
    struct pj_cache **out);
void pj_cache_close(struct pj_cache *c);
const char *pj_cache_jwks_path(const struct pj_cache *c);

/* An https URL the helper will take: printable ASCII, no spaces, bounded. */
int pj_cache_uri_ok(const char *s, size_t len);

/* The BLAKE2b-256 hex of len bytes (for the cache and the replay store). */
void pj_hash_hex(const void *buf, size_t len, char hex[PJ_CACHE_HEX_LEN + 1]);

void pj_meta_init(struct pj_meta *m);
void pj_meta_clear(struct pj_meta *m);
const char *pj_meta_cause_name(enum pj_meta_cause cause);

/*
 * Freshness, judged by each reader with its own cache_ttl (0: unset), so
 * that no line's settings shorten or stretch another's. The lifetime T is
 * cache_ttl when set; else max_age clamped to [60, 86400]; else 3600. The
 * set is fresh while now < the deadline, fetched + T - T * jitter / 10^6
 * (rounded so that the comparison is exact); stale_max counts from it. A
 * .meta of an older writer (no jitter) has its fresh_until. -1: never
 * fetched.
 */
long pj_meta_lifetime(const struct pj_meta *m, long cache_ttl);
int64_t pj_meta_fresh_deadline(const struct pj_meta *m, long cache_ttl);
/* A jitter for a new fetch: uniform over [0, PJ_JITTER_MAX] (libsodium). */
long pj_meta_jitter_draw(void);

/*
 * Read .meta into m (initialised here). A missing file is an empty meta
 * (0). Keys it does not know are skipped (a newer writer's). A file that
 * fails the owner/mode rule, or is truncated or garbage, is reported
 * through lg and read as empty; *bad is set then.
 */
int pj_cache_read_meta(struct pj_cache *c, const struct pj_log *lg, struct pj_meta *m, int *bad);
/*
 * Read .jwks: 0 and the document (NUL-terminated; free()); PJ_ERR_KEYS_UNAVAILABLE
 * when missing (quietly) or untrusted (reported: owner/mode rule, a symlink,
 * over 1 MiB). Whether it parses is the caller's business.
 */
int pj_cache_read_jwks(struct pj_cache *c, const struct pj_log *lg, char **buf, size_t *len);
/* The same in two steps, for reuse.h (the identity of what was opened):
 * open (trust-checked; reported as above), then read the descriptor. */
int pj_cache_open_jwks(struct pj_cache *c, const struct pj_log *lg, int *fd);
int pj_cache_read_jwks_fd(struct pj_cache *c, const struct pj_log *lg, int fd, char **buf, size_t *len);

/* Atomic writes: a temporary file in cache_dir, mode 0644, synced, renamed
 * into place. 0 or PJ_ERR_INTERNAL (logged). */
int pj_cache_write_meta(struct pj_cache *c, const struct pj_log *lg, const struct pj_meta *m);
int pj_cache_write_jwks(struct pj_cache *c, const struct pj_log *lg, const char *buf, size_t len);

/*
 * Take .lock (mode 0600, created when missing; one that fails the rule is
 * reported and replaced) exclusively, polling until deadline (CLOCK_MONOTONIC).
 * 0: held. PJ_ERR_KEYS_UNAVAILABLE: the deadline passed (nothing logged).
 * PJ_ERR_CONFIG: the lock cannot be opened for writing (a reader that
 * cannot write cache_dir; not logged as an error).
 */
int pj_cache_lock(struct pj_cache *c, const struct pj_log *lg, const struct timespec *deadline);
void pj_cache_unlock(struct pj_cache *c);

/* Monotonic deadlines, for the one deadline of a login's key acquisition. */
void pj_deadline_set(struct timespec *d, long seconds);
/* Milliseconds left (0 when passed). */
long pj_deadline_left_ms(const struct timespec *d);

#endif
