/* Where keys come from (pam_jwt(8), KEYS): a static jwks_file, or the
 * on-disk cache of jwks_uri / OIDC discovery, fetched out of process when
 * empty, expired or on a kid miss, at most once per login and never within
 * refresh_cooldown of a failure. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache.h"
#include "err.h"
#include "fetch.h"
#include "json.h"
#include "keys.h"
#include "reuse.h"
#include "trust.h"
#include "util.h"
#include "verify.h"

#define DISCOVERY_PATH "/.well-known/openid-configuration"

struct pj_keys {
	const struct pj_config *cfg;
	const struct pj_log *lg;
	int64_t now;
	unsigned flags;
	struct pj_jwks *set;	/* the set in hand */
	/* Network sources only. */
	struct pj_cache *cache;
	struct pj_meta meta;	/* .meta as read (or written) with the set in hand */
	int loaded, load_err;	/* pj_keys_get ran, and its verdict */
	int attempted;		/* this login ran a fetch attempt: it makes no other */
	int adopted;		/* took a set another login fetched while we waited */
	int fetched;		/* this login's attempt succeeded */
	const char *why;	/* why no fetch happened, for --refresh */
	int has_deadline;
	struct timespec deadline;	/* one for the whole key acquisition */
};

int
pj_keys_open(const struct pj_config *cfg, const struct pj_log *lg, int64_t now, unsigned flags,
    struct pj_keys **out)
{
	struct pj_keys *k;

	*out = NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return PJ_ERR_NOMEM;
	k->cfg = cfg;
	k->lg = lg;
	k->now = now;
	k->flags = flags;
	pj_meta_init(&k->meta);
	*out = k;
	return 0;
}

/* A static jwks_file: missing or unreadable (it or a folder on its path) is
 * keys_unavailable (a sync job may provision it later); present but refused
 * by the trust rule (type, owner, mode, parents) is a configuration error. */
static int
load_file(struct pj_keys *k)
{
	struct pj_file_id id;
	const char *why = NULL;
	char *buf = NULL;
	size_t len = 0;
	int fd = -1, keep, r = PJ_ERR_INTERNAL;

	if (pj_trust_open(k->cfg->jwks_file, PJ_TRUST_FILE, PJ_TRUST_RDONLY, &fd, &why) != 0) {
		pj_log(k->lg, LOG_ERR, "jwks_file %s: %s", k->cfg->jwks_file, why);
		return pj_trust_refused(errno) ? PJ_ERR_CONFIG : PJ_ERR_KEYS_UNAVAILABLE;
	}
	/* The same file as an earlier login's: its parsed set (reuse.h). */
	keep = !(k->flags & PJ_VERIFY_NO_REUSE) && pj_file_id_get(fd, &id) == 1;
	if (keep && (k->set = pj_reuse_jwks_get(k->cfg->jwks_file, &id)) != NULL) {
		r = 0;
		goto out;
	}
	if ((r = pj_read_all(fd, PJ_CACHE_JWKS_MAX, &buf, &len)) != 0) {
		pj_log(k->lg, LOG_ERR, "jwks_file %s: %s", k->cfg->jwks_file,
		    r == PJ_ERR_TOO_LARGE ? "larger than 1 MiB" : "cannot read");
		r = r == PJ_ERR_NOMEM ? r : PJ_ERR_KEYS_UNAVAILABLE;
		goto out;
	}
	if ((r = pj_jwks_parse(buf, len, k->lg, &k->set)) != 0) {
		pj_log(k->lg, LOG_ERR, "jwks_file %s: not a JWKS document", k->cfg->jwks_file);
		r = r == PJ_ERR_NOMEM ? r : PJ_ERR_KEYS_UNAVAILABLE;
		goto out;
	}
	if (k->set->n == 0) {
		pj_log(k->lg, LOG_ERR, "jwks_file %s: no usable key", k->cfg->jwks_file);
		r = PJ_ERR_KEYS_UNAVAILABLE;
		goto out;
	}
	if (keep)
		pj_reuse_jwks_put(k->cfg->jwks_file, &id, k->set);
	r = 0;
out:
	if (r != 0) {
		pj_jwks_free(k->set);
		k->set = NULL;
	}
	free(buf);
	close(fd);
	return r;
}

/* ---------------------------------------------------------------- timing */

/* This line's deadline for the set (its own cache_ttl, whoever fetched). */
static int64_t
deadline(const struct pj_keys *k, const struct pj_meta *m)
{
	return pj_meta_fresh_deadline(m, k->cfg->cache_ttl);
}

static int
is_fresh(const struct pj_keys *k, const struct pj_meta *m, const struct pj_jwks *set)
{
	return set != NULL && m->fetched >= 0 && k->now < deadline(k, m);
}

static int
is_servable(const struct pj_keys *k, const struct pj_meta *m, const struct pj_jwks *set)
{
	return set != NULL && m->fetched >= 0 && k->now < deadline(k, m) + k->cfg->stale_max;
}

/* The last failed attempt; one with no outcome (its login was killed)
 * failed at attempt_at. -1: none. */
static int64_t
last_failure(const struct pj_meta *m)
{
	if (m->attempt_at >= 0 && m->attempt_at > m->fetched && m->attempt_at > m->failed_at)
		return m->attempt_at;
	return m->failed_at;
}

/* Within refresh_cooldown of at. A time ahead of ours by more than the
 * cooldown (the clock was set back) does not hold fetching off forever. */
static int
in_cooldown(const struct pj_keys *k, int64_t at)
{
	int64_t d;

	if (at < 0)
		return 0;
	d = k->now >= at ? k->now - at : at - k->now;
	return d < k->cfg->refresh_cooldown;
}

static void
start_deadline(struct pj_keys *k)
{
	if (!k->has_deadline) {
		pj_deadline_set(&k->deadline, k->cfg->http_timeout);
		k->has_deadline = 1;
	}
}

/* ---------------------------------------------------------------- cache */

/* .meta, then .jwks (a writer renames .jwks first): a set comes back only
 * with a trusted .meta saying when it was fetched. */
static int
read_cache(struct pj_keys *k, struct pj_meta *m, struct pj_jwks **set)
{
	struct pj_file_id id;
	const char *path;
	char *buf = NULL;
	size_t len = 0;
	int bad = 0, fd = -1, keep, r;

	*set = NULL;
	if ((r = pj_cache_read_meta(k->cache, k->lg, m, &bad)) != 0)
		return r;
	if ((r = pj_cache_open_jwks(k->cache, k->lg, &fd)) != 0)
		return r == PJ_ERR_NOMEM ? r : 0;
	/* A refresh renames a new file in: another identity, parsed again. */
	path = pj_cache_jwks_path(k->cache);
	keep = !(k->flags & PJ_VERIFY_NO_REUSE) && pj_file_id_get(fd, &id) == 1;
	if (keep && (*set = pj_reuse_jwks_get(path, &id)) != NULL) {
		close(fd);
		goto check;
	}
	r = pj_cache_read_jwks_fd(k->cache, k->lg, fd, &buf, &len);
	close(fd);
	if (r != 0)
		return r == PJ_ERR_NOMEM ? r : 0;
	/* Dropped keys were reported when fetched: not again at every login. */
	r = pj_jwks_parse(buf, len, NULL, set);
	free(buf);
	if (r == PJ_ERR_NOMEM)
		return r;
	if (r != 0 || (*set)->n == 0) {
		pj_log(k->lg, LOG_WARNING, "cache file %s: %s: not trusted (a good fetch replaces it)",
		    path, r != 0 ? "not a JWKS document" : "no usable key");
		goto drop;
	}
	if (keep)
		pj_reuse_jwks_put(path, &id, *set);
check:
	if (m->fetched < 0) {
		if (!bad)
			pj_log(k->lg, LOG_WARNING, "cache file %s: .meta has no fetch time: not trusted",
			    pj_cache_jwks_path(k->cache));
		goto drop;
	}
	return 0;
drop:
	pj_jwks_free(*set);
	*set = NULL;
	return 0;
}

/* Make (m, set) the state in hand. */
static void
take(struct pj_keys *k, struct pj_meta *m, struct pj_jwks **set)
{
	pj_meta_clear(&k->meta);
	k->meta = *m;
	pj_meta_init(m);
	pj_jwks_free(k->set);
	k->set = *set;
	*set = NULL;
}

/* ---------------------------------------------------------------- fetch */

/* OIDC discovery: the issuer's own document names its jwks_uri. */
static int
discover(struct pj_keys *k, const char *ca, size_t calen, char **jwks_uri)
{
	struct pj_fetch_out fo = {0, -1, NULL, 0};
	const char *iss, *uri;
	char *url = NULL, e[PJ_ESC_MAX];
	cJSON *doc = NULL;
	size_t n = strlen(k->cfg->issuer);
	int r;

	*jwks_uri = NULL;
	if (n > 0 && k->cfg->issuer[n - 1] == '/')
		n--;	/* one trailing '/', no more */
	if ((url = malloc(n + sizeof(DISCOVERY_PATH))) == NULL)
		return PJ_ERR_NOMEM;
	memcpy(url, k->cfg->issuer, n);
	memcpy(url + n, DISCOVERY_PATH, sizeof(DISCOVERY_PATH));
	if ((r = pj_fetch(k->cfg, k->lg, url, ca, calen, &k->deadline, &fo)) != 0)
		goto out;
	r = PJ_ERR_KEYS_UNAVAILABLE;
	if (pj_json_parse(fo.body, fo.len, 1, &doc) != 0) {
		pj_log(k->lg, LOG_ERR, "discovery %s: not a JSON object", pj_escape(e, url, strlen(url)));
		goto out;
	}
	if ((iss = pj_json_get_string(doc, "issuer")) == NULL || strcmp(iss, k->cfg->issuer) != 0) {
		pj_log(k->lg, LOG_ERR, "discovery %s: issuer \"%s\" is not issuer= exactly",
		    url, iss != NULL ? pj_escape(e, iss, strlen(iss)) : "(none)");
		goto out;
	}
	if ((uri = pj_json_get_string(doc, "jwks_uri")) == NULL || !pj_cache_uri_ok(uri, strlen(uri))) {
		pj_log(k->lg, LOG_ERR, "discovery %s: jwks_uri \"%s\" is not an https URL", url,
		    uri != NULL ? pj_escape(e, uri, strlen(uri)) : "(none)");
		goto out;
	}
	if ((*jwks_uri = strdup(uri)) == NULL) {
		r = PJ_ERR_NOMEM;
		goto out;
	}
	r = 0;
out:
	cJSON_Delete(doc);
	pj_fetch_out_clear(&fo);
	free(url);
	return r;
}

/*
 * One attempt: discovery when it applies, the JWKS, its validation, and
 * .jwks written. Success fills m->fetched, max_age, a new jitter, this
 * line's deadline as fresh_until (for older readers), jwks_uri for
 * discovery, and *set. Nothing replaces .jwks unless it is a JWKS with a
 * usable key.
 */
static int
fetch_keys(struct pj_keys *k, enum pj_meta_cause cause, struct pj_meta *m, struct pj_jwks **set)
{
	struct pj_fetch_out fo = {0, -1, NULL, 0};
	struct pj_jwks *s = NULL;
	const char *url;
	char *ca = NULL, *disc = NULL, e[PJ_ESC_MAX];
	size_t calen = 0;
	int r;

	*set = NULL;
	if ((r = pj_fetch_read_ca(k->cfg, k->lg, &ca, &calen)) != 0)
		return r;
	if (k->cfg->jwks_uri != NULL)
		url = k->cfg->jwks_uri;
	else if (cause == PJ_CAUSE_KID_MISS && m->jwks_uri != NULL)
		url = m->jwks_uri;	/* discovery is redone when the cache expires */
	else {
		if ((r = discover(k, ca, calen, &disc)) != 0)
			goto out;
		url = disc;
	}
	pj_escape(e, url, strlen(url));
	if ((r = pj_fetch(k->cfg, k->lg, url, ca, calen, &k->deadline, &fo)) != 0)
		goto out;
	if ((r = pj_jwks_parse(fo.body, fo.len, k->lg, &s)) != 0) {
		if (r != PJ_ERR_NOMEM) {
			pj_log(k->lg, LOG_ERR, "fetch %s: not a JWKS document: the cache is kept", e);
			r = PJ_ERR_KEYS_UNAVAILABLE;
		}
		goto out;
	}
	if (s->n == 0) {
		pj_log(k->lg, LOG_ERR, "fetch %s: no usable key in the JWKS: the cache is kept", e);
		r = PJ_ERR_KEYS_UNAVAILABLE;
		goto out;
	}
	if ((r = pj_cache_write_jwks(k->cache, k->lg, fo.body, fo.len)) != 0) {
		/* Good for this login, but .meta must not vouch for the old file. */
		*set = s;
		s = NULL;
		r = PJ_ERR_KEYS_UNAVAILABLE;
		goto out;
	}
	m->fetched = k->now;
	m->max_age = fo.max_age >= 0 ? fo.max_age : -1;
	m->jitter = pj_meta_jitter_draw();
	m->fresh_until = deadline(k, m);
	if (disc != NULL) {
		free(m->jwks_uri);
		m->jwks_uri = disc;
		disc = NULL;
	}
	pj_log(k->lg, LOG_INFO, "fetched %zu usable keys from %s (%zu dropped); fresh for %" PRId64 "s",
	    s->n, e, s->dropped, m->fresh_until - m->fetched);
	*set = s;
	s = NULL;
	r = 0;
out:
	pj_jwks_free(s);
	pj_fetch_out_clear(&fo);
	free(disc);
	pj_freezero(ca, calen);
	return r;
}

/* What a fetch trusts besides cache_dir: ca_file (where set) and
 * fetch_helper. Missing, unreachable or refused by the trust rule is a
 * configuration error, judged when a fetch is due (a login served by a
 * fresh cache uses neither, and the options' own check already refused
 * either file when it exists and fails the rule). */
static int
fetch_files_ok(const struct pj_keys *k)
{
	const char *const key[] = {"ca_file", "fetch_helper"};
	const char *const path[] = {k->cfg->ca_file, k->cfg->fetch_helper};
	const char *why = NULL;
	int fd = -1;

	for (size_t i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
		if (path[i] == NULL)
			continue;
		if (pj_trust_open(path[i], PJ_TRUST_FILE, PJ_TRUST_PATH, &fd, &why) != 0) {
			pj_log(k->lg, LOG_ERR, "configuration error: %s %s: %s", key[i], path[i],
			    why);
			return PJ_ERR_CONFIG;
		}
		close(fd);
	}
	return 0;
}

/*
 * Under the lock: re-read, and fetch when still needed and allowed. The
 * state in hand (k->meta, k->set) becomes the newest known. Returns 0 or
 * PJ_ERR_NOMEM; k->fetched tells whether this login's fetch succeeded.
 */
static int
refresh_locked(struct pj_keys *k, enum pj_meta_cause cause)
{
	struct pj_meta lm;
	struct pj_jwks *lset = NULL, *nset = NULL;
	int r;

	pj_meta_init(&lm);
	if ((r = fetch_files_ok(k)) != 0)
		return r;
	start_deadline(k);
	if ((r = pj_cache_lock(k->cache, k->lg, &k->deadline)) != 0) {
		if (r == PJ_ERR_KEYS_UNAVAILABLE) {
			/* A waiter whose time is up records nothing. */
			pj_log(k->lg, LOG_WARNING, "keys: another login's fetch still holds the cache lock at http_timeout");
			k->why = "another fetch held the lock until http_timeout";
		} else
			k->why = "cannot write cache_dir (reading the cache only)";
		return 0;
	}
	if ((r = read_cache(k, &lm, &lset)) != 0)
		goto out;
	switch (cause) {
	case PJ_CAUSE_EMPTY:
	case PJ_CAUSE_EXPIRED:
		/* Another login's fetch landed while we waited. */
		if (is_fresh(k, &lm, lset)) {
			k->adopted = 1;
			take(k, &lm, &lset);
			goto out;
		}
		break;
	case PJ_CAUSE_KID_MISS:
		if (lset != NULL && lm.fetched != k->meta.fetched) {
			k->adopted = 1;
			take(k, &lm, &lset);
			goto out;
		}
		if (in_cooldown(k, lm.kid_miss_at)) {
			pj_log(k->lg, LOG_DEBUG, "keys: no kid-miss fetch within refresh_cooldown of the last (at %" PRId64 ")",
			    lm.kid_miss_at);
			goto out;
		}
		break;
	default:
		break;
	}
	if (in_cooldown(k, last_failure(&lm))) {
		pj_log(k->lg, LOG_NOTICE, "keys: no fetch within refresh_cooldown of the failed attempt at %" PRId64,
		    last_failure(&lm));
		k->why = "within refresh_cooldown of a failed attempt";
		goto no_new_keys;
	}
	/* The attempt is on disk before the fetch: the rate bound never fails open. */
	lm.attempt_at = k->now;
	snprintf(lm.attempt_cause, sizeof(lm.attempt_cause), "%s", pj_meta_cause_name(cause));
	if (cause == PJ_CAUSE_KID_MISS)
		lm.kid_miss_at = k->now;
	if (pj_cache_write_meta(k->cache, k->lg, &lm) != 0) {
		pj_log(k->lg, LOG_ERR, "keys: cannot record the attempt in .meta: no fetch");
		k->why = "cannot write .meta";
		goto no_new_keys;
	}
	k->attempted = 1;
	r = fetch_keys(k, cause, &lm, &nset);
	if (r == PJ_ERR_NOMEM)
		goto out;
	if (r == 0) {
		k->fetched = 1;
		(void)pj_cache_write_meta(k->cache, k->lg, &lm);
		take(k, &lm, &nset);
		goto out;
	}
	k->why = "the fetch failed";
	lm.failed_at = k->now;
	(void)pj_cache_write_meta(k->cache, k->lg, &lm);
	if (nset != NULL) {
		/* Fetched and valid but not cached: fresh for this login only. */
		pj_jwks_free(k->set);
		k->set = nset;
		nset = NULL;
		k->meta.fetched = k->now;
		k->meta.max_age = -1;
		k->meta.jitter = 0;
		goto out;
	}
no_new_keys:
	/* The newest cached set serves (stale_max decides); after a kid miss,
	 * the set in hand stays. */
	if (cause != PJ_CAUSE_KID_MISS && lset != NULL)
		take(k, &lm, &lset);
out:
	pj_cache_unlock(k->cache);
	pj_meta_clear(&lm);
	pj_jwks_free(lset);
	pj_jwks_free(nset);
	return r == PJ_ERR_NOMEM ? r : 0;
}

static int
open_cache(struct pj_keys *k, int create)
{
	int r;

	if (k->cache != NULL)
		return 0;
	if ((r = pj_cache_open(k->cfg, k->lg, create, &k->cache)) != 0)
		return r;
	pj_meta_clear(&k->meta);
	pj_jwks_free(k->set);
	k->set = NULL;
	return read_cache(k, &k->meta, &k->set);
}

static int
net_get(struct pj_keys *k)
{
	int nofetch = (k->flags & PJ_VERIFY_NO_FETCH) != 0, r;

	if ((r = open_cache(k, !nofetch)) != 0) {
		if (r != PJ_ERR_NOMEM)
			pj_log(k->lg, LOG_ERR, "keys: no usable key set (cache_dir %s unusable)", k->cfg->cache_dir);
		return r;
	}
	if (!is_fresh(k, &k->meta, k->set) && !nofetch &&
	    (r = refresh_locked(k, k->set != NULL ? PJ_CAUSE_EXPIRED : PJ_CAUSE_EMPTY)) != 0)
		return r;
	if (is_fresh(k, &k->meta, k->set))
		return 0;
	if (is_servable(k, &k->meta, k->set)) {
		pj_log(k->lg, LOG_WARNING, "keys: serving cached keys past their freshness (fresh until %" PRId64
		    ", stale_max %lds): no fetch succeeded", deadline(k, &k->meta), k->cfg->stale_max);
		return 0;
	}
	if (k->set != NULL)
		pj_log(k->lg, LOG_ERR, "keys: cached keys past stale_max (fresh until %" PRId64 "), no fetch succeeded",
		    deadline(k, &k->meta));
	else
		pj_log(k->lg, LOG_ERR, "keys: no usable key set (nothing cached, no fetch succeeded)");
	pj_jwks_free(k->set);
	k->set = NULL;
	return PJ_ERR_KEYS_UNAVAILABLE;
}

int
pj_keys_get(struct pj_keys *k, const struct pj_jwks **set)
{
	*set = NULL;
	if (!k->loaded) {
		k->loaded = 1;
		k->load_err = k->cfg->jwks_file != NULL ? load_file(k) : net_get(k);
	}
	if (k->load_err != 0)
		return k->load_err;
	*set = k->set;
	return 0;
}

int
pj_keys_kid_miss(struct pj_keys *k, const struct pj_jwks **set)
{
	int r;

	*set = k->set;
	/* A static file has nothing newer to offer; one fetch per login. */
	if (k->cfg->jwks_file != NULL || k->cache == NULL || k->set == NULL || k->attempted ||
	    k->adopted || (k->flags & PJ_VERIFY_NO_FETCH))
		return 0;
	/* Forged kids in a cooldown cost no lock. */
	if (in_cooldown(k, k->meta.kid_miss_at) || in_cooldown(k, last_failure(&k->meta)))
		return 0;
	if ((r = refresh_locked(k, PJ_CAUSE_KID_MISS)) != 0)
		return r;
	*set = k->set;
	return 0;
}

int
pj_keys_refresh(const struct pj_config *cfg, const struct pj_log *lg, int64_t now)
{
	struct pj_keys *k = NULL;
	int r;

	if ((r = pj_keys_open(cfg, lg, now, 0, &k)) != 0)
		return r;
	if (cfg->jwks_file != NULL) {
		if ((r = load_file(k)) == 0)
			pj_log(lg, LOG_NOTICE, "jwks_file %s: %zu usable keys (a static file: nothing to fetch)",
			    cfg->jwks_file, k->set->n);
		goto out;
	}
	if ((r = open_cache(k, 1)) != 0)
		goto out;
	if ((r = refresh_locked(k, PJ_CAUSE_REFRESH)) != 0)
		goto out;
	if (!k->fetched) {
		pj_log(lg, LOG_ERR, "refresh: no keys fetched: %s", k->why != NULL ? k->why : "failed");
		r = PJ_ERR_KEYS_UNAVAILABLE;
		goto out;
	}
	pj_log(lg, LOG_NOTICE, "refresh: %zu usable keys cached as %s", k->set->n, pj_cache_jwks_path(k->cache));
	r = 0;
out:
	pj_keys_close(k);
	return r;
}

void
pj_keys_close(struct pj_keys *k)
{
	if (k == NULL)
		return;
	pj_jwks_free(k->set);
	pj_meta_clear(&k->meta);
	pj_cache_close(k->cache);
	free(k);
}
